/*
 * test_refname.c -- branch names under git's check-ref-format rules:
 * one test name per rule, each breaking only that rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "path.h"

static void test_valid(void **state)
{
	static const char *const ok[] = {
	    "main",	 "feature/x", "a.b",
	    "a-b",	 "a_b",	      "@foo",
	    "a@b",	 "foo@",      "\xc3\xa9t\xc3\xa9",
	    "x.lockx",	 "a/b.c",     "a/lockx",
	    "v1.0",	 "a{b}",      "a@",
	    "lock",	 "lock.a",    "a/x.loc",
	    "a/b/c/d/e", "A",	      "0",
	    "a+b",	 "a=b",	      "a,b",
	    "a!b",	 "a#b",	      "a$b",
	    "a%b",	 "a&b",	      "a'b",
	    "a(b)",	 "a;b",	      "a<b>",
	    "a|b",	 "a\"b",      "a]b",
	    "a`b",	 "a-",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (gkv__branch_check(ok[i]) != 0)
			fail_msg("refused '%s': %s", ok[i], gkv_error_last());
		assert_int_equal(gkv_branch_name_validate(ok[i]), 0);
	}
}

static void expect_invalid(const char *name, const char *why)
{
	assert_int_equal(gkv__branch_check(name), GKV_E_INVALID);
	assert_int_equal(gkv_branch_name_validate(name), GKV_E_INVALID);
	if (why && !strstr(gkv_error_last(), why))
		fail_msg("'%s': message '%s' lacks '%s'", name, gkv_error_last(), why);
}

static void test_invalid(void **state)
{
	(void)state;
	expect_invalid(NULL, "NULL");
	expect_invalid("", "empty");
	expect_invalid("@", "'@'");
	expect_invalid("HEAD", "HEAD");
	expect_invalid("-x", "'-'");
	expect_invalid(".x", "starts with '.'");
	expect_invalid("a/.x", "starts with '.'");
	expect_invalid("a/.", "starts with '.'");
	expect_invalid("a..b", "'..'");
	expect_invalid("a/", "empty component");
	expect_invalid("/a", "empty component");
	expect_invalid("a//b", "empty component");
	expect_invalid("x.lock", ".lock");
	expect_invalid("a.lock/b", ".lock");
	expect_invalid("a/b.lock", ".lock");
	expect_invalid(".lock", NULL);
	expect_invalid("a.", "ends with '.'");
	expect_invalid("a/b.", "ends with '.'");
	expect_invalid("a@{b", "@{");
	expect_invalid("@{", "@{");
	expect_invalid("a b", "space");
	expect_invalid("a~b", "~");
	expect_invalid("a^b", "~");
	expect_invalid("a:b", "~");
	expect_invalid("a?b", "~");
	expect_invalid("a*b", "~");
	expect_invalid("a[b", "~");
	expect_invalid("a\\b", "~");
	expect_invalid("a\x01", "control");
	expect_invalid("a\x1f", "control");
	expect_invalid("a\x7f", "control");
	expect_invalid("a\tb", "control");
	expect_invalid("a\nb", "control");
}

static void test_message(void **state)
{
	(void)state;
	assert_int_equal(gkv__branch_check("a..b"), GKV_E_INVALID);
	assert_string_equal(gkv_error_last(), "invalid branch name 'a..b': holds '..'");
	assert_int_equal(gkv__branch_check("a\nb"), GKV_E_INVALID);
	assert_null(strchr(gkv_error_last(), '\n'));
}

static void test_ref(void **state)
{
	char *ref = NULL;

	(void)state;
	assert_int_equal(gkv__branch_ref(&ref, "feature/x"), 0);
	assert_string_equal(ref, "refs/heads/feature/x");
	free(ref);
	ref = NULL;
	assert_int_equal(gkv__branch_ref(&ref, "a..b"), GKV_E_INVALID);
	assert_null(ref);
	assert_int_equal(gkv__branch_ref(&ref, NULL), GKV_E_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),
	    cmocka_unit_test(test_invalid),
	    cmocka_unit_test(test_message),
	    cmocka_unit_test(test_ref),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
