/*
 * cmd_merge.c -- `merge FROM`: three-way merge of a branch or commit into
 * --branch, through gkv_merge_into_branch (which fast-forwards when it
 * can, makes no commit when there is nothing to merge, and moves the head
 * by compare-and-swap). A conflict lists its paths and moves nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvctl.h"

static int report_conflicts(struct kv_ctx *ctx, const char *from, gkv_conflicts *c)
{
	size_t n = gkv_conflicts_count(c);

	for (size_t i = 0; i < n; i++) {
		/* The path quoted as list prints it, so that it stays one line. */
		fputs("kvctl: conflict: ", stderr);
		kv_put_quoted(stderr, gkv_conflicts_path(c, i));
		fprintf(stderr, ": %s\n", gkv_conflicts_reason(c, i));
	}
	ctx->conflicts = c;
	return kv_err(ctx, KV_CONFLICT, "merge of '%s' into branch '%s': %zu conflicting path%s, nothing changed",
	    from, ctx->branch, n, n == 1 ? "" : "s");
}

/* The merge commit's info: -m, or git's "Merge FROM into BRANCH". */
static int merge_info(gkv_info **out, struct kv_ctx *ctx, const char *from)
{
	size_t len = strlen(from) + strlen(ctx->branch) + 16;
	char *msg = malloc(len);
	int rc;

	if (!msg)
		return kv_err(ctx, KV_FAIL, "out of memory");
	snprintf(msg, len, "Merge %s into %s", from, ctx->branch);
	rc = kv_make_info(out, ctx, msg, NULL);
	free(msg);
	return rc;
}

int kv_cmd_merge(struct kv_ctx *ctx)
{
	const char *from = ctx->o.args[0];
	gkv_conflicts *conflicts = NULL;
	gkv_oid theirs, before, after;
	gkv_info *info = NULL;
	char hex[GKV_OID_HEXSZ + 1];
	int had, rc;

	if ((rc = kv_open(ctx, 0)) != KV_OK || (rc = kv_resolve(&theirs, ctx, from)) != KV_OK)
		return rc;
	had = gkv_branch_head(&before, ctx->repo, ctx->branch) == 0;
	if ((rc = merge_info(&info, ctx, from)) != KV_OK)
		return rc;
	rc = gkv_merge_into_branch(&after, &conflicts, ctx->repo, ctx->branch, &theirs, NULL, info);
	gkv_info_free(info);
	if (rc == GKV_E_CONFLICT && conflicts)
		return report_conflicts(ctx, from, conflicts);
	gkv_conflicts_free(conflicts);
	if (rc < 0)
		return kv_api_err(ctx, rc, "merge of '%s' into branch '%s'", from, ctx->branch);
	gkv_oid_fmt(hex, &after);
	if (had && gkv_oid_equal(&before, &after))
		kv_note(ctx, "branch '%s' already contains '%s'", ctx->branch, from);
	else
		kv_note(ctx, "branch '%s' is now %s", ctx->branch, hex);
	if (ctx->o.json) {
		fputc('{', ctx->out);
		kv_json_key(ctx->out, "branch", 1);
		kv_json_cstr(ctx->out, ctx->branch);
		kv_json_key(ctx->out, "hash", 0);
		kv_json_oid(ctx->out, &after);
		kv_json_key(ctx->out, "changed", 0);
		fputs(had && gkv_oid_equal(&before, &after) ? "false}\n" : "true}\n", ctx->out);
	}
	return KV_OK;
}
