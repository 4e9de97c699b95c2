/*
 * arena.c -- chunks of heap memory that allocations are bumped from.
 *
 * Ordinary chunks start at 64 KiB (a small store stays small), double to
 * 256 KiB, then are 2 MiB: a 2 MiB chunk is 2 MiB-aligned and advised
 * MADV_HUGEPAGE, so that the kernel backs it with one huge page at its
 * first touch. (Doubling on through 512 KiB and 1 MiB left 1.5 MiB to be
 * touched a 4 KiB page at a time, at 12-17 us each on a VM: 2,000
 * one-value commits on mem took 104 such faults, filling the 1 MiB chunk.)
 *
 * Chunks come from malloc, not mmap: memory the process used and freed
 * (a bulk load's tree, say) comes back with no first touches, where a
 * fresh mapping would touch new memory every time (2,000 commits on a
 * store of a million values: 0.17-0.21 s with mmap'd chunks, 0.11-0.17 s
 * from the heap). The first
 * chunk of the list is the current one; the others are full. Allocations
 * over LARGE bytes get a block of their own (kept on a second list), so
 * that a chunk never loses more than LARGE at its end.
 *
 * Under AddressSanitizer the free part of every chunk is poisoned and each
 * allocation is followed by a 16-byte red zone, so that the sanitizer sees
 * overruns between objects as it would between malloc blocks.
 */
#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util.h"

#ifdef GKV__ASAN
#include <sanitizer/asan_interface.h>
#define ARENA_REDZONE 16
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define ARENA_REDZONE 0
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define ARENA_ALIGN 16
#define ARENA_FIRST ((size_t)64 << 10)
#define ARENA_LAST_SMALL ((size_t)256 << 10)
#define HUGE_TABLE ((size_t)512 << 10)
#define ARENA_HUGE ((size_t)2 << 20)
#define LARGE ((size_t)128 << 10)

struct gkv__arena_chunk {
	gkv__arena_chunk *next, *prev; /* prev is kept for the large list only */
	size_t size;		       /* bytes of the block, this header included */
	size_t top;		       /* offset of the first free byte */
};

/* The header rounded up so that the first allocation is aligned. */
#define HDR ((sizeof(gkv__arena_chunk) + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1))

static size_t round_up(size_t n, size_t to)
{
	return (n + to - 1) & ~(to - 1);
}

/* The bytes an allocation of len takes: aligned, with its red zone. */
static size_t footprint(size_t len)
{
	return round_up(len, ARENA_ALIGN) + ARENA_REDZONE;
}

/*
 * size bytes (a multiple of the page size) from the heap: memory the
 * process has used and freed comes back without first touches. From
 * ARENA_HUGE on, the block is aligned to ARENA_HUGE and advised as huge
 * pages, which the kernel honours for the pages not yet touched.
 */
static void *chunk_bytes(size_t size)
{
	size_t align = size >= ARENA_HUGE ? ARENA_HUGE : (size_t)sysconf(_SC_PAGESIZE);
	void *p;

	if (posix_memalign(&p, align, size) != 0)
		return NULL;
#ifdef MADV_HUGEPAGE
	if (size >= ARENA_HUGE)
		madvise(p, size, MADV_HUGEPAGE); /* advice: failing is fine */
#endif
	return p;
}

void *gkv__huge_calloc(size_t n, size_t size)
{
	size_t bytes;
	void *p;

	if (size && n > SIZE_MAX / 2 / size) {
		gkv__oom();
		return NULL;
	}
	bytes = n * size;
	if (bytes < HUGE_TABLE) {
		if (!(p = calloc(n ? n : 1, size ? size : 1)))
			gkv__oom();
		return p;
	}
	bytes = round_up(bytes, ARENA_HUGE);
	if (!(p = chunk_bytes(bytes))) {
		gkv__oom();
		return NULL;
	}
	return memset(p, 0, bytes);
}

static gkv__arena_chunk *chunk_new(gkv__arena *a, size_t size)
{
	gkv__arena_chunk *c = chunk_bytes(size);

	if (!c)
		return NULL;
	c->next = c->prev = NULL;
	c->size = size;
	c->top = HDR;
	POISON((char *)c + HDR, size - HDR);
	a->held += size;
	return c;
}

static void chunk_free(gkv__arena *a, gkv__arena_chunk *c)
{
	size_t size = c->size;

	UNPOISON(c, size); /* free() and the heap's next user expect it clean */
	a->held -= size;
	free(c);
}

int gkv__arena_init(gkv__arena *a)
{
	memset(a, 0, sizeof(*a));
	if (pthread_mutex_init(&a->lock, NULL) != 0)
		return gkv_error_set(GKV_E_ERROR, "cannot create an arena's lock");
	a->next_size = ARENA_FIRST;
	return 0;
}

/* An allocation with a block of its own, first on the large list. */
static void *alloc_large(gkv__arena *a, size_t need)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	gkv__arena_chunk *c = chunk_new(a, round_up(HDR + need, page));

	if (!c)
		return NULL;
	c->top = HDR + need;
	c->next = a->large;
	if (a->large)
		a->large->prev = c;
	a->large = c;
	return (char *)c + HDR;
}

void *gkv__arena_alloc(gkv__arena *a, size_t len)
{
	size_t need;
	gkv__arena_chunk *c;
	char *p = NULL;

	if (len > SIZE_MAX / 2) {
		gkv__oom();
		return NULL;
	}
	need = footprint(len ? len : 1);
	pthread_mutex_lock(&a->lock);
	if (need > LARGE) {
		p = alloc_large(a, need);
		goto out;
	}
	c = a->chunks;
	if (!c || c->size - c->top < need) {
		/* need <= LARGE < ARENA_HUGE: the smallest chunk may be too small */
		size_t size =
		    a->next_size >= HDR + need ? a->next_size : round_up(HDR + need, ARENA_FIRST);

		if (!(c = chunk_new(a, size)))
			goto out;
		c->next = a->chunks;
		a->chunks = c;
		if (a->next_size < ARENA_HUGE)
			a->next_size =
			    a->next_size < ARENA_LAST_SMALL ? a->next_size * 2 : ARENA_HUGE;
	}
	p = (char *)c + c->top;
	c->top += need;
out:
	pthread_mutex_unlock(&a->lock);
	if (!p) {
		gkv__oom();
		return NULL;
	}
	UNPOISON(p, len);
	return p;
}

void gkv__arena_unalloc(gkv__arena *a, void *p, size_t len)
{
	size_t need;
	gkv__arena_chunk *c;

	if (!p)
		return;
	need = footprint(len ? len : 1);
	pthread_mutex_lock(&a->lock);
	if (need > LARGE) {
		c = (gkv__arena_chunk *)((char *)p - HDR);
		if (c->prev)
			c->prev->next = c->next;
		else
			a->large = c->next;
		if (c->next)
			c->next->prev = c->prev;
		chunk_free(a, c);
	} else if ((c = a->chunks) != NULL && (char *)p + need == (char *)c + c->top) {
		c->top -= need;
		POISON(p, need);
	} else {
		POISON(p, need);
		a->lost += need;
	}
	pthread_mutex_unlock(&a->lock);
}

void gkv__arena_shrink(gkv__arena *a, void *p, size_t len, size_t new_len)
{
	size_t need = footprint(len ? len : 1), keep = footprint(new_len ? new_len : 1);
	gkv__arena_chunk *c;

	if (!p || keep >= need || need > LARGE)
		return; /* a block of its own keeps its size */
	pthread_mutex_lock(&a->lock);
	if ((c = a->chunks) != NULL && (char *)p + need == (char *)c + c->top) {
		c->top -= need - keep;
		POISON((char *)p + keep, need - keep);
	}
	pthread_mutex_unlock(&a->lock);
}

static void free_list(gkv__arena *a, gkv__arena_chunk *c)
{
	while (c) {
		gkv__arena_chunk *next = c->next;

		chunk_free(a, c);
		c = next;
	}
}

void gkv__arena_free(gkv__arena *a)
{
	if (!a->next_size)
		return; /* zeroed, never initialised, or freed already */
	free_list(a, a->chunks);
	free_list(a, a->large);
	pthread_mutex_destroy(&a->lock);
	memset(a, 0, sizeof(*a));
}
