/*
 * test_wrong_kinds.c -- what the store itself names must be what it says:
 * a tree entry of mode 40000 naming a blob, a commit whose root names a
 * blob, an entry naming an object the store lacks, and a branch naming no
 * commit are damage (GKV_E_CORRUPT), never a caller's mistake
 * (GKV_E_INVALID) or an absent path (GKV_E_NOTFOUND). A caller's own
 * wrong id stays INVALID. Objects are written through the backend, as a
 * damaged or hostile store would hold them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gitkv.h"
#include "gitkv/sys/backend.h"

static gkv_oid put(gkv_backend *b, gkv_otype type, const void *data, size_t len)
{
	gkv_batch *batch;
	gkv_oid id;

	assert_int_equal(gkv_hash(&id, type, data, len), 0);
	assert_int_equal(b->batch_begin(&batch, b), 0);
	assert_int_equal(b->batch_write(batch, &id, type, data, len), 0);
	assert_int_equal(b->batch_commit(batch), 0);
	return id;
}

/* A tree of one entry (mode, name, id). */
static gkv_oid put_tree(gkv_backend *b, const char *mode, const char *name, const gkv_oid *id)
{
	unsigned char buf[128];
	size_t n = (size_t)snprintf((char *)buf, sizeof(buf), "%s %s", mode, name) + 1;

	memcpy(buf + n, id->id, GKV_OID_RAWSZ);
	return put(b, GKV_OBJ_TREE, buf, n + GKV_OID_RAWSZ);
}

static gkv_oid put_commit(gkv_backend *b, const gkv_oid *tree)
{
	char buf[256], hex[GKV_OID_HEXSZ + 1];
	int n;

	gkv_oid_fmt(hex, tree);
	n = snprintf(buf, sizeof(buf),
	    "tree %s\nauthor A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000\n\nm\n", hex);
	return put(b, GKV_OBJ_COMMIT, buf, (size_t)n);
}

static void set_branch(gkv_backend *b, const char *name, const gkv_oid *to)
{
	assert_int_equal(b->ref_cas(b, name, NULL, to), 0);
}

static void stored_names_of_the_wrong_kind_are_damage(void **state)
{
	gkv_backend *b;
	gkv_repo *repo;
	gkv_store *s;
	gkv_buf v = {0};
	gkv_list *l = NULL;
	gkv_tree *t = NULL;
	gkv_oid blob, missing, tree, id;

	(void)state;
	assert_int_equal(gkv_backend_mem_new(&b), 0);
	blob = put(b, GKV_OBJ_BLOB, "x", 1);
	memset(&missing, 0x42, sizeof(missing));
	/* d is a "directory" that is a blob; m one the store lacks */
	tree = put_tree(b, "40000", "d", &blob);
	id = put_commit(b, &tree);
	set_branch(b, "refs/heads/main", &id);
	id = put_commit(b, &blob); /* a root that is a blob */
	set_branch(b, "refs/heads/rootblob", &id);
	tree = put_tree(b, "40000", "m", &missing);
	id = put_commit(b, &tree);
	set_branch(b, "refs/heads/lacking", &id);
	set_branch(b, "refs/heads/blobhead", &blob); /* a branch naming a blob */
	assert_int_equal(gkv_repo_open_backend(&repo, b, NULL), 0);

	assert_int_equal(gkv_store_open_branch(&s, repo, "main"), 0);
	assert_int_equal(gkv_store_get(&v, s, "d/x"), GKV_E_CORRUPT);
	assert_non_null(strstr(gkv_error_last(), "entry 'd'"));
	assert_int_equal(gkv_store_list(&l, s, "d"), GKV_E_CORRUPT);
	gkv_store_free(s);

	assert_int_equal(gkv_store_open_branch(&s, repo, "rootblob"), 0);
	assert_int_equal(gkv_store_get(&v, s, "a"), GKV_E_CORRUPT);
	assert_non_null(strstr(gkv_error_last(), "commit"));
	gkv_store_free(s);

	assert_int_equal(gkv_store_open_branch(&s, repo, "lacking"), 0);
	assert_int_equal(gkv_store_get(&v, s, "m/x"), GKV_E_CORRUPT);
	assert_int_equal(gkv_store_get_tree(&t, s, "m"), GKV_E_CORRUPT);
	gkv_store_free(s);

	assert_int_equal(gkv_branch_head(&id, repo, "blobhead"), GKV_E_CORRUPT);

	/* the caller's own wrong ids stay the caller's */
	assert_int_equal(gkv_tree_lookup(&t, repo, &blob), GKV_E_INVALID);
	assert_int_equal(gkv_tree_lookup(&t, repo, &missing), GKV_E_NOTFOUND);
	gkv_repo_free(repo);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(stored_names_of_the_wrong_kind_are_damage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
