/*
 * dates.h -- when each article was created and last updated, from
 * history.
 *
 * created: the author date of the first commit (along the first-parent
 * chain) that has the path; updated: that of the last commit that
 * changed its content. Both come from ONE walk of the history, one diff
 * per commit, not one walk per article, and a later call for a head
 * that descends from the last one reads only the new commits.
 */
#ifndef CANOPY_DATES_H
#define CANOPY_DATES_H
#include <stdint.h>

#include <gitkv.h>

#include "map.h"

typedef struct {
	int64_t created;
	int64_t updated;
} dates_entry;

typedef struct {
	map paths;    /* every path seen in history -> dates_entry */
	gkv_oid head; /* the head the map was computed for */
	int has_head;
	size_t last_walk; /* commits read by the last dates_update */
} dates;

/*
 * Bring d up to head: only the commits after d->head when head descends
 * from it along the first-parent chain, else the whole chain again. On
 * failure d is as it was and err says why; returns a GKV_E_ code.
 */
int dates_update(dates *d, gkv_repo *repo, const gkv_oid *head, char *err, size_t errlen);
/* The dates of path, or NULL if no commit had it. */
const dates_entry *dates_get(const dates *d, const char *path);
void dates_free(dates *d);

#endif
