/*
 * backend.c -- the parts of the backend seam that are not one backend:
 * gkv_backend_init and the allocator of buffers that cross the seam (for
 * every backend author, built-in or not), and the small helpers the
 * built-in backends share (backend_util.h).
 */
#include "backend_util.h"

int gkv_backend_init(gkv_backend *b, unsigned int version)
{
	if (!b)
		return gkv_error_set(GKV_E_INVALID, "backend init: NULL backend");
	/* Refuse a version we do not know rather than guess its layout: a
	 * backend compiled against a newer header may have more slots. */
	if (version != GKV_BACKEND_VERSION)
		return gkv_error_set(GKV_E_INVALID,
				     "backend init: unknown backend version %u (this is %u)",
				     version, (unsigned)GKV_BACKEND_VERSION);
	memset(b, 0, sizeof(*b));
	b->version = version;
	return 0;
}

/*
 * Buffers a backend hands to the library come from the C heap, the
 * library's own: the core frees them, or gives them on to the caller as
 * a gkv_buf, whose gkv_buf_dispose frees them. Going through these two
 * functions keeps a backend built with another allocator (another C
 * runtime, a debugging malloc) from handing over memory the library
 * cannot free.
 */
void *gkv_backend_data_alloc(size_t len)
{
	void *p = malloc(len ? len : 1);

	if (!p)
		gkv__oom();
	return p;
}

void gkv_backend_data_free(void *data)
{
	free(data);
}

void gkv__backend_hex(char out[GKV_OID_HEXSZ + 1], const gkv_oid *id)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < GKV_OID_RAWSZ; i++) {
		out[2 * i] = digits[id->id[i] >> 4];
		out[2 * i + 1] = digits[id->id[i] & 0xf];
	}
	out[GKV_OID_HEXSZ] = '\0';
}

int gkv__backend_conflict(const char *name, const gkv_oid *expected, const gkv_oid *found)
{
	char want[GKV_OID_HEXSZ + 1] = "nothing", got[GKV_OID_HEXSZ + 1] = "nothing";

	if (expected)
		gkv__backend_hex(want, expected);
	if (found)
		gkv__backend_hex(got, found);
	return gkv_error_set(GKV_E_CONFLICT, "branch ref '%s' moved (expected %s, found %s)", name,
			     want, got);
}

int gkv__backend_prefix_match(const gkv_oid *id, const gkv_oid *prefix, size_t hexlen)
{
	size_t whole = hexlen / 2;

	if (hexlen > GKV_OID_HEXSZ)
		hexlen = GKV_OID_HEXSZ, whole = GKV_OID_RAWSZ;
	if (memcmp(id->id, prefix->id, whole) != 0)
		return 0;
	/* An odd length ends on the high nibble of the next byte. */
	if (hexlen % 2 && (id->id[whole] ^ prefix->id[whole]) & 0xf0)
		return 0;
	return 1;
}

int gkv__backend_cas_ok(const gkv_oid *cur, const gkv_oid *expected)
{
	if (!cur || !expected)
		return !cur && !expected;
	return memcmp(cur->id, expected->id, GKV_OID_RAWSZ) == 0;
}

int gkv__backend_grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	size_t c = *cap ? *cap * 2 : 16;
	void *p;

	if (n < *cap)
		return 0;
	if (c > SIZE_MAX / elem)
		return gkv__oom();
	if (!(p = realloc(*arr, c * elem)))
		return gkv__oom();
	*arr = p;
	*cap = c;
	return 0;
}

int gkv__backend_cas_push(gkv__backend_cas **arr, size_t *n, size_t *cap, const char *name,
    const gkv_oid *expected, const gkv_oid *new_target)
{
	gkv__backend_cas *c;
	int rc;

	if ((rc = gkv__backend_grow((void **)arr, cap, *n, sizeof(**arr))) < 0)
		return rc;
	c = &(*arr)[*n];
	memset(c, 0, sizeof(*c));
	if (!(c->name = gkv__strdup(name)))
		return GKV_E_NOMEM;
	if ((c->has_expected = expected != NULL))
		c->expected = *expected;
	if ((c->has_target = new_target != NULL))
		c->target = *new_target;
	(*n)++;
	return 0;
}

void gkv__backend_cas_free(gkv__backend_cas *arr, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(arr[i].name);
	free(arr);
}
