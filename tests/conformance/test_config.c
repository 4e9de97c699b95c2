/*
 * test_config.c -- a store's settings and its default branch, on every
 * backend: keys are git-config keys (section and name without case, the
 * subsection with it), values any line of text; listing is sorted and
 * filtered by prefix; bad keys and values are refused and change
 * nothing; settings and the default branch outlive the handle, are seen
 * by a read-only handle and by another process, and a read-only handle
 * changes neither.
 */
#include "conformance.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- helpers ---- */

/* The value of key, asserted to be set. */
static void check_value(gkv_repo *repo, const char *key, const char *want)
{
	gkv_buf v = {NULL, 0};

	assert_ok(gkv_config_get(&v, repo, key));
	assert_non_null(v.ptr);
	assert_int_equal(v.size, strlen(want));
	assert_string_equal((const char *)v.ptr, want);
	gkv_buf_dispose(&v);
}

static void check_unset(gkv_repo *repo, const char *key)
{
	gkv_buf v = {NULL, 0};

	assert_rc(GKV_E_NOTFOUND, gkv_config_get(&v, repo, key));
	assert_null(v.ptr);
	assert_int_equal(v.size, 0);
}

/* Every "key=value\n" under prefix, in the order listed. */
typedef struct {
	char text[8192];
	size_t calls;
	size_t stop_at; /* return 7 at this call (1-based); 0: never */
} listing;

static int list_cb(const char *key, const char *value, void *payload)
{
	listing *l = payload;
	size_t n = strlen(l->text);

	snprintf(l->text + n, sizeof(l->text) - n, "%s=%s\n", key, value);
	l->calls++;
	return l->calls == l->stop_at ? 7 : 0;
}

static const char *list_of(listing *l, gkv_repo *repo, const char *prefix)
{
	memset(l, 0, sizeof(*l));
	assert_ok(gkv_config_foreach(repo, prefix, list_cb, l));
	return l->text;
}

/* ---- settings ---- */

static void set_get_and_remove(void **state)
{
	conf_env *env = *state;

	check_unset(env->repo, "gkvtest.color");
	assert_ok(gkv_config_set(env->repo, "gkvtest.color", "blue"));
	check_value(env->repo, "gkvtest.color", "blue");
	/* section and name are without case: one key */
	check_value(env->repo, "GkvTest.COLOR", "blue");
	assert_ok(gkv_config_set(env->repo, "GKVTEST.Color", "red"));
	check_value(env->repo, "gkvtest.color", "red");
	/* removing, then removing what is absent */
	assert_ok(gkv_config_set(env->repo, "gkvtest.color", NULL));
	check_unset(env->repo, "gkvtest.color");
	assert_ok(gkv_config_set(env->repo, "gkvtest.color", NULL));
	check_unset(env->repo, "gkvtest.color");
	/* settings are not branches: no branch moved or appeared */
	{
		gkv_strarray names = {NULL, 0};

		assert_ok(gkv_branch_list(&names, env->repo));
		assert_int_equal(names.count, 0);
		gkv_strarray_dispose(&names);
	}
}

static void subsections_keep_their_case(void **state)
{
	conf_env *env = *state;
	listing l;

	assert_ok(gkv_config_set(env->repo, "remote.Origin.url", "https://a.example/x"));
	assert_ok(gkv_config_set(env->repo, "Remote.origin.URL", "https://b.example/y"));
	assert_ok(gkv_config_set(env->repo, "remote.with.dots.in.it.url", "u3"));
	check_value(env->repo, "remote.Origin.url", "https://a.example/x");
	check_value(env->repo, "remote.origin.url", "https://b.example/y");
	check_value(env->repo, "remote.with.dots.in.it.url", "u3");
	check_unset(env->repo, "remote.ORIGIN.url");
	/* keys come back with section and name lower-cased, sorted by bytes */
	assert_string_equal(list_of(&l, env->repo, "remote."),
	    "remote.Origin.url=https://a.example/x\n"
	    "remote.origin.url=https://b.example/y\n"
	    "remote.with.dots.in.it.url=u3\n");
	/* the prefix's section is without case too */
	assert_string_equal(list_of(&l, env->repo, "REMOTE.origin."),
	    "remote.origin.url=https://b.example/y\n");
}

static void listing_is_sorted_filtered_and_stoppable(void **state)
{
	conf_env *env = *state;
	const char *keys[] = {"gkvtest.zeta", "gkvtest.alpha", "gkvtest.sub.mid", "gkvtestx.other",
	    "gkvtest.beta"};
	listing l;
	int rc;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		assert_ok(gkv_config_set(env->repo, keys[i], keys[i] + 8));
	assert_string_equal(list_of(&l, env->repo, "gkvtest."),
	    "gkvtest.alpha=alpha\ngkvtest.beta=beta\ngkvtest.sub.mid=sub.mid\n"
	    "gkvtest.zeta=zeta\n");
	assert_string_equal(list_of(&l, env->repo, "gkvtest"),
	    "gkvtest.alpha=alpha\ngkvtest.beta=beta\ngkvtest.sub.mid=sub.mid\n"
	    "gkvtest.zeta=zeta\ngkvtestx.other=.other\n");
	assert_string_equal(list_of(&l, env->repo, "nothing.here."), "");
	/* "" lists every key (a git store's own core.* as well), sorted */
	list_of(&l, env->repo, "");
	assert_non_null(strstr(l.text, "gkvtest.alpha=alpha\ngkvtest.beta=beta\n"));
	{
		char *prev = NULL, *line = l.text;

		while (*line) {
			char *end = strchr(line, '\n');

			*end = '\0';
			*strchr(line, '=') = '\0'; /* the key */
			if (prev)
				assert_true(strcmp(prev, line) <= 0);
			prev = line;
			line = end + 1;
		}
	}
	/* a non-zero return stops the listing and is returned */
	memset(&l, 0, sizeof(l));
	l.stop_at = 2;
	rc = gkv_config_foreach(env->repo, "gkvtest.", list_cb, &l);
	assert_int_equal(rc, 7);
	assert_int_equal(l.calls, 2);
	assert_string_equal(l.text, "gkvtest.alpha=alpha\ngkvtest.beta=beta\n");
}

static void values_keep_every_character_but_newline(void **state)
{
	conf_env *env = *state;
	const char *values[] = {"", "  leading and trailing  ", "a # not a comment ; nor this",
	    "quote \" and backslash \\ and tab \t end", "=equals=", "ünïcödé", "[section]"};
	char key[64];

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		snprintf(key, sizeof(key), "gkvtest.v%zu", i);
		assert_ok(gkv_config_set(env->repo, key, values[i]));
	}
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		snprintf(key, sizeof(key), "gkvtest.v%zu", i);
		check_value(env->repo, key, values[i]);
	}
	if (conf_persistent()) {
		conf_reopen(env);
		for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
			snprintf(key, sizeof(key), "gkvtest.v%zu", i);
			check_value(env->repo, key, values[i]);
		}
	}
}

static void bad_keys_and_values_are_refused_and_change_nothing(void **state)
{
	conf_env *env = *state;
	static const char *bad[] = {
	    "",		      "nodot",	       ".name",	       "section.",	 "sec tion.name",
	    "section.1name",  "section..name", "sec_tion.name", "section.na_me", "a.b\nc.d",
	    "section.na.me.", "séction.name",  "section.-name", "section.name ", "..",
	};
	gkv_buf v = {NULL, 0};
	listing before, after;

	assert_ok(gkv_config_set(env->repo, "gkvtest.kept", "yes"));
	list_of(&before, env->repo, "");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_rc(GKV_E_INVALID, gkv_config_set(env->repo, bad[i], "x"));
		assert_msg_has("invalid config key");
		assert_rc(GKV_E_INVALID, gkv_config_set(env->repo, bad[i], NULL));
		assert_rc(GKV_E_INVALID, gkv_config_get(&v, env->repo, bad[i]));
		assert_null(v.ptr);
	}
	/* a value is one line */
	assert_rc(GKV_E_INVALID, gkv_config_set(env->repo, "gkvtest.kept", "two\nlines"));
	assert_msg_has("newline");
	assert_rc(GKV_E_INVALID, gkv_config_set(env->repo, "gkvtest.new", "x\n"));
	/* NULL arguments */
	assert_rc(GKV_E_INVALID, gkv_config_set(NULL, "gkvtest.kept", "x"));
	assert_rc(GKV_E_INVALID, gkv_config_set(env->repo, NULL, "x"));
	assert_rc(GKV_E_INVALID, gkv_config_get(NULL, env->repo, "gkvtest.kept"));
	assert_rc(GKV_E_INVALID, gkv_config_get(&v, NULL, "gkvtest.kept"));
	assert_rc(GKV_E_INVALID, gkv_config_get(&v, env->repo, NULL));
	assert_rc(GKV_E_INVALID, gkv_config_foreach(NULL, "", list_cb, &after));
	assert_rc(GKV_E_INVALID, gkv_config_foreach(env->repo, NULL, list_cb, &after));
	assert_rc(GKV_E_INVALID, gkv_config_foreach(env->repo, "", NULL, &after));
	/* nothing changed */
	list_of(&after, env->repo, "");
	assert_string_equal(before.text, after.text);
	check_value(env->repo, "gkvtest.kept", "yes");
}

static void settings_persist_and_a_reader_sees_them(void **state)
{
	conf_env *env = *state;
	gkv_repo *ro = NULL;
	listing l;

	if (!conf_persistent())
		skip();
	assert_ok(gkv_config_set(env->repo, "gkvtest.kept", "1"));
	assert_ok(gkv_config_set(env->repo, "gkvtest.gone", "2"));
	assert_ok(gkv_config_set(env->repo, "gkvtest.gone", NULL));
	conf_reopen(env);
	check_value(env->repo, "gkvtest.kept", "1");
	check_unset(env->repo, "gkvtest.gone");
	/* a read-only handle reads them, and may "set" only what is so */
	assert_ok(conf_open(&ro, env->uri, 0, 1));
	check_value(ro, "gkvtest.kept", "1");
	assert_string_equal(list_of(&l, ro, "gkvtest."), "gkvtest.kept=1\n");
	assert_ok(gkv_config_set(ro, "gkvtest.kept", "1"));
	assert_ok(gkv_config_set(ro, "gkvtest.gone", NULL));
	assert_rc(GKV_E_READONLY, gkv_config_set(ro, "gkvtest.kept", "2"));
	assert_rc(GKV_E_READONLY, gkv_config_set(ro, "gkvtest.kept", NULL));
	assert_rc(GKV_E_READONLY, gkv_config_set(ro, "gkvtest.gone", "3"));
	gkv_repo_free(ro);
	check_value(env->repo, "gkvtest.kept", "1");
	check_unset(env->repo, "gkvtest.gone");
}

/*
 * A handle opened before another process wrote the first setting of a
 * store sees it: on lmdb the settings' database does not exist until
 * then, and is found when first needed.
 */
static void another_process_writes_and_this_one_reads(void **state)
{
	conf_env *env = *state;
	gkv_repo *ro = NULL;
	listing l;
	pid_t pid;
	int status;

	if (!conf_persistent())
		skip();
	assert_ok(conf_open(&ro, env->uri, 0, 1));
	check_unset(ro, "gkvtest.fromchild");
	check_unset(env->repo, "gkvtest.fromchild");
	assert_string_equal(list_of(&l, ro, "gkvtest."), "");
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		gkv_repo *child = NULL;

		conf_child_init();
		if (conf_open(&child, env->uri, 0, 0) < 0 ||
		    gkv_config_set(child, "gkvtest.fromchild", "hello") < 0)
			_exit(1);
		gkv_repo_free(child);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	check_value(ro, "gkvtest.fromchild", "hello");
	check_value(env->repo, "gkvtest.fromchild", "hello");
	assert_string_equal(list_of(&l, ro, "gkvtest."), "gkvtest.fromchild=hello\n");
	/* and this process writes on top of what the other one made */
	assert_ok(gkv_config_set(env->repo, "gkvtest.fromparent", "too"));
	assert_string_equal(list_of(&l, ro, "gkvtest."),
	    "gkvtest.fromchild=hello\ngkvtest.fromparent=too\n");
	gkv_repo_free(ro);
}

/* Many threads setting their own keys at once lose none. */
typedef struct {
	gkv_repo *repo;
	int id;
	int rc;
} setter;

static void *set_many(void *arg)
{
	setter *s = arg;
	char key[64], val[64];

	for (int i = 0; i < 20 && s->rc == 0; i++) {
		snprintf(key, sizeof(key), "gkvtest.t%d.k%d", s->id, i);
		snprintf(val, sizeof(val), "%d/%d", s->id, i);
		s->rc = gkv_config_set(s->repo, key, val);
	}
	return NULL;
}

static void concurrent_setters_lose_nothing(void **state)
{
	conf_env *env = *state;
	pthread_t th[4];
	setter s[4];
	listing l;

	for (int i = 0; i < 4; i++) {
		s[i] = (setter){env->repo, i, 0};
		assert_int_equal(pthread_create(&th[i], NULL, set_many, &s[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_ok(s[i].rc);
	}
	list_of(&l, env->repo, "gkvtest.t");
	assert_int_equal(l.calls, 80);
	check_value(env->repo, "gkvtest.t3.k19", "3/19");
}

/* ---- the default branch ---- */

static void default_branch_is_set_validated_and_kept(void **state)
{
	conf_env *env = *state;
	const char *before = gkv_repo_default_branch(env->repo);
	static const char *bad[] = {"", "HEAD", "-x", "a..b", "a b", "x.lock", "a/", "@"};
	gkv_repo *ro = NULL;

	assert_string_equal(before, "main");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_rc(GKV_E_INVALID, gkv_repo_set_default_branch(env->repo, bad[i]));
		assert_msg_has("invalid branch name");
	}
	assert_rc(GKV_E_INVALID, gkv_repo_set_default_branch(env->repo, NULL));
	assert_rc(GKV_E_INVALID, gkv_repo_set_default_branch(NULL, "trunk"));
	assert_string_equal(gkv_repo_default_branch(env->repo), "main");
	/* the branch need not exist */
	assert_ok(gkv_repo_set_default_branch(env->repo, "trunk"));
	assert_string_equal(gkv_repo_default_branch(env->repo), "trunk");
	/* what was returned before stays readable (it lives as the repo) */
	assert_string_equal(before, "main");
	assert_ok(gkv_repo_set_default_branch(env->repo, "dev/next"));
	assert_string_equal(gkv_repo_default_branch(env->repo), "dev/next");
	if (!conf_persistent())
		return;
	conf_reopen(env);
	assert_string_equal(gkv_repo_default_branch(env->repo), "dev/next");
	/* a read-only handle: setting what it is succeeds, anything else not */
	assert_ok(conf_open(&ro, env->uri, 0, 1));
	assert_string_equal(gkv_repo_default_branch(ro), "dev/next");
	assert_ok(gkv_repo_set_default_branch(ro, "dev/next"));
	assert_rc(GKV_E_READONLY, gkv_repo_set_default_branch(ro, "main"));
	assert_string_equal(gkv_repo_default_branch(ro), "dev/next");
	gkv_repo_free(ro);
	conf_reopen(env);
	assert_string_equal(gkv_repo_default_branch(env->repo), "dev/next");
}

/* Writing to the default branch after a change works as on any branch,
 * and the old default's data is untouched. */
static void new_default_branch_is_a_branch_like_others(void **state)
{
	conf_env *env = *state;
	gkv_store *s = NULL;

	conf_set(env->store, "a", "on main");
	assert_ok(gkv_repo_set_default_branch(env->repo, "trunk"));
	assert_ok(gkv_store_open_branch(&s, env->repo, gkv_repo_default_branch(env->repo)));
	conf_set(s, "a", "on trunk");
	assert_value(s, "a", "on trunk");
	assert_value(env->store, "a", "on main");
	gkv_store_free(s);
	if (conf_persistent()) {
		conf_reopen(env);
		assert_ok(gkv_store_open_branch(&s, env->repo, gkv_repo_default_branch(env->repo)));
		assert_value(s, "a", "on trunk");
		gkv_store_free(s);
	}
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    CONF_TEST(set_get_and_remove),
	    CONF_TEST(subsections_keep_their_case),
	    CONF_TEST(listing_is_sorted_filtered_and_stoppable),
	    CONF_TEST(values_keep_every_character_but_newline),
	    CONF_TEST(bad_keys_and_values_are_refused_and_change_nothing),
	    CONF_TEST(settings_persist_and_a_reader_sees_them),
	    CONF_TEST(another_process_writes_and_this_one_reads),
	    CONF_TEST(concurrent_setters_lose_nothing),
	    CONF_TEST(default_branch_is_set_validated_and_kept),
	    CONF_TEST(new_default_branch_is_a_branch_like_others),
	};

	return CONF_MAIN(argc, argv, tests);
}
