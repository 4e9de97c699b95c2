/*
 * test_validation.c -- bad input gets a clear error and changes nothing.
 * Every entry point that takes a path or a branch name rejects malformed
 * ones with GKV_E_INVALID and a message quoting the input, and the store
 * is left as it was (same heads, same branches). Required pointers given
 * as NULL are GKV_E_INVALID, not a crash.
 */
#include "conformance.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const bad_paths[] = {
    "/a",     "a/",	"a//b",	    ".", "..", "a/../b", "a/./b", ".git",
    ".GIT/x", "a/.git", "a/.Git/b", "/", "//", "..",	 "x/..",
    /* git's NTFS and HFS+ spellings of .git, and .gitmodules as a directory */
    "d/git~1", ".git ", ".git.", "GIT~1/x", ".git::$INDEX_ALLOCATION/x", ".git:x", "a\\.git",
    ".g\xe2\x80\x8cit", "\xef\xbb\xbf.git", ".gitmodules/x", "gitmod~1/x", "d/.gitattributes/x",
};
#define N_BAD_PATHS (sizeof(bad_paths) / sizeof(bad_paths[0]))

static const char *const good_paths[] = {
    "...",    ".gitignore",  ".git2", "a.git",	      ".hidden/x",
    "sp ace", "caf\xc3\xa9", "a-b",   "git/.gitkeep", "x:y",
    "git~2",  ".git-foo",    "x.git", ".gitmodules", "d/gitmod~1", "a\\b",
};
#define N_GOOD_PATHS (sizeof(good_paths) / sizeof(good_paths[0]))

static const char *const bad_branches[] = {
    "a..b", "a b", "-x",  "a.lock", "x/",  "@",	  "a@{b", "~",	  "",	  "/x",	   "a//b",     ".x",
    "a/.b", "x.",  "a^b", "a:b",    "a?b", "a*b", "a[b",  "a\\b", "a\tb", "a\x7f", "x/y.lock", "-",
};
#define N_BAD_BRANCHES (sizeof(bad_branches) / sizeof(bad_branches[0]))

static const char *const good_branches[] = {
    "feature/x", "a.b", "v1.0", "caf\xc3\xa9", "a-b", "x@y", "UPPER", "a_b", "a/b/c",
};
#define N_GOOD_BRANCHES (sizeof(good_branches) / sizeof(good_branches[0]))

/* Messages are one line and may escape control characters: only inputs
 * without them must appear verbatim. */
static int printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* Assert rc is INVALID and the message quotes input (when non-empty). */
static void expect_invalid(int rc, const char *what, const char *input)
{
	if (rc != GKV_E_INVALID) {
		print_error("%s(\"%s\") returned %d (%s), expected INVALID\n", what, input, rc,
			    gkv_error_last());
		fail();
	}
	if (input[0] && printable(input) && !strstr(gkv_error_last(), input)) {
		print_error("%s(\"%s\"): message \"%s\" does not quote the input\n", what, input,
			    gkv_error_last());
		fail();
	}
}

static void populate(conf_env *env)
{
	conf_set(env->store, "a/b", "1");
	conf_set(env->store, "c", "2");
	conf_set(env->store, "a/.gitkeep", "3");
}

static void bad_paths_rejected_everywhere(void **state)
{
	conf_env *env = *state;
	gkv_buf buf = {0}, val = {(unsigned char *)"1", 1};
	gkv_tree *tree = NULL, *out_tree = NULL;
	gkv_txn *txn = NULL;
	gkv_list *list = NULL;
	gkv_kind kind;
	gkv_oid out, head;
	char *before, *after;
	int found, mem;

	populate(env);
	head = conf_head(env->store);
	before = conf_state(env->repo);
	assert_ok(gkv_store_tree(&tree, env->store));
	assert_ok(gkv_txn_begin(&txn, env->store));
	for (size_t i = 0; i < N_BAD_PATHS; i++) {
		const char *p = bad_paths[i];

		expect_invalid(gkv_path_validate(p), "path_validate", p);
		expect_invalid(gkv_store_get(&buf, env->store, p), "store_get", p);
		expect_invalid(gkv_store_find(&buf, &found, env->store, p), "store_find", p);
		expect_invalid(gkv_store_mem(&mem, env->store, p), "store_mem", p);
		expect_invalid(gkv_store_kind(&kind, env->store, p), "store_kind", p);
		expect_invalid(gkv_store_list(&list, env->store, p), "store_list", p);
		expect_invalid(gkv_store_get_tree(&out_tree, env->store, p), "store_get_tree", p);
		expect_invalid(gkv_store_set(&out, env->store, p, "v", 1, NULL), "store_set", p);
		expect_invalid(gkv_store_remove(&out, env->store, p, NULL), "store_remove", p);
		expect_invalid(gkv_store_set_tree(&out, env->store, p, tree, NULL),
			       "store_set_tree", p);
		expect_invalid(gkv_store_test_and_set(&out, env->store, p, NULL, &val, NULL),
			       "store_test_and_set", p);
		expect_invalid(gkv_tree_get(&buf, tree, p), "tree_get", p);
		expect_invalid(gkv_tree_find(&buf, &found, tree, p), "tree_find", p);
		expect_invalid(gkv_tree_kind(&kind, tree, p), "tree_kind", p);
		expect_invalid(gkv_tree_subtree(&out_tree, tree, p), "tree_subtree", p);
		expect_invalid(gkv_tree_set(&out_tree, tree, p, "v", 1), "tree_set", p);
		expect_invalid(gkv_tree_remove(&out_tree, tree, p), "tree_remove", p);
		expect_invalid(gkv_tree_set_tree(&out_tree, tree, p, tree), "tree_set_tree", p);
		expect_invalid(gkv_tree_list(&list, tree, p), "tree_list", p);
		expect_invalid(gkv_txn_get(&buf, txn, p), "txn_get", p);
		expect_invalid(gkv_txn_find(&buf, &found, txn, p), "txn_find", p);
		expect_invalid(gkv_txn_list(&list, txn, p), "txn_list", p);
		expect_invalid(gkv_txn_set(txn, p, "v", 1), "txn_set", p);
		expect_invalid(gkv_txn_remove(txn, p), "txn_remove", p);
		expect_invalid(gkv_txn_set_tree(txn, p, tree), "txn_set_tree", p);
		expect_invalid(gkv_history_last_change(&out, env->repo, &head, p),
			       "history_last_change", p);
		expect_invalid(gkv_history_first_change(&out, env->repo, &head, p),
			       "history_first_change", p);
	}
	/* the transaction saw no change: committing it makes no commit */
	assert_ok(gkv_txn_commit(&out, txn, GKV_TXN_FAIL, NULL));
	gkv_txn_free(txn);
	after = conf_state(env->repo);
	assert_string_equal(before, after);
	free(after);
	out = conf_head(env->store);
	assert_oid_eq(&out, &head);
	gkv_tree_free(tree);
	free(before);
}

static void watch_path_cb(const char *branch, const gkv_oid *old, const gkv_oid *new_head,
			  const gkv_diff *diff, void *payload)
{
	(void)branch, (void)old, (void)new_head, (void)diff;
	(*(int *)payload)++;
}

static void watch_path_rejects_bad_prefix(void **state)
{
	conf_env *env = *state;
	gkv_watch *watch = NULL;
	int calls = 0;

	for (size_t i = 0; i < N_BAD_PATHS; i++) {
		watch = NULL;
		expect_invalid(
		    gkv_watch_path(&watch, env->repo, "main", bad_paths[i], watch_path_cb, &calls),
		    "watch_path", bad_paths[i]);
		assert_null(watch);
	}
	conf_set(env->store, "x", "1");
	assert_int_equal(calls, 0);
}

static void empty_path_is_the_root(void **state)
{
	conf_env *env = *state;
	gkv_buf buf = {0}, val = {(unsigned char *)"1", 1};
	gkv_tree *tree = NULL, *root = NULL, *empty = NULL;
	gkv_list *list = NULL;
	gkv_kind kind;
	gkv_oid out, head;
	char *before, *after;
	int found = -1, mem = -1;

	populate(env);
	head = conf_head(env->store);
	before = conf_state(env->repo);
	assert_ok(gkv_path_validate("a/b"));
	/* reads of "" see the root directory */
	assert_rc(GKV_E_NOTFOUND, gkv_store_get(&buf, env->store, ""));
	assert_ok(gkv_store_find(&buf, &found, env->store, ""));
	assert_int_equal(found, 0);
	assert_ok(gkv_store_mem(&mem, env->store, ""));
	assert_int_equal(mem, 0);
	assert_ok(gkv_store_kind(&kind, env->store, ""));
	assert_int_equal(kind, GKV_KIND_DIR);
	assert_ok(gkv_store_list(&list, env->store, ""));
	assert_int_equal(gkv_list_count(list), 2);
	gkv_list_free(list);
	assert_ok(gkv_store_get_tree(&root, env->store, ""));
	assert_ok(gkv_store_tree(&tree, env->store));
	assert_true(gkv_tree_equal(root, tree));
	gkv_tree_free(root);
	assert_ok(gkv_tree_subtree(&root, tree, ""));
	assert_true(gkv_tree_equal(root, tree));
	gkv_tree_free(root);
	/* writes of a value at "" are invalid */
	expect_invalid(gkv_store_set(&out, env->store, "", "v", 1, NULL), "store_set", "");
	expect_invalid(gkv_store_remove(&out, env->store, "", NULL), "store_remove", "");
	expect_invalid(gkv_store_test_and_set(&out, env->store, "", NULL, &val, NULL),
		       "store_test_and_set", "");
	expect_invalid(gkv_tree_set(&root, tree, "", "v", 1), "tree_set", "");
	after = conf_state(env->repo);
	assert_string_equal(before, after);
	free(after);
	free(before);
	/* set_tree at "" is allowed: it replaces the whole tree */
	assert_ok(gkv_tree_empty(&empty, env->repo));
	assert_ok(gkv_tree_set(&root, empty, "only", "1", 1));
	assert_ok(gkv_store_set_tree(&out, env->store, "", root, NULL));
	assert_ok(gkv_store_list(&list, env->store, ""));
	assert_int_equal(gkv_list_count(list), 1);
	gkv_list_free(list);
	(void)head;
	gkv_tree_free(root);
	gkv_tree_free(empty);
	gkv_tree_free(tree);
}

static void good_unusual_paths_work(void **state)
{
	conf_env *env = *state;

	for (size_t i = 0; i < N_GOOD_PATHS; i++) {
		assert_ok(gkv_path_validate(good_paths[i]));
		conf_set(env->store, good_paths[i], good_paths[i]);
	}
	for (size_t i = 0; i < N_GOOD_PATHS; i++)
		assert_value(env->store, good_paths[i], good_paths[i]);
}

/* A value git fsck --strict would refuse at a .gitmodules (a url or path
 * read as an option) is refused by every write, and changes nothing. */
static void bad_gitmodules_rejected(void **state)
{
	static const char *const paths[] = {".gitmodules", "d/.gitmodules", "gitmod~1",
					    "d/.GITMODULES. "};
	static const char *const bad[] = {
	    "[submodule \"x\"]\n\tpath = x\n\turl = -x\n",
	    "[submodule \"x\"]\n\tpath = -x\n\turl = https://example.com/x\n",
	};
	static const char good[] = "[submodule \"x\"]\n\tpath = x\n\turl = https://example.com/x\n";
	conf_env *env = *state;
	gkv_txn *txn = NULL;
	gkv_oid out;
	char *before, *after;

	populate(env);
	before = conf_state(env->repo);
	assert_ok(gkv_txn_begin(&txn, env->store));
	for (size_t p = 0; p < sizeof(paths) / sizeof(paths[0]); p++) {
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			gkv_buf v = {(unsigned char *)bad[i], strlen(bad[i])};

			expect_invalid(gkv_store_set(&out, env->store, paths[p], bad[i], strlen(bad[i]),
					   NULL),
			    "store_set", paths[p]);
			assert_non_null(strstr(gkv_error_last(), "could be read as an option"));
			expect_invalid(gkv_store_test_and_set(&out, env->store, paths[p], NULL, &v, NULL),
			    "store_test_and_set", paths[p]);
			expect_invalid(gkv_txn_set(txn, paths[p], bad[i], strlen(bad[i])), "txn_set",
			    paths[p]);
		}
	}
	/* trees built by hand: the same values, and no directory there */
	{
		gkv_tree *t, *t2 = NULL, *sub;

		assert_ok(gkv_store_get_tree(&t, env->store, ""));
		assert_ok(gkv_tree_set(&sub, t, "f", "1", 1));
		for (size_t p = 0; p < sizeof(paths) / sizeof(paths[0]); p++) {
			expect_invalid(gkv_tree_set(&t2, t, paths[p], bad[0], strlen(bad[0])),
			    "tree_set", paths[p]);
			expect_invalid(gkv_tree_set_tree(&t2, t, paths[p], sub), "tree_set_tree",
			    paths[p]);
			expect_invalid(gkv_store_set_tree(&out, env->store, paths[p], sub, NULL),
			    "store_set_tree", paths[p]);
			expect_invalid(gkv_txn_set_tree(txn, paths[p], sub), "txn_set_tree", paths[p]);
		}
		expect_invalid(gkv_tree_set_tree(&t2, t, "d/.gitattributes", sub), "tree_set_tree",
		    "d/.gitattributes");
		gkv_tree_free(sub);
		gkv_tree_free(t);
	}
	assert_ok(gkv_txn_commit(&out, txn, GKV_TXN_FAIL, NULL));
	gkv_txn_free(txn);
	after = conf_state(env->repo);
	assert_string_equal(before, after);
	free(after);
	free(before);
	/* a sound one is an ordinary value */
	conf_set(env->store, ".gitmodules", good);
	assert_value(env->store, ".gitmodules", good);
}

static void watch_branch_cb(const char *branch, const gkv_oid *old, const gkv_oid *new_head,
			    void *payload)
{
	(void)branch, (void)old, (void)new_head, (void)payload;
}

static void bad_branch_names_rejected_everywhere(void **state)
{
	conf_env *env = *state;
	gkv_store *s = NULL;
	gkv_watch *w = NULL;
	gkv_oid head, out;
	char *before, *after;

	head = conf_set(env->store, "k", "v");
	before = conf_state(env->repo);
	for (size_t i = 0; i < N_BAD_BRANCHES; i++) {
		const char *b = bad_branches[i];

		s = NULL;
		expect_invalid(gkv_branch_name_validate(b), "branch_name_validate", b);
		expect_invalid(gkv_store_open_branch(&s, env->repo, b), "store_open_branch", b);
		assert_null(s);
		expect_invalid(gkv_branch_create(env->repo, b, &head), "branch_create", b);
		expect_invalid(gkv_branch_delete(env->repo, b), "branch_delete", b);
		expect_invalid(gkv_branch_head(&out, env->repo, b), "branch_head", b);
		expect_invalid(gkv_branch_cas(env->repo, b, NULL, &head), "branch_cas", b);
		expect_invalid(gkv_branch_fast_forward(env->repo, b, &head), "branch_fast_forward",
			       b);
		w = NULL;
		expect_invalid(gkv_watch_branch(&w, env->repo, b, watch_branch_cb, NULL),
			       "watch_branch", b);
		assert_null(w);
		expect_invalid(gkv_watch_path(&w, env->repo, b, "", watch_path_cb, NULL),
			       "watch_path", b);
		assert_null(w);
	}
	after = conf_state(env->repo);
	assert_string_equal(before, after);
	free(after);
	free(before);
}

static void good_branch_names_work(void **state)
{
	conf_env *env = *state;
	gkv_strarray names = {0};
	gkv_oid head, out;

	head = conf_set(env->store, "k", "v");
	for (size_t i = 0; i < N_GOOD_BRANCHES; i++) {
		assert_ok(gkv_branch_name_validate(good_branches[i]));
		assert_ok(gkv_branch_create(env->repo, good_branches[i], &head));
		assert_ok(gkv_branch_head(&out, env->repo, good_branches[i]));
		assert_oid_eq(&out, &head);
	}
	assert_ok(gkv_branch_list(&names, env->repo));
	assert_int_equal(names.count, N_GOOD_BRANCHES + 1);
	gkv_strarray_dispose(&names);
}

/*
 * NULL for a required pointer: each call runs in its own child process,
 * with its own handle opened after the fork, so that one crash is reported
 * by name and does not hide the others. The expected result comes first.
 */
#define NULL_CASES(X)                                                                              \
	X(GKV_E_INVALID, gkv_repo_open(NULL, uri, NULL))                                           \
	X(GKV_E_INVALID, gkv_repo_open(&repo2, NULL, NULL))                                        \
	X(GKV_E_INVALID, gkv_store_open_branch(NULL, repo, "main"))                                \
	X(GKV_E_INVALID, gkv_store_open_branch(&s, NULL, "main"))                                  \
	X(GKV_E_INVALID, gkv_store_open_branch(&s, repo, NULL))                                    \
	X(GKV_E_INVALID, gkv_store_open_commit(&s, repo, NULL))                                    \
	X(GKV_E_INVALID, gkv_store_get(NULL, store, "k"))                                          \
	X(GKV_E_INVALID, gkv_store_get(&buf, NULL, "k"))                                           \
	X(GKV_E_INVALID, gkv_store_get(&buf, store, NULL))                                         \
	X(GKV_E_INVALID, gkv_store_find(&buf, NULL, store, "k"))                                   \
	X(GKV_E_INVALID, gkv_store_mem(NULL, store, "k"))                                          \
	X(GKV_E_INVALID, gkv_store_kind(NULL, store, "k"))                                         \
	X(GKV_E_INVALID, gkv_store_list(NULL, store, ""))                                          \
	X(GKV_E_INVALID, gkv_store_get_tree(NULL, store, ""))                                      \
	X(GKV_E_INVALID, gkv_store_set(&out, store, NULL, "v", 1, NULL))                           \
	X(GKV_E_INVALID, gkv_store_set(&out, store, "k", NULL, 3, NULL))                           \
	X(GKV_E_INVALID, gkv_store_set(&out, NULL, "k", "v", 1, NULL))                             \
	X(GKV_E_INVALID, gkv_store_remove(&out, store, NULL, NULL))                                \
	X(GKV_E_INVALID, gkv_store_set_tree(&out, store, "x", NULL, NULL))                         \
	X(GKV_E_INVALID, gkv_store_head(NULL, store))                                              \
	X(GKV_E_INVALID, gkv_store_tree(NULL, store))                                              \
	X(GKV_E_INVALID, gkv_branch_list(NULL, repo))                                              \
	X(GKV_E_INVALID, gkv_branch_list(&names, NULL))                                            \
	X(GKV_E_INVALID, gkv_branch_create(repo, "x", NULL))                                       \
	X(GKV_E_INVALID, gkv_branch_create(repo, NULL, &head))                                     \
	X(GKV_E_INVALID, gkv_branch_create(NULL, "x", &head))                                      \
	X(GKV_E_INVALID, gkv_branch_head(NULL, repo, "main"))                                      \
	X(GKV_E_INVALID, gkv_branch_delete(repo, NULL))                                            \
	X(GKV_E_INVALID, gkv_branch_cas(repo, NULL, &head, &head))                                 \
	X(GKV_E_INVALID, gkv_branch_fast_forward(repo, "main", NULL))                              \
	X(GKV_E_INVALID, gkv_commit_lookup(&c, repo, NULL))                                        \
	X(GKV_E_INVALID, gkv_commit_lookup(NULL, repo, &head))                                     \
	X(GKV_E_INVALID, gkv_commit_create(&out, repo, NULL, NULL, 0, NULL, NULL, "m"))            \
	X(GKV_E_INVALID, gkv_commit_create(NULL, repo, &head, NULL, 0, NULL, NULL, "m"))           \
	X(GKV_E_INVALID, gkv_tree_empty(NULL, repo))                                               \
	X(GKV_E_INVALID, gkv_tree_empty(&t2, NULL))                                                \
	X(GKV_E_INVALID, gkv_tree_get(&buf, NULL, "k"))                                            \
	X(GKV_E_INVALID, gkv_tree_get(NULL, tree, "k"))                                            \
	X(GKV_E_INVALID, gkv_tree_find(&buf, &found, tree, NULL))                                  \
	X(GKV_E_INVALID, gkv_tree_kind(NULL, tree, "k"))                                           \
	X(GKV_E_INVALID, gkv_tree_subtree(NULL, tree, ""))                                         \
	X(GKV_E_INVALID, gkv_tree_set(&t2, tree, "k", NULL, 2))                                    \
	X(GKV_E_INVALID, gkv_tree_set(NULL, tree, "k", "v", 1))                                    \
	X(GKV_E_INVALID, gkv_tree_remove(NULL, tree, "k"))                                         \
	X(GKV_E_INVALID, gkv_tree_lookup(&t2, repo, NULL))                                         \
	X(GKV_E_INVALID, gkv_tree_set_tree(&t2, tree, "x", NULL))                                  \
	X(GKV_E_INVALID, gkv_tree_id(NULL, tree))                                                  \
	X(GKV_E_INVALID, gkv_tree_id(&out, NULL))                                                  \
	X(GKV_E_INVALID, gkv_tree_write(&out, NULL))                                               \
	X(GKV_E_INVALID, gkv_tree_list(NULL, tree, ""))                                            \
	X(GKV_E_INVALID, gkv_tree_fold(tree, "", NULL, NULL))                                      \
	X(GKV_E_INVALID, gkv_tree_fold(NULL, "", fold_nop, NULL))                                  \
	X(GKV_E_INVALID, gkv_txn_begin(&txn, NULL))                                                \
	X(GKV_E_INVALID, gkv_txn_begin(NULL, store))                                               \
	X(GKV_E_INVALID, gkv_txn_set(NULL, "k", "v", 1))                                           \
	X(GKV_E_INVALID, gkv_txn_commit(&out, NULL, GKV_TXN_FAIL, NULL))                           \
	X(GKV_E_INVALID, gkv_revwalk_new(&walk, NULL))                                             \
	X(GKV_E_INVALID, gkv_revwalk_new(NULL, repo))                                              \
	X(GKV_E_INVALID, gkv_revwalk_push(NULL, &head))                                            \
	X(GKV_E_INVALID, gkv_revwalk_next(&out, NULL))                                             \
	X(GKV_E_INVALID, gkv_diff_trees(&diff, NULL, tree))                                        \
	X(GKV_E_INVALID, gkv_diff_trees(NULL, tree, tree))                                         \
	X(GKV_E_INVALID, gkv_diff_commits(&diff, repo, &head, NULL))                               \
	X(GKV_E_INVALID, gkv_merge_bases(&bases, repo, &head, NULL))                               \
	X(GKV_E_INVALID, gkv_merge_bases(NULL, repo, &head, &head))                                \
	X(GKV_E_INVALID, gkv_is_ancestor(&found, repo, NULL, &head))                               \
	X(GKV_E_INVALID, gkv_is_ancestor(NULL, repo, &head, &head))                                \
	X(GKV_E_INVALID, gkv_history_last_change(&out, repo, &head, NULL))                         \
	X(GKV_E_INVALID, gkv_history_first_change(&out, repo, NULL, "k"))                          \
	X(GKV_E_INVALID, gkv_watch_branch(&w, repo, "main", NULL, NULL))                           \
	X(GKV_E_INVALID, gkv_watch_branch(NULL, repo, "main", branch_nop, NULL))                   \
	X(GKV_E_INVALID, gkv_watch_path(&w, repo, "main", "", NULL, NULL))                         \
	X(GKV_E_INVALID, gkv_watch_path(&w, repo, "main", NULL, path_nop, NULL))                   \
	X(GKV_E_INVALID, gkv_repo_watch_poll(NULL, NULL))                                          \
	X(GKV_E_INVALID, gkv_repo_resolve(&out, repo, NULL))                                       \
	X(GKV_E_INVALID, gkv_repo_resolve(NULL, repo, "main"))                                     \
	X(GKV_E_INVALID, gkv_repo_object_read(&buf, &type, repo, NULL))                            \
	X(GKV_E_INVALID, gkv_repo_object_read(NULL, &type, repo, &head))                           \
	X(GKV_E_INVALID, gkv_repo_object_exists(NULL, repo, &head))                                \
	X(GKV_E_INVALID, gkv_hash(NULL, GKV_OBJ_BLOB, "x", 1))                                     \
	X(GKV_E_INVALID, gkv_hash(&out, GKV_OBJ_BLOB, NULL, 1))                                    \
	X(GKV_E_INVALID, gkv_oid_fromstr(&out, NULL))                                              \
	X(GKV_E_INVALID, gkv_oid_fromstr(NULL, "ce013625030ba8dba906f756967f9e9ca394464a"))        \
	X(GKV_E_INVALID, gkv_path_validate(NULL))                                                  \
	X(GKV_E_INVALID, gkv_branch_name_validate(NULL))                                           \
	X(GKV_E_INVALID, gkv_options_new(NULL))                                                    \
	X(GKV_E_INVALID, gkv_options_set_create(NULL, 1))                                          \
	X(GKV_E_INVALID, gkv_signature_new(NULL, "a", "b", 0, 0))                                  \
	X(GKV_E_INVALID, gkv_signature_new(&sig, NULL, "b", 0, 0))                                 \
	X(GKV_E_INVALID, gkv_info_new(NULL, "m"))                                                  \
	X(GKV_E_INVALID, gkv_info_set_author(NULL, NULL))                                          \
	X(0, (gkv_repo_free(NULL), 0))                                                             \
	X(0, (gkv_store_free(NULL), 0))                                                            \
	X(0, (gkv_tree_free(NULL), 0))                                                             \
	X(0, (gkv_txn_free(NULL), 0))                                                              \
	X(0, (gkv_revwalk_free(NULL), 0))                                                          \
	X(0, (gkv_commit_free(NULL), 0))                                                           \
	X(0, (gkv_diff_free(NULL), 0))                                                             \
	X(0, (gkv_list_free(NULL), 0))                                                             \
	X(0, (gkv_watch_free(NULL), 0))                                                            \
	X(0, (gkv_info_free(NULL), 0))                                                             \
	X(0, (gkv_signature_free(NULL), 0))                                                        \
	X(0, (gkv_options_free(NULL), 0))                                                          \
	X(0, (gkv_buf_dispose(NULL), 0))                                                           \
	X(0, (gkv_strarray_dispose(NULL), 0))                                                      \
	X(0, (gkv_oidarray_dispose(NULL), 0))                                                      \
	X(0, (gkv_buf_dispose(&buf), 0))                                                           \
	X(0, (gkv_strarray_dispose(&names), 0))                                                    \
	X(0, (gkv_oidarray_dispose(&bases), 0))

static int fold_nop(const char *path, gkv_kind kind, const void *value, size_t len, void *payload)
{
	(void)path, (void)kind, (void)value, (void)len, (void)payload;
	return 0;
}

static void branch_nop(const char *branch, const gkv_oid *old, const gkv_oid *new_head,
		       void *payload)
{
	(void)branch, (void)old, (void)new_head, (void)payload;
}

static void path_nop(const char *branch, const gkv_oid *old, const gkv_oid *new_head,
		     const gkv_diff *diff, void *payload)
{
	(void)branch, (void)old, (void)new_head, (void)diff, (void)payload;
}

#define NULL_NAME(expected, expr) #expr,
static const char *const null_names[] = {NULL_CASES(NULL_NAME)};
#define N_NULL_CASES (sizeof(null_names) / sizeof(null_names[0]))

/* Run case i on a fresh handle; exit 0 if it returned what was expected. */
static void run_null_case(size_t i, const char *uri)
{
	gkv_repo *repo = NULL, *repo2 = NULL;
	gkv_store *store = NULL, *s = NULL;
	gkv_tree *tree = NULL, *t2 = NULL;
	gkv_txn *txn = NULL;
	gkv_revwalk *walk = NULL;
	gkv_commit *c = NULL;
	gkv_diff *diff = NULL;
	gkv_watch *w = NULL;
	gkv_signature *sig = NULL;
	gkv_strarray names = {0};
	gkv_oidarray bases = {0};
	gkv_buf buf = {0};
	gkv_otype type;
	gkv_oid head, out;
	int found, rc = -999, expected = -999;
	size_t n = 0;

	conf_child_init();
	if (conf_open(&repo, uri, 1, 0) < 0 || gkv_store_open_branch(&store, repo, "main") < 0 ||
	    gkv_store_set(&head, store, "k", "v", 1, NULL) < 0 ||
	    gkv_store_tree(&tree, store) < 0) {
		fprintf(stderr, "setup failed: %s\n", gkv_error_last());
		_exit(3);
	}
#define NULL_RUN(want, expr)                                                                       \
	if (n++ == i) {                                                                            \
		expected = (want);                                                                 \
		rc = (expr);                                                                       \
	}
	NULL_CASES(NULL_RUN)
	(void)repo2, (void)s, (void)t2, (void)txn, (void)walk, (void)c, (void)diff, (void)w;
	(void)sig, (void)type, (void)found;
	if (rc != expected) {
		fprintf(stderr, "%s returned %d (%s)\n", null_names[i], rc, gkv_error_last());
		_exit(1);
	}
	_exit(0);
}

static void null_pointers_are_invalid(void **state)
{
	conf_env *env = *state;
	size_t bad = 0;

	for (size_t i = 0; i < N_NULL_CASES; i++) {
		pid_t pid;
		int status = 0;

		fflush(NULL);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			run_null_case(i, env->uri);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (WIFSIGNALED(status)) {
			print_error("%s: crashed with signal %d\n", null_names[i],
				    WTERMSIG(status));
			bad++;
		} else if (WEXITSTATUS(status) != 0) {
			print_error("%s: exit status %d\n", null_names[i], WEXITSTATUS(status));
			bad++;
		}
	}
	if (bad)
		fail_msg("%zu of %zu NULL-argument calls misbehaved", bad, N_NULL_CASES);
}

static void bad_signatures_rejected(void **state)
{
	gkv_signature *sig = NULL;

	(void)state;
	assert_rc(GKV_E_INVALID, gkv_signature_new(&sig, "a<b", "e@x", 0, 0));
	assert_rc(GKV_E_INVALID, gkv_signature_new(&sig, "a", "e>x", 0, 0));
	assert_rc(GKV_E_INVALID, gkv_signature_new(&sig, "a\nb", "e@x", 0, 0));
	assert_null(sig);
	assert_ok(gkv_signature_new(&sig, "A Name", "e@x", 42, -90));
	assert_string_equal(gkv_signature_name(sig), "A Name");
	assert_int_equal(gkv_signature_time(sig), 42);
	assert_int_equal(gkv_signature_offset(sig), -90);
	gkv_signature_free(sig);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    CONF_TEST(bad_paths_rejected_everywhere),
	    CONF_TEST(watch_path_rejects_bad_prefix),
	    CONF_TEST(empty_path_is_the_root),
	    CONF_TEST(good_unusual_paths_work),
	    CONF_TEST(bad_gitmodules_rejected),
	    CONF_TEST(bad_branch_names_rejected_everywhere),
	    CONF_TEST(good_branch_names_work),
	    CONF_TEST_DIR(null_pointers_are_invalid),
	    CONF_TEST_DIR(bad_signatures_rejected),
	};

	return CONF_MAIN(argc, argv, tests);
}
