/*
 * lmdb.c -- the LMDB backend: objects and refs in one LMDB environment (a
 * directory holding data.mdb and lock.mdb), shared safely by threads and
 * by processes, crash-safe by LMDB's copy-on-write design.
 *
 * Layout, three named databases:
 *   "objects"  key: the 20-byte raw id
 *              value: one header byte, then the payload. Header bits 0-2
 *              are the git type (1..4), bit 7 says the payload is zlib
 *              compressed; bits 3-6 are zero. A compressed value is
 *              header, uncompressed length (8 bytes, little-endian), zlib
 *              stream. Payloads over COMPRESS_MIN are compressed when that
 *              saves space; small ones are not worth the CPU.
 *   "refs"     key: the full ref name (no NUL); value: the 20-byte id.
 *   "meta"     "magic" = "gitkv-lmdb", "version" = "1": lets detect() tell
 *              our environments from others and open() refuse a format it
 *              does not know.
 *
 * Writes: one write transaction per batch commit (or ref CAS), so a
 * commit's objects and its ref update land together; the CAS is checked
 * inside that transaction, which LMDB serialises across threads and
 * processes. Reads: read-only transactions, MDB_NOTLS so that any thread
 * may use any of them, recycled through a small pool with
 * mdb_txn_reset/renew (beginning a fresh one costs a reader-slot search).
 *
 * Growth: the user never sets a size. The map starts at DEFAULT_MAPSIZE
 * (virtual and sparse; GKV_LMDB_INITIAL_MAPSIZE overrides it, in bytes
 * with an optional k/m/g suffix, mainly for tests) and doubles on
 * MDB_MAP_FULL, after which the transaction is retried; a large batch
 * grows the map beforehand instead of failing and redoing. LMDB only lets
 * the map change while no transaction of this process is active, so every
 * transaction holds map_lock for reading and a resize takes it for
 * writing. MDB_MAP_RESIZED (another process grew the map) adopts the
 * size recorded in the file.
 *
 * One MDB_env per environment per process: LMDB's locks are per process
 * (closing a second MDB_env on the same files would drop the first one's
 * locks), so handles opened on the same directory share one env through a
 * process-wide registry -- the one piece of global state here, forced by
 * LMDB. Entries are keyed by device, inode and pid, so that a forked child
 * never reuses its parent's env.
 */
#define _GNU_SOURCE /* pthread_rwlockattr_setkind_np */

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <unistd.h>

#include <lmdb.h>
#include <zlib.h>

#include "../backend_util.h"

#define FORMAT_MAGIC "gitkv-lmdb"
#define FORMAT_VERSION "1"
#define COMPRESS_MIN 1024
#define HDR_ZLIB 0x80
#define HDR_TYPE 0x07
#define ZHDR_SIZE 9 /* header byte + 8-byte length */
#define DEFAULT_MAPSIZE ((size_t)256 << 20)
#define MIN_MAPSIZE ((size_t)64 << 10)
#define MAX_READERS 1022
#define POOL_MAX 16
#define MAX_ATTEMPTS 64
#define FULL_MARGIN ((uint64_t)64 << 20)

/* One open environment, shared by every handle of this process on it. */
typedef struct lenv {
	struct lenv *next;
	dev_t dev;
	ino_t ino;
	pid_t pid;
	size_t nhandles; /* guarded by registry_lock */
	char *path;
	MDB_env *env;
	MDB_dbi objects, refs, meta;
	bool rdonly; /* opened MDB_RDONLY */
	bool nosync;
	size_t mapsize;            /* guarded by map_lock */
	pthread_rwlock_t map_lock; /* read: a txn is active; write: remapping */
	pthread_mutex_t pool_lock;
	MDB_txn *pool[POOL_MAX]; /* reset read txns ready for renew */
	size_t npool;
} lenv;

typedef struct {
	gkv_backend parent;
	lenv *e;
	bool readonly;
} lmdb_backend;

typedef struct {
	gkv_oid id;
	size_t off, len; /* the encoded value in the batch's arena */
} lobj;

typedef struct {
	char *name;
	bool has_expected, has_target;
	gkv_oid expected, target;
} lcas;

typedef struct {
	gkv_batch parent;
	gkv__sbuf arena;
	lobj *objs;
	size_t nobjs, capobjs;
	lcas *cas;
	size_t ncas, capcas;
} lbatch;

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static lenv *registry;

/* ---- errors ---- */

/* Our own codes are small negatives; LMDB's are near -30800, errno's positive. */
static bool is_gkv_code(int rc)
{
	return rc < 0 && rc >= GKV_ITEROVER;
}

static int lmdb_error(const char *path, int rc, const char *what)
{
	int code = GKV_E_IO;

	switch (rc) {
	case ENOSPC:
	case EFBIG:
	case EDQUOT:
		return gkv_error_set(GKV_E_FULL, "lmdb '%s': %s: disk full (%s)", path, what,
		    mdb_strerror(rc));
	case MDB_MAP_FULL:
		code = GKV_E_FULL;
		break;
	case ENOMEM:
		code = GKV_E_NOMEM;
		break;
	case MDB_NOTFOUND:
		code = GKV_E_NOTFOUND;
		break;
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH:
	case MDB_INCOMPATIBLE:
		code = GKV_E_CORRUPT;
		break;
	case MDB_BAD_VALSIZE:
		code = GKV_E_INVALID;
		break;
	}
	return gkv_error_set(code, "lmdb '%s': %s: %s", path, what, mdb_strerror(rc));
}

/*
 * LMDB reports a short write as EIO ("filesystem full?"): a write cut
 * short by a full disk, a quota or the file-size limit. Tell those from a
 * real I/O error by looking at the room left.
 */
static bool short_of_room(const char *path)
{
	struct statvfs vfs;
	struct rlimit lim;
	struct stat st;
	char data[4096];

	if (statvfs(path, &vfs) == 0 && (uint64_t)vfs.f_bavail * vfs.f_frsize < FULL_MARGIN)
		return true;
	if (getrlimit(RLIMIT_FSIZE, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY)
		return false;
	snprintf(data, sizeof(data), "%s/data.mdb", path);
	return stat(data, &st) == 0 && (uint64_t)st.st_size + FULL_MARGIN / 64 >= lim.rlim_cur;
}

static int write_error(const char *path, int rc, const char *what)
{
	if (rc == EIO && short_of_room(path))
		return gkv_error_set(GKV_E_FULL, "lmdb '%s': %s: disk full (short write)", path,
		    what);
	return lmdb_error(path, rc, what);
}

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
	/* LMDB's largest key (511 bytes in a default build). */
	if (strlen(name) > (size_t)mdb_env_get_maxkeysize(e->env))
		return gkv_error_set(GKV_E_INVALID, "lmdb '%s': ref name '%.60s...' is too long",
		    e->path, name);
	return 0;
}

/* ---- map size ---- */

static size_t initial_mapsize(void)
{
	const char *s = getenv("GKV_LMDB_INITIAL_MAPSIZE");
	unsigned long long v;
	char *end;

	if (!s || !*s)
		return DEFAULT_MAPSIZE;
	v = strtoull(s, &end, 10);
	if (*end == 'k' || *end == 'K')
		v <<= 10;
	else if (*end == 'm' || *end == 'M')
		v <<= 20;
	else if (*end == 'g' || *end == 'G')
		v <<= 30;
	if (v < MIN_MAPSIZE || v > SIZE_MAX / 4)
		return v < MIN_MAPSIZE ? MIN_MAPSIZE : DEFAULT_MAPSIZE;
	return (size_t)(v + 4095) / 4096 * 4096;
}

static void refresh_mapsize(lenv *e)
{
	MDB_envinfo info;

	if (mdb_env_info(e->env, &info) == 0)
		e->mapsize = info.me_mapsize;
}

/* Another process grew the map past ours: take the size it recorded. */
static void adopt_mapsize(lenv *e)
{
	pthread_rwlock_wrlock(&e->map_lock);
	mdb_env_set_mapsize(e->env, 0);
	refresh_mapsize(e);
	pthread_rwlock_unlock(&e->map_lock);
}

/*
 * Grow the map to at least need bytes (doubling), unless another thread
 * already grew it past `seen`, the size the failed attempt ran with.
 */
static int grow_map(lenv *e, size_t seen, size_t need)
{
	size_t old, size;
	int rc = 0;

	pthread_rwlock_wrlock(&e->map_lock);
	old = size = e->mapsize;
	if (size > seen && size >= need)
		goto out;
	while (size < need && size <= SIZE_MAX / 2)
		size *= 2;
	if (size < need) {
		rc = gkv_error_set(GKV_E_FULL, "lmdb '%s': the map cannot grow past %zu bytes",
		    e->path, old);
		goto out;
	}
	if ((rc = mdb_env_set_mapsize(e->env, size)) != 0) {
		/* The old mapping is gone: map the old size again. */
		mdb_env_set_mapsize(e->env, old);
		rc = gkv_error_set(GKV_E_FULL, "lmdb '%s': cannot grow the map to %zu bytes: %s",
		    e->path, size, mdb_strerror(rc));
	}
	refresh_mapsize(e);
out:
	pthread_rwlock_unlock(&e->map_lock);
	return rc;
}

/* A batch this large would be costly to redo after MDB_MAP_FULL: make
 * room before starting it. Small ones just retry. */
static int reserve_map(lenv *e, size_t estimate)
{
	MDB_envinfo info;
	MDB_stat st;
	size_t used, mapsize;

	pthread_rwlock_rdlock(&e->map_lock);
	mdb_env_info(e->env, &info);
	mdb_env_stat(e->env, &st);
	mapsize = e->mapsize;
	pthread_rwlock_unlock(&e->map_lock);
	if (estimate < mapsize / 8)
		return 0;
	used = (info.me_last_pgno + 1) * (size_t)st.ms_psize;
	if (used + estimate <= mapsize)
		return 0;
	return grow_map(e, mapsize, used + estimate);
}

/* ---- transactions ---- */

static int rtxn_begin(MDB_txn **out, lenv *e)
{
	for (int attempt = 0;; attempt++) {
		MDB_txn *txn = NULL;
		int rc;

		pthread_rwlock_rdlock(&e->map_lock);
		pthread_mutex_lock(&e->pool_lock);
		if (e->npool)
			txn = e->pool[--e->npool];
		pthread_mutex_unlock(&e->pool_lock);
		if (txn && (rc = mdb_txn_renew(txn)) != 0)
			mdb_txn_abort(txn);
		else if (!txn)
			rc = mdb_txn_begin(e->env, NULL, MDB_RDONLY, &txn);
		if (rc == 0) {
			*out = txn; /* map_lock stays held until rtxn_end */
			return 0;
		}
		pthread_rwlock_unlock(&e->map_lock);
		if (rc != MDB_MAP_RESIZED || attempt == MAX_ATTEMPTS)
			return lmdb_error(e->path, rc, "cannot begin a read");
		adopt_mapsize(e);
	}
}

static void rtxn_end(lenv *e, MDB_txn *txn)
{
	mdb_txn_reset(txn);
	pthread_mutex_lock(&e->pool_lock);
	if (e->npool < POOL_MAX) {
		e->pool[e->npool++] = txn;
		txn = NULL;
	}
	pthread_mutex_unlock(&e->pool_lock);
	if (txn)
		mdb_txn_abort(txn);
	pthread_rwlock_unlock(&e->map_lock);
}

/* The body of a write transaction: 0, a GKV_E_* code (message set), or an
 * LMDB/errno code; the caller aborts on anything but 0. */
typedef int (*wtxn_fn)(MDB_txn *txn, lenv *e, void *ctx);

static int wtxn_attempt(lenv *e, wtxn_fn fn, void *ctx, size_t *seen)
{
	MDB_txn *txn;
	int rc;

	pthread_rwlock_rdlock(&e->map_lock);
	*seen = e->mapsize;
	rc = mdb_txn_begin(e->env, NULL, 0, &txn);
	if (rc == 0) {
		rc = fn(txn, e, ctx);
		if (rc == 0)
			rc = mdb_txn_commit(txn); /* aborts by itself on failure */
		else
			mdb_txn_abort(txn);
	}
	pthread_rwlock_unlock(&e->map_lock);
	return rc;
}

/* Run fn in a write transaction and commit it, growing the map as needed. */
static int with_wtxn(lenv *e, wtxn_fn fn, void *ctx, const char *what)
{
	for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
		size_t seen;
		int rc = wtxn_attempt(e, fn, ctx, &seen);

		if (rc == 0 || is_gkv_code(rc))
			return rc;
		if (rc == MDB_MAP_RESIZED) {
			adopt_mapsize(e);
		} else if (rc == MDB_MAP_FULL) {
			if ((rc = grow_map(e, seen, seen + 1)) < 0)
				return rc;
		} else {
			return write_error(e->path, rc, what);
		}
	}
	return gkv_error_set(GKV_E_FULL, "lmdb '%s': %s: the map kept filling up", e->path, what);
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

/* Compress into the arena if that saves space; 1 if it did, 0 if not. */
static int encode_zlib(gkv__sbuf *arena, unsigned char hdr, const void *data, size_t len)
{
	size_t start = arena->size;
	uLongf clen = compressBound(len);
	unsigned char *p;

	if (gkv__sbuf_grow(arena, ZHDR_SIZE + clen) < 0)
		return 0; /* try uncompressed, which needs less */
	p = arena->ptr + start;
	if (compress2(p + ZHDR_SIZE, &clen, data, len, Z_BEST_SPEED) != Z_OK ||
	    clen + ZHDR_SIZE >= len + 1)
		return 0;
	p[0] = hdr | HDR_ZLIB;
	put_le64(p + 1, len);
	arena->size = start + ZHDR_SIZE + clen;
	return 1;
}

static int encode(gkv__sbuf *arena, gkv_otype type, const void *data, size_t len)
{
	unsigned char hdr = (unsigned char)type;
	int rc;

	if (type < GKV_OBJ_COMMIT || type > GKV_OBJ_TAG)
		return gkv_error_set(GKV_E_INVALID, "lmdb: object type %d cannot be stored", type);
	if (len > COMPRESS_MIN && encode_zlib(arena, hdr, data, len))
		return 0;
	if ((rc = gkv__sbuf_putc(arena, (char)hdr)) < 0)
		return rc;
	return gkv__sbuf_put(arena, data, len);
}

static int decode_zlib(void **data, size_t *len, const lenv *e, const gkv_oid *id,
    const unsigned char *p, size_t size)
{
	uint64_t raw;
	uLongf dlen;
	uLong slen = size - ZHDR_SIZE;
	unsigned char *out;
	int zr;

	if (size < ZHDR_SIZE)
		return corrupt_object(e, id, "truncated header");
	raw = get_le64(p + 1);
	/* zlib cannot expand more than about 1032:1: refuse a length that
	 * would make us allocate what the data cannot hold. */
	if (raw > (uint64_t)slen * 1032 + 64 || raw > SIZE_MAX - 1)
		return corrupt_object(e, id, "recorded length is impossible");
	if (!(out = malloc(raw ? raw : 1)))
		return gkv__oom();
	dlen = raw;
	zr = uncompress2(out, &dlen, p + ZHDR_SIZE, &slen);
	if (zr != Z_OK || dlen != raw || slen != size - ZHDR_SIZE) {
		free(out);
		if (zr == Z_MEM_ERROR)
			return gkv__oom();
		return corrupt_object(e, id, "does not inflate to its recorded length");
	}
	*data = out;
	*len = raw;
	return 0;
}

static int decode(void **data, size_t *len, gkv_otype *type, const lenv *e, const gkv_oid *id,
    const MDB_val *v)
{
	const unsigned char *p = v->mv_data;
	int t;
	void *out;

	if (v->mv_size < 1)
		return corrupt_object(e, id, "empty record");
	t = p[0] & HDR_TYPE;
	if (t < GKV_OBJ_COMMIT || t > GKV_OBJ_TAG || (p[0] & ~(HDR_TYPE | HDR_ZLIB)))
		return corrupt_object(e, id, "bad header byte");
	*type = (gkv_otype)t;
	if (p[0] & HDR_ZLIB)
		return decode_zlib(data, len, e, id, p, v->mv_size);
	if (!(out = malloc(v->mv_size)))
		return gkv__oom();
	memcpy(out, p + 1, v->mv_size - 1);
	*data = out;
	*len = v->mv_size - 1;
	return 0;
}

/* ---- objects ---- */

static int lmdb_read(void **data, size_t *len, gkv_otype *type, gkv_backend *b, const gkv_oid *id)
{
	lenv *e = ((lmdb_backend *)b)->e;
	MDB_val k = {GKV_OID_RAWSZ, (void *)id->id}, v;
	char hex[GKV_OID_HEXSZ + 1];
	MDB_txn *txn;
	int rc;

	if ((rc = rtxn_begin(&txn, e)) < 0)
		return rc;
	rc = mdb_get(txn, e->objects, &k, &v);
	if (rc == 0)
		rc = decode(data, len, type, e, id, &v);
	else if (rc == MDB_NOTFOUND)
		rc = GKV_E_NOTFOUND;
	else
		rc = lmdb_error(e->path, rc, "cannot read an object");
	rtxn_end(e, txn);
	if (rc == GKV_E_NOTFOUND) {
		gkv__backend_hex(hex, id);
		return gkv_error_set(GKV_E_NOTFOUND, "lmdb '%s': object %s not found", e->path, hex);
	}
	return rc;
}

static int lmdb_exists(gkv_backend *b, const gkv_oid *id)
{
	lenv *e = ((lmdb_backend *)b)->e;
	MDB_val k = {GKV_OID_RAWSZ, (void *)id->id}, v;
	MDB_txn *txn;
	int rc;

	if ((rc = rtxn_begin(&txn, e)) < 0)
		return rc;
	rc = mdb_get(txn, e->objects, &k, &v);
	rtxn_end(e, txn);
	if (rc == 0 || rc == MDB_NOTFOUND)
		return rc == 0;
	return lmdb_error(e->path, rc, "cannot look an object up");
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

/* Walk the ids from the first that can match the prefix (MDB_SET_RANGE:
 * keys sort as their hex does) until the first that does not. */
static int scan_ids(oid_vec *out, lenv *e, MDB_txn *txn, const gkv_oid *prefix, size_t hexlen)
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
	if ((rc = mdb_cursor_open(txn, e->objects, &cur)) != 0)
		return lmdb_error(e->path, rc, "cannot list objects");
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
	if (rc == 0 || rc == MDB_NOTFOUND || is_gkv_code(rc))
		return rc == MDB_NOTFOUND ? 0 : rc;
	return lmdb_error(e->path, rc, "cannot list objects");
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
	if ((rc = rtxn_begin(&txn, e)) < 0)
		return rc;
	rc = scan_ids(&ids, e, txn, prefix, prefix_hexlen);
	rtxn_end(e, txn);
	for (size_t i = 0; rc == 0 && i < ids.n; i++)
		rc = cb(&ids.ids[i], payload);
	free(ids.ids);
	return rc;
}

/* ---- refs ---- */

static int ref_value(gkv_oid *out, const lenv *e, const MDB_val *k, const MDB_val *v)
{
	if (v->mv_size != GKV_OID_RAWSZ)
		return gkv_error_set(GKV_E_CORRUPT, "lmdb '%s': ref '%.*s' holds %zu bytes, not an id",
		    e->path, (int)k->mv_size, (const char *)k->mv_data, v->mv_size);
	memcpy(out->id, v->mv_data, GKV_OID_RAWSZ);
	return 0;
}

static int lmdb_ref_read(gkv_oid *out, gkv_backend *b, const char *name)
{
	lenv *e = ((lmdb_backend *)b)->e;
	MDB_val k, v;
	MDB_txn *txn;
	int rc;

	if ((rc = check_ref_name(e, name)) < 0)
		return rc;
	k.mv_size = strlen(name);
	k.mv_data = (void *)name;
	if ((rc = rtxn_begin(&txn, e)) < 0)
		return rc;
	rc = mdb_get(txn, e->refs, &k, &v);
	if (rc == 0)
		rc = ref_value(out, e, &k, &v);
	rtxn_end(e, txn);
	if (rc == MDB_NOTFOUND)
		return gkv_error_set(GKV_E_NOTFOUND, "lmdb '%s': ref '%s' not found", e->path, name);
	if (rc > 0 || rc < GKV_ITEROVER)
		return lmdb_error(e->path, rc, "cannot read a ref");
	return rc;
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
		return lmdb_error(e->path, rc, "cannot list refs");
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
	if (rc == 0 || rc == MDB_NOTFOUND || is_gkv_code(rc))
		return rc == MDB_NOTFOUND ? 0 : rc;
	return lmdb_error(e->path, rc, "cannot list refs");
}

static int lmdb_ref_list(gkv_backend *b, const char *prefix, gkv_backend_ref_cb cb, void *payload)
{
	lenv *e = ((lmdb_backend *)b)->e;
	ref_snapshot s = {GKV__SBUF_INIT, {NULL, 0, 0}};
	const char *name;
	MDB_txn *txn;
	int rc;

	if ((rc = rtxn_begin(&txn, e)) < 0)
		return rc;
	rc = snapshot_refs(&s, e, txn, prefix ? prefix : "");
	rtxn_end(e, txn);
	name = (const char *)s.names.ptr;
	for (size_t i = 0; rc == 0 && i < s.targets.n; i++) {
		rc = cb(name, &s.targets.ids[i], payload);
		name += strlen(name) + 1;
	}
	gkv__sbuf_free(&s.names);
	free(s.targets.ids);
	return rc;
}

/* Check and apply one ref CAS inside a write transaction. */
static int cas_in_txn(MDB_txn *txn, lenv *e, const char *name, const gkv_oid *expected,
    const gkv_oid *target)
{
	MDB_val k = {strlen(name), (void *)name}, v;
	gkv_oid cur;
	int rc = mdb_get(txn, e->refs, &k, &v);

	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	if (rc == 0 && (rc = ref_value(&cur, e, &k, &v)) < 0)
		return rc;
	if (!gkv__backend_cas_ok(rc == 0 ? &cur : NULL, expected))
		return gkv__backend_conflict(name, expected, rc == 0 ? &cur : NULL);
	if (target) {
		v.mv_size = GKV_OID_RAWSZ;
		v.mv_data = (void *)target->id;
		return mdb_put(txn, e->refs, &k, &v, 0);
	}
	return rc == 0 ? mdb_del(txn, e->refs, &k, NULL) : 0;
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
} cas_args;

static int cas_body(MDB_txn *txn, lenv *e, void *ctx)
{
	cas_args *a = ctx;

	return cas_in_txn(txn, e, a->name, a->expected, a->target);
}

static int lmdb_ref_cas(gkv_backend *b, const char *name, const gkv_oid *expected,
    const gkv_oid *new_target)
{
	lmdb_backend *h = (lmdb_backend *)b;
	cas_args a = {name, expected, new_target};
	int rc;

	if ((rc = check_writable(h)) < 0 || (rc = check_ref_name(h->e, name)) < 0)
		return rc;
	return with_wtxn(h->e, cas_body, &a, "cannot update a ref");
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
	batch->parent.backend = b;
	*out = &batch->parent;
	return 0;
}

static int grow_array(void **arr, size_t *cap, size_t n, size_t elem)
{
	size_t c = *cap ? *cap * 2 : 16;
	void *p;

	if (n < *cap)
		return 0;
	if (c > SIZE_MAX / elem)
		return gkv__oom();
	if (!(p = realloc(*arr, c * elem)))
		return gkv__oom();
	*arr = p;
	*cap = c;
	return 0;
}

/* Encoding (and compressing) happens here, outside any transaction, so
 * that the write transaction at commit only copies bytes. */
static int lmdb_batch_write(gkv_batch *batch, const gkv_oid *id, gkv_otype type, const void *data,
    size_t len)
{
	lbatch *lb = (lbatch *)batch;
	size_t off = lb->arena.size;
	int rc;

	if ((rc = grow_array((void **)&lb->objs, &lb->capobjs, lb->nobjs, sizeof(*lb->objs))) < 0)
		return rc;
	if ((rc = encode(&lb->arena, type, data, len)) < 0) {
		lb->arena.size = off;
		return rc;
	}
	lb->objs[lb->nobjs].id = *id;
	lb->objs[lb->nobjs].off = off;
	lb->objs[lb->nobjs].len = lb->arena.size - off;
	lb->nobjs++;
	return 0;
}

static int lmdb_batch_ref_cas(gkv_batch *batch, const char *name, const gkv_oid *expected,
    const gkv_oid *new_target)
{
	lbatch *lb = (lbatch *)batch;
	lcas *c;
	int rc;

	if ((rc = check_ref_name(((lmdb_backend *)batch->backend)->e, name)) < 0)
		return rc;
	if ((rc = grow_array((void **)&lb->cas, &lb->capcas, lb->ncas, sizeof(*lb->cas))) < 0)
		return rc;
	c = &lb->cas[lb->ncas];
	memset(c, 0, sizeof(*c));
	if (!(c->name = gkv__strdup(name)))
		return GKV_E_NOMEM;
	if ((c->has_expected = expected != NULL))
		c->expected = *expected;
	if ((c->has_target = new_target != NULL))
		c->target = *new_target;
	lb->ncas++;
	return 0;
}

static void lmdb_batch_abort(gkv_batch *batch)
{
	lbatch *lb = (lbatch *)batch;

	if (!lb)
		return;
	for (size_t i = 0; i < lb->ncas; i++)
		free(lb->cas[i].name);
	free(lb->cas);
	free(lb->objs);
	gkv__sbuf_free(&lb->arena);
	free(lb);
}

static int lobj_cmp(const void *a, const void *b)
{
	return memcmp(((const lobj *)a)->id.id, ((const lobj *)b)->id.id, GKV_OID_RAWSZ);
}

/* The CASes first (a conflict costs no object writes), then the objects;
 * an object already stored is left alone (MDB_NOOVERWRITE). */
static int batch_body(MDB_txn *txn, lenv *e, void *ctx)
{
	lbatch *lb = ctx;
	int rc;

	for (size_t i = 0; i < lb->ncas; i++) {
		lcas *c = &lb->cas[i];

		rc = cas_in_txn(txn, e, c->name, c->has_expected ? &c->expected : NULL,
		    c->has_target ? &c->target : NULL);
		if (rc != 0)
			return rc;
	}
	for (size_t i = 0; i < lb->nobjs; i++) {
		MDB_val k = {GKV_OID_RAWSZ, lb->objs[i].id.id};
		MDB_val v = {lb->objs[i].len, lb->arena.ptr + lb->objs[i].off};

		rc = mdb_put(txn, e->objects, &k, &v, MDB_NOOVERWRITE);
		if (rc != 0 && rc != MDB_KEYEXIST)
			return rc;
	}
	return 0;
}

static int lmdb_batch_commit(gkv_batch *batch)
{
	lbatch *lb = (lbatch *)batch;
	lenv *e = ((lmdb_backend *)batch->backend)->e;
	/* B-tree pages are half full at worst, plus per-entry overhead. */
	size_t estimate = 2 * (lb->arena.size + 64 * lb->nobjs) + (64 << 10);
	int rc = 0;

	if (lb->nobjs == 0 && lb->ncas == 0)
		goto out;
	/* In key order LMDB fills pages one after the other. */
	qsort(lb->objs, lb->nobjs, sizeof(*lb->objs), lobj_cmp);
	if ((rc = reserve_map(e, estimate)) == 0)
		rc = with_wtxn(e, batch_body, lb, "cannot commit a batch");
out:
	lmdb_batch_abort(batch);
	return rc;
}

/* ---- opening ---- */

static int read_meta(MDB_txn *txn, MDB_dbi meta, const char *key, MDB_val *v)
{
	MDB_val k = {strlen(key), (void *)key};

	return mdb_get(txn, meta, &k, v);
}

static bool meta_is(const MDB_val *v, const char *s)
{
	return v->mv_size == strlen(s) && memcmp(v->mv_data, s, v->mv_size) == 0;
}

static int check_format(MDB_txn *txn, lenv *e)
{
	MDB_val v;
	int rc = read_meta(txn, e->meta, "magic", &v);

	if (rc == MDB_NOTFOUND || (rc == 0 && !meta_is(&v, FORMAT_MAGIC)))
		return gkv_error_set(GKV_E_CORRUPT, "lmdb '%s' is not a gitkv environment (bad magic)",
		    e->path);
	if (rc == 0)
		rc = read_meta(txn, e->meta, "version", &v);
	if (rc == MDB_NOTFOUND)
		return gkv_error_set(GKV_E_CORRUPT, "lmdb '%s': no format version", e->path);
	if (rc == 0 && !meta_is(&v, FORMAT_VERSION))
		return gkv_error_set(GKV_E_CORRUPT,
		    "lmdb '%s': unknown format version '%.*s' (this build reads " FORMAT_VERSION ")",
		    e->path, (int)(v.mv_size > 16 ? 16 : v.mv_size), (const char *)v.mv_data);
	return rc;
}

static int write_meta(MDB_txn *txn, lenv *e)
{
	MDB_val k = {5, "magic"}, v = {strlen(FORMAT_MAGIC), FORMAT_MAGIC};
	int rc = mdb_put(txn, e->meta, &k, &v, 0);

	k.mv_size = 7;
	k.mv_data = "version";
	v.mv_size = strlen(FORMAT_VERSION);
	v.mv_data = FORMAT_VERSION;
	return rc ? rc : mdb_put(txn, e->meta, &k, &v, 0);
}

/* Is the main database empty (a brand-new environment)? */
static int env_is_empty(MDB_txn *txn)
{
	MDB_dbi main_dbi;
	MDB_stat st;

	if (mdb_dbi_open(txn, NULL, 0, &main_dbi) != 0 || mdb_stat(txn, main_dbi, &st) != 0)
		return 0;
	return st.ms_entries == 0;
}

typedef struct {
	bool create;
} init_args;

/* Open (or, in an empty environment being created, make) the databases. */
static int open_dbs(MDB_txn *txn, lenv *e, bool create)
{
	unsigned int f = create ? MDB_CREATE : 0;
	int rc = mdb_dbi_open(txn, "meta", 0, &e->meta);

	if (rc == MDB_NOTFOUND && env_is_empty(txn)) {
		if (!create)
			return gkv_error_set(GKV_E_NOTFOUND, "lmdb '%s': no gitkv environment",
			    e->path);
		if ((rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &e->meta)) == 0)
			rc = write_meta(txn, e);
	} else if (rc == MDB_NOTFOUND) {
		return gkv_error_set(GKV_E_CORRUPT, "lmdb '%s' is not a gitkv environment",
		    e->path);
	}
	if (rc == 0)
		rc = check_format(txn, e);
	if (rc == 0)
		rc = mdb_dbi_open(txn, "objects", f, &e->objects);
	if (rc == 0)
		rc = mdb_dbi_open(txn, "refs", f, &e->refs);
	if (rc == MDB_NOTFOUND)
		return gkv_error_set(GKV_E_CORRUPT, "lmdb '%s': a database is missing", e->path);
	return rc;
}

static int init_body(MDB_txn *txn, lenv *e, void *ctx)
{
	return open_dbs(txn, e, ((init_args *)ctx)->create);
}

/* A read-only environment cannot create anything: open in a read txn.
 * Handles opened in a transaction outlive it only if it commits. */
static int init_readonly(lenv *e)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(e->env, NULL, MDB_RDONLY, &txn);

	if (rc != 0)
		return lmdb_error(e->path, rc, "cannot begin a read");
	if ((rc = open_dbs(txn, e, false)) != 0) {
		mdb_txn_abort(txn);
		return is_gkv_code(rc) ? rc : lmdb_error(e->path, rc, "cannot open its databases");
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return lmdb_error(e->path, rc, "cannot open its databases");
	return 0;
}

static void lenv_free(lenv *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->npool; i++)
		mdb_txn_abort(e->pool[i]);
	if (e->env)
		mdb_env_close(e->env);
	pthread_rwlock_destroy(&e->map_lock);
	pthread_mutex_destroy(&e->pool_lock);
	free(e->path);
	free(e);
}

/* Writer preference: a remap waiting for readers must not starve behind
 * a steady stream of new ones (no txn ever takes map_lock twice). */
static int lenv_alloc(lenv **out, const char *path, const struct stat *st)
{
	pthread_rwlockattr_t attr;
	lenv *e = calloc(1, sizeof(*e));

	if (!e || !(e->path = gkv__strdup(path))) {
		free(e);
		return gkv__oom();
	}
	pthread_rwlockattr_init(&attr);
#ifdef PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#endif
	pthread_rwlock_init(&e->map_lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	pthread_mutex_init(&e->pool_lock, NULL);
	e->dev = st->st_dev;
	e->ino = st->st_ino;
	e->pid = getpid();
	*out = e;
	return 0;
}

static int env_open_error(const char *path, int rc)
{
	if (rc == ENOENT)
		return gkv_error_set(GKV_E_NOTFOUND, "lmdb '%s' does not exist", path);
	if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH)
		return gkv_error_set(GKV_E_CORRUPT, "lmdb '%s' is not an LMDB environment (%s)", path,
		    mdb_strerror(rc));
	return lmdb_error(path, rc, "cannot open");
}

static int lenv_open(lenv **out, const char *path, const struct stat *st, unsigned int flags)
{
	unsigned int mflags = MDB_NOTLS;
	init_args args = {(flags & GKV_LMDB_CREATE) != 0};
	lenv *e = NULL;
	int rc;

	if ((rc = lenv_alloc(&e, path, st)) < 0)
		return rc;
	e->rdonly = (flags & GKV_LMDB_READONLY) != 0;
	e->nosync = (flags & GKV_LMDB_NOSYNC) != 0;
	mflags |= e->rdonly ? MDB_RDONLY : 0;
	mflags |= e->nosync ? MDB_NOSYNC : 0;
	if ((rc = mdb_env_create(&e->env)) != 0) {
		lenv_free(e);
		return lmdb_error(path, rc, "cannot create an environment");
	}
	mdb_env_set_maxdbs(e->env, 4);
	mdb_env_set_maxreaders(e->env, MAX_READERS);
	mdb_env_set_mapsize(e->env, initial_mapsize());
	if ((rc = mdb_env_open(e->env, path, mflags, 0644)) != 0)
		rc = env_open_error(path, rc);
	if (rc == 0) {
		refresh_mapsize(e);
		rc = e->rdonly ? init_readonly(e) : with_wtxn(e, init_body, &args, "cannot initialise");
	}
	if (rc < 0) {
		lenv_free(e);
		return rc;
	}
	*out = e;
	return 0;
}

/* A second handle on an env this process has open: reconcile the flags. */
static int lenv_share(lenv *e, unsigned int flags)
{
	if (e->rdonly && !(flags & GKV_LMDB_READONLY))
		return gkv_error_set(GKV_E_READONLY,
		    "lmdb '%s' is already open read-only in this process", e->path);
	/* Durability is per environment in LMDB: the strongest asked wins. */
	if (e->nosync && !(flags & GKV_LMDB_NOSYNC) && !e->rdonly) {
		pthread_rwlock_wrlock(&e->map_lock);
		mdb_env_set_flags(e->env, MDB_NOSYNC, 0);
		e->nosync = false;
		pthread_rwlock_unlock(&e->map_lock);
	}
	return 0;
}

static lenv *registry_find(const struct stat *st)
{
	pid_t pid = getpid();

	for (lenv *e = registry; e; e = e->next)
		if (e->dev == st->st_dev && e->ino == st->st_ino && e->pid == pid)
			return e;
	return NULL;
}

/* Make sure path is a directory holding (or, with CREATE, able to hold)
 * an environment; st describes the directory. */
static int check_dir(struct stat *st, const char *path, unsigned int flags)
{
	char *data;
	int rc = 0;

	if (stat(path, st) != 0 && errno == ENOENT && (flags & GKV_LMDB_CREATE) &&
	    !(flags & GKV_LMDB_READONLY) && mkdir(path, 0777) != 0 && errno != EEXIST)
		return gkv_error_set(errno == ENOSPC ? GKV_E_FULL : GKV_E_IO,
		    "lmdb '%s': cannot make the directory: %s", path, strerror(errno));
	if (stat(path, st) != 0)
		return gkv_error_set(errno == ENOENT ? GKV_E_NOTFOUND : GKV_E_IO,
		    "lmdb '%s' does not exist: %s", path, strerror(errno));
	if (!S_ISDIR(st->st_mode))
		return gkv_error_set(GKV_E_INVALID, "lmdb '%s' is not a directory", path);
	if ((flags & GKV_LMDB_CREATE) && !(flags & GKV_LMDB_READONLY))
		return 0;
	if (!(data = malloc(strlen(path) + sizeof("/data.mdb"))))
		return gkv__oom();
	sprintf(data, "%s/data.mdb", path);
	if (access(data, F_OK) != 0)
		rc = gkv_error_set(GKV_E_NOTFOUND, "lmdb '%s': no environment there (no data.mdb)",
		    path);
	free(data);
	return rc;
}

static void lmdb_free(gkv_backend *b)
{
	lmdb_backend *h = (lmdb_backend *)b;
	lenv **pp;

	if (!h)
		return;
	pthread_mutex_lock(&registry_lock);
	if (--h->e->nhandles == 0) {
		for (pp = &registry; *pp != h->e; pp = &(*pp)->next)
			;
		*pp = h->e->next;
		lenv_free(h->e);
	}
	pthread_mutex_unlock(&registry_lock);
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
	b->batch_ref_cas = lmdb_batch_ref_cas;
	b->batch_commit = lmdb_batch_commit;
	b->batch_abort = lmdb_batch_abort;
	b->free = lmdb_free;
}

/* Find or open the shared env for path; the caller holds registry_lock. */
static int lenv_get(lenv **out, const char *path, unsigned int flags)
{
	struct stat st;
	lenv *e;
	int rc;

	if ((rc = check_dir(&st, path, flags)) < 0)
		return rc;
	if ((e = registry_find(&st)) != NULL) {
		if ((rc = lenv_share(e, flags)) < 0)
			return rc;
	} else {
		if ((rc = lenv_open(&e, path, &st, flags)) < 0)
			return rc;
		e->next = registry;
		registry = e;
	}
	e->nhandles++;
	*out = e;
	return 0;
}

int gkv_backend_lmdb_open(gkv_backend **out, const char *path, unsigned int flags)
{
	lmdb_backend *h;
	int rc;

	if (!out || !path || !*path)
		return gkv_error_set(GKV_E_INVALID, "lmdb: no path given");
	if (flags & ~(unsigned)(GKV_LMDB_CREATE | GKV_LMDB_READONLY | GKV_LMDB_NOSYNC))
		return gkv_error_set(GKV_E_INVALID, "lmdb '%s': unknown flags 0x%x", path, flags);
	if (!(h = calloc(1, sizeof(*h))))
		return gkv__oom();
	gkv_backend_init(&h->parent, GKV_BACKEND_VERSION);
	lmdb_fill_vtable(&h->parent);
	h->readonly = (flags & GKV_LMDB_READONLY) != 0;
	pthread_mutex_lock(&registry_lock);
	rc = lenv_get(&h->e, path, flags);
	pthread_mutex_unlock(&registry_lock);
	if (rc < 0) {
		free(h);
		return rc;
	}
	*out = &h->parent;
	return 0;
}

/* ---- detection ---- */

static bool has_magic(MDB_env *env)
{
	MDB_txn *txn;
	MDB_dbi meta;
	MDB_val v;
	bool ok = false;

	if (mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0)
		return false;
	if (mdb_dbi_open(txn, "meta", 0, &meta) == 0 && read_meta(txn, meta, "magic", &v) == 0)
		ok = meta_is(&v, FORMAT_MAGIC);
	mdb_txn_abort(txn);
	return ok;
}

/* Open read-only just long enough to look at the magic. Without write
 * access to the directory (no lock file can be made), look lock-free. */
static int probe(const char *path)
{
	MDB_env *env;
	int rc, found = 0;

	if (mdb_env_create(&env) != 0)
		return 0;
	mdb_env_set_maxdbs(env, 4);
	rc = mdb_env_open(env, path, MDB_RDONLY | MDB_NOTLS, 0644);
	if (rc == EACCES || rc == EROFS) {
		mdb_env_close(env);
		if (mdb_env_create(&env) != 0)
			return 0;
		mdb_env_set_maxdbs(env, 4);
		rc = mdb_env_open(env, path, MDB_RDONLY | MDB_NOTLS | MDB_NOLOCK, 0644);
	}
	if (rc == 0)
		found = has_magic(env);
	mdb_env_close(env);
	return found;
}

int gkv_backend_lmdb_detect(const char *path)
{
	struct stat st;
	int found;

	if (!path || check_dir(&st, path, 0) < 0) {
		gkv_error_clear();
		return 0;
	}
	/* Under the registry lock: an env we have open is not opened twice. */
	pthread_mutex_lock(&registry_lock);
	found = registry_find(&st) != NULL || probe(path);
	pthread_mutex_unlock(&registry_lock);
	return found;
}
