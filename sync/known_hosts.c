/*
 * known_hosts.c -- an ssh server's host key against OpenSSH's known_hosts
 * files (known_hosts.h).
 *
 * A line is "[marker] patterns keytype base64-key [comment]". patterns
 * is a comma-separated list of host names, "[host]:port" for a port other
 * than 22, wildcards (* and ?, nothing else: the brackets of "[host]"
 * are plain characters), negations (!pattern), or one hashed name
 * "|1|base64(salt)|base64(HMAC-SHA1(salt, name))". The key is the blob
 * the server sends, which libgit2 hands over whole (GIT_CERT_SSH_RAW).
 * "@revoked" lines name keys never to accept; "@cert-authority" lines
 * (host certificates) are not supported and are skipped.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "known_hosts.h"
#include "sha1.h"
#include "util.h"

static int b64_digit(char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	return ch == '+' ? 62 : ch == '/' ? 63 : -1;
}

/* Decode base64 text of length n (padded, RFC 4648) into out (room for
 * n * 3 / 4 bytes): the decoded length, or -1. */
static int b64(unsigned char *out, const char *text, size_t n)
{
	size_t pad = 0, len = 0;

	if (n == 0 || n % 4 != 0 || n > 65536)
		return -1;
	pad += text[n - 1] == '=';
	pad += text[n - 2] == '=';
	for (size_t i = 0; i < n; i += 4) {
		uint32_t v = 0;

		for (size_t j = 0; j < 4; j++) {
			int d = b64_digit(text[i + j]);

			/* '=' only as the last one or two characters */
			if (d < 0 && !(text[i + j] == '=' && i + j >= n - pad))
				return -1;
			v = v << 6 | (uint32_t)(d < 0 ? 0 : d);
		}
		out[len++] = (unsigned char)(v >> 16);
		out[len++] = (unsigned char)(v >> 8);
		out[len++] = (unsigned char)v;
	}
	return (int)(len - pad);
}

/* "|1|salt|hash": does it hash name? */
static int hashed_match(const char *pat, size_t n, const char *name)
{
	char buf[256];
	const char *salt, *bar;
	unsigned char s[64], h[64], mac[GKV__SHA1_SIZE];
	int slen, hlen;

	if (n >= sizeof(buf) || n < 4 || memcmp(pat, "|1|", 3) != 0)
		return 0;
	memcpy(buf, pat, n);
	buf[n] = '\0';
	salt = buf + 3;
	if (!(bar = strchr(salt, '|')))
		return 0;
	if ((slen = b64(s, salt, (size_t)(bar - salt))) != 20 ||
	    (hlen = b64(h, bar + 1, strlen(bar + 1))) != 20)
		return 0;
	gkv__hmac_sha1(mac, s, (size_t)slen, name, strlen(name));
	return memcmp(mac, h, 20) == 0;
}

/* OpenSSH's wildcards: * any run, ? any one character, case ignored. */
static int wild_match(const char *pat, const char *s)
{
	for (; *pat; pat++, s++) {
		if (*pat == '*') {
			for (const char *t = s;; t++) {
				if (wild_match(pat + 1, t))
					return 1;
				if (!*t)
					return 0;
			}
		}
		if (!*s || (*pat != '?' && tolower((unsigned char)*pat) != tolower((unsigned char)*s)))
			return 0;
	}
	return *s == '\0';
}

/* Does the pattern list match name? A negated match wins over any other. */
static int host_match(const char *list, size_t n, const char *name)
{
	int hit = 0;
	size_t i = 0;

	while (i < n) {
		size_t j = i, len;
		char pat[256];
		int neg;

		while (j < n && list[j] != ',')
			j++;
		len = j - i;
		neg = len && list[i] == '!';
		if (neg) {
			i++;
			len--;
		}
		if (len && len < sizeof(pat)) {
			int m;

			memcpy(pat, list + i, len);
			pat[len] = '\0';
			if (pat[0] == '|')
				m = hashed_match(pat, len, name);
			else
				m = wild_match(pat, name);
			if (m && neg)
				return 0;
			hit |= m;
		}
		i = j + 1;
	}
	return hit;
}

/* The next whitespace-separated field of *p (which moves past it). */
static const char *field(const char **p, size_t *len)
{
	const char *s = *p, *start;

	while (*s == ' ' || *s == '\t')
		s++;
	start = s;
	while (*s && *s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
		s++;
	*len = (size_t)(s - start);
	*p = s;
	return *len ? start : NULL;
}

int gkv__known_hosts_check(const char *file, const char *host, int port,
    const unsigned char *key, size_t keylen)
{
	char name[300], line[16384];
	unsigned char *blob;
	int seen = 0, matched = 0, revoked_hit = 0;
	FILE *f;

	if (port && port != 22)
		snprintf(name, sizeof(name), "[%s]:%d", host, port);
	else
		snprintf(name, sizeof(name), "%s", host);
	if (!(f = fopen(file, "r")))
		return GKV_KNOWN_HOST_UNKNOWN;
	if (!(blob = malloc(sizeof(line)))) {
		fclose(f);
		return gkv__oom();
	}
	while (fgets(line, sizeof(line), f)) {
		const char *p = line, *pats, *type, *text;
		size_t plen, tlen, xlen;
		int revoked = 0, len;

		if (!(pats = field(&p, &plen)) || pats[0] == '#')
			continue;
		if (pats[0] == '@') {
			if (plen == 8 && !memcmp(pats, "@revoked", 8))
				revoked = 1;
			else
				continue; /* @cert-authority and the like */
			if (!(pats = field(&p, &plen)))
				continue;
		}
		if (!(type = field(&p, &tlen)) || !(text = field(&p, &xlen)))
			continue;
		if (!host_match(pats, plen, name))
			continue;
		if ((len = b64(blob, text, xlen)) < 0)
			continue;
		if ((size_t)len == keylen && memcmp(blob, key, keylen) == 0) {
			if (revoked)
				revoked_hit = 1;
			else
				matched = 1;
		} else if (!revoked) {
			seen = 1;
		}
	}
	free(blob);
	fclose(f);
	if (revoked_hit)
		return GKV_KNOWN_HOST_REVOKED;
	if (matched)
		return GKV_KNOWN_HOST_OK;
	return seen ? GKV_KNOWN_HOST_CHANGED : GKV_KNOWN_HOST_UNKNOWN;
}
