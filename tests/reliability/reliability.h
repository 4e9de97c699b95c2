/*
 * reliability.h -- what the reliability tests share: a scratch directory
 * removed at exit, a seeded random source, opening a store with a given
 * durability, the git CLI, and gitkv's own full read of a store (every
 * object reachable from every branch, re-hashed).
 *
 * The tests (test_storm.c, test_races.c, test_full_disk.c) fork children
 * that open their stores themselves, after the fork, as gitkv requires.
 */
#ifndef GKV_TESTS_RELIABILITY_H
#define GKV_TESTS_RELIABILITY_H

#include <stddef.h>
#include <stdint.h>

#include "gitkv.h"

/* The kinds of store the tests run on. DUR_UNSET leaves the backend's
 * default (git: no fsync; lmdb: FULL). */
#define DUR_UNSET (-1)

typedef struct rel_backend {
	const char *name;   /* as printed: "lmdb", "lmdb-nosync", "git", ... */
	const char *scheme; /* "lmdb" or "git" */
	int durability;	    /* a gkv_durability, or DUR_UNSET */
} rel_backend;

/* Make the scratch directory (prefix names it); its path. Removed at
 * exit by the process that made it, whatever the tests left in it. */
const char *rel_scratch(const char *prefix);

/* Remove a directory tree (no error if it is absent). */
void rel_rmtree(const char *path);

/* Seeded xorshift: the seed from the environment variable env (decimal),
 * else dflt. rel_rand returns the next number. */
uint64_t rel_seed(const char *env, uint64_t dflt);
uint64_t rel_rand(uint64_t *state);

/* A positive long from the environment variable env, else dflt. */
long rel_env_long(const char *env, long dflt);

/* "scheme:path" into uri. */
void rel_uri(char *uri, size_t cap, const rel_backend *b, const char *path);

/* Open b's store at path (create as asked): 0 or a GKV_E_* code. */
int rel_open(gkv_repo **out, const rel_backend *b, const char *path, int create);

/* Run a shell command built from fmt: its exit status (0 is success). */
int rel_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* What rel_check_store read. */
typedef struct rel_census {
	size_t branches, commits, trees, blobs;
} rel_census;

/*
 * gitkv's own full read of a store: for every branch, walk its history;
 * read every commit, every tree and every value reachable from it with
 * gkv_repo_object_read (which re-hashes the bytes) and check each has
 * the type its parent says; decode every tree (gkv_tree_lookup, listing,
 * entries) and check each value's size against its tree entry. Each
 * object is read once. 0, or the first error's code (the message names
 * the object, printed to stderr too).
 */
int rel_check_store(rel_census *out, gkv_repo *repo);

/* Seconds on the monotonic clock, for the figures printed (never
 * asserted on). */
double rel_now(void);

#endif
