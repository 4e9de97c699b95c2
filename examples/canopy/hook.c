/*
 * hook.c -- webhook signatures and the poll/watch thread (hook.h).
 *
 * The thread sleeps on a condition variable so that ticker_stop wakes it
 * at once. Each tick it asks gkv_repo_watch_poll whether a head moved
 * behind this process's back (the watch callback raises a flag), and
 * when --poll is due it fetches the remote. Both then go through the
 * blog's update lock, like the hook, so updates never overlap.
 */
#include "hook.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int matches(const unsigned char *mac, unsigned maclen, const char *hex)
{
	unsigned char given[EVP_MAX_MD_SIZE];
	if (!hex || strlen(hex) != 2 * (size_t)maclen)
		return 0;
	for (unsigned i = 0; i < maclen; i++) {
		int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return 0;
		given[i] = (unsigned char)(hi << 4 | lo);
	}
	return CRYPTO_memcmp(given, mac, maclen) == 0;
}

int hook_signature_ok(const char *secret, const char *github, const char *gitea, const void *body,
		      size_t len)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned maclen = 0;
	if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), body, len, mac, &maclen))
		return 0;
	if (github && strncmp(github, "sha256=", 7) == 0 && matches(mac, maclen, github + 7))
		return 1;
	return matches(mac, maclen, gitea);
}

static void on_move(const char *branch, const gkv_oid *old, const gkv_oid *new_head, void *payload)
{
	ticker *t = payload;
	__atomic_store_n(&t->moved, 1, __ATOMIC_RELEASE);
}

static void *run(void *arg)
{
	ticker *t = arg;
	const canopy_args *a = t->blog->args;
	unsigned step_ms = t->watch ? a->watch_ms : a->poll * 1000;
	if (t->watch && a->poll && a->poll * 1000 < step_ms)
		step_ms = a->poll * 1000;
	struct timespec next_poll;
	clock_gettime(CLOCK_MONOTONIC, &next_poll);
	next_poll.tv_sec += a->poll;
	pthread_mutex_lock(&t->lock);
	while (!t->stop) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += step_ms / 1000;
		until.tv_nsec += (long)(step_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		int rc = 0;
		while (!t->stop && rc != ETIMEDOUT)
			rc = pthread_cond_timedwait(&t->cond, &t->lock, &until);
		if (t->stop)
			break;
		pthread_mutex_unlock(&t->lock);
		char err[512];
		if (t->watch) {
			size_t changed = 0;
			if (gkv_repo_watch_poll(&changed, t->blog->repo) < 0)
				fprintf(stderr, "canopy: watching the store: %s\n",
					gkv_error_last());
			if (__atomic_exchange_n(&t->moved, 0, __ATOMIC_ACQ_REL) &&
			    blog_refresh(t->blog, err, sizeof(err)) < 0)
				fprintf(stderr, "canopy: keeping the old content: %s\n", err);
		}
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (a->poll && now.tv_sec >= next_poll.tv_sec) {
			if (blog_fetch(t->blog, err, sizeof(err)) < 0)
				fprintf(stderr, "canopy: poll: keeping the old content: %s\n", err);
			clock_gettime(CLOCK_MONOTONIC, &next_poll);
			next_poll.tv_sec += a->poll;
		}
		pthread_mutex_lock(&t->lock);
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

int ticker_start(ticker *t, blog *b)
{
	memset(t, 0, sizeof(*t));
	t->blog = b;
	const canopy_args *a = b->args;
	int watch = a->watch_ms > 0 && strcmp(gkv_repo_backend_name(b->repo), "mem") != 0;
	if (!watch && !a->poll)
		return 0;
	if (watch && gkv_watch_branch(&t->watch, b->repo, b->branch, on_move, t) < 0) {
		fprintf(stderr, "canopy: cannot watch branch '%s': %s\n", b->branch,
			gkv_error_last());
		return -1;
	}
	pthread_mutex_init(&t->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_cond_init(&t->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&t->thread, NULL, run, t) != 0) {
		fprintf(stderr, "canopy: cannot start the update thread\n");
		gkv_watch_free(t->watch);
		t->watch = NULL;
		pthread_cond_destroy(&t->cond);
		pthread_mutex_destroy(&t->lock);
		return -1;
	}
	t->running = 1;
	return 0;
}

void ticker_stop(ticker *t)
{
	if (t->running) {
		pthread_mutex_lock(&t->lock);
		t->stop = 1;
		pthread_cond_signal(&t->cond);
		pthread_mutex_unlock(&t->lock);
		pthread_join(t->thread, NULL);
		pthread_cond_destroy(&t->cond);
		pthread_mutex_destroy(&t->lock);
		t->running = 0;
	}
	gkv_watch_free(t->watch);
	t->watch = NULL;
}
