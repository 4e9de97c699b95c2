/*
 * odb.c -- objects as the core sees them: reads through the backend with
 * type checks, telling a backend that has the read_typed hook which type
 * is expected, so that it looks there first.
 */
#include "repo.h"

int gkv__odb_read(void **data, size_t *len, gkv_otype *type, gkv_repo *repo, const gkv_oid *id)
{
	int rc = repo->backend->read(data, len, type, repo->backend, id);

	if (rc == GKV_E_NOTFOUND)
		return gkv__error(GKV_E_NOTFOUND, "object %s not found", gkv__hex(id));
	return rc;
}

/* Through the backend's read_typed hook if it has one: the type expected
 * tells it where to look first (lmdb keeps commits apart). */
static int read_hinted(void **data, size_t *len, gkv_otype *type, gkv_repo *repo,
    const gkv_oid *id, gkv_otype want)
{
	gkv_backend *b = repo->backend;
	int rc;

	if (!b->read_typed)
		return gkv__odb_read(data, len, type, repo, id);
	rc = b->read_typed(data, len, type, b, id, want);
	if (rc == GKV_E_NOTFOUND)
		return gkv__error(GKV_E_NOTFOUND, "object %s not found", gkv__hex(id));
	return rc;
}

int gkv__odb_read_typed(void **data, size_t *len, gkv_repo *repo, const gkv_oid *id,
    gkv_otype want)
{
	gkv_otype t;
	int rc;

	if ((rc = read_hinted(data, len, &t, repo, id, want)) < 0)
		return rc;
	if (t != want) {
		gkv_backend_data_free(*data);
		*data = NULL;
		/*
		 * A blob is read only because a tree entry of the store names
		 * it (no API reads a blob by a caller's id), so another type is
		 * damage in that tree. A tree or commit may be asked for by a
		 * caller's id (gkv_tree_lookup, gkv_commit_lookup): the wrong
		 * type is then the caller's mistake.
		 */
		return gkv__error(want == GKV_OBJ_BLOB ? GKV_E_CORRUPT : GKV_E_INVALID,
		    "object %s is a %s, not a %s", gkv__hex(id), gkv__otype_name(t), gkv__otype_name(want));
	}
	return 0;
}

/* A blob's type check, for the paths that learn the type without data. */
static int blob_type(const gkv_oid *id, gkv_otype t)
{
	if (t == GKV_OBJ_BLOB)
		return 0;
	return gkv__error(GKV_E_CORRUPT, "object %s is a %s, not a blob", gkv__hex(id), gkv__otype_name(t));
}

int gkv__odb_blob_size(uint64_t *size, gkv_repo *repo, const gkv_oid *id)
{
	gkv_backend *b = repo->backend;
	gkv_otype t;
	void *data;
	size_t len;
	int rc;

	if (b->read_header) {
		rc = b->read_header(size, &t, b, id);
		if (rc == GKV_E_NOTFOUND)
			return gkv__error(GKV_E_NOTFOUND, "object %s not found", gkv__hex(id));
		return rc < 0 ? rc : blob_type(id, t);
	}
	if ((rc = gkv__odb_read_typed(&data, &len, repo, id, GKV_OBJ_BLOB)) < 0)
		return rc;
	gkv_backend_data_free(data);
	*size = len;
	return 0;
}

/* The pieces a caller's read_cb gets, at most this many bytes each. */
#define PIECE ((size_t)64 << 10)

typedef struct {
	const gkv_oid *id;
	gkv_read_cb cb;
	void *payload;
	int stopped; /* the caller's callback returned this (non-zero) */
	uint64_t size, got;
} stream_state;

int gkv__odb_pieces(const void *data, size_t len, gkv_read_cb cb, void *payload)
{
	const unsigned char *p = data;
	int rc;

	do {
		size_t n = len < PIECE ? len : PIECE;

		if ((rc = cb(p, n, payload)) != 0)
			return rc;
		p += n;
		len -= n;
	} while (len > 0);
	return 0;
}

static int give(stream_state *s, const unsigned char *p, size_t len)
{
	int rc = gkv__odb_pieces(p, len, s->cb, s->payload);

	if (rc != 0)
		return s->stopped = rc;
	s->got += len;
	return 0;
}

static int stream_piece(gkv_otype type, uint64_t size, const void *data, size_t len, void *payload)
{
	stream_state *s = payload;
	int rc;

	if (s->got == 0 && (rc = blob_type(s->id, type)) < 0)
		return rc;
	s->size = size;
	if (len > size - s->got)
		return gkv__error(GKV_E_CORRUPT, "object %s is longer than its recorded %llu bytes",
		    gkv__hex(s->id), (unsigned long long)size);
	if (len == 0 && size != 0)
		return 0; /* only an empty value is a call with nothing */
	return give(s, data, len);
}

int gkv__odb_blob_stream(gkv_repo *repo, const gkv_oid *id, gkv_read_cb cb, void *payload)
{
	gkv_backend *b = repo->backend;
	stream_state s = {id, cb, payload, 0, 0, 0};
	void *data;
	size_t len;
	int rc;

	if (!b->read_stream) {
		if ((rc = gkv__odb_read_typed(&data, &len, repo, id, GKV_OBJ_BLOB)) < 0)
			return rc;
		rc = give(&s, data, len);
		gkv_backend_data_free(data);
		return rc;
	}
	rc = b->read_stream(b, id, stream_piece, &s);
	if (s.stopped)
		return s.stopped;
	if (rc == GKV_E_NOTFOUND)
		return gkv__error(GKV_E_NOTFOUND, "object %s not found", gkv__hex(id));
	if (rc == 0 && s.got != s.size)
		return gkv__error(GKV_E_CORRUPT, "object %s ends after %llu of its %llu bytes",
		    gkv__hex(id), (unsigned long long)s.got, (unsigned long long)s.size);
	return rc;
}
