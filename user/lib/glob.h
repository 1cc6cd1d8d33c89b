/* Protect patterns: one validator and one matcher, with "**" for any number of directories. */
#ifndef CW_LIB_GLOB_H
#define CW_LIB_GLOB_H

#include <stdbool.h>
#include <stddef.h>

#define CW_GLOB_MAX_STARSTAR 4 /* "**" components per pattern: bounds the backtracking */

/* Why pattern can never match a path inside a cache (or is malformed), or
 * NULL when it is valid; *col is then the 0-based byte offset of the problem.
 * Rules: not empty; relative ("/x" and "./x" are refused: patterns are already
 * relative to the root); no trailing "/" (a directory pattern protects its
 * contents without it); no empty, "." or ".." component; every "[" closed;
 * "**" only as a whole component, at most CW_GLOB_MAX_STARSTAR times. */
const char *cw_glob_problem(const char *pattern, size_t *col);

/* Whether pattern matches relpath (a path relative to the root, "a/b/c").
 * A pattern without "/" matches the last component (the base name) at any
 * depth. A pattern with "/" is anchored at the root and matched component by
 * component: "*", "?" and "[...]" never cross a "/", and a "**" component
 * matches zero or more whole components. Leading dots are not special. */
bool cw_glob_match(const char *pattern, const char *relpath);

#endif
