/*
 * sync_util.c -- the helpers of sync_util.h.
 */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "sync_util.h"

char su_dir[256];

void su_setup(void)
{
	snprintf(su_dir, sizeof(su_dir), "/tmp/gkv-sync-XXXXXX");
	assert_non_null(mkdtemp(su_dir));
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void su_cleanup(void)
{
	if (su_dir[0])
		nftw(su_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	su_dir[0] = '\0';
}

void su_path(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", su_dir, name);
}

void su_uri(char *out, size_t cap, const char *kind, const char *name)
{
	if (strcmp(kind, "mem") == 0)
		snprintf(out, cap, "mem:");
	else
		snprintf(out, cap, "%s:%s/%s", kind, su_dir, name);
}

gkv_repo *su_open(const char *kind, const char *name)
{
	gkv_options *o = NULL;
	gkv_repo *repo = NULL;
	char uri[512];

	su_uri(uri, sizeof(uri), kind, name);
	assert_ok(gkv_options_new(&o));
	assert_ok(gkv_options_set_create(o, 1));
	assert_ok(gkv_options_set_author(o, "Sync Test", "sync@example.com"));
	assert_ok(gkv_repo_open(&repo, uri, o));
	gkv_options_free(o);
	return repo;
}

gkv_oid su_set(gkv_repo *repo, const char *branch, const char *path, const char *value)
{
	gkv_store *s = NULL;
	gkv_oid head;

	assert_ok(gkv_store_open_branch(&s, repo, branch));
	assert_ok(gkv_store_set(&head, s, path, value, strlen(value), NULL));
	gkv_store_free(s);
	return head;
}

void su_check_value(gkv_repo *repo, const char *branch, const char *path, const char *value)
{
	gkv_store *s = NULL;
	gkv_buf b = {0};

	assert_ok(gkv_store_open_branch(&s, repo, branch));
	assert_ok(gkv_store_get(&b, s, path));
	assert_int_equal(b.size, strlen(value));
	assert_memory_equal(b.ptr, value, b.size);
	gkv_buf_dispose(&b);
	gkv_store_free(s);
}

gkv_oid su_ref(gkv_repo *repo, const char *ref)
{
	gkv_backend *be = gkv_repo_backend(repo);
	gkv_oid id;

	assert_ok(be->ref_read(&id, be, ref));
	return id;
}

int su_has_ref(gkv_repo *repo, const char *ref)
{
	gkv_backend *be = gkv_repo_backend(repo);
	gkv_oid id;
	int rc = be->ref_read(&id, be, ref);

	assert_true(rc == 0 || rc == GKV_E_NOTFOUND);
	return rc == 0;
}

typedef struct {
	char *text;
	size_t len, cap;
} text;

static void text_add(text *t, const char *s)
{
	size_t n = strlen(s);
	if (t->len + n + 1 > t->cap) {
		t->cap = (t->len + n + 1) * 2;
		t->text = realloc(t->text, t->cap);
		assert_non_null(t->text);
	}
	memcpy(t->text + t->len, s, n + 1);
	t->len += n;
}

static int ref_line(const char *name, const gkv_oid *target, void *payload)
{
	char hex[GKV_OID_HEXSZ + 1];
	gkv_oid_fmt(hex, target);
	text_add(payload, name);
	text_add(payload, " ");
	text_add(payload, hex);
	text_add(payload, "\n");
	return 0;
}

static int count_one(const gkv_oid *id, void *payload)
{
	(void)id;
	(*(uint64_t *)payload)++;
	return 0;
}

uint64_t su_objects(gkv_repo *repo)
{
	gkv_backend *be = gkv_repo_backend(repo);
	uint64_t n = 0;

	assert_ok(be->foreach(be, NULL, 0, count_one, &n));
	return n;
}

char *su_state(gkv_repo *repo)
{
	gkv_backend *be = gkv_repo_backend(repo);
	text t = {0};
	char line[64];

	text_add(&t, "");
	assert_ok(be->ref_list(be, "", ref_line, &t));
	snprintf(line, sizeof(line), "objects %llu\n", (unsigned long long)su_objects(repo));
	text_add(&t, line);
	return t.text;
}

int su_sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int n, st;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(cmd));
	st = system(cmd);
	return st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

void su_sh_line(char *out, size_t cap, const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	FILE *p;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(cmd));
	assert_non_null(p = popen(cmd, "r"));
	out[0] = '\0';
	if (fgets(out, (int)cap, p))
		out[strcspn(out, "\n")] = '\0';
	pclose(p);
}

void su_git_fsck(const char *name)
{
	assert_int_equal(su_sh("git -C '%s/%s' fsck --strict --no-progress >/dev/null 2>&1",
	    su_dir, name), 0);
}

void su_check_rc(int expected, int got, const char *expr, const char *file, int line)
{
	if (expected != got) {
		print_error("%s:%d: %s returned %d, expected %d (%s)\n", file, line, expr, got,
		    expected, gkv_error_last());
		_fail(file, line);
	}
}
