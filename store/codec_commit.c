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
 * signatures, NUL in the headers) rather than guessing. The light parse
 * of history walks (tree, parents, committer time) runs the very same
 * checks but copies no signature and never reads the message.
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
	/* "> <time> <+hhmm>\n" by hand: snprintf was a tenth of the
	 * instructions a commit spends outside hashing. sig_ok holds: the
	 * time is not negative, the zone within +-99:59. */
	char tail[48], digits[24];
	unsigned long long t = (unsigned long long)sig->time;
	int off = sig->offset < 0 ? -sig->offset : sig->offset, nd = 0, rc;
	size_t n = 0;

	do {
		digits[nd++] = (char)('0' + t % 10);
		t /= 10;
	} while (t);
	tail[n++] = '>';
	tail[n++] = ' ';
	while (nd)
		tail[n++] = digits[--nd];
	tail[n++] = ' ';
	tail[n++] = sig->offset < 0 ? '-' : '+';
	tail[n++] = (char)('0' + off / 600);
	tail[n++] = (char)('0' + off / 60 % 10);
	tail[n++] = (char)('0' + off % 60 / 10);
	tail[n++] = (char)('0' + off % 10);
	tail[n++] = '\n';
	if ((rc = gkv__sbuf_puts(out, hdr)) < 0 || (rc = gkv__sbuf_puts(out, sig->name)) < 0 ||
	    (rc = gkv__sbuf_put(out, " <", 2)) < 0 || (rc = gkv__sbuf_puts(out, sig->email)) < 0)
		return rc;
	return gkv__sbuf_put(out, tail, n);
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

/*
 * One more than the value of each byte as a hex digit, 0 for any other
 * byte: the digits gkv_oid_fromstr takes (either case), read without a
 * copy or a call per digit, since ids are most of what a history walk
 * parses.
 */
static const unsigned char hex1[256] = {
    ['0'] = 1,	['1'] = 2,  ['2'] = 3,	['3'] = 4,  ['4'] = 5,	['5'] = 6,  ['6'] = 7,	['7'] = 8,
    ['8'] = 9,	['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
    ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

/* "<key><40 hex>" exactly. */
static int parse_id_line(gkv_oid *out, const char *line, size_t len, size_t keylen)
{
	const unsigned char *h = (const unsigned char *)line + keylen;
	unsigned hi, lo;

	if (len != keylen + GKV_OID_HEXSZ)
		return -1;
	for (size_t i = 0; i < GKV_OID_RAWSZ; i++) {
		hi = hex1[h[2 * i]];
		lo = hex1[h[2 * i + 1]];
		if (!hi || !lo)
			return -1;
		out->id[i] = (unsigned char)((hi - 1) << 4 | (lo - 1));
	}
	return 0;
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

/* A signature as found in the payload: name and email point into it. */
typedef struct {
	const char *name, *email;
	size_t namelen, emaillen;
	int64_t time;
	int offset;
} sig_span;

/*
 * "Name <email> <time> <zone>", as git fsck reads it: the name runs to the
 * first '<' and ends with one space, the email to the next '>', then one
 * space, the time, one space, the zone. NULL if it is one, else why not.
 */
static const char *scan_sig(sig_span *sig, const char *s, size_t len)
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
	sig->name = s;
	sig->namelen = (size_t)(lt - 1 - s);
	sig->email = lt + 1;
	sig->emaillen = (size_t)(gt - lt - 1);
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

/*
 * Append a parent to v (n used, *cap allocated). Grows by doubling: most
 * commits have one parent, merges two, and a buffer kept across commits
 * (the light parse) stops growing at once.
 */
static int add_parent(gkv_oid **v, size_t *n, size_t *cap, const gkv_oid *id)
{
	gkv_oid *p;
	size_t want;

	if (*n == *cap) {
		want = *cap ? 2 * *cap : 1;
		if (want > SIZE_MAX / sizeof(*p) || !(p = realloc(*v, want * sizeof(*p))))
			return gkv__oom();
		*v = p;
		*cap = want;
	}
	(*v)[(*n)++] = *id;
	return 0;
}

/*
 * The headers of a commit, checked but not copied: what both parsers
 * share, so the full and the light parse accept exactly the same
 * payloads. The parents go to the caller's array.
 */
typedef struct {
	gkv_oid tree;
	gkv_oid **parents;
	size_t *nparents, *cap;
	sig_span author, committer;
} scan;

/*
 * The line "<key><40 hex>\n" at c, decoded into *out and consumed: 1, or 0
 * (c unchanged) for any other line. Most lines of a commit are these, and
 * reading them in place skips looking for the end of the line and for
 * NULs (a hex digit is neither).
 */
static int take_id(gkv_oid *out, cursor *c, const char *key, size_t keylen)
{
	size_t len = keylen + GKV_OID_HEXSZ;

	if ((size_t)(c->end - c->p) <= len || c->p[len] != '\n' || memcmp(c->p, key, keylen) ||
	    parse_id_line(out, c->p, len, keylen) < 0)
		return 0;
	c->p += len + 1;
	return 1;
}

/*
 * The header "<key><id>": 1 with the id in *out, 0 if the next line is
 * not that header, or GKV_E_CORRUPT (bad) for a bad id. Well-formed lines
 * take the fast path; the general one finds out what is wrong with the
 * others, so both paths accept exactly the same lines.
 */
static int scan_id(gkv_oid *out, cursor *c, const char *key, size_t keylen, const char *bad)
{
	const char *rest;
	size_t len;

	if (take_id(out, c, key, keylen))
		return 1;
	if (!take_header(c, key, &rest, &len))
		return 0;
	if (parse_id_line(out, rest, len, 0) < 0)
		return corrupt(c, bad);
	return 1;
}

static int scan_ids(scan *s, cursor *c)
{
	gkv_oid pid;
	int rc;

	if ((rc = scan_id(&s->tree, c, "tree ", 5, "bad tree id")) <= 0)
		return rc < 0 ? rc : corrupt(c, "missing tree header");
	while ((rc = scan_id(&pid, c, "parent ", 7, "bad parent id")) > 0)
		if ((rc = add_parent(s->parents, s->nparents, s->cap, &pid)) < 0)
			return rc;
	return rc;
}

static int scan_person(sig_span *sig, cursor *c, const char *key, const char *missing)
{
	const char *rest, *why;
	size_t len;

	if (!take_header(c, key, &rest, &len))
		return corrupt(c, missing);
	if ((why = scan_sig(sig, rest, len)))
		return corrupt(c, why);
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

/* Every header, up to the message (where c is left). */
static int scan_commit(scan *s, cursor *c)
{
	int rc;

	if ((rc = scan_ids(s, c)) < 0 ||
	    (rc = scan_person(&s->author, c, "author ", "missing author header")) < 0 ||
	    (rc = scan_person(&s->committer, c, "committer ", "missing committer header")) < 0)
		return rc;
	return skip_extra_headers(c);
}

static int copy_sig(gkv_signature *out, const sig_span *sig)
{
	out->time = sig->time;
	out->offset = sig->offset;
	out->name = gkv__strndup(sig->name, sig->namelen);
	out->email = gkv__strndup(sig->email, sig->emaillen);
	return out->name && out->email ? 0 : gkv__oom();
}

int gkv__commit_parse(gkv__commit_raw *out, const void *data, size_t len, const gkv_oid *id)
{
	cursor c = {data, (const char *)data + len, data, id};
	size_t cap = 0;
	scan s;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!data)
		return gkv__error(GKV_E_INVALID, "cannot parse a NULL commit");
	s.parents = &out->parents;
	s.nparents = &out->nparents;
	s.cap = &cap;
	if ((rc = scan_commit(&s, &c)) < 0)
		goto fail;
	out->tree = s.tree;
	if ((rc = copy_sig(&out->author, &s.author)) < 0 ||
	    (rc = copy_sig(&out->committer, &s.committer)) < 0)
		goto fail;
	if (!(out->message = gkv__strndup(c.p, (size_t)(c.end - c.p)))) {
		rc = gkv__oom();
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

int gkv__commit_parse_graph(gkv__commit_graph *out, const void *data, size_t len, const gkv_oid *id)
{
	cursor c = {data, (const char *)data + len, data, id};
	scan s;
	int rc;

	if (!data)
		return gkv__error(GKV_E_INVALID, "cannot parse a NULL commit");
	out->nparents = 0;
	s.parents = &out->parents;
	s.nparents = &out->nparents;
	s.cap = &out->parents_cap;
	if ((rc = scan_commit(&s, &c)) < 0) {
		out->nparents = 0;
		return rc;
	}
	out->tree = s.tree;
	out->time = s.committer.time;
	return 0;
}

void gkv__commit_graph_dispose(gkv__commit_graph *c)
{
	if (!c)
		return;
	free(c->parents);
	memset(c, 0, sizeof(*c));
}
