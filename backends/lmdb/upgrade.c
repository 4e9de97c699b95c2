/*
 * upgrade.c -- gkv_backend_lmdb_upgrade: an environment of an older
 * format (env.c: 1, 2 or 3) rewritten in place as format 4, so that a
 * store made before format 4 gets its trees in a database of their own.
 *
 * The whole rewrite is one LMDB write transaction, under gitkv's writer
 * lock: a crash, a kill, a full disk or a damaged record at any point
 * leaves the store exactly as it was (LMDB commits all or nothing), and
 * running the upgrade again starts over. What it does, in that
 * transaction:
 *   - makes "trees" (and, for format 1, "commits");
 *   - walks "objects" in key order and moves each tree to "trees" (and,
 *     for format 1, each commit to "commits"), appended in key order, so
 *     the new database's leaf pages are full and follow each other; a
 *     tree too large for a leaf is written after the walk (move_large),
 *     so that its pages do not come between the leaves, where the small
 *     trees -- nearly all of a head's -- lie;
 *   - for formats 1 and 2, which have no checksums, appends to every
 *     record of every database (objects, commits, trees, refs, reflog,
 *     config) the CRC-32C of its key and value, as format 3 and 4
 *     writers do (lmdb.c) -- after checking the record: an object must
 *     decode and hash to its id, a ref must be an id, a log record and a
 *     setting must have their layout. A record of a format-3 store must
 *     pass its checksum. A record that fails is GKV_E_CORRUPT naming it,
 *     and nothing is written;
 *   - sets the version to 4.
 * Object ids, payloads, refs, logs and settings are unchanged: only
 * where a record lies and its checksum.
 *
 * Never at open, never silent: an older build refuses a format-4 store,
 * so the upgrade is the caller's decision. It refuses to run while the
 * store is open anywhere else -- in this process (the registry, env.c),
 * or in another process that holds a slot of LMDB's reader table (every
 * process that has read the store) -- and env.c's check_view makes a
 * handle that opened the old format meanwhile fail cleanly afterwards.
 *
 * The transaction's size: for a format-3 store, the trees plus the pages
 * of "objects" they leave (libgit2's clone: 60,309 trees, 114 MB); for
 * formats 1 and 2, the whole store, every record being rewritten. LMDB
 * spills a transaction's dirty pages to the file past its limit, so the
 * memory stays bounded, but the file grows by what the transaction
 * writes before the old pages can be reused.
 */
#include <stdio.h>
#include <unistd.h>
#include <zlib.h>

#include "env.h"
#include "crc32c.h"

#define CRC_SIZE 4
#define HDR_ZLIB 0x80
#define HDR_TYPE 0x07
#define ZHDR_SIZE 9
#define LOG_SEQ_SIZE 9
#define LOG_FIXED (2 * GKV_OID_RAWSZ + 8 + 4)

typedef struct {
	int from;      /* the format found */
	MDB_dbi trees; /* made in the transaction */
	MDB_dbi commits;
	unsigned char *buf; /* a record with its checksum, being built */
	size_t cap;
	gkv_oid *large; /* trees left for the second step (move_large) */
	size_t nlarge, caplarge;
} up_args;

static uint32_t record_crc(const MDB_val *k, const void *val, size_t vlen)
{
	return gkv__crc32c(gkv__crc32c(0, k->mv_data, k->mv_size), val, vlen);
}

static bool crc_ok(const MDB_val *k, const MDB_val *v)
{
	const unsigned char *p = (const unsigned char *)v->mv_data + v->mv_size - CRC_SIZE;
	uint32_t c = record_crc(k, v->mv_data, v->mv_size - CRC_SIZE);

	return (p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24) == c;
}

static int corrupt(const lenv *e, const char *what, const MDB_val *k, const char *why)
{
	char hex[GKV_OID_HEXSZ + 1];

	if (k->mv_size == GKV_OID_RAWSZ && strcmp(what, "object") == 0) {
		gkv__backend_hex(hex, (const gkv_oid *)k->mv_data);
		return gkv_error_set(GKV_E_CORRUPT,
				     "lmdb '%s': object %s is corrupt: %s; nothing was upgraded",
				     e->path, hex, why);
	}
	return gkv_error_set(GKV_E_CORRUPT, "lmdb '%s': %s '%.*s' is corrupt: %s; nothing was upgraded",
			     e->path, what, (int)(k->mv_size > 200 ? 200 : k->mv_size),
			     (const char *)k->mv_data, why);
}

/* ---- checking a record of formats 1 and 2 ---- */

/* Does the object record v (no checksum) decode, and hash to its key? */
static int check_object(const lenv *e, const MDB_val *k, const MDB_val *v)
{
	const unsigned char *p = v->mv_data;
	unsigned char *out = NULL;
	gkv_oid id;
	uLongf dlen;
	uint64_t raw;
	int t, rc = 0;

	if (k->mv_size != GKV_OID_RAWSZ)
		return corrupt(e, "object key", k, "not a 20-byte id");
	if (v->mv_size < 1 || (p[0] & ~(HDR_TYPE | HDR_ZLIB)) || (p[0] & HDR_TYPE) < 1 ||
	    (p[0] & HDR_TYPE) > 4)
		return corrupt(e, "object", k, "bad header byte");
	t = p[0] & HDR_TYPE;
	if (!(p[0] & HDR_ZLIB))
		rc = gkv_hash(&id, (gkv_otype)t, p + 1, v->mv_size - 1);
	else {
		if (v->mv_size < ZHDR_SIZE)
			return corrupt(e, "object", k, "truncated header");
		raw = 0;
		for (int i = 7; i >= 0; i--)
			raw = raw << 8 | p[1 + i];
		if (raw > (uint64_t)(v->mv_size - ZHDR_SIZE) * 1032 + 64)
			return corrupt(e, "object", k, "recorded length is impossible");
		if (!(out = malloc(raw ? (size_t)raw : 1)))
			return gkv__oom();
		dlen = (uLongf)raw;
		if (uncompress(out, &dlen, p + ZHDR_SIZE, v->mv_size - ZHDR_SIZE) != Z_OK ||
		    dlen != raw) {
			free(out);
			return corrupt(e, "object", k, "does not inflate to its recorded length");
		}
		rc = gkv_hash(&id, (gkv_otype)t, out, (size_t)raw);
		free(out);
	}
	if (rc < 0)
		return rc;
	if (memcmp(id.id, k->mv_data, GKV_OID_RAWSZ) != 0)
		return corrupt(e, "object", k, "its content does not hash to its id");
	return 0;
}

static int check_ref(const lenv *e, const MDB_val *k, const MDB_val *v)
{
	return v->mv_size == GKV_OID_RAWSZ ? 0 : corrupt(e, "ref", k, "not an id");
}

static int check_log(const lenv *e, const MDB_val *k, const MDB_val *v)
{
	const char *s = (const char *)v->mv_data + LOG_FIXED, *end;
	const char *a, *b;

	if (k->mv_size <= LOG_SEQ_SIZE || v->mv_size < LOG_FIXED + 2)
		return corrupt(e, "log record of ref", k, "bad layout");
	end = (const char *)v->mv_data + v->mv_size;
	a = memchr(s, '\0', (size_t)(end - s));
	b = a ? memchr(a + 1, '\0', (size_t)(end - a - 1)) : NULL;
	if (!b || memchr(b + 1, '\0', (size_t)(end - b - 1)))
		return corrupt(e, "log record of ref", k, "bad layout");
	return 0;
}

static int check_setting(const lenv *e, const MDB_val *k, const MDB_val *v)
{
	return memchr(v->mv_data, '\0', v->mv_size) ? corrupt(e, "setting", k, "holds a NUL") : 0;
}

typedef int (*check_fn)(const lenv *e, const MDB_val *k, const MDB_val *v);

/*
 * Replace the record under the cursor by v. The key is copied first: it
 * points into the page, which LMDB rearranges when the value's size
 * changes before it writes the key again.
 */
static int put_current(MDB_cursor *c, const MDB_val *k, MDB_val *v)
{
	unsigned char key[512];
	MDB_val kk = {k->mv_size, key};

	if (k->mv_size > sizeof(key))
		return MDB_BAD_VALSIZE;
	memcpy(key, k->mv_data, k->mv_size);
	return mdb_cursor_put(c, &kk, v, MDB_CURRENT);
}

/* ---- the rewrite ---- */

/* Room for len bytes in a->buf. */
static int buf_room(up_args *a, size_t len)
{
	unsigned char *p;

	if (len > a->cap) {
		if (!(p = realloc(a->buf, len + 4096)))
			return gkv__oom();
		a->buf = p;
		a->cap = len + 4096;
	}
	return 0;
}

/* v with its checksum appended, in a->buf: *out. */
static int with_crc(MDB_val *out, up_args *a, const MDB_val *k, const MDB_val *v)
{
	uint32_t c = record_crc(k, v->mv_data, v->mv_size);
	int rc;

	if ((rc = buf_room(a, v->mv_size + CRC_SIZE)) < 0)
		return rc;
	memcpy(a->buf, v->mv_data, v->mv_size);
	for (int i = 0; i < 4; i++)
		a->buf[v->mv_size + (size_t)i] = (unsigned char)(c >> (8 * i));
	out->mv_size = v->mv_size + CRC_SIZE;
	out->mv_data = a->buf;
	return 0;
}

/* Check every record of dbi and append its checksum (formats 1 and 2). */
static int checksum_all(MDB_txn *txn, lenv *e, up_args *a, MDB_dbi dbi, check_fn check)
{
	MDB_cursor *c;
	MDB_val k, v, nv;
	int rc;

	if ((rc = mdb_cursor_open(txn, dbi, &c)) != 0)
		return rc;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if ((rc = check(e, &k, &v)) < 0 || (rc = with_crc(&nv, a, &k, &v)) < 0 ||
		    (rc = put_current(c, &k, &nv)) != 0)
			break;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Put k, v at the end of dest (keys come in order), else anywhere: an id
 * already there is damage (an id is in one database). */
static int append(MDB_cursor *dest, const lenv *e, MDB_val *k, MDB_val *v)
{
	int rc = mdb_cursor_put(dest, k, v, MDB_APPEND);

	if (rc == MDB_KEYEXIST)
		rc = mdb_cursor_put(dest, k, v, MDB_NOOVERWRITE);
	if (rc == MDB_KEYEXIST)
		return corrupt(e, "object", k, "stored in two databases");
	return rc;
}

/* What a large tree's node holds until its record is written: 8 bytes,
 * the size of the page number LMDB puts there for an overflowed record,
 * so that replacing one by the other never splits the leaf. */
static const unsigned char placeholder[8];

/*
 * Walk "objects" in id order. Each tree (from format 1, each commit too)
 * goes to its own database, appended in id order: its leaf pages are
 * full and follow one another. A large tree's record would put its
 * overflow pages between those leaves, spreading the small trees (most
 * of a head's) over many more pages; so here it leaves a placeholder in
 * the leaf and stays in "objects", its id noted for move_large, which
 * writes its pages after every leaf. From formats 1 and 2 each record is
 * checked and gets its checksum; from format 3 its checksum is checked.
 */
static int move_objects(MDB_txn *txn, lenv *e, up_args *a)
{
	MDB_cursor *c, *trees = NULL, *commits = NULL;
	bool crc = a->from >= 3;
	MDB_val k, v, nv;
	int rc;

	if ((rc = mdb_cursor_open(txn, e->objects, &c)) != 0)
		return rc;
	if ((rc = mdb_cursor_open(txn, a->trees, &trees)) == 0 && a->from == 1)
		rc = mdb_cursor_open(txn, a->commits, &commits);
	if (rc == 0)
		rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
	while (rc == 0) {
		MDB_cursor *dest = NULL;
		int t;

		if (crc && (k.mv_size != GKV_OID_RAWSZ || v.mv_size < 1 + CRC_SIZE ||
			    !crc_ok(&k, &v))) {
			rc = corrupt(e, "object", &k, "checksum mismatch (the record is damaged)");
			break;
		}
		if (!crc && (rc = check_object(e, &k, &v)) < 0)
			break;
		t = ((const unsigned char *)v.mv_data)[0] & HDR_TYPE;
		if (t == GKV_OBJ_TREE)
			dest = trees;
		else if (t == GKV_OBJ_COMMIT && commits)
			dest = commits;
		else if (crc && (t < GKV_OBJ_COMMIT || t > GKV_OBJ_TAG)) {
			rc = corrupt(e, "object", &k, "bad header byte");
			break;
		}
		nv = v;
		if (!crc && (rc = with_crc(&nv, a, &k, &v)) < 0)
			break;
		if (dest == trees && gkv__lmdb_overflows(e, nv.mv_size)) {
			MDB_val ph = {sizeof(placeholder), (void *)placeholder};

			if ((rc = gkv__backend_grow((void **)&a->large, &a->caplarge, a->nlarge,
						    sizeof(*a->large))) < 0)
				break;
			/* the key first: put_current may move it in its page */
			memcpy(a->large[a->nlarge++].id, k.mv_data, GKV_OID_RAWSZ);
			if ((rc = append(dest, e, &k, &ph)) != 0 ||
			    (!crc && (rc = put_current(c, &k, &nv)) != 0))
				break;
		} else if (dest) {
			/* After a delete the cursor is on the next record,
			 * which MDB_NEXT then gives (LMDB's C_DEL). */
			if ((rc = append(dest, e, &k, &nv)) != 0 || (rc = mdb_cursor_del(c, 0)) != 0)
				break;
		} else if (!crc && (rc = put_current(c, &k, &nv)) != 0) {
			break;
		}
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	if (commits)
		mdb_cursor_close(commits);
	if (trees)
		mdb_cursor_close(trees);
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* The large trees move_objects left: each record over its placeholder
 * (a node of the same size: no leaf splits), then out of "objects". The
 * record is copied first: a put may write a dirty page out of memory
 * (LMDB's spill), which the pointer mdb_get gave could be on. */
static int move_large(MDB_txn *txn, lenv *e, up_args *a)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < a->nlarge; i++) {
		MDB_val k = {GKV_OID_RAWSZ, a->large[i].id}, v;

		if ((rc = mdb_get(txn, e->objects, &k, &v)) != 0 ||
		    (rc = buf_room(a, v.mv_size)) < 0)
			break;
		memcpy(a->buf, v.mv_data, v.mv_size);
		v.mv_data = a->buf;
		if ((rc = mdb_put(txn, a->trees, &k, &v, 0)) == 0)
			rc = mdb_del(txn, e->objects, &k, NULL);
	}
	return rc;
}

/* The pids of the other processes in LMDB's reader table, as text. */
typedef struct {
	char pids[160];
	size_t n;
} readers;

static int reader_line(const char *msg, void *ctx)
{
	readers *r = ctx;
	size_t len = strlen(r->pids);
	int pid;

	if (sscanf(msg, "%d", &pid) != 1 || pid == (int)getpid())
		return 0;
	/* a process with several slots appears once per slot */
	if (r->n++ < 8 && len + 16 < sizeof(r->pids))
		snprintf(r->pids + len, sizeof(r->pids) - len, "%s%d", len ? ", " : "", pid);
	return 0;
}

static int check_alone(const lenv *e)
{
	readers r = {"", 0};
	int dead;

	mdb_reader_check(e->env, &dead);
	mdb_reader_list(e->env, reader_line, &r);
	if (r.n == 0)
		return 0;
	return gkv_error_set(GKV_E_CONFLICT,
			     "lmdb '%s' is open in other processes (pid %s%s): close it there "
			     "first; nothing was upgraded",
			     e->path, r.pids, r.n > 8 ? ", ..." : "");
}

static int open_new(MDB_txn *txn, const char *name, MDB_dbi *out)
{
	int rc = mdb_dbi_open(txn, name, MDB_CREATE, out);

	return rc ? rc : mdb_set_compare(txn, *out, gkv__lmdb_oid_key_cmp);
}

static int upgrade_body(MDB_txn *txn, lenv *e, void *ctx)
{
	up_args *a = ctx;
	MDB_val k = {7, "version"}, v = {1, "4"};
	MDB_dbi config;
	int rc;

	if ((rc = check_alone(e)) < 0)
		return rc;
	if ((rc = open_new(txn, "trees", &a->trees)) != 0)
		return rc;
	if (a->from == 1 && (rc = open_new(txn, "commits", &a->commits)) != 0)
		return rc;
	if (a->from <= 2) {
		if ((a->from == 2 && (rc = checksum_all(txn, e, a, e->commits, check_object)) != 0) ||
		    (rc = checksum_all(txn, e, a, e->refs, check_ref)) != 0 ||
		    (e->has_reflog && (rc = checksum_all(txn, e, a, e->reflog, check_log)) != 0))
			return rc;
		rc = mdb_dbi_open(txn, "config", 0, &config);
		if (rc == 0)
			rc = checksum_all(txn, e, a, config, check_setting);
		if (rc != 0 && rc != MDB_NOTFOUND)
			return rc;
	}
	a->nlarge = 0; /* a retried transaction starts over */
	if ((rc = move_objects(txn, e, a)) != 0 || (rc = move_large(txn, e, a)) != 0)
		return rc;
	return mdb_put(txn, e->meta, &k, &v, 0);
}

int gkv_backend_lmdb_upgrade(int *from, const char *path)
{
	up_args a = {0, 0, 0, NULL, 0, NULL, 0, 0};
	MDB_envinfo info;
	lenv *e;
	int rc;

	if (!path || !*path)
		return gkv_error_set(GKV_E_INVALID, "lmdb: no path given to upgrade");
	if ((rc = gkv__lmdb_env_get_alone(&e, path)) < 0)
		return rc;
	a.from = e->format;
	if (e->format < GKV_LMDB_FORMAT_LATEST) {
		/* New copies of what moves, before the old pages are free. */
		if (mdb_env_info(e->env, &info) == 0) {
			size_t used = ((size_t)info.me_last_pgno + 1) * e->psize;

			rc = gkv__lmdb_reserve_map(e, a.from >= 3 ? used / 4 : used + used / 4);
		}
		if (rc == 0)
			rc = gkv__lmdb_with_wtxn(e, upgrade_body, &a, "cannot upgrade");
	}
	free(a.buf);
	free(a.large);
	gkv__lmdb_env_put(e);
	if (rc == 0 && from)
		*from = a.from;
	return rc;
}
