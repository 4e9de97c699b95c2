/*
 * bench_sync.c -- W5's sync operations through the library (gitkv/sync.h),
 * the calls kvctl's clone, fetch and push make, for a run of W5 with
 * `run.py --w5-via library`.
 *
 *   bench-sync clone REMOTE URI          gkv_clone of REMOTE into the new store URI
 *   bench-sync fetch URI REMOTE          gkv_fetch of every branch of REMOTE
 *   bench-sync push URI REMOTE BRANCH    gkv_push of BRANCH to REMOTE's BRANCH
 *   bench-sync has URI COMMIT            exit 0 when the store holds COMMIT (a check)
 *
 * Prints core_s (the call alone, the store's opening and closing outside
 * it) and, for clone and fetch, the objects stored. A failed call exits
 * non-zero naming the error.
 */
#include "common.h"

#include <gitkv.h>
#include <gitkv/sync.h>
#include <stdio.h>
#include <string.h>

static void check(int rc, const char *what)
{
	if (rc < 0)
		bench_die("%s: %s (%s)", what, gkv_strerror(rc), gkv_error_last());
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
	} else {
		bench_die("usage: bench-sync clone REMOTE URI | fetch URI REMOTE | "
		    "push URI REMOTE BRANCH | has URI COMMIT");
	}
	gkv_repo_free(repo);
	bench_report_num("core_s", t1 - t0);
	return 0;
}
