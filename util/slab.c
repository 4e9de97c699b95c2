/*
 * slab.c -- size classes on free lists, carved from an arena.
 *
 * Classes: every 16 bytes up to 256, every 64 up to 1024, every 256 up to
 * 4096 (the header included), so that a block wastes at most a quarter of
 * itself and most far less. A freed block goes on its class's list, its
 * first 16 bytes (the header) reused as the link.
 */
#include "slab.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#ifdef GKV__ASAN
#define SLAB_PLAIN 1 /* every block from malloc: use after free is caught */
#endif

#define LARGE_CLASS 0xffffffffu

/* Before every block: who owns it. On a free list, `next` links it. */
struct gkv__slab_block {
	union {
		gkv__slab *slab;
		gkv__slab_block *next;
	} u;
	uint32_t cls;
	uint32_t pad;
};

#define HDR sizeof(gkv__slab_block)

#ifndef SLAB_PLAIN
/* The class of a block of total bytes (header included, <= MAX). */
static unsigned class_of(size_t total)
{
	if (total <= 256)
		return (unsigned)((total + 15) / 16) - 1; /* 0..15 */
	if (total <= 1024)
		return 16 + (unsigned)((total - 256 + 63) / 64) - 1; /* 16..27 */
	return 28 + (unsigned)((total - 1024 + 255) / 256) - 1;	     /* 28..39 */
}
#endif

static size_t class_size(unsigned cls)
{
	if (cls < 16)
		return (size_t)(cls + 1) * 16;
	if (cls < 28)
		return 256 + (size_t)(cls - 15) * 64;
	return 1024 + (size_t)(cls - 27) * 256;
}

int gkv__slab_init(gkv__slab *s)
{
	memset(s, 0, sizeof(*s));
	if (pthread_mutex_init(&s->lock, NULL) != 0)
		return gkv_error_set(GKV_E_ERROR, "cannot create a slab's lock");
	if (gkv__arena_init(&s->arena) < 0) {
		pthread_mutex_destroy(&s->lock);
		return GKV_E_ERROR;
	}
	return 0;
}

void gkv__slab_free_all(gkv__slab *s)
{
	if (!s->arena.next_size)
		return; /* zeroed, or freed already */
	gkv__arena_free(&s->arena);
	pthread_mutex_destroy(&s->lock);
	memset(s, 0, sizeof(*s));
}

static gkv__slab_block *block_large(size_t total)
{
	gkv__slab_block *b = malloc(total);

	if (b)
		b->cls = LARGE_CLASS;
	return b;
}

void *gkv__slab_alloc(gkv__slab *s, size_t len)
{
	gkv__slab_block *b;
	size_t total;

	if (len > SIZE_MAX / 2) {
		gkv__oom();
		return NULL;
	}
	total = HDR + (len ? len : 1);
#ifdef SLAB_PLAIN
	b = block_large(total);
#else
	if (total > GKV__SLAB_MAX) {
		b = block_large(total);
	} else {
		unsigned cls = class_of(total);

		pthread_mutex_lock(&s->lock);
		if ((b = s->free[cls]) != NULL)
			s->free[cls] = b->u.next;
		pthread_mutex_unlock(&s->lock);
		/* the arena has its own lock; a new block needs no list */
		if (!b && (b = gkv__arena_alloc(&s->arena, class_size(cls))) == NULL)
			return NULL; /* NOMEM raised by the arena */
		b->cls = cls;
	}
#endif
	if (!b) {
		gkv__oom();
		return NULL;
	}
	b->u.slab = s;
	return b + 1;
}

void *gkv__slab_calloc(gkv__slab *s, size_t len)
{
	void *p = gkv__slab_alloc(s, len);

	if (p)
		memset(p, 0, len);
	return p;
}

/* The bytes a block of a class can hold. */
static size_t capacity(const gkv__slab_block *b)
{
	return class_size(b->cls) - HDR;
}

void *gkv__slab_realloc(gkv__slab *s, void *p, size_t len)
{
	gkv__slab_block *b;
	void *q;

	if (!p)
		return gkv__slab_alloc(s, len);
	b = (gkv__slab_block *)p - 1;
	if (b->cls != LARGE_CLASS && len <= capacity(b))
		return p;	     /* it fits in its class already */
	if (b->cls == LARGE_CLASS) { /* malloc's block stays malloc's */
		if (len > SIZE_MAX / 2 || !(q = realloc(b, HDR + len))) {
			gkv__oom();
			return NULL;
		}
		return (gkv__slab_block *)q + 1;
	}
	/* To another class, or past the largest: move. */
	if (!(q = gkv__slab_alloc(s, len)))
		return NULL;
	memcpy(q, p, capacity(b) < len ? capacity(b) : len);
	gkv__slab_free(p);
	return q;
}

char *gkv__slab_strndup(gkv__slab *s, const char *src, size_t len)
{
	char *p = gkv__slab_alloc(s, len + 1);

	if (p) {
		memcpy(p, src, len);
		p[len] = '\0';
	}
	return p;
}

void gkv__slab_free(void *p)
{
	gkv__slab_block *b;
	gkv__slab *s;

	if (!p)
		return;
	b = (gkv__slab_block *)p - 1;
	if (b->cls == LARGE_CLASS) {
		free(b);
		return;
	}
	s = b->u.slab;
	pthread_mutex_lock(&s->lock);
	b->u.next = s->free[b->cls];
	s->free[b->cls] = b;
	pthread_mutex_unlock(&s->lock);
}
