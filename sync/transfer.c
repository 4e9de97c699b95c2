/*
 * transfer.c -- store-to-store: copy what one gitkv store lacks from
 * another, in one batch of the destination's backend, with the ref moves
 * that must land with the objects.
 *
 * What the destination lacks is found by walking from the source's heads
 * and stopping at what the destination has: a commit it has implies its
 * whole history and their trees (the store never lands a commit without
 * them), and a tree it has implies everything below. Commits are taken
 * breadth-first through their parents; each new commit's tree is walked
 * depth-first before the next commit, so at any time the walk holds the
 * ids still to visit and the set of ids seen, never the objects: each
 * object is read from the source, checked (gkv_object_check), re-hashed,
 * written into the batch and freed before the next is read. The cost is
 * that of the new objects and of one `exists` for each entry of a new
 * tree, whatever the size of the rest of the history.
 *
 * Between two backends that keep objects in the same self-checking
 * records (backend.h: raw_format; two lmdb stores of format 3 or later),
 * blobs are copied as records: the record's checksum over the id and its
 * bytes, verified when read and again when written, stands for the
 * re-hash, and a blob, which has no structure to check, is neither
 * inflated nor deflated again. Commits and trees, which the walk parses
 * anyway, are still checked and re-hashed.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "objparse.h"
#include "oidset.h"
#include "sync_int.h"
#include "util.h"

typedef struct {
	gkv_backend *src, *dst;
	gkv_batch *batch;
	gkv__oidset seen;   /* every id visited: each object is looked at once */
	gkv__oidq commits;  /* new commits whose parents are still to visit */
	gkv_oid *trees;     /* new trees still to read: a stack */
	size_t ntrees, trees_cap;
	const gkv_sync_options *opts;
	gkv_sync_progress prog;
	gkv_sync_stage stage;  /* STORING, or SENDING when pushing */
	bool raw;	       /* blobs go as records: both name one raw_format */
} copier;

static void copier_free(copier *c)
{
	gkv__oidset_free(&c->seen);
	gkv__oidq_free(&c->commits);
	free(c->trees);
}

static const char *type_name(gkv_otype t)
{
	switch (t) {
	case GKV_OBJ_COMMIT: return "commit";
	case GKV_OBJ_TREE: return "tree";
	case GKV_OBJ_BLOB: return "blob";
	case GKV_OBJ_TAG: return "tag";
	default: return "unknown object";
	}
}

/* What a read of id from the source gave (rc; got, the type, when rc is
 * 0), as the walk takes it: a missing object, or one of another type
 * than want, which another object names, is damage in the source. On
 * such an error *data is freed. The id is formatted only for a message. */
static int src_checked(const gkv_oid *id, int rc, gkv_otype got, gkv_otype want, void **data)
{
	char hex[GKV_OID_HEXSZ + 1];

	if (rc == 0 && got == want)
		return 0;
	gkv_oid_fmt(hex, id);
	if (rc == GKV_E_NOTFOUND)
		return gkv__error(GKV_E_CORRUPT, "%s %s is missing from the source store",
		    type_name(want), hex);
	if (rc < 0)
		return rc;
	gkv_backend_data_free(*data);
	*data = NULL;
	return gkv__error(GKV_E_CORRUPT, "object %s of the source store is a %s, not a %s",
	    hex, type_name(got), type_name(want));
}

/* Read object id of the source, which must be of type want. */
static int read_src(void **data, size_t *len, copier *c, const gkv_oid *id, gkv_otype want)
{
	gkv_otype type = GKV_OBJ_BAD;
	int rc = c->src->read_typed ? c->src->read_typed(data, len, &type, c->src, id, want)
				    : c->src->read(data, len, &type, c->src, id);

	return src_checked(id, rc, type, want, data);
}

/* Check an object read from the source, as git's transfer.fsckObjects
 * does, re-hash it, and add it to the batch. */
static int store_object(copier *c, const gkv_oid *id, gkv_otype type, const void *data,
    size_t len)
{
	char hex[GKV_OID_HEXSZ + 1];
	gkv_oid check;
	int rc;

	gkv_oid_fmt(hex, id);
	if ((rc = gkv_object_check(type, data, len)) < 0)
		return gkv__error(GKV_E_CORRUPT, "%s %s of the source store is malformed: %s",
		    type_name(type), hex, gkv_error_last());
	if ((rc = gkv_hash(&check, type, data, len)) < 0)
		return rc;
	if (!gkv_oid_equal(&check, id))
		return gkv__error(GKV_E_CORRUPT,
		    "%s %s of the source store does not hash to its id", type_name(type), hex);
	if ((rc = c->dst->batch_write(c->batch, id, type, data, len)) < 0)
		return rc;
	c->prog.stored_objects++;
	return gkv__progress(c->opts, &c->prog);
}

/* Mark id seen: 1 when it is new to the walk and the destination lacks
 * it, 0 when there is nothing to do, or an error. */
static int wanted(copier *c, const gkv_oid *id)
{
	int rc = gkv__oidset_add(&c->seen, id);
	if (rc <= 0)
		return rc;
	if ((rc = c->dst->exists(c->dst, id)) < 0)
		return rc;
	return !rc;
}

static int want_commit(const gkv_oid *id, void *payload)
{
	copier *c = payload;
	int rc = wanted(c, id);
	return rc <= 0 ? rc : gkv__oidq_push(&c->commits, id);
}

static int want_tree(copier *c, const gkv_oid *id)
{
	int rc = wanted(c, id);
	if (rc <= 0)
		return rc;
	if (c->ntrees == c->trees_cap) {
		size_t ncap = c->trees_cap ? c->trees_cap * 2 : 64;
		gkv_oid *n = realloc(c->trees, ncap * sizeof(*n));
		if (!n)
			return gkv__oom();
		c->trees = n;
		c->trees_cap = ncap;
	}
	c->trees[c->ntrees++] = *id;
	return 0;
}

/* Copy blob id as the source stores it (both backends keep the same
 * self-checking records): its checksum, verified on both sides, stands
 * for the re-hash, and nothing is inflated or deflated. */
static int copy_raw(copier *c, const gkv_oid *id)
{
	void *rec = NULL;
	size_t len = 0;
	gkv_otype type = GKV_OBJ_BAD;
	int rc = c->src->read_raw(&rec, &len, &type, c->src, id);

	if ((rc = src_checked(id, rc, type, GKV_OBJ_BLOB, &rec)) < 0)
		return rc;
	rc = c->dst->batch_write_raw(c->batch, id, type, rec, len);
	gkv_backend_data_free(rec);
	if (rc < 0)
		return rc;
	c->prog.stored_objects++;
	return gkv__progress(c->opts, &c->prog);
}

static int copy_blob(copier *c, const gkv_oid *id)
{
	void *data = NULL;
	size_t len = 0;
	int rc = wanted(c, id);

	if (rc <= 0)
		return rc;
	if (c->raw)
		return copy_raw(c, id);
	if ((rc = read_src(&data, &len, c, id, GKV_OBJ_BLOB)) < 0)
		return rc;
	rc = store_object(c, id, GKV_OBJ_BLOB, data, len);
	gkv_backend_data_free(data);
	return rc;
}

/* Copy one new tree; push the subtrees the destination lacks, copy the
 * blobs it lacks. A submodule's commit (mode 160000) is not ours. */
static int copy_tree(copier *c, const gkv_oid *id)
{
	gkv__tree_entry e;
	void *data = NULL;
	size_t len = 0, pos = 0;
	int rc;

	if ((rc = read_src(&data, &len, c, id, GKV_OBJ_TREE)) < 0)
		return rc;
	if ((rc = store_object(c, id, GKV_OBJ_TREE, data, len)) < 0)
		goto done;
	while ((rc = gkv__tree_next(&e, data, len, &pos)) == 1) {
		if (e.mode == 040000)
			rc = want_tree(c, &e.id);
		else if (e.mode != 0160000)
			rc = copy_blob(c, &e.id);
		else
			rc = 0;
		if (rc < 0)
			goto done;
	}
done:
	gkv_backend_data_free(data);
	return rc;
}

static int copy_commit(copier *c, const gkv_oid *id)
{
	gkv_oid tree, t;
	void *data = NULL;
	size_t len = 0;
	int rc;

	if ((rc = read_src(&data, &len, c, id, GKV_OBJ_COMMIT)) < 0)
		return rc;
	if ((rc = store_object(c, id, GKV_OBJ_COMMIT, data, len)) < 0 ||
	    (rc = gkv__commit_links(&tree, data, len, want_commit, c)) < 0 ||
	    (rc = want_tree(c, &tree)) < 0)
		goto done;
	while (c->ntrees > 0) {
		t = c->trees[--c->ntrees];
		if ((rc = copy_tree(c, &t)) < 0)
			goto done;
	}
done:
	gkv_backend_data_free(data);
	return rc;
}

/* Copy everything heads[] need that the destination lacks into c->batch. */
static int copy_heads(copier *c, const gkv_oid *heads, size_t n)
{
	gkv_oid id;
	size_t i;
	int rc;

	c->prog.stage = c->stage;
	if ((rc = gkv__progress(c->opts, &c->prog)) < 0)
		return rc;
	for (i = 0; i < n; i++)
		if ((rc = want_commit(&heads[i], c)) < 0)
			return rc;
	while (gkv__oidq_pop(&id, &c->commits))
		if ((rc = copy_commit(c, &id)) < 0)
			return rc;
	return 0;
}

/* Every head must be a commit of the source, even one the destination
 * already has. */
static int check_heads(gkv_backend *src, const gkv_oid *heads, size_t n)
{
	char hex[GKV_OID_HEXSZ + 1];
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		if ((rc = src->exists(src, &heads[i])) < 0)
			return rc;
		if (!rc) {
			gkv_oid_fmt(hex, &heads[i]);
			return gkv__error(GKV_E_NOTFOUND, "commit %s is not in the source store", hex);
		}
	}
	return 0;
}

static void copier_init(copier *c, gkv_repo *dst, gkv_repo *src, const gkv_sync_options *opts)
{
	memset(c, 0, sizeof(*c));
	c->src = gkv_repo_backend(src);
	c->dst = gkv_repo_backend(dst);
	c->opts = opts;
	c->stage = GKV_SYNC_STORING;
	c->raw = c->src->raw_format && c->dst->raw_format && c->src->read_raw &&
	    c->dst->batch_write_raw && strcmp(c->src->raw_format, c->dst->raw_format) == 0;
}

/* Land the batch (freed whatever happens), reporting UPDATING and DONE. */
static int finish(copier *c, int rc)
{
	gkv_batch *b = c->batch;

	c->batch = NULL;
	if (rc == 0) {
		c->prog.stage = GKV_SYNC_UPDATING;
		rc = gkv__progress(c->opts, &c->prog);
	}
	if (rc < 0) {
		c->dst->batch_abort(b);
		return rc;
	}
	if ((rc = c->dst->batch_commit(b)) < 0)
		return rc;
	c->prog.stage = GKV_SYNC_DONE;
	(void)gkv__progress(c->opts, &c->prog); /* landed: too late to stop */
	gkv_error_clear();
	return 0;
}

int gkv_sync_copy(uint64_t *copied, gkv_repo *dst, gkv_repo *src, const gkv_oid *heads,
    size_t n, const gkv_sync_options *opts)
{
	copier c;
	int rc;

	if (!dst || !src || (n > 0 && !heads))
		return gkv__error(GKV_E_INVALID, "gkv_sync_copy: NULL argument");
	copier_init(&c, dst, src, opts);
	if ((rc = check_heads(c.src, heads, n)) < 0)
		return rc;
	if ((rc = c.dst->batch_begin(&c.batch, c.dst)) < 0)
		return rc;
	rc = finish(&c, copy_heads(&c, heads, n));
	if (rc == 0 && copied)
		*copied = c.prog.stored_objects;
	copier_free(&c);
	return rc;
}

/* ---- fetch ---- */

typedef struct {
	gkv_fetch_result *r;
	const char *only; /* one branch, or NULL */
} heads_ctx;

static int add_head(const char *name, const gkv_oid *target, void *payload)
{
	heads_ctx *h = payload;
	const char *branch = name + strlen("refs/heads/");

	/* A branch gitkv could not name (a hostile or odd remote) is left
	 * out rather than made a ref no call can reach. */
	if (gkv_branch_name_validate(branch) < 0) {
		gkv_error_clear();
		return 0;
	}
	return gkv__fetch_result_add(h->r, branch, target);
}

/* The heads of src: every branch, or branch alone. */
static int list_heads(gkv_fetch_result *r, gkv_repo *src, const char *branch)
{
	gkv_backend *be = gkv_repo_backend(src);
	const char *def = gkv_repo_default_branch(src);
	heads_ctx h = {r, branch};
	char ref[4096 + 16];
	gkv_oid id;
	int rc;

	if (branch) {
		snprintf(ref, sizeof(ref), "refs/heads/%s", branch);
		rc = be->ref_read(&id, be, ref);
		if (rc == GKV_E_NOTFOUND)
			return gkv__error(GKV_E_NOTFOUND, "the remote has no branch '%s'", branch);
		if (rc < 0 || (rc = gkv__fetch_result_add(r, branch, &id)) < 0)
			return rc;
	} else if ((rc = be->ref_list(be, "refs/heads/", add_head, &h)) < 0) {
		return rc;
	}
	gkv__fetch_result_sort(r);
	/* The remote's HEAD names a branch only when that branch exists. */
	snprintf(ref, sizeof(ref), "refs/heads/%s", def ? def : "");
	if (def && (rc = be->ref_read(&id, be, ref)) == 0) {
		if (!(r->default_branch = gkv__strdup(def)))
			return GKV_E_NOMEM;
	} else if (def && rc != GKV_E_NOTFOUND) {
		return rc;
	}
	gkv_error_clear();
	return 0;
}

int gkv__store_fetch(gkv_fetch_result **out, gkv_repo *repo, gkv_repo *src,
    const char *branch, const gkv_sync_options *opts, gkv__refs_fn refs_fn, void *payload)
{
	gkv_fetch_result *r;
	gkv_oid *ids = NULL;
	copier c;
	size_t i;
	int rc;

	*out = NULL;
	if (!(r = gkv__fetch_result_new()))
		return GKV_E_NOMEM;
	copier_init(&c, repo, src, opts);
	c.prog.stage = GKV_SYNC_CONNECTING;
	if ((rc = gkv__progress(opts, &c.prog)) < 0 || (rc = list_heads(r, src, branch)) < 0)
		goto fail;
	if (r->count && !(ids = malloc(r->count * sizeof(*ids)))) {
		rc = gkv__oom();
		goto fail;
	}
	for (i = 0; i < r->count; i++)
		ids[i] = r->heads[i].id;
	if ((rc = c.dst->batch_begin(&c.batch, c.dst)) < 0)
		goto fail;
	rc = copy_heads(&c, ids, r->count);
	if (rc == 0 && refs_fn)
		rc = refs_fn(c.batch, r, payload);
	if ((rc = finish(&c, rc)) < 0)
		goto fail;
	r->objects = c.prog.stored_objects;
	free(ids);
	copier_free(&c);
	*out = r;
	return 0;
fail:
	free(ids);
	copier_free(&c);
	gkv_fetch_result_free(r);
	return rc;
}

/* ---- push ---- */

int gkv__store_push(gkv_oid *old, gkv_repo *repo, const gkv_oid *head, gkv_repo *dst,
    const char *remote_branch, const char *log_message, const gkv_sync_options *opts)
{
	gkv_backend *dbe = gkv_repo_backend(dst);
	char ref[4096 + 16], a[GKV_OID_HEXSZ + 1], b[GKV_OID_HEXSZ + 1];
	int exists = 1, rc, anc = 0;
	copier c;

	memset(old, 0, sizeof(*old));
	snprintf(ref, sizeof(ref), "refs/heads/%s", remote_branch);
	rc = dbe->ref_read(old, dbe, ref);
	if (rc == GKV_E_NOTFOUND) {
		exists = 0;
		memset(old, 0, sizeof(*old));
	} else if (rc < 0) {
		return rc;
	}
	gkv_error_clear();
	if (exists && gkv_oid_equal(old, head))
		return 0; /* up to date */
	if (exists && !(opts && opts->force)) {
		/* The remote's head must be in our history: an id we do not
		 * have is not an ancestor. */
		int have = 0;
		if ((rc = gkv_repo_object_exists(&have, repo, old)) < 0)
			return rc;
		if (have && (rc = gkv_is_ancestor(&anc, repo, old, head)) < 0)
			return rc;
		if (!anc) {
			gkv_oid_fmt(a, old);
			gkv_oid_fmt(b, head);
			return gkv__error(GKV_E_NONFASTFORWARD,
			    "push to branch '%s' refused: the remote's head %.12s is not an "
			    "ancestor of %.12s (fetch and merge first, or force)",
			    remote_branch, a, b);
		}
	}
	copier_init(&c, dst, repo, opts);
	c.stage = GKV_SYNC_SENDING;
	if ((rc = dbe->batch_begin(&c.batch, dbe)) < 0)
		return rc;
	rc = copy_heads(&c, head, 1);
	if (rc == 0)
		rc = dbe->batch_ref_cas(c.batch, ref, exists ? old : NULL, head);
	if (rc == 0)
		rc = gkv__sync_reflog(c.batch, dst, ref, log_message);
	rc = finish(&c, rc);
	copier_free(&c);
	if (rc == GKV_E_CONFLICT)
		return gkv__error(GKV_E_CONFLICT,
		    "push to branch '%s': the remote's branch moved during the push; nothing "
		    "was changed (fetch and try again)", remote_branch);
	return rc;
}
