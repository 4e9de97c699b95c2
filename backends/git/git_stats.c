/*
 * git_stats.c -- a git store's own figures, counted as `git count-objects
 * -v` counts them, from the files under objects/: loose_objects (files
 * objects/xx/<38 hex>), loose_bytes (their sizes), packs (objects/pack/
 * *.pack with an .idx beside it) and pack_bytes (those packs and their
 * indexes, as git's size-pack). Read straight from the directory, so
 * that what git gc or git repack did a moment ago is counted.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>

#include "git_internal.h"

static bool is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[n] == '\0';
}

static int dir_error(const gkv__git *g, const char *dir)
{
	return gkv_error_set(GKV_E_IO, "git:%s: cannot read '%s': %s", g->path, dir,
			     strerror(errno));
}

/* Size of dir/name, 0 if it vanished meanwhile (git gc at work). */
static uint64_t file_size(const char *dir, const char *name)
{
	char path[3700]; /* dir, then "/" and a name (an .idx name: 511 at most) */
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* Buffer sizes: objdir under OBJDIR_MAX, its folders under DIR_MAX. */
#define OBJDIR_MAX 3000
#define DIR_MAX 3100

static int count_loose(uint64_t *count, uint64_t *bytes, const gkv__git *g,
    const char objdir[OBJDIR_MAX])
{
	char dir[DIR_MAX];

	for (int i = 0; i < 256; i++) {
		struct dirent *d;
		DIR *dp;

		snprintf(dir, sizeof(dir), "%s/%02x", objdir, i);
		if (!(dp = opendir(dir))) {
			if (errno == ENOENT)
				continue;
			return dir_error(g, dir);
		}
		while ((d = readdir(dp)) != NULL)
			if (is_hex(d->d_name, GKV_OID_HEXSZ - 2)) {
				(*count)++;
				*bytes += file_size(dir, d->d_name);
			}
		closedir(dp);
	}
	return 0;
}

static int count_packs(uint64_t *count, uint64_t *bytes, const gkv__git *g,
    const char objdir[OBJDIR_MAX])
{
	char dir[DIR_MAX], idx[512];
	struct dirent *d;
	DIR *dp;

	snprintf(dir, sizeof(dir), "%s/pack", objdir);
	if (!(dp = opendir(dir)))
		return errno == ENOENT ? 0 : dir_error(g, dir);
	while ((d = readdir(dp)) != NULL) {
		size_t n = strlen(d->d_name);
		uint64_t isize;

		if (n < 5 || n >= sizeof(idx) || strcmp(d->d_name + n - 5, ".pack") != 0)
			continue;
		memcpy(idx, d->d_name, n - 5);
		memcpy(idx + n - 5, ".idx", 5);
		if ((isize = file_size(dir, idx)) == 0)
			continue; /* no index: not a pack git uses (yet) */
		(*count)++;
		*bytes += file_size(dir, d->d_name) + isize;
	}
	closedir(dp);
	return 0;
}

int gkv__git_stats(gkv_backend *b, gkv_backend_stat_cb cb, void *payload)
{
	static const char *const names[4] = {"loose_objects", "loose_bytes", "packs", "pack_bytes"};
	gkv__git *g = (gkv__git *)b;
	uint64_t v[4] = {0, 0, 0, 0};
	char objdir[OBJDIR_MAX];
	int rc;

	if ((size_t)snprintf(objdir, sizeof(objdir), "%sobjects", g->commondir) >= sizeof(objdir))
		return gkv_error_set(GKV_E_INVALID, "git:%s: the path of its objects is too long",
				     g->path);
	if ((rc = count_loose(&v[0], &v[1], g, objdir)) < 0 ||
	    (rc = count_packs(&v[2], &v[3], g, objdir)) < 0)
		return rc;
	for (size_t i = 0; rc == 0 && i < 4; i++)
		rc = cb(names[i], v[i], payload);
	return rc;
}
