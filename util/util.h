/*
 * util.h -- what every layer of the library shares: the public headers,
 * error raising, a growable byte buffer, string copies and reference
 * counts. The bottom layer: it includes nothing of store/ or backends/,
 * and both include it. Internal: never installed.
 */
#ifndef GKV_UTIL_H
#define GKV_UTIL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gitkv.h"
#include "gitkv/sys/backend.h"

/* Raise an error: sets this thread's message and returns code. */
#define gkv__error gkv_error_set

/* Out of memory: sets the message, returns GKV_E_NOMEM. */
int gkv__oom(void);

/* A growable byte buffer for building objects and messages. */
typedef struct {
	unsigned char *ptr;
	size_t size;
	size_t cap;
} gkv__sbuf;

#define GKV__SBUF_INIT {NULL, 0, 0}

int gkv__sbuf_grow(gkv__sbuf *b, size_t extra);
int gkv__sbuf_put(gkv__sbuf *b, const void *data, size_t len);
int gkv__sbuf_puts(gkv__sbuf *b, const char *s);
int gkv__sbuf_putc(gkv__sbuf *b, char c);
void gkv__sbuf_free(gkv__sbuf *b);
/* Hand the contents over as a gkv_buf (the sbuf is left empty). */
void gkv__sbuf_detach(gkv_buf *out, gkv__sbuf *b);

/* Copy len bytes into a new gkv_buf. */
int gkv__buf_set(gkv_buf *out, const void *data, size_t len);

/* Copies of a string (of its first n bytes), or NULL with GKV_E_NOMEM set. */
char *gkv__strdup(const char *s);
char *gkv__strndup(const char *s, size_t n);

typedef atomic_size_t gkv__refcount;

#endif
