/*
 * page.c -- prepared responses (see page.h).
 *
 * The ETag is the updated date (what a client revalidates against)
 * followed by a hash of the bytes, so that a page whose article did not
 * change but whose surroundings did (a new blog name, a new menu entry)
 * still gets a new tag: a 304 is only ever sent for the very bytes the
 * client holds.
 */
#include "page.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

static uint32_t fnv1a(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static int add_headers(page *p, const char *location)
{
	struct MHD_Response *r = p->resp;
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, p->ctype) != MHD_YES)
		return -1;
	if (location && MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, location) != MHD_YES)
		return -1;
	if (p->updated > 0) {
		char date[64];
		time_t t = (time_t)p->updated;
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		if (MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, p->etag) != MHD_YES ||
		    MHD_add_response_header(r, MHD_HTTP_HEADER_LAST_MODIFIED, date) != MHD_YES)
			return -1;
	}
	return 0;
}

page *page_new(int status, const char *ctype, char *body, size_t len, int64_t updated,
	       const char *location)
{
	if (!body)
		return NULL;
	page *p = calloc(1, sizeof(*p));
	if (!p) {
		free(body);
		return NULL;
	}
	p->refs = 1;
	p->status = status;
	p->ctype = ctype;
	p->body = body;
	p->len = len;
	p->updated = updated;
	if (updated > 0)
		snprintf(p->etag, sizeof(p->etag), "\"%llx-%08x\"", (unsigned long long)updated,
			 fnv1a(body, len));
	p->resp = MHD_create_response_from_buffer_with_free_callback(len, body, free);
	if (!p->resp) {
		free(body);
		free(p);
		return NULL;
	}
	if (add_headers(p, location) < 0) {
		MHD_destroy_response(p->resp);
		free(p);
		return NULL;
	}
	return p;
}

page *page_ref(page *p)
{
	if (p)
		__atomic_add_fetch(&p->refs, 1, __ATOMIC_RELAXED);
	return p;
}

void page_unref(page *p)
{
	if (!p || __atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	MHD_destroy_response(p->resp);
	free(p);
}

void page_unref_void(void *p)
{
	page_unref(p);
}
