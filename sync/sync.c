/*
 * sync.c -- fetch, clone, pull and push (gitkv/sync.h), written once over
 * the two transports of sync_int.h.
 *
 * A REMOTE is resolved here: a name recorded in the store stands for its
 * URL; "mem:", "lmdb:PATH", "git:PATH" and a plain path to an LMDB
 * environment or to a git repository are gitkv stores, synced store to
 * store (a git repository given by path is opened through the git
 * backend: no pack is built or parsed, and only the objects the other
 * side lacks are read); a git URL ("git://", "http(s)://", "ssh://",
 * "file://", "user@host:path") goes through libgit2's transports.
 *
 * Every ref move lands in one batch with the objects it needs, and each
 * carries a log entry worded as git words its own ("fetch origin:
 * fast-forward", "clone: from URL", "pull: Fast-forward", "push", "update
 * by push").
 */
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

#include "sync_int.h"
#include "util.h"

#define REF_MAX (4096 + 64)

void gkv__endpoint_free(gkv__endpoint *ep)
{
	free(ep->name);
	free(ep->url);
	free(ep->uri);
	free(ep->path);
	if (ep->owned)
		gkv_repo_free(ep->store);
	memset(ep, 0, sizeof(*ep));
}

static int has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/*
 * What url is, from its form alone: GKV__EP_STORE with *uri the store name, or
 * GKV__EP_GIT, or 0 for a plain path (to look at on disk). GKV_E_INVALID for
 * an unknown scheme.
 */
static int classify(const char *url, char **uri)
{
	static const char *git_schemes[] = {"git://", "http://", "https://", "ssh://",
	    "git+ssh://", "ssh+git://", "file://"};
	const char *colon = strchr(url, ':'), *slash = strchr(url, '/');
	size_t i;

	*uri = NULL;
	if (!*url || strpbrk(url, "\r\n"))
		return gkv__error(GKV_E_INVALID, "invalid remote '%s': empty or holding a newline",
		    url);
	for (i = 0; i < sizeof(git_schemes) / sizeof(*git_schemes); i++)
		if (has_prefix(url, git_schemes[i]))
			return GKV__EP_GIT;
	if (has_prefix(url, "mem:") || has_prefix(url, "lmdb:") || has_prefix(url, "git:")) {
		if (!(*uri = gkv__strdup(url)))
			return GKV_E_NOMEM;
		return GKV__EP_STORE;
	}
	if (strstr(url, "://"))
		return gkv__error(GKV_E_INVALID,
		    "invalid remote '%s': unknown scheme (known: mem:, lmdb:, git:, git://, "
		    "http://, https://, ssh://, file://, user@host:path)", url);
	/* git's scp-like syntax: "user@host:path", "host.example:path". */
	if (colon && (!slash || colon < slash)) {
		size_t hostlen = (size_t)(colon - url);
		if (hostlen > 0 && (memchr(url, '@', hostlen) || memchr(url, '.', hostlen)))
			return GKV__EP_GIT;
		return gkv__error(GKV_E_INVALID,
		    "invalid remote '%s': unknown scheme '%.*s:' (write ./%s for a path)", url,
		    (int)hostlen, url, url);
	}
	return 0;
}

int gkv__remote_url_validate(gkv_repo *repo, const char *url)
{
	char *uri = NULL, *other = NULL;
	int rc = classify(url, &uri);

	free(uri);
	if (rc < 0)
		return rc;
	/* A remote may not stand for another remote. */
	if (rc == 0 && gkv_branch_name_validate(url) == 0 && !strchr(url, '/') &&
	    gkv__remote_lookup(&other, repo, url) == 0) {
		free(other);
		return gkv__error(GKV_E_INVALID,
		    "invalid URL '%s': it names a recorded remote, not a store or repository", url);
	}
	gkv_error_clear();
	return 0;
}

/* A plain path: an LMDB environment or a git repository, opened as a
 * store; NOTFOUND when nothing is there. */
static int classify_path(gkv__endpoint *ep, const char *path)
{
	struct stat st;
	const char *scheme;
	char *abs = NULL;
	size_t n;

	if (stat(path, &st) != 0)
		return gkv__error(GKV_E_NOTFOUND, "no remote named '%s', and no store or repository "
		    "at that path", path);
	if (gkv_backend_lmdb_detect(path))
		scheme = "lmdb:";
	else if (gkv_backend_git_detect(path))
		scheme = "git:";
	else
		return gkv__error(GKV_E_INVALID,
		    "'%s' is neither a gitkv store nor a git repository", path);
	abs = realpath(path, NULL);
	n = strlen(scheme) + strlen(abs ? abs : path) + 1;
	if (!(ep->uri = malloc(n))) {
		free(abs);
		return gkv__oom();
	}
	snprintf(ep->uri, n, "%s%s", scheme, abs ? abs : path);
	ep->path = abs ? abs : gkv__strdup(path);
	if (!ep->path)
		return GKV_E_NOMEM;
	ep->kind = GKV__EP_STORE;
	return 0;
}

int gkv__endpoint_store(gkv__endpoint *ep, gkv_repo *store, const char *name, const char *url)
{
	memset(ep, 0, sizeof(*ep));
	ep->kind = GKV__EP_STORE;
	ep->store = store;
	if ((name && !(ep->name = gkv__strdup(name))) || !(ep->url = gkv__strdup(url))) {
		gkv__endpoint_free(ep);
		return GKV_E_NOMEM;
	}
	return 0;
}

/*
 * Resolve remote (repo may be NULL: no recorded names, as for a clone)
 * and open it if it is a store: read-only unless writable.
 */
static int endpoint_open(gkv__endpoint *ep, gkv_repo *repo, const char *remote, int writable)
{
	gkv_options *o = NULL;
	int rc;

	memset(ep, 0, sizeof(*ep));
	if (repo && gkv_branch_name_validate(remote) == 0 && strlen(remote) <= 1024) {
		rc = gkv__remote_lookup(&ep->url, repo, remote);
		if (rc == 0 && !(ep->name = gkv__strdup(remote)))
			return GKV_E_NOMEM;
		if (rc < 0 && rc != GKV_E_NOTFOUND && rc != GKV_E_UNSUPPORTED)
			return rc;
	}
	gkv_error_clear();
	if (!ep->url && !(ep->url = gkv__strdup(remote)))
		return GKV_E_NOMEM;
	if ((rc = classify(ep->url, &ep->uri)) < 0)
		return rc;
	ep->kind = rc;
	if (rc == 0 && (rc = classify_path(ep, ep->url)) < 0)
		return rc;
	if (ep->kind != GKV__EP_STORE)
		return 0;
	if ((rc = gkv_options_new(&o)) < 0 || (rc = gkv_options_set_readonly(o, !writable)) < 0) {
		gkv_options_free(o);
		return rc;
	}
	rc = gkv_repo_open(&ep->store, ep->uri, o);
	ep->owned = 1;
	gkv_options_free(o);
	return rc;
}

/* Prefix the last error's message with what was being done. */
static int name_remote(int rc, const char *what, const char *remote)
{
	char msg[1024];

	if (rc >= 0)
		return rc;
	snprintf(msg, sizeof(msg), "%s", gkv_error_last());
	return gkv__error(rc, "%s '%s': %s", what, remote, msg);
}

static int ref_name(char *out, const char *prefix, const char *a, const char *b)
{
	int n = snprintf(out, REF_MAX, "%s%s%s%s", prefix, a, b ? "/" : "", b ? b : "");
	if (n < 0 || n >= REF_MAX)
		return gkv__error(GKV_E_INVALID, "ref name too long");
	return 0;
}

/* What ref name now is: 1 (into *id), 0 when absent, or an error. */
static int read_ref(gkv_oid *id, gkv_repo *repo, const char *name)
{
	gkv_backend *be = gkv_repo_backend(repo);
	int rc = be->ref_read(id, be, name);

	if (rc == GKV_E_NOTFOUND) {
		gkv_error_clear();
		return 0;
	}
	return rc < 0 ? rc : 1;
}

/* ---- fetch ---- */

typedef struct {
	gkv_repo *repo;
	const char *name;   /* the recorded remote */
	gkv_repo *src;      /* the source store, or NULL for a git remote */
} track_ctx;

/* Is old an ancestor of new? Asked of the source store (which holds new
 * and its history), or of repo when it already held new; -1: unknown. */
static int fast_forward(track_ctx *t, const gkv_oid *old, const gkv_oid *new_id)
{
	gkv_repo *where = t->src ? t->src : t->repo;
	int have = 0, anc = 0;

	if (gkv_repo_object_exists(&have, where, new_id) < 0 || !have ||
	    gkv_repo_object_exists(&have, where, old) < 0) {
		gkv_error_clear();
		return -1;
	}
	if (!have)
		return 0;
	if (gkv_is_ancestor(&anc, where, old, new_id) < 0) {
		gkv_error_clear();
		return -1;
	}
	return anc;
}

/* Move refs/remotes/NAME/BRANCH to the fetched heads, in the batch. */
static int track_refs(gkv_batch *batch, const gkv_fetch_result *r, void *payload)
{
	track_ctx *t = payload;
	gkv_backend *be = gkv_repo_backend(t->repo);
	char ref[REF_MAX], msg[1200];
	gkv_oid cur;
	size_t i;
	int rc, ff;

	for (i = 0; i < r->count; i++) {
		if ((rc = ref_name(ref, "refs/remotes/", t->name, r->heads[i].name)) < 0 ||
		    (rc = read_ref(&cur, t->repo, ref)) < 0)
			return rc;
		if (rc && gkv_oid_equal(&cur, &r->heads[i].id))
			continue;
		if (!rc)
			snprintf(msg, sizeof(msg), "fetch %s: storing head", t->name);
		else if ((ff = fast_forward(t, &cur, &r->heads[i].id)) != 0)
			snprintf(msg, sizeof(msg), "fetch %s: %s", t->name,
			    ff > 0 ? "fast-forward" : "storing head");
		else
			snprintf(msg, sizeof(msg), "fetch %s: forced-update", t->name);
		if ((rc = be->batch_ref_cas(batch, ref, rc ? &cur : NULL, &r->heads[i].id)) < 0 ||
		    (rc = gkv__sync_reflog(batch, t->repo, ref, msg)) < 0)
			return rc;
	}
	return 0;
}

static int fetch_from(gkv_fetch_result **out, gkv_repo *repo, gkv__endpoint *ep,
    const char *branch, const gkv_sync_options *opts, gkv__refs_fn refs_fn, void *payload)
{
	if (ep->kind == GKV__EP_STORE)
		return gkv__store_fetch(out, repo, ep->store, branch, opts, refs_fn, payload);
	return gkv__git_fetch(out, repo, ep->url, branch, opts, refs_fn, payload);
}

/* Fetch into repo, moving the remote-tracking refs of a recorded remote. */
static int do_fetch(gkv_fetch_result **out, gkv_repo *repo, gkv__endpoint *ep, const char *branch,
    const gkv_sync_options *opts)
{
	track_ctx t = {repo, ep->name, ep->store};
	return fetch_from(out, repo, ep, branch, opts, ep->name ? track_refs : NULL, &t);
}

int gkv__fetch_ep(gkv_fetch_result **out, gkv_repo *repo, gkv__endpoint *ep,
    const char *branch, const gkv_sync_options *opts)
{
	gkv_fetch_result *r = NULL;
	int rc = do_fetch(&r, repo, ep, branch, opts);

	if (rc < 0)
		return name_remote(rc, "fetch from", ep->name ? ep->name : ep->url);
	if (out)
		*out = r;
	else
		gkv_fetch_result_free(r);
	return 0;
}

int gkv_fetch(gkv_fetch_result **out, gkv_repo *repo, const char *remote, const char *branch,
    const gkv_sync_options *opts)
{
	gkv__endpoint ep;
	int rc;

	if (out)
		*out = NULL;
	if (!repo || !remote)
		return gkv__error(GKV_E_INVALID, "gkv_fetch: NULL argument");
	if (branch && (rc = gkv_branch_name_validate(branch)) < 0)
		return rc;
	if ((rc = endpoint_open(&ep, repo, remote, 0)) < 0)
		rc = name_remote(rc, "fetch from", remote);
	else
		rc = gkv__fetch_ep(out, repo, &ep, branch, opts);
	gkv__endpoint_free(&ep);
	return rc;
}

/* ---- clone ---- */

typedef struct {
	gkv_repo *repo;
	const char *url;
} clone_ctx;

/* Every branch, and refs/remotes/origin/BRANCH, created at the heads. */
static int clone_refs(gkv_batch *batch, const gkv_fetch_result *r, void *payload)
{
	clone_ctx *c = payload;
	gkv_backend *be = gkv_repo_backend(c->repo);
	char ref[REF_MAX], msg[1200];
	size_t i;
	int rc;

	snprintf(msg, sizeof(msg), "clone: from %s", c->url);
	for (i = 0; i < r->count; i++) {
		const gkv_oid *id = &r->heads[i].id;
		if ((rc = ref_name(ref, "refs/heads/", r->heads[i].name, NULL)) < 0 ||
		    (rc = be->batch_ref_cas(batch, ref, NULL, id)) < 0 ||
		    (rc = gkv__sync_reflog(batch, c->repo, ref, msg)) < 0 ||
		    (rc = ref_name(ref, "refs/remotes/origin/", r->heads[i].name, NULL)) < 0 ||
		    (rc = be->batch_ref_cas(batch, ref, NULL, id)) < 0 ||
		    (rc = gkv__sync_reflog(batch, c->repo, ref, msg)) < 0)
			return rc;
	}
	return 0;
}

static int any_ref(const char *name, const gkv_oid *target, void *payload)
{
	(void)name;
	(void)target;
	(void)payload;
	return 1;
}

/* Open (creating) the store a clone goes into. The caller's options are
 * used for the handle; a store that does not exist is first made with
 * create set, as the options cannot be copied. */
static int open_target(gkv_repo **out, const char *uri, const gkv_options *opts)
{
	gkv_options *o = NULL;
	gkv_repo *made = NULL;
	int rc;

	if (!opts) {
		if ((rc = gkv_options_new(&o)) < 0 || (rc = gkv_options_set_create(o, 1)) < 0) {
			gkv_options_free(o);
			return rc;
		}
		rc = gkv_repo_open(out, uri, o);
		gkv_options_free(o);
		return rc;
	}
	if ((rc = gkv_repo_open(out, uri, opts)) != GKV_E_NOTFOUND)
		return rc;
	if ((rc = gkv_options_new(&o)) < 0 || (rc = gkv_options_set_create(o, 1)) < 0 ||
	    (rc = gkv_repo_open(&made, uri, o)) < 0) {
		gkv_options_free(o);
		return rc;
	}
	gkv_options_free(o);
	gkv_repo_free(made);
	return gkv_repo_open(out, uri, opts);
}

/* The branch the clone starts on: the remote's HEAD, else main, else
 * the first. NULL for a remote without branches. */
static const char *clone_default(const gkv_fetch_result *r)
{
	size_t i;

	if (r->default_branch)
		return r->default_branch;
	for (i = 0; i < r->count; i++)
		if (strcmp(r->heads[i].name, "main") == 0)
			return "main";
	return r->count ? r->heads[0].name : NULL;
}

/* Take back the refs a clone made (the store is left without refs). */
static void clone_undo(gkv_repo *repo, const gkv_fetch_result *r)
{
	gkv_backend *be = gkv_repo_backend(repo);
	gkv_batch *batch = NULL;
	char ref[REF_MAX];
	size_t i;
	int rc = 0;

	if (!r || !r->count || be->batch_begin(&batch, be) < 0)
		return;
	for (i = 0; i < r->count && rc == 0; i++) {
		if ((rc = ref_name(ref, "refs/heads/", r->heads[i].name, NULL)) == 0)
			rc = be->batch_ref_cas(batch, ref, &r->heads[i].id, NULL);
		if (rc == 0 && (rc = ref_name(ref, "refs/remotes/origin/", r->heads[i].name,
		    NULL)) == 0)
			rc = be->batch_ref_cas(batch, ref, &r->heads[i].id, NULL);
	}
	if (rc < 0)
		be->batch_abort(batch);
	else
		(void)be->batch_commit(batch);
}

int gkv__clone_ep(gkv_repo **out, gkv__endpoint *ep, const char *uri,
    const gkv_options *opts, const gkv_sync_options *sopts)
{
	const char *url = ep->path ? ep->path : ep->url;
	gkv_fetch_result *r = NULL;
	gkv_repo *repo = NULL;
	gkv_backend *be;
	const char *def;
	char err[1024];
	clone_ctx cc;
	int rc, recorded = 0;

	*out = NULL;
	if ((rc = open_target(&repo, uri, opts)) < 0)
		goto done;
	be = gkv_repo_backend(repo);
	if ((rc = be->ref_list(be, "", any_ref, NULL)) != 0) {
		if (rc == 1)
			rc = gkv__error(GKV_E_EXISTS, "store '%s' is not empty: it has refs", uri);
		goto done;
	}
	/* A backend that keeps no configuration (a custom one) gets the
	 * branches and tracking refs, without the record of origin. */
	if ((rc = gkv_remote_add(repo, "origin", url)) < 0 && rc != GKV_E_UNSUPPORTED)
		goto done;
	recorded = rc == 0;
	cc.repo = repo;
	cc.url = url;
	if ((rc = fetch_from(&r, repo, ep, NULL, sopts, clone_refs, &cc)) < 0)
		goto done;
	if ((def = clone_default(r)) && (rc = gkv_repo_set_default_branch(repo, def)) < 0 &&
	    rc != GKV_E_UNSUPPORTED) {
		snprintf(err, sizeof(err), "%s", gkv_error_last());
		clone_undo(repo, r);
		rc = gkv__error(rc, "%s", err);
		goto done;
	}
	rc = 0;
	gkv_error_clear();
done:
	if (rc < 0 && recorded) {
		/* take the remote back: a failed clone leaves no ref and no origin */
		snprintf(err, sizeof(err), "%s", gkv_error_last());
		(void)gkv_config_set(repo, "remote.origin.fetch", NULL);
		(void)gkv_config_set(repo, "remote.origin.url", NULL);
		gkv__error(rc, "%s", err);
	}
	gkv_fetch_result_free(r);
	if (rc < 0) {
		gkv_repo_free(repo);
		return name_remote(rc, "clone of", url);
	}
	*out = repo;
	return 0;
}

int gkv_clone(gkv_repo **out, const char *remote, const char *uri, const gkv_options *opts,
    const gkv_sync_options *sopts)
{
	gkv__endpoint ep;
	int rc;

	if (out)
		*out = NULL;
	if (!out || !remote || !uri)
		return gkv__error(GKV_E_INVALID, "gkv_clone: NULL argument");
	/* Reach the remote first: a remote that is not there makes no store. */
	if ((rc = endpoint_open(&ep, NULL, remote, 0)) < 0)
		rc = name_remote(rc, "clone of", remote);
	else
		rc = gkv__clone_ep(out, &ep, uri, opts, sopts);
	gkv__endpoint_free(&ep);
	return rc;
}

/* ---- pull ---- */

/* Move branch (refs/heads/NAME) from old (NULL: absent) to id, with a log
 * entry, in one batch: GKV_E_CONFLICT if it moved meanwhile. */
static int move_branch(gkv_repo *repo, const char *branch, const gkv_oid *old,
    const gkv_oid *id, const char *message)
{
	gkv_backend *be = gkv_repo_backend(repo);
	gkv_batch *batch = NULL;
	char ref[REF_MAX];
	int rc;

	if ((rc = ref_name(ref, "refs/heads/", branch, NULL)) < 0 ||
	    (rc = be->batch_begin(&batch, be)) < 0)
		return rc;
	if ((rc = be->batch_ref_cas(batch, ref, old, id)) < 0 ||
	    (rc = gkv__sync_reflog(batch, repo, ref, message)) < 0) {
		be->batch_abort(batch);
		return rc;
	}
	return be->batch_commit(batch);
}

/* Join the local branch to theirs by strategy; *out the new head. */
static int join(gkv_oid *out, gkv_conflicts **conflicts, gkv_repo *repo, const char *branch,
    const gkv_oid *theirs, gkv_pull_strategy strategy, const gkv_merge_options *mopts,
    const char *what)
{
	char ref[REF_MAX], msg[2048], hex[GKV_OID_HEXSZ + 1];
	gkv_info *info = NULL;
	gkv_oid cur, next;
	int rc, has, anc, tries;

	if ((rc = ref_name(ref, "refs/heads/", branch, NULL)) < 0)
		return rc;
	gkv_oid_fmt(hex, theirs);
	/* Retried when another writer moves the branch between our read and
	 * our compare-and-swap, as gkv_merge_into_branch is. */
	for (tries = 0; tries < 100; tries++) {
		if ((has = read_ref(&cur, repo, ref)) < 0)
			return has;
		if (!has || strategy == GKV_PULL_RESET) {
			next = *theirs;
			snprintf(msg, sizeof(msg), has ? "pull: reset: moving to %s" :
			    "pull: Created from %s", hex);
		} else if (gkv_oid_equal(&cur, theirs)) {
			*out = cur;
			return 0;
		} else if (strategy == GKV_PULL_FF) {
			if ((rc = gkv_is_ancestor(&anc, repo, theirs, &cur)) < 0)
				return rc;
			if (anc) { /* already up to date */
				*out = cur;
				return 0;
			}
			if ((rc = gkv_is_ancestor(&anc, repo, &cur, theirs)) < 0)
				return rc;
			if (!anc)
				return gkv__error(GKV_E_NONFASTFORWARD,
				    "pull into branch '%s': %s is not a fast-forward (merge or "
				    "reset instead)", branch, what);
			next = *theirs;
			snprintf(msg, sizeof(msg), "pull: Fast-forward");
		} else {
			if (!info) {
				snprintf(msg, sizeof(msg), "Merge %s into %s\n", what, branch);
				if ((rc = gkv_info_new(&info, msg)) < 0)
					return rc;
			}
			rc = gkv_merge_commits(&next, conflicts, repo, &cur, theirs, mopts, info);
			if (rc < 0)
				goto done;
			if (gkv_oid_equal(&next, &cur)) {
				*out = cur;
				rc = 0;
				goto done;
			}
			snprintf(msg, sizeof(msg), gkv_oid_equal(&next, theirs) ?
			    "pull: Fast-forward" : "pull: Merge made by the 'gitkv' strategy.");
		}
		rc = move_branch(repo, branch, has ? &cur : NULL, &next, msg);
		if (rc != GKV_E_CONFLICT)
			break;
	}
	if (rc == 0)
		*out = next;
	else if (rc == GKV_E_CONFLICT)
		rc = gkv__error(GKV_E_CONFLICT, "pull into branch '%s': the branch kept moving",
		    branch);
done:
	gkv_info_free(info);
	return rc;
}

int gkv__pull_ep(gkv_oid *out, gkv_conflicts **conflicts, gkv_repo *repo, gkv__endpoint *ep,
    const char *remote_branch, const char *branch, gkv_pull_strategy strategy,
    const gkv_merge_options *mopts, const gkv_sync_options *opts)
{
	gkv_fetch_result *r = NULL;
	char what[1200];
	gkv_oid head;
	int rc;

	rc = do_fetch(&r, repo, ep, remote_branch, opts);
	if (rc == 0) {
		head = r->heads[0].id;
		snprintf(what, sizeof(what), "branch '%s' of %s", remote_branch, ep->url);
		rc = join(&head, conflicts, repo, branch, &r->heads[0].id, strategy, mopts, what);
	}
	gkv_fetch_result_free(r);
	if (rc < 0)
		return name_remote(rc, "pull from", ep->name ? ep->name : ep->url);
	if (out)
		*out = head;
	return 0;
}

int gkv_pull(gkv_oid *out, gkv_conflicts **conflicts, gkv_repo *repo, const char *remote,
    const char *remote_branch, const char *branch, gkv_pull_strategy strategy,
    const gkv_merge_options *mopts, const gkv_sync_options *opts)
{
	gkv__endpoint ep;
	int rc;

	if (conflicts)
		*conflicts = NULL;
	if (!repo || !remote || !branch)
		return gkv__error(GKV_E_INVALID, "gkv_pull: NULL argument");
	if ((rc = gkv_branch_name_validate(branch)) < 0 ||
	    (remote_branch && (rc = gkv_branch_name_validate(remote_branch)) < 0))
		return rc;
	if (strategy != GKV_PULL_MERGE && strategy != GKV_PULL_FF && strategy != GKV_PULL_RESET)
		return gkv__error(GKV_E_INVALID, "gkv_pull: unknown strategy %d", (int)strategy);
	if ((rc = endpoint_open(&ep, repo, remote, 0)) < 0)
		rc = name_remote(rc, "pull from", remote);
	else
		rc = gkv__pull_ep(out, conflicts, repo, &ep, remote_branch ? remote_branch : branch,
		    branch, strategy, mopts, opts);
	gkv__endpoint_free(&ep);
	return rc;
}

/* ---- push ---- */

/* Set refs/remotes/NAME/BRANCH to what was pushed: the remote has it now. */
static int track_push(gkv_repo *repo, const char *name, const char *branch, const gkv_oid *head)
{
	gkv_backend *be = gkv_repo_backend(repo);
	gkv_batch *batch = NULL;
	char ref[REF_MAX];
	gkv_oid cur;
	int rc, has;

	if ((rc = ref_name(ref, "refs/remotes/", name, branch)) < 0 ||
	    (has = read_ref(&cur, repo, ref)) < 0)
		return rc < 0 ? rc : has;
	if (has && gkv_oid_equal(&cur, head))
		return 0;
	if ((rc = be->batch_begin(&batch, be)) < 0)
		return rc;
	if ((rc = be->batch_ref_cas(batch, ref, has ? &cur : NULL, head)) < 0 ||
	    (rc = gkv__sync_reflog(batch, repo, ref, "update by push")) < 0) {
		be->batch_abort(batch);
		return rc;
	}
	return be->batch_commit(batch);
}

int gkv__push_ep(gkv_repo *repo, gkv__endpoint *ep, const char *branch,
    const char *remote_branch, const gkv_sync_options *opts)
{
	gkv_oid head, old;
	int rc;

	if ((rc = gkv_branch_head(&head, repo, branch)) < 0)
		return rc;
	if (ep->kind == GKV__EP_STORE)
		rc = gkv__store_push(&old, repo, &head, ep->store, remote_branch, "push", opts);
	else
		rc = gkv__git_push(&old, repo, &head, ep->url, remote_branch, opts);
	if (rc == 0 && ep->name)
		rc = track_push(repo, ep->name, remote_branch, &head);
	if (rc < 0)
		return name_remote(rc, "push to", ep->name ? ep->name : ep->url);
	gkv_error_clear();
	return 0;
}

int gkv_push(gkv_repo *repo, const char *remote, const char *branch,
    const char *remote_branch, const gkv_sync_options *opts)
{
	gkv__endpoint ep;
	gkv_oid head;
	int rc;

	if (!repo || !remote || !branch)
		return gkv__error(GKV_E_INVALID, "gkv_push: NULL argument");
	if ((rc = gkv_branch_name_validate(branch)) < 0 ||
	    (remote_branch && (rc = gkv_branch_name_validate(remote_branch)) < 0))
		return rc;
	/* A branch that is not there is the caller's error, not the remote's. */
	if ((rc = gkv_branch_head(&head, repo, branch)) < 0)
		return rc;
	if ((rc = endpoint_open(&ep, repo, remote, 1)) < 0)
		rc = name_remote(rc, "push to", remote);
	else
		rc = gkv__push_ep(repo, &ep, branch, remote_branch ? remote_branch : branch, opts);
	gkv__endpoint_free(&ep);
	return rc;
}
