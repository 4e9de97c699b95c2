/*
 * config.c -- a store's settings (gkv_config_*) and its default branch.
 *
 * Settings are strings under git-config keys, kept by the backend
 * (backend.h: config_get/set/list). This file is where keys are checked
 * and put in the one form backends see: the section and the name
 * lower-cased, as git compares them without case, the subsection kept as
 * given (git compares it with case). So "Remote.origin.URL" and
 * "remote.origin.url" are one key everywhere, and on a git store the key
 * that git itself reads.
 *
 * The default branch is what gkv_repo_default_branch gives. A backend
 * that keeps one (git: HEAD) is told through set_default_branch; the
 * others keep it in config key "gitkv.defaultbranch", which the repo
 * reads back at open (repo.c).
 */
#include <ctype.h>

#include "path.h"
#include "repo.h"

#define DEFAULT_BRANCH_KEY "gitkv.defaultbranch"

/* Copy s into buf for a message, control characters as '?'. */
static const char *quote(char *buf, size_t cap, const char *s)
{
	size_t i;

	for (i = 0; i + 1 < cap && s[i]; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[i] = '\0';
	return buf;
}

static int bad_key(const char *key, const char *why)
{
	char q[256];

	return gkv__error(GKV_E_INVALID, "invalid config key '%s': %s", quote(q, sizeof(q), key),
			  why);
}

/* Letters, digits and '-': what git allows in a section or a name. */
static int word_ok(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return 0;
	return 1;
}

/*
 * Check key ("section.name" or "section.subsection.name") and put its
 * normal form, section and name lower-cased, into *out (malloc()ed). The
 * section ends at the first '.', the name starts after the last, as git
 * reads a key. A name starts with a letter, as git requires.
 */
static int key_normalize(char **out, const char *key)
{
	const char *first, *last;
	size_t len;
	char *k;

	if (!*key)
		return bad_key(key, "empty key");
	first = strchr(key, '.');
	last = strrchr(key, '.');
	if (!first)
		return bad_key(key, "no section (want section.name or section.subsection.name)");
	if (first == key)
		return bad_key(key, "empty section");
	if (!word_ok(key, (size_t)(first - key)))
		return bad_key(key, "a section holds only letters, digits and '-'");
	if (!last[1])
		return bad_key(key, "empty name");
	if (!isalpha((unsigned char)last[1]))
		return bad_key(key, "a name starts with a letter");
	if (!word_ok(last + 1, strlen(last + 1)))
		return bad_key(key, "a name holds only letters, digits and '-'");
	if (first != last) {
		if (last == first + 1)
			return bad_key(key, "empty subsection");
		if (memchr(first + 1, '\n', (size_t)(last - first - 1)))
			return bad_key(key, "a subsection holds a newline");
	}
	len = strlen(key);
	if (!(k = gkv__strndup(key, len)))
		return GKV_E_NOMEM;
	for (char *p = k; p < k + (first - key); p++)
		*p = (char)tolower((unsigned char)*p);
	for (char *p = k + (last - key) + 1; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	*out = k;
	return 0;
}

static int unsupported(gkv_repo *repo)
{
	return gkv__error(GKV_E_UNSUPPORTED, "the %s backend keeps no configuration",
			  gkv_repo_backend_name(repo));
}

static int has_config(const gkv_backend *b)
{
	return b->config_get && b->config_set && b->config_list;
}

int gkv_config_get(gkv_buf *out, gkv_repo *repo, const char *key)
{
	char *k = NULL, *v = NULL;
	int rc;

	if (!out)
		return gkv__error(GKV_E_INVALID, "gkv_config_get: NULL argument");
	out->ptr = NULL;
	out->size = 0;
	if (!repo || !key)
		return gkv__error(GKV_E_INVALID, "gkv_config_get: NULL argument");
	if ((rc = key_normalize(&k, key)) < 0)
		return rc;
	if (!has_config(repo->backend))
		rc = unsupported(repo);
	else if ((rc = repo->backend->config_get(&v, repo->backend, k)) == GKV_E_NOTFOUND)
		rc = gkv__error(GKV_E_NOTFOUND, "config key '%s' is not set", k);
	if (rc == 0) {
		out->ptr = (unsigned char *)v;
		out->size = strlen(v);
	}
	free(k);
	return rc;
}

/* On a read-only repo a set that changes nothing succeeds, as every other
 * write does; anything else is GKV_E_READONLY. */
static int readonly_set(gkv_repo *repo, const char *k, const char *value)
{
	char *cur = NULL;
	int rc = has_config(repo->backend) ? repo->backend->config_get(&cur, repo->backend, k)
					   : unsupported(repo);

	if (rc == GKV_E_NOTFOUND && !value)
		rc = 0;
	else if (rc == 0 && !(value && strcmp(cur, value) == 0))
		rc = GKV_E_READONLY;
	else if (rc == GKV_E_NOTFOUND)
		rc = GKV_E_READONLY;
	gkv_backend_data_free(cur);
	if (rc == GKV_E_READONLY)
		return gkv__error(GKV_E_READONLY, "the store is open read-only");
	if (rc == 0)
		gkv_error_clear();
	return rc;
}

int gkv_config_set(gkv_repo *repo, const char *key, const char *value)
{
	char *k = NULL;
	int rc;

	if (!repo || !key)
		return gkv__error(GKV_E_INVALID, "gkv_config_set: NULL argument");
	if ((rc = key_normalize(&k, key)) < 0)
		return rc;
	if (value && strchr(value, '\n')) {
		char q[256];

		rc = gkv__error(GKV_E_INVALID, "invalid value for config key '%s': holds a newline",
				quote(q, sizeof(q), k));
	} else if (repo->readonly) {
		rc = readonly_set(repo, k, value);
	} else if (!has_config(repo->backend)) {
		rc = unsupported(repo);
	} else {
		rc = repo->backend->config_set(repo->backend, k, value);
	}
	free(k);
	return rc;
}

int gkv_config_foreach(gkv_repo *repo, const char *prefix, gkv_config_cb cb, void *payload)
{
	char *p;
	int rc;

	if (!repo || !prefix || !cb)
		return gkv__error(GKV_E_INVALID, "gkv_config_foreach: NULL argument");
	if (!has_config(repo->backend))
		return unsupported(repo);
	/* The section, compared without case, is lower-case in every key. */
	if (!(p = gkv__strdup(prefix)))
		return GKV_E_NOMEM;
	for (char *s = p; *s && *s != '.'; s++)
		*s = (char)tolower((unsigned char)*s);
	rc = repo->backend->config_list(repo->backend, p, cb, payload);
	free(p);
	return rc;
}

/* ---- the default branch ---- */

static int dup_data(char **out, const char *s)
{
	size_t n = strlen(s) + 1;

	if (!(*out = gkv_backend_data_alloc(n)))
		return GKV_E_NOMEM;
	memcpy(*out, s, n);
	return 0;
}

int gkv__config_default_branch(char **out, gkv_repo *repo)
{
	gkv_backend *b = repo->backend;
	char *v = NULL;
	int rc;

	if (has_config(b)) {
		rc = b->config_get(&v, b, DEFAULT_BRANCH_KEY);
		/* A name that is no branch name (written by hand, or by
		 * another tool) is not used: the store opens on "main". */
		if (rc == 0 && gkv__branch_check(v) == 0) {
			*out = v;
			return 0;
		}
		gkv_backend_data_free(v);
		if (rc < 0 && rc != GKV_E_NOTFOUND)
			return rc;
		gkv_error_clear();
	}
	return dup_data(out, "main");
}

int gkv_repo_set_default_branch(gkv_repo *repo, const char *name)
{
	gkv_backend *b;
	char *copy = NULL, *old, **olds;
	int rc;

	if (!repo || !name)
		return gkv__error(GKV_E_INVALID, "gkv_repo_set_default_branch: NULL argument");
	if ((rc = gkv__branch_check(name)) < 0)
		return rc;
	b = repo->backend;
	pthread_mutex_lock(&repo->default_lock);
	old = repo->default_branch; /* only changed under default_lock */
	if (repo->readonly) {
		rc = strcmp(old, name) == 0
			 ? 0
			 : gkv__error(GKV_E_READONLY, "the store is open read-only");
		goto out;
	}
	if (!b->set_default_branch && !has_config(b)) {
		rc = gkv__error(GKV_E_UNSUPPORTED,
				"the %s backend keeps neither a default branch nor configuration",
				gkv_repo_backend_name(repo));
		goto out;
	}
	/* Everything that can fail before the store changes: afterwards the
	 * handle must follow it. */
	if ((rc = dup_data(&copy, name)) < 0)
		goto out;
	if (!(olds = realloc(repo->old_branches, (repo->nold_branches + 1) * sizeof(*olds)))) {
		rc = gkv__oom();
		goto out;
	}
	repo->old_branches = olds;
	if (b->set_default_branch)
		rc = b->set_default_branch(b, name);
	else
		rc = b->config_set(b, DEFAULT_BRANCH_KEY, name);
	if (rc < 0)
		goto out;
	__atomic_store_n(&repo->default_branch, copy, __ATOMIC_RELEASE);
	copy = NULL;
	repo->old_branches[repo->nold_branches++] = old;
out:
	pthread_mutex_unlock(&repo->default_lock);
	gkv_backend_data_free(copy);
	return rc;
}
