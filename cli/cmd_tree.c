/*
 * cmd_tree.c -- the commands that show a directory: list (one level) and
 * tree (every value below).
 *
 * docs/cli.md orders names and paths by their bytes, as `LC_ALL=C sort` does,
 * not in git's tree order (where a directory sorts as "name/"). The
 * library's orders are not relied on: both commands sort what they print
 * with strcmp, which compares unsigned bytes. Names are printed through
 * kv_print_name (quoted as git quotes paths, or raw with -z). Both read
 * names and kinds only (gkv_tree_walk): a listing loads trees, never a
 * value, so it costs the same whatever the values' sizes.
 */
#include <stdlib.h>
#include <string.h>

#include "kvctl.h"

struct entry {
	char *name; /* a name (list) or a full path (tree) */
	gkv_kind kind;
};

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

/* A growable array of entries; names are owned when owned is set. */
struct entries {
	struct entry *v;
	size_t n, cap;
	int owned;
};

static int entries_add(struct entries *e, char *name, gkv_kind kind)
{
	struct entry *v;

	if (e->n == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 64;
		if ((v = realloc(e->v, e->cap * sizeof(*v))) == NULL)
			return -1;
		e->v = v;
	}
	e->v[e->n].name = name;
	e->v[e->n++].kind = kind;
	return 0;
}

static void entries_free(struct entries *e)
{
	size_t i;

	for (i = 0; e->owned && i < e->n; i++)
		free(e->v[i].name);
	free(e->v);
}

/* Print sorted entries: text lines (dirs with '/' when mark_dirs), or a
 * JSON array of {key, "kind"}. */
static void print_entries(struct kv_ctx *ctx, struct entries *e, const char *key, int mark_dirs)
{
	size_t i;

	if (e->n)
		qsort(e->v, e->n, sizeof(e->v[0]), entry_cmp);
	if (!ctx->o.json) {
		for (i = 0; i < e->n; i++)
			kv_print_name(ctx, e->v[i].name,
				      mark_dirs && e->v[i].kind == GKV_KIND_DIR ? "/" : "");
		return;
	}
	fputs("[", ctx->out);
	for (i = 0; i < e->n; i++) {
		fputs(i ? ",{" : "{", ctx->out);
		kv_json_key(ctx->out, key, 1);
		kv_json_cstr(ctx->out, e->v[i].name);
		kv_json_key(ctx->out, "kind", 0);
		kv_json_cstr(ctx->out, kv_kind_name(e->v[i].kind));
		fputs("}", ctx->out);
	}
	fputs("]\n", ctx->out);
}

/*
 * Open the head tree of the branch and check what PATH is there: *kind
 * is GKV_KIND_NONE only for the empty root (an empty branch). An absent
 * PATH other than the root is exit 1.
 */
static int open_at(gkv_store **store, gkv_tree **tree, gkv_kind *kind, struct kv_ctx *ctx,
		   char *path)
{
	int rc;

	if ((rc = kv_check_path(ctx, path, 1, 1)) != KV_OK ||
	    (rc = kv_open(ctx, KV_RDONLY)) != KV_OK || (rc = kv_open_store(store, ctx)) != KV_OK ||
	    (rc = kv_head_tree(tree, *store, ctx)) != KV_OK)
		return rc;
	if (*path == '\0') {
		*kind = gkv_tree_is_empty(*tree) ? GKV_KIND_NONE : GKV_KIND_DIR;
		return KV_OK;
	}
	if ((rc = gkv_tree_kind(kind, *tree, path)) < 0)
		return kv_read_err(ctx, rc, "path '%s' on branch '%s'", path, ctx->branch);
	if (*kind == GKV_KIND_NONE)
		return kv_err(ctx, KV_NOTFOUND, "'%s' not found on branch '%s'", path, ctx->branch);
	return KV_OK;
}

/* One level of the walk under a directory: each child by its name, a
 * directory's contents skipped. */
struct level {
	struct entries e;
	size_t skip; /* the length of the directory's path and its '/' */
};

static int list_child(const char *path, gkv_kind kind, const gkv_oid *id, void *payload)
{
	struct level *l = payload;
	char *name;

	(void)id;
	if (strlen(path) <= l->skip) /* the directory itself */
		return 0;
	if ((name = strdup(path + l->skip)) == NULL || entries_add(&l->e, name, kind) < 0) {
		free(name);
		return GKV_E_NOMEM;
	}
	return kind == GKV_KIND_DIR ? GKV_WALK_SKIP : 0;
}

static int list_dir(struct kv_ctx *ctx, gkv_tree *tree, const char *path)
{
	struct level l = {{NULL, 0, 0, 1}, *path ? strlen(path) + 1 : 0};
	int rc = gkv_tree_walk(tree, path, 1, list_child, &l);

	if (rc < 0) {
		rc = kv_read_err(ctx, rc, "list '%s' on branch '%s'", path, ctx->branch);
	} else {
		print_entries(ctx, &l.e, "name", 1);
		rc = KV_OK;
	}
	entries_free(&l.e);
	return rc;
}

int kv_cmd_list(struct kv_ctx *ctx)
{
	char *path = ctx->o.nargs ? ctx->o.args[0] : "";
	gkv_store *store = NULL;
	gkv_tree *tree = NULL;
	gkv_kind kind = GKV_KIND_NONE;
	int rc = open_at(&store, &tree, &kind, ctx, path);

	if (rc != KV_OK)
		goto done;
	if (kind == GKV_KIND_NONE) /* the empty root: an empty listing */
		print_entries(ctx, &(struct entries){NULL, 0, 0, 0}, "name", 1);
	else if (kind != GKV_KIND_DIR)
		rc = kv_err(ctx, KV_NOTFOUND, "'%s' is not a directory on branch '%s'", path,
			    ctx->branch);
	else
		rc = list_dir(ctx, tree, path);
done:
	gkv_tree_free(tree);
	gkv_store_free(store);
	return rc;
}

/* One entry of the walk: names, kinds and ids only, never a value, so a
 * listing costs the trees, whatever the values' sizes. */
static int collect(const char *path, gkv_kind kind, const gkv_oid *id, void *payload)
{
	char *copy = strdup(path);

	(void)id;

	if (!copy || entries_add(payload, copy, kind) < 0) {
		free(copy);
		return GKV_E_NOMEM;
	}
	return 0;
}

int kv_cmd_tree(struct kv_ctx *ctx)
{
	char *path = ctx->o.nargs ? ctx->o.args[0] : "";
	struct entries e = {NULL, 0, 0, 1};
	gkv_store *store = NULL;
	gkv_tree *tree = NULL;
	gkv_kind kind = GKV_KIND_NONE;
	int rc = open_at(&store, &tree, &kind, ctx, path);

	if (rc != KV_OK || kind == GKV_KIND_NONE)
		goto print;
	/* A value is the one value "under" itself: the walk gives it. */
	rc = gkv_tree_walk(tree, path, 0, collect, &e);
	if (rc < 0)
		rc = kv_read_err(ctx, rc, "tree '%s' on branch '%s'", path, ctx->branch);
print:
	if (rc == KV_OK)
		print_entries(ctx, &e, "path", 0);
	entries_free(&e);
	gkv_tree_free(tree);
	gkv_store_free(store);
	return rc;
}
