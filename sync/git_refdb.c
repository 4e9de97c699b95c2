/*
 * git_refdb.c -- a gitkv store's refs shown to libgit2 as a read-only
 * refdb backend.
 *
 * A fetch walks them to send "have" lines (so a store that holds most
 * of the remote's history receives only what is new); the local
 * transport hides them from what it packs. A push names the head it
 * sends through one extra ref (op->push_refname), since libgit2 pushes
 * refs, not ids. libgit2 never moves a ref here: writes, renames,
 * deletes and reflogs are refused, and the store's refs move only in
 * the batch of the fetch.
 *
 * The iterator lists refs newest commit first. libgit2 sends "have"
 * lines in the order the refs come and stops at the first batch of 20
 * the server acknowledges; in name order, 20 old branches are often
 * enough for the server to call it ready, and a fetch of one new commit
 * of main would then receive most of the repository.
 */
#define _GNU_SOURCE
#include <fnmatch.h>

#include "libgit2.h"

#include "git_int.h"
#include "objparse.h"
#include "util.h"

typedef struct {
	git_refdb_backend parent;
	gkv__wire_op *op;
} refdb_backend;

typedef struct {
	char *name;
	gkv_oid id;
	long long time; /* the target's commit or tag time, 0 if none */
} ref_entry;

typedef struct {
	git_reference_iterator parent;
	ref_entry *refs;
	size_t count, cap, next;
	const char *glob;
	int err;
} ref_iter;

static int lookup_id(gkv_oid *out, refdb_backend *b, const char *name)
{
	gkv__wire_op *op = b->op;
	int err;

	if (op->push_refname && !strcmp(name, op->push_refname)) {
		*out = op->push_head;
		return 0;
	}
	if (strncmp(name, "refs/", 5) != 0)
		return GIT_ENOTFOUND; /* HEAD and the like: the store has none */
	err = op->kb->ref_read(out, op->kb, name);
	if (err == GKV_E_NOTFOUND)
		return GIT_ENOTFOUND;
	if (err < 0) {
		gkv__wire_op_fail(op, err);
		git_error_set_str(GIT_ERROR_REFERENCE, gkv_error_last());
		return -1;
	}
	return 0;
}

static int rdb_exists(int *exists, git_refdb_backend *gb, const char *name)
{
	gkv_oid id;
	int err = lookup_id(&id, (refdb_backend *)gb, name);

	if (err == GIT_ENOTFOUND) {
		*exists = 0;
		return 0;
	}
	if (err < 0)
		return err;
	*exists = 1;
	return 0;
}

static int rdb_lookup(git_reference **out, git_refdb_backend *gb, const char *name)
{
	gkv_oid id;
	int err;

	if ((err = lookup_id(&id, (refdb_backend *)gb, name)) < 0) {
		if (err == GIT_ENOTFOUND)
			git_error_set(GIT_ERROR_REFERENCE, "reference '%s' not found", name);
		return err;
	}
	if (!(*out = git_reference__alloc(name, (const git_oid *)&id, NULL))) {
		git_error_set_oom();
		return -1;
	}
	return 0;
}

static int iter_add(ref_iter *it, const char *name, const gkv_oid *id)
{
	if (it->glob && fnmatch(it->glob, name, 0) != 0)
		return 0;
	if (it->count == it->cap) {
		size_t cap = it->cap ? it->cap * 2 : 16;
		ref_entry *r = realloc(it->refs, cap * sizeof(*r));
		if (!r)
			return -1;
		it->refs = r;
		it->cap = cap;
	}
	if (!(it->refs[it->count].name = gkv__strdup(name)))
		return -1;
	it->refs[it->count++].id = *id;
	return 0;
}

static int iter_ref_cb(const char *name, const gkv_oid *target, void *payload)
{
	ref_iter *it = payload;

	if (iter_add(it, name, target) < 0) {
		it->err = GKV_E_NOMEM;
		return 1;
	}
	return 0;
}

static int iter_next(git_reference **out, git_reference_iterator *gi)
{
	ref_iter *it = (ref_iter *)gi;
	ref_entry *e;

	if (it->next >= it->count)
		return GIT_ITEROVER;
	e = &it->refs[it->next++];
	if (!(*out = git_reference__alloc(e->name, (const git_oid *)&e->id, NULL))) {
		git_error_set_oom();
		return -1;
	}
	return 0;
}

static int iter_next_name(const char **out, git_reference_iterator *gi)
{
	ref_iter *it = (ref_iter *)gi;

	if (it->next >= it->count)
		return GIT_ITEROVER;
	*out = it->refs[it->next++].name;
	return 0;
}

static void iter_free(git_reference_iterator *gi)
{
	ref_iter *it = (ref_iter *)gi;

	for (size_t i = 0; i < it->count; i++)
		free(it->refs[i].name);
	free(it->refs);
	free(it);
}

/* The time of e's target, if it is a commit or a tag the store can read. */
static void ref_time(ref_entry *e, gkv_backend *kb)
{
	size_t n;
	gkv_otype t;
	void *data;

	e->time = 0;
	if (kb->read_header(&n, &t, kb, &e->id) < 0 || (t != GKV_OBJ_COMMIT && t != GKV_OBJ_TAG) ||
	    kb->read(&data, &n, &t, kb, &e->id) < 0) {
		gkv_error_clear(); /* an unreadable target is fsck's business, not ours */
		return;
	}
	e->time = gkv__object_time(data, n);
	gkv_backend_data_free(data);
}

static int newest_first(const void *a, const void *b)
{
	const ref_entry *x = a, *y = b;

	if (x->time != y->time)
		return x->time > y->time ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Every ref matching glob (NULL: all), read at once: a snapshot, newest
 * target first. */
static int rdb_iterator(git_reference_iterator **out, git_refdb_backend *gb,
    const char *glob)
{
	refdb_backend *b = (refdb_backend *)gb;
	gkv__wire_op *op = b->op;
	ref_iter *it;
	int err;

	if (!(it = calloc(1, sizeof(*it)))) {
		git_error_set_oom();
		return -1;
	}
	it->glob = glob;
	err = op->kb->ref_list(op->kb, "refs/", iter_ref_cb, it);
	if (!err && !it->err && op->push_refname && iter_add(it, op->push_refname,
	        &op->push_head) < 0)
		it->err = GKV_E_NOMEM;
	it->glob = NULL; /* only valid during this call */
	if (err < 0 || it->err) {
		if (it->err == GKV_E_NOMEM)
			git_error_set_oom();
		else {
			gkv__wire_op_fail(op, err);
			git_error_set_str(GIT_ERROR_REFERENCE, gkv_error_last());
		}
		iter_free(&it->parent);
		return -1;
	}
	for (size_t i = 0; i < it->count; i++)
		ref_time(&it->refs[i], op->kb);
	if (it->count > 1)
		qsort(it->refs, it->count, sizeof(*it->refs), newest_first);
	it->parent.next = iter_next;
	it->parent.next_name = iter_next_name;
	it->parent.free = iter_free;
	*out = &it->parent;
	return 0;
}

static int refused(void)
{
	git_error_set_str(GIT_ERROR_REFERENCE,
	    "the store's refs move only with the objects they need");
	return -1;
}

static int rdb_write(git_refdb_backend *gb, const git_reference *ref, int force,
    const git_signature *who, const char *message, const git_oid *old,
    const char *old_target)
{
	return refused();
}

static int rdb_rename(git_reference **out, git_refdb_backend *gb, const char *old_name,
    const char *new_name, int force, const git_signature *who, const char *message)
{
	return refused();
}

static int rdb_del(git_refdb_backend *gb, const char *name, const git_oid *old_id,
    const char *old_target)
{
	return refused();
}

static int rdb_has_log(git_refdb_backend *gb, const char *name)
{
	return 0;
}

static int rdb_ensure_log(git_refdb_backend *gb, const char *name)
{
	return refused();
}

static int rdb_reflog_read(git_reflog **out, git_refdb_backend *gb, const char *name)
{
	return refused();
}

static int rdb_reflog_write(git_refdb_backend *gb, git_reflog *reflog)
{
	return refused();
}

static int rdb_reflog_rename(git_refdb_backend *gb, const char *old_name,
    const char *new_name)
{
	return refused();
}

static int rdb_reflog_delete(git_refdb_backend *gb, const char *name)
{
	return refused();
}

static void rdb_free(git_refdb_backend *gb)
{
	free(gb);
}

int gkv__wire_refdb_backend(git_refdb_backend **out, gkv__wire_op *op)
{
	refdb_backend *b;

	if (!(b = calloc(1, sizeof(*b))))
		return gkv__oom();
	if (git_refdb_init_backend(&b->parent, GIT_REFDB_BACKEND_VERSION) < 0) {
		free(b);
		return gkv__error(GKV_E_ERROR, "libgit2 refused a refdb backend");
	}
	b->op = op;
	b->parent.exists = rdb_exists;
	b->parent.lookup = rdb_lookup;
	b->parent.iterator = rdb_iterator;
	b->parent.write = rdb_write;
	b->parent.rename = rdb_rename;
	b->parent.del = rdb_del;
	b->parent.has_log = rdb_has_log;
	b->parent.ensure_log = rdb_ensure_log;
	b->parent.reflog_read = rdb_reflog_read;
	b->parent.reflog_write = rdb_reflog_write;
	b->parent.reflog_rename = rdb_reflog_rename;
	b->parent.reflog_delete = rdb_reflog_delete;
	b->parent.free = rdb_free;
	*out = &b->parent;
	return 0;
}
