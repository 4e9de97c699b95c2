/*
 * test_commit.c -- unit tests of store/commit.c: commits as values.
 *
 * What is held: gkv_commit_create with explicit signatures writes the
 * very commit `git commit-tree` writes for the same tree, parents,
 * identities, dates and zones, and message (root, child, merge; zones
 * east and west, with minutes); a loaded commit gives back every field;
 * the summary is the first line; the checks on what a commit may point
 * at (tree and parents must exist and be of the right type); the
 * default signature when author or committer is NULL; corrupt commits
 * and non-commits are refused on lookup; gkv__commit_tree.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "repo.h"
#include "unit_util.h"

static gkv_signature *sig(const char *name, int64_t time, int offset)
{
	gkv_signature *s;
	char email[64];

	snprintf(email, sizeof(email), "%s@example.org", name);
	assert_ok(gkv_signature_new(&s, name, email, time, offset));
	return s;
}

/* "+0200" / "-0130" for an offset in minutes. */
static void zone(char *out, int offset)
{
	int a = offset < 0 ? -offset : offset;

	snprintf(out, 8, "%c%02d%02d", offset < 0 ? '-' : '+', (a / 60) % 100, a % 60);
}

/* `git commit-tree` in dir, with the message from a file, both identities pinned. */
static gkv_oid git_commit_tree(const char *dir, const gkv_oid *tree, const gkv_oid *parents,
    size_t n, const gkv_signature *a, const gkv_signature *c, const char *msg)
{
	char file[256], cmd_parents[512] = "", za[8], zc[8], out[128];
	size_t used = 0;
	FILE *f;

	snprintf(file, sizeof(file), "%s/msg.txt", dir);
	assert_non_null(f = fopen(file, "wb"));
	fwrite(msg, 1, strlen(msg), f);
	fclose(f);
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(cmd_parents + used, sizeof(cmd_parents) - used, " -p %s",
		    uu_hex(&parents[i]));
	zone(za, gkv_signature_offset(a));
	zone(zc, gkv_signature_offset(c));
	assert_int_equal(0, uu_sh(out, sizeof(out),
	    "cd '%s' && GIT_AUTHOR_NAME='%s' GIT_AUTHOR_EMAIL='%s' GIT_AUTHOR_DATE='@%lld %s' "
	    "GIT_COMMITTER_NAME='%s' GIT_COMMITTER_EMAIL='%s' GIT_COMMITTER_DATE='@%lld %s' "
	    "git commit-tree %s%s -F msg.txt",
	    dir, gkv_signature_name(a), gkv_signature_email(a), (long long)gkv_signature_time(a), za,
	    gkv_signature_name(c), gkv_signature_email(c), (long long)gkv_signature_time(c), zc,
	    uu_hex(tree), cmd_parents));
	return uu_oid(out);
}

static void test_same_id_as_git_commit_tree(void **state)
{
	gkv_repo *repo = uu_open_mem();
	char *dir = uu_tmpdir("commit-git"), out[128], path[256];
	gkv_tree *e, *t1, *t2;
	gkv_oid tid, root, child, side, merge, want;
	gkv_signature *alice = sig("alice", 1234567890, 120), *bob = sig("bob", 1234567999, -90);
	gkv_signature *carol = sig("carol", 1700000000, 330), *dave = sig("dave", 0, 0);
	FILE *f;

	(void)state;
	/* The same tree in both: a, d/b. */
	assert_ok(gkv_tree_empty(&e, repo));
	assert_ok(gkv_tree_set(&t1, e, "a", "1\n", 2));
	assert_ok(gkv_tree_set(&t2, t1, "d/b", "2\n", 2));
	assert_ok(gkv_tree_write(&tid, t2));
	assert_int_equal(0, uu_sh(NULL, 0, "git init -q '%s'", dir));
	snprintf(path, sizeof(path), "%s/a", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("1\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/d", dir);
	assert_int_equal(0, mkdir(path, 0755));
	snprintf(path, sizeof(path), "%s/d/b", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("2\n", f);
	fclose(f);
	assert_int_equal(0, uu_sh(out, sizeof(out), "cd '%s' && git add a d && git write-tree", dir));
	want = uu_oid(out);
	assert_oid_equal(&tid, &want);

	/* A root commit: zones east (+0200) and west with minutes (-0130). */
	assert_ok(gkv_commit_create(&root, repo, &tid, NULL, 0, alice, bob,
	    "subject line\n\nbody, with a second paragraph\n"));
	want = git_commit_tree(dir, &tid, NULL, 0, alice, bob,
	    "subject line\n\nbody, with a second paragraph\n");
	assert_oid_equal(&root, &want);
	/* A child; a +0530 zone. */
	assert_ok(gkv_commit_create(&child, repo, &tid, &root, 1, carol, carol, "child\n"));
	want = git_commit_tree(dir, &tid, &root, 1, carol, carol, "child\n");
	assert_oid_equal(&child, &want);
	/* A merge of two parents; the epoch itself as a date. */
	assert_ok(gkv_commit_create(&side, repo, &tid, &root, 1, dave, dave, "side\n"));
	want = git_commit_tree(dir, &tid, &root, 1, dave, dave, "side\n");
	assert_oid_equal(&side, &want);
	gkv_oid parents[2] = {child, side};

	assert_ok(gkv_commit_create(&merge, repo, &tid, parents, 2, alice, carol, "Merge side\n"));
	want = git_commit_tree(dir, &tid, parents, 2, alice, carol, "Merge side\n");
	assert_oid_equal(&merge, &want);
	/* git reads back what we wrote: the merge's parents, in order. */
	assert_int_equal(0, uu_sh(out, sizeof(out), "cd '%s' && git rev-parse %s^2", dir, uu_hex(&merge)));
	want = uu_oid(out);
	assert_oid_equal(&want, &side);

	gkv_signature_free(alice);
	gkv_signature_free(bob);
	gkv_signature_free(carol);
	gkv_signature_free(dave);
	gkv_tree_free(t2);
	gkv_tree_free(t1);
	gkv_tree_free(e);
	uu_tmpdir_remove(dir);
	gkv_repo_free(repo);
}

static void test_lookup_fields_and_summary(void **state)
{
	gkv_repo *repo = uu_open_mem();
	gkv_tree *e;
	gkv_oid tid, c1, c2;
	gkv_signature *a = sig("ann", 1000, -300), *c = sig("cal", 2000, 60);
	gkv_commit *k;
	static const struct {
		const char *msg, *summary;
	} cases[] = {
	    {"one line\n", "one line"},
	    {"first\nsecond\n", "first"},
	    {"no newline", "no newline"},
	    {"", ""},
	    {"\nafter a blank\n", ""},
	};

	(void)state;
	assert_ok(gkv_tree_empty(&e, repo));
	assert_ok(gkv_tree_write(&tid, e));
	assert_ok(gkv_commit_create(&c1, repo, &tid, NULL, 0, a, c, "first\nsecond\n"));
	assert_ok(gkv_commit_create(&c2, repo, &tid, &c1, 1, a, c, "x\n"));
	assert_ok(gkv_commit_lookup(&k, repo, &c2));
	assert_oid_equal(gkv_commit_id(k), &c2);
	assert_oid_equal(gkv_commit_tree_id(k), &tid);
	assert_int_equal(1, gkv_commit_parentcount(k));
	assert_oid_equal(gkv_commit_parent_id(k, 0), &c1);
	assert_null(gkv_commit_parent_id(k, 1));
	assert_string_equal("ann", gkv_signature_name(gkv_commit_author(k)));
	assert_string_equal("ann@example.org", gkv_signature_email(gkv_commit_author(k)));
	assert_int_equal(1000, gkv_signature_time(gkv_commit_author(k)));
	assert_int_equal(-300, gkv_signature_offset(gkv_commit_author(k)));
	assert_string_equal("cal", gkv_signature_name(gkv_commit_committer(k)));
	assert_int_equal(2000, gkv_signature_time(gkv_commit_committer(k)));
	assert_int_equal(60, gkv_signature_offset(gkv_commit_committer(k)));
	assert_string_equal("x\n", gkv_commit_message(k));
	gkv_commit_free(k);

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		gkv_oid id;
		const char *s1;

		assert_ok(gkv_commit_create(&id, repo, &tid, NULL, 0, a, c, cases[i].msg));
		assert_ok(gkv_commit_lookup(&k, repo, &id));
		assert_string_equal(cases[i].msg, gkv_commit_message(k));
		s1 = gkv_commit_summary(k);
		assert_string_equal(cases[i].summary, s1);
		/* Remembered: the same pointer the second time. */
		assert_ptr_equal(s1, gkv_commit_summary(k));
		gkv_commit_free(k);
	}
	/* The commit's tree, through the internal helper. */
	gkv_tree *t;

	assert_ok(gkv__commit_tree(&t, repo, &c2));
	assert_true(gkv_tree_is_empty(t));
	gkv_tree_free(t);
	assert_rc(GKV_E_INVALID, gkv__commit_tree(&t, repo, &tid));

	gkv_signature_free(a);
	gkv_signature_free(c);
	gkv_tree_free(e);
	gkv_repo_free(repo);
}

static int count_obj(const gkv_oid *id, void *payload)
{
	(void)id;
	(*(size_t *)payload)++;
	return 0;
}

static void test_create_checks(void **state)
{
	gkv_repo *repo = uu_open_mem();
	gkv_tree *e;
	gkv_oid tid, c1, out, blob, missing = uu_oid("9999999999999999999999999999999999999999");
	gkv_signature *a = sig("ann", 1000, 0);

	(void)state;
	assert_ok(gkv_tree_empty(&e, repo));
	assert_ok(gkv_tree_write(&tid, e));
	uu_raw_put(&blob, repo->backend, GKV_OBJ_BLOB, "b", 1);
	assert_ok(gkv_commit_create(&c1, repo, &tid, NULL, 0, a, a, "m\n"));
	size_t before = 0;

	assert_ok(repo->backend->foreach(repo->backend, NULL, 0, count_obj, &before));
	assert_int_equal(3, before);
	assert_rc(GKV_E_NOTFOUND, gkv_commit_create(&out, repo, &missing, NULL, 0, a, a, "m\n"));
	assert_rc(GKV_E_INVALID, gkv_commit_create(&out, repo, &blob, NULL, 0, a, a, "m\n"));
	assert_rc(GKV_E_INVALID, gkv_commit_create(&out, repo, &c1, NULL, 0, a, a, "m\n"));
	assert_rc(GKV_E_NOTFOUND, gkv_commit_create(&out, repo, &tid, &missing, 1, a, a, "m\n"));
	assert_rc(GKV_E_INVALID, gkv_commit_create(&out, repo, &tid, &tid, 1, a, a, "m\n"));
	gkv_oid two[2] = {c1, missing};

	assert_rc(GKV_E_NOTFOUND, gkv_commit_create(&out, repo, &tid, two, 2, a, a, "m\n"));
	assert_rc(GKV_E_INVALID, gkv_commit_create(&out, repo, &tid, NULL, 1, a, a, "m\n"));
	assert_rc(GKV_E_INVALID, gkv_commit_create(&out, repo, &tid, NULL, 0, a, a, NULL));
	assert_rc(GKV_E_INVALID, gkv_commit_create(NULL, repo, &tid, NULL, 0, a, a, "m\n"));
	/* Nothing was written by the refusals. */
	size_t after = 0;
	gkv_commit *k;

	assert_ok(repo->backend->foreach(repo->backend, NULL, 0, count_obj, &after));
	assert_int_equal(before, after);

	/* Lookups of what is not a commit. */
	assert_rc(GKV_E_INVALID, gkv_commit_lookup(&k, repo, &tid));
	assert_null(k);
	assert_rc(GKV_E_NOTFOUND, gkv_commit_lookup(&k, repo, &missing));
	gkv_oid bad = uu_oid("abcdefabcdefabcdefabcdefabcdefabcdefabcd");

	uu_raw_write(repo->backend, &bad, GKV_OBJ_COMMIT, "tree nonsense\n", 14);
	assert_rc(GKV_E_CORRUPT, gkv_commit_lookup(&k, repo, &bad));
	gkv_store *s;

	assert_ok(gkv_branch_cas(repo, "broken", NULL, &c1));
	assert_ok(repo->backend->ref_cas(repo->backend, "refs/heads/broken", &c1, &bad));
	assert_ok(gkv_store_open_branch(&s, repo, "broken"));
	gkv_buf v;

	assert_rc(GKV_E_CORRUPT, gkv_store_get(&v, s, "k"));
	gkv_store_free(s);
	gkv_signature_free(a);
	gkv_tree_free(e);
	gkv_repo_free(repo);
}

static void test_default_signatures(void **state)
{
	gkv_options *o;
	gkv_repo *repo;
	gkv_tree *e;
	gkv_oid tid, id;
	gkv_commit *k;
	gkv_signature *a = sig("explicit", 1000, 0);
	int64_t now = (int64_t)time(NULL);
	char committer[64];

	(void)state;
	assert_ok(gkv_options_new(&o));
	assert_ok(gkv_options_set_author(o, "Repo Default", "default@example.org"));
	assert_ok(gkv_repo_open(&repo, "mem:", o));
	gkv_options_free(o);
	assert_ok(gkv_tree_empty(&e, repo));
	assert_ok(gkv_tree_write(&tid, e));

	/* Both NULL: the default, dated now, zone UTC. */
	assert_ok(gkv_commit_create(&id, repo, &tid, NULL, 0, NULL, NULL, "m\n"));
	assert_ok(gkv_commit_lookup(&k, repo, &id));
	assert_string_equal("Repo Default", gkv_signature_name(gkv_commit_author(k)));
	assert_string_equal("default@example.org", gkv_signature_email(gkv_commit_author(k)));
	assert_string_equal("Repo Default", gkv_signature_name(gkv_commit_committer(k)));
	assert_true(gkv_signature_time(gkv_commit_author(k)) >= now - 5);
	assert_true(gkv_signature_time(gkv_commit_committer(k)) <= now + 60);
	assert_int_equal(0, gkv_signature_offset(gkv_commit_author(k)));
	gkv_commit_free(k);

	/* Author NULL, committer given. */
	assert_ok(gkv_commit_create(&id, repo, &tid, NULL, 0, NULL, a, "m\n"));
	assert_ok(gkv_commit_lookup(&k, repo, &id));
	assert_string_equal("Repo Default", gkv_signature_name(gkv_commit_author(k)));
	assert_string_equal("explicit", gkv_signature_name(gkv_commit_committer(k)));
	gkv_commit_free(k);

	/*
	 * With an author and a NULL committer, the committer is the repo's
	 * default signature, as gitkv.h says and as git commit-tree does
	 * given only GIT_AUTHOR_*.
	 */
	assert_ok(gkv_commit_create(&id, repo, &tid, NULL, 0, a, NULL, "m\n"));
	assert_ok(gkv_commit_lookup(&k, repo, &id));
	assert_string_equal("explicit", gkv_signature_name(gkv_commit_author(k)));
	snprintf(committer, sizeof(committer), "%s", gkv_signature_name(gkv_commit_committer(k)));
	gkv_commit_free(k);
	gkv_signature_free(a);
	gkv_tree_free(e);
	gkv_repo_free(repo);
	if (strcmp(committer, "Repo Default") != 0)
		fail_msg("gkv_commit_create(author, NULL committer) committed as '%s', "
			 "expected the repo default 'Repo Default'", committer);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_same_id_as_git_commit_tree),
	    cmocka_unit_test(test_lookup_fields_and_summary),
	    cmocka_unit_test(test_create_checks),
	    cmocka_unit_test(test_default_signatures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
