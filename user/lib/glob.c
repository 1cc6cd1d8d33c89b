/* Protect patterns: one validator and one matcher, with "**" for any number of directories. */
#include <fnmatch.h>
#include <limits.h>
#include <string.h>
#include "lib/glob.h"

/* End of the bracket expression opening at p[0] == '[', or NULL when it is
 * not closed; "]" right after "[" or "[!" is a member, as in fnmatch. */
static const char *bracket_end(const char *p)
{
	const char *q = p + 1;
	if (*q == '!' || *q == '^')
		q++;
	if (*q == ']')
		q++;
	for (; *q && *q != '/'; q++) {
		if (*q == '[' && (q[1] == ':' || q[1] == '.' || q[1] == '=')) {
			const char *end = strstr(q + 2, (char[]){ q[1], ']', '\0' });
			if (!end)
				return NULL;
			q = end + 1;
			continue;
		}
		if (*q == ']')
			return q;
	}
	return NULL;
}

static const char *component_problem(const char *pat, const char *c, size_t n, size_t *col)
{
	*col = (size_t)(c - pat);
	if (n == 0)
		return "empty path component (\"//\" or a trailing \"/\"): remove it";
	if (n == 1 && c[0] == '.')
		return "\".\" component: patterns are relative to the cache root already";
	if (n == 2 && c[0] == '.' && c[1] == '.')
		return "\"..\" component: a pattern cannot leave the cache root";
	if (n > NAME_MAX)
		return "path component longer than a file name can be";
	for (size_t i = 0; i < n; i++) {
		if (c[i] == '\\' && i + 1 < n) {
			i++;
			continue;
		}
		if (c[i] == '\\') {
			*col = (size_t)(c + i - pat);
			return "trailing \"\\\" escapes nothing";
		}
		if (c[i] == '[') {
			const char *end = bracket_end(c + i);
			if (!end || end >= c + n) {
				*col = (size_t)(c + i - pat);
				return "\"[\" opens a character class that is never closed (write \"[[]\" for a literal \"[\")";
			}
			i = (size_t)(end - c);
			continue;
		}
		if (c[i] == '*' && i + 1 < n && c[i + 1] == '*' && !(n == 2 && i == 0)) {
			*col = (size_t)(c + i - pat);
			return "\"**\" must be a whole path component (\"a/**/b\"); use \"*\" within a name";
		}
	}
	return NULL;
}

const char *cw_glob_problem(const char *pat, size_t *col)
{
	size_t starstar = 0;
	*col = 0;
	if (!pat || !*pat)
		return "empty pattern";
	if (pat[0] == '/')
		return "starts with \"/\": patterns are relative to the cache root (write \"keep\", not \"/keep\")";
	for (const char *c = pat;;) {
		const char *end = strchrnul(c, '/');
		size_t n = (size_t)(end - c);
		if (!*end && n == 0 && c > pat) {
			*col = (size_t)(c - 1 - pat);
			return "ends with \"/\": a pattern naming a directory protects its contents without it (write \"keep\")";
		}
		if (n == 1 && c[0] == '.' && c == pat && *end) {
			*col = 0;
			return "starts with \"./\": patterns are relative to the cache root already (write \"keep\")";
		}
		const char *why = component_problem(pat, c, n, col);
		if (why)
			return why;
		if (n == 2 && c[0] == '*' && c[1] == '*' && ++starstar > CW_GLOB_MAX_STARSTAR) {
			*col = (size_t)(c - pat);
			return "too many \"**\" components (at most 4)";
		}
		if (!*end)
			return NULL;
		c = end + 1;
	}
}

static bool match_component(const char *p, size_t pl, const char *s, size_t sl)
{
	char pb[NAME_MAX + 1], sb[NAME_MAX + 1];
	if (pl > NAME_MAX || sl > NAME_MAX)
		return false;
	memcpy(pb, p, pl);
	pb[pl] = '\0';
	memcpy(sb, s, sl);
	sb[sl] = '\0';
	return fnmatch(pb, sb, 0) == 0;
}

static bool match_path(const char *p, const char *s)
{
	const char *pe = strchrnul(p, '/');
	if (pe - p == 2 && p[0] == '*' && p[1] == '*') {
		const char *next = *pe ? pe + 1 : pe;
		if (!*next)
			return true; /* a trailing "**": anything below, or nothing */
		for (const char *t = s;;) {
			if (match_path(next, t))
				return true;
			t = strchr(t, '/');
			if (!t)
				return false;
			t++;
		}
	}
	const char *se = strchrnul(s, '/');
	if (!match_component(p, (size_t)(pe - p), s, (size_t)(se - s)))
		return false;
	if (!*pe || !*se)
		return !*pe && !*se;
	return match_path(pe + 1, se + 1);
}

bool cw_glob_match(const char *pat, const char *relpath)
{
	if (!strchr(pat, '/')) {
		const char *slash = strrchr(relpath, '/');
		return fnmatch(pat, slash ? slash + 1 : relpath, 0) == 0;
	}
	return match_path(pat, relpath);
}
