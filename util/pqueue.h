/*
 * pqueue.h -- a growable array of 32-bit indices, and a binary heap kept
 * in one: the priority queue of history walks (commits newest first).
 * The heap orders indices by a `before` function of the caller's, which
 * sees the caller's context (the index is usually a node of the caller's
 * table). Everything is static inline: with a constant `before`, the
 * compiler inlines the comparison as if the heap were written in place.
 * Internal to the library.
 */
#ifndef GKV_PQUEUE_H
#define GKV_PQUEUE_H

#include "util.h"

typedef struct {
	uint32_t *v;
	size_t n, cap;
} gkv__u32vec;

#define GKV__U32VEC_INIT {NULL, 0, 0}

/* Room for extra more entries: 0, or GKV_E_NOMEM (the array unchanged). */
static inline int gkv__u32vec_reserve(gkv__u32vec *a, size_t extra)
{
	size_t cap;
	uint32_t *p;

	if (extra <= a->cap - a->n)
		return 0;
	if (extra > SIZE_MAX / sizeof(*p) - a->n)
		return gkv__oom();
	cap = a->cap ? a->cap : 64;
	while (cap < a->n + extra) {
		if (cap > SIZE_MAX / 2 / sizeof(*p))
			return gkv__oom();
		cap *= 2;
	}
	p = realloc(a->v, cap * sizeof(*p));
	if (!p)
		return gkv__oom();
	a->v = p;
	a->cap = cap;
	return 0;
}

static inline int gkv__u32vec_push(gkv__u32vec *a, uint32_t x)
{
	int rc = gkv__u32vec_reserve(a, 1);

	if (rc == 0)
		a->v[a->n++] = x;
	return rc;
}

static inline void gkv__u32vec_free(gkv__u32vec *a)
{
	free(a->v);
	a->v = NULL;
	a->n = a->cap = 0;
}

/* Non-zero if index a must leave the heap before index b. */
typedef int (*gkv__pqueue_before)(const void *ctx, uint32_t a, uint32_t b);

/* Add x to the heap h: 0, or GKV_E_NOMEM (the heap unchanged). */
static inline int gkv__pqueue_push(gkv__u32vec *h, uint32_t x, gkv__pqueue_before before,
    const void *ctx)
{
	size_t at, up;
	int rc;

	if ((rc = gkv__u32vec_push(h, x)) < 0)
		return rc;
	for (at = h->n - 1; at > 0; at = up) {
		up = (at - 1) / 2;
		if (!before(ctx, x, h->v[up]))
			break;
		h->v[at] = h->v[up];
	}
	h->v[at] = x;
	return 0;
}

/* Take the first index out of the heap h, which must not be empty. */
static inline uint32_t gkv__pqueue_pop(gkv__u32vec *h, gkv__pqueue_before before,
    const void *ctx)
{
	uint32_t *v = h->v, top = v[0], last = v[--h->n];
	size_t at = 0, n = h->n, kid;

	while ((kid = 2 * at + 1) < n) {
		if (kid + 1 < n && before(ctx, v[kid + 1], v[kid]))
			kid++;
		if (!before(ctx, v[kid], last))
			break;
		v[at] = v[kid];
		at = kid;
	}
	if (n > 0)
		v[at] = last;
	return top;
}

#endif
