/*
 * test_git_refs_version.c -- a git: store's views skip re-reading a head
 * that did not move, and still see every move git makes.
 *
 * The git backend gives the store versions of the refs (refs_version and
 * ref_read_versioned in gitkv/sys/backend.h), kept by watching the ref
 * directories with inotify: while the version stays where a view last
 * read its head, the view does not read it again. Here the git CLI moves
 * branches under a view that is already open -- update-ref, branch -f, a
 * commit-tree, a real commit, pack-refs then a change of packed-refs
 * alone, a loose ref deleted to uncover the packed one, branches in
 * folders made after the handle opened, a linked work tree -- and the
 * very next read through the view must see the new state. Between moves
 * the version must hold still over several reads: that is what proves
 * the head is not re-read. A forked child using its parent's handle must
 * not eat the parent's events. The time of a get is printed, never
 * asserted.
 *
 * Everything lives under one mkdtemp directory, removed at the end.
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gitkv.h"
#include "gitkv/sys/backend.h"

static char tmpdir[] = "/tmp/gkv-interop-refsver-XXXXXX";

/* ---- helpers ---- */

static void vformat(char *out, size_t size, const char *fmt, va_list ap)
{
	int n = vsnprintf(out, size, fmt, ap);

	assert_true(n >= 0 && (size_t)n < size);
}

/* Run a shell command that must succeed. */
static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vformat(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("command failed: %s", cmd);
}

/* The first line a command that must succeed prints, into out. */
static void line(char *out, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void line(char *out, size_t size, const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	FILE *p;

	va_start(ap, fmt);
	vformat(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_non_null(p = popen(cmd, "r"));
	if (!fgets(out, (int)size, p))
		out[0] = '\0';
	if (pclose(p) != 0 || !out[0])
		fail_msg("command failed or printed nothing: %s", cmd);
	out[strcspn(out, "\n")] = '\0';
}

typedef struct {
	char hex[GKV_OID_HEXSZ + 1];
} hexid;

/* A commit made by git whose tree holds k = value (parent: a rev or NULL). */
static hexid commit_value(const char *repo, const char *value, const char *parent)
{
	char blob[64], tree[64], buf[64];
	hexid c;

	line(blob, sizeof(blob), "printf '%%s' '%s' | git -C %s hash-object -w --stdin", value,
	     repo);
	line(tree, sizeof(tree), "printf '100644 blob %s\\tk\\n' | git -C %s mktree", blob, repo);
	line(buf, sizeof(buf), "git -C %s commit-tree %s%s%s -m '%s' </dev/null", repo, tree,
	     parent ? " -p " : "", parent ? parent : "", value);
	assert_int_equal(strlen(buf), GKV_OID_HEXSZ);
	memcpy(c.hex, buf, sizeof(c.hex));
	return c;
}

/* k through the view is value (NULL: absent, or the branch has no commit). */
static void expect(gkv_store *s, const char *value, const char *when)
{
	gkv_buf v = {NULL, 0};
	int found = 0;

	if (gkv_store_find(&v, &found, s, "k") < 0)
		fail_msg("%s: find failed: %s", when, gkv_error_last());
	if (!value && found)
		fail_msg("%s: found '%.*s', expected nothing", when, (int)v.size, (char *)v.ptr);
	if (value && !found)
		fail_msg("%s: found nothing, expected '%s'", when, value);
	if (value && (v.size != strlen(value) || memcmp(v.ptr, value, v.size) != 0))
		fail_msg("%s: found '%.*s', expected '%s'", when, (int)v.size, (char *)v.ptr,
			 value);
	gkv_buf_dispose(&v);
}

static uint64_t version(gkv_backend *b)
{
	uint64_t v = 0;

	assert_int_equal(b->refs_version(&v, b), 0);
	return v;
}

/*
 * With nothing moving, the version holds still across reads through the
 * view (so the view does not read its head again), and the view keeps
 * its value.
 */
static int watching = -1; /* whether inotify versions refs here: probed once */

/*
 * The backend trusts inotify only on local file systems (another machine
 * writing over NFS is never seen); elsewhere every version is new and
 * views read their head every time. Then only correctness is checked.
 */
static int can_watch(void)
{
	char repo[600];
	gkv_backend *b = NULL;
	uint64_t v1 = 0, v2 = 0;

	if (watching >= 0)
		return watching;
	snprintf(repo, sizeof(repo), "%s/probe.git", tmpdir);
	sh("git init -q --bare -b main %s", repo);
	assert_int_equal(gkv_backend_git_open(&b, repo, 0), 0);
	assert_int_equal(b->refs_version(&v1, b), 0);
	assert_int_equal(b->refs_version(&v2, b), 0);
	b->free(b);
	watching = v1 == v2;
	if (!watching)
		fprintf(stderr, "refs are not watched on this file system (%s): "
				"checking that views see every move, not that they skip reads\n",
			tmpdir);
	return watching;
}

static void expect_still(gkv_backend *b, gkv_store *s, const char *value, const char *when)
{
	uint64_t v;

	expect(s, value, when);
	if (!can_watch()) {
		for (int i = 0; i < 3; i++)
			expect(s, value, when);
		return;
	}
	v = version(b);
	for (int i = 0; i < 3; i++) {
		expect(s, value, when);
		if (version(b) != v)
			fail_msg("%s: the version of the refs moved while no ref did", when);
	}
}

/* The repository (bare), with main at a commit of k = v1; its id. */
static hexid make_bare(const char *repo)
{
	hexid c1;

	sh("git init -q --bare -b main %s", repo);
	c1 = commit_value(repo, "v1", NULL);
	sh("git -C %s update-ref refs/heads/main %s", repo, c1.hex);
	return c1;
}

static void open_git(gkv_repo **r, gkv_backend **b, const char *path, unsigned int flags)
{
	assert_int_equal(gkv_backend_git_open(b, path, flags), 0);
	assert_non_null((*b)->refs_version);
	assert_non_null((*b)->ref_read_versioned);
	if (gkv_repo_open_backend(r, *b, NULL) < 0)
		fail_msg("open %s: %s", path, gkv_error_last());
}

/* ---- tests ---- */

/* Every way git moves main, one after another, under one open view. */
static void git_moves_are_seen_at_once(void **state)
{
	char repo[512];
	hexid c1, c2, c3, c4, c5, c6;
	gkv_repo *r = NULL;
	gkv_backend *b = NULL;
	gkv_store *s = NULL, *gone = NULL;

	(void)state;
	snprintf(repo, sizeof(repo), "%s/moves.git", tmpdir);
	c1 = make_bare(repo);
	sh("git -C %s update-ref refs/heads/gone %s", repo, c1.hex);
	open_git(&r, &b, repo, 0);
	assert_int_equal(gkv_store_open_branch(&s, r, "main"), 0);
	assert_int_equal(gkv_store_open_branch(&gone, r, "gone"), 0);
	expect_still(b, s, "v1", "at open");
	expect_still(b, gone, "v1", "branch gone at open");

	c2 = commit_value(repo, "v2", c1.hex);
	sh("git -C %s update-ref refs/heads/main %s", repo, c2.hex);
	expect_still(b, s, "v2", "after git update-ref");

	c3 = commit_value(repo, "v3", c2.hex);
	sh("git -C %s branch -f main %s", repo, c3.hex);
	expect_still(b, s, "v3", "after git branch -f");

	/* commit-tree on top of main, then the ref moved from what it was */
	c4 = commit_value(repo, "v4", "main");
	sh("git -C %s update-ref refs/heads/main %s %s", repo, c4.hex, c3.hex);
	expect_still(b, s, "v4", "after git commit-tree and update-ref");

	/* packed: the loose refs go, nothing moves */
	sh("git -C %s pack-refs --all", repo);
	sh("test ! -e %s/refs/heads/main", repo);
	expect_still(b, s, "v4", "after git pack-refs --all");

	/* packed-refs alone changes (replaced by rename, as git does) */
	c5 = commit_value(repo, "v5", c4.hex);
	sh("cd %s && sed 's/^%s refs\\/heads\\/main$/%s refs\\/heads\\/main/' packed-refs "
	   ">packed-refs.new && mv packed-refs.new packed-refs",
	   repo, c4.hex, c5.hex);
	expect_still(b, s, "v5", "after packed-refs was replaced");

	/* a packed branch deleted: packed-refs rewritten */
	sh("git -C %s update-ref -d refs/heads/gone", repo);
	expect_still(b, gone, NULL, "after git update-ref -d of a packed branch");

	/* a loose ref over the packed one, then deleted: the packed one shows */
	c6 = commit_value(repo, "v6", c5.hex);
	sh("git -C %s update-ref refs/heads/main %s", repo, c6.hex);
	expect_still(b, s, "v6", "after a loose ref over a packed one");
	sh("rm %s/refs/heads/main", repo);
	expect_still(b, s, "v5", "after the loose ref was deleted");

	/* and a hand edit in place, as a last resort writer would */
	sh("printf '%%s\\n' %s >%s/refs/heads/main", c2.hex, repo);
	expect_still(b, s, "v2", "after the loose ref was written in place");

	gkv_store_free(gone);
	gkv_store_free(s);
	gkv_repo_free(r);
}

/* Branches in folders that did not exist when the handle opened. */
static void branches_in_new_folders_are_seen(void **state)
{
	char repo[512];
	hexid c1, c2, c3;
	gkv_repo *r = NULL;
	gkv_backend *b = NULL;
	gkv_store *t = NULL, *deep = NULL;

	(void)state;
	snprintf(repo, sizeof(repo), "%s/folders.git", tmpdir);
	c1 = make_bare(repo);
	c2 = commit_value(repo, "v2", c1.hex);
	c3 = commit_value(repo, "v3", c2.hex);
	open_git(&r, &b, repo, 0);
	assert_int_equal(gkv_store_open_branch(&t, r, "team/x"), 0);
	assert_int_equal(gkv_store_open_branch(&deep, r, "deep/a/b"), 0);
	expect_still(b, t, NULL, "team/x before it exists");
	expect_still(b, deep, NULL, "deep/a/b before it exists");

	/* refs/heads/team/ is made now: its watch must come before the move */
	sh("git -C %s branch team/x %s", repo, c1.hex);
	expect_still(b, t, "v1", "team/x created");
	sh("git -C %s update-ref refs/heads/team/x %s", repo, c2.hex);
	expect_still(b, t, "v2", "team/x moved in its new folder");

	/* two folders deep, made and moved again before any read */
	sh("git -C %s update-ref refs/heads/deep/a/b %s && git -C %s update-ref "
	   "refs/heads/deep/a/b %s",
	   repo, c1.hex, repo, c2.hex);
	expect_still(b, deep, "v2", "deep/a/b created and moved");
	sh("git -C %s update-ref refs/heads/deep/a/b %s", repo, c3.hex);
	expect_still(b, deep, "v3", "deep/a/b moved in its new folders");

	/* the folder goes with the branch, and comes back */
	sh("git -C %s branch -D team/x >/dev/null", repo);
	sh("test ! -e %s/refs/heads/team", repo);
	expect_still(b, t, NULL, "team/x deleted");
	sh("git -C %s branch team/x %s", repo, c3.hex);
	expect_still(b, t, "v3", "team/x made again");
	sh("git -C %s update-ref refs/heads/team/x %s", repo, c1.hex);
	expect_still(b, t, "v1", "team/x moved in its folder made again");

	gkv_store_free(deep);
	gkv_store_free(t);
	gkv_repo_free(r);
}

/* A read-only handle keeps versions too. */
static void readonly_handle_follows_git(void **state)
{
	char repo[512];
	hexid c1, c2;
	gkv_repo *r = NULL;
	gkv_backend *b = NULL;
	gkv_store *s = NULL;

	(void)state;
	snprintf(repo, sizeof(repo), "%s/readonly.git", tmpdir);
	c1 = make_bare(repo);
	open_git(&r, &b, repo, GKV_GIT_READONLY);
	assert_int_equal(gkv_store_open_branch(&s, r, "main"), 0);
	expect_still(b, s, "v1", "read-only, at open");
	c2 = commit_value(repo, "v2", c1.hex);
	sh("git -C %s update-ref refs/heads/main %s", repo, c2.hex);
	expect_still(b, s, "v2", "read-only, after git update-ref");
	gkv_store_free(s);
	gkv_repo_free(r);
}

/*
 * A linked work tree: its branches live in the main repository's common
 * dir, its HEAD in its own git dir. Real commits, from either side.
 */
static void linked_worktree_follows_commits(void **state)
{
	char main_wt[512], wt[512];
	gkv_repo *r = NULL;
	gkv_backend *b = NULL;
	gkv_store *m = NULL, *side = NULL;

	(void)state;
	snprintf(main_wt, sizeof(main_wt), "%s/wt-main", tmpdir);
	snprintf(wt, sizeof(wt), "%s/wt-linked", tmpdir);
	sh("git init -q -b main %s && cd %s && printf v1 >k && git add k && "
	   "git commit -q -m v1",
	   main_wt, main_wt);
	sh("git -C %s worktree add -q -b side %s", main_wt, wt);
	open_git(&r, &b, wt, 0);
	assert_int_equal(gkv_store_open_branch(&m, r, "main"), 0);
	assert_int_equal(gkv_store_open_branch(&side, r, "side"), 0);
	expect_still(b, m, "v1", "main through the linked work tree");
	expect_still(b, side, "v1", "side at open");

	sh("cd %s && printf v2 >k && git commit -q -am v2", wt);
	expect_still(b, side, "v2", "side after a commit in the linked work tree");
	expect_still(b, m, "v1", "main after a commit on side");
	sh("cd %s && printf v3 >k && git commit -q -am v3", main_wt);
	expect_still(b, m, "v3", "main after a commit in the main work tree");
	sh("git -C %s pack-refs --all", main_wt);
	expect_still(b, side, "v2", "side after pack-refs");
	sh("git -C %s checkout -q --detach && git -C %s branch -f side main", wt, main_wt);
	expect_still(b, side, "v3", "side after git branch -f");
	gkv_store_free(side);
	gkv_store_free(m);
	gkv_repo_free(r);
}

/*
 * A forked child that uses its parent's handle shares its inotify queue:
 * it must not eat the events the parent needs to see git's move.
 */
static void forked_child_leaves_parent_events(void **state)
{
	char repo[512];
	hexid c1, c2;
	gkv_repo *r = NULL;
	gkv_backend *b = NULL;
	gkv_store *s = NULL;
	pid_t pid;
	int st;

	(void)state;
	snprintf(repo, sizeof(repo), "%s/fork.git", tmpdir);
	c1 = make_bare(repo);
	open_git(&r, &b, repo, 0);
	assert_int_equal(gkv_store_open_branch(&s, r, "main"), 0);
	expect_still(b, s, "v1", "before the fork");
	c2 = commit_value(repo, "v2", c1.hex);
	sh("git -C %s update-ref refs/heads/main %s", repo, c2.hex);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		uint64_t v1 = 0, v2 = 0;

		/* the child's own reads: right, and never "unchanged" */
		if (b->refs_version(&v1, b) < 0 || b->refs_version(&v2, b) < 0 || v1 == v2)
			_exit(3);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	expect_still(b, s, "v2", "parent after its child used the handle");
	gkv_store_free(s);
	gkv_repo_free(r);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What skipping the head buys: gets with nothing moving (printed only). */
static void time_of_a_get(void **state)
{
	enum { N = 100000 };
	char repo[512];
	gkv_repo *r = NULL;
	gkv_backend *b = NULL;
	gkv_store *s = NULL;
	double t0, t1;

	(void)state;
	snprintf(repo, sizeof(repo), "%s/time.git", tmpdir);
	make_bare(repo);
	open_git(&r, &b, repo, 0);
	assert_int_equal(gkv_store_open_branch(&s, r, "main"), 0);
	expect(s, "v1", "warm");
	t0 = now();
	for (int i = 0; i < N; i++) {
		gkv_buf v = {NULL, 0};

		assert_int_equal(gkv_store_get(&v, s, "k"), 0);
		gkv_buf_dispose(&v);
	}
	t1 = now();
	print_message("%d gets of an unmoved head: %.0f ns each\n", N, (t1 - t0) * 1e9 / N);
	gkv_store_free(s);
	gkv_repo_free(r);
}

/* ---- fixture ---- */

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
	if (!mkdtemp(tmpdir))
		return -1;
	setenv("GIT_AUTHOR_NAME", "t", 1);
	setenv("GIT_AUTHOR_EMAIL", "t@example.com", 1);
	setenv("GIT_COMMITTER_NAME", "t", 1);
	setenv("GIT_COMMITTER_EMAIL", "t@example.com", 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(git_moves_are_seen_at_once),
	    cmocka_unit_test(branches_in_new_folders_are_seen),
	    cmocka_unit_test(readonly_handle_follows_git),
	    cmocka_unit_test(linked_worktree_follows_commits),
	    cmocka_unit_test(forked_child_leaves_parent_events),
	    cmocka_unit_test(time_of_a_get),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
