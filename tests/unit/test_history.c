/*
 * test_history.c -- unit tests of store/history.c: the revision walk
 * (order, hiding, clock skew, equal times, long chains), is-ancestor,
 * merge bases (linear, merge, criss-cross, unrelated) and the commits
 * that last and first changed a path.
 *
 * Histories are built through the public API only, with explicit
 * committer times so that every expected order is exact. Every test runs
 * twice: on a "mem:" store and on an LMDB store in a fresh temporary
 * directory.
 */
#define _GNU_SOURCE
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gitkv.h"
#include "gitkv/sys/backend.h"

/* ------------------------------------------------------------ fixture */

typedef struct {
	char dir[64]; /* the LMDB store's temp dir, "" for mem */
	gkv_repo *repo;
} env;

/* Fail with the library's message, which says what went wrong. */
static void check_rc(int expected, int got, const char *expr, int line)
{
	if (got != expected)
		fail_msg("line %d: %s returned %d, expected %d (%s)", line, expr, got, expected,
			 gkv_error_last());
}
#define assert_ok(expr) check_rc(0, (expr), #expr, __LINE__)
#define assert_rc(code, expr) check_rc((code), (expr), #expr, __LINE__)

static int open_repo(void **state, const char *kind)
{
	gkv_options *opts;
	char uri[128];
	env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	if (kind) {
		snprintf(e->dir, sizeof(e->dir), "/tmp/gkv-history-XXXXXX");
		assert_non_null(mkdtemp(e->dir));
		snprintf(uri, sizeof(uri), "%s:%s", kind, e->dir);
	} else {
		snprintf(uri, sizeof(uri), "mem:");
	}
	assert_ok(gkv_options_new(&opts));
	assert_ok(gkv_options_set_create(opts, 1));
	/* Thousands of commits: no fsync each (durability is not under test). */
	assert_ok(gkv_options_set_durability(opts, GKV_DURABILITY_NOSYNC));
	assert_ok(gkv_repo_open(&e->repo, uri, opts));
	gkv_options_free(opts);
	assert_string_equal(kind ? kind : "mem", gkv_repo_backend_name(e->repo));
	*state = e;
	return 0;
}

/* The group being run: its tests open their stores with this scheme. */
static const char *scheme;

static int use_mem(void **state)
{
	(void)state;
	scheme = NULL;
	return 0;
}

static int use_lmdb(void **state)
{
	(void)state;
	scheme = "lmdb";
	return 0;
}

static int setup(void **state)
{
	return open_repo(state, scheme);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	env *e = *state;

	gkv_repo_free(e->repo);
	if (e->dir[0])
		nftw(e->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(e);
	return 0;
}

/* ------------------------------------------------------------ builders */

/* Messages differ, so that commits with equal trees and times differ. */
static unsigned msg_counter;

static gkv_oid commit_tree(gkv_repo *repo, const gkv_oid *tree, const gkv_oid *parents, size_t np,
			   int64_t time)
{
	gkv_signature *sig;
	gkv_oid id;
	char msg[64];

	snprintf(msg, sizeof(msg), "commit %u at %lld\n", ++msg_counter, (long long)time);
	assert_ok(gkv_signature_new(&sig, "Hist Test", "hist@example.com", time, 60));
	assert_ok(gkv_commit_create(&id, repo, tree, parents, np, sig, sig, msg));
	gkv_signature_free(sig);
	return id;
}

/* The tree of the first parent (empty without one). */
static gkv_tree *base_tree(gkv_repo *repo, const gkv_oid *parents, size_t np)
{
	gkv_commit *c;
	gkv_tree *t;

	if (np == 0) {
		assert_ok(gkv_tree_empty(&t, repo));
		return t;
	}
	assert_ok(gkv_commit_lookup(&c, repo, &parents[0]));
	assert_ok(gkv_tree_lookup(&t, repo, gkv_commit_tree_id(c)));
	gkv_commit_free(c);
	return t;
}

/*
 * A commit at time t over the first parent's tree with path set to value
 * (value NULL: path removed; path NULL: the tree unchanged).
 */
static gkv_oid mk(gkv_repo *repo, const gkv_oid *parents, size_t np, int64_t t, const char *path,
		  const char *value)
{
	gkv_tree *base = base_tree(repo, parents, np), *next;
	gkv_oid tree;

	if (path && value)
		assert_ok(gkv_tree_set(&next, base, path, value, strlen(value)));
	else if (path)
		assert_ok(gkv_tree_remove(&next, base, path));
	else
		next = gkv_tree_dup(base);
	assert_ok(gkv_tree_write(&tree, next));
	gkv_tree_free(next);
	gkv_tree_free(base);
	return commit_tree(repo, &tree, parents, np, t);
}

/* A child of one parent (or a root when parent is NULL). */
static gkv_oid mk1(gkv_repo *repo, const gkv_oid *parent, int64_t t, const char *path,
		   const char *value)
{
	return mk(repo, parent, parent ? 1 : 0, t, path, value);
}

static gkv_oid mk2(gkv_repo *repo, gkv_oid p1, gkv_oid p2, int64_t t)
{
	gkv_oid ps[2] = {p1, p2};

	return mk(repo, ps, 2, t, NULL, NULL);
}

/* ------------------------------------------------------------ checks */

/* Walk from push[] hiding hide[]; the ids into out (at most max); the count. */
static size_t walk(gkv_oid *out, size_t max, gkv_repo *repo, const gkv_oid *push, size_t npush,
		   const gkv_oid *hide, size_t nhide)
{
	gkv_revwalk *w;
	gkv_oid id;
	size_t n = 0;
	int rc;

	assert_ok(gkv_revwalk_new(&w, repo));
	for (size_t i = 0; i < nhide; i++)
		assert_ok(gkv_revwalk_hide(w, &hide[i]));
	for (size_t i = 0; i < npush; i++)
		assert_ok(gkv_revwalk_push(w, &push[i]));
	while ((rc = gkv_revwalk_next(&id, w)) == 0) {
		if (n < max)
			out[n] = id;
		n++;
	}
	assert_rc(GKV_ITEROVER, rc);
	assert_rc(GKV_ITEROVER, gkv_revwalk_next(&id, w)); /* stays over */
	gkv_revwalk_free(w);
	return n;
}

static void assert_oid(const gkv_oid *expected, const gkv_oid *got, const char *what)
{
	char a[GKV_OID_HEXSZ + 1], b[GKV_OID_HEXSZ + 1];

	if (gkv_oid_equal(expected, got))
		return;
	gkv_oid_fmt(a, expected);
	gkv_oid_fmt(b, got);
	fail_msg("%s: expected %s, got %s", what, a, b);
}

/* The walk from push (hiding hide, may be NULL) is exactly want[0..n). */
static void assert_walk(gkv_repo *repo, const gkv_oid *push, size_t npush, const gkv_oid *hide,
			size_t nhide, const gkv_oid *want, size_t n)
{
	gkv_oid got[64];
	char what[32];
	size_t count = walk(got, 64, repo, push, npush, hide, nhide);

	assert_int_equal(n, count);
	for (size_t i = 0; i < n; i++) {
		snprintf(what, sizeof(what), "walk[%zu]", i);
		assert_oid(&want[i], &got[i], what);
	}
}

/* Every commit comes before each of its parents that the walk holds. */
static void assert_topological(gkv_repo *repo, const gkv_oid *ids, size_t n)
{
	gkv_commit *c;

	for (size_t i = 0; i < n; i++) {
		assert_ok(gkv_commit_lookup(&c, repo, &ids[i]));
		for (size_t k = 0; k < gkv_commit_parentcount(c); k++)
			for (size_t j = 0; j < i; j++)
				if (gkv_oid_equal(&ids[j], gkv_commit_parent_id(c, k)))
					fail_msg("parent at %zu emitted before its child at %zu", j,
						 i);
		gkv_commit_free(c);
	}
}

static int ancestor(gkv_repo *repo, gkv_oid a, gkv_oid d)
{
	int out = -1;

	assert_ok(gkv_is_ancestor(&out, repo, &a, &d));
	return out;
}

/* merge_bases(a, b) is exactly want[0..n) in any order (the result is sorted). */
static void assert_bases(gkv_repo *repo, gkv_oid a, gkv_oid b, const gkv_oid *want, size_t n)
{
	gkv_oidarray arr = {NULL, 0};
	size_t found;

	assert_ok(gkv_merge_bases(&arr, repo, &a, &b));
	assert_int_equal(n, arr.count);
	for (size_t i = 1; i < arr.count; i++)
		assert_true(gkv_oid_cmp(&arr.ids[i - 1], &arr.ids[i]) < 0);
	for (size_t i = 0; i < n; i++) {
		found = 0;
		for (size_t j = 0; j < arr.count; j++)
			found += gkv_oid_equal(&want[i], &arr.ids[j]);
		assert_int_equal(1, found);
	}
	gkv_oidarray_dispose(&arr);
	assert_null(arr.ids);
}

static gkv_oid last_change(gkv_repo *repo, gkv_oid from, const char *path)
{
	gkv_oid out;

	assert_ok(gkv_history_last_change(&out, repo, &from, path));
	return out;
}

static gkv_oid first_change(gkv_repo *repo, gkv_oid from, const char *path)
{
	gkv_oid out;

	assert_ok(gkv_history_first_change(&out, repo, &from, path));
	return out;
}

/* ------------------------------------------------------------- tests */

/* Five writes through a branch store: the walk is the writes, newest first. */
static void test_linear(void **state)
{
	env *e = *state;
	gkv_store *s;
	gkv_info *info;
	gkv_signature *sig;
	gkv_oid c[5], head;
	char key[16];

	assert_ok(gkv_store_open_branch(&s, e->repo, "main"));
	for (int i = 0; i < 5; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_ok(gkv_info_new(&info, "write\n"));
		assert_ok(gkv_signature_new(&sig, "Writer", "w@example.com", 1000 + i, 0));
		assert_ok(gkv_info_set_author(info, sig));
		assert_ok(gkv_info_set_committer(info, sig));
		assert_ok(gkv_store_set(&c[i], s, key, "v", 1, info));
		gkv_signature_free(sig);
		gkv_info_free(info);
	}
	assert_ok(gkv_store_head(&head, s));
	assert_oid(&c[4], &head, "head");
	gkv_store_free(s);

	gkv_oid want[5] = {c[4], c[3], c[2], c[1], c[0]};
	assert_walk(e->repo, &head, 1, NULL, 0, want, 5);
	assert_walk(e->repo, &c[2], 1, NULL, 0, want + 2, 3);
	assert_int_equal(1, ancestor(e->repo, c[0], c[4]));
	assert_int_equal(0, ancestor(e->repo, c[4], c[0]));
	assert_int_equal(1, ancestor(e->repo, c[2], c[2]));
	assert_bases(e->repo, c[1], c[3], &c[1], 1);
	assert_bases(e->repo, c[3], c[1], &c[1], 1);
	assert_bases(e->repo, c[2], c[2], &c[2], 1);
}

/* b <- x1 <- x2 <- m, b <- y1 <- m (m's parents: x2, y1). */
static void test_branch_merge(void **state)
{
	env *e = *state;
	gkv_repo *r = e->repo;
	gkv_oid b = mk1(r, NULL, 100, "base", "0");
	gkv_oid x1 = mk1(r, &b, 110, "x", "1");
	gkv_oid y1 = mk1(r, &b, 115, "y", "1");
	gkv_oid x2 = mk1(r, &x1, 120, "x", "2");
	gkv_oid m = mk2(r, x2, y1, 130);
	gkv_oid head;

	assert_ok(gkv_branch_create(r, "side", &y1));
	assert_ok(gkv_branch_head(&head, r, "side"));
	assert_oid(&y1, &head, "side");

	gkv_oid all[5] = {m, x2, y1, x1, b};
	assert_walk(r, &m, 1, NULL, 0, all, 5);
	/* Pushing a commit twice, or one already reachable, changes nothing. */
	gkv_oid twice[3] = {m, y1, m};
	assert_walk(r, twice, 3, NULL, 0, all, 5);

	gkv_oid only_main[3] = {m, x2, x1};
	assert_walk(r, &m, 1, &y1, 1, only_main, 3);
	gkv_oid only_side[2] = {m, y1};
	assert_walk(r, &m, 1, &x2, 1, only_side, 2);

	assert_bases(r, x2, y1, &b, 1);
	assert_bases(r, m, y1, &y1, 1);
	assert_int_equal(1, ancestor(r, y1, m));
	assert_int_equal(1, ancestor(r, b, m));
	assert_int_equal(0, ancestor(r, x1, y1));
	assert_int_equal(0, ancestor(r, m, x2));
}

/* An octopus merge: three parents, each walked once, after the merge. */
static void test_octopus(void **state)
{
	env *e = *state;
	gkv_repo *r = e->repo;
	gkv_oid b = mk1(r, NULL, 100, "b", "0");
	gkv_oid p1 = mk1(r, &b, 110, "p1", "1");
	gkv_oid p2 = mk1(r, &b, 120, "p2", "1");
	gkv_oid p3 = mk1(r, &b, 105, "p3", "1");
	gkv_oid ps[3] = {p1, p2, p3};
	gkv_oid o = mk(r, ps, 3, 130, "p3", "1");
	gkv_oid at;

	gkv_oid all[5] = {o, p2, p1, p3, b};
	assert_walk(r, &o, 1, NULL, 0, all, 5);
	assert_walk(r, &o, 1, &p2, 1, (gkv_oid[]){o, p1, p3}, 3);
	assert_bases(r, p1, o, &p1, 1);
	assert_bases(r, p3, p2, &b, 1);
	assert_int_equal(1, ancestor(r, p3, o));
	assert_int_equal(0, ancestor(r, o, p3));
	/* p3 came through the third parent: the merge changed it vs the first. */
	at = last_change(r, o, "p3");
	assert_oid(&o, &at, "last p3");
	/*
	 * The merge dropped p2, but so did its first parent: compared with it
	 * nothing changed, so the answer is p2, next in the walk.
	 */
	at = last_change(r, o, "p2");
	assert_oid(&p2, &at, "last p2");
}

/*
 * Criss-cross: a2 and b2 each merge a1 and b1, so both a1 and b1 are
 * lowest common ancestors of a2 and b2 (b, below both, is not).
 */
static void test_criss_cross(void **state)
{
	env *e = *state;
	gkv_repo *r = e->repo;
	gkv_oid b = mk1(r, NULL, 100, "k", "0");
	gkv_oid a1 = mk1(r, &b, 110, "a", "1");
	gkv_oid b1 = mk1(r, &b, 111, "b", "1");
	gkv_oid a2 = mk2(r, a1, b1, 120);
	gkv_oid b2 = mk2(r, b1, a1, 121);
	gkv_oid both[2] = {a1, b1};

	assert_bases(r, a2, b2, both, 2);
	assert_bases(r, b2, a2, both, 2);
	assert_bases(r, a2, a1, &a1, 1);
	assert_bases(r, a1, b1, &b, 1);

	gkv_oid all[5] = {b2, a2, b1, a1, b};
	gkv_oid heads[2] = {a2, b2};
	assert_walk(r, heads, 2, NULL, 0, all, 5);
	assert_walk(r, &b2, 1, &a2, 1, all, 1);
}

/* Two root commits: no merge base, no ancestry, one walk over both. */
static void test_unrelated(void **state)
{
	env *e = *state;
	gkv_repo *r = e->repo;
	gkv_oid r1 = mk1(r, NULL, 100, "r", "1");
	gkv_oid s1 = mk1(r, NULL, 105, "s", "1");
	gkv_oid r2 = mk1(r, &r1, 110, "r", "2");
	gkv_oid s2 = mk1(r, &s1, 120, "s", "2");
	gkv_oidarray arr = {NULL, 7};

	assert_ok(gkv_merge_bases(&arr, r, &r2, &s2));
	assert_int_equal(0, arr.count);
	assert_null(arr.ids);
	gkv_oidarray_dispose(&arr);
	assert_int_equal(0, ancestor(r, r1, s2));
	assert_int_equal(0, ancestor(r, s1, r2));

	gkv_oid heads[2] = {r2, s2};
	gkv_oid all[4] = {s2, r2, s1, r1};
	assert_walk(r, heads, 2, NULL, 0, all, 4);
	gkv_oid r_only[2] = {r2, r1};
	assert_walk(r, heads, 2, &s2, 1, r_only, 2);
}

/*
 * main: c1 <- c2 <- c3 <- c4, feature: c2 <- f1 <- f2, the hidden
 * branch's commits newer than the feature's: hiding must not stop early.
 */
static void test_hide(void **state)
{
	env *e = *state;
	gkv_repo *r = e->repo;
	gkv_oid c1 = mk1(r, NULL, 100, "m", "1");
	gkv_oid c2 = mk1(r, &c1, 110, "m", "2");
	gkv_oid f1 = mk1(r, &c2, 150, "f", "1");
	gkv_oid f2 = mk1(r, &f1, 160, "f", "2");
	gkv_oid c3 = mk1(r, &c2, 200, "m", "3");
	gkv_oid c4 = mk1(r, &c3, 210, "m", "4");
	gkv_oid id;
	gkv_revwalk *w;

	gkv_oid feature[2] = {f2, f1};
	assert_walk(r, &f2, 1, &c4, 1, feature, 2);
	gkv_oid mainline[2] = {c4, c3};
	assert_walk(r, &c4, 1, &f2, 1, mainline, 2);
	/* Hiding a descendant of everything pushed leaves nothing. */
	assert_walk(r, &c2, 1, &c4, 1, NULL, 0);
	assert_walk(r, &f2, 1, &f2, 1, NULL, 0);
	/* Hiding an unrelated-looking older commit only cuts below it. */
	gkv_oid above_c1[5] = {c4, c3, f2, f1, c2};
	gkv_oid heads[2] = {c4, f2};
	assert_walk(r, heads, 2, &c1, 1, above_c1, 5);

	/* Push and hide after the walk started are refused. */
	assert_ok(gkv_revwalk_new(&w, r));
	assert_ok(gkv_revwalk_push(w, &c4));
	assert_ok(gkv_revwalk_next(&id, w));
	assert_oid(&c4, &id, "first");
	assert_rc(GKV_E_INVALID, gkv_revwalk_push(w, &f2));
	assert_rc(GKV_E_INVALID, gkv_revwalk_hide(w, &c1));
	gkv_revwalk_free(w);

	/* An empty walk is over at once. */
	assert_ok(gkv_revwalk_new(&w, r));
	assert_rc(GKV_ITEROVER, gkv_revwalk_next(&id, w));
	gkv_revwalk_free(w);
}

/*
 * All at one time, two paths of different length from m down to p: a
 * breadth-first or time-only order would emit p before c.
 */
static void test_equal_times(void **state)
{
	env *e = *state;
	gkv_repo *r = e->repo;
	gkv_oid root = mk1(r, NULL, 500, "r", "0");
	gkv_oid p = mk1(r, &root, 500, "p", "1");
	gkv_oid a = mk1(r, &p, 500, "a", "1");
	gkv_oid c = mk1(r, &p, 500, "c", "1");
	gkv_oid b = mk1(r, &c, 500, "b", "1");
	gkv_oid m = mk2(r, a, b, 500);
	gkv_oid got[8];

	assert_int_equal(6, walk(got, 8, r, &m, 1, NULL, 0));
	assert_topological(r, got, 6);
	assert_oid(&m, &got[0], "first");
	assert_oid(&root, &got[5], "last");
	assert_bases(r, a, b, &p, 1);
	assert_int_equal(1, ancestor(r, root, m));
	assert_int_equal(0, ancestor(r, a, b));

	/*
	 * x is found common before y (same time, found first), and y's paint
	 * stops before it marks x stale: x must still be dropped as y's
	 * ancestor, leaving y the only lowest common ancestor.
	 */
	gkv_oid x = mk1(r, NULL, 700, "x", "1");
	gkv_oid z = mk1(r, &x, 700, "z", "1");
	gkv_oid y = mk1(r, &z, 700, "y", "1");
	gkv_oid t1 = mk2(r, x, y, 700);
	gkv_oid t2 = mk2(r, x, y, 700);
	assert_bases(r, t1, t2, &y, 1);
	assert_bases(r, t2, t1, &y, 1);
}

/* Parents dated after their children: order by graph, not by clock. */
static void test_clock_skew(void **state)
{
	env *e = *state;
	gkv_repo *r = e->repo;
	gkv_oid p = mk1(r, NULL, 400, "p", "1");
	gkv_oid a = mk1(r, &p, 100, "a", "1");
	gkv_oid b = mk1(r, &p, 50, "b", "1");
	gkv_oid m = mk2(r, a, b, 300);
	gkv_oid d = mk1(r, &m, 200, "d", "1");

	gkv_oid want[5] = {d, m, a, b, p};
	assert_walk(r, &d, 1, NULL, 0, want, 5);
	assert_int_equal(1, ancestor(r, p, d));
	assert_int_equal(0, ancestor(r, d, p));
	assert_bases(r, a, b, &p, 1);
	/* Hidden commit older than the interesting ones, yet their descendant. */
	gkv_oid above[1] = {d};
	assert_walk(r, &d, 1, &m, 1, above, 1);

	/*
	 * The hidden h reaches base only through s, dated far below base: when
	 * base is popped (as interesting) only hidden commits remain queued,
	 * yet base must still be found hidden.
	 */
	gkv_oid base = mk1(r, NULL, 1000, "base", "1");
	gkv_oid i1 = mk1(r, &base, 1500, "i", "1");
	gkv_oid i2 = mk1(r, &i1, 2000, "i", "2");
	gkv_oid s = mk1(r, &base, 500, "s", "1");
	gkv_oid h = mk1(r, &s, 3000, "h", "1");
	gkv_oid interesting[2] = {i2, i1};
	assert_walk(r, &i2, 1, &h, 1, interesting, 2);
	assert_bases(r, i2, h, &base, 1);
}

#define CHAIN 10000

/* A 10,000-commit chain: every commit once, in order; quick ancestry. */
static void test_long_chain(void **state)
{
	env *e = *state;
	gkv_repo *r = e->repo;
	gkv_oid *c = malloc(CHAIN * sizeof(*c)), *got = malloc(CHAIN * sizeof(*got));
	gkv_oid tree_a, tree_b;
	gkv_tree *t0, *t1;

	assert_non_null(c);
	assert_non_null(got);
	assert_ok(gkv_tree_empty(&t0, r));
	assert_ok(gkv_tree_set(&t1, t0, "hot", "a", 1));
	assert_ok(gkv_tree_write(&tree_a, t1));
	gkv_tree_free(t1);
	assert_ok(gkv_tree_set(&t1, t0, "hot", "b", 1));
	assert_ok(gkv_tree_write(&tree_b, t1));
	gkv_tree_free(t1);
	gkv_tree_free(t0);
	/* "hot" is a until commit 10, b from 10 on. */
	for (size_t i = 0; i < CHAIN; i++)
		c[i] = commit_tree(r, i < 10 ? &tree_a : &tree_b, i ? &c[i - 1] : NULL, i ? 1 : 0,
				   1000000 + (int64_t)i);

	assert_int_equal(CHAIN, walk(got, CHAIN, r, &c[CHAIN - 1], 1, NULL, 0));
	for (size_t i = 0; i < CHAIN; i++)
		if (!gkv_oid_equal(&got[i], &c[CHAIN - 1 - i]))
			fail_msg("walk[%zu] is not commit %zu", i, CHAIN - 1 - i);
	assert_int_equal(CHAIN / 2, walk(got, CHAIN, r, &c[CHAIN - 1], 1, &c[CHAIN / 2 - 1], 1));
	assert_int_equal(1, ancestor(r, c[0], c[CHAIN - 1]));
	assert_int_equal(0, ancestor(r, c[CHAIN - 1], c[0]));
	assert_bases(r, c[CHAIN / 2], c[CHAIN - 1], &c[CHAIN / 2], 1);

	gkv_oid at = last_change(r, c[CHAIN - 1], "hot");
	assert_oid(&c[10], &at, "last change of hot");
	at = first_change(r, c[CHAIN - 1], "hot");
	assert_oid(&c[0], &at, "first change of hot");
	free(c);
	free(got);
}

/* Values and a directory changed in some commits and not in others. */
static void test_path_changes(void **state)
{
	env *e = *state;
	gkv_repo *r = e->repo;
	gkv_oid c1 = mk1(r, NULL, 100, "a", "1");
	gkv_oid c2 = mk1(r, &c1, 110, "b", "1");
	gkv_oid c3 = mk1(r, &c2, 120, "a", "2");
	gkv_oid c4 = mk1(r, &c3, 130, "b", "2");
	gkv_oid c5 = mk1(r, &c4, 140, "dir/x", "1");
	gkv_oid c6 = mk1(r, &c5, 150, "top", "1");
	gkv_oid c7 = mk1(r, &c6, 160, "dir/sub/y", "1");
	gkv_oid c8 = mk1(r, &c7, 170, "top", "2");
	gkv_oid at, out;

	at = last_change(r, c8, "a");
	assert_oid(&c3, &at, "last a");
	at = first_change(r, c8, "a");
	assert_oid(&c1, &at, "first a");
	at = last_change(r, c2, "a");
	assert_oid(&c1, &at, "last a from c2");
	at = last_change(r, c8, "b");
	assert_oid(&c4, &at, "last b");
	at = first_change(r, c8, "b");
	assert_oid(&c2, &at, "first b");
	at = last_change(r, c8, "dir");
	assert_oid(&c7, &at, "last dir");
	at = first_change(r, c8, "dir");
	assert_oid(&c5, &at, "first dir");
	at = last_change(r, c8, "dir/x");
	assert_oid(&c5, &at, "last dir/x");
	at = last_change(r, c8, "dir/sub");
	assert_oid(&c7, &at, "last dir/sub");
	at = last_change(r, c8, "");
	assert_oid(&c8, &at, "last root");
	at = first_change(r, c8, "");
	assert_oid(&c1, &at, "first root");

	assert_rc(GKV_E_NOTFOUND, gkv_history_last_change(&out, r, &c8, "nope/never"));
	assert_non_null(strstr(gkv_error_last(), "nope/never"));
	assert_rc(GKV_E_NOTFOUND, gkv_history_first_change(&out, r, &c8, "nope"));
	assert_non_null(strstr(gkv_error_last(), "nope"));
	/* Under a value, not a directory: nothing there either. */
	assert_rc(GKV_E_NOTFOUND, gkv_history_last_change(&out, r, &c8, "a/deeper"));
	assert_rc(GKV_E_NOTFOUND, gkv_history_last_change(&out, r, &c4, "dir"));
}

/* A root commit with the empty tree holds nothing, not an empty root. */
static void test_empty_root(void **state)
{
	env *e = *state;
	gkv_repo *r = e->repo;
	gkv_oid e0 = mk1(r, NULL, 100, NULL, NULL);
	gkv_oid e1 = mk1(r, &e0, 110, "a", "1");
	gkv_oid e2 = mk1(r, &e1, 120, "b", "1");
	gkv_oid at, out;

	assert_rc(GKV_E_NOTFOUND, gkv_history_last_change(&out, r, &e0, ""));
	assert_rc(GKV_E_NOTFOUND, gkv_history_first_change(&out, r, &e0, ""));
	at = last_change(r, e2, "");
	assert_oid(&e2, &at, "last root");
	at = first_change(r, e2, "");
	assert_oid(&e1, &at, "first root");
	at = first_change(r, e2, "b");
	assert_oid(&e2, &at, "first b");
}

/* k added, removed, added again with the same value. */
static void test_removed_readded(void **state)
{
	env *e = *state;
	gkv_repo *r = e->repo;
	gkv_oid c1 = mk1(r, NULL, 100, "k", "v");
	gkv_oid c2 = mk1(r, &c1, 110, "other", "1");
	gkv_oid c3 = mk1(r, &c2, 120, "k", NULL);
	gkv_oid c4 = mk1(r, &c3, 130, "other", "2");
	gkv_oid c5 = mk1(r, &c4, 140, "k", "v");
	gkv_oid c6 = mk1(r, &c5, 150, "other", "3");
	gkv_oid at;

	at = last_change(r, c6, "k");
	assert_oid(&c5, &at, "last k (re-added)");
	at = last_change(r, c4, "k");
	assert_oid(&c3, &at, "last k (removed)");
	/* The earliest change along first parents: the first creation. */
	at = first_change(r, c6, "k");
	assert_oid(&c1, &at, "first k");
	at = first_change(r, c4, "k");
	assert_oid(&c1, &at, "first k from c4");
	at = first_change(r, c6, "other");
	assert_oid(&c2, &at, "first other");
}

/*
 * A change made on a side branch and merged: the merge changed the path
 * compared with its first parent, so it is the last change.
 */
static void test_merge_changes(void **state)
{
	env *e = *state;
	gkv_repo *r = e->repo;
	gkv_oid b = mk1(r, NULL, 100, "a", "1");
	gkv_oid m1 = mk1(r, &b, 110, "other", "1");
	gkv_oid s1 = mk1(r, &b, 120, "a", "2");
	gkv_oid ps[2] = {m1, s1};
	gkv_oid m = mk(r, ps, 2, 130, "a", "2");
	gkv_oid at;

	at = last_change(r, m, "a");
	assert_oid(&m, &at, "last a");
	at = first_change(r, m, "a");
	assert_oid(&b, &at, "first a");
	at = last_change(r, m, "other");
	assert_oid(&m1, &at, "last other");
	at = last_change(r, s1, "a");
	assert_oid(&s1, &at, "last a on the side");
}

/* Bad arguments, paths and ids: clear errors, nothing crashes. */
static void test_errors(void **state)
{
	env *e = *state;
	gkv_repo *r = e->repo;
	gkv_oid c1 = mk1(r, NULL, 100, "a", "1");
	gkv_oid missing, tree, out;
	gkv_oidarray arr;
	gkv_revwalk *w;
	gkv_commit *c;
	int anc;

	memset(&missing, 0x5a, sizeof(missing));
	assert_ok(gkv_commit_lookup(&c, r, &c1));
	tree = *gkv_commit_tree_id(c);
	gkv_commit_free(c);

	assert_rc(GKV_E_INVALID, gkv_revwalk_new(NULL, r));
	assert_rc(GKV_E_INVALID, gkv_revwalk_new(&w, NULL));
	assert_ok(gkv_revwalk_new(&w, r));
	assert_rc(GKV_E_INVALID, gkv_revwalk_push(w, NULL));
	assert_rc(GKV_E_INVALID, gkv_revwalk_push(NULL, &c1));
	assert_rc(GKV_E_INVALID, gkv_revwalk_next(NULL, w));
	assert_rc(GKV_E_NOTFOUND, gkv_revwalk_push(w, &missing));
	assert_non_null(strstr(gkv_error_last(), "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"));
	assert_rc(GKV_E_NOTFOUND, gkv_revwalk_hide(w, &missing));
	assert_true(gkv_revwalk_push(w, &tree) < 0); /* a tree, not a commit */
	gkv_revwalk_free(w);
	gkv_revwalk_free(NULL);

	assert_rc(GKV_E_INVALID, gkv_is_ancestor(NULL, r, &c1, &c1));
	assert_rc(GKV_E_INVALID, gkv_is_ancestor(&anc, r, NULL, &c1));
	assert_rc(GKV_E_NOTFOUND, gkv_is_ancestor(&anc, r, &missing, &c1));
	assert_rc(GKV_E_NOTFOUND, gkv_is_ancestor(&anc, r, &c1, &missing));

	assert_rc(GKV_E_INVALID, gkv_merge_bases(NULL, r, &c1, &c1));
	assert_rc(GKV_E_INVALID, gkv_merge_bases(&arr, r, &c1, NULL));
	assert_null(arr.ids);
	assert_rc(GKV_E_NOTFOUND, gkv_merge_bases(&arr, r, &c1, &missing));
	assert_int_equal(0, arr.count);

	assert_rc(GKV_E_INVALID, gkv_history_last_change(&out, r, &c1, NULL));
	assert_rc(GKV_E_INVALID, gkv_history_last_change(NULL, r, &c1, "a"));
	assert_rc(GKV_E_INVALID, gkv_history_first_change(&out, NULL, &c1, "a"));
	assert_rc(GKV_E_INVALID, gkv_history_last_change(&out, r, &c1, "a//b"));
	assert_non_null(strstr(gkv_error_last(), "a//b"));
	assert_rc(GKV_E_INVALID, gkv_history_first_change(&out, r, &c1, "/a"));
	assert_rc(GKV_E_INVALID, gkv_history_last_change(&out, r, &c1, "x/../a"));
	assert_rc(GKV_E_NOTFOUND, gkv_history_last_change(&out, r, &missing, "a"));
	assert_rc(GKV_E_NOTFOUND, gkv_history_first_change(&out, r, &missing, "a"));
}

/* ------------------------------------------------- malformed history */

/* Store payload as an object of type t straight through the backend. */
static gkv_oid put_raw(gkv_backend *b, gkv_otype t, const char *payload)
{
	gkv_batch *batch;
	gkv_oid id;

	assert_ok(gkv_hash(&id, t, payload, strlen(payload)));
	assert_ok(b->batch_begin(&batch, b));
	assert_ok(b->batch_write(batch, &id, t, payload, strlen(payload)));
	assert_ok(b->batch_commit(batch));
	return id;
}

/* A commit payload over the empty tree: parent (may be NULL), then the rest. */
static gkv_oid put_commit(gkv_backend *b, const gkv_oid *parent, const char *people)
{
	char hex[GKV_OID_HEXSZ + 1], text[512];

	if (parent) {
		gkv_oid_fmt(hex, parent);
		snprintf(text, sizeof(text),
			 "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nparent %s\n%s\nmsg\n", hex,
			 people);
	} else {
		snprintf(text, sizeof(text),
			 "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n%s\nmsg\n", people);
	}
	return put_raw(b, GKV_OBJ_COMMIT, text);
}

#define PEOPLE "author A <a> 1 +0000\ncommitter C <c> 5 +0000\n"

/* The walk's next (or its pushes) fail with code, naming the object. */
static void assert_walk_fails(gkv_repo *r, const gkv_oid *push, int code, const gkv_oid *culprit,
			      const char *why)
{
	char hex[GKV_OID_HEXSZ + 1];
	gkv_revwalk *w;
	gkv_oid id;
	int rc;

	assert_ok(gkv_revwalk_new(&w, r));
	rc = gkv_revwalk_push(w, push);
	while (rc == 0)
		rc = gkv_revwalk_next(&id, w);
	assert_rc(code, rc);
	gkv_oid_fmt(hex, culprit);
	if (!strstr(gkv_error_last(), hex) || !strstr(gkv_error_last(), why))
		fail_msg("error '%s' does not name %s and say '%s'", gkv_error_last(), hex, why);
	gkv_revwalk_free(w);
}

/*
 * Commits the walk only skims (it keeps tree, parents and committer time)
 * are still checked whole: a broken author, a bad header after the
 * committer, a parent that is no commit all stop the walk, the merge
 * base and is-ancestor, with the object named.
 */
static void test_malformed_history(void **state)
{
	env *e = *state;
	char dir[128];
	gkv_backend *b;
	gkv_repo *r;
	gkv_oid good, bad_author, bad_header, top1, top2, blob, top3, top4, id, out;
	gkv_oidarray arr = {NULL, 0};
	int anc;

	if (e->dir[0]) {
		snprintf(dir, sizeof(dir), "%s/raw", e->dir);
		assert_ok(gkv_backend_lmdb_open(&b, dir, GKV_LMDB_CREATE | GKV_LMDB_NOSYNC));
	} else {
		assert_ok(gkv_backend_mem_new(&b));
	}
	assert_ok(gkv_repo_open_backend(&r, b, NULL));
	put_raw(b, GKV_OBJ_TREE, ""); /* the empty tree, which every commit here has */
	good = put_commit(b, NULL, PEOPLE);
	bad_author = put_commit(b, &good, "author A <a> 1 +0060\ncommitter C <c> 5 +0000\n");
	top1 = put_commit(b, &bad_author, PEOPLE);
	bad_header =
	    put_commit(b, &good, PEOPLE "parent 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n");
	top2 = put_commit(b, &bad_header, PEOPLE);
	blob = put_raw(b, GKV_OBJ_BLOB, "not a commit\n");
	top3 = put_commit(b, &blob, PEOPLE);
	memset(&id, 0x77, sizeof(id));
	top4 = put_commit(b, &id, PEOPLE);

	assert_walk(r, &good, 1, NULL, 0, &good, 1);
	assert_walk_fails(r, &top1, GKV_E_CORRUPT, &bad_author, "bad zone in signature");
	assert_walk_fails(r, &bad_author, GKV_E_CORRUPT, &bad_author, "bad zone");
	assert_walk_fails(r, &top2, GKV_E_CORRUPT, &bad_header, "misordered header");
	assert_walk_fails(r, &top3, GKV_E_INVALID, &blob, "not a commit");
	assert_walk_fails(r, &top4, GKV_E_NOTFOUND, &id, "not found");

	assert_rc(GKV_E_CORRUPT, gkv_merge_bases(&arr, r, &top1, &top2));
	assert_int_equal(0, arr.count);
	assert_rc(GKV_E_INVALID, gkv_merge_bases(&arr, r, &top3, &good));
	assert_rc(GKV_E_CORRUPT, gkv_is_ancestor(&anc, r, &good, &top1));
	assert_rc(GKV_E_NOTFOUND, gkv_is_ancestor(&anc, r, &good, &top4));
	/* The path searches read the same commits. */
	assert_rc(GKV_E_CORRUPT, gkv_history_first_change(&out, r, &top1, "a"));
	assert_non_null(strstr(gkv_error_last(), "bad zone"));
	assert_rc(GKV_E_CORRUPT, gkv_history_last_change(&out, r, &top2, "a"));
	assert_non_null(strstr(gkv_error_last(), "misordered header"));
	assert_rc(GKV_E_INVALID, gkv_history_last_change(&out, r, &top3, "a"));
	gkv_repo_free(r);
}

/* ---------------------------------------------------------------- main */

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_linear, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_branch_merge, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_octopus, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_criss_cross, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unrelated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hide, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_equal_times, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_clock_skew, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_long_chain, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_path_changes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_empty_root, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_removed_readded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_merge_changes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed_history, setup, teardown),
	};
	int failed = 0;

	failed += cmocka_run_group_tests_name("history/mem", tests, use_mem, NULL);
	failed += cmocka_run_group_tests_name("history/lmdb", tests, use_lmdb, NULL);
	return failed ? 1 : 0;
}
