/*
 * sha1.h -- plain SHA-1 (FIPS 180-4), for the hashes that need no
 * collision detection: re-hashing an object read back to check it, a
 * pack's trailing checksum, the HMAC of hashed known_hosts names. With
 * the CPU's SHA instructions where there are some (SHA-NI on x86-64),
 * else portable C; both give the same digest. Objects written are named
 * by gkv_hash, which detects collisions (store/oid.c). Internal.
 */
#ifndef GKV_SHA1_H
#define GKV_SHA1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GKV__SHA1_SIZE 20

typedef struct {
	uint32_t h[5];
	uint64_t total;		/* bytes hashed */
	unsigned char buf[64];	/* a block not yet full */
	size_t n;		/* bytes in buf */
} gkv__sha1_ctx;

void gkv__sha1_init(gkv__sha1_ctx *c);
void gkv__sha1_update(gkv__sha1_ctx *c, const void *data, size_t len);
void gkv__sha1_final(unsigned char out[GKV__SHA1_SIZE], gkv__sha1_ctx *c);

/* The digest of len bytes at data. */
void gkv__sha1(unsigned char out[GKV__SHA1_SIZE], const void *data, size_t len);

/* HMAC-SHA1 (RFC 2104) of msg under key. */
void gkv__hmac_sha1(unsigned char out[GKV__SHA1_SIZE], const void *key, size_t klen,
		    const void *msg, size_t mlen);

/* For tests: hash with the portable code even where the CPU has SHA
 * instructions (true), or with whatever the CPU offers (false). */
void gkv__sha1_portable(bool on);

#endif
