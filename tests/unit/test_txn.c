/*
 * test_txn.c -- unit tests of store/txn.c: many changes, one commit.
 *
 * What is held: a transaction reads its own writes and nobody else sees
 * them before the commit; trees handed out by gkv_txn_tree stay as they
 * were while the transaction goes on changing its tree in place; the
 * strategies when the head moved (FAIL: GKV_E_CONFLICT and the head left
 * alone, also when the move happens during the commit itself; OVERWRITE:
 * the transaction's tree committed on the new head; MERGE: not available
 * yet -- GKV_E_UNSUPPORTED and nothing moved -- or, once it is, both
 * sides kept); committing twice is an error; no change makes no commit;
 * 10,000 sets make one commit.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "repo.h"
#include "unit_util.h"

static void assert_get(gkv_store *s, const char *path, const char *value)
{
	gkv_buf b;

	assert_ok(gkv_store_get(&b, s, path));
	assert_buf_str(b, value);
	gkv_buf_dispose(&b);
}

static int has(gkv_store *s, const char *path)
{
	gkv_buf b;
	int found;

	assert_ok(gkv_store_find(&b, &found, s, path));
	gkv_buf_dispose(&b);
	return found;
}

static void set(gkv_store *s, const char *path, const char *value)
{
	assert_ok(gkv_store_set(NULL, s, path, value, strlen(value), NULL));
}

static gkv_oid head_of(gkv_store *s)
{
	gkv_oid h;

	assert_ok(gkv_store_head(&h, s));
	return h;
}

static void assert_parent(gkv_repo *repo, const gkv_oid *commit, const gkv_oid *parent)
{
	gkv_commit *c;

	assert_ok(gkv_commit_lookup(&c, repo, commit));
	assert_int_equal(1, gkv_commit_parentcount(c));
	assert_oid_equal(gkv_commit_parent_id(c, 0), parent);
	gkv_commit_free(c);
}

typedef struct {
	gkv_repo *repo;
	gkv_store *a, *b;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));

	f->repo = uu_open_mem();
	assert_ok(gkv_store_open_branch(&f->a, f->repo, "main"));
	assert_ok(gkv_store_open_branch(&f->b, f->repo, "main"));
	set(f->a, "base", "0");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	gkv_store_free(f->a);
	gkv_store_free(f->b);
	gkv_repo_free(f->repo);
	free(f);
	return 0;
}

/* ------------------------------------------------------------- basics */

static void test_reads_own_writes_one_commit(void **state)
{
	fixture *f = *state;
	gkv_oid base = head_of(f->a), out;
	gkv_txn *t;
	gkv_buf v;
	gkv_list *l;
	int found;
	gkv_commit *c;

	assert_ok(gkv_txn_begin(&t, f->a));
	assert_ok(gkv_txn_set(t, "x/1", "one", 3));
	assert_ok(gkv_txn_set(t, "x/2", "two", 3));
	assert_ok(gkv_txn_remove(t, "base"));
	assert_ok(gkv_txn_remove(t, "never/was")); /* not an error in a transaction */
	assert_ok(gkv_txn_get(&v, t, "x/1"));
	assert_buf_str(v, "one");
	gkv_buf_dispose(&v);
	assert_ok(gkv_txn_find(&v, &found, t, "base"));
	assert_int_equal(0, found);
	assert_ok(gkv_txn_list(&l, t, "x"));
	assert_int_equal(2, gkv_list_count(l));
	gkv_list_free(l);
	/* Nobody else sees it yet. */
	assert_false(has(f->b, "x/1"));
	assert_true(has(f->b, "base"));

	assert_ok(gkv_txn_commit(&out, t, GKV_TXN_FAIL, NULL));
	gkv_txn_free(t);
	assert_parent(f->repo, &out, &base);
	assert_ok(gkv_commit_lookup(&c, f->repo, &out));
	assert_string_equal("transaction\n", gkv_commit_message(c));
	gkv_commit_free(c);
	assert_get(f->b, "x/1", "one");
	assert_get(f->b, "x/2", "two");
	assert_false(has(f->b, "base"));
}

static void test_commit_twice_is_an_error(void **state)
{
	fixture *f = *state;
	gkv_txn *t;
	gkv_oid first, h;
	gkv_buf v;

	assert_ok(gkv_txn_begin(&t, f->a));
	assert_ok(gkv_txn_set(t, "k", "v", 1));
	assert_ok(gkv_txn_commit(&first, t, GKV_TXN_FAIL, NULL));
	assert_rc(GKV_E_INVALID, gkv_txn_commit(&h, t, GKV_TXN_FAIL, NULL));
	assert_rc(GKV_E_INVALID, gkv_txn_commit(&h, t, GKV_TXN_OVERWRITE, NULL));
	assert_rc(GKV_E_INVALID, gkv_txn_set(t, "k2", "v", 1));
	assert_rc(GKV_E_INVALID, gkv_txn_get(&v, t, "k"));
	h = head_of(f->a);
	assert_oid_equal(&h, &first);
	gkv_txn_free(t);

	/* A failed commit finishes the transaction too. */
	assert_ok(gkv_txn_begin(&t, f->a));
	assert_ok(gkv_txn_set(t, "k", "w", 1));
	set(f->b, "moved", "1");
	assert_rc(GKV_E_CONFLICT, gkv_txn_commit(NULL, t, GKV_TXN_FAIL, NULL));
	assert_rc(GKV_E_INVALID, gkv_txn_commit(NULL, t, GKV_TXN_OVERWRITE, NULL));
	gkv_txn_free(t);
	/* An unknown strategy. */
	assert_ok(gkv_txn_begin(&t, f->a));
	assert_ok(gkv_txn_set(t, "k", "x", 1));
	assert_rc(GKV_E_INVALID, gkv_txn_commit(NULL, t, (gkv_txn_strategy)42, NULL));
	gkv_txn_free(t);
	assert_get(f->a, "k", "v");
}

static void test_no_change_no_commit(void **state)
{
	fixture *f = *state;
	gkv_oid base = head_of(f->a), out;
	gkv_txn *t;
	gkv_store *fresh;

	assert_ok(gkv_txn_begin(&t, f->a));
	memset(&out, 0, sizeof(out));
	assert_ok(gkv_txn_commit(&out, t, GKV_TXN_FAIL, NULL));
	assert_oid_equal(&out, &base);
	gkv_txn_free(t);

	/* Changes that cancel out are no change. */
	assert_ok(gkv_txn_begin(&t, f->a));
	assert_ok(gkv_txn_set(t, "tmp/x", "1", 1));
	assert_ok(gkv_txn_set(t, "base", "other", 5));
	assert_ok(gkv_txn_remove(t, "tmp"));
	assert_ok(gkv_txn_set(t, "base", "0", 1));
	assert_ok(gkv_txn_commit(&out, t, GKV_TXN_FAIL, NULL));
	assert_oid_equal(&out, &base);
	gkv_txn_free(t);
	out = head_of(f->a);
	assert_oid_equal(&out, &base);

	/* On a branch with no commit: still no branch afterwards. */
	assert_ok(gkv_store_open_branch(&fresh, f->repo, "fresh"));
	assert_ok(gkv_txn_begin(&t, fresh));
	assert_ok(gkv_txn_set(t, "a", "1", 1));
	assert_ok(gkv_txn_remove(t, "a"));
	assert_ok(gkv_txn_commit(NULL, t, GKV_TXN_FAIL, NULL));
	gkv_txn_free(t);
	assert_rc(GKV_E_NOTFOUND, gkv_store_head(&out, fresh));
	gkv_store_free(fresh);
}

/* ----------------------------------------------------------- strategies */

static void test_fail_when_head_moved(void **state)
{
	fixture *f = *state;
	gkv_txn *t;
	gkv_oid moved, h;

	assert_ok(gkv_txn_begin(&t, f->a));
	assert_ok(gkv_txn_set(t, "mine", "m", 1));
	set(f->b, "theirs", "t");
	moved = head_of(f->b);
	assert_rc(GKV_E_CONFLICT, gkv_txn_commit(&h, t, GKV_TXN_FAIL, NULL));
	gkv_txn_free(t);
	h = head_of(f->a);
	assert_oid_equal(&h, &moved);
	assert_false(has(f->a, "mine"));
	assert_get(f->a, "theirs", "t");
}

static void test_overwrite_when_head_moved(void **state)
{
	fixture *f = *state;
	gkv_txn *t;
	gkv_oid moved, out, h;

	assert_ok(gkv_txn_begin(&t, f->a));
	assert_ok(gkv_txn_set(t, "mine", "m", 1));
	set(f->b, "theirs", "t");
	moved = head_of(f->b);
	assert_ok(gkv_txn_commit(&out, t, GKV_TXN_OVERWRITE, NULL));
	gkv_txn_free(t);
	h = head_of(f->a);
	assert_oid_equal(&h, &out);
	/* On the new head, with the transaction's tree as it is. */
	assert_parent(f->repo, &out, &moved);
	assert_get(f->a, "mine", "m");
	assert_get(f->a, "base", "0");
	assert_false(has(f->a, "theirs"));

	/* The new head already holds our tree: nothing to commit. */
	assert_ok(gkv_txn_begin(&t, f->a));
	assert_ok(gkv_txn_set(t, "same", "s", 1));
	set(f->b, "same", "s");
	moved = head_of(f->b);
	assert_ok(gkv_txn_commit(&out, t, GKV_TXN_OVERWRITE, NULL));
	gkv_txn_free(t);
	assert_oid_equal(&out, &moved);
	h = head_of(f->a);
	assert_oid_equal(&h, &moved);
}

static void test_merge_strategy(void **state)
{
	fixture *f = *state;
	gkv_txn *t;
	gkv_oid moved, out, h;
	int rc;

	/* Head unmoved: MERGE commits like the others. */
	assert_ok(gkv_txn_begin(&t, f->a));
	assert_ok(gkv_txn_set(t, "plain", "p", 1));
	assert_ok(gkv_txn_commit(&out, t, GKV_TXN_MERGE, NULL));
	gkv_txn_free(t);
	assert_get(f->a, "plain", "p");

	assert_ok(gkv_txn_begin(&t, f->a));
	assert_ok(gkv_txn_set(t, "mine", "m", 1));
	set(f->b, "theirs", "t");
	moved = head_of(f->b);
	rc = gkv_txn_commit(&out, t, GKV_TXN_MERGE, NULL);
	gkv_txn_free(t);
	h = head_of(f->a);
	if (rc == GKV_E_UNSUPPORTED) {
		/* Not available yet: nothing moved. */
		assert_oid_equal(&h, &moved);
		assert_false(has(f->a, "mine"));
		return;
	}
	/* Available: both sides kept, on the new head. */
	assert_ok(rc);
	assert_oid_equal(&h, &out);
	assert_parent(f->repo, &out, &moved);
	assert_get(f->a, "mine", "m");
	assert_get(f->a, "theirs", "t");
}

/* The head moves during the commit itself (between its check and its CAS). */
typedef struct {
	gkv_store *other;
	int rc;
} hook_arg;

static void other_writer(uu_counting *c, void *payload)
{
	hook_arg *h = payload;

	(void)c;
	h->rc = gkv_store_set(NULL, h->other, "raced", "r", 1, NULL);
}

static void test_race_during_commit(void **state)
{
	uu_counting *counter;
	gkv_repo *repo = uu_open_counting(&counter, NULL);
	gkv_store *a, *b;
	gkv_txn *t;
	hook_arg h = {NULL, -99};
	gkv_oid raced, out, now;

	(void)state;
	assert_ok(gkv_store_open_branch(&a, repo, "main"));
	assert_ok(gkv_store_open_branch(&b, repo, "main"));
	set(a, "base", "0");
	h.other = b;

	/* FAIL: the lost CAS is a conflict, not retried. */
	assert_ok(gkv_txn_begin(&t, a));
	assert_ok(gkv_txn_set(t, "mine", "m", 1));
	counter->hook = other_writer;
	counter->hook_payload = &h;
	assert_rc(GKV_E_CONFLICT, gkv_txn_commit(&out, t, GKV_TXN_FAIL, NULL));
	assert_ok(h.rc);
	gkv_txn_free(t);
	raced = head_of(b);
	now = head_of(a);
	assert_oid_equal(&now, &raced);
	assert_false(has(a, "mine"));

	/* OVERWRITE: retried on the head that won. */
	assert_ok(gkv_store_remove(NULL, a, "raced", NULL));
	assert_ok(gkv_txn_begin(&t, a));
	assert_ok(gkv_txn_set(t, "mine", "m", 1));
	h.rc = -99;
	counter->hook = other_writer;
	assert_ok(gkv_txn_commit(&out, t, GKV_TXN_OVERWRITE, NULL));
	assert_ok(h.rc);
	gkv_txn_free(t);
	raced = head_of(a);
	assert_oid_equal(&raced, &out);
	assert_get(a, "mine", "m");
	gkv_store_free(a);
	gkv_store_free(b);
	gkv_repo_free(repo);
}

/* ------------------------------------------------- trees handed out */

static void test_handed_out_tree_unchanged(void **state)
{
	fixture *f = *state;
	gkv_txn *t;
	gkv_tree *t1, *t2, *sub, *given, *e;
	gkv_oid id1, id, sid;
	gkv_buf v;

	assert_ok(gkv_txn_begin(&t, f->a));
	assert_ok(gkv_txn_set(t, "d/e/f", "1", 1));
	assert_ok(gkv_txn_set(t, "d/g", "2", 1));
	assert_ok(gkv_txn_tree(&t1, t));
	assert_ok(gkv_tree_id(&id1, t1));
	assert_ok(gkv_tree_subtree(&sub, t1, "d/e"));
	assert_ok(gkv_tree_id(&sid, sub));
	assert_ok(gkv_txn_set(t, "d/e/f", "changed", 7));
	assert_ok(gkv_txn_set(t, "d/e/new", "n", 1));
	assert_ok(gkv_txn_remove(t, "d/g"));
	assert_ok(gkv_tree_id(&id, t1));
	assert_oid_equal(&id, &id1);
	assert_ok(gkv_tree_get(&v, t1, "d/e/f"));
	assert_buf_str(v, "1");
	gkv_buf_dispose(&v);
	assert_ok(gkv_tree_get(&v, t1, "d/g"));
	assert_buf_str(v, "2");
	gkv_buf_dispose(&v);
	assert_ok(gkv_tree_id(&id, sub));
	assert_oid_equal(&id, &sid);

	/* A tree given to set_tree is not changed by later sets under it. */
	assert_ok(gkv_tree_empty(&e, f->repo));
	assert_ok(gkv_tree_set(&given, e, "x", "1", 1));
	assert_ok(gkv_tree_id(&sid, given));
	assert_ok(gkv_txn_set_tree(t, "g", given));
	assert_ok(gkv_txn_set(t, "g/y", "2", 1));
	assert_ok(gkv_tree_id(&id, given));
	assert_oid_equal(&id, &sid);
	/* ... nor is the transaction's own earlier tree set inside it. */
	assert_ok(gkv_txn_set_tree(t, "copy", t1));
	assert_ok(gkv_txn_set(t, "copy/d/e/f", "3", 1));
	assert_ok(gkv_tree_id(&id, t1));
	assert_oid_equal(&id, &id1);

	assert_ok(gkv_txn_tree(&t2, t));
	assert_ok(gkv_txn_commit(NULL, t, GKV_TXN_FAIL, NULL));
	gkv_txn_free(t);
	assert_get(f->a, "d/e/f", "changed");
	assert_get(f->a, "g/x", "1");
	assert_get(f->a, "g/y", "2");
	assert_get(f->a, "copy/d/e/f", "3");
	assert_get(f->a, "copy/d/g", "2");
	/* What was committed is the tree gkv_txn_tree gave last. */
	gkv_tree *head_tree;

	assert_ok(gkv_store_tree(&head_tree, f->a));
	assert_true(gkv_tree_equal(head_tree, t2));
	gkv_tree_free(head_tree);
	gkv_tree_free(t2);
	gkv_tree_free(given);
	gkv_tree_free(e);
	gkv_tree_free(sub);
	gkv_tree_free(t1);
}

static void test_set_tree_root(void **state)
{
	fixture *f = *state;
	gkv_txn *t;
	gkv_tree *e, *r;

	assert_ok(gkv_tree_empty(&e, f->repo));
	assert_ok(gkv_tree_set(&r, e, "only", "1", 1));
	assert_ok(gkv_txn_begin(&t, f->a));
	assert_ok(gkv_txn_set_tree(t, "", r));
	assert_ok(gkv_txn_set(t, "more", "2", 1));
	assert_ok(gkv_txn_commit(NULL, t, GKV_TXN_FAIL, NULL));
	gkv_txn_free(t);
	assert_false(has(f->a, "base"));
	assert_get(f->a, "only", "1");
	assert_get(f->a, "more", "2");
	assert_false(gkv_tree_equal(r, e));
	assert_int_equal(GKV_E_NOTFOUND, gkv_tree_get(&(gkv_buf){0}, r, "more"));
	gkv_tree_free(r);
	gkv_tree_free(e);
}

/* ----------------------------------------------------------------- scale */

static int count_cb(const char *path, gkv_kind k, const void *v, size_t len, void *payload)
{
	(void)path;
	(void)k;
	(void)v;
	(void)len;
	(*(size_t *)payload)++;
	return 0;
}

static void test_ten_thousand_sets_one_commit(void **state)
{
	fixture *f = *state;
	gkv_oid base = head_of(f->a), out;
	gkv_txn *t;
	gkv_tree *tree;
	size_t n = 0;
	char path[64], value[32];

	assert_ok(gkv_txn_begin(&t, f->a));
	for (int i = 0; i < 10000; i++) {
		snprintf(path, sizeof(path), "d%02d/e%02d/k%d", i % 37, i % 11, i);
		snprintf(value, sizeof(value), "%d", i);
		assert_ok(gkv_txn_set(t, path, value, strlen(value)));
	}
	assert_ok(gkv_txn_commit(&out, t, GKV_TXN_FAIL, NULL));
	gkv_txn_free(t);
	assert_parent(f->repo, &out, &base);
	assert_ok(gkv_store_tree(&tree, f->a));
	assert_ok(gkv_tree_fold(tree, "", count_cb, &n));
	assert_int_equal(10001, n);
	gkv_tree_free(tree);
	assert_get(f->a, "d00/e00/k0", "0");
	assert_get(f->a, "d09/e00/k9999", "9999");
}

/* ------------------------------------------------------- commit views */

static void test_txn_on_commit_view(void **state)
{
	fixture *f = *state;
	gkv_oid base = head_of(f->a), out, h;
	gkv_store *v;
	gkv_txn *t;
	gkv_info *info;
	gkv_commit *c;

	assert_ok(gkv_store_open_commit(&v, f->repo, &base));
	assert_ok(gkv_txn_begin(&t, v));
	assert_ok(gkv_txn_set(t, "k", "1", 1));
	assert_ok(gkv_info_new(&info, "batch of one"));
	assert_ok(gkv_txn_commit(&out, t, GKV_TXN_FAIL, info));
	gkv_info_free(info);
	gkv_txn_free(t);
	h = head_of(v);
	assert_oid_equal(&h, &out);
	assert_parent(f->repo, &out, &base);
	assert_ok(gkv_commit_lookup(&c, f->repo, &out));
	assert_string_equal("batch of one", gkv_commit_message(c));
	gkv_commit_free(c);
	h = head_of(f->a);
	assert_oid_equal(&h, &base);
	gkv_store_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_reads_own_writes_one_commit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_commit_twice_is_an_error, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_change_no_commit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fail_when_head_moved, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_overwrite_when_head_moved, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_merge_strategy, setup, teardown),
	    cmocka_unit_test(test_race_during_commit),
	    cmocka_unit_test_setup_teardown(test_handed_out_tree_unchanged, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_set_tree_root, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ten_thousand_sets_one_commit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_txn_on_commit_view, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
