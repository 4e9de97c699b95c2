/*
 * path.c -- keys. A key is a '/'-separated path of segments, each of
 * which becomes a git tree entry name, so a segment must be a name git
 * can store and check out safely: non-empty, never ".", ".." or ".git"
 * (in any case: ".GIT" is the same directory on case-insensitive file
 * systems), no '/' (it separates segments) and no NUL (it ends a name in
 * a tree). Validation happens once, at the API; the splitting helpers
 * below then trust the path.
 */
#include "path.h"

/*
 * Copy s into buf for an error message, control characters as '?', so
 * that the message stays one line whatever the input holds.
 */
static const char *quote(char *buf, size_t cap, const char *s)
{
	size_t i;

	for (i = 0; i + 1 < cap && s[i]; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[i] = '\0';
	return buf;
}

/* Why a segment is not a valid entry name, or NULL. */
static const char *segment_problem(const char *name, size_t len)
{
	if (len == 0)
		return "empty segment";
	if (memchr(name, '/', len))
		return "segment holds '/'";
	if (memchr(name, '\0', len))
		return "segment holds NUL";
	if (name[0] != '.')
		return NULL;
	if (len == 1)
		return "segment '.'";
	if (len == 2 && name[1] == '.')
		return "segment '..'";
	if (len == 4 && (name[1] | 0x20) == 'g' && (name[2] | 0x20) == 'i' &&
	    (name[3] | 0x20) == 't')
		return "segment '.git' is reserved";
	return NULL;
}

int gkv__segment_ok(const char *name, size_t namelen)
{
	return name && segment_problem(name, namelen) == NULL;
}

/* Segment lengths stop at '/' or NUL: a byte loop, as paths are short
 * (every read checks its path; strcspn's setup costs more than it saves). */
static size_t segment_len(const char *seg)
{
	size_t len = 0;

	while (seg[len] != '/' && seg[len] != '\0')
		len++;
	return len;
}

static const char *path_problem(const char *path)
{
	const char *seg = path, *why;
	size_t len;

	if (path[0] == '/')
		return "leading '/'";
	for (;;) {
		len = segment_len(seg);
		if (seg[len] == '/' && seg[len + 1] == '\0')
			return "trailing '/'";
		/* segment_len stopped at the first '/' or NUL, so the segment
		 * holds neither: only the empty and dot names remain to check. */
		if (len == 0 || seg[0] == '.') {
			if ((why = segment_problem(seg, len)))
				return why;
		}
		if (seg[len] == '\0')
			return NULL;
		seg += len + 1;
	}
}

int gkv__path_check(const char *path, int allow_root)
{
	const char *why;
	char q[512];

	if (!path)
		return gkv__error(GKV_E_INVALID, "invalid path: NULL");
	if (path[0] == '\0') {
		if (allow_root)
			return 0;
		return gkv__error(GKV_E_INVALID, "invalid path '': the root is not allowed here");
	}
	if ((why = path_problem(path)))
		return gkv__error(GKV_E_INVALID, "invalid path '%s': %s", quote(q, sizeof(q), path),
				  why);
	return 0;
}

int gkv_path_validate(const char *path)
{
	return gkv__path_check(path, 1);
}

int gkv__path_next(const char *path, size_t *pos, const char **seg, size_t *seglen)
{
	const char *p = path + *pos;
	size_t len;

	if (*p == '\0')
		return 0;
	len = segment_len(p);
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
