/*
 * test_refs.c -- refs by their full names, on every backend: branches,
 * remote-tracking refs and tags read and listed as git names them,
 * listing sorted and filtered by prefix, names git would refuse refused.
 * Refs other than branches are made through the seam, as sync makes
 * remote-tracking refs.
 */
#include "conformance.h"

#include "gitkv/sys/backend.h"

/* Set ref name to id through the backend (it must not exist). */
static void make_ref(gkv_repo *repo, const char *name, const gkv_oid *id)
{
	gkv_backend *b = gkv_repo_backend(repo);

	assert_non_null(b);
	assert_ok(b->ref_cas(b, name, NULL, id));
}

static char *joined(const gkv_strarray *a)
{
	static char buf[4096];

	buf[0] = '\0';
	for (size_t i = 0; i < a->count; i++) {
		strncat(buf, a->strings[i], sizeof(buf) - strlen(buf) - 2);
		strcat(buf, "\n");
	}
	return buf;
}

static const char *list(gkv_repo *repo, const char *prefix)
{
	gkv_strarray a = {NULL, 0};
	const char *s;

	assert_ok(gkv_ref_list(&a, repo, prefix));
	s = joined(&a);
	gkv_strarray_dispose(&a);
	return s;
}

static void refs_are_read_and_listed_by_full_name(void **state)
{
	conf_env *env = *state;
	gkv_oid h1, h2, got;
	gkv_store *dev = NULL;

	h1 = conf_set(env->store, "a", "1");
	assert_ok(gkv_branch_create(env->repo, "dev", &h1));
	assert_ok(gkv_store_open_branch(&dev, env->repo, "dev"));
	h2 = conf_set(dev, "a", "2");
	gkv_store_free(dev);
	make_ref(env->repo, "refs/remotes/origin/main", &h1);
	make_ref(env->repo, "refs/remotes/origin/dev", &h2);
	make_ref(env->repo, "refs/remotes/upstream/main", &h2);
	make_ref(env->repo, "refs/tags/v1", &h1);

	assert_ok(gkv_ref_read(&got, env->repo, "refs/heads/main"));
	assert_oid_eq(&got, &h1);
	assert_ok(gkv_ref_read(&got, env->repo, "refs/heads/dev"));
	assert_oid_eq(&got, &h2);
	assert_ok(gkv_ref_read(&got, env->repo, "refs/remotes/origin/dev"));
	assert_oid_eq(&got, &h2);
	assert_ok(gkv_ref_read(&got, env->repo, "refs/tags/v1"));
	assert_oid_eq(&got, &h1);

	assert_string_equal(list(env->repo, ""),
	    "refs/heads/dev\nrefs/heads/main\nrefs/remotes/origin/dev\n"
	    "refs/remotes/origin/main\nrefs/remotes/upstream/main\nrefs/tags/v1\n");
	assert_string_equal(list(env->repo, "refs/remotes/"),
	    "refs/remotes/origin/dev\nrefs/remotes/origin/main\nrefs/remotes/upstream/main\n");
	assert_string_equal(list(env->repo, "refs/remotes/origin/"),
	    "refs/remotes/origin/dev\nrefs/remotes/origin/main\n");
	assert_string_equal(list(env->repo, "refs/heads/"), "refs/heads/dev\nrefs/heads/main\n");
	assert_string_equal(list(env->repo, "refs/heads/d"), "refs/heads/dev\n");
	assert_string_equal(list(env->repo, "refs/nothing/"), "");
	/* branches are still only the refs under refs/heads/ */
	{
		gkv_strarray br = {NULL, 0};

		assert_ok(gkv_branch_list(&br, env->repo));
		assert_string_equal(joined(&br), "dev\nmain\n");
		gkv_strarray_dispose(&br);
	}
}

static void absent_and_bad_names(void **state)
{
	conf_env *env = *state;
	static const char *bad[] = {
	    "main",	   "HEAD",	      "refs",		"refs/",	"refs/heads/",
	    "refs//x",	   "refs/heads/a..b", "refs/heads/x.lock", "refs/heads/a b", "refs/heads/.x",
	    "refs/heads/a~1", "refs/heads/a:b", "refs/heads/a@{1}", "refs/heads/x.",  "/refs/heads/x",
	};
	gkv_strarray a = {NULL, 0};
	gkv_oid got;

	conf_set(env->store, "a", "1");
	assert_rc(GKV_E_NOTFOUND, gkv_ref_read(&got, env->repo, "refs/heads/absent"));
	assert_msg_has("refs/heads/absent");
	assert_rc(GKV_E_NOTFOUND, gkv_ref_read(&got, env->repo, "refs/remotes/origin/main"));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_rc(GKV_E_INVALID, gkv_ref_read(&got, env->repo, bad[i]));
		assert_msg_has("invalid ref name");
	}
	assert_rc(GKV_E_INVALID, gkv_ref_read(NULL, env->repo, "refs/heads/main"));
	assert_rc(GKV_E_INVALID, gkv_ref_read(&got, NULL, "refs/heads/main"));
	assert_rc(GKV_E_INVALID, gkv_ref_read(&got, env->repo, NULL));
	assert_rc(GKV_E_INVALID, gkv_ref_list(NULL, env->repo, ""));
	assert_rc(GKV_E_INVALID, gkv_ref_list(&a, NULL, ""));
	assert_rc(GKV_E_INVALID, gkv_ref_list(&a, env->repo, NULL));
	assert_null(a.strings);
	assert_int_equal(a.count, 0);
	assert_string_equal(list(env->repo, ""), "refs/heads/main\n");
}

static void refs_persist(void **state)
{
	conf_env *env = *state;
	gkv_oid h1, got;

	if (!conf_persistent())
		skip();
	h1 = conf_set(env->store, "a", "1");
	make_ref(env->repo, "refs/remotes/origin/main", &h1);
	conf_reopen(env);
	assert_ok(gkv_ref_read(&got, env->repo, "refs/remotes/origin/main"));
	assert_oid_eq(&got, &h1);
	assert_string_equal(list(env->repo, "refs/remotes/"), "refs/remotes/origin/main\n");
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    CONF_TEST(refs_are_read_and_listed_by_full_name),
	    CONF_TEST(absent_and_bad_names),
	    CONF_TEST(refs_persist),
	};

	return CONF_MAIN(argc, argv, tests);
}
