/*
 * buf.c -- byte buffers: the growable one the core builds objects in, and
 * the gkv_buf / gkv_strarray / gkv_oidarray handed to callers.
 */
#include "util.h"

int gkv__sbuf_grow(gkv__sbuf *b, size_t extra)
{
	size_t need, cap;
	unsigned char *p;

	if (extra > SIZE_MAX - b->size)
		return gkv__oom();
	need = b->size + extra;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(b->ptr, cap);
	if (!p)
		return gkv__oom();
	b->ptr = p;
	b->cap = cap;
	return 0;
}

int gkv__sbuf_put(gkv__sbuf *b, const void *data, size_t len)
{
	int rc;

	if (len == 0)
		return 0;
	if ((rc = gkv__sbuf_grow(b, len)) < 0)
		return rc;
	memcpy(b->ptr + b->size, data, len);
	b->size += len;
	return 0;
}

int gkv__sbuf_puts(gkv__sbuf *b, const char *s)
{
	return gkv__sbuf_put(b, s, strlen(s));
}

int gkv__sbuf_putc(gkv__sbuf *b, char c)
{
	return gkv__sbuf_put(b, &c, 1);
}

void gkv__sbuf_free(gkv__sbuf *b)
{
	free(b->ptr);
	b->ptr = NULL;
	b->size = b->cap = 0;
}

void gkv__sbuf_detach(gkv_buf *out, gkv__sbuf *b)
{
	out->ptr = b->ptr;
	out->size = b->size;
	b->ptr = NULL;
	b->size = b->cap = 0;
}

int gkv__buf_set(gkv_buf *out, const void *data, size_t len)
{
	out->ptr = NULL;
	out->size = 0;
	if (len == 0)
		return 0;
	out->ptr = malloc(len);
	if (!out->ptr)
		return gkv__oom();
	memcpy(out->ptr, data, len);
	out->size = len;
	return 0;
}

void gkv_buf_dispose(gkv_buf *buf)
{
	if (!buf)
		return;
	free(buf->ptr);
	buf->ptr = NULL;
	buf->size = 0;
}

void gkv_strarray_dispose(gkv_strarray *arr)
{
	if (!arr)
		return;
	for (size_t i = 0; i < arr->count; i++)
		free(arr->strings[i]);
	free(arr->strings);
	arr->strings = NULL;
	arr->count = 0;
}

void gkv_oidarray_dispose(gkv_oidarray *arr)
{
	if (!arr)
		return;
	free(arr->ids);
	arr->ids = NULL;
	arr->count = 0;
}

char *gkv__strndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (!p) {
		gkv__oom();
		return NULL;
	}
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *gkv__strdup(const char *s)
{
	return gkv__strndup(s, strlen(s));
}
