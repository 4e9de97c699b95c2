/*
 * repo.c -- a repo over a backend: opening and closing it, and the
 * questions about objects that need no branch (exists, read, resolve a
 * commit spec), and refs by their full names. The repo owns its backend,
 * its tree cache and its slab.
 * Opening by name is registry.c's; the author of commits, identity.c's.
 */
#include <ctype.h>

#include "path.h"
#include "repo.h"

#define GKV_DEFAULT_CACHE_TREES 8192

const char *gkv__hex(const gkv_oid *id)
{
	static _Thread_local char bufs[4][GKV_OID_HEXSZ + 1];
	static _Thread_local unsigned next;
	char *b = bufs[next++ & 3];

	gkv_oid_fmt(b, id);
	return b;
}

int gkv_repo_open_backend(gkv_repo **out, gkv_backend *b, const gkv_options *opts)
{
	gkv_repo *repo;
	int rc;

	if (!out || !b)
		return gkv__error(GKV_E_INVALID, "gkv_repo_open_backend: NULL argument");
	*out = NULL;
	if (b->version != GKV_BACKEND_VERSION) {
		rc = gkv__error(GKV_E_INVALID, "backend version %u is not supported", b->version);
		if (b->free)
			b->free(b);
		return rc;
	}
	repo = calloc(1, sizeof(*repo));
	if (!repo) {
		if (b->free)
			b->free(b);
		return gkv__oom();
	}
	repo->backend = b;
	repo->readonly = opts ? opts->readonly : 0;
	repo->max_value = opts ? opts->max_value : 0;
	pthread_mutex_init(&repo->hash_lock, NULL);
	pthread_mutex_init(&repo->ident_lock, NULL);
	pthread_mutex_init(&repo->default_lock, NULL);
	if ((rc = gkv__slab_init(&repo->slab)) < 0)
		goto fail;
	if ((rc = gkv__cache_init(&repo->cache, opts ? opts->cache_size : GKV_DEFAULT_CACHE_TREES)) < 0)
		goto fail;
	/* A backend that names no default branch may keep one in its
	 * config (gkv_repo_set_default_branch); else "main". */
	if (b->default_branch)
		rc = b->default_branch(&repo->default_branch, b);
	else
		rc = gkv__config_default_branch(&repo->default_branch, repo);
	if (rc < 0)
		goto fail;
	if ((rc = gkv__repo_identity_init(repo, opts)) < 0)
		goto fail;
	if ((rc = gkv__watch_init(repo)) < 0)
		goto fail;
	*out = repo;
	return 0;
fail:
	gkv_repo_free(repo);
	return rc;
}

void gkv_repo_free(gkv_repo *repo)
{
	if (!repo)
		return;
	gkv__watch_free_all(repo);
	gkv__cache_free(&repo->cache);
	if (repo->backend && repo->backend->free)
		repo->backend->free(repo->backend);
	gkv__slab_free_all(&repo->slab); /* after the cache: its trees live here */
	pthread_mutex_destroy(&repo->hash_lock);
	pthread_mutex_destroy(&repo->ident_lock);
	gkv_backend_data_free(repo->default_branch);
	for (size_t i = 0; i < repo->nold_branches; i++)
		gkv_backend_data_free(repo->old_branches[i]);
	free(repo->old_branches);
	pthread_mutex_destroy(&repo->default_lock);
	free(repo->author_name);
	free(repo->author_email);
	free(repo);
}

const char *gkv_repo_default_branch(const gkv_repo *repo)
{
	return repo ? __atomic_load_n(&repo->default_branch, __ATOMIC_ACQUIRE) : NULL;
}

const char *gkv_repo_backend_name(const gkv_repo *repo)
{
	return repo && repo->backend->name ? repo->backend->name : "custom";
}

int gkv_repo_object_exists(int *out, gkv_repo *repo, const gkv_oid *id)
{
	int rc;

	if (!out || !repo || !id)
		return gkv__error(GKV_E_INVALID, "gkv_repo_object_exists: NULL argument");
	if ((rc = repo->backend->exists(repo->backend, id)) < 0)
		return rc;
	*out = rc > 0;
	return 0;
}

int gkv_repo_object_read(gkv_buf *out, gkv_otype *type, gkv_repo *repo, const gkv_oid *id)
{
	void *data;
	size_t len;
	gkv_otype t;
	gkv_oid check;
	int rc;

	if (!out || !repo || !id)
		return gkv__error(GKV_E_INVALID, "gkv_repo_object_read: NULL argument");
	out->ptr = NULL;
	out->size = 0;
	if ((rc = gkv__odb_read(&data, &len, &t, repo, id)) < 0)
		return rc;
	/* An explicit read verifies the object: its bytes must hash to its id. */
	if ((rc = gkv_hash(&check, t, data, len)) < 0 || !gkv_oid_equal(&check, id)) {
		gkv_backend_data_free(data);
		return rc < 0 ? rc : gkv__error(GKV_E_CORRUPT, "object %s is corrupt: its contents hash to %s",
		    gkv__hex(id), gkv__hex(&check));
	}
	out->ptr = data;
	out->size = len;
	if (type)
		*type = t;
	return 0;
}

typedef struct {
	gkv_repo *repo;
	gkv_oid found;
	size_t matches;
	int rc;
} resolve_state;

static int resolve_cb(const gkv_oid *id, void *payload)
{
	resolve_state *st = payload;
	void *data;
	size_t len;
	gkv_otype t;

	if (gkv__odb_read(&data, &len, &t, st->repo, id) < 0)
		return 0;
	gkv_backend_data_free(data);
	if (t != GKV_OBJ_COMMIT)
		return 0;
	st->found = *id;
	st->matches++;
	return 0;
}

static int resolve_prefix(gkv_oid *out, gkv_repo *repo, const char *spec)
{
	resolve_state st = {repo, {{0}}, 0, 0};
	gkv_oid prefix;
	size_t hexlen;
	int rc;

	if ((rc = gkv__hex_prefix_parse(&prefix, &hexlen, spec)) < 0)
		return rc;
	if (hexlen < 4)
		return gkv__error(GKV_E_INVALID, "invalid commit '%s': a short id needs at least 4 hex digits", spec);
	if ((rc = repo->backend->foreach(repo->backend, &prefix, hexlen, resolve_cb, &st)) < 0)
		return rc;
	if (st.matches == 0)
		return gkv__error(GKV_E_NOTFOUND, "commit '%s' not found", spec);
	if (st.matches > 1)
		return gkv__error(GKV_E_AMBIGUOUS, "commit '%s' is ambiguous: %zu commits start with it",
		    spec, st.matches);
	*out = st.found;
	return 0;
}

static int is_hex(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s))
			return 0;
	return 1;
}

int gkv_repo_resolve(gkv_oid *out, gkv_repo *repo, const char *spec)
{
	gkv_oid id;
	gkv_commit *c;
	int rc;

	if (!out || !repo || !spec)
		return gkv__error(GKV_E_INVALID, "gkv_repo_resolve: NULL argument");
	if (gkv__branch_check(spec) == 0) {
		rc = gkv__branch_read(&id, repo, spec);
		if (rc == 0) {
			*out = id;
			return 0;
		}
		if (rc != GKV_E_NOTFOUND)
			return rc;
	}
	if (!is_hex(spec)) {
		if (gkv__branch_check(spec) < 0)
			return gkv__error(GKV_E_INVALID, "invalid commit '%s': neither a branch name nor hex digits", spec);
		return gkv__error(GKV_E_NOTFOUND, "'%s' is neither a branch nor a commit id", spec);
	}
	gkv_error_clear();
	if (strlen(spec) == GKV_OID_HEXSZ) {
		if ((rc = gkv_oid_fromstr(&id, spec)) < 0)
			return rc;
		if ((rc = gkv_commit_lookup(&c, repo, &id)) < 0)
			return rc;
		gkv_commit_free(c);
		*out = id;
		return 0;
	}
	if (strlen(spec) > GKV_OID_HEXSZ)
		return gkv__error(GKV_E_INVALID, "invalid commit '%s': longer than 40 hex digits", spec);
	return resolve_prefix(out, repo, spec);
}

gkv_backend *gkv_repo_backend(gkv_repo *repo)
{
	return repo ? repo->backend : NULL;
}

/* ---- refs by full name ---- */

int gkv_ref_read(gkv_oid *out, gkv_repo *repo, const char *name)
{
	int rc;

	if (!out || !repo || !name)
		return gkv__error(GKV_E_INVALID, "gkv_ref_read: NULL argument");
	if ((rc = gkv__refname_check(name)) < 0)
		return rc;
	rc = repo->backend->ref_read(out, repo->backend, name);
	if (rc == GKV_E_NOTFOUND)
		return gkv__error(GKV_E_NOTFOUND, "ref '%s' not found", name);
	return rc;
}

typedef struct {
	gkv_strarray *arr;
	size_t cap;
} ref_list_state;

static int ref_list_cb(const char *name, const gkv_oid *target, void *payload)
{
	ref_list_state *st = payload;
	char **s;

	(void)target;
	if (st->arr->count == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 16;

		if (!(s = realloc(st->arr->strings, cap * sizeof(*s))))
			return gkv__oom();
		st->arr->strings = s;
		st->cap = cap;
	}
	if (!(st->arr->strings[st->arr->count] = gkv__strdup(name)))
		return GKV_E_NOMEM;
	st->arr->count++;
	return 0;
}

static int ref_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int gkv_ref_list(gkv_strarray *out, gkv_repo *repo, const char *prefix)
{
	ref_list_state st = {out, 0};
	int rc;

	if (!out)
		return gkv__error(GKV_E_INVALID, "gkv_ref_list: NULL argument");
	out->strings = NULL;
	out->count = 0;
	if (!repo || !prefix)
		return gkv__error(GKV_E_INVALID, "gkv_ref_list: NULL argument");
	if ((rc = repo->backend->ref_list(repo->backend, prefix, ref_list_cb, &st)) < 0) {
		gkv_strarray_dispose(out);
		return rc;
	}
	/* A backend lists in name order; the contract is bytes: make sure. */
	if (out->count)
		qsort(out->strings, out->count, sizeof(char *), ref_name_cmp);
	return 0;
}
