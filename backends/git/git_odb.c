/*
 * git_odb.c -- objects of the git backend, through libgit2's object
 * database: whatever git wrote (loose objects, packs, alternates) is
 * read; gitkv writes loose objects for a small batch and one pack for a
 * large one.
 *
 * Ids: a git repository files every object under the SHA-1 of its bytes,
 * so an object whose given id is not its git id is refused when it joins
 * a batch (the store always passes git ids; only a buggy caller does not).
 *
 * Why packs: a bulk load of 100,000 values as loose objects is 100,000
 * files of a few dozen bytes, each a block on disk and a directory entry,
 * and git gc would pack them anyway. A batch with GKV__GIT_PACK_MIN new
 * objects or more is written as one pack (git_pack.c).
 *
 * Reads look in a cache of small objects first, then in the packs
 * (git_pack.c reads an object stored whole there itself), and only then
 * ask libgit2 (loose objects, deltas, alternates, and the errors).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include <zlib.h>

#include "slab.h"
#include "git_internal.h"
#include "sha1.h"

_Static_assert(GIT_OID_RAWSZ == GKV_OID_RAWSZ, "libgit2 and gitkv ids differ in size");

static const char *type_name(gkv_otype t)
{
	switch (t) {
	case GKV_OBJ_COMMIT:
		return "commit";
	case GKV_OBJ_TREE:
		return "tree";
	case GKV_OBJ_BLOB:
		return "blob";
	case GKV_OBJ_TAG:
		return "tag";
	default:
		return "object";
	}
}

/* ---- the cache of small objects ---- */

/*
 * Objects are immutable under their ids, so a copy never goes stale: an
 * object read once is kept, up to CACHE_BYTES for the handle (entries
 * and their bookkeeping counted), least recently used out first. Only
 * objects of up to CACHE_MAX_OBJECT bytes: values and small trees, whose
 * cost is the inflate and the lookup rather than the copy. (libgit2's
 * own object cache keeps no blobs by default, and its limits are options
 * of the whole process, GIT_OPT_SET_CACHE_OBJECT_LIMIT, which a library
 * has no business changing under its application.)
 *
 * Readers of several threads meet in it, so it is split in CACHE_SHARDS
 * shards by the id's first byte, each with its own mutex, table and
 * list. A failed allocation only means the object is not kept. Entries
 * come from a slab of the cache's own (util/slab.h): huge-page chunks,
 * and an evicted entry's block goes to the next entry of its size class.
 * (From malloc, 100,000 entries of random reads touched 3,300 fresh 4 KiB
 * pages, 64% of the page faults of the reads, at 12-17 us each on a VM.)
 */
#define CACHE_SHARDS 16
#define CACHE_BYTES ((size_t)32 << 20)
#define CACHE_MAX_OBJECT 16384

/* A place in a shard's use order; first in cache_ent, so one is the other. */
typedef struct lru_link {
	struct lru_link *older, *newer;
} lru_link;

typedef struct cache_ent {
	lru_link link;		/* in its shard's use order */
	struct cache_ent *next; /* in its bucket */
	gkv_oid id;
	gkv_otype type;
	size_t len;
	unsigned char data[];
} cache_ent;

typedef struct {
	pthread_mutex_t lock;
	cache_ent **buckets;
	size_t nbuckets, count, bytes;
	lru_link lru; /* lru.newer is the oldest entry, lru.older the newest */
} cache_shard;

struct gkv__git_cache {
	cache_shard shard[CACHE_SHARDS];
	/* every entry's block. One slab for all shards: its lock is held
	 * only to pop or push a block. A slab per shard (no lock shared
	 * between shards) cost 1,700 more page faults, 16 sets of small
	 * chunks, and random reads on git ~5% more time. */
	gkv__slab slab;
};

static size_t ent_cost(size_t len)
{
	return sizeof(cache_ent) + len + sizeof(cache_ent *);
}

static size_t bucket_of(const gkv_oid *id, size_t nbuckets)
{
	uint64_t h;

	memcpy(&h, id->id + 4, sizeof(h));
	return (size_t)(h & (nbuckets - 1));
}

static cache_shard *shard_of(gkv__git_cache *c, const gkv_oid *id)
{
	return &c->shard[id->id[0] % CACHE_SHARDS];
}

static void lru_unlink(cache_ent *e)
{
	e->link.older->newer = e->link.newer;
	e->link.newer->older = e->link.older;
}

static void lru_push(cache_shard *s, cache_ent *e)
{
	e->link.older = s->lru.older;
	e->link.newer = &s->lru;
	s->lru.older->newer = &e->link;
	s->lru.older = &e->link;
}

static cache_ent **find_slot(cache_shard *s, const gkv_oid *id)
{
	cache_ent **p = &s->buckets[bucket_of(id, s->nbuckets)];

	while (*p && memcmp((*p)->id.id, id->id, GKV_OID_RAWSZ) != 0)
		p = &(*p)->next;
	return p;
}

int gkv__git_cache_new(gkv__git_cache **out)
{
	gkv__git_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return gkv__oom();
	if (gkv__slab_init(&c->slab) < 0) {
		free(c);
		return GKV_E_ERROR;
	}
	for (int i = 0; i < CACHE_SHARDS; i++) {
		pthread_mutex_init(&c->shard[i].lock, NULL);
		c->shard[i].lru.older = c->shard[i].lru.newer = &c->shard[i].lru;
	}
	*out = c;
	return 0;
}

void gkv__git_cache_free(gkv__git_cache *c)
{
	if (!c)
		return;
	for (int i = 0; i < CACHE_SHARDS; i++) {
		cache_shard *s = &c->shard[i];

		for (lru_link *e = s->lru.newer, *next; e != &s->lru; e = next) {
			next = e->newer;
			gkv__slab_free(e);
		}
		free(s->buckets);
		pthread_mutex_destroy(&s->lock);
	}
	gkv__slab_free_all(&c->slab);
	free(c);
}

/* A copy of id if the cache has it: true and *data from gkv_backend_data_alloc. */
static bool cache_get(void **data, size_t *len, gkv_otype *type, gkv__git_cache *c,
		      const gkv_oid *id)
{
	cache_shard *s = shard_of(c, id);
	cache_ent *e;
	void *copy = NULL;

	pthread_mutex_lock(&s->lock);
	if (s->nbuckets && (e = *find_slot(s, id)) != NULL &&
	    (copy = gkv_backend_data_alloc(e->len)) != NULL) {
		memcpy(copy, e->data, e->len);
		*len = e->len;
		*type = e->type;
		lru_unlink(e);
		lru_push(s, e);
	}
	pthread_mutex_unlock(&s->lock);
	*data = copy;
	return copy != NULL;
}

static void cache_grow(cache_shard *s)
{
	size_t n = s->nbuckets ? s->nbuckets * 2 : 256;
	cache_ent **b = calloc(n, sizeof(*b));

	if (!b)
		return;
	for (size_t i = 0; i < s->nbuckets; i++)
		for (cache_ent *e = s->buckets[i], *next; e; e = next) {
			size_t k = bucket_of(&e->id, n);

			next = e->next;
			e->next = b[k];
			b[k] = e;
		}
	free(s->buckets);
	s->buckets = b;
	s->nbuckets = n;
}

static void cache_put(gkv__git_cache *c, const gkv_oid *id, gkv_otype type, const void *data,
		      size_t len)
{
	cache_shard *s = shard_of(c, id);
	size_t cost = ent_cost(len), budget = CACHE_BYTES / CACHE_SHARDS;
	cache_ent *e, **slot;

	if (len > CACHE_MAX_OBJECT || !(e = gkv__slab_alloc(&c->slab, sizeof(*e) + len)))
		return;
	e->id = *id;
	e->type = type;
	e->len = len;
	memcpy(e->data, data, len);
	pthread_mutex_lock(&s->lock);
	if (s->count >= s->nbuckets)
		cache_grow(s);
	if (!s->nbuckets || *(slot = find_slot(s, id)) != NULL) {
		pthread_mutex_unlock(&s->lock);
		gkv__slab_free(e);
		return;
	}
	e->next = NULL;
	*slot = e;
	lru_push(s, e);
	s->count++;
	s->bytes += cost;
	while (s->bytes > budget) {
		cache_ent *old = (cache_ent *)s->lru.newer;

		lru_unlink(old);
		*find_slot(s, &old->id) = old->next;
		s->count--;
		s->bytes -= ent_cost(old->len);
		gkv__slab_free(old);
	}
	pthread_mutex_unlock(&s->lock);
}

/* ---- reads ---- */

/*
 * Loose objects are read here, not by libgit2: libgit2 1.5 trusts a loose
 * object's header (one that understates the size overflowed its buffer)
 * and can loop forever on a truncated zlib stream. This reader is bounded
 * throughout: the file is read whole (its size known from fstat), the
 * header "<type> <size>\0" is parsed strictly from the first bytes it
 * inflates, the size must be one the file can hold (deflate expands at
 * most ~1032:1), the output buffer is exactly that size plus one byte,
 * and one inflate call over the whole input must end the stream with
 * exactly that many bytes and no input left over. The object is then
 * re-hashed against its name, as git and libgit2 do for loose objects.
 * Any failure is GKV_E_CORRUPT naming the object and the repository.
 */
#define LOOSE_HEAD_MAX 32 /* "commit " and 20 digits and the NUL fit */

static int loose_damaged(const gkv__git *g, const gkv_oid *id, const char *why)
{
	char hex[GKV_OID_HEXSZ + 1];

	gkv__backend_hex(hex, id);
	return gkv_error_set(GKV_E_CORRUPT,
			     "loose object %s in git repository '%s' is corrupt: %s", hex,
			     g->path, why);
}

/* The type and size of a loose header (hlen bytes, NUL included). */
static bool loose_header(gkv_otype *type, uint64_t *size, const unsigned char *h, size_t hlen)
{
	static const char *const names[] = {"commit", "tree", "blob", "tag"};
	const unsigned char *p = h, *end = h + hlen - 1; /* at the NUL */
	int t;

	for (t = 0; t < 4; t++) {
		size_t n = strlen(names[t]);

		if ((size_t)(end - p) > n && memcmp(p, names[t], n) == 0 && p[n] == ' ') {
			p += n + 1;
			break;
		}
	}
	if (t == 4 || p == end || (*p == '0' && p + 1 != end))
		return false;
	*size = 0;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9' || *size > (UINT64_MAX - 9) / 10)
			return false;
		*size = *size * 10 + (uint64_t)(*p - '0');
	}
	*type = (gkv_otype)(GKV_OBJ_COMMIT + t);
	return true;
}

/* The whole file at fd: *out malloc()ed. 0, or -1 with errno set. */
static int read_file(unsigned char **out, size_t *len, int fd)
{
	struct stat st;
	unsigned char *buf;
	size_t got = 0;

	if (fstat(fd, &st) < 0)
		return -1;
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 || (uint64_t)st.st_size >= UINT32_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (!(buf = malloc((size_t)st.st_size)))
		return -1;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(buf);
			errno = r == 0 ? EINVAL : errno;
			return -1;
		}
		got += (size_t)r;
	}
	*out = buf;
	*len = got;
	return 0;
}

/* Inflate the loose object in z (zlen bytes): 0, or a negative code. */
static int loose_inflate(void **data, size_t *len, gkv_otype *type, const gkv__git *g,
			 const gkv_oid *id, const unsigned char *z, size_t zlen)
{
	unsigned char head[LOOSE_HEAD_MAX], *buf, *nul;
	size_t hlen, extra;
	uint64_t size;
	z_stream zs;
	int zrc, rc = 0;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit(&zs) != Z_OK)
		return gkv__oom();
	zs.next_in = (unsigned char *)z;
	zs.avail_in = (uInt)zlen;
	zs.next_out = head;
	zs.avail_out = sizeof(head);
	zrc = inflate(&zs, Z_SYNC_FLUSH);
	hlen = sizeof(head) - zs.avail_out;
	if ((zrc != Z_OK && zrc != Z_STREAM_END) || !(nul = memchr(head, '\0', hlen)) ||
	    !loose_header(type, &size, head, (size_t)(nul - head) + 1)) {
		inflateEnd(&zs);
		return loose_damaged(g, id, "bad header");
	}
	extra = hlen - (size_t)(nul - head) - 1; /* payload bytes already out */
	if (size >= UINT32_MAX || size > (uint64_t)zlen * 1032 + 64 || extra > size) {
		inflateEnd(&zs);
		return loose_damaged(g, id, "size in its header does not match its data");
	}
	if (!(buf = gkv_backend_data_alloc((size_t)size + 1))) {
		inflateEnd(&zs);
		return GKV_E_NOMEM;
	}
	memcpy(buf, nul + 1, extra);
	if (zrc != Z_STREAM_END) {
		zs.next_out = buf + extra;
		zs.avail_out = (uInt)(size + 1 - extra);
		zrc = inflate(&zs, Z_FINISH);
	}
	if (zrc != Z_STREAM_END || zs.total_out != hlen - extra + size)
		rc = loose_damaged(g, id,
				   zrc == Z_STREAM_END ? "size in its header does not match its data"
						       : "zlib stream damaged or truncated");
	else if (zs.avail_in != 0)
		rc = loose_damaged(g, id, "garbage after its zlib stream");
	else if (gkv__git_verify_id(id, *type, buf, (size_t)size) < 0)
		rc = loose_damaged(g, id, "its contents do not hash to its name");
	inflateEnd(&zs);
	if (rc < 0) {
		gkv_backend_data_free(buf);
		return rc;
	}
	*data = buf;
	*len = (size_t)size;
	return 0;
}

static void loose_path(char *out, size_t cap, const gkv__git *g, const gkv_oid *id)
{
	char hex[GKV_OID_HEXSZ + 1];

	gkv__backend_hex(hex, id);
	snprintf(out, cap, "%sobjects/%.2s/%s", g->commondir, hex, hex + 2);
}

int gkv__git_loose_read(void **data, size_t *len, gkv_otype *type, gkv__git *g,
			const gkv_oid *id)
{
	char path[PATH_MAX];
	unsigned char *z;
	size_t zlen;
	int fd, rc;

	loose_path(path, sizeof(path), g, id);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return gkv_error_set(GKV_E_IO, "git repository '%s': cannot open '%s': %s", g->path,
				     path, strerror(errno));
	}
	rc = read_file(&z, &zlen, fd);
	close(fd);
	if (rc < 0) {
		if (errno == ENOMEM)
			return gkv__oom();
		if (errno == EINVAL)
			return loose_damaged(g, id, "not a regular file of a possible size");
		return gkv_error_set(GKV_E_IO, "git repository '%s': cannot read '%s': %s", g->path,
				     path, strerror(errno));
	}
	rc = loose_inflate(data, len, type, g, id, z, zlen);
	free(z);
	return rc < 0 ? rc : 1;
}

/*
 * Packs first (the bulk of a repository after git gc or a large batch),
 * then the loose object. An object damaged in a pack may still be whole
 * elsewhere (git allows an object in several places), so a damaged copy
 * is reported only when no other copy reads.
 */
int gkv__git_read(void **data, size_t *len, gkv_otype *type, gkv_backend *b, const gkv_oid *id)
{
	gkv__git *g = (gkv__git *)b;
	char hex[GKV_OID_HEXSZ + 1], msg[1024] = "";
	int rc, prc;

	if (cache_get(data, len, type, g->cache, id))
		return 0;
	if ((prc = gkv__git_pack_read(data, len, type, g, id)) == GKV_E_NOMEM)
		return prc;
	if (prc < 0) /* kept: the loose read below may set another */
		snprintf(msg, sizeof(msg), "%s", gkv_error_last());
	if (prc != 1 && (rc = gkv__git_loose_read(data, len, type, g, id)) != 1) {
		if (rc < 0 && (rc != GKV_E_CORRUPT || prc == 0))
			return rc;
		if (prc < 0)
			return gkv_error_set(prc, "%s", msg);
		if ((rc = gkv__git_packs_damaged(g, id)) < 0)
			return rc;
		gkv__backend_hex(hex, id);
		return gkv_error_set(GKV_E_NOTFOUND, "object %s not found in git repository '%s'",
				     hex, g->path);
	}
	cache_put(g->cache, id, *type, *data, *len);
	return 0;
}

/* ---- headers and streams ---- */

#define STREAM_CHUNK ((size_t)64 << 10)

/*
 * One pass over the loose object in fd, a buffer at a time: the file read
 * in 64 KiB pieces (never whole), inflated into 64 KiB. The header is
 * parsed as loose_inflate parses it. With md, every inflated byte (header
 * included: git's id is the SHA-1 of both) is hashed; with cb, the
 * contents are handed over. Either way the stream must end with exactly
 * the size its header gives and nothing after it.
 */
static int loose_pass(gkv_otype *type, uint64_t *size, gkv__git *g, const gkv_oid *id, int fd,
    gkv__sha1_ctx *md, gkv_backend_stream_cb cb, void *payload)
{
	unsigned char *in = malloc(STREAM_CHUNK), *out = malloc(STREAM_CHUNK);
	uint64_t given = 0, hlen = 0;
	off_t at = 0;
	bool ended = false;
	z_stream zs;
	int rc = 0, zrc;

	memset(&zs, 0, sizeof(zs));
	if (!in || !out || inflateInit(&zs) != Z_OK) {
		free(in);
		free(out);
		return gkv__oom();
	}
	while (!ended) {
		ssize_t n = pread(fd, in, STREAM_CHUNK, at);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = gkv_error_set(GKV_E_IO, "git repository '%s': cannot read a loose object: %s",
			    g->path, strerror(errno));
			break;
		}
		if (n == 0) {
			rc = loose_damaged(g, id, "zlib stream damaged or truncated");
			break;
		}
		at += n;
		zs.next_in = in;
		zs.avail_in = (uInt)n;
		do {
			unsigned char *p = out;
			size_t made;

			zs.next_out = out;
			zs.avail_out = (uInt)STREAM_CHUNK;
			zrc = inflate(&zs, Z_NO_FLUSH);
			if (zrc != Z_OK && zrc != Z_STREAM_END && zrc != Z_BUF_ERROR) {
				rc = zrc == Z_MEM_ERROR ? gkv__oom()
						       : loose_damaged(g, id, "zlib stream damaged or truncated");
				goto out;
			}
			ended = zrc == Z_STREAM_END;
			made = STREAM_CHUNK - zs.avail_out;
			if (md && made)
				gkv__sha1_update(md, out, made);
			if (hlen == 0 && made) { /* the header is the first output */
				unsigned char *nul = memchr(out, '\0', made < LOOSE_HEAD_MAX ? made : LOOSE_HEAD_MAX);

				if (!nul || !loose_header(type, size, out, (size_t)(nul - out) + 1) ||
				    *size > (uint64_t)lseek(fd, 0, SEEK_END) * 1032 + 64) {
					rc = loose_damaged(g, id, "bad header");
					goto out;
				}
				hlen = (uint64_t)(nul - out) + 1;
				p = nul + 1;
				made -= (size_t)hlen;
			}
			if (made > *size - given) {
				rc = loose_damaged(g, id, "size in its header does not match its data");
				goto out;
			}
			if (cb && (made || (ended && *size == 0 && given == 0)) &&
			    (rc = cb(*type, *size, p, made, payload)) != 0)
				goto out;
			given += made;
		} while (!ended && (zs.avail_in > 0 || zs.avail_out == 0));
		if (ended && (zs.avail_in > 0 || pread(fd, in, 1, at) != 0))
			rc = loose_damaged(g, id, "garbage after its zlib stream");
	}
	if (rc == 0 && (hlen == 0 || given != *size))
		rc = loose_damaged(g, id, "size in its header does not match its data");
out:
	inflateEnd(&zs);
	free(in);
	free(out);
	return rc;
}

/*
 * A loose object read in two passes: the first hashes it against its name
 * (so that a damaged object gives no byte), the second hands it over.
 * 1 if there is no such file, 0 or a negative code otherwise.
 */
static int loose_stream(gkv__git *g, const gkv_oid *id, gkv_backend_stream_cb cb, void *payload)
{
	unsigned char digest[GKV__SHA1_SIZE];
	char path[PATH_MAX];
	gkv__sha1_ctx md;
	gkv_otype type;
	uint64_t size;
	int fd, rc;

	loose_path(path, sizeof(path), g, id);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 1;
		return gkv_error_set(GKV_E_IO, "git repository '%s': cannot open '%s': %s", g->path,
				     path, strerror(errno));
	}
	gkv__sha1_init(&md);
	if ((rc = loose_pass(&type, &size, g, id, fd, &md, NULL, NULL)) == 0) {
		gkv__sha1_final(digest, &md);
		if (memcmp(digest, id->id, GKV_OID_RAWSZ) != 0)
			rc = loose_damaged(g, id, "its contents do not hash to its name");
		else
			rc = loose_pass(&type, &size, g, id, fd, NULL, cb, payload);
	}
	close(fd);
	return rc;
}

/*
 * Loose objects stream from their file; a packed one (or any read the
 * loose path cannot serve) is read whole and handed over in one piece.
 * Packed objects are bounded by the pack's own checks, not streamed.
 */
int gkv__git_read_stream(gkv_backend *b, const gkv_oid *id, gkv_backend_stream_cb cb,
    void *payload)
{
	gkv__git *g = (gkv__git *)b;
	gkv_otype type;
	void *data;
	size_t len;
	int rc;

	if (gkv__git_pack_has(g, id) != 1 && (rc = loose_stream(g, id, cb, payload)) != 1)
		return rc;
	if ((rc = gkv__git_read(&data, &len, &type, b, id)) < 0)
		return rc;
	rc = cb(type, len, data, len, payload);
	gkv_backend_data_free(data);
	return rc;
}

int gkv__git_loose_header(uint64_t *size, gkv_otype *type, gkv__git *g, const gkv_oid *id)
{
	unsigned char head[LOOSE_HEAD_MAX], z[512], *nul;
	char path[PATH_MAX];
	z_stream zs;
	size_t len;
	ssize_t n;
	int fd, zrc;

	loose_path(path, sizeof(path), g, id);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return gkv_error_set(GKV_E_IO, "git repository '%s': cannot open '%s': %s", g->path,
				     path, strerror(errno));
	}
	n = pread(fd, z, sizeof(z), 0);
	close(fd);
	memset(&zs, 0, sizeof(zs));
	if (n <= 0 || inflateInit(&zs) != Z_OK)
		return loose_damaged(g, id, "unreadable");
	zs.next_in = z;
	zs.avail_in = (uInt)n;
	zs.next_out = head;
	zs.avail_out = sizeof(head);
	zrc = inflate(&zs, Z_SYNC_FLUSH);
	len = sizeof(head) - zs.avail_out;
	inflateEnd(&zs);
	if ((zrc != Z_OK && zrc != Z_STREAM_END && zrc != Z_BUF_ERROR) ||
	    !(nul = memchr(head, '\0', len)) ||
	    !loose_header(type, size, head, (size_t)(nul - head) + 1))
		return loose_damaged(g, id, "bad header");
	return 1;
}

/*
 * Headers only: a packed object's entry header (and, for a delta, the
 * first bytes of the delta and its bases' headers), as git cat-file
 * --batch-check reads them; a loose object's first bytes. When the packs
 * that list the object cannot say (a damaged entry), or no copy is found,
 * the object is read whole, which finds another copy or says what is
 * wrong.
 */
int gkv__git_read_header(uint64_t *size, gkv_otype *type, gkv_backend *b, const gkv_oid *id)
{
	gkv__git *g = (gkv__git *)b;
	void *data;
	size_t len;
	int rc;

	if ((rc = gkv__git_pack_header(size, type, g, id)) == 1)
		return 0;
	if (rc == GKV_E_NOMEM)
		return rc;
	if (rc == 0 && (rc = gkv__git_loose_header(size, type, g, id)) != 0)
		return rc < 0 ? rc : 0;
	if ((rc = gkv__git_read(&data, &len, type, b, id)) < 0)
		return rc;
	gkv_backend_data_free(data);
	*size = len;
	return 0;
}

/* A loose file named id exists (not read: a read checks it). */
static bool loose_exists(const gkv__git *g, const gkv_oid *id)
{
	char path[PATH_MAX];

	loose_path(path, sizeof(path), g, id);
	return access(path, F_OK) == 0;
}

int gkv__git_exists(gkv_backend *b, const gkv_oid *id)
{
	gkv__git *g = (gkv__git *)b;

	if (gkv__git_pack_has(g, id) || loose_exists(g, id))
		return 1;
	/* a miss looks for packs another process wrote */
	gkv__git_packs_refresh(g);
	return gkv__git_pack_has(g, id);
}

/* ---- iteration ---- */

typedef struct {
	gkv_oid *ids;
	size_t n, cap;
	const gkv_oid *prefix;
	size_t hexlen;
	bool oom;
} id_vec;

static int collect_cb(const git_oid *oid, void *payload)
{
	id_vec *v = payload;
	gkv_oid id;

	memcpy(id.id, oid->id, GKV_OID_RAWSZ);
	if (v->hexlen && !gkv__backend_prefix_match(&id, v->prefix, v->hexlen))
		return 0;
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 256;
		gkv_oid *p = realloc(v->ids, cap * sizeof(*p));

		if (!p) {
			v->oom = true;
			return 1;
		}
		v->ids = p;
		v->cap = cap;
	}
	v->ids[v->n++] = id;
	return 0;
}

static int oid_cmp(const void *a, const void *b)
{
	return memcmp(a, b, GKV_OID_RAWSZ);
}

static int collect_id(const gkv_oid *id, void *payload)
{
	return collect_cb((const git_oid *)id, payload);
}

static int loose_ids(id_vec *v, gkv__git *g);

/*
 * The loose objects and the packs' ids (gitkv's own listings, so that
 * libgit2 never reads an .idx this backend has not checked): an object
 * stored twice (loose and packed, or in two packs) comes twice, so
 * collect, sort and drop the repeats. Collecting also lets the callback
 * use the backend freely.
 */
int gkv__git_foreach(gkv_backend *b, const gkv_oid *prefix, size_t prefix_hexlen,
		     gkv_backend_oid_cb cb, void *payload)
{
	gkv__git *g = (gkv__git *)b;
	id_vec v = {NULL, 0, 0, prefix, prefix_hexlen, false};
	size_t k = 0;
	int rc;

	if (prefix_hexlen > GKV_OID_HEXSZ || (prefix_hexlen && !prefix))
		return gkv_error_set(GKV_E_INVALID, "object prefix of %zu hex digits is invalid",
				     prefix_hexlen);
	if ((rc = loose_ids(&v, g)) < 0 ||
	    (rc = gkv__git_pack_foreach(g, collect_id, &v) != 0 ? gkv__oom() : 0) < 0) {
		free(v.ids);
		return rc;
	}
	if (v.n)
		qsort(v.ids, v.n, sizeof(*v.ids), oid_cmp);
	for (size_t i = 0; i < v.n; i++)
		if (k == 0 || memcmp(&v.ids[k - 1], &v.ids[i], GKV_OID_RAWSZ) != 0)
			v.ids[k++] = v.ids[i];
	rc = 0;
	for (size_t i = 0; i < k && rc == 0; i++)
		rc = cb(&v.ids[i], payload);
	free(v.ids);
	return rc;
}

/* ---- writes ---- */

int gkv__git_check_id(const gkv_oid *id, gkv_otype type, const void *data, size_t len)
{
	char want[GKV_OID_HEXSZ + 1], got[GKV_OID_HEXSZ + 1];
	git_oid oid;
	gkv_oid real;
	int rc;

	if (type < GKV_OBJ_COMMIT || type > GKV_OBJ_TAG)
		return gkv_error_set(GKV_E_INVALID, "cannot store an object of type %d in git",
				     (int)type);
	if ((rc = git_odb_hash(&oid, len ? data : "", len, (git_object_t)type)) < 0)
		return gkv__git_error(rc, GKV_E_INVALID, "cannot hash a %s of %zu bytes",
				      type_name(type), len);
	memcpy(real.id, oid.id, GKV_OID_RAWSZ);
	if (memcmp(real.id, id->id, GKV_OID_RAWSZ) == 0)
		return 0;
	gkv__backend_hex(want, id);
	gkv__backend_hex(got, &real);
	return gkv_error_set(
	    GKV_E_INVALID,
	    "object %s: its contents are the %s %s (git files objects under their own ids)", want,
	    type_name(type), got);
}

int gkv__git_verify_id(const gkv_oid *id, gkv_otype type, const void *data, size_t len)
{
	unsigned char sum[GKV__SHA1_SIZE];
	char hdr[48];
	int n;
	gkv__sha1_ctx c;

	if (type < GKV_OBJ_COMMIT || type > GKV_OBJ_TAG)
		return gkv_error_set(GKV_E_INVALID, "an object of type %d is no git object",
				     (int)type);
	n = snprintf(hdr, sizeof(hdr), "%s %zu", type_name(type), len);
	gkv__sha1_init(&c);
	gkv__sha1_update(&c, hdr, (size_t)n + 1);
	gkv__sha1_update(&c, data, len);
	gkv__sha1_final(sum, &c);
	if (memcmp(sum, id->id, GKV_OID_RAWSZ) == 0)
		return 0;
	return gkv_error_set(GKV_E_INVALID, "object: its contents do not hash to its name");
}

static int obj_cmp(const void *a, const void *b)
{
	const gkv__git_obj *x = *(const gkv__git_obj *const *)a,
			   *y = *(const gkv__git_obj *const *)b;

	return memcmp(x->id.id, y->id.id, GKV_OID_RAWSZ);
}

/*
 * Loose objects are written here rather than through git_odb_write,
 * which for every object "freshens" it (a failing utimensat), and, not
 * finding it, rescans objects/pack before writing a temporary file.
 * The format is git's: objects/<2 hex>/<38 hex>, the zlib-deflated
 * "<type> <size>\0<payload>", mode 0444, written to a temporary file in
 * the same folder (tmp_obj_*, git's name, which git gc cleans up) and
 * renamed into place, so a reader finds the whole object or none.
 * Level 1, git's core.looseCompression default. Called under
 * write_lock, so the handle's one stream serves every write.
 */
static int loose_error(const gkv__git *g, const gkv__git_obj *o, const char *what)
{
	char hex[GKV_OID_HEXSZ + 1];
	int e = errno;

	gkv__backend_hex(hex, &o->id);
	return gkv_error_set(e == ENOSPC || e == EDQUOT ? GKV_E_FULL : GKV_E_IO,
			     "git repository '%s': cannot %s %s %s: %s", g->path, what,
			     type_name(o->type), hex, strerror(e));
}

static int deflate_loose(gkv__sbuf *out, gkv__git *g, const gkv__git_obj *o)
{
	char head[48];
	int hlen = snprintf(head, sizeof(head), "%s %zu", type_name(o->type), o->len) + 1;
	z_stream *zs = &g->loose_zs;
	int rc, zrc;

	if (!g->loose_zs_ready) {
		if (deflateInit(zs, 1) != Z_OK)
			return gkv_error_set(GKV_E_NOMEM, "git repository '%s': zlib failed", g->path);
		g->loose_zs_ready = true;
	} else if (deflateReset(zs) != Z_OK) {
		return gkv_error_set(GKV_E_ERROR, "git repository '%s': zlib failed", g->path);
	}
	out->size = 0;
	for (int part = 0; part < 2; part++) {
		zs->next_in = part ? (unsigned char *)o->data : (unsigned char *)head;
		zs->avail_in = part ? (uInt)o->len : (uInt)hlen;
		do {
			if ((rc = gkv__sbuf_grow(out, deflateBound(zs, zs->avail_in) + 64)) < 0)
				return rc;
			zs->next_out = out->ptr + out->size;
			zs->avail_out = (uInt)(out->cap - out->size);
			zrc = deflate(zs, part ? Z_FINISH : Z_NO_FLUSH);
			out->size = out->cap - zs->avail_out;
			if (zrc == Z_STREAM_ERROR)
				return gkv_error_set(GKV_E_ERROR, "git repository '%s': zlib failed",
						     g->path);
		} while (part ? zrc != Z_STREAM_END : zs->avail_in > 0);
	}
	return 0;
}

static int sync_folder(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

static int write_loose_one(gkv__git *g, const gkv__git_obj *o, gkv__sbuf *z)
{
	char hex[GKV_OID_HEXSZ + 1], dir[PATH_MAX], tmp[PATH_MAX + 32], final[PATH_MAX + 64];
	bool sync = gkv__git_fsync_users() > 0;
	int rc, fd;

	if (o->len > 0xffffffffu) /* zlib's uInt */
		return gkv_error_set(GKV_E_INVALID, "object of %zu bytes is too large for git's zlib",
				     o->len);
	if ((rc = deflate_loose(z, g, o)) < 0)
		return rc;
	gkv__backend_hex(hex, &o->id);
	snprintf(dir, sizeof(dir), "%sobjects/%.2s", g->commondir, hex);
	snprintf(tmp, sizeof(tmp), "%s/tmp_obj_XXXXXX", dir);
	snprintf(final, sizeof(final), "%s/%s", dir, hex + 2);
	/* (mkstemp leaves the template changed when it fails: made again) */
	if ((fd = mkstemp(tmp)) < 0 && errno == ENOENT && gkv__git_make_dir(g, dir) == 0) {
		snprintf(tmp, sizeof(tmp), "%s/tmp_obj_XXXXXX", dir);
		fd = mkstemp(tmp);
	}
	if (fd < 0)
		return loose_error(g, o, "create a file for");
	if (gkv__git_write_all(fd, z->ptr, z->size) < 0 || fchmod(fd, 0444) < 0 ||
	    gkv__git_share_fd(g, fd) < 0 || (sync && fsync(fd) < 0)) {
		rc = loose_error(g, o, "write");
		close(fd);
		unlink(tmp);
		return rc;
	}
	if (close(fd) < 0 || rename(tmp, final) < 0) {
		rc = loose_error(g, o, "write");
		unlink(tmp);
		return rc;
	}
	if (sync && sync_folder(dir) < 0)
		return loose_error(g, o, "sync the folder of");
	return 0;
}

static int write_loose(gkv__git *g, gkv__git_obj **objs, size_t n)
{
	gkv__sbuf z = {0};
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++)
		rc = write_loose_one(g, objs[i], &z);
	gkv__sbuf_free(&z);
	return rc;
}

/* Is hex (2 + 38 digits, the folder and file name of a loose object) an id? */
static bool hex_id(gkv_oid *out, const char *dir2, const char *name38)
{
	char hex[GKV_OID_HEXSZ];

	if (strlen(name38) != GKV_OID_HEXSZ - 2)
		return false;
	memcpy(hex, dir2, 2);
	memcpy(hex + 2, name38, GKV_OID_HEXSZ - 2);
	for (int i = 0; i < GKV_OID_RAWSZ; i++) {
		int v = 0;

		for (int j = 0; j < 2; j++) {
			char c = hex[2 * i + j];

			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= c - '0';
			else if (c >= 'a' && c <= 'f')
				v |= c - 'a' + 10;
			else
				return false;
		}
		out->id[i] = (unsigned char)v;
	}
	return true;
}

/*
 * The ids of the loose objects, sorted: for a large batch, a listing of
 * the objects/<xx> folders there are costs less than an access() per
 * object. A loose object written meanwhile by another process may be
 * missed, and then written again into the pack: git allows an object
 * in several places.
 */
static int loose_ids(id_vec *v, gkv__git *g)
{
	char path[PATH_MAX];
	DIR *top, *sub;
	struct dirent *e, *f;
	int rc = 0;

	snprintf(path, sizeof(path), "%sobjects", g->commondir);
	if (!(top = opendir(path)))
		return 0;
	while (rc == 0 && (e = readdir(top)) != NULL) {
		if (strlen(e->d_name) != 2 || !isxdigit((unsigned char)e->d_name[0]) ||
		    !isxdigit((unsigned char)e->d_name[1]))
			continue;
		snprintf(path, sizeof(path), "%sobjects/%s", g->commondir, e->d_name);
		if (!(sub = opendir(path)))
			continue;
		while (rc == 0 && (f = readdir(sub)) != NULL) {
			gkv_oid id;

			if (hex_id(&id, e->d_name, f->d_name))
				rc = collect_cb((const git_oid *)&id, v) ? gkv__oom() : 0;
		}
		closedir(sub);
	}
	closedir(top);
	if (rc == 0 && v->n)
		qsort(v->ids, v->n, sizeof(*v->ids), oid_cmp);
	return rc;
}

int gkv__git_write_objects(gkv__git *g, gkv__git_obj **objs, size_t n)
{
	gkv__git_obj **todo;
	id_vec loose = {NULL, 0, 0, NULL, 0, false};
	bool big = n >= GKV__GIT_PACK_MIN;
	size_t k = 0;
	int rc;

	if (n == 0)
		return 0;
	if (!(todo = malloc(n * sizeof(*todo))))
		return gkv__oom();
	memcpy(todo, objs, n * sizeof(*todo));
	qsort(todo, n, sizeof(*todo), obj_cmp);
	if (big)
		gkv__git_packs_refresh(g);
	if (big && (rc = loose_ids(&loose, g)) < 0) {
		free(todo);
		free(loose.ids);
		return rc;
	}
	/* Drop repeats and what the repository has. A miss here need not
	 * rescan objects/pack; at worst an object another process
	 * just wrote is written again, which git allows. A large batch asks
	 * its own maps of the packs and the listing of loose objects. */
	for (size_t i = 0; i < n; i++) {
		if (k && memcmp(todo[k - 1]->id.id, todo[i]->id.id, GKV_OID_RAWSZ) == 0)
			continue;
		if (big ? gkv__git_pack_has(g, &todo[i]->id) ||
			      (loose.n && bsearch(&todo[i]->id, loose.ids, loose.n,
						  sizeof(*loose.ids), oid_cmp))
			: gkv__git_pack_has(g, &todo[i]->id) || loose_exists(g, &todo[i]->id))
			continue;
		todo[k++] = todo[i];
	}
	free(loose.ids);
	rc = k >= GKV__GIT_PACK_MIN ? gkv__git_write_pack(g, todo, k) : write_loose(g, todo, k);
	free(todo);
	return rc;
}
