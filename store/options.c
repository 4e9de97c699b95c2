/*
 * options.c -- how a repo is opened: create, read-only, durability, the
 * default author, the size of the tree cache. An opaque struct with
 * setters, so bindings need no struct layout.
 */
#include "repo.h"

#define GKV_DEFAULT_CACHE_TREES 8192

int gkv_options_new(gkv_options **out)
{
	gkv_options *o;

	if (!out)
		return gkv__error(GKV_E_INVALID, "gkv_options_new: out is NULL");
	o = calloc(1, sizeof(*o));
	if (!o)
		return gkv__oom();
	o->cache_size = GKV_DEFAULT_CACHE_TREES;
	*out = o;
	return 0;
}

void gkv_options_free(gkv_options *o)
{
	if (!o)
		return;
	free(o->author_name);
	free(o->author_email);
	free(o);
}

int gkv_options_set_create(gkv_options *o, int create)
{
	if (!o)
		return gkv__error(GKV_E_INVALID, "options are NULL");
	o->create = !!create;
	return 0;
}

int gkv_options_set_readonly(gkv_options *o, int readonly)
{
	if (!o)
		return gkv__error(GKV_E_INVALID, "options are NULL");
	o->readonly = !!readonly;
	return 0;
}

int gkv_options_set_durability(gkv_options *o, gkv_durability d)
{
	if (!o)
		return gkv__error(GKV_E_INVALID, "options are NULL");
	if (d != GKV_DURABILITY_FULL && d != GKV_DURABILITY_NOSYNC &&
	    d != GKV_DURABILITY_NOSYNC_MAPPED)
		return gkv__error(GKV_E_INVALID, "unknown durability %d", (int)d);
	o->durability = d;
	o->durability_set = 1;
	return 0;
}

int gkv_options_set_author(gkv_options *o, const char *name, const char *email)
{
	gkv_signature *check;
	char *n, *e;
	int rc;

	if (!o)
		return gkv__error(GKV_E_INVALID, "options are NULL");
	/* Validate through the signature rules so a bad author fails here,
	 * not at the first commit. */
	if ((rc = gkv_signature_new(&check, name, email, 0, 0)) < 0)
		return rc;
	gkv_signature_free(check);
	n = gkv__strdup(name);
	e = gkv__strdup(email);
	if (!n || !e) {
		free(n);
		free(e);
		return gkv__oom();
	}
	free(o->author_name);
	free(o->author_email);
	o->author_name = n;
	o->author_email = e;
	return 0;
}

int gkv_options_set_cache_size(gkv_options *o, size_t trees)
{
	if (!o)
		return gkv__error(GKV_E_INVALID, "options are NULL");
	o->cache_size = trees;
	return 0;
}

int gkv_options_set_max_value(gkv_options *o, uint64_t bytes)
{
	if (!o)
		return gkv__error(GKV_E_INVALID, "options are NULL");
	o->max_value = bytes;
	return 0;
}
