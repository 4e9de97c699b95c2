/*
 * backend_util.h -- what the built-in backends (mem, lmdb) share: hex
 * formatting of ids for error messages, the wording of a lost ref
 * compare-and-swap, and prefix matching of ids. Internal to backends/:
 * it includes util/ and the seam, nothing of store/, and the store never
 * includes it.
 */
#ifndef GKV_BACKEND_UTIL_H
#define GKV_BACKEND_UTIL_H

#include "util.h"

/* Write the 40 lowercase hex digits of id and a NUL into out[41] (the
 * store's gkv__hex is not theirs to call). */
void gkv__backend_hex(char out[GKV_OID_HEXSZ + 1], const gkv_oid *id);

/*
 * Raise GKV_E_CONFLICT for the ref name whose CAS expected `expected`
 * (NULL: absent) but found `found` (NULL: absent):
 * "branch ref 'refs/heads/x' moved (expected <hex|nothing>, found <hex|nothing>)".
 */
int gkv__backend_conflict(const char *name, const gkv_oid *expected, const gkv_oid *found);

/* 1 if the hex form of id starts with the first hexlen hex digits of prefix. */
int gkv__backend_prefix_match(const gkv_oid *id, const gkv_oid *prefix, size_t hexlen);

/* Make room for element n of a growing array (doubling; 16 at first). */
int gkv__backend_grow(void **arr, size_t *cap, size_t n, size_t elem);

/* One ref compare-and-swap of a batch: name must be expected (absent if
 * !has_expected) and becomes target (deleted if !has_target). */
typedef struct {
	char *name;
	bool has_expected, has_target;
	gkv_oid expected, target;
} gkv__backend_cas;

/* Append a CAS to a batch's list (the name is copied). */
int gkv__backend_cas_push(gkv__backend_cas **arr, size_t *n, size_t *cap, const char *name,
    const gkv_oid *expected, const gkv_oid *new_target);
/* Free the names of a batch's CAS list and the list. */
void gkv__backend_cas_free(gkv__backend_cas *arr, size_t n);

/* 1 if a ref whose current target is cur (NULL: absent) satisfies a CAS
 * that expects expected (NULL: absent). */
int gkv__backend_cas_ok(const gkv_oid *cur, const gkv_oid *expected);

#endif
