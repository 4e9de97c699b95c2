/*
 * identity.c -- the author of commits made without one: the options,
 * else GITKV_AUTHOR_NAME / GITKV_AUTHOR_EMAIL (read at open), else git's
 * user.name / user.email, else "gitkv <gitkv@localhost>".
 */
#include "libgit2.h"

#include "repo.h"

/* Read git's user.name / user.email, when git is configured. */
static void git_identity(char **name, char **email)
{
	git_config *cfg = NULL;
	git_buf b = {0};

	if (gkv__libgit2_init() < 0) {
		gkv_error_clear();
		return;
	}
	if (git_config_open_default(&cfg) < 0) {
		git_error_clear();
		return;
	}
	if (!*name && git_config_get_string_buf(&b, cfg, "user.name") == 0) {
		*name = gkv__strdup(b.ptr);
		git_buf_dispose(&b);
	}
	if (!*email && git_config_get_string_buf(&b, cfg, "user.email") == 0) {
		*email = gkv__strdup(b.ptr);
		git_buf_dispose(&b);
	}
	git_error_clear();
	git_config_free(cfg);
}

/*
 * The author of commits made without one: the options, else
 * GITKV_AUTHOR_NAME / GITKV_AUTHOR_EMAIL (read at open), else git's
 * user.name / user.email, else "gitkv <gitkv@localhost>". git's
 * configuration is read at the first commit that needs it, not at open:
 * reading it needs libgit2 started, which costs 20-50 ms here (Debian's
 * libgit2 parses every CA certificate), and a process that only reads
 * should not pay that.
 */
int gkv__repo_identity_init(gkv_repo *repo, const gkv_options *opts)
{
	const char *env;

	if (opts && opts->author_name &&
	    (!(repo->author_name = gkv__strdup(opts->author_name)) ||
		!(repo->author_email = gkv__strdup(opts->author_email))))
		return gkv__oom();
	if (!repo->author_name && (env = getenv("GITKV_AUTHOR_NAME")) && *env &&
	    !(repo->author_name = gkv__strdup(env)))
		return gkv__oom();
	if (!repo->author_email && (env = getenv("GITKV_AUTHOR_EMAIL")) && *env &&
	    !(repo->author_email = gkv__strdup(env)))
		return gkv__oom();
	return 0;
}

/* Complete the identity (once per repo): git's, the defaults, checked. */
static int identity_complete(gkv_repo *repo)
{
	char *name = repo->author_name, *email = repo->author_email;
	gkv_signature *check;

	if (!name || !email)
		git_identity(&name, &email);
	if (!name)
		name = gkv__strdup("gitkv");
	if (!email)
		email = gkv__strdup("gitkv@localhost");
	if (!name || !email) {
		repo->author_name = name;
		repo->author_email = email;
		return gkv__oom();
	}
	/* An unusable identity from the environment falls back to the default. */
	if (gkv_signature_new(&check, name, email, 0, 0) < 0) {
		free(name);
		free(email);
		name = gkv__strdup("gitkv");
		email = gkv__strdup("gitkv@localhost");
		gkv_error_clear();
	} else {
		gkv_signature_free(check);
	}
	repo->author_name = name;
	repo->author_email = email;
	return (name && email) ? 0 : gkv__oom();
}

int gkv__repo_identity(const char **name, const char **email, gkv_repo *repo)
{
	int rc = 0;

	pthread_mutex_lock(&repo->ident_lock);
	if (!repo->ident_ready && (rc = identity_complete(repo)) == 0)
		repo->ident_ready = 1;
	*name = repo->author_name;
	*email = repo->author_email;
	pthread_mutex_unlock(&repo->ident_lock);
	return rc;
}
