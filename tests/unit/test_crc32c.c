/*
 * test_crc32c.c -- util/crc32c.c gives CRC-32C: the published check value,
 * and the same result as a bit-at-a-time reference for every length and
 * alignment, in one call or split anywhere (so the instruction and the
 * table agree, and a store checked on one machine reads on another),
 * buffers long enough for three streams at once included.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crc32c.h"

static uint32_t reference(const unsigned char *p, size_t len)
{
	uint32_t c = 0xffffffffu;

	while (len--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
	}
	return ~c;
}

static void check_value(void **state)
{
	(void)state;
	assert_int_equal(gkv__crc32c(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(gkv__crc32c(0, "", 0), 0);
}

static void every_length_alignment_and_split(void **state)
{
	unsigned char buf[300];

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 131 + 7);
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 0; len + off <= 200; len++) {
			uint32_t want = reference(buf + off, len);

			assert_int_equal(gkv__crc32c(0, buf + off, len), want);
			for (size_t cut = 0; cut <= len; cut += 7)
				assert_int_equal(gkv__crc32c(gkv__crc32c(0, buf + off, cut),
						     buf + off + cut, len - cut),
				    want);
		}
}

/* Past three blocks of 1 KiB the instruction runs three streams at
 * once and joins them: every length around those edges, at every
 * alignment of 8, split at points that cut a block or fall between. */
static void long_buffers(void **state)
{
	static unsigned char buf[70000];
	const size_t lens[] = {3071, 3072, 3073, 3080, 4096, 6143, 6144, 6145, 9216, 10001,
			       65536 + 5, sizeof(buf) - 8};
	uint64_t x = 88172645463325252ull;

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (unsigned char)x;
	}
	for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++)
		for (size_t off = 0; off < 8; off++) {
			size_t len = lens[l];
			uint32_t want = reference(buf + off, len);
			const size_t cuts[] = {1, 1023, 1024, 3072, len / 2, len - 1};

			assert_int_equal(gkv__crc32c(0, buf + off, len), want);
			for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++)
				if (cuts[c] <= len)
					assert_int_equal(gkv__crc32c(gkv__crc32c(0, buf + off, cuts[c]),
						     buf + off + cuts[c], len - cuts[c]),
					    want);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(check_value),
	    cmocka_unit_test(every_length_alignment_and_split),
	    cmocka_unit_test(long_buffers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
