/*
 * test_git_remote.c -- fetch from and push to git remotes through
 * libgit2, for the mem, lmdb and git backends alike.
 *
 * git builds the remotes (bare repositories under one mkdtemp directory)
 * and serves them with `git daemon` on 127.0.0.1, started by the group
 * setup and killed by its pid at the end. Each case drives the transport
 * (sync_int.h: gkv__git_fetch, gkv__git_push) and checks what a user
 * relies on: the store gets exactly the remote's history, only what is
 * new crosses the wire, git clones and fscks what was pushed, a push
 * that would lose commits is refused, and a hostile or broken remote
 * leaves the store exactly as it was (same refs, same objects).
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

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gitkv.h"
#include "gitkv/sync.h"
#include "gitkv/sys/backend.h"
#include "interop_util.h"
#include "sync_int.h"

static char tmpdir[] = "/tmp/gkv-interop-remote-XXXXXX";
static int daemon_port;
static int daemon_pid;
static int store_seq;

static const char *const kinds[] = { "mem", "lmdb", "git" };
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

/* ------------------------------------------------------------ helpers */

/* The first line a shell command prints, into out ("" if none). */
static void first_line(char *out, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void first_line(char *out, size_t size, const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	FILE *p;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	out[0] = '\0';
	assert_non_null(p = popen(cmd, "r"));
	if (!fgets(out, (int)size, p))
		out[0] = '\0';
	pclose(p);
	out[strcspn(out, "\n")] = '\0';
}

/* A port on 127.0.0.1 that nothing listens on now. */
static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static int connect_port(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A new empty store of kind k ("mem", "lmdb", "git"). */
static gkv_repo *open_store(const char *k)
{
	gkv_options *opts;
	gkv_repo *repo;
	char uri[512];

	if (!strcmp(k, "mem"))
		snprintf(uri, sizeof(uri), "mem:");
	else
		snprintf(uri, sizeof(uri), "%s:%s/store-%d", k, tmpdir, ++store_seq);
	assert_int_equal(gkv_options_new(&opts), 0);
	assert_int_equal(gkv_options_set_create(opts, 1), 0);
	assert_int_equal(gkv_options_set_author(opts, "gitkv test", "test@gitkv.invalid"), 0);
	assert_int_equal(gkv_repo_open(&repo, uri, opts), 0);
	gkv_options_free(opts);
	return repo;
}

/* The directory of a git store (for git fsck), or NULL. */
static const char *store_dir(int seq)
{
	static char d[512];
	snprintf(d, sizeof(d), "%s/store-%d", tmpdir, seq);
	return d;
}

/* refs_fn of the tests: refs/heads/NAME moves to the remote's head. */
static int move_branches(gkv_batch *batch, const gkv_fetch_result *r, void *payload)
{
	gkv_backend *kb = batch->backend;
	char name[300];
	gkv_oid cur;
	int err;

	for (size_t i = 0; i < gkv_fetch_result_count(r); i++) {
		snprintf(name, sizeof(name), "refs/heads/%s", gkv_fetch_result_branch(r, i));
		err = kb->ref_read(&cur, kb, name);
		if (err < 0 && err != GKV_E_NOTFOUND)
			return err;
		if ((err = kb->batch_ref_cas(batch, name, err == GKV_E_NOTFOUND ? NULL : &cur,
		        gkv_fetch_result_id(r, i))) < 0)
			return err;
	}
	return 0;
}

static int count_cb(const gkv_oid *id, void *payload)
{
	(*(uint64_t *)payload)++;
	return 0;
}

static uint64_t object_count(gkv_repo *repo)
{
	gkv_backend *kb = gkv_repo_backend(repo);
	gkv_oid zero = { { 0 } };
	uint64_t n = 0;

	assert_int_equal(kb->foreach(kb, &zero, 0, count_cb, &n), 0);
	return n;
}

/* Every ref of the store, "name=hex\n" each, into out. */
static int ref_line(const char *name, const gkv_oid *target, void *payload)
{
	char hex[GKV_OID_HEXSZ + 1];
	char *out = payload;

	gkv_oid_fmt(hex, target);
	hex[GKV_OID_HEXSZ] = '\0';
	snprintf(out + strlen(out), 8192 - strlen(out), "%s=%s\n", name, hex);
	return 0;
}

static void ref_dump(char out[8192], gkv_repo *repo)
{
	gkv_backend *kb = gkv_repo_backend(repo);

	out[0] = '\0';
	assert_int_equal(kb->ref_list(kb, "", ref_line, out), 0);
}

static void oid_hex(char hex[41], const gkv_oid *id)
{
	gkv_oid_fmt(hex, id);
	hex[40] = '\0';
}

static void assert_branch(gkv_repo *repo, const char *branch, const char *hex)
{
	gkv_oid id;
	char got[41];

	assert_int_equal(gkv_branch_head(&id, repo, branch), 0);
	oid_hex(got, &id);
	assert_string_equal(got, hex);
}

static void assert_value(gkv_repo *repo, const char *branch, const char *path,
    const char *value)
{
	gkv_store *s;
	gkv_buf b = { 0 };

	assert_int_equal(gkv_store_open_branch(&s, repo, branch), 0);
	assert_int_equal(gkv_store_get(&b, s, path), 0);
	assert_int_equal(b.size, strlen(value));
	assert_memory_equal(b.ptr, value, b.size);
	gkv_buf_dispose(&b);
	gkv_store_free(s);
}

/* The id a remote's branch names, as hex ("" when absent). */
static void remote_head(char hex[64], const char *bare, const char *branch)
{
	first_line(hex, 64, "git -C %s/%s rev-parse -q --verify refs/heads/%s 2>/dev/null",
	    tmpdir, bare, branch);
}

/* call must return rc; the message is printed when it does not */
#define assert_rc(rc, call)                                                  \
	do {                                                                     \
		int got_ = (call);                                                   \
		if (got_ != (rc))                                                    \
			print_message("%s: %d (%s)\n", #call, got_, gkv_error_last());  \
		assert_int_equal(got_, (rc));                                        \
	} while (0)

/* ---------------------------------------------------------- fixtures */

/* src.git: 6 commits over 20 files in 4 folders on main, dev one behind. */
static void make_src(void)
{
	assert_int_equal(sh("set -e; cd %s; git init -q -b main work; cd work;"
	    "for c in $(seq 1 6); do"
	    "  for d in $(seq 1 4); do mkdir -p d$d;"
	    "    for f in $(seq 1 5); do echo \"value $c $d $f\" > d$d/f$f; done; done;"
	    "  git add -A; git commit -q -m \"commit $c\"; done;"
	    "cd ..; git clone -q --bare work src.git;"
	    "git -C src.git branch dev main~1", tmpdir), 0);
}

/* big.git: one commit with 600 KB that does not compress. */
static void make_big(void)
{
	assert_int_equal(sh("set -e; cd %s; git init -q -b main bigwork; cd bigwork;"
	    "head -c 600000 /dev/urandom > blob; git add blob; git commit -q -m big;"
	    "cd ..; git clone -q --bare bigwork big.git", tmpdir), 0);
}

/* hostile.git: one branch per bad tree, each a commit on that tree. */
static void make_bad_tree(const char *branch, const unsigned char *tree, size_t len)
{
	char path[600], tid[64], cid[64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/tree-%s", tmpdir, branch);
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(tree, 1, len, f), len);
	fclose(f);
	first_line(tid, sizeof(tid),
	    "git -C %s/hostile.git hash-object --literally -t tree -w %s", tmpdir, path);
	assert_int_equal(strlen(tid), 40);
	first_line(cid, sizeof(cid), "git -C %s/hostile.git commit-tree %s -m bad", tmpdir, tid);
	assert_int_equal(strlen(cid), 40);
	assert_int_equal(sh("git -C %s/hostile.git update-ref refs/heads/%s %s", tmpdir,
	    branch, cid), 0);
}

/* A tree of the given entries ("100644 name" each, all on one blob). */
static size_t tree_of(unsigned char *out, const unsigned char blob[20], int n, ...)
{
	va_list ap;
	size_t len = 0;

	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		const char *name = va_arg(ap, const char *);
		len += (size_t)sprintf((char *)out + len, "100644 %s", name) + 1;
		memcpy(out + len, blob, 20);
		len += 20;
	}
	va_end(ap);
	return len;
}

static void make_hostile(void)
{
	char hex[64];
	unsigned char blob[20], tree[512];
	gkv_oid id;

	assert_int_equal(sh("git init -q --bare -b main %s/hostile.git", tmpdir), 0);
	first_line(hex, sizeof(hex), "echo hostile | git -C %s/hostile.git hash-object -w --stdin",
	    tmpdir);
	assert_int_equal(gkv_oid_fromstr(&id, hex), 0);
	memcpy(blob, id.id, 20);
	make_bad_tree("dotdot", tree, tree_of(tree, blob, 1, ".."));
	make_bad_tree("dotgit", tree, tree_of(tree, blob, 1, ".git"));
	make_bad_tree("slash", tree, tree_of(tree, blob, 1, "a/b"));
	make_bad_tree("dup", tree, tree_of(tree, blob, 2, "same", "same"));
	/* an empty name: git's pack-objects refuses to walk it, so it lives
	 * apart, where only the fetch of it fails */
	assert_int_equal(sh("git init -q --bare -b main %s/empty.git", tmpdir), 0);
	assert_int_equal(sh("echo hostile | git -C %s/empty.git hash-object -w --stdin >/dev/null",
	    tmpdir), 0);
	{
		unsigned char t[64];
		size_t n = tree_of(t, blob, 1, "");
		char path[600], tid[64], cid[64];
		FILE *f;

		snprintf(path, sizeof(path), "%s/tree-empty", tmpdir);
		assert_non_null(f = fopen(path, "wb"));
		assert_int_equal(fwrite(t, 1, n, f), n);
		fclose(f);
		first_line(tid, sizeof(tid),
		    "git -C %s/empty.git hash-object --literally -t tree -w %s", tmpdir, path);
		first_line(cid, sizeof(cid), "git -C %s/empty.git commit-tree %s -m bad", tmpdir,
		    tid);
		assert_int_equal(sh("git -C %s/empty.git update-ref refs/heads/main %s", tmpdir,
		    cid), 0);
	}
	/* a good branch beside them, which a fetch of everything must not
	 * land either when a bad one comes with it */
	assert_int_equal(sh("set -e; cd %s; git clone -q src.git hw; "
	    "git -C hw push -q ../hostile.git main:refs/heads/good", tmpdir), 0);
}

static int start_daemon(void)
{
	char pidfile[600];
	int fd;

	daemon_port = free_port();
	snprintf(pidfile, sizeof(pidfile), "%s/daemon.pid", tmpdir);
	/* no server-side fsck: the hostile trees must be served as they are */
	if (sh("git daemon --reuseaddr --base-path=%s --export-all --enable=receive-pack"
	       " --listen=127.0.0.1 --port=%d --pid-file=%s --detach %s",
	        tmpdir, daemon_port, pidfile, tmpdir) != 0)
		return -1;
	for (int i = 0; i < 200; i++) { /* up to 10 s */
		if ((fd = connect_port(daemon_port)) >= 0) {
			FILE *f = fopen(pidfile, "r");
			close(fd);
			if (!f || fscanf(f, "%d", &daemon_pid) != 1)
				daemon_pid = 0;
			if (f)
				fclose(f);
			return 0;
		}
		usleep(50000);
	}
	return -1;
}

/* A hung test must not leave the server behind. */
static void on_alarm(int sig)
{
	if (daemon_pid > 1)
		kill(daemon_pid, SIGTERM);
	_exit(1);
}

static void stop_daemon(void)
{
	char pidfile[600];
	FILE *f;
	int pid = 0;

	snprintf(pidfile, sizeof(pidfile), "%s/daemon.pid", tmpdir);
	if (!(f = fopen(pidfile, "r")))
		return;
	if (fscanf(f, "%d", &pid) == 1 && pid > 1)
		kill(pid, SIGTERM);
	fclose(f);
}

static int group_setup(void **state)
{
	if (!mkdtemp(tmpdir))
		return -1;
	make_src();
	make_big();
	make_hostile();
	return start_daemon();
}

static int group_teardown(void **state)
{
	stop_daemon();
	sh("rm -rf %s", tmpdir);
	return 0;
}

/* The three ways to name src.git. */
static void src_url(char *out, size_t size, int how)
{
	if (how == 0)
		snprintf(out, size, "%s/src.git", tmpdir);
	else if (how == 1)
		snprintf(out, size, "file://%s/src.git", tmpdir);
	else
		snprintf(out, size, "git://127.0.0.1:%d/src.git", daemon_port);
}

static void daemon_url(char *out, size_t size, const char *bare)
{
	snprintf(out, size, "git://127.0.0.1:%d/%s", daemon_port, bare);
}

/* ------------------------------------------------------------- fetch */

/* Every backend, from a path, file:// and git://: the branches land with
 * every object they need, and the remote's HEAD names the default. */
static void test_fetch_every_way(void **state)
{
	char url[600], main_hex[64], dev_hex[64];

	remote_head(main_hex, "src.git", "main");
	remote_head(dev_hex, "src.git", "dev");
	for (size_t k = 0; k < NKINDS; k++) {
		for (int how = 0; how < 3; how++) {
			gkv_repo *repo = open_store(kinds[k]);
			gkv_fetch_result *r = NULL;

			src_url(url, sizeof(url), how);
			assert_rc(0, gkv__git_fetch(&r, repo, url, NULL, NULL, move_branches,
			    NULL));
			assert_int_equal(gkv_fetch_result_count(r), 2);
			assert_string_equal(gkv_fetch_result_branch(r, 0), "dev");
			assert_string_equal(gkv_fetch_result_branch(r, 1), "main");
			assert_non_null(gkv_fetch_result_default_branch(r));
			assert_string_equal(gkv_fetch_result_default_branch(r), "main");
			/* 6 commits, their root trees, 4 folders each, 20 blobs each */
			assert_int_equal(gkv_fetch_result_objects(r), 6 * (1 + 1 + 4 + 20));
			assert_int_equal(object_count(repo), 6 * (1 + 1 + 4 + 20));
			assert_branch(repo, "main", main_hex);
			assert_branch(repo, "dev", dev_hex);
			assert_value(repo, "main", "d3/f4", "value 6 3 4\n");
			assert_value(repo, "dev", "d4/f5", "value 5 4 5\n");
			gkv_fetch_result_free(r);

			/* again: nothing new, nothing stored */
			assert_rc(0, gkv__git_fetch(&r, repo, url, "main", NULL, NULL, NULL));
			assert_int_equal(gkv_fetch_result_count(r), 1);
			assert_int_equal(gkv_fetch_result_objects(r), 0);
			gkv_fetch_result_free(r);
			gkv_repo_free(repo);
			if (!strcmp(kinds[k], "git"))
				assert_int_equal(sh("git -C %s fsck --strict --no-progress --no-dangling",
				    store_dir(store_seq)), 0);
		}
	}
}

typedef struct {
	uint64_t total;
	int receiving, storing;
	int stop_at; /* stop in this stage (0: never) */
} progress_seen;

static int on_progress(const gkv_sync_progress *p, void *payload)
{
	progress_seen *s = payload;

	if (p->stage == GKV_SYNC_RECEIVING) {
		s->receiving++;
		s->total = p->total_objects;
	}
	if (p->stage == GKV_SYNC_STORING)
		s->storing++;
	return s->stop_at && (int)p->stage == s->stop_at;
}

/* One new commit on the remote: only it, its trees on the way and its
 * blob cross the wire, because the store's refs became "have" lines. */
static void test_fetch_only_what_is_new(void **state)
{
	char url[600], hex[64];
	gkv_sync_options *o;
	progress_seen seen = { 0 };

	daemon_url(url, sizeof(url), "inc.git");
	assert_int_equal(sh("set -e; cd %s; git clone -q --bare src.git inc.git", tmpdir), 0);
	for (size_t k = 0; k < NKINDS; k++) {
		gkv_repo *repo = open_store(kinds[k]);
		gkv_fetch_result *r = NULL;
		uint64_t before;

		assert_rc(0, gkv__git_fetch(&r, repo, url, "main", NULL, move_branches, NULL));
		gkv_fetch_result_free(r);
		before = object_count(repo);
		assert_int_equal(sh("set -e; cd %s; rm -rf incw; git clone -q inc.git incw;"
		    "echo new-%zu > incw/d2/f3; git -C incw commit -q -am one;"
		    "git -C incw push -q origin main", tmpdir, k), 0);
		assert_int_equal(gkv_sync_options_new(&o), 0);
		memset(&seen, 0, sizeof(seen));
		assert_int_equal(gkv_sync_options_set_progress(o, on_progress, &seen), 0);
		assert_rc(0, gkv__git_fetch(&r, repo, url, "main", o, move_branches, NULL));
		/* a commit, the root tree, d2 and the blob */
		assert_int_equal(seen.total, 4);
		assert_true(seen.receiving > 0 && seen.storing > 0);
		assert_int_equal(gkv_fetch_result_objects(r), 4);
		assert_int_equal(object_count(repo), before + 4);
		remote_head(hex, "inc.git", "main");
		assert_branch(repo, "main", hex);
		gkv_fetch_result_free(r);
		gkv_sync_options_free(o);
		gkv_repo_free(repo);
	}
}

/* Many old branches whose names sort before main: the "have" lines still
 * start with the newest heads, so the server sees main's old head as
 * common and sends one commit's objects, not main's history. */
static void test_fetch_many_old_branches(void **state)
{
	char url[600];

	daemon_url(url, sizeof(url), "old.git");
	assert_int_equal(sh("set -e; cd %s; git clone -q --bare src.git old.git;"
	    "root=$(git -C old.git rev-list --max-parents=0 main);"
	    "for i in $(seq 10 40); do"
	    "  c=$(GIT_AUTHOR_DATE='1000000000 +0000' GIT_COMMITTER_DATE='1000000000 +0000'"
	    "    git -C old.git commit-tree -p $root -m old$i $root^{tree});"
	    "  git -C old.git update-ref refs/heads/aa-old-$i $c;"
	    "done", tmpdir), 0);
	for (size_t k = 0; k < NKINDS; k++) {
		gkv_repo *repo = open_store(kinds[k]);
		gkv_fetch_result *r = NULL;
		uint64_t before;

		assert_rc(0, gkv__git_fetch(&r, repo, url, NULL, NULL, move_branches, NULL));
		assert_int_equal(gkv_fetch_result_count(r), 33); /* main, dev, 31 old */
		gkv_fetch_result_free(r);
		before = object_count(repo);
		assert_int_equal(sh("set -e; cd %s; rm -rf oldw; git clone -q old.git oldw;"
		    "echo old-new-%zu > oldw/d1/f2; git -C oldw commit -q -am one;"
		    "git -C oldw push -q origin main", tmpdir, k), 0);
		assert_rc(0, gkv__git_fetch(&r, repo, url, NULL, NULL, move_branches, NULL));
		/* a commit, the root tree, d1 and the blob */
		assert_int_equal(gkv_fetch_result_objects(r), 4);
		assert_int_equal(object_count(repo), before + 4);
		gkv_fetch_result_free(r);
		gkv_repo_free(repo);
	}
}

/* Fetch a branch the remote lacks, from a repository that does not
 * exist, from a port nobody listens on. */
static void test_fetch_missing(void **state)
{
	char url[600], before[8192], after[8192];
	gkv_fetch_result *r = NULL;

	for (size_t k = 0; k < NKINDS; k++) {
		gkv_repo *repo = open_store(kinds[k]);

		ref_dump(before, repo);
		daemon_url(url, sizeof(url), "src.git");
		assert_rc(GKV_E_NOTFOUND, gkv__git_fetch(&r, repo, url, "nosuch", NULL, move_branches, NULL));
		assert_null(r);
		daemon_url(url, sizeof(url), "nosuch.git");
		assert_rc(GKV_E_NOTFOUND, gkv__git_fetch(&r, repo, url, NULL, NULL, move_branches, NULL));
		assert_non_null(strstr(gkv_error_last(), url));
		snprintf(url, sizeof(url), "%s/nosuch.git", tmpdir);
		assert_rc(GKV_E_NOTFOUND, gkv__git_fetch(&r, repo, url, NULL, NULL, move_branches, NULL));
		snprintf(url, sizeof(url), "git://127.0.0.1:%d/src.git", free_port());
		assert_rc(GKV_E_NETWORK, gkv__git_fetch(&r, repo, url, NULL, NULL, move_branches, NULL));
		assert_non_null(strstr(gkv_error_last(), url));
		ref_dump(after, repo);
		assert_string_equal(before, after);
		assert_int_equal(object_count(repo), 0);
		gkv_repo_free(repo);
	}
}

/* Every bad tree git's fsck refuses is refused, the store untouched; a
 * good branch fetched with a bad one does not land either. */
static void test_fetch_hostile_trees(void **state)
{
	static const char *const bad[] = { "dotdot", "dotgit", "slash", "dup" };
	char url[600], before[8192], after[8192], good[64];

	daemon_url(url, sizeof(url), "hostile.git");
	remote_head(good, "hostile.git", "good");
	for (size_t k = 0; k < NKINDS; k++) {
		gkv_repo *repo = open_store(kinds[k]);
		gkv_fetch_result *r = NULL;
		uint64_t n;

		/* something in the store first, so that "unchanged" means something */
		assert_rc(0, gkv__git_fetch(&r, repo, url, "good", NULL, move_branches, NULL));
		gkv_fetch_result_free(r);
		r = NULL;
		assert_branch(repo, "good", good);
		ref_dump(before, repo);
		n = object_count(repo);
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			assert_rc(GKV_E_CORRUPT, gkv__git_fetch(&r, repo, url, bad[i], NULL, move_branches,
			    NULL));
			assert_null(r);
			assert_non_null(strstr(gkv_error_last(), url));
			ref_dump(after, repo);
			assert_string_equal(before, after);
			assert_int_equal(object_count(repo), n);
		}
		assert_rc(GKV_E_CORRUPT, gkv__git_fetch(&r, repo, url, NULL, NULL, move_branches, NULL));
		ref_dump(after, repo);
		assert_string_equal(before, after);
		assert_int_equal(object_count(repo), n);
		/* the empty name: the server fails to pack it, which is all the
		 * store sees */
		daemon_url(url, sizeof(url), "empty.git");
		assert_rc(GKV_E_NETWORK, gkv__git_fetch(&r, repo, url, NULL, NULL, move_branches, NULL));
		daemon_url(url, sizeof(url), "hostile.git");
		ref_dump(after, repo);
		assert_string_equal(before, after);
		assert_int_equal(object_count(repo), n);
		gkv_repo_free(repo);
	}
}

/* A progress callback that says stop: GKV_E_USER, nothing stored. */
static void test_fetch_stopped(void **state)
{
	char url[600];
	gkv_sync_options *o;
	progress_seen seen = { 0 };

	daemon_url(url, sizeof(url), "src.git");
	assert_int_equal(gkv_sync_options_new(&o), 0);
	assert_int_equal(gkv_sync_options_set_progress(o, on_progress, &seen), 0);
	/* stopped while receiving, and while storing (after the whole pack
	 * came: the batch is dropped) */
	for (size_t k = 0; k < NKINDS; k++) {
		for (int stage = GKV_SYNC_RECEIVING; stage <= GKV_SYNC_STORING; stage++) {
			gkv_repo *repo;

			if ((k + (size_t)stage) % 2)
				continue; /* each stage on two backends is enough */
			repo = open_store(kinds[k]);
			gkv_fetch_result *r = NULL;
			char refs[8192];

			memset(&seen, 0, sizeof(seen));
			seen.stop_at = stage;
			assert_rc(GKV_E_USER, gkv__git_fetch(&r, repo, url, NULL, o, move_branches, NULL));
			assert_null(r);
			ref_dump(refs, repo);
			assert_string_equal(refs, "");
			assert_int_equal(object_count(repo), 0);
			gkv_repo_free(repo);
		}
	}
	gkv_sync_options_free(o);
}

/* --------------------------------------------- a transfer cut halfway */

typedef struct {
	int listen_fd;
	int target_port;
	size_t limit; /* bytes from the server passed on before the cut */
} proxy;

static void *proxy_run(void *arg)
{
	proxy *px = arg;
	struct pollfd pl = { .fd = px->listen_fd, .events = POLLIN };
	char buf[4096];
	size_t passed = 0;
	int c, s;

	if (poll(&pl, 1, 10000) != 1 || (c = accept(px->listen_fd, NULL, NULL)) < 0)
		return NULL;
	if ((s = connect_port(px->target_port)) < 0) {
		close(c);
		return NULL;
	}
	for (int rounds = 0; rounds < 100000 && passed < px->limit; rounds++) {
		struct pollfd p[2] = { { .fd = c, .events = POLLIN }, { .fd = s, .events = POLLIN } };
		ssize_t n;

		if (poll(p, 2, 10000) <= 0)
			break;
		if (p[0].revents) {
			if ((n = read(c, buf, sizeof(buf))) <= 0 || write(s, buf, (size_t)n) != n)
				break;
		}
		if (p[1].revents) {
			size_t want = px->limit - passed < sizeof(buf) ? px->limit - passed : sizeof(buf);
			if ((n = read(s, buf, want)) <= 0 || write(c, buf, (size_t)n) != n)
				break;
			passed += (size_t)n;
		}
	}
	close(s);
	close(c);
	return NULL;
}

static void test_fetch_cut_halfway(void **state)
{
	for (size_t k = 0; k < NKINDS; k++) {
		struct sockaddr_in a = { .sin_family = AF_INET };
		socklen_t len = sizeof(a);
		proxy px = { .target_port = daemon_port, .limit = 64 * 1024 };
		pthread_t th;
		char url[600];
		gkv_repo *repo = open_store(kinds[k]);
		gkv_fetch_result *r = NULL;
		char refs[8192];

		px.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		assert_int_equal(bind(px.listen_fd, (struct sockaddr *)&a, sizeof(a)), 0);
		assert_int_equal(listen(px.listen_fd, 1), 0);
		assert_int_equal(getsockname(px.listen_fd, (struct sockaddr *)&a, &len), 0);
		assert_int_equal(pthread_create(&th, NULL, proxy_run, &px), 0);
		snprintf(url, sizeof(url), "git://127.0.0.1:%d/big.git", ntohs(a.sin_port));
		assert_rc(GKV_E_NETWORK, gkv__git_fetch(&r, repo, url, NULL, NULL, move_branches, NULL));
		assert_null(r);
		pthread_join(th, NULL);
		close(px.listen_fd);
		ref_dump(refs, repo);
		assert_string_equal(refs, "");
		assert_int_equal(object_count(repo), 0);
		gkv_repo_free(repo);
	}
}

/* -------------------------------------------------------------- push */

/* Commit value at path on branch of repo; the new head. */
static void commit_value(gkv_oid *out, gkv_repo *repo, const char *branch, const char *path,
    const char *value)
{
	gkv_store *s;

	assert_int_equal(gkv_store_open_branch(&s, repo, branch), 0);
	assert_int_equal(gkv_store_set(out, s, path, value, strlen(value), NULL), 0);
	gkv_store_free(s);
}

/* Push a fetched store's new commit to git daemon; git clones it and
 * fscks both sides; pushing again sends nothing. */
static void test_push(void **state)
{
	for (size_t k = 0; k < NKINDS; k++) {
		char url[600], bare[64], hex[41], got[64], val[128];
		gkv_repo *repo = open_store(kinds[k]);
		int seq = store_seq;
		gkv_fetch_result *r = NULL;
		gkv_oid head, old;

		snprintf(bare, sizeof(bare), "push-%s.git", kinds[k]);
		assert_int_equal(sh("set -e; cd %s; git clone -q --bare src.git %s", tmpdir, bare), 0);
		daemon_url(url, sizeof(url), bare);
		assert_rc(0, gkv__git_fetch(&r, repo, url, NULL, NULL, move_branches, NULL));
		gkv_fetch_result_free(r);
		snprintf(val, sizeof(val), "pushed from %s\n", kinds[k]);
		commit_value(&head, repo, "main", "new/key", val);
		assert_rc(0, gkv__git_push(&old, repo, &head, url, "main", NULL));
		remote_head(got, "src.git", "main");
		oid_hex(hex, &old);
		assert_string_equal(hex, got);
		oid_hex(hex, &head);
		remote_head(got, bare, "main");
		assert_string_equal(got, hex);
		/* a new branch too */
		assert_rc(0, gkv__git_push(&old, repo, &head, url, "topic", NULL));
		assert_true(gkv_oid_is_zero(&old));
		remote_head(got, bare, "topic");
		assert_string_equal(got, hex);
		/* git sees it all */
		assert_int_equal(sh("set -e; cd %s; git -C %s fsck --strict --no-progress --no-dangling;"
		    "rm -rf clone-%s; git clone -q %s clone-%s;"
		    "grep -qx 'pushed from %s' clone-%s/new/key;"
		    "test \"$(cat clone-%s/d1/f1)\" = 'value 6 1 1';"
		    "git -C clone-%s fsck --strict --no-progress --no-dangling",
		    tmpdir, bare, kinds[k], url, kinds[k], kinds[k], kinds[k], kinds[k], kinds[k]), 0);
		if (!strcmp(kinds[k], "git"))
			assert_int_equal(sh("git -C %s fsck --strict --no-progress --no-dangling", store_dir(seq)), 0);
		/* up to date: nothing to send, still fine */
		assert_rc(0, gkv__git_push(&old, repo, &head, url, "main", NULL));
		assert_true(gkv_oid_equal(&old, &head));
		gkv_repo_free(repo);
	}
}

/* A push that would lose the remote's commits is refused with both sides
 * unchanged; forced, it replaces the branch. */
static void test_push_non_fast_forward(void **state)
{
	for (size_t k = 0; k < NKINDS; k++) {
		char url[600], bare[64], before[64], after[64], hex[41], refs0[8192], refs1[8192];
		gkv_repo *repo = open_store(kinds[k]);
		gkv_fetch_result *r = NULL;
		gkv_sync_options *o;
		gkv_oid head, old;
		uint64_t n;

		snprintf(bare, sizeof(bare), "nff-%s.git", kinds[k]);
		assert_int_equal(sh("set -e; cd %s; git clone -q --bare src.git %s", tmpdir, bare), 0);
		daemon_url(url, sizeof(url), bare);
		assert_rc(0, gkv__git_fetch(&r, repo, url, "dev", NULL, move_branches, NULL));
		gkv_fetch_result_free(r);
		/* the store's dev diverges from the remote's main */
		commit_value(&head, repo, "dev", "side", "side\n");
		remote_head(before, bare, "main");
		ref_dump(refs0, repo);
		n = object_count(repo);
		assert_rc(GKV_E_NONFASTFORWARD, gkv__git_push(&old, repo, &head, url, "main", NULL));
		remote_head(after, bare, "main");
		assert_string_equal(before, after);
		ref_dump(refs1, repo);
		assert_string_equal(refs0, refs1);
		assert_int_equal(object_count(repo), n);
		/* the remote advertises a head the store never saw: not an ancestor */
		assert_int_equal(sh("set -e; cd %s; rm -rf nffw; git clone -q %s nffw;"
		    "echo x > nffw/x; git -C nffw add x; git -C nffw commit -q -m x;"
		    "git -C nffw push -q origin HEAD:refs/heads/dev", tmpdir, bare), 0);
		remote_head(before, bare, "dev");
		assert_rc(GKV_E_NONFASTFORWARD, gkv__git_push(&old, repo, &head, url, "dev", NULL));
		remote_head(after, bare, "dev");
		assert_string_equal(before, after);
		/* forced */
		assert_int_equal(gkv_sync_options_new(&o), 0);
		assert_int_equal(gkv_sync_options_set_force(o, 1), 0);
		assert_rc(0, gkv__git_push(&old, repo, &head, url, "main", o));
		oid_hex(hex, &head);
		remote_head(after, bare, "main");
		assert_string_equal(after, hex);
		assert_int_equal(sh("git -C %s/%s fsck --strict --no-progress --no-dangling", tmpdir, bare), 0);
		gkv_sync_options_free(o);
		gkv_repo_free(repo);
	}
}

/* A hook on the remote that declines: GKV_E_CONFLICT with its reason. */
static void test_push_refused_by_remote(void **state)
{
	char url[600], before[64], after[64];
	gkv_repo *repo = open_store("mem");
	gkv_fetch_result *r = NULL;
	gkv_oid head, old;

	assert_int_equal(sh("set -e; cd %s; git clone -q --bare src.git hook.git;"
	    "printf '#!/bin/sh\\nexit 1\\n' > hook.git/hooks/update;"
	    "chmod +x hook.git/hooks/update", tmpdir), 0);
	daemon_url(url, sizeof(url), "hook.git");
	assert_rc(0, gkv__git_fetch(&r, repo, url, "main", NULL, move_branches, NULL));
	gkv_fetch_result_free(r);
	commit_value(&head, repo, "main", "k", "v\n");
	remote_head(before, "hook.git", "main");
	assert_rc(GKV_E_CONFLICT, gkv__git_push(&old, repo, &head, url, "main", NULL));
	assert_non_null(strstr(gkv_error_last(), "hook"));
	remote_head(after, "hook.git", "main");
	assert_string_equal(before, after);
	gkv_repo_free(repo);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fetch_every_way),
		cmocka_unit_test(test_fetch_only_what_is_new),
		cmocka_unit_test(test_fetch_many_old_branches),
		cmocka_unit_test(test_fetch_missing),
		cmocka_unit_test(test_fetch_hostile_trees),
		cmocka_unit_test(test_fetch_stopped),
		cmocka_unit_test(test_fetch_cut_halfway),
		cmocka_unit_test(test_push),
		cmocka_unit_test(test_push_non_fast_forward),
		cmocka_unit_test(test_push_refused_by_remote),
	};

	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	alarm(280);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
