/*
 * test_backend_lmdb.c -- the LMDB backend through its vtable: the shared
 * backend suite (backend_suite.h) on a fresh environment per test, plus
 * what only a disk backend has: reopening, read-only handles, detection,
 * format checks, corrupt stored values (planted with the LMDB API), map
 * growth (GKV_LMDB_INITIAL_MAPSIZE makes it start tiny), a full disk
 * (RLIMIT_FSIZE), several processes CASing one ref, and read throughput.
 * The writable map (GKV_LMDB_WRITEMAP): allocated on disk after open and
 * growth, GKV_E_FULL and no signal under RLIMIT_FSIZE and on a really
 * full (tmpfs) disk, and processes without the map sharing the env.
 *
 * Every environment lives under one mkdtemp directory, removed at the end.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>
#include <zlib.h>

#include "backend_suite.h"
#include "crc32c.h"

static char root[64];
static int env_counter;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A fresh path under root (not created). */
static const char *new_path(char *buf, size_t size)
{
	snprintf(buf, size, "%s/env%d", root, env_counter++);
	return buf;
}

static int suite_open(gkv_backend **out)
{
	char path[128];

	/* No fsync: these tests are about semantics, not durability. */
	return gkv_backend_lmdb_open(out, new_path(path, sizeof(path)),
				     GKV_LMDB_CREATE | GKV_LMDB_NOSYNC);
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
	snprintf(root, sizeof(root), "/tmp/gkv-lmdb-test-XXXXXX");
	return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static gkv_backend *open_ok(const char *path, unsigned int flags)
{
	gkv_backend *b = NULL;
	int rc = gkv_backend_lmdb_open(&b, path, flags);

	if (rc != 0)
		print_message("open %s: %s\n", path, gkv_error_last());
	assert_int_equal(rc, 0);
	assert_string_equal(b->name, "lmdb");
	return b;
}

/* ---- persistence and opening ---- */

static void test_reopen_persists(void **state)
{
	char path[128];
	gkv_backend *b;
	gkv_oid id, got;

	(void)state;
	new_path(path, sizeof(path));
	make_id(&id, 1);
	b = open_ok(path, GKV_LMDB_CREATE); /* full durability */
	assert_int_equal(put_obj(b, &id, GKV_OBJ_BLOB, "kept", 4), 0);
	assert_int_equal(b->ref_cas(b, "refs/heads/main", NULL, &id), 0);
	b->free(b);
	b = open_ok(path, 0);
	assert_obj(b, &id, GKV_OBJ_BLOB, "kept", 4);
	assert_int_equal(b->ref_read(&got, b, "refs/heads/main"), 0);
	assert_memory_equal(got.id, id.id, GKV_OID_RAWSZ);
	b->free(b);
	/* CREATE on an existing environment opens it as it is. */
	b = open_ok(path, GKV_LMDB_CREATE);
	assert_obj(b, &id, GKV_OBJ_BLOB, "kept", 4);
	b->free(b);
}

static void test_open_errors(void **state)
{
	char path[128], file[160];
	gkv_backend *b = NULL;
	int fd;

	(void)state;
	new_path(path, sizeof(path));
	assert_int_equal(gkv_backend_lmdb_open(&b, path, 0), GKV_E_NOTFOUND);
	assert_non_null(strstr(gkv_error_last(), path));
	assert_int_equal(gkv_backend_lmdb_open(&b, path, GKV_LMDB_READONLY | GKV_LMDB_CREATE),
			 GKV_E_NOTFOUND);
	assert_int_equal(mkdir(path, 0777), 0);
	assert_int_equal(gkv_backend_lmdb_open(&b, path, 0), GKV_E_NOTFOUND);
	snprintf(file, sizeof(file), "%s/plain", path);
	assert_true((fd = open(file, O_CREAT | O_WRONLY, 0644)) >= 0);
	close(fd);
	assert_int_equal(gkv_backend_lmdb_open(&b, file, GKV_LMDB_CREATE), GKV_E_INVALID);
	assert_non_null(strstr(gkv_error_last(), file));
	assert_int_equal(gkv_backend_lmdb_open(&b, path, 1u << 9), GKV_E_INVALID);
	assert_int_equal(gkv_backend_lmdb_open(&b, "", GKV_LMDB_CREATE), GKV_E_INVALID);
	assert_null(b);
}

static void test_readonly(void **state)
{
	char path[128];
	gkv_backend *rw, *ro;
	gkv_batch *batch;
	gkv_oid id, got;

	(void)state;
	new_path(path, sizeof(path));
	make_id(&id, 2);
	rw = open_ok(path, GKV_LMDB_CREATE | GKV_LMDB_NOSYNC);
	assert_int_equal(put_obj(rw, &id, GKV_OBJ_BLOB, "ro", 2), 0);
	assert_int_equal(rw->ref_cas(rw, "refs/heads/main", NULL, &id), 0);
	/* A read-only handle beside a writable one in this process. */
	ro = open_ok(path, GKV_LMDB_READONLY);
	assert_int_equal(ro->batch_begin(&batch, ro), GKV_E_READONLY);
	assert_non_null(strstr(gkv_error_last(), path));
	assert_int_equal(ro->ref_cas(ro, "refs/heads/main", &id, NULL), GKV_E_READONLY);
	rw->free(rw);
	assert_obj(ro, &id, GKV_OBJ_BLOB, "ro", 2);
	ro->free(ro);
	/* Alone, opened MDB_RDONLY. */
	ro = open_ok(path, GKV_LMDB_READONLY);
	assert_obj(ro, &id, GKV_OBJ_BLOB, "ro", 2);
	assert_int_equal(ro->ref_read(&got, ro, "refs/heads/main"), 0);
	assert_int_equal(ro->ref_cas(ro, "refs/heads/x", NULL, &id), GKV_E_READONLY);
	assert_int_equal(ro->batch_begin(&batch, ro), GKV_E_READONLY);
	/* The env is read-only in this process until that handle closes. */
	assert_int_equal(gkv_backend_lmdb_open(&rw, path, 0), GKV_E_READONLY);
	ro->free(ro);
	rw = open_ok(path, 0);
	rw->free(rw);
}

/* Two handles on one directory share one MDB_env (LMDB's locks are per
 * process); each keeps working when the other closes. */
static void test_two_handles(void **state)
{
	char path[128];
	gkv_backend *a, *b;
	gkv_oid x, y;

	(void)state;
	new_path(path, sizeof(path));
	make_id(&x, 3);
	make_id(&y, 4);
	a = open_ok(path, GKV_LMDB_CREATE | GKV_LMDB_NOSYNC);
	b = open_ok(path, 0);
	assert_int_equal(put_obj(a, &x, GKV_OBJ_BLOB, "a", 1), 0);
	assert_obj(b, &x, GKV_OBJ_BLOB, "a", 1);
	a->free(a);
	assert_int_equal(put_obj(b, &y, GKV_OBJ_BLOB, "b", 1), 0);
	a = open_ok(path, GKV_LMDB_NOSYNC);
	assert_obj(a, &y, GKV_OBJ_BLOB, "b", 1);
	b->free(b);
	a->free(a);
}

/* ---- detection and format ---- */

static void make_plain_lmdb(const char *path, bool with_db)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;

	assert_int_equal(mkdir(path, 0777), 0);
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 4), 0);
	assert_int_equal(mdb_env_open(env, path, 0, 0644), 0);
	if (with_db) {
		assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
		assert_int_equal(mdb_dbi_open(txn, "other", MDB_CREATE, &dbi), 0);
		assert_int_equal(mdb_txn_commit(txn), 0);
	}
	mdb_env_close(env);
}

static void test_detect(void **state)
{
	char path[128], file[160], junk[128], plain[128];
	gkv_backend *b;
	int fd;

	(void)state;
	new_path(path, sizeof(path));
	assert_int_equal(gkv_backend_lmdb_detect(path), 0); /* absent */
	b = open_ok(path, GKV_LMDB_CREATE | GKV_LMDB_NOSYNC);
	assert_int_equal(gkv_backend_lmdb_detect(path), 1); /* open here */
	b->free(b);
	assert_int_equal(gkv_backend_lmdb_detect(path), 1); /* closed */
	b = open_ok(path, 0);				    /* and detect left it usable */
	b->free(b);
	/* an empty directory, a random file, junk named data.mdb */
	new_path(junk, sizeof(junk));
	assert_int_equal(mkdir(junk, 0777), 0);
	assert_int_equal(gkv_backend_lmdb_detect(junk), 0);
	snprintf(file, sizeof(file), "%s/data.mdb", junk);
	assert_true((fd = open(file, O_CREAT | O_WRONLY, 0644)) >= 0);
	assert_int_equal(write(fd, "not an lmdb file at all, just some bytes", 40), 40);
	close(fd);
	assert_int_equal(gkv_backend_lmdb_detect(file), 0);
	assert_int_equal(gkv_backend_lmdb_detect(junk), 0);
	assert_int_equal(gkv_backend_lmdb_open(&b, junk, 0), GKV_E_CORRUPT);
	/* an LMDB environment made by someone else */
	new_path(plain, sizeof(plain));
	make_plain_lmdb(plain, true);
	assert_int_equal(gkv_backend_lmdb_detect(plain), 0);
	assert_int_equal(gkv_backend_lmdb_open(&b, plain, GKV_LMDB_CREATE), GKV_E_CORRUPT);
	assert_non_null(strstr(gkv_error_last(), plain));
}

/* Put raw bytes into one of the environment's databases, behind gitkv. */
/* Put a value into a format-3 store with its checksum (CRC-32 of key and
 * value, little-endian), as gitkv would, so that a planted value tests
 * the decoder behind the checksum; "meta" has none. */
static void plant(const char *path, const char *db, const void *key, size_t klen, const void *val,
		  size_t vlen)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	unsigned char rec[8192];
	uint32_t crc = gkv__crc32c(gkv__crc32c(0, key, klen), val, vlen);
	size_t tail = strcmp(db, "meta") != 0 ? 4 : 0; /* meta has no checksums */
	MDB_val k = {klen, (void *)key}, v = {vlen + tail, rec};

	assert_true(vlen + 4 <= sizeof(rec));
	memcpy(rec, val, vlen);
	for (size_t i = 0; i < tail; i++)
		rec[vlen + i] = (unsigned char)(crc >> (8 * i));

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 4), 0);
	assert_int_equal(mdb_env_open(env, path, 0, 0644), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static void expect_corrupt(gkv_backend *b, const gkv_oid *id)
{
	char hex[GKV_OID_HEXSZ + 1];
	void *data = NULL;
	size_t len;
	gkv_otype type;

	hex_of(hex, id);
	assert_int_equal(b->read(&data, &len, &type, b, id), GKV_E_CORRUPT);
	assert_non_null(strstr(gkv_error_last(), hex));
	assert_null(data);
}

static void test_corrupt_values(void **state)
{
	char path[128];
	unsigned char val[64 + 9], src[4000];
	uLongf clen = 64;
	gkv_backend *b;
	gkv_oid ids[7];

	(void)state;
	new_path(path, sizeof(path));
	for (int i = 0; i < 7; i++)
		make_id(&ids[i], 500 + i);
	b = open_ok(path, GKV_LMDB_CREATE | GKV_LMDB_NOSYNC);
	assert_int_equal(put_obj(b, &ids[0], GKV_OBJ_BLOB, "fine", 4), 0);
	b->free(b);
	plant(path, "objects", ids[1].id, 20, "", 0); /* empty */
	plant(path, "objects", ids[2].id, 20,
	      "\x0f"
	      "abc",
	      4); /* bad type */
	plant(path, "objects", ids[3].id, 20,
	      "\x83"
	      "\1\0",
	      3); /* truncated */
	plant(path, "objects", ids[4].id, 20,
	      "\x83"
	      "\xa0\x0f\0\0\0\0\0\0"
	      "garbage!",
	      17);
	/* a real zlib stream whose recorded length is wrong */
	memset(src, 'a', sizeof(src));
	assert_int_equal(compress2(val + 9, &clen, src, sizeof(src), 9), Z_OK);
	val[0] = 0x83;
	memcpy(val + 1, "\x9f\x0f\0\0\0\0\0\0", 8); /* 3999, not 4000 */
	plant(path, "objects", ids[5].id, 20, val, 9 + clen);
	memcpy(val + 1, "\xff\xff\xff\xff\xff\xff\0\0", 8); /* absurd */
	plant(path, "objects", ids[6].id, 20, val, 9 + clen);
	b = open_ok(path, 0);
	assert_obj(b, &ids[0], GKV_OBJ_BLOB, "fine", 4);
	for (int i = 1; i < 7; i++)
		expect_corrupt(b, &ids[i]);
	/* the same stream with the right length reads */
	memcpy(val + 1, "\xa0\x0f\0\0\0\0\0\0", 8);
	b->free(b);
	plant(path, "objects", ids[5].id, 20, val, 9 + clen);
	plant(path, "refs", "refs/heads/bad", 14, "short", 5);
	b = open_ok(path, 0);
	assert_obj(b, &ids[5], GKV_OBJ_BLOB, src, sizeof(src));
	assert_int_equal(b->ref_read(&ids[0], b, "refs/heads/bad"), GKV_E_CORRUPT);
	b->free(b);
}

static void test_format_version(void **state)
{
	char path[128];
	gkv_backend *b;

	(void)state;
	new_path(path, sizeof(path));
	b = open_ok(path, GKV_LMDB_CREATE | GKV_LMDB_NOSYNC);
	b->free(b);
	plant(path, "meta", "version", 7, "99", 2);
	assert_int_equal(gkv_backend_lmdb_open(&b, path, 0), GKV_E_CORRUPT);
	assert_non_null(strstr(gkv_error_last(), "version '99'"));
	assert_int_equal(gkv_backend_lmdb_open(&b, path, GKV_LMDB_READONLY), GKV_E_CORRUPT);
	plant(path, "meta", "magic", 5, "someone-else", 12);
	assert_int_equal(gkv_backend_lmdb_detect(path), 0);
	assert_int_equal(gkv_backend_lmdb_open(&b, path, 0), GKV_E_CORRUPT);
}

/* ---- growth ---- */

#define CHUNK (128u << 10)

/* Write n random chunks, one batch each (small batches: MDB_MAP_FULL and
 * retry), or all in one batch (large: the map is grown beforehand). */
static void write_chunks(gkv_backend *b, uint64_t first, int n, bool one_batch)
{
	unsigned char *buf = malloc(CHUNK);
	gkv_batch *batch = NULL;
	gkv_oid id;

	assert_non_null(buf);
	for (int i = 0; i < n; i++) {
		if (!batch)
			assert_int_equal(b->batch_begin(&batch, b), 0);
		fill_random(buf, CHUNK, first + (uint64_t)i);
		make_id(&id, first + (uint64_t)i);
		assert_int_equal(b->batch_write(batch, &id, GKV_OBJ_BLOB, buf, CHUNK), 0);
		if (!one_batch || i == n - 1) {
			assert_int_equal(b->batch_commit(batch), 0);
			batch = NULL;
		}
	}
	free(buf);
}

static void check_chunks(gkv_backend *b, uint64_t first, int n)
{
	unsigned char *buf = malloc(CHUNK);
	gkv_oid id;

	assert_non_null(buf);
	for (int i = 0; i < n; i += 7) {
		fill_random(buf, CHUNK, first + (uint64_t)i);
		make_id(&id, first + (uint64_t)i);
		assert_obj(b, &id, GKV_OBJ_BLOB, buf, CHUNK);
	}
	free(buf);
}

static void test_map_growth(void **state)
{
	char path[128];
	gkv_backend *b;
	pid_t pid;
	int status;

	(void)state;
	setenv("GKV_LMDB_INITIAL_MAPSIZE", "1M", 1);
	new_path(path, sizeof(path));
	b = open_ok(path, GKV_LMDB_CREATE | GKV_LMDB_NOSYNC);
	write_chunks(b, 10000, 60, false); /* 7.5 MiB, batch by batch */
	write_chunks(b, 20000, 80, true);  /* 10 MiB, one batch */
	check_chunks(b, 10000, 60);
	check_chunks(b, 20000, 80);
	/* Another process grows the map far past ours: we adopt its size. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		gkv_backend *c;

		if (gkv_backend_lmdb_open(&c, path, GKV_LMDB_NOSYNC) != 0)
			_exit(1);
		write_chunks(c, 30000, 200, true); /* 25 MiB */
		c->free(c);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	check_chunks(b, 30000, 200);
	write_chunks(b, 40000, 8, false);
	b->free(b);
	unsetenv("GKV_LMDB_INITIAL_MAPSIZE");
	b = open_ok(path, 0);
	check_chunks(b, 10000, 60);
	check_chunks(b, 30000, 200);
	check_chunks(b, 40000, 8);
	b->free(b);
}

/* ---- a full disk ---- */

static off_t file_size(const char *dir)
{
	char p[160];
	struct stat st;

	snprintf(p, sizeof(p), "%s/data.mdb", dir);
	return stat(p, &st) == 0 ? st.st_size : -1;
}

/* In a child (the limit is per process): returns the exit status. */
static int full_disk_child(const char *path)
{
	struct rlimit old, lim;
	gkv_backend *b;
	gkv_batch *batch;
	unsigned char *big = malloc(4u << 20);
	gkv_oid small, large, got;
	int rc;

	make_id(&small, 1);
	make_id(&large, 2);
	fill_random(big, 4u << 20, 9);
	if (!big || gkv_backend_lmdb_open(&b, path, GKV_LMDB_CREATE) != 0)
		return 10;
	if (put_obj(b, &small, GKV_OBJ_BLOB, "before", 6) != 0 ||
	    b->ref_cas(b, "refs/heads/main", NULL, &small) != 0)
		return 11;
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = (rlim_t)file_size(path) + (256u << 10);
	setrlimit(RLIMIT_FSIZE, &lim);
	if (b->batch_begin(&batch, b) != 0 ||
	    b->batch_write(batch, &large, GKV_OBJ_BLOB, big, 4u << 20) != 0 ||
	    b->batch_ref_cas(batch, "refs/heads/main", &small, &large) != 0)
		return 12;
	rc = b->batch_commit(batch);
	if (rc != GKV_E_FULL && rc != GKV_E_IO)
		return 13;
	if (!strstr(gkv_error_last(), path))
		return 14;
	/* A batch already failed leaves nothing behind; a small write may
	 * still fit, a large one fails the same way again. */
	if (put_obj(b, &large, GKV_OBJ_BLOB, big, 4u << 20) != rc)
		return 17;
	/* The store is as it was. */
	if (b->exists(b, &large) != 0 || b->ref_read(&got, b, "refs/heads/main") != 0 ||
	    memcmp(got.id, small.id, GKV_OID_RAWSZ) != 0)
		return 15;
	setrlimit(RLIMIT_FSIZE, &old);
	if (put_obj(b, &large, GKV_OBJ_BLOB, big, 4u << 20) != 0 || b->exists(b, &large) != 1)
		return 16;
	b->free(b);
	free(big);
	return rc == GKV_E_FULL ? 0 : 1;
}

/* Run child on path in a process of its own (a file-size limit is the
 * process's); it returns 0 when all it checked held. */
static void in_child(int (*child)(const char *path), const char *path)
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child(path));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_full_disk(void **state)
{
	char path[128];
	gkv_backend *b;
	gkv_oid small;

	(void)state;
	in_child(full_disk_child, new_path(path, sizeof(path))); /* 1: GKV_E_IO, not GKV_E_FULL */
	make_id(&small, 1);
	b = open_ok(path, 0);
	assert_obj(b, &small, GKV_OBJ_BLOB, "before", 6);
	b->free(b);
}

/* ---- a writable map (GKV_LMDB_WRITEMAP) ---- */

#define WM_FLAGS (GKV_LMDB_CREATE | GKV_LMDB_NOSYNC | GKV_LMDB_WRITEMAP)
#define WM_VALUE (16u << 10)

/* data.mdb's size (a writable map's size) and its allocated bytes. */
static void data_usage(const char *dir, off_t *size, off_t *allocated)
{
	char p[160];
	struct stat st;

	snprintf(p, sizeof(p), "%s/data.mdb", dir);
	assert_int_equal(stat(p, &st), 0);
	*size = st.st_size;
	*allocated = (off_t)st.st_blocks * 512;
}

/* The map is allocated on disk, whole: no hole for a write to fault on. */
static void assert_map_allocated(const char *dir, off_t at_least)
{
	off_t size, allocated;

	data_usage(dir, &size, &allocated);
	if (size < at_least || allocated < size)
		print_message("%s: data.mdb %lld bytes, %lld allocated, want >= %lld\n", dir,
			      (long long)size, (long long)allocated, (long long)at_least);
	assert_true(size >= at_least);
	assert_true(allocated >= size);
}

/* First thing in a forked child: a fault must end it, for the parent to
 * see, not land in cmocka's handlers and resume the parent's tests. */
static void child_signals(void)
{
	static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
}

/* Commit i: a WM_VALUE object (seed base + i) and main moved onto it, in
 * one batch, as a store commit does. */
static int wm_commit(gkv_backend *b, uint64_t base, int i)
{
	unsigned char *buf = malloc(WM_VALUE);
	gkv_batch *batch;
	gkv_oid id, prev;
	int rc;

	if (!buf)
		return GKV_E_NOMEM;
	fill_random(buf, WM_VALUE, base + (uint64_t)i);
	make_id(&id, base + (uint64_t)i);
	make_id(&prev, base + (uint64_t)i - 1);
	if ((rc = b->batch_begin(&batch, b)) < 0) {
		free(buf);
		return rc;
	}
	rc = b->batch_write(batch, &id, GKV_OBJ_BLOB, buf, WM_VALUE);
	if (rc == 0)
		rc = b->batch_ref_cas(batch, "refs/heads/main", i ? &prev : NULL, &id);
	free(buf);
	if (rc < 0) {
		b->batch_abort(batch);
		return rc;
	}
	return b->batch_commit(batch);
}

/* Exactly commits 0..n-1 made it: their objects, main on the last, and
 * commit n absent. 0 or the first failing check (for forked children). */
static int wm_check(gkv_backend *b, uint64_t base, int n)
{
	unsigned char *want = malloc(WM_VALUE);
	gkv_oid id, got;
	int rc = 0;

	for (int i = 0; rc == 0 && i < n; i++) {
		void *data;
		size_t len;
		gkv_otype type;

		fill_random(want, WM_VALUE, base + (uint64_t)i);
		make_id(&id, base + (uint64_t)i);
		if (b->read(&data, &len, &type, b, &id) != 0)
			rc = 1;
		else if (len != WM_VALUE || type != GKV_OBJ_BLOB || memcmp(data, want, len) != 0)
			rc = 2;
		if (rc != 1)
			gkv_backend_data_free(data);
	}
	make_id(&id, base + (uint64_t)n);
	if (rc == 0 && b->exists(b, &id) != 0)
		rc = 3;
	if (rc == 0 && n > 0) {
		make_id(&id, base + (uint64_t)n - 1);
		if (b->ref_read(&got, b, "refs/heads/main") != 0 ||
		    memcmp(got.id, id.id, GKV_OID_RAWSZ) != 0)
			rc = 4;
	}
	free(want);
	return rc;
}

/*
 * The map starts small (256k here), is allocated on disk after open and
 * after every growth (batch by batch: MDB_MAP_FULL and doubling; one big
 * batch: gkv__lmdb_reserve_map), and everything reads back after reopen,
 * with and without the map. A second handle of this process asking for
 * full durability shares the mapped env and works.
 */
static void test_writemap_allocated(void **state)
{
	char path[128];
	gkv_backend *b, *full;

	(void)state;
	setenv("GKV_LMDB_INITIAL_MAPSIZE", "256k", 1);
	new_path(path, sizeof(path));
	b = open_ok(path, WM_FLAGS);
	assert_map_allocated(path, 256 << 10);
	write_chunks(b, 50000, 40, false); /* 5 MiB: the map doubles five times */
	assert_map_allocated(path, 5 << 20);
	write_chunks(b, 51000, 40, true); /* 5 MiB more in one batch */
	assert_map_allocated(path, 10 << 20);
	full = open_ok(path, 0); /* FULL durability: msync on the shared map */
	write_chunks(full, 52000, 8, false);
	check_chunks(b, 52000, 8);
	full->free(full);
	assert_int_equal(wm_commit(b, 7000, 0), 0);
	b->free(b);
	unsetenv("GKV_LMDB_INITIAL_MAPSIZE");
	b = open_ok(path, 0); /* plain */
	check_chunks(b, 50000, 40);
	check_chunks(b, 51000, 40);
	check_chunks(b, 52000, 8);
	assert_int_equal(wm_check(b, 7000, 1), 0);
	b->free(b);
	b = open_ok(path, GKV_LMDB_WRITEMAP); /* mapped again, never below the file */
	assert_map_allocated(path, 10 << 20);
	check_chunks(b, 50000, 40);
	assert_int_equal(wm_commit(b, 7000, 1), 0);
	assert_int_equal(wm_check(b, 7000, 2), 0);
	b->free(b);
}

/*
 * A handle asking for the map on an env this process opened without it
 * shares the env as opened: pwrite, data.mdb no larger than its data
 * (a mapped env's file is the whole map, 256k here).
 */
static void test_writemap_shared_as_opened(void **state)
{
	char path[128];
	gkv_backend *plain, *mapped;
	off_t size, allocated;

	(void)state;
	setenv("GKV_LMDB_INITIAL_MAPSIZE", "256k", 1);
	new_path(path, sizeof(path));
	plain = open_ok(path, GKV_LMDB_CREATE | GKV_LMDB_NOSYNC);
	mapped = open_ok(path, GKV_LMDB_NOSYNC | GKV_LMDB_WRITEMAP);
	assert_int_equal(wm_commit(mapped, 7200, 0), 0);
	assert_int_equal(wm_check(plain, 7200, 1), 0);
	data_usage(path, &size, &allocated);
	assert_true(size < (256 << 10));
	mapped->free(mapped);
	plain->free(plain);
	unsetenv("GKV_LMDB_INITIAL_MAPSIZE");
}

/*
 * RLIMIT_FSIZE stands for a full disk: commits go on until the map must
 * grow past the limit; that one fails with GKV_E_FULL, not SIGBUS or
 * SIGXFSZ (ignored, as a process setting a file-size limit would), and so
 * does a retry; reads keep working. Exit 0 means all that held; the
 * number of commits made goes down the pipe.
 */
static int wm_fsize_child(const char *path, int out)
{
	struct rlimit lim;
	gkv_backend *b;
	off_t size, allocated;
	int n, rc = 0;

	if (gkv_backend_lmdb_open(&b, path, WM_FLAGS) != 0)
		return 10;
	data_usage(path, &size, &allocated);
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &lim);
	lim.rlim_cur = (rlim_t)size + (64u << 10); /* less than a doubling */
	if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
		return 11;
	for (n = 0; n < 1000 && (rc = wm_commit(b, 8000, n)) == 0; n++)
		;
	if (rc != GKV_E_FULL)
		return 12;
	if (!strstr(gkv_error_last(), path) || !strstr(gkv_error_last(), "disk full"))
		return 13;
	if (n < 4)
		return 14; /* the map did not even fill once */
	if (wm_check(b, 8000, n) != 0)
		return 15;
	if (wm_commit(b, 8000, n) != GKV_E_FULL)
		return 16;
	if (write(out, &n, sizeof(n)) != (ssize_t)sizeof(n))
		return 17;
	b->free(b);
	return 0;
}

static void test_writemap_fsize_limit(void **state)
{
	char path[128];
	gkv_backend *b;
	int fds[2], n = -1, status;
	pid_t pid;

	(void)state;
	setenv("GKV_LMDB_INITIAL_MAPSIZE", "256k", 1);
	new_path(path, sizeof(path));
	assert_int_equal(pipe(fds), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		child_signals();
		_exit(wm_fsize_child(path, fds[1]));
	}
	close(fds[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	unsetenv("GKV_LMDB_INITIAL_MAPSIZE");
	if (WIFSIGNALED(status))
		print_message("writemap child killed by signal %d\n", WTERMSIG(status));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(read(fds[0], &n, sizeof(n)), (ssize_t)sizeof(n));
	close(fds[0]);
	/* The store opens (mapped or not) and holds exactly those commits. */
	b = open_ok(path, 0);
	assert_int_equal(wm_check(b, 8000, n), 0);
	b->free(b);
	b = open_ok(path, GKV_LMDB_NOSYNC | GKV_LMDB_WRITEMAP);
	assert_int_equal(wm_check(b, 8000, n), 0);
	assert_int_equal(wm_commit(b, 8000, n), 0); /* room again: writes work */
	b->free(b);
}

/*
 * A real full disk: a 2 MiB tmpfs in a private mount namespace (root or
 * an unprivileged user namespace; skipped where neither is allowed).
 * Without the reservation, LMDB's sparse map would take SIGBUS here.
 * Phase 1: commits until ENOSPC at a growth; GKV_E_FULL; reads work;
 * after reopening, exactly the commits made. Phase 2: on the full disk,
 * the store opened with a map larger than the room left cannot reserve
 * it: it still opens and reads, and writes are GKV_E_FULL.
 */
#define WM_SKIP 77

static int wm_enospc_child(const char *dir)
{
	char path[160];
	gkv_backend *b;
	int n, rc = 0;

	if (unshare(CLONE_NEWNS) != 0 && unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
		return WM_SKIP;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    mount("gkv-test", dir, "tmpfs", 0, "size=2m") != 0)
		return WM_SKIP;
	snprintf(path, sizeof(path), "%s/env", dir);
	setenv("GKV_LMDB_INITIAL_MAPSIZE", "256k", 1);
	if (gkv_backend_lmdb_open(&b, path, WM_FLAGS) != 0)
		return 10;
	for (n = 0; n < 1000 && (rc = wm_commit(b, 9000, n)) == 0; n++)
		;
	if (rc != GKV_E_FULL)
		return 11;
	if (!strstr(gkv_error_last(), "reserve"))
		return 12;
	if (n < 8 || wm_check(b, 9000, n) != 0)
		return 13;
	if (wm_commit(b, 9000, n) != GKV_E_FULL)
		return 14;
	b->free(b);
	if (gkv_backend_lmdb_open(&b, path, 0) != 0 || wm_check(b, 9000, n) != 0)
		return 15;
	b->free(b);
	setenv("GKV_LMDB_INITIAL_MAPSIZE", "4m", 1);
	if (gkv_backend_lmdb_open(&b, path, GKV_LMDB_NOSYNC | GKV_LMDB_WRITEMAP) != 0)
		return 16;
	if (wm_check(b, 9000, n) != 0)
		return 17;
	if (wm_commit(b, 9000, n) != GKV_E_FULL || !strstr(gkv_error_last(), "reserve"))
		return 18;
	if (wm_check(b, 9000, n) != 0)
		return 19;
	b->free(b);
	return 0;
}

static void test_writemap_enospc(void **state)
{
	char dir[128];
	int status;
	pid_t pid;

	(void)state;
	new_path(dir, sizeof(dir));
	assert_int_equal(mkdir(dir, 0777), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		child_signals();
		_exit(wm_enospc_child(dir));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		print_message("writemap child killed by signal %d\n", WTERMSIG(status));
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == WM_SKIP) {
		print_message("no private tmpfs here (mount namespaces refused): skipped\n");
		skip();
	}
	assert_int_equal(WEXITSTATUS(status), 0);
}

/*
 * Processes not using the map share the env with one that does: a child
 * without it reads the mapped parent's commits and writes its own, growing
 * the map far past the parent's; the parent adopts that size (allocating
 * it), reads the child's data and writes on; a second child reads that.
 */
static int wm_plain_child(const char *path, uint64_t first, int n, uint64_t check_first,
			  int check_n)
{
	gkv_backend *c;

	if (gkv_backend_lmdb_open(&c, path, GKV_LMDB_NOSYNC) != 0)
		return 1;
	if (wm_check(c, 7100, 3) != 0)
		return 2;
	for (int i = 0; i < n; i++) {
		unsigned char buf[512];
		gkv_oid id;

		fill_random(buf, sizeof(buf), first + (uint64_t)i);
		make_id(&id, first + (uint64_t)i);
		if (put_obj(c, &id, GKV_OBJ_BLOB, buf, sizeof(buf)) != 0)
			return 3;
	}
	if (check_n)
		check_chunks(c, check_first, check_n); /* cmocka assert: exits non-zero */
	c->free(c);
	return 0;
}

static void test_writemap_other_processes(void **state)
{
	char path[128];
	gkv_backend *b;
	pid_t pid;
	int status;

	(void)state;
	setenv("GKV_LMDB_INITIAL_MAPSIZE", "256k", 1);
	new_path(path, sizeof(path));
	b = open_ok(path, WM_FLAGS);
	for (int i = 0; i < 3; i++)
		assert_int_equal(wm_commit(b, 7100, i), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		gkv_backend *c;
		int rc;

		child_signals();
		rc = wm_plain_child(path, 60000, 100, 0, 0);

		/* and 12 MiB in one batch: its map grows far past ours */
		if (rc == 0 && gkv_backend_lmdb_open(&c, path, GKV_LMDB_NOSYNC) == 0) {
			write_chunks(c, 61000, 96, true);
			c->free(c);
		}
		_exit(rc);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	check_chunks(b, 61000, 96); /* MDB_MAP_RESIZED: adopt and allocate */
	for (int i = 0; i < 100; i += 9) {
		unsigned char buf[512];
		gkv_oid id;

		fill_random(buf, sizeof(buf), 60000 + (uint64_t)i);
		make_id(&id, 60000 + (uint64_t)i);
		assert_obj(b, &id, GKV_OBJ_BLOB, buf, sizeof(buf));
	}
	write_chunks(b, 62000, 16, false);
	assert_map_allocated(path, 14 << 20);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		child_signals();
		_exit(wm_plain_child(path, 63000, 10, 62000, 16));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	b->free(b);
	unsetenv("GKV_LMDB_INITIAL_MAPSIZE");
}

/* ---- several processes on one environment ---- */

#define PROCS 4
#define PROC_STEPS 150

static void test_processes_cas(void **state)
{
	char path[128];
	gkv_backend *b;
	pid_t pids[PROCS];
	int status;

	(void)state;
	new_path(path, sizeof(path));
	b = open_ok(path, GKV_LMDB_CREATE | GKV_LMDB_NOSYNC);
	fflush(NULL);
	for (int p = 0; p < PROCS; p++) {
		pids[p] = fork();
		assert_true(pids[p] >= 0);
		if (pids[p] == 0) {
			gkv_backend *c;
			int rc = gkv_backend_lmdb_open(&c, path, GKV_LMDB_NOSYNC);

			for (int i = 0; rc == 0 && i < PROC_STEPS; i++)
				rc = cas_increment(c, "refs/heads/counter", 100 + (uint64_t)p,
						   (uint64_t)i);
			if (rc == 0)
				c->free(c);
			_exit(rc == 0 ? 0 : 1);
		}
	}
	/* The parent takes part too, with threads. */
	run_cas_threads(b);
	for (int p = 0; p < PROCS; p++) {
		assert_int_equal(waitpid(pids[p], &status, 0), pids[p]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	assert_int_equal(chain_length(b, "refs/heads/counter"),
			 CAS_THREADS * CAS_STEPS + PROCS * PROC_STEPS);
	b->free(b);
}

/* ---- throughput (figures printed, not asserted) ---- */

#define NREAD_OBJS 100000
#define NREADS 200000
#define READ_THREADS 2

typedef struct {
	gkv_backend *b;
	int seed;
	int rc;
} reader_args;

static void *reader(void *p)
{
	reader_args *r = p;
	uint64_t s = (uint64_t)r->seed;

	for (int i = 0; i < NREADS / READ_THREADS && r->rc == 0; i++) {
		gkv_oid id;
		void *data;
		size_t len;
		gkv_otype type;
		int k = (int)(splitmix(&s) % NREAD_OBJS);

		make_id(&id, (uint64_t)k);
		r->rc = r->b->read(&data, &len, &type, r->b, &id);
		if (r->rc == 0 && (len != 32 || memcmp(data, &k, sizeof(k)) != 0))
			r->rc = -100;
		if (r->rc == 0)
			gkv_backend_data_free(data);
	}
	return NULL;
}

/* Blob i of the large batches below: 1 MiB that does not compress. */
#define BIG_BLOB ((size_t)1 << 20)
static gkv_oid big_blob(unsigned char *buf, int i)
{
	uint64_t x = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
	gkv_oid id;

	for (size_t k = 0; k < BIG_BLOB; k += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(buf + k, &x, 8);
	}
	assert_int_equal(gkv_hash(&id, GKV_OBJ_BLOB, buf, BIG_BLOB), 0);
	return id;
}

static int last_txn_cb(const char *name, uint64_t value, void *payload)
{
	if (strcmp(name, "last_txn") == 0)
		*(uint64_t *)payload = value;
	return 0;
}

/* LMDB's last transaction id, from the backend's own figures. */
static uint64_t last_txn(gkv_backend *b)
{
	uint64_t v = 0;

	assert_int_equal(b->stats(b, last_txn_cb, &v), 0);
	return v;
}

/* The entries of directory path (., .. excepted). */
static int dir_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	closedir(d);
	return n;
}

/* Every one of the n big blobs from seed on is stored whole, or none is. */
static void assert_big_blobs(gkv_backend *b, unsigned char *buf, int seed, int n, int present)
{
	for (int i = 0; i < n; i++) {
		gkv_oid id = big_blob(buf, seed + i);
		void *data;
		size_t len;
		gkv_otype t;

		if (!present) {
			assert_int_equal(b->exists(b, &id), 0);
			continue;
		}
		assert_int_equal(b->read(&data, &len, &t, b, &id), 0);
		assert_int_equal(t, GKV_OBJ_BLOB);
		assert_int_equal(len, BIG_BLOB);
		(void)big_blob(buf, seed + i);
		assert_memory_equal(data, buf, BIG_BLOB);
		gkv_backend_data_free(data);
	}
}

/* Write the n big blobs from seed on to batch; the id of the last. */
static gkv_oid write_big_blobs(gkv_backend *b, gkv_batch *batch, unsigned char *buf, int seed,
			       int n)
{
	gkv_oid id;

	for (int i = 0; i < n; i++) {
		id = big_blob(buf, seed + i);
		assert_int_equal(b->batch_write(batch, &id, GKV_OBJ_BLOB, buf, BIG_BLOB), 0);
	}
	return id;
}

/*
 * A batch past 16 MiB of objects keeps them in a staging file of its own
 * (unnamed: the store's directory shows nothing) and stores nothing
 * before it commits: an abort or a refused CAS leaves the store as it
 * was, not a transaction more. At commit it stores them in several
 * transactions and moves its refs with the last; a gc that ran while the
 * batch was being built cannot take anything of it.
 */
static void test_large_batch_staged(void **state)
{
	char path[128];
	gkv_backend *b;
	gkv_batch *batch, *gc;
	unsigned char *buf = malloc(BIG_BLOB);
	gkv_oid head, got, last;
	uint64_t t0;

	(void)state;
	assert_non_null(buf);
	b = open_ok(new_path(path, sizeof(path)), GKV_LMDB_CREATE | GKV_LMDB_NOSYNC);

	/* aborted: nothing stored, no transaction, no file left */
	t0 = last_txn(b);
	assert_int_equal(b->batch_begin(&batch, b), 0);
	last = write_big_blobs(b, batch, buf, 0, 40);
	assert_int_equal(dir_entries(path), 2); /* data.mdb, lock.mdb */
	assert_int_equal(b->exists(b, &last), 0);
	b->batch_abort(batch);
	assert_int_equal(last_txn(b), t0);
	assert_big_blobs(b, buf, 0, 40, 0);

	/* committed: every object, read back whole, and the ref; the
	 * objects went in several transactions */
	assert_int_equal(b->batch_begin(&batch, b), 0);
	head = write_big_blobs(b, batch, buf, 0, 40);
	(void)write_big_blobs(b, batch, buf, 5, 3); /* written twice: stored once */
	assert_int_equal(b->exists(b, &head), 0);
	assert_int_equal(b->ref_read(&got, b, "refs/heads/big"), GKV_E_NOTFOUND);
	assert_int_equal(b->batch_ref_cas(batch, "refs/heads/big", NULL, &head), 0);
	assert_int_equal(b->batch_commit(batch), 0);
	assert_true(last_txn(b) >= t0 + 2);
	assert_int_equal(b->ref_read(&got, b, "refs/heads/big"), 0);
	assert_memory_equal(got.id, head.id, GKV_OID_RAWSZ);
	assert_big_blobs(b, buf, 0, 40, 1);
	assert_int_equal(dir_entries(path), 2);

	/* a CAS that cannot hold: refused before anything is stored */
	t0 = last_txn(b);
	assert_int_equal(b->batch_begin(&batch, b), 0);
	last = write_big_blobs(b, batch, buf, 100, 40);
	assert_int_equal(b->batch_ref_cas(batch, "refs/heads/big", NULL, &last), 0);
	assert_int_equal(b->batch_commit(batch), GKV_E_CONFLICT);
	assert_int_equal(last_txn(b), t0);
	assert_big_blobs(b, buf, 100, 40, 0);
	assert_int_equal(b->ref_read(&got, b, "refs/heads/big"), 0);
	assert_memory_equal(got.id, head.id, GKV_OID_RAWSZ);

	/* a gc while the batch is built removes what is unreferenced;
	 * the batch, half of it stored already, lands whole */
	assert_int_equal(b->batch_begin(&batch, b), 0);
	last = write_big_blobs(b, batch, buf, 20, 40); /* 20-39 stored, 40-59 new */
	assert_int_equal(b->batch_begin(&gc, b), 0);
	assert_int_equal(b->batch_delete(gc, &head), 0); /* blob 39 */
	assert_int_equal(b->batch_commit(gc), 0);
	assert_int_equal(b->exists(b, &head), 0);
	assert_int_equal(b->batch_ref_cas(batch, "refs/heads/big", &head, &last), 0);
	assert_int_equal(b->batch_commit(batch), 0);
	assert_big_blobs(b, buf, 0, 60, 1);
	assert_int_equal(b->ref_read(&got, b, "refs/heads/big"), 0);
	assert_memory_equal(got.id, last.id, GKV_OID_RAWSZ);

	/* a large batch that deletes: one that it also writes stays, the
	 * others go, all in one transaction */
	t0 = last_txn(b);
	assert_int_equal(b->batch_begin(&batch, b), 0);
	head = big_blob(buf, 0);
	got = big_blob(buf, 1);
	(void)write_big_blobs(b, batch, buf, 200, 20);
	assert_int_equal(b->batch_delete(batch, &head), 0);
	assert_int_equal(b->batch_delete(batch, &got), 0);
	(void)write_big_blobs(b, batch, buf, 0, 1);
	(void)write_big_blobs(b, batch, buf, 300, 20);
	assert_int_equal(b->batch_commit(batch), 0);
	assert_int_equal(last_txn(b), t0 + 1);
	assert_big_blobs(b, buf, 0, 1, 1);
	assert_int_equal(b->exists(b, &got), 0);
	assert_big_blobs(b, buf, 200, 20, 1);
	assert_big_blobs(b, buf, 300, 20, 1);
	b->free(b);

	/* what the commit stored is there for a new process */
	b = open_ok(path, GKV_LMDB_NOSYNC);
	assert_big_blobs(b, buf, 2, 58, 1);
	b->free(b);
	free(buf);
}

/* Many small records: a part of the commit lets go of the map's pages
 * every few thousand records, inside its transaction, while another
 * thread reads objects stored before; both see every byte right. */
#define MANY 24000
#define MANY_LEN 1000 /* below the size lmdb compresses: 24 MB of records */

typedef struct {
	gkv_backend *b;
	int stop; /* atomic */
	int reads, bad;
} many_reader;

static void many_value(unsigned char *p, int i)
{
	fill_random(p, MANY_LEN, (uint64_t)i + 77);
	memcpy(p, &i, sizeof(i));
}

static void *many_read(void *arg)
{
	many_reader *r = arg;
	unsigned char want[MANY_LEN];

	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE) || r->reads < 200) {
		int i = (r->reads * 7919) % 500; /* the 500 stored before */
		gkv_oid id;
		void *data;
		size_t len;
		gkv_otype t;

		make_id(&id, 500000 + (uint64_t)i);
		many_value(want, i);
		if (r->b->read(&data, &len, &t, r->b, &id) != 0 || len != MANY_LEN ||
		    memcmp(data, want, MANY_LEN) != 0)
			r->bad++;
		else
			gkv_backend_data_free(data);
		r->reads++;
	}
	return NULL;
}

static void test_large_batch_many_records(void **state)
{
	unsigned char val[MANY_LEN];
	many_reader r = {0};
	gkv_backend *b;
	gkv_batch *batch;
	pthread_t th;
	gkv_oid id;

	(void)state;
	assert_int_equal(suite_open(&b), 0);
	r.b = b;
	assert_int_equal(b->batch_begin(&batch, b), 0);
	for (int i = 0; i < 500; i++) {
		make_id(&id, 500000 + (uint64_t)i);
		many_value(val, i);
		assert_int_equal(b->batch_write(batch, &id, GKV_OBJ_BLOB, val, MANY_LEN), 0);
	}
	assert_int_equal(b->batch_commit(batch), 0);

	assert_int_equal(b->batch_begin(&batch, b), 0);
	for (int i = 0; i < MANY; i++) {
		make_id(&id, (uint64_t)i);
		many_value(val, i);
		assert_int_equal(b->batch_write(batch, &id, i % 3 ? GKV_OBJ_BLOB : GKV_OBJ_TREE, val,
						MANY_LEN), 0);
	}
	assert_int_equal(pthread_create(&th, NULL, many_read, &r), 0);
	assert_int_equal(b->batch_commit(batch), 0);
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(r.bad, 0);
	for (int i = 0; i < MANY; i++) {
		void *data;
		size_t len;
		gkv_otype t;

		make_id(&id, (uint64_t)i);
		many_value(val, i);
		assert_int_equal(b->read(&data, &len, &t, b, &id), 0);
		assert_int_equal(t, i % 3 ? GKV_OBJ_BLOB : GKV_OBJ_TREE);
		assert_int_equal(len, MANY_LEN);
		assert_memory_equal(data, val, MANY_LEN);
		gkv_backend_data_free(data);
	}
	b->free(b);
}

/* In a child: a staging file that meets a full disk fails the write to
 * the batch with GKV_E_FULL, and the store is as it was. */
static int staging_full_child(const char *path)
{
	struct rlimit old, lim;
	unsigned char *buf = malloc(BIG_BLOB);
	gkv_backend *b;
	gkv_batch *batch;
	gkv_oid id, got;
	uint64_t t0;
	int rc = 0, i;

	if (!buf || gkv_backend_lmdb_open(&b, path, GKV_LMDB_CREATE) != 0)
		return 10;
	t0 = last_txn(b);
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = 8u << 20; /* below the first spill's 16 MiB */
	setrlimit(RLIMIT_FSIZE, &lim);
	if (b->batch_begin(&batch, b) != 0)
		return 11;
	for (i = 0; i < 40 && rc == 0; i++) {
		id = big_blob(buf, i);
		rc = b->batch_write(batch, &id, GKV_OBJ_BLOB, buf, BIG_BLOB);
	}
	if (rc != GKV_E_FULL || !strstr(gkv_error_last(), "staging file") ||
	    !strstr(gkv_error_last(), path))
		return 12;
	b->batch_abort(batch);
	setrlimit(RLIMIT_FSIZE, &old);
	if (last_txn(b) != t0 || b->exists(b, &id) != 0 ||
	    b->ref_read(&got, b, "refs/heads/main") != GKV_E_NOTFOUND)
		return 13;
	b->free(b);
	free(buf);
	return 0;
}

/* A staging file that cannot be made (no file descriptor left) fails
 * the write that needed it with GKV_E_IO naming the store; the batch
 * keeps what it had, and once a descriptor is free again the same
 * batch goes on and lands whole (under LeakSanitizer: nothing of the
 * failed attempt leaks). */
static void test_staging_retry(void **state)
{
	unsigned char *buf = malloc(BIG_BLOB);
	char path[128];
	struct rlimit old, lim;
	gkv_backend *b;
	gkv_batch *batch;
	gkv_oid id;
	int rc = 0, i, next;

	(void)state;
	assert_non_null(buf);
	b = open_ok(new_path(path, sizeof(path)), GKV_LMDB_CREATE | GKV_LMDB_NOSYNC);
	assert_int_equal(b->batch_begin(&batch, b), 0);
	assert_true((next = dup(0)) >= 0);
	close(next);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)next; /* the next descriptor is past the limit */
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
	for (i = 0; i < 40 && rc == 0; i++) {
		id = big_blob(buf, 700 + i);
		rc = b->batch_write(batch, &id, GKV_OBJ_BLOB, buf, BIG_BLOB);
	}
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int_equal(rc, GKV_E_IO);
	assert_non_null(strstr(gkv_error_last(), "staging file"));
	assert_non_null(strstr(gkv_error_last(), path));
	for (; i < 40; i++) {
		id = big_blob(buf, 700 + i);
		assert_int_equal(b->batch_write(batch, &id, GKV_OBJ_BLOB, buf, BIG_BLOB), 0);
	}
	assert_int_equal(b->batch_ref_cas(batch, "refs/heads/main", NULL, &id), 0);
	assert_int_equal(b->batch_commit(batch), 0);
	assert_big_blobs(b, buf, 700, 40, 1);
	b->free(b);
	free(buf);
}

/* In a child: a disk that fills up half-way through a staged commit
 * (some parts stored) fails it with GKV_E_FULL; no ref moves, what was
 * stored before reads back, and with room again the same batch lands. */
static int commit_full_child(const char *path)
{
	struct rlimit old, lim;
	unsigned char *buf = malloc(BIG_BLOB);
	gkv_backend *b;
	gkv_batch *batch;
	gkv_oid head, got, last;
	int rc, n;

	if (!buf || gkv_backend_lmdb_open(&b, path, GKV_LMDB_CREATE | GKV_LMDB_NOSYNC) != 0)
		return 10;
	/* 30 MiB stored first */
	if (b->batch_begin(&batch, b) != 0)
		return 11;
	head = write_big_blobs(b, batch, buf, 1000, 30);
	if (b->batch_ref_cas(batch, "refs/heads/main", NULL, &head) != 0 ||
	    b->batch_commit(batch) != 0)
		return 12;
	/* a 40 MiB batch stages under the limit, but data.mdb cannot grow
	 * by all of it */
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = 60u << 20;
	setrlimit(RLIMIT_FSIZE, &lim);
	if (b->batch_begin(&batch, b) != 0)
		return 13;
	last = write_big_blobs(b, batch, buf, 2000, 40);
	if (b->batch_ref_cas(batch, "refs/heads/main", &head, &last) != 0)
		return 14;
	rc = b->batch_commit(batch);
	if (rc != GKV_E_FULL || !strstr(gkv_error_last(), path))
		return 15;
	if (b->ref_read(&got, b, "refs/heads/main") != 0 || memcmp(got.id, head.id, 20) != 0)
		return 16;
	/* the first part landed before the disk filled: there, referenced
	 * by nothing, until a gc */
	n = 0;
	for (int i = 0; i < 40; i++) {
		got = big_blob(buf, 2000 + i);
		n += b->exists(b, &got) == 1;
	}
	if (n == 0 || n == 40)
		return 20 + (n == 40);
	setrlimit(RLIMIT_FSIZE, &old);
	for (int i = 0; i < 30; i += 7) {
		gkv_oid id = big_blob(buf, 1000 + i);
		void *data;
		size_t len;
		gkv_otype t;

		if (b->read(&data, &len, &t, b, &id) != 0 || len != BIG_BLOB ||
		    memcmp(data, buf, BIG_BLOB) != 0)
			return 17;
		gkv_backend_data_free(data);
	}
	if (b->batch_begin(&batch, b) != 0)
		return 18;
	(void)write_big_blobs(b, batch, buf, 2000, 40);
	if (b->batch_ref_cas(batch, "refs/heads/main", &head, &last) != 0 ||
	    b->batch_commit(batch) != 0 || b->ref_read(&got, b, "refs/heads/main") != 0 ||
	    memcmp(got.id, last.id, 20) != 0)
		return 19;
	b->free(b);
	free(buf);
	return 0;
}

static void test_staged_commit_full(void **state)
{
	char path[128];

	(void)state;
	in_child(commit_full_child, new_path(path, sizeof(path)));
}

static void test_staging_full(void **state)
{
	char path[128];

	(void)state;
	in_child(staging_full_child, new_path(path, sizeof(path)));
}

static void test_throughput(void **state)
{
	gkv_backend *b;
	gkv_batch *batch;
	pthread_t th[READ_THREADS];
	reader_args r[READ_THREADS];
	unsigned char val[32] = {0};
	gkv_oid id;
	double t0, t1, t2;

	(void)state;
	assert_int_equal(suite_open(&b), 0);
	t0 = now();
	assert_int_equal(b->batch_begin(&batch, b), 0);
	for (int i = 0; i < NREAD_OBJS; i++) {
		make_id(&id, (uint64_t)i);
		memcpy(val, &i, sizeof(i));
		assert_int_equal(b->batch_write(batch, &id, GKV_OBJ_BLOB, val, sizeof(val)), 0);
	}
	assert_int_equal(b->batch_commit(batch), 0);
	t1 = now();
	for (int i = 0; i < READ_THREADS; i++) {
		r[i] = (reader_args){b, i + 1, 0};
		assert_int_equal(pthread_create(&th[i], NULL, reader, &r[i]), 0);
	}
	for (int i = 0; i < READ_THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(r[i].rc, 0);
	}
	t2 = now();
	print_message("lmdb: %d objects in one batch: %.0f writes/s; %d random reads on %d "
		      "threads: %.0f reads/s\n",
		      NREAD_OBJS, NREAD_OBJS / (t1 - t0), NREADS, READ_THREADS, NREADS / (t2 - t1));
	b->free(b);
}

static void test_durable_commits(void **state)
{
	char path[128];
	gkv_backend *b;
	double t0;

	(void)state;
	b = open_ok(new_path(path, sizeof(path)), GKV_LMDB_CREATE);
	t0 = now();
	for (int i = 0; i < 50; i++)
		assert_int_equal(cas_increment(b, "refs/heads/main", 1, (uint64_t)i), 0);
	print_message("lmdb: %.0f fsync'd small commits/s\n", 50 / (now() - t0));
	b->free(b);
	b = open_ok(path, 0);
	assert_int_equal(chain_length(b, "refs/heads/main"), 50);
	b->free(b);
}

/* ---- raw records ---- */

/* A record read from one store is written into another as it is, and
 * lands there as the object it encodes; a record that does not check
 * (damaged, under another id, of another type) is refused. */
static void test_raw_records(void **state)
{
	char pa[128], pb[128];
	unsigned char big[6000], *bad;
	gkv_backend *a, *b;
	gkv_batch *batch;
	gkv_oid ids[4], other;
	void *rec = NULL, *rec2 = NULL;
	size_t len = 0, len2 = 0;
	gkv_otype type = GKV_OBJ_ANY;

	(void)state;
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)("abcab"[i % 5] + (i / 500)); /* compresses */
	for (int i = 0; i < 4; i++)
		make_id(&ids[i], 900 + i);
	make_id(&other, 999);
	a = open_ok(new_path(pa, sizeof(pa)), GKV_LMDB_CREATE | GKV_LMDB_NOSYNC);
	b = open_ok(new_path(pb, sizeof(pb)), GKV_LMDB_CREATE | GKV_LMDB_NOSYNC);
	assert_non_null(a->raw_format);
	assert_string_equal(a->raw_format, b->raw_format);
	assert_int_equal(put_obj(a, &ids[0], GKV_OBJ_BLOB, big, sizeof(big)), 0);
	assert_int_equal(put_obj(a, &ids[1], GKV_OBJ_BLOB, "tiny", 4), 0);
	assert_int_equal(put_obj(a, &ids[2], GKV_OBJ_COMMIT, big, sizeof(big)), 0);

	/* the record, smaller than the blob: it is stored compressed */
	assert_int_equal(a->read_raw(&rec, &len, &type, a, &ids[0]), 0);
	assert_int_equal(type, GKV_OBJ_BLOB);
	assert_true(len < sizeof(big));
	assert_int_equal(a->read_raw(&rec2, &len2, &type, a, &ids[3]), GKV_E_NOTFOUND);
	assert_null(rec2);

	/* refused: no record, a bad type, another id, another type, a
	 * flipped byte, a cut record */
	assert_int_equal(b->batch_begin(&batch, b), 0);
	assert_int_equal(b->batch_write_raw(batch, &ids[0], GKV_OBJ_BLOB, NULL, 0), GKV_E_INVALID);
	assert_int_equal(b->batch_write_raw(batch, &ids[0], (gkv_otype)9, rec, len), GKV_E_INVALID);
	assert_int_equal(b->batch_write_raw(batch, &other, GKV_OBJ_BLOB, rec, len), GKV_E_CORRUPT);
	assert_int_equal(b->batch_write_raw(batch, &ids[0], GKV_OBJ_TREE, rec, len), GKV_E_CORRUPT);
	bad = malloc(len);
	assert_non_null(bad);
	memcpy(bad, rec, len);
	bad[len / 2] ^= 0x10;
	assert_int_equal(b->batch_write_raw(batch, &ids[0], GKV_OBJ_BLOB, bad, len), GKV_E_CORRUPT);
	assert_non_null(strstr(gkv_error_last(), "checksum"));
	assert_int_equal(b->batch_write_raw(batch, &ids[0], GKV_OBJ_BLOB, rec, len - 1),
			 GKV_E_CORRUPT);
	free(bad);
	b->batch_abort(batch);
	assert_int_equal(b->exists(b, &ids[0]), 0);

	/* landed: each reads back as the object it encodes, the commit too */
	assert_int_equal(b->batch_begin(&batch, b), 0);
	assert_int_equal(b->batch_write_raw(batch, &ids[0], GKV_OBJ_BLOB, rec, len), 0);
	gkv_backend_data_free(rec);
	rec = NULL;
	for (int i = 1; i < 3; i++) {
		assert_int_equal(a->read_raw(&rec, &len, &type, a, &ids[i]), 0);
		assert_int_equal(b->batch_write_raw(batch, &ids[i], type, rec, len), 0);
		gkv_backend_data_free(rec);
		rec = NULL;
	}
	assert_int_equal(b->batch_commit(batch), 0);
	assert_obj(b, &ids[0], GKV_OBJ_BLOB, big, sizeof(big));
	assert_obj(b, &ids[1], GKV_OBJ_BLOB, "tiny", 4);
	assert_obj(b, &ids[2], GKV_OBJ_COMMIT, big, sizeof(big));
	a->free(a);
	b->free(b);

	/* a damaged record in the source is refused at the read */
	plant(pa, "objects", ids[3].id, 20, "\x03tiny", 5);
	a = open_ok(pa, 0);
	assert_int_equal(a->read_raw(&rec, &len, &type, a, &ids[3]), 0);
	gkv_backend_data_free(rec);
	rec = NULL;
	a->free(a);
	{
		MDB_env *env;
		MDB_txn *txn;
		MDB_dbi dbi;
		MDB_val k = {20, ids[3].id}, v;
		unsigned char copy[16];

		assert_int_equal(mdb_env_create(&env), 0);
		assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
		assert_int_equal(mdb_env_open(env, pa, 0, 0644), 0);
		assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
		assert_int_equal(mdb_dbi_open(txn, "objects", 0, &dbi), 0);
		assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
		assert_int_equal(v.mv_size, 9);
		memcpy(copy, v.mv_data, v.mv_size);
		copy[2] ^= 1; /* "tiny" becomes "toy"-like: the checksum no longer holds */
		v.mv_data = copy;
		assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
		assert_int_equal(mdb_txn_commit(txn), 0);
		mdb_env_close(env);
	}
	a = open_ok(pa, 0);
	assert_int_equal(a->read_raw(&rec, &len, &type, a, &ids[3]), GKV_E_CORRUPT);
	assert_null(rec);
	a->free(a);
}

/* ---- records encoded off the writer's thread ---- */

#define ENCODERS 2
#define ENCODES 200

typedef struct {
	gkv_backend *b;
	const gkv_oid *id;
	const unsigned char *data;
	size_t len;
	const void *want;
	size_t want_len;
	int bad; /* encodes that differed from want */
} encoder;

static void *encode_many(void *arg)
{
	encoder *c = arg;

	for (int i = 0; i < ENCODES; i++) {
		void *rec = NULL;
		size_t len = 0;

		if (c->b->encode_raw(&rec, &len, c->b, c->id, GKV_OBJ_BLOB, c->data, c->len) != 0 ||
		    len != c->want_len || memcmp(rec, c->want, len) != 0)
			c->bad++;
		gkv_backend_data_free(rec);
	}
	return NULL;
}

/*
 * encode_raw makes the very record batch_write stores (so that a clone
 * may compress on another thread), batch_write_raw takes it, refuses
 * what cannot be stored, and threads may encode while another writes.
 */
static void test_encode_raw(void **state)
{
	static unsigned char big[6000], noise[3000];
	const struct {
		gkv_otype type;
		const unsigned char *data;
		size_t len;
	} objs[] = {
	    {GKV_OBJ_BLOB, big, sizeof(big)},	     /* compressed */
	    {GKV_OBJ_BLOB, noise, sizeof(noise)},   /* does not compress */
	    {GKV_OBJ_BLOB, (const unsigned char *)"tiny", 4},
	    {GKV_OBJ_BLOB, (const unsigned char *)"", 0},
	    {GKV_OBJ_COMMIT, big, sizeof(big)},
	    {GKV_OBJ_TREE, noise, sizeof(noise)}, /* never compressed */
	};
	enum { N = sizeof(objs) / sizeof(objs[0]) };
	char pa[128], pb[128];
	gkv_backend *a, *b;
	gkv_batch *batch;
	gkv_oid ids[N];
	void *recs[N], *rec = NULL;
	size_t lens[N], len = 0;
	gkv_otype type;
	pthread_t th[ENCODERS];
	encoder enc[ENCODERS];
	uint64_t s = 12345;

	(void)state;
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)("abcab"[i % 5] + (i / 500));
	for (size_t i = 0; i < sizeof(noise); i++) {
		s = s * 6364136223846793005u + 1442695040888963407u;
		noise[i] = (unsigned char)(s >> 56);
	}
	a = open_ok(new_path(pa, sizeof(pa)), GKV_LMDB_CREATE | GKV_LMDB_NOSYNC);
	b = open_ok(new_path(pb, sizeof(pb)), GKV_LMDB_CREATE | GKV_LMDB_NOSYNC);
	assert_non_null(a->encode_raw);

	/* the record batch_write stored, byte for byte */
	for (int i = 0; i < N; i++) {
		make_id(&ids[i], 1100 + i);
		assert_int_equal(put_obj(a, &ids[i], objs[i].type, objs[i].data, objs[i].len), 0);
		assert_int_equal(a->encode_raw(&recs[i], &lens[i], a, &ids[i], objs[i].type,
					       objs[i].data, objs[i].len), 0);
		assert_int_equal(a->read_raw(&rec, &len, &type, a, &ids[i]), 0);
		assert_int_equal(type, objs[i].type);
		assert_int_equal(len, lens[i]);
		assert_memory_equal(rec, recs[i], len);
		gkv_backend_data_free(rec);
		rec = NULL;
	}
	assert_true(lens[0] < sizeof(big) / 2);

	/* refused: a type that cannot be stored, nowhere to put the record,
	 * no bytes for a length */
	assert_int_equal(a->encode_raw(&rec, &len, a, &ids[0], (gkv_otype)9, "x", 1), GKV_E_INVALID);
	assert_int_equal(a->encode_raw(NULL, &len, a, &ids[0], GKV_OBJ_BLOB, "x", 1), GKV_E_INVALID);
	assert_int_equal(a->encode_raw(&rec, &len, a, &ids[0], GKV_OBJ_BLOB, NULL, 5), GKV_E_INVALID);
	assert_null(rec);

	/* threads encode while this one writes a batch of the records into
	 * another store; each reads back as the object it encodes */
	for (int t = 0; t < ENCODERS; t++) {
		enc[t] = (encoder){b, &ids[0], big, sizeof(big), recs[0], lens[0], 0};
		assert_int_equal(pthread_create(&th[t], NULL, encode_many, &enc[t]), 0);
	}
	assert_int_equal(b->batch_begin(&batch, b), 0);
	for (int i = 0; i < N; i++)
		assert_int_equal(b->batch_write_raw(batch, &ids[i], objs[i].type, recs[i], lens[i]),
				 0);
	assert_int_equal(b->batch_commit(batch), 0);
	for (int t = 0; t < ENCODERS; t++) {
		assert_int_equal(pthread_join(th[t], NULL), 0);
		assert_int_equal(enc[t].bad, 0);
	}
	for (int i = 0; i < N; i++) {
		assert_obj(b, &ids[i], objs[i].type, objs[i].data, objs[i].len);
		gkv_backend_data_free(recs[i]);
	}
	a->free(a);
	b->free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    BACKEND_SUITE_TESTS,
	    cmocka_unit_test(test_reopen_persists),
	    cmocka_unit_test(test_open_errors),
	    cmocka_unit_test(test_readonly),
	    cmocka_unit_test(test_two_handles),
	    cmocka_unit_test(test_detect),
	    cmocka_unit_test(test_corrupt_values),
	    cmocka_unit_test(test_format_version),
	    cmocka_unit_test(test_map_growth),
	    cmocka_unit_test(test_full_disk),
	    cmocka_unit_test(test_writemap_allocated),
	    cmocka_unit_test(test_writemap_shared_as_opened),
	    cmocka_unit_test(test_writemap_fsize_limit),
	    cmocka_unit_test(test_writemap_enospc),
	    cmocka_unit_test(test_writemap_other_processes),
	    cmocka_unit_test(test_processes_cas),
	    cmocka_unit_test(test_durable_commits),
	    cmocka_unit_test(test_large_batch_staged),
	    cmocka_unit_test(test_staging_full),
	    cmocka_unit_test(test_staging_retry),
	    cmocka_unit_test(test_staged_commit_full),
	    cmocka_unit_test(test_large_batch_many_records),
	    cmocka_unit_test(test_raw_records),
	    cmocka_unit_test(test_encode_raw),
	    cmocka_unit_test(test_throughput),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
