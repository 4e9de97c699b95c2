/*
 * test_sha1.c -- util/sha1.c gives SHA-1 and HMAC-SHA1: the published test
 * vectors (FIPS 180 and RFC 2202), and the same digest as libcrypto's
 * for every length up to a few blocks, at every alignment, in one call or
 * split anywhere, with the CPU's SHA instructions and without them (so a
 * store checked on one machine reads on another).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "sha1.h"

static void hex(char out[41], const unsigned char d[20])
{
	for (int i = 0; i < 20; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void assert_sha1(const void *data, size_t len, const char *want)
{
	unsigned char d[20];
	char got[41];

	gkv__sha1(d, data, len);
	hex(got, d);
	assert_string_equal(got, want);
}

static void reference(unsigned char out[20], const void *data, size_t len)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	assert_non_null(c);
	assert_int_equal(EVP_DigestInit_ex(c, EVP_sha1(), NULL), 1);
	assert_int_equal(EVP_DigestUpdate(c, data, len), 1);
	assert_int_equal(EVP_DigestFinal_ex(c, out, NULL), 1);
	EVP_MD_CTX_free(c);
}

static void vectors(void)
{
	static char million[1000000];

	assert_sha1("", 0, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	assert_sha1("abc", 3, "a9993e364706816aba3e25717850c26c9cd0d89d");
	assert_sha1("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
		    "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
	memset(million, 'a', sizeof(million));
	assert_sha1(million, sizeof(million), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

static void against_libcrypto(void)
{
	static unsigned char buf[3 * 64 + 200];
	unsigned char got[20], want[20];
	uint32_t s = 7;

	for (size_t i = 0; i < sizeof(buf); i++) {
		s = s * 1103515245u + 12345u;
		buf[i] = (unsigned char)(s >> 16);
	}
	for (size_t len = 0; len <= 3 * 64 + 1; len++)
		for (size_t off = 0; off < 8; off++) {
			gkv__sha1_ctx c;
			size_t cut = len * off / 8; /* split somewhere else each time */

			reference(want, buf + off, len);
			gkv__sha1(got, buf + off, len);
			assert_memory_equal(got, want, 20);
			gkv__sha1_init(&c);
			gkv__sha1_update(&c, buf + off, cut);
			gkv__sha1_update(&c, NULL, 0);
			gkv__sha1_update(&c, buf + off + cut, len - cut);
			gkv__sha1_final(got, &c);
			assert_memory_equal(got, want, 20);
		}
}

static void test_native(void **state)
{
	(void)state;
	gkv__sha1_portable(false);
	vectors();
	against_libcrypto();
}

static void test_portable(void **state)
{
	(void)state;
	gkv__sha1_portable(true);
	vectors();
	against_libcrypto();
	gkv__sha1_portable(false);
}

static void assert_hmac(const void *key, size_t klen, const char *msg, const char *want)
{
	unsigned char d[20];
	char got[41];

	gkv__hmac_sha1(d, key, klen, msg, strlen(msg));
	hex(got, d);
	assert_string_equal(got, want);
}

/* RFC 2202's test cases 1, 2, 3 and 6 (a key longer than a block). */
static void test_hmac(void **state)
{
	unsigned char k[80];

	(void)state;
	memset(k, 0x0b, 20);
	assert_hmac(k, 20, "Hi There", "b617318655057264e28bc0b6fb378c8ef146be00");
	assert_hmac("Jefe", 4, "what do ya want for nothing?",
		    "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
	memset(k, 0xaa, 20);
	{
		char msg[51];

		memset(msg, 0xdd, 50);
		msg[50] = '\0';
		assert_hmac(k, 20, msg, "125d7342b9ac11cd91a39af48aa17b4f63f175d3");
	}
	memset(k, 0xaa, 80);
	assert_hmac(k, 80, "Test Using Larger Than Block-Size Key - Hash Key First",
		    "aa4ae5e15272d00e95705637ce8a3b55ed402112");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_native),
	    cmocka_unit_test(test_portable),
	    cmocka_unit_test(test_hmac),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
