/*
 * ident.c -- who moved a ref, for the log entry a sync writes beside each
 * ref move: GITKV_AUTHOR_NAME / GITKV_AUTHOR_EMAIL when set and usable,
 * else "gitkv <gitkv@localhost>", dated now.
 */
#include <stdlib.h>
#include <time.h>

#include "sync_int.h"
#include "util.h"

int gkv__sync_reflog(gkv_batch *batch, gkv_repo *repo, const char *ref, const char *message)
{
	gkv_backend *be = gkv_repo_backend(repo);
	gkv_backend_reflog_entry e;
	gkv_signature *check = NULL;
	const char *name = getenv("GITKV_AUTHOR_NAME"), *email = getenv("GITKV_AUTHOR_EMAIL");

	if (!be->batch_ref_log)
		return 0;
	if (!name || !*name || !email || gkv_signature_new(&check, name, email, 0, 0) < 0) {
		gkv_error_clear();
		name = "gitkv";
		email = "gitkv@localhost";
	}
	gkv_signature_free(check);
	memset(&e, 0, sizeof(e));
	e.name = name;
	e.email = email;
	e.time = (int64_t)time(NULL);
	e.offset = 0;
	e.message = message;
	return be->batch_ref_log(batch, ref, &e);
}
