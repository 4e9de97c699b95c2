/*
 * test_maint.c -- checking and reclaiming a store on every backend:
 * gkv_tree_walk, gkv_repo_fsck on a clean store and on damaged ones
 * (damage made through the seam, as a buggy writer or a bad disk would
 * leave it), gkv_repo_gc and the statistics.
 */
#define _GNU_SOURCE
#include "conformance.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "gitkv/sys/backend.h"

/* ------------------------------------------------------------ tree walk */

typedef struct {
	char seen[64][64];
	gkv_kind kinds[64];
	gkv_oid ids[64];
	size_t n;
	const char *skip; /* return GKV_WALK_SKIP for this path */
	size_t stop_after; /* return 42 after this many calls (0: never) */
} walk_log;

static int log_entry(const char *path, gkv_kind kind, const gkv_oid *id, void *payload)
{
	walk_log *w = payload;

	assert_true(w->n < 64);
	snprintf(w->seen[w->n], sizeof(w->seen[0]), "%s", path);
	w->kinds[w->n] = kind;
	w->ids[w->n] = *id;
	w->n++;
	if (w->stop_after && w->n == w->stop_after)
		return 42;
	return w->skip && !strcmp(path, w->skip) ? GKV_WALK_SKIP : 0;
}

static void assert_walk(walk_log *w, const char *const *want, size_t n)
{
	assert_int_equal(w->n, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(w->seen[i], want[i]);
}

static void test_tree_walk(void **state)
{
	conf_env *env = *state;
	static const char *const files[] = {"a.txt", "a/x", "a/y/z", "a0", "b"};
	static const char *const with_dirs[] = {"a.txt", "a", "a/x", "a/y", "a/y/z", "a0", "b"};
	static const char *const skipped[] = {"a.txt", "a", "a0", "b"};
	static const char *const under_a[] = {"a/x", "a/y/z"};
	walk_log w;
	gkv_tree *t;
	gkv_oid id;
	gkv_kind k;

	for (size_t i = 0; i < 5; i++)
		conf_set(env->store, files[i], files[i]);
	assert_ok(gkv_store_tree(&t, env->store));

	memset(&w, 0, sizeof(w));
	assert_ok(gkv_tree_walk(t, "", 0, log_entry, &w));
	assert_walk(&w, files, 5);
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(w.kinds[i], GKV_KIND_VALUE);
		assert_ok(gkv_tree_entry(&id, &k, NULL, t, files[i]));
		assert_oid_eq(&w.ids[i], &id);
	}

	memset(&w, 0, sizeof(w));
	assert_ok(gkv_tree_walk(t, "", 1, log_entry, &w));
	assert_walk(&w, with_dirs, 7);
	assert_int_equal(w.kinds[1], GKV_KIND_DIR);
	assert_ok(gkv_tree_entry(&id, &k, NULL, t, "a/y"));
	assert_oid_eq(&w.ids[3], &id);

	memset(&w, 0, sizeof(w));
	w.skip = "a";
	assert_ok(gkv_tree_walk(t, "", 1, log_entry, &w));
	assert_walk(&w, skipped, 4);

	memset(&w, 0, sizeof(w));
	assert_ok(gkv_tree_walk(t, "a", 0, log_entry, &w));
	assert_walk(&w, under_a, 2);

	memset(&w, 0, sizeof(w));
	assert_ok(gkv_tree_walk(t, "a/x", 1, log_entry, &w));
	assert_int_equal(w.n, 1);
	assert_string_equal(w.seen[0], "a/x");

	memset(&w, 0, sizeof(w));
	assert_ok(gkv_tree_walk(t, "nothing/here", 1, log_entry, &w));
	assert_ok(gkv_tree_walk(t, "a.txt/below", 1, log_entry, &w));
	assert_int_equal(w.n, 0);

	memset(&w, 0, sizeof(w));
	w.stop_after = 2;
	assert_rc(42, gkv_tree_walk(t, "", 0, log_entry, &w));
	assert_int_equal(w.n, 2);

	assert_rc(GKV_E_INVALID, gkv_tree_walk(t, "a//b", 0, log_entry, &w));
	assert_rc(GKV_E_INVALID, gkv_tree_walk(t, "", 0, NULL, &w));
	assert_rc(GKV_E_INVALID, gkv_tree_walk(NULL, "", 0, log_entry, &w));
	assert_rc(GKV_E_INVALID, gkv_tree_walk(t, NULL, 0, log_entry, &w));
	gkv_tree_free(t);
}

/* A tree changed in memory (not yet written) walks with its ids computed. */
static void test_tree_walk_unwritten(void **state)
{
	conf_env *env = *state;
	gkv_tree *empty, *t;
	walk_log w;
	gkv_oid blob;

	assert_ok(gkv_tree_empty(&empty, env->repo));
	assert_ok(gkv_tree_set(&t, empty, "d/v", "v", 1));
	assert_ok(gkv_hash(&blob, GKV_OBJ_BLOB, "v", 1));
	memset(&w, 0, sizeof(w));
	assert_ok(gkv_tree_walk(t, "", 0, log_entry, &w));
	assert_int_equal(w.n, 1);
	assert_string_equal(w.seen[0], "d/v");
	assert_oid_eq(&w.ids[0], &blob);
	gkv_tree_free(t);
	gkv_tree_free(empty);
}

/* ------------------------------------------------------------------ fsck */

typedef struct {
	size_t n;
	char text[8][512];
	gkv_oid ids[8];
	char refs[8][128];
	int stop;
} problems_log;

static int log_problem(const gkv_oid *id, const char *ref, const char *problem, void *payload)
{
	problems_log *p = payload;

	if (p->n < 8) {
		snprintf(p->text[p->n], sizeof(p->text[0]), "%s", problem);
		if (id)
			p->ids[p->n] = *id;
		snprintf(p->refs[p->n], sizeof(p->refs[0]), "%s", ref ? ref : "");
	}
	p->n++;
	return p->stop;
}

typedef struct {
	uint64_t calls, last_done, last_total;
	int stop;
} progress_log;

static int log_progress(uint64_t done, uint64_t total, void *payload)
{
	progress_log *p = payload;

	p->calls++;
	p->last_done = done;
	p->last_total = total;
	return p->stop;
}

static size_t fsck(conf_env *env, problems_log *log)
{
	size_t n = 99;

	memset(log, 0, sizeof(*log));
	assert_ok(gkv_repo_fsck(&n, env->repo, log_problem, log, NULL, NULL));
	assert_int_equal(n, log->n);
	return n;
}

/* Does any problem name id and say needle? */
static int has_problem(const problems_log *log, const gkv_oid *id, const char *needle)
{
	for (size_t i = 0; i < log->n && i < 8; i++)
		if ((!id || gkv_oid_equal(&log->ids[i], id)) && strstr(log->text[i], needle))
			return 1;
	return 0;
}

/* Some history: two branches, a merge-free graph with shared subtrees. */
static void make_history(conf_env *env)
{
	gkv_store *dev;
	gkv_oid head;

	conf_set(env->store, "posts/a.md", "first");
	conf_set(env->store, "posts/b.md", "second");
	head = conf_set(env->store, "config/site", "title");
	assert_ok(gkv_branch_create(env->repo, "dev", &head));
	assert_ok(gkv_store_open_branch(&dev, env->repo, "dev"));
	conf_set(dev, "posts/c.md", "third");
	conf_set(dev, "posts/a.md", "first, edited");
	gkv_store_free(dev);
}

static void test_fsck_clean(void **state)
{
	conf_env *env = *state;
	problems_log log;
	progress_log prog;
	size_t n = 99;

	assert_int_equal(fsck(env, &log), 0);
	make_history(env);
	memset(&prog, 0, sizeof(prog));
	assert_ok(gkv_repo_fsck(&n, env->repo, log_problem, &log, log_progress, &prog));
	assert_int_equal(n, 0);
	assert_true(prog.calls >= 1);
	assert_true(prog.last_total > 0);
	assert_int_equal(prog.last_done, prog.last_total);
	/* NULL callback and count are allowed. */
	assert_ok(gkv_repo_fsck(NULL, env->repo, NULL, NULL, NULL, NULL));
	assert_rc(GKV_E_INVALID, gkv_repo_fsck(&n, NULL, NULL, NULL, NULL, NULL));
}

static gkv_oid write_unsorted_tree(conf_env *env);

static void test_fsck_stops(void **state)
{
	conf_env *env = *state;
	progress_log prog;
	size_t n;

	make_history(env);
	memset(&prog, 0, sizeof(prog));
	prog.stop = 1;
	assert_rc(GKV_E_USER, gkv_repo_fsck(&n, env->repo, NULL, NULL, log_progress, &prog));
	/* A problem whose callback says stop. */
	write_unsorted_tree(env);
	{
		problems_log log;

		memset(&log, 0, sizeof(log));
		log.stop = 1;
		assert_rc(GKV_E_USER, gkv_repo_fsck(&n, env->repo, log_problem, &log, NULL, NULL));
		assert_int_equal(log.n, 1);
	}
}

/* An object whose bytes do not hash to its id (a bad disk, a buggy writer). */
static void test_fsck_hash_mismatch(void **state)
{
	conf_env *env = *state;
	gkv_backend *b = gkv_repo_backend(env->repo);
	problems_log log;
	gkv_batch *batch;
	gkv_oid fake;

	make_history(env);
	memset(&fake, 0xab, sizeof(fake));
	if (!strcmp(conf_backend, "git")) {
		/* git files objects under their own ids: copy one under another */
		gkv_oid blob;
		char hex[GKV_OID_HEXSZ + 1], cmd[2048];

		assert_ok(gkv_hash(&blob, GKV_OBJ_BLOB, "second", 6));
		gkv_oid_fmt(hex, &blob);
		snprintf(cmd, sizeof(cmd), "cd %s && o=$(test -d objects && echo objects || echo "
		    ".git/objects) && mkdir -p $o/ab && cp $o/%.2s/%s $o/ab/%s", env->dir, hex,
		    hex + 2, "abababababababababababababababababababab" + 2);
		assert_int_equal(system(cmd), 0);
		assert_int_equal(fsck(env, &log), 1);
		assert_true(has_problem(&log, &fake, ""));
		return;
	}
	assert_ok(b->batch_begin(&batch, b));
	assert_ok(b->batch_write(batch, &fake, GKV_OBJ_BLOB, "not what the id says", 20));
	assert_ok(b->batch_commit(batch));
	assert_int_equal(fsck(env, &log), 1);
	assert_true(has_problem(&log, &fake, "hashMismatch"));
}

/* Store a well-hashed tree that git fsck refuses ("b" before "a"); its id. */
static gkv_oid write_unsorted_tree(conf_env *env)
{
	gkv_backend *b = gkv_repo_backend(env->repo);
	unsigned char tree[2 * (9 + 20)];
	gkv_batch *batch;
	gkv_oid blob, tid;
	size_t n = 0;

	assert_ok(gkv_hash(&blob, GKV_OBJ_BLOB, "v", 1));
	/* "b" before "a": not in git's order */
	memcpy(tree + n, "100644 b", 9);
	memcpy(tree + n + 9, blob.id, 20);
	n += 29;
	memcpy(tree + n, "100644 a", 9);
	memcpy(tree + n + 9, blob.id, 20);
	n += 29;
	assert_ok(gkv_hash(&tid, GKV_OBJ_TREE, tree, n));
	assert_ok(b->batch_begin(&batch, b));
	assert_ok(b->batch_write(batch, &blob, GKV_OBJ_BLOB, "v", 1));
	assert_ok(b->batch_write(batch, &tid, GKV_OBJ_TREE, tree, n));
	assert_ok(b->batch_commit(batch));
	return tid;
}

/* A well-hashed tree that git fsck refuses, reachable from a branch. */
static void test_fsck_bad_tree(void **state)
{
	conf_env *env = *state;
	gkv_oid tid = write_unsorted_tree(env), commit;
	problems_log log;

	assert_ok(gkv_commit_create(&commit, env->repo, &tid, NULL, 0, NULL, NULL, "bad tree\n"));
	assert_ok(gkv_branch_create(env->repo, "bad", &commit));
	assert_int_equal(fsck(env, &log), 1);
	assert_true(has_problem(&log, &tid, "treeNotSorted"));
}

/* A tree entry naming a blob that is not stored, and a ref naming a
 * commit that is not (possible on mem and lmdb through the seam). */
static void test_fsck_missing(void **state)
{
	conf_env *env = *state;
	gkv_backend *b = gkv_repo_backend(env->repo);
	unsigned char tree[9 + 20];
	problems_log log;
	gkv_batch *batch;
	gkv_oid blob, tid, commit, ghost;

	assert_ok(gkv_hash(&blob, GKV_OBJ_BLOB, "absent", 6));
	memcpy(tree, "100644 a", 9);
	memcpy(tree + 9, blob.id, 20);
	assert_ok(gkv_hash(&tid, GKV_OBJ_TREE, tree, sizeof(tree)));
	assert_ok(b->batch_begin(&batch, b));
	assert_ok(b->batch_write(batch, &tid, GKV_OBJ_TREE, tree, sizeof(tree)));
	assert_ok(b->batch_commit(batch));
	assert_ok(gkv_commit_create(&commit, env->repo, &tid, NULL, 0, NULL, NULL, "m\n"));
	assert_ok(gkv_branch_create(env->repo, "main", &commit));
	assert_int_equal(fsck(env, &log), 1);
	assert_true(has_problem(&log, &blob, "missingObject"));

	if (!strcmp(conf_backend, "git"))
		return; /* git's refs name only objects it holds */
	memset(&ghost, 0x77, sizeof(ghost));
	assert_ok(b->ref_cas(b, "refs/heads/ghost", NULL, &ghost));
	assert_int_equal(fsck(env, &log), 2);
	assert_true(has_problem(&log, &ghost, "refs/heads/ghost"));
}

/* A branch naming a tree, not a commit. */
static void test_fsck_wrong_kind(void **state)
{
	conf_env *env = *state;
	gkv_backend *b = gkv_repo_backend(env->repo);
	problems_log log;
	gkv_tree *t;
	gkv_oid tid;

	if (!strcmp(conf_backend, "git"))
		skip(); /* git's refs/heads/ take commits only */
	conf_set(env->store, "k", "v");
	assert_ok(gkv_store_tree(&t, env->store));
	assert_ok(gkv_tree_id(&tid, t));
	gkv_tree_free(t);
	assert_ok(b->ref_cas(b, "refs/heads/treeish", NULL, &tid));
	assert_int_equal(fsck(env, &log), 1);
	assert_true(has_problem(&log, &tid, "not a commit"));
	assert_string_equal(log.refs[0], "refs/heads/treeish");
}

/* ------------------------------------------------------------------- gc */

static int has_gc(conf_env *env)
{
	return gkv_repo_backend(env->repo)->batch_delete != NULL;
}

static int exists(conf_env *env, const gkv_oid *id)
{
	int e = -1;

	assert_ok(gkv_repo_object_exists(&e, env->repo, id));
	return e;
}

static void test_gc_git_unsupported(void **state)
{
	conf_env *env = *state;
	gkv_gc_result res;

	if (strcmp(conf_backend, "git"))
		skip();
	conf_set(env->store, "k", "v");
	assert_rc(GKV_E_UNSUPPORTED, gkv_repo_gc(&res, env->repo, NULL, NULL));
	assert_msg_has("git gc");
	assert_value(env->store, "k", "v");
}

static void test_gc(void **state)
{
	conf_env *env = *state;
	gkv_backend *b = gkv_repo_backend(env->repo);
	gkv_oid orphan_blob, orphan_tree, orphan, remote, head, now, tmp_head;
	gkv_tree *empty, *t;
	gkv_reflog *log = NULL;
	gkv_repo_stats st;
	gkv_gc_result res;
	problems_log plog;
	gkv_store *tmp;
	uint64_t total = 0;

	if (!has_gc(env))
		skip();
	make_history(env);
	head = conf_head(env->store);

	/* Reachable only from a remote-tracking ref. */
	remote = conf_commit(env->repo, &head, 1, 1700000000, "remote/only", "from the remote");
	assert_ok(b->ref_cas(b, "refs/remotes/origin/main", NULL, &remote));

	/* An orphan: a commit of its own tree and blob that no ref names. */
	assert_ok(gkv_tree_empty(&empty, env->repo));
	assert_ok(gkv_tree_set(&t, empty, "orphan/value", "nobody names me", 15));
	assert_ok(gkv_tree_write(&orphan_tree, t));
	assert_ok(gkv_hash(&orphan_blob, GKV_OBJ_BLOB, "nobody names me", 15));
	assert_ok(gkv_commit_create(&orphan, env->repo, &orphan_tree, &head, 1, NULL, NULL,
	    "orphan\n"));
	gkv_tree_free(t);
	gkv_tree_free(empty);

	/* A branch made, moved and deleted: its log outlives it. */
	assert_ok(gkv_store_open_branch(&tmp, env->repo, "tmp"));
	tmp_head = conf_set(tmp, "tmp/file", "temporary value");
	gkv_store_free(tmp);
	assert_ok(gkv_branch_delete(env->repo, "tmp"));
	assert_ok(gkv_branch_reflog(&log, env->repo, "tmp"));
	gkv_reflog_free(log);

	assert_ok(gkv_repo_gc(&res, env->repo, NULL, NULL));
	/* the orphan commit, its root tree, "orphan/" and the blob; tmp's
	 * commit, its root, "tmp/" and its blob */
	assert_int_equal(res.objects_removed, 8);
	assert_true(res.bytes_removed > 15);
	assert_int_equal(res.reflogs_removed, 1);
	assert_int_equal(exists(env, &orphan), 0);
	assert_int_equal(exists(env, &orphan_tree), 0);
	assert_int_equal(exists(env, &orphan_blob), 0);
	assert_int_equal(exists(env, &tmp_head), 0);
	assert_rc(GKV_E_NOTFOUND, gkv_branch_reflog(&log, env->repo, "tmp"));
	/* what the refs reach is whole */
	assert_int_equal(exists(env, &remote), 1);
	assert_value(env->store, "posts/a.md", "first");
	now = conf_branch_head(env->repo, "main");
	assert_oid_eq(&now, &head);
	assert_int_equal(fsck(env, &plog), 0);
	assert_ok(gkv_repo_stats_read(&st, env->repo));
	for (int i = 1; i <= 4; i++)
		total += st.count[i];
	assert_int_equal(total, res.objects_kept);
	/* the orphan's tree is not served from the tree cache either */
	assert_rc(GKV_E_NOTFOUND, gkv_tree_lookup(&t, env->repo, &orphan_tree));

	/* Nothing left to remove. */
	assert_ok(gkv_repo_gc(&res, env->repo, NULL, NULL));
	assert_int_equal(res.objects_removed, 0);
	assert_int_equal(res.reflogs_removed, 0);
	assert_int_equal(res.objects_kept, total);
}

/* A CAS of a ref to its own value, as gc's batch makes, moves and logs nothing. */
static void test_gc_logs_nothing(void **state)
{
	conf_env *env = *state;
	gkv_oid orphan;
	gkv_reflog *log;
	gkv_gc_result res;
	size_t before;

	if (!has_gc(env))
		skip();
	conf_set(env->store, "k", "v");
	orphan = conf_commit(env->repo, NULL, 0, 1700000000, "x", "y");
	assert_ok(gkv_branch_reflog(&log, env->repo, "main"));
	before = gkv_reflog_count(log);
	gkv_reflog_free(log);
	assert_ok(gkv_repo_gc(&res, env->repo, NULL, NULL));
	assert_true(res.objects_removed >= 1);
	assert_int_equal(exists(env, &orphan), 0);
	assert_ok(gkv_branch_reflog(&log, env->repo, "main"));
	assert_int_equal(gkv_reflog_count(log), before);
	gkv_reflog_free(log);
}

static int stop_now(uint64_t done, uint64_t total, void *payload)
{
	(void)done;
	(void)total;
	(void)payload;
	return 1;
}

static void test_gc_stopped_or_readonly(void **state)
{
	conf_env *env = *state;
	gkv_gc_result res;
	gkv_repo *ro;
	gkv_oid orphan;

	if (!has_gc(env))
		skip();
	conf_set(env->store, "k", "v");
	orphan = conf_commit(env->repo, NULL, 0, 1700000000, "x", "y");
	assert_rc(GKV_E_USER, gkv_repo_gc(&res, env->repo, stop_now, NULL));
	assert_int_equal(exists(env, &orphan), 1);
	assert_rc(GKV_E_INVALID, gkv_repo_gc(&res, NULL, NULL, NULL));
	if (!conf_persistent())
		return;
	gkv_store_free(env->store);
	env->store = NULL;
	gkv_repo_free(env->repo);
	env->repo = NULL;
	assert_ok(conf_open(&ro, env->uri, 0, 1));
	assert_rc(GKV_E_READONLY, gkv_repo_gc(&res, ro, NULL, NULL));
	gkv_repo_free(ro);
	conf_reopen(env);
	assert_int_equal(exists(env, &orphan), 1);
}

/* A damaged store: gc removes nothing. */
static void test_gc_refuses_damage(void **state)
{
	conf_env *env = *state;
	gkv_backend *b = gkv_repo_backend(env->repo);
	gkv_oid orphan, ghost;
	gkv_gc_result res;

	if (!has_gc(env))
		skip();
	conf_set(env->store, "k", "v");
	orphan = conf_commit(env->repo, NULL, 0, 1700000000, "x", "y");
	memset(&ghost, 0x66, sizeof(ghost));
	assert_ok(b->ref_cas(b, "refs/heads/ghost", NULL, &ghost));
	assert_rc(GKV_E_CORRUPT, gkv_repo_gc(&res, env->repo, NULL, NULL));
	assert_int_equal(exists(env, &orphan), 1);
}

/* ---------------------------------------------------------------- stats */

static int count_stat(const char *name, uint64_t value, void *payload)
{
	(void)value;
	assert_non_null(name);
	assert_true(name[0] != '\0');
	(*(size_t *)payload)++;
	return 0;
}

static int stop_stat(const char *name, uint64_t value, void *payload)
{
	(void)name;
	(void)value;
	(void)payload;
	return 7;
}

static void test_stats(void **state)
{
	conf_env *env = *state;
	gkv_repo_stats st;
	size_t n = 0;

	assert_ok(gkv_repo_stats_read(&st, env->repo));
	assert_int_equal(st.count[GKV_OBJ_COMMIT], 0);
	assert_int_equal(st.refs, 0);
	/* a root with a directory d of two values: 2 trees, 2 blobs */
	conf_set(env->store, "d/one", "1");
	conf_set(env->store, "d/two", "22");
	assert_ok(gkv_repo_stats_read(&st, env->repo));
	assert_int_equal(st.count[GKV_OBJ_COMMIT], 2);
	assert_int_equal(st.count[GKV_OBJ_BLOB], 2);
	assert_int_equal(st.bytes[GKV_OBJ_BLOB], 3);
	assert_int_equal(st.count[GKV_OBJ_TREE], 4); /* two versions of each */
	assert_int_equal(st.count[GKV_OBJ_TAG], 0);
	assert_int_equal(st.refs, 1);
	assert_int_equal(st.branches, 1);
	assert_true(st.bytes[GKV_OBJ_COMMIT] > 100);

	assert_ok(gkv_repo_backend_stats(env->repo, count_stat, &n));
	if (gkv_repo_backend(env->repo)->stats && n > 0)
		assert_rc(7, gkv_repo_backend_stats(env->repo, stop_stat, NULL));
	assert_rc(GKV_E_INVALID, gkv_repo_backend_stats(env->repo, NULL, NULL));
	assert_rc(GKV_E_INVALID, gkv_repo_stats_read(NULL, env->repo));
	assert_rc(GKV_E_INVALID, gkv_repo_stats_read(&st, NULL));
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    CONF_TEST(test_tree_walk),
	    CONF_TEST(test_tree_walk_unwritten),
	    CONF_TEST(test_fsck_clean),
	    CONF_TEST(test_fsck_stops),
	    CONF_TEST(test_fsck_hash_mismatch),
	    CONF_TEST(test_fsck_bad_tree),
	    CONF_TEST(test_fsck_missing),
	    CONF_TEST(test_fsck_wrong_kind),
	    CONF_TEST(test_gc_git_unsupported),
	    CONF_TEST(test_gc),
	    CONF_TEST(test_gc_logs_nothing),
	    CONF_TEST(test_gc_stopped_or_readonly),
	    CONF_TEST(test_gc_refuses_damage),
	    CONF_TEST(test_stats),
	};

	return CONF_MAIN(argc, argv, tests);
}
