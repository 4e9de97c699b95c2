/*
 * render.h -- HTML and Atom from articles: the templates.
 *
 * Every HTML page is the same shell (blog name, menu of the top-level
 * names, feed link) around one piece of content: an article, a listing
 * or the tag index. The shell's constant parts are made once per build
 * (render_chrome) so that a rebuild can tell whether an unchanged
 * article's page can be reused as it is.
 */
#ifndef CANOPY_RENDER_H
#define CANOPY_RENDER_H
#include <stddef.h>
#include <stdint.h>

#include <gitkv.h>

#include "strbuf.h"

/* The blog's settings, from .config/ (see README). */
typedef struct {
	char *uuid;
	char *blog_name;
	char *index_page;
	char *root; /* without a trailing '/' */
} site_conf;

/* An article's parsed and rendered contents, shared by every build in
 * which its value (blob) is the same. Reference counted. */
typedef struct {
	int refs;
	gkv_oid blob;
	char *title;
	char *author;
	char *author_url; /* NULL, or an http(s) or site-relative URL */
	char **tags;
	size_t ntags;
	char *abstract_html; /* NULL if none */
	char *body_html;
} post_body;

/* An article in one build: where it is and its dates. */
typedef struct {
	char *key; /* the path in the tree */
	char *url; /* the path served: key without a final ".md" */
	post_body *b;
	int64_t created;
	int64_t updated;
} post;

/* The parts of the page shell that do not depend on the page. */
typedef struct {
	char *mid;  /* from after the <title> text to the opening of <main> */
	char *tail; /* from the end of <main> to the end */
} chrome;

/* Markdown (CommonMark with GitHub's tables, strikethrough, task lists
 * and autolinks; fenced code gets class="language-X") as HTML into out.
 * Returns 0, or -1 if the renderer failed. */
int render_markdown(strbuf *out, const char *md, size_t len);
void post_body_unref(post_body *b);

/* "2016-03-21" and "2016-03-21T10:00:00Z" (UTC). */
void render_day(char out[16], int64_t t);
void render_rfc3339(char out[32], int64_t t);

/* The shell for conf with the menu names[0..n) (each links to /NAME);
 * NULL fields when out of memory. */
chrome render_chrome(const site_conf *conf, char **names, size_t n);
void chrome_dispose(chrome *c);
int chrome_equal(const chrome *a, const chrome *b);

/* A whole HTML page: title (text) and content (HTML) in the shell. */
void render_page(strbuf *out, const chrome *c, const char *title, const char *content,
		 size_t content_len);
/* An article's content. */
void render_article(strbuf *out, const post *p);
/* One entry of a listing (title link, author, created date, abstract). */
void render_list_item(strbuf *out, const post *p);
/* The Atom feed of posts[0..n) (newest first; at most the first 10 are
 * used); updated is the feed's date. */
void render_atom(strbuf *out, const site_conf *conf, post *const *posts, size_t n, int64_t updated);

#endif
