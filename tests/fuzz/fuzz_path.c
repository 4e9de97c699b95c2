/*
 * fuzz_path.c -- path and branch-name validation, and id prefixes, on
 * hostile strings. A valid path must split into valid segments, as many
 * as its depth, that join back to it; a valid branch name must make a ref
 * under refs/heads/.
 */
#include <strings.h>

#include "fuzz.h"

#include "path.h"
#include "codec.h"

static void check_path(const char *s)
{
	size_t pos = 0, count = 0, len = strlen(s), seglen, joined = 0;
	const char *seg;

	if (gkv__path_check(s, 1) != 0) {
		FUZZ_CHECK(gkv_error_last_code() == GKV_E_INVALID);
		FUZZ_CHECK(strchr(gkv_error_last(), '\n') == NULL);
		return;
	}
	FUZZ_CHECK(gkv_path_validate(s) == 0);
	FUZZ_CHECK((gkv__path_check(s, 0) == 0) == (len > 0));
	while (gkv__path_next(s, &pos, &seg, &seglen)) {
		FUZZ_CHECK(gkv__segment_ok(seg, seglen));
		FUZZ_CHECK(seg == s + joined);
		joined += seglen + 1;
		count++;
	}
	FUZZ_CHECK(count == gkv__path_depth(s));
	FUZZ_CHECK(count == 0 ? len == 0 : joined == len + 1);
}

static void check_branch(const char *s)
{
	char *ref = NULL;
	int rc = gkv__branch_check(s);

	FUZZ_CHECK(rc == gkv_branch_name_validate(s));
	if (rc != 0) {
		FUZZ_CHECK(rc == GKV_E_INVALID);
		FUZZ_CHECK(strchr(gkv_error_last(), '\n') == NULL);
		FUZZ_CHECK(gkv__branch_ref(&ref, s) == GKV_E_INVALID && ref == NULL);
		return;
	}
	FUZZ_CHECK(gkv__branch_ref(&ref, s) == 0);
	FUZZ_CHECK(!strncmp(ref, "refs/heads/", 11) && !strcmp(ref + 11, s));
	free(ref);
}

static void check_prefix(const char *s)
{
	gkv_oid id, full;
	size_t n;
	char hex[GKV_OID_HEXSZ + 1];

	if (gkv__hex_prefix_parse(&id, &n, s) != 0)
		return;
	FUZZ_CHECK(n >= 1 && n <= GKV_OID_HEXSZ && n == strlen(s));
	gkv_oid_fmt(hex, &id);
	FUZZ_CHECK(!strncasecmp(hex, s, n));
	if (n == GKV_OID_HEXSZ) {
		FUZZ_CHECK(gkv_oid_fromstr(&full, s) == 0 && gkv_oid_equal(&full, &id));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The validators take C strings: the input up to its first NUL. */
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check_path(s);
	check_branch(s);
	check_prefix(s);
	free(s);
	return 0;
}
