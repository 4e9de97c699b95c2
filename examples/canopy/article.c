/*
 * article.c -- the header parser of article.h.
 *
 * The format is Canopy's: a line "---", then "key: value" lines, then
 * "---", then the body. Keys are matched exactly; unknown keys are
 * ignored (as Canopy ignores them) so a blog can carry its own. A value
 * runs to the end of its line; the header ends at the first "---" line.
 */
#include "article.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One line of value: [*line, *line + *n), without the newline (nor a
 * '\r' before it). Returns the offset after the line. */
static size_t next_line(const char *v, size_t len, size_t at, const char **line, size_t *n)
{
	size_t end = at;
	while (end < len && v[end] != '\n')
		end++;
	*line = v + at;
	*n = end - at;
	if (*n && v[end - 1] == '\r')
		(*n)--;
	return end < len ? end + 1 : end;
}

static char *trimdup(const char *s, size_t n)
{
	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return strndup(s, n);
}

static int is_dashes(const char *line, size_t n)
{
	while (n && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	return n == 3 && memcmp(line, "---", 3) == 0;
}

static int add_tags(article_header *h, const char *list)
{
	const char *p = list;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		char *tag = trimdup(p, n);
		if (!tag)
			return -1;
		int dup = tag[0] == '\0';
		for (size_t i = 0; i < h->ntags && !dup; i++)
			dup = strcmp(h->tags[i], tag) == 0;
		if (dup) {
			free(tag);
		} else {
			char **t = realloc(h->tags, (h->ntags + 1) * sizeof(*t));
			if (!t) {
				free(tag);
				return -1;
			}
			h->tags = t;
			h->tags[h->ntags++] = tag;
		}
		p += n + (comma ? 1 : 0);
	}
	return 0;
}

/* Store the value of one header line; 1 on a line that is not
 * "key: value", -1 when out of memory. */
static int header_line(article_header *h, const char *line, size_t n, char *err, size_t errlen)
{
	const char *colon = memchr(line, ':', n);
	if (!colon || colon == line) {
		snprintf(err, errlen, "header line '%.*s' is not 'key: value'",
			 (int)(n > 60 ? 60 : n), line);
		return 1;
	}
	char *key = trimdup(line, (size_t)(colon - line));
	char *val = trimdup(colon + 1, n - (size_t)(colon - line) - 1);
	int rc = 0;
	char **slot = NULL;
	if (!key || !val) {
		rc = -1;
	} else if (strcmp(key, "title") == 0) {
		slot = &h->title;
	} else if (strcmp(key, "author") == 0) {
		slot = &h->author;
	} else if (strcmp(key, "author_url") == 0) {
		slot = &h->author_url;
	} else if (strcmp(key, "abstract") == 0) {
		slot = &h->abstract_md;
	} else if (strcmp(key, "tags") == 0) {
		rc = add_tags(h, val);
	} else if (strcmp(key, "content") == 0 && strcmp(val, "markdown") != 0) {
		snprintf(err, errlen, "content '%.40s' is not 'markdown'", val);
		rc = 1;
	}
	if (slot) {
		free(*slot);
		*slot = val;
		val = NULL;
	}
	free(key);
	free(val);
	return rc;
}

static content_kind parse_redirect(char **redirect, char *err, size_t errlen, const char *v,
				   size_t len)
{
	size_t n = len;
	while (n && (v[n - 1] == '\n' || v[n - 1] == '\r' || v[n - 1] == ' '))
		n--;
	if (n > 9 && memcmp(v, "redirect:", 9) == 0 && !memchr(v, '\n', n) && !memchr(v, '\0', n)) {
		char *target = trimdup(v + 9, n - 9);
		if (target && target[0]) {
			*redirect = target;
			return CONTENT_REDIRECT;
		}
		free(target);
	}
	snprintf(err, errlen, "no header (a '---' line) and not 'redirect: PATH'");
	return CONTENT_INVALID;
}

content_kind article_parse(article_header *out, char **redirect, char *err, size_t errlen,
			   const char *value, size_t len)
{
	memset(out, 0, sizeof(*out));
	*redirect = NULL;
	const char *line;
	size_t n;
	size_t at = next_line(value, len, 0, &line, &n);
	if (!is_dashes(line, n))
		return parse_redirect(redirect, err, errlen, value, len);
	if (memchr(value, '\0', len)) {
		snprintf(err, errlen, "holds a NUL byte");
		return CONTENT_INVALID;
	}
	for (;;) {
		if (at >= len) {
			snprintf(err, errlen, "header has no closing '---' line");
			goto invalid;
		}
		at = next_line(value, len, at, &line, &n);
		if (is_dashes(line, n))
			break;
		if (n == 0)
			continue;
		int rc = header_line(out, line, n, err, errlen);
		if (rc < 0) {
			snprintf(err, errlen, "out of memory");
			goto invalid;
		}
		if (rc > 0)
			goto invalid;
	}
	if (!out->title || !out->title[0]) {
		snprintf(err, errlen, "header has no 'title'");
		goto invalid;
	}
	if (!out->author || !out->author[0]) {
		snprintf(err, errlen, "header has no 'author'");
		goto invalid;
	}
	out->body = value + at;
	out->body_len = len - at;
	return CONTENT_ARTICLE;
invalid:
	article_header_dispose(out);
	return CONTENT_INVALID;
}

void article_header_dispose(article_header *h)
{
	free(h->title);
	free(h->author);
	free(h->author_url);
	free(h->abstract_md);
	for (size_t i = 0; i < h->ntags; i++)
		free(h->tags[i]);
	free(h->tags);
	memset(h, 0, sizeof(*h));
}
