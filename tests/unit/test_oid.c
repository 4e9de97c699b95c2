/*
 * test_oid.c -- object ids: hex in and out, comparison, and hashing
 * checked against ids git itself computes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "codec.h"

static void hex_of(char out[41], gkv_otype type, const void *data, size_t len)
{
	gkv_oid id;

	assert_int_equal(gkv_hash(&id, type, data, len), 0);
	gkv_oid_fmt(out, &id);
}

static void test_hash_known_ids(void **state)
{
	char hex[41];

	(void)state;
	hex_of(hex, GKV_OBJ_BLOB, "", 0);
	assert_string_equal(hex, "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
	hex_of(hex, GKV_OBJ_BLOB, NULL, 0);
	assert_string_equal(hex, "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
	hex_of(hex, GKV_OBJ_BLOB, "hello\n", 6);
	assert_string_equal(hex, "ce013625030ba8dba906f756967f9e9ca394464a");
	hex_of(hex, GKV_OBJ_TREE, "", 0);
	assert_string_equal(hex, "4b825dc642cb6eb9a060e54bf8d69288fbee4904");
}

static void test_hash_bad_type(void **state)
{
	gkv_oid id;

	(void)state;
	assert_int_equal(gkv_hash(&id, GKV_OBJ_ANY, "x", 1), GKV_E_INVALID);
	assert_int_equal(gkv_hash(&id, GKV_OBJ_BAD, "x", 1), GKV_E_INVALID);
	assert_int_equal(gkv_hash(&id, (gkv_otype)7, "x", 1), GKV_E_INVALID);
	assert_int_equal(gkv_hash(&id, GKV_OBJ_BLOB, NULL, 3), GKV_E_INVALID);
}

static void test_hash_type_matters(void **state)
{
	gkv_oid a, b;

	(void)state;
	assert_int_equal(gkv_hash(&a, GKV_OBJ_BLOB, "x", 1), 0);
	assert_int_equal(gkv_hash(&b, GKV_OBJ_COMMIT, "x", 1), 0);
	assert_false(gkv_oid_equal(&a, &b));
	assert_int_equal(gkv_hash(&b, GKV_OBJ_TAG, "x", 1), 0);
	assert_false(gkv_oid_equal(&a, &b));
}

static void test_fmt_fromstr_roundtrip(void **state)
{
	const char *hex = "0123456789abcdef0123456789abcdef01234567";
	char out[41];
	gkv_oid id;

	(void)state;
	assert_int_equal(gkv_oid_fromstr(&id, hex), 0);
	assert_int_equal(id.id[0], 0x01);
	assert_int_equal(id.id[19], 0x67);
	gkv_oid_fmt(out, &id);
	assert_string_equal(out, hex);
	assert_int_equal(gkv_oid_fromstr(&id, "0123456789ABCDEF0123456789ABCDEF01234567"), 0);
	gkv_oid_fmt(out, &id);
	assert_string_equal(out, hex);
}

static void test_fromstr_rejects(void **state)
{
	gkv_oid id;

	(void)state;
	assert_int_equal(gkv_oid_fromstr(&id, NULL), GKV_E_INVALID);
	assert_int_equal(gkv_oid_fromstr(&id, ""), GKV_E_INVALID);
	assert_int_equal(gkv_oid_fromstr(&id, "0123456789abcdef0123456789abcdef0123456"),
			 GKV_E_INVALID);
	assert_int_equal(gkv_oid_fromstr(&id, "0123456789abcdef0123456789abcdef012345678"),
			 GKV_E_INVALID);
	assert_int_equal(gkv_oid_fromstr(&id, "0123456789abcdef0123456789abcdef0123456g"),
			 GKV_E_INVALID);
	assert_int_equal(gkv_oid_fromstr(&id, "0123456789abcdef0123456789abcdef0123456 "),
			 GKV_E_INVALID);
	assert_int_equal(gkv_oid_fromstr(&id, " 123456789abcdef0123456789abcdef01234567"),
			 GKV_E_INVALID);
	assert_non_null(strstr(gkv_error_last(), "invalid object id"));
}

static void test_cmp_equal_zero(void **state)
{
	gkv_oid a, b, z;

	(void)state;
	memset(&z, 0, sizeof(z));
	assert_true(gkv_oid_is_zero(&z));
	assert_int_equal(gkv_oid_fromstr(&a, "0000000000000000000000000000000000000001"), 0);
	assert_int_equal(gkv_oid_fromstr(&b, "1000000000000000000000000000000000000000"), 0);
	assert_false(gkv_oid_is_zero(&a));
	assert_false(gkv_oid_is_zero(&b));
	assert_true(gkv_oid_cmp(&a, &b) < 0);
	assert_true(gkv_oid_cmp(&b, &a) > 0);
	assert_int_equal(gkv_oid_cmp(&a, &a), 0);
	assert_true(gkv_oid_equal(&a, &a));
	assert_false(gkv_oid_equal(&a, &b));
	/* Bytes compare unsigned: 0xff sorts after 0x01. */
	b = a;
	b.id[0] = 0xff;
	assert_true(gkv_oid_cmp(&a, &b) < 0);
}

static void test_hex_prefix(void **state)
{
	gkv_oid id;
	size_t n = 99;

	(void)state;
	assert_int_equal(gkv__hex_prefix_parse(&id, &n, "a"), 0);
	assert_int_equal(n, 1);
	assert_int_equal(id.id[0], 0xa0);
	assert_int_equal(gkv__hex_prefix_parse(&id, &n, "AbC"), 0);
	assert_int_equal(n, 3);
	assert_int_equal(id.id[0], 0xab);
	assert_int_equal(id.id[1], 0xc0);
	for (int i = 2; i < GKV_OID_RAWSZ; i++)
		assert_int_equal(id.id[i], 0);
	assert_int_equal(gkv__hex_prefix_parse(&id, &n, "0123456789abcdef0123456789abcdef01234567"),
			 0);
	assert_int_equal(n, 40);
	assert_int_equal(id.id[19], 0x67);
}

static void test_hex_prefix_rejects(void **state)
{
	gkv_oid id;
	size_t n;

	(void)state;
	assert_int_equal(gkv__hex_prefix_parse(&id, &n, NULL), GKV_E_INVALID);
	assert_int_equal(gkv__hex_prefix_parse(&id, &n, ""), GKV_E_INVALID);
	assert_int_equal(gkv__hex_prefix_parse(&id, &n, "abx"), GKV_E_INVALID);
	assert_int_equal(gkv__hex_prefix_parse(&id, &n, "-1"), GKV_E_INVALID);
	assert_int_equal(
	    gkv__hex_prefix_parse(&id, &n, "0123456789abcdef0123456789abcdef012345678"),
	    GKV_E_INVALID);
	assert_non_null(strstr(gkv_error_last(), "abcdef012345678"));
}

/* Plain SHA-1 gives git's ids too: the known ones, and the same id as
 * sha1dc for every length around SHA-1's 64-byte blocks and a large one. */
static void test_hash_kinds_agree(void **state)
{
	static unsigned char big[1 << 20];
	const gkv_otype types[] = {GKV_OBJ_BLOB, GKV_OBJ_TREE, GKV_OBJ_COMMIT, GKV_OBJ_TAG};
	gkv_oid a, b;
	char hex[41];

	(void)state;
	assert_int_equal(gkv_hash_in_use(), GKV_HASH_SHA1DC);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)(i * 2654435761u >> 13);
	assert_int_equal(gkv_hash_use(GKV_HASH_SHA1), 0);
	assert_int_equal(gkv_hash_in_use(), GKV_HASH_SHA1);
	hex_of(hex, GKV_OBJ_BLOB, "", 0);
	assert_string_equal(hex, "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
	hex_of(hex, GKV_OBJ_BLOB, "hello\n", 6);
	assert_string_equal(hex, "ce013625030ba8dba906f756967f9e9ca394464a");
	hex_of(hex, GKV_OBJ_TREE, "", 0);
	assert_string_equal(hex, "4b825dc642cb6eb9a060e54bf8d69288fbee4904");
	for (size_t t = 0; t < 4; t++)
		for (size_t len = 0; len <= 300; len++) {
			assert_int_equal(gkv_hash_use(GKV_HASH_SHA1), 0);
			assert_int_equal(gkv_hash(&a, types[t], big, len), 0);
			assert_int_equal(gkv_hash_use(GKV_HASH_SHA1DC), 0);
			assert_int_equal(gkv_hash(&b, types[t], big, len), 0);
			assert_true(gkv_oid_equal(&a, &b));
		}
	assert_int_equal(gkv_hash_use(GKV_HASH_SHA1), 0);
	assert_int_equal(gkv_hash(&a, GKV_OBJ_BLOB, big, sizeof(big)), 0);
	assert_int_equal(gkv_hash_use(GKV_HASH_SHA1DC), 0);
	assert_int_equal(gkv_hash(&b, GKV_OBJ_BLOB, big, sizeof(big)), 0);
	assert_true(gkv_oid_equal(&a, &b));
	/* Bad input is refused the same way under either kind. */
	assert_int_equal(gkv_hash_use(GKV_HASH_SHA1), 0);
	assert_int_equal(gkv_hash(&a, GKV_OBJ_ANY, "x", 1), GKV_E_INVALID);
	assert_int_equal(gkv_hash(&a, GKV_OBJ_BLOB, NULL, 3), GKV_E_INVALID);
	assert_int_equal(gkv_hash_use(GKV_HASH_SHA1DC), 0);
}

static void test_hash_kind_unknown(void **state)
{
	(void)state;
	assert_int_equal(gkv_hash_use((gkv_hash_kind)7), GKV_E_INVALID);
	assert_int_equal(gkv_hash_use((gkv_hash_kind)-1), GKV_E_INVALID);
	assert_int_equal(gkv_hash_in_use(), GKV_HASH_SHA1DC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hash_known_ids),
	    cmocka_unit_test(test_hash_kinds_agree),
	    cmocka_unit_test(test_hash_kind_unknown),
	    cmocka_unit_test(test_hash_bad_type),
	    cmocka_unit_test(test_hash_type_matters), cmocka_unit_test(test_fmt_fromstr_roundtrip),
	    cmocka_unit_test(test_fromstr_rejects),   cmocka_unit_test(test_cmp_equal_zero),
	    cmocka_unit_test(test_hex_prefix),	      cmocka_unit_test(test_hex_prefix_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
