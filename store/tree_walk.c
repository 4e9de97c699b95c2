/*
 * tree_walk.c -- gkv_tree_walk: the names, kinds and ids under a path,
 * loading trees only, never a value. What listings, tree views, diffs of
 * names and statistics are made of, so it costs what `git ls-tree -r`
 * costs: one decoded tree per directory (through the repo's tree cache),
 * one path buffer reused for every entry, and no allocation per entry.
 *
 * Git's tree order is the byte order of full paths (a directory sorts as
 * "name/"), so a depth-first walk in entry order gives the paths sorted
 * by bytes. With dirs, a directory is given just before what it holds
 * (as `git ls-tree -r -t` does).
 *
 * The walk is a loop over a stack of frames, never a recursion, as every
 * walk of the core: a tree 4096 levels deep costs heap, not C stack, and
 * a stored tree deeper than that is damage (GKV_E_CORRUPT).
 */
#include "codec.h"
#include "path.h"
#include "repo.h"
#include "tree.h"

typedef struct {
	gkv_tree *t;
	size_t i;    /* the next entry */
	size_t base; /* the path's length at this directory */
} walk_frame;

#define WALK_SMALL 32

typedef struct {
	walk_frame *f;
	size_t n, cap;
	walk_frame small[WALK_SMALL];
} walk_stack;

static int walk_push(walk_stack *s, gkv_tree *t, size_t base)
{
	if (s->n >= GKV__TREE_MAX_DEPTH)
		return gkv__error(GKV_E_CORRUPT, "tree is deeper than %d levels",
		    GKV__TREE_MAX_DEPTH);
	if (s->n == s->cap) {
		size_t cap = s->cap * 2;
		walk_frame *p = s->f == s->small ? malloc(cap * sizeof(*p))
						 : realloc(s->f, cap * sizeof(*p));

		if (!p)
			return gkv__oom();
		if (s->f == s->small)
			memcpy(p, s->small, sizeof(s->small));
		s->f = p;
		s->cap = cap;
	}
	s->f[s->n].t = t;
	s->f[s->n].i = 0;
	s->f[s->n].base = base;
	s->n++;
	return 0;
}

/*
 * Walk everything below dir (the caller's reference), whose path is in
 * path (path->size bytes, NUL-terminated). Each frame above the first
 * holds its own reference to its directory.
 */
static int walk(gkv_tree *dir, gkv__sbuf *path, int dirs, gkv_tree_walk_cb cb, void *payload)
{
	walk_stack s = {.f = NULL, .n = 0, .cap = WALK_SMALL};
	int rc;

	s.f = s.small;
	if ((rc = walk_push(&s, dir, path->size)) < 0)
		goto out;
	while (s.n) {
		walk_frame *f = &s.f[s.n - 1];
		gkv_tree *t = f->t;
		size_t base = f->base, i = f->i++, namelen;
		const char *name;
		gkv_oid id;
		gkv_kind k;

		if (i >= gkv__tree_count(t)) {
			if (s.n > 1)
				gkv__tree_unref(t);
			s.n--;
			continue;
		}
		name = gkv__tree_entry_name(t, i, &namelen);
		k = gkv__mode_kind(gkv__tree_entry_mode(t, i));
		path->size = base;
		if ((base && (rc = gkv__sbuf_putc(path, '/')) < 0) ||
		    (rc = gkv__sbuf_put(path, name, namelen)) < 0 ||
		    (rc = gkv__sbuf_putc(path, '\0')) < 0)
			break;
		path->size--;
		if ((rc = gkv__tree_entry_oid(&id, t, i)) < 0)
			break;
		if (k == GKV_KIND_DIR) {
			gkv_tree *c = NULL;

			if (dirs) {
				rc = cb((const char *)path->ptr, k, &id, payload);
				if (rc == GKV_WALK_SKIP) {
					rc = 0;
					continue;
				}
				if (rc != 0)
					break;
			}
			if ((rc = gkv__tree_entry_child(&c, t, i)) < 0)
				break;
			if ((rc = walk_push(&s, c, path->size)) < 0) {
				gkv__tree_unref(c);
				break;
			}
		} else if ((rc = cb((const char *)path->ptr, k, &id, payload)) != 0) {
			if (rc == GKV_WALK_SKIP)
				rc = 0;
			else
				break;
		}
	}
out:
	while (s.n > 1)
		gkv__tree_unref(s.f[--s.n].t);
	if (s.f != s.small)
		free(s.f);
	return rc;
}

int gkv_tree_walk(gkv_tree *tree, const char *path, int dirs, gkv_tree_walk_cb cb, void *payload)
{
	gkv__sbuf p = GKV__SBUF_INIT;
	gkv_tree *dir = NULL;
	gkv_oid id;
	uint32_t mode;
	int rc;

	if (!tree || !path || !cb)
		return gkv__error(GKV_E_INVALID, "gkv_tree_walk: NULL argument");
	if ((rc = gkv__path_check(path, 1)) < 0)
		return rc;
	if (*path) {
		rc = gkv__tree_entry_at(&id, &mode, tree, path);
		if (rc == GKV_E_NOTFOUND) {
			gkv_error_clear();
			return 0;
		}
		if (rc < 0)
			return rc;
		if (mode != GKV_MODE_TREE) {
			rc = cb(path, gkv__mode_kind(mode), &id, payload);
			return rc == GKV_WALK_SKIP ? 0 : rc;
		}
	}
	if ((rc = gkv_tree_subtree(&dir, tree, path)) < 0)
		return rc;
	if ((rc = gkv__sbuf_puts(&p, path)) == 0 && (rc = gkv__sbuf_putc(&p, '\0')) == 0) {
		p.size--;
		rc = walk(dir, &p, dirs, cb, payload);
	}
	gkv__sbuf_free(&p);
	gkv__tree_unref(dir);
	return rc;
}
