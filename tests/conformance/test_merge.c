/*
 * test_merge.c -- three-way merges on every backend: the scenarios Irmin
 * tests (simple merges, concurrent tree updates, unrelated histories,
 * criss-cross histories with two common ancestors, many writers merging
 * counter increments into one branch), the contents merge functions, the
 * ways to choose them, and that a conflict moves nothing.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conformance.h"

/* Make branch `name` at the head of `from`. */
static void branch_from(conf_env *env, const char *name, const char *from)
{
	gkv_oid h = conf_branch_head(env->repo, from);

	assert_ok(gkv_branch_create(env->repo, name, &h));
}

static gkv_store *open_branch(conf_env *env, const char *name)
{
	gkv_store *s = NULL;

	assert_ok(gkv_store_open_branch(&s, env->repo, name));
	return s;
}

/* Merge branch `from` into `into`; returns the code, *out the new head. */
static int merge_branch(conf_env *env, gkv_oid *out, gkv_conflicts **c, const char *into,
    const char *from, const gkv_merge_options *opts)
{
	gkv_oid f = conf_branch_head(env->repo, from);

	return gkv_merge_into_branch(out, c, env->repo, into, &f, opts, NULL);
}

static void simple_merge_has_both_sides(void **state)
{
	conf_env *env = *state;
	gkv_store *x;
	gkv_oid base, mh, xh, out;
	gkv_commit *c;

	base = conf_set(env->store, "a", "1");
	branch_from(env, "x", "main");
	x = open_branch(env, "x");
	xh = conf_set(x, "dir/b", "2");
	mh = conf_set(env->store, "dir/c", "3");
	assert_ok(merge_branch(env, &out, NULL, "main", "x", NULL));
	assert_value(env->store, "a", "1");
	assert_value(env->store, "dir/b", "2");
	assert_value(env->store, "dir/c", "3");
	assert_ok(gkv_commit_lookup(&c, env->repo, &out));
	assert_int_equal(gkv_commit_parentcount(c), 2);
	assert_oid_eq(gkv_commit_parent_id(c, 0), &mh);
	assert_oid_eq(gkv_commit_parent_id(c, 1), &xh);
	gkv_commit_free(c);
	/* The other branch did not move. */
	out = conf_branch_head(env->repo, "x");
	assert_oid_eq(&out, &xh);
	(void)base;
	gkv_store_free(x);
}

static void fast_forward_and_up_to_date(void **state)
{
	conf_env *env = *state;
	gkv_store *x;
	gkv_oid base, xh, out;

	base = conf_set(env->store, "a", "1");
	branch_from(env, "x", "main");
	x = open_branch(env, "x");
	conf_set(x, "b", "2");
	xh = conf_set(x, "c", "3");
	/* main is behind x: fast-forward, no new commit. */
	assert_ok(merge_branch(env, &out, NULL, "main", "x", NULL));
	assert_oid_eq(&out, &xh);
	out = conf_head(env->store);
	assert_oid_eq(&out, &xh);
	/* Merging an ancestor changes nothing. */
	assert_ok(gkv_merge_into_branch(&out, NULL, env->repo, "main", &base, NULL, NULL));
	assert_oid_eq(&out, &xh);
	out = conf_head(env->store);
	assert_oid_eq(&out, &xh);
	/* no_ff makes a merge commit anyway. */
	{
		gkv_merge_options *o;
		gkv_oid m;

		assert_ok(gkv_merge_options_new(&o));
		assert_ok(gkv_merge_options_set_no_ff(o, 1));
		assert_ok(gkv_merge_commits(&m, NULL, env->repo, &base, &xh, o, NULL));
		assert_int_equal(conf_count_commits(env->repo, &m), 4);
		gkv_merge_options_free(o);
	}
	gkv_store_free(x);
}

static void conflict_moves_nothing(void **state)
{
	conf_env *env = *state;
	gkv_conflicts *c = NULL;
	gkv_store *x;
	gkv_oid out;
	char *before, *after;

	conf_set(env->store, "a", "1");
	conf_set(env->store, "d/v", "1");
	branch_from(env, "x", "main");
	x = open_branch(env, "x");
	conf_set(x, "a", "x");
	conf_set(x, "d/v", "x");
	conf_set(x, "e", "value on x");
	conf_set(x, "f", "same");
	conf_set(env->store, "a", "main");
	conf_remove(env->store, "d/v");
	conf_set(env->store, "e/inner", "directory on main");
	conf_set(env->store, "f", "same");
	before = conf_state(env->repo);
	assert_rc(GKV_E_CONFLICT, merge_branch(env, &out, &c, "main", "x", NULL));
	assert_msg_has("conflict");
	after = conf_state(env->repo);
	assert_string_equal(before, after);
	assert_non_null(c);
	assert_int_equal(gkv_conflicts_count(c), 3);
	assert_string_equal(gkv_conflicts_path(c, 0), "a");
	assert_string_equal(gkv_conflicts_path(c, 1), "d/v");
	assert_string_equal(gkv_conflicts_path(c, 2), "e");
	assert_non_null(strstr(gkv_conflicts_reason(c, 0), "both sides changed"));
	assert_non_null(strstr(gkv_conflicts_reason(c, 1), "removed"));
	assert_non_null(strstr(gkv_conflicts_reason(c, 2), "directory"));
	gkv_conflicts_free(c);
	free(before);
	free(after);
	gkv_store_free(x);
}

static void concurrent_tree_updates_merge(void **state)
{
	conf_env *env = *state;
	gkv_store *x;
	gkv_oid out;
	gkv_tree *t;
	char path[64], val[16];

	for (int i = 0; i < 20; i++) {
		snprintf(path, sizeof(path), "shared/k%d", i);
		conf_set(env->store, path, "0");
	}
	branch_from(env, "x", "main");
	x = open_branch(env, "x");
	/* Both sides change many different paths of the same directories. */
	for (int i = 0; i < 20; i++) {
		snprintf(path, sizeof(path), "shared/k%d", i);
		snprintf(val, sizeof(val), "%d", i);
		conf_set(i % 2 ? x : env->store, path, val);
		snprintf(path, sizeof(path), "%s/new%d", i % 2 ? "x" : "main", i);
		conf_set(i % 2 ? x : env->store, path, val);
	}
	conf_remove(x, "shared/k0"); /* changed on main? no: k0 set on main to "0" (same) */
	assert_ok(merge_branch(env, &out, NULL, "main", "x", NULL));
	assert_ok(gkv_store_tree(&t, env->store));
	for (int i = 1; i < 20; i++) {
		snprintf(path, sizeof(path), "shared/k%d", i);
		snprintf(val, sizeof(val), "%d", i);
		assert_tree_value(t, path, val);
	}
	{
		gkv_kind k;

		assert_ok(gkv_tree_kind(&k, t, "shared/k0"));
		assert_int_equal(k, GKV_KIND_NONE);
	}
	assert_tree_value(t, "x/new1", "1");
	assert_tree_value(t, "main/new2", "2");
	gkv_tree_free(t);
	gkv_store_free(x);
}

static void unrelated_histories_merge_against_empty(void **state)
{
	conf_env *env = *state;
	gkv_store *y;
	gkv_oid out, yh;
	gkv_oidarray bases = {NULL, 0};
	gkv_conflicts *c = NULL;
	gkv_oid mh;

	mh = conf_set(env->store, "a", "main");
	y = open_branch(env, "y");
	yh = conf_set(y, "b", "y");
	assert_ok(gkv_merge_bases(&bases, env->repo, &mh, &yh));
	assert_int_equal(bases.count, 0);
	gkv_oidarray_dispose(&bases);
	assert_ok(merge_branch(env, &out, NULL, "main", "y", NULL));
	assert_value(env->store, "a", "main");
	assert_value(env->store, "b", "y");
	/* The same path added differently on both: a conflict. */
	conf_set(y, "a", "y");
	conf_set(env->store, "z", "1");
	{
		gkv_store *w = open_branch(env, "w");

		conf_set(w, "a", "w");
		assert_rc(GKV_E_CONFLICT, merge_branch(env, &out, &c, "main", "w", NULL));
		assert_int_equal(gkv_conflicts_count(c), 1);
		assert_string_equal(gkv_conflicts_path(c, 0), "a");
		gkv_conflicts_free(c);
		gkv_store_free(w);
	}
	gkv_store_free(y);
}

/*
 * Criss-cross: B; X1 = B+x, Y1 = B+y; a = merge(X1, Y1); b = merge(Y1, X1);
 * a and b have two lowest common ancestors, X1 and Y1.
 */
static void criss_cross_uses_a_virtual_base(void **state)
{
	conf_env *env = *state;
	gkv_oid b, x1, y1, ma, mb, pa, pb, out, par[2];
	gkv_oidarray bases = {NULL, 0};
	gkv_store *sa, *sb;

	b = conf_commit(env->repo, NULL, 0, 1000, "k", "base");
	x1 = conf_commit(env->repo, &b, 1, 1001, "x", "1");
	y1 = conf_commit(env->repo, &b, 1, 1002, "y", "1");
	par[0] = x1;
	par[1] = y1;
	assert_ok(gkv_merge_commits(&ma, NULL, env->repo, &x1, &y1, NULL, NULL));
	par[0] = y1;
	par[1] = x1;
	{
		gkv_info *info = conf_info("other merge\n", 1003);

		assert_ok(gkv_merge_commits(&mb, NULL, env->repo, &y1, &x1, NULL, info));
		gkv_info_free(info);
	}
	assert_false(gkv_oid_equal(&ma, &mb));
	assert_ok(gkv_branch_create(env->repo, "a", &ma));
	assert_ok(gkv_branch_create(env->repo, "b", &mb));
	assert_ok(gkv_merge_bases(&bases, env->repo, &ma, &mb));
	assert_int_equal(bases.count, 2);
	gkv_oidarray_dispose(&bases);
	sa = open_branch(env, "a");
	sb = open_branch(env, "b");
	pa = conf_set(sa, "p", "a");
	pb = conf_set(sb, "q", "b");
	conf_set(sb, "k", "changed on b");
	assert_ok(merge_branch(env, &out, NULL, "a", "b", NULL));
	assert_value(sa, "x", "1");
	assert_value(sa, "y", "1");
	assert_value(sa, "p", "a");
	assert_value(sa, "q", "b");
	assert_value(sa, "k", "changed on b");
	(void)pa;
	(void)pb;
	(void)par;
	gkv_store_free(sa);
	gkv_store_free(sb);
}

/* ---- contents merge functions ---- */

/* Three commits base -> ours, base -> theirs on one path; returns the merge code. */
static int merge_values(conf_env *env, gkv_oid *out, gkv_conflicts **c, const char *path,
    const char *base, const char *ours, const char *theirs, int64_t tours, int64_t ttheirs,
    const gkv_merge_options *opts)
{
	gkv_oid b, o, t;
	gkv_store *so, *st;
	gkv_info *io = conf_info("ours\n", tours), *it = conf_info("theirs\n", ttheirs);
	int rc;

	so = open_branch(env, "ours");
	st = open_branch(env, "theirs");
	assert_ok(gkv_store_set(&b, so, ".keep", "", 0, NULL));
	if (base)
		assert_ok(gkv_store_set(&b, so, path, base, strlen(base), NULL));
	assert_ok(gkv_branch_create(env->repo, "theirs", &b));
	if (ours)
		assert_ok(gkv_store_set(&o, so, path, ours, strlen(ours), io));
	else
		assert_ok(gkv_store_remove(&o, so, path, io));
	if (theirs)
		assert_ok(gkv_store_set(&t, st, path, theirs, strlen(theirs), it));
	else
		assert_ok(gkv_store_remove(&t, st, path, it));
	rc = gkv_merge_into_branch(out, c, env->repo, "ours", &t, opts, NULL);
	gkv_info_free(io);
	gkv_info_free(it);
	gkv_store_free(so);
	gkv_store_free(st);
	return rc;
}

static char *value_at(conf_env *env, const char *branch, const char *path, int *found)
{
	gkv_store *s = open_branch(env, branch);
	gkv_buf b = {NULL, 0};
	char *r;

	assert_ok(gkv_store_find(&b, found, s, path));
	r = calloc(1, b.size + 1);
	if (b.size)
		memcpy(r, b.ptr, b.size);
	gkv_buf_dispose(&b);
	gkv_store_free(s);
	return r;
}

static gkv_merge_options *opts_with(const char *pattern, gkv_merge_fn fn)
{
	gkv_merge_options *o;

	assert_ok(gkv_merge_options_new(&o));
	assert_ok(gkv_merge_options_add_rule(o, pattern, fn));
	return o;
}

static void assert_merged(conf_env *env, const char *path, const char *want)
{
	int found;
	char *v = value_at(env, "ours", path, &found);

	if (want) {
		assert_true(found);
		assert_string_equal(v, want);
	} else {
		assert_false(found);
	}
	free(v);
}

static void counter_sums_deltas(void **state)
{
	conf_env *env = *state;
	gkv_merge_options *o = opts_with("*.count", GKV_MERGE_FN_COUNTER);
	gkv_oid out;

	assert_ok(merge_values(env, &out, NULL, "hits.count", "10", "15", "7", 1, 2, o));
	assert_merged(env, "hits.count", "12");
	gkv_merge_options_free(o);
}

static void counter_absent_reads_zero(void **state)
{
	conf_env *env = *state;
	gkv_merge_options *o = opts_with("*.count", GKV_MERGE_FN_COUNTER);
	gkv_oid out;

	/* No base: 5 + 3 - 0. */
	assert_ok(merge_values(env, &out, NULL, "a.count", NULL, "5", "3", 1, 2, o));
	assert_merged(env, "a.count", "8");
	gkv_merge_options_free(o);
}

static void counter_removed_on_one_side(void **state)
{
	conf_env *env = *state;
	gkv_merge_options *o = opts_with("*.count", GKV_MERGE_FN_COUNTER);
	gkv_oid out;

	/* Ours removed (0), theirs 13 from base 10: 0 + 13 - 10 = 3. */
	assert_ok(merge_values(env, &out, NULL, "a.count", "10", NULL, "13", 1, 2, o));
	assert_merged(env, "a.count", "3");
	gkv_merge_options_free(o);
}

static void counter_rejects_garbage_and_overflow(void **state)
{
	conf_env *env = *state;
	gkv_merge_options *o = opts_with("*.count", GKV_MERGE_FN_COUNTER);
	gkv_conflicts *c = NULL;
	gkv_oid out;

	assert_rc(GKV_E_CONFLICT, merge_values(env, &out, &c, "a.count", "1", "2", "many", 1, 2, o));
	assert_int_equal(gkv_conflicts_count(c), 1);
	assert_non_null(strstr(gkv_conflicts_reason(c, 0), "counter"));
	gkv_conflicts_free(c);
	gkv_merge_options_free(o);
}

static void counter_overflow_is_conflict(void **state)
{
	conf_env *env = *state;
	gkv_merge_options *o = opts_with("*.count", GKV_MERGE_FN_COUNTER);
	gkv_conflicts *c = NULL;
	gkv_oid out;

	assert_rc(GKV_E_CONFLICT, merge_values(env, &out, &c, "a.count", "0",
	    "9223372036854775807", "1", 1, 2, o));
	gkv_conflicts_free(c);
	gkv_merge_options_free(o);
}

static void lww_takes_the_later_commit(void **state)
{
	conf_env *env = *state;
	gkv_merge_options *o = opts_with("cfg/*", GKV_MERGE_FN_LWW);
	gkv_oid out;

	assert_ok(merge_values(env, &out, NULL, "cfg/x", "0", "ours", "theirs", 2000, 1000, o));
	assert_merged(env, "cfg/x", "ours");
	gkv_merge_options_free(o);
}

static void lww_theirs_later(void **state)
{
	conf_env *env = *state;
	gkv_merge_options *o = opts_with("cfg/*", GKV_MERGE_FN_LWW);
	gkv_oid out;

	assert_ok(merge_values(env, &out, NULL, "cfg/x", "0", "ours", "theirs", 1000, 2000, o));
	assert_merged(env, "cfg/x", "theirs");
	gkv_merge_options_free(o);
}

static void lww_removal_can_win(void **state)
{
	conf_env *env = *state;
	gkv_merge_options *o = opts_with("cfg/*", GKV_MERGE_FN_LWW);
	gkv_oid out;

	assert_ok(merge_values(env, &out, NULL, "cfg/x", "0", "ours", NULL, 1000, 2000, o));
	assert_merged(env, "cfg/x", NULL);
	gkv_merge_options_free(o);
}

static void lines_union_respects_removals(void **state)
{
	conf_env *env = *state;
	gkv_merge_options *o = opts_with("*.set", GKV_MERGE_FN_LINES);
	gkv_oid out;

	assert_ok(merge_values(env, &out, NULL, "tags.set", "a\nb\n", "a\nb\nc\n", "b\nd\n", 1, 2, o));
	assert_merged(env, "tags.set", "b\nc\nd\n");
	gkv_merge_options_free(o);
}

static void lines_without_base_is_union(void **state)
{
	conf_env *env = *state;
	gkv_merge_options *o = opts_with("*.set", GKV_MERGE_FN_LINES);
	gkv_oid out;

	assert_ok(merge_values(env, &out, NULL, "tags.set", NULL, "z\nb", "a\nb\n", 1, 2, o));
	assert_merged(env, "tags.set", "a\nb\nz\n");
	gkv_merge_options_free(o);
}

static void lines_empty_result_removes_path(void **state)
{
	conf_env *env = *state;
	gkv_merge_options *o = opts_with("*.set", GKV_MERGE_FN_LINES);
	gkv_oid out;

	/* Ours removed "a", theirs removed the file: nothing left. */
	assert_ok(merge_values(env, &out, NULL, "t.set", "a\nb\n", "b\n", NULL, 1, 2, o));
	assert_merged(env, "t.set", NULL);
	gkv_merge_options_free(o);
}

static void gitattributes_choose_the_function(void **state)
{
	conf_env *env = *state;
	gkv_store *x;
	gkv_oid out;

	conf_set(env->store, ".gitattributes", "# counters\n*.count merge=counter\nlog/* merge=lines\n");
	conf_set(env->store, "n.count", "1");
	conf_set(env->store, "log/l", "start\n");
	branch_from(env, "x", "main");
	x = open_branch(env, "x");
	conf_set(x, "n.count", "3");
	conf_set(x, "log/l", "start\nfrom x\n");
	conf_set(env->store, "n.count", "2");
	conf_set(env->store, "log/l", "start\nfrom main\n");
	assert_ok(merge_branch(env, &out, NULL, "main", "x", NULL));
	assert_value(env->store, "n.count", "4");
	assert_value(env->store, "log/l", "from main\nfrom x\nstart\n");
	gkv_store_free(x);
}

/* A .gitattributes with CRLF line ends, or bytes after a NUL, reads as
 * git reads it: the CR is a blank, and nothing after the NUL counts. */
static void gitattributes_read_as_git_reads_them(void **state)
{
	conf_env *env = *state;
	static const char attrs[] = "*.count merge=counter\r\n*.v merge=lww\r\n\0* merge=lww\n";
	gkv_conflicts *c = NULL;
	gkv_store *x;
	gkv_oid out;

	assert_ok(gkv_store_set(NULL, env->store, ".gitattributes", attrs, sizeof(attrs) - 1, NULL));
	conf_set(env->store, "n.count", "1");
	conf_set(env->store, "t", "base");
	branch_from(env, "x", "main");
	x = open_branch(env, "x");
	conf_set(x, "n.count", "3");
	conf_set(x, "t", "theirs");
	conf_set(env->store, "n.count", "2");
	conf_set(env->store, "t", "ours");
	/* t conflicts: the "* merge=lww" after the NUL is not read */
	assert_rc(GKV_E_CONFLICT, merge_branch(env, &out, &c, "main", "x", NULL));
	assert_int_equal(gkv_conflicts_count(c), 1);
	assert_string_equal(gkv_conflicts_path(c, 0), "t");
	gkv_conflicts_free(c);
	conf_set(x, "t", "ours");
	assert_ok(merge_branch(env, &out, NULL, "main", "x", NULL));
	assert_value(env->store, "n.count", "4");
	gkv_store_free(x);
}

/*
 * Merge rules come from ours and the base, never from theirs alone: a
 * branch that adds a .gitattributes saying "lww" cannot win a conflict
 * on our paths with it, nor turn a value into a counter.
 */
static void gitattributes_of_theirs_alone_do_not_decide(void **state)
{
	conf_env *env = *state;
	gkv_conflicts *c = NULL;
	gkv_store *x;
	gkv_oid out;

	conf_set(env->store, "a.v", "base");
	conf_set(env->store, "n.count", "1");
	branch_from(env, "x", "main");
	x = open_branch(env, "x");
	conf_set(x, ".gitattributes", "* merge=lww\n*.count merge=counter\n");
	conf_set(x, "a.v", "theirs");
	conf_set(x, "n.count", "3");
	conf_set(env->store, "a.v", "ours");
	conf_set(env->store, "n.count", "2");
	assert_rc(GKV_E_CONFLICT, merge_branch(env, &out, &c, "main", "x", NULL));
	assert_non_null(c);
	assert_int_equal(gkv_conflicts_count(c), 2);
	gkv_conflicts_free(c);
	assert_value(env->store, "a.v", "ours");
	assert_value(env->store, "n.count", "2");

	/* Ours adopts the rules: from then on they decide (a.v by the last
	 * writer, n.count as a counter: 2 + 3 - 1). */
	conf_set(env->store, ".gitattributes", "* merge=lww\n*.count merge=counter\n");
	assert_ok(merge_branch(env, &out, NULL, "main", "x", NULL));
	assert_value(env->store, "n.count", "4");
	gkv_store_free(x);
}

static int upper_cb(gkv_buf *out, int *present, const char *path, const void *base,
    size_t base_len, int base_present, const void *ours, size_t ours_len, int ours_present,
    const void *theirs, size_t theirs_len, int theirs_present, void *payload)
{
	(void)base;
	(void)base_len;
	(void)base_present;
	(*(int *)payload)++;
	if (strncmp(path, "cb/", 3) != 0)
		return GKV_MERGE_PASS;
	if (!ours_present || !theirs_present)
		return GKV_E_CONFLICT;
	out->ptr = malloc(ours_len + theirs_len + 1);
	memcpy(out->ptr, ours, ours_len);
	out->ptr[ours_len] = '+';
	memcpy(out->ptr + ours_len + 1, theirs, theirs_len);
	out->size = ours_len + theirs_len + 1;
	*present = 1;
	return 0;
}

static void callback_decides_or_passes(void **state)
{
	conf_env *env = *state;
	gkv_merge_options *o;
	int calls = 0;
	gkv_oid out;

	assert_ok(gkv_merge_options_new(&o));
	assert_ok(gkv_merge_options_set_callback(o, upper_cb, &calls));
	assert_ok(merge_values(env, &out, NULL, "cb/v", "0", "o", "t", 1, 2, o));
	assert_merged(env, "cb/v", "o+t");
	assert_int_equal(calls, 1);
	gkv_merge_options_free(o);
}

static void callback_pass_falls_back_to_default(void **state)
{
	conf_env *env = *state;
	gkv_merge_options *o;
	gkv_conflicts *c = NULL;
	int calls = 0;
	gkv_oid out;

	assert_ok(gkv_merge_options_new(&o));
	assert_ok(gkv_merge_options_set_callback(o, upper_cb, &calls));
	assert_rc(GKV_E_CONFLICT, merge_values(env, &out, &c, "other", "0", "o", "t", 1, 2, o));
	assert_int_equal(calls, 1);
	gkv_conflicts_free(c);
	/* The default can be changed. */
	assert_ok(gkv_merge_options_set_default(o, GKV_MERGE_FN_LWW));
	gkv_merge_options_free(o);
}

static void merge_trees_without_commits(void **state)
{
	conf_env *env = *state;
	gkv_tree *e, *b, *o, *t, *r = NULL;
	gkv_conflicts *c = NULL;

	assert_ok(gkv_tree_empty(&e, env->repo));
	assert_ok(gkv_tree_set(&b, e, "k", "0", 1));
	assert_ok(gkv_tree_set(&o, b, "o", "1", 1));
	assert_ok(gkv_tree_set(&t, b, "t", "1", 1));
	assert_ok(gkv_merge_trees(&r, &c, b, o, t, NULL));
	assert_null(c);
	assert_tree_value(r, "k", "0");
	assert_tree_value(r, "o", "1");
	assert_tree_value(r, "t", "1");
	gkv_tree_free(r);
	gkv_tree_free(t);
	assert_ok(gkv_tree_set(&t, b, "o", "2", 1));
	assert_rc(GKV_E_CONFLICT, gkv_merge_trees(&r, &c, b, o, t, NULL));
	assert_null(r);
	assert_int_equal(gkv_conflicts_count(c), 1);
	gkv_conflicts_free(c);
	/* NULL base: the empty tree. */
	gkv_tree_free(t);
	assert_ok(gkv_tree_set(&t, e, "x", "1", 1));
	assert_ok(gkv_merge_trees(&r, NULL, NULL, o, t, NULL));
	assert_tree_value(r, "x", "1");
	assert_tree_value(r, "k", "0");
	gkv_tree_free(r);
	assert_rc(GKV_E_INVALID, gkv_merge_trees(&r, NULL, NULL, NULL, t, NULL));
	gkv_tree_free(e);
	gkv_tree_free(b);
	gkv_tree_free(o);
	gkv_tree_free(t);
}

static void bad_arguments_are_invalid(void **state)
{
	conf_env *env = *state;
	gkv_oid h = conf_set(env->store, "a", "1"), bogus, out;
	char *before = conf_state(env->repo), *after;

	memset(&bogus, 0x42, sizeof(bogus));
	assert_rc(GKV_E_INVALID, gkv_merge_into_branch(&out, NULL, env->repo, "a..b", &h, NULL, NULL));
	assert_rc(GKV_E_NOTFOUND, gkv_merge_into_branch(&out, NULL, env->repo, "main", &bogus, NULL, NULL));
	assert_rc(GKV_E_INVALID, gkv_merge_commits(&out, NULL, env->repo, &h, NULL, NULL, NULL));
	assert_rc(GKV_E_INVALID, gkv_merge_options_add_rule(NULL, "*", GKV_MERGE_FN_LWW));
	after = conf_state(env->repo);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

/* ---- transactions with the merge strategy ---- */

static void txn_merge_strategy_merges_moved_head(void **state)
{
	conf_env *env = *state;
	gkv_store *other;
	gkv_txn *txn;
	gkv_oid h0, h1, out;

	h0 = conf_set(env->store, "a", "1");
	assert_ok(gkv_txn_begin(&txn, env->store));
	assert_ok(gkv_txn_set(txn, "t/x", "txn", 3));
	other = open_branch(env, "main");
	h1 = conf_set(other, "o/y", "other");
	assert_ok(gkv_txn_commit(&out, txn, GKV_TXN_MERGE, NULL));
	assert_value(env->store, "t/x", "txn");
	assert_value(env->store, "o/y", "other");
	assert_value(env->store, "a", "1");
	{
		gkv_oid p = conf_parent(env->repo, &out, 1);

		assert_oid_eq(&p, &h1);
	}
	(void)h0;
	gkv_txn_free(txn);
	gkv_store_free(other);
}

static void txn_merge_conflict_moves_nothing(void **state)
{
	conf_env *env = *state;
	gkv_store *other;
	gkv_txn *txn;
	gkv_oid h1, out, now;

	conf_set(env->store, "a", "1");
	assert_ok(gkv_txn_begin(&txn, env->store));
	assert_ok(gkv_txn_set(txn, "a", "txn", 3));
	other = open_branch(env, "main");
	h1 = conf_set(other, "a", "other");
	assert_rc(GKV_E_CONFLICT, gkv_txn_commit(&out, txn, GKV_TXN_MERGE, NULL));
	assert_non_null(gkv_txn_conflicts(txn));
	assert_int_equal(gkv_conflicts_count(gkv_txn_conflicts(txn)), 1);
	assert_string_equal(gkv_conflicts_path(gkv_txn_conflicts(txn), 0), "a");
	now = conf_head(env->store);
	assert_oid_eq(&now, &h1);
	gkv_txn_free(txn);
	/* With last-writer-wins for that path, the transaction wins. */
	{
		gkv_merge_options *o = opts_with("a", GKV_MERGE_FN_LWW);

		assert_ok(gkv_txn_begin(&txn, env->store));
		assert_ok(gkv_txn_set_merge_options(txn, o));
		gkv_merge_options_free(o);
		assert_ok(gkv_txn_set(txn, "a", "txn", 3));
		conf_set(other, "a", "other again");
		assert_ok(gkv_txn_commit(&out, txn, GKV_TXN_MERGE, NULL));
		assert_value(env->store, "a", "txn");
		gkv_txn_free(txn);
	}
	gkv_store_free(other);
}

/* ---- many writers merging counter increments ---- */

#define WORKERS 4
#define ROUNDS 15

typedef struct {
	gkv_repo *repo;
	int id;
	int failed;
} worker;

/* One writer: its own branch; each round sync from main, add 1, merge into main. */
static int increment_rounds(gkv_repo *repo, int id)
{
	char name[32];
	gkv_store *s = NULL;
	gkv_oid h, out;
	int rc = 0;

	snprintf(name, sizeof(name), "w%d", id);
	if ((rc = gkv_branch_head(&h, repo, "main")) < 0 || (rc = gkv_branch_create(repo, name, &h)) < 0)
		return rc;
	if ((rc = gkv_store_open_branch(&s, repo, name)) < 0)
		return rc;
	for (int r = 0; r < ROUNDS && rc == 0; r++) {
		gkv_buf v = {NULL, 0};
		gkv_info *info;
		char num[32], msg[64];
		long n;

		if ((rc = gkv_branch_head(&h, repo, "main")) < 0 ||
		    (rc = gkv_merge_into_branch(&out, NULL, repo, name, &h, NULL, NULL)) < 0)
			break;
		if ((rc = gkv_store_get(&v, s, "n.count")) < 0)
			break;
		snprintf(num, sizeof(num), "%.*s", (int)v.size, (char *)v.ptr);
		gkv_buf_dispose(&v);
		n = strtol(num, NULL, 10) + 1;
		snprintf(num, sizeof(num), "%ld", n);
		/* Each writer's commits must differ (here, by message): two
		 * identical increments of the same parent would otherwise be
		 * one and the same commit, content addressing at work. */
		snprintf(msg, sizeof(msg), "worker %d round %d\n", id, r);
		if ((rc = gkv_info_new(&info, msg)) < 0)
			break;
		rc = gkv_store_set(&h, s, "n.count", num, strlen(num), info);
		gkv_info_free(info);
		if (rc < 0)
			break;
		rc = gkv_merge_into_branch(&out, NULL, repo, "main", &h, NULL, NULL);
	}
	gkv_store_free(s);
	return rc;
}

static void *worker_main(void *arg)
{
	worker *w = arg;

	w->failed = increment_rounds(w->repo, w->id) != 0;
	return NULL;
}

static void seed_counter(conf_env *env)
{
	conf_set(env->store, ".gitattributes", "*.count merge=counter\n");
	conf_set(env->store, "n.count", "0");
}

static void threads_merging_counter_increments(void **state)
{
	conf_env *env = *state;
	pthread_t th[WORKERS];
	worker w[WORKERS];
	char want[16];

	seed_counter(env);
	for (int i = 0; i < WORKERS; i++) {
		w[i] = (worker){env->repo, i, 0};
		assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < WORKERS; i++) {
		pthread_join(th[i], NULL);
		assert_false(w[i].failed);
	}
	snprintf(want, sizeof(want), "%d", WORKERS * ROUNDS);
	assert_value(env->store, "n.count", want);
}

static void processes_merging_counter_increments(void **state)
{
	conf_env *env = *state;
	pid_t pids[WORKERS];
	char want[16];

	if (!conf_persistent())
		skip();
	seed_counter(env);
	gkv_store_free(env->store);
	gkv_repo_free(env->repo);
	env->store = NULL;
	env->repo = NULL;
	for (int i = 0; i < WORKERS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			gkv_repo *r;
			int rc;

			conf_child_init();
			if (conf_open(&r, env->uri, 0, 0) < 0)
				_exit(2);
			rc = increment_rounds(r, i);
			gkv_repo_free(r);
			_exit(rc ? 1 : 0);
		}
	}
	for (int i = 0; i < WORKERS; i++) {
		int st;

		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	conf_reopen(env);
	snprintf(want, sizeof(want), "%d", WORKERS * ROUNDS);
	assert_value(env->store, "n.count", want);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		CONF_TEST(simple_merge_has_both_sides),
		CONF_TEST(fast_forward_and_up_to_date),
		CONF_TEST(conflict_moves_nothing),
		CONF_TEST(concurrent_tree_updates_merge),
		CONF_TEST(unrelated_histories_merge_against_empty),
		CONF_TEST(criss_cross_uses_a_virtual_base),
		CONF_TEST(counter_sums_deltas),
		CONF_TEST(counter_absent_reads_zero),
		CONF_TEST(counter_removed_on_one_side),
		CONF_TEST(counter_rejects_garbage_and_overflow),
		CONF_TEST(counter_overflow_is_conflict),
		CONF_TEST(lww_takes_the_later_commit),
		CONF_TEST(lww_theirs_later),
		CONF_TEST(lww_removal_can_win),
		CONF_TEST(lines_union_respects_removals),
		CONF_TEST(lines_without_base_is_union),
		CONF_TEST(lines_empty_result_removes_path),
		CONF_TEST(gitattributes_choose_the_function),
		CONF_TEST(gitattributes_of_theirs_alone_do_not_decide),
		CONF_TEST(gitattributes_read_as_git_reads_them),
		CONF_TEST(callback_decides_or_passes),
		CONF_TEST(callback_pass_falls_back_to_default),
		CONF_TEST(merge_trees_without_commits),
		CONF_TEST(bad_arguments_are_invalid),
		CONF_TEST(txn_merge_strategy_merges_moved_head),
		CONF_TEST(txn_merge_conflict_moves_nothing),
		CONF_TEST(threads_merging_counter_increments),
		CONF_TEST(processes_merging_counter_increments),
	};

	return CONF_MAIN(argc, argv, tests);
}
