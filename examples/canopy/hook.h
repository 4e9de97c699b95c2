/*
 * hook.h -- what keeps the blog up to date besides a request to the
 * hook: the webhook signature check, and the background thread that
 * fetches every --poll seconds and notices, through gitkv's watches,
 * a shared store (lmdb:, git:) changed by another process (kvctl).
 */
#ifndef CANOPY_HOOK_H
#define CANOPY_HOOK_H
#include <pthread.h>
#include <stddef.h>

#include "blog.h"

/*
 * Whether body was signed with secret: GitHub's header
 * "X-Hub-Signature-256: sha256=HEX" or Gitea's "X-Gitea-Signature: HEX",
 * HMAC-SHA256 of the body (either header may be NULL). Compared in
 * constant time. Returns 1 if one of them matches, else 0.
 */
int hook_signature_ok(const char *secret, const char *github, const char *gitea, const void *body,
		      size_t len);

typedef struct {
	blog *blog;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop; /* under lock */
	int running;
	int moved;		 /* set by the watch callback (atomic) */
	struct gkv_watch *watch; /* NULL when no store is watched */
} ticker;

/* Start the thread if --poll or a watch is wanted (a store other than
 * mem: with --watch above 0); else do nothing. Returns 0 or -1. */
int ticker_start(ticker *t, blog *b);
/* Stop and join the thread, free the watch. */
void ticker_stop(ticker *t);

#endif
