/*
 * test_codec_tree.c -- git's tree format: modes, git's entry order, and
 * every rule the parser enforces, each with a tree that breaks only it.
 * Payloads are copied to exact-size heap blocks so that a sanitizer sees
 * any read past the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "codec.h"

/* One entry for building raw payloads by hand (mode as text, any bytes). */
typedef struct {
	const char *mode;
	const char *name;
} ent;

static void add_raw(gkv__sbuf *b, const char *mode, const char *name, size_t namelen, int seed)
{
	unsigned char id[GKV_OID_RAWSZ];

	for (int i = 0; i < GKV_OID_RAWSZ; i++)
		id[i] = (unsigned char)(seed * 31 + i);
	assert_int_equal(gkv__sbuf_puts(b, mode), 0);
	assert_int_equal(gkv__sbuf_putc(b, ' '), 0);
	assert_int_equal(gkv__sbuf_put(b, name, namelen), 0);
	assert_int_equal(gkv__sbuf_putc(b, '\0'), 0);
	assert_int_equal(gkv__sbuf_put(b, id, sizeof(id)), 0);
}

static void build(gkv__sbuf *b, const ent *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		add_raw(b, e[i].mode, e[i].name, strlen(e[i].name), (int)i);
}

/* Parse an exact-size copy of data[0..len). */
static int parse_copy(gkv__raw_entry **out, size_t *count, const void *data, size_t len)
{
	void *copy = malloc(len ? len : 1);
	int rc;

	memcpy(copy, data, len);
	rc = gkv__tree_parse(out, count, copy, len, NULL);
	/* Names point into the payload: compare before freeing. */
	if (rc == 0 && *count)
		assert_true((const char *)(*out)[0].name >= (const char *)copy);
	free(copy);
	return rc;
}

static int parse_entries(const ent *e, size_t n)
{
	gkv__sbuf b = GKV__SBUF_INIT;
	gkv__raw_entry *v = NULL;
	size_t count;
	int rc;

	build(&b, e, n);
	rc = parse_copy(&v, &count, b.ptr, b.size);
	if (rc == 0)
		assert_int_equal(count, n);
	free(v);
	gkv__sbuf_free(&b);
	return rc;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_mode_kind(void **state)
{
	(void)state;
	assert_int_equal(gkv__mode_kind(GKV_MODE_BLOB), GKV_KIND_VALUE);
	assert_int_equal(gkv__mode_kind(GKV_MODE_TREE), GKV_KIND_DIR);
	assert_int_equal(gkv__mode_kind(GKV_MODE_EXEC), GKV_KIND_EXEC);
	assert_int_equal(gkv__mode_kind(GKV_MODE_LINK), GKV_KIND_LINK);
	assert_int_equal(gkv__mode_kind(GKV_MODE_GITLINK), GKV_KIND_SUBMODULE);
	assert_int_equal(gkv__mode_kind(0100664), GKV_KIND_NONE);
	assert_int_equal(gkv__mode_kind(0), GKV_KIND_NONE);
	assert_int_equal(gkv__mode_kind(0644), GKV_KIND_NONE);
}

static int cmp(const char *a, int at, const char *b, int bt)
{
	return gkv__entry_cmp(a, strlen(a), at, b, strlen(b), bt);
}

static void test_entry_cmp(void **state)
{
	(void)state;
	/* file a < a.txt < dir a (as "a/") < a0 */
	assert_true(cmp("a", 0, "a.txt", 0) < 0);
	assert_true(cmp("a.txt", 0, "a", 1) < 0);
	assert_true(cmp("a", 1, "a0", 0) < 0);
	assert_true(cmp("a", 0, "a", 1) < 0);
	assert_true(cmp("a", 1, "a", 0) > 0);
	assert_int_equal(cmp("a", 0, "a", 0), 0);
	assert_int_equal(cmp("a", 1, "a", 1), 0);
	assert_true(cmp("ab", 0, "b", 0) < 0);
	/* Bytes compare unsigned. */
	assert_true(cmp("a\xc3\xa9", 0, "az", 0) > 0);
	/* Directories against directories: "a-" < "a/" ... as "a-/" vs "a//". */
	assert_true(cmp("a-", 1, "a", 1) < 0);
	assert_true(cmp("a", 1, "a-", 0) > 0);
}

static void test_roundtrip(void **state)
{
	gkv__sbuf b = GKV__SBUF_INIT;
	gkv__raw_entry *v;
	size_t n;
	gkv_oid ids[4];
	const char *names[] = {"a", "a.txt", "a", "a0"};
	uint32_t modes[] = {GKV_MODE_EXEC, GKV_MODE_BLOB, GKV_MODE_TREE, GKV_MODE_LINK};

	(void)state;
	for (int i = 0; i < 4; i++)
		memset(ids[i].id, 0x11 * (i + 1), GKV_OID_RAWSZ);
	/* "a" file then "a" directory would be a duplicate: rename the file. */
	names[0] = "Z";
	for (int i = 0; i < 4; i++)
		assert_int_equal(
		    gkv__tree_put_entry(&b, modes[i], names[i], strlen(names[i]), &ids[i]), 0);
	assert_int_equal(gkv__tree_parse(&v, &n, b.ptr, b.size, NULL), 0);
	assert_int_equal(n, 4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(v[i].mode, modes[i]);
		assert_int_equal(v[i].namelen, strlen(names[i]));
		assert_memory_equal(v[i].name, names[i], v[i].namelen);
		assert_true(gkv_oid_equal(&v[i].id, &ids[i]));
	}
	assert_memory_equal(b.ptr, "100755 Z\0", 9);
	free(v);
	gkv__sbuf_free(&b);
}

static void test_put_entry_bytes(void **state)
{
	gkv__sbuf b = GKV__SBUF_INIT;
	gkv_oid id;

	(void)state;
	memset(id.id, 0xab, sizeof(id.id));
	assert_int_equal(gkv__tree_put_entry(&b, GKV_MODE_TREE, "dir", 3, &id), 0);
	assert_int_equal(b.size, 6 + 3 + 1 + 20);
	assert_memory_equal(b.ptr, "40000 dir\0", 10);
	assert_memory_equal(b.ptr + 10, id.id, 20);
	assert_int_equal(gkv__tree_put_entry(&b, GKV_MODE_GITLINK, "m", 1, &id), 0);
	assert_memory_equal(b.ptr + 30, "160000 m\0", 9);
	gkv__sbuf_free(&b);
}

static void test_put_entry_rejects(void **state)
{
	gkv__sbuf b = GKV__SBUF_INIT;
	gkv_oid id;

	(void)state;
	memset(&id, 0, sizeof(id));
	assert_int_equal(gkv__tree_put_entry(&b, 0100664, "a", 1, &id), GKV_E_INVALID);
	assert_int_equal(gkv__tree_put_entry(&b, GKV_MODE_BLOB, "", 0, &id), GKV_E_INVALID);
	assert_int_equal(gkv__tree_put_entry(&b, GKV_MODE_BLOB, ".git", 4, &id), GKV_E_INVALID);
	assert_int_equal(gkv__tree_put_entry(&b, GKV_MODE_BLOB, "a/b", 3, &id), GKV_E_INVALID);
	assert_int_equal(gkv__tree_put_entry(&b, GKV_MODE_BLOB, "a\0b", 3, &id), GKV_E_INVALID);
	assert_int_equal(b.size, 0);
	gkv__sbuf_free(&b);
}

static void test_empty(void **state)
{
	gkv__raw_entry *v = (gkv__raw_entry *)1;
	size_t n = 99;

	(void)state;
	assert_int_equal(gkv__tree_parse(&v, &n, "", 0, NULL), 0);
	assert_int_equal(n, 0);
	assert_null(v);
}

static void test_truncated_everywhere(void **state)
{
	static const ent e[] = {
	    {"100644", "a"},
	    {"40000", "a.d"},
	    {"100755", "bin"},
	    {"120000", "link"},
	};
	gkv__sbuf b = GKV__SBUF_INIT;
	gkv__raw_entry *v;
	size_t n, bounds[N(e) + 1], nb = 0, off = 0;

	(void)state;
	build(&b, e, N(e));
	bounds[nb++] = 0;
	for (size_t i = 0; i < N(e); i++) {
		off += strlen(e[i].mode) + 1 + strlen(e[i].name) + 1 + GKV_OID_RAWSZ;
		bounds[nb++] = off;
	}
	assert_int_equal(off, b.size);
	/* A cut between entries is a shorter valid tree; anywhere else is corrupt. */
	for (size_t k = 0, j = 0; k <= b.size; k++) {
		int at_bound = k == bounds[j];
		int rc = parse_copy(&v, &n, b.ptr, k);

		if (at_bound) {
			assert_int_equal(rc, 0);
			assert_int_equal(n, j);
			free(v);
			j++;
		} else {
			assert_int_equal(rc, GKV_E_CORRUPT);
			assert_null(v);
		}
	}
	gkv__sbuf_free(&b);
}

static void test_modes(void **state)
{
	static const char *const good[] = {"100644", "40000", "100755", "120000", "160000"};
	static const char *const bad[] = {
	    "100664",  "0100644", "040000", "100600", "10644",	"1006440", "100648", "10064a",	 "",
	    "-100644", "+40000",  "644",    "160001", "000000", "0",	   "4000 0", "100644\t",
	};

	(void)state;
	for (size_t i = 0; i < N(good); i++) {
		ent e = {good[i], "x"};

		assert_int_equal(parse_entries(&e, 1), 0);
	}
	for (size_t i = 0; i < N(bad); i++) {
		ent e = {bad[i], "x"};

		assert_int_equal(parse_entries(&e, 1), GKV_E_CORRUPT);
	}
}

static void test_bad_names(void **state)
{
	static const char *const bad[] = {"",	  ".",	  "..",	 ".git", ".GIT",
					  ".Git", ".gIT", "a/b", "/",	 "a/"};
	static const char *const good[] = {".gitignore", ".gi", ".git.",    "..a",  "...",
					   "git",	 "a b", "\xc3\xa9", "a\\b", ".g1t"};

	(void)state;
	for (size_t i = 0; i < N(bad); i++) {
		ent e[2] = {{"100644", bad[i]}, {"40000", bad[i]}};

		assert_int_equal(parse_entries(&e[0], 1), GKV_E_CORRUPT);
		assert_int_equal(parse_entries(&e[1], 1), GKV_E_CORRUPT);
	}
	for (size_t i = 0; i < N(good); i++) {
		ent e = {"100644", good[i]};

		assert_int_equal(parse_entries(&e, 1), 0);
	}
}

static void test_order(void **state)
{
	static const ent sorted[] = {{"100644", "a.txt"}, {"40000", "a"}, {"100644", "a0"}};
	static const ent dir_before_dot[] = {{"40000", "a"}, {"100644", "a.txt"}};
	static const ent file_after_dot[] = {{"100644", "a.txt"}, {"100644", "a"}};
	static const ent unsorted[] = {{"100644", "b"}, {"100644", "a"}};
	static const ent dir_after_zero[] = {{"100644", "a0"}, {"40000", "a"}};
	/* A gitlink sorts as a file, not as a directory. */
	static const ent gitlink[] = {{"160000", "a"}, {"100644", "a.txt"}};
	static const ent gitlink_bad[] = {{"100644", "a.txt"}, {"160000", "a"}};

	(void)state;
	assert_int_equal(parse_entries(sorted, N(sorted)), 0);
	assert_int_equal(parse_entries(dir_before_dot, N(dir_before_dot)), GKV_E_CORRUPT);
	assert_int_equal(parse_entries(file_after_dot, N(file_after_dot)), GKV_E_CORRUPT);
	assert_int_equal(parse_entries(unsorted, N(unsorted)), GKV_E_CORRUPT);
	assert_int_equal(parse_entries(dir_after_zero, N(dir_after_zero)), GKV_E_CORRUPT);
	assert_int_equal(parse_entries(gitlink, N(gitlink)), 0);
	assert_int_equal(parse_entries(gitlink_bad, N(gitlink_bad)), GKV_E_CORRUPT);
	assert_non_null(strstr(gkv_error_last(), "out of order"));
}

static void test_duplicates(void **state)
{
	static const ent same[] = {{"100644", "a"}, {"100644", "a"}};
	static const ent same_dir[] = {{"40000", "a"}, {"40000", "a"}};
	static const ent file_then_dir[] = {{"100644", "a"}, {"40000", "a"}};
	/* Sorted in git's order, yet "a" twice with entries between. */
	static const ent hidden[] = {
	    {"100644", "a"}, {"100644", "a!"}, {"100644", "a.txt"}, {"40000", "a"}};
	static const ent hidden_dir[] = {{"100755", "a"}, {"40000", "a-"}, {"40000", "a"}};
	/* Same shape without the duplicate: valid. */
	static const ent not_hidden[] = {
	    {"100644", "a!"}, {"100644", "a.txt"}, {"40000", "a"}, {"100644", "a0"}};

	(void)state;
	assert_int_equal(parse_entries(same, N(same)), GKV_E_CORRUPT);
	assert_non_null(strstr(gkv_error_last(), "duplicate"));
	assert_int_equal(parse_entries(same_dir, N(same_dir)), GKV_E_CORRUPT);
	assert_int_equal(parse_entries(file_then_dir, N(file_then_dir)), GKV_E_CORRUPT);
	assert_non_null(strstr(gkv_error_last(), "duplicate"));
	assert_int_equal(parse_entries(hidden, N(hidden)), GKV_E_CORRUPT);
	assert_non_null(strstr(gkv_error_last(), "duplicate"));
	assert_int_equal(parse_entries(hidden_dir, N(hidden_dir)), GKV_E_CORRUPT);
	assert_int_equal(parse_entries(not_hidden, N(not_hidden)), 0);
}

static void test_name_with_nul_is_truncation(void **state)
{
	gkv__sbuf b = GKV__SBUF_INIT;
	gkv__raw_entry *v = NULL;
	size_t n;

	(void)state;
	/* "a\0b" reads as name "a", then an id made of "b\0" and 18 more bytes: one short. */
	add_raw(&b, "100644", "a\0b", 3, 0);
	b.size -= 3;
	assert_int_equal(parse_copy(&v, &n, b.ptr, b.size), GKV_E_CORRUPT);
	gkv__sbuf_free(&b);
}

static void test_error_names_object(void **state)
{
	gkv_oid id;
	gkv__raw_entry *v;
	size_t n;

	(void)state;
	assert_int_equal(gkv_oid_fromstr(&id, "3f2a000000000000000000000000000000000001"), 0);
	assert_int_equal(gkv__tree_parse(&v, &n, "100644 a", 8, &id), GKV_E_CORRUPT);
	assert_non_null(strstr(gkv_error_last(), "3f2a000000000000000000000000000000000001"));
	assert_non_null(strstr(gkv_error_last(), "corrupt"));
	assert_int_equal(gkv__tree_parse(&v, &n, "100644 a", 8, NULL), GKV_E_CORRUPT);
	assert_non_null(strstr(gkv_error_last(), "tree is corrupt"));
}

static void test_large_sorted(void **state)
{
	gkv__sbuf b = GKV__SBUF_INIT;
	gkv__raw_entry *v;
	size_t n;
	char name[16];
	gkv_oid id;

	(void)state;
	memset(&id, 7, sizeof(id));
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "k%04d", i);
		assert_int_equal(gkv__tree_put_entry(&b, i % 3 ? GKV_MODE_BLOB : GKV_MODE_TREE,
						     name, strlen(name), &id),
				 0);
	}
	assert_int_equal(parse_copy(&v, &n, b.ptr, b.size), 0);
	assert_int_equal(n, 1000);
	free(v);
	gkv__sbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mode_kind),
	    cmocka_unit_test(test_entry_cmp),
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_put_entry_bytes),
	    cmocka_unit_test(test_put_entry_rejects),
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_truncated_everywhere),
	    cmocka_unit_test(test_modes),
	    cmocka_unit_test(test_bad_names),
	    cmocka_unit_test(test_order),
	    cmocka_unit_test(test_duplicates),
	    cmocka_unit_test(test_name_with_nul_is_truncation),
	    cmocka_unit_test(test_error_names_object),
	    cmocka_unit_test(test_large_sorted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
