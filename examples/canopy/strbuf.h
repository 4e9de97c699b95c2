/*
 * strbuf.h -- a growable byte string for building pages.
 *
 * Canopy assembles every page, listing and feed by appending to one of
 * these. An allocation failure is remembered (->failed) rather than
 * returned at each call, so templates read as straight lines; the
 * builder checks once at the end and drops the page.
 */
#ifndef CANOPY_STRBUF_H
#define CANOPY_STRBUF_H
#include <stddef.h>

typedef struct {
	char *ptr; /* NUL-terminated while not failed */
	size_t len;
	size_t cap;
	int failed; /* an allocation failed: the contents are incomplete */
} strbuf;

#define STRBUF_INIT                                                                                \
	{                                                                                          \
		NULL, 0, 0, 0                                                                      \
	}

void sb_add(strbuf *sb, const void *data, size_t len);
void sb_puts(strbuf *sb, const char *s);
void sb_printf(strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Text escaped for HTML and XML (element text and quoted attributes). */
void sb_html(strbuf *sb, const char *s);
void sb_html_n(strbuf *sb, const char *s, size_t len);
/* A path or tag percent-encoded for a URL ('/' kept when keep_slash). */
void sb_url(strbuf *sb, const char *s, int keep_slash);
/* Hand the buffer over (NULL if it failed); sb is empty afterwards. */
char *sb_detach(strbuf *sb, size_t *len);
void sb_free(strbuf *sb);

#endif
