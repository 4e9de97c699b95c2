/*
 * blog.h -- the blog being served: its store, the branch it follows,
 * and the current snapshot of its pages.
 *
 * Readers (the HTTP threads) take the current snapshot with
 * blog_current and never wait for an update; updates (the hook, the
 * poll, the watch) run one at a time, build the next snapshot beside the
 * current one and swap it in only when it is whole.
 */
#ifndef CANOPY_BLOG_H
#define CANOPY_BLOG_H
#include <pthread.h>

#include <gitkv.h>

#include "args.h"
#include "dates.h"
#include "site.h"

typedef struct {
	const canopy_args *args;
	gkv_repo *repo;
	char *branch;	     /* the local branch served */
	char *remote_branch; /* the remote's branch it follows */
	dates dates;	     /* under update_lock */
	pthread_mutex_t update_lock;
	pthread_mutex_t snap_lock;
	snapshot *current; /* under snap_lock */
} blog;

/*
 * Open the store (cloning the remote into it when it is new or "mem:"),
 * bring its branch to the remote's (a store that exists is fetched, and
 * served as it is if the remote cannot be reached), and build every page.
 * Returns 0, or -1 with the reason printed on stderr (no .config/uuid,
 * a remote that cannot be cloned, ...).
 */
int blog_open(blog *b, const canopy_args *args);
void blog_close(blog *b);
/* The current snapshot (a reference: snapshot_unref it). */
snapshot *blog_current(blog *b);
/*
 * Fetch the remote and replace the local branch with the remote's, then
 * rebuild what changed. On failure the served content stays as it was;
 * err says why. Returns 0 or a GKV_E_ code.
 */
int blog_fetch(blog *b, char *err, size_t errlen);
/* Rebuild from the local branch if its head moved (another process
 * wrote to a shared store). Returns 0 or a GKV_E_ code, err set. */
int blog_refresh(blog *b, char *err, size_t errlen);

#endif
