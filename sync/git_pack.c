/*
 * git_pack.c -- the objects of a fetched pack, checked, into one batch.
 *
 * The pack was indexed by git_indexer (git_odb.c); here its index (.idx,
 * version 2) is read to list the objects in the order they sit in the
 * pack, so that a delta's base was usually just inflated and is still in
 * libgit2's delta-base cache. Each object is inflated on its own,
 * checked as git's transfer.fsckObjects checks it (gkv_object_check),
 * written to the batch and freed: memory holds one object at a time and
 * the index, never the whole pack inflated. Its id needs no new hash:
 * the indexer hashed these same bytes to name it. A pass that only
 * checks (a whole pack kept as it is, or the first of two passes) skips
 * blobs, which have nothing to check, by their header alone. A backend that takes whole
 * packs (a git repository) gets the pack itself once every object in it
 * passed, deltas and all, instead of each object again.
 *
 * A backend may store part of a large batch before it commits, to bound
 * its memory: such objects are referenced by nothing, but they are
 * there. So when the pack is large and goes object by object into such a
 * backend, every object is checked in a first pass and written in a
 * second: a bad object at the end of a large pack still leaves the store
 * as it was. Where the backend promises to store nothing before the
 * commit (GKV_BACKEND_BATCH_DEFERS: lmdb and mem), one pass checks and
 * writes.
 *
 * The pack must also be complete: every id a commit, tree or tag of the
 * pack names is in the pack or already in the store (which holds
 * everything its own objects name), and so is every head the fetch
 * moves a ref to. A server that leaves something out is refused, as
 * git's connectivity check after a fetch refuses it.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include "libgit2.h"

#include "git_int.h"
#include "util.h"

/* Above this many bytes of pack, objects written one by one are all
 * checked before the first is written, unless the backend stores nothing
 * of a batch before its commit (GKV_BACKEND_BATCH_DEFERS): one that does
 * may store a large batch in parts as it goes, and a pack holds several
 * times its size inflated. */
#define CHECK_FIRST_BYTES ((uint64_t)4 << 20)

typedef struct {
	unsigned char *data; /* the whole .idx */
	size_t len;
	size_t n;            /* objects */
	const unsigned char *ids;  /* n sorted ids */
	struct pos {
		uint64_t offset;
		size_t index;
	} *order;            /* n, sorted by offset */
} pack_index;

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int pos_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct pos *)a)->offset, y = ((const struct pos *)b)->offset;
	return x < y ? -1 : x > y;
}

static int idx_corrupt(const char *path, const char *why)
{
	return gkv__error(GKV_E_CORRUPT, "pack index %s: %s", path, why);
}

/* Read the .idx written by the indexer, and order its objects by offset. */
static int idx_load(pack_index *x, const char *path)
{
	FILE *f;
	long size;
	size_t n, off32, off64;

	memset(x, 0, sizeof(*x));
	if (!(f = fopen(path, "rb")))
		return gkv__error(GKV_E_IO, "cannot open the pack index %s", path);
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return gkv__error(GKV_E_IO, "cannot read the pack index %s", path);
	}
	x->len = (size_t)size;
	if (!(x->data = malloc(x->len ? x->len : 1))) {
		fclose(f);
		return gkv__oom();
	}
	if (fread(x->data, 1, x->len, f) != x->len) {
		fclose(f);
		return gkv__error(GKV_E_IO, "cannot read the pack index %s", path);
	}
	fclose(f);
	if (x->len < 8 + 256 * 4 + 40 || memcmp(x->data, "\377tOc", 4) || be32(x->data + 4) != 2)
		return idx_corrupt(path, "not a version 2 index");
	n = be32(x->data + 8 + 255 * 4);
	/* ids, crcs, 32-bit offsets, then the pack's and the index's hashes */
	if (n > (x->len - 8 - 256 * 4 - 40) / 28)
		return idx_corrupt(path, "shorter than its object count");
	x->n = n;
	x->ids = x->data + 8 + 256 * 4;
	off32 = 8 + 256 * 4 + n * 24;
	off64 = off32 + n * 4;
	if (!(x->order = malloc((n ? n : 1) * sizeof(*x->order))))
		return gkv__oom();
	for (size_t i = 0; i < n; i++) {
		uint64_t o = be32(x->data + off32 + i * 4);
		if (o & 0x80000000u) {
			size_t k = o & 0x7fffffffu;
			if (off64 + (k + 1) * 8 > x->len - 40)
				return idx_corrupt(path, "a large offset past its end");
			o = (uint64_t)be32(x->data + off64 + k * 8) << 32 |
			    be32(x->data + off64 + k * 8 + 4);
		}
		x->order[i].offset = o;
		x->order[i].index = i;
	}
	qsort(x->order, n, sizeof(*x->order), pos_cmp);
	return 0;
}

static void idx_free(pack_index *x)
{
	free(x->data);
	free(x->order);
}

static int in_pack(const pack_index *x, const unsigned char *id)
{
	size_t lo = 0, hi = x->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(x->ids + mid * 20, id, 20);
		if (c == 0)
			return 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* An id in hex, for a message: ids are formatted only when one is. */
typedef struct {
	char s[GKV_OID_HEXSZ + 1];
} hexbuf;

static const char *hex_of(hexbuf *b, const unsigned char *id)
{
	gkv_oid_fmt(b->s, (const gkv_oid *)id);
	b->s[GKV_OID_HEXSZ] = '\0';
	return b->s;
}

/* Is id in the pack or in the store? GKV_E_CORRUPT naming the object
 * from (NULL: a head the fetch moves a ref to) if not. */
static int need_id(gkv__wire_op *op, const pack_index *x, const unsigned char *id,
    const unsigned char *from)
{
	hexbuf a, b;
	int r;

	if (in_pack(x, id))
		return 0;
	if ((r = op->kb->exists(op->kb, (const gkv_oid *)id)) < 0)
		return r;
	if (r)
		return 0;
	return gkv__error(GKV_E_CORRUPT,
	    "%s sent an incomplete pack: %s names %s, which neither the pack nor the store holds",
	    op->url_shown, from ? hex_of(&a, from) : "the remote's head", hex_of(&b, id));
}

static int hex_id(unsigned char out[20], const char *hex)
{
	gkv_oid id;
	char buf[GKV_OID_HEXSZ + 1];

	memcpy(buf, hex, GKV_OID_HEXSZ);
	buf[GKV_OID_HEXSZ] = '\0';
	if (gkv_oid_fromstr(&id, buf) < 0)
		return -1;
	memcpy(out, id.id, 20);
	return 0;
}

/* Every id a checked object names must be in the pack or the store. */
static int links_present(gkv__wire_op *op, const pack_index *x, const unsigned char *self,
    gkv_otype type, const unsigned char *data, size_t len)
{
	unsigned char id[20];
	const unsigned char *p = data, *end = data + len;
	hexbuf h;
	int err;

	if (type == GKV_OBJ_TREE) {
		while (p < end) {
			const unsigned char *nul = memchr(p, '\0', (size_t)(end - p));
			if (!nul || end - nul < 21)
				return gkv__error(GKV_E_CORRUPT, "tree %s is truncated",
				    hex_of(&h, self));
			/* a gitlink (160000) names a commit of another repository */
			if (!(nul - p > 6 && !memcmp(p, "160000", 6)) &&
			    (err = need_id(op, x, nul + 1, self)) < 0)
				return err;
			p = nul + 21;
		}
		return 0;
	}
	if (type != GKV_OBJ_COMMIT && type != GKV_OBJ_TAG)
		return 0;
	/* headers up to the blank line: tree, parent, object */
	while (p < end && *p != '\n') {
		const unsigned char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t l = eol ? (size_t)(eol - p) : (size_t)(end - p);
		size_t klen = 0;

		if (l == 5 + 40 && !memcmp(p, "tree ", 5))
			klen = 5;
		else if (l == 7 + 40 && !memcmp(p, "parent ", 7))
			klen = 7;
		else if (l == 7 + 40 && !memcmp(p, "object ", 7))
			klen = 7;
		if (klen) {
			if (hex_id(id, (const char *)p + klen) < 0)
				return gkv__error(GKV_E_CORRUPT, "object %s names a bad id",
				    hex_of(&h, self));
			if ((err = need_id(op, x, id, self)) < 0)
				return err;
		}
		if (!eol)
			break;
		p = eol + 1;
	}
	return 0;
}

static gkv_otype from_git_type(git_object_t t)
{
	switch (t) {
	case GIT_OBJECT_COMMIT: return GKV_OBJ_COMMIT;
	case GIT_OBJECT_TREE: return GKV_OBJ_TREE;
	case GIT_OBJECT_BLOB: return GKV_OBJ_BLOB;
	case GIT_OBJECT_TAG: return GKV_OBJ_TAG;
	default: return GKV_OBJ_BAD;
	}
}

/* An object of the pack, as git's transfer.fsckObjects checks it: it
 * passes gkv_object_check, and what it names is in the pack or the
 * store. Its id is the hash of these very bytes: the indexer computed it
 * from them, in this private pack, so it is not computed again. */
static int check_one(gkv__wire_op *op, const pack_index *x, const unsigned char *want,
    gkv_otype t, const void *data, size_t len)
{
	int err;

	if (t == GKV_OBJ_BLOB)
		return 0; /* no structure, names nothing */
	if ((err = gkv_object_check(t, data, len)) < 0) {
		char msg[600];
		hexbuf h;

		snprintf(msg, sizeof(msg), "%s", gkv_error_last());
		return gkv__error(GKV_E_CORRUPT, "%s sent a bad object %s: %s", op->url_shown,
		    hex_of(&h, want), msg);
	}
	return links_present(op, x, want, t, data, len);
}

/*
 * Reading the pack runs in a thread of its own, ahead of the checks and
 * writes: inflating and applying deltas (libgit2) and encoding for the
 * store (lmdb compresses each value) take about the same time, and a
 * clone then keeps two cores busy. The reader hands objects over in
 * pack order through a queue bounded in entries and bytes, so memory
 * still holds a few objects, not the pack inflated. Only the reader
 * touches the pack's backend; a read that fails ends the queue there,
 * and the consumer reports it after every object before it, as a loop
 * of one thread would.
 *
 * A backend that encodes records off its writer's thread (encode_raw:
 * lmdb compresses) has blobs encoded by whichever thread has time: the
 * reader encodes a blob while the queue is at least half full (the
 * writing thread is behind) and hands it over as read otherwise, so
 * neither thread waits long for the other (cloning libgit2's repository
 * into lmdb, reading alone took some 5 s of CPU, compressing 4 s and
 * writing 4 s). An encoded blob goes into the batch as a record
 * (batch_write_raw): blobs have nothing to check, and the id is the
 * indexer's hash of the very bytes encoded.
 */
#define QUEUE_SLOTS 128
#define QUEUE_BYTES ((size_t)16 << 20)

typedef struct {
	size_t pos;   /* in pack order */
	void *data;   /* libgit2's buffer, or the backend's record if raw */
	size_t len;
	git_object_t type;
	bool raw;
} rd_item;

typedef struct {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	rd_item slot[QUEUE_SLOTS];
	size_t head, count, bytes;
	bool done; /* nothing more will come (all read, or failed) */
	bool stop; /* the consumer wants nothing more */
	bool failed;
	size_t failed_pos;
	int code; /* the backend's error while encoding, or 0: a bad pack */
	char why[512];
	const pack_index *x;
	git_odb_backend *pb;
	bool skip_blobs;    /* a pass that only checks */
	gkv_backend *encode; /* encodes blobs (encode_raw), or NULL */
} reader;

static void free_item(git_odb_backend *pb, rd_item *it)
{
	if (it->raw)
		gkv_backend_data_free(it->data);
	else
		git_odb_backend_data_free(pb, it->data);
}

/* Replace a blob's bytes by the backend's record of them. */
static int encode_blob(reader *r, const git_oid *id, rd_item *it)
{
	void *rec = NULL;
	size_t len = 0;
	int rc = r->encode->encode_raw(&rec, &len, r->encode, (const gkv_oid *)id, GKV_OBJ_BLOB,
	    it->data, it->len);

	if (rc < 0)
		return rc;
	git_odb_backend_data_free(r->pb, it->data);
	it->data = rec;
	it->len = len;
	it->raw = true;
	return 0;
}

/* The reader stops at the object in pack position p: code, a backend's
 * error while encoding, or 0 for a bad pack; why says what went wrong. */
static void reader_fail(reader *r, size_t p, int code, const char *why)
{
	pthread_mutex_lock(&r->lock);
	r->failed = true;
	r->failed_pos = p;
	r->code = code;
	snprintf(r->why, sizeof(r->why), "%s", why);
	pthread_mutex_unlock(&r->lock);
}

static void *reader_run(void *arg)
{
	reader *r = arg;

	for (size_t p = 0; p < r->x->n; p++) {
		const git_oid *id = (const git_oid *)(r->x->ids + r->x->order[p].index * 20);
		rd_item it = {p, NULL, 0, GIT_OBJECT_INVALID, false};
		int rc;

		bool behind; /* the writing thread */

		pthread_mutex_lock(&r->lock);
		while (!r->stop && (r->count == QUEUE_SLOTS || (r->count && r->bytes >= QUEUE_BYTES)))
			pthread_cond_wait(&r->changed, &r->lock);
		if (r->stop) {
			pthread_mutex_unlock(&r->lock);
			break;
		}
		behind = r->count >= QUEUE_SLOTS / 2 || r->bytes >= QUEUE_BYTES / 2;
		pthread_mutex_unlock(&r->lock);
		/* a pass that only checks has nothing to do for a blob: its
		 * header tells, without inflating it (or its delta chain) */
		if (r->skip_blobs && r->pb->read_header(&it.len, &it.type, r->pb, id) == 0 &&
		    it.type == GIT_OBJECT_BLOB)
			continue;
		git_error_clear();
		if (r->pb->read(&it.data, &it.len, &it.type, r->pb, id) < 0) {
			const git_error *e = git_error_last();

			reader_fail(r, p, 0, e ? e->message : "cannot be read");
			break;
		}
		if (r->encode && behind && it.type == GIT_OBJECT_BLOB &&
		    (rc = encode_blob(r, id, &it)) < 0) {
			git_odb_backend_data_free(r->pb, it.data);
			reader_fail(r, p, rc, gkv_error_last());
			break;
		}
		pthread_mutex_lock(&r->lock);
		r->slot[(r->head + r->count) % QUEUE_SLOTS] = it;
		r->count++;
		r->bytes += it.len;
		pthread_cond_broadcast(&r->changed);
		pthread_mutex_unlock(&r->lock);
	}
	pthread_mutex_lock(&r->lock);
	r->done = true;
	pthread_cond_broadcast(&r->changed);
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* The next object read: 1, or 0 once there are no more (r->failed says
 * whether the reader stopped at a bad one). */
static int reader_next(reader *r, rd_item *it)
{
	int got = 0;

	pthread_mutex_lock(&r->lock);
	while (!r->count && !r->done)
		pthread_cond_wait(&r->changed, &r->lock);
	if (r->count) {
		*it = r->slot[r->head];
		r->head = (r->head + 1) % QUEUE_SLOTS;
		r->count--;
		r->bytes -= it->len;
		pthread_cond_broadcast(&r->changed);
		got = 1;
	}
	pthread_mutex_unlock(&r->lock);
	return got;
}

/* Stop the reader, wait for it, and free what it left in the queue. */
static void reader_finish(reader *r, git_odb_backend *pb, pthread_t th)
{
	rd_item it;

	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_broadcast(&r->changed);
	pthread_mutex_unlock(&r->lock);
	pthread_join(th, NULL);
	while (reader_next(r, &it))
		free_item(pb, &it);
	pthread_cond_destroy(&r->changed);
	pthread_mutex_destroy(&r->lock);
}

/* The object it of the pack: checked, unless a first pass over this
 * same private pack did (checked), and added to batch (NULL: check
 * only). */
static int store_one(gkv__wire_op *op, const pack_index *x, gkv_batch *batch,
    const rd_item *it, int checked)
{
	const unsigned char *want = x->ids + x->order[it->pos].index * 20;
	gkv_otype t;
	hexbuf h;
	int err = 0;

	if ((t = from_git_type(it->type)) == GKV_OBJ_BAD)
		err = gkv__error(GKV_E_CORRUPT, "%s sent object %s of an unknown type",
		    op->url_shown, hex_of(&h, want));
	else if (!checked)
		err = check_one(op, x, want, t, it->data, it->len);
	if (!err && batch && it->raw)
		err = batch->backend->batch_write_raw(batch, (const gkv_oid *)want, t, it->data,
		    it->len);
	else if (!err && batch)
		err = batch->backend->batch_write(batch, (const gkv_oid *)want, t, it->data,
		    it->len);
	return err;
}

/* One pass over the pack in pack order: every object checked (unless
 * checked) and written to to (unless NULL). */
static int one_pass(gkv__wire_op *op, const pack_index *x, git_odb_backend *pb,
    gkv_batch *to, int checked)
{
	reader r = {.x = x, .pb = pb, .skip_blobs = to == NULL};
	size_t reported = 0;
	pthread_t th;
	rd_item it;
	int err = 0;

	if (to && to->backend->encode_raw && to->backend->batch_write_raw)
		r.encode = to->backend;
	pthread_mutex_init(&r.lock, NULL);
	pthread_cond_init(&r.changed, NULL);
	if (pthread_create(&th, NULL, reader_run, &r) != 0) {
		pthread_cond_destroy(&r.changed);
		pthread_mutex_destroy(&r.lock);
		return gkv__error(GKV_E_ERROR, "cannot start a thread to read the pack");
	}
	while (!err && reader_next(&r, &it)) {
		err = store_one(op, x, to, &it, checked);
		free_item(pb, &it);
		op->progress.stored_objects = it.pos + 1;
		if (!err && op->progress.stored_objects - reported >= 512) {
			reported = op->progress.stored_objects;
			err = gkv__progress(op->opts, &op->progress);
		}
	}
	reader_finish(&r, pb, th);
	if (!err && r.failed && r.code) {
		err = gkv__error(r.code, "%s", r.why);
	} else if (!err && r.failed) {
		hexbuf h;

		err = gkv__error(GKV_E_CORRUPT, "%s sent a bad pack: object %s: %s",
		    op->url_shown, hex_of(&h, x->ids + x->order[r.failed_pos].index * 20), r.why);
	}
	if (!err) {
		op->progress.stored_objects = x->n;
		err = gkv__progress(op->opts, &op->progress);
	}
	return err;
}

int gkv__wire_pack_store(uint64_t *stored, gkv__wire_op *op, gkv_batch *batch,
    const gkv_oid *need, size_t n)
{
	git_odb *podb = NULL;
	git_odb_backend *pb = NULL;
	int whole = batch->backend->batch_write_pack != NULL;
	char *pack_path = NULL;
	pack_index x;
	int err;

	*stored = 0;
	if (op->idx_path) {
		if ((err = idx_load(&x, op->idx_path)) < 0)
			goto out;
		if (git_odb_new(&podb) < 0 || git_odb_backend_one_pack(&pb, op->idx_path) < 0) {
			err = gkv__error(GKV_E_CORRUPT, "%s sent a pack that cannot be opened: %s",
			    op->url_shown, git_error_last() ? git_error_last()->message : "");
			goto out;
		}
		if (git_odb_add_backend(podb, pb, 1) < 0) {
			pb->free(pb);
			pb = NULL;
			err = gkv__error(GKV_E_ERROR, "libgit2 refused the pack's backend");
			goto out;
		}
		int two_passes = !whole && op->pack_bytes > CHECK_FIRST_BYTES &&
		    !(batch->backend->flags & GKV_BACKEND_BATCH_DEFERS);

		for (int pass = two_passes; pass >= 0; pass--) {
			/* pass 1 checks only, pass 0 writes (and checks if
			 * there was no pass 1) */
			gkv_batch *to = pass || whole ? NULL : batch;
			int checked = !pass && two_passes;

			op->progress.stage = GKV_SYNC_STORING;
			op->progress.total_objects = x.n;
			op->progress.stored_objects = 0;
			if ((err = gkv__progress(op->opts, &op->progress)) < 0 ||
			    (err = one_pass(op, &x, pb, to, checked)) < 0)
				goto out;
		}
		if (whole && x.n) {
			size_t l = strlen(op->idx_path);
			if (!(pack_path = malloc(l + 2))) {
				err = gkv__oom();
				goto out;
			}
			memcpy(pack_path, op->idx_path, l - 4); /* ".idx" */
			memcpy(pack_path + l - 4, ".pack", 6);
			if ((err = batch->backend->batch_write_pack(batch, pack_path,
			         op->idx_path)) < 0)
				goto out;
		}
		*stored = x.n;
	} else {
		memset(&x, 0, sizeof(x));
	}
	for (size_t i = 0; i < n; i++) {
		if ((err = need_id(op, &x, need[i].id, NULL)) < 0)
			goto out;
	}
	err = 0;
out:
	free(pack_path);
	git_odb_free(podb); /* frees pb with it */
	if (op->idx_path)
		idx_free(&x);
	return err;
}
