/*
 * test_path.c -- keys: which paths are valid (each rule with a path that
 * breaks only it), the messages, and the segment iterator.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "path.h"

static void test_valid(void **state)
{
	static const char *const ok[] = {
	    "a",
	    "a/b",
	    "a/b/c",
	    ".gitignore",
	    "..a",
	    "a.",
	    "...",
	    "a b",
	    "\xc3\xa9/\xe2\x82\xac",
	    ".git2",
	    "x/.gitmodules",
	    "a\\b",
	    "-",
	    "@",
	    "a\nb",
	    "posts/2016/marrakech.md",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(gkv__path_check(ok[i], 0), 0);
		assert_int_equal(gkv__path_check(ok[i], 1), 0);
		assert_int_equal(gkv_path_validate(ok[i]), 0);
	}
}

static void test_root(void **state)
{
	(void)state;
	assert_int_equal(gkv__path_check("", 1), 0);
	assert_int_equal(gkv_path_validate(""), 0);
	assert_int_equal(gkv__path_check("", 0), GKV_E_INVALID);
	assert_int_equal(gkv__path_check(NULL, 1), GKV_E_INVALID);
	assert_int_equal(gkv_path_validate(NULL), GKV_E_INVALID);
}

static void expect_invalid(const char *path, const char *why)
{
	char want[256];

	assert_int_equal(gkv__path_check(path, 1), GKV_E_INVALID);
	assert_int_equal(gkv_error_last_code(), GKV_E_INVALID);
	snprintf(want, sizeof(want), "invalid path '%s': %s", path, why);
	assert_string_equal(gkv_error_last(), want);
}

static void test_invalid(void **state)
{
	(void)state;
	expect_invalid("a//b", "empty segment");
	expect_invalid("/a", "leading '/'");
	expect_invalid("/", "leading '/'");
	expect_invalid("a/", "trailing '/'");
	expect_invalid("a//", "trailing '/'");
	expect_invalid(".", "segment '.'");
	expect_invalid("a/./b", "segment '.'");
	expect_invalid("..", "segment '..'");
	expect_invalid("a/..", "segment '..'");
	expect_invalid(".git", "segment '.git' is reserved");
	expect_invalid(".GIT", "segment '.git' is reserved");
	expect_invalid("a/.Git/b", "segment '.git' is reserved");
	expect_invalid("a/.gIt", "segment '.git' is reserved");
}

static void test_message_one_line(void **state)
{
	(void)state;
	assert_int_equal(gkv__path_check("a\n//b", 1), GKV_E_INVALID);
	assert_null(strchr(gkv_error_last(), '\n'));
}

static void test_segment_ok(void **state)
{
	(void)state;
	assert_true(gkv__segment_ok("a", 1));
	assert_true(gkv__segment_ok(".gitx", 5));
	assert_true(gkv__segment_ok(".git", 3)); /* only ".gi" */
	assert_false(gkv__segment_ok("", 0));
	assert_false(gkv__segment_ok(".", 1));
	assert_false(gkv__segment_ok("..", 2));
	assert_false(gkv__segment_ok(".git", 4));
	assert_false(gkv__segment_ok(".GiT", 4));
	assert_false(gkv__segment_ok("a/b", 3));
	assert_false(gkv__segment_ok("a\0b", 3));
	assert_false(gkv__segment_ok(NULL, 0));
}

static void test_next_and_depth(void **state)
{
	const char *seg;
	size_t len, pos = 0;

	(void)state;
	assert_true(gkv__path_next("ab/c/def", &pos, &seg, &len));
	assert_int_equal(len, 2);
	assert_memory_equal(seg, "ab", 2);
	assert_true(gkv__path_next("ab/c/def", &pos, &seg, &len));
	assert_int_equal(len, 1);
	assert_memory_equal(seg, "c", 1);
	assert_true(gkv__path_next("ab/c/def", &pos, &seg, &len));
	assert_int_equal(len, 3);
	assert_memory_equal(seg, "def", 3);
	assert_false(gkv__path_next("ab/c/def", &pos, &seg, &len));
	assert_false(gkv__path_next("ab/c/def", &pos, &seg, &len));
	pos = 0;
	assert_false(gkv__path_next("", &pos, &seg, &len));
	assert_int_equal(gkv__path_depth(""), 0);
	assert_int_equal(gkv__path_depth("a"), 1);
	assert_int_equal(gkv__path_depth("a/b"), 2);
	assert_int_equal(gkv__path_depth("a/b/c.d"), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),      cmocka_unit_test(test_root),
	    cmocka_unit_test(test_invalid),    cmocka_unit_test(test_message_one_line),
	    cmocka_unit_test(test_segment_ok), cmocka_unit_test(test_next_and_depth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
