/*
 * reflog.h -- the log of branch moves as the core writes it: every move
 * of a branch carries who made it and why to the backend, in the batch
 * that moves it (reflog.c), so that the backend logs both together.
 * Internal to store/.
 */
#ifndef GKV_REFLOG_H
#define GKV_REFLOG_H

#include "repo.h"

/*
 * Tell batch who moves ref (full name) and why: who, or the repo's
 * identity dated now when NULL; message, cut to its first line. Call
 * after the batch_ref_cas of ref. Nothing to do (0) for a backend that
 * keeps no log. Errors: those of the repo's identity, GKV_E_NOMEM.
 */
int gkv__reflog_add(gkv_batch *batch, gkv_repo *repo, const char *ref, const gkv_signature *who,
    const char *message);

/*
 * "<prefix>: <subject>", where subject is the first line of a commit's
 * message, into out (cut to cap bytes): the message of a commit's move,
 * "commit: <subject>" as git writes it.
 */
void gkv__reflog_subject(char *out, size_t cap, const char *prefix, const char *message);

/*
 * Move branch name from expected to new_head (NULL: absent on either
 * side) by compare-and-swap, logged with message under the repo's
 * identity, and tell the watches. Errors as gkv_branch_cas.
 */
int gkv__branch_move(gkv_repo *repo, const char *name, const gkv_oid *expected,
    const gkv_oid *new_head, const char *message);

#endif
