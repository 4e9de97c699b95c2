/*
 * diff.c -- what changed between two trees, value by value.
 *
 * Both trees are walked together; a subtree whose id is the same on both
 * sides is skipped without being loaded, so a diff costs what changed,
 * not the size of the store. Entries are joined by name (a name can be a
 * value on one side and a directory on the other, which git's order puts
 * at different places), and the result is sorted by full path, bytes.
 */
#include "diff.h"
#include "path.h"
#include "repo.h"
#include "tree.h"

typedef struct {
	char *path;
	gkv_diff_op op;
	gkv_kind old_kind, new_kind;
	gkv_buf old_value, new_value;
} ditem;

struct gkv_diff {
	size_t n, cap;
	ditem *items;
};

static int entry_data(gkv_buf *out, gkv_tree *t, size_t i)
{
	if (gkv__tree_entry_mode(t, i) == GKV_MODE_GITLINK) {
		gkv_oid id;
		int rc = gkv__tree_entry_oid(&id, t, i);

		return rc < 0 ? rc : gkv__buf_set(out, id.id, GKV_OID_RAWSZ);
	}
	return gkv__tree_entry_value(out, t, i);
}

static int push(gkv_diff *d, const gkv__sbuf *path, gkv_diff_op op, gkv_tree *a, size_t ai,
    gkv_tree *b, size_t bi)
{
	ditem *it;
	int rc;

	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		ditem *n = realloc(d->items, cap * sizeof(*n));

		if (!n)
			return gkv__oom();
		d->items = n;
		d->cap = cap;
	}
	it = &d->items[d->n];
	memset(it, 0, sizeof(*it));
	if (!(it->path = gkv__strndup((const char *)path->ptr, path->size)))
		return GKV_E_NOMEM;
	it->op = op;
	d->n++;
	if (a) {
		it->old_kind = gkv__mode_kind(gkv__tree_entry_mode(a, ai));
		if ((rc = entry_data(&it->old_value, a, ai)) < 0)
			return rc;
	}
	if (b) {
		it->new_kind = gkv__mode_kind(gkv__tree_entry_mode(b, bi));
		if ((rc = entry_data(&it->new_value, b, bi)) < 0)
			return rc;
	}
	return 0;
}

static int set_path(gkv__sbuf *path, size_t base, gkv_tree *t, size_t i)
{
	size_t len;
	const char *name = gkv__tree_entry_name(t, i, &len);
	int rc;

	path->size = base;
	if (base && (rc = gkv__sbuf_putc(path, '/')) < 0)
		return rc;
	return gkv__sbuf_put(path, name, len);
}

/*
 * The walk: a frame per pair of directories being joined, on a stack that
 * grows on the heap (no recursion: a deep tree costs heap, not C stack).
 * A name that is a value on one side and a directory on the other reports
 * the old side, then the new one: `then` holds the new side meanwhile.
 */
typedef struct {
	gkv_tree *a, *b; /* the walk's own references, but in the first frame */
	gkv__by_name sa, sb;
	size_t i, j, base;
	gkv_tree *then; /* the new side of the entry just left, still to report */
	size_t then_i;
} dframe;

typedef struct {
	dframe *f;
	size_t n, cap;
} dstack;

/* Push the directories (a, b) at path; the stack owns them from now on
 * (but for the first frame's, which are the caller's). */
static int dstack_push(dstack *s, const gkv__sbuf *path, gkv_tree *a, gkv_tree *b)
{
	dframe *f;
	int rc = 0;

	if (s->n >= GKV__TREE_MAX_DEPTH) {
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
	if (rc < 0) {
		if (s->n) {
			gkv_tree_free(a);
			gkv_tree_free(b);
		}
		return rc;
	}
	f = &s->f[s->n++];
	memset(f, 0, sizeof(*f));
	f->a = a;
	f->b = b;
	f->base = path->size;
	if ((rc = gkv__tree_by_name(&f->sa, a)) < 0 || (rc = gkv__tree_by_name(&f->sb, b)) < 0)
		return rc; /* the frame is on the stack: released with it */
	return 0;
}

static void dstack_pop(dstack *s, gkv__sbuf *path)
{
	dframe *f = &s->f[--s->n];

	free(f->sa.idx);
	free(f->sb.idx);
	if (s->n) {
		gkv_tree_free(f->a);
		gkv_tree_free(f->b);
	}
	path->size = f->base;
}

/* One side of an entry alone (the other side has nothing, or a different
 * kind): a value is an item; a directory, a frame against nothing. */
static int one_side(gkv_diff *d, dstack *s, gkv__sbuf *path, gkv_tree *t, size_t i, int is_old)
{
	gkv_tree *c;
	int rc;

	if (gkv__tree_entry_mode(t, i) != GKV_MODE_TREE)
		return is_old ? push(d, path, GKV_DIFF_REMOVED, t, i, NULL, 0)
			      : push(d, path, GKV_DIFF_ADDED, NULL, 0, t, i);
	if ((rc = gkv__tree_entry_child(&c, t, i)) < 0)
		return rc;
	return is_old ? dstack_push(s, path, c, NULL) : dstack_push(s, path, NULL, c);
}

/* An entry on both sides, in frame f (which a push may move). */
static int both_sides(gkv_diff *d, dstack *s, gkv__sbuf *path, size_t k, size_t ai, size_t bi)
{
	gkv_tree *a = s->f[k].a, *b = s->f[k].b;
	uint32_t ma = gkv__tree_entry_mode(a, ai), mb = gkv__tree_entry_mode(b, bi);
	gkv_oid ia, ib;
	gkv_tree *ca, *cb;
	int rc;

	if ((rc = gkv__tree_entry_oid(&ia, a, ai)) < 0 || (rc = gkv__tree_entry_oid(&ib, b, bi)) < 0)
		return rc;
	if (ma == mb && gkv_oid_equal(&ia, &ib))
		return 0;
	if (ma == GKV_MODE_TREE && mb == GKV_MODE_TREE) {
		if ((rc = gkv__tree_entry_child(&ca, a, ai)) < 0)
			return rc;
		if ((rc = gkv__tree_entry_child(&cb, b, bi)) < 0) {
			gkv_tree_free(ca);
			return rc;
		}
		return dstack_push(s, path, ca, cb);
	}
	if (ma == GKV_MODE_TREE || mb == GKV_MODE_TREE) {
		/* the new side once the old one is reported (it may push) */
		s->f[k].then = b;
		s->f[k].then_i = bi;
		return one_side(d, s, path, a, ai, 1);
	}
	return push(d, path, GKV_DIFF_CHANGED, a, ai, b, bi);
}

static int diff_walk(gkv_diff *d, gkv__sbuf *path, gkv_tree *a, gkv_tree *b)
{
	dstack s = {NULL, 0, 0};
	int rc;

	if ((rc = dstack_push(&s, path, a, b)) < 0)
		goto out;
	while (s.n) {
		size_t k = s.n - 1;
		dframe *f = &s.f[k];
		int c;

		if (f->then) {
			gkv_tree *t = f->then;

			f->then = NULL;
			if ((rc = set_path(path, f->base, t, f->then_i)) < 0 ||
			    (rc = one_side(d, &s, path, t, f->then_i, 0)) < 0)
				goto out;
			continue;
		}
		if (f->i >= f->sa.n && f->j >= f->sb.n) {
			dstack_pop(&s, path);
			continue;
		}
		c = f->i >= f->sa.n ? 1 : f->j >= f->sb.n ? -1 : 0;
		if (c == 0) {
			size_t la, lb;
			const char *na = gkv__by_name_at(&f->sa, f->i, &la);
			const char *nb = gkv__by_name_at(&f->sb, f->j, &lb);

			c = gkv__name_cmp(na, la, nb, lb);
		}
		if (c < 0) {
			size_t ai = f->sa.idx[f->i++];

			if ((rc = set_path(path, f->base, f->a, ai)) < 0 ||
			    (rc = one_side(d, &s, path, f->a, ai, 1)) < 0)
				goto out;
		} else if (c > 0) {
			size_t bi = f->sb.idx[f->j++];

			if ((rc = set_path(path, f->base, f->b, bi)) < 0 ||
			    (rc = one_side(d, &s, path, f->b, bi, 0)) < 0)
				goto out;
		} else {
			size_t ai = f->sa.idx[f->i++], bi = f->sb.idx[f->j++];

			if ((rc = set_path(path, f->base, f->a, ai)) < 0 ||
			    (rc = both_sides(d, &s, path, k, ai, bi)) < 0)
				goto out;
		}
	}
out:
	while (s.n)
		dstack_pop(&s, path);
	free(s.f);
	return rc;
}

static int item_cmp(const void *x, const void *y)
{
	return strcmp(((const ditem *)x)->path, ((const ditem *)y)->path);
}

int gkv__diff_at(gkv_diff **out, gkv_tree *old_tree, gkv_tree *new_tree, const char *prefix)
{
	gkv__sbuf path = GKV__SBUF_INIT;
	gkv_diff *d;
	int rc;

	*out = NULL;
	if (!(d = calloc(1, sizeof(*d))))
		return gkv__oom();
	if ((rc = gkv__sbuf_puts(&path, prefix)) == 0)
		rc = diff_walk(d, &path, old_tree, new_tree);
	gkv__sbuf_free(&path);
	if (rc < 0) {
		gkv_diff_free(d);
		return rc;
	}
	if (d->n > 1)
		qsort(d->items, d->n, sizeof(*d->items), item_cmp);
	*out = d;
	return 0;
}

int gkv_diff_trees(gkv_diff **out, gkv_tree *old_tree, gkv_tree *new_tree)
{
	if (!out || !old_tree || !new_tree)
		return gkv__error(GKV_E_INVALID, "gkv_diff_trees: NULL argument");
	if (gkv__tree_repo(old_tree) != gkv__tree_repo(new_tree))
		return gkv__error(GKV_E_INVALID, "gkv_diff_trees: the trees belong to different repos");
	return gkv__diff_at(out, old_tree, new_tree, "");
}

int gkv_diff_commits(gkv_diff **out, gkv_repo *repo, const gkv_oid *old_commit,
    const gkv_oid *new_commit)
{
	gkv_tree *a = NULL, *b = NULL;
	int rc;

	if (!out || !repo || !old_commit || !new_commit)
		return gkv__error(GKV_E_INVALID, "gkv_diff_commits: NULL argument");
	*out = NULL;
	if ((rc = gkv__commit_tree(&a, repo, old_commit)) == 0 &&
	    (rc = gkv__commit_tree(&b, repo, new_commit)) == 0)
		rc = gkv__diff_at(out, a, b, "");
	gkv_tree_free(a);
	gkv_tree_free(b);
	return rc;
}

size_t gkv_diff_count(const gkv_diff *d)
{
	return d ? d->n : 0;
}

const char *gkv_diff_path(const gkv_diff *d, size_t i)
{
	return d && i < d->n ? d->items[i].path : NULL;
}

gkv_diff_op gkv_diff_op_at(const gkv_diff *d, size_t i)
{
	return d && i < d->n ? d->items[i].op : (gkv_diff_op)0;
}

static const void *value_of(const gkv_buf *b, gkv_kind k, size_t *len)
{
	if (len)
		*len = k ? b->size : 0;
	if (!k)
		return NULL;
	/* A present empty value still gets a non-NULL pointer. */
	return b->ptr ? (const void *)b->ptr : (const void *)"";
}

const void *gkv_diff_old_value(const gkv_diff *d, size_t i, size_t *len)
{
	if (!d || i >= d->n) {
		if (len)
			*len = 0;
		return NULL;
	}
	return value_of(&d->items[i].old_value, d->items[i].old_kind, len);
}

const void *gkv_diff_new_value(const gkv_diff *d, size_t i, size_t *len)
{
	if (!d || i >= d->n) {
		if (len)
			*len = 0;
		return NULL;
	}
	return value_of(&d->items[i].new_value, d->items[i].new_kind, len);
}

gkv_kind gkv_diff_old_kind(const gkv_diff *d, size_t i)
{
	return d && i < d->n ? d->items[i].old_kind : GKV_KIND_NONE;
}

gkv_kind gkv_diff_new_kind(const gkv_diff *d, size_t i)
{
	return d && i < d->n ? d->items[i].new_kind : GKV_KIND_NONE;
}

void gkv_diff_free(gkv_diff *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->items[i].path);
		gkv_buf_dispose(&d->items[i].old_value);
		gkv_buf_dispose(&d->items[i].new_value);
	}
	free(d->items);
	free(d);
}

void gkv__diff_filter(gkv_diff *d, const char *prefix)
{
	size_t plen = strlen(prefix), keep = 0;

	if (!plen)
		return;
	for (size_t i = 0; i < d->n; i++) {
		ditem *it = &d->items[i];

		if (strncmp(it->path, prefix, plen) == 0 && (it->path[plen] == '\0' || it->path[plen] == '/')) {
			d->items[keep++] = *it;
			continue;
		}
		free(it->path);
		gkv_buf_dispose(&it->old_value);
		gkv_buf_dispose(&it->new_value);
	}
	d->n = keep;
}
