/*
 * common.c -- what every kvctl command needs: error reporting with the
 * exit statuses of docs/cli.md, opening the store named on the command line,
 * checking PATH arguments, and the commit info of a write.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvctl.h"

/* ------------------------------------------------------------ errors */

int kv_exit_code(int rc)
{
	switch (rc) {
	case GKV_OK:
		return KV_OK;
	case GKV_E_NOTFOUND:
		return KV_NOTFOUND;
	case GKV_E_INVALID:
	case GKV_E_AMBIGUOUS: /* a short id the user must lengthen: bad input */
		return KV_USAGE;
	case GKV_E_CONFLICT:
	case GKV_E_NONFASTFORWARD:
	case GKV_E_EXISTS: /* creating a branch is a compare-and-swap that lost */
		return KV_CONFLICT;
	default:
		return KV_FAIL;
	}
}

/*
 * Keep the message to one line whatever the names in it hold (a path
 * segment may contain a newline), and let nothing in it reach the
 * terminal as a command: control bytes, DEL, the bytes of a C1 control
 * (U+0080..U+009F) and bytes that are not part of valid UTF-8 become \xHH.
 */
static void one_line(char *dst, size_t dstsz, const char *src)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t o = 0, i = 0, k, n, len = strlen(src);
	unsigned cp;

	while (i < len && o + 4 * 4 + 1 < dstsz) {
		n = kv_utf8_seq(s + i, len - i, &cp);
		if (n == 0)
			n = 1, cp = 0; /* not UTF-8: escaped like a control byte */
		for (k = 0; k < n; k++) {
			if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
				o += (size_t)snprintf(dst + o, dstsz - o, "\\x%02x", s[i + k]);
			else
				dst[o++] = (char)s[i + k];
		}
		i += n;
	}
	dst[o] = '\0';
}

static int report(struct kv_ctx *ctx, int code, const char *msg)
{
	one_line(ctx->errmsg, sizeof(ctx->errmsg), msg);
	fprintf(stderr, "kvctl: %s\n", ctx->errmsg);
	ctx->errcode = code;
	return code;
}

int kv_err(struct kv_ctx *ctx, int code, const char *fmt, ...)
{
	char msg[sizeof(ctx->errmsg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return report(ctx, code, msg);
}

int kv_api_err(struct kv_ctx *ctx, int rc, const char *fmt, ...)
{
	char what[sizeof(ctx->errmsg) / 2], msg[sizeof(ctx->errmsg)];
	const char *why = gkv_error_last_code() == rc ? gkv_error_last() : gkv_strerror(rc);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	/* The library's message says why; ours names the input, in case the
	 * library's does not. When it begins with ours, it says both. */
	if (strncmp(why, what, strlen(what)) == 0)
		snprintf(msg, sizeof(msg), "%s", why);
	else
		snprintf(msg, sizeof(msg), "%s: %s", what, why);
	return report(ctx, kv_exit_code(rc), msg);
}

int kv_read_err(struct kv_ctx *ctx, int rc, const char *fmt, ...)
{
	char what[sizeof(ctx->errmsg) / 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (rc != GKV_E_NOTFOUND && rc != GKV_E_INVALID && rc != GKV_E_CORRUPT)
		return kv_api_err(ctx, rc, "%s", what);
	kv_api_err(ctx, rc, "%s: the store is damaged", what);
	ctx->errcode = KV_FAIL;
	return KV_FAIL;
}

void kv_warn(struct kv_ctx *ctx, const char *fmt, ...)
{
	char msg[sizeof(ctx->errmsg)], line[sizeof(ctx->errmsg)];
	va_list ap;

	if (ctx->o.verbosity < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	one_line(line, sizeof(line), msg);
	fprintf(stderr, "kvctl: warning: %s\n", line);
}

void kv_note(struct kv_ctx *ctx, const char *fmt, ...)
{
	char msg[sizeof(ctx->errmsg)], line[sizeof(ctx->errmsg)];
	va_list ap;

	if (ctx->o.verbosity <= 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	one_line(line, sizeof(line), msg);
	fprintf(stderr, "kvctl: %s\n", line);
}

/* ------------------------------------------------------------ the store */

/* The store named by --store or $GITKV_STORE, or NULL for ./.gitkv. */
static const char *store_named(const struct kv_ctx *ctx)
{
	const char *env = getenv("GITKV_STORE");

	if (ctx->o.store)
		return ctx->o.store;
	return env && *env ? env : NULL;
}

const char *kv_store_name(const struct kv_ctx *ctx)
{
	const char *name = store_named(ctx);

	return name ? name : "./.gitkv";
}

/*
 * The length of the scheme that starts name ("git:" is 4), or 0 for a
 * plain path: a scheme is letters only, up to the first colon. A
 * directory whose name is of that form is written ./NAME.
 */
static size_t scheme_len(const char *name)
{
	size_t n = 0;

	while (isalpha((unsigned char)name[n]))
		n++;
	return n > 0 && name[n] == ':' ? n + 1 : 0;
}

static int has_scheme(const char *name)
{
	return scheme_len(name) > 0;
}

static int known_scheme(const char *name)
{
	return strncmp(name, "mem:", 4) == 0 || strncmp(name, "lmdb:", 5) == 0 ||
	       strncmp(name, "git:", 4) == 0;
}

/* The file system path of a store name ("lmdb:PATH", "git:PATH" or a
 * plain PATH), or NULL for mem:. */
static const char *fs_path(const char *name)
{
	if (strncmp(name, "mem:", 4) == 0)
		return NULL;
	return name + scheme_len(name);
}

/* What may hide a store from this user: the path or a file of a store
 * in it that cannot be read. The names are those of LMDB and git. */
static const char *const store_files[] = {"data.mdb", "lock.mdb", "HEAD", "objects", "refs",
					  ".git"};

/*
 * Why the store at path could not be opened (the library said rc): a
 * permission the user lacks on it or on a file of a store in it, or,
 * when the library found nothing, a directory another user owns (which
 * git and libgit2 refuse, see git's safe.directory). The library names
 * what it could not find; this names what kept it from looking. 0 when
 * neither explains it, else the exit status after reporting it.
 */
static int explain_failure(struct kv_ctx *ctx, const char *path, int rc)
{
	struct stat st;
	char file[4096];
	size_t i;

	if (stat(path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		return kv_err(ctx, KV_FAIL, "store '%s': cannot access '%s': %s",
			      kv_store_name(ctx), path, strerror(errno));
	}
	if (access(path, S_ISDIR(st.st_mode) ? R_OK | X_OK : R_OK) != 0)
		return kv_err(ctx, KV_FAIL, "store '%s': cannot read '%s': %s", kv_store_name(ctx),
			      path, strerror(errno));
	for (i = 0; S_ISDIR(st.st_mode) && i < sizeof(store_files) / sizeof(store_files[0]); i++) {
		snprintf(file, sizeof(file), "%s/%s", path, store_files[i]);
		if (access(file, F_OK) == 0 && access(file, R_OK) != 0)
			return kv_err(ctx, KV_FAIL, "store '%s': cannot read '%s': %s",
				      kv_store_name(ctx), file, strerror(errno));
	}
	if (rc == GKV_E_NOTFOUND && st.st_uid != geteuid())
		return kv_err(ctx, KV_FAIL,
			      "store '%s': '%s' is owned by uid %u, not by this user (uid %u); "
			      "git refuses another user's repository unless git's "
			      "safe.directory allows it",
			      kv_store_name(ctx), path, (unsigned)st.st_uid, (unsigned)geteuid());
	return 0;
}

/* A plain PATH with nothing to detect (absent, or an empty directory). */
static int nothing_at(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	int empty = 1;

	if (stat(path, &st) != 0)
		return errno == ENOENT; /* EACCES: something may be there */
	if (!S_ISDIR(st.st_mode) || (d = opendir(path)) == NULL)
		return 0;
	while (empty && (e = readdir(d)) != NULL)
		empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
	closedir(d);
	return empty;
}

/*
 * The URI handed to gkv_repo_open, malloc()ed. A plain PATH is detected
 * by the library when something is there; when kvctl is to create the
 * store and nothing is there, it makes the LMDB store docs/cli.md promises.
 */
static char *store_uri(const struct kv_ctx *ctx, int create)
{
	const char *name = store_named(ctx);
	char *uri;

	if (!name)
		return strdup("lmdb:./.gitkv");
	if (has_scheme(name) || !create || !nothing_at(name))
		return strdup(name);
	uri = malloc(strlen(name) + sizeof("lmdb:"));
	if (uri) {
		strcpy(uri, "lmdb:");
		strcat(uri, name);
	}
	return uri;
}

static int repo_open(gkv_repo **out, struct kv_ctx *ctx, int create, int readonly)
{
	gkv_options *opts = NULL;
	char *uri = store_uri(ctx, create);
	int rc;

	if (!uri)
		return GKV_E_NOMEM;
	/* "mem:" is a new store in every process: there is nothing to find. */
	if (strcmp(uri, "mem:") == 0)
		create = 1, readonly = 0;
	if ((rc = gkv_options_new(&opts)) == 0 &&
	    (rc = gkv_options_set_create(opts, create)) == 0 &&
	    (rc = gkv_options_set_readonly(opts, readonly)) == 0)
		rc = gkv_repo_open(out, uri, opts);
	gkv_options_free(opts);
	free(uri);
	return rc;
}

/*
 * A --branch other than the store's default must exist (docs/cli.md),
 * and any branch that exists must name a commit of the store: a head
 * that is missing or is not a commit is a damaged store (exit 4), which
 * the library reports as GKV_E_CORRUPT.
 */
static int check_branch(struct kv_ctx *ctx)
{
	gkv_oid head;
	int rc = gkv_branch_head(&head, ctx->repo, ctx->branch);

	if (rc == GKV_E_NOTFOUND &&
	    strcmp(ctx->branch, gkv_repo_default_branch(ctx->repo)) == 0)
		return KV_OK; /* before its first commit */
	if (rc == GKV_E_NOTFOUND)
		return kv_err(ctx, KV_NOTFOUND, "branch '%s' does not exist", ctx->branch);
	if (rc < 0)
		return kv_api_err(ctx, rc, "branch '%s'", ctx->branch);
	return KV_OK;
}

int kv_open(struct kv_ctx *ctx, unsigned flags)
{
	const char *name = kv_store_name(ctx);
	int rc;

	const char *path = fs_path(name);
	int why;

	if (ctx->o.branch && gkv_branch_name_validate(ctx->o.branch) < 0)
		return kv_api_err(ctx, GKV_E_INVALID, "branch '%s'", ctx->o.branch);
	/* Before anything is opened, so that a typo creates nothing. */
	if (has_scheme(name) && !known_scheme(name))
		return kv_err(ctx, KV_USAGE,
			      "store '%s': unknown scheme '%.*s' (lmdb:, git: and mem: are known; "
			      "write ./%s for a directory of that name)",
			      name, (int)scheme_len(name), name, name);
	/* An empty directory is where a store may be made, not a store. */
	if (store_named(ctx) && !has_scheme(store_named(ctx)) && nothing_at(store_named(ctx)))
		rc = GKV_E_NOTFOUND;
	else
		rc = repo_open(&ctx->repo, ctx, 0, !!(flags & KV_RDONLY));
	/* "does not exist" only when nothing is there to be kept from us. */
	if (rc < 0 && path && (why = explain_failure(ctx, path, rc)) != KV_OK)
		return why;
	if (rc == GKV_E_NOTFOUND && !(flags & KV_CREATE))
		return kv_err(ctx, KV_FAIL, "store '%s' does not exist", name);
	if (rc == GKV_E_NOTFOUND) {
		/*
		 * A store gitkv creates starts on "main" and has no other
		 * branch: refuse a write to another one before creating the
		 * store, so that the failed command leaves nothing behind.
		 */
		if (!(flags & KV_ANYBRANCH) && ctx->o.branch && strcmp(ctx->o.branch, "main") != 0)
			return kv_err(ctx, KV_NOTFOUND, "branch '%s' does not exist",
				      ctx->o.branch);
		rc = repo_open(&ctx->repo, ctx, 1, 0);
		ctx->created = rc == 0;
	}
	if (rc < 0)
		return kv_api_err(ctx, rc, "store '%s'", name);
	ctx->branch = ctx->o.branch ? ctx->o.branch : gkv_repo_default_branch(ctx->repo);
	return flags & KV_ANYBRANCH ? KV_OK : check_branch(ctx);
}

int kv_open_store(gkv_store **out, struct kv_ctx *ctx)
{
	int rc = gkv_store_open_branch(out, ctx->repo, ctx->branch);

	return rc < 0 ? kv_api_err(ctx, rc, "branch '%s'", ctx->branch) : KV_OK;
}

int kv_head_tree(gkv_tree **out, gkv_store *store, struct kv_ctx *ctx)
{
	int rc = gkv_store_tree(out, store);

	/* The head was checked by kv_open: what is missing now is damage. */
	return rc < 0 ? kv_read_err(ctx, rc, "branch '%s'", ctx->branch) : KV_OK;
}

int kv_check_path(struct kv_ctx *ctx, char *path, int allow_root, int allow_slash)
{
	size_t len = strlen(path);
	int rc;

	/* `list` prints a directory as "name/"; accept it back. */
	if (allow_slash && len > 1 && path[len - 1] == '/' && path[len - 2] != '/')
		path[len - 1] = '\0';
	if (*path == '\0' && !allow_root)
		return kv_err(ctx, KV_USAGE, "invalid path '': the root is not a value");
	if ((rc = gkv_path_validate(path)) < 0)
		return kv_api_err(ctx, rc, "invalid path '%s'", path);
	return KV_OK;
}

/* ------------------------------------------------------------ commit info */

/* Split "Name <email>" in place; 0 or -1 when it is not of that form. */
static int split_author(char *s, char **name, char **email)
{
	char *lt = strchr(s, '<'), *gt = lt ? strchr(lt, '>') : NULL;
	char *end;

	if (!gt)
		return -1;
	for (end = gt + 1; *end; end++)
		if (!isspace((unsigned char)*end))
			return -1;
	*gt = '\0';
	*email = lt + 1;
	end = lt;
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	*end = '\0';
	while (isspace((unsigned char)*s))
		s++;
	*name = s;
	return 0;
}

static int set_author(gkv_info *info, struct kv_ctx *ctx)
{
	char *copy = strdup(ctx->o.author), *name, *email;
	gkv_signature *sig = NULL;
	int rc;

	if (!copy)
		return kv_err(ctx, KV_FAIL, "out of memory");
	if (split_author(copy, &name, &email) < 0)
		rc = kv_err(ctx, KV_USAGE, "invalid author '%s': expected \"Name <email>\"",
			    ctx->o.author);
	else if ((rc = gkv_signature_now(&sig, name, email)) < 0 ||
		 (rc = gkv_info_set_author(info, sig)) < 0)
		rc = kv_api_err(ctx, rc, "invalid author '%s'", ctx->o.author);
	gkv_signature_free(sig);
	free(copy);
	return rc;
}

int kv_make_info(gkv_info **out, struct kv_ctx *ctx, const char *op, const char *path)
{
	const char *msg = ctx->o.message;
	size_t len = msg ? strlen(msg) : strlen(op) + (path ? 1 + strlen(path) : 0);
	char *text = malloc(len + 2);
	int rc;

	if (!text)
		return kv_err(ctx, KV_FAIL, "out of memory");
	if (msg)
		memcpy(text, msg, len + 1);
	else
		sprintf(text, path ? "%s %s" : "%s", op, path);
	/* git ends every message with a newline; so do commits made here. */
	if (len == 0 || text[len - 1] != '\n')
		strcpy(text + len, "\n");
	rc = gkv_info_new(out, text);
	free(text);
	if (rc < 0)
		return kv_api_err(ctx, rc, "commit message");
	if (ctx->o.author && (rc = set_author(*out, ctx)) != KV_OK) {
		gkv_info_free(*out);
		*out = NULL;
	}
	return rc;
}

int kv_commit_tree(gkv_tree **out, struct kv_ctx *ctx, const gkv_oid *id)
{
	char hex[GKV_OID_HEXSZ + 1];
	gkv_commit *c = NULL;
	int rc;

	*out = NULL;
	if ((rc = gkv_commit_lookup(&c, ctx->repo, id)) == 0)
		rc = gkv_tree_lookup(out, ctx->repo, gkv_commit_tree_id(c));
	gkv_commit_free(c);
	gkv_oid_fmt(hex, id);
	return rc < 0 ? kv_read_err(ctx, rc, "commit %s", hex) : KV_OK;
}

const char *kv_kind_name(gkv_kind kind)
{
	switch (kind) {
	case GKV_KIND_VALUE:
		return "value";
	case GKV_KIND_DIR:
		return "dir";
	case GKV_KIND_EXEC:
		return "exec";
	case GKV_KIND_LINK:
		return "link";
	case GKV_KIND_SUBMODULE:
		return "submodule";
	default:
		return "none";
	}
}

int kv_resolve(gkv_oid *out, struct kv_ctx *ctx, const char *spec)
{
	int rc;

	/* A branch is read with gkv_branch_head, which reports one that
	 * does not name a commit as the damage it is. */
	if (gkv_branch_name_validate(spec) == 0 &&
	    (rc = gkv_branch_head(out, ctx->repo, spec)) != GKV_E_NOTFOUND)
		return rc < 0 ? kv_api_err(ctx, rc, "branch '%s'", spec) : KV_OK;
	rc = gkv_repo_resolve(out, ctx->repo, spec);

	if (rc == GKV_E_NOTFOUND)
		return kv_err(ctx, KV_NOTFOUND, "no branch or commit '%s'", spec);
	if (rc == GKV_E_AMBIGUOUS)
		return kv_err(ctx, KV_USAGE, "commit prefix '%s' is ambiguous", spec);
	return rc < 0 ? kv_api_err(ctx, rc, "commit '%s'", spec) : KV_OK;
}
