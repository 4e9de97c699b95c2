/*
 * cmd_kv.c -- the commands on one key: init, get, set, remove.
 *
 * Every check that can fail on the input (path, author, message) runs
 * before the store is opened, so that a bad command line never creates
 * or changes a store.
 */
#include <stdlib.h>
#include <string.h>

#include "kvctl.h"

int kv_cmd_init(struct kv_ctx *ctx)
{
	int rc = kv_open(ctx, KV_CREATE | KV_ANYBRANCH);

	if (rc != KV_OK)
		return rc;
	kv_note(ctx, ctx->created ? "created store '%s'" : "store '%s' already exists",
		kv_store_name(ctx));
	if (ctx->o.json) {
		fputs("{", ctx->out);
		kv_json_key(ctx->out, "store", 1);
		kv_json_cstr(ctx->out, kv_store_name(ctx));
		kv_json_key(ctx->out, "branch", 0);
		kv_json_cstr(ctx->out, ctx->branch);
		kv_json_key(ctx->out, "created", 0);
		fprintf(ctx->out, "%s}\n", ctx->created ? "true" : "false");
	}
	return KV_OK;
}

/* ------------------------------------------------------------ get */

/* Why PATH has no value: it is a directory, a submodule (a commit
 * link, which has no bytes here), or nothing. */
static int no_value(struct kv_ctx *ctx, gkv_tree *tree, const char *path)
{
	gkv_kind kind = GKV_KIND_NONE;

	gkv_tree_kind(&kind, tree, path);
	if (kind == GKV_KIND_DIR)
		return kv_err(ctx, KV_NOTFOUND, "'%s' is a directory on branch '%s'", path,
			      ctx->branch);
	if (kind == GKV_KIND_SUBMODULE)
		return kv_err(ctx, KV_NOTFOUND, "'%s' is a submodule on branch '%s', not a value",
			      path, ctx->branch);
	return kv_err(ctx, KV_NOTFOUND, "'%s' not found on branch '%s'", path, ctx->branch);
}

/*
 * Values are streamed (gkv_tree_read), never held whole: a value of
 * gigabytes, or a small record that inflates to gigabytes, costs a few
 * buffers. --json needs to know whether the value is UTF-8 before it
 * writes it (as a string, or as base64), so it reads the value twice.
 */

#define PIECE_MAX ((size_t)64 << 10)

/* A value's pieces as they become JSON, or are checked for UTF-8: a
 * sequence (or base64 group) cut at a piece's end waits in buf. */
typedef struct {
	FILE *f;
	int mode; /* CHECK, STRING or BASE64 */
	int utf8; /* CHECK: no invalid sequence so far */
	unsigned char buf[PIECE_MAX + 4];
	size_t n; /* bytes carried from the last piece */
} json_value;

enum { CHECK, STRING, BASE64 };

/* Length a UTF-8 sequence starting with lead claims, or 0. */
static size_t utf8_claim(unsigned char lead)
{
	return lead < 0x80 ? 1 : lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3
	    : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
}

/* Whether p[0..n) may be the start of a sequence the next piece ends. */
static int cut_sequence(const unsigned char *p, size_t n)
{
	size_t want = utf8_claim(p[0]);

	if (want <= n)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return 1;
}

/* Handle what buf holds; at the end (last) nothing is carried. */
static void json_value_flush(json_value *j, int last)
{
	size_t i = 0, k;
	unsigned cp;

	if (j->mode == BASE64) {
		k = last ? j->n : j->n - j->n % 3;
		kv_json_base64_part(j->f, j->buf, k);
		i = k;
	} else {
		while (i < j->n) {
			k = kv_utf8_seq(j->buf + i, j->n - i, &cp);
			if (k == 0 && !last && cut_sequence(j->buf + i, j->n - i))
				break;
			if (k == 0) {
				j->utf8 = 0;
				k = 1;
			}
			if (j->mode == STRING)
				kv_json_str_part(j->f, j->buf + i, k);
			i += k;
		}
	}
	memmove(j->buf, j->buf + i, j->n - i);
	j->n -= i;
}

static int json_value_piece(const void *data, size_t len, void *payload)
{
	json_value *j = payload;

	memcpy(j->buf + j->n, data, len); /* len <= PIECE_MAX, n <= 3 */
	j->n += len;
	json_value_flush(j, 0);
	return 0;
}

/*
 * With --json, kvctl holds a command's output back until the command has
 * succeeded (kvctl.c); a value of any size cannot be held, so get writes
 * its document to stdout itself, once the first pass found the value
 * whole. A failure after that (the value changing under the second
 * pass) leaves the document cut, followed by the error document.
 */
static int print_value_json(struct kv_ctx *ctx, gkv_tree *tree, const char *path)
{
	json_value *j = calloc(1, sizeof(*j));
	gkv_kind kind = GKV_KIND_VALUE;
	FILE *f = stdout;
	int rc;

	if (!j)
		return kv_err(ctx, KV_FAIL, "out of memory");
	j->f = f;
	j->mode = CHECK;
	j->utf8 = 1;
	if ((rc = gkv_tree_read(tree, path, json_value_piece, j)) < 0)
		goto out;
	json_value_flush(j, 1);
	gkv_tree_kind(&kind, tree, path);
	fputs("{", f);
	kv_json_key(f, "path", 1);
	kv_json_cstr(f, path);
	kv_json_key(f, "kind", 0);
	kv_json_cstr(f, kv_kind_name(kind));
	kv_json_key(f, "encoding", 0);
	kv_json_cstr(f, j->utf8 ? "utf-8" : "base64");
	kv_json_key(f, "value", 0);
	putc('"', f);
	j->mode = j->utf8 ? STRING : BASE64;
	j->n = 0;
	if ((rc = gkv_tree_read(tree, path, json_value_piece, j)) < 0)
		goto out;
	json_value_flush(j, 1);
	fputs("\"}\n", f);
out:
	free(j);
	return rc;
}

static int write_piece(const void *data, size_t len, void *payload)
{
	FILE *f = payload;

	return len && fwrite(data, 1, len, f) != len ? GKV_E_IO : 0;
}

int kv_cmd_get(struct kv_ctx *ctx)
{
	char *path = ctx->o.args[0];
	gkv_store *store = NULL;
	gkv_tree *tree = NULL;
	int rc;

	if ((rc = kv_check_path(ctx, path, 1, 0)) != KV_OK ||
	    (rc = kv_open(ctx, KV_RDONLY)) != KV_OK || (rc = kv_open_store(&store, ctx)) != KV_OK ||
	    (rc = kv_head_tree(&tree, store, ctx)) != KV_OK)
		goto done;
	if (ctx->o.json)
		rc = print_value_json(ctx, tree, path);
	else
		rc = gkv_tree_read(tree, path, write_piece, ctx->out);
	if (rc == GKV_E_NOTFOUND)
		rc = no_value(ctx, tree, path);
	else if (rc == GKV_E_IO && ferror(ctx->out))
		rc = kv_err(ctx, KV_FAIL, "get '%s': cannot write the value", path);
	else if (rc < 0)
		rc = kv_read_err(ctx, rc, "get '%s'", path);
done:
	gkv_tree_free(tree);
	gkv_store_free(store);
	return rc;
}

/* ------------------------------------------------------------ writes */

/* All of stdin, whatever bytes it holds. */
static int read_stdin(struct kv_ctx *ctx, gkv_buf *out)
{
	size_t cap = 0, n;
	unsigned char *p;

	out->ptr = NULL;
	out->size = 0;
	do {
		if (out->size == cap) {
			cap = cap ? cap * 2 : 65536;
			if ((p = realloc(out->ptr, cap)) == NULL)
				return kv_err(ctx, KV_FAIL, "out of memory reading stdin");
			out->ptr = p;
		}
		n = fread(out->ptr + out->size, 1, cap - out->size, stdin);
		out->size += n;
	} while (n > 0);
	if (ferror(stdin))
		return kv_err(ctx, KV_FAIL, "cannot read stdin");
	return KV_OK;
}

/* The head of the branch, or the zero id before its first commit. */
static int head_of(gkv_oid *out, struct kv_ctx *ctx, gkv_store *store)
{
	int rc = gkv_store_head(out, store);

	if (rc == GKV_E_NOTFOUND) {
		memset(out, 0, sizeof(*out));
		return KV_OK;
	}
	return rc < 0 ? kv_api_err(ctx, rc, "branch '%s'", ctx->branch) : KV_OK;
}

/* What set and remove print: nothing, or the head with --json. */
static void report_write(struct kv_ctx *ctx, const gkv_oid *before, const gkv_oid *after)
{
	char hex[GKV_OID_HEXSZ + 1];
	int changed = !gkv_oid_equal(before, after);

	gkv_oid_fmt(hex, after);
	if (changed)
		kv_note(ctx, "committed %s on branch '%s'", hex, ctx->branch);
	else
		kv_note(ctx, "nothing changed on branch '%s'", ctx->branch);
	if (!ctx->o.json)
		return;
	fputs("{", ctx->out);
	kv_json_key(ctx->out, "branch", 1);
	kv_json_cstr(ctx->out, ctx->branch);
	kv_json_key(ctx->out, "hash", 0);
	kv_json_oid(ctx->out, after);
	kv_json_key(ctx->out, "changed", 0);
	fprintf(ctx->out, "%s}\n", changed ? "true" : "false");
}

static int do_set(struct kv_ctx *ctx, const char *path, const gkv_buf *val, const gkv_info *info)
{
	gkv_store *store = NULL;
	gkv_oid before, after;
	int rc;

	if ((rc = kv_open(ctx, KV_CREATE)) != KV_OK || (rc = kv_open_store(&store, ctx)) != KV_OK ||
	    (rc = head_of(&before, ctx, store)) != KV_OK)
		goto done;
	if ((rc = gkv_store_set(&after, store, path, val->ptr, val->size, info)) < 0)
		rc = kv_api_err(ctx, rc, "set '%s' on branch '%s'", path, ctx->branch);
	else
		report_write(ctx, &before, &after);
done:
	gkv_store_free(store);
	return rc;
}

int kv_cmd_set(struct kv_ctx *ctx)
{
	char *path = ctx->o.args[0];
	const char *arg = ctx->o.nargs > 1 ? ctx->o.args[1] : "-";
	gkv_info *info = NULL;
	gkv_buf val = {NULL, 0};
	int from_stdin = strcmp(arg, "-") == 0;
	int rc;

	if ((rc = kv_check_path(ctx, path, 0, 0)) != KV_OK ||
	    (rc = kv_make_info(&info, ctx, "set", path)) != KV_OK)
		goto done;
	if (from_stdin && (rc = read_stdin(ctx, &val)) != KV_OK)
		goto done;
	if (!from_stdin) {
		/* Borrowed, not owned: val is disposed of only when read. */
		val.ptr = (unsigned char *)arg;
		val.size = strlen(arg);
	}
	rc = do_set(ctx, path, &val, info);
done:
	if (from_stdin)
		gkv_buf_dispose(&val);
	gkv_info_free(info);
	return rc;
}

int kv_cmd_remove(struct kv_ctx *ctx)
{
	char *path = ctx->o.args[0];
	gkv_info *info = NULL;
	gkv_store *store = NULL;
	gkv_oid before, after;
	int rc;

	if ((rc = kv_check_path(ctx, path, 0, 0)) != KV_OK ||
	    (rc = kv_make_info(&info, ctx, "remove", path)) != KV_OK ||
	    (rc = kv_open(ctx, 0)) != KV_OK || (rc = kv_open_store(&store, ctx)) != KV_OK ||
	    (rc = head_of(&before, ctx, store)) != KV_OK)
		goto done;
	rc = gkv_store_remove(&after, store, path, info);
	if (rc == GKV_E_NOTFOUND)
		rc = kv_err(ctx, KV_NOTFOUND, "'%s' not found on branch '%s'", path, ctx->branch);
	else if (rc < 0)
		rc = kv_api_err(ctx, rc, "remove '%s' on branch '%s'", path, ctx->branch);
	else
		report_write(ctx, &before, &after);
done:
	gkv_store_free(store);
	gkv_info_free(info);
	return rc;
}
