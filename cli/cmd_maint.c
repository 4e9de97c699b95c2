/*
 * cmd_maint.c -- looking after a store: `gc` (remove what no ref
 * reaches), `fsck` (check every object and ref) and `stats` (what the
 * store holds). gc and fsck draw a progress bar on stderr when stdout is
 * a terminal.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "kvctl.h"
#include "gitkv/backends.h"
#include "progress.h"

/* The library's progress callback, drawing the bar it is given. */
static int on_work(uint64_t done, uint64_t total, void *payload)
{
	kv_progress_update(payload, done, total, 0);
	return 0;
}

/* ------------------------------------------------------------ gc */

int kv_cmd_gc(struct kv_ctx *ctx)
{
	gkv_gc_result res;
	kv_progress *bar;
	int rc;

	if ((rc = kv_open(ctx, KV_ANYBRANCH)) != KV_OK)
		return rc;
	memset(&res, 0, sizeof(res));
	bar = kv_progress_start("gc");
	rc = gkv_repo_gc(&res, ctx->repo, on_work, bar);
	kv_progress_end(bar);
	if (rc == GKV_E_UNSUPPORTED && strcmp(gkv_repo_backend_name(ctx->repo), "git") == 0) {
		/* Not a failure: git's own gc reclaims a git store's space. */
		if (ctx->o.json) {
			putc('{', ctx->out);
			kv_json_key(ctx->out, "supported", 1);
			fputs("false", ctx->out);
			kv_json_key(ctx->out, "message", 0);
			kv_json_cstr(ctx->out, "a git store's space is reclaimed by git gc");
			fputs("}\n", ctx->out);
		} else {
			fprintf(ctx->out,
				"nothing removed: store '%s' is a git repository, whose "
				"space `git gc` reclaims\n",
				kv_store_name(ctx));
		}
		return KV_OK;
	}
	if (rc < 0)
		return kv_api_err(ctx, rc, "gc of store '%s'", kv_store_name(ctx));
	if (!ctx->o.json) {
		fprintf(ctx->out, "removed %" PRIu64 " objects (%" PRIu64 " bytes)\n",
			res.objects_removed, res.bytes_removed);
		kv_note(ctx,
			"kept %" PRIu64 " objects; removed %" PRIu64 " logs of deleted branches",
			res.objects_kept, res.reflogs_removed);
		return KV_OK;
	}
	putc('{', ctx->out);
	kv_json_key(ctx->out, "supported", 1);
	fputs("true", ctx->out);
	kv_json_key(ctx->out, "objects_removed", 0);
	fprintf(ctx->out, "%" PRIu64, res.objects_removed);
	kv_json_key(ctx->out, "bytes_removed", 0);
	fprintf(ctx->out, "%" PRIu64, res.bytes_removed);
	kv_json_key(ctx->out, "objects_kept", 0);
	fprintf(ctx->out, "%" PRIu64, res.objects_kept);
	kv_json_key(ctx->out, "reflogs_removed", 0);
	fprintf(ctx->out, "%" PRIu64 "}\n", res.reflogs_removed);
	return KV_OK;
}

/* ------------------------------------------------------------ fsck */

struct fsck {
	struct kv_ctx *ctx;
	FILE *json; /* the problems as JSON array members, or NULL */
	size_t n;
};

static int on_problem(const gkv_oid *id, const char *ref, const char *problem, void *payload)
{
	struct fsck *f = payload;
	char hex[GKV_OID_HEXSZ + 1];

	if (id)
		gkv_oid_fmt(hex, id);
	if (f->json) {
		fputs(f->n ? ",{" : "{", f->json);
		kv_json_key(f->json, "id", 1);
		if (id)
			kv_json_cstr(f->json, hex);
		else
			fputs("null", f->json);
		kv_json_key(f->json, "ref", 0);
		if (ref)
			kv_json_cstr(f->json, ref);
		else
			fputs("null", f->json);
		kv_json_key(f->json, "problem", 0);
		kv_json_cstr(f->json, problem);
		putc('}', f->json);
	} else {
		/* "<id> <problem>"; a ref's problem names the ref instead. */
		fputs(id ? hex : ref ? ref : "-", f->ctx->out);
		putc(' ', f->ctx->out);
		fputs(problem, f->ctx->out);
		putc('\n', f->ctx->out);
	}
	f->n++;
	return 0;
}

/*
 * One line per problem on stdout, and exit 4 when there is any. With
 * --json the problems are in the document whether or not there are any:
 * {"problems":[...]} on success, the error document with the same
 * "problems" member otherwise.
 */
int kv_cmd_fsck(struct kv_ctx *ctx)
{
	struct fsck f = {ctx, NULL, 0};
	char *buf = NULL;
	size_t len = 0, problems = 0;
	kv_progress *bar;
	int rc;

	if ((rc = kv_open(ctx, KV_RDONLY | KV_ANYBRANCH)) != KV_OK)
		return rc;
	if (ctx->o.json && (f.json = open_memstream(&buf, &len)) == NULL)
		return kv_err(ctx, KV_FAIL, "out of memory");
	bar = kv_progress_start("fsck");
	rc = gkv_repo_fsck(&problems, ctx->repo, on_problem, &f, on_work, bar);
	kv_progress_end(bar);
	if (f.json)
		fclose(f.json);
	if (rc < 0) {
		free(buf);
		return kv_api_err(ctx, rc, "fsck of store '%s'", kv_store_name(ctx));
	}
	if (ctx->o.json) {
		size_t need = len + sizeof(",\"problems\":[]");

		if (problems == 0) {
			fprintf(ctx->out, "{\"problems\":[%s]}\n", buf ? buf : "");
		} else if ((ctx->errjson = malloc(need)) != NULL) {
			snprintf(ctx->errjson, need, ",\"problems\":[%s]", buf ? buf : "");
		}
	}
	free(buf);
	if (problems)
		return kv_err(ctx, KV_FAIL, "store '%s' has %zu problem%s", kv_store_name(ctx),
			      problems, problems == 1 ? "" : "s");
	kv_note(ctx, "store '%s' has no problems", kv_store_name(ctx));
	return KV_OK;
}

/* ------------------------------------------------------------ stats */

static const char *const type_names[5] = {NULL, "commit", "tree", "blob", "tag"};

/* What the branch's head tree holds, from names and ids only. */
struct tree_count {
	uint64_t values, dirs, other, bytes;
	gkv_tree *tree;
};

static int count_entry(const char *path, gkv_kind kind, const gkv_oid *id, void *payload)
{
	struct tree_count *t = payload;
	uint64_t size = 0;
	int rc;

	(void)id;
	if (kind == GKV_KIND_DIR) {
		t->dirs++;
		return 0;
	}
	if (kind == GKV_KIND_SUBMODULE) {
		t->other++;
		return 0;
	}
	/* The size comes from the object's header: the value is not read. */
	if ((rc = gkv_tree_entry(NULL, NULL, &size, t->tree, path)) < 0)
		return rc;
	t->bytes += size;
	if (kind == GKV_KIND_VALUE)
		t->values++;
	else
		t->other++;
	return 0;
}

struct backend_figures {
	FILE *f;
	int json, n;
	const char *backend;
};

static int on_figure(const char *name, uint64_t value, void *payload)
{
	struct backend_figures *b = payload;

	if (b->json) {
		kv_json_key(b->f, name, b->n == 0);
		fprintf(b->f, "%" PRIu64, value);
	} else {
		fprintf(b->f, "%s.%s %" PRIu64 "\n", b->backend, name, value);
	}
	b->n++;
	return 0;
}

static void print_stats_text(FILE *f, struct kv_ctx *ctx, const gkv_repo_stats *st,
			     const struct tree_count *t)
{
	uint64_t count = 0, bytes = 0;

	for (int i = GKV_OBJ_COMMIT; i <= GKV_OBJ_TAG; i++)
		count += st->count[i], bytes += st->bytes[i];
	fprintf(f, "backend %s\n", gkv_repo_backend_name(ctx->repo));
	fprintf(f, "objects %" PRIu64 " (%" PRIu64 " bytes)\n", count, bytes);
	for (int i = GKV_OBJ_COMMIT; i <= GKV_OBJ_TAG; i++)
		fprintf(f, "%ss %" PRIu64 " (%" PRIu64 " bytes)\n", type_names[i], st->count[i],
			st->bytes[i]);
	fprintf(f, "refs %" PRIu64 "\n", st->refs);
	fprintf(f, "branches %" PRIu64 "\n", st->branches);
	fprintf(f,
		"branch %s: %" PRIu64 " values, %" PRIu64 " directories, %" PRIu64
		" other entries, %" PRIu64 " bytes\n",
		ctx->branch, t->values, t->dirs, t->other, t->bytes);
}

static void print_stats_json(FILE *f, struct kv_ctx *ctx, const gkv_repo_stats *st,
			     const struct tree_count *t)
{
	fputs("{", f);
	kv_json_key(f, "backend", 1);
	kv_json_cstr(f, gkv_repo_backend_name(ctx->repo));
	kv_json_key(f, "objects", 0);
	putc('{', f);
	for (int i = GKV_OBJ_COMMIT; i <= GKV_OBJ_TAG; i++) {
		kv_json_key(f, type_names[i], i == GKV_OBJ_COMMIT);
		fprintf(f, "{\"count\":%" PRIu64 ",\"bytes\":%" PRIu64 "}", st->count[i],
			st->bytes[i]);
	}
	putc('}', f);
	kv_json_key(f, "refs", 0);
	fprintf(f, "%" PRIu64, st->refs);
	kv_json_key(f, "branches", 0);
	fprintf(f, "%" PRIu64, st->branches);
	kv_json_key(f, "branch", 0);
	fputs("{", f);
	kv_json_key(f, "name", 1);
	kv_json_cstr(f, ctx->branch);
	kv_json_key(f, "values", 0);
	fprintf(f, "%" PRIu64, t->values);
	kv_json_key(f, "dirs", 0);
	fprintf(f, "%" PRIu64, t->dirs);
	kv_json_key(f, "other", 0);
	fprintf(f, "%" PRIu64, t->other);
	kv_json_key(f, "bytes", 0);
	fprintf(f, "%" PRIu64 "}", t->bytes);
}

int kv_cmd_stats(struct kv_ctx *ctx)
{
	struct tree_count t = {0, 0, 0, 0, NULL};
	struct backend_figures b = {NULL, ctx->o.json, 0, NULL};
	gkv_store *store = NULL;
	gkv_repo_stats st;
	int rc;

	if ((rc = kv_open(ctx, KV_RDONLY)) != KV_OK || (rc = kv_open_store(&store, ctx)) != KV_OK ||
	    (rc = kv_head_tree(&t.tree, store, ctx)) != KV_OK)
		goto done;
	memset(&st, 0, sizeof(st));
	if ((rc = gkv_repo_stats_read(&st, ctx->repo)) < 0) {
		rc = kv_api_err(ctx, rc, "stats of store '%s'", kv_store_name(ctx));
		goto done;
	}
	if ((rc = gkv_tree_walk(t.tree, "", 1, count_entry, &t)) < 0) {
		rc = kv_read_err(ctx, rc, "tree of branch '%s'", ctx->branch);
		goto done;
	}
	b.f = ctx->out;
	b.backend = gkv_repo_backend_name(ctx->repo);
	if (ctx->o.json) {
		print_stats_json(ctx->out, ctx, &st, &t);
		kv_json_key(ctx->out, "backend_stats", 0);
		putc('{', ctx->out);
	} else {
		print_stats_text(ctx->out, ctx, &st, &t);
	}
	if ((rc = gkv_repo_backend_stats(ctx->repo, on_figure, &b)) < 0) {
		rc = kv_api_err(ctx, rc, "stats of store '%s'", kv_store_name(ctx));
		goto done;
	}
	if (ctx->o.json)
		fputs("}}\n", ctx->out);
	rc = KV_OK;
done:
	gkv_tree_free(t.tree);
	gkv_store_free(store);
	return rc;
}

/* ------------------------------------------------------------ upgrade */

static int upgrade_done(struct kv_ctx *ctx, const char *backend, int from, int to)
{
	if (ctx->o.json) {
		putc('{', ctx->out);
		kv_json_key(ctx->out, "backend", 1);
		kv_json_cstr(ctx->out, backend);
		if (from) {
			fprintf(ctx->out, ",\"from\":%d,\"to\":%d", from, to);
		}
		fprintf(ctx->out, ",\"upgraded\":%s}\n", from && from != to ? "true" : "false");
	} else if (!from) {
		fprintf(ctx->out, "nothing to upgrade: store '%s' is a %s store, which has no format "
				  "of gitkv's\n",
			kv_store_name(ctx), backend);
	} else if (from == to) {
		fprintf(ctx->out, "store '%s' is already format %d\n", kv_store_name(ctx), to);
	} else {
		fprintf(ctx->out, "upgraded store '%s' from format %d to format %d\n",
			kv_store_name(ctx), from, to);
	}
	return KV_OK;
}

/*
 * The library upgrades a closed store by its path: the store is not
 * opened here. A git store's format is git's, and mem: holds nothing.
 */
int kv_cmd_upgrade(struct kv_ctx *ctx)
{
	const char *name = kv_store_name(ctx), *path = name;
	int from = 0, rc;

	if (strncmp(name, "mem:", 4) == 0)
		return upgrade_done(ctx, "mem", 0, 0);
	if (strncmp(name, "git:", 4) == 0)
		return upgrade_done(ctx, "git", 0, 0);
	if (strncmp(name, "lmdb:", 5) == 0)
		path = name + 5;
	else if (!gkv_backend_lmdb_detect(path) && gkv_backend_git_detect(path))
		return upgrade_done(ctx, "git", 0, 0);
	else if (!gkv_backend_lmdb_detect(path))
		return kv_err(ctx, KV_FAIL, "store '%s' does not exist", name);
	if ((rc = gkv_backend_lmdb_upgrade(&from, path)) == GKV_E_NOTFOUND)
		return kv_api_err(ctx, GKV_E_IO, "store '%s'", name);
	if (rc < 0)
		return kv_api_err(ctx, rc, "upgrade of store '%s'", name);
	return upgrade_done(ctx, "lmdb", from, 4);
}
