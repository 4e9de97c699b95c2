/*
 * test_pairs.c -- store-to-store sync between two stores, one program per
 * pair of backends: argv[1] is the kind of the local store (the one that
 * clones, fetches, pulls and pushes), argv[2] the kind of the remote
 * store ("mem", "lmdb", "git"). The remote is reached as an open store
 * (a mem store has no name another handle could open); the same
 * operations by name are in test_remotes.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sync_int.h"
#include "sync_util.h"

static const char *local_kind, *remote_kind;

typedef struct {
	gkv_repo *remote;  /* the other store */
	gkv_repo *local;   /* cloned from it */
	gkv__endpoint ep;  /* remote as the recorded "origin" */
} pair;

static int setup(void **state)
{
	pair *p = calloc(1, sizeof(*p));
	gkv__endpoint ep;
	char url[512];

	assert_non_null(p);
	su_setup();
	p->remote = su_open(remote_kind, "remote");
	su_set(p->remote, "main", "a", "1");
	su_set(p->remote, "main", "dir/b", "2");
	su_set(p->remote, "dev", "d", "dev");
	su_uri(url, sizeof(url), remote_kind, "remote");
	assert_ok(gkv__endpoint_store(&ep, p->remote, NULL, url));
	su_uri(url, sizeof(url), local_kind, "local");
	assert_ok(gkv__clone_ep(&p->local, &ep, url, NULL, NULL));
	gkv__endpoint_free(&ep);
	su_uri(url, sizeof(url), remote_kind, "remote");
	assert_ok(gkv__endpoint_store(&p->ep, p->remote, "origin", url));
	*state = p;
	return 0;
}

void pending_reset(void) __attribute__((weak));
static int teardown(void **state)
{
	if (pending_reset)
		pending_reset();
	pair *p = *state;
	gkv__endpoint_free(&p->ep);
	gkv_repo_free(p->local);
	gkv_repo_free(p->remote);
	free(p);
	su_cleanup();
	return 0;
}

/* git's view of whichever side is a git store. */
static void git_checks(pair *p)
{
	if (strcmp(local_kind, "git") == 0)
		su_git_fsck("local");
	if (strcmp(remote_kind, "git") == 0)
		su_git_fsck("remote");
}

static gkv_oid head(gkv_repo *repo, const char *branch)
{
	gkv_oid id;
	assert_ok(gkv_branch_head(&id, repo, branch));
	return id;
}

static void test_clone(void **state)
{
	pair *p = *state;
	gkv_strarray names = {0};
	gkv_oid a = head(p->remote, "main"), b = head(p->remote, "dev");
	gkv_buf url = {0};

	assert_oid_eq(&a, su_p(head(p->local, "main")));
	assert_oid_eq(&b, su_p(head(p->local, "dev")));
	assert_oid_eq(&a, su_p(su_ref(p->local, "refs/remotes/origin/main")));
	assert_oid_eq(&b, su_p(su_ref(p->local, "refs/remotes/origin/dev")));
	su_check_value(p->local, "main", "dir/b", "2");
	su_check_value(p->local, "dev", "d", "dev");
	assert_string_equal(gkv_repo_default_branch(p->local), "main");
	assert_ok(gkv_remote_list(&names, p->local));
	assert_int_equal(names.count, 1);
	assert_string_equal(names.strings[0], "origin");
	gkv_strarray_dispose(&names);
	assert_ok(gkv_remote_url(&url, p->local, "origin"));
	assert_non_null(url.ptr);
	gkv_buf_dispose(&url);
	/* the clone has exactly the remote's objects */
	assert_int_equal(su_objects(p->local), su_objects(p->remote));
	git_checks(p);
	if (strcmp(local_kind, "git") == 0) {
		char line[512];
		su_sh_line(line, sizeof(line), "git -C '%s/local' rev-list --count main", su_dir);
		assert_string_equal(line, "2");
		su_sh_line(line, sizeof(line), "git -C '%s/local' reflog show --format=%%gs main",
		    su_dir);
		assert_non_null(strstr(line, "clone: from"));
	}
}

static void test_fetch_copies_only_new(void **state)
{
	pair *p = *state;
	gkv_fetch_result *r = NULL;
	gkv_oid local_main = head(p->local, "main"), n;
	uint64_t before = su_objects(p->local);

	n = su_set(p->remote, "main", "c", "3");
	assert_ok(gkv__fetch_ep(&r, p->local, &p->ep, NULL, NULL));
	/* one commit, its root tree and one blob: nothing else was copied */
	assert_int_equal(gkv_fetch_result_objects(r), 3);
	assert_int_equal(su_objects(p->local), before + 3);
	assert_int_equal(gkv_fetch_result_count(r), 2);
	assert_string_equal(gkv_fetch_result_branch(r, 0), "dev");
	assert_string_equal(gkv_fetch_result_branch(r, 1), "main");
	assert_oid_eq(gkv_fetch_result_id(r, 1), &n);
	assert_string_equal(gkv_fetch_result_default_branch(r), "main");
	gkv_fetch_result_free(r);
	/* the remote-tracking ref moved; the local branch did not */
	assert_oid_eq(&n, su_p(su_ref(p->local, "refs/remotes/origin/main")));
	assert_oid_eq(&local_main, su_p(head(p->local, "main")));
	/* a second fetch finds nothing to copy */
	assert_ok(gkv__fetch_ep(&r, p->local, &p->ep, NULL, NULL));
	assert_int_equal(gkv_fetch_result_objects(r), 0);
	gkv_fetch_result_free(r);
	/* a change under dir/ copies the commit, two trees and the blob */
	su_set(p->remote, "main", "dir/e", "4");
	assert_ok(gkv__fetch_ep(&r, p->local, &p->ep, "main", NULL));
	assert_int_equal(gkv_fetch_result_objects(r), 4);
	assert_int_equal(gkv_fetch_result_count(r), 1);
	gkv_fetch_result_free(r);
	git_checks(p);
	if (strcmp(local_kind, "git") == 0) {
		char line[512];
		su_sh_line(line, sizeof(line),
		    "git -C '%s/local' reflog show --format=%%gs refs/remotes/origin/main", su_dir);
		assert_string_equal(line, "fetch origin: fast-forward");
	}
}

static void test_pull_merge(void **state)
{
	pair *p = *state;
	gkv_commit *c = NULL;
	gkv_oid out, theirs, ours;

	theirs = su_set(p->remote, "main", "r", "remote");
	ours = su_set(p->local, "main", "l", "local");
	assert_ok(gkv__pull_ep(&out, NULL, p->local, &p->ep, "main", "main", GKV_PULL_MERGE,
	    NULL, NULL));
	assert_oid_eq(&out, su_p(head(p->local, "main")));
	assert_ok(gkv_commit_lookup(&c, p->local, &out));
	assert_int_equal(gkv_commit_parentcount(c), 2);
	assert_oid_eq(gkv_commit_parent_id(c, 0), &ours);
	assert_oid_eq(gkv_commit_parent_id(c, 1), &theirs);
	gkv_commit_free(c);
	su_check_value(p->local, "main", "r", "remote");
	su_check_value(p->local, "main", "l", "local");
	/* pushing the merge back is a fast-forward of the remote */
	assert_ok(gkv__push_ep(p->local, &p->ep, "main", "main", NULL));
	assert_oid_eq(&out, su_p(head(p->remote, "main")));
	assert_oid_eq(&out, su_p(su_ref(p->local, "refs/remotes/origin/main")));
	su_check_value(p->remote, "main", "l", "local");
	git_checks(p);
	if (strcmp(remote_kind, "git") == 0) {
		char line[512];
		su_sh_line(line, sizeof(line), "git -C '%s/remote' log -1 --format=%%P main",
		    su_dir);
		assert_int_equal(strlen(line), 81); /* two parents */
		su_sh_line(line, sizeof(line), "git -C '%s/remote' reflog show --format=%%gs main",
		    su_dir);
		assert_string_equal(line, "push");
	}
	if (strcmp(local_kind, "git") == 0) {
		char line[512];
		su_sh_line(line, sizeof(line), "git -C '%s/local' reflog show --format=%%gs main",
		    su_dir);
		assert_string_equal(line, "pull: Merge made by the 'gitkv' strategy.");
	}
}

static void test_pull_ff_and_reset(void **state)
{
	pair *p = *state;
	gkv_oid out, theirs, ours;
	char *before;

	/* fast-forward */
	theirs = su_set(p->remote, "main", "x", "1");
	assert_ok(gkv__pull_ep(&out, NULL, p->local, &p->ep, "main", "main", GKV_PULL_FF, NULL,
	    NULL));
	assert_oid_eq(&out, &theirs);
	assert_oid_eq(&theirs, su_p(head(p->local, "main")));
	/* merge strategy that can fast-forward does, without a merge commit */
	theirs = su_set(p->remote, "main", "x", "2");
	assert_ok(gkv__pull_ep(&out, NULL, p->local, &p->ep, "main", "main", GKV_PULL_MERGE,
	    NULL, NULL));
	assert_oid_eq(&out, &theirs);
	/* diverged: ff only is refused and the branch stays */
	theirs = su_set(p->remote, "main", "y", "remote");
	ours = su_set(p->local, "main", "z", "local");
	assert_rc(GKV_E_NONFASTFORWARD, gkv__pull_ep(&out, NULL, p->local, &p->ep, "main",
	    "main", GKV_PULL_FF, NULL, NULL));
	assert_oid_eq(&ours, su_p(head(p->local, "main")));
	/* ... but the fetched head stays, as git's does */
	assert_oid_eq(&theirs, su_p(su_ref(p->local, "refs/remotes/origin/main")));
	/* pushing the diverged branch is refused: nothing changes on either side */
	before = su_state(p->remote);
	{
		char *lb = su_state(p->local);
		assert_rc(GKV_E_NONFASTFORWARD, gkv__push_ep(p->local, &p->ep, "main", "main",
		    NULL));
		char *la = su_state(p->local);
		assert_string_equal(lb, la);
		free(lb);
		free(la);
	}
	{
		char *after = su_state(p->remote);
		assert_string_equal(before, after);
		free(after);
	}
	free(before);
	/* reset replaces the local branch */
	assert_ok(gkv__pull_ep(&out, NULL, p->local, &p->ep, "main", "main", GKV_PULL_RESET,
	    NULL, NULL));
	assert_oid_eq(&out, &theirs);
	assert_oid_eq(&theirs, su_p(head(p->local, "main")));
	/* pull into a branch that does not exist creates it */
	assert_ok(gkv__pull_ep(&out, NULL, p->local, &p->ep, "dev", "other", GKV_PULL_FF, NULL,
	    NULL));
	assert_oid_eq(&out, su_p(head(p->remote, "dev")));
	assert_oid_eq(&out, su_p(head(p->local, "other")));
	git_checks(p);
}

static void test_push_force_and_new_branch(void **state)
{
	pair *p = *state;
	gkv_sync_options *o = NULL;
	gkv_oid ours;

	su_set(p->remote, "main", "y", "remote");
	ours = su_set(p->local, "main", "z", "local");
	assert_ok(gkv_sync_options_new(&o));
	assert_ok(gkv_sync_options_set_force(o, 1));
	assert_ok(gkv__push_ep(p->local, &p->ep, "main", "main", o));
	gkv_sync_options_free(o);
	assert_oid_eq(&ours, su_p(head(p->remote, "main")));
	/* a new branch, under another name */
	ours = su_set(p->local, "topic", "t", "t");
	assert_ok(gkv__push_ep(p->local, &p->ep, "topic", "feature/t", NULL));
	assert_oid_eq(&ours, su_p(head(p->remote, "feature/t")));
	assert_oid_eq(&ours, su_p(su_ref(p->local, "refs/remotes/origin/feature/t")));
	su_check_value(p->remote, "feature/t", "t", "t");
	/* an absent local branch is the caller's error */
	assert_rc(GKV_E_NOTFOUND, gkv__push_ep(p->local, &p->ep, "nope", "nope", NULL));
	git_checks(p);
}

static void test_conflicting_pull(void **state)
{
	pair *p = *state;
	gkv_conflicts *c = NULL;
	gkv_oid out, ours, theirs;
	char *before;

	theirs = su_set(p->remote, "main", "a", "theirs");
	ours = su_set(p->local, "main", "a", "ours");
	before = su_state(p->local);
	assert_rc(GKV_E_CONFLICT, gkv__pull_ep(&out, &c, p->local, &p->ep, "main", "main",
	    GKV_PULL_MERGE, NULL, NULL));
	assert_int_equal(gkv_conflicts_count(c), 1);
	assert_string_equal(gkv_conflicts_path(c, 0), "a");
	gkv_conflicts_free(c);
	/* the branch did not move; only the fetched objects and the tracking ref landed */
	assert_oid_eq(&ours, su_p(head(p->local, "main")));
	assert_oid_eq(&theirs, su_p(su_ref(p->local, "refs/remotes/origin/main")));
	su_check_value(p->local, "main", "a", "ours");
	/* a second try, now with nothing to fetch, changes nothing at all */
	free(before);
	before = su_state(p->local);
	assert_rc(GKV_E_CONFLICT, gkv__pull_ep(&out, NULL, p->local, &p->ep, "main", "main",
	    GKV_PULL_MERGE, NULL, NULL));
	{
		char *after = su_state(p->local);
		assert_string_equal(before, after);
		free(after);
	}
	free(before);
	git_checks(p);
}

static void test_sync_copy_counts(void **state)
{
	pair *p = *state;
	gkv_oid n, m;
	uint64_t copied = 99;

	n = su_set(p->remote, "main", "q", "copy-1");
	assert_ok(gkv_sync_copy(&copied, p->local, p->remote, &n, 1, NULL));
	assert_int_equal(copied, 3);
	/* nothing left to copy; no ref moved */
	assert_ok(gkv_sync_copy(&copied, p->local, p->remote, &n, 1, NULL));
	assert_int_equal(copied, 0);
	assert_false(gkv_oid_equal(&n, su_p(su_ref(p->local, "refs/remotes/origin/main"))));
	assert_ok(gkv_sync_copy(NULL, p->local, p->remote, NULL, 0, NULL));
	/* two commits on, one of them changing a subtree */
	su_set(p->remote, "main", "dir/q", "copy-2");
	m = su_set(p->remote, "main", "q", "copy-3");
	assert_ok(gkv_sync_copy(&copied, p->local, p->remote, &m, 1, NULL));
	assert_int_equal(copied, 4 + 3);
	/* a head that is not in the source */
	memset(&n, 0x5a, sizeof(n));
	assert_rc(GKV_E_NOTFOUND, gkv_sync_copy(&copied, p->local, p->remote, &n, 1, NULL));
	assert_rc(GKV_E_INVALID, gkv_sync_copy(&copied, NULL, p->remote, &n, 1, NULL));
	assert_rc(GKV_E_INVALID, gkv_sync_copy(&copied, p->local, NULL, &n, 1, NULL));
	assert_rc(GKV_E_INVALID, gkv_sync_copy(&copied, p->local, p->remote, NULL, 1, NULL));
	git_checks(p);
}

/* Write an object through the seam, under the id given (right or not).
 * The git backend files an object under its own id whatever it is told,
 * so a forged one goes into a git store as git would find it on disk: a
 * loose object file under the other id. */
static void raw_write(gkv_repo *repo, const gkv_oid *id, gkv_otype type, const void *data,
    size_t len)
{
	gkv_backend *be = gkv_repo_backend(repo);
	gkv_batch *b = NULL;
	gkv_oid real;
	char hex[41];

	assert_ok(gkv_hash(&real, type, data, len));
	if (strcmp(gkv_repo_backend_name(repo), "git") == 0 && !gkv_oid_equal(&real, id)) {
		assert_int_equal(type, GKV_OBJ_BLOB);
		gkv_oid_fmt(hex, id);
		assert_int_equal(su_sh("/usr/bin/python3 -c 'import zlib,os,sys; d=sys.argv[1]; "
		    "os.makedirs(d, exist_ok=True); "
		    "open(os.path.join(d, sys.argv[2]), \"wb\").write(zlib.compress(b\"blob %zu\\0\" + "
		    "sys.argv[3].encode()))' '%s/remote/objects/%.2s' '%s' '%.*s'",
		    len, su_dir, hex, hex + 2, (int)len, (const char *)data), 0);
		return;
	}
	assert_ok(be->batch_begin(&b, be));
	assert_ok(be->batch_write(b, id, type, data, len));
	assert_ok(be->batch_commit(b));
}

static void test_corrupt_source(void **state)
{
	pair *p = *state;
	gkv_backend *be = gkv_repo_backend(p->remote);
	gkv_oid blob, tree, commit, parent = head(p->remote, "main");
	unsigned char tbuf[64];
	char cbuf[512], hex[41], phex[41];
	size_t tlen;
	char *before;
	int n;

	/* a blob stored under an id that is not its hash; between two lmdb
	 * stores blobs go as checksummed records, not re-hashed (see
	 * test_raw_blob_as_stored), so there the tree is the forged one */
	bool raw = strcmp(local_kind, "lmdb") == 0 && strcmp(remote_kind, "lmdb") == 0;

	assert_ok(gkv_hash(&blob, GKV_OBJ_BLOB, "honest", 6));
	raw_write(p->remote, &blob, GKV_OBJ_BLOB, raw ? "honest" : "forged", 6);
	memcpy(tbuf, "100644 v", 9); /* with its NUL */
	memcpy(tbuf + 9, blob.id, 20);
	tlen = 29;
	assert_ok(gkv_hash(&tree, GKV_OBJ_TREE, tbuf, tlen));
	if (raw)
		tbuf[7] = 'w'; /* "100644 w": not what the id hashes */
	raw_write(p->remote, &tree, GKV_OBJ_TREE, tbuf, tlen);
	gkv_oid_fmt(hex, &tree);
	gkv_oid_fmt(phex, &parent);
	n = snprintf(cbuf, sizeof(cbuf),
	    "tree %s\nparent %s\nauthor A <a@b.c> 1 +0000\ncommitter A <a@b.c> 1 +0000\n\nbad\n",
	    hex, phex);
	assert_ok(gkv_hash(&commit, GKV_OBJ_COMMIT, cbuf, (size_t)n));
	raw_write(p->remote, &commit, GKV_OBJ_COMMIT, cbuf, (size_t)n);
	assert_ok(be->ref_cas(be, "refs/heads/main", &parent, &commit));

	before = su_state(p->local);
	assert_rc(GKV_E_CORRUPT, gkv__fetch_ep(NULL, p->local, &p->ep, NULL, NULL));
	assert_rc(GKV_E_CORRUPT, gkv__pull_ep(NULL, NULL, p->local, &p->ep, "main", "main",
	    GKV_PULL_RESET, NULL, NULL));
	assert_rc(GKV_E_CORRUPT, gkv_sync_copy(NULL, p->local, p->remote, &commit, 1, NULL));
	{
		char *after = su_state(p->local);
		assert_string_equal(before, after);
		free(after);
	}
	free(before);
	{
		int has = 1;
		assert_ok(gkv_repo_object_exists(&has, p->local, &commit));
		assert_false(has);
		assert_ok(gkv_repo_object_exists(&has, p->local, &tree));
		assert_false(has);
	}
	/* a clone of the damaged remote fails and leaves no ref and no origin */
	{
		gkv_repo *again = NULL;
		gkv__endpoint ep;
		char url[512];
		su_uri(url, sizeof(url), remote_kind, "remote");
		assert_ok(gkv__endpoint_store(&ep, p->remote, NULL, url));
		su_uri(url, sizeof(url), local_kind, "again");
		assert_rc(GKV_E_CORRUPT, gkv__clone_ep(&again, &ep, url, NULL, NULL));
		assert_null(again);
		gkv__endpoint_free(&ep);
		if (strcmp(local_kind, "mem") != 0) {
			gkv_strarray names = {0};
			again = su_open(local_kind, "again");
			before = su_state(again);
			assert_string_equal(before, "objects 0\n");
			free(before);
			assert_ok(gkv_remote_list(&names, again));
			assert_int_equal(names.count, 0);
			gkv_repo_free(again);
		}
	}
	/* the local store is whole (the remote is damaged on purpose) */
	if (strcmp(local_kind, "git") == 0)
		su_git_fsck("local");
}

static int count_problem(const gkv_oid *id, const char *path, const char *what, void *payload)
{
	(void)path;
	(void)what;
	*(gkv_oid *)payload = *id;
	return 0;
}

/* Between two lmdb stores a blob is copied as the source stores it: its
 * record's checksum (over the id and the bytes) is checked, the blob is
 * not re-hashed, so a blob written under a wrong id through the backend
 * seam arrives as it was, and fsck names it. Damage to a record is
 * refused (unit/backend_lmdb: test_raw_records). Other pairs re-hash. */
static void test_raw_blob_as_stored(void **state)
{
	pair *p = *state;
	gkv_backend *be = gkv_repo_backend(p->remote);
	gkv_oid blob, tree, commit, parent = head(p->remote, "main"), named;
	bool raw = strcmp(local_kind, "lmdb") == 0 && strcmp(remote_kind, "lmdb") == 0;
	unsigned char tbuf[64];
	char cbuf[512], hex[41], phex[41];
	size_t problems = 0;
	int n, rc;

	assert_ok(gkv_hash(&blob, GKV_OBJ_BLOB, "honest", 6));
	raw_write(p->remote, &blob, GKV_OBJ_BLOB, "forged", 6);
	memcpy(tbuf, "100644 v", 9);
	memcpy(tbuf + 9, blob.id, 20);
	assert_ok(gkv_hash(&tree, GKV_OBJ_TREE, tbuf, 29));
	raw_write(p->remote, &tree, GKV_OBJ_TREE, tbuf, 29);
	gkv_oid_fmt(hex, &tree);
	gkv_oid_fmt(phex, &parent);
	n = snprintf(cbuf, sizeof(cbuf),
	    "tree %s\nparent %s\nauthor A <a@b.c> 1 +0000\ncommitter A <a@b.c> 1 +0000\n\nraw\n",
	    hex, phex);
	assert_ok(gkv_hash(&commit, GKV_OBJ_COMMIT, cbuf, (size_t)n));
	raw_write(p->remote, &commit, GKV_OBJ_COMMIT, cbuf, (size_t)n);
	assert_ok(be->ref_cas(be, "refs/heads/main", &parent, &commit));

	rc = gkv_sync_copy(NULL, p->local, p->remote, &commit, 1, NULL);
	if (!raw) {
		assert_rc(GKV_E_CORRUPT, rc);
		return;
	}
	assert_ok(rc);
	assert_ok(gkv_repo_fsck(&problems, p->local, count_problem, &named, NULL, NULL));
	assert_int_equal(problems, 1);
	assert_true(gkv_oid_equal(&named, &blob));
}

static int stop_at_second(const gkv_sync_progress *pr, void *payload)
{
	int *calls = payload;
	if (pr->stage == GKV_SYNC_STORING && pr->stored_objects > 0)
		return ++*calls >= 2;
	return 0;
}

static int count_progress(const gkv_sync_progress *pr, void *payload)
{
	uint64_t *last = payload;
	if (pr->stage == GKV_SYNC_STORING || pr->stage == GKV_SYNC_DONE)
		*last = pr->stored_objects;
	return 0;
}

static void test_progress(void **state)
{
	pair *p = *state;
	gkv_sync_options *o = NULL;
	int calls = 0;
	uint64_t last = 0;
	char *before;

	su_set(p->remote, "main", "p/1", "prog-1");
	su_set(p->remote, "main", "p/2", "prog-2");
	before = su_state(p->local);
	assert_ok(gkv_sync_options_new(&o));
	assert_ok(gkv_sync_options_set_progress(o, stop_at_second, &calls));
	assert_rc(GKV_E_USER, gkv__fetch_ep(NULL, p->local, &p->ep, NULL, o));
	{
		char *after = su_state(p->local);
		assert_string_equal(before, after);
		free(after);
	}
	assert_ok(gkv_sync_options_set_progress(o, count_progress, &last));
	assert_ok(gkv__fetch_ep(NULL, p->local, &p->ep, NULL, o));
	assert_int_equal(last, 2 * 4); /* two commits, each with a root, a p/ and a blob */
	gkv_sync_options_free(o);
	free(before);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_clone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fetch_copies_only_new, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pull_merge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pull_ff_and_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_push_force_and_new_branch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conflicting_pull, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_copy_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_source, setup, teardown),
		cmocka_unit_test_setup_teardown(test_raw_blob_as_stored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_progress, setup, teardown),
	};
	char group[64];

	if (argc < 3) {
		fprintf(stderr, "usage: %s LOCAL-KIND REMOTE-KIND\n", argv[0]);
		return 1;
	}
	local_kind = argv[1];
	remote_kind = argv[2];
	snprintf(group, sizeof(group), "sync %s <- %s", local_kind, remote_kind);
	return cmocka_run_group_tests_name(group, tests, NULL, NULL);
}
