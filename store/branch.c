/*
 * branch.c -- branches: git refs under refs/heads/, every move a
 * compare-and-swap through the backend, logged with who and why in the
 * same batch (reflog.c), every move told to the watches.
 */
#include <stdio.h>

#include "path.h"
#include "reflog.h"
#include "repo.h"

#define HEADS "refs/heads/"

int gkv__check_writable(gkv_repo *repo)
{
	if (repo->readonly)
		return gkv__error(GKV_E_READONLY, "the store is open read-only");
	return 0;
}

int gkv__branch_read(gkv_oid *out, gkv_repo *repo, const char *name)
{
	char *ref;
	int rc;

	if ((rc = gkv__branch_ref(&ref, name)) < 0)
		return rc;
	rc = repo->backend->ref_read(out, repo->backend, ref);
	free(ref);
	if (rc == GKV_E_NOTFOUND)
		return gkv__error(GKV_E_NOTFOUND, "branch '%s' not found", name);
	return rc;
}

typedef struct {
	gkv_strarray *arr;
	size_t cap;
} list_state;

static int list_cb(const char *name, const gkv_oid *target, void *payload)
{
	list_state *st = payload;
	char **s;

	(void)target;
	if (st->arr->count == st->cap) {
		st->cap = st->cap ? st->cap * 2 : 16;
		if (!(s = realloc(st->arr->strings, st->cap * sizeof(*s))))
			return gkv__oom();
		st->arr->strings = s;
	}
	if (!(st->arr->strings[st->arr->count] = gkv__strdup(name + strlen(HEADS))))
		return GKV_E_NOMEM;
	st->arr->count++;
	return 0;
}

static int strptr_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int gkv_branch_list(gkv_strarray *out, gkv_repo *repo)
{
	list_state st = {out, 0};
	int rc;

	if (!out || !repo)
		return gkv__error(GKV_E_INVALID, "gkv_branch_list: NULL argument");
	out->strings = NULL;
	out->count = 0;
	if ((rc = repo->backend->ref_list(repo->backend, HEADS, list_cb, &st)) < 0) {
		gkv_strarray_dispose(out);
		return rc;
	}
	/* Backends list in name order already; sort by bytes to be sure. */
	if (out->count)
		qsort(out->strings, out->count, sizeof(char *), strptr_cmp);
	return 0;
}

/*
 * A branch names a commit of the store, or the store is damaged: a ref
 * to a missing object, or to a blob or tree (git refuses to write one,
 * but a hand-edited ref file holds anything), is GKV_E_CORRUPT, not the
 * caller's mistake. Only the type is checked; a malformed commit is
 * found, as GKV_E_CORRUPT too, by whoever parses it.
 */
static int check_head(gkv_repo *repo, const char *name, const gkv_oid *id)
{
	void *data;
	size_t len;
	int rc = gkv__odb_read_typed(&data, &len, repo, id, GKV_OBJ_COMMIT);

	if (rc == GKV_E_NOTFOUND)
		return gkv__error(GKV_E_CORRUPT,
		    "branch '%s' names commit %s, which is missing from the store", name, gkv__hex(id));
	if (rc == GKV_E_INVALID) {
		/* odb's message says what the object is; copied, as it is
		 * the buffer the new message is written into. */
		char why[256];

		snprintf(why, sizeof(why), "%s", gkv_error_last());
		return gkv__error(GKV_E_CORRUPT, "branch '%s' does not name a commit: %s", name, why);
	}
	if (rc < 0)
		return rc;
	gkv_backend_data_free(data);
	return 0;
}

int gkv_branch_head(gkv_oid *out, gkv_repo *repo, const char *name)
{
	int rc;

	if (!out || !repo || !name)
		return gkv__error(GKV_E_INVALID, "gkv_branch_head: NULL argument");
	if ((rc = gkv__branch_read(out, repo, name)) < 0)
		return rc;
	return check_head(repo, name, out);
}

static int check_commit(gkv_repo *repo, const gkv_oid *id)
{
	void *data;
	size_t len;
	int rc;

	if ((rc = gkv__odb_read_typed(&data, &len, repo, id, GKV_OBJ_COMMIT)) < 0)
		return rc == GKV_E_NOTFOUND
		    ? gkv__error(GKV_E_NOTFOUND, "commit %s not found", gkv__hex(id)) : rc;
	gkv_backend_data_free(data);
	return 0;
}

/* The one place branch heads move: validate, CAS and log in one batch,
 * tell the watches. */
int gkv__branch_move(gkv_repo *repo, const char *name, const gkv_oid *expected,
    const gkv_oid *new_head, const char *message)
{
	gkv_backend *be = repo->backend;
	gkv_batch *batch;
	char *ref;
	int rc;

	if ((rc = gkv__check_writable(repo)) < 0)
		return rc;
	if ((rc = gkv__branch_ref(&ref, name)) < 0)
		return rc;
	if (new_head && (rc = check_commit(repo, new_head)) < 0)
		goto out;
	if ((rc = be->batch_begin(&batch, be)) < 0)
		goto out;
	if ((rc = be->batch_ref_cas(batch, ref, expected, new_head)) < 0 ||
	    (rc = gkv__reflog_add(batch, repo, ref, NULL, message)) < 0) {
		be->batch_abort(batch);
		goto out;
	}
	rc = be->batch_commit(batch);
	if (rc == 0)
		gkv__watch_notify(repo, name, expected, new_head);
out:
	free(ref);
	return rc;
}

/* The message of a move to target: "<what> <hex>". */
static const char *move_message(char *buf, size_t cap, const char *what, const gkv_oid *target)
{
	snprintf(buf, cap, "%s %s", what, gkv__hex(target));
	return buf;
}

int gkv_branch_create(gkv_repo *repo, const char *name, const gkv_oid *target)
{
	char msg[128];
	gkv_oid cur;
	int rc;

	if (!repo || !name || !target)
		return gkv__error(GKV_E_INVALID, "gkv_branch_create: NULL argument");
	if ((rc = gkv__branch_check(name)) < 0)
		return rc;
	if ((rc = gkv__branch_read(&cur, repo, name)) == 0)
		return gkv__error(GKV_E_EXISTS, "branch '%s' already exists", name);
	if (rc != GKV_E_NOTFOUND)
		return rc;
	rc = gkv__branch_move(repo, name, NULL, target,
	    move_message(msg, sizeof(msg), "branch: Created from", target));
	if (rc == GKV_E_CONFLICT)
		return gkv__error(GKV_E_EXISTS, "branch '%s' already exists", name);
	return rc;
}

int gkv_branch_delete(gkv_repo *repo, const char *name)
{
	gkv_oid cur;
	int rc;

	if (!repo || !name)
		return gkv__error(GKV_E_INVALID, "gkv_branch_delete: NULL argument");
	if ((rc = gkv__branch_read(&cur, repo, name)) < 0)
		return rc;
	return gkv__branch_move(repo, name, &cur, NULL, "branch: deleted");
}

int gkv_branch_cas(gkv_repo *repo, const char *name, const gkv_oid *expected,
    const gkv_oid *new_head)
{
	char msg[128];

	if (!repo || !name)
		return gkv__error(GKV_E_INVALID, "gkv_branch_cas: NULL argument");
	if (!new_head)
		return gkv__branch_move(repo, name, expected, NULL, "branch: deleted");
	return gkv__branch_move(repo, name, expected, new_head,
	    move_message(msg, sizeof(msg), expected ? "reset: moving to" : "branch: Created from",
		new_head));
}

int gkv_branch_fast_forward(gkv_repo *repo, const char *name, const gkv_oid *target)
{
	char msg[128];
	gkv_oid cur;
	int anc = 0, rc;

	if (!repo || !name || !target)
		return gkv__error(GKV_E_INVALID, "gkv_branch_fast_forward: NULL argument");
	if ((rc = gkv__branch_check(name)) < 0)
		return rc;
	if ((rc = check_commit(repo, target)) < 0)
		return rc;
	rc = gkv__branch_read(&cur, repo, name);
	if (rc == GKV_E_NOTFOUND)
		return gkv__branch_move(repo, name, NULL, target,
		    move_message(msg, sizeof(msg), "branch: Created from", target));
	if (rc < 0)
		return rc;
	if (gkv_oid_equal(&cur, target))
		return 0;
	if ((rc = gkv_is_ancestor(&anc, repo, &cur, target)) < 0)
		return rc;
	if (!anc)
		return gkv__error(GKV_E_NONFASTFORWARD,
		    "branch '%s' at %s cannot fast-forward to %s: not an ancestor", name,
		    gkv__hex(&cur), gkv__hex(target));
	snprintf(msg, sizeof(msg), "merge %s: Fast-forward", gkv__hex(target));
	return gkv__branch_move(repo, name, &cur, target, msg);
}
