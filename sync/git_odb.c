/*
 * git_odb.c -- a gitkv store's objects shown to libgit2 as an odb backend.
 *
 * Reads go straight to the seam (read, read_header, exists, foreach for
 * prefixes). libgit2 never writes single objects through it: a fetch
 * hands the whole pack to writepack, which indexes it with git_indexer
 * in a private temporary directory (the indexer reads the bases of a
 * thin pack back through this same backend). Nothing reaches the store
 * here: git_pack.c checks the indexed pack and writes it in one batch
 * after the transfer succeeded.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <unistd.h>

#include "libgit2.h"

#include "git_int.h"
#include "util.h"

typedef struct {
	git_odb_backend parent;
	gkv__wire_op *op;
} odb_backend;

typedef struct {
	git_odb_writepack parent;
	gkv__wire_op *op;
	git_indexer *indexer;
} writepack;

int gkv__wire_op_fail(gkv__wire_op *op, int err)
{
	if (!op->err) {
		op->err = err;
		snprintf(op->errmsg, sizeof(op->errmsg), "%s", gkv_error_last());
	}
	return err;
}

/* A store error inside a libgit2 call: remembered, and told to libgit2. */
static int store_error(gkv__wire_op *op, int err)
{
	if (err == GKV_E_NOTFOUND)
		return GIT_ENOTFOUND;
	gkv__wire_op_fail(op, err);
	git_error_set_str(GIT_ERROR_ODB, gkv_error_last());
	return -1;
}

static int odb_read(void **out, size_t *len, git_object_t *type, git_odb_backend *gb,
    const git_oid *oid)
{
	odb_backend *b = (odb_backend *)gb;
	gkv_backend *kb = b->op->kb;
	void *data;
	size_t n;
	gkv_otype t;
	int err;

	if ((err = kb->read(&data, &n, &t, kb, (const gkv_oid *)oid)) < 0)
		return store_error(b->op, err);
	/* libgit2 frees what a backend returns with its own allocator */
	if (!(*out = git_odb_backend_data_alloc(gb, n ? n : 1))) {
		gkv_backend_data_free(data);
		return -1;
	}
	memcpy(*out, data, n);
	gkv_backend_data_free(data);
	*len = n;
	*type = gkv__wire_type(t);
	return 0;
}

static int odb_read_header(size_t *len, git_object_t *type, git_odb_backend *gb,
    const git_oid *oid)
{
	odb_backend *b = (odb_backend *)gb;
	gkv_backend *kb = b->op->kb;
	uint64_t size;
	gkv_otype t;
	void *data;
	size_t n;
	int err;

	if (kb->read_header) {
		if ((err = kb->read_header(&size, &t, kb, (const gkv_oid *)oid)) < 0)
			return store_error(b->op, err);
		*len = (size_t)size;
	} else {
		if ((err = kb->read(&data, &n, &t, kb, (const gkv_oid *)oid)) < 0)
			return store_error(b->op, err);
		gkv_backend_data_free(data);
		*len = n;
	}
	*type = gkv__wire_type(t);
	return 0;
}

static int odb_exists(git_odb_backend *gb, const git_oid *oid)
{
	odb_backend *b = (odb_backend *)gb;
	int r = b->op->kb->exists(b->op->kb, (const gkv_oid *)oid);

	if (r < 0) {
		store_error(b->op, r);
		return 0;
	}
	return r;
}

typedef struct {
	gkv_oid found;
	int count;
} prefix_match;

static int prefix_cb(const gkv_oid *id, void *payload)
{
	prefix_match *m = payload;

	if (m->count++ == 0)
		m->found = *id;
	return m->count > 1 ? 1 : 0;
}

/* The one object whose id starts with the first len hex digits of short_id. */
static int find_prefix(gkv_oid *out, odb_backend *b, const git_oid *short_id, size_t len)
{
	gkv_backend *kb = b->op->kb;
	prefix_match m = { .count = 0 };
	int err;

	if (!kb->foreach)
		return GIT_ENOTFOUND;
	err = kb->foreach(kb, (const gkv_oid *)short_id, len, prefix_cb, &m);
	if (err < 0)
		return store_error(b->op, err);
	if (m.count == 0)
		return GIT_ENOTFOUND;
	if (m.count > 1) {
		git_error_set_str(GIT_ERROR_ODB, "ambiguous object id prefix");
		return GIT_EAMBIGUOUS;
	}
	*out = m.found;
	return 0;
}

static int odb_exists_prefix(git_oid *out, git_odb_backend *gb, const git_oid *short_id,
    size_t len)
{
	gkv_oid id;
	int err;

	if ((err = find_prefix(&id, (odb_backend *)gb, short_id, len)) < 0)
		return err;
	memcpy(out->id, id.id, GKV_OID_RAWSZ);
	return 0;
}

static int odb_read_prefix(git_oid *out, void **data, size_t *len, git_object_t *type,
    git_odb_backend *gb, const git_oid *short_id, size_t n)
{
	gkv_oid id;
	int err;

	if ((err = find_prefix(&id, (odb_backend *)gb, short_id, n)) < 0)
		return err;
	if ((err = odb_read(data, len, type, gb, (const git_oid *)&id)) < 0)
		return err;
	memcpy(out->id, id.id, GKV_OID_RAWSZ);
	return 0;
}

/* ---- writepack: the pack of a fetch, indexed in op->tmpdir ---- */

static int wp_append(git_odb_writepack *w, const void *data, size_t size,
    git_indexer_progress *stats)
{
	writepack *wp = (writepack *)w;

	wp->op->pack_bytes += size;
	return git_indexer_append(wp->indexer, data, size, stats);
}

static int wp_commit(git_odb_writepack *w, git_indexer_progress *stats)
{
	writepack *wp = (writepack *)w;
	gkv__wire_op *op = wp->op;
	int err;

	if ((err = git_indexer_commit(wp->indexer, stats)) < 0)
		return err;
	op->pack_objects = stats->received_objects;
	op->pack_local = stats->local_objects;
	free(op->idx_path);
	if (asprintf(&op->idx_path, "%s/pack-%s.idx", op->tmpdir,
	        git_indexer_name(wp->indexer)) < 0) {
		op->idx_path = NULL;
		git_error_set_oom();
		return -1;
	}
	return 0;
}

static void wp_free(git_odb_writepack *w)
{
	writepack *wp = (writepack *)w;

	git_indexer_free(wp->indexer);
	free(wp);
}

static int odb_writepack(git_odb_writepack **out, git_odb_backend *gb, git_odb *odb,
    git_indexer_progress_cb progress_cb, void *progress_payload)
{
	odb_backend *b = (odb_backend *)gb;
	gkv__wire_op *op = b->op;
	git_indexer_options io;
	const char *base = getenv("TMPDIR");
	writepack *wp;
	int err;

	if (op->tmpdir) {
		git_error_set_str(GIT_ERROR_ODB, "a second pack in one fetch");
		return -1;
	}
	if (!base || !*base)
		base = "/tmp";
	if (asprintf(&op->tmpdir, "%s/gitkv-fetch-XXXXXX", base) < 0) {
		op->tmpdir = NULL;
		git_error_set_oom();
		return -1;
	}
	if (!mkdtemp(op->tmpdir)) {
		git_error_set(GIT_ERROR_OS, "cannot create a temporary directory in %s", base);
		free(op->tmpdir);
		op->tmpdir = NULL;
		gkv__wire_op_fail(op, gkv__error(GKV_E_IO,
		    "cannot create a temporary directory in %s for the pack", base));
		return -1;
	}
	if (!(wp = calloc(1, sizeof(*wp)))) {
		git_error_set_oom();
		return -1;
	}
	git_indexer_options_init(&io, GIT_INDEXER_OPTIONS_VERSION);
	io.progress_cb = progress_cb;
	io.progress_cb_payload = progress_payload;
	/* odb: the bases of a thin pack are read from the store */
	if ((err = git_indexer_new(&wp->indexer, op->tmpdir, 0600, odb, &io)) < 0) {
		free(wp);
		return err;
	}
	wp->op = op;
	wp->parent.backend = gb;
	wp->parent.append = wp_append;
	wp->parent.commit = wp_commit;
	wp->parent.free = wp_free;
	*out = &wp->parent;
	return 0;
}

void gkv__wire_tmpdir_remove(gkv__wire_op *op)
{
	DIR *d;
	struct dirent *e;
	char path[4096];

	if (!op->tmpdir)
		return;
	/* the indexer writes only plain files, and no subdirectory */
	if ((d = opendir(op->tmpdir))) {
		while ((e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			snprintf(path, sizeof(path), "%s/%s", op->tmpdir, e->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(op->tmpdir);
	free(op->tmpdir);
	op->tmpdir = NULL;
}

static void odb_free(git_odb_backend *gb)
{
	free(gb);
}

int gkv__wire_odb_backend(git_odb_backend **out, gkv__wire_op *op)
{
	odb_backend *b;

	if (!(b = calloc(1, sizeof(*b))))
		return gkv__oom();
	if (git_odb_init_backend(&b->parent, GIT_ODB_BACKEND_VERSION) < 0) {
		free(b);
		return gkv__error(GKV_E_ERROR, "libgit2 refused an odb backend");
	}
	b->op = op;
	b->parent.read = odb_read;
	b->parent.read_header = odb_read_header;
	b->parent.read_prefix = odb_read_prefix;
	b->parent.exists = odb_exists;
	b->parent.exists_prefix = odb_exists_prefix;
	b->parent.writepack = odb_writepack;
	b->parent.free = odb_free;
	*out = &b->parent;
	return 0;
}
