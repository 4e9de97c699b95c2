/*
 * oidset.h -- a set of object ids (open addressing, linear probing), and
 * a FIFO of ids: what a walk of history needs to visit each object once
 * and to take commits breadth-first. Only ids are kept, never objects,
 * so a walk of a large store holds 20-odd bytes per object it visited.
 */
#ifndef GKV_SYNC_OIDSET_H
#define GKV_SYNC_OIDSET_H

#include <stddef.h>

#include "gitkv.h"

typedef struct {
	gkv_oid *slots;   /* a zero id marks an empty slot */
	size_t cap;       /* a power of two, or 0 */
	size_t count;
	int has_zero;     /* the zero id itself is in the set */
} gkv__oidset;

#define GKV__OIDSET_INIT {NULL, 0, 0, 0}

/** Add id: 1 if it was not there, 0 if it was, GKV_E_NOMEM. */
int gkv__oidset_add(gkv__oidset *s, const gkv_oid *id);
/** 1 if id is in the set, else 0. */
int gkv__oidset_has(const gkv__oidset *s, const gkv_oid *id);
void gkv__oidset_free(gkv__oidset *s);

/** A first-in first-out queue of ids (a ring that grows). */
typedef struct {
	gkv_oid *ids;
	size_t cap, head, count;
} gkv__oidq;

#define GKV__OIDQ_INIT {NULL, 0, 0, 0}

/** Append id: 0 or GKV_E_NOMEM. */
int gkv__oidq_push(gkv__oidq *q, const gkv_oid *id);
/** Take the oldest id into *out: 1, or 0 when empty. */
int gkv__oidq_pop(gkv_oid *out, gkv__oidq *q);
void gkv__oidq_free(gkv__oidq *q);

#endif
