/*
 * test_lmdb_order.c -- the lmdb backend orders its objects database with
 * its own comparison (faster than LMDB's default memcmp), which must be
 * exactly the default's order: the files are LMDB files that any LMDB
 * program opens with the default, and a different order would make keys
 * written by one side invisible to the other.
 *
 * Ids are crafted so that the fast path (the first 8 bytes) does not
 * decide: groups of ids share their first 8 bytes and differ later, some
 * only in their last byte. Each side writes, the other reads.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <lmdb.h>

#include "unit_util.h"

#define GROUPS 24
#define PER_GROUP 12

static char *root;

/* Id k of group g: bytes 0-7 fixed per group, the rest from k (and who
 * wrote it: side 0 is gitkv, side 1 raw LMDB). Group 0's ids differ only
 * in their last byte. */
static void crafted(gkv_oid *out, int g, int k, int side)
{
	uint64_t s = (uint64_t)g * 0x9e3779b97f4a7c15ULL + 1;

	for (int i = 0; i < 8; i++)
		out->id[i] = (unsigned char)(s >> (8 * i));
	out->id[0] = (unsigned char)(g * 10); /* groups spread over the key space */
	for (int i = 8; i < GKV_OID_RAWSZ; i++)
		out->id[i] = g == 0 ? 0x55 : (unsigned char)((k * 37 + i * 11 + side * 101) ^ (g << 3));
	out->id[GKV_OID_RAWSZ - 1] = (unsigned char)(k * 2 + side);
}

static gkv_backend *open_ok(const char *path, unsigned int flags)
{
	gkv_backend *b = NULL;

	assert_int_equal(gkv_backend_lmdb_open(&b, path, flags), 0);
	return b;
}

static void put(gkv_backend *b, const gkv_oid *id)
{
	uu_raw_write(b, id, GKV_OBJ_BLOB, id->id, GKV_OID_RAWSZ);
}

typedef struct {
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
} raw_env;

/* The environment through plain LMDB, default comparison. */
static void raw_open(raw_env *r, const char *path, unsigned int txn_flags)
{
	assert_int_equal(mdb_env_create(&r->env), 0);
	assert_int_equal(mdb_env_set_maxdbs(r->env, 4), 0);
	assert_int_equal(mdb_env_open(r->env, path, 0, 0644), 0);
	assert_int_equal(mdb_txn_begin(r->env, NULL, txn_flags, &r->txn), 0);
	assert_int_equal(mdb_dbi_open(r->txn, "objects", 0, &r->dbi), 0);
}

static void raw_close(raw_env *r, int commit)
{
	if (commit)
		assert_int_equal(mdb_txn_commit(r->txn), 0);
	else
		mdb_txn_abort(r->txn);
	mdb_env_close(r->env);
}

/* The keys of the objects database, walked by a plain LMDB cursor: each
 * an id, each greater than the one before by memcmp. Their number. */
static int count_in_order(raw_env *r)
{
	unsigned char last[GKV_OID_RAWSZ];
	MDB_cursor *cur;
	MDB_val k, v;
	int n = 0;

	assert_int_equal(mdb_cursor_open(r->txn, r->dbi, &cur), 0);
	while (mdb_cursor_get(cur, &k, &v, n ? MDB_NEXT : MDB_FIRST) == 0) {
		assert_int_equal(k.mv_size, GKV_OID_RAWSZ);
		if (n)
			assert_true(memcmp(last, k.mv_data, GKV_OID_RAWSZ) < 0);
		memcpy(last, k.mv_data, GKV_OID_RAWSZ);
		n++;
	}
	mdb_cursor_close(cur);
	return n;
}

static int count_cb(const gkv_oid *id, void *payload)
{
	(void)id;
	(*(int *)payload)++;
	return 0;
}

static void test_same_order_both_ways(void **state)
{
	char path[128];
	gkv_backend *b;
	raw_env r;
	MDB_val v;
	gkv_oid id;
	int found;

	(void)state;
	snprintf(path, sizeof(path), "%s/env", root);
	/* gitkv writes side 0, interleaving groups so inserts land everywhere. */
	b = open_ok(path, GKV_LMDB_CREATE | GKV_LMDB_NOSYNC);
	for (int j = 0; j < PER_GROUP; j++)
		for (int g = 0; g < GROUPS; g++) {
			crafted(&id, g, j, 0);
			put(b, &id);
		}
	b->free(b);

	/* Plain LMDB sees them in strictly increasing memcmp order, and finds
	 * each by its default search. */
	raw_open(&r, path, MDB_RDONLY);
	assert_int_equal(count_in_order(&r), GROUPS * PER_GROUP);
	for (int g = 0; g < GROUPS; g++)
		for (int j = 0; j < PER_GROUP; j++) {
			MDB_val key = {GKV_OID_RAWSZ, id.id};

			crafted(&id, g, j, 0);
			assert_int_equal(mdb_get(r.txn, r.dbi, &key, &v), 0);
		}
	raw_close(&r, 0);

	/* Plain LMDB writes side 1 (a copy of a stored value, so it decodes). */
	raw_open(&r, path, 0);
	{
		MDB_val key = {GKV_OID_RAWSZ, id.id}, val;
		unsigned char *copy;

		crafted(&id, 0, 0, 0);
		assert_int_equal(mdb_get(r.txn, r.dbi, &key, &val), 0);
		assert_non_null(copy = malloc(val.mv_size));
		memcpy(copy, val.mv_data, val.mv_size);
		val.mv_data = copy;
		for (int g = 0; g < GROUPS; g++)
			for (int j = 0; j < PER_GROUP; j++) {
				crafted(&id, g, j, 1);
				key.mv_data = id.id;
				assert_int_equal(mdb_put(r.txn, r.dbi, &key, &val, MDB_NOOVERWRITE), 0);
			}
		raw_close(&r, 1);
		free(copy);
	}

	/* gitkv finds both sides, and nothing in between. */
	b = open_ok(path, GKV_LMDB_NOSYNC);
	for (int g = 0; g < GROUPS; g++)
		for (int j = 0; j < PER_GROUP; j++) {
			for (int side = 0; side < 2; side++) {
				crafted(&id, g, j, side);
				assert_int_equal(b->exists(b, &id), 1);
			}
			crafted(&id, g, j, 0);
			id.id[GKV_OID_RAWSZ - 1] ^= 0x80; /* same first 19 bytes, absent */
			assert_int_equal(b->exists(b, &id), 0);
		}
	/* A prefix search (a cursor range over the same order) finds exactly
	 * one group: its 16 hex digits are the shared 8 bytes. */
	crafted(&id, 5, 0, 0);
	found = 0;
	assert_int_equal(b->foreach(b, &id, 16, count_cb, &found), 0);
	assert_int_equal(found, 2 * PER_GROUP);
	/* gitkv writes again into the mixed database; order still holds. */
	for (int g = 0; g < GROUPS; g++) {
		crafted(&id, g, PER_GROUP, 0);
		put(b, &id);
	}
	b->free(b);
	raw_open(&r, path, MDB_RDONLY);
	assert_int_equal(count_in_order(&r), 2 * GROUPS * PER_GROUP + GROUPS);
	raw_close(&r, 0);
}

static int setup(void **state)
{
	(void)state;
	root = uu_tmpdir("lmdb-order");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	uu_tmpdir_remove(root);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_same_order_both_ways),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
