/*
 * test_repo.c -- unit tests of store/repo.c: opening a store by name,
 * the default author, and the questions about objects that need no
 * branch (exists, read with hash check, resolve a commit spec).
 *
 * What is held: every URI form and its error ("mem:", "lmdb:" empty,
 * unknown scheme, a plain path detected as LMDB, a plain path to nothing
 * or to a regular file); the author's sources in order -- options, then
 * GITKV_AUTHOR_NAME/EMAIL, then git's user.name/user.email (HOME pointed
 * at a temporary .gitconfig), then "gitkv <gitkv@localhost>";
 * gkv_repo_resolve on branches, full ids, unique and ambiguous prefixes
 * (a 4-hex collision found deterministically among ~hundreds of
 * commits), non-commits; gkv_repo_object_read refusing an object stored
 * under the wrong id; a custom backend's name and default branch, and
 * its release when opening fails.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>

#include <git2.h>

#include "repo.h"
#include "unit_util.h"

/* ---------------------------------------------------------------- URIs */

static void test_uris(void **state)
{
	gkv_repo *repo = (gkv_repo *)1;
	char *dir = uu_tmpdir("repo-uri"), uri[512], file[256];
	gkv_options *opts;
	FILE *f;

	(void)state;
	assert_ok(gkv_repo_open(&repo, "mem:", NULL));
	assert_string_equal("mem", gkv_repo_backend_name(repo));
	assert_string_equal("main", gkv_repo_default_branch(repo));
	gkv_repo_free(repo);

	assert_rc(GKV_E_INVALID, gkv_repo_open(&repo, "mem:extra", NULL));
	assert_null(repo);
	assert_rc(GKV_E_INVALID, gkv_repo_open(&repo, "lmdb:", NULL));
	assert_rc(GKV_E_INVALID, gkv_repo_open(&repo, "git:", NULL));
	assert_rc(GKV_E_INVALID, gkv_repo_open(&repo, "nope:x", NULL));
	assert_non_null(strstr(gkv_error_last(), "nope"));
	assert_rc(GKV_E_INVALID, gkv_repo_open(&repo, "", NULL));
	assert_rc(GKV_E_INVALID, gkv_repo_open(&repo, NULL, NULL));
	assert_rc(GKV_E_INVALID, gkv_repo_open(NULL, "mem:", NULL));

	/* A plain path to nothing; lmdb: to nothing without create. */
	snprintf(uri, sizeof(uri), "%s/absent", dir);
	assert_rc(GKV_E_NOTFOUND, gkv_repo_open(&repo, uri, NULL));
	snprintf(uri, sizeof(uri), "lmdb:%s/absent", dir);
	assert_rc(GKV_E_NOTFOUND, gkv_repo_open(&repo, uri, NULL));

	/* A regular file, and an empty directory: not a store. */
	snprintf(file, sizeof(file), "%s/file", dir);
	assert_non_null(f = fopen(file, "w"));
	fputs("hello", f);
	fclose(f);
	assert_rc(GKV_E_INVALID, gkv_repo_open(&repo, file, NULL));
	snprintf(file, sizeof(file), "%s/emptydir", dir);
	assert_int_equal(0, mkdir(file, 0755));
	assert_rc(GKV_E_INVALID, gkv_repo_open(&repo, file, NULL));

	/* Make an LMDB store, then open it by its plain path. */
	snprintf(file, sizeof(file), "%s/store", dir);
	snprintf(uri, sizeof(uri), "lmdb:%s", file);
	assert_ok(gkv_options_new(&opts));
	assert_ok(gkv_options_set_create(opts, 1));
	assert_ok(gkv_repo_open(&repo, uri, opts));
	gkv_options_free(opts);
	gkv_store *s;

	assert_ok(gkv_store_open_branch(&s, repo, "main"));
	assert_ok(gkv_store_set(NULL, s, "k", "v", 1, NULL));
	gkv_store_free(s);
	gkv_repo_free(repo);
	assert_int_equal(1, gkv_backend_lmdb_detect(file));
	assert_ok(gkv_repo_open(&repo, file, NULL));
	assert_string_equal("lmdb", gkv_repo_backend_name(repo));
	gkv_buf v;

	assert_ok(gkv_store_open_branch(&s, repo, "main"));
	assert_ok(gkv_store_get(&v, s, "k"));
	assert_buf_str(v, "v");
	gkv_buf_dispose(&v);
	gkv_store_free(s);
	gkv_repo_free(repo);
	uu_tmpdir_remove(dir);
}

/* --------------------------------------------------------------- authors */

/*
 * libgit2 reads HOME once per process (gitkv keeps it initialised for
 * hashing), so each identity is probed in a fresh process: this program
 * run again with --probe-author, in an environment set up for the case.
 * It prints "name|email" of the repo's default author, checked against a
 * commit made with it.
 */
static char self_exe[4096];

static int probe_author(int argc, char **argv)
{
	gkv_options *opts = NULL;
	gkv_repo *repo;
	gkv_store *s;
	gkv_commit *c;
	gkv_oid h;

	if (argc == 4 && (gkv_options_new(&opts) < 0 || gkv_options_set_author(opts, argv[2], argv[3]) < 0))
		return 2;
	if (gkv_repo_open(&repo, "mem:", opts) < 0 || gkv_store_open_branch(&s, repo, "main") < 0 ||
	    gkv_store_set(&h, s, "k", "v", 1, NULL) < 0 || gkv_commit_lookup(&c, repo, &h) < 0)
		return 3;
	if (strcmp(repo->author_name, gkv_signature_name(gkv_commit_author(c))) != 0 ||
	    strcmp(repo->author_email, gkv_signature_email(gkv_commit_committer(c))) != 0)
		return 4;
	printf("%s|%s\n", repo->author_name, repo->author_email);
	gkv_commit_free(c);
	gkv_store_free(s);
	gkv_repo_free(repo);
	gkv_options_free(opts);
	return 0;
}

/* Run the probe with HOME=home and the given GITKV_AUTHOR_* (NULL: unset). */
static void assert_author(const char *home, const char *env_name, const char *env_email,
    const char *opt_name, const char *opt_email, const char *want)
{
	char out[512], env[512] = "";
	size_t n = 0;

	if (env_name)
		n += (size_t)snprintf(env + n, sizeof(env) - n, " GITKV_AUTHOR_NAME='%s'", env_name);
	if (env_email)
		n += (size_t)snprintf(env + n, sizeof(env) - n, " GITKV_AUTHOR_EMAIL='%s'", env_email);
	assert_int_equal(0, uu_sh(out, sizeof(out),
	    "env -u GITKV_AUTHOR_NAME -u GITKV_AUTHOR_EMAIL -u XDG_CONFIG_HOME -u GIT_CONFIG_GLOBAL "
	    "HOME='%s'%s '%s' --probe-author%s%s%s%s%s",
	    home, env, self_exe, opt_name ? " '" : "", opt_name ? opt_name : "", opt_name ? "' '" : "",
	    opt_email ? opt_email : "", opt_name ? "'" : ""));
	assert_string_equal(want, out);
}

static void test_author_sources_in_order(void **state)
{
	char *home = uu_tmpdir("repo-home"), *bare = uu_tmpdir("repo-bare"), cfg[256];
	FILE *f;
	ssize_t n;

	(void)state;
	assert_true((n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1)) > 0);
	self_exe[n] = '\0';
	snprintf(cfg, sizeof(cfg), "%s/.gitconfig", home);
	assert_non_null(f = fopen(cfg, "w"));
	fputs("[user]\n\tname = Git Config User\n\temail = config@example.org\n", f);
	fclose(f);

	/* Nothing anywhere: the built-in default. */
	assert_author(bare, NULL, NULL, NULL, NULL, "gitkv|gitkv@localhost");
	/* git's configuration. */
	assert_author(home, NULL, NULL, NULL, NULL, "Git Config User|config@example.org");
	/* The environment before git's configuration, field by field. */
	assert_author(home, "Env Name", NULL, NULL, NULL, "Env Name|config@example.org");
	assert_author(home, NULL, "env@example.org", NULL, NULL, "Git Config User|env@example.org");
	assert_author(home, "Env Name", "env@example.org", NULL, NULL, "Env Name|env@example.org");
	assert_author(bare, "Env Name", NULL, NULL, NULL, "Env Name|gitkv@localhost");
	/* Empty variables count as unset. */
	assert_author(home, "", "", NULL, NULL, "Git Config User|config@example.org");
	/* Options before everything. */
	assert_author(home, "Env Name", "env@example.org", "Opt Name", "opt@example.org",
	    "Opt Name|opt@example.org");
	/* An unusable identity from the environment: the default, not a failure. */
	assert_author(bare, "Bad <Name>", "x@example.org", NULL, NULL, "gitkv|gitkv@localhost");

	uu_tmpdir_remove(home);
	uu_tmpdir_remove(bare);
}

/*
 * Starting libgit2 costs 20-50 ms per process (Debian's build parses
 * every CA certificate), so the core starts it only when it needs it.
 * Probe (a fresh process): open an lmdb store and read a value, then
 * report git_libgit2_init's count (1: nobody had started it); then commit
 * with the default author and hash (sha1dc and git's user.name need it).
 */
static int probe_libgit2(const char *dir)
{
	gkv_repo *repo = NULL;
	gkv_store *s = NULL;
	gkv_buf v;
	char uri[512];
	int before, after;

	snprintf(uri, sizeof(uri), "lmdb:%s", dir);
	if (gkv_repo_open(&repo, uri, NULL) < 0 || gkv_store_open_branch(&s, repo, "main") < 0 ||
	    gkv_store_get(&v, s, "k") < 0)
		return 2;
	gkv_buf_dispose(&v);
	before = git_libgit2_init();
	git_libgit2_shutdown();
	if (gkv_store_set(NULL, s, "k", "w", 1, NULL) < 0)
		return 3;
	after = git_libgit2_init();
	git_libgit2_shutdown();
	printf("%d %d\n", before, after);
	gkv_store_free(s);
	gkv_repo_free(repo);
	return 0;
}

static void test_libgit2_started_only_when_needed(void **state)
{
	char *dir = uu_tmpdir("repo-lazy"), out[64];
	gkv_repo *repo = uu_open_lmdb(dir, 0);
	gkv_store *s;
	ssize_t n;

	(void)state;
	assert_ok(gkv_store_open_branch(&s, repo, "main"));
	assert_ok(gkv_store_set(NULL, s, "k", "v", 1, NULL));
	gkv_store_free(s);
	gkv_repo_free(repo);
	assert_true((n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1)) > 0);
	self_exe[n] = '\0';
	assert_int_equal(0, uu_sh(out, sizeof(out), "'%s' --probe-libgit2 '%s'", self_exe, dir));
	assert_string_equal("1 2", out);
	uu_tmpdir_remove(dir);
}

/* ---------------------------------------------------------- object read */

static void test_object_read_verifies(void **state)
{
	gkv_repo *repo = uu_open_mem();
	gkv_oid blob, wrong = uu_oid("3333333333333333333333333333333333333333");
	gkv_oid missing = uu_oid("4444444444444444444444444444444444444444");
	gkv_buf b = {(unsigned char *)1, 7};
	gkv_otype type;
	int exists;

	(void)state;
	uu_raw_put(&blob, repo->backend, GKV_OBJ_BLOB, "payload", 7);
	assert_ok(gkv_repo_object_read(&b, &type, repo, &blob));
	assert_int_equal(GKV_OBJ_BLOB, type);
	assert_buf_str(b, "payload");
	gkv_buf_dispose(&b);
	assert_ok(gkv_repo_object_read(&b, NULL, repo, &blob));
	gkv_buf_dispose(&b);

	uu_raw_write(repo->backend, &wrong, GKV_OBJ_BLOB, "payload", 7);
	assert_ok(gkv_repo_object_exists(&exists, repo, &wrong));
	assert_int_equal(1, exists);
	b.ptr = (unsigned char *)1;
	assert_rc(GKV_E_CORRUPT, gkv_repo_object_read(&b, &type, repo, &wrong));
	assert_null(b.ptr);
	assert_int_equal(0, b.size);
	assert_non_null(strstr(gkv_error_last(), "3333333333333333333333333333333333333333"));
	/* The same bytes under another type hash differently: corrupt too. */
	gkv_oid as_tree;

	assert_ok(gkv_hash(&as_tree, GKV_OBJ_BLOB, "x", 1));
	uu_raw_write(repo->backend, &as_tree, GKV_OBJ_COMMIT, "x", 1);
	assert_rc(GKV_E_CORRUPT, gkv_repo_object_read(&b, &type, repo, &as_tree));

	assert_rc(GKV_E_NOTFOUND, gkv_repo_object_read(&b, &type, repo, &missing));
	assert_ok(gkv_repo_object_exists(&exists, repo, &missing));
	assert_int_equal(0, exists);
	assert_rc(GKV_E_INVALID, gkv_repo_object_read(NULL, &type, repo, &blob));
	gkv_repo_free(repo);
}

/* --------------------------------------------------------------- resolve */

typedef struct {
	gkv_repo *repo;
	gkv_oid tree;
	gkv_oid *commits;
	size_t n;
} history;

/* Commits c0..c(n-1), deterministic: same tree, fixed signatures, message "c<i>". */
static void make_commits(history *h, size_t n)
{
	gkv_signature *sig = uu_sig("resolver", 1500000000);
	gkv_tree *e, *t;
	char msg[32];

	assert_ok(gkv_tree_empty(&e, h->repo));
	assert_ok(gkv_tree_set(&t, e, "k", "v", 1));
	assert_ok(gkv_tree_write(&h->tree, t));
	gkv_tree_free(t);
	gkv_tree_free(e);
	h->commits = realloc(h->commits, (h->n + n) * sizeof(gkv_oid));
	for (size_t i = 0; i < n; i++, h->n++) {
		snprintf(msg, sizeof(msg), "c%zu\n", h->n);
		assert_ok(gkv_commit_create(&h->commits[h->n], h->repo, &h->tree, NULL, 0, sig, sig, msg));
	}
	gkv_signature_free(sig);
}

static int same_prefix(const gkv_oid *a, const gkv_oid *b, size_t hexlen)
{
	char x[GKV_OID_HEXSZ + 1], y[GKV_OID_HEXSZ + 1];

	gkv_oid_fmt(x, a);
	gkv_oid_fmt(y, b);
	return strncmp(x, y, hexlen) == 0;
}

static size_t sharing(const history *h, const gkv_oid *id, size_t hexlen)
{
	size_t k = 0;

	for (size_t i = 0; i < h->n; i++)
		k += same_prefix(&h->commits[i], id, hexlen);
	return k;
}

static void test_resolve(void **state)
{
	history h = {uu_open_mem(), {{0}}, NULL, 0};
	gkv_oid out;
	char hex[GKV_OID_HEXSZ + 1], spec[64];
	size_t amb = SIZE_MAX, uniq = SIZE_MAX;

	(void)state;
	/* Grow the history until two commits share 4 hex digits. */
	while (amb == SIZE_MAX && h.n < 4000) {
		make_commits(&h, 100);
		for (size_t i = 0; i < h.n && amb == SIZE_MAX; i++)
			if (sharing(&h, &h.commits[i], 4) > 1)
				amb = i;
	}
	assert_true(amb != SIZE_MAX);
	for (size_t i = 0; i < h.n && uniq == SIZE_MAX; i++)
		if (sharing(&h, &h.commits[i], 4) == 1)
			uniq = i;
	assert_true(uniq != SIZE_MAX);

	/* Ambiguous at 4 digits, and resolved once long enough. */
	gkv_oid_fmt(hex, &h.commits[amb]);
	snprintf(spec, sizeof(spec), "%.4s", hex);
	assert_rc(GKV_E_AMBIGUOUS, gkv_repo_resolve(&out, h.repo, spec));
	assert_non_null(strstr(gkv_error_last(), spec));
	for (size_t len = 5; len <= GKV_OID_HEXSZ; len++) {
		if (sharing(&h, &h.commits[amb], len) == 1) {
			snprintf(spec, sizeof(spec), "%.*s", (int)len, hex);
			assert_ok(gkv_repo_resolve(&out, h.repo, spec));
			assert_oid_equal(&out, &h.commits[amb]);
			break;
		}
	}
	/* A unique 4-digit prefix, in either case. */
	gkv_oid_fmt(hex, &h.commits[uniq]);
	snprintf(spec, sizeof(spec), "%.4s", hex);
	assert_ok(gkv_repo_resolve(&out, h.repo, spec));
	assert_oid_equal(&out, &h.commits[uniq]);
	/* Full ids, upper case too. */
	assert_ok(gkv_repo_resolve(&out, h.repo, hex));
	assert_oid_equal(&out, &h.commits[uniq]);
	for (char *p = hex; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	assert_ok(gkv_repo_resolve(&out, h.repo, hex));
	assert_oid_equal(&out, &h.commits[uniq]);

	/* A blob sharing that unique prefix does not make it ambiguous. */
	gkv_oid blob;
	int shared = 0;

	for (int i = 0; i < 200000 && !shared; i++) {
		char data[32];
		int len = snprintf(data, sizeof(data), "blob %d", i);

		assert_ok(gkv_hash(&blob, GKV_OBJ_BLOB, data, (size_t)len));
		if (same_prefix(&blob, &h.commits[uniq], 4)) {
			uu_raw_write(h.repo->backend, &blob, GKV_OBJ_BLOB, data, (size_t)len);
			shared = 1;
		}
	}
	assert_true(shared);
	assert_ok(gkv_repo_resolve(&out, h.repo, spec));
	assert_oid_equal(&out, &h.commits[uniq]);
	/* ... and a prefix of that blob alone is no commit. */
	gkv_oid_fmt(hex, &blob);
	if (sharing(&h, &blob, 8) == 0) {
		snprintf(spec, sizeof(spec), "%.8s", hex);
		assert_rc(GKV_E_NOTFOUND, gkv_repo_resolve(&out, h.repo, spec));
	}
	/* A full id that is not a commit. */
	assert_rc(GKV_E_INVALID, gkv_repo_resolve(&out, h.repo, hex));
	gkv_oid_fmt(hex, &h.tree);
	assert_rc(GKV_E_INVALID, gkv_repo_resolve(&out, h.repo, hex));
	/* Absent full id; too short; too long. */
	assert_rc(GKV_E_NOTFOUND, gkv_repo_resolve(&out, h.repo, "5555555555555555555555555555555555555555"));
	assert_rc(GKV_E_INVALID, gkv_repo_resolve(&out, h.repo, "abc"));
	assert_rc(GKV_E_INVALID, gkv_repo_resolve(&out, h.repo, "55555555555555555555555555555555555555555"));

	/* Branches, and a branch name that looks like hex wins over the prefix. */
	assert_ok(gkv_branch_create(h.repo, "main", &h.commits[0]));
	assert_ok(gkv_repo_resolve(&out, h.repo, "main"));
	assert_oid_equal(&out, &h.commits[0]);
	gkv_oid_fmt(hex, &h.commits[uniq]);
	snprintf(spec, sizeof(spec), "%.6s", hex);
	assert_ok(gkv_branch_create(h.repo, spec, &h.commits[amb]));
	assert_ok(gkv_repo_resolve(&out, h.repo, spec));
	assert_oid_equal(&out, &h.commits[amb]);
	assert_rc(GKV_E_NOTFOUND, gkv_repo_resolve(&out, h.repo, "no-such-branch"));
	free(h.commits);
	gkv_repo_free(h.repo);
}

/*
 * A malformed spec -- empty, or neither a valid branch name nor hex, like
 * "a..b" -- is GKV_E_INVALID, as gitkv.h documents.
 */
static void test_resolve_malformed_spec(void **state)
{
	gkv_repo *repo = uu_open_mem();
	gkv_oid out;
	int rc_empty = gkv_repo_resolve(&out, repo, ""), rc_dots = gkv_repo_resolve(&out, repo, "a..b");

	(void)state;
	gkv_repo_free(repo);
	if (rc_empty != GKV_E_INVALID || rc_dots != GKV_E_INVALID)
		fail_msg("gkv_repo_resolve(\"\") = %d, (\"a..b\") = %d; expected GKV_E_INVALID (%d)",
		    rc_empty, rc_dots, GKV_E_INVALID);
}

/* ------------------------------------------------------- custom backends */

/* A backend's strings go to the library in its allocator's buffers. */
static int trunk_branch(char **out, gkv_backend *b)
{
	(void)b;
	if (!(*out = gkv_backend_data_alloc(sizeof("trunk"))))
		return GKV_E_NOMEM;
	memcpy(*out, "trunk", sizeof("trunk"));
	return 0;
}

static void test_custom_backend(void **state)
{
	gkv_backend *b;
	gkv_repo *repo;

	(void)state;
	assert_ok(gkv_backend_mem_new(&b));
	b->name = "custom-one";
	b->default_branch = trunk_branch;
	assert_ok(gkv_repo_open_backend(&repo, b, NULL));
	assert_string_equal("custom-one", gkv_repo_backend_name(repo));
	assert_string_equal("trunk", gkv_repo_default_branch(repo));
	gkv_repo_free(repo);

	/*
	 * A bad version: refused, and the backend released (ASan checks the
	 * leak, and that the message is made before the backend is freed).
	 */
	assert_ok(gkv_backend_mem_new(&b));
	b->version = 99;
	assert_rc(GKV_E_INVALID, gkv_repo_open_backend(&repo, b, NULL));
	/* version 1's struct ends before read_typed: refused, never read */
	assert_ok(gkv_backend_mem_new(&b));
	b->version = 1;
	assert_rc(GKV_E_INVALID, gkv_repo_open_backend(&repo, b, NULL));
	assert_rc(GKV_E_INVALID, gkv_repo_open_backend(&repo, NULL, NULL));
	assert_rc(GKV_E_INVALID, gkv_backend_init(&(gkv_backend){0}, GKV_BACKEND_VERSION + 1));
	gkv_repo_free(NULL);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_uris),
	    cmocka_unit_test(test_author_sources_in_order),
	    cmocka_unit_test(test_libgit2_started_only_when_needed),
	    cmocka_unit_test(test_object_read_verifies),
	    cmocka_unit_test(test_resolve),
	    cmocka_unit_test(test_resolve_malformed_spec),
	    cmocka_unit_test(test_custom_backend),
	};

	if (argc >= 2 && strcmp(argv[1], "--probe-author") == 0)
		return probe_author(argc, argv);
	if (argc == 3 && strcmp(argv[1], "--probe-libgit2") == 0)
		return probe_libgit2(argv[2]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
