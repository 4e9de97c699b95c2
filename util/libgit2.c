/*
 * libgit2.c -- loading libgit2 on first use (see libgit2.h).
 *
 * The library is opened by its soname, the one gitkv was built against
 * (GKV_LIBGIT2_SONAME, from the build), so that the ABI is the one the
 * headers describe. A program that links libgit2 itself (an application,
 * the tests) gets the copy already in the process: dlopen() of a loaded
 * soname returns it, and the two share libgit2's global state, as they
 * would if gitkv linked it.
 */
#define GKV__GIT2_IMPL
#include "libgit2.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef GKV_LIBGIT2_SONAME
#error "GKV_LIBGIT2_SONAME is set by the build (meson.build)"
#endif

gkv__git2_table gkv__git2_t;
atomic_bool gkv__git2_loaded;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char why[512];

static void load(void)
{
	gkv__git2_table t;
	const char *err;
	void *h, *sym;

	dlerror();
	if (!(h = dlopen(GKV_LIBGIT2_SONAME, RTLD_NOW | RTLD_LOCAL))) {
		err = dlerror();
		snprintf(why, sizeof(why), "cannot load %s: %s", GKV_LIBGIT2_SONAME,
			 err ? err : "unknown error");
		return;
	}
#define GKV__GIT2_FILL(f)                                                                   \
	if (!(sym = dlsym(h, #f))) {                                                        \
		snprintf(why, sizeof(why), "%s has no function %s", GKV_LIBGIT2_SONAME, #f); \
		return;                                                                     \
	}                                                                                   \
	memcpy(&t.f, &sym, sizeof(sym));
	GKV__GIT2_FUNCS(GKV__GIT2_FILL)
#undef GKV__GIT2_FILL
	/* the handle stays open for the life of the process, as a linked
	 * library would */
	gkv__git2_t = t;
	atomic_store_explicit(&gkv__git2_loaded, true, memory_order_release);
}

int gkv__git2_load(void)
{
	pthread_once(&load_once, load);
	return atomic_load_explicit(&gkv__git2_loaded, memory_order_acquire) ? 0 : -1;
}

const char *gkv__git2_why(void)
{
	return gkv__git2_load() == 0 ? "" : why;
}

const gkv__git2_table *gkv__git2_need(void)
{
	if (gkv__git2_load() < 0) {
		fprintf(stderr, "gitkv: libgit2 used before git_libgit2_init(): %s\n", why);
		abort();
	}
	return &gkv__git2_t;
}

int gkv__git2_init(void)
{
	if (gkv__git2_load() < 0)
		return -1;
	return gkv__git2_t.git_libgit2_init();
}
