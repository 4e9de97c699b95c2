/*
 * test_lmdb_lock.c -- the lmdb backend's locks and permissions, on real
 * environments and real processes:
 *
 *  - writers in several processes commit while lock.mdb is deleted again
 *    and again: every acknowledged commit is in the final history, and
 *    the store stays writable (gitkv's own writer lock, env.c). A writer
 *    may die of LMDB's own assertion when a read of its meets a page
 *    that a writer of a newer lock.mdb reused (the documented cost of a
 *    vanished lock.mdb); it dies having lost nothing it acknowledged;
 *  - a store of another user (a child that setuid()s to nobody; skipped
 *    where that is impossible) opens read-only although lock.mdb is not
 *    writable, and a writable open or an unreadable directory says
 *    "permission denied" (GKV_E_IO), not "does not exist".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "unit_util.h"

#define WRITERS 4
#define COMMITS 60
#define MAX_UNLINKS 100000
#define NOTE_SIZE 4096

#define new_path uu_new_path

/* A writer: COMMITS writes to keys of its own; one byte goes to fd for
 * each acknowledged commit, as soon as it is acknowledged. */
static int writer(const char *path, int n, int fd)
{
	gkv_repo *repo = NULL;
	gkv_store *s;
	char key[32], val[32];

	if (gkv_repo_open(&repo, path, NULL) != 0 || gkv_store_open_branch(&s, repo, "main") != 0)
		return 1;
	for (int i = 0; i < COMMITS; i++) {
		snprintf(key, sizeof(key), "w%d/%d", n, i);
		snprintf(val, sizeof(val), "value %d of %d", i, n);
		int rc, tries = 0;

		/* A read made on a reader table that a deleted lock.mdb took
		 * with it may meet a page a writer of the new table reused:
		 * seen as a missing or damaged record, never as a lost
		 * commit. Such a set is tried again, as an application
		 * would. */
		while ((rc = gkv_store_set(NULL, s, key, val, strlen(val), NULL)) != 0 &&
		       (rc == GKV_E_NOTFOUND || rc == GKV_E_CORRUPT) && ++tries < 5)
			;
		if (rc == 0 && write(fd, "a", 1) != 1)
			return 2;
		if (rc != 0)
			fprintf(stderr, "writer %d: %s\n", n, gkv_error_last());
	}
	gkv_store_free(s);
	gkv_repo_free(repo);
	return 0;
}

/* Did the writer whose stderr went to file die of an LMDB assertion? */
static bool died_of_lmdb_assert(int status, const char *file)
{
	char note[NOTE_SIZE];
	FILE *f;
	size_t n;

	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT || !(f = fopen(file, "r")))
		return false;
	n = fread(note, 1, sizeof(note) - 1, f);
	fclose(f);
	note[n] = '\0';
	return strstr(note, "mdb.c") && strstr(note, "Assertion");
}

static size_t count_commits(gkv_repo *repo)
{
	gkv_revwalk *w;
	gkv_oid head, id;
	size_t n = 0;
	int rc;

	assert_ok(gkv_branch_head(&head, repo, "main"));
	assert_ok(gkv_revwalk_new(&w, repo));
	assert_ok(gkv_revwalk_push(w, &head));
	while ((rc = gkv_revwalk_next(&id, w)) == 0)
		n++;
	assert_int_equal(rc, GKV_ITEROVER);
	gkv_revwalk_free(w);
	return n;
}

/* Count the acknowledgements waiting in fd without blocking. */
static int drain_acks(int fd)
{
	char buf[64];
	ssize_t n;
	int total = 0;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += (int)n;
	return total;
}

static void test_deleted_lock_file(void **state)
{
	char path[128], uri[160], lock[200], key[32], notes[WRITERS][200];
	bool died[WRITERS] = {false};
	int fds[WRITERS][2], acks[WRITERS] = {0}, acked = 0, running = WRITERS, unlinks = 0,
			     aborted = 0;
	pid_t pids[WRITERS];
	gkv_repo *repo;
	gkv_store *s;
	gkv_buf v;
	size_t commits;

	(void)state;
	new_path(path, sizeof(path));
	snprintf(uri, sizeof(uri), "lmdb:%s", path);
	snprintf(lock, sizeof(lock), "%s/lock.mdb", path);
	repo = uu_open_lmdb(path, 0);
	assert_ok(gkv_store_open_branch(&s, repo, "main"));
	assert_ok(gkv_store_set(NULL, s, "first", "1", 1, NULL));
	gkv_store_free(s);
	gkv_repo_free(repo);

	for (int i = 0; i < WRITERS; i++) {
		snprintf(notes[i], sizeof(notes[i]), "%s/writer%d.err", uu_root, i);
		assert_int_equal(pipe(fds[i]), 0);
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			int err = open(notes[i], O_WRONLY | O_CREAT | O_TRUNC, 0644);

			if (err < 0 || dup2(err, 2) < 0)
				_exit(3);
			close(fds[i][0]);
			_exit(writer(uri, i, fds[i][1]));
		}
		close(fds[i][1]);
		assert_int_equal(fcntl(fds[i][0], F_SETFL, O_NONBLOCK), 0);
	}
	/* Delete lock.mdb while they write, as often as it comes back. */
	while (running > 0 && unlinks < MAX_UNLINKS) {
		if (unlink(lock) == 0)
			unlinks++;
		usleep(500);
		running = 0;
		for (int i = 0; i < WRITERS; i++) {
			int status;

			acks[i] += drain_acks(fds[i][0]);
			if (pids[i] > 0 && waitpid(pids[i], &status, WNOHANG) == pids[i]) {
				if (died_of_lmdb_assert(status, notes[i])) {
					died[i] = true;
					aborted++;
					print_message("writer %d died of LMDB's assertion\n", i);
				} else {
					assert_true(WIFEXITED(status));
					assert_int_equal(WEXITSTATUS(status), 0);
				}
				pids[i] = 0;
			}
			running += pids[i] > 0;
		}
	}
	assert_int_equal(running, 0);
	assert_true(unlinks > 0);
	for (int i = 0; i < WRITERS; i++) {
		acks[i] += drain_acks(fds[i][0]);
		close(fds[i][0]);
		acked += acks[i];
		/* A writer that lived acknowledged all of its commits. */
		assert_true(acks[i] == COMMITS || died[i]);
	}
	assert_true(acked >= (WRITERS - aborted) * COMMITS);
	assert_true(aborted < WRITERS);

	/* Every acknowledged commit is in the history, every value in the
	 * tree, and the store takes more. A writer that died may have made
	 * one commit it did not live to acknowledge. */
	repo = uu_open_lmdb(path, 0);
	commits = count_commits(repo);
	assert_true(commits >= (size_t)acked + 1 && commits <= (size_t)(acked + 1 + aborted));
	assert_ok(gkv_store_open_branch(&s, repo, "main"));
	for (int i = 0; i < WRITERS; i++)
		for (int j = 0; j < acks[i]; j++) {
			snprintf(key, sizeof(key), "w%d/%d", i, j);
			assert_ok(gkv_store_get(&v, s, key));
			gkv_buf_dispose(&v);
		}
	assert_ok(gkv_store_set(NULL, s, "after", "yes", 3, NULL));
	gkv_store_free(s);
	assert_int_equal(count_commits(repo), commits + 1);
	gkv_repo_free(repo);
}

/* ---- another user's store ---- */

#define SKIP_CODE 77

/* In a child as nobody: what a reader without write permission sees. */
static int as_nobody(const char *path, const char *closed)
{
	gkv_backend *b = NULL;
	gkv_oid id;

	if (setgid(65534) != 0 || setuid(65534) != 0 || geteuid() != 65534)
		return SKIP_CODE;
	/* Read-only works: lock.mdb is root's and not writable. */
	if (gkv_backend_lmdb_open(&b, path, GKV_LMDB_READONLY) != 0) {
		fprintf(stderr, "read-only open: %s\n", gkv_error_last());
		return 10;
	}
	if (b->ref_read(&id, b, "refs/heads/main") != 0)
		return 11;
	b->free(b);
	/* Writable: permission denied, naming the file. */
	if (gkv_backend_lmdb_open(&b, path, 0) != GKV_E_IO ||
	    !strstr(gkv_error_last(), "permission denied") || !strstr(gkv_error_last(), ".mdb")) {
		fprintf(stderr, "writable open: %s\n", gkv_error_last());
		return 12;
	}
	/* A directory nobody may look into: not "does not exist". */
	if (gkv_backend_lmdb_open(&b, closed, GKV_LMDB_READONLY) != GKV_E_IO ||
	    !strstr(gkv_error_last(), "permission denied") ||
	    strstr(gkv_error_last(), "does not exist")) {
		fprintf(stderr, "closed directory: %s\n", gkv_error_last());
		return 13;
	}
	return 0;
}

static void test_other_users_store(void **state)
{
	char path[128], closed[128];
	gkv_repo *repo;
	gkv_store *s;
	int status;
	pid_t pid;

	(void)state;
	new_path(path, sizeof(path));
	new_path(closed, sizeof(closed));
	assert_int_equal(chmod(uu_root, 0755), 0); /* nobody may reach the stores */
	repo = uu_open_lmdb(path, 0);
	assert_ok(gkv_store_open_branch(&s, repo, "main"));
	assert_ok(gkv_store_set(NULL, s, "k", "v", 1, NULL));
	gkv_store_free(s);
	gkv_repo_free(repo);
	repo = uu_open_lmdb(closed, 0);
	gkv_repo_free(repo);
	assert_int_equal(chmod(closed, 0700), 0);
	{
		char f[200];

		snprintf(f, sizeof(f), "%s/lock.mdb", path);
		assert_int_equal(chmod(f, 0644), 0);
		snprintf(f, sizeof(f), "%s/data.mdb", path);
		assert_int_equal(chmod(f, 0644), 0);
		assert_int_equal(chmod(path, 0755), 0);
	}
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(as_nobody(path, closed));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(chmod(closed, 0755), 0);
	if (WEXITSTATUS(status) == SKIP_CODE)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

static int setup(void **state)
{
	(void)state;
	return uu_root_make("lmdb-lock");
}

static int teardown(void **state)
{
	(void)state;
	return uu_root_remove();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_deleted_lock_file),
	    cmocka_unit_test(test_other_users_store),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
