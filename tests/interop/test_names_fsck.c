/*
 * test_names_fsck.c -- the names and special files git refuses, checked
 * against git itself.
 *
 * Three sides of one table of names and one of .gitmodules contents:
 *  - git agrees: each name gitkv refuses, put in a tree by git mktree
 *    (which checks nothing), makes git fsck --strict fail, and each name
 *    gitkv accepts passes it; likewise for .gitmodules contents;
 *  - a git store refuses every refused name, through every write (store
 *    set, test-and-set, transaction), as a value and as a directory, and
 *    is left exactly as it was: same refs, same objects, fsck clean;
 *  - every accepted tricky name, written through gitkv as a value and as
 *    a directory, and every accepted .gitmodules, passes git fsck --strict
 *    and reads back.
 *
 * Everything lives under one mkdtemp directory, removed at the end.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <ftw.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gitkv.h"

static char tmpdir[] = "/tmp/gkv-interop-names-XXXXXX";

/* Refused as a path segment anywhere: git's spellings of .git. */
static const char *const refused_names[] = {
    ".git", ".GIT", ".git ", ".git.", ".git. . .", "git~1", "GIT~1", "git~1.", "git~1 ",
    ".git:", ".git::$INDEX_ALLOCATION", "git~1::$INDEX_ALLOCATION", ".git:x", ".git\\x",
    "a\\.git", "x\\git~1", "a\\.GIT. ", "\xe2\x80\x8c.git", ".g\xe2\x80\x8dit",
    ".gi\xe2\x80\x8et", ".git\xe2\x80\x8f", ".\xe2\x80\xaagit", ".g\xe2\x80\xabit",
    ".gi\xe2\x80\xact", ".GI\xe2\x80\xadT", ".git\xe2\x80\xae", ".g\xe2\x81\xaait",
    ".g\xe2\x81\xafit", "\xef\xbb\xbf.git", ".GiT\xef\xbb\xbf",
};
#define N_REFUSED (sizeof(refused_names) / sizeof(refused_names[0]))

/* Valid as the last segment, refused before it: git requires a blob. */
static const char *const file_only_names[] = {
    ".gitmodules", ".GITMODULES", ".gitmodules ", ".gitmodules.", ".gitmodules:x",
    "gitmod~1", "GITMOD~4", "gi7eba~1", "gi7eb~12", "~1234567", "a\\.gitmodules",
    ".git\xe2\x80\x8cmodules", ".gitattributes", ".GitAttributes.", "gitatt~1", "gi7d29~1",
};
#define N_FILE_ONLY (sizeof(file_only_names) / sizeof(file_only_names[0]))

/* Names close to those, which git accepts: as values and as directories. */
static const char *const accepted_names[] = {
    ".gitx", ".git-foo", "x.git", "a.git.", "git", "git~", "git~2", "git~10", "git~1x",
    "xgit~1", "..git", ".gi", ".git2", "git~0", ".gitignore", ".gitkeep", "git:x", "x:y",
    ".g\xe2\x80\x8bit", ".git\xc2\xa0", ".g\xc4\xb1t", "\xe2\x80\x8c", "a\\b", "a\\.gitx",
    ".gitmodules.x", ".gitmodulesx", "gitmod~5", "gi7eba~0", "gi7ebb~1", ".mailmap",
    "caf\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "sp ace", "-", "@", "#", "~",
    "a.", "...", ".hidden",
};
#define N_ACCEPTED (sizeof(accepted_names) / sizeof(accepted_names[0]))

/* .gitmodules that git fsck --strict refuses. (Newer git also refuses
 * URLs its normaliser rejects, such as port 0 or "/../" above the root,
 * which gitkv refuses too; and git built where char is unsigned skips
 * a byte order mark, which gitkv does everywhere. test_path.c has those,
 * as the git here may take them.) */
static const char *const bad_modules[] = {
    "[submodule \"x\"]\n\tpath = -x\n\turl = https://example.com/x\n",
    "[submodule \"x\"]\n\tpath = x\n\turl = -x\n",
    "[submodule \"x\"]\nurl = \"-x\"\n",
    "[submodule \"x\"]\n  URL  =  --upload-pack=touch  # c\n",
    "[submodule.x]\nurl = -x\n",
    "[submodule \"x\"]\r\npath = -x\r\n",
    "[submodule \"x\"]\nupdate = !rm -rf /\n",
    "[submodule \"..\"]\npath = x\n",
    "[submodule \"a/../b\"]\npath = x\n",
    "[submodule \"x\"]\nurl = ./%0ahost\n",
    "[submodule \"x\"]\nurl = ../:x\n",
    "[submodule \"x\"]\nurl = http::example.com/x\n",
    "[submodule \"x\"]\nurl = https:///example.com/x\n",
    "[submodule \"x\"]\nurl = https://example.com/%0a\n",
    "[submodule \"ok\"]\npath = ok\n[submodule \"x\"]\npath = -x\n[oops\n",
};
#define N_BAD_MODULES (sizeof(bad_modules) / sizeof(bad_modules[0]))

/* .gitmodules that git fsck --strict accepts, however odd. */
static const char *const good_modules[] = {
    "",
    "[submodule \"lib\"]\n\tpath = lib\n\turl = https://example.com/lib.git\n",
    "[submodule \"x\"]\npath = a-b\nurl = git@example.com:-x.git\n",
    "[submodule \"x\"]\nurl = \" -x\"\n",
    "[submodule \"x\"]\nurl = ../x\n",
    "[submodule \"x\"]\nurl = https://user:pw@example.com:8443/a/../b?q=%20#f\n",
    "[submodule \"x\"]\nupdate = rebase\n",
    "[submodule \"a..b\"]\npath = x\n",
    "[submodule]\nurl = -x\n",
    "[other \"x\"]\npath = -x\n",
    "[submodule \"x\"]\n# url = -x\n",
    "[submodule \"x\"]\nbad line\nurl = -x\n",
    "[submodule \"x\"]\nurl = \"-x\n",
    "[submodule \"x\"]\nurl = \\q-x\n",
};
#define N_GOOD_MODULES (sizeof(good_modules) / sizeof(good_modules[0]))

/* ---- helpers ---- */

static void vformat(char *out, size_t size, const char *fmt, va_list ap)
{
	int n = vsnprintf(out, size, fmt, ap);

	assert_true(n >= 0 && (size_t)n < size);
}

/* Run a shell command; its exit status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vformat(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Run a shell command that must succeed; all of its output (malloc()ed). */
static char *out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *out(const char *fmt, ...)
{
	char cmd[4096];
	size_t cap = 4096, n = 0, k;
	char *buf = malloc(cap);
	va_list ap;
	FILE *p;

	assert_non_null(buf);
	va_start(ap, fmt);
	vformat(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_non_null(p = popen(cmd, "r"));
	while ((k = fread(buf + n, 1, cap - n - 1, p)) > 0) {
		n += k;
		if (cap - n < 2) {
			cap *= 2;
			assert_non_null(buf = realloc(buf, cap));
		}
	}
	buf[n] = '\0';
	if (pclose(p) != 0)
		fail_msg("command failed: %s\n%s", cmd, buf);
	return buf;
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* A fresh bare repository made by git; its path (static). */
static const char *fresh_git(void)
{
	static char dir[256];

	snprintf(dir, sizeof(dir), "%s/bygit", tmpdir);
	assert_int_equal(sh("rm -rf '%s' && git init -q --bare '%s'", dir, dir), 0);
	return dir;
}

/* One tree for git to judge: name holding a blob, or (dir) a tree holding
 * a blob "x"; content makes every case's objects distinct. */
typedef struct {
	const char *name, *content;
	int dir;
	char blob[41], inner[41], outer[41];
} git_case;

/* Run git mktree --batch -z on the entries (one per tree); ids into ids. */
static void mktree_batch(const char *g, char **entries, size_t n, char (*ids)[41])
{
	char file[300], *o, *line;
	FILE *f;

	snprintf(file, sizeof(file), "%s/mktree", tmpdir);
	assert_non_null(f = fopen(file, "wb"));
	for (size_t i = 0; i < n; i++) {
		fputs(entries[i], f);
		fputc('\0', f);
		fputc('\0', f); /* an empty record ends a tree */
	}
	assert_int_equal(fclose(f), 0);
	o = out("git --git-dir='%s' mktree --batch -z < '%s'", g, file);
	line = o;
	for (size_t i = 0; i < n; i++) {
		assert_true(strlen(line) >= 40);
		memcpy(ids[i], line, 40);
		ids[i][40] = '\0';
		line += strcspn(line, "\n") + 1;
	}
	free(o);
}

/*
 * Build every case's tree in one repository made by git (git mktree
 * checks nothing), run git fsck --strict once, and set each case's
 * verdict in ok[]: 1 unless fsck reports an error on one of its objects.
 * gitmodulesParse ("could not parse") is a note, not an error.
 */
static void git_judge(git_case *c, size_t n, int *ok)
{
	const char *g = fresh_git();
	char file[300], list[300], *o, **entries, (*ids)[41];
	FILE *lf;

	snprintf(list, sizeof(list), "%s/blobs", tmpdir);
	assert_non_null(lf = fopen(list, "w"));
	for (size_t i = 0; i < n; i++) {
		snprintf(file, sizeof(file), "%s/content%zu", tmpdir, i);
		write_file(file, c[i].content, strlen(c[i].content));
		fprintf(lf, "%s\n", file);
	}
	assert_int_equal(fclose(lf), 0);
	o = out("git --git-dir='%s' hash-object -w --stdin-paths < '%s'", g, list);
	for (size_t i = 0; i < n; i++) {
		memcpy(c[i].blob, o + 41 * i, 40);
		c[i].blob[40] = '\0';
	}
	free(o);
	assert_non_null(entries = calloc(n, sizeof(*entries)));
	assert_non_null(ids = calloc(n, sizeof(*ids)));
	for (size_t i = 0; i < n; i++)
		assert_true(asprintf(&entries[i], "100644 blob %s\tx", c[i].blob) > 0);
	mktree_batch(g, entries, n, ids);
	for (size_t i = 0; i < n; i++) {
		memcpy(c[i].inner, ids[i], 41);
		free(entries[i]);
		if (c[i].dir)
			assert_true(asprintf(&entries[i], "040000 tree %s\t%s", c[i].inner, c[i].name) > 0);
		else
			assert_true(asprintf(&entries[i], "100644 blob %s\t%s", c[i].blob, c[i].name) > 0);
	}
	mktree_batch(g, entries, n, ids);
	for (size_t i = 0; i < n; i++) {
		memcpy(c[i].outer, ids[i], 41);
		free(entries[i]);
	}
	free(entries);
	free(ids);
	o = out("git --git-dir='%s' fsck --strict --no-dangling 2>&1 | grep -v gitmodulesParse; true", g);
	for (size_t i = 0; i < n; i++)
		ok[i] = !strstr(o, c[i].outer) && !strstr(o, c[i].inner) && !strstr(o, c[i].blob);
	free(o);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static gkv_repo *open_git_store(const char *name, char *gitdir, size_t cap)
{
	gkv_options *opts = NULL;
	gkv_repo *repo = NULL;
	char uri[300];
	int rc;

	snprintf(gitdir, cap, "%s/%s", tmpdir, name);
	snprintf(uri, sizeof(uri), "git:%s", gitdir);
	assert_int_equal(gkv_options_new(&opts), 0);
	assert_int_equal(gkv_options_set_create(opts, 1), 0);
	assert_int_equal(gkv_options_set_author(opts, "Interop", "interop@example.com"), 0);
	rc = gkv_repo_open(&repo, uri, opts);
	gkv_options_free(opts);
	if (rc != 0)
		fail_msg("opening %s: %d %s", uri, rc, gkv_error_last());
	return repo;
}

/* What a failed write could change: every ref and every object file. */
static char *git_state(const char *gitdir)
{
	return out("cd '%s' && git for-each-ref && git rev-parse HEAD && find objects -type f | sort",
	    gitdir);
}

/* fsck --strict passes and says nothing but notes that a .gitmodules
 * does not parse (which good_modules holds on purpose). */
static void assert_fsck_clean(const char *gitdir)
{
	char *o = out("o=$(git --git-dir='%s' fsck --strict --no-dangling 2>&1); rc=$?;"
		      " printf '%%s' \"$o\" | grep -v gitmodulesParse; exit $rc", gitdir);

	if (*o)
		fail_msg("git fsck --strict in %s:\n%s", gitdir, o);
	free(o);
}

static void expect_invalid(int rc, const char *what, const char *path)
{
	if (rc != GKV_E_INVALID)
		fail_msg("%s('%s') returned %d (%s), expected GKV_E_INVALID", what, path, rc,
		    gkv_error_last());
}

/* Every write of value at path refused, through the store and a txn. */
static void refuse_everywhere(gkv_store *s, gkv_txn *txn, const char *path, const char *value)
{
	gkv_buf v = {(unsigned char *)value, strlen(value)};
	gkv_oid id;

	expect_invalid(gkv_store_set(&id, s, path, value, strlen(value), NULL), "store_set", path);
	expect_invalid(gkv_store_test_and_set(&id, s, path, NULL, &v, NULL), "test_and_set", path);
	expect_invalid(gkv_txn_set(txn, path, value, strlen(value)), "txn_set", path);
}

/* ---- tests ---- */

/* Add a case; its content names it, so that its objects are its own. */
static void add_case(git_case *c, size_t *n, char **texts, const char *name, int dir,
    const char *content)
{
	assert_true(asprintf(&texts[*n], "%s# %zu %s\n", content, *n, dir ? "dir" : "file") > 0);
	c[*n].name = name;
	c[*n].dir = dir;
	c[*n].content = texts[*n];
	(*n)++;
}

static void test_git_agrees(void **state)
{
	enum { MAX = 2 * (N_REFUSED + N_FILE_ONLY + N_ACCEPTED) + N_BAD_MODULES + N_GOOD_MODULES };
	git_case *c = calloc(MAX, sizeof(*c));
	char **texts = calloc(MAX, sizeof(*texts));
	int *ok = calloc(MAX, sizeof(*ok)), want[MAX], wrong = 0;
	size_t n = 0;

	(void)state;
	assert_non_null(c);
	assert_non_null(texts);
	assert_non_null(ok);
	for (size_t i = 0; i < N_REFUSED; i++) {
		want[n] = 0, add_case(c, &n, texts, refused_names[i], 0, "v\n");
		want[n] = 0, add_case(c, &n, texts, refused_names[i], 1, "v\n");
	}
	for (size_t i = 0; i < N_FILE_ONLY; i++) {
		want[n] = 1, add_case(c, &n, texts, file_only_names[i], 0, "");
		want[n] = 0, add_case(c, &n, texts, file_only_names[i], 1, "v\n");
	}
	for (size_t i = 0; i < N_ACCEPTED; i++) {
		want[n] = 1, add_case(c, &n, texts, accepted_names[i], 0, "v\n");
		want[n] = 1, add_case(c, &n, texts, accepted_names[i], 1, "v\n");
	}
	for (size_t i = 0; i < N_BAD_MODULES; i++)
		want[n] = 0, add_case(c, &n, texts, ".gitmodules", 0, bad_modules[i]);
	for (size_t i = 0; i < N_GOOD_MODULES; i++)
		want[n] = 1, add_case(c, &n, texts, ".gitmodules", 0, good_modules[i]);
	git_judge(c, n, ok);
	for (size_t i = 0; i < n; i++) {
		if (ok[i] == want[i])
			continue;
		print_error("git fsck --strict %s a %s named '%s' holding:\n%s", ok[i] ? "accepts" : "refuses",
		    c[i].dir ? "directory" : "file", c[i].name, c[i].content);
		wrong++;
	}
	for (size_t i = 0; i < n; i++)
		free(texts[i]);
	free(texts);
	free(c);
	free(ok);
	assert_int_equal(wrong, 0);
}

static void test_refused_names_change_nothing(void **state)
{
	char gitdir[300], path[512], *before, *after, *deep, *longseg;
	gkv_repo *repo = open_git_store("refused", gitdir, sizeof(gitdir));
	gkv_store *s = NULL;
	gkv_txn *txn = NULL;
	gkv_oid id;

	(void)state;
	assert_int_equal(gkv_store_open_branch(&s, repo, "main"), 0);
	assert_int_equal(gkv_store_set(&id, s, "d/kept", "1", 1, NULL), 0);
	assert_int_equal(gkv_store_set(&id, s, ".gitmodules", "", 0, NULL), 0);
	before = git_state(gitdir);
	assert_int_equal(gkv_txn_begin(&txn, s), 0);
	for (size_t i = 0; i < N_REFUSED; i++) {
		const char *n = refused_names[i];

		refuse_everywhere(s, txn, n, "v");
		snprintf(path, sizeof(path), "d/%s", n);
		refuse_everywhere(s, txn, path, "v");
		snprintf(path, sizeof(path), "%s/x", n);
		refuse_everywhere(s, txn, path, "v");
		snprintf(path, sizeof(path), "d/%s/x/y", n);
		refuse_everywhere(s, txn, path, "v");
	}
	for (size_t i = 0; i < N_FILE_ONLY; i++) {
		snprintf(path, sizeof(path), "%s/x", file_only_names[i]);
		refuse_everywhere(s, txn, path, "v");
		snprintf(path, sizeof(path), "d/%s/x", file_only_names[i]);
		refuse_everywhere(s, txn, path, "v");
	}
	for (size_t i = 0; i < N_BAD_MODULES; i++) {
		refuse_everywhere(s, txn, ".gitmodules", bad_modules[i]);
		refuse_everywhere(s, txn, "d/.gitmodules", bad_modules[i]);
		refuse_everywhere(s, txn, "gitmod~1", bad_modules[i]);
		refuse_everywhere(s, txn, "d/.GITMODULES. ", bad_modules[i]);
	}
	/* deeper than git's cap, and a name longer than fsck allows */
	deep = malloc(2 * 4097);
	assert_non_null(deep);
	for (size_t i = 0; i < 4097; i++)
		memcpy(deep + 2 * i, "a/", 2);
	deep[2 * 4097 - 1] = '\0';
	refuse_everywhere(s, txn, deep, "v");
	assert_non_null(strstr(gkv_error_last(), "path too deep"));
	free(deep);
	longseg = malloc(4098);
	assert_non_null(longseg);
	memset(longseg, 'n', 4097);
	longseg[4097] = '\0';
	refuse_everywhere(s, txn, longseg, "v");
	free(longseg);
	/* the transaction holds no change: its commit makes no commit */
	assert_int_equal(gkv_txn_commit(&id, txn, GKV_TXN_FAIL, NULL), 0);
	gkv_txn_free(txn);
	after = git_state(gitdir);
	assert_string_equal(before, after);
	free(before);
	free(after);
	assert_fsck_clean(gitdir);
	gkv_store_free(s);
	gkv_repo_free(repo);
}

static void test_accepted_names_pass_fsck(void **state)
{
	char gitdir[300], path[512], *o;
	gkv_repo *repo = open_git_store("accepted", gitdir, sizeof(gitdir));
	gkv_store *s = NULL;
	gkv_txn *txn = NULL;
	gkv_buf b = {NULL, 0};
	gkv_oid id;

	(void)state;
	assert_int_equal(gkv_store_open_branch(&s, repo, "main"), 0);
	for (size_t i = 0; i < N_ACCEPTED; i++) {
		const char *n = accepted_names[i];

		if (gkv_store_set(&id, s, n, n, strlen(n), NULL) != 0)
			fail_msg("set '%s': %s", n, gkv_error_last());
		snprintf(path, sizeof(path), "dirs/%s/x", n);
		if (gkv_store_set(&id, s, path, n, strlen(n), NULL) != 0)
			fail_msg("set '%s': %s", path, gkv_error_last());
	}
	/* the special files as files, each with an accepted content */
	for (size_t i = 0; i < N_FILE_ONLY; i++) {
		const char *m = good_modules[i % N_GOOD_MODULES];

		snprintf(path, sizeof(path), "special%zu/%s", i, file_only_names[i]);
		if (gkv_store_set(&id, s, path, m, strlen(m), NULL) != 0)
			fail_msg("set '%s': %s", path, gkv_error_last());
	}
	assert_int_equal(gkv_txn_begin(&txn, s), 0);
	for (size_t i = 0; i < N_GOOD_MODULES; i++) {
		snprintf(path, sizeof(path), "modules%zu/.gitmodules", i);
		assert_int_equal(gkv_txn_set(txn, path, good_modules[i], strlen(good_modules[i])), 0);
	}
	assert_int_equal(gkv_txn_set(txn, ".gitmodules", good_modules[1], strlen(good_modules[1])),
	    0);
	assert_int_equal(gkv_txn_commit(&id, txn, GKV_TXN_FAIL, NULL), 0);
	gkv_txn_free(txn);
	assert_fsck_clean(gitdir);
	for (size_t i = 0; i < N_ACCEPTED; i++) {
		assert_int_equal(gkv_store_get(&b, s, accepted_names[i]), 0);
		assert_int_equal(b.size, strlen(accepted_names[i]));
		assert_memory_equal(b.ptr, accepted_names[i], b.size);
		gkv_buf_dispose(&b);
	}
	/* git sees the same .gitmodules */
	o = out("git --git-dir='%s' show main:.gitmodules", gitdir);
	assert_string_equal(o, good_modules[1]);
	free(o);
	gkv_store_free(s);
	gkv_repo_free(repo);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_git_agrees),
	    cmocka_unit_test(test_refused_names_change_nothing),
	    cmocka_unit_test(test_accepted_names_pass_fsck),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
