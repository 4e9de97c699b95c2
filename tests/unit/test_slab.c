/*
 * test_slab.c -- the memory of a repo's trees (util/slab.c): blocks of
 * every size are aligned, apart and kept; a freed block is the next one
 * of its class; realloc keeps the bytes across classes and past the
 * largest; threads allocate and free at once; the repo's trees live in
 * it (a bulk load, freed, leaves its memory for the next).
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

#include <cmocka.h>

#include "slab.h"
#include "unit_util.h"

#ifdef GKV__ASAN
#define PLAIN 1 /* every block is malloc's: class reuse is not checked */
#endif

/* Every size from 0 to past the largest class. */
static void test_blocks_are_aligned_apart_and_kept(void **state)
{
	enum { N = 5000 };
	static unsigned char *p[N];
	gkv__slab s;

	(void)state;
	assert_int_equal(gkv__slab_init(&s), 0);
	for (unsigned i = 0; i < N; i++) {
		p[i] = gkv__slab_alloc(&s, i);
		assert_non_null(p[i]);
		assert_int_equal((uintptr_t)p[i] % 16, 0);
		uu_fill(p[i], i, i);
	}
	for (unsigned i = 0; i < N; i++) {
		assert_true(uu_holds(p[i], i, i));
		gkv__slab_free(p[i]);
	}
	gkv__slab_free(NULL);
	gkv__slab_free_all(&s);
	gkv__slab_free_all(&s); /* twice is harmless */
}

/* A freed block is handed out again for a size of its class, and not
 * for another class. */
static void test_freed_blocks_are_reused(void **state)
{
	gkv__slab s;
	void *a, *b, *c, *d;

	(void)state;
	assert_int_equal(gkv__slab_init(&s), 0);
	a = gkv__slab_alloc(&s, 40);
	b = gkv__slab_alloc(&s, 40);
	assert_ptr_not_equal(a, b);
	gkv__slab_free(a);
	c = gkv__slab_alloc(&s, 600); /* another class: not a */
	d = gkv__slab_alloc(&s, 44);  /* the same class (48 + header): a again */
#ifndef PLAIN
	assert_ptr_not_equal(c, a);
	assert_ptr_equal(d, a);
#endif
	gkv__slab_free(b);
	gkv__slab_free(c);
	gkv__slab_free(d);
	gkv__slab_free_all(&s);
}

/* realloc keeps the bytes: within a class, to a bigger class, past the
 * largest class (malloc's), and back down. */
static void test_realloc_keeps_the_bytes(void **state)
{
	gkv__slab s;
	unsigned char *p, *q;

	(void)state;
	assert_int_equal(gkv__slab_init(&s), 0);
	assert_non_null(p = gkv__slab_realloc(&s, NULL, 10));
	uu_fill(p, 10, 1);
	assert_non_null(q = gkv__slab_realloc(&s, p, 12));
#ifndef PLAIN
	assert_ptr_equal(q, p); /* 12 + 16 still fits the 32-byte class */
#endif
	assert_true(uu_holds(q, 10, 1));
	uu_fill(q, 12, 2);
	size_t sizes[] = {100, 1000, 4000, 10000, 300000, 20000, 200, 8};
	size_t have = 12;
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(*sizes); i++) {
		size_t keep = have < sizes[i] ? have : sizes[i];

		assert_non_null(p = gkv__slab_realloc(&s, q, sizes[i]));
		assert_true(uu_holds(p, keep, 2 + i));
		uu_fill(p, sizes[i], 3 + i);
		have = sizes[i];
		q = p;
	}
	gkv__slab_free(q);
	gkv__slab_free_all(&s);
}

static void test_strndup(void **state)
{
	gkv__slab s;
	char *p;

	(void)state;
	assert_int_equal(gkv__slab_init(&s), 0);
	assert_non_null(p = gkv__slab_strndup(&s, "k1234/rest", 5));
	assert_string_equal(p, "k1234");
	gkv__slab_free(p);
	gkv__slab_free_all(&s);
}

#define THREADS 4
#define ROUNDS 40000

static void *churn(void *arg)
{
	gkv__slab *s = arg;
	unsigned char *live[64] = {0};
	size_t len[64] = {0};
	unsigned seed = (unsigned)(uintptr_t)&live;

	for (unsigned i = 0; i < ROUNDS; i++) {
		unsigned k = (i * 2654435761u + seed) % 64;

		if (live[k]) {
			if (!uu_holds(live[k], len[k], k + (unsigned)len[k]))
				return NULL;
			gkv__slab_free(live[k]);
		}
		len[k] = 1 + (i * 37 + seed) % 3000;
		if (!(live[k] = gkv__slab_alloc(s, len[k])))
			return NULL;
		uu_fill(live[k], len[k], k + (unsigned)len[k]);
	}
	for (unsigned k = 0; k < 64; k++)
		gkv__slab_free(live[k]);
	return s;
}

/* Threads allocating and freeing at once: no block is handed out twice
 * (each thread checks its blocks before freeing them). */
static void test_threads(void **state)
{
	pthread_t th[THREADS];
	gkv__slab s;

	(void)state;
	assert_int_equal(gkv__slab_init(&s), 0);
	for (unsigned t = 0; t < THREADS; t++)
		assert_int_equal(pthread_create(&th[t], NULL, churn, &s), 0);
	for (unsigned t = 0; t < THREADS; t++) {
		void *r;

		assert_int_equal(pthread_join(th[t], &r), 0);
		assert_ptr_equal(r, &s);
	}
	gkv__slab_free_all(&s);
}

/* A repo's trees: a bulk load in a transaction, freed, then another;
 * every value reads back (the second load's nodes reuse the first's
 * blocks). */
static void test_repo_trees_live_in_it(void **state)
{
	gkv_repo *repo;
	gkv_store *s;
	gkv_txn *txn;
	char path[64], val[32];

	(void)state;
	assert_int_equal(gkv_repo_open(&repo, "mem:", NULL), 0);
	assert_int_equal(gkv_store_open_branch(&s, repo, "main"), 0);
	for (int round = 0; round < 2; round++) {
		assert_int_equal(gkv_txn_begin(&txn, s), 0);
		for (int i = 0; i < 5000; i++) {
			snprintf(path, sizeof(path), "d%02d/r%d/k%d", i % 37, round, i);
			snprintf(val, sizeof(val), "v%d.%d", round, i);
			assert_int_equal(gkv_txn_set(txn, path, val, strlen(val)), 0);
		}
		assert_int_equal(gkv_txn_commit(NULL, txn, GKV_TXN_FAIL, NULL), 0);
		gkv_txn_free(txn);
	}
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 5000; i += 7) {
			gkv_buf b = {0};

			snprintf(path, sizeof(path), "d%02d/r%d/k%d", i % 37, round, i);
			snprintf(val, sizeof(val), "v%d.%d", round, i);
			assert_int_equal(gkv_store_get(&b, s, path), 0);
			assert_int_equal(b.size, strlen(val));
			assert_memory_equal(b.ptr, val, b.size);
			gkv_buf_dispose(&b);
		}
	gkv_store_free(s);
	gkv_repo_free(repo);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_blocks_are_aligned_apart_and_kept),
	    cmocka_unit_test(test_freed_blocks_are_reused),
	    cmocka_unit_test(test_realloc_keeps_the_bytes),
	    cmocka_unit_test(test_strndup),
	    cmocka_unit_test(test_threads),
	    cmocka_unit_test(test_repo_trees_live_in_it),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
