/*
 * merge.h -- internal: the merge machinery shared by merge.c and txn.c.
 */
#ifndef GKV_MERGE_H
#define GKV_MERGE_H

#include "repo.h"

typedef enum {
	GKV__MERGE_UP_TO_DATE = 1, /* theirs is already in ours */
	GKV__MERGE_FAST_FORWARD,   /* ours is in theirs: move to theirs */
	GKV__MERGE_COMMIT          /* a merge commit of tree is needed */
} gkv__merge_kind;

typedef struct {
	gkv__merge_kind kind;
	gkv_tree *tree; /* GKV__MERGE_COMMIT: the merged tree (a reference) */
} gkv__merge_result;

/*
 * Three-way merge of trees (base may be NULL). ours_wins: which side
 * last-writer-wins picks. drop: leave conflicting paths out instead of
 * failing (for virtual bases).
 */
int gkv__merge_trees(gkv_tree **out, gkv_conflicts **conflicts, gkv_tree *base, gkv_tree *ours,
    gkv_tree *theirs, const gkv_merge_options *opts, int ours_wins, int drop);

/* What merging commit theirs into ours takes (nothing is written). */
int gkv__merge_plan(gkv__merge_result *res, gkv_conflicts **conflicts, gkv_repo *repo,
    const gkv_oid *ours, const gkv_oid *theirs, const gkv_merge_options *opts);

int gkv__merge_options_dup(gkv_merge_options **out, const gkv_merge_options *opts);

#endif
