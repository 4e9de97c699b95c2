/*
 * known_hosts.h -- is this the key OpenSSH's known_hosts says the host
 * has? How a fetch or push over ssh checks the server it reached.
 */
#ifndef GKV_SYNC_KNOWN_HOSTS_H
#define GKV_SYNC_KNOWN_HOSTS_H

#include <stddef.h>

enum {
	GKV_KNOWN_HOST_OK = 0,      /* a line names the host with this key */
	GKV_KNOWN_HOST_UNKNOWN = 1, /* no line names the host (or no file) */
	GKV_KNOWN_HOST_CHANGED = 2, /* lines name the host, none with this key */
	GKV_KNOWN_HOST_REVOKED = 3  /* an @revoked line names this key */
};

/* Look host (on port; 0 or 22: the plain name, else "[host]:port") and
 * its key blob (as the server sent it, as known_hosts holds it in base64)
 * up in file: one of the values above, or GKV_E_NOMEM. An unreadable
 * file has no lines. */
int gkv__known_hosts_check(const char *file, const char *host, int port,
    const unsigned char *key, size_t keylen);

#endif
