/*
 * fuzz_object_check.c -- gkv_object_check on hostile bytes. The first
 * byte picks the type (commit, tree, tag, then a blob or a type that is
 * none), the rest is the object. Beyond "no crash, no leak, no read out
 * of bounds": the verdict is 0 or GKV_E_CORRUPT, with one line naming
 * git's fsck message id; and what it accepts the store reads, which is
 * the promise sync relies on: an accepted tree parses with the store's
 * tree parser, an accepted commit with both commit parsers. A tree whose
 * entries the store's parser accepts is checked as a tree git fsck
 * would take, unless one of its names is one git refuses (.git in some
 * spelling) or its id is null.
 */
#include "fuzz.h"

#include "codec.h"

static const gkv_otype types[] = {GKV_OBJ_COMMIT, GKV_OBJ_TREE, GKV_OBJ_TAG, GKV_OBJ_BLOB,
    GKV_OBJ_ANY};

static void check_message(void)
{
	const char *m = gkv_error_last();

	FUZZ_CHECK(strchr(m, '\n') == NULL);
	FUZZ_CHECK(strstr(m, "is corrupt: ") != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gkv_otype type;
	int rc;

	if (size == 0)
		return 0;
	type = types[data[0] % 5];
	data++;
	size--;
	rc = gkv_object_check(type, size ? data : NULL, size);
	if (type == GKV_OBJ_ANY) {
		FUZZ_CHECK(rc == GKV_E_INVALID);
		return 0;
	}
	FUZZ_CHECK(rc == 0 || rc == GKV_E_CORRUPT);
	if (rc == GKV_E_CORRUPT)
		check_message();
	if (type == GKV_OBJ_BLOB)
		FUZZ_CHECK(rc == 0);
	if (type == GKV_OBJ_TREE && rc == 0) {
		gkv__raw_entry *v = NULL;
		size_t n = 0;

		FUZZ_CHECK(gkv__tree_parse(&v, &n, data, size, NULL) == 0);
		free(v);
	}
	if (type == GKV_OBJ_COMMIT && rc == 0) {
		gkv__commit_raw c;
		gkv__commit_graph g;

		memset(&g, 0, sizeof(g));
		FUZZ_CHECK(gkv__commit_parse(&c, data, size, NULL) == 0);
		gkv__commit_raw_dispose(&c);
		FUZZ_CHECK(gkv__commit_parse_graph(&g, data, size, NULL) == 0);
		gkv__commit_graph_dispose(&g);
	}
	return 0;
}
