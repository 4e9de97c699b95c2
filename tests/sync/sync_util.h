/*
 * sync_util.h -- what the sync suite shares: stores of each kind in a
 * temporary directory, commits in one call, a snapshot of a store (every
 * ref and the number of objects) to show that a failed operation changed
 * nothing, and the git CLI's view of a git store. Include after <cmocka.h>.
 */
#ifndef GKV_SYNC_UTIL_H
#define GKV_SYNC_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "gitkv.h"
#include "gitkv/sync.h"
#include "gitkv/sys/backend.h"

/* A fresh directory under /tmp for this test (removed by su_cleanup). */
extern char su_dir[256];
void su_setup(void);
void su_cleanup(void);

/* "mem:", "lmdb:DIR/name" or "git:DIR/name" for kind ("mem", "lmdb", "git"). */
void su_uri(char *out, size_t cap, const char *kind, const char *name);
/* The directory of a store named name in su_dir (for lmdb and git). */
void su_path(char *out, size_t cap, const char *name);
/* Open (creating) the store of kind named name, with a fixed author. */
gkv_repo *su_open(const char *kind, const char *name);

/* Set path to value on branch (one commit); the new head. */
gkv_oid su_set(gkv_repo *repo, const char *branch, const char *path, const char *value);
/* Assert branch holds value at path. */
void su_check_value(gkv_repo *repo, const char *branch, const char *path, const char *value);
/* The head of ref (full name), asserted to exist. */
gkv_oid su_ref(gkv_repo *repo, const char *ref);
/* 1 if ref exists. */
int su_has_ref(gkv_repo *repo, const char *ref);

/* Every ref and its target, and the number of objects, as text (free()). */
char *su_state(gkv_repo *repo);
/* Number of objects stored. */
uint64_t su_objects(gkv_repo *repo);

/* Run a shell command (printf-style); its exit status (-1: not run). */
int su_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The first line printed by a shell command, into out (cap bytes). */
void su_sh_line(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* git fsck --strict of the git store named name passes. */
void su_git_fsck(const char *name);

void su_check_rc(int expected, int got, const char *expr, const char *file, int line);
#define assert_ok(expr) su_check_rc(0, (expr), #expr, __FILE__, __LINE__)
#define assert_rc(expected, expr) su_check_rc((expected), (expr), #expr, __FILE__, __LINE__)
/* A pointer to a copy of v (one of a few kept in turn): ids by value in asserts. */
static inline const gkv_oid *su_p(gkv_oid v)
{
	static gkv_oid ring[4];
	static int i;
	i = (i + 1) & 3;
	ring[i] = v;
	return &ring[i];
}
#define assert_oid_eq(a, b) assert_memory_equal((a)->id, (b)->id, GKV_OID_RAWSZ)

#endif
