/*
 * git_odb.c -- objects of the git backend, through libgit2's object
 * database: whatever git wrote (loose objects, packs, alternates) is
 * read; gitkv writes loose objects for a small batch and one pack for a
 * large one.
 *
 * Ids: a git repository files every object under the SHA-1 of its bytes,
 * so an object whose given id is not its git id is refused when it joins
 * a batch (the store always passes git ids; only a buggy caller does not).
 *
 * Why packs: a bulk load of 100,000 values as loose objects is 100,000
 * files of a few dozen bytes, each a block on disk and a directory entry,
 * and git gc would pack them anyway. A batch with GKV__GIT_PACK_MIN new
 * objects or more is written as one pack (git_pack.c).
 */
#include "git_internal.h"

_Static_assert(GIT_OID_RAWSZ == GKV_OID_RAWSZ, "libgit2 and gitkv ids differ in size");

static void to_git(git_oid *out, const gkv_oid *id)
{
	memcpy(out->id, id->id, GKV_OID_RAWSZ);
}

static const char *type_name(gkv_otype t)
{
	switch (t) {
	case GKV_OBJ_COMMIT:
		return "commit";
	case GKV_OBJ_TREE:
		return "tree";
	case GKV_OBJ_BLOB:
		return "blob";
	case GKV_OBJ_TAG:
		return "tag";
	default:
		return "object";
	}
}

/* ---- reads ---- */

int gkv__git_read(void **data, size_t *len, gkv_otype *type, gkv_backend *b, const gkv_oid *id)
{
	gkv__git *g = (gkv__git *)b;
	char hex[GKV_OID_HEXSZ + 1];
	git_odb_object *obj = NULL;
	git_object_t t;
	git_oid oid;
	size_t size;
	void *copy;
	int rc;

	to_git(&oid, id);
	gkv__backend_hex(hex, id);
	if ((rc = git_odb_read(&obj, g->odb, &oid)) == GIT_ENOTFOUND) {
		git_error_clear();
		return gkv_error_set(GKV_E_NOTFOUND, "object %s not found in git repository '%s'",
				     hex, g->path);
	}
	/* It is there but cannot be read: a bad zlib stream, a truncated
	 * file, bytes that do not hash to the id, a broken pack. */
	if (rc < 0)
		return gkv__git_error(rc, GKV_E_CORRUPT,
				      "object %s in git repository '%s' is unreadable", hex,
				      g->path);
	t = git_odb_object_type(obj);
	size = git_odb_object_size(obj);
	if (t < GIT_OBJECT_COMMIT || t > GIT_OBJECT_TAG) {
		git_odb_object_free(obj);
		return gkv_error_set(GKV_E_CORRUPT,
				     "object %s in git repository '%s' has bad type %d", hex,
				     g->path, (int)t);
	}
	if (!(copy = malloc(size ? size : 1))) {
		git_odb_object_free(obj);
		return gkv__oom();
	}
	memcpy(copy, git_odb_object_data(obj), size);
	git_odb_object_free(obj);
	*data = copy;
	*len = size;
	*type = (gkv_otype)t;
	return 0;
}

int gkv__git_exists(gkv_backend *b, const gkv_oid *id)
{
	gkv__git *g = (gkv__git *)b;
	git_oid oid;

	to_git(&oid, id);
	/* Missing objects make libgit2 look for packs another process wrote. */
	return git_odb_exists(g->odb, &oid) ? 1 : 0;
}

/* ---- iteration ---- */

typedef struct {
	gkv_oid *ids;
	size_t n, cap;
	const gkv_oid *prefix;
	size_t hexlen;
	bool oom;
} id_vec;

static int collect_cb(const git_oid *oid, void *payload)
{
	id_vec *v = payload;
	gkv_oid id;

	memcpy(id.id, oid->id, GKV_OID_RAWSZ);
	if (v->hexlen && !gkv__backend_prefix_match(&id, v->prefix, v->hexlen))
		return 0;
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 256;
		gkv_oid *p = realloc(v->ids, cap * sizeof(*p));

		if (!p) {
			v->oom = true;
			return 1;
		}
		v->ids = p;
		v->cap = cap;
	}
	v->ids[v->n++] = id;
	return 0;
}

static int oid_cmp(const void *a, const void *b)
{
	return memcmp(a, b, GKV_OID_RAWSZ);
}

/*
 * git_odb_foreach visits each backend in turn (packs, loose objects,
 * alternates), so an object stored twice (loose and packed, or in two
 * packs) comes twice: collect, sort and drop the repeats. Collecting
 * also lets the callback use the backend freely.
 */
int gkv__git_foreach(gkv_backend *b, const gkv_oid *prefix, size_t prefix_hexlen,
		     gkv_backend_oid_cb cb, void *payload)
{
	gkv__git *g = (gkv__git *)b;
	id_vec v = {NULL, 0, 0, prefix, prefix_hexlen, false};
	size_t k = 0;
	int rc;

	if (prefix_hexlen > GKV_OID_HEXSZ || (prefix_hexlen && !prefix))
		return gkv_error_set(GKV_E_INVALID, "object prefix of %zu hex digits is invalid",
				     prefix_hexlen);
	rc = git_odb_foreach(g->odb, collect_cb, &v);
	if (v.oom) {
		free(v.ids);
		return gkv__oom();
	}
	if (rc < 0) {
		free(v.ids);
		return gkv__git_error(rc, GKV_E_IO, "git repository '%s': cannot list objects",
				      g->path);
	}
	if (v.n)
		qsort(v.ids, v.n, sizeof(*v.ids), oid_cmp);
	for (size_t i = 0; i < v.n; i++)
		if (k == 0 || memcmp(&v.ids[k - 1], &v.ids[i], GKV_OID_RAWSZ) != 0)
			v.ids[k++] = v.ids[i];
	rc = 0;
	for (size_t i = 0; i < k && rc == 0; i++)
		rc = cb(&v.ids[i], payload);
	free(v.ids);
	return rc;
}

/* ---- writes ---- */

int gkv__git_check_id(const gkv_oid *id, gkv_otype type, const void *data, size_t len)
{
	char want[GKV_OID_HEXSZ + 1], got[GKV_OID_HEXSZ + 1];
	git_oid oid;
	gkv_oid real;
	int rc;

	if (type < GKV_OBJ_COMMIT || type > GKV_OBJ_TAG)
		return gkv_error_set(GKV_E_INVALID, "cannot store an object of type %d in git",
				     (int)type);
	if ((rc = git_odb_hash(&oid, len ? data : "", len, (git_object_t)type)) < 0)
		return gkv__git_error(rc, GKV_E_INVALID, "cannot hash a %s of %zu bytes",
				      type_name(type), len);
	memcpy(real.id, oid.id, GKV_OID_RAWSZ);
	if (memcmp(real.id, id->id, GKV_OID_RAWSZ) == 0)
		return 0;
	gkv__backend_hex(want, id);
	gkv__backend_hex(got, &real);
	return gkv_error_set(
	    GKV_E_INVALID,
	    "object %s: its contents are the %s %s (git files objects under their own ids)", want,
	    type_name(type), got);
}

static int obj_cmp(const void *a, const void *b)
{
	const gkv__git_obj *x = *(const gkv__git_obj *const *)a,
			   *y = *(const gkv__git_obj *const *)b;

	return memcmp(x->id.id, y->id.id, GKV_OID_RAWSZ);
}

static int write_error(gkv__git *g, int rc, const gkv__git_obj *o)
{
	char hex[GKV_OID_HEXSZ + 1];

	gkv__backend_hex(hex, &o->id);
	return gkv__git_error(rc, GKV_E_IO, "git repository '%s': cannot write %s %s", g->path,
			      type_name(o->type), hex);
}

static int write_loose(gkv__git *g, gkv__git_obj **objs, size_t n)
{
	git_oid oid;
	int rc;

	for (size_t i = 0; i < n; i++)
		if ((rc = git_odb_write(&oid, g->wodb, objs[i]->data, objs[i]->len,
					(git_object_t)objs[i]->type)) < 0)
			return write_error(g, rc, objs[i]);
	return 0;
}

int gkv__git_write_objects(gkv__git *g, gkv__git_obj **objs, size_t n)
{
	gkv__git_obj **todo;
	git_oid oid;
	size_t k = 0;
	int rc;

	if (n == 0)
		return 0;
	if (!(todo = malloc(n * sizeof(*todo))))
		return gkv__oom();
	memcpy(todo, objs, n * sizeof(*todo));
	qsort(todo, n, sizeof(*todo), obj_cmp);
	/* Drop repeats and what the repository has. NO_REFRESH: a miss here
	 * need not rescan objects/pack; at worst an object another process
	 * just wrote is written again, which git allows. */
	for (size_t i = 0; i < n; i++) {
		if (k && memcmp(todo[k - 1]->id.id, todo[i]->id.id, GKV_OID_RAWSZ) == 0)
			continue;
		to_git(&oid, &todo[i]->id);
		if (git_odb_exists_ext(g->wodb, &oid, GIT_ODB_LOOKUP_NO_REFRESH))
			continue;
		todo[k++] = todo[i];
	}
	rc = k >= GKV__GIT_PACK_MIN ? gkv__git_write_pack(g, todo, k) : write_loose(g, todo, k);
	free(todo);
	return rc;
}
