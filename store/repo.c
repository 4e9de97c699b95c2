/*
 * repo.c -- opening a store by name, its defaults, and the questions about
 * objects that need no branch (exists, read, resolve a commit spec).
 *
 * Names: "mem:", "lmdb:PATH", "git:PATH", or a plain PATH whose kind is
 * detected. The repo owns its backend and its tree cache; the author
 * defaults come from the options, then GITKV_AUTHOR_NAME/EMAIL, then git's
 * user.name/user.email, then "gitkv <gitkv@localhost>".
 */
#include <ctype.h>
#include <stdio.h>
#include <sys/stat.h>

#include <git2.h>

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

/* Read git's user.name / user.email, when git is configured. */
static void git_identity(char **name, char **email)
{
	git_config *cfg = NULL;
	git_buf b = {0};

	gkv__libgit2_init();
	if (git_config_open_default(&cfg) < 0) {
		git_error_clear();
		return;
	}
	if (!*name && git_config_get_string_buf(&b, cfg, "user.name") == 0) {
		*name = gkv__strdup(b.ptr);
		git_buf_dispose(&b);
	}
	if (!*email && git_config_get_string_buf(&b, cfg, "user.email") == 0) {
		*email = gkv__strdup(b.ptr);
		git_buf_dispose(&b);
	}
	git_error_clear();
	git_config_free(cfg);
}

/*
 * The author of commits made without one: the options, else
 * GITKV_AUTHOR_NAME / GITKV_AUTHOR_EMAIL (read at open), else git's
 * user.name / user.email, else "gitkv <gitkv@localhost>". git's
 * configuration is read at the first commit that needs it, not at open:
 * reading it needs libgit2 started, which costs 20-50 ms here (Debian's
 * libgit2 parses every CA certificate), and a process that only reads
 * should not pay that.
 */
static int identity_from_options(gkv_repo *repo, const gkv_options *opts)
{
	const char *env;

	if (opts && opts->author_name &&
	    (!(repo->author_name = gkv__strdup(opts->author_name)) ||
		!(repo->author_email = gkv__strdup(opts->author_email))))
		return gkv__oom();
	if (!repo->author_name && (env = getenv("GITKV_AUTHOR_NAME")) && *env &&
	    !(repo->author_name = gkv__strdup(env)))
		return gkv__oom();
	if (!repo->author_email && (env = getenv("GITKV_AUTHOR_EMAIL")) && *env &&
	    !(repo->author_email = gkv__strdup(env)))
		return gkv__oom();
	return 0;
}

/* Complete the identity (once per repo): git's, the defaults, checked. */
static int identity_complete(gkv_repo *repo)
{
	char *name = repo->author_name, *email = repo->author_email;
	gkv_signature *check;

	if (!name || !email)
		git_identity(&name, &email);
	if (!name)
		name = gkv__strdup("gitkv");
	if (!email)
		email = gkv__strdup("gitkv@localhost");
	if (!name || !email) {
		repo->author_name = name;
		repo->author_email = email;
		return gkv__oom();
	}
	/* An unusable identity from the environment falls back to the default. */
	if (gkv_signature_new(&check, name, email, 0, 0) < 0) {
		free(name);
		free(email);
		name = gkv__strdup("gitkv");
		email = gkv__strdup("gitkv@localhost");
		gkv_error_clear();
	} else {
		gkv_signature_free(check);
	}
	repo->author_name = name;
	repo->author_email = email;
	return (name && email) ? 0 : gkv__oom();
}

int gkv__repo_identity(const char **name, const char **email, gkv_repo *repo)
{
	int rc = 0;

	pthread_mutex_lock(&repo->ident_lock);
	if (!repo->ident_ready && (rc = identity_complete(repo)) == 0)
		repo->ident_ready = 1;
	*name = repo->author_name;
	*email = repo->author_email;
	pthread_mutex_unlock(&repo->ident_lock);
	return rc;
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
	pthread_mutex_init(&repo->hash_lock, NULL);
	pthread_mutex_init(&repo->ident_lock, NULL);
	if ((rc = gkv__slab_init(&repo->slab)) < 0)
		goto fail;
	if ((rc = gkv__cache_init(&repo->cache, opts ? opts->cache_size : GKV_DEFAULT_CACHE_TREES)) < 0)
		goto fail;
	if (b->default_branch) {
		if ((rc = b->default_branch(&repo->default_branch, b)) < 0)
			goto fail;
	} else if (!(repo->default_branch = gkv__strdup("main"))) {
		rc = GKV_E_NOMEM;
		goto fail;
	}
	if ((rc = identity_from_options(repo, opts)) < 0)
		goto fail;
	if ((rc = gkv__watch_init(repo)) < 0)
		goto fail;
	*out = repo;
	return 0;
fail:
	gkv_repo_free(repo);
	return rc;
}

/* "scheme:" prefixes: a word of letters before the first ':' and no '/' before it. */
static int split_scheme(char *scheme, size_t cap, const char **rest, const char *uri)
{
	const char *colon = strchr(uri, ':');
	size_t n;

	if (!colon)
		return 0;
	n = (size_t)(colon - uri);
	if (n < 2 || n >= cap)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalpha((unsigned char)uri[i]))
			return 0;
	memcpy(scheme, uri, n);
	scheme[n] = '\0';
	*rest = colon + 1;
	return 1;
}

static int open_lmdb(gkv_repo **out, const char *path, const gkv_options *opts)
{
	gkv_backend *b;
	unsigned flags = 0;
	int rc;

	if (!*path)
		return gkv__error(GKV_E_INVALID, "invalid store 'lmdb:': empty path");
	if (opts && opts->create && !opts->readonly)
		flags |= GKV_LMDB_CREATE;
	if (opts && opts->readonly)
		flags |= GKV_LMDB_READONLY;
	if (opts && (opts->durability == GKV_DURABILITY_NOSYNC ||
		     opts->durability == GKV_DURABILITY_NOSYNC_MAPPED))
		flags |= GKV_LMDB_NOSYNC;
	if (opts && opts->durability == GKV_DURABILITY_NOSYNC_MAPPED)
		flags |= GKV_LMDB_WRITEMAP;
	if ((rc = gkv_backend_lmdb_open(&b, path, flags)) < 0)
		return rc;
	return gkv_repo_open_backend(out, b, opts);
}

static int open_git(gkv_repo **out, const char *path, const gkv_options *opts)
{
	gkv_backend *b;
	unsigned flags = 0;
	int rc;

	if (!*path)
		return gkv__error(GKV_E_INVALID, "invalid store 'git:': empty path");
	if (opts && opts->create && !opts->readonly)
		flags |= GKV_GIT_CREATE;
	if (opts && opts->readonly)
		flags |= GKV_GIT_READONLY;
	if (opts && opts->durability_set && opts->durability == GKV_DURABILITY_FULL)
		flags |= GKV_GIT_FSYNC;
	if ((rc = gkv_backend_git_open(&b, path, flags)) < 0)
		return rc;
	return gkv_repo_open_backend(out, b, opts);
}

int gkv_repo_open(gkv_repo **out, const char *uri, const gkv_options *opts)
{
	char scheme[16];
	const char *rest;
	gkv_backend *b;
	struct stat st;
	int rc;

	if (!out || !uri)
		return gkv__error(GKV_E_INVALID, "gkv_repo_open: NULL argument");
	*out = NULL;
	if (!*uri)
		return gkv__error(GKV_E_INVALID, "invalid store name '': empty");
	if (split_scheme(scheme, sizeof(scheme), &rest, uri)) {
		if (strcmp(scheme, "mem") == 0) {
			if (*rest)
				return gkv__error(GKV_E_INVALID, "invalid store '%s': mem: takes no path", uri);
			if ((rc = gkv_backend_mem_new(&b)) < 0)
				return rc;
			return gkv_repo_open_backend(out, b, opts);
		}
		if (strcmp(scheme, "lmdb") == 0)
			return open_lmdb(out, rest, opts);
		if (strcmp(scheme, "git") == 0)
			return open_git(out, rest, opts);
		return gkv__error(GKV_E_INVALID, "invalid store '%s': unknown scheme '%s:' (mem:, lmdb:, git:)",
		    uri, scheme);
	}
	/* A plain path: detect what is there. */
	if (gkv_backend_lmdb_detect(uri) == 1)
		return open_lmdb(out, uri, opts);
	if (gkv_backend_git_detect(uri) == 1)
		return open_git(out, uri, opts);
	if (stat(uri, &st) != 0)
		return gkv__error(GKV_E_NOTFOUND, "store '%s' does not exist", uri);
	return gkv__error(GKV_E_INVALID, "'%s' is neither an LMDB store nor a git repository", uri);
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
	free(repo->default_branch);
	free(repo->author_name);
	free(repo->author_email);
	free(repo);
}

const char *gkv_repo_default_branch(const gkv_repo *repo)
{
	return repo ? repo->default_branch : NULL;
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
		free(data);
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
	free(data);
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
