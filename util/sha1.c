/*
 * sha1.c -- SHA-1, with x86-64's SHA instructions when the CPU has them.
 *
 * Why not libcrypto: it was the only thing gitkv took from OpenSSL, and
 * loading OpenSSL's libcrypto cost every process some 2.8 ms of CPU
 * before main (relocations and constructors), more than listing a
 * directory of a store. The SHA instructions hash a 64-byte block in
 * about as many cycles as libcrypto's own use of them.
 */
#include "sha1.h"

#include <stdatomic.h>
#include <string.h>

static uint32_t rol(uint32_t x, int n)
{
	return x << n | x >> (32 - n);
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* nblocks 64-byte blocks at p into h, in portable C. */
static void blocks_c(uint32_t h[5], const unsigned char *p, size_t nblocks)
{
	for (; nblocks--; p += 64) {
		uint32_t w[80], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];

		for (int i = 0; i < 16; i++)
			w[i] = be32(p + 4 * i);
		for (int i = 16; i < 80; i++)
			w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
		for (int i = 0; i < 80; i++) {
			uint32_t f, k, t;

			if (i < 20) {
				f = (b & c) | (~b & d);
				k = 0x5A827999u;
			} else if (i < 40) {
				f = b ^ c ^ d;
				k = 0x6ED9EBA1u;
			} else if (i < 60) {
				f = (b & c) | (b & d) | (c & d);
				k = 0x8F1BBCDCu;
			} else {
				f = b ^ c ^ d;
				k = 0xCA62C1D6u;
			}
			t = rol(a, 5) + f + e + k + w[i];
			e = d;
			d = c;
			c = rol(b, 30);
			b = a;
			a = t;
		}
		h[0] += a;
		h[1] += b;
		h[2] += c;
		h[3] += d;
		h[4] += e;
	}
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>

/*
 * The same with SHA-NI. The message schedule is computed whole first:
 * each group of four words from the four before it (W[t-16] ^ W[t-14]
 * by SHA1MSG1, ^ W[t-8], then ^ W[t-3] and the rotation by SHA1MSG2).
 * Each group of four rounds takes E from the state before the previous
 * group (SHA1NEXTE) and the round function by its index: 0 for rounds
 * 0-19, 1 for 20-39, 2 for 40-59, 3 for 60-79.
 */
#define GROUP(i, f)                                          \
	do {                                                 \
		e = _mm_sha1nexte_epu32(prev, w[i]);         \
		prev = abcd;                                 \
		abcd = _mm_sha1rnds4_epu32(abcd, e, f);      \
	} while (0)

__attribute__((target("sha,ssse3,sse4.1"))) static void blocks_ni(uint32_t h[5],
    const unsigned char *p, size_t nblocks)
{
	const __m128i bswap = _mm_set_epi64x(0x0001020304050607LL, 0x08090a0b0c0d0e0fLL);
	__m128i abcd = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)h), 0x1B);
	__m128i e0 = _mm_set_epi32((int)h[4], 0, 0, 0);

	for (; nblocks--; p += 64) {
		__m128i w[20], e, prev, abcd0 = abcd, e00 = e0;

		for (int i = 0; i < 4; i++)
			w[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), bswap);
		for (int i = 4; i < 20; i++)
			w[i] = _mm_sha1msg2_epu32(
			    _mm_xor_si128(_mm_sha1msg1_epu32(w[i - 4], w[i - 3]), w[i - 2]), w[i - 1]);
		e = _mm_add_epi32(e0, w[0]);
		prev = abcd;
		abcd = _mm_sha1rnds4_epu32(abcd, e, 0);
		GROUP(1, 0);
		GROUP(2, 0);
		GROUP(3, 0);
		GROUP(4, 0);
		GROUP(5, 1);
		GROUP(6, 1);
		GROUP(7, 1);
		GROUP(8, 1);
		GROUP(9, 1);
		GROUP(10, 2);
		GROUP(11, 2);
		GROUP(12, 2);
		GROUP(13, 2);
		GROUP(14, 2);
		GROUP(15, 3);
		GROUP(16, 3);
		GROUP(17, 3);
		GROUP(18, 3);
		GROUP(19, 3);
		e0 = _mm_sha1nexte_epu32(prev, e00);
		abcd = _mm_add_epi32(abcd, abcd0);
	}
	_mm_storeu_si128((__m128i *)h, _mm_shuffle_epi32(abcd, 0x1B));
	h[4] = (uint32_t)_mm_extract_epi32(e0, 3);
}

static bool cpu_has_sha(void)
{
	unsigned int a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSSE3) || !(c & bit_SSE4_1))
		return false;
	if (__get_cpuid_max(0, NULL) < 7)
		return false;
	__cpuid_count(7, 0, a, b, c, d);
	return (b & bit_SHA) != 0;
}
#else
static void blocks_ni(uint32_t h[5], const unsigned char *p, size_t nblocks)
{
	blocks_c(h, p, nblocks);
}

static bool cpu_has_sha(void)
{
	return false;
}
#endif

/* -1 not yet known; 0 portable; 1 SHA instructions. A benign race: every
 * thread finds the same. */
static atomic_int use_ni = -1;

void gkv__sha1_portable(bool on)
{
	atomic_store(&use_ni, on ? 0 : (cpu_has_sha() ? 1 : 0));
}

static void blocks(uint32_t h[5], const unsigned char *p, size_t nblocks)
{
	int ni = atomic_load_explicit(&use_ni, memory_order_relaxed);

	if (ni < 0) {
		ni = cpu_has_sha() ? 1 : 0;
		atomic_store(&use_ni, ni);
	}
	if (ni)
		blocks_ni(h, p, nblocks);
	else
		blocks_c(h, p, nblocks);
}

void gkv__sha1_init(gkv__sha1_ctx *c)
{
	c->h[0] = 0x67452301u;
	c->h[1] = 0xEFCDAB89u;
	c->h[2] = 0x98BADCFEu;
	c->h[3] = 0x10325476u;
	c->h[4] = 0xC3D2E1F0u;
	c->total = 0;
	c->n = 0;
}

void gkv__sha1_update(gkv__sha1_ctx *c, const void *data, size_t len)
{
	const unsigned char *p = data;

	if (!len)
		return;
	c->total += len;
	if (c->n) {
		size_t take = 64 - c->n < len ? 64 - c->n : len;

		memcpy(c->buf + c->n, p, take);
		c->n += take;
		p += take;
		len -= take;
		if (c->n < 64)
			return;
		blocks(c->h, c->buf, 1);
		c->n = 0;
	}
	if (len >= 64) {
		blocks(c->h, p, len / 64);
		p += len / 64 * 64;
		len %= 64;
	}
	if (len) {
		memcpy(c->buf, p, len);
		c->n = len;
	}
}

void gkv__sha1_final(unsigned char out[GKV__SHA1_SIZE], gkv__sha1_ctx *c)
{
	uint64_t bits = c->total * 8;

	c->buf[c->n++] = 0x80;
	if (c->n > 56) {
		memset(c->buf + c->n, 0, 64 - c->n);
		blocks(c->h, c->buf, 1);
		c->n = 0;
	}
	memset(c->buf + c->n, 0, 56 - c->n);
	for (int i = 0; i < 8; i++)
		c->buf[56 + i] = (unsigned char)(bits >> (56 - 8 * i));
	blocks(c->h, c->buf, 1);
	for (int i = 0; i < 5; i++) {
		out[4 * i] = (unsigned char)(c->h[i] >> 24);
		out[4 * i + 1] = (unsigned char)(c->h[i] >> 16);
		out[4 * i + 2] = (unsigned char)(c->h[i] >> 8);
		out[4 * i + 3] = (unsigned char)c->h[i];
	}
	c->n = 0;
}

void gkv__sha1(unsigned char out[GKV__SHA1_SIZE], const void *data, size_t len)
{
	gkv__sha1_ctx c;

	gkv__sha1_init(&c);
	gkv__sha1_update(&c, data, len);
	gkv__sha1_final(out, &c);
}

void gkv__hmac_sha1(unsigned char out[GKV__SHA1_SIZE], const void *key, size_t klen,
		    const void *msg, size_t mlen)
{
	unsigned char k[64] = {0}, pad[64], inner[GKV__SHA1_SIZE];
	gkv__sha1_ctx c;

	if (klen > sizeof(k))
		gkv__sha1(k, key, klen);
	else if (klen)
		memcpy(k, key, klen);
	for (int i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x36;
	gkv__sha1_init(&c);
	gkv__sha1_update(&c, pad, sizeof(pad));
	gkv__sha1_update(&c, msg, mlen);
	gkv__sha1_final(inner, &c);
	for (int i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x5c;
	gkv__sha1_init(&c);
	gkv__sha1_update(&c, pad, sizeof(pad));
	gkv__sha1_update(&c, inner, sizeof(inner));
	gkv__sha1_final(out, &c);
}
