/*
 * codec_tree.c -- git's tree format, byte for byte. A tree payload is a
 * sequence of entries "<mode> <name>\0<20-byte id>", mode in octal ASCII
 * without leading zeros, sorted in git's order. Parsing is on the read
 * hot path (every path lookup parses the trees along it), so it is one
 * pass over the bytes and one allocation; it is also the first thing a
 * hostile object meets, so it checks everything git fsck --strict would
 * reject about entries, plus the names gitkv can never address.
 */
#include <stdio.h>

#include "codec.h"

/* The shortest entry: "40000 a\0" and an id. Bounds the entry count. */
#define MIN_ENTRY (5 + 1 + 1 + 1 + GKV_OID_RAWSZ)

gkv_kind gkv__mode_kind(uint32_t mode)
{
	switch (mode) {
	case GKV_MODE_BLOB:
		return GKV_KIND_VALUE;
	case GKV_MODE_TREE:
		return GKV_KIND_DIR;
	case GKV_MODE_EXEC:
		return GKV_KIND_EXEC;
	case GKV_MODE_LINK:
		return GKV_KIND_LINK;
	case GKV_MODE_GITLINK:
		return GKV_KIND_SUBMODULE;
	default:
		return GKV_KIND_NONE;
	}
}

/*
 * Git sorts a directory as if its name ended in '/', so that a tree's
 * entries come in the same order as the paths of a recursive listing:
 * "a.txt" < "a/" (directory a) < "a0", because '.' < '/' < '0'. A name that
 * ends compares as NUL for a file: a file is never equal to a directory.
 */
int gkv__entry_cmp(const char *a, size_t alen, int a_is_tree, const char *b, size_t blen,
		   int b_is_tree)
{
	size_t len = alen < blen ? alen : blen;
	int r = memcmp(a, b, len);
	unsigned char ca, cb;

	if (r)
		return r;
	ca = alen > len ? (unsigned char)a[len] : a_is_tree ? '/' : '\0';
	cb = blen > len ? (unsigned char)b[len] : b_is_tree ? '/' : '\0';
	return (int)ca - (int)cb;
}

static int corrupt(const gkv_oid *id, size_t off, const char *why)
{
	char hex[GKV_OID_HEXSZ + 1];

	if (!id)
		return gkv__error(GKV_E_CORRUPT, "tree is corrupt: %s (at byte %zu)", why, off);
	gkv_oid_fmt(hex, id);
	return gkv__error(GKV_E_CORRUPT, "object %s is corrupt: %s (tree, at byte %zu)", hex, why,
			  off);
}

/*
 * Parse the mode at p (ending before the space at end). Only the five
 * canonical spellings pass: no leading zero ("040000"), no digit beyond 7,
 * and none of the modes old gits wrote (100664). 0 if not valid.
 */
static uint32_t parse_mode(const char *p, const char *end)
{
	uint32_t mode = 0;

	if (p == end || *p == '0' || end - p > 6)
		return 0;
	for (; p < end; p++) {
		if (*p < '0' || *p > '7')
			return 0;
		mode = (mode << 3) | (uint32_t)(*p - '0');
	}
	return gkv__mode_kind(mode) == GKV_KIND_NONE ? 0 : mode;
}

/* Why a name cannot be an entry, or NULL if it can (see path.h). */
static const char *name_problem(const char *name, size_t len)
{
	if (len == 0)
		return "empty entry name";
	/* One pass for both bytes: names are a few bytes long. */
	for (size_t i = 0; i < len; i++) {
		if (name[i] == '/')
			return "entry name holds '/'";
		if (name[i] == '\0')
			return "entry name holds NUL";
	}
	if (name[0] != '.')
		return NULL;
	if (len == 1 || (len == 2 && name[1] == '.'))
		return "entry name is '.' or '..'";
	if (len == 4 && (name[1] | 0x20) == 'g' && (name[2] | 0x20) == 'i' &&
	    (name[3] | 0x20) == 't')
		return "entry name is '.git'";
	return NULL;
}

static int is_tree(const gkv__raw_entry *e)
{
	return e->mode == GKV_MODE_TREE;
}

/*
 * Whether a file named like directory e sits among the n sorted entries
 * before it. Entries are strictly increasing in git's order (a total
 * order), so a binary search finds it. This catches "a", "a.txt", "a/":
 * sorted, yet "a" twice.
 */
static int file_before(const gkv__raw_entry *v, size_t n, const gkv__raw_entry *e)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = gkv__entry_cmp(v[mid].name, v[mid].namelen, is_tree(&v[mid]), e->name,
				       e->namelen, 0);

		if (r == 0)
			return 1;
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* Check entry i against those before it: order and duplicates. */
static const char *order_problem(const gkv__raw_entry *v, size_t i)
{
	const gkv__raw_entry *prev = &v[i - 1], *e = &v[i];
	int r = gkv__entry_cmp(prev->name, prev->namelen, is_tree(prev), e->name, e->namelen,
			       is_tree(e));

	if (r > 0)
		return "tree entries out of order";
	if (r == 0 || (prev->namelen == e->namelen && !memcmp(prev->name, e->name, e->namelen)))
		return "duplicate tree entry";
	/* A file of the same name can hide before entries "<name><c>" with c < '/'. */
	if (is_tree(e) && prev->namelen > e->namelen && !memcmp(prev->name, e->name, e->namelen) &&
	    file_before(v, i - 1, e))
		return "duplicate tree entry";
	return NULL;
}

/* Parse the entry at data[*off]; advance *off. NULL, or why it is corrupt. */
static const char *parse_entry(gkv__raw_entry *e, const char *data, size_t len, size_t *off)
{
	const char *p = data + *off, *end = data + len, *sp, *nul;
	const char *why;

	sp = memchr(p, ' ', (size_t)(end - p) < 8 ? (size_t)(end - p) : 8);
	if (!sp)
		return "truncated or malformed entry mode";
	if (!(e->mode = parse_mode(p, sp)))
		return "bad entry mode";
	nul = memchr(sp + 1, '\0', (size_t)(end - sp - 1));
	if (!nul)
		return "truncated entry name";
	e->name = sp + 1;
	e->namelen = (size_t)(nul - e->name);
	if ((why = name_problem(e->name, e->namelen)))
		return why;
	if ((size_t)(end - nul - 1) < GKV_OID_RAWSZ)
		return "truncated entry id";
	memcpy(e->id.id, nul + 1, GKV_OID_RAWSZ);
	*off = (size_t)(nul + 1 + GKV_OID_RAWSZ - data);
	return NULL;
}

int gkv__tree_parse(gkv__raw_entry **out, size_t *count, const void *data, size_t len,
		    const gkv_oid *id)
{
	gkv__raw_entry *v;
	size_t n = 0, off = 0, at;
	const char *why;

	*out = NULL;
	*count = 0;
	if (len == 0)
		return 0;
	if (!data)
		return gkv__error(GKV_E_INVALID, "cannot parse a NULL tree of %zu bytes", len);
	v = malloc((len / MIN_ENTRY + 1) * sizeof(*v));
	if (!v)
		return gkv__oom();
	while (off < len) {
		at = off;
		if ((why = parse_entry(&v[n], data, len, &off)) ||
		    (n > 0 && (why = order_problem(v, n)))) {
			free(v);
			return corrupt(id, at, why);
		}
		n++;
	}
	*out = v;
	*count = n;
	return 0;
}

/* git's spelling of a mode: octal, no leading zero. */
static const char *mode_text(uint32_t mode)
{
	switch (mode) {
	case GKV_MODE_BLOB:
		return "100644 ";
	case GKV_MODE_TREE:
		return "40000 ";
	case GKV_MODE_EXEC:
		return "100755 ";
	case GKV_MODE_LINK:
		return "120000 ";
	case GKV_MODE_GITLINK:
		return "160000 ";
	default:
		return NULL;
	}
}

size_t gkv__tree_entry_write(unsigned char *p, uint32_t mode, const char *name, size_t namelen,
			     const gkv_oid *id)
{
	const char *mt = mode_text(mode);
	size_t mlen = mt && mt[5] == ' ' ? 6 : 7; /* "40000 " is the one short mode */

	if (!mt)
		return 0;
	memcpy(p, mt, mlen);
	memcpy(p + mlen, name, namelen);
	p[mlen + namelen] = '\0';
	memcpy(p + mlen + namelen + 1, id->id, GKV_OID_RAWSZ);
	return mlen + namelen + 1 + GKV_OID_RAWSZ;
}

int gkv__tree_put_entry(gkv__sbuf *out, uint32_t mode, const char *name, size_t namelen,
			const gkv_oid *id)
{
	const char *why;
	int rc;

	if (!mode_text(mode))
		return gkv__error(GKV_E_INVALID, "cannot write tree entry with mode %o", mode);
	if ((why = name_problem(name, namelen)))
		return gkv__error(GKV_E_INVALID, "cannot write tree entry '%.*s': %s",
				  (int)(namelen > 256 ? 256 : namelen), name, why);
	if ((rc = gkv__sbuf_grow(out, 7 + namelen + 1 + GKV_OID_RAWSZ)) < 0)
		return rc;
	out->size += gkv__tree_entry_write(out->ptr + out->size, mode, name, namelen, id);
	return 0;
}
