/*
 * cmd_log.c -- the commands on history: log and snapshot.
 *
 * `log PATH` keeps a commit when what PATH holds differs from what it
 * holds in the commit's first parent (or, for a root commit, when PATH
 * holds anything): the same rule as gkv_history_last_change, applied to
 * every commit of the walk.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "kvctl.h"

/* What a path holds, enough to tell whether it changed: its kind and the
 * id of what is there (a value's blob, a subtree, a submodule's commit),
 * read from the trees alone -- a value is never read, whatever its size. */
struct held {
	gkv_kind kind;
	gkv_oid id;
};

static int held_at(struct held *out, gkv_tree *tree, const char *path)
{
	int rc;

	memset(out, 0, sizeof(*out));
	rc = gkv_tree_entry(&out->id, &out->kind, NULL, tree, path);
	if (rc == GKV_E_NOTFOUND) {
		memset(out, 0, sizeof(*out)); /* GKV_KIND_NONE */
		return 0;
	}
	return rc;
}

/* What path holds in the tree of commit id (nothing for no commit). */
static int held_in_commit(struct held *out, gkv_repo *repo, const gkv_oid *id, const char *path)
{
	gkv_commit *c = NULL;
	gkv_tree *tree = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!id)
		return 0;
	if ((rc = gkv_commit_lookup(&c, repo, id)) == 0 &&
	    (rc = gkv_tree_lookup(&tree, repo, gkv_commit_tree_id(c))) == 0)
		rc = held_at(out, tree, path);
	gkv_tree_free(tree);
	gkv_commit_free(c);
	return rc;
}

/* *out = 1 if commit c changed what path holds, compared with its first parent. */
static int changes_path(int *out, gkv_repo *repo, gkv_commit *c, const char *path)
{
	struct held now, before;
	int rc;

	if ((rc = held_in_commit(&now, repo, gkv_commit_id(c), path)) < 0 ||
	    (rc = held_in_commit(&before, repo, gkv_commit_parent_id(c, 0), path)) < 0)
		return rc;
	*out = now.kind != before.kind || !gkv_oid_equal(&now.id, &before.id);
	return 0;
}

static void print_commit_json(FILE *f, gkv_commit *c, int first)
{
	const gkv_signature *a = gkv_commit_author(c);
	size_t i, n = gkv_commit_parentcount(c);

	fputs(first ? "{" : ",{", f);
	kv_json_key(f, "hash", 1);
	kv_json_oid(f, gkv_commit_id(c));
	kv_json_key(f, "parents", 0);
	putc('[', f);
	for (i = 0; i < n; i++) {
		if (i)
			putc(',', f);
		kv_json_oid(f, gkv_commit_parent_id(c, i));
	}
	putc(']', f);
	kv_json_key(f, "author", 0);
	kv_json_cstr(f, gkv_signature_name(a));
	kv_json_key(f, "email", 0);
	kv_json_cstr(f, gkv_signature_email(a));
	kv_json_key(f, "time", 0);
	fprintf(f, "%" PRId64, gkv_signature_time(a));
	kv_json_key(f, "message", 0);
	kv_json_cstr(f, gkv_commit_message(c));
	putc('}', f);
}

/* -n N: a count, or -1 for no limit. */
static int parse_count(long long *out, struct kv_ctx *ctx)
{
	char *end;

	*out = -1;
	if (!ctx->o.count)
		return KV_OK;
	errno = 0;
	*out = strtoll(ctx->o.count, &end, 10);
	if (errno || end == ctx->o.count || *end || *out < 0)
		return kv_err(ctx, KV_USAGE, "invalid count '%s' for -n", ctx->o.count);
	return KV_OK;
}

/* Print the commits of the walk, at most max (-1: all), that pass the filter. */
static int walk(struct kv_ctx *ctx, gkv_revwalk *w, long long max, const char *path)
{
	gkv_oid id;
	gkv_commit *c = NULL;
	char hex[GKV_OID_HEXSZ + 1];
	int rc = 0, keep = 1;
	long long shown = 0;

	while ((max < 0 || shown < max) && (rc = gkv_revwalk_next(&id, w)) == 0) {
		if ((rc = gkv_commit_lookup(&c, ctx->repo, &id)) < 0 ||
		    (path && (rc = changes_path(&keep, ctx->repo, c, path)) < 0))
			break;
		if (keep && ctx->o.json) {
			print_commit_json(ctx->out, c, shown == 0);
		} else if (keep) {
			gkv_oid_fmt(hex, &id);
			kv_print_subject(ctx, hex, gkv_commit_summary(c));
		}
		shown += keep;
		gkv_commit_free(c);
		c = NULL;
	}
	gkv_commit_free(c);
	/* Every id here came from the store (the head, parents, trees): one
	 * that is missing or of the wrong type is damage. */
	if (rc < 0 && rc != GKV_ITEROVER)
		return kv_read_err(ctx, rc, "log of branch '%s'", ctx->branch);
	return KV_OK;
}

int kv_cmd_log(struct kv_ctx *ctx)
{
	char *path = ctx->o.nargs ? ctx->o.args[0] : NULL;
	gkv_store *store = NULL;
	gkv_revwalk *w = NULL;
	gkv_oid head;
	long long max;
	int rc;

	if ((rc = parse_count(&max, ctx)) != KV_OK ||
	    (path && (rc = kv_check_path(ctx, path, 1, 1)) != KV_OK) ||
	    (rc = kv_open(ctx, KV_RDONLY)) != KV_OK || (rc = kv_open_store(&store, ctx)) != KV_OK)
		goto done;
	if (path && *path == '\0') /* the root: the whole history, unfiltered */
		path = NULL;
	if (ctx->o.json)
		fputs("[", ctx->out);
	rc = gkv_store_head(&head, store);
	if (rc == GKV_E_NOTFOUND) { /* the default branch before its first commit */
		rc = KV_OK;
	} else if (rc < 0 || (rc = gkv_revwalk_new(&w, ctx->repo)) < 0 ||
		   (rc = gkv_revwalk_push(w, &head)) < 0) {
		rc = kv_read_err(ctx, rc, "log of branch '%s'", ctx->branch);
	} else {
		rc = walk(ctx, w, max, path);
	}
	if (ctx->o.json)
		fputs("]\n", ctx->out);
done:
	gkv_revwalk_free(w);
	gkv_store_free(store);
	return rc;
}

int kv_cmd_snapshot(struct kv_ctx *ctx)
{
	gkv_store *store = NULL;
	gkv_oid head;
	char hex[GKV_OID_HEXSZ + 1];
	int rc;

	if ((rc = kv_open(ctx, KV_RDONLY)) != KV_OK || (rc = kv_open_store(&store, ctx)) != KV_OK)
		goto done;
	rc = gkv_store_head(&head, store);
	if (rc == GKV_E_NOTFOUND) {
		rc = kv_err(ctx, KV_NOTFOUND, "branch '%s' has no commit yet", ctx->branch);
	} else if (rc < 0) {
		rc = kv_api_err(ctx, rc, "head of branch '%s'", ctx->branch);
	} else if (ctx->o.json) {
		fputs("{", ctx->out);
		kv_json_key(ctx->out, "branch", 1);
		kv_json_cstr(ctx->out, ctx->branch);
		kv_json_key(ctx->out, "hash", 0);
		kv_json_oid(ctx->out, &head);
		fputs("}\n", ctx->out);
	} else {
		gkv_oid_fmt(hex, &head);
		fprintf(ctx->out, "%s\n", hex);
	}
done:
	gkv_store_free(store);
	return rc;
}
