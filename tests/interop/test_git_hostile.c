/*
 * test_git_hostile.c -- a git repository handed to gitkv cannot crash or
 * hang it.
 *
 * libgit2 1.5.1 overflows its heap on a loose object whose header
 * understates its size, loops forever on a truncated loose object, and
 * trusts a damaged pack index too far. The git backend reads every object
 * with its own bounded code (backends/git/git_odb.c, git_pack.c). Here git
 * builds real repositories (loose objects, a pack with deltas after git
 * gc), the test damages their bytes, and every read must give the right
 * bytes, GKV_E_CORRUPT, or GKV_E_NOTFOUND where the damage hides the
 * object -- never a signal, never a hang (each test runs under alarm()).
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

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "gitkv.h"
#include "interop_util.h"

static char tmpdir[] = "/tmp/gkv-interop-hostile-XXXXXX";

/* Every line a shell command prints, into lines (at most max). */
static size_t lines(char (*out)[256], size_t max, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static size_t lines(char (*out)[256], size_t max, const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	size_t n = 0;
	FILE *p;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_non_null(p = popen(cmd, "r"));
	while (n < max && fgets(out[n], sizeof(out[n]), p)) {
		out[n][strcspn(out[n], "\n")] = '\0';
		n++;
	}
	pclose(p);
	return n;
}

static gkv_repo *open_git(const char *path)
{
	gkv_repo *repo;
	char uri[512];

	snprintf(uri, sizeof(uri), "git:%s", path);
	assert_int_equal(gkv_repo_open(&repo, uri, NULL), 0);
	return repo;
}

/* The git id of a blob of these bytes, as hex. */
static void blob_id(char hex[41], const char *payload, size_t len)
{
	gkv_oid id;

	assert_int_equal(gkv_hash(&id, GKV_OBJ_BLOB, payload, len), 0);
	gkv_oid_fmt(hex, &id);
	hex[40] = '\0';
}

/* Write a loose object file for hex whose inflated bytes are raw. */
static void plant_loose(const char *repo, const char *hex, const void *raw, size_t rawlen,
			size_t keep)
{
	uLongf zlen = compressBound(rawlen);
	unsigned char *z = malloc(zlen);
	char path[512];
	FILE *f;

	assert_non_null(z);
	assert_int_equal(compress(z, &zlen, raw, rawlen), Z_OK);
	snprintf(path, sizeof(path), "%s/objects/%.2s", repo, hex);
	mkdir(path, 0777);
	snprintf(path, sizeof(path), "%s/objects/%.2s/%s", repo, hex, hex + 2);
	unlink(path);
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(z, 1, keep && keep < zlen ? keep : zlen, f),
			 keep && keep < zlen ? keep : zlen);
	fclose(f);
	free(z);
}

static int read_hex(gkv_buf *v, gkv_otype *t, gkv_repo *repo, const char *hex)
{
	gkv_oid id;

	assert_int_equal(gkv_oid_fromstr(&id, hex), 0);
	return gkv_repo_object_read(v, t, repo, &id);
}

/* A loose object whose header says 5 bytes, with 5000 behind it: libgit2
 * 1.5.1 allocates for 5 and inflates 5000 (a heap overflow). */
static void test_loose_understated_size(void **state)
{
	char repo_path[256], hex[41], *payload, *raw;
	size_t n = 5000;
	gkv_repo *repo;
	gkv_otype t;
	gkv_buf v;
	int hl;

	(void)state;
	alarm(60);
	snprintf(repo_path, sizeof(repo_path), "%s/understated", tmpdir);
	assert_int_equal(sh("git init -q --bare %s", repo_path), 0);
	assert_non_null(payload = malloc(n));
	assert_non_null(raw = malloc(n + 32));
	memset(payload, 'x', n);
	blob_id(hex, payload, n);
	hl = snprintf(raw, 32, "blob 5") + 1;
	memcpy(raw + hl, payload, n);
	plant_loose(repo_path, hex, raw, (size_t)hl + n, 0);
	repo = open_git(repo_path);
	assert_int_equal(read_hex(&v, &t, repo, hex), GKV_E_CORRUPT);
	assert_non_null(strstr(gkv_error_last(), hex));
	assert_non_null(strstr(gkv_error_last(), repo_path));
	/* overstated too: a header of 9000 over 5000 bytes */
	hl = snprintf(raw, 32, "blob 9000") + 1;
	memcpy(raw + hl, payload, n);
	plant_loose(repo_path, hex, raw, (size_t)hl + n, 0);
	assert_int_equal(read_hex(&v, &t, repo, hex), GKV_E_CORRUPT);
	/* the right object reads */
	hl = snprintf(raw, 32, "blob %zu", n) + 1;
	memcpy(raw + hl, payload, n);
	plant_loose(repo_path, hex, raw, (size_t)hl + n, 0);
	assert_int_equal(read_hex(&v, &t, repo, hex), 0);
	assert_int_equal(v.size, n);
	assert_memory_equal(v.ptr, payload, n);
	gkv_buf_dispose(&v);
	gkv_repo_free(repo);
	free(payload);
	free(raw);
	alarm(0);
}

/* A truncated loose object: libgit2 1.5.1 loops forever on it. */
static void test_loose_truncated(void **state)
{
	char repo_path[256], hex[41], payload[3000], raw[3100];
	gkv_repo *repo;
	gkv_otype t;
	gkv_buf v;
	int hl;

	(void)state;
	alarm(60);
	snprintf(repo_path, sizeof(repo_path), "%s/truncated", tmpdir);
	assert_int_equal(sh("git init -q --bare %s", repo_path), 0);
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (char)(i * 2654435761u >> 13);
	blob_id(hex, payload, sizeof(payload));
	hl = snprintf(raw, 32, "blob %zu", sizeof(payload)) + 1;
	memcpy(raw + hl, payload, sizeof(payload));
	repo = open_git(repo_path);
	for (size_t keep = 2; keep < 200; keep += 7) {
		plant_loose(repo_path, hex, raw, (size_t)hl + sizeof(payload), keep);
		assert_int_equal(read_hex(&v, &t, repo, hex), GKV_E_CORRUPT);
	}
	gkv_repo_free(repo);
	alarm(0);
}

/* ---- a real repository, damaged byte by byte ---- */

#define MAXOBJ 512

typedef struct {
	char hex[41];
	gkv_otype type;
	gkv_buf bytes;
} known_obj;

static known_obj known[MAXOBJ];
static size_t nknown;
static char files[MAXOBJ][256]; /* damage targets: loose files, pack, idx */
static size_t nloose, npack_files;

/* A repository with a pack of deltas (a file changed line by line over
 * commits, then git gc) and loose objects added after it. */
static void build_repo(const char *w)
{
	assert_int_equal(
	    sh("set -e; git init -q %s; cd %s; for i in $(seq 1 8); do seq 1 300 | sed "
	       "\"s/^$i\\$/changed $i/\" > big; echo small $i > s$i; git add .; "
	       "git -c user.name=T -c user.email=t@e commit -qm c$i; done; git gc -q; "
	       "for i in $(seq 1 12); do echo loose value $i | git hash-object -w --stdin "
	       ">/dev/null; done; seq 1 400 | git hash-object -w --stdin >/dev/null",
	       w, w),
	    0);
}

static void load_known(const char *w)
{
	static char l[MAXOBJ][256];
	gkv_repo *repo = open_git(w);
	size_t n = lines(l, MAXOBJ,
			 "git -C %s cat-file --batch-check='%%(objectname)' --batch-all-objects",
			 w);

	assert_true(n > 30);
	for (size_t i = 0; i < n; i++) {
		memcpy(known[i].hex, l[i], 41);
		assert_int_equal(read_hex(&known[i].bytes, &known[i].type, repo, l[i]), 0);
	}
	nknown = n;
	gkv_repo_free(repo);
	nloose = lines(files, MAXOBJ, "find %s/.git/objects -path '*/pack' -prune -o -type f "
				      "-name '[0-9a-f]*' -print", w);
	npack_files = lines(files + nloose, 2, "ls %s/.git/objects/pack/*.pack "
					       "%s/.git/objects/pack/*.idx", w, w);
	assert_true(nloose >= 13);
	assert_int_equal(npack_files, 2);
	/* the pack has deltas, read by gitkv's own code */
	assert_int_equal(sh("git -C %s verify-pack -v %s | grep -q 'blob.* 1 [0-9a-f]\\{40\\}$' "
			    "|| git -C %s verify-pack -v %s | grep -qE 'chain length = [1-9]'",
			    w, files[nloose + 1], w, files[nloose + 1]),
			 0);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Every known object read: the right bytes, CORRUPT or NOTFOUND. */
static void check_reads(gkv_repo *repo, size_t *ok, size_t *corrupt, size_t *missing)
{
	for (size_t i = 0; i < nknown; i++) {
		gkv_otype t;
		gkv_buf v;
		int rc = read_hex(&v, &t, repo, known[i].hex), e;

		if (rc == 0) {
			assert_int_equal(t, known[i].type);
			assert_int_equal(v.size, known[i].bytes.size);
			assert_memory_equal(v.ptr, known[i].bytes.ptr, v.size);
			gkv_buf_dispose(&v);
			(*ok)++;
		} else {
			if (rc != GKV_E_CORRUPT && rc != GKV_E_NOTFOUND)
				fail_msg("object %s: %d %s", known[i].hex, rc, gkv_error_last());
			*(rc == GKV_E_CORRUPT ? corrupt : missing) += 1;
		}
		{
			gkv_oid id;

			/* asked, not judged: an answer, not a signal */
			assert_int_equal(gkv_oid_fromstr(&id, known[i].hex), 0);
			(void)gkv_repo_object_exists(&e, repo, &id);
		}
	}
}

static void flip(const char *path, uint64_t off, unsigned char bit, unsigned char *was)
{
	int fd;
	unsigned char c;

	chmod(path, 0644);
	assert_true((fd = open(path, O_RDWR)) >= 0);
	assert_int_equal(pread(fd, &c, 1, (off_t)off), 1);
	if (was)
		*was = c;
	c ^= bit;
	assert_int_equal(pwrite(fd, &c, 1, (off_t)off), 1);
	close(fd);
}

static uint64_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (uint64_t)st.st_size;
}

/* The pack's index among the damage targets (ls lists it before the pack). */
static const char *idx_file(void)
{
	for (size_t i = nloose; i < nloose + npack_files; i++)
		if (strlen(files[i]) > 4 && !strcmp(files[i] + strlen(files[i]) - 4, ".idx"))
			return files[i];
	fail_msg("no .idx among the damage targets");
	return NULL;
}

/* Targeted damage to the .idx: a 64-bit offset flag, a fanout entry. */
static void test_idx_targeted(void **state)
{
	char w[256];
	const char *idx;
	size_t ok = 0, corrupt = 0, missing = 0;
	uint64_t n, off32, where[4];
	unsigned char bits[4] = {0x80, 0xff, 0x01, 0x40};
	gkv_repo *repo;

	(void)state;
	alarm(120);
	snprintf(w, sizeof(w), "%s/idx", tmpdir);
	build_repo(w);
	load_known(w);
	idx = idx_file();
	n = (file_size(idx) - 1072) / 28;
	off32 = 1032 + n * 24;
	where[0] = off32;			   /* an offset's 64-bit flag */
	where[1] = 8 + 4 * 0x80 + 3;		   /* a fanout count */
	where[2] = 8 + 4 * 255 + 3;		   /* the object count */
	where[3] = 1032 + 20 * (n / 2) + 5;	   /* an id */
	for (int k = 0; k < 4; k++) {
		unsigned char was;

		flip(idx, where[k], bits[k], &was);
		repo = open_git(w);
		check_reads(repo, &ok, &corrupt, &missing);
		gkv_repo_free(repo);
		flip(idx, where[k], bits[k], NULL);
	}
	print_message("idx damage: %zu right, %zu corrupt, %zu not found\n", ok, corrupt,
		      missing);
	assert_true(corrupt > 0);
	for (size_t i = 0; i < nknown; i++)
		gkv_buf_dispose(&known[i].bytes);
	alarm(0);
}

struct fsck_seen {
	gkv_oid want;
	size_t hits;
};

static int on_problem(const gkv_oid *id, const char *ref, const char *problem, void *payload)
{
	struct fsck_seen *f = payload;

	(void)ref;
	print_message("fsck: %s\n", problem);
	if (id && gkv_oid_equal(id, &f->want))
		f->hits++;
	return 0;
}

/*
 * An id changed in the .idx where the checks at open cannot see it (its
 * last bit, so the ids stay in order): the object it named is hidden, no
 * read gives wrong bytes for it, and fsck reports the changed id, whose
 * contents do not hash to it.
 */
static void test_idx_id_changed(void **state)
{
	char w[256];
	const char *idx;
	size_t ok = 0, corrupt = 0, missing = 0, problems = 0;
	struct fsck_seen seen;
	unsigned char id[20];
	uint64_t n, at;
	gkv_repo *repo;
	int fd;

	(void)state;
	alarm(120);
	snprintf(w, sizeof(w), "%s/idxid", tmpdir);
	build_repo(w);
	load_known(w);
	idx = idx_file();
	n = (file_size(idx) - 1072) / 28;
	at = 1032 + 20 * (n / 2);
	assert_true((fd = open(idx, O_RDONLY)) >= 0);
	assert_int_equal(pread(fd, id, 20, (off_t)at), 20);
	close(fd);
	id[19] ^= 1;
	memcpy(seen.want.id, id, 20);
	seen.hits = 0;
	{
		char hex[41];

		gkv_oid_fmt(hex, &seen.want);
		hex[40] = '\0';
		print_message("changed id: %s\n", hex);
	}
	flip(idx, at + 19, 1, NULL);
	repo = open_git(w);
	check_reads(repo, &ok, &corrupt, &missing);
	assert_true(corrupt + missing > 0);
	assert_int_equal(gkv_repo_fsck(&problems, repo, on_problem, &seen, NULL, NULL), 0);
	assert_true(problems > 0);
	assert_true(seen.hits > 0);
	gkv_repo_free(repo);
	for (size_t i = 0; i < nknown; i++)
		gkv_buf_dispose(&known[i].bytes);
	alarm(0);
}

/* A few hundred single-bit flips (fixed seed) over the loose objects,
 * the pack and its index, every object read after each. */
static void test_flip_loop(void **state)
{
	char w[256];
	size_t ok = 0, corrupt = 0, missing = 0, flips = 0;
	int nflips = 300;

	(void)state;
	alarm(600);
	snprintf(w, sizeof(w), "%s/flips", tmpdir);
	build_repo(w);
	load_known(w);
	for (int i = 0; i < nflips; i++) {
		const char *path =
		    i % 3 == 0 ? files[next_rand() % nloose] : files[nloose + (size_t)(i % 3 - 1)];
		uint64_t size = file_size(path), off = next_rand() % size;
		unsigned char bit = (unsigned char)(1u << (next_rand() % 8));
		gkv_repo *repo;

		flip(path, off, bit, NULL);
		repo = open_git(w);
		check_reads(repo, &ok, &corrupt, &missing);
		gkv_repo_free(repo);
		flip(path, off, bit, NULL);
		flips++;
	}
	print_message("%zu flips: %zu reads right, %zu corrupt, %zu not found\n", flips, ok,
		      corrupt, missing);
	assert_true(corrupt > 0);
	/* restored: git agrees the repository is whole again */
	assert_int_equal(sh("git -C %s fsck --strict >/dev/null 2>&1", w), 0);
	for (size_t i = 0; i < nknown; i++)
		gkv_buf_dispose(&known[i].bytes);
	alarm(0);
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_loose_understated_size),
	    cmocka_unit_test(test_loose_truncated),
	    cmocka_unit_test(test_idx_targeted),
	    cmocka_unit_test(test_idx_id_changed),
	    cmocka_unit_test(test_flip_loop),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
