/*
 * tree.h -- internal interface of the persistent tree (store/tree.c).
 */
#ifndef GKV_TREE_H
#define GKV_TREE_H

#include "common.h"

/*
 * The id and mode of what path names in tree, without loading values:
 * GKV_E_NOTFOUND if nothing is there. For "" the tree itself (mode
 * 040000). Computes hashes of changed subtrees if it must.
 */
int gkv__tree_entry_at(gkv_oid *id, uint32_t *mode, gkv_tree *tree, const char *path);

#endif
