/*
 * bench_lmdb.c -- raw LMDB, the floor: the same keys and values as gitkv
 * stores, with no trees, no hashing, no history.
 *
 *   bench-lmdb w1 DIR N          D(N) put in one write transaction
 *   bench-lmdb w2 DIR N0 U       load D(N0), then U transactions of one put
 *   bench-lmdb w3 DIR N R        R gets of random keys (values checked)
 * Options: --nosync (MDB_NOSYNC: no fsync at commit).
 *
 * Keys are the paths, values the 64 hex digits. Only the core loop is
 * timed here (core_s); run.py times the whole process.
 */
#include "common.h"

#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void check(int rc, const char *what)
{
	if (rc)
		bench_die("%s: %s", what, mdb_strerror(rc));
}

static MDB_env *open_env(const char *dir, int nosync, MDB_dbi *dbi)
{
	MDB_env *env;
	MDB_txn *txn;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		bench_die("mkdir %s failed", dir);
	check(mdb_env_create(&env), "mdb_env_create");
	check(mdb_env_set_mapsize(env, (size_t)4 << 30), "mdb_env_set_mapsize");
	check(mdb_env_open(env, dir, nosync ? MDB_NOSYNC : 0, 0644), dir);
	check(mdb_txn_begin(env, NULL, 0, &txn), "mdb_txn_begin");
	check(mdb_dbi_open(txn, NULL, 0, dbi), "mdb_dbi_open");
	check(mdb_txn_commit(txn), "mdb_txn_commit");
	return env;
}

static void put(MDB_txn *txn, MDB_dbi dbi, const char *path, const char *value)
{
	MDB_val k = { strlen(path), (void *)path }, v = { 64, (void *)value };

	check(mdb_put(txn, dbi, &k, &v, 0), path);
}

static void expect(MDB_txn *txn, MDB_dbi dbi, const char *path, const char *value)
{
	MDB_val k = { strlen(path), (void *)path }, v;

	check(mdb_get(txn, dbi, &k, &v), path);
	if (v.mv_size != 64 || memcmp(v.mv_data, value, 64))
		bench_die("wrong value at %s", path);
}

static void load(MDB_env *env, MDB_dbi dbi, uint64_t n)
{
	char path[32], value[65];
	MDB_txn *txn;
	uint64_t i;

	check(mdb_txn_begin(env, NULL, 0, &txn), "mdb_txn_begin");
	for (i = 0; i < n; i++) {
		bench_path(path, i);
		bench_value(value, i);
		put(txn, dbi, path, value);
	}
	check(mdb_txn_commit(txn), "mdb_txn_commit");
}

static void cmd_w1(const char *dir, uint64_t n, int nosync)
{
	char(*paths)[32] = malloc(n * sizeof(*paths));
	char(*values)[65] = malloc(n * sizeof(*values));
	MDB_dbi dbi;
	MDB_env *env = open_env(dir, nosync, &dbi);
	MDB_txn *txn;
	uint64_t i;
	double t0, t1;

	if (!paths || !values)
		bench_die("out of memory");
	for (i = 0; i < n; i++) {
		bench_path(paths[i], i);
		bench_value(values[i], i);
	}
	t0 = bench_now();
	check(mdb_txn_begin(env, NULL, 0, &txn), "mdb_txn_begin");
	for (i = 0; i < n; i++)
		put(txn, dbi, paths[i], values[i]);
	check(mdb_txn_commit(txn), "mdb_txn_commit");
	t1 = bench_now();
	bench_report_num("core_s", t1 - t0);
	bench_report_num("ops", (double)n);
	check(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), "mdb_txn_begin");
	for (i = 0; i < n; i++)
		expect(txn, dbi, paths[i], values[i]);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	free(paths);
	free(values);
}

static void cmd_w2(const char *dir, uint64_t n0, uint64_t u, int nosync)
{
	uint64_t *pick = bench_choices(BENCH_SEED_W2, u, n0), j, k;
	char(*paths)[32] = malloc((u + 1) * sizeof(*paths));
	char(*values)[65] = malloc((u + 1) * sizeof(*values));
	double *lat = malloc((u + 1) * sizeof(*lat)), t0, t, core;
	MDB_dbi dbi;
	MDB_env *env = open_env(dir, nosync, &dbi);
	MDB_txn *txn;

	if (!pick || !paths || !values || !lat)
		bench_die("out of memory");
	load(env, dbi, n0);
	for (j = 0; j < u; j++) {
		bench_path(paths[j], pick[j]);
		bench_update_value(values[j], "update", j);
	}
	t0 = t = bench_now();
	for (j = 0; j < u; j++) {
		double now;
		check(mdb_txn_begin(env, NULL, 0, &txn), "mdb_txn_begin");
		put(txn, dbi, paths[j], values[j]);
		check(mdb_txn_commit(txn), "mdb_txn_commit");
		now = bench_now();
		lat[j] = now - t;
		t = now;
	}
	core = bench_now() - t0;
	bench_report_num("core_s", core);
	bench_report_num("ops", (double)u);
	bench_report_num("lat_mean_s", core / (double)u);
	bench_report_num("lat_median_s", bench_median(lat, u));
	check(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), "mdb_txn_begin");
	for (j = 0; j < u; j++) {
		for (k = j + 1; k < u && pick[k] != pick[j]; k++)
			;
		if (k == u)
			expect(txn, dbi, paths[j], values[j]);
	}
	mdb_txn_abort(txn);
	mdb_env_close(env);
	free(pick);
	free(paths);
	free(values);
	free(lat);
}

static void cmd_w3(const char *dir, uint64_t n, uint64_t r)
{
	uint64_t *pick = bench_choices(BENCH_SEED_W3, r, n), k;
	char(*paths)[32] = malloc((r + 1) * sizeof(*paths));
	char(*values)[65] = malloc((r + 1) * sizeof(*values));
	MDB_dbi dbi;
	MDB_env *env = open_env(dir, 0, &dbi);
	MDB_txn *txn;
	double t0, t1;

	if (!pick || !paths || !values)
		bench_die("out of memory");
	for (k = 0; k < r; k++) {
		bench_path(paths[k], pick[k]);
		bench_value(values[k], pick[k]);
	}
	/* one read transaction for all the gets: LMDB's cheapest way to read */
	t0 = bench_now();
	check(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), "mdb_txn_begin");
	for (k = 0; k < r; k++)
		expect(txn, dbi, paths[k], values[k]);
	mdb_txn_abort(txn);
	t1 = bench_now();
	bench_report_num("core_s", t1 - t0);
	bench_report_num("ops", (double)r);
	mdb_env_close(env);
	free(pick);
	free(paths);
	free(values);
}

int main(int argc, char **argv)
{
	uint64_t num[2] = { 0, 0 };
	int i, nnum = 0, nosync = 0;

	if (argc < 3)
		bench_die("usage: bench-lmdb w1|w2|w3 DIR numbers [--nosync]");
	for (i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--nosync"))
			nosync = 1;
		else if (nnum < 2)
			num[nnum++] = bench_parse_u64(argv[i]);
		else
			bench_die("too many arguments");
	}
	if (!strcmp(argv[1], "w1") && nnum == 1)
		cmd_w1(argv[2], num[0], nosync);
	else if (!strcmp(argv[1], "w2") && nnum == 2)
		cmd_w2(argv[2], num[0], num[1], nosync);
	else if (!strcmp(argv[1], "w3") && nnum == 2)
		cmd_w3(argv[2], num[0], num[1]);
	else
		bench_die("bad command or arguments: %s", argv[1]);
	bench_report_num("rss_kib", (double)bench_peak_rss_kib());
	return 0;
}
