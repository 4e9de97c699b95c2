/*
 * fuzz_lmdb.c -- the LMDB backend's record decoder on hostile records,
 * through a real environment. A gitkv store is made once per process
 * under /tmp; for each input, the plain LMDB API puts a record under a
 * fixed id in its "objects" database, and the backend, opened afresh,
 * reads it with ->read, ->read_stream, ->read_header, ->exists and
 * ->foreach.
 *
 * The record: the input after its first byte, then -- unless bit 0 of
 * the first byte is set -- the CRC-32 that format 3 ends a record with,
 * computed here, so that the mutations reach the decoder behind the
 * checksum rather than only the checksum.
 *
 * What must hold: a model of the record format (lmdb.c's header comment)
 * written here decides whether the record is sound and what object it
 * holds; ->read gives exactly that object or GKV_E_CORRUPT naming the id
 * and the store, and ->read_stream the same bytes in pieces or
 * GKV_E_CORRUPT (no piece at all when the checksum is wrong).
 */
#include <lmdb.h>
#include <string.h>
#include <zlib.h>

#include "crc32c.h"
#include "fuzz.h"

#include "gitkv/sys/backend.h"

static char *dir;
static gkv_oid key;
static char hex[GKV_OID_HEXSZ + 1];

static void cleanup(void)
{
	fuzz_rmtree(dir);
	free(dir);
}

static void init(void)
{
	gkv_backend *b;

	dir = fuzz_tmpdir("lmdb");
	atexit(cleanup);
	FUZZ_CHECK(gkv_backend_lmdb_open(&b, dir, GKV_LMDB_CREATE | GKV_LMDB_NOSYNC) == 0);
	b->free(b);
	for (int i = 0; i < GKV_OID_RAWSZ; i++)
		key.id[i] = (unsigned char)(0xa5 ^ (i * 29));
	gkv_oid_fmt(hex, &key);
	hex[GKV_OID_HEXSZ] = '\0';
}

static void put_record(const unsigned char *rec, size_t len)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = {GKV_OID_RAWSZ, key.id}, v = {len, (void *)rec};

	FUZZ_CHECK(mdb_env_create(&env) == 0);
	FUZZ_CHECK(mdb_env_set_maxdbs(env, 8) == 0);
	FUZZ_CHECK(mdb_env_open(env, dir, MDB_NOSYNC, 0644) == 0);
	FUZZ_CHECK(mdb_txn_begin(env, NULL, 0, &txn) == 0);
	FUZZ_CHECK(mdb_dbi_open(txn, "objects", 0, &dbi) == 0);
	FUZZ_CHECK(mdb_put(txn, dbi, &k, &v, 0) == 0);
	FUZZ_CHECK(mdb_txn_commit(txn) == 0);
	mdb_env_close(env);
}

typedef struct {
	unsigned char *data; /* malloc()ed */
	size_t len;
	gkv_otype type;
	int crc_bad;
} model_obj;

/* 0 and the object the record holds, or -1: it is not sound. */
static int model_decode(model_obj *m, const unsigned char *rec, size_t size)
{
	uint32_t crc;
	uint64_t raw = 0;
	size_t slen;
	z_stream zs;
	int zr;

	m->data = NULL;
	m->crc_bad = 0;
	if (size < 5)
		return -1;
	size -= 4;
	crc = gkv__crc32c(gkv__crc32c(0, key.id, GKV_OID_RAWSZ), rec, size);
	if (rec[size] != (crc & 0xff) || rec[size + 1] != ((crc >> 8) & 0xff) ||
	    rec[size + 2] != ((crc >> 16) & 0xff) || rec[size + 3] != crc >> 24) {
		m->crc_bad = 1;
		return -1;
	}
	if (size < 1 || (rec[0] & 7) < 1 || (rec[0] & 7) > 4 || (rec[0] & 0x78))
		return -1;
	m->type = (gkv_otype)(rec[0] & 7);
	if (!(rec[0] & 0x80)) {
		m->len = size - 1;
		FUZZ_CHECK((m->data = malloc(m->len + 1)) != NULL);
		memcpy(m->data, rec + 1, m->len);
		return 0;
	}
	if (size < 9)
		return -1;
	for (int i = 7; i >= 0; i--)
		raw = raw << 8 | rec[1 + i];
	slen = size - 9;
	/* deflate cannot expand more than about 1032:1: a larger length is
	 * not one a stream of slen bytes can have */
	if (raw > (uint64_t)slen * 1032 + 64)
		return -1;
	FUZZ_CHECK((m->data = malloc((size_t)raw + 1)) != NULL);
	memset(&zs, 0, sizeof(zs));
	FUZZ_CHECK(inflateInit(&zs) == Z_OK);
	zs.next_in = (unsigned char *)rec + 9;
	zs.avail_in = (uInt)slen;
	zs.next_out = m->data;
	zs.avail_out = (uInt)raw + 1;
	zr = inflate(&zs, Z_FINISH);
	inflateEnd(&zs);
	if (zr != Z_STREAM_END || zs.total_out != raw || zs.total_in != slen) {
		free(m->data);
		m->data = NULL;
		return -1;
	}
	m->len = (size_t)raw;
	return 0;
}

typedef struct {
	unsigned char *buf;
	size_t len, cap, calls;
	uint64_t size;
	gkv_otype type;
} pieces;

static int take_piece(gkv_otype type, uint64_t size, const void *data, size_t len, void *payload)
{
	pieces *p = payload;

	if (p->calls++ == 0) {
		p->size = size;
		p->type = type;
	}
	FUZZ_CHECK(p->size == size && p->type == type);
	FUZZ_CHECK(p->len + len <= size);
	if (p->len + len > p->cap) {
		p->cap = (p->len + len) * 2;
		FUZZ_CHECK((p->buf = realloc(p->buf, p->cap)) != NULL);
	}
	if (len)
		memcpy(p->buf + p->len, data, len);
	p->len += len;
	return 0;
}

static int find_key(const gkv_oid *id, void *payload)
{
	if (gkv_oid_equal(id, &key))
		*(int *)payload = 1;
	return 0;
}

static void expect_corrupt_message(void)
{
	FUZZ_CHECK(strstr(gkv_error_last(), hex) != NULL);
	FUZZ_CHECK(strstr(gkv_error_last(), dir) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *rec;
	size_t len;
	model_obj m = {0};
	gkv_backend *b;
	void *got = NULL;
	size_t glen = 0;
	gkv_otype type;
	uint64_t hsize;
	pieces p = {0};
	int ok, rc, found = 0;

	if (size < 1)
		return 0;
	if (!dir)
		init();
	len = size - 1;
	FUZZ_CHECK((rec = malloc(len + 4)) != NULL);
	if (len)
		memcpy(rec, data + 1, len);
	if (!(data[0] & 1)) {
		uint32_t crc = gkv__crc32c(gkv__crc32c(0, key.id, GKV_OID_RAWSZ), rec, len);

		for (int i = 0; i < 4; i++)
			rec[len++] = (unsigned char)(crc >> (8 * i));
	}
	if (len == 0) { /* LMDB takes no empty value */
		free(rec);
		return 0;
	}
	put_record(rec, len);
	ok = model_decode(&m, rec, len) == 0;

	FUZZ_CHECK(gkv_backend_lmdb_open(&b, dir, data[0] & 2 ? GKV_LMDB_READONLY : 0) == 0);
	rc = b->read(&got, &glen, &type, b, &key);
	if (ok) {
		FUZZ_CHECK(rc == 0 && type == m.type && glen == m.len);
		FUZZ_CHECK(m.len == 0 || !memcmp(got, m.data, m.len));
		gkv_backend_data_free(got);
	} else {
		FUZZ_CHECK(rc == GKV_E_CORRUPT && got == NULL);
		expect_corrupt_message();
	}

	rc = b->read_stream(b, &key, take_piece, &p);
	if (ok) {
		FUZZ_CHECK(rc == 0 && p.calls > 0 && p.type == m.type && p.size == m.len);
		FUZZ_CHECK(p.len == m.len && (m.len == 0 || !memcmp(p.buf, m.data, m.len)));
	} else {
		FUZZ_CHECK(rc == GKV_E_CORRUPT);
		expect_corrupt_message();
		if (m.crc_bad || len < 5)
			FUZZ_CHECK(p.calls == 0);
	}
	free(p.buf);

	rc = b->read_header(&hsize, &type, b, &key);
	FUZZ_CHECK(rc == 0 || rc == GKV_E_CORRUPT);
	if (ok)
		FUZZ_CHECK(rc == 0 && hsize == m.len && type == m.type);

	FUZZ_CHECK(b->exists(b, &key) == 1);
	FUZZ_CHECK(b->foreach(b, &key, 7, find_key, &found) == 0 && found);
	b->free(b);
	free(m.data);
	free(rec);
	return 0;
}
