/*
 * txn.c -- transactions: many changes, one commit.
 *
 * A transaction takes the head and its tree at begin, changes its own
 * copy of the tree in place (it owns it, so a path already copied is not
 * copied again: loading 100,000 values costs 100,000 inserts, not
 * 100,000 copies of the root), and commits once. If the head moved
 * meanwhile, the strategy decides: fail, overwrite, or merge (the
 * transaction's changes since its base are merged into the new head's
 * tree, as Irmin's with_tree does: one parent, the new head).
 */
#include "merge.h"
#include "path.h"
#include "store.h"

struct gkv_txn {
	gkv_store *store;
	int has_base;
	gkv_oid base;
	gkv_tree *base_tree;
	gkv_tree *tree;
	int done;
	gkv_merge_options *merge_opts;
	gkv_conflicts *conflicts;
};

int gkv_txn_begin(gkv_txn **out, gkv_store *s)
{
	gkv_txn *t;
	int rc;

	if (!out || !s)
		return gkv__error(GKV_E_INVALID, "gkv_txn_begin: NULL argument");
	*out = NULL;
	if (!(t = calloc(1, sizeof(*t))))
		return gkv__oom();
	t->store = s;
	if ((rc = gkv__store_read_head(&t->has_base, &t->base, s)) < 0 ||
	    (rc = gkv__store_head_tree(&t->base_tree, s, t->has_base, &t->base)) < 0) {
		free(t);
		return rc;
	}
	t->tree = gkv__tree_ref(t->base_tree);
	*out = t;
	return 0;
}

static int check_open(gkv_txn *t, const char *path, int allow_root)
{
	if (!t)
		return gkv__error(GKV_E_INVALID, "transaction is NULL");
	if (t->done)
		return gkv__error(GKV_E_INVALID, "the transaction is already committed");
	if (!path)
		return gkv__error(GKV_E_INVALID, "path is NULL");
	return gkv__path_check(path, allow_root);
}

int gkv_txn_find(gkv_buf *out, int *found, gkv_txn *t, const char *path)
{
	int rc;

	if ((rc = check_open(t, path, 1)) < 0)
		return rc;
	return gkv_tree_find(out, found, t->tree, path);
}

int gkv_txn_get(gkv_buf *out, gkv_txn *t, const char *path)
{
	int rc;

	if ((rc = check_open(t, path, 1)) < 0)
		return rc;
	return gkv_tree_get(out, t->tree, path);
}

int gkv_txn_list(gkv_list **out, gkv_txn *t, const char *path)
{
	int rc;

	if ((rc = check_open(t, path, 1)) < 0)
		return rc;
	return gkv_tree_list(out, t->tree, path);
}

int gkv_txn_set(gkv_txn *t, const char *path, const void *value, size_t len)
{
	int rc;

	if ((rc = check_open(t, path, 0)) < 0)
		return rc;
	if (len && !value)
		return gkv__error(GKV_E_INVALID, "value is NULL but its length is %zu", len);
	if ((rc = gkv__value_check(path, value, len)) < 0)
		return rc;
	return gkv__tree_set_owned(&t->tree, path, value, len);
}

int gkv_txn_remove(gkv_txn *t, const char *path)
{
	int rc;

	if ((rc = check_open(t, path, 0)) < 0)
		return rc;
	return gkv__tree_remove_owned(&t->tree, path);
}

int gkv_txn_set_tree(gkv_txn *t, const char *path, gkv_tree *tree)
{
	int rc;

	if ((rc = check_open(t, path, 1)) < 0)
		return rc;
	if (!tree)
		return gkv__error(GKV_E_INVALID, "tree is NULL");
	return gkv__tree_set_tree_owned(&t->tree, path, tree);
}

int gkv_txn_tree(gkv_tree **out, gkv_txn *t)
{
	if (!out || !t)
		return gkv__error(GKV_E_INVALID, "gkv_txn_tree: NULL argument");
	*out = gkv__tree_ref(t->tree);
	return 0;
}

/* The head moved: merge our changes into it and commit on it. */
static int commit_merged(gkv_oid *out, gkv_txn *t, int has, const gkv_oid *head,
    const gkv_info *info)
{
	gkv_tree *head_tree = NULL, *merged = NULL;
	gkv_oid commit;
	int rc;

	if ((rc = gkv__store_head_tree(&head_tree, t->store, has, head)) < 0)
		return rc;
	/* Our side is the newer write: last-writer-wins picks it. */
	rc = gkv__merge_trees(&merged, &t->conflicts, t->base_tree, head_tree, t->tree, t->merge_opts, 0, 0);
	if (rc == 0 && gkv_tree_equal(merged, head_tree)) {
		if (out && has)
			*out = *head;
	} else if (rc == 0) {
		rc = gkv__store_commit(&commit, t->store, has, head, merged, NULL, info, "transaction\n");
		if (rc == 0 && out)
			*out = commit;
	}
	gkv_tree_free(head_tree);
	gkv_tree_free(merged);
	return rc;
}

int gkv_txn_set_merge_options(gkv_txn *t, const gkv_merge_options *opts)
{
	gkv_merge_options *copy;
	int rc;

	if (!t)
		return gkv__error(GKV_E_INVALID, "transaction is NULL");
	if ((rc = gkv__merge_options_dup(&copy, opts)) < 0)
		return rc;
	gkv_merge_options_free(t->merge_opts);
	t->merge_opts = copy;
	return 0;
}

const gkv_conflicts *gkv_txn_conflicts(const gkv_txn *t)
{
	return t ? t->conflicts : NULL;
}

static int same_head(int has_a, const gkv_oid *a, int has_b, const gkv_oid *b)
{
	return has_a == has_b && (!has_a || gkv_oid_equal(a, b));
}

int gkv_txn_commit(gkv_oid *out, gkv_txn *t, gkv_txn_strategy strategy, const gkv_info *info)
{
	gkv_oid head, commit;
	gkv_tree *head_tree;
	int has, rc;

	if (!t)
		return gkv__error(GKV_E_INVALID, "transaction is NULL");
	if (t->done)
		return gkv__error(GKV_E_INVALID, "the transaction is already committed");
	if (strategy != GKV_TXN_FAIL && strategy != GKV_TXN_OVERWRITE && strategy != GKV_TXN_MERGE)
		return gkv__error(GKV_E_INVALID, "unknown transaction strategy %d", (int)strategy);
	t->done = 1;
	if (gkv_tree_equal(t->tree, t->base_tree)) {
		if (out && t->has_base)
			*out = t->base;
		return 0;
	}
	for (unsigned attempt = 0; attempt < GKV_MAX_RETRIES; attempt++) {
		if ((rc = gkv__store_read_head(&has, &head, t->store)) < 0)
			return rc;
		if (!same_head(has, &head, t->has_base, &t->base)) {
			if (strategy == GKV_TXN_FAIL)
				return gkv__error(GKV_E_CONFLICT,
				    "branch '%s' moved during the transaction (from %s to %s)",
				    t->store->branch ? t->store->branch : "(commit view)",
				    t->has_base ? gkv__hex(&t->base) : "nothing", has ? gkv__hex(&head) : "nothing");
			if (strategy == GKV_TXN_MERGE) {
				rc = commit_merged(out, t, has, &head, info);
				if (rc != GKV_E_CONFLICT || t->conflicts)
					return rc;
				gkv__backoff(attempt);
				continue;
			}
			/* Overwrite: no commit if the new head already has our tree. */
			if ((rc = gkv__store_head_tree(&head_tree, t->store, has, &head)) < 0)
				return rc;
			rc = gkv_tree_equal(head_tree, t->tree);
			gkv__tree_unref(head_tree);
			if (rc) {
				if (out)
					*out = head;
				return 0;
			}
		}
		rc = gkv__store_commit(&commit, t->store, has, &head, t->tree, NULL, info, "transaction\n");
		if (rc == 0) {
			if (out)
				*out = commit;
			return 0;
		}
		if (rc != GKV_E_CONFLICT || strategy == GKV_TXN_FAIL)
			return rc;
		gkv__backoff(attempt);
	}
	return gkv__gave_up(t->store->branch ? t->store->branch : "(commit view)");
}

void gkv_txn_free(gkv_txn *t)
{
	if (!t)
		return;
	gkv__tree_unref(t->base_tree);
	gkv__tree_unref(t->tree);
	gkv_merge_options_free(t->merge_opts);
	gkv_conflicts_free(t->conflicts);
	free(t);
}
