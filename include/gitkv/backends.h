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

/**
 * Open a repo over a backend made by the caller, into *out (NULL on
 * failure; close with gkv_repo_free). The repo owns b from now on: it is
 * freed through b->free at gkv_repo_free, or at once when this fails --
 * except when out or b is NULL, where b stays the caller's. Of opts (may
 * be NULL) only read-only, the cache size and the author are used; the
 * backend was opened with its own flags.
 * Errors: GKV_E_INVALID (NULL out or b; b->version is not
 * GKV_BACKEND_VERSION), GKV_E_NOMEM, or any error of b->default_branch.
 */
GKV_EXTERN int gkv_repo_open_backend(gkv_repo **out, gkv_backend *b, const gkv_options *opts);

/**
 * A new, empty in-memory backend, into *out (hand it to
 * gkv_repo_open_backend). out must not be NULL (not checked).
 * Errors: GKV_E_NOMEM, GKV_E_ERROR (its lock could not be made).
 */
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
 * Open the LMDB environment in directory path (made if GKV_LMDB_CREATE
 * and not GKV_LMDB_READONLY), into *out (hand it to
 * gkv_repo_open_backend). The map grows by itself; a full disk is
 * GKV_E_FULL. Handles on one directory in one process share one
 * environment.
 * Errors: GKV_E_INVALID (NULL out, NULL or empty path, unknown flags,
 * path not a directory), GKV_E_NOTFOUND (no environment there and CREATE
 * not set), GKV_E_READONLY (this process has it open read-only and this
 * asks for writing), GKV_E_CORRUPT (not an LMDB environment, not one
 * gitkv made, or an unknown format version), GKV_E_FULL (creating it),
 * GKV_E_IO, GKV_E_NOMEM.
 */
GKV_EXTERN int gkv_backend_lmdb_open(gkv_backend **out, const char *path, unsigned int flags);

/**
 * 1 if path is a directory holding an LMDB environment made by gitkv,
 * else 0 (NULL included). Cannot fail; clears this thread's last error.
 */
GKV_EXTERN int gkv_backend_lmdb_detect(const char *path);

/**
 * Rewrite the LMDB store in directory path in the newest on-disk format,
 * 4 (trees in a database of their own, every record checksummed): what
 * a store made by an older build needs to get the faster listings. The
 * objects, refs, reflogs and settings stay exactly as they were; only
 * where records lie (and, from formats 1 and 2, their checksums)
 * changes. A store already at format 4 is left untouched. One LMDB write
 * transaction: interrupted or failed at any point, the store is as it
 * was, and running it again starts over. A store opened by the library
 * is never upgraded by itself; once upgraded, a build older than format
 * 4 refuses it. The format found goes to *from (may be NULL): 1-4.
 * Needs the store closed everywhere: a handle open in this process, or
 * another process that has the store open (seen through LMDB's reader
 * table), makes it fail, and a handle another process opens on the old
 * format meanwhile fails afterwards (GKV_E_CONFLICT) rather than read
 * the new layout wrongly. Formats 1 and 2 have every record checked
 * (an object must hash to its id) and rewritten, so the transaction is
 * as large as the store; format 3 moves the trees only.
 * Errors: GKV_E_INVALID (NULL or empty path, path not a directory),
 * GKV_E_NOTFOUND (no environment there), GKV_E_CORRUPT (not a gitkv
 * environment, an unknown format version, or a damaged record: nothing
 * is changed), GKV_E_CONFLICT (the store is open in this process or
 * another), GKV_E_FULL (no room for the rewritten records), GKV_E_IO
 * (e.g. the files are not writable), GKV_E_NOMEM.
 */
GKV_EXTERN int gkv_backend_lmdb_upgrade(int *from, const char *path);

enum {
	GKV_GIT_CREATE = 1 << 0,   /**< make a bare repository (default branch main) if none */
	GKV_GIT_READONLY = 1 << 1, /**< open read-only */
	GKV_GIT_FSYNC = 1 << 2     /**< fsync objects and refs as they are written */
};

/**
 * Open the git repository at path (bare, or a work tree's .git; the work
 * tree itself is never touched) through libgit2, into *out (NULL on
 * failure; hand it to gkv_repo_open_backend).
 * Errors: GKV_E_INVALID (NULL out, NULL or empty path, unknown flags;
 * creating where path is not a directory, or is a non-empty directory
 * holding no repository), GKV_E_NOTFOUND (no repository there and
 * GKV_GIT_CREATE not set, or GKV_GIT_READONLY set), GKV_E_CORRUPT (a
 * malformed core.sharedRepository), GKV_E_IO, GKV_E_FULL (creating it),
 * GKV_E_NOMEM, GKV_E_ERROR (libgit2 did not start).
 */
GKV_EXTERN int gkv_backend_git_open(gkv_backend **out, const char *path, unsigned int flags);

/**
 * 1 if path is a git repository (bare, or with a .git), else 0 (NULL
 * included). Cannot fail.
 */
GKV_EXTERN int gkv_backend_git_detect(const char *path);

#ifdef __cplusplus
}
#endif

#endif /* GITKV_BACKENDS_H */
