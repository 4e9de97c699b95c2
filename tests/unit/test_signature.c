/*
 * test_signature.c -- signatures: what they may hold (each rule has a
 * test that fails without it), accessors, copies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "codec.h"

static void test_new_and_accessors(void **state)
{
	gkv_signature *sig;

	(void)state;
	assert_int_equal(
	    gkv_signature_new(&sig, "Ada Lovelace", "ada@example.org", 1234567890, -90), 0);
	assert_string_equal(gkv_signature_name(sig), "Ada Lovelace");
	assert_string_equal(gkv_signature_email(sig), "ada@example.org");
	assert_int_equal(gkv_signature_time(sig), 1234567890);
	assert_int_equal(gkv_signature_offset(sig), -90);
	gkv_signature_free(sig);
}

static void test_empty_email_and_edges_ok(void **state)
{
	gkv_signature *sig;

	(void)state;
	assert_int_equal(gkv_signature_new(&sig, "A", "", 0, 0), 0);
	gkv_signature_free(sig);
	assert_int_equal(gkv_signature_new(&sig, "A", "a@b", INT64_MAX, 99 * 60 + 59), 0);
	gkv_signature_free(sig);
	assert_int_equal(gkv_signature_new(&sig, "A", "a@b", 1, -(99 * 60 + 59)), 0);
	gkv_signature_free(sig);
}

static void expect_invalid(const char *name, const char *email, int64_t t, int off)
{
	gkv_signature *sig = NULL;

	assert_int_equal(gkv_signature_new(&sig, name, email, t, off), GKV_E_INVALID);
	assert_null(sig);
	assert_int_equal(gkv_error_last_code(), GKV_E_INVALID);
}

static void test_rejects(void **state)
{
	(void)state;
	expect_invalid(NULL, "a@b", 0, 0);
	expect_invalid("A", NULL, 0, 0);
	expect_invalid("", "a@b", 0, 0);
	expect_invalid("A<", "a@b", 0, 0);
	expect_invalid("A>", "a@b", 0, 0);
	expect_invalid("A\nB", "a@b", 0, 0);
	expect_invalid("A", "<a@b", 0, 0);
	expect_invalid("A", "a@b>", 0, 0);
	expect_invalid("A", "a@b\n", 0, 0);
	expect_invalid("A", "a@b", -1, 0);
	expect_invalid("A", "a@b", 0, 99 * 60 + 60);
	expect_invalid("A", "a@b", 0, -(99 * 60 + 60));
	assert_non_null(strstr(gkv_error_last(), "zone"));
}

static void test_message_names_field(void **state)
{
	gkv_signature *sig;

	(void)state;
	assert_int_equal(gkv_signature_new(&sig, "Bob", "b<b", 0, 0), GKV_E_INVALID);
	assert_non_null(strstr(gkv_error_last(), "email"));
	assert_non_null(strstr(gkv_error_last(), "'<'"));
}

static void test_now(void **state)
{
	gkv_signature *sig;
	time_t before = time(NULL);

	(void)state;
	assert_int_equal(gkv_signature_now(&sig, "A", "a@b"), 0);
	assert_true(gkv_signature_time(sig) >= before);
	assert_true(gkv_signature_time(sig) <= time(NULL));
	assert_int_equal(gkv_signature_offset(sig), 0);
	gkv_signature_free(sig);
	assert_int_equal(gkv_signature_now(&sig, "A>", "a@b"), GKV_E_INVALID);
}

static void test_dup(void **state)
{
	gkv_signature *a, *b;

	(void)state;
	assert_int_equal(gkv_signature_new(&a, "A", "a@b", 42, 330), 0);
	assert_int_equal(gkv__signature_dup(&b, a), 0);
	assert_ptr_not_equal(a, b);
	assert_ptr_not_equal(a->name, b->name);
	gkv_signature_free(a);
	assert_string_equal(gkv_signature_name(b), "A");
	assert_string_equal(gkv_signature_email(b), "a@b");
	assert_int_equal(gkv_signature_time(b), 42);
	assert_int_equal(gkv_signature_offset(b), 330);
	gkv_signature_free(b);
	assert_int_equal(gkv__signature_dup(&b, NULL), GKV_E_INVALID);
	gkv_signature_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_new_and_accessors),
	    cmocka_unit_test(test_empty_email_and_edges_ok),
	    cmocka_unit_test(test_rejects),
	    cmocka_unit_test(test_message_names_field),
	    cmocka_unit_test(test_now),
	    cmocka_unit_test(test_dup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
