/*
 * test_repo.c -- opening, creating, reopening and closing a store: what a
 * user relies on before the first value is written. Persistence across
 * close/open holds for every backend but mem, whose store lives and dies
 * with its handle.
 */
#include "conformance.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static void create_gives_empty_store_on_main(void **state)
{
	conf_env *env = *state;
	gkv_strarray names = {0};
	gkv_tree *tree = NULL;
	gkv_oid head;

	assert_string_equal(gkv_repo_default_branch(env->repo), "main");
	assert_string_equal(gkv_repo_backend_name(env->repo), conf_backend);
	assert_ok(gkv_branch_list(&names, env->repo));
	assert_int_equal(names.count, 0);
	gkv_strarray_dispose(&names);
	assert_string_equal(gkv_store_branch(env->store), "main");
	assert_rc(GKV_E_NOTFOUND, gkv_store_head(&head, env->store));
	assert_ok(gkv_store_tree(&tree, env->store));
	assert_true(gkv_tree_is_empty(tree));
	gkv_tree_free(tree);
}

static void reopen_persists_or_not(void **state)
{
	conf_env *env = *state;
	gkv_oid head, head2;
	gkv_buf buf = {0};
	int found = -1;

	head = conf_set(env->store, "a/b", "persisted");
	conf_reopen(env);
	if (conf_persistent()) {
		head2 = conf_head(env->store);
		assert_oid_eq(&head, &head2);
		assert_value(env->store, "a/b", "persisted");
		assert_string_equal(gkv_repo_default_branch(env->repo), "main");
		/* and it keeps working after the reopen */
		head2 = conf_set(env->store, "a/c", "more");
		head2 = conf_parent(env->repo, &head2, 1);
		assert_oid_eq(&head, &head2);
	} else {
		assert_rc(GKV_E_NOTFOUND, gkv_store_head(&head2, env->store));
		assert_ok(gkv_store_find(&buf, &found, env->store, "a/b"));
		assert_int_equal(found, 0);
	}
}

static void reopen_without_create(void **state)
{
	conf_env *env = *state;
	gkv_repo *repo = NULL;
	gkv_oid head, head2;

	if (!conf_persistent())
		skip();
	head = conf_set(env->store, "k", "v");
	gkv_store_free(env->store);
	env->store = NULL;
	gkv_repo_free(env->repo);
	env->repo = NULL;
	assert_ok(conf_open(&repo, env->uri, 0, 0));
	assert_ok(gkv_branch_head(&head2, repo, "main"));
	assert_oid_eq(&head, &head2);
	gkv_repo_free(repo);
}

static void open_missing_is_notfound(void **state)
{
	conf_env *env = *state;
	char path[600], uri[700];
	gkv_repo *repo = NULL;
	struct stat st;

	if (!conf_persistent())
		skip();
	/* a directory that does not exist: not made, not opened */
	snprintf(path, sizeof(path), "%s/absent", env->dir);
	conf_uri(uri, sizeof(uri), path);
	assert_rc(GKV_E_NOTFOUND, conf_open(&repo, uri, 0, 0));
	assert_null(repo);
	assert_msg_has("absent");
	assert_int_equal(stat(path, &st), -1);
	/* an empty directory holds no store either, and stays empty */
	assert_rc(GKV_E_NOTFOUND, conf_open(&repo, env->uri, 0, 0));
	assert_null(repo);
	assert_int_equal(rmdir(env->dir), 0);
	assert_int_equal(mkdir(env->dir, 0700), 0);
}

static void create_makes_missing_directory(void **state)
{
	conf_env *env = *state;
	char path[600], uri[700];
	gkv_repo *repo = NULL;
	gkv_store *s = NULL;

	if (!conf_persistent())
		skip();
	snprintf(path, sizeof(path), "%s/made", env->dir);
	conf_uri(uri, sizeof(uri), path);
	assert_ok(conf_open(&repo, uri, 1, 0));
	assert_ok(gkv_store_open_branch(&s, repo, "main"));
	conf_set(s, "x", "1");
	gkv_store_free(s);
	gkv_repo_free(repo);
	repo = NULL;
	/* a plain path (no scheme) finds the store and its kind */
	assert_ok(conf_open(&repo, path, 0, 0));
	assert_string_equal(gkv_repo_backend_name(repo), conf_backend);
	assert_ok(gkv_store_open_branch(&s, repo, "main"));
	assert_value(s, "x", "1");
	gkv_store_free(s);
	gkv_repo_free(repo);
}

static void bad_uris_are_invalid(void **state)
{
	gkv_repo *repo = NULL;

	(void)state;
	assert_rc(GKV_E_INVALID, conf_open(&repo, "foo:bar", 1, 0));
	assert_null(repo);
	assert_msg_has("foo:bar");
	assert_int_equal(gkv_error_last_code(), GKV_E_INVALID);
	assert_rc(GKV_E_INVALID, conf_open(&repo, "lmdb:", 1, 0));
	assert_null(repo);
	assert_msg_has("lmdb:");
	assert_rc(GKV_E_INVALID, conf_open(&repo, NULL, 1, 0));
	assert_rc(GKV_E_INVALID, gkv_repo_open(NULL, "mem:", NULL));
}

static void expect_readonly(int rc, const char *what)
{
	if (rc != GKV_E_READONLY) {
		print_error("%s on a read-only repo returned %d (%s), expected READONLY\n", what,
			    rc, gkv_error_last());
		fail();
	}
}

static void try_every_write(gkv_repo *repo, const gkv_oid *head)
{
	gkv_store *s = NULL;
	gkv_txn *txn = NULL;
	gkv_tree *tree = NULL, *t2 = NULL;
	gkv_buf old = {(unsigned char *)"v", 1}, neu = {(unsigned char *)"w", 1};
	gkv_oid out, tid;

	assert_ok(gkv_store_open_branch(&s, repo, "main"));
	expect_readonly(gkv_store_set(&out, s, "k", "w", 1, NULL), "set");
	expect_readonly(gkv_store_set(&out, s, "new", "w", 1, NULL), "set new");
	if (head) {
		expect_readonly(gkv_store_remove(&out, s, "k", NULL), "remove");
		expect_readonly(gkv_store_test_and_set(&out, s, "k", &old, &neu, NULL),
				"test_and_set");
	}
	assert_ok(gkv_tree_empty(&tree, repo));
	assert_ok(gkv_tree_set(&t2, tree, "fresh/value", "never stored", 12));
	expect_readonly(gkv_store_set_tree(&out, s, "sub", t2, NULL), "set_tree");
	expect_readonly(gkv_tree_write(&tid, t2), "tree_write");
	assert_ok(gkv_txn_begin(&txn, s));
	assert_ok(gkv_txn_set(txn, "t", "x", 1));
	expect_readonly(gkv_txn_commit(&out, txn, GKV_TXN_FAIL, NULL), "txn_commit");
	gkv_txn_free(txn);
	if (head) {
		expect_readonly(gkv_branch_create(repo, "other", head), "branch_create");
		expect_readonly(gkv_branch_delete(repo, "main"), "branch_delete");
		expect_readonly(gkv_branch_cas(repo, "main", head, NULL), "branch_cas");
		expect_readonly(gkv_branch_fast_forward(repo, "x", head), "fast_forward");
		assert_ok(gkv_tree_id(&tid, tree));
		expect_readonly(gkv_commit_create(&out, repo, &tid, head, 1, NULL, NULL, "m\n"),
				"commit_create");
	}
	gkv_tree_free(t2);
	gkv_tree_free(tree);
	gkv_store_free(s);
}

static void readonly_refuses_writes(void **state)
{
	conf_env *env = *state;
	gkv_repo *ro = NULL;
	gkv_store *s = NULL;
	gkv_oid head, head2;
	char *before, *after;

	if (!conf_persistent()) {
		/* mem: a read-only in-memory store is empty and stays so */
		assert_ok(conf_open(&ro, "mem:", 1, 1));
		try_every_write(ro, NULL);
		assert_ok(gkv_store_open_branch(&s, ro, "main"));
		assert_rc(GKV_E_NOTFOUND, gkv_store_head(&head, s));
		gkv_store_free(s);
		gkv_repo_free(ro);
		return;
	}
	head = conf_set(env->store, "k", "v");
	before = conf_state(env->repo);
	gkv_store_free(env->store);
	env->store = NULL;
	gkv_repo_free(env->repo);
	env->repo = NULL;

	assert_ok(conf_open(&ro, env->uri, 0, 1));
	try_every_write(ro, &head);
	assert_ok(gkv_store_open_branch(&s, ro, "main"));
	assert_value(s, "k", "v");
	head2 = conf_head(s);
	assert_oid_eq(&head, &head2);
	gkv_store_free(s);
	after = conf_state(ro);
	assert_string_equal(before, after);
	free(after);
	gkv_repo_free(ro);

	/* and nothing changed on disk either */
	conf_reopen(env);
	after = conf_state(env->repo);
	assert_string_equal(before, after);
	free(after);
	free(before);
}

static void two_handles_share_the_store(void **state)
{
	/* No handle may cache a head or a tree past the call that read it. */
	conf_env *env = *state;
	gkv_repo *second = NULL, *ro = NULL;
	gkv_store *s2 = NULL, *sro = NULL;
	gkv_tree *t = NULL;
	gkv_oid h1, h2, out;

	if (!conf_persistent())
		skip();
	h1 = conf_set(env->store, "a", "1");
	assert_ok(conf_open(&second, env->uri, 0, 0));
	assert_ok(conf_open(&ro, env->uri, 0, 1));
	assert_ok(gkv_store_open_branch(&s2, second, "main"));
	assert_ok(gkv_store_open_branch(&sro, ro, "main"));
	assert_value(s2, "a", "1");
	assert_value(sro, "a", "1");
	assert_ok(gkv_store_tree(&t, s2));
	h2 = conf_set(s2, "b", "2");
	out = conf_parent(env->repo, &h2, 1);
	assert_oid_eq(&out, &h1);
	assert_value(env->store, "b", "2");
	assert_value(sro, "b", "2");
	conf_set(env->store, "a", "changed");
	assert_value(s2, "a", "changed");
	assert_value(sro, "a", "changed");
	assert_tree_value(t, "a", "1");
	assert_ok(gkv_branch_create(env->repo, "made-by-first", &h1));
	out = conf_branch_head(second, "made-by-first");
	assert_oid_eq(&out, &h1);
	out = conf_branch_head(ro, "made-by-first");
	assert_oid_eq(&out, &h1);
	gkv_tree_free(t);
	gkv_store_free(s2);
	gkv_store_free(sro);
	gkv_repo_free(second);
	gkv_repo_free(ro);
}

static void version_matches_header(void **state)
{
	int major = -1, minor = -1, patch = -1;
	char buf[64];

	(void)state;
	gkv_version(&major, &minor, &patch);
	assert_int_equal(major, GKV_VERSION_MAJOR);
	assert_int_equal(minor, GKV_VERSION_MINOR);
	assert_int_equal(patch, GKV_VERSION_PATCH);
	assert_string_equal(gkv_version_string(), GKV_VERSION_STRING);
	snprintf(buf, sizeof(buf), "%d.%d.%d", major, minor, patch);
	assert_string_equal(gkv_version_string(), buf);
}

static void error_last_names_the_input(void **state)
{
	conf_env *env = *state;
	gkv_buf buf = {0};

	gkv_error_clear();
	assert_int_equal(gkv_error_last_code(), GKV_OK);
	assert_non_null(gkv_error_last());
	assert_rc(GKV_E_NOTFOUND, gkv_store_get(&buf, env->store, "no/such/key"));
	assert_int_equal(gkv_error_last_code(), GKV_E_NOTFOUND);
	assert_msg_has("no/such/key");
	assert_null(strchr(gkv_error_last(), '\n'));
	assert_rc(GKV_E_NOTFOUND, gkv_branch_delete(env->repo, "nobranch"));
	assert_msg_has("nobranch");
	gkv_error_clear();
	assert_int_equal(gkv_error_last_code(), GKV_OK);
	for (int code = GKV_E_USER; code <= GKV_E_ERROR; code++) {
		assert_non_null(gkv_strerror(code));
		assert_true(strlen(gkv_strerror(code)) > 0);
	}
	assert_string_not_equal(gkv_strerror(GKV_E_NOTFOUND), gkv_strerror(GKV_E_CONFLICT));
}

static void *other_thread_error(void *arg)
{
	int *code = arg;

	*code = gkv_error_last_code();
	return NULL;
}

static void error_is_per_thread(void **state)
{
	conf_env *env = *state;
	gkv_buf buf = {0};
	pthread_t t;
	int code = 12345;

	assert_rc(GKV_E_NOTFOUND, gkv_store_get(&buf, env->store, "absent"));
	assert_int_equal(pthread_create(&t, NULL, other_thread_error, &code), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(code, GKV_OK);
	assert_int_equal(gkv_error_last_code(), GKV_E_NOTFOUND);
}

static void options_cache_and_durability(void **state)
{
	conf_env *env = *state;
	gkv_options *opts = NULL;
	gkv_repo *repo = NULL;
	gkv_store *s = NULL;
	char path[600], uri[700];

	snprintf(path, sizeof(path), "%s/opts", env->dir);
	conf_uri(uri, sizeof(uri), path);
	assert_ok(gkv_options_new(&opts));
	assert_ok(gkv_options_set_create(opts, 1));
	assert_ok(gkv_options_set_cache_size(opts, 0));
	assert_ok(gkv_options_set_durability(opts, GKV_DURABILITY_NOSYNC));
	assert_ok(gkv_options_set_author(opts, "Opt Author", "opt@example.com"));
	assert_ok(gkv_repo_open(&repo, uri, opts));
	gkv_options_free(opts);
	assert_ok(gkv_store_open_branch(&s, repo, "main"));
	for (int i = 0; i < 20; i++) {
		char key[32];

		snprintf(key, sizeof(key), "d%d/k%d", i % 3, i);
		conf_set(s, key, key);
	}
	for (int i = 0; i < 20; i++) {
		char key[32];

		snprintf(key, sizeof(key), "d%d/k%d", i % 3, i);
		assert_value(s, key, key);
	}
	{
		gkv_commit *c = NULL;
		gkv_oid head = conf_head(s);

		assert_ok(gkv_commit_lookup(&c, repo, &head));
		assert_string_equal(gkv_signature_name(gkv_commit_author(c)), "Opt Author");
		assert_string_equal(gkv_signature_email(gkv_commit_author(c)), "opt@example.com");
		assert_string_equal(gkv_signature_name(gkv_commit_committer(c)), "Opt Author");
		gkv_commit_free(c);
	}
	gkv_store_free(s);
	gkv_repo_free(repo);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    CONF_TEST(create_gives_empty_store_on_main),
	    CONF_TEST(reopen_persists_or_not),
	    CONF_TEST(reopen_without_create),
	    CONF_TEST_DIR(open_missing_is_notfound),
	    CONF_TEST_DIR(create_makes_missing_directory),
	    CONF_TEST_DIR(bad_uris_are_invalid),
	    CONF_TEST(readonly_refuses_writes),
	    CONF_TEST(two_handles_share_the_store),
	    CONF_TEST_DIR(version_matches_header),
	    CONF_TEST(error_last_names_the_input),
	    CONF_TEST(error_is_per_thread),
	    CONF_TEST_DIR(options_cache_and_durability),
	};

	return CONF_MAIN(argc, argv, tests);
}
