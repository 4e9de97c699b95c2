/*
 * test_txn.c -- transactions: many changes, one commit; reads inside see
 * the transaction's own writes and nobody else does until commit; the
 * strategy decides what happens when the head moved meanwhile (FAIL: a
 * conflict and nothing committed; OVERWRITE: the transaction's tree on the
 * new head; MERGE: a three-way merge, or a conflict and nothing moved).
 */
#include "conformance.h"

#include <stdio.h>
#include <stdlib.h>

static void many_writes_one_commit(void **state)
{
	conf_env *env = *state;
	gkv_txn *txn = NULL;
	gkv_oid h0, h1, parent;
	char key[32];
	gkv_buf buf = {0};

	conf_set(env->store, "gone", "x");
	h0 = conf_set(env->store, "keep", "k");
	assert_ok(gkv_txn_begin(&txn, env->store));
	for (int i = 0; i < 50; i++) {
		snprintf(key, sizeof(key), "dir%d/key%d", i % 5, i);
		assert_ok(gkv_txn_set(txn, key, key, strlen(key)));
	}
	assert_ok(gkv_txn_remove(txn, "gone"));
	assert_ok(gkv_txn_remove(txn, "never/was")); /* not an error in a txn */
	assert_ok(gkv_txn_commit(&h1, txn, GKV_TXN_FAIL, NULL));
	gkv_txn_free(txn);
	parent = conf_parent(env->repo, &h1, 1);
	assert_oid_eq(&parent, &h0);
	parent = conf_head(env->store);
	assert_oid_eq(&parent, &h1);
	assert_int_equal(conf_count_commits(env->repo, &h1), 3);
	for (int i = 0; i < 50; i++) {
		snprintf(key, sizeof(key), "dir%d/key%d", i % 5, i);
		assert_value(env->store, key, key);
	}
	assert_value(env->store, "keep", "k");
	assert_rc(GKV_E_NOTFOUND, gkv_store_get(&buf, env->store, "gone"));
}

static void reads_see_own_writes_only(void **state)
{
	conf_env *env = *state;
	gkv_store *other = NULL;
	gkv_txn *txn = NULL;
	gkv_buf buf = {0};
	gkv_list *list = NULL;
	gkv_tree *tree = NULL, *empty = NULL, *sub = NULL;
	int found = -1;

	conf_set(env->store, "old", "o");
	assert_ok(gkv_store_open_branch(&other, env->repo, "main"));
	assert_ok(gkv_txn_begin(&txn, env->store));
	assert_ok(gkv_txn_get(&buf, txn, "old"));
	assert_int_equal(buf.size, 1);
	gkv_buf_dispose(&buf);
	assert_ok(gkv_txn_set(txn, "d/new", "n", 1));
	assert_ok(gkv_txn_get(&buf, txn, "d/new"));
	assert_int_equal(buf.size, 1);
	assert_memory_equal(buf.ptr, "n", 1);
	gkv_buf_dispose(&buf);
	assert_ok(gkv_txn_find(&buf, &found, txn, "d/new"));
	assert_int_equal(found, 1);
	gkv_buf_dispose(&buf);
	assert_ok(gkv_txn_list(&list, txn, ""));
	assert_int_equal(gkv_list_count(list), 2);
	assert_string_equal(gkv_list_name(list, 0), "d");
	assert_int_equal(gkv_list_kind(list, 0), GKV_KIND_DIR);
	assert_string_equal(gkv_list_name(list, 1), "old");
	gkv_list_free(list);
	assert_ok(gkv_txn_remove(txn, "old"));
	assert_ok(gkv_txn_find(&buf, &found, txn, "old"));
	assert_int_equal(found, 0);
	assert_rc(GKV_E_NOTFOUND, gkv_txn_get(&buf, txn, "old"));
	assert_ok(gkv_tree_empty(&empty, env->repo));
	assert_ok(gkv_tree_set(&sub, empty, "x", "1", 1));
	assert_ok(gkv_txn_set_tree(txn, "t", sub));
	assert_ok(gkv_txn_get(&buf, txn, "t/x"));
	gkv_buf_dispose(&buf);
	assert_ok(gkv_txn_tree(&tree, txn));
	assert_tree_value(tree, "d/new", "n");
	assert_tree_value(tree, "t/x", "1");

	/* nobody else sees it yet */
	assert_rc(GKV_E_NOTFOUND, gkv_store_get(&buf, env->store, "d/new"));
	assert_rc(GKV_E_NOTFOUND, gkv_store_get(&buf, other, "d/new"));
	assert_value(other, "old", "o");
	assert_ok(gkv_txn_commit(NULL, txn, GKV_TXN_FAIL, NULL));
	gkv_txn_free(txn);
	assert_value(other, "d/new", "n");
	assert_value(other, "t/x", "1");
	assert_rc(GKV_E_NOTFOUND, gkv_store_get(&buf, other, "old"));
	/* the txn's tree is a value: still readable after commit and free */
	assert_tree_value(tree, "d/new", "n");
	gkv_tree_free(tree);
	gkv_tree_free(sub);
	gkv_tree_free(empty);
	gkv_store_free(other);
}

static void fail_strategy_conflicts_when_head_moved(void **state)
{
	conf_env *env = *state;
	gkv_store *other = NULL;
	gkv_txn *txn = NULL;
	gkv_oid moved, out, head;
	gkv_buf buf = {0};

	conf_set(env->store, "a", "1");
	assert_ok(gkv_store_open_branch(&other, env->repo, "main"));
	assert_ok(gkv_txn_begin(&txn, env->store));
	assert_ok(gkv_txn_set(txn, "x", "txn", 3));
	moved = conf_set(other, "y", "other");
	assert_rc(GKV_E_CONFLICT, gkv_txn_commit(&out, txn, GKV_TXN_FAIL, NULL));
	assert_msg_has("main");
	gkv_txn_free(txn);
	head = conf_head(env->store);
	assert_oid_eq(&head, &moved);
	assert_rc(GKV_E_NOTFOUND, gkv_store_get(&buf, env->store, "x"));
	assert_value(env->store, "y", "other");
	assert_int_equal(conf_count_commits(env->repo, &head), 2);
	gkv_store_free(other);
}

static void overwrite_strategy_commits_on_new_head(void **state)
{
	conf_env *env = *state;
	gkv_store *other = NULL;
	gkv_txn *txn = NULL;
	gkv_tree *txn_tree = NULL, *head_tree = NULL;
	gkv_oid moved, out, parent;

	conf_set(env->store, "a", "1");
	assert_ok(gkv_store_open_branch(&other, env->repo, "main"));
	assert_ok(gkv_txn_begin(&txn, env->store));
	assert_ok(gkv_txn_set(txn, "x", "txn", 3));
	moved = conf_set(other, "y", "other");
	assert_ok(gkv_txn_tree(&txn_tree, txn));
	assert_ok(gkv_txn_commit(&out, txn, GKV_TXN_OVERWRITE, NULL));
	gkv_txn_free(txn);
	parent = conf_parent(env->repo, &out, 1);
	assert_oid_eq(&parent, &moved);
	parent = conf_head(env->store);
	assert_oid_eq(&parent, &out);
	assert_ok(gkv_store_tree(&head_tree, env->store));
	assert_true(gkv_tree_equal(head_tree, txn_tree));
	assert_value(env->store, "x", "txn");
	assert_value(env->store, "a", "1");
	gkv_tree_free(head_tree);
	gkv_tree_free(txn_tree);
	gkv_store_free(other);
}

static void unchanged_txn_makes_no_commit(void **state)
{
	conf_env *env = *state;
	gkv_txn *txn = NULL;
	gkv_oid head, after;

	head = conf_set(env->store, "a", "1");
	assert_ok(gkv_txn_begin(&txn, env->store));
	assert_ok(gkv_txn_commit(NULL, txn, GKV_TXN_FAIL, NULL));
	gkv_txn_free(txn);
	assert_ok(gkv_txn_begin(&txn, env->store));
	assert_ok(gkv_txn_set(txn, "a", "1", 1));
	assert_ok(gkv_txn_set(txn, "b", "2", 1));
	assert_ok(gkv_txn_remove(txn, "b"));
	assert_ok(gkv_txn_remove(txn, "absent"));
	assert_ok(gkv_txn_commit(NULL, txn, GKV_TXN_FAIL, NULL));
	gkv_txn_free(txn);
	after = conf_head(env->store);
	assert_oid_eq(&after, &head);
	assert_int_equal(conf_count_commits(env->repo, &after), 1);
}

static void merge_strategy_merges_or_moves_nothing(void **state)
{
	conf_env *env = *state;
	gkv_store *other = NULL;
	gkv_txn *txn = NULL;
	gkv_oid moved, out, head;
	gkv_buf buf = {0};
	char *before, *after;
	int is_anc = -1;

	/* disjoint changes: both land, on top of the moved head */
	conf_set(env->store, "a", "1");
	assert_ok(gkv_store_open_branch(&other, env->repo, "main"));
	assert_ok(gkv_txn_begin(&txn, env->store));
	assert_ok(gkv_txn_set(txn, "x", "txn", 3));
	moved = conf_set(other, "y", "other");
	assert_ok(gkv_txn_commit(&out, txn, GKV_TXN_MERGE, NULL));
	gkv_txn_free(txn);
	head = conf_head(env->store);
	assert_oid_eq(&head, &out);
	assert_ok(gkv_is_ancestor(&is_anc, env->repo, &moved, &head));
	assert_int_equal(is_anc, 1);
	assert_value(env->store, "x", "txn");
	assert_value(env->store, "y", "other");
	assert_value(env->store, "a", "1");

	/* both sides changed one path differently: a conflict, nothing moves */
	assert_ok(gkv_txn_begin(&txn, env->store));
	assert_ok(gkv_txn_set(txn, "a", "mine", 4));
	assert_ok(gkv_txn_set(txn, "z", "mine", 4));
	moved = conf_set(other, "a", "theirs");
	before = conf_state(env->repo);
	assert_rc(GKV_E_CONFLICT, gkv_txn_commit(&out, txn, GKV_TXN_MERGE, NULL));
	assert_msg_has("a");
	gkv_txn_free(txn);
	after = conf_state(env->repo);
	assert_string_equal(before, after);
	head = conf_head(env->store);
	assert_oid_eq(&head, &moved);
	assert_value(env->store, "a", "theirs");
	assert_rc(GKV_E_NOTFOUND, gkv_store_get(&buf, env->store, "z"));
	free(after);
	free(before);
	gkv_store_free(other);
}

static void txn_on_absent_branch_and_with_info(void **state)
{
	conf_env *env = *state;
	gkv_store *s = NULL;
	gkv_txn *txn = NULL;
	gkv_info *info = conf_info("batch of two\n", 1600000000);
	gkv_commit *c = NULL;
	gkv_oid head;

	assert_ok(gkv_store_open_branch(&s, env->repo, "newbranch"));
	assert_ok(gkv_txn_begin(&txn, s));
	assert_ok(gkv_txn_set(txn, "a", "1", 1));
	assert_ok(gkv_txn_set(txn, "b", "2", 1));
	assert_ok(gkv_txn_commit(&head, txn, GKV_TXN_FAIL, info));
	gkv_txn_free(txn);
	gkv_info_free(info);
	assert_ok(gkv_commit_lookup(&c, env->repo, &head));
	assert_int_equal(gkv_commit_parentcount(c), 0);
	assert_string_equal(gkv_commit_message(c), "batch of two\n");
	assert_int_equal(gkv_signature_time(gkv_commit_committer(c)), 1600000000);
	gkv_commit_free(c);
	{
		gkv_oid b = conf_branch_head(env->repo, "newbranch");

		assert_oid_eq(&b, &head);
	}
	assert_value(s, "b", "2");
	gkv_store_free(s);
}

static void fail_when_branch_created_meanwhile(void **state)
{
	conf_env *env = *state;
	gkv_store *a = NULL, *b = NULL;
	gkv_txn *txn = NULL;
	gkv_oid other_head, head;
	gkv_buf buf = {0};

	assert_ok(gkv_store_open_branch(&a, env->repo, "race"));
	assert_ok(gkv_store_open_branch(&b, env->repo, "race"));
	assert_ok(gkv_txn_begin(&txn, a));
	assert_ok(gkv_txn_set(txn, "mine", "1", 1));
	other_head = conf_set(b, "theirs", "2");
	assert_rc(GKV_E_CONFLICT, gkv_txn_commit(NULL, txn, GKV_TXN_FAIL, NULL));
	gkv_txn_free(txn);
	head = conf_branch_head(env->repo, "race");
	assert_oid_eq(&head, &other_head);
	assert_rc(GKV_E_NOTFOUND, gkv_store_get(&buf, a, "mine"));
	gkv_store_free(a);
	gkv_store_free(b);
}

static void txn_on_commit_view_moves_only_the_view(void **state)
{
	conf_env *env = *state;
	gkv_store *view = NULL;
	gkv_txn *txn = NULL;
	gkv_oid h1, h2, out, parent;
	char *before, *after;

	h1 = conf_set(env->store, "a", "1");
	h2 = conf_set(env->store, "a", "2");
	before = conf_state(env->repo);
	assert_ok(gkv_store_open_commit(&view, env->repo, &h1));
	assert_ok(gkv_txn_begin(&txn, view));
	assert_ok(gkv_txn_set(txn, "b", "3", 1));
	assert_ok(gkv_txn_commit(&out, txn, GKV_TXN_FAIL, NULL));
	gkv_txn_free(txn);
	parent = conf_parent(env->repo, &out, 1);
	assert_oid_eq(&parent, &h1);
	parent = conf_head(view);
	assert_oid_eq(&parent, &out);
	assert_value(view, "b", "3");
	after = conf_state(env->repo);
	assert_string_equal(before, after);
	parent = conf_branch_head(env->repo, "main");
	assert_oid_eq(&parent, &h2);
	free(after);
	free(before);
	gkv_store_free(view);
}

static void finished_txn_refuses_more(void **state)
{
	conf_env *env = *state;
	gkv_txn *txn = NULL;
	gkv_oid h1, out;

	assert_ok(gkv_txn_begin(&txn, env->store));
	assert_ok(gkv_txn_set(txn, "a", "1", 1));
	assert_ok(gkv_txn_commit(&h1, txn, GKV_TXN_FAIL, NULL));
	assert_true(gkv_txn_set(txn, "b", "2", 1) < 0);
	assert_true(gkv_txn_commit(&out, txn, GKV_TXN_FAIL, NULL) < 0);
	gkv_txn_free(txn);
	out = conf_head(env->store);
	assert_oid_eq(&out, &h1);
	assert_int_equal(conf_count_commits(env->repo, &out), 1);
	/* freeing an uncommitted transaction aborts it */
	assert_ok(gkv_txn_begin(&txn, env->store));
	assert_ok(gkv_txn_set(txn, "c", "3", 1));
	gkv_txn_free(txn);
	out = conf_head(env->store);
	assert_oid_eq(&out, &h1);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    CONF_TEST(many_writes_one_commit),
	    CONF_TEST(reads_see_own_writes_only),
	    CONF_TEST(fail_strategy_conflicts_when_head_moved),
	    CONF_TEST(overwrite_strategy_commits_on_new_head),
	    CONF_TEST(unchanged_txn_makes_no_commit),
	    CONF_TEST(merge_strategy_merges_or_moves_nothing),
	    CONF_TEST(txn_on_absent_branch_and_with_info),
	    CONF_TEST(fail_when_branch_created_meanwhile),
	    CONF_TEST(txn_on_commit_view_moves_only_the_view),
	    CONF_TEST(finished_txn_refuses_more),
	};

	return CONF_MAIN(argc, argv, tests);
}
