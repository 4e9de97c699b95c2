/*
 * stage.h -- where a large batch's records wait for its commit: a file of
 * their own in the environment's directory, unlinked from the start, so
 * that nothing of the batch is in the store before it commits and a
 * process that dies leaves no file behind. Internal to backends/lmdb.
 */
#ifndef GKV_LMDB_STAGE_H
#define GKV_LMDB_STAGE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
	int fd;		    /* -1: not opened yet */
	const char *dir;    /* for messages: the environment's path */
	uint64_t size;	    /* bytes appended, buffered ones included */
	unsigned char *buf; /* appends not yet written */
	size_t buflen;
} gkv__lmdb_stage;

#define GKV__LMDB_STAGE_INIT {-1, NULL, 0, NULL, 0}

/* Make the file in dir (the environment's directory). GKV_E_IO, GKV_E_NOMEM;
 * after a failure s may be opened again, or closed. */
int gkv__lmdb_stage_open(gkv__lmdb_stage *s, const char *dir);
/* Append len bytes; *off says where they are. GKV_E_FULL, GKV_E_IO. */
int gkv__lmdb_stage_put(gkv__lmdb_stage *s, uint64_t *off, const void *data, size_t len);
/* Write out what is buffered, before reading. */
int gkv__lmdb_stage_flush(gkv__lmdb_stage *s);
/* Read len bytes at off into out (after a flush). GKV_E_IO, GKV_E_CORRUPT (short). */
int gkv__lmdb_stage_read(gkv__lmdb_stage *s, void *out, size_t len, uint64_t off);
/* Close and forget the file (its space goes back to the file system). */
void gkv__lmdb_stage_close(gkv__lmdb_stage *s);

#endif
