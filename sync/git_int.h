/*
 * git_int.h -- what the parts of the git transport share (git_remote.c,
 * git_odb.c, git_refdb.c, git_pack.c, git_creds.c).
 *
 * A gitkv store is shown to libgit2 as an in-memory repository
 * (git_repository_new) whose object database and reference database are
 * custom backends reading the store through the seam: libgit2 then
 * negotiates from the store's refs and reads what it packs for a push
 * from the store, and no git repository exists on disk. A fetched pack
 * reaches the odb backend's writepack, which indexes it in a private
 * temporary directory; git_pack.c then checks every object of it and
 * writes them into one batch of the store.
 */
#ifndef GKV_SYNC_GIT_INT_H
#define GKV_SYNC_GIT_INT_H

#include "libgit2.h"

#include "sync_int.h"

/* One git operation (a fetch or a push) and what its callbacks learnt. */
typedef struct {
	gkv_repo *repo;
	gkv_backend *kb;
	const gkv_sync_options *opts;
	char *url_shown;      /* the URL without a password: for messages */

	/* writepack: the directory the pack is indexed in, and the .idx of
	 * the pack once the indexer committed it */
	char *tmpdir;
	char *idx_path;
	uint64_t pack_objects;   /* objects the pack held, as received */
	uint64_t pack_local;     /* bases of a thin pack added from the store */
	uint64_t pack_bytes;

	/* what went wrong inside a callback, kept because libgit2 replaces
	 * the message with its own */
	int err;                 /* a GKV_E_* code, or 0 */
	char errmsg[512];
	int auth_attempts;

	/* push */
	char *push_refname;      /* the ref the refdb presents for the head */
	gkv_oid push_head;
	char *rejected_ref;
	char *rejected_msg;

	gkv_sync_progress progress;
} gkv__wire_op;

/* Remember err (a GKV_E_* code) and this thread's message, unless an
 * error is already remembered; returns err. */
int gkv__wire_op_fail(gkv__wire_op *op, int err);

/* The odb backend over op's store (git_odb.c). */
int gkv__wire_odb_backend(git_odb_backend **out, gkv__wire_op *op);
/* The refdb backend over op's store's refs (git_refdb.c); with
 * op->push_refname set, that ref also names op->push_head. */
int gkv__wire_refdb_backend(git_refdb_backend **out, gkv__wire_op *op);

/* Remove op's temporary directory and everything in it. */
void gkv__wire_tmpdir_remove(gkv__wire_op *op);

/*
 * Check every object of the pack at op->idx_path (re-hash it, and
 * gkv_object_check it), and write it into batch; check that everything
 * the pack's objects name is in the pack or the store, and that each of
 * the n ids need is. *stored gets the number of objects written.
 */
int gkv__wire_pack_store(uint64_t *stored, gkv__wire_op *op, gkv_batch *batch,
    const gkv_oid *need, size_t n);

/* Fill callbacks with op's credentials, certificate check and progress. */
void gkv__wire_callbacks(git_remote_callbacks *cb, gkv__wire_op *op);

/* After libgit2 failed with code: the GKV_E_* error for it (message
 * set, naming op's URL), what op's callbacks remembered first. */
int gkv__wire_error(gkv__wire_op *op, int code, const char *what);

/* url without a password ("https://u:p@h/" -> "https://u@h/"); malloc'd. */
char *gkv__wire_url_shown(const char *url);

/* gkv and libgit2 object types */
static inline git_object_t gkv__wire_type(gkv_otype t)
{
	return (git_object_t)t; /* both use git's pack numbers: 1..4 */
}

#endif /* GKV_SYNC_GIT_INT_H */
