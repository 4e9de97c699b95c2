/*
 * gc.c -- gkv_repo_gc: remove what no ref reaches, in one batch that
 * lands only if no ref moved meanwhile.
 *
 *  1. Read every ref (branches, remote-tracking refs, tags: ref_list
 *     with the prefix ""), then list every stored object (foreach).
 *  2. Mark what the refs reach: a commit's tree and parents, a tree's
 *     subtrees and blobs (a submodule's commit belongs to another
 *     repository and keeps nothing), a tag's object. Reflog entries keep
 *     nothing. A reachable object that is missing, or not of the kind
 *     that names it, is damage: gc then refuses to remove anything
 *     (GKV_E_CORRUPT; gkv_repo_fsck says more), since what it cannot
 *     read might name what it would remove.
 *  3. One batch: a compare-and-swap of every ref to the target read in
 *     step 1 (so that the batch fails with GKV_E_CONFLICT, removing
 *     nothing, if a writer moved a ref and so may have made an object
 *     reachable again), a delete of every unmarked object, and a delete
 *     of the log of every ref that no longer exists. A CAS to the value
 *     a ref already has moves nothing and is not logged (the seam's
 *     contract for reflogs).
 *  4. Trees removed are dropped from the repo's tree cache, so that a
 *     lookup by id does not find them there.
 *
 * An object written after the listing of step 1 is not in it, so it is
 * never removed. What gc cannot see is an in-memory tree of another
 * handle built on objects that were unreachable when gc ran (a tree
 * looked up by the id of an orphaned commit, then changed and
 * committed): its unchanged parts are not written again. Run gc when no
 * writer holds such trees, as with git gc.
 */
#include <stdio.h>

#include "codec.h"
#include "maint.h"
#include "repo.h"

#define F_REACHED 0x80
#define V_LISTED 0x01

typedef struct {
	gkv_repo *repo;
	gkv_backend *b;
	gkv__oidmap objs;
	gkv__oidstack todo; /* ids still to follow */
	uint64_t reached;
	gkv_work_cb progress;
	void *payload;
} gc_state;

static int stopped(void)
{
	return gkv__error(GKV_E_USER, "gc stopped by its progress callback");
}

/* id is reached (from what `by` says): mark it; queue it if it names others. */
static int reach(gc_state *s, const gkv_oid *id, int follow, const char *by)
{
	uint8_t *v = gkv__oidmap_at(&s->objs, id);

	if (!v)
		return gkv__error(GKV_E_CORRUPT,
		    "gc: object %s, named by %s, is missing: the store is damaged "
		    "(gkv_repo_fsck tells more); nothing removed", gkv__hex(id), by);
	if (*v & F_REACHED)
		return 0;
	*v |= F_REACHED;
	if (++s->reached % 4096 == 0 && s->progress &&
	    s->progress(s->reached, s->objs.count, s->payload) != 0)
		return stopped();
	return follow ? gkv__oidstack_push(&s->todo, id) : 0;
}

static int damaged(const gkv_oid *id)
{
	char why[512];

	snprintf(why, sizeof(why), "%s", gkv_error_last());
	return gkv__error(GKV_E_CORRUPT, "gc: reachable object %s cannot be read (%s); "
	    "nothing removed", gkv__hex(id), why);
}

static int follow_tag(gc_state *s, const gkv_oid *id, const char *data, size_t len)
{
	char hex[GKV_OID_HEXSZ + 1];
	gkv_oid target;

	if (gkv__object_check(GKV_OBJ_TAG, data, len, id) < 0)
		return damaged(id);
	memcpy(hex, data + 7, GKV_OID_HEXSZ);
	hex[GKV_OID_HEXSZ] = '\0';
	if (gkv_oid_fromstr(&target, hex) < 0)
		return damaged(id);
	return reach(s, &target, 1, "a tag");
}

/* Read object id and reach what it names. */
static int follow(gc_state *s, const gkv_oid *id, gkv__commit_graph *g)
{
	gkv__raw_entry *ents = NULL;
	gkv_otype type;
	size_t len, n = 0;
	void *data;
	int rc;

	if ((rc = s->b->read(&data, &len, &type, s->b, id)) < 0)
		return rc == GKV_E_NOTFOUND || rc == GKV_E_CORRUPT ? damaged(id) : rc;
	switch (type) {
	case GKV_OBJ_COMMIT:
		if ((rc = gkv__commit_parse_graph(g, data, len, id)) < 0) {
			rc = rc == GKV_E_CORRUPT ? damaged(id) : rc;
			break;
		}
		rc = reach(s, &g->tree, 1, "a commit");
		for (size_t i = 0; rc == 0 && i < g->nparents; i++)
			rc = reach(s, &g->parents[i], 1, "a commit");
		break;
	case GKV_OBJ_TREE:
		if ((rc = gkv__tree_parse(&ents, &n, data, len, id)) < 0) {
			rc = rc == GKV_E_CORRUPT ? damaged(id) : rc;
			break;
		}
		for (size_t i = 0; rc == 0 && i < n; i++) {
			gkv_kind k = gkv__mode_kind(ents[i].mode);

			if (k != GKV_KIND_SUBMODULE)
				rc = reach(s, &ents[i].id, k == GKV_KIND_DIR, "a tree");
		}
		free(ents);
		break;
	case GKV_OBJ_TAG:
		rc = follow_tag(s, id, data, len);
		break;
	case GKV_OBJ_BLOB:
		break;
	default:
		rc = gkv__error(GKV_E_CORRUPT, "gc: object %s has no valid type; nothing removed",
		    gkv__hex(id));
	}
	gkv_backend_data_free(data);
	return rc;
}

static int mark(gc_state *s, char **names, const gkv_oid *targets, size_t nrefs)
{
	gkv__commit_graph g;
	int rc = 0;

	memset(&g, 0, sizeof(g));
	for (size_t i = 0; rc == 0 && i < nrefs; i++) {
		rc = reach(s, &targets[i], 1, names[i]);
		while (rc == 0 && s->todo.n) {
			gkv_oid id = s->todo.ids[--s->todo.n];

			rc = follow(s, &id, &g);
		}
	}
	gkv__commit_graph_dispose(&g);
	return rc;
}

/* ------------------------------------------------------------- reflogs */

typedef struct {
	char **names; /* the refs that exist, sorted */
	size_t nrefs;
	char **dead;  /* logs of refs that do not */
	size_t n, cap;
} logs_state;

static int ref_exists(const logs_state *l, const char *name)
{
	size_t lo = 0, hi = l->nrefs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(l->names[mid], name);

		if (c == 0)
			return 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static int collect_log(const char *name, const gkv_oid *target, void *payload)
{
	logs_state *l = payload;

	(void)target;
	if (ref_exists(l, name))
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char **p = realloc(l->dead, cap * sizeof(*p));

		if (!p)
			return gkv__oom();
		l->dead = p;
		l->cap = cap;
	}
	if (!(l->dead[l->n] = gkv__strdup(name)))
		return GKV_E_NOMEM;
	l->n++;
	return 0;
}

/* ----------------------------------------------------------------- gc */

static int sweep(gkv_gc_result *res, gc_state *s, char **names, const gkv_oid *targets,
    size_t nrefs, logs_state *logs)
{
	gkv_batch *batch = NULL;
	int rc;

	if (res->objects_removed == 0 && logs->n == 0)
		return 0;
	if ((rc = s->b->batch_begin(&batch, s->b)) < 0)
		return rc;
	for (size_t i = 0; i < nrefs; i++)
		if ((rc = s->b->batch_ref_cas(batch, names[i], &targets[i], &targets[i])) < 0)
			goto fail;
	for (size_t i = 0; i < s->objs.nslots; i++)
		if (s->objs.val[i] && !(s->objs.val[i] & F_REACHED) &&
		    (rc = s->b->batch_delete(batch, &s->objs.ids[i])) < 0)
			goto fail;
	for (size_t i = 0; i < logs->n; i++)
		if ((rc = s->b->batch_reflog_delete(batch, logs->dead[i])) < 0)
			goto fail;
	if ((rc = s->b->batch_commit(batch)) < 0)
		return rc;
	res->reflogs_removed = logs->n;
	for (size_t i = 0; i < s->objs.nslots; i++)
		if (s->objs.val[i] && !(s->objs.val[i] & F_REACHED))
			gkv__cache_drop(&s->repo->cache, &s->objs.ids[i]);
	return 0;
fail:
	s->b->batch_abort(batch);
	return rc;
}

/* The unreached objects' number and size. */
static int count_unreached(gkv_gc_result *res, gc_state *s)
{
	for (size_t i = 0; i < s->objs.nslots; i++) {
		uint64_t size = 0;
		gkv_otype t;
		void *data;
		size_t len;
		int rc;

		if (!s->objs.val[i] || (s->objs.val[i] & F_REACHED))
			continue;
		if (s->b->read_header) {
			rc = s->b->read_header(&size, &t, s->b, &s->objs.ids[i]);
		} else if ((rc = s->b->read(&data, &len, &t, s->b, &s->objs.ids[i])) == 0) {
			gkv_backend_data_free(data);
			size = len;
		}
		if (rc == GKV_E_NOTFOUND) {
			s->objs.val[i] |= F_REACHED; /* gone already: nothing to do */
			gkv_error_clear();
			continue;
		}
		if (rc < 0 && rc != GKV_E_CORRUPT)
			return rc;
		res->objects_removed++;
		res->bytes_removed += size;
	}
	return 0;
}

int gkv_repo_gc(gkv_gc_result *out, gkv_repo *repo, gkv_work_cb progress, void *payload)
{
	gkv_gc_result res = {0, 0, 0, 0};
	logs_state logs = {NULL, 0, NULL, 0, 0};
	char **names = NULL;
	gkv_oid *targets = NULL;
	size_t nrefs = 0;
	gc_state s;
	int rc;

	if (out)
		memset(out, 0, sizeof(*out));
	if (!repo)
		return gkv__error(GKV_E_INVALID, "gkv_repo_gc: NULL repo");
	if (!repo->backend->batch_delete)
		return gkv__error(GKV_E_UNSUPPORTED,
		    "gc: the %s backend does not remove objects%s", repo->backend->name
		    ? repo->backend->name : "custom",
		    repo->backend->name && !strcmp(repo->backend->name, "git")
		    ? " (git gc reclaims a git repository's space)" : "");
	if ((rc = gkv__check_writable(repo)) < 0)
		return rc;
	memset(&s, 0, sizeof(s));
	s.repo = repo;
	s.b = repo->backend;
	s.progress = progress;
	s.payload = payload;
	gkv__oidmap_init(&s.objs);
	/* Refs first: an object written after they were read is in no
	 * listing below, so it stays. */
	if ((rc = gkv__refs_all(&names, &targets, &nrefs, s.b)) < 0 ||
	    (rc = gkv__oidmap_load_all(&s.objs, s.b, 0)) < 0)
		goto out;
	for (size_t i = 0; i < s.objs.nslots; i++)
		if (s.objs.val[i])
			s.objs.val[i] = V_LISTED;
	if ((rc = mark(&s, names, targets, nrefs)) < 0 || (rc = count_unreached(&res, &s)) < 0)
		goto out;
	res.objects_kept = s.objs.count - res.objects_removed;
	logs.names = names;
	logs.nrefs = nrefs;
	if (s.b->reflog_list && s.b->batch_reflog_delete &&
	    (rc = s.b->reflog_list(s.b, collect_log, &logs)) < 0)
		goto out;
	if (progress && progress(s.objs.count, s.objs.count, payload) != 0) {
		rc = stopped();
		goto out;
	}
	if ((rc = sweep(&res, &s, names, targets, nrefs, &logs)) < 0)
		goto out;
	if (out)
		*out = res;
out:
	for (size_t i = 0; i < nrefs; i++)
		free(names[i]);
	free(names);
	free(targets);
	for (size_t i = 0; i < logs.n; i++)
		free(logs.dead[i]);
	free(logs.dead);
	gkv__oidmap_free(&s.objs);
	free(s.todo.ids);
	return rc;
}
