/*
 * test_full_disk.c -- stores on a full file system: lmdb (FULL, NOSYNC,
 * NOSYNC_MAPPED growing from a small map, NOSYNC_MAPPED at its default
 * 32 MiB on a smaller disk) and git.
 *
 * Each case mounts a small tmpfs of its own (or, where tmpfs cannot be
 * mounted, a loop-mounted ext4 image), puts a filler file on it first,
 * then a store. A child writes incompressible values under fill/N until
 * a write fails, acknowledging each commit through a pipe: the failure
 * must be GKV_E_FULL, and the child must not die (a SIGBUS from a
 * writable map over a full disk would). Then, on the still-full disk:
 * the store opens, its head is the last acknowledged commit (the failed
 * write left nothing visible), every acknowledged value reads back
 * byte for byte, and gitkv's full read passes. After the filler is
 * deleted, a write works, and the store reopens and reads; git stores
 * pass git fsck --strict.
 *
 * Mounting needs root: the test runs in a mount namespace of its own
 * when it can (so a crash cannot leave a mount behind), unmounts each
 * file system when its case ends and, at exit, any still mounted. Where
 * nothing can be mounted, every case is skipped with a message.
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

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "reliability.h"

#define VALUE_SIZE (24 * 1024)
#define MAX_WRITES 100000
#define MiB ((size_t)1 << 20)
#define SMALL_FILLER (MiB / 2)

typedef struct full_case {
	rel_backend b;
	const char *fs_size;	     /* of the tmpfs, as mount takes it */
	size_t filler;		     /* bytes of the filler file written first */
	const char *initial_mapsize; /* GKV_LMDB_INITIAL_MAPSIZE, or NULL */
} full_case;

typedef struct ack {
	uint32_t n;
	gkv_oid id;
} ack;

static const char *root;
static char mounted[8][512];
static int nmounted;
static pid_t owner;

static void make_value(unsigned char *buf, uint32_t n)
{
	uint64_t r = 0x9e3779b97f4a7c15ull * (n + 1);

	for (size_t i = 0; i < VALUE_SIZE; i += 8) {
		uint64_t x = rel_rand(&r);

		memcpy(buf + i, &x, 8);
	}
}

static void unmount_all(void)
{
	if (getpid() != owner)
		return;
	while (nmounted > 0)
		umount2(mounted[--nmounted], MNT_DETACH);
}

/* A small file system at dir: 0, or -1 (then a message says why). */
static int mount_small(const char *dir, const char *size)
{
	char opts[64];

	snprintf(opts, sizeof(opts), "size=%s", size);
	if (mount("tmpfs", dir, "tmpfs", 0, opts) != 0) {
		int e = errno;

		if (rel_sh("truncate -s 8M '%s.img' && mkfs.ext4 -q '%s.img' && "
			   "mount -o loop '%s.img' '%s' 2>/dev/null",
			   dir, dir, dir, dir) != 0) {
			print_message("full disk: cannot mount a small file system (tmpfs: %s; "
				      "loop ext4 failed too): skipped\n",
				      strerror(e));
			return -1;
		}
	}
	snprintf(mounted[nmounted++], sizeof(mounted[0]), "%s", dir);
	return 0;
}

static void unmount_last(void)
{
	assert_true(nmounted > 0);
	assert_int_equal(umount2(mounted[--nmounted], 0), 0);
}

static void write_filler(const char *path, size_t size)
{
	static char block[64 * 1024];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	memset(block, 'f', sizeof(block));
	for (size_t n = 0; n < size; n += sizeof(block))
		assert_int_equal(write(fd, block, sizeof(block)), sizeof(block));
	assert_int_equal(fsync(fd), 0);
	close(fd);
}

/* The writer: fills the disk. Exits 0 once a write is GKV_E_FULL. */
static void fill_child(const full_case *fc, const char *dir, int wfd)
{
	static unsigned char val[VALUE_SIZE];
	gkv_repo *repo;
	gkv_store *s;
	int rc;

	if ((rc = rel_open(&repo, &fc->b, dir, 0)) < 0) {
		fprintf(stderr, "full %s child: open: %s\n", fc->b.name, gkv_error_last());
		_exit(rc == GKV_E_FULL ? 0 : 3);
	}
	if ((rc = gkv_store_open_branch(&s, repo, "main")) < 0)
		_exit(4);
	for (uint32_t n = 1; n <= MAX_WRITES; n++) {
		char key[32];
		ack a;

		memset(&a, 0, sizeof(a));
		a.n = n;
		snprintf(key, sizeof(key), "fill/%u", n);
		make_value(val, n);
		rc = gkv_store_set(&a.id, s, key, val, sizeof(val), NULL);
		if (rc == GKV_E_FULL)
			_exit(0);
		if (rc < 0) {
			fprintf(stderr, "full %s child: write %u: %s (%d)\n", fc->b.name, n,
				gkv_error_last(), rc);
			_exit(5);
		}
		if (write(wfd, &a, sizeof(a)) != sizeof(a))
			_exit(6);
	}
	_exit(7); /* never full */
}

/* Every acknowledged value reads back, the failed one is absent and the
 * head is the last acknowledged commit. */
static void check_filled(const full_case *fc, const char *dir, const ack *acks, size_t nacks)
{
	static unsigned char val[VALUE_SIZE];
	gkv_repo *repo;
	gkv_store *s;
	gkv_oid head;
	rel_census census;
	char key[32];
	gkv_buf b = {0};
	int rc;

	assert_int_equal(rel_open(&repo, &fc->b, dir, 0), 0);
	rc = gkv_branch_head(&head, repo, "main");
	if (nacks == 0) {
		assert_int_equal(rc, GKV_E_NOTFOUND);
	} else {
		assert_int_equal(rc, 0);
		assert_true(gkv_oid_equal(&head, &acks[nacks - 1].id));
	}
	assert_int_equal(gkv_store_open_branch(&s, repo, "main"), 0);
	for (size_t i = 0; i < nacks; i++) {
		snprintf(key, sizeof(key), "fill/%u", acks[i].n);
		make_value(val, acks[i].n);
		assert_int_equal(gkv_store_get(&b, s, key), 0);
		assert_int_equal(b.size, VALUE_SIZE);
		assert_memory_equal(b.ptr, val, VALUE_SIZE);
		gkv_buf_dispose(&b);
	}
	snprintf(key, sizeof(key), "fill/%zu", nacks + 1);
	assert_int_equal(gkv_store_get(&b, s, key), GKV_E_NOTFOUND);
	assert_int_equal(rel_check_store(&census, repo), 0);
	gkv_store_free(s);
	gkv_repo_free(repo);
}

/* With room again: a write works, and a fresh open reads everything. */
static void check_recovered(const full_case *fc, const char *dir)
{
	static unsigned char val[VALUE_SIZE];
	gkv_repo *repo;
	gkv_store *s;
	gkv_buf b = {0};
	int rc;

	make_value(val, 0);
	assert_int_equal(rel_open(&repo, &fc->b, dir, 0), 0);
	assert_int_equal(gkv_store_open_branch(&s, repo, "main"), 0);
	rc = gkv_store_set(NULL, s, "after", val, sizeof(val), NULL);
	if (rc != 0)
		fprintf(stderr, "full %s: write after freeing space: %s\n", fc->b.name,
			gkv_error_last());
	assert_int_equal(rc, 0);
	gkv_store_free(s);
	gkv_repo_free(repo);
	assert_int_equal(rel_open(&repo, &fc->b, dir, 0), 0);
	assert_int_equal(gkv_store_open_branch(&s, repo, "main"), 0);
	assert_int_equal(gkv_store_get(&b, s, "after"), 0);
	assert_int_equal(b.size, VALUE_SIZE);
	assert_memory_equal(b.ptr, val, VALUE_SIZE);
	gkv_buf_dispose(&b);
	assert_int_equal(rel_check_store(NULL, repo), 0);
	gkv_store_free(s);
	gkv_repo_free(repo);
}

static void run_full(const full_case *fc)
{
	char mnt[512], dir[600], filler[600];
	ack *acks = NULL;
	size_t nacks = 0, cap = 0;
	gkv_repo *repo;
	int p[2], status, rc;
	pid_t pid;
	ack a;

	snprintf(mnt, sizeof(mnt), "%s/%s", root, fc->b.name);
	assert_int_equal(mkdir(mnt, 0755), 0);
	if (mount_small(mnt, fc->fs_size) != 0)
		skip();
	snprintf(filler, sizeof(filler), "%s/filler", mnt);
	snprintf(dir, sizeof(dir), "%s/store", mnt);
	write_filler(filler, fc->filler);
	unsetenv("GKV_LMDB_INITIAL_MAPSIZE");
	if (fc->initial_mapsize)
		setenv("GKV_LMDB_INITIAL_MAPSIZE", fc->initial_mapsize, 1);

	/* making the store may itself find the disk too small */
	rc = rel_open(&repo, &fc->b, dir, 1);
	if (rc != 0)
		fprintf(stderr, "full %s: create: %s\n", fc->b.name, gkv_error_last());
	assert_true(rc == 0 || rc == GKV_E_FULL);
	gkv_repo_free(repo);

	assert_int_equal(pipe(p), 0);
	if ((pid = fork()) == 0) {
		close(p[0]);
		fill_child(fc, dir, p[1]);
	}
	assert_true(pid > 0);
	close(p[1]);
	while (read(p[0], &a, sizeof(a)) == sizeof(a)) {
		if (nacks == cap) {
			cap = cap ? 2 * cap : 256;
			assert_non_null(acks = realloc(acks, cap * sizeof(*acks)));
		}
		acks[nacks++] = a;
	}
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		fprintf(stderr, "full %s: the writer died of signal %d\n", fc->b.name,
			WTERMSIG(status));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	print_message("full %-16s %zu writes of %d KiB acknowledged, then GKV_E_FULL\n", fc->b.name,
		      nacks, VALUE_SIZE / 1024);

	if (rc == 0)
		check_filled(fc, dir, acks, nacks);
	assert_int_equal(unlink(filler), 0);
	if (rc != 0) /* the store could not be made: it can be now */
		assert_int_equal(rel_open(&repo, &fc->b, dir, 1), 0), gkv_repo_free(repo);
	check_recovered(fc, dir);
	if (strcmp(fc->b.scheme, "git") == 0)
		assert_int_equal(
		    rel_sh("git -C '%s' fsck --strict --no-progress --no-dangling >&2", dir), 0);
	unsetenv("GKV_LMDB_INITIAL_MAPSIZE");
	free(acks);
	unmount_last();
}

static void test_full_lmdb(void **state)
{
	static const full_case fc = {
	    {"lmdb", "lmdb", GKV_DURABILITY_FULL}, "4m", SMALL_FILLER, NULL};

	(void)state;
	run_full(&fc);
}

static void test_full_lmdb_nosync(void **state)
{
	static const full_case fc = {
	    {"lmdb-nosync", "lmdb", GKV_DURABILITY_NOSYNC}, "4m", SMALL_FILLER, NULL};

	(void)state;
	run_full(&fc);
}

static void test_full_lmdb_mapped(void **state)
{
	static const full_case fc = {
	    {"lmdb-mapped", "lmdb", GKV_DURABILITY_NOSYNC_MAPPED}, "8m", 5 * MiB, "256k"};

	(void)state;
	run_full(&fc);
}

/* the default writable map (32 MiB) does not fit next to the filler:
 * refused, not a crash; with the filler gone it does */
static void test_full_lmdb_mapped_default(void **state)
{
	static const full_case fc = {
	    {"lmdb-mapped-32m", "lmdb", GKV_DURABILITY_NOSYNC_MAPPED}, "40m", 16 * MiB, NULL};

	(void)state;
	run_full(&fc);
}

static void test_full_git(void **state)
{
	static const full_case fc = {{"git", "git", DUR_UNSET}, "4m", SMALL_FILLER, NULL};

	(void)state;
	run_full(&fc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_lmdb),
	    cmocka_unit_test(test_full_lmdb_nosync),
	    cmocka_unit_test(test_full_lmdb_mapped),
	    cmocka_unit_test(test_full_lmdb_mapped_default),
	    cmocka_unit_test(test_full_git),
	};

	root = rel_scratch("fulldisk");
	owner = getpid();
	/* a mount namespace of our own: whatever happens, no mount outlives
	 * the test; without one, unmount_all at exit */
	if (unshare(CLONE_NEWNS) == 0)
		mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	atexit(unmount_all);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
