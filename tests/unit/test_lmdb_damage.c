/*
 * test_lmdb_damage.c -- damaged LMDB files read as errors, never as data
 * or signals, on real environments:
 *
 *  - a byte flipped in a stored record (found with the plain LMDB API and
 *    changed in data.mdb itself) is GKV_E_CORRUPT naming the object and
 *    the store, for every byte of the record, as is a flipped ref value;
 *  - a data.mdb truncated below its last page is GKV_E_CORRUPT
 *    ("data.mdb is truncated") at open, through detection and with a
 *    writable map -- each run in a child, so that a SIGBUS is a failure
 *    reported, not the end of the test program.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>

#include "unit_util.h"

#define new_path uu_new_path

#define MAX_COPIES 8

/* Where in data.mdb the value stored under key in database db is: its
 * bytes, read through plain LMDB, found in the file -- at every place,
 * since an older copy of its page may be there too (copy on write). The
 * number of places, their offsets in offs[]. */
static int value_offsets(off_t *offs, const char *path, const char *db, const void *key,
    size_t klen, size_t *vlen)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = {klen, (void *)key}, v;
	char data[256];
	struct stat st;
	char *file, *at;
	int n = 0, fd;

	snprintf(data, sizeof(data), "%s/data.mdb", path);
	assert_true((fd = open(data, O_RDONLY)) >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_non_null(file = malloc((size_t)st.st_size));
	assert_int_equal(pread(fd, file, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	assert_int_equal(mdb_env_open(env, path, MDB_RDONLY, 0644), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
	assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
	for (at = file; (at = memmem(at, (size_t)(file + st.st_size - at), v.mv_data,
			     v.mv_size)) != NULL; at++) {
		assert_true(n < MAX_COPIES);
		offs[n++] = at - file;
	}
	assert_true(n > 0);
	*vlen = v.mv_size;
	mdb_txn_abort(txn);
	mdb_env_close(env);
	free(file);
	return n;
}

static void flip_byte(const char *path, const off_t *offs, int n, size_t i)
{
	char data[256];
	unsigned char c;
	int fd;

	snprintf(data, sizeof(data), "%s/data.mdb", path);
	assert_true((fd = open(data, O_RDWR)) >= 0);
	for (int k = 0; k < n; k++) {
		assert_int_equal(pread(fd, &c, 1, offs[k] + (off_t)i), 1);
		c ^= 0x10;
		assert_int_equal(pwrite(fd, &c, 1, offs[k] + (off_t)i), 1);
	}
	close(fd);
}

static int count_piece(gkv_otype type, uint64_t size, const void *data, size_t len, void *payload)
{
	(void)type;
	(void)size;
	(void)data;
	*(size_t *)payload += len + 1;
	return 0;
}

/* Damage is GKV_E_CORRUPT naming the object and the store, whole or
 * streamed; a stream gives no byte of a damaged record. */
static void expect_corrupt(gkv_backend *b, const char *path, const gkv_oid *id)
{
	void *data = NULL;
	size_t len, given = 0;
	gkv_otype type;

	assert_rc(GKV_E_CORRUPT, b->read(&data, &len, &type, b, id));
	assert_null(data);
	assert_non_null(strstr(gkv_error_last(), uu_hex(id)));
	assert_non_null(strstr(gkv_error_last(), path));
	assert_rc(GKV_E_CORRUPT, b->read_stream(b, id, count_piece, &given));
	assert_int_equal(given, 0);
	assert_non_null(strstr(gkv_error_last(), uu_hex(id)));
}

/* Every byte of a record, flipped in turn (and put back), is caught: a
 * blob stored plainly and one stored compressed. */
static void test_flipped_record(void **state)
{
	char path[128], big[4096];
	gkv_backend *b;
	gkv_oid ids[2];
	const char *small = "a value of a few bytes";

	(void)state;
	new_path(path, sizeof(path));
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 7);
	assert_ok(gkv_backend_lmdb_open(&b, path, GKV_LMDB_CREATE | GKV_LMDB_NOSYNC));
	uu_raw_put(&ids[0], b, GKV_OBJ_BLOB, small, strlen(small));
	uu_raw_put(&ids[1], b, GKV_OBJ_BLOB, big, sizeof(big));
	b->free(b);

	for (int n = 0; n < 2; n++) {
		off_t offs[MAX_COPIES];
		size_t vlen;
		int copies = value_offsets(offs, path, "objects", ids[n].id, GKV_OID_RAWSZ, &vlen);

		for (size_t i = 0; i < vlen; i++) {
			flip_byte(path, offs, copies, i);
			assert_ok(gkv_backend_lmdb_open(&b, path, 0));
			expect_corrupt(b, path, &ids[n]);
			b->free(b);
			flip_byte(path, offs, copies, i);
		}
	}
	/* Put back, both read again. */
	assert_ok(gkv_backend_lmdb_open(&b, path, GKV_LMDB_READONLY));
	for (int n = 0; n < 2; n++) {
		void *data = NULL;
		size_t len;
		gkv_otype type;

		assert_ok(b->read(&data, &len, &type, b, &ids[n]));
		assert_int_equal(len, n ? sizeof(big) : strlen(small));
		gkv_backend_data_free(data);
	}
	b->free(b);
}

static void test_flipped_ref(void **state)
{
	char path[128];
	gkv_backend *b;
	gkv_oid id, got;
	size_t vlen;
	off_t offs[MAX_COPIES];
	int copies;

	(void)state;
	new_path(path, sizeof(path));
	assert_ok(gkv_backend_lmdb_open(&b, path, GKV_LMDB_CREATE | GKV_LMDB_NOSYNC));
	uu_raw_put(&id, b, GKV_OBJ_COMMIT, "a commit", 8);
	assert_ok(b->ref_cas(b, "refs/heads/main", NULL, &id));
	b->free(b);
	copies = value_offsets(offs, path, "refs", "refs/heads/main", 15, &vlen);
	assert_int_equal(vlen, GKV_OID_RAWSZ + 4);
	flip_byte(path, offs, copies, 3);
	assert_ok(gkv_backend_lmdb_open(&b, path, 0));
	assert_rc(GKV_E_CORRUPT, b->ref_read(&got, b, "refs/heads/main"));
	assert_non_null(strstr(gkv_error_last(), "refs/heads/main"));
	assert_non_null(strstr(gkv_error_last(), path));
	/* A CAS on it refuses too, and changes nothing. */
	assert_rc(GKV_E_CORRUPT, b->ref_cas(b, "refs/heads/main", &id, &id));
	b->free(b);
	flip_byte(path, offs, copies, 3);
	assert_ok(gkv_backend_lmdb_open(&b, path, 0));
	assert_ok(b->ref_read(&got, b, "refs/heads/main"));
	assert_oid_equal(&got, &id);
	b->free(b);
}

/* A store of many values (so that data.mdb has pages well past the meta
 * pages); the file's size in *size. */
static void make_store(const char *path, off_t *size)
{
	char data[256], key[32], val[200];
	gkv_repo *repo = uu_open_lmdb(path, 0);
	gkv_store *s;
	gkv_txn *txn;
	struct stat st;

	assert_ok(gkv_store_open_branch(&s, repo, "main"));
	assert_ok(gkv_txn_begin(&txn, s));
	for (int i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "k/%d", i);
		memset(val, 'a' + i % 26, sizeof(val));
		assert_ok(gkv_txn_set(txn, key, val, sizeof(val)));
	}
	assert_ok(gkv_txn_commit(NULL, txn, GKV_TXN_FAIL, NULL));
	gkv_txn_free(txn);
	gkv_store_free(s);
	gkv_repo_free(repo);
	snprintf(data, sizeof(data), "%s/data.mdb", path);
	assert_int_equal(stat(data, &st), 0);
	*size = st.st_size;
}

/* In a child: open path with flags, expect the truncation error. */
static int child_open_truncated(const char *path, unsigned int flags, bool detect)
{
	gkv_backend *b = NULL;
	int rc;

	if (detect && gkv_backend_lmdb_detect(path) != 1)
		return 10;
	rc = gkv_backend_lmdb_open(&b, path, flags);
	if (rc != GKV_E_CORRUPT || b)
		return 11;
	if (!strstr(gkv_error_last(), "data.mdb is truncated") || !strstr(gkv_error_last(), path))
		return 12;
	return 0;
}

static void expect_child(const char *path, unsigned int flags, bool detect)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_open_truncated(path, flags, detect));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		fail_msg("open of a truncated data.mdb died of signal %d", WTERMSIG(status));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_truncated_file(void **state)
{
	static const unsigned int flags[] = {0, GKV_LMDB_READONLY, GKV_LMDB_CREATE,
	    GKV_LMDB_WRITEMAP | GKV_LMDB_NOSYNC};
	char path[128], data[256];
	off_t size;

	(void)state;
	new_path(path, sizeof(path));
	make_store(path, &size);
	assert_true(size > 64 * 1024);
	snprintf(data, sizeof(data), "%s/data.mdb", path);
	assert_int_equal(truncate(data, size / 2), 0);
	for (size_t i = 0; i < sizeof(flags) / sizeof(*flags); i++)
		expect_child(path, flags[i], i == 0);
	/* Nothing changed the file: a writable map did not extend it. */
	{
		struct stat st;

		assert_int_equal(stat(data, &st), 0);
		assert_int_equal(st.st_size, size / 2);
	}
}

static int setup(void **state)
{
	(void)state;
	return uu_root_make("lmdb-damage");
}

static int teardown(void **state)
{
	(void)state;
	return uu_root_remove();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_flipped_record),
	    cmocka_unit_test(test_flipped_ref),
	    cmocka_unit_test(test_truncated_file),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
