/*
 * bench_gitkv.c -- the workloads of bench/README.md run on gitkv
 * through its public API, on any store URI (mem:, lmdb:DIR, git:DIR).
 *
 *   bench-gitkv w1 URI N            D(N) as one transaction, one commit
 *   bench-gitkv w2 URI N0 U         load D(N0), then U gkv_store_set, one commit each
 *   bench-gitkv w3 URI N R [--load] R gets of random keys at main (--load: D(N) first)
 *   bench-gitkv w4setup URI N0 U B  W2's history on main, branches a and b of B commits
 *   bench-gitkv w4 URI [--setup N0 U B]   walk main, merge base of a and b
 * Options: --nosync (GKV_DURABILITY_NOSYNC), --mapped (lmdb only:
 * GKV_DURABILITY_NOSYNC_MAPPED, no fsync and writes through LMDB's writable
 * map), --hash sha1 (GKV_HASH_SHA1).
 *
 * Only the core loop is timed here (core_s); run.py times the whole
 * process. Every result is checked or printed for run.py to check: ids,
 * values read back, counts. A wrong result exits non-zero.
 */
#include "common.h"

#include <gitkv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	const char *cmd, *uri;
	uint64_t num[3];
	int nnum, nosync, mapped, load, setup;
} args;

static gkv_signature *sig;

static void check(int rc, const char *what)
{
	if (rc < 0)
		bench_die("%s: %s (%s)", what, gkv_strerror(rc), gkv_error_last());
}

static void report_oid(const char *key, const gkv_oid *id)
{
	char hex[GKV_OID_HEXSZ + 1];

	gkv_oid_fmt(hex, id);
	bench_report_str(key, hex);
}

static gkv_info *make_info(const char *message)
{
	gkv_info *info;

	check(gkv_info_new(&info, message), "gkv_info_new");
	check(gkv_info_set_author(info, sig), "gkv_info_set_author");
	check(gkv_info_set_committer(info, sig), "gkv_info_set_committer");
	return info;
}

static gkv_repo *open_repo(const args *a)
{
	gkv_options *opts;
	gkv_repo *repo;

	check(gkv_options_new(&opts), "gkv_options_new");
	check(gkv_options_set_create(opts, 1), "gkv_options_set_create");
	check(gkv_options_set_author(opts, BENCH_NAME, BENCH_EMAIL), "gkv_options_set_author");
	if (a->mapped)
		check(gkv_options_set_durability(opts, GKV_DURABILITY_NOSYNC_MAPPED),
		      "set_durability");
	else if (a->nosync)
		check(gkv_options_set_durability(opts, GKV_DURABILITY_NOSYNC), "set_durability");
	check(gkv_repo_open(&repo, a->uri, opts), a->uri);
	gkv_options_free(opts);
	return repo;
}

/* D(n) as one transaction on the store's branch: the commit of W1. */
static void load(gkv_oid *out, gkv_store *s, uint64_t n)
{
	gkv_txn *txn;
	gkv_info *info = make_info("bulk\n");
	char path[32], value[65];
	uint64_t i;

	check(gkv_txn_begin(&txn, s), "gkv_txn_begin");
	for (i = 0; i < n; i++) {
		bench_path(path, i);
		bench_value(value, i);
		check(gkv_txn_set(txn, path, value, 64), path);
	}
	check(gkv_txn_commit(out, txn, GKV_TXN_FAIL, info), "gkv_txn_commit");
	gkv_txn_free(txn);
	gkv_info_free(info);
}

static void expect_value(gkv_store *s, const char *path, const char *want)
{
	gkv_buf v;

	check(gkv_store_get(&v, s, path), path);
	if (v.size != 64 || memcmp(v.ptr, want, 64))
		bench_die("wrong value at %s", path);
	gkv_buf_dispose(&v);
}

/* Read back 1,000 random keys of D(n). */
static void verify_sample(gkv_store *s, uint64_t n)
{
	uint64_t *pick = bench_choices(BENCH_SEED_W3, 1000, n);
	char path[32], value[65];
	size_t k;

	for (k = 0; k < 1000; k++) {
		bench_path(path, pick[k]);
		bench_value(value, pick[k]);
		expect_value(s, path, value);
	}
	free(pick);
}

static void cmd_w1(const args *a)
{
	uint64_t n = a->num[0], i;
	char(*paths)[32] = malloc(n * sizeof(*paths));
	char(*values)[65] = malloc(n * sizeof(*values));
	gkv_repo *repo = open_repo(a);
	gkv_info *info = make_info("bulk\n");
	gkv_store *s;
	gkv_txn *txn;
	gkv_oid id;
	double t0, t1;

	if (!paths || !values)
		bench_die("out of memory");
	for (i = 0; i < n; i++) {
		bench_path(paths[i], i);
		bench_value(values[i], i);
	}
	check(gkv_store_open_branch(&s, repo, "main"), "open main");
	t0 = bench_now();
	check(gkv_txn_begin(&txn, s), "gkv_txn_begin");
	for (i = 0; i < n; i++)
		check(gkv_txn_set(txn, paths[i], values[i], 64), paths[i]);
	check(gkv_txn_commit(&id, txn, GKV_TXN_FAIL, info), "gkv_txn_commit");
	t1 = bench_now();
	gkv_txn_free(txn);
	bench_report_num("core_s", t1 - t0);
	bench_report_num("ops", (double)n);
	report_oid("commit", &id);
	verify_sample(s, n);
	gkv_store_free(s);
	gkv_info_free(info);
	gkv_repo_free(repo);
	free(paths);
	free(values);
}

/*
 * n updates on s: update j sets key pick[j] to sha256("<prefix>j"), with
 * message "<prefix> j\n" (prefix "update" for W2). Per-commit latencies in
 * lat (may be NULL). Then checks the final value of every updated key.
 */
static double updates(gkv_oid *head, gkv_store *s, const char *prefix, uint64_t seed,
    uint64_t n0, uint64_t n, double *lat)
{
	uint64_t *pick = bench_choices(seed, n, n0), j;
	char(*paths)[32] = malloc((n + 1) * sizeof(*paths));
	char(*values)[65] = malloc((n + 1) * sizeof(*values));
	gkv_info **infos = malloc((n + 1) * sizeof(*infos));
	char msg[48];
	double t0, t, total;

	if (!pick || !paths || !values || !infos)
		bench_die("out of memory");
	for (j = 0; j < n; j++) {
		bench_path(paths[j], pick[j]);
		bench_update_value(values[j], prefix, j);
		bench_update_message(msg, prefix, j);
		infos[j] = make_info(msg);
	}
	t0 = t = bench_now();
	for (j = 0; j < n; j++) {
		check(gkv_store_set(head, s, paths[j], values[j], 64, infos[j]), paths[j]);
		if (lat)
			bench_lap(&lat[j], &t);
	}
	total = bench_now() - t0;
	/* the last update of each key is what it holds now */
	for (j = n; j-- > 0;) {
		uint64_t k;
		for (k = j + 1; k < n && pick[k] != pick[j]; k++)
			;
		if (k == n)
			expect_value(s, paths[j], values[j]);
	}
	for (j = 0; j < n; j++)
		gkv_info_free(infos[j]);
	free(infos);
	free(pick);
	free(paths);
	free(values);
	return total;
}

static void cmd_w2(const args *a)
{
	uint64_t n0 = a->num[0], u = a->num[1];
	gkv_repo *repo = open_repo(a);
	double *lat = malloc((u + 1) * sizeof(*lat)), core, tl0;
	gkv_store *s;
	gkv_oid base, head;

	if (!lat)
		bench_die("out of memory");
	check(gkv_store_open_branch(&s, repo, "main"), "open main");
	tl0 = bench_now();
	load(&base, s, n0);
	bench_report_num("load_s", bench_now() - tl0);
	report_oid("base", &base);
	core = updates(&head, s, "update", BENCH_SEED_W2, n0, u, lat);
	report_oid("commit", &head);
	bench_report_commits(core, lat, u); /* sorts lat */
	bench_report_num("lat_p99_s", lat[(size_t)((double)u * 0.99)]);
	gkv_store_free(s);
	gkv_repo_free(repo);
	free(lat);
}

static void cmd_w3(const args *a)
{
	uint64_t n = a->num[0], r = a->num[1], *pick, k;
	gkv_repo *repo = open_repo(a);
	char(*paths)[32] = malloc(r * sizeof(*paths));
	char(*values)[65] = malloc(r * sizeof(*values));
	gkv_store *s;
	gkv_oid id;
	double t0, t1;

	if (!paths || !values || !(pick = bench_choices(BENCH_SEED_W3, r, n)))
		bench_die("out of memory");
	check(gkv_store_open_branch(&s, repo, "main"), "open main");
	if (a->load) {
		load(&id, s, n);
		report_oid("base", &id);
	}
	for (k = 0; k < r; k++) {
		bench_path(paths[k], pick[k]);
		bench_value(values[k], pick[k]);
	}
	t0 = bench_now();
	for (k = 0; k < r; k++) {
		gkv_buf v;
		check(gkv_store_get(&v, s, paths[k]), paths[k]);
		if (v.size != 64 || memcmp(v.ptr, values[k], 64))
			bench_die("wrong value at %s", paths[k]);
		gkv_buf_dispose(&v);
	}
	t1 = bench_now();
	bench_report_num("core_s", t1 - t0);
	bench_report_num("ops", (double)r);
	check(gkv_store_head(&id, s), "head");
	report_oid("commit", &id);
	gkv_store_free(s);
	gkv_repo_free(repo);
	free(pick);
	free(paths);
	free(values);
}

/* W2's history on main, then branches a and b of b_commits each from D(n0). */
static void w4_setup(gkv_repo *repo, uint64_t n0, uint64_t u, uint64_t b_commits)
{
	gkv_store *s, *sa, *sb;
	gkv_oid base, head;

	check(gkv_store_open_branch(&s, repo, "main"), "open main");
	load(&base, s, n0);
	report_oid("base", &base);
	updates(&head, s, "update", BENCH_SEED_W2, n0, u, NULL);
	check(gkv_branch_create(repo, "a", &base), "create a");
	check(gkv_branch_create(repo, "b", &base), "create b");
	check(gkv_store_open_branch(&sa, repo, "a"), "open a");
	check(gkv_store_open_branch(&sb, repo, "b"), "open b");
	updates(&head, sa, "a", BENCH_SEED_W4A, n0, b_commits, NULL);
	updates(&head, sb, "b", BENCH_SEED_W4B, n0, b_commits, NULL);
	gkv_store_free(sa);
	gkv_store_free(sb);
	gkv_store_free(s);
}

static void cmd_w4setup(const args *a)
{
	gkv_repo *repo = open_repo(a);

	w4_setup(repo, a->num[0], a->num[1], a->num[2]);
	gkv_repo_free(repo);
}

static void cmd_w4(const args *a)
{
	gkv_repo *repo = open_repo(a);
	gkv_revwalk *walk;
	gkv_oidarray bases;
	gkv_oid head, ha, hb, id;
	uint64_t count = 0;
	double t0, t1, t2;
	int rc;

	if (a->setup)
		w4_setup(repo, a->num[0], a->num[1], a->num[2]);
	check(gkv_branch_head(&head, repo, "main"), "head main");
	check(gkv_branch_head(&ha, repo, "a"), "head a");
	check(gkv_branch_head(&hb, repo, "b"), "head b");
	t0 = bench_now();
	check(gkv_revwalk_new(&walk, repo), "gkv_revwalk_new");
	check(gkv_revwalk_push(walk, &head), "gkv_revwalk_push");
	while ((rc = gkv_revwalk_next(&id, walk)) == 0)
		count++;
	if (rc != GKV_ITEROVER)
		check(rc, "gkv_revwalk_next");
	gkv_revwalk_free(walk);
	t1 = bench_now();
	check(gkv_merge_bases(&bases, repo, &ha, &hb), "gkv_merge_bases");
	t2 = bench_now();
	if (bases.count != 1)
		bench_die("%zu merge bases, expected 1", bases.count);
	bench_report_num("walk_s", t1 - t0);
	bench_report_num("walk_count", (double)count);
	bench_report_num("mb_s", t2 - t1);
	report_oid("merge_base", &bases.ids[0]);
	gkv_oidarray_dispose(&bases);
	gkv_repo_free(repo);
}

int main(int argc, char **argv)
{
	args a;
	int i;

	memset(&a, 0, sizeof(a));
	if (argc == 3 && !strcmp(argv[1], "touch")) { /* the machine, not gitkv */
		size_t mib = (size_t)bench_parse_u64(argv[2]);

		bench_report_num("touch_us", bench_first_touch_us(mib, 0));
		bench_report_num("touch_huge_us", bench_first_touch_us(mib, 1));
		return 0;
	}
	if (argc < 3)
		bench_die("usage: bench-gitkv w1|w2|w3|w4setup|w4 URI [numbers] [--nosync] "
			  "[--mapped] [--hash sha1] [--load] [--setup] | bench-gitkv touch MIB");
	a.cmd = argv[1];
	a.uri = argv[2];
	for (i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--nosync"))
			a.nosync = 1;
		else if (!strcmp(argv[i], "--mapped"))
			a.mapped = 1;
		else if (!strcmp(argv[i], "--hash") && i + 1 < argc && !strcmp(argv[i + 1], "sha1"))
			check(gkv_hash_use(GKV_HASH_SHA1), argv[++i]);
		else if (!strcmp(argv[i], "--load"))
			a.load = 1;
		else if (!strcmp(argv[i], "--setup"))
			a.setup = 1;
		else if (a.nnum < 3)
			a.num[a.nnum++] = bench_parse_u64(argv[i]);
		else
			bench_die("too many arguments");
	}
	/* Elsewhere it would quietly mean --nosync: a row measuring nothing new. */
	if (a.mapped && strncmp(a.uri, "lmdb:", 5) != 0)
		bench_die("--mapped needs an lmdb: store, not %s", a.uri);
	check(gkv_signature_new(&sig, BENCH_NAME, BENCH_EMAIL, BENCH_TIME, 0), "signature");
	if (!strcmp(a.cmd, "w1") && a.nnum == 1)
		cmd_w1(&a);
	else if (!strcmp(a.cmd, "w2") && a.nnum == 2)
		cmd_w2(&a);
	else if (!strcmp(a.cmd, "w3") && a.nnum == 2)
		cmd_w3(&a);
	else if (!strcmp(a.cmd, "w4setup") && a.nnum == 3)
		cmd_w4setup(&a);
	else if (!strcmp(a.cmd, "w4") && a.nnum == (a.setup ? 3 : 0))
		cmd_w4(&a);
	else
		bench_die("bad command or arguments: %s", a.cmd);
	gkv_signature_free(sig);
	bench_report_num("rss_kib", (double)bench_peak_rss_kib());
	return 0;
}
