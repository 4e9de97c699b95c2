/*
 * sync_int.h -- what the parts of sync/ share: the options, the fetch
 * result, and the two transports (another gitkv store; a git remote
 * through libgit2) behind one pair of calls, so that fetch, clone, pull
 * and push (sync.c) are written once.
 *
 * sync/ sees the public headers, the seam (gitkv/sys/backend.h) and
 * util/; never store/ or a backend's internals.
 */
#ifndef GKV_SYNC_INT_H
#define GKV_SYNC_INT_H

#include "gitkv.h"
#include "gitkv/sync.h"
#include "gitkv/sys/backend.h"

struct gkv_sync_options {
	gkv_sync_progress_cb progress;
	void *progress_payload;
	char *user;          /* https user, or NULL */
	char *password;
	char *ssh_user;      /* NULL: from the URL, else "git" */
	char *ssh_public;    /* key files; ssh_private NULL: no key */
	char *ssh_private;
	char *ssh_passphrase;
	int ssh_agent;       /* 1: ask the ssh-agent */
	char *ca_file;
	char *known_hosts;   /* NULL: ~/.ssh/known_hosts, then /etc/ssh's */
	gkv_sync_cert_cb cert_check;
	void *cert_payload;
	int force;
};

/** One branch of a remote. */
typedef struct {
	char *name;    /* "main": without refs/heads/ */
	gkv_oid id;
} gkv__head;

struct gkv_fetch_result {
	gkv__head *heads;     /* sorted by name */
	size_t count;
	char *default_branch; /* what the remote's HEAD names, or NULL */
	uint64_t objects;     /* objects stored */
};

/** Allocate an empty result; NULL with GKV_E_NOMEM set. */
gkv_fetch_result *gkv__fetch_result_new(void);
/** Append a head (name copied). 0 or GKV_E_NOMEM. */
int gkv__fetch_result_add(gkv_fetch_result *r, const char *name, const gkv_oid *id);
/** Sort heads by name. */
void gkv__fetch_result_sort(gkv_fetch_result *r);

/**
 * Called by a transport once every object the fetched heads need is in
 * batch (a batch of the local store's backend, not yet committed) and r
 * lists the heads: add the ref moves that must land with the objects
 * (batch_ref_cas, batch_ref_log). A negative return aborts the batch and
 * is returned by the fetch. May be NULL: no ref moves.
 */
typedef int (*gkv__refs_fn)(gkv_batch *batch, const gkv_fetch_result *r, void *payload);

/** Report progress if opts asks for it; GKV_E_USER (message set) when
 *  the callback says stop, else 0. opts may be NULL. */
int gkv__progress(const gkv_sync_options *opts, const gkv_sync_progress *p);

/**
 * Add to batch (of repo's backend) the log entry of the move of ref in
 * it: message (one line), by the identity a sync signs with (ident.c),
 * dated now. 0 when the backend keeps no log. Errors of batch_ref_log.
 */
int gkv__sync_reflog(gkv_batch *batch, gkv_repo *repo, const char *ref, const char *message);

/* ---- recorded remotes (remote.c) ---- */

/** 0 if name can name a remote (a branch-style name); GKV_E_INVALID. */
int gkv__remote_name_validate(const char *name);
/** The URL of recorded remote name into *url (malloc'd): GKV_E_NOTFOUND
 *  when none is recorded, config errors. */
int gkv__remote_lookup(char **url, gkv_repo *repo, const char *name);
/** 0 if url can be recorded as a remote's URL (sync.c): any REMOTE but
 *  a recorded name; GKV_E_INVALID otherwise. */
int gkv__remote_url_validate(gkv_repo *repo, const char *url);

/* ---- the operations, on a resolved remote (sync.c) ---- */

enum { GKV__EP_STORE = 1, GKV__EP_GIT = 2 };

/** Where a REMOTE leads, once resolved. */
typedef struct {
	int kind;        /* GKV__EP_STORE or GKV__EP_GIT */
	char *name;      /* the recorded remote's name, or NULL */
	char *url;       /* what it stands for */
	char *uri;       /* a store: the name it was opened by */
	char *path;      /* a plain path, made absolute: what a clone records */
	gkv_repo *store; /* a store: open */
	int owned;       /* store is freed with the endpoint */
} gkv__endpoint;

/** An endpoint for the open store (not owned): name is a recorded
 *  remote's name (or NULL), url what it stands for. 0 or GKV_E_NOMEM. */
int gkv__endpoint_store(gkv__endpoint *ep, gkv_repo *store, const char *name, const char *url);
void gkv__endpoint_free(gkv__endpoint *ep);

/* gkv_fetch, gkv_clone, gkv_pull and gkv_push once the REMOTE is resolved
 * and the arguments checked (remote_branch not NULL). */
int gkv__fetch_ep(gkv_fetch_result **out, gkv_repo *repo, gkv__endpoint *ep,
    const char *branch, const gkv_sync_options *opts);
int gkv__clone_ep(gkv_repo **out, gkv__endpoint *ep, const char *uri,
    const gkv_options *opts, const gkv_sync_options *sopts);
int gkv__pull_ep(gkv_oid *out, gkv_conflicts **conflicts, gkv_repo *repo, gkv__endpoint *ep,
    const char *remote_branch, const char *branch, gkv_pull_strategy strategy,
    const gkv_merge_options *mopts, const gkv_sync_options *opts);
int gkv__push_ep(gkv_repo *repo, gkv__endpoint *ep, const char *branch,
    const char *remote_branch, const gkv_sync_options *opts);

/* ---- store to store (transfer.c) ---- */

/**
 * Fetch from the gitkv store src into repo: the heads of branch (NULL:
 * every branch under refs/heads/), the objects repo lacks, and the ref
 * moves of refs_fn, in one batch of repo's backend. *out the heads.
 */
int gkv__store_fetch(gkv_fetch_result **out, gkv_repo *repo, gkv_repo *src,
    const char *branch, const gkv_sync_options *opts, gkv__refs_fn refs_fn,
    void *payload);

/**
 * Push head (a commit of repo) to refs/heads/remote_branch of dst: one
 * batch of dst's backend holding the objects dst lacks and a CAS of the
 * branch from what it was seen to be (GKV_E_NONFASTFORWARD when that is
 * not an ancestor of head and force is 0). *old gets what the branch was
 * (zero when absent).
 */
int gkv__store_push(gkv_oid *old, gkv_repo *repo, const gkv_oid *head, gkv_repo *dst,
    const char *remote_branch, const char *log_message, const gkv_sync_options *opts);

/* ---- git remotes through libgit2 (git_remote.c and friends) ---- */

/**
 * Fetch from the git remote at url (a URL or a path to a git
 * repository) into repo, as gkv__store_fetch does: negotiate from repo's
 * refs (so only what is new comes), receive the pack, check and re-hash
 * every object (gkv_object_check), write them in one batch of repo's
 * backend with the ref moves of refs_fn, and commit. Nothing is visible
 * in repo unless all of it is.
 */
int gkv__git_fetch(gkv_fetch_result **out, gkv_repo *repo, const char *url,
    const char *branch, const gkv_sync_options *opts, gkv__refs_fn refs_fn,
    void *payload);

/**
 * Push head (a commit of repo) to refs/heads/remote_branch at url,
 * sending only what the remote lacks. GKV_E_NONFASTFORWARD (nothing sent)
 * when the remote's branch is not an ancestor of head in repo (an
 * unknown remote head counts as not an ancestor) and force is 0;
 * GKV_E_CONFLICT with the remote's reason when the remote refuses the
 * update. *old gets what the branch was (zero when absent).
 */
int gkv__git_push(gkv_oid *old, gkv_repo *repo, const gkv_oid *head, const char *url,
    const char *remote_branch, const gkv_sync_options *opts);

#endif /* GKV_SYNC_INT_H */
