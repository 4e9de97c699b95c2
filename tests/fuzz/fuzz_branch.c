/*
 * fuzz_branch.c -- branch names on hostile strings. The validator
 * (store/refname.c) is checked against a model written here from git's
 * rules for `git check-ref-format --branch` (refs.c, check_refname_format)
 * plus gitkv's two refusals, one rule at a time over the whole name, so
 * that the two share no code: they must agree on every input. A refusal
 * is GKV_E_INVALID with a one-line message quoting the name; an accepted
 * name makes the ref "refs/heads/<name>".
 */
#include <string.h>

#include "fuzz.h"

#include "path.h"

/* 1 if git (and gitkv) would take s as a branch name. */
static int model_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || !strcmp(s, "@") || !strcmp(s, "HEAD") || s[0] == '-')
		return 0;
	if (s[0] == '/' || s[n - 1] == '/' || s[n - 1] == '.')
		return 0;
	if (strstr(s, "//") || strstr(s, "..") || strstr(s, "@{") || strstr(s, "/."))
		return 0;
	if (s[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || strchr(" ~^:?*[\\", c))
			return 0;
	}
	/* ".lock" at the end of any component */
	for (const char *p = s; (p = strstr(p, ".lock")) != NULL; p++)
		if (p[5] == '\0' || p[5] == '/')
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *ref = NULL;
	int rc;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0'; /* a C string: the input up to its first NUL */
	rc = gkv_branch_name_validate(s);
	FUZZ_CHECK(rc == gkv__branch_check(s));
	FUZZ_CHECK((rc == 0) == model_ok(s));
	if (rc != 0) {
		const char *msg = gkv_error_last();

		FUZZ_CHECK(rc == GKV_E_INVALID && gkv_error_last_code() == GKV_E_INVALID);
		FUZZ_CHECK(!strncmp(msg, "invalid branch name", 19));
		for (const char *p = msg; *p; p++)
			FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
		FUZZ_CHECK(gkv__branch_ref(&ref, s) == GKV_E_INVALID && ref == NULL);
	} else {
		FUZZ_CHECK(gkv__branch_ref(&ref, s) == 0);
		FUZZ_CHECK(!strncmp(ref, "refs/heads/", 11) && !strcmp(ref + 11, s));
		free(ref);
	}
	free(s);
	return 0;
}
