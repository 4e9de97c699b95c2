/*
 * test_lmdb_upgrade.c -- gkv_backend_lmdb_upgrade on real environments:
 *
 *  - from versions 1, 2 and 3 (written byte by byte as their builds did,
 *    then grown through the public API: values, a second branch, logs,
 *    settings) to version 4: every object, ref, log record and setting
 *    the same afterwards, each object in the database of its type (looked
 *    at with plain LMDB), every record checked, fsck clean, the store
 *    writable; upgrading again finds version 4 and writes nothing;
 *  - refused, the store untouched, while a handle of this process (read-
 *    write or read-only) or another process has the store open;
 *  - a damaged record (a bad checksum, an object that does not hash to
 *    its id) stops it with nothing written;
 *  - a write that cannot land (the file may not grow) or a kill at any
 *    moment leaves the old version whole or the new one whole, usable,
 *    and a second run finishes;
 *  - a handle another process opened on the old version, holding no
 *    slot of the reader table (so unseen by the upgrade), fails cleanly
 *    afterwards instead of reading the new layout as the old.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lmdb_raw.h"

#define new_path uu_new_path

/* ---- what a store holds, as text ---- */

typedef struct {
	gkv_backend *b;
	gkv_oid *ids;
	size_t n, cap;
	char *text;
	size_t len, tcap;
	size_t types[5]; /* objects of each type */
} snap;

static void say(snap *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(s->text + s->len, s->tcap - s->len, fmt, ap);
		va_end(ap);
		assert_true(n >= 0);
		if (s->len + (size_t)n < s->tcap)
			break;
		s->tcap = 2 * s->tcap + (size_t)n;
		assert_non_null(s->text = realloc(s->text, s->tcap));
	}
	s->len += (size_t)n;
}

static int id_cb(const gkv_oid *id, void *payload)
{
	snap *s = payload;

	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 256;
		assert_non_null(s->ids = realloc(s->ids, s->cap * sizeof(*s->ids)));
	}
	s->ids[s->n++] = *id;
	return 0;
}

static int ref_cb(const char *name, const gkv_oid *target, void *payload)
{
	say(payload, "ref %s %s\n", name, uu_hex(target));
	return 0;
}

static int log_cb(const gkv_backend_reflog_entry *e, void *payload)
{
	char old[GKV_OID_HEXSZ + 1];

	snprintf(old, sizeof(old), "%s", uu_hex(&e->old_id));
	say(payload, "log %s %s %lld %d %s %s %s\n", old, uu_hex(&e->new_id), (long long)e->time,
	    e->offset, e->name, e->email, e->message);
	return 0;
}

static int logname_cb(const char *name, const gkv_oid *target, void *payload)
{
	snap *s = payload;

	(void)target;
	say(s, "log of %s\n", name);
	return s->b->reflog_read(s->b, name, log_cb, s);
}

static int config_cb(const char *key, const char *value, void *payload)
{
	say(payload, "config %s=%s\n", key, value);
	return 0;
}

static int oid_cmp(const void *a, const void *b)
{
	return memcmp(a, b, GKV_OID_RAWSZ);
}

/*
 * Everything the store at path holds, read through the backend (every
 * record checked as it is read): each object's id and type (its content
 * hashing to its id), every ref, every log, every setting. The ids and
 * their types stay in s.
 */
static void take_snap(snap *s, const char *path)
{
	memset(s, 0, sizeof(*s));
	assert_ok(gkv_backend_lmdb_open(&s->b, path, GKV_LMDB_READONLY));
	assert_ok(s->b->foreach(s->b, NULL, 0, id_cb, s));
	qsort(s->ids, s->n, sizeof(*s->ids), oid_cmp);
	for (size_t i = 0; i < s->n; i++) {
		void *data = NULL;
		size_t len;
		gkv_otype type;
		gkv_oid id;

		assert_ok(s->b->read(&data, &len, &type, s->b, &s->ids[i]));
		assert_ok(gkv_hash(&id, type, data, len));
		assert_oid_equal(&id, &s->ids[i]);
		gkv_backend_data_free(data);
		s->types[type]++;
		say(s, "object %s %d\n", uu_hex(&s->ids[i]), (int)type);
	}
	assert_ok(s->b->ref_list(s->b, "", ref_cb, s));
	assert_ok(s->b->reflog_list(s->b, logname_cb, s));
	assert_ok(s->b->config_list(s->b, "", config_cb, s));
	s->b->free(s->b);
	s->b = NULL;
}

static void free_snap(snap *s)
{
	free(s->ids);
	free(s->text);
}

/* ---- stores to upgrade ---- */

static void set(gkv_store *s, const char *path, const char *value)
{
	assert_ok(gkv_store_set(NULL, s, path, value, strlen(value), NULL));
}

/* A store of version: make_old's, then 2 * nvals commits through the
 * public API on main (nested directories: trees of several levels; one
 * directory of nvals entries, whose trees pass half a page), a branch
 * "side" with commits of its own, and a setting. */
static void make_store(const char *path, const char *version, int nvals)
{
	gkv_oid head, first;
	gkv_repo *repo;
	gkv_store *s;
	char key[64], val[32];

	make_old(path, &first, version);
	repo = uu_open_lmdb(path, 0);
	assert_ok(gkv_store_open_branch(&s, repo, "main"));
	for (int i = 0; i < nvals; i++) {
		snprintf(key, sizeof(key), "d%d/e%d/k%d", i % 5, i % 3, i);
		snprintf(val, sizeof(val), "value %d", i);
		set(s, key, val);
		/* a directory that grows past half a page: large trees */
		snprintf(key, sizeof(key), "wide/entry-with-a-long-name-%04d", i);
		set(s, key, val);
	}
	gkv_store_free(s);
	assert_ok(gkv_branch_head(&head, repo, "main"));
	assert_ok(gkv_branch_create(repo, "side", &head));
	assert_ok(gkv_store_open_branch(&s, repo, "side"));
	set(s, "side/only", "on side");
	set(s, "d0/e0/k0", "changed on side");
	gkv_store_free(s);
	assert_ok(gkv_config_set(repo, "gkvtest.colour", "blue"));
	gkv_repo_free(repo);
}

/* Is every object in the database of its type (version 4)? */
static void assert_v4_layout(const char *path, const snap *s)
{
	static const char *const home[5] = {NULL, "commits", "trees", "objects", "objects"};
	raw_env r;

	assert_version(path, "4");
	raw_open(&r, path, MDB_RDONLY);
	assert_int_equal(db_entries(&r, "commits"), s->types[GKV_OBJ_COMMIT]);
	assert_int_equal(db_entries(&r, "trees"), s->types[GKV_OBJ_TREE]);
	assert_int_equal(db_entries(&r, "objects"), s->types[GKV_OBJ_BLOB] + s->types[GKV_OBJ_TAG]);
	for (size_t i = 0; i < s->n; i++) {
		int type = 0;

		/* the type, from the snapshot's text: "object HEX T" */
		for (int t = 1; t <= 4; t++) {
			char line[80];

			snprintf(line, sizeof(line), "object %s %d\n", uu_hex(&s->ids[i]), t);
			if (strstr(s->text, line))
				type = t;
		}
		assert_true(type > 0);
		assert_true(db_has(&r, home[type], &s->ids[i]));
	}
	raw_close(&r, 0);
}

static void *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	assert_non_null(buf = malloc((size_t)n));
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* data.mdb is byte for byte what it was. */
static void assert_same_file(const char *path, const void *before, size_t nbefore)
{
	char data[160];
	size_t n;
	void *now;

	snprintf(data, sizeof(data), "%s/data.mdb", path);
	now = slurp(data, &n);
	assert_int_equal(n, nbefore);
	assert_memory_equal(now, before, n);
	free(now);
}

static void *slurp_store(const char *path, size_t *len)
{
	char data[160];

	snprintf(data, sizeof(data), "%s/data.mdb", path);
	return slurp(data, len);
}

/* The store passes fsck, and takes a write that reads back. */
static void assert_usable(const char *path)
{
	gkv_repo *repo = uu_open_lmdb(path, 0);
	size_t problems = 1;
	gkv_store *s;
	gkv_buf v;

	assert_ok(gkv_repo_fsck(&problems, repo, NULL, NULL, NULL, NULL));
	assert_int_equal(problems, 0);
	assert_ok(gkv_store_open_branch(&s, repo, "main"));
	set(s, "after/upgrade", "written");
	assert_ok(gkv_store_get(&v, s, "after/upgrade"));
	assert_buf_str(v, "written");
	gkv_buf_dispose(&v);
	assert_ok(gkv_store_get(&v, s, "k"));
	assert_buf_str(v, "hello");
	gkv_buf_dispose(&v);
	gkv_store_free(s);
	gkv_repo_free(repo);
}

/* ---- upgrades ---- */

static void upgrade_from(const char *version)
{
	char path[128];
	snap before, after;
	void *file;
	size_t nfile;
	int from = 0;

	new_path(path, sizeof(path));
	make_store(path, version, 60);
	take_snap(&before, path);
	assert_true(before.types[GKV_OBJ_TREE] > 40);
	assert_ok(gkv_backend_lmdb_upgrade(&from, path));
	assert_int_equal(from, version[0] - '0');
	take_snap(&after, path);
	assert_string_equal(after.text, before.text);
	assert_v4_layout(path, &after);

	/* Again: version 4 found, nothing written. */
	file = slurp_store(path, &nfile);
	from = 0;
	assert_ok(gkv_backend_lmdb_upgrade(&from, path));
	assert_int_equal(from, 4);
	assert_same_file(path, file, nfile);
	free(file);
	assert_usable(path);
	free_snap(&before);
	free_snap(&after);
}

static void test_upgrade_from_1(void **state)
{
	(void)state;
	upgrade_from("1");
}

static void test_upgrade_from_2(void **state)
{
	(void)state;
	upgrade_from("2");
}

static void test_upgrade_from_3(void **state)
{
	(void)state;
	upgrade_from("3");
}

/* A new store is version 4 already. */
static void test_upgrade_new_store(void **state)
{
	char path[128];
	gkv_repo *repo;
	int from = 0;

	(void)state;
	new_path(path, sizeof(path));
	repo = uu_open_lmdb(path, 0);
	gkv_repo_free(repo);
	assert_ok(gkv_backend_lmdb_upgrade(&from, path));
	assert_int_equal(from, 4);
	assert_rc(GKV_E_INVALID, gkv_backend_lmdb_upgrade(&from, NULL));
	assert_rc(GKV_E_INVALID, gkv_backend_lmdb_upgrade(&from, ""));
	new_path(path, sizeof(path));
	assert_rc(GKV_E_NOTFOUND, gkv_backend_lmdb_upgrade(&from, path));
	assert_non_null(strstr(gkv_error_last(), path));
}

/* ---- refusals ---- */

static void test_upgrade_refused_while_open(void **state)
{
	char path[128], c;
	gkv_repo *repo;
	gkv_store *s;
	gkv_buf v;
	void *file;
	size_t nfile;
	int ready[2], go[2], status;
	pid_t pid;

	(void)state;
	new_path(path, sizeof(path));
	make_store(path, "3", 5);
	file = slurp_store(path, &nfile);

	/* A handle of this process, read-write, then read-only. */
	for (int ro = 0; ro < 2; ro++) {
		repo = uu_open_lmdb(path, ro);
		assert_rc(GKV_E_CONFLICT, gkv_backend_lmdb_upgrade(NULL, path));
		assert_non_null(strstr(gkv_error_last(), "open in this process"));
		/* and the handle still works */
		assert_ok(gkv_store_open_branch(&s, repo, "main"));
		assert_ok(gkv_store_get(&v, s, "k"));
		gkv_buf_dispose(&v);
		gkv_store_free(s);
		gkv_repo_free(repo);
	}
	assert_same_file(path, file, nfile);

	/* Another process that has read the store. */
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		gkv_store *cs;
		gkv_buf cv;
		gkv_repo *r = uu_open_lmdb(path, 1);

		if (gkv_store_open_branch(&cs, r, "main") != 0 || gkv_store_get(&cv, cs, "k") != 0)
			_exit(1);
		if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(2);
		_exit(0);
	}
	assert_int_equal(read(ready[0], &c, 1), 1);
	assert_rc(GKV_E_CONFLICT, gkv_backend_lmdb_upgrade(NULL, path));
	{
		char pidtext[32];

		snprintf(pidtext, sizeof(pidtext), "pid %d", (int)pid);
		assert_non_null(strstr(gkv_error_last(), pidtext));
	}
	assert_same_file(path, file, nfile);
	assert_int_equal(write(go[1], "g", 1), 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(ready[0]), close(ready[1]), close(go[0]), close(go[1]);

	/* Once it has gone, the upgrade goes through. */
	assert_ok(gkv_backend_lmdb_upgrade(NULL, path));
	assert_version(path, "4");
	free(file);
}

/* Replace the value of key in database name by its bytes with byte at
 * flipped (its checksum, if any, left as it was). */
static void damage(const char *path, const char *name, const gkv_oid *key, size_t at)
{
	MDB_val k = {GKV_OID_RAWSZ, (void *)key->id}, v;
	unsigned char buf[4096];
	MDB_dbi dbi;
	raw_env r;

	raw_open(&r, path, 0);
	assert_int_equal(mdb_dbi_open(r.txn, name, 0, &dbi), 0);
	assert_int_equal(mdb_get(r.txn, dbi, &k, &v), 0);
	assert_true(v.mv_size <= sizeof(buf) && at < v.mv_size);
	memcpy(buf, v.mv_data, v.mv_size);
	buf[at] ^= 0x20;
	raw_put(&r, dbi, key->id, GKV_OID_RAWSZ, buf, v.mv_size);
	raw_close(&r, 1);
}

static void damaged(const char *version)
{
	char path[128];
	gkv_oid head;
	gkv_commit *c;
	gkv_repo *repo;
	void *file;
	size_t nfile;

	new_path(path, sizeof(path));
	make_store(path, version, 5);
	repo = uu_open_lmdb(path, 1);
	assert_ok(gkv_branch_head(&head, repo, "main"));
	assert_ok(gkv_commit_lookup(&c, repo, &head));
	gkv_repo_free(repo);
	/* the root tree of main's head: a byte of an entry's name */
	damage(path, "objects", gkv_commit_tree_id(c), 8);
	file = slurp_store(path, &nfile);
	assert_rc(GKV_E_CORRUPT, gkv_backend_lmdb_upgrade(NULL, path));
	assert_non_null(strstr(gkv_error_last(), uu_hex(gkv_commit_tree_id(c))));
	assert_non_null(strstr(gkv_error_last(), "nothing was upgraded"));
	assert_same_file(path, file, nfile);
	assert_version(path, version);
	/* the rest still reads: the branch "side" and its values */
	repo = uu_open_lmdb(path, 1);
	{
		gkv_store *s;
		gkv_buf v;

		assert_ok(gkv_store_open_branch(&s, repo, "side"));
		assert_ok(gkv_store_get(&v, s, "side/only"));
		assert_buf_str(v, "on side");
		gkv_buf_dispose(&v);
		gkv_store_free(s);
	}
	gkv_repo_free(repo);
	gkv_commit_free(c);
	free(file);
}

/* Version 3: the checksum fails; version 2: the tree no longer hashes to its id. */
static void test_upgrade_stops_at_damage(void **state)
{
	(void)state;
	damaged("3");
	damaged("2");
}

/* ---- failures and kills ---- */

/* Copy the store at from into a new directory: its path in to. */
static void copy_store(char *to, size_t size, const char *from)
{
	char src[160], dst[160];
	void *file;
	size_t n;
	FILE *f;

	new_path(to, size);
	assert_int_equal(mkdir(to, 0777), 0);
	snprintf(src, sizeof(src), "%s/data.mdb", from);
	snprintf(dst, sizeof(dst), "%s/data.mdb", to);
	file = slurp(src, &n);
	assert_non_null(f = fopen(dst, "wb"));
	assert_int_equal(fwrite(file, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
	free(file);
}

/* After a failed or killed upgrade: the old version whole, or the new one
 * whole; either way the same content, and a second run ends at 4. */
static void assert_whole(const char *path, const snap *before, const char *old)
{
	snap now;
	MDB_val k = {7, "version"}, v;
	MDB_dbi meta;
	raw_env r;
	char version;

	raw_open(&r, path, MDB_RDONLY);
	assert_int_equal(mdb_dbi_open(r.txn, "meta", 0, &meta), 0);
	assert_int_equal(mdb_get(r.txn, meta, &k, &v), 0);
	version = *(const char *)v.mv_data;
	raw_close(&r, 0);
	assert_true(version == old[0] || version == '4');
	take_snap(&now, path);
	assert_string_equal(now.text, before->text);
	if (version == '4')
		assert_v4_layout(path, &now);
	free_snap(&now);
	assert_ok(gkv_backend_lmdb_upgrade(NULL, path));
	assert_version(path, "4");
}

/* No page may be written past the first two (RLIMIT_FSIZE, as a full
 * disk): the upgrade's transaction fails part way through writing its
 * pages, does not land, and the store holds what it held. */
static void test_upgrade_without_room(void **state)
{
	char path[128];
	snap before;
	int status;
	pid_t pid;

	(void)state;
	new_path(path, sizeof(path));
	make_store(path, "3", 200);
	take_snap(&before, path);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit lim = {8192, RLIM_INFINITY};
		int rc;

		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
			_exit(3);
		rc = gkv_backend_lmdb_upgrade(NULL, path);
		_exit(rc == GKV_E_FULL ? 0 : rc == 0 ? 1 : 2);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_version(path, "3");
	assert_whole(path, &before, "3");
	assert_usable(path);
	free_snap(&before);
}

/* Killed at moments spread over the upgrade's run: never half done. */
static void test_upgrade_killed(void **state)
{
	static const long delays_us[] = {0, 500, 1000, 2000, 4000, 7000, 12000, 20000, 40000};
	char path[128], copy[128];
	snap before;

	(void)state;
	new_path(path, sizeof(path));
	make_store(path, "2", 300);
	take_snap(&before, path);
	for (size_t i = 0; i < sizeof(delays_us) / sizeof(*delays_us); i++) {
		struct timespec ts = {0, delays_us[i] * 1000};
		int status;
		pid_t pid;

		copy_store(copy, sizeof(copy), path);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			_exit(gkv_backend_lmdb_upgrade(NULL, copy) == 0 ? 0 : 1);
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0));
		assert_whole(copy, &before, "2");
	}
	free_snap(&before);
}

/* ---- a handle of the old version ---- */

static void test_old_handle_fails_after_upgrade(void **state)
{
	char path[128], c;
	gkv_oid head;
	int ready[2], go[2], status;
	pid_t pid;

	(void)state;
	new_path(path, sizeof(path));
	make_store(path, "3", 5);
	{
		gkv_repo *repo = uu_open_lmdb(path, 1);

		assert_ok(gkv_branch_head(&head, repo, "main"));
		gkv_repo_free(repo);
	}
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		gkv_backend *b;
		gkv_batch *batch;
		void *data = NULL;
		size_t len;
		gkv_otype type;
		gkv_oid id;
		int rc;

		/* Opened, never read: no slot in the reader table. */
		if (gkv_backend_lmdb_open(&b, path, GKV_LMDB_NOSYNC) != 0)
			_exit(1);
		if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(2);
		rc = b->read_typed(&data, &len, &type, b, &head, GKV_OBJ_COMMIT);
		if (rc != GKV_E_CONFLICT || !strstr(gkv_error_last(), "was upgraded"))
			_exit(3);
		if (b->batch_begin(&batch, b) != 0)
			_exit(4);
		gkv_hash(&id, GKV_OBJ_TREE, "x", 1);
		if (b->batch_write(batch, &id, GKV_OBJ_TREE, "x", 1) != 0)
			_exit(5);
		if (b->batch_commit(batch) != GKV_E_CONFLICT)
			_exit(6);
		b->free(b);
		_exit(0);
	}
	assert_int_equal(read(ready[0], &c, 1), 1);
	assert_ok(gkv_backend_lmdb_upgrade(NULL, path));
	assert_int_equal(write(go[1], "g", 1), 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(ready[0]), close(ready[1]), close(go[0]), close(go[1]);
	assert_version(path, "4");
	assert_usable(path);
}

static int setup(void **state)
{
	(void)state;
	return uu_root_make("lmdb-upgrade");
}

static int teardown(void **state)
{
	(void)state;
	return uu_root_remove();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_upgrade_from_1),
	    cmocka_unit_test(test_upgrade_from_2),
	    cmocka_unit_test(test_upgrade_from_3),
	    cmocka_unit_test(test_upgrade_new_store),
	    cmocka_unit_test(test_upgrade_refused_while_open),
	    cmocka_unit_test(test_upgrade_stops_at_damage),
	    cmocka_unit_test(test_upgrade_without_room),
	    cmocka_unit_test(test_upgrade_killed),
	    cmocka_unit_test(test_old_handle_fails_after_upgrade),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
