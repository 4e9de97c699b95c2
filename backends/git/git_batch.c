/*
 * git_batch.c -- batches of the git backend: one commit's objects and its
 * ref updates, buffered in memory until commit -- or, past
 * GKV__GIT_STREAM_AT bytes of objects, written into a temporary pack as
 * they come, which the commit puts in place (git_pack.c).
 *
 * At commit, under the handle's write lock:
 *   1. the ref CASes are folded to one per ref and checked against the
 *      refs as they are, without locks -- a CAS already lost fails here,
 *      before anything is written;
 *   2. the objects are written (loose, or one pack for a large batch),
 *      and the packs given whole (a fetch's) are copied into objects/pack;
 *   3. the refs are locked, checked again under their locks and moved
 *      (git_refs.c).
 * Objects land before the refs, as with git itself: if step 3 loses a
 * race, they stay in the repository unreferenced, which git allows (gc
 * drops them in time) and which a retry reuses. What never happens is a
 * ref moving to an object that is not stored, or a ref moving when its
 * CAS failed.
 */
#include "git_internal.h"

typedef struct {
	gkv_batch parent;
	gkv__git_obj **objs;
	size_t nobjs, capobjs;
	gkv__git_cas *cas;
	size_t ncas, capcas;
	gkv__git_who *who; /* per ref, who moves it and why (the last given) */
	size_t nwho, capwho;
	char **packs; /* pack path, index path, pack path, ... */
	size_t npacks, cappacks;
	size_t bytes;		 /* of objs */
	gkv__git_stream *stream; /* past GKV__GIT_STREAM_AT: the objects go here */
} git_batch;

int gkv__git_batch_begin(gkv_batch **out, gkv_backend *b)
{
	git_batch *batch;
	int rc;

	/* libgit2 hashes what is written (with collision detection) and
	 * lands it: started here, before the first object */
	if ((rc = gkv__git_check_writable((gkv__git *)b)) < 0 ||
	    (rc = gkv__git_start((gkv__git *)b)) < 0)
		return rc;
	if (!(batch = calloc(1, sizeof(*batch))))
		return gkv__oom();
	batch->parent.backend = b;
	*out = &batch->parent;
	return 0;
}

/* Move the objects held so far into a pack of their own, where the
 * next ones will go too (git_pack.c: a pack written as a batch goes).
 * If that fails the batch stays as it was, every object still held. */
static int start_stream(git_batch *gb)
{
	int rc = gkv__git_stream_open(&gb->stream, (gkv__git *)gb->parent.backend);

	for (size_t i = 0; rc == 0 && i < gb->nobjs; i++) {
		gkv__git_obj *o = gb->objs[i];

		rc = gkv__git_stream_put(gb->stream, &o->id, o->type, o->data, o->len);
	}
	if (rc < 0) {
		gkv__git_stream_abort(gb->stream);
		gb->stream = NULL;
		return rc;
	}
	for (size_t i = 0; i < gb->nobjs; i++)
		free(gb->objs[i]);
	gb->nobjs = 0;
	gb->bytes = 0;
	return 0;
}

int gkv__git_batch_write(gkv_batch *batch, const gkv_oid *id, gkv_otype type, const void *data,
			 size_t len)
{
	git_batch *gb = (git_batch *)batch;
	gkv__git_obj *o;
	int rc;

	if ((rc = gkv__git_check_id(id, type, data, len)) < 0)
		return rc;
	if (gb->stream)
		return gkv__git_stream_put(gb->stream, id, type, data, len);
	if (len > SIZE_MAX - sizeof(*o))
		return gkv__oom();
	if ((rc = gkv__backend_grow((void **)&gb->objs, &gb->capobjs, gb->nobjs, sizeof(*gb->objs))) < 0)
		return rc;
	if (!(o = malloc(sizeof(*o) + len)))
		return gkv__oom();
	o->id = *id;
	o->type = type;
	o->len = len;
	if (len)
		memcpy(o->data, data, len);
	gb->objs[gb->nobjs++] = o;
	gb->bytes += len;
	if (gb->bytes >= GKV__GIT_STREAM_AT && gb->nobjs >= GKV__GIT_PACK_MIN)
		return start_stream(gb);
	return 0;
}

int gkv__git_batch_write_pack(gkv_batch *batch, const char *pack_path, const char *idx_path)
{
	git_batch *gb = (git_batch *)batch;
	char *p, *x;
	int rc;

	if (!pack_path || !*pack_path || !idx_path || !*idx_path)
		return gkv_error_set(GKV_E_INVALID, "a pack needs its file and its index");
	if ((rc = gkv__backend_grow((void **)&gb->packs, &gb->cappacks, gb->npacks + 1,
				    sizeof(*gb->packs))) < 0)
		return rc;
	if (!(p = gkv__strdup(pack_path)) || !(x = gkv__strdup(idx_path))) {
		free(p);
		return gkv__oom();
	}
	gb->packs[gb->npacks++] = p;
	gb->packs[gb->npacks++] = x;
	return 0;
}

int gkv__git_batch_ref_cas(gkv_batch *batch, const char *name, const gkv_oid *expected,
			   const gkv_oid *new_target)
{
	git_batch *gb = (git_batch *)batch;

	if (!name || !*name)
		return gkv_error_set(GKV_E_INVALID, "empty ref name");
	return gkv__backend_cas_push(&gb->cas, &gb->ncas, &gb->capcas, name, expected, new_target);
}

int gkv__git_batch_ref_log(gkv_batch *batch, const char *name,
			   const gkv_backend_reflog_entry *entry)
{
	git_batch *gb = (git_batch *)batch;
	gkv__git_who w;
	size_t i;
	int rc;

	if (!name || !*name)
		return gkv_error_set(GKV_E_INVALID, "empty ref name");
	if ((rc = gkv__git_who_make(&w, name, entry)) < 0)
		return rc;
	for (i = 0; i < gb->nwho && strcmp(gb->who[i].ref, name) != 0; i++)
		;
	if (i == gb->nwho &&
	    (rc = gkv__backend_grow((void **)&gb->who, &gb->capwho, gb->nwho, sizeof(*gb->who))) < 0) {
		gkv__git_who_free(&w);
		return rc;
	}
	if (i == gb->nwho)
		gb->nwho++;
	else
		gkv__git_who_free(&gb->who[i]);
	gb->who[i] = w;
	return 0;
}

void gkv__git_batch_abort(gkv_batch *batch)
{
	git_batch *gb = (git_batch *)batch;

	if (!gb)
		return;
	for (size_t i = 0; i < gb->nobjs; i++)
		free(gb->objs[i]);
	free(gb->objs);
	for (size_t i = 0; i < gb->npacks; i++)
		free(gb->packs[i]);
	free(gb->packs);
	gkv__backend_cas_free(gb->cas, gb->ncas);
	for (size_t i = 0; i < gb->nwho; i++)
		gkv__git_who_free(&gb->who[i]);
	free(gb->who);
	gkv__git_stream_abort(gb->stream);
	free(gb);
}

int gkv__git_batch_commit(gkv_batch *batch)
{
	git_batch *gb = (git_batch *)batch;
	gkv__git *g = (gkv__git *)batch->backend;
	gkv__git_cas *folded = NULL;
	size_t nfolded = 0;
	int rc;

	if ((rc = gkv__git_check_writable(g)) < 0 ||
	    (rc = gkv__git_cas_fold(&folded, &nfolded, gb->cas, gb->ncas)) < 0) {
		gkv__git_batch_abort(batch);
		return rc;
	}
	pthread_mutex_lock(&g->write_lock);
	if ((rc = gkv__git_writer_ready(g)) == 0 &&
	    (rc = gkv__git_cas_precheck(g, folded, nfolded)) == 0 &&
	    (rc = gkv__git_write_objects(g, gb->objs, gb->nobjs)) == 0) {
		if (gb->stream) {
			rc = gkv__git_stream_finish(gb->stream);
			gb->stream = NULL; /* finished or removed */
		}
		for (size_t i = 0; rc == 0 && i < gb->npacks; i += 2)
			rc = gkv__git_adopt_pack(g, gb->packs[i], gb->packs[i + 1]);
	}
	if (rc == 0)
		rc = gkv__git_cas_apply(g, folded, nfolded, gb->who, gb->nwho);
	pthread_mutex_unlock(&g->write_lock);
	free(folded);
	gkv__git_batch_abort(batch);
	return rc;
}
