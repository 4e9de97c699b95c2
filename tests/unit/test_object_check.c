/*
 * test_object_check.c -- gkv_object_check against git fsck --strict.
 *
 * Each case is an object built by hand, what gkv_object_check must say
 * of it (0, or GKV_E_CORRUPT naming git's fsck message id), and what git
 * fsck --strict says of the same bytes written with `git hash-object
 * --literally` into a scratch repository: it must refuse exactly what
 * gitkv refuses, except where gitkv is documented to be stricter
 * (gitkv.h, store/object_check.c) -- and there the test checks that git
 * does accept it, so that the documented list stays true.
 *
 * The scratch repository holds the empty blob, the empty tree and a root
 * commit, which the cases name, so that git finds every link whole and
 * judges only the object itself.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "unit_util.h"

#define EMPTY_BLOB "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
#define EMPTY_TREE "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
#define SIG "A U Thor <author@example.com> 1700000000 +0100"
#define ROOT_COMMIT "tree " EMPTY_TREE "\nauthor " SIG "\ncommitter " SIG "\n\nroot\n"

/* What git fsck --strict does with a case. */
enum git_says {
	GIT_REFUSES, /* exits non-zero */
	GIT_ACCEPTS, /* exits 0 */
	GIT_NEWER,   /* refused by git 2.43 and later only: not asked */
};

typedef struct {
	const char *what;
	gkv_otype type;
	const char *data;
	size_t len;
	const char *msgid; /* NULL: gkv_object_check accepts it */
	enum git_says git;
} check_case;

static char *scratch;
static char root_hex[GKV_OID_HEXSZ + 1];

/* ------------------------------------------------------- building trees */

typedef struct {
	char b[16384];
	size_t n;
} tbuf;

static void ent(tbuf *t, const char *mode, const char *name, size_t namelen, const char *hex)
{
	gkv_oid id = uu_oid(hex);

	memcpy(t->b + t->n, mode, strlen(mode));
	t->n += strlen(mode);
	t->b[t->n++] = ' ';
	memcpy(t->b + t->n, name, namelen);
	t->n += namelen;
	t->b[t->n++] = '\0';
	memcpy(t->b + t->n, id.id, GKV_OID_RAWSZ);
	t->n += GKV_OID_RAWSZ;
}

#define ENT(t, mode, name, hex) ent((t), (mode), (name), sizeof(name) - 1, (hex))

/* ------------------------------------------------------------ checking */

static const char *git_type(gkv_otype t)
{
	return t == GKV_OBJ_COMMIT ? "commit" : t == GKV_OBJ_TREE ? "tree" : t == GKV_OBJ_TAG ? "tag" : "blob";
}

/* git fsck --strict on the case's bytes: its exit status, its output in out. */
static int git_fsck(const check_case *c, char *out, size_t cap)
{
	char path[512], hex[64];
	FILE *f;
	int st;

	snprintf(path, sizeof(path), "%s/case", scratch);
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(c->data, 1, c->len, f), c->len);
	fclose(f);
	assert_int_equal(uu_sh(hex, sizeof(hex), "git -C %s hash-object --literally -t %s -w case",
	    scratch, git_type(c->type)), 0);
	assert_int_equal(strlen(hex), GKV_OID_HEXSZ);
	st = uu_sh(out, cap, "git -C %s fsck --strict --no-dangling 2>&1", scratch);
	/* Leave the repository as it was for the next case. */
	if (strcmp(hex, EMPTY_BLOB) && strcmp(hex, EMPTY_TREE) && strcmp(hex, root_hex))
		assert_int_equal(uu_sh(NULL, 0, "rm -f %s/objects/%.2s/%s", scratch, hex, hex + 2), 0);
	return st;
}

static void run_case(const check_case *c)
{
	int rc = gkv_object_check(c->type, c->data, c->len);
	char out[8192];
	int st;

	if (!c->msgid) {
		if (rc != 0)
			fail_msg("%s: refused: %s", c->what, gkv_error_last());
	} else {
		if (rc != GKV_E_CORRUPT)
			fail_msg("%s: returned %d, expected GKV_E_CORRUPT (%s)", c->what, rc, c->msgid);
		if (!strstr(gkv_error_last(), c->msgid))
			fail_msg("%s: message '%s' does not name %s", c->what, gkv_error_last(),
			    c->msgid);
	}
	if (c->git == GIT_NEWER)
		return;
	st = git_fsck(c, out, sizeof(out));
	if (c->git == GIT_ACCEPTS && st != 0)
		fail_msg("%s: git fsck --strict refuses it:\n%s", c->what, out);
	if (c->git == GIT_REFUSES && st == 0)
		fail_msg("%s: git fsck --strict accepts it:\n%s", c->what, out);
}

#define CASE(what, type, bytes, msgid, git) {what, type, bytes, sizeof(bytes) - 1, msgid, git}
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* --------------------------------------------------------------- trees */

typedef struct {
	const char *what;
	tbuf t;
	const char *msgid;
	enum git_says git;
} tree_case;

static void tree_run(tree_case *tc)
{
	check_case c = {tc->what, GKV_OBJ_TREE, tc->t.b, tc->t.n, tc->msgid, tc->git};

	run_case(&c);
}

static void test_tree_good(void **state)
{
	tree_case tc = {"every kind, git's order", {{0}, 0}, NULL, GIT_ACCEPTS};
	check_case empty = {"the empty tree", GKV_OBJ_TREE, "", 0, NULL, GIT_ACCEPTS};

	(void)state;
	/* "a.txt" < "a/" (the directory a) < "a0": '.' < '/' < '0' */
	ENT(&tc.t, "100644", ".gitmodules", EMPTY_BLOB);
	ENT(&tc.t, "100644", "a.txt", EMPTY_BLOB);
	ENT(&tc.t, "40000", "a", EMPTY_TREE);
	ENT(&tc.t, "100644", "a0", EMPTY_BLOB);
	ENT(&tc.t, "100755", "run", EMPTY_BLOB);
	ENT(&tc.t, "160000", "sub", EMPTY_BLOB);
	ENT(&tc.t, "120000", "symlink", EMPTY_BLOB);
	tree_run(&tc);
	run_case(&empty);
}

static void one_entry(const char *what, const char *mode, const char *name, size_t namelen,
    const char *hex, const char *msgid, enum git_says git)
{
	tree_case tc = {what, {{0}, 0}, msgid, git};

	ent(&tc.t, mode, name, namelen, hex);
	tree_run(&tc);
}

#define ONE(what, mode, name, hex, msgid, git) \
	one_entry((what), (mode), (name), sizeof(name) - 1, (hex), (msgid), (git))

static void test_tree_names(void **state)
{
	static char big[4200];

	(void)state;
	ONE("'.git'", "40000", ".git", EMPTY_TREE, "hasDotgit", GIT_REFUSES);
	ONE("'.GIT' as a file", "100644", ".GIT", EMPTY_BLOB, "hasDotgit", GIT_REFUSES);
	ONE("NTFS short name", "40000", "GIT~1", EMPTY_TREE, "hasDotgit", GIT_REFUSES);
	ONE("NTFS trailing dot and space", "40000", ".git. ", EMPTY_TREE, "hasDotgit", GIT_REFUSES);
	ONE("NTFS stream", "100644", ".git::$INDEX_ALLOCATION", EMPTY_BLOB, "hasDotgit",
	    GIT_REFUSES);
	ONE("NTFS after a backslash", "100644", "a\\.git", EMPTY_BLOB, "hasDotgit", GIT_REFUSES);
	ONE("HFS+ zero-width joiner", "40000", ".g\xe2\x80\x8dit", EMPTY_TREE, "hasDotgit",
	    GIT_REFUSES);
	ONE("HFS+ byte order mark at the end", "40000", ".git\xef\xbb\xbf", EMPTY_TREE, "hasDotgit",
	    GIT_REFUSES);
	ONE("malformed UTF-8 after .git", "100644", ".git\xff", EMPTY_BLOB, "hasDotgit",
	    GIT_REFUSES);
	ONE("'.gitx' is another name", "100644", ".gitx", EMPTY_BLOB, NULL, GIT_ACCEPTS);
	ONE("'git~2' is another name", "100644", "git~2", EMPTY_BLOB, NULL, GIT_ACCEPTS);
	ONE("'.'", "40000", ".", EMPTY_TREE, "hasDot", GIT_REFUSES);
	ONE("'..'", "40000", "..", EMPTY_TREE, "hasDotdot", GIT_REFUSES);
	ONE("'/' in a name", "100644", "a/b", EMPTY_BLOB, "fullPathname", GIT_REFUSES);
	ONE("the null id", "100644", "a", "0000000000000000000000000000000000000000", "nullSha1",
	    GIT_REFUSES);
	ONE(".gitmodules as a symbolic link", "120000", ".gitmodules", EMPTY_BLOB,
	    "gitmodulesSymlink", GIT_REFUSES);
	ONE(".gitmodules as a directory", "40000", ".gitmodules", EMPTY_TREE, "gitmodulesBlob",
	    GIT_REFUSES);
	ONE(".gitattributes as a directory", "40000", ".gitattributes", EMPTY_TREE,
	    "gitattributesBlob", GIT_REFUSES);
	ONE(".gitattributes as a symbolic link (git: only a note)", "120000", ".gitattributes",
	    EMPTY_BLOB, NULL, GIT_ACCEPTS);
	memset(big, 'n', sizeof(big));
	one_entry("a name of 4097 bytes", "100644", big, 4097, EMPTY_BLOB, "largePathname",
	    GIT_NEWER);
	one_entry("a name of 4096 bytes", "100644", big, 4096, EMPTY_BLOB, NULL, GIT_ACCEPTS);
}

static void test_tree_modes(void **state)
{
	(void)state;
	ONE("zero-padded directory mode", "040000", "d", EMPTY_TREE, "zeroPaddedFilemode",
	    GIT_REFUSES);
	ONE("zero-padded file mode", "0100644", "f", EMPTY_BLOB, "zeroPaddedFilemode",
	    GIT_REFUSES);
	/* Old gits wrote 100664: git only notes it; gitkv cannot read it. */
	ONE("mode 100664", "100664", "f", EMPTY_BLOB, "badFilemode", GIT_ACCEPTS);
	ONE("mode 100600", "100600", "f", EMPTY_BLOB, "badFilemode", GIT_ACCEPTS);
	ONE("mode 1100644", "1100644", "f", EMPTY_BLOB, "badFilemode", GIT_ACCEPTS);
	ONE("not octal", "100648", "f", EMPTY_BLOB, "badTree", GIT_REFUSES);
	ONE("empty mode", "", "f", EMPTY_BLOB, "badTree", GIT_REFUSES);
}

static void test_tree_order(void **state)
{
	tree_case unsorted = {"b before a", {{0}, 0}, "treeNotSorted", GIT_REFUSES};
	tree_case dir_order = {"directory a before a.txt", {{0}, 0}, "treeNotSorted", GIT_REFUSES};
	tree_case dup = {"a twice", {{0}, 0}, "duplicateEntries", GIT_REFUSES};
	tree_case dup_kinds = {"a file and a directory a", {{0}, 0}, "duplicateEntries",
	    GIT_REFUSES};
	tree_case dup_apart = {"a, a-b, a.c, then directory a", {{0}, 0}, "duplicateEntries",
	    GIT_REFUSES};
	tree_case dup_deep = {"foo, foo.bar, foo.bar.baz, foo.bar/, foo/", {{0}, 0},
	    "duplicateEntries", GIT_REFUSES};
	tree_case apart_ok = {"a-b, a.c, then directory a", {{0}, 0}, NULL, GIT_ACCEPTS};

	(void)state;
	ENT(&unsorted.t, "100644", "b", EMPTY_BLOB);
	ENT(&unsorted.t, "100644", "a", EMPTY_BLOB);
	tree_run(&unsorted);
	ENT(&dir_order.t, "40000", "a", EMPTY_TREE);
	ENT(&dir_order.t, "100644", "a.txt", EMPTY_BLOB);
	tree_run(&dir_order);
	ENT(&dup.t, "100644", "a", EMPTY_BLOB);
	ENT(&dup.t, "100644", "a", EMPTY_BLOB);
	tree_run(&dup);
	ENT(&dup_kinds.t, "100644", "a", EMPTY_BLOB);
	ENT(&dup_kinds.t, "40000", "a", EMPTY_TREE);
	tree_run(&dup_kinds);
	ENT(&dup_apart.t, "100644", "a", EMPTY_BLOB);
	ENT(&dup_apart.t, "100644", "a-b", EMPTY_BLOB);
	ENT(&dup_apart.t, "100644", "a.c", EMPTY_BLOB);
	ENT(&dup_apart.t, "40000", "a", EMPTY_TREE);
	tree_run(&dup_apart);
	ENT(&dup_deep.t, "100644", "foo", EMPTY_BLOB);
	ENT(&dup_deep.t, "100644", "foo.bar", EMPTY_BLOB);
	ENT(&dup_deep.t, "100644", "foo.bar.baz", EMPTY_BLOB);
	ENT(&dup_deep.t, "40000", "foo.bar", EMPTY_TREE);
	ENT(&dup_deep.t, "40000", "foo", EMPTY_TREE);
	tree_run(&dup_deep);
	ENT(&apart_ok.t, "100644", "a-b", EMPTY_BLOB);
	ENT(&apart_ok.t, "100644", "a.c", EMPTY_BLOB);
	ENT(&apart_ok.t, "40000", "a", EMPTY_TREE);
	tree_run(&apart_ok);
}

static void test_tree_truncated(void **state)
{
	tree_case whole = {"whole", {{0}, 0}, NULL, GIT_ACCEPTS};
	size_t cuts[] = {1, 6, 7, 8, 9, 20};

	(void)state;
	ENT(&whole.t, "100644", "ab", EMPTY_BLOB);
	ENT(&whole.t, "100644", "cd", EMPTY_BLOB);
	for (size_t i = 0; i < N(cuts); i++) {
		check_case c = {"truncated", GKV_OBJ_TREE, whole.t.b, whole.t.n - cuts[i], "badTree",
		    GIT_REFUSES};

		run_case(&c);
	}
	{
		check_case c = {"empty name", GKV_OBJ_TREE, "100644 \0" "0123456789abcdefghij", 28,
		    "badTree", GIT_REFUSES};

		run_case(&c);
	}
}

/* ------------------------------------------------------------- commits */

static char commit_buf[4096];
/* What commit_case builds: a commit, or a tag (test_tags). */
static gkv_otype commit_type = GKV_OBJ_COMMIT;

static void commit_case(const char *what, const char *msgid, enum git_says git, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));

/* Build the object from fmt, which is given the root commit's id. */
static void commit_case(const char *what, const char *msgid, enum git_says git, const char *fmt,
    ...)
{
	check_case c;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(commit_buf, sizeof(commit_buf), fmt, ap);
	va_end(ap);

	c.what = what;
	c.type = commit_type;
	c.data = commit_buf;
	c.len = (size_t)n;
	c.msgid = msgid;
	c.git = git;
	run_case(&c);
}

#define COMMIT(what, fmt, msgid, git) commit_case((what), (msgid), (git), fmt, root_hex)
#define TREE_LINE "tree " EMPTY_TREE "\n"
#define WHO(line) "author " line "\ncommitter " SIG "\n\nmsg\n"

static void test_commit_good(void **state)
{
	(void)state;
	COMMIT("root commit", TREE_LINE "author " SIG "\ncommitter " SIG "\n\nroot\n%.0s", NULL,
	    GIT_ACCEPTS);
	COMMIT("with a parent, other headers, a signature", TREE_LINE "parent %s\nauthor " SIG
	    "\ncommitter " SIG "\nencoding UTF-8\ngpgsig -----BEGIN PGP SIGNATURE-----\n "
	    "abc\n -----END PGP SIGNATURE-----\n\nsubject\n\nbody\n", NULL, GIT_ACCEPTS);
	COMMIT("no body", TREE_LINE "author " SIG "\ncommitter " SIG "\n%.0s", NULL, GIT_ACCEPTS);
	COMMIT("date 0, empty email, negative zone", TREE_LINE
	    "author A <> 0 -0130\ncommitter " SIG "\n\nm%.0s", NULL, GIT_ACCEPTS);
}

static void test_commit_headers(void **state)
{
	(void)state;
	COMMIT("no tree", "parent %s\nauthor " SIG "\ncommitter " SIG "\n\nm\n", "missingTree",
	    GIT_REFUSES);
	COMMIT("short tree id", "tree 4b825dc6\nauthor " SIG "\ncommitter " SIG "\n\nm\n%.0s",
	    "badTreeSha1", GIT_REFUSES);
	COMMIT("bad parent id", TREE_LINE "parent %.39sx\nauthor " SIG "\ncommitter " SIG
	    "\n\nm\n", "badParentSha1", GIT_REFUSES);
	COMMIT("no author", TREE_LINE "committer " SIG "\n\nm\n%.0s", "missingAuthor",
	    GIT_REFUSES);
	COMMIT("two authors", TREE_LINE "author " SIG "\nauthor " SIG "\ncommitter " SIG
	    "\n\nm\n%.0s", "multipleAuthors", GIT_REFUSES);
	COMMIT("no committer", TREE_LINE "author " SIG "\n\nm\n%.0s", "missingCommitter",
	    GIT_REFUSES);
	COMMIT("headers without their newline", TREE_LINE "author " SIG "\ncommitter " SIG
	    "%.0s", "unterminatedHeader", GIT_REFUSES);
	COMMIT("parent after the committer (git ignores it)", TREE_LINE "author " SIG
	    "\ncommitter " SIG "\nparent %s\n\nm\n", "misorderedHeader", GIT_ACCEPTS);
}

static void test_commit_idents(void **state)
{
	(void)state;
	COMMIT("no name", TREE_LINE WHO("<a@b> 1 +0000") "%.0s", "missingNameBeforeEmail",
	    GIT_REFUSES);
	COMMIT("'>' in the name", TREE_LINE WHO("A> <a@b> 1 +0000") "%.0s", "badName",
	    GIT_REFUSES);
	COMMIT("no email", TREE_LINE WHO("A 1 +0000") "%.0s", "missingEmail", GIT_REFUSES);
	COMMIT("no space before the email", TREE_LINE WHO("A<a@b> 1 +0000") "%.0s",
	    "missingSpaceBeforeEmail", GIT_REFUSES);
	COMMIT("'<' in the email", TREE_LINE WHO("A <a<b> 1 +0000") "%.0s", "badEmail",
	    GIT_REFUSES);
	COMMIT("email never ends", TREE_LINE WHO("A <a@b 1 +0000") "%.0s", "badEmail",
	    GIT_REFUSES);
	COMMIT("no space before the date", TREE_LINE WHO("A <a@b>1 +0000") "%.0s",
	    "missingSpaceBeforeDate", GIT_REFUSES);
	COMMIT("date not a number", TREE_LINE WHO("A <a@b> x +0000") "%.0s", "badDate",
	    GIT_REFUSES);
	COMMIT("zero-padded date", TREE_LINE WHO("A <a@b> 0123 +0000") "%.0s",
	    "zeroPaddedDate", GIT_REFUSES);
	COMMIT("date overflows", TREE_LINE WHO("A <a@b> 99999999999999999999 +0000") "%.0s",
	    "badDateOverflow", GIT_REFUSES);
	COMMIT("no zone", TREE_LINE WHO("A <a@b> 1") "%.0s", "badDate", GIT_REFUSES);
	COMMIT("short zone", TREE_LINE WHO("A <a@b> 1 +000") "%.0s", "badTimezone",
	    GIT_REFUSES);
	COMMIT("zone without sign", TREE_LINE WHO("A <a@b> 1 01000") "%.0s", "badTimezone",
	    GIT_REFUSES);
	COMMIT("zone minutes 60 (git accepts)", TREE_LINE WHO("A <a@b> 1 +0060") "%.0s",
	    "badTimezone", GIT_ACCEPTS);
	COMMIT("two spaces before the date (git accepts)", TREE_LINE WHO("A <a@b>  1 +0000")
	    "%.0s", "badDate", GIT_ACCEPTS);
	COMMIT("largest date", TREE_LINE WHO("A <a@b> 9223372036854775807 +0000") "%.0s",
	    NULL, GIT_ACCEPTS);
}

static void test_commit_nul(void **state)
{
	static const char body[] = TREE_LINE "author " SIG "\ncommitter " SIG "\n\nm\0sg\n";
	static const char header[] = TREE_LINE "author A U\0Thor <a@b> 1 +0000\ncommitter " SIG
	    "\n\nm\n";
	check_case in_body = CASE("NUL in the message", GKV_OBJ_COMMIT, body, "nulInCommit",
	    GIT_REFUSES);
	check_case in_header = CASE("NUL in a header", GKV_OBJ_COMMIT, header, "nulInHeader",
	    GIT_REFUSES);

	(void)state;
	run_case(&in_body);
	run_case(&in_header);
}

/* ---------------------------------------------------------------- tags */

static void test_tags(void **state)
{
	(void)state;
	commit_type = GKV_OBJ_TAG;
	COMMIT("annotated tag", "object %s\ntype commit\ntag v1\ntagger " SIG "\n\nrelease\n",
	    NULL, GIT_ACCEPTS);
	COMMIT("old tag without a tagger", "object %s\ntype commit\ntag v1\n\nold\n", NULL,
	    GIT_ACCEPTS);
	COMMIT("no object line", "type commit\ntag v1\ntagger " SIG "\n\nm\n%.0s",
	    "missingObject", GIT_REFUSES);
	COMMIT("bad object id", "object %.38s\ntype commit\ntag v1\ntagger " SIG "\n\nm\n",
	    "badObjectSha1", GIT_REFUSES);
	COMMIT("no type line", "object %s\ntag v1\ntagger " SIG "\n\nm\n", "missingTypeEntry",
	    GIT_REFUSES);
	COMMIT("unknown type", "object %s\ntype thing\ntag v1\ntagger " SIG "\n\nm\n",
	    "badType", GIT_REFUSES);
	COMMIT("no tag line", "object %s\ntype commit\ntagger " SIG "\n\nm\n",
	    "missingTagEntry", GIT_REFUSES);
	COMMIT("bad tagger", "object %s\ntype commit\ntag v1\ntagger A <a> 1 +00\n\nm\n",
	    "badTimezone", GIT_REFUSES);
	commit_type = GKV_OBJ_COMMIT;
}

static void test_blobs_and_arguments(void **state)
{
	(void)state;
	assert_ok(gkv_object_check(GKV_OBJ_BLOB, "\0\xff anything", 11));
	assert_ok(gkv_object_check(GKV_OBJ_BLOB, NULL, 0));
	assert_rc(GKV_E_INVALID, gkv_object_check(GKV_OBJ_BLOB, NULL, 1));
	assert_rc(GKV_E_INVALID, gkv_object_check(GKV_OBJ_ANY, "", 0));
	assert_rc(GKV_E_INVALID, gkv_object_check((gkv_otype)7, "", 0));
	assert_rc(GKV_E_CORRUPT, gkv_object_check(GKV_OBJ_COMMIT, NULL, 0));
	assert_rc(GKV_E_CORRUPT, gkv_object_check(GKV_OBJ_TAG, "", 0));
}

/* --------------------------------------------------------------- setup */

static int setup(void **state)
{
	char path[512];
	FILE *f;

	(void)state;
	scratch = uu_tmpdir("objcheck");
	if (uu_sh(NULL, 0, "git init -q --bare %s && printf '' | git -C %s hash-object -w --stdin "
	    ">/dev/null && git -C %s hash-object -t tree -w --stdin </dev/null >/dev/null",
	    scratch, scratch, scratch) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/root", scratch);
	if (!(f = fopen(path, "wb")))
		return -1;
	fputs(ROOT_COMMIT, f);
	fclose(f);
	return uu_sh(root_hex, sizeof(root_hex), "git -C %s hash-object -t commit -w root", scratch);
}

static int teardown(void **state)
{
	(void)state;
	uu_tmpdir_remove(scratch);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tree_good),
	    cmocka_unit_test(test_tree_names),
	    cmocka_unit_test(test_tree_modes),
	    cmocka_unit_test(test_tree_order),
	    cmocka_unit_test(test_tree_truncated),
	    cmocka_unit_test(test_commit_good),
	    cmocka_unit_test(test_commit_headers),
	    cmocka_unit_test(test_commit_idents),
	    cmocka_unit_test(test_commit_nul),
	    cmocka_unit_test(test_tags),
	    cmocka_unit_test(test_blobs_and_arguments),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
