/*
 * arena.h -- memory carved into blocks that are given back all at once:
 * the mem backend's objects, and the chunks of the tree slab (slab.h).
 * Internal to the library.
 *
 * Why not a malloc per object: a store that grows touches fresh memory
 * for every object it keeps, and on a virtual machine the first touch of a 4 KiB page can
 * cost more than the rest of a commit (14.5 us a page on a typical VM,
 * against ~10 us to hash the objects of a one-value commit). An arena's
 * chunks grow to 2 MiB, aligned and advised as transparent huge pages
 * (where the kernel offers them), so that one first touch maps 512 pages.
 *
 * Thread-safe: allocation is a bump under the arena's mutex.
 */
#ifndef GKV_ARENA_H
#define GKV_ARENA_H

#include <pthread.h>
#include <stddef.h>

/* GKV__ASAN: built with AddressSanitizer (gcc says so one way, clang
 * another); the arena and the slab then let the sanitizer see blocks. */
#if defined(__SANITIZE_ADDRESS__)
#define GKV__ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GKV__ASAN 1
#endif
#endif

typedef struct gkv__arena_chunk gkv__arena_chunk;

typedef struct {
	pthread_mutex_t lock;
	gkv__arena_chunk *chunks; /* the current chunk first, then older ones */
	gkv__arena_chunk *large;  /* allocations with a block of their own */
	size_t next_size;	  /* the size of the next ordinary chunk */
	size_t held;		  /* bytes taken from the heap, chunk headers included */
	size_t lost;		  /* bytes given back that could not be reused */
} gkv__arena;

/* 0, or GKV_E_ERROR if the mutex cannot be made. */
int gkv__arena_init(gkv__arena *a);

/*
 * len bytes (len > 0), 16-byte aligned, valid until gkv__arena_free.
 * NULL, with GKV_E_NOMEM raised, when the heap has no more. An
 * allocation larger than a chunk's sixteenth gets a block of its own.
 */
void *gkv__arena_alloc(gkv__arena *a, size_t len);

/*
 * Give back p (len as allocated): its bytes are reused when p is the last
 * allocation of its chunk (a batch that aborts gives back in reverse
 * order) or has a block of its own; otherwise they are lost until the
 * arena is freed, and counted in `lost`.
 */
void gkv__arena_unalloc(gkv__arena *a, void *p, size_t len);

/*
 * Shrink p, allocated with len bytes, to new_len (<= len): the bytes past
 * it are reused when p is the last allocation of its chunk (an object
 * written into room for its worst case, then found smaller).
 */
void gkv__arena_shrink(gkv__arena *a, void *p, size_t len, size_t new_len);

/* Give everything back to the heap; a may be zeroed (never initialised) or already freed. */
void gkv__arena_free(gkv__arena *a);

/*
 * n * size zeroed bytes for a table that is rebuilt as it grows (free()
 * it): from 512 KiB on, rounded up to 2 MiB, aligned and advised as huge
 * pages, as an arena's big chunks are, so that filling it costs a few
 * huge-page faults rather than one fault a 4 KiB page. Below, calloc.
 * NULL, with GKV_E_NOMEM raised, on overflow or when the heap has no more.
 */
void *gkv__huge_calloc(size_t n, size_t size);

#endif
