/*
 * gitkv/sync.h -- converging stores: clone, fetch, pull and push, with
 * another gitkv store or with a git remote.
 *
 * A REMOTE, wherever a function takes one, is any of:
 *  - the name of a remote recorded in the store ("origin");
 *  - a store name as gkv_repo_open takes it ("lmdb:/srv/kv", "git:/srv/r",
 *    a plain path to an LMDB environment or to a git repository):
 *    store-to-store sync, which copies only the objects the destination
 *    lacks, in one batch (a git repository given by path is opened with
 *    the git backend: no pack is made or parsed);
 *  - a git URL: "git://", "http://", "https://", "ssh://", "file://",
 *    "user@host:path", reached through libgit2's transports and pack
 *    negotiation. Every backend speaks to git remotes directly (the mem
 *    and lmdb backends too, with no git repository on disk).
 * A recorded name is looked up first, so a remote named like a relative
 * path stands for its URL.
 *
 * What every operation promises:
 *  - Objects received are checked as git's transfer.fsckObjects checks
 *    them (gkv_object_check) and re-hashed; a pack that is truncated or
 *    holds a bad object is refused.
 *  - Refs move only after every object they need is stored, in one batch:
 *    nothing partial is ever visible, and a failed fetch, pull or clone
 *    leaves the store as it was.
 *  - A push that is not a fast-forward of the remote's branch is refused
 *    (GKV_E_NONFASTFORWARD) unless forced, and a refused push changes
 *    nothing on either side.
 *
 * Errors common to the operations below ("sync errors"): GKV_E_INVALID
 * (NULL argument; a bad branch name; a REMOTE that is none of the above),
 * GKV_E_NOTFOUND (a recorded remote or branch that does not exist; a
 * remote repository that does not exist), GKV_E_NETWORK (the host is
 * unreachable, the connection broke, the server failed), GKV_E_AUTH
 * (credentials refused or needed), GKV_E_CORRUPT (the remote sent a bad
 * pack or object, which was not stored), GKV_E_USER (a callback stopped
 * the transfer), and the storage errors of the local store. The message
 * (gkv_error_last) names the remote.
 */
#ifndef GITKV_SYNC_H
#define GITKV_SYNC_H

#include "../gitkv.h"

#ifdef __cplusplus
extern "C" {
#endif

/* -------------------------------------------------------------- progress */

/** What a transfer is doing, in the order they happen. */
typedef enum {
	GKV_SYNC_CONNECTING = 1,  /**< reaching the remote, listing its refs */
	GKV_SYNC_RECEIVING = 2,   /**< objects arriving (received_*, indexed_*) */
	GKV_SYNC_STORING = 3,     /**< checking objects and writing them to the store */
	GKV_SYNC_SENDING = 4,     /**< objects being packed and sent (push) */
	GKV_SYNC_UPDATING = 5,    /**< moving refs */
	GKV_SYNC_DONE = 6
} gkv_sync_stage;

/** Where a transfer stands; counts that do not apply are 0. */
typedef struct {
	gkv_sync_stage stage;
	uint64_t total_objects;    /**< objects the pack holds (0: not known yet) */
	uint64_t received_objects; /**< objects received so far */
	uint64_t indexed_objects;  /**< objects resolved (deltas applied) */
	uint64_t stored_objects;   /**< objects checked and written to the store (for
	                                a large pack written object by object, the
	                                count runs twice: checking all, then writing) */
	uint64_t received_bytes;   /**< bytes received (push: sent) */
	uint64_t total_deltas;
	uint64_t indexed_deltas;
} gkv_sync_progress;

/** Called as a transfer advances (often: keep it cheap). A non-zero
 *  return stops the transfer, which then fails with GKV_E_USER and
 *  leaves the store as it was. p is valid only during the call. */
typedef int (*gkv_sync_progress_cb)(const gkv_sync_progress *p, void *payload);

/**
 * Called when a TLS or SSH host is checked: valid is 1 when the chain was
 * verified against the trusted CAs (TLS), or when an SSH host's key is
 * the one the known_hosts file gives for it (see
 * gkv_sync_options_set_known_hosts), else 0; for an SSH host,
 * fingerprint is the key's SHA-256 as 64 hex digits (else NULL). Return
 * 0 to go on, non-zero to refuse (GKV_E_AUTH). Without a callback, a
 * host that is not valid is refused: a TLS certificate no trusted CA
 * signed, an SSH host known_hosts does not name, names with another key
 * (it may be someone in the middle), or names with a key it revoked.
 */
typedef int (*gkv_sync_cert_cb)(int valid, const char *host, const char *fingerprint,
    void *payload);

/* --------------------------------------------------------------- options */

/** Options of a transfer; NULL wherever a function takes them means all
 *  defaults (no progress, no credentials, the system's CAs, no force). */
typedef struct gkv_sync_options gkv_sync_options;

/** New options with the defaults, into *out. Errors: GKV_E_INVALID (NULL
 *  out), GKV_E_NOMEM. */
GKV_EXTERN int gkv_sync_options_new(gkv_sync_options **out);
/** Free options. NULL is ignored. */
GKV_EXTERN void gkv_sync_options_free(gkv_sync_options *opts);
/** Report progress to cb (NULL: none). Errors: GKV_E_INVALID (NULL opts). */
GKV_EXTERN int gkv_sync_options_set_progress(gkv_sync_options *opts,
    gkv_sync_progress_cb cb, void *payload);
/**
 * Credentials for http(s) basic auth: user and password (or token),
 * copied. NULL user clears them. Errors: GKV_E_INVALID (NULL opts; user
 * without password), GKV_E_NOMEM.
 */
GKV_EXTERN int gkv_sync_options_set_userpass(gkv_sync_options *opts, const char *user,
    const char *password);
/**
 * Credentials for ssh: the key pair in the files private_key and
 * public_key (NULL: private_key with ".pub"), unlocked by passphrase (may
 * be NULL), for user (NULL: the user in the URL, else "git"); copied.
 * Errors: GKV_E_INVALID (NULL opts or private_key), GKV_E_NOMEM.
 */
GKV_EXTERN int gkv_sync_options_set_ssh_key(gkv_sync_options *opts, const char *user,
    const char *public_key, const char *private_key, const char *passphrase);
/**
 * Credentials for ssh from the running ssh-agent ($SSH_AUTH_SOCK), for user
 * (NULL: the user in the URL, else "git"). Errors: GKV_E_INVALID (NULL
 * opts), GKV_E_NOMEM.
 */
GKV_EXTERN int gkv_sync_options_set_ssh_agent(gkv_sync_options *opts, const char *user);
/**
 * Trust the CA certificates in the PEM file ca_file (besides the
 * system's) for https remotes. Applies to the whole process, as libgit2's
 * TLS settings do. Errors: GKV_E_INVALID (NULL argument), GKV_E_NOTFOUND
 * (no such file), GKV_E_ERROR (the file was refused by the TLS library).
 */
GKV_EXTERN int gkv_sync_options_set_ca_file(gkv_sync_options *opts, const char *ca_file);
/**
 * Check SSH hosts against the OpenSSH known_hosts file (plain, wildcard,
 * negated and hashed host names, "[host]:port" for another port than 22,
 * @revoked lines) instead of ~/.ssh/known_hosts and then
 * /etc/ssh/ssh_known_hosts. Errors: GKV_E_INVALID (NULL argument),
 * GKV_E_NOTFOUND (no such file), GKV_E_NOMEM.
 */
GKV_EXTERN int gkv_sync_options_set_known_hosts(gkv_sync_options *opts, const char *file);

/** Check hosts with cb (see gkv_sync_cert_cb). Errors: GKV_E_INVALID (NULL opts). */
GKV_EXTERN int gkv_sync_options_set_cert_check(gkv_sync_options *opts,
    gkv_sync_cert_cb cb, void *payload);
/** Let gkv_push replace a branch that is not an ancestor of what is pushed.
 *  Errors: GKV_E_INVALID (NULL opts). */
GKV_EXTERN int gkv_sync_options_set_force(gkv_sync_options *opts, int force);

/* --------------------------------------------------------------- remotes */

/**
 * Record remote name (a valid branch-style name: "origin") with url
 * (any REMOTE but a recorded name). On a git store this is git's own
 * remote.NAME.url and remote.NAME.fetch, so git sees it; elsewhere the
 * same keys in the store's config. Errors: GKV_E_INVALID (NULL argument;
 * bad name; empty url or one holding a newline), GKV_E_EXISTS (name is
 * recorded), GKV_E_READONLY, GKV_E_UNSUPPORTED, storage errors.
 */
GKV_EXTERN int gkv_remote_add(gkv_repo *repo, const char *name, const char *url);
/**
 * Forget remote name and delete its remote-tracking refs
 * (refs/remotes/NAME/...). Errors: GKV_E_INVALID (NULL argument; bad
 * name), GKV_E_NOTFOUND, GKV_E_READONLY, storage errors.
 */
GKV_EXTERN int gkv_remote_remove(gkv_repo *repo, const char *name);
/** The recorded remotes' names, sorted, into *out (free with
 *  gkv_strarray_dispose). Errors: GKV_E_INVALID (NULL argument),
 *  GKV_E_NOMEM, storage errors. */
GKV_EXTERN int gkv_remote_list(gkv_strarray *out, gkv_repo *repo);
/** Remote name's URL into *out (NUL-terminated; free with
 *  gkv_buf_dispose). Errors: GKV_E_INVALID (NULL argument),
 *  GKV_E_NOTFOUND, storage errors. */
GKV_EXTERN int gkv_remote_url(gkv_buf *out, gkv_repo *repo, const char *name);

/* ------------------------------------------------------------ operations */

/** What a fetch found: the remote's branches and where their heads are. */
typedef struct gkv_fetch_result gkv_fetch_result;
/** Number of branches fetched. NULL gives 0. */
GKV_EXTERN size_t gkv_fetch_result_count(const gkv_fetch_result *r);
/** Branch i's name ("main", without "refs/heads/"), or NULL past the end. */
GKV_EXTERN const char *gkv_fetch_result_branch(const gkv_fetch_result *r, size_t i);
/** Branch i's head on the remote, or NULL past the end. */
GKV_EXTERN const gkv_oid *gkv_fetch_result_id(const gkv_fetch_result *r, size_t i);
/** The branch the remote's HEAD names, or NULL when it names none. */
GKV_EXTERN const char *gkv_fetch_result_default_branch(const gkv_fetch_result *r);
/** Objects stored by the fetch (0 when the store had them all). */
GKV_EXTERN uint64_t gkv_fetch_result_objects(const gkv_fetch_result *r);
/** Free. NULL is ignored. */
GKV_EXTERN void gkv_fetch_result_free(gkv_fetch_result *r);

/**
 * Fetch branch (NULL: every branch) of remote into repo: store the
 * objects it needs that repo lacks, then, for a recorded remote, move
 * refs/remotes/NAME/BRANCH to the remote's heads (and delete none); a
 * URL or store name moves no ref. No local branch moves. *out (may be
 * NULL) gets what was fetched. Errors: sync errors; GKV_E_NOTFOUND for a
 * branch the remote does not have; GKV_E_READONLY.
 */
GKV_EXTERN int gkv_fetch(gkv_fetch_result **out, gkv_repo *repo, const char *remote,
    const char *branch, const gkv_sync_options *opts);

/**
 * Clone remote into the store named uri, created with opts (may be NULL;
 * create is implied), into *out (free with gkv_repo_free). Every branch
 * of the remote becomes a branch of the store and a remote-tracking ref
 * refs/remotes/origin/BRANCH; the remote is recorded as "origin" (a
 * plain path made absolute; nothing is recorded in a custom backend that
 * keeps no configuration); the
 * store's default branch is the one the remote's HEAD names (else
 * "main" if the remote has it, else the first). The remote is reached
 * before the store is created; a store that does not exist is made with
 * create set and then opened with opts. The store must be new
 * or empty (no refs): else GKV_E_EXISTS and it is not touched. On
 * failure the store holds no ref (an empty store may be left where none
 * was). Errors: sync errors, GKV_E_EXISTS, and those of gkv_repo_open.
 */
GKV_EXTERN int gkv_clone(gkv_repo **out, const char *remote, const char *uri,
    const gkv_options *opts, const gkv_sync_options *sopts);

/** How gkv_pull joins the remote's branch to the local one. */
typedef enum {
	GKV_PULL_MERGE = 0,  /**< three-way merge (fast-forward when possible) */
	GKV_PULL_FF = 1,     /**< fast-forward only; GKV_E_NONFASTFORWARD otherwise */
	GKV_PULL_RESET = 2   /**< replace the local branch with the remote's */
} gkv_pull_strategy;

/**
 * Fetch remote_branch of remote (NULL: the same name as branch), then
 * bring local branch (created when absent) to it by strategy, with the
 * store's merge rules (mopts, may be NULL: the defaults) and the
 * committer and author of the repo's options for a merge commit. *out
 * (may be NULL) gets the branch's new head. A conflicting merge stores
 * nothing and moves no branch: GKV_E_CONFLICT, with the conflicting paths
 * in *conflicts when conflicts is not NULL (free with gkv_conflicts_free;
 * NULL otherwise). The fetched objects and remote-tracking ref stay
 * even when the merge fails, as git's do. Errors: sync errors,
 * GKV_E_CONFLICT, GKV_E_NONFASTFORWARD (GKV_PULL_FF), GKV_E_READONLY.
 */
GKV_EXTERN int gkv_pull(gkv_oid *out, gkv_conflicts **conflicts, gkv_repo *repo,
    const char *remote, const char *remote_branch, const char *branch,
    gkv_pull_strategy strategy, const gkv_merge_options *mopts,
    const gkv_sync_options *opts);

/**
 * Push local branch to remote_branch of remote (NULL: the same name),
 * sending only what the remote lacks. Refused with GKV_E_NONFASTFORWARD,
 * nothing changed on either side, when the remote's branch exists and is
 * not an ancestor of the local head, unless opts forces it; refused by
 * the remote (a hook, a protected branch): GKV_E_CONFLICT naming the
 * remote's reason. For a recorded remote, refs/remotes/NAME/BRANCH then
 * names what was pushed. Errors: sync errors, GKV_E_NOTFOUND (branch
 * does not exist locally), GKV_E_NONFASTFORWARD, GKV_E_CONFLICT.
 */
GKV_EXTERN int gkv_push(gkv_repo *repo, const char *remote, const char *branch,
    const char *remote_branch, const gkv_sync_options *opts);

/**
 * Store-to-store: copy into dst every object reachable from the n
 * commits heads[] of src that dst lacks (stopping at what dst has), in
 * one batch, and move no ref. *copied (may be NULL) gets the number of
 * objects written. The cost grows with what dst lacks, not with the
 * size of src. Errors: GKV_E_INVALID (NULL argument but copied; n of 0 is
 * fine), GKV_E_NOTFOUND (a head that is not in src), GKV_E_CORRUPT (an
 * object of src that fails its check, which is not copied), storage
 * errors of both stores.
 */
GKV_EXTERN int gkv_sync_copy(uint64_t *copied, gkv_repo *dst, gkv_repo *src,
    const gkv_oid *heads, size_t n, const gkv_sync_options *opts);

#ifdef __cplusplus
}
#endif

#endif /* GITKV_SYNC_H */
