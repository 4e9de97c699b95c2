/*
 * test_odb.c -- unit tests of store/odb.c (typed object reads) and
 * store/tree_cache.c (the bounded LRU cache of decoded trees).
 *
 * The cache must stay within its capacity however many trees are loaded
 * (repo->cache.count is read directly), evict the least recently used
 * tree, hand out the same node for the same id, work with a capacity of
 * 0 (nothing kept), and actually save backend reads (counted by a
 * forwarding backend). A read of a tree or commit of the wrong type is
 * GKV_E_INVALID with a message naming the id (the id may be a caller's);
 * a blob read that finds another type is GKV_E_CORRUPT (only a tree
 * entry of the store names a blob); an absent one is GKV_E_NOTFOUND
 * naming it too. A backend's read_typed hook is used,
 * with the expected type, in place of read.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "repo.h"
#include "unit_util.h"

static gkv_repo *open_with_cache(size_t trees)
{
	gkv_options *opts;
	gkv_repo *repo;

	assert_ok(gkv_options_new(&opts));
	assert_ok(gkv_options_set_cache_size(opts, trees));
	assert_ok(gkv_repo_open(&repo, "mem:", opts));
	gkv_options_free(opts);
	return repo;
}

/* Write n distinct one-value trees; their ids in ids[]. */
static void write_trees(gkv_repo *repo, gkv_oid *ids, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		gkv_tree *e, *t;
		char v[32];

		snprintf(v, sizeof(v), "value %zu", i);
		assert_ok(gkv_tree_empty(&e, repo));
		assert_ok(gkv_tree_set(&t, e, "k", v, strlen(v)));
		assert_ok(gkv_tree_write(&ids[i], t));
		gkv_tree_free(e);
		gkv_tree_free(t);
	}
}

static void test_cache_is_bounded(void **state)
{
	gkv_repo *repo = open_with_cache(4);
	gkv_oid ids[40];

	(void)state;
	assert_int_equal(4, repo->cache.capacity);
	write_trees(repo, ids, 40);
	for (int round = 0; round < 2; round++) {
		for (size_t i = 0; i < 40; i++) {
			gkv_tree *t;
			gkv_buf b;
			char v[32];

			assert_ok(gkv_tree_lookup(&t, repo, &ids[i]));
			assert_true(repo->cache.count <= 4);
			snprintf(v, sizeof(v), "value %zu", i);
			assert_ok(gkv_tree_get(&b, t, "k"));
			assert_buf_str(b, v);
			gkv_buf_dispose(&b);
			gkv_tree_free(t);
		}
	}
	assert_int_equal(4, repo->cache.count);
	gkv_repo_free(repo);
}

/* Deep trees load their subtrees through the cache too: still bounded. */
static void test_cache_bounded_with_subtrees(void **state)
{
	gkv_repo *repo = open_with_cache(3);
	gkv_tree *t, *n, *s;
	gkv_oid id;
	char path[64];

	(void)state;
	assert_ok(gkv_tree_empty(&t, repo));
	for (int i = 0; i < 30; i++) {
		snprintf(path, sizeof(path), "d%d/e%d/v", i, i % 7);
		assert_ok(gkv_tree_set(&n, t, path, path, strlen(path)));
		gkv_tree_free(t);
		t = n;
	}
	assert_ok(gkv_tree_write(&id, t));
	gkv_tree_free(t);
	assert_ok(gkv_tree_lookup(&s, repo, &id));
	for (int i = 0; i < 30; i++) {
		gkv_buf b;

		snprintf(path, sizeof(path), "d%d/e%d/v", i, i % 7);
		assert_ok(gkv_tree_get(&b, s, path));
		assert_buf_str(b, path);
		gkv_buf_dispose(&b);
		assert_true(repo->cache.count <= 3);
	}
	gkv_tree_free(s);
	gkv_repo_free(repo);
}

static void test_cache_size_zero(void **state)
{
	gkv_repo *repo = open_with_cache(0);
	gkv_oid ids[3];
	gkv_tree *a, *b;
	gkv_buf v;

	(void)state;
	write_trees(repo, ids, 3);
	assert_ok(gkv_tree_lookup(&a, repo, &ids[1]));
	assert_ok(gkv_tree_lookup(&b, repo, &ids[1]));
	assert_ptr_not_equal(a, b); /* nothing kept: decoded twice */
	assert_true(gkv_tree_equal(a, b));
	assert_int_equal(0, repo->cache.count);
	assert_null(gkv__cache_get(&repo->cache, &ids[1]));
	assert_ok(gkv_tree_get(&v, b, "k"));
	assert_buf_str(v, "value 1");
	gkv_buf_dispose(&v);
	gkv_tree_free(a);
	gkv_tree_free(b);

	/* A whole store works without a cache. */
	gkv_store *s;

	assert_ok(gkv_store_open_branch(&s, repo, "main"));
	assert_ok(gkv_store_set(NULL, s, "a/b/c", "1", 1, NULL));
	assert_ok(gkv_store_set(NULL, s, "a/b/d", "2", 1, NULL));
	assert_ok(gkv_store_get(&v, s, "a/b/c"));
	assert_buf_str(v, "1");
	gkv_buf_dispose(&v);
	assert_int_equal(0, repo->cache.count);
	gkv_store_free(s);
	gkv_repo_free(repo);
}

/*
 * A commit's replaced trees leave the cache and its new ones enter: a run
 * of commits keeps the cache at the trees of the head, not of every
 * version. A branch still at an old commit reads it all the same.
 */
static void test_commits_replace_their_trees(void **state)
{
	gkv_repo *repo = open_with_cache(1000);
	gkv_store *s, *old;
	gkv_oid first, head;
	gkv_tree *root;
	gkv_buf v;

	(void)state;
	assert_ok(gkv_store_open_branch(&s, repo, "main"));
	assert_ok(gkv_store_set(NULL, s, "a/b/c", "0", 1, NULL));
	assert_ok(gkv_store_set(NULL, s, "x/y", "0", 1, NULL));
	assert_ok(gkv_store_head(&first, s));
	assert_ok(gkv_branch_create(repo, "old", &first));
	for (int i = 1; i <= 100; i++) {
		char val[16];

		snprintf(val, sizeof(val), "%d", i);
		assert_ok(gkv_store_set(NULL, s, i % 2 ? "a/b/c" : "x/y", val, strlen(val), NULL));
	}
	/* The head's trees: root, a, a/b, x; nothing of the 100 before. */
	assert_true(repo->cache.count <= 4);
	assert_ok(gkv_store_head(&head, s));
	assert_ok(gkv_store_tree(&root, s));
	{
		gkv_oid rid;
		gkv_tree *c;

		assert_ok(gkv_tree_id(&rid, root));
		assert_non_null(c = gkv__cache_get(&repo->cache, &rid));
		gkv__tree_unref(c);
	}
	gkv_tree_free(root);
	assert_ok(gkv_store_get(&v, s, "a/b/c"));
	assert_buf_str(v, "99");
	gkv_buf_dispose(&v);
	/* The old commit's trees were dropped; they load again. */
	assert_ok(gkv_store_open_branch(&old, repo, "old"));
	assert_ok(gkv_store_get(&v, old, "a/b/c"));
	assert_buf_str(v, "0");
	gkv_buf_dispose(&v);
	assert_ok(gkv_store_get(&v, old, "x/y"));
	assert_buf_str(v, "0");
	gkv_buf_dispose(&v);
	gkv_store_free(old);
	gkv_store_free(s);
	gkv_repo_free(repo);
}

static void test_cache_shares_nodes(void **state)
{
	gkv_repo *repo = uu_open_mem();
	gkv_oid ids[2];
	gkv_tree *a, *b;

	(void)state;
	write_trees(repo, ids, 2);
	assert_ok(gkv_tree_lookup(&a, repo, &ids[0]));
	assert_ok(gkv_tree_lookup(&b, repo, &ids[0]));
	assert_ptr_equal(a, b);
	gkv_tree_free(b);
	gkv_tree_free(a);
	/* Options left at their default keep trees too. */
	assert_true(repo->cache.capacity > 0);
	gkv_repo_free(repo);
}

/* The LRU itself, on a cache of our own: capacity 2, A B, touch A, add C -> B goes. */
static gkv_tree *one_value_tree(gkv_repo *repo, const char *v)
{
	gkv_tree *e, *t;

	assert_ok(gkv_tree_empty(&e, repo));
	assert_ok(gkv_tree_set(&t, e, "k", v, strlen(v)));
	gkv_tree_free(e);
	return t;
}

static void test_cache_lru_order(void **state)
{
	gkv_repo *repo = uu_open_mem();
	gkv__cache c;
	gkv_tree *a = one_value_tree(repo, "a"), *b = one_value_tree(repo, "b");
	gkv_tree *cc = one_value_tree(repo, "c"), *a2 = one_value_tree(repo, "a"), *got;
	gkv_oid ia, ib, ic;

	(void)state;
	assert_ok(gkv_tree_id(&ia, a));
	assert_ok(gkv_tree_id(&ib, b));
	assert_ok(gkv_tree_id(&ic, cc));
	assert_ok(gkv__cache_init(&c, 2));
	assert_ptr_equal(a, gkv__cache_put(&c, a));
	assert_ptr_equal(b, gkv__cache_put(&c, b));
	assert_int_equal(2, c.count);
	/* An equal tree put again: the cached one comes back, the new one is released. */
	got = gkv__cache_put(&c, a2);
	assert_ptr_equal(a, got);
	gkv_tree_free(got);
	assert_int_equal(2, c.count);
	/* Touch A, then add C: B is the least recently used. */
	got = gkv__cache_get(&c, &ia);
	assert_ptr_equal(a, got);
	gkv_tree_free(got);
	assert_ptr_equal(cc, gkv__cache_put(&c, cc));
	assert_int_equal(2, c.count);
	assert_null(gkv__cache_get(&c, &ib));
	got = gkv__cache_get(&c, &ia);
	assert_ptr_equal(a, got);
	gkv_tree_free(got);
	got = gkv__cache_get(&c, &ic);
	assert_ptr_equal(cc, got);
	gkv_tree_free(got);
	/* Evicted trees stay valid for whoever holds them. */
	gkv_buf v;

	assert_ok(gkv_tree_get(&v, b, "k"));
	assert_buf_str(v, "b");
	gkv_buf_dispose(&v);
	gkv__cache_free(&c);
	gkv_tree_free(a);
	gkv_tree_free(b);
	gkv_tree_free(cc);
	gkv_repo_free(repo);
}

/*
 * The cache against a model of itself: random puts, drops and gets of
 * 3,000 trees on a capacity of 300 (the table grows from 64 entries to
 * 1,024, and every drop and eviction shifts entries back) hold exactly
 * the trees the model says, evict exactly its least recently used, and
 * move a hit to the front only when it was moved there more than a
 * quarter of the capacity ago.
 */
#define MODEL_TREES 3000
#define MODEL_CAP 300

typedef struct {
	int order[MODEL_CAP + 1]; /* [0] most recently used */
	size_t n;
	uint64_t stamp[MODEL_TREES];
	uint64_t clock;
} cache_model;

static int model_pos(const cache_model *m, int i)
{
	for (size_t k = 0; k < m->n; k++)
		if (m->order[k] == i)
			return (int)k;
	return -1;
}

static void model_remove(cache_model *m, int pos)
{
	memmove(&m->order[pos], &m->order[pos + 1], (m->n - (size_t)pos - 1) * sizeof(int));
	m->n--;
}

static void model_front(cache_model *m, int i)
{
	memmove(&m->order[1], &m->order[0], m->n * sizeof(int));
	m->order[0] = i;
	m->n++;
	m->stamp[i] = ++m->clock;
}

static bool model_get(cache_model *m, int i)
{
	int pos = model_pos(m, i);

	if (pos < 0)
		return false;
	if (m->clock - m->stamp[i] > MODEL_CAP / 4) {
		model_remove(m, pos);
		model_front(m, i);
	}
	return true;
}

static void test_cache_against_a_model(void **state)
{
	static gkv_tree *t[MODEL_TREES];
	static gkv_oid id[MODEL_TREES];
	static cache_model m;
	gkv_repo *repo = uu_open_mem();
	uint64_t seed = 42;
	gkv__cache c;

	(void)state;
	memset(&m, 0, sizeof(m));
	for (int i = 0; i < MODEL_TREES; i++) {
		char v[32];

		snprintf(v, sizeof(v), "model %d", i);
		t[i] = one_value_tree(repo, v);
		assert_ok(gkv_tree_id(&id[i], t[i]));
	}
	assert_ok(gkv__cache_init(&c, MODEL_CAP));
	for (int op = 0; op < 40000; op++) {
		uint64_t r = uu_next(&seed);
		/* a narrower range at times, so that puts meet present trees */
		int i = (int)((r >> 8) % (op % 3 ? MODEL_TREES : MODEL_CAP * 2));
		gkv_tree *got;
		int pos;

		switch (r % 8) {
		case 0:
		case 1:
		case 2:
		case 3: /* put */
			got = gkv__cache_put(&c, gkv__tree_ref(t[i]));
			assert_ptr_equal(got, t[i]);
			gkv_tree_free(got);
			if (model_pos(&m, i) < 0) {
				if (m.n >= MODEL_CAP)
					model_remove(&m, (int)m.n - 1);
				model_front(&m, i);
			}
			break;
		case 4:
		case 5: /* drop */
			gkv__cache_drop(&c, &id[i]);
			if ((pos = model_pos(&m, i)) >= 0)
				model_remove(&m, pos);
			break;
		default: /* get */
			got = gkv__cache_get(&c, &id[i]);
			assert_int_equal(got != NULL, model_get(&m, i));
			if (got) {
				assert_ptr_equal(got, t[i]);
				gkv_tree_free(got);
			}
		}
		assert_int_equal(c.count, m.n);
	}
	assert_true(c.nslots >= 2 * MODEL_CAP);
	for (int i = 0; i < MODEL_TREES; i++) {
		gkv_tree *got = gkv__cache_get(&c, &id[i]);

		assert_int_equal(got != NULL, model_get(&m, i));
		gkv_tree_free(got);
	}
	gkv__cache_free(&c);
	for (int i = 0; i < MODEL_TREES; i++)
		gkv_tree_free(t[i]);
	gkv_repo_free(repo);
}

/* The cache saves reads: the second walk to a value reads no tree with a cache, all without. */
static size_t second_read_tree_reads(size_t cache)
{
	gkv_options *opts;
	uu_counting *counter;
	gkv_repo *repo;
	gkv_store *s;
	gkv_buf v;
	size_t before;

	assert_ok(gkv_options_new(&opts));
	assert_ok(gkv_options_set_cache_size(opts, cache));
	repo = uu_open_counting(&counter, opts);
	gkv_options_free(opts);
	assert_ok(gkv_store_open_branch(&s, repo, "main"));
	assert_ok(gkv_store_set(NULL, s, "a/b/c/d", "1", 1, NULL));
	/* A fresh view: the writing one keeps the tree it committed. */
	gkv_store_free(s);
	assert_ok(gkv_store_open_branch(&s, repo, "main"));
	assert_ok(gkv_store_get(&v, s, "a/b/c/d"));
	gkv_buf_dispose(&v);
	before = atomic_load(&counter->tree_reads);
	assert_ok(gkv_store_get(&v, s, "a/b/c/d"));
	assert_buf_str(v, "1");
	gkv_buf_dispose(&v);
	before = atomic_load(&counter->tree_reads) - before;
	gkv_store_free(s);
	gkv_repo_free(repo);
	return before;
}

static void test_cache_saves_reads(void **state)
{
	(void)state;
	assert_int_equal(0, second_read_tree_reads(64));
	/* a, a/b, a/b/c: three subtrees read again (the root stays with the store). */
	assert_true(second_read_tree_reads(0) >= 3);
}

static void test_typed_reads(void **state)
{
	gkv_repo *repo = uu_open_mem();
	gkv_oid blob, tree, missing = uu_oid("1111111111111111111111111111111111111111");
	gkv_tree *t;
	void *data = (void *)1;
	size_t len;
	gkv_otype type;
	char hex[GKV_OID_HEXSZ + 1];

	(void)state;
	uu_raw_put(&blob, repo->backend, GKV_OBJ_BLOB, "just bytes", 10);
	write_trees(repo, &tree, 1);

	assert_rc(GKV_E_INVALID, gkv_tree_lookup(&t, repo, &blob));
	gkv_oid_fmt(hex, &blob);
	assert_non_null(strstr(gkv_error_last(), hex));
	assert_non_null(strstr(gkv_error_last(), "blob"));
	assert_rc(GKV_E_INVALID, gkv__odb_read_typed(&data, &len, repo, &blob, GKV_OBJ_TREE));
	assert_null(data);
	assert_rc(GKV_E_INVALID, gkv__odb_read_typed(&data, &len, repo, &tree, GKV_OBJ_COMMIT));
	assert_rc(GKV_E_CORRUPT, gkv__odb_read_typed(&data, &len, repo, &tree, GKV_OBJ_BLOB));
	assert_null(data);
	assert_non_null(strstr(gkv_error_last(), "is a tree, not a blob"));

	assert_rc(GKV_E_NOTFOUND, gkv_tree_lookup(&t, repo, &missing));
	assert_non_null(strstr(gkv_error_last(), "1111111111111111111111111111111111111111"));
	assert_rc(GKV_E_NOTFOUND, gkv__odb_read(&data, &len, &type, repo, &missing));

	assert_ok(gkv__odb_read(&data, &len, &type, repo, &blob));
	assert_int_equal(GKV_OBJ_BLOB, type);
	assert_int_equal(10, len);
	assert_memory_equal("just bytes", data, 10);
	free(data);
	assert_ok(gkv__odb_read_typed(&data, &len, repo, &tree, GKV_OBJ_TREE));
	free(data);
	/* A wrong-typed read caches nothing. */
	assert_null(gkv__cache_get(&repo->cache, &blob));
	gkv_repo_free(repo);
}

/*
 * A backend with the read_typed hook is told the type the core expects
 * and is read through the hook alone; what it reports is still checked.
 * The hook here forwards to the counting backend's read, noting want.
 */
static gkv_otype hinted_want;
static size_t hinted_calls;

static int hinted_read(void **data, size_t *len, gkv_otype *type, gkv_backend *b,
    const gkv_oid *id, gkv_otype want)
{
	hinted_want = want;
	hinted_calls++;
	return uu_c_read(data, len, type, b, id);
}

static void test_read_typed_hook(void **state)
{
	uu_counting *counter;
	gkv_repo *repo = uu_open_counting(&counter, NULL);
	gkv_oid blob, tree, head, missing = uu_oid("2222222222222222222222222222222222222222");
	gkv_store *s;
	gkv_commit *c;
	gkv_tree *t;
	void *data = NULL;
	size_t len, reads;

	(void)state;
	assert_ok(gkv_store_open_branch(&s, repo, "main"));
	assert_ok(gkv_store_set(NULL, s, "k", "v", 1, NULL));
	assert_ok(gkv_store_head(&head, s));
	gkv_store_free(s);
	uu_raw_put(&blob, repo->backend, GKV_OBJ_BLOB, "just bytes", 10);
	write_trees(repo, &tree, 1);
	counter->parent.read_typed = hinted_read;

	reads = atomic_load(&counter->reads);
	hinted_calls = 0;
	assert_ok(gkv_commit_lookup(&c, repo, &head));
	gkv_commit_free(c);
	assert_int_equal(GKV_OBJ_COMMIT, hinted_want);
	assert_int_equal(1, hinted_calls);
	assert_ok(gkv__odb_read_typed(&data, &len, repo, &blob, GKV_OBJ_BLOB));
	free(data);
	assert_int_equal(GKV_OBJ_BLOB, hinted_want);
	/* Each read went through the hook, none around it. */
	assert_int_equal(2, hinted_calls);
	assert_int_equal(reads + 2, atomic_load(&counter->reads));
	/* The hint is not a filter: a tree asked for as a commit is found,
	 * and the core refuses it. */
	data = NULL;
	assert_rc(GKV_E_INVALID, gkv__odb_read_typed(&data, &len, repo, &tree, GKV_OBJ_COMMIT));
	assert_int_equal(GKV_OBJ_COMMIT, hinted_want);
	assert_null(data);
	assert_non_null(strstr(gkv_error_last(), "is a tree, not a commit"));
	assert_rc(GKV_E_INVALID, gkv_commit_lookup(&c, repo, &blob));
	assert_rc(GKV_E_NOTFOUND, gkv_tree_lookup(&t, repo, &missing));
	assert_int_equal(GKV_OBJ_TREE, hinted_want);
	assert_non_null(strstr(gkv_error_last(), "2222222222222222222222222222222222222222"));
	gkv_repo_free(repo);
}

/* Threads loading trees through a small cache: bounded, and every read right. */
typedef struct {
	gkv_repo *repo;
	gkv_oid *ids;
	size_t n;
	unsigned seed;
	int errors;
} reader_arg;

static void *reader(void *p)
{
	reader_arg *a = p;

	for (int i = 0; i < 2000; i++) {
		size_t k = (size_t)rand_r(&a->seed) % a->n;
		gkv_tree *t;
		gkv_buf b;
		char v[32];

		if (gkv_tree_lookup(&t, a->repo, &a->ids[k]) < 0) {
			a->errors++;
			continue;
		}
		snprintf(v, sizeof(v), "value %zu", k);
		if (gkv_tree_get(&b, t, "k") < 0 || b.size != strlen(v) || memcmp(b.ptr, v, b.size))
			a->errors++;
		gkv_buf_dispose(&b);
		gkv_tree_free(t);
	}
	return NULL;
}

static void test_cache_threads(void **state)
{
	gkv_repo *repo = open_with_cache(8);
	gkv_oid ids[64];
	pthread_t th[4];
	reader_arg args[4];

	(void)state;
	write_trees(repo, ids, 64);
	for (int i = 0; i < 4; i++) {
		args[i] = (reader_arg){repo, ids, 64, (unsigned)i + 1, 0};
		assert_int_equal(0, pthread_create(&th[i], NULL, reader, &args[i]));
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(0, args[i].errors);
	}
	assert_true(repo->cache.count <= 8);
	gkv_repo_free(repo);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cache_is_bounded),
	    cmocka_unit_test(test_cache_bounded_with_subtrees),
	    cmocka_unit_test(test_cache_size_zero),
	    cmocka_unit_test(test_cache_shares_nodes),
	    cmocka_unit_test(test_commits_replace_their_trees),
	    cmocka_unit_test(test_cache_lru_order),
	    cmocka_unit_test(test_cache_against_a_model),
	    cmocka_unit_test(test_cache_saves_reads),
	    cmocka_unit_test(test_typed_reads),
	    cmocka_unit_test(test_read_typed_hook),
	    cmocka_unit_test(test_cache_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
