/*
 * bench_lmdb.c -- raw LMDB, the floor: the same keys and values as gitkv
 * stores, with no trees, no hashing, no history.
 *
 *   bench-lmdb w1 DIR N          D(N) put in one write transaction
 *   bench-lmdb w2 DIR N0 U       load D(N0), then U transactions of one put
 *   bench-lmdb w3 DIR N R        R gets of random keys (values checked)
 *   bench-lmdb w2obj DIR N0 U    W2's objects by id: the floor of a store
 *                                that keeps git objects in LMDB (below)
 *   bench-lmdb objects DIR       read the objects whose ids (hex, one a line) come
 *                                on stdin from gitkv's lmdb store DIR, in one read
 *                                transaction, every byte touched (LIST's floor: what
 *                                reading those records costs in that layout)
 * Options: --nosync (MDB_NOSYNC: no fsync at commit); --log (w2obj: the
 * objects of a commit in one appended record, found through an id index);
 * --writemap (w2obj: MDB_WRITEMAP, as gitkv's mapped level).
 *
 * Keys are the paths, values the 64 hex digits. Only the core loop is
 * timed here (core_s); run.py times the whole process.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
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
		check(mdb_txn_begin(env, NULL, 0, &txn), "mdb_txn_begin");
		put(txn, dbi, paths[j], values[j]);
		check(mdb_txn_commit(txn), "mdb_txn_commit");
		bench_lap(&lat[j], &t);
	}
	core = bench_now() - t0;
	bench_report_commits(core, lat, u);
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

/*
 * w2obj: what W2 asks of LMDB once a commit's objects are made, without
 * making them -- the floor of any store that keeps git objects in LMDB.
 * gitkv-lmdb (format 2) writes per commit, in one transaction: the blob,
 * the leaf tree, the d{a} tree and the root tree under their 20-byte ids
 * in "objects", the commit in "commits", the branch in "refs". Here the
 * ids are random, as SHA-1s are, and the values random bytes of the
 * sizes gitkv's objects have (one header byte and the git payload): no
 * hashing, no trees, no existence checks, no compare-and-swap.
 *
 * --log: the same bytes in the layout that keeps a commit's objects
 * together: one record per commit appended under a sequence number
 * ("log", MDB_APPEND), each id in "index" (id -> sequence and offset).
 * What it cannot spare is the index: its inserts are as random as ids.
 */
#define W2OBJ_LEAVES 4096 /* leaf trees d{a}/d{b}: 64 x 64 */
static const char w2obj_branch[] = "refs/heads/main";

typedef struct {
	MDB_env *env;
	MDB_dbi objects, commits, refs, log, index;
	int use_log;
	uint64_t seq;   /* the next log record */
	uint64_t rng;   /* ids and contents */
	uint32_t leaf[W2OBJ_LEAVES]; /* each leaf tree's payload size */
	uint32_t dir[64];            /* each d{a} tree's */
	uint32_t root;
	unsigned char buf[8192];     /* a log record being built */
} w2obj;

static void w2obj_fill(w2obj *w, unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t x = bench_splitmix(&w->rng);
		memcpy(p + i, &x, n - i < 8 ? n - i : 8);
	}
}

static unsigned digits(uint64_t i)
{
	unsigned d = 1;

	while (i >= 10) {
		i /= 10;
		d++;
	}
	return d;
}

/* Sizes of D(n0)'s trees: "100644 k<i>\0" + id per key in its leaf,
 * "40000 dxx\0" + id per subtree. */
static void w2obj_sizes(w2obj *w, uint64_t n0)
{
	memset(w->leaf, 0, sizeof(w->leaf));
	memset(w->dir, 0, sizeof(w->dir));
	w->root = 0;
	for (uint64_t i = 0; i < n0; i++)
		w->leaf[i % W2OBJ_LEAVES] += 7 + 1 + digits(i) + 1 + 20;
	for (unsigned l = 0; l < W2OBJ_LEAVES; l++)
		if (w->leaf[l])
			w->dir[l % 64] += 30;
	for (unsigned a = 0; a < 64; a++)
		if (w->dir[a])
			w->root += 30;
}

/* One object of `size` payload bytes, header byte included; its id
 * is returned in id. */
static void w2obj_put(w2obj *w, MDB_txn *txn, MDB_dbi dbi, size_t size, unsigned char id[20])
{
	unsigned char val[4096];
	MDB_val k = { 20, id }, v = { size + 1, val };

	if (size + 1 > sizeof(val))
		bench_die("w2obj: object of %zu bytes", size);
	w2obj_fill(w, id, 20);
	w2obj_fill(w, val, size + 1);
	if (!w->use_log) {
		check(mdb_put(txn, dbi, &k, &v, MDB_NOOVERWRITE), "w2obj put");
		return;
	}
	/* log layout: the bytes go into the record, the id into the index */
	unsigned char ent[12];
	size_t at = (size_t)w->buf[0] << 8 | w->buf[1]; /* record length so far */
	uint64_t be = w->seq;

	if (at + size + 1 > sizeof(w->buf))
		bench_die("w2obj: log record overflow");
	memcpy(w->buf + at, val, size + 1);
	for (int i = 7; i >= 0; i--, be >>= 8)
		ent[i] = (unsigned char)be;
	ent[8] = (unsigned char)(at >> 8);
	ent[9] = (unsigned char)at;
	ent[10] = (unsigned char)((size + 1) >> 8);
	ent[11] = (unsigned char)(size + 1);
	v.mv_size = sizeof(ent);
	v.mv_data = ent;
	check(mdb_put(txn, w->index, &k, &v, MDB_NOOVERWRITE), "w2obj index put");
	at += size + 1;
	w->buf[0] = (unsigned char)(at >> 8);
	w->buf[1] = (unsigned char)at;
}

static void w2obj_record_begin(w2obj *w)
{
	w->buf[0] = 0;
	w->buf[1] = 2; /* the length prefix itself */
}

static void w2obj_record_end(w2obj *w, MDB_txn *txn)
{
	unsigned char key[8];
	uint64_t be = w->seq++;
	MDB_val k = { 8, key }, v = { (size_t)w->buf[0] << 8 | w->buf[1], w->buf };

	if (!w->use_log)
		return;
	for (int i = 7; i >= 0; i--, be >>= 8)
		key[i] = (unsigned char)be;
	check(mdb_put(txn, w->log, &k, &v, MDB_APPEND), "w2obj log append");
}

static void w2obj_ref(MDB_txn *txn, w2obj *w, unsigned char id[20])
{
	MDB_val k = { sizeof(w2obj_branch) - 1, (void *)w2obj_branch }, v = { 20, id };

	check(mdb_put(txn, w->refs, &k, &v, 0), "w2obj ref put");
}

/* writemap: as gitkv's mapped level, the map allocated on disk first
 * (posix_fallocate), so that pages are not a sparse file's. */
static void w2obj_open(w2obj *w, const char *dir, int nosync, int writemap)
{
	size_t mapsize = writemap ? (size_t)256 << 20 : (size_t)4 << 30;
	MDB_txn *txn;
	int fd;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		bench_die("mkdir %s failed", dir);
	check(mdb_env_create(&w->env), "mdb_env_create");
	check(mdb_env_set_mapsize(w->env, mapsize), "mdb_env_set_mapsize");
	check(mdb_env_set_maxdbs(w->env, 8), "mdb_env_set_maxdbs");
	check(mdb_env_open(w->env, dir, (nosync ? MDB_NOSYNC : 0) | (writemap ? MDB_WRITEMAP : 0),
			   0644), dir);
	check(mdb_env_get_fd(w->env, &fd), "mdb_env_get_fd");
	if (writemap && posix_fallocate(fd, 0, (off_t)mapsize) != 0)
		bench_die("%s: cannot allocate the map on disk", dir);
	check(mdb_txn_begin(w->env, NULL, 0, &txn), "mdb_txn_begin");
	check(mdb_dbi_open(txn, "objects", MDB_CREATE, &w->objects), "objects");
	check(mdb_dbi_open(txn, "commits", MDB_CREATE, &w->commits), "commits");
	check(mdb_dbi_open(txn, "refs", MDB_CREATE, &w->refs), "refs");
	if (w->use_log) {
		check(mdb_dbi_open(txn, "log", MDB_CREATE, &w->log), "log");
		check(mdb_dbi_open(txn, "index", MDB_CREATE, &w->index), "index");
	}
	check(mdb_txn_commit(txn), "mdb_txn_commit");
}

/* The entries a database holds (the run's check). */
static size_t w2obj_entries(w2obj *w, MDB_dbi dbi)
{
	MDB_txn *txn;
	MDB_stat st;

	check(mdb_txn_begin(w->env, NULL, MDB_RDONLY, &txn), "mdb_txn_begin");
	check(mdb_stat(txn, dbi, &st), "mdb_stat");
	mdb_txn_abort(txn);
	return st.ms_entries;
}

static void cmd_w2obj(const char *dir, uint64_t n0, uint64_t u, int nosync, int use_log,
		      int writemap)
{
	uint64_t *pick = bench_choices(BENCH_SEED_W2, u, n0), j;
	double *lat = malloc((u + 1) * sizeof(*lat)), t0, t, core;
	w2obj *w = calloc(1, sizeof(*w));
	unsigned char id[20], last[20];
	MDB_txn *txn;
	size_t nobj = 0, want;

	if (!pick || !lat || !w)
		bench_die("out of memory");
	w->use_log = use_log;
	w->rng = BENCH_SEED_W2;
	w2obj_sizes(w, n0);
	w2obj_open(w, dir, nosync, writemap);

	/* D(n0): blobs, trees and one commit */
	check(mdb_txn_begin(w->env, NULL, 0, &txn), "mdb_txn_begin");
	w2obj_record_begin(w);
	for (uint64_t i = 0; i < n0 + W2OBJ_LEAVES + 64 + 1; i++) {
		size_t size = i < n0 ? 64
			: i < n0 + W2OBJ_LEAVES ? w->leaf[i - n0]
			: i < n0 + W2OBJ_LEAVES + 64 ? w->dir[i - n0 - W2OBJ_LEAVES] : w->root;

		if (size == 0)
			continue;
		if (((size_t)w->buf[0] << 8 | w->buf[1]) > 4096) { /* records of ~4 KiB */
			w2obj_record_end(w, txn);
			w2obj_record_begin(w);
		}
		w2obj_put(w, txn, w->objects, size, id);
		nobj++;
	}
	w2obj_put(w, txn, w->commits, 206 + 1, last);
	w2obj_record_end(w, txn);
	w2obj_ref(txn, w, last);
	check(mdb_txn_commit(txn), "mdb_txn_commit");
	nobj++;

	t0 = t = bench_now();
	for (j = 0; j < u; j++) {
		uint64_t l = pick[j] % W2OBJ_LEAVES;

		check(mdb_txn_begin(w->env, NULL, 0, &txn), "mdb_txn_begin");
		w2obj_record_begin(w);
		w2obj_put(w, txn, w->objects, 64, id);
		w2obj_put(w, txn, w->objects, w->leaf[l], id);
		w2obj_put(w, txn, w->objects, w->dir[l % 64], id);
		w2obj_put(w, txn, w->objects, w->root, id);
		w2obj_put(w, txn, w->commits, 206 + digits(j), last);
		w2obj_record_end(w, txn);
		w2obj_ref(txn, w, last);
		check(mdb_txn_commit(txn), "mdb_txn_commit");
		bench_lap(&lat[j], &t);
	}
	core = bench_now() - t0;
	bench_report_commits(core, lat, u);

	/* the check: every object is there, and the branch names the last commit */
	want = nobj + 5 * u;
	if (use_log) {
		if (w2obj_entries(w, w->index) != want || w2obj_entries(w, w->log) != w->seq)
			bench_die("w2obj: the index holds %zu ids, not %zu",
				  w2obj_entries(w, w->index), want);
	} else if (w2obj_entries(w, w->objects) + w2obj_entries(w, w->commits) != want) {
		bench_die("w2obj: %zu objects stored, not %zu",
			  w2obj_entries(w, w->objects) + w2obj_entries(w, w->commits), want);
	}
	{
		MDB_val k = { sizeof(w2obj_branch) - 1, (void *)w2obj_branch }, v;

		check(mdb_txn_begin(w->env, NULL, MDB_RDONLY, &txn), "mdb_txn_begin");
		check(mdb_get(txn, w->refs, &k, &v), "w2obj ref get");
		if (v.mv_size != 20 || memcmp(v.mv_data, last, 20))
			bench_die("w2obj: the branch is not the last commit");
		k.mv_size = 20;
		k.mv_data = last;
		check(mdb_get(txn, use_log ? w->index : w->commits, &k, &v), "w2obj last commit");
		mdb_txn_abort(txn);
	}
	mdb_env_close(w->env);
	free(pick);
	free(lat);
	free(w);
}

/* LIST's floor: the records of a gitkv lmdb store (databases "trees"
 * where there is one, "objects", and "commits" where there is one), by id. */
static void cmd_objects(const char *dir)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi objs, commits, trees;
	int have_commits, have_trees;
	char line[128];
	uint64_t n = 0, bytes = 0, sum = 0;

	check(mdb_env_create(&env), "mdb_env_create");
	check(mdb_env_set_maxdbs(env, 8), "mdb_env_set_maxdbs");
	check(mdb_env_open(env, dir, MDB_RDONLY, 0644), dir);
	check(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), "mdb_txn_begin");
	check(mdb_dbi_open(txn, "objects", 0, &objs), "objects");
	have_commits = mdb_dbi_open(txn, "commits", 0, &commits) == 0;
	have_trees = mdb_dbi_open(txn, "trees", 0, &trees) == 0;
	while (fgets(line, sizeof(line), stdin)) {
		unsigned char id[20];
		MDB_val k = {20, id}, v;
		int rc;

		for (int i = 0; i < 20; i++)
			if (sscanf(line + 2 * i, "%2hhx", &id[i]) != 1)
				bench_die("not an id: %s", line);
		rc = have_trees ? mdb_get(txn, trees, &k, &v) : MDB_NOTFOUND;
		if (rc == MDB_NOTFOUND)
			rc = mdb_get(txn, objs, &k, &v);
		if (rc == MDB_NOTFOUND && have_commits)
			rc = mdb_get(txn, commits, &k, &v);
		check(rc, "mdb_get");
		for (size_t i = 0; i < v.mv_size; i++)
			sum += ((const unsigned char *)v.mv_data)[i];
		bytes += v.mv_size;
		n++;
	}
	mdb_txn_abort(txn);
	mdb_env_close(env);
	bench_report_num("objects", (double)n);
	bench_report_num("bytes", (double)bytes);
	bench_report_num("sum", (double)sum);
}

int main(int argc, char **argv)
{
	uint64_t num[2] = { 0, 0 };
	int i, nnum = 0, nosync = 0, use_log = 0, writemap = 0;

	if (argc == 3 && !strcmp(argv[1], "objects")) {
		cmd_objects(argv[2]);
		return 0;
	}
	if (argc < 3)
		bench_die("usage: bench-lmdb w1|w2|w3|w2obj DIR numbers [--nosync] [--log] [--writemap]");
	for (i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--nosync"))
			nosync = 1;
		else if (!strcmp(argv[i], "--log"))
			use_log = 1;
		else if (!strcmp(argv[i], "--writemap"))
			writemap = 1;
		else if (nnum < 2)
			num[nnum++] = bench_parse_u64(argv[i]);
		else
			bench_die("too many arguments");
	}
	if (!strcmp(argv[1], "w1") && nnum == 1)
		cmd_w1(argv[2], num[0], nosync);
	else if (!strcmp(argv[1], "w2") && nnum == 2)
		cmd_w2(argv[2], num[0], num[1], nosync);
	else if (!strcmp(argv[1], "w2obj") && nnum == 2)
		cmd_w2obj(argv[2], num[0], num[1], nosync, use_log, writemap);
	else if (!strcmp(argv[1], "w3") && nnum == 2)
		cmd_w3(argv[2], num[0], num[1]);
	else
		bench_die("bad command or arguments: %s", argv[1]);
	bench_report_num("rss_kib", (double)bench_peak_rss_kib());
	return 0;
}
