/*
 * conformance.h -- shared helpers of the conformance suite.
 *
 * Every program in tests/conformance/ runs the same store behaviours
 * against one backend, named by argv[1] ("mem", "lmdb", later "git").
 * Each test gets a fresh temporary directory (mkdtemp under /tmp, removed
 * at teardown) and a store URI built from it, so that no test sees
 * another's data. Nothing here knows what a backend does inside: the
 * suite talks only to include/gitkv.h.
 */
#ifndef GITKV_CONFORMANCE_H
#define GITKV_CONFORMANCE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gitkv.h"

/** The backend under test: "mem", "lmdb" or "git" (argv[1]; "lmdb-mapped" is lmdb). */
extern const char *conf_backend;
/** 1 when argv[1] is "lmdb-mapped": conf_open asks for GKV_DURABILITY_NOSYNC_MAPPED. */
extern int conf_mapped;

/** 1 if two handles on the same URI see the same data (every backend but mem). */
int conf_persistent(void);

/** What every test gets: a temp dir, a store URI in it, an open repo, a store on "main". */
typedef struct conf_env {
	char dir[256];
	char uri[512];
	gkv_repo *repo;
	gkv_store *store;
} conf_env;

/** Fixture: temp dir and URI only (repo and store NULL). */
int conf_setup_dir(void **state);
/** Fixture: temp dir, repo opened with create, store on "main". */
int conf_setup(void **state);
/** Free whatever the env still holds and remove the temp dir. */
int conf_teardown(void **state);

/** Write "<backend>:<dir>" (or "mem:") into out. */
void conf_uri(char *out, size_t size, const char *dir);

/**
 * Open uri with the suite's options: create and readonly as given, the
 * default author "Conformance <conformance@example.com>", and the mapped
 * durability under "lmdb-mapped". Returns the code.
 */
int conf_open(gkv_repo **out, const char *uri, int create, int readonly);

/** Close env's store and repo (if open) and open them again (create set). */
void conf_reopen(conf_env *env);

/**
 * Call first in a forked child: restore the default handlers of the
 * signals cmocka catches, so that a crash ends the child (and is seen by
 * the parent as a signal) instead of resuming the parent's test run.
 */
void conf_child_init(void);

/** rm -rf path (nftw, depth first). 0 or -1. */
int conf_rmrf(const char *path);

/**
 * Run the tests against argv[1]; argv[2], if given, is a cmocka test-name
 * filter (glob). Returns the number of failures (or 1 for bad usage).
 */
int conf_main(int argc, char **argv, const char *group, const struct CMUnitTest *tests,
	      size_t count);
#define CONF_MAIN(argc, argv, tests)                                                               \
	conf_main((argc), (argv), __FILE__, (tests), sizeof(tests) / sizeof((tests)[0]))

/** A test case with the default fixture. */
#define CONF_TEST(fn) cmocka_unit_test_setup_teardown(fn, conf_setup, conf_teardown)
/** A test case with only a temp dir. */
#define CONF_TEST_DIR(fn) cmocka_unit_test_setup_teardown(fn, conf_setup_dir, conf_teardown)

/* ---- assertions (they report gkv_error_last() on failure) ---- */

void conf_check_rc(int expected, int got, const char *expr, const char *file, int line);
#define assert_ok(expr) conf_check_rc(0, (expr), #expr, __FILE__, __LINE__)
#define assert_rc(expected, expr) conf_check_rc((expected), (expr), #expr, __FILE__, __LINE__)

/** Assert that the last error message contains needle. */
void conf_check_msg(const char *needle, const char *file, int line);
#define assert_msg_has(needle) conf_check_msg((needle), __FILE__, __LINE__)

void conf_check_oid_hex(const gkv_oid *id, const char *hex, const char *file, int line);
#define assert_oid_hex(id, hex) conf_check_oid_hex((id), (hex), __FILE__, __LINE__)
void conf_check_oid_eq(const gkv_oid *a, const gkv_oid *b, const char *file, int line);
#define assert_oid_eq(a, b) conf_check_oid_eq((a), (b), __FILE__, __LINE__)

/** Assert that store holds exactly the NUL-terminated value at path. */
void conf_check_value(gkv_store *s, const char *path, const char *value, const char *file,
		      int line);
#define assert_value(s, path, value) conf_check_value((s), (path), (value), __FILE__, __LINE__)
/** The same on a tree. */
void conf_check_tree_value(gkv_tree *t, const char *path, const char *value, const char *file,
			   int line);
#define assert_tree_value(t, path, value)                                                          \
	conf_check_tree_value((t), (path), (value), __FILE__, __LINE__)

/* ---- store shortcuts ---- */

/** gkv_store_set of a NUL-terminated string, asserted to succeed; the new head. */
gkv_oid conf_set(gkv_store *s, const char *path, const char *value);
/** gkv_store_remove, asserted to succeed; the new head. */
gkv_oid conf_remove(gkv_store *s, const char *path);
/** The store's head, asserted to exist. */
gkv_oid conf_head(gkv_store *s);
/** The head of branch, asserted to exist. */
gkv_oid conf_branch_head(gkv_repo *repo, const char *branch);
/** Number of commits reachable from head. */
size_t conf_count_commits(gkv_repo *repo, const gkv_oid *head);
/** The first parent of commit (asserted to have exactly nparents parents). */
gkv_oid conf_parent(gkv_repo *repo, const gkv_oid *commit, size_t nparents);

/**
 * Make a commit with the given parents whose tree is `tree` with path set
 * to value, a fixed author/committer at `time` and message; moves nothing.
 */
gkv_oid conf_commit(gkv_repo *repo, const gkv_oid *parents, size_t nparents, int64_t time,
		    const char *path, const char *value);

/** A gkv_info with message and author = committer = name <email> at time +0000. */
gkv_info *conf_info(const char *message, int64_t time);

/**
 * A text snapshot of every branch and its head ("name hex\n"...), to check
 * that a failed operation changed nothing. Free with free().
 */
char *conf_state(gkv_repo *repo);

/* ---- SHA-256, for computing the benchmark's values ---- */

/** The 64 lowercase hex digits of SHA-256(data) and a NUL into out[65]. */
void conf_sha256_hex(char out[65], const void *data, size_t len);

#endif /* GITKV_CONFORMANCE_H */
