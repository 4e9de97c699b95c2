/*
 * test_lmdb_format.c -- the lmdb backend's on-disk formats, checked on
 * real environments with the plain LMDB API beside gitkv:
 *
 *  - version 4 (what a new environment is made as) keeps commits in the
 *    "commits" database, trees in "trees" and blobs and tags in
 *    "objects", an id in one of them only, and every read path (read,
 *    read_typed with any hint, exists, foreach with and without a
 *    prefix) finds each object once; its records end with a checksum
 *    (test_lmdb_damage.c checks it); a batch large enough to be stored
 *    in parts (spills) and a gc's deletes go to and from the right
 *    database;
 *  - version 3 (trees among the blobs, checksums: written here byte by
 *    byte) is read and written by this build, and stays version 3;
 *  - version 2 (commits apart, no checksums) is read and written by this
 *    build, and stays version 2, unchecked;
 *  - version 1 (no "commits": written here byte by byte as the old format
 *    was) is read and written by this build through the public API, and
 *    stays version 1 with its new commits in "objects";
 *  - an unknown version is refused with a clear error, the file untouched.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "lmdb_raw.h"

#define new_path uu_new_path

/* ---- version 2 ---- */

#define PER_TYPE 300
#define NOBJS (3 * PER_TYPE + 1)

typedef struct {
	gkv_oid id;
	gkv_otype type;
	char data[32];
	size_t len;
} obj;

/* PER_TYPE commits, trees and blobs and one tag, under their true ids
 * (the backend never parses them: any bytes do). */
static void make_objs(obj *objs)
{
	static const gkv_otype types[] = {GKV_OBJ_COMMIT, GKV_OBJ_TREE, GKV_OBJ_BLOB};

	for (int i = 0; i < NOBJS; i++) {
		obj *o = &objs[i];

		o->type = i == NOBJS - 1 ? GKV_OBJ_TAG : types[i % 3];
		o->len = (size_t)snprintf(o->data, sizeof(o->data), "object %d", i);
		assert_ok(gkv_hash(&o->id, o->type, o->data, o->len));
	}
}

static void expect_read(gkv_backend *b, const obj *o, gkv_otype want)
{
	void *data = NULL;
	size_t len = 0;
	gkv_otype type = GKV_OBJ_BAD;

	if (want == GKV_OBJ_BAD)
		assert_ok(b->read(&data, &len, &type, b, &o->id));
	else
		assert_ok(b->read_typed(&data, &len, &type, b, &o->id, want));
	assert_int_equal(type, o->type);
	assert_int_equal(len, o->len);
	assert_memory_equal(data, o->data, len);
	gkv_backend_data_free(data);
}

typedef struct {
	gkv_oid *ids;
	size_t n, cap;
} id_list;

static int collect_cb(const gkv_oid *id, void *payload)
{
	id_list *l = payload;

	assert_true(l->n < l->cap);
	l->ids[l->n++] = *id;
	return 0;
}

static int count_cb(const gkv_oid *id, void *payload)
{
	(void)id;
	(*(int *)payload)++;
	return 0;
}

static int oid_cmp(const void *a, const void *b)
{
	return memcmp(a, b, GKV_OID_RAWSZ);
}

static bool hex_prefixed(const gkv_oid *id, const gkv_oid *prefix, size_t hexlen)
{
	char a[GKV_OID_HEXSZ + 1], p[GKV_OID_HEXSZ + 1];

	gkv_oid_fmt(a, id);
	gkv_oid_fmt(p, prefix);
	return strncmp(a, p, hexlen) == 0;
}

/* foreach with this prefix reports exactly the objects that match, once each. */
static void expect_foreach(gkv_backend *b, const obj *objs, const gkv_oid *prefix, size_t hexlen)
{
	id_list l = {calloc(NOBJS + 8, sizeof(gkv_oid)), 0, NOBJS + 8};
	size_t want = 0;

	assert_non_null(l.ids);
	assert_ok(b->foreach(b, prefix, hexlen, collect_cb, &l));
	qsort(l.ids, l.n, sizeof(*l.ids), oid_cmp);
	for (size_t i = 1; i < l.n; i++)
		assert_true(oid_cmp(&l.ids[i - 1], &l.ids[i]) < 0); /* no id twice */
	for (int i = 0; i < NOBJS; i++) {
		if (hexlen && !hex_prefixed(&objs[i].id, prefix, hexlen))
			continue;
		want++;
		assert_non_null(bsearch(&objs[i].id, l.ids, l.n, sizeof(*l.ids), oid_cmp));
	}
	assert_int_equal(l.n, want);
	free(l.ids);
}

static void test_v4_keeps_types_apart(void **state)
{
	obj *objs = calloc(NOBJS, sizeof(obj));
	char path[128];
	gkv_backend *b;
	gkv_batch *batch;
	gkv_oid missing;
	void *data = NULL;
	size_t len;
	gkv_otype type;
	raw_env r;

	(void)state;
	assert_non_null(objs);
	make_objs(objs);
	new_path(path, sizeof(path));
	assert_ok(gkv_backend_lmdb_open(&b, path, GKV_LMDB_CREATE | GKV_LMDB_NOSYNC));
	/* Half in one batch, the rest one by one. */
	assert_ok(b->batch_begin(&batch, b));
	for (int i = 0; i < NOBJS / 2; i++)
		assert_ok(b->batch_write(batch, &objs[i].id, objs[i].type, objs[i].data, objs[i].len));
	assert_ok(b->batch_commit(batch));
	for (int i = NOBJS / 2; i < NOBJS; i++)
		uu_raw_write(b, &objs[i].id, objs[i].type, objs[i].data, objs[i].len);
	/* Writing an id again is a no-op, whatever type the second write
	 * claims: the first bytes stay, in the first database. */
	uu_raw_write(b, &objs[0].id, GKV_OBJ_BLOB, "imposter", 8);
	uu_raw_write(b, &objs[1].id, GKV_OBJ_COMMIT, "imposter", 8);
	b->free(b);

	raw_open(&r, path, MDB_RDONLY);
	assert_int_equal(db_entries(&r, "commits"), PER_TYPE);
	assert_int_equal(db_entries(&r, "trees"), PER_TYPE);
	assert_int_equal(db_entries(&r, "objects"), NOBJS - 2 * PER_TYPE);
	for (int i = 0; i < NOBJS; i++) {
		bool commit = objs[i].type == GKV_OBJ_COMMIT, tree = objs[i].type == GKV_OBJ_TREE;

		assert_int_equal(db_has(&r, "commits", &objs[i].id), commit);
		assert_int_equal(db_has(&r, "trees", &objs[i].id), tree);
		assert_int_equal(db_has(&r, "objects", &objs[i].id), !commit && !tree);
	}
	raw_close(&r, 0);
	assert_version(path, "4");

	/* Every read path, on a fresh open and on a read-only one. */
	for (int pass = 0; pass < 2; pass++) {
		assert_ok(gkv_backend_lmdb_open(&b, path, pass ? GKV_LMDB_READONLY : 0));
		assert_non_null(b->read_typed);
		for (int i = 0; i < NOBJS; i++) {
			expect_read(b, &objs[i], GKV_OBJ_BAD); /* untyped */
			expect_read(b, &objs[i], GKV_OBJ_ANY);
			expect_read(b, &objs[i], GKV_OBJ_COMMIT);
			expect_read(b, &objs[i], GKV_OBJ_TREE);
			expect_read(b, &objs[i], GKV_OBJ_BLOB);
			assert_int_equal(b->exists(b, &objs[i].id), 1);
		}
		missing = objs[0].id;
		missing.id[19] ^= 1;
		assert_int_equal(b->exists(b, &missing), 0);
		assert_rc(GKV_E_NOTFOUND, b->read(&data, &len, &type, b, &missing));
		assert_rc(GKV_E_NOTFOUND,
		    b->read_typed(&data, &len, &type, b, &missing, GKV_OBJ_COMMIT));
		assert_rc(GKV_E_NOTFOUND,
		    b->read_typed(&data, &len, &type, b, &missing, GKV_OBJ_TREE));
		assert_non_null(strstr(gkv_error_last(), uu_hex(&missing)));
		assert_null(data);
		expect_foreach(b, objs, NULL, 0);
		for (int k = 0; k < 3; k++) { /* prefixes of objects of each type */
			static const size_t lens[] = {1, 2, 3, 5, 40};

			for (size_t j = 0; j < sizeof(lens) / sizeof(*lens); j++)
				expect_foreach(b, objs, &objs[k * 7 + j].id, lens[j]);
		}
		b->free(b);
	}
	free(objs);
}

/* One id three times in a batch, as a tree, a commit and a blob: one of
 * them lands, in one database, and foreach reports it once. */
static void test_v4_one_id_thrice_in_a_batch(void **state)
{
	gkv_oid odd = uu_oid("0dd0000000000000000000000000000000000000");
	char path[128];
	gkv_backend *b;
	gkv_batch *batch;
	int n = 0;
	raw_env r;

	(void)state;
	new_path(path, sizeof(path));
	assert_ok(gkv_backend_lmdb_open(&b, path, GKV_LMDB_CREATE | GKV_LMDB_NOSYNC));
	assert_ok(b->batch_begin(&batch, b));
	assert_ok(b->batch_write(batch, &odd, GKV_OBJ_TREE, "t", 1));
	assert_ok(b->batch_write(batch, &odd, GKV_OBJ_COMMIT, "c", 1));
	assert_ok(b->batch_write(batch, &odd, GKV_OBJ_BLOB, "b", 1));
	assert_ok(b->batch_commit(batch));
	assert_ok(b->foreach(b, NULL, 0, count_cb, &n));
	assert_int_equal(n, 1);
	b->free(b);
	raw_open(&r, path, MDB_RDONLY);
	assert_int_equal(db_has(&r, "commits", &odd) + db_has(&r, "objects", &odd) +
			     db_has(&r, "trees", &odd),
			 1);
	raw_close(&r, 0);
}

/* ---- version 1 ---- */

/* Walk main's history: the number of commits; their ids in ids[] (up to max). */
static size_t walk_main(gkv_repo *repo, gkv_oid *ids, size_t max)
{
	gkv_revwalk *w;
	gkv_oid head, id;
	size_t n = 0;
	int rc;

	assert_ok(gkv_branch_head(&head, repo, "main"));
	assert_ok(gkv_revwalk_new(&w, repo));
	assert_ok(gkv_revwalk_push(w, &head));
	while ((rc = gkv_revwalk_next(&id, w)) == 0)
		if (n < max)
			ids[n++] = id;
	assert_int_equal(rc, GKV_ITEROVER);
	gkv_revwalk_free(w);
	return n;
}

/* Use an old store through gitkv: "k" reads "hello", then five commits
 * set "k" and "d/k2" in turn to PREFIX0 .. PREFIX4 (4 bytes each with a
 * two-letter prefix); ids gets main's commits, newest first (6). */
static void write_five(gkv_repo *repo, const char *prefix, gkv_oid ids[8])
{
	gkv_store *s;
	gkv_buf v;

	assert_ok(gkv_store_open_branch(&s, repo, "main"));
	assert_ok(gkv_store_get(&v, s, "k"));
	assert_buf_str(v, "hello");
	gkv_buf_dispose(&v);
	for (int i = 0; i < 5; i++) {
		char val[16];

		snprintf(val, sizeof(val), "%s%d", prefix, i);
		assert_ok(gkv_store_set(NULL, s, i % 2 ? "k" : "d/k2", val, strlen(val), NULL));
	}
	gkv_store_free(s);
	assert_int_equal(walk_main(repo, ids, 8), 6);
}

static void test_v1_read_and_written_as_v1(void **state)
{
	char path[128];
	gkv_oid first, ids[8];
	gkv_repo *repo;
	gkv_commit *c;
	gkv_buf v;
	raw_env r;

	(void)state;
	new_path(path, sizeof(path));
	make_old(path, &first, "1");
	assert_int_equal(gkv_backend_lmdb_detect(path), 1);

	repo = uu_open_lmdb(path, 0); /* CREATE set: an existing env opens as it is */
	assert_ok(gkv_commit_lookup(&c, repo, &first));
	gkv_commit_free(c);
	write_five(repo, "v", ids);
	assert_oid_equal(&ids[5], &first);
	gkv_repo_free(repo);

	/* Still version 1, no commits database, every commit in objects. */
	assert_version(path, "1");
	raw_open(&r, path, MDB_RDONLY);
	assert_int_equal(db_entries(&r, "commits"), -1);
	for (int i = 0; i < 6; i++)
		assert_true(db_has(&r, "objects", &ids[i]));
	raw_close(&r, 0);

	/* And read-only, through the backend too. */
	repo = uu_open_lmdb(path, 1);
	assert_int_equal(walk_main(repo, ids, 8), 6);
	{
		gkv_otype type;

		assert_ok(gkv_repo_object_read(&v, &type, repo, &ids[0]));
		assert_int_equal(type, GKV_OBJ_COMMIT);
		gkv_buf_dispose(&v);
	}
	gkv_repo_free(repo);
}

/* ---- version 2 ---- */

static void test_v2_read_and_written_unchecked(void **state)
{
	char path[128];
	gkv_oid first, ids[8], blob;
	gkv_repo *repo;
	MDB_val k = {15, "refs/heads/main"}, rv;
	MDB_dbi refs;
	raw_env r;

	(void)state;
	new_path(path, sizeof(path));
	make_old(path, &first, "2");
	repo = uu_open_lmdb(path, 0);
	/* no checksums, so no raw records: a copy decodes and re-hashes */
	assert_null(gkv_repo_backend(repo)->raw_format);
	assert_null(gkv_repo_backend(repo)->read_raw);
	assert_null(gkv_repo_backend(repo)->encode_raw);
	write_five(repo, "v2v", ids);
	gkv_repo_free(repo);

	/* Still version 2: new records as version 2 wrote them, no checksum:
	 * the blob "v2v4" is its type byte and its 4 bytes, the ref 20 bytes. */
	assert_version(path, "2");
	assert_ok(gkv_hash(&blob, GKV_OBJ_BLOB, "v2v4", 4));
	raw_open(&r, path, MDB_RDONLY);
	for (int i = 0; i < 6; i++)
		assert_true(db_has(&r, "commits", &ids[i]));
	assert_int_equal(record_size(&r, "objects", &blob), 5);
	assert_int_equal(mdb_dbi_open(r.txn, "refs", 0, &refs), 0);
	assert_int_equal(mdb_get(r.txn, refs, &k, &rv), 0);
	assert_int_equal(rv.mv_size, GKV_OID_RAWSZ);
	raw_close(&r, 0);
}

/* ---- version 4: spills and deletes ---- */

typedef struct {
	uint64_t last_txn;
} figures;

static int figure_cb(const char *name, uint64_t value, void *payload)
{
	if (strcmp(name, "last_txn") == 0)
		((figures *)payload)->last_txn = value;
	return 0;
}

static uint64_t last_txn(gkv_backend *b)
{
	figures f = {0};

	assert_ok(b->stats(b, figure_cb, &f));
	return f.last_txn;
}

#define BIG_TREES 1000
#define BIG_SIZE (20 << 10) /* 1000 of them: past the 16 MiB a spill takes */
#define SMALL 60

/* Object i of the big batch: trees first, then commits, then blobs. */
static gkv_otype big_type(int i)
{
	return i < BIG_TREES ? GKV_OBJ_TREE : i < BIG_TREES + SMALL ? GKV_OBJ_COMMIT : GKV_OBJ_BLOB;
}

static size_t big_len(int i)
{
	return i < BIG_TREES ? BIG_SIZE : 100 + (size_t)i;
}

/* Object i's bytes: a pattern, and i in the first 4 (every id differs). */
static void big_fill(unsigned char *p, int i)
{
	uu_fill(p, big_len(i), (unsigned)i);
	memcpy(p, &i, sizeof(i));
}

static void test_v4_spill_and_gc(void **state)
{
	const int n = BIG_TREES + 2 * SMALL;
	gkv_oid *ids = calloc((size_t)n, sizeof(gkv_oid));
	unsigned char *buf = malloc(BIG_SIZE + 4096);
	char path[128];
	gkv_backend *b;
	gkv_batch *batch;
	uint64_t before;
	int count = 0;
	raw_env r;

	(void)state;
	assert_non_null(ids);
	assert_non_null(buf);
	new_path(path, sizeof(path));
	assert_ok(gkv_backend_lmdb_open(&b, path, GKV_LMDB_CREATE | GKV_LMDB_NOSYNC));
	before = last_txn(b);
	assert_ok(b->batch_begin(&batch, b));
	for (int i = 0; i < n; i++) {
		big_fill(buf, i);
		assert_ok(gkv_hash(&ids[i], big_type(i), buf, big_len(i)));
		assert_ok(b->batch_write(batch, &ids[i], big_type(i), buf, big_len(i)));
	}
	assert_ok(b->batch_commit(batch));
	/* stored in parts at commit: a transaction for each, refs with the last */
	assert_true(last_txn(b) >= before + 2);
	b->free(b); /* no second environment on the files in one process */
	raw_open(&r, path, MDB_RDONLY);
	assert_int_equal(db_entries(&r, "trees"), BIG_TREES);
	assert_int_equal(db_entries(&r, "commits"), SMALL);
	assert_int_equal(db_entries(&r, "objects"), SMALL);
	for (int i = 0; i < n; i++) {
		assert_int_equal(db_has(&r, "trees", &ids[i]), big_type(i) == GKV_OBJ_TREE);
		assert_int_equal(db_has(&r, "commits", &ids[i]), big_type(i) == GKV_OBJ_COMMIT);
		assert_int_equal(db_has(&r, "objects", &ids[i]), big_type(i) == GKV_OBJ_BLOB);
	}
	raw_close(&r, 0);
	assert_ok(gkv_backend_lmdb_open(&b, path, GKV_LMDB_NOSYNC));
	for (int i = 0; i < n; i += 7) {
		void *data = NULL;
		size_t len = 0;
		gkv_otype type;

		assert_ok(b->read_typed(&data, &len, &type, b, &ids[i], GKV_OBJ_TREE));
		assert_int_equal(type, big_type(i));
		assert_int_equal(len, big_len(i));
		big_fill(buf, i);
		assert_memory_equal(data, buf, len);
		gkv_backend_data_free(data);
	}

	/* A gc's batch: every other object of each kind goes, from its database. */
	assert_ok(b->batch_begin(&batch, b));
	for (int i = 0; i < n; i += 2)
		assert_ok(b->batch_delete(batch, &ids[i]));
	assert_ok(b->batch_commit(batch));
	for (int i = 0; i < n; i++)
		assert_int_equal(b->exists(b, &ids[i]), i % 2);
	assert_ok(b->foreach(b, NULL, 0, count_cb, &count));
	assert_int_equal(count, n / 2);
	b->free(b);
	raw_open(&r, path, MDB_RDONLY);
	assert_int_equal(db_entries(&r, "trees"), BIG_TREES / 2);
	assert_int_equal(db_entries(&r, "commits"), SMALL / 2);
	assert_int_equal(db_entries(&r, "objects"), SMALL / 2);
	raw_close(&r, 0);
	free(buf);
	free(ids);
}

/* ---- version 3 ---- */

static void test_v3_read_and_written_as_v3(void **state)
{
	char path[128];
	gkv_oid first, ids[8], blob;
	gkv_repo *repo;
	gkv_commit *c;
	raw_env r;

	(void)state;
	new_path(path, sizeof(path));
	make_old(path, &first, "3");
	repo = uu_open_lmdb(path, 0);
	write_five(repo, "v3v", ids);
	assert_ok(gkv_commit_lookup(&c, repo, &ids[0]));

	/* Still version 3, no "trees": the new trees among the blobs, the
	 * commits apart, every record with its checksum ("v3v4": its type
	 * byte, its 4 bytes and 4 of checksum). */
	assert_version(path, "3");
	assert_ok(gkv_hash(&blob, GKV_OBJ_BLOB, "v3v4", 4));
	raw_open(&r, path, MDB_RDONLY);
	assert_int_equal(db_entries(&r, "trees"), -1);
	assert_true(db_has(&r, "objects", gkv_commit_tree_id(c)));
	for (int i = 0; i < 6; i++)
		assert_true(db_has(&r, "commits", &ids[i]));
	assert_int_equal(record_size(&r, "objects", &blob), 9);
	raw_close(&r, 0);
	gkv_commit_free(c);
	gkv_repo_free(repo);

	/* And read-only: the same history. */
	repo = uu_open_lmdb(path, 1);
	assert_int_equal(walk_main(repo, ids, 8), 6);
	assert_oid_equal(&ids[5], &first);
	gkv_repo_free(repo);
}

/* ---- an unknown version ---- */

static void *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void test_unknown_version_refused(void **state)
{
	static const unsigned int flags[] = {0, GKV_LMDB_CREATE, GKV_LMDB_READONLY};
	char path[128], data[160], uri[160];
	gkv_backend *b = NULL;
	gkv_repo *repo = NULL;
	gkv_oid id;
	MDB_dbi meta;
	void *before, *after;
	size_t nbefore, nafter;
	raw_env r;

	(void)state;
	new_path(path, sizeof(path));
	assert_ok(gkv_backend_lmdb_open(&b, path, GKV_LMDB_CREATE | GKV_LMDB_NOSYNC));
	uu_raw_put(&id, b, GKV_OBJ_COMMIT, "a commit", 8);
	b->free(b);
	raw_open(&r, path, 0);
	assert_int_equal(mdb_dbi_open(r.txn, "meta", 0, &meta), 0);
	raw_put(&r, meta, "version", 7, "5", 1);
	raw_close(&r, 1);

	snprintf(data, sizeof(data), "%s/data.mdb", path);
	before = slurp(data, &nbefore);
	for (size_t i = 0; i < sizeof(flags) / sizeof(*flags); i++) {
		b = NULL;
		assert_rc(GKV_E_CORRUPT, gkv_backend_lmdb_open(&b, path, flags[i]));
		assert_null(b);
		assert_non_null(strstr(gkv_error_last(), path));
		assert_non_null(strstr(gkv_error_last(), "unknown format version '5'"));
		assert_non_null(strstr(gkv_error_last(), "reads versions 1, 2, 3 and 4"));
	}
	snprintf(uri, sizeof(uri), "lmdb:%s", path);
	assert_rc(GKV_E_CORRUPT, gkv_repo_open(&repo, uri, NULL));
	assert_null(repo);
	after = slurp(data, &nafter);
	assert_int_equal(nafter, nbefore);
	assert_memory_equal(after, before, nbefore);
	free(after);
	assert_version(path, "5");
	/* and the upgrade refuses it too, leaving it alone */
	assert_rc(GKV_E_CORRUPT, gkv_backend_lmdb_upgrade(NULL, path));
	assert_non_null(strstr(gkv_error_last(), "unknown format version '5'"));
	after = slurp(data, &nafter);
	assert_int_equal(nafter, nbefore);
	assert_memory_equal(after, before, nbefore);
	free(before);
	free(after);
}

static int setup(void **state)
{
	(void)state;
	return uu_root_make("lmdb-format");
}

static int teardown(void **state)
{
	(void)state;
	return uu_root_remove();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_v4_keeps_types_apart),
	    cmocka_unit_test(test_v4_one_id_thrice_in_a_batch),
	    cmocka_unit_test(test_v4_spill_and_gc),
	    cmocka_unit_test(test_v3_read_and_written_as_v3),
	    cmocka_unit_test(test_v1_read_and_written_as_v1),
	    cmocka_unit_test(test_v2_read_and_written_unchecked),
	    cmocka_unit_test(test_unknown_version_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
