/*
 * slab.h -- the memory of a repo's trees: nodes, their entry and key
 * arrays, names and pending values, in size classes kept on free lists.
 *
 * Why not malloc: a bulk load builds a tree of ~100,000 entries, writes
 * it, and frees it; every page of it is touched for the first time, and
 * on a virtual machine a first touch (14.5 us a 4 KiB page on a typical
 * VM) was over half of a bulk load's time. A slab takes its chunks from an
 * arena (arena.h), 2 MiB blocks advised as huge pages, and keeps what is
 * freed for the next node of the same class: the second load of a
 * process, or the next commit, touches nothing new. What it holds goes
 * back to the heap when the repo is freed, not before: a process keeps
 * the peak of its trees' memory for the repo's lifetime.
 *
 * Blocks of more than GKV__SLAB_MAX bytes come from malloc. Every block
 * has a 16-byte header naming its slab and class, so that gkv__slab_free
 * needs neither. Thread-safe (one mutex): trees are freed by whichever
 * thread drops the last reference. Under AddressSanitizer every block is
 * plain malloc, so that use after free is still caught.
 */
#ifndef GKV_SLAB_H
#define GKV_SLAB_H

#include <stddef.h>

#include "arena.h"

#define GKV__SLAB_MAX 4096
#define GKV__SLAB_CLASSES 40

typedef struct gkv__slab_block gkv__slab_block;

typedef struct {
	pthread_mutex_t lock;
	gkv__arena arena;
	gkv__slab_block *free[GKV__SLAB_CLASSES];
} gkv__slab;

/* 0, or GKV_E_ERROR if its locks cannot be made. */
int gkv__slab_init(gkv__slab *s);
/* Give everything back; every block of s must be freed already. s may
 * be zeroed (never initialised). */
void gkv__slab_free_all(gkv__slab *s);

/* len bytes, 16-byte aligned; NULL with GKV_E_NOMEM raised. */
void *gkv__slab_alloc(gkv__slab *s, size_t len);
/* len bytes, zeroed. */
void *gkv__slab_calloc(gkv__slab *s, size_t len);
/* As realloc: p may be NULL; on failure p is unchanged and NULL returned. */
void *gkv__slab_realloc(gkv__slab *s, void *p, size_t len);
/* A copy of the len bytes at src and a NUL. */
char *gkv__slab_strndup(gkv__slab *s, const char *src, size_t len);
/* Free a block of any slab (NULL is ignored). */
void gkv__slab_free(void *p);

#endif
