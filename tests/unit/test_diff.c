/*
 * test_diff.c -- unit tests of store/diff.c: what changed between two
 * trees, value by value.
 *
 * What is held: added / removed / changed entries carry the right old
 * and new values and kinds (an empty value is present, not NULL); a
 * value replaced by a directory of the same name (and back) is a removal
 * and additions; a mode change alone is a change; submodules diff by
 * their commit id; entries come sorted by full path bytes ("a.txt"
 * before "a/b" before "a0"); subtrees with equal ids are skipped without
 * being read (counted by a forwarding backend, with no tree cache);
 * the internal prefix and filter used by path watches.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "diff.h"
#include "repo.h"
#include "unit_util.h"

static gkv_tree *build(gkv_repo *repo, const char *const *kv, size_t n)
{
	gkv_tree *t, *u;

	assert_ok(gkv_tree_empty(&t, repo));
	for (size_t i = 0; i < n; i += 2) {
		assert_ok(gkv_tree_set(&u, t, kv[i], kv[i + 1], strlen(kv[i + 1])));
		gkv_tree_free(t);
		t = u;
	}
	return t;
}

static void assert_entry(const gkv_diff *d, size_t i, const char *path, gkv_diff_op op,
    const char *old_value, const char *new_value)
{
	const void *v;
	size_t len;

	assert_string_equal(path, gkv_diff_path(d, i));
	assert_int_equal(op, gkv_diff_op_at(d, i));
	v = gkv_diff_old_value(d, i, &len);
	if (!old_value) {
		assert_null(v);
		assert_int_equal(0, len);
		assert_int_equal(GKV_KIND_NONE, gkv_diff_old_kind(d, i));
	} else {
		assert_non_null(v);
		assert_int_equal(strlen(old_value), len);
		assert_memory_equal(old_value, v, len);
	}
	v = gkv_diff_new_value(d, i, &len);
	if (!new_value) {
		assert_null(v);
		assert_int_equal(0, len);
		assert_int_equal(GKV_KIND_NONE, gkv_diff_new_kind(d, i));
	} else {
		assert_non_null(v);
		assert_int_equal(strlen(new_value), len);
		assert_memory_equal(new_value, v, len);
	}
}

static void test_added_removed_changed(void **state)
{
	static const char *const a[] = {"same", "s", "gone", "g", "chg", "old", "d/keep", "k",
	    "d/chg", "1", "d/gone", "x", "empty", ""};
	static const char *const b[] = {"same", "s", "new", "n", "chg", "new!", "d/keep", "k",
	    "d/chg", "2", "d/new/deep", "dd", "empty", "", "e2", ""};
	gkv_repo *repo = uu_open_mem();
	gkv_tree *ta = build(repo, a, 14), *tb = build(repo, b, 16);
	gkv_diff *d;

	(void)state;
	assert_ok(gkv_diff_trees(&d, ta, tb));
	assert_int_equal(7, gkv_diff_count(d));
	assert_entry(d, 0, "chg", GKV_DIFF_CHANGED, "old", "new!");
	assert_entry(d, 1, "d/chg", GKV_DIFF_CHANGED, "1", "2");
	assert_entry(d, 2, "d/gone", GKV_DIFF_REMOVED, "x", NULL);
	assert_entry(d, 3, "d/new/deep", GKV_DIFF_ADDED, NULL, "dd");
	assert_entry(d, 4, "e2", GKV_DIFF_ADDED, NULL, "");
	assert_entry(d, 5, "gone", GKV_DIFF_REMOVED, "g", NULL);
	assert_entry(d, 6, "new", GKV_DIFF_ADDED, NULL, "n");
	assert_int_equal(GKV_KIND_VALUE, gkv_diff_old_kind(d, 0));
	assert_int_equal(GKV_KIND_VALUE, gkv_diff_new_kind(d, 0));
	assert_int_equal(GKV_KIND_VALUE, gkv_diff_new_kind(d, 4));
	/* Out of range: nothing. */
	size_t len = 99;

	assert_null(gkv_diff_path(d, 7));
	assert_null(gkv_diff_old_value(d, 7, &len));
	assert_int_equal(0, len);
	assert_int_equal(0, gkv_diff_op_at(d, 7));
	assert_int_equal(GKV_KIND_NONE, gkv_diff_new_kind(d, 7));
	gkv_diff_free(d);

	/* The other way round: additions and removals swap. */
	assert_ok(gkv_diff_trees(&d, tb, ta));
	assert_int_equal(7, gkv_diff_count(d));
	assert_entry(d, 0, "chg", GKV_DIFF_CHANGED, "new!", "old");
	assert_entry(d, 3, "d/new/deep", GKV_DIFF_REMOVED, "dd", NULL);
	gkv_diff_free(d);

	/* Equal trees, and a tree with itself: empty diffs. */
	assert_ok(gkv_diff_trees(&d, ta, ta));
	assert_int_equal(0, gkv_diff_count(d));
	gkv_diff_free(d);
	gkv_tree_free(ta);
	gkv_tree_free(tb);
	gkv_repo_free(repo);
}

static void test_value_becomes_directory(void **state)
{
	static const char *const a[] = {"a", "was a value", "a.txt", "t"};
	static const char *const b[] = {"a/x", "1", "a/y/z", "2", "a.txt", "t"};
	gkv_repo *repo = uu_open_mem();
	gkv_tree *ta = build(repo, a, 4), *tb = build(repo, b, 6);
	gkv_diff *d;

	(void)state;
	assert_ok(gkv_diff_trees(&d, ta, tb));
	assert_int_equal(3, gkv_diff_count(d));
	assert_entry(d, 0, "a", GKV_DIFF_REMOVED, "was a value", NULL);
	assert_entry(d, 1, "a/x", GKV_DIFF_ADDED, NULL, "1");
	assert_entry(d, 2, "a/y/z", GKV_DIFF_ADDED, NULL, "2");
	gkv_diff_free(d);
	/* And a directory becoming a value. */
	assert_ok(gkv_diff_trees(&d, tb, ta));
	assert_int_equal(3, gkv_diff_count(d));
	assert_entry(d, 0, "a", GKV_DIFF_ADDED, NULL, "was a value");
	assert_entry(d, 1, "a/x", GKV_DIFF_REMOVED, "1", NULL);
	assert_entry(d, 2, "a/y/z", GKV_DIFF_REMOVED, "2", NULL);
	gkv_diff_free(d);
	gkv_tree_free(ta);
	gkv_tree_free(tb);
	gkv_repo_free(repo);
}

static void test_order_is_path_bytes(void **state)
{
	static const char *const b[] = {"a0", "1", "a/b", "2", "a.txt", "3", "a!", "4", "a/b.c/d", "5",
	    "a/b-", "6", "a-/x", "7"};
	static const char *const order[] = {"a!", "a-/x", "a.txt", "a/b", "a/b-", "a/b.c/d", "a0"};
	gkv_repo *repo = uu_open_mem();
	gkv_tree *ta, *tb = build(repo, b, 14);
	gkv_diff *d;

	(void)state;
	assert_ok(gkv_tree_empty(&ta, repo));
	assert_ok(gkv_diff_trees(&d, ta, tb));
	assert_int_equal(7, gkv_diff_count(d));
	for (size_t i = 0; i < 7; i++) {
		assert_string_equal(order[i], gkv_diff_path(d, i));
		assert_int_equal(GKV_DIFF_ADDED, gkv_diff_op_at(d, i));
	}
	gkv_diff_free(d);
	gkv_tree_free(ta);
	gkv_tree_free(tb);
	gkv_repo_free(repo);
}

/* Modes gitkv does not write: a mode change is a change; submodules diff by id. */
static void test_modes_and_submodules(void **state)
{
	gkv_repo *repo = uu_open_mem();
	gkv_oid blob, s1 = uu_oid("1111111111111111111111111111111111111111");
	gkv_oid s2 = uu_oid("2222222222222222222222222222222222222222"), ta_id, tb_id;
	uu_treebuf a = {{0}, 0}, b = {{0}, 0};
	gkv_tree *ta, *tb;
	gkv_diff *d;
	const void *v;
	size_t len;

	(void)state;
	uu_raw_put(&blob, repo->backend, GKV_OBJ_BLOB, "run", 3);
	uu_tree_entry(&a, "100755", "script", &blob);
	uu_tree_entry(&a, "160000", "sub", &s1);
	uu_tree_entry(&b, "100644", "script", &blob);
	uu_tree_entry(&b, "160000", "sub", &s2);
	uu_raw_put(&ta_id, repo->backend, GKV_OBJ_TREE, a.data, a.len);
	uu_raw_put(&tb_id, repo->backend, GKV_OBJ_TREE, b.data, b.len);
	assert_ok(gkv_tree_lookup(&ta, repo, &ta_id));
	assert_ok(gkv_tree_lookup(&tb, repo, &tb_id));
	assert_ok(gkv_diff_trees(&d, ta, tb));
	assert_int_equal(2, gkv_diff_count(d));
	assert_entry(d, 0, "script", GKV_DIFF_CHANGED, "run", "run");
	assert_int_equal(GKV_KIND_EXEC, gkv_diff_old_kind(d, 0));
	assert_int_equal(GKV_KIND_VALUE, gkv_diff_new_kind(d, 0));
	assert_string_equal("sub", gkv_diff_path(d, 1));
	assert_int_equal(GKV_DIFF_CHANGED, gkv_diff_op_at(d, 1));
	assert_int_equal(GKV_KIND_SUBMODULE, gkv_diff_old_kind(d, 1));
	v = gkv_diff_old_value(d, 1, &len);
	assert_int_equal(GKV_OID_RAWSZ, len);
	assert_memory_equal(s1.id, v, len);
	v = gkv_diff_new_value(d, 1, &len);
	assert_memory_equal(s2.id, v, len);
	gkv_diff_free(d);
	gkv_tree_free(ta);
	gkv_tree_free(tb);
	gkv_repo_free(repo);
}

/* ------------------------------------------------------- laziness */

static void test_unchanged_subtrees_not_read(void **state)
{
	gkv_options *opts;
	uu_counting *counter;
	gkv_repo *repo;
	gkv_store *s;
	gkv_txn *txn;
	gkv_oid c1, c2;
	gkv_diff *d;
	char path[64];

	(void)state;
	assert_ok(gkv_options_new(&opts));
	assert_ok(gkv_options_set_cache_size(opts, 0)); /* every load is a read */
	repo = uu_open_counting(&counter, opts);
	gkv_options_free(opts);
	assert_ok(gkv_store_open_branch(&s, repo, "main"));
	assert_ok(gkv_txn_begin(&txn, s));
	for (int i = 0; i < 50; i++) {
		snprintf(path, sizeof(path), "big/d%d/e/v", i);
		assert_ok(gkv_txn_set(txn, path, path, strlen(path)));
	}
	assert_ok(gkv_txn_set(txn, "small/x", "1", 1));
	assert_ok(gkv_txn_commit(&c1, txn, GKV_TXN_FAIL, NULL));
	gkv_txn_free(txn);
	assert_ok(gkv_store_set(&c2, s, "small/x", "2", 1, NULL));

	atomic_store(&counter->reads, 0);
	atomic_store(&counter->tree_reads, 0);
	assert_ok(gkv_diff_commits(&d, repo, &c1, &c2));
	assert_int_equal(1, gkv_diff_count(d));
	assert_entry(d, 0, "small/x", GKV_DIFF_CHANGED, "1", "2");
	gkv_diff_free(d);
	/* Two roots and two small/: nothing under big/. */
	assert_int_equal(4, atomic_load(&counter->tree_reads));
	/* Plus two commits and the two values. */
	assert_true(atomic_load(&counter->reads) <= 8);

	/* A stored tree against an in-memory change of it: only the changed path is read. */
	gkv_tree *base, *changed;

	assert_ok(gkv_store_tree(&base, s));
	assert_ok(gkv_tree_set(&changed, base, "big/d7/e/v", "new", 3));
	atomic_store(&counter->tree_reads, 0);
	assert_ok(gkv_diff_trees(&d, base, changed));
	assert_int_equal(1, gkv_diff_count(d));
	assert_entry(d, 0, "big/d7/e/v", GKV_DIFF_CHANGED, "big/d7/e/v", "new");
	gkv_diff_free(d);
	/* big, big/d7, big/d7/e on the stored side, at most. */
	assert_true(atomic_load(&counter->tree_reads) <= 3);
	gkv_tree_free(changed);
	gkv_tree_free(base);
	gkv_store_free(s);
	gkv_repo_free(repo);
}

/* ------------------------------------------------------ internals */

static void test_prefix_and_filter(void **state)
{
	static const char *const bb[] = {"a/x", "2", "a/y/z", "6", "ab", "3", "a.txt", "4", "b/a", "5"};
	gkv_repo *repo = uu_open_mem();
	gkv_tree *ta, *tb;
	gkv_diff *d;

	(void)state;
	assert_ok(gkv_tree_empty(&ta, repo));
	tb = build(repo, bb, 10);
	assert_ok(gkv__diff_at(&d, ta, tb, "p/q"));
	assert_int_equal(5, gkv_diff_count(d));
	assert_string_equal("p/q/a.txt", gkv_diff_path(d, 0));
	assert_string_equal("p/q/a/x", gkv_diff_path(d, 1));
	gkv_diff_free(d);
	/* NULL sides mean empty. */
	assert_ok(gkv__diff_at(&d, NULL, tb, ""));
	assert_int_equal(5, gkv_diff_count(d));
	gkv__diff_filter(d, "a");
	assert_int_equal(2, gkv_diff_count(d));
	assert_string_equal("a/x", gkv_diff_path(d, 0));
	assert_string_equal("a/y/z", gkv_diff_path(d, 1));
	gkv__diff_filter(d, "a/y/z");
	assert_int_equal(1, gkv_diff_count(d));
	gkv__diff_filter(d, "a/y/z/deeper");
	assert_int_equal(0, gkv_diff_count(d));
	gkv_diff_free(d);
	assert_ok(gkv__diff_at(&d, tb, NULL, ""));
	gkv__diff_filter(d, "");
	assert_int_equal(5, gkv_diff_count(d));
	assert_int_equal(GKV_DIFF_REMOVED, gkv_diff_op_at(d, 4));
	gkv_diff_free(d);
	gkv_tree_free(ta);
	gkv_tree_free(tb);
	gkv_repo_free(repo);
}

static void test_bad_arguments(void **state)
{
	gkv_repo *repo = uu_open_mem(), *other = uu_open_mem();
	gkv_tree *a, *b;
	gkv_diff *d;
	gkv_oid tid;
	gkv_store *s;
	gkv_oid c;

	(void)state;
	assert_ok(gkv_tree_empty(&a, repo));
	assert_ok(gkv_tree_empty(&b, other));
	assert_rc(GKV_E_INVALID, gkv_diff_trees(&d, a, b));
	assert_rc(GKV_E_INVALID, gkv_diff_trees(&d, a, NULL));
	assert_ok(gkv_store_open_branch(&s, repo, "main"));
	assert_ok(gkv_store_set(&c, s, "k", "v", 1, NULL));
	assert_ok(gkv_tree_write(&tid, a));
	assert_rc(GKV_E_INVALID, gkv_diff_commits(&d, repo, &c, &tid));
	assert_ok(gkv_diff_commits(&d, repo, &c, &c));
	assert_int_equal(0, gkv_diff_count(d));
	gkv_diff_free(d);
	gkv_diff_free(NULL);
	assert_int_equal(0, gkv_diff_count(NULL));
	gkv_store_free(s);
	gkv_tree_free(a);
	gkv_tree_free(b);
	gkv_repo_free(other);
	gkv_repo_free(repo);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_added_removed_changed),
	    cmocka_unit_test(test_value_becomes_directory),
	    cmocka_unit_test(test_order_is_path_bytes),
	    cmocka_unit_test(test_modes_and_submodules),
	    cmocka_unit_test(test_unchanged_subtrees_not_read),
	    cmocka_unit_test(test_prefix_and_filter),
	    cmocka_unit_test(test_bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
