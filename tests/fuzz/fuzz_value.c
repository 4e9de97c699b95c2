/*
 * fuzz_value.c -- the contents of .gitmodules and .gitattributes as
 * gkv__value_check (store/path.c) judges them: .gitmodules through its
 * own reading of git's config format, .gitattributes by git's size and
 * line limits. The input is the value.
 *
 * Checked on every input:
 *  - the verdict is 0 or GKV_E_INVALID with a one-line message, and is
 *    the same at every spelling of the same file (".GitModules",
 *    "d/.gitmodules", NTFS's "GITMOD~1", ...) and what gkv_tree_set says
 *    on a mem repo; any value is fine at a path that is neither file;
 *  - .gitattributes: refused exactly when a line before the first NUL is
 *    2048 bytes or longer (the rule written out again here);
 *  - .gitmodules, properties of git's config reading that any parser of
 *    it keeps: "\r\n" reads as "\n" (a value without '\r' gets the same
 *    verdict with CRLF line ends); a UTF-8 byte order mark in front
 *    changes nothing; and a refusal stands whatever lines follow (a value
 *    refused stays refused with a valid section appended after a newline,
 *    unless it ends in a backslash, which would join the next line).
 */
#include <string.h>

#include "fuzz.h"

#include "path.h"

static const char *const modules[] = {".gitmodules", ".GitModules", "d/e/.gitmodules",
				      "GITMOD~1", ".gitmodules.."};
static const char *const attributes[] = {".gitattributes", "x/.GITATTRIBUTES", "GITATT~1"};
static const char *const plain[] = {"gitmodules", ".gitmodules.txt", "a/b"};
#define COUNT(a) (sizeof(a) / sizeof(*(a)))

static gkv_repo *repo;
static gkv_tree *empty;

static void cleanup(void)
{
	gkv_tree_free(empty);
	gkv_repo_free(repo);
}

static void init(void)
{
	static const char bad_mod[] = "[submodule \"../x\"]\n\tpath = x\n";
	char long_line[2100];

	FUZZ_CHECK(gkv_repo_open(&repo, "mem:", NULL) == 0);
	FUZZ_CHECK(gkv_tree_empty(&empty, repo) == 0);
	atexit(cleanup);
	/* every spelling above is one of the files: a bad value is refused */
	for (size_t i = 0; i < COUNT(modules); i++)
		FUZZ_CHECK(gkv__value_check(modules[i], bad_mod, sizeof(bad_mod) - 1) ==
			   GKV_E_INVALID);
	memset(long_line, 'a', sizeof(long_line));
	for (size_t i = 0; i < COUNT(attributes); i++)
		FUZZ_CHECK(gkv__value_check(attributes[i], long_line, sizeof(long_line)) ==
			   GKV_E_INVALID);
}

/* The verdict at path, checked to be an allowed one, and what the tree
 * API says of the same write. */
static int verdict(const char *path, const void *v, size_t len)
{
	gkv_tree *t = NULL;
	int rc = gkv__value_check(path, v, len), trc;

	if (rc != 0) {
		FUZZ_CHECK(rc == GKV_E_INVALID);
		FUZZ_CHECK(strchr(gkv_error_last(), '\n') == NULL);
		FUZZ_CHECK(strstr(gkv_error_last(), path) != NULL);
	}
	trc = gkv_tree_set(&t, empty, path, v, len);
	FUZZ_CHECK(trc == rc && (trc == 0) == (t != NULL));
	gkv_tree_free(t);
	return rc;
}

static int attributes_model(const uint8_t *v, size_t len)
{
	const uint8_t *nul = memchr(v, '\0', len), *end = nul ? nul : v + len;
	size_t run = 0;

	for (const uint8_t *p = v; p < end; p++) {
		run = *p == '\n' ? 0 : run + 1;
		if (run >= 2048)
			return GKV_E_INVALID;
	}
	return 0;
}

/* v with every "\n" written "\r\n". */
static uint8_t *crlf(size_t *outlen, const uint8_t *v, size_t len)
{
	uint8_t *o = malloc(2 * len + 1);
	size_t k = 0;

	FUZZ_CHECK(o != NULL);
	for (size_t i = 0; i < len; i++) {
		if (v[i] == '\n')
			o[k++] = '\r';
		o[k++] = v[i];
	}
	*outlen = k;
	return o;
}

static uint8_t *concat(size_t *outlen, const void *a, size_t alen, const void *b, size_t blen)
{
	uint8_t *o = malloc(alen + blen + 1);

	FUZZ_CHECK(o != NULL);
	memcpy(o, a, alen);
	memcpy(o + alen, b, blen);
	*outlen = alen + blen;
	return o;
}

static void check_modules(const uint8_t *v, size_t len)
{
	static const char tail[] = "\n[submodule \"ok\"]\n\tpath = ok\n\turl = ./ok\n";
	int rc = verdict(modules[0], v, len);
	uint8_t *w;
	size_t wlen;

	for (size_t i = 1; i < COUNT(modules); i++)
		FUZZ_CHECK(verdict(modules[i], v, len) == rc);
	if (!memchr(v, '\r', len)) {
		w = crlf(&wlen, v, len);
		FUZZ_CHECK(gkv__value_check(modules[0], w, wlen) == rc);
		free(w);
	}
	if (len == 0 || v[0] != 0xef) {
		w = concat(&wlen, "\xef\xbb\xbf", 3, v, len);
		FUZZ_CHECK(gkv__value_check(modules[0], w, wlen) == rc);
		free(w);
	}
	if (rc != 0 && (len == 0 || v[len - 1] != '\\')) {
		w = concat(&wlen, v, len, tail, sizeof(tail) - 1);
		FUZZ_CHECK(gkv__value_check(modules[0], w, wlen) == rc);
		free(w);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int rc;

	if (!repo)
		init();
	check_modules(data, size);
	rc = verdict(attributes[0], data, size);
	FUZZ_CHECK(rc == attributes_model(data, size));
	for (size_t i = 1; i < COUNT(attributes); i++)
		FUZZ_CHECK(verdict(attributes[i], data, size) == rc);
	for (size_t i = 0; i < COUNT(plain); i++)
		FUZZ_CHECK(verdict(plain[i], data, size) == 0);
	return 0;
}
