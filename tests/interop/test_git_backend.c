/*
 * test_git_backend.c -- a git: store with the git CLI on the other side.
 *
 * Both ways: what gitkv writes through the public API, git must see with
 * exactly the ids gitkv reported (log, cat-file, rev-parse, clone) and
 * find clean (fsck --strict); what git writes -- plain commits, merges,
 * renames, executables, symlinks, a submodule gitlink, packs after gc,
 * packed refs, annotated tags -- gitkv must read (values, kinds, log) and
 * keep when it writes next to it. Then the two writing one repository in
 * turn lose nothing, a write meets a lock git holds and gets through when
 * it is released, and a repository of 100,000 files made by git
 * fast-import opens and reads quickly; a bulk load of 100,000 values
 * through gitkv becomes one pack. Times are printed, never asserted.
 *
 * Everything lives under one mkdtemp directory, removed at the end.
 * Commits made by git get distinct dates (GIT_*_DATE), so that git log
 * and gitkv's walk have one order to agree on.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <ftw.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gitkv.h"

static char tmpdir[] = "/tmp/gkv-interop-git-XXXXXX";

/* ---- helpers ---- */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void vformat(char *out, size_t size, const char *fmt, va_list ap)
{
	int n = vsnprintf(out, size, fmt, ap);

	assert_true(n >= 0 && (size_t)n < size);
}

/* Run a shell command; its exit status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vformat(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Run a shell command that must succeed; all of its output (malloc()ed). */
static char *out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *out(const char *fmt, ...)
{
	char cmd[8192];
	size_t cap = 4096, n = 0, k;
	char *buf = malloc(cap);
	va_list ap;
	FILE *p;

	assert_non_null(buf);
	va_start(ap, fmt);
	vformat(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_non_null(p = popen(cmd, "r"));
	while ((k = fread(buf + n, 1, cap - n - 1, p)) > 0) {
		n += k;
		if (cap - n < 2) {
			cap *= 2;
			assert_non_null(buf = realloc(buf, cap));
		}
	}
	buf[n] = '\0';
	if (pclose(p) != 0)
		fail_msg("command failed: %s\n%s", cmd, buf);
	return buf;
}

/* The output's first line must be hex. */
static void assert_out_is(const char *hex, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void assert_out_is(const char *hex, const char *fmt, ...)
{
	char cmd[8192];
	char *got;
	va_list ap;

	va_start(ap, fmt);
	vformat(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	got = out("%s", cmd);
	got[strcspn(got, "\n")] = '\0';
	if (strcmp(got, hex) != 0)
		fail_msg("%s gave '%s', expected '%s'", cmd, got, hex);
	free(got);
}

static void assert_fsck_clean(const char *gitdir)
{
	char *o = out("git --git-dir=%s fsck --strict --no-dangling 2>&1", gitdir);

	if (*o)
		fail_msg("git fsck --strict in %s:\n%s", gitdir, o);
	free(o);
}

static const char *hex(const gkv_oid *id)
{
	static _Thread_local char bufs[4][GKV_OID_HEXSZ + 1];
	static _Thread_local unsigned next;
	char *b = bufs[next++ & 3];

	gkv_oid_fmt(b, id);
	return b;
}

static gkv_repo *open_repo(const char *uri, int create)
{
	gkv_options *opts = NULL;
	gkv_repo *repo = NULL;
	int rc;

	assert_int_equal(gkv_options_new(&opts), 0);
	assert_int_equal(gkv_options_set_create(opts, create), 0);
	assert_int_equal(gkv_options_set_author(opts, "Interop", "interop@example.com"), 0);
	rc = gkv_repo_open(&repo, uri, opts);
	gkv_options_free(opts);
	if (rc != 0)
		fail_msg("opening %s: %d %s", uri, rc, gkv_error_last());
	return repo;
}

static gkv_oid set(gkv_store *s, const char *path, const char *value)
{
	gkv_oid head;
	int rc = gkv_store_set(&head, s, path, value, strlen(value), NULL);

	if (rc != 0)
		fail_msg("set %s: %d %s", path, rc, gkv_error_last());
	return head;
}

static void assert_value(gkv_store *s, const char *path, const char *value)
{
	gkv_buf b = {NULL, 0};
	int rc = gkv_store_get(&b, s, path);

	if (rc != 0)
		fail_msg("get %s: %d %s", path, rc, gkv_error_last());
	if (b.size != strlen(value) || memcmp(b.ptr, value, b.size) != 0)
		fail_msg("'%s' holds '%.*s', expected '%s'", path, (int)b.size, (char *)b.ptr,
			 value);
	gkv_buf_dispose(&b);
}

static void assert_kind(gkv_store *s, const char *path, gkv_kind want)
{
	gkv_kind k = GKV_KIND_NONE;

	assert_int_equal(gkv_store_kind(&k, s, path), 0);
	if (k != want)
		fail_msg("'%s' is of kind %d, expected %d", path, (int)k, (int)want);
}

/* gitkv's log from head, newest first, as lines of hex (malloc()ed). */
static char *gkv_log(gkv_repo *repo, const gkv_oid *head)
{
	gkv_revwalk *w = NULL;
	size_t cap = 1024, n = 0;
	char *buf = malloc(cap);
	gkv_oid id;
	int rc;

	assert_non_null(buf);
	buf[0] = '\0';
	assert_int_equal(gkv_revwalk_new(&w, repo), 0);
	assert_int_equal(gkv_revwalk_push(w, head), 0);
	while ((rc = gkv_revwalk_next(&id, w)) == 0) {
		if (cap - n < GKV_OID_HEXSZ + 2) {
			cap *= 2;
			assert_non_null(buf = realloc(buf, cap));
		}
		n += (size_t)sprintf(buf + n, "%s\n", hex(&id));
	}
	assert_int_equal(rc, GKV_ITEROVER);
	gkv_revwalk_free(w);
	return buf;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A shell prelude: c ARGS commits with the next of a series of dates. */
#define DATED                                                                                      \
	"n=0; c() { n=$((n+1)); GIT_AUTHOR_DATE=\"$((1700000000+n)) +0000\" "                      \
	"GIT_COMMITTER_DATE=\"$((1700000000+n)) +0000\" git commit -q \"$@\"; }; "

/* ---- gitkv writes, git reads ---- */

static void test_git_sees_what_gitkv_wrote(void **state)
{
	char path[256], uri[300], clone[300];
	gkv_repo *repo;
	gkv_store *s = NULL;
	gkv_txn *txn = NULL;
	gkv_commit *c = NULL;
	gkv_oid heads[8], blob, last;
	char *theirs, *ours;
	int nh = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/store", tmpdir);
	snprintf(uri, sizeof(uri), "git:%s", path);
	repo = open_repo(uri, 1);
	assert_string_equal(gkv_repo_backend_name(repo), "git");
	assert_string_equal(gkv_repo_default_branch(repo), "main");
	assert_int_equal(gkv_store_open_branch(&s, repo, "main"), 0);
	heads[nh++] = set(s, "a/b", "1");
	heads[nh++] = set(s, "a/c", "2");
	heads[nh++] = set(s, "x", "3\n");
	assert_int_equal(gkv_store_remove(&heads[nh++], s, "a/c", NULL), 0);
	assert_int_equal(gkv_txn_begin(&txn, s), 0);
	assert_int_equal(gkv_txn_set(txn, "t/one", "uno", 3), 0);
	assert_int_equal(gkv_txn_set(txn, "t/two", "dos", 3), 0);
	assert_int_equal(gkv_txn_set(txn, "bin", "\0\1\2\377", 4), 0);
	assert_int_equal(gkv_txn_commit(&heads[nh++], txn, GKV_TXN_FAIL, NULL), 0);
	gkv_txn_free(txn);
	last = heads[nh - 1];

	assert_fsck_clean(path);
	/* git log: exactly gitkv's heads, newest first */
	theirs = out("git --git-dir=%s log --format=%%H main", path);
	ours = malloc((size_t)nh * (GKV_OID_HEXSZ + 1) + 1);
	assert_non_null(ours);
	ours[0] = '\0';
	for (int i = nh - 1; i >= 0; i--)
		sprintf(ours + strlen(ours), "%s\n", hex(&heads[i]));
	assert_string_equal(theirs, ours);
	free(ours);
	free(theirs);
	ours = gkv_log(repo, &last);
	theirs = out("git --git-dir=%s rev-list main", path);
	assert_string_equal(ours, theirs);
	free(ours);
	free(theirs);
	/* cat-file: the commit's tree is gitkv's; rev-parse: the blobs are */
	assert_int_equal(gkv_commit_lookup(&c, repo, &last), 0);
	assert_out_is(hex(gkv_commit_tree_id(c)),
		      "git --git-dir=%s cat-file -p %s | sed -n 's/^tree //p'", path, hex(&last));
	assert_out_is(hex(gkv_commit_tree_id(c)), "git --git-dir=%s rev-parse main^{tree}", path);
	gkv_commit_free(c);
	assert_int_equal(gkv_hash(&blob, GKV_OBJ_BLOB, "1", 1), 0);
	assert_out_is(hex(&blob), "git --git-dir=%s rev-parse main:a/b", path);
	assert_out_is("blob", "git --git-dir=%s cat-file -t main:a/b", path);
	assert_int_equal(sh("test \"$(git --git-dir=%s cat-file blob main:t/two)\" = dos", path),
			 0);
	assert_int_equal(sh("git --git-dir=%s rev-parse -q --verify main:a/c >/dev/null", path), 1);
	assert_int_equal(sh("git --git-dir=%s cat-file blob main:bin | od -An -tx1 | "
			    "tr -d ' \\n' | grep -qx 000102ff",
			    path),
			 0);
	/* a clone sees the same history and files */
	snprintf(clone, sizeof(clone), "%s/clone", tmpdir);
	assert_int_equal(sh("git clone -q %s %s 2>/dev/null", path, clone), 0);
	assert_out_is(hex(&last), "git -C %s rev-parse HEAD", clone);
	assert_int_equal(sh("cd %s && test \"$(cat a/b)\" = 1 && test \"$(cat t/one)\" = uno && "
			    "test ! -e a/c && test \"$(git log --oneline | wc -l)\" = %d",
			    clone, nh),
			 0);
	gkv_store_free(s);
	gkv_repo_free(repo);
}

/* ---- git writes, gitkv reads ---- */

/* A repository git makes on branch master: every kind of entry, a
 * rename, a merge, an annotated tag, then gc (packs and packed refs). */
static void make_git_repo(const char *path)
{
	assert_int_equal(
	    sh("set -e; git init -q -b master %s; cd %s; " DATED
	       "echo hello > plain; mkdir d; echo run > d/tool; chmod +x d/tool; "
	       "ln -s ../plain d/link; echo old > d/before; git add -A; c -m one; "
	       "git update-index --add --cacheinfo 160000,$(git rev-parse HEAD),d/sub; "
	       "c -m 'submodule link'; "
	       "git mv d/before d/after; c -m rename; "
	       "git checkout -q -b side; echo from side > side.txt; git add side.txt; c -m side; "
	       "git checkout -q master; echo more >> plain; git add plain; c -m more; "
	       "GIT_AUTHOR_DATE='1700000100 +0000' GIT_COMMITTER_DATE='1700000100 +0000' "
	       "git merge -q --no-ff -m merge side; "
	       "git tag -a v1 -m 'release one'; git tag light HEAD~1; "
	       "git gc -q; test -f packed-refs || test -f .git/packed-refs",
	       path, path),
	    0);
}

static void test_gitkv_reads_what_git_wrote(void **state)
{
	char path[256], uri[300], sha[64];
	gkv_repo *repo;
	gkv_store *s = NULL;
	gkv_strarray names = {NULL, 0};
	gkv_commit *c = NULL;
	gkv_oid head, tag, merge;
	char *ours, *theirs, *sub;

	(void)state;
	snprintf(path, sizeof(path), "%s/made-by-git", tmpdir);
	make_git_repo(path);
	/* a plain path is detected as a git repository */
	repo = open_repo(path, 0);
	assert_string_equal(gkv_repo_backend_name(repo), "git");
	assert_string_equal(gkv_repo_default_branch(repo), "master");
	assert_int_equal(gkv_branch_list(&names, repo), 0);
	assert_int_equal(names.count, 2);
	assert_string_equal(names.strings[0], "master");
	assert_string_equal(names.strings[1], "side");
	gkv_strarray_dispose(&names);
	assert_int_equal(gkv_store_open_branch(&s, repo, "master"), 0);
	assert_value(s, "plain", "hello\nmore\n");
	assert_value(s, "side.txt", "from side\n");
	assert_value(s, "d/after", "old\n");
	assert_kind(s, "d/before", GKV_KIND_NONE);
	assert_kind(s, "plain", GKV_KIND_VALUE);
	assert_kind(s, "d", GKV_KIND_DIR);
	assert_kind(s, "d/tool", GKV_KIND_EXEC);
	assert_value(s, "d/tool", "run\n");
	assert_kind(s, "d/link", GKV_KIND_LINK);
	assert_value(s, "d/link", "../plain");
	assert_kind(s, "d/sub", GKV_KIND_SUBMODULE);
	/* the log is git's, merge included */
	assert_int_equal(gkv_store_head(&head, s), 0);
	assert_out_is(hex(&head), "git -C %s rev-parse master", path);
	ours = gkv_log(repo, &head);
	theirs = out("git -C %s log --format=%%H master", path);
	assert_string_equal(ours, theirs);
	free(ours);
	free(theirs);
	assert_int_equal(gkv_commit_lookup(&c, repo, &head), 0);
	assert_int_equal(gkv_commit_parentcount(c), 2);
	assert_string_equal(gkv_commit_summary(c), "merge");
	gkv_commit_free(c);
	/* the annotated tag is an object gitkv reads, not a branch */
	theirs = out("git -C %s rev-parse v1", path);
	snprintf(sha, sizeof(sha), "%.40s", theirs);
	free(theirs);
	assert_int_equal(gkv_oid_fromstr(&tag, sha), 0);
	{
		gkv_buf b = {NULL, 0};
		gkv_otype t;

		assert_int_equal(gkv_repo_object_read(&b, &t, repo, &tag), 0);
		assert_int_equal(t, GKV_OBJ_TAG);
		gkv_buf_dispose(&b);
	}
	assert_int_equal(gkv_repo_resolve(&tag, repo, "v1"), GKV_E_NOTFOUND);

	/* a write next to an executable, a link and a submodule keeps them */
	sub = out("git -C %s ls-tree master d/sub", path);
	merge = head;
	set(s, "d/new", "fresh");
	assert_int_equal(gkv_store_head(&head, s), 0);
	assert_out_is(hex(&head), "git -C %s rev-parse master", path);
	assert_int_equal(
	    sh("cd %s && git ls-tree master d/ | awk '{print $1, $4}' | tr '\\n' ';' | "
	       "grep -qx '100644 d/after;120000 d/link;100644 d/new;160000 d/sub;"
	       "100755 d/tool;'",
	       path),
	    0);
	theirs = out("git -C %s ls-tree master d/sub", path);
	assert_string_equal(theirs, sub);
	free(theirs);
	free(sub);
	assert_int_equal(sh("test \"$(git -C %s cat-file blob master:d/new)\" = fresh", path), 0);
	assert_out_is(hex(&merge), "git -C %s rev-parse master^", path);
	/* the work tree and index were left alone: git sees gitkv's commit as
	 * staged-looking differences, and the file on disk is not there */
	assert_int_equal(sh("test ! -e %s/d/new", path), 0);
	gkv_store_free(s);
	gkv_repo_free(repo);
	/* the same through a git: URI on the .git folder */
	snprintf(uri, sizeof(uri), "git:%s/.git", path);
	assert_fsck_clean(uri + 4);
	repo = open_repo(uri, 0);
	assert_int_equal(gkv_store_open_branch(&s, repo, "master"), 0);
	assert_value(s, "d/new", "fresh");
	gkv_store_free(s);
	gkv_repo_free(repo);
}

/* ---- both writing ---- */

static void test_git_and_gitkv_alternate(void **state)
{
	char path[256], uri[300];
	gkv_repo *repo;
	gkv_store *s = NULL;
	char key[32], val[32];
	char *count;

	(void)state;
	snprintf(path, sizeof(path), "%s/shared", tmpdir);
	snprintf(uri, sizeof(uri), "git:%s", path);
	repo = open_repo(uri, 1);
	assert_int_equal(gkv_store_open_branch(&s, repo, "main"), 0);
	for (int i = 0; i < 15; i++) {
		snprintf(key, sizeof(key), "kv/%d", i);
		snprintf(val, sizeof(val), "gitkv %d", i);
		set(s, key, val);
		/* git, through plumbing on the bare repository: read main's
		 * tree into a private index, add a file, commit, and move main
		 * only if it is still where git read it */
		assert_int_equal(
		    sh("set -e; export GIT_DIR=%s GIT_INDEX_FILE=%s/idx; old=$(git rev-parse "
		       "main); "
		       "git read-tree main; b=$(echo 'git %d' | git hash-object -w --stdin); "
		       "git update-index --add --cacheinfo 100644,$b,git/%d; "
		       "c=$(git commit-tree $(git write-tree) -p $old -m 'git %d'); "
		       "git update-ref -m 'git %d' refs/heads/main $c $old",
		       path, tmpdir, i, i, i, i),
		    0);
	}
	for (int i = 0; i < 15; i++) {
		snprintf(key, sizeof(key), "kv/%d", i);
		snprintf(val, sizeof(val), "gitkv %d", i);
		assert_value(s, key, val);
		snprintf(key, sizeof(key), "git/%d", i);
		snprintf(val, sizeof(val), "git %d\n", i);
		assert_value(s, key, val);
	}
	count = out("git --git-dir=%s rev-list --count main", path);
	assert_string_equal(count, "30\n");
	free(count);
	count = out("git --git-dir=%s ls-tree -r main | wc -l", path);
	assert_string_equal(count, "30\n");
	free(count);
	assert_fsck_clean(path);
	gkv_store_free(s);
	gkv_repo_free(repo);
}

typedef struct {
	gkv_repo *repo;
	int rc;
	double took;
} locked_writer;

static void *write_behind_lock(void *p)
{
	locked_writer *w = p;
	gkv_store *s = NULL;
	double t0 = now();

	w->rc = gkv_store_open_branch(&s, w->repo, "main");
	if (w->rc == 0)
		w->rc = gkv_store_set(NULL, s, "after/lock", "got through", 11, NULL);
	w->took = now() - t0;
	gkv_store_free(s);
	return NULL;
}

static void test_write_meets_git_lock(void **state)
{
	char path[256], uri[300], lock[300];
	gkv_repo *repo;
	gkv_store *s = NULL;
	gkv_oid head, other;
	locked_writer w;
	pthread_t th;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/locked", tmpdir);
	snprintf(uri, sizeof(uri), "git:%s", path);
	repo = open_repo(uri, 1);
	assert_int_equal(gkv_store_open_branch(&s, repo, "main"), 0);
	head = set(s, "k", "v");
	/* git is updating main: it holds refs/heads/main.lock */
	snprintf(lock, sizeof(lock), "%s/refs/heads/main.lock", path);
	assert_non_null(f = fopen(lock, "w"));
	fclose(f);
	/* a bare compare-and-swap fails at once, cleanly, naming the lock */
	other = set(s, "k", "v"); /* no change: no commit, no ref update */
	assert_true(gkv_oid_equal(&head, &other));
	assert_int_equal(gkv_branch_cas(repo, "main", &head, NULL), GKV_E_CONFLICT);
	assert_non_null(strstr(gkv_error_last(), "main.lock"));
	/* a store write retries, and gets through once git lets go */
	w = (locked_writer){repo, -1, 0};
	assert_int_equal(pthread_create(&th, NULL, write_behind_lock, &w), 0);
	usleep(300 * 1000);
	assert_int_equal(unlink(lock), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	if (w.rc != 0)
		fail_msg("the write behind the lock failed: %d %s", w.rc, gkv_error_last());
	print_message("git: a write waited %.2f s for git's lock on main\n", w.took);
	assert_value(s, "after/lock", "got through");
	assert_value(s, "k", "v");
	assert_out_is("got through", "git --git-dir=%s cat-file blob main:after/lock", path);
	assert_fsck_clean(path);
	gkv_store_free(s);
	gkv_repo_free(repo);
}

/* ---- large repositories ---- */

#define NFILES 100000

/* The path and value of file i of the big repository. */
static void big_file(char *p, size_t psize, char *v, size_t vsize, int i)
{
	snprintf(p, psize, "d%02x/d%02x/k%d", i % 256, (i / 256) % 16, i);
	snprintf(v, vsize, "value of %d\n", i);
}

static void test_big_repo_made_by_fast_import(void **state)
{
	char path[256], p[64], v[64];
	gkv_repo *repo;
	gkv_store *s = NULL;
	double t0, t1, t2, t3;
	unsigned seed = 12345;
	FILE *fi;

	(void)state;
	snprintf(path, sizeof(path), "%s/big", tmpdir);
	t0 = now();
	assert_int_equal(sh("git init -q --bare -b master %s", path), 0);
	{
		char cmd[512];

		/* glibc's malloc gives memory back to the system after nearly
		 * every file of this one huge commit, and brk() is slow on some
		 * VMs (two minutes instead of three seconds): keep it. */
		snprintf(
		    cmd, sizeof(cmd),
		    "GLIBC_TUNABLES=glibc.malloc.top_pad=268435456:"
		    "glibc.malloc.trim_threshold=536870912 git --git-dir=%s fast-import --quiet",
		    path);
		assert_non_null(fi = popen(cmd, "w"));
	}
	fprintf(fi, "commit refs/heads/master\n"
		    "committer Big <big@example.com> 1700000000 +0000\n"
		    "data 4\nbig\n");
	for (int i = 0; i < NFILES; i++) {
		big_file(p, sizeof(p), v, sizeof(v), i);
		fprintf(fi, "M 100644 inline %s\ndata %zu\n%s\n", p, strlen(v), v);
	}
	assert_int_equal(pclose(fi), 0);
	t1 = now();
	/* open by plain path, read a few random values */
	repo = open_repo(path, 0);
	assert_int_equal(gkv_store_open_branch(&s, repo, "master"), 0);
	t2 = now();
	for (int k = 0; k < 20; k++) {
		int i = (int)(rand_r(&seed) % NFILES);

		big_file(p, sizeof(p), v, sizeof(v), i);
		assert_value(s, p, v);
	}
	t3 = now();
	print_message(
	    "git: fast-import of %d files %.2f s; gitkv open %.3f s, 20 random reads %.3f s "
	    "(%.1f ms each)\n",
	    NFILES, t1 - t0, t2 - t1, t3 - t2, (t3 - t2) * 1000 / 20);
	gkv_store_free(s);
	gkv_repo_free(repo);
}

static void test_bulk_load_is_one_pack(void **state)
{
	char path[256], uri[300], p[64], v[64];
	gkv_repo *repo;
	gkv_store *s = NULL;
	gkv_txn *txn = NULL;
	gkv_oid head;
	double t0, t1;
	char *packs, *loose;

	(void)state;
	snprintf(path, sizeof(path), "%s/bulk", tmpdir);
	snprintf(uri, sizeof(uri), "git:%s", path);
	repo = open_repo(uri, 1);
	assert_int_equal(gkv_store_open_branch(&s, repo, "main"), 0);
	t0 = now();
	assert_int_equal(gkv_txn_begin(&txn, s), 0);
	for (int i = 0; i < NFILES; i++) {
		big_file(p, sizeof(p), v, sizeof(v), i);
		assert_int_equal(gkv_txn_set(txn, p, v, strlen(v)), 0);
	}
	assert_int_equal(gkv_txn_commit(&head, txn, GKV_TXN_FAIL, NULL), 0);
	gkv_txn_free(txn);
	t1 = now();
	packs = out("ls %s/objects/pack/ | grep -c '\\.pack$'", path);
	loose = out("find %s/objects -path '*/objects/[0-9a-f][0-9a-f]/*' -type f | wc -l", path);
	print_message(
	    "git: bulk load of %d values in one transaction %.2f s: %s pack(s), %s loose\n", NFILES,
	    t1 - t0, strtok(packs, "\n"), strtok(loose, "\n"));
	assert_string_equal(packs, "1");
	assert_string_equal(loose, "0");
	free(packs);
	free(loose);
	assert_out_is(hex(&head), "git --git-dir=%s rev-parse main", path);
	big_file(p, sizeof(p), v, sizeof(v), 77777);
	assert_int_equal(
	    sh("test \"$(git --git-dir=%s cat-file blob main:%s)\" = 'value of 77777'", path, p),
	    0);
	assert_fsck_clean(path);
	/* the next small write is loose objects again */
	set(s, "one/more", "value");
	loose = out("find %s/objects -path '*/objects/[0-9a-f][0-9a-f]/*' -type f | wc -l", path);
	assert_string_equal(loose, "4\n"); /* blob, tree one/, root tree, commit */
	free(loose);
	gkv_store_free(s);
	gkv_repo_free(repo);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_git_sees_what_gitkv_wrote),
	    cmocka_unit_test(test_gitkv_reads_what_git_wrote),
	    cmocka_unit_test(test_git_and_gitkv_alternate),
	    cmocka_unit_test(test_write_meets_git_lock),
	    cmocka_unit_test(test_big_repo_made_by_fast_import),
	    cmocka_unit_test(test_bulk_load_is_one_pack),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
