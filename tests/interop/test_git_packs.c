/*
 * test_git_packs.c -- the git backend's own pack code against the git CLI.
 *
 * The backend writes a large batch as a pack and its .idx itself, writes
 * loose objects itself, and reads objects stored whole in a pack without
 * libgit2 (backends/git/git_pack.c, git_odb.c). Here git checks what it
 * writes (verify-pack, fsck --strict, cat-file), and gitkv reads what git
 * writes: packs with deltas (which go to libgit2), a pack that appears
 * while the store is open, and a pack whose object header was damaged
 * (the .idx's CRC must catch it: a read gives the right value or an
 * error, never other bytes or another type).
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
#include <unistd.h>

#include "gitkv.h"
#include "interop_util.h"

static char tmpdir[] = "/tmp/gkv-interop-packs-XXXXXX";

/* The first line a shell command prints (without its newline). */
static char *out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *out(const char *fmt, ...)
{
	static char line[4096];
	char cmd[4096];
	va_list ap;
	FILE *p;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_non_null(p = popen(cmd, "r"));
	line[0] = '\0';
	if (!fgets(line, sizeof(line), p))
		line[0] = '\0';
	pclose(p);
	line[strcspn(line, "\n")] = '\0';
	return line;
}

static gkv_repo *open_git(const char *path)
{
	gkv_options *opts;
	gkv_repo *repo;
	char uri[512];

	snprintf(uri, sizeof(uri), "git:%s", path);
	assert_int_equal(gkv_options_new(&opts), 0);
	assert_int_equal(gkv_options_set_create(opts, 1), 0);
	assert_int_equal(gkv_options_set_author(opts, "T", "t@example.com"), 0);
	assert_int_equal(gkv_repo_open(&repo, uri, opts), 0);
	gkv_options_free(opts);
	return repo;
}

static void value_of(char *out_value, size_t cap, int i)
{
	snprintf(out_value, cap, "value %d of the pack test, long enough to deflate %d", i, i * 7);
}

static void expect(gkv_store *s, const char *path, const char *want)
{
	gkv_buf v;

	assert_int_equal(gkv_store_get(&v, s, path), 0);
	assert_int_equal(v.size, strlen(want));
	assert_memory_equal(v.ptr, want, v.size);
	gkv_buf_dispose(&v);
}

/* A bulk load becomes one pack that git verifies and reads; small
 * commits after it are loose objects git reads as well. */
static void test_written_pack_and_loose(void **state)
{
	char path[256], key[64], val[128];
	gkv_repo *repo;
	gkv_store *s;
	gkv_txn *txn;
	gkv_oid id;

	(void)state;
	snprintf(path, sizeof(path), "%s/written", tmpdir);
	repo = open_git(path);
	assert_int_equal(gkv_store_open_branch(&s, repo, "main"), 0);
	assert_int_equal(gkv_txn_begin(&txn, s), 0);
	for (int i = 0; i < 3000; i++) {
		snprintf(key, sizeof(key), "d%02d/k%d", i % 37, i);
		value_of(val, sizeof(val), i);
		assert_int_equal(gkv_txn_set(txn, key, val, strlen(val)), 0);
	}
	assert_int_equal(gkv_txn_commit(&id, txn, GKV_TXN_FAIL, NULL), 0);
	gkv_txn_free(txn);
	for (int i = 0; i < 5; i++) {
		snprintf(key, sizeof(key), "loose/k%d", i);
		assert_int_equal(gkv_store_set(&id, s, key, "small", 5, NULL), 0);
	}
	assert_int_equal(sh("test $(ls %s/objects/pack/*.idx | wc -l) = 1", path), 0);
	assert_int_equal(sh("git verify-pack %s/objects/pack/*.idx", path), 0);
	assert_int_equal(sh("git --git-dir=%s fsck --strict --no-dangling 2>/dev/null", path), 0);
	/* a value of the pack and a loose one, as git reads them */
	value_of(val, sizeof(val), 1234);
	assert_string_equal(out("git --git-dir=%s cat-file blob main:d13/k1234", path), val);
	assert_string_equal(out("git --git-dir=%s cat-file blob main:loose/k3", path), "small");
	/* and gitkv again, through a new handle (its own maps) */
	gkv_store_free(s);
	gkv_repo_free(repo);
	repo = open_git(path);
	assert_int_equal(gkv_store_open_branch(&s, repo, "main"), 0);
	for (int i = 0; i < 3000; i += 7) {
		snprintf(key, sizeof(key), "d%02d/k%d", i % 37, i);
		value_of(val, sizeof(val), i);
		expect(s, key, val);
	}
	expect(s, "loose/k4", "small");
	gkv_store_free(s);
	gkv_repo_free(repo);
}

/* git's packs, with deltas, and a pack git makes while the store is open. */
static void test_git_made_packs(void **state)
{
	char path[256], key[64], val[128];
	gkv_repo *repo;
	gkv_store *s;

	(void)state;
	snprintf(path, sizeof(path), "%s/gitmade", tmpdir);
	/* one file rewritten in 30 commits (deltas after gc), 200 others */
	assert_int_equal(sh("git init -q -b main %s && cd %s && for i in $(seq 0 199); do "
			    "echo \"value $i of the pack test\" > f$i; done && "
			    "for i in $(seq 1 30); do seq 1 $((200 + i)) > big; git add -A; "
			    "git -c user.name=T -c user.email=t@e commit -qm c$i; done && "
			    "git gc -q --aggressive",
			    path, path),
			 0);
	/* git chose deltas for some objects: libgit2 reads those */
	assert_int_equal(sh("git verify-pack -v %s/.git/objects/pack/*.idx | grep -q 'chain length'",
			    path),
			 0);
	repo = open_git(path);
	assert_int_equal(gkv_store_open_branch(&s, repo, "main"), 0);
	for (int i = 0; i < 200; i += 3) {
		snprintf(key, sizeof(key), "f%d", i);
		snprintf(val, sizeof(val), "value %d of the pack test\n", i);
		expect(s, key, val);
	}
	{
		gkv_buf v;

		assert_int_equal(gkv_store_get(&v, s, "big"), 0);
		assert_int_equal(v.size, (size_t)atoi(out("seq 1 230 | wc -c")));
		gkv_buf_dispose(&v);
	}
	/* git adds a commit and repacks while the store is open */
	assert_int_equal(sh("cd %s && echo late > late && git add late && "
			    "git -c user.name=T -c user.email=t@e commit -qm late && git repack -qad",
			    path),
			 0);
	expect(s, "late", "late\n");
	expect(s, "f5", "value 5 of the pack test\n");
	gkv_store_free(s);
	gkv_repo_free(repo);
}

/* Every version of a file git chained into deltas (a dozen deep), read
 * newest first, twice: the second pass finds the bases cached. Then git
 * repacks with other chains while the store is open, and the old pack is
 * gone: the bases cached from it must not serve the new one. Every read
 * is re-hashed against the id asked for, so a wrong base fails it. */
static void test_delta_chains(void **state)
{
	char path[256], hex[GKV_OID_HEXSZ + 1], line[512];
	size_t sizes[60];
	gkv_oid ids[60];
	gkv_repo *repo;
	int n = 0;
	FILE *p;

	(void)state;
	snprintf(path, sizeof(path), "%s/chains", tmpdir);
	assert_int_equal(sh("git init -q -b main %s && cd %s && seq 1 2000 > big && "
			    "for i in $(seq 1 60); do sed -i \"s/^$((i * 13))\\$/x&/\" big; "
			    "git add big; git -c user.name=T -c user.email=t@e commit -qm c$i; done && "
			    "git gc -q --aggressive",
			    path, path),
			 0);
	assert_int_equal(sh("git verify-pack -v %s/.git/objects/pack/*.idx | "
			    "grep -q 'chain length = 1[0-9]'", path), 0);
	snprintf(line, sizeof(line), "git -C %s rev-list main", path);
	assert_non_null(p = popen(line, "r"));
	while (n < 60 && fgets(line, sizeof(line), p)) {
		line[strcspn(line, "\n")] = '\0';
		assert_int_equal(gkv_oid_fromstr(&ids[n++], line), 0);
	}
	pclose(p);
	assert_int_equal(n, 60);
	repo = open_git(path);
	for (int pass = 0; pass < 3; pass++) {
		if (pass == 2) /* other chains, the old pack deleted */
			assert_int_equal(sh("cd %s && git repack -qadf --depth=7 --window=3", path),
					 0);
		for (int i = 0; i < n; i++) {
			gkv_store *s;
			gkv_buf v;

			gkv_oid_fmt(hex, &ids[i]);
			assert_int_equal(gkv_store_open_commit(&s, repo, &ids[i]), 0);
			assert_int_equal(gkv_store_get(&v, s, "big"), 0);
			if (pass == 0)
				sizes[i] = (size_t)atoi(out("git -C %s cat-file -s %s:big", path, hex));
			assert_int_equal(v.size, sizes[i]);
			gkv_buf_dispose(&v);
			gkv_store_free(s);
		}
	}
	gkv_repo_free(repo);
}

/* The counts and sizes by type git's cat-file --batch-check gives for
 * every object of the repository at path: 0 if gitkv's stats agree. */
static void expect_stats_as_git(const char *path)
{
	static const char *const names[5] = {NULL, "commit", "tree", "blob", "tag"};
	gkv_repo_stats st;
	gkv_repo *repo = open_git(path);

	assert_int_equal(gkv_repo_stats_read(&st, repo), 0);
	for (int t = GKV_OBJ_COMMIT; t <= GKV_OBJ_TAG; t++) {
		char want[64];

		snprintf(want, sizeof(want), "%llu %llu", (unsigned long long)st.count[t],
			 (unsigned long long)st.bytes[t]);
		assert_string_equal(out("git --git-dir=%s cat-file --batch-all-objects "
					"--batch-check='%%(objecttype) %%(objectsize)' | "
					"awk '$1 == \"%s\" {n++; s += $2} END {printf \"%%d %%d\", n, s}'",
					path, names[t]),
				    want);
	}
	gkv_repo_free(repo);
}

/*
 * Headers of packed objects, read without inflating them (a delta's size
 * from its first bytes, its type from its base's header down the chain):
 * the counts and sizes by type are git's, for deltas by offset (git gc),
 * by id (repack.useDeltaBaseOffset=false) and objects both loose and
 * packed.
 */
static void test_headers_as_git(void **state)
{
	char path[256];

	(void)state;
	snprintf(path, sizeof(path), "%s/headers", tmpdir);
	/* a file edited in 40 commits, a line at a time: chains of deltas;
	 * an annotated tag (a tag object) */
	assert_int_equal(sh("git init -q --bare -b main %s && git init -q -b main %s.w && cd %s.w && "
			    "seq 1 400 > big && for i in $(seq 1 40); do "
			    "sed -i \"s/^$((i * 7))\\$/x&/\" big; seq $i 400 > other; "
			    "mkdir -p d$((i %% 4)); echo $i > d$((i %% 4))/f; "
			    "git add -A; git -c user.name=T -c user.email=t@e commit -qm c$i; done && "
			    "git -c user.name=T -c user.email=t@e tag -a -m tag v1 && "
			    "git push -q %s main v1 && cd %s && git gc -q --aggressive",
			    path, path, path, path, path),
			 0);
	assert_int_equal(sh("git verify-pack -v %s/objects/pack/*.idx | grep -q 'chain length = 1[0-9]'",
			    path),
			 0);
	expect_stats_as_git(path);
	/* deltas by id: no OFS_DELTA entry left */
	assert_int_equal(sh("cd %s && git -c repack.useDeltaBaseOffset=false repack -qadf && "
			    "git verify-pack -v objects/pack/*.idx | grep -q 'chain length'",
			    path),
			 0);
	expect_stats_as_git(path);
	/* a commit's objects both loose and packed */
	assert_int_equal(sh("cd %s.w && echo late > late && git add late && "
			    "git -c user.name=T -c user.email=t@e commit -qm late && git push -q %s main && "
			    "git -C %s cat-file --batch-all-objects --batch-check | grep -q .",
			    path, path, path),
			 0);
	expect_stats_as_git(path);
}

/* A bit flipped in a packed object's header: the right value or an error. */
static void test_damaged_header(void **state)
{
	char path[256], *line;
	unsigned long long off;
	char hex[64];
	gkv_repo *repo;
	gkv_store *s;
	gkv_buf v;
	int rc;

	(void)state;
	snprintf(path, sizeof(path), "%s/damaged", tmpdir);
	assert_int_equal(sh("git init -q -b main %s && cd %s && "
			    "printf 'a value to damage, a value to damage' > v && "
			    "printf 'another value' > w && git add v w && "
			    "git -c user.name=T -c user.email=t@e commit -qm c && git gc -q",
			    path, path),
			 0);
	snprintf(hex, sizeof(hex), "%s", out("git -C %s rev-parse main:v", path));
	line = out("git verify-pack -v %s/.git/objects/pack/*.idx | grep '^%s'", path, hex);
	/* "<id> blob <size> <packed size> <offset>" */
	assert_int_equal(sscanf(line, "%*s %*s %*s %*s %llu", &off), 1);
	/* blob (3) becomes a tree (2): bit 4 of the first byte */
	assert_int_equal(sh("cd %s/.git/objects/pack && f=$(ls *.pack) && chmod u+w $f && "
			    "b=$(od -An -tu1 -j%llu -N1 $f | tr -d ' ') && "
			    "printf \"$(printf '\\\\%%03o' $((b ^ 16)))\" | "
			    "dd of=$f bs=1 seek=%llu conv=notrunc status=none",
			    path, off, off),
			 0);
	repo = open_git(path);
	assert_int_equal(gkv_store_open_branch(&s, repo, "main"), 0);
	rc = gkv_store_get(&v, s, "v");
	print_message("a blob's header damaged: %s\n", rc == 0 ? "read right" : gkv_error_last());
	if (rc == 0) {
		assert_int_equal(v.size, 36);
		assert_memory_equal(v.ptr, "a value to damage, a value to damage", 36);
		gkv_buf_dispose(&v);
	} else {
		assert_int_equal(rc, GKV_E_CORRUPT);
	}
	expect(s, "w", "another value");
	gkv_store_free(s);
	gkv_repo_free(repo);
}

/* Write a pack and loose objects into a repository git made with
 * --shared=<how>. */
static void write_shared(const char *path, const char *how)
{
	char key[64], val[128];
	gkv_repo *repo;
	gkv_store *s;
	gkv_txn *txn;
	gkv_oid id;

	assert_int_equal(sh("git init -q --bare --shared=%s %s", how, path), 0);
	repo = open_git(path);
	assert_int_equal(gkv_store_open_branch(&s, repo, "main"), 0);
	assert_int_equal(gkv_txn_begin(&txn, s), 0);
	for (int i = 0; i < 400; i++) {
		snprintf(key, sizeof(key), "bulk/k%d", i);
		value_of(val, sizeof(val), i);
		assert_int_equal(gkv_txn_set(txn, key, val, strlen(val)), 0);
	}
	assert_int_equal(gkv_txn_commit(&id, txn, GKV_TXN_FAIL, NULL), 0);
	gkv_txn_free(txn);
	for (int i = 0; i < 20; i++) {
		snprintf(key, sizeof(key), "loose/k%d", i);
		assert_int_equal(gkv_store_set(&id, s, key, key, strlen(key), NULL), 0);
	}
	gkv_store_free(s);
	gkv_repo_free(repo);
	assert_int_equal(sh("git --git-dir=%s fsck --strict --no-dangling 2>/dev/null", path), 0);
	/* there are object folders and a pack to look at */
	assert_int_equal(sh("test -n \"$(find %s/objects -mindepth 1 -maxdepth 1 -type d "
			    "-name '[0-9a-f][0-9a-f]')\"", path), 0);
	assert_int_equal(sh("ls %s/objects/pack/*.pack >/dev/null", path), 0);
}

#define OBJ_DIRS "-mindepth 1 -maxdepth 1 -type d -name '[0-9a-f][0-9a-f]'"

/* No path under P/objects matching the find tests (or P's exit status). */
static int none(const char *path, const char *tests)
{
	return sh("test -z \"$(find %s/objects %s)\"", path, tests);
}

/*
 * core.sharedRepository: the folders gitkv makes under objects/ get the
 * group's write bit and set-group-id as git gives them, its files the
 * read bits the mode asks for; an unshared repository keeps the umask;
 * a bad value refuses to open, as git does.
 */
static void test_shared_repository(void **state)
{
	char path[256], uri[300];
	gkv_options *opts;
	gkv_repo *repo = NULL;
	mode_t old = umask(022);

	(void)state;
	snprintf(path, sizeof(path), "%s/shared-group", tmpdir);
	write_shared(path, "group");
	assert_int_equal(none(path, OBJ_DIRS " ! -perm -2775"), 0);
	assert_int_equal(none(path, "-path '*/[0-9a-f][0-9a-f]/*' -type f ! -perm 0444"), 0);
	assert_int_equal(none(path, "-path '*/pack/*' -type f ! -perm 0444"), 0);

	snprintf(path, sizeof(path), "%s/shared-0640", tmpdir);
	write_shared(path, "0640");
	assert_int_equal(none(path, OBJ_DIRS " ! -perm 2750"), 0);
	assert_int_equal(none(path, "-path '*/[0-9a-f][0-9a-f]/*' -type f ! -perm 0440"), 0);
	assert_int_equal(none(path, "-path '*/pack/*' -type f ! -perm 0440"), 0);

	snprintf(path, sizeof(path), "%s/shared-umask", tmpdir);
	write_shared(path, "umask");
	assert_int_equal(none(path, OBJ_DIRS " ! -perm 0755"), 0);
	assert_int_equal(none(path, "-path '*/[0-9a-f][0-9a-f]/*' -type f ! -perm 0444"), 0);

	assert_int_equal(sh("git --git-dir=%s config core.sharedRepository bogus", path), 0);
	snprintf(uri, sizeof(uri), "git:%s", path);
	assert_int_equal(gkv_options_new(&opts), 0);
	assert_int_equal(gkv_repo_open(&repo, uri, opts), GKV_E_CORRUPT);
	assert_non_null(strstr(gkv_error_last(), "core.sharedRepository"));
	assert_null(repo);
	gkv_options_free(opts);
	umask(old);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_written_pack_and_loose),
	    cmocka_unit_test(test_git_made_packs),
	    cmocka_unit_test(test_delta_chains),
	    cmocka_unit_test(test_headers_as_git),
	    cmocka_unit_test(test_damaged_header),
	    cmocka_unit_test(test_shared_repository),
	};
	int rc;

	if (!mkdtemp(tmpdir))
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}
