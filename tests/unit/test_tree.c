/*
 * test_tree.c -- unit tests of store/tree.c, the persistent tree.
 *
 * What the module promises and these tests hold it to: a change returns a
 * new tree and leaves the old one as it was (persistence); unchanged
 * subtrees are shared, not copied; ids are git's (checked against `git
 * add` + `git write-tree` and `git mktree` on the same content); git's
 * entry order (a directory sorts as "name/"); emptied directories vanish
 * up the chain; a value can replace a directory and back; a no-op change
 * gives an equal tree; the in-place variants used by transactions never
 * touch a tree handed out before; entries gitkv does not write (100755,
 * 120000, 160000) read with their kinds and survive changes to their
 * siblings; fold walks full paths in byte order, list names in byte
 * order; a corrupt stored tree, or a missing object a tree names, is an
 * error (GKV_E_CORRUPT), never a crash or a silent "absent".
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "repo.h"
#include "tree.h"
#include "unit_util.h"

#define EMPTY_TREE "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

/* ------------------------------------------------------------ helpers */

static gkv_tree *empty(gkv_repo *repo)
{
	gkv_tree *t;

	assert_ok(gkv_tree_empty(&t, repo));
	return t;
}

/* t with path set to the string value; t is released. */
static gkv_tree *with(gkv_tree *t, const char *path, const char *value)
{
	gkv_tree *n;

	assert_ok(gkv_tree_set(&n, t, path, value, strlen(value)));
	gkv_tree_free(t);
	return n;
}

static gkv_tree *without(gkv_tree *t, const char *path)
{
	gkv_tree *n;

	assert_ok(gkv_tree_remove(&n, t, path));
	gkv_tree_free(t);
	return n;
}

static void assert_value(gkv_tree *t, const char *path, const char *value)
{
	gkv_buf b;

	assert_ok(gkv_tree_get(&b, t, path));
	assert_buf_str(b, value);
	gkv_buf_dispose(&b);
}

static gkv_kind kind(gkv_tree *t, const char *path)
{
	gkv_kind k;

	assert_ok(gkv_tree_kind(&k, t, path));
	return k;
}

static gkv_oid tree_id(gkv_tree *t)
{
	gkv_oid id;

	assert_ok(gkv_tree_id(&id, t));
	return id;
}

/*
 * The tree id git computes for these files (path -> contents), built in
 * a temporary work tree with `git add` and `git write-tree`.
 */
static gkv_oid git_tree_of(const char *const *paths, const char *const *values, size_t n)
{
	char *dir = uu_tmpdir("tree-git"), out[128], file[512];
	gkv_oid id;

	assert_int_equal(0, uu_sh(NULL, 0, "git init -q '%s' 2>&1", dir));
	for (size_t i = 0; i < n; i++) {
		FILE *f;
		char *slash;

		snprintf(file, sizeof(file), "%s/%s", dir, paths[i]);
		for (slash = file + strlen(dir) + 1; (slash = strchr(slash, '/')); slash++) {
			*slash = '\0';
			mkdir(file, 0755);
			*slash = '/';
		}
		assert_non_null(f = fopen(file, "wb"));
		fwrite(values[i], 1, strlen(values[i]), f);
		fclose(f);
	}
	assert_int_equal(0, uu_sh(out, sizeof(out),
	    "cd '%s' && git -c core.autocrlf=false add -A && git write-tree", dir));
	id = uu_oid(out);
	uu_tmpdir_remove(dir);
	return id;
}

/* The same files set into a gitkv tree, in the order given. */
static gkv_tree *gkv_tree_of(gkv_repo *repo, const char *const *paths, const char *const *values,
    size_t n)
{
	gkv_tree *t = empty(repo);

	for (size_t i = 0; i < n; i++)
		t = with(t, paths[i], values[i]);
	return t;
}

/* ---------------------------------------------------------- git's ids */

static void test_empty_tree_id(void **state)
{
	gkv_repo *repo = uu_open_mem();
	gkv_tree *t = empty(repo);
	gkv_oid id = tree_id(t), want = uu_oid(EMPTY_TREE);

	(void)state;
	assert_oid_equal(&id, &want);
	assert_true(gkv_tree_is_empty(t));
	gkv_tree_free(t);
	gkv_repo_free(repo);
}

/* Names around '/' and '.': git sorts directory "a" as "a/", between "a.txt" and "a0". */
static void test_ids_match_git_ordering(void **state)
{
	static const char *const paths[] = {
	    "a0", "a/y", "a.txt", "a-b/x", "ab", "a!", "a/z/w", "b", "a-b/x.y/q", "a-b/x-y",
	};
	static const char *const values[] = {
	    "zero", "why", "text", "ex", "ab", "bang", "double", "", "q", "xy",
	};
	size_t n = sizeof(paths) / sizeof(*paths);
	gkv_repo *repo = uu_open_mem();
	gkv_tree *t = gkv_tree_of(repo, paths, values, n), *u;
	gkv_oid got = tree_id(t), want = git_tree_of(paths, values, n), written;

	(void)state;
	assert_oid_equal(&got, &want);
	/* Reverse insertion order: the same tree. */
	u = empty(repo);
	for (size_t i = n; i-- > 0;)
		u = with(u, paths[i], values[i]);
	assert_true(gkv_tree_equal(t, u));
	/* Written and read back, still git's id and git's bytes. */
	assert_ok(gkv_tree_write(&written, t));
	assert_oid_equal(&written, &want);
	gkv_tree_free(u);
	assert_ok(gkv_tree_lookup(&u, repo, &written));
	assert_value(u, "a/z/w", "double");
	assert_value(u, "b", "");
	gkv_tree_free(u);
	gkv_tree_free(t);
	gkv_repo_free(repo);
}

/*
 * Names around 8 bytes, the length a search compares without reading the
 * name (store/tree.c name_key): directories and values that share their
 * first 7, 8 or 9 bytes, with '-' and '.' just below '/' in the order.
 */
static void test_ids_match_git_ordering_long_names(void **state)
{
	static const char *const paths[] = {
	    "abcdefg/x",    "abcdefg-x",  "abcdefg.txt",   "abcdefg0",	 "abcdefgh/y",
	    "abcdefgh.txt", "abcdefgh-",  "abcdefghi",	   "abcdefghij/z", "abcdefghik",
	    "abcdefghi-j/w", "abcdef",	  "abcdefg!",	   "abcdefghij.k", "abcdefghijklmnop/q",
	    "abcdefghijklmnop.q", "abcdefghijklmno"};
	static const char *const values[] = {
	    "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15",
	    "16", "17"};
	size_t n = sizeof(paths) / sizeof(*paths);
	gkv_repo *repo = uu_open_mem();
	gkv_tree *t = gkv_tree_of(repo, paths, values, n), *u;
	gkv_oid got = tree_id(t), want = git_tree_of(paths, values, n), written;
	gkv_kind k;

	(void)state;
	assert_oid_equal(&got, &want);
	u = empty(repo);
	for (size_t i = n; i-- > 0;)
		u = with(u, paths[i], values[i]);
	assert_true(gkv_tree_equal(t, u));
	gkv_tree_free(u);
	/* Found in memory, and after a write and a read back (decoded nodes). */
	assert_ok(gkv_tree_write(&written, t));
	assert_oid_equal(&written, &want);
	assert_ok(gkv_tree_lookup(&u, repo, &written));
	for (size_t i = 0; i < n; i++) {
		assert_value(t, paths[i], values[i]);
		assert_value(u, paths[i], values[i]);
	}
	assert_ok(gkv_tree_kind(&k, u, "abcdefgh"));
	assert_int_equal(k, GKV_KIND_DIR);
	assert_ok(gkv_tree_kind(&k, u, "abcdefghij"));
	assert_int_equal(k, GKV_KIND_DIR);
	assert_ok(gkv_tree_kind(&k, u, "abcdefghi/x"));
	assert_int_equal(k, GKV_KIND_NONE);
	assert_ok(gkv_tree_kind(&k, u, "abcdefghijklmn"));
	assert_int_equal(k, GKV_KIND_NONE);
	assert_ok(gkv_tree_kind(&k, u, "abcdefgh-/x"));
	assert_int_equal(k, GKV_KIND_NONE);
	gkv_tree_free(u);
	gkv_tree_free(t);
	gkv_repo_free(repo);
}

/* A value "a" beside directories "a-b" and "a.c" and a value "a0". */
static void test_ids_match_git_value_named_like_dir(void **state)
{
	static const char *const paths[] = {"a.c/d", "a", "a0", "a-b/c"};
	static const char *const values[] = {"1", "2", "3", "4"};
	gkv_repo *repo = uu_open_mem();
	gkv_tree *t = gkv_tree_of(repo, paths, values, 4);
	gkv_oid got = tree_id(t), want = git_tree_of(paths, values, 4);

	(void)state;
	assert_oid_equal(&got, &want);
	gkv_tree_free(t);
	gkv_repo_free(repo);
}

/* --------------------------------------------------------- persistence */

static void test_old_tree_unchanged(void **state)
{
	gkv_repo *repo = uu_open_mem();
	gkv_tree *t0 = with(with(empty(repo), "a/b/c", "1"), "a/d", "2"), *t1, *t2, *t3, *sub;
	gkv_oid id0 = tree_id(t0), id;

	(void)state;
	assert_ok(gkv_tree_set(&t1, t0, "a/b/c", "changed", 7));
	assert_ok(gkv_tree_remove(&t2, t0, "a/d"));
	sub = with(empty(repo), "z", "zz");
	assert_ok(gkv_tree_set_tree(&t3, t0, "a/b", sub));

	id = tree_id(t0);
	assert_oid_equal(&id, &id0);
	assert_value(t0, "a/b/c", "1");
	assert_value(t0, "a/d", "2");
	assert_value(t1, "a/b/c", "changed");
	assert_value(t1, "a/d", "2");
	assert_int_equal(GKV_KIND_NONE, kind(t2, "a/d"));
	assert_value(t2, "a/b/c", "1");
	assert_value(t3, "a/b/z", "zz");
	assert_int_equal(GKV_KIND_NONE, kind(t3, "a/b/c"));
	/* The subtree handed to set_tree is not changed by what follows. */
	gkv_tree *t4 = with(gkv_tree_dup(t3), "a/b/more", "m");
	assert_int_equal(GKV_KIND_NONE, kind(sub, "more"));
	assert_int_equal(1, gkv_tree_equal(sub, sub));
	assert_int_equal(GKV_KIND_VALUE, kind(t4, "a/b/more"));
	assert_int_equal(GKV_KIND_NONE, kind(t3, "a/b/more"));

	/* The same with a stored (clean, cached) tree as the base. */
	gkv_oid wid;
	gkv_tree *stored, *s1;

	assert_ok(gkv_tree_write(&wid, t0));
	assert_ok(gkv_tree_lookup(&stored, repo, &wid));
	assert_ok(gkv_tree_set(&s1, stored, "a/b/c", "x", 1));
	assert_value(stored, "a/b/c", "1");
	id = tree_id(stored);
	assert_oid_equal(&id, &id0);
	gkv_tree_free(s1);
	gkv_tree_free(stored);

	gkv_tree_free(t4);
	gkv_tree_free(sub);
	gkv_tree_free(t3);
	gkv_tree_free(t2);
	gkv_tree_free(t1);
	gkv_tree_free(t0);
	gkv_repo_free(repo);
}

/* After setting a/b/x, c/ is the same subtree: the same id, the very same node. */
static void test_structural_sharing(void **state)
{
	gkv_repo *repo = uu_open_mem();
	gkv_tree *t1 = with(with(with(empty(repo), "a/b/x", "1"), "c/d", "2"), "c/e/f", "3");
	gkv_tree *t2, *c1, *c2, *s1, *s2, *sc1, *sc2;
	gkv_oid i1, i2, wid;
	uint32_t m1, m2;

	(void)state;
	assert_ok(gkv_tree_set(&t2, t1, "a/b/x", "changed", 7));
	assert_ok(gkv__tree_entry_at(&i1, &m1, t1, "c"));
	assert_ok(gkv__tree_entry_at(&i2, &m2, t2, "c"));
	assert_int_equal(GKV_MODE_TREE, m1);
	assert_int_equal(m1, m2);
	assert_oid_equal(&i1, &i2);
	assert_ok(gkv_tree_subtree(&c1, t1, "c"));
	assert_ok(gkv_tree_subtree(&c2, t2, "c"));
	assert_ptr_equal(c1, c2);
	gkv_tree_free(c1);
	gkv_tree_free(c2);
	/* a/ changed, so it is a different node with a different id. */
	assert_ok(gkv__tree_entry_at(&i1, &m1, t1, "a"));
	assert_ok(gkv__tree_entry_at(&i2, &m2, t2, "a"));
	assert_oid_not_equal(&i1, &i2);

	/* From a stored tree: c/ is loaded once (cache) and shared. */
	assert_ok(gkv_tree_write(&wid, t1));
	assert_ok(gkv_tree_lookup(&s1, repo, &wid));
	assert_ok(gkv_tree_set(&s2, s1, "a/b/y", "new", 3));
	assert_ok(gkv_tree_subtree(&sc1, s1, "c"));
	assert_ok(gkv_tree_subtree(&sc2, s2, "c"));
	assert_ptr_equal(sc1, sc2);
	assert_ok(gkv__tree_entry_at(&i1, &m1, s1, "c/e"));
	assert_ok(gkv__tree_entry_at(&i2, &m2, s2, "c/e"));
	assert_oid_equal(&i1, &i2);
	gkv_tree_free(sc1);
	gkv_tree_free(sc2);
	gkv_tree_free(s2);
	gkv_tree_free(s1);
	gkv_tree_free(t2);
	gkv_tree_free(t1);
	gkv_repo_free(repo);
}

static void test_entry_at(void **state)
{
	gkv_repo *repo = uu_open_mem();
	gkv_tree *t = with(empty(repo), "d/v", "hello");
	gkv_oid id, want, root;
	uint32_t mode;

	(void)state;
	assert_ok(gkv__tree_entry_at(&id, &mode, t, "d/v"));
	assert_ok(gkv_hash(&want, GKV_OBJ_BLOB, "hello", 5));
	assert_oid_equal(&id, &want);
	assert_int_equal(GKV_MODE_BLOB, mode);
	assert_ok(gkv__tree_entry_at(&id, &mode, t, ""));
	root = tree_id(t);
	assert_oid_equal(&id, &root);
	assert_int_equal(GKV_MODE_TREE, mode);
	assert_rc(GKV_E_NOTFOUND, gkv__tree_entry_at(&id, &mode, t, "d/nope"));
	assert_rc(GKV_E_NOTFOUND, gkv__tree_entry_at(&id, &mode, t, "nope/v"));
	assert_rc(GKV_E_NOTFOUND, gkv__tree_entry_at(&id, &mode, t, "d/v/deeper"));
	gkv_tree_free(t);
	gkv_repo_free(repo);
}

/* ------------------------------------------------------------- changes */

static void test_remove_last_entry_removes_dirs(void **state)
{
	gkv_repo *repo = uu_open_mem();
	gkv_tree *t = with(with(empty(repo), "a/b/c/d", "1"), "x", "2"), *u;
	gkv_list *l;
	gkv_oid e = uu_oid(EMPTY_TREE), id;

	(void)state;
	t = without(t, "a/b/c/d");
	assert_int_equal(GKV_KIND_NONE, kind(t, "a"));
	assert_ok(gkv_tree_list(&l, t, ""));
	assert_int_equal(1, gkv_list_count(l));
	assert_string_equal("x", gkv_list_name(l, 0));
	gkv_list_free(l);
	/* Same id as a tree that never had a/. */
	u = with(empty(repo), "x", "2");
	assert_true(gkv_tree_equal(t, u));
	gkv_tree_free(u);
	t = without(t, "x");
	assert_true(gkv_tree_is_empty(t));
	id = tree_id(t);
	assert_oid_equal(&id, &e);

	/* Removing a directory removes everything under it; siblings stay. */
	t = with(with(with(t, "p/q/r", "1"), "p/q/s", "2"), "p/t", "3");
	t = without(t, "p/q");
	assert_int_equal(GKV_KIND_NONE, kind(t, "p/q"));
	assert_value(t, "p/t", "3");
	t = without(t, "p/t");
	assert_true(gkv_tree_is_empty(t));
	gkv_tree_free(t);
	gkv_repo_free(repo);
}

static void test_remove_absent_is_same_tree(void **state)
{
	gkv_repo *repo = uu_open_mem();
	gkv_tree *t = with(with(empty(repo), "a/b", "1"), "v", "2"), *u;

	(void)state;
	assert_ok(gkv_tree_remove(&u, t, "a/zz"));
	assert_true(gkv_tree_equal(t, u));
	gkv_tree_free(u);
	assert_ok(gkv_tree_remove(&u, t, "v/under/value"));
	assert_true(gkv_tree_equal(t, u));
	assert_value(u, "v", "2");
	gkv_tree_free(u);
	assert_ok(gkv_tree_remove(&u, t, "nothing/here"));
	assert_true(gkv_tree_equal(t, u));
	gkv_tree_free(u);
	assert_rc(GKV_E_INVALID, gkv_tree_remove(&u, t, ""));
	assert_rc(GKV_E_INVALID, gkv_tree_remove(&u, t, "a//b"));
	gkv_tree_free(t);
	gkv_repo_free(repo);
}

static void test_value_replaces_dir_and_back(void **state)
{
	static const char *const p1[] = {"a.txt", "a", "a0"};
	static const char *const v1[] = {"t", "now a value", "0"};
	static const char *const p2[] = {"a.txt", "a/x/y", "a0"};
	static const char *const v2[] = {"t", "deep", "0"};
	gkv_repo *repo = uu_open_mem();
	gkv_tree *t = with(with(with(with(empty(repo), "a.txt", "t"), "a/x", "1"), "a/y/z", "2"), "a0", "0");
	gkv_oid got, want;

	(void)state;
	assert_int_equal(GKV_KIND_DIR, kind(t, "a"));
	t = with(t, "a", "now a value");
	assert_int_equal(GKV_KIND_VALUE, kind(t, "a"));
	assert_int_equal(GKV_KIND_NONE, kind(t, "a/x"));
	assert_value(t, "a", "now a value");
	got = tree_id(t);
	want = git_tree_of(p1, v1, 3);
	assert_oid_equal(&got, &want);

	/* And back: the value in the way becomes a directory. */
	t = with(t, "a/x/y", "deep");
	assert_int_equal(GKV_KIND_DIR, kind(t, "a"));
	assert_value(t, "a/x/y", "deep");
	got = tree_id(t);
	want = git_tree_of(p2, v2, 3);
	assert_oid_equal(&got, &want);

	/* set_tree over a value replaces it too. */
	gkv_tree *sub = with(empty(repo), "k", "v"), *u;

	t = with(t, "leaf", "v");
	assert_ok(gkv_tree_set_tree(&u, t, "leaf", sub));
	assert_int_equal(GKV_KIND_DIR, kind(u, "leaf"));
	assert_value(u, "leaf/k", "v");
	gkv_tree_free(u);
	gkv_tree_free(sub);
	gkv_tree_free(t);
	gkv_repo_free(repo);
}

static void test_set_same_value_is_equal(void **state)
{
	gkv_repo *repo = uu_open_mem();
	gkv_tree *t = with(with(empty(repo), "a/b", "v"), "e", ""), *u, *stored, *sub;
	gkv_oid id;

	(void)state;
	assert_ok(gkv_tree_set(&u, t, "a/b", "v", 1));
	assert_true(gkv_tree_equal(t, u));
	gkv_tree_free(u);
	assert_ok(gkv_tree_set(&u, t, "e", NULL, 0));
	assert_true(gkv_tree_equal(t, u));
	gkv_tree_free(u);
	/* On a stored tree (the value compared by id, not loaded). */
	assert_ok(gkv_tree_write(&id, t));
	assert_ok(gkv_tree_lookup(&stored, repo, &id));
	assert_ok(gkv_tree_set(&u, stored, "a/b", "v", 1));
	assert_true(gkv_tree_equal(stored, u));
	gkv_tree_free(u);
	/* set_tree with an equal subtree. */
	sub = with(empty(repo), "b", "v");
	assert_ok(gkv_tree_set_tree(&u, stored, "a", sub));
	assert_true(gkv_tree_equal(stored, u));
	gkv_tree_free(u);
	/* A different value is a change. */
	assert_ok(gkv_tree_set(&u, stored, "a/b", "w", 1));
	assert_false(gkv_tree_equal(stored, u));
	gkv_tree_free(u);
	assert_rc(GKV_E_INVALID, gkv_tree_set(&u, stored, "x", NULL, 3));
	assert_rc(GKV_E_INVALID, gkv_tree_set(&u, stored, "", "v", 1));
	assert_rc(GKV_E_INVALID, gkv_tree_set(&u, stored, "a/.git/x", "v", 1));
	gkv_tree_free(sub);
	gkv_tree_free(stored);
	gkv_tree_free(t);
	gkv_repo_free(repo);
}

static void test_set_tree(void **state)
{
	gkv_repo *repo = uu_open_mem(), *other = uu_open_mem();
	gkv_tree *t = with(empty(repo), "keep", "k"), *sub = with(with(empty(repo), "x", "1"), "y/z", "2");
	gkv_tree *u, *e = empty(repo), *foreign = with(empty(other), "f", "f");

	(void)state;
	assert_ok(gkv_tree_set_tree(&u, t, "p/q", sub));
	assert_value(u, "p/q/x", "1");
	assert_value(u, "p/q/y/z", "2");
	assert_value(u, "keep", "k");
	/* An empty subtree removes the path (and the emptied parents). */
	gkv_tree *v;

	assert_ok(gkv_tree_set_tree(&v, u, "p/q", e));
	assert_true(gkv_tree_equal(v, t));
	gkv_tree_free(v);
	/* "" replaces the whole tree. */
	assert_ok(gkv_tree_set_tree(&v, u, "", sub));
	assert_true(gkv_tree_equal(v, sub));
	gkv_tree_free(v);
	assert_rc(GKV_E_INVALID, gkv_tree_set_tree(&v, u, "p", foreign));
	assert_rc(GKV_E_INVALID, gkv_tree_set_tree(&v, u, "p", NULL));
	gkv_tree_free(u);
	gkv_tree_free(e);
	gkv_tree_free(sub);
	gkv_tree_free(t);
	gkv_tree_free(foreign);
	gkv_repo_free(other);
	gkv_repo_free(repo);
}

/* ------------------------------------------------ the in-place variants */

static void test_set_owned_in_place(void **state)
{
	gkv_repo *repo = uu_open_mem();
	gkv_tree *root = empty(repo), *before, *handed, *sub, *fresh;
	gkv_oid hid, sid, id, fid;

	(void)state;
	assert_ok(gkv__tree_set_owned(&root, "a/b", "1", 1));
	before = root;
	assert_ok(gkv__tree_set_owned(&root, "a/c", "2", 1));
	assert_ptr_equal(root, before); /* owned alone: changed in place */

	/* Ids remembered before an in-place change are forgotten by it. */
	id = tree_id(root);
	assert_ok(gkv__tree_set_owned(&root, "a/deep/er/x", "3", 1));
	fresh = with(with(with(empty(repo), "a/b", "1"), "a/c", "2"), "a/deep/er/x", "3");
	fid = tree_id(fresh);
	hid = tree_id(root);
	assert_oid_not_equal(&hid, &id);
	assert_oid_equal(&hid, &fid);
	gkv_tree_free(fresh);

	/* Hand out the root and a subtree: the next change must copy. */
	handed = gkv_tree_dup(root);
	hid = tree_id(handed);
	assert_ok(gkv_tree_subtree(&sub, root, "a/deep"));
	sid = tree_id(sub);
	assert_ok(gkv__tree_set_owned(&root, "a/deep/er/x", "changed", 7));
	assert_ok(gkv__tree_remove_owned(&root, "a/b"));
	assert_ptr_not_equal(root, handed);
	id = tree_id(handed);
	assert_oid_equal(&id, &hid);
	assert_value(handed, "a/deep/er/x", "3");
	assert_value(handed, "a/b", "1");
	id = tree_id(sub);
	assert_oid_equal(&id, &sid);
	assert_value(sub, "er/x", "3");
	assert_value(root, "a/deep/er/x", "changed");
	assert_int_equal(GKV_KIND_NONE, kind(root, "a/b"));
	gkv_tree_free(handed);
	gkv_tree_free(sub);

	/* Alone again: in place again, and the subtree given to set_tree_owned stays as it was. */
	gkv_tree *given = with(empty(repo), "g", "1");
	gkv_oid gid = tree_id(given);

	before = root;
	assert_ok(gkv__tree_set_tree_owned(&root, "t", given));
	assert_ptr_equal(root, before);
	assert_ok(gkv__tree_set_owned(&root, "t/h", "2", 1));
	id = tree_id(given);
	assert_oid_equal(&id, &gid);
	assert_int_equal(GKV_KIND_NONE, kind(given, "h"));
	assert_value(root, "t/h", "2");
	gkv_tree_free(given);
	gkv_tree_free(root);
	gkv_repo_free(repo);
}

/* A stored root is never changed in place: it is clean and cached. */
static void test_set_owned_on_stored_root(void **state)
{
	gkv_repo *repo = uu_open_mem();
	gkv_tree *t = with(empty(repo), "a/b", "1"), *stored, *root, *again;
	gkv_oid id, now;

	(void)state;
	assert_ok(gkv_tree_write(&id, t));
	assert_ok(gkv_tree_lookup(&stored, repo, &id));
	root = gkv_tree_dup(stored);
	gkv_tree_free(stored);
	/* root is now the only reference outside the cache. */
	assert_ok(gkv__tree_set_owned(&root, "a/b", "2", 1));
	assert_ok(gkv_tree_lookup(&again, repo, &id));
	now = tree_id(again);
	assert_oid_equal(&now, &id);
	assert_value(again, "a/b", "1");
	assert_value(root, "a/b", "2");
	gkv_tree_free(again);
	gkv_tree_free(root);
	gkv_tree_free(t);
	gkv_repo_free(repo);
}

/* ------------------------------------- entries gitkv does not create */

typedef struct {
	char paths[8][32];
	gkv_kind kinds[8];
	size_t lens[8];
	unsigned char values[8][32];
	size_t n;
} fold_log;

static int log_cb(const char *path, gkv_kind k, const void *value, size_t len, void *payload)
{
	fold_log *l = payload;

	assert_true(l->n < 8);
	snprintf(l->paths[l->n], sizeof(l->paths[0]), "%s", path);
	l->kinds[l->n] = k;
	l->lens[l->n] = len;
	memcpy(l->values[l->n], value, len < 32 ? len : 32);
	l->n++;
	return 0;
}

static void test_foreign_modes(void **state)
{
	gkv_repo *repo = uu_open_mem();
	gkv_backend *be = repo->backend;
	gkv_oid script, target, plain, sub = uu_oid("0123456789abcdef0123456789abcdef01234567");
	gkv_oid tid, id, want;
	uu_treebuf tb = {{0}, 0};
	gkv_tree *t, *u;
	gkv_list *l;
	gkv_buf b;
	uint32_t mode;
	int found;
	char expect[1024], out[128];
	fold_log log = {0};

	(void)state;
	uu_raw_put(&script, be, GKV_OBJ_BLOB, "#!/bin/sh\n", 10);
	uu_raw_put(&target, be, GKV_OBJ_BLOB, "target", 6);
	uu_raw_put(&plain, be, GKV_OBJ_BLOB, "plain", 5);
	uu_tree_entry(&tb, "120000", "link", &target);
	uu_tree_entry(&tb, "100755", "run", &script);
	uu_tree_entry(&tb, "160000", "sub", &sub);
	uu_tree_entry(&tb, "100644", "val", &plain);
	uu_raw_put(&tid, be, GKV_OBJ_TREE, tb.data, tb.len);

	assert_ok(gkv_tree_lookup(&t, repo, &tid));
	assert_int_equal(GKV_KIND_LINK, kind(t, "link"));
	assert_int_equal(GKV_KIND_EXEC, kind(t, "run"));
	assert_int_equal(GKV_KIND_SUBMODULE, kind(t, "sub"));
	assert_int_equal(GKV_KIND_VALUE, kind(t, "val"));
	assert_ok(gkv_tree_list(&l, t, ""));
	assert_int_equal(4, gkv_list_count(l));
	assert_int_equal(GKV_KIND_LINK, gkv_list_kind(l, 0));
	assert_int_equal(GKV_KIND_EXEC, gkv_list_kind(l, 1));
	assert_int_equal(GKV_KIND_SUBMODULE, gkv_list_kind(l, 2));
	assert_int_equal(GKV_KIND_VALUE, gkv_list_kind(l, 3));
	gkv_list_free(l);
	/* Files of every kind have contents; a submodule has none. */
	assert_value(t, "run", "#!/bin/sh\n");
	assert_value(t, "link", "target");
	assert_rc(GKV_E_NOTFOUND, gkv_tree_get(&b, t, "sub"));
	assert_ok(gkv_tree_find(&b, &found, t, "sub"));
	assert_int_equal(0, found);
	/* Fold gives the submodule's commit id as its bytes. */
	assert_ok(gkv_tree_fold(t, "", log_cb, &log));
	assert_int_equal(4, log.n);
	assert_string_equal("sub", log.paths[2]);
	assert_int_equal(GKV_KIND_SUBMODULE, log.kinds[2]);
	assert_int_equal(GKV_OID_RAWSZ, log.lens[2]);
	assert_memory_equal(sub.id, log.values[2], GKV_OID_RAWSZ);
	assert_int_equal(GKV_KIND_EXEC, log.kinds[1]);

	/* A sibling set: the other entries keep their modes and ids. */
	assert_ok(gkv_tree_set(&u, t, "new", "n", 1));
	assert_ok(gkv__tree_entry_at(&id, &mode, u, "run"));
	assert_int_equal(GKV_MODE_EXEC, mode);
	assert_oid_equal(&id, &script);
	assert_ok(gkv__tree_entry_at(&id, &mode, u, "link"));
	assert_int_equal(GKV_MODE_LINK, mode);
	assert_oid_equal(&id, &target);
	assert_ok(gkv__tree_entry_at(&id, &mode, u, "sub"));
	assert_int_equal(GKV_MODE_GITLINK, mode);
	assert_oid_equal(&id, &sub);
	/* ... and the tree is the one git makes of those entries. */
	assert_ok(gkv_hash(&want, GKV_OBJ_BLOB, "n", 1));
	snprintf(expect, sizeof(expect),
	    "120000 blob %s\tlink\n100644 blob %s\tnew\n100755 blob %s\trun\n"
	    "160000 commit %s\tsub\n100644 blob %s\tval\n",
	    uu_hex(&target), uu_hex(&want), uu_hex(&script), uu_hex(&sub), uu_hex(&plain));
	char *dir = uu_tmpdir("tree-mktree");

	assert_int_equal(0, uu_sh(NULL, 0, "git init -q '%s'", dir));
	assert_int_equal(0, uu_sh(out, sizeof(out), "cd '%s' && printf '%%s' '%s' | git mktree --missing",
	    dir, expect));
	uu_tmpdir_remove(dir);
	want = uu_oid(out);
	id = tree_id(u);
	assert_oid_equal(&id, &want);
	/* Written through gitkv: the same id. */
	assert_ok(gkv_tree_write(&id, u));
	assert_oid_equal(&id, &want);
	gkv_tree_free(u);

	/* Setting a value over an executable makes it a plain value. */
	assert_ok(gkv_tree_set(&u, t, "run", "#!/bin/sh\n", 10));
	assert_int_equal(GKV_KIND_VALUE, kind(u, "run"));
	assert_false(gkv_tree_equal(t, u));
	gkv_tree_free(u);
	/* Removing a submodule works like any entry. */
	assert_ok(gkv_tree_remove(&u, t, "sub"));
	assert_int_equal(GKV_KIND_NONE, kind(u, "sub"));
	gkv_tree_free(u);
	gkv_tree_free(t);
	gkv_repo_free(repo);
}

/* ------------------------------------------------------ order of walks */

typedef struct {
	char paths[32][32];
	size_t n;
	size_t stop_after;
} path_log;

static int path_cb(const char *path, gkv_kind k, const void *value, size_t len, void *payload)
{
	path_log *l = payload;

	(void)k;
	(void)value;
	(void)len;
	assert_true(l->n < 32);
	snprintf(l->paths[l->n++], sizeof(l->paths[0]), "%s", path);
	if (l->stop_after && l->n == l->stop_after)
		return 42;
	return 0;
}

static void test_fold_and_list_order(void **state)
{
	static const char *const paths[] = {
	    "b", "a/b/c", "a0", "a!", "a.txt", "a/b.c", "ab/x", "a/b-c", "a/b/c0", "a-",
	};
	size_t n = sizeof(paths) / sizeof(*paths);
	gkv_repo *repo = uu_open_mem();
	gkv_tree *t = empty(repo);
	path_log log = {{{0}}, 0, 0};
	gkv_list *l;
	static const char *const names[] = {"a", "a!", "a-", "a.txt", "a0", "ab", "b"};

	(void)state;
	for (size_t i = 0; i < n; i++)
		t = with(t, paths[i], paths[i]);
	assert_ok(gkv_tree_fold(t, "", path_cb, &log));
	assert_int_equal(n, log.n);
	for (size_t i = 1; i < log.n; i++)
		if (strcmp(log.paths[i - 1], log.paths[i]) >= 0)
			fail_msg("fold order: '%s' before '%s'", log.paths[i - 1], log.paths[i]);
	/* list: names in byte order (directory "a" first, unlike git's order). */
	assert_ok(gkv_tree_list(&l, t, ""));
	assert_int_equal(7, gkv_list_count(l));
	for (size_t i = 0; i < 7; i++)
		assert_string_equal(names[i], gkv_list_name(l, i));
	assert_int_equal(GKV_KIND_DIR, gkv_list_kind(l, 0));
	assert_null(gkv_list_name(l, 7));
	gkv_list_free(l);
	/* A fold under a prefix has full paths; a value folds once; absent: nothing. */
	log.n = 0;
	assert_ok(gkv_tree_fold(t, "a/b", path_cb, &log));
	assert_int_equal(2, log.n);
	assert_string_equal("a/b/c", log.paths[0]);
	assert_string_equal("a/b/c0", log.paths[1]);
	log.n = 0;
	assert_ok(gkv_tree_fold(t, "a0", path_cb, &log));
	assert_int_equal(1, log.n);
	assert_string_equal("a0", log.paths[0]);
	log.n = 0;
	assert_ok(gkv_tree_fold(t, "zz/top", path_cb, &log));
	assert_int_equal(0, log.n);
	/* A non-zero return stops the walk and is returned. */
	log.n = 0;
	log.stop_after = 3;
	assert_int_equal(42, gkv_tree_fold(t, "", path_cb, &log));
	assert_int_equal(3, log.n);
	assert_rc(GKV_E_NOTFOUND, gkv_tree_list(&l, t, "a0"));
	assert_rc(GKV_E_NOTFOUND, gkv_tree_list(&l, t, "nope"));
	gkv_tree_free(t);
	gkv_repo_free(repo);
}

/* -------------------------------------------------- corrupt or missing */

static void test_corrupt_tree_object(void **state)
{
	gkv_repo *repo = uu_open_mem();
	gkv_backend *be = repo->backend;
	gkv_oid junk = uu_oid("deadbeefdeadbeefdeadbeefdeadbeefdeadbeef"), vid, tid;
	static const char bytes[] = "this is not a tree\0\1\2";
	uu_treebuf tb = {{0}, 0};
	gkv_tree *t;
	gkv_buf b;
	gkv_list *l;
	int found;
	path_log log = {{{0}}, 0, 0};

	(void)state;
	uu_raw_write(be, &junk, GKV_OBJ_TREE, bytes, sizeof(bytes));
	assert_rc(GKV_E_CORRUPT, gkv_tree_lookup(&t, repo, &junk));
	/* Truncated: a valid entry cut in its id. */
	uu_raw_put(&vid, be, GKV_OBJ_BLOB, "v", 1);
	uu_tree_entry(&tb, "100644", "v", &vid);
	gkv_oid cut = uu_oid("cccccccccccccccccccccccccccccccccccccccc");

	uu_raw_write(be, &cut, GKV_OBJ_TREE, tb.data, tb.len - 5);
	assert_rc(GKV_E_CORRUPT, gkv_tree_lookup(&t, repo, &cut));

	/* A good tree whose subdirectory is the junk: loads lazily, fails there. */
	tb.len = 0;
	uu_tree_entry(&tb, "40000", "d", &junk);
	uu_tree_entry(&tb, "100644", "v", &vid);
	uu_raw_put(&tid, be, GKV_OBJ_TREE, tb.data, tb.len);
	assert_ok(gkv_tree_lookup(&t, repo, &tid));
	assert_value(t, "v", "v");
	assert_int_equal(GKV_KIND_DIR, kind(t, "d"));
	assert_rc(GKV_E_CORRUPT, gkv_tree_get(&b, t, "d/x"));
	assert_rc(GKV_E_CORRUPT, gkv_tree_find(&b, &found, t, "d/x"));
	assert_rc(GKV_E_CORRUPT, gkv_tree_list(&l, t, "d"));
	assert_rc(GKV_E_CORRUPT, gkv_tree_fold(t, "", path_cb, &log));
	gkv_tree *u;

	assert_rc(GKV_E_CORRUPT, gkv_tree_set(&u, t, "d/x", "1", 1));
	/* Replacing the broken directory as a whole needs no read of it. */
	assert_ok(gkv_tree_set(&u, t, "d", "1", 1));
	assert_value(u, "d", "1");
	gkv_tree_free(u);
	gkv_tree_free(t);
	gkv_repo_free(repo);
}

/*
 * A directory entry whose tree object is missing from the store, or a
 * value whose blob is: the store is damaged, which must not read as a
 * smaller store. (Found by this test as a core bug -- walk_to took the
 * backend's GKV_E_NOTFOUND for an absent path and gkv_tree_find said
 * found = 0 -- and fixed in 97d6529: GKV_E_CORRUPT naming the object.)
 */
static void test_missing_objects_are_corrupt(void **state)
{
	gkv_repo *repo = uu_open_mem();
	gkv_backend *be = repo->backend;
	gkv_oid gone = uu_oid("abababababababababababababababababababab");
	gkv_oid lost = uu_oid("cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"), tid;
	uu_treebuf tb = {{0}, 0};
	gkv_tree *t;
	gkv_buf b;
	gkv_list *l;
	gkv_kind k;
	int found = -1;

	(void)state;
	uu_tree_entry(&tb, "40000", "d", &gone);
	uu_tree_entry(&tb, "100644", "v", &lost);
	uu_raw_put(&tid, be, GKV_OBJ_TREE, tb.data, tb.len);
	assert_ok(gkv_tree_lookup(&t, repo, &tid));
	assert_rc(GKV_E_CORRUPT, gkv_tree_list(&l, t, "d"));
	assert_rc(GKV_E_CORRUPT, gkv_tree_get(&b, t, "d/x"));
	assert_rc(GKV_E_CORRUPT, gkv_tree_find(&b, &found, t, "d/x"));
	assert_non_null(strstr(gkv_error_last(), "abababababababababababababababababababab"));
	assert_rc(GKV_E_CORRUPT, gkv_tree_kind(&k, t, "d/x"));
	assert_rc(GKV_E_CORRUPT, gkv_tree_get(&b, t, "v"));
	assert_rc(GKV_E_CORRUPT, gkv_tree_find(&b, &found, t, "v"));
	assert_non_null(strstr(gkv_error_last(), "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"));
	/* Kinds need no object: both still read. */
	assert_int_equal(GKV_KIND_DIR, kind(t, "d"));
	assert_int_equal(GKV_KIND_VALUE, kind(t, "v"));
	gkv_tree_free(t);
	gkv_repo_free(repo);
}

static void test_reading_kinds_and_errors(void **state)
{
	gkv_repo *repo = uu_open_mem();
	gkv_tree *t = with(empty(repo), "d/v", "x"), *s;
	gkv_buf b;
	int found;

	(void)state;
	assert_int_equal(GKV_KIND_DIR, kind(t, ""));
	assert_int_equal(GKV_KIND_DIR, kind(t, "d"));
	assert_int_equal(GKV_KIND_NONE, kind(t, "d/v/w"));
	assert_rc(GKV_E_NOTFOUND, gkv_tree_get(&b, t, "d"));
	assert_ok(gkv_tree_find(&b, &found, t, "d"));
	assert_int_equal(0, found);
	assert_null(b.ptr);
	assert_rc(GKV_E_NOTFOUND, gkv_tree_subtree(&s, t, "d/v"));
	assert_ok(gkv_tree_subtree(&s, t, ""));
	assert_ptr_equal(s, t);
	gkv_tree_free(s);
	assert_rc(GKV_E_INVALID, gkv_tree_get(&b, t, "/d"));
	assert_rc(GKV_E_INVALID, gkv_tree_kind(NULL, t, "d"));
	gkv_tree_free(t);
	gkv_repo_free(repo);
}

/*
 * Lookups among names that git's order interleaves with a directory: the
 * directory "a" sorts as "a/", after "a-x" and "a.txt", before "a0".
 */
static void test_lookup_among_interleaved_names(void **state)
{
	static const char *files[] = {"a-x", "a.txt", "a0", "a", "b", "a-"};
	gkv_repo *repo = uu_open_mem();
	gkv_tree *t, *next;
	gkv_kind k;
	gkv_buf v;

	(void)state;
	assert_ok(gkv_tree_empty(&t, repo));
	/* "a" is a directory here; the others are values. */
	assert_ok(gkv_tree_set(&next, t, "a/k", "in a", 4));
	gkv_tree_free(t);
	t = next;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (strcmp(files[i], "a") == 0)
			continue;
		assert_ok(gkv_tree_set(&next, t, files[i], files[i], strlen(files[i])));
		gkv_tree_free(t);
		t = next;
	}
	assert_ok(gkv_tree_kind(&k, t, "a"));
	assert_int_equal(k, GKV_KIND_DIR);
	assert_ok(gkv_tree_get(&v, t, "a/k"));
	assert_int_equal(v.size, 4);
	gkv_buf_dispose(&v);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (strcmp(files[i], "a") == 0)
			continue;
		assert_ok(gkv_tree_kind(&k, t, files[i]));
		assert_int_equal(k, GKV_KIND_VALUE);
	}
	assert_ok(gkv_tree_kind(&k, t, "ab"));
	assert_int_equal(k, GKV_KIND_NONE);
	assert_ok(gkv_tree_kind(&k, t, "a-y"));
	assert_int_equal(k, GKV_KIND_NONE);
	/* Replacing the directory by a value, and back, finds the right entry. */
	assert_ok(gkv_tree_set(&next, t, "a", "now a value", 11));
	gkv_tree_free(t);
	t = next;
	assert_ok(gkv_tree_kind(&k, t, "a"));
	assert_int_equal(k, GKV_KIND_VALUE);
	assert_ok(gkv_tree_kind(&k, t, "a/k"));
	assert_int_equal(k, GKV_KIND_NONE);
	assert_ok(gkv_tree_set(&next, t, "a/k2", "x", 1));
	gkv_tree_free(t);
	t = next;
	assert_ok(gkv_tree_kind(&k, t, "a"));
	assert_int_equal(k, GKV_KIND_DIR);
	assert_ok(gkv_tree_kind(&k, t, "a.txt"));
	assert_int_equal(k, GKV_KIND_VALUE);
	gkv_tree_free(t);
	gkv_repo_free(repo);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty_tree_id),
	    cmocka_unit_test(test_lookup_among_interleaved_names),
	    cmocka_unit_test(test_ids_match_git_ordering),
	    cmocka_unit_test(test_ids_match_git_ordering_long_names),
	    cmocka_unit_test(test_ids_match_git_value_named_like_dir),
	    cmocka_unit_test(test_old_tree_unchanged),
	    cmocka_unit_test(test_structural_sharing),
	    cmocka_unit_test(test_entry_at),
	    cmocka_unit_test(test_remove_last_entry_removes_dirs),
	    cmocka_unit_test(test_remove_absent_is_same_tree),
	    cmocka_unit_test(test_value_replaces_dir_and_back),
	    cmocka_unit_test(test_set_same_value_is_equal),
	    cmocka_unit_test(test_set_tree),
	    cmocka_unit_test(test_set_owned_in_place),
	    cmocka_unit_test(test_set_owned_on_stored_root),
	    cmocka_unit_test(test_foreign_modes),
	    cmocka_unit_test(test_fold_and_list_order),
	    cmocka_unit_test(test_corrupt_tree_object),
	    cmocka_unit_test(test_missing_objects_are_corrupt),
	    cmocka_unit_test(test_reading_kinds_and_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
