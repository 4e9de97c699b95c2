/*
 * git_files.c -- the repository and its refs read as files, without
 * libgit2: what a handle that only reads needs, so that opening a store
 * and reading it never starts libgit2 (whose start costs more than a
 * small read: Debian's build parses every CA certificate at
 * git_libgit2_init, and opening a git_repository parses config files).
 *
 * Every function here reads only the plain, well-formed cases, by the
 * rules libgit2 1.5 reads them with, and answers GKV__GIT_UNSURE for
 * anything else: a file that does not parse, a name libgit2 would have
 * to judge, a symbolic ref chain too deep, a repository whose config
 * asks for extensions, a file that cannot be read. The caller then
 * starts libgit2 and asks it, so the answer -- value or error -- is
 * libgit2's, as before; nothing is guessed.
 *
 * The repository (gkv__git_find): the path given is a work tree whose
 * .git is a directory or a "gitdir: <path>" file, or the git directory
 * itself (HEAD, objects/, refs/), .git first, as libgit2 looks with
 * GIT_REPOSITORY_OPEN_NO_SEARCH; a "commondir" file names the common
 * directory of a linked work tree. Owned by another user, or with a
 * config that needs more than a glance (extensions, includes, a format
 * version above 1, a line that is not plainly a section, comment or
 * key): libgit2 opens it, and judges it.
 *
 * Refs, as libgit2's files ref database keeps them: a loose file under
 * the directory of its kind (HEAD and refs/bisect/ in a work tree's own
 * git directory, everything else in the common one) holding 40 hex
 * digits then the end or white space, or "ref: <name>"; else the line
 * "<id> <name>" of packed-refs (after its "# pack-refs with: ..."
 * header; a "^<id>" line after a tag gives its peeled id, not needed
 * here). A loose ref overrides a packed one of the same name. git
 * replaces both files by rename, so each read sees one whole state of
 * it; a ref moved from loose to packed (git pack-refs writes packed-refs
 * before it removes the loose file) is found in one or the other, since
 * the loose file is read first.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "git_internal.h"

/* libgit2's git__isspace */
static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/*
 * Read the whole of a small file: 1 and *out (NUL-terminated, malloc()ed)
 * and *len; 0 if there is no such file (or it is a directory, which
 * libgit2 takes as absent); GKV__GIT_UNSURE for anything else (a file
 * over max bytes, a read that fails); GKV_E_NOMEM.
 */
static int slurp(char **out, size_t *len, const char *path, size_t max)
{
	struct stat st;
	size_t cap, n = 0;
	char *buf;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : GKV__GIT_UNSURE;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return GKV__GIT_UNSURE;
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		return 0;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
		close(fd);
		return GKV__GIT_UNSURE;
	}
	cap = (size_t)st.st_size + 1;
	if (!(buf = malloc(cap + 1))) {
		close(fd);
		return gkv__oom();
	}
	/* read to the end: the file is replaced by rename, never rewritten,
	 * but a hand edit may be growing it; more than its size is unsure */
	for (;;) {
		ssize_t r = read(fd, buf + n, cap - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || (r > 0 && n + (size_t)r >= cap)) {
			free(buf);
			close(fd);
			return GKV__GIT_UNSURE;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 1;
}

static void rtrim(char *s, size_t *len)
{
	while (*len && is_space(s[*len - 1]))
		s[--*len] = '\0';
}

static char *join_dir(const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);
	char *p = malloc(dl + nl + 2);

	if (!p)
		return NULL;
	memcpy(p, dir, dl);
	if (dl && dir[dl - 1] != '/')
		p[dl++] = '/';
	memcpy(p + dl, name, nl + 1);
	return p;
}

/* realpath of path with a trailing '/', malloc()ed; NULL if it fails. */
static char *real_dir(const char *path)
{
	char *r = realpath(path, NULL), *d;
	size_t n;

	if (!r)
		return NULL;
	n = strlen(r);
	if (n && r[n - 1] == '/') /* "/" */
		return r;
	d = realloc(r, n + 2);
	if (!d) {
		free(r);
		return NULL;
	}
	d[n] = '/';
	d[n + 1] = '\0';
	return d;
}

static bool is_dir(const char *dir, const char *name)
{
	struct stat st;
	char *p = join_dir(dir, name);
	bool ok = p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);

	free(p);
	return ok;
}

static bool is_file(const char *dir, const char *name)
{
	struct stat st;
	char *p = join_dir(dir, name);
	bool ok = p && stat(p, &st) == 0 && S_ISREG(st.st_mode);

	free(p);
	return ok;
}

static bool owned(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && st.st_uid == geteuid();
}

/*
 * A git directory as libgit2's is_valid_repository_path sees it: 1 and
 * *common (its common directory, real, with a trailing '/'); 0 if it is
 * not one, or not plainly one.
 */
static int valid_gitdir(char **common, const char *gitdir)
{
	char *link = NULL, *path, *c;
	size_t len;
	int rc;

	*common = NULL;
	if (!(path = join_dir(gitdir, "commondir")))
		return gkv__oom();
	rc = slurp(&link, &len, path, 4096);
	free(path);
	if (rc < 0)
		return rc;
	if (rc == GKV__GIT_UNSURE)
		return 0;
	if (rc == 1) {
		rtrim(link, &len);
		path = link[0] == '/' ? gkv__strdup(link) : join_dir(gitdir, link);
		free(link);
		if (!path)
			return GKV_E_NOMEM;
		c = real_dir(path);
		free(path);
	} else {
		c = gkv__strdup(gitdir);
	}
	if (!c)
		return 0;
	if (!is_file(gitdir, "HEAD") || !is_dir(c, "objects") || !is_dir(c, "refs") || !owned(c)) {
		free(c);
		return 0;
	}
	*common = c;
	return 1;
}

/*
 * The repository's config, glanced at as git reads the repository's
 * format (only this file): true if it is plain -- every line a section
 * header, a comment or a key, no extensions, no includes, a format
 * version of 0 or 1. *bare: core.bare is true; *shared: the last value
 * of core.sharedRepository (malloc()ed), or NULL.
 */
static bool plain_config(bool *bare, char **shared, const char *commondir)
{
	char *path = join_dir(commondir, "config"), *text = NULL, *line, *next;
	char section[64] = "";
	size_t len;
	bool ok = true;
	int rc;

	*bare = false;
	*shared = NULL;
	if (!path)
		return false;
	rc = slurp(&text, &len, path, 1 << 20);
	free(path);
	if (rc == 0)
		return true; /* no config: git's defaults */
	if (rc != 1)
		return false;
	if (strlen(text) != len) { /* a NUL inside */
		free(text);
		return false;
	}
	for (line = text; ok && line; line = next) {
		char *key, *value, *end;

		if ((next = strchr(line, '\n')))
			*next++ = '\0';
		while (is_space(*line))
			line++;
		end = line + strlen(line);
		while (end > line && is_space(end[-1]))
			*--end = '\0';
		if (!*line || *line == '#' || *line == ';')
			continue;
		if (end[-1] == '\\') { /* a value continued on the next line */
			ok = false;
			break;
		}
		if (*line == '[') {
			size_t n = strcspn(line + 1, " \t\"].");

			if (!strchr(line, ']') || n == 0 || n >= sizeof(section)) {
				ok = false;
				break;
			}
			memcpy(section, line + 1, n);
			section[n] = '\0';
			if (!strcasecmp(section, "extensions") || !strcasecmp(section, "include") ||
			    !strcasecmp(section, "includeif") || line[1 + n] == '.')
				ok = false;
			continue;
		}
		/* key [= value] */
		key = line;
		if (!((*key >= 'a' && *key <= 'z') || (*key >= 'A' && *key <= 'Z')) || !*section) {
			ok = false;
			break;
		}
		value = key;
		while ((*value >= 'a' && *value <= 'z') || (*value >= 'A' && *value <= 'Z') ||
		       (*value >= '0' && *value <= '9') || *value == '-')
			value++;
		if (*value && !is_space(*value) && *value != '=' && *value != '#' &&
		    *value != ';') {
			ok = false;
			break;
		}
		if (strcasecmp(section, "core") != 0)
			continue;
		{
			size_t klen = (size_t)(value - key);
			char *v = value;

			bool has_eq;

			while (is_space(*v))
				v++;
			if ((has_eq = *v == '='))
				v++;
			while (is_space(*v))
				v++;
			/* a value quoted or commented is libgit2's to read */
			bool odd = strpbrk(v, "\"#;\\") != NULL;

			if ((klen == 23 && !strncasecmp(key, "repositoryformatversion", 23)) ||
			    (klen == 4 && !strncasecmp(key, "bare", 4)) ||
			    (klen == 16 && !strncasecmp(key, "sharedrepository", 16)))
				ok = ok && !odd;
			if (klen == 23 && !strncasecmp(key, "repositoryformatversion", 23))
				ok = ok && (!strcmp(v, "0") || !strcmp(v, "1"));
			else if (klen == 4 && !strncasecmp(key, "bare", 4))
				*bare = !has_eq || !strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
					!strcasecmp(v, "on") || !strcmp(v, "1");
			else if (klen == 16 && !strncasecmp(key, "sharedrepository", 16)) {
				free(*shared);
				if (!(*shared = gkv__strdup(v)))
					ok = false;
			}
		}
	}
	free(text);
	if (!ok) {
		free(*shared);
		*shared = NULL;
	}
	return ok;
}

/* "gitdir: <path>" in the file dotgit (in the folder dir): the git dir,
 * real, with a trailing '/'; NULL if the file is not plainly that. */
static char *read_gitfile(const char *dotgit, const char *dir)
{
	char *text = NULL, *p, *target, *real;
	size_t len;

	if (slurp(&text, &len, dotgit, 4096) != 1)
		return NULL;
	rtrim(text, &len);
	if (len <= 7 || memcmp(text, "gitdir:", 7) != 0 || strchr(text, '\\')) {
		free(text);
		return NULL;
	}
	for (p = text + 7; is_space(*p); p++)
		;
	target = *p == '/' ? gkv__strdup(p) : join_dir(dir, p);
	free(text);
	if (!target)
		return NULL;
	real = real_dir(target);
	free(target);
	return real;
}

int gkv__git_find(char **gitdir, char **commondir, char **shared, const char *path)
{
	char *top = real_dir(path), *dotgit = NULL, *gd = NULL, *common = NULL;
	bool bare = false, from_top = false;
	struct stat st;
	int rc = 0;

	*gitdir = *commondir = *shared = NULL;
	if (!top)
		return 0;
	if (!(dotgit = join_dir(top, ".git"))) {
		rc = gkv__oom();
		goto out;
	}
	if (stat(dotgit, &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			size_t n = strlen(dotgit);

			if (!(gd = malloc(n + 2))) {
				rc = gkv__oom();
				goto out;
			}
			memcpy(gd, dotgit, n);
			memcpy(gd + n, "/", 2);
		} else if (S_ISREG(st.st_mode) && owned(dotgit)) {
			gd = read_gitfile(dotgit, top);
		}
		if (!gd)
			goto out; /* odd: libgit2 judges */
	} else if (errno == ENOENT) {
		if (!(gd = gkv__strdup(top))) {
			rc = GKV_E_NOMEM;
			goto out;
		}
		from_top = true;
	} else {
		goto out;
	}
	if ((rc = valid_gitdir(&common, gd)) <= 0)
		goto out;
	rc = 0;
	if (!owned(gd) || !owned(top) || !plain_config(&bare, shared, common))
		goto out;
	if (from_top && !bare) {
		/* libgit2 takes the parent of a git dir that is not bare for
		 * its work tree, and checks who owns that too */
		size_t n = strlen(top);
		char *parent = gkv__strdup(top);

		if (!parent) {
			rc = GKV_E_NOMEM;
			goto out;
		}
		while (n > 1 && parent[n - 1] == '/')
			parent[--n] = '\0';
		while (n > 1 && parent[n - 1] != '/')
			parent[--n] = '\0';
		bare = owned(parent);
		free(parent);
		if (!bare)
			goto out;
	}
	*gitdir = gd;
	*commondir = common;
	gd = common = NULL;
	rc = 1;
out:
	free(top);
	free(dotgit);
	free(gd);
	free(common);
	if (!*gitdir) {
		free(*shared);
		*shared = NULL;
	}
	return rc < 0 ? rc : *gitdir ? 1 : 0;
}

/* ---- refs ---- */

/*
 * A name read here: "HEAD", or "refs/" then components of [A-Za-z0-9_.-]
 * that do not start with '.' or end with ".lock", with no "..", joined
 * by single slashes, not ending with '.'. Each is a valid ref name for
 * git and libgit2; any other goes to libgit2.
 */
bool gkv__git_plain_ref_name(const char *name)
{
	const char *c = name + 5;

	if (!strcmp(name, "HEAD"))
		return true;
	if (strncmp(name, "refs/", 5) != 0)
		return false;
	for (;;) {
		const char *start = c;

		if (*c == '.')
			return false;
		while ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		       (*c >= '0' && *c <= '9') || *c == '_' || *c == '-' || *c == '.') {
			if (*c == '.' && c[1] == '.')
				return false;
			c++;
		}
		if (c == start || (c - start >= 5 && memcmp(c - 5, ".lock", 5) == 0) ||
		    c[-1] == '.')
			return false;
		if (*c == '\0')
			return true;
		if (*c++ != '/')
			return false;
	}
}

/* Where the loose file of name lives (libgit2's is_per_worktree_ref). */
static const char *ref_base(const gkv__git *g, const char *name)
{
	if (strncmp(name, "refs/", 5) != 0 || strncmp(name, "refs/bisect/", 12) == 0)
		return g->gitdir;
	return g->commondir;
}

/* 40 hex digits at s (either case, as libgit2 takes them): true and *out. */
static bool parse_hex(gkv_oid *out, const char *s)
{
	char hex[GKV_OID_HEXSZ + 1];

	memcpy(hex, s, GKV_OID_HEXSZ);
	hex[GKV_OID_HEXSZ] = '\0';
	if (gkv_oid_fromstr(out, hex) == 0)
		return true;
	gkv_error_clear(); /* not an error: the caller asks libgit2 */
	return false;
}

/*
 * The loose file of name: 0 if there is none; 1 and *id for an id;
 * 2 and *target (malloc()ed) for a symbolic ref; GKV__GIT_UNSURE for a
 * file libgit2 would refuse or that cannot be read; GKV_E_NOMEM.
 */
#define LOOSE_SYMBOLIC 2
_Static_assert(GKV__GIT_UNSURE != LOOSE_SYMBOLIC, "distinct answers");

static int loose_ref(gkv_oid *id, char **target, const gkv__git *g, const char *name)
{
	char *path = join_dir(ref_base(g, name), name), *text = NULL;
	size_t len;
	int rc;

	if (!path)
		return gkv__oom();
	rc = slurp(&text, &len, path, 4096);
	free(path);
	if (rc != 1)
		return rc;
	if (strlen(text) != len) {
		rc = GKV__GIT_UNSURE;
	} else if (strncmp(text, "ref: ", 5) == 0) {
		rtrim(text, &len);
		if (len < 6) {
			rc = GKV__GIT_UNSURE;
		} else if (!(*target = gkv__strdup(text + 5))) {
			rc = GKV_E_NOMEM;
		} else {
			rc = LOOSE_SYMBOLIC;
		}
	} else if (len < GKV_OID_HEXSZ || !parse_hex(id, text) ||
		   (len > GKV_OID_HEXSZ && !is_space(text[GKV_OID_HEXSZ]))) {
		rc = GKV__GIT_UNSURE;
	}
	free(text);
	return rc;
}

/* packed-refs, read whole: its text (or NULL and 0 if there is none). */
typedef struct {
	char *text;
	size_t len;
} packed_file;

static int packed_read(packed_file *p, const gkv__git *g)
{
	char *path = join_dir(g->commondir, "packed-refs");
	int rc;

	p->text = NULL;
	p->len = 0;
	if (!path)
		return gkv__oom();
	rc = slurp(&p->text, &p->len, path, (size_t)1 << 30);
	free(path);
	return rc;
}

/*
 * Each "<id> <name>" of packed-refs, as libgit2's packed_reload parses
 * it (every line checked: a file it would call corrupted is unsure):
 * cb(name, id) until it returns non-zero. 0, cb's value, or
 * GKV__GIT_UNSURE.
 */
static int packed_each(packed_file *p, int (*cb)(const char *name, const gkv_oid *id, void *),
		       void *payload)
{
	char *scan = p->text, *eof = p->text + p->len, *eol;

	if (strlen(p->text) != p->len)
		return GKV__GIT_UNSURE;
	while (scan < eof && *scan == '#') { /* the header, and comments */
		if (!(eol = strchr(scan, '\n')))
			return GKV__GIT_UNSURE;
		scan = eol + 1;
	}
	while (scan < eof) {
		gkv_oid id, peel;
		char *name;
		int rc;

		if (eof - scan < GKV_OID_HEXSZ + 1 || !parse_hex(&id, scan) ||
		    scan[GKV_OID_HEXSZ] != ' ')
			return GKV__GIT_UNSURE;
		name = scan + GKV_OID_HEXSZ + 1;
		if (!(eol = strchr(name, '\n')))
			return GKV__GIT_UNSURE;
		scan = eol + 1;
		if (*scan == '^') {
			if (eof - scan < GKV_OID_HEXSZ + 1 || !parse_hex(&peel, scan + 1))
				return GKV__GIT_UNSURE;
			scan += GKV_OID_HEXSZ + 1;
			if (scan < eof) {
				char *e = strchr(scan, '\n');

				if (!e)
					return GKV__GIT_UNSURE;
				scan = e + 1;
			}
		}
		/* the name without its end of line (cut here, after the
		 * peel line was looked at) */
		*eol = '\0';
		if (eol > name && eol[-1] == '\r')
			eol[-1] = '\0';
		if ((rc = cb(name, &id, payload)) != 0)
			return rc;
	}
	return 0;
}

typedef struct {
	const char *name;
	gkv_oid id;
	bool found;
} packed_find;

static int find_cb(const char *name, const gkv_oid *id, void *payload)
{
	packed_find *f = payload;

	/* a name listed twice: the last line wins, as in libgit2's cache */
	if (!strcmp(name, f->name)) {
		f->id = *id;
		f->found = true;
	}
	return 0;
}

/*
 * A packed-refs whose header says "sorted" is searched as libgit2's
 * packed_lookup searches it: by bisection over its records (a record is
 * a line and the "^" line after it), in a map of the file, so that a
 * lookup touches a few pages of a file of thousands of refs. Only the
 * record found is parsed, as libgit2 parses it: a damaged one is
 * unsure (libgit2's error), damage elsewhere is not looked at (libgit2
 * does not look either).
 */
static const char *record_start(const char *buf, const char *p)
{
	const char *nl = p;

	for (;;) {
		nl = nl > buf ? memrchr(buf, '\n', (size_t)(nl - buf)) : NULL;
		if (!nl)
			return buf;
		if (nl[1] == '^' && nl > buf)
			--nl;
		else
			break;
	}
	return nl + 1;
}

static const char *record_end(const char *p, const char *end)
{
	for (;;) {
		p = memchr(p, '\n', (size_t)(end - p));
		if (!p)
			return end;
		++p;
		if (p < end && p[0] == '^')
			++p;
		else
			break;
	}
	return p;
}

static int record_cmp(const char *rec, size_t left, const char *name, size_t nlen)
{
	const char *end;
	int c;

	if (left < GKV_OID_HEXSZ + 3)
		return -1; /* a record too short to hold a name sorts first */
	rec += GKV_OID_HEXSZ + 1;
	left -= GKV_OID_HEXSZ + 1;
	if ((end = memchr(rec, '\n', left)))
		left = (size_t)(end - rec);
	c = memcmp(rec, name, left < nlen ? left : nlen);
	if (c == 0 && left != nlen)
		return left > nlen ? 1 : -1;
	return c;
}

/* 1 and *out, 0 (absent), GKV__GIT_UNSURE; data/len the whole file,
 * after its header line. */
static int packed_bisect(gkv_oid *out, const char *data, size_t len, const char *name)
{
	const char *left = data, *right = data + len, *end = data + len;
	size_t nlen = strlen(name);

	while (left < right && *left == '#') {
		if (!(left = memchr(left, '\n', (size_t)(end - left))))
			return GKV__GIT_UNSURE;
		left++;
	}
	while (left < right) {
		const char *mid = left + (right - left) / 2, *rec = record_start(left, mid);
		int c = record_cmp(rec, (size_t)(end - rec), name, nlen);

		if (c < 0) {
			left = record_end(mid, right);
		} else if (c > 0) {
			right = rec;
		} else {
			const char *eol;
			gkv_oid peel;

			if (end - rec < GKV_OID_HEXSZ || !parse_hex(out, rec))
				return GKV__GIT_UNSURE;
			rec += GKV_OID_HEXSZ + 1;
			if (!(eol = memchr(rec, '\n', (size_t)(end - rec))))
				return GKV__GIT_UNSURE;
			/* a "^<id>" line after it must be one */
			if (eol + 1 < end && eol[1] == '^' &&
			    (end - (eol + 2) < GKV_OID_HEXSZ || !parse_hex(&peel, eol + 2)))
				return GKV__GIT_UNSURE;
			return 1;
		}
	}
	return 0;
}

/*
 * Look name up in packed-refs: bisection if the file says it is sorted,
 * else the whole file parsed. 1 and *out, 0, GKV__GIT_UNSURE, or
 * GKV_E_NOMEM.
 */
static int packed_lookup(gkv_oid *out, gkv__git *g, const char *name)
{
	static const char traits[] = "# pack-refs with:";
	char *path = join_dir(g->commondir, "packed-refs");
	packed_find f = {name, {{0}}, false};
	packed_file p;
	struct stat st;
	const char *data, *eol;
	void *map;
	int fd, rc;

	if (!path)
		return gkv__oom();
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	free(path);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : GKV__GIT_UNSURE;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return GKV__GIT_UNSURE;
	}
	if (st.st_size == 0) {
		close(fd);
		return 0;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return GKV__GIT_UNSURE;
	data = map;
	rc = -1;
	if ((size_t)st.st_size > sizeof(traits) - 1 &&
	    memcmp(data, traits, sizeof(traits) - 1) == 0 &&
	    (eol = memchr(data, '\n', (size_t)st.st_size)) != NULL &&
	    memmem(data + sizeof(traits) - 1, (size_t)(eol - data) - (sizeof(traits) - 1),
		   " sorted ", 8) != NULL)
		rc = packed_bisect(out, eol + 1, (size_t)st.st_size - (size_t)(eol + 1 - data),
				   name);
	munmap(map, (size_t)st.st_size);
	if (rc != -1)
		return rc;
	/* not sorted: every line, as libgit2 reads such a file */
	if ((rc = packed_read(&p, g)) != 1)
		return rc;
	rc = packed_each(&p, find_cb, &f);
	free(p.text);
	if (rc == 0 && f.found) {
		*out = f.id;
		rc = 1;
	}
	return rc;
}

/* libgit2 follows at most 5 symbolic refs (DEFAULT_NESTING_LEVEL) */
#define MAX_SYMBOLIC 5

int gkv__git_files_resolve(gkv_oid *out, gkv__git *g, const char *name)
{
	char *owned_name = NULL;
	int rc = GKV__GIT_UNSURE;

	for (int hop = 0; hop <= MAX_SYMBOLIC; hop++) {
		char *target = NULL;

		if (!gkv__git_plain_ref_name(name)) {
			rc = GKV__GIT_UNSURE;
			break;
		}
		rc = loose_ref(out, &target, g, name);
		if (rc == LOOSE_SYMBOLIC) {
			free(owned_name);
			name = owned_name = target;
			rc = GKV__GIT_UNSURE; /* if this was the last hop */
			continue;
		}
		if (rc == 0)
			rc = packed_lookup(out, g, name);
		break;
	}
	free(owned_name);
	return rc;
}

int gkv__git_files_head(char **target, gkv__git *g)
{
	gkv_oid id;
	int rc;

	*target = NULL;
	rc = loose_ref(&id, target, g, "HEAD");
	if (rc == LOOSE_SYMBOLIC)
		return 1;
	if (rc == 1)
		return 0; /* detached */
	if (rc == 0) {
		/* no HEAD file: libgit2 looks in packed-refs, where git never
		 * puts it; let libgit2 say */
		return GKV__GIT_UNSURE;
	}
	return rc;
}

/* ---- listing ---- */

typedef struct {
	gkv__git *g;
	const char *prefix;
	size_t plen;
	gkv__git_files_ref_cb cb;
	void *payload;
	/* the loose names seen (ids or symbolic): they hide packed ones */
	char **seen;
	size_t nseen, capseen;
} lister;

static int seen_add(lister *l, const char *name)
{
	if (l->nseen == l->capseen) {
		size_t cap = l->capseen ? 2 * l->capseen : 64;
		char **p = realloc(l->seen, cap * sizeof(*p));

		if (!p)
			return gkv__oom();
		l->seen = p;
		l->capseen = cap;
	}
	if (!(l->seen[l->nseen] = gkv__strdup(name)))
		return GKV_E_NOMEM;
	l->nseen++;
	return 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool ends_with_lock(const char *name, size_t n)
{
	return n >= 5 && memcmp(name + n - 5, ".lock", 5) == 0;
}

/* Every file under <commondir>/<rel> (rel ends in '/'), as libgit2's
 * iterator lists loose refs. */
static int walk(lister *l, char *rel, size_t rlen, size_t cap)
{
	char *dirpath = join_dir(l->g->commondir, rel);
	struct dirent *e;
	DIR *d;
	int rc = 0;

	if (!dirpath)
		return gkv__oom();
	d = opendir(dirpath);
	free(dirpath);
	if (!d)
		return errno == ENOENT || errno == ENOTDIR ? 0 : GKV__GIT_UNSURE;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		unsigned char type = e->d_type;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (rlen + n + 2 > cap) {
			rc = GKV__GIT_UNSURE;
			break;
		}
		memcpy(rel + rlen, e->d_name, n + 1);
		if (type == DT_UNKNOWN) {
			struct stat st;
			char *p = join_dir(l->g->commondir, rel);

			if (!p) {
				rc = gkv__oom();
				break;
			}
			type = lstat(p, &st) != 0	 ? DT_UNKNOWN
			       : S_ISDIR(st.st_mode) ? DT_DIR
			       : S_ISREG(st.st_mode) ? DT_REG
						     : DT_UNKNOWN;
			free(p);
		}
		if (type == DT_DIR) {
			/* only folders that may hold names of interest */
			size_t k = rlen + n;
			size_t m = k < l->plen ? k : l->plen;

			if (memcmp(rel, l->prefix, m) != 0)
				continue;
			rel[k] = '/';
			rel[k + 1] = '\0';
			rc = walk(l, rel, k + 1, cap);
		} else if (type == DT_REG) {
			gkv_oid id;
			char *target = NULL;
			int r;

			if (ends_with_lock(rel, rlen + n) || strncmp(rel, l->prefix, l->plen) != 0)
				continue;
			if (strcmp(ref_base(l->g, rel), l->g->commondir) != 0) {
				rc = GKV__GIT_UNSURE; /* a work tree's own ref */
				break;
			}
			r = loose_ref(&id, &target, l->g, rel);
			free(target);
			if (r == 0)
				continue; /* gone since readdir: packed-refs may have it */
			if (r != 1 && r != LOOSE_SYMBOLIC) {
				rc = r;
				break;
			}
			if ((rc = seen_add(l, rel)) == 0 && r == 1)
				rc = l->cb(rel, &id, l->payload);
		} else {
			rc = GKV__GIT_UNSURE; /* a link, a socket...: libgit2 judges */
		}
	}
	closedir(d);
	return rc;
}

static int packed_cb(const char *name, const gkv_oid *id, void *payload)
{
	lister *l = payload;
	const char *key = name;

	if (strncmp(name, l->prefix, l->plen) != 0)
		return 0;
	if (l->nseen && bsearch(&key, l->seen, l->nseen, sizeof(*l->seen), str_cmp))
		return 0;
	return l->cb(name, id, l->payload);
}

int gkv__git_files_list(gkv__git *g, const char *prefix, gkv__git_files_ref_cb cb, void *payload)
{
	lister l = {g, prefix, strlen(prefix), cb, payload, NULL, 0, 0};
	char rel[PATH_MAX];
	packed_file p;
	size_t start;
	int rc;

	/* libgit2 walks the folder of the prefix's last '/'; one not under
	 * refs/ is its to judge */
	if (strncmp(prefix, "refs/", 5) != 0 &&
	    (strchr(prefix, '/') || strncmp("refs/", prefix, l.plen) != 0))
		return GKV__GIT_UNSURE;
	if (!is_dir(g->commondir, "refs"))
		return GKV__GIT_UNSURE;
	/* start at the deepest folder of the prefix without a glob
	 * character (the names are filtered by the whole prefix anyway) */
	start = 5;
	for (size_t i = 5; i < l.plen && !strchr("*?[\\", prefix[i]); i++)
		if (prefix[i] == '/')
			start = i + 1;
	if (start + 1 >= sizeof(rel))
		return GKV__GIT_UNSURE;
	memcpy(rel, strncmp(prefix, "refs/", 5) == 0 ? prefix : "refs/", start);
	rel[start] = '\0';
	rc = walk(&l, rel, start, sizeof(rel));
	if (rc == 0 && l.nseen)
		qsort(l.seen, l.nseen, sizeof(*l.seen), str_cmp);
	if (rc == 0 && (rc = packed_read(&p, g)) == 1) {
		rc = packed_each(&p, packed_cb, &l);
		free(p.text);
	}
	for (size_t i = 0; i < l.nseen; i++)
		free(l.seen[i]);
	free(l.seen);
	return rc;
}
