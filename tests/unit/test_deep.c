/*
 * test_deep.c -- deep trees cost heap, not C stack.
 *
 * Every walk of a tree (freeing, hashing, writing, changing a path,
 * folding, diffing, merging) is a loop over a stack of its own, so a
 * library embedded in a thread with a small stack survives the deepest
 * tree git allows; a stored tree nested deeper than that is refused as
 * damaged, and a path with more segments than that is refused as invalid.
 * Run in a thread with a 256 KiB stack: each of these walks recursing
 * once per level of a 4,000-level tree would need megabytes.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gitkv.h"
#include "gitkv/sys/backend.h"
#include "tree.h"

#define SMALL_STACK (256 * 1024)
#define DEEP 4000

/* "d/d/.../d/leaf" with depth directories. */
static char *deep_path(int depth, const char *leaf)
{
	size_t n = (size_t)depth * 2 + strlen(leaf) + 1;
	char *p = malloc(n), *w = p;

	assert_non_null(p);
	for (int i = 0; i < depth; i++) {
		*w++ = 'd';
		*w++ = '/';
	}
	strcpy(w, leaf);
	return p;
}

/* Run fn(arg) in a thread with a small stack; a stack overflow crashes. */
static void in_small_stack(void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	pthread_t th;
	void *ret = NULL;

	assert_int_equal(pthread_attr_init(&attr), 0);
	assert_int_equal(pthread_attr_setstacksize(&attr, SMALL_STACK), 0);
	assert_int_equal(pthread_create(&th, &attr, fn, arg), 0);
	assert_int_equal(pthread_join(th, &ret), 0);
	pthread_attr_destroy(&attr);
	assert_null(ret); /* NULL: every check in the thread held */
}

#define CHECK(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: failed: %s (%s)\n", __FILE__, __LINE__, #cond, \
			    gkv_error_last()); \
			return (void *)1; \
		} \
	} while (0)

static int count_cb(const char *path, gkv_kind kind, const void *v, size_t len, void *payload)
{
	(void)path;
	(void)kind;
	(void)v;
	(void)len;
	(*(size_t *)payload)++;
	return 0;
}

/* Build, hash, store, read, fold, diff, merge and free a 4,000-level tree. */
static void *deep_everything(void *arg)
{
	gkv_repo *repo = arg;
	char *path = deep_path(DEEP, "leaf"), *other = deep_path(DEEP, "other");
	gkv_tree *empty, *base, *ours, *theirs, *merged, *back;
	gkv_conflicts *conflicts = NULL;
	gkv_store *st;
	gkv_diff *diff;
	gkv_oid id, head;
	gkv_buf v;
	size_t n = 0;

	CHECK(gkv_tree_empty(&empty, repo) == 0);
	CHECK(gkv_tree_set(&base, empty, path, "v0", 2) == 0);
	CHECK(gkv_tree_id(&id, base) == 0);
	CHECK(gkv_tree_set(&ours, base, path, "v1", 2) == 0);
	CHECK(gkv_tree_set(&theirs, base, other, "o", 1) == 0);

	/* a commit writes every level; a new reader loads them back */
	CHECK(gkv_store_open_branch(&st, repo, "main") == 0);
	CHECK(gkv_store_set_tree(&head, st, "", ours, NULL) == 0);
	CHECK(gkv_store_get(&v, st, path) == 0);
	CHECK(v.size == 2 && memcmp(v.ptr, "v1", 2) == 0);
	gkv_buf_dispose(&v);
	CHECK(gkv_tree_id(&id, ours) == 0);
	CHECK(gkv_tree_lookup(&back, repo, &id) == 0);
	CHECK(gkv_tree_fold(back, "", count_cb, &n) == 0);
	CHECK(n == 1);

	CHECK(gkv_diff_trees(&diff, base, theirs) == 0);
	CHECK(gkv_diff_count(diff) == 1);
	gkv_diff_free(diff);
	CHECK(gkv_diff_trees(&diff, empty, back) == 0);
	CHECK(gkv_diff_count(diff) == 1);
	gkv_diff_free(diff);

	CHECK(gkv_merge_trees(&merged, &conflicts, base, ours, theirs, NULL) == 0);
	CHECK(gkv_tree_get(&v, merged, other) == 0);
	gkv_buf_dispose(&v);
	CHECK(gkv_tree_get(&v, merged, path) == 0);
	CHECK(v.size == 2 && memcmp(v.ptr, "v1", 2) == 0);
	gkv_buf_dispose(&v);

	/* removing the leaf removes every directory it leaves empty */
	gkv_tree_free(back);
	CHECK(gkv_tree_remove(&back, ours, path) == 0);
	CHECK(gkv_tree_is_empty(back));

	gkv_tree_free(back);
	gkv_tree_free(merged);
	gkv_conflicts_free(conflicts);
	gkv_store_free(st);
	gkv_tree_free(theirs);
	gkv_tree_free(ours);
	gkv_tree_free(base);
	gkv_tree_free(empty);
	free(path);
	free(other);
	return NULL;
}

static void deep_trees_in_a_small_stack(void **state)
{
	gkv_repo *repo;

	(void)state;
	assert_int_equal(gkv_repo_open(&repo, "mem:", NULL), 0);
	in_small_stack(deep_everything, repo);
	gkv_repo_free(repo);
}

/* A path of more segments than a tree may have levels is refused. */
static void *too_deep_path(void *arg)
{
	gkv_repo *repo = arg;
	char *path = deep_path(40000, "x");
	gkv_tree *empty, *t;
	gkv_store *st;

	CHECK(gkv_tree_empty(&empty, repo) == 0);
	CHECK(gkv_tree_set(&t, empty, path, "v", 1) == GKV_E_INVALID);
	CHECK(gkv_store_open_branch(&st, repo, "main") == 0);
	CHECK(gkv_store_set(NULL, st, path, "v", 1, NULL) == GKV_E_INVALID);
	gkv_store_free(st);
	gkv_tree_free(empty);
	free(path);
	return NULL;
}

static void paths_deeper_than_git_allows_are_refused(void **state)
{
	gkv_repo *repo;

	(void)state;
	assert_int_equal(gkv_repo_open(&repo, "mem:", NULL), 0);
	in_small_stack(too_deep_path, repo);
	gkv_repo_free(repo);
}

/*
 * A stored chain of trees deeper than git allows, written object by
 * object through the backend (as a hostile repository would hold it):
 * walking it is GKV_E_CORRUPT, never a crash.
 */
typedef struct {
	gkv_repo *repo;
	gkv_oid root, other; /* two chains, their innermost values apart */
} chain;

static void *walk_chain(void *arg)
{
	chain *c = arg;
	gkv_tree *t, *empty, *merged = NULL;
	gkv_conflicts *conflicts = NULL;
	gkv_diff *diff = NULL;
	size_t n = 0;

	CHECK(gkv_tree_lookup(&t, c->repo, &c->root) == 0);
	CHECK(gkv_tree_empty(&empty, c->repo) == 0);
	CHECK(gkv_tree_fold(t, "", count_cb, &n) == GKV_E_CORRUPT);
	CHECK(gkv_diff_trees(&diff, empty, t) == GKV_E_CORRUPT);
	CHECK(gkv_merge_trees(&merged, &conflicts, empty, empty, t, NULL) == 0); /* one side: taken */
	gkv_tree_free(merged);
	gkv_conflicts_free(conflicts);
	conflicts = NULL;
	merged = NULL;
	{
		gkv_tree *other;

		/* both sides changed all the way down: the merge walks it all */
		CHECK(gkv_tree_lookup(&other, c->repo, &c->other) == 0);
		CHECK(gkv_merge_trees(&merged, &conflicts, empty, other, t, NULL) == GKV_E_CORRUPT);
		gkv_tree_free(other);
	}
	gkv_conflicts_free(conflicts);
	gkv_tree_free(merged);
	gkv_tree_free(empty);
	gkv_tree_free(t);
	return NULL;
}

/* Write a chain of GKV__TREE_MAX_DEPTH + 10 trees over the value v. */
static gkv_oid write_chain(gkv_backend *b, const char *v)
{
	gkv_batch *batch;
	gkv_oid id;
	unsigned char obj[64];
	size_t len;

	assert_int_equal(b->batch_begin(&batch, b), 0);
	assert_int_equal(gkv_hash(&id, GKV_OBJ_BLOB, v, strlen(v)), 0);
	assert_int_equal(b->batch_write(batch, &id, GKV_OBJ_BLOB, v, strlen(v)), 0);
	len = (size_t)snprintf((char *)obj, sizeof(obj), "100644 x") + 1;
	memcpy(obj + len, id.id, GKV_OID_RAWSZ);
	len += GKV_OID_RAWSZ;
	for (int level = 0; level <= GKV__TREE_MAX_DEPTH + 10; level++) {
		assert_int_equal(gkv_hash(&id, GKV_OBJ_TREE, obj, len), 0);
		assert_int_equal(b->batch_write(batch, &id, GKV_OBJ_TREE, obj, len), 0);
		len = (size_t)snprintf((char *)obj, sizeof(obj), "40000 d") + 1;
		memcpy(obj + len, id.id, GKV_OID_RAWSZ);
		len += GKV_OID_RAWSZ;
	}
	assert_int_equal(b->batch_commit(batch), 0);
	return id;
}

static void stored_trees_deeper_than_git_allows_are_damage(void **state)
{
	gkv_backend *b;
	chain c;

	(void)state;
	assert_int_equal(gkv_backend_mem_new(&b), 0);
	c.root = write_chain(b, "v");
	c.other = write_chain(b, "w");
	assert_int_equal(gkv_repo_open_backend(&c.repo, b, NULL), 0);
	in_small_stack(walk_chain, &c);
	gkv_repo_free(c.repo);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(deep_trees_in_a_small_stack),
	    cmocka_unit_test(paths_deeper_than_git_allows_are_refused),
	    cmocka_unit_test(stored_trees_deeper_than_git_allows_are_damage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
