/*
 * test_watch.c -- watches: a branch watch hears every head move (set,
 * remove, create, delete) with the old and new heads; a path watch hears
 * only changes under its prefix, with their diff; freeing a watch stops
 * it; and gkv_repo_watch_poll reports moves made through another handle
 * on the same store (not for mem, where two handles are two stores).
 */
#include "conformance.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_EVENTS 16

struct event {
	char branch[64];
	int has_old, has_new;
	gkv_oid old, new_head;
	size_t ndiff;
	char paths[4][64];
	gkv_diff_op ops[4];
};

struct recorder {
	struct event ev[MAX_EVENTS];
	size_t n;
};

static struct event *next_event(struct recorder *r, const char *branch, const gkv_oid *old,
				const gkv_oid *new_head)
{
	struct event *e;

	if (r->n >= MAX_EVENTS)
		return NULL;
	e = &r->ev[r->n++];
	memset(e, 0, sizeof(*e));
	snprintf(e->branch, sizeof(e->branch), "%s", branch ? branch : "(null)");
	if (old) {
		e->has_old = 1;
		e->old = *old;
	}
	if (new_head) {
		e->has_new = 1;
		e->new_head = *new_head;
	}
	return e;
}

static void on_branch(const char *branch, const gkv_oid *old, const gkv_oid *new_head,
		      void *payload)
{
	next_event(payload, branch, old, new_head);
}

static void on_path(const char *branch, const gkv_oid *old, const gkv_oid *new_head,
		    const gkv_diff *diff, void *payload)
{
	struct event *e = next_event(payload, branch, old, new_head);

	if (!e)
		return;
	e->ndiff = diff ? gkv_diff_count(diff) : 0;
	for (size_t i = 0; i < e->ndiff && i < 4; i++) {
		snprintf(e->paths[i], sizeof(e->paths[i]), "%s", gkv_diff_path(diff, i));
		e->ops[i] = gkv_diff_op_at(diff, i);
	}
}

static void check_event(const struct event *e, const char *branch, const gkv_oid *old,
			const gkv_oid *new_head)
{
	assert_string_equal(e->branch, branch);
	assert_int_equal(e->has_old, old != NULL);
	if (old)
		assert_oid_eq(&e->old, old);
	assert_int_equal(e->has_new, new_head != NULL);
	if (new_head)
		assert_oid_eq(&e->new_head, new_head);
}

static void branch_watch_sees_every_move(void **state)
{
	conf_env *env = *state;
	struct recorder *r = calloc(1, sizeof(*r));
	gkv_watch *w = NULL;
	gkv_oid h1, h2, h3, out;
	gkv_buf one = {(unsigned char *)"1", 1};

	assert_non_null(r);
	assert_ok(gkv_watch_branch(&w, env->repo, "main", on_branch, r));
	h1 = conf_set(env->store, "a", "1");
	assert_int_equal(r->n, 1);
	check_event(&r->ev[0], "main", NULL, &h1);
	h2 = conf_set(env->store, "b", "2");
	assert_int_equal(r->n, 2);
	check_event(&r->ev[1], "main", &h1, &h2);
	h3 = conf_remove(env->store, "b");
	assert_int_equal(r->n, 3);
	check_event(&r->ev[2], "main", &h2, &h3);
	/* no change, no commit, no event; a failed write neither */
	assert_ok(gkv_store_set(&out, env->store, "a", "1", 1, NULL));
	assert_rc(GKV_E_NOTFOUND, gkv_store_remove(&out, env->store, "absent", NULL));
	assert_rc(GKV_E_CONFLICT, gkv_store_test_and_set(&out, env->store, "a", NULL, &one, NULL));
	assert_int_equal(r->n, 3);
	/* other branches are not this watch's business */
	assert_ok(gkv_branch_create(env->repo, "other", &h1));
	assert_int_equal(r->n, 3);
	/* branch-level operations on main */
	assert_ok(gkv_branch_cas(env->repo, "main", &h3, &h1));
	assert_int_equal(r->n, 4);
	check_event(&r->ev[3], "main", &h3, &h1);
	assert_ok(gkv_branch_delete(env->repo, "main"));
	assert_int_equal(r->n, 5);
	check_event(&r->ev[4], "main", &h1, NULL);
	assert_ok(gkv_branch_create(env->repo, "main", &h2));
	assert_int_equal(r->n, 6);
	check_event(&r->ev[5], "main", NULL, &h2);
	assert_ok(gkv_branch_fast_forward(env->repo, "main", &h3));
	assert_int_equal(r->n, 7);
	check_event(&r->ev[6], "main", &h2, &h3);

	/* freed: silent */
	gkv_watch_free(w);
	conf_set(env->store, "c", "3");
	assert_int_equal(r->n, 7);
	free(r);
}

static void watch_all_branches(void **state)
{
	conf_env *env = *state;
	struct recorder *r = calloc(1, sizeof(*r));
	gkv_watch *w = NULL;
	gkv_store *dev = NULL;
	gkv_txn *txn = NULL;
	gkv_oid h1, h2, d1;

	assert_non_null(r);
	assert_ok(gkv_watch_branch(&w, env->repo, NULL, on_branch, r));
	h1 = conf_set(env->store, "a", "1");
	assert_ok(gkv_branch_create(env->repo, "dev", &h1));
	assert_ok(gkv_store_open_branch(&dev, env->repo, "dev"));
	d1 = conf_set(dev, "d", "1");
	assert_ok(gkv_txn_begin(&txn, env->store));
	assert_ok(gkv_txn_set(txn, "t", "1", 1));
	assert_ok(gkv_txn_commit(&h2, txn, GKV_TXN_FAIL, NULL));
	gkv_txn_free(txn);
	assert_ok(gkv_branch_delete(env->repo, "dev"));
	assert_int_equal(r->n, 5);
	check_event(&r->ev[0], "main", NULL, &h1);
	check_event(&r->ev[1], "dev", NULL, &h1);
	check_event(&r->ev[2], "dev", &h1, &d1);
	check_event(&r->ev[3], "main", &h1, &h2);
	check_event(&r->ev[4], "dev", &d1, NULL);
	gkv_store_free(dev);
	gkv_watch_free(w);
	free(r);
}

static void path_watch_sees_only_its_prefix(void **state)
{
	conf_env *env = *state;
	struct recorder *r = calloc(1, sizeof(*r)), *all = calloc(1, sizeof(*all));
	gkv_watch *w = NULL, *wall = NULL;
	gkv_oid h1, h2, h3;

	assert_non_null(r);
	assert_non_null(all);
	assert_ok(gkv_watch_path(&w, env->repo, "main", "cfg", on_path, r));
	assert_ok(gkv_watch_path(&wall, env->repo, "main", "", on_path, all));
	h1 = conf_set(env->store, "cfg/a", "1");
	assert_int_equal(r->n, 1);
	check_event(&r->ev[0], "main", NULL, &h1);
	assert_int_equal(r->ev[0].ndiff, 1);
	assert_string_equal(r->ev[0].paths[0], "cfg/a");
	assert_int_equal(r->ev[0].ops[0], GKV_DIFF_ADDED);

	conf_set(env->store, "other/x", "1");
	conf_set(env->store, "cfgx", "1"); /* a sibling, not under cfg/ */
	conf_set(env->store, "cf", "1");
	assert_int_equal(r->n, 1);

	h2 = conf_set(env->store, "cfg/deep/b", "2");
	assert_int_equal(r->n, 2);
	assert_int_equal(r->ev[1].ndiff, 1);
	assert_string_equal(r->ev[1].paths[0], "cfg/deep/b");
	assert_true(r->ev[1].has_old);

	h3 = conf_remove(env->store, "cfg/a");
	assert_int_equal(r->n, 3);
	check_event(&r->ev[2], "main", &h2, &h3);
	assert_int_equal(r->ev[2].ndiff, 1);
	assert_string_equal(r->ev[2].paths[0], "cfg/a");
	assert_int_equal(r->ev[2].ops[0], GKV_DIFF_REMOVED);

	/* a watch on "" hears everything, with only the changed paths */
	assert_int_equal(all->n, 6);
	assert_int_equal(all->ev[2].ndiff, 1);
	assert_string_equal(all->ev[2].paths[0], "cfgx");

	gkv_watch_free(w);
	conf_set(env->store, "cfg/c", "3");
	assert_int_equal(r->n, 3);
	assert_int_equal(all->n, 7);
	gkv_watch_free(wall);
	free(r);
	free(all);
}

static void path_watch_on_prefix_that_is_a_value(void **state)
{
	conf_env *env = *state;
	struct recorder *r = calloc(1, sizeof(*r));
	gkv_watch *w = NULL;

	assert_non_null(r);
	assert_ok(gkv_watch_path(&w, env->repo, "main", "cfg", on_path, r));
	conf_set(env->store, "cfg", "value"); /* the prefix itself becomes a value */
	assert_int_equal(r->n, 1);
	assert_int_equal(r->ev[0].ndiff, 1);
	assert_string_equal(r->ev[0].paths[0], "cfg");
	gkv_watch_free(w);
	free(r);
}

static void poll_sees_other_handles(void **state)
{
	conf_env *env = *state;
	struct recorder *r = calloc(1, sizeof(*r)), *p = calloc(1, sizeof(*p));
	gkv_repo *second = NULL;
	gkv_store *s2 = NULL;
	gkv_watch *w = NULL, *wp = NULL;
	gkv_oid h0, h1, h2;
	size_t changed = 99;

	if (!conf_persistent()) {
		free(r);
		free(p);
		skip();
	}
	assert_non_null(r);
	assert_non_null(p);
	h0 = conf_set(env->store, "start", "0");
	assert_ok(conf_open(&second, env->uri, 0, 0));
	assert_ok(gkv_watch_branch(&w, second, "main", on_branch, r));
	assert_ok(gkv_watch_path(&wp, second, "main", "cfg", on_path, p));
	assert_ok(gkv_repo_watch_poll(&changed, second));
	assert_int_equal(changed, 0);
	assert_int_equal(r->n, 0);

	h1 = conf_set(env->store, "cfg/a", "1");
	assert_int_equal(r->n, 0); /* not until polled */
	assert_ok(gkv_repo_watch_poll(&changed, second));
	assert_int_equal(changed, 1);
	assert_int_equal(r->n, 1);
	check_event(&r->ev[0], "main", &h0, &h1);
	assert_int_equal(p->n, 1);
	assert_int_equal(p->ev[0].ndiff, 1);
	assert_string_equal(p->ev[0].paths[0], "cfg/a");
	assert_ok(gkv_repo_watch_poll(&changed, second));
	assert_int_equal(changed, 0);
	assert_int_equal(r->n, 1);

	/* a branch made elsewhere, and a move made here: heard once, not twice */
	assert_ok(gkv_branch_create(env->repo, "elsewhere", &h1));
	assert_ok(gkv_repo_watch_poll(&changed, second));
	assert_int_equal(changed, 1);
	assert_int_equal(r->n, 1);
	assert_ok(gkv_store_open_branch(&s2, second, "main"));
	h2 = conf_set(s2, "other", "2");
	assert_int_equal(r->n, 2);
	check_event(&r->ev[1], "main", &h1, &h2);
	assert_ok(gkv_repo_watch_poll(&changed, second));
	assert_int_equal(changed, 0);
	assert_int_equal(r->n, 2);
	assert_int_equal(p->n, 1);
	assert_ok(gkv_repo_watch_poll(NULL, second));

	gkv_store_free(s2);
	gkv_watch_free(w);
	gkv_watch_free(wp);
	gkv_repo_free(second);
	free(r);
	free(p);
}

static void poll_without_changes_is_quiet(void **state)
{
	conf_env *env = *state;
	struct recorder *r = calloc(1, sizeof(*r));
	gkv_watch *w = NULL;
	size_t changed = 99;

	assert_non_null(r);
	conf_set(env->store, "a", "1");
	assert_ok(gkv_watch_branch(&w, env->repo, NULL, on_branch, r));
	conf_set(env->store, "a", "2");
	assert_int_equal(r->n, 1);
	assert_ok(gkv_repo_watch_poll(&changed, env->repo));
	assert_int_equal(changed, 0);
	assert_int_equal(r->n, 1);
	gkv_watch_free(w);
	free(r);
}

static void txn_and_views(void **state)
{
	conf_env *env = *state;
	struct recorder *r = calloc(1, sizeof(*r)), *b = calloc(1, sizeof(*b));
	gkv_watch *w = NULL, *wb = NULL;
	gkv_store *view = NULL;
	gkv_txn *txn = NULL;
	gkv_oid h1, h2;

	assert_non_null(r);
	assert_non_null(b);
	h1 = conf_set(env->store, "cfg/keep", "k");
	assert_ok(gkv_watch_path(&w, env->repo, "main", "cfg", on_path, r));
	assert_ok(gkv_watch_branch(&wb, env->repo, NULL, on_branch, b));
	/* one transaction, one event, every changed path under the prefix */
	assert_ok(gkv_txn_begin(&txn, env->store));
	assert_ok(gkv_txn_set(txn, "cfg/b", "1", 1));
	assert_ok(gkv_txn_set(txn, "cfg/a", "1", 1));
	assert_ok(gkv_txn_set(txn, "elsewhere", "1", 1));
	assert_ok(gkv_txn_remove(txn, "cfg/keep"));
	assert_ok(gkv_txn_commit(&h2, txn, GKV_TXN_FAIL, NULL));
	gkv_txn_free(txn);
	assert_int_equal(r->n, 1);
	check_event(&r->ev[0], "main", &h1, &h2);
	assert_int_equal(r->ev[0].ndiff, 3);
	assert_string_equal(r->ev[0].paths[0], "cfg/a");
	assert_string_equal(r->ev[0].paths[1], "cfg/b");
	assert_string_equal(r->ev[0].paths[2], "cfg/keep");
	assert_int_equal(r->ev[0].ops[2], GKV_DIFF_REMOVED);
	assert_int_equal(b->n, 1);
	/* a commit view moves no branch: no watch hears it */
	assert_ok(gkv_store_open_commit(&view, env->repo, &h1));
	conf_set(view, "cfg/view", "v");
	assert_int_equal(r->n, 1);
	assert_int_equal(b->n, 1);
	gkv_store_free(view);
	/* moving the branch back is a change too, with the reverse diff */
	assert_ok(gkv_branch_cas(env->repo, "main", &h2, &h1));
	assert_int_equal(r->n, 2);
	check_event(&r->ev[1], "main", &h2, &h1);
	assert_int_equal(r->ev[1].ndiff, 3);
	assert_int_equal(r->ev[1].ops[2], GKV_DIFF_ADDED);
	gkv_watch_free(w);
	gkv_watch_free(wb);
	free(r);
	free(b);
}

struct reader {
	gkv_store *store;
	int calls;
	int ok;
};

/* A callback may read the store it watches: it sees the new head. */
static void reading_cb(const char *branch, const gkv_oid *old, const gkv_oid *new_head,
		       void *payload)
{
	struct reader *r = payload;
	gkv_oid head;
	gkv_buf buf = {0};

	(void)branch, (void)old;
	r->calls++;
	if (gkv_store_head(&head, r->store) == 0 && new_head && gkv_oid_equal(&head, new_head) &&
	    gkv_store_get(&buf, r->store, "k") == 0)
		r->ok++;
	gkv_buf_dispose(&buf);
}

static void callbacks_may_read_the_store(void **state)
{
	conf_env *env = *state;
	struct reader r = {0};
	gkv_watch *w = NULL;

	assert_ok(gkv_store_open_branch(&r.store, env->repo, "main"));
	assert_ok(gkv_watch_branch(&w, env->repo, "main", reading_cb, &r));
	alarm(120); /* a deadlock must end the test, not the suite's time budget */
	conf_set(env->store, "k", "1");
	conf_set(env->store, "k", "2");
	alarm(0);
	assert_int_equal(r.calls, 2);
	assert_int_equal(r.ok, 2);
	gkv_watch_free(w);
	gkv_store_free(r.store);
}

static void poll_sees_deletion(void **state)
{
	conf_env *env = *state;
	struct recorder *r = calloc(1, sizeof(*r));
	gkv_repo *second = NULL;
	gkv_watch *w = NULL;
	gkv_oid h1;
	size_t changed = 99;

	if (!conf_persistent()) {
		free(r);
		skip();
	}
	assert_non_null(r);
	h1 = conf_set(env->store, "a", "1");
	assert_ok(gkv_branch_create(env->repo, "doomed", &h1));
	assert_ok(conf_open(&second, env->uri, 0, 0));
	assert_ok(gkv_watch_branch(&w, second, NULL, on_branch, r));
	assert_ok(gkv_branch_delete(env->repo, "doomed"));
	assert_ok(gkv_repo_watch_poll(&changed, second));
	assert_int_equal(changed, 1);
	assert_int_equal(r->n, 1);
	check_event(&r->ev[0], "doomed", &h1, NULL);
	gkv_watch_free(w);
	gkv_repo_free(second);
	free(r);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    CONF_TEST(branch_watch_sees_every_move),
	    CONF_TEST(watch_all_branches),
	    CONF_TEST(path_watch_sees_only_its_prefix),
	    CONF_TEST(path_watch_on_prefix_that_is_a_value),
	    CONF_TEST(poll_sees_other_handles),
	    CONF_TEST(poll_without_changes_is_quiet),
	    CONF_TEST(txn_and_views),
	    CONF_TEST(callbacks_may_read_the_store),
	    CONF_TEST(poll_sees_deletion),
	};

	return CONF_MAIN(argc, argv, tests);
}
