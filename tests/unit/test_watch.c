/*
 * test_watch.c -- unit tests of store/watch.c: callbacks on branch heads
 * and on path prefixes.
 *
 * What is held: a branch watch is called after every move made through
 * its repo (writes, transactions, branch calls), with the old and new
 * heads (old NULL on creation, new NULL on deletion); a watch on NULL
 * sees every branch; a path watch is called only when something under
 * its prefix changed ("a" is not "ab"), with full paths in its diff;
 * callbacks may write (their notifications nest); gkv_repo_watch_poll
 * reports moves made through another handle on the same LMDB store,
 * once each, deletions included, and never reports this handle's own
 * moves again; a freed watch is not called.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "repo.h"
#include "unit_util.h"

/* ------------------------------------------------------- event log */

typedef struct {
	char branch[32];
	int has_old, has_new;
	gkv_oid old, new_head;
	char paths[8][32]; /* path watch: the diff's paths */
	size_t npaths;
	int depth; /* nesting depth when called */
} event;

typedef struct {
	event ev[32];
	size_t n;
} event_log;

static int depth;

static event *record(event_log *log, const char *branch, const gkv_oid *old, const gkv_oid *new_head)
{
	event *e;

	assert_true(log->n < 32);
	e = &log->ev[log->n++];
	memset(e, 0, sizeof(*e));
	snprintf(e->branch, sizeof(e->branch), "%s", branch);
	if ((e->has_old = old != NULL))
		e->old = *old;
	if ((e->has_new = new_head != NULL))
		e->new_head = *new_head;
	e->depth = depth;
	return e;
}

static void on_branch(const char *branch, const gkv_oid *old, const gkv_oid *new_head, void *p)
{
	record(p, branch, old, new_head);
}

static void on_path(const char *branch, const gkv_oid *old, const gkv_oid *new_head,
    const gkv_diff *d, void *p)
{
	event *e = record(p, branch, old, new_head);

	for (size_t i = 0; i < gkv_diff_count(d) && i < 8; i++)
		snprintf(e->paths[e->npaths++], sizeof(e->paths[0]), "%s", gkv_diff_path(d, i));
}

static void set(gkv_store *s, const char *path, const char *value)
{
	assert_ok(gkv_store_set(NULL, s, path, value, strlen(value), NULL));
}

static gkv_oid head_of(gkv_store *s)
{
	gkv_oid h;

	assert_ok(gkv_store_head(&h, s));
	return h;
}

/* ------------------------------------------------------ branch watches */

static void test_branch_watch(void **state)
{
	gkv_repo *repo = uu_open_mem();
	gkv_store *s, *dev;
	gkv_watch *w, *all;
	event_log log = {0}, alllog = {0};
	gkv_oid h1, h2, h3;
	gkv_txn *t;

	(void)state;
	assert_ok(gkv_watch_branch(&w, repo, "main", on_branch, &log));
	assert_ok(gkv_watch_branch(&all, repo, NULL, on_branch, &alllog));
	assert_ok(gkv_store_open_branch(&s, repo, "main"));
	assert_ok(gkv_store_open_branch(&dev, repo, "dev"));

	set(s, "k", "1");
	h1 = head_of(s);
	assert_int_equal(1, log.n);
	assert_string_equal("main", log.ev[0].branch);
	assert_false(log.ev[0].has_old);
	assert_true(log.ev[0].has_new);
	assert_oid_equal(&log.ev[0].new_head, &h1);

	set(s, "k", "2");
	h2 = head_of(s);
	assert_int_equal(2, log.n);
	assert_oid_equal(&log.ev[1].old, &h1);
	assert_oid_equal(&log.ev[1].new_head, &h2);

	/* No change, no commit, no call. */
	set(s, "k", "2");
	assert_int_equal(2, log.n);

	/* Transactions and branch calls notify too. */
	assert_ok(gkv_txn_begin(&t, s));
	assert_ok(gkv_txn_set(t, "t", "1", 1));
	assert_ok(gkv_txn_commit(&h3, t, GKV_TXN_FAIL, NULL));
	gkv_txn_free(t);
	assert_int_equal(3, log.n);
	assert_oid_equal(&log.ev[2].old, &h2);
	assert_oid_equal(&log.ev[2].new_head, &h3);
	assert_ok(gkv_branch_cas(repo, "main", &h3, &h1));
	assert_int_equal(4, log.n);
	assert_oid_equal(&log.ev[3].old, &h3);
	assert_oid_equal(&log.ev[3].new_head, &h1);

	/* Another branch: only the watch on every branch hears it. */
	set(dev, "d", "1");
	assert_int_equal(4, log.n);
	assert_int_equal(5, alllog.n);
	assert_string_equal("dev", alllog.ev[4].branch);
	assert_ok(gkv_branch_create(repo, "made", &h2));
	assert_int_equal(6, alllog.n);
	assert_string_equal("made", alllog.ev[5].branch);
	assert_false(alllog.ev[5].has_old);

	/* Deletion: new is NULL. */
	assert_ok(gkv_branch_delete(repo, "main"));
	assert_int_equal(5, log.n);
	assert_true(log.ev[4].has_old);
	assert_oid_equal(&log.ev[4].old, &h1);
	assert_false(log.ev[4].has_new);

	/* Unwatched: silence. */
	gkv_watch_free(w);
	set(s, "k", "3");
	assert_int_equal(5, log.n);
	assert_int_equal(8, alllog.n);
	gkv_watch_free(all);
	set(s, "k", "4");
	assert_int_equal(8, alllog.n);
	gkv_store_free(dev);
	gkv_store_free(s);
	gkv_repo_free(repo);
}

/* -------------------------------------------------------- path watches */

static void test_path_watch(void **state)
{
	gkv_repo *repo = uu_open_mem();
	gkv_store *s;
	gkv_watch *w, *root;
	event_log log = {0}, rootlog = {0};
	gkv_oid h;

	(void)state;
	assert_ok(gkv_store_open_branch(&s, repo, "main"));
	assert_ok(gkv_watch_path(&w, repo, "main", "a", on_path, &log));
	assert_ok(gkv_watch_path(&root, repo, "main", "", on_path, &rootlog));

	set(s, "ab", "not under a");
	set(s, "a.txt", "nor this");
	assert_int_equal(0, log.n);
	assert_int_equal(2, rootlog.n);

	set(s, "a/x", "1");
	h = head_of(s);
	assert_int_equal(1, log.n);
	assert_int_equal(1, log.ev[0].npaths);
	assert_string_equal("a/x", log.ev[0].paths[0]);
	assert_oid_equal(&log.ev[0].new_head, &h);
	assert_true(log.ev[0].has_old);

	/* A value replacing the watched directory. */
	set(s, "a", "value");
	assert_int_equal(2, log.n);
	assert_int_equal(2, log.ev[1].npaths);
	assert_string_equal("a", log.ev[1].paths[0]);
	assert_string_equal("a/x", log.ev[1].paths[1]);

	/* Deep prefixes. */
	gkv_watch *deep;
	event_log deeplog = {0};

	assert_ok(gkv_watch_path(&deep, repo, "main", "p/q", on_path, &deeplog));
	set(s, "p/qq", "1");
	set(s, "p/q/r/s", "1");
	assert_int_equal(1, deeplog.n);
	assert_string_equal("p/q/r/s", deeplog.ev[0].paths[0]);

	/* Branch deleted: everything under the prefix is reported removed. */
	assert_ok(gkv_branch_delete(repo, "main"));
	assert_int_equal(2, deeplog.n);
	assert_false(deeplog.ev[1].has_new);
	assert_int_equal(1, deeplog.ev[1].npaths);
	assert_string_equal("p/q/r/s", deeplog.ev[1].paths[0]);

	/* Other branches are not watched. */
	gkv_store *dev;

	assert_ok(gkv_store_open_branch(&dev, repo, "dev"));
	set(dev, "a/x", "1");
	assert_int_equal(3, log.n); /* the deletion only */
	gkv_store_free(dev);

	gkv_watch_free(deep);
	assert_rc(GKV_E_INVALID, gkv_watch_path(&deep, repo, "main", "a//b", on_path, NULL));
	assert_rc(GKV_E_INVALID, gkv_watch_path(&deep, repo, "bad..branch", "a", on_path, NULL));
	assert_rc(GKV_E_INVALID, gkv_watch_path(&deep, repo, NULL, "a", on_path, NULL));
	assert_rc(GKV_E_INVALID, gkv_watch_branch(&deep, repo, "main", NULL, NULL));
	gkv_watch_free(deep);
	gkv_watch_free(root);
	gkv_watch_free(w);
	gkv_store_free(s);
	gkv_repo_free(repo);
}

/* ------------------------------------------------------------- nesting */

typedef struct {
	gkv_store *log_store;
	event_log *log;
	int writes;
} nest_arg;

/* On a move of main: record, then append to branch "log" (its notification nests). */
static void on_main_write_log(const char *branch, const gkv_oid *old, const gkv_oid *new_head,
    void *p)
{
	nest_arg *a = p;
	char key[32];

	record(a->log, branch, old, new_head);
	depth++;
	snprintf(key, sizeof(key), "entry%d", a->writes++);
	assert_ok(gkv_store_set(NULL, a->log_store, key, branch, strlen(branch), NULL));
	depth--;
}

static void test_callback_that_writes(void **state)
{
	gkv_repo *repo = uu_open_mem();
	gkv_store *s, *logs;
	gkv_watch *wm, *wl;
	event_log log = {0};
	nest_arg arg;
	gkv_buf v;

	(void)state;
	assert_ok(gkv_store_open_branch(&s, repo, "main"));
	assert_ok(gkv_store_open_branch(&logs, repo, "log"));
	arg = (nest_arg){logs, &log, 0};
	assert_ok(gkv_watch_branch(&wm, repo, "main", on_main_write_log, &arg));
	assert_ok(gkv_watch_branch(&wl, repo, "log", on_branch, &log));
	set(s, "k", "1");
	set(s, "k", "2");
	/* main (depth 0), then log inside it (depth 1), twice. */
	assert_int_equal(4, log.n);
	assert_string_equal("main", log.ev[0].branch);
	assert_int_equal(0, log.ev[0].depth);
	assert_string_equal("log", log.ev[1].branch);
	assert_int_equal(1, log.ev[1].depth);
	assert_false(log.ev[1].has_old);
	assert_string_equal("main", log.ev[2].branch);
	assert_string_equal("log", log.ev[3].branch);
	assert_true(log.ev[3].has_old);
	assert_oid_equal(&log.ev[3].old, &log.ev[1].new_head);
	assert_ok(gkv_store_get(&v, logs, "entry1"));
	assert_buf_str(v, "main");
	gkv_buf_dispose(&v);
	gkv_watch_free(wm);
	gkv_watch_free(wl);
	gkv_store_free(logs);
	gkv_store_free(s);
	gkv_repo_free(repo);
}

/* ---------------------------------------------------------------- poll */

typedef struct {
	char *dir;
	gkv_repo *mine, *theirs;
	gkv_store *ms, *ts;
} two_handles;

static int open_two(void **state)
{
	two_handles *h = calloc(1, sizeof(*h));

	h->dir = uu_tmpdir("watch-poll");
	h->mine = uu_open_lmdb(h->dir, 0);
	h->theirs = uu_open_lmdb(h->dir, 0);
	assert_ok(gkv_store_open_branch(&h->ms, h->mine, "main"));
	assert_ok(gkv_store_open_branch(&h->ts, h->theirs, "main"));
	*state = h;
	return 0;
}

static int close_two(void **state)
{
	two_handles *h = *state;

	gkv_store_free(h->ms);
	gkv_store_free(h->ts);
	gkv_repo_free(h->theirs);
	gkv_repo_free(h->mine);
	uu_tmpdir_remove(h->dir);
	free(h);
	return 0;
}

static void test_poll_sees_other_handle(void **state)
{
	two_handles *h = *state;
	gkv_watch *w, *pw;
	event_log log = {0}, plog = {0};
	size_t changed = 99;
	gkv_oid t1, t2, m1;

	set(h->ts, "before", "0"); /* exists before the watch: not news */
	t1 = head_of(h->ts);
	assert_ok(gkv_watch_branch(&w, h->mine, NULL, on_branch, &log));
	assert_ok(gkv_watch_path(&pw, h->mine, "main", "cfg", on_path, &plog));
	assert_ok(gkv_repo_watch_poll(&changed, h->mine));
	assert_int_equal(0, changed);
	assert_int_equal(0, log.n);

	set(h->ts, "cfg/x", "1");
	t2 = head_of(h->ts);
	assert_int_equal(0, log.n); /* another handle: nothing until we poll */
	assert_ok(gkv_repo_watch_poll(&changed, h->mine));
	assert_int_equal(1, changed);
	assert_int_equal(1, log.n);
	assert_string_equal("main", log.ev[0].branch);
	assert_oid_equal(&log.ev[0].old, &t1);
	assert_oid_equal(&log.ev[0].new_head, &t2);
	assert_int_equal(1, plog.n);
	assert_string_equal("cfg/x", plog.ev[0].paths[0]);
	/* Once only. */
	assert_ok(gkv_repo_watch_poll(&changed, h->mine));
	assert_int_equal(0, changed);
	assert_int_equal(1, log.n);

	/* Our own move is told at once and not again by poll. */
	set(h->ms, "mine", "1");
	m1 = head_of(h->ms);
	assert_int_equal(2, log.n);
	assert_oid_equal(&log.ev[1].old, &t2);
	assert_oid_equal(&log.ev[1].new_head, &m1);
	assert_ok(gkv_repo_watch_poll(&changed, h->mine));
	assert_int_equal(0, changed);
	assert_int_equal(2, log.n);

	/* Several moves between polls: one call, first to last. */
	set(h->ts, "a", "1");
	set(h->ts, "a", "2");
	t2 = head_of(h->ts);
	assert_ok(gkv_repo_watch_poll(NULL, h->mine));
	assert_int_equal(3, log.n);
	assert_oid_equal(&log.ev[2].old, &m1);
	assert_oid_equal(&log.ev[2].new_head, &t2);
	assert_int_equal(1, plog.n); /* nothing under cfg/ changed */

	/* Creation and deletion by the other handle. */
	assert_ok(gkv_branch_create(h->theirs, "dev", &t2));
	assert_ok(gkv_repo_watch_poll(&changed, h->mine));
	assert_int_equal(1, changed);
	assert_int_equal(4, log.n);
	assert_string_equal("dev", log.ev[3].branch);
	assert_false(log.ev[3].has_old);
	assert_ok(gkv_branch_delete(h->theirs, "main"));
	assert_ok(gkv_repo_watch_poll(&changed, h->mine));
	assert_int_equal(1, changed);
	assert_int_equal(5, log.n);
	assert_string_equal("main", log.ev[4].branch);
	assert_oid_equal(&log.ev[4].old, &t2);
	assert_false(log.ev[4].has_new);
	assert_int_equal(2, plog.n);
	assert_false(plog.ev[1].has_new);
	assert_string_equal("cfg/x", plog.ev[1].paths[0]);
	assert_ok(gkv_repo_watch_poll(&changed, h->mine));
	assert_int_equal(0, changed);
	gkv_watch_free(pw);
	gkv_watch_free(w);
}

/*
 * A callback run by gkv_repo_watch_poll that creates a branch (here by
 * writing to it) must not make the same poll report that branch deleted,
 * and the next poll is quiet.
 */
static void test_poll_callback_creating_a_branch(void **state)
{
	two_handles *h = *state;
	gkv_store *logs;
	gkv_watch *wm, *all;
	event_log log = {0}, alllog = {0};
	nest_arg arg;
	size_t changed;
	gkv_oid lh;

	set(h->ts, "k", "0");
	assert_ok(gkv_store_open_branch(&logs, h->mine, "log"));
	arg = (nest_arg){logs, &log, 0};
	assert_ok(gkv_watch_branch(&wm, h->mine, "main", on_main_write_log, &arg));
	assert_ok(gkv_watch_branch(&all, h->mine, NULL, on_branch, &alllog));
	set(h->ts, "k", "1");
	assert_ok(gkv_repo_watch_poll(&changed, h->mine));
	assert_ok(gkv_branch_head(&lh, h->mine, "log"));
	/* main moved (polled), log created (nested, by our own write). */
	const char *deleted = NULL;
	size_t first = alllog.n, second;

	for (size_t i = 0; i < alllog.n; i++)
		if (!alllog.ev[i].has_new)
			deleted = alllog.ev[i].branch;
	alllog.n = 0;
	assert_ok(gkv_repo_watch_poll(&changed, h->mine));
	second = alllog.n;
	gkv_watch_free(all);
	gkv_watch_free(wm);
	gkv_store_free(logs);
	if (deleted)
		fail_msg("poll reported branch '%s' deleted, but it exists "
			 "(created by a callback during the poll)", deleted);
	assert_int_equal(2, first);
	assert_int_equal(0, changed);
	assert_int_equal(0, second);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_branch_watch),
	    cmocka_unit_test(test_path_watch),
	    cmocka_unit_test(test_callback_that_writes),
	    cmocka_unit_test_setup_teardown(test_poll_sees_other_handle, open_two, close_two),
	    cmocka_unit_test_setup_teardown(test_poll_callback_creating_a_branch, open_two, close_two),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
