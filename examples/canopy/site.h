/*
 * site.h -- a snapshot: every page of the blog at one commit, built at
 * once and never changed afterwards.
 *
 * The server answers from the current snapshot; an update builds the
 * next one beside it (reusing every page whose inputs did not change)
 * and swaps it in, so a request that arrives during a fetch or a build
 * is answered from the old content, whole. Snapshots are reference
 * counted: the last request still holding an old one frees it.
 */
#ifndef CANOPY_SITE_H
#define CANOPY_SITE_H
#include <stddef.h>

#include <gitkv.h>

#include "dates.h"
#include "map.h"
#include "page.h"
#include "render.h"

typedef struct snapshot {
	int refs; /* atomic */
	gkv_oid commit;
	map routes;	/* URL path without the leading '/' -> page */
	map posts;	/* key -> post (owned): what the next build reuses */
	map statics;	/* key -> static_file (owned) */
	page *notfound; /* the 404 page, in the blog's shell */
	chrome chrome;
	site_conf conf;
	size_t narticles;
	size_t nskipped; /* values that did not parse */
} snapshot;

/*
 * Build the snapshot of commit: read .config/, bring the dates d up to
 * commit (one walk), parse and render what prev (may be NULL) does not
 * already hold for the same value. Values that do not parse are skipped
 * with a warning on stderr. Returns 0, or a GKV_E_ code with err saying
 * why (no .config/uuid: GKV_E_NOTFOUND); nothing is changed then but d,
 * which stays valid.
 */
int site_build(snapshot **out, gkv_repo *repo, const gkv_oid *commit, dates *d,
	       const snapshot *prev, char *err, size_t errlen);
/* The page for path (without the leading '/', no trailing '/'), or NULL. */
page *snapshot_lookup(const snapshot *s, const char *path);
snapshot *snapshot_ref(snapshot *s);
void snapshot_unref(snapshot *s);
/* The content type served for a static file, from its extension. */
const char *site_content_type(const char *path);

#endif
