/*
 * object_check.c -- gkv_object_check: one object checked as `git fsck
 * --strict` and git's transfer.fsckObjects check it, without a store.
 * Sync runs it on every object a remote sends, and fsck on every stored
 * one, so it is one pass over the bytes that allocates nothing per entry,
 * and it is total: any bytes give 0 or GKV_E_CORRUPT, never a read out of
 * bounds (tests/fuzz/fuzz_object_check.c).
 *
 * A problem is named by git's fsck message id ("treeNotSorted",
 * "badDate", ...; `git help fsck` lists them), then said in words. What
 * git fsck --strict refuses is refused. A few things git accepts are
 * refused too, because the store could not read the object (each says
 * "gitkv cannot read it"), so that what passes here is what the store
 * reads:
 *
 *  - tree modes other than the five canonical spellings 100644, 100755,
 *    120000, 40000, 160000: git's badFilemode, which git only reports
 *    (old gits wrote 100664); the zero-padded forms ("040000") are
 *    zeroPaddedFilemode, which --strict refuses too;
 *  - a zone whose minutes are 60 or more, and more than one space
 *    before an author's or committer's date (badTimezone, badDate);
 *  - a tree, parent, author or committer line after the committer
 *    (misorderedHeader, not one of git's ids: git ignores what follows
 *    the committer).
 *
 * What git checks only with the repository at hand (a .gitmodules blob's
 * contents, the type of what an entry names) is for gkv_repo_fsck.
 */
#include <stdarg.h>
#include <stdio.h>

#include "codec.h"
#include "maint.h"
#include "path.h"

/* What to name in messages: the object's id (or NULL) and type. */
typedef struct {
	const gkv_oid *id;
	const char *type;
} ctx;

static int bad(const ctx *c, const char *msgid, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int bad(const ctx *c, const char *msgid, const char *fmt, ...)
{
	char why[512], hex[GKV_OID_HEXSZ + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (!c->id)
		return gkv__error(GKV_E_CORRUPT, "%s is corrupt: %s: %s", c->type, msgid, why);
	gkv_oid_fmt(hex, c->id);
	return gkv__error(GKV_E_CORRUPT, "%s %s is corrupt: %s: %s", c->type, hex, msgid, why);
}

/* A name for a message: at most 64 bytes, control bytes as '?'. */
static const char *quote(char *buf, size_t cap, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < cap && i < n && i < 64; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[i] = '\0';
	return buf;
}

/* ----------------------------------------------------------------- trees */

/*
 * Files whose names a directory's name extends with a byte below '/',
 * kept while later entries could still be that directory: git's order
 * puts "a", "a-b", "a.c" before the directory "a" (sorted as "a/"), so a
 * file and a directory of the same name need not be neighbours. Kept as
 * offsets into the tree; the first few in place, more on the heap (a
 * chain of such names is rare: the stack grows by doubling, not per
 * entry).
 */
#define CANDS_SMALL 16
typedef struct {
	const char **name;
	size_t *len;
	size_t n, cap;
	const char *name_small[CANDS_SMALL];
	size_t len_small[CANDS_SMALL];
} cands;

static int cands_push(cands *s, const char *name, size_t len)
{
	if (s->n == s->cap) {
		size_t cap = s->cap * 2;
		const char **nn = malloc(cap * sizeof(*nn));
		size_t *nl = malloc(cap * sizeof(*nl));

		if (!nn || !nl) {
			free(nn);
			free(nl);
			return gkv__oom();
		}
		memcpy(nn, s->name, s->n * sizeof(*nn));
		memcpy(nl, s->len, s->n * sizeof(*nl));
		if (s->name != s->name_small) {
			free(s->name);
			free(s->len);
		}
		s->name = nn;
		s->len = nl;
		s->cap = cap;
	}
	s->name[s->n] = name;
	s->len[s->n++] = len;
	return 0;
}

static void cands_free(cands *s)
{
	if (s->name != s->name_small) {
		free(s->name);
		free(s->len);
	}
}

static int below_slash(unsigned char c)
{
	return c > 0 && c < '/';
}

enum { ORDER_OK, ORDER_UNSORTED, ORDER_DUP, ORDER_NOMEM };

/*
 * Entry b after entry a, as git fsck orders them: names compared by
 * bytes, a directory's as if it ended in '/'; the same name twice (a
 * file and a directory included) is a duplicate, also when the two are
 * apart (see cands).
 */
static int order_of(const char *a, size_t alen, int adir, const char *b, size_t blen, int bdir,
    cands *s)
{
	size_t len = alen < blen ? alen : blen;
	int cmp = memcmp(a, b, len);
	unsigned char ca, cb;

	if (cmp < 0)
		return ORDER_OK;
	if (cmp > 0)
		return ORDER_UNSORTED;
	ca = alen > len ? (unsigned char)a[len] : 0;
	cb = blen > len ? (unsigned char)b[len] : 0;
	if (!ca && !cb)
		return ORDER_DUP;
	if (!ca && adir)
		ca = '/';
	if (!cb && bdir)
		cb = '/';
	if (!ca && below_slash(cb)) {
		/* a file a, then a name that extends it below '/' */
		if (cands_push(s, a, alen) < 0)
			return ORDER_NOMEM;
	} else if (cb == '/' && below_slash(ca)) {
		/* the directory b, after names that extend it below '/' */
		while (s->n) {
			const char *f = s->name[--s->n];
			size_t flen = s->len[s->n];

			if (flen > blen || memcmp(b, f, flen) != 0)
				continue;
			if (flen == blen)
				return ORDER_DUP;
			if (below_slash((unsigned char)b[flen])) {
				s->n++;
				break;
			}
		}
	}
	return ca < cb ? ORDER_OK : ORDER_UNSORTED;
}

/* The five modes and their canonical spellings' lengths. */
static int mode_ok(uint32_t mode)
{
	return gkv__mode_kind(mode) != GKV_KIND_NONE;
}

/* Names that may be a spelling of ".git", ".gitmodules", ".gitattributes"
 * start with one of these bytes or hold a '\' (path.c): the others skip
 * those checks. */
static int may_be_special(const char *name, size_t len)
{
	unsigned char c = (unsigned char)name[0];

	return c == '.' || c == 'g' || c == 'G' || c == '~' || c == 0xe2 || c == 0xef ||
	       memchr(name, '\\', len) != NULL;
}

static int check_tree(const ctx *c, const char *data, size_t len)
{
	const char *p = data, *end = data + len, *prev = NULL;
	size_t prevlen = 0;
	int prevdir = 0, rc = 0;
	cands s;
	char q[80];

	s.name = s.name_small;
	s.len = s.len_small;
	s.n = 0;
	s.cap = CANDS_SMALL;
	while (p < end) {
		const char *m = p, *name, *nul;
		size_t at = (size_t)(p - data), namelen, ndig = 0;
		uint32_t mode = 0;
		int special, isdir;
		gkv_oid id;

		/* "<octal mode> <name>\0<20 bytes>" */
		for (; p < end && *p != ' '; p++, ndig++) {
			if (*p < '0' || *p > '7') {
				rc = bad(c, "badTree", "malformed mode at byte %zu", at);
				goto out;
			}
			if (ndig < 8)
				mode = mode << 3 | (uint32_t)(*p - '0');
		}
		if (p == end || ndig == 0) {
			rc = bad(c, "badTree", "%s mode at byte %zu", p == end ? "truncated" : "empty",
			    at);
			goto out;
		}
		name = ++p;
		if (!(nul = memchr(name, '\0', (size_t)(end - name)))) {
			rc = bad(c, "badTree", "truncated entry name at byte %zu", at);
			goto out;
		}
		namelen = (size_t)(nul - name);
		if ((size_t)(end - nul - 1) < GKV_OID_RAWSZ) {
			rc = bad(c, "badTree", "truncated entry id at byte %zu", at);
			goto out;
		}
		if (namelen == 0) {
			rc = bad(c, "badTree", "empty entry name at byte %zu", at);
			goto out;
		}
		memcpy(id.id, nul + 1, GKV_OID_RAWSZ);
		p = nul + 1 + GKV_OID_RAWSZ;
		quote(q, sizeof(q), name, namelen);
		if (gkv_oid_is_zero(&id)) {
			rc = bad(c, "nullSha1", "entry '%s' names the null id", q);
			goto out;
		}
		if (memchr(name, '/', namelen)) {
			rc = bad(c, "fullPathname", "entry '%s' holds '/'", q);
			goto out;
		}
		if (name[0] == '.' && (namelen == 1 || (namelen == 2 && name[1] == '.'))) {
			rc = bad(c, namelen == 1 ? "hasDot" : "hasDotdot", "entry '%s'", q);
			goto out;
		}
		if (*m == '0') {
			rc = bad(c, "zeroPaddedFilemode", "entry '%s' has mode %.*s", q,
			    (int)(ndig < 16 ? ndig : 16), m);
			goto out;
		}
		if (ndig > 6 || !mode_ok(mode)) {
			rc = bad(c, "badFilemode", "entry '%s' has mode %.*s (gitkv cannot read it)",
			    q, (int)(ndig < 16 ? ndig : 16), m);
			goto out;
		}
		if (namelen > GKV__SEGMENT_MAX) {
			rc = bad(c, "largePathname", "entry '%s...' is %zu bytes long", q, namelen);
			goto out;
		}
		if (may_be_special(name, namelen)) {
			if (gkv__name_is_dotgit(name, namelen)) {
				rc = bad(c, "hasDotgit", "entry '%s' reads as '.git'", q);
				goto out;
			}
			special = gkv__name_special(name, namelen);
			if (special == 1 && mode == GKV_MODE_LINK) {
				rc = bad(c, "gitmodulesSymlink", "entry '%s' is a symbolic link", q);
				goto out;
			}
			if (special && (mode == GKV_MODE_TREE || mode == GKV_MODE_GITLINK)) {
				rc = bad(c, special == 1 ? "gitmodulesBlob" : "gitattributesBlob",
				    "entry '%s' is a %s, not a file", q,
				    mode == GKV_MODE_TREE ? "directory" : "submodule");
				goto out;
			}
		}
		isdir = mode == GKV_MODE_TREE;
		if (prev) {
			switch (order_of(prev, prevlen, prevdir, name, namelen, isdir, &s)) {
			case ORDER_UNSORTED:
				rc = bad(c, "treeNotSorted", "entry '%s' is out of git's order", q);
				goto out;
			case ORDER_DUP:
				rc = bad(c, "duplicateEntries", "entry '%s' is there twice", q);
				goto out;
			case ORDER_NOMEM:
				rc = GKV_E_NOMEM;
				goto out;
			}
		}
		prev = name;
		prevlen = namelen;
		prevdir = isdir;
	}
out:
	cands_free(&s);
	return rc;
}

/* ------------------------------------------------------ commits and tags */

/*
 * Headers end with a blank line, or the object ends with the newline of
 * its last header; none holds a NUL. What the checks below rely on: any
 * line they start on before the end has its '\n'.
 */
static int check_headers(const ctx *c, const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\0')
			return bad(c, "nulInHeader", "NUL at byte %zu of the headers", i);
		if (data[i] == '\n' && i + 1 < len && data[i + 1] == '\n')
			return 0;
	}
	if (len && data[len - 1] == '\n')
		return 0;
	return bad(c, "unterminatedHeader", "the headers do not end with a newline");
}

static int is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* The line at p is "<key><40 hex digits>\n": 1, else 0. */
static int hex_line(const char *p, const char *end)
{
	if (end - p < GKV_OID_HEXSZ + 1)
		return 0;
	for (int i = 0; i < GKV_OID_HEXSZ; i++)
		if (hexval(p[i]) < 0)
			return 0;
	return p[GKV_OID_HEXSZ] == '\n';
}

/* The line at *p starts with key: 1 and *p moved past it, else 0. */
static int take(const char **p, const char *end, const char *key)
{
	size_t n = strlen(key);

	if ((size_t)(end - *p) < n || memcmp(*p, key, n) != 0)
		return 0;
	*p += n;
	return 1;
}

/*
 * "Name <email> <date> <zone>" up to its '\n' (which check_headers
 * guarantees), as git fsck reads it; *p is moved to the next line.
 */
static int check_ident(const ctx *c, const char **p, const char *end, const char *who)
{
	const char *s = *p, *nl = memchr(s, '\n', (size_t)(end - s)), *q;
	size_t ndig;
	uint64_t t = 0;
	int over = 0;

	*p = nl + 1;
	if (*s == '<')
		return bad(c, "missingNameBeforeEmail", "%s line: no name before the email", who);
	for (q = s; q < nl && *q != '<'; q++)
		if (*q == '>')
			return bad(c, "badName", "%s line: '>' in the name", who);
	if (q == nl)
		return bad(c, "missingEmail", "%s line: no email", who);
	if (q[-1] != ' ')
		return bad(c, "missingSpaceBeforeEmail", "%s line: no space before the email", who);
	for (q++; q < nl && *q != '>'; q++)
		if (*q == '<')
			return bad(c, "badEmail", "%s line: '<' in the email", who);
	if (q == nl)
		return bad(c, "badEmail", "%s line: the email does not end", who);
	if (++q == nl || *q != ' ')
		return bad(c, "missingSpaceBeforeDate", "%s line: no space before the date", who);
	q++;
	if (*q == ' ' || *q == '\t')
		return bad(c, "badDate", "%s line: more than one space before the date "
		    "(gitkv cannot read it)", who);
	if (!is_digit(*q))
		return bad(c, "badDate", "%s line: the date is not a number", who);
	if (*q == '0' && q[1] != ' ')
		return bad(c, "zeroPaddedDate", "%s line: the date starts with 0", who);
	for (ndig = 0; is_digit(*q); q++, ndig++) {
		unsigned d = (unsigned)(*q - '0');

		if (t > ((uint64_t)INT64_MAX - d) / 10)
			over = 1;
		else
			t = t * 10 + d;
	}
	if (over)
		return bad(c, "badDateOverflow", "%s line: the date is too large", who);
	if (*q != ' ')
		return bad(c, "badDate", "%s line: no space after the date", who);
	q++;
	if ((*q != '+' && *q != '-') || nl - q != 5 || !is_digit(q[1]) || !is_digit(q[2]) ||
	    !is_digit(q[3]) || !is_digit(q[4]))
		return bad(c, "badTimezone", "%s line: the zone is not +hhmm or -hhmm", who);
	if (q[3] > '5')
		return bad(c, "badTimezone", "%s line: zone minutes of 60 or more "
		    "(gitkv cannot read it)", who);
	return 0;
}

static int check_commit(const ctx *c, const char *data, size_t len)
{
	static const char *const core[] = {"tree ", "parent ", "author ", "committer "};
	const char *p = data, *end = data + len;
	unsigned authors = 0;
	int rc;

	if ((rc = check_headers(c, data, len)) < 0)
		return rc;
	if (!take(&p, end, "tree "))
		return bad(c, "missingTree", "no tree line first");
	if (!hex_line(p, end))
		return bad(c, "badTreeSha1", "the tree line does not hold an id");
	p += GKV_OID_HEXSZ + 1;
	while (take(&p, end, "parent ")) {
		if (!hex_line(p, end))
			return bad(c, "badParentSha1", "a parent line does not hold an id");
		p += GKV_OID_HEXSZ + 1;
	}
	while (take(&p, end, "author ")) {
		authors++;
		if ((rc = check_ident(c, &p, end, "author")) < 0)
			return rc;
	}
	if (authors != 1)
		return bad(c, authors ? "multipleAuthors" : "missingAuthor", "%s",
		    authors ? "more than one author line" : "no author line after the parents");
	if (!take(&p, end, "committer "))
		return bad(c, "missingCommitter", "no committer line after the author");
	if ((rc = check_ident(c, &p, end, "committer")) < 0)
		return rc;
	if (memchr(data, '\0', len))
		return bad(c, "nulInCommit", "NUL in the message");
	/* gitkv's reader: the core headers come first, once. */
	while (p < end && *p != '\n') {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		for (size_t i = 0; i < sizeof(core) / sizeof(core[0]); i++)
			if (take(&p, end, core[i]))
				return bad(c, "misorderedHeader",
				    "a '%.*s' line after the committer (gitkv cannot read it)",
				    (int)strlen(core[i]) - 1, core[i]);
		p = nl + 1;
	}
	return 0;
}

static int check_tag(const ctx *c, const char *data, size_t len)
{
	static const char *const types[] = {"commit", "tree", "blob", "tag"};
	const char *p = data, *end = data + len, *nl;
	int rc, known = 0;

	if ((rc = check_headers(c, data, len)) < 0)
		return rc;
	if (!take(&p, end, "object "))
		return bad(c, "missingObject", "no object line first");
	if (!hex_line(p, end))
		return bad(c, "badObjectSha1", "the object line does not hold an id");
	p += GKV_OID_HEXSZ + 1;
	if (!take(&p, end, "type "))
		return bad(c, "missingTypeEntry", "no type line after the object");
	if (!(nl = memchr(p, '\n', (size_t)(end - p))))
		return bad(c, "missingType", "the type line does not end");
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		known |= (size_t)(nl - p) == strlen(types[i]) && !memcmp(p, types[i], (size_t)(nl - p));
	if (!known)
		return bad(c, "badType", "the type is not commit, tree, blob or tag");
	p = nl + 1;
	if (!take(&p, end, "tag "))
		return bad(c, "missingTagEntry", "no tag line after the type");
	if (!(nl = memchr(p, '\n', (size_t)(end - p))))
		return bad(c, "missingTag", "the tag line does not end");
	p = nl + 1;
	/* Old tags have no tagger: git only notes it. */
	if (take(&p, end, "tagger "))
		return check_ident(c, &p, end, "tagger");
	return 0;
}

/* ------------------------------------------------------------------ API */

int gkv__object_check(gkv_otype type, const void *data, size_t len, const gkv_oid *id)
{
	ctx c = {id, "object"};

	if (!data && len > 0)
		return gkv__error(GKV_E_INVALID, "gkv_object_check: NULL data of %zu bytes", len);
	if (!data)
		data = "";
	switch (type) {
	case GKV_OBJ_COMMIT:
		c.type = "commit";
		return check_commit(&c, data, len);
	case GKV_OBJ_TREE:
		c.type = "tree";
		return check_tree(&c, data, len);
	case GKV_OBJ_TAG:
		c.type = "tag";
		return check_tag(&c, data, len);
	case GKV_OBJ_BLOB:
		return 0;
	default:
		return gkv__error(GKV_E_INVALID, "gkv_object_check: %d is not an object type",
		    (int)type);
	}
}

int gkv_object_check(gkv_otype type, const void *data, size_t len)
{
	return gkv__object_check(type, data, len, NULL);
}
