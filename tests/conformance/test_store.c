/*
 * test_store.c -- the store view: reads (get, find, mem, kind, list,
 * get_tree) on values, directories and absent paths; writes (set, remove,
 * set_tree, test_and_set), each making exactly one commit on the previous
 * head, none when nothing changes; commit metadata; fixed-commit views.
 */
#include "conformance.h"

#include <stdio.h>
#include <stdlib.h>

static void fill(gkv_store *s)
{
	conf_set(s, "a/b/c", "1");
	conf_set(s, "a/d", "2");
	conf_set(s, "e", "3");
}

static void check_list(gkv_list *list, size_t n, const char *const *names, const gkv_kind *kinds)
{
	assert_int_equal(gkv_list_count(list), n);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(gkv_list_name(list, i), names[i]);
		assert_int_equal(gkv_list_kind(list, i), kinds[i]);
	}
}

static void reads_on_values_dirs_and_absent(void **state)
{
	conf_env *env = *state;
	gkv_store *s = env->store;
	gkv_buf buf = {0};
	gkv_kind kind;
	gkv_list *list = NULL;
	gkv_tree *tree = NULL;
	int found = -1, mem = -1;

	fill(s);
	assert_value(s, "a/b/c", "1");
	assert_value(s, "a/d", "2");
	assert_value(s, "e", "3");
	assert_rc(GKV_E_NOTFOUND, gkv_store_get(&buf, s, "a"));
	assert_msg_has("a");
	assert_rc(GKV_E_NOTFOUND, gkv_store_get(&buf, s, "zz"));
	assert_msg_has("zz");
	assert_rc(GKV_E_NOTFOUND, gkv_store_get(&buf, s, "e/below"));
	assert_rc(GKV_E_NOTFOUND, gkv_store_get(&buf, s, "a/b/c/d"));

	assert_ok(gkv_store_find(&buf, &found, s, "a/d"));
	assert_int_equal(found, 1);
	assert_int_equal(buf.size, 1);
	assert_memory_equal(buf.ptr, "2", 1);
	gkv_buf_dispose(&buf);
	found = -1;
	assert_ok(gkv_store_find(&buf, &found, s, "zz"));
	assert_int_equal(found, 0);
	assert_int_equal(buf.size, 0);
	found = -1;
	assert_ok(gkv_store_find(&buf, &found, s, "a"));
	assert_int_equal(found, 0);
	assert_int_equal(buf.size, 0);

	assert_ok(gkv_store_mem(&mem, s, "a/d"));
	assert_int_equal(mem, 1);
	assert_ok(gkv_store_mem(&mem, s, "a"));
	assert_int_equal(mem, 0);
	assert_ok(gkv_store_mem(&mem, s, "zz"));
	assert_int_equal(mem, 0);
	assert_ok(gkv_store_mem(&mem, s, "e/below"));
	assert_int_equal(mem, 0);

	assert_ok(gkv_store_kind(&kind, s, "a"));
	assert_int_equal(kind, GKV_KIND_DIR);
	assert_ok(gkv_store_kind(&kind, s, "a/b/c"));
	assert_int_equal(kind, GKV_KIND_VALUE);
	assert_ok(gkv_store_kind(&kind, s, "zz"));
	assert_int_equal(kind, GKV_KIND_NONE);
	assert_ok(gkv_store_kind(&kind, s, "e/below"));
	assert_int_equal(kind, GKV_KIND_NONE);
	assert_ok(gkv_store_kind(&kind, s, ""));
	assert_int_equal(kind, GKV_KIND_DIR);

	assert_ok(gkv_store_list(&list, s, ""));
	check_list(list, 2, (const char *const[]){"a", "e"},
		   (const gkv_kind[]){GKV_KIND_DIR, GKV_KIND_VALUE});
	gkv_list_free(list);
	assert_ok(gkv_store_list(&list, s, "a"));
	check_list(list, 2, (const char *const[]){"b", "d"},
		   (const gkv_kind[]){GKV_KIND_DIR, GKV_KIND_VALUE});
	gkv_list_free(list);
	list = NULL;
	assert_rc(GKV_E_NOTFOUND, gkv_store_list(&list, s, "a/d"));
	assert_rc(GKV_E_NOTFOUND, gkv_store_list(&list, s, "zz"));

	assert_ok(gkv_store_get_tree(&tree, s, "a"));
	assert_tree_value(tree, "b/c", "1");
	assert_tree_value(tree, "d", "2");
	gkv_tree_free(tree);
	assert_ok(gkv_store_get_tree(&tree, s, ""));
	assert_tree_value(tree, "a/b/c", "1");
	gkv_tree_free(tree);
	tree = NULL;
	assert_rc(GKV_E_NOTFOUND, gkv_store_get_tree(&tree, s, "e"));
	assert_rc(GKV_E_NOTFOUND, gkv_store_get_tree(&tree, s, "zz"));
}

static void empty_branch_reads_empty(void **state)
{
	conf_env *env = *state;
	gkv_list *list = NULL;
	gkv_tree *tree = NULL;
	gkv_buf buf = {0};
	int found = -1;

	assert_rc(GKV_E_NOTFOUND, gkv_store_get(&buf, env->store, "a"));
	assert_ok(gkv_store_find(&buf, &found, env->store, "a"));
	assert_int_equal(found, 0);
	assert_ok(gkv_store_list(&list, env->store, ""));
	assert_int_equal(gkv_list_count(list), 0);
	gkv_list_free(list);
	assert_ok(gkv_store_get_tree(&tree, env->store, ""));
	assert_true(gkv_tree_is_empty(tree));
	gkv_tree_free(tree);
}

static void binary_empty_and_big_values(void **state)
{
	conf_env *env = *state;
	static const unsigned char bin[] = {0, 'a', 0, 0xff, 0, '\n', 0x80};
	size_t big_len = (5 << 20) + 123;
	unsigned char *big = malloc(big_len);
	gkv_buf buf = {0};
	gkv_kind kind;
	int found = -1, mem = -1;

	assert_non_null(big);
	for (size_t i = 0; i < big_len; i++)
		big[i] = (unsigned char)((i * 2654435761u) >> 11);
	assert_ok(gkv_store_set(NULL, env->store, "bin", bin, sizeof(bin), NULL));
	assert_ok(gkv_store_set(NULL, env->store, "empty", "", 0, NULL));
	assert_ok(gkv_store_set(NULL, env->store, "big", big, big_len, NULL));

	assert_ok(gkv_store_get(&buf, env->store, "bin"));
	assert_int_equal(buf.size, sizeof(bin));
	assert_memory_equal(buf.ptr, bin, sizeof(bin));
	gkv_buf_dispose(&buf);
	assert_ok(gkv_store_get(&buf, env->store, "empty"));
	assert_int_equal(buf.size, 0);
	gkv_buf_dispose(&buf);
	assert_ok(gkv_store_find(&buf, &found, env->store, "empty"));
	assert_int_equal(found, 1);
	assert_int_equal(buf.size, 0);
	gkv_buf_dispose(&buf);
	assert_ok(gkv_store_mem(&mem, env->store, "empty"));
	assert_int_equal(mem, 1);
	assert_ok(gkv_store_kind(&kind, env->store, "empty"));
	assert_int_equal(kind, GKV_KIND_VALUE);
	assert_ok(gkv_store_get(&buf, env->store, "big"));
	assert_int_equal(buf.size, big_len);
	assert_memory_equal(buf.ptr, big, big_len);
	gkv_buf_dispose(&buf);

	if (conf_persistent()) {
		conf_reopen(env);
		assert_ok(gkv_store_get(&buf, env->store, "big"));
		assert_int_equal(buf.size, big_len);
		assert_memory_equal(buf.ptr, big, big_len);
		gkv_buf_dispose(&buf);
		assert_ok(gkv_store_get(&buf, env->store, "bin"));
		assert_int_equal(buf.size, sizeof(bin));
		assert_memory_equal(buf.ptr, bin, sizeof(bin));
		gkv_buf_dispose(&buf);
	}
	free(big);
}

static void value_and_directory_replace_each_other(void **state)
{
	conf_env *env = *state;
	gkv_kind kind;
	gkv_buf buf = {0};

	conf_set(env->store, "x", "v");
	conf_set(env->store, "x/y/z", "w");
	assert_ok(gkv_store_kind(&kind, env->store, "x"));
	assert_int_equal(kind, GKV_KIND_DIR);
	assert_value(env->store, "x/y/z", "w");
	conf_set(env->store, "x", "v2");
	assert_ok(gkv_store_kind(&kind, env->store, "x"));
	assert_int_equal(kind, GKV_KIND_VALUE);
	assert_value(env->store, "x", "v2");
	assert_rc(GKV_E_NOTFOUND, gkv_store_get(&buf, env->store, "x/y/z"));
	assert_ok(gkv_store_kind(&kind, env->store, "x/y"));
	assert_int_equal(kind, GKV_KIND_NONE);
}

static void removing_last_entry_removes_directory(void **state)
{
	conf_env *env = *state;
	gkv_kind kind;
	gkv_list *list = NULL;

	conf_set(env->store, "keep", "k");
	conf_set(env->store, "p/q/r", "1");
	conf_set(env->store, "p/s", "2");
	conf_remove(env->store, "p/q/r");
	assert_ok(gkv_store_kind(&kind, env->store, "p/q"));
	assert_int_equal(kind, GKV_KIND_NONE);
	assert_ok(gkv_store_kind(&kind, env->store, "p"));
	assert_int_equal(kind, GKV_KIND_DIR);
	conf_remove(env->store, "p/s");
	assert_ok(gkv_store_kind(&kind, env->store, "p"));
	assert_int_equal(kind, GKV_KIND_NONE);
	assert_ok(gkv_store_list(&list, env->store, ""));
	assert_int_equal(gkv_list_count(list), 1);
	assert_string_equal(gkv_list_name(list, 0), "keep");
	gkv_list_free(list);

	/* removing a directory removes everything under it */
	conf_set(env->store, "t/u/v", "1");
	conf_set(env->store, "t/w", "2");
	conf_remove(env->store, "t");
	assert_ok(gkv_store_kind(&kind, env->store, "t"));
	assert_int_equal(kind, GKV_KIND_NONE);
	assert_value(env->store, "keep", "k");

	/* removing the last value leaves an empty tree, as a commit */
	{
		gkv_oid head = conf_remove(env->store, "keep");
		gkv_commit *c = NULL;

		assert_ok(gkv_commit_lookup(&c, env->repo, &head));
		assert_oid_hex(gkv_commit_tree_id(c), "4b825dc642cb6eb9a060e54bf8d69288fbee4904");
		gkv_commit_free(c);
	}
}

static void remove_absent_is_notfound_and_commits_nothing(void **state)
{
	conf_env *env = *state;
	gkv_oid head, after, out;

	assert_rc(GKV_E_NOTFOUND, gkv_store_remove(&out, env->store, "nothing", NULL));
	assert_rc(GKV_E_NOTFOUND, gkv_store_head(&after, env->store));
	head = conf_set(env->store, "a/b", "1");
	assert_rc(GKV_E_NOTFOUND, gkv_store_remove(&out, env->store, "nothing", NULL));
	assert_msg_has("nothing");
	assert_rc(GKV_E_NOTFOUND, gkv_store_remove(&out, env->store, "a/b/c", NULL));
	assert_rc(GKV_E_NOTFOUND, gkv_store_remove(&out, env->store, "a/x", NULL));
	after = conf_head(env->store);
	assert_oid_eq(&head, &after);
	assert_int_equal(conf_count_commits(env->repo, &after), 1);
}

static void same_value_makes_no_commit(void **state)
{
	conf_env *env = *state;
	gkv_oid head, out;
	gkv_tree *tree = NULL;

	head = conf_set(env->store, "a/b", "1");
	memset(&out, 0, sizeof(out));
	assert_ok(gkv_store_set(&out, env->store, "a/b", "1", 1, NULL));
	assert_oid_eq(&out, &head);
	out = conf_head(env->store);
	assert_oid_eq(&out, &head);
	/* set_tree of what is already there */
	assert_ok(gkv_store_get_tree(&tree, env->store, "a"));
	assert_ok(gkv_store_set_tree(&out, env->store, "a", tree, NULL));
	assert_oid_eq(&out, &head);
	gkv_tree_free(tree);
	out = conf_head(env->store);
	assert_oid_eq(&out, &head);
	assert_int_equal(conf_count_commits(env->repo, &head), 1);
}

static void each_write_is_one_commit_on_the_head(void **state)
{
	conf_env *env = *state;
	gkv_oid h[6], parent, branch;
	gkv_buf expected = {(unsigned char *)"2", 1}, neu = {(unsigned char *)"3", 1};
	gkv_tree *tree = NULL, *t2 = NULL;

	h[0] = conf_set(env->store, "a", "1");
	conf_parent(env->repo, &h[0], 0);
	h[1] = conf_set(env->store, "a", "2");
	h[2] = conf_set(env->store, "b/c", "x");
	h[3] = conf_remove(env->store, "b/c");
	assert_ok(gkv_tree_empty(&tree, env->repo));
	assert_ok(gkv_tree_set(&t2, tree, "v", "w", 1));
	assert_ok(gkv_store_set_tree(&h[4], env->store, "sub", t2, NULL));
	gkv_tree_free(t2);
	gkv_tree_free(tree);
	assert_ok(gkv_store_test_and_set(&h[5], env->store, "a", &expected, &neu, NULL));
	for (int i = 1; i < 6; i++) {
		parent = conf_parent(env->repo, &h[i], 1);
		assert_oid_eq(&parent, &h[i - 1]);
	}
	branch = conf_branch_head(env->repo, "main");
	assert_oid_eq(&branch, &h[5]);
	branch = conf_head(env->store);
	assert_oid_eq(&branch, &h[5]);
	assert_int_equal(conf_count_commits(env->repo, &h[5]), 6);
	assert_value(env->store, "a", "3");
	assert_value(env->store, "sub/v", "w");
}

static void commit_metadata_from_info(void **state)
{
	conf_env *env = *state;
	gkv_info *info = NULL;
	gkv_signature *author = NULL, *committer = NULL;
	gkv_commit *c = NULL;
	gkv_oid head;
	const gkv_signature *sig;

	assert_ok(gkv_info_new(&info, "Custom summary\n\nand a body\n"));
	assert_ok(gkv_signature_new(&author, "Alice", "alice@example.com", 1234567890, 120));
	assert_ok(gkv_signature_new(&committer, "Bob", "bob@example.com", 1234567999, -300));
	assert_ok(gkv_info_set_author(info, author));
	assert_ok(gkv_info_set_committer(info, committer));
	gkv_signature_free(author);
	gkv_signature_free(committer);
	assert_ok(gkv_store_set(&head, env->store, "k", "v", 1, info));
	gkv_info_free(info);

	assert_ok(gkv_commit_lookup(&c, env->repo, &head));
	assert_oid_eq(gkv_commit_id(c), &head);
	assert_string_equal(gkv_commit_message(c), "Custom summary\n\nand a body\n");
	assert_string_equal(gkv_commit_summary(c), "Custom summary");
	sig = gkv_commit_author(c);
	assert_string_equal(gkv_signature_name(sig), "Alice");
	assert_string_equal(gkv_signature_email(sig), "alice@example.com");
	assert_int_equal(gkv_signature_time(sig), 1234567890);
	assert_int_equal(gkv_signature_offset(sig), 120);
	sig = gkv_commit_committer(c);
	assert_string_equal(gkv_signature_name(sig), "Bob");
	assert_string_equal(gkv_signature_email(sig), "bob@example.com");
	assert_int_equal(gkv_signature_time(sig), 1234567999);
	assert_int_equal(gkv_signature_offset(sig), -300);
	gkv_commit_free(c);

	/* a message is stored as given: no newline added */
	assert_ok(gkv_info_new(&info, "no newline"));
	assert_ok(gkv_store_set(&head, env->store, "k", "w", 1, info));
	gkv_info_free(info);
	assert_ok(gkv_commit_lookup(&c, env->repo, &head));
	assert_string_equal(gkv_commit_message(c), "no newline");
	assert_string_equal(gkv_commit_summary(c), "no newline");
	/* no signature in info: the repo's default author */
	assert_string_equal(gkv_signature_name(gkv_commit_author(c)), "Conformance");
	gkv_commit_free(c);
}

static void default_info_names_operation_and_path(void **state)
{
	conf_env *env = *state;
	gkv_commit *c = NULL;
	gkv_oid head;

	head = conf_set(env->store, "some/where/key", "v");
	assert_ok(gkv_commit_lookup(&c, env->repo, &head));
	assert_non_null(strstr(gkv_commit_message(c), "some/where/key"));
	assert_string_equal(gkv_signature_name(gkv_commit_author(c)), "Conformance");
	assert_string_equal(gkv_signature_email(gkv_commit_author(c)), "conformance@example.com");
	assert_string_equal(gkv_signature_name(gkv_commit_committer(c)), "Conformance");
	assert_true(gkv_signature_time(gkv_commit_author(c)) > 1600000000);
	gkv_commit_free(c);
	head = conf_remove(env->store, "some/where/key");
	assert_ok(gkv_commit_lookup(&c, env->repo, &head));
	assert_non_null(strstr(gkv_commit_message(c), "some/where/key"));
	gkv_commit_free(c);
}

static void commit_view_reads_and_moves_only_itself(void **state)
{
	conf_env *env = *state;
	gkv_store *view = NULL;
	gkv_oid h1, h2, h3, out, parent, missing, blob;
	char *before, *after;

	h1 = conf_set(env->store, "a", "1");
	h2 = conf_set(env->store, "a", "2");
	before = conf_state(env->repo);
	assert_ok(gkv_store_open_commit(&view, env->repo, &h1));
	assert_null(gkv_store_branch(view));
	out = conf_head(view);
	assert_oid_eq(&out, &h1);
	assert_value(view, "a", "1");
	h3 = conf_set(view, "b", "3");
	parent = conf_parent(env->repo, &h3, 1);
	assert_oid_eq(&parent, &h1);
	out = conf_head(view);
	assert_oid_eq(&out, &h3);
	assert_value(view, "b", "3");
	assert_value(view, "a", "1");
	/* no branch moved, none was made */
	after = conf_state(env->repo);
	assert_string_equal(before, after);
	free(after);
	out = conf_branch_head(env->repo, "main");
	assert_oid_eq(&out, &h2);
	assert_value(env->store, "a", "2");
	gkv_store_free(view);
	view = NULL;

	assert_ok(gkv_oid_fromstr(&missing, "0123456789abcdef0123456789abcdef01234567"));
	assert_rc(GKV_E_NOTFOUND, gkv_store_open_commit(&view, env->repo, &missing));
	assert_ok(gkv_hash(&blob, GKV_OBJ_BLOB, "1", 1));
	assert_rc(GKV_E_INVALID, gkv_store_open_commit(&view, env->repo, &blob));
	after = conf_state(env->repo);
	assert_string_equal(before, after);
	free(after);
	free(before);
}

static void test_and_set_semantics(void **state)
{
	conf_env *env = *state;
	gkv_buf one = {(unsigned char *)"1", 1}, two = {(unsigned char *)"2", 1};
	gkv_buf wrong = {(unsigned char *)"x", 1};
	gkv_oid h1, h2, out, head;
	gkv_buf buf = {0};

	/* expected NULL: only if absent */
	assert_ok(gkv_store_test_and_set(&h1, env->store, "k", NULL, &one, NULL));
	assert_value(env->store, "k", "1");
	assert_rc(GKV_E_CONFLICT, gkv_store_test_and_set(&out, env->store, "k", NULL, &two, NULL));
	assert_msg_has("k");
	head = conf_head(env->store);
	assert_oid_eq(&head, &h1);
	assert_rc(GKV_E_CONFLICT,
		  gkv_store_test_and_set(&out, env->store, "k", &wrong, &two, NULL));
	head = conf_head(env->store);
	assert_oid_eq(&head, &h1);
	assert_value(env->store, "k", "1");
	assert_rc(GKV_E_CONFLICT,
		  gkv_store_test_and_set(&out, env->store, "absent", &one, &two, NULL));
	assert_ok(gkv_store_test_and_set(&h2, env->store, "k", &one, &two, NULL));
	assert_value(env->store, "k", "2");
	out = conf_parent(env->repo, &h2, 1);
	assert_oid_eq(&out, &h1);
	/* new NULL: remove */
	assert_ok(gkv_store_test_and_set(&out, env->store, "k", &two, NULL, NULL));
	assert_rc(GKV_E_NOTFOUND, gkv_store_get(&buf, env->store, "k"));
	assert_int_equal(conf_count_commits(env->repo, &out), 3);
	/* a directory is not a value */
	conf_set(env->store, "d/x", "1");
	head = conf_head(env->store);
	assert_rc(GKV_E_CONFLICT, gkv_store_test_and_set(&out, env->store, "d", NULL, &one, NULL));
	out = conf_head(env->store);
	assert_oid_eq(&out, &head);
}

static void two_stores_on_one_branch_see_each_other(void **state)
{
	conf_env *env = *state;
	gkv_store *other = NULL;
	gkv_oid h1, h2, parent;

	assert_ok(gkv_store_open_branch(&other, env->repo, "main"));
	h1 = conf_set(env->store, "a", "1");
	assert_value(other, "a", "1");
	h2 = conf_set(other, "b", "2");
	parent = conf_parent(env->repo, &h2, 1);
	assert_oid_eq(&parent, &h1);
	assert_value(env->store, "b", "2");
	assert_value(env->store, "a", "1");
	gkv_store_free(other);
}

static void set_tree_places_and_removes(void **state)
{
	conf_env *env = *state;
	gkv_tree *empty = NULL, *t = NULL, *t2 = NULL, *got = NULL;
	gkv_kind kind;
	gkv_list *list = NULL;

	conf_set(env->store, "keep", "k");
	assert_ok(gkv_tree_empty(&empty, env->repo));
	assert_ok(gkv_tree_set(&t, empty, "x", "1", 1));
	assert_ok(gkv_tree_set(&t2, t, "y/z", "2", 1));
	assert_ok(gkv_store_set_tree(NULL, env->store, "sub/dir", t2, NULL));
	assert_value(env->store, "sub/dir/x", "1");
	assert_value(env->store, "sub/dir/y/z", "2");
	assert_ok(gkv_store_get_tree(&got, env->store, "sub/dir"));
	assert_true(gkv_tree_equal(got, t2));
	gkv_tree_free(got);
	/* an empty tree removes the path */
	assert_ok(gkv_store_set_tree(NULL, env->store, "sub/dir", empty, NULL));
	assert_ok(gkv_store_kind(&kind, env->store, "sub"));
	assert_int_equal(kind, GKV_KIND_NONE);
	/* "" replaces the whole tree */
	assert_ok(gkv_store_set_tree(NULL, env->store, "", t, NULL));
	assert_ok(gkv_store_list(&list, env->store, ""));
	assert_int_equal(gkv_list_count(list), 1);
	assert_string_equal(gkv_list_name(list, 0), "x");
	gkv_list_free(list);
	/* a tree over a value */
	assert_ok(gkv_store_set_tree(NULL, env->store, "x", t2, NULL));
	assert_value(env->store, "x/y/z", "2");
	gkv_tree_free(t2);
	gkv_tree_free(t);
	gkv_tree_free(empty);
}

static void returned_trees_outlive_writes(void **state)
{
	conf_env *env = *state;
	gkv_tree *before = NULL;

	conf_set(env->store, "a", "1");
	assert_ok(gkv_store_tree(&before, env->store));
	conf_set(env->store, "a", "2");
	conf_remove(env->store, "a");
	assert_tree_value(before, "a", "1");
	gkv_tree_free(before);
}

static void value_sizes_round_trip(void **state)
{
	/* sizes around the usual thresholds of buffers and compression */
	conf_env *env = *state;
	static const size_t sizes[] = {1,    2,	   127,	 128,	255,   256,   1023,  1024,   1025,
				       4095, 4096, 4097, 16384, 65535, 65536, 65537, 1 << 20};
	enum { N = sizeof(sizes) / sizeof(sizes[0]) };
	unsigned char *data = malloc(1 << 20);
	gkv_txn *txn = NULL;
	char key[32];

	assert_non_null(data);
	for (size_t i = 0; i < (1 << 20); i++)
		data[i] = (unsigned char)(i % 251); /* compressible, not constant */
	assert_ok(gkv_txn_begin(&txn, env->store));
	for (size_t i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "size/%zu", sizes[i]);
		assert_ok(gkv_txn_set(txn, key, data + i, sizes[i] - (sizes[i] > i ? i : 0)));
	}
	assert_ok(gkv_txn_commit(NULL, txn, GKV_TXN_FAIL, NULL));
	gkv_txn_free(txn);
	for (int pass = 0; pass < (conf_persistent() ? 2 : 1); pass++) {
		for (size_t i = 0; i < N; i++) {
			gkv_buf buf = {0};
			size_t len = sizes[i] - (sizes[i] > i ? i : 0);

			snprintf(key, sizeof(key), "size/%zu", sizes[i]);
			assert_ok(gkv_store_get(&buf, env->store, key));
			assert_int_equal(buf.size, len);
			assert_memory_equal(buf.ptr, data + i, len);
			gkv_buf_dispose(&buf);
		}
		if (!pass && conf_persistent())
			conf_reopen(env);
	}
	free(data);
}

static void deep_and_long_paths(void **state)
{
	conf_env *env = *state;
	char deep[2048], longname[1200];
	size_t used = 0;
	gkv_kind kind;

	for (int i = 0; i < 200; i++)
		used +=
		    (size_t)snprintf(deep + used, sizeof(deep) - used, "%sd%d", i ? "/" : "", i);
	conf_set(env->store, deep, "bottom");
	assert_value(env->store, deep, "bottom");
	assert_ok(gkv_store_kind(&kind, env->store, "d0/d1/d2"));
	assert_int_equal(kind, GKV_KIND_DIR);
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	conf_set(env->store, longname, "long");
	assert_value(env->store, longname, "long");
	conf_remove(env->store, deep);
	assert_ok(gkv_store_kind(&kind, env->store, "d0"));
	assert_int_equal(kind, GKV_KIND_NONE);
}

/* ---------------------------------------------- streams, entries, caps */

typedef struct {
	unsigned char *buf;
	size_t got, cap, calls, largest;
	int stop_after; /* return 7 at this call (0: never) */
} sink;

static int sink_cb(const void *data, size_t len, void *payload)
{
	sink *k = payload;

	k->calls++;
	if (len > k->largest)
		k->largest = len;
	assert_true(k->got + len <= k->cap);
	memcpy(k->buf + k->got, data, len);
	k->got += len;
	return k->stop_after && (int)k->calls == k->stop_after ? 7 : 0;
}

/* A value of n bytes whose every 64 KiB piece differs (order is checked). */
static unsigned char *pattern(size_t n)
{
	unsigned char *p = malloc(n ? n : 1);

	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 7 + i / 65536);
	return p;
}

static void values_stream_in_pieces(void **state)
{
	conf_env *env = *state;
	size_t n = (3u << 20) + 5;
	unsigned char *v = pattern(n);
	sink k = {malloc(n), 0, n, 0, 0, 0};
	gkv_tree *t;

	assert_ok(gkv_store_set(NULL, env->store, "big", v, n, NULL));
	assert_ok(gkv_store_set(NULL, env->store, "empty", "", 0, NULL));
	assert_ok(gkv_store_set(NULL, env->store, "d/x", "1", 1, NULL));
	/* read back by a new handle too: the value comes from storage */
	if (conf_persistent())
		conf_reopen(env);
	assert_ok(gkv_store_read(env->store, "big", sink_cb, &k));
	assert_int_equal(k.got, n);
	assert_memory_equal(k.buf, v, n);
	assert_true(k.largest <= 64 * 1024);
	assert_true(k.calls >= n / (64 * 1024));

	/* the callback stops the read, and its value comes back */
	k.got = k.calls = 0;
	k.stop_after = 2;
	assert_int_equal(gkv_store_read(env->store, "big", sink_cb, &k), 7);
	assert_int_equal(k.calls, 2);

	/* an empty value is one call with nothing */
	k.got = k.calls = 0;
	k.stop_after = 0;
	assert_ok(gkv_store_read(env->store, "empty", sink_cb, &k));
	assert_int_equal(k.calls, 1);
	assert_int_equal(k.got, 0);

	/* what holds no value */
	assert_rc(GKV_E_NOTFOUND, gkv_store_read(env->store, "d", sink_cb, &k));
	assert_rc(GKV_E_NOTFOUND, gkv_store_read(env->store, "nothing", sink_cb, &k));
	assert_rc(GKV_E_INVALID, gkv_store_read(env->store, "../x", sink_cb, &k));
	assert_rc(GKV_E_INVALID, gkv_store_read(env->store, "big", NULL, &k));

	/* a tree not yet stored streams its pending values too */
	assert_ok(gkv_store_get_tree(&t, env->store, ""));
	{
		gkv_tree *t2;

		assert_ok(gkv_tree_set(&t2, t, "pending", v, n));
		k.got = k.calls = 0;
		assert_ok(gkv_tree_read(t2, "pending", sink_cb, &k));
		assert_int_equal(k.got, n);
		assert_memory_equal(k.buf, v, n);
		gkv_tree_free(t2);
	}
	gkv_tree_free(t);
	free(k.buf);
	free(v);
}

static void entries_without_reading_values(void **state)
{
	conf_env *env = *state;
	gkv_oid id, want, root;
	gkv_kind kind;
	uint64_t size = 99;
	gkv_tree *t, *sub;

	conf_set(env->store, "a/b", "hello");
	assert_ok(gkv_store_get_tree(&t, env->store, ""));
	assert_ok(gkv_tree_entry(&id, &kind, &size, t, "a/b"));
	assert_ok(gkv_hash(&want, GKV_OBJ_BLOB, "hello", 5));
	assert_oid_eq(&id, &want);
	assert_int_equal(kind, GKV_KIND_VALUE);
	assert_int_equal(size, 5);

	assert_ok(gkv_tree_entry(&id, &kind, &size, t, "a"));
	assert_ok(gkv_tree_subtree(&sub, t, "a"));
	assert_ok(gkv_tree_id(&want, sub));
	assert_oid_eq(&id, &want);
	assert_int_equal(kind, GKV_KIND_DIR);
	assert_int_equal(size, 0);
	gkv_tree_free(sub);

	assert_ok(gkv_tree_entry(&id, NULL, NULL, t, ""));
	assert_ok(gkv_tree_id(&root, t));
	assert_oid_eq(&id, &root);
	assert_rc(GKV_E_NOTFOUND, gkv_tree_entry(&id, &kind, &size, t, "a/zz"));
	assert_rc(GKV_E_NOTFOUND, gkv_tree_entry(&id, &kind, &size, t, "a/b/c"));
	assert_rc(GKV_E_INVALID, gkv_tree_entry(&id, &kind, &size, t, "a//b"));
	gkv_tree_free(t);
}

static void a_cap_refuses_larger_values_before_reading_them(void **state)
{
	conf_env *env = *state;
	gkv_options *opts;
	gkv_repo *capped;
	gkv_store *s;
	gkv_buf buf = {0};
	unsigned char *v = pattern(5000);
	sink k = {malloc(5000), 0, 5000, 0, 0, 0};
	int found = -1;

	conf_set(env->store, "small", "0123456789");
	assert_ok(gkv_store_set(NULL, env->store, "large", v, 5000, NULL));
	assert_ok(gkv_options_new(&opts));
	assert_ok(gkv_options_set_max_value(opts, 4096));
	assert_rc(GKV_E_INVALID, gkv_options_set_max_value(NULL, 1));
	if (conf_persistent()) {
		assert_ok(gkv_repo_open(&capped, env->uri, opts));
		assert_ok(gkv_store_open_branch(&s, capped, "main"));
	} else { /* a mem store is its repo: fill a capped one */
		assert_ok(gkv_repo_open(&capped, "mem:", opts));
		assert_ok(gkv_store_open_branch(&s, capped, "main"));
		conf_set(s, "small", "0123456789");
		assert_ok(gkv_store_set(NULL, s, "large", v, 5000, NULL));
	}
	assert_value(s, "small", "0123456789");
	assert_rc(GKV_E_TOOLARGE, gkv_store_get(&buf, s, "large"));
	assert_msg_has("5000");
	assert_rc(GKV_E_TOOLARGE, gkv_store_find(&buf, &found, s, "large"));
	assert_null(buf.ptr);
	/* streaming is bounded whatever the size: no cap */
	assert_ok(gkv_store_read(s, "large", sink_cb, &k));
	assert_int_equal(k.got, 5000);
	assert_memory_equal(k.buf, v, 5000);
	gkv_store_free(s);
	gkv_repo_free(capped);
	gkv_options_free(opts);
	free(k.buf);
	free(v);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    CONF_TEST(reads_on_values_dirs_and_absent),
	    CONF_TEST(empty_branch_reads_empty),
	    CONF_TEST(binary_empty_and_big_values),
	    CONF_TEST(value_and_directory_replace_each_other),
	    CONF_TEST(removing_last_entry_removes_directory),
	    CONF_TEST(remove_absent_is_notfound_and_commits_nothing),
	    CONF_TEST(same_value_makes_no_commit),
	    CONF_TEST(each_write_is_one_commit_on_the_head),
	    CONF_TEST(commit_metadata_from_info),
	    CONF_TEST(default_info_names_operation_and_path),
	    CONF_TEST(commit_view_reads_and_moves_only_itself),
	    CONF_TEST(test_and_set_semantics),
	    CONF_TEST(two_stores_on_one_branch_see_each_other),
	    CONF_TEST(set_tree_places_and_removes),
	    CONF_TEST(returned_trees_outlive_writes),
	    CONF_TEST(value_sizes_round_trip),
	    CONF_TEST(deep_and_long_paths),
	    CONF_TEST(values_stream_in_pieces),
	    CONF_TEST(entries_without_reading_values),
	    CONF_TEST(a_cap_refuses_larger_values_before_reading_them),
	};

	return CONF_MAIN(argc, argv, tests);
}
