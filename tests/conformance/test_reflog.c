/*
 * test_reflog.c -- the log of branch moves: every kind of move (commit,
 * transaction, merge, fast-forward, create, reset, delete) leaves one
 * entry with git's message, newest first; a move that fails or changes
 * nothing leaves none; a deleted branch's log survives and restores it;
 * the log persists across opens; concurrent writers' moves form one
 * unbroken chain.
 */
#include "conformance.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static const gkv_oid zero;

static gkv_reflog *reflog_of(gkv_repo *repo, const char *branch)
{
	gkv_reflog *log = NULL;

	assert_ok(gkv_branch_reflog(&log, repo, branch));
	assert_non_null(log);
	return log;
}

/* Entry i moved old -> new with message msg. */
static void check_entry(const gkv_reflog *log, size_t i, const gkv_oid *old, const gkv_oid *new,
			const char *msg)
{
	assert_true(i < gkv_reflog_count(log));
	assert_oid_eq(gkv_reflog_old_id(log, i), old);
	assert_oid_eq(gkv_reflog_new_id(log, i), new);
	assert_string_equal(gkv_reflog_message(log, i), msg);
}

static char *with_hex(char *buf, size_t cap, const char *prefix, const gkv_oid *id,
		      const char *suffix)
{
	char hex[GKV_OID_HEXSZ + 1];

	gkv_oid_fmt(hex, id);
	snprintf(buf, cap, "%s%s%s", prefix, hex, suffix);
	return buf;
}

static void commits_are_logged_with_their_committer(void **state)
{
	conf_env *env = *state;
	gkv_info *info = conf_info("first line\n\nand a body\n", 1700000000);
	gkv_oid h1, h2;
	gkv_reflog *log;
	const gkv_signature *sig;

	assert_ok(gkv_store_set(&h1, env->store, "a", "1", 1, info));
	assert_ok(gkv_store_set(&h2, env->store, "a", "2", 1, info));
	/* the same value again: no commit, no move, no entry */
	assert_ok(gkv_store_set(NULL, env->store, "a", "2", 1, info));
	gkv_info_free(info);
	log = reflog_of(env->repo, "main");
	assert_int_equal(gkv_reflog_count(log), 2);
	check_entry(log, 0, &h1, &h2, "commit: first line");
	check_entry(log, 1, &zero, &h1, "commit (initial): first line");
	sig = gkv_reflog_signature(log, 0);
	assert_non_null(sig);
	assert_string_equal(gkv_signature_name(sig), "Conformance");
	assert_string_equal(gkv_signature_email(sig), "conformance@example.com");
	assert_int_equal(gkv_signature_time(sig), 1700000000);
	assert_int_equal(gkv_signature_offset(sig), 0);
	assert_null(gkv_reflog_old_id(log, 2));
	assert_null(gkv_reflog_new_id(log, 2));
	assert_null(gkv_reflog_signature(log, 2));
	assert_null(gkv_reflog_message(log, 2));
	gkv_reflog_free(log);
}

static void branch_moves_are_logged_and_a_delete_can_be_undone(void **state)
{
	conf_env *env = *state;
	gkv_oid h1, h2, got;
	gkv_reflog *log;
	char m[128];

	h1 = conf_set(env->store, "k", "1");
	h2 = conf_set(env->store, "k", "2");
	assert_ok(gkv_branch_create(env->repo, "b", &h1));
	assert_ok(gkv_branch_fast_forward(env->repo, "b", &h2));
	assert_ok(gkv_branch_cas(env->repo, "b", &h2, &h1)); /* a revert */
	assert_ok(gkv_branch_delete(env->repo, "b"));

	log = reflog_of(env->repo, "b");
	assert_int_equal(gkv_reflog_count(log), 4);
	check_entry(log, 0, &h1, &zero, "branch: deleted");
	check_entry(log, 1, &h2, &h1, with_hex(m, sizeof(m), "reset: moving to ", &h1, ""));
	check_entry(log, 2, &h1, &h2, with_hex(m, sizeof(m), "merge ", &h2, ": Fast-forward"));
	check_entry(log, 3, &zero, &h1, with_hex(m, sizeof(m), "branch: Created from ", &h1, ""));
	/* the default identity of the conformance repos */
	assert_string_equal(gkv_signature_name(gkv_reflog_signature(log, 0)), "Conformance");

	/* undo the delete from the log, then the revert */
	assert_ok(gkv_branch_create(env->repo, "b", gkv_reflog_old_id(log, 0)));
	assert_ok(gkv_branch_cas(env->repo, "b", &h1, gkv_reflog_old_id(log, 1)));
	gkv_reflog_free(log);
	got = conf_branch_head(env->repo, "b");
	assert_oid_eq(&got, &h2);
	log = reflog_of(env->repo, "b");
	assert_int_equal(gkv_reflog_count(log), 6);
	check_entry(log, 0, &h1, &h2, with_hex(m, sizeof(m), "reset: moving to ", &h2, ""));
	check_entry(log, 1, &zero, &h1, with_hex(m, sizeof(m), "branch: Created from ", &h1, ""));
	check_entry(log, 2, &h1, &zero, "branch: deleted");
	gkv_reflog_free(log);
}

static void failed_moves_are_not_logged(void **state)
{
	conf_env *env = *state;
	gkv_oid h1, h2, missing;
	gkv_reflog *log;
	gkv_txn *txn = NULL;

	h1 = conf_set(env->store, "k", "1");
	h2 = conf_set(env->store, "k", "2");
	assert_ok(gkv_branch_create(env->repo, "b", &h1));
	assert_rc(GKV_E_CONFLICT, gkv_branch_cas(env->repo, "b", &h2, &h2));
	assert_rc(GKV_E_EXISTS, gkv_branch_create(env->repo, "b", &h2));
	assert_ok(gkv_oid_fromstr(&missing, "0123456789abcdef0123456789abcdef01234567"));
	assert_rc(GKV_E_NOTFOUND, gkv_branch_cas(env->repo, "b", &h1, &missing));
	/* a CAS to where the branch is: no move */
	assert_ok(gkv_branch_cas(env->repo, "b", &h1, &h1));
	/* a transaction that loses its race with GKV_TXN_FAIL */
	assert_ok(gkv_txn_begin(&txn, env->store));
	assert_ok(gkv_txn_set(txn, "t", "x", 1));
	conf_set(env->store, "k", "3");
	assert_rc(GKV_E_CONFLICT, gkv_txn_commit(NULL, txn, GKV_TXN_FAIL, NULL));
	gkv_txn_free(txn);

	log = reflog_of(env->repo, "b");
	assert_int_equal(gkv_reflog_count(log), 1);
	gkv_reflog_free(log);
	log = reflog_of(env->repo, "main");
	assert_int_equal(gkv_reflog_count(log), 3);
	gkv_reflog_free(log);
}

static void merges_and_transactions_are_logged(void **state)
{
	conf_env *env = *state;
	gkv_oid base, ours, theirs, merged, t;
	gkv_store *side = NULL;
	gkv_txn *txn = NULL;
	gkv_reflog *log;
	char m[128];

	base = conf_set(env->store, "k", "1");
	assert_ok(gkv_branch_create(env->repo, "side", &base));
	assert_ok(gkv_store_open_branch(&side, env->repo, "side"));
	theirs = conf_set(side, "s", "x");
	/* a fast-forward merge */
	assert_ok(gkv_merge_into_branch(&merged, NULL, env->repo, "main", &theirs, NULL, NULL));
	assert_oid_eq(&merged, &theirs);
	/* a real merge */
	theirs = conf_set(side, "s", "y");
	ours = conf_set(env->store, "o", "z");
	assert_ok(gkv_merge_into_branch(&merged, NULL, env->repo, "main", &theirs, NULL, NULL));
	/* a transaction */
	assert_ok(gkv_txn_begin(&txn, env->store));
	assert_ok(gkv_txn_set(txn, "t", "1", 1));
	assert_ok(gkv_txn_commit(&t, txn, GKV_TXN_FAIL, NULL));
	gkv_txn_free(txn);
	gkv_store_free(side);

	log = reflog_of(env->repo, "main");
	assert_int_equal(gkv_reflog_count(log), 5);
	check_entry(log, 0, &merged, &t, "commit: transaction");
	check_entry(log, 1, &ours, &merged,
		    with_hex(m, sizeof(m), "merge ", &theirs, ": Merge made by the 'gitkv' strategy."));
	assert_oid_eq(gkv_reflog_old_id(log, 2), gkv_reflog_new_id(log, 3));
	assert_oid_eq(gkv_reflog_new_id(log, 2), &ours);
	assert_string_equal(gkv_reflog_message(log, 2), "commit: set o");
	check_entry(log, 4, &zero, &base, "commit (initial): set k");
	gkv_reflog_free(log);
}

static void bad_calls_are_refused(void **state)
{
	conf_env *env = *state;
	gkv_reflog *log = (gkv_reflog *)&log;

	assert_rc(GKV_E_INVALID, gkv_branch_reflog(NULL, env->repo, "main"));
	assert_rc(GKV_E_INVALID, gkv_branch_reflog(&log, NULL, "main"));
	assert_null(log);
	assert_rc(GKV_E_INVALID, gkv_branch_reflog(&log, env->repo, NULL));
	assert_rc(GKV_E_INVALID, gkv_branch_reflog(&log, env->repo, "a..b"));
	assert_msg_has("a..b");
	assert_rc(GKV_E_NOTFOUND, gkv_branch_reflog(&log, env->repo, "never"));
	assert_msg_has("never");
	assert_null(log);
	gkv_reflog_free(NULL);
}

static void the_log_persists(void **state)
{
	conf_env *env = *state;
	gkv_oid h1, h2;
	gkv_reflog *log;

	if (!conf_persistent())
		skip();
	h1 = conf_set(env->store, "k", "1");
	h2 = conf_set(env->store, "k", "2");
	assert_ok(gkv_branch_create(env->repo, "gone", &h2));
	assert_ok(gkv_branch_delete(env->repo, "gone"));
	conf_reopen(env);
	log = reflog_of(env->repo, "main");
	assert_int_equal(gkv_reflog_count(log), 2);
	check_entry(log, 0, &h1, &h2, "commit: set k");
	gkv_reflog_free(log);
	log = reflog_of(env->repo, "gone");
	assert_int_equal(gkv_reflog_count(log), 2);
	check_entry(log, 0, &h2, &zero, "branch: deleted");
	gkv_reflog_free(log);
}

/* ---- concurrent writers: every move logged, in one chain ---- */

#define WRITERS 4
#define WRITES 25

typedef struct {
	gkv_repo *repo;
	int n;
} writer_arg;

static void *writer(void *p)
{
	writer_arg *a = p;
	gkv_store *s = NULL;
	char path[32];

	if (gkv_store_open_branch(&s, a->repo, "main") < 0)
		return (void *)1;
	for (int i = 0; i < WRITES; i++) {
		snprintf(path, sizeof(path), "w%d/%d", a->n, i);
		if (gkv_store_set(NULL, s, path, "v", 1, NULL) < 0) {
			gkv_store_free(s);
			return (void *)1;
		}
	}
	gkv_store_free(s);
	return NULL;
}

static void concurrent_moves_form_one_chain(void **state)
{
	conf_env *env = *state;
	pthread_t th[WRITERS];
	writer_arg args[WRITERS];
	gkv_reflog *log;
	gkv_oid head;
	size_t n;

	for (int i = 0; i < WRITERS; i++) {
		args[i] = (writer_arg){env->repo, i};
		assert_int_equal(pthread_create(&th[i], NULL, writer, &args[i]), 0);
	}
	for (int i = 0; i < WRITERS; i++) {
		void *ret;

		assert_int_equal(pthread_join(th[i], &ret), 0);
		assert_null(ret);
	}
	head = conf_branch_head(env->repo, "main");
	log = reflog_of(env->repo, "main");
	n = gkv_reflog_count(log);
	assert_int_equal(n, WRITERS * WRITES);
	assert_oid_eq(gkv_reflog_new_id(log, 0), &head);
	for (size_t i = 0; i + 1 < n; i++)
		assert_oid_eq(gkv_reflog_old_id(log, i), gkv_reflog_new_id(log, i + 1));
	assert_oid_eq(gkv_reflog_old_id(log, n - 1), &zero);
	gkv_reflog_free(log);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    CONF_TEST(commits_are_logged_with_their_committer),
	    CONF_TEST(branch_moves_are_logged_and_a_delete_can_be_undone),
	    CONF_TEST(failed_moves_are_not_logged),
	    CONF_TEST(merges_and_transactions_are_logged),
	    CONF_TEST(bad_calls_are_refused),
	    CONF_TEST(the_log_persists),
	    CONF_TEST(concurrent_moves_form_one_chain),
	};

	return CONF_MAIN(argc, argv, tests);
}
