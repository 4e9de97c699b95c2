/*
 * stats.c -- what a store holds: objects counted and sized by type from
 * their headers (gkv_repo_stats_read), refs and branches, and the
 * backend's own figures (gkv_repo_backend_stats).
 */
#include "maint.h"
#include "repo.h"

typedef struct {
	gkv_backend *b;
	gkv_repo_stats *out;
} count_state;

/* foreach calls back with no lock of the backend held (the seam's
 * built-in backends collect the ids first), so a read here is safe. */
static int count_object(const gkv_oid *id, void *payload)
{
	count_state *s = payload;
	gkv_backend *b = s->b;
	uint64_t size;
	gkv_otype t;
	void *data;
	size_t len;
	int rc;

	if (b->read_header) {
		rc = b->read_header(&size, &t, b, id);
	} else if ((rc = b->read(&data, &len, &t, b, id)) == 0) {
		gkv_backend_data_free(data);
		size = len;
	}
	if (rc == GKV_E_NOTFOUND) { /* removed since it was listed */
		gkv_error_clear();
		return 0;
	}
	if (rc < 0)
		return rc;
	if (t < GKV_OBJ_COMMIT || t > GKV_OBJ_TAG)
		return gkv__error(GKV_E_CORRUPT, "object %s has no valid type (%d)", gkv__hex(id),
		    (int)t);
	s->out->count[t]++;
	s->out->bytes[t] += size;
	return 0;
}

static int count_ref(const char *name, const gkv_oid *target, void *payload)
{
	gkv_repo_stats *out = payload;

	(void)target;
	out->refs++;
	if (!strncmp(name, "refs/heads/", 11))
		out->branches++;
	return 0;
}

int gkv_repo_stats_read(gkv_repo_stats *out, gkv_repo *repo)
{
	count_state s;
	int rc;

	if (!out || !repo)
		return gkv__error(GKV_E_INVALID, "gkv_repo_stats_read: NULL argument");
	memset(out, 0, sizeof(*out));
	s.b = repo->backend;
	s.out = out;
	if ((rc = s.b->foreach(s.b, NULL, 0, count_object, &s)) < 0 ||
	    (rc = s.b->ref_list(s.b, "", count_ref, out)) < 0) {
		memset(out, 0, sizeof(*out));
		return rc;
	}
	return 0;
}

int gkv_repo_backend_stats(gkv_repo *repo, gkv_stat_cb cb, void *payload)
{
	gkv_backend *b;

	if (!repo || !cb)
		return gkv__error(GKV_E_INVALID, "gkv_repo_backend_stats: NULL argument");
	b = repo->backend;
	if (!b->stats)
		return 0;
	return b->stats(b, cb, payload);
}
