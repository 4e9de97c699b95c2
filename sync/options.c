/*
 * options.c -- the options of a transfer: progress, credentials, trust,
 * force. Plain setters over struct gkv_sync_options (sync_int.h).
 */
#include <sys/stat.h>

#include "sync_int.h"
#include "util.h"

int gkv_sync_options_new(gkv_sync_options **out)
{
	if (!out)
		return gkv__error(GKV_E_INVALID, "gkv_sync_options_new: NULL argument");
	if (!(*out = calloc(1, sizeof(**out))))
		return gkv__oom();
	return 0;
}

static void clear_secret(char **s)
{
	if (*s) {
		/* volatile: the wipe of a password must not be optimised out */
		volatile char *p = *s;
		while (*p)
			*p++ = 0;
		free(*s);
		*s = NULL;
	}
}

void gkv_sync_options_free(gkv_sync_options *opts)
{
	if (!opts)
		return;
	free(opts->user);
	clear_secret(&opts->password);
	free(opts->ssh_user);
	free(opts->ssh_public);
	free(opts->ssh_private);
	clear_secret(&opts->ssh_passphrase);
	free(opts->ca_file);
	free(opts->known_hosts);
	free(opts);
}

int gkv_sync_options_set_progress(gkv_sync_options *opts, gkv_sync_progress_cb cb,
    void *payload)
{
	if (!opts)
		return gkv__error(GKV_E_INVALID, "gkv_sync_options_set_progress: NULL argument");
	opts->progress = cb;
	opts->progress_payload = payload;
	return 0;
}

/* Replace *slot by a copy of s (NULL allowed). */
static int replace(char **slot, const char *s)
{
	char *copy = NULL;
	if (s && !(copy = gkv__strdup(s)))
		return GKV_E_NOMEM;
	free(*slot);
	*slot = copy;
	return 0;
}

int gkv_sync_options_set_userpass(gkv_sync_options *opts, const char *user,
    const char *password)
{
	char *u = NULL, *p = NULL;
	if (!opts)
		return gkv__error(GKV_E_INVALID, "gkv_sync_options_set_userpass: NULL argument");
	if (user && !password)
		return gkv__error(GKV_E_INVALID, "gkv_sync_options_set_userpass: a user needs a password");
	if (user && (!(u = gkv__strdup(user)) || !(p = gkv__strdup(password)))) {
		free(u);
		return GKV_E_NOMEM;
	}
	free(opts->user);
	clear_secret(&opts->password);
	opts->user = u;
	opts->password = p;
	return 0;
}

int gkv_sync_options_set_ssh_key(gkv_sync_options *opts, const char *user,
    const char *public_key, const char *private_key, const char *passphrase)
{
	gkv_sync_options t = {0};
	if (!opts || !private_key)
		return gkv__error(GKV_E_INVALID, "gkv_sync_options_set_ssh_key: NULL argument");
	if (replace(&t.ssh_user, user) < 0 || replace(&t.ssh_public, public_key) < 0 ||
	    replace(&t.ssh_private, private_key) < 0 ||
	    replace(&t.ssh_passphrase, passphrase) < 0) {
		free(t.ssh_user);
		free(t.ssh_public);
		free(t.ssh_private);
		clear_secret(&t.ssh_passphrase);
		return GKV_E_NOMEM;
	}
	free(opts->ssh_user);
	free(opts->ssh_public);
	free(opts->ssh_private);
	clear_secret(&opts->ssh_passphrase);
	opts->ssh_user = t.ssh_user;
	opts->ssh_public = t.ssh_public;
	opts->ssh_private = t.ssh_private;
	opts->ssh_passphrase = t.ssh_passphrase;
	opts->ssh_agent = 0;
	return 0;
}

int gkv_sync_options_set_ssh_agent(gkv_sync_options *opts, const char *user)
{
	if (!opts)
		return gkv__error(GKV_E_INVALID, "gkv_sync_options_set_ssh_agent: NULL argument");
	if (replace(&opts->ssh_user, user) < 0)
		return GKV_E_NOMEM;
	opts->ssh_agent = 1;
	return 0;
}

int gkv_sync_options_set_ca_file(gkv_sync_options *opts, const char *ca_file)
{
	struct stat st;
	if (!opts || !ca_file)
		return gkv__error(GKV_E_INVALID, "gkv_sync_options_set_ca_file: NULL argument");
	if (stat(ca_file, &st) != 0 || !S_ISREG(st.st_mode))
		return gkv__error(GKV_E_NOTFOUND, "CA file '%s' not found", ca_file);
	return replace(&opts->ca_file, ca_file);
}

int gkv_sync_options_set_known_hosts(gkv_sync_options *opts, const char *file)
{
	struct stat st;
	if (!opts || !file)
		return gkv__error(GKV_E_INVALID, "gkv_sync_options_set_known_hosts: NULL argument");
	if (stat(file, &st) != 0 || !S_ISREG(st.st_mode))
		return gkv__error(GKV_E_NOTFOUND, "known_hosts file '%s' not found", file);
	return replace(&opts->known_hosts, file);
}

int gkv_sync_options_set_cert_check(gkv_sync_options *opts, gkv_sync_cert_cb cb,
    void *payload)
{
	if (!opts)
		return gkv__error(GKV_E_INVALID, "gkv_sync_options_set_cert_check: NULL argument");
	opts->cert_check = cb;
	opts->cert_payload = payload;
	return 0;
}

int gkv_sync_options_set_force(gkv_sync_options *opts, int force)
{
	if (!opts)
		return gkv__error(GKV_E_INVALID, "gkv_sync_options_set_force: NULL argument");
	opts->force = force != 0;
	return 0;
}

int gkv__progress(const gkv_sync_options *opts, const gkv_sync_progress *p)
{
	if (opts && opts->progress && opts->progress(p, opts->progress_payload) != 0)
		return gkv__error(GKV_E_USER, "transfer stopped by the progress callback");
	return 0;
}
