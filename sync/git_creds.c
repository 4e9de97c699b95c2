/*
 * git_creds.c -- what libgit2 asks of a transfer while it runs
 * (credentials, a host's certificate or key, progress) and what its
 * failures mean in GKV_E_* terms.
 *
 * libgit2 replaces a callback's message with its own, so each callback
 * that fails remembers why in the operation (gkv__wire_op_fail), and
 * gkv__wire_error reports that first.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "git_int.h"
#include "known_hosts.h"
#include "util.h"

/* A credential callback asked more often than this has seen every
 * answer refused: libgit2 would ask forever. */
#define MAX_AUTH_ATTEMPTS 3

static const char *ssh_user(const gkv__wire_op *op, const char *from_url)
{
	if (op->opts && op->opts->ssh_user)
		return op->opts->ssh_user;
	return from_url && *from_url ? from_url : "git";
}

static int credentials(git_credential **out, const char *url, const char *user_from_url,
    unsigned int allowed, void *payload)
{
	gkv__wire_op *op = payload;
	const gkv_sync_options *o = op->opts;

	if (++op->auth_attempts > MAX_AUTH_ATTEMPTS) {
		gkv__wire_op_fail(op, gkv__error(GKV_E_AUTH,
		    "%s refused the credentials", op->url_shown));
		return GIT_EAUTH;
	}
	if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && o && o->user)
		return git_credential_userpass_plaintext_new(out, o->user,
		    o->password ? o->password : "");
	if ((allowed & GIT_CREDENTIAL_SSH_KEY) && o && o->ssh_private)
		return git_credential_ssh_key_new(out, ssh_user(op, user_from_url),
		    o->ssh_public, o->ssh_private, o->ssh_passphrase);
	if ((allowed & GIT_CREDENTIAL_SSH_KEY) && o && o->ssh_agent)
		return git_credential_ssh_key_from_agent(out, ssh_user(op, user_from_url));
	if ((allowed & GIT_CREDENTIAL_USERNAME) && o && (o->ssh_private || o->ssh_agent))
		return git_credential_username_new(out, ssh_user(op, user_from_url));
	gkv__wire_op_fail(op, gkv__error(GKV_E_AUTH,
	    "%s asks for credentials and none were given", op->url_shown));
	return GIT_EAUTH;
}

/* The port of an ssh:// URL, 22 for any other form. */
static int ssh_port(const char *url)
{
	const char *p = strstr(url, "://"), *end, *colon;

	if (!p || strncasecmp(url, "ssh", 3) != 0)
		return 22;
	p += 3;
	end = p + strcspn(p, "/");
	for (const char *at = p; at < end; at++)
		if (*at == '@')
			p = at + 1;
	if (*p == '[' && (colon = memchr(p, ']', (size_t)(end - p))) != NULL)
		p = colon + 1;
	colon = memchr(p, ':', (size_t)(end - p));
	return colon && colon + 1 < end ? atoi(colon + 1) : 22;
}

/* The ssh host's key against the known_hosts files: GKV_KNOWN_HOST_*. */
static int ssh_known(const gkv__wire_op *op, const git_cert_hostkey *k, const char *host,
    int port, const char **file)
{
	static char user_file[4096];
	const char *home = getenv("HOME");
	int r;

	if (!(k->type & GIT_CERT_SSH_RAW) || !k->hostkey || !host)
		return GKV_KNOWN_HOST_UNKNOWN;
	if (op->opts && op->opts->known_hosts) {
		*file = op->opts->known_hosts;
		return gkv__known_hosts_check(*file, host, port, (const unsigned char *)k->hostkey,
		    k->hostkey_len);
	}
	snprintf(user_file, sizeof(user_file), "%s/.ssh/known_hosts", home ? home : "");
	*file = user_file;
	r = gkv__known_hosts_check(user_file, host, port, (const unsigned char *)k->hostkey,
	    k->hostkey_len);
	if (r == GKV_KNOWN_HOST_UNKNOWN)
		r = gkv__known_hosts_check("/etc/ssh/ssh_known_hosts", host, port,
		    (const unsigned char *)k->hostkey, k->hostkey_len);
	return r;
}

static int certificate(git_cert *cert, int valid, const char *host, void *payload)
{
	gkv__wire_op *op = payload;
	const gkv_sync_options *o = op->opts;
	const char *file = NULL;
	char fp[65] = "";
	int ssh = cert->cert_type == GIT_CERT_HOSTKEY_LIBSSH2, known = GKV_KNOWN_HOST_OK;
	int port = ssh_port(op->url_shown);

	if (ssh) {
		const git_cert_hostkey *k = (const git_cert_hostkey *)cert;
		if (k->type & GIT_CERT_SSH_SHA256)
			for (int i = 0; i < 32; i++)
				snprintf(fp + 2 * i, 3, "%02x", k->hash_sha256[i]);
		if ((known = ssh_known(op, k, host, port, &file)) < 0) {
			gkv__wire_op_fail(op, known);
			return GIT_ECERTIFICATE;
		}
		valid = known == GKV_KNOWN_HOST_OK; /* libgit2 does not check the key */
	}
	if (o && o->cert_check) {
		if (o->cert_check(valid, host ? host : "", ssh ? fp : NULL, o->cert_payload) == 0)
			return 0;
		gkv__wire_op_fail(op, gkv__error(GKV_E_AUTH,
		    "%s: the host %s was refused by the certificate check", op->url_shown,
		    host ? host : ""));
		return GIT_ECERTIFICATE;
	}
	if (valid)
		return 0;
	if (!ssh)
		gkv__wire_op_fail(op, gkv__error(GKV_E_AUTH,
		    "%s: the certificate of %s is not trusted", op->url_shown, host ? host : ""));
	else if (known == GKV_KNOWN_HOST_CHANGED)
		gkv__wire_op_fail(op, gkv__error(GKV_E_AUTH,
		    "%s: the host key of %s (SHA-256 %s) is not the one %s gives for it: "
		    "someone may be in the middle, or the host changed its key", op->url_shown,
		    host ? host : "", fp, file));
	else if (known == GKV_KNOWN_HOST_REVOKED)
		gkv__wire_op_fail(op, gkv__error(GKV_E_AUTH,
		    "%s: the host key of %s (SHA-256 %s) is revoked in %s", op->url_shown,
		    host ? host : "", fp, file));
	else
		gkv__wire_op_fail(op, gkv__error(GKV_E_AUTH,
		    "%s: the host %s is not in %s; check its key (SHA-256 %s) and add it, "
		    "e.g. with ssh-keyscan -p %d %s >> %s", op->url_shown, host ? host : "",
		    file ? file : "known_hosts", fp, port, host ? host : "", file ? file : "known_hosts"));
	return GIT_ECERTIFICATE;
}

static int transfer_progress(const git_indexer_progress *s, void *payload)
{
	gkv__wire_op *op = payload;
	gkv_sync_progress *p = &op->progress;

	p->stage = GKV_SYNC_RECEIVING;
	p->total_objects = s->total_objects;
	p->received_objects = s->received_objects;
	p->indexed_objects = s->indexed_objects;
	p->received_bytes = s->received_bytes;
	p->total_deltas = s->total_deltas;
	p->indexed_deltas = s->indexed_deltas;
	if (gkv__progress(op->opts, p) < 0) {
		gkv__wire_op_fail(op, GKV_E_USER);
		return GIT_EUSER;
	}
	return 0;
}

static int push_progress(unsigned int current, unsigned int total, size_t bytes,
    void *payload)
{
	gkv__wire_op *op = payload;
	gkv_sync_progress *p = &op->progress;

	p->stage = GKV_SYNC_SENDING;
	p->total_objects = total;
	p->received_objects = current;
	p->received_bytes = bytes;
	if (gkv__progress(op->opts, p) < 0) {
		gkv__wire_op_fail(op, GKV_E_USER);
		return GIT_EUSER;
	}
	return 0;
}

static int push_update(const char *refname, const char *status, void *payload)
{
	gkv__wire_op *op = payload;

	if (status && !op->rejected_ref) {
		op->rejected_ref = gkv__strdup(refname);
		op->rejected_msg = gkv__strdup(status);
	}
	return 0;
}

void gkv__wire_callbacks(git_remote_callbacks *cb, gkv__wire_op *op)
{
	git_remote_init_callbacks(cb, GIT_REMOTE_CALLBACKS_VERSION);
	cb->credentials = credentials;
	cb->certificate_check = certificate;
	cb->transfer_progress = transfer_progress;
	cb->push_transfer_progress = push_progress;
	cb->push_update_reference = push_update;
	cb->payload = op;
}

char *gkv__wire_url_shown(const char *url)
{
	const char *scheme = strstr(url, "://"), *host, *at, *colon, *slash;
	char *out;

	if (!scheme)
		return gkv__strdup(url);
	host = scheme + 3;
	slash = strchr(host, '/');
	at = memrchr(host, '@', slash ? (size_t)(slash - host) : strlen(host));
	colon = at ? memchr(host, ':', (size_t)(at - host)) : NULL;
	if (!colon)
		return gkv__strdup(url);
	/* drop ":password" from "user:password@host" */
	if (!(out = malloc(strlen(url) + 1)))
		return NULL;
	memcpy(out, url, (size_t)(colon - url));
	strcpy(out + (colon - url), at);
	return out;
}

static int contains(const char *s, const char *word)
{
	return s && strcasestr(s, word) != NULL;
}

int gkv__wire_error(gkv__wire_op *op, int code, const char *what)
{
	const git_error *e = git_error_last();
	const char *msg = e && e->message ? e->message : "unknown error";
	int klass = e ? e->klass : GIT_ERROR_NONE;
	int err;

	if (op->err)
		return gkv__error(op->err, "%s", op->errmsg);
	if (code == GIT_EAUTH || code == GIT_ECERTIFICATE || contains(msg, "authentication") ||
	    contains(msg, " 401") || contains(msg, " 403") || contains(msg, "credentials") ||
	    contains(msg, "permission denied") || contains(msg, "certificate"))
		err = GKV_E_AUTH;
	else if (contains(msg, "not found") || contains(msg, " 404") ||
	    contains(msg, "not exported") || contains(msg, "could not find repository") ||
	    contains(msg, "not a git repository") || contains(msg, "does not appear to be") ||
	    contains(msg, "failed to resolve path"))
		err = GKV_E_NOTFOUND;
	else if (klass == GIT_ERROR_INDEXER || klass == GIT_ERROR_ZLIB ||
	    (contains(msg, "pack") && !contains(msg, "early eof") &&
	    !contains(msg, "unexpected eof") && klass != GIT_ERROR_NET &&
	    klass != GIT_ERROR_OS && klass != GIT_ERROR_HTTP))
		err = GKV_E_CORRUPT;
	else if (code == GIT_EUSER)
		err = GKV_E_USER;
	else
		err = GKV_E_NETWORK; /* connection refused, broken off, a server failure */
	/* a message that quotes the password (a URL libgit2 repeats) loses it */
	if (op->opts && op->opts->password && *op->opts->password &&
	    strstr(msg, op->opts->password))
		msg = "(the message held the password and is withheld)";
	return gkv__error(err, "%s %s: %s", what, op->url_shown, msg);
}
