/*
 * env.h -- the LMDB environment as the lmdb backend (lmdb.c) sees it: one
 * open MDB_env per directory per process, shared by handles (env.c keeps
 * the registry), with read transactions from a pool, write transactions
 * that grow the map and retry, and LMDB errors turned into GKV_E_* codes
 * that name the path. Internal to backends/lmdb.
 */
#ifndef GKV_LMDB_ENV_H
#define GKV_LMDB_ENV_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#include <lmdb.h>

#include "../backend_util.h"

#define GKV_LMDB_POOL_MAX 16
/* The format a new environment is made as, and what an upgrade reaches. */
#define GKV_LMDB_FORMAT_LATEST 4

/* One open environment, shared by every handle of this process on it. */
typedef struct lenv {
	struct lenv *next;
	dev_t dev;
	ino_t ino;
	pid_t pid;
	size_t nhandles; /* guarded by registry_lock */
	char *path;
	MDB_env *env;
	MDB_dbi objects, refs, meta;
	/* Format 2 keeps commits in a database of their own, so that a
	 * history's commits share few pages; format 1 has them in objects
	 * (commits is then unused). Fixed at open. */
	MDB_dbi commits;
	bool split_commits;
	/* Format 4 keeps trees in "trees" likewise, so that the trees of a
	 * head share pages instead of lying one to a page among the blobs.
	 * Fixed at open. */
	MDB_dbi trees;
	bool split_trees;
	/* The version opened (1-4; 0 until the open has read it). A handle
	 * keeps the layout it opened with; check_view (env.c) refuses a
	 * transaction once the store has been upgraded under it.
	 * view_txnid: the last read transaction that found the version
	 * unchanged (atomic). */
	int format;
	uint64_t view_txnid;
	/* Being upgraded (gkv_backend_lmdb_upgrade): no other handle of
	 * this process may share it meanwhile. Guarded by registry_lock. */
	bool upgrading;
	/* Format 3 ends every record (objects, commits, refs) with a CRC-32
	 * (lmdb.c); formats 1 and 2 have none. Fixed at open. */
	bool checksums;
	/* "reflog", the log of ref moves (lmdb.c): made by every writable
	 * open, so present in any store written since it existed; a store
	 * opened read-only that lacks it has empty logs (has_reflog false). */
	MDB_dbi reflog;
	bool has_reflog;
	/* "config", the store's settings (lmdb.c): made by the first write
	 * of a setting, so absent from older stores (settings then empty).
	 * Opened late (gkv__lmdb_config_dbi) if another handle made it;
	 * has_config and config are read and set with __atomic builtins,
	 * set only under dbi_lock, which also keeps two transactions of the
	 * process from opening databases at once (LMDB forbids it). */
	MDB_dbi config;
	bool has_config;
	pthread_mutex_t dbi_lock;
	bool rdonly; /* opened MDB_RDONLY */
	bool nolock; /* read-only without lock.mdb (MDB_NOLOCK): see env.c */
	bool nosync;
	bool writemap;	/* opened MDB_WRITEMAP (fixed for the env's life) */
	size_t mapsize; /* guarded by map_lock */
	/* writemap: bytes of data.mdb known to be allocated (guarded by
	 * map_lock); no write transaction begins while reserved < mapsize. */
	size_t reserved;
	pthread_rwlock_t map_lock; /* read: a txn is active; write: remapping */
	pthread_mutex_t pool_lock;
	MDB_txn *pool[GKV_LMDB_POOL_MAX]; /* reset read txns ready for renew */
	size_t npool;
	unsigned int mflags;  /* what mdb_env_open was given, for a reopen */
	int maxkeysize;	      /* LMDB's, read once: e->env may be replaced */
	unsigned int psize;   /* LMDB's page size */
	uint64_t file_ok;     /* data.mdb is known to hold this many bytes (atomic) */
	/* gitkv's writer lock (env.c): write_mutex between the threads of
	 * this process, an exclusive flock on lock_fd (data.mdb, opened by
	 * us) between processes. -1 when read-only. */
	pthread_mutex_t write_mutex;
	int lock_fd;
} lenv;

/* Our own codes are small negatives; LMDB's are near -30800, errno's positive. */
static inline bool gkv__lmdb_is_gkv_code(int rc)
{
	return rc < 0 && rc >= GKV_ITEROVER;
}

/*
 * Find or open the shared environment for path (GKV_LMDB_* flags), one
 * more handle on it; GKV_E_NOTFOUND, GKV_E_CORRUPT (not ours, or an
 * unknown format), GKV_E_READONLY (open read-only here), GKV_E_IO, ...
 */
int gkv__lmdb_env_get(lenv **out, const char *path, unsigned int flags);
/* One handle fewer; the last closes the environment. */
void gkv__lmdb_env_put(lenv *e);
/*
 * The environment at path, writable, for this caller alone: GKV_E_CONFLICT
 * if this process has it open already; until gkv__lmdb_env_put, no other
 * handle of this process can open it (GKV_E_CONFLICT). Errors otherwise
 * as gkv__lmdb_env_get's (the environment must exist).
 */
int gkv__lmdb_env_get_alone(lenv **out, const char *path);

/*
 * Does a record of vlen bytes under an id leave its leaf page for pages of
 * its own (LMDB's overflow pages)? LMDB keeps a node in its leaf while
 * header (8 bytes), key and value come to less than about half a page.
 */
static inline bool gkv__lmdb_overflows(const lenv *e, size_t vlen)
{
	size_t nodemax = (((e->psize - 16) / 2) & ~(size_t)1) - 2;

	return 8 + GKV_OID_RAWSZ + vlen >= nodemax;
}

/* The order of the databases keyed by object id (LMDB's default order). */
int gkv__lmdb_oid_key_cmp(const MDB_val *a, const MDB_val *b);

/* A read transaction (map_lock held until gkv__lmdb_rtxn_end). */
int gkv__lmdb_rtxn_begin(MDB_txn **out, lenv *e);
void gkv__lmdb_rtxn_end(lenv *e, MDB_txn *txn);
/* The id of the last transaction committed to the environment, by any
 * process; never behind the id of a read transaction begun before. */
int gkv__lmdb_last_txnid(uint64_t *out, lenv *e);

/* The body of a write transaction: 0, a GKV_E_* code (message set), or an
 * LMDB/errno code; anything but 0 aborts the transaction. */
typedef int (*gkv__lmdb_wtxn_fn)(MDB_txn *txn, lenv *e, void *ctx);
/* Run fn in a write transaction and commit it, growing the map and
 * retrying on MDB_MAP_FULL / MDB_MAP_RESIZED. what names the operation. */
int gkv__lmdb_with_wtxn(lenv *e, gkv__lmdb_wtxn_fn fn, void *ctx, const char *what);
/* fn with the writer lock held, for several write transactions in a row,
 * each run by gkv__lmdb_with_wtxn_held (never gkv__lmdb_with_wtxn, which
 * would wait for the lock fn holds). */
int gkv__lmdb_writer_run(lenv *e, int (*fn)(lenv *e, void *ctx), void *ctx);
int gkv__lmdb_with_wtxn_held(lenv *e, gkv__lmdb_wtxn_fn fn, void *ctx, const char *what);
/* Unmap the pages of data.mdb this process touched (they stay cached);
 * _held inside a transaction, whose map_lock keeps the map in place. */
void gkv__lmdb_release_map(lenv *e);
void gkv__lmdb_release_map_held(lenv *e);
/* Grow the map ahead of a write of about estimate bytes, if it is large. */
int gkv__lmdb_reserve_map(lenv *e, size_t estimate);

/*
 * The "config" database, if the environment has it: 1 and its handle in
 * *out; 0 if it has none (yet); or an error. A database made since this
 * process opened the environment (by another process) is opened here,
 * once. Call with no transaction of the caller's open.
 */
int gkv__lmdb_config_dbi(MDB_dbi *out, lenv *e);
/* Take and release dbi_lock around a write transaction that makes the
 * "config" database, then publish its handle (after the commit). */
void gkv__lmdb_dbi_lock(lenv *e);
void gkv__lmdb_dbi_unlock(lenv *e);
void gkv__lmdb_config_publish(lenv *e, MDB_dbi dbi);

/* Turn an LMDB or errno code into a GKV_E_* code, naming path. */
int gkv__lmdb_error(const char *path, int rc, const char *what);

#endif
