/*
 * git_internal.h -- what the files of the git backend share: the backend
 * struct, a batch's buffered objects and ref updates, the mapping of
 * libgit2's errors to GKV_E_* codes, and the functions each file gives
 * the others. Internal to backends/git/.
 *
 * The backend is split by concept, as libgit2 splits its own:
 *   git.c        open, create, detect, close, the default branch (HEAD),
 *                fsync; libgit2 started on first need (gkv__git_start)
 *   git_files.c  the repository and its refs read as files, without
 *                libgit2 (what a handle that only reads needs)
 *   git_odb.c    objects: read (through a cache of small objects),
 *                exists, iterate, write loose or as a pack
 *   git_pack.c   packs: a large batch written as one pack with its .idx,
 *                and objects read straight from the packs' maps
 *   git_refs.c   refs: read, list, compare-and-swap under git's lock files,
 *                versions of the refs (inotify on the ref directories)
 *   git_batch.c  batches: buffer a commit's objects and ref updates, then
 *                land the objects and move the refs
 *   git_error.c  libgit2 errors as GKV_E_* codes with libgit2's message
 *   git_config.c settings: the repository's own config file
 *   git_stats.c  figures: loose objects and packs, as git count-objects
 */
#ifndef GKV_GIT_INTERNAL_H
#define GKV_GIT_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>

#include "libgit2.h"
#include <zlib.h>

#include "../backend_util.h"

/* A pack and its .idx, mapped (git_pack.c). */
typedef struct gkv__git_packfile gkv__git_packfile;

/*
 * The packs of objects/pack as this handle reads them itself (git_pack.c).
 * list is only changed under the write side of lock, so a reader holding
 * the read side may use the maps. dir is objects/pack as stat() saw it
 * at the last scan; racy: that scan was too close to the directory's
 * last change for its mtime to prove that nothing came after it.
 */
typedef struct {
	pthread_rwlock_t lock;
	gkv__git_packfile **list;
	size_t n, cap;
	char *dirpath;
	struct stat dir;
	bool scanned, racy;
	/* the first .idx the last scan refused, and why ("" if none) */
	char bad[256];
	/* inflate streams, reused (inflateReset is far cheaper than init) */
	pthread_mutex_t zlock;
	z_stream **zpool;
	size_t nz, capz;
	/* delta bases as resolved, by pack and offset (git_pack.c) */
	pthread_mutex_t block;
	struct gkv__git_base *bases; /* NULL until the first delta */
	size_t base_bytes, base_hand;
	uint64_t serials; /* the last pack's serial */
} gkv__git_packs;

/* A directory watched for ref changes (git_refs.c). */
typedef struct {
	int wd;
	bool root; /* the common dir or the git dir, not a folder of refs/ */
	char *path;
} gkv__git_wdir;

/*
 * Versions of the refs (git_refs.c): an inotify instance watching every
 * directory a ref of this repository lives in, and a counter bumped each
 * time draining its queue finds an event. lock serializes the drains, so
 * that no thread takes the counter while another holds events it has
 * read but not yet counted. Once unreliable (a watch that could not be
 * added, a queue overflow, a forked child), every version asked for is
 * new, and the store reads its head every time, as it did before.
 */
typedef struct {
	pthread_mutex_t lock;
	int fd; /* -1 when there is none */
	atomic_uint_fast64_t version;
	atomic_bool unreliable;
	gkv__git_wdir *dirs; /* under lock */
	size_t n, cap;
	/* a page the kernel zeroes in a forked child (MADV_WIPEONFORK): a
	 * child shares fd with its parent, and must not drain the parent's
	 * events */
	volatile unsigned char *owner;
} gkv__git_watch;

/* A bounded cache of small objects as read (git_odb.c). */
typedef struct gkv__git_cache gkv__git_cache;

/*
 * One open repository: its folders, found by gitkv itself, and two
 * libgit2 handles on it, opened when first needed.
 *
 * Reads -- objects (git_odb.c, git_pack.c), refs, HEAD and the versions
 * of the refs (git_files.c, git_refs.c) -- need no libgit2 when the
 * repository was recognised as plain files (native): opening a store
 * and reading it never starts libgit2. Anything else (a write, a ref
 * CAS, config, reflogs, a ref file git_files.c is unsure of) calls
 * gkv__git_start, which starts libgit2 and opens the handles, once, for
 * every thread (start_lock; started is set, with release, after the
 * handles and what is read with them -- identity, shared_perm -- are
 * in place, and read with acquire). A repository not recognised at open
 * is opened by libgit2 at once, as it judges it, and its refs are read
 * through libgit2 (native false).
 *
 * repo and odb serve reads and are shared by every thread: libgit2's
 * object database and its ref database lock internally for reads, so
 * reads run in parallel with no lock of ours.
 *
 * wrepo and wodb serve writes (objects, ref CAS), always under
 * write_lock: it keeps this process's writers off each other's lock
 * files, and libgit2 does not promise that concurrent writes through one
 * git_repository are safe. Other processes are kept in line by git's own
 * lock files (refs) and by objects being immutable and written by rename.
 * Writes have their own handle because libgit2 1.5 can leave its cache of
 * packed-refs wrong after a ref update that failed half-way (deleting a
 * packed ref while packed-refs.lock is held drops the ref from the cache,
 * not from the file, and a later delete then "succeeds" without touching
 * the file): after such a failure the writer handle is thrown away and
 * opened again (reopen_writer), which readers sharing repo could not
 * survive. NULL in a read-only handle.
 */
typedef struct gkv__git {
	gkv_backend parent;
	git_repository *repo;
	git_odb *odb;
	git_repository *wrepo;
	git_odb *wodb;
	char *path;	    /* as the caller named it, for messages */
	const char *gitdir; /* the .git directory, with a trailing '/' (own_gitdir) */
	bool readonly;
	bool fsync;			/* this handle holds one reference on the fsync option */
	char *ident_name, *ident_email; /* reflog identity, read when libgit2 starts */
	const char *commondir;		/* refs/, objects/, with a trailing '/' */
	char *own_gitdir, *own_commondir;
	bool native;		  /* recognised as files: refs read by git_files.c */
	bool libgit2;		  /* this handle holds a git_libgit2_init reference */
	atomic_bool started;	  /* repo, odb, identity, shared_perm (and wrepo) ready */
	pthread_mutex_t start_lock;
	gkv__git_packs packs;
	gkv__git_cache *cache;
	z_stream loose_zs; /* deflates loose objects, under write_lock */
	bool loose_zs_ready;
	pthread_mutex_t write_lock;
	/* core.sharedRepository, as git reads it: 0 (umask), > 0 permission
	 * bits added for the group or everybody (0660, 0664), < 0 minus an
	 * exact file mode. Read when libgit2 starts: only writes use it. */
	int shared_perm;
	gkv__git_watch watch;
} gkv__git;

/*
 * Start libgit2 and open the handles (with the identity and
 * core.sharedRepository), once per handle, safe from any thread: 0, or
 * the error of the first attempt that failed (a later call tries
 * again).
 */
int gkv__git_start(gkv__git *g);

/* ---- the repository as files (git_files.c) ---- */

/* The answer of a git_files.c reader that leaves the case to libgit2. */
#define GKV__GIT_UNSURE 3

/*
 * Recognise the repository at path as libgit2 would (GIT_REPOSITORY_
 * OPEN_NO_SEARCH), without it: 1 and *gitdir, *commondir (malloc()ed,
 * real paths ending in '/', and *shared, the value of
 * core.sharedRepository in its config or NULL); 0 if path is not plainly a repository
 * gitkv may read alone (libgit2 then judges it); GKV_E_NOMEM.
 */
int gkv__git_find(char **gitdir, char **commondir, char **shared, const char *path);

/* "HEAD" or a plain "refs/..." name: one git_files.c reads itself. */
bool gkv__git_plain_ref_name(const char *name);

/* Resolve ref name (symbolic refs followed) from the files: 1 and *out;
 * 0 if there is no such ref; GKV__GIT_UNSURE; GKV_E_NOMEM. */
int gkv__git_files_resolve(gkv_oid *out, gkv__git *g, const char *name);

/* HEAD: 1 and *target (malloc()ed) if it is symbolic, 0 if it holds an
 * id; GKV__GIT_UNSURE; GKV_E_NOMEM. */
int gkv__git_files_head(char **target, gkv__git *g);

/* Every ref whose name starts with prefix and that holds an id (loose
 * ones first, in no order; packed ones a loose file does not hide):
 * cb's first non-zero value, 0, GKV__GIT_UNSURE or GKV_E_NOMEM. */
typedef int (*gkv__git_files_ref_cb)(const char *name, const gkv_oid *id, void *payload);
int gkv__git_files_list(gkv__git *g, const char *prefix, gkv__git_files_ref_cb cb, void *payload);

/* Read core.sharedRepository into g->shared_perm; 0 or an error code. */
int gkv__git_read_shared(gkv__git *g);
/*
 * Give a file or folder gitkv created under objects/ the permissions git
 * would (core.sharedRepository): a folder gets the group's or everybody's
 * bits and set-group-id, an object file its read bits. Nothing to do
 * (and 0) for a repository that is not shared; -1 with errno set.
 */
int gkv__git_share_path(const gkv__git *g, const char *path);
int gkv__git_share_fd(const gkv__git *g, int fd);
/* write(2) all n bytes, through EINTR; 0, or -1 with errno set. */
int gkv__git_write_all(int fd, const unsigned char *p, size_t n);
/* mkdir dir (0777 less the umask, then shared as above); 0 if it exists
 * now, -1 with errno set. */
int gkv__git_make_dir(const gkv__git *g, const char *dir);

/* An object of a batch, its bytes copied in. */
typedef struct {
	gkv_oid id;
	gkv_otype type;
	size_t len;
	unsigned char data[];
} gkv__git_obj;

/* A ref compare-and-swap: name must be expected (absent if !has_expected)
 * and becomes target (deleted if !has_target). */
typedef gkv__backend_cas gkv__git_cas;

/* ---- errors (git_error.c) ---- */

/*
 * Raise the GKV_E_* code for libgit2's error gitrc, with the message
 * "<context>: <libgit2's message>". fallback is the code for errors that
 * have no better mapping (e.g. GKV_E_CORRUPT when reading an object that
 * exists but cannot be decoded, GKV_E_IO when writing).
 */
int gkv__git_error(int gitrc, int fallback, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* GKV_E_READONLY naming the repository, if it was opened read-only. */
int gkv__git_check_writable(const gkv__git *g);

/* Throw the writer handle away and open a fresh one (write_lock held).
 * On failure wrepo stays NULL, and the next write tries again. */
int gkv__git_reopen_writer(gkv__git *g);

/* How many open handles asked for fsync (git.c): our own files are
 * synced while libgit2's are, i.e. while it is not 0. */
size_t gkv__git_fsync_users(void);

/* Make sure libgit2 is started and the writer handle open (write_lock
 * held). */
int gkv__git_writer_ready(gkv__git *g);

/* ---- objects (git_odb.c) ---- */

int gkv__git_cache_new(gkv__git_cache **out);
void gkv__git_cache_free(gkv__git_cache *c);

int gkv__git_read(void **data, size_t *len, gkv_otype *type, gkv_backend *b, const gkv_oid *id);
/* read_stream: loose objects a buffer at a time, packed ones read whole.
 * read_header: headers only, packed or loose. */
int gkv__git_read_stream(gkv_backend *b, const gkv_oid *id, gkv_backend_stream_cb cb,
    void *payload);
int gkv__git_read_header(uint64_t *size, gkv_otype *type, gkv_backend *b, const gkv_oid *id);
int gkv__git_exists(gkv_backend *b, const gkv_oid *id);
int gkv__git_foreach(gkv_backend *b, const gkv_oid *prefix, size_t prefix_hexlen,
		     gkv_backend_oid_cb cb, void *payload);

/* 0 if data hashes to id as a git object of that type, else GKV_E_INVALID:
 * what is written, with collision detection (libgit2's sha1dc, so
 * libgit2 must be started: gkv__git_start). */
int gkv__git_check_id(const gkv_oid *id, gkv_otype type, const void *data, size_t len);
/* The same check for what is read, a check against damage: plain SHA-1
 * (libcrypto), with no need of libgit2. */
int gkv__git_verify_id(const gkv_oid *id, gkv_otype type, const void *data, size_t len);

/*
 * Store objs (n of them, ids checked; duplicates and objects the
 * repository has are skipped): loose objects for a few, one pack for
 * GKV__GIT_PACK_MIN or more. The caller holds write_lock.
 */
#define GKV__GIT_PACK_MIN 256
int gkv__git_write_objects(gkv__git *g, gkv__git_obj **objs, size_t n);

/* ---- packs (git_pack.c) ---- */

/* Write objs (n of them, sorted by id, none in the repository yet) as
 * one new pack and its index. */
int gkv__git_write_pack(gkv__git *g, gkv__git_obj **objs, size_t n);
/* A pack written as a large batch goes (git_pack.c): objects are added
 * as they come (those the pack or the repository has are skipped), and
 * at finish it is sealed, indexed and put in place; abort removes it.
 * GKV__GIT_STREAM_AT: the bytes a batch holds before it streams. */
#define GKV__GIT_STREAM_AT ((size_t)32 << 20)
typedef struct gkv__git_stream gkv__git_stream;
int gkv__git_stream_open(gkv__git_stream **out, gkv__git *g);
int gkv__git_stream_put(gkv__git_stream *st, const gkv_oid *id, gkv_otype type, const void *data,
			size_t len);
int gkv__git_stream_finish(gkv__git_stream *st);
void gkv__git_stream_abort(gkv__git_stream *st);
/* Copy a complete pack and its index (checked by the caller) into
 * objects/pack under the pack's own name, pack before index as git
 * does; already there: nothing to do. Storage errors. */
int gkv__git_adopt_pack(gkv__git *g, const char *pack_path, const char *idx_path);

int gkv__git_packs_init(gkv__git *g);
void gkv__git_packs_free(gkv__git *g);

/*
 * Read id from a pack of objects/pack, deltas resolved, without libgit2:
 * 1 and the object (*data from gkv_backend_data_alloc) if a pack has it;
 * 0 if none does; GKV_E_CORRUPT naming the object and the pack if the
 * packs that list it hold it damaged; GKV_E_NOMEM.
 */
int gkv__git_pack_read(void **data, size_t *len, gkv_otype *type, gkv__git *g,
		       const gkv_oid *id);

/* After a miss: GKV_E_CORRUPT naming id, the repository and the pack
 * index the last scan refused as damaged, if there is one; else 0. */
int gkv__git_packs_damaged(gkv__git *g, const gkv_oid *id);

/* cb for each id of each pack (after a rescan), repeats included; stops
 * at cb's first non-zero value, which it returns. */
int gkv__git_pack_foreach(gkv__git *g, int (*cb)(const gkv_oid *id, void *payload),
			  void *payload);

/*
 * Read id as a loose object (objects/<2 hex>/<38 hex>) with gitkv's own
 * bounded reader (git_odb.c): 1 and the object if there is one; 0 if
 * there is none; GKV_E_CORRUPT naming the object and the repository if
 * the file is damaged in any way; GKV_E_IO.
 */
int gkv__git_loose_read(void **data, size_t *len, gkv_otype *type, gkv__git *g,
			const gkv_oid *id);

/*
 * The type and size of id from a pack's headers alone (git_pack.c): 1 if
 * a pack of this reader lists it (no rescan), 0 if none does, a negative
 * code if the packs that list it cannot say (damage; GKV_E_NOMEM).
 */
int gkv__git_pack_header(uint64_t *size, gkv_otype *type, gkv__git *g, const gkv_oid *id);

/* The type and size of the loose object id from its first bytes: 1, 0 if
 * there is no such file, GKV_E_CORRUPT (a bad header) or GKV_E_IO. */
int gkv__git_loose_header(uint64_t *size, gkv_otype *type, gkv__git *g, const gkv_oid *id);

/* Scan objects/pack again if it changed since the last scan. */
void gkv__git_packs_refresh(gkv__git *g);

/* 1 if a pack this reader maps has id, else 0 (no rescan). */
int gkv__git_pack_has(gkv__git *g, const gkv_oid *id);

/* Called after this handle added a pack: scan objects/pack at the next miss. */
void gkv__git_packs_changed(gkv__git *g);

/* ---- refs (git_refs.c) ---- */

int gkv__git_ref_read(gkv_oid *out, gkv_backend *b, const char *name);
int gkv__git_ref_list(gkv_backend *b, const char *prefix, gkv_backend_ref_cb cb, void *payload);
int gkv__git_ref_cas(gkv_backend *b, const char *name, const gkv_oid *expected,
		     const gkv_oid *new_target);

/* Versions of the refs (the optional hooks of backend.h). */
int gkv__git_refs_version(uint64_t *out, gkv_backend *b);
int gkv__git_ref_read_versioned(gkv_oid *out, uint64_t *version, gkv_backend *b, const char *name);

/* Set the watch up empty and unreliable (before anything can fail in
 * open); start watching the repository's ref directories (once gitdir and
 * commondir are known; a failure only leaves the handle unreliable); free. */
void gkv__git_watch_init(gkv__git *g);
void gkv__git_watch_start(gkv__git *g);
void gkv__git_watch_free(gkv__git *g);

/*
 * The n CASes of a batch, in order, folded into one per ref: out[i] holds
 * what its ref must be now (the first CAS's expectation) and what it
 * becomes (the last CAS's target). GKV_E_CONFLICT if a later CAS does not
 * expect what an earlier one left. *out is malloc()ed; its names are
 * borrowed from cas.
 */
int gkv__git_cas_fold(gkv__git_cas **out, size_t *nout, const gkv__git_cas *cas, size_t n);

/* Check folded CASes against the refs as they are, without locking:
 * GKV_E_CONFLICT early, before a batch writes anything. */
int gkv__git_cas_precheck(gkv__git *g, const gkv__git_cas *cas, size_t n);

/* Who moves a ref and why (batch_ref_log): the ref, and the part of its
 * reflog line after the two ids, "Name <email> time +hhmm\tmessage". */
typedef struct {
	char *ref;
	char *who;
} gkv__git_who;

/* Make *out from a batch_ref_log entry (strings malloc()ed); free with
 * gkv__git_who_free. GKV_E_INVALID for a message with a newline. */
int gkv__git_who_make(gkv__git_who *out, const char *ref, const gkv_backend_reflog_entry *e);
void gkv__git_who_free(gkv__git_who *w);

/*
 * Apply folded CASes atomically as git does: take every ref's lock file,
 * check each CAS under its lock, append each move to the ref's reflog
 * (who[] for the refs it names, the handle's identity for the others),
 * then move them all. The caller holds write_lock.
 */
int gkv__git_cas_apply(gkv__git *g, const gkv__git_cas *cas, size_t n, const gkv__git_who *who,
		       size_t nwho);

/* The reflog of ref name, newest first (backend.h). */
int gkv__git_reflog_read(gkv_backend *b, const char *name, gkv_backend_reflog_cb cb,
			 void *payload);

/* ---- settings (git_config.c) and figures (git_stats.c) ---- */

int gkv__git_config_get(char **out, gkv_backend *b, const char *key);
int gkv__git_config_set(gkv_backend *b, const char *key, const char *value);
int gkv__git_config_list(gkv_backend *b, const char *prefix, gkv_backend_config_cb cb,
    void *payload);
int gkv__git_stats(gkv_backend *b, gkv_backend_stat_cb cb, void *payload);

/* ---- batches (git_batch.c) ---- */

int gkv__git_batch_begin(gkv_batch **out, gkv_backend *b);
int gkv__git_batch_write(gkv_batch *batch, const gkv_oid *id, gkv_otype type, const void *data,
			 size_t len);
int gkv__git_batch_write_pack(gkv_batch *batch, const char *pack_path, const char *idx_path);
int gkv__git_batch_ref_cas(gkv_batch *batch, const char *name, const gkv_oid *expected,
			   const gkv_oid *new_target);
int gkv__git_batch_ref_log(gkv_batch *batch, const char *name,
			   const gkv_backend_reflog_entry *entry);
int gkv__git_batch_commit(gkv_batch *batch);
void gkv__git_batch_abort(gkv_batch *batch);

#endif
