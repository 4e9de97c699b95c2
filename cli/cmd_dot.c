/*
 * cmd_dot.c -- `dot`: the commit graph of every branch, as Graphviz's
 * DOT language (`kvctl dot | dot -Tsvg > graph.svg`), or with --json as
 * {"nodes": [...], "edges": [...]}.
 *
 * Nodes are the commits reachable from any branch (id: the 40-hex hash,
 * label: the short hash and the subject) and the branches (id:
 * "refs/heads/NAME", drawn as boxes); edges go from a commit to each of
 * its parents, in order, and from a branch to its head. Commits come
 * newest first, as `log` lists them.
 */
#include <stdlib.h>
#include <string.h>

#include "kvctl.h"

/*
 * Write s inside a DOT double-quoted string: '"' and '\\' escaped, and,
 * since a label is for the eye, control bytes as a space and bytes that
 * are not UTF-8 as U+FFFD (Graphviz reads its input as UTF-8).
 */
static void dot_text(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i = 0, n;
	unsigned cp;

	while (i < len) {
		n = kv_utf8_seq(p + i, len - i, &cp);
		if (n == 0) {
			fputs("\xef\xbf\xbd", f);
			i++;
			continue;
		}
		if (cp == '"' || cp == '\\')
			fprintf(f, "\\%c", (char)cp);
		else if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			putc(' ', f);
		else
			fwrite(p + i, 1, n, f);
		i += n;
	}
}

struct graph {
	struct kv_ctx *ctx;
	size_t nodes, edges; /* how many were written (JSON commas) */
	FILE *edge_out;	     /* JSON: edges go to a second buffer */
	char *edge_buf;
	size_t edge_len;
};

static void node(struct graph *g, const char *id, const char *kind, const char *label)
{
	FILE *f = g->ctx->out;

	if (!g->ctx->o.json) {
		fputs("  \"", f);
		dot_text(f, id);
		fputs("\" [", f);
		if (strcmp(kind, "branch") == 0)
			fputs("shape=box, style=filled, fillcolor=lightgrey, ", f);
		fputs("label=\"", f);
		dot_text(f, label);
		fputs("\"];\n", f);
		return;
	}
	fputs(g->nodes++ ? ",{" : "{", f);
	kv_json_key(f, "id", 1);
	kv_json_cstr(f, id);
	kv_json_key(f, "kind", 0);
	kv_json_cstr(f, kind);
	kv_json_key(f, "label", 0);
	kv_json_cstr(f, label);
	putc('}', f);
}

static void edge(struct graph *g, const char *from, const char *to)
{
	FILE *f = g->ctx->o.json ? g->edge_out : g->ctx->out;

	if (!g->ctx->o.json) {
		fputs("  \"", f);
		dot_text(f, from);
		fputs("\" -> \"", f);
		dot_text(f, to);
		fputs("\";\n", f);
		return;
	}
	fputs(g->edges++ ? ",{" : "{", f);
	kv_json_key(f, "from", 1);
	kv_json_cstr(f, from);
	kv_json_key(f, "to", 0);
	kv_json_cstr(f, to);
	putc('}', f);
}

static int commits(struct graph *g, gkv_revwalk *w)
{
	char hex[GKV_OID_HEXSZ + 1], parent[GKV_OID_HEXSZ + 1], *label;
	gkv_commit *c = NULL;
	gkv_oid id;
	int rc;

	while ((rc = gkv_revwalk_next(&id, w)) == 0) {
		const char *summary;

		if ((rc = gkv_commit_lookup(&c, g->ctx->repo, &id)) < 0)
			break;
		gkv_oid_fmt(hex, &id);
		summary = gkv_commit_summary(c);
		if ((label = malloc(strlen(summary) + 16)) == NULL) {
			rc = GKV_E_NOMEM;
			break;
		}
		/* JSON gives the subject as it is; the drawing, the short id too. */
		if (g->ctx->o.json)
			strcpy(label, summary);
		else
			sprintf(label, "%.7s %s", hex, summary);
		node(g, hex, "commit", label);
		free(label);
		for (size_t i = 0; i < gkv_commit_parentcount(c); i++) {
			gkv_oid_fmt(parent, gkv_commit_parent_id(c, i));
			edge(g, hex, parent);
		}
		gkv_commit_free(c);
		c = NULL;
	}
	gkv_commit_free(c);
	return rc == GKV_ITEROVER ? 0 : rc;
}

static int branches(struct graph *g, gkv_strarray *names, gkv_revwalk *w)
{
	char hex[GKV_OID_HEXSZ + 1], *ref;
	gkv_oid head;
	int rc;

	for (size_t i = 0; i < names->count; i++) {
		const char *name = names->strings[i];

		if ((rc = gkv_branch_head(&head, g->ctx->repo, name)) < 0 ||
		    (rc = gkv_revwalk_push(w, &head)) < 0)
			return kv_read_err(g->ctx, rc, "branch '%s'", name);
		if ((ref = malloc(strlen(name) + sizeof("refs/heads/"))) == NULL)
			return kv_err(g->ctx, KV_FAIL, "out of memory");
		strcpy(ref, "refs/heads/");
		strcat(ref, name);
		gkv_oid_fmt(hex, &head);
		node(g, ref, "branch", name);
		edge(g, ref, hex);
		free(ref);
	}
	return KV_OK;
}

int kv_cmd_dot(struct kv_ctx *ctx)
{
	struct graph g = {ctx, 0, 0, NULL, NULL, 0};
	gkv_strarray names = {NULL, 0};
	gkv_revwalk *w = NULL;
	int rc;

	if ((rc = kv_open(ctx, KV_RDONLY | KV_ANYBRANCH)) != KV_OK)
		return rc;
	if ((rc = gkv_branch_list(&names, ctx->repo)) < 0)
		return kv_api_err(ctx, rc, "branches of store '%s'", kv_store_name(ctx));
	if ((rc = gkv_revwalk_new(&w, ctx->repo)) < 0) {
		rc = kv_api_err(ctx, rc, "commit graph");
		goto done;
	}
	if (ctx->o.json && (g.edge_out = open_memstream(&g.edge_buf, &g.edge_len)) == NULL) {
		rc = kv_err(ctx, KV_FAIL, "out of memory");
		goto done;
	}
	fputs(ctx->o.json ? "{\"nodes\":["
			  : "digraph gitkv {\n  rankdir=RL;\n"
			    "  node [shape=ellipse, fontname=monospace];\n",
	      ctx->out);
	if ((rc = branches(&g, &names, w)) != KV_OK)
		goto done;
	if ((rc = commits(&g, w)) < 0) {
		rc = kv_read_err(ctx, rc, "commit graph of store '%s'", kv_store_name(ctx));
		goto done;
	}
	if (ctx->o.json) {
		fclose(g.edge_out);
		g.edge_out = NULL;
		fputs("],\"edges\":[", ctx->out);
		fwrite(g.edge_buf, 1, g.edge_len, ctx->out);
		fputs("]}\n", ctx->out);
	} else {
		fputs("}\n", ctx->out);
	}
	rc = KV_OK;
done:
	if (g.edge_out)
		fclose(g.edge_out);
	free(g.edge_buf);
	gkv_revwalk_free(w);
	gkv_strarray_dispose(&names);
	return rc;
}
