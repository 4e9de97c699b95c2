/*
 * test_config_git.c -- a git store's settings are the repository's own
 * config and its default branch is HEAD, checked with the git CLI:
 * `git config --get` reads what gitkv set (values with spaces, '#', ';',
 * quotes and backslashes included) and gitkv reads what `git config`
 * set (any case of section and name; a multivar as its last value, set
 * over whole); a key gitkv removed is gone for git; config.lock held by
 * another writer refuses the write and changes nothing;
 * gkv_repo_set_default_branch is `git symbolic-ref HEAD` (bare and
 * non-bare repositories), a HEAD git moved is the default branch at the
 * next open; and `git fsck --strict` passes after all of it.
 *
 * Every repository lives under one mkdtemp directory, removed at the end.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gitkv.h"
#include "interop_util.h"

static char tmpdir[] = "/tmp/gkv-interop-config-XXXXXX";

/* The output of a shell command, its last newline cut, into out; the
 * command's exit status. */
static int run(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int run(char *out, size_t cap, const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	FILE *p;
	size_t n;
	int st;

	va_start(ap, fmt);
	n = (size_t)vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_true(n < sizeof(cmd));
	assert_non_null(p = popen(cmd, "r"));
	n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	if (n && out[n - 1] == '\n')
		out[n - 1] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static gkv_repo *open_git(const char *path)
{
	gkv_options *opts;
	gkv_repo *repo;
	char uri[512];

	snprintf(uri, sizeof(uri), "git:%s", path);
	assert_int_equal(gkv_options_new(&opts), 0);
	assert_int_equal(gkv_options_set_create(opts, 1), 0);
	assert_int_equal(gkv_options_set_author(opts, "T", "t@example.com"), 0);
	assert_int_equal(gkv_repo_open(&repo, uri, opts), 0);
	gkv_options_free(opts);
	return repo;
}

static void check_get(gkv_repo *repo, const char *key, const char *want)
{
	gkv_buf v = {NULL, 0};

	assert_int_equal(gkv_config_get(&v, repo, key), 0);
	assert_string_equal((const char *)v.ptr, want);
	gkv_buf_dispose(&v);
}

static void fsck_clean(const char *gitdir)
{
	char out[8192];

	assert_int_equal(run(out, sizeof(out), "git --git-dir='%s' fsck --strict 2>&1", gitdir), 0);
}

static void gitkv_sets_and_git_reads(void **state)
{
	static const char *values[] = {"https://example.com/r.git", "  two spaces around  ",
	    "hash # and semi ; here", "quote \" backslash \\ tab \t end", "", "[not a section]"};
	char dir[512], out[4096], key[64];
	gkv_repo *repo;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/sets", tmpdir);
	repo = open_git(dir);
	assert_int_equal(gkv_config_set(repo, "remote.x.url", values[0]), 0);
	assert_int_equal(run(out, sizeof(out), "git --git-dir='%s' config --get remote.x.url", dir),
			 0);
	assert_string_equal(out, values[0]);
	for (size_t i = 1; i < sizeof(values) / sizeof(values[0]); i++) {
		snprintf(key, sizeof(key), "gkvtest.v%zu", i);
		assert_int_equal(gkv_config_set(repo, key, values[i]), 0);
		assert_int_equal(
		    run(out, sizeof(out), "git --git-dir='%s' config --get %s", dir, key), 0);
		assert_string_equal(out, values[i]);
	}
	/* a subsection keeps its case; section and name are git's lower case */
	assert_int_equal(gkv_config_set(repo, "Remote.MixedCase.URL", "m"), 0);
	assert_int_equal(
	    run(out, sizeof(out), "git --git-dir='%s' config --get remote.MixedCase.url", dir), 0);
	assert_string_equal(out, "m");
	assert_int_equal(
	    run(out, sizeof(out), "git --git-dir='%s' config --get remote.mixedcase.url", dir), 1);
	/* removed by gitkv: gone for git (exit 1: not found) */
	assert_int_equal(gkv_config_set(repo, "remote.x.url", NULL), 0);
	assert_int_equal(run(out, sizeof(out), "git --git-dir='%s' config --get remote.x.url", dir),
			 1);
	/* git's own settings are untouched */
	assert_int_equal(run(out, sizeof(out), "git --git-dir='%s' config --get core.bare", dir), 0);
	assert_string_equal(out, "true");
	gkv_repo_free(repo);
	fsck_clean(dir);
}

typedef struct {
	char text[4096];
} listing;

static int list_cb(const char *key, const char *value, void *payload)
{
	listing *l = payload;
	size_t n = strlen(l->text);

	snprintf(l->text + n, sizeof(l->text) - n, "%s=%s\n", key, value);
	return 0;
}

static void git_sets_and_gitkv_reads(void **state)
{
	char dir[512], out[4096];
	gkv_repo *repo;
	listing l;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/reads", tmpdir);
	assert_int_equal(sh("git init -q --bare '%s'", dir), 0);
	repo = open_git(dir);
	/* written by git after gitkv opened the store: read afresh */
	assert_int_equal(sh("git --git-dir='%s' config remote.y.url /srv/y.git", dir), 0);
	assert_int_equal(sh("git --git-dir='%s' config Remote.Z.URL 'with  spaces # and hash'", dir),
			 0);
	check_get(repo, "remote.y.url", "/srv/y.git");
	check_get(repo, "remote.Z.url", "with  spaces # and hash");
	check_get(repo, "REMOTE.Z.Url", "with  spaces # and hash");
	memset(&l, 0, sizeof(l));
	assert_int_equal(gkv_config_foreach(repo, "remote.", list_cb, &l), 0);
	assert_string_equal(l.text, "remote.Z.url=with  spaces # and hash\nremote.y.url=/srv/y.git\n");
	/* a multivar reads as its last value; setting it leaves one */
	assert_int_equal(sh("git --git-dir='%s' config --add remote.y.fetch '+refs/heads/a:refs/remotes/y/a'", dir), 0);
	assert_int_equal(sh("git --git-dir='%s' config --add remote.y.fetch '+refs/heads/b:refs/remotes/y/b'", dir), 0);
	check_get(repo, "remote.y.fetch", "+refs/heads/b:refs/remotes/y/b");
	assert_int_equal(gkv_config_set(repo, "remote.y.fetch", "+refs/heads/*:refs/remotes/y/*"), 0);
	assert_int_equal(
	    run(out, sizeof(out), "git --git-dir='%s' config --get-all remote.y.fetch", dir), 0);
	assert_string_equal(out, "+refs/heads/*:refs/remotes/y/*");
	/* and removing a multivar removes every value */
	assert_int_equal(sh("git --git-dir='%s' config --add remote.y.fetch '+refs/tags/*:refs/tags/*'", dir), 0);
	assert_int_equal(gkv_config_set(repo, "remote.y.fetch", NULL), 0);
	assert_int_equal(
	    run(out, sizeof(out), "git --git-dir='%s' config --get-all remote.y.fetch", dir), 1);
	check_get(repo, "remote.y.url", "/srv/y.git");
	gkv_repo_free(repo);
	fsck_clean(dir);
}

static void a_held_config_lock_refuses_the_write(void **state)
{
	char dir[512], lock[600], out[4096];
	gkv_repo *repo;
	int fd;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/locked", tmpdir);
	repo = open_git(dir);
	assert_int_equal(gkv_config_set(repo, "gkvtest.k", "before"), 0);
	snprintf(lock, sizeof(lock), "%s/config.lock", dir);
	assert_true((fd = open(lock, O_CREAT | O_EXCL | O_WRONLY, 0644)) >= 0);
	close(fd);
	assert_int_equal(gkv_config_set(repo, "gkvtest.k", "after"), GKV_E_CONFLICT);
	assert_non_null(strstr(gkv_error_last(), "gkvtest.k"));
	check_get(repo, "gkvtest.k", "before");
	assert_int_equal(unlink(lock), 0);
	assert_int_equal(run(out, sizeof(out), "git --git-dir='%s' config --get gkvtest.k", dir), 0);
	assert_string_equal(out, "before");
	assert_int_equal(gkv_config_set(repo, "gkvtest.k", "after"), 0);
	check_get(repo, "gkvtest.k", "after");
	gkv_repo_free(repo);
}

/* HEAD is the default branch, both ways, in a repository made by init
 * (extra: its options) whose git directory is gitdir below dir. */
static void head_is_the_default_branch(const char *name, const char *init, const char *gitsub)
{
	char dir[512], gitdir[600], out[4096];
	gkv_repo *repo;
	gkv_store *s = NULL;

	snprintf(dir, sizeof(dir), "%s/%s", tmpdir, name);
	snprintf(gitdir, sizeof(gitdir), "%s%s", dir, gitsub);
	assert_int_equal(sh("git init -q %s -b master '%s'", init, dir), 0);
	repo = open_git(dir);
	assert_string_equal(gkv_repo_default_branch(repo), "master");
	assert_int_equal(gkv_repo_set_default_branch(repo, "trunk"), 0);
	assert_string_equal(gkv_repo_default_branch(repo), "trunk");
	assert_int_equal(run(out, sizeof(out), "git --git-dir='%s' symbolic-ref HEAD", gitdir), 0);
	assert_string_equal(out, "refs/heads/trunk");
	/* an invalid name changes nothing */
	assert_int_equal(gkv_repo_set_default_branch(repo, "a..b"), GKV_E_INVALID);
	assert_int_equal(run(out, sizeof(out), "git --git-dir='%s' symbolic-ref HEAD", gitdir), 0);
	assert_string_equal(out, "refs/heads/trunk");
	/* the branch is born by a commit to it; git sees it at HEAD */
	assert_int_equal(gkv_store_open_branch(&s, repo, gkv_repo_default_branch(repo)), 0);
	assert_int_equal(gkv_store_set(NULL, s, "k", "v", 1, NULL), 0);
	gkv_store_free(s);
	assert_int_equal(run(out, sizeof(out), "git --git-dir='%s' show HEAD:k", gitdir), 0);
	assert_string_equal(out, "v");
	gkv_repo_free(repo);
	/* the next open reads HEAD; a HEAD moved by git is followed */
	repo = open_git(dir);
	assert_string_equal(gkv_repo_default_branch(repo), "trunk");
	gkv_repo_free(repo);
	assert_int_equal(sh("git --git-dir='%s' symbolic-ref HEAD refs/heads/other", gitdir), 0);
	repo = open_git(dir);
	assert_string_equal(gkv_repo_default_branch(repo), "other");
	gkv_repo_free(repo);
	fsck_clean(gitdir);
}

static void head_bare(void **state)
{
	(void)state;
	head_is_the_default_branch("head-bare", "--bare", "");
}

static void head_non_bare(void **state)
{
	(void)state;
	head_is_the_default_branch("head-work", "", "/.git");
}

/* A read-only handle neither writes config nor moves HEAD. */
static void read_only_changes_nothing(void **state)
{
	char dir[512], uri[600], out[4096];
	gkv_options *opts;
	gkv_repo *repo, *ro;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/ro", tmpdir);
	repo = open_git(dir);
	assert_int_equal(gkv_config_set(repo, "gkvtest.k", "v"), 0);
	gkv_repo_free(repo);
	snprintf(uri, sizeof(uri), "git:%s", dir);
	assert_int_equal(gkv_options_new(&opts), 0);
	assert_int_equal(gkv_options_set_readonly(opts, 1), 0);
	assert_int_equal(gkv_repo_open(&ro, uri, opts), 0);
	gkv_options_free(opts);
	check_get(ro, "gkvtest.k", "v");
	assert_int_equal(gkv_config_set(ro, "gkvtest.k", "w"), GKV_E_READONLY);
	assert_int_equal(gkv_repo_set_default_branch(ro, "trunk"), GKV_E_READONLY);
	gkv_repo_free(ro);
	assert_int_equal(run(out, sizeof(out), "git --git-dir='%s' config --get gkvtest.k", dir), 0);
	assert_string_equal(out, "v");
	assert_int_equal(run(out, sizeof(out), "git --git-dir='%s' symbolic-ref HEAD", dir), 0);
	assert_string_equal(out, "refs/heads/main");
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(gitkv_sets_and_git_reads),
	    cmocka_unit_test(git_sets_and_gitkv_reads),
	    cmocka_unit_test(a_held_config_lock_refuses_the_write),
	    cmocka_unit_test(head_bare),
	    cmocka_unit_test(head_non_bare),
	    cmocka_unit_test(read_only_changes_nothing),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
