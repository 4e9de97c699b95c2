/*
 * stage.c -- a large batch's records, kept in a file until the commit.
 *
 * A batch past SPILL_BYTES of records (lmdb.c) moves them here and keeps
 * only their ids, sizes and offsets: its memory stays bounded however
 * large it grows (a clone), and nothing of it is in the store before
 * batch_commit, which then stores the records in key order (lmdb.c). The
 * file is in the environment's own directory, on the disk the store will
 * take the space from anyway, never in /tmp (often memory). It has no
 * name: O_TMPFILE where the file system offers it, else a name unlinked
 * as soon as it is made. Writes go through a buffer of STAGE_BUF bytes;
 * reads are pread()s, which map nothing into the process.
 */
#define _GNU_SOURCE /* O_TMPFILE, mkostemp */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../backend_util.h"
#include "stage.h"

#define STAGE_BUF ((size_t)1 << 20)

static int io_error(const gkv__lmdb_stage *s, const char *what, int err)
{
	if (err == ENOSPC || err == EDQUOT || err == EFBIG)
		return gkv_error_set(GKV_E_FULL, "lmdb '%s': cannot %s a batch's staging file: "
				     "disk full (%s)", s->dir, what, strerror(err));
	return gkv_error_set(GKV_E_IO, "lmdb '%s': cannot %s a batch's staging file: %s", s->dir,
			     what, strerror(err));
}

int gkv__lmdb_stage_open(gkv__lmdb_stage *s, const char *dir)
{
	s->dir = dir;
	s->size = 0;
	s->buflen = 0;
	/* a failed open may be tried again: the buffer is made once */
	if (!s->buf && !(s->buf = malloc(STAGE_BUF)))
		return gkv__oom();
	s->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (s->fd < 0) {
		size_t n = strlen(dir) + sizeof("/batch-stage-XXXXXX");
		char *name = malloc(n);
		int err;

		if (!name)
			return gkv__oom();
		snprintf(name, n, "%s/batch-stage-XXXXXX", dir);
		s->fd = mkostemp(name, O_CLOEXEC);
		err = errno;
		if (s->fd >= 0)
			unlink(name);
		free(name);
		if (s->fd < 0)
			return io_error(s, "make", err);
	}
	return 0;
}

int gkv__lmdb_stage_flush(gkv__lmdb_stage *s)
{
	size_t done = 0;

	while (done < s->buflen) {
		ssize_t w = write(s->fd, s->buf + done, s->buflen - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return io_error(s, "write", w < 0 ? errno : ENOSPC);
		done += (size_t)w;
	}
	s->buflen = 0;
	return 0;
}

int gkv__lmdb_stage_put(gkv__lmdb_stage *s, uint64_t *off, const void *data, size_t len)
{
	const unsigned char *p = data;
	int rc;

	*off = s->size;
	s->size += len;
	while (len) {
		size_t n = STAGE_BUF - s->buflen < len ? STAGE_BUF - s->buflen : len;

		memcpy(s->buf + s->buflen, p, n);
		s->buflen += n;
		p += n;
		len -= n;
		if (s->buflen == STAGE_BUF && (rc = gkv__lmdb_stage_flush(s)) < 0)
			return rc;
	}
	return 0;
}

int gkv__lmdb_stage_read(gkv__lmdb_stage *s, void *out, size_t len, uint64_t off)
{
	unsigned char *p = out;

	while (len) {
		ssize_t r = pread(s->fd, p, len, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return io_error(s, "read", errno);
		if (r == 0)
			return gkv_error_set(GKV_E_CORRUPT,
					     "lmdb '%s': a batch's staging file is shorter than "
					     "what was written to it", s->dir);
		p += r;
		off += (uint64_t)r;
		len -= (size_t)r;
	}
	return 0;
}

void gkv__lmdb_stage_close(gkv__lmdb_stage *s)
{
	if (s->fd >= 0)
		close(s->fd);
	free(s->buf);
	s->fd = -1;
	s->buf = NULL;
	s->buflen = 0;
	s->size = 0;
}
