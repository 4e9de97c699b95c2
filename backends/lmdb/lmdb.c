/*
 * lmdb.c -- the LMDB backend: objects and refs in one LMDB environment (a
 * directory holding data.mdb and lock.mdb), shared safely by threads and
 * by processes, crash-safe by LMDB's copy-on-write design. This file is
 * the vtable and the value format; env.c opens, shares, grows and
 * transacts on the environment.
 *
 * Layout, named databases (three in a format-1 environment, and the
 * reflog and config as they are made):
 *   "objects"  key: the 20-byte raw id
 *              value: one header byte, then the payload. Header bits 0-2
 *              are the git type (1..4), bit 7 says the payload is zlib
 *              compressed; bits 3-6 are zero. A compressed value is
 *              header, uncompressed length (8 bytes, little-endian), zlib
 *              stream. Payloads over COMPRESS_MIN (trees excepted) are
 *              compressed when that saves space; small ones are not worth
 *              the CPU.
 *   "commits"  formats 2 to 4: the commit objects, keyed and encoded as
 *              in "objects" (which then holds trees, blobs and tags).
 *              Mixed in with ~50 trees and blobs each, a history's
 *              commits would sit one per page, and a walk would touch as
 *              many pages as commits; here they are dense. Format 1 has
 *              no "commits": its commits are in "objects", and stay so.
 *   "trees"    format 4: the tree objects, likewise ("objects" then holds
 *              blobs and tags). Among the blobs, the 5,880 trees of a
 *              head of libgit2's history lie one to a page across 690 MiB,
 *              and a listing touches thousands of pages; here they share
 *              a database a twentieth of that size.
 *              An id is in one of the databases, never two (put_object).
 *   "refs"     key: the full ref name (no NUL); value: the 20-byte id.
 *   "meta"     format magic and version (env.c).
 *   "reflog"   the log of ref moves, in any format since it exists (env.c
 *              adds it at a writable open). key: the ref name, a NUL, and
 *              a sequence number (8 bytes, big-endian), so that a ref's
 *              records are contiguous and in the order they landed; value:
 *              old id (20), new id (20), time (8, little-endian, seconds),
 *              zone offset (4, little-endian, minutes), then "name\0email\0"
 *              and the message (no NUL), and from format 3 on the checksum. A
 *              record is written by the write transaction that moves its
 *              ref, never by another, so the log holds every move that
 *              landed and no other.
 *   "config"   the store's settings (backend.h: config_*), made by the
 *              first write of one, in any format (env.c). key: the
 *              setting's key (as the library gives it: section and name
 *              lower-case; no NUL); value: the value's bytes (no NUL),
 *              then from format 3 on the checksum. Each write of a setting is
 *              a write transaction of its own, under the writer lock.
 *
 * Formats 3 and 4 end every value of "objects", "commits", "trees",
 * "refs", "reflog" and "config" with a CRC-32C (util/crc32c.c, 4 bytes little-endian) of
 * the key followed by the rest of the value: an object's record is then header, payload, checksum; a
 * ref's value, the 20-byte id and the checksum. The key is covered so
 * that a value found under another key (a damaged branch page) fails
 * too. A read checks the checksum before it decodes anything, and says
 * GKV_E_CORRUPT naming the id (or ref) and the store; formats 1 and 2
 * have no checksums and are read unchecked. CRC-32C and not the object's
 * SHA-1: it is what a random read can afford (the CPU's instruction takes
 * 8 bytes a step, a few dozen instructions for a small record; zlib's
 * CRC-32 cost ~600 there, and hashing would cost more than the lookup).
 *
 * Reads look in every database there is: first where an object of the
 * type the caller expects goes (read_typed: a commit in "commits", a
 * tree in "trees"), "objects" first otherwise, so that a walk or a
 * listing finds each object with one lookup. An upgraded store
 * (upgrade.c) is read the same way.
 *
 * Writes: one write transaction per batch commit (or ref CAS), so a
 * commit's objects and its ref update land together; the CAS is checked
 * inside that transaction, which LMDB serialises across threads and
 * processes. A batch past SPILL_BYTES keeps its records in a staging
 * file (stage.c) and stores them at commit in several transactions under
 * the writer lock, its refs moving with the last (commit_staged).
 * Objects are encoded when added to the batch, so that the write
 * transaction only copies bytes. Reads check what they find: a bad
 * header or a stream that does not inflate to its length is GKV_E_CORRUPT.
 * Callbacks (foreach, ref_list, reflog_read, reflog_list, config_list)
 * run after the read transaction ended, on a copy, so that they may use
 * the backend freely.
 *
 * Reclaiming space (gc): a batch may delete objects and whole logs. Its
 * write transaction deletes the logs first (a ref the batch moves then
 * starts a new log), checks and applies the ref CASes, deletes the
 * objects, then writes the batch's own objects (one both deleted and
 * written stays). Objects are written only if absent at commit time, so
 * a batch that raced a delete still lands what it wrote.
 */
#include <pthread.h>
#include <stddef.h>
#include <time.h>
#include <zlib.h>

#include <libdeflate.h>

#include "env.h"
#include "stage.h"
#include "arena.h"
#include "crc32c.h"

#define COMPRESS_MIN 1024
#define HDR_ZLIB 0x80
#define HDR_TYPE 0x07
#define ZHDR_SIZE 9 /* header byte + 8-byte length */
#define CRC_SIZE 4  /* formats 3 and 4: the checksum at the end of a value */
#define REF_V3_SIZE (GKV_OID_RAWSZ + CRC_SIZE)
#define LOG_SEQ_SIZE 9		/* the NUL and the sequence number after a ref's name */
#define LOG_FIXED (2 * GKV_OID_RAWSZ + 8 + 4)
/* A batch whose encoded objects pass this many bytes moves them to its
 * staging file (stage.c, a spill) and keeps their ids: memory stays
 * bounded however large the batch (a clone). Its commit then stores them
 * in parts of about this many bytes, in key order, a write transaction
 * each, and moves its refs with the last part: LMDB's dirty pages stay
 * bounded too, which a single transaction would hold for all of it
 * (cloning libgit2's repository: 1.9 GB peak RSS in one transaction). */
#define SPILL_BYTES ((size_t)16 << 20)
/* A staged part lets go of the pages it mapped after this many records. */
#define RELEASE_EVERY 2048

typedef struct {
	gkv_backend parent;
	lenv *e;
	bool readonly;
} lmdb_backend;

/* The databases an object may be in, in the order a batch fills them. */
enum { DB_TREES, DB_COMMITS, DB_OBJECTS, NDBS };

typedef struct {
	gkv_oid id;
	int db;		     /* DB_*: where its type goes in this environment */
	bool big;	     /* its record leaves the leaf for pages of its own */
	unsigned char *data; /* the encoded value, in the batch's arena; NULL: staged */
	size_t len;
	uint64_t off; /* a staged record's offset in the staging file */
} lobj;

typedef gkv__backend_cas lcas;

/* Who moves ref and why, for its log records: when, offset, and the
 * record's tail (who_encode). */
typedef struct lwho {
	char *ref;
	int64_t when;
	int offset;
	gkv__sbuf tail;
} lwho;

typedef struct {
	gkv_batch parent;
	gkv__arena arena; /* encoded values (14 MB for a bulk load of 100,000 values; see arena.h) */
	size_t bytes;	  /* their total size */
	lobj *objs;
	size_t nobjs, capobjs;
	lcas *cas;
	size_t ncas, capcas;
	struct lwho *who; /* per ref name, who moves it and why (the last given) */
	size_t nwho, capwho;
	gkv_oid *dels; /* objects to delete */
	size_t ndels, capdels;
	char **logdels; /* refs whose logs to delete */
	size_t nlogdels, caplogdels;
	gkv__lmdb_stage stage; /* where spilled records wait for the commit */
	lobj *staged;	       /* the spilled records */
	size_t nstaged, capstaged;
} lbatch;

/* ---- errors ---- */

static int corrupt_object(const lenv *e, const gkv_oid *id, const char *why)
{
	char hex[GKV_OID_HEXSZ + 1];

	gkv__backend_hex(hex, id);
	return gkv_error_set(GKV_E_CORRUPT, "lmdb '%s': object %s is corrupt: %s", e->path, hex,
			     why);
}

static int check_ref_name(const lenv *e, const char *name)
{
	if (!name || !*name)
		return gkv_error_set(GKV_E_INVALID, "lmdb '%s': empty ref name", e->path);
	/* LMDB's largest key (511 bytes in a default build), less what the
	 * key of a record of its log adds. */
	if (strlen(name) + LOG_SEQ_SIZE > (size_t)e->maxkeysize)
		return gkv_error_set(GKV_E_INVALID, "lmdb '%s': ref name '%.60s...' is too long",
				     e->path, name);
	return 0;
}

/* ---- the value format ---- */

static void put_le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Formats 3 and 4: the checksum of a value: CRC-32C of its key, then of its bytes
 * before the checksum. */
static uint32_t record_crc(const void *key, size_t klen, const void *val, size_t vlen)
{
	return gkv__crc32c(gkv__crc32c(0, key, klen), val, vlen);
}

static void put_crc(unsigned char *p, uint32_t c)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(c >> (8 * i));
}

static bool crc_ok(const unsigned char *p, uint32_t c)
{
	return (p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24) == c;
}

/*
 * Values are compressed and inflated whole, with libdeflate: its zlib
 * streams are zlib's (any zlib reads them, and it reads any zlib stream,
 * so stores written before read the same), at three times zlib's speed
 * at level 1 on source files, and it inflates a value of known size
 * four times as fast. Its compressors (tables of some 100 KiB) and
 * decompressors are kept for reuse, a few for the whole process: one
 * made per value cost more than compressing the value, in memory
 * touched fresh each time. (zlib's compress2 made its 256 KiB state per
 * call, which the allocator maps and unmaps: most of a clone's time.)
 */
#define ZPOOL 8

typedef struct {
	void *item[ZPOOL];
	size_t n;
} zpool;

static pthread_mutex_t zpool_lock = PTHREAD_MUTEX_INITIALIZER;
static zpool cpool, dpool; /* compressors, decompressors */

/* One kept (de)compressor, or NULL: the caller makes one. */
static void *pool_get(zpool *p)
{
	void *v = NULL;

	pthread_mutex_lock(&zpool_lock);
	if (p->n)
		v = p->item[--p->n];
	pthread_mutex_unlock(&zpool_lock);
	return v;
}

/* Keep v (not NULL) for the next caller: false if the pool is full, and
 * the caller frees it. */
static bool pool_put(zpool *p, void *v)
{
	bool kept;

	pthread_mutex_lock(&zpool_lock);
	if ((kept = p->n < ZPOOL))
		p->item[p->n++] = v;
	pthread_mutex_unlock(&zpool_lock);
	return kept;
}

/* Trees are mostly 20-byte hashes, which do not compress, and they are
 * rewritten on every commit and read on every cache miss: a deflate (and
 * its 256 KiB state) each time cost more than the few bytes it saved (in
 * commits on a store of a million values). Only blobs and commits are
 * compressed. */
static bool worth_zip(gkv_otype type, size_t len)
{
	return len > COMPRESS_MIN && type != GKV_OBJ_TREE;
}

/* The bytes a record of len bytes of data may take: compressed or not. */
static int record_cap(size_t *cap, gkv_otype type, size_t len, bool zip, bool crc)
{
	if (type < GKV_OBJ_COMMIT || type > GKV_OBJ_TAG)
		return gkv_error_set(GKV_E_INVALID, "lmdb: object type %d cannot be stored", type);
	if (len > SIZE_MAX / 2 - ZHDR_SIZE - CRC_SIZE)
		return gkv__oom();
	*cap = (zip ? ZHDR_SIZE + compressBound(len) : 1 + len) + (crc ? CRC_SIZE : 0);
	return 0;
}

/*
 * Encode an object into p (cap bytes, from record_cap): its record's
 * length. Compressed when zip and that saves space; crc (formats 3 and
 * 4): ended with the checksum of id and the record.
 */
static size_t encode_into(unsigned char *p, size_t cap, bool zip, gkv_otype type, const void *data,
			  size_t len, const gkv_oid *id, bool crc)
{
	unsigned char hdr = (unsigned char)type;
	size_t tail = crc ? CRC_SIZE : 0, outlen = 0;

	if (zip) {
		struct libdeflate_compressor *c = pool_get(&cpool);
		size_t clen = 0; /* no memory for a compressor: stored as it is */

		if (c || (c = libdeflate_alloc_compressor(1)) != NULL) {
			clen = libdeflate_zlib_compress(c, data, len, p + ZHDR_SIZE,
							cap - ZHDR_SIZE - tail);
			if (!pool_put(&cpool, c))
				libdeflate_free_compressor(c);
		}
		if (clen && clen + ZHDR_SIZE < len + 1) {
			p[0] = hdr | HDR_ZLIB;
			put_le64(p + 1, len);
			outlen = ZHDR_SIZE + clen;
		}
	}
	if (!outlen) {
		p[0] = hdr;
		if (len)
			memcpy(p + 1, data, len);
		outlen = 1 + len;
	}
	if (crc) {
		put_crc(p + outlen, record_crc(id->id, GKV_OID_RAWSZ, p, outlen));
		outlen += CRC_SIZE;
	}
	return outlen;
}

/* Encode an object into the arena: *out, *outlen. The block is taken for
 * the worst case and shrunk to what was written. */
static int encode(unsigned char **out, size_t *outlen, gkv__arena *a, gkv_otype type,
    const void *data, size_t len, const gkv_oid *id, bool crc)
{
	bool zip = worth_zip(type, len);
	unsigned char *p;
	size_t cap;
	int rc;

	if ((rc = record_cap(&cap, type, len, zip, crc)) < 0)
		return rc;
	if (!(p = gkv__arena_alloc(a, cap)) && zip) {
		zip = false; /* try uncompressed, which needs less */
		if ((rc = record_cap(&cap, type, len, zip, crc)) < 0)
			return rc;
		p = gkv__arena_alloc(a, cap);
	}
	if (!p)
		return GKV_E_NOMEM;
	*outlen = encode_into(p, cap, zip, type, data, len, id, crc);
	gkv__arena_shrink(a, p, cap, *outlen);
	*out = p;
	return 0;
}

/* What a record says of itself, read in place. */
typedef struct {
	gkv_otype type;
	bool zip;
	size_t size; /* the record's bytes, its checksum left out */
	size_t hdr;  /* header bytes before the data: 1, or ZHDR_SIZE if zip */
	uint64_t raw; /* the object's size */
} lrec;

/* Parse the header of v (id's record); with check, verify its checksum. */
static int rec_parse(lrec *r, const lenv *e, const gkv_oid *id, const MDB_val *v, bool check)
{
	const unsigned char *p = v->mv_data;
	int t;

	r->size = v->mv_size;
	if (e->checksums) {
		if (r->size < 1 + CRC_SIZE)
			return corrupt_object(e, id, "record too short for its checksum");
		r->size -= CRC_SIZE;
		if (check && !crc_ok(p + r->size, record_crc(id->id, GKV_OID_RAWSZ, p, r->size)))
			return corrupt_object(e, id, "checksum mismatch (the record is damaged)");
	}
	if (r->size < 1)
		return corrupt_object(e, id, "empty record");
	t = p[0] & HDR_TYPE;
	if (t < GKV_OBJ_COMMIT || t > GKV_OBJ_TAG || (p[0] & ~(HDR_TYPE | HDR_ZLIB)))
		return corrupt_object(e, id, "bad header byte");
	r->type = (gkv_otype)t;
	r->zip = (p[0] & HDR_ZLIB) != 0;
	r->hdr = r->zip ? ZHDR_SIZE : 1;
	if (r->size < r->hdr)
		return corrupt_object(e, id, "truncated header");
	r->raw = r->zip ? get_le64(p + 1) : r->size - 1;
	if (r->zip && r->raw > (uint64_t)(r->size - ZHDR_SIZE) * 1032 + 64)
		return corrupt_object(e, id, "recorded length is impossible");
	return 0;
}

/* Decode the record v of id (its checksum checked first) into a new buffer. */
static int decode(void **data, size_t *len, gkv_otype *type, const lenv *e, const gkv_oid *id,
		  const MDB_val *v)
{
	const unsigned char *p = v->mv_data;
	unsigned char *out;
	lrec r;
	int rc;

	if ((rc = rec_parse(&r, e, id, v, true)) < 0)
		return rc;
	if (r.raw > SIZE_MAX - 1)
		return corrupt_object(e, id, "recorded length is impossible");
	if (!(out = gkv_backend_data_alloc((size_t)r.raw)))
		return GKV_E_NOMEM;
	if (!r.zip) {
		memcpy(out, p + 1, (size_t)r.raw);
	} else {
		struct libdeflate_decompressor *d = pool_get(&dpool);
		size_t used = 0, got = 0;
		enum libdeflate_result lr;

		if (!d && !(d = libdeflate_alloc_decompressor())) {
			gkv_backend_data_free(out);
			return gkv__oom();
		}
		lr = libdeflate_zlib_decompress_ex(d, p + ZHDR_SIZE, r.size - ZHDR_SIZE, out,
						   (size_t)r.raw, &used, &got);
		if (!pool_put(&dpool, d))
			libdeflate_free_decompressor(d);
		if (lr != LIBDEFLATE_SUCCESS || got != r.raw || used != r.size - ZHDR_SIZE) {
			gkv_backend_data_free(out);
			return corrupt_object(e, id, "does not inflate to its recorded length");
		}
	}
	*data = out;
	*len = (size_t)r.raw;
	*type = r.type;
	return 0;
}

/* ---- objects ---- */

/* Which database an object of type t goes to in e (DB_*). */
static int home_db(const lenv *e, gkv_otype t)
{
	if (t == GKV_OBJ_COMMIT && e->split_commits)
		return DB_COMMITS;
	if (t == GKV_OBJ_TREE && e->split_trees)
		return DB_TREES;
	return DB_OBJECTS;
}

/* The handle of database db (DB_*) of e; 0 where e has no such database. */
static MDB_dbi db_handle(const lenv *e, int db)
{
	if (db == DB_COMMITS)
		return e->split_commits ? e->commits : 0;
	if (db == DB_TREES)
		return e->split_trees ? e->trees : 0;
	return e->objects;
}

/*
 * The databases to look for an object of type want in, into dbs: where
 * such an object goes first (GKV_OBJ_ANY: "objects", home of the blobs,
 * the most numerous), then every other database e has -- want is a hint,
 * not a filter. The count.
 */
static size_t lookup_order(MDB_dbi *dbs, const lenv *e, gkv_otype want)
{
	static const int rest[] = {DB_OBJECTS, DB_TREES, DB_COMMITS};
	int home = home_db(e, want);
	size_t n = 0;

	dbs[n++] = db_handle(e, home);
	for (size_t i = 0; i < sizeof(rest) / sizeof(*rest); i++)
		if (rest[i] != home && db_handle(e, rest[i]))
			dbs[n++] = db_handle(e, rest[i]);
	return n;
}

/* Find id's record, where an object of type want would be first. */
static int get_object(MDB_val *v, const lenv *e, MDB_txn *txn, const gkv_oid *id, gkv_otype want)
{
	MDB_val k = {GKV_OID_RAWSZ, (void *)id->id};
	MDB_dbi dbs[NDBS];
	size_t n = lookup_order(dbs, e, want);
	int rc = MDB_NOTFOUND;

	for (size_t i = 0; i < n && rc == MDB_NOTFOUND; i++)
		rc = mdb_get(txn, dbs[i], &k, v);
	return rc;
}

/* What a read takes out of a record: the object (raw: the record as it
 * is), its size and type. */
typedef struct {
	void **data;
	size_t *len;
	gkv_otype *type;
	bool raw;
} rec_out;

/* Find id's record (want: get_object's hint) in a read transaction of
 * its own and copy out what o asks for; GKV_E_NOTFOUND names the id. */
static int read_record(lenv *e, const gkv_oid *id, gkv_otype want, const rec_out *o)
{
	MDB_val v;
	char hex[GKV_OID_HEXSZ + 1];
	MDB_txn *txn;
	lrec r;
	int rc;

	if ((rc = gkv__lmdb_rtxn_begin(&txn, e)) < 0)
		return rc;
	rc = get_object(&v, e, txn, id, want);
	if (rc == MDB_NOTFOUND)
		rc = GKV_E_NOTFOUND;
	else if (rc != 0)
		rc = gkv__lmdb_error(e->path, rc, "cannot read an object");
	else if (!o->raw)
		rc = decode(o->data, o->len, o->type, e, id, &v);
	else if ((rc = rec_parse(&r, e, id, &v, true)) == 0 &&
		 (*o->data = gkv_backend_data_alloc(v.mv_size)) == NULL)
		rc = GKV_E_NOMEM;
	else if (rc == 0) {
		memcpy(*o->data, v.mv_data, v.mv_size);
		*o->len = v.mv_size;
		*o->type = r.type;
	}
	gkv__lmdb_rtxn_end(e, txn);
	if (rc == GKV_E_NOTFOUND) {
		gkv__backend_hex(hex, id);
		return gkv_error_set(GKV_E_NOTFOUND, "lmdb '%s': object %s not found", e->path,
				     hex);
	}
	return rc;
}

static int lmdb_read_typed(void **data, size_t *len, gkv_otype *type, gkv_backend *b,
			   const gkv_oid *id, gkv_otype want)
{
	rec_out o = {data, len, type, false};

	return read_record(((lmdb_backend *)b)->e, id, want, &o);
}

static int lmdb_read(void **data, size_t *len, gkv_otype *type, gkv_backend *b, const gkv_oid *id)
{
	return lmdb_read_typed(data, len, type, b, id, GKV_OBJ_ANY);
}

/* ---- raw records ---- */

/* What raw_format names: a record as formats 3 and 4 hold it in any of
 * their object databases (header, payload, CRC-32C of the id and the
 * record). */
#define RAW_FORMAT "gitkv-lmdb-record-crc32c"

/* The record batch_write would make of the object (backend.h:
 * encode_raw). It reads only the environment's fixed checksums flag, so
 * any thread may call it. */
static int lmdb_encode_raw(void **rec, size_t *reclen, gkv_backend *b, const gkv_oid *id,
			   gkv_otype type, const void *data, size_t len)
{
	lenv *e = ((lmdb_backend *)b)->e;
	bool zip = worth_zip(type, len);
	unsigned char *p, *shrunk;
	size_t cap;
	int rc;

	if (!rec || !reclen || !id || (!data && len))
		return gkv_error_set(GKV_E_INVALID, "lmdb '%s': nothing to encode", e->path);
	if ((rc = record_cap(&cap, type, len, zip, e->checksums)) < 0)
		return rc;
	if (!(p = gkv_backend_data_alloc(cap)))
		return GKV_E_NOMEM;
	*reclen = encode_into(p, cap, zip, type, data, len, id, e->checksums);
	/* a compressed record is a fraction of its bound: give the rest back */
	if (cap - *reclen >= 4096 && (shrunk = realloc(p, *reclen)) != NULL)
		p = shrunk;
	*rec = p;
	return 0;
}

/* Id's record, checked, copied out as it is stored (backend.h: read_raw). */
static int lmdb_read_raw(void **rec, size_t *len, gkv_otype *type, gkv_backend *b,
			 const gkv_oid *id)
{
	rec_out o = {rec, len, type, true};

	return read_record(((lmdb_backend *)b)->e, id, GKV_OBJ_ANY, &o);
}

/* ---- headers and streams ---- */

/*
 * Copy up to cap bytes of id's record from offset off into buf, in a read
 * transaction of its own (the record's header parsed into r; with check,
 * its checksum verified first): what lets a stream run the caller's code
 * with no transaction open.
 */
static int rec_slice(size_t *got, lrec *r, lenv *e, const gkv_oid *id, size_t off,
    unsigned char *buf, size_t cap, bool check)
{
	char hex[GKV_OID_HEXSZ + 1];
	MDB_txn *txn;
	MDB_val v;
	size_t size = r->size;

	*got = 0;
	int rc;

	if ((rc = gkv__lmdb_rtxn_begin(&txn, e)) < 0)
		return rc;
	if ((rc = get_object(&v, e, txn, id, GKV_OBJ_BLOB)) == MDB_NOTFOUND) {
		gkv__backend_hex(hex, id);
		rc = off ? corrupt_object(e, id, "vanished while being read")
			 : gkv_error_set(GKV_E_NOTFOUND, "lmdb '%s': object %s not found", e->path, hex);
	} else if (rc != 0) {
		rc = gkv__lmdb_error(e->path, rc, "cannot read an object");
	} else if ((rc = rec_parse(r, e, id, &v, check)) == 0) {
		if (off && r->size != size)
			rc = corrupt_object(e, id, "changed while being read");
		else {
			*got = r->size - off < cap ? r->size - off : cap;
			memcpy(buf, (const unsigned char *)v.mv_data + off, *got);
		}
	}
	gkv__lmdb_rtxn_end(e, txn);
	return rc;
}

static int lmdb_read_header(uint64_t *size, gkv_otype *type, gkv_backend *b, const gkv_oid *id)
{
	lenv *e = ((lmdb_backend *)b)->e;
	char hex[GKV_OID_HEXSZ + 1];
	MDB_txn *txn;
	MDB_val v;
	lrec r;
	int rc;

	if ((rc = gkv__lmdb_rtxn_begin(&txn, e)) < 0)
		return rc;
	if ((rc = get_object(&v, e, txn, id, GKV_OBJ_ANY)) == 0)
		rc = rec_parse(&r, e, id, &v, false);
	else if (rc == MDB_NOTFOUND) {
		gkv__backend_hex(hex, id);
		rc = gkv_error_set(GKV_E_NOTFOUND, "lmdb '%s': object %s not found", e->path, hex);
	} else {
		rc = gkv__lmdb_error(e->path, rc, "cannot read an object");
	}
	gkv__lmdb_rtxn_end(e, txn);
	if (rc == 0) {
		*size = r.raw;
		*type = r.type;
	}
	return rc;
}

#define STREAM_CHUNK ((size_t)64 << 10)

/*
 * A record a slice at a time: each slice copied out in a read transaction
 * of its own, then inflated (or passed on) a buffer at a time, so that the
 * caller's callback runs with no transaction open and memory stays two
 * buffers and a zlib stream whatever the object's size. The checksum is
 * verified before the first byte is given (the first transaction reads
 * the whole record in place for it), so a damaged record gives nothing.
 */
static int lmdb_read_stream(gkv_backend *b, const gkv_oid *id, gkv_backend_stream_cb cb,
    void *payload)
{
	lenv *e = ((lmdb_backend *)b)->e;
	unsigned char *in = malloc(STREAM_CHUNK), *out = NULL;
	size_t off = 0, got = 0;
	uint64_t given = 0;
	bool zinit = false, ended = false;
	z_stream zs;
	lrec r;
	int rc, zr;

	if (!in)
		return gkv__oom();
	memset(&zs, 0, sizeof(zs));
	memset(&r, 0, sizeof(r));
	for (;;) {
		size_t skip;

		if ((rc = rec_slice(&got, &r, e, id, off, in, STREAM_CHUNK, off == 0)) < 0)
			goto out;
		skip = off == 0 ? r.hdr : 0;
		if (off == 0 && r.zip) {
			if (!(out = malloc(STREAM_CHUNK)) || inflateInit(&zs) != Z_OK) {
				rc = gkv__oom();
				goto out;
			}
			zinit = true;
		}
		off += got;
		if (!r.zip) {
			if ((got > skip || r.raw == 0) &&
			    (rc = cb(r.type, r.raw, in + skip, got - skip, payload)) != 0)
				goto out;
			given += got - skip;
		} else {
			zs.next_in = in + skip;
			zs.avail_in = (uInt)(got - skip);
			do {
				size_t made;

				zs.next_out = out;
				zs.avail_out = (uInt)STREAM_CHUNK;
				zr = inflate(&zs, Z_NO_FLUSH);
				if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
					rc = zr == Z_MEM_ERROR ? gkv__oom()
							       : corrupt_object(e, id, "does not inflate");
					goto out;
				}
				made = STREAM_CHUNK - zs.avail_out;
				if (made > r.raw - given) {
					rc = corrupt_object(e, id, "inflates past its recorded length");
					goto out;
				}
				if (made && (rc = cb(r.type, r.raw, out, made, payload)) != 0)
					goto out;
				given += made;
				ended = zr == Z_STREAM_END;
			} while (!ended && (zs.avail_in > 0 || zs.avail_out == 0));
			if (ended && (zs.avail_in > 0 || off < r.size)) {
				rc = corrupt_object(e, id, "has bytes after its compressed data");
				goto out;
			}
		}
		if (off >= r.size)
			break;
	}
	if (r.zip && (!ended || given != r.raw))
		rc = corrupt_object(e, id, "does not inflate to its recorded length");
	else if (r.zip && r.raw == 0)
		rc = cb(r.type, 0, out, 0, payload);
out:
	if (zinit)
		inflateEnd(&zs);
	free(out);
	free(in);
	return rc;
}

static int lmdb_exists(gkv_backend *b, const gkv_oid *id)
{
	lenv *e = ((lmdb_backend *)b)->e;
	MDB_val v;
	MDB_txn *txn;
	int rc;

	if ((rc = gkv__lmdb_rtxn_begin(&txn, e)) < 0)
		return rc;
	rc = get_object(&v, e, txn, id, GKV_OBJ_ANY);
	gkv__lmdb_rtxn_end(e, txn);
	if (rc == 0 || rc == MDB_NOTFOUND)
		return rc == 0;
	return gkv__lmdb_error(e->path, rc, "cannot look an object up");
}

typedef struct {
	gkv_oid *ids;
	size_t n, cap;
} oid_vec;

static int oid_vec_push(oid_vec *v, const void *raw)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 256;
		gkv_oid *p = realloc(v->ids, cap * sizeof(*p));

		if (!p)
			return gkv__oom();
		v->ids = p;
		v->cap = cap;
	}
	memcpy(v->ids[v->n++].id, raw, GKV_OID_RAWSZ);
	return 0;
}

/* Walk the ids of database dbi from the first that can match the prefix
 * (MDB_SET_RANGE: keys sort as their hex does) until the first that does
 * not. */
static int scan_ids(oid_vec *out, lenv *e, MDB_txn *txn, MDB_dbi dbi, const gkv_oid *prefix,
		    size_t hexlen)
{
	gkv_oid start;
	MDB_val k = {GKV_OID_RAWSZ, start.id}, v;
	MDB_cursor *cur;
	int rc;

	memset(&start, 0, sizeof(start));
	if (hexlen) {
		memcpy(start.id, prefix->id, (hexlen + 1) / 2);
		if (hexlen % 2)
			start.id[hexlen / 2] &= 0xf0;
	}
	if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0)
		return gkv__lmdb_error(e->path, rc, "cannot list objects");
	rc = mdb_cursor_get(cur, &k, &v, hexlen ? MDB_SET_RANGE : MDB_FIRST);
	while (rc == 0) {
		if (k.mv_size != GKV_OID_RAWSZ) {
			rc = gkv_error_set(GKV_E_CORRUPT, "lmdb '%s': object key of %zu bytes",
					   e->path, k.mv_size);
			break;
		}
		if (hexlen && !gkv__backend_prefix_match(k.mv_data, prefix, hexlen))
			break;
		if ((rc = oid_vec_push(out, k.mv_data)) < 0)
			break;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc == 0 || rc == MDB_NOTFOUND || gkv__lmdb_is_gkv_code(rc))
		return rc == MDB_NOTFOUND ? 0 : rc;
	return gkv__lmdb_error(e->path, rc, "cannot list objects");
}

/* Callbacks run after the read transaction ended, on a copy of the ids,
 * so that they may do anything with the backend, writes included. */
static int lmdb_foreach(gkv_backend *b, const gkv_oid *prefix, size_t prefix_hexlen,
			gkv_backend_oid_cb cb, void *payload)
{
	lenv *e = ((lmdb_backend *)b)->e;
	oid_vec ids = {NULL, 0, 0};
	MDB_txn *txn;
	int rc;

	if (prefix_hexlen > GKV_OID_HEXSZ || (prefix_hexlen && !prefix))
		return gkv_error_set(GKV_E_INVALID, "lmdb '%s': object prefix of %zu hex digits",
				     e->path, prefix_hexlen);
	if ((rc = gkv__lmdb_rtxn_begin(&txn, e)) < 0)
		return rc;
	/* An id is in one database only: each object is reported once. */
	for (int db = 0; rc == 0 && db < NDBS; db++)
		if (db_handle(e, db))
			rc = scan_ids(&ids, e, txn, db_handle(e, db), prefix, prefix_hexlen);
	gkv__lmdb_rtxn_end(e, txn);
	for (size_t i = 0; rc == 0 && i < ids.n; i++)
		rc = cb(&ids.ids[i], payload);
	free(ids.ids);
	return rc;
}

/* ---- the log of ref moves ---- */

/*
 * Who moves a ref and why, encoded once as the tail of its log records:
 * "name\0email\0message". A batch keeps one per ref name (the name, a
 * NUL, then the time, offset and tail), the last given winning.
 */
static int who_encode(gkv__sbuf *out, const char *name, const char *email, const char *message)
{
	int rc;

	if ((rc = gkv__sbuf_put(out, name, strlen(name) + 1)) < 0 ||
	    (rc = gkv__sbuf_put(out, email, strlen(email) + 1)) < 0)
		return rc;
	return gkv__sbuf_put(out, message, strlen(message));
}

/* The key of record seq of ref name's log, into k (buf holds it). */
static void log_key(MDB_val *k, unsigned char *buf, const char *name, size_t nlen, uint64_t seq)
{
	memcpy(buf, name, nlen);
	buf[nlen] = '\0';
	for (int i = 0; i < 8; i++)
		buf[nlen + 1 + (size_t)i] = (unsigned char)(seq >> (8 * (7 - i)));
	k->mv_size = nlen + LOG_SEQ_SIZE;
	k->mv_data = buf;
}

static bool log_key_of(const MDB_val *k, const char *name, size_t nlen)
{
	return k->mv_size == nlen + LOG_SEQ_SIZE && memcmp(k->mv_data, name, nlen) == 0 &&
	       ((const unsigned char *)k->mv_data)[nlen] == '\0';
}

static uint64_t log_key_seq(const MDB_val *k)
{
	const unsigned char *p = (const unsigned char *)k->mv_data + k->mv_size - 8;
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* Put cur on the newest record of name's log: 0, or MDB_NOTFOUND if it has none. */
static int log_seek_newest(MDB_cursor *cur, MDB_val *k, MDB_val *v, const char *name, size_t nlen,
			   unsigned char *buf)
{
	int rc;

	log_key(k, buf, name, nlen, UINT64_MAX);
	rc = mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
	if (rc == 0 && log_key_of(k, name, nlen))
		return 0; /* the record numbered UINT64_MAX itself */
	if (rc == 0)
		rc = mdb_cursor_get(cur, k, v, MDB_PREV);
	else if (rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(cur, k, v, MDB_LAST);
	if (rc == 0 && !log_key_of(k, name, nlen))
		rc = MDB_NOTFOUND;
	return rc;
}

/*
 * Log, inside txn, that ref name went from cur to target (NULL: absent),
 * with tail (who_encode's bytes) at when/offset. A move to where the ref
 * already was is not one.
 */
static int log_move(MDB_txn *txn, lenv *e, const char *name, const gkv_oid *cur,
		    const gkv_oid *target, int64_t when, int offset, const gkv__sbuf *tail)
{
	size_t nlen = strlen(name), vlen = LOG_FIXED + tail->size + (e->checksums ? CRC_SIZE : 0);
	unsigned char kbuf[512 + LOG_SEQ_SIZE], *p;
	MDB_cursor *c;
	MDB_val k, v;
	uint64_t seq = 0;
	int rc;

	if (gkv__backend_cas_ok(cur, target) || !e->has_reflog)
		return 0;
	if (nlen + LOG_SEQ_SIZE > sizeof(kbuf))
		return gkv_error_set(GKV_E_INVALID, "lmdb '%s': ref name too long to log", e->path);
	if ((rc = mdb_cursor_open(txn, e->reflog, &c)) != 0)
		return rc;
	rc = log_seek_newest(c, &k, &v, name, nlen, kbuf);
	if (rc == 0)
		seq = log_key_seq(&k) + 1;
	mdb_cursor_close(c);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	log_key(&k, kbuf, name, nlen, seq);
	v.mv_size = vlen;
	if ((rc = mdb_put(txn, e->reflog, &k, &v, MDB_RESERVE)) != 0)
		return rc;
	p = v.mv_data;
	memset(p, 0, 2 * GKV_OID_RAWSZ);
	if (cur)
		memcpy(p, cur->id, GKV_OID_RAWSZ);
	if (target)
		memcpy(p + GKV_OID_RAWSZ, target->id, GKV_OID_RAWSZ);
	put_le64(p + 2 * GKV_OID_RAWSZ, (uint64_t)when);
	for (int i = 0; i < 4; i++)
		p[2 * GKV_OID_RAWSZ + 8 + i] = (unsigned char)((uint32_t)offset >> (8 * i));
	memcpy(p + LOG_FIXED, tail->ptr, tail->size);
	if (e->checksums)
		put_crc(p + LOG_FIXED + tail->size,
			record_crc(k.mv_data, k.mv_size, p, LOG_FIXED + tail->size));
	return 0;
}

/* A record as read, checked, into ent (pointing into v; the message,
 * not NUL-terminated there, is *msglen bytes). */
static int log_parse(gkv_backend_reflog_entry *ent, size_t *msglen, const lenv *e,
		     const char *name, const MDB_val *k, const MDB_val *v)
{
	const unsigned char *p = v->mv_data;
	size_t len;
	const char *s, *end;
	uint32_t off = 0;

	if (v->mv_size < LOG_FIXED + 2 + (e->checksums ? CRC_SIZE : 0))
		goto bad;
	len = v->mv_size - (e->checksums ? CRC_SIZE : 0);
	if (e->checksums && !crc_ok(p + len, record_crc(k->mv_data, k->mv_size, p, len)))
		return gkv_error_set(GKV_E_CORRUPT,
				     "lmdb '%s': a record of the log of ref '%s' is corrupt: "
				     "checksum mismatch",
				     e->path, name);
	memcpy(ent->old_id.id, p, GKV_OID_RAWSZ);
	memcpy(ent->new_id.id, p + GKV_OID_RAWSZ, GKV_OID_RAWSZ);
	ent->time = (int64_t)get_le64(p + 2 * GKV_OID_RAWSZ);
	for (int i = 3; i >= 0; i--)
		off = off << 8 | p[2 * GKV_OID_RAWSZ + 8 + i];
	ent->offset = (int32_t)off;
	s = (const char *)p + LOG_FIXED;
	end = (const char *)p + len;
	ent->name = s;
	if (!(s = memchr(s, '\0', (size_t)(end - s))))
		goto bad;
	ent->email = ++s;
	if (!(s = memchr(s, '\0', (size_t)(end - s))))
		goto bad;
	ent->message = ++s;
	*msglen = (size_t)(end - s);
	if (memchr(s, '\0', *msglen))
		goto bad;
	return 0;
bad:
	return gkv_error_set(GKV_E_CORRUPT,
			     "lmdb '%s': a record of the log of ref '%s' is corrupt: bad layout",
			     e->path, name);
}

/* A checked record, copied for after the transaction: the fixed part
 * (ids, time, offset) as in the record, then the three strings, each
 * NUL-terminated. */
static int log_copy(gkv__sbuf *out, const gkv_backend_reflog_entry *ent, size_t msglen)
{
	int rc;

	if ((rc = gkv__sbuf_put(out, ent, offsetof(gkv_backend_reflog_entry, name))) < 0 ||
	    (rc = gkv__sbuf_put(out, &ent->time, sizeof(ent->time))) < 0 ||
	    (rc = gkv__sbuf_put(out, &ent->offset, sizeof(ent->offset))) < 0 ||
	    (rc = gkv__sbuf_put(out, ent->name, strlen(ent->name) + 1)) < 0 ||
	    (rc = gkv__sbuf_put(out, ent->email, strlen(ent->email) + 1)) < 0 ||
	    (rc = gkv__sbuf_put(out, ent->message, msglen)) < 0)
		return rc;
	return gkv__sbuf_putc(out, '\0');
}

/* The copy at *at back into ent (pointing into the copy); *at moves past it. */
static void log_uncopy(gkv_backend_reflog_entry *ent, const gkv__sbuf *in, size_t *at)
{
	const unsigned char *p = in->ptr + *at;
	size_t fixed = offsetof(gkv_backend_reflog_entry, name);

	memcpy(ent, p, fixed);
	memcpy(&ent->time, p + fixed, sizeof(ent->time));
	memcpy(&ent->offset, p + fixed + sizeof(ent->time), sizeof(ent->offset));
	p += fixed + sizeof(ent->time) + sizeof(ent->offset);
	ent->name = (const char *)p;
	ent->email = ent->name + strlen(ent->name) + 1;
	ent->message = ent->email + strlen(ent->email) + 1;
	*at = (size_t)((const unsigned char *)ent->message + strlen(ent->message) + 1 - in->ptr);
}

/* The end of a scan with cursor c in read transaction txn: both closed,
 * MDB_NOTFOUND (the end of the records) 0, an LMDB error told as what
 * failed; GKV_ codes and a callback's stop pass through. */
static int scan_done(lenv *e, MDB_txn *txn, MDB_cursor *c, int rc, const char *what)
{
	if (c)
		mdb_cursor_close(c);
	gkv__lmdb_rtxn_end(e, txn);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc > 0 || rc < GKV_ITEROVER)
		return gkv__lmdb_error(e->path, rc, what);
	return rc;
}

/* Records are checked and copied out of the read transaction before any
 * callback runs. */
static int lmdb_reflog_read(gkv_backend *b, const char *name, gkv_backend_reflog_cb cb,
			    void *payload)
{
	lenv *e = ((lmdb_backend *)b)->e;
	unsigned char kbuf[512 + LOG_SEQ_SIZE];
	gkv__sbuf recs = GKV__SBUF_INIT;
	size_t nlen, n = 0;
	MDB_cursor *c = NULL;
	MDB_txn *txn;
	MDB_val k, v;
	int rc;

	if ((rc = check_ref_name(e, name)) < 0)
		return rc;
	if (!e->has_reflog)
		return 0;
	nlen = strlen(name);
	if ((rc = gkv__lmdb_rtxn_begin(&txn, e)) < 0)
		return rc;
	if ((rc = mdb_cursor_open(txn, e->reflog, &c)) == 0)
		rc = log_seek_newest(c, &k, &v, name, nlen, kbuf);
	while (rc == 0) {
		gkv_backend_reflog_entry ent;
		size_t msglen = 0;

		if ((rc = log_parse(&ent, &msglen, e, name, &k, &v)) < 0 ||
		    (rc = log_copy(&recs, &ent, msglen)) < 0)
			break;
		n++;
		rc = mdb_cursor_get(c, &k, &v, MDB_PREV);
		if (rc == 0 && !log_key_of(&k, name, nlen))
			rc = MDB_NOTFOUND;
	}
	rc = scan_done(e, txn, c, rc, "cannot read a ref's log");
	for (size_t i = 0, at = 0; rc == 0 && i < n; i++) {
		gkv_backend_reflog_entry ent;

		log_uncopy(&ent, &recs, &at);
		rc = cb(&ent, payload);
	}
	gkv__sbuf_free(&recs);
	return rc;
}

/* ---- refs ---- */

static int ref_value(gkv_oid *out, const lenv *e, const MDB_val *k, const MDB_val *v)
{
	size_t want = e->checksums ? REF_V3_SIZE : GKV_OID_RAWSZ;

	if (v->mv_size != want)
		return gkv_error_set(GKV_E_CORRUPT,
				     "lmdb '%s': ref '%.*s' holds %zu bytes, not an id", e->path,
				     (int)k->mv_size, (const char *)k->mv_data, v->mv_size);
	if (e->checksums &&
	    !crc_ok((const unsigned char *)v->mv_data + GKV_OID_RAWSZ,
		    record_crc(k->mv_data, k->mv_size, v->mv_data, GKV_OID_RAWSZ)))
		return gkv_error_set(GKV_E_CORRUPT,
				     "lmdb '%s': ref '%.*s' is corrupt: checksum mismatch", e->path,
				     (int)k->mv_size, (const char *)k->mv_data);
	memcpy(out->id, v->mv_data, GKV_OID_RAWSZ);
	return 0;
}

/*
 * A ref and the id of the read transaction it came from. LMDB's last
 * transaction id (refs_version below) is taken from the meta pages, which
 * a commit writes before new readers start from it: it is never behind a
 * read transaction's id, and equal to it only while nothing has committed
 * since that transaction began.
 */
static int lmdb_ref_read_versioned(gkv_oid *out, uint64_t *version, gkv_backend *b,
    const char *name)
{
	lenv *e = ((lmdb_backend *)b)->e;
	MDB_val k, v;
	MDB_txn *txn;
	int rc;

	if ((rc = check_ref_name(e, name)) < 0)
		return rc;
	k.mv_size = strlen(name);
	k.mv_data = (void *)name;
	if ((rc = gkv__lmdb_rtxn_begin(&txn, e)) < 0)
		return rc;
	*version = mdb_txn_id(txn);
	rc = mdb_get(txn, e->refs, &k, &v);
	if (rc == 0)
		rc = ref_value(out, e, &k, &v);
	gkv__lmdb_rtxn_end(e, txn);
	if (rc == MDB_NOTFOUND)
		return gkv_error_set(GKV_E_NOTFOUND, "lmdb '%s': ref '%s' not found", e->path,
				     name);
	if (rc > 0 || rc < GKV_ITEROVER)
		return gkv__lmdb_error(e->path, rc, "cannot read a ref");
	return rc;
}

static int lmdb_ref_read(gkv_oid *out, gkv_backend *b, const char *name)
{
	uint64_t version;

	return lmdb_ref_read_versioned(out, &version, b, name);
}

static int lmdb_refs_version(uint64_t *out, gkv_backend *b)
{
	return gkv__lmdb_last_txnid(out, ((lmdb_backend *)b)->e);
}

/* The refs under a prefix, copied out of the transaction. */
typedef struct {
	gkv__sbuf names; /* NUL-terminated names, back to back */
	oid_vec targets;
} ref_snapshot;

static int snapshot_refs(ref_snapshot *s, lenv *e, MDB_txn *txn, const char *prefix)
{
	size_t plen = strlen(prefix);
	MDB_val k = {plen, (void *)prefix}, v;
	MDB_cursor *cur;
	gkv_oid id;
	int rc;

	if ((rc = mdb_cursor_open(txn, e->refs, &cur)) != 0)
		return gkv__lmdb_error(e->path, rc, "cannot list refs");
	rc = mdb_cursor_get(cur, &k, &v, plen ? MDB_SET_RANGE : MDB_FIRST);
	while (rc == 0 && k.mv_size >= plen && memcmp(k.mv_data, prefix, plen) == 0) {
		if ((rc = ref_value(&id, e, &k, &v)) < 0 ||
		    (rc = gkv__sbuf_put(&s->names, k.mv_data, k.mv_size)) < 0 ||
		    (rc = gkv__sbuf_putc(&s->names, '\0')) < 0 ||
		    (rc = oid_vec_push(&s->targets, id.id)) < 0)
			break;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc == 0 || rc == MDB_NOTFOUND || gkv__lmdb_is_gkv_code(rc))
		return rc == MDB_NOTFOUND ? 0 : rc;
	return gkv__lmdb_error(e->path, rc, "cannot list refs");
}

static int lmdb_ref_list(gkv_backend *b, const char *prefix, gkv_backend_ref_cb cb, void *payload)
{
	lenv *e = ((lmdb_backend *)b)->e;
	ref_snapshot s = {GKV__SBUF_INIT, {NULL, 0, 0}};
	const char *name;
	MDB_txn *txn;
	int rc;

	if ((rc = gkv__lmdb_rtxn_begin(&txn, e)) < 0)
		return rc;
	rc = snapshot_refs(&s, e, txn, prefix ? prefix : "");
	gkv__lmdb_rtxn_end(e, txn);
	name = (const char *)s.names.ptr;
	for (size_t i = 0; rc == 0 && i < s.targets.n; i++) {
		rc = cb(name, &s.targets.ids[i], payload);
		name += strlen(name) + 1;
	}
	gkv__sbuf_free(&s.names);
	free(s.targets.ids);
	return rc;
}

/* The who of a move nobody said anything about (backend.h). */
static int who_default(lwho *w)
{
	w->ref = NULL;
	w->when = (int64_t)time(NULL);
	w->offset = 0;
	w->tail = (gkv__sbuf)GKV__SBUF_INIT;
	return who_encode(&w->tail, "gitkv", "gitkv@localhost", "gitkv: compare-and-swap");
}

/* Does ref name hold what expected says (NULL: absent) as txn sees it?
 * 0 with *found and *cur set, GKV_E_CONFLICT naming what it holds, or
 * another error. */
static int cas_holds(bool *found, gkv_oid *cur, MDB_txn *txn, const lenv *e, const char *name,
		     const gkv_oid *expected)
{
	MDB_val k = {strlen(name), (void *)name}, v;
	int rc = mdb_get(txn, e->refs, &k, &v);

	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	if ((*found = rc == 0) && (rc = ref_value(cur, e, &k, &v)) < 0)
		return rc;
	if (!gkv__backend_cas_ok(*found ? cur : NULL, expected))
		return gkv__backend_conflict(name, expected, *found ? cur : NULL);
	return 0;
}

/* Check and apply one ref CAS inside a write transaction, and log it as
 * moved by who. */
static int cas_in_txn(MDB_txn *txn, lenv *e, const char *name, const gkv_oid *expected,
		      const gkv_oid *target, const lwho *who)
{
	MDB_val k = {strlen(name), (void *)name}, v;
	unsigned char val[REF_V3_SIZE];
	gkv_oid cur;
	bool found;
	int rc;

	if ((rc = cas_holds(&found, &cur, txn, e, name, expected)) != 0)
		return rc;
	if ((rc = log_move(txn, e, name, found ? &cur : NULL, target, who->when, who->offset,
			   &who->tail)) != 0)
		return rc;
	if (target) {
		memcpy(val, target->id, GKV_OID_RAWSZ);
		v.mv_size = GKV_OID_RAWSZ;
		if (e->checksums) {
			put_crc(val + GKV_OID_RAWSZ, record_crc(name, k.mv_size, val, GKV_OID_RAWSZ));
			v.mv_size = REF_V3_SIZE;
		}
		v.mv_data = val;
		return mdb_put(txn, e->refs, &k, &v, 0);
	}
	return found ? mdb_del(txn, e->refs, &k, NULL) : 0;
}

static int check_writable(const lmdb_backend *h)
{
	if (h->readonly)
		return gkv_error_set(GKV_E_READONLY, "lmdb '%s' is open read-only", h->e->path);
	return 0;
}

typedef struct {
	const char *name;
	const gkv_oid *expected, *target;
	lwho who;
} cas_args;

static int cas_body(MDB_txn *txn, lenv *e, void *ctx)
{
	cas_args *a = ctx;

	return cas_in_txn(txn, e, a->name, a->expected, a->target, &a->who);
}

static int lmdb_ref_cas(gkv_backend *b, const char *name, const gkv_oid *expected,
			const gkv_oid *new_target)
{
	lmdb_backend *h = (lmdb_backend *)b;
	cas_args a = {name, expected, new_target, {NULL, 0, 0, GKV__SBUF_INIT}};
	int rc;

	if ((rc = check_writable(h)) < 0 || (rc = check_ref_name(h->e, name)) < 0)
		return rc;
	if ((rc = who_default(&a.who)) == 0)
		rc = gkv__lmdb_with_wtxn(h->e, cas_body, &a, "cannot update a ref");
	gkv__sbuf_free(&a.who.tail);
	return rc;
}

/* ---- batches ---- */

static int lmdb_batch_begin(gkv_batch **out, gkv_backend *b)
{
	lbatch *batch;
	int rc;

	if ((rc = check_writable((lmdb_backend *)b)) < 0)
		return rc;
	if (!(batch = calloc(1, sizeof(*batch))))
		return gkv__oom();
	if ((rc = gkv__arena_init(&batch->arena)) < 0) {
		free(batch);
		return rc;
	}
	batch->stage = (gkv__lmdb_stage)GKV__LMDB_STAGE_INIT;
	batch->parent.backend = b;
	*out = &batch->parent;
	return 0;
}

static int spill(lbatch *lb);

/* Count o, the batch's next object (its record made), in; spill past
 * SPILL_BYTES. */
static int batch_add(lbatch *lb, lobj *o, const gkv_oid *id, gkv_otype type)
{
	o->id = *id;
	o->db = home_db(((lmdb_backend *)lb->parent.backend)->e, type);
	o->big = gkv__lmdb_overflows(((lmdb_backend *)lb->parent.backend)->e, o->len);
	lb->bytes += o->len;
	lb->nobjs++;
	if (lb->bytes >= SPILL_BYTES)
		return spill(lb);
	return 0;
}

/* Encoding (and compressing) happens here, outside any transaction, so
 * that the write transaction at commit only copies bytes. */
static int lmdb_batch_write(gkv_batch *batch, const gkv_oid *id, gkv_otype type, const void *data,
			    size_t len)
{
	lbatch *lb = (lbatch *)batch;
	lobj *o;
	int rc;

	if ((rc = gkv__backend_grow((void **)&lb->objs, &lb->capobjs, lb->nobjs, sizeof(*lb->objs))) < 0)
		return rc;
	o = &lb->objs[lb->nobjs];
	if ((rc = encode(&o->data, &o->len, &lb->arena, type, data, len, id,
			 ((lmdb_backend *)batch->backend)->e->checksums)) < 0)
		return rc;
	return batch_add(lb, o, id, type);
}

/* A record of another environment with checksums (backend.h:
 * batch_write_raw): checked against id and type, then copied as it is. */
static int lmdb_batch_write_raw(gkv_batch *batch, const gkv_oid *id, gkv_otype type,
				const void *rec, size_t len)
{
	lbatch *lb = (lbatch *)batch;
	lenv *e = ((lmdb_backend *)batch->backend)->e;
	MDB_val v = {len, (void *)rec};
	lobj *o;
	lrec r;
	int rc;

	if (!rec || !e->checksums)
		return gkv_error_set(GKV_E_INVALID, "lmdb '%s': %s", e->path,
				     rec ? "this format stores no raw records" : "no record given");
	if (type < GKV_OBJ_COMMIT || type > GKV_OBJ_TAG)
		return gkv_error_set(GKV_E_INVALID, "lmdb: object type %d cannot be stored", type);
	if ((rc = rec_parse(&r, e, id, &v, true)) < 0)
		return rc;
	if (r.type != type)
		return corrupt_object(e, id, "the record is of another type");
	if ((rc = gkv__backend_grow((void **)&lb->objs, &lb->capobjs, lb->nobjs, sizeof(*lb->objs))) < 0)
		return rc;
	o = &lb->objs[lb->nobjs];
	if (!(o->data = gkv__arena_alloc(&lb->arena, len)))
		return GKV_E_NOMEM;
	memcpy(o->data, rec, len);
	o->len = len;
	return batch_add(lb, o, id, type);
}

static int lmdb_batch_ref_cas(gkv_batch *batch, const char *name, const gkv_oid *expected,
			      const gkv_oid *new_target)
{
	lbatch *lb = (lbatch *)batch;
	int rc;

	if ((rc = check_ref_name(((lmdb_backend *)batch->backend)->e, name)) < 0)
		return rc;
	return gkv__backend_cas_push(&lb->cas, &lb->ncas, &lb->capcas, name, expected, new_target);
}

static int lmdb_batch_ref_log(gkv_batch *batch, const char *name,
			      const gkv_backend_reflog_entry *entry)
{
	lbatch *lb = (lbatch *)batch;
	lenv *e = ((lmdb_backend *)batch->backend)->e;
	lwho w = {NULL, 0, 0, GKV__SBUF_INIT};
	size_t i;
	int rc;

	if ((rc = check_ref_name(e, name)) < 0)
		return rc;
	if (!entry || !entry->name || !entry->email || !entry->message ||
	    strchr(entry->message, '\n'))
		return gkv_error_set(GKV_E_INVALID,
				     "lmdb '%s': log entry for ref '%s' missing, lacking a field or "
				     "holding a newline",
				     e->path, name);
	w.when = entry->time;
	w.offset = entry->offset;
	if ((rc = who_encode(&w.tail, entry->name, entry->email, entry->message)) < 0)
		return rc;
	for (i = 0; i < lb->nwho && strcmp(lb->who[i].ref, name) != 0; i++)
		;
	if (i < lb->nwho) {
		w.ref = lb->who[i].ref;
		gkv__sbuf_free(&lb->who[i].tail);
		lb->who[i] = w;
		return 0;
	}
	if ((rc = gkv__backend_grow((void **)&lb->who, &lb->capwho, lb->nwho, sizeof(*lb->who))) <
		0 ||
	    !(w.ref = gkv__strdup(name))) {
		gkv__sbuf_free(&w.tail);
		return rc < 0 ? rc : GKV_E_NOMEM;
	}
	lb->who[lb->nwho++] = w;
	return 0;
}

static void lmdb_batch_abort(gkv_batch *batch)
{
	lbatch *lb = (lbatch *)batch;

	if (!lb)
		return;
	for (size_t i = 0; i < lb->nwho; i++) {
		free(lb->who[i].ref);
		gkv__sbuf_free(&lb->who[i].tail);
	}
	free(lb->who);
	free(lb->dels);
	for (size_t i = 0; i < lb->nlogdels; i++)
		free(lb->logdels[i]);
	free(lb->logdels);
	gkv__backend_cas_free(lb->cas, lb->ncas);
	free(lb->objs);
	free(lb->staged);
	gkv__lmdb_stage_close(&lb->stage);
	gkv__arena_free(&lb->arena);
	free(lb);
}

/* By database, then the records that fit in a leaf before those that
 * take pages of their own, then by id: LMDB then fills each database's
 * new leaf pages one after the other, so that a batch's trees share
 * pages of their own, not interleaved with large records' pages. */
static int lobj_cmp(const void *a, const void *b)
{
	const lobj *x = a, *y = b;

	if (x->db != y->db)
		return x->db < y->db ? -1 : 1;
	if (x->big != y->big)
		return x->big ? 1 : -1;
	return memcmp(x->id.id, y->id.id, GKV_OID_RAWSZ);
}

/* One cursor per database e has (NULL for the others), or an LMDB code. */
static int open_cursors(MDB_cursor **curs, MDB_txn *txn, const lenv *e)
{
	int rc = 0;

	for (int db = 0; db < NDBS; db++) {
		curs[db] = NULL;
		if (rc == 0 && db_handle(e, db))
			rc = mdb_cursor_open(txn, db_handle(e, db), &curs[db]);
	}
	return rc;
}

static void close_cursors(MDB_cursor **curs)
{
	for (int db = 0; db < NDBS; db++)
		if (curs[db])
			mdb_cursor_close(curs[db]);
}

/*
 * Store one encoded object in its database unless its id is stored
 * already, in any: writing an existing object is a no-op whatever type
 * the second write claims, and an id is never in two databases (which
 * foreach relies on). Real ids cannot collide across types, the type
 * being hashed in; made-up ones (a backend's caller computes them) can.
 * *stored says whether it was; with MDB_RESERVE in flags, v then points
 * at the room LMDB gave it, for the caller to fill.
 */
static int put_object(bool *stored, MDB_cursor **curs, const lobj *o, MDB_val *k, MDB_val *v,
		      unsigned int flags)
{
	MDB_val old;
	int rc;

	*stored = false;
	for (int db = 0; db < NDBS; db++) {
		MDB_val key = *k;

		if (db != o->db && curs[db] &&
		    (rc = mdb_cursor_get(curs[db], &key, &old, MDB_SET)) != MDB_NOTFOUND)
			return rc;
	}
	/* under MDB_APPEND an id at or before the last key is an error,
	 * not a sign that it is stored: the caller vouched it is after */
	rc = mdb_cursor_put(curs[o->db], k, v, MDB_NOOVERWRITE | flags);
	if (rc == MDB_KEYEXIST && !(flags & MDB_APPEND))
		return 0;
	*stored = rc == 0;
	return rc;
}

/* The objects, through one cursor per database for the whole batch:
 * mdb_put and mdb_get would set a cursor up for every call, and the
 * checks in the other databases multiply the calls. */
static int put_objects(MDB_txn *txn, lenv *e, lbatch *lb)
{
	MDB_cursor *curs[NDBS];
	int rc = open_cursors(curs, txn, e);

	for (size_t i = 0; rc == 0 && i < lb->nobjs; i++) {
		MDB_val k = {GKV_OID_RAWSZ, lb->objs[i].id.id};
		MDB_val v = {lb->objs[i].len, lb->objs[i].data};
		bool stored;

		rc = put_object(&stored, curs, &lb->objs[i], &k, &v, 0);
	}
	close_cursors(curs);
	return rc;
}

/* The CASes first (a conflict costs no object writes), then the objects;
 * an object already stored is left alone (put_object). */
typedef struct {
	lbatch *lb;
	const lwho *dflt; /* for a ref the batch has no who for */
	size_t from, to;  /* the staged records this transaction stores */
} batch_args;

/* Delete every record of ref name's log. */
static int log_delete(MDB_txn *txn, lenv *e, const char *name)
{
	unsigned char kbuf[512 + LOG_SEQ_SIZE];
	size_t nlen = strlen(name);
	MDB_cursor *c;
	MDB_val k, v;
	int rc;

	if (!e->has_reflog)
		return 0;
	if (nlen + LOG_SEQ_SIZE > sizeof(kbuf))
		return gkv_error_set(GKV_E_INVALID, "lmdb '%s': ref name too long to log", e->path);
	if ((rc = mdb_cursor_open(txn, e->reflog, &c)) != 0)
		return rc;
	for (;;) {
		log_key(&k, kbuf, name, nlen, 0);
		if ((rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE)) != 0 ||
		    !log_key_of(&k, name, nlen))
			break;
		if ((rc = mdb_cursor_del(c, 0)) != 0)
			break;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Delete objects from whichever database holds them; an absent id is no
 * error. */
static int delete_objects(MDB_txn *txn, lenv *e, const lbatch *lb)
{
	for (size_t i = 0; i < lb->ndels; i++) {
		MDB_val k = {GKV_OID_RAWSZ, (void *)lb->dels[i].id};
		int rc;

		rc = MDB_NOTFOUND;
		for (int db = NDBS - 1; db >= 0 && rc == MDB_NOTFOUND; db--)
			if (db_handle(e, db))
				rc = mdb_del(txn, db_handle(e, db), &k, NULL);
		if (rc != 0 && rc != MDB_NOTFOUND)
			return rc;
	}
	return 0;
}

/* Move the batch's records in memory to its staging file, keeping their
 * ids, sizes and offsets: nothing is stored before the commit. */
static int spill(lbatch *lb)
{
	lenv *e = ((lmdb_backend *)lb->parent.backend)->e;
	int rc;

	if (lb->stage.fd < 0 && (rc = gkv__lmdb_stage_open(&lb->stage, e->path)) < 0)
		return rc;
	for (size_t i = 0; i < lb->nobjs; i++) {
		lobj *o;

		if ((rc = gkv__backend_grow((void **)&lb->staged, &lb->capstaged, lb->nstaged,
					    sizeof(*lb->staged))) < 0)
			return rc;
		o = &lb->staged[lb->nstaged];
		*o = lb->objs[i];
		if ((rc = gkv__lmdb_stage_put(&lb->stage, &o->off, o->data, o->len)) < 0)
			return rc;
		o->data = NULL;
		lb->nstaged++;
	}
	lb->nobjs = 0;
	lb->bytes = 0;
	gkv__arena_free(&lb->arena);
	return gkv__arena_init(&lb->arena);
}

/*
 * The staged records [from, to) of the batch (sorted by lobj_cmp), each
 * read back from the staging file straight into the room LMDB reserves
 * for it, and its checksum checked there before the transaction commits.
 * An id stored already, in any database, is left alone (put_object).
 * While a database's keys all sort before the record's, LMDB appends
 * (MDB_APPEND: no search, and pages filled whole); a clone into a new
 * store appends its records that fit in a leaf throughout.
 */
static int put_staged(MDB_txn *txn, lenv *e, lbatch *lb, size_t from, size_t to)
{
	MDB_cursor *curs[NDBS];
	unsigned char last[NDBS][GKV_OID_RAWSZ];
	bool any[NDBS] = {false};
	int rc = open_cursors(curs, txn, e);

	for (int db = 0; rc == 0 && db < NDBS; db++) {
		MDB_val k, v;

		if (!curs[db])
			continue;
		if ((rc = mdb_cursor_get(curs[db], &k, &v, MDB_LAST)) == MDB_NOTFOUND) {
			rc = 0;
		} else if (rc == 0 && k.mv_size != GKV_OID_RAWSZ) {
			rc = gkv_error_set(GKV_E_CORRUPT, "lmdb '%s': a key of %zu bytes among "
					   "the objects", e->path, k.mv_size);
		} else if (rc == 0) {
			memcpy(last[db], k.mv_data, GKV_OID_RAWSZ);
			any[db] = true;
		}
	}
	for (size_t i = from; rc == 0 && i < to; i++) {
		lobj *o = &lb->staged[i];
		MDB_val k = {GKV_OID_RAWSZ, o->id.id}, v = {o->len, NULL};
		bool after = !any[o->db] || memcmp(o->id.id, last[o->db], GKV_OID_RAWSZ) > 0;
		bool stored;
		lrec r;

		rc = put_object(&stored, curs, o, &k, &v, MDB_RESERVE | (after ? MDB_APPEND : 0));
		if (rc != 0 || !stored)
			continue;
		if ((rc = gkv__lmdb_stage_read(&lb->stage, v.mv_data, o->len, o->off)) < 0 ||
		    (e->checksums && (rc = rec_parse(&r, e, &o->id, &v, true)) < 0))
			break;
		if (after) {
			memcpy(last[o->db], o->id.id, GKV_OID_RAWSZ);
			any[o->db] = true;
		}
		/* the looks into the other databases cover all their keys
		 * when this one's records are few and far apart (a part of
		 * commits among trees): let go of the pages as it goes */
		if ((i - from) % RELEASE_EVERY == RELEASE_EVERY - 1)
			gkv__lmdb_release_map_held(e);
	}
	close_cursors(curs);
	return rc;
}

static int batch_body(MDB_txn *txn, lenv *e, void *ctx)
{
	batch_args *a = ctx;
	lbatch *lb = a->lb;
	int rc;

	for (size_t i = 0; i < lb->nlogdels; i++)
		if ((rc = log_delete(txn, e, lb->logdels[i])) != 0)
			return rc;
	for (size_t i = 0; i < lb->ncas; i++) {
		lcas *c = &lb->cas[i];
		const lwho *w = a->dflt;

		for (size_t j = 0; j < lb->nwho; j++)
			if (strcmp(lb->who[j].ref, c->name) == 0)
				w = &lb->who[j];
		rc = cas_in_txn(txn, e, c->name, c->has_expected ? &c->expected : NULL,
				c->has_target ? &c->target : NULL, w);
		if (rc != 0)
			return rc;
	}
	if ((rc = delete_objects(txn, e, lb)) != 0)
		return rc;
	if (lb->nobjs && (rc = put_objects(txn, e, lb)) != 0)
		return rc;
	return a->to > a->from ? put_staged(txn, e, lb, a->from, a->to) : 0;
}

/* The first part of a staged batch checks its CASes first: the writer
 * lock, held from the first part to the last, keeps any other writer
 * from moving a ref meanwhile, so a conflict found here is the one the
 * last part would find, and fails the batch before anything is stored. */
static int part_body(MDB_txn *txn, lenv *e, void *ctx)
{
	batch_args *a = ctx;
	lbatch *lb = a->lb;
	int rc;

	for (size_t i = 0; a->from == 0 && i < lb->ncas; i++) {
		lcas *c = &lb->cas[i];
		gkv_oid cur;
		bool found;

		if ((rc = cas_holds(&found, &cur, txn, e, c->name,
				    c->has_expected ? &c->expected : NULL)) != 0)
			return rc;
	}
	return put_staged(txn, e, lb, a->from, a->to);
}

/* About the bytes of map that storing n records of bytes in all takes:
 * B-tree pages half full at worst, plus per-entry overhead. */
static size_t map_estimate(size_t bytes, size_t n)
{
	return 2 * (bytes + 64 * n) + (64 << 10);
}

/*
 * A batch that spilled, under the writer lock throughout: its records in
 * parts of about SPILL_BYTES, a write transaction each, in key order, and
 * the last part with the logs, the ref CASes and the deletes. A part
 * looks at the keys of a stretch of each database only, and lets go of
 * the pages it mapped (gkv__lmdb_release_map): however large the batch,
 * the process holds one part's pages. The stored parts are referenced by
 * nothing until the last one lands; no gc can come between (the lock),
 * and a failure after the first leaves them unreferenced, as a crash
 * would. A batch that deletes stores everything in one transaction, so
 * that a failure deletes nothing and an object it both deletes and
 * writes stays.
 */
static int commit_staged(lenv *e, void *ctx)
{
	batch_args *a = ctx;
	lbatch *lb = a->lb;
	bool whole = lb->ndels || lb->nlogdels; /* one transaction */
	size_t i = 0;
	int rc;

	for (;;) {
		size_t j = i, bytes = 0;
		batch_args part = {lb, a->dflt, i, 0};

		while (j < lb->nstaged && (whole || bytes < SPILL_BYTES))
			bytes += lb->staged[j++].len;
		if ((rc = gkv__lmdb_reserve_map(e, map_estimate(bytes, j - i))) < 0)
			return rc;
		if (j == lb->nstaged)
			break; /* the last part, with the refs */
		part.to = j;
		if ((rc = gkv__lmdb_with_wtxn_held(e, part_body, &part,
						   "cannot store a batch's objects")) < 0)
			return rc;
		gkv__lmdb_release_map(e);
		i = j;
	}
	a->from = i;
	a->to = lb->nstaged;
	rc = gkv__lmdb_with_wtxn_held(e, batch_body, a, "cannot commit a batch");
	gkv__lmdb_release_map(e);
	return rc;
}

static int lmdb_batch_commit(gkv_batch *batch)
{
	lbatch *lb = (lbatch *)batch;
	lenv *e = ((lmdb_backend *)batch->backend)->e;
	lwho dflt = {NULL, 0, 0, GKV__SBUF_INIT};
	batch_args args = {lb, &dflt, 0, 0};
	int rc = 0;

	if (lb->nobjs == 0 && lb->ncas == 0 && lb->ndels == 0 && lb->nlogdels == 0 &&
	    lb->nstaged == 0)
		goto out;
	if (lb->nstaged) {
		/* all of it to the file, then stored from there in key order */
		if ((lb->nobjs && (rc = spill(lb)) < 0) ||
		    (rc = gkv__lmdb_stage_flush(&lb->stage)) < 0)
			goto out;
		qsort(lb->staged, lb->nstaged, sizeof(*lb->staged), lobj_cmp);
		if ((rc = who_default(&dflt)) == 0)
			rc = gkv__lmdb_writer_run(e, commit_staged, &args);
		gkv__sbuf_free(&dflt.tail);
		goto out;
	}
	/* In key order LMDB fills pages one after the other. (A branch
	 * move is a batch of no objects, and then objs is NULL.) */
	if (lb->nobjs)
		qsort(lb->objs, lb->nobjs, sizeof(*lb->objs), lobj_cmp);
	if ((rc = who_default(&dflt)) == 0 && (rc = gkv__lmdb_reserve_map(e, map_estimate(lb->bytes, lb->nobjs))) == 0)
		rc = gkv__lmdb_with_wtxn(e, batch_body, &args, "cannot commit a batch");
	gkv__sbuf_free(&dflt.tail);
out:
	lmdb_batch_abort(batch);
	return rc;
}
static int lmdb_batch_delete(gkv_batch *batch, const gkv_oid *id)
{
	lbatch *lb = (lbatch *)batch;
	int rc;

	if (!id)
		return gkv_error_set(GKV_E_INVALID, "lmdb: no object id to delete");
	if ((rc = gkv__backend_grow((void **)&lb->dels, &lb->capdels, lb->ndels,
		 sizeof(*lb->dels))) < 0)
		return rc;
	lb->dels[lb->ndels++] = *id;
	return 0;
}

static int lmdb_batch_reflog_delete(gkv_batch *batch, const char *name)
{
	lbatch *lb = (lbatch *)batch;
	char *own;
	int rc;

	if ((rc = check_ref_name(((lmdb_backend *)batch->backend)->e, name)) < 0)
		return rc;
	if ((rc = gkv__backend_grow((void **)&lb->logdels, &lb->caplogdels, lb->nlogdels,
		 sizeof(*lb->logdels))) < 0)
		return rc;
	if (!(own = gkv__strdup(name)))
		return GKV_E_NOMEM;
	lb->logdels[lb->nlogdels++] = own;
	return 0;
}

/* The names of the refs that have a log, in key order (which is name
 * order: a NUL ends each name), each once: after a ref's first record,
 * the cursor jumps past its log, to the first key above "name\1". */
static int lmdb_reflog_list(gkv_backend *b, gkv_backend_ref_cb cb, void *payload)
{
	lenv *e = ((lmdb_backend *)b)->e;
	unsigned char kbuf[512 + LOG_SEQ_SIZE];
	gkv__sbuf names = GKV__SBUF_INIT;
	MDB_cursor *c = NULL;
	MDB_txn *txn;
	MDB_val k, v;
	size_t n = 0;
	int rc;

	if (!e->has_reflog)
		return 0;
	if ((rc = gkv__lmdb_rtxn_begin(&txn, e)) < 0)
		return rc;
	if ((rc = mdb_cursor_open(txn, e->reflog, &c)) == 0)
		rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
	while (rc == 0) {
		size_t nlen = k.mv_size - LOG_SEQ_SIZE;

		if (k.mv_size <= LOG_SEQ_SIZE || k.mv_size > sizeof(kbuf) ||
		    ((const unsigned char *)k.mv_data)[nlen] != '\0' ||
		    memchr(k.mv_data, '\0', nlen)) {
			rc = gkv_error_set(GKV_E_CORRUPT, "lmdb '%s': a key of the reflog is malformed",
					   e->path);
			break;
		}
		if ((rc = gkv__sbuf_put(&names, k.mv_data, nlen)) < 0 ||
		    (rc = gkv__sbuf_putc(&names, '\0')) < 0)
			break;
		n++;
		memcpy(kbuf, k.mv_data, nlen);
		kbuf[nlen] = 1;
		k.mv_size = nlen + 1;
		k.mv_data = kbuf;
		rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	}
	rc = scan_done(e, txn, c, rc, "cannot list the logs");
	for (size_t i = 0, at = 0; rc == 0 && i < n; i++) {
		const char *name = (const char *)names.ptr + at;

		rc = cb(name, NULL, payload);
		at += strlen(name) + 1;
	}
	gkv__sbuf_free(&names);
	return rc;
}

/* ---- settings ---- */

static int check_config_key(const lenv *e, const char *key)
{
	if (!key || !*key)
		return gkv_error_set(GKV_E_INVALID, "lmdb '%s': empty config key", e->path);
	if (strlen(key) > (size_t)e->maxkeysize)
		return gkv_error_set(GKV_E_INVALID, "lmdb '%s': config key '%.60s...' is too long",
				     e->path, key);
	return 0;
}

/* A setting's value as stored (k its key), checked: *len its bytes. */
static int config_value(size_t *len, const lenv *e, const MDB_val *k, const MDB_val *v)
{
	size_t n = v->mv_size;

	if (e->checksums) {
		if (n < CRC_SIZE ||
		    !crc_ok((const unsigned char *)v->mv_data + n - CRC_SIZE,
			    record_crc(k->mv_data, k->mv_size, v->mv_data, n - CRC_SIZE)))
			return gkv_error_set(GKV_E_CORRUPT,
					     "lmdb '%s': config key '%.*s' is corrupt: checksum mismatch",
					     e->path, (int)k->mv_size, (const char *)k->mv_data);
		n -= CRC_SIZE;
	}
	if (memchr(v->mv_data, '\0', n))
		return gkv_error_set(GKV_E_CORRUPT, "lmdb '%s': config key '%.*s' holds a NUL",
				     e->path, (int)k->mv_size, (const char *)k->mv_data);
	*len = n;
	return 0;
}

static int lmdb_config_get(char **out, gkv_backend *b, const char *key)
{
	lenv *e = ((lmdb_backend *)b)->e;
	MDB_val k = {0, (void *)key}, v;
	MDB_txn *txn;
	MDB_dbi dbi;
	char *copy = NULL;
	size_t len = 0;
	int rc;

	if ((rc = check_config_key(e, key)) < 0)
		return rc;
	k.mv_size = strlen(key);
	if ((rc = gkv__lmdb_config_dbi(&dbi, e)) < 0)
		return rc;
	if (rc == 0)
		return gkv_error_set(GKV_E_NOTFOUND, "lmdb '%s': config key '%s' is not set",
				     e->path, key);
	if ((rc = gkv__lmdb_rtxn_begin(&txn, e)) < 0)
		return rc;
	dbi = __atomic_load_n(&e->config, __ATOMIC_RELAXED); /* as of this transaction */
	rc = mdb_get(txn, dbi, &k, &v);
	if (rc == 0 && (rc = config_value(&len, e, &k, &v)) == 0) {
		if ((copy = gkv_backend_data_alloc(len + 1)) != NULL) {
			memcpy(copy, v.mv_data, len);
			copy[len] = '\0';
		} else {
			rc = GKV_E_NOMEM;
		}
	}
	gkv__lmdb_rtxn_end(e, txn);
	if (rc == MDB_NOTFOUND)
		return gkv_error_set(GKV_E_NOTFOUND, "lmdb '%s': config key '%s' is not set",
				     e->path, key);
	if (rc > 0 || rc < GKV_ITEROVER)
		return gkv__lmdb_error(e->path, rc, "cannot read a setting");
	if (rc == 0)
		*out = copy;
	return rc;
}

typedef struct {
	const char *key, *value;
	bool make; /* the database is to be made in this transaction */
	MDB_dbi dbi; /* its handle, once made */
} config_args;

static int config_body(MDB_txn *txn, lenv *e, void *ctx)
{
	config_args *a = ctx;
	MDB_val k = {strlen(a->key), (void *)a->key}, v;
	size_t vlen;
	int rc;

	if (a->make) {
		if ((rc = mdb_dbi_open(txn, "config", MDB_CREATE, &a->dbi)) != 0)
			return rc;
	} else {
		a->dbi = __atomic_load_n(&e->config, __ATOMIC_RELAXED);
	}
	if (!a->value) {
		rc = mdb_del(txn, a->dbi, &k, NULL);
		return rc == MDB_NOTFOUND ? 0 : rc;
	}
	vlen = strlen(a->value);
	v.mv_size = vlen + (e->checksums ? CRC_SIZE : 0);
	if ((rc = mdb_put(txn, a->dbi, &k, &v, MDB_RESERVE)) != 0)
		return rc;
	memcpy(v.mv_data, a->value, vlen);
	if (e->checksums)
		put_crc((unsigned char *)v.mv_data + vlen,
			record_crc(k.mv_data, k.mv_size, a->value, vlen));
	return 0;
}

/* A write transaction of its own, under the writer lock. The first write
 * of a setting to a store without the database makes it (removing from
 * a store that has none removes nothing). */
static int lmdb_config_set(gkv_backend *b, const char *key, const char *value)
{
	lmdb_backend *h = (lmdb_backend *)b;
	lenv *e = h->e;
	config_args a = {key, value, false, 0};
	MDB_dbi dbi;
	int rc;

	if ((rc = check_writable(h)) < 0 || (rc = check_config_key(e, key)) < 0)
		return rc;
	if ((rc = gkv__lmdb_config_dbi(&dbi, e)) < 0)
		return rc;
	if (rc == 1)
		return gkv__lmdb_with_wtxn(e, config_body, &a, "cannot write a setting");
	if (!value)
		return 0;
	/* Making a database: no other transaction of this process may open
	 * one meanwhile (env.h). */
	gkv__lmdb_dbi_lock(e);
	a.make = !__atomic_load_n(&e->has_config, __ATOMIC_ACQUIRE);
	rc = gkv__lmdb_with_wtxn(e, config_body, &a, "cannot write a setting");
	if (rc == 0 && a.make)
		gkv__lmdb_config_publish(e, a.dbi);
	gkv__lmdb_dbi_unlock(e);
	return rc;
}

static int lmdb_config_list(gkv_backend *b, const char *prefix, gkv_backend_config_cb cb,
    void *payload)
{
	lenv *e = ((lmdb_backend *)b)->e;
	gkv__sbuf copy = GKV__SBUF_INIT;
	size_t plen, n = 0;
	MDB_cursor *c = NULL;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k, v;
	int rc;

	prefix = prefix ? prefix : "";
	plen = strlen(prefix);
	if ((rc = gkv__lmdb_config_dbi(&dbi, e)) <= 0)
		return rc;
	if ((rc = gkv__lmdb_rtxn_begin(&txn, e)) < 0)
		return rc;
	dbi = __atomic_load_n(&e->config, __ATOMIC_RELAXED);
	k.mv_size = plen;
	k.mv_data = (void *)prefix;
	if ((rc = mdb_cursor_open(txn, dbi, &c)) == 0)
		rc = mdb_cursor_get(c, &k, &v, plen ? MDB_SET_RANGE : MDB_FIRST);
	while (rc == 0 && k.mv_size >= plen && memcmp(k.mv_data, prefix, plen) == 0) {
		size_t len;

		if (memchr(k.mv_data, '\0', k.mv_size)) {
			rc = gkv_error_set(GKV_E_CORRUPT, "lmdb '%s': a config key holds a NUL",
					   e->path);
			break;
		}
		if ((rc = config_value(&len, e, &k, &v)) < 0 ||
		    (rc = gkv__sbuf_put(&copy, k.mv_data, k.mv_size)) < 0 ||
		    (rc = gkv__sbuf_putc(&copy, '\0')) < 0 ||
		    (rc = gkv__sbuf_put(&copy, v.mv_data, len)) < 0 ||
		    (rc = gkv__sbuf_putc(&copy, '\0')) < 0)
			break;
		n++;
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	rc = scan_done(e, txn, c, rc, "cannot list the settings");
	for (size_t i = 0, at = 0; rc == 0 && i < n; i++) {
		const char *key = (const char *)copy.ptr + at, *val = key + strlen(key) + 1;

		rc = cb(key, val, payload);
		at = (size_t)(val + strlen(val) + 1 - (const char *)copy.ptr);
	}
	gkv__sbuf_free(&copy);
	return rc;
}

/* ---- figures ---- */

/* Entries of dbi, or 0 where the database is absent (has false). */
static int db_entries(uint64_t *out, MDB_txn *txn, lenv *e, MDB_dbi dbi, bool has)
{
	MDB_stat st;
	int rc;

	*out = 0;
	if (!has)
		return 0;
	if ((rc = mdb_stat(txn, dbi, &st)) != 0)
		return gkv__lmdb_error(e->path, rc, "cannot read the figures");
	*out = st.ms_entries;
	return 0;
}

/*
 * The environment's figures, in this order: map_size (bytes mapped),
 * page_size, pages_used (the last page in use + 1: what data.mdb needs),
 * last_txn (the id of the last committed transaction), readers (slots
 * of the reader table in use), then the entries of each database:
 * objects, commits (0 in format 1, which keeps them in objects), trees
 * (0 before format 4), refs, reflog, config (0 where a database does not
 * exist yet).
 */
static int lmdb_stats(gkv_backend *b, gkv_backend_stat_cb cb, void *payload)
{
	static const char *const names[] = {"map_size", "page_size", "pages_used", "last_txn",
	    "readers", "objects", "commits", "trees", "refs", "reflog", "config"};
	lenv *e = ((lmdb_backend *)b)->e;
	uint64_t v[sizeof(names) / sizeof(names[0])];
	MDB_envinfo info;
	MDB_txn *txn;
	MDB_dbi cdbi;
	int rc, hascfg;

	if ((hascfg = gkv__lmdb_config_dbi(&cdbi, e)) < 0)
		return hascfg;
	if ((rc = gkv__lmdb_rtxn_begin(&txn, e)) < 0)
		return rc;
	cdbi = __atomic_load_n(&e->config, __ATOMIC_RELAXED);
	if ((rc = mdb_env_info(e->env, &info)) != 0) {
		gkv__lmdb_rtxn_end(e, txn);
		return gkv__lmdb_error(e->path, rc, "cannot read the figures");
	}
	v[0] = info.me_mapsize;
	v[1] = e->psize;
	v[2] = (uint64_t)info.me_last_pgno + 1;
	v[3] = info.me_last_txnid;
	v[4] = info.me_numreaders;
	if ((rc = db_entries(&v[5], txn, e, e->objects, true)) == 0 &&
	    (rc = db_entries(&v[6], txn, e, e->commits, e->split_commits)) == 0 &&
	    (rc = db_entries(&v[7], txn, e, e->trees, e->split_trees)) == 0 &&
	    (rc = db_entries(&v[8], txn, e, e->refs, true)) == 0 &&
	    (rc = db_entries(&v[9], txn, e, e->reflog, e->has_reflog)) == 0)
		rc = db_entries(&v[10], txn, e, cdbi, hascfg == 1);
	gkv__lmdb_rtxn_end(e, txn);
	for (size_t i = 0; rc == 0 && i < sizeof(names) / sizeof(names[0]); i++)
		rc = cb(names[i], v[i], payload);
	return rc;
}

/* ---- lifetime ---- */

static void lmdb_free(gkv_backend *b)
{
	lmdb_backend *h = (lmdb_backend *)b;

	if (!h)
		return;
	gkv__lmdb_env_put(h->e);
	free(h);
}

static void lmdb_fill_vtable(gkv_backend *b)
{
	b->name = "lmdb";
	b->read = lmdb_read;
	b->exists = lmdb_exists;
	b->foreach = lmdb_foreach;
	b->ref_read = lmdb_ref_read;
	b->ref_list = lmdb_ref_list;
	b->ref_cas = lmdb_ref_cas;
	b->batch_begin = lmdb_batch_begin;
	b->batch_write = lmdb_batch_write;
	b->flags = GKV_BACKEND_BATCH_DEFERS;
	b->batch_ref_cas = lmdb_batch_ref_cas;
	b->batch_commit = lmdb_batch_commit;
	b->batch_abort = lmdb_batch_abort;
	b->free = lmdb_free;
	b->refs_version = lmdb_refs_version;
	b->ref_read_versioned = lmdb_ref_read_versioned;
	b->read_typed = lmdb_read_typed;
	b->read_header = lmdb_read_header;
	b->read_stream = lmdb_read_stream;
	b->batch_ref_log = lmdb_batch_ref_log;
	b->reflog_read = lmdb_reflog_read;
	b->config_get = lmdb_config_get;
	b->config_set = lmdb_config_set;
	b->config_list = lmdb_config_list;
	b->batch_delete = lmdb_batch_delete;
	b->batch_reflog_delete = lmdb_batch_reflog_delete;
	b->reflog_list = lmdb_reflog_list;
	b->stats = lmdb_stats;
}

/* Raw records need the checksums of format 3 and later. */
static void lmdb_fill_raw(gkv_backend *b, const lenv *e)
{
	if (!e->checksums)
		return;
	b->raw_format = RAW_FORMAT;
	b->read_raw = lmdb_read_raw;
	b->batch_write_raw = lmdb_batch_write_raw;
	b->encode_raw = lmdb_encode_raw;
}

int gkv_backend_lmdb_open(gkv_backend **out, const char *path, unsigned int flags)
{
	lmdb_backend *h;
	int rc;

	if (!out || !path || !*path)
		return gkv_error_set(GKV_E_INVALID, "lmdb: no path given");
	if (flags &
	    ~(unsigned)(GKV_LMDB_CREATE | GKV_LMDB_READONLY | GKV_LMDB_NOSYNC | GKV_LMDB_WRITEMAP))
		return gkv_error_set(GKV_E_INVALID, "lmdb '%s': unknown flags 0x%x", path, flags);
	if (!(h = calloc(1, sizeof(*h))))
		return gkv__oom();
	gkv_backend_init(&h->parent, GKV_BACKEND_VERSION);
	lmdb_fill_vtable(&h->parent);
	h->readonly = (flags & GKV_LMDB_READONLY) != 0;
	rc = gkv__lmdb_env_get(&h->e, path, flags);
	if (rc < 0) {
		free(h);
		return rc;
	}
	lmdb_fill_raw(&h->parent, h->e);
	*out = &h->parent;
	return 0;
}
