/*
 * common.c -- the dataset, the seeded choices, SHA-256 (FIPS 180-4, a
 * straightforward one-block-at-a-time implementation: the bench computes
 * at most a few million digests of short strings, outside timed loops),
 * and the result lines. See common.h.
 */
#include "common.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2,
};

static uint32_t rotr(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

static void sha256_block(uint32_t h[8], const unsigned char *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, k, t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		    (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (i = 16; i < 64; i++) {
		uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
	for (i = 0; i < 64; i++) {
		t1 = k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
		t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		k = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
	}
	h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += k;
}

void bench_sha256(unsigned char out[32], const void *data, size_t len)
{
	uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c,
		0x1f83d9ab, 0x5be0cd19 };
	const unsigned char *p = data;
	unsigned char tail[128];
	size_t rest = len % 64, full = len - rest, tlen, i;
	uint64_t bits = (uint64_t)len * 8;

	for (i = 0; i < full; i += 64)
		sha256_block(h, p + i);
	memset(tail, 0, sizeof(tail));
	if (rest)
		memcpy(tail, p + full, rest);
	tail[rest] = 0x80;
	tlen = rest + 1 + 8 <= 64 ? 64 : 128;
	for (i = 0; i < 8; i++)
		tail[tlen - 1 - i] = (unsigned char)(bits >> (8 * i));
	for (i = 0; i < tlen; i += 64)
		sha256_block(h, tail + i);
	for (i = 0; i < 8; i++) {
		out[4 * i] = (unsigned char)(h[i] >> 24);
		out[4 * i + 1] = (unsigned char)(h[i] >> 16);
		out[4 * i + 2] = (unsigned char)(h[i] >> 8);
		out[4 * i + 3] = (unsigned char)h[i];
	}
}

void bench_sha256_hex(char out[65], const char *s)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char d[32];
	int i;

	bench_sha256(d, s, strlen(s));
	for (i = 0; i < 32; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[64] = '\0';
}

void bench_path(char out[32], uint64_t i)
{
	snprintf(out, 32, "d%02x/d%02x/k%" PRIu64, (unsigned)(i % 64), (unsigned)((i / 64) % 64), i);
}

void bench_value(char out[65], uint64_t i)
{
	char dec[24];

	snprintf(dec, sizeof(dec), "%" PRIu64, i);
	bench_sha256_hex(out, dec);
}

void bench_update_value(char out[65], const char *prefix, uint64_t j)
{
	char s[40];

	snprintf(s, sizeof(s), "%s%" PRIu64, prefix, j);
	bench_sha256_hex(out, s);
}

void bench_update_message(char out[48], const char *prefix, uint64_t j)
{
	snprintf(out, 48, "%s %" PRIu64 "\n", prefix, j);
}

uint64_t bench_splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

uint64_t *bench_choices(uint64_t seed, size_t count, uint64_t n)
{
	uint64_t *v = malloc((count ? count : 1) * sizeof(*v)), x = seed;
	size_t k;

	if (!v)
		return NULL;
	for (k = 0; k < count; k++)
		v[k] = bench_splitmix(&x) % n;
	return v;
}

double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void bench_report_num(const char *key, double value)
{
	printf("BENCH %s=%.9g\n", key, value);
	fflush(stdout);
}

void bench_report_str(const char *key, const char *value)
{
	printf("BENCH %s=%s\n", key, value);
	fflush(stdout);
}

void bench_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

uint64_t bench_parse_u64(const char *s)
{
	char *end;
	unsigned long long v;

	if (!s || !*s)
		bench_die("missing number");
	v = strtoull(s, &end, 10);
	if (*end)
		bench_die("not a number: '%s'", s);
	return (uint64_t)v;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double bench_median(double *v, size_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void bench_lap(double *lap, double *t)
{
	double now = bench_now();

	*lap = now - *t;
	*t = now;
}

void bench_report_commits(double core, double *lat, uint64_t n)
{
	bench_report_num("core_s", core);
	bench_report_num("ops", (double)n);
	bench_report_num("lat_mean_s", core / (double)n);
	bench_report_num("lat_median_s", bench_median(lat, n));
}

long bench_peak_rss_kib(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return -1;
	return ru.ru_maxrss;
}

double bench_first_touch_us(size_t mib, int huge)
{
	size_t size = mib << 20, align = (size_t)2 << 20;
	char *map =
	    mmap(NULL, size + align, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	volatile char *p;
	double t0, t1;

	if (map == MAP_FAILED)
		bench_die("touch probe: cannot map %zu MiB", mib);
	p = (char *)(((uintptr_t)map + align - 1) & ~(uintptr_t)(align - 1));
#ifdef MADV_HUGEPAGE
	if (huge)
		madvise((void *)p, size, MADV_HUGEPAGE); /* refused: plain pages, and so measured */
#else
	(void)huge;
#endif
	t0 = bench_now();
	for (size_t off = 0; off < size; off += 4096)
		p[off] = 1;
	t1 = bench_now();
	munmap(map, size + align);
	return (t1 - t0) * 1e6 / (double)(size / 4096);
}
