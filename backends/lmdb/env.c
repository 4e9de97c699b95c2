/*
 * env.c -- LMDB environments for the lmdb backend: opening (and, for a
 * new one, formatting) an environment, sharing it between the handles of
 * a process, transactions, map growth, errors, and detection.
 *
 * One MDB_env per environment per process: LMDB's locks are per process
 * (closing a second MDB_env on the same files would drop the first one's
 * locks), so handles opened on the same directory share one env through a
 * process-wide registry -- the one piece of global state here, forced by
 * LMDB. Entries are keyed by device, inode and pid, so that a forked child
 * never reuses its parent's env.
 *
 * Growth: the user never sets a size. The map starts at DEFAULT_MAPSIZE
 * (virtual and sparse; GKV_LMDB_INITIAL_MAPSIZE overrides it, in bytes
 * with an optional k/m/g suffix, mainly for tests) and doubles on
 * MDB_MAP_FULL, after which the transaction is retried; a large batch
 * grows the map beforehand instead of failing and redoing. LMDB only lets
 * the map change while no transaction of this process is active, so every
 * transaction holds map_lock for reading and a resize takes it for
 * writing. MDB_MAP_RESIZED (another process grew the map) adopts the
 * size recorded in the file.
 *
 * Writable map (GKV_LMDB_WRITEMAP, opt-in): LMDB then writes pages
 * through a shared writable mmap instead of pwrite (fewer system calls
 * per commit), and ftruncates data.mdb to the map size -- sparse. A page
 * dirtied over a hole needs a block right then; on a full disk the kernel
 * has no way to say ENOSPC to a store instruction and raises SIGBUS. So
 * the rule here: the map's whole size is allocated (posix_fallocate)
 * before any write transaction of this process can touch it -- at open,
 * in grow_map before remapping, and after adopting another process's size
 * -- and e->reserved records how much is. A write transaction begins only
 * while reserved >= mapsize; otherwise the reservation is retried and, if
 * it fails again (ENOSPC, EDQUOT, EFBIG from RLIMIT_FSIZE), the write is
 * GKV_E_FULL. A failed grow leaves the old, reserved map in place; reads
 * never need a reservation (a hole reads as zeros). The map starts at
 * WRITEMAP_MAPSIZE rather than 256 MiB so that a small store does not take
 * 256 MiB of disk. LMDB truncates the file to the map size whenever it
 * maps, which would cut off pages another process (with a larger map)
 * has written; so a writable map is never set below the file's size.
 * What stays possible: that cut, if another process extends the file
 * between our fstat and LMDB's ftruncate (it needs a map over twice ours
 * and a commit in flight at that instant), and a stray pointer write by
 * the application landing in the map -- why the mode is opt-in.
 *
 * Reads use read-only transactions, MDB_NOTLS so that any thread may use
 * any of them, recycled through a small pool with mdb_txn_reset/renew
 * (beginning a fresh one costs a reader-slot search).
 *
 * The "meta" database holds "magic" = "gitkv-lmdb" and "version", one
 * ASCII digit: detect() looks for the magic; open() reads versions 1 to
 * 4 and refuses any other. A new environment is made as version 4.
 *   1  databases meta, objects, refs: every object in "objects".
 *   2  the same plus "commits", made with the environment: commit objects
 *      go there, every other type stays in "objects" (lmdb.c). A walk
 *      of a history then reads a few dense pages instead of one page
 *      per commit scattered among the trees and blobs -- and a page
 *      first touched by a process costs far more than the lookup.
 *   3  the same databases; every record (object or ref) ends with a
 *      CRC-32C (lmdb.c), so that a damaged byte is GKV_E_CORRUPT rather
 *      than a wrong value.
 *   4  the same plus "trees", made with the environment: tree objects go
 *      there as commits go to "commits", so that the trees of a head lie
 *      on pages of their own rather than one to a page among the blobs.
 * An environment stays the version it was made as -- version 1 with its
 * commits in "objects", versions 1 and 2 without checksums (their records
 * are read unchecked) -- until gkv_backend_lmdb_upgrade (upgrade.c)
 * rewrites it as version 4, which a build older than version 4 refuses.
 * Never at open. A handle opened before an upgrade keeps the old layout
 * in mind: check_view refuses its transactions from then on (a clear
 * GKV_E_CONFLICT, never a read of the wrong database or a record read
 * without its checksum).
 *
 * Truncation: a data.mdb cut below the last page LMDB uses would fault
 * (SIGBUS) at the first read of a missing page. So the file's size is
 * checked against the newest meta page's last page (check_extent) at
 * open, before any page is read, and by every transaction that would
 * see a larger last page than the size last checked; a short file is
 * GKV_E_CORRUPT. A writable map is checked before LMDB maps it, since
 * LMDB extends the file to the map size as it maps.
 *
 * The writer lock. LMDB's writer mutex and its reader table live in
 * lock.mdb. If that file is deleted while the store is in use, a process
 * opening the store afterwards makes a new one, and two writers can run
 * at once; worse, LMDB takes the id of the last transaction from the
 * lock file, so a process whose lock file is out of date builds its
 * commit on an old meta page and loses every commit made since. gitkv
 * does not rely on lock.mdb for writers: every write transaction runs
 * under write_mutex (threads of this process: flock is per open file
 * description, which they share) and an exclusive flock() on lock_fd,
 * gitkv's own descriptor of data.mdb (processes), taken before
 * mdb_txn_begin and released after the commit or abort. Under that lock
 * no gitkv writer of any process is active, so the newest meta page is
 * the truth: a write transaction whose id is not the newest meta's + 1
 * comes from an out-of-date lock file. It is aborted, the environment is
 * reopened (joining the lock.mdb now in the directory) and, if that file
 * is out of date too, reopened on a fresh lock.mdb, which LMDB fills in
 * from the meta pages. What a vanished lock.mdb still costs: readers
 * registered in the old file are invisible to writers using the new one,
 * which may then reuse pages such a reader is on; with formats 3 and 4 a record
 * read from a reused page fails its checksum (GKV_E_CORRUPT) instead of
 * being returned, and a reused B-tree page may trip one of LMDB's
 * assertions, which abort the process (nothing committed is lost). Read transactions of a process that never writes keep
 * their lock file and its view until the process reopens the store.
 *
 * Read-only without lock.mdb: a read-only open that cannot open lock.mdb
 * for writing (another user's store, a read-only mount) opens with
 * MDB_NOLOCK. Its readers are then in no reader table: a writer of
 * another process may reuse the pages a long read is on, so such a read
 * can fail (GKV_E_CORRUPT) or, on a format 1 or 2 store, return bytes of
 * a later write. Short reads of a store nobody writes are safe.
 */
#define _GNU_SOURCE /* pthread_rwlockattr_setkind_np */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "env.h"

#define FORMAT_MAGIC "gitkv-lmdb"
#define FORMAT_VERSION "4"   /* what a new environment is made as */
#define FORMAT_VERSION_3 "3" /* trees among the blobs: still read and written */
#define FORMAT_VERSION_2 "2" /* no checksums: still read and written */
#define FORMAT_VERSION_1 "1" /* no commits database: still read and written */
/* Named databases a handle may open: meta, objects, refs, commits,
 * trees, reflog, config, and room for a later format's (LMDB counts the
 * handles, not the file's). */
#define MAX_DBS 8
#define DEFAULT_MAPSIZE ((size_t)256 << 20)
#define WRITEMAP_MAPSIZE ((size_t)32 << 20) /* allocated on disk: start small */
#define MIN_MAPSIZE ((size_t)64 << 10)
#define MAX_READERS 1022
#define MAX_ATTEMPTS 64
#define FULL_MARGIN ((uint64_t)64 << 20)
#define MAX_REOPENS 3

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static lenv *registry;

/* ---- errors ---- */

int gkv__lmdb_error(const char *path, int rc, const char *what)
{
	int code = GKV_E_IO;

	switch (rc) {
	case ENOSPC:
	case EFBIG:
	case EDQUOT:
		return gkv_error_set(GKV_E_FULL, "lmdb '%s': %s: disk full (%s)", path, what,
				     mdb_strerror(rc));
	case MDB_MAP_FULL:
		code = GKV_E_FULL;
		break;
	case ENOMEM:
		code = GKV_E_NOMEM;
		break;
	case MDB_NOTFOUND:
		code = GKV_E_NOTFOUND;
		break;
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH:
	case MDB_INCOMPATIBLE:
		code = GKV_E_CORRUPT;
		break;
	case MDB_BAD_VALSIZE:
		code = GKV_E_INVALID;
		break;
	}
	return gkv_error_set(code, "lmdb '%s': %s: %s", path, what, mdb_strerror(rc));
}

/*
 * LMDB reports a short write as EIO ("filesystem full?"): a write cut
 * short by a full disk, a quota or the file-size limit. Tell those from a
 * real I/O error by looking at the room left.
 */
static bool short_of_room(const char *path)
{
	struct statvfs vfs;
	struct rlimit lim;
	struct stat st;
	char data[4096];

	if (statvfs(path, &vfs) == 0 && (uint64_t)vfs.f_bavail * vfs.f_frsize < FULL_MARGIN)
		return true;
	if (getrlimit(RLIMIT_FSIZE, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY)
		return false;
	snprintf(data, sizeof(data), "%s/data.mdb", path);
	return stat(data, &st) == 0 && (uint64_t)st.st_size + FULL_MARGIN / 64 >= lim.rlim_cur;
}

static int write_error(const char *path, int rc, const char *what)
{
	if (rc == EIO && short_of_room(path))
		return gkv_error_set(GKV_E_FULL, "lmdb '%s': %s: disk full (short write)", path,
				     what);
	return gkv__lmdb_error(path, rc, what);
}

/* ---- map size ---- */

/*
 * wtxn_attempt's answer when the writable map is not (yet) allocated on
 * disk: far from our codes (small negatives), LMDB's (near -30790) and
 * errno's (positive).
 */
#define MAP_UNRESERVED (-30500)
/* wtxn_attempt's answer when this process's lock.mdb is out of date. */
#define LOCK_STALE (-30501)

static size_t initial_mapsize(bool writemap)
{
	size_t dflt = writemap ? WRITEMAP_MAPSIZE : DEFAULT_MAPSIZE;
	const char *s = getenv("GKV_LMDB_INITIAL_MAPSIZE");
	unsigned long long v;
	char *end;

	if (!s || !*s)
		return dflt;
	v = strtoull(s, &end, 10);
	if (*end == 'k' || *end == 'K')
		v <<= 10;
	else if (*end == 'm' || *end == 'M')
		v <<= 20;
	else if (*end == 'g' || *end == 'G')
		v <<= 30;
	if (v < MIN_MAPSIZE || v > SIZE_MAX / 4)
		return v < MIN_MAPSIZE ? MIN_MAPSIZE : dflt;
	return (size_t)(v + 4095) / 4096 * 4096;
}

static void refresh_mapsize(lenv *e)
{
	MDB_envinfo info;

	if (mdb_env_info(e->env, &info) == 0)
		e->mapsize = info.me_mapsize;
}

/* Round a file size up to whole 4 KiB pages (LMDB's map is in pages). */
static size_t page_round(uint64_t n)
{
	return (size_t)((n + 4095) / 4096 * 4096);
}

/* The size of data.mdb, rounded up to pages: a writable map is never set
 * below it, since LMDB truncates the file to the map (0 if unknown). */
static size_t file_floor(lenv *e)
{
	struct stat st;
	int fd;

	if (mdb_env_get_fd(e->env, &fd) != 0 || fstat(fd, &st) != 0)
		return 0;
	return page_round((uint64_t)st.st_size);
}

/*
 * Does data.mdb hold every page the newest meta page uses? 0, or
 * GKV_E_CORRUPT: reading a page past the end of the file would fault.
 * The newest meta is never behind a transaction's, and pages are written
 * before the meta that uses them, so a file that passes covers every
 * transaction begun before. e->file_ok remembers the size seen, so the
 * file is looked at only when the last page moves past it (it only
 * grows).
 */
static int check_extent(lenv *e)
{
	MDB_envinfo info;
	struct stat st;
	uint64_t end;
	int fd;

	if (mdb_env_info(e->env, &info) != 0)
		return 0;
	end = ((uint64_t)info.me_last_pgno + 1) * e->psize;
	if (end <= __atomic_load_n(&e->file_ok, __ATOMIC_RELAXED))
		return 0;
	if (mdb_env_get_fd(e->env, &fd) != 0 || fstat(fd, &st) != 0)
		return gkv_error_set(GKV_E_IO, "lmdb '%s': cannot read data.mdb's size: %s",
				     e->path, strerror(errno));
	if ((uint64_t)st.st_size < end)
		return gkv_error_set(GKV_E_CORRUPT,
				     "lmdb '%s': data.mdb is truncated: %llu bytes, the last page "
				     "ends at %llu",
				     e->path, (unsigned long long)st.st_size,
				     (unsigned long long)end);
	__atomic_store_n(&e->file_ok, (uint64_t)st.st_size, __ATOMIC_RELAXED);
	return 0;
}

/*
 * Allocate data.mdb's blocks up to size (a writable map's whole size):
 * 0 or an errno (ENOSPC, EDQUOT, EFBIG, ...). On success, e->reserved
 * grows to size. The caller holds map_lock for writing, or has the env
 * to itself. posix_fallocate keeps whatever a failed call allocated:
 * the next growth uses it, and truncating it away could race with
 * another process's writes.
 */
static int reserve_blocks(lenv *e, size_t size)
{
	int fd, rc;

	if (size <= e->reserved)
		return 0;
	if ((rc = mdb_env_get_fd(e->env, &fd)) != 0)
		return rc;
	do
		rc = posix_fallocate(fd, 0, (off_t)size);
	while (rc == EINTR);
	if (rc == 0)
		e->reserved = size;
	return rc;
}

static int reserve_error(lenv *e, int rc, size_t size)
{
	char what[96];

	snprintf(what, sizeof(what), "cannot reserve %zu bytes of disk for the writable map", size);
	return gkv__lmdb_error(e->path, rc, what);
}

/* Allocate the current map, if it is not yet; map_lock held for writing. */
static int reserve_current(lenv *e)
{
	int rc;

	if (!e->writemap || e->reserved >= e->mapsize)
		return 0;
	if ((rc = reserve_blocks(e, e->mapsize)) != 0)
		return reserve_error(e, rc, e->mapsize);
	return 0;
}

/* A write found the map unallocated: try again, GKV_E_FULL if no room. */
static int reserve_again(lenv *e)
{
	int rc;

	pthread_rwlock_wrlock(&e->map_lock);
	rc = reserve_current(e);
	pthread_rwlock_unlock(&e->map_lock);
	return rc;
}

/*
 * Another process grew the map past ours: take the size it recorded (0),
 * or through a writable map the file's size, which covers every page
 * committed and is never cut (LMDB rounds it up to the data if need be).
 * Then allocate it; if that fails, writes wait (reads need no blocks).
 */
static void adopt_mapsize(lenv *e)
{
	pthread_rwlock_wrlock(&e->map_lock);
	mdb_env_set_mapsize(e->env, e->writemap ? file_floor(e) : 0);
	refresh_mapsize(e);
	if (reserve_current(e) < 0)
		gkv_error_clear(); /* said again by the write that needs it */
	pthread_rwlock_unlock(&e->map_lock);
}

/*
 * Grow the map to at least need bytes (doubling), unless another thread
 * already grew it past `seen`, the size the failed attempt ran with.
 */
static int grow_map(lenv *e, size_t seen, size_t need)
{
	size_t old, size;
	int rc = 0;

	pthread_rwlock_wrlock(&e->map_lock);
	old = size = e->mapsize;
	if (size > seen && size >= need)
		goto out;
	while (size < need && size <= SIZE_MAX / 2)
		size *= 2;
	if (size < need) {
		rc = gkv_error_set(GKV_E_FULL, "lmdb '%s': the map cannot grow past %zu bytes",
				   e->path, old);
		goto out;
	}
	/* Writable map: allocate first, so that a full disk leaves the old
	 * (allocated) map as it was, and LMDB's ftruncate to the new size
	 * then has nothing left to fail on (a failed one would leave its
	 * env half remapped); never map less than the file holds. */
	if (e->writemap) {
		size_t floor = file_floor(e);

		if (size < floor)
			size = floor;
		if ((rc = reserve_blocks(e, size)) != 0) {
			rc = reserve_error(e, rc, size);
			goto out;
		}
	}
	if ((rc = mdb_env_set_mapsize(e->env, size)) != 0) {
		/* The old mapping is gone: map the old size again. */
		mdb_env_set_mapsize(e->env, old);
		rc = gkv_error_set(GKV_E_FULL, "lmdb '%s': cannot grow the map to %zu bytes: %s",
				   e->path, size, mdb_strerror(rc));
	}
	refresh_mapsize(e);
	if (rc == 0)
		rc = reserve_current(e); /* if LMDB rounded the size up */
out:
	pthread_rwlock_unlock(&e->map_lock);
	return rc;
}

/* A batch this large would be costly to redo after MDB_MAP_FULL: make
 * room before starting it. Small ones just retry. */
int gkv__lmdb_reserve_map(lenv *e, size_t estimate)
{
	MDB_envinfo info;
	MDB_stat st;
	size_t used, mapsize;

	pthread_rwlock_rdlock(&e->map_lock);
	mdb_env_info(e->env, &info);
	mdb_env_stat(e->env, &st);
	mapsize = e->mapsize;
	pthread_rwlock_unlock(&e->map_lock);
	if (estimate < mapsize / 8)
		return 0;
	used = (info.me_last_pgno + 1) * (size_t)st.ms_psize;
	if (used + estimate <= mapsize)
		return 0;
	return grow_map(e, mapsize, used + estimate);
}
/* ---- transactions ---- */

static int check_view(lenv *e, MDB_txn *txn);

/* A failed reopen (reopen_env) left the handle without an environment. */
static int env_lost(const lenv *e)
{
	return gkv_error_set(GKV_E_IO, "lmdb '%s': the environment could not be reopened", e->path);
}

int gkv__lmdb_rtxn_begin(MDB_txn **out, lenv *e)
{
	for (int attempt = 0;; attempt++) {
		MDB_txn *txn = NULL;
		int rc;

		pthread_rwlock_rdlock(&e->map_lock);
		if (!e->env) {
			pthread_rwlock_unlock(&e->map_lock);
			return env_lost(e);
		}
		pthread_mutex_lock(&e->pool_lock);
		if (e->npool)
			txn = e->pool[--e->npool];
		pthread_mutex_unlock(&e->pool_lock);
		if (txn && (rc = mdb_txn_renew(txn)) != 0)
			mdb_txn_abort(txn);
		else if (!txn)
			rc = mdb_txn_begin(e->env, NULL, MDB_RDONLY, &txn);
		if (rc == 0 && ((rc = check_extent(e)) < 0 || (rc = check_view(e, txn)) != 0)) {
			mdb_txn_abort(txn);
			pthread_rwlock_unlock(&e->map_lock);
			return gkv__lmdb_is_gkv_code(rc)
				   ? rc
				   : gkv__lmdb_error(e->path, rc, "cannot begin a read");
		}
		if (rc == 0) {
			*out = txn; /* map_lock stays held until rtxn_end */
			return 0;
		}
		pthread_rwlock_unlock(&e->map_lock);
		if (rc != MDB_MAP_RESIZED || attempt == MAX_ATTEMPTS)
			return gkv__lmdb_error(e->path, rc, "cannot begin a read");
		adopt_mapsize(e);
	}
}

void gkv__lmdb_rtxn_end(lenv *e, MDB_txn *txn)
{
	mdb_txn_reset(txn);
	pthread_mutex_lock(&e->pool_lock);
	if (e->npool < GKV_LMDB_POOL_MAX) {
		e->pool[e->npool++] = txn;
		txn = NULL;
	}
	pthread_mutex_unlock(&e->pool_lock);
	if (txn)
		mdb_txn_abort(txn);
	pthread_rwlock_unlock(&e->map_lock);
}

int gkv__lmdb_last_txnid(uint64_t *out, lenv *e)
{
	MDB_envinfo info;
	int rc;

	pthread_rwlock_rdlock(&e->map_lock);
	rc = mdb_env_info(e->env, &info);
	pthread_rwlock_unlock(&e->map_lock);
	if (rc != 0)
		return gkv__lmdb_error(e->path, rc, "cannot read the environment's state");
	*out = info.me_last_txnid;
	return 0;
}

/*
 * Does txn come from an out-of-date lock.mdb? Only under the writer lock,
 * where no gitkv writer is committing: the newest meta page is then the
 * last commit, and a fresh write transaction's id is one more.
 */
static bool lock_is_stale(lenv *e, MDB_txn *txn)
{
	MDB_envinfo info;

	return mdb_env_info(e->env, &info) == 0 && mdb_txn_id(txn) != info.me_last_txnid + 1;
}

static int wtxn_attempt(lenv *e, gkv__lmdb_wtxn_fn fn, void *ctx, size_t *seen)
{
	MDB_txn *txn;
	int rc;

	pthread_rwlock_rdlock(&e->map_lock);
	*seen = e->mapsize;
	if (!e->env) {
		pthread_rwlock_unlock(&e->map_lock);
		return env_lost(e);
	}
	if (e->writemap && e->reserved < e->mapsize) {
		pthread_rwlock_unlock(&e->map_lock);
		return MAP_UNRESERVED; /* a write now could SIGBUS on a full disk */
	}
	rc = mdb_txn_begin(e->env, NULL, 0, &txn);
	if (rc == 0 && ((rc = check_extent(e)) < 0 || lock_is_stale(e, txn))) {
		mdb_txn_abort(txn);
		rc = rc < 0 ? rc : LOCK_STALE;
	} else if (rc == 0 && (rc = check_view(e, txn)) != 0) {
		mdb_txn_abort(txn);
	} else if (rc == 0) {
		rc = fn(txn, e, ctx);
		if (rc == 0)
			rc = mdb_txn_commit(txn); /* aborts by itself on failure */
		else
			mdb_txn_abort(txn);
	}
	pthread_rwlock_unlock(&e->map_lock);
	return rc;
}

/* Take gitkv's writer lock (see the top of this file). */
static int writer_lock(lenv *e)
{
	int rc;

	pthread_mutex_lock(&e->write_mutex);
	do
		rc = flock(e->lock_fd, LOCK_EX);
	while (rc != 0 && errno == EINTR);
	if (rc != 0) {
		rc = gkv_error_set(GKV_E_IO, "lmdb '%s': cannot lock data.mdb: %s", e->path,
				   strerror(errno));
		pthread_mutex_unlock(&e->write_mutex);
	}
	return rc;
}

static void writer_unlock(lenv *e)
{
	flock(e->lock_fd, LOCK_UN);
	pthread_mutex_unlock(&e->write_mutex);
}

static int reopen_env(lenv *e, bool fresh_lock);

static int with_wtxn_locked(lenv *e, gkv__lmdb_wtxn_fn fn, void *ctx, const char *what)
{
	int reopens = 0;

	for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
		size_t seen;
		int rc = wtxn_attempt(e, fn, ctx, &seen);

		if (rc == 0 || gkv__lmdb_is_gkv_code(rc))
			return rc;
		if (rc == LOCK_STALE) {
			/* First join the lock.mdb in the directory; if that
			 * one is out of date too, make a fresh one. */
			if (reopens == MAX_REOPENS)
				return gkv_error_set(GKV_E_IO,
						     "lmdb '%s': %s: lock.mdb stays out of date",
						     e->path, what);
			if ((rc = reopen_env(e, reopens++ > 0)) < 0)
				return rc;
		} else if (rc == MDB_MAP_RESIZED) {
			adopt_mapsize(e);
		} else if (rc == MAP_UNRESERVED) {
			if ((rc = reserve_again(e)) < 0)
				return rc;
		} else if (rc == MDB_MAP_FULL) {
			if ((rc = grow_map(e, seen, seen + 1)) < 0)
				return rc;
		} else {
			return write_error(e->path, rc, what);
		}
	}
	return gkv_error_set(GKV_E_FULL, "lmdb '%s': %s: the map kept filling up", e->path, what);
}

/* Run fn in a write transaction and commit it, growing the map as needed,
 * under the writer lock. */
int gkv__lmdb_with_wtxn(lenv *e, gkv__lmdb_wtxn_fn fn, void *ctx, const char *what)
{
	int rc;

	if (e->lock_fd < 0)
		return gkv_error_set(GKV_E_READONLY, "lmdb '%s' is open read-only", e->path);
	if ((rc = writer_lock(e)) < 0)
		return rc;
	rc = with_wtxn_locked(e, fn, ctx, what);
	writer_unlock(e);
	return rc;
}
/*
 * fn, with the writer lock held throughout: its write transactions
 * (gkv__lmdb_with_wtxn_held) follow one another with no other writer's,
 * of this process or another, between them. How a large batch stores
 * its records in several transactions and moves its refs last, with no
 * gc able to remove what it stored before its refs name it.
 */
int gkv__lmdb_writer_run(lenv *e, int (*fn)(lenv *e, void *ctx), void *ctx)
{
	int rc;

	if (e->lock_fd < 0)
		return gkv_error_set(GKV_E_READONLY, "lmdb '%s' is open read-only", e->path);
	if ((rc = writer_lock(e)) < 0)
		return rc;
	rc = fn(e, ctx);
	writer_unlock(e);
	return rc;
}

int gkv__lmdb_with_wtxn_held(lenv *e, gkv__lmdb_wtxn_fn fn, void *ctx, const char *what)
{
	return with_wtxn_locked(e, fn, ctx, what);
}

/*
 * Let go of the pages of data.mdb this process has mapped: they stay in
 * the page cache, and a read maps them again. LMDB reads pages through
 * the map, so a long run of writes at many keys (a large batch) would
 * otherwise keep every page it looked at counted in the process's RSS.
 * The map is the file's, shared and read-only here: dropping it loses
 * nothing, even under readers of other threads. Not with MDB_WRITEMAP,
 * whose map LMDB writes through.
 */
void gkv__lmdb_release_map_held(lenv *e)
{
	char line[PATH_MAX + 128];
	struct stat st;
	FILE *f;

	/* LMDB says where its map is only when it is fixed (MDB_FIXEDMAP),
	 * so it is found among the process's maps by data.mdb's inode
	 * (lock_fd is data.mdb, opened by us) */
	if (e->writemap || e->lock_fd < 0 || fstat(e->lock_fd, &st) != 0 ||
	    !(f = fopen("/proc/self/maps", "re")))
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi, ino;
		unsigned int maj, min;

		if (sscanf(line, "%lx-%lx %*s %*s %x:%x %lu", &lo, &hi, &maj, &min, &ino) == 5 &&
		    ino == (unsigned long)st.st_ino && makedev(maj, min) == st.st_dev && hi > lo)
			(void)madvise((void *)lo, hi - lo, MADV_DONTNEED);
	}
	fclose(f);
}

void gkv__lmdb_release_map(lenv *e)
{
	pthread_rwlock_rdlock(&e->map_lock); /* the map stays where it is */
	gkv__lmdb_release_map_held(e);
	pthread_rwlock_unlock(&e->map_lock);
}

/* ---- opening ---- */

static int read_meta(MDB_txn *txn, MDB_dbi meta, const char *key, MDB_val *v)
{
	MDB_val k = {strlen(key), (void *)key};

	return mdb_get(txn, meta, &k, v);
}

static bool meta_is(const MDB_val *v, const char *s)
{
	return v->mv_size == strlen(s) && memcmp(v->mv_data, s, v->mv_size) == 0;
}

/* The format read from meta, 1-4, or 0 for any other value. */
static int format_of(const MDB_val *v)
{
	if (meta_is(v, FORMAT_VERSION))
		return 4;
	if (meta_is(v, FORMAT_VERSION_3))
		return 3;
	if (meta_is(v, FORMAT_VERSION_2))
		return 2;
	if (meta_is(v, FORMAT_VERSION_1))
		return 1;
	return 0;
}

static int upgraded_under(const lenv *e)
{
	return gkv_error_set(GKV_E_CONFLICT,
			     "lmdb '%s' was upgraded to another format since this process opened "
			     "it (format %d): close the store and open it again",
			     e->path, e->format);
}

/*
 * Is the store still the format e opened? Formats before the latest may
 * be upgraded by another process (gkv_backend_lmdb_upgrade refuses while
 * others have the store open, but one that opens it meanwhile, or holds
 * no slot in the reader table, is not seen). A handle of the old layout
 * would then miss trees or read records without their checksums, so each
 * of its transactions looks at the version first -- a read only when a
 * write has committed since the last look. 0, GKV_E_CONFLICT, or an LMDB
 * code.
 */
static int check_view(lenv *e, MDB_txn *txn)
{
	uint64_t id = mdb_txn_id(txn);
	MDB_val v;
	int rc;

	if (e->format == 0 || e->format == GKV_LMDB_FORMAT_LATEST ||
	    id == __atomic_load_n(&e->view_txnid, __ATOMIC_ACQUIRE))
		return 0;
	if ((rc = read_meta(txn, e->meta, "version", &v)) != 0 && rc != MDB_NOTFOUND)
		return rc;
	if (rc != 0 || format_of(&v) != e->format)
		return upgraded_under(e);
	__atomic_store_n(&e->view_txnid, id, __ATOMIC_RELEASE);
	return 0;
}

static int check_format(MDB_txn *txn, lenv *e)
{
	MDB_val v;
	int format;
	int rc = read_meta(txn, e->meta, "magic", &v);

	if (rc == MDB_NOTFOUND || (rc == 0 && !meta_is(&v, FORMAT_MAGIC)))
		return gkv_error_set(GKV_E_CORRUPT,
				     "lmdb '%s' is not a gitkv environment (bad magic)", e->path);
	if (rc == 0)
		rc = read_meta(txn, e->meta, "version", &v);
	if (rc == MDB_NOTFOUND)
		return gkv_error_set(GKV_E_CORRUPT, "lmdb '%s': no format version", e->path);
	if (rc != 0)
		return rc;
	if ((format = format_of(&v)) == 0)
		return gkv_error_set(GKV_E_CORRUPT,
				     "lmdb '%s': unknown format version '%.*s' (this build reads "
				     "versions " FORMAT_VERSION_1 ", " FORMAT_VERSION_2
				     ", " FORMAT_VERSION_3 " and " FORMAT_VERSION ")",
				     e->path, (int)(v.mv_size > 16 ? 16 : v.mv_size),
				     (const char *)v.mv_data);
	/* A reopen (reopen_env) of a store upgraded meanwhile. */
	if (e->format != 0 && format != e->format)
		return upgraded_under(e);
	e->format = format;
	e->split_commits = format >= 2;
	e->checksums = format >= 3;
	e->split_trees = format >= 4;
	return 0;
}

static int write_meta(MDB_txn *txn, lenv *e)
{
	MDB_val k = {5, "magic"}, v = {strlen(FORMAT_MAGIC), FORMAT_MAGIC};
	int rc = mdb_put(txn, e->meta, &k, &v, 0);

	k.mv_size = 7;
	k.mv_data = "version";
	v.mv_size = strlen(FORMAT_VERSION);
	v.mv_data = FORMAT_VERSION;
	return rc ? rc : mdb_put(txn, e->meta, &k, &v, 0);
}

/* Is the main database empty (a brand-new environment)? */
static int env_is_empty(MDB_txn *txn)
{
	MDB_dbi main_dbi;
	MDB_stat st;

	if (mdb_dbi_open(txn, NULL, 0, &main_dbi) != 0 || mdb_stat(txn, main_dbi, &st) != 0)
		return 0;
	return st.ms_entries == 0;
}

typedef struct {
	bool create;
} init_args;

/*
 * The order of the objects and commits databases: LMDB's default (bytes, then length),
 * computed faster. Keys are ids, random bytes, so the first 8 bytes, read
 * as one big-endian word, nearly always decide; the default calls memcmp
 * for every one of the ~17 comparisons of a lookup. The order is exactly
 * the default's, so files stay readable by any LMDB program (mdb_dump,
 * another process) that uses the default.
 */
int gkv__lmdb_oid_key_cmp(const MDB_val *a, const MDB_val *b)
{
	size_t n = a->mv_size < b->mv_size ? a->mv_size : b->mv_size;
	int r;

	if (n >= 8) {
		uint64_t x, y;

		memcpy(&x, a->mv_data, 8);
		memcpy(&y, b->mv_data, 8);
		if (x != y) {
			x = __builtin_bswap64(x);
			y = __builtin_bswap64(y);
			return x < y ? -1 : 1;
		}
	}
	if ((r = memcmp(a->mv_data, b->mv_data, n)) != 0)
		return r;
	return a->mv_size < b->mv_size ? -1 : a->mv_size > b->mv_size;
}

/*
 * The log of ref moves came after the formats: a store of any format
 * gets it at its first writable open (a database more is nothing older
 * builds look at), and a read-only open of a store without one reads
 * empty logs. Opened last, so that the other databases keep their
 * handles' numbers.
 */
static int open_reflog(MDB_txn *txn, lenv *e, bool writing)
{
	int rc = mdb_dbi_open(txn, "reflog", writing ? MDB_CREATE : 0, &e->reflog);

	e->has_reflog = rc == 0;
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/*
 * The settings came later still, and their database is made by the first
 * write of a setting (lmdb.c), not at open: a store nobody configures
 * stays as it was. Opened here if it is there.
 */
static int open_config(MDB_txn *txn, lenv *e)
{
	MDB_dbi dbi;
	int rc = mdb_dbi_open(txn, "config", 0, &dbi);

	if (rc == 0)
		gkv__lmdb_config_publish(e, dbi);
	else
		__atomic_store_n(&e->has_config, false, __ATOMIC_RELEASE);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

void gkv__lmdb_config_publish(lenv *e, MDB_dbi dbi)
{
	__atomic_store_n(&e->config, dbi, __ATOMIC_RELAXED);
	__atomic_store_n(&e->has_config, true, __ATOMIC_RELEASE);
}

void gkv__lmdb_dbi_lock(lenv *e)
{
	pthread_mutex_lock(&e->dbi_lock);
}

void gkv__lmdb_dbi_unlock(lenv *e)
{
	pthread_mutex_unlock(&e->dbi_lock);
}

/* Open a database another handle made after this one opened the
 * environment, in a read transaction of its own that commits (a handle
 * opened in a transaction outlives it only then). */
static int open_late(lenv *e)
{
	MDB_txn *txn;
	MDB_dbi dbi;
	int rc;

	pthread_rwlock_rdlock(&e->map_lock);
	if (!e->env) {
		pthread_rwlock_unlock(&e->map_lock);
		return env_lost(e);
	}
	rc = mdb_txn_begin(e->env, NULL, MDB_RDONLY, &txn);
	if (rc == 0) {
		rc = mdb_dbi_open(txn, "config", 0, &dbi);
		if (rc == 0)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
		if (rc == 0)
			gkv__lmdb_config_publish(e, dbi);
	}
	pthread_rwlock_unlock(&e->map_lock);
	if (rc == MDB_NOTFOUND)
		return 0;
	return rc == 0 ? 1 : gkv__lmdb_error(e->path, rc, "cannot open the settings");
}

int gkv__lmdb_config_dbi(MDB_dbi *out, lenv *e)
{
	int rc = 1;

	if (!__atomic_load_n(&e->has_config, __ATOMIC_ACQUIRE)) {
		pthread_mutex_lock(&e->dbi_lock);
		if (!__atomic_load_n(&e->has_config, __ATOMIC_ACQUIRE))
			rc = open_late(e);
		pthread_mutex_unlock(&e->dbi_lock);
	}
	if (rc == 1)
		*out = __atomic_load_n(&e->config, __ATOMIC_RELAXED);
	return rc;
}

/* Open (or, in an empty environment being created, make) the databases. */
static int open_dbs(MDB_txn *txn, lenv *e, bool create, bool writing)
{
	unsigned int f = create ? MDB_CREATE : 0;
	int rc = mdb_dbi_open(txn, "meta", 0, &e->meta);

	if (rc == MDB_NOTFOUND && env_is_empty(txn)) {
		if (!create)
			return gkv_error_set(GKV_E_NOTFOUND, "lmdb '%s': no gitkv environment",
					     e->path);
		if ((rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &e->meta)) == 0)
			rc = write_meta(txn, e);
	} else if (rc == MDB_NOTFOUND) {
		return gkv_error_set(GKV_E_CORRUPT, "lmdb '%s' is not a gitkv environment",
				     e->path);
	}
	if (rc == 0)
		rc = check_format(txn, e);
	if (rc == 0)
		rc = mdb_dbi_open(txn, "objects", f, &e->objects);
	if (rc == 0)
		rc = mdb_set_compare(txn, e->objects, gkv__lmdb_oid_key_cmp);
	if (rc == 0)
		rc = mdb_dbi_open(txn, "refs", f, &e->refs);
	if (rc == 0 && e->split_commits)
		rc = mdb_dbi_open(txn, "commits", f, &e->commits);
	if (rc == 0 && e->split_commits)
		rc = mdb_set_compare(txn, e->commits, gkv__lmdb_oid_key_cmp);
	if (rc == 0 && e->split_trees)
		rc = mdb_dbi_open(txn, "trees", f, &e->trees);
	if (rc == 0 && e->split_trees)
		rc = mdb_set_compare(txn, e->trees, gkv__lmdb_oid_key_cmp);
	if (rc == 0)
		rc = open_reflog(txn, e, writing);
	if (rc == 0)
		rc = open_config(txn, e);
	if (rc == MDB_NOTFOUND)
		return gkv_error_set(GKV_E_CORRUPT, "lmdb '%s': a database is missing", e->path);
	return rc;
}

static int init_body(MDB_txn *txn, lenv *e, void *ctx)
{
	return open_dbs(txn, e, ((init_args *)ctx)->create, true);
}

/* A read-only environment cannot create anything: open in a read txn.
 * Handles opened in a transaction outlive it only if it commits. */
static int init_readonly(lenv *e)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(e->env, NULL, MDB_RDONLY, &txn);

	if (rc != 0)
		return gkv__lmdb_error(e->path, rc, "cannot begin a read");
	if ((rc = open_dbs(txn, e, false, false)) != 0) {
		mdb_txn_abort(txn);
		return gkv__lmdb_is_gkv_code(rc)
			   ? rc
			   : gkv__lmdb_error(e->path, rc, "cannot open its databases");
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return gkv__lmdb_error(e->path, rc, "cannot open its databases");
	return 0;
}

/*
 * A writable env: make (or check) the databases in a write transaction.
 * With a writable map that could not be allocated, an existing store
 * still opens for reading -- its writes wait for room (GKV_E_FULL) -- and
 * a new one fails to open, saying why.
 */
static int init_writable(lenv *e, init_args *args)
{
	int rc;

	if ((rc = reserve_current(e)) < 0) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", gkv_error_last());
		if (init_readonly(e) == 0)
			return 0;
		return gkv_error_set(rc, "%s", msg);
	}
	return gkv__lmdb_with_wtxn(e, init_body, args, "cannot initialise");
}

/*
 * The map size to open with. A writable map is allocated on disk, so it
 * starts small, and never below data.mdb's size: LMDB truncates the file
 * to the map, which must not cut pages another process wrote.
 */
static size_t initial_size(const lenv *e, const char *path)
{
	size_t size = initial_mapsize(e->writemap);
	char data[4096];
	struct stat st;

	snprintf(data, sizeof(data), "%s/data.mdb", path);
	if (e->writemap && stat(data, &st) == 0 && page_round((uint64_t)st.st_size) > size)
		size = page_round((uint64_t)st.st_size);
	return size;
}

static void lenv_free(lenv *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->npool; i++)
		mdb_txn_abort(e->pool[i]);
	if (e->env)
		mdb_env_close(e->env);
	if (e->lock_fd >= 0)
		close(e->lock_fd);
	pthread_rwlock_destroy(&e->map_lock);
	pthread_mutex_destroy(&e->pool_lock);
	pthread_mutex_destroy(&e->write_mutex);
	pthread_mutex_destroy(&e->dbi_lock);
	free(e->path);
	free(e);
}

/* Writer preference: a remap waiting for readers must not starve behind
 * a steady stream of new ones (no txn ever takes map_lock twice). */
static int lenv_alloc(lenv **out, const char *path, const struct stat *st)
{
	pthread_rwlockattr_t attr;
	lenv *e = calloc(1, sizeof(*e));

	if (!e || !(e->path = gkv__strdup(path))) {
		free(e);
		return gkv__oom();
	}
	pthread_rwlockattr_init(&attr);
#ifdef PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#endif
	pthread_rwlock_init(&e->map_lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	pthread_mutex_init(&e->pool_lock, NULL);
	pthread_mutex_init(&e->write_mutex, NULL);
	pthread_mutex_init(&e->dbi_lock, NULL);
	e->lock_fd = -1;
	e->dev = st->st_dev;
	e->ino = st->st_ino;
	e->pid = getpid();
	*out = e;
	return 0;
}

/* Which of the environment's files refuses access: data.mdb if it
 * cannot be opened as LMDB would, else lock.mdb (or the directory, where
 * LMDB would make it). */
static const char *denied_file(const char *path, bool rdonly)
{
	char data[4096];
	int fd;

	snprintf(data, sizeof(data), "%s/data.mdb", path);
	if ((fd = open(data, rdonly ? O_RDONLY : O_RDWR)) < 0)
		return errno == EACCES || errno == EPERM ? "data.mdb" : "lock.mdb";
	close(fd);
	return "lock.mdb";
}

static int env_open_error(const char *path, int rc, bool rdonly)
{
	if (rc == ENOENT)
		return gkv_error_set(GKV_E_NOTFOUND, "lmdb '%s' does not exist", path);
	if (rc == EACCES || rc == EPERM)
		return gkv_error_set(GKV_E_IO, "lmdb '%s': cannot open %s: permission denied",
				     path, denied_file(path, rdonly));
	if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH)
		return gkv_error_set(GKV_E_CORRUPT, "lmdb '%s' is not an LMDB environment (%s)",
				     path, mdb_strerror(rc));
	return gkv__lmdb_error(path, rc, "cannot open");
}

/* Make e->env and open it with e->mflags at mapsize: 0 or an LMDB code
 * (e->env is then NULL). */
static int env_create_open(lenv *e, size_t mapsize)
{
	int rc;

	if ((rc = mdb_env_create(&e->env)) != 0) {
		e->env = NULL;
		return rc;
	}
	mdb_env_set_maxdbs(e->env, MAX_DBS);
	mdb_env_set_maxreaders(e->env, MAX_READERS);
	mdb_env_set_mapsize(e->env, mapsize);
	if ((rc = mdb_env_open(e->env, e->path, e->mflags, 0644)) != 0) {
		mdb_env_close(e->env);
		e->env = NULL;
	}
	return rc;
}

/*
 * A writable map is checked before LMDB maps it (which extends data.mdb
 * to the map size, hiding a truncation): through a read-only, lock-free
 * environment that only reads the meta pages and the file's size.
 */
static int precheck_extent(lenv *e)
{
	unsigned int mflags = e->mflags;
	char data[4096];
	struct stat st;
	int rc;

	snprintf(data, sizeof(data), "%s/data.mdb", e->path);
	if (stat(data, &st) != 0 || st.st_size == 0)
		return 0; /* a new environment */
	e->mflags = MDB_RDONLY | MDB_NOLOCK | MDB_NOTLS;
	rc = env_create_open(e, 0);
	e->mflags = mflags;
	if (rc != 0)
		return 0; /* said by the real open */
	e->psize = (unsigned int)sysconf(_SC_PAGESIZE);
	{
		MDB_stat ms;

		if (mdb_env_stat(e->env, &ms) == 0)
			e->psize = ms.ms_psize;
	}
	rc = check_extent(e);
	e->file_ok = 0;
	mdb_env_close(e->env);
	e->env = NULL;
	return rc;
}

/*
 * Open the environment's files; a read-only open that may not write
 * lock.mdb (another user's store) opens without it (see the top of this
 * file). Then check the file's extent before any page is read.
 */
static int env_open_files(lenv *e, size_t mapsize)
{
	MDB_stat ms;
	int rc;

	if (e->writemap && (rc = precheck_extent(e)) < 0)
		return rc;
	rc = env_create_open(e, mapsize);
	if ((rc == EACCES || rc == EPERM) && e->rdonly && !e->nolock) {
		e->mflags |= MDB_NOLOCK;
		e->nolock = true;
		if ((rc = env_create_open(e, mapsize)) != 0) {
			e->mflags &= ~(unsigned)MDB_NOLOCK;
			e->nolock = false;
		}
	}
	if (rc != 0)
		return env_open_error(e->path, rc, e->rdonly);
	if ((rc = mdb_env_stat(e->env, &ms)) != 0)
		return gkv__lmdb_error(e->path, rc, "cannot open");
	e->psize = ms.ms_psize;
	e->maxkeysize = mdb_env_get_maxkeysize(e->env);
	return check_extent(e);
}

/* gitkv's writer lock is an flock on a descriptor of data.mdb of our own,
 * kept for the environment's life (see the top of this file). */
static int open_lock_fd(lenv *e)
{
	char data[4096];

	snprintf(data, sizeof(data), "%s/data.mdb", e->path);
	if ((e->lock_fd = open(data, O_RDONLY | O_CLOEXEC)) < 0)
		return gkv_error_set(GKV_E_IO, "lmdb '%s': cannot open data.mdb: %s", e->path,
				     errno == EACCES || errno == EPERM ? "permission denied"
								       : strerror(errno));
	return 0;
}

/*
 * Reopen e's environment on the same files, its lock.mdb out of date.
 * The caller holds the writer lock, so no gitkv writer runs anywhere;
 * map_lock is taken for writing, so no transaction of this process is
 * active. fresh_lock: remove lock.mdb first, so that LMDB makes a new one
 * from the meta pages (the one in the directory is out of date too). On
 * failure e->env stays NULL and every transaction says so (env_lost).
 */
static int reopen_env(lenv *e, bool fresh_lock)
{
	char lock[4096];
	int rc;

	pthread_rwlock_wrlock(&e->map_lock);
	pthread_mutex_lock(&e->pool_lock);
	for (size_t i = 0; i < e->npool; i++)
		mdb_txn_abort(e->pool[i]);
	e->npool = 0;
	pthread_mutex_unlock(&e->pool_lock);
	mdb_env_close(e->env);
	e->env = NULL;
	snprintf(lock, sizeof(lock), "%s/lock.mdb", e->path);
	if (fresh_lock && unlink(lock) != 0 && errno != ENOENT) {
		rc = gkv_error_set(GKV_E_IO, "lmdb '%s': cannot remove an out-of-date lock.mdb: %s",
				   e->path, strerror(errno));
		goto out;
	}
	if ((rc = env_open_files(e, e->mapsize)) < 0)
		goto out;
	refresh_mapsize(e);
	/* Handles of named databases belong to the MDB_env: open them again
	 * (in the same order, so with the same numbers). */
	if (e->objects && (rc = init_readonly(e)) < 0) {
		mdb_env_close(e->env);
		e->env = NULL;
	}
out:
	pthread_rwlock_unlock(&e->map_lock);
	return rc;
}

static int lenv_open(lenv **out, const char *path, const struct stat *st, unsigned int flags)
{
	init_args args = {(flags & GKV_LMDB_CREATE) != 0};
	lenv *e = NULL;
	int rc;

	if ((rc = lenv_alloc(&e, path, st)) < 0)
		return rc;
	e->rdonly = (flags & GKV_LMDB_READONLY) != 0;
	e->nosync = (flags & GKV_LMDB_NOSYNC) != 0;
	e->writemap = (flags & GKV_LMDB_WRITEMAP) && !e->rdonly; /* only writes differ */
	e->mflags = MDB_NOTLS;
	e->mflags |= e->rdonly ? MDB_RDONLY : 0;
	e->mflags |= e->nosync ? MDB_NOSYNC : 0;
	e->mflags |= e->writemap ? MDB_WRITEMAP : 0;
	rc = env_open_files(e, initial_size(e, path));
	if (rc == 0 && !e->rdonly)
		rc = open_lock_fd(e);
	if (rc == 0) {
		refresh_mapsize(e);
		rc = e->rdonly ? init_readonly(e) : init_writable(e, &args);
	}
	if (rc < 0) {
		lenv_free(e);
		return rc;
	}
	*out = e;
	return 0;
}

/* A second handle on an env this process has open: reconcile the flags. */
static int lenv_share(lenv *e, unsigned int flags)
{
	if (e->upgrading)
		return gkv_error_set(GKV_E_CONFLICT,
				     "lmdb '%s' is being upgraded in this process: open it when "
				     "the upgrade is done",
				     e->path);
	if (e->rdonly && !(flags & GKV_LMDB_READONLY))
		return gkv_error_set(
		    GKV_E_READONLY, "lmdb '%s' is already open read-only in this process", e->path);
	/* Durability is per environment in LMDB: the strongest asked wins.
	 * A writable map is fixed at open: a handle asking for one on an env
	 * opened without shares the pwrite path, and a handle not asking for
	 * one on a writemap env shares the map (with MDB_NOSYNC cleared if it
	 * wants FULL: LMDB then msyncs the map at each commit). */
	if (e->nosync && !(flags & GKV_LMDB_NOSYNC) && !e->rdonly) {
		pthread_rwlock_wrlock(&e->map_lock);
		mdb_env_set_flags(e->env, MDB_NOSYNC, 0);
		e->nosync = false;
		pthread_rwlock_unlock(&e->map_lock);
	}
	return 0;
}

static lenv *registry_find(const struct stat *st)
{
	pid_t pid = getpid();

	for (lenv *e = registry; e; e = e->next)
		if (e->dev == st->st_dev && e->ino == st->st_ino && e->pid == pid)
			return e;
	return NULL;
}

/* Make sure path is a directory holding (or, with CREATE, able to hold)
 * an environment; st describes the directory. */
static int check_dir(struct stat *st, const char *path, unsigned int flags)
{
	char *data;
	int rc = 0;

	if (stat(path, st) != 0 && errno == ENOENT && (flags & GKV_LMDB_CREATE) &&
	    !(flags & GKV_LMDB_READONLY) && mkdir(path, 0777) != 0 && errno != EEXIST)
		return gkv_error_set(errno == ENOSPC ? GKV_E_FULL : GKV_E_IO,
				     "lmdb '%s': cannot make the directory: %s", path,
				     strerror(errno));
	if (stat(path, st) != 0 && (errno == EACCES || errno == EPERM))
		return gkv_error_set(GKV_E_IO, "lmdb '%s': cannot reach the directory: permission denied",
				     path);
	if (stat(path, st) != 0)
		return gkv_error_set(errno == ENOENT ? GKV_E_NOTFOUND : GKV_E_IO,
				     "lmdb '%s' does not exist: %s", path, strerror(errno));
	if (!S_ISDIR(st->st_mode))
		return gkv_error_set(GKV_E_INVALID, "lmdb '%s' is not a directory", path);
	if ((flags & GKV_LMDB_CREATE) && !(flags & GKV_LMDB_READONLY))
		return 0;
	if (!(data = malloc(strlen(path) + sizeof("/data.mdb"))))
		return gkv__oom();
	sprintf(data, "%s/data.mdb", path);
	if (access(data, F_OK) != 0 && (errno == EACCES || errno == EPERM))
		rc = gkv_error_set(GKV_E_IO, "lmdb '%s': cannot look for data.mdb: permission denied",
				   path);
	else if (access(data, F_OK) != 0)
		rc = gkv_error_set(GKV_E_NOTFOUND, "lmdb '%s': no environment there (no data.mdb)",
				   path);
	free(data);
	return rc;
}

/* Find or open the shared env for path; the caller holds registry_lock. */
static int lenv_get(lenv **out, const char *path, unsigned int flags)
{
	struct stat st;
	lenv *e;
	int rc;

	if ((rc = check_dir(&st, path, flags)) < 0)
		return rc;
	if ((e = registry_find(&st)) != NULL) {
		if ((rc = lenv_share(e, flags)) < 0)
			return rc;
	} else {
		if ((rc = lenv_open(&e, path, &st, flags)) < 0)
			return rc;
		e->next = registry;
		registry = e;
	}
	e->nhandles++;
	*out = e;
	return 0;
}

int gkv__lmdb_env_get(lenv **out, const char *path, unsigned int flags)
{
	int rc;

	pthread_mutex_lock(&registry_lock);
	rc = lenv_get(out, path, flags);
	pthread_mutex_unlock(&registry_lock);
	return rc;
}

int gkv__lmdb_env_get_alone(lenv **out, const char *path)
{
	struct stat st;
	int rc;

	pthread_mutex_lock(&registry_lock);
	if ((rc = check_dir(&st, path, 0)) == 0 && registry_find(&st))
		rc = gkv_error_set(GKV_E_CONFLICT,
				   "lmdb '%s' is open in this process: close every handle on it first",
				   path);
	if (rc == 0 && (rc = lenv_get(out, path, 0)) == 0)
		(*out)->upgrading = true;
	pthread_mutex_unlock(&registry_lock);
	return rc;
}

void gkv__lmdb_env_put(lenv *e)
{
	lenv **pp;

	pthread_mutex_lock(&registry_lock);
	if (--e->nhandles == 0) {
		for (pp = &registry; *pp != e; pp = &(*pp)->next)
			;
		*pp = e->next;
		lenv_free(e);
	}
	pthread_mutex_unlock(&registry_lock);
}

/* ---- detection ---- */

/* Does data.mdb end before the last page (reading would fault)? */
static bool probe_truncated(MDB_env *env)
{
	MDB_envinfo info;
	MDB_stat ms;
	struct stat st;
	int fd;

	if (mdb_env_info(env, &info) != 0 || mdb_env_stat(env, &ms) != 0 ||
	    mdb_env_get_fd(env, &fd) != 0 || fstat(fd, &st) != 0)
		return true;
	return (uint64_t)st.st_size < ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize;
}

static bool has_magic(MDB_env *env)
{
	MDB_txn *txn;
	MDB_dbi meta;
	MDB_val v;
	bool ok = false;

	if (mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0)
		return false;
	if (mdb_dbi_open(txn, "meta", 0, &meta) == 0 && read_meta(txn, meta, "magic", &v) == 0)
		ok = meta_is(&v, FORMAT_MAGIC);
	mdb_txn_abort(txn);
	return ok;
}

/* Open read-only just long enough to look at the magic. Without write
 * access to the directory (no lock file can be made), look lock-free. */
static int probe(const char *path)
{
	MDB_env *env;
	int rc, found = 0;

	if (mdb_env_create(&env) != 0)
		return 0;
	mdb_env_set_maxdbs(env, MAX_DBS);
	rc = mdb_env_open(env, path, MDB_RDONLY | MDB_NOTLS, 0644);
	if (rc == EACCES || rc == EROFS) {
		mdb_env_close(env);
		if (mdb_env_create(&env) != 0)
			return 0;
		mdb_env_set_maxdbs(env, MAX_DBS);
		rc = mdb_env_open(env, path, MDB_RDONLY | MDB_NOTLS | MDB_NOLOCK, 0644);
	}
	/* A truncated data.mdb is taken for an environment (LMDB opened it):
	 * opening it then says what is wrong, where a read would fault. */
	if (rc == 0)
		found = probe_truncated(env) || has_magic(env);
	mdb_env_close(env);
	return found;
}

int gkv_backend_lmdb_detect(const char *path)
{
	struct stat st;
	int found;

	if (!path || check_dir(&st, path, 0) < 0) {
		gkv_error_clear();
		return 0;
	}
	/* Under the registry lock: an env we have open is not opened twice. */
	pthread_mutex_lock(&registry_lock);
	found = registry_find(&st) != NULL || probe(path);
	pthread_mutex_unlock(&registry_lock);
	return found;
}
