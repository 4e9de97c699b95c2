/*
 * git_config.c -- a git store's settings are the repository's own config
 * file (config in the common git directory), read and written through
 * libgit2's config parser and writer: what gitkv sets, `git config`
 * reads, and the reverse. Only that file: not ~/.gitconfig or the
 * system's, which are the user's and not the store's.
 *
 * libgit2 is started by the first call (gkv__git_start). Each call opens
 * the file afresh (git_config_open_ondisk), so that a
 * change git made a moment ago is seen, and no libgit2 config object is
 * shared between threads. A write goes through libgit2, which takes
 * config.lock, re-reads the file under it and renames the new one into
 * place, as git does: a lock held by another writer (git config, another
 * process) is GKV_E_CONFLICT. Writes of this process are serialised by
 * write_lock.
 *
 * A key git holds several values for (a multivar, e.g. several
 * remote.origin.fetch lines written by git) reads as its last value, as
 * `git config --get` does after a warning; setting it replaces every
 * value with the one given; removing it removes them all. A key written
 * without '=' (git's implicit true) reads as "".
 */
#include <stdio.h>

#include "git_internal.h"

static int config_open(git_config **out, gkv__git *g)
{
	char path[4096];
	int rc;

	if ((rc = gkv__git_start(g)) < 0)
		return rc;
	if ((size_t)snprintf(path, sizeof(path), "%sconfig", g->commondir) >= sizeof(path))
		return gkv_error_set(GKV_E_INVALID, "git:%s: the path of its config is too long",
				     g->path);
	if ((rc = git_config_open_ondisk(out, path)) < 0)
		return gkv__git_error(rc, GKV_E_IO, "git:%s: cannot read its config", g->path);
	return 0;
}

static int check_key(const gkv__git *g, const char *key)
{
	if (!key || !*key)
		return gkv_error_set(GKV_E_INVALID, "git:%s: empty config key", g->path);
	return 0;
}

int gkv__git_config_get(char **out, gkv_backend *b, const char *key)
{
	gkv__git *g = (gkv__git *)b;
	git_config *cfg = NULL;
	git_config_entry *ent = NULL;
	const char *v;
	int rc;

	if ((rc = check_key(g, key)) < 0 || (rc = config_open(&cfg, g)) < 0)
		return rc;
	rc = git_config_get_entry(&ent, cfg, key);
	if (rc == GIT_ENOTFOUND) {
		git_error_clear();
		rc = gkv_error_set(GKV_E_NOTFOUND, "git:%s: config key '%s' is not set", g->path,
				   key);
	} else if (rc < 0) {
		rc = gkv__git_error(rc, GKV_E_CORRUPT, "git:%s: cannot read config key '%s'",
				    g->path, key);
	} else {
		size_t n;

		v = ent->value ? ent->value : "";
		n = strlen(v) + 1;
		if (!(*out = gkv_backend_data_alloc(n)))
			rc = GKV_E_NOMEM;
		else
			memcpy(*out, v, n);
	}
	git_config_entry_free(ent);
	git_config_free(cfg);
	return rc;
}

static int count_cb(const git_config_entry *ent, void *payload)
{
	(void)ent;
	(*(size_t *)payload)++;
	return 0;
}

/*
 * Set (value) or remove (NULL) key, every value of a multivar at once.
 * libgit2 refuses to set or delete a multivar as one value (and its
 * set_multivar replaces each value, leaving as many): its values are
 * deleted first, then the one value is set -- two writes of the file,
 * each whole under config.lock.
 */
static int config_write(git_config *cfg, const char *key, const char *value)
{
	size_t n = 0;
	int rc = git_config_get_multivar_foreach(cfg, key, NULL, count_cb, &n);

	if (rc < 0 && rc != GIT_ENOTFOUND)
		return rc;
	git_error_clear();
	if (n > 1 && (rc = git_config_delete_multivar(cfg, key, ".*")) < 0)
		return rc;
	if (value)
		return git_config_set_string(cfg, key, value);
	if (n == 1)
		return git_config_delete_entry(cfg, key);
	return 0;
}

int gkv__git_config_set(gkv_backend *b, const char *key, const char *value)
{
	gkv__git *g = (gkv__git *)b;
	git_config *cfg = NULL;
	int rc;

	if ((rc = gkv__git_check_writable(g)) < 0 || (rc = check_key(g, key)) < 0)
		return rc;
	if (value && strchr(value, '\n'))
		return gkv_error_set(GKV_E_INVALID, "git:%s: a value of config key '%s' holds a newline",
				     g->path, key);
	pthread_mutex_lock(&g->write_lock);
	if ((rc = config_open(&cfg, g)) == 0 && (rc = config_write(cfg, key, value)) < 0)
		rc = gkv__git_error(rc, GKV_E_IO, "git:%s: cannot %s config key '%s'", g->path,
				    value ? "set" : "remove", key);
	pthread_mutex_unlock(&g->write_lock);
	git_config_free(cfg);
	return rc;
}

/* One entry as listed: key and value back to back, and its place in the
 * file (keys sort first, the file's order after). */
typedef struct {
	char *kv;
	size_t seq;
} cfg_item;

static int item_cmp(const void *a, const void *b)
{
	const cfg_item *x = a, *y = b;
	int c = strcmp(x->kv, y->kv);

	return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

/* Every entry under prefix into *items; libgit2's codes turned into
 * gitkv's here, where the two cannot be mixed up. */
static int collect(cfg_item **items, size_t *n, gkv__git *g, git_config *cfg, const char *prefix)
{
	size_t plen = strlen(prefix), cap = 0;
	git_config_iterator *it = NULL;
	git_config_entry *ent;
	int rc, gitrc;

	if ((gitrc = git_config_iterator_new(&it, cfg)) < 0)
		return gkv__git_error(gitrc, GKV_E_IO, "git:%s: cannot list its config", g->path);
	rc = 0;
	while (rc == 0 && (gitrc = git_config_next(&ent, it)) == 0) {
		const char *v = ent->value ? ent->value : "";
		size_t kl = strlen(ent->name) + 1, vl = strlen(v) + 1;
		char *kv;

		if (strncmp(ent->name, prefix, plen) != 0)
			continue;
		if ((rc = gkv__backend_grow((void **)items, &cap, *n, sizeof(**items))) < 0)
			break;
		if (!(kv = malloc(kl + vl))) {
			rc = gkv__oom();
			break;
		}
		memcpy(kv, ent->name, kl);
		memcpy(kv + kl, v, vl);
		(*items)[*n].kv = kv;
		(*items)[*n].seq = *n;
		(*n)++;
	}
	if (rc == 0 && gitrc < 0 && gitrc != GIT_ITEROVER)
		rc = gkv__git_error(gitrc, GKV_E_CORRUPT, "git:%s: cannot list its config", g->path);
	git_config_iterator_free(it);
	git_error_clear();
	return rc;
}

int gkv__git_config_list(gkv_backend *b, const char *prefix, gkv_backend_config_cb cb,
    void *payload)
{
	gkv__git *g = (gkv__git *)b;
	git_config *cfg = NULL;
	cfg_item *items = NULL;
	size_t n = 0;
	int rc;

	if ((rc = config_open(&cfg, g)) == 0)
		rc = collect(&items, &n, g, cfg, prefix ? prefix : "");
	git_config_free(cfg);
	if (rc == 0 && n)
		qsort(items, n, sizeof(*items), item_cmp);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = cb(items[i].kv, items[i].kv + strlen(items[i].kv) + 1, payload);
	for (size_t i = 0; i < n; i++)
		free(items[i].kv);
	free(items);
	return rc;
}
