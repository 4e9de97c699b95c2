/*
 * test_path.c -- keys: which paths are valid (each rule with a path that
 * breaks only it), the names git reserves on NTFS and HFS+, the depth and
 * length caps, the checks of .gitmodules and .gitattributes content, the
 * messages, and the segment iterator. tests/interop/test_names_fsck.c
 * checks the same tables against git fsck itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "path.h"

static void test_valid(void **state)
{
	static const char *const ok[] = {
	    "a",
	    "a/b",
	    "a/b/c",
	    ".gitignore",
	    "..a",
	    "a.",
	    "...",
	    "a b",
	    "\xc3\xa9/\xe2\x82\xac",
	    ".git2",
	    "x/.gitmodules",
	    "a\\b",
	    "-",
	    "@",
	    "a\nb",
	    "posts/2016/marrakech.md",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(gkv__path_check(ok[i], 0), 0);
		assert_int_equal(gkv__path_check(ok[i], 1), 0);
		assert_int_equal(gkv_path_validate(ok[i]), 0);
	}
}

static void test_root(void **state)
{
	(void)state;
	assert_int_equal(gkv__path_check("", 1), 0);
	assert_int_equal(gkv_path_validate(""), 0);
	assert_int_equal(gkv__path_check("", 0), GKV_E_INVALID);
	assert_int_equal(gkv__path_check(NULL, 1), GKV_E_INVALID);
	assert_int_equal(gkv_path_validate(NULL), GKV_E_INVALID);
}

static void expect_invalid(const char *path, const char *why)
{
	char want[256];

	assert_int_equal(gkv__path_check(path, 1), GKV_E_INVALID);
	assert_int_equal(gkv_error_last_code(), GKV_E_INVALID);
	snprintf(want, sizeof(want), "invalid path '%s': %s", path, why);
	assert_string_equal(gkv_error_last(), want);
}

static void test_invalid(void **state)
{
	(void)state;
	expect_invalid("a//b", "empty segment");
	expect_invalid("/a", "leading '/'");
	expect_invalid("/", "leading '/'");
	expect_invalid("a/", "trailing '/'");
	expect_invalid("a//", "trailing '/'");
	expect_invalid(".", "segment '.'");
	expect_invalid("a/./b", "segment '.'");
	expect_invalid("..", "segment '..'");
	expect_invalid("a/..", "segment '..'");
	expect_invalid(".git", "segment '.git' is reserved");
	expect_invalid(".GIT", "segment '.GIT' is reserved");
	expect_invalid("a/.Git/b", "segment '.Git' is reserved");
	expect_invalid("a/.gIt", "segment '.gIt' is reserved");
	expect_invalid("d/git~1", "segment 'git~1' is reserved: NTFS reads it as '.git'");
	expect_invalid(".git. ", "segment '.git. ' is reserved: NTFS reads it as '.git'");
	expect_invalid(".g\xe2\x80\x8cit/x",
	    "segment '.g\xe2\x80\x8cit' is reserved: HFS+ reads it as '.git'");
	expect_invalid(".gitmodules/x", "segment '.gitmodules' names '.gitmodules', which git "
					"requires to be a file, not a directory");
	expect_invalid("a\\.gitmodules\\b",
	    "segment 'a\\.gitmodules\\b' is reserved: NTFS reads it as a directory '.gitmodules'");
}

/* Every spelling of .git that NTFS or HFS+ reads as .git, as git's
 * is_ntfs_dotgit and is_hfs_dotgit refuse them. */
static const char *const reserved[] = {
    ".git", ".GIT", ".gIt", ".git ", ".git.", ".git. . .", ".GIT  ", ".git...",
    "git~1", "GIT~1", "Git~1", "git~1.", "git~1 ", "git~1 .",
    ".git:", ".git:x", ".git::$INDEX_ALLOCATION", ".git.::$INDEX_ALLOCATION", "git~1::$DATA",
    "git~1:x", ".git\\x", "a\\.git", "a\\.GIT. ", "x\\git~1", "a\\b\\.git:y",
    "\xe2\x80\x8c.git", ".g\xe2\x80\x8dit", ".gi\xe2\x80\x8et", ".git\xe2\x80\x8f",
    ".\xe2\x80\xaagit", ".g\xe2\x80\xabi\xe2\x80\xact", ".GI\xe2\x80\xadT\xe2\x80\xae",
    ".g\xe2\x81\xaait", ".g\xe2\x81\xabit", ".g\xe2\x81\xacit", ".g\xe2\x81\xadit",
    ".g\xe2\x81\xaeit", ".g\xe2\x81\xafit", "\xef\xbb\xbf.git\xef\xbb\xbf",
    "\xe2\x80\x8c\xe2\x80\x8d.\xe2\x80\x8cG\xe2\x80\x8cI\xe2\x80\x8cT\xe2\x80\x8c",
    /* git stops reading a name at malformed UTF-8: ".git" then that */
    ".git\xe2\x80", ".git\xff", ".git\xe2\x80\x8c\xc0\xae",
    /* .gitmodules and .gitattributes as a directory on NTFS */
    ".gitmodules\\x", "gitmod~1\\x", ".gitattributes \\x",
};

/* Names close to those, which git accepts (fsck --strict included). */
static const char *const unreserved[] = {
    ".gitx", ".git-foo", "x.git", "a.git.", "git", "git~", "git~2", "git~10", "git~1x",
    "xgit~1", "..git", ".gi", ".git2", "git~0", ".gitignore", ".gitkeep", "git:x", "x:y",
    ".g\xe2\x80\x8bit", /* U+200B is not ignored by HFS+ */
    ".git\xc2\xa0", ".g\xc4\xb1t", "\xe2\x80\x8c", ".\xe2\x80\x8c", "\xe2\x80",
    ".g\xe2it", "a\\b", "a\\.gitx", "\\", ".gitmodules", ".GITMODULES ",
    "gitmod~1", ".gitmodules.x", "gitmod~5", "gi7eba~0", ".gitattributes", "gitatt~1",
};

static void test_reserved(void **state)
{
	char path[256];

	(void)state;
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		if (gkv__path_check(reserved[i], 1) != GKV_E_INVALID)
			fail_msg("'%s' was accepted", reserved[i]);
		assert_non_null(strstr(gkv_error_last(), "is reserved"));
		assert_false(gkv__segment_ok(reserved[i], strlen(reserved[i])));
		snprintf(path, sizeof(path), "a/%s/b", reserved[i]);
		assert_int_equal(gkv__path_check(path, 1), GKV_E_INVALID);
		snprintf(path, sizeof(path), "a/b/%s", reserved[i]);
		assert_int_equal(gkv__path_check(path, 1), GKV_E_INVALID);
	}
	for (size_t i = 0; i < sizeof(unreserved) / sizeof(unreserved[0]); i++) {
		if (gkv__path_check(unreserved[i], 0) != 0)
			fail_msg("'%s' was refused: %s", unreserved[i], gkv_error_last());
		assert_true(gkv__segment_ok(unreserved[i], strlen(unreserved[i])));
		snprintf(path, sizeof(path), "a/%s", unreserved[i]);
		assert_int_equal(gkv__path_check(path, 0), 0);
	}
}

/* .gitmodules and .gitattributes in every spelling git reads: valid as the
 * last segment (a file), refused before it (a directory). */
static const char *const special_names[] = {
    ".gitmodules", ".GITMODULES", ".gitmodules ", ".gitmodules. .", ".gitmodules:x",
    ".gitmodules::$DATA", "gitmod~1", "GITMOD~4", "gitmod~2 .", "gi7eba~1", "GI7EBA~9",
    "gi7eba~1.", "gi7eb~12", "gi7e~123", "gi~12345", "g~123456", "~1234567", "a\\.gitmodules",
    "a\\gitmod~1", ".git\xe2\x80\x8cmodules", "\xef\xbb\xbf.GitModules\xe2\x81\xaf",
    ".gitattributes", ".GitAttributes.", "gitatt~1", "gi7d29~1", "gi7d2~99",
    ".gitattri\xe2\x80\x8e" "butes", "x\\.gitattributes:y",
};

static void test_special_files_are_files(void **state)
{
	char path[256];

	(void)state;
	for (size_t i = 0; i < sizeof(special_names) / sizeof(special_names[0]); i++) {
		const char *n = special_names[i];

		snprintf(path, sizeof(path), "d/%s", n);
		if (gkv__path_check(path, 0) != 0)
			fail_msg("'%s' was refused: %s", path, gkv_error_last());
		assert_true(gkv__segment_ok(n, strlen(n)));
		snprintf(path, sizeof(path), "%s/x", n);
		if (gkv__path_check(path, 0) != GKV_E_INVALID)
			fail_msg("'%s' was accepted", path);
		assert_non_null(strstr(gkv_error_last(), "to be a file, not a directory"));
		snprintf(path, sizeof(path), "d/%s/x/y", n);
		assert_int_equal(gkv__path_check(path, 0), GKV_E_INVALID);
	}
	/* near misses are ordinary directories */
	assert_int_equal(gkv__path_check(".gitmodulesx/y", 0), 0);
	assert_int_equal(gkv__path_check("gitmod~5/y", 0), 0);
	assert_int_equal(gkv__path_check("gi7eba~0/y", 0), 0);
	assert_int_equal(gkv__path_check("gi7ebb~1/y", 0), 0);
	assert_int_equal(gkv__path_check("gi7eba~1x/y", 0), 0);
	assert_int_equal(gkv__path_check("gi7eba1~1/y", 0), 0);
	assert_int_equal(gkv__path_check(".gitignore/y", 0), 0);
}

/* A path of n segments "a/a/.../a" (malloc()ed). */
static char *deep_path(size_t n)
{
	char *p = malloc(2 * n);

	assert_non_null(p);
	for (size_t i = 0; i < n; i++) {
		p[2 * i] = 'a';
		p[2 * i + 1] = '/';
	}
	p[2 * n - 1] = '\0';
	return p;
}

static void test_depth_and_length(void **state)
{
	char *p, *seg;

	(void)state;
	p = deep_path(GKV__PATH_MAX_DEPTH);
	assert_int_equal(gkv__path_check(p, 0), 0);
	assert_int_equal(gkv__path_depth(p), GKV__PATH_MAX_DEPTH);
	free(p);
	p = deep_path(GKV__PATH_MAX_DEPTH + 1);
	assert_int_equal(gkv__path_check(p, 0), GKV_E_INVALID);
	assert_non_null(strstr(gkv_error_last(), "path too deep: more than 4096 segments"));
	free(p);
	/* 40,000 segments, checked many times: one pass that stops at the
	 * cap, no recursion (a recursive check would need 40,000 frames). */
	p = deep_path(40000);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(gkv__path_check(p, 1), GKV_E_INVALID);
	free(p);

	seg = malloc(GKV__SEGMENT_MAX + 2);
	assert_non_null(seg);
	memset(seg, 'x', GKV__SEGMENT_MAX + 1);
	seg[GKV__SEGMENT_MAX] = '\0';
	assert_int_equal(gkv__path_check(seg, 0), 0);
	assert_true(gkv__segment_ok(seg, GKV__SEGMENT_MAX));
	seg[GKV__SEGMENT_MAX] = 'x';
	seg[GKV__SEGMENT_MAX + 1] = '\0';
	assert_int_equal(gkv__path_check(seg, 0), GKV_E_INVALID);
	assert_non_null(strstr(gkv_error_last(), "segment longer than 4096 bytes"));
	assert_false(gkv__segment_ok(seg, GKV__SEGMENT_MAX + 1));
	free(seg);
}

/* .gitmodules contents git fsck refuses (gitmodulesName, -Url, -Path,
 * -Update), and the text each message must hold. */
static const struct {
	const char *text, *why;
} bad_modules[] = {
    {"[submodule \"x\"]\n\tpath = -x\n\turl = https://example.com/x\n", "path '-x'"},
    {"[submodule \"x\"]\n\tpath = x\n\turl = -x\n", "url '-x' could be read as an option"},
    {"[submodule \"x\"]\nurl = \"-x\"", "url '-x'"},
    {"[submodule \"x\"]\nurl=--upload-pack=touch ; comment\n", "url '--upload-pack=touch'"},
    {"[submodule \"x\"]\n  URL  =  -x  # comment\n", "url '-x'"},
    {"[SubModule \"x\"]\nPath = -p\n", "path '-p'"},
    {"[submodule.x]\nurl = -x\n", "submodule 'x'"},
    {"[submodule \"a.b\"]\r\nurl = -x\r\n", "submodule 'a.b'"},
    {"\xef\xbb\xbf[submodule \"x\"]\nurl = -x\n", "url '-x'"},
    {"[submodule \"x\"]\nurl = \\\n-x\n", "url '-x'"},
    {"[submodule \"x\"]\nupdate = !rm -rf /\n", "update '!rm -rf /' runs a command"},
    {"[submodule \"..\"]\npath = x\n", "submodule name '..'"},
    {"[submodule \"a/../b\"]\npath = x\n", "climbs out"},
    {"[submodule \"a\\\\..\"]\npath = x\n", "climbs out"},
    {"[submodule \"\"]\npath = x\n", "submodule name ''"},
    {"[submodule \"x\"]\nurl = ./%0ahost\n", "holds a newline"},
    {"[submodule \"x\"]\nurl = \"./a\\nb\"\n", "holds a newline"},
    {"[submodule \"x\"]\nurl = git://host/%0a\n", "holds a newline"},
    {"[submodule \"x\"]\nurl = ../:x\n", "climbs out of its root"},
    {"[submodule \"x\"]\nurl = ./../..//x\n", "climbs out of its root"},
    {"[submodule \"x\"]\nurl = http::example.com/x\n", "not a URL git accepts"},
    {"[submodule \"x\"]\nurl = https:///example.com/x\n", "not a URL git accepts"},
    {"[submodule \"x\"]\nurl = https://exa mple.com/x\n", "not a URL git accepts"},
    {"[submodule \"x\"]\nurl = https://example.com:0/x\n", "not a URL git accepts"},
    {"[submodule \"x\"]\nurl = https://example.com:99999/x\n", "not a URL git accepts"},
    {"[submodule \"x\"]\nurl = https://example.com:8x/x\n", "not a URL git accepts"},
    {"[submodule \"x\"]\nurl = https://example.com/../x\n", "not a URL git accepts"},
    {"[submodule \"x\"]\nurl = https://example.com/a/%2e%2e/%2E%2E/x\n", "not a URL git"},
    {"[submodule \"x\"]\nurl = https://example.com/%zz\n", "not a URL git accepts"},
    {"[submodule \"x\"]\nurl = https://example.com/%0a\n", "not a URL git accepts"},
    {"[submodule \"x\"]\nurl = ftps::https://u%@example.com/\n", "not a URL git accepts"},
    {"[submodule \"ok\"]\npath = ok\n[submodule \"x\"]\npath = -x\n[oops\n", "path '-x'"},
};

/* .gitmodules contents git fsck accepts. */
static const char *const good_modules[] = {
    "",
    "[submodule \"lib\"]\n\tpath = lib\n\turl = https://example.com/lib.git\n",
    "[submodule \"x\"]\npath = a-b\nurl = git@example.com:-x.git\n",
    "[submodule \"x\"]\nurl = \" -x\"\n",                     /* a space first */
    "[submodule \"x\"]\nurl = ../x\nurl = ./../y\nurl = ../../z\n", /* relative */
    "[submodule \"x\"]\nurl = https://user:pw@example.com:8443/a/../b?q=%20#f\n",
    "[submodule \"x\"]\nurl = ssh://example.com/%0a\n", /* not checked by git */
    "[submodule \"x\"]\nupdate = rebase\nupdate = none\n",
    "[submodule \"a..b\"]\npath = x\n",
    "[submodule]\nurl = -x\n",        /* no subsection: not a submodule */
    "[other \"x\"]\npath = -x\n",    /* another section */
    "[submodule \"x\"]\nurl\n",        /* no value */
    "[submodule \"x\"]\n# url = -x\n", /* a comment */
    "[submodule \"x\"]\n; path = -x\n",
    "[submodule \"x\"]\nbad line\nurl = -x\n", /* git stops at the bad line */
    "[submodule \"x\"\nurl = -x\n",            /* likewise at a bad header */
    "[submodule \"x\"]\nurl = \"-x\n",          /* and an open quote */
    "[submodule \"x\"]\nurl = \\q-x\n",        /* and a bad escape */
    "\xef\xbb[submodule \"x\"]\nurl = -x\n",  /* and half a BOM */
    "binary \x01\x02\xff garbage",
};

static void test_gitmodules_content(void **state)
{
	static const char *const paths[] = {
	    ".gitmodules", "d/.gitmodules", "gitmod~1", "d/.GITMODULES. ", "gi7eba~1", "a\\.gitmodules",
	    ".gitmodules:x", ".git\xe2\x80\x8cmodules",
	};

	(void)state;
	for (size_t p = 0; p < sizeof(paths) / sizeof(paths[0]); p++) {
		for (size_t i = 0; i < sizeof(bad_modules) / sizeof(bad_modules[0]); i++) {
			const char *t = bad_modules[i].text;

			if (gkv__value_check(paths[p], t, strlen(t)) != GKV_E_INVALID)
				fail_msg("%s: accepted\n%s", paths[p], t);
			if (!strstr(gkv_error_last(), bad_modules[i].why) ||
			    !strstr(gkv_error_last(), "(git fsck refuses it)"))
				fail_msg("message '%s' lacks '%s'", gkv_error_last(), bad_modules[i].why);
			assert_non_null(strstr(gkv_error_last(), "invalid value for '"));
		}
		for (size_t i = 0; i < sizeof(good_modules) / sizeof(good_modules[0]); i++) {
			const char *t = good_modules[i];

			if (gkv__value_check(paths[p], t, strlen(t)) != 0)
				fail_msg("%s: refused: %s\n%s", paths[p], gkv_error_last(), t);
		}
	}
	/* anywhere else the content is not read */
	for (size_t i = 0; i < sizeof(bad_modules) / sizeof(bad_modules[0]); i++) {
		const char *t = bad_modules[i].text;

		assert_int_equal(gkv__value_check("gitmodules", t, strlen(t)), 0);
		assert_int_equal(gkv__value_check(".gitmodules/x", t, strlen(t)), 0);
		assert_int_equal(gkv__value_check("x.gitmodules", t, strlen(t)), 0);
		assert_int_equal(gkv__value_check(".gitmodulesx", t, strlen(t)), 0);
	}
	/* a NUL ends a value as git reads it */
	assert_int_equal(gkv__value_check(".gitmodules", "[submodule \"x\"]\nurl = \\\"\0-x\\\"\n", 30), 0);
	assert_int_equal(gkv__value_check(".gitmodules", "[submodule \"x\"]\nurl = -\0x\n", 24),
	    GKV_E_INVALID);
}

static void test_gitattributes_content(void **state)
{
	size_t n = 3 * 2048;
	char *big = malloc(n + 1);

	(void)state;
	assert_non_null(big);
	memset(big, 'a', n);
	big[n] = '\0';
	/* lines of 2047 bytes are read, one of 2048 is not */
	big[2047] = '\n';
	big[2 * 2048 - 1] = '\n';
	assert_int_equal(gkv__value_check(".gitattributes", big, 2 * 2048), 0);
	assert_int_equal(gkv__value_check(".gitattributes", big, 2 * 2048 - 1), 0);
	assert_int_equal(gkv__value_check("d/.gitattributes", big, n), GKV_E_INVALID);
	assert_non_null(strstr(gkv_error_last(), "a line of 2048 bytes or more"));
	assert_int_equal(gkv__value_check("gitatt~1", big, n), GKV_E_INVALID);
	assert_int_equal(gkv__value_check("gi7d29~1", big, n), GKV_E_INVALID);
	/* fsck counts lines only up to the first NUL */
	big[10] = '\0';
	assert_int_equal(gkv__value_check(".gitattributes", big, n), 0);
	/* elsewhere long lines are fine */
	big[10] = 'a';
	assert_int_equal(gkv__value_check(".gitattributesx", big, n), 0);
	assert_int_equal(gkv__value_check("a/b", big, n), 0);
	free(big);
}

static void test_message_one_line(void **state)
{
	(void)state;
	assert_int_equal(gkv__path_check("a\n//b", 1), GKV_E_INVALID);
	assert_null(strchr(gkv_error_last(), '\n'));
}

static void test_segment_ok(void **state)
{
	(void)state;
	assert_true(gkv__segment_ok("a", 1));
	assert_true(gkv__segment_ok(".gitx", 5));
	assert_true(gkv__segment_ok(".gitmodules", 11));
	assert_false(gkv__segment_ok("git~1", 5));
	assert_false(gkv__segment_ok(".git ", 5));
	assert_true(gkv__segment_ok(".git", 3)); /* only ".gi" */
	assert_false(gkv__segment_ok("", 0));
	assert_false(gkv__segment_ok(".", 1));
	assert_false(gkv__segment_ok("..", 2));
	assert_false(gkv__segment_ok(".git", 4));
	assert_false(gkv__segment_ok(".GiT", 4));
	assert_false(gkv__segment_ok("a/b", 3));
	assert_false(gkv__segment_ok("a\0b", 3));
	assert_false(gkv__segment_ok(NULL, 0));
}

static void test_next_and_depth(void **state)
{
	const char *seg;
	size_t len, pos = 0;

	(void)state;
	assert_true(gkv__path_next("ab/c/def", &pos, &seg, &len));
	assert_int_equal(len, 2);
	assert_memory_equal(seg, "ab", 2);
	assert_true(gkv__path_next("ab/c/def", &pos, &seg, &len));
	assert_int_equal(len, 1);
	assert_memory_equal(seg, "c", 1);
	assert_true(gkv__path_next("ab/c/def", &pos, &seg, &len));
	assert_int_equal(len, 3);
	assert_memory_equal(seg, "def", 3);
	assert_false(gkv__path_next("ab/c/def", &pos, &seg, &len));
	assert_false(gkv__path_next("ab/c/def", &pos, &seg, &len));
	pos = 0;
	assert_false(gkv__path_next("", &pos, &seg, &len));
	assert_int_equal(gkv__path_depth(""), 0);
	assert_int_equal(gkv__path_depth("a"), 1);
	assert_int_equal(gkv__path_depth("a/b"), 2);
	assert_int_equal(gkv__path_depth("a/b/c.d"), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),      cmocka_unit_test(test_root),
	    cmocka_unit_test(test_invalid),    cmocka_unit_test(test_message_one_line),
	    cmocka_unit_test(test_segment_ok), cmocka_unit_test(test_next_and_depth),
	    cmocka_unit_test(test_reserved),   cmocka_unit_test(test_special_files_are_files),
	    cmocka_unit_test(test_depth_and_length),
	    cmocka_unit_test(test_gitmodules_content),
	    cmocka_unit_test(test_gitattributes_content),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
