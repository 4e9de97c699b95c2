/*
 * objparse.h -- just enough of git's commit and tree formats to follow
 * the links between objects: a commit's tree and parents, a tree's
 * entries. The objects are checked whole (gkv_object_check) before they
 * are parsed here; these parsers still refuse what they cannot read
 * rather than trust that.
 */
#ifndef GKV_SYNC_OBJPARSE_H
#define GKV_SYNC_OBJPARSE_H

#include <stddef.h>

#include "gitkv.h"

/**
 * Parse the tree line and the parent lines of a commit's payload: *tree
 * the tree, and cb(parent, payload) for each parent in order (a non-zero
 * return stops and is returned). GKV_E_CORRUPT when a line is malformed.
 */
int gkv__commit_links(gkv_oid *tree, const void *data, size_t len,
    int (*cb)(const gkv_oid *parent, void *payload), void *payload);

/** One entry of a tree: mode as git writes it in octal, name (not
 *  NUL-terminated, namelen bytes, pointing into the tree), id. */
typedef struct {
	unsigned int mode;
	const char *name;
	size_t namelen;
	gkv_oid id;
} gkv__tree_entry;

/**
 * The entry of a tree's payload at *pos, into *e; *pos moves past it.
 * 1 for an entry, 0 at the end, GKV_E_CORRUPT for a malformed entry.
 */
/* The committer time of a commit, the tagger time of a tag (seconds since
 * the epoch, as written); 0 when the object has neither or it does not
 * parse. Used to order refs, never to decide anything. */
long long gkv__object_time(const void *data, size_t len);

int gkv__tree_next(gkv__tree_entry *e, const void *data, size_t len, size_t *pos);

#endif
