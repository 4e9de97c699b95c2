/*
 * gitkv/sys/backend.h -- the one seam between the store and its storage.
 *
 * A backend stores two things: objects (immutable, addressed by their
 * git id, each with a type) and refs (mutable names pointing at ids,
 * updated only by compare-and-swap). The store above computes every id,
 * validates every name and never touches storage except through this
 * struct; the backend never parses an object or a path.
 *
 * Modelled on libgit2's git_odb_backend / git_refdb_backend: a versioned
 * struct of function pointers. A backend author allocates a struct that
 * begins with a gkv_backend, fills it with gkv_backend_init() and the
 * functions, and hands it to gkv_repo_open_backend() (gitkv/backends.h),
 * which owns it from then on and calls ->free at close.
 *
 * This header is for backend authors; it is all a backend needs of the
 * library. Users who only open stores need gitkv.h and, to pick a
 * built-in backend by hand, gitkv/backends.h.
 *
 * Contracts every backend keeps (the conformance suite checks them):
 *  - Every function may be called from several threads at once.
 *  - Errors are negative GKV_E_* codes with a message set through
 *    gkv_error_set(); GKV_E_NOTFOUND for an absent object or ref. Any
 *    function may also fail with GKV_E_IO (storage failed), GKV_E_CORRUPT
 *    (what is stored is malformed) or GKV_E_NOMEM; those that write, with
 *    GKV_E_FULL (no room) or GKV_E_READONLY (opened read-only). The core
 *    passes these on to its callers.
 *  - Pointers passed in (ids, names, data) are the caller's and valid
 *    only during the call: a backend copies what it keeps.
 *  - A batch is atomic: its ref updates land together, or (on abort or
 *    failure) not at all, and never before every object of the batch is
 *    stored. Its objects are visible with them, except that a backend
 *    may store the objects of a large batch before it commits, to bound
 *    its memory (git: objects written before a ref CAS is lost), unless
 *    it sets GKV_BACKEND_BATCH_DEFERS: those are then readable by id,
 *    referenced by nothing, and stay after an abort until a gc. Ref
 *    CASes in a batch are checked at commit time, under the same lock as
 *    the writes.
 *  - Ref names are full ("refs/heads/main"); ids are raw.
 */
#ifndef GITKV_SYS_BACKEND_H
#define GITKV_SYS_BACKEND_H

#include "../backends.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Bumped whenever struct gkv_backend changes size or meaning, so that a
 * backend built against another header is refused (gkv_backend_init,
 * gkv_repo_open_backend) instead of having its struct read past its end.
 * 2: read_typed. 3: read_header, read_stream, batch_ref_log, reflog_read.
 * 4: config_get/set/list, set_default_branch, batch_delete,
 * reflog_list, batch_reflog_delete, stats. 5: batch_write_pack.
 * 6: raw_format, read_raw, batch_write_raw. 7: encode_raw. 8: flags.
 */
#define GKV_BACKEND_VERSION 8

/**
 * A bit of gkv_backend's flags: a batch stores nothing before
 * batch_commit, however large it grows (lmdb keeps a large batch's
 * records in a staging file of its own, mem in memory). An abort, or an
 * error before the commit, then leaves the store exactly as it was, and
 * a caller that may still find a bad object half-way through its input
 * (a fetch checking what a remote sent) can check and write in one pass
 * instead of checking everything first.
 */
#define GKV_BACKEND_BATCH_DEFERS 0x1u

/** A backend's pending batch; backends embed it at the start of their own. */
typedef struct gkv_batch {
	gkv_backend *backend;
} gkv_batch;

/** Called for each object id; non-zero stops the iteration and is returned. */
typedef int (*gkv_backend_oid_cb)(const gkv_oid *id, void *payload);
/** Called for each ref; non-zero stops the iteration and is returned. */
typedef int (*gkv_backend_ref_cb)(const char *name, const gkv_oid *target, void *payload);
/**
 * Called by read_stream with each piece of an object, in order: the
 * object's type and whole size (the same in every call), and len bytes of
 * it at data (valid during the call only). An empty object is one call
 * with len 0. Non-zero stops the read, and read_stream returns it.
 */
typedef int (*gkv_backend_stream_cb)(gkv_otype type, uint64_t size, const void *data, size_t len,
    void *payload);

/**
 * One record of a ref's log (its reflog, as git calls it): the ref moved
 * from old_id to new_id (all zero: absent before, or deleted), moved by
 * name <email> at time (seconds since 1970, zone offset in minutes east
 * of UTC), for the reason message (one line). The strings are
 * NUL-terminated, never NULL (possibly empty), and like the ids valid
 * only during the call they are passed to.
 */
typedef struct gkv_backend_reflog_entry {
	gkv_oid old_id;
	gkv_oid new_id;
	const char *name;
	const char *email;
	int64_t time;
	int offset;
	const char *message;
} gkv_backend_reflog_entry;

/** Called by reflog_read for each record; non-zero stops and is returned. */
typedef int (*gkv_backend_reflog_cb)(const gkv_backend_reflog_entry *entry, void *payload);
/** Called with a config key and its value, valid only during the call. */
typedef int (*gkv_backend_config_cb)(const char *key, const char *value, void *payload);
/** Called with one of a backend's figures: name valid during the call. */
typedef int (*gkv_backend_stat_cb)(const char *name, uint64_t value, void *payload);

struct gkv_backend {
	unsigned int version; /**< GKV_BACKEND_VERSION */
	const char *name;     /**< "mem", "lmdb", ... (static string) */

	/* ---- objects ---- */

	/**
	 * Read object id: *data from gkv_backend_data_alloc (the library
	 * owns it from then on), *len its size, *type its type.
	 * GKV_E_NOTFOUND if absent; nothing is allocated on any error.
	 */
	int (*read)(void **data, size_t *len, gkv_otype *type, gkv_backend *b,
	    const gkv_oid *id);

	/** 1 if the object exists, 0 if not, or a negative error (GKV_E_IO, ...). */
	int (*exists)(gkv_backend *b, const gkv_oid *id);

	/**
	 * Call cb for every stored object whose hex id starts with the first
	 * prefix_hexlen hex digits of prefix (0: every object), in any order.
	 * The id passed to cb is valid only during the call. A non-zero
	 * return of cb stops the iteration and is returned. GKV_E_INVALID for
	 * a prefix_hexlen over 40 (lmdb, git).
	 */
	int (*foreach)(gkv_backend *b, const gkv_oid *prefix, size_t prefix_hexlen,
	    gkv_backend_oid_cb cb, void *payload);

	/* ---- refs ---- */

	/** Read a ref into *out. GKV_E_NOTFOUND if it does not exist,
	 *  GKV_E_CORRUPT if it is malformed, GKV_E_INVALID for an empty name. */
	int (*ref_read)(gkv_oid *out, gkv_backend *b, const char *name);

	/**
	 * Call cb for every ref whose name starts with prefix, sorted by
	 * name; name and target are valid only during the call. A non-zero
	 * return of cb stops the iteration and is returned.
	 */
	int (*ref_list)(gkv_backend *b, const char *prefix, gkv_backend_ref_cb cb, void *payload);

	/**
	 * Set ref name to new_target (NULL: delete it) if and only if it is
	 * now expected (NULL: it must not exist). GKV_E_CONFLICT otherwise,
	 * with a message naming the ref and what was found. GKV_E_READONLY on
	 * a read-only backend; the git backend also returns GKV_E_CONFLICT
	 * for a lock file held by another writer, GKV_E_EXISTS for a name
	 * that would be a folder of another ref (or the reverse), and
	 * GKV_E_NOTFOUND for a new_target it does not hold.
	 */
	int (*ref_cas)(gkv_backend *b, const char *name, const gkv_oid *expected,
	    const gkv_oid *new_target);

	/**
	 * The branch the store starts on, e.g. "main": a NUL-terminated name
	 * in a buffer from gkv_backend_data_alloc, owned by the library from
	 * then on. May be NULL in the struct: "main" is then assumed. On
	 * error nothing is allocated; gkv_repo_open_backend fails with it.
	 */
	int (*default_branch)(char **out, gkv_backend *b);

	/* ---- batches ---- */

	/**
	 * Start a batch, into *out: the backend's until batch_commit or
	 * batch_abort, which free it; exactly one of them is called.
	 * GKV_E_READONLY on a read-only backend, GKV_E_NOMEM.
	 */
	int (*batch_begin)(gkv_batch **out, gkv_backend *b);
	/**
	 * Add an object (id computed by the caller; writing an existing one
	 * is a no-op); data is copied or consumed before this returns.
	 * GKV_E_INVALID for a type that cannot be stored, GKV_E_NOMEM.
	 */
	int (*batch_write)(gkv_batch *batch, const gkv_oid *id, gkv_otype type,
	    const void *data, size_t len);
	/** Add a ref compare-and-swap (name copied), checked when the batch
	 *  commits. GKV_E_INVALID for an empty name, GKV_E_NOMEM. */
	int (*batch_ref_cas)(gkv_batch *batch, const char *name, const gkv_oid *expected,
	    const gkv_oid *new_target);
	/**
	 * Make everything in the batch durable and visible at once. If a ref
	 * CAS fails: GKV_E_CONFLICT and nothing of the batch lands; the same
	 * on a backend that did not copy an object batch_write found stored
	 * (mem) when a delete took that object away before this commit. On
	 * any other error (GKV_E_FULL, GKV_E_IO, and on git those of
	 * ref_cas) nothing lands either. The batch is freed whatever the
	 * result.
	 */
	int (*batch_commit)(gkv_batch *batch);
	/** Drop the batch; nothing of it lands. Frees it. */
	void (*batch_abort)(gkv_batch *batch);

	/* ---- lifetime ---- */

	/** Release everything; called once, by gkv_repo_free. */
	void (*free)(gkv_backend *b);

	/* ---- optional ---- */

	/**
	 * Versions of the refs, which let readers skip re-reading a head that
	 * cannot have moved. Both hooks or neither (NULL: refs are read every
	 * time).
	 *
	 * ref_read_versioned reads one ref as ref_read does and sets *version
	 * to the version of the state it was read from, also when the ref is
	 * not found (GKV_E_NOTFOUND).
	 *
	 * refs_version gives the version of the newest state of the refs,
	 * through this handle or any other: if it equals a version that
	 * ref_read_versioned reported, no ref has changed since that read. It
	 * may change when no ref did (a reader then reads again), but must
	 * never stay equal across a change. Errors as for ref_read.
	 */
	int (*refs_version)(uint64_t *out, gkv_backend *b);
	int (*ref_read_versioned)(gkv_oid *out, uint64_t *version, gkv_backend *b,
	    const char *name);

	/**
	 * Read object id as read does, told that the caller expects an
	 * object of type want -- a hint about where to look first (a backend
	 * may keep types apart, as lmdb keeps commits), never a filter: an
	 * object of another type is still found, and *type is its true type
	 * (the caller checks it). Ownership and errors as for read. NULL: the
	 * core calls read.
	 */
	int (*read_typed)(void **data, size_t *len, gkv_otype *type, gkv_backend *b,
	    const gkv_oid *id, gkv_otype want);

	/**
	 * The type and size of object id, without reading its contents (a
	 * header, an index entry): what lets the library refuse a value
	 * larger than its caller's cap before allocating it. Errors as for
	 * read. NULL: the library reads the object to know.
	 */
	int (*read_header)(uint64_t *size, gkv_otype *type, gkv_backend *b, const gkv_oid *id);

	/**
	 * Read object id in pieces through cb (see gkv_backend_stream_cb),
	 * in memory the backend bounds whatever the object's size (a
	 * compressed object is inflated a buffer at a time): how a value of
	 * gigabytes is read without gigabytes of memory. The pieces add up
	 * to exactly the size announced; damage found part-way (the object
	 * does not inflate to its size, a checksum fails) is GKV_E_CORRUPT
	 * after the pieces already given. A non-zero return of cb stops the
	 * read and is returned. Errors as for read. NULL: the library reads
	 * the whole object with read and hands it over in pieces.
	 */
	int (*read_stream)(gkv_backend *b, const gkv_oid *id, gkv_backend_stream_cb cb,
	    void *payload);

	/*
	 * The log of ref moves, which lets a deleted branch or a head moved
	 * back be restored. Both hooks or neither (NULL: the backend keeps
	 * no log, and the library's reflog calls say GKV_E_UNSUPPORTED).
	 *
	 * A backend that keeps a log records every move of a ref it makes,
	 * through ref_cas or a batch, as one entry: old_id what the ref was,
	 * new_id what it became (zero for a delete); a CAS that leaves the
	 * ref as it was is not logged. The entry lands with the move and
	 * only with it: in the same transaction where the backend has them
	 * (lmdb, mem); on git, written under the ref's lock before the ref
	 * is renamed into place, as git writes its own, and taken back if
	 * the move fails. A ref's log outlives the ref: deleting a branch
	 * appends an entry to the zero id and keeps the log.
	 *
	 * batch_ref_log gives who moves ref name in this batch and why
	 * (entry's name, email, time, offset and message, copied; its ids
	 * are ignored: the backend records what the ref was and became).
	 * Call it after the batch_ref_cas of that ref; the last call for a
	 * name wins. A move with no entry given (ref_cas, or a batch
	 * without one) is logged with the backend's own identity, dated
	 * now, and the message "gitkv: compare-and-swap". Errors:
	 * GKV_E_INVALID (empty name, NULL entry, a message holding a
	 * newline), GKV_E_NOMEM.
	 *
	 * reflog_read calls cb for each entry of ref name's log, newest
	 * first; a ref that was never logged has an empty log (0, no call).
	 * A non-zero return of cb stops the read and is returned. Errors:
	 * GKV_E_INVALID (empty name), GKV_E_CORRUPT (a record that does not
	 * parse), storage errors.
	 */
	int (*batch_ref_log)(gkv_batch *batch, const char *name,
	    const gkv_backend_reflog_entry *entry);
	int (*reflog_read)(gkv_backend *b, const char *name, gkv_backend_reflog_cb cb,
	    void *payload);

	/* ---- configuration (version 4; all three or none) ---- */

	/**
	 * A store's settings: string values under git-config style keys,
	 * "section.name" or "section.subsection.name" (the subsection may
	 * hold any byte but NUL and newline; section and name are
	 * [A-Za-z0-9-], compared without case as git does, and handed to
	 * the backend lower-cased by the library, which validates every
	 * key). Remotes are kept here ("remote.origin.url"). The git
	 * backend reads and writes the repository's own config file, so
	 * git sees the same settings; lmdb and mem keep them beside the
	 * refs.
	 *
	 * config_get: *out a NUL-terminated copy from
	 * gkv_backend_data_alloc; GKV_E_NOTFOUND when the key is not set.
	 * config_set: set key to value (no newline), or remove it when
	 * value is NULL (removing an absent key is 0). config_list: cb for
	 * every key that starts with prefix ("" for all), sorted by key
	 * (bytes); a non-zero return of cb stops it and is returned. A key
	 * git holds several values for reads as its last, is listed once a
	 * value in the file's order, and is set or removed whole (git).
	 * Errors: GKV_E_INVALID (empty key; lmdb: a key over LMDB's key
	 * size), storage errors as elsewhere, GKV_E_READONLY for config_set
	 * on a read-only backend, GKV_E_CONFLICT (git: config.lock is held
	 * by another writer). NULL slots: the library's config calls say
	 * GKV_E_UNSUPPORTED.
	 */
	int (*config_get)(char **out, gkv_backend *b, const char *key);
	int (*config_set)(gkv_backend *b, const char *key, const char *value);
	int (*config_list)(gkv_backend *b, const char *prefix, gkv_backend_config_cb cb,
	    void *payload);

	/**
	 * Make name (a branch name, validated by the library, without
	 * "refs/heads/") the branch default_branch returns from now on; the
	 * git backend points HEAD at it. NULL: the library keeps the name
	 * in config key "gitkv.defaultbranch" and reads it back at open
	 * when default_branch is NULL too.
	 */
	int (*set_default_branch)(gkv_backend *b, const char *name);

	/* ---- reclaiming space (version 4) ---- */

	/**
	 * batch_delete: remove object id when the batch commits (an absent
	 * id is not an error). batch_reflog_delete: remove ref name's whole
	 * log when the batch commits (the ref itself stays). Both land with
	 * the batch's ref CASes or not at all: a CAS that fails, an abort,
	 * any error of batch_commit deletes nothing. At commit, logs are
	 * deleted before the refs move (a ref the batch moves starts a new
	 * log) and objects before the batch's own are written (an object
	 * the batch both deletes and writes stays). A CAS from an id to the
	 * same id (or from absent to absent) changes and logs nothing but
	 * fails the batch if the ref is not so: how gc makes sure no ref
	 * moved while it looked. Errors: GKV_E_INVALID (NULL id, empty
	 * name), GKV_E_NOMEM.
	 *
	 * reflog_list: cb (target NULL) for the name of every ref that has
	 * a log, the logs of deleted refs included, sorted by bytes, each
	 * once; a non-zero return of cb stops it and is returned. Storage
	 * errors; GKV_E_CORRUPT for a malformed record key (lmdb).
	 *
	 * NULL slots: gkv_repo_gc says GKV_E_UNSUPPORTED (the git backend
	 * leaves reclaiming space to git gc).
	 */
	int (*batch_delete)(gkv_batch *batch, const gkv_oid *id);
	int (*batch_reflog_delete)(gkv_batch *batch, const char *name);
	int (*reflog_list)(gkv_backend *b, gkv_backend_ref_cb cb, void *payload);

	/**
	 * The backend's own figures, one cb(name, value) each, in a fixed
	 * order (docs/backends.md lists each backend's): e.g. lmdb's
	 * "map_size", "page_size", "pages_used", "last_txn" and its
	 * databases' entries; git's "loose_objects", "packs", "pack_bytes";
	 * mem's "objects", "bytes". Names are lower-case words joined by
	 * '_'. A non-zero return of cb stops them and is returned. Storage
	 * errors. May be NULL (no figures).
	 */
	int (*stats)(gkv_backend *b, gkv_backend_stat_cb cb, void *payload);

	/* ---- whole packs (version 5) ---- */

	/**
	 * Add the objects of a git pack file and its version-2 index to the
	 * batch, as batch_write would add them one by one: they land with
	 * the batch or not at all. The caller has checked the pack: complete
	 * (no delta base outside it), every object re-hashed and checked.
	 * The backend copies the files at commit; the caller removes them
	 * after batch_commit or batch_abort. How a fetch into a git
	 * repository keeps the pack it received (with its deltas) instead of
	 * writing each object again. Errors: GKV_E_INVALID (NULL or empty
	 * path), GKV_E_NOMEM; at commit, storage errors.
	 *
	 * May be NULL: the caller writes the pack's objects with batch_write.
	 */
	int (*batch_write_pack)(gkv_batch *batch, const char *pack_path, const char *idx_path);

	/* ---- raw records (version 6) ---- */

	/**
	 * The name of the encoding in which read_raw gives an object and
	 * batch_write_raw takes it (lmdb, format 3 or later:
	 * "gitkv-lmdb-record-crc32c"), or NULL when the backend has none. A
	 * record read from one backend may be written into another only when
	 * both name the same encoding. How a copy between two stores of the
	 * same kind moves an object without decoding, re-encoding and
	 * re-hashing it. A backend offers raw records only if each one checks
	 * itself: a checksum over the object's id and the record's bytes, so
	 * that a record damaged, cut, or given under another id fails.
	 */
	const char *raw_format;

	/**
	 * Object id as the backend stores it: *rec (gkv_backend_data_alloc,
	 * the caller frees it), *len, and the object's type. The record's
	 * checksum is verified first. Errors: GKV_E_NOTFOUND, GKV_E_CORRUPT
	 * (the checksum or the header is wrong), GKV_E_NOMEM, storage errors.
	 * NULL when raw_format is.
	 */
	int (*read_raw)(void **rec, size_t *len, gkv_otype *type, gkv_backend *b, const gkv_oid *id);

	/**
	 * Add object id, of type type, to the batch from rec, a record that
	 * read_raw of a backend with the same raw_format gave: as if
	 * batch_write had been given the object it encodes. The record's
	 * checksum is verified against id, and its header against type.
	 * Errors: GKV_E_INVALID (NULL rec, or a type that cannot be stored),
	 * GKV_E_CORRUPT (the record does not check), GKV_E_NOMEM; at commit,
	 * storage errors. NULL when raw_format is.
	 */
	int (*batch_write_raw)(gkv_batch *batch, const gkv_oid *id, gkv_otype type, const void *rec,
			       size_t len);

	/* ---- encoding off the writer's thread (version 7) ---- */

	/**
	 * Encode object id, of type type (len bytes of data), into the record
	 * batch_write would store for it: *rec (gkv_backend_data_alloc, the
	 * caller frees it) and *reclen, which batch_write_raw of this backend
	 * takes. The caller vouches that id is the object's hash, as it does
	 * for batch_write. Must be safe from any thread, alongside any other
	 * call on b: how a writer of many objects (a clone) compresses them
	 * on one thread while another writes the batch. Errors:
	 * GKV_E_INVALID (a type that cannot be stored, NULL arguments),
	 * GKV_E_NOMEM. NULL when raw_format is (or the backend encodes
	 * nothing worth moving off the writer's thread).
	 */
	int (*encode_raw)(void **rec, size_t *reclen, gkv_backend *b, const gkv_oid *id,
			  gkv_otype type, const void *data, size_t len);

	/* ---- promises (version 8) ---- */

	/** GKV_BACKEND_* bits (GKV_BACKEND_BATCH_DEFERS); 0 promises nothing. */
	unsigned int flags;
};

/**
 * Zero b (sizeof(gkv_backend) bytes: fill in the slots after) and set its
 * version. Errors: GKV_E_INVALID (NULL b, or version is not
 * GKV_BACKEND_VERSION).
 */
GKV_EXTERN int gkv_backend_init(gkv_backend *b, unsigned int version);

/**
 * Set this thread's last error (for backends and bindings): code, and the
 * message formatted from the printf format fmt (cut at 1023 bytes).
 * Cannot fail: returns code, so that `return gkv_error_set(...)` works.
 */
GKV_EXTERN int gkv_error_set(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/**
 * Allocate len bytes (len may be 0) for a buffer that the backend hands
 * to the library: the data of a read or read_typed, the name of
 * default_branch. The library owns the buffer from then on and releases
 * it with gkv_backend_data_free, or passes it on to the caller of the
 * public API (as the value of a gkv_buf, released by gkv_buf_dispose).
 * Returns NULL with GKV_E_NOMEM set as this thread's last error when
 * memory is exhausted.
 */
GKV_EXTERN void *gkv_backend_data_alloc(size_t len);

/**
 * Release a buffer from gkv_backend_data_alloc that was not handed to
 * the library (a backend's error path). NULL is a no-op.
 */
GKV_EXTERN void gkv_backend_data_free(void *data);

/**
 * The backend that repo was opened on, for layers beside the store (sync/)
 * and for tools that need what only the seam gives: raw objects by id,
 * every ref, batches that move several refs at once. Writes made through
 * it bypass the store's checks: the caller stores only objects whose ids
 * it computed and verified, and moves refs only to objects present. The
 * pointer is repo's, valid until gkv_repo_free. NULL for a NULL repo.
 */
GKV_EXTERN gkv_backend *gkv_repo_backend(gkv_repo *repo);

#ifdef __cplusplus
}
#endif

#endif /* GITKV_SYS_BACKEND_H */
