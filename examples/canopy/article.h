/*
 * article.h -- Canopy's content model: what one key of the blog holds.
 *
 * A value is an article when it starts with a header between two "---"
 * lines of "key: value" lines, then a markdown body:
 *
 *     ---
 *     title: Hello
 *     author: Ada
 *     author_url: https://example.org/ada
 *     tags: news, c
 *     abstract: A *short* summary.
 *     content: markdown
 *     ---
 *     The body, in markdown.
 *
 * title and author are required; content, when present, must be
 * "markdown". A value with no header whose text is "redirect: PATH" is
 * a redirect. Anything else does not parse: the caller skips it with the
 * message given here.
 */
#ifndef CANOPY_ARTICLE_H
#define CANOPY_ARTICLE_H
#include <stddef.h>

typedef struct {
	char *title;
	char *author;
	char *author_url;  /* NULL if absent */
	char *abstract_md; /* NULL if absent */
	char **tags;	   /* trimmed, non-empty, without repeats */
	size_t ntags;
	const char *body; /* the markdown after the header: points into the value */
	size_t body_len;
} article_header;

typedef enum { CONTENT_ARTICLE = 1, CONTENT_REDIRECT = 2, CONTENT_INVALID = 3 } content_kind;

/*
 * Parse value (len bytes, not NUL-terminated). CONTENT_ARTICLE fills
 * *out (free with article_header_dispose; out->body points into value);
 * CONTENT_REDIRECT puts the target (allocated) in *redirect;
 * CONTENT_INVALID writes why (one line) into err. Out of memory is
 * CONTENT_INVALID too, with that reason.
 */
content_kind article_parse(article_header *out, char **redirect, char *err, size_t errlen,
			   const char *value, size_t len);
void article_header_dispose(article_header *h);

#endif
