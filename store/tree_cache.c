/*
 * tree_cache.c -- the bounded LRU cache of decoded trees that keeps the
 * hot upper levels of a store's tree in memory.
 *
 * The cache holds one reference to each tree it keeps. Cached trees are
 * clean (decoded from the store, their id known) and immutable, so
 * threads share them freely; the cache's own lock is held only to find,
 * insert or evict, never while decoding.
 *
 * The cache is one open-addressing table (linear probing, at most half
 * full) whose entries hold the id, the tree, and the LRU list's links as
 * indices: a lookup reads one entry, not a bucket and then a slot of its
 * own, and a put or a drop allocates nothing. The table grows with what
 * it holds, up to twice the capacity; a removal shifts the entries after
 * it back (no tombstones) and mends the links of what it moves.
 *
 * A hit moves its entry to the front of the LRU list only if the entry is
 * not among the last quarter of the capacity moved there: a hot tree is
 * found without rewriting its neighbours' links (cache lines a read would
 * not otherwise touch), and eviction stays close to LRU.
 */
#include "arena.h"
#include "repo.h"

#define NONE GKV__CACHE_NONE
/* Indices are 32 bits: a capacity beyond MAX_SLOTS / 2 trees acts as
 * MAX_SLOTS / 2 (a billion decoded trees is far more than memory). */
#define MAX_SLOTS ((size_t)1 << 31)
#define MIN_SLOTS 64

struct gkv__cache_ent {
	gkv_oid id;
	uint32_t prev, next; /* LRU neighbours (indices), NONE at the ends */
	gkv_tree *tree;	     /* NULL: the entry is empty */
	uint64_t stamp;	     /* c->clock when last moved to the front */
};

static size_t home_of(const gkv__cache *c, const gkv_oid *id)
{
	uint64_t h;

	memcpy(&h, id->id, sizeof(h)); /* tree ids are SHA-1s: uniform */
	return (size_t)h & (c->nslots - 1);
}

/* The most trees the cache keeps: its capacity, within what 32-bit
 * indices can hold half full. */
static size_t limit_of(const gkv__cache *c)
{
	return c->capacity < MAX_SLOTS / 2 ? c->capacity : MAX_SLOTS / 2;
}

int gkv__cache_init(gkv__cache *c, size_t capacity)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	c->capacity = capacity;
	c->lru_head = c->lru_tail = NONE;
	return 0;
}

static void lru_unlink(gkv__cache *c, uint32_t i)
{
	gkv__cache_ent *e = &c->ents[i];

	if (e->prev != NONE)
		c->ents[e->prev].next = e->next;
	else
		c->lru_head = e->next;
	if (e->next != NONE)
		c->ents[e->next].prev = e->prev;
	else
		c->lru_tail = e->prev;
	e->prev = e->next = NONE;
}

static void lru_push_front(gkv__cache *c, uint32_t i)
{
	gkv__cache_ent *e = &c->ents[i];

	e->stamp = ++c->clock;
	e->prev = NONE;
	e->next = c->lru_head;
	if (c->lru_head != NONE)
		c->ents[c->lru_head].prev = i;
	c->lru_head = i;
	if (c->lru_tail == NONE)
		c->lru_tail = i;
}

/* The entry holding id, or the empty one where it would go. */
static size_t find(const gkv__cache *c, const gkv_oid *id)
{
	size_t mask = c->nslots - 1, i = home_of(c, id);

	while (c->ents[i].tree && memcmp(c->ents[i].id.id, id->id, GKV_OID_RAWSZ) != 0)
		i = (i + 1) & mask;
	return i;
}

/* Entry `from` moves to the empty entry `to`; its neighbours follow. */
static void move_ent(gkv__cache *c, size_t from, size_t to)
{
	gkv__cache_ent *e = &c->ents[to];

	*e = c->ents[from];
	c->ents[from].tree = NULL;
	if (e->prev != NONE)
		c->ents[e->prev].next = (uint32_t)to;
	else
		c->lru_head = (uint32_t)to;
	if (e->next != NONE)
		c->ents[e->next].prev = (uint32_t)to;
	else
		c->lru_tail = (uint32_t)to;
}

/*
 * Take entry i out (lock held) and return its tree, whose reference the
 * caller drops once the lock is released. The entries after it that
 * would not be found past the hole any more shift back into it.
 */
static gkv_tree *remove_at(gkv__cache *c, size_t i)
{
	size_t mask = c->nslots - 1, j = i;
	gkv_tree *t = c->ents[i].tree;

	lru_unlink(c, (uint32_t)i);
	c->ents[i].tree = NULL;
	c->count--;
	for (;;) {
		size_t k;

		j = (j + 1) & mask;
		if (!c->ents[j].tree)
			break;
		k = home_of(c, &c->ents[j].id);
		/* j stays if its home lies cyclically in (i, j] */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		move_ent(c, j, i);
		i = j;
	}
	return t;
}

/*
 * Room for one more entry (lock held): a table at least twice the count,
 * grown by re-inserting the entries from the least recently used on, so
 * that the list keeps its order and its stamps. False if none can be had
 * (the tree is then not kept: a cache may forget).
 */
static bool make_room(gkv__cache *c)
{
	gkv__cache_ent *old = c->ents;
	uint32_t old_tail = c->lru_tail;
	size_t n = c->nslots ? c->nslots : MIN_SLOTS;

	while ((c->count + 1) * 2 > n && n < MAX_SLOTS)
		n *= 2;
	if ((c->count + 1) * 2 > n)
		return false;
	if (n == c->nslots)
		return true;
	if (!(c->ents = gkv__huge_calloc(n, sizeof(*c->ents)))) {
		c->ents = old;
		return false;
	}
	c->nslots = n;
	c->lru_head = c->lru_tail = NONE;
	for (uint32_t i = old_tail; i != NONE; i = old[i].prev) {
		size_t at = find(c, &old[i].id);

		c->ents[at].id = old[i].id;
		c->ents[at].tree = old[i].tree;
		lru_push_front(c, (uint32_t)at);
		c->ents[at].stamp = old[i].stamp;
	}
	free(old);
	return true;
}

void gkv__cache_free(gkv__cache *c)
{
	for (uint32_t i = c->lru_head; c->ents && i != NONE; i = c->ents[i].next)
		gkv__tree_unref(c->ents[i].tree);
	free(c->ents);
	pthread_mutex_destroy(&c->lock);
	memset(c, 0, sizeof(*c));
	c->lru_head = c->lru_tail = NONE;
}

gkv_tree *gkv__cache_get(gkv__cache *c, const gkv_oid *id)
{
	gkv__cache_ent *e;
	gkv_tree *t = NULL;
	size_t i;

	if (c->capacity == 0)
		return NULL;
	pthread_mutex_lock(&c->lock);
	if (c->count && (e = &c->ents[i = find(c, id)])->tree) {
		if (c->clock - e->stamp > c->capacity / 4) {
			lru_unlink(c, (uint32_t)i);
			lru_push_front(c, (uint32_t)i);
		}
		t = gkv__tree_ref(e->tree);
	}
	pthread_mutex_unlock(&c->lock);
	return t;
}

void gkv__cache_drop(gkv__cache *c, const gkv_oid *id)
{
	gkv_tree *t = NULL;
	size_t i;

	if (c->capacity == 0)
		return;
	pthread_mutex_lock(&c->lock);
	if (c->count && c->ents[i = find(c, id)].tree)
		t = remove_at(c, i);
	pthread_mutex_unlock(&c->lock);
	gkv__tree_unref(t);
}

gkv_tree *gkv__cache_put(gkv__cache *c, gkv_tree *t)
{
	gkv_tree *victim = NULL;
	gkv_oid id;
	size_t i;

	if (c->capacity == 0)
		return t;
	if (gkv_tree_id(&id, t) < 0)
		return t;
	pthread_mutex_lock(&c->lock);
	if (c->count && c->ents[i = find(c, &id)].tree) {
		/* Another thread decoded the same tree first: use its copy. */
		gkv_tree *have = gkv__tree_ref(c->ents[i].tree);

		pthread_mutex_unlock(&c->lock);
		gkv__tree_unref(t);
		return have;
	}
	if (c->count >= limit_of(c))
		victim = remove_at(c, c->lru_tail);
	if (make_room(c)) {
		i = find(c, &id);
		c->ents[i].id = id;
		c->ents[i].tree = gkv__tree_ref(t);
		lru_push_front(c, (uint32_t)i);
		c->count++;
	}
	pthread_mutex_unlock(&c->lock);
	gkv__tree_unref(victim);
	return t;
}
