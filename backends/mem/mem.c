/*
 * mem.c -- the in-memory backend: the reference implementation of
 * gitkv/sys/backend.h and the fastest one, gone when the repo closes.
 *
 * Objects live in an open-addressing hash table keyed by id (linear
 * probing, at most half full, never shrinks; a deleted object's slot is
 * refilled by shifting back the entries of its probe run, so no
 * tombstones).
 * Beside each slot the table keeps the low 32 bits of the id's hash (0:
 * empty), in an array of its own: a probe reads the dense tags and follows
 * a slot to its object only when the tag matches, so that looking for an
 * absent id (every object a batch writes) touches no object at all, and
 * growing the table places every slot by its tag, without reading the
 * objects (a miss each, in the order of the old table). A large table is
 * huge-page memory (gkv__huge_calloc): 2,000 one-value commits took 159
 * faults of 4 KiB, 2-3 ms on a VM, when the table grew to 65,536 slots.
 * Each object is one block of the backend's arena (arena.h), header and
 * bytes: objects are kept until the backend is freed, and a growing store
 * then touches fresh memory in huge pages rather than one 4 KiB page at a
 * time. A batch writes only the objects the table lacks, so that writing
 * the same content again costs no memory. Refs live in an array kept
 * sorted by name, so that ref_list is a binary search and a walk.
 *
 * One rwlock guards both: readers share it, so reads run in parallel; a
 * write (a ref CAS, a batch commit) holds it exclusively. A batch builds
 * its objects outside the lock (allocating and copying is the slow part)
 * and takes the lock once, at commit, to check every CAS and then apply
 * everything; all allocation that can fail happens before the first
 * change, so a batch lands whole or not at all.
 *
 * Callbacks (foreach, ref_list, reflog_read, config_list, reflog_list)
 * run with the lock released, on a copy of what matched, so that they
 * may call back into the backend, even to write.
 *
 * Deleting objects (batch_delete, for gc): the one reader that keeps an
 * object's memory past the lock is read_stream, whose callback runs on
 * the stored bytes unlocked. So a deleted object leaves the table at
 * once but its block goes to a graveyard, given back to the arena by
 * the first batch commit that finds no stream in flight (streams are
 * counted under the read lock, so none starts while a commit holds the
 * write lock) and at close. A batch that skipped an object it found
 * stored records the id; if a delete took it out meanwhile, the commit
 * fails (GKV_E_CONFLICT) rather than land a commit naming a missing
 * object.
 *
 * Settings (config_*) are an array of "key\0value" blocks sorted by key,
 * under the same lock.
 *
 * The log of ref moves is one array of records in the order they landed,
 * appended under the same exclusive lock as the moves they record; a
 * record is made (allocated, strings copied) before the lock is taken,
 * so that logging cannot fail half-way through a batch. A ref's log is
 * read by walking the array backwards, picking its records (copied under
 * the lock: batch_reflog_delete frees records): a mem store lives as
 * long as a process, and its logs are read rarely.
 */
#include <pthread.h>
#include <time.h>

#include "arena.h"
#include "../backend_util.h"

typedef struct {
	gkv_oid id;
	gkv_otype type;
	size_t len;
	unsigned char data[];
} mem_obj;

typedef struct {
	char *name;
	gkv_oid target;
} mem_ref;

/* One record of the log; the strings live in the same block, after it. */
typedef struct {
	const char *ref;
	gkv_oid old_id, new_id;
	const char *name, *email, *message;
	int64_t time;
	int offset;
} mem_logent;

typedef struct {
	gkv_backend parent;
	pthread_rwlock_t lock;
	gkv__arena arena; /* every object's block; its own lock */
	mem_obj **slots;  /* nslots entries, a power of two; one block with tags */
	uint32_t *tags;	  /* nslots entries after the slots; 0 where the slot is empty */
	size_t nslots;
	size_t nobjs;
	mem_ref *refs; /* sorted by name (bytes) */
	size_t nrefs;
	size_t caprefs;
	atomic_uint_fast64_t refs_version; /* bumped on every ref change */
	mem_logent **log; /* every ref move, oldest first */
	size_t nlog, caplog;
	uint64_t nbytes; /* the objects' sizes, added up */
	uint64_t deletions; /* objects deleted so far */
	mem_obj **grave; /* deleted objects whose blocks a stream may still read */
	size_t ngrave, capgrave;
	atomic_size_t streaming; /* read_stream callbacks running */
	char **config; /* "key\0value\0" blocks, sorted by key */
	size_t nconfig, capconfig;
} mem_backend;

/* One ref CAS of a batch; the name is owned until it moves into the table. */
typedef gkv__backend_cas mem_cas;

typedef struct {
	gkv_batch parent;
	mem_obj **objs;
	size_t nobjs, capobjs;
	mem_cas *cas;
	size_t ncas, capcas;
	/* who and why, per ref name (the last given wins): records whose
	 * ref is the name and whose ids are filled in at commit */
	mem_logent **who;
	size_t nwho, capwho;
	gkv_oid *skipped; /* ids batch_write found stored and did not copy */
	size_t nskipped, capskipped;
	gkv_oid *dels; /* objects to delete */
	size_t ndels, capdels;
	char **logdels; /* refs whose logs to delete */
	size_t nlogdels, caplogdels;
} mem_batch;

/* ---- the object table ---- */

static uint64_t mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/* Real ids are uniform, but callers (tests, custom stores) may use ids
 * that differ only in a few bytes: mix all twenty. */
static size_t oid_hash(const gkv_oid *id)
{
	uint64_t a, b;
	uint32_t c;

	memcpy(&a, id->id, 8);
	memcpy(&b, id->id + 8, 8);
	memcpy(&c, id->id + 16, 4);
	return (size_t)mix64(a ^ mix64(b ^ mix64(c)));
}

/*
 * The tag kept beside a slot: the hash's low 32 bits, which hold the
 * index of any table up to 2^32 slots. The one hash whose low bits are all
 * 0 gets TAG_ZERO; its index is then recomputed from the id.
 */
#define TAG_ZERO 0x80000000u

static uint32_t tag_of(size_t h)
{
	return (uint32_t)h ? (uint32_t)h : TAG_ZERO;
}

/* The hash an occupied slot's tag stands for, as far as the index in a
 * table of nslots goes. */
static size_t hash_of_slot(mem_obj *const *slots, const uint32_t *tags, size_t i, size_t nslots)
{
	/* past 2^32 slots (or where size_t is 32 bits: * 2 wraps to 0) the
	 * tag lacks index bits */
	if (tags[i] == TAG_ZERO || nslots > ((size_t)1 << 31) * 2)
		return oid_hash(&slots[i]->id);
	return tags[i];
}

/* One block for n slots and their tags, zeroed (all empty). */
static int table_alloc(mem_backend *m, size_t n)
{
	mem_obj **slots = gkv__huge_calloc(n, sizeof(*slots) + sizeof(*m->tags));

	if (!slots)
		return GKV_E_NOMEM;
	m->slots = slots;
	m->tags = (uint32_t *)(slots + n);
	m->nslots = n;
	return 0;
}

/* The slot holding id (whose oid_hash is h), or the empty slot where it
 * would go. */
static size_t table_find_hashed(const mem_backend *m, const gkv_oid *id, size_t h)
{
	size_t mask = m->nslots - 1, i = h & mask;
	uint32_t tag = tag_of(h);

	for (; m->tags[i]; i = (i + 1) & mask)
		if (m->tags[i] == tag && memcmp(m->slots[i]->id.id, id->id, GKV_OID_RAWSZ) == 0)
			break;
	return i;
}

static size_t table_find(const mem_backend *m, const gkv_oid *id)
{
	return table_find_hashed(m, id, oid_hash(id));
}

static mem_obj *table_get(const mem_backend *m, const gkv_oid *id)
{
	return m->slots[table_find(m, id)];
}

/* Store o with hash h at its first empty slot: only for an id the table
 * lacks. */
static void table_place(mem_backend *m, mem_obj *o, size_t h)
{
	size_t mask = m->nslots - 1, i = h & mask;

	while (m->tags[i])
		i = (i + 1) & mask;
	m->slots[i] = o;
	m->tags[i] = tag_of(h);
}

/* Make room for `extra` more objects with the table at most half full. */
static int table_reserve(mem_backend *m, size_t extra)
{
	mem_obj **old = m->slots;
	uint32_t *old_tags = m->tags;
	size_t old_n = m->nslots, want = m->nslots;

	if (extra > SIZE_MAX / 4 - m->nobjs)
		return gkv__oom();
	while ((m->nobjs + extra) * 2 > want)
		want *= 2;
	if (want == m->nslots)
		return 0;
	if (table_alloc(m, want) < 0)
		return GKV_E_NOMEM; /* the old table is still in place */
	for (size_t i = 0; i < old_n; i++)
		if (old_tags[i])
			table_place(m, old[i], hash_of_slot(old, old_tags, i, want));
	free(old);
	return 0;
}

static void obj_unalloc(mem_backend *m, mem_obj *o)
{
	gkv__arena_unalloc(&m->arena, o, sizeof(*o) + o->len);
}

/* Insert o (room reserved); an object already there wins and o goes back
 * to the arena (another batch wrote the same object meanwhile). */
static void table_put(mem_backend *m, mem_obj *o)
{
	size_t h = oid_hash(&o->id), i = table_find_hashed(m, &o->id, h);

	if (m->tags[i]) {
		obj_unalloc(m, o);
		return;
	}
	m->slots[i] = o; /* the empty slot the probe ended on */
	m->tags[i] = tag_of(h);
	m->nobjs++;
	m->nbytes += o->len;
}

/*
 * Take the object at slot i out of the table (it goes to the graveyard,
 * room reserved), then close the gap as linear probing needs: each entry
 * of the run after it whose home slot is not between the gap and itself
 * moves back into the gap. Cannot fail.
 */
static void table_remove_at(mem_backend *m, size_t i)
{
	size_t mask = m->nslots - 1, j = i;

	m->nbytes -= m->slots[i]->len;
	m->grave[m->ngrave++] = m->slots[i];
	m->slots[i] = NULL;
	m->tags[i] = 0;
	m->nobjs--;
	m->deletions++;
	for (;;) {
		size_t home;

		j = (j + 1) & mask;
		if (!m->tags[j])
			break;
		home = hash_of_slot(m->slots, m->tags, j, m->nslots) & mask;
		/* stays if its home is cyclically in (i, j] */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		m->slots[i] = m->slots[j];
		m->tags[i] = m->tags[j];
		m->slots[j] = NULL;
		m->tags[j] = 0;
		i = j;
	}
}

/* Give the graveyard's blocks back, if no stream may be reading one:
 * under the write lock, where no stream can start. */
static void grave_sweep(mem_backend *m)
{
	if (atomic_load(&m->streaming) != 0)
		return;
	for (size_t i = m->ngrave; i-- > 0;)
		obj_unalloc(m, m->grave[i]);
	m->ngrave = 0;
}

/* ---- the ref table ---- */

/* Index of name, or where it would be inserted; *found says which. */
static size_t refs_search(const mem_backend *m, const char *name, bool *found)
{
	size_t lo = 0, hi = m->nrefs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(m->refs[mid].name, name);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static const gkv_oid *refs_get(const mem_backend *m, const char *name)
{
	bool found;
	size_t i = refs_search(m, name, &found);

	return found ? &m->refs[i].target : NULL;
}

static int refs_reserve(mem_backend *m, size_t extra)
{
	size_t cap = m->caprefs ? m->caprefs : 16;
	mem_ref *p;

	if (extra > SIZE_MAX / sizeof(mem_ref) / 2 - m->nrefs)
		return gkv__oom();
	while (cap < m->nrefs + extra)
		cap *= 2;
	if (cap == m->caprefs)
		return 0;
	p = realloc(m->refs, cap * sizeof(*p));
	if (!p)
		return gkv__oom();
	m->refs = p;
	m->caprefs = cap;
	return 0;
}

/*
 * Apply a CAS already checked, with room reserved: cannot fail. *name is
 * taken into the table (and set to NULL) when the ref is created.
 */
static void refs_apply(mem_backend *m, char **name, const gkv_oid *target)
{
	bool found;
	size_t i = refs_search(m, *name, &found);

	if (found && target) {
		m->refs[i].target = *target;
	} else if (found) {
		free(m->refs[i].name);
		memmove(&m->refs[i], &m->refs[i + 1], (m->nrefs - i - 1) * sizeof(mem_ref));
		m->nrefs--;
	} else if (target) {
		memmove(&m->refs[i + 1], &m->refs[i], (m->nrefs - i) * sizeof(mem_ref));
		m->refs[i].name = *name;
		m->refs[i].target = *target;
		*name = NULL;
		m->nrefs++;
	}
}

/* ---- the log of ref moves ---- */

/* A record for ref, who and why copied in one block; its ids are set
 * when it is appended. NULL (GKV_E_NOMEM set) if memory ran out. */
static mem_logent *logent_new(const char *ref, const char *name, const char *email,
    int64_t when, int offset, const char *message)
{
	size_t lr = strlen(ref) + 1, ln = strlen(name) + 1, le = strlen(email) + 1;
	size_t lm = strlen(message) + 1;
	mem_logent *e = malloc(sizeof(*e) + lr + ln + le + lm);
	char *p;

	if (!e) {
		gkv__oom();
		return NULL;
	}
	p = (char *)(e + 1);
	e->ref = memcpy(p, ref, lr);
	e->name = memcpy(p += lr, name, ln);
	e->email = memcpy(p += ln, email, le);
	e->message = memcpy(p += le, message, lm);
	e->time = when;
	e->offset = offset;
	memset(&e->old_id, 0, sizeof(e->old_id));
	memset(&e->new_id, 0, sizeof(e->new_id));
	return e;
}

/* The record of a move nobody said anything about (backend.h). */
static mem_logent *logent_default(const char *ref)
{
	return logent_new(ref, "gitkv", "gitkv@localhost", (int64_t)time(NULL), 0,
	    "gitkv: compare-and-swap");
}

/* Room for n more records; under the write lock. */
static int log_reserve(mem_backend *m, size_t n)
{
	size_t cap = m->caplog;
	mem_logent **p;

	if (m->nlog + n <= cap)
		return 0;
	while (cap < m->nlog + n)
		cap = cap ? cap * 2 : 64;
	if (!(p = realloc(m->log, cap * sizeof(*p))))
		return gkv__oom();
	m->log = p;
	m->caplog = cap;
	return 0;
}

/*
 * A ref went from cur to target (NULL: absent): log it with e, which the
 * log then owns; a CAS that changed nothing is not logged and e is
 * freed. Under the write lock, with room reserved: cannot fail.
 */
static void log_move(mem_backend *m, mem_logent *e, const gkv_oid *cur, const gkv_oid *target)
{
	if (gkv__backend_cas_ok(cur, target)) {
		free(e);
		return;
	}
	if (cur)
		e->old_id = *cur;
	if (target)
		e->new_id = *target;
	m->log[m->nlog++] = e;
}

/* A copy of record e, ids included. */
static mem_logent *logent_copy(const mem_logent *e)
{
	mem_logent *c = logent_new(e->ref, e->name, e->email, e->time, e->offset, e->message);

	if (c) {
		c->old_id = e->old_id;
		c->new_id = e->new_id;
	}
	return c;
}

static int mem_reflog_read(gkv_backend *b, const char *name, gkv_backend_reflog_cb cb,
    void *payload)
{
	mem_backend *m = (mem_backend *)b;
	mem_logent **found = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	if (!name || !*name)
		return gkv_error_set(GKV_E_INVALID, "empty ref name");
	/* Copied under the lock: a batch may delete the log once it is
	 * released. */
	pthread_rwlock_rdlock(&m->lock);
	for (size_t i = m->nlog; rc == 0 && i-- > 0;) {
		if (strcmp(m->log[i]->ref, name) != 0)
			continue;
		if ((rc = gkv__backend_grow((void **)&found, &cap, n, sizeof(*found))) == 0 &&
		    !(found[n] = logent_copy(m->log[i])))
			rc = GKV_E_NOMEM;
		if (rc == 0)
			n++;
	}
	pthread_rwlock_unlock(&m->lock);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		gkv_backend_reflog_entry ent = {found[i]->old_id, found[i]->new_id, found[i]->name,
		    found[i]->email, found[i]->time, found[i]->offset, found[i]->message};

		rc = cb(&ent, payload);
	}
	for (size_t i = 0; i < n; i++)
		free(found[i]);
	free(found);
	return rc;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names of the refs that have a log: sorted, each once, copied under
 * the lock. */
static int mem_reflog_list(gkv_backend *b, gkv_backend_ref_cb cb, void *payload)
{
	mem_backend *m = (mem_backend *)b;
	const char **names;
	gkv__sbuf copy = GKV__SBUF_INIT;
	size_t n = 0;
	int rc = 0;

	pthread_rwlock_rdlock(&m->lock);
	if (!(names = malloc((m->nlog ? m->nlog : 1) * sizeof(*names))))
		rc = gkv__oom();
	for (size_t i = 0; rc == 0 && i < m->nlog; i++)
		names[i] = m->log[i]->ref;
	if (rc == 0 && m->nlog)
		qsort(names, m->nlog, sizeof(*names), name_cmp);
	for (size_t i = 0; rc == 0 && i < m->nlog; i++)
		if (i == 0 || strcmp(names[i], names[i - 1]) != 0) {
			rc = gkv__sbuf_put(&copy, names[i], strlen(names[i]) + 1);
			n++;
		}
	pthread_rwlock_unlock(&m->lock);
	free(names);
	for (size_t i = 0, at = 0; rc == 0 && i < n; i++) {
		const char *name = (const char *)copy.ptr + at;

		rc = cb(name, NULL, payload);
		at += strlen(name) + 1;
	}
	gkv__sbuf_free(&copy);
	return rc;
}

/* Drop every record of ref name's log; under the write lock. */
static void log_delete(mem_backend *m, const char *name)
{
	size_t k = 0;

	for (size_t i = 0; i < m->nlog; i++) {
		if (strcmp(m->log[i]->ref, name) == 0)
			free(m->log[i]);
		else
			m->log[k++] = m->log[i];
	}
	m->nlog = k;
}

/* ---- objects ---- */

static int mem_read(void **data, size_t *len, gkv_otype *type, gkv_backend *b, const gkv_oid *id)
{
	mem_backend *m = (mem_backend *)b;
	char hex[GKV_OID_HEXSZ + 1];
	mem_obj *o;
	void *copy = NULL;

	pthread_rwlock_rdlock(&m->lock);
	o = table_get(m, id);
	if (o && (copy = gkv_backend_data_alloc(o->len)) != NULL) {
		memcpy(copy, o->data, o->len);
		*len = o->len;
		*type = o->type;
	}
	pthread_rwlock_unlock(&m->lock);
	if (!o) {
		gkv__backend_hex(hex, id);
		return gkv_error_set(GKV_E_NOTFOUND, "object %s not found", hex);
	}
	if (!copy)
		return gkv__oom();
	*data = copy;
	return 0;
}

static int not_found(const gkv_oid *id)
{
	char hex[GKV_OID_HEXSZ + 1];

	gkv__backend_hex(hex, id);
	return gkv_error_set(GKV_E_NOTFOUND, "object %s not found", hex);
}

static int mem_read_header(uint64_t *size, gkv_otype *type, gkv_backend *b, const gkv_oid *id)
{
	mem_backend *m = (mem_backend *)b;
	mem_obj *o;

	pthread_rwlock_rdlock(&m->lock);
	if ((o = table_get(m, id)) != NULL) {
		*size = o->len;
		*type = o->type;
	}
	pthread_rwlock_unlock(&m->lock);
	return o ? 0 : not_found(id);
}

/* The object in one piece: it is in memory already; no lock is held
 * while cb runs, so cb may use the store. The stream is counted while
 * it runs, so that a deleted object's block outlives it (top of file). */
static int mem_read_stream(gkv_backend *b, const gkv_oid *id, gkv_backend_stream_cb cb,
    void *payload)
{
	mem_backend *m = (mem_backend *)b;
	mem_obj *o;
	int rc;

	pthread_rwlock_rdlock(&m->lock);
	if ((o = table_get(m, id)) != NULL)
		atomic_fetch_add(&m->streaming, 1);
	pthread_rwlock_unlock(&m->lock);
	if (!o)
		return not_found(id);
	rc = cb(o->type, o->len, o->data, o->len, payload);
	atomic_fetch_sub(&m->streaming, 1);
	return rc;
}

static int mem_exists(gkv_backend *b, const gkv_oid *id)
{
	mem_backend *m = (mem_backend *)b;
	int found;

	pthread_rwlock_rdlock(&m->lock);
	found = table_get(m, id) != NULL;
	pthread_rwlock_unlock(&m->lock);
	return found;
}

/* Copy the ids that match under the read lock: *out malloc()ed. */
static int collect_ids(gkv_oid **out, size_t *n, mem_backend *m, const gkv_oid *prefix,
		       size_t hexlen)
{
	gkv_oid *ids;
	size_t k = 0;

	pthread_rwlock_rdlock(&m->lock);
	ids = malloc((m->nobjs ? m->nobjs : 1) * sizeof(*ids));
	for (size_t i = 0; ids && i < m->nslots; i++) {
		mem_obj *o = m->slots[i];

		if (o && (hexlen == 0 || gkv__backend_prefix_match(&o->id, prefix, hexlen)))
			ids[k++] = o->id;
	}
	pthread_rwlock_unlock(&m->lock);
	if (!ids)
		return gkv__oom();
	*out = ids;
	*n = k;
	return 0;
}

static int mem_foreach(gkv_backend *b, const gkv_oid *prefix, size_t prefix_hexlen,
		       gkv_backend_oid_cb cb, void *payload)
{
	gkv_oid *ids = NULL;
	size_t n = 0;
	int rc;

	if (prefix_hexlen > GKV_OID_HEXSZ || (prefix_hexlen && !prefix))
		return gkv_error_set(GKV_E_INVALID, "object prefix of %zu hex digits is invalid",
				     prefix_hexlen);
	if ((rc = collect_ids(&ids, &n, (mem_backend *)b, prefix, prefix_hexlen)) < 0)
		return rc;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = cb(&ids[i], payload);
	free(ids);
	return rc;
}

/* ---- refs ---- */

/* The counter moves under the write lock, so the one read under the read
 * lock is the version of the state the ref comes from. */
static int mem_ref_read_versioned(gkv_oid *out, uint64_t *version, gkv_backend *b, const char *name)
{
	mem_backend *m = (mem_backend *)b;
	const gkv_oid *t;

	pthread_rwlock_rdlock(&m->lock);
	t = refs_get(m, name);
	if (t)
		*out = *t;
	*version = atomic_load(&m->refs_version);
	pthread_rwlock_unlock(&m->lock);
	if (!t)
		return gkv_error_set(GKV_E_NOTFOUND, "ref '%s' not found", name);
	return 0;
}

static int mem_ref_read(gkv_oid *out, gkv_backend *b, const char *name)
{
	uint64_t version;

	return mem_ref_read_versioned(out, &version, b, name);
}

/* The refs under prefix, copied: names packed into one buffer. */
typedef struct {
	gkv__sbuf names;
	size_t *offs;
	gkv_oid *targets;
	size_t n;
} ref_snapshot;

static int snapshot_refs(ref_snapshot *s, mem_backend *m, const char *prefix)
{
	size_t plen = strlen(prefix), first, last;
	bool found;
	int rc = 0;

	pthread_rwlock_rdlock(&m->lock);
	first = refs_search(m, prefix, &found);
	last = first;
	while (last < m->nrefs && strncmp(m->refs[last].name, prefix, plen) == 0)
		last++;
	s->n = last - first;
	s->offs = malloc((s->n ? s->n : 1) * sizeof(*s->offs));
	s->targets = malloc((s->n ? s->n : 1) * sizeof(*s->targets));
	if (!s->offs || !s->targets)
		rc = gkv__oom();
	for (size_t i = 0; rc == 0 && i < s->n; i++) {
		s->offs[i] = s->names.size;
		s->targets[i] = m->refs[first + i].target;
		rc = gkv__sbuf_put(&s->names, m->refs[first + i].name,
				   strlen(m->refs[first + i].name) + 1);
	}
	pthread_rwlock_unlock(&m->lock);
	return rc;
}

static int mem_ref_list(gkv_backend *b, const char *prefix, gkv_backend_ref_cb cb, void *payload)
{
	ref_snapshot s = {GKV__SBUF_INIT, NULL, NULL, 0};
	int rc = snapshot_refs(&s, (mem_backend *)b, prefix ? prefix : "");

	for (size_t i = 0; rc == 0 && i < s.n; i++)
		rc = cb((const char *)s.names.ptr + s.offs[i], &s.targets[i], payload);
	gkv__sbuf_free(&s.names);
	free(s.offs);
	free(s.targets);
	return rc;
}

static int mem_ref_cas(gkv_backend *b, const char *name, const gkv_oid *expected,
		       const gkv_oid *new_target)
{
	mem_backend *m = (mem_backend *)b;
	mem_logent *e;
	char *own;
	const gkv_oid *cur;
	int rc = 0;

	if (!name || !*name)
		return gkv_error_set(GKV_E_INVALID, "empty ref name");
	if (!(own = gkv__strdup(name)))
		return GKV_E_NOMEM;
	if (!(e = logent_default(name))) {
		free(own);
		return GKV_E_NOMEM;
	}
	pthread_rwlock_wrlock(&m->lock);
	cur = refs_get(m, name);
	if (!gkv__backend_cas_ok(cur, expected))
		rc = gkv__backend_conflict(name, expected, cur);
	else if ((rc = refs_reserve(m, 1)) == 0 && (rc = log_reserve(m, 1)) == 0) {
		gkv_oid was, *wasp = cur ? &was : NULL;

		if (cur)
			was = *cur;
		refs_apply(m, &own, new_target);
		log_move(m, e, wasp, new_target);
		e = NULL;
		atomic_fetch_add(&m->refs_version, 1);
	}
	pthread_rwlock_unlock(&m->lock);
	free(e);
	free(own);
	return rc;
}

/* ---- batches ---- */

static int mem_batch_begin(gkv_batch **out, gkv_backend *b)
{
	mem_batch *batch = calloc(1, sizeof(*batch));

	if (!batch)
		return gkv__oom();
	batch->parent.backend = b;
	*out = &batch->parent;
	return 0;
}

static int mem_batch_write(gkv_batch *batch, const gkv_oid *id, gkv_otype type, const void *data,
			   size_t len)
{
	mem_batch *mb = (mem_batch *)batch;
	mem_backend *m = (mem_backend *)batch->backend;
	mem_obj *o;
	int rc;

	if (len > SIZE_MAX / 2 - sizeof(*o))
		return gkv__oom();
	if (mem_exists(batch->backend, id)) {
		/* not copied again; the commit checks it is still there */
		if ((rc = gkv__backend_grow((void **)&mb->skipped, &mb->capskipped, mb->nskipped,
			 sizeof(*mb->skipped))) < 0)
			return rc;
		mb->skipped[mb->nskipped++] = *id;
		return 0;
	}
	if ((rc = gkv__backend_grow((void **)&mb->objs, &mb->capobjs, mb->nobjs,
				    sizeof(*mb->objs))) < 0)
		return rc;
	if (!(o = gkv__arena_alloc(&m->arena, sizeof(*o) + len)))
		return GKV_E_NOMEM;
	o->id = *id;
	o->type = type;
	o->len = len;
	if (len)
		memcpy(o->data, data, len);
	mb->objs[mb->nobjs++] = o;
	return 0;
}

static int mem_batch_ref_cas(gkv_batch *batch, const char *name, const gkv_oid *expected,
			     const gkv_oid *new_target)
{
	mem_batch *mb = (mem_batch *)batch;

	if (!name || !*name)
		return gkv_error_set(GKV_E_INVALID, "empty ref name");
	return gkv__backend_cas_push(&mb->cas, &mb->ncas, &mb->capcas, name, expected, new_target);
}

static int mem_batch_ref_log(gkv_batch *batch, const char *name,
    const gkv_backend_reflog_entry *entry)
{
	mem_batch *mb = (mem_batch *)batch;
	mem_logent *e;
	size_t i;
	int rc;

	if (!name || !*name || !entry)
		return gkv_error_set(GKV_E_INVALID, "mem: empty ref name or no log entry");
	if (!entry->name || !entry->email || !entry->message || strchr(entry->message, '\n'))
		return gkv_error_set(GKV_E_INVALID,
		    "mem: log entry for ref '%s' lacks a field or holds a newline", name);
	if (!(e = logent_new(name, entry->name, entry->email, entry->time, entry->offset,
		  entry->message)))
		return GKV_E_NOMEM;
	for (i = 0; i < mb->nwho && strcmp(mb->who[i]->ref, name) != 0; i++)
		;
	if (i == mb->nwho &&
	    (rc = gkv__backend_grow((void **)&mb->who, &mb->capwho, mb->nwho, sizeof(*mb->who))) < 0) {
		free(e);
		return rc;
	}
	if (i == mb->nwho)
		mb->nwho++;
	else
		free(mb->who[i]);
	mb->who[i] = e;
	return 0;
}

static int mem_batch_delete(gkv_batch *batch, const gkv_oid *id)
{
	mem_batch *mb = (mem_batch *)batch;
	int rc;

	if (!id)
		return gkv_error_set(GKV_E_INVALID, "mem: no object id to delete");
	if ((rc = gkv__backend_grow((void **)&mb->dels, &mb->capdels, mb->ndels,
		 sizeof(*mb->dels))) < 0)
		return rc;
	mb->dels[mb->ndels++] = *id;
	return 0;
}

static int mem_batch_reflog_delete(gkv_batch *batch, const char *name)
{
	mem_batch *mb = (mem_batch *)batch;
	char *own;
	int rc;

	if (!name || !*name)
		return gkv_error_set(GKV_E_INVALID, "empty ref name");
	if ((rc = gkv__backend_grow((void **)&mb->logdels, &mb->caplogdels, mb->nlogdels,
		 sizeof(*mb->logdels))) < 0)
		return rc;
	if (!(own = gkv__strdup(name)))
		return GKV_E_NOMEM;
	mb->logdels[mb->nlogdels++] = own;
	return 0;
}

static void mem_batch_abort(gkv_batch *batch)
{
	mem_batch *mb = (mem_batch *)batch;

	if (!mb)
		return;
	free(mb->skipped);
	free(mb->dels);
	for (size_t i = 0; i < mb->nlogdels; i++)
		free(mb->logdels[i]);
	free(mb->logdels);
	/* in reverse, so that the arena can take back what the batch took */
	for (size_t i = mb->nobjs; i-- > 0;)
		obj_unalloc((mem_backend *)batch->backend, mb->objs[i]);
	free(mb->objs);
	gkv__backend_cas_free(mb->cas, mb->ncas);
	for (size_t i = 0; i < mb->nwho; i++)
		free(mb->who[i]);
	free(mb->who);
	free(mb);
}

/* One record per CAS, made before the lock: its who and why, or the
 * default. recs[i] for cas[i]; on failure nothing is left allocated. */
static int batch_records(mem_logent ***out, const mem_batch *mb)
{
	mem_logent **recs = calloc(mb->ncas ? mb->ncas : 1, sizeof(*recs));

	if (!recs)
		return gkv__oom();
	for (size_t i = 0; i < mb->ncas; i++) {
		const mem_logent *w = NULL;

		for (size_t j = 0; !w && j < mb->nwho; j++)
			if (strcmp(mb->who[j]->ref, mb->cas[i].name) == 0)
				w = mb->who[j];
		recs[i] = w ? logent_new(w->ref, w->name, w->email, w->time, w->offset, w->message)
			    : logent_default(mb->cas[i].name);
		if (!recs[i]) {
			while (i-- > 0)
				free(recs[i]);
			free(recs);
			return GKV_E_NOMEM;
		}
	}
	*out = recs;
	return 0;
}

/*
 * What ref i of the batch finds when its turn comes: the target left by
 * the last earlier CAS of the batch on the same name, else the table's.
 */
static const gkv_oid *batch_current(const mem_backend *m, const mem_batch *mb, size_t i)
{
	for (size_t j = i; j-- > 0;)
		if (strcmp(mb->cas[j].name, mb->cas[i].name) == 0)
			return mb->cas[j].has_target ? &mb->cas[j].target : NULL;
	return refs_get(m, mb->cas[i].name);
}

/* Check every CAS (under the write lock) before anything is applied. */
static int batch_check(const mem_backend *m, const mem_batch *mb)
{
	for (size_t i = 0; i < mb->ncas; i++) {
		const mem_cas *c = &mb->cas[i];
		const gkv_oid *cur = batch_current(m, mb, i);

		if (!gkv__backend_cas_ok(cur, c->has_expected ? &c->expected : NULL))
			return gkv__backend_conflict(c->name, c->has_expected ? &c->expected : NULL,
						     cur);
	}
	return 0;
}

static int oid_cmp(const void *a, const void *b)
{
	return memcmp(a, b, GKV_OID_RAWSZ);
}

/* Every object the batch skipped as stored must still be: a delete may
 * have taken one out since (gc). Under the write lock. */
static int batch_check_skipped(const mem_backend *m, const mem_batch *mb)
{
	char hex[GKV_OID_HEXSZ + 1];

	for (size_t i = 0; i < mb->nskipped; i++)
		if (!table_get(m, &mb->skipped[i])) {
			gkv__backend_hex(hex, &mb->skipped[i]);
			return gkv_error_set(GKV_E_CONFLICT,
			    "mem: object %s was deleted while the batch that uses it was built", hex);
		}
	return 0;
}

/* Delete the batch's objects, but not one the batch also writes (it
 * lands) or skipped as stored (it is used): skipped is sorted. */
static void batch_delete_objects(mem_backend *m, const mem_batch *mb)
{
	for (size_t i = 0; i < mb->ndels; i++) {
		size_t slot = table_find(m, &mb->dels[i]);

		if (!m->tags[slot] ||
		    (mb->nskipped && bsearch(&mb->dels[i], mb->skipped, mb->nskipped,
					     sizeof(*mb->skipped), oid_cmp)))
			continue;
		table_remove_at(m, slot);
	}
}

/* Room in the graveyard for every object the batch may delete. */
static int grave_reserve(mem_backend *m, size_t n)
{
	size_t cap = m->capgrave ? m->capgrave : 16;
	mem_obj **p;

	if (m->ngrave + n <= m->capgrave)
		return 0;
	while (cap < m->ngrave + n)
		cap *= 2;
	if (!(p = realloc(m->grave, cap * sizeof(*p))))
		return gkv__oom();
	m->grave = p;
	m->capgrave = cap;
	return 0;
}

/*
 * Everything, once checked and with room reserved; the log takes recs.
 * Logs are deleted before the refs move (a move of the same batch starts
 * a new log), objects before objects are written (an object the batch
 * both deletes and writes stays). One lock: all of it lands at once.
 */
static void batch_apply(mem_backend *m, mem_batch *mb, mem_logent **recs)
{
	for (size_t i = 0; i < mb->nlogdels; i++)
		log_delete(m, mb->logdels[i]);
	batch_delete_objects(m, mb);
	for (size_t i = 0; i < mb->nobjs; i++)
		table_put(m, mb->objs[i]);
	mb->nobjs = 0; /* the table (or table_put's free) owns them now */
	for (size_t i = 0; i < mb->ncas; i++) {
		const gkv_oid *target = mb->cas[i].has_target ? &mb->cas[i].target : NULL;
		const gkv_oid *cur = refs_get(m, mb->cas[i].name);
		gkv_oid was;

		if (cur)
			was = *cur;
		refs_apply(m, &mb->cas[i].name, target);
		log_move(m, recs[i], cur ? &was : NULL, target);
		recs[i] = NULL;
	}
}

static int mem_batch_commit(gkv_batch *batch)
{
	mem_batch *mb = (mem_batch *)batch;
	mem_backend *m = (mem_backend *)batch->backend;
	mem_logent **recs = NULL;
	int rc;

	if ((rc = batch_records(&recs, mb)) < 0) {
		mem_batch_abort(batch);
		return rc;
	}
	if (mb->nskipped && mb->ndels)
		qsort(mb->skipped, mb->nskipped, sizeof(*mb->skipped), oid_cmp);
	pthread_rwlock_wrlock(&m->lock);
	rc = batch_check(m, mb);
	if (rc == 0)
		rc = batch_check_skipped(m, mb);
	if (rc == 0)
		rc = grave_reserve(m, mb->ndels);
	if (rc == 0)
		rc = table_reserve(m, mb->nobjs);
	if (rc == 0)
		rc = refs_reserve(m, mb->ncas);
	if (rc == 0)
		rc = log_reserve(m, mb->ncas);
	if (rc == 0) {
		batch_apply(m, mb, recs);
		atomic_fetch_add(&m->refs_version, 1);
	}
	grave_sweep(m);
	pthread_rwlock_unlock(&m->lock);
	for (size_t i = 0; i < mb->ncas; i++)
		free(recs[i]);
	free(recs);
	mem_batch_abort(batch);
	return rc;
}

/* ---- settings ---- */

/* Index of key in the sorted config, or where it would go; *found says which. */
static size_t config_search(const mem_backend *m, const char *key, bool *found)
{
	size_t lo = 0, hi = m->nconfig;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(m->config[mid], key);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int config_check_key(const char *key)
{
	if (!key || !*key)
		return gkv_error_set(GKV_E_INVALID, "mem: empty config key");
	return 0;
}

static int mem_config_get(char **out, gkv_backend *b, const char *key)
{
	mem_backend *m = (mem_backend *)b;
	char *copy = NULL;
	bool found;
	size_t i;
	int rc;

	if ((rc = config_check_key(key)) < 0)
		return rc;
	pthread_rwlock_rdlock(&m->lock);
	i = config_search(m, key, &found);
	if (found) {
		const char *v = m->config[i] + strlen(m->config[i]) + 1;
		size_t n = strlen(v) + 1;

		if ((copy = gkv_backend_data_alloc(n)) != NULL)
			memcpy(copy, v, n);
	}
	pthread_rwlock_unlock(&m->lock);
	if (!found)
		return gkv_error_set(GKV_E_NOTFOUND, "mem: config key '%s' is not set", key);
	if (!copy)
		return GKV_E_NOMEM;
	*out = copy;
	return 0;
}

static int mem_config_set(gkv_backend *b, const char *key, const char *value)
{
	mem_backend *m = (mem_backend *)b;
	size_t kl, vl, i;
	char *kv = NULL;
	bool found;
	int rc = 0;

	if ((rc = config_check_key(key)) < 0)
		return rc;
	if (value) {
		kl = strlen(key) + 1;
		vl = strlen(value) + 1;
		if (!(kv = malloc(kl + vl)))
			return gkv__oom();
		memcpy(kv, key, kl);
		memcpy(kv + kl, value, vl);
	}
	pthread_rwlock_wrlock(&m->lock);
	i = config_search(m, key, &found);
	if (found && kv) {
		free(m->config[i]);
		m->config[i] = kv;
		kv = NULL;
	} else if (found) {
		free(m->config[i]);
		memmove(&m->config[i], &m->config[i + 1], (m->nconfig - i - 1) * sizeof(char *));
		m->nconfig--;
	} else if (kv && (rc = gkv__backend_grow((void **)&m->config, &m->capconfig, m->nconfig,
			      sizeof(*m->config))) == 0) {
		memmove(&m->config[i + 1], &m->config[i], (m->nconfig - i) * sizeof(char *));
		m->config[i] = kv;
		m->nconfig++;
		kv = NULL;
	}
	pthread_rwlock_unlock(&m->lock);
	free(kv);
	return rc;
}

static int mem_config_list(gkv_backend *b, const char *prefix, gkv_backend_config_cb cb,
    void *payload)
{
	mem_backend *m = (mem_backend *)b;
	gkv__sbuf copy = GKV__SBUF_INIT;
	size_t plen, n = 0;
	bool found;
	int rc = 0;

	prefix = prefix ? prefix : "";
	plen = strlen(prefix);
	pthread_rwlock_rdlock(&m->lock);
	for (size_t i = config_search(m, prefix, &found);
	     rc == 0 && i < m->nconfig && strncmp(m->config[i], prefix, plen) == 0; i++) {
		const char *k = m->config[i], *v = k + strlen(k) + 1;

		if ((rc = gkv__sbuf_put(&copy, k, strlen(k) + 1)) == 0)
			rc = gkv__sbuf_put(&copy, v, strlen(v) + 1);
		n++;
	}
	pthread_rwlock_unlock(&m->lock);
	for (size_t i = 0, at = 0; rc == 0 && i < n; i++) {
		const char *k = (const char *)copy.ptr + at, *v = k + strlen(k) + 1;

		rc = cb(k, v, payload);
		at = (size_t)(v + strlen(v) + 1 - (const char *)copy.ptr);
	}
	gkv__sbuf_free(&copy);
	return rc;
}

/* ---- figures ---- */

static int mem_stats(gkv_backend *b, gkv_backend_stat_cb cb, void *payload)
{
	mem_backend *m = (mem_backend *)b;
	uint64_t v[6];
	static const char *const names[6] = {"objects", "bytes", "refs", "reflog_entries",
	    "arena_bytes", "arena_lost"};
	int rc = 0;

	pthread_rwlock_rdlock(&m->lock);
	v[0] = m->nobjs;
	v[1] = m->nbytes;
	v[2] = m->nrefs;
	v[3] = m->nlog;
	pthread_rwlock_unlock(&m->lock);
	pthread_mutex_lock(&m->arena.lock);
	v[4] = m->arena.held;
	v[5] = m->arena.lost;
	pthread_mutex_unlock(&m->arena.lock);
	for (size_t i = 0; rc == 0 && i < 6; i++)
		rc = cb(names[i], v[i], payload);
	return rc;
}

static int mem_refs_version(uint64_t *out, gkv_backend *b)
{
	*out = atomic_load(&((mem_backend *)b)->refs_version);
	return 0;
}

/* ---- lifetime ---- */

static void mem_free(gkv_backend *b)
{
	mem_backend *m = (mem_backend *)b;

	if (!m)
		return;
	gkv__arena_free(&m->arena);
	for (size_t i = 0; i < m->nrefs; i++)
		free(m->refs[i].name);
	free(m->slots);
	free(m->refs);
	for (size_t i = 0; i < m->nlog; i++)
		free(m->log[i]);
	free(m->log);
	free(m->grave); /* its blocks went with the arena */
	for (size_t i = 0; i < m->nconfig; i++)
		free(m->config[i]);
	free(m->config);
	pthread_rwlock_destroy(&m->lock);
	free(m);
}

static void mem_fill_vtable(gkv_backend *b)
{
	b->name = "mem";
	b->read = mem_read;
	b->read_header = mem_read_header;
	b->read_stream = mem_read_stream;
	b->exists = mem_exists;
	b->foreach = mem_foreach;
	b->ref_read = mem_ref_read;
	b->ref_list = mem_ref_list;
	b->ref_cas = mem_ref_cas;
	b->batch_begin = mem_batch_begin;
	b->batch_write = mem_batch_write;
	b->flags = GKV_BACKEND_BATCH_DEFERS;
	b->batch_ref_cas = mem_batch_ref_cas;
	b->batch_commit = mem_batch_commit;
	b->batch_abort = mem_batch_abort;
	b->free = mem_free;
	b->refs_version = mem_refs_version;
	b->ref_read_versioned = mem_ref_read_versioned;
	b->batch_ref_log = mem_batch_ref_log;
	b->reflog_read = mem_reflog_read;
	b->config_get = mem_config_get;
	b->config_set = mem_config_set;
	b->config_list = mem_config_list;
	b->batch_delete = mem_batch_delete;
	b->batch_reflog_delete = mem_batch_reflog_delete;
	b->reflog_list = mem_reflog_list;
	b->stats = mem_stats;
}

int gkv_backend_mem_new(gkv_backend **out)
{
	mem_backend *m = calloc(1, sizeof(*m));

	if (!m)
		return gkv__oom();
	gkv_backend_init(&m->parent, GKV_BACKEND_VERSION);
	if (table_alloc(m, 64) < 0) {
		free(m);
		return GKV_E_NOMEM;
	}
	if (gkv__arena_init(&m->arena) < 0) {
		free(m->slots);
		free(m);
		return GKV_E_ERROR;
	}
	if (pthread_rwlock_init(&m->lock, NULL) != 0) {
		gkv__arena_free(&m->arena);
		free(m->slots);
		free(m);
		return gkv_error_set(GKV_E_ERROR, "mem backend: cannot create its lock");
	}
	mem_fill_vtable(&m->parent);
	*out = &m->parent;
	return 0;
}
