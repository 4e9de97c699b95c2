/*
 * store.h -- what store.c shares with txn.c: reading a view's head and
 * committing a tree on it by compare-and-swap.
 */
#ifndef GKV_STORE_H
#define GKV_STORE_H

#include "repo.h"

struct gkv_store {
	gkv_repo *repo;
	char *branch; /* NULL for a commit view */
	char *ref;    /* refs/heads/<branch> */
	int has_head; /* commit view: whether head is set */
	gkv_oid head;
	/* The head last read from the ref, and the version of the refs it
	 * was read from: while refs_version stays there, the head has not
	 * moved. */
	int head_known;
	uint64_t head_version;
	int known_has;
	gkv_oid known_head;
	/* The tree of the head last read, reused while the head stays. */
	int cached;
	gkv_oid cached_head;
	gkv_tree *cached_tree;
};

struct gkv_info {
	char *message;
	gkv_signature *author;
	gkv_signature *committer;
};

/* The view's head: *has = 0 when the branch has no commit yet. */
int gkv__store_read_head(int *has, gkv_oid *head, gkv_store *s);
/* The tree of a head (the empty tree when !has); a new reference. */
int gkv__store_head_tree(gkv_tree **out, gkv_store *s, int has, const gkv_oid *head);
/*
 * Commit tree on the view with parent head (when has), moving the head
 * by CAS from it. GKV_E_CONFLICT if the head moved. out gets the commit.
 */
int gkv__store_commit(gkv_oid *out, gkv_store *s, int has, const gkv_oid *head,
    gkv_tree *tree, gkv_tree *base, const gkv_info *info, const char *default_msg);
/* gkv__store_commit's answer when tree turned out equal to base: no commit. */
#define GKV__UNCHANGED 1
/* The view's head is now commit, whose tree is tree (reused by the next read or write). */
void gkv__store_remember(gkv_store *s, const gkv_oid *commit, gkv_tree *tree);
/* Pause before retry number attempt (grows, randomised). */
void gkv__backoff(unsigned attempt);

/* Attempts of a write whose head keeps moving; with the backoff (up to
 * 2 ms) a write gives up after a few seconds, e.g. on a lock file that a
 * crashed git left behind. */
#define GKV_MAX_RETRIES 1000

/* GKV_E_CONFLICT "<what>: gave up after N attempts: <the last conflict's message>". */
int gkv__gave_up(const char *what);

#endif
