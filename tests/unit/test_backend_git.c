/*
 * test_backend_git.c -- the git backend through its vtable, with the git
 * CLI as a witness where the disk matters: objects and prefixes (an
 * object both loose and packed is listed once), refs and their CAS
 * (loose and packed, annotated tags, refs that cannot coexist as files),
 * batches, a lock file held by someone else, a pack for a large batch and
 * loose objects for a small one (git fsck --strict clean after both),
 * fsync on request (fsync() is interposed and counted), corrupt objects,
 * detection, the default branch, read-only handles, and CASes from
 * several threads and several processes losing nothing.
 *
 * The helpers of backend_suite.h are reused; its tests are not: they use
 * made-up ids, and a git repository files every object under its own git
 * id (the backend refuses an id that is not the object's hash). Here
 * every id is computed with gkv_hash.
 *
 * Every repository lives under one mkdtemp directory, removed at the end.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The suite's own tests are not run here (see above); its helpers are. */
#pragma GCC diagnostic ignored "-Wunused-function"
#include "backend_suite.h"

/* Internal: how many open handles asked for fsync (backends/git/git.c). */
size_t gkv__git_fsync_users(void);

static char root[64];
static int repo_counter;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- fsync, counted ---- */

static atomic_int fsync_calls;

/* libgit2 is a shared library: its calls to fsync() resolve to this one
 * (exported: the project builds with -fvisibility=hidden). */
__attribute__((visibility("default"))) int fsync(int fd)
{
	static int (*real_fsync)(int);

	if (!real_fsync)
		*(void **)&real_fsync = dlsym(RTLD_NEXT, "fsync"); /* POSIX's idiom */
	atomic_fetch_add(&fsync_calls, 1);
	return real_fsync(fd);
}

/* ---- the file system and the git CLI ---- */

static const char *new_path(char *buf, size_t size)
{
	snprintf(buf, size, "%s/repo%d", root, repo_counter++);
	return buf;
}

static int suite_open(gkv_backend **out)
{
	char path[128];

	return gkv_backend_git_open(out, new_path(path, sizeof(path)), GKV_GIT_CREATE);
}

static gkv_backend *open_ok(const char *path, unsigned int flags)
{
	gkv_backend *b = NULL;
	int rc = gkv_backend_git_open(&b, path, flags);

	if (rc != 0)
		fail_msg("opening %s: %d %s", path, rc, gkv_error_last());
	return b;
}

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The first line of a command's output, without its newline. */
static void capture(char *out, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void capture(char *out, size_t size, const char *fmt, ...)
{
	char cmd[2048];
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
	snprintf(root, sizeof(root), "/tmp/gkv-git-unit-XXXXXX");
	return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Loose objects and packs under dir/objects (a bare repository). */
static void count_objects(size_t *loose, size_t *packs, size_t *idxs, const char *gitdir)
{
	char path[512];
	DIR *d;
	struct dirent *e;

	*loose = *packs = *idxs = 0;
	for (int i = 0; i < 256; i++) {
		snprintf(path, sizeof(path), "%s/objects/%02x", gitdir, i);
		if (!(d = opendir(path)))
			continue;
		while ((e = readdir(d)) != NULL)
			*loose += strlen(e->d_name) == 38;
		closedir(d);
	}
	snprintf(path, sizeof(path), "%s/objects/pack", gitdir);
	if (!(d = opendir(path)))
		return;
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);

		*packs += n > 5 && strcmp(e->d_name + n - 5, ".pack") == 0;
		*idxs += n > 4 && strcmp(e->d_name + n - 4, ".idx") == 0;
	}
	closedir(d);
}

static void assert_fsck_clean(const char *gitdir)
{
	char cmd[600];

	/* Dangling objects are information, not errors; anything else fails. */
	snprintf(cmd, sizeof(cmd), "git --git-dir=%s fsck --strict --no-dangling 2>&1", gitdir);
	if (run("test -z \"$(%s)\"", cmd) != 0) {
		run("%s", cmd);
		fail_msg("git fsck --strict is not clean in %s", gitdir);
	}
}

/* ---- objects with real ids ---- */

static gkv_oid real_id(gkv_otype type, const void *data, size_t len)
{
	gkv_oid id;

	assert_int_equal(gkv_hash(&id, type, data, len), 0);
	return id;
}

static gkv_oid put_real(gkv_backend *b, gkv_otype type, const void *data, size_t len)
{
	gkv_oid id = real_id(type, data, len);

	assert_int_equal(put_obj(b, &id, type, data, len), 0);
	return id;
}

/* A blob "value <i>". */
static gkv_oid blob_of(char *buf, size_t size, size_t *len, int i)
{
	*len = (size_t)snprintf(buf, size, "value %d\n", i);
	return real_id(GKV_OBJ_BLOB, buf, *len);
}

/* A commit with tree `tree` and message msg, no parent, fixed dates. */
static size_t commit_bytes(char *buf, size_t size, const gkv_oid *tree, const gkv_oid *parent,
			   const char *msg)
{
	char t[GKV_OID_HEXSZ + 1], p[GKV_OID_HEXSZ + 1];
	size_t n;

	hex_of(t, tree);
	n = (size_t)snprintf(buf, size, "tree %s\n", t);
	if (parent) {
		hex_of(p, parent);
		n += (size_t)snprintf(buf + n, size - n, "parent %s\n", p);
	}
	n += (size_t)snprintf(buf + n, size - n,
			      "author A U Thor <a@example.com> 1700000000 +0000\n"
			      "committer A U Thor <a@example.com> 1700000000 +0000\n\n%s\n",
			      msg);
	return n;
}

/* Write a commit holding one file "f" = text; its id. */
static gkv_oid put_commit(gkv_backend *b, const char *text, const gkv_oid *parent)
{
	unsigned char tree[64];
	char buf[512];
	gkv_oid blob = put_real(b, GKV_OBJ_BLOB, text, strlen(text)), t;
	size_t n;

	memcpy(tree, "100644 f", 9); /* with its NUL */
	memcpy(tree + 9, blob.id, GKV_OID_RAWSZ);
	t = put_real(b, GKV_OBJ_TREE, tree, 9 + GKV_OID_RAWSZ);
	n = commit_bytes(buf, sizeof(buf), &t, parent, text);
	return put_real(b, GKV_OBJ_COMMIT, buf, n);
}

/* ---- tests ---- */

static void test_git_objects(void **state)
{
	gkv_backend *b;
	gkv_oid a, c, t, missing, fake;
	void *data = NULL;
	size_t len;
	gkv_otype type;
	gkv_batch *batch;

	(void)state;
	assert_int_equal(suite_open(&b), 0);
	assert_string_equal(b->name, "git");
	a = put_real(b, GKV_OBJ_BLOB, "hello", 5);
	c = put_real(b, GKV_OBJ_BLOB, "", 0);
	t = put_real(b, GKV_OBJ_TREE, "", 0);
	assert_obj(b, &a, GKV_OBJ_BLOB, "hello", 5);
	assert_obj(b, &c, GKV_OBJ_BLOB, "", 0);
	assert_obj(b, &t, GKV_OBJ_TREE, "", 0);
	assert_int_equal(b->exists(b, &a), 1);
	missing = real_id(GKV_OBJ_BLOB, "absent", 6);
	assert_int_equal(b->exists(b, &missing), 0);
	assert_int_equal(b->read(&data, &len, &type, b, &missing), GKV_E_NOTFOUND);
	assert_non_null(strstr(gkv_error_last(), "not found"));
	/* Writing an object again is a no-op. */
	assert_int_equal(put_obj(b, &a, GKV_OBJ_BLOB, "hello", 5), 0);
	assert_obj(b, &a, GKV_OBJ_BLOB, "hello", 5);
	/* An id that is not the object's git id is refused, and names both. */
	make_id(&fake, 1);
	assert_int_equal(b->batch_begin(&batch, b), 0);
	assert_int_equal(b->batch_write(batch, &fake, GKV_OBJ_BLOB, "hello", 5), GKV_E_INVALID);
	assert_non_null(strstr(gkv_error_last(), "b6fc4c620b67d95f953a5c1c1230aaab5db5a1b0"));
	assert_int_equal(b->batch_write(batch, &a, (gkv_otype)7, "hello", 5), GKV_E_INVALID);
	b->batch_abort(batch);
	assert_int_equal(b->exists(b, &fake), 0);
	b->free(b);
}

#define NPREFIX_OBJS 600

static void test_git_foreach_prefixes(void **state)
{
	gkv_backend *b;
	gkv_batch *batch;
	gkv_oid ids[NPREFIX_OBJS], none;
	char path[128], buf[64];
	size_t len;
	count_ctx c;

	(void)state;
	b = open_ok(new_path(path, sizeof(path)), GKV_GIT_CREATE);
	/* Loose: fewer than the pack threshold per batch. */
	for (int i = 0; i < NPREFIX_OBJS; i += 100) {
		assert_int_equal(b->batch_begin(&batch, b), 0);
		for (int k = i; k < i + 100; k++) {
			ids[k] = blob_of(buf, sizeof(buf), &len, k);
			assert_int_equal(b->batch_write(batch, &ids[k], GKV_OBJ_BLOB, buf, len), 0);
		}
		assert_int_equal(b->batch_commit(batch), 0);
	}
	/* Now every object is both loose and packed: listed once all the same. */
	assert_int_equal(run("git --git-dir=%s repack -a -q", path), 0);
	for (size_t hexlen = 0; hexlen <= GKV_OID_HEXSZ; hexlen++) {
		for (int k = 0; k < 5; k++) {
			const gkv_oid *p = &ids[(hexlen * 37 + (size_t)k * 131) % NPREFIX_OBJS];
			size_t want = 0;

			for (int i = 0; i < NPREFIX_OBJS; i++)
				want += hex_prefix_is(&ids[i], p, hexlen);
			memset(&c, 0, sizeof(c));
			assert_int_equal(b->foreach (b, p, hexlen, count_cb, &c), 0);
			assert_int_equal(c.count, want);
		}
	}
	none = ids[0];
	none.id[2] ^= 0x01;
	memset(&c, 0, sizeof(c));
	assert_int_equal(b->foreach (b, &none, 6, count_cb, &c), 0);
	assert_int_equal(c.count, 0);
	c.stop_after = 7;
	assert_int_equal(b->foreach (b, NULL, 0, count_cb, &c), 42);
	assert_int_equal(c.count, 7);
	assert_int_equal(b->foreach (b, &none, 41, count_cb, &c), GKV_E_INVALID);
	b->free(b);
}

static void test_git_ref_cas(void **state)
{
	gkv_backend *b;
	gkv_oid x, y, z, got, blob;
	char hx[GKV_OID_HEXSZ + 1], hy[GKV_OID_HEXSZ + 1], msg[256];

	(void)state;
	assert_int_equal(suite_open(&b), 0);
	x = put_commit(b, "x", NULL);
	y = put_commit(b, "y", &x);
	z = put_commit(b, "z", &y);
	hex_of(hx, &x);
	hex_of(hy, &y);
	assert_int_equal(b->ref_read(&got, b, "refs/heads/main"), GKV_E_NOTFOUND);
	assert_non_null(strstr(gkv_error_last(), "refs/heads/main"));
	assert_int_equal(b->ref_cas(b, "refs/heads/main", NULL, &x), 0);
	assert_int_equal(b->ref_read(&got, b, "refs/heads/main"), 0);
	assert_memory_equal(got.id, x.id, GKV_OID_RAWSZ);
	assert_int_equal(b->ref_cas(b, "refs/heads/main", NULL, &y), GKV_E_CONFLICT);
	snprintf(msg, sizeof(msg),
		 "branch ref 'refs/heads/main' moved (expected nothing, found %s)", hx);
	assert_string_equal(gkv_error_last(), msg);
	assert_int_equal(b->ref_cas(b, "refs/heads/main", &x, &y), 0);
	assert_int_equal(b->ref_cas(b, "refs/heads/main", &x, &z), GKV_E_CONFLICT);
	snprintf(msg, sizeof(msg), "branch ref 'refs/heads/main' moved (expected %s, found %s)", hx,
		 hy);
	assert_string_equal(gkv_error_last(), msg);
	assert_int_equal(b->ref_read(&got, b, "refs/heads/main"), 0);
	assert_memory_equal(got.id, y.id, GKV_OID_RAWSZ);
	/* delete, then delete again */
	assert_int_equal(b->ref_cas(b, "refs/heads/main", &x, NULL), GKV_E_CONFLICT);
	assert_int_equal(b->ref_cas(b, "refs/heads/main", &y, NULL), 0);
	assert_int_equal(b->ref_read(&got, b, "refs/heads/main"), GKV_E_NOTFOUND);
	assert_int_equal(b->ref_cas(b, "refs/heads/main", &y, NULL), GKV_E_CONFLICT);
	assert_int_equal(b->ref_cas(b, "refs/heads/main", NULL, NULL), 0);
	/* a CAS that changes nothing is a check */
	assert_int_equal(b->ref_cas(b, "refs/heads/main", NULL, &z), 0);
	assert_int_equal(b->ref_cas(b, "refs/heads/main", &z, &z), 0);
	assert_int_equal(b->ref_cas(b, "refs/heads/main", &y, &y), GKV_E_CONFLICT);
	/* a ref to an object the repository lacks is refused */
	blob = real_id(GKV_OBJ_BLOB, "nowhere", 7);
	assert_int_equal(b->ref_cas(b, "refs/heads/ghost", NULL, &blob), GKV_E_NOTFOUND);
	assert_non_null(strstr(gkv_error_last(), "refs/heads/ghost"));
	assert_int_equal(b->ref_read(&got, b, "refs/heads/ghost"), GKV_E_NOTFOUND);
	/* git keeps refs as files: a/b and a cannot both be */
	assert_int_equal(b->ref_cas(b, "refs/heads/a/b", NULL, &x), 0);
	assert_int_equal(b->ref_cas(b, "refs/heads/a", NULL, &x), GKV_E_EXISTS);
	assert_non_null(strstr(gkv_error_last(), "refs/heads/a/b"));
	assert_int_equal(b->ref_cas(b, "refs/heads/a/b/c", NULL, &x), GKV_E_EXISTS);
	assert_int_equal(b->ref_cas(b, "refs/heads/a/b", &x, NULL), 0);
	/* ... and the log of the deleted a/b, which is kept, is a file in
	 * the folder logs/refs/heads/a/: "a" cannot have its log */
	assert_int_equal(b->ref_cas(b, "refs/heads/a", NULL, &x), GKV_E_EXISTS);
	assert_int_equal(b->ref_read(&got, b, "refs/heads/a"), GKV_E_NOTFOUND);
	assert_int_equal(b->ref_cas(b, "refs/heads/a2", NULL, &x), 0);
	/* a bad name is libgit2's to refuse */
	assert_int_equal(b->ref_cas(b, "refs/heads/bad..name", NULL, &x), GKV_E_INVALID);
	b->free(b);
}

static void test_git_ref_list_packed_and_tags(void **state)
{
	gkv_backend *b;
	char path[128], work[160], hex[64], hm[GKV_OID_HEXSZ + 1];
	gkv_oid master, tag, feature, got;
	list_ctx l;
	void *data;
	size_t len;
	gkv_otype type;
	char *branch = NULL;

	(void)state;
	/* A repository git made, with annotated tags, then packed refs. */
	new_path(path, sizeof(path));
	snprintf(work, sizeof(work), "%s/.git", path);
	assert_int_equal(run("git init -q -b master %s && cd %s && echo one > f && git add f && "
			     "git commit -q -m one && git tag -a v1 -m 'tag one' && "
			     "git branch feature && git tag light && "
			     "git symbolic-ref refs/remotes/origin/HEAD refs/heads/master && "
			     "git pack-refs --all",
			     path, path),
			 0);
	b = open_ok(path, 0);
	assert_int_equal(b->default_branch(&branch, b), 0);
	assert_string_equal(branch, "master");
	gkv_backend_data_free(branch);
	assert_int_equal(b->ref_read(&master, b, "refs/heads/master"), 0);
	capture(hex, sizeof(hex), "git -C %s rev-parse master", path);
	hex_of(hm, &master);
	assert_string_equal(hm, hex);
	/* the tag ref names the tag object, which reads as a tag */
	assert_int_equal(b->ref_read(&tag, b, "refs/tags/v1"), 0);
	assert_int_equal(b->read(&data, &len, &type, b, &tag), 0);
	assert_int_equal(type, GKV_OBJ_TAG);
	assert_non_null(memmem(data, len, "tag one", 7));
	gkv_backend_data_free(data);
	/* branches only, sorted; symbolic refs left out */
	list_refs(&l, b, "refs/heads/");
	assert_int_equal(l.n, 2);
	assert_string_equal(l.names[0], "refs/heads/feature");
	assert_string_equal(l.names[1], "refs/heads/master");
	list_refs(&l, b, "");
	assert_int_equal(l.n, 4);
	assert_string_equal(l.names[2], "refs/tags/light");
	assert_string_equal(l.names[3], "refs/tags/v1");
	list_refs(&l, b, "refs/tags/v");
	assert_int_equal(l.n, 1);
	/* CAS on a packed ref: moves it; deleting a packed ref removes it */
	feature = put_commit(b, "feature work", &master);
	assert_int_equal(b->ref_cas(b, "refs/heads/feature", &tag, &feature), GKV_E_CONFLICT);
	assert_int_equal(b->ref_cas(b, "refs/heads/feature", &master, &feature), 0);
	capture(hex, sizeof(hex), "git -C %s rev-parse feature", path);
	hex_of(hm, &feature);
	assert_string_equal(hm, hex);
	assert_int_equal(b->ref_cas(b, "refs/tags/light", &master, NULL), 0);
	assert_int_equal(run("git -C %s show-ref --verify -q refs/tags/light", path), 1);
	assert_int_equal(b->ref_read(&got, b, "refs/tags/light"), GKV_E_NOTFOUND);
	/* the work tree and the index were not touched */
	assert_int_equal(run("cd %s && test \"$(cat f)\" = one && git diff --quiet", path), 0);
	assert_fsck_clean(work);
	b->free(b);
}

static void test_git_batch_atomic(void **state)
{
	gkv_backend *b;
	gkv_batch *batch;
	gkv_oid base, other, objs[5], got;
	char buf[32];
	size_t len;

	(void)state;
	assert_int_equal(suite_open(&b), 0);
	base = put_commit(b, "base", NULL);
	other = put_commit(b, "other", NULL);
	assert_int_equal(b->ref_cas(b, "refs/heads/main", NULL, &base), 0);
	/* A CAS already lost: found before anything is written. */
	assert_int_equal(b->batch_begin(&batch, b), 0);
	for (int i = 0; i < 5; i++) {
		objs[i] = blob_of(buf, sizeof(buf), &len, 80 + i);
		assert_int_equal(b->batch_write(batch, &objs[i], GKV_OBJ_BLOB, buf, len), 0);
	}
	assert_int_equal(b->batch_ref_cas(batch, "refs/heads/main", &other, &objs[0]), 0);
	assert_int_equal(b->batch_commit(batch), GKV_E_CONFLICT);
	assert_non_null(strstr(gkv_error_last(), "refs/heads/main"));
	for (int i = 0; i < 5; i++)
		assert_int_equal(b->exists(b, &objs[i]), 0);
	assert_int_equal(b->ref_read(&got, b, "refs/heads/main"), 0);
	assert_memory_equal(got.id, base.id, GKV_OID_RAWSZ);
	/* A good CAS and a bad one: neither lands. */
	assert_int_equal(b->batch_begin(&batch, b), 0);
	assert_int_equal(b->batch_ref_cas(batch, "refs/heads/dev", NULL, &other), 0);
	assert_int_equal(b->batch_ref_cas(batch, "refs/heads/main", NULL, &other), 0);
	assert_int_equal(b->batch_commit(batch), GKV_E_CONFLICT);
	assert_int_equal(b->ref_read(&got, b, "refs/heads/dev"), GKV_E_NOTFOUND);
	/* Two CASes on one ref apply in order; a ref made and dropped is no ref. */
	assert_int_equal(b->batch_begin(&batch, b), 0);
	assert_int_equal(b->batch_write(batch, &objs[1], GKV_OBJ_BLOB, "value 81\n", 9), 0);
	assert_int_equal(b->batch_ref_cas(batch, "refs/heads/main", &base, &other), 0);
	assert_int_equal(b->batch_ref_cas(batch, "refs/heads/main", &other, &objs[1]), 0);
	assert_int_equal(b->batch_ref_cas(batch, "refs/heads/tmp", NULL, &objs[1]), 0);
	assert_int_equal(b->batch_ref_cas(batch, "refs/heads/tmp", &objs[1], NULL), 0);
	assert_int_equal(b->batch_ref_cas(batch, "refs/heads/dev", NULL, &base), 0);
	assert_int_equal(b->batch_commit(batch), 0);
	assert_int_equal(b->ref_read(&got, b, "refs/heads/main"), 0);
	assert_memory_equal(got.id, objs[1].id, GKV_OID_RAWSZ);
	assert_int_equal(b->ref_read(&got, b, "refs/heads/dev"), 0);
	assert_memory_equal(got.id, base.id, GKV_OID_RAWSZ);
	assert_int_equal(b->ref_read(&got, b, "refs/heads/tmp"), GKV_E_NOTFOUND);
	/* CASes of one batch that contradict each other */
	assert_int_equal(b->batch_begin(&batch, b), 0);
	assert_int_equal(b->batch_ref_cas(batch, "refs/heads/dev", &base, &other), 0);
	assert_int_equal(b->batch_ref_cas(batch, "refs/heads/dev", &base, &other), 0);
	assert_int_equal(b->batch_commit(batch), GKV_E_CONFLICT);
	assert_int_equal(b->ref_read(&got, b, "refs/heads/dev"), 0);
	assert_memory_equal(got.id, base.id, GKV_OID_RAWSZ);
	/* An empty batch commits; an aborted one leaves nothing. */
	assert_int_equal(b->batch_begin(&batch, b), 0);
	assert_int_equal(b->batch_commit(batch), 0);
	assert_int_equal(b->batch_begin(&batch, b), 0);
	assert_int_equal(b->batch_write(batch, &objs[4], GKV_OBJ_BLOB, "value 84\n", 9), 0);
	assert_int_equal(b->batch_ref_cas(batch, "refs/heads/gone", NULL, &objs[4]), 0);
	b->batch_abort(batch);
	assert_int_equal(b->exists(b, &objs[4]), 0);
	assert_int_equal(b->ref_read(&got, b, "refs/heads/gone"), GKV_E_NOTFOUND);
	b->free(b);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void assert_file_is(const char *path, const char *text)
{
	char buf[256] = "";
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	assert_string_equal(buf, text);
}

static void test_git_lock_file_conflict(void **state)
{
	gkv_backend *b;
	gkv_batch *batch;
	char path[128], lock[256], packed_lock[256];
	gkv_oid x, y, got;

	(void)state;
	b = open_ok(new_path(path, sizeof(path)), GKV_GIT_CREATE);
	x = put_commit(b, "x", NULL);
	y = put_commit(b, "y", &x);
	assert_int_equal(b->ref_cas(b, "refs/heads/main", NULL, &x), 0);
	/* Someone (git) holds the ref's lock. */
	snprintf(lock, sizeof(lock), "%s/refs/heads/main.lock", path);
	write_file(lock, "held by someone else\n");
	assert_int_equal(b->ref_cas(b, "refs/heads/main", &x, &y), GKV_E_CONFLICT);
	assert_non_null(strstr(gkv_error_last(), "refs/heads/main.lock"));
	assert_non_null(strstr(gkv_error_last(), "locked"));
	assert_int_equal(b->ref_cas(b, "refs/heads/main", &x, NULL), GKV_E_CONFLICT);
	assert_int_equal(b->batch_begin(&batch, b), 0);
	assert_int_equal(b->batch_ref_cas(batch, "refs/heads/main", &x, &y), 0);
	assert_int_equal(b->batch_ref_cas(batch, "refs/heads/other", NULL, &y), 0);
	assert_int_equal(b->batch_commit(batch), GKV_E_CONFLICT);
	/* nothing changed, the lock is still theirs */
	assert_int_equal(b->ref_read(&got, b, "refs/heads/main"), 0);
	assert_memory_equal(got.id, x.id, GKV_OID_RAWSZ);
	assert_int_equal(b->ref_read(&got, b, "refs/heads/other"), GKV_E_NOTFOUND);
	assert_file_is(lock, "held by someone else\n");
	snprintf(packed_lock, sizeof(packed_lock), "%s/refs/heads/other.lock", path);
	assert_int_equal(access(packed_lock, F_OK), -1);
	/* once it is released, the same CAS goes through */
	assert_int_equal(unlink(lock), 0);
	assert_int_equal(b->ref_cas(b, "refs/heads/main", &x, &y), 0);
	/* deleting a packed ref needs packed-refs.lock too */
	assert_int_equal(run("git --git-dir=%s pack-refs --all", path), 0);
	snprintf(packed_lock, sizeof(packed_lock), "%s/packed-refs.lock", path);
	write_file(packed_lock, "");
	assert_int_equal(b->ref_cas(b, "refs/heads/main", &y, NULL), GKV_E_CONFLICT);
	assert_int_equal(b->ref_read(&got, b, "refs/heads/main"), 0);
	assert_memory_equal(got.id, y.id, GKV_OID_RAWSZ);
	assert_int_equal(unlink(packed_lock), 0);
	assert_int_equal(b->ref_cas(b, "refs/heads/main", &y, NULL), 0);
	assert_int_equal(run("git --git-dir=%s show-ref -q", path), 1);
	b->free(b);
}

/* One batch: n blobs, a tree of them (named k00000...), a commit, the ref. */
static gkv_oid write_bulk(gkv_backend *b, int n, int base, const gkv_oid *parent)
{
	gkv_batch *batch;
	unsigned char *tree = malloc((size_t)n * 48 + 1);
	size_t tlen = 0, len;
	char buf[64], msg[64], cbuf[512];
	gkv_oid id, t, c;

	assert_non_null(tree);
	assert_int_equal(b->batch_begin(&batch, b), 0);
	for (int i = 0; i < n; i++) {
		/* "100644 k000123\0" and the raw id: names sort as numbers do */
		tlen += (size_t)sprintf((char *)tree + tlen, "100644 k%06d", base + i) + 1;
		id = blob_of(buf, sizeof(buf), &len, base + i);
		assert_int_equal(b->batch_write(batch, &id, GKV_OBJ_BLOB, buf, len), 0);
		memcpy(tree + tlen, id.id, GKV_OID_RAWSZ);
		tlen += GKV_OID_RAWSZ;
	}
	t = real_id(GKV_OBJ_TREE, tree, tlen);
	assert_int_equal(b->batch_write(batch, &t, GKV_OBJ_TREE, tree, tlen), 0);
	snprintf(msg, sizeof(msg), "bulk of %d", n);
	len = commit_bytes(cbuf, sizeof(cbuf), &t, parent, msg);
	c = real_id(GKV_OBJ_COMMIT, cbuf, len);
	assert_int_equal(b->batch_write(batch, &c, GKV_OBJ_COMMIT, cbuf, len), 0);
	assert_int_equal(b->batch_ref_cas(batch, "refs/heads/main", parent, &c), 0);
	assert_int_equal(b->batch_commit(batch), 0);
	free(tree);
	return c;
}

#define BULK 100000

static void test_git_pack_for_large_batch(void **state)
{
	gkv_backend *b;
	char path[128], buf[64];
	size_t loose, packs, idxs, len;
	gkv_oid c1, c2, c3, id;
	double t0, t1;

	(void)state;
	b = open_ok(new_path(path, sizeof(path)), GKV_GIT_CREATE);
	/* below the threshold: loose objects */
	c1 = write_bulk(b, 10, 0, NULL);
	count_objects(&loose, &packs, &idxs, path);
	assert_int_equal(loose, 12);
	assert_int_equal(packs, 0);
	assert_fsck_clean(path);
	/* at the threshold and above: one pack (with its index), no loose object */
	c2 = write_bulk(b, 1000, 10, &c1);
	count_objects(&loose, &packs, &idxs, path);
	assert_int_equal(loose, 12);
	assert_int_equal(packs, 1);
	assert_int_equal(idxs, 1);
	assert_fsck_clean(path);
	assert_int_equal(run("test \"$(git --git-dir=%s ls-tree main | wc -l)\" = 1000", path), 0);
	/* a bulk load of 100,000 values: one more pack, readable at once */
	t0 = now();
	c3 = write_bulk(b, BULK, 2000, &c2);
	t1 = now();
	count_objects(&loose, &packs, &idxs, path);
	assert_int_equal(loose, 12);
	assert_int_equal(packs, 2);
	assert_int_equal(idxs, 2);
	for (int i = 0; i < BULK; i += 9973) {
		id = blob_of(buf, sizeof(buf), &len, 2000 + i);
		assert_obj(b, &id, GKV_OBJ_BLOB, buf, len);
	}
	print_message("git: %d values in one batch: %.2f s (%.0f objects/s), %zu packs\n", BULK,
		      t1 - t0, BULK / (t1 - t0), packs);
	/* what was already there is not written again */
	(void)write_bulk(b, 300, 10, &c3);
	count_objects(&loose, &packs, &idxs, path);
	assert_int_equal(packs, 2);
	assert_int_equal(loose, 14); /* the new tree and commit */
	assert_fsck_clean(path);
	b->free(b);
}

/* Count objects/pack/tmp_pack_* files (a pack being written). */
static size_t tmp_packs(const char *gitdir)
{
	char out[64];

	capture(out, sizeof(out), "ls %s/objects/pack 2>/dev/null | grep -c '^tmp_pack_'", gitdir);
	return (size_t)atoi(out);
}

#define BIG_LEN (128u << 10)
#define BIG_N 300 /* 37.5 MiB: past GKV__GIT_STREAM_AT */

/* The BIG_LEN bytes of big blob i (compressible, so the test is quick)
 * and their id. */
static gkv_oid big_blob(unsigned char *buf, int i)
{
	gkv_oid id;

	memset(buf, 'a' + i % 26, BIG_LEN);
	snprintf((char *)buf, 32, "big blob %d", i);
	assert_int_equal(gkv_hash(&id, GKV_OBJ_BLOB, buf, BIG_LEN), 0);
	return id;
}

static void write_bigs(gkv_batch *batch, gkv_backend *b, unsigned char *buf, int first, int n)
{
	for (int i = first; i < first + n; i++) {
		gkv_oid id = big_blob(buf, i);

		assert_int_equal(b->batch_write(batch, &id, GKV_OBJ_BLOB, buf, BIG_LEN), 0);
	}
}

/*
 * A batch past 32 MiB of objects writes them into a pack as they come
 * instead of holding them: nothing is visible before the commit; an
 * abort or a lost CAS leaves no file; an object written twice, or one
 * the repository has, goes in once or not at all; git reads the pack.
 */
static void test_git_large_batch_streams(void **state)
{
	unsigned char *buf = malloc(BIG_LEN);
	char path[128], want[64], got[64];
	size_t loose, packs, idxs;
	gkv_backend *b;
	gkv_batch *batch;
	gkv_oid first, last, other, tip;
	void *data;
	size_t len;
	gkv_otype t;

	(void)state;
	assert_non_null(buf);
	b = open_ok(new_path(path, sizeof(path)), GKV_GIT_CREATE);
	first = big_blob(buf, 0);
	last = big_blob(buf, BIG_N - 1);
	/* one of them is in the repository already, loose */
	assert_int_equal(b->batch_begin(&batch, b), 0);
	write_bigs(batch, b, buf, 5, 1);
	assert_int_equal(b->batch_commit(batch), 0);

	/* aborted after streaming: no file left, nothing readable */
	assert_int_equal(b->batch_begin(&batch, b), 0);
	write_bigs(batch, b, buf, 0, BIG_N);
	assert_int_equal(tmp_packs(path), 1);
	count_objects(&loose, &packs, &idxs, path);
	assert_int_equal(packs + idxs, 0);
	assert_int_equal(b->exists(b, &first), 0);
	b->batch_abort(batch);
	assert_int_equal(tmp_packs(path), 0);
	assert_int_equal(b->exists(b, &last), 0);

	/* a CAS already lost: found before the pack is put in place */
	other = put_commit(b, "other", NULL);
	assert_int_equal(b->ref_cas(b, "refs/heads/main", NULL, &other), 0);
	assert_int_equal(b->batch_begin(&batch, b), 0);
	write_bigs(batch, b, buf, 0, BIG_N);
	assert_int_equal(b->batch_ref_cas(batch, "refs/heads/main", NULL, &other), 0);
	assert_int_equal(b->batch_commit(batch), GKV_E_CONFLICT);
	assert_int_equal(tmp_packs(path), 0);
	count_objects(&loose, &packs, &idxs, path);
	assert_int_equal(packs + idxs, 0);

	/* committed, with every object twice: one pack of BIG_N - 1 objects
	 * (the one the repository has is not in it) and a commit, loose,
	 * written after the stream began */
	assert_int_equal(b->batch_begin(&batch, b), 0);
	write_bigs(batch, b, buf, 0, BIG_N);
	write_bigs(batch, b, buf, 0, BIG_N);
	tip = put_commit(b, "tip", &other); /* its own batch: loose */
	assert_int_equal(b->batch_ref_cas(batch, "refs/heads/main", &other, &tip), 0);
	assert_int_equal(b->batch_commit(batch), 0);
	assert_int_equal(tmp_packs(path), 0);
	count_objects(&loose, &packs, &idxs, path);
	assert_int_equal(packs, 1);
	assert_int_equal(idxs, 1);
	capture(got, sizeof(got), "git --git-dir=%s count-objects -v | sed -n 's/^in-pack: //p'",
		path);
	snprintf(want, sizeof(want), "%d", BIG_N - 1);
	assert_string_equal(got, want);
	assert_int_equal(run("git verify-pack %s/objects/pack/*.idx", path), 0);
	assert_int_equal(b->read(&data, &len, &t, b, &last), 0);
	assert_int_equal(len, BIG_LEN);
	big_blob(buf, BIG_N - 1);
	assert_memory_equal(data, buf, BIG_LEN);
	gkv_backend_data_free(data);
	gkv_oid_fmt(want, &first);
	want[GKV_OID_HEXSZ] = '\0';
	assert_int_equal(run("git --git-dir=%s cat-file -e %s", path, want), 0);
	assert_fsck_clean(path);
	b->free(b);
	free(buf);
}

/* A pack made by git, with deltas, given whole: it lands with the batch's
 * refs, as a pack of its own (not an object each), and git reads it. */
static void test_git_batch_write_pack(void **state)
{
	gkv_backend *b;
	gkv_batch *batch;
	char path[128], src[256], pack[512], idx[512], hex[64];
	size_t loose, packs, idxs, len;
	gkv_oid head, got, other;
	void *data;
	gkv_otype t;

	(void)state;
	snprintf(src, sizeof(src), "%s/packsrc", root);
	assert_int_equal(run("set -e; git init -q %s; cd %s; for i in $(seq 1 20); do"
	    " seq 1 $((i * 50)) > f; git add f;"
	    " git -c user.name=t -c user.email=t@t commit -q -m c$i; done;"
	    " git repack -adq", src, src), 0);
	capture(pack, sizeof(pack), "ls %s/.git/objects/pack/*.pack", src);
	capture(idx, sizeof(idx), "ls %s/.git/objects/pack/*.idx", src);
	capture(hex, sizeof(hex), "git -C %s rev-parse HEAD", src);
	assert_int_equal(gkv_oid_fromstr(&head, hex), 0);
	/* delta entries: the pack is kept as it came, not rewritten whole */
	assert_int_equal(run("git verify-pack -v %s | grep -q ' [0-9]* [0-9]* [0-9]* 1 '", idx), 0);

	/* refused: no path */
	b = open_ok(new_path(path, sizeof(path)), GKV_GIT_CREATE);
	assert_int_equal(b->batch_begin(&batch, b), 0);
	assert_int_equal(b->batch_write_pack(batch, NULL, idx), GKV_E_INVALID);
	assert_int_equal(b->batch_write_pack(batch, pack, ""), GKV_E_INVALID);
	/* aborted: nothing lands */
	assert_int_equal(b->batch_write_pack(batch, pack, idx), 0);
	assert_int_equal(b->batch_ref_cas(batch, "refs/heads/main", NULL, &head), 0);
	b->batch_abort(batch);
	count_objects(&loose, &packs, &idxs, path);
	assert_int_equal(packs + idxs + loose, 0);
	assert_int_equal(b->exists(b, &head), 0);
	/* a CAS already lost: found before the pack is copied */
	other = put_commit(b, "other", NULL);
	assert_int_equal(b->ref_cas(b, "refs/heads/main", NULL, &other), 0);
	assert_int_equal(b->batch_begin(&batch, b), 0);
	assert_int_equal(b->batch_write_pack(batch, pack, idx), 0);
	assert_int_equal(b->batch_ref_cas(batch, "refs/heads/main", NULL, &head), 0);
	assert_int_equal(b->batch_commit(batch), GKV_E_CONFLICT);
	count_objects(&loose, &packs, &idxs, path);
	assert_int_equal(packs + idxs, 0);
	assert_int_equal(b->exists(b, &head), 0);
	/* committed: one pack and its index, readable at once, the same
	 * pack twice is one, and the caller's files are left to it */
	assert_int_equal(b->batch_begin(&batch, b), 0);
	assert_int_equal(b->batch_write_pack(batch, pack, idx), 0);
	assert_int_equal(b->batch_write_pack(batch, pack, idx), 0);
	assert_int_equal(b->batch_ref_cas(batch, "refs/heads/main", &other, &head), 0);
	assert_int_equal(b->batch_commit(batch), 0);
	count_objects(&loose, &packs, &idxs, path);
	assert_int_equal(packs, 1);
	assert_int_equal(idxs, 1);
	assert_int_equal(b->ref_read(&got, b, "refs/heads/main"), 0);
	assert_memory_equal(got.id, head.id, GKV_OID_RAWSZ);
	assert_int_equal(b->read(&data, &len, &t, b, &head), 0);
	assert_int_equal(t, GKV_OBJ_COMMIT);
	gkv_backend_data_free(data);
	assert_int_equal(run("test -f %s && test -f %s", pack, idx), 0);
	assert_fsck_clean(path);
	assert_int_equal(run("test \"$(git --git-dir=%s show main:f | wc -l)\" = 1000", path), 0);
	b->free(b);
}

static void test_git_fsync_flag(void **state)
{
	gkv_backend *b, *b2;
	char path[128];
	gkv_oid c;
	int before;

	(void)state;
	/* Without the flag, git's default: no fsync. */
	b = open_ok(new_path(path, sizeof(path)), GKV_GIT_CREATE);
	assert_int_equal(gkv__git_fsync_users(), 0);
	before = atomic_load(&fsync_calls);
	c = write_bulk(b, 5, 0, NULL);
	(void)write_bulk(b, 300, 5, &c);
	assert_int_equal(atomic_load(&fsync_calls), before);
	b->free(b);
	/* With it: objects, the pack and the ref are fsynced. */
	b = open_ok(path, GKV_GIT_FSYNC);
	assert_int_equal(gkv__git_fsync_users(), 1);
	b2 = open_ok(path, GKV_GIT_FSYNC);
	assert_int_equal(gkv__git_fsync_users(), 2);
	b2->free(b2);
	assert_int_equal(gkv__git_fsync_users(), 1);
	before = atomic_load(&fsync_calls);
	assert_int_equal(b->ref_read(&c, b, "refs/heads/main"), 0);
	c = write_bulk(b, 5, 1000, &c);
	print_message("git: a small commit with GKV_GIT_FSYNC: %d fsync calls\n",
		      atomic_load(&fsync_calls) - before);
	assert_true(atomic_load(&fsync_calls) - before >= 3);
	before = atomic_load(&fsync_calls);
	(void)write_bulk(b, 300, 2000, &c);
	assert_true(atomic_load(&fsync_calls) - before >= 2);
	b->free(b);
	/* The last fsync handle gone, the process is back to git's default. */
	assert_int_equal(gkv__git_fsync_users(), 0);
	b = open_ok(path, 0);
	before = atomic_load(&fsync_calls);
	assert_int_equal(b->ref_read(&c, b, "refs/heads/main"), 0);
	(void)write_bulk(b, 5, 3000, &c);
	assert_int_equal(atomic_load(&fsync_calls), before);
	b->free(b);
	/* read-only handles never fsync (and do not count) */
	b = open_ok(path, GKV_GIT_FSYNC | GKV_GIT_READONLY);
	assert_int_equal(gkv__git_fsync_users(), 0);
	b->free(b);
}

static void test_git_corrupt_objects(void **state)
{
	gkv_backend *b;
	char path[128], file[256], hex[GKV_OID_HEXSZ + 1];
	gkv_oid id;
	void *data = NULL;
	size_t len;
	gkv_otype type;
	int corrupt = 0;
	gkv_oid c;

	(void)state;
	b = open_ok(new_path(path, sizeof(path)), GKV_GIT_CREATE);
	id = put_real(b, GKV_OBJ_BLOB, "soon broken", 11);
	hex_of(hex, &id);
	snprintf(file, sizeof(file), "%s/objects/%.2s/%s", path, hex, hex + 2);
	assert_int_equal(chmod(file, 0644), 0);
	/* garbage where the zlib stream was */
	write_file(file, "this is not zlib");
	assert_int_equal(b->read(&data, &len, &type, b, &id), GKV_E_CORRUPT);
	assert_non_null(strstr(gkv_error_last(), hex));
	/* a valid stream of another object under this id: a hash mismatch */
	assert_int_equal(run("cd %s && git hash-object -w --stdin </dev/null >/dev/null && "
			     "cp objects/e6/9de29bb2d1d6434b8b29ae775ad8c2e48c5391 %s",
			     path, file),
			 0);
	assert_int_equal(b->read(&data, &len, &type, b, &id), GKV_E_CORRUPT);
	assert_non_null(strstr(gkv_error_last(), hex));
	/* an empty file */
	write_file(file, "");
	assert_int_equal(b->read(&data, &len, &type, b, &id), GKV_E_CORRUPT);
	/* a damaged pack: every read is right or an error naming the object */
	c = write_bulk(b, 400, 0, NULL);
	(void)c;
	assert_int_equal(run("cd %s/objects/pack && f=$(ls *.pack) && chmod u+w $f && "
			     "printf 'XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX' | "
			     "dd of=$f bs=1 seek=2000 conv=notrunc status=none",
			     path),
			 0);
	for (int i = 0; i < 400; i++) {
		char buf[64];
		size_t blen;
		int rc;

		id = blob_of(buf, sizeof(buf), &blen, i);
		rc = b->read(&data, &len, &type, b, &id);
		if (rc == 0) {
			assert_int_equal(len, blen);
			assert_memory_equal(data, buf, blen);
			gkv_backend_data_free(data);
		} else {
			hex_of(hex, &id);
			assert_int_equal(rc, GKV_E_CORRUPT);
			assert_non_null(strstr(gkv_error_last(), hex));
			corrupt++;
		}
	}
	assert_true(corrupt > 0);
	b->free(b);
}

static void test_git_open_and_detect(void **state)
{
	gkv_backend *b = NULL;
	char path[128], sub[192], made[160];
	char *branch = NULL;
	gkv_oid c, got;

	(void)state;
	new_path(path, sizeof(path));
	/* nothing there */
	assert_int_equal(gkv_backend_git_detect(path), 0);
	assert_int_equal(gkv_backend_git_open(&b, path, 0), GKV_E_NOTFOUND);
	assert_null(b);
	assert_non_null(strstr(gkv_error_last(), path));
	assert_int_equal(gkv_backend_git_open(&b, path, GKV_GIT_CREATE | GKV_GIT_READONLY),
			 GKV_E_NOTFOUND);
	assert_int_equal(gkv_backend_git_open(&b, path, 1u << 9), GKV_E_INVALID);
	assert_int_equal(gkv_backend_git_open(&b, "", GKV_GIT_CREATE), GKV_E_INVALID);
	/* an empty directory is not a repository, and is made one on request */
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(gkv_backend_git_detect(path), 0);
	assert_int_equal(gkv_backend_git_open(&b, path, 0), GKV_E_NOTFOUND);
	b = open_ok(path, GKV_GIT_CREATE);
	assert_int_equal(gkv_backend_git_detect(path), 1);
	assert_int_equal(b->default_branch(&branch, b), 0);
	assert_string_equal(branch, "main");
	gkv_backend_data_free(branch);
	b->free(b);
	assert_int_equal(
	    run("test \"$(git --git-dir=%s rev-parse --is-bare-repository)\" = true && "
		"test \"$(git --git-dir=%s symbolic-ref HEAD)\" = refs/heads/main",
		path, path),
	    0);
	/* a directory holding something else is left alone */
	snprintf(made, sizeof(made), "%s/other", root);
	assert_int_equal(mkdir(made, 0755), 0);
	snprintf(sub, sizeof(sub), "%s/file", made);
	write_file(sub, "x");
	assert_int_equal(gkv_backend_git_open(&b, made, GKV_GIT_CREATE), GKV_E_INVALID);
	assert_int_equal(gkv_backend_git_detect(made), 0);
	/* a non-bare repository: its work tree and its .git both detect; a
	 * folder inside the work tree does not (no search upwards) */
	new_path(path, sizeof(path));
	assert_int_equal(run("git init -q -b trunk %s && mkdir %s/inner", path, path), 0);
	assert_int_equal(gkv_backend_git_detect(path), 1);
	snprintf(sub, sizeof(sub), "%s/.git", path);
	assert_int_equal(gkv_backend_git_detect(sub), 1);
	snprintf(sub, sizeof(sub), "%s/inner", path);
	assert_int_equal(gkv_backend_git_detect(sub), 0);
	assert_int_equal(gkv_backend_git_open(&b, sub, 0), GKV_E_NOTFOUND);
	/* unborn HEAD: still names its branch */
	b = open_ok(path, 0);
	assert_int_equal(b->default_branch(&branch, b), 0);
	assert_string_equal(branch, "trunk");
	gkv_backend_data_free(branch);
	b->free(b);
	/* detached HEAD: main if there is one, else master, else main */
	assert_int_equal(run("cd %s && git commit -q --allow-empty -m one && git branch master && "
			     "git checkout -q --detach",
			     path),
			 0);
	b = open_ok(path, 0);
	assert_int_equal(b->default_branch(&branch, b), 0);
	assert_string_equal(branch, "master");
	gkv_backend_data_free(branch);
	b->free(b);
	/* read-only: reads work, writes are refused, nothing changes */
	b = open_ok(path, GKV_GIT_READONLY);
	assert_int_equal(b->ref_read(&c, b, "refs/heads/trunk"), 0);
	assert_int_equal(b->ref_cas(b, "refs/heads/x", NULL, &c), GKV_E_READONLY);
	assert_non_null(strstr(gkv_error_last(), "read-only"));
	{
		gkv_batch *batch = NULL;

		assert_int_equal(b->batch_begin(&batch, b), GKV_E_READONLY);
	}
	assert_int_equal(b->ref_read(&got, b, "refs/heads/x"), GKV_E_NOTFOUND);
	b->free(b);
}

/* ---- concurrency ---- */

/*
 * One increment: an object whose payload is the old head (a chain link),
 * then a CAS of the head from old to it; retried on conflict. Ids are
 * real, so two writers starting from the same head make the same link:
 * the loser's CAS fails and it tries again from the new head.
 */
static int git_increment(gkv_backend *b, const char *ref)
{
	for (;;) {
		gkv_oid old, next;
		gkv_batch *batch;
		int rc = b->ref_read(&old, b, ref), have = rc == 0;

		if (rc < 0 && rc != GKV_E_NOTFOUND)
			return rc;
		if ((rc = gkv_hash(&next, GKV_OBJ_COMMIT, old.id, have ? GKV_OID_RAWSZ : 0)) < 0 ||
		    (rc = b->batch_begin(&batch, b)) < 0)
			return rc;
		rc = b->batch_write(batch, &next, GKV_OBJ_COMMIT, old.id, have ? GKV_OID_RAWSZ : 0);
		if (rc == 0)
			rc = b->batch_ref_cas(batch, ref, have ? &old : NULL, &next);
		if (rc < 0) {
			b->batch_abort(batch);
			return rc;
		}
		if ((rc = b->batch_commit(batch)) != GKV_E_CONFLICT)
			return rc;
	}
}

typedef struct {
	gkv_backend *b;
	int steps;
	int rc;
} git_worker;

static void *git_cas_worker(void *p)
{
	git_worker *w = p;

	for (int i = 0; i < w->steps && w->rc == 0; i++)
		w->rc = git_increment(w->b, "refs/heads/counter");
	return NULL;
}

#define GIT_THREADS 4
#define GIT_STEPS 100

static void test_git_threads_cas(void **state)
{
	gkv_backend *b;
	pthread_t th[GIT_THREADS];
	git_worker w[GIT_THREADS];

	(void)state;
	assert_int_equal(suite_open(&b), 0);
	for (int i = 0; i < GIT_THREADS; i++) {
		w[i] = (git_worker){b, GIT_STEPS, 0};
		assert_int_equal(pthread_create(&th[i], NULL, git_cas_worker, &w[i]), 0);
	}
	for (int i = 0; i < GIT_THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].rc, 0);
	}
	assert_int_equal(chain_length(b, "refs/heads/counter"), GIT_THREADS * GIT_STEPS);
	b->free(b);
}

#define GIT_PROCS 3

static void test_git_processes_cas(void **state)
{
	char path[128];
	pid_t pids[GIT_PROCS];
	gkv_backend *b;

	(void)state;
	b = open_ok(new_path(path, sizeof(path)), GKV_GIT_CREATE);
	b->free(b);
	fflush(NULL);
	for (int i = 0; i < GIT_PROCS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			git_worker w = {NULL, GIT_STEPS, 0};

			if (gkv_backend_git_open(&w.b, path, 0) < 0)
				_exit(2);
			git_cas_worker(&w);
			w.b->free(w.b);
			_exit(w.rc == 0 ? 0 : 1);
		}
	}
	for (int i = 0; i < GIT_PROCS; i++) {
		int st = 0;

		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	b = open_ok(path, 0);
	assert_int_equal(chain_length(b, "refs/heads/counter"), GIT_PROCS * GIT_STEPS);
	b->free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_git_objects),
	    cmocka_unit_test(test_git_foreach_prefixes),
	    cmocka_unit_test(test_git_ref_cas),
	    cmocka_unit_test(test_git_ref_list_packed_and_tags),
	    cmocka_unit_test(test_git_batch_atomic),
	    cmocka_unit_test(test_git_lock_file_conflict),
	    cmocka_unit_test(test_git_pack_for_large_batch),
	    cmocka_unit_test(test_git_batch_write_pack),
	    cmocka_unit_test(test_git_large_batch_streams),
	    cmocka_unit_test(test_git_fsync_flag),
	    cmocka_unit_test(test_git_corrupt_objects),
	    cmocka_unit_test(test_git_open_and_detect),
	    cmocka_unit_test(test_git_threads_cas),
	    cmocka_unit_test(test_git_processes_cas),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
