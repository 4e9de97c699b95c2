/*
 * lmdb_raw.h -- for the lmdb format tests (test_lmdb_format.c,
 * test_lmdb_upgrade.c): an environment looked at and written with plain
 * LMDB beside gitkv, and stores of the older formats written byte by
 * byte as the builds of their time wrote them.
 */
#ifndef GKV_TEST_LMDB_RAW_H
#define GKV_TEST_LMDB_RAW_H

#include <stdbool.h>
#include <sys/stat.h>

#include <lmdb.h>

#include "crc32c.h"
#include "unit_util.h"

/* ---- the environment through plain LMDB ---- */

typedef struct {
	MDB_env *env;
	MDB_txn *txn;
} raw_env;

static inline void raw_open(raw_env *r, const char *path, unsigned int txn_flags)
{
	assert_int_equal(mdb_env_create(&r->env), 0);
	assert_int_equal(mdb_env_set_maxdbs(r->env, 8), 0);
	assert_int_equal(mdb_env_open(r->env, path, 0, 0644), 0);
	assert_int_equal(mdb_txn_begin(r->env, NULL, txn_flags, &r->txn), 0);
}

static inline void raw_close(raw_env *r, int commit)
{
	if (commit)
		assert_int_equal(mdb_txn_commit(r->txn), 0);
	else
		mdb_txn_abort(r->txn);
	mdb_env_close(r->env);
}

/* Entries of database name, -1 if there is no such database. */
static inline long db_entries(raw_env *r, const char *name)
{
	MDB_dbi dbi;
	MDB_stat st;
	int rc = mdb_dbi_open(r->txn, name, 0, &dbi);

	if (rc == MDB_NOTFOUND)
		return -1;
	assert_int_equal(rc, 0);
	assert_int_equal(mdb_stat(r->txn, dbi, &st), 0);
	return (long)st.ms_entries;
}

static inline bool db_has(raw_env *r, const char *name, const gkv_oid *id)
{
	MDB_val k = {GKV_OID_RAWSZ, (void *)id->id}, v;
	MDB_dbi dbi;
	int rc;

	if (mdb_dbi_open(r->txn, name, 0, &dbi) != 0)
		return false;
	rc = mdb_get(r->txn, dbi, &k, &v);
	assert_true(rc == 0 || rc == MDB_NOTFOUND);
	return rc == 0;
}

/* The size of id's record in database name, which must hold it. */
static inline size_t record_size(raw_env *r, const char *name, const gkv_oid *id)
{
	MDB_val k = {GKV_OID_RAWSZ, (void *)id->id}, v;
	MDB_dbi dbi;

	assert_int_equal(mdb_dbi_open(r->txn, name, 0, &dbi), 0);
	assert_int_equal(mdb_get(r->txn, dbi, &k, &v), 0);
	return v.mv_size;
}

static inline void raw_put(raw_env *r, MDB_dbi dbi, const void *key, size_t klen, const void *val,
    size_t vlen)
{
	MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};

	assert_int_equal(mdb_put(r->txn, dbi, &k, &v, 0), 0);
}

static inline void assert_version(const char *path, const char *want)
{
	MDB_val k = {7, "version"}, v;
	MDB_dbi meta;
	raw_env r;

	raw_open(&r, path, MDB_RDONLY);
	assert_int_equal(mdb_dbi_open(r.txn, "meta", 0, &meta), 0);
	assert_int_equal(mdb_get(r.txn, meta, &k, &v), 0);
	assert_int_equal(v.mv_size, strlen(want));
	assert_memory_equal(v.mv_data, want, v.mv_size);
	raw_close(&r, 0);
}

/* A record as format 3 writes it: the value, then the CRC-32C of key and
 * value, 4 bytes little-endian; with crc false, the value alone. */
static inline void old_put(raw_env *r, MDB_dbi dbi, const void *key, size_t klen,
    const void *val, size_t vlen, bool crc)
{
	unsigned char rec[1024];
	uint32_t c;

	assert_true(vlen + 4 <= sizeof(rec));
	memcpy(rec, val, vlen);
	if (crc) {
		c = gkv__crc32c(gkv__crc32c(0, key, klen), val, vlen);
		for (int i = 0; i < 4; i++)
			rec[vlen + (size_t)i] = (unsigned char)(c >> (8 * i));
	}
	raw_put(r, dbi, key, klen, rec, vlen + (crc ? 4 : 0));
}

/* An object record of the old formats, uncompressed: type byte, payload
 * (and from version 3 the checksum). */
static inline void old_put_object(raw_env *r, MDB_dbi dbi, gkv_oid *id, gkv_otype type,
    const void *data, size_t len, bool crc)
{
	unsigned char rec[512];

	assert_true(len < sizeof(rec));
	assert_ok(gkv_hash(id, type, data, len));
	rec[0] = (unsigned char)type;
	memcpy(rec + 1, data, len);
	old_put(r, dbi, id->id, GKV_OID_RAWSZ, rec, len + 1, crc);
}

/*
 * An environment of an older version, as the builds of its time made it,
 * holding one commit whose tree maps "k" to "hello", main on it, one
 * record in main's log and one setting (gitkv.made = old). The commit's
 * id in *head.
 *   "1": databases meta, objects, refs (and the reflog and config,
 *        which came later and exist in any version); every object in
 *        objects, no checksums.
 *   "2": the same plus "commits", holding the commit.
 *   "3": version 2 with a checksum at the end of every record.
 */
static inline void make_old(const char *path, gkv_oid *head, const char *version)
{
	static const char who[] = "old\0old@example.org\0commit (initial): made";
	MDB_dbi meta, objects, refs, commits, reflog, config;
	bool crc = strcmp(version, "3") == 0;
	gkv_oid blob, tree;
	uu_treebuf t = {.len = 0};
	unsigned char logkey[64], logrec[256];
	char commit[256];
	size_t klen, vlen;
	int n;
	raw_env r;

	assert_int_equal(mkdir(path, 0777), 0);
	assert_int_equal(mdb_env_create(&r.env), 0);
	assert_int_equal(mdb_env_set_maxdbs(r.env, 6), 0);
	assert_int_equal(mdb_env_open(r.env, path, 0, 0644), 0);
	assert_int_equal(mdb_txn_begin(r.env, NULL, 0, &r.txn), 0);
	assert_int_equal(mdb_dbi_open(r.txn, "meta", MDB_CREATE, &meta), 0);
	raw_put(&r, meta, "magic", 5, "gitkv-lmdb", 10);
	raw_put(&r, meta, "version", 7, version, 1);
	assert_int_equal(mdb_dbi_open(r.txn, "objects", MDB_CREATE, &objects), 0);
	assert_int_equal(mdb_dbi_open(r.txn, "refs", MDB_CREATE, &refs), 0);
	assert_int_equal(mdb_dbi_open(r.txn, "reflog", MDB_CREATE, &reflog), 0);
	assert_int_equal(mdb_dbi_open(r.txn, "config", MDB_CREATE, &config), 0);
	commits = objects;
	if (strcmp(version, "1") != 0)
		assert_int_equal(mdb_dbi_open(r.txn, "commits", MDB_CREATE, &commits), 0);
	old_put_object(&r, objects, &blob, GKV_OBJ_BLOB, "hello", 5, crc);
	uu_tree_entry(&t, "100644", "k", &blob);
	old_put_object(&r, objects, &tree, GKV_OBJ_TREE, t.data, t.len, crc);
	n = snprintf(commit, sizeof(commit),
	    "tree %s\nauthor old <old@example.org> 1000000000 +0000\n"
	    "committer old <old@example.org> 1000000000 +0000\n\nmade by format %s\n",
	    uu_hex(&tree), version);
	old_put_object(&r, commits, head, GKV_OBJ_COMMIT, commit, (size_t)n, crc);
	old_put(&r, refs, "refs/heads/main", 15, head->id, GKV_OID_RAWSZ, crc);
	/* main's log: key "refs/heads/main\0" and sequence 0; value old id
	 * (none), new id, time, offset, "name\0email\0message". */
	memcpy(logkey, "refs/heads/main", 16);
	memset(logkey + 16, 0, 8);
	klen = 24;
	memset(logrec, 0, sizeof(logrec));
	memcpy(logrec + 20, head->id, GKV_OID_RAWSZ);
	logrec[40] = 0x00, logrec[41] = 0xca, logrec[42] = 0x9a, logrec[43] = 0x3b; /* 10^9 */
	vlen = 52;
	memcpy(logrec + vlen, who, sizeof(who) - 1);
	vlen += sizeof(who) - 1;
	old_put(&r, reflog, logkey, klen, logrec, vlen, crc);
	old_put(&r, config, "gitkv.made", 10, "old", 3, crc);
	raw_close(&r, 1);
}

#endif
