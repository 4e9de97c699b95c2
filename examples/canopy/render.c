/*
 * render.c -- the templates of render.h.
 *
 * Everything that came from the blog's content is escaped here (titles,
 * names, tags, URLs) except the HTML the markdown renderer produced,
 * which is the author's own. The Atom feed carries HTML as escaped text
 * (type="html"), so any markup in it stays well-formed XML.
 */
#include "render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <md4c-html.h>
#include <md4c.h>
#include <openssl/sha.h>

static const char style[] =
    "<style>"
    "body{margin:0;font:17px/1.55 Georgia,serif;color:#222;background:#fdfcf8}"
    "header{background:#1f4e3d;color:#fff;padding:1em 2em}"
    "header a{color:#fff;text-decoration:none}"
    "header .name{font-size:1.6em;font-weight:bold;margin-right:1.5em}"
    "nav{display:inline}nav a{margin-right:1em;opacity:.9}"
    "main{max-width:46em;margin:2em auto;padding:0 1.5em}"
    "h1{color:#1f4e3d;line-height:1.2}"
    ".meta{color:#666;font-size:.9em}.tags a{margin-right:.5em;background:#e7efe9;"
    "padding:0 .4em;border-radius:3px;color:#1f4e3d;text-decoration:none}"
    "ul.posts{list-style:none;padding:0}ul.posts li{margin:0 0 1.6em}"
    "ul.posts a.title{font-size:1.25em;color:#1f4e3d}"
    "pre{background:#f1f1ec;padding:.8em;overflow:auto}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .6em}"
    "footer{text-align:center;color:#888;font-size:.85em;margin:3em 0 2em}"
    "</style>";

static void md_out(const MD_CHAR *text, MD_SIZE size, void *payload)
{
	sb_add(payload, text, size);
}

/* md4c 0.4.8 (Debian 12) can read a few bytes past the end of its input
 * (found by tests/fuzz_article.c: "![img](x.pn" at the very end). The
 * input is therefore copied with a final newline, which CommonMark
 * ignores, and zero bytes after it that md4c may read but not count. */
#define MD_PAD 64

int render_markdown(strbuf *out, const char *md, size_t len)
{
	if (len > (MD_SIZE)-1 - MD_PAD)
		return -1;
	char *copy = calloc(1, len + MD_PAD);
	if (!copy)
		return -1;
	memcpy(copy, md, len);
	size_t n = len;
	if (n == 0 || copy[n - 1] != '\n')
		copy[n++] = '\n';
	int rc = md_html(copy, (MD_SIZE)n, md_out, out, MD_DIALECT_GITHUB, 0) == 0 ? 0 : -1;
	free(copy);
	return rc;
}

void post_body_unref(post_body *b)
{
	if (!b || __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	free(b->title);
	free(b->author);
	free(b->author_url);
	for (size_t i = 0; i < b->ntags; i++)
		free(b->tags[i]);
	free(b->tags);
	free(b->abstract_html);
	free(b->body_html);
	free(b);
}

void render_day(char out[16], int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, 16, "%Y-%m-%d", &tm);
}

void render_rfc3339(char out[32], int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

chrome render_chrome(const site_conf *conf, char **names, size_t n)
{
	chrome c = {NULL, NULL};
	strbuf sb = STRBUF_INIT;
	sb_puts(&sb, " - ");
	sb_html(&sb, conf->blog_name);
	sb_puts(&sb, "</title>\n<meta name=\"viewport\" content=\"width=device-width\">\n"
		     "<link rel=\"alternate\" type=\"application/atom+xml\" title=\"");
	sb_html(&sb, conf->blog_name);
	sb_puts(&sb, "\" href=\"/atom\">\n");
	sb_puts(&sb, style);
	sb_puts(&sb, "\n</head>\n<body>\n<header><a class=\"name\" href=\"/\">");
	sb_html(&sb, conf->blog_name);
	sb_puts(&sb, "</a>\n<nav>");
	for (size_t i = 0; i < n; i++) {
		sb_puts(&sb, "<a href=\"/");
		sb_url(&sb, names[i], 1);
		sb_puts(&sb, "\">");
		sb_html(&sb, names[i]);
		sb_puts(&sb, "</a>");
	}
	sb_puts(&sb,
		"<a href=\"/tags\">tags</a><a href=\"/atom\">feed</a></nav></header>\n<main>\n");
	c.mid = sb_detach(&sb, NULL);
	sb_puts(&sb, "</main>\n<footer>");
	sb_html(&sb, conf->blog_name);
	sb_puts(&sb, " &middot; <a href=\"/atom\">Atom feed</a> &middot; served by Canopy on gitkv"
		     "</footer>\n</body>\n</html>\n");
	c.tail = sb_detach(&sb, NULL);
	return c;
}

void chrome_dispose(chrome *c)
{
	free(c->mid);
	free(c->tail);
	c->mid = c->tail = NULL;
}

int chrome_equal(const chrome *a, const chrome *b)
{
	return a->mid && b->mid && a->tail && b->tail && strcmp(a->mid, b->mid) == 0 &&
	       strcmp(a->tail, b->tail) == 0;
}

void render_page(strbuf *out, const chrome *c, const char *title, const char *content,
		 size_t content_len)
{
	sb_puts(out,
		"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>");
	sb_html(out, title);
	sb_puts(out, c->mid);
	sb_add(out, content, content_len);
	sb_puts(out, c->tail);
}

static void render_author(strbuf *out, const post_body *b)
{
	if (b->author_url) {
		sb_puts(out, "<a rel=\"author\" href=\"");
		sb_html(out, b->author_url);
		sb_puts(out, "\">");
		sb_html(out, b->author);
		sb_puts(out, "</a>");
	} else {
		sb_html(out, b->author);
	}
}

void render_article(strbuf *out, const post *p)
{
	char created[16], updated[16];
	render_day(created, p->created);
	render_day(updated, p->updated);
	sb_puts(out, "<article>\n<h1>");
	sb_html(out, p->b->title);
	sb_puts(out, "</h1>\n<p class=\"meta\">by ");
	render_author(out, p->b);
	sb_printf(out, " &middot; published <time class=\"created\" datetime=\"%s\">%s</time>",
		  created, created);
	sb_printf(out,
		  " &middot; last updated <time class=\"updated\" datetime=\"%s\">%s</time></p>\n",
		  updated, updated);
	if (p->b->ntags) {
		sb_puts(out, "<p class=\"tags\">");
		for (size_t i = 0; i < p->b->ntags; i++) {
			sb_puts(out, "<a href=\"/tags/");
			sb_url(out, p->b->tags[i], 0);
			sb_puts(out, "\">");
			sb_html(out, p->b->tags[i]);
			sb_puts(out, "</a>");
		}
		sb_puts(out, "</p>\n");
	}
	sb_puts(out, "<div class=\"body\">\n");
	sb_puts(out, p->b->body_html);
	sb_puts(out, "</div>\n</article>\n");
}

void render_list_item(strbuf *out, const post *p)
{
	char created[16];
	render_day(created, p->created);
	sb_puts(out, "<li><a class=\"title\" href=\"/");
	sb_url(out, p->url, 1);
	sb_puts(out, "\">");
	sb_html(out, p->b->title);
	sb_puts(out, "</a>\n<div class=\"meta\">by ");
	render_author(out, p->b);
	sb_printf(out, " &middot; <time class=\"created\" datetime=\"%s\">%s</time></div>\n",
		  created, created);
	if (p->b->abstract_html) {
		sb_puts(out, "<div class=\"abstract\">");
		sb_puts(out, p->b->abstract_html);
		sb_puts(out, "</div>");
	}
	sb_puts(out, "</li>\n");
}

/* An entry id that survives edits: a name-based (version 5 style) UUID
 * from the blog's uuid, the article's creation date and its key (two
 * articles of one commit share a date). */
static void entry_id(strbuf *out, const char *uuid, const post *p)
{
	unsigned char md[SHA_DIGEST_LENGTH];
	strbuf in = STRBUF_INIT;
	sb_printf(&in, "%s\n%lld\n%s", uuid, (long long)p->created, p->key);
	if (in.failed) {
		out->failed = 1;
		return;
	}
	SHA1((const unsigned char *)in.ptr, in.len, md);
	sb_free(&in);
	md[6] = (unsigned char)((md[6] & 0x0f) | 0x50);
	md[8] = (unsigned char)((md[8] & 0x3f) | 0x80);
	sb_puts(out, "urn:uuid:");
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			sb_puts(out, "-");
		sb_printf(out, "%02x", md[i]);
	}
}

void render_atom(strbuf *out, const site_conf *conf, post *const *posts, size_t n, int64_t updated)
{
	char date[32];
	render_rfc3339(date, updated);
	sb_puts(out, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
		     "<feed xmlns=\"http://www.w3.org/2005/Atom\">\n<id>urn:uuid:");
	sb_html(out, conf->uuid);
	sb_puts(out, "</id>\n<title>");
	sb_html(out, conf->blog_name);
	sb_printf(out, "</title>\n<updated>%s</updated>\n<link rel=\"self\" href=\"", date);
	sb_html(out, conf->root);
	sb_puts(out, "/atom\"/>\n<link rel=\"alternate\" href=\"");
	sb_html(out, conf->root);
	sb_puts(out, "/\"/>\n<generator>Canopy on gitkv</generator>\n");
	for (size_t i = 0; i < n && i < 10; i++) {
		const post *p = posts[i];
		sb_puts(out, "<entry>\n<id>");
		entry_id(out, conf->uuid, p);
		sb_puts(out, "</id>\n<title>");
		sb_html(out, p->b->title);
		render_rfc3339(date, p->updated);
		sb_printf(out, "</title>\n<updated>%s</updated>\n", date);
		render_rfc3339(date, p->created);
		sb_printf(out, "<published>%s</published>\n<author><name>", date);
		sb_html(out, p->b->author);
		sb_puts(out, "</name>");
		if (p->b->author_url) {
			sb_puts(out, "<uri>");
			sb_html(out, p->b->author_url);
			sb_puts(out, "</uri>");
		}
		sb_puts(out, "</author>\n<link rel=\"alternate\" href=\"");
		sb_html(out, conf->root);
		sb_puts(out, "/");
		strbuf u = STRBUF_INIT;
		sb_url(&u, p->url, 1);
		sb_html(out, u.ptr ? u.ptr : "");
		sb_free(&u);
		sb_puts(out, "\"/>\n");
		for (size_t t = 0; t < p->b->ntags; t++) {
			sb_puts(out, "<category term=\"");
			sb_html(out, p->b->tags[t]);
			sb_puts(out, "\"/>\n");
		}
		if (p->b->abstract_html) {
			sb_puts(out, "<summary type=\"html\">");
			sb_html(out, p->b->abstract_html);
			sb_puts(out, "</summary>\n");
		}
		sb_puts(out, "<content type=\"html\">");
		sb_html(out, p->b->body_html);
		sb_puts(out, "</content>\n</entry>\n");
	}
	sb_puts(out, "</feed>\n");
}
