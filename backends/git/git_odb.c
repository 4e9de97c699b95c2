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

#include "slab.h"
#include "git_internal.h"

_Static_assert(GIT_OID_RAWSZ == GKV_OID_RAWSZ, "libgit2 and gitkv ids differ in size");

static void to_git(git_oid *out, const gkv_oid *id)
{
	memcpy(out->id, id->id, GKV_OID_RAWSZ);
}

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

/* id through libgit2: loose objects, deltas, alternates, and the errors. */
static int read_libgit2(void **data, size_t *len, gkv_otype *type, gkv__git *g,
			const gkv_oid *id)
{
	char hex[GKV_OID_HEXSZ + 1];
	git_odb_object *obj = NULL;
	git_object_t t;
	git_oid oid;
	size_t size;
	void *copy;
	int rc;

	to_git(&oid, id);
	if ((rc = git_odb_read(&obj, g->odb, &oid)) == GIT_ENOTFOUND) {
		git_error_clear();
		gkv__backend_hex(hex, id);
		return gkv_error_set(GKV_E_NOTFOUND, "object %s not found in git repository '%s'",
				     hex, g->path);
	}
	/* It is there but cannot be read: a bad zlib stream, a truncated
	 * file, bytes that do not hash to the id, a broken pack. */
	if (rc < 0) {
		gkv__backend_hex(hex, id);
		return gkv__git_error(rc, GKV_E_CORRUPT,
				      "object %s in git repository '%s' is unreadable", hex,
				      g->path);
	}
	t = git_odb_object_type(obj);
	size = git_odb_object_size(obj);
	if (t < GIT_OBJECT_COMMIT || t > GIT_OBJECT_TAG) {
		git_odb_object_free(obj);
		gkv__backend_hex(hex, id);
		return gkv_error_set(GKV_E_CORRUPT,
				     "object %s in git repository '%s' has bad type %d", hex,
				     g->path, (int)t);
	}
	if (!(copy = gkv_backend_data_alloc(size))) {
		git_odb_object_free(obj);
		return GKV_E_NOMEM;
	}
	memcpy(copy, git_odb_object_data(obj), size);
	git_odb_object_free(obj);
	*data = copy;
	*len = size;
	*type = (gkv_otype)t;
	return 0;
}

int gkv__git_read(void **data, size_t *len, gkv_otype *type, gkv_backend *b, const gkv_oid *id)
{
	gkv__git *g = (gkv__git *)b;
	int rc;

	if (cache_get(data, len, type, g->cache, id))
		return 0;
	if ((rc = gkv__git_pack_read(data, len, type, g, id)) < 0)
		return rc;
	if (rc == 0 && (rc = read_libgit2(data, len, type, g, id)) < 0)
		return rc;
	cache_put(g->cache, id, *type, *data, *len);
	return 0;
}

int gkv__git_exists(gkv_backend *b, const gkv_oid *id)
{
	gkv__git *g = (gkv__git *)b;
	git_oid oid;

	to_git(&oid, id);
	/* Missing objects make libgit2 look for packs another process wrote. */
	return git_odb_exists(g->odb, &oid) ? 1 : 0;
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

/*
 * git_odb_foreach visits each backend in turn (packs, loose objects,
 * alternates), so an object stored twice (loose and packed, or in two
 * packs) comes twice: collect, sort and drop the repeats. Collecting
 * also lets the callback use the backend freely.
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
	rc = git_odb_foreach(g->odb, collect_cb, &v);
	if (v.oom) {
		free(v.ids);
		return gkv__oom();
	}
	if (rc < 0) {
		free(v.ids);
		return gkv__git_error(rc, GKV_E_IO, "git repository '%s': cannot list objects",
				      g->path);
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
	git_oid oid;
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
	/* Drop repeats and what the repository has. NO_REFRESH: a miss here
	 * need not rescan objects/pack; at worst an object another process
	 * just wrote is written again, which git allows. A large batch asks
	 * its own maps of the packs and the listing of loose objects. */
	for (size_t i = 0; i < n; i++) {
		if (k && memcmp(todo[k - 1]->id.id, todo[i]->id.id, GKV_OID_RAWSZ) == 0)
			continue;
		if (big ? gkv__git_pack_has(g, &todo[i]->id) ||
			      (loose.n && bsearch(&todo[i]->id, loose.ids, loose.n,
						  sizeof(*loose.ids), oid_cmp))
			: (to_git(&oid, &todo[i]->id),
			   git_odb_exists_ext(g->wodb, &oid, GIT_ODB_LOOKUP_NO_REFRESH)))
			continue;
		todo[k++] = todo[i];
	}
	free(loose.ids);
	rc = k >= GKV__GIT_PACK_MIN ? gkv__git_write_pack(g, todo, k) : write_loose(g, todo, k);
	free(todo);
	return rc;
}
