/*
 * test_backend_mem.c -- the in-memory backend through its vtable: the
 * shared backend suite (backend_suite.h), plus what is the mem backend's
 * own: gkv_backend_init, a 100,000-object batch, and read throughput.
 */
#include <time.h>

#include "backend_suite.h"

static int suite_open(gkv_backend **out)
{
	return gkv_backend_mem_new(out);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_init(void **state)
{
	gkv_backend b;

	(void)state;
	memset(&b, 0xff, sizeof(b));
	assert_int_equal(gkv_backend_init(&b, GKV_BACKEND_VERSION), 0);
	assert_int_equal(b.version, GKV_BACKEND_VERSION);
	assert_null(b.read);
	assert_null(b.default_branch);
	assert_int_equal(gkv_backend_init(&b, GKV_BACKEND_VERSION + 1), GKV_E_INVALID);
	assert_non_null(strstr(gkv_error_last(), "version"));
	/* a backend built against version 1's header (no read_typed) is
	 * refused, not read past its end */
	assert_int_equal(gkv_backend_init(&b, 1), GKV_E_INVALID);
}

#define MANY 100000

/* A bulk load's shape: one batch of many small objects, then reads of each. */
static void test_many_objects(void **state)
{
	gkv_backend *b;
	gkv_batch *batch;
	gkv_oid id;
	double t0, t1, t2;
	count_ctx c = {0, 0};

	(void)state;
	assert_int_equal(suite_open(&b), 0);
	t0 = now();
	assert_int_equal(b->batch_begin(&batch, b), 0);
	for (int i = 0; i < MANY; i++) {
		make_id(&id, (uint64_t)i);
		assert_int_equal(b->batch_write(batch, &id, GKV_OBJ_BLOB, &i, sizeof(i)), 0);
	}
	assert_int_equal(b->batch_commit(batch), 0);
	t1 = now();
	for (int i = 0; i < MANY; i++) {
		void *data;
		size_t len;
		gkv_otype type;

		make_id(&id, (uint64_t)i);
		assert_int_equal(b->read(&data, &len, &type, b, &id), 0);
		assert_int_equal(len, sizeof(i));
		assert_memory_equal(data, &i, sizeof(i));
		gkv_backend_data_free(data);
	}
	t2 = now();
	assert_int_equal(b->foreach (b, NULL, 0, count_cb, &c), 0);
	assert_int_equal(c.count, MANY);
	print_message("mem: %d objects in one batch: %.0f writes/s, %.0f reads/s\n", MANY,
		      MANY / (t1 - t0), MANY / (t2 - t1));
	b->free(b);
}

/*
 * The object table grows by doubling, moving each slot by the hash it
 * keeps beside it, without reading the object: across many growths, every
 * object written is found with its own bytes, and ids one bit away from
 * them (the same tag's neighbours, as far as a test can make them) are not.
 */
static void test_table_growth_keeps_every_object(void **state)
{
	enum { BATCHES = 40, PER = 1500 };
	gkv_backend *b;

	(void)state;
	assert_int_equal(suite_open(&b), 0);
	for (uint64_t k = 0; k < BATCHES; k++) {
		gkv_batch *batch;
		gkv_oid id;

		assert_int_equal(b->batch_begin(&batch, b), 0);
		for (uint64_t i = k * PER; i < (k + 1) * PER; i++) {
			make_id(&id, i);
			assert_int_equal(b->batch_write(batch, &id, GKV_OBJ_BLOB, &i, sizeof(i)),
					 0);
		}
		assert_int_equal(b->batch_commit(batch), 0);
		/* everything so far, a stride through it, and its absent neighbours */
		for (uint64_t i = 0; i < (k + 1) * PER; i += 1 + k) {
			void *data;
			size_t len;
			gkv_otype type;

			make_id(&id, i);
			assert_int_equal(b->read(&data, &len, &type, b, &id), 0);
			assert_int_equal(type, GKV_OBJ_BLOB);
			assert_int_equal(len, sizeof(i));
			assert_memory_equal(data, &i, sizeof(i));
			gkv_backend_data_free(data);
			id.id[GKV_OID_RAWSZ - 1] ^= 1;
			assert_int_equal(b->exists(b, &id), 0);
			assert_int_equal(b->read(&data, &len, &type, b, &id), GKV_E_NOTFOUND);
		}
	}
	b->free(b);
}

/* A commit-per-write shape: many small commits, each a batch with a ref CAS. */
static void test_small_commits(void **state)
{
	gkv_backend *b;
	double t0;

	(void)state;
	assert_int_equal(suite_open(&b), 0);
	t0 = now();
	for (int i = 0; i < 20000; i++)
		assert_int_equal(cas_increment(b, "refs/heads/main", 1, (uint64_t)i), 0);
	print_message("mem: %.0f small commits/s\n", 20000 / (now() - t0));
	assert_int_equal(chain_length(b, "refs/heads/main"), 20000);
	b->free(b);
}

/*
 * Objects live in the backend's arena: two batches open at once that
 * write the same object both land (the second copy goes back), a batch
 * that aborts between them gives its memory back, and every object still
 * reads back whole.
 */
static void test_batches_interleaved(void **state)
{
	gkv_backend *b;
	gkv_batch *x, *y, *z;
	gkv_oid same, own_x, own_y, own_z;

	(void)state;
	assert_int_equal(suite_open(&b), 0);
	make_id(&same, 1);
	make_id(&own_x, 2);
	make_id(&own_y, 3);
	make_id(&own_z, 4);
	assert_int_equal(b->batch_begin(&x, b), 0);
	assert_int_equal(b->batch_begin(&y, b), 0);
	assert_int_equal(b->batch_begin(&z, b), 0);
	assert_int_equal(b->batch_write(x, &same, GKV_OBJ_BLOB, "shared", 6), 0);
	assert_int_equal(b->batch_write(y, &same, GKV_OBJ_BLOB, "shared", 6), 0);
	assert_int_equal(b->batch_write(z, &own_z, GKV_OBJ_BLOB, "aborted", 7), 0);
	assert_int_equal(b->batch_write(x, &own_x, GKV_OBJ_TREE, "x-only", 6), 0);
	assert_int_equal(b->batch_write(y, &own_y, GKV_OBJ_COMMIT, "y-only", 6), 0);
	b->batch_abort(z);
	assert_int_equal(b->batch_commit(y), 0);
	assert_int_equal(b->batch_commit(x), 0);
	assert_obj(b, &same, GKV_OBJ_BLOB, "shared", 6);
	assert_obj(b, &own_x, GKV_OBJ_TREE, "x-only", 6);
	assert_obj(b, &own_y, GKV_OBJ_COMMIT, "y-only", 6);
	assert_int_equal(b->exists(b, &own_z), 0);
	/* a batch writing what is already stored lands and changes nothing */
	assert_int_equal(b->batch_begin(&x, b), 0);
	assert_int_equal(b->batch_write(x, &same, GKV_OBJ_BLOB, "shared", 6), 0);
	assert_int_equal(b->batch_commit(x), 0);
	assert_obj(b, &same, GKV_OBJ_BLOB, "shared", 6);
	b->free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    BACKEND_SUITE_TESTS,
	    cmocka_unit_test(test_init),
	    cmocka_unit_test(test_many_objects),
	    cmocka_unit_test(test_table_growth_keeps_every_object),
	    cmocka_unit_test(test_small_commits),
	    cmocka_unit_test(test_batches_interleaved),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
