/*
 * path.h -- keys: validation and splitting of '/'-separated paths.
 * A segment is non-empty, at most GKV__SEGMENT_MAX bytes, never "." or
 * "..", holds no '/' or NUL, and is never a name git refuses as ".git"
 * on any file system (any case; NTFS's "git~1", ".git. ", ".git:x";
 * HFS+'s ignorable code points); ".gitmodules" and ".gitattributes" in
 * any of those spellings may only end a path. A path has at most
 * GKV__PATH_MAX_DEPTH segments. path.c says why. Only the layer that
 * takes paths from users (store, tree, CLI) uses this; nothing below
 * store/ sees paths.
 */
#ifndef GKV_PATH_H
#define GKV_PATH_H

#include "common.h"

/* git's cap on the depth of trees, and fsck's on an entry name's length. */
#define GKV__PATH_MAX_DEPTH 4096
#define GKV__SEGMENT_MAX 4096

/*
 * Validate a path: 0, or GKV_E_INVALID with a message quoting the path and
 * saying why ("invalid path 'a//b': empty segment"). allow_root: whether
 * "" (the root) is accepted.
 */
int gkv__path_check(const char *path, int allow_root);

/*
 * Validate a path that a directory is to be put at (set_tree): as
 * gkv__path_check with the root allowed, and the last segment must be a
 * name git lets a directory have (not ".gitmodules" or ".gitattributes"
 * in any spelling). 0, or GKV_E_INVALID quoting the path.
 */
int gkv__dir_path_check(const char *path);

/* 1 if name (namelen bytes) is a valid segment (as the last of a path). */
int gkv__segment_ok(const char *name, size_t namelen);

/*
 * How git fsck reads a tree entry name (len bytes, no NUL):
 * gkv__name_is_dotgit is 1 if some file system git supports reads it, or
 * a part of it after a '\', as ".git" (fsck's hasDotgit); gkv__name_special
 * is 1 for ".gitmodules", 2 for ".gitattributes" in any of the spellings
 * above, else 0.
 */
int gkv__name_is_dotgit(const char *name, size_t len);
int gkv__name_special(const char *name, size_t len);

/*
 * Check a value about to be written at path (valid, not the root) the
 * way git fsck --strict checks a blob by its name: at a .gitmodules (in
 * any spelling path.c lists), a submodule name that climbs out with "..",
 * a url or path starting with '-', a url git's transports refuse or an
 * update starting with '!'; at a .gitattributes, more than 100 MiB or a
 * line of 2048 bytes or more. 0 (any other path: nothing is read), or
 * GKV_E_INVALID quoting the path and the offending setting, or
 * GKV_E_NOMEM.
 */
int gkv__value_check(const char *path, const void *value, size_t len);

/*
 * Iterate the segments of a valid path: start with *pos = 0; each call
 * sets *seg and *seglen and returns 1, or returns 0 when done.
 */
int gkv__path_next(const char *path, size_t *pos, const char **seg, size_t *seglen);

/* Number of segments of a valid path ("" has 0). */
size_t gkv__path_depth(const char *path);

/*
 * Validate a branch name with git's rules (see gitkv.h); 0 or GKV_E_INVALID
 * quoting the name and the rule broken.
 */
int gkv__branch_check(const char *name);

/*
 * Validate a full ref name ("refs/heads/main", "refs/remotes/o/x"): it
 * starts with "refs/" and follows the rules of a branch name component by
 * component; 0 or GKV_E_INVALID quoting the name and the rule broken.
 */
int gkv__refname_check(const char *name);

/* "refs/heads/<name>" into out (malloc()ed). Validates first. */
int gkv__branch_ref(char **out, const char *name);

#endif
