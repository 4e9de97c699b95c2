/*
 * gitkv.h -- the public API of gitkv, a content-addressed, branchable,
 * versioned key-value store whose objects are git's, byte for byte.
 *
 * This header is the manual. Conventions, which hold for every function
 * unless its comment says otherwise:
 *
 *  - Every function that can fail returns int: 0 on success or a negative
 *    GKV_E_* code. gkv_error_last() then says, in one line, what failed and
 *    on which path, branch or object. Nothing is ever printed.
 *  - Results go through out-parameters, placed first. Whatever a function
 *    puts into an out-parameter belongs to the caller and is released with
 *    that type's one free function (gkv_buf_dispose, gkv_tree_free, ...).
 *    Accessors that cannot fail return their value directly; what they
 *    return lives as long as the object they were called on.
 *  - Values are byte buffers with a length, binary-safe, never
 *    NUL-terminated strings. Paths, branch names and messages are
 *    NUL-terminated UTF-8 (or any bytes but NUL).
 *  - Handles are opaque; no struct is passed by value and no function is
 *    variadic, so that the API can be bound from any language (ctypes, FFI).
 *    The only structs whose layout is public are gkv_oid, gkv_buf and
 *    gkv_strarray, and they are only ever passed by pointer.
 *  - Every callback is followed by a void *payload given back to it.
 *  - Threads: a gkv_repo may be shared by threads; so may gkv_tree values
 *    (they are immutable). A gkv_store, gkv_txn, gkv_revwalk or gkv_diff
 *    belongs to one thread at a time. Readers never wait for writers.
 *  - A failed operation leaves the store as it was.
 *
 * Paths: a path is a sequence of segments separated by '/'. A segment is
 * non-empty, is never ".", ".." or ".git" (in any case) and holds no '/'
 * or NUL. No leading, trailing or doubled '/'. The empty string "" names the
 * root (valid for reads and for set_tree, invalid for set and remove).
 *
 * Branch names follow git's rules for refs/heads/<name> (git
 * check-ref-format --branch): no "..", no control characters, space, ~ ^ :
 * ? * [ \, no component starting with '.' or ending in ".lock", no "@{",
 * not "@", no leading, trailing or doubled '/', no trailing '.'.
 */
#ifndef GITKV_H
#define GITKV_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define GKV_EXTERN __declspec(dllexport)
#else
#define GKV_EXTERN __attribute__((visibility("default")))
#endif

#define GKV_VERSION_MAJOR 0
#define GKV_VERSION_MINOR 1
#define GKV_VERSION_PATCH 0
#define GKV_VERSION_STRING "0.1.0"

/* ---------------------------------------------------------------- errors */

/** Error codes. Every failing function returns one of these (negative). */
enum {
	GKV_OK = 0,
	GKV_E_ERROR = -1,      /**< anything not listed below */
	GKV_E_NOTFOUND = -2,   /**< path, branch, commit or object absent */
	GKV_E_EXISTS = -3,     /**< creating what already exists */
	GKV_E_INVALID = -4,    /**< bad argument: path, branch name, URI, ... */
	GKV_E_CONFLICT = -5,   /**< compare-and-swap lost, head moved, merge conflict */
	GKV_E_CORRUPT = -6,    /**< a stored object or ref is malformed */
	GKV_E_IO = -7,         /**< the operating system or storage failed */
	GKV_E_NOMEM = -8,      /**< out of memory */
	GKV_E_FULL = -9,       /**< the disk (or a storage limit) is full */
	GKV_E_READONLY = -10,  /**< the repo was opened read-only */
	GKV_E_AMBIGUOUS = -11, /**< a short commit id matches several objects */
	GKV_E_UNSUPPORTED = -12, /**< not available on this backend or build */
	GKV_E_NONFASTFORWARD = -13, /**< the update would lose commits */
	GKV_E_USER = -14,      /**< a user callback returned non-zero */
	GKV_ITEROVER = -31     /**< an iterator has no more items (not an error) */
};

/**
 * The message of the last error raised on this thread, one line, naming
 * the input concerned. Never NULL ("no error" when there was none). Valid
 * until the next gitkv call on this thread.
 */
GKV_EXTERN const char *gkv_error_last(void);

/** The code of the last error raised on this thread (GKV_OK if none). */
GKV_EXTERN int gkv_error_last_code(void);

/** A static description of an error code ("not found", ...). */
GKV_EXTERN const char *gkv_strerror(int code);

/** Forget the last error of this thread. */
GKV_EXTERN void gkv_error_clear(void);

/** The library's version, as numbers and as a static string. */
GKV_EXTERN void gkv_version(int *major, int *minor, int *patch);
GKV_EXTERN const char *gkv_version_string(void);

/* ------------------------------------------------------- ids and buffers */

#define GKV_OID_RAWSZ 20
#define GKV_OID_HEXSZ 40

/** An object id: git's SHA-1 of "<type> <len>\0<payload>". */
typedef struct gkv_oid {
	unsigned char id[GKV_OID_RAWSZ];
} gkv_oid;

/** Write the 40 lowercase hex digits of id and a NUL into out[41]. */
GKV_EXTERN void gkv_oid_fmt(char *out, const gkv_oid *id);
/** Parse exactly 40 hex digits (either case). GKV_E_INVALID otherwise. */
GKV_EXTERN int gkv_oid_fromstr(gkv_oid *out, const char *hex);
GKV_EXTERN int gkv_oid_cmp(const gkv_oid *a, const gkv_oid *b);
GKV_EXTERN int gkv_oid_equal(const gkv_oid *a, const gkv_oid *b);
GKV_EXTERN int gkv_oid_is_zero(const gkv_oid *id);

/** Object kinds, numbered as git numbers them. */
typedef enum {
	GKV_OBJ_ANY = -2,
	GKV_OBJ_BAD = -1,
	GKV_OBJ_COMMIT = 1,
	GKV_OBJ_TREE = 2,
	GKV_OBJ_BLOB = 3,
	GKV_OBJ_TAG = 4
} gkv_otype;

/**
 * Compute the id git gives an object of this type and payload (with
 * SHA-1 collision detection, as git does, unless the process chose
 * GKV_HASH_SHA1). GKV_E_CORRUPT if the input is a known collision attack.
 */
GKV_EXTERN int gkv_hash(gkv_oid *out, gkv_otype type, const void *data, size_t len);

/** How object ids are computed; both give git's ids. */
typedef enum {
	/** SHA-1 with collision detection (git's sha1dc, through libgit2):
	 *  input crafted to collide is refused. The default. */
	GKV_HASH_SHA1DC = 0,
	/** Plain SHA-1 from the system's libcrypto, using the CPU's SHA
	 *  instructions where it has them: 3-4x faster to hash, so commits
	 *  cost less, but nothing detects a crafted collision. Only for stores
	 *  whose writers are trusted. */
	GKV_HASH_SHA1 = 1
} gkv_hash_kind;

/**
 * Choose how this process computes ids (every store, and gkv_hash). Ids
 * are the same either way for all but crafted input, so stores made with
 * one are read and written with the other. Call it before opening stores.
 * GKV_E_INVALID for an unknown kind.
 */
GKV_EXTERN int gkv_hash_use(gkv_hash_kind kind);
/** The kind in use (GKV_HASH_SHA1DC unless gkv_hash_use changed it). */
GKV_EXTERN gkv_hash_kind gkv_hash_in_use(void);

/**
 * A byte buffer handed to the caller. ptr is NULL only when size is 0 and
 * nothing was allocated. Release with gkv_buf_dispose, which frees ptr and
 * zeroes the struct (the struct itself is the caller's).
 */
typedef struct gkv_buf {
	unsigned char *ptr;
	size_t size;
} gkv_buf;

GKV_EXTERN void gkv_buf_dispose(gkv_buf *buf);

/** A list of strings handed to the caller; release with gkv_strarray_dispose. */
typedef struct gkv_strarray {
	char **strings;
	size_t count;
} gkv_strarray;

GKV_EXTERN void gkv_strarray_dispose(gkv_strarray *arr);

/** Validation helpers, also used by every entry point. 0 or GKV_E_INVALID. */
GKV_EXTERN int gkv_path_validate(const char *path);
GKV_EXTERN int gkv_branch_name_validate(const char *name);

/* ------------------------------------------------------------ signatures */

/** Who made a commit and when: name, email, seconds since the epoch, zone. */
typedef struct gkv_signature gkv_signature;

/**
 * Make a signature. name and email must hold no '<', '>' or newline;
 * offset_minutes is the zone offset (e.g. 120 for +0200). GKV_E_INVALID.
 */
GKV_EXTERN int gkv_signature_new(gkv_signature **out, const char *name,
    const char *email, int64_t time, int offset_minutes);
/** The same, dated now (UTC offset 0). */
GKV_EXTERN int gkv_signature_now(gkv_signature **out, const char *name, const char *email);
GKV_EXTERN const char *gkv_signature_name(const gkv_signature *sig);
GKV_EXTERN const char *gkv_signature_email(const gkv_signature *sig);
GKV_EXTERN int64_t gkv_signature_time(const gkv_signature *sig);
GKV_EXTERN int gkv_signature_offset(const gkv_signature *sig);
GKV_EXTERN void gkv_signature_free(gkv_signature *sig);

/* ------------------------------------------------------------------ repo */

typedef struct gkv_repo gkv_repo;

/** Options for opening a repo; NULL options mean every default. */
typedef struct gkv_options gkv_options;

/**
 * Durability of commits. Unset, each backend keeps its own default: lmdb
 * is FULL; git does as git does (no fsync), and FULL set explicitly makes
 * it fsync objects and refs.
 *
 * GKV_DURABILITY_NOSYNC_MAPPED is NOSYNC (no fsync, the last commits may
 * be lost on a crash) and, on lmdb, writes through a writable memory map
 * (LMDB's MDB_WRITEMAP): fewer system calls per commit. The map's whole
 * size is reserved on disk (allocated, not sparse: a small store starts
 * at 32 MiB, and the file grows by doubling), so a full disk is a
 * GKV_E_FULL error when the map grows, never a crash; reads keep
 * working. The price, and why it is opt-in: a stray pointer write by the
 * application into the mapped file can corrupt the store. The mode is
 * the environment's as this process first opened it: a later handle on
 * the same directory in the same process shares that environment as it
 * is (mapped or not; the strongest durability asked still wins), and
 * other processes may open it mapped or not. On mem and git it is the
 * same as NOSYNC.
 */
typedef enum {
	GKV_DURABILITY_FULL = 0,	 /**< a commit is on disk when it returns */
	GKV_DURABILITY_NOSYNC = 1,	 /**< no fsync: fast, may lose the last commits on a crash */
	GKV_DURABILITY_NOSYNC_MAPPED = 2 /**< NOSYNC, lmdb writing through its map (see above) */
} gkv_durability;

GKV_EXTERN int gkv_options_new(gkv_options **out);
GKV_EXTERN void gkv_options_free(gkv_options *opts);
/** Create the store if it does not exist (default: 0, open fails with GKV_E_NOTFOUND). */
GKV_EXTERN int gkv_options_set_create(gkv_options *opts, int create);
/** Open read-only: every write fails with GKV_E_READONLY. */
GKV_EXTERN int gkv_options_set_readonly(gkv_options *opts, int readonly);
GKV_EXTERN int gkv_options_set_durability(gkv_options *opts, gkv_durability d);
/** The default author and committer of commits made through this repo. */
GKV_EXTERN int gkv_options_set_author(gkv_options *opts, const char *name, const char *email);
/** How many decoded trees the repo keeps in memory (default 8192; 0: none kept). */
GKV_EXTERN int gkv_options_set_cache_size(gkv_options *opts, size_t trees);

/**
 * Open a store by name:
 *   "mem:"       a new, empty in-memory store (gone at close);
 *   "lmdb:PATH"  an LMDB environment in directory PATH;
 *   "git:PATH"   a git repository (when the git backend is built);
 *   "PATH"       an existing store at PATH, its kind detected.
 * GKV_E_NOTFOUND if the store does not exist and create is not set,
 * GKV_E_INVALID for an unknown scheme, GKV_E_UNSUPPORTED for a backend not
 * built in, GKV_E_IO or GKV_E_CORRUPT if it cannot be read.
 * Thread-safe; the repo may be shared by threads. Close with gkv_repo_free.
 */
GKV_EXTERN int gkv_repo_open(gkv_repo **out, const char *uri, const gkv_options *opts);

/**
 * Close a repo. Every tree, store, transaction, walk and watch made from
 * it must be freed before. NULL is ignored.
 */
GKV_EXTERN void gkv_repo_free(gkv_repo *repo);

/** The branch a store starts on: "main" in a store gitkv made. */
GKV_EXTERN const char *gkv_repo_default_branch(const gkv_repo *repo);

/** The kind of backend: "mem", "lmdb", "git", or a custom backend's name. */
GKV_EXTERN const char *gkv_repo_backend_name(const gkv_repo *repo);

/** Whether an object exists: *out is 1 or 0. */
GKV_EXTERN int gkv_repo_object_exists(int *out, gkv_repo *repo, const gkv_oid *id);

/**
 * Read a raw object's payload and type. GKV_E_NOTFOUND if absent,
 * GKV_E_CORRUPT if its stored bytes do not hash to id.
 */
GKV_EXTERN int gkv_repo_object_read(gkv_buf *out, gkv_otype *type, gkv_repo *repo, const gkv_oid *id);

/**
 * Resolve a commit spec: a branch name, 40 hex digits, or a unique prefix
 * of at least 4 hex digits of a commit id. GKV_E_NOTFOUND, GKV_E_AMBIGUOUS,
 * GKV_E_INVALID (the object is not a commit, or the spec is malformed).
 */
GKV_EXTERN int gkv_repo_resolve(gkv_oid *out, gkv_repo *repo, const char *spec);

/* ------------------------------------------------------------- branches */

/** Every branch, sorted by name (bytes). */
GKV_EXTERN int gkv_branch_list(gkv_strarray *out, gkv_repo *repo);

/** The commit a branch points at. GKV_E_NOTFOUND if the branch does not exist. */
GKV_EXTERN int gkv_branch_head(gkv_oid *out, gkv_repo *repo, const char *name);

/** Create a branch at commit target. GKV_E_EXISTS, GKV_E_NOTFOUND (no such commit). */
GKV_EXTERN int gkv_branch_create(gkv_repo *repo, const char *name, const gkv_oid *target);

/** Delete a branch. GKV_E_NOTFOUND if absent. */
GKV_EXTERN int gkv_branch_delete(gkv_repo *repo, const char *name);

/**
 * Compare-and-swap a branch head: set it to new_head (NULL deletes it) if
 * and only if it currently is expected (NULL: the branch must not exist).
 * GKV_E_CONFLICT (the message says what was found) when it was not;
 * GKV_E_NOTFOUND if new_head is not a commit in the store.
 */
GKV_EXTERN int gkv_branch_cas(gkv_repo *repo, const char *name,
    const gkv_oid *expected, const gkv_oid *new_head);

/**
 * Move a branch forward to target if its head is an ancestor of target
 * (or the branch does not exist, or already is target).
 * GKV_E_NONFASTFORWARD if it is not.
 */
GKV_EXTERN int gkv_branch_fast_forward(gkv_repo *repo, const char *name, const gkv_oid *target);

/* --------------------------------------------------------------- commits */

typedef struct gkv_commit gkv_commit;

/** Load a commit. GKV_E_NOTFOUND, GKV_E_INVALID (not a commit), GKV_E_CORRUPT. */
GKV_EXTERN int gkv_commit_lookup(gkv_commit **out, gkv_repo *repo, const gkv_oid *id);
GKV_EXTERN const gkv_oid *gkv_commit_id(const gkv_commit *c);
GKV_EXTERN const gkv_oid *gkv_commit_tree_id(const gkv_commit *c);
GKV_EXTERN size_t gkv_commit_parentcount(const gkv_commit *c);
/** The n-th parent's id, or NULL if n is out of range. */
GKV_EXTERN const gkv_oid *gkv_commit_parent_id(const gkv_commit *c, size_t n);
GKV_EXTERN const gkv_signature *gkv_commit_author(const gkv_commit *c);
GKV_EXTERN const gkv_signature *gkv_commit_committer(const gkv_commit *c);
/** The full message, NUL-terminated, as stored. */
GKV_EXTERN const char *gkv_commit_message(const gkv_commit *c);
/** The first line of the message, without its newline (lives as long as c). */
GKV_EXTERN const char *gkv_commit_summary(gkv_commit *c);
GKV_EXTERN void gkv_commit_free(gkv_commit *c);

/**
 * Write a commit object (moves no branch). author and committer may be
 * NULL for the repo's default signature dated now. Every parent must be
 * a commit in the store and tree_id a tree in the store (GKV_E_NOTFOUND).
 */
GKV_EXTERN int gkv_commit_create(gkv_oid *out, gkv_repo *repo, const gkv_oid *tree_id,
    const gkv_oid *parents, size_t nparents, const gkv_signature *author,
    const gkv_signature *committer, const char *message);

/* ----------------------------------------------------------------- trees */

/**
 * A tree is an immutable, persistent value: every change returns a new
 * tree that shares the unchanged parts with the old one, which stays
 * valid. Trees load lazily from the store and compute their hashes only
 * when asked (gkv_tree_id) or written (gkv_tree_write). A tree may be
 * shared by threads. It belongs to the repo it came from and must be
 * freed before that repo.
 */
typedef struct gkv_tree gkv_tree;

/** What a path names. Entries gitkv does not create read as EXEC, LINK, SUBMODULE. */
typedef enum {
	GKV_KIND_NONE = 0,     /**< nothing at that path */
	GKV_KIND_VALUE = 1,    /**< a value (blob, mode 100644) */
	GKV_KIND_DIR = 2,      /**< a directory (tree, mode 40000) */
	GKV_KIND_EXEC = 3,     /**< an executable file (blob, mode 100755) */
	GKV_KIND_LINK = 4,     /**< a symbolic link (blob, mode 120000) */
	GKV_KIND_SUBMODULE = 5 /**< a submodule (commit link, mode 160000) */
} gkv_kind;

/** The empty tree of repo. */
GKV_EXTERN int gkv_tree_empty(gkv_tree **out, gkv_repo *repo);
/** A stored tree. GKV_E_NOTFOUND, GKV_E_INVALID (not a tree), GKV_E_CORRUPT. */
GKV_EXTERN int gkv_tree_lookup(gkv_tree **out, gkv_repo *repo, const gkv_oid *id);
/** Another reference to the same tree (cheap). */
GKV_EXTERN gkv_tree *gkv_tree_dup(gkv_tree *tree);
GKV_EXTERN void gkv_tree_free(gkv_tree *tree);

/** The value at path. GKV_E_NOTFOUND if absent or a directory. */
GKV_EXTERN int gkv_tree_get(gkv_buf *out, gkv_tree *tree, const char *path);
/** The value at path; *found is 0 (and out empty) when there is none. */
GKV_EXTERN int gkv_tree_find(gkv_buf *out, int *found, gkv_tree *tree, const char *path);
/** What path names in the tree (GKV_KIND_NONE if nothing). */
GKV_EXTERN int gkv_tree_kind(gkv_kind *out, gkv_tree *tree, const char *path);
/** The subtree at path ("" is the tree itself). GKV_E_NOTFOUND if absent or a value. */
GKV_EXTERN int gkv_tree_subtree(gkv_tree **out, gkv_tree *tree, const char *path);

/** A new tree with value at path (intermediate directories are made, a
 * value in the way is replaced). *out may be the same tree if nothing changed. */
GKV_EXTERN int gkv_tree_set(gkv_tree **out, gkv_tree *tree, const char *path,
    const void *value, size_t len);
/** A new tree without path (value or directory); emptied directories vanish.
 * Removing an absent path gives the same tree. */
GKV_EXTERN int gkv_tree_remove(gkv_tree **out, gkv_tree *tree, const char *path);
/** A new tree with subtree at path ("" replaces the whole tree). An empty
 * subtree removes path. subtree must come from the same repo. */
GKV_EXTERN int gkv_tree_set_tree(gkv_tree **out, gkv_tree *tree, const char *path,
    gkv_tree *subtree);

/** The tree's id (hashes are computed once and remembered). Writes nothing. */
GKV_EXTERN int gkv_tree_id(gkv_oid *out, gkv_tree *tree);
/** Write the tree and everything under it that the store lacks; its id in out. */
GKV_EXTERN int gkv_tree_write(gkv_oid *out, gkv_tree *tree);
/** 1 if the tree has no entries. */
GKV_EXTERN int gkv_tree_is_empty(gkv_tree *tree);
/** 1 if both trees have the same contents (compares hashes). */
GKV_EXTERN int gkv_tree_equal(gkv_tree *a, gkv_tree *b);

/** One directory listing: names sorted by bytes, with their kinds. */
typedef struct gkv_list gkv_list;

/** The children of the directory at path. GKV_E_NOTFOUND if absent or a value. */
GKV_EXTERN int gkv_tree_list(gkv_list **out, gkv_tree *tree, const char *path);
GKV_EXTERN size_t gkv_list_count(const gkv_list *list);
GKV_EXTERN const char *gkv_list_name(const gkv_list *list, size_t i);
GKV_EXTERN gkv_kind gkv_list_kind(const gkv_list *list, size_t i);
GKV_EXTERN void gkv_list_free(gkv_list *list);

/**
 * Call cb for every entry under path ("" for all) that is not a
 * directory, in path order (bytes), with its full path, kind and
 * contents. A non-zero return from cb stops the walk and is returned.
 */
typedef int (*gkv_tree_fold_cb)(const char *path, gkv_kind kind, const void *value,
    size_t len, void *payload);
GKV_EXTERN int gkv_tree_fold(gkv_tree *tree, const char *path, gkv_tree_fold_cb cb, void *payload);

/* ------------------------------------------------------------------ diff */

typedef enum {
	GKV_DIFF_ADDED = 1,
	GKV_DIFF_REMOVED = 2,
	GKV_DIFF_CHANGED = 3
} gkv_diff_op;

/** The differences between two trees, one entry per value path, sorted by path (bytes). */
typedef struct gkv_diff gkv_diff;

/** Diff two trees (from old to new). Unchanged subtrees are skipped by hash. */
GKV_EXTERN int gkv_diff_trees(gkv_diff **out, gkv_tree *old_tree, gkv_tree *new_tree);
/** Diff the trees of two commits. */
GKV_EXTERN int gkv_diff_commits(gkv_diff **out, gkv_repo *repo, const gkv_oid *old_commit,
    const gkv_oid *new_commit);
GKV_EXTERN size_t gkv_diff_count(const gkv_diff *diff);
GKV_EXTERN const char *gkv_diff_path(const gkv_diff *diff, size_t i);
GKV_EXTERN gkv_diff_op gkv_diff_op_at(const gkv_diff *diff, size_t i);
/** Old (new) value of entry i, or NULL when added (removed); length in *len. */
GKV_EXTERN const void *gkv_diff_old_value(const gkv_diff *diff, size_t i, size_t *len);
GKV_EXTERN const void *gkv_diff_new_value(const gkv_diff *diff, size_t i, size_t *len);
GKV_EXTERN gkv_kind gkv_diff_old_kind(const gkv_diff *diff, size_t i);
GKV_EXTERN gkv_kind gkv_diff_new_kind(const gkv_diff *diff, size_t i);
GKV_EXTERN void gkv_diff_free(gkv_diff *diff);

/* ---------------------------------------------------------------- stores */

/**
 * A store is a view of a branch (which need not exist yet: it reads as
 * empty and its first write creates it) or of a fixed commit (writes then
 * move only the view, no branch). Reads see the head at the time of the
 * call. One thread at a time; open one store per thread.
 */
typedef struct gkv_store gkv_store;

GKV_EXTERN int gkv_store_open_branch(gkv_store **out, gkv_repo *repo, const char *branch);
GKV_EXTERN int gkv_store_open_commit(gkv_store **out, gkv_repo *repo, const gkv_oid *commit);
GKV_EXTERN void gkv_store_free(gkv_store *store);
/** The branch name, or NULL for a commit view. */
GKV_EXTERN const char *gkv_store_branch(const gkv_store *store);
/** The head commit. GKV_E_NOTFOUND when the branch has no commit yet. */
GKV_EXTERN int gkv_store_head(gkv_oid *out, gkv_store *store);
/** The head's tree (the empty tree when there is no commit yet). */
GKV_EXTERN int gkv_store_tree(gkv_tree **out, gkv_store *store);

/** Commit information for a write. NULL info means the repo's default
 * author dated now and a message naming the operation and path. */
typedef struct gkv_info gkv_info;
/** message is stored as given (gitkv adds no newline). */
GKV_EXTERN int gkv_info_new(gkv_info **out, const char *message);
/** Author, and committer, of the commit (copied). An unset committer is
 * the repo's default signature dated now, as git commit-tree does. */
GKV_EXTERN int gkv_info_set_author(gkv_info *info, const gkv_signature *author);
GKV_EXTERN int gkv_info_set_committer(gkv_info *info, const gkv_signature *committer);
GKV_EXTERN void gkv_info_free(gkv_info *info);

GKV_EXTERN int gkv_store_get(gkv_buf *out, gkv_store *store, const char *path);
GKV_EXTERN int gkv_store_find(gkv_buf *out, int *found, gkv_store *store, const char *path);
/** *out is 1 if path names a value (any file kind), 0 otherwise. */
GKV_EXTERN int gkv_store_mem(int *out, gkv_store *store, const char *path);
GKV_EXTERN int gkv_store_kind(gkv_kind *out, gkv_store *store, const char *path);
GKV_EXTERN int gkv_store_list(gkv_list **out, gkv_store *store, const char *path);
GKV_EXTERN int gkv_store_get_tree(gkv_tree **out, gkv_store *store, const char *path);

/**
 * The writes. Each makes one commit on the head (parent: the head) and
 * moves the head by compare-and-swap. If another writer moved the head
 * meanwhile, the write is applied again on the new head and retried (a
 * bounded number of times, then GKV_E_CONFLICT), so no update is lost. A
 * write that changes nothing makes no commit. out (may be NULL) receives
 * the resulting head (all zeroes if a write that changed nothing found
 * the branch without a commit). GKV_E_INVALID for a bad path ("" is invalid for set
 * and remove), GKV_E_NOTFOUND for removing an absent path.
 */
GKV_EXTERN int gkv_store_set(gkv_oid *out, gkv_store *store, const char *path,
    const void *value, size_t len, const gkv_info *info);
GKV_EXTERN int gkv_store_remove(gkv_oid *out, gkv_store *store, const char *path,
    const gkv_info *info);
GKV_EXTERN int gkv_store_set_tree(gkv_oid *out, gkv_store *store, const char *path,
    gkv_tree *tree, const gkv_info *info);

/**
 * Set path to new_value (NULL: remove it) only if it currently holds
 * expected (NULL: only if it is absent). GKV_E_CONFLICT, and no commit,
 * when it does not. Retried like the other writes when the head moves
 * for a change elsewhere.
 */
GKV_EXTERN int gkv_store_test_and_set(gkv_oid *out, gkv_store *store, const char *path,
    const gkv_buf *expected, const gkv_buf *new_value, const gkv_info *info);

/* ---------------------------------------------------------- transactions */

/**
 * A transaction starts from the head tree, changes a private copy in
 * memory, and commits all its changes as one commit.
 */
typedef struct gkv_txn gkv_txn;

typedef enum {
	GKV_TXN_FAIL = 0,      /**< GKV_E_CONFLICT if the head moved since begin */
	GKV_TXN_OVERWRITE = 1, /**< commit the transaction's tree on the new head */
	GKV_TXN_MERGE = 2      /**< three-way merge of the transaction's changes into the new head */
} gkv_txn_strategy;

GKV_EXTERN int gkv_txn_begin(gkv_txn **out, gkv_store *store);
GKV_EXTERN int gkv_txn_get(gkv_buf *out, gkv_txn *txn, const char *path);
GKV_EXTERN int gkv_txn_find(gkv_buf *out, int *found, gkv_txn *txn, const char *path);
GKV_EXTERN int gkv_txn_list(gkv_list **out, gkv_txn *txn, const char *path);
GKV_EXTERN int gkv_txn_set(gkv_txn *txn, const char *path, const void *value, size_t len);
/** Removing an absent path is not an error in a transaction. */
GKV_EXTERN int gkv_txn_remove(gkv_txn *txn, const char *path);
GKV_EXTERN int gkv_txn_set_tree(gkv_txn *txn, const char *path, gkv_tree *tree);
/** The transaction's current tree (a new reference). */
GKV_EXTERN int gkv_txn_tree(gkv_tree **out, gkv_txn *txn);
/**
 * Commit: one commit with every change, the head moved by CAS. A
 * transaction that changed nothing makes no commit. out may be NULL. The
 * transaction is finished either way; free it after.
 */
GKV_EXTERN int gkv_txn_commit(gkv_oid *out, gkv_txn *txn, gkv_txn_strategy strategy,
    const gkv_info *info);
/** Abort (if not committed) and free. */
GKV_EXTERN void gkv_txn_free(gkv_txn *txn);

/* --------------------------------------------------------------- history */

/** A walk over commits, newest first (by committer time, parents after children). */
typedef struct gkv_revwalk gkv_revwalk;

GKV_EXTERN int gkv_revwalk_new(gkv_revwalk **out, gkv_repo *repo);
/** Start from this commit (several may be pushed). */
GKV_EXTERN int gkv_revwalk_push(gkv_revwalk *walk, const gkv_oid *id);
/** Leave out this commit and its ancestors. */
GKV_EXTERN int gkv_revwalk_hide(gkv_revwalk *walk, const gkv_oid *id);
/** The next commit id; GKV_ITEROVER when done. */
GKV_EXTERN int gkv_revwalk_next(gkv_oid *out, gkv_revwalk *walk);
GKV_EXTERN void gkv_revwalk_free(gkv_revwalk *walk);

/** *out = 1 if ancestor is descendant or one of its ancestors, else 0. */
GKV_EXTERN int gkv_is_ancestor(int *out, gkv_repo *repo, const gkv_oid *ancestor,
    const gkv_oid *descendant);

/**
 * The lowest common ancestors of a and b (none if unrelated), sorted by
 * id. Release with gkv_oidarray_dispose.
 */
typedef struct gkv_oidarray {
	gkv_oid *ids;
	size_t count;
} gkv_oidarray;
GKV_EXTERN int gkv_merge_bases(gkv_oidarray *out, gkv_repo *repo, const gkv_oid *a,
    const gkv_oid *b);
GKV_EXTERN void gkv_oidarray_dispose(gkv_oidarray *arr);

/**
 * The newest commit reachable from `from` that changed what path holds
 * (value or subtree) compared with its first parent, or that added it.
 * GKV_E_NOTFOUND if no commit did.
 */
GKV_EXTERN int gkv_history_last_change(gkv_oid *out, gkv_repo *repo, const gkv_oid *from,
    const char *path);
/**
 * The oldest commit along the first-parent chain from `from` that changed
 * what path holds (for a path removed and added again: its first
 * creation). GKV_E_NOTFOUND if none did.
 */
GKV_EXTERN int gkv_history_first_change(gkv_oid *out, gkv_repo *repo, const gkv_oid *from,
    const char *path);

/* ---------------------------------------------------------------- merges */

/**
 * Contents merge functions: what a merge does with a path that both sides
 * changed differently (one side changed -> that side; both the same ->
 * that). "Absent" below means the path holds no value on that side.
 *
 *  GKV_MERGE_FN_CONFLICT  the path is reported as a conflict (default).
 *  GKV_MERGE_FN_LWW       last writer wins: the side whose commit has the
 *                         later committer time, then the greater id, wins
 *                         whole (its value, or its absence). Merging two
 *                         trees without commits: theirs wins.
 *  GKV_MERGE_FN_COUNTER   a signed 64-bit counter in decimal text ("42",
 *                         "-7"; absent reads as 0): the result is
 *                         ours + theirs - base. A value that is not such a
 *                         number, or an overflow, is a conflict. The result
 *                         is written in decimal without a newline (a counter
 *                         removed on both sides stays removed: both the same).
 *                         Equal values on both sides are still summed, so
 *                         commits of different writers must differ (author,
 *                         message or time): two identical increments of one
 *                         parent are one and the same commit.
 *  GKV_MERGE_FN_LINES     a set of lines (split on '\n'; absent or empty is
 *                         the empty set): a line is in the result if both
 *                         sides have it, or one side added it (it is not in
 *                         the base); so a line removed on either side stays
 *                         removed. The result is sorted by bytes, one line
 *                         each with a final '\n'; an empty set removes the
 *                         path. With no base this is the plain union.
 */
typedef enum {
	GKV_MERGE_FN_CONFLICT = 0,
	GKV_MERGE_FN_LWW = 1,
	GKV_MERGE_FN_COUNTER = 2,
	GKV_MERGE_FN_LINES = 3
} gkv_merge_fn;

/**
 * A user's contents merge function. Each *_present says whether that side
 * has a value. Return 0 with the result in *out (bytes from malloc(),
 * freed by gitkv) and *out_present = 1, or *out_present = 0 to remove the
 * path; GKV_E_CONFLICT to report a conflict; GKV_MERGE_PASS to leave the
 * path to the rules below (patterns, .gitattributes, default). Any other
 * negative return aborts the merge with that code.
 */
#define GKV_MERGE_PASS 1
typedef int (*gkv_merge_cb)(gkv_buf *out, int *out_present, const char *path,
    const void *base, size_t base_len, int base_present,
    const void *ours, size_t ours_len, int ours_present,
    const void *theirs, size_t theirs_len, int theirs_present, void *payload);

/**
 * How a merge picks the contents merge function of a path, first match
 * wins: the callback (unless it passes); the rules added here, last added
 * first; the tree's root .gitattributes file (lines "PATTERN merge=NAME",
 * NAME one of conflict, lww, counter, lines; the last matching line wins,
 * as in git; read from ours, else theirs, else the base); the default.
 * Replicas must agree on the functions to converge: rules that travel in
 * .gitattributes do. NULL options mean: .gitattributes, then conflict.
 */
typedef struct gkv_merge_options gkv_merge_options;
GKV_EXTERN int gkv_merge_options_new(gkv_merge_options **out);
GKV_EXTERN void gkv_merge_options_free(gkv_merge_options *opts);
GKV_EXTERN int gkv_merge_options_set_default(gkv_merge_options *opts, gkv_merge_fn fn);
/** Patterns as in .gitattributes: "*.count"; with a "/", matched against
 * the whole path; a trailing "/" and two stars: everything under a directory. */
GKV_EXTERN int gkv_merge_options_add_rule(gkv_merge_options *opts, const char *pattern,
    gkv_merge_fn fn);
GKV_EXTERN int gkv_merge_options_set_callback(gkv_merge_options *opts, gkv_merge_cb cb,
    void *payload);
/** Whether .gitattributes is read (default 1). */
GKV_EXTERN int gkv_merge_options_use_attributes(gkv_merge_options *opts, int use);
/** Never fast-forward: always make a merge commit (default 0). */
GKV_EXTERN int gkv_merge_options_set_no_ff(gkv_merge_options *opts, int no_ff);

/** The conflicts of a failed merge: paths (sorted by bytes) with reasons. */
typedef struct gkv_conflicts gkv_conflicts;
GKV_EXTERN size_t gkv_conflicts_count(const gkv_conflicts *c);
GKV_EXTERN const char *gkv_conflicts_path(const gkv_conflicts *c, size_t i);
GKV_EXTERN const char *gkv_conflicts_reason(const gkv_conflicts *c, size_t i);
GKV_EXTERN void gkv_conflicts_free(gkv_conflicts *c);

/**
 * Three-way merge of two trees against base (NULL: the empty tree).
 * GKV_E_CONFLICT when paths conflict: *conflicts (if conflicts is not
 * NULL) lists them and *out is NULL. Writes nothing.
 */
GKV_EXTERN int gkv_merge_trees(gkv_tree **out, gkv_conflicts **conflicts, gkv_tree *base,
    gkv_tree *ours, gkv_tree *theirs, const gkv_merge_options *opts);

/**
 * Merge commit theirs into ours: the lowest common ancestors are the base
 * (several are first merged into a virtual base, as git's recursive
 * strategy does; none: the empty tree). If one side contains the other
 * the result is the other's id (a fast-forward, no new commit). Otherwise
 * a commit with parents ours and theirs is written (no branch moves) and
 * its id put in out. info NULL: message "Merge <theirs> into <ours>".
 * GKV_E_CONFLICT with *conflicts set when paths conflict; nothing written.
 */
GKV_EXTERN int gkv_merge_commits(gkv_oid *out, gkv_conflicts **conflicts, gkv_repo *repo,
    const gkv_oid *ours, const gkv_oid *theirs, const gkv_merge_options *opts,
    const gkv_info *info);

/**
 * Merge commit `from` into branch: gkv_merge_commits with the branch head
 * as ours, then a compare-and-swap of the head (retried, merging again, if
 * another writer moved it). A branch that does not exist is created at
 * from. *out gets the new head. On GKV_E_CONFLICT nothing moves. info NULL:
 * message "Merge <from> into <branch>".
 */
GKV_EXTERN int gkv_merge_into_branch(gkv_oid *out, gkv_conflicts **conflicts, gkv_repo *repo,
    const char *branch, const gkv_oid *from, const gkv_merge_options *opts,
    const gkv_info *info);

/** Merge options used by GKV_TXN_MERGE for this transaction (copied; NULL: defaults). */
GKV_EXTERN int gkv_txn_set_merge_options(gkv_txn *txn, const gkv_merge_options *opts);
/** The conflicts of the last gkv_txn_commit that failed with GKV_E_CONFLICT
 * under GKV_TXN_MERGE (borrowed, lives as long as txn), or NULL. */
GKV_EXTERN const gkv_conflicts *gkv_txn_conflicts(const gkv_txn *txn);

/* ---------------------------------------------------------------- watches */

typedef struct gkv_watch gkv_watch;

/** Called after a branch head moved: old is NULL when it was created, new_head NULL when deleted. */
typedef void (*gkv_watch_branch_cb)(const char *branch, const gkv_oid *old,
    const gkv_oid *new_head, void *payload);
/** Called with the changes under the watched prefix (paths are full paths). */
typedef void (*gkv_watch_path_cb)(const char *branch, const gkv_oid *old,
    const gkv_oid *new_head, const gkv_diff *diff, void *payload);

/**
 * Watch a branch (NULL: every branch). Callbacks run on the thread that
 * moved the head through this repo, after the move, or in
 * gkv_repo_watch_poll for moves made by other processes and handles. A
 * callback must not free its own watch.
 */
GKV_EXTERN int gkv_watch_branch(gkv_watch **out, gkv_repo *repo, const char *branch,
    gkv_watch_branch_cb cb, void *payload);
/** Watch the paths under prefix ("" for all) of a branch; called only when something there changed. */
GKV_EXTERN int gkv_watch_path(gkv_watch **out, gkv_repo *repo, const char *branch,
    const char *prefix, gkv_watch_path_cb cb, void *payload);
/** Stop watching and free. */
GKV_EXTERN void gkv_watch_free(gkv_watch *watch);
/**
 * Look for heads moved by others (other processes, other handles) since
 * the last look, and call the matching watches. *changed gets the number
 * of branches that moved (may be NULL).
 */
GKV_EXTERN int gkv_repo_watch_poll(size_t *changed, gkv_repo *repo);

#ifdef __cplusplus
}
#endif

#endif /* GITKV_H */
