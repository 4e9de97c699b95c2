/*
 * tree.h -- internal interface of the persistent tree (store/tree.c).
 */
#ifndef GKV_TREE_H
#define GKV_TREE_H

#include "common.h"

/* The deepest tree the store builds or walks, as git caps it: a path has
 * at most this many segments, and a stored tree nested deeper is refused
 * as damaged (GKV_E_CORRUPT). */
#define GKV__TREE_MAX_DEPTH 4096

/*
 * The id and mode of what path names in tree, without loading values:
 * GKV_E_NOTFOUND if nothing is there. For "" the tree itself (mode
 * 040000). Computes hashes of changed subtrees if it must.
 */
/* gkv_tree_find for a path already validated (gkv__path_check, root allowed). */
int gkv__tree_find(gkv_buf *out, int *found, gkv_tree *tree, const char *path);
int gkv__tree_entry_at(gkv_oid *id, uint32_t *mode, gkv_tree *tree, const char *path);

/* Entry access for diff and merge: count, name (not NUL-terminated),
 * mode, id (hashing in-memory parts), subtree, value. */
size_t gkv__tree_count(const gkv_tree *t);
const char *gkv__tree_entry_name(const gkv_tree *t, size_t i, size_t *len);
uint32_t gkv__tree_entry_mode(const gkv_tree *t, size_t i);
int gkv__tree_entry_oid(gkv_oid *out, gkv_tree *t, size_t i);
int gkv__tree_entry_child(gkv_tree **out, gkv_tree *t, size_t i);
int gkv__tree_entry_value(gkv_buf *out, gkv_tree *t, size_t i);

/* Building a tree entry by entry (the merge): copy entry i of src (its
 * name must not be in dst yet), add a subtree (skipped if empty), add a
 * value. dst must be a dirty tree the caller owns (gkv_tree_empty). */
int gkv__tree_add_entry_from(gkv_tree *dst, gkv_tree *src, size_t i);
int gkv__tree_add_subtree(gkv_tree *dst, const char *name, size_t len, gkv_tree *sub);
int gkv__tree_add_value(gkv_tree *dst, const char *name, size_t len, const void *data, size_t dlen);

/* The entries of a tree (NULL: none) in name order, bytes, as indices:
 * for joining trees by name (diff, merge), where git's order would put a
 * value and a directory of the same name apart. Free idx with free(). */
typedef struct {
	gkv_tree *t;
	size_t *idx;
	size_t n;
} gkv__by_name;
int gkv__tree_by_name(gkv__by_name *out, gkv_tree *t);
/* Name (not NUL-terminated) of the k-th entry in name order. */
const char *gkv__by_name_at(const gkv__by_name *s, size_t k, size_t *len);
/* Names compared as bytes, a prefix first. */
int gkv__name_cmp(const char *a, size_t la, const char *b, size_t lb);

#endif
