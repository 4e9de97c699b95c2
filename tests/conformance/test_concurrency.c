/*
 * test_concurrency.c -- concurrent writers lose nothing. Threads sharing
 * one gkv_repo (each with its own gkv_store) and, for stores on disk,
 * separate processes each with its own handle, write distinct keys and
 * increment one shared counter with test-and-set; at the end every key is
 * there, the counter is exact, and the history has exactly one commit per
 * write. Nothing here depends on timing: only on final states.
 */
#include "conformance.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define NWORKERS 4
#define NSETS 50
#define NINCR 25
#define MAX_TRIES 100000

struct worker {
	gkv_repo *repo;
	int id;
	int failed; /* 0, or the code of the first failure */
	char msg[256];
	int stop; /* for the reader */
	long reads;
};

static int record(struct worker *w, int rc, const char *what)
{
	if (rc < 0 && !w->failed) {
		w->failed = rc;
		snprintf(w->msg, sizeof(w->msg), "worker %d: %s: %d %s", w->id, what, rc,
			 gkv_error_last());
	}
	return rc;
}

/* Write NSETS distinct keys "w<id>/k<j>" = "w<id>/k<j>". */
static int do_sets(struct worker *w, gkv_store *s)
{
	char key[64];

	for (int j = 0; j < NSETS; j++) {
		snprintf(key, sizeof(key), "w%d/k%d", w->id, j);
		if (record(w, gkv_store_set(NULL, s, key, key, strlen(key), NULL), "set") < 0)
			return -1;
	}
	return 0;
}

/* Add 1 to the decimal counter at "counter", NINCR times, with test-and-set. */
static int do_increments(struct worker *w, gkv_store *s)
{
	for (int j = 0; j < NINCR; j++) {
		int tries = 0, rc;

		do {
			gkv_buf cur = {0}, next;
			char num[32];
			int found = 0;
			long v = 0;

			if (record(w, gkv_store_find(&cur, &found, s, "counter"), "find") < 0)
				return -1;
			if (found) {
				char tmp[32];

				snprintf(tmp, sizeof(tmp), "%.*s", (int)cur.size, (char *)cur.ptr);
				v = strtol(tmp, NULL, 10);
			}
			snprintf(num, sizeof(num), "%ld", v + 1);
			next.ptr = (unsigned char *)num;
			next.size = strlen(num);
			rc = gkv_store_test_and_set(NULL, s, "counter", found ? &cur : NULL, &next,
						    NULL);
			gkv_buf_dispose(&cur);
		} while (rc == GKV_E_CONFLICT && ++tries < MAX_TRIES);
		if (record(w, rc, "test_and_set") < 0)
			return -1;
	}
	return 0;
}

static void *writer_thread(void *arg)
{
	struct worker *w = arg;
	gkv_store *s = NULL;

	if (record(w, gkv_store_open_branch(&s, w->repo, "main"), "open_branch") < 0)
		return NULL;
	if (do_sets(w, s) == 0)
		do_increments(w, s);
	gkv_store_free(s);
	return NULL;
}

/* Read snapshots while writers write: every value seen is its own key. */
static int check_fold(const char *path, gkv_kind kind, const void *value, size_t len, void *payload)
{
	(void)kind;
	(*(long *)payload)++;
	if (strcmp(path, "counter") == 0 || strcmp(path, "init") == 0)
		return 0;
	return len == strlen(path) && memcmp(value, path, len) == 0 ? 0 : 1;
}

static void *reader_thread(void *arg)
{
	struct worker *w = arg;
	gkv_store *s = NULL;

	if (record(w, gkv_store_open_branch(&s, w->repo, "main"), "open_branch") < 0)
		return NULL;
	/* at least one snapshot, even if the writers were done before this
	 * thread first ran (a loaded machine, a fast backend) */
	for (int first = 1; first || !__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE); first = 0) {
		gkv_tree *t = NULL;
		long n = 0;

		if (record(w, gkv_store_tree(&t, s), "store_tree") < 0)
			break;
		if (gkv_tree_fold(t, "", check_fold, &n) != 0)
			record(w, GKV_E_CORRUPT, "a snapshot holds a wrong value");
		gkv_tree_free(t);
		w->reads++;
		if (w->failed)
			break;
	}
	gkv_store_free(s);
	return NULL;
}

static void check_final(gkv_repo *repo, int nworkers, const char *prefix, size_t extra)
{
	gkv_store *s = NULL;
	gkv_oid head;
	char key[64], num[32];

	assert_ok(gkv_store_open_branch(&s, repo, "main"));
	for (int i = 0; i < nworkers; i++)
		for (int j = 0; j < NSETS; j++) {
			snprintf(key, sizeof(key), "%s%d/k%d", prefix, i, j);
			assert_value(s, key, key);
		}
	snprintf(num, sizeof(num), "%d", nworkers * NINCR);
	assert_value(s, "counter", num);
	head = conf_head(s);
	assert_int_equal(conf_count_commits(repo, &head),
			 (size_t)nworkers * (NSETS + NINCR) + extra);
	gkv_store_free(s);
}

static void threads_lose_no_update(void **state)
{
	conf_env *env = *state;
	struct worker w[NWORKERS + 1];
	pthread_t t[NWORKERS + 1];

	memset(w, 0, sizeof(w));
	for (int i = 0; i <= NWORKERS; i++) {
		w[i].repo = env->repo;
		w[i].id = i;
	}
	for (int i = 0; i < NWORKERS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, writer_thread, &w[i]), 0);
	assert_int_equal(pthread_create(&t[NWORKERS], NULL, reader_thread, &w[NWORKERS]), 0);
	for (int i = 0; i < NWORKERS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	__atomic_store_n(&w[NWORKERS].stop, 1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(t[NWORKERS], NULL), 0);
	for (int i = 0; i <= NWORKERS; i++)
		if (w[i].failed)
			fail_msg("%s", w[i].msg);
	assert_true(w[NWORKERS].reads > 0);
	check_final(env->repo, NWORKERS, "w", 0);
}

/* ---- processes: each opens its own handle after fork ---- */

static void child_fail(struct worker *w, int status)
{
	fprintf(stderr, "%s\n", w->msg[0] ? w->msg : "child failed");
	_exit(status);
}

static void run_child(const char *uri, int id)
{
	struct worker w;
	gkv_repo *repo = NULL;
	gkv_store *s = NULL;

	conf_child_init();
	memset(&w, 0, sizeof(w));
	w.id = id;
	if (record(&w, conf_open(&repo, uri, 0, 0), "open") < 0)
		child_fail(&w, 2);
	w.repo = repo;
	if (record(&w, gkv_store_open_branch(&s, repo, "main"), "open_branch") < 0)
		child_fail(&w, 3);
	if (do_sets(&w, s) < 0)
		child_fail(&w, 4);
	if (do_increments(&w, s) < 0)
		child_fail(&w, 5);
	gkv_store_free(s);
	gkv_repo_free(repo);
	_exit(0);
}

static void run_creator(const char *uri)
{
	gkv_repo *repo = NULL;
	gkv_store *s = NULL;

	conf_child_init();
	if (conf_open(&repo, uri, 1, 0) < 0 || gkv_store_open_branch(&s, repo, "main") < 0 ||
	    gkv_store_set(NULL, s, "init", "0", 1, NULL) < 0) {
		fprintf(stderr, "creator: %s\n", gkv_error_last());
		_exit(1);
	}
	gkv_store_free(s);
	gkv_repo_free(repo);
	_exit(0);
}

static void wait_children(const pid_t *pids, int n)
{
	for (int i = 0; i < n; i++) {
		int status = 0;

		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fail_msg("child %d ended with status 0x%x", i, status);
	}
}

static void processes_lose_no_update(void **state)
{
	conf_env *env = *state;
	pid_t pids[NWORKERS];
	gkv_repo *repo = NULL;

	if (!conf_persistent())
		skip();
	/* Nothing is opened in this process before the children are made. */
	fflush(NULL);
	pids[0] = fork();
	assert_true(pids[0] >= 0);
	if (pids[0] == 0)
		run_creator(env->uri);
	wait_children(pids, 1);
	for (int i = 0; i < NWORKERS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0)
			run_child(env->uri, i);
	}
	wait_children(pids, NWORKERS);

	assert_ok(conf_open(&repo, env->uri, 0, 0));
	{
		gkv_store *s = NULL;

		assert_ok(gkv_store_open_branch(&s, repo, "main"));
		assert_value(s, "init", "0");
		gkv_store_free(s);
	}
	check_final(repo, NWORKERS, "w", 1);
	gkv_repo_free(repo);
}

static void *branch_writer(void *arg)
{
	struct worker *w = arg;
	gkv_store *s = NULL;
	char branch[32];

	snprintf(branch, sizeof(branch), "b%d", w->id);
	if (record(w, gkv_store_open_branch(&s, w->repo, branch), "open_branch") < 0)
		return NULL;
	do_sets(w, s);
	gkv_store_free(s);
	return NULL;
}

static void branch_threads(void **state)
{
	conf_env *env = *state;
	struct worker w[NWORKERS];
	pthread_t t[NWORKERS];

	memset(w, 0, sizeof(w));
	for (int i = 0; i < NWORKERS; i++) {
		w[i].repo = env->repo;
		w[i].id = i;
		assert_int_equal(pthread_create(&t[i], NULL, branch_writer, &w[i]), 0);
	}
	for (int i = 0; i < NWORKERS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	for (int i = 0; i < NWORKERS; i++) {
		gkv_store *s = NULL;
		gkv_list *list = NULL;
		gkv_oid head;
		char branch[32], key[64];

		if (w[i].failed)
			fail_msg("%s", w[i].msg);
		snprintf(branch, sizeof(branch), "b%d", i);
		assert_ok(gkv_store_open_branch(&s, env->repo, branch));
		assert_ok(gkv_store_list(&list, s, ""));
		assert_int_equal(gkv_list_count(list), 1);
		gkv_list_free(list);
		for (int j = 0; j < NSETS; j++) {
			snprintf(key, sizeof(key), "w%d/k%d", i, j);
			assert_value(s, key, key);
		}
		head = conf_head(s);
		assert_int_equal(conf_count_commits(env->repo, &head), NSETS);
		gkv_store_free(s);
	}
}

/* ---- transactions under contention, and racing branch operations ---- */

#define NTXN 20

static void *txn_writer(void *arg)
{
	struct worker *w = arg;
	gkv_store *s = NULL;

	if (record(w, gkv_store_open_branch(&s, w->repo, "main"), "open_branch") < 0)
		return NULL;
	for (int j = 0; j < NTXN && !w->failed; j++) {
		int tries = 0, rc;

		do {
			gkv_txn *txn = NULL;
			gkv_buf cur = {0};
			char num[32], key[32], tmp[32];
			int found = 0;

			if (record(w, gkv_txn_begin(&txn, s), "txn_begin") < 0)
				return NULL;
			if (record(w, gkv_txn_find(&cur, &found, txn, "counter"), "txn_find") < 0)
				return NULL;
			snprintf(tmp, sizeof(tmp), "%.*s", (int)cur.size,
				 cur.ptr ? (char *)cur.ptr : "");
			gkv_buf_dispose(&cur);
			snprintf(num, sizeof(num), "%ld", (found ? strtol(tmp, NULL, 10) : 0) + 1);
			snprintf(key, sizeof(key), "t%d/k%d", w->id, j);
			if (record(w, gkv_txn_set(txn, "counter", num, strlen(num)), "txn_set") <
				0 ||
			    record(w, gkv_txn_set(txn, key, key, strlen(key)), "txn_set") < 0)
				return NULL;
			rc = gkv_txn_commit(NULL, txn, GKV_TXN_FAIL, NULL);
			gkv_txn_free(txn);
		} while (rc == GKV_E_CONFLICT && ++tries < MAX_TRIES);
		record(w, rc, "txn_commit");
	}
	gkv_store_free(s);
	return NULL;
}

static void txn_fail_retry_loses_nothing(void **state)
{
	conf_env *env = *state;
	struct worker w[NWORKERS];
	pthread_t t[NWORKERS];
	char num[32], key[32];
	gkv_oid head;

	memset(w, 0, sizeof(w));
	for (int i = 0; i < NWORKERS; i++) {
		w[i].repo = env->repo;
		w[i].id = i;
		assert_int_equal(pthread_create(&t[i], NULL, txn_writer, &w[i]), 0);
	}
	for (int i = 0; i < NWORKERS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	for (int i = 0; i < NWORKERS; i++)
		if (w[i].failed)
			fail_msg("%s", w[i].msg);
	snprintf(num, sizeof(num), "%d", NWORKERS * NTXN);
	assert_value(env->store, "counter", num);
	for (int i = 0; i < NWORKERS; i++)
		for (int j = 0; j < NTXN; j++) {
			snprintf(key, sizeof(key), "t%d/k%d", i, j);
			assert_value(env->store, key, key);
		}
	head = conf_head(env->store);
	assert_int_equal(conf_count_commits(env->repo, &head), NWORKERS * NTXN);
}

struct racer {
	gkv_repo *repo;
	gkv_oid target, expected;
	int rc_create, rc_cas;
	pthread_barrier_t *barrier;
};

static void *branch_racer(void *arg)
{
	struct racer *r = arg;

	pthread_barrier_wait(r->barrier);
	r->rc_create = gkv_branch_create(r->repo, "race", &r->target);
	pthread_barrier_wait(r->barrier);
	r->rc_cas = gkv_branch_cas(r->repo, "main", &r->expected, &r->target);
	return NULL;
}

static void racing_branch_operations_have_one_winner(void **state)
{
	conf_env *env = *state;
	struct racer r[NWORKERS];
	pthread_t t[NWORKERS];
	pthread_barrier_t barrier;
	int created = 0, swapped = 0, winner_create = -1, winner_cas = -1;
	gkv_oid base, head;

	base = conf_set(env->store, "base", "b");
	pthread_barrier_init(&barrier, NULL, NWORKERS);
	for (int i = 0; i < NWORKERS; i++) {
		char v[16];

		snprintf(v, sizeof(v), "%d", i);
		memset(&r[i], 0, sizeof(r[i]));
		r[i].repo = env->repo;
		r[i].expected = base;
		r[i].target = conf_commit(env->repo, &base, 1, 1700000000 + i, "racer", v);
		r[i].barrier = &barrier;
	}
	for (int i = 0; i < NWORKERS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, branch_racer, &r[i]), 0);
	for (int i = 0; i < NWORKERS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	pthread_barrier_destroy(&barrier);
	for (int i = 0; i < NWORKERS; i++) {
		if (r[i].rc_create == 0)
			created++, winner_create = i;
		else
			assert_rc(GKV_E_EXISTS, r[i].rc_create);
		if (r[i].rc_cas == 0)
			swapped++, winner_cas = i;
		else
			assert_rc(GKV_E_CONFLICT, r[i].rc_cas);
	}
	assert_int_equal(created, 1);
	assert_int_equal(swapped, 1);
	head = conf_branch_head(env->repo, "race");
	assert_oid_eq(&head, &r[winner_create].target);
	head = conf_branch_head(env->repo, "main");
	assert_oid_eq(&head, &r[winner_cas].target);
}

static void processes_create_one_store_together(void **state)
{
	/* Several processes start at once on a store that does not exist yet,
	 * each asking to create it: all must end up writing into one store. */
	conf_env *env = *state;
	pid_t pids[NWORKERS];
	gkv_repo *repo = NULL;
	gkv_store *s = NULL;
	gkv_oid head;
	char path[600], uri[700];

	if (!conf_persistent())
		skip();
	snprintf(path, sizeof(path), "%s/together", env->dir);
	conf_uri(uri, sizeof(uri), path);
	fflush(NULL);
	for (int i = 0; i < NWORKERS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			char key[32];

			conf_child_init();
			snprintf(key, sizeof(key), "p%d", i);
			if (conf_open(&repo, uri, 1, 0) < 0 ||
			    gkv_store_open_branch(&s, repo, "main") < 0 ||
			    gkv_store_set(NULL, s, key, key, strlen(key), NULL) < 0) {
				fprintf(stderr, "process %d: %s\n", i, gkv_error_last());
				_exit(1);
			}
			gkv_store_free(s);
			gkv_repo_free(repo);
			_exit(0);
		}
	}
	wait_children(pids, NWORKERS);
	assert_ok(conf_open(&repo, uri, 0, 0));
	assert_ok(gkv_store_open_branch(&s, repo, "main"));
	for (int i = 0; i < NWORKERS; i++) {
		char key[32];

		snprintf(key, sizeof(key), "p%d", i);
		assert_value(s, key, key);
	}
	head = conf_head(s);
	assert_int_equal(conf_count_commits(repo, &head), NWORKERS);
	gkv_store_free(s);
	gkv_repo_free(repo);
}

/* ---- a read after a write, by another thread or process, sees it ---- */

#define NHANDOFF 300

struct handoff {
	gkv_repo *repo;
	int published; /* the last value written, once its set returned */
	int stop;
	int failed;
	char msg[256];
};

/* Read "seq" after every publication: the value read can be newer than
 * the one published, never older (a view must not keep a stale head). */
static void *handoff_reader(void *arg)
{
	struct handoff *h = arg;
	gkv_store *s = NULL;
	int last = 0;

	if (gkv_store_open_branch(&s, h->repo, "main") < 0) {
		h->failed = 1;
		snprintf(h->msg, sizeof(h->msg), "open_branch: %s", gkv_error_last());
		return NULL;
	}
	while (!__atomic_load_n(&h->stop, __ATOMIC_ACQUIRE)) {
		int p = __atomic_load_n(&h->published, __ATOMIC_ACQUIRE);
		gkv_buf v;
		int rc, seen;

		if (p == last)
			continue;
		if ((rc = gkv_store_get(&v, s, "seq")) < 0) {
			h->failed = 1;
			snprintf(h->msg, sizeof(h->msg), "get after %d: %s", p, gkv_error_last());
			break;
		}
		{
			char num[16] = {0};

			memcpy(num, v.ptr, v.size < sizeof(num) - 1 ? v.size : sizeof(num) - 1);
			seen = atoi(num);
		}
		gkv_buf_dispose(&v);
		if (seen < p) {
			h->failed = 1;
			snprintf(h->msg, sizeof(h->msg), "read %d after %d was written", seen, p);
			break;
		}
		last = p;
	}
	gkv_store_free(s);
	return NULL;
}

static void handoff_run(gkv_repo *writer, gkv_repo *reader)
{
	struct handoff h;
	gkv_store *s = NULL;
	pthread_t t;
	char num[16];

	memset(&h, 0, sizeof(h));
	h.repo = reader;
	assert_ok(gkv_store_open_branch(&s, writer, "main"));
	assert_ok(gkv_store_set(NULL, s, "seq", "0", 1, NULL));
	assert_int_equal(pthread_create(&t, NULL, handoff_reader, &h), 0);
	for (int i = 1; i <= NHANDOFF && !__atomic_load_n(&h.failed, __ATOMIC_ACQUIRE); i++) {
		snprintf(num, sizeof(num), "%d", i);
		assert_ok(gkv_store_set(NULL, s, "seq", num, strlen(num), NULL));
		__atomic_store_n(&h.published, i, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&h.stop, 1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(t, NULL), 0);
	if (h.failed)
		fail_msg("%s", h.msg);
	gkv_store_free(s);
}

static void reads_follow_writes_of_other_threads(void **state)
{
	conf_env *env = *state;
	gkv_repo *other = NULL;

	handoff_run(env->repo, env->repo);
	if (!conf_persistent())
		return;
	/* A second handle on the same store, as another library would open. */
	assert_ok(conf_open(&other, env->uri, 0, 0));
	handoff_run(env->repo, other);
	gkv_repo_free(other);
}

static void reads_follow_writes_of_other_processes(void **state)
{
	conf_env *env = *state;
	gkv_store *s = NULL;
	int to_child[2], to_parent[2];
	pid_t pid;
	int st;

	if (!conf_persistent())
		skip();
	assert_ok(gkv_store_set(NULL, env->store, "seq", "0", 1, NULL));
	assert_int_equal(pipe(to_child), 0);
	assert_int_equal(pipe(to_parent), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		gkv_repo *repo = NULL;
		char num[16];
		int i, ok = 1;

		conf_child_init();
		close(to_child[1]);
		close(to_parent[0]);
		if (conf_open(&repo, env->uri, 0, 0) < 0 ||
		    gkv_store_open_branch(&s, repo, "main") < 0)
			_exit(2);
		/* Write i, tell the parent, wait until it has read. */
		for (i = 1; i <= 50 && ok; i++) {
			char c;

			snprintf(num, sizeof(num), "%d", i);
			ok = gkv_store_set(NULL, s, "seq", num, strlen(num), NULL) == 0 &&
			     write(to_parent[1], "w", 1) == 1 && read(to_child[0], &c, 1) == 1;
		}
		gkv_store_free(s);
		gkv_repo_free(repo);
		_exit(ok ? 0 : 3);
	}
	close(to_child[0]);
	close(to_parent[1]);
	for (int i = 1; i <= 50; i++) {
		char num[16], c;

		assert_int_equal(read(to_parent[0], &c, 1), 1);
		snprintf(num, sizeof(num), "%d", i);
		assert_value(env->store, "seq", num);
		assert_int_equal(write(to_child[1], "r", 1), 1);
	}
	close(to_child[1]);
	close(to_parent[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    CONF_TEST_DIR(processes_lose_no_update),
	    CONF_TEST(threads_lose_no_update),
	    CONF_TEST(branch_threads),
	    CONF_TEST(txn_fail_retry_loses_nothing),
	    CONF_TEST(racing_branch_operations_have_one_winner),
	    CONF_TEST_DIR(processes_create_one_store_together),
	    CONF_TEST(reads_follow_writes_of_other_threads),
	    CONF_TEST(reads_follow_writes_of_other_processes),
	};

	return CONF_MAIN(argc, argv, tests);
}
