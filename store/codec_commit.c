/*
 * codec_commit.c -- git's commit format, byte for byte:
 *
 *   tree <hex>\n
 *   parent <hex>\n            (zero or more)
 *   author Name <email> <time> <+hhmm>\n
 *   committer Name <email> <time> <+hhmm>\n
 *   <other headers>\n         (encoding, gpgsig, mergetag, ...; a line
 *                              starting with ' ' continues the one before)
 *   \n
 *   message                   (verbatim, to the end)
 *
 * The serializer writes exactly what git commit-tree writes, so the same
 * commit made by gitkv and by git has the same id. The parser takes
 * anything git writes, in the order git fsck insists on, and refuses the
 * rest (truncated lines, missing or misordered core headers, bad ids or
 * signatures, NUL in the headers) rather than guessing.
 */
#include <stdio.h>

#include "codec.h"

#define MAX_OFFSET (99 * 60 + 59)

/* ---------------------------------------------------------- serializing */

static int sig_ok(const gkv_signature *sig)
{
	return sig && sig->name && sig->email && !sig->name[strcspn(sig->name, "<>\n")] &&
	       !sig->email[strcspn(sig->email, "<>\n")] && sig->time >= 0 &&
	       sig->offset >= -MAX_OFFSET && sig->offset <= MAX_OFFSET;
}

/* "<hdr> Name <email> 1234567890 +0130\n" */
static int put_sig(gkv__sbuf *out, const char *hdr, const gkv_signature *sig)
{
	char tail[64];
	int off = sig->offset < 0 ? -sig->offset : sig->offset;
	int rc;

	snprintf(tail, sizeof(tail), "> %lld %c%02d%02d\n", (long long)sig->time,
		 sig->offset < 0 ? '-' : '+', off / 60, off % 60);
	if ((rc = gkv__sbuf_puts(out, hdr)) < 0 || (rc = gkv__sbuf_puts(out, sig->name)) < 0 ||
	    (rc = gkv__sbuf_put(out, " <", 2)) < 0 || (rc = gkv__sbuf_puts(out, sig->email)) < 0)
		return rc;
	return gkv__sbuf_puts(out, tail);
}

static int put_id(gkv__sbuf *out, const char *hdr, const gkv_oid *id)
{
	char hex[GKV_OID_HEXSZ + 1];
	int rc;

	gkv_oid_fmt(hex, id);
	hex[GKV_OID_HEXSZ] = '\n';
	if ((rc = gkv__sbuf_puts(out, hdr)) < 0)
		return rc;
	return gkv__sbuf_put(out, hex, GKV_OID_HEXSZ + 1);
}

/* A NULL message is the empty message; author and committer are checked. */
int gkv__commit_serialize(gkv__sbuf *out, const gkv_oid *tree, const gkv_oid *parents,
			  size_t nparents, const gkv_signature *author,
			  const gkv_signature *committer, const char *message)
{
	size_t start = out->size;
	int rc;

	if (!tree || (nparents && !parents))
		return gkv__error(GKV_E_INVALID, "cannot write a commit without %s",
				  tree ? "its parents" : "a tree");
	if (!sig_ok(author) || !sig_ok(committer))
		return gkv__error(GKV_E_INVALID, "cannot write a commit: invalid %s signature",
				  sig_ok(author) ? "committer" : "author");
	if ((rc = gkv__sbuf_grow(out, 128 + nparents * 48 + (message ? strlen(message) : 0))) < 0)
		return rc;
	rc = put_id(out, "tree ", tree);
	for (size_t i = 0; rc == 0 && i < nparents; i++)
		rc = put_id(out, "parent ", &parents[i]);
	if (rc == 0)
		rc = put_sig(out, "author ", author);
	if (rc == 0)
		rc = put_sig(out, "committer ", committer);
	if (rc == 0)
		rc = gkv__sbuf_putc(out, '\n');
	if (rc == 0 && message)
		rc = gkv__sbuf_puts(out, message);
	if (rc < 0)
		out->size = start;
	return rc;
}

/* -------------------------------------------------------------- parsing */

/* The bytes still to parse, and what to name in errors. */
typedef struct {
	const char *p, *end;
	const char *start;
	const gkv_oid *id;
} cursor;

static int corrupt(const cursor *c, const char *why)
{
	char hex[GKV_OID_HEXSZ + 1];
	size_t off = (size_t)(c->p - c->start);

	if (!c->id)
		return gkv__error(GKV_E_CORRUPT, "commit is corrupt: %s (at byte %zu)", why, off);
	gkv_oid_fmt(hex, c->id);
	return gkv__error(GKV_E_CORRUPT, "object %s is corrupt: %s (commit, at byte %zu)", hex, why,
			  off);
}

/*
 * The next header line, without its '\n': *len bytes at *line. 0 if there
 * is none (no '\n' before the end) or it holds a NUL (git fsck refuses
 * NUL in headers: it would cut the header short for C readers).
 */
static int peek_line(const cursor *c, const char **line, size_t *len)
{
	const char *nl = memchr(c->p, '\n', (size_t)(c->end - c->p));

	if (!nl || memchr(c->p, '\0', (size_t)(nl - c->p)))
		return 0;
	*line = c->p;
	*len = (size_t)(nl - c->p);
	return 1;
}

static int starts(const char *line, size_t len, const char *key)
{
	size_t n = strlen(key);

	return len >= n && !memcmp(line, key, n);
}

/* "<key><40 hex>" exactly. */
static int parse_id_line(gkv_oid *out, const char *line, size_t len, size_t keylen)
{
	char hex[GKV_OID_HEXSZ + 1];

	if (len != keylen + GKV_OID_HEXSZ)
		return -1;
	memcpy(hex, line + keylen, GKV_OID_HEXSZ);
	hex[GKV_OID_HEXSZ] = '\0';
	return gkv_oid_fromstr(out, hex) < 0 ? -1 : 0;
}

/* Decimal digits of [p, end) into *out: no sign, no overflow. */
static int parse_time(int64_t *out, const char *p, const char *end)
{
	int64_t t = 0;

	if (p == end)
		return -1;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9' || t > (INT64_MAX - (*p - '0')) / 10)
			return -1;
		t = t * 10 + (*p - '0');
	}
	*out = t;
	return 0;
}

/* "+hhmm" or "-hhmm", minutes below 60. */
static int parse_zone(int *out, const char *p, const char *end)
{
	int hh, mm;

	if (end - p != 5 || (p[0] != '+' && p[0] != '-'))
		return -1;
	for (int i = 1; i < 5; i++)
		if (p[i] < '0' || p[i] > '9')
			return -1;
	hh = (p[1] - '0') * 10 + (p[2] - '0');
	mm = (p[3] - '0') * 10 + (p[4] - '0');
	if (mm > 59)
		return -1;
	*out = (p[0] == '-' ? -1 : 1) * (hh * 60 + mm);
	return 0;
}

/*
 * "Name <email> <time> <zone>", as git fsck reads it: the name runs to the
 * first '<' and ends with one space, the email to the next '>', then one
 * space, the time, one space, the zone.
 */
static const char *parse_sig(gkv_signature *sig, const char *s, size_t len)
{
	const char *end = s + len, *lt, *gt, *sp;

	lt = memchr(s, '<', len);
	if (!lt || lt == s || lt[-1] != ' ' || memchr(s, '>', (size_t)(lt - s)))
		return "bad name in signature";
	gt = memchr(lt + 1, '>', (size_t)(end - lt - 1));
	if (!gt || memchr(lt + 1, '<', (size_t)(gt - lt - 1)))
		return "bad email in signature";
	if (gt + 1 == end || gt[1] != ' ')
		return "missing date in signature";
	sp = memchr(gt + 2, ' ', (size_t)(end - gt - 2));
	if (!sp || parse_time(&sig->time, gt + 2, sp) < 0)
		return "bad date in signature";
	if (parse_zone(&sig->offset, sp + 1, end) < 0)
		return "bad zone in signature";
	sig->name = gkv__strndup(s, (size_t)(lt - 1 - s));
	sig->email = gkv__strndup(lt + 1, (size_t)(gt - lt - 1));
	if (!sig->name || !sig->email)
		return "";
	return NULL;
}

/* Consume the header line "<key>..." into *line (after the key). */
static int take_header(cursor *c, const char *key, const char **rest, size_t *restlen)
{
	const char *line;
	size_t len, n = strlen(key);

	if (!peek_line(c, &line, &len) || !starts(line, len, key))
		return 0;
	*rest = line + n;
	*restlen = len - n;
	c->p = line + len + 1;
	return 1;
}

static int add_parent(gkv__commit_raw *out, const gkv_oid *id)
{
	size_t n = out->nparents;

	/* Grow at powers of two: most commits have one parent, merges two. */
	if ((n & (n - 1)) == 0) {
		gkv_oid *v = realloc(out->parents, (n ? 2 * n : 1) * sizeof(*v));

		if (!v)
			return gkv__oom();
		out->parents = v;
	}
	out->parents[out->nparents++] = *id;
	return 0;
}

static int parse_ids(gkv__commit_raw *out, cursor *c)
{
	const char *rest;
	size_t len;
	gkv_oid pid;
	int rc;

	if (!take_header(c, "tree ", &rest, &len))
		return corrupt(c, "missing tree header");
	if (parse_id_line(&out->tree, rest, len, 0) < 0)
		return corrupt(c, "bad tree id");
	while (take_header(c, "parent ", &rest, &len)) {
		if (parse_id_line(&pid, rest, len, 0) < 0)
			return corrupt(c, "bad parent id");
		if ((rc = add_parent(out, &pid)) < 0)
			return rc;
	}
	return 0;
}

static int parse_person(gkv_signature *sig, cursor *c, const char *key, const char *missing)
{
	const char *rest, *why;
	size_t len;

	if (!take_header(c, key, &rest, &len))
		return corrupt(c, missing);
	if ((why = parse_sig(sig, rest, len)))
		return *why ? corrupt(c, why) : gkv__oom();
	return 0;
}

/*
 * Skip the headers after committer up to the blank line. Continuation
 * lines (gpgsig, mergetag) start with a space. A core header here is
 * misordered. Ending without a blank line is allowed (git fsck accepts a
 * commit with no body when its last header ends in '\n').
 */
static int skip_extra_headers(cursor *c)
{
	static const char *const core[] = {"tree ", "parent ", "author ", "committer "};
	const char *line;
	size_t len;

	while (c->p < c->end) {
		if (!peek_line(c, &line, &len))
			return corrupt(c, "truncated header or NUL in header");
		if (len == 0) {
			c->p++;
			return 0;
		}
		for (size_t i = 0; i < sizeof(core) / sizeof(core[0]); i++)
			if (starts(line, len, core[i]))
				return corrupt(c, "misordered header");
		c->p = line + len + 1;
	}
	return 0;
}

int gkv__commit_parse(gkv__commit_raw *out, const void *data, size_t len, const gkv_oid *id)
{
	cursor c = {data, (const char *)data + len, data, id};
	int rc;

	memset(out, 0, sizeof(*out));
	if (!data)
		return gkv__error(GKV_E_INVALID, "cannot parse a NULL commit");
	if ((rc = parse_ids(out, &c)) < 0 ||
	    (rc = parse_person(&out->author, &c, "author ", "missing author header")) < 0 ||
	    (rc = parse_person(&out->committer, &c, "committer ", "missing committer header")) <
		0 ||
	    (rc = skip_extra_headers(&c)) < 0)
		goto fail;
	if (!(out->message = gkv__strndup(c.p, (size_t)(c.end - c.p)))) {
		rc = GKV_E_NOMEM;
		goto fail;
	}
	return 0;
fail:
	gkv__commit_raw_dispose(out);
	return rc;
}

void gkv__commit_raw_dispose(gkv__commit_raw *c)
{
	if (!c)
		return;
	free(c->parents);
	free(c->author.name);
	free(c->author.email);
	free(c->committer.name);
	free(c->committer.email);
	free(c->message);
	memset(c, 0, sizeof(*c));
}
