/*
 * test_objects.c -- gitkv's objects against the git CLI. The promise is
 * that an object gitkv writes is the one git would write, so every id
 * here is computed twice: by gitkv and by git (hash-object, mktree,
 * commit-tree) in a scratch repository under /tmp. Objects gitkv
 * serialized are then stored in that repository and git fsck --strict
 * must find nothing wrong; malformed trees gitkv refuses, git fsck must
 * refuse too.
 */
#define _GNU_SOURCE /* setenv, mkdtemp */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codec.h"
#include "path.h"

extern char **environ;

static char tmpdir[] = "/tmp/gkv-interop-XXXXXX";
static char repo[sizeof(tmpdir) + 32];

/* ------------------------------------------------------------ running git */

static void write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0)
			return; /* git exited early; its status tells */
		p += n;
		len -= (size_t)n;
	}
}

static void read_all(gkv__sbuf *out, int fd)
{
	char chunk[4096];
	ssize_t n;

	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		assert_int_equal(gkv__sbuf_put(out, chunk, (size_t)n), 0);
}

/*
 * Run git with argv (argv[0] is "git"), feeding it in[0..inlen) and
 * collecting its stdout (and stderr, if want_stderr) into out. Returns
 * git's exit status. Inputs are small, so writing all of stdin before
 * reading stdout cannot deadlock.
 */
static int git_run(gkv__sbuf *out, const void *in, size_t inlen, int want_stderr,
		   char *const argv[])
{
	posix_spawn_file_actions_t fa;
	int pin[2], pout[2], status;
	pid_t pid;

	assert_int_equal(pipe(pin), 0);
	assert_int_equal(pipe(pout), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
	posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
	if (want_stderr)
		posix_spawn_file_actions_adddup2(&fa, pout[1], 2);
	else
		posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addclose(&fa, pin[1]);
	posix_spawn_file_actions_addclose(&fa, pout[0]);
	assert_int_equal(posix_spawnp(&pid, "git", &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(pin[0]);
	close(pout[1]);
	write_all(pin[1], in, inlen);
	close(pin[1]);
	read_all(out, pout[0]);
	close(pout[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* Run git, which must succeed; its output's first 40 characters are an id. */
static void git_id(gkv_oid *out, const void *in, size_t inlen, char *const argv[])
{
	gkv__sbuf o = GKV__SBUF_INIT;
	char hex[GKV_OID_HEXSZ + 1];

	if (git_run(&o, in, inlen, 1, argv) != 0)
		fail_msg("git %s failed: %.*s", argv[1], (int)o.size, (char *)o.ptr);
	assert_true(o.size >= GKV_OID_HEXSZ);
	memcpy(hex, o.ptr, GKV_OID_HEXSZ);
	hex[GKV_OID_HEXSZ] = '\0';
	assert_int_equal(gkv_oid_fromstr(out, hex), 0);
	gkv__sbuf_free(&o);
}

static void assert_same_id(const gkv_oid *ours, const gkv_oid *git, const char *what)
{
	char a[GKV_OID_HEXSZ + 1], b[GKV_OID_HEXSZ + 1];

	if (gkv_oid_equal(ours, git))
		return;
	gkv_oid_fmt(a, ours);
	gkv_oid_fmt(b, git);
	fail_msg("%s: gitkv %s, git %s", what, a, b);
}

/* git hash-object -w -t type --stdin [--literally]: git's id of data, stored. */
static void git_store(gkv_oid *out, const char *type, const void *data, size_t len, int literally)
{
	char *argv[] = {"git",
			"hash-object",
			"-w",
			"-t",
			(char *)type,
			"--stdin",
			literally ? "--literally" : NULL,
			NULL};

	git_id(out, data, len, argv);
}

/* git cat-file type id must give back exactly data. */
static void assert_git_bytes(const char *type, const gkv_oid *id, const void *data, size_t len)
{
	gkv__sbuf o = GKV__SBUF_INIT;
	char hex[GKV_OID_HEXSZ + 1];
	char *argv[] = {"git", "cat-file", (char *)type, hex, NULL};

	gkv_oid_fmt(hex, id);
	assert_int_equal(git_run(&o, NULL, 0, 0, argv), 0);
	assert_int_equal(o.size, len);
	if (len)
		assert_memory_equal(o.ptr, data, len);
	gkv__sbuf_free(&o);
}

static int git_fsck_clean(int quiet)
{
	gkv__sbuf o = GKV__SBUF_INIT;
	char *argv[] = {"git", "fsck", "--strict", "--no-dangling", "--no-progress", NULL};
	int rc = git_run(&o, NULL, 0, 1, argv);

	if (rc != 0 && !quiet)
		print_message("git fsck: %.*s\n", (int)o.size, (char *)o.ptr);
	gkv__sbuf_free(&o);
	return rc == 0;
}

/* ----------------------------------------------------------- the fixture */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void init_repo(const char *dir)
{
	gkv__sbuf o = GKV__SBUF_INIT;
	char *argv[] = {"git", "init", "-q", "--bare", (char *)dir, NULL};

	assert_int_equal(git_run(&o, NULL, 0, 1, argv), 0);
	gkv__sbuf_free(&o);
	assert_int_equal(setenv("GIT_DIR", dir, 1), 0);
}

static int setup(void **state)
{
	(void)state;
	/* git may exit before reading all we write (it fails): no SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(repo, sizeof(repo), "%s/repo.git", tmpdir);
	/* Nothing from the user's or the system's configuration. */
	setenv("HOME", tmpdir, 1);
	setenv("XDG_CONFIG_HOME", tmpdir, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
	init_repo(repo);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ------------------------------------------------------------------ blobs */

static void check_blob(const void *data, size_t len, const char *what)
{
	gkv_oid ours, theirs;

	assert_int_equal(gkv_hash(&ours, GKV_OBJ_BLOB, data, len), 0);
	git_store(&theirs, "blob", data, len, 0);
	assert_same_id(&ours, &theirs, what);
}

static void test_blobs(void **state)
{
	unsigned char all[256 * 3], *big;
	size_t bigsz = 300 * 1000;

	(void)state;
	check_blob("", 0, "empty blob");
	check_blob("hello\n", 6, "hello");
	check_blob("no newline", 10, "no newline");
	check_blob("\0", 1, "one NUL");
	for (size_t i = 0; i < sizeof(all); i++)
		all[i] = (unsigned char)(i * 7);
	check_blob(all, sizeof(all), "every byte");
	big = malloc(bigsz);
	for (size_t i = 0; i < bigsz; i++)
		big[i] = (unsigned char)((i * 2654435761u) >> 13);
	check_blob(big, bigsz, "300 kB binary");
	free(big);
}

/* ------------------------------------------------------------------ trees */

typedef struct {
	uint32_t mode;
	const char *name;
	gkv_oid id;
} tentry;

static int tentry_cmp(const void *a, const void *b)
{
	const tentry *x = a, *y = b;

	return gkv__entry_cmp(x->name, strlen(x->name), x->mode == GKV_MODE_TREE, y->name,
			      strlen(y->name), y->mode == GKV_MODE_TREE);
}

/* Our tree of v (sorted here, as tree.c would) and its id. */
static void our_tree(gkv__sbuf *out, gkv_oid *id, tentry *v, size_t n)
{
	qsort(v, n, sizeof(*v), tentry_cmp);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(
		    gkv__tree_put_entry(out, v[i].mode, v[i].name, strlen(v[i].name), &v[i].id), 0);
	assert_int_equal(gkv_hash(id, GKV_OBJ_TREE, out->ptr, out->size), 0);
}

/* git mktree's id for v, fed in the order given (mktree sorts itself). */
static void git_tree(gkv_oid *out, const tentry *v, size_t n)
{
	gkv__sbuf in = GKV__SBUF_INIT;
	char line[512], hex[GKV_OID_HEXSZ + 1];
	char *argv[] = {"git", "mktree", NULL};

	for (size_t i = 0; i < n; i++) {
		const char *type = v[i].mode == GKV_MODE_TREE	   ? "tree"
				   : v[i].mode == GKV_MODE_GITLINK ? "commit"
								   : "blob";

		gkv_oid_fmt(hex, &v[i].id);
		snprintf(line, sizeof(line), "%06o %s %s\t%s\n", v[i].mode, type, hex, v[i].name);
		assert_int_equal(gkv__sbuf_puts(&in, line), 0);
	}
	git_id(out, in.ptr, in.size, argv);
	gkv__sbuf_free(&in);
}

/* Build the same tree both ways; check id, bytes, and that we read git's. */
static void check_tree(gkv_oid *out, tentry *v, size_t n, const char *what)
{
	gkv__sbuf ours = GKV__SBUF_INIT;
	gkv__raw_entry *parsed;
	size_t count;
	gkv_oid theirs;

	git_tree(&theirs, v, n);
	our_tree(&ours, out, v, n);
	assert_same_id(out, &theirs, what);
	assert_git_bytes("tree", &theirs, ours.ptr, ours.size);
	assert_int_equal(gkv__tree_parse(&parsed, &count, ours.ptr, ours.size, out), 0);
	assert_int_equal(count, n);
	free(parsed);
	gkv__sbuf_free(&ours);
}

static void blob_id(gkv_oid *out, const char *content)
{
	git_store(out, "blob", content, strlen(content), 0);
}

static void test_trees(void **state)
{
	gkv_oid sub, top, b1, b2, gitlink;
	tentry subv[3], topv[11];
	size_t n = 0;

	(void)state;
	blob_id(&b1, "one\n");
	blob_id(&b2, "two\n");
	memset(&gitlink, 0x5a, sizeof(gitlink));
	subv[0] = (tentry){GKV_MODE_BLOB, "z", b1};
	subv[1] = (tentry){GKV_MODE_BLOB, "m", b2};
	subv[2] = (tentry){GKV_MODE_EXEC, "run.sh", b1};
	check_tree(&sub, subv, 3, "subtree");

	/* Fed in an order unlike git's, to exercise the sorting rule. */
	topv[n++] = (tentry){GKV_MODE_BLOB, "a0", b1};
	topv[n++] = (tentry){GKV_MODE_TREE, "a", sub};
	topv[n++] = (tentry){GKV_MODE_BLOB, "a.txt", b2};
	topv[n++] = (tentry){GKV_MODE_TREE, "a-", sub};
	topv[n++] = (tentry){GKV_MODE_BLOB, "a-b", b1};
	topv[n++] = (tentry){GKV_MODE_BLOB, "A", b2};
	topv[n++] = (tentry){GKV_MODE_LINK, "link", b1};
	topv[n++] = (tentry){GKV_MODE_BLOB, "\xc3\xa9t\xc3\xa9", b2};
	topv[n++] = (tentry){GKV_MODE_BLOB, "with space", b1};
	topv[n++] = (tentry){GKV_MODE_GITLINK, "module", gitlink};
	topv[n++] = (tentry){GKV_MODE_TREE, "a0b", sub};
	check_tree(&top, topv, n, "top tree");
}

static void test_empty_tree(void **state)
{
	gkv_oid ours, theirs;
	char *argv[] = {"git", "mktree", NULL};

	(void)state;
	assert_int_equal(gkv_hash(&ours, GKV_OBJ_TREE, "", 0), 0);
	git_id(&theirs, "", 0, argv);
	assert_same_id(&ours, &theirs, "empty tree");
}

/* Read every tree and commit git wrote: the parser accepts what git writes. */
static void test_git_objects_parse(void **state)
{
	gkv__sbuf o = GKV__SBUF_INIT;
	char *list[] = {"git", "cat-file", "--batch-all-objects", "--batch", NULL};
	size_t pos = 0, trees = 0, commits = 0;

	(void)state;
	assert_int_equal(git_run(&o, NULL, 0, 0, list), 0);
	/* "<id> <type> <size>\n<payload>\n" per object. */
	while (pos < o.size) {
		char hex[GKV_OID_HEXSZ + 1], type[16];
		size_t size;
		int used = 0;
		gkv_oid id;
		const char *payload;

		assert_int_equal(
		    sscanf((char *)o.ptr + pos, "%40s %15s %zu%n", hex, type, &size, &used), 3);
		payload = (char *)o.ptr + pos + used + 1;
		assert_int_equal(gkv_oid_fromstr(&id, hex), 0);
		if (!strcmp(type, "tree")) {
			gkv__raw_entry *v;
			size_t n;

			assert_int_equal(gkv__tree_parse(&v, &n, payload, size, &id), 0);
			free(v);
			trees++;
		} else if (!strcmp(type, "commit")) {
			gkv__commit_raw c;

			assert_int_equal(gkv__commit_parse(&c, payload, size, &id), 0);
			gkv__commit_raw_dispose(&c);
			commits++;
		}
		pos += (size_t)used + 1 + size + 1;
	}
	assert_true(trees > 0);
	print_message("parsed %zu trees and %zu commits written by git\n", trees, commits);
	gkv__sbuf_free(&o);
}

/* ---------------------------------------------------------------- commits */

typedef struct {
	int64_t atime, ctime;
	int aoff, coff;
	const char *message;
} commit_case;

static void zone_text(char *out, size_t cap, int64_t t, int off)
{
	int a = off < 0 ? -off : off;

	/* "@" makes git read any number as seconds, even small ones. */
	snprintf(out, cap, "@%lld %c%02d%02d", (long long)t, off < 0 ? '-' : '+', a / 60, a % 60);
}

/* git commit-tree's id, with dates and zones set through the environment. */
static void git_commit(gkv_oid *out, const gkv_oid *tree, const gkv_oid *parents, size_t np,
		       const commit_case *cc)
{
	char date[64], thex[GKV_OID_HEXSZ + 1], phex[4][GKV_OID_HEXSZ + 1];
	char *argv[16];
	size_t argc = 0;

	assert_true(np <= 4);
	zone_text(date, sizeof(date), cc->atime, cc->aoff);
	setenv("GIT_AUTHOR_DATE", date, 1);
	zone_text(date, sizeof(date), cc->ctime, cc->coff);
	setenv("GIT_COMMITTER_DATE", date, 1);
	gkv_oid_fmt(thex, tree);
	argv[argc++] = "git";
	argv[argc++] = "commit-tree";
	argv[argc++] = thex;
	for (size_t i = 0; i < np; i++) {
		gkv_oid_fmt(phex[i], &parents[i]);
		argv[argc++] = "-p";
		argv[argc++] = phex[i];
	}
	argv[argc] = NULL;
	/* The message on stdin is taken verbatim (no -m, no cleanup). */
	git_id(out, cc->message, strlen(cc->message), argv);
}

static void check_commit(gkv_oid *out, const gkv_oid *tree, const gkv_oid *parents, size_t np,
			 const commit_case *cc)
{
	gkv_signature a = {"A U Thor", "author@example.com", cc->atime, cc->aoff};
	gkv_signature c = {"C O Mitter", "committer@example.com", cc->ctime, cc->coff};
	gkv__sbuf ours = GKV__SBUF_INIT;
	gkv__commit_raw raw;
	gkv_oid theirs;

	git_commit(&theirs, tree, parents, np, cc);
	assert_int_equal(gkv__commit_serialize(&ours, tree, parents, np, &a, &c, cc->message), 0);
	assert_int_equal(gkv_hash(out, GKV_OBJ_COMMIT, ours.ptr, ours.size), 0);
	assert_same_id(out, &theirs, cc->message);
	assert_git_bytes("commit", &theirs, ours.ptr, ours.size);
	assert_int_equal(gkv__commit_parse(&raw, ours.ptr, ours.size, out), 0);
	assert_int_equal(raw.nparents, np);
	assert_int_equal(raw.author.offset, cc->aoff);
	assert_int_equal(raw.committer.time, cc->ctime);
	assert_string_equal(raw.message, cc->message);
	gkv__commit_raw_dispose(&raw);
	gkv__sbuf_free(&ours);
}

static void test_commits(void **state)
{
	static const commit_case root = {1112911993, 1112912053, 330, -480, "root\n"};
	static const commit_case cases[] = {
	    {1, 2, 0, 0, "utc\n"},
	    {1700000000, 1700000001, -90, 90, "half hours"},
	    {1700000000, 1700000000, 840, -720, "subject\n\nbody\n"},
	    {0, 4102444800LL, 5999, -5999, ""},
	};
	gkv_oid tree, parent, second, merge, c;
	tentry e;
	char *argv[] = {"git", "mktree", NULL};

	(void)state;
	setenv("GIT_AUTHOR_NAME", "A U Thor", 1);
	setenv("GIT_AUTHOR_EMAIL", "author@example.com", 1);
	setenv("GIT_COMMITTER_NAME", "C O Mitter", 1);
	setenv("GIT_COMMITTER_EMAIL", "committer@example.com", 1);
	git_id(&tree, "", 0, argv);
	check_commit(&parent, &tree, NULL, 0, &root);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_commit(&c, &tree, &parent, 1, &cases[i]);

	/* A second line of history on another tree, then a merge of both. */
	blob_id(&e.id, "merged\n");
	e.mode = GKV_MODE_BLOB;
	e.name = "f";
	check_tree(&tree, &e, 1, "one-file tree");
	check_commit(&second, &tree, &parent, 1, &cases[1]);
	{
		gkv_oid parents[2] = {parent, second};
		commit_case mc = {1800000000, 1800000100, -480, 330, "Merge\n"};

		check_commit(&merge, &tree, parents, 2, &mc);
		parents[0] = second;
		parents[1] = parent;
		mc.message = "Merge the other way\n";
		check_commit(&c, &tree, parents, 2, &mc);
	}
}

/* ------------------------------------------ our objects in git's database */

static void test_ours_pass_fsck(void **state)
{
	gkv__sbuf t = GKV__SBUF_INIT, c = GKV__SBUF_INIT;
	gkv_oid blob, tree, commit, stored, plain;
	gkv_signature s = {"Signed Person", "s@example.com", 1600000000, 60};
	char thex[GKV_OID_HEXSZ + 1];
	char signed_commit[1024];
	gkv__commit_raw raw;

	(void)state;
	check_blob("value\n", 6, "value");
	assert_int_equal(gkv_hash(&blob, GKV_OBJ_BLOB, "value\n", 6), 0);
	assert_int_equal(gkv__tree_put_entry(&t, GKV_MODE_BLOB, ".gitignore", 10, &blob), 0);
	assert_int_equal(gkv__tree_put_entry(&t, GKV_MODE_BLOB, "key", 3, &blob), 0);
	assert_int_equal(gkv_hash(&tree, GKV_OBJ_TREE, t.ptr, t.size), 0);
	git_store(&stored, "tree", t.ptr, t.size, 1);
	assert_same_id(&tree, &stored, "tree written literally");
	git_store(&plain, "tree", t.ptr, t.size, 0);
	assert_same_id(&tree, &plain, "tree written with git's checks");

	assert_int_equal(gkv__commit_serialize(&c, &tree, NULL, 0, &s, &s, "gitkv\n"), 0);
	assert_int_equal(gkv_hash(&commit, GKV_OBJ_COMMIT, c.ptr, c.size), 0);
	git_store(&stored, "commit", c.ptr, c.size, 1);
	assert_same_id(&commit, &stored, "commit written literally");

	/* A commit with the extra headers git writes for signed commits. */
	gkv_oid_fmt(thex, &tree);
	snprintf(signed_commit, sizeof(signed_commit),
		 "tree %s\n"
		 "author Signed Person <s@example.com> 1600000000 +0100\n"
		 "committer Signed Person <s@example.com> 1600000000 +0100\n"
		 "encoding ISO-8859-1\n"
		 "gpgsig -----BEGIN PGP SIGNATURE-----\n"
		 " \n"
		 " iQEzBAABCAAdFiEEnotarealsignature\n"
		 " -----END PGP SIGNATURE-----\n"
		 "\n"
		 "signed\n",
		 thex);
	git_store(&stored, "commit", signed_commit, strlen(signed_commit), 0);
	assert_int_equal(gkv__commit_parse(&raw, signed_commit, strlen(signed_commit), &stored), 0);
	assert_string_equal(raw.message, "signed\n");
	gkv__commit_raw_dispose(&raw);

	assert_true(git_fsck_clean(0));
	gkv__sbuf_free(&t);
	gkv__sbuf_free(&c);
}

/* ------------------------------------------- malformed trees: git agrees */

/* Each case breaks one rule; gitkv refuses it and so does git fsck --strict. */
static void check_git_refuses(const char *what, const void *payload, size_t len, int index)
{
	char dir[sizeof(tmpdir) + 32];
	gkv__raw_entry *v = NULL;
	gkv_oid id;
	size_t n;

	if (gkv__tree_parse(&v, &n, payload, len, NULL) != GKV_E_CORRUPT)
		fail_msg("gitkv accepted: %s", what);
	snprintf(dir, sizeof(dir), "%s/bad%d.git", tmpdir, index);
	init_repo(dir);
	git_store(&id, "tree", payload, len, 1);
	if (git_fsck_clean(1))
		fail_msg("git fsck accepted: %s", what);
	setenv("GIT_DIR", repo, 1);
}

static void add(gkv__sbuf *b, const char *mode, const char *name, const gkv_oid *id)
{
	assert_int_equal(gkv__sbuf_puts(b, mode), 0);
	assert_int_equal(gkv__sbuf_putc(b, ' '), 0);
	assert_int_equal(gkv__sbuf_put(b, name, strlen(name) + 1), 0);
	assert_int_equal(gkv__sbuf_put(b, id->id, GKV_OID_RAWSZ), 0);
}

static void test_malformed_trees(void **state)
{
	static const struct {
		const char *what;
		const char *m1, *n1, *m2, *n2, *m3, *n3;
	} cases[] = {
	    {"unsorted", "100644", "b", "100644", "a", NULL, NULL},
	    {"duplicate", "100644", "a", "100644", "a", NULL, NULL},
	    {"file and dir, same name", "100644", "a", "40000", "a", NULL, NULL},
	    {"hidden duplicate", "100644", "a", "100644", "a.txt", "40000", "a"},
	    {"dir sorted as file", "40000", "a", "100644", "a.txt", NULL, NULL},
	    {".git", "100644", ".git", NULL, NULL, NULL, NULL},
	    {".GIT", "100644", ".GIT", NULL, NULL, NULL, NULL},
	    {"empty name", "100644", "", NULL, NULL, NULL, NULL},
	    {"'.'", "40000", ".", NULL, NULL, NULL, NULL},
	    {"'..'", "40000", "..", NULL, NULL, NULL, NULL},
	    {"'/' in name", "100644", "a/b", NULL, NULL, NULL, NULL},
	    {"zero-padded mode", "040000", "d", NULL, NULL, NULL, NULL},
	};
	gkv_oid blob, sub, empty;
	char *argv[] = {"git", "mktree", NULL};

	(void)state;
	blob_id(&blob, "x\n");
	git_id(&empty, "", 0, argv);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		gkv__sbuf b = GKV__SBUF_INIT;
		const char *m[3] = {cases[i].m1, cases[i].m2, cases[i].m3};
		const char *nm[3] = {cases[i].n1, cases[i].n2, cases[i].n3};

		for (int k = 0; k < 3 && m[k]; k++) {
			sub = m[k][0] == '4' || m[k][1] == '4' ? empty : blob;
			add(&b, m[k], nm[k], &sub);
		}
		check_git_refuses(cases[i].what, b.ptr, b.size, (int)i);
		gkv__sbuf_free(&b);
	}
}

/* ----------------------------------------------------------- branch names */

static void test_branch_names(void **state)
{
	static const char *const names[] = {
	    "main",  "feature/x", "a.b",    "v1.0",	"\xc3\xa9t\xc3\xa9",
	    "a@b",   "x.lockx",	  "a{b}",   "HEAD",	"-x",
	    "",	     ".x",	  "a/.x",   "a..b",	"a/",
	    "/a",    "a//b",	  "x.lock", "a.lock/b", "a.",
	    "a@{b",  "a b",	  "a~b",    "a^b",	"a:b",
	    "a?b",   "a*b",	  "a[b",    "a\\b",	"a\tb",
	    "a\x7f",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		gkv__sbuf o = GKV__SBUF_INIT;
		char *argv[] = {"git", "check-ref-format", "--branch", (char *)names[i], NULL};
		int git_ok = git_run(&o, NULL, 0, 0, argv) == 0;
		int ours_ok = gkv__branch_check(names[i]) == 0;

		if (git_ok != ours_ok)
			fail_msg("'%s': git says %s, gitkv says %s", names[i],
				 git_ok ? "ok" : "bad", ours_ok ? "ok" : "bad");
		gkv__sbuf_free(&o);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_blobs),	    cmocka_unit_test(test_trees),
	    cmocka_unit_test(test_empty_tree),	    cmocka_unit_test(test_commits),
	    cmocka_unit_test(test_ours_pass_fsck),  cmocka_unit_test(test_git_objects_parse),
	    cmocka_unit_test(test_malformed_trees), cmocka_unit_test(test_branch_names),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
