/*
 * path.h -- keys: validation and splitting of '/'-separated paths.
 * A segment is non-empty, never ".", "..", ".git" (any case), and holds no
 * '/' or NUL. Only the layer that takes paths from users (store, tree,
 * CLI) uses this; nothing below store/ sees paths.
 */
#ifndef GKV_PATH_H
#define GKV_PATH_H

#include "common.h"

/*
 * Validate a path: 0, or GKV_E_INVALID with a message quoting the path and
 * saying why ("invalid path 'a//b': empty segment"). allow_root: whether
 * "" (the root) is accepted.
 */
int gkv__path_check(const char *path, int allow_root);

/* 1 if name (namelen bytes) is a valid segment. */
int gkv__segment_ok(const char *name, size_t namelen);

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

/* "refs/heads/<name>" into out (malloc()ed). Validates first. */
int gkv__branch_ref(char **out, const char *name);

#endif
