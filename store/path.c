/*
 * path.c -- keys. A key is a '/'-separated path of segments, each of
 * which becomes a git tree entry name, so a segment must be a name git
 * can store, check out safely and pass through `git fsck --strict`:
 * non-empty, never "." or "..", no '/' (it separates segments), no NUL
 * (it ends a name in a tree), at most GKV__SEGMENT_MAX bytes (fsck's
 * largePathname), and never a name that some file system git supports
 * reads as ".git" -- git refuses those in every tree it checks, on every
 * platform, because a repository is cloned everywhere:
 *
 *  - any case: ".GIT" is ".git" on case-insensitive file systems;
 *  - NTFS: trailing spaces and dots are dropped (".git. ."), "git~1" is
 *    the 8.3 short name of ".git", and ".git:anything" names an alternate
 *    data stream of it (".git::$INDEX_ALLOCATION" is the directory); a
 *    '\' is a directory separator there, so each '\'-separated part of a
 *    segment is checked too ("a\.git");
 *  - HFS+: some Unicode code points are ignored in names, so ".g\u200cit"
 *    is ".git".
 *
 * The same spellings of ".gitmodules" and ".gitattributes" (with their 8.3
 * names, "gitmod~1" and the hashed "gi7eba~1") name files git reads from
 * a tree; fsck requires them to be blobs, so they may end a path but
 * never be a directory on it, and checks their content, which
 * gkv__value_check does for a value written there. A path has at most
 * GKV__PATH_MAX_DEPTH segments, git's cap on the depth of trees.
 *
 * Validation happens once, at the API, in one pass over the path without
 * recursion; the splitting helpers below then trust the path.
 */
#include "path.h"

#include <stdio.h>
#include <stdlib.h>

/*
 * Copy s into buf for an error message, control characters as '?', so
 * that the message stays one line whatever the input holds. At most n
 * bytes of s are taken.
 */
static const char *quote_n(char *buf, size_t cap, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < cap && i < n && s[i]; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[i] = '\0';
	return buf;
}

static const char *quote(char *buf, size_t cap, const char *s)
{
	return quote_n(buf, cap, s, (size_t)-1);
}

/* ------------------------------------------------- names git reserves */

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* 1 if the n bytes at s are lit (lower case ASCII) in any case. */
static int ascii_ieq(const char *s, const char *end, const char *lit, size_t n)
{
	if ((size_t)(end - s) < n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)s[i]) != lit[i])
			return 0;
	return 1;
}

/* A file git reads from a tree, with its NTFS 8.3 short names: the first
 * six letters and "~1".."~4", or the hashed fall-back form (see
 * ntfs_hashed). */
typedef struct {
	const char *name; /* after the dot */
	size_t len;
	const char *short6;
	const char *hashed;
} special_file;

static const special_file gitmodules = {"gitmodules", 10, "gitmod", "gi7eba"};
static const special_file gitattributes = {"gitattributes", 13, "gitatt", "gi7d29"};

enum ntfs_end { NTFS_NO, NTFS_FILE, NTFS_DIR };

/*
 * What follows a name NTFS takes for a special one: spaces and dots only,
 * which NTFS drops, up to the end of the part (NTFS_FILE), a ':' (a
 * stream of the same file: NTFS_FILE) or a '\' (NTFS_DIR: the name is a
 * directory there). Anything else makes it another name (NTFS_NO).
 */
static enum ntfs_end ntfs_tail(const char *s, const char *end)
{
	for (; s < end; s++) {
		if (*s == ':')
			return NTFS_FILE;
		if (*s == '\\')
			return NTFS_DIR;
		if (*s != ' ' && *s != '.')
			return NTFS_NO;
	}
	return NTFS_FILE;
}

/* ".git" or its short name "git~1" on NTFS. Git puts ".git" first in a
 * directory, so it always gets "~1"; "git~2" is another name. */
static enum ntfs_end ntfs_dotgit(const char *s, const char *end)
{
	if (s < end && s[0] == '.' && ascii_ieq(s + 1, end, "git", 3))
		return ntfs_tail(s + 4, end);
	if (ascii_ieq(s, end, "git", 3) && end - s >= 5 && s[3] == '~' && s[4] == '1')
		return ntfs_tail(s + 5, end);
	return NTFS_NO;
}

/*
 * The hashed 8.3 form NTFS falls back to: eight characters, a prefix of
 * f->hashed (ASCII, any case) of at most six, '~', a digit 1-9, then
 * digits. The prefix may be empty: "~1234567" matches every file.
 */
static int ntfs_hashed(const char *s, const char *end, const special_file *f)
{
	size_t i, tilde;

	if (end - s < 8)
		return 0;
	for (tilde = 0; tilde < 7 && s[tilde] != '~'; tilde++)
		if (tilde == 6 || (s[tilde] & 0x80) ||
		    lower((unsigned char)s[tilde]) != f->hashed[tilde])
			return 0;
	if (tilde == 7 || s[tilde + 1] < '1' || s[tilde + 1] > '9')
		return 0;
	for (i = tilde + 2; i < 8; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static enum ntfs_end ntfs_special(const char *s, const char *end, const special_file *f)
{
	if (s < end && s[0] == '.' && ascii_ieq(s + 1, end, f->name, f->len))
		return ntfs_tail(s + 1 + f->len, end);
	if (ascii_ieq(s, end, f->short6, 6) && end - s >= 8 && s[6] == '~' && s[7] >= '1' &&
	    s[7] <= '4')
		return ntfs_tail(s + 8, end);
	if (ntfs_hashed(s, end, f))
		return ntfs_tail(s + 8, end);
	return NTFS_NO;
}

/*
 * Length of the code point at s if HFS+ ignores it in names (U+200C to
 * U+200F, U+202A to U+202E, U+206A to U+206F, U+FEFF, in UTF-8), else 0.
 */
static size_t hfs_ignorable(const unsigned char *s, const unsigned char *end)
{
	if (end - s < 3)
		return 0;
	if (s[0] == 0xe2 && s[1] == 0x80 &&
	    ((s[2] >= 0x8c && s[2] <= 0x8f) || (s[2] >= 0xaa && s[2] <= 0xae)))
		return 3;
	if (s[0] == 0xe2 && s[1] == 0x81 && s[2] >= 0xaa && s[2] <= 0xaf)
		return 3;
	if (s[0] == 0xef && s[1] == 0xbb && s[2] == 0xbf)
		return 3;
	return 0;
}

/* The next byte HFS+ does not ignore, or NULL at the end. */
static const unsigned char *hfs_next(const unsigned char *s, const unsigned char *end)
{
	size_t n;

	while (s < end && (n = hfs_ignorable(s, end)))
		s += n;
	return s < end ? s : NULL;
}

/*
 * The length of the UTF-8 sequence at s (s < end), or 0 if git's decoder
 * finds it malformed: a stray continuation byte, a truncated, overlong or
 * surrogate sequence, U+FFFE or U+FFFF, or past U+10FFFF.
 */
static size_t utf8_len(const unsigned char *s, const unsigned char *end)
{
	size_t n = (size_t)(end - s);

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		return n >= 2 && (s[1] & 0xc0) == 0x80 && (s[0] & 0xfe) != 0xc0 ? 2 : 0;
	if ((s[0] & 0xf0) == 0xe0)
		return n >= 3 && (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80 &&
			       !(s[0] == 0xe0 && (s[1] & 0xe0) == 0x80) &&
			       !(s[0] == 0xed && (s[1] & 0xe0) == 0xa0) &&
			       !(s[0] == 0xef && s[1] == 0xbf && (s[2] & 0xfe) == 0xbe)
			   ? 3 : 0;
	if ((s[0] & 0xf8) == 0xf0)
		return n >= 4 && (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80 &&
			       (s[3] & 0xc0) == 0x80 && !(s[0] == 0xf0 && (s[1] & 0xf0) == 0x80) &&
			       !(s[0] == 0xf4 && s[1] > 0x8f) && s[0] <= 0xf4
			   ? 4 : 0;
	return 0;
}

/*
 * 1 if the whole segment reads as "." + name (lower case) on HFS+. Git
 * stops reading a name at malformed UTF-8, so what follows the name may
 * also start with such a sequence (".git\xff" is ".git" to git fsck).
 */
static int hfs_is(const char *seg, size_t len, const char *name, size_t namelen)
{
	const unsigned char *s = (const unsigned char *)seg, *end = s + len;

	if (!(s = hfs_next(s, end)) || *s++ != '.')
		return 0;
	for (size_t i = 0; i < namelen; i++) {
		/* Any other non-ASCII code point makes it another name. */
		if (!(s = hfs_next(s, end)) || (*s & 0x80) || lower(*s) != name[i])
			return 0;
		s++;
	}
	s = hfs_next(s, end);
	return s == NULL || utf8_len(s, end) == 0;
}

enum special { SPECIAL_NONE, SPECIAL_GITMODULES, SPECIAL_GITATTRIBUTES };

/* Which special file the segment names, NTFS's way or HFS+'s. */
static enum special special_of(const char *seg, size_t len)
{
	const char *end = seg + len, *part;

	if (hfs_is(seg, len, gitmodules.name, gitmodules.len))
		return SPECIAL_GITMODULES;
	if (hfs_is(seg, len, gitattributes.name, gitattributes.len))
		return SPECIAL_GITATTRIBUTES;
	for (part = seg;; part++) {
		if (ntfs_special(part, end, &gitmodules) == NTFS_FILE)
			return SPECIAL_GITMODULES;
		if (ntfs_special(part, end, &gitattributes) == NTFS_FILE)
			return SPECIAL_GITATTRIBUTES;
		if (!(part = memchr(part, '\\', (size_t)(end - part))))
			return SPECIAL_NONE;
	}
}

/* Bytes a reserved name can start with, or a part after a '\'. */
static int may_be_reserved(unsigned char c)
{
	return c == '.' || c == 'g' || c == 'G' || c == '~' || c == 0xe2 || c == 0xef;
}

/*
 * Why a segment (no '/', no NUL) that is not the last of its path, or is
 * (last), is refused by the reserved-name rules above, or NULL. Only
 * segments that start with one of may_be_reserved's bytes or hold a '\'
 * can be reserved; the caller skips the others.
 */
static const char *reserved_problem(const char *seg, size_t len, int last)
{
	const char *end = seg + len, *part;
	enum ntfs_end e;

	if (len == 4 && seg[0] == '.' && ascii_ieq(seg + 1, end, "git", 3))
		return "is reserved";
	if (hfs_is(seg, len, "git", 3))
		return "is reserved: HFS+ reads it as '.git'";
	for (part = seg;; part++) {
		if (ntfs_dotgit(part, end) != NTFS_NO)
			return "is reserved: NTFS reads it as '.git'";
		if ((e = ntfs_special(part, end, &gitmodules)) == NTFS_DIR)
			return "is reserved: NTFS reads it as a directory '.gitmodules'";
		if ((e = ntfs_special(part, end, &gitattributes)) == NTFS_DIR)
			return "is reserved: NTFS reads it as a directory '.gitattributes'";
		if (!(part = memchr(part, '\\', (size_t)(end - part))))
			break;
	}
	if (!last) {
		switch (special_of(seg, len)) {
		case SPECIAL_GITMODULES:
			return "names '.gitmodules', which git requires to be a file, not a directory";
		case SPECIAL_GITATTRIBUTES:
			return "names '.gitattributes', which git requires to be a file, not a directory";
		case SPECIAL_NONE:
			break;
		}
	}
	return NULL;
}

int gkv__name_is_dotgit(const char *name, size_t len)
{
	const char *end = name + len, *part;

	if (len == 4 && name[0] == '.' && ascii_ieq(name + 1, end, "git", 3))
		return 1;
	if (hfs_is(name, len, "git", 3))
		return 1;
	for (part = name;; part++) {
		if (ntfs_dotgit(part, end) != NTFS_NO)
			return 1;
		if (!(part = memchr(part, '\\', (size_t)(end - part))))
			return 0;
	}
}

int gkv__name_special(const char *name, size_t len)
{
	if (len == 0 || (!may_be_reserved((unsigned char)name[0]) && !memchr(name, '\\', len)))
		return 0;
	switch (special_of(name, len)) {
	case SPECIAL_GITMODULES:
		return 1;
	case SPECIAL_GITATTRIBUTES:
		return 2;
	case SPECIAL_NONE:
		break;
	}
	return 0;
}

/* ---------------------------------------------------------- segments */

/* Why a segment is not a valid entry name, or NULL (wherever it is). */
static const char *segment_problem(const char *name, size_t len)
{
	if (len == 0)
		return "empty segment";
	if (memchr(name, '/', len))
		return "segment holds '/'";
	if (memchr(name, '\0', len))
		return "segment holds NUL";
	if (len > GKV__SEGMENT_MAX)
		return "segment longer than 4096 bytes";
	if (len == 1 && name[0] == '.')
		return "segment '.'";
	if (len == 2 && name[0] == '.' && name[1] == '.')
		return "segment '..'";
	return NULL;
}

int gkv__segment_ok(const char *name, size_t namelen)
{
	if (!name || segment_problem(name, namelen))
		return 0;
	/* Alone, a segment may be last: ".gitmodules" is a valid name. */
	return reserved_problem(name, namelen, 1) == NULL;
}

/*
 * Why path is invalid: 0, or 1 with the reason written into why. One pass,
 * byte by byte (paths are short and every read checks its path: strcspn's
 * setup costs more than it saves), that stops at the first problem or at
 * segment GKV__PATH_MAX_DEPTH + 1.
 */
static int path_problem(char *why, size_t cap, const char *path)
{
	const char *seg = path, *r;
	size_t len, depth = 0;
	int backslash;
	char q[128];

	if (path[0] == '/') {
		snprintf(why, cap, "leading '/'");
		return 1;
	}
	for (;;) {
		if (++depth > GKV__PATH_MAX_DEPTH) {
			snprintf(why, cap, "path too deep: more than %d segments",
			    GKV__PATH_MAX_DEPTH);
			return 1;
		}
		backslash = 0;
		for (len = 0; seg[len] != '/' && seg[len] != '\0'; len++)
			backslash |= seg[len] == '\\';
		if (seg[len] == '/' && seg[len + 1] == '\0') {
			snprintf(why, cap, "trailing '/'");
			return 1;
		}
		/* The loop stopped at the first '/' or NUL, so the segment
		 * holds neither: what remains is its length, the dot names
		 * and the reserved ones. */
		if (len == 0 || len > GKV__SEGMENT_MAX || seg[0] == '.') {
			if ((r = segment_problem(seg, len))) {
				snprintf(why, cap, "%s", r);
				return 1;
			}
		}
		if (backslash || may_be_reserved((unsigned char)seg[0])) {
			if ((r = reserved_problem(seg, len, seg[len] == '\0'))) {
				snprintf(why, cap, "segment '%s' %s", quote_n(q, sizeof(q), seg, len), r);
				return 1;
			}
		}
		if (seg[len] == '\0')
			return 0;
		seg += len + 1;
	}
}

int gkv__path_check(const char *path, int allow_root)
{
	char q[512], why[256];

	if (!path)
		return gkv__error(GKV_E_INVALID, "invalid path: NULL");
	if (path[0] == '\0') {
		if (allow_root)
			return 0;
		return gkv__error(GKV_E_INVALID, "invalid path '': the root is not allowed here");
	}
	if (path_problem(why, sizeof(why), path))
		return gkv__error(GKV_E_INVALID, "invalid path '%s': %s", quote(q, sizeof(q), path),
				  why);
	return 0;
}

int gkv__dir_path_check(const char *path)
{
	const char *last, *r;
	char q[512];

	if (gkv__path_check(path, 1) < 0)
		return GKV_E_INVALID;
	if (!*path)
		return 0;
	last = strrchr(path, '/');
	last = last ? last + 1 : path;
	if ((r = reserved_problem(last, strlen(last), 0)) != NULL)
		return gkv__error(GKV_E_INVALID, "invalid path '%s' for a directory: it %s",
		    quote(q, sizeof(q), path), r);
	return 0;
}

int gkv_path_validate(const char *path)
{
	return gkv__path_check(path, 1);
}

int gkv__path_next(const char *path, size_t *pos, const char **seg, size_t *seglen)
{
	const char *p = path + *pos;
	size_t len = 0;

	if (*p == '\0')
		return 0;
	while (p[len] != '/' && p[len] != '\0')
		len++;
	*seg = p;
	*seglen = len;
	*pos += len + (p[len] == '/');
	return 1;
}

size_t gkv__path_depth(const char *path)
{
	size_t n;

	if (!path || path[0] == '\0')
		return 0;
	for (n = 1; *path; path++)
		n += *path == '/';
	return n;
}

/* ------------------------------------- the content of special files */

/*
 * .gitmodules is read by git as a config file, and fsck refuses one
 * (gitmodulesName, gitmodulesUrl, gitmodulesPath, gitmodulesUpdate)
 * whose submodule names climb out with "..", whose url or path could be
 * read as an option ('-' first), whose url could smuggle a newline or
 * escape its root, or whose update runs a command ('!' first). A file
 * git cannot parse is only a note to fsck, but the keys before the error
 * are still checked; the parser below reads the file the way git's
 * config parser does and stops where git would.
 */
typedef struct {
	const unsigned char *p, *end;
	int eof;
	gkv__sbuf var; /* "section.subsection.key", as git builds it */
	gkv__sbuf val;
	char why[384]; /* the problem found */
} cfg;

enum { CFG_OK = 0, CFG_STOP = 1, CFG_BAD = 2 };

/* The next character, "\r\n" as '\n', and '\n' for ever at the end. */
static int cfg_getc(cfg *c)
{
	int ch;

	if (c->p == c->end) {
		c->eof = 1;
		return '\n';
	}
	ch = *c->p++;
	if (ch == '\r' && c->p < c->end && *c->p == '\n') {
		c->p++;
		ch = '\n';
	}
	return ch;
}

/* git's own ctype: ASCII only, whatever the locale. */
static int cfg_space(int ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

static int cfg_alpha(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static int cfg_keychar(int ch)
{
	return cfg_alpha(ch) || (ch >= '0' && ch <= '9') || ch == '-';
}

static int cfg_put(gkv__sbuf *b, int ch)
{
	return gkv__sbuf_putc(b, (char)ch) < 0 ? GKV_E_NOMEM : CFG_OK;
}

/* The rest of '[section "subsection"]' after the space that ends section. */
static int cfg_subsection(cfg *c, int ch)
{
	int rc;

	do {
		if (ch == '\n')
			return CFG_STOP;
		ch = cfg_getc(c);
	} while (cfg_space(ch));
	if (ch != '"')
		return CFG_STOP;
	if ((rc = cfg_put(&c->var, '.')) != CFG_OK)
		return rc;
	for (;;) {
		ch = cfg_getc(c);
		if (ch == '\n')
			return CFG_STOP;
		if (ch == '"')
			break;
		if (ch == '\\' && (ch = cfg_getc(c)) == '\n')
			return CFG_STOP;
		if ((rc = cfg_put(&c->var, ch)) != CFG_OK)
			return rc;
	}
	return cfg_getc(c) == ']' ? CFG_OK : CFG_STOP;
}

/* A section header, after its '['. */
static int cfg_section(cfg *c)
{
	int ch, rc;

	for (;;) {
		ch = cfg_getc(c);
		if (c->eof)
			return CFG_STOP;
		if (ch == ']')
			return CFG_OK;
		if (cfg_space(ch))
			return cfg_subsection(c, ch);
		if (!cfg_keychar(ch) && ch != '.')
			return CFG_STOP;
		if ((rc = cfg_put(&c->var, lower(ch))) != CFG_OK)
			return rc;
	}
}

/* A value after its '=': quotes, escapes, comments, trailing blanks. */
static int cfg_value(cfg *c)
{
	int quote = 0, comment = 0, ch, rc;
	size_t trim = 0;

	c->val.size = 0;
	for (;;) {
		ch = cfg_getc(c);
		if (ch == '\n') {
			if (quote)
				return CFG_STOP;
			if (trim)
				c->val.size = trim;
			return cfg_put(&c->val, '\0');
		}
		if (comment)
			continue;
		if (cfg_space(ch) && !quote) {
			if (!trim)
				trim = c->val.size;
			if (c->val.size && (rc = cfg_put(&c->val, ch)) != CFG_OK)
				return rc;
			continue;
		}
		if (!quote && (ch == ';' || ch == '#')) {
			comment = 1;
			continue;
		}
		trim = 0;
		if (ch == '\\') {
			switch ((ch = cfg_getc(c))) {
			case '\n':
				continue;
			case 't':
				ch = '\t';
				break;
			case 'b':
				ch = '\b';
				break;
			case 'n':
				ch = '\n';
				break;
			case '\\':
			case '"':
				break;
			default:
				return CFG_STOP;
			}
		} else if (ch == '"') {
			quote = !quote;
			continue;
		}
		if ((rc = cfg_put(&c->val, ch)) != CFG_OK)
			return rc;
	}
}

/* A submodule name fsck refuses: empty, or ".." between separators. */
static int bad_submodule_name(const char *name, size_t len)
{
	if (len == 0)
		return 1;
	for (size_t i = 0; i + 1 < len; i++) {
		if (i > 0 && name[i - 1] != '/' && name[i - 1] != '\\')
			continue;
		if (name[i] == '.' && name[i + 1] == '.' &&
		    (i + 2 == len || name[i + 2] == '/' || name[i + 2] == '\\'))
			return 1;
	}
	return 0;
}

static int starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A newline, raw or %-escaped, which git's url decoding would bring out. */
static int url_has_newline(const char *u)
{
	for (; *u; u++)
		if (*u == '\n' || (u[0] == '%' && u[1] == '0' && (u[2] == 'a' || u[2] == 'A')))
			return 1;
	return 0;
}

static int url_hex(int ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* Every '%' in [s, end) starts a %XX escape. */
static int url_escapes_ok(const char *s, const char *end)
{
	for (; s < end; s++)
		if (*s == '%' && (end - s < 3 || !url_hex(s[1]) || !url_hex(s[2])))
			return 0;
	return 1;
}

/* 1 for ".", 2 for "..", 0 otherwise, with %2e read as '.'. */
static int url_dots(const char *s, const char *end)
{
	int n = 0;

	while (s < end) {
		if (*s == '.')
			s++;
		else if (end - s >= 3 && s[0] == '%' && s[1] == '2' && lower(s[2]) == 'e')
			s += 3;
		else
			return 0;
		if (++n > 2)
			return 0;
	}
	return n;
}

/*
 * Whether git's URL normalisation accepts an http(s) or ftp(s) URL:
 * scheme "://", a host of host characters, a port 1-65535, valid %XX
 * escapes, and no ".." above the root of the path.
 */
static int url_normalizes(const char *u)
{
	static const char host_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					 "0123456789.-_[:]";
	const char *p, *slash, *at, *colon, *q;
	size_t depth = 0;

	p = u + strspn(u, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+.-");
	if (p == u || !cfg_alpha((unsigned char)u[0]) || !starts_with(p, "://"))
		return 0;
	p += 3;
	slash = p + strcspn(p, "/?#");
	if ((at = strchr(p, '@')) && at < slash) {
		if (!url_escapes_ok(p, at))
			return 0;
		p = at + 1;
	}
	if (!*p || strchr(":/?#", *p))
		return 0; /* no host: only file: URLs may do without */
	for (colon = slash - 1; colon > p && *colon != ':' && *colon != ']'; colon--)
		;
	if (*colon != ':')
		colon = slash;
	if (strspn(p, host_chars) < (size_t)(colon - p))
		return 0;
	if (colon < slash) {
		q = colon + 1 + strspn(colon + 1, "0");
		if (q == slash && q[-1] == '0')
			q--;
		if (q != slash) {
			if (strspn(q, "0123456789") < (size_t)(slash - q) || slash - q > 5 ||
			    strtoul(q, NULL, 10) == 0 || strtoul(q, NULL, 10) > 65535)
				return 0;
		}
	}
	p = slash;
	if (*p == '/')
		p++;
	for (;;) {
		const char *next = p + strcspn(p, "/?#");

		if (!url_escapes_ok(p, next))
			return 0;
		switch (url_dots(p, next)) {
		case 1:
			break;
		case 2:
			if (depth == 0)
				return 0;
			depth--;
			break;
		default:
			depth++;
		}
		p = next;
		if (*p != '/')
			break;
		p++;
	}
	return url_escapes_ok(p, p + strlen(p));
}

/* Why fsck refuses a submodule url, or NULL. */
static const char *url_problem(const char *u)
{
	const char *curl = NULL, *next;
	int dotdots = 0;

	if (u[0] == '-')
		return "could be read as an option";
	if (starts_with(u, "./") || starts_with(u, ".\\") || starts_with(u, "../") ||
	    starts_with(u, "..\\") || starts_with(u, "git://")) {
		if (url_has_newline(u))
			return "holds a newline";
		for (next = u;;) {
			if (starts_with(next, "../") || starts_with(next, "..\\")) {
				dotdots++;
				next += 3;
			} else if (starts_with(next, "./") || starts_with(next, ".\\")) {
				next += 2;
			} else {
				break;
			}
		}
		if (dotdots > 0 && (*next == ':' || *next == '/'))
			return "climbs out of its root";
		return NULL;
	}
	/* "http::URL" hands URL to git's curl transport. */
	if (starts_with(u, "http::") || starts_with(u, "https::") || starts_with(u, "ftp::") ||
	    starts_with(u, "ftps::"))
		curl = strchr(u, ':') + 2;
	else if (starts_with(u, "http://") || starts_with(u, "https://") ||
		 starts_with(u, "ftp://") || starts_with(u, "ftps://"))
		curl = u;
	if (curl && (!url_normalizes(curl) || url_has_newline(curl)))
		return "is not a URL git accepts";
	return NULL;
}

/* One key of the file, as git's fsck_gitmodules_fn sees it. */
static int gitmodules_key(cfg *c, int has_value)
{
	const char *var, *sub, *dot, *key, *val, *why = NULL;
	char qn[96], qv[96];
	size_t sublen;
	int rc;

	if ((rc = cfg_put(&c->var, '\0')) != CFG_OK)
		return rc;
	c->var.size--;
	/* git reads the name as a C string: a NUL in it ends it. */
	var = (const char *)c->var.ptr;
	if (!starts_with(var, "submodule."))
		return CFG_OK;
	dot = strrchr(var + 9, '.');
	if (dot == var + 9)
		return CFG_OK; /* no subsection: not a submodule's key */
	sub = var + 10;
	sublen = (size_t)(dot - sub);
	key = dot + 1;
	val = has_value ? (const char *)c->val.ptr : NULL;
	if (bad_submodule_name(sub, sublen)) {
		snprintf(c->why, sizeof(c->why), "submodule name '%s' is empty or climbs out with '..'",
		    quote_n(qn, sizeof(qn), sub, sublen));
		return CFG_BAD;
	}
	if (val && strcmp(key, "url") == 0)
		why = url_problem(val);
	else if (val && strcmp(key, "path") == 0 && val[0] == '-')
		why = "could be read as an option";
	else if (val && strcmp(key, "update") == 0 && val[0] == '!')
		why = "runs a command";
	if (!why)
		return CFG_OK;
	snprintf(c->why, sizeof(c->why), "submodule '%s': %s '%s' %s",
	    quote_n(qn, sizeof(qn), sub, sublen), key, quote_n(qv, sizeof(qv), val, 80), why);
	return CFG_BAD;
}

/* A key and its value, after the key's first letter (already in var). */
static int cfg_entry(cfg *c)
{
	int ch, rc, has_value = 0;

	for (;;) {
		ch = cfg_getc(c);
		if (c->eof || !cfg_keychar(ch))
			break;
		if ((rc = cfg_put(&c->var, lower(ch))) != CFG_OK)
			return rc;
	}
	while (ch == ' ' || ch == '\t')
		ch = cfg_getc(c);
	if (ch != '\n') {
		if (ch != '=')
			return CFG_STOP;
		if ((rc = cfg_value(c)) != CFG_OK)
			return rc;
		has_value = 1;
	}
	return gitmodules_key(c, has_value);
}

/* CFG_OK (read to the end or to git's first parse error), CFG_BAD with
 * c->why, or GKV_E_NOMEM. */
static int cfg_parse(cfg *c)
{
	size_t baselen = 0;
	int comment = 0, ch, rc;

	/* A UTF-8 byte order mark may open the file. */
	if (c->end - c->p >= 3 && memcmp(c->p, "\xef\xbb\xbf", 3) == 0)
		c->p += 3;
	for (;;) {
		ch = cfg_getc(c);
		if (ch == '\n') {
			if (c->eof)
				return CFG_OK;
			comment = 0;
			continue;
		}
		if (comment || cfg_space(ch))
			continue;
		if (ch == '#' || ch == ';') {
			comment = 1;
			continue;
		}
		if (ch == '[') {
			c->var.size = 0;
			if ((rc = cfg_section(c)) < 0)
				return rc;
			if (rc != CFG_OK || c->var.size < 1)
				return CFG_OK;
			if ((rc = cfg_put(&c->var, '.')) != CFG_OK)
				return rc;
			baselen = c->var.size;
			continue;
		}
		if (!cfg_alpha(ch))
			return CFG_OK;
		c->var.size = baselen;
		if ((rc = cfg_put(&c->var, lower(ch))) != CFG_OK)
			return rc;
		if ((rc = cfg_entry(c)) != CFG_OK)
			return rc == CFG_STOP ? CFG_OK : rc;
	}
}

static int gitmodules_check(const char *path, const void *value, size_t len)
{
	cfg c = {value, (const unsigned char *)value + len, 0, GKV__SBUF_INIT, GKV__SBUF_INIT, ""};
	char q[512];
	int rc;

	rc = cfg_parse(&c);
	gkv__sbuf_free(&c.var);
	gkv__sbuf_free(&c.val);
	if (rc == CFG_BAD)
		return gkv__error(GKV_E_INVALID, "invalid value for '%s': %s (git fsck refuses it)",
		    quote(q, sizeof(q), path), c.why);
	return rc < 0 ? gkv__oom() : 0;
}

/* git reads at most 100 MiB of .gitattributes, in lines shorter than
 * 2048 bytes; fsck refuses a file it would not read whole. The lines
 * are counted up to the first NUL, as fsck counts them. */
#define ATTR_MAX_FILE (100u * 1024 * 1024)
#define ATTR_MAX_LINE 2048

static int gitattributes_check(const char *path, const void *value, size_t len)
{
	const char *s = value, *end = s + len, *eol;
	char q[512];

	if (len > ATTR_MAX_FILE)
		return gkv__error(GKV_E_INVALID,
		    "invalid value for '%s': larger than git reads for .gitattributes (100 MiB)",
		    quote(q, sizeof(q), path));
	if (len && memchr(s, '\0', len))
		end = memchr(s, '\0', len);
	for (; s < end; s = eol + 1) {
		if (!(eol = memchr(s, '\n', (size_t)(end - s))))
			eol = end;
		if (eol - s >= ATTR_MAX_LINE)
			return gkv__error(GKV_E_INVALID,
			    "invalid value for '%s': a line of 2048 bytes or more, which git "
			    "does not read in .gitattributes",
			    quote(q, sizeof(q), path));
	}
	return 0;
}

int gkv__value_check(const char *path, const void *value, size_t len)
{
	const char *last = strrchr(path, '/');
	size_t seglen;

	last = last ? last + 1 : path;
	seglen = strlen(last);
	if (seglen == 0 || (!may_be_reserved((unsigned char)last[0]) && !memchr(last, '\\', seglen)))
		return 0;
	switch (special_of(last, seglen)) {
	case SPECIAL_GITMODULES:
		return gitmodules_check(path, value, len);
	case SPECIAL_GITATTRIBUTES:
		return gitattributes_check(path, value, len);
	case SPECIAL_NONE:
		break;
	}
	return 0;
}
