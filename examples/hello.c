/*
 * hello.c -- the smallest program embedding gitkv: open (or create) a
 * store, write a value in one commit, read it back, print the commit.
 *
 *   cc hello.c $(pkg-config --cflags --libs gitkv) -o hello
 *   ./hello lmdb:/tmp/hello-store
 */
#include <stdio.h>

#include <gitkv.h>

static int fail(const char *what)
{
	fprintf(stderr, "hello: %s: %s\n", what, gkv_error_last());
	return 1;
}

int main(int argc, char **argv)
{
	const char *uri = argc > 1 ? argv[1] : "mem:";
	gkv_options *opts = NULL;
	gkv_repo *repo = NULL;
	gkv_store *store = NULL;
	gkv_buf value = {NULL, 0};
	gkv_oid head;
	char hex[GKV_OID_HEXSZ + 1];
	int rc = 1;

	if (gkv_options_new(&opts) < 0 || gkv_options_set_create(opts, 1) < 0)
		return fail("options");
	if (gkv_repo_open(&repo, uri, opts) < 0) {
		rc = fail(uri);
		goto out;
	}
	if (gkv_store_open_branch(&store, repo, gkv_repo_default_branch(repo)) < 0 ||
	    gkv_store_set(&head, store, "greeting/en", "hello, world", 12, NULL) < 0 ||
	    gkv_store_get(&value, store, "greeting/en") < 0) {
		rc = fail("greeting/en");
		goto out;
	}
	gkv_oid_fmt(hex, &head);
	printf("%.*s (commit %s, gitkv %s)\n", (int)value.size, (char *)value.ptr, hex,
	    gkv_version_string());
	rc = 0;
out:
	gkv_buf_dispose(&value);
	gkv_store_free(store);
	gkv_repo_free(repo);
	gkv_options_free(opts);
	return rc;
}
