/*
 * fuzz_attrs.c -- the .gitattributes rules of merges (the static parser
 * in store/merge.c), reached the way a store reaches them: the input is
 * the .gitattributes of a base and of ours (and of theirs: the file is
 * unchanged), and gkv_merge_trees merges, on a mem repo, seven paths that
 * base, ours and theirs set to "1\n", "2\n" and "3\n". Each merge
 * function gives such a path its own result -- conflict: listed; lww:
 * theirs' "3\n"; counter: "4"; lines: "2\n3\n" -- so the result shows
 * which function the parser chose for every path, and that must be the
 * one a model written here from docs/merges.md chooses: lines split on
 * '\n' up to the file's first NUL (git reads no further), fields on
 * spaces, tabs and CRs, '#' lines skipped, the pattern first
 * (cut at a NUL, as a C string), merge=lww|counter|lines choose, any
 * other merge value and merge, -merge, !merge mean conflict, the last
 * merge attribute of a line and the last matching line win, and the
 * patterns match as the table of merges.md says. A value that
 * gkv_tree_set refuses (a line of 2048 bytes or more) is refused as
 * GKV_E_INVALID and not merged.
 */
#include <fnmatch.h>
#include <string.h>

#include "fuzz.h"

#include "gitkv.h"

/* in byte order, the order of a conflict list */
static const char *const paths[] = {"README.md",   "a.count", "config/sub/y", "config/x",
				    "dir/b.count", "t.tags",  "z"};
#define NPATHS (sizeof(paths) / sizeof(*paths))

static gkv_repo *repo;
static gkv_tree *trees[3]; /* base, ours, theirs without .gitattributes */

static void cleanup(void)
{
	for (int i = 0; i < 3; i++)
		gkv_tree_free(trees[i]);
	gkv_repo_free(repo);
}

static void init(void)
{
	static const char *const vals[3] = {"1\n", "2\n", "3\n"};

	FUZZ_CHECK(gkv_repo_open(&repo, "mem:", NULL) == 0);
	for (int s = 0; s < 3; s++) {
		FUZZ_CHECK(gkv_tree_empty(&trees[s], repo) == 0);
		for (size_t i = 0; i < NPATHS; i++) {
			gkv_tree *t;

			FUZZ_CHECK(gkv_tree_set(&t, trees[s], paths[i], vals[s], 2) == 0);
			gkv_tree_free(trees[s]);
			trees[s] = t;
		}
	}
	atexit(cleanup);
}

/* merges.md's pattern table. */
static int model_match(const char *pat, const char *path)
{
	const char *base = strrchr(path, '/');
	size_t n;

	if (pat[0] == '/')
		pat++;
	if (!strchr(pat, '/'))
		return fnmatch(pat, base ? base + 1 : path, 0) == 0;
	n = strlen(pat);
	if (n >= 3 && !strcmp(pat + n - 3, "/**"))
		return !strncmp(path, pat, n - 2);
	if (strstr(pat, "**"))
		return fnmatch(pat, path, 0) == 0;
	return fnmatch(pat, path, FNM_PATHNAME) == 0;
}

static int is_blank(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* The function the attributes give path, by merges.md. */
static gkv_merge_fn model_fn(const uint8_t *v, size_t len, const char *path)
{
	gkv_merge_fn fn = GKV_MERGE_FN_CONFLICT;
	const uint8_t *nul = memchr(v, '\0', len);
	size_t start = 0;

	if (nul)
		len = (size_t)(nul - v);
	while (start <= len) {
		const uint8_t *nl = memchr(v + start, '\n', len - start);
		size_t end = nl ? (size_t)(nl - v) : len, i = start, ps, pe;
		int found = 0;
		gkv_merge_fn line_fn = GKV_MERGE_FN_CONFLICT;
		char *pat;

		while (i < end && is_blank(v[i]))
			i++;
		ps = i;
		while (i < end && !is_blank(v[i]))
			i++;
		pe = i;
		while (ps < pe && v[ps] != '#' && i < end) {
			size_t s;

			while (i < end && is_blank(v[i]))
				i++;
			s = i;
			while (i < end && !is_blank(v[i]))
				i++;
			if (i - s > 6 && !memcmp(v + s, "merge=", 6)) {
				const uint8_t *val = v + s + 6;
				size_t vl = i - s - 6;

				found = 1;
				line_fn = vl == 3 && !memcmp(val, "lww", 3)	 ? GKV_MERGE_FN_LWW
					  : vl == 7 && !memcmp(val, "counter", 7) ? GKV_MERGE_FN_COUNTER
					  : vl == 5 && !memcmp(val, "lines", 5)	 ? GKV_MERGE_FN_LINES
										 : GKV_MERGE_FN_CONFLICT;
			} else if ((i - s == 5 && !memcmp(v + s, "merge", 5)) ||
				   (i - s == 6 &&
				    (!memcmp(v + s, "-merge", 6) || !memcmp(v + s, "!merge", 6)))) {
				found = 1;
				line_fn = GKV_MERGE_FN_CONFLICT;
			}
		}
		if (found) {
			pat = malloc(pe - ps + 1);
			FUZZ_CHECK(pat != NULL);
			memcpy(pat, v + ps, pe - ps);
			pat[pe - ps] = '\0';
			if (model_match(pat, path))
				fn = line_fn;
			free(pat);
		}
		start = end + 1;
	}
	return fn;
}

static const char *const results[] = {NULL, "3\n", "4", "2\n3\n"}; /* by gkv_merge_fn */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gkv_tree *with[3], *out = NULL;
	gkv_conflicts *conflicts = NULL;
	gkv_merge_fn expect[NPATHS];
	size_t nconflicts = 0;
	int rc;

	if (!repo)
		init();
	rc = gkv_tree_set(&with[0], trees[0], ".gitattributes", data, size);
	if (rc != 0) {
		FUZZ_CHECK(rc == GKV_E_INVALID);
		return 0;
	}
	FUZZ_CHECK(gkv_tree_set(&with[1], trees[1], ".gitattributes", data, size) == 0);
	FUZZ_CHECK(gkv_tree_set(&with[2], trees[2], ".gitattributes", data, size) == 0);
	for (size_t i = 0; i < NPATHS; i++) {
		expect[i] = model_fn(data, size, paths[i]);
		nconflicts += expect[i] == GKV_MERGE_FN_CONFLICT;
	}
	rc = gkv_merge_trees(&out, &conflicts, with[0], with[1], with[2], NULL);
	if (nconflicts) {
		size_t k = 0;

		FUZZ_CHECK(rc == GKV_E_CONFLICT && out == NULL);
		FUZZ_CHECK(gkv_conflicts_count(conflicts) == nconflicts);
		for (size_t i = 0; i < NPATHS; i++)
			if (expect[i] == GKV_MERGE_FN_CONFLICT)
				FUZZ_CHECK(!strcmp(gkv_conflicts_path(conflicts, k++), paths[i]));
	} else {
		gkv_buf v;

		FUZZ_CHECK(rc == 0 && out != NULL && conflicts == NULL);
		for (size_t i = 0; i < NPATHS; i++) {
			FUZZ_CHECK(gkv_tree_get(&v, out, paths[i]) == 0);
			FUZZ_CHECK(v.size == strlen(results[expect[i]]) &&
				   !memcmp(v.ptr, results[expect[i]], v.size));
			gkv_buf_dispose(&v);
		}
		FUZZ_CHECK(gkv_tree_get(&v, out, ".gitattributes") == 0);
		FUZZ_CHECK(v.size == size && (size == 0 || !memcmp(v.ptr, data, size)));
		gkv_buf_dispose(&v);
	}
	gkv_conflicts_free(conflicts);
	gkv_tree_free(out);
	for (int s = 0; s < 3; s++)
		gkv_tree_free(with[s]);
	return 0;
}
