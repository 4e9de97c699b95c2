/*
 * oidmap.c -- a set of object ids with a byte each (maint.h): what fsck
 * and gc keep of every stored object (its type, whether it was reached)
 * in 21 bytes per object, looked up in place.
 */
#include "maint.h"

#define MIN_SLOTS 1024

void gkv__oidmap_init(gkv__oidmap *m)
{
	memset(m, 0, sizeof(*m));
}

void gkv__oidmap_free(gkv__oidmap *m)
{
	free(m->ids);
	free(m->val);
	memset(m, 0, sizeof(*m));
}

static size_t home(const gkv__oidmap *m, const gkv_oid *id)
{
	uint64_t h;

	memcpy(&h, id->id, sizeof(h));
	return (size_t)h & (m->nslots - 1);
}

static size_t slot(const gkv__oidmap *m, const gkv_oid *id)
{
	size_t i = home(m, id), mask = m->nslots - 1;

	while (m->val[i] && memcmp(m->ids[i].id, id->id, GKV_OID_RAWSZ) != 0)
		i = (i + 1) & mask;
	return i;
}

uint8_t *gkv__oidmap_at(gkv__oidmap *m, const gkv_oid *id)
{
	size_t i;

	if (!m->count)
		return NULL;
	i = slot(m, id);
	return m->val[i] ? &m->val[i] : NULL;
}

uint8_t gkv__oidmap_get(const gkv__oidmap *m, const gkv_oid *id)
{
	return m->count ? m->val[slot(m, id)] : 0;
}

static int grow(gkv__oidmap *m)
{
	gkv__oidmap n;
	size_t want = m->nslots ? m->nslots * 2 : MIN_SLOTS;

	if (want > SIZE_MAX / sizeof(gkv_oid))
		return gkv__oom();
	n.nslots = want;
	n.count = m->count;
	n.ids = malloc(want * sizeof(*n.ids));
	n.val = calloc(want, 1);
	if (!n.ids || !n.val) {
		free(n.ids);
		free(n.val);
		return gkv__oom();
	}
	for (size_t i = 0; i < m->nslots; i++) {
		size_t j;

		if (!m->val[i])
			continue;
		j = slot(&n, &m->ids[i]);
		n.ids[j] = m->ids[i];
		n.val[j] = m->val[i];
	}
	free(m->ids);
	free(m->val);
	*m = n;
	return 0;
}

int gkv__oidmap_put(gkv__oidmap *m, const gkv_oid *id, uint8_t val)
{
	size_t i;
	int rc;

	if ((m->count + 1) * 2 > m->nslots && (rc = grow(m)) < 0)
		return rc;
	i = slot(m, id);
	if (!m->val[i]) {
		m->ids[i] = *id;
		m->count++;
	}
	m->val[i] = val;
	return 0;
}

typedef struct {
	gkv__oidmap *m;
} load_state;

static int add_id(const gkv_oid *id, void *payload)
{
	load_state *s = payload;

	/* the type comes after: foreach may hold the backend's lock */
	return gkv__oidmap_put(s->m, id, 0xff);
}

/* The type of object id through read_header, or by reading it. */
static int type_of(gkv_otype *type, gkv_backend *b, const gkv_oid *id)
{
	uint64_t size;
	void *data;
	size_t len;
	int rc;

	if (b->read_header)
		return b->read_header(&size, type, b, id);
	if ((rc = b->read(&data, &len, type, b, id)) < 0)
		return rc;
	gkv_backend_data_free(data);
	return 0;
}

int gkv__oidmap_load_all(gkv__oidmap *m, gkv_backend *b, int with_types)
{
	load_state s = {m};
	int rc;

	if ((rc = b->foreach(b, NULL, 0, add_id, &s)) < 0)
		return rc;
	if (!with_types)
		return 0;
	for (size_t i = 0; i < m->nslots; i++) {
		gkv_otype t;

		if (!m->val[i])
			continue;
		rc = type_of(&t, b, &m->ids[i]);
		if (rc == GKV_E_NOTFOUND) {
			m->val[i] = 0xfe; /* gone since foreach: a concurrent gc */
			continue;
		}
		if (rc < 0)
			return rc;
		m->val[i] = t >= GKV_OBJ_COMMIT && t <= GKV_OBJ_TAG ? (uint8_t)t : 0xfd;
	}
	return 0;
}

int gkv__oidstack_push(gkv__oidstack *st, const gkv_oid *id)
{
	if (st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 256;
		gkv_oid *p = realloc(st->ids, cap * sizeof(*p));

		if (!p)
			return gkv__oom();
		st->ids = p;
		st->cap = cap;
	}
	st->ids[st->n++] = *id;
	return 0;
}
