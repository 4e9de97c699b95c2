/*
 * ident.c -- who moved a ref, for the log entry a sync writes beside each
 * ref move: GITKV_AUTHOR_NAME / GITKV_AUTHOR_EMAIL when set and usable,
 * else the store's user.name / user.email (on a git store, the
 * repository's own config), else "gitkv <gitkv@localhost>"; dated now.
 */
#include <stdlib.h>
#include <time.h>

#include "sync_int.h"
#include "util.h"

/* 1 if name <email> would make a signature. */
static int usable(const char *name, const char *email)
{
	gkv_signature *check = NULL;
	int ok = name && *name && email && gkv_signature_new(&check, name, email, 0, 0) == 0;

	gkv_signature_free(check);
	gkv_error_clear();
	return ok;
}

int gkv__sync_reflog(gkv_batch *batch, gkv_repo *repo, const char *ref, const char *message)
{
	gkv_backend *be = gkv_repo_backend(repo);
	gkv_backend_reflog_entry e;
	const char *name = getenv("GITKV_AUTHOR_NAME"), *email = getenv("GITKV_AUTHOR_EMAIL");
	gkv_buf n = {0}, m = {0};
	int rc;

	if (!be->batch_ref_log)
		return 0;
	if (!usable(name, email)) {
		name = "gitkv";
		email = "gitkv@localhost";
		if (gkv_config_get(&n, repo, "user.name") == 0 &&
		    gkv_config_get(&m, repo, "user.email") == 0 &&
		    usable((const char *)n.ptr, (const char *)m.ptr)) {
			name = (const char *)n.ptr;
			email = (const char *)m.ptr;
		}
		gkv_error_clear();
	}
	memset(&e, 0, sizeof(e));
	e.name = name;
	e.email = email;
	e.time = (int64_t)time(NULL);
	e.offset = 0;
	e.message = message;
	rc = be->batch_ref_log(batch, ref, &e);
	gkv_buf_dispose(&n);
	gkv_buf_dispose(&m);
	return rc;
}
