/*
 * test_options.c -- unit tests of store/options.c: how a repo is opened.
 *
 * What is held: the defaults (no create, writable, full durability, no
 * author, the documented cache size, the same whether options are NULL or
 * fresh); every setter refuses NULL options and bad values and keeps the
 * previous value when it refuses; each option takes effect on the repo
 * opened with it (create, read-only, cache size, author, durability);
 * the repo copies what it needs, so options may be freed or reused.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "repo.h"
#include "unit_util.h"

static void test_defaults(void **state)
{
	gkv_options *o;
	gkv_repo *with, *without;

	(void)state;
	assert_ok(gkv_options_new(&o));
	assert_int_equal(0, o->create);
	assert_int_equal(0, o->readonly);
	assert_int_equal(GKV_DURABILITY_FULL, o->durability);
	assert_null(o->author_name);
	assert_null(o->author_email);
	assert_true(o->cache_size > 0);
	/* NULL options and fresh options open the same repo. */
	assert_ok(gkv_repo_open(&with, "mem:", o));
	assert_ok(gkv_repo_open(&without, "mem:", NULL));
	assert_int_equal(with->cache.capacity, without->cache.capacity);
	assert_int_equal(with->readonly, without->readonly);
	{
		const char *n1, *e1, *n2, *e2;

		assert_ok(gkv__repo_identity(&n1, &e1, with));
		assert_ok(gkv__repo_identity(&n2, &e2, without));
		assert_string_equal(n1, n2);
		assert_string_equal(e1, e2);
	}
	gkv_repo_free(with);
	gkv_repo_free(without);
	gkv_options_free(o);
	gkv_options_free(NULL);
}

/* gitkv.h documents the default of gkv_options_set_cache_size: 8192 trees. */
static void test_default_cache_size_is_documented_one(void **state)
{
	gkv_options *o;
	size_t got;

	(void)state;
	assert_ok(gkv_options_new(&o));
	got = o->cache_size;
	gkv_options_free(o);
	if (got != 8192)
		fail_msg("default cache size is %zu, gitkv.h documents 8192", got);
}

static void test_setters_refuse_bad_input(void **state)
{
	gkv_options *o;

	(void)state;
	assert_rc(GKV_E_INVALID, gkv_options_new(NULL));
	assert_rc(GKV_E_INVALID, gkv_options_set_create(NULL, 1));
	assert_rc(GKV_E_INVALID, gkv_options_set_readonly(NULL, 1));
	assert_rc(GKV_E_INVALID, gkv_options_set_durability(NULL, GKV_DURABILITY_FULL));
	assert_rc(GKV_E_INVALID, gkv_options_set_author(NULL, "a", "b@c"));
	assert_rc(GKV_E_INVALID, gkv_options_set_cache_size(NULL, 1));

	assert_ok(gkv_options_new(&o));
	assert_ok(gkv_options_set_durability(o, GKV_DURABILITY_NOSYNC_MAPPED));
	assert_int_equal(GKV_DURABILITY_NOSYNC_MAPPED, o->durability);
	assert_ok(gkv_options_set_durability(o, GKV_DURABILITY_NOSYNC));
	/* The first value past the last level, and others: refused, and the
	 * level set before is kept. */
	assert_rc(GKV_E_INVALID, gkv_options_set_durability(o, (gkv_durability)3));
	assert_rc(GKV_E_INVALID, gkv_options_set_durability(o, (gkv_durability)7));
	assert_rc(GKV_E_INVALID, gkv_options_set_durability(o, (gkv_durability)-1));
	assert_int_equal(GKV_DURABILITY_NOSYNC, o->durability);

	assert_ok(gkv_options_set_author(o, "Good Name", "good@example.org"));
	assert_rc(GKV_E_INVALID, gkv_options_set_author(o, "Bad <name>", "x@example.org"));
	assert_rc(GKV_E_INVALID, gkv_options_set_author(o, "x", "bad>email"));
	assert_rc(GKV_E_INVALID, gkv_options_set_author(o, "new\nline", "x@example.org"));
	assert_rc(GKV_E_INVALID, gkv_options_set_author(o, NULL, "x@example.org"));
	assert_rc(GKV_E_INVALID, gkv_options_set_author(o, "x", NULL));
	assert_string_equal("Good Name", o->author_name);
	assert_string_equal("good@example.org", o->author_email);

	/* Flags are booleans. */
	assert_ok(gkv_options_set_create(o, 42));
	assert_int_equal(1, o->create);
	assert_ok(gkv_options_set_readonly(o, -3));
	assert_int_equal(1, o->readonly);
	assert_ok(gkv_options_set_readonly(o, 0));
	assert_int_equal(0, o->readonly);
	assert_ok(gkv_options_set_cache_size(o, 0));
	assert_int_equal(0, o->cache_size);
	gkv_options_free(o);
}

static void test_options_take_effect(void **state)
{
	char *dir = uu_tmpdir("options"), uri[256];
	gkv_options *o;
	gkv_repo *repo;
	gkv_store *s;
	gkv_oid h;

	(void)state;
	snprintf(uri, sizeof(uri), "lmdb:%s/store", dir);
	assert_ok(gkv_options_new(&o));
	/* create: off by default. */
	assert_rc(GKV_E_NOTFOUND, gkv_repo_open(&repo, uri, o));
	/* create + nosync + a small cache + an author. */
	assert_ok(gkv_options_set_create(o, 1));
	assert_ok(gkv_options_set_durability(o, GKV_DURABILITY_NOSYNC));
	assert_ok(gkv_options_set_cache_size(o, 17));
	assert_ok(gkv_options_set_author(o, "Opt Author", "opt@example.org"));
	assert_ok(gkv_repo_open(&repo, uri, o));
	/* The repo copied what it needs: the options can go. */
	gkv_options_free(o);
	assert_int_equal(17, repo->cache.capacity);
	assert_int_equal(0, repo->readonly);
	assert_ok(gkv_store_open_branch(&s, repo, "main"));
	assert_ok(gkv_store_set(&h, s, "k", "v", 1, NULL));
	gkv_commit *c;

	assert_ok(gkv_commit_lookup(&c, repo, &h));
	assert_string_equal("Opt Author", gkv_signature_name(gkv_commit_author(c)));
	assert_string_equal("opt@example.org", gkv_signature_email(gkv_commit_committer(c)));
	gkv_commit_free(c);
	gkv_store_free(s);
	gkv_repo_free(repo);

	/* read-only: reads fine, writes refused; create is ignored then. */
	assert_ok(gkv_options_new(&o));
	assert_ok(gkv_options_set_readonly(o, 1));
	assert_ok(gkv_options_set_create(o, 1));
	assert_ok(gkv_repo_open(&repo, uri, o));
	assert_int_equal(1, repo->readonly);
	assert_ok(gkv_store_open_branch(&s, repo, "main"));
	gkv_buf v;

	assert_ok(gkv_store_get(&v, s, "k"));
	assert_buf_str(v, "v");
	gkv_buf_dispose(&v);
	assert_rc(GKV_E_READONLY, gkv_store_set(NULL, s, "k", "w", 1, NULL));
	gkv_store_free(s);
	gkv_repo_free(repo);
	/* A read-only open does not create a missing store. */
	snprintf(uri, sizeof(uri), "lmdb:%s/never", dir);
	assert_true(gkv_repo_open(&repo, uri, o) < 0);
	/* The same options open two repos alike. */
	gkv_repo *a, *b;

	assert_ok(gkv_repo_open(&a, "mem:", o));
	assert_ok(gkv_repo_open(&b, "mem:", o));
	assert_int_equal(1, a->readonly);
	assert_int_equal(1, b->readonly);
	gkv_repo_free(a);
	gkv_repo_free(b);
	gkv_options_free(o);
	uu_tmpdir_remove(dir);
}

/*
 * NOSYNC_MAPPED reaches the backends: on lmdb, data.mdb is the writable
 * map (32 MiB to start) and allocated, not sparse; mem and git take it as
 * NOSYNC and work as usual.
 */
static void test_mapped_durability_takes_effect(void **state)
{
	static const char *const kinds[] = {"lmdb", "git", "mem"};
	char *dir = uu_tmpdir("mapped"), uri[256], data[300];
	gkv_options *o;
	struct stat st;

	(void)state;
	unsetenv("GKV_LMDB_INITIAL_MAPSIZE");
	assert_ok(gkv_options_new(&o));
	assert_ok(gkv_options_set_create(o, 1));
	assert_ok(gkv_options_set_durability(o, GKV_DURABILITY_NOSYNC_MAPPED));
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		gkv_repo *repo;
		gkv_store *s;
		gkv_buf v;
		gkv_oid h;

		if (strcmp(kinds[i], "mem") == 0)
			snprintf(uri, sizeof(uri), "mem:");
		else
			snprintf(uri, sizeof(uri), "%s:%s/%s", kinds[i], dir, kinds[i]);
		assert_ok(gkv_repo_open(&repo, uri, o));
		assert_string_equal(kinds[i], gkv_repo_backend_name(repo));
		assert_ok(gkv_store_open_branch(&s, repo, "main"));
		assert_ok(gkv_store_set(&h, s, "k", "mapped", 6, NULL));
		assert_ok(gkv_store_get(&v, s, "k"));
		assert_buf_str(v, "mapped");
		gkv_buf_dispose(&v);
		gkv_store_free(s);
		gkv_repo_free(repo);
	}
	snprintf(data, sizeof(data), "%s/lmdb/data.mdb", dir);
	assert_int_equal(0, stat(data, &st));
	assert_int_equal((off_t)32 << 20, st.st_size);
	assert_true((off_t)st.st_blocks * 512 >= st.st_size);
	gkv_options_free(o);
	uu_tmpdir_remove(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_default_cache_size_is_documented_one),
	    cmocka_unit_test(test_setters_refuse_bad_input),
	    cmocka_unit_test(test_options_take_effect),
	    cmocka_unit_test(test_mapped_durability_takes_effect),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
