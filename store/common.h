/*
 * common.h -- what every file of the core shares: util/'s errors, buffers
 * and reference counts, and the core's own process-wide setup.
 * Internal: never installed, never included by a backend (backends see
 * only gitkv/sys/backend.h and util/; scripts/check-layers.sh checks it).
 */
#ifndef GKV_COMMON_H
#define GKV_COMMON_H

#include "util.h"

/* Start libgit2 once for the process, loading it, when a part of the core
 * first needs it (oid.c: sha1dc hashing; identity.c: git's user.name).
 * Never shut down. 0, or GKV_E_ERROR (message set) if it cannot be
 * loaded. */
int gkv__libgit2_init(void);

/* git's name of an object type ("commit", "tree", "blob", "tag"), or
 * "object" for any other value. */
const char *gkv__otype_name(gkv_otype t);

#endif
