/*
 * result.c -- what a fetch found: the remote's heads, its default
 * branch and how many objects were stored.
 */
#include "sync_int.h"
#include "util.h"

gkv_fetch_result *gkv__fetch_result_new(void)
{
	gkv_fetch_result *r = calloc(1, sizeof(*r));
	if (!r)
		gkv__oom();
	return r;
}

int gkv__fetch_result_add(gkv_fetch_result *r, const char *name, const gkv_oid *id)
{
	gkv__head *h;
	char *copy;
	if (!(copy = gkv__strdup(name)))
		return GKV_E_NOMEM;
	if (!(h = realloc(r->heads, (r->count + 1) * sizeof(*h)))) {
		free(copy);
		return gkv__oom();
	}
	r->heads = h;
	h[r->count].name = copy;
	h[r->count].id = *id;
	r->count++;
	return 0;
}

static int head_cmp(const void *a, const void *b)
{
	return strcmp(((const gkv__head *)a)->name, ((const gkv__head *)b)->name);
}

void gkv__fetch_result_sort(gkv_fetch_result *r)
{
	if (r->count > 1)
		qsort(r->heads, r->count, sizeof(*r->heads), head_cmp);
}

size_t gkv_fetch_result_count(const gkv_fetch_result *r)
{
	return r ? r->count : 0;
}

const char *gkv_fetch_result_branch(const gkv_fetch_result *r, size_t i)
{
	return r && i < r->count ? r->heads[i].name : NULL;
}

const gkv_oid *gkv_fetch_result_id(const gkv_fetch_result *r, size_t i)
{
	return r && i < r->count ? &r->heads[i].id : NULL;
}

const char *gkv_fetch_result_default_branch(const gkv_fetch_result *r)
{
	return r ? r->default_branch : NULL;
}

uint64_t gkv_fetch_result_objects(const gkv_fetch_result *r)
{
	return r ? r->objects : 0;
}

void gkv_fetch_result_free(gkv_fetch_result *r)
{
	size_t i;
	if (!r)
		return;
	for (i = 0; i < r->count; i++)
		free(r->heads[i].name);
	free(r->heads);
	free(r->default_branch);
	free(r);
}
