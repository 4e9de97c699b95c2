/*
 * map.c -- the string hash table of map.h (FNV-1a, linear probing,
 * grown at half full).
 */
#include "map.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static map_slot *find(const map *m, const char *key)
{
	size_t mask = m->cap - 1;
	for (size_t i = hash(key) & mask;; i = (i + 1) & mask) {
		map_slot *s = &m->slots[i];
		if (!s->key || strcmp(s->key, key) == 0)
			return s;
	}
}

static int grow(map *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64;
	map_slot *old = m->slots;
	size_t oldcap = m->cap;
	m->slots = calloc(cap, sizeof(*m->slots));
	if (!m->slots) {
		m->slots = old;
		return -1;
	}
	m->cap = cap;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].key)
			*find(m, old[i].key) = old[i];
	free(old);
	return 0;
}

int map_put(map *m, const char *key, void *value, void **old)
{
	if (old)
		*old = NULL;
	if ((m->count + 1) * 2 > m->cap && grow(m) < 0)
		return -1;
	map_slot *s = find(m, key);
	if (s->key) {
		if (old)
			*old = s->value;
		s->value = value;
		return 0;
	}
	s->key = strdup(key);
	if (!s->key)
		return -1;
	s->value = value;
	m->count++;
	return 0;
}

void *map_get(const map *m, const char *key)
{
	if (!m->cap)
		return NULL;
	return find(m, key)->value;
}

void map_clear(map *m, void (*free_value)(void *))
{
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->slots[i].key)
			continue;
		free(m->slots[i].key);
		if (free_value && m->slots[i].value)
			free_value(m->slots[i].value);
	}
	free(m->slots);
	m->slots = NULL;
	m->cap = m->count = 0;
}
