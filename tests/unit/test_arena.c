/*
 * test_arena.c -- the arena the mem backend keeps its objects in
 * (backends/arena.c): what it hands out is aligned, apart and kept; what
 * is given back is reused when it can be and counted when it cannot; big
 * chunks are huge-page aligned and advised; threads share it; everything
 * is given back at the end. Under AddressSanitizer, a write past an
 * allocation is caught as it would be past a malloc block.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "arena.h"
#include "unit_util.h"

#define MIB ((size_t)1 << 20)

/* Sizes from 1 byte to past the large threshold, all kept intact. */
static void test_allocations_are_aligned_apart_and_kept(void **state)
{
	enum { N = 3000 };
	gkv__arena a;
	unsigned char *p[N];
	size_t len[N];

	(void)state;
	assert_int_equal(gkv__arena_init(&a), 0);
	for (unsigned i = 0; i < N; i++) {
		len[i] = i % 97 == 0 ? 150000 + i : 1 + (i * 131) % 5000;
		p[i] = gkv__arena_alloc(&a, len[i]);
		assert_non_null(p[i]);
		assert_int_equal((uintptr_t)p[i] % 16, 0);
		uu_fill(p[i], len[i], i);
	}
	for (unsigned i = 0; i < N; i++)
		assert_true(uu_holds(p[i], len[i], i));
	assert_int_equal(a.lost, 0);
	assert_true(a.held >= 3000 * 2500);
	gkv__arena_free(&a);
	assert_int_equal(a.held, 0);
	gkv__arena_free(&a); /* twice is harmless */
}

/* The last allocation given back is handed out again; an earlier one is
 * lost, and counted. */
static void test_unalloc_reuses_the_last(void **state)
{
	gkv__arena a;
	unsigned char *x, *y, *z;

	(void)state;
	assert_int_equal(gkv__arena_init(&a), 0);
	x = gkv__arena_alloc(&a, 100);
	y = gkv__arena_alloc(&a, 200);
	assert_non_null(x);
	assert_non_null(y);
	gkv__arena_unalloc(&a, y, 200);
	z = gkv__arena_alloc(&a, 200);
	assert_ptr_equal(z, y);
	assert_int_equal(a.lost, 0);
	/* in reverse order, a batch that aborts gives everything back */
	gkv__arena_unalloc(&a, z, 200);
	gkv__arena_unalloc(&a, x, 100);
	assert_ptr_equal(gkv__arena_alloc(&a, 100), x);
	/* x is no longer the last: giving it back loses its bytes */
	assert_non_null(gkv__arena_alloc(&a, 10));
	gkv__arena_unalloc(&a, x, 100);
	assert_true(a.lost >= 100);
	gkv__arena_unalloc(&a, NULL, 5); /* NULL is ignored */
	gkv__arena_free(&a);
}

/* Room taken for a worst case and shrunk: the next allocation follows
 * what was kept; an allocation that is no longer the last keeps its
 * size, and so do the bytes it kept. */
static void test_shrink_the_last(void **state)
{
	gkv__arena a;
	unsigned char *p, *q, *r;

	(void)state;
	assert_int_equal(gkv__arena_init(&a), 0);
	p = gkv__arena_alloc(&a, 1000);
	assert_non_null(p);
	uu_fill(p, 100, 7);
	gkv__arena_shrink(&a, p, 1000, 100);
	q = gkv__arena_alloc(&a, 50);
	assert_non_null(q);
	assert_true(q >= p + 100 && q <= p + 100 + 48); /* right after p's 100 bytes */
	assert_true(uu_holds(p, 100, 7));
	gkv__arena_shrink(&a, p, 100, 10); /* p is no longer the last */
	r = gkv__arena_alloc(&a, 50);
	assert_true(r > q);
	assert_true(uu_holds(p, 100, 7));
	assert_int_equal(a.lost, 0);
	gkv__arena_free(&a);
}

/* Past 128 KiB an allocation has a block of its own, freed when it
 * is given back, whatever its place. */
static void test_large_allocations_stand_alone(void **state)
{
	gkv__arena a;
	unsigned char *small, *big1, *big2, *next;
	size_t before;

	(void)state;
	assert_int_equal(gkv__arena_init(&a), 0);
	small = gkv__arena_alloc(&a, 64);
	before = a.held;
	big1 = gkv__arena_alloc(&a, 3 * MIB);
	big2 = gkv__arena_alloc(&a, 200000);
	assert_non_null(small);
	assert_non_null(big1);
	assert_non_null(big2);
	assert_true(a.held >= before + 3 * MIB + 200000);
	uu_fill(big1, 3 * MIB, 1);
	uu_fill(big2, 200000, 2);
	next = gkv__arena_alloc(&a, 64); /* the chunk goes on where it was */
	assert_true(next > small && next <= small + 64 + 32);
	gkv__arena_unalloc(&a, big1, 3 * MIB);
	assert_true(uu_holds(big2, 200000, 2));
	gkv__arena_unalloc(&a, big2, 200000);
	assert_int_equal(a.held, before);
	assert_int_equal(a.lost, 0);
	gkv__arena_free(&a);
}

/* VmFlags of the mapping that holds p, from /proc/self/smaps ("" if none). */
static void vm_flags(char *out, size_t cap, const void *p)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	int inside = 0;

	out[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
			inside = (uintptr_t)p >= lo && (uintptr_t)p < hi;
		else if (inside && strncmp(line, "VmFlags:", 8) == 0) {
			snprintf(out, cap, "%s", line + 8);
			break;
		}
	}
	fclose(f);
}

static int thp_offered(void)
{
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	char line[128] = "";

	if (!f)
		return 0;
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	return strstr(line, "[never]") == NULL && line[0] != '\0';
}

/* Chunks grow from 64 KiB to 256 KiB, then are 2 MiB; a 2 MiB chunk is
 * 2 MiB-aligned and advised as huge pages ("hg" in its VmFlags) where the
 * kernel has THP. */
static void test_big_chunks_are_huge_page_aligned(void **state)
{
	gkv__arena a;
	unsigned char *p = NULL;
	char flags[512];
	unsigned nchunks = 0;

	(void)state;
	assert_int_equal(gkv__arena_init(&a), 0);
	while (a.held < 8 * MIB) {
		size_t before = a.held;

		assert_non_null(p = gkv__arena_alloc(&a, 4000));
		/* each new chunk, by the bytes it adds: 64, 128, 256 KiB, then
		 * 2 MiB chunks only (4000-byte blocks never take one of their own) */
		if (a.held != before) {
			size_t want = nchunks < 3 ? (size_t)(64 << 10) << nchunks : 2 * MIB;

			assert_int_equal(a.held - before, want);
			nchunks++;
		}
	}
	assert_true(nchunks > 4);
	assert_int_equal(a.next_size, 2 * MIB);
	/* the current chunk starts at a 2 MiB boundary */
	assert_int_equal(((uintptr_t)a.chunks) % (2 * MIB), 0);
	vm_flags(flags, sizeof(flags), p);
	assert_true(flags[0] != '\0');
	if (thp_offered())
		assert_non_null(strstr(flags, " hg"));
	else
		print_message("transparent huge pages not offered here: advice not checked\n");
	/* no more held than the allocations and one chunk */
	assert_true(a.held <= 8 * MIB + 2 * MIB + 4 * 4096);
	gkv__arena_free(&a);
}

/*
 * A growing table's block: zeroed at every size, reused heap memory
 * included; from 512 KiB on, 2 MiB-aligned and advised as huge pages; an
 * impossible size is refused with an error, not wrapped around.
 */
static void test_huge_calloc(void **state)
{
	static const size_t sizes[] = {1, 4096, (512 << 10) - 1, 512 << 10, 3 * MIB + 5};
	char flags[512];

	(void)state;
	for (int round = 0; round < 2; round++) {
		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			unsigned char *p = gkv__huge_calloc(sizes[k], 1);

			assert_non_null(p);
			for (size_t i = 0; i < sizes[k]; i++)
				if (p[i])
					fail_msg("byte %zu of %zu is %u", i, sizes[k], p[i]);
			if (sizes[k] >= (512 << 10)) {
				assert_int_equal(((uintptr_t)p) % (2 * MIB), 0);
				vm_flags(flags, sizeof(flags), p);
				if (thp_offered())
					assert_non_null(strstr(flags, " hg"));
			}
			/* dirty it, so that the next round's blocks may be this memory */
			memset(p, 0xa5, sizes[k]);
			free(p);
		}
	}
	assert_null(gkv__huge_calloc(SIZE_MAX / 2, 4));
	assert_int_equal(gkv_error_last_code(), GKV_E_NOMEM);
}

#define THREADS 4
#define PER_THREAD 20000

typedef struct {
	gkv__arena *a;
	unsigned id;
	unsigned char *p[PER_THREAD];
} worker;

static void *work(void *arg)
{
	worker *w = arg;

	for (unsigned i = 0; i < PER_THREAD; i++) {
		size_t len = 1 + (i * 7 + w->id) % 300;

		if (!(w->p[i] = gkv__arena_alloc(w->a, len)))
			return NULL;
		uu_fill(w->p[i], len, w->id * PER_THREAD + i);
		if (i % 5 == 4) /* some give back, as aborting batches do */
			gkv__arena_unalloc(w->a, w->p[i], len), w->p[i] = NULL;
	}
	return w;
}

/* Threads allocating and giving back at once never share a byte. */
static void test_threads_share_it(void **state)
{
	static worker w[THREADS];
	pthread_t th[THREADS];
	gkv__arena a;

	(void)state;
	assert_int_equal(gkv__arena_init(&a), 0);
	for (unsigned t = 0; t < THREADS; t++) {
		w[t].a = &a;
		w[t].id = t;
		assert_int_equal(pthread_create(&th[t], NULL, work, &w[t]), 0);
	}
	for (unsigned t = 0; t < THREADS; t++) {
		void *r;

		assert_int_equal(pthread_join(th[t], &r), 0);
		assert_non_null(r);
	}
	for (unsigned t = 0; t < THREADS; t++)
		for (unsigned i = 0; i < PER_THREAD; i++)
			if (w[t].p[i])
				assert_true(
				    uu_holds(w[t].p[i], 1 + (i * 7 + t) % 300, t * PER_THREAD + i));
	gkv__arena_free(&a);
}

/* Under AddressSanitizer, a byte written past an allocation kills the
 * process that wrote it, as past a malloc block. */
static void test_overrun_is_caught_under_asan(void **state)
{
#ifdef GKV__ASAN
	pid_t pid;
	int status;

	(void)state;
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		gkv__arena a;
		volatile unsigned char *p;

		gkv__arena_init(&a);
		p = gkv__arena_alloc(&a, 24);
		gkv__arena_alloc(&a, 24);
		freopen("/dev/null", "w", stderr);
		p[24] = 1; /* one past the end */
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 0);
#else
	(void)state;
	skip();
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_allocations_are_aligned_apart_and_kept),
	    cmocka_unit_test(test_unalloc_reuses_the_last),
	    cmocka_unit_test(test_shrink_the_last),
	    cmocka_unit_test(test_large_allocations_stand_alone),
	    cmocka_unit_test(test_big_chunks_are_huge_page_aligned),
	    cmocka_unit_test(test_huge_calloc),
	    cmocka_unit_test(test_threads_share_it),
	    cmocka_unit_test(test_overrun_is_caught_under_asan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
