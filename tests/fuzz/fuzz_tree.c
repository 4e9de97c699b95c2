/*
 * fuzz_tree.c -- the tree parser on hostile bytes. Beyond "no crash, no
 * leak": a payload the parser accepts must be exactly what the writer
 * makes of the entries it found (git's format has one spelling per tree),
 * and its entries must be strictly increasing in git's order.
 */
#include "fuzz.h"

#include "codec.h"

static void check_accepted(const uint8_t *data, size_t size, const gkv__raw_entry *v, size_t n)
{
	gkv__sbuf out = GKV__SBUF_INIT;

	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(gkv__mode_kind(v[i].mode) != GKV_KIND_NONE);
		FUZZ_CHECK(
		    gkv__tree_put_entry(&out, v[i].mode, v[i].name, v[i].namelen, &v[i].id) == 0);
		if (i > 0)
			FUZZ_CHECK(gkv__entry_cmp(v[i - 1].name, v[i - 1].namelen,
						  v[i - 1].mode == GKV_MODE_TREE, v[i].name,
						  v[i].namelen, v[i].mode == GKV_MODE_TREE) < 0);
	}
	FUZZ_CHECK(out.size == size);
	FUZZ_CHECK(size == 0 || memcmp(out.ptr, data, size) == 0);
	gkv__sbuf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gkv__raw_entry *v = NULL;
	size_t n = 0;
	gkv_oid id;
	int rc;

	memset(&id, 0x42, sizeof(id));
	rc = gkv__tree_parse(&v, &n, data, size, size % 2 ? &id : NULL);
	if (rc == 0)
		check_accepted(data, size, v, n);
	else
		FUZZ_CHECK(rc == GKV_E_CORRUPT && v == NULL && n == 0);
	free(v);
	return 0;
}
