/*
 * gitkv.h -- the public API of gitkv, a content-addressed, branchable,
 * versioned key-value store whose objects are git's, byte for byte.
 *
 * This header is the manual. Conventions, which hold for every function
 * unless its comment says otherwise:
 *
 *  - Every function that can fail returns int: 0 on success or a negative
 *    GKV_E_* code. gkv_error_last() then says, in one line, what failed and
 *    on which path, branch or object. Nothing is ever printed. A function
 *    that returns int without being able to fail says so ("cannot fail").
 *  - Results go through out-parameters, placed first. Whatever a function
 *    puts into an out-parameter belongs to the caller and is released with
 *    that type's one free function (gkv_buf_dispose, gkv_tree_free, ...).
 *    Accessors that cannot fail return their value directly; what they
 *    return lives as long as the object they were called on. An out-
 *    parameter is left unspecified when a function fails, unless its
 *    comment says otherwise; nothing needs to be freed then.
 *  - Values are byte buffers with a length, binary-safe, never
 *    NUL-terminated strings. Paths, branch names and messages are
 *    NUL-terminated UTF-8 (or any bytes but NUL). Strings and buffers
 *    passed in are copied when kept; the caller keeps its own.
 *  - Handles are opaque; no struct is passed by value and no function is
 *    variadic, so that the API can be bound from any language (ctypes, FFI).
 *    The only structs whose layout is public are gkv_oid, gkv_buf and
 *    gkv_strarray, and they are only ever passed by pointer.
 *  - Every callback is followed by a void *payload given back to it.
 *  - Threads: a gkv_repo may be shared by threads; so may gkv_tree values
 *    (they are immutable). A gkv_store, gkv_txn, gkv_revwalk or gkv_diff
 *    belongs to one thread at a time. Readers never wait for writers.
 *  - A failed operation leaves the store as it was.
 *  - Every *_free and *_dispose function accepts NULL and does nothing.
 *
 * Errors. Each function's comment ends with "Errors:", listing each code
 * it returns and when. Four shorthands stand for what many functions share:
 *
 *  - "NULL argument": GKV_E_INVALID when a pointer argument is NULL and
 *    the comment does not say it may be. Functions that return int check
 *    this; accessors that return a value directly do not (a NULL handle
 *    is undefined behaviour there unless the comment says what it gives).
 *  - "bad path" / "bad branch name": GKV_E_INVALID when the argument
 *    breaks the rules for paths or branch names below.
 *  - "storage errors": what reading the store can fail with: GKV_E_IO
 *    (the operating system or the storage failed), GKV_E_CORRUPT (a
 *    stored object or ref is malformed, or an object that a tree entry
 *    names is missing from the store), GKV_E_NOMEM.
 *  - "write errors": the storage errors and what writing can fail with
 *    besides: GKV_E_FULL (the disk, a quota or LMDB's map is full),
 *    GKV_E_READONLY (the repo or the backend is read-only), and on the git
 *    backend GKV_E_CONFLICT (a ref's lock file is held by another writer;
 *    the retrying writes below retry it) and GKV_E_EXISTS (a branch "a"
 *    and a branch "a/b" cannot both exist, as git keeps refs as files).
 *
 * Objects that a commit names directly (its root tree, a head commit) are
 * read with a type check: when absent they are GKV_E_NOTFOUND, when of
 * another type GKV_E_INVALID, when malformed GKV_E_CORRUPT.
 *
 * Paths: a path is a sequence of segments separated by '/'. A segment is
 * non-empty, is never "." or "..", holds no '/' or NUL, and is at most
 * 4096 bytes; a path has at most 4096 segments. No leading, trailing or
 * doubled '/'. The empty string "" names the root (valid for reads and for
 * set_tree, invalid for set and remove). Every name git fsck --strict
 * refuses is refused, so that whatever gitkv writes can be pushed to and
 * checked out by git on any system: ".git" in any case, with trailing
 * spaces or dots, with characters HFS+ ignores, as NTFS's "git~1" or with
 * an NTFS stream (".git:..."); ".gitmodules" and ".gitattributes" (in the
 * same spellings) only as values, never directories; and a .gitmodules
 * value whose url or path could be read as an option (starts with '-').
 *
 * Branch names follow git's rules for refs/heads/<name> (git
 * check-ref-format --branch): no "..", no control characters, space, ~ ^ :
 * ? * [ \, no component starting with '.' or ending in ".lock", no "@{",
 * not "@", no leading, trailing or doubled '/', no trailing '.'. Stricter
 * than git: not empty, not "HEAD", and no leading '-'.
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
	GKV_E_TOOLARGE = -15,  /**< a value is larger than the caller's cap (gkv_options_set_max_value) */
	GKV_E_NETWORK = -16,   /**< a remote is unreachable or the transfer broke off */
	GKV_E_AUTH = -17,      /**< a remote refused the credentials (or none were given) */
	GKV_ITEROVER = -31     /**< an iterator has no more items (not an error) */
};

/**
 * The message of the last error raised on this thread, one line (at most
 * 1023 bytes), naming the input concerned. Never NULL ("no error" when
 * there was none). Owned by the library; valid until the next gitkv call
 * on this thread.
 */
GKV_EXTERN const char *gkv_error_last(void);

/**
 * The code of the last error raised on this thread (GKV_OK if none, or
 * after gkv_error_clear). Cannot fail. A successful call does not
 * necessarily reset it: read it only after a call that failed.
 */
GKV_EXTERN int gkv_error_last_code(void);

/**
 * A static description of an error code ("not found", ...): never NULL,
 * "unknown error" for a code that is not a GKV_E_* (nor GKV_OK or
 * GKV_ITEROVER). Never freed.
 */
GKV_EXTERN const char *gkv_strerror(int code);

/** Forget the last error of this thread (code GKV_OK, message "no error"). */
GKV_EXTERN void gkv_error_clear(void);

/**
 * gkv_version: the library's version as numbers (each pointer may be
 * NULL). gkv_version_string: the same as a static string, never freed.
 */
GKV_EXTERN void gkv_version(int *major, int *minor, int *patch);
GKV_EXTERN const char *gkv_version_string(void);

/* ------------------------------------------------------- ids and buffers */

#define GKV_OID_RAWSZ 20
#define GKV_OID_HEXSZ 40

/** An object id: git's SHA-1 of "<type> <len>\0<payload>". */
typedef struct gkv_oid {
	unsigned char id[GKV_OID_RAWSZ];
} gkv_oid;

/**
 * Write the 40 lowercase hex digits of id and a NUL into out[41]. Neither
 * may be NULL.
 */
GKV_EXTERN void gkv_oid_fmt(char *out, const gkv_oid *id);
/**
 * Parse exactly 40 hex digits (either case) and nothing after them.
 * Errors: GKV_E_INVALID (NULL argument, or hex is not 40 hex digits).
 */
GKV_EXTERN int gkv_oid_fromstr(gkv_oid *out, const char *hex);
/**
 * gkv_oid_cmp: <0, 0 or >0 as a sorts before, with or after b (bytes).
 * gkv_oid_equal: 1 if a and b are the same id, else 0.
 * gkv_oid_is_zero: 1 if every byte of id is 0, else 0.
 * They cannot fail; no argument may be NULL (not checked).
 */
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
 * GKV_HASH_SHA1). data may be NULL when len is 0.
 * Errors: GKV_E_INVALID (NULL out; type not COMMIT, TREE, BLOB or TAG;
 * NULL data with len > 0), GKV_E_CORRUPT (the input is a known collision
 * attack, GKV_HASH_SHA1DC), GKV_E_ERROR (libcrypto failed, GKV_HASH_SHA1).
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
 * Errors: GKV_E_INVALID (kind is neither GKV_HASH_SHA1DC nor GKV_HASH_SHA1).
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

/**
 * Free buf->ptr and zero *buf (the struct itself is the caller's). NULL is
 * ignored.
 */
GKV_EXTERN void gkv_buf_dispose(gkv_buf *buf);

/** A list of strings handed to the caller; release with gkv_strarray_dispose. */
typedef struct gkv_strarray {
	char **strings;
	size_t count;
} gkv_strarray;

/** Free every string and the array, and zero *arr. NULL is ignored. */
GKV_EXTERN void gkv_strarray_dispose(gkv_strarray *arr);

/**
 * Validation helpers, also used by every entry point: 0 if path is a
 * valid path ("" included) or name a valid branch name (see the top).
 * Errors: GKV_E_INVALID (NULL, or a bad path / bad branch name; the
 * message says why).
 */
GKV_EXTERN int gkv_path_validate(const char *path);
GKV_EXTERN int gkv_branch_name_validate(const char *name);

/* ------------------------------------------------------------ signatures */

/** Who made a commit and when: name, email, seconds since the epoch, zone. */
typedef struct gkv_signature gkv_signature;

/**
 * Make a signature (name and email copied). name must be non-empty;
 * neither may hold '<', '>' or a newline; time is seconds since 1970
 * (not negative); offset_minutes is the zone offset (e.g. 120 for +0200),
 * at most 99 h 59 min either way. Free *out with gkv_signature_free.
 * Errors: GKV_E_INVALID (NULL argument, or a field breaks these rules),
 * GKV_E_NOMEM.
 */
GKV_EXTERN int gkv_signature_new(gkv_signature **out, const char *name,
    const char *email, int64_t time, int offset_minutes);
/**
 * The same, dated now (UTC offset 0). Errors: GKV_E_INVALID and GKV_E_NOMEM,
 * as gkv_signature_new.
 */
GKV_EXTERN int gkv_signature_now(gkv_signature **out, const char *name, const char *email);
/**
 * A signature's name, email, time (seconds since 1970) and zone offset
 * (minutes). They cannot fail; sig must not be NULL (not checked). The
 * strings live as long as sig.
 */
GKV_EXTERN const char *gkv_signature_name(const gkv_signature *sig);
GKV_EXTERN const char *gkv_signature_email(const gkv_signature *sig);
GKV_EXTERN int64_t gkv_signature_time(const gkv_signature *sig);
GKV_EXTERN int gkv_signature_offset(const gkv_signature *sig);
/** Free a signature made by gkv_signature_new or _now. NULL is ignored. */
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

/**
 * New options, every one at its default. Free with gkv_options_free; a
 * repo keeps what it needs at open, so the options may be freed right
 * after gkv_repo_open. Errors: GKV_E_INVALID (NULL out), GKV_E_NOMEM.
 */
GKV_EXTERN int gkv_options_new(gkv_options **out);
/** Free options. NULL is ignored. */
GKV_EXTERN void gkv_options_free(gkv_options *opts);
/**
 * Create the store if it does not exist (default: 0, open fails with
 * GKV_E_NOTFOUND). Applies to "lmdb:PATH" and "git:PATH", not to a plain
 * path, and not when read-only is set. Errors: GKV_E_INVALID (NULL opts).
 */
GKV_EXTERN int gkv_options_set_create(gkv_options *opts, int create);
/**
 * Open read-only: every write fails with GKV_E_READONLY (a write that
 * would change nothing still succeeds). Errors: GKV_E_INVALID (NULL opts).
 */
GKV_EXTERN int gkv_options_set_readonly(gkv_options *opts, int readonly);
/**
 * Durability of commits (see gkv_durability); unset, the backend's own.
 * Errors: GKV_E_INVALID (NULL opts, or d is not a gkv_durability).
 */
GKV_EXTERN int gkv_options_set_durability(gkv_options *opts, gkv_durability d);
/**
 * The default author and committer of commits made through this repo
 * (copied). Unset: GITKV_AUTHOR_NAME / GITKV_AUTHOR_EMAIL, else git's
 * user.name / user.email, else "gitkv <gitkv@localhost>".
 * Errors: GKV_E_INVALID (NULL opts, or name or email that
 * gkv_signature_new refuses, NULL included), GKV_E_NOMEM.
 */
GKV_EXTERN int gkv_options_set_author(gkv_options *opts, const char *name, const char *email);
/**
 * How many decoded trees the repo keeps in memory (default 8192; 0: none
 * kept). Errors: GKV_E_INVALID (NULL opts).
 */
GKV_EXTERN int gkv_options_set_cache_size(gkv_options *opts, size_t trees);
/**
 * The largest value, in bytes, that a read of a whole value hands over
 * (gkv_store_get, gkv_store_find, gkv_tree_get, gkv_tree_find, the values
 * of gkv_tree_fold and of diffs): a larger one is GKV_E_TOOLARGE, refused
 * before its memory is allocated where the backend can tell a value's
 * size without reading it (every built-in backend can). 0, the default:
 * no cap. gkv_store_read and gkv_tree_read stream a value of any size in
 * bounded memory and ignore the cap.
 * Errors: GKV_E_INVALID (NULL opts).
 */
GKV_EXTERN int gkv_options_set_max_value(gkv_options *opts, uint64_t bytes);

/**
 * Open a store by name:
 *   "mem:"       a new, empty in-memory store (gone at close);
 *   "lmdb:PATH"  an LMDB environment in directory PATH;
 *   "git:PATH"   a git repository;
 *   "PATH"       an existing store at PATH, its kind detected (LMDB first).
 * opts may be NULL (every default). *out is set to NULL first; on success
 * it is a repo to close with gkv_repo_free, after everything made from
 * it. Thread-safe; the repo may be shared by threads.
 * Errors: GKV_E_INVALID (NULL argument; an empty name; an unknown scheme;
 * "mem:" followed by anything; an empty PATH; PATH not a directory; a
 * plain PATH that exists but holds neither kind; "git:PATH" to create in
 * a non-empty directory that holds no repository), GKV_E_NOTFOUND (the
 * store does not exist and create is not set, or is set but the name is a
 * plain path), GKV_E_READONLY (an LMDB store this process already has
 * open read-only, asked for writing), GKV_E_CORRUPT (PATH is not an LMDB
 * environment, or not one gitkv made, or of an unknown format version;
 * a git repository's core.sharedRepository is malformed), GKV_E_IO,
 * GKV_E_FULL (creating it), GKV_E_NOMEM, GKV_E_ERROR (a lock or libgit2
 * could not be set up).
 */
GKV_EXTERN int gkv_repo_open(gkv_repo **out, const char *uri, const gkv_options *opts);

/**
 * Close a repo and its backend. Every tree, store, transaction, walk and
 * watch made from it must be freed before. NULL is ignored.
 */
GKV_EXTERN void gkv_repo_free(gkv_repo *repo);

/**
 * The branch a store starts on: "main" in a store gitkv made (a git
 * repository's own default otherwise), or what gkv_repo_set_default_branch
 * made it. Lives as long as repo; NULL for a NULL repo. Cannot fail.
 */
GKV_EXTERN const char *gkv_repo_default_branch(const gkv_repo *repo);

/**
 * The kind of backend: "mem", "lmdb", "git", or a custom backend's name
 * ("custom" if it has none, or for a NULL repo). A static string, or the
 * backend's, living as long as repo. Cannot fail.
 */
GKV_EXTERN const char *gkv_repo_backend_name(const gkv_repo *repo);

/**
 * Whether an object exists: *out is 1 or 0.
 * Errors: GKV_E_INVALID (NULL argument), storage errors.
 */
GKV_EXTERN int gkv_repo_object_exists(int *out, gkv_repo *repo, const gkv_oid *id);

/**
 * Read a raw object's payload into out (free with gkv_buf_dispose; empty on
 * failure) and its type into *type (type may be NULL). The bytes are
 * re-hashed and checked against id. Errors: GKV_E_INVALID (NULL argument),
 * GKV_E_NOTFOUND (no such object), GKV_E_CORRUPT (its bytes do not hash to
 * id, or are a known collision attack), GKV_E_INVALID (the backend reports
 * a type that is not an object type), storage errors.
 */
GKV_EXTERN int gkv_repo_object_read(gkv_buf *out, gkv_otype *type, gkv_repo *repo, const gkv_oid *id);

/**
 * Resolve a commit spec into *out: a branch name (tried first, so a
 * branch named like hex digits wins), 40 hex digits, or a unique prefix
 * of at least 4 hex digits of a commit id (objects that are not commits
 * are not counted).
 * Errors: GKV_E_INVALID (NULL argument; neither a valid branch name nor
 * hex digits; fewer than 4 or more than 40 hex digits; the 40-digit
 * object is not a commit), GKV_E_NOTFOUND (no such branch and no commit
 * with that id or prefix), GKV_E_AMBIGUOUS (the prefix matches several
 * commits), storage errors.
 */
GKV_EXTERN int gkv_repo_resolve(gkv_oid *out, gkv_repo *repo, const char *spec);

/* ------------------------------------------------------------- branches */

/**
 * Every branch (names without "refs/heads/"), sorted by name (bytes),
 * into *out: free with gkv_strarray_dispose (empty on failure).
 * Errors: GKV_E_INVALID (NULL argument), storage errors.
 */
GKV_EXTERN int gkv_branch_list(gkv_strarray *out, gkv_repo *repo);

/**
 * The commit a branch points at.
 * Errors: GKV_E_INVALID (NULL argument; bad branch name), GKV_E_NOTFOUND (no such
 * branch), storage errors (GKV_E_CORRUPT for a malformed ref).
 */
GKV_EXTERN int gkv_branch_head(gkv_oid *out, gkv_repo *repo, const char *name);

/**
 * Create a branch at commit target. Watches on it are called. Errors:
 * GKV_E_INVALID (NULL argument; bad branch name), GKV_E_EXISTS (the branch
 * exists, or another writer created it meanwhile), GKV_E_NOTFOUND (target
 * is not in the store), GKV_E_INVALID (target is not a commit), write
 * errors.
 */
GKV_EXTERN int gkv_branch_create(gkv_repo *repo, const char *name, const gkv_oid *target);

/**
 * Delete a branch. Watches on it are called. Errors: GKV_E_INVALID (NULL
 * argument; bad branch name), GKV_E_NOTFOUND (no such branch),
 * GKV_E_CONFLICT (another writer moved it between the read and the delete;
 * not retried), write errors.
 */
GKV_EXTERN int gkv_branch_delete(gkv_repo *repo, const char *name);

/**
 * Compare-and-swap a branch head: set it to new_head (NULL deletes it) if
 * and only if it currently is expected (NULL: the branch must not exist).
 * Watches on it are called when it moves. Errors: GKV_E_INVALID (NULL
 * argument [repo, name]), GKV_E_READONLY (checked first), GKV_E_INVALID
 * (bad branch name; new_head is not a commit), GKV_E_NOTFOUND (new_head is
 * not in the store), GKV_E_CONFLICT (the branch was not at expected; the
 * message says what was found), write errors.
 */
GKV_EXTERN int gkv_branch_cas(gkv_repo *repo, const char *name,
    const gkv_oid *expected, const gkv_oid *new_head);

/**
 * Move a branch forward to target if its head is an ancestor of target (or
 * the branch does not exist: it is created; or already is target: nothing
 * happens). Watches on it are called when it moves. Errors: GKV_E_INVALID
 * (NULL argument; bad branch name), GKV_E_NOTFOUND (target, or a commit of
 * the history walked, is not in the store), GKV_E_INVALID (target is not a
 * commit), GKV_E_NONFASTFORWARD (the head is not an ancestor of target),
 * GKV_E_CONFLICT (another writer moved the branch meanwhile; not retried),
 * write errors.
 */
GKV_EXTERN int gkv_branch_fast_forward(gkv_repo *repo, const char *name, const gkv_oid *target);

/* ------------------------------------------------------ refs and config */

/**
 * Read any ref by its full name ("refs/heads/main",
 * "refs/remotes/origin/main") into *out. Errors: GKV_E_INVALID (NULL
 * argument; a name git would refuse), GKV_E_NOTFOUND, storage errors.
 */
GKV_EXTERN int gkv_ref_read(gkv_oid *out, gkv_repo *repo, const char *name);
/**
 * Every ref whose full name starts with prefix ("" for all, "refs/remotes/"
 * for the remote-tracking ones), sorted by bytes, into *out (free with
 * gkv_strarray_dispose). Errors: GKV_E_INVALID (NULL argument),
 * GKV_E_NOMEM, storage errors.
 */
GKV_EXTERN int gkv_ref_list(gkv_strarray *out, gkv_repo *repo, const char *prefix);

/**
 * Make name the store's default branch (what gkv_repo_default_branch
 * returns from now on, in this handle and the next; on a git store,
 * HEAD, as `git symbolic-ref HEAD refs/heads/NAME`; on the others, the
 * setting "gitkv.defaultbranch"). The branch need not exist yet. A name
 * gkv_repo_default_branch gave before stays valid as long as repo. On a
 * read-only repo, setting the name it has succeeds. Errors:
 * GKV_E_INVALID (NULL argument; bad branch name), GKV_E_READONLY,
 * GKV_E_UNSUPPORTED (the backend keeps neither a default branch nor
 * config), GKV_E_NOMEM, storage errors.
 */
GKV_EXTERN int gkv_repo_set_default_branch(gkv_repo *repo, const char *name);

/**
 * A store's settings, under git-config keys ("section.name" or
 * "section.subsection.name"; section and name are letters, digits and
 * '-', without case, and a name starts with a letter, as git requires;
 * a subsection is one or more of any bytes but NUL and newline, with
 * case; the section ends at the first '.', the name starts after the
 * last). On a git store these are the repository's own config file, so
 * "remote.origin.url" is git's (a key git holds several values for
 * reads as its last). Values are strings without NUL or newline.
 *
 * gkv_config_get: the value into *out (a NUL-terminated gkv_buf, free
 * with gkv_buf_dispose). Errors: GKV_E_INVALID (NULL argument; bad key),
 * GKV_E_NOTFOUND (not set), GKV_E_UNSUPPORTED (a backend without config),
 * storage errors.
 */
GKV_EXTERN int gkv_config_get(gkv_buf *out, gkv_repo *repo, const char *key);
/**
 * Set key to value; value NULL removes the key (removing an absent key
 * succeeds). On a read-only repo, a set that changes nothing succeeds.
 * Thread-safe; each set is durable on its own. Errors: GKV_E_INVALID
 * (NULL argument [repo, key]; bad key; a value holding a newline),
 * GKV_E_READONLY, GKV_E_UNSUPPORTED, GKV_E_CONFLICT (git: another writer
 * holds config.lock; nothing changed), storage errors.
 */
GKV_EXTERN int gkv_config_set(gkv_repo *repo, const char *key, const char *value);
/** Called for each config key (lower-cased section and name) and value. */
typedef int (*gkv_config_cb)(const char *key, const char *value, void *payload);
/**
 * Call cb for every key that starts with prefix ("" for all), sorted by
 * key (bytes). The prefix's section (up to its first '.') is compared
 * without case; the rest as given. A non-zero return of cb stops and is
 * returned. Errors: GKV_E_INVALID (NULL argument), GKV_E_UNSUPPORTED,
 * storage errors.
 */
GKV_EXTERN int gkv_config_foreach(gkv_repo *repo, const char *prefix, gkv_config_cb cb,
    void *payload);

/**
 * A branch's log: every move of the branch made through gitkv, newest
 * first, so that a deleted branch or a head moved back can be restored.
 * Each entry holds the id before and after the move (the zero id: the
 * branch did not exist, or was deleted), who moved it and when (the
 * committer of a commit; else the repo's identity, dated at the move)
 * and why, in git's words: "commit: <subject>" ("commit (initial): ..."
 * for a branch's first), "merge <id>: Merge made by the 'gitkv'
 * strategy.", "merge <id>: Fast-forward", "branch: Created from <id>",
 * "reset: moving to <id>" (gkv_branch_cas), "branch: deleted" (to the
 * zero id). A move lands with its entry or not at all. A deleted
 * branch's log is kept, and grows again if the branch is made again.
 * On a git store the log is git's reflog (logs/refs/heads/NAME, read by
 * `git reflog show NAME`), written in bare repositories too; moves made
 * by git itself appear there as git logged them.
 */
typedef struct gkv_reflog gkv_reflog;

/**
 * Read the log of branch name into *out (NULL on failure); free it with
 * gkv_reflog_free. A branch that exists but has never moved through a
 * logging store has an empty log. Errors: GKV_E_INVALID (NULL argument;
 * bad branch name), GKV_E_NOTFOUND (no such branch and no log of one),
 * GKV_E_UNSUPPORTED (a custom backend that keeps no log), GKV_E_CORRUPT
 * (a record of the log does not parse), storage errors, GKV_E_NOMEM.
 * Thread-safe, as any read of the repo.
 */
GKV_EXTERN int gkv_branch_reflog(gkv_reflog **out, gkv_repo *repo, const char *name);
/** The number of entries. Cannot fail; log must not be NULL (not checked). */
GKV_EXTERN size_t gkv_reflog_count(const gkv_reflog *log);
/**
 * Entry i's (0: the newest) id before and after the move (all zero for
 * absent), who moved it and when, and why (one line). NULL if i is out
 * of range; otherwise it lives as long as log. The signature's name may
 * be empty in a log written by another program.
 */
GKV_EXTERN const gkv_oid *gkv_reflog_old_id(const gkv_reflog *log, size_t i);
GKV_EXTERN const gkv_oid *gkv_reflog_new_id(const gkv_reflog *log, size_t i);
GKV_EXTERN const gkv_signature *gkv_reflog_signature(const gkv_reflog *log, size_t i);
GKV_EXTERN const char *gkv_reflog_message(const gkv_reflog *log, size_t i);
/** Free a log from gkv_branch_reflog. NULL is ignored. */
GKV_EXTERN void gkv_reflog_free(gkv_reflog *log);

/* --------------------------------------------------------------- commits */

typedef struct gkv_commit gkv_commit;

/**
 * Load and parse a commit into *out (NULL on failure); free it with
 * gkv_commit_free, before the repo. Errors: GKV_E_INVALID (NULL argument),
 * GKV_E_NOTFOUND (no such object), GKV_E_INVALID (the object is not a
 * commit), GKV_E_CORRUPT (malformed), storage errors.
 */
GKV_EXTERN int gkv_commit_lookup(gkv_commit **out, gkv_repo *repo, const gkv_oid *id);
/**
 * A commit's id, root tree id, number of parents, author and committer.
 * They cannot fail; c must not be NULL (not checked). What they point
 * at lives as long as c.
 */
GKV_EXTERN const gkv_oid *gkv_commit_id(const gkv_commit *c);
GKV_EXTERN const gkv_oid *gkv_commit_tree_id(const gkv_commit *c);
GKV_EXTERN size_t gkv_commit_parentcount(const gkv_commit *c);
/** The n-th parent's id (lives as long as c), or NULL if n is out of range. */
GKV_EXTERN const gkv_oid *gkv_commit_parent_id(const gkv_commit *c, size_t n);
GKV_EXTERN const gkv_signature *gkv_commit_author(const gkv_commit *c);
GKV_EXTERN const gkv_signature *gkv_commit_committer(const gkv_commit *c);
/** The full message, NUL-terminated, as stored (lives as long as c). */
GKV_EXTERN const char *gkv_commit_message(const gkv_commit *c);
/**
 * The first line of the message, without its newline (made at the first
 * call, lives as long as c; "" if memory ran out). Cannot fail.
 */
GKV_EXTERN const char *gkv_commit_summary(gkv_commit *c);
/** Free a commit from gkv_commit_lookup. NULL is ignored. */
GKV_EXTERN void gkv_commit_free(gkv_commit *c);

/**
 * Write a commit object (moves no branch); its id in *out. parents may be
 * NULL when nparents is 0. author and committer may be NULL for the
 * repo's default signature dated now. message is stored as given. tree_id
 * and every parent must already be in the store.
 * Errors: GKV_E_INVALID (NULL argument [out, repo, tree_id, message; parents with
 * nparents > 0]), GKV_E_NOTFOUND (tree_id or a parent is not in the
 * store), GKV_E_INVALID (tree_id is not a tree, a parent is not a
 * commit), write errors.
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
 * freed before that repo. Every gkv_tree handed out (through an out-
 * parameter or gkv_tree_dup) is a reference of its own, released with
 * gkv_tree_free.
 *
 * Reads of a tree load the directories and values they reach from the
 * store, so they can fail with storage errors, GKV_E_CORRUPT covering an
 * entry whose object is missing from the store.
 */
typedef struct gkv_tree gkv_tree;

/**
 * What a path names. Entries gitkv does not create read as EXEC, LINK,
 * SUBMODULE.
 */
typedef enum {
	GKV_KIND_NONE = 0,     /**< nothing at that path */
	GKV_KIND_VALUE = 1,    /**< a value (blob, mode 100644) */
	GKV_KIND_DIR = 2,      /**< a directory (tree, mode 40000) */
	GKV_KIND_EXEC = 3,     /**< an executable file (blob, mode 100755) */
	GKV_KIND_LINK = 4,     /**< a symbolic link (blob, mode 120000) */
	GKV_KIND_SUBMODULE = 5 /**< a submodule (commit link, mode 160000) */
} gkv_kind;

/**
 * The empty tree of repo, into *out. Errors: GKV_E_INVALID (NULL argument),
 * GKV_E_NOMEM.
 */
GKV_EXTERN int gkv_tree_empty(gkv_tree **out, gkv_repo *repo);
/**
 * A stored tree, into *out. Errors: GKV_E_INVALID (NULL argument),
 * GKV_E_NOTFOUND (no such object), GKV_E_INVALID (the object is not a
 * tree), GKV_E_CORRUPT (malformed), storage errors.
 */
GKV_EXTERN int gkv_tree_lookup(gkv_tree **out, gkv_repo *repo, const gkv_oid *id);
/**
 * Another reference to the same tree (cheap), freed with its own
 * gkv_tree_free. Cannot fail; NULL gives NULL.
 */
GKV_EXTERN gkv_tree *gkv_tree_dup(gkv_tree *tree);
/** Release one reference to a tree. NULL is ignored. */
GKV_EXTERN void gkv_tree_free(gkv_tree *tree);

/**
 * The value at path, into out (free with gkv_buf_dispose).
 * Errors: GKV_E_INVALID (NULL argument; bad path), GKV_E_NOTFOUND (nothing there, a
 * directory, or a submodule), storage errors.
 */
GKV_EXTERN int gkv_tree_get(gkv_buf *out, gkv_tree *tree, const char *path);

/**
 * Called with each piece of a value being read, in order (data is valid
 * during the call only; an empty value is one call with len 0). A non-zero
 * return stops the read, which then returns it.
 */
typedef int (*gkv_read_cb)(const void *data, size_t len, void *payload);

/**
 * Read the value at path through cb, in pieces of at most 64 KiB, in
 * memory that does not grow with the value's size (the built-in backends
 * inflate a stored value a buffer at a time): for values too large to
 * hold, and to copy a value to a file or a socket. The cap of
 * gkv_options_set_max_value does not apply.
 * Errors: GKV_E_INVALID (NULL argument; bad path), GKV_E_NOTFOUND
 * (nothing there, a directory, or a submodule), GKV_E_CORRUPT (the value
 * is damaged: found after the pieces read before the damage were
 * given), storage errors, or the non-zero value cb returned.
 */
GKV_EXTERN int gkv_tree_read(gkv_tree *tree, const char *path, gkv_read_cb cb, void *payload);

/**
 * What path names in tree, without reading a value: its object id (a
 * value's blob, a directory's tree, a submodule's commit), its kind and,
 * for a value, its size in bytes (0 for the other kinds). Any of id,
 * kind and size may be NULL. Comparing ids tells whether two versions of
 * a path hold the same thing at the cost of a lookup, whatever their size.
 * Errors: GKV_E_INVALID (NULL tree or path; bad path), GKV_E_NOTFOUND
 * (nothing there; "" names the root directory), storage errors.
 */
GKV_EXTERN int gkv_tree_entry(gkv_oid *id, gkv_kind *kind, uint64_t *size, gkv_tree *tree,
    const char *path);
/**
 * The value at path, into out (free with gkv_buf_dispose); *found is 0
 * (and out empty) when there is none (nothing, a directory, a submodule).
 * Errors: GKV_E_INVALID (NULL argument; bad path), storage errors.
 */
GKV_EXTERN int gkv_tree_find(gkv_buf *out, int *found, gkv_tree *tree, const char *path);
/**
 * What path names in the tree (GKV_KIND_NONE if nothing; "" is a
 * directory). Errors: GKV_E_INVALID (NULL argument; bad path), storage errors.
 */
GKV_EXTERN int gkv_tree_kind(gkv_kind *out, gkv_tree *tree, const char *path);
/**
 * The subtree at path ("" is the tree itself), into *out (NULL on failure).
 * Errors: GKV_E_INVALID (NULL argument; bad path), GKV_E_NOTFOUND (nothing
 * there, or not a directory), storage errors.
 */
GKV_EXTERN int gkv_tree_subtree(gkv_tree **out, gkv_tree *tree, const char *path);

/**
 * A new tree with value (copied; may be NULL when len is 0) at path:
 * intermediate directories are made, a value in the way is replaced. *out
 * may be the same tree if nothing changed (still a reference of its own).
 * Errors: GKV_E_INVALID (NULL argument [out, tree, path]; bad path ["" included]),
 * GKV_E_INVALID (NULL value with len > 0), storage errors.
 */
GKV_EXTERN int gkv_tree_set(gkv_tree **out, gkv_tree *tree, const char *path,
    const void *value, size_t len);
/**
 * A new tree without path (value or directory); emptied directories vanish.
 * Removing an absent path gives the same tree (a reference of its own).
 * Errors: GKV_E_INVALID (NULL argument; bad path ["" included]), storage errors.
 */
GKV_EXTERN int gkv_tree_remove(gkv_tree **out, gkv_tree *tree, const char *path);
/**
 * A new tree with subtree at path ("" gives subtree itself). An empty
 * subtree removes path.
 * Errors: GKV_E_INVALID (NULL argument; bad path; subtree comes from
 * another repo), storage errors.
 */
GKV_EXTERN int gkv_tree_set_tree(gkv_tree **out, gkv_tree *tree, const char *path,
    gkv_tree *subtree);

/**
 * The tree's id (hashes are computed once and remembered). Writes nothing.
 * Errors: GKV_E_INVALID (NULL argument), GKV_E_CORRUPT (a value is a known
 * collision attack), GKV_E_INVALID (an entry's mode cannot be written),
 * GKV_E_NOMEM.
 */
GKV_EXTERN int gkv_tree_id(gkv_oid *out, gkv_tree *tree);
/**
 * Write the tree and everything under it that the store lacks, in one
 * batch; its id in *out (out may be NULL). Moves no branch.
 * Errors: GKV_E_INVALID (NULL tree), write errors.
 */
GKV_EXTERN int gkv_tree_write(gkv_oid *out, gkv_tree *tree);
/** 1 if the tree has no entries (or is NULL), else 0. Cannot fail. */
GKV_EXTERN int gkv_tree_is_empty(gkv_tree *tree);
/**
 * 1 if both trees have the same contents (compares hashes), else 0.
 * Cannot fail: 0 also when either is NULL or cannot be hashed (then
 * gkv_error_last says why).
 */
GKV_EXTERN int gkv_tree_equal(gkv_tree *a, gkv_tree *b);

/** One directory listing: names sorted by bytes, with their kinds. */
typedef struct gkv_list gkv_list;

/**
 * The children of the directory at path, into *out (NULL on failure; free
 * with gkv_list_free). Errors: GKV_E_INVALID (NULL argument; bad path),
 * GKV_E_NOTFOUND (nothing there, or a value), storage errors.
 */
GKV_EXTERN int gkv_tree_list(gkv_list **out, gkv_tree *tree, const char *path);
/**
 * A listing's size, i-th name and i-th kind. They cannot fail: 0 for a
 * NULL list; NULL / GKV_KIND_NONE when i is out of range. Names live as
 * long as list.
 */
GKV_EXTERN size_t gkv_list_count(const gkv_list *list);
GKV_EXTERN const char *gkv_list_name(const gkv_list *list, size_t i);
GKV_EXTERN gkv_kind gkv_list_kind(const gkv_list *list, size_t i);
/** Free a listing. NULL is ignored. */
GKV_EXTERN void gkv_list_free(gkv_list *list);

/**
 * Call cb for every entry under path ("" for all) that is not a
 * directory, in path order (bytes), with its full path, kind and
 * contents (a submodule's contents: its 20-byte commit id). The path and
 * value passed to cb are valid only during the call. A path that names a
 * value gives one call; a path that names nothing, none.
 */
typedef int (*gkv_tree_fold_cb)(const char *path, gkv_kind kind, const void *value,
    size_t len, void *payload);
/**
 * Fold cb over the tree as above. Returns 0 when every call returned 0;
 * a non-zero return from cb stops the walk and is returned as it is
 * (even a positive one).
 * Errors: GKV_E_INVALID (NULL argument [tree, path, cb]; bad path), storage errors.
 */
GKV_EXTERN int gkv_tree_fold(gkv_tree *tree, const char *path, gkv_tree_fold_cb cb, void *payload);

/**
 * Called by gkv_tree_walk for each entry: its full path, its kind, its
 * object id (a directory's tree id too), all valid only during the call.
 * Returning GKV_WALK_SKIP for a directory skips what is below it; any
 * other non-zero return stops the walk and is returned.
 */
typedef int (*gkv_tree_walk_cb)(const char *path, gkv_kind kind, const gkv_oid *id,
    void *payload);
/** A gkv_tree_walk_cb's return that skips the directory it was called for. */
#define GKV_WALK_SKIP 1
/**
 * Walk the names and kinds under path ("" for all) without reading a
 * value: only trees are loaded, so a store whose large blobs are absent
 * still lists. Entries come in path order (bytes of the full path, which
 * is git's tree order); with dirs non-zero a directory is passed too,
 * before what it holds (kind GKV_KIND_DIR), else only the entries that
 * are not directories. A path that names a value gives one call; a path
 * that names nothing, none (nor does a path under a value). The
 * directory path names is not passed itself. With dirs, a directory
 * comes right before its contents, so after names that sort before
 * "name/" ("a.txt", then "a", then "a/x": the order of git ls-tree -r
 * -t). Returns 0 when every call returned 0 or GKV_WALK_SKIP; the
 * non-zero return of cb otherwise (even positive, GKV_WALK_SKIP from a
 * value's call excepted). Errors: GKV_E_INVALID (NULL argument [tree, path, cb];
 * bad path), storage errors (GKV_E_CORRUPT for a tree that is missing or
 * malformed).
 */
GKV_EXTERN int gkv_tree_walk(gkv_tree *tree, const char *path, int dirs,
    gkv_tree_walk_cb cb, void *payload);

/* ------------------------------------------------------------------ diff */

typedef enum {
	GKV_DIFF_ADDED = 1,
	GKV_DIFF_REMOVED = 2,
	GKV_DIFF_CHANGED = 3
} gkv_diff_op;

/**
 * The differences between two trees, one entry per value path, sorted by
 * path (bytes).
 */
typedef struct gkv_diff gkv_diff;

/**
 * Diff two trees (from old to new) into *out (free with gkv_diff_free).
 * Unchanged subtrees are skipped by hash.
 * Errors: GKV_E_INVALID (NULL argument; the trees come from different
 * repos), storage errors.
 */
GKV_EXTERN int gkv_diff_trees(gkv_diff **out, gkv_tree *old_tree, gkv_tree *new_tree);
/**
 * Diff the trees of two commits into *out (NULL on failure; free with
 * gkv_diff_free). Errors: GKV_E_INVALID (NULL argument), GKV_E_NOTFOUND (a
 * commit or its tree is not in the store), GKV_E_INVALID (not a commit),
 * storage errors.
 */
GKV_EXTERN int gkv_diff_commits(gkv_diff **out, gkv_repo *repo, const gkv_oid *old_commit,
    const gkv_oid *new_commit);
/**
 * A diff's size, i-th path and i-th operation. They cannot fail: 0 for a
 * NULL diff; NULL / 0 when i is out of range. Paths live as long as diff.
 */
GKV_EXTERN size_t gkv_diff_count(const gkv_diff *diff);
GKV_EXTERN const char *gkv_diff_path(const gkv_diff *diff, size_t i);
GKV_EXTERN gkv_diff_op gkv_diff_op_at(const gkv_diff *diff, size_t i);
/**
 * Old (new) value of entry i, or NULL when added (removed) or i is out of
 * range; length in *len (len may be NULL). A present empty value is a
 * non-NULL pointer with length 0. The bytes live as long as diff.
 */
GKV_EXTERN const void *gkv_diff_old_value(const gkv_diff *diff, size_t i, size_t *len);
GKV_EXTERN const void *gkv_diff_new_value(const gkv_diff *diff, size_t i, size_t *len);
/**
 * Old (new) kind of entry i: GKV_KIND_NONE when added (removed) or out of
 * range.
 */
GKV_EXTERN gkv_kind gkv_diff_old_kind(const gkv_diff *diff, size_t i);
GKV_EXTERN gkv_kind gkv_diff_new_kind(const gkv_diff *diff, size_t i);
/** Free a diff. NULL is ignored. */
GKV_EXTERN void gkv_diff_free(gkv_diff *diff);

/* ---------------------------------------------------------------- stores */

/**
 * A store is a view of a branch (which need not exist yet: it reads as
 * empty and its first write creates it) or of a fixed commit (writes then
 * move only the view, no branch). Reads see the head at the time of the
 * call. One thread at a time; open one store per thread. A store must be
 * freed before its repo, and outlive its transactions.
 *
 * Reading the head can fail as the top says for objects a commit names:
 * GKV_E_NOTFOUND, GKV_E_INVALID or GKV_E_CORRUPT for a head commit or
 * root tree missing, of another type or malformed ("head errors" below).
 */
typedef struct gkv_store gkv_store;

/**
 * A view of branch (copied), into *out (NULL on failure; free with
 * gkv_store_free). Reads nothing yet.
 * Errors: GKV_E_INVALID (NULL argument; bad branch name), GKV_E_NOMEM.
 */
GKV_EXTERN int gkv_store_open_branch(gkv_store **out, gkv_repo *repo, const char *branch);
/**
 * A view of a fixed commit, into *out (NULL on failure; free with
 * gkv_store_free). Errors: GKV_E_INVALID (NULL argument), GKV_E_NOTFOUND
 * (no such object), GKV_E_INVALID (not a commit), GKV_E_CORRUPT
 * (malformed), storage errors.
 */
GKV_EXTERN int gkv_store_open_commit(gkv_store **out, gkv_repo *repo, const gkv_oid *commit);
/** Free a store. NULL is ignored. */
GKV_EXTERN void gkv_store_free(gkv_store *store);
/**
 * The branch name (lives as long as store), or NULL for a commit view or a
 * NULL store.
 */
GKV_EXTERN const char *gkv_store_branch(const gkv_store *store);
/**
 * The head commit (for a commit view: the view's commit, which its writes
 * move). Errors: GKV_E_INVALID (NULL argument), GKV_E_NOTFOUND (the branch
 * has no commit yet), storage errors.
 */
GKV_EXTERN int gkv_store_head(gkv_oid *out, gkv_store *store);
/**
 * The head's tree (the empty tree when there is no commit yet), into *out
 * (free with gkv_tree_free).
 * Errors: GKV_E_INVALID (NULL argument), head errors, storage errors.
 */
GKV_EXTERN int gkv_store_tree(gkv_tree **out, gkv_store *store);

/** Commit information for a write. NULL info means the repo's default
 * author dated now and a message naming the operation and path. */
typedef struct gkv_info gkv_info;
/**
 * New commit information with message (copied, stored as given: gitkv
 * adds no newline), into *out (free with gkv_info_free).
 * Errors: GKV_E_INVALID (NULL argument), GKV_E_NOMEM.
 */
GKV_EXTERN int gkv_info_new(gkv_info **out, const char *message);
/**
 * Author, and committer, of the commit (copied). An unset author or
 * committer is the repo's default signature dated now, as git commit-tree
 * does. Errors: GKV_E_INVALID (NULL argument), GKV_E_NOMEM.
 */
GKV_EXTERN int gkv_info_set_author(gkv_info *info, const gkv_signature *author);
GKV_EXTERN int gkv_info_set_committer(gkv_info *info, const gkv_signature *committer);
/** Free commit information. NULL is ignored. */
GKV_EXTERN void gkv_info_free(gkv_info *info);

/**
 * The reads, on the head at the time of the call ("" names the root).
 *
 * gkv_store_get: the value at path, into out (free with gkv_buf_dispose).
 * GKV_E_NOTFOUND when path holds no value (nothing, a directory, or a
 * submodule).
 *
 * gkv_store_find: the same, but *found is 0 (and out empty) when there is
 * no value, instead of an error.
 *
 * gkv_store_kind: what path names (GKV_KIND_NONE if nothing).
 *
 * gkv_store_list: the children of the directory at path, into *out (free
 * with gkv_list_free). GKV_E_NOTFOUND when path is absent or a value.
 *
 * gkv_store_get_tree: the subtree at path, into *out (free with
 * gkv_tree_free). GKV_E_NOTFOUND when path is absent or not a directory.
 *
 * Errors of all: GKV_E_INVALID (NULL argument; bad path), GKV_E_NOTFOUND as
 * above, head errors, storage errors; get and find also GKV_E_TOOLARGE
 * (the value is larger than gkv_options_set_max_value allows).
 */
GKV_EXTERN int gkv_store_get(gkv_buf *out, gkv_store *store, const char *path);
GKV_EXTERN int gkv_store_find(gkv_buf *out, int *found, gkv_store *store, const char *path);
/**
 * The value at path on the head at the time of the call, through cb in
 * pieces, in bounded memory: gkv_tree_read on the head's tree, with its
 * contract. Errors: GKV_E_INVALID (NULL argument; bad path),
 * GKV_E_NOTFOUND (no value there), GKV_E_CORRUPT (a damaged value), head
 * errors, storage errors, or the non-zero value cb returned.
 */
GKV_EXTERN int gkv_store_read(gkv_store *store, const char *path, gkv_read_cb cb, void *payload);
/**
 * *out is 1 if path names a value (VALUE, EXEC or LINK; not a submodule), 0
 * otherwise. Errors: GKV_E_INVALID (NULL argument; bad path), head errors,
 * storage errors.
 */
GKV_EXTERN int gkv_store_mem(int *out, gkv_store *store, const char *path);
/**
 * gkv_store_kind, gkv_store_list, gkv_store_get_tree: see the block above
 * gkv_store_get. Errors: GKV_E_INVALID (NULL argument; bad path),
 * GKV_E_NOTFOUND (list, get_tree: as said there), head errors, storage
 * errors.
 */
GKV_EXTERN int gkv_store_kind(gkv_kind *out, gkv_store *store, const char *path);
GKV_EXTERN int gkv_store_list(gkv_list **out, gkv_store *store, const char *path);
GKV_EXTERN int gkv_store_get_tree(gkv_tree **out, gkv_store *store, const char *path);

/**
 * The writes. Each makes one commit on the head (parent: the head) and
 * moves the head by compare-and-swap. If another writer moved the head
 * meanwhile, the write is applied again on the new head and retried (up
 * to 1000 times, with a short random pause, then GKV_E_CONFLICT), so no
 * update is lost. A write that changes nothing makes no commit and
 * succeeds, even on a read-only repo. out (may be NULL) receives the
 * resulting head (all zeroes if a write that changed nothing found the
 * branch without a commit). info may be NULL (see gkv_info). Watches on
 * the branch are called after the move, on this thread.
 *
 * gkv_store_set: value (copied; may be NULL when len is 0) at path.
 * gkv_store_remove: remove path (a value or a whole directory).
 * gkv_store_set_tree: tree at path ("" replaces the whole tree; an empty
 * tree removes path); tree stays the caller's.
 *
 * Errors: GKV_E_INVALID (NULL argument [store, path; tree]; bad path ["" is
 * invalid for set and remove]; NULL value with len > 0; a tree from another
 * repo), GKV_E_NOTFOUND (removing an absent path), GKV_E_CONFLICT (gave up:
 * the head kept moving), head errors, write errors.
 */
GKV_EXTERN int gkv_store_set(gkv_oid *out, gkv_store *store, const char *path,
    const void *value, size_t len, const gkv_info *info);
GKV_EXTERN int gkv_store_remove(gkv_oid *out, gkv_store *store, const char *path,
    const gkv_info *info);
GKV_EXTERN int gkv_store_set_tree(gkv_oid *out, gkv_store *store, const char *path,
    gkv_tree *tree, const gkv_info *info);

/**
 * Set path to new_value (NULL: remove it) only if it currently holds
 * expected (NULL: only if nothing is there, not even a directory).
 * Retried like the other writes when the head moves for a change
 * elsewhere; out and info as there.
 * Errors: GKV_E_INVALID (NULL argument [store, path]; bad path ["" included]),
 * GKV_E_INVALID (a buffer with a size but a NULL ptr), GKV_E_CONFLICT
 * (path does not hold expected: no commit; or gave up: the head kept
 * moving), head errors, write errors.
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

/**
 * Begin a transaction on store's head as it is now, into *out (NULL on
 * failure; free with gkv_txn_free before the store).
 * Errors: GKV_E_INVALID (NULL argument), GKV_E_NOMEM, head errors, storage errors.
 */
GKV_EXTERN int gkv_txn_begin(gkv_txn **out, gkv_store *store);
/**
 * Reads of the transaction's tree, its own changes included, as
 * gkv_tree_get, gkv_tree_find and gkv_tree_list do (same ownership).
 * Errors: GKV_E_INVALID (NULL argument; bad path; the transaction was
 * committed), GKV_E_NOTFOUND (get: no value there; list: not a
 * directory), storage errors.
 */
GKV_EXTERN int gkv_txn_get(gkv_buf *out, gkv_txn *txn, const char *path);
GKV_EXTERN int gkv_txn_find(gkv_buf *out, int *found, gkv_txn *txn, const char *path);
GKV_EXTERN int gkv_txn_list(gkv_list **out, gkv_txn *txn, const char *path);
/**
 * Set value (copied; may be NULL when len is 0) at path in the
 * transaction's tree.
 * Errors: GKV_E_INVALID (NULL argument [txn, path]; bad path ["" included]),
 * GKV_E_INVALID (NULL value with len > 0; the transaction was committed),
 * storage errors.
 */
GKV_EXTERN int gkv_txn_set(gkv_txn *txn, const char *path, const void *value, size_t len);
/**
 * Remove path (value or directory). Removing an absent path is not an
 * error in a transaction.
 * Errors: GKV_E_INVALID (NULL argument; bad path ["" included]; the
 * transaction was committed), storage errors.
 */
GKV_EXTERN int gkv_txn_remove(gkv_txn *txn, const char *path);
/**
 * Put tree at path ("" replaces the whole tree; an empty tree removes
 * path); tree stays the caller's.
 * Errors: GKV_E_INVALID (NULL argument; bad path; tree from another repo;
 * the transaction was committed), storage errors.
 */
GKV_EXTERN int gkv_txn_set_tree(gkv_txn *txn, const char *path, gkv_tree *tree);
/**
 * The transaction's current tree (a new reference: free with
 * gkv_tree_free), also after commit. Errors: GKV_E_INVALID (NULL argument).
 */
GKV_EXTERN int gkv_txn_tree(gkv_tree **out, gkv_txn *txn);
/**
 * Commit: one commit with every change, the head moved by CAS; if the
 * head moved since gkv_txn_begin, strategy decides (see
 * gkv_txn_strategy; OVERWRITE and MERGE retry like the store's writes). A
 * transaction that changed nothing makes no commit and succeeds (*out is
 * then the head at begin, left untouched if there was none), as does one
 * whose tree the moved head already holds. out and info may be NULL (the
 * message is then "transaction"). The transaction is finished once this
 * is called with a valid strategy, whatever the result; free it after.
 * Errors: GKV_E_INVALID (NULL txn; already committed; unknown strategy),
 * GKV_E_CONFLICT (FAIL: the head moved, or another writer won the CAS;
 * MERGE: paths conflict, listed by gkv_txn_conflicts; or gave up: the
 * head kept moving), any negative code a merge callback returned (MERGE),
 * head errors, write errors.
 */
GKV_EXTERN int gkv_txn_commit(gkv_oid *out, gkv_txn *txn, gkv_txn_strategy strategy,
    const gkv_info *info);
/** Abort (if not committed) and free. NULL is ignored. */
GKV_EXTERN void gkv_txn_free(gkv_txn *txn);

/* --------------------------------------------------------------- history */

/**
 * A walk over commits, newest first (by committer time, parents after
 * children).
 */
typedef struct gkv_revwalk gkv_revwalk;

/**
 * A new, empty walk over repo's commits, into *out (NULL on failure; free
 * with gkv_revwalk_free, before the repo).
 * Errors: GKV_E_INVALID (NULL argument), GKV_E_NOMEM.
 */
GKV_EXTERN int gkv_revwalk_new(gkv_revwalk **out, gkv_repo *repo);
/**
 * gkv_revwalk_push: start from this commit (several may be pushed).
 * gkv_revwalk_hide: leave out this commit and its ancestors.
 * Both load the commit at once, and only before the first
 * gkv_revwalk_next.
 * Errors: GKV_E_INVALID (NULL argument; the walk has started; id is not a
 * commit), GKV_E_NOTFOUND (id is not in the store), GKV_E_CORRUPT
 * (malformed), storage errors.
 */
GKV_EXTERN int gkv_revwalk_push(gkv_revwalk *walk, const gkv_oid *id);
GKV_EXTERN int gkv_revwalk_hide(gkv_revwalk *walk, const gkv_oid *id);
/**
 * The next commit id into *out; GKV_ITEROVER (not an error) when done, and
 * at every later call. The first call reads the history it needs. Errors:
 * GKV_E_INVALID (NULL argument), GKV_E_NOTFOUND, GKV_E_INVALID or
 * GKV_E_CORRUPT (a commit of the history is missing, not a commit, or
 * malformed), storage errors. After an error every later call fails with
 * the same code.
 */
GKV_EXTERN int gkv_revwalk_next(gkv_oid *out, gkv_revwalk *walk);
/** Free a walk. NULL is ignored. */
GKV_EXTERN void gkv_revwalk_free(gkv_revwalk *walk);

/**
 * *out = 1 if ancestor is descendant or one of its ancestors, else 0.
 * Errors: GKV_E_INVALID (NULL argument), GKV_E_NOTFOUND, GKV_E_INVALID or
 * GKV_E_CORRUPT (a commit given or walked is missing, not a commit, or
 * malformed), storage errors.
 */
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
/**
 * The lowest common ancestors of a and b, into *out (empty on failure; free
 * with gkv_oidarray_dispose). Errors: GKV_E_INVALID (NULL argument),
 * GKV_E_NOTFOUND, GKV_E_INVALID or GKV_E_CORRUPT (a commit given or walked
 * is missing, not a commit, or malformed), storage errors.
 */
GKV_EXTERN int gkv_merge_bases(gkv_oidarray *out, gkv_repo *repo, const gkv_oid *a,
    const gkv_oid *b);
/** Free the ids and zero *arr. NULL is ignored. */
GKV_EXTERN void gkv_oidarray_dispose(gkv_oidarray *arr);

/**
 * The newest commit reachable from `from` that changed what path holds
 * (value or subtree) compared with its first parent, or that added it (""
 * is the whole tree). Errors: GKV_E_INVALID (NULL argument; bad path),
 * GKV_E_NOTFOUND (no commit did; or a commit or tree of the history is
 * missing), GKV_E_INVALID (`from` or a commit walked is not a commit),
 * GKV_E_CORRUPT, storage errors.
 */
GKV_EXTERN int gkv_history_last_change(gkv_oid *out, gkv_repo *repo, const gkv_oid *from,
    const char *path);
/**
 * The oldest commit along the first-parent chain from `from` that changed
 * what path holds (for a path removed and added again: its first
 * creation). The whole chain is read.
 * Errors: those of gkv_history_last_change, GKV_E_NOTFOUND when none did.
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
 * has a value; the side's bytes are valid only during the call. Return 0
 * with the result in *out (bytes from malloc(), freed by gitkv) and
 * *out_present = 1, or *out_present = 0 to remove the path;
 * GKV_E_CONFLICT to report a conflict; GKV_MERGE_PASS to leave the
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
 * as in git; read from ours, else the base -- never from theirs, so that
 * an incoming branch cannot choose how our paths merge); the default.
 * Replicas must agree on the functions to converge: rules that travel in
 * .gitattributes do. NULL options mean: .gitattributes, then conflict.
 */
typedef struct gkv_merge_options gkv_merge_options;
/**
 * New merge options (default CONFLICT, .gitattributes read, fast-forwards
 * allowed), into *out (free with gkv_merge_options_free).
 * Errors: GKV_E_INVALID (NULL argument), GKV_E_NOMEM.
 */
GKV_EXTERN int gkv_merge_options_new(gkv_merge_options **out);
/** Free merge options. NULL is ignored. */
GKV_EXTERN void gkv_merge_options_free(gkv_merge_options *opts);
/**
 * The function of paths no rule, callback or attribute decides.
 * Errors: GKV_E_INVALID (NULL opts, or fn is not a gkv_merge_fn).
 */
GKV_EXTERN int gkv_merge_options_set_default(gkv_merge_options *opts, gkv_merge_fn fn);
/**
 * Add a rule: paths matching pattern (copied) merge with fn. Patterns as
 * in .gitattributes: "*.count"; with a "/", matched against the whole
 * path; a trailing "/" and two stars: everything under a directory.
 * Errors: GKV_E_INVALID (NULL opts, NULL or empty pattern, fn not a
 * gkv_merge_fn), GKV_E_NOMEM.
 */
GKV_EXTERN int gkv_merge_options_add_rule(gkv_merge_options *opts, const char *pattern,
    gkv_merge_fn fn);
/**
 * The callback tried first on each conflicting path (NULL: none), with
 * payload, kept as given (the caller keeps it alive while the options are
 * used). Errors: GKV_E_INVALID (NULL opts).
 */
GKV_EXTERN int gkv_merge_options_set_callback(gkv_merge_options *opts, gkv_merge_cb cb,
    void *payload);
/**
 * Whether .gitattributes is read (default 1). Errors: GKV_E_INVALID (NULL
 * opts).
 */
GKV_EXTERN int gkv_merge_options_use_attributes(gkv_merge_options *opts, int use);
/**
 * Never fast-forward: always make a merge commit unless theirs is already
 * in ours (default 0). Errors: GKV_E_INVALID (NULL opts).
 */
GKV_EXTERN int gkv_merge_options_set_no_ff(gkv_merge_options *opts, int no_ff);

/** The conflicts of a failed merge: paths (sorted by bytes) with reasons. */
typedef struct gkv_conflicts gkv_conflicts;
/**
 * The number of conflicts, and the i-th path and reason. They cannot
 * fail: 0 for NULL; NULL when i is out of range. The strings live as long
 * as c.
 */
GKV_EXTERN size_t gkv_conflicts_count(const gkv_conflicts *c);
GKV_EXTERN const char *gkv_conflicts_path(const gkv_conflicts *c, size_t i);
GKV_EXTERN const char *gkv_conflicts_reason(const gkv_conflicts *c, size_t i);
/** Free conflicts handed out by a merge. NULL is ignored. */
GKV_EXTERN void gkv_conflicts_free(gkv_conflicts *c);

/**
 * Three-way merge of two trees against base (NULL: the empty tree), into
 * *out (a new tree: free with gkv_tree_free). conflicts and opts may be
 * NULL. *out and *conflicts are NULL unless set below. Writes nothing.
 * Errors: GKV_E_INVALID (NULL argument [out, ours, theirs]; the trees
 * come from different repos), GKV_E_CONFLICT (paths conflict: *conflicts,
 * if conflicts is not NULL, lists them; free with gkv_conflicts_free),
 * any negative code the callback returned, storage errors.
 */
GKV_EXTERN int gkv_merge_trees(gkv_tree **out, gkv_conflicts **conflicts, gkv_tree *base,
    gkv_tree *ours, gkv_tree *theirs, const gkv_merge_options *opts);

/**
 * Merge commit theirs into ours: the lowest common ancestors are the base
 * (several are first merged into a virtual base, as git's recursive
 * strategy does; none: the empty tree). If ours contains theirs the
 * result is ours; if theirs contains ours, theirs (a fast-forward, unless
 * no_ff is set); no new commit either way. Otherwise a commit with
 * parents ours and theirs is written (no branch moves) and its id put in
 * out. conflicts, opts and info may be NULL; info NULL: message
 * "Merge <theirs> into <ours>".
 * Errors: GKV_E_INVALID (NULL argument [out, repo, ours, theirs]), GKV_E_NOTFOUND,
 * GKV_E_INVALID or GKV_E_CORRUPT (a commit given or walked is missing,
 * not a commit, or malformed), GKV_E_CONFLICT (paths conflict: *conflicts
 * set as in gkv_merge_trees; nothing written), any negative code the
 * callback returned, write errors (only when a merge commit is written).
 */
GKV_EXTERN int gkv_merge_commits(gkv_oid *out, gkv_conflicts **conflicts, gkv_repo *repo,
    const gkv_oid *ours, const gkv_oid *theirs, const gkv_merge_options *opts,
    const gkv_info *info);

/**
 * Merge commit `from` into branch: gkv_merge_commits with the branch head
 * as ours, then a compare-and-swap of the head (retried, merging again, if
 * another writer moved it, up to 1000 times). A branch that does not
 * exist is created at from; one that already contains from does not
 * move. *out gets the new head (out may be NULL). On GKV_E_CONFLICT
 * nothing moves. info NULL: message "Merge <from> into <branch>".
 * Watches on the branch are called when it moves.
 * Errors: GKV_E_INVALID (NULL argument [repo, branch, from]; bad branch name),
 * GKV_E_READONLY (checked first, even when nothing would move), the
 * errors of gkv_merge_commits, GKV_E_CONFLICT (also: gave up, the head
 * kept moving), write errors.
 */
GKV_EXTERN int gkv_merge_into_branch(gkv_oid *out, gkv_conflicts **conflicts, gkv_repo *repo,
    const char *branch, const gkv_oid *from, const gkv_merge_options *opts,
    const gkv_info *info);

/**
 * Merge options used by GKV_TXN_MERGE for this transaction (copied; NULL:
 * defaults; a callback's payload is kept as given).
 * Errors: GKV_E_INVALID (NULL txn), GKV_E_NOMEM.
 */
GKV_EXTERN int gkv_txn_set_merge_options(gkv_txn *txn, const gkv_merge_options *opts);
/** The conflicts of the last gkv_txn_commit that failed with GKV_E_CONFLICT
 * under GKV_TXN_MERGE (borrowed, lives as long as txn), or NULL (also for a
 * NULL txn). Cannot fail. */
GKV_EXTERN const gkv_conflicts *gkv_txn_conflicts(const gkv_txn *txn);

/* ----------------------------------------------- checking and reclaiming */

/**
 * Check one object as git's fsck and transfer.fsckObjects check it,
 * without a store: a commit's headers (tree, parents, author, committer
 * lines, in order, well formed); a tree's entries (known modes, names not
 * empty and without '/', NUL, ".", "..", ".git" or what a case-folding or
 * NTFS/HFS file system would read as ".git", sorted in git's order, no
 * name twice); a tag's headers. Returns 0 for a good object;
 * GKV_E_CORRUPT with gkv_error_last() naming the problem otherwise, by
 * git's fsck message id first ("treeNotSorted: ...", "badDate: ...";
 * see `git help fsck`). Whatever git fsck --strict refuses is refused.
 * So is what the store could not read, though git accepts it: a tree
 * mode other than 100644, 100755, 120000, 40000, 160000 as spelled there
 * (badFilemode: old gits wrote 100664, which git only notes), a zone
 * whose minutes are 60 or more, more than one space before a date, and
 * a tree, parent, author or committer line after the committer
 * ("misorderedHeader"). A blob always passes: git checks one only by
 * the name a tree gives it. Allocates nothing per tree entry; any bytes
 * give an answer. Thread-safe.
 * Errors: GKV_E_INVALID (NULL data with len > 0; type not COMMIT, TREE,
 * BLOB or TAG), GKV_E_CORRUPT (as above), GKV_E_NOMEM (a tree with a
 * long chain of names that extend one another, whose duplicate check
 * needs memory).
 */
GKV_EXTERN int gkv_object_check(gkv_otype type, const void *data, size_t len);

/** Called by gkv_repo_fsck for each problem: id the object concerned (or
 *  NULL), ref the ref concerned (or NULL), problem one line of text. All
 *  valid only during the call. A non-zero return stops the check. */
typedef int (*gkv_fsck_cb)(const gkv_oid *id, const char *ref, const char *problem,
    void *payload);
/** Called by long work (fsck, gc) with how far it got: done of total
 *  (total 0: not known). A non-zero return stops the work, which then
 *  returns GKV_E_USER and changes nothing. */
typedef int (*gkv_work_cb)(uint64_t done, uint64_t total, void *payload);
/**
 * Read every stored object, re-hash it and check it (gkv_object_check);
 * check every ref names a present object (a commit, for refs under
 * refs/heads/ and refs/remotes/), and every object reachable from the
 * refs is present and of the kind that names it (a tree entry of mode
 * 40000 a tree, of a file mode a blob; a submodule's commit is not
 * looked for). Each problem goes to cb (which may be NULL), once per
 * problem, with the id of the object concerned (a missing object is
 * reported once, however many objects name it): damage the store holds
 * is a problem, never an error. *problems (may be NULL) gets their
 * number. progress (may be NULL) is called as objects are read and
 * walked, last with done equal to total. Writes nothing.
 * Returns 0 when the walk finished, problems or not.
 * Errors: GKV_E_INVALID (NULL repo), GKV_E_USER (cb or progress stopped
 * it), GKV_E_NOMEM, GKV_E_IO.
 */
GKV_EXTERN int gkv_repo_fsck(size_t *problems, gkv_repo *repo, gkv_fsck_cb cb,
    void *payload, gkv_work_cb progress, void *progress_payload);

/** What gkv_repo_gc did. */
typedef struct {
	uint64_t objects_kept;     /**< reachable objects, left in place */
	uint64_t objects_removed;  /**< unreachable objects removed */
	uint64_t bytes_removed;    /**< their size, uncompressed */
	uint64_t reflogs_removed;  /**< logs of deleted branches removed */
} gkv_gc_result;
/**
 * Remove every object no ref reaches (branches, remote-tracking refs and
 * every ref of the store; reflog entries do not keep objects), and the
 * logs of refs that no longer exist, in one batch that lands only if no
 * ref moved meanwhile (else GKV_E_CONFLICT, and nothing is removed: run it
 * again). A CAS of every ref to the value read guards the batch: it
 * moves nothing and logs nothing. A store whose reachable objects are
 * damaged (missing, malformed, of the wrong kind) is left as it is:
 * GKV_E_CORRUPT (gkv_repo_fsck says where). Objects written after gc
 * listed the store are kept. A tree another handle holds in memory,
 * built on objects no ref reached, is not protected: its unchanged
 * parts would not be written again by its next commit; run gc when no
 * writer holds such trees (as with git gc and its grace period). out
 * may be NULL; it is all zeroes on failure.
 * Errors: GKV_E_INVALID (NULL repo), GKV_E_UNSUPPORTED (a backend
 * without batch_delete; a git store: git gc reclaims its space),
 * GKV_E_READONLY, GKV_E_CONFLICT, GKV_E_USER, GKV_E_CORRUPT (damage,
 * as above), storage errors.
 */
GKV_EXTERN int gkv_repo_gc(gkv_gc_result *out, gkv_repo *repo, gkv_work_cb progress,
    void *payload);

/** Counts and sizes of a store's objects, by type. */
typedef struct {
	uint64_t count[5];   /**< indexed by gkv_otype: [GKV_OBJ_COMMIT] ... */
	uint64_t bytes[5];   /**< uncompressed sizes, same index */
	uint64_t refs;       /**< every ref */
	uint64_t branches;   /**< refs under refs/heads/ */
} gkv_repo_stats;
/**
 * Count every stored object by type (reading headers only) into *out.
 * Errors: GKV_E_INVALID (NULL argument), storage errors.
 */
GKV_EXTERN int gkv_repo_stats_read(gkv_repo_stats *out, gkv_repo *repo);
/** Called with one figure of the backend's own (see gkv_repo_backend_stats). */
typedef int (*gkv_stat_cb)(const char *name, uint64_t value, void *payload);
/**
 * The backend's own figures (lmdb: map_size, page_size, pages_used, ...;
 * git: loose_objects, packs, pack_bytes), one cb each; none for a backend
 * that has none. Errors: GKV_E_INVALID (NULL argument), storage errors,
 * cb's non-zero return.
 */
GKV_EXTERN int gkv_repo_backend_stats(gkv_repo *repo, gkv_stat_cb cb, void *payload);

/* ---------------------------------------------------------------- watches */

typedef struct gkv_watch gkv_watch;

/** Called after a branch head moved: old is NULL when it was created,
 * new_head NULL when deleted. The arguments are valid only during the call. */
typedef void (*gkv_watch_branch_cb)(const char *branch, const gkv_oid *old,
    const gkv_oid *new_head, void *payload);
/** Called with the changes under the watched prefix (paths are full paths).
 * The arguments, diff included, are valid only during the call. */
typedef void (*gkv_watch_path_cb)(const char *branch, const gkv_oid *old,
    const gkv_oid *new_head, const gkv_diff *diff, void *payload);

/**
 * Watch a branch (NULL: every branch), into *out (free with gkv_watch_free,
 * before the repo). Callbacks run on the thread that moved the head through
 * this repo, after the move, or in gkv_repo_watch_poll for moves made by
 * other processes and handles. A callback must not free its own watch. The
 * first watch of a repo reads every branch head (what gkv_repo_watch_poll
 * compares with). Errors: GKV_E_INVALID (NULL argument [out, repo, cb]; bad
 * branch name), GKV_E_NOMEM, storage errors.
 */
GKV_EXTERN int gkv_watch_branch(gkv_watch **out, gkv_repo *repo, const char *branch,
    gkv_watch_branch_cb cb, void *payload);
/**
 * Watch the paths under prefix ("" for all) of a branch (not NULL here);
 * called only when something there changed. As gkv_watch_branch otherwise.
 * Errors: GKV_E_INVALID (NULL argument [out, repo, branch, prefix, cb];
 * bad branch name; bad path [prefix]), GKV_E_NOMEM, storage errors.
 */
GKV_EXTERN int gkv_watch_path(gkv_watch **out, gkv_repo *repo, const char *branch,
    const char *prefix, gkv_watch_path_cb cb, void *payload);
/** Stop watching and free. NULL is ignored. */
GKV_EXTERN void gkv_watch_free(gkv_watch *watch);
/**
 * Look for heads moved by others (other processes, other handles) since
 * the last look, and call the matching watches. *changed gets the number
 * of branches that moved (changed may be NULL). On a repo that has never
 * had a watch, the first call only records the heads (0 moved).
 * Errors: GKV_E_INVALID (NULL repo), GKV_E_NOMEM, storage errors.
 */
GKV_EXTERN int gkv_repo_watch_poll(size_t *changed, gkv_repo *repo);

#ifdef __cplusplus
}
#endif

#endif /* GITKV_H */
