/*
 * test_store.c -- unit tests of store/store.c, the branch (or commit)
 * view and its one-commit-per-write writes.
 *
 * What is held: a write that finds the head moved re-applies itself on
 * the new head and loses nothing (the move is made on cue, between the
 * write's read and its commit, by a forwarding backend's hook; then by
 * another handle between two writes; then by threads); a write that
 * changes nothing commits nothing; the default commit message names the
 * operation and path; the author comes from gkv_info, else from the
 * repo's default; writes on a commit view move only the view; a
 * read-only repo refuses every write with GKV_E_READONLY and leaves the
 * heads alone; test_and_set's conditions.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "repo.h"
#include "unit_util.h"

/* ------------------------------------------------------------ helpers */

static void assert_get(gkv_store *s, const char *path, const char *value)
{
	gkv_buf b;

	assert_ok(gkv_store_get(&b, s, path));
	assert_buf_str(b, value);
	gkv_buf_dispose(&b);
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

static gkv_commit *lookup(gkv_repo *repo, const gkv_oid *id)
{
	gkv_commit *c;

	assert_ok(gkv_commit_lookup(&c, repo, id));
	return c;
}

/* Number of commits reachable from id. */
static size_t history_length(gkv_repo *repo, const gkv_oid *id)
{
	gkv_revwalk *w;
	gkv_oid c;
	size_t n = 0;
	int rc;

	assert_ok(gkv_revwalk_new(&w, repo));
	assert_ok(gkv_revwalk_push(w, id));
	while ((rc = gkv_revwalk_next(&c, w)) == 0)
		n++;
	assert_int_equal(GKV_ITEROVER, rc);
	gkv_revwalk_free(w);
	return n;
}

/* ------------------------------------------------- concurrent writers */

typedef struct {
	gkv_store *other;
	const char *path;
	const char *value;
	int rc;
} hook_arg;

/* Another writer sets its path, between the first writer's read and commit. */
static void other_writer(uu_counting *c, void *payload)
{
	hook_arg *h = payload;

	(void)c;
	h->rc = gkv_store_set(NULL, h->other, h->path, h->value, strlen(h->value), NULL);
}

static void test_retry_on_moved_head(void **state)
{
	uu_counting *counter;
	gkv_repo *repo = uu_open_counting(&counter, NULL);
	gkv_store *a, *b;
	hook_arg h;
	gkv_oid base, head, got;
	gkv_commit *c;

	(void)state;
	assert_ok(gkv_store_open_branch(&a, repo, "main"));
	assert_ok(gkv_store_open_branch(&b, repo, "main"));
	set(a, "base", "0");
	base = head_of(a);
	h = (hook_arg){b, "theirs", "t", -99};
	counter->hook = other_writer;
	counter->hook_payload = &h;
	counter->commits = 0;
	assert_ok(gkv_store_set(&got, a, "ours", "o", 1, NULL));
	assert_ok(h.rc);
	/* Three batch commits: ours (lost the CAS), theirs, ours again. */
	assert_int_equal(3, counter->commits);
	head = head_of(a);
	assert_oid_equal(&got, &head);
	assert_get(a, "base", "0");
	assert_get(a, "theirs", "t");
	assert_get(a, "ours", "o");
	/* Ours sits on theirs, which sits on base: a line, nothing lost. */
	c = lookup(repo, &head);
	assert_int_equal(1, gkv_commit_parentcount(c));
	gkv_commit *p = lookup(repo, gkv_commit_parent_id(c, 0));

	assert_int_equal(1, gkv_commit_parentcount(p));
	assert_oid_equal(gkv_commit_parent_id(p, 0), &base);
	gkv_commit_free(p);
	gkv_commit_free(c);
	assert_int_equal(3, history_length(repo, &head));
	gkv_store_free(a);
	gkv_store_free(b);
	gkv_repo_free(repo);
}

/* remove, set_tree and test_and_set are retried the same way. */
static void test_retry_every_write(void **state)
{
	uu_counting *counter;
	gkv_repo *repo = uu_open_counting(&counter, NULL);
	gkv_store *a, *b;
	gkv_tree *e, *sub;
	hook_arg h;
	gkv_buf want = {(unsigned char *)"1", 1}, now = {(unsigned char *)"2", 1};

	(void)state;
	assert_ok(gkv_store_open_branch(&a, repo, "main"));
	assert_ok(gkv_store_open_branch(&b, repo, "main"));
	set(a, "gone", "x");
	set(a, "tas", "1");

	h = (hook_arg){b, "t1", "1", -99};
	counter->hook = other_writer;
	counter->hook_payload = &h;
	assert_ok(gkv_store_remove(NULL, a, "gone", NULL));
	assert_ok(h.rc);
	assert_get(a, "t1", "1");

	assert_ok(gkv_tree_empty(&e, repo));
	assert_ok(gkv_tree_set(&sub, e, "x", "y", 1));
	h = (hook_arg){b, "t2", "2", -99};
	counter->hook = other_writer;
	assert_ok(gkv_store_set_tree(NULL, a, "dir", sub, NULL));
	assert_ok(h.rc);
	assert_get(a, "t2", "2");
	assert_get(a, "dir/x", "y");

	h = (hook_arg){b, "t3", "3", -99};
	counter->hook = other_writer;
	assert_ok(gkv_store_test_and_set(NULL, a, "tas", &want, &now, NULL));
	assert_ok(h.rc);
	assert_get(a, "t3", "3");
	assert_get(a, "tas", "2");
	assert_get(a, "t1", "1");
	int found;
	gkv_buf v;

	assert_ok(gkv_store_find(&v, &found, a, "gone"));
	assert_int_equal(0, found);

	/* The other writer changes the very value tested: the retry sees it and refuses. */
	gkv_oid before;

	h = (hook_arg){b, "tas", "theirs", -99};
	counter->hook = other_writer;
	assert_rc(GKV_E_CONFLICT, gkv_store_test_and_set(NULL, a, "tas", &now, &want, NULL));
	assert_ok(h.rc);
	before = head_of(b);
	assert_get(a, "tas", "theirs");
	gkv_oid after = head_of(a);

	assert_oid_equal(&before, &after);
	gkv_tree_free(sub);
	gkv_tree_free(e);
	gkv_store_free(a);
	gkv_store_free(b);
	gkv_repo_free(repo);
}

/* Another handle on the same LMDB store moves main with a CAS between two writes. */
static void test_head_moved_by_another_handle(void **state)
{
	char *dir = uu_tmpdir("store-handles");
	gkv_repo *r1 = uu_open_lmdb(dir, 0), *r2 = uu_open_lmdb(dir, 0);
	gkv_store *a, *b;
	gkv_tree *t, *t2;
	gkv_oid h, tid, c;
	gkv_signature *sig = uu_sig("other", 1700000000);

	(void)state;
	assert_ok(gkv_store_open_branch(&a, r1, "main"));
	assert_ok(gkv_store_open_branch(&b, r2, "main"));
	set(a, "x", "1");
	/* Make a's cached head tree warm. */
	assert_get(a, "x", "1");
	set(b, "y", "2");
	/* r2 builds a commit by hand on the new head and moves main by CAS. */
	h = head_of(b);
	assert_ok(gkv_store_tree(&t, b));
	assert_ok(gkv_tree_set(&t2, t, "z", "3", 1));
	assert_ok(gkv_tree_write(&tid, t2));
	assert_ok(gkv_commit_create(&c, r2, &tid, &h, 1, sig, sig, "by hand\n"));
	assert_ok(gkv_branch_cas(r2, "main", &h, &c));
	set(a, "w", "4");
	assert_get(a, "x", "1");
	assert_get(a, "y", "2");
	assert_get(a, "z", "3");
	assert_get(a, "w", "4");
	assert_get(b, "w", "4");
	h = head_of(a);
	assert_int_equal(4, history_length(r1, &h));
	gkv_signature_free(sig);
	gkv_tree_free(t);
	gkv_tree_free(t2);
	gkv_store_free(a);
	gkv_store_free(b);
	gkv_repo_free(r2);
	gkv_repo_free(r1);
	uu_tmpdir_remove(dir);
}

typedef struct {
	gkv_repo *repo;
	int id;
	int errors;
} writer_arg;

static void *writer(void *p)
{
	writer_arg *w = p;
	gkv_store *s;
	char path[64], value[64];

	if (gkv_store_open_branch(&s, w->repo, "main") < 0) {
		w->errors++;
		return NULL;
	}
	for (int i = 0; i < 50; i++) {
		snprintf(path, sizeof(path), "w%d/k%d", w->id, i);
		snprintf(value, sizeof(value), "%d-%d", w->id, i);
		if (gkv_store_set(NULL, s, path, value, strlen(value), NULL) < 0)
			w->errors++;
	}
	gkv_store_free(s);
	return NULL;
}

static void test_threads_lose_nothing(void **state)
{
	gkv_repo *repo = uu_open_mem();
	pthread_t th[4];
	writer_arg args[4];
	gkv_store *s;
	gkv_oid h;

	(void)state;
	for (int i = 0; i < 4; i++) {
		args[i] = (writer_arg){repo, i, 0};
		assert_int_equal(0, pthread_create(&th[i], NULL, writer, &args[i]));
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(0, args[i].errors);
	}
	assert_ok(gkv_store_open_branch(&s, repo, "main"));
	for (int t = 0; t < 4; t++) {
		for (int i = 0; i < 50; i++) {
			char path[64], value[64];

			snprintf(path, sizeof(path), "w%d/k%d", t, i);
			snprintf(value, sizeof(value), "%d-%d", t, i);
			assert_get(s, path, value);
		}
	}
	h = head_of(s);
	assert_int_equal(200, history_length(repo, &h));
	gkv_store_free(s);
	gkv_repo_free(repo);
}

/* ------------------------------------------------- no change, no commit */

static void test_no_change_no_commit(void **state)
{
	gkv_repo *repo = uu_open_mem();
	gkv_store *s;
	gkv_oid h, out;
	gkv_tree *t, *sub;
	gkv_buf one = {(unsigned char *)"1", 1};

	(void)state;
	assert_ok(gkv_store_open_branch(&s, repo, "main"));
	set(s, "a/b", "1");
	h = head_of(s);
	memset(&out, 0xee, sizeof(out));
	assert_ok(gkv_store_set(&out, s, "a/b", "1", 1, NULL));
	assert_oid_equal(&out, &h);
	assert_ok(gkv_store_get_tree(&sub, s, "a"));
	assert_ok(gkv_store_set_tree(&out, s, "a", sub, NULL));
	assert_oid_equal(&out, &h);
	assert_ok(gkv_store_tree(&t, s));
	assert_ok(gkv_store_set_tree(&out, s, "", t, NULL));
	assert_oid_equal(&out, &h);
	assert_ok(gkv_store_test_and_set(&out, s, "a/b", &one, &one, NULL));
	assert_oid_equal(&out, &h);
	assert_rc(GKV_E_NOTFOUND, gkv_store_remove(&out, s, "nope", NULL));
	assert_rc(GKV_E_NOTFOUND, gkv_store_remove(&out, s, "a/b/c", NULL));
	out = head_of(s);
	assert_oid_equal(&out, &h);
	assert_int_equal(1, history_length(repo, &h));
	/* Removing a directory is a change. */
	assert_ok(gkv_store_remove(&out, s, "a", NULL));
	assert_oid_not_equal(&out, &h);
	gkv_tree_free(t);
	gkv_tree_free(sub);
	gkv_store_free(s);
	gkv_repo_free(repo);
}

/* ------------------------------------------------ messages and authors */

static void assert_message(gkv_repo *repo, const gkv_oid *id, const char *msg)
{
	gkv_commit *c = lookup(repo, id);

	assert_string_equal(msg, gkv_commit_message(c));
	gkv_commit_free(c);
}

static void test_default_messages(void **state)
{
	gkv_repo *repo = uu_open_mem();
	gkv_store *s;
	gkv_oid h;
	gkv_tree *e, *t;
	gkv_buf v = {(unsigned char *)"v", 1};

	(void)state;
	assert_ok(gkv_store_open_branch(&s, repo, "main"));
	assert_ok(gkv_store_set(&h, s, "a/b", "1", 1, NULL));
	assert_message(repo, &h, "set a/b\n");
	assert_ok(gkv_store_remove(&h, s, "a/b", NULL));
	assert_message(repo, &h, "remove a/b\n");
	assert_ok(gkv_tree_empty(&e, repo));
	assert_ok(gkv_tree_set(&t, e, "x", "1", 1));
	assert_ok(gkv_store_set_tree(&h, s, "", t, NULL));
	assert_message(repo, &h, "set_tree /\n");
	assert_ok(gkv_store_set_tree(&h, s, "sub/dir", t, NULL));
	assert_message(repo, &h, "set_tree sub/dir\n");
	assert_ok(gkv_store_test_and_set(&h, s, "k", NULL, &v, NULL));
	assert_message(repo, &h, "test_and_set k\n");
	gkv_tree_free(t);
	gkv_tree_free(e);
	gkv_store_free(s);
	gkv_repo_free(repo);
}

static void test_authors(void **state)
{
	gkv_options *opts;
	gkv_repo *repo;
	gkv_store *s;
	gkv_info *info;
	gkv_signature *author = uu_sig("alice", 1111111111), *committer = uu_sig("bob", 1222222222);
	gkv_commit *c;
	gkv_oid h;
	int64_t now = (int64_t)time(NULL);

	(void)state;
	assert_ok(gkv_options_new(&opts));
	assert_ok(gkv_options_set_author(opts, "Repo Default", "repo@example.org"));
	assert_ok(gkv_repo_open(&repo, "mem:", opts));
	gkv_options_free(opts);
	assert_ok(gkv_store_open_branch(&s, repo, "main"));

	/* NULL info: the repo's default, dated now, for both. */
	assert_ok(gkv_store_set(&h, s, "a", "1", 1, NULL));
	c = lookup(repo, &h);
	assert_string_equal("Repo Default", gkv_signature_name(gkv_commit_author(c)));
	assert_string_equal("repo@example.org", gkv_signature_email(gkv_commit_author(c)));
	assert_string_equal("Repo Default", gkv_signature_name(gkv_commit_committer(c)));
	assert_true(gkv_signature_time(gkv_commit_author(c)) >= now - 5);
	assert_true(gkv_signature_time(gkv_commit_author(c)) <= now + 60);
	gkv_commit_free(c);

	/* An info with a message only: the message as given (no newline added), the default author. */
	assert_ok(gkv_info_new(&info, "just this"));
	assert_ok(gkv_store_set(&h, s, "a", "2", 1, info));
	c = lookup(repo, &h);
	assert_string_equal("just this", gkv_commit_message(c));
	assert_string_equal("Repo Default", gkv_signature_name(gkv_commit_author(c)));
	gkv_commit_free(c);

	/* Author and committer from the info. */
	assert_ok(gkv_info_set_author(info, author));
	assert_ok(gkv_info_set_committer(info, committer));
	gkv_signature_free(author); /* copied by the info */
	assert_ok(gkv_store_set(&h, s, "a", "3", 1, info));
	c = lookup(repo, &h);
	assert_string_equal("alice", gkv_signature_name(gkv_commit_author(c)));
	assert_int_equal(1111111111, gkv_signature_time(gkv_commit_author(c)));
	assert_string_equal("bob", gkv_signature_name(gkv_commit_committer(c)));
	assert_string_equal("bob@example.org", gkv_signature_email(gkv_commit_committer(c)));
	assert_int_equal(1222222222, gkv_signature_time(gkv_commit_committer(c)));
	gkv_commit_free(c);
	assert_rc(GKV_E_INVALID, gkv_info_set_author(info, NULL));
	gkv_info_free(info);
	assert_rc(GKV_E_INVALID, gkv_info_new(&info, NULL));
	gkv_signature_free(committer);
	gkv_store_free(s);
	gkv_repo_free(repo);
}

/* ---------------------------------------------------------- commit views */

static int watch_calls;

static void count_watch(const char *branch, const gkv_oid *old, const gkv_oid *new_head, void *p)
{
	(void)branch;
	(void)old;
	(void)new_head;
	(void)p;
	watch_calls++;
}

static void test_commit_view_moves_only_itself(void **state)
{
	gkv_repo *repo = uu_open_mem();
	gkv_store *s, *v;
	gkv_oid c1, c2, v1, v2, h;
	gkv_strarray before, after;
	gkv_watch *w;
	gkv_commit *c;
	gkv_tree *t;

	(void)state;
	assert_ok(gkv_store_open_branch(&s, repo, "main"));
	assert_ok(gkv_store_set(&c1, s, "k", "1", 1, NULL));
	assert_ok(gkv_store_set(&c2, s, "k", "2", 1, NULL));
	assert_ok(gkv_store_open_commit(&v, repo, &c1));
	assert_null(gkv_store_branch(v));
	assert_string_equal("main", gkv_store_branch(s));
	assert_get(v, "k", "1");
	assert_ok(gkv_branch_list(&before, repo));
	assert_ok(gkv_watch_branch(&w, repo, NULL, count_watch, NULL));
	watch_calls = 0;

	assert_ok(gkv_store_set(&v1, v, "k", "view", 4, NULL));
	h = head_of(v);
	assert_oid_equal(&h, &v1);
	c = lookup(repo, &v1);
	assert_oid_equal(gkv_commit_parent_id(c, 0), &c1);
	gkv_commit_free(c);
	assert_ok(gkv_store_remove(&v2, v, "k", NULL));
	c = lookup(repo, &v2);
	assert_oid_equal(gkv_commit_parent_id(c, 0), &v1);
	gkv_commit_free(c);
	assert_ok(gkv_store_tree(&t, v));
	assert_true(gkv_tree_is_empty(t));
	gkv_tree_free(t);

	/* No branch moved, none appeared, no watch fired. */
	assert_int_equal(0, watch_calls);
	assert_ok(gkv_branch_head(&h, repo, "main"));
	assert_oid_equal(&h, &c2);
	assert_ok(gkv_branch_list(&after, repo));
	assert_int_equal(before.count, after.count);
	assert_get(s, "k", "2");
	gkv_strarray_dispose(&before);
	gkv_strarray_dispose(&after);
	gkv_watch_free(w);

	/* Only commits open as views. */
	assert_ok(gkv_store_tree(&t, s));
	assert_ok(gkv_tree_id(&h, t));
	gkv_tree_free(t);
	gkv_store *bad;

	assert_rc(GKV_E_INVALID, gkv_store_open_commit(&bad, repo, &h));
	h = uu_oid("2222222222222222222222222222222222222222");
	assert_rc(GKV_E_NOTFOUND, gkv_store_open_commit(&bad, repo, &h));
	gkv_store_free(v);
	gkv_store_free(s);
	gkv_repo_free(repo);
}

/* --------------------------------------------------------------- read-only */

static void test_readonly_refuses_writes(void **state)
{
	char *dir = uu_tmpdir("store-ro");
	gkv_repo *rw = uu_open_lmdb(dir, 0), *ro;
	gkv_store *s;
	gkv_oid h, h2, out, tid;
	gkv_tree *t, *e;
	gkv_txn *txn;
	gkv_buf one = {(unsigned char *)"1", 1}, two = {(unsigned char *)"2", 1};
	gkv_signature *sig = uu_sig("ro", 1);

	(void)state;
	assert_ok(gkv_store_open_branch(&s, rw, "main"));
	assert_ok(gkv_store_set(&h, s, "k", "1", 1, NULL));
	assert_ok(gkv_branch_create(rw, "other", &h));
	gkv_store_free(s);
	gkv_repo_free(rw);

	ro = uu_open_lmdb(dir, 1);
	assert_ok(gkv_store_open_branch(&s, ro, "main"));
	assert_get(s, "k", "1");
	assert_rc(GKV_E_READONLY, gkv_store_set(&out, s, "k", "2", 1, NULL));
	assert_rc(GKV_E_READONLY, gkv_store_set(&out, s, "new", "2", 1, NULL));
	assert_rc(GKV_E_READONLY, gkv_store_remove(&out, s, "k", NULL));
	assert_ok(gkv_tree_empty(&e, ro));
	assert_ok(gkv_tree_set(&t, e, "x", "1", 1));
	assert_rc(GKV_E_READONLY, gkv_store_set_tree(&out, s, "d", t, NULL));
	assert_rc(GKV_E_READONLY, gkv_store_test_and_set(&out, s, "k", &one, &two, NULL));
	assert_ok(gkv_txn_begin(&txn, s));
	assert_ok(gkv_txn_set(txn, "t", "1", 1));
	assert_rc(GKV_E_READONLY, gkv_txn_commit(&out, txn, GKV_TXN_FAIL, NULL));
	gkv_txn_free(txn);
	assert_rc(GKV_E_READONLY, gkv_tree_write(&tid, t));
	assert_ok(gkv_tree_id(&tid, t));
	assert_rc(GKV_E_READONLY, gkv_branch_create(ro, "made", &h));
	assert_rc(GKV_E_READONLY, gkv_branch_delete(ro, "other"));
	assert_rc(GKV_E_READONLY, gkv_branch_cas(ro, "other", &h, NULL));
	assert_rc(GKV_E_READONLY, gkv_commit_create(&out, ro, &tid, &h, 1, sig, sig, "m"));
	/* A fast-forward that would move nothing is not a write; one that would, is. */
	assert_rc(GKV_E_READONLY, gkv_branch_fast_forward(ro, "fresh", &h));

	/* Nothing moved, nothing appeared. */
	assert_ok(gkv_branch_head(&h2, ro, "main"));
	assert_oid_equal(&h, &h2);
	assert_ok(gkv_branch_head(&h2, ro, "other"));
	assert_oid_equal(&h, &h2);
	assert_rc(GKV_E_NOTFOUND, gkv_branch_head(&h2, ro, "made"));
	assert_rc(GKV_E_NOTFOUND, gkv_branch_head(&h2, ro, "fresh"));
	int exists = -1;

	assert_ok(gkv_repo_object_exists(&exists, ro, &tid));
	assert_int_equal(0, exists);
	assert_int_equal(1, history_length(ro, &h));

	/* A commit view over a read-only repo refuses too. */
	gkv_store *v;

	assert_ok(gkv_store_open_commit(&v, ro, &h));
	assert_rc(GKV_E_READONLY, gkv_store_set(&out, v, "k", "3", 1, NULL));
	h2 = head_of(v);
	assert_oid_equal(&h, &h2);
	gkv_store_free(v);

	gkv_signature_free(sig);
	gkv_tree_free(t);
	gkv_tree_free(e);
	gkv_store_free(s);
	gkv_repo_free(ro);
	uu_tmpdir_remove(dir);
}

/* Read-only is a property of the repo, not of LMDB: mem honours it too. */
static void test_readonly_mem(void **state)
{
	gkv_options *opts;
	gkv_repo *repo;
	gkv_store *s;
	gkv_oid out;

	(void)state;
	assert_ok(gkv_options_new(&opts));
	assert_ok(gkv_options_set_readonly(opts, 1));
	assert_ok(gkv_repo_open(&repo, "mem:", opts));
	gkv_options_free(opts);
	assert_ok(gkv_store_open_branch(&s, repo, "main"));
	assert_rc(GKV_E_READONLY, gkv_store_set(&out, s, "k", "1", 1, NULL));
	assert_rc(GKV_E_NOTFOUND, gkv_store_head(&out, s));
	gkv_store_free(s);
	gkv_repo_free(repo);
}

/* ------------------------------------------------------- test_and_set */

static void test_test_and_set(void **state)
{
	gkv_repo *repo = uu_open_mem();
	gkv_store *s;
	gkv_buf one = {(unsigned char *)"1", 1}, two = {(unsigned char *)"2", 1};
	gkv_buf empty = {NULL, 0};
	gkv_oid h, out;
	int found;
	gkv_buf v;

	(void)state;
	assert_ok(gkv_store_open_branch(&s, repo, "main"));
	/* Absent expected absent: set. */
	assert_ok(gkv_store_test_and_set(NULL, s, "k", NULL, &one, NULL));
	assert_get(s, "k", "1");
	h = head_of(s);
	/* Expected absent but present: conflict, no commit. */
	assert_rc(GKV_E_CONFLICT, gkv_store_test_and_set(&out, s, "k", NULL, &two, NULL));
	assert_rc(GKV_E_CONFLICT, gkv_store_test_and_set(&out, s, "k", &two, &one, NULL));
	assert_rc(GKV_E_CONFLICT, gkv_store_test_and_set(&out, s, "k", &empty, &one, NULL));
	out = head_of(s);
	assert_oid_equal(&out, &h);
	/* A directory is not "absent". */
	set(s, "d/x", "1");
	assert_rc(GKV_E_CONFLICT, gkv_store_test_and_set(&out, s, "d", NULL, &one, NULL));
	/* Expected value present: swap; NULL new value: remove. */
	assert_ok(gkv_store_test_and_set(NULL, s, "k", &one, &two, NULL));
	assert_get(s, "k", "2");
	assert_ok(gkv_store_test_and_set(NULL, s, "k", &two, NULL, NULL));
	assert_ok(gkv_store_find(&v, &found, s, "k"));
	assert_int_equal(0, found);
	/* The empty value is a value. */
	assert_ok(gkv_store_test_and_set(NULL, s, "e", NULL, &empty, NULL));
	assert_ok(gkv_store_find(&v, &found, s, "e"));
	assert_int_equal(1, found);
	assert_int_equal(0, v.size);
	gkv_buf_dispose(&v);
	assert_ok(gkv_store_test_and_set(NULL, s, "e", &empty, &one, NULL));
	assert_get(s, "e", "1");
	assert_rc(GKV_E_INVALID, gkv_store_test_and_set(NULL, s, "", NULL, &one, NULL));
	gkv_store_free(s);
	gkv_repo_free(repo);
}

/* ------------------------------------------------------------ reading */

static void test_reads_of_an_unborn_branch(void **state)
{
	gkv_repo *repo = uu_open_mem(), *other = uu_open_mem();
	gkv_store *s;
	gkv_tree *t, *foreign;
	gkv_list *l;
	gkv_kind k;
	gkv_buf v;
	gkv_oid h;
	int found, mem;

	(void)state;
	assert_ok(gkv_store_open_branch(&s, repo, "fresh"));
	assert_rc(GKV_E_NOTFOUND, gkv_store_head(&h, s));
	assert_ok(gkv_store_tree(&t, s));
	assert_true(gkv_tree_is_empty(t));
	gkv_tree_free(t);
	assert_ok(gkv_store_find(&v, &found, s, "k"));
	assert_int_equal(0, found);
	assert_rc(GKV_E_NOTFOUND, gkv_store_get(&v, s, "k"));
	assert_ok(gkv_store_mem(&mem, s, "k"));
	assert_int_equal(0, mem);
	assert_ok(gkv_store_kind(&k, s, ""));
	assert_int_equal(GKV_KIND_DIR, k);
	assert_ok(gkv_store_list(&l, s, ""));
	assert_int_equal(0, gkv_list_count(l));
	gkv_list_free(l);
	/* The first write creates the branch, with a root commit. */
	assert_ok(gkv_store_set(&h, s, "d/k", "1", 1, NULL));
	gkv_commit *c = lookup(repo, &h);

	assert_int_equal(0, gkv_commit_parentcount(c));
	gkv_commit_free(c);
	assert_ok(gkv_store_mem(&mem, s, "d/k"));
	assert_int_equal(1, mem);
	assert_ok(gkv_store_mem(&mem, s, "d"));
	assert_int_equal(0, mem);
	assert_ok(gkv_store_get_tree(&t, s, "d"));
	assert_get(s, "d/k", "1");
	gkv_tree_free(t);
	assert_rc(GKV_E_NOTFOUND, gkv_store_get_tree(&t, s, "d/k"));
	/* Bad input. */
	assert_rc(GKV_E_INVALID, gkv_store_get(&v, s, "d//k"));
	assert_rc(GKV_E_INVALID, gkv_store_set(NULL, s, "", "1", 1, NULL));
	assert_rc(GKV_E_INVALID, gkv_store_set(NULL, s, "x", NULL, 1, NULL));
	gkv_store *bad;

	assert_rc(GKV_E_INVALID, gkv_store_open_branch(&bad, repo, "bad..name"));
	assert_ok(gkv_tree_empty(&t, other));
	assert_ok(gkv_tree_set(&foreign, t, "f", "1", 1));
	assert_rc(GKV_E_INVALID, gkv_store_set_tree(NULL, s, "x", foreign, NULL));
	gkv_tree_free(foreign);
	gkv_tree_free(t);
	gkv_store_free(s);
	gkv_repo_free(other);
	gkv_repo_free(repo);
}

/*
 * A commit's trees are written once: after a bulk transaction, a write of
 * one value writes its blob, the trees on its path and the commit, not
 * the thousands of trees and values the store view still holds in memory.
 */
static void test_committed_trees_are_not_written_again(void **state)
{
	uu_counting *counter;
	gkv_repo *repo = uu_open_counting(&counter, NULL);
	gkv_store *s;
	gkv_txn *txn;
	char path[64];
	size_t before;

	(void)state;
	assert_ok(gkv_store_open_branch(&s, repo, "main"));
	assert_ok(gkv_txn_begin(&txn, s));
	for (int i = 0; i < 2000; i++) {
		snprintf(path, sizeof(path), "d%02x/d%02x/k%d", i % 64, (i / 64) % 64, i);
		assert_ok(gkv_txn_set(txn, path, path, strlen(path)));
	}
	assert_ok(gkv_txn_commit(NULL, txn, GKV_TXN_FAIL, NULL));
	gkv_txn_free(txn);
	before = atomic_load(&counter->writes);
	assert_true(before > 2000);
	assert_ok(gkv_store_set(NULL, s, "d01/d00/k1", "new", 3, NULL));
	/* blob, d01/d00, d01, root, commit */
	assert_int_equal(atomic_load(&counter->writes) - before, 5);
	before = atomic_load(&counter->writes);
	assert_ok(gkv_store_set(NULL, s, "d02/d00/k2", "new", 3, NULL));
	assert_int_equal(atomic_load(&counter->writes) - before, 5);
	gkv_store_free(s);
	gkv_repo_free(repo);
}

/*
 * A view skips re-reading its head while the backend's refs_version
 * stays; a write through another handle, or another process, moves it,
 * and the next read sees the new head.
 */
static void test_reads_see_writes_of_other_handles(void **state)
{
	char *dir = uu_tmpdir("seen");
	gkv_repo *a = uu_open_lmdb(dir, 0), *b = uu_open_lmdb(dir, 0);
	gkv_store *sa, *sb;
	gkv_buf v;
	pid_t pid;
	int st;

	(void)state;
	assert_ok(gkv_store_open_branch(&sa, a, "main"));
	assert_ok(gkv_store_open_branch(&sb, b, "main"));
	assert_ok(gkv_store_set(NULL, sa, "k", "1", 1, NULL));
	for (int i = 0; i < 3; i++) {
		assert_ok(gkv_store_get(&v, sa, "k"));
		assert_buf_str(v, "1");
		gkv_buf_dispose(&v);
	}
	assert_ok(gkv_store_set(NULL, sb, "k", "2", 1, NULL));
	assert_ok(gkv_store_get(&v, sa, "k"));
	assert_buf_str(v, "2");
	gkv_buf_dispose(&v);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		gkv_repo *c = uu_open_lmdb(dir, 0);
		gkv_store *sc;
		int rc = gkv_store_open_branch(&sc, c, "main");

		if (rc == 0)
			rc = gkv_store_set(NULL, sc, "k", "3", 1, NULL);
		gkv_store_free(sc);
		gkv_repo_free(c);
		_exit(rc ? 1 : 0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_ok(gkv_store_get(&v, sa, "k"));
	assert_buf_str(v, "3");
	gkv_buf_dispose(&v);
	gkv_store_free(sa);
	gkv_store_free(sb);
	gkv_repo_free(a);
	gkv_repo_free(b);
	uu_tmpdir_remove(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_retry_on_moved_head),
	    cmocka_unit_test(test_retry_every_write),
	    cmocka_unit_test(test_head_moved_by_another_handle),
	    cmocka_unit_test(test_threads_lose_nothing),
	    cmocka_unit_test(test_no_change_no_commit),
	    cmocka_unit_test(test_default_messages),
	    cmocka_unit_test(test_authors),
	    cmocka_unit_test(test_commit_view_moves_only_itself),
	    cmocka_unit_test(test_readonly_refuses_writes),
	    cmocka_unit_test(test_readonly_mem),
	    cmocka_unit_test(test_test_and_set),
	    cmocka_unit_test(test_reads_of_an_unborn_branch),
	    cmocka_unit_test(test_committed_trees_are_not_written_again),
	    cmocka_unit_test(test_reads_see_writes_of_other_handles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
