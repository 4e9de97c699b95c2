/*
 * tree_cache.h -- the bounded LRU cache of decoded trees, keyed by id,
 * that every repo keeps (tree_cache.c says how it works).
 */
#ifndef GKV_TREE_CACHE_H
#define GKV_TREE_CACHE_H

#include <pthread.h>

#include "common.h"

/* A bounded LRU cache of decoded trees, keyed by id (tree_cache.c). */
#define GKV__CACHE_NONE UINT32_MAX
typedef struct gkv__cache_ent gkv__cache_ent;
typedef struct {
	pthread_mutex_t lock;
	gkv__cache_ent *ents; /* open addressing, nslots (a power of two) */
	size_t nslots;
	size_t count;
	size_t capacity;
	uint32_t lru_head; /* most recently used; GKV__CACHE_NONE if empty */
	uint32_t lru_tail;
	uint64_t clock; /* moves to the front so far */
} gkv__cache;

int gkv__cache_init(gkv__cache *c, size_t capacity);
void gkv__cache_free(gkv__cache *c);
/* Returns a new reference to the cached tree, or NULL. */
gkv_tree *gkv__cache_get(gkv__cache *c, const gkv_oid *id);
/* Insert (the cache takes its own reference); returns the tree to use
 * (an already cached equal tree, with a new reference, if there was one;
 * then t is released). */
gkv_tree *gkv__cache_put(gkv__cache *c, gkv_tree *t);
/* Forget the tree of that id, if cached (its users keep their references). */
void gkv__cache_drop(gkv__cache *c, const gkv_oid *id);

#endif
