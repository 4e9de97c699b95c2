/*
 * blog.c -- opening, fetching and rebuilding the served blog (blog.h).
 *
 * The remote's branch is brought in with gkv_pull and GKV_PULL_RESET:
 * the local branch becomes whatever the remote has, as Canopy's hook
 * does (a force-push on the remote is followed too). Only then is the
 * next snapshot built, from the local head; if it cannot be built (the
 * new content lost its .config/uuid, say) the old one stays served.
 */
#include "blog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gitkv/sync.h>

static void log_msg(const char *what, const char *detail)
{
	fprintf(stderr, "canopy: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
}

snapshot *blog_current(blog *b)
{
	pthread_mutex_lock(&b->snap_lock);
	snapshot *s = snapshot_ref(b->current);
	pthread_mutex_unlock(&b->snap_lock);
	return s;
}

static void install(blog *b, snapshot *next)
{
	pthread_mutex_lock(&b->snap_lock);
	snapshot *old = b->current;
	b->current = next;
	pthread_mutex_unlock(&b->snap_lock);
	snapshot_unref(old);
}

/* Build the snapshot of head and swap it in (under update_lock). */
static int rebuild(blog *b, const gkv_oid *head, char *err, size_t errlen)
{
	snapshot *prev = blog_current(b);
	if (prev && gkv_oid_equal(&prev->commit, head)) {
		snapshot_unref(prev);
		return 0;
	}
	snapshot *next;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = site_build(&next, b->repo, head, &b->dates, prev, err, errlen);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	snapshot_unref(prev);
	if (rc < 0)
		return rc;
	char hex[41];
	gkv_oid_fmt(hex, head);
	fprintf(stderr,
		"canopy: serving %.12s: %zu articles, %zu skipped, %zu routes, %zu commits read, "
		"built in %.1f ms\n",
		hex, next->narticles, next->nskipped, next->routes.count, b->dates.last_walk,
		(double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	install(b, next);
	return 0;
}

static int pull(blog *b, gkv_oid *head, char *err, size_t errlen)
{
	int rc = gkv_pull(head, NULL, b->repo, b->args->remote, b->remote_branch, b->branch,
			  GKV_PULL_RESET, NULL, NULL);
	if (rc < 0)
		snprintf(err, errlen, "fetching %s: %s", b->args->remote, gkv_error_last());
	return rc;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

int blog_fetch(blog *b, char *err, size_t errlen)
{
	pthread_mutex_lock(&b->update_lock);
	gkv_oid head;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = pull(b, &head, err, errlen);
	if (rc == 0)
		fprintf(stderr, "canopy: fetched in %.1f ms\n", ms_since(&t0));
	if (rc == 0)
		rc = rebuild(b, &head, err, errlen);
	pthread_mutex_unlock(&b->update_lock);
	return rc;
}

int blog_refresh(blog *b, char *err, size_t errlen)
{
	pthread_mutex_lock(&b->update_lock);
	gkv_oid head;
	int rc = gkv_branch_head(&head, b->repo, b->branch);
	if (rc < 0)
		snprintf(err, errlen, "reading branch '%s': %s", b->branch, gkv_error_last());
	else
		rc = rebuild(b, &head, err, errlen);
	pthread_mutex_unlock(&b->update_lock);
	return rc;
}

/* A store that exists already (lmdb:, git:) is reused: only what is new
 * is fetched. Otherwise (and always for mem:) the remote is cloned. */
static int open_store(blog *b, int *cloned)
{
	const canopy_args *a = b->args;
	*cloned = 0;
	if (strcmp(a->store, "mem:") != 0) {
		int rc = gkv_repo_open(&b->repo, a->store, NULL);
		if (rc == 0) {
			gkv_strarray branches = {0};
			rc = gkv_branch_list(&branches, b->repo);
			size_t n = branches.count;
			gkv_strarray_dispose(&branches);
			if (rc == 0 && n > 0)
				return 0;
			gkv_repo_free(b->repo);
			b->repo = NULL;
		} else if (rc != GKV_E_NOTFOUND) {
			log_msg("cannot open the store", gkv_error_last());
			return -1;
		}
	}
	fprintf(stderr, "canopy: cloning %s into %s\n", a->remote, a->store);
	if (gkv_clone(&b->repo, a->remote, a->store, NULL, NULL) < 0) {
		log_msg("cannot clone the remote", gkv_error_last());
		return -1;
	}
	*cloned = 1;
	return 0;
}

int blog_open(blog *b, const canopy_args *args)
{
	memset(b, 0, sizeof(*b));
	b->args = args;
	pthread_mutex_init(&b->update_lock, NULL);
	pthread_mutex_init(&b->snap_lock, NULL);
	int cloned;
	if (open_store(b, &cloned) < 0)
		return -1;
	const char *branch = args->branch ? args->branch : gkv_repo_default_branch(b->repo);
	b->branch = strdup(branch);
	b->remote_branch = strdup(branch);
	if (!b->branch || !b->remote_branch) {
		log_msg("out of memory", NULL);
		return -1;
	}
	char err[512];
	gkv_oid head;
	int rc;
	if (!cloned) {
		/* A clone made every branch already; a reused store is brought
		 * up to the remote, or served as it is if that fails. */
		rc = pull(b, &head, err, sizeof(err));
		if (rc < 0) {
			if (cloned || gkv_branch_head(&head, b->repo, b->branch) < 0) {
				log_msg(err, NULL);
				return -1;
			}
			log_msg(err, "serving what the store holds");
		}
	} else if (gkv_branch_head(&head, b->repo, b->branch) < 0) {
		fprintf(stderr, "canopy: the remote has no branch '%s': %s\n", b->branch,
			gkv_error_last());
		return -1;
	}
	pthread_mutex_lock(&b->update_lock);
	rc = rebuild(b, &head, err, sizeof(err));
	pthread_mutex_unlock(&b->update_lock);
	if (rc < 0) {
		log_msg("cannot build the blog", err);
		return -1;
	}
	return 0;
}

void blog_close(blog *b)
{
	snapshot_unref(b->current);
	b->current = NULL;
	dates_free(&b->dates);
	gkv_repo_free(b->repo);
	b->repo = NULL;
	free(b->branch);
	free(b->remote_branch);
	b->branch = b->remote_branch = NULL;
	pthread_mutex_destroy(&b->update_lock);
	pthread_mutex_destroy(&b->snap_lock);
}
