/*
 * test_tree_walk.c -- gkv_tree_walk's costs and limits: it reads trees
 * and never a value (counted by a forwarding backend), it walks a tree
 * as deep as git allows without recursion, and a stored tree nested
 * deeper than that is damage.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "unit_util.h"

static int count(const char *path, gkv_kind kind, const gkv_oid *id, void *payload)
{
	(void)path;
	(void)kind;
	(void)id;
	(*(size_t *)payload)++;
	return 0;
}

static void test_reads_no_value(void **state)
{
	gkv_options *opts;
	uu_counting *c;
	gkv_repo *repo;
	gkv_store *s;
	gkv_tree *t;
	gkv_oid head;
	char path[64];
	size_t n = 0, reads;

	(void)state;
	assert_ok(gkv_options_new(&opts));
	assert_ok(gkv_options_set_cache_size(opts, 0)); /* every tree read from the backend */
	repo = uu_open_counting(&c, opts);
	gkv_options_free(opts);
	assert_ok(gkv_store_open_branch(&s, repo, "main"));
	{
		gkv_txn *txn;

		assert_ok(gkv_txn_begin(&txn, s));
		for (int d = 0; d < 10; d++)
			for (int f = 0; f < 20; f++) {
				snprintf(path, sizeof(path), "dir%d/sub/file%d", d, f);
				assert_ok(gkv_txn_set(txn, path, path, strlen(path)));
			}
		assert_ok(gkv_txn_commit(&head, txn, GKV_TXN_FAIL, NULL));
		gkv_txn_free(txn);
	}
	gkv_store_free(s);
	assert_ok(gkv_store_open_commit(&s, repo, &head));
	assert_ok(gkv_store_tree(&t, s));
	atomic_store(&c->reads, 0);
	atomic_store(&c->tree_reads, 0);
	assert_ok(gkv_tree_walk(t, "", 1, count, &n));
	assert_int_equal(n, 10 + 10 + 200);
	reads = atomic_load(&c->reads);
	assert_int_equal(reads, atomic_load(&c->tree_reads));
	assert_int_equal(reads, 20); /* dirN and dirN/sub; the root was loaded */
	gkv_tree_free(t);
	gkv_store_free(s);
	gkv_repo_free(repo);
}

/* A chain of depth trees "d/d/.../d" with a value at the bottom, written
 * raw; the root's id in out. */
static void chain(gkv_oid *out, gkv_backend *b, size_t depth)
{
	uu_treebuf tb;
	gkv_oid id;

	uu_raw_put(&id, b, GKV_OBJ_BLOB, "bottom", 6);
	memset(&tb, 0, sizeof(tb));
	uu_tree_entry(&tb, "100644", "v", &id);
	uu_raw_put(&id, b, GKV_OBJ_TREE, tb.data, tb.len);
	for (size_t i = 1; i < depth; i++) {
		memset(&tb, 0, sizeof(tb));
		uu_tree_entry(&tb, "40000", "d", &id);
		uu_raw_put(&id, b, GKV_OBJ_TREE, tb.data, tb.len);
	}
	*out = id;
}

static void test_depth(void **state)
{
	gkv_repo *repo = uu_open_mem();
	gkv_backend *b = gkv_repo_backend(repo);
	gkv_tree *t;
	gkv_oid root;
	size_t n = 0;

	(void)state;
	/* 4096 levels below the root: the deepest path (4096 segments) */
	chain(&root, b, 4096);
	assert_ok(gkv_tree_lookup(&t, repo, &root));
	assert_ok(gkv_tree_walk(t, "", 1, count, &n));
	assert_int_equal(n, 4096);
	gkv_tree_free(t);
	/* one more level is damage, found without recursing into it */
	chain(&root, b, 4098);
	assert_ok(gkv_tree_lookup(&t, repo, &root));
	assert_rc(GKV_E_CORRUPT, gkv_tree_walk(t, "", 0, count, &n));
	gkv_tree_free(t);
	gkv_repo_free(repo);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reads_no_value),
	    cmocka_unit_test(test_depth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
