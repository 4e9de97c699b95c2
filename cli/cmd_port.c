/*
 * cmd_port.c -- between a store and a directory of files: `export DIR
 * [PATH]` writes the tree at PATH as files under DIR, `import DIR [PATH]`
 * makes the tree at PATH exactly DIR's regular files, in one commit.
 *
 * Export writes only inside DIR, whatever the store holds and whatever
 * DIR already holds:
 *  - every name is checked before anything is written: a name that would
 *    escape DIR or that a file system would read as another name (".",
 *    "..", "/", ".git" in any spelling git's fsck refuses, NTFS short
 *    names, HFS+ ignorable characters) stops the export, exit 4;
 *  - directories are made and opened relative to their parent's file
 *    descriptor (mkdirat, openat with O_NOFOLLOW): a symbolic link met
 *    where a directory goes is never followed, and stops the export;
 *  - a file is written to a new temporary name in its directory
 *    (O_CREAT | O_EXCL | O_NOFOLLOW), then renamed over its name: what
 *    was there (a file, or a symbolic or hard link to something outside
 *    DIR) is replaced, never written through.
 * Values are streamed to disk (gkv_tree_read), never held whole.
 *
 * Import reads DIR the same way (openat with O_NOFOLLOW from DIR down):
 * symbolic links, devices, FIFOs and sockets are skipped with a warning.
 * Every name is checked as a gitkv path before the store is opened, so
 * that a name gitkv cannot hold fails the import (exit 2, naming the
 * file) with nothing created or committed.
 */
#define _GNU_SOURCE /* O_NOFOLLOW, O_DIRECTORY, openat and friends */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvctl.h"
#include "progress.h"

/* A list of paths (relative to the top) with a kind each. */
struct item {
	char *path;
	gkv_kind kind;
	uint64_t size;
};

struct items {
	struct item *v;
	size_t n, cap;
};

static int items_add(struct items *it, const char *path, gkv_kind kind, uint64_t size)
{
	struct item *v;

	if (it->n == it->cap) {
		size_t cap = it->cap ? it->cap * 2 : 64;

		if ((v = realloc(it->v, cap * sizeof(*v))) == NULL)
			return -1;
		it->v = v;
		it->cap = cap;
	}
	if ((it->v[it->n].path = strdup(path)) == NULL)
		return -1;
	it->v[it->n].kind = kind;
	it->v[it->n++].size = size;
	return 0;
}

static void items_free(struct items *it)
{
	for (size_t i = 0; i < it->n; i++)
		free(it->v[i].path);
	free(it->v);
}

/* a + "/" + b, or b alone when a is empty; malloc()ed, NULL if out of memory. */
static char *join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = malloc(la + lb + 2);

	if (!s)
		return NULL;
	if (la) {
		memcpy(s, a, la);
		s[la++] = '/';
	}
	memcpy(s + la, b, lb + 1);
	return s;
}

/*
 * Open the directory rel (segments separated by '/') under top, one
 * segment at a time with O_NOFOLLOW, making each that is missing when
 * create is set. A symbolic link on the way fails with ELOOP or ENOTDIR.
 * The descriptor, or -1 with errno set.
 */
static int open_dir_under(int top, const char *rel, int create)
{
	char *copy = strdup(rel), *seg, *next;
	int fd = dup(top), sub, err;

	if (!copy || fd < 0) {
		free(copy);
		if (fd >= 0)
			close(fd);
		errno = ENOMEM;
		return -1;
	}
	for (seg = copy; seg && *seg; seg = next) {
		if ((next = strchr(seg, '/')) != NULL)
			*next++ = '\0';
		if (create && mkdirat(fd, seg, 0777) != 0 && errno != EEXIST)
			break;
		sub = openat(fd, seg, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		err = errno;
		close(fd);
		fd = sub;
		errno = err;
		if (fd < 0)
			break;
	}
	if (seg && *seg && fd >= 0) { /* stopped on the way: mkdirat failed */
		err = errno;
		close(fd);
		errno = err;
		fd = -1;
	}
	free(copy);
	return fd;
}

/* The directory part of rel (malloc()ed, "" for none) and its last name. */
static char *split_last(const char *rel, const char **leaf)
{
	const char *slash = strrchr(rel, '/');
	char *dir;

	*leaf = slash ? slash + 1 : rel;
	dir = strndup(rel, slash ? (size_t)(slash - rel) : 0);
	return dir;
}

/* ------------------------------------------------------------ export */

struct exporter {
	struct kv_ctx *ctx;
	gkv_tree *tree;
	const char *prefix; /* the store path exported ("" for the root) */
	const char *dir;    /* DIR as given, for messages */
	struct items items; /* values and directories, relative to prefix */
	uint64_t bytes;
	size_t files, skipped;
	kv_progress *bar;
};

/*
 * Whether name may be written as one directory entry under DIR: not
 * ".", "..", empty or holding '/', and nothing gitkv itself would refuse
 * as a segment (gkv_path_validate: ".git" in every spelling a file
 * system reads as ".git"). 0, or the exit status after reporting it.
 */
static int check_name(struct exporter *e, const char *name, const char *path)
{
	if (*name == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
	    strchr(name, '/') || gkv_path_validate(name) < 0)
		return kv_err(e->ctx, KV_FAIL,
			      "export: refusing '%s' on branch '%s': its name could write "
			      "outside '%s' or over a name git keeps",
			      path, e->ctx->branch, e->dir);
	return KV_OK;
}

/* One entry of the walk under the exported path: its name is checked,
 * and it is kept with its path relative to the export's top. */
static int collect_entry(const char *path, gkv_kind kind, const gkv_oid *id, void *payload)
{
	struct exporter *e = payload;
	size_t skip = *e->prefix ? strlen(e->prefix) + 1 : 0;
	const char *slash = strrchr(path, '/'), *name = slash ? slash + 1 : path;
	int rc;

	(void)id;
	if (strlen(path) <= skip) /* the exported directory itself */
		return 0;
	if ((rc = check_name(e, name, path)) != KV_OK)
		return GKV_E_USER;
	if (items_add(&e->items, path + skip, kind, 0) < 0) {
		kv_err(e->ctx, KV_FAIL, "out of memory");
		return GKV_E_USER;
	}
	return 0;
}

/*
 * Collect what is under the exported path, directories before their
 * contents, checking every name (gkv_tree_walk: names and kinds only).
 * GKV_E_USER from the callback: it reported the failure itself.
 */
static int collect(struct exporter *e)
{
	int rc = gkv_tree_walk(e->tree, e->prefix, 1, collect_entry, e);

	if (rc == GKV_E_USER)
		return e->ctx->errcode;
	if (rc < 0)
		return kv_read_err(e->ctx, rc, "export of '%s' on branch '%s'", e->prefix,
				   e->ctx->branch);
	return KV_OK;
}

struct sink {
	int fd;
	struct exporter *e;
};

static int write_piece(const void *data, size_t len, void *payload)
{
	struct sink *s = payload;
	const char *p = data;
	ssize_t n;

	while (len > 0) {
		if ((n = write(s->fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			return GKV_E_IO;
		}
		p += n;
		len -= (size_t)n;
		s->e->bytes += (uint64_t)n;
	}
	return 0;
}

/* Write the value at the store path `full` to rel under top: a new
 * temporary file in rel's directory, renamed over rel's name. */
static int export_value(struct exporter *e, int top, const char *full, const char *rel,
			gkv_kind kind)
{
	const char *leaf;
	char *parent = split_last(rel, &leaf), tmp[64];
	struct sink s = {-1, e};
	int dfd = -1, rc = KV_OK, n = 0;

	if (!parent)
		return kv_err(e->ctx, KV_FAIL, "out of memory");
	if ((dfd = open_dir_under(top, parent, 1)) < 0) {
		rc = kv_err(e->ctx, KV_FAIL,
			    "export: cannot open directory '%s' in '%s': %s (a symbolic "
			    "link is never followed)",
			    parent, e->dir, strerror(errno));
		goto done;
	}
	do {
		snprintf(tmp, sizeof(tmp), ".kvctl-export-%ld-%d", (long)getpid(), n++);
		s.fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			      kind == GKV_KIND_EXEC ? 0777 : 0666);
	} while (s.fd < 0 && errno == EEXIST && n < 100);
	if (s.fd < 0) {
		rc = kv_err(e->ctx, KV_FAIL, "export: cannot create a file in '%s/%s': %s", e->dir,
			    parent, strerror(errno));
		goto done;
	}
	rc = gkv_tree_read(e->tree, full, write_piece, &s);
	if (close(s.fd) != 0 && rc == 0)
		rc = GKV_E_IO;
	if (rc == GKV_E_IO)
		rc = kv_err(e->ctx, KV_FAIL, "export: cannot write '%s' in '%s': %s", rel, e->dir,
			    strerror(errno));
	else if (rc < 0)
		rc = kv_read_err(e->ctx, rc, "export of '%s' on branch '%s'", full, e->ctx->branch);
	else if (renameat(dfd, tmp, dfd, leaf) != 0)
		rc = kv_err(e->ctx, KV_FAIL, "export: cannot write '%s' in '%s': %s", rel, e->dir,
			    strerror(errno));
	if (rc != KV_OK)
		unlinkat(dfd, tmp, 0);
done:
	if (dfd >= 0)
		close(dfd);
	free(parent);
	return rc;
}

static int export_items(struct exporter *e, int top)
{
	size_t total = 0, done = 0;
	char *full;
	int rc = KV_OK, fd;

	for (size_t i = 0; i < e->items.n; i++)
		total += e->items.v[i].kind != GKV_KIND_DIR;
	for (size_t i = 0; rc == KV_OK && i < e->items.n; i++) {
		struct item *it = &e->items.v[i];

		if (it->kind == GKV_KIND_DIR) {
			if ((fd = open_dir_under(top, it->path, 1)) < 0)
				rc = kv_err(e->ctx, KV_FAIL,
					    "export: cannot make directory '%s' in '%s': %s (a "
					    "symbolic link is never followed)",
					    it->path, e->dir, strerror(errno));
			else
				close(fd);
			continue;
		}
		if (it->kind == GKV_KIND_LINK || it->kind == GKV_KIND_SUBMODULE) {
			kv_warn(e->ctx, "export: skipping '%s': a %s is not written as a file",
				it->path,
				it->kind == GKV_KIND_LINK ? "symbolic link" : "submodule");
			e->skipped++;
		} else {
			if ((full = join(e->prefix, it->path)) == NULL)
				return kv_err(e->ctx, KV_FAIL, "out of memory");
			rc = export_value(e, top, full, it->path, it->kind);
			free(full);
			e->files += rc == KV_OK;
		}
		kv_progress_update(e->bar, ++done, total, e->bytes);
	}
	return rc;
}

/* Open DIR, made if absent. DIR itself is the user's choice and may be a
 * symbolic link to a directory; nothing below it is followed. */
static int open_top(struct kv_ctx *ctx, const char *dir, int create)
{
	int fd;

	if (create && mkdir(dir, 0777) != 0 && errno != EEXIST)
		return kv_err(ctx, KV_FAIL, "cannot make directory '%s': %s", dir, strerror(errno)),
		       -1;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		kv_err(ctx, errno == ENOENT ? KV_NOTFOUND : KV_FAIL,
		       "cannot open directory '%s': %s", dir, strerror(errno));
	return fd;
}

int kv_cmd_export(struct kv_ctx *ctx)
{
	char *path = ctx->o.nargs > 1 ? ctx->o.args[1] : "";
	struct exporter e = {ctx, NULL, path, ctx->o.args[0], {NULL, 0, 0}, 0, 0, 0, NULL};
	gkv_store *store = NULL;
	gkv_kind kind = GKV_KIND_DIR;
	const char *leaf;
	char *parent = NULL;
	int rc, top = -1;

	if ((rc = kv_check_path(ctx, path, 1, 1)) != KV_OK ||
	    (rc = kv_open(ctx, KV_RDONLY)) != KV_OK || (rc = kv_open_store(&store, ctx)) != KV_OK ||
	    (rc = kv_head_tree(&e.tree, store, ctx)) != KV_OK)
		goto done;
	if (*path && (rc = gkv_tree_kind(&kind, e.tree, path)) < 0) {
		rc = kv_read_err(ctx, rc, "export of '%s' on branch '%s'", path, ctx->branch);
		goto done;
	}
	if (kind == GKV_KIND_NONE) {
		rc = kv_err(ctx, KV_NOTFOUND, "'%s' not found on branch '%s'", path, ctx->branch);
		goto done;
	}
	/* Every name is checked before a byte is written. */
	if (kind == GKV_KIND_DIR) {
		rc = collect(&e);
	} else { /* one value: DIR/<its name> */
		if ((parent = split_last(path, &leaf)) == NULL ||
		    items_add(&e.items, leaf, kind, 0) < 0) {
			rc = kv_err(ctx, KV_FAIL, "out of memory");
			goto done;
		}
		e.prefix = parent;
		rc = KV_OK;
	}
	if (rc != KV_OK || (top = open_top(ctx, e.dir, 1)) < 0) {
		rc = rc != KV_OK ? rc : ctx->errcode;
		goto done;
	}
	e.bar = kv_progress_start("export");
	rc = export_items(&e, top);
	kv_progress_end(e.bar);
	if (rc != KV_OK)
		goto done;
	kv_note(ctx, "exported %zu files (%llu bytes) to '%s'", e.files,
		(unsigned long long)e.bytes, e.dir);
	if (ctx->o.json) {
		putc('{', ctx->out);
		kv_json_key(ctx->out, "dir", 1);
		kv_json_cstr(ctx->out, e.dir);
		kv_json_key(ctx->out, "path", 0);
		kv_json_cstr(ctx->out, path);
		kv_json_key(ctx->out, "branch", 0);
		kv_json_cstr(ctx->out, ctx->branch);
		kv_json_key(ctx->out, "files", 0);
		fprintf(ctx->out, "%zu", e.files);
		kv_json_key(ctx->out, "bytes", 0);
		fprintf(ctx->out, "%llu", (unsigned long long)e.bytes);
		kv_json_key(ctx->out, "skipped", 0);
		fprintf(ctx->out, "%zu}\n", e.skipped);
	}
done:
	if (top >= 0)
		close(top);
	free(parent);
	items_free(&e.items);
	gkv_tree_free(e.tree);
	gkv_store_free(store);
	return rc;
}

/* ------------------------------------------------------------ import */

struct import {
	struct kv_ctx *ctx;
	const char *dir;    /* DIR as given */
	const char *prefix; /* the store path imported into */
	struct items files; /* regular files, relative to DIR */
	size_t skipped;
};

static const char *odd_kind(mode_t mode)
{
	return S_ISLNK(mode)	? "symbolic link"
	       : S_ISCHR(mode)	? "character device"
	       : S_ISBLK(mode)	? "block device"
	       : S_ISFIFO(mode) ? "FIFO"
	       : S_ISSOCK(mode) ? "socket"
				: "special file";
}

/* Check the store path a file of DIR becomes: 0, or exit 2 naming it. */
static int check_import_name(struct import *im, const char *rel)
{
	char *path = join(im->prefix, rel);
	int rc = KV_OK;

	if (!path)
		return kv_err(im->ctx, KV_FAIL, "out of memory");
	if (gkv_path_validate(path) < 0)
		rc = kv_err(im->ctx, KV_USAGE, "import: '%s/%s' cannot be a gitkv path: %s",
			    im->dir, rel, gkv_error_last());
	free(path);
	return rc;
}

/* Record the regular files under the directory fd (rel: its path under
 * DIR); fd is closed here. */
static int scan(struct import *im, int fd, const char *rel)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;
	struct stat st;
	char *sub = NULL;
	int rc = KV_OK, child;

	if (!d) {
		close(fd);
		return kv_err(im->ctx, KV_FAIL, "import: cannot read '%s/%s': %s", im->dir, rel,
			      strerror(errno));
	}
	while (rc == KV_OK && (errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		free(sub);
		if ((sub = join(rel, de->d_name)) == NULL) {
			rc = kv_err(im->ctx, KV_FAIL, "out of memory");
			break;
		}
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			rc = kv_err(im->ctx, KV_FAIL, "import: cannot read '%s/%s': %s", im->dir,
				    sub, strerror(errno));
		} else if (S_ISDIR(st.st_mode)) {
			child = openat(dirfd(d), de->d_name,
				       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (child < 0)
				rc = kv_err(im->ctx, KV_FAIL, "import: cannot open '%s/%s': %s",
					    im->dir, sub, strerror(errno));
			else
				rc = scan(im, child, sub);
		} else if (S_ISREG(st.st_mode)) {
			if ((rc = check_import_name(im, sub)) == KV_OK &&
			    items_add(&im->files, sub, GKV_KIND_VALUE, (uint64_t)st.st_size) < 0)
				rc = kv_err(im->ctx, KV_FAIL, "out of memory");
		} else {
			kv_warn(im->ctx, "import: skipping '%s/%s': a %s is not a value", im->dir,
				sub, odd_kind(st.st_mode));
			im->skipped++;
		}
	}
	if (rc == KV_OK && errno != 0)
		rc = kv_err(im->ctx, KV_FAIL, "import: cannot read '%s/%s': %s", im->dir, rel,
			    strerror(errno));
	free(sub);
	closedir(d);
	return rc;
}

/* The bytes of the regular file rel under top, opened without following
 * a symbolic link anywhere on the way. */
static int read_file(struct import *im, int top, const char *rel, gkv_buf *out)
{
	const char *leaf;
	char *parent = split_last(rel, &leaf);
	int dfd = -1, fd = -1, rc = KV_OK;
	struct stat st;
	size_t cap, got = 0;
	ssize_t n;

	out->ptr = NULL;
	out->size = 0;
	if (!parent)
		return kv_err(im->ctx, KV_FAIL, "out of memory");
	if ((dfd = open_dir_under(top, parent, 0)) < 0 ||
	    (fd = openat(dfd, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0 ||
	    fstat(fd, &st) != 0) {
		rc = kv_err(im->ctx, KV_FAIL, "import: cannot read '%s/%s': %s", im->dir, rel,
			    strerror(errno));
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = kv_err(im->ctx, KV_FAIL, "import: '%s/%s' changed while it was read", im->dir,
			    rel);
		goto done;
	}
	cap = (size_t)st.st_size + 1;
	if ((out->ptr = malloc(cap)) == NULL) {
		rc = kv_err(im->ctx, KV_FAIL, "out of memory reading '%s/%s'", im->dir, rel);
		goto done;
	}
	for (;;) {
		if (got == cap) {
			unsigned char *p = realloc(out->ptr, cap *= 2);

			if (!p) {
				rc = kv_err(im->ctx, KV_FAIL, "out of memory reading '%s/%s'",
					    im->dir, rel);
				goto done;
			}
			out->ptr = p;
		}
		if ((n = read(fd, out->ptr + got, cap - got)) < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = kv_err(im->ctx, KV_FAIL, "import: cannot read '%s/%s': %s", im->dir,
				    rel, strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	out->size = got;
done:
	if (rc != KV_OK)
		gkv_buf_dispose(out);
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	free(parent);
	return rc;
}

/* The tree of DIR's files, read from top, into *out. */
static int build(struct import *im, int top, gkv_tree **out, uint64_t *bytes)
{
	kv_progress *bar = kv_progress_start("import");
	gkv_tree *t = NULL, *next;
	gkv_buf val;
	int rc;

	if ((rc = gkv_tree_empty(&t, im->ctx->repo)) < 0) {
		rc = kv_api_err(im->ctx, rc, "import");
		goto done;
	}
	for (size_t i = 0; i < im->files.n; i++) {
		const char *rel = im->files.v[i].path;

		if ((rc = read_file(im, top, rel, &val)) != KV_OK)
			goto done;
		rc = gkv_tree_set(&next, t, rel, val.ptr, val.size);
		*bytes += val.size;
		gkv_buf_dispose(&val);
		if (rc < 0) {
			rc = kv_api_err(im->ctx, rc, "import of '%s/%s'", im->dir, rel);
			goto done;
		}
		gkv_tree_free(t);
		t = next;
		kv_progress_update(bar, i + 1, im->files.n, *bytes);
	}
	rc = KV_OK;
done:
	kv_progress_end(bar);
	if (rc == KV_OK)
		*out = t;
	else
		gkv_tree_free(t);
	return rc;
}

int kv_cmd_import(struct kv_ctx *ctx)
{
	char *path = ctx->o.nargs > 1 ? ctx->o.args[1] : "";
	struct import im = {ctx, ctx->o.args[0], path, {NULL, 0, 0}, 0};
	gkv_store *store = NULL;
	gkv_tree *tree = NULL;
	gkv_info *info = NULL;
	gkv_oid before, after;
	uint64_t bytes = 0;
	int rc, top, had, changed;

	if ((rc = kv_check_path(ctx, path, 1, 1)) != KV_OK ||
	    (rc = kv_make_info(&info, ctx, "import", *path ? path : NULL)) != KV_OK)
		goto done;
	if ((top = open_top(ctx, im.dir, 0)) < 0) {
		rc = ctx->errcode;
		goto done;
	}
	/* Every name is checked before the store is opened or made. */
	if ((rc = scan(&im, dup(top), "")) != KV_OK) {
		close(top);
		goto done;
	}
	if ((rc = kv_open(ctx, KV_CREATE)) == KV_OK && (rc = kv_open_store(&store, ctx)) == KV_OK)
		rc = build(&im, top, &tree, &bytes);
	close(top);
	if (rc != KV_OK)
		goto done;
	rc = gkv_store_head(&before, store);
	if (rc < 0 && rc != GKV_E_NOTFOUND) {
		rc = kv_api_err(ctx, rc, "branch '%s'", ctx->branch);
		goto done;
	}
	had = rc == 0;
	if ((rc = gkv_store_set_tree(&after, store, path, tree, info)) < 0) {
		rc = kv_api_err(ctx, rc, "import into '%s' on branch '%s'", path, ctx->branch);
		goto done;
	}
	changed = had ? !gkv_oid_equal(&before, &after) : !gkv_oid_is_zero(&after);
	kv_note(ctx,
		changed ? "imported %zu files into '%s' on branch '%s'"
			: "%zu files, nothing changed in '%s' on branch '%s'",
		im.files.n, path, ctx->branch);
	if (ctx->o.json) {
		putc('{', ctx->out);
		kv_json_key(ctx->out, "branch", 1);
		kv_json_cstr(ctx->out, ctx->branch);
		kv_json_key(ctx->out, "hash", 0);
		if (gkv_oid_is_zero(&after))
			fputs("null", ctx->out);
		else
			kv_json_oid(ctx->out, &after);
		kv_json_key(ctx->out, "changed", 0);
		fputs(changed ? "true" : "false", ctx->out);
		kv_json_key(ctx->out, "files", 0);
		fprintf(ctx->out, "%zu", im.files.n);
		kv_json_key(ctx->out, "bytes", 0);
		fprintf(ctx->out, "%llu", (unsigned long long)bytes);
		kv_json_key(ctx->out, "skipped", 0);
		fprintf(ctx->out, "%zu}\n", im.skipped);
	}
	rc = KV_OK;
done:
	items_free(&im.files);
	gkv_tree_free(tree);
	gkv_info_free(info);
	gkv_store_free(store);
	return rc;
}
