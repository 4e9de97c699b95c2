/*
 * test_races.c -- several processes writing one store at once, on lmdb
 * and on git.
 *
 * RACE_WRITERS children, started together, each make GITKV_RACE_ROUNDS
 * rounds (40 by default) of:
 *   - gkv_store_set of a key of its own (own/P/I),
 *   - gkv_store_set of the key every writer sets (shared),
 *   - an increment of the counter key by gkv_store_test_and_set (read,
 *     then test-and-set from what was read; a GKV_E_CONFLICT because the
 *     value changed is the documented answer, and the child reads again),
 *   - every 8th round, a transaction with GKV_TXN_MERGE adding two keys
 *     of its own (txn/P/I/a and b).
 * Each child counts the calls that returned 0. Any error other than the
 * test-and-set's documented conflict is a failure.
 *
 * Then: every call that returned 0 made one commit, and every commit has
 * one parent (these calls never make merge commits: a merge
 * transaction commits with the new head as its only parent), so the
 * history is linear and has exactly one commit per acknowledged write
 * plus the first; every own and txn key holds its value; the counter
 * equals the number of successful increments; shared holds some
 * writer's last value; the store passes gitkv's full read and, for git,
 * git fsck --strict.
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

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "reliability.h"

#define RACE_WRITERS 4
#define DEFAULT_ROUNDS 40
#define TXN_EVERY 8
#define MAX_TAS_TRIES 100000

static const char *root;

typedef struct tally {
	long own, shared, tas, tas_conflicts, txn;
} tally;

static void child_fail(const char *what, int rc)
{
	fprintf(stderr, "race child %d: %s: %s (%d)\n", (int)getpid(), what, gkv_error_last(), rc);
	_exit(3);
}

static void set_or_die(gkv_store *s, const char *key, const char *val, const char *what)
{
	int rc = gkv_store_set(NULL, s, key, val, strlen(val), NULL);

	if (rc < 0)
		child_fail(what, rc);
}

/* counter + 1 by test-and-set; the number of conflicts it met. */
static long increment(gkv_store *s)
{
	for (long tries = 0; tries < MAX_TAS_TRIES; tries++) {
		gkv_buf cur = {0}, next;
		char num[32];
		int found, rc;
		long n = 0;

		if ((rc = gkv_store_find(&cur, &found, s, "counter")) < 0)
			child_fail("read counter", rc);
		if (found) {
			snprintf(num, sizeof(num), "%.*s", (int)(cur.size < 31 ? cur.size : 31),
				 (const char *)cur.ptr);
			n = atol(num);
		}
		snprintf(num, sizeof(num), "%ld", n + 1);
		next.ptr = (unsigned char *)num;
		next.size = strlen(num);
		rc = gkv_store_test_and_set(NULL, s, "counter", found ? &cur : NULL, &next, NULL);
		gkv_buf_dispose(&cur);
		if (rc == 0)
			return tries;
		if (rc != GKV_E_CONFLICT)
			child_fail("test-and-set", rc);
	}
	child_fail("test-and-set never won", GKV_E_CONFLICT);
	return 0;
}

static void txn_keys(gkv_store *s, int p, long i)
{
	gkv_txn *txn;
	char key[64];
	int rc;

	if ((rc = gkv_txn_begin(&txn, s)) < 0)
		child_fail("txn begin", rc);
	snprintf(key, sizeof(key), "txn/%d/%ld/a", p, i);
	if ((rc = gkv_txn_set(txn, key, "A", 1)) < 0)
		child_fail("txn set", rc);
	snprintf(key, sizeof(key), "txn/%d/%ld/b", p, i);
	if ((rc = gkv_txn_set(txn, key, "B", 1)) < 0)
		child_fail("txn set", rc);
	if ((rc = gkv_txn_commit(NULL, txn, GKV_TXN_MERGE, NULL)) < 0)
		child_fail("txn commit (merge)", rc);
	gkv_txn_free(txn);
}

static void race_child(const rel_backend *b, const char *dir, int p, long rounds, int go, int out)
{
	gkv_repo *repo;
	gkv_store *s;
	tally t = {0, 0, 0, 0, 0};
	char key[64], val[64], c;
	int rc;

	if ((rc = rel_open(&repo, b, dir, 0)) < 0)
		child_fail("open", rc);
	if ((rc = gkv_store_open_branch(&s, repo, "main")) < 0)
		child_fail("open branch", rc);
	if (read(go, &c, 1) < 0) /* EOF when the parent says go */
		_exit(4);
	for (long i = 0; i < rounds; i++) {
		snprintf(key, sizeof(key), "own/%d/%ld", p, i);
		snprintf(val, sizeof(val), "%d %ld", p, i);
		set_or_die(s, key, val, "set own key");
		t.own++;
		set_or_die(s, "shared", val, "set shared key");
		t.shared++;
		t.tas_conflicts += increment(s);
		t.tas++;
		if (i % TXN_EVERY == 0) {
			txn_keys(s, p, i);
			t.txn++;
		}
	}
	gkv_store_free(s);
	gkv_repo_free(repo);
	if (write(out, &t, sizeof(t)) != sizeof(t))
		_exit(5);
	_exit(0);
}

static void want_value(gkv_store *s, const char *key, const char *want)
{
	gkv_buf b = {0};
	int rc = gkv_store_get(&b, s, key);

	if (rc != 0 || b.size != strlen(want) || memcmp(b.ptr, want, b.size) != 0)
		fprintf(stderr, "race: %s: want '%s', rc %d\n", key, want, rc);
	assert_int_equal(rc, 0);
	assert_memory_equal(b.ptr, want, strlen(want));
	assert_int_equal(b.size, strlen(want));
	gkv_buf_dispose(&b);
}

/* The number of commits from the head, each with at most one parent. */
static long linear_length(gkv_repo *repo)
{
	gkv_oid cur;
	long n = 0;

	assert_int_equal(gkv_branch_head(&cur, repo, "main"), 0);
	for (;;) {
		gkv_commit *c;
		size_t parents;

		assert_int_equal(gkv_commit_lookup(&c, repo, &cur), 0);
		n++;
		parents = gkv_commit_parentcount(c);
		assert_true(parents <= 1);
		if (parents == 1)
			cur = *gkv_commit_parent_id(c, 0);
		gkv_commit_free(c);
		if (parents == 0)
			return n;
	}
}

static void run_race(const rel_backend *b)
{
	long rounds = rel_env_long("GITKV_RACE_ROUNDS", DEFAULT_ROUNDS);
	tally sum = {0, 0, 0, 0, 0};
	pid_t pids[RACE_WRITERS];
	int outs[RACE_WRITERS], go[2], failed = 0;
	gkv_repo *repo;
	gkv_store *s;
	rel_census census;
	char dir[512], key[64], val[64];
	double t0 = rel_now();
	long commits;

	snprintf(dir, sizeof(dir), "%s/%s", root, b->name);
	assert_int_equal(rel_open(&repo, b, dir, 1), 0);
	assert_int_equal(gkv_store_open_branch(&s, repo, "main"), 0);
	assert_int_equal(gkv_store_set(NULL, s, "start", "1", 1, NULL), 0);
	gkv_store_free(s);
	gkv_repo_free(repo);

	assert_int_equal(pipe(go), 0);
	for (int p = 0; p < RACE_WRITERS; p++) {
		int o[2];

		assert_int_equal(pipe(o), 0);
		if ((pids[p] = fork()) == 0) {
			close(go[1]);
			close(o[0]);
			race_child(b, dir, p, rounds, go[0], o[1]);
		}
		assert_true(pids[p] > 0);
		close(o[1]);
		outs[p] = o[0];
	}
	close(go[0]);
	close(go[1]); /* go */
	for (int p = 0; p < RACE_WRITERS; p++) {
		tally t;
		int status;

		assert_int_equal(waitpid(pids[p], &status, 0), pids[p]);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
		    read(outs[p], &t, sizeof(t)) != sizeof(t)) {
			fprintf(stderr, "race %s: writer %d failed (status %#x)\n", b->name, p,
				status);
			failed++;
		} else {
			sum.own += t.own;
			sum.shared += t.shared;
			sum.tas += t.tas;
			sum.tas_conflicts += t.tas_conflicts;
			sum.txn += t.txn;
		}
		close(outs[p]);
	}
	assert_int_equal(failed, 0);

	assert_int_equal(rel_open(&repo, b, dir, 0), 0);
	commits = linear_length(repo);
	assert_int_equal(gkv_store_open_branch(&s, repo, "main"), 0);
	for (int p = 0; p < RACE_WRITERS; p++)
		for (long i = 0; i < rounds; i++) {
			snprintf(key, sizeof(key), "own/%d/%ld", p, i);
			snprintf(val, sizeof(val), "%d %ld", p, i);
			want_value(s, key, val);
			if (i % TXN_EVERY == 0) {
				snprintf(key, sizeof(key), "txn/%d/%ld/a", p, i);
				want_value(s, key, "A");
				snprintf(key, sizeof(key), "txn/%d/%ld/b", p, i);
				want_value(s, key, "B");
			}
		}
	snprintf(val, sizeof(val), "%ld", sum.tas);
	want_value(s, "counter", val);
	{
		gkv_buf sh = {0};
		int p;
		long i;

		assert_int_equal(gkv_store_get(&sh, s, "shared"), 0);
		snprintf(val, sizeof(val), "%.*s", (int)sh.size, (const char *)sh.ptr);
		gkv_buf_dispose(&sh);
		assert_int_equal(sscanf(val, "%d %ld", &p, &i), 2);
		assert_true(p >= 0 && p < RACE_WRITERS);
		assert_int_equal(i, rounds - 1);
	}
	assert_int_equal(rel_check_store(&census, repo), 0);
	gkv_store_free(s);
	gkv_repo_free(repo);
	print_message("race %-5s %d writers: %ld own, %ld shared, %ld test-and-set (%ld conflicts "
		      "met), %ld merge txns; %ld commits, linear; %.1f s\n",
		      b->name, RACE_WRITERS, sum.own, sum.shared, sum.tas, sum.tas_conflicts,
		      sum.txn, commits, rel_now() - t0);
	/* one commit per acknowledged write, plus the first */
	assert_int_equal(commits, 1 + sum.own + sum.shared + sum.tas + sum.txn);
	if (strcmp(b->scheme, "git") == 0)
		assert_int_equal(
		    rel_sh("git -C '%s' fsck --strict --no-progress --no-dangling >&2", dir), 0);
	rel_rmtree(dir);
}

static void test_race_lmdb(void **state)
{
	static const rel_backend b = {"lmdb", "lmdb", GKV_DURABILITY_NOSYNC};

	(void)state;
	run_race(&b);
}

static void test_race_git(void **state)
{
	static const rel_backend b = {"git", "git", DUR_UNSET};

	(void)state;
	run_race(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_race_lmdb),
	    cmocka_unit_test(test_race_git),
	};

	root = rel_scratch("races");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
