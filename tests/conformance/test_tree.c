/*
 * test_tree.c -- trees as persistent values: a change returns a new tree
 * and leaves the old one intact, unchanged subtrees are shared (same id),
 * listings and folds come in byte order, and trees move between stores of
 * the same repo and through the object store (write, lookup).
 */
#include "conformance.h"

#include <stdio.h>
#include <stdlib.h>

static gkv_tree *tree_with(gkv_repo *repo, const char *const *kv, size_t n)
{
	gkv_tree *t = NULL, *next = NULL;

	assert_ok(gkv_tree_empty(&t, repo));
	for (size_t i = 0; i < n; i++) {
		assert_ok(gkv_tree_set(&next, t, kv[2 * i], kv[2 * i + 1], strlen(kv[2 * i + 1])));
		gkv_tree_free(t);
		t = next;
	}
	return t;
}

static void old_trees_are_unchanged(void **state)
{
	conf_env *env = *state;
	gkv_tree *t0 = NULL, *t1 = NULL, *t2 = NULL, *t3 = NULL;
	gkv_buf buf = {0};

	assert_ok(gkv_tree_empty(&t0, env->repo));
	assert_true(gkv_tree_is_empty(t0));
	assert_ok(gkv_tree_set(&t1, t0, "a/b", "1", 1));
	assert_ok(gkv_tree_set(&t2, t1, "a/b", "2", 1));
	assert_ok(gkv_tree_remove(&t3, t2, "a/b"));
	assert_true(gkv_tree_is_empty(t0));
	assert_rc(GKV_E_NOTFOUND, gkv_tree_get(&buf, t0, "a/b"));
	assert_tree_value(t1, "a/b", "1");
	assert_tree_value(t2, "a/b", "2");
	assert_true(gkv_tree_is_empty(t3));
	assert_false(gkv_tree_is_empty(t1));
	assert_true(gkv_tree_equal(t0, t3));
	assert_false(gkv_tree_equal(t1, t2));
	gkv_tree_free(t3);
	gkv_tree_free(t2);
	gkv_tree_free(t1);
	gkv_tree_free(t0);
}

static void unchanged_subtrees_are_shared(void **state)
{
	conf_env *env = *state;
	static const char *const kv[] = {"x/big/1", "a",   "x/big/2", "b",     "x/other",
					 "c",	    "y/k", "old",     "y/z/w", "w"};
	gkv_tree *t = tree_with(env->repo, kv, 5), *t2 = NULL, *sx = NULL, *sx2 = NULL;
	gkv_tree *syz = NULL, *syz2 = NULL, *same = NULL;
	gkv_oid a, b;

	assert_ok(gkv_tree_set(&t2, t, "y/k", "new", 3));
	assert_ok(gkv_tree_subtree(&sx, t, "x"));
	assert_ok(gkv_tree_subtree(&sx2, t2, "x"));
	assert_ok(gkv_tree_id(&a, sx));
	assert_ok(gkv_tree_id(&b, sx2));
	assert_oid_eq(&a, &b);
	assert_true(gkv_tree_equal(sx, sx2));
	assert_ok(gkv_tree_subtree(&syz, t, "y/z"));
	assert_ok(gkv_tree_subtree(&syz2, t2, "y/z"));
	assert_true(gkv_tree_equal(syz, syz2));
	assert_ok(gkv_tree_id(&a, t));
	assert_ok(gkv_tree_id(&b, t2));
	assert_false(gkv_oid_equal(&a, &b));
	/* setting what is there gives an equal tree */
	assert_ok(gkv_tree_set(&same, t, "y/k", "old", 3));
	assert_true(gkv_tree_equal(same, t));
	assert_ok(gkv_tree_id(&b, same));
	assert_oid_eq(&a, &b);
	gkv_tree_free(same);
	gkv_tree_free(syz);
	gkv_tree_free(syz2);
	gkv_tree_free(sx);
	gkv_tree_free(sx2);
	gkv_tree_free(t2);
	gkv_tree_free(t);
}

static void equality_ignores_construction_order(void **state)
{
	conf_env *env = *state;
	static const char *const kv1[] = {"a", "1", "b/c", "2", "b/d", "3", "e", "4"};
	static const char *const kv2[] = {"e", "4", "b/d", "3", "a", "x", "b/c", "2", "a", "1"};
	static const char *const kv3[] = {"a", "1", "b/c", "2", "b/d", "3", "e", "5"};
	gkv_tree *t1 = tree_with(env->repo, kv1, 4), *t2 = tree_with(env->repo, kv2, 5);
	gkv_tree *t3 = tree_with(env->repo, kv3, 4), *dup;
	gkv_oid a, b;

	assert_true(gkv_tree_equal(t1, t2));
	assert_false(gkv_tree_equal(t1, t3));
	assert_ok(gkv_tree_id(&a, t1));
	assert_ok(gkv_tree_id(&b, t2));
	assert_oid_eq(&a, &b);
	dup = gkv_tree_dup(t1);
	assert_non_null(dup);
	gkv_tree_free(t1);
	assert_true(gkv_tree_equal(dup, t2));
	assert_tree_value(dup, "b/d", "3");
	gkv_tree_free(dup);
	gkv_tree_free(t2);
	gkv_tree_free(t3);
}

struct fold_log {
	char paths[16][32];
	char values[16][8];
	gkv_kind kinds[16];
	size_t n;
	int stop_at;
};

static int fold_cb(const char *path, gkv_kind kind, const void *value, size_t len, void *payload)
{
	struct fold_log *log = payload;

	if (log->n >= 16)
		return -1000;
	snprintf(log->paths[log->n], sizeof(log->paths[0]), "%s", path);
	snprintf(log->values[log->n], sizeof(log->values[0]), "%.*s", (int)len,
		 (const char *)value);
	log->kinds[log->n] = kind;
	log->n++;
	return (int)log->n == log->stop_at ? 7 : 0;
}

static void fold_in_byte_order(void **state)
{
	conf_env *env = *state;
	static const char *const kv[] = {"b", "6",   "a/z", "4",   "ab", "5",	  "a/b",
					 "3", "a.b", "2",   "a-b", "1",	 "a/y/q", "x"};
	static const char *const order[] = {"a-b", "a.b", "a/b", "a/y/q", "a/z", "ab", "b"};
	static const char *const values[] = {"1", "2", "3", "x", "4", "5", "6"};
	gkv_tree *t = tree_with(env->repo, kv, 7);
	struct fold_log log;

	memset(&log, 0, sizeof(log));
	assert_ok(gkv_tree_fold(t, "", fold_cb, &log));
	assert_int_equal(log.n, 7);
	for (size_t i = 0; i < 7; i++) {
		assert_string_equal(log.paths[i], order[i]);
		assert_string_equal(log.values[i], values[i]);
		assert_int_equal(log.kinds[i], GKV_KIND_VALUE);
	}
	/* under a prefix: only that subtree, with full paths */
	memset(&log, 0, sizeof(log));
	assert_ok(gkv_tree_fold(t, "a", fold_cb, &log));
	assert_int_equal(log.n, 3);
	assert_string_equal(log.paths[0], "a/b");
	assert_string_equal(log.paths[1], "a/y/q");
	assert_string_equal(log.paths[2], "a/z");
	/* a non-zero return stops the walk and is returned */
	memset(&log, 0, sizeof(log));
	log.stop_at = 2;
	assert_int_equal(gkv_tree_fold(t, "", fold_cb, &log), 7);
	assert_int_equal(log.n, 2);
	gkv_tree_free(t);
}

static void list_names_and_kinds(void **state)
{
	conf_env *env = *state;
	/* "a" is a directory: in git's tree order it sorts as "a/", after
	 * "a-b" and "a.b"; a listing is sorted by name bytes, so it comes first */
	static const char *const kv[] = {"a0", "1", "a.b", "2", "a/x", "3", "a-b", "4"};
	static const char *const names[] = {"a", "a-b", "a.b", "a0"};
	static const gkv_kind kinds[] = {GKV_KIND_DIR, GKV_KIND_VALUE, GKV_KIND_VALUE,
					 GKV_KIND_VALUE};
	gkv_tree *t = tree_with(env->repo, kv, 4);
	gkv_list *list = NULL;
	gkv_kind kind;

	assert_ok(gkv_tree_list(&list, t, ""));
	assert_int_equal(gkv_list_count(list), 4);
	for (size_t i = 0; i < 4; i++) {
		assert_string_equal(gkv_list_name(list, i), names[i]);
		assert_int_equal(gkv_list_kind(list, i), kinds[i]);
	}
	gkv_list_free(list);
	list = NULL;
	assert_rc(GKV_E_NOTFOUND, gkv_tree_list(&list, t, "a0"));
	assert_rc(GKV_E_NOTFOUND, gkv_tree_list(&list, t, "nope"));
	assert_ok(gkv_tree_kind(&kind, t, "a"));
	assert_int_equal(kind, GKV_KIND_DIR);
	assert_ok(gkv_tree_kind(&kind, t, "a/x"));
	assert_int_equal(kind, GKV_KIND_VALUE);
	assert_ok(gkv_tree_kind(&kind, t, "a/x/y"));
	assert_int_equal(kind, GKV_KIND_NONE);
	gkv_tree_free(t);
}

static void write_then_lookup(void **state)
{
	conf_env *env = *state;
	static const char *const kv[] = {"d/e/f", "deep", "d/g", "mid", "top", "t"};
	gkv_tree *t = tree_with(env->repo, kv, 3), *back = NULL, *sub = NULL;
	gkv_oid id, id2, sub_id, missing, blob;
	int exists = -1;

	assert_ok(gkv_tree_id(&id, t));
	assert_ok(gkv_repo_object_exists(&exists, env->repo, &id));
	assert_int_equal(exists, 0); /* gkv_tree_id writes nothing */
	assert_ok(gkv_tree_write(&id2, t));
	assert_oid_eq(&id, &id2);
	assert_ok(gkv_repo_object_exists(&exists, env->repo, &id));
	assert_int_equal(exists, 1);
	assert_ok(gkv_tree_subtree(&sub, t, "d/e"));
	assert_ok(gkv_tree_id(&sub_id, sub));
	assert_ok(gkv_repo_object_exists(&exists, env->repo, &sub_id));
	assert_int_equal(exists, 1);
	gkv_tree_free(sub);
	assert_ok(gkv_tree_lookup(&back, env->repo, &id));
	assert_true(gkv_tree_equal(back, t));
	assert_tree_value(back, "d/e/f", "deep");
	assert_tree_value(back, "top", "t");
	gkv_tree_free(back);
	assert_ok(gkv_tree_write(&id2, t)); /* again: nothing new, same id */
	assert_oid_eq(&id, &id2);

	assert_ok(gkv_oid_fromstr(&missing, "0123456789abcdef0123456789abcdef01234567"));
	assert_rc(GKV_E_NOTFOUND, gkv_tree_lookup(&back, env->repo, &missing));
	assert_ok(gkv_hash(&blob, GKV_OBJ_BLOB, "deep", 4));
	assert_rc(GKV_E_INVALID, gkv_tree_lookup(&back, env->repo, &blob));
	gkv_tree_free(t);
}

static void set_tree_and_remove(void **state)
{
	conf_env *env = *state;
	static const char *const kv[] = {"a/b", "1", "a/c/d", "2", "z", "3"};
	gkv_tree *t = tree_with(env->repo, kv, 3), *sub = NULL, *moved = NULL, *empty = NULL;
	gkv_tree *gone = NULL, *same = NULL, *again = NULL;
	gkv_kind kind;
	gkv_oid a, b;

	assert_ok(gkv_tree_subtree(&sub, t, "a"));
	assert_ok(gkv_tree_set_tree(&moved, t, "new/place", sub));
	assert_tree_value(moved, "new/place/b", "1");
	assert_tree_value(moved, "new/place/c/d", "2");
	assert_tree_value(moved, "a/b", "1");
	assert_ok(gkv_tree_subtree(&again, moved, "new/place"));
	assert_ok(gkv_tree_id(&a, again));
	assert_ok(gkv_tree_id(&b, sub));
	assert_oid_eq(&a, &b);
	gkv_tree_free(again);
	/* over a value */
	gkv_tree_free(moved);
	assert_ok(gkv_tree_set_tree(&moved, t, "z", sub));
	assert_tree_value(moved, "z/b", "1");
	/* an empty subtree removes the path, emptied parents vanish */
	assert_ok(gkv_tree_empty(&empty, env->repo));
	assert_ok(gkv_tree_set_tree(&gone, t, "a/c", empty));
	assert_ok(gkv_tree_kind(&kind, gone, "a/c"));
	assert_int_equal(kind, GKV_KIND_NONE);
	assert_tree_value(gone, "a/b", "1");
	gkv_tree_free(gone);
	assert_ok(gkv_tree_remove(&gone, t, "a/b"));
	assert_ok(gkv_tree_remove(&same, gone, "a/c/d"));
	assert_ok(gkv_tree_kind(&kind, same, "a"));
	assert_int_equal(kind, GKV_KIND_NONE);
	gkv_tree_free(same);
	/* removing an absent path gives the same tree */
	assert_ok(gkv_tree_remove(&same, t, "no/such"));
	assert_true(gkv_tree_equal(same, t));
	gkv_tree_free(same);
	/* "" replaces the whole tree */
	assert_ok(gkv_tree_set_tree(&same, t, "", sub));
	assert_true(gkv_tree_equal(same, sub));
	gkv_tree_free(same);
	gkv_tree_free(gone);
	gkv_tree_free(empty);
	gkv_tree_free(moved);
	gkv_tree_free(sub);
	gkv_tree_free(t);
}

static void trees_move_between_stores(void **state)
{
	conf_env *env = *state;
	gkv_store *other = NULL;
	gkv_tree *t = NULL, *copy = NULL;
	gkv_oid a, b;

	conf_set(env->store, "cfg/a", "1");
	conf_set(env->store, "cfg/sub/b", "2");
	assert_ok(gkv_store_get_tree(&t, env->store, "cfg"));
	assert_ok(gkv_store_open_branch(&other, env->repo, "other"));
	assert_ok(gkv_store_set_tree(NULL, other, "imported", t, NULL));
	assert_value(other, "imported/a", "1");
	assert_value(other, "imported/sub/b", "2");
	assert_ok(gkv_store_get_tree(&copy, other, "imported"));
	assert_ok(gkv_tree_id(&a, copy));
	assert_ok(gkv_tree_id(&b, t));
	assert_oid_eq(&a, &b);
	gkv_tree_free(copy);
	/* a tree built in memory and committed through another store */
	{
		gkv_tree *next = NULL;

		assert_ok(gkv_tree_set(&next, t, "sub/c", "3", 1));
		assert_ok(gkv_store_set_tree(NULL, other, "built", next, NULL));
		assert_value(other, "built/sub/c", "3");
		assert_value(other, "built/a", "1");
		gkv_tree_free(next);
	}
	gkv_store_free(other);
	if (conf_persistent()) {
		gkv_tree_free(t);
		t = NULL;
		conf_reopen(env);
		assert_ok(gkv_store_open_branch(&other, env->repo, "other"));
		assert_value(other, "built/sub/c", "3");
		gkv_store_free(other);
	}
	gkv_tree_free(t);
}

static void trees_shared_by_threads_are_readable(void **state)
{
	/* Immutable trees may be shared; here we only check that two
	 * references to one tree read the same after one is freed. */
	conf_env *env = *state;
	static const char *const kv[] = {"p/q", "1"};
	gkv_tree *t = tree_with(env->repo, kv, 1);
	gkv_tree *d1 = gkv_tree_dup(t), *d2 = gkv_tree_dup(t);

	gkv_tree_free(t);
	gkv_tree_free(d1);
	assert_tree_value(d2, "p/q", "1");
	gkv_tree_free(d2);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    CONF_TEST(old_trees_are_unchanged),
	    CONF_TEST(unchanged_subtrees_are_shared),
	    CONF_TEST(equality_ignores_construction_order),
	    CONF_TEST(fold_in_byte_order),
	    CONF_TEST(list_names_and_kinds),
	    CONF_TEST(write_then_lookup),
	    CONF_TEST(set_tree_and_remove),
	    CONF_TEST(trees_move_between_stores),
	    CONF_TEST(trees_shared_by_threads_are_readable),
	};

	return CONF_MAIN(argc, argv, tests);
}
