/*
 * test_storm.c -- kill -9 storms on the persistent backends: lmdb in its
 * three durability modes and git (git's default, no fsync, and FULL).
 *
 * A child opens the store and commits in a loop: it reads the counter
 * key, writes the next number (gkv_store_set; every 64th number as a
 * transaction that also adds 300 values under bulk/N/, so that a git
 * store writes a pack) and, only after the call returned 0, tells the
 * parent the number and the commit's id through a pipe. The parent
 * waits for a random number of acknowledgements (0 to 4), a random
 * pause, kills the child with SIGKILL and starts another, GITKV_STORM_KILLS
 * times (30 by default) per backend, the random choices seeded by
 * GITKV_STORM_SEED (fixed by default). Meanwhile the parent keeps the
 * store open and reads the counter after every kill, as a long-lived
 * reader would (on lmdb, its reader slots share lock.mdb with the dead
 * children's).
 *
 * A process crash loses nothing in any mode -- the pages written are in
 * the operating system's cache, fsync or not -- so after the storm, for
 * every backend: the branch's history is linear and holds the counter
 * values 1..N, one per commit; every acknowledged commit is the commit
 * of its number in that history (a loss otherwise); the store opens and
 * passes gitkv's full read (rel_check_store); a write works; a git store
 * passes git fsck --strict. A child that died of a signal other than our
 * SIGKILL is a crash; one that exited with an error is an error; the
 * test wants none of either.
 *
 * A git writer killed while it holds refs/heads/main.lock leaves the
 * lock behind; gitkv clears such a lock once it is 10 seconds old. The
 * parent ages a lock it finds after a kill (utimensat) instead of waiting.
 *
 * GITKV_STORM_BACKENDS (e.g. "lmdb,git") runs only the backends named.
 * One line per backend is printed: kills, acknowledged writes, losses,
 * crashes, errors, the seconds taken and the seed.
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
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "reliability.h"

#define DEFAULT_KILLS 30
#define DEFAULT_SEED 20240601u
#define BULK_EVERY 64
#define BULK_VALUES 300
#define MAX_PAD 4000
/* a child that acknowledges nothing for this long is stuck: a guard
 * against a hang, far above any commit's time */
#define STUCK_MS 120000

static const char *root;

typedef struct ack {
	uint32_t n;
	gkv_oid id;
} ack;

/* The value of counter n: its number on the first line, then a padding
 * of a size that varies with n (over 1024 bytes it is compressed on
 * lmdb). */
static size_t make_value(char *buf, uint32_t n)
{
	size_t len = (size_t)snprintf(buf, 32, "%u\n", n);
	size_t pad = (size_t)n * 7919u % MAX_PAD;

	for (size_t i = 0; i < pad; i++)
		buf[len + i] = (char)('a' + (n + i / 61) % 26);
	return len + pad;
}

static int parse_counter(uint32_t *out, const gkv_buf *b)
{
	char num[16];
	size_t i;

	for (i = 0; i < b->size && i < sizeof(num) - 1 && b->ptr[i] != '\n'; i++)
		num[i] = (char)b->ptr[i];
	num[i] = 0;
	if (i == 0 || i == b->size)
		return -1;
	*out = (uint32_t)strtoul(num, NULL, 10);
	return 0;
}

/* Commit counter n with the bulk values of n: one transaction. */
static int commit_bulk(gkv_oid *out, gkv_store *s, uint32_t n, const char *val, size_t len)
{
	gkv_txn *txn;
	char key[64], v[64];
	int rc;

	if ((rc = gkv_txn_begin(&txn, s)) < 0)
		return rc;
	rc = gkv_txn_set(txn, "counter", val, len);
	for (unsigned i = 0; i < BULK_VALUES && rc == 0; i++) {
		snprintf(key, sizeof(key), "bulk/%u/%u", n, i);
		snprintf(v, sizeof(v), "bulk %u %u", n, i);
		rc = gkv_txn_set(txn, key, v, strlen(v));
	}
	if (rc == 0)
		rc = gkv_txn_commit(out, txn, GKV_TXN_FAIL, NULL);
	gkv_txn_free(txn);
	return rc;
}

static void child_fail(const rel_backend *b, const char *what, int rc, int code)
{
	fprintf(stderr, "storm %s child: %s: %s (%d)\n", b->name, what, gkv_error_last(), rc);
	_exit(code);
}

/* The writer: commits until killed. Never returns. */
static void storm_child(const rel_backend *b, const char *dir, int wfd)
{
	static char val[32 + MAX_PAD];
	gkv_repo *repo;
	gkv_store *s;
	int rc, conflicts = 0;

	if ((rc = rel_open(&repo, b, dir, 0)) < 0)
		child_fail(b, "open", rc, 20);
	if ((rc = gkv_store_open_branch(&s, repo, "main")) < 0)
		child_fail(b, "open branch", rc, 21);
	for (long iter = 0; iter < 1000000; iter++) {
		gkv_buf cur = {0};
		int found;
		ack a;
		size_t len;

		memset(&a, 0, sizeof(a));
		if ((rc = gkv_store_find(&cur, &found, s, "counter")) < 0)
			child_fail(b, "read the counter", rc, 22);
		a.n = 1;
		if (found && parse_counter(&a.n, &cur) == 0)
			a.n++;
		else if (found)
			child_fail(b, "the counter does not parse", GKV_E_CORRUPT, 23);
		gkv_buf_dispose(&cur);
		len = make_value(val, a.n);
		if (a.n % BULK_EVERY == 0)
			rc = commit_bulk(&a.id, s, a.n, val, len);
		else
			rc = gkv_store_set(&a.id, s, "counter", val, len, NULL);
		if (rc == GKV_E_CONFLICT && ++conflicts < 100)
			continue; /* a lock a killed writer left, not yet cleared */
		if (rc < 0)
			child_fail(b, "commit", rc, 24);
		if (write(wfd, &a, sizeof(a)) != sizeof(a))
			_exit(25);
	}
	_exit(26);
}

typedef struct storm {
	ack *acks;
	size_t nacks, cap;
	long kills, crashes, errors, reader_behind;
	uint32_t max_acked;
} storm;

static void add_ack(storm *st, const ack *a)
{
	if (st->nacks == st->cap) {
		st->cap = st->cap ? 2 * st->cap : 1024;
		assert_non_null(st->acks = realloc(st->acks, st->cap * sizeof(*st->acks)));
	}
	st->acks[st->nacks++] = *a;
	if (a->n > st->max_acked)
		st->max_acked = a->n;
}

/* A ref lock a killed git writer left: made old, as if 10 seconds had
 * passed, so that the next writer clears it. */
static void age_lock(const char *dir)
{
	char lock[600];
	struct timespec t[2];

	snprintf(lock, sizeof(lock), "%s/refs/heads/main.lock", dir);
	if (access(lock, F_OK) != 0)
		return;
	clock_gettime(CLOCK_REALTIME, &t[0]);
	t[0].tv_sec -= 3600;
	t[1] = t[0];
	utimensat(AT_FDCWD, lock, t, 0);
}

/* One child: started, a few acknowledgements, killed. */
static void one_round(storm *st, const rel_backend *b, const char *dir, uint64_t *rng)
{
	long want = (long)(rel_rand(rng) % 5), got = 0;
	struct pollfd pf;
	int p[2], status;
	pid_t pid;
	ack a;

	assert_int_equal(pipe(p), 0);
	if ((pid = fork()) == 0) {
		close(p[0]);
		storm_child(b, dir, p[1]);
	}
	assert_true(pid > 0);
	close(p[1]);
	pf.fd = p[0];
	pf.events = POLLIN;
	while (got < want) {
		ssize_t r;

		if (poll(&pf, 1, STUCK_MS) != 1) {
			fprintf(stderr, "storm %s: a child acknowledged nothing for %d s\n",
				b->name, STUCK_MS / 1000);
			st->errors++;
			break;
		}
		if ((r = read(p[0], &a, sizeof(a))) != sizeof(a))
			break; /* the child is gone: its status says why */
		add_ack(st, &a);
		got++;
	}
	usleep((useconds_t)(rel_rand(rng) % 3000));
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	while (read(p[0], &a, sizeof(a)) == sizeof(a))
		add_ack(st, &a);
	close(p[0]);
	st->kills++;
	if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL) {
		fprintf(stderr, "storm %s: a child died of signal %d\n", b->name, WTERMSIG(status));
		st->crashes++;
	} else if (WIFEXITED(status)) {
		fprintf(stderr, "storm %s: a child exited with %d\n", b->name, WEXITSTATUS(status));
		st->errors++;
	}
	if (strcmp(b->scheme, "git") == 0)
		age_lock(dir);
}

/* The long-lived reader: the counter never goes back behind what was
 * acknowledged. */
static void reader_check(storm *st, gkv_store *reader)
{
	gkv_buf cur = {0};
	uint32_t n = 0;
	int found, rc;

	rc = gkv_store_find(&cur, &found, reader, "counter");
	if (rc < 0)
		fprintf(stderr, "storm: the open reader failed: %s\n", gkv_error_last());
	assert_int_equal(rc, 0);
	if (found)
		assert_int_equal(parse_counter(&n, &cur), 0);
	gkv_buf_dispose(&cur);
	if (n < st->max_acked) {
		fprintf(stderr, "storm: the reader sees %u, %u was acknowledged\n", n,
			st->max_acked);
		st->reader_behind++;
	}
}

/*
 * The history of main, newest first: hist[n] is the commit that set the
 * counter to n. It must be linear and count down by one to 1. Returns
 * the head's number.
 */
static uint32_t read_history(gkv_oid **hist, gkv_repo *repo)
{
	gkv_oid cur;
	uint32_t top = 0, expect = 0;
	gkv_oid *h = NULL;

	assert_int_equal(gkv_branch_head(&cur, repo, "main"), 0);
	for (;;) {
		gkv_commit *c;
		gkv_store *s;
		gkv_buf b = {0};
		uint32_t n;

		assert_int_equal(gkv_store_open_commit(&s, repo, &cur), 0);
		assert_int_equal(gkv_store_get(&b, s, "counter"), 0);
		assert_int_equal(parse_counter(&n, &b), 0);
		gkv_buf_dispose(&b);
		gkv_store_free(s);
		if (!h) {
			top = expect = n;
			assert_non_null(h = calloc((size_t)top + 1, sizeof(*h)));
		}
		if (n != expect)
			fprintf(stderr, "storm: history holds %u where %u was expected\n", n,
				expect);
		assert_int_equal(n, expect);
		h[n] = cur;
		assert_int_equal(gkv_commit_lookup(&c, repo, &cur), 0);
		if (n == 1) {
			assert_int_equal(gkv_commit_parentcount(c), 0);
			gkv_commit_free(c);
			break;
		}
		assert_int_equal(gkv_commit_parentcount(c), 1); /* linear */
		cur = *gkv_commit_parent_id(c, 0);
		gkv_commit_free(c);
		expect--;
	}
	*hist = h;
	return top;
}

static size_t count_losses(const storm *st, const gkv_oid *hist, uint32_t top)
{
	size_t lost = 0;

	for (size_t i = 0; i < st->nacks; i++) {
		const ack *a = &st->acks[i];

		if (a->n > top || !gkv_oid_equal(&hist[a->n], &a->id)) {
			char hex[GKV_OID_HEXSZ + 1];

			gkv_oid_fmt(hex, &a->id);
			fprintf(stderr, "storm: acknowledged commit %s (counter %u) is lost\n", hex,
				a->n);
			lost++;
		}
	}
	return lost;
}

/* Every acknowledged bulk commit's values are at the head. */
static size_t count_bulk_losses(const storm *st, gkv_store *s)
{
	size_t lost = 0;

	for (size_t i = 0; i < st->nacks; i++) {
		gkv_list *l = NULL;
		char dir[32];

		if (st->acks[i].n % BULK_EVERY != 0)
			continue;
		snprintf(dir, sizeof(dir), "bulk/%u", st->acks[i].n);
		if (gkv_store_list(&l, s, dir) != 0 || gkv_list_count(l) != BULK_VALUES)
			lost++;
		gkv_list_free(l);
	}
	return lost;
}

static void run_storm(const rel_backend *b)
{
	long kills = rel_env_long("GITKV_STORM_KILLS", DEFAULT_KILLS);
	uint64_t seed = rel_seed("GITKV_STORM_SEED", DEFAULT_SEED), rng = seed;
	const char *only = getenv("GITKV_STORM_BACKENDS");
	storm st;
	gkv_repo *repo, *rrepo;
	gkv_store *s, *reader;
	gkv_oid *hist = NULL;
	rel_census census;
	size_t lost;
	uint32_t top;
	char dir[512];
	double t0;

	if (only && *only) {
		char list[256];
		int hit = 0;

		snprintf(list, sizeof(list), "%s", only);
		for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ","))
			hit |= strcmp(tok, b->name) == 0;
		if (!hit) {
			print_message("storm %s: not in GITKV_STORM_BACKENDS\n", b->name);
			skip();
		}
	}
	memset(&st, 0, sizeof(st));
	snprintf(dir, sizeof(dir), "%s/%s", root, b->name);
	t0 = rel_now();
	assert_int_equal(rel_open(&rrepo, b, dir, 1), 0);
	assert_int_equal(gkv_store_open_branch(&reader, rrepo, "main"), 0);
	for (long k = 0; k < kills; k++) {
		one_round(&st, b, dir, &rng);
		reader_check(&st, reader);
	}
	gkv_store_free(reader);
	gkv_repo_free(rrepo);

	/* after the storm, a fresh open */
	assert_int_equal(rel_open(&repo, b, dir, 0), 0);
	{
		gkv_oid head;

		top = gkv_branch_head(&head, repo, "main") == 0 ? read_history(&hist, repo) : 0;
	}
	lost = hist ? count_losses(&st, hist, top) : st.nacks;
	assert_int_equal(gkv_store_open_branch(&s, repo, "main"), 0);
	lost += count_bulk_losses(&st, s);
	assert_int_equal(rel_check_store(&census, repo), 0);
	assert_int_equal(gkv_store_set(NULL, s, "after", "storm", 5, NULL), 0);
	gkv_store_free(s);
	gkv_repo_free(repo);
	print_message("storm %-12s %5ld kills, %6zu acknowledged writes, %zu losses, %ld crashes, "
		      "%ld errors, %.1f s (seed %llu; %u commits, %zu trees, %zu values read)\n",
		      b->name, st.kills, st.nacks, lost, st.crashes, st.errors, rel_now() - t0,
		      (unsigned long long)seed, top, census.trees, census.blobs);
	if (strcmp(b->scheme, "git") == 0)
		assert_int_equal(
		    rel_sh("git -C '%s' fsck --strict --no-progress --no-dangling >&2", dir), 0);
	assert_int_equal(lost, 0);
	assert_int_equal(st.reader_behind, 0);
	assert_int_equal(st.crashes, 0);
	assert_int_equal(st.errors, 0);
	assert_true(st.nacks > 0 || kills < 5);
	free(hist);
	free(st.acks);
	rel_rmtree(dir);
}

static const rel_backend lmdb_full = {"lmdb", "lmdb", GKV_DURABILITY_FULL};
static const rel_backend lmdb_nosync = {"lmdb-nosync", "lmdb", GKV_DURABILITY_NOSYNC};
static const rel_backend lmdb_mapped = {"lmdb-mapped", "lmdb", GKV_DURABILITY_NOSYNC_MAPPED};
static const rel_backend git_plain = {"git", "git", DUR_UNSET};
static const rel_backend git_full = {"git-full", "git", GKV_DURABILITY_FULL};

static void test_storm_lmdb(void **state)
{
	(void)state;
	run_storm(&lmdb_full);
}

static void test_storm_lmdb_nosync(void **state)
{
	(void)state;
	run_storm(&lmdb_nosync);
}

static void test_storm_lmdb_mapped(void **state)
{
	(void)state;
	run_storm(&lmdb_mapped);
}

static void test_storm_git(void **state)
{
	(void)state;
	run_storm(&git_plain);
}

static void test_storm_git_full(void **state)
{
	(void)state;
	run_storm(&git_full);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_storm_lmdb),
	    cmocka_unit_test(test_storm_lmdb_nosync),
	    cmocka_unit_test(test_storm_lmdb_mapped),
	    cmocka_unit_test(test_storm_git),
	    cmocka_unit_test(test_storm_git_full),
	};

	root = rel_scratch("storm");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
