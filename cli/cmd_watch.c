/*
 * cmd_watch.c -- `watch [PATH]`: print what changed under PATH each time
 * the branch's head moves, until interrupted.
 *
 * Moves made by other processes are found by gkv_repo_watch_poll, called
 * in a loop with a short sleep; each poll compares every head with the
 * one it saw last, so several moves between two polls read as one (the
 * lines say what changed from the old head to the new). The lines are
 * those of `diff` (cmd_diff.c), computed from names and ids only, and
 * flushed at once so that a pipe sees them as they happen. SIGINT and
 * SIGTERM end the loop between two polls: the store is closed and kvctl
 * exits 0.
 */
#include <signal.h>
#include <string.h>
#include <time.h>

#include "kvctl.h"

/* How long to sleep between two polls. */
#define POLL_NS (100L * 1000 * 1000)

/*
 * Set by the handler of SIGINT and SIGTERM. A signal handler can reach
 * nothing else, so this one flag is the program's only global state.
 */
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct watcher {
	struct kv_ctx *ctx;
	const char *prefix;
	int rc; /* the first failure, reported after the loop */
};

/* The tree of head (the empty tree for none: a branch deleted or made). */
static int tree_at(gkv_tree **out, gkv_repo *repo, const gkv_oid *head)
{
	gkv_commit *c = NULL;
	int rc;

	*out = NULL;
	if (!head)
		return 0;
	if ((rc = gkv_commit_lookup(&c, repo, head)) == 0)
		rc = gkv_tree_lookup(out, repo, gkv_commit_tree_id(c));
	gkv_commit_free(c);
	return rc;
}

static void print_json_change(FILE *f, const gkv_oid *head, const struct kv_change *c)
{
	putc('{', f);
	kv_json_key(f, "commit", 1);
	if (head)
		kv_json_oid(f, head);
	else
		fputs("null", f);
	kv_json_key(f, "op", 0);
	fprintf(f, "\"%c\"", c->op);
	kv_json_key(f, "path", 0);
	kv_json_cstr(f, c->path);
	fputs("}\n", f);
}

static void on_move(const char *branch, const gkv_oid *old, const gkv_oid *new_head, void *payload)
{
	struct watcher *w = payload;
	struct kv_ctx *ctx = w->ctx;
	struct kv_changes ch = {NULL, 0, 0};
	gkv_tree *a = NULL, *b = NULL;
	int rc;

	(void)branch;
	if (w->rc)
		return;
	if ((rc = tree_at(&a, ctx->repo, old)) < 0 || (rc = tree_at(&b, ctx->repo, new_head)) < 0 ||
	    (rc = kv_diff_trees(&ch, a, b, w->prefix)) < 0) {
		w->rc = kv_read_err(ctx, rc, "watch of branch '%s'", ctx->branch);
		goto done;
	}
	for (size_t i = 0; i < ch.n; i++) {
		if (ctx->o.json)
			print_json_change(ctx->out, new_head, &ch.v[i]);
		else
			kv_print_change(ctx, &ch.v[i]);
	}
	if (fflush(ctx->out) != 0)
		w->rc = kv_err(ctx, KV_FAIL, "watch: cannot write to stdout");
done:
	kv_changes_free(&ch);
	gkv_tree_free(a);
	gkv_tree_free(b);
}

int kv_cmd_watch(struct kv_ctx *ctx)
{
	char *path = ctx->o.nargs ? ctx->o.args[0] : "";
	struct watcher w = {ctx, path, 0};
	struct timespec pause = {0, POLL_NS};
	struct sigaction sa;
	gkv_watch *watch = NULL;
	int rc;

	if ((rc = kv_check_path(ctx, path, 1, 1)) != KV_OK ||
	    (rc = kv_open(ctx, KV_RDONLY)) != KV_OK)
		return rc;
	/*
	 * JSON lines, one a change, as they happen: nothing is held back,
	 * so they go to stdout itself (an error after the first line is the
	 * error document on a line of its own).
	 */
	ctx->out = stdout;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if ((rc = gkv_watch_branch(&watch, ctx->repo, ctx->branch, on_move, &w)) < 0)
		return kv_api_err(ctx, rc, "watch of branch '%s'", ctx->branch);
	kv_note(ctx, "watching '%s' on branch '%s'", path, ctx->branch);
	while (!stop && w.rc == 0) {
		if ((rc = gkv_repo_watch_poll(NULL, ctx->repo)) < 0) {
			w.rc = kv_api_err(ctx, rc, "watch of branch '%s'", ctx->branch);
			break;
		}
		if (!stop && w.rc == 0)
			nanosleep(&pause, NULL); /* a signal cuts it short */
	}
	gkv_watch_free(watch);
	return w.rc;
}
