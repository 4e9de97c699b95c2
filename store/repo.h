/*
 * repo.h -- internal view of a repo: the backend, the options in force,
 * the tree cache and the watch registry. Every core file that needs more
 * than the public API includes this.
 */
#ifndef GKV_REPO_H
#define GKV_REPO_H

#include <pthread.h>

#include "common.h"
#include "codec.h"
#include "slab.h"
#include "tree_cache.h"

struct gkv_options {
	int create;
	int readonly;
	gkv_durability durability;
	int durability_set; /* set explicitly (else each backend's default) */
	char *author_name;
	char *author_email;
	size_t cache_size;
	uint64_t max_value; /* 0: no cap */
};

typedef struct gkv__watch_state gkv__watch_state;

struct gkv_repo {
	gkv_backend *backend;
	/* The default branch's name: loaded and swapped with __atomic
	 * builtins, since gkv_repo_set_default_branch (config.c) may change
	 * it while other threads read it. A replaced name is kept in
	 * old_branches until the repo is freed: gkv_repo_default_branch
	 * promises its pointer lives as long as the repo. */
	char *default_branch;
	char **old_branches;
	size_t nold_branches;
	pthread_mutex_t default_lock; /* serialises the changes of the name */
	int readonly;
	char *author_name; /* complete once ident_ready: gkv__repo_identity */
	char *author_email;
	int ident_ready;
	pthread_mutex_t ident_lock;
	gkv__cache cache;
	gkv__slab slab; /* the memory of its trees (slab.h) */
	pthread_mutex_t hash_lock; /* serialises the memoising of ids in shared trees */
	gkv__watch_state *watches;
	uint64_t max_value; /* the largest value a whole read hands over; 0: any */
};

/* identity.c: the author of commits made without one. _init takes what the
 * options and the environment say, at open; gkv__repo_identity completes
 * it once (git's configuration, the defaults) and gives it, the strings
 * owned by repo. */
int gkv__repo_identity_init(gkv_repo *repo, const gkv_options *opts);
int gkv__repo_identity(const char **name, const char **email, gkv_repo *repo);

/* odb.c: objects through the backend. */
int gkv__odb_read(void **data, size_t *len, gkv_otype *type, gkv_repo *repo, const gkv_oid *id);
/* Read an object that must be of type want: GKV_E_INVALID naming it otherwise. */
int gkv__odb_read_typed(void **data, size_t *len, gkv_repo *repo, const gkv_oid *id,
    gkv_otype want);
/* The size of a blob, from the backend's read_header (without reading it)
 * or, lacking one, by reading it. */
int gkv__odb_blob_size(uint64_t *size, gkv_repo *repo, const gkv_oid *id);
/* Stream a blob through cb in pieces, in bounded memory where the backend
 * streams (else read whole, then handed over in pieces). */
int gkv__odb_blob_stream(gkv_repo *repo, const gkv_oid *id, gkv_read_cb cb, void *payload);
/* Hand len bytes at data to cb in pieces of at most 64 KiB (one call for
 * nothing when len is 0); cb's first non-zero return. */
int gkv__odb_pieces(const void *data, size_t len, gkv_read_cb cb, void *payload);

/* tree.c */
int gkv__tree_load(gkv_tree **out, gkv_repo *repo, const gkv_oid *id);
/* A tree that the store names (an entry, a commit's root) failed to load
 * as GKV_E_NOTFOUND or GKV_E_INVALID: that is damage. Raises
 * GKV_E_CORRUPT saying what named it (by) and why, and returns it. (A
 * caller's own wrong id stays NOTFOUND / INVALID: gkv_tree_lookup.) */
int gkv__tree_named_damage(const char *by);
/* The tree node's repo. */
gkv_repo *gkv__tree_repo(const gkv_tree *t);
/* Write every object of tree (values and dirty subtrees) into batch; id
 * in out. With keep, the trees written are also recorded there, for
 * gkv__tree_cache_written once the batch has landed. */
int gkv__tree_write_batch(gkv_oid *out, gkv_tree *tree, gkv_batch *batch, gkv__sbuf *keep);
/* Drop the trees they replaced from the cache, then put the trees
 * recorded in keep (clean nodes, as if read) in; keep is left empty. */
void gkv__tree_cache_written(gkv_repo *repo, gkv__sbuf *keep);
/* Release what keep still holds and keep itself. */
void gkv__tree_keep_dispose(gkv__sbuf *keep);
/* Once that batch landed: never write those nodes again. */
void gkv__tree_mark_stored(gkv_tree *t);
/* In-place variants for trees owned by one transaction (see tree.c). */
int gkv__tree_set_owned(gkv_tree **root, const char *path, const void *value, size_t len);
int gkv__tree_remove_owned(gkv_tree **root, const char *path);
int gkv__tree_set_tree_owned(gkv_tree **root, const char *path, gkv_tree *sub);
gkv_tree *gkv__tree_ref(gkv_tree *t);
void gkv__tree_unref(gkv_tree *t);
/* Fetch a value's bytes from an entry id (blob). */
int gkv__blob_read(gkv_buf *out, gkv_repo *repo, const gkv_oid *id);

/* commit.c */
int gkv__commit_tree(gkv_tree **out, gkv_repo *repo, const gkv_oid *commit);
/* Serialize, hash and add a commit to batch. */
int gkv__commit_write_batch(gkv_oid *out, gkv_batch *batch, const gkv_oid *tree,
    const gkv_oid *parents, size_t nparents, const gkv_signature *author,
    const gkv_signature *committer, const char *message);
/* The repo's default signature, dated now. */
int gkv__default_signature(gkv_signature **out, gkv_repo *repo);

/* branch.c */
int gkv__branch_read(gkv_oid *out, gkv_repo *repo, const char *name);
int gkv__check_writable(gkv_repo *repo);

/* config.c: the default branch a backend without a default_branch slot
 * names, from config key "gitkv.defaultbranch", else "main", into *out
 * (from gkv_backend_data_alloc). */
int gkv__config_default_branch(char **out, gkv_repo *repo);

/* watch.c */
int gkv__watch_init(gkv_repo *repo);
void gkv__watch_free_all(gkv_repo *repo);
/* Tell watchers a branch moved (old/new NULL for absent). */
void gkv__watch_notify(gkv_repo *repo, const char *branch, const gkv_oid *old,
    const gkv_oid *new_head);

/* Internal helper to format an oid for messages (static buffer per thread). */
const char *gkv__hex(const gkv_oid *id);

#endif
