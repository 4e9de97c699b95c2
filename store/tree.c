/*
 * tree.c -- persistent trees: the in-memory form of git tree objects that
 * every read and write of the store goes through.
 *
 * A node is either clean (decoded from a stored tree object: its id is
 * known, its entries point at stored objects, it is immutable and may sit
 * in the repo's cache and be shared by threads) or dirty (made by a
 * change: its entries may hold in-memory subtrees and pending values, and
 * its id is computed on demand and remembered).
 *
 * Changes never touch a node somebody else can see. A change copies the
 * root shallowly (the copy holds new references to the children), then
 * walks down the path: a child that is clean or shared (more than one
 * reference) is copied before it is changed, a child held only by the node
 * above is changed in place. So a change costs the depth of its path, the
 * old tree stays valid, and unchanged subtrees are shared. A transaction
 * owns its root and so changes in place along already-copied paths.
 *
 * Names of a clean node sit in the node's own block (node_new_fixed); a
 * copied node gathers the names it keeps into one arena, and a name
 * inserted in place is allocated alone (own = 1). Every block of a node
 * (the node, its arrays, names and pending values) comes from the repo's
 * slab (slab.h), not malloc: freed blocks are reused by the next nodes.
 *
 * Entries are kept in git's order (a directory sorts as "name/"). Each
 * entry's first 8 bytes in that order (name_key) sit in an array of their
 * own, so a binary search reads a few cache lines of keys rather than one
 * entry per probe. A decoded node holds its keys and entries in its own
 * allocation (node_new_fixed): a lookup on a cold node touches one block.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#include "path.h"
#include "repo.h"
#include "tree.h"

typedef struct tvalue {
	gkv__refcount refs;
	int has_id;
	gkv_oid id;
	size_t len;
	unsigned char data[];
} tvalue;

typedef struct {
	const char *name;
	uint32_t namelen;
	uint32_t mode;
	int own;
	gkv_oid id;      /* the stored object, when child and value are NULL */
	gkv_tree *child; /* an in-memory subtree (a reference) */
	tvalue *value;   /* a value not yet stored (a reference) */
} tentry;

struct gkv_tree {
	gkv__refcount refs;
	union {
		gkv_repo *repo;
		gkv_tree *next_dead; /* once refs is 0: the next node to release */
	};
	int clean;
	int has_id;
	atomic_int stored; /* dirty, but written to the store by a commit that landed */
	gkv_oid id;
	size_t n, cap;
	tentry *e;
	/* name_key() of each entry, apart: a search reads only these. A clean
	 * node (never changed: changes copy it first) has keys, entries and
	 * names in its own block (node_new_fixed); a dirty one allocates. */
	uint64_t *keys;
	int has_base;
	gkv_oid base; /* a copy: the id of the stored tree it was copied from */
	char *arena; /* names of a copied node */
};

static int is_tree_mode(uint32_t mode)
{
	return mode == GKV_MODE_TREE;
}

static int is_file_kind(gkv_kind k)
{
	return k == GKV_KIND_VALUE || k == GKV_KIND_EXEC || k == GKV_KIND_LINK;
}

/*
 * The first 8 bytes of a name as git orders it (the name, then '/' for a
 * directory or NUL for a file, then NULs), big-endian: entries whose keys
 * differ compare as their keys do, so a search mostly never reads the
 * names themselves (another cache line each).
 */
static uint64_t name_key(const char *name, size_t len, int is_tree)
{
	uint64_t k = 0;

	for (size_t i = 0; i < 8; i++) {
		unsigned char c = i < len ? (unsigned char)name[i] : i == len && is_tree ? '/' : 0;

		k = k << 8 | c;
	}
	return k;
}

/* ------------------------------------------------------------ lifetime */

gkv_tree *gkv__tree_ref(gkv_tree *t)
{
	if (t)
		atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
	return t;
}

static void value_unref(tvalue *v)
{
	if (v && atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) == 1)
		gkv__slab_free(v);
}

/*
 * Release a node whose last reference is gone, and every child that this
 * leaves without references, without recursion: a dead node's repo field
 * (never read again) links it into the list of nodes still to release,
 * so that freeing a tree of any depth takes constant stack.
 */
void gkv__tree_unref(gkv_tree *t)
{
	gkv_tree *dead;

	if (!t || atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1)
		return;
	t->next_dead = NULL;
	for (dead = t; (t = dead) != NULL;) {
		dead = t->next_dead;
		for (size_t i = 0; i < t->n; i++) {
			tentry *e = &t->e[i];
			gkv_tree *c = e->child;

			if (c && atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1) {
				c->next_dead = dead;
				dead = c;
			}
			value_unref(e->value);
			if (e->own)
				gkv__slab_free((char *)e->name);
		}
		if (!t->clean) {
			gkv__slab_free(t->e);
			gkv__slab_free(t->keys);
		}
		gkv__slab_free(t->arena);
		gkv__slab_free(t);
	}
}

static void entry_release(tentry *e)
{
	gkv__tree_unref(e->child);
	value_unref(e->value);
	if (e->own)
		gkv__slab_free((char *)e->name);
}

gkv_repo *gkv__tree_repo(const gkv_tree *t)
{
	return t->repo;
}

static gkv_tree *node_new(gkv_repo *repo)
{
	gkv_tree *t = gkv__slab_calloc(&repo->slab, sizeof(*t));

	if (!t)
		return NULL;
	atomic_init(&t->refs, 1);
	t->repo = repo;
	return t;
}

/*
 * A node for count entries in one allocation: the node, then its keys,
 * then its entries, then names_len bytes for their names (*names). For
 * clean nodes, which never grow: a lookup's loads (the node's count, a
 * key, an entry, a long name) are one place in memory rather than four,
 * a decode costs one block, and the tree's bytes are not kept (their
 * ids and modes are in the entries already): less memory to touch.
 */
static gkv_tree *node_new_fixed(gkv_repo *repo, size_t count, size_t names_len, char **names)
{
	size_t per = sizeof(uint64_t) + sizeof(tentry), size;
	gkv_tree *t;

	if (count > (SIZE_MAX - sizeof(gkv_tree)) / per ||
	    names_len > SIZE_MAX - sizeof(gkv_tree) - count * per) {
		gkv__oom();
		return NULL;
	}
	size = sizeof(gkv_tree) + count * per + names_len;
	if (!(t = gkv__slab_alloc(&repo->slab, size)))
		return NULL;
	memset(t, 0, sizeof(*t)); /* the callers fill every key and entry */
	atomic_init(&t->refs, 1);
	t->repo = repo;
	t->keys = (uint64_t *)(t + 1);
	t->e = (tentry *)(t->keys + count);
	t->cap = count;
	t->clean = 1; /* and so its arrays are not freed apart */
	*names = (char *)(t->e + count);
	return t;
}

static int node_reserve(gkv_tree *t, size_t need)
{
	size_t cap;
	uint64_t *keys;
	tentry *e;

	if (need <= t->cap)
		return 0;
	cap = t->cap ? t->cap * 2 : 8;
	while (cap < need)
		cap *= 2;
	if (!(e = gkv__slab_realloc(&t->repo->slab, t->e, cap * sizeof(*e))))
		return GKV_E_NOMEM;
	t->e = e;
	if (!(keys = gkv__slab_realloc(&t->repo->slab, t->keys, cap * sizeof(*keys))))
		return GKV_E_NOMEM; /* t->cap unchanged: both arrays still hold cap entries */
	t->keys = keys;
	t->cap = cap;
	return 0;
}

/* A private shallow copy of t: same entries, new references to children
 * and values, names gathered into one arena. */
static int node_copy(gkv_tree **out, const gkv_tree *t)
{
	gkv_tree *c;
	size_t total = 0, off = 0;

	if (!(c = node_new(t->repo)))
		return GKV_E_NOMEM;
	for (size_t i = 0; i < t->n; i++)
		total += t->e[i].namelen;
	if (node_reserve(c, t->n + 1) < 0 ||
	    (total && !(c->arena = gkv__slab_alloc(&t->repo->slab, total)))) {
		gkv__tree_unref(c);
		return GKV_E_NOMEM;
	}
	for (size_t i = 0; i < t->n; i++) {
		tentry *d = &c->e[i];

		*d = t->e[i];
		c->keys[i] = t->keys[i];
		memcpy(c->arena + off, t->e[i].name, t->e[i].namelen);
		d->name = c->arena + off;
		d->own = 0;
		off += t->e[i].namelen;
		gkv__tree_ref(d->child);
		if (d->value)
			atomic_fetch_add_explicit(&d->value->refs, 1, memory_order_relaxed);
	}
	c->n = t->n;
	if (t->clean || t->has_base) {
		c->has_base = 1;
		c->base = t->clean ? t->id : t->base;
	}
	*out = c;
	return 0;
}

int gkv_tree_empty(gkv_tree **out, gkv_repo *repo)
{
	if (!out || !repo)
		return gkv__error(GKV_E_INVALID, "gkv_tree_empty: NULL argument");
	if (!(*out = node_new(repo)))
		return GKV_E_NOMEM;
	return 0;
}

gkv_tree *gkv_tree_dup(gkv_tree *tree)
{
	return gkv__tree_ref(tree);
}

void gkv_tree_free(gkv_tree *tree)
{
	gkv__tree_unref(tree);
}

/* ------------------------------------------------------------- loading */

static int node_decode(gkv_tree **out, gkv_repo *repo, const gkv_oid *id, void *data, size_t len)
{
	gkv__raw_entry *raw = NULL;
	size_t count = 0, names_len = 0;
	char *names;
	gkv_tree *t;
	int rc;

	if ((rc = gkv__tree_parse(&raw, &count, data, len, id)) < 0) {
		gkv_backend_data_free(data);
		return rc;
	}
	for (size_t i = 0; i < count; i++)
		names_len += raw[i].namelen;
	if (!(t = node_new_fixed(repo, count, names_len, &names))) {
		free(raw);
		gkv_backend_data_free(data);
		return GKV_E_NOMEM;
	}
	for (size_t i = 0; i < count; i++) {
		tentry *e = &t->e[i];

		memset(e, 0, sizeof(*e));
		memcpy(names, raw[i].name, raw[i].namelen);
		e->name = names;
		names += raw[i].namelen;
		e->namelen = (uint32_t)raw[i].namelen;
		e->mode = raw[i].mode;
		t->keys[i] = name_key(e->name, e->namelen, is_tree_mode(e->mode));
		e->id = raw[i].id;
	}
	free(raw);
	gkv_backend_data_free(data);
	t->n = count;
	t->has_id = 1;
	t->id = *id;
	*out = t;
	return 0;
}

int gkv__tree_load(gkv_tree **out, gkv_repo *repo, const gkv_oid *id)
{
	void *data;
	size_t len;
	gkv_tree *t;
	int rc;

	if ((t = gkv__cache_get(&repo->cache, id))) {
		*out = t;
		return 0;
	}
	if ((rc = gkv__odb_read_typed(&data, &len, repo, id, GKV_OBJ_TREE)) < 0)
		return rc;
	if ((rc = node_decode(&t, repo, id, data, len)) < 0)
		return rc;
	*out = gkv__cache_put(&repo->cache, t);
	return 0;
}

int gkv_tree_lookup(gkv_tree **out, gkv_repo *repo, const gkv_oid *id)
{
	if (!out || !repo || !id)
		return gkv__error(GKV_E_INVALID, "gkv_tree_lookup: NULL argument");
	return gkv__tree_load(out, repo, id);
}

/* ------------------------------------------------------------- lookups */

/*
 * gkv__entry_cmp for entry i, inlined, with key = name_key(name, len,
 * is_tree). Different keys decide; equal keys with a name under 8 bytes
 * mean the same name and kind (the byte after it is the kind's, which no
 * name holds); only long names are compared in full, by a byte loop (they
 * are short: it beats a call to memcmp).
 */
static inline int entry_cmp_at(const gkv_tree *t, size_t i, uint64_t key, const char *name,
    size_t len, int is_tree)
{
	const tentry *e;
	const unsigned char *a, *b = (const unsigned char *)name;
	size_t n;
	unsigned char ca, cb;

	if (t->keys[i] != key)
		return t->keys[i] < key ? -1 : 1;
	if (len < 8)
		return 0;
	/* Equal keys and len >= 8: the entry's name is 8 bytes or more too
	 * (a shorter one has its kind byte where name has a name byte). */
	e = &t->e[i];
	a = (const unsigned char *)e->name;
	n = e->namelen < len ? e->namelen : len;
	for (size_t k = 8; k < n; k++)
		if (a[k] != b[k])
			return (int)a[k] - (int)b[k];
	ca = e->namelen > n ? a[n] : is_tree_mode(e->mode) ? '/' : '\0';
	cb = len > n ? b[n] : is_tree ? '/' : '\0';
	return (int)ca - (int)cb;
}

/* Binary search in git order; *pos gets the insertion point. */
static int bsearch_kind(size_t *pos, const gkv_tree *t, const char *name, size_t len, int is_tree)
{
	size_t lo = 0, hi = t->n;
	uint64_t key = name_key(name, len, is_tree);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = entry_cmp_at(t, mid, key, name, len, is_tree);

		if (c == 0) {
			*pos = mid;
			return 1;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos = lo;
	return 0;
}

/*
 * Index of the entry called name (file or directory), or -1. One binary
 * search, as a file; a directory "name" sorts as "name/", so it can only
 * come after that position, past the entries "name" + c with c < '/'
 * ("name-x", "name.txt"), which are few: a short scan finds it.
 */
static ptrdiff_t node_find(const gkv_tree *t, const char *name, size_t len)
{
	size_t pos;

	if (bsearch_kind(&pos, t, name, len, 0))
		return (ptrdiff_t)pos;
	for (size_t i = pos; i < t->n; i++) {
		const tentry *e = &t->e[i];

		if (e->namelen < len || memcmp(e->name, name, len) != 0)
			break;
		if (e->namelen == len)
			return is_tree_mode(e->mode) ? (ptrdiff_t)i : -1;
		if ((unsigned char)e->name[len] > '/')
			break;
	}
	return -1;
}

/* An object a tree names but the store lacks: the store is damaged, which
 * must not read as an absent path. */
static int missing(int rc, const tentry *e)
{
	if (rc != GKV_E_NOTFOUND)
		return rc;
	return gkv__error(GKV_E_CORRUPT, "object %s (entry '%.*s') is missing from the store",
	    gkv__hex(&e->id), (int)e->namelen, e->name);
}

int gkv__tree_named_damage(const char *by)
{
	char why[512];

	snprintf(why, sizeof(why), "%s", gkv_error_last());
	return gkv__error(GKV_E_CORRUPT, "%s names a tree the store lacks: %s", by, why);
}

static int child_of(gkv_tree **out, gkv_tree *t, size_t i)
{
	tentry *e = &t->e[i];
	char by[128];
	int rc;

	if (e->child) {
		*out = gkv__tree_ref(e->child);
		return 0;
	}
	/* the hot path of every read: the message is made on failure only */
	if ((rc = gkv__tree_load(out, t->repo, &e->id)) != GKV_E_NOTFOUND && rc != GKV_E_INVALID)
		return rc;
	snprintf(by, sizeof(by), "entry '%.*s'", (int)(e->namelen < 64 ? e->namelen : 64), e->name);
	return gkv__tree_named_damage(by);
}

/*
 * Walk to the node holding the last segment of path. *parent gets a new
 * reference, *idx the entry's index or -1 if absent. For "" *parent is
 * NULL. GKV_E_NOTFOUND if an intermediate segment is absent or a value.
 */
static int walk_to(gkv_tree **parent, ptrdiff_t *idx, gkv_tree *root, const char *path)
{
	gkv_tree *node = gkv__tree_ref(root), *next = NULL;
	size_t pos = 0, seglen;
	const char *seg;
	ptrdiff_t i = -1;
	int rc;

	*parent = NULL;
	if (!gkv__path_next(path, &pos, &seg, &seglen)) {
		gkv__tree_unref(node);
		*idx = -1;
		return 0;
	}
	for (;;) {
		const char *nseg;
		size_t nlen, npos = pos, at;

		if (!gkv__path_next(path, &npos, &nseg, &nlen)) {
			i = node_find(node, seg, seglen);
			break;
		}
		/* Not the last segment: only a directory will do, and one
		 * binary search in directory order finds it. */
		if (!bsearch_kind(&at, node, seg, seglen, 1) || !is_tree_mode(node->e[at].mode)) {
			gkv__tree_unref(node);
			return GKV_E_NOTFOUND;
		}
		i = (ptrdiff_t)at;
		if ((rc = child_of(&next, node, (size_t)i)) < 0) {
			gkv__tree_unref(node);
			return rc;
		}
		gkv__tree_unref(node);
		node = next;
		pos = npos;
		seg = nseg;
		seglen = nlen;
	}
	*parent = node;
	*idx = i;
	return 0;
}

static int check_tree_path(gkv_tree *tree, const char *path, int allow_root)
{
	if (!tree || !path)
		return gkv__error(GKV_E_INVALID, "NULL tree or path");
	return gkv__path_check(path, allow_root);
}

static int value_hash(gkv_oid *out, tvalue *v)
{
	int rc;

	if (!v->has_id) {
		if ((rc = gkv_hash(&v->id, GKV_OBJ_BLOB, v->data, v->len)) < 0)
			return rc;
		v->has_id = 1;
	}
	*out = v->id;
	return 0;
}

/*
 * The stack of a walk down a tree: a (node, next entry, path length)
 * frame per level, the first few in the walker's own stack frame and the
 * rest on the heap. Every walk of this file is a loop over such a stack,
 * never a recursion, so that a deep tree costs heap, not C stack: the
 * library is safe in a thread with a small stack, and a tree deeper than
 * GKV__TREE_MAX_DEPTH is refused rather than walked.
 */
typedef struct {
	gkv_tree *t;
	size_t i;    /* the next entry to look at */
	size_t base; /* the walk's path length at this node (folds) */
} frame;

#define FSTACK_SMALL 16

typedef struct {
	frame *f;
	size_t n, cap;
	bool stored; /* walking a stored tree (too deep: damage), not one being built */
	frame small[FSTACK_SMALL];
} fstack;

static void fstack_init(fstack *s, bool stored)
{
	s->f = s->small;
	s->n = 0;
	s->cap = FSTACK_SMALL;
	s->stored = stored;
}

static int fstack_push(fstack *s, gkv_tree *t, size_t base)
{
	/* A tree being built that deep is the caller's (paths are capped,
	 * but set_tree can nest trees); a stored one, damage. */
	if (s->n >= GKV__TREE_MAX_DEPTH)
		return gkv__error(s->stored ? GKV_E_CORRUPT : GKV_E_INVALID,
		    "tree is deeper than %d levels", GKV__TREE_MAX_DEPTH);
	if (s->n == s->cap) {
		size_t cap = s->cap * 2;
		frame *p = s->f == s->small ? malloc(cap * sizeof(*p)) : realloc(s->f, cap * sizeof(*p));

		if (!p)
			return gkv__oom();
		if (s->f == s->small)
			memcpy(p, s->small, sizeof(s->small));
		s->f = p;
		s->cap = cap;
	}
	s->f[s->n].t = t;
	s->f[s->n].i = 0;
	s->f[s->n].base = base;
	s->n++;
	return 0;
}

static void fstack_free(fstack *s)
{
	if (s->f != s->small)
		free(s->f);
}

static int hash_tree(gkv_oid *out, gkv_tree *root);

/* The id of entry e (hashing in-memory parts); call with hash_lock held. */
static int entry_id(gkv_oid *out, tentry *e)
{
	if (e->child)
		return hash_tree(out, e->child);
	if (e->value)
		return value_hash(out, e->value);
	*out = e->id;
	return 0;
}

/* GKV_E_TOOLARGE if a value of size bytes is over the repo's cap. */
static int check_cap(gkv_repo *repo, const gkv_oid *id, uint64_t size)
{
	if (!repo->max_value || size <= repo->max_value)
		return 0;
	return gkv__error(GKV_E_TOOLARGE, "value %s is %llu bytes, over the cap of %llu",
	    id ? gkv__hex(id) : "(not yet stored)", (unsigned long long)size,
	    (unsigned long long)repo->max_value);
}

int gkv__blob_read(gkv_buf *out, gkv_repo *repo, const gkv_oid *id)
{
	void *data;
	size_t len;
	int rc;

	if (repo->max_value) {
		uint64_t size;

		if ((rc = gkv__odb_blob_size(&size, repo, id)) < 0 ||
		    (rc = check_cap(repo, id, size)) < 0)
			return rc;
	}
	if ((rc = gkv__odb_read_typed(&data, &len, repo, id, GKV_OBJ_BLOB)) < 0)
		return rc;
	out->ptr = data;
	out->size = len;
	return 0;
}

static int entry_value(gkv_buf *out, gkv_tree *t, size_t i)
{
	tentry *e = &t->e[i];
	int rc;

	if (e->value)
		return (rc = check_cap(t->repo, NULL, e->value->len)) < 0
		    ? rc : gkv__buf_set(out, e->value->data, e->value->len);
	return missing(gkv__blob_read(out, t->repo, &e->id), e);
}

int gkv_tree_read(gkv_tree *tree, const char *path, gkv_read_cb cb, void *payload)
{
	gkv_tree *parent = NULL;
	ptrdiff_t i;
	tentry *e;
	int rc;

	if (!cb)
		return gkv__error(GKV_E_INVALID, "gkv_tree_read: callback is NULL");
	if ((rc = check_tree_path(tree, path, 1)) < 0)
		return rc;
	rc = walk_to(&parent, &i, tree, path);
	if (rc == GKV_E_NOTFOUND || (rc == 0 && (!parent || i < 0 ||
	    !is_file_kind(gkv__mode_kind(parent->e[i].mode))))) {
		gkv__tree_unref(parent);
		return gkv__error(GKV_E_NOTFOUND, "path '%s' holds no value", path);
	}
	if (rc < 0)
		return rc;
	e = &parent->e[i];
	if (e->value) {
		rc = gkv__odb_pieces(e->value->data, e->value->len, cb, payload);
	} else {
		rc = missing(gkv__odb_blob_stream(parent->repo, &e->id, cb, payload), e);
	}
	gkv__tree_unref(parent);
	return rc;
}

int gkv_tree_entry(gkv_oid *id, gkv_kind *kind, uint64_t *size, gkv_tree *tree, const char *path)
{
	gkv_tree *parent = NULL;
	gkv_oid oid;
	ptrdiff_t i;
	tentry *e;
	gkv_kind k;
	int rc;

	if ((rc = check_tree_path(tree, path, 1)) < 0)
		return rc;
	if (!*path) {
		if (size)
			*size = 0;
		if (kind)
			*kind = GKV_KIND_DIR;
		return id ? gkv_tree_id(id, tree) : 0;
	}
	rc = walk_to(&parent, &i, tree, path);
	if (rc == GKV_E_NOTFOUND || (rc == 0 && (!parent || i < 0))) {
		gkv__tree_unref(parent);
		return gkv__error(GKV_E_NOTFOUND, "path '%s' not found", path);
	}
	if (rc < 0)
		return rc;
	e = &parent->e[i];
	k = gkv__mode_kind(e->mode);
	pthread_mutex_lock(&parent->repo->hash_lock);
	rc = entry_id(&oid, e);
	pthread_mutex_unlock(&parent->repo->hash_lock);
	if (rc == 0 && size) {
		*size = 0;
		if (e->value)
			*size = e->value->len;
		else if (is_file_kind(k))
			rc = missing(gkv__odb_blob_size(size, parent->repo, &e->id), e);
	}
	gkv__tree_unref(parent);
	if (rc < 0)
		return rc;
	if (id)
		*id = oid;
	if (kind)
		*kind = k;
	return 0;
}

int gkv_tree_find(gkv_buf *out, int *found, gkv_tree *tree, const char *path)
{
	int rc;

	if (!out || !found)
		return gkv__error(GKV_E_INVALID, "gkv_tree_find: NULL argument");
	out->ptr = NULL;
	out->size = 0;
	*found = 0;
	if ((rc = check_tree_path(tree, path, 1)) < 0)
		return rc;
	return gkv__tree_find(out, found, tree, path);
}

int gkv__tree_find(gkv_buf *out, int *found, gkv_tree *tree, const char *path)
{
	gkv_tree *parent;
	ptrdiff_t i;
	int rc;

	out->ptr = NULL;
	out->size = 0;
	*found = 0;
	rc = walk_to(&parent, &i, tree, path);
	if (rc == GKV_E_NOTFOUND || (rc == 0 && (!parent || i < 0)))
		goto absent;
	if (rc < 0)
		return rc;
	if (!is_file_kind(gkv__mode_kind(parent->e[i].mode)))
		goto absent;
	rc = entry_value(out, parent, (size_t)i);
	gkv__tree_unref(parent);
	if (rc == 0)
		*found = 1;
	return rc;
absent:
	gkv__tree_unref(parent);
	gkv_error_clear();
	return 0;
}

int gkv_tree_get(gkv_buf *out, gkv_tree *tree, const char *path)
{
	int found, rc;

	if ((rc = gkv_tree_find(out, &found, tree, path)) < 0)
		return rc;
	if (!found)
		return gkv__error(GKV_E_NOTFOUND, "path '%s' not found (no value there)", path);
	return 0;
}

int gkv_tree_kind(gkv_kind *out, gkv_tree *tree, const char *path)
{
	gkv_tree *parent;
	ptrdiff_t i;
	int rc;

	if (!out)
		return gkv__error(GKV_E_INVALID, "gkv_tree_kind: NULL argument");
	*out = GKV_KIND_NONE;
	if ((rc = check_tree_path(tree, path, 1)) < 0)
		return rc;
	rc = walk_to(&parent, &i, tree, path);
	if (rc == GKV_E_NOTFOUND) {
		gkv_error_clear();
		return 0;
	}
	if (rc < 0)
		return rc;
	if (!parent)
		*out = GKV_KIND_DIR;
	else if (i >= 0)
		*out = gkv__mode_kind(parent->e[i].mode);
	gkv__tree_unref(parent);
	return 0;
}

int gkv_tree_subtree(gkv_tree **out, gkv_tree *tree, const char *path)
{
	gkv_tree *parent;
	ptrdiff_t i;
	int rc;

	if (!out)
		return gkv__error(GKV_E_INVALID, "gkv_tree_subtree: NULL argument");
	*out = NULL;
	if ((rc = check_tree_path(tree, path, 1)) < 0)
		return rc;
	rc = walk_to(&parent, &i, tree, path);
	if (rc < 0 && rc != GKV_E_NOTFOUND)
		return rc;
	if (rc == 0 && !parent) {
		*out = gkv__tree_ref(tree);
		return 0;
	}
	if (rc == 0 && i >= 0 && is_tree_mode(parent->e[i].mode)) {
		rc = child_of(out, parent, (size_t)i);
		gkv__tree_unref(parent);
		return rc;
	}
	gkv__tree_unref(parent);
	return gkv__error(GKV_E_NOTFOUND, "path '%s' is not a directory", path);
}

int gkv__tree_entry_at(gkv_oid *id, uint32_t *mode, gkv_tree *tree, const char *path)
{
	gkv_tree *parent;
	ptrdiff_t i;
	int rc;

	if ((rc = check_tree_path(tree, path, 1)) < 0)
		return rc;
	if ((rc = walk_to(&parent, &i, tree, path)) < 0)
		return rc;
	if (!parent) {
		*mode = GKV_MODE_TREE;
		return gkv_tree_id(id, tree);
	}
	if (i < 0) {
		gkv__tree_unref(parent);
		return GKV_E_NOTFOUND;
	}
	*mode = parent->e[i].mode;
	pthread_mutex_lock(&tree->repo->hash_lock);
	rc = entry_id(id, &parent->e[i]);
	pthread_mutex_unlock(&tree->repo->hash_lock);
	gkv__tree_unref(parent);
	return rc;
}

int gkv_tree_is_empty(gkv_tree *tree)
{
	return tree ? tree->n == 0 : 1;
}

/* ------------------------------------------------------------- hashing */

static int serialize(gkv__sbuf *b, gkv_tree *t)
{
	gkv_oid id;
	size_t need = 0;
	int rc;

	b->size = 0;
	/* At most "100644 " + name + NUL + id each: one allocation. */
	for (size_t i = 0; i < t->n; i++)
		need += 7 + t->e[i].namelen + 1 + GKV_OID_RAWSZ;
	if ((rc = gkv__sbuf_grow(b, need)) < 0)
		return rc;
	for (size_t i = 0; i < t->n; i++) {
		tentry *e = &t->e[i];
		size_t w;

		if ((rc = entry_id(&id, e)) < 0)
			return rc;
		/* Names in a node were checked on their way in (path check or
		 * parser): only the mode can still be one git cannot spell. */
		if (!(w = gkv__tree_entry_write(b->ptr + b->size, e->mode, e->name, e->namelen, &id)))
			return gkv__error(GKV_E_INVALID, "cannot write tree entry with mode %o",
			    e->mode);
		b->size += w;
	}
	return 0;
}

/*
 * The id of root, hashing every subtree that has none yet, children
 * before parents (a node is serialized once all its children have ids, so
 * entry_id never walks further); hash_lock held.
 */
static int hash_tree(gkv_oid *out, gkv_tree *root)
{
	gkv__sbuf b = GKV__SBUF_INIT;
	fstack s;
	int rc;

	if (root->has_id) {
		*out = root->id;
		return 0;
	}
	fstack_init(&s, false);
	if ((rc = fstack_push(&s, root, 0)) < 0)
		goto out;
	while (s.n) {
		frame *f = &s.f[s.n - 1];
		gkv_tree *t = f->t;

		while (f->i < t->n && !(t->e[f->i].child && !t->e[f->i].child->has_id))
			f->i++;
		if (f->i < t->n) {
			if ((rc = fstack_push(&s, t->e[f->i++].child, 0)) < 0)
				goto out;
			continue;
		}
		if ((rc = serialize(&b, t)) < 0 || (rc = gkv_hash(&t->id, GKV_OBJ_TREE, b.ptr, b.size)) < 0)
			goto out;
		t->has_id = 1;
		s.n--;
	}
	*out = root->id;
out:
	fstack_free(&s);
	gkv__sbuf_free(&b);
	return rc;
}

int gkv_tree_id(gkv_oid *out, gkv_tree *tree)
{
	int rc;

	if (!out || !tree)
		return gkv__error(GKV_E_INVALID, "gkv_tree_id: NULL argument");
	if (tree->has_id) {
		*out = tree->id;
		return 0;
	}
	pthread_mutex_lock(&tree->repo->hash_lock);
	rc = hash_tree(out, tree);
	pthread_mutex_unlock(&tree->repo->hash_lock);
	return rc;
}

int gkv_tree_equal(gkv_tree *a, gkv_tree *b)
{
	gkv_oid ia, ib;

	if (a == b)
		return 1;
	if (!a || !b || gkv_tree_id(&ia, a) < 0 || gkv_tree_id(&ib, b) < 0)
		return 0;
	return gkv_oid_equal(&ia, &ib);
}

/*
 * The clean node of a tree just written (t, its ids known): t's names,
 * modes and ids, as node_decode would give from its bytes but without
 * parsing them. For keep.
 */
static int clean_copy(gkv_tree **out, gkv_tree *t)
{
	size_t names_len = 0;
	char *names;
	gkv_tree *c;

	*out = NULL;
	for (size_t i = 0; i < t->n; i++)
		names_len += t->e[i].namelen;
	if (!(c = node_new_fixed(t->repo, t->n, names_len, &names)))
		return GKV_E_NOMEM;
	for (size_t i = 0; i < t->n; i++) {
		const tentry *src = &t->e[i];
		tentry *e = &c->e[i];

		memset(e, 0, sizeof(*e));
		memcpy(names, src->name, src->namelen);
		e->name = names;
		names += src->namelen;
		e->namelen = src->namelen;
		e->mode = src->mode;
		c->keys[i] = t->keys[i];
		e->id = src->child ? src->child->id : src->value ? src->value->id : src->id;
	}
	c->n = t->n;
	c->has_id = 1;
	c->id = t->id;
	*out = c;
	return 0;
}

/* What keep records of a tree just written: its clean form, and the
 * stored tree it replaces. */
typedef struct {
	gkv_tree *tree;
	int has_base;
	gkv_oid base;
} kept;

/* Record in keep the clean form of a tree just written, for
 * gkv__tree_cache_written. */
static int keep_tree(gkv__sbuf *keep, gkv_tree *t)
{
	kept k;
	int rc;

	memset(&k, 0, sizeof(k));
	if ((rc = clean_copy(&k.tree, t)) < 0)
		return rc;
	if (t->has_base && !gkv_oid_equal(&t->base, &t->id)) {
		k.has_base = 1;
		k.base = t->base;
	}
	if ((rc = gkv__sbuf_put(keep, &k, sizeof(k))) < 0)
		gkv__tree_unref(k.tree);
	return rc;
}

/* Nothing of t needs writing: it was read from the store, or written. */
static int is_written(gkv_tree *t)
{
	return t->clean || atomic_load_explicit(&t->stored, memory_order_acquire);
}

/*
 * Write root's dirty parts into batch, children before parents, in entry
 * order (a value when the walk passes it, a subtree once its own entries
 * are written); the root's id in out. b is scratch; hash_lock held.
 */
static int write_tree(gkv_oid *out, gkv_tree *root, gkv_batch *batch, gkv__sbuf *b,
    gkv__sbuf *keep)
{
	gkv_backend *be = batch->backend;
	gkv_oid id;
	fstack s;
	int rc;

	if (is_written(root)) {
		*out = root->id;
		return 0;
	}
	fstack_init(&s, false);
	if ((rc = fstack_push(&s, root, 0)) < 0)
		goto out;
	while (s.n) {
		frame *f = &s.f[s.n - 1];
		gkv_tree *t = f->t;

		for (; f->i < t->n; f->i++) {
			tentry *e = &t->e[f->i];

			if (e->child) {
				if (!is_written(e->child))
					break;
			} else if (e->value) {
				if ((rc = value_hash(&id, e->value)) < 0 ||
				    (rc = be->batch_write(batch, &id, GKV_OBJ_BLOB, e->value->data,
					 e->value->len)) < 0)
					goto out;
			}
		}
		if (f->i < t->n) {
			if ((rc = fstack_push(&s, t->e[f->i++].child, 0)) < 0)
				goto out;
			continue;
		}
		if ((rc = serialize(b, t)) < 0)
			goto out;
		if (!t->has_id) {
			if ((rc = gkv_hash(&t->id, GKV_OBJ_TREE, b->ptr, b->size)) < 0)
				goto out;
			t->has_id = 1;
		}
		if ((keep && (rc = keep_tree(keep, t)) < 0) ||
		    (rc = be->batch_write(batch, &t->id, GKV_OBJ_TREE, b->ptr, b->size)) < 0)
			goto out;
		s.n--;
	}
	*out = root->id;
out:
	fstack_free(&s);
	return rc;
}

/*
 * The trees a commit replaced leave the cache, then the trees it wrote
 * enter it: the cache holds what heads are made of, not every version a
 * run of commits went through. (Before, a run of small commits filled the
 * cache with dead roots and top directories, 11 KB per small commit, and the
 * memory's first touches were a third of a commit's time on a VM.) A
 * replaced tree still in use elsewhere stays alive for its users; a
 * reader of an old head decodes it again.
 */
void gkv__tree_cache_written(gkv_repo *repo, gkv__sbuf *keep)
{
	kept k;

	if (!keep)
		return;
	for (size_t off = 0; off + sizeof(k) <= keep->size; off += sizeof(k)) {
		memcpy(&k, keep->ptr + off, sizeof(k));
		if (k.has_base)
			gkv__cache_drop(&repo->cache, &k.base);
	}
	for (size_t off = 0; off + sizeof(k) <= keep->size; off += sizeof(k)) {
		memcpy(&k, keep->ptr + off, sizeof(k));
		gkv__tree_unref(gkv__cache_put(&repo->cache, k.tree));
	}
	keep->size = 0;
}

void gkv__tree_keep_dispose(gkv__sbuf *keep)
{
	kept k;

	for (size_t off = 0; off + sizeof(k) <= keep->size; off += sizeof(k)) {
		memcpy(&k, keep->ptr + off, sizeof(k));
		gkv__tree_unref(k.tree);
	}
	gkv__sbuf_free(keep);
}

/*
 * After the batch that wrote tree landed: its in-memory nodes are in the
 * store now, so later commits that share them do not write them again.
 */
void gkv__tree_mark_stored(gkv_tree *root)
{
	fstack s;

	fstack_init(&s, false);
	/* Out of memory for the walk only leaves nodes unmarked: they are
	 * stored all the same, and a later commit writes them again. */
	if (is_written(root) || !root->has_id || fstack_push(&s, root, 0) < 0)
		goto out;
	while (s.n) {
		frame *f = &s.f[s.n - 1];
		gkv_tree *t = f->t;

		while (f->i < t->n && !(t->e[f->i].child && !is_written(t->e[f->i].child) &&
					  t->e[f->i].child->has_id))
			f->i++;
		if (f->i < t->n) {
			if (fstack_push(&s, t->e[f->i++].child, 0) < 0)
				goto out;
			continue;
		}
		atomic_store_explicit(&t->stored, 1, memory_order_release);
		s.n--;
	}
out:
	fstack_free(&s);
}

int gkv__tree_write_batch(gkv_oid *out, gkv_tree *tree, gkv_batch *batch, gkv__sbuf *keep)
{
	gkv__sbuf b = GKV__SBUF_INIT;
	int rc;

	pthread_mutex_lock(&tree->repo->hash_lock);
	rc = write_tree(out, tree, batch, &b, keep);
	pthread_mutex_unlock(&tree->repo->hash_lock);
	gkv__sbuf_free(&b);
	return rc;
}

int gkv_tree_write(gkv_oid *out, gkv_tree *tree)
{
	gkv_backend *be;
	gkv_batch *batch;
	gkv_oid id;
	int rc;

	if (!tree)
		return gkv__error(GKV_E_INVALID, "gkv_tree_write: NULL tree");
	if ((rc = gkv__check_writable(tree->repo)) < 0)
		return rc;
	be = tree->repo->backend;
	if ((rc = be->batch_begin(&batch, be)) < 0)
		return rc;
	if ((rc = gkv__tree_write_batch(&id, tree, batch, NULL)) < 0) {
		be->batch_abort(batch);
		return rc;
	}
	if ((rc = be->batch_commit(batch)) < 0)
		return rc;
	gkv__tree_mark_stored(tree);
	if (out)
		*out = id;
	return 0;
}

/* ------------------------------------------------------------- changes */

typedef enum { OP_SET, OP_REMOVE, OP_SET_TREE } op_kind;

typedef struct {
	op_kind kind;
	tvalue *value;  /* OP_SET */
	gkv_tree *sub;  /* OP_SET_TREE (non-empty) */
} change;

static void node_dirty(gkv_tree *t)
{
	t->has_id = 0;
	atomic_store_explicit(&t->stored, 0, memory_order_relaxed);
}

static void node_delete(gkv_tree *t, size_t i)
{
	entry_release(&t->e[i]);
	memmove(&t->e[i], &t->e[i + 1], (t->n - i - 1) * sizeof(*t->e));
	memmove(&t->keys[i], &t->keys[i + 1], (t->n - i - 1) * sizeof(*t->keys));
	t->n--;
	node_dirty(t);
}

/* Insert a new entry (taking the child/value references) at its place. */
static int node_insert(gkv_tree *t, const char *name, size_t len, uint32_t mode,
    gkv_tree *child, tvalue *value)
{
	size_t pos;
	tentry *e;
	char *copy;

	if (node_reserve(t, t->n + 1) < 0 || !(copy = gkv__slab_strndup(&t->repo->slab, name, len)))
		return GKV_E_NOMEM;
	bsearch_kind(&pos, t, name, len, is_tree_mode(mode));
	memmove(&t->e[pos + 1], &t->e[pos], (t->n - pos) * sizeof(*t->e));
	memmove(&t->keys[pos + 1], &t->keys[pos], (t->n - pos) * sizeof(*t->keys));
	e = &t->e[pos];
	memset(e, 0, sizeof(*e));
	e->name = copy;
	e->namelen = (uint32_t)len;
	e->mode = mode;
	t->keys[pos] = name_key(copy, len, is_tree_mode(mode));
	e->own = 1;
	e->child = child;
	e->value = value;
	t->n++;
	node_dirty(t);
	return 0;
}

/* Replace entry i's contents keeping its name (same kind: same place). */
static void node_replace(gkv_tree *t, size_t i, uint32_t mode, gkv_tree *child, tvalue *value)
{
	tentry *e = &t->e[i];

	if (e->child)
		gkv__tree_unref(e->child);
	value_unref(e->value);
	e->mode = mode;
	e->child = child;
	e->value = value;
	memset(&e->id, 0, sizeof(e->id));
	node_dirty(t);
}

/* Put (name -> mode, child | value) in t, replacing what was there. */
static int node_put(gkv_tree *t, ptrdiff_t i, const char *name, size_t len, uint32_t mode,
    gkv_tree *child, tvalue *value)
{
	if (i >= 0 && is_tree_mode(t->e[i].mode) == is_tree_mode(mode)) {
		node_replace(t, (size_t)i, mode, child, value);
		return 0;
	}
	if (i >= 0)
		node_delete(t, (size_t)i);
	return node_insert(t, name, len, mode, child, value);
}

static int same_value(int *same, gkv_tree *t, size_t i, tvalue *v)
{
	tentry *e = &t->e[i];
	gkv_oid id;
	int rc;

	*same = 0;
	if (e->mode != GKV_MODE_BLOB)
		return 0;
	if (e->value) {
		*same = e->value->len == v->len && memcmp(e->value->data, v->data, v->len) == 0;
		return 0;
	}
	/* Stored: compare ids (the new value's id is needed at commit anyway). */
	pthread_mutex_lock(&t->repo->hash_lock);
	rc = value_hash(&id, v);
	pthread_mutex_unlock(&t->repo->hash_lock);
	if (rc < 0)
		return rc;
	*same = gkv_oid_equal(&id, &e->id);
	return 0;
}

static int same_tree(int *same, gkv_tree *t, size_t i, gkv_tree *sub)
{
	gkv_oid a, b;
	int rc;

	*same = 0;
	if (!is_tree_mode(t->e[i].mode))
		return 0;
	pthread_mutex_lock(&t->repo->hash_lock);
	rc = entry_id(&a, &t->e[i]);
	if (rc == 0)
		rc = hash_tree(&b, sub);
	pthread_mutex_unlock(&t->repo->hash_lock);
	if (rc == 0)
		*same = gkv_oid_equal(&a, &b);
	return rc;
}

/* Apply the change at the last segment of the path, in t (owned). */
static int apply_leaf(int *changed, gkv_tree *t, const char *seg, size_t len, const change *c)
{
	ptrdiff_t i = node_find(t, seg, len);
	int same = 0, rc;

	switch (c->kind) {
	case OP_REMOVE:
		if (i < 0)
			return 0;
		node_delete(t, (size_t)i);
		*changed = 1;
		return 0;
	case OP_SET:
		if (i >= 0 && (rc = same_value(&same, t, (size_t)i, c->value)) < 0)
			return rc;
		if (same)
			return 0;
		atomic_fetch_add_explicit(&c->value->refs, 1, memory_order_relaxed);
		if ((rc = node_put(t, i, seg, len, GKV_MODE_BLOB, NULL, c->value)) < 0) {
			value_unref(c->value);
			return rc;
		}
		*changed = 1;
		return 0;
	case OP_SET_TREE:
		if (i >= 0 && (rc = same_tree(&same, t, (size_t)i, c->sub)) < 0)
			return rc;
		if (same)
			return 0;
		if ((rc = node_put(t, i, seg, len, GKV_MODE_TREE, gkv__tree_ref(c->sub), NULL)) < 0) {
			gkv__tree_unref(c->sub);
			return rc;
		}
		*changed = 1;
		return 0;
	}
	return 0;
}

/* Make entry i's subtree private to t (copy it unless t alone holds it). */
static int own_child(gkv_tree **out, gkv_tree *t, size_t i)
{
	tentry *e = &t->e[i];
	gkv_tree *c;
	int rc;

	if (e->child && !e->child->clean && atomic_load(&e->child->refs) == 1) {
		*out = e->child;
		return 0;
	}
	if ((rc = child_of(&c, t, i)) < 0)
		return rc;
	if ((rc = node_copy(out, c)) < 0) {
		gkv__tree_unref(c);
		return rc;
	}
	gkv__tree_unref(c);
	node_replace(t, i, GKV_MODE_TREE, *out, NULL);
	return 0;
}

/*
 * Apply change c at path (from position pos) to t, which this change
 * owns: down the path, owning (copying if shared) each directory on the
 * way, then the change at the last segment, then back up, marking the
 * directories changed and dropping those the change left empty. The way
 * down is a stack of frames, not a recursion.
 */
static int apply(int *changed, gkv_tree *t, const char *path, size_t pos, const change *c)
{
	const char *seg, *nseg;
	size_t len, nlen, npos;
	gkv_tree *child;
	ptrdiff_t i;
	fstack s;
	int rc;

	fstack_init(&s, false);
	for (;;) {
		gkv__path_next(path, &pos, &seg, &len);
		npos = pos;
		if (!gkv__path_next(path, &npos, &nseg, &nlen)) {
			rc = apply_leaf(changed, t, seg, len, c);
			break;
		}
		i = node_find(t, seg, len);
		if (i < 0 || !is_tree_mode(t->e[i].mode)) {
			/* Nothing (or a value) in the way: a remove has nothing
			 * to do; a set makes the directory, replacing the value. */
			rc = 0;
			if (c->kind == OP_REMOVE)
				break;
			if (!(child = node_new(t->repo))) {
				rc = GKV_E_NOMEM;
				break;
			}
			if ((rc = node_put(t, i, seg, len, GKV_MODE_TREE, child, NULL)) < 0) {
				gkv__tree_unref(child);
				break;
			}
			i = node_find(t, seg, len);
		} else if ((rc = own_child(&child, t, (size_t)i)) < 0) {
			break;
		}
		if ((rc = fstack_push(&s, t, 0)) < 0)
			break;
		s.f[s.n - 1].i = (size_t)i;
		t = child;
	}
	/* Back up: t is the node below frame k's entry. */
	while (rc == 0 && *changed && s.n) {
		frame *f = &s.f[--s.n];

		node_dirty(f->t);
		if (t->n == 0)
			node_delete(f->t, f->i);
		t = f->t;
	}
	fstack_free(&s);
	return rc;
}

static int make_value(tvalue **out, gkv_repo *repo, const void *data, size_t len)
{
	tvalue *v = len <= SIZE_MAX / 2 ? gkv__slab_alloc(&repo->slab, sizeof(*v) + len) : NULL;

	if (!v)
		return GKV_E_NOMEM;
	atomic_init(&v->refs, 1);
	v->has_id = 0;
	v->len = len;
	if (len)
		memcpy(v->data, data, len);
	*out = v;
	return 0;
}

/*
 * Apply c to *root, which the caller owns: copied first unless it is a
 * dirty node held only by the caller. *changed tells whether anything
 * changed. Setting "" (the root) replaces the whole tree.
 */
static int apply_owned(int *changed, gkv_tree **root, const char *path, const change *c)
{
	gkv_tree *t = *root, *copy;
	int rc;

	*changed = 0;
	if (!*path) {
		gkv_tree *next;

		if (c->kind == OP_SET_TREE) {
			next = gkv__tree_ref(c->sub);
		} else if (!(next = node_new(t->repo))) {
			return GKV_E_NOMEM;
		}
		*changed = !gkv_tree_equal(t, next);
		gkv__tree_unref(t);
		*root = next;
		return 0;
	}
	if (t->clean || atomic_load(&t->refs) > 1) {
		if ((rc = node_copy(&copy, t)) < 0)
			return rc;
		gkv__tree_unref(t);
		*root = t = copy;
	}
	return apply(changed, t, path, 0, c);
}

/* The persistent form: a new tree, the old one untouched. */
static int apply_persistent(gkv_tree **out, gkv_tree *tree, const char *path, const change *c)
{
	gkv_tree *root = gkv__tree_ref(tree);
	int changed, rc;

	/* A second reference makes apply_owned copy the root, and every
	 * child reached through that copy is shared, hence copied too. */
	gkv__tree_ref(root);
	rc = apply_owned(&changed, &root, path, c);
	gkv__tree_unref(tree);
	if (rc < 0) {
		gkv__tree_unref(root);
		return rc;
	}
	if (!changed) {
		gkv__tree_unref(root);
		root = gkv__tree_ref(tree);
	}
	*out = root;
	return 0;
}

static int set_change(change *c, gkv_repo *repo, const void *value, size_t len)
{
	if (len && !value)
		return gkv__error(GKV_E_INVALID, "value is NULL but its length is %zu", len);
	c->kind = OP_SET;
	c->sub = NULL;
	return make_value(&c->value, repo, value, len);
}

static int set_tree_change(change *c, gkv_tree *into, gkv_tree *sub)
{
	if (!sub)
		return gkv__error(GKV_E_INVALID, "subtree is NULL");
	if (sub->repo != into->repo)
		return gkv__error(GKV_E_INVALID, "subtree belongs to another repo");
	c->kind = sub->n == 0 ? OP_REMOVE : OP_SET_TREE;
	c->sub = sub;
	c->value = NULL;
	return 0;
}

int gkv_tree_set(gkv_tree **out, gkv_tree *tree, const char *path, const void *value, size_t len)
{
	change c;
	int rc;

	if (!out)
		return gkv__error(GKV_E_INVALID, "gkv_tree_set: out is NULL");
	if ((rc = check_tree_path(tree, path, 0)) < 0 ||
	    (rc = gkv__value_check(path, value, len)) < 0 ||
	    (rc = set_change(&c, tree->repo, value, len)) < 0)
		return rc;
	rc = apply_persistent(out, tree, path, &c);
	value_unref(c.value);
	return rc;
}

int gkv_tree_remove(gkv_tree **out, gkv_tree *tree, const char *path)
{
	change c = {OP_REMOVE, NULL, NULL};
	int rc;

	if (!out)
		return gkv__error(GKV_E_INVALID, "gkv_tree_remove: out is NULL");
	if ((rc = check_tree_path(tree, path, 0)) < 0)
		return rc;
	return apply_persistent(out, tree, path, &c);
}

int gkv_tree_set_tree(gkv_tree **out, gkv_tree *tree, const char *path, gkv_tree *subtree)
{
	change c;
	int rc;

	if (!out)
		return gkv__error(GKV_E_INVALID, "gkv_tree_set_tree: out is NULL");
	if ((rc = check_tree_path(tree, path, 1)) < 0 || (rc = gkv__dir_path_check(path)) < 0 ||
	    (rc = set_tree_change(&c, tree, subtree)) < 0)
		return rc;
	if (!*path) {
		*out = gkv__tree_ref(subtree);
		return 0;
	}
	return apply_persistent(out, tree, path, &c);
}

int gkv__tree_set_owned(gkv_tree **root, const char *path, const void *value, size_t len)
{
	change c;
	int changed, rc;

	if ((rc = check_tree_path(*root, path, 0)) < 0 ||
	    (rc = gkv__value_check(path, value, len)) < 0 ||
	    (rc = set_change(&c, (*root)->repo, value, len)) < 0)
		return rc;
	rc = apply_owned(&changed, root, path, &c);
	value_unref(c.value);
	return rc;
}

int gkv__tree_remove_owned(gkv_tree **root, const char *path)
{
	change c = {OP_REMOVE, NULL, NULL};
	int changed, rc;

	if ((rc = check_tree_path(*root, path, 0)) < 0)
		return rc;
	return apply_owned(&changed, root, path, &c);
}

int gkv__tree_set_tree_owned(gkv_tree **root, const char *path, gkv_tree *sub)
{
	change c;
	int changed, rc;

	if ((rc = check_tree_path(*root, path, 1)) < 0 || (rc = gkv__dir_path_check(path)) < 0 ||
	    (rc = set_tree_change(&c, *root, sub)) < 0)
		return rc;
	return apply_owned(&changed, root, path, &c);
}

/* ------------------------------------------------------------- listing */

typedef struct {
	char *name;
	gkv_kind kind;
} list_item;

struct gkv_list {
	size_t n;
	list_item *items;
	char *arena;
};

static int item_cmp(const void *a, const void *b)
{
	return strcmp(((const list_item *)a)->name, ((const list_item *)b)->name);
}

static int list_node(gkv_list **out, const gkv_tree *t)
{
	gkv_list *l = calloc(1, sizeof(*l));
	size_t total = 0, off = 0;

	if (!l)
		return gkv__oom();
	for (size_t i = 0; i < t->n; i++)
		total += t->e[i].namelen + 1;
	l->items = calloc(t->n ? t->n : 1, sizeof(*l->items));
	l->arena = malloc(total ? total : 1);
	if (!l->items || !l->arena) {
		gkv_list_free(l);
		return gkv__oom();
	}
	for (size_t i = 0; i < t->n; i++) {
		memcpy(l->arena + off, t->e[i].name, t->e[i].namelen);
		l->arena[off + t->e[i].namelen] = '\0';
		l->items[i].name = l->arena + off;
		l->items[i].kind = gkv__mode_kind(t->e[i].mode);
		off += t->e[i].namelen + 1;
	}
	l->n = t->n;
	qsort(l->items, l->n, sizeof(*l->items), item_cmp);
	*out = l;
	return 0;
}

int gkv_tree_list(gkv_list **out, gkv_tree *tree, const char *path)
{
	gkv_tree *dir;
	int rc;

	if (!out)
		return gkv__error(GKV_E_INVALID, "gkv_tree_list: out is NULL");
	*out = NULL;
	if ((rc = gkv_tree_subtree(&dir, tree, path)) < 0)
		return rc;
	rc = list_node(out, dir);
	gkv__tree_unref(dir);
	return rc;
}

size_t gkv_list_count(const gkv_list *l)
{
	return l ? l->n : 0;
}

const char *gkv_list_name(const gkv_list *l, size_t i)
{
	return l && i < l->n ? l->items[i].name : NULL;
}

gkv_kind gkv_list_kind(const gkv_list *l, size_t i)
{
	return l && i < l->n ? l->items[i].kind : GKV_KIND_NONE;
}

void gkv_list_free(gkv_list *l)
{
	if (!l)
		return;
	free(l->items);
	free(l->arena);
	free(l);
}

/* --------------------------------------------------------------- folds */

/*
 * Call cb for every value below dir, whose path is in path. Git's order
 * is the byte order of full paths, so a walk in entry order yields paths
 * sorted by bytes. The walk holds a reference to each directory on its
 * stack (the first, dir, is the caller's).
 */
static int fold_walk(gkv_tree *dir, gkv__sbuf *path, gkv_tree_fold_cb cb, void *payload)
{
	fstack s;
	int rc;

	fstack_init(&s, true);
	if ((rc = fstack_push(&s, dir, path->size)) < 0)
		goto out;
	while (s.n) {
		frame *f = &s.f[s.n - 1];
		gkv_tree *t = f->t;
		size_t base = f->base, i = f->i++;
		tentry *e;
		gkv_kind k;

		if (i >= t->n) {
			if (s.n > 1)
				gkv__tree_unref(t);
			s.n--;
			continue;
		}
		e = &t->e[i];
		k = gkv__mode_kind(e->mode);
		path->size = base;
		if ((base && (rc = gkv__sbuf_putc(path, '/')) < 0) ||
		    (rc = gkv__sbuf_put(path, e->name, e->namelen)) < 0 ||
		    (rc = gkv__sbuf_putc(path, '\0')) < 0)
			break;
		path->size--;
		if (k == GKV_KIND_DIR) {
			gkv_tree *c = NULL;

			if ((rc = child_of(&c, t, i)) < 0)
				break;
			if ((rc = fstack_push(&s, c, path->size)) < 0) {
				gkv__tree_unref(c);
				break;
			}
		} else if (k == GKV_KIND_SUBMODULE) {
			if ((rc = cb((const char *)path->ptr, k, e->id.id, GKV_OID_RAWSZ, payload)) != 0)
				break;
		} else {
			gkv_buf v;

			if ((rc = entry_value(&v, t, i)) < 0)
				break;
			rc = cb((const char *)path->ptr, k, v.ptr, v.size, payload);
			gkv_buf_dispose(&v);
			if (rc != 0)
				break;
		}
	}
out:
	while (s.n > 1)
		gkv__tree_unref(s.f[--s.n].t);
	if (s.n)
		path->size = s.f[0].base;
	fstack_free(&s);
	return rc;
}

int gkv_tree_fold(gkv_tree *tree, const char *path, gkv_tree_fold_cb cb, void *payload)
{
	gkv__sbuf p = GKV__SBUF_INIT;
	gkv_tree *dir;
	int rc;

	if (!cb)
		return gkv__error(GKV_E_INVALID, "gkv_tree_fold: callback is NULL");
	if ((rc = gkv_tree_subtree(&dir, tree, path)) < 0) {
		gkv_kind k;

		/* Folding a single value calls cb once for it. */
		if (rc == GKV_E_NOTFOUND && gkv_tree_kind(&k, tree, path) == 0 && is_file_kind(k)) {
			gkv_buf v;

			if ((rc = gkv_tree_get(&v, tree, path)) < 0)
				return rc;
			rc = cb(path, k, v.ptr, v.size, payload);
			gkv_buf_dispose(&v);
			return rc;
		}
		if (rc == GKV_E_NOTFOUND) {
			gkv_error_clear();
			return 0;
		}
		return rc;
	}
	if ((rc = gkv__sbuf_puts(&p, path)) == 0)
		rc = fold_walk(dir, &p, cb, payload);
	gkv__sbuf_free(&p);
	gkv__tree_unref(dir);
	return rc;
}

/* --------------------------------------------------- access for diff.c */

size_t gkv__tree_count(const gkv_tree *t)
{
	return t->n;
}

const char *gkv__tree_entry_name(const gkv_tree *t, size_t i, size_t *len)
{
	*len = t->e[i].namelen;
	return t->e[i].name;
}

uint32_t gkv__tree_entry_mode(const gkv_tree *t, size_t i)
{
	return t->e[i].mode;
}

int gkv__tree_entry_oid(gkv_oid *out, gkv_tree *t, size_t i)
{
	int rc;

	if (!t->e[i].child && !t->e[i].value) {
		*out = t->e[i].id;
		return 0;
	}
	pthread_mutex_lock(&t->repo->hash_lock);
	rc = entry_id(out, &t->e[i]);
	pthread_mutex_unlock(&t->repo->hash_lock);
	return rc;
}

int gkv__tree_entry_child(gkv_tree **out, gkv_tree *t, size_t i)
{
	return child_of(out, t, i);
}

int gkv__tree_entry_value(gkv_buf *out, gkv_tree *t, size_t i)
{
	return entry_value(out, t, i);
}

/* ---------------------------------------------------- building (merge.c) */

int gkv__tree_add_entry_from(gkv_tree *dst, gkv_tree *src, size_t i)
{
	tentry *e = &src->e[i];
	size_t pos;
	int rc;

	if ((rc = node_insert(dst, e->name, e->namelen, e->mode, gkv__tree_ref(e->child), e->value)) < 0) {
		gkv__tree_unref(e->child);
		return rc;
	}
	if (e->value)
		atomic_fetch_add_explicit(&e->value->refs, 1, memory_order_relaxed);
	bsearch_kind(&pos, dst, e->name, e->namelen, is_tree_mode(e->mode));
	dst->e[pos].id = e->id;
	return 0;
}

int gkv__tree_add_subtree(gkv_tree *dst, const char *name, size_t len, gkv_tree *sub)
{
	int rc;

	if (sub->n == 0)
		return 0;
	if ((rc = node_insert(dst, name, len, GKV_MODE_TREE, gkv__tree_ref(sub), NULL)) < 0)
		gkv__tree_unref(sub);
	return rc;
}

int gkv__tree_add_value(gkv_tree *dst, const char *name, size_t len, const void *data, size_t dlen)
{
	tvalue *v = NULL;
	int rc;

	if ((rc = make_value(&v, dst->repo, data, dlen)) < 0)
		return rc;
	if ((rc = node_insert(dst, name, len, GKV_MODE_BLOB, NULL, v)) < 0)
		value_unref(v);
	return rc;
}

/* ------------------------------------------ name order (diff.c, merge.c) */

int gkv__name_cmp(const char *a, size_t la, const char *b, size_t lb)
{
	int c = memcmp(a, b, la < lb ? la : lb);

	return c ? c : (la > lb) - (la < lb);
}

static int index_name_cmp(const void *x, const void *y, void *tree)
{
	const tentry *a = &((gkv_tree *)tree)->e[*(const size_t *)x];
	const tentry *b = &((gkv_tree *)tree)->e[*(const size_t *)y];

	return gkv__name_cmp(a->name, a->namelen, b->name, b->namelen);
}

int gkv__tree_by_name(gkv__by_name *out, gkv_tree *t)
{
	out->t = t;
	out->n = t ? t->n : 0;
	if (!(out->idx = malloc((out->n ? out->n : 1) * sizeof(size_t))))
		return gkv__oom();
	for (size_t i = 0; i < out->n; i++)
		out->idx[i] = i;
	/* Git's order differs from name order only around directories. */
	if (out->n > 1)
		qsort_r(out->idx, out->n, sizeof(size_t), index_name_cmp, t);
	return 0;
}

const char *gkv__by_name_at(const gkv__by_name *s, size_t k, size_t *len)
{
	const tentry *e = &s->t->e[s->idx[k]];

	*len = e->namelen;
	return e->name;
}
