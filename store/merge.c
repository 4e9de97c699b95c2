/*
 * merge.c -- three-way merges of trees and commits, and the contents
 * merge functions that decide a path both sides changed.
 *
 * Trees merge per path: one side changed -> take it; both made the same
 * change -> take it; both changed differently -> the contents merge
 * function of that path decides (or, for a value against a directory, a
 * conflict). Whole subtrees are decided by their ids without being
 * loaded, so a merge costs what the two sides changed.
 *
 * Commits merge against their lowest common ancestors: none -> the empty
 * tree; several -> first merged into a virtual base (git's recursive
 * strategy), where paths that conflict are left out of the base.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>

#include "merge.h"
#include "path.h"
#include "reflog.h"
#include "store.h"
#include "tree.h"

/* ------------------------------------------------------------ options */

typedef struct {
	char *pattern;
	gkv_merge_fn fn;
} rule;

struct gkv_merge_options {
	gkv_merge_fn deflt;
	rule *rules;
	size_t nrules;
	gkv_merge_cb cb;
	void *payload;
	int use_attributes;
	int no_ff;
};

static int fn_ok(gkv_merge_fn fn)
{
	return fn == GKV_MERGE_FN_CONFLICT || fn == GKV_MERGE_FN_LWW || fn == GKV_MERGE_FN_COUNTER ||
	    fn == GKV_MERGE_FN_LINES;
}

int gkv_merge_options_new(gkv_merge_options **out)
{
	if (!out)
		return gkv__error(GKV_E_INVALID, "gkv_merge_options_new: out is NULL");
	if (!(*out = calloc(1, sizeof(**out))))
		return gkv__oom();
	(*out)->use_attributes = 1;
	return 0;
}

void gkv_merge_options_free(gkv_merge_options *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->nrules; i++)
		free(o->rules[i].pattern);
	free(o->rules);
	free(o);
}

int gkv_merge_options_set_default(gkv_merge_options *o, gkv_merge_fn fn)
{
	if (!o || !fn_ok(fn))
		return gkv__error(GKV_E_INVALID, "merge options: NULL or unknown merge function %d", (int)fn);
	o->deflt = fn;
	return 0;
}

int gkv_merge_options_add_rule(gkv_merge_options *o, const char *pattern, gkv_merge_fn fn)
{
	rule *r;

	if (!o || !pattern || !*pattern || !fn_ok(fn))
		return gkv__error(GKV_E_INVALID, "merge rule: NULL, empty pattern or unknown function");
	if (!(r = realloc(o->rules, (o->nrules + 1) * sizeof(*r))))
		return gkv__oom();
	o->rules = r;
	if (!(r[o->nrules].pattern = gkv__strdup(pattern)))
		return GKV_E_NOMEM;
	r[o->nrules++].fn = fn;
	return 0;
}

int gkv_merge_options_set_callback(gkv_merge_options *o, gkv_merge_cb cb, void *payload)
{
	if (!o)
		return gkv__error(GKV_E_INVALID, "merge options are NULL");
	o->cb = cb;
	o->payload = payload;
	return 0;
}

int gkv_merge_options_use_attributes(gkv_merge_options *o, int use)
{
	if (!o)
		return gkv__error(GKV_E_INVALID, "merge options are NULL");
	o->use_attributes = !!use;
	return 0;
}

int gkv_merge_options_set_no_ff(gkv_merge_options *o, int no_ff)
{
	if (!o)
		return gkv__error(GKV_E_INVALID, "merge options are NULL");
	o->no_ff = !!no_ff;
	return 0;
}

int gkv__merge_options_dup(gkv_merge_options **out, const gkv_merge_options *o)
{
	int rc;

	if ((rc = gkv_merge_options_new(out)) < 0)
		return rc;
	if (!o)
		return 0;
	(*out)->deflt = o->deflt;
	(*out)->cb = o->cb;
	(*out)->payload = o->payload;
	(*out)->use_attributes = o->use_attributes;
	(*out)->no_ff = o->no_ff;
	for (size_t i = 0; i < o->nrules; i++)
		if ((rc = gkv_merge_options_add_rule(*out, o->rules[i].pattern, o->rules[i].fn)) < 0) {
			gkv_merge_options_free(*out);
			*out = NULL;
			return rc;
		}
	return 0;
}

/* ---------------------------------------------------------- conflicts */

typedef struct {
	char *path;
	char *reason;
} citem;

struct gkv_conflicts {
	size_t n, cap;
	citem *items;
};

size_t gkv_conflicts_count(const gkv_conflicts *c)
{
	return c ? c->n : 0;
}

const char *gkv_conflicts_path(const gkv_conflicts *c, size_t i)
{
	return c && i < c->n ? c->items[i].path : NULL;
}

const char *gkv_conflicts_reason(const gkv_conflicts *c, size_t i)
{
	return c && i < c->n ? c->items[i].reason : NULL;
}

void gkv_conflicts_free(gkv_conflicts *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->items[i].path);
		free(c->items[i].reason);
	}
	free(c->items);
	free(c);
}

static int conflicts_add(gkv_conflicts *c, const char *path, const char *reason)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 8;
		citem *n = realloc(c->items, cap * sizeof(*n));

		if (!n)
			return gkv__oom();
		c->items = n;
		c->cap = cap;
	}
	c->items[c->n].path = gkv__strdup(path);
	c->items[c->n].reason = gkv__strdup(reason);
	if (!c->items[c->n].path || !c->items[c->n].reason) {
		free(c->items[c->n].path);
		free(c->items[c->n].reason);
		return GKV_E_NOMEM;
	}
	c->n++;
	return 0;
}

static int citem_cmp(const void *a, const void *b)
{
	return strcmp(((const citem *)a)->path, ((const citem *)b)->path);
}

/* ------------------------------------------------ patterns, attributes */

/* .gitattributes-style matching: a pattern without '/' matches the last
 * segment; with one, the whole path (a leading '/' anchors, as it always
 * does here); a trailing "/" and two stars match everything under a
 * directory, and two stars elsewhere match across segments. */
static int pattern_match(const char *pattern, const char *path)
{
	const char *base = strrchr(path, '/');
	size_t plen;

	if (*pattern == '/')
		pattern++;
	if (!strchr(pattern, '/'))
		return fnmatch(pattern, base ? base + 1 : path, 0) == 0;
	plen = strlen(pattern);
	if (plen >= 3 && strcmp(pattern + plen - 3, "/**") == 0)
		return strncmp(path, pattern, plen - 2) == 0;
	if (strstr(pattern, "**"))
		return fnmatch(pattern, path, 0) == 0;
	return fnmatch(pattern, path, FNM_PATHNAME) == 0;
}

typedef struct {
	char *pattern;
	gkv_merge_fn fn;
} attr_rule;

static gkv_merge_fn fn_by_name(const char *name, size_t len)
{
	if (len == 3 && memcmp(name, "lww", 3) == 0)
		return GKV_MERGE_FN_LWW;
	if (len == 7 && memcmp(name, "counter", 7) == 0)
		return GKV_MERGE_FN_COUNTER;
	if (len == 5 && memcmp(name, "lines", 5) == 0)
		return GKV_MERGE_FN_LINES;
	/* conflict, binary, text, and names we do not know: conflict. */
	return GKV_MERGE_FN_CONFLICT;
}

/* One line of .gitattributes: "PATTERN attr attr...". Only merge counts. */
/* Blanks between a .gitattributes line's fields, as git counts them: a
 * CR (a file with CRLF line ends) is one. */
static int is_attr_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static int parse_attr_line(attr_rule *out, const char *line, size_t len)
{
	size_t i = 0, ps, pe;
	int found = 0;

	while (i < len && is_attr_blank(line[i]))
		i++;
	if (i == len || line[i] == '#')
		return 0;
	ps = i;
	while (i < len && !is_attr_blank(line[i]))
		i++;
	pe = i;
	while (i < len) {
		size_t s;

		while (i < len && is_attr_blank(line[i]))
			i++;
		s = i;
		while (i < len && !is_attr_blank(line[i]))
			i++;
		if (i - s > 6 && memcmp(line + s, "merge=", 6) == 0) {
			out->fn = fn_by_name(line + s + 6, i - s - 6);
			found = 1;
		} else if ((i - s == 6 && (memcmp(line + s, "-merge", 6) == 0 ||
		               memcmp(line + s, "!merge", 6) == 0)) ||
		    (i - s == 5 && memcmp(line + s, "merge", 5) == 0)) {
			out->fn = GKV_MERGE_FN_CONFLICT;
			found = 1;
		}
	}
	if (!found)
		return 0;
	if (!(out->pattern = gkv__strndup(line + ps, pe - ps)))
		return GKV_E_NOMEM;
	return 1;
}

typedef struct {
	attr_rule *rules;
	size_t n;
} attrs;

static void attrs_free(attrs *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->rules[i].pattern);
	free(a->rules);
	a->rules = NULL;
	a->n = 0;
}

static int attrs_parse(attrs *a, const unsigned char *data, size_t len)
{
	const unsigned char *nul;
	size_t start = 0;

	/* An empty file (its buffer may be NULL, where even data + 0 is
	 * undefined) has no rules; git reads a file up to its first NUL. */
	if (len == 0)
		return 0;
	if ((nul = memchr(data, '\0', len)) != NULL)
		len = (size_t)(nul - data);
	for (size_t i = 0; i <= len; i++) {
		attr_rule r;
		int rc;

		if (i < len && data[i] != '\n')
			continue;
		rc = parse_attr_line(&r, (const char *)data + start, i - start);
		start = i + 1;
		if (rc < 0)
			return rc;
		if (rc == 0)
			continue;
		attr_rule *n = realloc(a->rules, (a->n + 1) * sizeof(*n));
		if (!n) {
			free(r.pattern);
			return gkv__oom();
		}
		a->rules = n;
		a->rules[a->n++] = r;
	}
	return 0;
}

/* ------------------------------------------------------------- context */

typedef struct {
	const gkv_merge_options *opts;
	attrs attrs;
	int ours_wins;   /* for last-writer-wins */
	int drop;        /* virtual base: leave conflicting paths out */
	int has_counter; /* some path may merge as a counter */
	gkv_conflicts *conflicts;
	gkv__sbuf path;
} mctx;

static gkv_merge_fn fn_for(mctx *m, const char *path)
{
	const gkv_merge_options *o = m->opts;

	if (o)
		for (size_t i = o->nrules; i-- > 0;)
			if (pattern_match(o->rules[i].pattern, path))
				return o->rules[i].fn;
	for (size_t i = m->attrs.n; i-- > 0;)
		if (pattern_match(m->attrs.rules[i].pattern, path))
			return m->attrs.rules[i].fn;
	return o ? o->deflt : GKV_MERGE_FN_CONFLICT;
}

static int conflict(mctx *m, const char *reason)
{
	if (m->drop)
		return 0;
	return conflicts_add(m->conflicts, (const char *)m->path.ptr, reason);
}

/* ------------------------------------------------- contents functions */

typedef struct {
	int present;
	gkv_buf v;
} side;

static int parse_counter(int64_t *out, const side *s)
{
	char buf[32];
	char *end;
	size_t len = s->v.size;

	*out = 0;
	if (!s->present)
		return 0;
	while (len && (s->v.ptr[len - 1] == '\n' || s->v.ptr[len - 1] == ' '))
		len--;
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s->v.ptr, len);
	buf[len] = '\0';
	errno = 0;
	long long v = strtoll(buf, &end, 10);
	if (errno || *end)
		return -1;
	*out = (int64_t)v;
	return 0;
}

static int merge_counter(gkv_buf *out, const side *b, const side *o, const side *t)
{
	int64_t vb, vo, vt, r;
	char buf[32];

	if (parse_counter(&vb, b) < 0 || parse_counter(&vo, o) < 0 || parse_counter(&vt, t) < 0)
		return 1;
	if (__builtin_add_overflow(vo, vt, &r) || __builtin_sub_overflow(r, vb, &r))
		return 1;
	snprintf(buf, sizeof(buf), "%" PRId64, r);
	return gkv__buf_set(out, buf, strlen(buf));
}

typedef struct {
	const unsigned char *p;
	size_t len;
} line;

static int line_cmp(const void *x, const void *y)
{
	const line *a = x, *b = y;
	int c = memcmp(a->p, b->p, a->len < b->len ? a->len : b->len);

	return c ? c : (a->len > b->len) - (a->len < b->len);
}

/* The sorted, deduplicated lines of a side. */
static int split_lines(line **out, size_t *n, const side *s)
{
	size_t cap = 1, k = 0, start = 0;
	line *l;

	*out = NULL;
	*n = 0;
	if (!s->present)
		return 0;
	for (size_t i = 0; i < s->v.size; i++)
		cap += s->v.ptr[i] == '\n';
	if (!(l = malloc(cap * sizeof(*l))))
		return gkv__oom();
	for (size_t i = 0; i <= s->v.size; i++) {
		if (i < s->v.size && s->v.ptr[i] != '\n')
			continue;
		if (i > start) /* empty lines are no elements */
			l[k++] = (line){s->v.ptr + start, i - start};
		start = i + 1;
	}
	qsort(l, k, sizeof(*l), line_cmp);
	*n = 0;
	for (size_t i = 0; i < k; i++)
		if (*n == 0 || line_cmp(&l[*n - 1], &l[i]) != 0)
			l[(*n)++] = l[i];
	*out = l;
	return 0;
}

static int has_line(const line *set, size_t n, const line *x)
{
	return n && bsearch(x, set, n, sizeof(*set), line_cmp) != NULL;
}

static int merge_lines(gkv_buf *out, int *present, const side *b, const side *o, const side *t)
{
	line *lb, *lo, *lt;
	size_t nb, no, nt, i = 0, j = 0;
	gkv__sbuf r = GKV__SBUF_INIT;
	int rc;

	if ((rc = split_lines(&lb, &nb, b)) < 0)
		return rc;
	if ((rc = split_lines(&lo, &no, o)) < 0 || (rc = split_lines(&lt, &nt, t)) < 0) {
		free(lb);
		free(lo);
		return rc;
	}
	/* Walk the union of ours and theirs in order. */
	while (rc == 0 && (i < no || j < nt)) {
		int c = i >= no ? 1 : j >= nt ? -1 : line_cmp(&lo[i], &lt[j]);
		const line *x = c <= 0 ? &lo[i] : &lt[j];
		int keep = c == 0 || !has_line(lb, nb, x);

		if (keep && (rc = gkv__sbuf_put(&r, x->p, x->len)) == 0)
			rc = gkv__sbuf_putc(&r, '\n');
		if (c <= 0)
			i++;
		if (c >= 0)
			j++;
	}
	free(lb);
	free(lo);
	free(lt);
	if (rc < 0) {
		gkv__sbuf_free(&r);
		return rc;
	}
	*present = r.size > 0;
	gkv__sbuf_detach(out, &r);
	return 0;
}

/* ---------------------------------------------------------- tree merge */

typedef struct {
	gkv_tree *t;
	ptrdiff_t i; /* -1: absent */
	uint32_t mode;
	gkv_oid id;
} ent;

static int ent_is_tree(const ent *e)
{
	return e->i >= 0 && e->mode == GKV_MODE_TREE;
}

static int ent_is_file(const ent *e)
{
	return e->i >= 0 && e->mode != GKV_MODE_TREE;
}

static int ent_eq(const ent *a, const ent *b)
{
	if (a->i < 0 || b->i < 0)
		return a->i < 0 && b->i < 0;
	return a->mode == b->mode && gkv_oid_equal(&a->id, &b->id);
}

static int load_side(side *s, const ent *e)
{
	s->present = e->i >= 0;
	s->v.ptr = NULL;
	s->v.size = 0;
	if (!s->present)
		return 0;
	return gkv__tree_entry_value(&s->v, e->t, (size_t)e->i);
}

static int take(gkv_tree *dst, const ent *e)
{
	return e->i < 0 ? 0 : gkv__tree_add_entry_from(dst, e->t, (size_t)e->i);
}

static int run_callback(int *decided, gkv_tree *dst, mctx *m, const char *name, size_t len,
    side *sb, side *so, side *st)
{
	gkv_buf out = {NULL, 0};
	int present = 0, rc;

	*decided = 0;
	rc = m->opts->cb(&out, &present, (const char *)m->path.ptr, sb->v.ptr, sb->v.size, sb->present,
	    so->v.ptr, so->v.size, so->present, st->v.ptr, st->v.size, st->present, m->opts->payload);
	if (rc == GKV_MERGE_PASS)
		return 0;
	*decided = 1;
	if (rc == GKV_E_CONFLICT) {
		free(out.ptr);
		return conflict(m, "the merge callback reported a conflict");
	}
	if (rc < 0) {
		free(out.ptr);
		return gkv__error(rc, "merge callback failed on '%s'", (const char *)m->path.ptr);
	}
	if (present)
		rc = gkv__tree_add_value(dst, name, len, out.ptr, out.size);
	free(out.ptr);
	return rc;
}

/* Both sides changed the value at this path (or one removed it). */
static int merge_contents(gkv_tree *dst, mctx *m, const char *name, size_t len, const ent *b,
    const ent *o, const ent *t)
{
	side sb, so, st;
	gkv_buf out = {NULL, 0};
	int present = 1, decided = 0, rc;
	gkv_merge_fn fn;

	fn = fn_for(m, (const char *)m->path.ptr);
	/* Last writer wins needs no contents; a submodule link has none to merge. */
	if (fn == GKV_MERGE_FN_LWW && !(m->opts && m->opts->cb))
		return take(dst, m->ours_wins ? o : t);
	if ((o->i >= 0 && o->mode == GKV_MODE_GITLINK) || (t->i >= 0 && t->mode == GKV_MODE_GITLINK))
		return conflict(m, "both sides changed a submodule link");
	if (((o->i >= 0 && o->mode != GKV_MODE_BLOB) || (t->i >= 0 && t->mode != GKV_MODE_BLOB)) &&
	    !(m->opts && m->opts->cb))
		return conflict(m, "both sides changed an executable or a symbolic link");
	if ((rc = load_side(&sb, b)) < 0)
		return rc;
	if ((rc = load_side(&so, o)) < 0 || (rc = load_side(&st, t)) < 0)
		goto out;
	if (m->opts && m->opts->cb && (rc = run_callback(&decided, dst, m, name, len, &sb, &so, &st)) < 0)
		goto out;
	if (decided)
		goto out;
	switch (fn) {
	case GKV_MERGE_FN_LWW:
		rc = take(dst, m->ours_wins ? o : t);
		goto out;
	case GKV_MERGE_FN_COUNTER:
		if ((rc = merge_counter(&out, &sb, &so, &st)) == 1) {
			rc = conflict(m, "counter merge: a side is not a 64-bit decimal number, or the sum overflows");
			goto out;
		}
		break;
	case GKV_MERGE_FN_LINES:
		rc = merge_lines(&out, &present, &sb, &so, &st);
		break;
	default:
		rc = conflict(m, !so.present || !st.present
		    ? "changed on one side and removed on the other"
		    : "both sides changed the value");
		goto out;
	}
	if (rc == 0 && present)
		rc = gkv__tree_add_value(dst, name, len, out.ptr, out.size);
out:
	gkv_buf_dispose(&out);
	gkv_buf_dispose(&sb.v);
	gkv_buf_dispose(&so.v);
	gkv_buf_dispose(&st.v);
	return rc;
}

static int child_or_null(gkv_tree **out, const ent *e)
{
	*out = NULL;
	if (!ent_is_tree(e))
		return 0;
	return gkv__tree_entry_child(out, e->t, (size_t)e->i);
}

/* Directories an entry asks the walk to merge (their references). */
typedef struct {
	int go;
	gkv_tree *b, *o, *t;
} descent;

static int load_descent(descent *d, const ent *b, const ent *o, const ent *t)
{
	int rc;

	memset(d, 0, sizeof(*d));
	if ((rc = child_or_null(&d->b, b)) == 0 && (rc = child_or_null(&d->o, o)) == 0 &&
	    (rc = child_or_null(&d->t, t)) == 0) {
		d->go = 1;
		return 0;
	}
	gkv_tree_free(d->b);
	gkv_tree_free(d->o);
	return rc;
}

/*
 * Whether "both sides made the same change" may decide this entry. Not
 * for a counter: two increments of 1 from 0 both read 1, yet the merge
 * must give 2. Trees are then opened whenever counters may be inside.
 */
static int same_change_decides(mctx *m, const ent *o, const ent *t)
{
	if (!m->has_counter || (o->i < 0 && t->i < 0))
		return 1;
	if (ent_is_tree(o))
		return 0;
	return fn_for(m, (const char *)m->path.ptr) != GKV_MERGE_FN_COUNTER;
}

/*
 * Merge one name of a directory into dst. Directories on both sides are
 * not merged here: *d gets them (d->go) and the path keeps the name, for
 * the walk to merge them as a frame of its own.
 */
static int merge_entry(gkv_tree *dst, mctx *m, const char *name, size_t len, ent *b, ent *o,
    ent *t, descent *d)
{
	size_t base = m->path.size;
	int rc;

	d->go = 0;
	if (ent_eq(b, o))
		return take(dst, t);
	if (ent_eq(b, t))
		return take(dst, o);
	if ((base && (rc = gkv__sbuf_putc(&m->path, '/')) < 0) ||
	    (rc = gkv__sbuf_put(&m->path, name, len)) < 0 || (rc = gkv__sbuf_putc(&m->path, '\0')) < 0)
		return rc;
	m->path.size--;
	if (ent_eq(o, t) && same_change_decides(m, o, t)) {
		rc = take(dst, o);
	} else if (!ent_is_file(o) && !ent_is_file(t)) {
		ent nb = *b;

		if (!ent_is_tree(&nb))
			nb.i = -1;
		if ((rc = load_descent(d, &nb, o, t)) == 0)
			return 0; /* the path stays: the walk merges below it */
	} else if (!ent_is_tree(o) && !ent_is_tree(t)) {
		ent nb = *b;

		if (!ent_is_file(&nb))
			nb.i = -1;
		rc = merge_contents(dst, m, name, len, &nb, o, t);
	} else {
		rc = conflict(m, "a value on one side and a directory on the other");
	}
	m->path.size = base;
	return rc;
}

static int make_ent(ent *e, gkv__by_name *s, size_t *k, const char *name, size_t len)
{
	size_t l;
	const char *n;

	e->t = s->t;
	e->i = -1;
	if (*k >= s->n)
		return 0;
	n = gkv__by_name_at(s, *k, &l);
	if (gkv__name_cmp(n, l, name, len) != 0)
		return 0;
	e->i = (ptrdiff_t)s->idx[*k];
	e->mode = gkv__tree_entry_mode(s->t, (size_t)e->i);
	(*k)++;
	return gkv__tree_entry_oid(&e->id, s->t, (size_t)e->i);
}

static int tree_ids_equal(gkv_tree *a, gkv_tree *b)
{
	if (!a || !b)
		return (!a || gkv_tree_is_empty(a)) && (!b || gkv_tree_is_empty(b));
	return gkv_tree_equal(a, b);
}

/*
 * The walk: a frame per directory being merged (its three sides, the
 * merged directory being built, where each side's entries stand), on a
 * stack that grows on the heap -- no recursion, so a deep tree costs
 * heap, not C stack.
 */
typedef struct {
	gkv_tree *b, *o, *t; /* the walk's own references, but in the first frame */
	gkv__by_name sb, so, st;
	size_t kb, ko, kt;
	size_t base;	  /* the path's length at this directory */
	gkv_tree *dst;	  /* the merged directory */
	const char *name; /* its name in the frame below (NULL in the first) */
	size_t len;
} mframe;

typedef struct {
	mframe *f;
	size_t n, cap;
} mstack;

static void mstack_pop(mstack *s)
{
	mframe *f = &s->f[--s->n];

	free(f->sb.idx);
	free(f->so.idx);
	free(f->st.idx);
	gkv_tree_free(f->dst);
	if (s->n) {
		gkv_tree_free(f->b);
		gkv_tree_free(f->o);
		gkv_tree_free(f->t);
	}
}

/*
 * Begin merging the directories (b, o, t) called name: when one side
 * decides at once, *r is the result and nothing is pushed; otherwise a
 * frame is (*pushed). The stack takes the references (but the first
 * frame's, which are the caller's).
 */
static int mstack_push(mstack *s, mctx *m, gkv_tree **r, int *pushed, gkv_tree *b, gkv_tree *o,
    gkv_tree *t, const char *name, size_t len)
{
	mframe *f;
	int decided = 0, rc = 0;

	*r = NULL;
	*pushed = 0;
	if (tree_ids_equal(b, t) || (!m->has_counter && tree_ids_equal(o, t))) {
		decided = 1;
		*r = o ? gkv_tree_dup(o) : NULL;
	} else if (tree_ids_equal(b, o)) {
		decided = 1;
		*r = t ? gkv_tree_dup(t) : NULL;
	} else if (s->n >= GKV__TREE_MAX_DEPTH) {
		rc = gkv__error(GKV_E_CORRUPT, "tree is deeper than %d levels", GKV__TREE_MAX_DEPTH);
	} else if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 16;

		if ((f = realloc(s->f, cap * sizeof(*f))) != NULL) {
			s->f = f;
			s->cap = cap;
		} else {
			rc = gkv__oom();
		}
	}
	if (decided || rc < 0) {
		if (s->n) {
			gkv_tree_free(b);
			gkv_tree_free(o);
			gkv_tree_free(t);
		}
		return rc;
	}
	f = &s->f[s->n++];
	memset(f, 0, sizeof(*f));
	f->b = b;
	f->o = o;
	f->t = t;
	f->base = m->path.size;
	f->name = name;
	f->len = len;
	*pushed = 1;
	if ((rc = gkv_tree_empty(&f->dst, gkv__tree_repo(o ? o : t))) < 0 ||
	    (rc = gkv__tree_by_name(&f->sb, b)) < 0 || (rc = gkv__tree_by_name(&f->so, o)) < 0 ||
	    (rc = gkv__tree_by_name(&f->st, t)) < 0)
		return rc; /* the frame is on the stack: released with it */
	return 0;
}

/* Put the merged directory r (a reference, taken) called name into dst. */
static int add_merged(gkv_tree *dst, const char *name, size_t len, gkv_tree *r)
{
	int rc = r ? gkv__tree_add_subtree(dst, name, len, r) : 0;

	gkv_tree_free(r);
	return rc;
}

static int merge_walk(gkv_tree **out, mctx *m, gkv_tree *b, gkv_tree *o, gkv_tree *t)
{
	mstack s = {NULL, 0, 0};
	gkv_tree *r;
	int pushed, rc;

	*out = NULL;
	if ((rc = mstack_push(&s, m, &r, &pushed, b, o, t, NULL, 0)) < 0 || !pushed) {
		*out = r;
		goto out;
	}
	while (s.n) {
		mframe *f = &s.f[s.n - 1];
		const char *name = NULL, *n;
		size_t len = 0, l;
		ent eb, eo, et;
		descent d;

		if (f->kb >= f->sb.n && f->ko >= f->so.n && f->kt >= f->st.n) {
			/* this directory is merged: into the one below, or out */
			r = f->dst;
			f->dst = NULL;
			name = f->name;
			len = f->len;
			mstack_pop(&s);
			if (!s.n) {
				*out = r;
				break;
			}
			m->path.size = s.f[s.n - 1].base;
			if ((rc = add_merged(s.f[s.n - 1].dst, name, len, r)) < 0)
				goto out;
			continue;
		}
		/* The smallest name not yet merged, on any side. */
		if (f->kb < f->sb.n)
			name = gkv__by_name_at(&f->sb, f->kb, &len);
		if (f->ko < f->so.n &&
		    (n = gkv__by_name_at(&f->so, f->ko, &l), !name || gkv__name_cmp(n, l, name, len) < 0))
			name = n, len = l;
		if (f->kt < f->st.n &&
		    (n = gkv__by_name_at(&f->st, f->kt, &l), !name || gkv__name_cmp(n, l, name, len) < 0))
			name = n, len = l;
		if ((rc = make_ent(&eb, &f->sb, &f->kb, name, len)) < 0 ||
		    (rc = make_ent(&eo, &f->so, &f->ko, name, len)) < 0 ||
		    (rc = make_ent(&et, &f->st, &f->kt, name, len)) < 0 ||
		    (rc = merge_entry(f->dst, m, name, len, &eb, &eo, &et, &d)) < 0)
			goto out;
		if (!d.go)
			continue;
		if ((rc = mstack_push(&s, m, &r, &pushed, d.b, d.o, d.t, name, len)) < 0)
			goto out;
		if (!pushed) { /* decided at once: f is still the top frame */
			f = &s.f[s.n - 1];
			m->path.size = f->base;
			if ((rc = add_merged(f->dst, name, len, r)) < 0)
				goto out;
		}
	}
out:
	while (s.n)
		mstack_pop(&s);
	free(s.f);
	return rc;
}

/*
 * Read the root .gitattributes of ours, else of the base. Never of
 * theirs: the incoming side (a stranger's push, a remote's branch) must
 * not choose how our paths merge, or it could add "* merge=lww" and win
 * every conflict. A change of the rules lands like any other change and
 * governs the merges after it.
 */
static int load_attributes(mctx *m, gkv_tree *o, gkv_tree *b)
{
	gkv_tree *order[2] = {o, b};

	if (m->opts && !m->opts->use_attributes)
		return 0;
	for (int i = 0; i < 2; i++) {
		gkv_buf v;
		int found, rc;

		if (!order[i])
			continue;
		if ((rc = gkv_tree_find(&v, &found, order[i], ".gitattributes")) < 0)
			return rc;
		if (!found)
			continue;
		rc = attrs_parse(&m->attrs, v.ptr, v.size);
		gkv_buf_dispose(&v);
		return rc;
	}
	return 0;
}

static int uses_counter(const mctx *m)
{
	if (m->opts && m->opts->deflt == GKV_MERGE_FN_COUNTER)
		return 1;
	for (size_t i = 0; m->opts && i < m->opts->nrules; i++)
		if (m->opts->rules[i].fn == GKV_MERGE_FN_COUNTER)
			return 1;
	for (size_t i = 0; i < m->attrs.n; i++)
		if (m->attrs.rules[i].fn == GKV_MERGE_FN_COUNTER)
			return 1;
	return 0;
}

int gkv__merge_trees(gkv_tree **out, gkv_conflicts **conflicts, gkv_tree *base, gkv_tree *ours,
    gkv_tree *theirs, const gkv_merge_options *opts, int ours_wins, int drop)
{
	mctx m;
	gkv_tree *r = NULL;
	int rc;

	*out = NULL;
	if (conflicts)
		*conflicts = NULL;
	memset(&m, 0, sizeof(m));
	m.opts = opts;
	m.ours_wins = ours_wins;
	m.drop = drop;
	if (!(m.conflicts = calloc(1, sizeof(*m.conflicts))))
		return gkv__oom();
	if ((rc = load_attributes(&m, ours, base)) == 0) {
		m.has_counter = uses_counter(&m);
		rc = merge_walk(&r, &m, base, ours, theirs);
	}
	attrs_free(&m.attrs);
	gkv__sbuf_free(&m.path);
	if (rc == 0 && m.conflicts->n) {
		gkv_tree_free(r);
		r = NULL;
		qsort(m.conflicts->items, m.conflicts->n, sizeof(citem), citem_cmp);
		rc = gkv__error(GKV_E_CONFLICT, "merge conflict on %zu path%s, first '%s': %s",
		    m.conflicts->n, m.conflicts->n > 1 ? "s" : "", m.conflicts->items[0].path,
		    m.conflicts->items[0].reason);
		if (conflicts) {
			*conflicts = m.conflicts;
			m.conflicts = NULL;
		}
	}
	gkv_conflicts_free(m.conflicts);
	if (rc < 0) {
		gkv_tree_free(r);
		return rc;
	}
	if (!r && (rc = gkv_tree_empty(&r, gkv__tree_repo(ours))) < 0)
		return rc;
	*out = r;
	return 0;
}

int gkv_merge_trees(gkv_tree **out, gkv_conflicts **conflicts, gkv_tree *base, gkv_tree *ours,
    gkv_tree *theirs, const gkv_merge_options *opts)
{
	if (!out || !ours || !theirs)
		return gkv__error(GKV_E_INVALID, "gkv_merge_trees: NULL argument");
	if (gkv__tree_repo(ours) != gkv__tree_repo(theirs) ||
	    (base && gkv__tree_repo(base) != gkv__tree_repo(ours)))
		return gkv__error(GKV_E_INVALID, "gkv_merge_trees: the trees belong to different repos");
	return gkv__merge_trees(out, conflicts, base, ours, theirs, opts, 0, 0);
}

/* ------------------------------------------------------- commit merges */

/* Whether ours is the last writer: later committer time, then greater id. */
static int ours_is_later(gkv_repo *repo, const gkv_oid *ours, const gkv_oid *theirs)
{
	gkv_commit *co = NULL, *ct = NULL;
	int r = 0;

	if (gkv_commit_lookup(&co, repo, ours) == 0 && gkv_commit_lookup(&ct, repo, theirs) == 0) {
		int64_t a = gkv_signature_time(gkv_commit_committer(co));
		int64_t b = gkv_signature_time(gkv_commit_committer(ct));

		r = a != b ? a > b : gkv_oid_cmp(ours, theirs) > 0;
	}
	gkv_commit_free(co);
	gkv_commit_free(ct);
	return r;
}

#define GKV_MAX_VIRTUAL_DEPTH 8

/* The tree to merge against: the merge of all the lowest common ancestors. */
static int virtual_base(gkv_tree **out, gkv_repo *repo, const gkv_oid *bases, size_t n,
    const gkv_merge_options *opts, int depth)
{
	gkv_tree *acc = NULL;
	int rc;

	if (n == 0 || depth > GKV_MAX_VIRTUAL_DEPTH)
		return gkv_tree_empty(out, repo);
	if ((rc = gkv__commit_tree(&acc, repo, &bases[0])) < 0)
		return rc;
	for (size_t i = 1; i < n; i++) {
		gkv_oidarray inner = {NULL, 0};
		gkv_tree *ib = NULL, *ti = NULL, *next = NULL;

		if ((rc = gkv_merge_bases(&inner, repo, &bases[0], &bases[i])) == 0 &&
		    (rc = virtual_base(&ib, repo, inner.ids, inner.count, opts, depth + 1)) == 0 &&
		    (rc = gkv__commit_tree(&ti, repo, &bases[i])) == 0)
			rc = gkv__merge_trees(&next, NULL, ib, acc, ti, opts,
			    ours_is_later(repo, &bases[0], &bases[i]), 1);
		gkv_oidarray_dispose(&inner);
		gkv_tree_free(ib);
		gkv_tree_free(ti);
		gkv_tree_free(acc);
		acc = next;
		if (rc < 0)
			return rc;
	}
	*out = acc;
	return 0;
}

int gkv__merge_plan(gkv__merge_result *res, gkv_conflicts **conflicts, gkv_repo *repo,
    const gkv_oid *ours, const gkv_oid *theirs, const gkv_merge_options *opts)
{
	gkv_oidarray bases = {NULL, 0};
	gkv_tree *base = NULL, *to = NULL, *tt = NULL;
	int anc = 0, rc;

	memset(res, 0, sizeof(*res));
	if (conflicts)
		*conflicts = NULL;
	if (gkv_oid_equal(ours, theirs))
		return res->kind = GKV__MERGE_UP_TO_DATE, 0;
	if ((rc = gkv_is_ancestor(&anc, repo, theirs, ours)) < 0)
		return rc;
	if (anc)
		return res->kind = GKV__MERGE_UP_TO_DATE, 0;
	if ((rc = gkv_is_ancestor(&anc, repo, ours, theirs)) < 0)
		return rc;
	if (anc && !(opts && opts->no_ff))
		return res->kind = GKV__MERGE_FAST_FORWARD, 0;
	if ((rc = gkv_merge_bases(&bases, repo, ours, theirs)) == 0 &&
	    (rc = virtual_base(&base, repo, bases.ids, bases.count, opts, 0)) == 0 &&
	    (rc = gkv__commit_tree(&to, repo, ours)) == 0 &&
	    (rc = gkv__commit_tree(&tt, repo, theirs)) == 0)
		rc = gkv__merge_trees(&res->tree, conflicts, base, to, tt, opts,
		    ours_is_later(repo, ours, theirs), 0);
	if (rc == 0)
		res->kind = GKV__MERGE_COMMIT;
	gkv_oidarray_dispose(&bases);
	gkv_tree_free(base);
	gkv_tree_free(to);
	gkv_tree_free(tt);
	return rc;
}

static int check_commit_arg(gkv_repo *repo, const gkv_oid *id)
{
	gkv_commit *c;
	int rc = gkv_commit_lookup(&c, repo, id);

	gkv_commit_free(c);
	return rc;
}

/* Write the merge commit (and, with ref, move ref from ours by CAS) in one batch. */
static int write_merge(gkv_oid *out, gkv_repo *repo, gkv_tree *tree, const gkv_oid *ours,
    const gkv_oid *theirs, const gkv_info *info, const char *default_msg, const char *ref)
{
	gkv_backend *be = repo->backend;
	gkv_signature *def = NULL;
	const gkv_signature *author = info ? info->author : NULL;
	const gkv_signature *committer = info ? info->committer : NULL;
	gkv_oid parents[2] = {*ours, *theirs}, tree_id;
	gkv_batch *batch;
	int rc;

	if ((rc = gkv__check_writable(repo)) < 0)
		return rc;
	if ((!author || !committer) && (rc = gkv__default_signature(&def, repo)) < 0)
		return rc;
	if ((rc = be->batch_begin(&batch, be)) < 0)
		goto out;
	if ((rc = gkv__tree_write_batch(&tree_id, tree, batch, NULL)) < 0 ||
	    (rc = gkv__commit_write_batch(out, batch, &tree_id, parents, 2, author ? author : def,
	         committer ? committer : def, info ? info->message : default_msg)) < 0 ||
	    (ref && (rc = be->batch_ref_cas(batch, ref, ours, out)) < 0)) {
		be->batch_abort(batch);
		goto out;
	}
	if (ref) {
		char why[128];

		snprintf(why, sizeof(why), "merge %s: Merge made by the 'gitkv' strategy.",
		    gkv__hex(theirs));
		if ((rc = gkv__reflog_add(batch, repo, ref, committer ? committer : def, why)) < 0) {
			be->batch_abort(batch);
			goto out;
		}
	}
	rc = be->batch_commit(batch);
out:
	gkv_signature_free(def);
	return rc;
}

int gkv_merge_commits(gkv_oid *out, gkv_conflicts **conflicts, gkv_repo *repo,
    const gkv_oid *ours, const gkv_oid *theirs, const gkv_merge_options *opts,
    const gkv_info *info)
{
	gkv__merge_result res;
	char msg[128];
	int rc;

	if (conflicts)
		*conflicts = NULL;
	if (!out || !repo || !ours || !theirs)
		return gkv__error(GKV_E_INVALID, "gkv_merge_commits: NULL argument");
	if ((rc = check_commit_arg(repo, ours)) < 0 || (rc = check_commit_arg(repo, theirs)) < 0)
		return rc;
	if ((rc = gkv__merge_plan(&res, conflicts, repo, ours, theirs, opts)) < 0)
		return rc;
	switch (res.kind) {
	case GKV__MERGE_UP_TO_DATE:
		*out = *ours;
		return 0;
	case GKV__MERGE_FAST_FORWARD:
		*out = *theirs;
		return 0;
	default:
		snprintf(msg, sizeof(msg), "Merge %s into %s\n", gkv__hex(theirs), gkv__hex(ours));
		rc = write_merge(out, repo, res.tree, ours, theirs, info, msg, NULL);
		gkv_tree_free(res.tree);
		return rc;
	}
}

int gkv_merge_into_branch(gkv_oid *out, gkv_conflicts **conflicts, gkv_repo *repo,
    const char *branch, const gkv_oid *from, const gkv_merge_options *opts,
    const gkv_info *info)
{
	gkv__merge_result res;
	gkv_oid head, result;
	char *ref = NULL;
	char msg[512], ff[128];
	int rc;

	if (conflicts)
		*conflicts = NULL;
	if (!repo || !branch || !from)
		return gkv__error(GKV_E_INVALID, "gkv_merge_into_branch: NULL argument");
	if ((rc = gkv__branch_check(branch)) < 0 || (rc = gkv__check_writable(repo)) < 0)
		return rc;
	if ((rc = check_commit_arg(repo, from)) < 0)
		return rc;
	if ((rc = gkv__branch_ref(&ref, branch)) < 0)
		return rc;
	snprintf(msg, sizeof(msg), "Merge %s into %s\n", gkv__hex(from), branch);
	snprintf(ff, sizeof(ff), "merge %s: Fast-forward", gkv__hex(from));
	for (unsigned attempt = 0; attempt < GKV_MAX_RETRIES; attempt++) {
		rc = repo->backend->ref_read(&head, repo->backend, ref);
		if (rc == GKV_E_NOTFOUND) {
			gkv_error_clear();
			rc = gkv__branch_move(repo, branch, NULL, from, ff);
			result = *from;
			goto moved;
		}
		if (rc < 0)
			break;
		if ((rc = gkv__merge_plan(&res, conflicts, repo, &head, from, opts)) < 0)
			break;
		if (res.kind == GKV__MERGE_UP_TO_DATE) {
			if (out)
				*out = head;
			rc = 0;
			break;
		}
		if (res.kind == GKV__MERGE_FAST_FORWARD) {
			rc = gkv__branch_move(repo, branch, &head, from, ff);
			result = *from;
		} else {
			rc = write_merge(&result, repo, res.tree, &head, from, info, msg, ref);
			gkv_tree_free(res.tree);
			if (rc == 0)
				gkv__watch_notify(repo, branch, &head, &result);
		}
moved:
		if (rc == 0) {
			if (out)
				*out = result;
			break;
		}
		if (rc != GKV_E_CONFLICT)
			break;
		gkv__backoff(attempt);
	}
	free(ref);
	return rc;
}
