/*
 * test_reflog_git.c -- gitkv's log of branch moves on a git store is
 * git's own reflog: `git reflog show` lists gitkv's moves with their
 * messages, in bare repositories (where git itself logs nothing by
 * default) and in non-bare ones (where libgit2 would have logged each
 * move a second time), whatever core.logAllRefUpdates says; a deleted
 * branch's log is kept and `git fsck --strict` accepts the repository;
 * moves made by git appear in gitkv's reading of the log; and a kept log
 * standing where a new branch's log must go refuses the branch, changing
 * nothing.
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

#include <ftw.h>
#include <unistd.h>

#include "gitkv.h"
#include "interop_util.h"

static char tmpdir[] = "/tmp/gkv-interop-reflog-XXXXXX";

/* The output of a shell command (at most cap - 1 bytes) into out. */
static void run(char *out, size_t cap, const char *cmd)
{
	FILE *p = popen(cmd, "r");
	size_t n;

	assert_non_null(p);
	n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	assert_int_equal(pclose(p), 0);
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

static gkv_oid set(gkv_repo *repo, const char *path, const char *value)
{
	gkv_store *s = NULL;
	gkv_oid id;

	assert_int_equal(gkv_store_open_branch(&s, repo, "main"), 0);
	assert_int_equal(gkv_store_set(&id, s, path, value, strlen(value), NULL), 0);
	gkv_store_free(s);
	return id;
}

/*
 * In a repository git made with `init` (extra: its options), gitkv's
 * commits, a branch made, moved back and deleted are all in git's
 * reflogs, once each, and fsck --strict passes.
 */
static void logged_for_git(const char *name, const char *init, const char *config)
{
	char dir[512], out[8192], cmd[2048], hex1[GKV_OID_HEXSZ + 1], hex2[GKV_OID_HEXSZ + 1];
	gkv_repo *repo;
	gkv_oid h1, h2;

	snprintf(dir, sizeof(dir), "%s/%s", tmpdir, name);
	assert_int_equal(sh("git init -q %s -b main '%s'", init, dir), 0);
	if (*config)
		assert_int_equal(sh("git -C '%s' config %s", dir, config), 0);
	repo = open_git(dir);
	h1 = set(repo, "k", "1");
	h2 = set(repo, "k", "2");
	gkv_oid_fmt(hex1, &h1);
	gkv_oid_fmt(hex2, &h2);
	assert_int_equal(gkv_branch_create(repo, "b", &h2), 0);
	assert_int_equal(gkv_branch_cas(repo, "b", &h2, &h1), 0);
	assert_int_equal(gkv_branch_delete(repo, "b"), 0);
	gkv_repo_free(repo);

	snprintf(cmd, sizeof(cmd), "git -C '%s' reflog show --format='%%H %%gs' main", dir);
	run(out, sizeof(out), cmd);
	snprintf(cmd, sizeof(cmd), "%s commit: set k\n%s commit (initial): set k\n", hex2, hex1);
	assert_string_equal(out, cmd);
	/* the ref is gone, its log kept: git reads it as a file */
	snprintf(cmd, sizeof(cmd), "cut -d' ' -f1,2 '%s/%slogs/refs/heads/b'", dir,
		 strcmp(init, "--bare") == 0 ? "" : ".git/");
	run(out, sizeof(out), cmd);
	snprintf(cmd, sizeof(cmd), "%040d %s\n%s %s\n%s %040d\n", 0, hex2, hex2, hex1, hex1, 0);
	assert_string_equal(out, cmd);
	assert_int_equal(sh("git -C '%s' reflog exists refs/heads/b", dir), 0);
	assert_int_equal(sh("git -C '%s' fsck --strict --no-progress >/dev/null 2>&1", dir), 0);
	/* its commits stay reachable for fsck through the log: not dangling */
	snprintf(cmd, sizeof(cmd), "git -C '%s' fsck --dangling --no-progress 2>&1", dir);
	run(out, sizeof(out), cmd);
	assert_null(strstr(out, "dangling commit"));
}

static void bare_repository(void **state)
{
	logged_for_git("bare", "--bare", "");
}

static void non_bare_repository_logged_once(void **state)
{
	logged_for_git("work", "", "");
}

static void logged_against_log_all_ref_updates_false(void **state)
{
	logged_for_git("nolog", "", "core.logAllRefUpdates false");
}

static void moves_by_git_are_read(void **state)
{
	char dir[512], hex1[GKV_OID_HEXSZ + 1];
	gkv_repo *repo;
	gkv_reflog *log = NULL;
	gkv_oid h1, h2;

	snprintf(dir, sizeof(dir), "%s/mixed", tmpdir);
	repo = open_git(dir);
	h1 = set(repo, "k", "1");
	h2 = set(repo, "k", "2");
	gkv_oid_fmt(hex1, &h1);
	assert_int_equal(sh("GIT_COMMITTER_NAME=Git GIT_COMMITTER_EMAIL=git@example.com "
			    "git -C '%s' update-ref -m 'moved by git' refs/heads/main %s",
			    dir, hex1),
			 0);
	assert_int_equal(gkv_branch_reflog(&log, repo, "main"), 0);
	assert_int_equal(gkv_reflog_count(log), 3);
	assert_string_equal(gkv_reflog_message(log, 0), "moved by git");
	assert_string_equal(gkv_signature_name(gkv_reflog_signature(log, 0)), "Git");
	assert_memory_equal(gkv_reflog_old_id(log, 0), &h2, sizeof(h2));
	assert_memory_equal(gkv_reflog_new_id(log, 0), &h1, sizeof(h1));
	assert_string_equal(gkv_reflog_message(log, 1), "commit: set k");
	gkv_reflog_free(log);
	gkv_repo_free(repo);
}

/* The kept log of a deleted "a" is a file where "a/b"'s log would need a
 * folder: the branch is refused and nothing changes. */
static void a_kept_log_in_the_way(void **state)
{
	char dir[512], before[4096], after[4096], cmd[2048];
	gkv_repo *repo;
	gkv_oid h;

	snprintf(dir, sizeof(dir), "%s/clash", tmpdir);
	repo = open_git(dir);
	h = set(repo, "k", "1");
	assert_int_equal(gkv_branch_create(repo, "a", &h), 0);
	assert_int_equal(gkv_branch_delete(repo, "a"), 0);
	snprintf(cmd, sizeof(cmd), "git -C '%s' for-each-ref; find '%s' -path '*/logs/*' | sort",
		 dir, dir);
	run(before, sizeof(before), cmd);
	assert_int_equal(gkv_branch_create(repo, "a/b", &h), GKV_E_EXISTS);
	assert_non_null(strstr(gkv_error_last(), "refs/heads/a/b"));
	run(after, sizeof(after), cmd);
	assert_string_equal(before, after);
	/* the other way round: the logs of a/b in the folder "a" */
	assert_int_equal(gkv_branch_create(repo, "c/d", &h), 0);
	assert_int_equal(gkv_branch_delete(repo, "c/d"), 0);
	assert_int_equal(gkv_branch_create(repo, "c", &h), GKV_E_EXISTS);
	gkv_repo_free(repo);
	assert_int_equal(sh("git -C '%s' fsck --strict --no-progress >/dev/null 2>&1", dir), 0);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	return nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(bare_repository),
	    cmocka_unit_test(non_bare_repository_logged_once),
	    cmocka_unit_test(logged_against_log_all_ref_updates_false),
	    cmocka_unit_test(moves_by_git_are_read),
	    cmocka_unit_test(a_kept_log_in_the_way),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
