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
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
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

/* ---- reading: objects straight from the packs ---- */

/*
 * libgit2 reads a packed object through layers made for every case
 * (deltas, window caches, several backends) and then hashes what it
 * inflated again, to check the id: for a 64-byte value that re-hash and
 * the layers cost more than the inflate itself. git itself does not
 * re-hash what it reads (git cat-file trusts the pack; index-pack and
 * fsck are where ids are checked). This reader takes the common case
 * itself -- an object stored whole (not as a delta) in a pack of
 * objects/pack -- and checks it as git's pack reuse does: the CRC-32
 * that the .idx keeps for the object's packed bytes (header and zlib
 * stream) must match, and zlib's own Adler-32 must hold. A flipped bit
 * in the type, the size or the data is caught; an object is not
 * re-hashed. Everything else (deltas, loose objects, alternates, a pack
 * this reader cannot take, bytes that fail a check) goes to libgit2,
 * which then gives the object or the precise error.
 *
 * .idx version 2: "\377tOc", version 2, a 256-entry fanout of 32-bit
 * counts, n sorted ids, n CRC-32s, n 32-bit offsets (the top bit set:
 * an index into a table of 64-bit offsets that follows), the pack's
 * checksum and the .idx's own.
 *
 * Packs are mapped whole and stay mapped while listed. A pack that git
 * gc deletes stays readable through its map (it is unlinked, not
 * changed: packs are never rewritten in place) until the next scan
 * drops it, under the write side of the lock, when no reader is in it.
 */

struct gkv__git_packfile {
	const unsigned char *idx, *pack;
	size_t idx_len, pack_len;
	uint32_t n;
	const unsigned char *ids, *crcs, *off32, *off64;
	size_t n64;
	bool seen;
	char name[]; /* "pack-<hex>.idx" */
};

#define IDX_HEAD (8 + 256 * 4)

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void unmap_pack(gkv__git_packfile *p)
{
	if (!p)
		return;
	if (p->idx)
		munmap((void *)p->idx, p->idx_len);
	if (p->pack)
		munmap((void *)p->pack, p->pack_len);
	free(p);
}

static const unsigned char *map_file(size_t *len, int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	struct stat st;
	void *m = MAP_FAILED;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (uint64_t)st.st_size <= SIZE_MAX) {
		*len = (size_t)st.st_size;
		m = mmap(NULL, *len, PROT_READ, MAP_PRIVATE, fd, 0);
	}
	close(fd);
	return m == MAP_FAILED ? NULL : m;
}

/* The .idx's layout checked against its size and its pack: true if sound. */
static bool idx_sound(gkv__git_packfile *p)
{
	const unsigned char *fan = p->idx + 8;
	uint32_t prev = 0;
	size_t need;

	if (p->idx_len < IDX_HEAD + 40 || memcmp(p->idx, "\377tOc\0\0\0\2", 8) != 0)
		return false;
	for (int i = 0; i < 256; i++) {
		uint32_t c = be32(fan + 4 * i);

		if (c < prev)
			return false;
		prev = c;
	}
	p->n = prev;
	need = IDX_HEAD + (size_t)p->n * 28 + 40;
	if (p->idx_len < need || (p->idx_len - need) % 8 != 0)
		return false;
	p->ids = p->idx + IDX_HEAD;
	p->crcs = p->ids + (size_t)p->n * 20;
	p->off32 = p->crcs + (size_t)p->n * 4;
	p->off64 = p->off32 + (size_t)p->n * 4;
	p->n64 = (p->idx_len - need) / 8;
	/* the pack: "PACK", version 2 or 3, the same count, the same checksum */
	return p->pack_len >= 32 && memcmp(p->pack, "PACK", 4) == 0 &&
	       (be32(p->pack + 4) == 2 || be32(p->pack + 4) == 3) && be32(p->pack + 8) == p->n &&
	       memcmp(p->pack + p->pack_len - 20, p->idx + p->idx_len - 40, 20) == 0;
}

static gkv__git_packfile *open_pack(int dirfd, const char *idxname)
{
	size_t nlen = strlen(idxname);
	gkv__git_packfile *p = calloc(1, sizeof(*p) + nlen + 2);

	if (!p)
		return NULL;
	memcpy(p->name, idxname, nlen + 1);
	p->idx = map_file(&p->idx_len, dirfd, idxname);
	memcpy(p->name + nlen - 3, "pack", 5); /* the pack's name, for a moment */
	p->pack = map_file(&p->pack_len, dirfd, p->name);
	memcpy(p->name + nlen - 3, "idx", 4);
	if (!p->idx || !p->pack || !idx_sound(p)) {
		unmap_pack(p);
		return NULL;
	}
	p->seen = true;
	return p;
}

/* The pack offset of id in p: true if p has it (and the offset is sane). */
static bool find_offset(uint64_t *off, uint32_t *crc, const gkv__git_packfile *p,
			const unsigned char *id)
{
	const unsigned char *fan = p->idx + 8;
	uint32_t lo = id[0] ? be32(fan + 4 * (id[0] - 1)) : 0, hi = be32(fan + 4 * id[0]);
	uint64_t o;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = memcmp(p->ids + (size_t)mid * 20, id, 20);

		if (c == 0) {
			o = be32(p->off32 + (size_t)mid * 4);
			if (o & 0x80000000u) {
				const unsigned char *q;

				if ((o & 0x7fffffffu) >= p->n64)
					return false;
				q = p->off64 + (o & 0x7fffffffu) * 8;
				o = (uint64_t)be32(q) << 32 | be32(q + 4);
			}
			if (o < 12 || o >= p->pack_len - 20)
				return false;
			*off = o;
			*crc = be32(p->crcs + (size_t)mid * 4);
			return true;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static z_stream *zs_get(gkv__git_packs *ps)
{
	z_stream *zs = NULL;

	pthread_mutex_lock(&ps->zlock);
	if (ps->nz)
		zs = ps->zpool[--ps->nz];
	pthread_mutex_unlock(&ps->zlock);
	if (zs)
		return zs;
	if (!(zs = calloc(1, sizeof(*zs))))
		return NULL;
	if (inflateInit(zs) != Z_OK) {
		free(zs);
		return NULL;
	}
	return zs;
}

static void zs_put(gkv__git_packs *ps, z_stream *zs)
{
	pthread_mutex_lock(&ps->zlock);
	if (gkv__backend_grow((void **)&ps->zpool, &ps->capz, ps->nz, sizeof(*ps->zpool)) == 0) {
		ps->zpool[ps->nz++] = zs;
		zs = NULL;
	}
	pthread_mutex_unlock(&ps->zlock);
	if (zs) {
		inflateEnd(zs);
		free(zs);
	}
}

/* The object at off in p: 1, 0 (leave it to libgit2) or GKV_E_NOMEM. */
static int unpack_at(void **data, size_t *len, gkv_otype *type, gkv__git_packs *ps,
		     const gkv__git_packfile *p, uint64_t off, uint32_t crc)
{
	const unsigned char *start = p->pack + off, *s = start, *end = p->pack + p->pack_len - 20;
	unsigned c = *s++, t = (c >> 4) & 7;
	uint64_t size = c & 15;
	unsigned char *buf;
	z_stream *zs;
	int shift = 4, zrc;

	while (c & 0x80) {
		if (s >= end || shift > 57)
			return 0;
		c = *s++;
		size |= (uint64_t)(c & 0x7f) << shift;
		shift += 7;
	}
	/* deltas (6, 7) and anything odd are libgit2's; deflate expands at
	 * most ~1032:1, so a larger size is a damaged header */
	if (t < GKV_OBJ_COMMIT || t > GKV_OBJ_TAG || size >= UINT32_MAX ||
	    size > (uint64_t)(end - s) * 1032 + 64)
		return 0;
	if (!(buf = malloc((size_t)size + 1)))
		return gkv__oom();
	if (!(zs = zs_get(ps))) {
		free(buf);
		return gkv__oom();
	}
	inflateReset(zs);
	zs->next_in = (unsigned char *)s;
	zs->avail_in = (uInt)((uint64_t)(end - s) < UINT32_MAX ? (uint64_t)(end - s) : UINT32_MAX);
	zs->next_out = buf;
	zs->avail_out = (uInt)size + 1;
	zrc = inflate(zs, Z_FINISH);
	if (zrc != Z_STREAM_END || zs->total_out != size ||
	    crc32(0, start, (uInt)((size_t)(s - start) + zs->total_in)) != crc) {
		zs_put(ps, zs);
		free(buf);
		return 0;
	}
	zs_put(ps, zs);
	*data = buf;
	*len = (size_t)size;
	*type = (gkv_otype)t;
	return 1;
}

static int lookup(void **data, size_t *len, gkv_otype *type, gkv__git_packs *ps,
		  const gkv_oid *id)
{
	int rc = 0;

	pthread_rwlock_rdlock(&ps->lock);
	for (size_t i = 0; i < ps->n; i++) {
		uint64_t off;
		uint32_t crc;

		if (find_offset(&off, &crc, ps->list[i], id->id)) {
			rc = unpack_at(data, len, type, ps, ps->list[i], off, crc);
			break;
		}
	}
	pthread_rwlock_unlock(&ps->lock);
	return rc;
}

static bool same_dir(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Map the packs that appeared, drop those that went (write lock held). */
static void scan(gkv__git_packs *ps, const struct stat *st)
{
	struct timespec now;
	DIR *d = opendir(ps->dirpath);
	struct dirent *e;
	size_t k = 0;

	ps->dir = *st;
	ps->scanned = true;
	/* A change within the same clock tick as st_mtim could leave it as it
	 * is: until the mtime is safely in the past, scan again at every miss. */
	clock_gettime(CLOCK_REALTIME, &now);
	ps->racy = now.tv_sec - st->st_mtim.tv_sec < 2;
	if (!d)
		return;
	for (size_t i = 0; i < ps->n; i++)
		ps->list[i]->seen = false;
	while ((e = readdir(d)) != NULL) {
		size_t nlen = strlen(e->d_name), i;
		gkv__git_packfile *p;

		if (nlen < 9 || strncmp(e->d_name, "pack-", 5) != 0 ||
		    strcmp(e->d_name + nlen - 4, ".idx") != 0)
			continue;
		for (i = 0; i < ps->n && strcmp(ps->list[i]->name, e->d_name) != 0; i++)
			;
		if (i < ps->n) {
			ps->list[i]->seen = true;
			continue;
		}
		if (gkv__backend_grow((void **)&ps->list, &ps->cap, ps->n, sizeof(*ps->list)) < 0) {
			gkv_error_clear(); /* not an error: libgit2 reads the rest */
			ps->racy = true;
			break;
		}
		if ((p = open_pack(dirfd(d), e->d_name)) != NULL)
			ps->list[ps->n++] = p;
	}
	closedir(d);
	for (size_t i = 0; i < ps->n; i++) {
		if (ps->list[i]->seen)
			ps->list[k++] = ps->list[i];
		else
			unmap_pack(ps->list[i]);
	}
	ps->n = k;
}

/* Scan objects/pack if it changed since the last scan: true if scanned. */
static bool rescan(gkv__git_packs *ps)
{
	struct stat st;
	bool fresh;

	if (stat(ps->dirpath, &st) != 0)
		memset(&st, 0, sizeof(st));
	pthread_rwlock_rdlock(&ps->lock);
	fresh = ps->scanned && !ps->racy && same_dir(&ps->dir, &st);
	pthread_rwlock_unlock(&ps->lock);
	if (fresh)
		return false;
	pthread_rwlock_wrlock(&ps->lock);
	if (!ps->scanned || ps->racy || !same_dir(&ps->dir, &st))
		scan(ps, &st);
	pthread_rwlock_unlock(&ps->lock);
	return true;
}

int gkv__git_pack_read(void **data, size_t *len, gkv_otype *type, gkv__git *g,
		       const gkv_oid *id)
{
	int rc = lookup(data, len, type, &g->packs, id);

	if (rc != 0 || !rescan(&g->packs))
		return rc;
	return lookup(data, len, type, &g->packs, id);
}

void gkv__git_packs_changed(gkv__git *g)
{
	pthread_rwlock_wrlock(&g->packs.lock);
	g->packs.racy = true;
	pthread_rwlock_unlock(&g->packs.lock);
}

int gkv__git_packs_init(gkv__git *g)
{
	gkv__git_packs *ps = &g->packs;
	size_t dlen = strlen(g->commondir);

	if (!(ps->dirpath = malloc(dlen + sizeof("/objects/pack"))))
		return gkv__oom();
	memcpy(ps->dirpath, g->commondir, dlen);
	if (dlen && ps->dirpath[dlen - 1] != '/')
		ps->dirpath[dlen++] = '/';
	memcpy(ps->dirpath + dlen, "objects/pack", sizeof("objects/pack"));
	pthread_rwlock_init(&ps->lock, NULL);
	pthread_mutex_init(&ps->zlock, NULL);
	return 0;
}

void gkv__git_packs_free(gkv__git *g)
{
	gkv__git_packs *ps = &g->packs;

	if (!ps->dirpath)
		return; /* never initialised */
	for (size_t i = 0; i < ps->n; i++)
		unmap_pack(ps->list[i]);
	free(ps->list);
	for (size_t i = 0; i < ps->nz; i++) {
		inflateEnd(ps->zpool[i]);
		free(ps->zpool[i]);
	}
	free(ps->zpool);
	free(ps->dirpath);
	pthread_rwlock_destroy(&ps->lock);
	pthread_mutex_destroy(&ps->zlock);
}
