/*
 * odb.c -- objects as the core sees them: reads through the backend with
 * type checks, telling a backend that has the read_typed hook which type
 * is expected, so that it looks there first.
 */
#include "repo.h"

static const char *type_name(gkv_otype t)
{
	switch (t) {
	case GKV_OBJ_COMMIT: return "commit";
	case GKV_OBJ_TREE: return "tree";
	case GKV_OBJ_BLOB: return "blob";
	case GKV_OBJ_TAG: return "tag";
	default: return "object";
	}
}

int gkv__odb_read(void **data, size_t *len, gkv_otype *type, gkv_repo *repo, const gkv_oid *id)
{
	int rc = repo->backend->read(data, len, type, repo->backend, id);

	if (rc == GKV_E_NOTFOUND)
		return gkv__error(GKV_E_NOTFOUND, "object %s not found", gkv__hex(id));
	return rc;
}

/* Through the backend's read_typed hook if it has one: the type expected
 * tells it where to look first (lmdb keeps commits apart). */
static int read_hinted(void **data, size_t *len, gkv_otype *type, gkv_repo *repo,
    const gkv_oid *id, gkv_otype want)
{
	gkv_backend *b = repo->backend;
	int rc;

	if (!b->read_typed)
		return gkv__odb_read(data, len, type, repo, id);
	rc = b->read_typed(data, len, type, b, id, want);
	if (rc == GKV_E_NOTFOUND)
		return gkv__error(GKV_E_NOTFOUND, "object %s not found", gkv__hex(id));
	return rc;
}

int gkv__odb_read_typed(void **data, size_t *len, gkv_repo *repo, const gkv_oid *id,
    gkv_otype want)
{
	gkv_otype t;
	int rc;

	if ((rc = read_hinted(data, len, &t, repo, id, want)) < 0)
		return rc;
	if (t != want) {
		gkv_backend_data_free(*data);
		*data = NULL;
		/*
		 * A blob is read only because a tree entry of the store names
		 * it (no API reads a blob by a caller's id), so another type is
		 * damage in that tree. A tree or commit may be asked for by a
		 * caller's id (gkv_tree_lookup, gkv_commit_lookup): the wrong
		 * type is then the caller's mistake.
		 */
		return gkv__error(want == GKV_OBJ_BLOB ? GKV_E_CORRUPT : GKV_E_INVALID,
		    "object %s is a %s, not a %s", gkv__hex(id), type_name(t), type_name(want));
	}
	return 0;
}
