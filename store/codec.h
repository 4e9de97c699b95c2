/*
 * codec.h -- git's object formats, byte for byte: tree and commit payloads
 * parsed and serialized, ids computed. Pure functions over bytes: no
 * backend, no cache. Every parser validates strictly and never crashes
 * on hostile input; errors are GKV_E_CORRUPT naming the object.
 */
#ifndef GKV_CODEC_H
#define GKV_CODEC_H

#include "common.h"

/* The tree entry modes git writes (as numbers, octal). */
#define GKV_MODE_TREE 0040000u
#define GKV_MODE_BLOB 0100644u
#define GKV_MODE_EXEC 0100755u
#define GKV_MODE_LINK 0120000u
#define GKV_MODE_GITLINK 0160000u

/* The kind a mode reads as (GKV_KIND_NONE for an unknown mode). */
gkv_kind gkv__mode_kind(uint32_t mode);

/* One parsed tree entry; name points into the parsed payload (not NUL-terminated). */
typedef struct {
	const char *name;
	size_t namelen;
	uint32_t mode;
	gkv_oid id;
} gkv__raw_entry;

/*
 * Git's tree order: entries compare by name bytes, a tree's name as if it
 * ended in '/'. (A directory "a" thus sorts after "a.txt" and before
 * "a0".) Returns <0, 0, >0.
 */
int gkv__entry_cmp(const char *a, size_t alen, int a_is_tree,
    const char *b, size_t blen, int b_is_tree);

/*
 * Parse a tree payload. *out is a malloc()ed array of *count entries whose
 * names point into data (which must outlive them). Rejects, with
 * GKV_E_CORRUPT naming id (which may be NULL): truncation, a mode that is
 * not one of the five above (git's old 100664 and zero-padded modes
 * included), an empty name, a name holding '/' or being ".", "..", ".git"
 * (any case), entries out of git's order, duplicate names.
 */
int gkv__tree_parse(gkv__raw_entry **out, size_t *count, const void *data,
    size_t len, const gkv_oid *id);

/*
 * Write one entry in git's format at p, which has room for 7 + namelen +
 * 1 + 20 bytes; the bytes written, or 0 for a mode git has no spelling
 * for. The name is not checked: for names already validated (a tree
 * node's, which came through the path check or the parser).
 */
size_t gkv__tree_entry_write(unsigned char *p, uint32_t mode, const char *name, size_t namelen,
    const gkv_oid *id);
/* Append one tree entry in git's format ("<mode> <name>\0<20 bytes>"). */
int gkv__tree_put_entry(gkv__sbuf *out, uint32_t mode, const char *name,
    size_t namelen, const gkv_oid *id);

/* The signature's fields (public type gkv_signature is this struct). */
struct gkv_signature {
	char *name;
	char *email;
	int64_t time;
	int offset; /* minutes east of UTC */
};

int gkv__signature_dup(gkv_signature **out, const gkv_signature *sig);

/* A parsed commit; every pointer is malloc()ed, released by gkv__commit_raw_dispose. */
typedef struct {
	gkv_oid tree;
	gkv_oid *parents;
	size_t nparents;
	gkv_signature author;
	gkv_signature committer;
	char *message; /* everything after the blank line, as stored */
} gkv__commit_raw;

/*
 * Parse a commit payload. Understands and skips git's other headers
 * (encoding, gpgsig, mergetag, with continuation lines). Rejects
 * truncated or misordered headers, bad ids, bad signatures:
 * GKV_E_CORRUPT naming id (may be NULL).
 */
int gkv__commit_parse(gkv__commit_raw *out, const void *data, size_t len, const gkv_oid *id);
void gkv__commit_raw_dispose(gkv__commit_raw *c);

/*
 * What a walk of the commit graph needs from a commit: its tree, its
 * parents and its committer time. parents is malloc()ed and kept from one
 * parse to the next (parents_cap entries allocated), so a walk reusing one
 * gkv__commit_graph allocates nothing per commit; release it with
 * gkv__commit_graph_dispose. Start from a zeroed struct.
 */
typedef struct {
	gkv_oid tree;
	gkv_oid *parents;
	size_t nparents, parents_cap;
	int64_t time; /* committer time */
} gkv__commit_graph;

/*
 * The light parse: the same checks as gkv__commit_parse, so it refuses
 * exactly the payloads that one refuses, with the same GKV_E_CORRUPT
 * messages, but copies no signature and never reads the message. On an
 * error nparents is 0 and the buffer is kept.
 */
int gkv__commit_parse_graph(gkv__commit_graph *out, const void *data, size_t len,
    const gkv_oid *id);
void gkv__commit_graph_dispose(gkv__commit_graph *c);

/* Serialize a commit exactly as git commit-tree does. */
int gkv__commit_serialize(gkv__sbuf *out, const gkv_oid *tree, const gkv_oid *parents,
    size_t nparents, const gkv_signature *author, const gkv_signature *committer,
    const char *message);

/* Hex helpers. */
int gkv__hex_prefix_parse(gkv_oid *out, size_t *hexlen, const char *hex);

#endif
