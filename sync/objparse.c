/*
 * objparse.c -- following a commit's and a tree's links (objparse.h).
 * A commit starts "tree <40 hex>\n", then "parent <40 hex>\n" lines; a
 * tree is a run of "<octal mode> <name>\0<20-byte id>".
 */
#include <string.h>

#include "objparse.h"
#include "util.h"

/* The "<key> <40 hex>\n" line at *p (within end), into *id. 1 if it is
 * such a line (and *p moves past it), 0 if the line has another key. */
static int hex_line(gkv_oid *id, const char **p, const char *end, const char *key)
{
	size_t klen = strlen(key);
	char hex[GKV_OID_HEXSZ + 1];

	if ((size_t)(end - *p) < klen + 1 + GKV_OID_HEXSZ + 1 || memcmp(*p, key, klen) != 0 ||
	    (*p)[klen] != ' ')
		return 0;
	memcpy(hex, *p + klen + 1, GKV_OID_HEXSZ);
	hex[GKV_OID_HEXSZ] = '\0';
	if ((*p)[klen + 1 + GKV_OID_HEXSZ] != '\n' || gkv_oid_fromstr(id, hex) < 0)
		return 0;
	*p += klen + 1 + GKV_OID_HEXSZ + 1;
	return 1;
}

int gkv__commit_links(gkv_oid *tree, const void *data, size_t len,
    int (*cb)(const gkv_oid *parent, void *payload), void *payload)
{
	const char *p = data, *end = p + len;
	gkv_oid parent;
	int rc;

	if (!data || !hex_line(tree, &p, end, "tree"))
		return gkv__error(GKV_E_CORRUPT, "commit has no well-formed tree line");
	while (hex_line(&parent, &p, end, "parent"))
		if ((rc = cb(&parent, payload)) != 0)
			return rc;
	gkv_error_clear(); /* gkv_oid_fromstr may have failed on a later line */
	return 0;
}

int gkv__tree_next(gkv__tree_entry *e, const void *data, size_t len, size_t *pos)
{
	const unsigned char *p = (const unsigned char *)data + *pos, *end = (const unsigned char *)data + len;
	const unsigned char *nul;
	unsigned int mode = 0;
	size_t digits = 0;

	if (*pos >= len)
		return 0;
	while (p < end && *p >= '0' && *p <= '7' && digits < 7) {
		mode = mode * 8 + (unsigned int)(*p - '0');
		p++;
		digits++;
	}
	if (!digits || p >= end || *p != ' ')
		return gkv__error(GKV_E_CORRUPT, "tree entry at byte %zu: malformed mode", *pos);
	p++;
	if (!(nul = memchr(p, '\0', (size_t)(end - p))) || nul == p)
		return gkv__error(GKV_E_CORRUPT, "tree entry at byte %zu: malformed name", *pos);
	if ((size_t)(end - (nul + 1)) < GKV_OID_RAWSZ)
		return gkv__error(GKV_E_CORRUPT, "tree entry at byte %zu: truncated id", *pos);
	e->mode = mode;
	e->name = (const char *)p;
	e->namelen = (size_t)(nul - p);
	memcpy(e->id.id, nul + 1, GKV_OID_RAWSZ);
	*pos = (size_t)(nul + 1 + GKV_OID_RAWSZ - (const unsigned char *)data);
	return 1;
}

long long gkv__object_time(const void *data, size_t len)
{
	const char *p = data, *end = p + len, *line, *nl, *gt;
	long long t;

	for (line = p; line && line < end; line = nl ? nl + 1 : NULL) {
		nl = memchr(line, '\n', (size_t)(end - line));
		if (!nl || nl == line)
			return 0; /* the header ends before a committer or tagger */
		if ((size_t)(nl - line) > 10 && (!memcmp(line, "committer ", 10) ||
		        !memcmp(line, "tagger ", 7))) {
			for (gt = nl; gt > line && gt[-1] != '>'; gt--)
				;
			if (gt == line)
				return 0;
			t = 0;
			for (p = gt; p < nl && *p == ' '; p++)
				;
			for (; p < nl && *p >= '0' && *p <= '9' && t < 100000000000LL; p++)
				t = t * 10 + (*p - '0');
			return t;
		}
	}
	return 0;
}
