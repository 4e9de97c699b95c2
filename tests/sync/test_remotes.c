/*
 * test_remotes.c -- recorded remotes, sync by name (store names, plain
 * paths to an LMDB environment or a git repository, recorded remotes),
 * and bad input, on a local store of the kind argv[1] ("mem", "lmdb",
 * "git"). Every refused call is checked to leave the store as it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "sync_int.h"
#include "sync_util.h"

static const char *kind;

void pending_reset(void) __attribute__((weak));

static int setup(void **state)
{
	(void)state;
	su_setup();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (pending_reset)
		pending_reset();
	su_cleanup();
	return 0;
}

/* The store's refs, objects and remotes with their URLs, as text. */
static char *state_of(gkv_repo *repo)
{
	gkv_strarray names = {0};
	char *s = su_state(repo), *out;
	size_t len = strlen(s) + 1, i;

	assert_ok(gkv_remote_list(&names, repo));
	for (i = 0; i < names.count; i++) {
		gkv_buf url = {0};
		assert_ok(gkv_remote_url(&url, repo, names.strings[i]));
		len += strlen(names.strings[i]) + url.size + 3;
		assert_non_null(s = realloc(s, len));
		strcat(s, names.strings[i]);
		strcat(s, "=");
		strncat(s, (const char *)url.ptr, url.size);
		strcat(s, "\n");
		gkv_buf_dispose(&url);
	}
	gkv_strarray_dispose(&names);
	out = s;
	return out;
}

static void assert_state(gkv_repo *repo, const char *before)
{
	char *now = state_of(repo);
	assert_string_equal(before, now);
	free(now);
}

static void test_remote_add_list_remove(void **state)
{
	gkv_repo *repo = su_open(kind, "local"), *other = su_open("lmdb", "other");
	gkv_strarray names = {0};
	gkv_buf url = {0};
	char path[512], uri[600], line[600];

	(void)state;
	su_path(path, sizeof(path), "other");
	snprintf(uri, sizeof(uri), "lmdb:%s", path);
	su_set(other, "main", "k", "v");
	assert_ok(gkv_remote_add(repo, "origin", uri));
	assert_ok(gkv_remote_add(repo, "backup", path));
	assert_ok(gkv_remote_add(repo, "team/hub", "https://example.invalid/r.git"));
	assert_ok(gkv_remote_list(&names, repo));
	assert_int_equal(names.count, 3);
	assert_string_equal(names.strings[0], "backup");
	assert_string_equal(names.strings[1], "origin");
	assert_string_equal(names.strings[2], "team/hub");
	gkv_strarray_dispose(&names);
	assert_ok(gkv_remote_url(&url, repo, "origin"));
	assert_string_equal((const char *)url.ptr, uri);
	assert_int_equal(url.size, strlen(uri));
	gkv_buf_dispose(&url);
	if (strcmp(kind, "git") == 0) {
		su_sh_line(line, sizeof(line), "git -C '%s/local' config remote.origin.url", su_dir);
		assert_string_equal(line, uri);
		su_sh_line(line, sizeof(line), "git -C '%s/local' config remote.origin.fetch",
		    su_dir);
		assert_string_equal(line, "+refs/heads/*:refs/remotes/origin/*");
	}
	/* fetching by name fills the remote-tracking refs; removing drops them */
	assert_ok(gkv_fetch(NULL, repo, "origin", NULL, NULL));
	assert_true(su_has_ref(repo, "refs/remotes/origin/main"));
	assert_ok(gkv_fetch(NULL, repo, "backup", NULL, NULL));
	assert_true(su_has_ref(repo, "refs/remotes/backup/main"));
	assert_ok(gkv_remote_remove(repo, "origin"));
	assert_false(su_has_ref(repo, "refs/remotes/origin/main"));
	assert_true(su_has_ref(repo, "refs/remotes/backup/main"));
	assert_rc(GKV_E_NOTFOUND, gkv_remote_url(&url, repo, "origin"));
	assert_rc(GKV_E_NOTFOUND, gkv_remote_remove(repo, "origin"));
	assert_ok(gkv_remote_list(&names, repo));
	assert_int_equal(names.count, 2);
	gkv_strarray_dispose(&names);
	if (strcmp(kind, "git") == 0) {
		assert_int_not_equal(su_sh("git -C '%s/local' config remote.origin.url >/dev/null",
		    su_dir), 0);
		su_git_fsck("local");
	}
	/* removing "team" leaves the refs of "team/hub" */
	assert_ok(gkv_remote_add(repo, "team", path));
	assert_ok(gkv_remote_remove(repo, "team/hub"));
	assert_ok(gkv_remote_add(repo, "team/hub", path));
	assert_ok(gkv_fetch(NULL, repo, "team", NULL, NULL));
	assert_ok(gkv_fetch(NULL, repo, "team/hub", NULL, NULL));
	assert_true(su_has_ref(repo, "refs/remotes/team/main"));
	assert_true(su_has_ref(repo, "refs/remotes/team/hub/main"));
	assert_ok(gkv_remote_remove(repo, "team"));
	assert_false(su_has_ref(repo, "refs/remotes/team/main"));
	assert_true(su_has_ref(repo, "refs/remotes/team/hub/main"));
	/* a removed name can be recorded again */
	assert_ok(gkv_remote_add(repo, "origin", path));
	gkv_repo_free(other);
	gkv_repo_free(repo);
}

static void test_remote_bad_input(void **state)
{
	gkv_repo *repo = su_open(kind, "local");
	gkv_strarray names = {0};
	gkv_buf url = {0};
	static const char *bad_names[] = {"", "a..b", "-x", "a b", "HEAD", "a/", "x.lock",
	    "a\nb", "@", "c:d"};
	static const char *bad_urls[] = {"", "a\nb", "foo://host/x", "ftp://host/x", "c:\\x",
	    "origin"};
	char *before;
	size_t i;

	(void)state;
	su_set(repo, "main", "k", "v");
	assert_ok(gkv_remote_add(repo, "origin", "/nonexistent/store"));
	before = state_of(repo);
	for (i = 0; i < sizeof(bad_names) / sizeof(*bad_names); i++) {
		assert_rc(GKV_E_INVALID, gkv_remote_add(repo, bad_names[i], "/x"));
		assert_rc(GKV_E_INVALID, gkv_remote_remove(repo, bad_names[i]));
		assert_rc(GKV_E_INVALID, gkv_remote_url(&url, repo, bad_names[i]));
	}
	for (i = 0; i < sizeof(bad_urls) / sizeof(*bad_urls); i++)
		assert_rc(GKV_E_INVALID, gkv_remote_add(repo, "other", bad_urls[i]));
	assert_rc(GKV_E_EXISTS, gkv_remote_add(repo, "origin", "/y"));
	assert_rc(GKV_E_NOTFOUND, gkv_remote_remove(repo, "nope"));
	assert_rc(GKV_E_NOTFOUND, gkv_remote_url(&url, repo, "nope"));
	assert_rc(GKV_E_INVALID, gkv_remote_add(NULL, "a", "/x"));
	assert_rc(GKV_E_INVALID, gkv_remote_add(repo, NULL, "/x"));
	assert_rc(GKV_E_INVALID, gkv_remote_add(repo, "a", NULL));
	assert_rc(GKV_E_INVALID, gkv_remote_remove(repo, NULL));
	assert_rc(GKV_E_INVALID, gkv_remote_remove(NULL, "origin"));
	assert_rc(GKV_E_INVALID, gkv_remote_list(NULL, repo));
	assert_rc(GKV_E_INVALID, gkv_remote_list(&names, NULL));
	assert_rc(GKV_E_INVALID, gkv_remote_url(NULL, repo, "origin"));
	assert_rc(GKV_E_INVALID, gkv_remote_url(&url, repo, NULL));
	assert_state(repo, before);
	free(before);
	gkv_repo_free(repo);
}

/* A git repository made by git itself, bare, with main and dev. */
static void make_git_repo(const char *name)
{
	assert_int_equal(su_sh("cd '%s' && git init -q -b main work && cd work && "
	    "echo v1 > k && git add k && git commit -qm one && "
	    "git checkout -qb dev && echo d > d && git add d && git commit -qm two && "
	    "git checkout -q main && cd .. && git clone -q --bare work '%s' && rm -rf work",
	    su_dir, name), 0);
}

static gkv_oid head_of(gkv_repo *repo, const char *branch)
{
	gkv_oid id;
	assert_ok(gkv_branch_head(&id, repo, branch));
	return id;
}

static void test_sync_by_name(void **state)
{
	gkv_repo *repo = NULL, *lm = su_open("lmdb", "lm");
	gkv_fetch_result *r = NULL;
	gkv_oid out, head, pushed;
	char uri[700], gitpath[600], lmpath[600], line[600];
	gkv_buf url = {0};

	(void)state;
	su_set(lm, "main", "a", "lm-1");
	gkv_repo_free(lm);
	make_git_repo("gitrepo");
	su_path(gitpath, sizeof(gitpath), "gitrepo");
	su_path(lmpath, sizeof(lmpath), "lm");

	/* clone a repository git made, by its plain path */
	su_uri(uri, sizeof(uri), kind, "local");
	assert_ok(gkv_clone(&repo, gitpath, uri, NULL, NULL));
	su_check_value(repo, "main", "k", "v1\n");
	su_check_value(repo, "dev", "d", "d\n");
	assert_string_equal(gkv_repo_default_branch(repo), "main");
	assert_ok(gkv_remote_url(&url, repo, "origin"));
	assert_string_equal((const char *)url.ptr, gitpath);
	gkv_buf_dispose(&url);

	/* the remote's HEAD names the default branch of a clone */
	{
		gkv_repo *second = NULL;
		char uri2[700];
		assert_int_equal(su_sh("git -C '%s' symbolic-ref HEAD refs/heads/dev", gitpath), 0);
		su_uri(uri2, sizeof(uri2), kind, "second");
		assert_ok(gkv_clone(&second, gitpath, uri2, NULL, NULL));
		assert_string_equal(gkv_repo_default_branch(second), "dev");
		gkv_repo_free(second);
		assert_int_equal(su_sh("git -C '%s' symbolic-ref HEAD refs/heads/main", gitpath), 0);
	}

	/* push a change back to it, by the recorded name; git sees it */
	pushed = su_set(repo, "main", "k2", "from gitkv");
	assert_ok(gkv_push(repo, "origin", "main", NULL, NULL));
	assert_int_equal(su_sh("git -C '%s' fsck --strict --no-progress >/dev/null 2>&1",
	    gitpath), 0);
	su_sh_line(line, sizeof(line), "git -C '%s' show main:k2", gitpath);
	assert_string_equal(line, "from gitkv");
	su_sh_line(line, sizeof(line), "git -C '%s' rev-list --count main", gitpath);
	assert_string_equal(line, "2");
	assert_oid_eq(&pushed, su_p(su_ref(repo, "refs/remotes/origin/main")));

	/* git commits on its side; a pull by name fast-forwards */
	assert_int_equal(su_sh("cd '%s' && git clone -q '%s' w2 && cd w2 && echo v3 > k && "
	    "git commit -qam three && git push -q origin main && cd .. && rm -rf w2",
	    su_dir, gitpath), 0);
	assert_ok(gkv_pull(&out, NULL, repo, "origin", NULL, "main", GKV_PULL_FF, NULL, NULL));
	su_check_value(repo, "main", "k", "v3\n");
	su_check_value(repo, "main", "k2", "from gitkv");

	/* the same repository through git's transport (file://): a recorded
	 * remote's tracking ref moves, a pull and a push go through */
	{
		char furl[700];
		gkv_oid gh;
		snprintf(furl, sizeof(furl), "file://%s", gitpath);
		assert_ok(gkv_remote_add(repo, "wire", furl));
		assert_ok(gkv_fetch(NULL, repo, "wire", NULL, NULL));
		gh = su_ref(repo, "refs/remotes/wire/main");
		assert_oid_eq(&gh, su_p(head_of(repo, "main")));
		assert_true(su_has_ref(repo, "refs/remotes/wire/dev"));
		pushed = su_set(repo, "main", "k4", "over the wire");
		assert_ok(gkv_push(repo, "wire", "main", NULL, NULL));
		assert_oid_eq(&pushed, su_p(su_ref(repo, "refs/remotes/wire/main")));
		su_sh_line(line, sizeof(line), "git -C '%s' show main:k4", gitpath);
		assert_string_equal(line, "over the wire");
		assert_int_equal(su_sh("git -C '%s' fsck --strict --no-progress >/dev/null 2>&1",
		    gitpath), 0);
		assert_ok(gkv_pull(&out, NULL, repo, "origin", NULL, "main", GKV_PULL_FF, NULL,
		    NULL));
		assert_oid_eq(&out, &pushed);
	}

	/* fetch from an LMDB store by its plain path and by its store name: no
	 * ref moves for a URL */
	assert_ok(gkv_fetch(&r, repo, lmpath, NULL, NULL));
	assert_int_equal(gkv_fetch_result_count(r), 1);
	head = *gkv_fetch_result_id(r, 0);
	gkv_fetch_result_free(r);
	assert_false(su_has_ref(repo, "refs/remotes/lm/main"));
	snprintf(uri, sizeof(uri), "lmdb:%s", lmpath);
	assert_ok(gkv_pull(&out, NULL, repo, uri, "main", "from-lm", GKV_PULL_MERGE, NULL,
	    NULL));
	assert_oid_eq(&out, &head);
	su_check_value(repo, "from-lm", "a", "lm-1");
	/* and push to it by name, a new branch */
	assert_ok(gkv_push(repo, uri, "main", "copy", NULL));
	lm = su_open("lmdb", "lm");
	su_check_value(lm, "copy", "k", "v3\n");
	gkv_repo_free(lm);
	if (strcmp(kind, "git") == 0)
		su_git_fsck("local");
	gkv_repo_free(repo);
}

static void test_sync_bad_input(void **state)
{
	gkv_repo *repo = su_open(kind, "local"), *lm = su_open("lmdb", "lm"), *other = NULL;
	gkv_fetch_result *r = NULL;
	gkv_conflicts *c = NULL;
	char lmpath[600], uri[600], missing[600], *before;
	gkv_oid out;
	struct stat st;

	(void)state;
	su_set(lm, "main", "a", "1");
	su_set(repo, "main", "b", "2");
	su_path(lmpath, sizeof(lmpath), "lm");
	assert_ok(gkv_remote_add(repo, "origin", lmpath));
	su_path(missing, sizeof(missing), "missing");
	before = state_of(repo);

	/* unknown remotes, unknown schemes, missing paths */
	assert_rc(GKV_E_NOTFOUND, gkv_fetch(&r, repo, "nope", NULL, NULL));
	assert_null(r);
	assert_rc(GKV_E_NOTFOUND, gkv_fetch(NULL, repo, missing, NULL, NULL));
	assert_rc(GKV_E_INVALID, gkv_fetch(NULL, repo, "foo://host/x", NULL, NULL));
	assert_rc(GKV_E_INVALID, gkv_fetch(NULL, repo, "foo:bar", NULL, NULL));
	assert_rc(GKV_E_INVALID, gkv_fetch(NULL, repo, "", NULL, NULL));
	assert_rc(GKV_E_INVALID, gkv_fetch(NULL, repo, su_dir, NULL, NULL)); /* neither kind */
	assert_rc(GKV_E_NOTFOUND, gkv_pull(&out, NULL, repo, "nope", NULL, "main",
	    GKV_PULL_MERGE, NULL, NULL));
	assert_rc(GKV_E_NOTFOUND, gkv_push(repo, "nope", "main", NULL, NULL));
	assert_rc(GKV_E_INVALID, gkv_push(repo, "foo://host/x", "main", NULL, NULL));
	/* bad branch names */
	assert_rc(GKV_E_INVALID, gkv_fetch(NULL, repo, "origin", "a..b", NULL));
	assert_rc(GKV_E_INVALID, gkv_pull(&out, NULL, repo, "origin", "main", "-x",
	    GKV_PULL_MERGE, NULL, NULL));
	assert_rc(GKV_E_INVALID, gkv_pull(&out, NULL, repo, "origin", "a b", "main",
	    GKV_PULL_MERGE, NULL, NULL));
	assert_rc(GKV_E_INVALID, gkv_push(repo, "origin", "main", "x.lock", NULL));
	assert_rc(GKV_E_INVALID, gkv_push(repo, "origin", "HEAD", NULL, NULL));
	assert_rc(GKV_E_INVALID, gkv_pull(&out, NULL, repo, "origin", NULL, "main",
	    (gkv_pull_strategy)7, NULL, NULL));
	/* branches that are not there */
	assert_rc(GKV_E_NOTFOUND, gkv_fetch(NULL, repo, "origin", "nope", NULL));
	assert_rc(GKV_E_NOTFOUND, gkv_pull(&out, &c, repo, "origin", "nope", "main",
	    GKV_PULL_MERGE, NULL, NULL));
	assert_null(c);
	assert_rc(GKV_E_NOTFOUND, gkv_push(repo, "origin", "nope", NULL, NULL));
	/* NULLs */
	assert_rc(GKV_E_INVALID, gkv_fetch(NULL, NULL, "origin", NULL, NULL));
	assert_rc(GKV_E_INVALID, gkv_fetch(NULL, repo, NULL, NULL, NULL));
	assert_rc(GKV_E_INVALID, gkv_pull(&out, NULL, NULL, "origin", NULL, "main",
	    GKV_PULL_MERGE, NULL, NULL));
	assert_rc(GKV_E_INVALID, gkv_pull(&out, NULL, repo, NULL, NULL, "main",
	    GKV_PULL_MERGE, NULL, NULL));
	assert_rc(GKV_E_INVALID, gkv_pull(&out, NULL, repo, "origin", NULL, NULL,
	    GKV_PULL_MERGE, NULL, NULL));
	assert_rc(GKV_E_INVALID, gkv_push(NULL, "origin", "main", NULL, NULL));
	assert_rc(GKV_E_INVALID, gkv_push(repo, NULL, "main", NULL, NULL));
	assert_rc(GKV_E_INVALID, gkv_push(repo, "origin", NULL, NULL, NULL));
	assert_rc(GKV_E_INVALID, gkv_clone(NULL, lmpath, "mem:", NULL, NULL));
	assert_rc(GKV_E_INVALID, gkv_clone(&other, NULL, "mem:", NULL, NULL));
	assert_rc(GKV_E_INVALID, gkv_clone(&other, lmpath, NULL, NULL, NULL));
	assert_state(repo, before);
	free(before);

	/* a clone into a store that has refs is refused and touches nothing */
	su_uri(uri, sizeof(uri), kind, "local");
	if (strcmp(kind, "mem") != 0) {
		gkv_repo_free(repo);
		repo = su_open(kind, "local");
		before = state_of(repo);
		gkv_repo_free(repo);
		assert_rc(GKV_E_EXISTS, gkv_clone(&other, lmpath, uri, NULL, NULL));
		assert_null(other);
		repo = su_open(kind, "local");
		assert_state(repo, before);
		free(before);
	}
	/* a clone of what is not there makes no store */
	su_uri(uri, sizeof(uri), kind, "fresh");
	assert_rc(GKV_E_NOTFOUND, gkv_clone(&other, missing, uri, NULL, NULL));
	assert_rc(GKV_E_INVALID, gkv_clone(&other, "foo://x/y", uri, NULL, NULL));
	assert_null(other);
	{
		char fresh[600];
		su_path(fresh, sizeof(fresh), "fresh");
		assert_int_not_equal(stat(fresh, &st), 0);
	}
	gkv_repo_free(lm);
	gkv_repo_free(repo);
}

static void test_readonly(void **state)
{
	gkv_repo *repo, *lm, *ro = NULL;
	gkv_options *o = NULL;
	char lmpath[600], uri[600], *before;

	(void)state;
	if (strcmp(kind, "mem") == 0)
		skip(); /* a mem store cannot be opened read-only by name */
	lm = su_open("lmdb", "lm");
	repo = su_open(kind, "local");
	su_set(lm, "main", "a", "1");
	su_set(repo, "main", "b", "2");
	su_path(lmpath, sizeof(lmpath), "lm");
	assert_ok(gkv_remote_add(repo, "origin", lmpath));
	gkv_repo_free(repo);
	su_uri(uri, sizeof(uri), kind, "local");
	assert_ok(gkv_options_new(&o));
	assert_ok(gkv_options_set_readonly(o, 1));
	assert_ok(gkv_repo_open(&ro, uri, o));
	gkv_options_free(o);
	before = state_of(ro);
	assert_rc(GKV_E_READONLY, gkv_fetch(NULL, ro, "origin", NULL, NULL));
	assert_rc(GKV_E_READONLY, gkv_remote_add(ro, "x", lmpath));
	assert_rc(GKV_E_READONLY, gkv_remote_remove(ro, "origin"));
	assert_state(ro, before);
	free(before);
	gkv_repo_free(ro);
	gkv_repo_free(lm);
}

/* ---- cost: a fetch reads only what is new ---- */

/* A backend that forwards to a mem backend and counts the objects read. */
typedef struct {
	gkv_backend base;
	gkv_backend *inner;
	unsigned reads;
} counting;

#define INNER(b) (((counting *)(b))->inner)

static int c_read(void **d, size_t *l, gkv_otype *t, gkv_backend *b, const gkv_oid *id)
{
	((counting *)b)->reads++;
	return INNER(b)->read(d, l, t, INNER(b), id);
}
static int c_exists(gkv_backend *b, const gkv_oid *id) { return INNER(b)->exists(INNER(b), id); }
static int c_foreach(gkv_backend *b, const gkv_oid *p, size_t n, gkv_backend_oid_cb cb, void *x)
{
	return INNER(b)->foreach(INNER(b), p, n, cb, x);
}
static int c_ref_read(gkv_oid *o, gkv_backend *b, const char *n)
{
	return INNER(b)->ref_read(o, INNER(b), n);
}
static int c_ref_list(gkv_backend *b, const char *p, gkv_backend_ref_cb cb, void *x)
{
	return INNER(b)->ref_list(INNER(b), p, cb, x);
}
static int c_ref_cas(gkv_backend *b, const char *n, const gkv_oid *e, const gkv_oid *t)
{
	return INNER(b)->ref_cas(INNER(b), n, e, t);
}
static int c_batch_begin(gkv_batch **o, gkv_backend *b) { return INNER(b)->batch_begin(o, INNER(b)); }
static int c_batch_write(gkv_batch *bt, const gkv_oid *id, gkv_otype t, const void *d, size_t l)
{
	return bt->backend->batch_write(bt, id, t, d, l);
}
static int c_batch_ref_cas(gkv_batch *bt, const char *n, const gkv_oid *e, const gkv_oid *t)
{
	return bt->backend->batch_ref_cas(bt, n, e, t);
}
static int c_batch_commit(gkv_batch *bt) { return bt->backend->batch_commit(bt); }
static void c_batch_abort(gkv_batch *bt) { bt->backend->batch_abort(bt); }
static void c_free(gkv_backend *b)
{
	INNER(b)->free(INNER(b));
	free(b);
}

static gkv_repo *counting_repo(counting **out)
{
	counting *c = calloc(1, sizeof(*c));
	gkv_repo *repo = NULL;

	assert_non_null(c);
	assert_ok(gkv_backend_init(&c->base, GKV_BACKEND_VERSION));
	assert_ok(gkv_backend_mem_new(&c->inner));
	c->base.name = "counting";
	c->base.read = c_read;
	c->base.exists = c_exists;
	c->base.foreach = c_foreach;
	c->base.ref_read = c_ref_read;
	c->base.ref_list = c_ref_list;
	c->base.ref_cas = c_ref_cas;
	c->base.batch_begin = c_batch_begin;
	c->base.batch_write = c_batch_write;
	c->base.batch_ref_cas = c_batch_ref_cas;
	c->base.batch_commit = c_batch_commit;
	c->base.batch_abort = c_batch_abort;
	c->base.free = c_free;
	assert_ok(gkv_repo_open_backend(&repo, &c->base, NULL));
	*out = c;
	return repo;
}

static void test_fetch_cost(void **state)
{
	counting *c = NULL;
	gkv_repo *src = counting_repo(&c), *local = NULL;
	gkv_fetch_result *r = NULL;
	gkv__endpoint ep;
	gkv_txn *txn = NULL;
	char uri[600], path[64], value[64];
	int i, j;

	(void)state;
	/* 300 commits over 200 values in 10 directories */
	for (i = 0; i < 300; i++) {
		gkv_store *s = NULL;
		assert_ok(gkv_store_open_branch(&s, src, "main"));
		assert_ok(gkv_txn_begin(&txn, s));
		for (j = 0; j < (i == 0 ? 200 : 2); j++) {
			int k = i == 0 ? j : (i * 7 + j * 13) % 200;
			snprintf(path, sizeof(path), "d%d/v%d", k % 10, k);
			snprintf(value, sizeof(value), "value %d of commit %d", k, i);
			assert_ok(gkv_txn_set(txn, path, value, strlen(value)));
		}
		assert_ok(gkv_txn_commit(NULL, txn, GKV_TXN_FAIL, NULL));
		gkv_txn_free(txn);
		gkv_store_free(s);
	}
	assert_ok(gkv__endpoint_store(&ep, src, "origin", "mem:"));
	su_uri(uri, sizeof(uri), kind, "local");
	assert_ok(gkv__clone_ep(&local, &ep, uri, NULL, NULL));
	assert_true(c->reads >= 300 + 1 + 10 + 200);

	gkv__endpoint_free(&ep);

	/* one new commit that changes one value in one directory, fetched by
	 * URL (no remote-tracking ref to move) */
	su_set(src, "main", "d3/v3", "new");
	assert_ok(gkv__endpoint_store(&ep, src, NULL, "mem:"));
	c->reads = 0;
	assert_ok(gkv__fetch_ep(&r, local, &ep, NULL, NULL));
	assert_int_equal(gkv_fetch_result_objects(r), 4); /* commit, root, d3, blob */
	assert_int_equal(c->reads, 4);                    /* and nothing else was read */
	gkv_fetch_result_free(r);
	gkv__endpoint_free(&ep);

	/* by the recorded name: telling a fast-forward of the tracking ref
	 * (from the clone's head) reads a few commits more, no more */
	su_set(src, "main", "d4/v4", "newer");
	assert_ok(gkv__endpoint_store(&ep, src, "origin", "mem:"));
	c->reads = 0;
	assert_ok(gkv__fetch_ep(&r, local, &ep, NULL, NULL));
	assert_int_equal(gkv_fetch_result_objects(r), 4);
	assert_true(c->reads <= 4 + 6);
	gkv_fetch_result_free(r);
	gkv__endpoint_free(&ep);
	gkv_repo_free(local);
	gkv_repo_free(src);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_remote_add_list_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remote_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_by_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fetch_cost, setup, teardown),
	};
	char group[64];

	if (argc < 2) {
		fprintf(stderr, "usage: %s KIND\n", argv[0]);
		return 1;
	}
	kind = argv[1];
	snprintf(group, sizeof(group), "sync remotes on %s", kind);
	return cmocka_run_group_tests_name(group, tests, NULL, NULL);
}
