/*
 * kvctl.h -- what the pieces of kvctl share: the parsed command line, the
 * command table's entry type, and the helpers every command uses to open
 * the store, report errors and print JSON.
 *
 * kvctl keeps no global mutable state: main() owns one struct kv_ctx and
 * hands it to the command, which owns nothing else beyond its locals.
 * Every command returns the process's exit status (enum kv_exit).
 */
#ifndef KVCTL_H
#define KVCTL_H

#include <stdio.h>

#include "gitkv.h"

/* The exit statuses of docs/cli.md; scripts depend on them. */
enum kv_exit {
	KV_OK = 0,
	KV_NOTFOUND = 1, /* path, branch, commit */
	KV_USAGE = 2,	 /* bad usage or invalid input */
	KV_CONFLICT = 3, /* conflict, lost compare-and-swap, non-fast-forward */
	KV_FAIL = 4	 /* I/O, corrupt store, anything else */
};

/* Everything the command line said, after option parsing. */
struct kv_opts {
	const char *store;   /* --store, else $GITKV_STORE, else NULL (./.gitkv) */
	const char *branch;  /* --branch, else NULL (the store's default) */
	const char *message; /* -m */
	const char *author;  /* --author "Name <email>" */
	const char *count;   /* -n, still text: the command checks it */
	const char *strategy; /* pull --strategy */
	const char *ssh_key;  /* --ssh-key FILE (sync commands) */
	const char *ca_file;  /* --ca-file FILE (sync commands) */
	const char *known_hosts; /* --known-hosts FILE (sync commands) */
	int json;
	int nul;   /* -z: names raw, each ended by a NUL */
	int force; /* --force */
	int version;
	int verbosity; /* -1 with -q, 1 with -v, else 0 */
	int help;
	char **args; /* positional arguments, after the command name */
	size_t nargs;
};

struct kv_ctx;

/* One entry of the command table. */
struct kv_cmd {
	const char *name;
	int (*run)(struct kv_ctx *ctx);
	unsigned opts;	 /* KV_OPT_* accepted besides the global ones */
	size_t min_args; /* positional arguments */
	size_t max_args;
	const char *usage;   /* "get PATH" */
	const char *summary; /* one line, for `kvctl help` */
	const char *help;    /* the rest of `kvctl CMD --help` */
};

/* Command-specific options; the global ones are accepted everywhere. */
enum {
	KV_OPT_MESSAGE = 1 << 0,
	KV_OPT_AUTHOR = 1 << 1,
	KV_OPT_COUNT = 1 << 2,
	KV_OPT_NUL = 1 << 3,
	KV_OPT_FORCE = 1 << 4,
	KV_OPT_SYNC = 1 << 5,	 /* --ssh-key, --ca-file: commands that reach a remote */
	KV_OPT_STRATEGY = 1 << 6 /* --strategy */
};

struct kv_ctx {
	struct kv_opts o;
	const struct kv_cmd *cmd;
	gkv_repo *repo;	    /* open store, or NULL */
	const char *branch; /* the branch commands act on, once the repo is open */
	/*
	 * Where commands print. With --json it is a memory stream, copied to
	 * stdout only if the command succeeds, so that stdout holds exactly
	 * one JSON document: the result or the error.
	 */
	FILE *out;
	int created;	   /* kv_open made the store */
	int errcode;	   /* the exit status of the error reported, or 0 */
	gkv_conflicts *conflicts; /* a failed merge's, for the JSON error */
	char *errjson;	   /* more members of the JSON error document, as
			      ",\"name\":value..." (malloc()ed), or NULL */
	char errmsg[1024]; /* its message, for the --json error document */
};

/* ------------------------------------------------------------ errors */

/* Report an error ("kvctl: " + message on stderr, and the JSON error
 * document with --json); returns code so commands can `return kv_err(...)`. */
int kv_err(struct kv_ctx *ctx, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The exit status for a negative GKV_E_* code. */
int kv_exit_code(int gkv_rc);

/* Report a failed library call: "kvctl: <what>: <gkv_error_last()>",
 * what being printf-formatted; returns the exit status for gkv_rc. */
int kv_api_err(struct kv_ctx *ctx, int gkv_rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Report a failed read of what the store holds, once every input was
 * checked: GKV_E_NOTFOUND and GKV_E_INVALID then mean an object the
 * store names is missing or of the wrong type, a damaged store (exit 4,
 * as GKV_E_CORRUPT is). Other codes are reported as kv_api_err does. */
int kv_read_err(struct kv_ctx *ctx, int gkv_rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "kvctl: warning: ..." on stderr, unless -q. */
void kv_warn(struct kv_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Extra information on stderr, printed with -v only. */
void kv_note(struct kv_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------ the store */

/* How kv_open opens the store. */
enum {
	KV_CREATE = 1 << 0,   /* create it (an LMDB environment) if absent;
				 otherwise an absent store is exit 4 */
	KV_RDONLY = 1 << 1,   /* open read-only: the command only reads */
	KV_ANYBRANCH = 1 << 2 /* do not require --branch to exist */
};

/* Open ctx->repo and set ctx->branch. Unless KV_ANYBRANCH, a --branch
 * other than the store's default must already exist (exit 1). */
int kv_open(struct kv_ctx *ctx, unsigned flags);

/* What the user calls the store, for messages ("./.gitkv" by default). */
const char *kv_store_name(const struct kv_ctx *ctx);

/* Open a store view of ctx->branch. */
int kv_open_store(gkv_store **out, struct kv_ctx *ctx);

/* The head tree of ctx->branch (the empty tree before its first commit). */
int kv_head_tree(gkv_tree **out, gkv_store *store, struct kv_ctx *ctx);

/* Check a PATH argument: 0, or the exit status after reporting it.
 * allow_root lets "" (the root) through; a trailing '/' is removed in
 * place when allow_slash is set (directory arguments of list and tree). */
int kv_check_path(struct kv_ctx *ctx, char *path, int allow_root, int allow_slash);

/* The commit info for a write: -m (or "OP PATH") with a newline as git
 * ends messages, and --author. */
int kv_make_info(gkv_info **out, struct kv_ctx *ctx, const char *op, const char *path);

/* Resolve a COMMIT argument (branch, 40 hex, or a unique prefix of 4+
 * hex digits): 0, or the exit status after reporting it. */
int kv_resolve(gkv_oid *out, struct kv_ctx *ctx, const char *spec);

/* The root tree of commit id; a missing or malformed one is a damaged
 * store (exit 4). 0, or the exit status after reporting it. */
int kv_commit_tree(gkv_tree **out, struct kv_ctx *ctx, const gkv_oid *id);

/* The printable name of a kind in --json output ("value", "dir", ...). */
const char *kv_kind_name(gkv_kind kind);

/* ------------------------------------------------------------ text output */

/* One name (key, path, branch) and its suffix ("/" for a directory) as
 * one item of text output: quoted as git quotes paths and ended by a
 * newline, or raw and ended by a NUL with -z (see quote.c). */
void kv_print_name(struct kv_ctx *ctx, const char *name, const char *suffix);
/* A name quoted as kv_print_name does, without the newline (for messages). */
void kv_put_quoted(FILE *f, const char *name);
/* One line of log: "<hex> <subject>", the subject quoted when a terminal
 * could act on a byte of it; raw and ended by a NUL with -z. */
void kv_print_subject(struct kv_ctx *ctx, const char *hex, const char *subject);

/* ------------------------------------------------------------ JSON */

/* Write bytes as a quoted JSON string (see json.c for invalid UTF-8). */
void kv_json_str(FILE *f, const void *s, size_t len);
/* The inside of a JSON string (no quotes): a piece of a longer one. A
 * UTF-8 sequence must not be cut between two pieces. */
void kv_json_str_part(FILE *f, const void *s, size_t len);
void kv_json_cstr(FILE *f, const char *s);
/* Write "key": with the comma that precedes every member but the first. */
void kv_json_key(FILE *f, const char *key, int first);
/* The length (1 to 4) of the well-formed UTF-8 sequence at s, its code
 * point in *cp; 0 if s[0] does not start one. */
size_t kv_utf8_seq(const unsigned char *s, size_t len, unsigned *cp);
/* 1 if s[0..len) is well-formed UTF-8. */
int kv_utf8_valid(const unsigned char *s, size_t len);
/* Write bytes as a quoted base64 (RFC 4648) JSON string. */
void kv_json_base64(FILE *f, const void *s, size_t len);
/* Base64 of a piece of a longer value (no quotes); every piece but the
 * last must be a multiple of 3 bytes long. */
void kv_json_base64_part(FILE *f, const void *s, size_t len);
void kv_json_oid(FILE *f, const gkv_oid *id);

/* ------------------------------------------------------------ changes */

/* One changed value path between two trees: op is 'A', 'D' or 'M'. */
struct kv_change {
	char op;
	char *path;
};

struct kv_changes {
	struct kv_change *v;
	size_t n, cap;
};

/*
 * The value paths under prefix ("" for all) that differ between old and
 * new (either may be NULL: the empty tree), sorted by their bytes. Only
 * names, kinds and ids are read (gkv_tree_walk), never a value: a value
 * changed when its id or kind did. Returns 0 or a GKV_E_* code (the
 * library's message says why); *out is the caller's to free either way.
 */
int kv_diff_trees(struct kv_changes *out, gkv_tree *old, gkv_tree *new, const char *prefix);
void kv_changes_free(struct kv_changes *c);
/* The name of op in --json output ("A" ...) and one text line of it:
 * "A path", the path quoted as names are, or raw and NUL-ended with -z. */
void kv_print_change(struct kv_ctx *ctx, const struct kv_change *c);

/* ------------------------------------------------------------ commands */

int kv_cmd_init(struct kv_ctx *ctx);
int kv_cmd_get(struct kv_ctx *ctx);
int kv_cmd_set(struct kv_ctx *ctx);
int kv_cmd_remove(struct kv_ctx *ctx);
int kv_cmd_list(struct kv_ctx *ctx);
int kv_cmd_tree(struct kv_ctx *ctx);
int kv_cmd_log(struct kv_ctx *ctx);
int kv_cmd_snapshot(struct kv_ctx *ctx);
int kv_cmd_reflog(struct kv_ctx *ctx);
int kv_cmd_branch(struct kv_ctx *ctx);
int kv_cmd_merge(struct kv_ctx *ctx);
int kv_cmd_diff(struct kv_ctx *ctx);
int kv_cmd_revert(struct kv_ctx *ctx);
int kv_cmd_watch(struct kv_ctx *ctx);
int kv_cmd_dot(struct kv_ctx *ctx);
int kv_cmd_export(struct kv_ctx *ctx);
int kv_cmd_import(struct kv_ctx *ctx);
int kv_cmd_gc(struct kv_ctx *ctx);
int kv_cmd_fsck(struct kv_ctx *ctx);
int kv_cmd_stats(struct kv_ctx *ctx);
int kv_cmd_upgrade(struct kv_ctx *ctx);
int kv_cmd_clone(struct kv_ctx *ctx);
int kv_cmd_fetch(struct kv_ctx *ctx);
int kv_cmd_pull(struct kv_ctx *ctx);
int kv_cmd_push(struct kv_ctx *ctx);
int kv_cmd_remote(struct kv_ctx *ctx);

#endif /* KVCTL_H */
