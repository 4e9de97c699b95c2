/*
 * common.h -- what every bench program shares: the dataset D(N) of
 * bench/README.md (paths, values), the seeded random choices
 * (so every peer sees the same keys in the same order), SHA-256 for the
 * values, a monotonic clock, and the one-line result every program prints
 * for bench/run.py to read.
 *
 * The random sequences are SplitMix64 from a fixed seed, one seed per
 * workload; bench/pygit2_bench.py computes the very same numbers.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* Seeds of the random choices, one per sequence. */
#define BENCH_SEED_W2 2u /* the keys W2 (and W6) update */
#define BENCH_SEED_W3 3u /* the keys W3 reads */
#define BENCH_SEED_W4A 41u /* the keys branch a changes in W4 */
#define BENCH_SEED_W4B 42u /* the keys branch b changes in W4 */

#define BENCH_NAME "bench"
#define BENCH_EMAIL "bench@example.com"
#define BENCH_TIME 1700000000

/** SHA-256 of data into out[32]. */
void bench_sha256(unsigned char out[32], const void *data, size_t len);

/** The 64 lowercase hex digits (and a NUL) of the SHA-256 of a string. */
void bench_sha256_hex(char out[65], const char *s);

/** Path of key i in D(N): d{a:02x}/d{b:02x}/k{i}; out must hold 32 bytes. */
void bench_path(char out[32], uint64_t i);

/** Value of key i in D(N): hex SHA-256 of the decimal string of i. */
void bench_value(char out[65], uint64_t i);

/** Value written by the j-th update of a sequence: hex SHA-256 of "<prefix><j>". */
void bench_update_value(char out[65], const char *prefix, uint64_t j);

/** Message of the j-th commit of a sequence: "<prefix> <j>\n"; out holds 48 bytes. */
void bench_update_message(char out[48], const char *prefix, uint64_t j);

/** The next SplitMix64 number of the sequence whose state is *x. */
uint64_t bench_splitmix(uint64_t *x);

/**
 * count indexes in [0, n), drawn with SplitMix64 from seed: the k-th is
 * splitmix64_k(seed) mod n. malloc()ed; NULL when out of memory.
 */
uint64_t *bench_choices(uint64_t seed, size_t count, uint64_t n);

/** Seconds on the monotonic clock. */
double bench_now(void);

/** Print "BENCH key=value" lines that run.py parses (values have no spaces). */
void bench_report_num(const char *key, double value);
void bench_report_str(const char *key, const char *value);

/** Print a message to stderr and exit(1): a bench program never hides a wrong result. */
void bench_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/** Parse a decimal option value, dying on garbage. */
uint64_t bench_parse_u64(const char *s);

/** Median of n doubles (sorts them in place). */
double bench_median(double *v, size_t n);

/** The time since *t into *lap; *t becomes now (one commit's latency). */
void bench_lap(double *lap, double *t);

/** Report a timed loop of n commits: core_s, ops, lat_mean_s and
 * lat_median_s from the per-commit latencies lat (sorted in place). */
void bench_report_commits(double core, double *lat, uint64_t n);

/** Peak RSS of this process in KiB (getrusage). */
long bench_peak_rss_kib(void);

/**
 * What touching memory for the first time costs this machine: microseconds
 * per 4 KiB page over mib MiB of fresh anonymous memory, touched once a
 * page; with huge, the memory is 2 MiB-aligned and advised MADV_HUGEPAGE
 * (the cost is then per 4 KiB of huge page). Gitkv's arena and slab, and
 * every peer that grows its heap, pay this; it moves from machine to
 * machine far more than instructions do.
 */
double bench_first_touch_us(size_t mib, int huge);

#endif
