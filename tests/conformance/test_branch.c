/*
 * test_branch.c -- branches as git refs: sorted listing, create, delete,
 * compare-and-swap and fast-forward, each failing cleanly (leaving every
 * head as it was) when its precondition does not hold.
 */
#include "conformance.h"

#include <stdio.h>
#include <stdlib.h>

static void list_is_sorted_by_bytes(void **state)
{
	conf_env *env = *state;
	static const char *const names[] = {"zeta", "alpha", "Beta", "feature/x", "feature-y", "a"};
	static const char *const sorted[] = {"Beta",	  "a",	  "alpha", "feature-y",
					     "feature/x", "main", "zeta"};
	gkv_strarray list = {0};
	gkv_oid head;

	head = conf_set(env->store, "k", "v");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_ok(gkv_branch_create(env->repo, names[i], &head));
	assert_ok(gkv_branch_list(&list, env->repo));
	assert_int_equal(list.count, sizeof(sorted) / sizeof(sorted[0]));
	for (size_t i = 0; i < list.count; i++)
		assert_string_equal(list.strings[i], sorted[i]);
	gkv_strarray_dispose(&list);
	assert_null(list.strings);
	assert_int_equal(list.count, 0);
}

static void create_and_delete(void **state)
{
	conf_env *env = *state;
	gkv_oid h1, h2, out, missing;
	gkv_strarray list = {0};
	gkv_store *s = NULL;
	char *before, *after;
	int rc;

	h1 = conf_set(env->store, "k", "1");
	h2 = conf_set(env->store, "k", "2");
	assert_ok(gkv_branch_create(env->repo, "old", &h1));
	out = conf_branch_head(env->repo, "old");
	assert_oid_eq(&out, &h1);
	assert_ok(gkv_store_open_branch(&s, env->repo, "old"));
	assert_value(s, "k", "1");
	gkv_store_free(s);

	before = conf_state(env->repo);
	assert_rc(GKV_E_EXISTS, gkv_branch_create(env->repo, "old", &h2));
	assert_msg_has("old");
	assert_ok(gkv_oid_fromstr(&missing, "0123456789abcdef0123456789abcdef01234567"));
	assert_rc(GKV_E_NOTFOUND, gkv_branch_create(env->repo, "ghost", &missing));
	/* a tree is not a commit */
	{
		gkv_commit *c = NULL;

		assert_ok(gkv_commit_lookup(&c, env->repo, &h2));
		rc = gkv_branch_create(env->repo, "treeish", gkv_commit_tree_id(c));
		assert_true(rc == GKV_E_NOTFOUND || rc == GKV_E_INVALID);
		gkv_commit_free(c);
	}
	after = conf_state(env->repo);
	assert_string_equal(before, after);
	free(after);
	free(before);

	assert_ok(gkv_branch_delete(env->repo, "old"));
	assert_rc(GKV_E_NOTFOUND, gkv_branch_head(&out, env->repo, "old"));
	assert_msg_has("old");
	assert_rc(GKV_E_NOTFOUND, gkv_branch_delete(env->repo, "old"));
	assert_ok(gkv_branch_list(&list, env->repo));
	assert_int_equal(list.count, 1);
	assert_string_equal(list.strings[0], "main");
	gkv_strarray_dispose(&list);
	/* deleting a branch keeps its commits reachable by id */
	assert_ok(gkv_branch_create(env->repo, "again", &h1));
	out = conf_branch_head(env->repo, "again");
	assert_oid_eq(&out, &h1);
}

static void compare_and_swap(void **state)
{
	conf_env *env = *state;
	gkv_oid h1, h2, out, missing;
	char *before, *after;

	h1 = conf_set(env->store, "k", "1");
	h2 = conf_set(env->store, "k", "2");
	assert_ok(gkv_branch_cas(env->repo, "main", &h2, &h1));
	out = conf_branch_head(env->repo, "main");
	assert_oid_eq(&out, &h1);
	assert_value(env->store, "k", "1");

	before = conf_state(env->repo);
	assert_rc(GKV_E_CONFLICT, gkv_branch_cas(env->repo, "main", &h2, &h1));
	assert_msg_has("main");
	assert_rc(GKV_E_CONFLICT, gkv_branch_cas(env->repo, "main", NULL, &h2));
	assert_rc(GKV_E_CONFLICT, gkv_branch_cas(env->repo, "absent", &h1, &h2));
	assert_rc(GKV_E_CONFLICT, gkv_branch_cas(env->repo, "main", &h2, NULL));
	assert_ok(gkv_oid_fromstr(&missing, "0123456789abcdef0123456789abcdef01234567"));
	assert_rc(GKV_E_NOTFOUND, gkv_branch_cas(env->repo, "main", &h1, &missing));
	after = conf_state(env->repo);
	assert_string_equal(before, after);
	free(after);
	free(before);

	/* NULL expected creates, NULL new deletes */
	assert_ok(gkv_branch_cas(env->repo, "made", NULL, &h2));
	out = conf_branch_head(env->repo, "made");
	assert_oid_eq(&out, &h2);
	assert_ok(gkv_branch_cas(env->repo, "made", &h2, NULL));
	assert_rc(GKV_E_NOTFOUND, gkv_branch_head(&out, env->repo, "made"));
}

static void fast_forward(void **state)
{
	conf_env *env = *state;
	gkv_oid h1, h2, h3, side, out;
	gkv_store *s = NULL;

	h1 = conf_set(env->store, "k", "1");
	h2 = conf_set(env->store, "k", "2");
	h3 = conf_set(env->store, "k", "3");
	side = conf_commit(env->repo, &h1, 1, 1700000000, "side", "s");

	assert_ok(gkv_branch_create(env->repo, "ff", &h1));
	assert_ok(gkv_branch_fast_forward(env->repo, "ff", &h2));
	out = conf_branch_head(env->repo, "ff");
	assert_oid_eq(&out, &h2);
	assert_ok(gkv_branch_fast_forward(env->repo, "ff", &h2)); /* already there */
	assert_ok(gkv_branch_fast_forward(env->repo, "ff", &h3));
	out = conf_branch_head(env->repo, "ff");
	assert_oid_eq(&out, &h3);
	/* backwards and sideways would lose commits */
	assert_rc(GKV_E_NONFASTFORWARD, gkv_branch_fast_forward(env->repo, "ff", &h1));
	assert_msg_has("ff");
	assert_rc(GKV_E_NONFASTFORWARD, gkv_branch_fast_forward(env->repo, "ff", &side));
	out = conf_branch_head(env->repo, "ff");
	assert_oid_eq(&out, &h3);
	/* an absent branch is created */
	assert_ok(gkv_branch_fast_forward(env->repo, "newff", &side));
	assert_ok(gkv_store_open_branch(&s, env->repo, "newff"));
	assert_value(s, "side", "s");
	assert_value(s, "k", "1");
	gkv_store_free(s);
}

static void absent_branch_store(void **state)
{
	conf_env *env = *state;
	gkv_store *s = NULL;
	gkv_oid out, head;
	gkv_buf buf = {0};
	gkv_list *list = NULL;
	gkv_strarray names = {0};

	conf_set(env->store, "main-only", "m");
	assert_ok(gkv_store_open_branch(&s, env->repo, "fresh"));
	assert_string_equal(gkv_store_branch(s), "fresh");
	assert_rc(GKV_E_NOTFOUND, gkv_store_head(&out, s));
	assert_rc(GKV_E_NOTFOUND, gkv_store_get(&buf, s, "main-only"));
	assert_ok(gkv_store_list(&list, s, ""));
	assert_int_equal(gkv_list_count(list), 0);
	gkv_list_free(list);
	/* opening the store made no branch */
	assert_rc(GKV_E_NOTFOUND, gkv_branch_head(&out, env->repo, "fresh"));
	head = conf_set(s, "k", "v");
	conf_parent(env->repo, &head, 0);
	out = conf_branch_head(env->repo, "fresh");
	assert_oid_eq(&out, &head);
	assert_ok(gkv_branch_list(&names, env->repo));
	assert_int_equal(names.count, 2);
	assert_string_equal(names.strings[0], "fresh");
	gkv_strarray_dispose(&names);
	/* deleted under the store: it reads empty again, and a write starts anew */
	assert_ok(gkv_branch_delete(env->repo, "fresh"));
	assert_rc(GKV_E_NOTFOUND, gkv_store_get(&buf, s, "k"));
	head = conf_set(s, "k2", "v2");
	conf_parent(env->repo, &head, 0);
	assert_rc(GKV_E_NOTFOUND, gkv_store_get(&buf, s, "k"));
	gkv_store_free(s);
}

static void branches_are_independent(void **state)
{
	conf_env *env = *state;
	gkv_store *dev = NULL;
	gkv_oid base, out;
	gkv_buf buf = {0};

	base = conf_set(env->store, "shared", "1");
	assert_ok(gkv_branch_create(env->repo, "dev", &base));
	assert_ok(gkv_store_open_branch(&dev, env->repo, "dev"));
	conf_set(dev, "dev-only", "d");
	conf_set(env->store, "main-only", "m");
	assert_rc(GKV_E_NOTFOUND, gkv_store_get(&buf, env->store, "dev-only"));
	assert_rc(GKV_E_NOTFOUND, gkv_store_get(&buf, dev, "main-only"));
	assert_value(dev, "shared", "1");
	out = conf_head(dev);
	out = conf_parent(env->repo, &out, 1);
	assert_oid_eq(&out, &base);
	gkv_store_free(dev);
}

static void branches_persist(void **state)
{
	conf_env *env = *state;
	gkv_oid h1, h2, out;
	char *before, *after;

	if (!conf_persistent())
		skip();
	h1 = conf_set(env->store, "k", "1");
	h2 = conf_set(env->store, "k", "2");
	assert_ok(gkv_branch_create(env->repo, "b1", &h1));
	assert_ok(gkv_branch_create(env->repo, "gone", &h1));
	assert_ok(gkv_branch_delete(env->repo, "gone"));
	before = conf_state(env->repo);
	conf_reopen(env);
	after = conf_state(env->repo);
	assert_string_equal(before, after);
	out = conf_branch_head(env->repo, "main");
	assert_oid_eq(&out, &h2);
	free(after);
	free(before);
}

static void many_branches(void **state)
{
	conf_env *env = *state;
	gkv_strarray list = {0};
	gkv_oid head;
	char name[32];

	head = conf_set(env->store, "k", "v");
	/* created in an order unlike the sorted one */
	for (int i = 299; i >= 0; i--) {
		snprintf(name, sizeof(name), "b/%d", (i * 7919) % 300);
		assert_ok(gkv_branch_create(env->repo, name, &head));
	}
	assert_ok(gkv_branch_list(&list, env->repo));
	assert_int_equal(list.count, 301);
	for (size_t i = 1; i < list.count; i++)
		assert_true(strcmp(list.strings[i - 1], list.strings[i]) < 0);
	assert_string_equal(list.strings[0], "b/0");
	assert_string_equal(list.strings[300], "main");
	gkv_strarray_dispose(&list);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    CONF_TEST(list_is_sorted_by_bytes), CONF_TEST(create_and_delete),
	    CONF_TEST(compare_and_swap),	CONF_TEST(fast_forward),
	    CONF_TEST(absent_branch_store),	CONF_TEST(branches_are_independent),
	    CONF_TEST(branches_persist),	CONF_TEST(many_branches),
	};

	return CONF_MAIN(argc, argv, tests);
}
