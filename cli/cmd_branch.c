/*
 * cmd_branch.c -- `branch`: list the branches, create one at a commit,
 * delete one (the default branch only with --force). --branch plays a
 * part only as the default FROM of create.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvctl.h"

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* {"name","head"}, the way --json shows one branch. */
static void print_branch_json(FILE *f, const char *name, const gkv_oid *head)
{
	putc('{', f);
	kv_json_key(f, "name", 1);
	kv_json_cstr(f, name);
	kv_json_key(f, "head", 0);
	kv_json_oid(f, head);
	putc('}', f);
}

static int print_branches_json(struct kv_ctx *ctx, const gkv_strarray *names)
{
	gkv_oid head;
	size_t i;
	int rc;

	putc('[', ctx->out);
	for (i = 0; i < names->count; i++) {
		if ((rc = gkv_branch_head(&head, ctx->repo, names->strings[i])) < 0)
			return kv_read_err(ctx, rc, "branch '%s'", names->strings[i]);
		if (i)
			putc(',', ctx->out);
		print_branch_json(ctx->out, names->strings[i], &head);
	}
	fputs("]\n", ctx->out);
	return KV_OK;
}

static int branch_list(struct kv_ctx *ctx)
{
	gkv_strarray names = {NULL, 0};
	size_t i;
	int rc;

	if ((rc = kv_open(ctx, KV_RDONLY | KV_ANYBRANCH)) != KV_OK)
		return rc;
	if ((rc = gkv_branch_list(&names, ctx->repo)) < 0)
		return kv_api_err(ctx, rc, "branches of store '%s'", kv_store_name(ctx));
	/* docs/cli.md's order is the bytes of the name, whatever the backend's. */
	if (names.count)
		qsort(names.strings, names.count, sizeof(char *), str_cmp);
	if (ctx->o.json)
		rc = print_branches_json(ctx, &names);
	else
		for (i = 0; i < names.count; i++)
			kv_print_name(ctx, names.strings[i], "");
	gkv_strarray_dispose(&names);
	return rc;
}

/* The commit FROM names, or the head of --branch without FROM. */
static int resolve_from(gkv_oid *out, struct kv_ctx *ctx, const char *from)
{
	int rc;

	if (!from) {
		rc = gkv_branch_head(out, ctx->repo, ctx->branch);
		if (rc == GKV_E_NOTFOUND && strcmp(ctx->branch, gkv_repo_default_branch(ctx->repo)))
			return kv_err(ctx, KV_NOTFOUND, "branch '%s' does not exist", ctx->branch);
		if (rc == GKV_E_NOTFOUND)
			return kv_err(ctx, KV_NOTFOUND, "branch '%s' has no commit yet",
				      ctx->branch);
		return rc < 0 ? kv_api_err(ctx, rc, "branch '%s'", ctx->branch) : KV_OK;
	}
	return kv_resolve(out, ctx, from);
}

static int branch_create(struct kv_ctx *ctx, const char *name, const char *from)
{
	gkv_oid target;
	char hex[GKV_OID_HEXSZ + 1];
	int rc;

	if ((rc = gkv_branch_name_validate(name)) < 0)
		return kv_api_err(ctx, rc, "invalid branch name '%s'", name);
	if ((rc = kv_open(ctx, KV_ANYBRANCH)) != KV_OK ||
	    (rc = resolve_from(&target, ctx, from)) != KV_OK)
		return rc;
	rc = gkv_branch_create(ctx->repo, name, &target);
	if (rc == GKV_E_EXISTS)
		return kv_err(ctx, KV_CONFLICT, "branch '%s' already exists", name);
	if (rc < 0)
		return kv_api_err(ctx, rc, "create branch '%s'", name);
	gkv_oid_fmt(hex, &target);
	kv_note(ctx, "created branch '%s' at %s", name, hex);
	if (ctx->o.json) {
		print_branch_json(ctx->out, name, &target);
		putc('\n', ctx->out);
	}
	return KV_OK;
}

static int branch_delete(struct kv_ctx *ctx, const char *name)
{
	gkv_oid head;
	int rc;

	if ((rc = gkv_branch_name_validate(name)) < 0)
		return kv_api_err(ctx, rc, "invalid branch name '%s'", name);
	if ((rc = kv_open(ctx, KV_ANYBRANCH)) != KV_OK)
		return rc;
	/*
	 * Deleting the default branch leaves the store's HEAD naming nothing
	 * and every commit on it unreachable by name: only on purpose.
	 */
	if (strcmp(name, gkv_repo_default_branch(ctx->repo)) == 0 && !ctx->o.force)
		return kv_err(ctx, KV_USAGE,
			      "branch '%s' is the store's default branch: deleting it needs --force",
			      name);
	/* Read first, to say where the branch was (to undo the delete). A
	 * damaged branch (naming no commit) can still be deleted: resolve
	 * reads the ref without checking what it names. */
	rc = gkv_branch_head(&head, ctx->repo, name);
	if (rc == GKV_E_CORRUPT)
		rc = gkv_repo_resolve(&head, ctx->repo, name);
	if (rc == 0)
		rc = gkv_branch_delete(ctx->repo, name);
	if (rc == GKV_E_NOTFOUND)
		return kv_err(ctx, KV_NOTFOUND, "branch '%s' does not exist", name);
	if (rc < 0)
		return kv_api_err(ctx, rc, "delete branch '%s'", name);
	if (ctx->o.verbosity > 0) {
		char hex[GKV_OID_HEXSZ + 1];

		gkv_oid_fmt(hex, &head);
		kv_note(ctx, "deleted branch '%s' (was %s)", name, hex);
	}
	if (ctx->o.json) {
		print_branch_json(ctx->out, name, &head);
		putc('\n', ctx->out);
	}
	return KV_OK;
}

int kv_cmd_branch(struct kv_ctx *ctx)
{
	size_t n = ctx->o.nargs;
	const char *sub = n ? ctx->o.args[0] : "";

	if (n == 0 || (n == 1 && strcmp(sub, "list") == 0))
		return branch_list(ctx);
	if (strcmp(sub, "create") == 0 && (n == 2 || n == 3))
		return branch_create(ctx, ctx->o.args[1], n == 3 ? ctx->o.args[2] : NULL);
	if (strcmp(sub, "delete") == 0 && n == 2)
		return branch_delete(ctx, ctx->o.args[1]);
	return kv_err(ctx, KV_USAGE, "usage: kvctl %s (see 'kvctl branch --help')",
		      ctx->cmd->usage);
}

/* ------------------------------------------------------------ reflog */

/*
 * Every move of a branch, newest first: "<old> <new> <time> <message>",
 * the ids 40 hex (zeros for "absent": the first entry of a branch made,
 * the last of one deleted), the time in seconds since the epoch. The log
 * of a deleted branch is kept, so that `branch create NAME <old>` of its
 * newest entry brings it back.
 */
int kv_cmd_reflog(struct kv_ctx *ctx)
{
	char old[GKV_OID_HEXSZ + 1], new[GKV_OID_HEXSZ + 1], head[2 * GKV_OID_HEXSZ + 32];
	gkv_reflog *log = NULL;
	const char *name;
	size_t n;
	int rc;

	if ((rc = kv_open(ctx, KV_RDONLY)) != KV_OK)
		return rc;
	name = ctx->o.nargs ? ctx->o.args[0] : ctx->branch;
	if ((rc = gkv_branch_reflog(&log, ctx->repo, name)) < 0) {
		if (rc == GKV_E_NOTFOUND)
			return kv_err(ctx, KV_NOTFOUND, "branch '%s' has no log", name);
		return kv_api_err(ctx, rc, "log of branch '%s'", name);
	}
	n = gkv_reflog_count(log);
	if (ctx->o.json)
		putc('[', ctx->out);
	for (size_t i = 0; i < n; i++) {
		const gkv_signature *who = gkv_reflog_signature(log, i);
		const char *msg = gkv_reflog_message(log, i);

		if (ctx->o.json) {
			fputs(i ? ",{" : "{", ctx->out);
			kv_json_key(ctx->out, "old", 1);
			kv_json_oid(ctx->out, gkv_reflog_old_id(log, i));
			kv_json_key(ctx->out, "new", 0);
			kv_json_oid(ctx->out, gkv_reflog_new_id(log, i));
			kv_json_key(ctx->out, "name", 0);
			kv_json_cstr(ctx->out, gkv_signature_name(who));
			kv_json_key(ctx->out, "email", 0);
			kv_json_cstr(ctx->out, gkv_signature_email(who));
			kv_json_key(ctx->out, "time", 0);
			fprintf(ctx->out, "%" PRId64, gkv_signature_time(who));
			kv_json_key(ctx->out, "message", 0);
			kv_json_cstr(ctx->out, msg);
			putc('}', ctx->out);
			continue;
		}
		gkv_oid_fmt(old, gkv_reflog_old_id(log, i));
		gkv_oid_fmt(new, gkv_reflog_new_id(log, i));
		snprintf(head, sizeof(head), "%s %s %" PRId64, old, new, gkv_signature_time(who));
		kv_print_subject(ctx, head, msg);
	}
	if (ctx->o.json)
		fputs("]\n", ctx->out);
	gkv_reflog_free(log);
	return KV_OK;
}
