/*
 * gitkv/backends.h -- the built-in backends, and opening a repo over any
 * backend. For users who choose a backend by hand rather than by a store
 * name (gkv_repo_open's "mem:", "lmdb:PATH", "git:PATH"), or who bring a
 * backend of their own (written against gitkv/sys/backend.h).
 *
 * A gkv_backend is opaque here. A constructor gives the caller a backend
 * that nothing else owns yet: hand it to gkv_repo_open_backend, which owns
 * it from then on (a backend is used by one repo, and closed with it).
 */
#ifndef GITKV_BACKENDS_H
#define GITKV_BACKENDS_H

#include "../gitkv.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A storage backend: objects and refs (see gitkv/sys/backend.h). */
typedef struct gkv_backend gkv_backend;

/** Open a repo over a backend made by the caller; the repo owns b from now on
 * (it is freed even when this fails). */
GKV_EXTERN int gkv_repo_open_backend(gkv_repo **out, gkv_backend *b, const gkv_options *opts);

/** A new, empty in-memory backend. */
GKV_EXTERN int gkv_backend_mem_new(gkv_backend **out);

enum {
	GKV_LMDB_CREATE = 1 << 0,   /**< make the environment if it does not exist */
	GKV_LMDB_READONLY = 1 << 1, /**< open read-only */
	GKV_LMDB_NOSYNC = 1 << 2,   /**< do not fsync at commit */
	/**
	 * Write through a writable memory map (MDB_WRITEMAP): fewer system
	 * calls per commit. The whole map is allocated on disk, not sparse,
	 * so a full disk is GKV_E_FULL when the map grows, never SIGBUS; a
	 * stray pointer write by the application into the map can corrupt
	 * the store. A property of the environment as this process first
	 * opened it: a later handle asking otherwise shares it as it is.
	 */
	GKV_LMDB_WRITEMAP = 1 << 3
};

/**
 * Open the LMDB environment in directory path (made if GKV_LMDB_CREATE).
 * GKV_E_NOTFOUND if it does not exist and CREATE is not set. The map
 * grows by itself; a full disk is GKV_E_FULL.
 */
GKV_EXTERN int gkv_backend_lmdb_open(gkv_backend **out, const char *path, unsigned int flags);

/** 1 if path is a directory holding an LMDB environment made by gitkv. */
GKV_EXTERN int gkv_backend_lmdb_detect(const char *path);

enum {
	GKV_GIT_CREATE = 1 << 0,   /**< make a bare repository (default branch main) if none */
	GKV_GIT_READONLY = 1 << 1, /**< open read-only */
	GKV_GIT_FSYNC = 1 << 2     /**< fsync objects and refs as they are written */
};

/**
 * Open the git repository at path (bare, or a work tree's .git; the work
 * tree itself is never touched) through libgit2. GKV_E_NOTFOUND if there
 * is none and GKV_GIT_CREATE is not set.
 */
GKV_EXTERN int gkv_backend_git_open(gkv_backend **out, const char *path, unsigned int flags);

/** 1 if path is a git repository (bare, or with a .git). */
GKV_EXTERN int gkv_backend_git_detect(const char *path);

#ifdef __cplusplus
}
#endif

#endif /* GITKV_BACKENDS_H */
