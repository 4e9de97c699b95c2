/*
 * test_branch.c -- unit tests of store/branch.c: branches as refs under
 * refs/heads/, every move a compare-and-swap.
 *
 * What is held: gkv_branch_cas moves only from the expected head (NULL:
 * the branch must be absent), deletes with a NULL new head, names what
 * it found when it refuses, and never points a branch at something that
 * is not a commit; create refuses an existing branch and a non-commit;
 * delete of an absent branch is GKV_E_NOTFOUND; list is sorted by bytes;
 * fast-forward creates, stays, moves forward, and refuses sideways and
 * backwards moves; the refs land under refs/heads/ in the backend. A
 * ref that names a missing object, a blob or a tree (written behind the
 * API's back) reads as GKV_E_CORRUPT, and such a branch can be deleted.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "repo.h"
#include "unit_util.h"

typedef struct {
	gkv_repo *repo;
	gkv_oid tree;
	gkv_oid root, a1, a2, b1; /* root <- a1 <- a2, root <- b1 */
} fixture;

static gkv_oid commit(fixture *f, const gkv_oid *parent, const char *msg)
{
	gkv_signature *sig = uu_sig("brancher", 1600000000);
	gkv_oid id;

	assert_ok(gkv_commit_create(&id, f->repo, &f->tree, parent, parent ? 1 : 0, sig, sig, msg));
	gkv_signature_free(sig);
	return id;
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	gkv_tree *e;

	f->repo = uu_open_mem();
	assert_ok(gkv_tree_empty(&e, f->repo));
	assert_ok(gkv_tree_write(&f->tree, e));
	gkv_tree_free(e);
	f->root = commit(f, NULL, "root\n");
	f->a1 = commit(f, &f->root, "a1\n");
	f->a2 = commit(f, &f->a1, "a2\n");
	f->b1 = commit(f, &f->root, "b1\n");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	gkv_repo_free(f->repo);
	free(f);
	return 0;
}

static gkv_oid head(fixture *f, const char *name)
{
	gkv_oid h;

	assert_ok(gkv_branch_head(&h, f->repo, name));
	return h;
}

static void test_cas(void **state)
{
	fixture *f = *state;
	gkv_oid h, raw;
	char hex[GKV_OID_HEXSZ + 1];

	/* NULL expected: only if absent. */
	assert_ok(gkv_branch_cas(f->repo, "main", NULL, &f->root));
	h = head(f, "main");
	assert_oid_equal(&h, &f->root);
	assert_rc(GKV_E_CONFLICT, gkv_branch_cas(f->repo, "main", NULL, &f->a1));
	/* The ref itself, in the backend, under refs/heads/. */
	assert_ok(f->repo->backend->ref_read(&raw, f->repo->backend, "refs/heads/main"));
	assert_oid_equal(&raw, &f->root);

	/* From the expected head only; the refusal names what it found. */
	assert_ok(gkv_branch_cas(f->repo, "main", &f->root, &f->a1));
	assert_rc(GKV_E_CONFLICT, gkv_branch_cas(f->repo, "main", &f->root, &f->a2));
	gkv_oid_fmt(hex, &f->a1);
	assert_non_null(strstr(gkv_error_last(), hex));
	h = head(f, "main");
	assert_oid_equal(&h, &f->a1);
	/* Any move, not only forward: CAS is not fast-forward. */
	assert_ok(gkv_branch_cas(f->repo, "main", &f->a1, &f->b1));
	/* Expecting a head on an absent branch fails. */
	assert_rc(GKV_E_CONFLICT, gkv_branch_cas(f->repo, "ghost", &f->root, &f->a1));
	assert_rc(GKV_E_NOTFOUND, gkv_branch_head(&h, f->repo, "ghost"));

	/* Only commits: absent, a tree. */
	gkv_oid missing = uu_oid("6666666666666666666666666666666666666666");
	int rc;

	assert_rc(GKV_E_NOTFOUND, gkv_branch_cas(f->repo, "main", &f->b1, &missing));
	rc = gkv_branch_cas(f->repo, "main", &f->b1, &f->tree);
	assert_true(rc == GKV_E_NOTFOUND || rc == GKV_E_INVALID);
	h = head(f, "main");
	assert_oid_equal(&h, &f->b1);

	/* NULL new head deletes, from the expected head only. */
	assert_rc(GKV_E_CONFLICT, gkv_branch_cas(f->repo, "main", &f->a1, NULL));
	assert_ok(gkv_branch_cas(f->repo, "main", &f->b1, NULL));
	assert_rc(GKV_E_NOTFOUND, gkv_branch_head(&h, f->repo, "main"));
	assert_rc(GKV_E_NOTFOUND, f->repo->backend->ref_read(&raw, f->repo->backend, "refs/heads/main"));

	/* Bad names. */
	assert_rc(GKV_E_INVALID, gkv_branch_cas(f->repo, "a..b", NULL, &f->root));
	assert_rc(GKV_E_INVALID, gkv_branch_cas(f->repo, "", NULL, &f->root));
	assert_rc(GKV_E_INVALID, gkv_branch_cas(f->repo, "x.lock", NULL, &f->root));
	assert_rc(GKV_E_INVALID, gkv_branch_cas(NULL, "main", NULL, &f->root));
}

static void test_create_and_delete(void **state)
{
	fixture *f = *state;
	gkv_oid h, missing = uu_oid("7777777777777777777777777777777777777777");
	gkv_oid blob;
	int rc;

	assert_ok(gkv_branch_create(f->repo, "dev", &f->a1));
	h = head(f, "dev");
	assert_oid_equal(&h, &f->a1);
	assert_rc(GKV_E_EXISTS, gkv_branch_create(f->repo, "dev", &f->a2));
	h = head(f, "dev");
	assert_oid_equal(&h, &f->a1);
	assert_rc(GKV_E_NOTFOUND, gkv_branch_create(f->repo, "nope", &missing));
	/* Non-commits: a tree, a blob. The branch is not made. */
	rc = gkv_branch_create(f->repo, "on-tree", &f->tree);
	assert_true(rc == GKV_E_NOTFOUND || rc == GKV_E_INVALID);
	uu_raw_put(&blob, f->repo->backend, GKV_OBJ_BLOB, "b", 1);
	rc = gkv_branch_create(f->repo, "on-blob", &blob);
	assert_true(rc == GKV_E_NOTFOUND || rc == GKV_E_INVALID);
	assert_rc(GKV_E_NOTFOUND, gkv_branch_head(&h, f->repo, "on-tree"));
	assert_rc(GKV_E_NOTFOUND, gkv_branch_head(&h, f->repo, "on-blob"));
	assert_rc(GKV_E_INVALID, gkv_branch_create(f->repo, "bad name", &f->a1));
	assert_rc(GKV_E_INVALID, gkv_branch_create(f->repo, "@", &f->a1));

	/* Nested names are fine. */
	assert_ok(gkv_branch_create(f->repo, "feature/x", &f->b1));
	h = head(f, "feature/x");
	assert_oid_equal(&h, &f->b1);

	assert_ok(gkv_branch_delete(f->repo, "dev"));
	assert_rc(GKV_E_NOTFOUND, gkv_branch_head(&h, f->repo, "dev"));
	assert_rc(GKV_E_NOTFOUND, gkv_branch_delete(f->repo, "dev"));
	assert_rc(GKV_E_INVALID, gkv_branch_head(&h, f->repo, "bad..name"));
	/* Deleted, then made again. */
	assert_ok(gkv_branch_create(f->repo, "dev", &f->a2));
	h = head(f, "dev");
	assert_oid_equal(&h, &f->a2);
}

static void test_list_sorted(void **state)
{
	fixture *f = *state;
	static const char *const names[] = {"ab", "a_b", "B", "a.b", "a-b", "z/y", "a/b"};
	static const char *const sorted[] = {"B", "a-b", "a.b", "a/b", "a_b", "ab", "z/y"};
	gkv_strarray arr;

	assert_ok(gkv_branch_list(&arr, f->repo));
	assert_int_equal(0, arr.count);
	gkv_strarray_dispose(&arr);
	for (size_t i = 0; i < 7; i++)
		assert_ok(gkv_branch_create(f->repo, names[i], &f->root));
	/* A non-branch ref is not listed. */
	assert_ok(f->repo->backend->ref_cas(f->repo->backend, "refs/remotes/origin/main", NULL, &f->a1));
	assert_ok(gkv_branch_list(&arr, f->repo));
	assert_int_equal(7, arr.count);
	for (size_t i = 0; i < 7; i++)
		assert_string_equal(sorted[i], arr.strings[i]);
	gkv_strarray_dispose(&arr);
	assert_null(arr.strings);
	assert_int_equal(0, arr.count);
}

static void test_fast_forward(void **state)
{
	fixture *f = *state;
	gkv_oid h, missing = uu_oid("8888888888888888888888888888888888888888");
	int rc;

	/* Absent: created. */
	assert_ok(gkv_branch_fast_forward(f->repo, "main", &f->root));
	h = head(f, "main");
	assert_oid_equal(&h, &f->root);
	/* Already there: nothing to do. */
	assert_ok(gkv_branch_fast_forward(f->repo, "main", &f->root));
	/* Forward by two. */
	assert_ok(gkv_branch_fast_forward(f->repo, "main", &f->a2));
	h = head(f, "main");
	assert_oid_equal(&h, &f->a2);
	/* Backwards and sideways: refused, head kept. */
	assert_rc(GKV_E_NONFASTFORWARD, gkv_branch_fast_forward(f->repo, "main", &f->a1));
	assert_rc(GKV_E_NONFASTFORWARD, gkv_branch_fast_forward(f->repo, "main", &f->b1));
	h = head(f, "main");
	assert_oid_equal(&h, &f->a2);
	/* Targets that are not commits. */
	assert_rc(GKV_E_NOTFOUND, gkv_branch_fast_forward(f->repo, "main", &missing));
	rc = gkv_branch_fast_forward(f->repo, "main", &f->tree);
	assert_true(rc == GKV_E_NOTFOUND || rc == GKV_E_INVALID);
	rc = gkv_branch_fast_forward(f->repo, "other", &f->tree);
	assert_true(rc < 0);
	assert_rc(GKV_E_NOTFOUND, gkv_branch_head(&h, f->repo, "other"));
	assert_rc(GKV_E_INVALID, gkv_branch_fast_forward(f->repo, "bad..name", &f->a1));
	h = head(f, "main");
	assert_oid_equal(&h, &f->a2);
}

/* A head moved by a plain CAS between a reader's look and its write is noticed. */
static void test_head_naming_no_commit_is_corrupt(void **state)
{
	fixture *f = *state;
	gkv_backend *b = f->repo->backend;
	gkv_oid blob, missing = uu_oid("1234123412341234123412341234123412341234"), out;

	uu_raw_put(&blob, b, GKV_OBJ_BLOB, "not a commit", 12);
	assert_ok(b->ref_cas(b, "refs/heads/blob", NULL, &blob));
	assert_ok(b->ref_cas(b, "refs/heads/tree", NULL, &f->tree));
	assert_ok(b->ref_cas(b, "refs/heads/gone", NULL, &missing));

	assert_rc(GKV_E_CORRUPT, gkv_branch_head(&out, f->repo, "blob"));
	assert_non_null(strstr(gkv_error_last(), "branch 'blob'"));
	assert_non_null(strstr(gkv_error_last(), "is a blob, not a commit"));
	assert_rc(GKV_E_CORRUPT, gkv_branch_head(&out, f->repo, "tree"));
	assert_non_null(strstr(gkv_error_last(), "is a tree, not a commit"));
	assert_rc(GKV_E_CORRUPT, gkv_branch_head(&out, f->repo, "gone"));
	assert_non_null(strstr(gkv_error_last(), "1234123412341234123412341234123412341234"));
	assert_non_null(strstr(gkv_error_last(), "missing"));
	assert_rc(GKV_E_NOTFOUND, gkv_branch_head(&out, f->repo, "absent"));
	/* The repair: a damaged branch can be deleted. */
	assert_ok(gkv_branch_delete(f->repo, "blob"));
	assert_ok(gkv_branch_delete(f->repo, "gone"));
	assert_rc(GKV_E_NOTFOUND, gkv_branch_head(&out, f->repo, "blob"));
	assert_rc(GKV_E_NOTFOUND, gkv_branch_head(&out, f->repo, "gone"));
}

static void test_cas_race_through_store(void **state)
{
	fixture *f = *state;
	gkv_store *s;
	gkv_oid h;

	assert_ok(gkv_branch_create(f->repo, "main", &f->a1));
	assert_ok(gkv_store_open_branch(&s, f->repo, "main"));
	assert_ok(gkv_store_head(&h, s));
	assert_oid_equal(&h, &f->a1);
	assert_ok(gkv_branch_cas(f->repo, "main", &f->a1, &f->b1));
	assert_ok(gkv_store_head(&h, s));
	assert_oid_equal(&h, &f->b1);
	assert_ok(gkv_store_set(&h, s, "k", "v", 1, NULL));
	gkv_commit *c;

	assert_ok(gkv_commit_lookup(&c, f->repo, &h));
	assert_oid_equal(gkv_commit_parent_id(c, 0), &f->b1);
	gkv_commit_free(c);
	gkv_store_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_cas, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_create_and_delete, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_sorted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fast_forward, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cas_race_through_store, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_head_naming_no_commit_is_corrupt, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
