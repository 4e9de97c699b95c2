/*
 * maint.h -- internal interface of the maintenance of a store: object
 * checks (object_check.c), fsck (fsck.c), gc (gc.c), statistics
 * (stats.c) and the set of ids they share (oidmap.c).
 */
#ifndef GKV_MAINT_H
#define GKV_MAINT_H

#include "common.h"

/* gkv_object_check, naming id (may be NULL) in its messages. */
int gkv__object_check(gkv_otype type, const void *data, size_t len, const gkv_oid *id);

/*
 * A set of ids, each with a byte of the caller's (an object's type and
 * marks): open addressing over the ids' first bytes (SHA-1s are
 * uniform), grown by doubling, at most half full. One allocation per
 * growth, none per id.
 */
typedef struct {
	gkv_oid *ids;
	uint8_t *val; /* 0: the slot is empty; the caller's values are 1-255 */
	size_t nslots, count;
} gkv__oidmap;

void gkv__oidmap_init(gkv__oidmap *m);
void gkv__oidmap_free(gkv__oidmap *m);
/* The value of id, or 0 if absent. */
uint8_t gkv__oidmap_get(const gkv__oidmap *m, const gkv_oid *id);
/* Set id's value (1-255), adding id if absent. GKV_E_NOMEM. */
int gkv__oidmap_put(gkv__oidmap *m, const gkv_oid *id, uint8_t val);
/* The slot of id (for in-place changes of its value), or NULL. */
uint8_t *gkv__oidmap_at(gkv__oidmap *m, const gkv_oid *id);

/* A stack of ids still to follow, grown by doubling: fsck's and gc's
 * walks from the refs. Zero it to start; free ids when done. */
typedef struct {
	gkv_oid *ids;
	size_t n, cap;
} gkv__oidstack;

/* Push a copy of id. GKV_E_NOMEM. */
int gkv__oidstack_push(gkv__oidstack *st, const gkv_oid *id);

/* Every stored object's id, with its type as value (from foreach and
 * read_header, or read when the backend has no read_header). */
int gkv__oidmap_load_all(gkv__oidmap *m, gkv_backend *b, int with_types);

/* Every ref, sorted by name, into *names and *targets, *n of each: free
 * each name and both arrays (on failure nothing is left to free). */
int gkv__refs_all(char ***names, gkv_oid **targets, size_t *n, gkv_backend *b);

#endif
