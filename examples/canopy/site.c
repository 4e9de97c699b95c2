/*
 * site.c -- building a snapshot (see site.h): the routes.
 *
 *   ""            the index_page key: an article, a directory's listing,
 *                 or (absent) the listing of every article
 *   KEY, URL      an article (URL is KEY without a final ".md"), a
 *                 redirect (301), or a file under static/ (raw)
 *   DIR           every article below DIR, newest created first
 *   tags          every tag; tags/TAG: the articles that carry TAG
 *   atom          the feed of the 10 newest articles
 *
 * Nothing else is a route: .config/ and every name that starts with '.'
 * are never served, and neither is a value that did not parse.
 */
#include "site.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "article.h"

typedef struct {
	gkv_oid blob;
	page *page;
} static_file;

static void static_file_free(void *v)
{
	static_file *f = v;
	page_unref(f->page);
	free(f);
}

static void post_free(void *v)
{
	post *p = v;
	free(p->key);
	free(p->url);
	post_body_unref(p->b);
	free(p);
}

static void conf_dispose(site_conf *c)
{
	free(c->uuid);
	free(c->blog_name);
	free(c->index_page);
	free(c->root);
	memset(c, 0, sizeof(*c));
}

snapshot *snapshot_ref(snapshot *s)
{
	if (s)
		__atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
	return s;
}

void snapshot_unref(snapshot *s)
{
	if (!s || __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	map_clear(&s->routes, page_unref_void);
	map_clear(&s->posts, post_free);
	map_clear(&s->statics, static_file_free);
	page_unref(s->notfound);
	chrome_dispose(&s->chrome);
	conf_dispose(&s->conf);
	free(s);
}

page *snapshot_lookup(const snapshot *s, const char *path)
{
	return map_get(&s->routes, path);
}

const char *site_content_type(const char *path)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
	    {"html", "text/html; charset=utf-8"},
	    {"htm", "text/html; charset=utf-8"},
	    {"css", "text/css; charset=utf-8"},
	    {"js", "text/javascript; charset=utf-8"},
	    {"json", "application/json"},
	    {"xml", "application/xml"},
	    {"txt", "text/plain; charset=utf-8"},
	    {"md", "text/plain; charset=utf-8"},
	    {"png", "image/png"},
	    {"jpg", "image/jpeg"},
	    {"jpeg", "image/jpeg"},
	    {"gif", "image/gif"},
	    {"svg", "image/svg+xml"},
	    {"webp", "image/webp"},
	    {"ico", "image/x-icon"},
	    {"pdf", "application/pdf"},
	    {"woff", "font/woff"},
	    {"woff2", "font/woff2"},
	    {"ttf", "font/ttf"},
	    {"wasm", "application/wasm"},
	    {"mp4", "video/mp4"},
	    {"webm", "video/webm"},
	    {"mp3", "audio/mpeg"},
	};
	const char *slash = strrchr(path, '/');
	const char *dot = strrchr(slash ? slash : path, '.');
	if (dot)
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (strcasecmp(dot + 1, types[i].ext) == 0)
				return types[i].type;
	return "application/octet-stream";
}

/* ------------------------------------------------------------ settings */

static char *conf_value(gkv_tree *tree, const char *key, const char *dflt)
{
	gkv_buf v = {0};
	int found = 0;
	char path[64];
	snprintf(path, sizeof(path), ".config/%s", key);
	if (gkv_tree_find(&v, &found, tree, path) < 0 || !found)
		return dflt ? strdup(dflt) : NULL;
	size_t n = v.size;
	const char *s = (const char *)v.ptr;
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		n--;
	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	char *out = (n || !dflt) ? strndup(s, n) : strdup(dflt);
	gkv_buf_dispose(&v);
	return out;
}

static int read_conf(site_conf *c, gkv_tree *tree, char *err, size_t errlen)
{
	c->uuid = conf_value(tree, "uuid", NULL);
	if (!c->uuid || !c->uuid[0] || strchr(c->uuid, '\n')) {
		snprintf(err, errlen, "the content has no .config/uuid (required)");
		return GKV_E_NOTFOUND;
	}
	c->blog_name = conf_value(tree, "blog_name", "Canopy");
	c->index_page = conf_value(tree, "index_page", "Index");
	c->root = conf_value(tree, "root", "http://localhost");
	if (!c->blog_name || !c->index_page || !c->root)
		return GKV_E_NOMEM;
	size_t n = strlen(c->root);
	while (n && c->root[n - 1] == '/')
		c->root[--n] = '\0';
	return 0;
}

/* -------------------------------------------------------------- values */

typedef struct {
	char *key;
	gkv_oid blob;
} value_ref;

typedef struct {
	value_ref *v;
	size_t n, cap;
	int failed;
} value_list;

/* Whether a segment of path starts with '.' (.config, .github, ...). */
static int hidden(const char *path)
{
	for (const char *p = path; *p; p++)
		if (*p == '.' && (p == path || p[-1] == '/'))
			return 1;
	return 0;
}

static int collect_value(const char *path, gkv_kind kind, const gkv_oid *id, void *payload)
{
	value_list *l = payload;
	if ((kind != GKV_KIND_VALUE && kind != GKV_KIND_EXEC) || hidden(path))
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		value_ref *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return GKV_E_NOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n].key = strdup(path);
	if (!l->v[l->n].key)
		return GKV_E_NOMEM;
	l->v[l->n++].blob = *id;
	return 0;
}

static int read_blob(gkv_buf *out, gkv_repo *repo, const gkv_oid *id)
{
	gkv_otype type;
	return gkv_repo_object_read(out, &type, repo, id);
}

/* A route takes over one reference to p (also on failure). */
static int route_put(snapshot *s, const char *path, page *p)
{
	void *old = NULL;
	if (!p)
		return GKV_E_NOMEM;
	if (map_put(&s->routes, path, p, &old) < 0) {
		page_unref(p);
		return GKV_E_NOMEM;
	}
	page_unref(old);
	return 0;
}

static int route_put_if_absent(snapshot *s, const char *path, page *p)
{
	if (map_get(&s->routes, path)) {
		page_unref(p);
		return 0;
	}
	return route_put(s, path, p);
}

static int add_static(snapshot *s, gkv_repo *repo, const value_ref *v, const snapshot *prev,
		      const dates *d)
{
	static_file *old = prev ? map_get(&prev->statics, v->key) : NULL;
	static_file *f = calloc(1, sizeof(*f));
	if (!f)
		return GKV_E_NOMEM;
	f->blob = v->blob;
	if (old && gkv_oid_equal(&old->blob, &v->blob)) {
		f->page = page_ref(old->page);
	} else {
		gkv_buf b = {0};
		int rc = read_blob(&b, repo, &v->blob);
		if (rc < 0) {
			free(f);
			return rc;
		}
		size_t len = b.size;
		char *body = malloc(len ? len : 1);
		if (body && len)
			memcpy(body, b.ptr, len);
		gkv_buf_dispose(&b);
		const dates_entry *de = dates_get(d, v->key);
		f->page =
		    page_new(200, site_content_type(v->key), body, len, de ? de->updated : 0, NULL);
	}
	if (!f->page || map_put(&s->statics, v->key, f, NULL) < 0) {
		static_file_free(f);
		return GKV_E_NOMEM;
	}
	return route_put(s, v->key, page_ref(f->page));
}

static char *url_of(const char *key)
{
	size_t n = strlen(key);
	if (n > 3 && strcmp(key + n - 3, ".md") == 0 && key[n - 4] != '/')
		n -= 3;
	return strndup(key, n);
}

static char *markdown_html(const char *md, size_t len)
{
	strbuf sb = STRBUF_INIT;
	if (render_markdown(&sb, md, len) < 0) {
		sb_free(&sb);
		return NULL;
	}
	return sb_detach(&sb, NULL);
}

static int safe_url(const char *u)
{
	return strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0 ||
	       strncmp(u, "mailto:", 7) == 0 || (u[0] == '/' && u[1] != '/');
}

/* Parse and render value into a new post_body (NULL with err set for a
 * value that does not parse, or with *redirect set for a redirect). */
static post_body *parse_post(char **redirect, char *err, size_t errlen, const gkv_buf *v,
			     const gkv_oid *blob)
{
	article_header h;
	content_kind k = article_parse(&h, redirect, err, errlen, (const char *)v->ptr, v->size);
	if (k != CONTENT_ARTICLE)
		return NULL;
	post_body *b = calloc(1, sizeof(*b));
	if (!b) {
		article_header_dispose(&h);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	b->refs = 1;
	b->blob = *blob;
	b->title = h.title;
	b->author = h.author;
	b->tags = h.tags;
	b->ntags = h.ntags;
	h.title = h.author = NULL;
	h.tags = NULL;
	h.ntags = 0;
	if (h.author_url && safe_url(h.author_url)) {
		b->author_url = h.author_url;
		h.author_url = NULL;
	}
	if (h.abstract_md && h.abstract_md[0])
		b->abstract_html = markdown_html(h.abstract_md, strlen(h.abstract_md));
	b->body_html = markdown_html(h.body, h.body_len);
	int bad_abstract = h.abstract_md && h.abstract_md[0] && !b->abstract_html;
	article_header_dispose(&h);
	if (!b->body_html || bad_abstract) {
		snprintf(err, errlen, "the markdown renderer failed");
		post_body_unref(b);
		return NULL;
	}
	return b;
}

static page *redirect_page(const char *target)
{
	strbuf loc = STRBUF_INIT;
	if (target[0] != '/' && !strstr(target, "://"))
		sb_puts(&loc, "/");
	sb_puts(&loc, target);
	char *l = sb_detach(&loc, NULL);
	if (!l)
		return NULL;
	strbuf body = STRBUF_INIT;
	sb_puts(&body, "<!DOCTYPE html>\n<title>Moved</title>\n<p>Moved to <a href=\"");
	sb_html(&body, l);
	sb_puts(&body, "\">");
	sb_html(&body, l);
	sb_puts(&body, "</a>.</p>\n");
	size_t len;
	char *b = sb_detach(&body, &len);
	page *p = page_new(301, "text/html; charset=utf-8", b, len, 0, l);
	free(l);
	return p;
}

/* One value that is not under static/: an article (into s->posts), a
 * redirect (routed at once) or a value skipped with a warning. */
static int add_content(snapshot *s, gkv_repo *repo, const value_ref *v, const snapshot *prev,
		       const dates *d)
{
	post *old = prev ? map_get(&prev->posts, v->key) : NULL;
	post_body *b = NULL;
	if (old && gkv_oid_equal(&old->b->blob, &v->blob)) {
		b = old->b;
		__atomic_add_fetch(&b->refs, 1, __ATOMIC_RELAXED);
	} else {
		gkv_buf val = {0};
		int rc = read_blob(&val, repo, &v->blob);
		if (rc < 0)
			return rc;
		char *redirect = NULL;
		char why[160] = "";
		b = parse_post(&redirect, why, sizeof(why), &val, &v->blob);
		gkv_buf_dispose(&val);
		if (redirect) {
			char *url = url_of(v->key);
			page *p = redirect_page(redirect);
			free(redirect);
			rc = url ? route_put(s, v->key, page_ref(p)) : GKV_E_NOMEM;
			if (rc == 0 && strcmp(url, v->key) != 0)
				rc = route_put_if_absent(s, url, page_ref(p));
			page_unref(p);
			free(url);
			return rc;
		}
		if (!b) {
			fprintf(stderr, "canopy: skipping '%s': %s\n", v->key, why);
			s->nskipped++;
			return 0;
		}
	}
	post *p = calloc(1, sizeof(*p));
	if (!p) {
		post_body_unref(b);
		return GKV_E_NOMEM;
	}
	p->b = b;
	p->key = strdup(v->key);
	p->url = url_of(v->key);
	const dates_entry *de = dates_get(d, v->key);
	p->created = de ? de->created : 0;
	p->updated = de ? de->updated : 0;
	if (!p->key || !p->url || map_put(&s->posts, v->key, p, NULL) < 0) {
		post_free(p);
		return GKV_E_NOMEM;
	}
	s->narticles++;
	return 0;
}

/* ---------------------------------------------------------------- pages */

static page *html_page(const snapshot *s, const char *title, strbuf *content, int64_t updated)
{
	strbuf sb = STRBUF_INIT;
	if (content->failed)
		sb.failed = 1;
	render_page(&sb, &s->chrome, title, content->ptr ? content->ptr : "", content->len);
	sb_free(content);
	size_t len;
	char *body = sb_detach(&sb, &len);
	return page_new(200, "text/html; charset=utf-8", body, len, updated, NULL);
}

static int article_page(snapshot *s, const post *p, const snapshot *prev)
{
	post *old = prev ? map_get(&prev->posts, p->key) : NULL;
	page *pg = NULL;
	if (old && old->b == p->b && old->created == p->created && old->updated == p->updated &&
	    chrome_equal(&prev->chrome, &s->chrome))
		pg = page_ref(snapshot_lookup(prev, p->key));
	if (!pg) {
		strbuf content = STRBUF_INIT;
		render_article(&content, p);
		pg = html_page(s, p->b->title, &content, p->updated);
	}
	if (!pg)
		return GKV_E_NOMEM;
	int rc = route_put(s, p->key, page_ref(pg));
	if (rc == 0 && strcmp(p->url, p->key) != 0)
		rc = route_put_if_absent(s, p->url, page_ref(pg));
	page_unref(pg);
	return rc;
}

static int by_created_desc(const void *a, const void *b)
{
	const post *x = *(post *const *)a, *y = *(post *const *)b;
	if (x->created != y->created)
		return x->created > y->created ? -1 : 1;
	return strcmp(x->key, y->key);
}

static int by_string(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A listing under construction: its items, in the order added. */
typedef struct {
	strbuf items;
	size_t count;
	int64_t updated;
} listing;

static void listing_free(void *v)
{
	listing *l = v;
	sb_free(&l->items);
	free(l);
}

static int listing_add(map *m, const char *name, const post *p)
{
	listing *l = map_get(m, name);
	if (!l) {
		l = calloc(1, sizeof(*l));
		if (!l || map_put(m, name, l, NULL) < 0) {
			free(l);
			return GKV_E_NOMEM;
		}
	}
	render_list_item(&l->items, p);
	l->count++;
	if (p->updated > l->updated)
		l->updated = p->updated;
	return l->items.failed ? GKV_E_NOMEM : 0;
}

static page *listing_page(const snapshot *s, const char *title, const char *heading, listing *l)
{
	strbuf content = STRBUF_INIT;
	sb_puts(&content, "<h1>");
	sb_html(&content, heading);
	sb_printf(&content, "</h1>\n<ul class=\"posts\">\n");
	if (l)
		sb_add(&content, l->items.ptr ? l->items.ptr : "", l->items.len);
	sb_puts(&content, "</ul>\n");
	return html_page(s, title, &content, l ? l->updated : 0);
}

/* Listings of every directory that holds articles, and the tag pages. */
static int listings(snapshot *s, post **sorted, size_t n, listing *all)
{
	map dirs = {0}, tags = {0};
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		post *p = sorted[i];
		render_list_item(&all->items, p);
		all->count++;
		if (p->updated > all->updated)
			all->updated = p->updated;
		char *dir = strdup(p->key);
		if (!dir)
			rc = GKV_E_NOMEM;
		for (char *slash = dir ? strrchr(dir, '/') : NULL; slash && rc == 0;
		     slash = strrchr(dir, '/')) {
			*slash = '\0';
			rc = listing_add(&dirs, dir, p);
		}
		free(dir);
		for (size_t t = 0; t < p->b->ntags && rc == 0; t++)
			rc = listing_add(&tags, p->b->tags[t], p);
	}
	for (size_t i = 0; i < dirs.cap && rc == 0; i++) {
		if (!dirs.slots[i].key)
			continue;
		const char *name = dirs.slots[i].key;
		rc = route_put(s, name, listing_page(s, name, name, dirs.slots[i].value));
	}
	/* /tags: every tag, sorted, with its count. */
	char **names = tags.count ? calloc(tags.count, sizeof(*names)) : NULL;
	size_t nn = 0;
	for (size_t i = 0; i < tags.cap && rc == 0; i++) {
		if (!tags.slots[i].key)
			continue;
		if (!names) {
			rc = GKV_E_NOMEM;
			break;
		}
		names[nn++] = tags.slots[i].key;
		listing *l = tags.slots[i].value;
		strbuf path = STRBUF_INIT, heading = STRBUF_INIT;
		sb_printf(&path, "tags/%s", tags.slots[i].key);
		sb_printf(&heading, "Tagged \u201c%s\u201d", tags.slots[i].key);
		if (path.failed || heading.failed)
			rc = GKV_E_NOMEM;
		else
			rc = route_put(s, path.ptr, listing_page(s, heading.ptr, heading.ptr, l));
		sb_free(&path);
		sb_free(&heading);
	}
	if (rc == 0) {
		if (nn)
			qsort(names, nn, sizeof(*names), by_string);
		strbuf content = STRBUF_INIT;
		sb_puts(&content, "<h1>Tags</h1>\n<ul class=\"tag-list\">\n");
		for (size_t i = 0; i < nn; i++) {
			listing *l = map_get(&tags, names[i]);
			sb_puts(&content, "<li><a href=\"/tags/");
			sb_url(&content, names[i], 0);
			sb_puts(&content, "\">");
			sb_html(&content, names[i]);
			sb_printf(&content, "</a> (%zu)</li>\n", l->count);
		}
		sb_puts(&content, "</ul>\n");
		rc = route_put(s, "tags", html_page(s, "Tags", &content, all->updated));
	}
	free(names);
	map_clear(&dirs, listing_free);
	map_clear(&tags, listing_free);
	return rc;
}

/* The menu: the first segment of every article's URL, sorted, once. */
static int menu_chrome(snapshot *s, post **posts, size_t n)
{
	char **names = n ? calloc(n, sizeof(*names)) : NULL;
	size_t nn = 0;
	int rc = 0;
	if (n && !names)
		return GKV_E_NOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *u = posts[i]->url;
		const char *slash = strchr(u, '/');
		char *name = strndup(u, slash ? (size_t)(slash - u) : strlen(u));
		if (!name) {
			rc = GKV_E_NOMEM;
			break;
		}
		names[nn++] = name;
	}
	if (rc == 0) {
		if (nn)
			qsort(names, nn, sizeof(*names), by_string);
		size_t u = 0;
		for (size_t i = 0; i < nn; i++) {
			if (u && strcmp(names[u - 1], names[i]) == 0)
				free(names[i]);
			else
				names[u++] = names[i];
		}
		nn = u;
		s->chrome = render_chrome(&s->conf, names, nn);
		if (!s->chrome.mid || !s->chrome.tail)
			rc = GKV_E_NOMEM;
	}
	for (size_t i = 0; i < nn; i++)
		free(names[i]);
	free(names);
	return rc;
}

static int build_pages(snapshot *s, const snapshot *prev)
{
	size_t n = s->posts.count;
	post **sorted = n ? calloc(n, sizeof(*sorted)) : NULL;
	if (n && !sorted)
		return GKV_E_NOMEM;
	size_t k = 0;
	for (size_t i = 0; i < s->posts.cap; i++)
		if (s->posts.slots[i].key)
			sorted[k++] = s->posts.slots[i].value;
	if (n)
		qsort(sorted, n, sizeof(*sorted), by_created_desc);
	int rc = menu_chrome(s, sorted, n);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = article_page(s, sorted[i], prev);
	listing all = {STRBUF_INIT, 0, 0};
	if (rc == 0)
		rc = listings(s, sorted, n, &all);
	if (rc == 0) {
		strbuf feed = STRBUF_INIT;
		render_atom(&feed, &s->conf, sorted, n, all.updated);
		size_t len;
		char *body = sb_detach(&feed, &len);
		rc = route_put(s, "atom",
			       page_new(200, "application/atom+xml; charset=utf-8", body, len,
					all.updated, NULL));
	}
	if (rc == 0) {
		/* "/": the index_page key's page, else its directory's listing,
		 * else every article. */
		page *index = snapshot_lookup(s, s->conf.index_page);
		if (index)
			rc = route_put(s, "", page_ref(index));
		else
			rc = route_put(s, "",
				       listing_page(s, s->conf.blog_name, s->conf.blog_name, &all));
	}
	if (rc == 0) {
		strbuf content = STRBUF_INIT;
		sb_puts(&content, "<h1>Not found</h1>\n<p>There is no such page here. "
				  "<a href=\"/\">Back to the front page</a>.</p>\n");
		s->notfound = html_page(s, "Not found", &content, 0);
		if (!s->notfound)
			rc = GKV_E_NOMEM;
		else
			s->notfound->status = 404;
	}
	sb_free(&all.items);
	free(sorted);
	return rc;
}

/* ---------------------------------------------------------------- build */

int site_build(snapshot **out, gkv_repo *repo, const gkv_oid *commit, dates *d,
	       const snapshot *prev, char *err, size_t errlen)
{
	*out = NULL;
	gkv_commit *c = NULL;
	gkv_tree *tree = NULL;
	value_list values = {0};
	snapshot *s = calloc(1, sizeof(*s));
	int rc = s ? 0 : GKV_E_NOMEM;
	if (rc == 0) {
		s->refs = 1;
		s->commit = *commit;
		rc = gkv_commit_lookup(&c, repo, commit);
	}
	if (rc == 0)
		rc = gkv_tree_lookup(&tree, repo, gkv_commit_tree_id(c));
	if (rc < 0) {
		snprintf(err, errlen, "reading the commit: %s", gkv_error_last());
		goto done;
	}
	if ((rc = read_conf(&s->conf, tree, err, errlen)) < 0)
		goto done;
	if ((rc = dates_update(d, repo, commit, err, errlen)) < 0)
		goto done;
	if ((rc = gkv_tree_walk(tree, "", 0, collect_value, &values)) < 0) {
		snprintf(err, errlen, "listing the content: %s", gkv_error_last());
		goto done;
	}
	for (size_t i = 0; i < values.n && rc == 0; i++) {
		if (strncmp(values.v[i].key, "static/", 7) == 0)
			rc = add_static(s, repo, &values.v[i], prev, d);
		else
			rc = add_content(s, repo, &values.v[i], prev, d);
	}
	if (rc == 0)
		rc = build_pages(s, prev);
	if (rc < 0)
		snprintf(err, errlen, "building pages: %s",
			 rc == GKV_E_NOMEM ? "out of memory" : gkv_error_last());
done:
	for (size_t i = 0; i < values.n; i++)
		free(values.v[i].key);
	free(values.v);
	gkv_tree_free(tree);
	gkv_commit_free(c);
	if (rc < 0) {
		snapshot_unref(s);
		return rc;
	}
	*out = s;
	return 0;
}
