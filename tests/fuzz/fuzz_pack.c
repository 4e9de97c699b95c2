/*
 * fuzz_pack.c -- the git backend's pack and .idx readers (git_pack.c) on
 * hostile packs. The input, after its first two bytes, is the body of a
 * pack: its entries, each a type-and-size header (a delta's base offset
 * or id after it) and a zlib stream. A .pack and its .idx are made from
 * it -- header, body and checksum; an .idx of every entry a walk here
 * finds, with the id of what the entry holds, its CRC-32 and its offset
 * -- and put in objects/pack/ of a bare repository made once per
 * process; a backend opened afresh reads every id of the .idx and one
 * id it lacks, and lists them; the two files are removed.
 *
 * First byte of the input, bits:
 *   0  every offset through the .idx's table of 64-bit offsets
 *   1  the pack header's count from the second byte, not the true one
 *   2  damage the .idx: byte 1 of the input, xored into the .idx at a
 *      place the body's length picks, and the .idx's checksum made
 *      again so that the damage gets past it
 * The sound cases (bits 1 and 2 clear) have an exact oracle: a model of
 * git's pack format written here (entries, OFS and REF deltas, the delta
 * instructions) says what each entry holds, and each read gives exactly
 * that object, or GKV_E_CORRUPT where the model finds it unsound; the
 * id the .idx lacks is GKV_E_NOTFOUND, and the listing is the .idx's
 * ids. With a damaged .idx or count: right bytes, GKV_E_CORRUPT or
 * GKV_E_NOTFOUND, never a crash, a hang or another code.
 */
#include <errno.h>
#include <fcntl.h>
#include <zlib.h>

#include "fuzz_git_common.h"

#define MAX_DEPTH 4096 /* git_pack.c's MAX_DELTA_DEPTH */
#define MAX_ENTRIES 256

typedef struct {
	gkv_oid id;
	uint64_t off;
	uint32_t crc;
	int ok, type; /* what the model makes of it */
	unsigned char *data;
	size_t len;
} entry;

typedef struct {
	const unsigned char *pack;
	size_t len; /* without the trailing checksum */
	entry *e;
	size_t n;
} model;

static int model_at(const model *m, uint64_t off, int depth, int *type, unsigned char **data,
		    size_t *len, size_t *entry_len);

static int find_entry(const model *m, const unsigned char *id)
{
	for (size_t i = 0; i < m->n; i++)
		if (!memcmp(m->e[i].id.id, id, 20))
			return (int)i;
	return -1;
}

static int varint(uint64_t *out, const unsigned char **d, const unsigned char *end)
{
	uint64_t v = 0;
	int shift = 0;
	unsigned c;

	do {
		if (*d >= end || shift > 63)
			return -1;
		c = *(*d)++;
		v |= (uint64_t)(c & 0x7f) << shift;
		shift += 7;
	} while (c & 0x80);
	*out = v;
	return 0;
}

/* git's delta instructions (patch-delta.c) applied to base. */
static unsigned char *apply(size_t *outlen, const unsigned char *base, size_t blen,
			    const unsigned char *d, size_t dlen)
{
	const unsigned char *end = d + dlen;
	uint64_t bsize, rsize;
	unsigned char *out, *w;

	if (varint(&bsize, &d, end) || bsize != blen || varint(&rsize, &d, end) ||
	    rsize >= UINT32_MAX)
		return NULL;
	FUZZ_CHECK((out = w = malloc((size_t)rsize + 1)) != NULL);
	while (d < end) {
		unsigned c = *d++;

		if (c & 0x80) {
			uint64_t o = 0, n = 0;

			for (int i = 0; i < 7; i++) {
				if (!(c & (1u << i)))
					continue;
				if (d >= end)
					goto bad;
				if (i < 4)
					o |= (uint64_t)*d++ << (8 * i);
				else
					n |= (uint64_t)*d++ << (8 * (i - 4));
			}
			if (!n)
				n = 0x10000;
			if (o + n > blen || (uint64_t)(w - out) + n > rsize)
				goto bad;
			memcpy(w, base + o, n);
			w += n;
		} else if (c) {
			if ((size_t)(end - d) < c || (uint64_t)(w - out) + c > rsize)
				goto bad;
			memcpy(w, d, c);
			w += c;
			d += c;
		} else {
			goto bad;
		}
	}
	if ((uint64_t)(w - out) != rsize)
		goto bad;
	*outlen = (size_t)rsize;
	return out;
bad:
	free(out);
	return NULL;
}

/* Inflate exactly size bytes from [s, end): the data and the input used. */
static unsigned char *inflate_size(size_t *used, const unsigned char *s, const unsigned char *end,
				   uint64_t size)
{
	unsigned char *buf;
	z_stream zs;
	int zr;

	if (size >= UINT32_MAX || size > (uint64_t)(end - s) * 1032 + 64)
		return NULL;
	FUZZ_CHECK((buf = malloc((size_t)size + 1)) != NULL);
	memset(&zs, 0, sizeof(zs));
	FUZZ_CHECK(inflateInit(&zs) == Z_OK);
	zs.next_in = (unsigned char *)s;
	zs.avail_in = (uInt)(end - s);
	zs.next_out = buf;
	zs.avail_out = (uInt)size + 1;
	zr = inflate(&zs, Z_FINISH);
	*used = zs.total_in;
	inflateEnd(&zs);
	if (zr != Z_STREAM_END || zs.total_out != size) {
		free(buf);
		return NULL;
	}
	return buf;
}

/*
 * The entry at off: 0 with its type, bytes (malloc()ed) and length in
 * the pack, or -1 (unsound). The length is set whenever the entry's own
 * bytes parse, even if its base does not.
 */
static int model_at(const model *m, uint64_t off, int depth, int *type, unsigned char **data,
		    size_t *len, size_t *entry_len)
{
	const unsigned char *start = m->pack + off, *s = start, *end = m->pack + m->len;
	unsigned c = *s++, t = (c >> 4) & 7;
	uint64_t size = c & 15, base_off = 0;
	const unsigned char *base_id = NULL;
	unsigned char *delta, *base = NULL;
	size_t used, blen = 0, dummy;
	int shift = 4, btype, rc = -1;

	*entry_len = 0;
	if (depth > MAX_DEPTH)
		return -1;
	while (c & 0x80) {
		if (s >= end || shift > 57)
			return -1;
		c = *s++;
		size |= (uint64_t)(c & 0x7f) << shift;
		shift += 7;
	}
	if (t == 6) {
		do {
			if (s >= end || base_off > (UINT64_MAX >> 8))
				return -1;
			c = *s++;
			base_off = (base_off << 7) + (c & 0x7f) + ((c & 0x80) ? 1 : 0);
		} while (c & 0x80);
		if (base_off == 0 || base_off > off - 12)
			return -1;
		base_off = off - base_off;
	} else if (t == 7) {
		if (end - s < 20)
			return -1;
		base_id = s;
		s += 20;
	} else if (t < 1 || t > 4) {
		return -1;
	}
	if (!(delta = inflate_size(&used, s, end, size)))
		return -1;
	*entry_len = (size_t)(s - start) + used;
	if (t < 6) {
		*type = (int)t;
		*data = delta;
		*len = (size_t)size;
		return 0;
	}
	if (t == 6) {
		rc = model_at(m, base_off, depth + 1, &btype, &base, &blen, &dummy);
	} else {
		int k = find_entry(m, base_id);

		/* a base by id is read as the .idx's entry: it must be sound */
		if (k >= 0 && m->e[k].ok && depth + 1 <= MAX_DEPTH) {
			btype = m->e[k].type;
			blen = m->e[k].len;
			FUZZ_CHECK((base = malloc(blen + 1)) != NULL);
			memcpy(base, m->e[k].data, blen);
			rc = 0;
		}
	}
	if (rc == 0 && (*data = apply(len, base, blen, delta, (size_t)size)) != NULL) {
		*type = btype;
		rc = 0;
	} else {
		rc = -1;
	}
	free(base);
	free(delta);
	return rc;
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static int entry_cmp(const void *a, const void *b)
{
	return memcmp(((const entry *)a)->id.id, ((const entry *)b)->id.id, 20);
}

/* The .idx of the entries (sorted by id) of the pack whose checksum is sum. */
static unsigned char *make_idx(size_t *outlen, const entry *e, size_t n, int wide,
			       const unsigned char sum[20])
{
	size_t len = 8 + 1024 + n * 28 + (wide ? n * 8 : 0) + 40, k = 0;
	unsigned char *x = calloc(1, len), *p;

	FUZZ_CHECK(x != NULL);
	memcpy(x, "\377tOc\0\0\0\2", 8);
	for (int b = 0; b < 256; b++) {
		while (k < n && e[k].id.id[0] <= b)
			k++;
		put32(x + 8 + 4 * b, (uint32_t)k);
	}
	p = x + 8 + 1024;
	for (size_t i = 0; i < n; i++)
		memcpy(p + 20 * i, e[i].id.id, 20);
	p += 20 * n;
	for (size_t i = 0; i < n; i++)
		put32(p + 4 * i, e[i].crc);
	p += 4 * n;
	for (size_t i = 0; i < n; i++)
		put32(p + 4 * i, wide ? 0x80000000u | (uint32_t)i : (uint32_t)e[i].off);
	p += 4 * n;
	for (size_t i = 0; wide && i < n; i++, p += 8) {
		put32(p, (uint32_t)(e[i].off >> 32));
		put32(p + 4, (uint32_t)e[i].off);
	}
	memcpy(p, sum, 20);
	sha1(p + 20, x, len - 20, "", 0);
	*outlen = len;
	return x;
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0444);

	FUZZ_CHECK(fd >= 0 && write(fd, data, len) == (ssize_t)len);
	close(fd);
}

typedef struct {
	const entry *e;
	size_t n, seen;
	int stray;
} listing;

static int list_cb(const gkv_oid *id, void *payload)
{
	listing *l = payload;
	size_t i;

	for (i = 0; i < l->n && !gkv_oid_equal(&l->e[i].id, id); i++)
		;
	if (i < l->n)
		l->seen++;
	else
		l->stray = 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t blen, plen, xlen, n = 0;
	unsigned char *pack, *idx, sum[20];
	char hex[GKV_OID_HEXSZ + 1], ppath[4200], xpath[4200];
	entry e[MAX_ENTRIES];
	model m;
	int damaged, flags;
	gkv_backend *b;
	gkv_oid missing;
	listing l;

	if (size < 2)
		return 0;
	if (!git_dir)
		git_init("pack");
	flags = data[0];
	damaged = (flags & 6) != 0;
	blen = size - 2;
	plen = 12 + blen + 20;
	FUZZ_CHECK((pack = malloc(plen)) != NULL);
	memcpy(pack, "PACK\0\0\0\2", 8);
	memcpy(pack + 12, data + 2, blen);
	m.pack = pack;
	m.len = 12 + blen;
	m.e = e;
	m.n = 0;

	/* Walk the entries: where each starts, its length, its CRC-32. */
	for (uint64_t off = 12; off < m.len && n < MAX_ENTRIES;) {
		entry *x = &e[n];
		size_t elen;

		memset(x, 0, sizeof(*x));
		x->off = off;
		x->ok = model_at(&m, off, 0, &x->type, &x->data, &x->len, &elen) == 0;
		if (elen == 0)
			break;
		x->crc = (uint32_t)crc32(0, pack + off, (uInt)elen);
		sha1(x->id.id, "unsound ", 8, pack + off, elen);
		if (x->ok)
			object_id(&x->id, x->type, x->data, x->len);
		off += elen;
		m.n = ++n;
	}
	/* A delta by id may have its base further on: resolve again until
	 * nothing changes. */
	for (int changed = 1; changed;) {
		changed = 0;
		for (size_t i = 0; i < n; i++) {
			size_t elen;

			if (e[i].ok || model_at(&m, e[i].off, 0, &e[i].type, &e[i].data, &e[i].len,
						 &elen) != 0)
				continue;
			e[i].ok = changed = 1;
			object_id(&e[i].id, e[i].type, e[i].data, e[i].len);
		}
	}
	/* An id is once in an .idx. */
	qsort(e, n, sizeof(*e), entry_cmp);
	for (size_t i = 0, k = 0; i < n; i++) {
		if (k && gkv_oid_equal(&e[k - 1].id, &e[i].id)) {
			free(e[i].data);
			continue;
		}
		e[k++] = e[i];
		if (i + 1 == n)
			n = k;
	}
	put32(pack + 8, flags & 2 ? data[1] : (uint32_t)n);
	sha1(sum, pack, plen - 20, "", 0);
	memcpy(pack + plen - 20, sum, 20);
	idx = make_idx(&xlen, e, n, flags & 1, sum);
	if (flags & 4) {
		idx[blen % (xlen - 20)] ^= data[1] ? data[1] : 1;
		sha1(idx + xlen - 20, idx, xlen - 20, "", 0);
	}

	gkv_oid_fmt(hex, (const gkv_oid *)sum);
	hex[GKV_OID_HEXSZ] = '\0';
	snprintf(ppath, sizeof(ppath), "%s/objects/pack/pack-%s.pack", git_dir, hex);
	snprintf(xpath, sizeof(xpath), "%s/objects/pack/pack-%s.idx", git_dir, hex);
	snprintf(ppath, sizeof(ppath), "%s/objects/pack", git_dir);
	FUZZ_CHECK(mkdir(ppath, 0755) == 0 || errno == EEXIST);
	snprintf(ppath, sizeof(ppath), "%s/objects/pack/pack-%s.pack", git_dir, hex);
	write_file(ppath, pack, plen);
	write_file(xpath, idx, xlen);

	FUZZ_CHECK(gkv_backend_git_open(&b, git_dir, 0) == 0);
	for (size_t i = 0; i < n; i++)
		git_check_read(b, &e[i].id, e[i].ok && !damaged, e[i].type, e[i].data, e[i].len,
			       damaged);
	memset(&missing, 0xee, sizeof(missing));
	git_check_read(b, &missing, 0, 0, NULL, 0, 1);
	if (!damaged) {
		void *d = NULL;
		size_t dl;
		gkv_otype dt;

		FUZZ_CHECK(b->read(&d, &dl, &dt, b, &missing) == GKV_E_NOTFOUND);
	}
	l = (listing){e, n, 0, 0};
	if (!damaged)
		FUZZ_CHECK(b->foreach(b, NULL, 0, list_cb, &l) == 0 && l.seen == n && !l.stray);
	else {
		int rc = b->foreach(b, NULL, 0, list_cb, &l);

		FUZZ_CHECK(rc == 0 || rc == GKV_E_CORRUPT);
	}
	b->free(b);

	FUZZ_CHECK(unlink(ppath) == 0 && unlink(xpath) == 0);
	for (size_t i = 0; i < n; i++)
		free(e[i].data);
	free(idx);
	free(pack);
	return 0;
}
