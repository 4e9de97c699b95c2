/*
 * test_backend_git_files.c -- the git backend reading a repository as
 * files, without libgit2: opening a store and reading it (refs, HEAD,
 * the default branch, versions of the refs, objects, a tree folded)
 * never starts libgit2, the first write does and works, and the handle
 * gives its init reference back when freed; refs read this way agree
 * with the git CLI (git for-each-ref, git rev-parse, git symbolic-ref)
 * on repositories git made -- loose refs, packed refs (git pack-refs
 * --all, peeled tags), a ref both loose and packed, symbolic refs, nested
 * names, a detached HEAD, an unborn branch, a work tree, a linked work
 * tree (git worktree add); a malformed ref file or packed-refs gives the
 * error libgit2 gives, and changes nothing.
 *
 * Whether libgit2 was started is read from git_libgit2_init's return
 * (the count of users, 1 when nobody else holds it), in a fresh process
 * of this program (--probe-*), where nothing else started it.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <git2.h>
#include <pthread.h>
#include <unistd.h>

#include "unit_util.h"

#include <gitkv/backends.h>
#include <gitkv/sys/backend.h>

static char self_exe[4096];
static char *root;

/* git_libgit2_init's count now (this process's users, plus one). */
static int libgit2_users(void)
{
	int n = git_libgit2_init();

	git_libgit2_shutdown();
	return n;
}

static void hex(char out[GKV_OID_HEXSZ + 1], const gkv_oid *id)
{
	gkv_oid_fmt(out, id);
	out[GKV_OID_HEXSZ] = '\0';
}

/* ---- probes: run in a fresh process ---- */

static int print_ref(const char *name, const gkv_oid *id, void *payload)
{
	char h[GKV_OID_HEXSZ + 1];

	(void)payload;
	hex(h, id);
	printf("%s %s\n", h, name);
	return 0;
}

/*
 * Print what the backend reads at dir, as git would print it: the refs
 * under prefix ("<id> <name>"), then "HEAD <id>|none", "default <name>",
 * "read <name> <id>|none" for each extra name, and last "libgit2 <n>".
 */
static int probe_refs(int argc, char **argv)
{
	gkv_backend *b = NULL;
	char h[GKV_OID_HEXSZ + 1], *branch = NULL;
	gkv_oid id;
	uint64_t v;

	if (gkv_backend_git_open(&b, argv[2], GKV_GIT_READONLY) < 0 ||
	    b->ref_list(b, argv[3], print_ref, NULL) < 0)
		return 2;
	if (b->ref_read_versioned(&id, &v, b, "HEAD") == 0) {
		hex(h, &id);
		printf("HEAD %s\n", h);
	} else {
		printf("HEAD none\n");
	}
	if (b->default_branch(&branch, b) < 0)
		return 3;
	printf("default %s\n", branch);
	gkv_backend_data_free(branch);
	for (int i = 4; i < argc; i++) {
		if (b->ref_read(&id, b, argv[i]) == 0)
			hex(h, &id);
		else
			strcpy(h, "none");
		printf("read %s %s\n", argv[i], h);
	}
	printf("libgit2 %d\n", libgit2_users());
	b->free(b);
	return 0;
}

/*
 * Through the backend: open (writable), read refs, HEAD, the versions of
 * the refs, objects; then write a ref. Prints the count of libgit2 users
 * after the reads, after the write, after the free: "1 2 1".
 */
static int probe_backend(const char *dir)
{
	gkv_backend *b = NULL;
	char *branch = NULL;
	void *data;
	size_t len;
	gkv_otype type;
	uint64_t size, v1, v2;
	gkv_oid id, again;
	int reads, wrote, freed;

	if (gkv_backend_git_open(&b, dir, 0) < 0 || b->ref_read(&id, b, "refs/heads/main") < 0 ||
	    b->ref_list(b, "", print_ref, NULL) < 0 || b->ref_list(b, "refs/tags/", print_ref, NULL) < 0 ||
	    b->default_branch(&branch, b) < 0 || b->refs_version(&v1, b) < 0 ||
	    b->ref_read_versioned(&again, &v2, b, "refs/heads/main") < 0 ||
	    b->read(&data, &len, &type, b, &id) < 0)
		return 2;
	gkv_backend_data_free(branch);
	gkv_backend_data_free(data);
	if (type != GKV_OBJ_COMMIT || b->exists(b, &id) != 1 ||
	    b->read_header(&size, &type, b, &id) < 0 || size != len)
		return 3;
	reads = libgit2_users();
	if (b->ref_cas(b, "refs/heads/probe", NULL, &id) < 0)
		return 4;
	wrote = libgit2_users();
	b->free(b);
	freed = libgit2_users();
	printf("%d %d %d\n", reads, wrote, freed);
	return 0;
}

static int count_entry(const char *path, gkv_kind kind, const void *value, size_t len,
		       void *payload)
{
	(void)path;
	(void)kind;
	(void)value;
	(void)len;
	(*(int *)payload)++;
	return 0;
}

/* Through the store: open, get, list, fold the head's tree (argv[3]):
 * prints "<entries folded> <libgit2 users>". */
static int probe_store(const char *dir, const char *tree_hex)
{
	gkv_repo *repo = NULL;
	gkv_store *s = NULL;
	gkv_tree *t = NULL;
	gkv_list *list = NULL;
	gkv_buf v;
	gkv_oid tid;
	char uri[512];
	int n = 0;

	snprintf(uri, sizeof(uri), "git:%s", dir);
	if (gkv_repo_open(&repo, uri, NULL) < 0 || gkv_store_open_branch(&s, repo, "main") < 0 ||
	    gkv_store_get(&v, s, "a") < 0)
		return 2;
	if (v.size != 3 || memcmp(v.ptr, "two", 3) != 0)
		return 3;
	gkv_buf_dispose(&v);
	if (gkv_store_list(&list, s, "") < 0 || gkv_oid_fromstr(&tid, tree_hex) < 0 ||
	    gkv_tree_lookup(&t, repo, &tid) < 0 || gkv_tree_fold(t, "", count_entry, &n) < 0)
		return 4;
	gkv_list_free(list);
	gkv_tree_free(t);
	printf("%d %d\n", n, libgit2_users());
	gkv_store_free(s);
	gkv_repo_free(repo);
	return 0;
}

/* ---- the repositories, made by git ---- */

/*
 * ROOT/w: a work tree on main with a/"two", d/b; a tag v1 (annotated,
 * peeled in packed-refs) and light; refs packed by git pack-refs --all,
 * then refs/heads/both moved (loose over packed), loose-only and a
 * nested refs/notes/deep/a/b/c added; refs/remotes/origin/HEAD symbolic.
 */
static void make_repos(void)
{
	char out[256];

	root = uu_tmpdir("git-files");
	assert_int_equal(
	    0, uu_sh(out, sizeof(out),
		     "set -e; cd '%s'; git init -q -b main w; cd w;"
		     "mkdir d; printf one > a; printf x > d/b; git add .; git commit -qm one;"
		     "printf two > a; git commit -qam two;"
		     "git tag -a -m t v1 HEAD~1; git tag light HEAD;"
		     "git update-ref refs/heads/feature/x/y HEAD~1;"
		     "git update-ref refs/heads/both HEAD~1;"
		     "git update-ref refs/remotes/origin/main HEAD;"
		     "git pack-refs --all;"
		     "git update-ref refs/heads/both HEAD;"
		     "git update-ref refs/heads/loose-only HEAD;"
		     "git update-ref refs/notes/deep/a/b/c HEAD~1;"
		     "git symbolic-ref refs/remotes/origin/HEAD refs/remotes/origin/main;"
		     "test -f .git/refs/heads/both; grep -q ' refs/heads/both$' .git/packed-refs;"
		     "head -1 .git/packed-refs | grep -q '^# pack-refs with: peeled fully-peeled sorted';"
		     "grep -q '^\\^' .git/packed-refs",
		     root));
	/* a bare copy, its refs as the clone packed them */
	assert_int_equal(0, uu_sh(out, sizeof(out),
				  "set -e; cd '%s'; git clone -q --bare w b.git;"
				  "git --git-dir=b.git update-ref refs/heads/zz/loose HEAD", root));
	/* a linked work tree on its own branch */
	assert_int_equal(0, uu_sh(out, sizeof(out),
				  "set -e; cd '%s/w'; git worktree add -q ../wt -b wtb HEAD~1", root));
	/* detached HEAD; HEAD on an unborn branch */
	assert_int_equal(0, uu_sh(out, sizeof(out),
				  "set -e; cd '%s'; cp -a b.git detached.git; "
				  "git --git-dir=detached.git update-ref --no-deref HEAD main~1;"
				  "cp -a b.git unborn.git; "
				  "git --git-dir=unborn.git symbolic-ref HEAD refs/heads/nothing-yet",
				  root));
}

/* What the probe prints for dir and prefix, and what git says. */
static void check_agrees(const char *dir, const char *prefix, const char *names)
{
	static char got[1 << 16], want[1 << 16];

	assert_int_equal(0, uu_sh(got, sizeof(got), "'%s' --probe-refs '%s' '%s' %s", self_exe, dir,
				  prefix, names));
	assert_int_equal(
	    0, uu_sh(want, sizeof(want),
		     "cd '%s' && { git for-each-ref --format='%%(objectname) %%(refname) %%(symref)' "
		     "%s | awk '$3 == \"\" { print $1 \" \" $2 }';"
		     "echo \"HEAD $(git rev-parse -q --verify HEAD || echo none)\";"
		     "echo \"default $(git symbolic-ref -q --short HEAD || echo main)\";"
		     "for n in %s; do echo \"read $n $(git rev-parse -q --verify $n || echo none)\"; "
		     "done; echo 'libgit2 1'; }",
		     dir, prefix, names));
	assert_string_equal(want, got);
}

#define NAMES                                                                                      \
	"refs/heads/main refs/heads/both refs/heads/feature/x/y refs/tags/v1 "                     \
	"refs/remotes/origin/HEAD refs/heads/absent refs/heads/feature HEAD"

static void test_refs_agree_with_git(void **state)
{
	char dir[512];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/w", root); /* a work tree */
	check_agrees(dir, "", NAMES);
	check_agrees(dir, "refs/heads/", NAMES);
	check_agrees(dir, "refs/heads/feature/", "refs/heads/feature/x/y");
	snprintf(dir, sizeof(dir), "%s/w/.git", root); /* its git directory */
	check_agrees(dir, "refs/tags/", NAMES);
	snprintf(dir, sizeof(dir), "%s/b.git", root); /* bare, packed by clone */
	check_agrees(dir, "", NAMES " refs/heads/zz/loose");
	snprintf(dir, sizeof(dir), "%s/wt", root); /* a linked work tree */
	check_agrees(dir, "", NAMES " refs/heads/wtb");
	snprintf(dir, sizeof(dir), "%s/detached.git", root);
	check_agrees(dir, "refs/heads/", "HEAD");
	snprintf(dir, sizeof(dir), "%s/unborn.git", root);
	check_agrees(dir, "refs/heads/", "HEAD refs/heads/nothing-yet");
}

/* Reads through the backend and through the store start no libgit2; a
 * write does and lands; free gives the reference back. */
static void test_reads_leave_libgit2_alone(void **state)
{
	char out[1 << 14], dir[512], tree[64];
	char *last;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/copy.git", root);
	assert_int_equal(0, uu_sh(out, sizeof(out), "cp -a '%s/b.git' '%s'", root, dir));
	assert_int_equal(0, uu_sh(out, sizeof(out), "'%s' --probe-backend '%s'", self_exe, dir));
	last = strrchr(out, '\n');
	assert_string_equal("1 2 1", last ? last + 1 : out);
	/* the write landed where git sees it, and the repository is sound */
	assert_int_equal(0, uu_sh(out, sizeof(out),
				  "git --git-dir='%s' rev-parse refs/heads/probe && "
				  "test \"$(git --git-dir='%s' rev-parse refs/heads/probe)\" = "
				  "\"$(git --git-dir='%s' rev-parse refs/heads/main)\" && "
				  "git --git-dir='%s' fsck --strict --no-dangling 2>&1",
				  dir, dir, dir, dir));
	assert_int_equal(0, uu_sh(tree, sizeof(tree), "git --git-dir='%s' rev-parse main^{tree}", dir));
	assert_int_equal(0,
			 uu_sh(out, sizeof(out), "'%s' --probe-store '%s' %s", self_exe, dir, tree));
	assert_string_equal("2 1", out); /* a and d/b folded; libgit2 never started */
}

/* A repository gitkv does not read alone (a config that includes
 * another file; a format version above 1) is opened by libgit2 at once,
 * and judged by it. */
static void test_unplain_repository_goes_to_libgit2(void **state)
{
	char out[256], dir[512];
	gkv_backend *b = NULL;
	char *branch = NULL;
	gkv_oid id;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/incl.git", root);
	assert_int_equal(0, uu_sh(out, sizeof(out),
				  "cp -a '%s/b.git' '%s' && printf '[gitkv]\\n\\tdefaultbranch = x\\n' "
				  "> '%s/extra' && git --git-dir='%s' config include.path extra",
				  root, dir, dir, dir));
	assert_int_equal(0, gkv_backend_git_open(&b, dir, GKV_GIT_READONLY));
	assert_int_equal(0, b->ref_read(&id, b, "refs/heads/main"));
	assert_int_equal(0, b->default_branch(&branch, b));
	assert_string_equal("main", branch);
	gkv_backend_data_free(branch);
	b->free(b);
	assert_int_equal(0, uu_sh(out, sizeof(out),
				  "git --git-dir='%s' config core.repositoryformatversion 2", dir));
	assert_int_equal(GKV_E_IO, gkv_backend_git_open(&b, dir, GKV_GIT_READONLY));
	assert_null(b);
	assert_non_null(strstr(gkv_error_last(), "version"));
}

/* Bytes of a file, for "changes nothing". */
static void slurp(char *out, size_t cap, const char *path)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	assert_non_null(f);
	n = fread(out, 1, cap - 1, f);
	out[n] = '\0';
	fclose(f);
}

typedef struct {
	int n;
	bool bad;
} seen;

static int note_ref(const char *name, const gkv_oid *id, void *payload)
{
	seen *s = payload;

	(void)id;
	s->n++;
	s->bad |= strcmp(name, "refs/heads/bad") == 0;
	return 0;
}

static void test_malformed_refs(void **state)
{
	char out[256], dir[512], path[600], before[8192], after[8192];
	gkv_backend *b = NULL;
	char *branch = NULL;
	seen s = {0, false};
	gkv_oid id;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/bad.git", root);
	assert_int_equal(0, uu_sh(out, sizeof(out), "cp -a '%s/b.git' '%s'", root, dir));
	/* a loose ref that is no id: libgit2's error, a clear one */
	snprintf(path, sizeof(path), "%s/refs/heads/bad", dir);
	assert_int_equal(0, uu_sh(out, sizeof(out), "printf 'not an id\\n' > '%s'", path));
	assert_int_equal(0, gkv_backend_git_open(&b, dir, 0));
	assert_int_equal(GKV_E_IO, b->ref_read(&id, b, "refs/heads/bad"));
	assert_non_null(strstr(gkv_error_last(), "refs/heads/bad"));
	assert_non_null(strstr(gkv_error_last(), "corrupted"));
	/* a listing leaves it out, as libgit2 does, and lists the rest */
	assert_int_equal(0, b->ref_list(b, "refs/heads/", note_ref, &s));
	assert_false(s.bad);
	assert_true(s.n >= 3);
	/* two symbolic refs naming each other */
	assert_int_equal(0, uu_sh(out, sizeof(out),
				  "printf 'ref: refs/heads/l2\\n' > '%s/refs/heads/l1' && "
				  "printf 'ref: refs/heads/l1\\n' > '%s/refs/heads/l2'",
				  dir, dir));
	assert_true(b->ref_read(&id, b, "refs/heads/l1") < 0);
	b->free(b);

	/* packed-refs damaged: a packed ref cannot be read, nor the list */
	assert_int_equal(0, uu_sh(out, sizeof(out),
				  "rm '%s' '%s/refs/heads/l1' '%s/refs/heads/l2' && "
				  "sed -i 's/^[0-9a-f]\\{4\\}\\([0-9a-f]* refs\\/heads\\/main\\)$/zzzz\\1/' "
				  "'%s/packed-refs' && grep -q '^zzzz.* refs/heads/main$' '%s/packed-refs'",
				  path, dir, dir, dir, dir));
	snprintf(path, sizeof(path), "%s/packed-refs", dir);
	slurp(before, sizeof(before), path);
	assert_int_equal(0, gkv_backend_git_open(&b, dir, 0));
	assert_int_equal(GKV_E_IO, b->ref_read(&id, b, "refs/heads/main"));
	assert_non_null(strstr(gkv_error_last(), "packed"));
	assert_int_equal(GKV_E_IO, b->ref_list(b, "", note_ref, &s));
	/* a loose ref is still read: it wins over packed-refs */
	assert_int_equal(0, b->ref_read(&id, b, "refs/heads/zz/loose"));
	/* HEAD that is no ref: the default branch is main, as before */
	b->free(b);
	assert_int_equal(0, uu_sh(out, sizeof(out), "printf 'junk\\n' > '%s/HEAD'", dir));
	assert_int_equal(0, gkv_backend_git_open(&b, dir, GKV_GIT_READONLY));
	assert_int_equal(0, b->default_branch(&branch, b));
	assert_string_equal("main", branch);
	gkv_backend_data_free(branch);
	b->free(b);
	slurp(after, sizeof(after), path);
	assert_string_equal(before, after); /* nothing was rewritten */
}

/*
 * A pack index whose ids do not increase is refused: two equal ids (the
 * same first 8 bytes and the rest), then two swapped that differ in
 * their first 8 bytes. A read of an object it held is GKV_E_CORRUPT
 * naming the index and why.
 */
static void idx_damaged_refused(const char *dir, const char *idx, size_t at, bool swap,
				const gkv_oid *want)
{
	unsigned char a[20], b[20];
	gkv_backend *bk = NULL;
	void *data = NULL;
	size_t len;
	gkv_otype type;
	size_t from = at + 1;
	FILE *f = fopen(idx, "r+b");

	/* entry at becomes entry at + 1 (a duplicate), or the two swap */
	assert_non_null(f);
	assert_int_equal(0, fseek(f, (long)(1032 + 20 * from), SEEK_SET));
	assert_int_equal(20, fread(a, 1, 20, f));
	assert_int_equal(0, fseek(f, (long)(1032 + 20 * at), SEEK_SET));
	assert_int_equal(20, fread(b, 1, 20, f));
	assert_int_equal(0, fseek(f, (long)(1032 + 20 * at), SEEK_SET));
	assert_int_equal(20, fwrite(a, 1, 20, f));
	if (swap) {
		assert_int_equal(0, fseek(f, (long)(1032 + 20 * from), SEEK_SET));
		assert_int_equal(20, fwrite(b, 1, 20, f));
	}
	fclose(f);
	assert_int_equal(0, gkv_backend_git_open(&bk, dir, GKV_GIT_READONLY));
	assert_int_equal(GKV_E_CORRUPT, bk->read(&data, &len, &type, bk, want));
	assert_non_null(strstr(gkv_error_last(), "ids out of order"));
	bk->free(bk);
	/* put it back: the pack reads again */
	f = fopen(idx, "r+b");
	assert_non_null(f);
	assert_int_equal(0, fseek(f, (long)(1032 + 20 * at), SEEK_SET));
	assert_int_equal(20, fwrite(b, 1, 20, f));
	if (swap) {
		assert_int_equal(0, fseek(f, (long)(1032 + 20 * from), SEEK_SET));
		assert_int_equal(20, fwrite(a, 1, 20, f));
	}
	fclose(f);
	assert_int_equal(0, gkv_backend_git_open(&bk, dir, GKV_GIT_READONLY));
	assert_int_equal(0, bk->read(&data, &len, &type, bk, want));
	gkv_backend_data_free(data);
	bk->free(bk);
}

static void test_idx_order_checked(void **state)
{
	char out[512], dir[512], idx[600];
	unsigned char ids[2048][20];
	size_t n, same = SIZE_MAX, apart = SIZE_MAX;
	gkv_oid want;
	FILE *f;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/many.git", root);
	/* 1200 blobs in one pack: some ids share their first byte */
	assert_int_equal(0, uu_sh(out, sizeof(out),
				  "set -e; git init -q --bare '%s'; for i in $(seq 1200); do "
				  "printf 'blob\nmark :%%d\ndata %%d\n%%d\n' $i $((${#i}+1)) $i; "
				  "done | git --git-dir='%s' fast-import --quiet; "
				  "ls '%s'/objects/pack/*.idx",
				  dir, dir, dir));
	snprintf(idx, sizeof(idx), "%s", out);
	assert_int_equal(0, uu_sh(out, sizeof(out), "chmod u+w '%s'", idx));
	assert_non_null(f = fopen(idx, "rb"));
	assert_int_equal(0, fseek(f, 1028, SEEK_SET));
	{
		unsigned char c[4];

		assert_int_equal(4, fread(c, 1, 4, f));
		n = (size_t)c[0] << 24 | (size_t)c[1] << 16 | (size_t)c[2] << 8 | c[3];
	}
	assert_true(n >= 1200 && n <= 2048);
	assert_int_equal(n, fread(ids, 20, n, f));
	fclose(f);
	for (size_t i = 0; i + 1 < n; i++) {
		if (same == SIZE_MAX && ids[i][0] == ids[i + 1][0])
			same = i;
		if (apart == SIZE_MAX && ids[i][0] == ids[i + 1][0] && memcmp(ids[i], ids[i + 1], 8))
			apart = i;
	}
	assert_true(same != SIZE_MAX && apart != SIZE_MAX);
	/* the first 8 bytes equal, and the rest: the tie is looked at */
	memcpy(want.id, ids[same], 20);
	idx_damaged_refused(dir, idx, same, false, &want);
	/* two in one bucket swapped: the first 8 bytes decide */
	memcpy(want.id, ids[apart], 20);
	idx_damaged_refused(dir, idx, apart, true, &want);
}

/* Threads that all need libgit2 at once on a fresh handle: one starts it,
 * every one gets its answer. */
static gkv_backend *shared_b;

static void *config_reader(void *arg)
{
	char *v = NULL;
	int rc = shared_b->config_get(&v, shared_b, "core.bare");

	gkv_backend_data_free(v);
	*(int *)arg = rc;
	return NULL;
}

static void test_threads_start_libgit2_once(void **state)
{
	char dir[512];
	pthread_t t[8];
	int rc[8];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/b.git", root);
	assert_int_equal(0, gkv_backend_git_open(&shared_b, dir, 0));
	for (int i = 0; i < 8; i++)
		assert_int_equal(0, pthread_create(&t[i], NULL, config_reader, &rc[i]));
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(0, rc[i]);
	}
	shared_b->free(shared_b);
}

static int setup(void **state)
{
	(void)state;
	make_repos();
	return 0;
}

static int teardown(void **state)
{
	char out[64];

	(void)state;
	uu_sh(out, sizeof(out), "chmod -R u+w '%s'", root);
	uu_tmpdir_remove(root);
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_refs_agree_with_git),
	    cmocka_unit_test(test_reads_leave_libgit2_alone),
	    cmocka_unit_test(test_unplain_repository_goes_to_libgit2),
	    cmocka_unit_test(test_malformed_refs),
	    cmocka_unit_test(test_threads_start_libgit2_once),
	    cmocka_unit_test(test_idx_order_checked),
	};
	ssize_t n;

	if (argc >= 4 && strcmp(argv[1], "--probe-refs") == 0)
		return probe_refs(argc, argv);
	if (argc == 3 && strcmp(argv[1], "--probe-backend") == 0)
		return probe_backend(argv[2]);
	if (argc == 4 && strcmp(argv[1], "--probe-store") == 0)
		return probe_store(argv[2], argv[3]);
	if ((n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1)) <= 0)
		return 1;
	self_exe[n] = '\0';
	return cmocka_run_group_tests(tests, setup, teardown);
}
