/*
 * bench_sync.c -- W5's sync operations through the library (gitkv/sync.h),
 * the calls kvctl's clone, fetch and push make, for a run of W5 with
 * `run.py --w5-via library`.
 *
 *   bench-sync clone REMOTE URI          gkv_clone of REMOTE into the new store URI
 *   bench-sync fetch URI REMOTE          gkv_fetch of every branch of REMOTE
 *   bench-sync push URI REMOTE BRANCH    gkv_push of BRANCH to REMOTE's BRANCH
 *   bench-sync has URI COMMIT            exit 0 when the store holds COMMIT (a check)
 *   bench-sync encode URI                the store's every object encoded again by
 *                                        its backend's encode_raw (lmdb: compressed
 *                                        and checksummed), reads untimed: a floor
 *
 * A floor for a clone into lmdb: lmdb keeps every object whole and
 * compressed, so whatever receives the pack must also encode each one;
 * encode reports the CPU time of that alone (core_s, this thread's CPU
 * time over the encode_raw calls) and the bytes in and out.
 *
 * Prints core_s (the call alone, the store's opening and closing outside
 * it) and, for clone and fetch, the objects stored. A failed call exits
 * non-zero naming the error.
 */
#include "common.h"

#include <gitkv.h>
#include <gitkv/sync.h>
#include <gitkv/sys/backend.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void check(int rc, const char *what)
{
	if (rc < 0)
		bench_die("%s: %s (%s)", what, gkv_strerror(rc), gkv_error_last());
}

typedef struct {
	gkv_oid *ids;
	size_t n, cap;
} id_list;

static int collect(const gkv_oid *id, void *payload)
{
	id_list *l = payload;

	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 4096;
		if (!(l->ids = realloc(l->ids, l->cap * sizeof(*l->ids))))
			bench_die("out of memory");
	}
	l->ids[l->n++] = *id;
	return 0;
}

static double thread_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Every object of the store at uri through encode_raw: the CPU time. */
static double encode_all(const char *uri)
{
	gkv_repo *repo = NULL;
	gkv_backend *b;
	id_list l = {NULL, 0, 0};
	double cpu = 0, in = 0, out = 0;

	check(gkv_repo_open(&repo, uri, NULL), "gkv_repo_open");
	b = gkv_repo_backend(repo);
	if (!b->encode_raw)
		bench_die("%s: the %s backend has no encode_raw", uri, b->name);
	check(b->foreach(b, NULL, 0, collect, &l), "foreach");
	for (size_t i = 0; i < l.n; i++) {
		void *data, *rec;
		size_t len, reclen;
		gkv_otype type;
		double t0;

		check(b->read(&data, &len, &type, b, &l.ids[i]), "read");
		t0 = thread_cpu();
		check(b->encode_raw(&rec, &reclen, b, &l.ids[i], type, data, len), "encode_raw");
		cpu += thread_cpu() - t0;
		in += (double)len;
		out += (double)reclen;
		gkv_backend_data_free(rec);
		gkv_backend_data_free(data);
	}
	bench_report_num("objects", (double)l.n);
	bench_report_num("bytes_in", in);
	bench_report_num("bytes_out", out);
	free(l.ids);
	gkv_repo_free(repo);
	return cpu;
}

int main(int argc, char **argv)
{
	gkv_repo *repo = NULL;
	double t0, t1;

	if (argc == 4 && !strcmp(argv[1], "clone")) {
		t0 = bench_now();
		check(gkv_clone(&repo, argv[2], argv[3], NULL, NULL), "gkv_clone");
		t1 = bench_now();
	} else if (argc == 4 && !strcmp(argv[1], "fetch")) {
		gkv_fetch_result *res = NULL;

		check(gkv_repo_open(&repo, argv[2], NULL), "gkv_repo_open");
		t0 = bench_now();
		check(gkv_fetch(&res, repo, argv[3], NULL, NULL), "gkv_fetch");
		t1 = bench_now();
		bench_report_num("objects", (double)gkv_fetch_result_objects(res));
		gkv_fetch_result_free(res);
	} else if (argc == 5 && !strcmp(argv[1], "push")) {
		check(gkv_repo_open(&repo, argv[2], NULL), "gkv_repo_open");
		t0 = bench_now();
		check(gkv_push(repo, argv[3], argv[4], NULL, NULL), "gkv_push");
		t1 = bench_now();
	} else if (argc == 4 && !strcmp(argv[1], "has")) {
		gkv_commit *c = NULL;
		gkv_oid id;

		check(gkv_repo_open(&repo, argv[2], NULL), "gkv_repo_open");
		check(gkv_oid_fromstr(&id, argv[3]), "gkv_oid_fromstr");
		check(gkv_commit_lookup(&c, repo, &id), argv[3]);
		gkv_commit_free(c);
		gkv_repo_free(repo);
		return 0;
	} else if (argc == 3 && !strcmp(argv[1], "encode")) {
		bench_report_num("core_s", encode_all(argv[2]));
		return 0;
	} else {
		bench_die("usage: bench-sync clone REMOTE URI | fetch URI REMOTE | "
		    "push URI REMOTE BRANCH | has URI COMMIT | encode URI");
	}
	gkv_repo_free(repo);
	bench_report_num("core_s", t1 - t0);
	return 0;
}
