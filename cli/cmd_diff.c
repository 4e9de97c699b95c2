/*
 * cmd_diff.c -- what changed between two trees, and the commands built
 * on it: `diff FROM TO` and `revert COMMIT`. `watch` (cmd_watch.c) prints
 * the same lines for each new head.
 *
 * The comparison reads names, kinds and ids only (gkv_tree_walk and
 * gkv_tree_entry), never a value: two versions of a value are the same
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

/* One side of the comparison: walking `from`, looking each entry up in
 * `other`. */
struct side {
	gkv_tree *other;
	int added; /* walking the new tree: entries missing from old are A */
	struct kv_changes *out;
};

/* What path names in tree: its kind (NONE for nothing) and id. */
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

static int visit(const char *path, gkv_kind kind, const gkv_oid *id, void *payload)
{
	struct side *s = payload;
	gkv_kind okind;
	gkv_oid oid;
	int rc = lookup(&okind, &oid, s->other, path);

	if (rc < 0)
		return rc;
	if (kind == GKV_KIND_DIR) /* the same subtree: nothing below changed */
		return okind == GKV_KIND_DIR && gkv_oid_equal(id, &oid) ? GKV_WALK_SKIP : 0;
	if (okind == GKV_KIND_NONE || okind == GKV_KIND_DIR)
		return changes_add(s->out, s->added ? 'A' : 'D', path);
	/* Present on both sides: reported once, from the new side. */
	if (s->added && (okind != kind || !gkv_oid_equal(id, &oid)))
		return changes_add(s->out, 'M', path);
	return 0;
}

int kv_diff_trees(struct kv_changes *out, gkv_tree *old, gkv_tree *new, const char *prefix)
{
	struct side s = {old, 1, out};
	int rc = 0;

	if (new)
		rc = gkv_tree_walk(new, prefix, 1, visit, &s);
	if (rc == 0 && old) {
		s.other = new;
		s.added = 0;
		rc = gkv_tree_walk(old, prefix, 1, visit, &s);
	}
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
