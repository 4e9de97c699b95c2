/*
 * test_history.c -- history over commit graphs built with explicit times:
 * revision walks (newest first, parents after children, push/hide, early
 * stop), ancestry, merge bases (linear, forked, criss-cross, unrelated),
 * the last and first commit that changed a path, and diffs.
 */
#include "conformance.h"

#include <stdio.h>
#include <stdlib.h>

#define T0 1700000000

static void expect_walk(gkv_repo *repo, const gkv_oid *push, size_t npush, const gkv_oid *hide,
			size_t nhide, const gkv_oid *want, size_t nwant)
{
	gkv_revwalk *walk = NULL;
	gkv_oid id;

	assert_ok(gkv_revwalk_new(&walk, repo));
	for (size_t i = 0; i < npush; i++)
		assert_ok(gkv_revwalk_push(walk, &push[i]));
	for (size_t i = 0; i < nhide; i++)
		assert_ok(gkv_revwalk_hide(walk, &hide[i]));
	for (size_t i = 0; i < nwant; i++) {
		assert_ok(gkv_revwalk_next(&id, walk));
		assert_oid_eq(&id, &want[i]);
	}
	assert_rc(GKV_ITEROVER, gkv_revwalk_next(&id, walk));
	assert_rc(GKV_ITEROVER, gkv_revwalk_next(&id, walk));
	gkv_revwalk_free(walk);
}

/* c[0..4]: a line; d: a fork from c[2], newer than all of them. */
static void build_line(gkv_repo *repo, gkv_oid c[5], gkv_oid *d)
{
	static const char *const paths[5] = {"a", "d/x", "a", "d/y", "c"};
	static const char *const values[5] = {"1", "1", "2", "1", "1"};

	for (int i = 0; i < 5; i++)
		c[i] =
		    conf_commit(repo, i ? &c[i - 1] : NULL, i ? 1 : 0, T0 + i, paths[i], values[i]);
	*d = conf_commit(repo, &c[2], 1, T0 + 10, "fork", "f");
}

static void revwalk_order_push_hide(void **state)
{
	conf_env *env = *state;
	gkv_oid c[5], d, missing;
	gkv_revwalk *walk = NULL;

	build_line(env->repo, c, &d);
	expect_walk(env->repo, &c[4], 1, NULL, 0, (gkv_oid[]){c[4], c[3], c[2], c[1], c[0]}, 5);
	expect_walk(env->repo, &c[4], 1, &c[1], 1, (gkv_oid[]){c[4], c[3], c[2]}, 3);
	expect_walk(env->repo, (gkv_oid[]){c[4], d}, 2, NULL, 0,
		    (gkv_oid[]){d, c[4], c[3], c[2], c[1], c[0]}, 6);
	expect_walk(env->repo, &d, 1, &c[4], 1, &d, 1);
	expect_walk(env->repo, (gkv_oid[]){c[4], d}, 2, &c[2], 1, (gkv_oid[]){d, c[4], c[3]}, 3);
	expect_walk(env->repo, &c[2], 1, &c[4], 1, NULL, 0);
	/* the same commit pushed twice comes out once */
	expect_walk(env->repo, (gkv_oid[]){c[1], c[1]}, 2, NULL, 0, (gkv_oid[]){c[1], c[0]}, 2);

	/* a limit is the caller stopping early: the walk is freed mid-way */
	{
		gkv_oid id;

		assert_ok(gkv_revwalk_new(&walk, env->repo));
		assert_ok(gkv_revwalk_push(walk, &c[4]));
		assert_ok(gkv_revwalk_next(&id, walk));
		assert_ok(gkv_revwalk_next(&id, walk));
		assert_oid_eq(&id, &c[3]);
		gkv_revwalk_free(walk);
	}
	assert_ok(gkv_oid_fromstr(&missing, "0123456789abcdef0123456789abcdef01234567"));
	assert_ok(gkv_revwalk_new(&walk, env->repo));
	assert_rc(GKV_E_NOTFOUND, gkv_revwalk_push(walk, &missing));
	gkv_revwalk_free(walk);
}

static void revwalk_parents_after_children(void **state)
{
	conf_env *env = *state;
	gkv_oid p, q, r;

	/* clock skew: the child claims to be older than its parent */
	p = conf_commit(env->repo, NULL, 0, T0 + 100, "p", "1");
	q = conf_commit(env->repo, &p, 1, T0, "q", "1");
	r = conf_commit(env->repo, &q, 1, T0 + 50, "r", "1");
	expect_walk(env->repo, &r, 1, NULL, 0, (gkv_oid[]){r, q, p}, 3);
}

static void walk_of_store_history(void **state)
{
	conf_env *env = *state;
	gkv_oid h[4];
	gkv_info *info;

	for (int i = 0; i < 4; i++) {
		char v[8];

		snprintf(v, sizeof(v), "%d", i);
		info = conf_info("step\n", T0 + i);
		assert_ok(gkv_store_set(&h[i], env->store, "k", v, strlen(v), info));
		gkv_info_free(info);
	}
	expect_walk(env->repo, &h[3], 1, NULL, 0, (gkv_oid[]){h[3], h[2], h[1], h[0]}, 4);
}

static void ancestry(void **state)
{
	conf_env *env = *state;
	gkv_oid c[5], d, missing;
	int out = -1;

	build_line(env->repo, c, &d);
	assert_ok(gkv_is_ancestor(&out, env->repo, &c[0], &c[4]));
	assert_int_equal(out, 1);
	assert_ok(gkv_is_ancestor(&out, env->repo, &c[4], &c[0]));
	assert_int_equal(out, 0);
	assert_ok(gkv_is_ancestor(&out, env->repo, &c[2], &c[2]));
	assert_int_equal(out, 1);
	assert_ok(gkv_is_ancestor(&out, env->repo, &d, &c[4]));
	assert_int_equal(out, 0);
	assert_ok(gkv_is_ancestor(&out, env->repo, &c[3], &d));
	assert_int_equal(out, 0);
	assert_ok(gkv_is_ancestor(&out, env->repo, &c[2], &d));
	assert_int_equal(out, 1);
	assert_ok(gkv_oid_fromstr(&missing, "0123456789abcdef0123456789abcdef01234567"));
	assert_rc(GKV_E_NOTFOUND, gkv_is_ancestor(&out, env->repo, &missing, &c[4]));
}

static void expect_bases(gkv_repo *repo, const gkv_oid *a, const gkv_oid *b, const gkv_oid *want,
			 size_t n)
{
	gkv_oidarray bases = {0};

	assert_ok(gkv_merge_bases(&bases, repo, a, b));
	assert_int_equal(bases.count, n);
	for (size_t i = 0; i < n; i++)
		assert_oid_eq(&bases.ids[i], &want[i]);
	gkv_oidarray_dispose(&bases);
	assert_int_equal(bases.count, 0);
}

static void merge_bases(void **state)
{
	conf_env *env = *state;
	gkv_oid c[5], d, b, a1, b1, a2, b2, r1, r2, sorted[2];

	build_line(env->repo, c, &d);
	expect_bases(env->repo, &c[1], &c[4], &c[1], 1);
	expect_bases(env->repo, &c[4], &c[1], &c[1], 1);
	expect_bases(env->repo, &c[3], &c[3], &c[3], 1);
	expect_bases(env->repo, &c[4], &d, &c[2], 1);
	expect_bases(env->repo, &d, &c[3], &c[2], 1);

	/* criss-cross: two lowest common ancestors */
	b = conf_commit(env->repo, NULL, 0, T0, "base", "b");
	a1 = conf_commit(env->repo, &b, 1, T0 + 1, "a1", "1");
	b1 = conf_commit(env->repo, &b, 1, T0 + 2, "b1", "1");
	a2 = conf_commit(env->repo, (gkv_oid[]){a1, b1}, 2, T0 + 3, "a2", "1");
	b2 = conf_commit(env->repo, (gkv_oid[]){b1, a1}, 2, T0 + 4, "b2", "1");
	if (gkv_oid_cmp(&a1, &b1) < 0)
		sorted[0] = a1, sorted[1] = b1;
	else
		sorted[0] = b1, sorted[1] = a1;
	expect_bases(env->repo, &a2, &b2, sorted, 2);
	expect_bases(env->repo, &b2, &a2, sorted, 2);
	expect_bases(env->repo, &a1, &b1, &b, 1);

	/* unrelated histories have none */
	r1 = conf_commit(env->repo, NULL, 0, T0, "r", "1");
	r2 = conf_commit(env->repo, NULL, 0, T0, "r", "2");
	expect_bases(env->repo, &r1, &r2, NULL, 0);
	expect_bases(env->repo, &r1, &c[4], NULL, 0);
}

static void last_and_first_change(void **state)
{
	conf_env *env = *state;
	gkv_oid c[5], d, out;

	build_line(env->repo, c, &d);
	/* c0: a=1, c1: d/x, c2: a=2, c3: d/y, c4: c; d (fork of c2): fork */
	assert_ok(gkv_history_last_change(&out, env->repo, &c[4], "a"));
	assert_oid_eq(&out, &c[2]);
	assert_ok(gkv_history_first_change(&out, env->repo, &c[4], "a"));
	assert_oid_eq(&out, &c[0]);
	assert_ok(gkv_history_last_change(&out, env->repo, &c[4], "d"));
	assert_oid_eq(&out, &c[3]);
	assert_ok(gkv_history_first_change(&out, env->repo, &c[4], "d"));
	assert_oid_eq(&out, &c[1]);
	assert_ok(gkv_history_last_change(&out, env->repo, &c[4], "d/x"));
	assert_oid_eq(&out, &c[1]);
	assert_ok(gkv_history_first_change(&out, env->repo, &c[4], "d/x"));
	assert_oid_eq(&out, &c[1]);
	assert_ok(gkv_history_last_change(&out, env->repo, &c[4], "c"));
	assert_oid_eq(&out, &c[4]);
	assert_ok(gkv_history_last_change(&out, env->repo, &c[1], "a"));
	assert_oid_eq(&out, &c[0]);
	assert_ok(gkv_history_last_change(&out, env->repo, &d, "a"));
	assert_oid_eq(&out, &c[2]);
	assert_ok(gkv_history_last_change(&out, env->repo, &d, "fork"));
	assert_oid_eq(&out, &d);
	assert_rc(GKV_E_NOTFOUND, gkv_history_last_change(&out, env->repo, &c[4], "zzz"));
	assert_msg_has("zzz");
	assert_rc(GKV_E_NOTFOUND, gkv_history_first_change(&out, env->repo, &c[4], "zzz"));
	assert_rc(GKV_E_NOTFOUND, gkv_history_last_change(&out, env->repo, &c[1], "c"));
}

static gkv_tree *tree_with(gkv_repo *repo, const char *const *kv, size_t n)
{
	gkv_tree *t = NULL, *next = NULL;

	assert_ok(gkv_tree_empty(&t, repo));
	for (size_t i = 0; i < n; i++) {
		assert_ok(gkv_tree_set(&next, t, kv[2 * i], kv[2 * i + 1], strlen(kv[2 * i + 1])));
		gkv_tree_free(t);
		t = next;
	}
	return t;
}

struct want_entry {
	const char *path;
	gkv_diff_op op;
	const char *old_value; /* NULL: none */
	const char *new_value;
	gkv_kind old_kind, new_kind;
};

static void check_diff(const gkv_diff *diff, const struct want_entry *want, size_t n)
{
	const void *v;
	size_t len;

	assert_int_equal(gkv_diff_count(diff), n);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(gkv_diff_path(diff, i), want[i].path);
		assert_int_equal(gkv_diff_op_at(diff, i), want[i].op);
		v = gkv_diff_old_value(diff, i, &len);
		if (want[i].old_value) {
			assert_non_null(v);
			assert_int_equal(len, strlen(want[i].old_value));
			assert_memory_equal(v, want[i].old_value, len);
		} else {
			assert_null(v);
		}
		v = gkv_diff_new_value(diff, i, &len);
		if (want[i].new_value) {
			assert_non_null(v);
			assert_int_equal(len, strlen(want[i].new_value));
			assert_memory_equal(v, want[i].new_value, len);
		} else {
			assert_null(v);
		}
		assert_int_equal(gkv_diff_old_kind(diff, i), want[i].old_kind);
		assert_int_equal(gkv_diff_new_kind(diff, i), want[i].new_kind);
	}
}

static void diff_trees_and_commits(void **state)
{
	conf_env *env = *state;
	static const char *const old_kv[] = {"a", "1", "b",	"2", "d/x", "3",
					     "e", "5", "s/t/u", "6", "zz",  "z"};
	static const char *const new_kv[] = {"a", "1",	 "b", "22",    "c", "4",  "d",
					     "6", "e/f", "7", "s/t/u", "6", "zz", ""};
	static const struct want_entry want[] = {
	    {"b", GKV_DIFF_CHANGED, "2", "22", GKV_KIND_VALUE, GKV_KIND_VALUE},
	    {"c", GKV_DIFF_ADDED, NULL, "4", GKV_KIND_NONE, GKV_KIND_VALUE},
	    {"d", GKV_DIFF_ADDED, NULL, "6", GKV_KIND_NONE, GKV_KIND_VALUE},
	    {"d/x", GKV_DIFF_REMOVED, "3", NULL, GKV_KIND_VALUE, GKV_KIND_NONE},
	    {"e", GKV_DIFF_REMOVED, "5", NULL, GKV_KIND_VALUE, GKV_KIND_NONE},
	    {"e/f", GKV_DIFF_ADDED, NULL, "7", GKV_KIND_NONE, GKV_KIND_VALUE},
	    {"zz", GKV_DIFF_CHANGED, "z", "", GKV_KIND_VALUE, GKV_KIND_VALUE},
	};
	static const struct want_entry back[] = {
	    {"b", GKV_DIFF_CHANGED, "22", "2", GKV_KIND_VALUE, GKV_KIND_VALUE},
	    {"c", GKV_DIFF_REMOVED, "4", NULL, GKV_KIND_VALUE, GKV_KIND_NONE},
	    {"d", GKV_DIFF_REMOVED, "6", NULL, GKV_KIND_VALUE, GKV_KIND_NONE},
	    {"d/x", GKV_DIFF_ADDED, NULL, "3", GKV_KIND_NONE, GKV_KIND_VALUE},
	    {"e", GKV_DIFF_ADDED, NULL, "5", GKV_KIND_NONE, GKV_KIND_VALUE},
	    {"e/f", GKV_DIFF_REMOVED, "7", NULL, GKV_KIND_VALUE, GKV_KIND_NONE},
	    {"zz", GKV_DIFF_CHANGED, "", "z", GKV_KIND_VALUE, GKV_KIND_VALUE},
	};
	gkv_tree *t_old = tree_with(env->repo, old_kv, 6), *t_new = tree_with(env->repo, new_kv, 7);
	gkv_diff *diff = NULL;
	gkv_oid h_old, h_new;

	assert_ok(gkv_diff_trees(&diff, t_old, t_new));
	check_diff(diff, want, sizeof(want) / sizeof(want[0]));
	gkv_diff_free(diff);
	assert_ok(gkv_diff_trees(&diff, t_new, t_old));
	check_diff(diff, back, sizeof(back) / sizeof(back[0]));
	gkv_diff_free(diff);
	assert_ok(gkv_diff_trees(&diff, t_old, t_old));
	assert_int_equal(gkv_diff_count(diff), 0);
	gkv_diff_free(diff);

	/* the same through commits made by the store */
	assert_ok(gkv_store_set_tree(&h_old, env->store, "", t_old, NULL));
	assert_ok(gkv_store_set_tree(&h_new, env->store, "", t_new, NULL));
	assert_ok(gkv_diff_commits(&diff, env->repo, &h_old, &h_new));
	check_diff(diff, want, sizeof(want) / sizeof(want[0]));
	gkv_diff_free(diff);
	assert_ok(gkv_diff_commits(&diff, env->repo, &h_new, &h_new));
	assert_int_equal(gkv_diff_count(diff), 0);
	gkv_diff_free(diff);
	gkv_tree_free(t_old);
	gkv_tree_free(t_new);
}

static void diff_from_empty_lists_every_value(void **state)
{
	conf_env *env = *state;
	static const char *const kv[] = {"b/c", "2", "a", "1", "b/a/z", "3"};
	gkv_tree *empty = NULL, *t = tree_with(env->repo, kv, 3);
	gkv_diff *diff = NULL;

	assert_ok(gkv_tree_empty(&empty, env->repo));
	assert_ok(gkv_diff_trees(&diff, empty, t));
	assert_int_equal(gkv_diff_count(diff), 3);
	assert_string_equal(gkv_diff_path(diff, 0), "a");
	assert_string_equal(gkv_diff_path(diff, 1), "b/a/z");
	assert_string_equal(gkv_diff_path(diff, 2), "b/c");
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(gkv_diff_op_at(diff, i), GKV_DIFF_ADDED);
	gkv_diff_free(diff);
	gkv_tree_free(t);
	gkv_tree_free(empty);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    CONF_TEST(revwalk_order_push_hide),
	    CONF_TEST(revwalk_parents_after_children),
	    CONF_TEST(walk_of_store_history),
	    CONF_TEST(ancestry),
	    CONF_TEST(merge_bases),
	    CONF_TEST(last_and_first_change),
	    CONF_TEST(diff_trees_and_commits),
	    CONF_TEST(diff_from_empty_lists_every_value),
	};

	return CONF_MAIN(argc, argv, tests);
}
