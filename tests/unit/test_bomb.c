/*
 * test_bomb.c -- a large value that compresses to almost nothing (a zlib
 * bomb: 128 MiB of zeros is ~128 KiB on disk) is read in bounded memory.
 *
 * The value is written, then a child process opens the store afresh and
 * reads it: streamed (gkv_store_read) its peak memory must stay far below
 * the value's size; under a cap (gkv_options_set_max_value) a whole read
 * is refused before the value's memory is taken. Persistent backends
 * only: a mem store holds its values in memory by nature.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "gitkv.h"

#define BOMB ((size_t)128 << 20)
/* What a child may add to its peak memory while reading the bomb. */
#define ALLOWANCE_KB (32 * 1024)

static long peak_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

typedef struct {
	uint64_t got;
	int zeros; /* every byte was zero */
} tally;

static int tally_cb(const void *data, size_t len, void *payload)
{
	tally *t = payload;
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++)
		t->zeros &= p[i] == 0;
	t->got += len;
	return 0;
}

/* In a child: open uri, read "bomb" as asked; exit 0 if it went as it
 * must, with memory within the allowance. */
static int child_read(const char *uri, int capped)
{
	gkv_options *opts;
	gkv_repo *repo;
	gkv_store *s;
	gkv_buf buf = {0};
	tally t = {0, 1};
	long before;

	if (gkv_options_new(&opts) < 0 || (capped && gkv_options_set_max_value(opts, 1 << 20) < 0) ||
	    gkv_repo_open(&repo, uri, opts) < 0 || gkv_store_open_branch(&s, repo, "main") < 0)
		return 10;
	before = peak_kb();
	if (capped) {
		if (gkv_store_get(&buf, s, "bomb") != GKV_E_TOOLARGE)
			return 11;
	} else if (gkv_store_read(s, "bomb", tally_cb, &t) != 0 || t.got != BOMB || !t.zeros) {
		return 12;
	}
	if (peak_kb() - before > ALLOWANCE_KB) {
		fprintf(stderr, "%s read of %zu MiB took %ld KiB more at its peak\n",
		    capped ? "capped" : "streamed", BOMB >> 20, peak_kb() - before);
		return 13;
	}
	gkv_store_free(s);
	gkv_repo_free(repo);
	gkv_options_free(opts);
	return 0;
}

static void read_in_child(const char *uri, int capped)
{
	pid_t pid;
	int st;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_read(uri, capped));
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void bomb_on(const char *scheme)
{
	char dir[] = "/tmp/gitkv-bomb.XXXXXX", uri[128], cmd[160];
	gkv_options *opts;
	gkv_repo *repo;
	gkv_store *s;
	unsigned char *zeros;

	assert_non_null(mkdtemp(dir));
	snprintf(uri, sizeof(uri), "%s:%s/store", scheme, dir);
	assert_int_equal(gkv_options_new(&opts), 0);
	assert_int_equal(gkv_options_set_create(opts, 1), 0);
	assert_int_equal(gkv_options_set_durability(opts, GKV_DURABILITY_NOSYNC), 0);
	assert_int_equal(gkv_repo_open(&repo, uri, opts), 0);
	assert_int_equal(gkv_store_open_branch(&s, repo, "main"), 0);
	assert_non_null(zeros = calloc(1, BOMB));
	assert_int_equal(gkv_store_set(NULL, s, "bomb", zeros, BOMB, NULL), 0);
	free(zeros);
	gkv_store_free(s);
	gkv_repo_free(repo);
	gkv_options_free(opts);

	read_in_child(uri, 0);
	read_in_child(uri, 1);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void lmdb_bomb(void **state)
{
	(void)state;
	bomb_on("lmdb");
}

static void git_bomb(void **state)
{
	(void)state;
	bomb_on("git");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(lmdb_bomb),
	    cmocka_unit_test(git_bomb),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
