/*
 * cmd_sync.c -- the sync commands: `clone`, `fetch`, `pull`, `push` and
 * `remote`, over gitkv/sync.h. A REMOTE is a recorded remote's name, a
 * git URL or path, or another store; the library tells them apart.
 *
 * Credentials come from the environment and options, never from a
 * prompt, so that scripts can use them (docs/cli.md, "Sync"):
 * GITKV_USERNAME with GITKV_PASSWORD or GITKV_TOKEN for http(s);
 * --ssh-key / GITKV_SSH_KEY (and GITKV_SSH_PASSPHRASE), else the
 * ssh-agent, for ssh; --ca-file / GITKV_CA_FILE to trust a CA for https;
 * --known-hosts / GITKV_SSH_KNOWN_HOSTS for the ssh host keys to accept.
 * A password never reaches a message: the userinfo of a URL is masked,
 * and any text equal to a secret kvctl was given is too.
 *
 * Long transfers draw the progress bar (progress.h), one bar a stage.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gitkv/sync.h"
#include "kvctl.h"
#include "progress.h"

/* ------------------------------------------------------------ secrets */

/* What must never be printed: the password or token of the environment
 * and of the URL, and the key's passphrase. */
struct secrets {
	const char *s[3];
};

/* The password in a URL's userinfo ("https://u:PW@host/..."), as a
 * pointer into url and its length; 0 when there is none. */
static size_t url_password(const char *url, const char **pw)
{
	const char *p = strstr(url, "://"), *end, *colon, *at;

	if (!p)
		return 0;
	p += 3;
	end = p + strcspn(p, "/?#");
	at = NULL;
	for (const char *q = p; q < end; q++)
		if (*q == '@')
			at = q; /* the last '@' ends the userinfo */
	if (!at)
		return 0;
	colon = memchr(p, ':', (size_t)(at - p));
	if (!colon)
		return 0;
	*pw = colon + 1;
	return (size_t)(at - colon - 1);
}

/* src with every occurrence of each secret replaced by "***", into dst. */
static void mask(char *dst, size_t size, const char *src, const struct secrets *sec,
		 const char *url)
{
	const char *pw = NULL;
	size_t pwlen = url ? url_password(url, &pw) : 0, o = 0, n, i, best;

	while (*src && o + 1 < size) {
		best = 0;
		for (i = 0; i < 3; i++)
			if (sec->s[i] && (n = strlen(sec->s[i])) > best &&
			    strncmp(src, sec->s[i], n) == 0)
				best = n;
		if (pwlen > best && strncmp(src, pw, pwlen) == 0)
			best = pwlen;
		if (best > 0 && o + 4 < size) {
			memcpy(dst + o, "***", 3);
			o += 3;
			src += best;
			continue;
		}
		dst[o++] = *src++;
	}
	dst[o] = '\0';
}

/* ------------------------------------------------------------ the transfer */

/* Everything one sync command sets up: options, what to mask, the bar. */
struct sync {
	struct kv_ctx *ctx;
	gkv_sync_options *opts;
	struct secrets sec;
	const char *remote; /* as given */
	char shown[1024];   /* remote as messages name it, the password masked */
	kv_progress *bar;
	gkv_sync_stage stage;
};

/* Report a failed library call about the remote, the message masked. */
static int sync_err(struct sync *s, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int sync_err(struct sync *s, int rc, const char *fmt, ...)
{
	char what[512], raw[2048], msg[1024];
	const char *why = gkv_error_last_code() == rc ? gkv_error_last() : gkv_strerror(rc);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (strstr(why, s->remote) || strstr(why, s->shown))
		snprintf(raw, sizeof(raw), "%s: %s", what, why);
	else
		snprintf(raw, sizeof(raw), "%s: remote '%s': %s", what, s->shown, why);
	mask(msg, sizeof(msg), raw, &s->sec, s->remote);
	return kv_err(s->ctx, kv_exit_code(rc), "%s", msg);
}

static const char *stage_label(gkv_sync_stage stage)
{
	switch (stage) {
	case GKV_SYNC_RECEIVING:
		return "Receiving objects";
	case GKV_SYNC_STORING:
		return "Storing objects";
	case GKV_SYNC_SENDING:
		return "Sending objects";
	default:
		return NULL; /* connecting, moving refs: too short for a bar */
	}
}

/* The library's progress callback: one bar a stage that moves objects. */
static int on_progress(const gkv_sync_progress *p, void *payload)
{
	struct sync *s = payload;
	const char *label;

	if (p->stage != s->stage) {
		kv_progress_end(s->bar);
		s->bar = NULL;
		s->stage = p->stage;
		if ((label = stage_label(p->stage)) != NULL)
			s->bar = kv_progress_start(label);
	}
	switch (p->stage) {
	case GKV_SYNC_RECEIVING:
	case GKV_SYNC_SENDING:
		kv_progress_update(s->bar, p->received_objects, p->total_objects,
				   p->received_bytes);
		break;
	case GKV_SYNC_STORING:
		kv_progress_update(s->bar, p->stored_objects, p->total_objects, 0);
		break;
	default:
		break;
	}
	return 0;
}

/* A non-empty environment variable, or NULL. */
static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

/* A file an option names must be there: a usage error otherwise. */
static int check_file(struct kv_ctx *ctx, const char *what, const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return kv_err(ctx, KV_USAGE, "%s '%s': %s", what, path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return kv_err(ctx, KV_USAGE, "%s '%s': not a regular file", what, path);
	return KV_OK;
}

/* The ssh credentials: --ssh-key or GITKV_SSH_KEY, else the agent. */
static int set_ssh(struct sync *s)
{
	struct kv_ctx *ctx = s->ctx;
	const char *key = ctx->o.ssh_key ? ctx->o.ssh_key : env("GITKV_SSH_KEY");
	const char *pass = env("GITKV_SSH_PASSPHRASE");
	char pub[4096];
	int rc;

	if (!key) {
		if (env("SSH_AUTH_SOCK") &&
		    (rc = gkv_sync_options_set_ssh_agent(s->opts, NULL)) < 0)
			return kv_api_err(ctx, rc, "ssh-agent");
		return KV_OK;
	}
	if ((rc = check_file(ctx, "ssh key", key)) != KV_OK)
		return rc;
	snprintf(pub, sizeof(pub), "%s.pub", key);
	s->sec.s[2] = pass;
	rc = gkv_sync_options_set_ssh_key(s->opts, NULL, access(pub, R_OK) == 0 ? pub : NULL, key,
					  pass);
	return rc < 0 ? kv_api_err(ctx, rc, "ssh key '%s'", key) : KV_OK;
}

/* Options, credentials and progress for a transfer with remote. */
static int sync_begin(struct sync *s, struct kv_ctx *ctx, const char *remote)
{
	const char *user = env("GITKV_USERNAME"), *pw = env("GITKV_PASSWORD");
	const char *token = env("GITKV_TOKEN");
	const char *ca = ctx->o.ca_file ? ctx->o.ca_file : env("GITKV_CA_FILE");
	const char *kh = ctx->o.known_hosts ? ctx->o.known_hosts : env("GITKV_SSH_KNOWN_HOSTS");
	struct secrets none = {{NULL, NULL, NULL}};
	int rc;

	memset(s, 0, sizeof(*s));
	s->ctx = ctx;
	s->remote = remote;
	s->sec.s[0] = pw;
	s->sec.s[1] = token;
	mask(s->shown, sizeof(s->shown), remote, &none, remote);
	if ((rc = gkv_sync_options_new(&s->opts)) < 0)
		return kv_api_err(ctx, rc, "sync options");
	if (ctx->o.force && (rc = gkv_sync_options_set_force(s->opts, 1)) < 0)
		return kv_api_err(ctx, rc, "--force");
	if (user && !pw && !token)
		return kv_err(
		    ctx, KV_USAGE,
		    "GITKV_USERNAME is set but neither GITKV_PASSWORD nor GITKV_TOKEN is");
	if ((pw || token) &&
	    (rc = gkv_sync_options_set_userpass(s->opts, user ? user : "git", pw ? pw : token)) < 0)
		return kv_api_err(ctx, rc, "credentials");
	if ((rc = set_ssh(s)) != KV_OK)
		return rc;
	if (ca && (rc = check_file(ctx, "CA file", ca)) != KV_OK)
		return rc;
	if (ca && (rc = gkv_sync_options_set_ca_file(s->opts, ca)) < 0)
		return kv_api_err(ctx, rc == GKV_E_NOTFOUND ? GKV_E_INVALID : rc, "CA file '%s'",
				  ca);
	if (kh && (rc = check_file(ctx, "known_hosts file", kh)) != KV_OK)
		return rc;
	if (kh && (rc = gkv_sync_options_set_known_hosts(s->opts, kh)) < 0)
		return kv_api_err(ctx, rc == GKV_E_NOTFOUND ? GKV_E_INVALID : rc,
				  "known_hosts file '%s'", kh);
	if ((rc = gkv_sync_options_set_progress(s->opts, on_progress, s)) < 0)
		return kv_api_err(ctx, rc, "progress");
	return KV_OK;
}

static void sync_end(struct sync *s)
{
	kv_progress_end(s->bar);
	s->bar = NULL;
	gkv_sync_options_free(s->opts);
	s->opts = NULL;
}

/* The progress bar ends before a message or a result is printed. */
static void bar_done(struct sync *s)
{
	kv_progress_end(s->bar);
	s->bar = NULL;
}

/* ------------------------------------------------------------ output */

static void print_heads_json(FILE *f, const gkv_fetch_result *r)
{
	putc('[', f);
	for (size_t i = 0; i < gkv_fetch_result_count(r); i++) {
		fputs(i ? ",{" : "{", f);
		kv_json_key(f, "name", 1);
		kv_json_cstr(f, gkv_fetch_result_branch(r, i));
		kv_json_key(f, "head", 0);
		kv_json_oid(f, gkv_fetch_result_id(r, i));
		putc('}', f);
	}
	putc(']', f);
}

/* "remote": the remote as given, its password masked. */
static void print_remote_json(FILE *f, const struct sync *s, int first)
{
	kv_json_key(f, "remote", first);
	kv_json_cstr(f, s->shown);
}

/* ------------------------------------------------------------ clone */

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The file system path of the clone's store, or NULL for mem:. */
static const char *clone_path(const char *name)
{
	if (strncmp(name, "mem:", 4) == 0)
		return NULL;
	if (strncmp(name, "lmdb:", 5) == 0)
		return name + 5;
	if (strncmp(name, "git:", 4) == 0)
		return name + 4;
	return name;
}

/* 0: path is absent; 1: an empty directory; 2: something else is there. */
static int path_state(const char *path)
{
	struct stat st;
	struct dirent *e;
	DIR *d;
	int state = 1;

	if (stat(path, &st) != 0)
		return errno == ENOENT ? 0 : 2;
	if (!S_ISDIR(st.st_mode) || (d = opendir(path)) == NULL)
		return 2;
	while (state == 1 && (e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			state = 2;
	closedir(d);
	return state;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/*
 * Put back what a failed clone found at path: nothing (state 0), or an
 * empty directory (state 1). The library leaves at most an empty store
 * there, which kvctl's promise -- a failed command leaves the store as
 * it was -- does not allow.
 */
static void undo_clone(const char *path, int state)
{
	DIR *d;
	struct dirent *e;
	char child[4096];

	if (state == 0) {
		nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
		return;
	}
	if ((d = opendir(path)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
		nftw(child, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
	closedir(d);
}

/*
 * The URI the clone creates: a name with a scheme as it is; a plain PATH
 * where nothing is becomes an LMDB store (as `init` makes one), and a
 * plain PATH holding something must be a store (the library detects its
 * kind and refuses one that has refs).
 */
static int clone_uri(struct kv_ctx *ctx, char **uri, int *state)
{
	const char *name = kv_store_name(ctx), *path = clone_path(name);
	size_t n = 0;

	while ((name[n] >= 'a' && name[n] <= 'z') || (name[n] >= 'A' && name[n] <= 'Z'))
		n++;
	if (n > 0 && name[n] == ':' && strncmp(name, "mem:", 4) != 0 &&
	    strncmp(name, "lmdb:", 5) != 0 && strncmp(name, "git:", 4) != 0)
		return kv_err(ctx, KV_USAGE,
			      "store '%s': unknown scheme '%.*s' (lmdb:, git: and mem: are known; "
			      "write ./%s for a directory of that name)",
			      name, (int)n + 1, name, name);
	*state = path ? path_state(path) : 0;
	if (path == name && *state < 2) {
		*uri = malloc(strlen(name) + sizeof("lmdb:"));
		if (*uri)
			sprintf(*uri, "lmdb:%s", name);
	} else {
		*uri = strdup(name);
	}
	return *uri ? KV_OK : kv_err(ctx, KV_FAIL, "out of memory");
}

int kv_cmd_clone(struct kv_ctx *ctx)
{
	const char *remote = ctx->o.args[0], *name = kv_store_name(ctx), *path = clone_path(name);
	gkv_options *opts = NULL;
	gkv_strarray branches = {NULL, 0};
	gkv_oid head;
	struct sync s;
	char *uri = NULL;
	int state = 0, rc;

	if (ctx->o.branch)
		return kv_err(ctx, KV_USAGE,
			      "clone copies every branch of the remote; --branch does not apply");
	if ((rc = clone_uri(ctx, &uri, &state)) != KV_OK)
		return rc;
	if ((rc = sync_begin(&s, ctx, remote)) != KV_OK)
		goto done;
	if ((rc = gkv_options_new(&opts)) < 0 || (rc = gkv_options_set_create(opts, 1)) < 0) {
		rc = kv_api_err(ctx, rc, "store options");
		goto done;
	}
	rc = gkv_clone(&ctx->repo, remote, uri, opts, s.opts);
	bar_done(&s);
	if (rc == GKV_E_EXISTS) {
		rc = kv_err(ctx, KV_CONFLICT,
			    "store '%s' already holds refs: clone fills only a new or empty store",
			    name);
		goto done;
	}
	if (rc < 0) {
		if (path && state < 2)
			undo_clone(path, state);
		rc = sync_err(&s, rc, "clone into store '%s'", name);
		goto done;
	}
	kv_note(ctx, "cloned '%s' into store '%s' (default branch '%s')", s.shown, name,
		gkv_repo_default_branch(ctx->repo));
	if ((rc = gkv_branch_list(&branches, ctx->repo)) < 0) {
		rc = kv_api_err(ctx, rc, "branches of store '%s'", name);
		goto done;
	}
	if (branches.count) /* docs/cli.md's order: the bytes of the name */
		qsort(branches.strings, branches.count, sizeof(char *), str_cmp);
	if (ctx->o.json) {
		fputc('{', ctx->out);
		kv_json_key(ctx->out, "store", 1);
		kv_json_cstr(ctx->out, name);
		print_remote_json(ctx->out, &s, 0);
		kv_json_key(ctx->out, "default_branch", 0);
		kv_json_cstr(ctx->out, gkv_repo_default_branch(ctx->repo));
		kv_json_key(ctx->out, "branches", 0);
		putc('[', ctx->out);
		for (size_t i = 0; i < branches.count; i++) {
			if ((rc = gkv_branch_head(&head, ctx->repo, branches.strings[i])) < 0) {
				rc = kv_read_err(ctx, rc, "branch '%s'", branches.strings[i]);
				goto done;
			}
			fputs(i ? ",{" : "{", ctx->out);
			kv_json_key(ctx->out, "name", 1);
			kv_json_cstr(ctx->out, branches.strings[i]);
			kv_json_key(ctx->out, "head", 0);
			kv_json_oid(ctx->out, &head);
			putc('}', ctx->out);
		}
		fputs("]}\n", ctx->out);
	}
	rc = KV_OK;
done:
	gkv_strarray_dispose(&branches);
	gkv_options_free(opts);
	sync_end(&s);
	free(uri);
	return rc;
}

/* ------------------------------------------------------------ fetch */

/* 1 if remote is the name of a remote recorded in the store. */
static int is_recorded(struct kv_ctx *ctx, const char *remote)
{
	gkv_buf url = {NULL, 0};
	int rc;

	if (gkv_branch_name_validate(remote) < 0)
		return 0;
	rc = gkv_remote_url(&url, ctx->repo, remote);
	gkv_buf_dispose(&url);
	return rc == 0;
}

/* A BRANCH argument: a valid branch name, or a usage error. */
static int check_branch_arg(struct kv_ctx *ctx, const char *branch)
{
	if (branch && gkv_branch_name_validate(branch) < 0)
		return kv_api_err(ctx, GKV_E_INVALID, "branch '%s'", branch);
	return KV_OK;
}

int kv_cmd_fetch(struct kv_ctx *ctx)
{
	const char *remote = ctx->o.args[0];
	const char *branch = ctx->o.nargs > 1 ? ctx->o.args[1] : NULL;
	gkv_fetch_result *res = NULL;
	const char *def;
	struct sync s;
	char hex[GKV_OID_HEXSZ + 1];
	int recorded, rc;

	if ((rc = check_branch_arg(ctx, branch)) != KV_OK ||
	    (rc = kv_open(ctx, KV_ANYBRANCH)) != KV_OK)
		return rc;
	recorded = is_recorded(ctx, remote);
	if ((rc = sync_begin(&s, ctx, remote)) != KV_OK)
		goto done;
	rc = gkv_fetch(&res, ctx->repo, remote, branch, s.opts);
	bar_done(&s);
	if (rc < 0) {
		rc = branch ? sync_err(&s, rc, "fetch of branch '%s'", branch)
			    : sync_err(&s, rc, "fetch");
		goto done;
	}
	kv_note(ctx, "fetched %zu branch%s from '%s' (%llu new objects)",
		gkv_fetch_result_count(res), gkv_fetch_result_count(res) == 1 ? "" : "es", s.shown,
		(unsigned long long)gkv_fetch_result_objects(res));
	if (ctx->o.json) {
		fputc('{', ctx->out);
		print_remote_json(ctx->out, &s, 1);
		kv_json_key(ctx->out, "recorded", 0);
		fputs(recorded ? "true" : "false", ctx->out);
		kv_json_key(ctx->out, "default_branch", 0);
		if ((def = gkv_fetch_result_default_branch(res)) != NULL)
			kv_json_cstr(ctx->out, def);
		else
			fputs("null", ctx->out);
		kv_json_key(ctx->out, "objects", 0);
		fprintf(ctx->out, "%llu", (unsigned long long)gkv_fetch_result_objects(res));
		kv_json_key(ctx->out, "branches", 0);
		print_heads_json(ctx->out, res);
		fputs("}\n", ctx->out);
	} else if (!recorded) {
		/* No ref moved: the heads are what the caller gets. */
		for (size_t i = 0; i < gkv_fetch_result_count(res); i++) {
			gkv_oid_fmt(hex, gkv_fetch_result_id(res, i));
			fprintf(ctx->out, "%s ", hex);
			kv_print_name(ctx, gkv_fetch_result_branch(res, i), "");
		}
	}
	rc = KV_OK;
done:
	gkv_fetch_result_free(res);
	sync_end(&s);
	return rc;
}

/* ------------------------------------------------------------ pull */

static int parse_strategy(struct kv_ctx *ctx, gkv_pull_strategy *out)
{
	const char *v = ctx->o.strategy;

	if (!v || strcmp(v, "merge") == 0)
		*out = GKV_PULL_MERGE;
	else if (strcmp(v, "ff") == 0)
		*out = GKV_PULL_FF;
	else if (strcmp(v, "reset") == 0)
		*out = GKV_PULL_RESET;
	else
		return kv_err(ctx, KV_USAGE, "unknown strategy '%s' (merge, ff or reset)", v);
	return KV_OK;
}

static int pull_conflicts(struct kv_ctx *ctx, struct sync *s, const char *rbranch, gkv_conflicts *c)
{
	size_t n = gkv_conflicts_count(c);

	for (size_t i = 0; i < n; i++) {
		fputs("kvctl: conflict: ", stderr);
		kv_put_quoted(stderr, gkv_conflicts_path(c, i));
		fprintf(stderr, ": %s\n", gkv_conflicts_reason(c, i));
	}
	ctx->conflicts = c;
	return kv_err(ctx, KV_CONFLICT,
		      "pull of branch '%s' of '%s' into branch '%s': %zu conflicting path%s, "
		      "branch unchanged",
		      rbranch, s->shown, ctx->branch, n, n == 1 ? "" : "s");
}

int kv_cmd_pull(struct kv_ctx *ctx)
{
	const char *remote = ctx->o.args[0];
	const char *rbranch = ctx->o.nargs > 1 ? ctx->o.args[1] : NULL;
	gkv_conflicts *conflicts = NULL;
	gkv_pull_strategy strategy = GKV_PULL_MERGE;
	gkv_oid before, after;
	struct sync s;
	char hex[GKV_OID_HEXSZ + 1];
	int had, rc;

	if ((rc = parse_strategy(ctx, &strategy)) != KV_OK ||
	    (rc = check_branch_arg(ctx, rbranch)) != KV_OK || (rc = kv_open(ctx, 0)) != KV_OK)
		return rc;
	if (!rbranch)
		rbranch = ctx->branch;
	had = gkv_branch_head(&before, ctx->repo, ctx->branch) == 0;
	if ((rc = sync_begin(&s, ctx, remote)) != KV_OK)
		goto done;
	rc = gkv_pull(&after, &conflicts, ctx->repo, remote, rbranch, ctx->branch, strategy, NULL,
		      s.opts);
	bar_done(&s);
	if (rc == GKV_E_CONFLICT && conflicts) {
		rc = pull_conflicts(ctx, &s, rbranch, conflicts);
		goto done;
	}
	gkv_conflicts_free(conflicts);
	if (rc == GKV_E_NONFASTFORWARD) {
		rc = kv_err(ctx, KV_CONFLICT,
			    "pull --strategy ff: branch '%s' of '%s' is not a fast-forward of "
			    "branch '%s'; branch unchanged",
			    rbranch, s.shown, ctx->branch);
		goto done;
	}
	if (rc < 0) {
		rc = sync_err(&s, rc, "pull of branch '%s' into branch '%s'", rbranch, ctx->branch);
		goto done;
	}
	gkv_oid_fmt(hex, &after);
	if (had && gkv_oid_equal(&before, &after))
		kv_note(ctx, "branch '%s' already contains branch '%s' of '%s'", ctx->branch,
			rbranch, s.shown);
	else
		kv_note(ctx, "branch '%s' is now %s", ctx->branch, hex);
	if (ctx->o.json) {
		fputc('{', ctx->out);
		kv_json_key(ctx->out, "branch", 1);
		kv_json_cstr(ctx->out, ctx->branch);
		print_remote_json(ctx->out, &s, 0);
		kv_json_key(ctx->out, "remote_branch", 0);
		kv_json_cstr(ctx->out, rbranch);
		kv_json_key(ctx->out, "hash", 0);
		kv_json_oid(ctx->out, &after);
		kv_json_key(ctx->out, "changed", 0);
		fputs(had && gkv_oid_equal(&before, &after) ? "false}\n" : "true}\n", ctx->out);
	}
	rc = KV_OK;
done:
	sync_end(&s);
	return rc;
}

/* ------------------------------------------------------------ push */

int kv_cmd_push(struct kv_ctx *ctx)
{
	const char *remote = ctx->o.args[0];
	const char *rbranch = ctx->o.nargs > 1 ? ctx->o.args[1] : NULL;
	gkv_oid head;
	struct sync s;
	int rc;

	if ((rc = check_branch_arg(ctx, rbranch)) != KV_OK || (rc = kv_open(ctx, 0)) != KV_OK)
		return rc;
	if (!rbranch)
		rbranch = ctx->branch;
	if ((rc = gkv_branch_head(&head, ctx->repo, ctx->branch)) == GKV_E_NOTFOUND)
		return kv_err(ctx, KV_NOTFOUND, "branch '%s' has no commit to push", ctx->branch);
	if (rc < 0)
		return kv_read_err(ctx, rc, "branch '%s'", ctx->branch);
	if ((rc = sync_begin(&s, ctx, remote)) != KV_OK)
		goto done;
	rc = gkv_push(ctx->repo, remote, ctx->branch, rbranch, s.opts);
	bar_done(&s);
	if (rc == GKV_E_NONFASTFORWARD) {
		rc =
		    kv_err(ctx, KV_CONFLICT,
			   "push of branch '%s' to branch '%s' of '%s' refused: not a fast-forward "
			   "(fetch and merge first, or --force); nothing changed",
			   ctx->branch, rbranch, s.shown);
		goto done;
	}
	if (rc < 0) {
		rc = sync_err(&s, rc, "push of branch '%s' to branch '%s'", ctx->branch, rbranch);
		goto done;
	}
	kv_note(ctx, "pushed branch '%s' to branch '%s' of '%s'", ctx->branch, rbranch, s.shown);
	if (ctx->o.json) {
		fputc('{', ctx->out);
		kv_json_key(ctx->out, "branch", 1);
		kv_json_cstr(ctx->out, ctx->branch);
		print_remote_json(ctx->out, &s, 0);
		kv_json_key(ctx->out, "remote_branch", 0);
		kv_json_cstr(ctx->out, rbranch);
		kv_json_key(ctx->out, "hash", 0);
		kv_json_oid(ctx->out, &head);
		fputs("}\n", ctx->out);
	}
	rc = KV_OK;
done:
	sync_end(&s);
	return rc;
}

/* ------------------------------------------------------------ remote */

static int remote_list(struct kv_ctx *ctx)
{
	gkv_strarray names = {NULL, 0};
	gkv_buf url = {NULL, 0};
	struct secrets none = {{NULL, NULL, NULL}};
	char shown[1024];
	int rc;

	if ((rc = kv_open(ctx, KV_RDONLY | KV_ANYBRANCH)) != KV_OK)
		return rc;
	if ((rc = gkv_remote_list(&names, ctx->repo)) < 0)
		return kv_api_err(ctx, rc, "remotes of store '%s'", kv_store_name(ctx));
	if (ctx->o.json)
		putc('[', ctx->out);
	for (size_t i = 0; i < names.count; i++) {
		if ((rc = gkv_remote_url(&url, ctx->repo, names.strings[i])) < 0) {
			rc = kv_api_err(ctx, rc, "remote '%s'", names.strings[i]);
			goto done;
		}
		mask(shown, sizeof(shown), (const char *)url.ptr, &none, (const char *)url.ptr);
		gkv_buf_dispose(&url);
		if (ctx->o.json) {
			fputs(i ? ",{" : "{", ctx->out);
			kv_json_key(ctx->out, "name", 1);
			kv_json_cstr(ctx->out, names.strings[i]);
			kv_json_key(ctx->out, "url", 0);
			kv_json_cstr(ctx->out, shown);
			putc('}', ctx->out);
		} else {
			fprintf(ctx->out, "%s\t", names.strings[i]);
			kv_print_name(ctx, shown, "");
		}
	}
	if (ctx->o.json)
		fputs("]\n", ctx->out);
	rc = KV_OK;
done:
	gkv_strarray_dispose(&names);
	return rc;
}

static int remote_add(struct kv_ctx *ctx, const char *name, const char *url)
{
	struct secrets none = {{NULL, NULL, NULL}};
	char shown[1024];
	int rc;

	mask(shown, sizeof(shown), url, &none, url);
	if ((rc = kv_open(ctx, KV_ANYBRANCH)) != KV_OK)
		return rc;
	if ((rc = gkv_remote_add(ctx->repo, name, url)) == GKV_E_EXISTS)
		return kv_err(ctx, KV_CONFLICT, "remote '%s' already exists", name);
	if (rc < 0) {
		char msg[1024];
		const char *why = gkv_error_last_code() == rc ? gkv_error_last() : gkv_strerror(rc);

		mask(msg, sizeof(msg), why, &none, url);
		return kv_err(ctx, kv_exit_code(rc), "remote add '%s' '%s': %s", name, shown, msg);
	}
	kv_note(ctx, "remote '%s' is '%s'", name, shown);
	if (ctx->o.json) {
		fputc('{', ctx->out);
		kv_json_key(ctx->out, "name", 1);
		kv_json_cstr(ctx->out, name);
		kv_json_key(ctx->out, "url", 0);
		kv_json_cstr(ctx->out, shown);
		fputs("}\n", ctx->out);
	}
	return KV_OK;
}

static int remote_remove(struct kv_ctx *ctx, const char *name)
{
	int rc;

	if ((rc = kv_open(ctx, KV_ANYBRANCH)) != KV_OK)
		return rc;
	if ((rc = gkv_remote_remove(ctx->repo, name)) == GKV_E_NOTFOUND)
		return kv_err(ctx, KV_NOTFOUND, "remote '%s' does not exist", name);
	if (rc < 0)
		return kv_api_err(ctx, rc, "remote '%s'", name);
	kv_note(ctx, "remote '%s' removed", name);
	if (ctx->o.json) {
		fputc('{', ctx->out);
		kv_json_key(ctx->out, "name", 1);
		kv_json_cstr(ctx->out, name);
		fputs("}\n", ctx->out);
	}
	return KV_OK;
}

int kv_cmd_remote(struct kv_ctx *ctx)
{
	const char *sub = ctx->o.nargs ? ctx->o.args[0] : NULL;

	if (!sub)
		return remote_list(ctx);
	if (strcmp(sub, "add") == 0 && ctx->o.nargs == 3)
		return remote_add(ctx, ctx->o.args[1], ctx->o.args[2]);
	if (strcmp(sub, "remove") == 0 && ctx->o.nargs == 2)
		return remote_remove(ctx, ctx->o.args[1]);
	return kv_err(
	    ctx, KV_USAGE,
	    "usage: kvctl remote [add NAME URL | remove NAME] (see 'kvctl remote --help')");
}
