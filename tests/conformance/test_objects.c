/*
 * test_objects.c -- the objects a store writes are git's, byte for byte:
 * ids of blobs, trees and commits equal those git computes (hard-coded
 * here from git hash-object / mktree / commit-tree), raw reads round-trip,
 * and commit specs resolve as documented.
 */
#include "conformance.h"

#include <stdio.h>
#include <stdlib.h>

#define HELLO_BLOB "ce013625030ba8dba906f756967f9e9ca394464a"
#define EMPTY_TREE "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
#define EMPTY_BLOB "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"

static void known_blob_and_tree_ids(void **state)
{
	conf_env *env = *state;
	gkv_tree *root = NULL, *sub = NULL, *empty = NULL;
	gkv_oid id, hello;
	gkv_buf buf = {0};
	gkv_otype type = GKV_OBJ_BAD;
	int exists = -1;

	assert_ok(gkv_hash(&id, GKV_OBJ_BLOB, "hello\n", 6));
	assert_oid_hex(&id, HELLO_BLOB);
	assert_ok(gkv_hash(&id, GKV_OBJ_BLOB, "a\0b", 3));
	assert_oid_hex(&id, "20b5be91886d0b6f26dc98a225c0dac05fe2c86e");
	assert_ok(gkv_tree_empty(&empty, env->repo));
	assert_ok(gkv_tree_id(&id, empty));
	assert_oid_hex(&id, EMPTY_TREE);
	gkv_tree_free(empty);

	assert_ok(gkv_oid_fromstr(&hello, HELLO_BLOB));
	assert_ok(gkv_repo_object_exists(&exists, env->repo, &hello));
	assert_int_equal(exists, 0);
	conf_set(env->store, "a", "hello\n");
	assert_ok(gkv_repo_object_exists(&exists, env->repo, &hello));
	assert_int_equal(exists, 1);
	assert_ok(gkv_repo_object_read(&buf, &type, env->repo, &hello));
	assert_int_equal(type, GKV_OBJ_BLOB);
	assert_int_equal(buf.size, 6);
	assert_memory_equal(buf.ptr, "hello\n", 6);
	gkv_buf_dispose(&buf);
	assert_null(buf.ptr);
	assert_ok(gkv_store_tree(&root, env->store));
	assert_ok(gkv_tree_id(&id, root));
	assert_oid_hex(&id, "0976950c1fdbcb52435a433913017bf044b3a58f");
	gkv_tree_free(root);

	/* git sorts a directory as "name/": a.b < a/ < a0 */
	conf_set(env->store, "a0", "z");
	conf_set(env->store, "a", "gone"); /* replaced by a directory below */
	conf_set(env->store, "a/c", "y");
	conf_set(env->store, "a.b", "x");
	assert_ok(gkv_store_tree(&root, env->store));
	assert_ok(gkv_tree_id(&id, root));
	assert_oid_hex(&id, "9a5c1ac9efcab0bc5ca9b57d3650f845269adab1");
	assert_ok(gkv_tree_subtree(&sub, root, "a"));
	assert_ok(gkv_tree_id(&id, sub));
	assert_oid_hex(&id, "1a19ac6c52cc998044926e61821168ffa449633e");
	gkv_tree_free(sub);
	gkv_tree_free(root);

	/* the empty value is git's empty blob */
	conf_set(env->store, "e", "");
	assert_ok(gkv_oid_fromstr(&id, EMPTY_BLOB));
	assert_ok(gkv_repo_object_exists(&exists, env->repo, &id));
	assert_int_equal(exists, 1);
}

static gkv_info *alice_bob_info(void)
{
	gkv_info *info = NULL;
	gkv_signature *author = NULL, *committer = NULL;

	assert_ok(gkv_info_new(&info, "first\n"));
	assert_ok(gkv_signature_new(&author, "Alice", "alice@example.com", 1234567890, 120));
	assert_ok(gkv_signature_new(&committer, "Bob", "bob@example.com", 1234567899, -330));
	assert_ok(gkv_info_set_author(info, author));
	assert_ok(gkv_info_set_committer(info, committer));
	gkv_signature_free(author);
	gkv_signature_free(committer);
	return info;
}

static void known_commit_id(void **state)
{
	conf_env *env = *state;
	gkv_info *info = alice_bob_info();
	gkv_signature *author = NULL, *committer = NULL;
	gkv_oid head, tree_id, again;
	gkv_buf buf = {0};
	gkv_otype type = GKV_OBJ_BAD;
	const char *expect = "tree 0976950c1fdbcb52435a433913017bf044b3a58f\n"
			     "author Alice <alice@example.com> 1234567890 +0200\n"
			     "committer Bob <bob@example.com> 1234567899 -0530\n"
			     "\n"
			     "first\n";

	assert_ok(gkv_store_set(&head, env->store, "a", "hello\n", 6, info));
	gkv_info_free(info);
	assert_oid_hex(&head, "c2cc0d0c30ec1df02d81e1fde8c2257dfdf02e73");
	assert_ok(gkv_repo_object_read(&buf, &type, env->repo, &head));
	assert_int_equal(type, GKV_OBJ_COMMIT);
	assert_int_equal(buf.size, strlen(expect));
	assert_memory_equal(buf.ptr, expect, buf.size);
	gkv_buf_dispose(&buf);

	/* gkv_commit_create makes the same object from the same parts */
	assert_ok(gkv_oid_fromstr(&tree_id, "0976950c1fdbcb52435a433913017bf044b3a58f"));
	assert_ok(gkv_signature_new(&author, "Alice", "alice@example.com", 1234567890, 120));
	assert_ok(gkv_signature_new(&committer, "Bob", "bob@example.com", 1234567899, -330));
	assert_ok(
	    gkv_commit_create(&again, env->repo, &tree_id, NULL, 0, author, committer, "first\n"));
	assert_oid_eq(&head, &again);
	gkv_signature_free(author);
	gkv_signature_free(committer);
}

static void bulk_commit_matches_benchmark(void **state)
{
	conf_env *env = *state;
	gkv_txn *txn = NULL;
	gkv_info *info = NULL;
	gkv_signature *sig = NULL;
	gkv_commit *c = NULL;
	gkv_oid head;
	char path[64], num[16], hex[65];

	assert_ok(gkv_txn_begin(&txn, env->store));
	for (int i = 0; i < 10000; i++) {
		int n = snprintf(num, sizeof(num), "%d", i);

		snprintf(path, sizeof(path), "d%02x/d%02x/k%d", i % 64, (i / 64) % 64, i);
		conf_sha256_hex(hex, num, (size_t)n);
		assert_ok(gkv_txn_set(txn, path, hex, 64));
	}
	assert_ok(gkv_info_new(&info, "bulk\n"));
	assert_ok(gkv_signature_new(&sig, "bench", "bench@example.com", 1700000000, 0));
	assert_ok(gkv_info_set_author(info, sig));
	assert_ok(gkv_info_set_committer(info, sig));
	assert_ok(gkv_txn_commit(&head, txn, GKV_TXN_FAIL, info));
	gkv_txn_free(txn);
	gkv_info_free(info);
	gkv_signature_free(sig);

	assert_oid_hex(&head, "0b65737b2c928793e5ad351fb18fbf048a1c494c");
	assert_ok(gkv_commit_lookup(&c, env->repo, &head));
	assert_oid_hex(gkv_commit_tree_id(c), "8f37028a240d3d231889e4f1e151f048b2a44ed3");
	assert_int_equal(gkv_commit_parentcount(c), 0);
	assert_string_equal(gkv_commit_message(c), "bulk\n");
	assert_string_equal(gkv_commit_summary(c), "bulk");
	gkv_commit_free(c);
	head = conf_branch_head(env->repo, "main");
	assert_oid_hex(&head, "0b65737b2c928793e5ad351fb18fbf048a1c494c");
	/* SHA-256("0") and a deep key read back */
	assert_value(env->store, "d00/d00/k0",
		     "5feceb66ffc86f38d952786c6d696c79c2dbc239dd4e91b46729d73a27fb57e9");
	snprintf(num, sizeof(num), "%d", 9999);
	conf_sha256_hex(hex, num, 4);
	assert_value(env->store, "d0f/d1c/k9999", hex);
	if (conf_persistent()) {
		conf_reopen(env);
		assert_value(env->store, "d0f/d1c/k9999", hex);
	}
}

static void check_roundtrip(gkv_repo *repo, const gkv_oid *id, gkv_otype want)
{
	gkv_buf buf = {0};
	gkv_otype type = GKV_OBJ_BAD;
	gkv_oid again;

	assert_ok(gkv_repo_object_read(&buf, &type, repo, id));
	assert_int_equal(type, want);
	assert_ok(gkv_hash(&again, type, buf.ptr, buf.size));
	assert_oid_eq(id, &again);
	gkv_buf_dispose(&buf);
}

static void object_read_round_trip(void **state)
{
	conf_env *env = *state;
	gkv_commit *c = NULL;
	gkv_oid head, missing, blob;
	gkv_buf buf = {0};
	gkv_otype type;
	int exists = -1;

	conf_set(env->store, "dir/one", "1");
	head = conf_set(env->store, "dir/two", "2");
	check_roundtrip(env->repo, &head, GKV_OBJ_COMMIT);
	assert_ok(gkv_commit_lookup(&c, env->repo, &head));
	check_roundtrip(env->repo, gkv_commit_tree_id(c), GKV_OBJ_TREE);
	check_roundtrip(env->repo, gkv_commit_parent_id(c, 0), GKV_OBJ_COMMIT);
	assert_null(gkv_commit_parent_id(c, 1));
	gkv_commit_free(c);
	assert_ok(gkv_hash(&blob, GKV_OBJ_BLOB, "2", 1));
	check_roundtrip(env->repo, &blob, GKV_OBJ_BLOB);

	assert_ok(gkv_oid_fromstr(&missing, "0123456789abcdef0123456789abcdef01234567"));
	assert_ok(gkv_repo_object_exists(&exists, env->repo, &missing));
	assert_int_equal(exists, 0);
	assert_rc(GKV_E_NOTFOUND, gkv_repo_object_read(&buf, &type, env->repo, &missing));
	assert_msg_has("0123456789abcdef0123456789abcdef01234567");
	assert_rc(GKV_E_NOTFOUND, gkv_commit_lookup(&c, env->repo, &missing));
	assert_rc(GKV_E_INVALID, gkv_commit_lookup(&c, env->repo, &blob));
}

static void commit_create_checks_references(void **state)
{
	conf_env *env = *state;
	gkv_tree *empty = NULL;
	gkv_oid tree_id, missing, out, head;

	head = conf_set(env->store, "k", "v");
	assert_ok(gkv_oid_fromstr(&missing, "0123456789abcdef0123456789abcdef01234567"));
	assert_rc(GKV_E_NOTFOUND,
		  gkv_commit_create(&out, env->repo, &missing, NULL, 0, NULL, NULL, "m\n"));
	assert_ok(gkv_tree_empty(&empty, env->repo));
	assert_ok(gkv_tree_write(&tree_id, empty));
	gkv_tree_free(empty);
	assert_oid_hex(&tree_id, EMPTY_TREE);
	assert_rc(GKV_E_NOTFOUND,
		  gkv_commit_create(&out, env->repo, &tree_id, &missing, 1, NULL, NULL, "m\n"));
	/* a good one, with the repo's default signature */
	assert_ok(gkv_commit_create(&out, env->repo, &tree_id, &head, 1, NULL, NULL, "m\n"));
	{
		gkv_commit *c = NULL;

		assert_ok(gkv_commit_lookup(&c, env->repo, &out));
		assert_string_equal(gkv_signature_name(gkv_commit_author(c)), "Conformance");
		assert_string_equal(gkv_signature_email(gkv_commit_committer(c)),
				    "conformance@example.com");
		assert_oid_eq(gkv_commit_parent_id(c, 0), &head);
		assert_oid_hex(gkv_commit_tree_id(c), EMPTY_TREE);
		gkv_commit_free(c);
	}
	/* commit_create moves no branch */
	out = conf_branch_head(env->repo, "main");
	assert_oid_eq(&out, &head);
}

static void resolve_specs(void **state)
{
	conf_env *env = *state;
	gkv_oid head, out, blob, tree_id, missing;
	gkv_commit *c = NULL;
	char hex[GKV_OID_HEXSZ + 1], spec[GKV_OID_HEXSZ + 1];
	int rc;

	head = conf_set(env->store, "k", "v");
	gkv_oid_fmt(hex, &head);
	assert_ok(gkv_repo_resolve(&out, env->repo, "main"));
	assert_oid_eq(&out, &head);
	assert_ok(gkv_repo_resolve(&out, env->repo, hex));
	assert_oid_eq(&out, &head);
	for (size_t len = 4; len <= 12; len += 4) {
		memset(spec, 0, sizeof(spec));
		memcpy(spec, hex, len);
		memset(&out, 0, sizeof(out));
		assert_ok(gkv_repo_resolve(&out, env->repo, spec));
		assert_oid_eq(&out, &head);
	}
	assert_rc(GKV_E_NOTFOUND,
		  gkv_repo_resolve(&out, env->repo, "0123456789abcdef0123456789abcdef01234567"));
	assert_rc(GKV_E_NOTFOUND, gkv_repo_resolve(&out, env->repo, "nosuchbranch"));
	assert_msg_has("nosuchbranch");
	rc = gkv_repo_resolve(&out, env->repo, "xyz");
	assert_true(rc == GKV_E_INVALID || rc == GKV_E_NOTFOUND);
	rc = gkv_repo_resolve(&out, env->repo, "");
	assert_true(rc == GKV_E_INVALID || rc == GKV_E_NOTFOUND);

	/* ids of objects that are not commits */
	assert_ok(gkv_hash(&blob, GKV_OBJ_BLOB, "v", 1));
	gkv_oid_fmt(hex, &blob);
	assert_rc(GKV_E_INVALID, gkv_repo_resolve(&out, env->repo, hex));
	assert_ok(gkv_commit_lookup(&c, env->repo, &head));
	tree_id = *gkv_commit_tree_id(c);
	gkv_commit_free(c);
	gkv_oid_fmt(hex, &tree_id);
	assert_rc(GKV_E_INVALID, gkv_repo_resolve(&out, env->repo, hex));
	(void)missing;
}

/* Find two commits whose ids share their first four hex digits, by
 * hashing candidate payloads offline, then store just those two. */
static void resolve_ambiguous_prefix(void **state)
{
	conf_env *env = *state;
	static const char fmt[] =
	    "tree " EMPTY_TREE "\n"
	    "author Conformance <conformance@example.com> 1700000000 +0000\n"
	    "committer Conformance <conformance@example.com> 1700000000 +0000\n"
	    "\n"
	    "m%d\n";
	int *seen = malloc(65536 * sizeof(int));
	int first = -1, second = -1;
	gkv_oid ids[2], made, out, tree_id;
	gkv_signature *sig = NULL;
	gkv_tree *empty = NULL;
	char payload[512], msg[32], hex[2][GKV_OID_HEXSZ + 1], spec[GKV_OID_HEXSZ + 1];
	size_t diff = 0;

	assert_non_null(seen);
	for (int i = 0; i < 65536; i++)
		seen[i] = -1;
	for (int n = 0; first < 0; n++) {
		int len = snprintf(payload, sizeof(payload), fmt, n);
		gkv_oid id;
		int key;

		assert_ok(gkv_hash(&id, GKV_OBJ_COMMIT, payload, (size_t)len));
		key = id.id[0] << 8 | id.id[1];
		if (seen[key] >= 0) {
			first = seen[key];
			second = n;
		}
		seen[key] = n;
	}
	free(seen);

	assert_ok(gkv_tree_empty(&empty, env->repo));
	assert_ok(gkv_tree_write(&tree_id, empty));
	gkv_tree_free(empty);
	assert_ok(gkv_signature_new(&sig, "Conformance", "conformance@example.com", 1700000000, 0));
	for (int k = 0; k < 2; k++) {
		int len;

		snprintf(msg, sizeof(msg), "m%d\n", k ? second : first);
		len = snprintf(payload, sizeof(payload), fmt, k ? second : first);
		assert_ok(gkv_hash(&ids[k], GKV_OBJ_COMMIT, payload, (size_t)len));
		assert_ok(gkv_commit_create(&made, env->repo, &tree_id, NULL, 0, sig, sig, msg));
		assert_oid_eq(&made, &ids[k]);
		gkv_oid_fmt(hex[k], &ids[k]);
	}
	gkv_signature_free(sig);
	while (hex[0][diff] == hex[1][diff])
		diff++;
	assert_true(diff >= 4);

	memset(spec, 0, sizeof(spec));
	memcpy(spec, hex[0], 4);
	assert_rc(GKV_E_AMBIGUOUS, gkv_repo_resolve(&out, env->repo, spec));
	assert_msg_has(spec);
	for (int k = 0; k < 2; k++) {
		memset(spec, 0, sizeof(spec));
		memcpy(spec, hex[k], diff + 1);
		assert_ok(gkv_repo_resolve(&out, env->repo, spec));
		assert_oid_eq(&out, &ids[k]);
	}
}

static void names_sort_as_unsigned_bytes(void **state)
{
	conf_env *env = *state;
	gkv_tree *root = NULL;
	gkv_list *list = NULL;
	gkv_oid id;

	/* 0xc3 sorts after 'z' when bytes are compared unsigned, as git does */
	conf_set(env->store, "\xc3\xa9", "y");
	conf_set(env->store, "z", "x");
	assert_ok(gkv_store_tree(&root, env->store));
	assert_ok(gkv_tree_id(&id, root));
	assert_oid_hex(&id, "e472ad9a5fd5591e9c9daef5a966a2ceebdacc14");
	gkv_tree_free(root);
	assert_ok(gkv_store_list(&list, env->store, ""));
	assert_int_equal(gkv_list_count(list), 2);
	assert_string_equal(gkv_list_name(list, 0), "z");
	assert_string_equal(gkv_list_name(list, 1), "\xc3\xa9");
	gkv_list_free(list);
}

static void zone_offsets_are_formatted_as_git_does(void **state)
{
	conf_env *env = *state;
	gkv_signature *author = NULL, *committer = NULL;
	gkv_tree *empty = NULL;
	gkv_commit *c = NULL;
	gkv_oid tree_id, id;

	assert_ok(gkv_tree_empty(&empty, env->repo));
	assert_ok(gkv_tree_write(&tree_id, empty));
	gkv_tree_free(empty);
	/* -0030 (negative, under an hour) and +1345 (Chatham) */
	assert_ok(gkv_signature_new(&author, "Tz", "tz@example.com", 1000000000, -30));
	assert_ok(gkv_signature_new(&committer, "Tz", "tz@example.com", 1000000000, 825));
	assert_ok(gkv_commit_create(&id, env->repo, &tree_id, NULL, 0, author, committer, "tz\n"));
	gkv_signature_free(author);
	gkv_signature_free(committer);
	assert_oid_hex(&id, "b49a805d83f255223337d32571289e574768d39a");
	assert_ok(gkv_commit_lookup(&c, env->repo, &id));
	assert_int_equal(gkv_signature_offset(gkv_commit_author(c)), -30);
	assert_int_equal(gkv_signature_offset(gkv_commit_committer(c)), 825);
	assert_int_equal(gkv_signature_time(gkv_commit_committer(c)), 1000000000);
	gkv_commit_free(c);
}

static void oid_helpers(void **state)
{
	gkv_oid a, b;
	char hex[GKV_OID_HEXSZ + 1];

	(void)state;
	assert_ok(gkv_oid_fromstr(&a, "CE013625030BA8DBA906F756967F9E9CA394464A"));
	gkv_oid_fmt(hex, &a);
	assert_string_equal(hex, HELLO_BLOB);
	assert_rc(GKV_E_INVALID, gkv_oid_fromstr(&b, "ce01"));
	assert_rc(GKV_E_INVALID, gkv_oid_fromstr(&b, "ce013625030ba8dba906f756967f9e9ca394464g"));
	assert_rc(GKV_E_INVALID, gkv_oid_fromstr(&b, "ce013625030ba8dba906f756967f9e9ca394464a0"));
	memset(&b, 0, sizeof(b));
	assert_true(gkv_oid_is_zero(&b));
	assert_false(gkv_oid_is_zero(&a));
	assert_false(gkv_oid_equal(&a, &b));
	assert_true(gkv_oid_cmp(&b, &a) < 0);
	assert_true(gkv_oid_cmp(&a, &b) > 0);
	b = a;
	assert_true(gkv_oid_equal(&a, &b));
	assert_int_equal(gkv_oid_cmp(&a, &b), 0);
}

static void objects_survive_reopen(void **state)
{
	conf_env *env = *state;
	gkv_tree *t = NULL, *t2 = NULL;
	gkv_oid id, big_id;
	unsigned char *big;
	size_t big_len = 3 << 20;
	gkv_buf buf = {0};
	gkv_otype type;

	if (!conf_persistent())
		skip();
	big = malloc(big_len);
	assert_non_null(big);
	for (size_t i = 0; i < big_len; i++)
		big[i] = (unsigned char)((i * 2654435761u) >> 13);
	assert_ok(gkv_tree_empty(&t, env->repo));
	assert_ok(gkv_tree_set(&t2, t, "x/y", big, big_len));
	assert_ok(gkv_tree_write(&id, t2));
	gkv_tree_free(t);
	gkv_tree_free(t2);
	assert_ok(gkv_hash(&big_id, GKV_OBJ_BLOB, big, big_len));
	conf_reopen(env);
	assert_ok(gkv_tree_lookup(&t, env->repo, &id));
	assert_ok(gkv_tree_get(&buf, t, "x/y"));
	assert_int_equal(buf.size, big_len);
	assert_memory_equal(buf.ptr, big, big_len);
	gkv_buf_dispose(&buf);
	gkv_tree_free(t);
	assert_ok(gkv_repo_object_read(&buf, &type, env->repo, &big_id));
	assert_int_equal(type, GKV_OBJ_BLOB);
	assert_int_equal(buf.size, big_len);
	gkv_buf_dispose(&buf);
	free(big);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    CONF_TEST(known_blob_and_tree_ids),
	    CONF_TEST(known_commit_id),
	    CONF_TEST(bulk_commit_matches_benchmark),
	    CONF_TEST(object_read_round_trip),
	    CONF_TEST(commit_create_checks_references),
	    CONF_TEST(resolve_specs),
	    CONF_TEST(resolve_ambiguous_prefix),
	    CONF_TEST(names_sort_as_unsigned_bytes),
	    CONF_TEST(zone_offsets_are_formatted_as_git_does),
	    CONF_TEST_DIR(oid_helpers),
	    CONF_TEST(objects_survive_reopen),
	};

	return CONF_MAIN(argc, argv, tests);
}
