/*
 * oidset.c -- the id set and id queue of oidset.h. Ids are SHA-1s, so
 * their first bytes are already uniformly spread: they are the hash.
 */
#include <string.h>

#include "oidset.h"
#include "util.h"

static size_t slot_of(const gkv_oid *id, size_t mask)
{
	uint64_t h;
	memcpy(&h, id->id, sizeof(h));
	return (size_t)h & mask;
}

static int grow(gkv__oidset *s)
{
	size_t ncap = s->cap ? s->cap * 2 : 64, i;
	gkv_oid *n = calloc(ncap, sizeof(*n));
	if (!n)
		return gkv__oom();
	for (i = 0; i < s->cap; i++) {
		const gkv_oid *id = &s->slots[i];
		size_t j;
		if (gkv_oid_is_zero(id))
			continue;
		for (j = slot_of(id, ncap - 1); !gkv_oid_is_zero(&n[j]); j = (j + 1) & (ncap - 1))
			;
		n[j] = *id;
	}
	free(s->slots);
	s->slots = n;
	s->cap = ncap;
	return 0;
}

int gkv__oidset_add(gkv__oidset *s, const gkv_oid *id)
{
	size_t j;
	int rc;

	if (gkv_oid_is_zero(id)) {
		rc = !s->has_zero;
		s->has_zero = 1;
		return rc;
	}
	/* keep the load under 1/2, so that probes stay short */
	if ((s->count + 1) * 2 > s->cap && (rc = grow(s)) < 0)
		return rc;
	for (j = slot_of(id, s->cap - 1); !gkv_oid_is_zero(&s->slots[j]);
	     j = (j + 1) & (s->cap - 1))
		if (gkv_oid_equal(&s->slots[j], id))
			return 0;
	s->slots[j] = *id;
	s->count++;
	return 1;
}

int gkv__oidset_has(const gkv__oidset *s, const gkv_oid *id)
{
	size_t j;

	if (gkv_oid_is_zero(id))
		return s->has_zero;
	if (!s->cap)
		return 0;
	for (j = slot_of(id, s->cap - 1); !gkv_oid_is_zero(&s->slots[j]);
	     j = (j + 1) & (s->cap - 1))
		if (gkv_oid_equal(&s->slots[j], id))
			return 1;
	return 0;
}

void gkv__oidset_free(gkv__oidset *s)
{
	free(s->slots);
	memset(s, 0, sizeof(*s));
}

int gkv__oidq_push(gkv__oidq *q, const gkv_oid *id)
{
	if (q->count == q->cap) {
		size_t ncap = q->cap ? q->cap * 2 : 32, i;
		gkv_oid *n = malloc(ncap * sizeof(*n));
		if (!n)
			return gkv__oom();
		for (i = 0; i < q->count; i++)
			n[i] = q->ids[(q->head + i) % q->cap];
		free(q->ids);
		q->ids = n;
		q->cap = ncap;
		q->head = 0;
	}
	q->ids[(q->head + q->count) % q->cap] = *id;
	q->count++;
	return 0;
}

int gkv__oidq_pop(gkv_oid *out, gkv__oidq *q)
{
	if (!q->count)
		return 0;
	*out = q->ids[q->head];
	q->head = (q->head + 1) % q->cap;
	q->count--;
	return 1;
}

void gkv__oidq_free(gkv__oidq *q)
{
	free(q->ids);
	memset(q, 0, sizeof(*q));
}
