/*
 * git_pack.c -- a large batch written as one git pack, streamed into the
 * repository's pack writer (git_odb_write_pack: libgit2's indexer, which
 * checks every object, writes the .idx and moves pack and index into
 * objects/pack; nothing is visible before the .idx is in place, so a
 * crash leaves at worst a temporary file).
 *
 * Why not git_packbuilder: it reads every object back through an object
 * database (a mempack, so a copy of the batch), searches for deltas, and
 * allocates a 1 MiB buffer per object it compresses -- cheap with glibc,
 * which recycles it, but a map and unmap per object with the sanitizers'
 * allocator, which made a 100,000-object batch take ten minutes under
 * ASan. The pack written here is git's format version 2 with every object
 * whole (no deltas), one zlib stream reused for all; git gc packs it
 * tighter later.
 *
 * Format: "PACK", version 2 and the object count as 32-bit big-endian,
 * then per object a header (type in bits 4-6 of the first byte, size in
 * its low 4 bits then 7 bits per byte, low bits first, MSB = more) and
 * the zlib-deflated payload; last, the SHA-1 of everything before it.
 * SHA-1 is computed here (FIPS 180-4) because libgit2 offers no raw hash
 * of bytes; it is only a checksum, which the indexer verifies.
 */
#include <zlib.h>

#include "git_internal.h"

#define FLUSH_AT (1u << 20)

/* ---- SHA-1, for the trailing checksum ---- */

typedef struct {
	uint32_t h[5];
	uint64_t len;
	unsigned char block[64];
	size_t used;
} sha1_ctx;

static uint32_t rol(uint32_t x, int n)
{
	return (x << n) | (x >> (32 - n));
}

static void sha1_block(sha1_ctx *c, const unsigned char *p)
{
	uint32_t w[80], a = c->h[0], b = c->h[1], d = c->h[3], e = c->h[4], cc = c->h[2];

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 80; i++)
		w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	for (int i = 0; i < 80; i++) {
		uint32_t f, k, t;

		if (i < 20)
			f = (b & cc) | (~b & d), k = 0x5a827999;
		else if (i < 40)
			f = b ^ cc ^ d, k = 0x6ed9eba1;
		else if (i < 60)
			f = (b & cc) | (b & d) | (cc & d), k = 0x8f1bbcdc;
		else
			f = b ^ cc ^ d, k = 0xca62c1d6;
		t = rol(a, 5) + f + e + k + w[i];
		e = d;
		d = cc;
		cc = rol(b, 30);
		b = a;
		a = t;
	}
	c->h[0] += a;
	c->h[1] += b;
	c->h[2] += cc;
	c->h[3] += d;
	c->h[4] += e;
}

static void sha1_init(sha1_ctx *c)
{
	static const uint32_t h0[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};

	memcpy(c->h, h0, sizeof(h0));
	c->len = 0;
	c->used = 0;
}

static void sha1_update(sha1_ctx *c, const unsigned char *p, size_t n)
{
	c->len += n;
	while (n > 0) {
		size_t take = 64 - c->used < n ? 64 - c->used : n;

		memcpy(c->block + c->used, p, take);
		c->used += take;
		p += take;
		n -= take;
		if (c->used == 64) {
			sha1_block(c, c->block);
			c->used = 0;
		}
	}
}

static void sha1_final(unsigned char out[20], sha1_ctx *c)
{
	uint64_t bits = c->len * 8;
	unsigned char pad[72] = {0x80};
	size_t npad = (c->used < 56 ? 56 : 120) - c->used;

	for (int i = 0; i < 8; i++)
		pad[npad + (size_t)i] = (unsigned char)(bits >> (56 - 8 * i));
	sha1_update(c, pad, npad + 8);
	for (int i = 0; i < 20; i++)
		out[i] = (unsigned char)(c->h[i / 4] >> (24 - 8 * (i % 4)));
}

/* ---- the pack stream ---- */

typedef struct {
	gkv__git *g;
	git_odb_writepack *wp;
	git_indexer_progress stats;
	sha1_ctx sha;
	gkv__sbuf buf; /* written to wp when it holds FLUSH_AT bytes */
	z_stream zs;
} pack_out;

static int flush(pack_out *po)
{
	int rc;

	if (po->buf.size == 0)
		return 0;
	sha1_update(&po->sha, po->buf.ptr, po->buf.size);
	if ((rc = po->wp->append(po->wp, po->buf.ptr, po->buf.size, &po->stats)) < 0)
		return gkv__git_error(rc, GKV_E_IO, "git repository '%s': cannot write a pack",
				      po->g->path);
	po->buf.size = 0;
	return 0;
}

static int put_header(pack_out *po, gkv_otype type, size_t len)
{
	unsigned char h[16];
	size_t n = 0;

	h[n] = (unsigned char)((unsigned)type << 4 | (len & 15));
	len >>= 4;
	while (len) {
		h[n++] |= 0x80;
		h[n] = len & 0x7f;
		len >>= 7;
	}
	return gkv__sbuf_put(&po->buf, h, n + 1);
}

static int put_object(pack_out *po, const gkv__git_obj *o)
{
	int rc, zrc;

	if ((rc = put_header(po, o->type, o->len)) < 0)
		return rc;
	if (deflateReset(&po->zs) != Z_OK)
		return gkv_error_set(GKV_E_ERROR, "git repository '%s': zlib failed", po->g->path);
	po->zs.next_in = (unsigned char *)o->data;
	po->zs.avail_in = (uInt)o->len;
	do {
		if ((rc = gkv__sbuf_grow(&po->buf, 64 << 10)) < 0)
			return rc;
		po->zs.next_out = po->buf.ptr + po->buf.size;
		po->zs.avail_out = (uInt)(po->buf.cap - po->buf.size);
		zrc = deflate(&po->zs, Z_FINISH);
		po->buf.size = po->buf.cap - po->zs.avail_out;
		if (zrc == Z_STREAM_ERROR)
			return gkv_error_set(GKV_E_ERROR, "git repository '%s': zlib failed",
					     po->g->path);
		if (po->buf.size >= FLUSH_AT && (rc = flush(po)) < 0)
			return rc;
	} while (zrc != Z_STREAM_END);
	return 0;
}

static int put_all(pack_out *po, gkv__git_obj **objs, size_t n)
{
	unsigned char head[12] = {'P', 'A', 'C', 'K', 0, 0, 0, 2};
	unsigned char sum[20];
	int rc;

	for (int i = 0; i < 4; i++)
		head[8 + i] = (unsigned char)((uint32_t)n >> (24 - 8 * i));
	if ((rc = gkv__sbuf_put(&po->buf, head, sizeof(head))) < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		/* zlib takes lengths as uInt: a bigger object goes loose */
		if (objs[i]->len > 0xffffffffu)
			return gkv_error_set(GKV_E_INVALID,
					     "object of %zu bytes is too large for a pack",
					     objs[i]->len);
		if ((rc = put_object(po, objs[i])) < 0)
			return rc;
	}
	if ((rc = flush(po)) < 0)
		return rc;
	sha1_final(sum, &po->sha);
	if ((rc = po->wp->append(po->wp, sum, sizeof(sum), &po->stats)) < 0 ||
	    (rc = po->wp->commit(po->wp, &po->stats)) < 0)
		return gkv__git_error(rc, GKV_E_IO,
				      "git repository '%s': cannot store a pack of %zu objects",
				      po->g->path, n);
	if (po->stats.indexed_objects != n)
		return gkv_error_set(GKV_E_IO,
				     "git repository '%s': a pack of %zu objects indexed %u",
				     po->g->path, n, po->stats.indexed_objects);
	return 0;
}

int gkv__git_write_pack(gkv__git *g, gkv__git_obj **objs, size_t n)
{
	pack_out po;
	int rc;

	memset(&po, 0, sizeof(po));
	po.g = g;
	sha1_init(&po.sha);
	if (deflateInit(&po.zs, Z_DEFAULT_COMPRESSION) != Z_OK)
		return gkv_error_set(GKV_E_NOMEM, "git repository '%s': zlib failed", g->path);
	if ((rc = git_odb_write_pack(&po.wp, g->wodb, NULL, NULL)) < 0)
		rc = gkv__git_error(rc, GKV_E_IO, "git repository '%s': cannot start a pack",
				    g->path);
	else
		rc = put_all(&po, objs, n);
	if (po.wp)
		po.wp->free(po.wp); /* without commit: the temporary pack is removed */
	deflateEnd(&po.zs);
	gkv__sbuf_free(&po.buf);
	return rc;
}
