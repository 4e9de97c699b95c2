/*
 * cmd_diff.c -- what changed between two trees, and the commands built
 * on it: `diff FROM TO` and `revert COMMIT`. `watch` (cmd_watch.c) prints
 * the same lines for each new head.
 *
 * The comparison reads names, kinds and ids only (gkv_tree_walk, a
 * directory at a time), never a value: two versions of a value are the same
 * when their blob ids and kinds are, whatever their size, and a
 * directory whose tree id did not change is skipped whole. A path that
 * is a value on one side and a directory on the other is a D of the
 * value and an A of each value under the directory.
 */
#include <stdlib.h>
#include <string.h>

#include "kvctl.h"

static int changes_add(struct kv_changes *c, char op, const char *path)
{
	struct kv_change *v;
	char *copy;

	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;

		if ((v = realloc(c->v, cap * sizeof(*v))) == NULL)
			return GKV_E_NOMEM;
		c->v = v;
		c->cap = cap;
	}
	if ((copy = strdup(path)) == NULL)
		return GKV_E_NOMEM;
	c->v[c->n].op = op;
	c->v[c->n++].path = copy;
	return 0;
}

void kv_changes_free(struct kv_changes *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].path);
	free(c->v);
	memset(c, 0, sizeof(*c));
}

static int change_cmp(const void *a, const void *b)
{
	return strcmp(((const struct kv_change *)a)->path, ((const struct kv_change *)b)->path);
}

/* One entry of a directory: its name, kind and id. */
struct dent {
	char *name;
	gkv_kind kind;
	gkv_oid id;
};

/* One directory's entries (gkv_tree_walk, one level). */
struct level {
	struct dent *v;
	size_t n, cap;
	size_t skip; /* the length of the directory's path and its '/' */
};

static void level_free(struct level *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
}

static int level_add(const char *path, gkv_kind kind, const gkv_oid *id, void *payload)
{
	struct level *l = payload;
	struct dent *v;

	if (strlen(path) <= l->skip) /* the directory itself */
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;

		if ((v = realloc(l->v, cap * sizeof(*v))) == NULL)
			return GKV_E_NOMEM;
		l->v = v;
		l->cap = cap;
	}
	if ((l->v[l->n].name = strdup(path + l->skip)) == NULL)
		return GKV_E_NOMEM;
	l->v[l->n].kind = kind;
	l->v[l->n++].id = *id;
	return kind == GKV_KIND_DIR ? GKV_WALK_SKIP : 0;
}

static int dent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dent *)a)->name, ((const struct dent *)b)->name);
}

/* The entries of the directory at path in tree, sorted by name (bytes). */
static int level_read(struct level *l, gkv_tree *tree, const char *path)
{
	int rc;

	l->skip = *path ? strlen(path) + 1 : 0;
	if ((rc = gkv_tree_walk(tree, path, 1, level_add, l)) < 0)
		return rc;
	if (l->n)
		qsort(l->v, l->n, sizeof(l->v[0]), dent_cmp);
	return 0;
}

/* Every value under path in tree (a directory) reported as op. */
struct all_under {
	struct kv_changes *out;
	char op;
};

static int add_one(const char *path, gkv_kind kind, const gkv_oid *id, void *payload)
{
	struct all_under *a = payload;

	(void)kind;
	(void)id;
	return changes_add(a->out, a->op, path);
}

static int diff_dir(struct kv_changes *out, gkv_tree *old, gkv_tree *new, const char *path);

/*
 * What is at path on each side (kind NONE: nothing), compared: the same
 * directory (by id) is skipped whole; a changed directory is compared
 * name by name; a value on one side and a directory on the other is a D
 * of the value and an A of each value under the directory (or the
 * reverse); a value is M when its kind or id changed.
 */
static int diff_entry(struct kv_changes *out, gkv_tree *old, gkv_tree *new, const char *path,
		      gkv_kind ok, const gkv_oid *oid, gkv_kind nk, const gkv_oid *nid)
{
	struct all_under all = {out, 'D'};
	int rc = 0;

	if (ok == GKV_KIND_DIR && nk == GKV_KIND_DIR)
		return gkv_oid_equal(oid, nid) ? 0 : diff_dir(out, old, new, path);
	if (ok == GKV_KIND_DIR) {
		rc = gkv_tree_walk(old, path, 0, add_one, &all);
		return rc < 0 || nk == GKV_KIND_NONE ? rc : changes_add(out, 'A', path);
	}
	if (nk == GKV_KIND_DIR) {
		if (ok != GKV_KIND_NONE && (rc = changes_add(out, 'D', path)) < 0)
			return rc;
		all.op = 'A';
		return gkv_tree_walk(new, path, 0, add_one, &all);
	}
	if (ok == GKV_KIND_NONE)
		return nk == GKV_KIND_NONE ? 0 : changes_add(out, 'A', path);
	if (nk == GKV_KIND_NONE)
		return changes_add(out, 'D', path);
	return ok != nk || !gkv_oid_equal(oid, nid) ? changes_add(out, 'M', path) : 0;
}

/* Two versions of the directory at path, joined by name. */
static int diff_dir(struct kv_changes *out, gkv_tree *old, gkv_tree *new, const char *path)
{
	struct level lo = {NULL, 0, 0, 0}, ln = {NULL, 0, 0, 0};
	size_t i = 0, j = 0, plen = strlen(path);
	char *child = NULL;
	int rc;

	if ((rc = level_read(&lo, old, path)) < 0 || (rc = level_read(&ln, new, path)) < 0)
		goto done;
	while (rc == 0 && (i < lo.n || j < ln.n)) {
		int c = i == lo.n ? 1 : j == ln.n ? -1 : strcmp(lo.v[i].name, ln.v[j].name);
		const struct dent *o = c <= 0 ? &lo.v[i++] : NULL, *n = c >= 0 ? &ln.v[j++] : NULL;
		const char *name = o ? o->name : n->name;
		size_t nlen = strlen(name);
		char *p;

		if ((p = realloc(child, plen + nlen + 2)) == NULL) {
			rc = GKV_E_NOMEM;
			break;
		}
		child = p;
		if (plen) {
			memcpy(p, path, plen);
			p[plen] = '/';
		}
		memcpy(p + (plen ? plen + 1 : 0), name, nlen + 1);
		rc = diff_entry(out, old, new, child, o ? o->kind : GKV_KIND_NONE, o ? &o->id : NULL,
				n ? n->kind : GKV_KIND_NONE, n ? &n->id : NULL);
	}
done:
	free(child);
	level_free(&lo);
	level_free(&ln);
	return rc;
}

/* What path names in tree: its kind (NONE for nothing, or no tree) and id. */
static int lookup(gkv_kind *kind, gkv_oid *id, gkv_tree *tree, const char *path)
{
	int rc;

	*kind = GKV_KIND_NONE;
	if (!tree)
		return 0;
	rc = gkv_tree_entry(id, kind, NULL, tree, path);
	if (rc == GKV_E_NOTFOUND) {
		*kind = GKV_KIND_NONE;
		return 0;
	}
	return rc;
}

/*
 * Both trees are read together, a directory at a time: a directory whose
 * id is the same on both sides is not read at all, so a diff costs the
 * directories that changed, and each entry is found by joining the two
 * listings of its directory, not by a lookup from the root.
 */
int kv_diff_trees(struct kv_changes *out, gkv_tree *old, gkv_tree *new, const char *prefix)
{
	gkv_kind ok, nk;
	gkv_oid oid, nid;
	int rc;

	if ((rc = lookup(&ok, &oid, old, prefix)) < 0 || (rc = lookup(&nk, &nid, new, prefix)) < 0)
		return rc;
	if (!*prefix) { /* the roots: an empty tree is no directory */
		ok = old && !gkv_tree_is_empty(old) ? GKV_KIND_DIR : GKV_KIND_NONE;
		nk = new && !gkv_tree_is_empty(new) ? GKV_KIND_DIR : GKV_KIND_NONE;
	}
	rc = diff_entry(out, old, new, prefix, ok, &oid, nk, &nid);
	if (rc == 0 && out->n)
		qsort(out->v, out->n, sizeof(out->v[0]), change_cmp);
	return rc;
}

void kv_print_change(struct kv_ctx *ctx, const struct kv_change *c)
{
	char op[3] = {c->op, ' ', '\0'};

	if (ctx->o.nul) {
		fputs(op, ctx->out);
		fputs(c->path, ctx->out);
		putc('\0', ctx->out);
		return;
	}
	fputs(op, ctx->out);
	kv_put_quoted(ctx->out, c->path);
	putc('\n', ctx->out);
}

/* ------------------------------------------------------------ diff */

int kv_cmd_diff(struct kv_ctx *ctx)
{
	const char *from = ctx->o.args[0], *to = ctx->o.args[1];
	struct kv_changes ch = {NULL, 0, 0};
	gkv_tree *old = NULL, *new = NULL;
	gkv_oid a, b;
	int rc;

	if ((rc = kv_open(ctx, KV_RDONLY | KV_ANYBRANCH)) != KV_OK ||
	    (rc = kv_resolve(&a, ctx, from)) != KV_OK || (rc = kv_resolve(&b, ctx, to)) != KV_OK ||
	    (rc = kv_commit_tree(&old, ctx, &a)) != KV_OK ||
	    (rc = kv_commit_tree(&new, ctx, &b)) != KV_OK)
		goto done;
	if ((rc = kv_diff_trees(&ch, old, new, "")) < 0) {
		rc = kv_read_err(ctx, rc, "diff of '%s' and '%s'", from, to);
		goto done;
	}
	if (ctx->o.json)
		putc('[', ctx->out);
	for (size_t i = 0; i < ch.n; i++) {
		if (!ctx->o.json) {
			kv_print_change(ctx, &ch.v[i]);
			continue;
		}
		fputs(i ? ",{" : "{", ctx->out);
		kv_json_key(ctx->out, "op", 1);
		fprintf(ctx->out, "\"%c\"", ch.v[i].op);
		kv_json_key(ctx->out, "path", 0);
		kv_json_cstr(ctx->out, ch.v[i].path);
		putc('}', ctx->out);
	}
	if (ctx->o.json)
		fputs("]\n", ctx->out);
	rc = KV_OK;
done:
	kv_changes_free(&ch);
	gkv_tree_free(old);
	gkv_tree_free(new);
	return rc;
}

/* ------------------------------------------------------------ revert */

/*
 * `revert COMMIT`: move the branch head to COMMIT by compare-and-swap
 * from the head read just before, so that a write landing meanwhile is
 * never lost without a word (exit 3). The library logs the move in the
 * branch's reflog ("reset: moving to ..."), so a revert is undone with
 * another revert to the old id the reflog keeps. No commit is made.
 */
int kv_cmd_revert(struct kv_ctx *ctx)
{
	const char *spec = ctx->o.args[0];
	gkv_oid target, head;
	char hex[GKV_OID_HEXSZ + 1], was[GKV_OID_HEXSZ + 1];
	int had, rc, changed;

	if ((rc = kv_open(ctx, 0)) != KV_OK || (rc = kv_resolve(&target, ctx, spec)) != KV_OK)
		return rc;
	rc = gkv_branch_head(&head, ctx->repo, ctx->branch);
	if (rc < 0 && rc != GKV_E_NOTFOUND)
		return kv_api_err(ctx, rc, "branch '%s'", ctx->branch);
	had = rc == 0;
	changed = !had || !gkv_oid_equal(&head, &target);
	if (changed &&
	    (rc = gkv_branch_cas(ctx->repo, ctx->branch, had ? &head : NULL, &target)) < 0)
		return kv_api_err(ctx, rc, "revert of branch '%s' to '%s'", ctx->branch, spec);
	gkv_oid_fmt(hex, &target);
	if (had)
		gkv_oid_fmt(was, &head);
	if (changed)
		kv_note(ctx, "branch '%s' moved from %s to %s", ctx->branch, had ? was : "nothing",
			hex);
	else
		kv_note(ctx, "branch '%s' is already at %s", ctx->branch, hex);
	if (ctx->o.json) {
		putc('{', ctx->out);
		kv_json_key(ctx->out, "branch", 1);
		kv_json_cstr(ctx->out, ctx->branch);
		kv_json_key(ctx->out, "hash", 0);
		kv_json_oid(ctx->out, &target);
		kv_json_key(ctx->out, "previous", 0);
		if (had)
			kv_json_oid(ctx->out, &head);
		else
			fputs("null", ctx->out);
		kv_json_key(ctx->out, "changed", 0);
		fputs(changed ? "true}\n" : "false}\n", ctx->out);
	}
	return KV_OK;
}
