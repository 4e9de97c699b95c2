/*
 * registry.c -- store names to backends: "mem:", "lmdb:PATH", "git:PATH",
 * or a plain PATH whose kind is detected.
 *
 * One row of `kinds` per scheme: its name, whether it takes a path, how
 * to open it and how to recognise a plain path of its kind. A new scheme
 * is one row (and its open function); the order of the rows is the order
 * in which a plain path is tried. Rows reach a backend only through its
 * public constructor (gitkv/backends.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <sys/stat.h>

#include "repo.h"

typedef struct {
	const char *scheme; /* "lmdb" for "lmdb:PATH" */
	bool takes_path;    /* false: nothing may follow the colon */
	/* Make the backend for path (the text after "scheme:"), as opts say. */
	int (*open)(gkv_backend **out, const char *path, const gkv_options *opts);
	/* 1 if a plain path is a store of this kind; NULL: never detected. */
	int (*detect)(const char *path);
} store_kind;

static int open_mem(gkv_backend **out, const char *path, const gkv_options *opts)
{
	(void)path;
	(void)opts;
	return gkv_backend_mem_new(out);
}

static int open_lmdb(gkv_backend **out, const char *path, const gkv_options *opts)
{
	unsigned flags = 0;

	if (opts && opts->create && !opts->readonly)
		flags |= GKV_LMDB_CREATE;
	if (opts && opts->readonly)
		flags |= GKV_LMDB_READONLY;
	if (opts && (opts->durability == GKV_DURABILITY_NOSYNC ||
		     opts->durability == GKV_DURABILITY_NOSYNC_MAPPED))
		flags |= GKV_LMDB_NOSYNC;
	if (opts && opts->durability == GKV_DURABILITY_NOSYNC_MAPPED)
		flags |= GKV_LMDB_WRITEMAP;
	return gkv_backend_lmdb_open(out, path, flags);
}

static int open_git(gkv_backend **out, const char *path, const gkv_options *opts)
{
	unsigned flags = 0;

	if (opts && opts->create && !opts->readonly)
		flags |= GKV_GIT_CREATE;
	if (opts && opts->readonly)
		flags |= GKV_GIT_READONLY;
	if (opts && opts->durability_set && opts->durability == GKV_DURABILITY_FULL)
		flags |= GKV_GIT_FSYNC;
	return gkv_backend_git_open(out, path, flags);
}

static const store_kind kinds[] = {
	{"mem", false, open_mem, NULL},
	{"lmdb", true, open_lmdb, gkv_backend_lmdb_detect},
	{"git", true, open_git, gkv_backend_git_detect},
};

#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

/* "scheme:" prefixes: a word of letters before the first ':' (so that a
 * path holding a '/' or a digit before its first colon is a path). */
static int split_scheme(char *scheme, size_t cap, const char **rest, const char *uri)
{
	const char *colon = strchr(uri, ':');
	size_t n;

	if (!colon)
		return 0;
	n = (size_t)(colon - uri);
	if (n < 2 || n >= cap)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalpha((unsigned char)uri[i]))
			return 0;
	memcpy(scheme, uri, n);
	scheme[n] = '\0';
	*rest = colon + 1;
	return 1;
}

static int open_kind(gkv_repo **out, const store_kind *k, const char *path,
    const gkv_options *opts)
{
	gkv_backend *b;
	int rc;

	if ((rc = k->open(&b, path, opts)) < 0)
		return rc;
	return gkv_repo_open_backend(out, b, opts);
}

/* The error for an unknown scheme, listing the known ones. */
static int unknown_scheme(const char *uri, const char *scheme)
{
	char known[64] = "";
	size_t at = 0;

	for (size_t i = 0; i < NKINDS && at < sizeof(known); i++) {
		int n = snprintf(known + at, sizeof(known) - at, "%s%s:", i ? ", " : "",
		    kinds[i].scheme);

		if (n < 0)
			break;
		at += (size_t)n;
	}
	return gkv__error(GKV_E_INVALID, "invalid store '%s': unknown scheme '%s:' (%s)", uri,
	    scheme, known);
}

int gkv_repo_open(gkv_repo **out, const char *uri, const gkv_options *opts)
{
	char scheme[16];
	const char *rest;
	struct stat st;

	if (!out || !uri)
		return gkv__error(GKV_E_INVALID, "gkv_repo_open: NULL argument");
	*out = NULL;
	if (!*uri)
		return gkv__error(GKV_E_INVALID, "invalid store name '': empty");
	if (split_scheme(scheme, sizeof(scheme), &rest, uri)) {
		for (size_t i = 0; i < NKINDS; i++) {
			const store_kind *k = &kinds[i];

			if (strcmp(scheme, k->scheme) != 0)
				continue;
			if (!k->takes_path && *rest)
				return gkv__error(GKV_E_INVALID,
				    "invalid store '%s': %s: takes no path", uri, k->scheme);
			if (k->takes_path && !*rest)
				return gkv__error(GKV_E_INVALID, "invalid store '%s:': empty path",
				    k->scheme);
			return open_kind(out, k, rest, opts);
		}
		return unknown_scheme(uri, scheme);
	}
	/* A plain path: detect what is there. */
	for (size_t i = 0; i < NKINDS; i++)
		if (kinds[i].detect && kinds[i].detect(uri) == 1)
			return open_kind(out, &kinds[i], uri, opts);
	if (stat(uri, &st) != 0)
		return gkv__error(GKV_E_NOTFOUND, "store '%s' does not exist", uri);
	return gkv__error(GKV_E_INVALID, "'%s' is neither an LMDB store nor a git repository", uri);
}
