/*
 * test_git_locks.c -- lock files on a git store: a lock left by a dead
 * writer is cleared, a live one is respected, and a writer killed with
 * SIGKILL over and over loses no acknowledged commit.
 *
 * The rule (backends/git/git_refs.c, "stale lock files"): a gitkv ref
 * update holds an flock on gitkv.lock; a ref's .lock met while holding
 * it, older than a few seconds and open in no process, was left by a dead
 * writer and is removed. Times here are set with utimensat, never waited
 * for: a "stale" lock is planted an hour old, a "fresh" one is now.
 *
 * The storm: GITKV_STORM_KILLS children (50 by default) each write
 * commits in a loop and report each to a pipe after gkv_store_set
 * returned; each is killed with SIGKILL at a random moment. Then every
 * acknowledged value is in the branch, git fsck --strict passes, and
 * writes still work.
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

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gitkv.h"
#include "interop_util.h"

static char tmpdir[] = "/tmp/gkv-interop-locks-XXXXXX";

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

/* A fresh repository with one commit on main: its path into dir. */
static gkv_repo *fresh(char *dir, size_t cap, const char *name)
{
	gkv_repo *repo;
	gkv_store *s;

	snprintf(dir, cap, "%s/%s", tmpdir, name);
	repo = open_git(dir);
	assert_int_equal(gkv_store_open_branch(&s, repo, "main"), 0);
	assert_int_equal(gkv_store_set(NULL, s, "a", "1", 1, NULL), 0);
	gkv_store_free(s);
	return repo;
}

/* Create path as a ref lock file holding id text, aged by age seconds. */
static void plant_lock(const char *path, long age)
{
	struct timespec t[2];
	FILE *f;

	assert_non_null(f = fopen(path, "w"));
	fputs("0123456789012345678901234567890123456789\n", f);
	fclose(f);
	clock_gettime(CLOCK_REALTIME, &t[0]);
	t[0].tv_sec -= age;
	t[1] = t[0];
	assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
}

static void age_file(const char *path, long age)
{
	struct timespec t[2];

	clock_gettime(CLOCK_REALTIME, &t[0]);
	t[0].tv_sec -= age;
	t[1] = t[0];
	assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
}

static int set_one(gkv_repo *repo, const char *key, const char *val)
{
	gkv_store *s;
	int rc;

	assert_int_equal(gkv_store_open_branch(&s, repo, "main"), 0);
	rc = gkv_store_set(NULL, s, key, val, strlen(val), NULL);
	gkv_store_free(s);
	return rc;
}

/* A lock an hour old, held by nobody: cleared, and the write lands. */
static void test_stale_lock_cleared(void **state)
{
	char dir[256], lock[300];
	gkv_repo *repo;

	(void)state;
	repo = fresh(dir, sizeof(dir), "stale");
	snprintf(lock, sizeof(lock), "%s/refs/heads/main.lock", dir);
	plant_lock(lock, 3600);
	assert_int_equal(set_one(repo, "b", "2"), 0);
	assert_int_equal(access(lock, F_OK), -1);
	gkv_repo_free(repo);
	assert_int_equal(sh("git -C %s fsck --strict >/dev/null 2>&1", dir), 0);
	assert_int_equal(sh("test \"$(git -C %s cat-file -p main:b)\" = 2", dir), 0);
}

/* A writer killed while it holds the ref's lock (as gitkv does, the
 * writers' flock and the .lock): once the lock is old, the next write
 * clears it. While it is fresh, a write is a conflict, not a theft. */
static void test_killed_writer(void **state)
{
	char dir[256], lock[300], wl[300];
	int p[2], st;
	gkv_repo *repo;
	gkv_oid head;
	pid_t pid;
	char c;

	(void)state;
	repo = fresh(dir, sizeof(dir), "killed");
	assert_int_equal(gkv_branch_head(&head, repo, "main"), 0);
	snprintf(lock, sizeof(lock), "%s/refs/heads/side.lock", dir);
	snprintf(wl, sizeof(wl), "%s/gitkv.lock", dir);
	assert_int_equal(pipe(p), 0);
	if ((pid = fork()) == 0) {
		int fd = open(wl, O_RDWR | O_CREAT, 0666);

		if (fd < 0 || flock(fd, LOCK_EX) < 0)
			_exit(1);
		plant_lock(lock, 0);
		if (write(p[1], "r", 1) != 1)
			_exit(1);
		for (int i = 0; i < 600; i++)
			sleep(1); /* mid-update until killed */
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	/* live gitkv writer (holds the flock), even with an old lock */
	age_file(lock, 3600);
	assert_int_equal(gkv_branch_cas(repo, "side", NULL, &head), GKV_E_CONFLICT);
	assert_int_equal(access(lock, F_OK), 0);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	close(p[0]);
	/* dead, but its lock is fresh: respected */
	age_file(lock, 0);
	assert_int_equal(gkv_branch_cas(repo, "side", NULL, &head), GKV_E_CONFLICT);
	assert_int_equal(access(lock, F_OK), 0);
	/* dead and old: cleared */
	age_file(lock, 3600);
	assert_int_equal(gkv_branch_cas(repo, "side", NULL, &head), 0);
	assert_int_equal(access(lock, F_OK), -1);
	gkv_repo_free(repo);
	assert_int_equal(sh("git -C %s fsck --strict >/dev/null 2>&1", dir), 0);
}

/* A lock a live process (git, say) holds open is respected, old or not;
 * once it is closed and old, it is cleared. */
static void test_live_lock_respected(void **state)
{
	char dir[256], lock[300];
	int p[2], q[2], st;
	gkv_repo *repo;
	gkv_oid head;
	pid_t pid;
	char c;

	(void)state;
	repo = fresh(dir, sizeof(dir), "live");
	assert_int_equal(gkv_branch_head(&head, repo, "main"), 0);
	snprintf(lock, sizeof(lock), "%s/refs/heads/other.lock", dir);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(pipe(q), 0);
	if ((pid = fork()) == 0) {
		int fd;

		close(q[1]);
		plant_lock(lock, 0);
		if ((fd = open(lock, O_RDWR)) < 0 || write(p[1], "r", 1) != 1)
			_exit(1);
		if (read(q[0], &c, 1) < 0) /* until told */
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	close(q[0]);
	assert_int_equal(read(p[0], &c, 1), 1);
	assert_int_equal(gkv_branch_cas(repo, "other", NULL, &head), GKV_E_CONFLICT);
	assert_non_null(strstr(gkv_error_last(), "other.lock"));
	age_file(lock, 3600);
	assert_int_equal(gkv_branch_cas(repo, "other", NULL, &head), GKV_E_CONFLICT);
	assert_int_equal(access(lock, F_OK), 0);
	close(q[1]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	close(p[0]);
	assert_int_equal(gkv_branch_cas(repo, "other", NULL, &head), 0);
	gkv_repo_free(repo);
}

/* ---- the kill -9 storm ---- */

static void storm_child(const char *dir, int wfd, unsigned start)
{
	gkv_repo *repo = NULL;
	gkv_store *s = NULL;
	char key[32], val[64];
	char uri[512];

	snprintf(uri, sizeof(uri), "git:%s", dir);
	if (gkv_repo_open(&repo, uri, NULL) < 0 || gkv_store_open_branch(&s, repo, "main") < 0)
		_exit(2);
	for (unsigned i = start; i < start + 100000; i++) {
		snprintf(key, sizeof(key), "k/%u", i);
		snprintf(val, sizeof(val), "value %u", i);
		int tries = 0;

		/* a conflict (a stale lock not yet old): again, for a while */
		while (gkv_store_set(NULL, s, key, val, strlen(val), NULL) < 0)
			if (++tries == 60)
				_exit(4);
		if (write(wfd, &i, sizeof(i)) != sizeof(i))
			_exit(3);
	}
	_exit(0);
}

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void test_kill_storm(void **state)
{
	const char *env = getenv("GITKV_STORM_KILLS");
	long kills = env && atol(env) > 0 ? atol(env) : 50;
	unsigned *acked = NULL;
	size_t nacked = 0, cap = 0, lost = 0;
	char dir[256], lock[300];
	gkv_repo *repo;
	gkv_store *s;

	(void)state;
	repo = fresh(dir, sizeof(dir), "storm");
	gkv_repo_free(repo);
	snprintf(lock, sizeof(lock), "%s/refs/heads/main.lock", dir);
	for (long k = 0; k < kills; k++) {
		int p[2], st;
		unsigned v;
		pid_t pid;
		struct pollfd pf;
		size_t want = 1 + next_rand() % 4, got = 0;

		assert_int_equal(pipe(p), 0);
		if ((pid = fork()) == 0) {
			close(p[0]);
			storm_child(dir, p[1], (unsigned)k * 100000u);
		}
		close(p[1]);
		pf.fd = p[0];
		pf.events = POLLIN;
		/* a few acknowledged commits, then a kill at a random moment;
		 * a stale lock left by an earlier kill ages past the limit in
		 * seconds, so a child may wait that long for its first commit */
		while (got < want && poll(&pf, 1, 120000) == 1 &&
		       read(p[0], &v, sizeof(v)) == sizeof(v)) {
			if (nacked == cap) {
				cap = cap ? 2 * cap : 256;
				assert_non_null(acked = realloc(acked, cap * sizeof(*acked)));
			}
			acked[nacked++] = v;
			got++;
		}
		if (got == want)
			usleep((useconds_t)(next_rand() % 3000));
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &st, 0), pid);
		while (read(p[0], &v, sizeof(v)) == sizeof(v)) {
			if (nacked == cap) {
				cap = cap ? 2 * cap : 256;
				assert_non_null(acked = realloc(acked, cap * sizeof(*acked)));
			}
			acked[nacked++] = v;
		}
		close(p[0]);
		assert_true(got >= want);
	}
	repo = open_git(dir);
	assert_int_equal(gkv_store_open_branch(&s, repo, "main"), 0);
	for (size_t i = 0; i < nacked; i++) {
		char key[32], val[64];
		gkv_buf b;

		snprintf(key, sizeof(key), "k/%u", acked[i]);
		snprintf(val, sizeof(val), "value %u", acked[i]);
		if (gkv_store_get(&b, s, key) != 0) {
			lost++;
			continue;
		}
		lost += b.size != strlen(val) || memcmp(b.ptr, val, b.size) != 0;
		gkv_buf_dispose(&b);
	}
	/* writes still work (a lock the last kill left is cleared once old,
	 * planted old here rather than waited for) */
	if (access(lock, F_OK) == 0)
		age_file(lock, 3600);
	assert_int_equal(gkv_store_set(NULL, s, "after", "storm", 5, NULL), 0);
	gkv_store_free(s);
	gkv_repo_free(repo);
	print_message("storm: %ld kills, %zu acknowledged writes, %zu lost\n", kills, nacked,
		      lost);
	assert_int_equal(lost, 0);
	assert_int_equal(sh("git -C %s fsck --strict >/dev/null 2>&1", dir), 0);
	free(acked);
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stale_lock_cleared),
	    cmocka_unit_test(test_killed_writer),
	    cmocka_unit_test(test_live_lock_respected),
	    cmocka_unit_test(test_kill_storm),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
