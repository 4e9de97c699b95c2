/*
 * dates.c -- created and updated dates in one walk (see dates.h).
 *
 * The walk first collects the first-parent chain from the new head back
 * to the head of the last call (or to the root), then replays it from
 * the oldest commit: each commit is diffed against its first parent (an
 * unchanged subtree is skipped by hash), an added path gets created
 * (unless an older commit already had it: "first creation") and every
 * added or changed path gets updated. A merge's first-parent diff holds
 * what the merged branch brought, dated by the merge. Paths that were
 * removed keep their dates, so a later call stays exact when one is
 * added again.
 */
#include "dates.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	gkv_oid *ids;
	size_t n, cap;
} oidvec;

static int oidvec_push(oidvec *v, const gkv_oid *id)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		gkv_oid *p = realloc(v->ids, cap * sizeof(*p));
		if (!p)
			return -1;
		v->ids = p;
		v->cap = cap;
	}
	v->ids[v->n++] = *id;
	return 0;
}

/* Put the chain from head back to stop (excluded) or the root into v,
 * newest first; *met says whether stop was met. */
static int collect_chain(oidvec *v, int *met, gkv_repo *repo, const gkv_oid *head,
			 const gkv_oid *stop)
{
	gkv_oid id = *head;
	*met = 0;
	for (;;) {
		if (stop && gkv_oid_equal(&id, stop)) {
			*met = 1;
			return 0;
		}
		if (oidvec_push(v, &id) < 0)
			return GKV_E_NOMEM;
		gkv_commit *c;
		int rc = gkv_commit_lookup(&c, repo, &id);
		if (rc < 0)
			return rc;
		int more = gkv_commit_parentcount(c) > 0;
		if (more)
			id = *gkv_commit_parent_id(c, 0);
		gkv_commit_free(c);
		if (!more)
			return 0;
	}
}

static int note_change(map *paths, const char *path, gkv_diff_op op, int64_t when)
{
	dates_entry *e = map_get(paths, path);
	if (op == GKV_DIFF_REMOVED)
		return 0;
	if (!e) {
		e = malloc(sizeof(*e));
		if (!e || map_put(paths, path, e, NULL) < 0) {
			free(e);
			return GKV_E_NOMEM;
		}
		e->created = when;
	}
	e->updated = when;
	return 0;
}

/* Replay one commit into paths. */
static int replay(map *paths, gkv_repo *repo, const gkv_oid *id)
{
	gkv_commit *c = NULL;
	gkv_tree *old_tree = NULL, *new_tree = NULL;
	gkv_diff *diff = NULL;
	int rc = gkv_commit_lookup(&c, repo, id);
	if (rc < 0)
		goto done;
	if ((rc = gkv_tree_lookup(&new_tree, repo, gkv_commit_tree_id(c))) < 0)
		goto done;
	if (gkv_commit_parentcount(c) > 0) {
		gkv_commit *p;
		if ((rc = gkv_commit_lookup(&p, repo, gkv_commit_parent_id(c, 0))) < 0)
			goto done;
		rc = gkv_tree_lookup(&old_tree, repo, gkv_commit_tree_id(p));
		gkv_commit_free(p);
	} else {
		rc = gkv_tree_empty(&old_tree, repo);
	}
	if (rc < 0 || (rc = gkv_diff_trees(&diff, old_tree, new_tree)) < 0)
		goto done;
	int64_t when = gkv_signature_time(gkv_commit_author(c));
	for (size_t i = 0; i < gkv_diff_count(diff) && rc == 0; i++)
		rc = note_change(paths, gkv_diff_path(diff, i), gkv_diff_op_at(diff, i), when);
done:
	gkv_diff_free(diff);
	gkv_tree_free(old_tree);
	gkv_tree_free(new_tree);
	gkv_commit_free(c);
	return rc;
}

static void *entry_copy(const dates_entry *e)
{
	dates_entry *c = malloc(sizeof(*c));
	if (c)
		*c = *e;
	return c;
}

/* A copy of src's paths, so that a failed update leaves d as it was. */
static int map_copy(map *dst, const map *src)
{
	for (size_t i = 0; i < src->cap; i++) {
		if (!src->slots[i].key)
			continue;
		void *e = entry_copy(src->slots[i].value);
		if (!e || map_put(dst, src->slots[i].key, e, NULL) < 0) {
			free(e);
			return GKV_E_NOMEM;
		}
	}
	return 0;
}

int dates_update(dates *d, gkv_repo *repo, const gkv_oid *head, char *err, size_t errlen)
{
	d->last_walk = 0;
	if (d->has_head && gkv_oid_equal(&d->head, head))
		return 0;
	oidvec chain = {0};
	map next = {0};
	int met = 0;
	int rc = collect_chain(&chain, &met, repo, head, d->has_head ? &d->head : NULL);
	if (rc == 0 && met)
		rc = map_copy(&next, &d->paths);
	for (size_t i = chain.n; i > 0 && rc == 0; i--)
		rc = replay(&next, repo, &chain.ids[i - 1]);
	size_t walked = chain.n;
	free(chain.ids);
	if (rc < 0) {
		snprintf(err, errlen, "reading history: %s", gkv_error_last());
		map_clear(&next, free);
		return rc;
	}
	map_clear(&d->paths, free);
	d->paths = next;
	d->head = *head;
	d->has_head = 1;
	d->last_walk = walked;
	return 0;
}

const dates_entry *dates_get(const dates *d, const char *path)
{
	return map_get(&d->paths, path);
}

void dates_free(dates *d)
{
	map_clear(&d->paths, free);
	memset(d, 0, sizeof(*d));
}
