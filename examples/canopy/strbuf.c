/*
 * strbuf.c -- the growable string of strbuf.h.
 */
#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int sb_grow(strbuf *sb, size_t more)
{
	if (sb->failed)
		return -1;
	if (sb->len + more + 1 <= sb->cap)
		return 0;
	size_t cap = sb->cap ? sb->cap : 256;
	while (cap < sb->len + more + 1) {
		if (cap > ((size_t)-1) / 2) {
			sb->failed = 1;
			return -1;
		}
		cap *= 2;
	}
	char *p = realloc(sb->ptr, cap);
	if (!p) {
		sb->failed = 1;
		return -1;
	}
	sb->ptr = p;
	sb->cap = cap;
	return 0;
}

void sb_add(strbuf *sb, const void *data, size_t len)
{
	if (sb_grow(sb, len) < 0)
		return;
	if (len)
		memcpy(sb->ptr + sb->len, data, len);
	sb->len += len;
	sb->ptr[sb->len] = '\0';
}

void sb_puts(strbuf *sb, const char *s)
{
	sb_add(sb, s, strlen(s));
}

void sb_printf(strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || sb_grow(sb, (size_t)n) < 0) {
		sb->failed = 1;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(sb->ptr + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
}

void sb_html_n(strbuf *sb, const char *s, size_t len)
{
	size_t start = 0;
	for (size_t i = 0; i < len; i++) {
		const char *rep = NULL;
		switch (s[i]) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			continue;
		}
		sb_add(sb, s + start, i - start);
		sb_puts(sb, rep);
		start = i + 1;
	}
	sb_add(sb, s + start, len - start);
}

void sb_html(strbuf *sb, const char *s)
{
	sb_html_n(sb, s, strlen(s));
}

void sb_url(strbuf *sb, const char *s, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char c = *p;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
			char ch = (char)c;
			sb_add(sb, &ch, 1);
		} else {
			char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
			sb_add(sb, esc, 3);
		}
	}
}

char *sb_detach(strbuf *sb, size_t *len)
{
	char *p = NULL;
	if (!sb->failed) {
		if (!sb->ptr)
			sb_add(sb, "", 0);
		p = sb->ptr;
		if (len)
			*len = sb->len;
		sb->ptr = NULL;
	}
	sb_free(sb);
	return p;
}

void sb_free(strbuf *sb)
{
	free(sb->ptr);
	sb->ptr = NULL;
	sb->len = sb->cap = 0;
	sb->failed = 0;
}
