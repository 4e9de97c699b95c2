/*
 * page.h -- one answer the server can give: status, type, body, and the
 * HTTP response made from them once, when the page is built.
 *
 * Pages are immutable and reference counted: a snapshot holds one
 * reference per route, the next snapshot takes another for every page
 * it reuses (an unchanged article, a static file), and the last
 * reference frees it. The body belongs to the prepared response, which
 * libmicrohttpd also counts, so a page released while its bytes are
 * still being sent stays readable until they are.
 */
#ifndef CANOPY_PAGE_H
#define CANOPY_PAGE_H
#include <stddef.h>
#include <stdint.h>

struct MHD_Response;

typedef struct page {
	int refs;	   /* atomic */
	int status;	   /* 200 or 301 */
	const char *ctype; /* a static string */
	const char *body;  /* owned by resp */
	size_t len;
	int64_t updated;	   /* seconds since 1970; 0: no date (no ETag) */
	char etag[48];		   /* "" when no date */
	struct MHD_Response *resp; /* headers included */
} page;

/* A page of body (malloc'd; taken over, also on failure) served with
 * status and ctype; location (copied) for a 301. NULL when out of memory
 * or when the response cannot be made. */
page *page_new(int status, const char *ctype, char *body, size_t len, int64_t updated,
	       const char *location);
page *page_ref(page *p);
void page_unref(page *p);
/* map_clear's value freer for maps of pages. */
void page_unref_void(void *p);

#endif
