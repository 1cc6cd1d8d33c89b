/* lib/glob: protect pattern validation and matching, "**" included (cmocka tables). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include "lib/glob.h"

struct match_case {
	const char *pattern, *path;
	bool want;
};

static const struct match_case matches[] = {
	/* no "/": the base name, at any depth */
	{ "*.lock", "x.lock", true },
	{ "*.lock", "a/x.lock", true },
	{ "*.lock", "a/b/c/x.lock", true },
	{ "*.lock", "a.lock/x", false },
	{ "*.lock", ".hidden.lock", true },      /* leading dots are not special */
	{ "keep", "keep", true },
	{ "keep", "a/keep", true },
	{ "keep", "keeper", false },
	{ "keep", "keep/x", false },             /* the directory itself matches; path_protected covers below */
	{ "?.o", "a.o", true },
	{ "?.o", "ab.o", false },
	{ "[ab].o", "b.o", true },
	{ "[!ab].o", "b.o", false },
	{ "[]].o", "].o", true },
	{ "[[]x", "[x", true },
	{ "\\*", "*", true },
	{ "\\*", "a", false },
	/* with "/": anchored at the root, component by component */
	{ "a/*.o", "a/x.o", true },
	{ "a/*.o", "a/b/x.o", false },           /* "*" never crosses "/" */
	{ "a/*.o", "b/a/x.o", false },           /* anchored */
	{ "a/*", "a/b", true },
	{ "*/x", "a/x", true },
	{ "*/x", "a/b/x", false },
	/* "**": zero or more whole components */
	{ "**/*.lock", "x.lock", true },
	{ "**/*.lock", "a/x.lock", true },
	{ "**/*.lock", "a/b/x.lock", true },
	{ "**/*.lock", "a/b/c/d/e/x.lock", true },
	{ "**/*.lock", "a/b/x.locks", false },
	{ "a/**/z", "a/z", true },
	{ "a/**/z", "a/b/z", true },
	{ "a/**/z", "a/b/c/z", true },
	{ "a/**/z", "b/a/z", false },
	{ "a/**/z", "a/b/z/c", false },
	{ "a/**", "a/b", true },
	{ "a/**", "a/b/c", true },
	{ "a/**", "a", false },
	{ "**/b/**/d", "a/b/c/d", true },
	{ "**/b/**/d", "b/d", true },
	{ "**/b/**/d", "a/c/d", false },
	{ "**", "anything", true },
};

static void test_match_table(void **state)
{
	(void)state;
	int bad = 0;
	for (size_t i = 0; i < sizeof(matches) / sizeof(matches[0]); i++) {
		const struct match_case *c = &matches[i];
		size_t col;
		if (cw_glob_problem(c->pattern, &col)) {
			printf("pattern %s refused\n", c->pattern);
			bad++;
		}
		if (cw_glob_match(c->pattern, c->path) != c->want) {
			printf("%s vs %s: got %d, want %d\n", c->pattern, c->path, !c->want, c->want);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

struct problem_case {
	const char *pattern;
	size_t col;       /* 0-based byte of the problem */
	const char *says; /* part of the message */
};

static const struct problem_case problems[] = {
	{ "", 0, "empty" },
	{ "keep/", 4, "ends with \"/\"" },
	{ "a/b/", 3, "ends with \"/\"" },
	{ "./keep", 0, "starts with \"./\"" },
	{ "/keep", 0, "starts with \"/\"" },
	{ "[", 0, "never closed" },
	{ "a/[bc", 2, "never closed" },
	{ "x[a-", 1, "never closed" },
	{ "a//b", 2, "empty path component" },
	{ "a/./b", 2, "\".\" component" },
	{ "a/../b", 2, "\"..\"" },
	{ "..", 0, "\"..\"" },
	{ "a**", 1, "whole path component" },
	{ "a/**b", 2, "whole path component" },
	{ "x\\", 1, "escapes nothing" },
	{ "**/**/**/**/**", 12, "too many" },
};

static void test_problem_table(void **state)
{
	(void)state;
	int bad = 0;
	for (size_t i = 0; i < sizeof(problems) / sizeof(problems[0]); i++) {
		const struct problem_case *c = &problems[i];
		size_t col = 99;
		const char *why = cw_glob_problem(c->pattern, &col);
		if (!why || !strstr(why, c->says) || col != c->col) {
			printf("\"%s\": got \"%s\" at %zu, want \"%s\" at %zu\n", c->pattern, why ? why : "(accepted)",
			       col, c->says, c->col);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match_table),
		cmocka_unit_test(test_problem_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
