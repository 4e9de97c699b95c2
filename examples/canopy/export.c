/*
 * export.c -- --render-to (see export.h).
 */
#include "export.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "strbuf.h"

static int mkdirs(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int rc = mkdir(path, 0755);
		*p = '/';
		if (rc < 0 && errno != EEXIST)
			return -1;
	}
	return 0;
}

static int write_file(const char *dir, const char *route, const page *pg)
{
	strbuf path = STRBUF_INIT;
	sb_puts(&path, dir);
	sb_puts(&path, "/");
	if (strncmp(route, "static/", 7) == 0)
		sb_puts(&path, route);
	else if (route[0])
		sb_printf(&path, "%s/index.html", route);
	else
		sb_puts(&path, "index.html");
	if (path.failed)
		return -1;
	int rc = -1;
	FILE *f = NULL;
	if (mkdirs(path.ptr) == 0 && (f = fopen(path.ptr, "wb")) != NULL &&
	    fwrite(pg->body, 1, pg->len, f) == pg->len)
		rc = 0;
	if (f && fclose(f) != 0)
		rc = -1;
	if (rc < 0)
		fprintf(stderr, "canopy: cannot write %s: %s\n", path.ptr, strerror(errno));
	sb_free(&path);
	return rc;
}

int export_snapshot(const snapshot *s, const char *dir)
{
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "canopy: cannot make %s: %s\n", dir, strerror(errno));
		return -1;
	}
	size_t n = 0;
	for (size_t i = 0; i < s->routes.cap; i++) {
		const map_slot *sl = &s->routes.slots[i];
		const page *pg = sl->value;
		if (!sl->key || pg->status != 200)
			continue;
		if (write_file(dir, sl->key, pg) < 0)
			return -1;
		n++;
	}
	fprintf(stderr, "canopy: wrote %zu pages under %s\n", n, dir);
	return 0;
}
