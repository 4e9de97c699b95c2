/*
 * map.h -- a hash table from strings to pointers.
 *
 * Routes (URL path to page), dates (key to created/updated) and the
 * previous build's articles (key to parsed article) are all looked up
 * by string. Keys are copied; values are the caller's. Lookups never
 * write, so a map that no one changes any more may be read by many
 * threads at once (a served snapshot's routes).
 */
#ifndef CANOPY_MAP_H
#define CANOPY_MAP_H
#include <stddef.h>

typedef struct {
	char *key;
	void *value;
} map_slot;

typedef struct {
	map_slot *slots; /* open addressing, linear probing; NULL key: empty */
	size_t cap;	 /* a power of two, or 0 */
	size_t count;
} map;

/* Set key to value (replacing an old value, which is returned in *old
 * if old is not NULL). Returns 0, or -1 when out of memory. */
int map_put(map *m, const char *key, void *value, void **old);
void *map_get(const map *m, const char *key);
/* Free the table and its keys; each value is passed to free_value if
 * it is not NULL. */
void map_clear(map *m, void (*free_value)(void *));

#endif
