/*
 * backend_suite.h -- unit tests of the backend vtable (gitkv/sys/backend.h)
 * shared by test_backend_mem.c and test_backend_lmdb.c: objects, prefix
 * iteration, refs, batches and concurrent compare-and-swap, driven through
 * the function pointers alone. The including file defines
 * suite_open(gkv_backend **) (a fresh, empty backend) and lists
 * BACKEND_SUITE_TESTS in its cmocka group; each test frees its backend.
 *
 * Ids are made up (a PRNG spread over 20 bytes): backends never check them.
 */
#ifndef GKV_TEST_BACKEND_SUITE_H
#define GKV_TEST_BACKEND_SUITE_H

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gitkv.h"
#include "gitkv/sys/backend.h"

static int suite_open(gkv_backend **out);

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void make_id(gkv_oid *out, uint64_t seed)
{
	uint64_t s = seed * 7919 + 1, r = 0;

	for (int i = 0; i < GKV_OID_RAWSZ; i++) {
		if (i % 8 == 0)
			r = splitmix(&s);
		out->id[i] = (unsigned char)(r >> (8 * (i % 8)));
	}
}

static void fill_random(unsigned char *p, size_t n, uint64_t seed)
{
	uint64_t s = seed, r = 0;

	for (size_t i = 0; i < n; i++) {
		if (i % 8 == 0)
			r = splitmix(&s);
		p[i] = (unsigned char)(r >> (8 * (i % 8)));
	}
}

static void hex_of(char out[GKV_OID_HEXSZ + 1], const gkv_oid *id)
{
	for (int i = 0; i < GKV_OID_RAWSZ; i++)
		snprintf(out + 2 * i, 3, "%02x", id->id[i]);
}

/* Write one object in its own batch. */
static int put_obj(gkv_backend *b, const gkv_oid *id, gkv_otype type, const void *data, size_t len)
{
	gkv_batch *batch;
	int rc = b->batch_begin(&batch, b);

	if (rc < 0)
		return rc;
	if ((rc = b->batch_write(batch, id, type, data, len)) < 0) {
		b->batch_abort(batch);
		return rc;
	}
	return b->batch_commit(batch);
}

static void assert_obj(gkv_backend *b, const gkv_oid *id, gkv_otype type, const void *data,
		       size_t len)
{
	void *got = NULL;
	size_t got_len = 0;
	gkv_otype got_type = GKV_OBJ_BAD;

	assert_int_equal(b->read(&got, &got_len, &got_type, b, id), 0);
	assert_int_equal(got_type, type);
	assert_int_equal(got_len, len);
	if (len)
		assert_memory_equal(got, data, len);
	gkv_backend_data_free(got);
}

/* ---- objects ---- */

static void test_objects(void **state)
{
	gkv_backend *b;
	gkv_oid a, c, t, missing;
	void *data = NULL;
	size_t len;
	gkv_otype type;

	(void)state;
	assert_int_equal(suite_open(&b), 0);
	assert_int_equal(b->version, GKV_BACKEND_VERSION);
	make_id(&a, 1);
	make_id(&c, 2);
	make_id(&t, 3);
	make_id(&missing, 4);
	assert_int_equal(put_obj(b, &a, GKV_OBJ_BLOB, "hello", 5), 0);
	assert_int_equal(put_obj(b, &c, GKV_OBJ_COMMIT, "", 0), 0);
	assert_int_equal(put_obj(b, &t, GKV_OBJ_TREE, "\0\1\2", 3), 0);
	assert_obj(b, &a, GKV_OBJ_BLOB, "hello", 5);
	assert_obj(b, &c, GKV_OBJ_COMMIT, "", 0);
	assert_obj(b, &t, GKV_OBJ_TREE, "\0\1\2", 3);
	assert_int_equal(b->exists(b, &a), 1);
	assert_int_equal(b->exists(b, &missing), 0);
	assert_int_equal(b->read(&data, &len, &type, b, &missing), GKV_E_NOTFOUND);
	assert_non_null(strstr(gkv_error_last(), "not found"));
	/* Writing an id again is a no-op: the first bytes stay. */
	assert_int_equal(put_obj(b, &a, GKV_OBJ_BLOB, "other", 5), 0);
	assert_obj(b, &a, GKV_OBJ_BLOB, "hello", 5);
	b->free(b);
}

typedef struct {
	size_t count;
	size_t stop_after;
} count_ctx;

static int count_cb(const gkv_oid *id, void *payload)
{
	count_ctx *c = payload;

	(void)id;
	c->count++;
	return c->stop_after && c->count == c->stop_after ? 42 : 0;
}

static int hex_prefix_is(const gkv_oid *id, const gkv_oid *prefix, size_t hexlen)
{
	char a[GKV_OID_HEXSZ + 1], p[GKV_OID_HEXSZ + 1];

	hex_of(a, id);
	hex_of(p, prefix);
	return strncmp(a, p, hexlen) == 0;
}

#define NPREFIX_OBJS 600

static void test_foreach_prefixes(void **state)
{
	gkv_backend *b;
	gkv_batch *batch;
	gkv_oid ids[NPREFIX_OBJS], none;
	count_ctx c;

	(void)state;
	assert_int_equal(suite_open(&b), 0);
	assert_int_equal(b->batch_begin(&batch, b), 0);
	for (int i = 0; i < NPREFIX_OBJS; i++) {
		make_id(&ids[i], 100 + i);
		if (i >= 300) /* close neighbours: share the first 19 bytes */
			memcpy(ids[i].id, ids[i - 300].id, 19);
		assert_int_equal(b->batch_write(batch, &ids[i], GKV_OBJ_BLOB, &i, sizeof(i)), 0);
	}
	assert_int_equal(b->batch_commit(batch), 0);
	for (size_t hexlen = 0; hexlen <= GKV_OID_HEXSZ; hexlen++) {
		for (int k = 0; k < 5; k++) {
			const gkv_oid *p = &ids[(hexlen * 37 + k * 131) % NPREFIX_OBJS];
			size_t want = 0;

			for (int i = 0; i < NPREFIX_OBJS; i++)
				want += hex_prefix_is(&ids[i], p, hexlen);
			memset(&c, 0, sizeof(c));
			assert_int_equal(b->foreach (b, p, hexlen, count_cb, &c), 0);
			assert_int_equal(c.count, want);
		}
	}
	/* A prefix nothing has (a neighbour of a stored id), and a stop from
	 * the callback. */
	none = ids[0];
	none.id[2] ^= 0x01;
	for (int i = 0; i < NPREFIX_OBJS; i++)
		assert_false(hex_prefix_is(&ids[i], &none, 6));
	memset(&c, 0, sizeof(c));
	assert_int_equal(b->foreach (b, &none, 6, count_cb, &c), 0);
	assert_int_equal(c.count, 0);
	c.stop_after = 7;
	assert_int_equal(b->foreach (b, NULL, 0, count_cb, &c), 42);
	assert_int_equal(c.count, 7);
	assert_int_equal(b->foreach (b, &none, 41, count_cb, &c), GKV_E_INVALID);
	b->free(b);
}

/* ---- refs ---- */

typedef struct {
	char names[16][64];
	gkv_oid targets[16];
	size_t n;
	size_t stop_after;
} list_ctx;

static int list_cb(const char *name, const gkv_oid *target, void *payload)
{
	list_ctx *l = payload;

	assert_true(l->n < 16);
	snprintf(l->names[l->n], sizeof(l->names[0]), "%s", name);
	l->targets[l->n++] = *target;
	return l->stop_after && l->n == l->stop_after ? 7 : 0;
}

static void list_refs(list_ctx *l, gkv_backend *b, const char *prefix)
{
	memset(l, 0, sizeof(*l));
	assert_int_equal(b->ref_list(b, prefix, list_cb, l), 0);
}

static void test_ref_cas(void **state)
{
	gkv_backend *b;
	gkv_oid x, y, z, got;
	char hx[GKV_OID_HEXSZ + 1], hy[GKV_OID_HEXSZ + 1], msg[256];

	(void)state;
	assert_int_equal(suite_open(&b), 0);
	make_id(&x, 11);
	make_id(&y, 12);
	make_id(&z, 13);
	hex_of(hx, &x);
	hex_of(hy, &y);
	assert_int_equal(b->ref_read(&got, b, "refs/heads/main"), GKV_E_NOTFOUND);
	assert_non_null(strstr(gkv_error_last(), "refs/heads/main"));
	/* create */
	assert_int_equal(b->ref_cas(b, "refs/heads/main", NULL, &x), 0);
	assert_int_equal(b->ref_read(&got, b, "refs/heads/main"), 0);
	assert_memory_equal(got.id, x.id, GKV_OID_RAWSZ);
	/* create again: conflict, naming what was found */
	assert_int_equal(b->ref_cas(b, "refs/heads/main", NULL, &y), GKV_E_CONFLICT);
	snprintf(msg, sizeof(msg),
		 "branch ref 'refs/heads/main' moved (expected nothing, found %s)", hx);
	assert_string_equal(gkv_error_last(), msg);
	/* update */
	assert_int_equal(b->ref_cas(b, "refs/heads/main", &x, &y), 0);
	assert_int_equal(b->ref_read(&got, b, "refs/heads/main"), 0);
	assert_memory_equal(got.id, y.id, GKV_OID_RAWSZ);
	/* update from a stale value */
	assert_int_equal(b->ref_cas(b, "refs/heads/main", &x, &z), GKV_E_CONFLICT);
	snprintf(msg, sizeof(msg), "branch ref 'refs/heads/main' moved (expected %s, found %s)", hx,
		 hy);
	assert_string_equal(gkv_error_last(), msg);
	assert_int_equal(b->ref_read(&got, b, "refs/heads/main"), 0);
	assert_memory_equal(got.id, y.id, GKV_OID_RAWSZ);
	/* delete, then delete again */
	assert_int_equal(b->ref_cas(b, "refs/heads/main", &x, NULL), GKV_E_CONFLICT);
	assert_int_equal(b->ref_cas(b, "refs/heads/main", &y, NULL), 0);
	assert_int_equal(b->ref_read(&got, b, "refs/heads/main"), GKV_E_NOTFOUND);
	assert_int_equal(b->ref_cas(b, "refs/heads/main", &y, NULL), GKV_E_CONFLICT);
	snprintf(msg, sizeof(msg),
		 "branch ref 'refs/heads/main' moved (expected %s, found nothing)", hy);
	assert_string_equal(gkv_error_last(), msg);
	/* deleting what is absent, expecting absence, is a no-op */
	assert_int_equal(b->ref_cas(b, "refs/heads/main", NULL, NULL), 0);
	b->free(b);
}

static void test_ref_list(void **state)
{
	static const char *names[] = {"refs/tags/v1",  "refs/heads/b/c",
				      "refs/heads/ab", "refs/remotes/origin/main",
				      "refs/heads/a",  "refs/heads/b"};
	gkv_backend *b;
	gkv_oid ids[6];
	list_ctx l;

	(void)state;
	assert_int_equal(suite_open(&b), 0);
	list_refs(&l, b, "");
	assert_int_equal(l.n, 0);
	for (int i = 0; i < 6; i++) {
		make_id(&ids[i], 50 + i);
		assert_int_equal(b->ref_cas(b, names[i], NULL, &ids[i]), 0);
	}
	list_refs(&l, b, "");
	assert_int_equal(l.n, 6);
	assert_string_equal(l.names[0], "refs/heads/a");
	assert_memory_equal(l.targets[0].id, ids[4].id, GKV_OID_RAWSZ);
	assert_string_equal(l.names[1], "refs/heads/ab");
	assert_string_equal(l.names[2], "refs/heads/b");
	assert_string_equal(l.names[3], "refs/heads/b/c");
	assert_string_equal(l.names[4], "refs/remotes/origin/main");
	assert_string_equal(l.names[5], "refs/tags/v1");
	list_refs(&l, b, NULL);
	assert_int_equal(l.n, 6);
	list_refs(&l, b, "refs/heads/");
	assert_int_equal(l.n, 4);
	list_refs(&l, b, "refs/heads/a");
	assert_int_equal(l.n, 2);
	assert_string_equal(l.names[1], "refs/heads/ab");
	list_refs(&l, b, "refs/heads/b/");
	assert_int_equal(l.n, 1);
	list_refs(&l, b, "refs/tags/v1");
	assert_int_equal(l.n, 1);
	list_refs(&l, b, "refs/tags/v10");
	assert_int_equal(l.n, 0);
	list_refs(&l, b, "zzz");
	assert_int_equal(l.n, 0);
	list_refs(&l, b, "a");
	assert_int_equal(l.n, 0);
	memset(&l, 0, sizeof(l));
	l.stop_after = 2;
	assert_int_equal(b->ref_list(b, "", list_cb, &l), 7);
	assert_int_equal(l.n, 2);
	b->free(b);
}

/* ---- batches ---- */

static void test_batch_atomic(void **state)
{
	gkv_backend *b;
	gkv_batch *batch;
	gkv_oid base, other, objs[5], got;

	(void)state;
	assert_int_equal(suite_open(&b), 0);
	make_id(&base, 70);
	make_id(&other, 71);
	assert_int_equal(b->ref_cas(b, "refs/heads/main", NULL, &base), 0);
	/* A CAS expecting the wrong value: nothing of the batch lands. */
	assert_int_equal(b->batch_begin(&batch, b), 0);
	for (int i = 0; i < 5; i++) {
		make_id(&objs[i], 80 + i);
		assert_int_equal(b->batch_write(batch, &objs[i], GKV_OBJ_BLOB, "x", 1), 0);
	}
	assert_int_equal(b->batch_ref_cas(batch, "refs/heads/main", &other, &objs[0]), 0);
	assert_int_equal(b->batch_commit(batch), GKV_E_CONFLICT);
	assert_non_null(strstr(gkv_error_last(), "refs/heads/main"));
	for (int i = 0; i < 5; i++)
		assert_int_equal(b->exists(b, &objs[i]), 0);
	assert_int_equal(b->ref_read(&got, b, "refs/heads/main"), 0);
	assert_memory_equal(got.id, base.id, GKV_OID_RAWSZ);
	/* A good CAS followed by a bad one: the good one does not land either. */
	assert_int_equal(b->batch_begin(&batch, b), 0);
	assert_int_equal(b->batch_write(batch, &objs[0], GKV_OBJ_BLOB, "x", 1), 0);
	assert_int_equal(b->batch_ref_cas(batch, "refs/heads/dev", NULL, &objs[0]), 0);
	assert_int_equal(b->batch_ref_cas(batch, "refs/heads/main", NULL, &objs[0]), 0);
	assert_int_equal(b->batch_commit(batch), GKV_E_CONFLICT);
	assert_int_equal(b->ref_read(&got, b, "refs/heads/dev"), GKV_E_NOTFOUND);
	assert_int_equal(b->exists(b, &objs[0]), 0);
	/* Two CASes on one ref in a batch apply in order. */
	assert_int_equal(b->batch_begin(&batch, b), 0);
	assert_int_equal(b->batch_write(batch, &objs[1], GKV_OBJ_BLOB, "y", 1), 0);
	assert_int_equal(b->batch_ref_cas(batch, "refs/heads/main", &base, &objs[0]), 0);
	assert_int_equal(b->batch_ref_cas(batch, "refs/heads/main", &objs[0], &objs[1]), 0);
	assert_int_equal(b->batch_ref_cas(batch, "refs/heads/tmp", NULL, &objs[1]), 0);
	assert_int_equal(b->batch_ref_cas(batch, "refs/heads/tmp", &objs[1], NULL), 0);
	assert_int_equal(b->batch_commit(batch), 0);
	assert_int_equal(b->ref_read(&got, b, "refs/heads/main"), 0);
	assert_memory_equal(got.id, objs[1].id, GKV_OID_RAWSZ);
	assert_int_equal(b->ref_read(&got, b, "refs/heads/tmp"), GKV_E_NOTFOUND);
	assert_obj(b, &objs[1], GKV_OBJ_BLOB, "y", 1);
	/* An empty batch commits. */
	assert_int_equal(b->batch_begin(&batch, b), 0);
	assert_int_equal(b->batch_commit(batch), 0);
	b->free(b);
}

static void test_batch_abort(void **state)
{
	gkv_backend *b;
	gkv_batch *batch;
	gkv_oid id, got;

	(void)state;
	assert_int_equal(suite_open(&b), 0);
	make_id(&id, 90);
	assert_int_equal(b->batch_begin(&batch, b), 0);
	assert_int_equal(b->batch_write(batch, &id, GKV_OBJ_BLOB, "gone", 4), 0);
	assert_int_equal(b->batch_ref_cas(batch, "refs/heads/main", NULL, &id), 0);
	b->batch_abort(batch);
	assert_int_equal(b->exists(b, &id), 0);
	assert_int_equal(b->ref_read(&got, b, "refs/heads/main"), GKV_E_NOTFOUND);
	b->free(b);
}

/* A backend that promises to store nothing of a batch before its commit
 * (GKV_BACKEND_BATCH_DEFERS) keeps it for a batch of any size: 24 MiB
 * of objects, past where lmdb moves them to its staging file, are
 * absent before the commit and after an abort, and all there after a
 * commit. A backend without the promise is not held to it. */
static void test_batch_defers(void **state)
{
	enum { N = 24, LEN = 1 << 20 };
	unsigned char *buf = malloc(LEN);
	gkv_backend *b;
	gkv_batch *batch;
	gkv_oid ids[N];

	(void)state;
	assert_non_null(buf);
	assert_int_equal(suite_open(&b), 0);
	if (!(b->flags & GKV_BACKEND_BATCH_DEFERS)) {
		b->free(b);
		free(buf);
		skip();
	}
	for (int round = 0; round < 2; round++) {
		assert_int_equal(b->batch_begin(&batch, b), 0);
		for (int i = 0; i < N; i++) {
			fill_random(buf, LEN, 500 + (uint64_t)i);
			make_id(&ids[i], 500 + (uint64_t)i);
			assert_int_equal(b->batch_write(batch, &ids[i], GKV_OBJ_BLOB, buf, LEN), 0);
		}
		for (int i = 0; i < N; i++)
			assert_int_equal(b->exists(b, &ids[i]), 0);
		if (round == 0) {
			b->batch_abort(batch);
			for (int i = 0; i < N; i++)
				assert_int_equal(b->exists(b, &ids[i]), 0);
		} else {
			assert_int_equal(b->batch_commit(batch), 0);
			for (int i = 0; i < N; i += 5) {
				fill_random(buf, LEN, 500 + (uint64_t)i);
				assert_obj(b, &ids[i], GKV_OBJ_BLOB, buf, LEN);
			}
		}
	}
	b->free(b);
	free(buf);
}

static void test_large_objects(void **state)
{
	static const size_t sizes[] = {0, 1, 1023, 1024, 1025, 4096, 3u << 20, 6u << 20};
	gkv_backend *b;
	unsigned char *buf = malloc(6u << 20);
	gkv_oid id;

	(void)state;
	assert_non_null(buf);
	assert_int_equal(suite_open(&b), 0);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		/* incompressible */
		fill_random(buf, sizes[i], i);
		make_id(&id, 1000 + i);
		assert_int_equal(put_obj(b, &id, GKV_OBJ_BLOB, buf, sizes[i]), 0);
		assert_obj(b, &id, GKV_OBJ_BLOB, buf, sizes[i]);
		/* compressible: text with a little variation */
		for (size_t k = 0; k < sizes[i]; k++)
			buf[k] = (unsigned char)("lorem ipsum dolor sit amet, "[k % 28] +
						 (k % 4099 == 0));
		make_id(&id, 2000 + i);
		assert_int_equal(put_obj(b, &id, GKV_OBJ_TREE, buf, sizes[i]), 0);
		assert_obj(b, &id, GKV_OBJ_TREE, buf, sizes[i]);
	}
	free(buf);
	b->free(b);
}

/* A callback may use the backend, even to write: nothing is locked then. */
static int writing_cb(const gkv_oid *id, void *payload)
{
	gkv_backend *b = payload;
	gkv_oid got;
	int rc = b->ref_cas(b, "refs/heads/cb", NULL, id);

	if (rc == GKV_E_CONFLICT)
		rc = b->ref_read(&got, b, "refs/heads/cb");
	return rc < 0 ? rc : 0;
}

static int writing_ref_cb(const char *name, const gkv_oid *target, void *payload)
{
	gkv_backend *b = payload;
	gkv_oid id;

	(void)name;
	make_id(&id, 4242);
	return put_obj(b, &id, GKV_OBJ_BLOB, target->id, GKV_OID_RAWSZ);
}

static void test_callbacks_reenter(void **state)
{
	gkv_backend *b;
	gkv_oid id;

	(void)state;
	assert_int_equal(suite_open(&b), 0);
	for (int i = 0; i < 3; i++) {
		make_id(&id, 300 + i);
		assert_int_equal(put_obj(b, &id, GKV_OBJ_BLOB, "v", 1), 0);
	}
	assert_int_equal(b->foreach (b, NULL, 0, writing_cb, b), 0);
	assert_int_equal(b->ref_list(b, "refs/", writing_ref_cb, b), 0);
	make_id(&id, 4242);
	assert_int_equal(b->exists(b, &id), 1);
	b->free(b);
}

/* ---- concurrency: CAS increments lose nothing ---- */

/*
 * One increment: read the head, write an object whose payload is the old
 * head (a chain link), CAS the head from old to new; retry on conflict.
 * Each object's id is unique to (worker, step), so the chain's length at
 * the end counts the increments that landed.
 */
static int cas_increment(gkv_backend *b, const char *ref, uint64_t worker, uint64_t step)
{
	gkv_oid old, next;
	gkv_batch *batch;

	make_id(&next, (worker << 32) | step | (1ULL << 63));
	for (;;) {
		int rc = b->ref_read(&old, b, ref), have = rc == 0;

		if (rc < 0 && rc != GKV_E_NOTFOUND)
			return rc;
		if ((rc = b->batch_begin(&batch, b)) < 0)
			return rc;
		rc = b->batch_write(batch, &next, GKV_OBJ_COMMIT, old.id, have ? GKV_OID_RAWSZ : 0);
		if (rc == 0)
			rc = b->batch_ref_cas(batch, ref, have ? &old : NULL, &next);
		if (rc < 0) {
			b->batch_abort(batch);
			return rc;
		}
		rc = b->batch_commit(batch);
		if (rc != GKV_E_CONFLICT)
			return rc;
	}
}

/* Follow the chain from ref back to its root; its length. */
static size_t chain_length(gkv_backend *b, const char *ref)
{
	gkv_oid cur;
	size_t n = 0;
	int have = b->ref_read(&cur, b, ref) == 0;

	while (have) {
		void *data;
		size_t len;
		gkv_otype type;

		assert_int_equal(b->read(&data, &len, &type, b, &cur), 0);
		assert_int_equal(type, GKV_OBJ_COMMIT);
		n++;
		have = len == GKV_OID_RAWSZ;
		if (have)
			memcpy(cur.id, data, GKV_OID_RAWSZ);
		gkv_backend_data_free(data);
	}
	return n;
}

typedef struct {
	gkv_backend *b;
	uint64_t worker;
	int steps;
	int rc;
} worker_args;

static void *cas_worker(void *p)
{
	worker_args *w = p;

	for (int i = 0; i < w->steps && w->rc == 0; i++)
		w->rc = cas_increment(w->b, "refs/heads/counter", w->worker, (uint64_t)i);
	return NULL;
}

#define CAS_THREADS 4
#define CAS_STEPS 250

static void run_cas_threads(gkv_backend *b)
{
	pthread_t th[CAS_THREADS];
	worker_args w[CAS_THREADS];

	for (int i = 0; i < CAS_THREADS; i++) {
		w[i] = (worker_args){b, (uint64_t)i + 1, CAS_STEPS, 0};
		assert_int_equal(pthread_create(&th[i], NULL, cas_worker, &w[i]), 0);
	}
	for (int i = 0; i < CAS_THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].rc, 0);
	}
}

static void test_threads_cas(void **state)
{
	gkv_backend *b;

	(void)state;
	assert_int_equal(suite_open(&b), 0);
	run_cas_threads(b);
	assert_int_equal(chain_length(b, "refs/heads/counter"), CAS_THREADS * CAS_STEPS);
	b->free(b);
}

#define BACKEND_SUITE_TESTS                                                                        \
	cmocka_unit_test(test_objects), cmocka_unit_test(test_foreach_prefixes),                   \
	    cmocka_unit_test(test_ref_cas), cmocka_unit_test(test_ref_list),                       \
	    cmocka_unit_test(test_batch_atomic), cmocka_unit_test(test_batch_abort),               \
	    cmocka_unit_test(test_batch_defers),                                                   \
	    cmocka_unit_test(test_large_objects), cmocka_unit_test(test_callbacks_reenter),        \
	    cmocka_unit_test(test_threads_cas)

#endif
