/*
 * git_pack.c -- packs: a large batch written as one git pack with its
 * index, and objects read straight from the packs of objects/pack.
 *
 * Writing. The pack and its .idx are written here, both in full: every
 * object's id (the batch's ids, checked when they joined it), offset and
 * the CRC-32 of its packed bytes are known while the pack is written, so
 * the .idx is made from them. (libgit2's indexer, used before, read the
 * pack back, inflated and re-hashed every object to find out the same;
 * it cost more than writing the pack.)
 *
 * Why not git_packbuilder: it reads every object back through an object
 * database (a mempack, so a copy of the batch), searches for deltas, and
 * allocates a 1 MiB buffer per object it compresses -- cheap with glibc,
 * which recycles it, but a map and unmap per object with the sanitizers'
 * allocator, which made a 100,000-object batch take ten minutes under
 * ASan. The pack written here is git's format version 2 with every object
 * whole (no deltas), in id order; git gc packs it tighter later.
 *
 * Format: "PACK", version 2 and the object count as 32-bit big-endian,
 * then per object a header (type in bits 4-6 of the first byte, size in
 * its low 4 bits then 7 bits per byte, low bits first, MSB = more) and
 * the zlib-deflated payload; last, the SHA-1 of everything before it.
 * SHA-1 is computed here (FIPS 180-4) because libgit2 offers no raw hash
 * of bytes; pack and .idx checksums are checksums, not object ids, so
 * git's collision detection has no part in them. `git verify-pack` and
 * `git fsck --strict` check what is written here (tests/interop).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <libdeflate.h>

#include "git_internal.h"
#include "sha1.h"

#define FLUSH_AT (1u << 20)
#define IDX_HEAD (8 + 256 * 4) /* magic, version, fanout */

/* ---- SHA-1, for the trailing checksums ----
 *
 * A pack's and an .idx's trailers guard against damage, not attack (git
 * computes them without collision detection), so they use plain SHA-1
 * (util/sha1.c), with the CPU's SHA instructions. */

typedef gkv__sha1_ctx sha1_ctx;
#define sha1_init gkv__sha1_init
#define sha1_update gkv__sha1_update
#define sha1_final gkv__sha1_final

/* ---- reading: objects straight from the packs ---- */

/*
 * Every object in a pack of objects/pack is read here, never by libgit2:
 * libgit2 1.5 trusts an .idx further than it should (a damaged one made
 * it read outside its maps), and a repository handed to gitkv must not
 * be able to crash or hang it. So an .idx is validated whole before its
 * pack is used (see idx_sound), and every read is bounded by the maps.
 *
 * An object stored whole is checked as git's pack reuse does: the CRC-32
 * that the .idx keeps for the object's packed bytes (header and zlib
 * stream) must match, and zlib's own Adler-32 must hold. A flipped bit in
 * the type, the size or the data is caught; such an object is not
 * re-hashed (git cat-file does not re-hash what it reads either; the
 * re-hash cost more than the inflate for a small value). A delta (what
 * git gc makes) is resolved here too: its base found by offset
 * (OFS_DELTA) or by id (REF_DELTA), at most MAX_DELTA_DEPTH deep, each
 * step bounded, and the result re-hashed against the id asked for, since
 * a base reached by offset has no CRC of its own to check.
 *
 * .idx version 2: "\377tOc", version 2, a 256-entry fanout of 32-bit
 * counts, n sorted ids, n CRC-32s, n 32-bit offsets (the top bit set:
 * an index into a table of 64-bit offsets that follows), the pack's
 * checksum and the .idx's own.
 *
 * Delta bases are cached as they are resolved (git and libgit2 do the
 * same): git gc chains each version of a tree or a file to the next, up
 * to 50 deep, so reading the trees of a history one by one would
 * otherwise inflate each chain again from its end; a push through
 * libgit2, which reads the trees of every branch the remote has, read
 * 27,000 objects for 8,000 asked for. BASE_SLOTS slots, keyed by the
 * pack's serial number (never reused within a handle, so a key cannot
 * outlive its pack, whatever address a later pack is mapped at) and
 * the offset, hold copies of at most BASE_BYTES in all; a full cache
 * drops entries in turn. A scan that unmaps a pack empties it.
 *
 * Packs are mapped whole and stay mapped while listed. A pack that git
 * gc deletes stays readable through its map (it is unlinked, not
 * changed: packs are never rewritten in place) until the next scan
 * drops it, under the write side of the lock, when no reader is in it.
 */

/* git's own limit is 50 by default, 250 for gc --aggressive; a chain
 * longer than this is refused rather than followed. */
#define MAX_DELTA_DEPTH 4096
#define OBJ_OFS_DELTA 6
#define OBJ_REF_DELTA 7

struct gkv__git_packfile {
	const unsigned char *idx, *pack;
	size_t idx_len, pack_len;
	uint32_t n;
	const unsigned char *ids, *crcs, *off32, *off64;
	size_t n64;
	uint64_t serial; /* never the same for two packs of a handle: keys the base cache */
	bool seen;
	char name[]; /* "pack-<hex>.idx" */
};

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return __builtin_bswap64(v);
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

/* The file mapped; NULL with errno set (ENOENT: it is not there). */
/* populate: map every page now (an .idx is read whole at once: one
 * call instead of a fault every few pages) */
static const unsigned char *map_file(size_t *len, int dirfd, const char *name, bool populate)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	struct stat st;
	void *m = MAP_FAILED;
	int e = EINVAL;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (uint64_t)st.st_size <= SIZE_MAX) {
		*len = (size_t)st.st_size;
		m = mmap(NULL, *len, PROT_READ, MAP_PRIVATE | (populate ? MAP_POPULATE : 0), fd, 0);
		e = errno;
	}
	close(fd);
	errno = e;
	return m == MAP_FAILED ? NULL : m;
}

/* The offset of entry i (its 64-bit form if the top bit says so). */
static uint64_t entry_offset(const gkv__git_packfile *p, uint32_t i)
{
	uint64_t o = be32(p->off32 + (size_t)i * 4);

	if (o & 0x80000000u) {
		const unsigned char *q = p->off64 + (o & 0x7fffffffu) * 8;

		o = (uint64_t)be32(q) << 32 | be32(q + 4);
	}
	return o;
}

/*
 * The .idx checked whole against its size and its pack, before anything
 * reads through it: NULL if sound, else what is wrong. Checked: magic and
 * version; the fanout never decreasing; the size exactly what the count
 * and the number of 64-bit offsets make; the ids strictly increasing and
 * each under its fanout bucket; every offset (and every 64-bit offset's
 * index) inside the pack, after its 12-byte header and before its
 * checksum; the pack's header ("PACK", version 2 or 3, the same count);
 * the pack's checksum as the .idx records it. These bound every read.
 * Neither file is hashed whole, as git does not hash them to read them
 * either: the pack can be gigabytes, and the SHA-1 of libgit2's 4.5 MB
 * .idx took 13% of every kvctl command on its repository. What damage
 * the checks above let through is caught as objects are read: a CRC-32
 * or an offset changed makes the CRC check of that object fail; an id
 * changed (and still in order) hides its object (GKV_E_NOTFOUND) and
 * lists the changed id, which gkv_repo_fsck re-hashes and reports.
 */
static const char *idx_sound(gkv__git_packfile *p)
{
	const unsigned char *fan = p->idx + 8;
	uint32_t prev = 0;
	size_t need, n64 = 0;

	if (p->idx_len < IDX_HEAD + 40 || memcmp(p->idx, "\377tOc\0\0\0\2", 8) != 0)
		return "not an index of version 2";
	for (int i = 0; i < 256; i++) {
		uint32_t c = be32(fan + 4 * i);

		if (c < prev)
			return "fanout table decreases";
		prev = c;
	}
	p->n = prev;
	need = IDX_HEAD + (size_t)p->n * 28 + 40;
	if (p->idx_len < need || (p->idx_len - need) % 8 != 0)
		return "size does not match its object count";
	p->ids = p->idx + IDX_HEAD;
	p->crcs = p->ids + (size_t)p->n * 20;
	p->off32 = p->crcs + (size_t)p->n * 4;
	p->off64 = p->off32 + (size_t)p->n * 4;
	p->n64 = (p->idx_len - need) / 8;
	if (p->pack_len < 32 || memcmp(p->pack, "PACK", 4) != 0 ||
	    (be32(p->pack + 4) != 2 && be32(p->pack + 4) != 3) || be32(p->pack + 8) != p->n)
		return "its pack's header does not match";
	if (memcmp(p->pack + p->pack_len - 20, p->idx + p->idx_len - 40, 20) != 0)
		return "its pack's checksum does not match";
	/* Three passes, each a tight loop over one table (the .idx of a
	 * large repository holds hundreds of thousands of entries). Ids
	 * strictly increasing: the first 8 bytes decide but for ids that
	 * share them. */
	for (uint32_t i = 1; i < p->n; i++) {
		const unsigned char *id = p->ids + (size_t)i * 20;
		uint64_t a = be64(id - 20), c = be64(id);

		if (a > c || (a == c && memcmp(id - 12, id + 8, 12) >= 0))
			return "ids out of order";
	}
	/* Each in its fanout bucket: the ids increase, so their first bytes
	 * do not decrease, and a bucket's first and last id decide for
	 * every id between them. */
	for (uint32_t b = 0, start = 0; b < 256; b++) {
		uint32_t end = be32(fan + 4 * b);

		if (end > start && (p->ids[(size_t)start * 20] != b ||
				    p->ids[(size_t)(end - 1) * 20] != b))
			return "an id is outside its fanout bucket";
		start = end;
	}
	for (uint32_t i = 0; i < p->n; i++) {
		uint32_t o = be32(p->off32 + (size_t)i * 4);
		uint64_t off = o;

		if (o & 0x80000000u) {
			const unsigned char *q;

			if ((o & 0x7fffffffu) >= p->n64)
				return "a 64-bit offset is outside its table";
			n64++;
			q = p->off64 + (size_t)(o & 0x7fffffffu) * 8;
			off = (uint64_t)be32(q) << 32 | be32(q + 4);
		}
		if (off < 12 || off >= p->pack_len - 20)
			return "an offset is outside the pack";
	}
	if (n64 != p->n64)
		return "size does not match its 64-bit offsets";
	return NULL;
}

/* p, or NULL: *why then says why (NULL if the pair is simply absent). */
static gkv__git_packfile *open_pack(const char **why, int dirfd, const char *idxname)
{
	size_t nlen = strlen(idxname);
	gkv__git_packfile *p = calloc(1, sizeof(*p) + nlen + 2);

	*why = NULL;
	if (!p)
		return NULL;
	memcpy(p->name, idxname, nlen + 1);
	p->idx = map_file(&p->idx_len, dirfd, idxname, true);
	if (!p->idx && errno != ENOENT)
		*why = "cannot be read";
	memcpy(p->name + nlen - 3, "pack", 5); /* the pack's name, for a moment */
	p->pack = p->idx ? map_file(&p->pack_len, dirfd, p->name, false) : NULL;
	memcpy(p->name + nlen - 3, "idx", 4);
	if (p->idx && !p->pack && errno != ENOENT)
		*why = "its pack cannot be read";
	/* (an .idx without its pack is ignored, as git ignores it) */
	if (!p->idx || !p->pack || (*why = idx_sound(p)) != NULL) {
		unmap_pack(p);
		return NULL;
	}
	p->seen = true;
	return p;
}

/* The entry of id in p: true and its index if p has it. */
static bool find_entry(uint32_t *out, const gkv__git_packfile *p, const unsigned char *id)
{
	const unsigned char *fan = p->idx + 8;
	uint32_t lo = id[0] ? be32(fan + 4 * (id[0] - 1)) : 0, hi = be32(fan + 4 * id[0]);

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = memcmp(p->ids + (size_t)mid * 20, id, 20);

		if (c == 0) {
			*out = mid;
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

/* What a read of one object carries through a delta chain. */
typedef struct {
	gkv__git *g;
	const gkv_oid *id; /* the object asked for, for messages */
	const char *pack;  /* the pack being read, for messages */
} pack_reader;

static int damaged(const pack_reader *r, const char *what, uint64_t off)
{
	char hex[GKV_OID_HEXSZ + 1];

	gkv__backend_hex(hex, r->id);
	return gkv_error_set(GKV_E_CORRUPT,
			     "object %s in git repository '%s' is corrupt: %s at offset %llu of "
			     "objects/pack/%s",
			     hex, r->g->path, what, (unsigned long long)off, r->pack);
}

/*
 * Inflate exactly size bytes from s (at most end - s bytes of input):
 * *out from gkv_backend_data_alloc. *used is the input taken. 0, or
 * GKV_E_CORRUPT (the stream is damaged, or inflates to another size) or
 * GKV_E_NOMEM. Bounded: one call to inflate over input that is all there.
 */
static int inflate_exact(unsigned char **out, size_t *used, const pack_reader *r,
			 const unsigned char *s, const unsigned char *end, uint64_t size,
			 uint64_t off)
{
	gkv__git_packs *ps = &r->g->packs;
	unsigned char *buf;
	z_stream *zs;
	int zrc;

	/* deflate expands at most ~1032:1, so a larger size is a damaged header */
	if (size >= UINT32_MAX || size > (uint64_t)(end - s) * 1032 + 64)
		return damaged(r, "size larger than its data can hold", off);
	if (!(buf = gkv_backend_data_alloc((size_t)size + 1)))
		return gkv__oom();
	if (!(zs = zs_get(ps))) {
		gkv_backend_data_free(buf);
		return gkv__oom();
	}
	inflateReset(zs);
	zs->next_in = (unsigned char *)s;
	zs->avail_in = (uInt)((uint64_t)(end - s) < UINT32_MAX ? (uint64_t)(end - s) : UINT32_MAX);
	zs->next_out = buf;
	zs->avail_out = (uInt)size + 1;
	zrc = inflate(zs, Z_FINISH);
	*used = zs->total_in;
	if (zrc != Z_STREAM_END || zs->total_out != size) {
		zs_put(ps, zs);
		gkv_backend_data_free(buf);
		return damaged(r, "zlib stream damaged or of the wrong size", off);
	}
	zs_put(ps, zs);
	*out = buf;
	return 0;
}

/* A delta's size field (7 bits per byte, low bits first). */
static bool delta_size(uint64_t *out, const unsigned char **d, const unsigned char *end)
{
	uint64_t v = 0;
	int shift = 0;
	unsigned c;

	do {
		if (*d >= end || shift > 63)
			return false;
		c = *(*d)++;
		v |= (uint64_t)(c & 0x7f) << shift;
		shift += 7;
	} while (c & 0x80);
	*out = v;
	return true;
}

/*
 * Apply git's delta d (dlen bytes) to base: *out (gkv_backend_data_alloc)
 * and *outlen. The instructions are checked in a first pass (every copy
 * inside the base, every insert inside the delta, the lengths adding up
 * to the result size the delta states) before anything is allocated.
 * NULL on damage or out of memory (*nomem then set).
 */
static unsigned char *delta_apply(size_t *outlen, bool *nomem, const unsigned char *base,
				  size_t blen, const unsigned char *d, size_t dlen)
{
	const unsigned char *end = d + dlen, *ops;
	uint64_t bsize, rsize, total = 0;
	unsigned char *out = NULL, *w = NULL;

	*nomem = false;
	if (!delta_size(&bsize, &d, end) || bsize != blen || !delta_size(&rsize, &d, end) ||
	    rsize >= UINT32_MAX)
		return NULL;
	ops = d;
	for (int pass = 0; pass < 2; pass++) {
		for (d = ops; d < end;) {
			unsigned c = *d++;

			if (c & 0x80) { /* copy from the base */
				uint64_t o = 0, n = 0;

				for (int i = 0; i < 4; i++)
					if (c & (1u << i)) {
						if (d >= end)
							return NULL;
						o |= (uint64_t)*d++ << (8 * i);
					}
				for (int i = 0; i < 3; i++)
					if (c & (0x10u << i)) {
						if (d >= end)
							return NULL;
						n |= (uint64_t)*d++ << (8 * i);
					}
				if (n == 0)
					n = 0x10000;
				if (o + n > blen)
					return NULL;
				if (pass)
					memcpy(w, base + o, n), w += n;
				total += n;
			} else if (c) { /* insert c bytes of the delta */
				if ((size_t)(end - d) < c)
					return NULL;
				if (pass)
					memcpy(w, d, c), w += c;
				d += c;
				total += c;
			} else {
				return NULL; /* 0 is reserved */
			}
			if (total > rsize)
				return NULL;
		}
		if (total != rsize)
			return NULL;
		if (!pass && !(w = out = gkv_backend_data_alloc((size_t)rsize + 1))) {
			*nomem = true;
			return NULL;
		}
		total = 0;
	}
	*outlen = (size_t)rsize;
	return out;
}

static int find_in_packs(void **data, size_t *len, gkv_otype *type, gkv__git *g,
			 const gkv_oid *id, int depth);

/* An entry's header: its type (1-4, or a delta's 6 or 7), the size it
 * states (a delta's own size for a delta), where its zlib stream starts,
 * and a delta's base (an offset in the same pack, or an id). */
typedef struct {
	unsigned t;
	uint64_t size;
	const unsigned char *data;
	uint64_t base_off;
	const unsigned char *base_id;
} entry_head;

/* The header of the entry at off in p, every byte inside the pack: 0, or
 * GKV_E_CORRUPT. */
static int parse_head(entry_head *h, const pack_reader *r, const gkv__git_packfile *p,
		      uint64_t off)
{
	const unsigned char *s = p->pack + off, *end = p->pack + p->pack_len - 20;
	unsigned c = *s++;
	int shift = 4;

	h->t = (c >> 4) & 7;
	h->size = c & 15;
	h->base_off = 0;
	h->base_id = NULL;
	while (c & 0x80) {
		if (s >= end || shift > 57)
			return damaged(r, "entry header runs off the pack", off);
		c = *s++;
		h->size |= (uint64_t)(c & 0x7f) << shift;
		shift += 7;
	}
	if (h->t == OBJ_OFS_DELTA) { /* git's encoding: 7 bits a byte, high first,
				      * each byte but the last adding one */
		do {
			if (s >= end || h->base_off > (UINT64_MAX >> 8))
				return damaged(r, "delta base offset runs off the pack", off);
			c = *s++;
			h->base_off = (h->base_off << 7) + (c & 0x7f) + ((c & 0x80) ? 1 : 0);
		} while (c & 0x80);
		if (h->base_off == 0 || h->base_off > off - 12)
			return damaged(r, "delta base outside the pack", off);
		h->base_off = off - h->base_off;
	} else if (h->t == OBJ_REF_DELTA) {
		if (end - s < 20)
			return damaged(r, "delta base id runs off the pack", off);
		h->base_id = s;
		s += 20;
	} else if (h->t < GKV_OBJ_COMMIT || h->t > GKV_OBJ_TAG) {
		return damaged(r, "bad object type", off);
	}
	h->data = s;
	return 0;
}

/* ---- the delta base cache ---- */

#define BASE_SLOTS 4096
#define BASE_BYTES ((size_t)32 << 20)

struct gkv__git_base {
	uint64_t pack; /* the pack's serial; 0: empty */
	uint64_t off;
	unsigned char *data;
	size_t len;
	gkv_otype type;
};

static struct gkv__git_base *base_slot(gkv__git_packs *ps, const gkv__git_packfile *p,
				       uint64_t off)
{
	uint64_t h = (off ^ p->serial << 40) * 0x9e3779b97f4a7c15ull;

	return &ps->bases[h >> 52]; /* the top 12 bits: BASE_SLOTS */
}

static void base_drop(gkv__git_packs *ps, struct gkv__git_base *b)
{
	if (!b->pack)
		return;
	ps->base_bytes -= b->len;
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/* Empty the cache: under the write side of the lock, or at free. */
static void bases_clear(gkv__git_packs *ps)
{
	if (!ps->bases)
		return;
	for (size_t i = 0; i < BASE_SLOTS; i++)
		base_drop(ps, &ps->bases[i]);
	free(ps->bases);
	ps->bases = NULL;
	ps->base_hand = 0;
}

/* A copy of the object at off in p if cached: 1, else 0 (or GKV_E_NOMEM). */
static int base_get(void **data, size_t *len, gkv_otype *type, gkv__git_packs *ps,
		    const gkv__git_packfile *p, uint64_t off)
{
	struct gkv__git_base *b;
	int found = 0;

	pthread_mutex_lock(&ps->block);
	if (ps->bases && (b = base_slot(ps, p, off))->pack == p->serial && b->off == off) {
		if ((*data = gkv_backend_data_alloc(b->len)) != NULL) {
			memcpy(*data, b->data, b->len);
			*len = b->len;
			*type = b->type;
			found = 1;
		} else {
			found = GKV_E_NOMEM;
		}
	}
	pthread_mutex_unlock(&ps->block);
	return found;
}

/* Keep a copy of the object at off in p, a delta's base; nothing if
 * memory is short or it is larger than a quarter of the cache. */
static void base_put(gkv__git_packs *ps, const gkv__git_packfile *p, uint64_t off,
		     const void *data, size_t len, gkv_otype type)
{
	struct gkv__git_base *b;
	unsigned char *copy;

	if (len > BASE_BYTES / 4 || !(copy = malloc(len ? len : 1)))
		return;
	memcpy(copy, data, len);
	pthread_mutex_lock(&ps->block);
	if (!ps->bases && !(ps->bases = calloc(BASE_SLOTS, sizeof(*ps->bases)))) {
		pthread_mutex_unlock(&ps->block);
		free(copy);
		return;
	}
	b = base_slot(ps, p, off);
	base_drop(ps, b);
	while (ps->base_bytes + len > BASE_BYTES) {
		base_drop(ps, &ps->bases[ps->base_hand]);
		ps->base_hand = (ps->base_hand + 1) % BASE_SLOTS;
	}
	b->pack = p->serial;
	b->off = off;
	b->data = copy;
	b->len = len;
	b->type = type;
	ps->base_bytes += len;
	pthread_mutex_unlock(&ps->block);
}

/*
 * The object at off in p, deltas resolved: 0 and *data
 * (gkv_backend_data_alloc), or GKV_E_CORRUPT / GKV_E_NOMEM. crc, if not
 * NULL, is what the .idx says the entry's packed bytes sum to.
 */
static int unpack_at(void **data, size_t *len, gkv_otype *type, const pack_reader *r,
		     const gkv__git_packfile *p, uint64_t off, const uint32_t *crc, int depth)
{
	const unsigned char *start = p->pack + off, *end = p->pack + p->pack_len - 20;
	unsigned char *delta = NULL, *out;
	void *base = NULL;
	size_t used = 0, blen = 0;
	gkv_otype btype;
	entry_head h;
	bool nomem;
	int rc;

	if (depth > MAX_DELTA_DEPTH)
		return damaged(r, "delta chain too long", off);
	if ((rc = parse_head(&h, r, p, off)) < 0)
		return rc;
	if ((rc = inflate_exact(&delta, &used, r, h.data, end, h.size, off)) < 0)
		return rc;
	if (crc && crc32(0, start, (uInt)((size_t)(h.data - start) + used)) != *crc) {
		gkv_backend_data_free(delta);
		return damaged(r, "CRC-32 mismatch", off);
	}
	if (h.t != OBJ_OFS_DELTA && h.t != OBJ_REF_DELTA) {
		*data = delta;
		*len = (size_t)h.size;
		*type = (gkv_otype)h.t;
		return 0;
	}
	if (h.t == OBJ_OFS_DELTA) {
		gkv__git_packs *ps = &r->g->packs;

		if ((rc = base_get(&base, &blen, &btype, ps, p, h.base_off)) == 1) {
			rc = 0;
		} else if (rc == 0 &&
			   (rc = unpack_at(&base, &blen, &btype, r, p, h.base_off, NULL,
					   depth + 1)) == 0) {
			base_put(ps, p, h.base_off, base, blen, btype);
		}
	} else {
		gkv_oid bid;

		memcpy(bid.id, h.base_id, GKV_OID_RAWSZ);
		rc = find_in_packs(&base, &blen, &btype, r->g, &bid, depth + 1);
		if (rc == 0) /* not in a pack: a loose base (a thin pack completed by hand) */
			rc = gkv__git_loose_read(&base, &blen, &btype, r->g, &bid);
		rc = rc == 1 ? 0 : rc == 0 ? damaged(r, "delta base missing", off) : rc;
	}
	if (rc < 0) {
		gkv_backend_data_free(delta);
		return rc;
	}
	out = delta_apply(len, &nomem, base, blen, delta, (size_t)h.size);
	gkv_backend_data_free(delta);
	gkv_backend_data_free(base);
	if (!out)
		return nomem ? gkv__oom() : damaged(r, "delta does not apply to its base", off);
	*data = out;
	*type = btype;
	return 0;
}

/* ---- headers: type and size without inflating the object ---- */

/*
 * The size of the object a delta makes: the second of the two sizes that
 * open the delta, so only its first bytes are inflated (at most 20: two
 * sizes of at most 10 bytes each), as git's cat-file --batch-check reads
 * it. 0, or GKV_E_CORRUPT / GKV_E_NOMEM.
 */
static int delta_result_size(uint64_t *out, const pack_reader *r, const gkv__git_packfile *p,
			     const entry_head *h, uint64_t off)
{
	const unsigned char *end = p->pack + p->pack_len - 20, *d;
	unsigned char buf[20];
	size_t want = h->size < sizeof(buf) ? (size_t)h->size : sizeof(buf), got;
	uint64_t bsize;
	z_stream *zs;
	int zrc;

	if (!(zs = zs_get(&r->g->packs)))
		return gkv__oom();
	inflateReset(zs);
	zs->next_in = (unsigned char *)h->data;
	zs->avail_in = (uInt)((uint64_t)(end - h->data) < UINT32_MAX ? (uint64_t)(end - h->data)
								       : UINT32_MAX);
	zs->next_out = buf;
	zs->avail_out = (uInt)want;
	zrc = inflate(zs, Z_SYNC_FLUSH);
	got = want - zs->avail_out;
	zs_put(&r->g->packs, zs);
	d = buf;
	if ((zrc != Z_OK && zrc != Z_STREAM_END && zrc != Z_BUF_ERROR) ||
	    !delta_size(&bsize, &d, buf + got) || !delta_size(out, &d, buf + got))
		return damaged(r, "delta header damaged", off);
	return 0;
}

static int header_in_packs(uint64_t *size, gkv_otype *type, gkv__git *g, const gkv_oid *id,
			   int depth);

/*
 * The type and (size not NULL) the size of the object at off in p, from
 * headers alone: an object stored whole says both in its entry's header;
 * a delta says its result's size in its first bytes, and its type is
 * its base's, found down the chain by the bases' headers. Nothing is
 * checked beyond the headers read (a read of the object checks it all).
 * 0, or GKV_E_CORRUPT / GKV_E_NOMEM.
 */
static int header_at(uint64_t *size, gkv_otype *type, const pack_reader *r,
		     const gkv__git_packfile *p, uint64_t off, int depth)
{
	entry_head h;
	gkv_oid bid;
	int rc;

	for (;; depth++) {
		if (depth > MAX_DELTA_DEPTH)
			return damaged(r, "delta chain too long", off);
		if ((rc = parse_head(&h, r, p, off)) < 0)
			return rc;
		if (h.t != OBJ_OFS_DELTA && h.t != OBJ_REF_DELTA) {
			/* deflate expands at most ~1032:1 (as inflate_exact) */
			if (size && h.size > (uint64_t)(p->pack + p->pack_len - 20 - h.data) * 1032 + 64)
				return damaged(r, "size larger than its data can hold", off);
			if (size)
				*size = h.size;
			*type = (gkv_otype)h.t;
			return 0;
		}
		if (size && (rc = delta_result_size(size, r, p, &h, off)) < 0)
			return rc;
		size = NULL; /* the base's type is all that is left to find */
		if (h.t == OBJ_OFS_DELTA) {
			off = h.base_off;
			continue;
		}
		memcpy(bid.id, h.base_id, GKV_OID_RAWSZ);
		rc = header_in_packs(NULL, type, r->g, &bid, depth + 1);
		if (rc == 0) { /* not in a pack: a loose base */
			uint64_t bsize;

			rc = gkv__git_loose_header(&bsize, type, r->g, &bid);
		}
		return rc == 1 ? 0 : rc == 0 ? damaged(r, "delta base missing", off) : rc;
	}
}

/* Under the read side of the lock: 1 if a pack has id (its header read),
 * 0 if none does, or a negative code from the first pack that has it. */
static int header_in_packs(uint64_t *size, gkv_otype *type, gkv__git *g, const gkv_oid *id,
			   int depth)
{
	gkv__git_packs *ps = &g->packs;
	int first_err = 0;

	for (size_t i = 0; i < ps->n; i++) {
		pack_reader r = {g, id, ps->list[i]->name};
		uint32_t k;
		int rc;

		if (!find_entry(&k, ps->list[i], id->id))
			continue;
		rc = header_at(size, type, &r, ps->list[i], entry_offset(ps->list[i], k), depth);
		if (rc == 0)
			return 1;
		if (rc == GKV_E_NOMEM)
			return rc;
		if (!first_err)
			first_err = rc;
	}
	return first_err;
}

int gkv__git_pack_header(uint64_t *size, gkv_otype *type, gkv__git *g, const gkv_oid *id)
{
	int rc;

	pthread_rwlock_rdlock(&g->packs.lock);
	rc = header_in_packs(size, type, g, id, 0);
	pthread_rwlock_unlock(&g->packs.lock);
	return rc;
}

/* One pack's read of an entry it has: 1, or a negative code. */
static int read_entry(void **data, size_t *len, gkv_otype *type, gkv__git *g,
		      const gkv__git_packfile *p, uint32_t i, const gkv_oid *id, int depth)
{
	pack_reader r = {g, id, p->name};
	uint32_t crc = be32(p->crcs + (size_t)i * 4);
	char hex[GKV_OID_HEXSZ + 1];
	int rc = unpack_at(data, len, type, &r, p, entry_offset(p, i), &crc, depth);
	const unsigned char *e = p->pack + entry_offset(p, i);

	if (rc < 0)
		return rc;
	if (((*e >> 4) & 7) < OBJ_OFS_DELTA)
		return 1;
	/* a delta's base had no CRC of its own to check: the result must be
	 * the object asked for */
	if (gkv__git_verify_id(id, *type, *data, *len) == 0)
		return 1;
	gkv_backend_data_free(*data);
	*data = NULL;
	gkv__backend_hex(hex, id);
	return gkv_error_set(GKV_E_CORRUPT,
			     "object %s in git repository '%s' is corrupt: its delta in "
			     "objects/pack/%s does not rebuild it",
			     hex, g->path, p->name);
}

/* Under the read side of the lock: 1 if found, 0 if no pack has it, or a
 * negative code (the first pack holding it is damaged there). */
static int find_in_packs(void **data, size_t *len, gkv_otype *type, gkv__git *g,
			 const gkv_oid *id, int depth)
{
	gkv__git_packs *ps = &g->packs;
	int first_err = 0;

	for (size_t i = 0; i < ps->n; i++) {
		uint32_t k;
		int rc;

		if (!find_entry(&k, ps->list[i], id->id))
			continue;
		if ((rc = read_entry(data, len, type, g, ps->list[i], k, id, depth)) == 1)
			return 1;
		if (rc == GKV_E_NOMEM)
			return rc;
		/* git allows an object in several packs: another may be whole */
		if (!first_err)
			first_err = rc;
	}
	return first_err;
}

static int lookup(void **data, size_t *len, gkv_otype *type, gkv__git *g, const gkv_oid *id)
{
	int rc;

	pthread_rwlock_rdlock(&g->packs.lock);
	rc = find_in_packs(data, len, type, g, id, 0);
	pthread_rwlock_unlock(&g->packs.lock);
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
	ps->bad[0] = '\0';
	while ((e = readdir(d)) != NULL) {
		const char *why;

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
			/* not an error: the next miss scans again */
			gkv_error_clear();
			ps->racy = true;
			break;
		}
		if ((p = open_pack(&why, dirfd(d), e->d_name)) != NULL) {
			p->serial = ++ps->serials;
			ps->list[ps->n++] = p;
		}
		else if (why && !ps->bad[0])
			snprintf(ps->bad, sizeof(ps->bad), "pack index objects/pack/%.100s: %s",
				 e->d_name, why);
	}
	closedir(d);
	for (size_t i = 0; i < ps->n; i++) {
		if (ps->list[i]->seen)
			ps->list[k++] = ps->list[i];
		else
			unmap_pack(ps->list[i]);
	}
	if (k < ps->n) /* memory for packs no longer read */
		bases_clear(ps);
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
	int rc = lookup(data, len, type, g, id);

	if (rc != 0 || !rescan(&g->packs))
		return rc;
	return lookup(data, len, type, g, id);
}

int gkv__git_packs_damaged(gkv__git *g, const gkv_oid *id)
{
	gkv__git_packs *ps = &g->packs;
	char hex[GKV_OID_HEXSZ + 1];
	int rc = 0;

	pthread_rwlock_rdlock(&ps->lock);
	if (ps->bad[0]) {
		gkv__backend_hex(hex, id);
		rc = gkv_error_set(GKV_E_CORRUPT,
				   "object %s not found in git repository '%s', whose %s", hex,
				   g->path, ps->bad);
	}
	pthread_rwlock_unlock(&ps->lock);
	return rc;
}

int gkv__git_pack_foreach(gkv__git *g, int (*cb)(const gkv_oid *id, void *payload),
			  void *payload)
{
	gkv__git_packs *ps = &g->packs;
	int rc = 0;

	(void)rescan(ps);
	pthread_rwlock_rdlock(&ps->lock);
	for (size_t i = 0; i < ps->n && rc == 0; i++)
		for (uint32_t k = 0; k < ps->list[i]->n && rc == 0; k++)
			rc = cb((const gkv_oid *)(ps->list[i]->ids + (size_t)k * 20), payload);
	pthread_rwlock_unlock(&ps->lock);
	return rc;
}

void gkv__git_packs_refresh(gkv__git *g)
{
	(void)rescan(&g->packs);
}

int gkv__git_pack_has(gkv__git *g, const gkv_oid *id)
{
	gkv__git_packs *ps = &g->packs;
	bool found = false;

	pthread_rwlock_rdlock(&ps->lock);
	for (size_t i = 0; i < ps->n && !found; i++) {
		uint32_t k;

		found = find_entry(&k, ps->list[i], id->id);
	}
	pthread_rwlock_unlock(&ps->lock);
	return found;
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
	pthread_mutex_init(&ps->block, NULL);
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
	bases_clear(ps);
	pthread_rwlock_destroy(&ps->lock);
	pthread_mutex_destroy(&ps->zlock);
	pthread_mutex_destroy(&ps->block);
}

/* ---- writing: the pack stream and its index ---- */

/*
 * Objects are compressed whole with libdeflate at level 1: zlib streams
 * as git writes them, at four to five times the speed of zlib's default
 * level (the one git uses for packs) on source files, for some 10% more
 * bytes. A pack written here has no deltas anyway (git gc makes them);
 * what it must be is quick to write, as a bulk load or a copy of a whole
 * history is.
 */
#define PACK_LEVEL 1

typedef struct {
	gkv__git *g;
	int fd;
	uint64_t written; /* bytes in the file so far */
	sha1_ctx sha;
	gkv__sbuf buf; /* written to fd when it holds FLUSH_AT bytes */
	struct libdeflate_compressor *z; /* made at the first object */
	uint64_t *offsets; /* of object i */
	uint32_t *crcs;	   /* of object i's packed bytes */
} pack_out;

static bool want_fsync(void)
{
	return gkv__git_fsync_users() > 0;
}

static int io_error(const gkv__git *g, const char *what, const char *file)
{
	int e = errno;

	return gkv_error_set(e == ENOSPC || e == EDQUOT ? GKV_E_FULL : GKV_E_IO,
			     "git repository '%s': cannot %s '%s': %s", g->path, what, file,
			     strerror(e));
}

int gkv__git_write_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int flush(pack_out *po)
{
	if (po->buf.size == 0)
		return 0;
	sha1_update(&po->sha, po->buf.ptr, po->buf.size);
	if (gkv__git_write_all(po->fd, po->buf.ptr, po->buf.size) < 0)
		return io_error(po->g, "write the pack", "objects/pack/tmp_pack");
	po->written += po->buf.size;
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

/* One object's entry, at *off, its packed bytes' CRC-32 into *crcp. */
static int put_bytes(pack_out *po, gkv_otype type, const void *data, size_t len, uint64_t *off,
		     uint32_t *crcp)
{
	size_t mark = po->buf.size; /* where the object's bytes start in buf */
	size_t bound, clen;
	int rc;

	/* the pack format takes any size; 4 GiB is where we stop */
	if (len > 0xffffffffu)
		return gkv_error_set(GKV_E_INVALID, "object of %zu bytes is too large for a pack",
				     len);
	if (!po->z && !(po->z = libdeflate_alloc_compressor(PACK_LEVEL)))
		return gkv__oom();
	*off = po->written + mark;
	bound = libdeflate_zlib_compress_bound(po->z, len);
	if ((rc = put_header(po, type, len)) < 0 || (rc = gkv__sbuf_grow(&po->buf, bound)) < 0)
		return rc;
	clen = libdeflate_zlib_compress(po->z, data, len, po->buf.ptr + po->buf.size, bound);
	if (!clen)
		return gkv_error_set(GKV_E_ERROR, "git repository '%s': compression failed",
				     po->g->path);
	po->buf.size += clen;
	*crcp = (uint32_t)crc32_z(0, po->buf.ptr + mark, po->buf.size - mark);
	if (po->buf.size >= FLUSH_AT)
		return flush(po);
	return 0;
}

static int put_object(pack_out *po, const gkv__git_obj *o, size_t i)
{
	return put_bytes(po, o->type, o->data, o->len, &po->offsets[i], &po->crcs[i]);
}

/* The pack into po->fd; its checksum into sum. */
static int put_pack(unsigned char sum[20], pack_out *po, gkv__git_obj **objs, size_t n)
{
	unsigned char head[12] = {'P', 'A', 'C', 'K', 0, 0, 0, 2};
	int rc;

	for (int i = 0; i < 4; i++)
		head[8 + i] = (unsigned char)((uint32_t)n >> (24 - 8 * i));
	if ((rc = gkv__sbuf_put(&po->buf, head, sizeof(head))) < 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		if ((rc = put_object(po, objs[i], i)) < 0)
			return rc;
	if ((rc = flush(po)) < 0)
		return rc;
	sha1_final(sum, &po->sha);
	if (gkv__git_write_all(po->fd, sum, 20) < 0)
		return io_error(po->g, "write the pack", "objects/pack/tmp_pack");
	return 0;
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/*
 * The .idx (version 2, layout above the reader below) of the n objects,
 * sorted by id, whose offsets and CRCs po recorded: malloc()ed into *out.
 */
static const unsigned char *obj_id(const void *ids, size_t i)
{
	return (*((gkv__git_obj *const *)ids + i))->id.id;
}

static int build_idx(unsigned char **out, size_t *outlen, const pack_out *po,
		     const unsigned char *(*id_of)(const void *ids, size_t i), const void *ids,
		     size_t n, const unsigned char sum[20])
{
	size_t n64 = 0, len, k = 0;
	uint32_t fan[256] = {0};
	unsigned char *idx, *p;
	sha1_ctx sha;

	for (size_t i = 0; i < n; i++)
		n64 += po->offsets[i] >= 0x80000000u;
	len = IDX_HEAD + n * 28 + n64 * 8 + 40;
	if (!(idx = calloc(1, len)))
		return gkv__oom();
	memcpy(idx, "\377tOc\0\0\0\2", 8);
	for (size_t i = 0; i < n; i++)
		fan[id_of(ids, i)[0]]++;
	for (int b = 0; b < 256; b++) {
		if (b)
			fan[b] += fan[b - 1];
		put32(idx + 8 + 4 * b, fan[b]);
	}
	p = idx + IDX_HEAD;
	for (size_t i = 0; i < n; i++, p += 20)
		memcpy(p, id_of(ids, i), 20);
	for (size_t i = 0; i < n; i++, p += 4)
		put32(p, po->crcs[i]);
	for (size_t i = 0; i < n; i++, p += 4)
		put32(p, po->offsets[i] < 0x80000000u ? (uint32_t)po->offsets[i]
						      : 0x80000000u | (uint32_t)k++);
	for (size_t i = 0; i < n; i++)
		if (po->offsets[i] >= 0x80000000u) {
			put32(p, (uint32_t)(po->offsets[i] >> 32));
			put32(p + 4, (uint32_t)po->offsets[i]);
			p += 8;
		}
	memcpy(p, sum, 20);
	sha1_init(&sha);
	sha1_update(&sha, idx, len - 20);
	sha1_final(idx + len - 20, &sha);
	*out = idx;
	*outlen = len;
	return 0;
}

/* A new temporary file in objects/pack (made if missing): fd, or -1. */
static int tmp_file(char *path, size_t cap, const gkv__git *g, const char *stem)
{
	int fd;

	snprintf(path, cap, "%s/tmp_%s_XXXXXX", g->packs.dirpath, stem);
	if ((fd = mkstemp(path)) < 0 && errno == ENOENT &&
	    gkv__git_make_dir(g, g->packs.dirpath) == 0) {
		/* mkstemp leaves the template changed when it fails */
		snprintf(path, cap, "%s/tmp_%s_XXXXXX", g->packs.dirpath, stem);
		fd = mkstemp(path);
	}
	return fd;
}

/* Read-only as git leaves packs, synced if asked, closed (in any case). */
static int finish_file(const gkv__git *g, int fd, const char *path)
{
	int rc = 0;

	if (fchmod(fd, 0444) < 0 || gkv__git_share_fd(g, fd) < 0 ||
	    (want_fsync() && fsync(fd) < 0))
		rc = io_error(g, "write", path);
	if (close(fd) < 0 && rc == 0)
		rc = io_error(g, "write", path);
	return rc;
}

static int sync_dir(const gkv__git *g)
{
	int fd, rc = 0;

	if (!want_fsync())
		return 0;
	if ((fd = open(g->packs.dirpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fsync(fd) < 0)
		rc = io_error(g, "sync", g->packs.dirpath);
	if (fd >= 0)
		close(fd);
	return rc;
}

/*
 * Pack, then index, each into a temporary file, then renamed into place
 * in that order, as git does: readers look for packs through their
 * .idx, so nothing is visible before both are complete, and a crash
 * leaves at worst a tmp_* file (which git gc removes in time). The pack
 * is named after its checksum, as libgit2's indexer and git name theirs.
 */
static int place_idx(const gkv__git *g, pack_out *po,
		     const unsigned char *(*id_of)(const void *ids, size_t i), const void *ids,
		     size_t n, const unsigned char sum[20], char *pack_tmp, char *idx_tmp,
		     size_t cap);

static int place_pack(const gkv__git *g, pack_out *po, gkv__git_obj **objs, size_t n,
		      char *pack_tmp, char *idx_tmp, size_t cap)
{
	unsigned char sum[20];
	int rc;

	if ((rc = put_pack(sum, po, objs, n)) < 0)
		return rc;
	return place_idx(g, po, obj_id, objs, n, sum, pack_tmp, idx_tmp, cap);
}

/* The pack in po->fd is complete, its checksum sum: close it, write its
 * index from the ids (id_of(ids, i), sorted) and po's offsets and CRCs,
 * and rename both into place. */
static int place_idx(const gkv__git *g, pack_out *po,
		     const unsigned char *(*id_of)(const void *ids, size_t i), const void *ids,
		     size_t n, const unsigned char sum[20], char *pack_tmp, char *idx_tmp,
		     size_t cap)
{
	unsigned char *idx = NULL;
	char final[PATH_MAX], hex[41];
	size_t idxlen = 0;
	int rc, fd;

	fd = po->fd;
	po->fd = -1;
	if ((rc = finish_file(g, fd, pack_tmp)) < 0 ||
	    (rc = build_idx(&idx, &idxlen, po, id_of, ids, n, sum)) < 0)
		return rc;
	if ((fd = tmp_file(idx_tmp, cap, g, "idx")) < 0) {
		free(idx);
		return io_error(g, "create a file in", g->packs.dirpath);
	}
	rc = gkv__git_write_all(fd, idx, idxlen) < 0 ? io_error(g, "write", idx_tmp) : 0;
	free(idx);
	if ((rc = rc < 0 ? (close(fd), rc) : finish_file(g, fd, idx_tmp)) < 0)
		return rc;
	for (int i = 0; i < 20; i++)
		sprintf(hex + 2 * i, "%02x", sum[i]);
	snprintf(final, sizeof(final), "%s/pack-%s.pack", g->packs.dirpath, hex);
	if (rename(pack_tmp, final) < 0)
		return io_error(g, "move a pack to", final);
	pack_tmp[0] = '\0';
	snprintf(final, sizeof(final), "%s/pack-%s.idx", g->packs.dirpath, hex);
	if (rename(idx_tmp, final) < 0)
		return io_error(g, "move a pack index to", final);
	idx_tmp[0] = '\0';
	return sync_dir(g);
}

int gkv__git_write_pack(gkv__git *g, gkv__git_obj **objs, size_t n)
{
	char pack_tmp[PATH_MAX] = "", idx_tmp[PATH_MAX] = "";
	pack_out po;
	int rc;

	memset(&po, 0, sizeof(po));
	po.g = g;
	po.fd = -1;
	sha1_init(&po.sha);
	po.offsets = malloc(n * sizeof(*po.offsets));
	po.crcs = malloc(n * sizeof(*po.crcs));
	if (!po.offsets || !po.crcs)
		rc = gkv__oom();
	else if ((po.fd = tmp_file(pack_tmp, sizeof(pack_tmp), g, "pack")) < 0)
		rc = io_error(g, "create a file in", g->packs.dirpath);
	else
		rc = place_pack(g, &po, objs, n, pack_tmp, idx_tmp, sizeof(idx_tmp));
	if (po.fd >= 0)
		close(po.fd);
	if (pack_tmp[0])
		unlink(pack_tmp); /* still there: the pack never got in place */
	if (idx_tmp[0])
		unlink(idx_tmp);
	if (rc == 0)
		gkv__git_packs_changed(g);
	libdeflate_free_compressor(po.z);
	gkv__sbuf_free(&po.buf);
	free(po.offsets);
	free(po.crcs);
	return rc;
}

/* ---- a pack written as a large batch goes ---- */

/*
 * A batch past GKV__GIT_STREAM_AT bytes of objects stops holding them:
 * each goes into a temporary pack in objects/pack as it comes (an
 * object already streamed, or already in the repository, is skipped),
 * and only its id, offset and CRC are kept. At commit the pack's header
 * gets its count, the file is hashed again for its checksum (the count
 * is in the first bytes, so the running hash cannot be used), its index
 * is written, and both are renamed into place as any pack of ours. A
 * store-to-store copy of libgit2's history into a git store held 2.4 GiB
 * of objects until its commit before.
 */
struct gkv__git_stream {
	gkv__git *g;
	pack_out po;
	char pack_tmp[PATH_MAX];
	struct sent {
		gkv_oid id;
		uint64_t off;
		uint32_t crc;
	} *ents;
	size_t n, cap;
	uint32_t *slots; /* open addressing over ents: index + 1, 0 empty */
	size_t nslots;
};

static const unsigned char *ent_id(const void *ents, size_t i)
{
	return ((const struct sent *)ents)[i].id.id;
}

static int sent_cmp(const void *a, const void *b)
{
	return memcmp(((const struct sent *)a)->id.id, ((const struct sent *)b)->id.id,
		      GKV_OID_RAWSZ);
}

static size_t slot_of(const gkv_oid *id, size_t nslots)
{
	uint64_t h;

	memcpy(&h, id->id, sizeof(h));
	return (size_t)(h & (nslots - 1));
}

/* The slot of id, or of the empty one where it would go. */
static uint32_t *find_slot(gkv__git_stream *st, const gkv_oid *id)
{
	size_t i = slot_of(id, st->nslots);

	while (st->slots[i] && memcmp(st->ents[st->slots[i] - 1].id.id, id->id, GKV_OID_RAWSZ))
		i = (i + 1) & (st->nslots - 1);
	return &st->slots[i];
}

static int grow_slots(gkv__git_stream *st)
{
	size_t n = st->nslots ? st->nslots * 2 : 4096;
	uint32_t *old = st->slots;
	size_t oldn = st->nslots;

	if (!(st->slots = calloc(n, sizeof(*st->slots)))) {
		st->slots = old;
		return gkv__oom();
	}
	st->nslots = n;
	for (size_t i = 0; i < oldn; i++)
		if (old[i])
			*find_slot(st, &st->ents[old[i] - 1].id) = old[i];
	free(old);
	return 0;
}

static void pack_out_free(pack_out *po)
{
	if (po->fd >= 0)
		close(po->fd);
	libdeflate_free_compressor(po->z);
	gkv__sbuf_free(&po->buf);
	free(po->offsets);
	free(po->crcs);
}

void gkv__git_stream_abort(gkv__git_stream *st)
{
	if (!st)
		return;
	pack_out_free(&st->po);
	if (st->pack_tmp[0])
		unlink(st->pack_tmp);
	free(st->ents);
	free(st->slots);
	free(st);
}

int gkv__git_stream_open(gkv__git_stream **out, gkv__git *g)
{
	static const unsigned char head[12] = {'P', 'A', 'C', 'K', 0, 0, 0, 2}; /* count later */
	gkv__git_stream *st = calloc(1, sizeof(*st));
	int rc;

	*out = NULL;
	if (!st)
		return gkv__oom();
	st->g = g;
	st->po.g = g;
	sha1_init(&st->po.sha);
	if ((st->po.fd = tmp_file(st->pack_tmp, sizeof(st->pack_tmp), g, "pack")) < 0) {
		st->pack_tmp[0] = '\0';
		rc = io_error(g, "create a file in", g->packs.dirpath);
	} else {
		rc = gkv__sbuf_put(&st->po.buf, head, sizeof(head));
	}
	if (rc < 0) {
		gkv__git_stream_abort(st);
		return rc;
	}
	*out = st;
	return 0;
}

int gkv__git_stream_put(gkv__git_stream *st, const gkv_oid *id, gkv_otype type, const void *data,
			size_t len)
{
	uint32_t *slot;
	struct sent *e;
	int rc;

	if ((st->n + 1) * 2 > st->nslots && (rc = grow_slots(st)) < 0)
		return rc;
	if (*(slot = find_slot(st, id)))
		return 0; /* streamed already */
	if ((rc = gkv__git_exists(&st->g->parent, id)) != 0)
		return rc < 0 ? rc : 0; /* the repository has it */
	if (st->n >= 0xffffffffu)
		return gkv_error_set(GKV_E_INVALID, "too many objects for one pack");
	if ((rc = gkv__backend_grow((void **)&st->ents, &st->cap, st->n, sizeof(*st->ents))) < 0)
		return rc;
	e = &st->ents[st->n];
	e->id = *id;
	if ((rc = put_bytes(&st->po, type, data, len, &e->off, &e->crc)) < 0)
		return rc;
	*slot = (uint32_t)++st->n;
	return 0;
}

/* Hash the pack file again from its start, now that its header holds
 * the count, and end it with the checksum: sum. */
static int seal(unsigned char sum[20], gkv__git_stream *st)
{
	pack_out *po = &st->po;
	unsigned char head[4], *buf;
	uint64_t at = 0;
	sha1_ctx sha;
	int rc = 0;

	for (int i = 0; i < 4; i++)
		head[i] = (unsigned char)((uint32_t)st->n >> (24 - 8 * i));
	if ((rc = flush(po)) < 0)
		return rc;
	if (pwrite(po->fd, head, 4, 8) != 4)
		return io_error(st->g, "write the pack", st->pack_tmp);
	if (!(buf = malloc(FLUSH_AT)))
		return gkv__oom();
	sha1_init(&sha);
	while (at < po->written && rc == 0) {
		size_t want = po->written - at < FLUSH_AT ? (size_t)(po->written - at) : FLUSH_AT;
		ssize_t got = pread(po->fd, buf, want, (off_t)at);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			rc = io_error(st->g, "read back the pack", st->pack_tmp);
		else {
			sha1_update(&sha, buf, (size_t)got);
			at += (uint64_t)got;
		}
	}
	free(buf);
	if (rc < 0)
		return rc;
	sha1_final(sum, &sha);
	if (gkv__git_write_all(po->fd, sum, 20) < 0)
		return io_error(st->g, "write the pack", st->pack_tmp);
	return 0;
}

int gkv__git_stream_finish(gkv__git_stream *st)
{
	char idx_tmp[PATH_MAX] = "";
	unsigned char sum[20];
	pack_out *po = &st->po;
	int rc = 0;

	if (st->n == 0) { /* everything was there already */
		gkv__git_stream_abort(st);
		return 0;
	}
	qsort(st->ents, st->n, sizeof(*st->ents), sent_cmp);
	if (!(po->offsets = malloc(st->n * sizeof(*po->offsets))) ||
	    !(po->crcs = malloc(st->n * sizeof(*po->crcs))))
		rc = gkv__oom();
	for (size_t i = 0; rc == 0 && i < st->n; i++) {
		po->offsets[i] = st->ents[i].off;
		po->crcs[i] = st->ents[i].crc;
	}
	if (rc == 0 && (rc = seal(sum, st)) == 0)
		rc = place_idx(st->g, po, ent_id, st->ents, st->n, sum, st->pack_tmp, idx_tmp,
			       sizeof(idx_tmp));
	if (idx_tmp[0])
		unlink(idx_tmp);
	if (rc == 0)
		gkv__git_packs_changed(st->g);
	gkv__git_stream_abort(st); /* unlinks the pack only if it is not in place */
	return rc;
}

/* Copy the file at src into a new temporary file of objects/pack, made
 * read-only and synced as a pack of our own: its path into tmp. */
static int copy_in(const gkv__git *g, const char *src, char *tmp, size_t cap, const char *stem)
{
	unsigned char buf[1 << 16];
	int in, out, rc = 0;
	ssize_t n;

	if ((in = open(src, O_RDONLY | O_CLOEXEC)) < 0)
		return gkv_error_set(GKV_E_IO, "git '%s': cannot open %s: %s", g->path, src,
				     strerror(errno));
	if ((out = tmp_file(tmp, cap, g, stem)) < 0) {
		close(in);
		tmp[0] = '\0';
		return io_error(g, "create a file in", g->packs.dirpath);
	}
	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = gkv_error_set(GKV_E_IO, "git '%s': cannot read %s: %s", g->path, src,
					   strerror(errno));
			break;
		}
		if (gkv__git_write_all(out, buf, (size_t)n) < 0) {
			rc = io_error(g, "write", tmp);
			break;
		}
	}
	close(in);
	if (rc < 0) {
		close(out);
		return rc;
	}
	return finish_file(g, out, tmp);
}

int gkv__git_adopt_pack(gkv__git *g, const char *pack_path, const char *idx_path)
{
	char pack_tmp[PATH_MAX] = "", idx_tmp[PATH_MAX] = "", final[PATH_MAX], hex[41];
	unsigned char sum[20];
	struct stat st;
	int fd, rc;

	/* the pack's checksum (its last 20 bytes) names it, as git names packs */
	if ((fd = open(pack_path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0 ||
	    st.st_size < 12 + 20 || pread(fd, sum, 20, st.st_size - 20) != 20) {
		if (fd >= 0)
			close(fd);
		return gkv_error_set(GKV_E_IO, "git '%s': cannot read the pack %s", g->path,
				     pack_path);
	}
	close(fd);
	for (int i = 0; i < 20; i++)
		sprintf(hex + 2 * i, "%02x", sum[i]);
	snprintf(final, sizeof(final), "%s/pack-%s.idx", g->packs.dirpath, hex);
	if (access(final, F_OK) == 0)
		return 0; /* the same pack is in place already */
	rc = copy_in(g, pack_path, pack_tmp, sizeof(pack_tmp), "pack");
	if (rc == 0)
		rc = copy_in(g, idx_path, idx_tmp, sizeof(idx_tmp), "idx");
	if (rc == 0) {
		snprintf(final, sizeof(final), "%s/pack-%s.pack", g->packs.dirpath, hex);
		if (rename(pack_tmp, final) < 0)
			rc = io_error(g, "move a pack to", final);
		else
			pack_tmp[0] = '\0';
	}
	if (rc == 0) {
		snprintf(final, sizeof(final), "%s/pack-%s.idx", g->packs.dirpath, hex);
		if (rename(idx_tmp, final) < 0)
			rc = io_error(g, "move a pack index to", final);
		else
			idx_tmp[0] = '\0';
	}
	if (rc == 0)
		rc = sync_dir(g);
	if (pack_tmp[0])
		unlink(pack_tmp);
	if (idx_tmp[0])
		unlink(idx_tmp);
	gkv__git_packs_changed(g);
	return rc;
}
