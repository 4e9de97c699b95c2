/*
 * crc32c.c -- CRC-32C (polynomial 0x1EDC6F41, reflected 0x82F63B78), as
 * iSCSI, ext4 and LevelDB use it. A record of a hundred bytes costs zlib's
 * CRC-32 about 600 instructions; the SSE 4.2 instruction takes 8 bytes a
 * step, so checking every record read stays a small part of a get.
 */
#include "crc32c.h"

#include <pthread.h>
#include <string.h>

#define POLY 0x82F63B78u

static uint32_t table[256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ POLY : c >> 1;
		table[i] = c;
	}
}

static uint32_t crc_sw(uint32_t crc, const unsigned char *p, size_t len)
{
	pthread_once(&table_once, table_init);
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("sse4.2"))) static uint32_t crc_hw_1(uint32_t crc, const unsigned char *p,
    size_t len)
{
	uint64_t c = crc;

	for (; len >= 8; p += 8, len -= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		c = __builtin_ia32_crc32di(c, w);
	}
	crc = (uint32_t)c;
	while (len--)
		crc = __builtin_ia32_crc32qi(crc, *p++);
	return crc;
}

/*
 * Long buffers in three streams at once. The instruction takes three
 * cycles to give its result and can start one a cycle, so one chain of
 * it runs at a third of its speed: three blocks of BLOCK bytes are
 * taken together, the second and third from a register of zero, and
 * joined after. The register is linear in what it held and in the data,
 * so a block's result shifted by the bytes after it (BLOCK zero bytes
 * fed through the register, which shift_tab does a byte of the register
 * at a time) xored with what those bytes give from zero is the result
 * of one chain over both.
 */
#define BLOCK 1024

static uint32_t shift_tab[4][256];
static pthread_once_t shift_once = PTHREAD_ONCE_INIT;

static void shift_init(void)
{
	static const unsigned char zeros[BLOCK];

	for (int k = 0; k < 4; k++)
		for (uint32_t b = 0; b < 256; b++)
			shift_tab[k][b] = crc_hw_1(b << (8 * k), zeros, BLOCK);
}

static uint32_t shift(uint32_t c)
{
	return shift_tab[0][c & 0xff] ^ shift_tab[1][(c >> 8) & 0xff] ^
	       shift_tab[2][(c >> 16) & 0xff] ^ shift_tab[3][c >> 24];
}

__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const unsigned char *p,
    size_t len)
{
	if (len >= 3 * BLOCK)
		pthread_once(&shift_once, shift_init);
	for (; len >= 3 * BLOCK; p += 3 * BLOCK, len -= 3 * BLOCK) {
		uint64_t c0 = crc, c1 = 0, c2 = 0;

		for (size_t i = 0; i < BLOCK; i += 8) {
			uint64_t w0, w1, w2;

			memcpy(&w0, p + i, 8);
			memcpy(&w1, p + BLOCK + i, 8);
			memcpy(&w2, p + 2 * BLOCK + i, 8);
			c0 = __builtin_ia32_crc32di(c0, w0);
			c1 = __builtin_ia32_crc32di(c1, w1);
			c2 = __builtin_ia32_crc32di(c2, w2);
		}
		crc = shift(shift((uint32_t)c0) ^ (uint32_t)c1) ^ (uint32_t)c2;
	}
	return crc_hw_1(crc, p, len);
}

static int have_hw(void)
{
	static int known = -1; /* a benign race: every thread finds the same */

	if (known < 0)
		known = __builtin_cpu_supports("sse4.2") ? 1 : 0;
	return known;
}
#else
static uint32_t crc_hw(uint32_t crc, const unsigned char *p, size_t len)
{
	return crc_sw(crc, p, len);
}

static int have_hw(void)
{
	return 0;
}
#endif

uint32_t gkv__crc32c(uint32_t crc, const void *data, size_t len)
{
	const unsigned char *p = data;

	crc = ~crc;
	crc = have_hw() ? crc_hw(crc, p, len) : crc_sw(crc, p, len);
	return ~crc;
}
