/*
 * test_reclaim.c -- the seam's slots for reclaiming space and its
 * figures, on every backend (through gkv_repo_backend, as gc uses them):
 * a batch deletes objects and whole logs atomically with its ref CASes,
 * so an aborted batch or one whose CAS fails deletes nothing; the refs
 * that have logs are listed, those of deleted branches included; a CAS
 * that leaves a ref as it was (what gc uses to notice a moved ref) is
 * accepted and logs nothing; a deleted object being streamed stays
 * readable to the end of the stream; a landed batch never names an
 * object a concurrent delete took away. The git backend leaves these
 * slots empty (git gc reclaims its space). Every backend's figures have
 * the names the seam documents, and add up.
 */
#include "conformance.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

#include "gitkv/sys/backend.h"

static const gkv_oid zero;

static int reclaims(void)
{
	return strcmp(conf_backend, "git") != 0;
}

static gkv_backend *backend_of(conf_env *env)
{
	gkv_backend *b = gkv_repo_backend(env->repo);

	assert_non_null(b);
	return b;
}

/* Store a blob no ref reaches, in a batch of its own; its id. */
static gkv_oid orphan(gkv_backend *b, const char *text)
{
	gkv_batch *batch = NULL;
	gkv_oid id;

	assert_ok(gkv_hash(&id, GKV_OBJ_BLOB, text, strlen(text)));
	assert_ok(b->batch_begin(&batch, b));
	assert_ok(b->batch_write(batch, &id, GKV_OBJ_BLOB, text, strlen(text)));
	assert_ok(b->batch_commit(batch));
	return id;
}

static int exists(gkv_backend *b, const gkv_oid *id)
{
	int rc = b->exists(b, id);

	assert_true(rc == 0 || rc == 1);
	return rc;
}

/* Entries in branch's log; 0 for a branch that is gone and has none
 * (gkv_branch_reflog then says GKV_E_NOTFOUND). */
static size_t log_count(gkv_repo *repo, const char *branch)
{
	gkv_reflog *log = NULL;
	gkv_oid head;
	size_t n;
	int rc = gkv_branch_reflog(&log, repo, branch);

	if (rc == GKV_E_NOTFOUND) {
		assert_rc(GKV_E_NOTFOUND, gkv_branch_head(&head, repo, branch));
		return 0;
	}
	assert_ok(rc);
	n = gkv_reflog_count(log);
	gkv_reflog_free(log);
	return n;
}

typedef struct {
	char text[2048];
	int saw_target;
} names;

static int name_cb(const char *name, const gkv_oid *target, void *payload)
{
	names *n = payload;

	if (target)
		n->saw_target = 1;
	strncat(n->text, name, sizeof(n->text) - strlen(n->text) - 2);
	strcat(n->text, "\n");
	return 0;
}

static const char *logs_of(gkv_backend *b, names *n)
{
	memset(n, 0, sizeof(*n));
	assert_ok(b->reflog_list(b, name_cb, n));
	assert_false(n->saw_target);
	return n->text;
}

/* ---- the slots ---- */

static void slots_are_filled_as_documented(void **state)
{
	conf_env *env = *state;
	gkv_backend *b = backend_of(env);

	assert_non_null(b->config_get);
	assert_non_null(b->config_set);
	assert_non_null(b->config_list);
	assert_non_null(b->stats);
	if (reclaims()) {
		assert_non_null(b->batch_delete);
		assert_non_null(b->batch_reflog_delete);
		assert_non_null(b->reflog_list);
		assert_null(b->set_default_branch); /* kept in config by the library */
	} else {
		assert_null(b->batch_delete);
		assert_null(b->batch_reflog_delete);
		assert_null(b->reflog_list);
		assert_non_null(b->set_default_branch);
	}
}

static void a_batch_deletes_objects(void **state)
{
	conf_env *env = *state;
	gkv_backend *b = backend_of(env);
	gkv_batch *batch = NULL;
	gkv_oid a, c, absent, head;
	void *data = NULL;
	size_t len;
	gkv_otype type;

	if (!reclaims())
		skip();
	head = conf_set(env->store, "k", "v");
	a = orphan(b, "orphan a");
	c = orphan(b, "orphan c");
	assert_ok(gkv_hash(&absent, GKV_OBJ_BLOB, "never stored", 12));
	assert_int_equal(exists(b, &a), 1);
	assert_ok(b->batch_begin(&batch, b));
	assert_ok(b->batch_delete(batch, &a));
	assert_ok(b->batch_delete(batch, &absent)); /* not an error */
	assert_ok(b->batch_delete(batch, &a));	    /* twice: not an error */
	assert_ok(b->batch_commit(batch));
	assert_int_equal(exists(b, &a), 0);
	assert_rc(GKV_E_NOTFOUND, b->read(&data, &len, &type, b, &a));
	assert_null(data);
	assert_int_equal(exists(b, &c), 1);
	/* a commit is deleted too (lmdb keeps commits apart) */
	assert_ok(gkv_branch_delete(env->repo, "main"));
	assert_ok(b->batch_begin(&batch, b));
	assert_ok(b->batch_delete(batch, &head));
	assert_ok(b->batch_commit(batch));
	assert_int_equal(exists(b, &head), 0);
	if (conf_persistent()) {
		conf_reopen(env);
		b = backend_of(env);
		assert_int_equal(exists(b, &a), 0);
		assert_int_equal(exists(b, &head), 0);
		assert_int_equal(exists(b, &c), 1);
	}
}

static void an_object_deleted_and_written_by_one_batch_stays(void **state)
{
	conf_env *env = *state;
	gkv_backend *b = backend_of(env);
	gkv_batch *batch = NULL;
	gkv_oid fresh, old;

	if (!reclaims())
		skip();
	old = orphan(b, "old");
	assert_ok(gkv_hash(&fresh, GKV_OBJ_BLOB, "fresh", 5));
	assert_ok(b->batch_begin(&batch, b));
	assert_ok(b->batch_delete(batch, &fresh));
	assert_ok(b->batch_write(batch, &fresh, GKV_OBJ_BLOB, "fresh", 5));
	assert_ok(b->batch_delete(batch, &old));
	assert_ok(b->batch_write(batch, &old, GKV_OBJ_BLOB, "old", 3));
	assert_ok(b->batch_commit(batch));
	assert_int_equal(exists(b, &fresh), 1);
	assert_int_equal(exists(b, &old), 1);
}

/* Dead branch "gone" with a log, live "main"; the orphan blob's id. */
static gkv_oid dead_branch_and_orphan(conf_env *env, gkv_oid *head)
{
	gkv_backend *b = backend_of(env);

	*head = conf_set(env->store, "k", "v");
	assert_ok(gkv_branch_create(env->repo, "gone", head));
	assert_ok(gkv_branch_delete(env->repo, "gone"));
	assert_int_equal(log_count(env->repo, "gone"), 2);
	return orphan(b, "unreachable");
}

static void an_aborted_batch_deletes_nothing(void **state)
{
	conf_env *env = *state;
	gkv_backend *b = backend_of(env);
	gkv_batch *batch = NULL;
	gkv_oid head, blob;
	char *before, *after;

	if (!reclaims())
		skip();
	blob = dead_branch_and_orphan(env, &head);
	before = conf_state(env->repo);
	assert_ok(b->batch_begin(&batch, b));
	assert_ok(b->batch_delete(batch, &blob));
	assert_ok(b->batch_delete(batch, &head));
	assert_ok(b->batch_reflog_delete(batch, "refs/heads/gone"));
	assert_ok(b->batch_reflog_delete(batch, "refs/heads/main"));
	b->batch_abort(batch);
	assert_int_equal(exists(b, &blob), 1);
	assert_int_equal(exists(b, &head), 1);
	assert_int_equal(log_count(env->repo, "gone"), 2);
	assert_int_equal(log_count(env->repo, "main"), 1);
	after = conf_state(env->repo);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

static void a_failed_cas_deletes_nothing(void **state)
{
	conf_env *env = *state;
	gkv_backend *b = backend_of(env);
	gkv_batch *batch = NULL;
	gkv_oid head, blob, other;
	char *before, *after;

	if (!reclaims())
		skip();
	blob = dead_branch_and_orphan(env, &head);
	other = orphan(b, "other");
	before = conf_state(env->repo);
	/* as gc does: deletes plus a CAS of main to itself -- but main is
	 * expected elsewhere, as if it moved meanwhile */
	assert_ok(b->batch_begin(&batch, b));
	assert_ok(b->batch_delete(batch, &blob));
	assert_ok(b->batch_reflog_delete(batch, "refs/heads/gone"));
	assert_ok(b->batch_ref_cas(batch, "refs/heads/main", &other, &other));
	assert_rc(GKV_E_CONFLICT, b->batch_commit(batch));
	assert_int_equal(exists(b, &blob), 1);
	assert_int_equal(log_count(env->repo, "gone"), 2);
	/* a branch expected absent that exists fails the same way */
	assert_ok(b->batch_begin(&batch, b));
	assert_ok(b->batch_delete(batch, &blob));
	assert_ok(b->batch_ref_cas(batch, "refs/heads/main", NULL, NULL));
	assert_rc(GKV_E_CONFLICT, b->batch_commit(batch));
	assert_int_equal(exists(b, &blob), 1);
	after = conf_state(env->repo);
	assert_string_equal(before, after);
	free(before);
	free(after);
	assert_int_equal(log_count(env->repo, "main"), 1);
}

static void gc_shaped_batch_lands_whole(void **state)
{
	conf_env *env = *state;
	gkv_backend *b = backend_of(env);
	gkv_batch *batch = NULL;
	gkv_oid head, blob, got;
	names n;

	if (!reclaims())
		skip();
	blob = dead_branch_and_orphan(env, &head);
	assert_string_equal(logs_of(b, &n), "refs/heads/gone\nrefs/heads/main\n");
	assert_ok(b->batch_begin(&batch, b));
	assert_ok(b->batch_delete(batch, &blob));
	assert_ok(b->batch_reflog_delete(batch, "refs/heads/gone"));
	/* a CAS to the same id checks main did not move and logs nothing;
	 * one from absent to absent checks "gone" was not made again */
	assert_ok(b->batch_ref_cas(batch, "refs/heads/main", &head, &head));
	assert_ok(b->batch_ref_cas(batch, "refs/heads/gone", NULL, NULL));
	assert_ok(b->batch_commit(batch));
	assert_int_equal(exists(b, &blob), 0);
	assert_int_equal(log_count(env->repo, "gone"), 0);
	assert_int_equal(log_count(env->repo, "main"), 1);
	assert_ok(gkv_branch_head(&got, env->repo, "main"));
	assert_oid_eq(&got, &head);
	assert_rc(GKV_E_NOTFOUND, gkv_branch_head(&got, env->repo, "gone"));
	assert_string_equal(logs_of(b, &n), "refs/heads/main\n");
	/* a branch made again starts a new log */
	assert_ok(gkv_branch_create(env->repo, "gone", &head));
	assert_int_equal(log_count(env->repo, "gone"), 1);
	if (conf_persistent()) {
		conf_reopen(env);
		b = backend_of(env);
		assert_string_equal(logs_of(b, &n), "refs/heads/gone\nrefs/heads/main\n");
		assert_int_equal(log_count(env->repo, "gone"), 1);
		assert_int_equal(exists(b, &blob), 0);
	}
}

static void logs_are_listed_sorted_and_once(void **state)
{
	conf_env *env = *state;
	gkv_backend *b = backend_of(env);
	const char *branches[] = {"b/x", "a", "b", "a-b", "b/x/y"};
	gkv_batch *batch = NULL;
	gkv_oid head;
	names n;

	if (!reclaims())
		skip();
	assert_string_equal(logs_of(b, &n), "");
	head = conf_set(env->store, "k", "1");
	for (size_t i = 0; i < sizeof(branches) / sizeof(branches[0]); i++)
		if (strcmp(branches[i], "b/x/y") != 0)
			assert_ok(gkv_branch_create(env->repo, branches[i], &head));
	conf_set(env->store, "k", "2");
	conf_set(env->store, "k", "3");
	assert_ok(gkv_branch_delete(env->repo, "b/x"));
	assert_ok(gkv_branch_create(env->repo, "b/x/y", &head));
	/* byte order of the names: "b" < "b/x" < "b/x/y" */
	assert_string_equal(logs_of(b, &n),
	    "refs/heads/a\nrefs/heads/a-b\nrefs/heads/b\nrefs/heads/b/x\nrefs/heads/b/x/y\n"
	    "refs/heads/main\n");
	/* deleting one log leaves its neighbours' whole */
	assert_ok(b->batch_begin(&batch, b));
	assert_ok(b->batch_reflog_delete(batch, "refs/heads/b"));
	assert_ok(b->batch_reflog_delete(batch, "refs/heads/never-logged"));
	assert_ok(b->batch_commit(batch));
	assert_string_equal(logs_of(b, &n),
	    "refs/heads/a\nrefs/heads/a-b\nrefs/heads/b/x\nrefs/heads/b/x/y\nrefs/heads/main\n");
	assert_int_equal(log_count(env->repo, "main"), 3);
	assert_int_equal(log_count(env->repo, "b/x"), 2);
	assert_int_equal(log_count(env->repo, "b"), 0);
	/* the branch is still there: only its log went */
	{
		gkv_oid got;

		assert_ok(gkv_branch_head(&got, env->repo, "b"));
		assert_oid_eq(&got, &head);
	}
	/* bad names */
	assert_ok(b->batch_begin(&batch, b));
	assert_rc(GKV_E_INVALID, b->batch_reflog_delete(batch, ""));
	b->batch_abort(batch);
}

/* A stream whose callback deletes the very object it is reading, then
 * reads the rest of the bytes it was given: they must still be there
 * (under AddressSanitizer, a freed block would be caught). */
typedef struct {
	gkv_backend *b;
	gkv_oid id;
	const char *want;
	size_t got;
	int deleted;
} stream_state;

static int stream_cb(gkv_otype type, uint64_t size, const void *data, size_t len, void *payload)
{
	stream_state *st = payload;

	assert_int_equal(type, GKV_OBJ_BLOB);
	assert_int_equal(size, strlen(st->want));
	if (!st->deleted) {
		gkv_batch *batch = NULL;

		assert_ok(st->b->batch_begin(&batch, st->b));
		assert_ok(st->b->batch_delete(batch, &st->id));
		assert_ok(st->b->batch_commit(batch));
		/* another batch, so that a backend may sweep its garbage */
		assert_ok(st->b->batch_begin(&batch, st->b));
		assert_ok(st->b->batch_delete(batch, &zero));
		assert_ok(st->b->batch_commit(batch));
		st->deleted = 1;
	}
	/* byte by byte in this (instrumented) file: cmocka's own compare
	 * is not seen by the sanitizer */
	for (size_t i = 0; i < len; i++)
		if (((const char *)data)[i] != st->want[st->got + i])
			fail_msg("byte %zu of the stream differs", st->got + i);
	st->got += len;
	return 0;
}

static void a_deleted_object_being_streamed_stays_readable(void **state)
{
	conf_env *env = *state;
	gkv_backend *b = backend_of(env);
	static char big[200000];
	stream_state st;

	if (!reclaims() || !b->read_stream)
		skip();
	for (size_t i = 0; i < sizeof(big) - 1; i++)
		big[i] = (char)('a' + (i * 7919) % 26);
	st = (stream_state){b, orphan(b, big), big, 0, 0};
	/* lmdb reads a record a slice at a time: once the record is gone, a
	 * later slice is damage, never other bytes */
	{
		int rc = b->read_stream(b, &st.id, stream_cb, &st);

		assert_true(rc == 0 || rc == GKV_E_CORRUPT);
		if (rc == 0)
			assert_int_equal(st.got, strlen(big));
	}
	assert_int_equal(exists(b, &st.id), 0);
	/* a small one, read in one piece */
	st = (stream_state){b, orphan(b, "small value"), "small value", 0, 0};
	assert_ok(b->read_stream(b, &st.id, stream_cb, &st));
	assert_int_equal(st.got, strlen("small value"));
	assert_int_equal(exists(b, &st.id), 0);
}

/* A batch built while another deleted an object it found stored either
 * fails whole (GKV_E_CONFLICT) or lands with the object: never a ref to
 * a commit whose object is gone. */
static void a_landed_batch_never_misses_a_deleted_object(void **state)
{
	conf_env *env = *state;
	gkv_backend *b = backend_of(env);
	gkv_batch *writer = NULL, *gc = NULL;
	gkv_oid blob, head, got;
	int rc;

	if (!reclaims())
		skip();
	head = conf_set(env->store, "k", "v");
	blob = orphan(b, "shared value");
	assert_ok(b->batch_begin(&writer, b));
	assert_ok(b->batch_write(writer, &blob, GKV_OBJ_BLOB, "shared value", 12));
	assert_ok(b->batch_ref_cas(writer, "refs/heads/uses-it", NULL, &head));
	assert_ok(b->batch_begin(&gc, b));
	assert_ok(b->batch_delete(gc, &blob));
	assert_ok(b->batch_commit(gc));
	rc = b->batch_commit(writer);
	if (rc == 0) {
		assert_int_equal(exists(b, &blob), 1);
		assert_ok(gkv_ref_read(&got, env->repo, "refs/heads/uses-it"));
	} else {
		assert_rc(GKV_E_CONFLICT, rc);
		assert_msg_has("deleted");
		assert_rc(GKV_E_NOTFOUND, gkv_ref_read(&got, env->repo, "refs/heads/uses-it"));
	}
}

/* ---- figures ---- */

typedef struct {
	char names[1024];
	uint64_t values[32];
	size_t n;
} figures;

static int stat_cb(const char *name, uint64_t value, void *payload)
{
	figures *f = payload;

	assert_true(f->n < 32);
	/* lower-case words joined by '_' */
	assert_true(name[0] != '\0' && name[0] != '_');
	for (const char *p = name; *p; p++)
		assert_true(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_');
	strcat(f->names, name);
	strcat(f->names, " ");
	f->values[f->n++] = value;
	return 0;
}

static uint64_t figure(const figures *f, const char *name)
{
	const char *p = f->names;

	for (size_t i = 0; i < f->n; i++) {
		size_t len = strcspn(p, " ");

		if (len == strlen(name) && strncmp(p, name, len) == 0)
			return f->values[i];
		p += len + 1;
	}
	fail_msg("no figure '%s' in '%s'", name, f->names);
	return 0;
}

static int count_cb(const gkv_oid *id, void *payload)
{
	(void)id;
	(*(uint64_t *)payload)++;
	return 0;
}

static int stop_cb(const char *name, uint64_t value, void *payload)
{
	(void)name;
	(void)value;
	(*(int *)payload)++;
	return 5;
}

static void figures_have_their_names_and_add_up(void **state)
{
	conf_env *env = *state;
	gkv_backend *b = backend_of(env);
	figures f;
	uint64_t objects = 0;
	int calls = 0;

	conf_set(env->store, "a", "1");
	conf_set(env->store, "b/c", "2");
	assert_ok(b->foreach(b, NULL, 0, count_cb, &objects));
	memset(&f, 0, sizeof(f));
	assert_ok(b->stats(b, stat_cb, &f));
	if (strcmp(conf_backend, "mem") == 0) {
		assert_string_equal(f.names, "objects bytes refs reflog_entries arena_bytes arena_lost ");
		assert_int_equal(figure(&f, "objects"), objects);
		assert_true(figure(&f, "bytes") > 0);
		assert_int_equal(figure(&f, "refs"), 1);
		assert_int_equal(figure(&f, "reflog_entries"), 2);
	} else if (strcmp(conf_backend, "lmdb") == 0) {
		assert_string_equal(f.names, "map_size page_size pages_used last_txn readers objects "
					     "commits trees refs reflog config ");
		assert_true(figure(&f, "page_size") >= 512);
		assert_true(figure(&f, "pages_used") * figure(&f, "page_size") <=
			    figure(&f, "map_size"));
		assert_true(figure(&f, "last_txn") >= 2);
		assert_true(figure(&f, "trees") > 0); /* format 4: trees apart */
		assert_int_equal(figure(&f, "objects") + figure(&f, "commits") + figure(&f, "trees"),
				 objects);
		assert_int_equal(figure(&f, "refs"), 1);
		assert_int_equal(figure(&f, "reflog"), 2);
		assert_int_equal(figure(&f, "config"), 0);
		assert_ok(gkv_config_set(env->repo, "gkvtest.a", "1"));
		memset(&f, 0, sizeof(f));
		assert_ok(b->stats(b, stat_cb, &f));
		assert_int_equal(figure(&f, "config"), 1);
	} else {
		assert_string_equal(f.names, "loose_objects loose_bytes packs pack_bytes ");
		assert_int_equal(figure(&f, "loose_objects"), objects);
		assert_true(figure(&f, "loose_bytes") > 0);
		assert_int_equal(figure(&f, "packs"), 0);
		assert_int_equal(figure(&f, "pack_bytes"), 0);
	}
	/* a non-zero return stops them and is returned */
	assert_int_equal(b->stats(b, stop_cb, &calls), 5);
	assert_int_equal(calls, 1);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    CONF_TEST(slots_are_filled_as_documented),
	    CONF_TEST(a_batch_deletes_objects),
	    CONF_TEST(an_object_deleted_and_written_by_one_batch_stays),
	    CONF_TEST(an_aborted_batch_deletes_nothing),
	    CONF_TEST(a_failed_cas_deletes_nothing),
	    CONF_TEST(gc_shaped_batch_lands_whole),
	    CONF_TEST(logs_are_listed_sorted_and_once),
	    CONF_TEST(a_deleted_object_being_streamed_stays_readable),
	    CONF_TEST(a_landed_batch_never_misses_a_deleted_object),
	    CONF_TEST(figures_have_their_names_and_add_up),
	};

	return CONF_MAIN(argc, argv, tests);
}
