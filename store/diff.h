/*
 * diff.h -- internal: diff two trees (either may be NULL, meaning empty)
 * with every path prefixed by prefix (used by watches on a path).
 */
#ifndef GKV_DIFF_H
#define GKV_DIFF_H

#include "common.h"

int gkv__diff_at(gkv_diff **out, gkv_tree *old_tree, gkv_tree *new_tree, const char *prefix);

/* Keep only the entries at prefix or under it. */
void gkv__diff_filter(gkv_diff *d, const char *prefix);

#endif
