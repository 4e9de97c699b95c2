/*
 * remote.c -- recorded remotes: a name standing for a URL, kept as git
 * keeps it, in the store's config (remote.NAME.url, and remote.NAME.fetch
 * = +refs/heads/STAR:refs/remotes/NAME/STAR), so that on a git store git
 * sees the same remotes. A remote's fetched heads are its remote-tracking
 * refs, refs/remotes/NAME/BRANCH.
 */
#include <stdio.h>

#include "sync_int.h"
#include "util.h"

/* "remote.NAME.KEY" into out (the name is at most a branch name long). */
static int key_of(char *out, size_t cap, const char *name, const char *key)
{
	int n = snprintf(out, cap, "remote.%s.%s", name, key);
	if (n < 0 || (size_t)n >= cap)
		return gkv__error(GKV_E_INVALID, "remote name '%.64s...' is too long", name);
	return 0;
}

int gkv__remote_name_validate(const char *name)
{
	if (gkv_branch_name_validate(name) < 0)
		return gkv__error(GKV_E_INVALID, "invalid remote name '%s': %s", name,
		    gkv_error_last());
	if (strlen(name) > 1024)
		return gkv__error(GKV_E_INVALID, "invalid remote name '%.64s...': too long", name);
	return 0;
}

int gkv__remote_lookup(char **url, gkv_repo *repo, const char *name)
{
	char key[1100];
	gkv_buf b = {0};
	int rc;

	*url = NULL;
	if ((rc = key_of(key, sizeof(key), name, "url")) < 0)
		return rc;
	if ((rc = gkv_config_get(&b, repo, key)) == GKV_E_NOTFOUND)
		return gkv__error(GKV_E_NOTFOUND, "no remote named '%s'", name);
	if (rc < 0)
		return rc;
	*url = gkv__strndup((const char *)b.ptr, b.size);
	gkv_buf_dispose(&b);
	return *url ? 0 : GKV_E_NOMEM;
}

int gkv_remote_add(gkv_repo *repo, const char *name, const char *url)
{
	char key[1100], fetch[2200];
	char *old = NULL;
	int rc;

	if (!repo || !name || !url)
		return gkv__error(GKV_E_INVALID, "gkv_remote_add: NULL argument");
	if ((rc = gkv__remote_name_validate(name)) < 0)
		return rc;
	if (!*url || strpbrk(url, "\r\n"))
		return gkv__error(GKV_E_INVALID, "remote '%s': the URL is empty or holds a newline",
		    name);
	if ((rc = gkv__remote_url_validate(repo, url)) < 0)
		return rc;
	rc = gkv__remote_lookup(&old, repo, name);
	free(old);
	if (rc == 0)
		return gkv__error(GKV_E_EXISTS, "remote '%s' already exists", name);
	if (rc != GKV_E_NOTFOUND)
		return rc;
	snprintf(fetch, sizeof(fetch), "+refs/heads/*:refs/remotes/%s/*", name);
	if ((rc = key_of(key, sizeof(key), name, "url")) < 0 ||
	    (rc = gkv_config_set(repo, key, url)) < 0)
		return rc;
	if ((rc = key_of(key, sizeof(key), name, "fetch")) < 0 ||
	    (rc = gkv_config_set(repo, key, fetch)) < 0) {
		/* take the url back, so that a failed add leaves nothing */
		char ukey[1100];
		snprintf(ukey, sizeof(ukey), "remote.%s.url", name);
		(void)gkv_config_set(repo, ukey, NULL);
		return rc;
	}
	gkv_error_clear();
	return 0;
}

/* ---- remove ---- */

typedef struct {
	char **names;
	gkv_oid *ids;
	size_t count, cap;
} ref_list;

static int collect_ref(const char *name, const gkv_oid *target, void *payload)
{
	ref_list *l = payload;
	if (l->count == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 16;
		char **n = realloc(l->names, ncap * sizeof(*n));
		gkv_oid *i;
		if (!n)
			return gkv__oom();
		l->names = n;
		if (!(i = realloc(l->ids, ncap * sizeof(*i))))
			return gkv__oom();
		l->ids = i;
		l->cap = ncap;
	}
	if (!(l->names[l->count] = gkv__strdup(name)))
		return GKV_E_NOMEM;
	l->ids[l->count++] = *target;
	return 0;
}

static void ref_list_free(ref_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->names[i]);
	free(l->names);
	free(l->ids);
}

/* Whether ref belongs to another recorded remote whose name starts with
 * "NAME/" (remote "team/hub" keeps refs/remotes/team/hub/... when remote
 * "team" goes). */
static int owned_by_other(const char *ref, const char *name, const gkv_strarray *others)
{
	size_t nlen = strlen(name), i;
	const char *rest = ref + strlen("refs/remotes/");

	for (i = 0; i < others->count; i++) {
		const char *o = others->strings[i];
		size_t olen = strlen(o);
		if (olen > nlen && strncmp(o, name, nlen) == 0 && o[nlen] == '/' &&
		    strncmp(rest, o, olen) == 0 && rest[olen] == '/')
			return 1;
	}
	return 0;
}

/* Delete every refs/remotes/NAME/... in one batch. */
static int delete_tracking_refs(gkv_repo *repo, const char *name)
{
	gkv_backend *be = gkv_repo_backend(repo);
	char prefix[1100];
	ref_list l = {0};
	gkv_strarray others = {0};
	gkv_batch *batch = NULL;
	size_t i;
	int rc;

	snprintf(prefix, sizeof(prefix), "refs/remotes/%s/", name);
	if ((rc = be->ref_list(be, prefix, collect_ref, &l)) < 0 || l.count == 0)
		goto done;
	if ((rc = gkv_remote_list(&others, repo)) < 0 ||
	    (rc = be->batch_begin(&batch, be)) < 0)
		goto done;
	for (i = 0; i < l.count && rc == 0; i++) {
		if (owned_by_other(l.names[i], name, &others))
			continue;
		rc = be->batch_ref_cas(batch, l.names[i], &l.ids[i], NULL);
		if (rc == 0)
			rc = gkv__sync_reflog(batch, repo, l.names[i], "remote: removed");
	}
	if (rc < 0)
		be->batch_abort(batch);
	else
		rc = be->batch_commit(batch);
done:
	ref_list_free(&l);
	gkv_strarray_dispose(&others);
	return rc;
}

typedef struct {
	const char *prefix; /* "remote.NAME." */
	gkv_strarray keys;
	size_t cap;
} keys_ctx;

static int collect_key(const char *key, const char *value, void *payload)
{
	keys_ctx *k = payload;
	const char *rest = key + strlen(k->prefix);

	(void)value;
	/* "remote.a.url" is not a key of remote "a.b", nor the reverse */
	if (strncmp(key, k->prefix, strlen(k->prefix)) != 0 || strchr(rest, '.'))
		return 0;
	if (k->keys.count == k->cap) {
		size_t ncap = k->cap ? k->cap * 2 : 8;
		char **n = realloc(k->keys.strings, ncap * sizeof(*n));
		if (!n)
			return gkv__oom();
		k->keys.strings = n;
		k->cap = ncap;
	}
	if (!(k->keys.strings[k->keys.count] = gkv__strdup(key)))
		return GKV_E_NOMEM;
	k->keys.count++;
	return 0;
}

int gkv_remote_remove(gkv_repo *repo, const char *name)
{
	char prefix[1100], *url = NULL;
	keys_ctx k;
	size_t i;
	int rc;

	if (!repo || !name)
		return gkv__error(GKV_E_INVALID, "gkv_remote_remove: NULL argument");
	if ((rc = gkv__remote_name_validate(name)) < 0)
		return rc;
	if ((rc = gkv__remote_lookup(&url, repo, name)) < 0)
		return rc;
	free(url);
	memset(&k, 0, sizeof(k));
	snprintf(prefix, sizeof(prefix), "remote.%s.", name);
	k.prefix = prefix;
	/* Read the keys first and drop the refs next: a failure there leaves
	 * the remote whole. The url goes last, so that a remote whose other
	 * keys could not all be removed is still listed and can be removed
	 * again. */
	if ((rc = gkv_config_foreach(repo, prefix, collect_key, &k)) < 0 ||
	    (rc = delete_tracking_refs(repo, name)) < 0)
		goto done;
	for (i = 0; i < k.keys.count; i++) {
		const char *key = k.keys.strings[i];
		if (strcmp(key + strlen(prefix), "url") == 0)
			continue;
		if ((rc = gkv_config_set(repo, key, NULL)) < 0)
			goto done;
	}
	snprintf(prefix, sizeof(prefix), "remote.%s.url", name);
	if ((rc = gkv_config_set(repo, prefix, NULL)) < 0)
		goto done;
	gkv_error_clear();
done:
	gkv_strarray_dispose(&k.keys);
	return rc;
}

/* ---- list, url ---- */

typedef struct {
	gkv_strarray out;
	size_t cap;
} names_ctx;

static int collect_name(const char *key, const char *value, void *payload)
{
	names_ctx *n = payload;
	size_t klen = strlen(key), plen = strlen("remote."), slen = strlen(".url");
	char *name;

	(void)value;
	if (klen <= plen + slen || strcmp(key + klen - slen, ".url") != 0)
		return 0;
	if (!(name = gkv__strndup(key + plen, klen - plen - slen)))
		return GKV_E_NOMEM;
	/* Keys come sorted; a remote has one url. Names that gitkv would
	 * refuse (written by hand into a git config) are left out. */
	if (gkv_branch_name_validate(name) < 0 ||
	    (n->out.count && strcmp(n->out.strings[n->out.count - 1], name) == 0)) {
		gkv_error_clear();
		free(name);
		return 0;
	}
	if (n->out.count == n->cap) {
		size_t ncap = n->cap ? n->cap * 2 : 8;
		char **s = realloc(n->out.strings, ncap * sizeof(*s));
		if (!s) {
			free(name);
			return gkv__oom();
		}
		n->out.strings = s;
		n->cap = ncap;
	}
	n->out.strings[n->out.count++] = name;
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int gkv_remote_list(gkv_strarray *out, gkv_repo *repo)
{
	names_ctx n;
	int rc;

	if (!out || !repo)
		return gkv__error(GKV_E_INVALID, "gkv_remote_list: NULL argument");
	memset(out, 0, sizeof(*out));
	memset(&n, 0, sizeof(n));
	if ((rc = gkv_config_foreach(repo, "remote.", collect_name, &n)) < 0) {
		gkv_strarray_dispose(&n.out);
		return rc;
	}
	/* "remote.a.b.url" sorts apart from "remote.a.url": sort the names. */
	if (n.out.count > 1)
		qsort(n.out.strings, n.out.count, sizeof(char *), name_cmp);
	*out = n.out;
	gkv_error_clear();
	return 0;
}

int gkv_remote_url(gkv_buf *out, gkv_repo *repo, const char *name)
{
	char *url = NULL;
	int rc;

	if (!out || !repo || !name)
		return gkv__error(GKV_E_INVALID, "gkv_remote_url: NULL argument");
	memset(out, 0, sizeof(*out));
	if ((rc = gkv__remote_name_validate(name)) < 0 ||
	    (rc = gkv__remote_lookup(&url, repo, name)) < 0)
		return rc;
	rc = gkv__buf_set(out, url, strlen(url) + 1);
	if (rc == 0)
		out->size--; /* NUL-terminated, not counted */
	free(url);
	return rc;
}
