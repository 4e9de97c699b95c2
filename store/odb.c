/*
 * odb.c -- objects as the core sees them: reads through the backend with
 * type checks (telling a backend that has the read_typed hook which type
 * is expected, so that it looks there first), and the bounded LRU cache
 * of decoded trees that keeps the hot upper levels of a store's tree in
 * memory.
 *
 * The cache holds one reference to each tree it keeps. Cached trees are
 * clean (decoded from the store, their id known) and immutable, so
 * threads share them freely; the cache's own lock is held only to find,
 * insert or evict, never while decoding.
 *
 * A hit moves its slot to the front of the LRU list only if the slot is
 * not among the last quarter of the capacity moved there: a hot tree is
 * found without rewriting its neighbours' links (cache lines a read would
 * not otherwise touch), and eviction stays close to LRU.
 */
#include "repo.h"

struct gkv__cache_slot {
	gkv_oid id;
	gkv_tree *tree;
	gkv__cache_slot *hnext;
	gkv__cache_slot *prev;
	gkv__cache_slot *next;
	uint64_t stamp; /* c->clock when last moved to the front */
};

static const char *type_name(gkv_otype t)
{
	switch (t) {
	case GKV_OBJ_COMMIT: return "commit";
	case GKV_OBJ_TREE: return "tree";
	case GKV_OBJ_BLOB: return "blob";
	case GKV_OBJ_TAG: return "tag";
	default: return "object";
	}
}

int gkv__odb_read(void **data, size_t *len, gkv_otype *type, gkv_repo *repo, const gkv_oid *id)
{
	int rc = repo->backend->read(data, len, type, repo->backend, id);

	if (rc == GKV_E_NOTFOUND)
		return gkv__error(GKV_E_NOTFOUND, "object %s not found", gkv__hex(id));
	return rc;
}

/* Through the backend's read_typed hook if it has one: the type expected
 * tells it where to look first (lmdb keeps commits apart). */
static int read_hinted(void **data, size_t *len, gkv_otype *type, gkv_repo *repo,
    const gkv_oid *id, gkv_otype want)
{
	gkv_backend *b = repo->backend;
	int rc;

	if (!b->read_typed)
		return gkv__odb_read(data, len, type, repo, id);
	rc = b->read_typed(data, len, type, b, id, want);
	if (rc == GKV_E_NOTFOUND)
		return gkv__error(GKV_E_NOTFOUND, "object %s not found", gkv__hex(id));
	return rc;
}

int gkv__odb_read_typed(void **data, size_t *len, gkv_repo *repo, const gkv_oid *id,
    gkv_otype want)
{
	gkv_otype t;
	int rc;

	if ((rc = read_hinted(data, len, &t, repo, id, want)) < 0)
		return rc;
	if (t != want) {
		free(*data);
		*data = NULL;
		return gkv__error(GKV_E_INVALID, "object %s is a %s, not a %s", gkv__hex(id),
		    type_name(t), type_name(want));
	}
	return 0;
}

static size_t bucket_of(const gkv__cache *c, const gkv_oid *id)
{
	uint64_t h;

	memcpy(&h, id->id, sizeof(h));
	return (size_t)h & (c->nbuckets - 1);
}

int gkv__cache_init(gkv__cache *c, size_t capacity)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	c->capacity = capacity;
	if (capacity == 0)
		return 0;
	c->nbuckets = 2;
	while (c->nbuckets < capacity + capacity / 2 && c->nbuckets <= SIZE_MAX / 4)
		c->nbuckets *= 2;
	c->table = calloc(c->nbuckets, sizeof(*c->table));
	if (!c->table)
		return gkv__oom();
	return 0;
}

static void lru_unlink(gkv__cache *c, gkv__cache_slot *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		c->lru_head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		c->lru_tail = s->prev;
	s->prev = s->next = NULL;
}

static void lru_push_front(gkv__cache *c, gkv__cache_slot *s)
{
	s->stamp = ++c->clock;
	s->prev = NULL;
	s->next = c->lru_head;
	if (c->lru_head)
		c->lru_head->prev = s;
	c->lru_head = s;
	if (!c->lru_tail)
		c->lru_tail = s;
}

static void hash_unlink(gkv__cache *c, gkv__cache_slot *s)
{
	gkv__cache_slot **pp = &c->table[bucket_of(c, &s->id)];

	while (*pp && *pp != s)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = s->hnext;
}

void gkv__cache_free(gkv__cache *c)
{
	gkv__cache_slot *s = c->lru_head, *next;

	while (s) {
		next = s->next;
		gkv__tree_unref(s->tree);
		free(s);
		s = next;
	}
	free(c->table);
	pthread_mutex_destroy(&c->lock);
	memset(c, 0, sizeof(*c));
}

static gkv__cache_slot *lookup(gkv__cache *c, const gkv_oid *id)
{
	gkv__cache_slot *s = c->table[bucket_of(c, id)];

	while (s && memcmp(s->id.id, id->id, GKV_OID_RAWSZ) != 0)
		s = s->hnext;
	return s;
}

gkv_tree *gkv__cache_get(gkv__cache *c, const gkv_oid *id)
{
	gkv__cache_slot *s;
	gkv_tree *t = NULL;

	if (c->capacity == 0)
		return NULL;
	pthread_mutex_lock(&c->lock);
	if ((s = lookup(c, id))) {
		if (c->clock - s->stamp > c->capacity / 4) {
			lru_unlink(c, s);
			lru_push_front(c, s);
		}
		t = gkv__tree_ref(s->tree);
	}
	pthread_mutex_unlock(&c->lock);
	return t;
}

/* Take s out of the list and the table (lock held); the caller frees it
 * with slot_free once the lock is released. */
static void slot_remove(gkv__cache *c, gkv__cache_slot *s)
{
	lru_unlink(c, s);
	hash_unlink(c, s);
	c->count--;
}

static void slot_free(gkv__cache_slot *s)
{
	if (s) {
		gkv__tree_unref(s->tree);
		free(s);
	}
}

void gkv__cache_drop(gkv__cache *c, const gkv_oid *id)
{
	gkv__cache_slot *s;

	if (c->capacity == 0)
		return;
	pthread_mutex_lock(&c->lock);
	if ((s = lookup(c, id)))
		slot_remove(c, s);
	pthread_mutex_unlock(&c->lock);
	slot_free(s);
}

gkv_tree *gkv__cache_put(gkv__cache *c, gkv_tree *t)
{
	gkv__cache_slot *s, *victim = NULL;
	gkv_oid id;

	if (c->capacity == 0)
		return t;
	if (gkv_tree_id(&id, t) < 0)
		return t;
	pthread_mutex_lock(&c->lock);
	if ((s = lookup(c, &id))) {
		/* Another thread decoded the same tree first: use its copy. */
		gkv_tree *have = gkv__tree_ref(s->tree);
		pthread_mutex_unlock(&c->lock);
		gkv__tree_unref(t);
		return have;
	}
	s = malloc(sizeof(*s));
	if (!s) {
		pthread_mutex_unlock(&c->lock);
		return t;
	}
	s->id = id;
	s->tree = gkv__tree_ref(t);
	s->hnext = c->table[bucket_of(c, &id)];
	c->table[bucket_of(c, &id)] = s;
	lru_push_front(c, s);
	if (++c->count > c->capacity) {
		victim = c->lru_tail;
		slot_remove(c, victim);
	}
	pthread_mutex_unlock(&c->lock);
	slot_free(victim);
	return t;
}
