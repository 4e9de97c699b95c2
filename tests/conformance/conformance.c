/*
 * conformance.c -- fixtures, assertions and small tools shared by every
 * conformance program (see conformance.h). Test code: clarity over speed,
 * except SHA-256, which the bulk test runs 10,000 times.
 */
#define _XOPEN_SOURCE 700
#include "conformance.h"

#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

const char *conf_backend = "mem";
int conf_mapped;

int conf_persistent(void)
{
	return strcmp(conf_backend, "mem") != 0;
}

void conf_uri(char *out, size_t size, const char *dir)
{
	if (strcmp(conf_backend, "mem") == 0)
		snprintf(out, size, "mem:");
	else
		snprintf(out, size, "%s:%s", conf_backend, dir);
}

int conf_open(gkv_repo **out, const char *uri, int create, int readonly)
{
	gkv_options *opts = NULL;
	int rc;

	*out = NULL;
	if ((rc = gkv_options_new(&opts)) < 0)
		return rc;
	if ((rc = gkv_options_set_create(opts, create)) < 0 ||
	    (rc = gkv_options_set_readonly(opts, readonly)) < 0 ||
	    (rc = gkv_options_set_author(opts, "Conformance", "conformance@example.com")) < 0)
		goto done;
	if (conf_mapped &&
	    (rc = gkv_options_set_durability(opts, GKV_DURABILITY_NOSYNC_MAPPED)) < 0)
		goto done;
	rc = gkv_repo_open(out, uri, opts);
done:
	gkv_options_free(opts);
	return rc;
}

static int make_env(conf_env **out)
{
	conf_env *env = calloc(1, sizeof(*env));

	if (!env)
		return -1;
	snprintf(env->dir, sizeof(env->dir), "/tmp/gkv-conf-XXXXXX");
	if (!mkdtemp(env->dir)) {
		free(env);
		return -1;
	}
	conf_uri(env->uri, sizeof(env->uri), env->dir);
	*out = env;
	return 0;
}

int conf_setup_dir(void **state)
{
	conf_env *env;

	if (make_env(&env) < 0)
		return -1;
	*state = env;
	return 0;
}

int conf_setup(void **state)
{
	conf_env *env;
	int rc;

	if (make_env(&env) < 0)
		return -1;
	*state = env;
	if ((rc = conf_open(&env->repo, env->uri, 1, 0)) < 0) {
		print_error("cannot open %s: %d %s\n", env->uri, rc, gkv_error_last());
		return -1;
	}
	if ((rc = gkv_store_open_branch(&env->store, env->repo, "main")) < 0) {
		print_error("cannot open branch main: %d %s\n", rc, gkv_error_last());
		return -1;
	}
	return 0;
}

int conf_teardown(void **state)
{
	conf_env *env = *state;

	if (!env)
		return 0;
	gkv_store_free(env->store);
	gkv_repo_free(env->repo);
	conf_rmrf(env->dir);
	free(env);
	*state = NULL;
	return 0;
}

void conf_reopen(conf_env *env)
{
	gkv_store_free(env->store);
	env->store = NULL;
	gkv_repo_free(env->repo);
	env->repo = NULL;
	assert_ok(conf_open(&env->repo, env->uri, 1, 0));
	assert_ok(gkv_store_open_branch(&env->store, env->repo, "main"));
}

void conf_child_init(void)
{
	static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS};

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

int conf_rmrf(const char *path)
{
	return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int conf_main(int argc, char **argv, const char *group, const struct CMUnitTest *tests,
	      size_t count)
{
	char name[512];

	if (argc < 2 || (strcmp(argv[1], "mem") && strcmp(argv[1], "lmdb") &&
			 strcmp(argv[1], "lmdb-mapped") && strcmp(argv[1], "git"))) {
		fprintf(stderr, "usage: %s mem|lmdb|lmdb-mapped|git [test-filter]\n", argv[0]);
		return 1;
	}
	/* lmdb-mapped: the lmdb backend, every repo opened with its writable map. */
	conf_mapped = strcmp(argv[1], "lmdb-mapped") == 0;
	conf_backend = conf_mapped ? "lmdb" : argv[1];
	if (argc > 2)
		cmocka_set_test_filter(argv[2]);
	snprintf(name, sizeof(name), "%s [%s]", group, argv[1]);
	return _cmocka_run_group_tests(name, tests, count, NULL, NULL);
}

/* ---------------------------------------------------------- assertions */

void conf_check_rc(int expected, int got, const char *expr, const char *file, int line)
{
	if (expected == got)
		return;
	print_error("%s returned %d (%s), expected %d (%s); last error: %s\n", expr, got,
		    gkv_strerror(got), expected, gkv_strerror(expected), gkv_error_last());
	_fail(file, line);
}

void conf_check_msg(const char *needle, const char *file, int line)
{
	const char *msg = gkv_error_last();

	if (msg && strstr(msg, needle))
		return;
	print_error("last error \"%s\" does not mention \"%s\"\n", msg ? msg : "(null)", needle);
	_fail(file, line);
}

void conf_check_oid_hex(const gkv_oid *id, const char *hex, const char *file, int line)
{
	char got[GKV_OID_HEXSZ + 1];

	gkv_oid_fmt(got, id);
	if (strcmp(got, hex) == 0)
		return;
	print_error("id %s, expected %s\n", got, hex);
	_fail(file, line);
}

void conf_check_oid_eq(const gkv_oid *a, const gkv_oid *b, const char *file, int line)
{
	char ha[GKV_OID_HEXSZ + 1], hb[GKV_OID_HEXSZ + 1];

	if (memcmp(a->id, b->id, GKV_OID_RAWSZ) == 0)
		return;
	gkv_oid_fmt(ha, a);
	gkv_oid_fmt(hb, b);
	print_error("ids differ: %s != %s\n", ha, hb);
	_fail(file, line);
}

static void check_buf(int rc, gkv_buf *buf, const char *path, const char *value, const char *file,
		      int line)
{
	size_t len = strlen(value);

	if (rc < 0) {
		print_error("reading '%s': %d %s\n", path, rc, gkv_error_last());
		_fail(file, line);
	}
	if (buf->size != len || (len && memcmp(buf->ptr, value, len))) {
		print_error("'%s' holds \"%.*s\" (%zu bytes), expected \"%s\"\n", path,
			    (int)(buf->size > 200 ? 200 : buf->size),
			    buf->ptr ? (char *)buf->ptr : "", buf->size, value);
		gkv_buf_dispose(buf);
		_fail(file, line);
	}
	gkv_buf_dispose(buf);
}

void conf_check_value(gkv_store *s, const char *path, const char *value, const char *file, int line)
{
	gkv_buf buf = {0};

	check_buf(gkv_store_get(&buf, s, path), &buf, path, value, file, line);
}

void conf_check_tree_value(gkv_tree *t, const char *path, const char *value, const char *file,
			   int line)
{
	gkv_buf buf = {0};

	check_buf(gkv_tree_get(&buf, t, path), &buf, path, value, file, line);
}

/* ---------------------------------------------------------- shortcuts */

gkv_oid conf_set(gkv_store *s, const char *path, const char *value)
{
	gkv_oid out;

	memset(&out, 0, sizeof(out));
	assert_ok(gkv_store_set(&out, s, path, value, strlen(value), NULL));
	return out;
}

gkv_oid conf_remove(gkv_store *s, const char *path)
{
	gkv_oid out;

	memset(&out, 0, sizeof(out));
	assert_ok(gkv_store_remove(&out, s, path, NULL));
	return out;
}

gkv_oid conf_head(gkv_store *s)
{
	gkv_oid out;

	memset(&out, 0, sizeof(out));
	assert_ok(gkv_store_head(&out, s));
	return out;
}

gkv_oid conf_branch_head(gkv_repo *repo, const char *branch)
{
	gkv_oid out;

	memset(&out, 0, sizeof(out));
	assert_ok(gkv_branch_head(&out, repo, branch));
	return out;
}

size_t conf_count_commits(gkv_repo *repo, const gkv_oid *head)
{
	gkv_revwalk *walk = NULL;
	gkv_oid id;
	size_t n = 0;
	int rc;

	assert_ok(gkv_revwalk_new(&walk, repo));
	assert_ok(gkv_revwalk_push(walk, head));
	while ((rc = gkv_revwalk_next(&id, walk)) == 0)
		n++;
	gkv_revwalk_free(walk);
	assert_rc(GKV_ITEROVER, rc);
	return n;
}

gkv_oid conf_parent(gkv_repo *repo, const gkv_oid *commit, size_t nparents)
{
	gkv_commit *c = NULL;
	gkv_oid out;

	memset(&out, 0, sizeof(out));
	assert_ok(gkv_commit_lookup(&c, repo, commit));
	assert_int_equal(gkv_commit_parentcount(c), nparents);
	if (nparents)
		out = *gkv_commit_parent_id(c, 0);
	gkv_commit_free(c);
	return out;
}

gkv_oid conf_commit(gkv_repo *repo, const gkv_oid *parents, size_t nparents, int64_t time,
		    const char *path, const char *value)
{
	gkv_signature *sig = NULL;
	gkv_tree *base = NULL, *next = NULL;
	gkv_commit *first = NULL;
	gkv_oid tree_id, out;

	if (nparents) {
		assert_ok(gkv_commit_lookup(&first, repo, &parents[0]));
		assert_ok(gkv_tree_lookup(&base, repo, gkv_commit_tree_id(first)));
		gkv_commit_free(first);
	} else {
		assert_ok(gkv_tree_empty(&base, repo));
	}
	assert_ok(gkv_tree_set(&next, base, path, value, strlen(value)));
	assert_ok(gkv_tree_write(&tree_id, next));
	assert_ok(gkv_signature_new(&sig, "Conformance", "conformance@example.com", time, 0));
	assert_ok(gkv_commit_create(&out, repo, &tree_id, parents, nparents, sig, sig, "commit\n"));
	gkv_signature_free(sig);
	gkv_tree_free(next);
	gkv_tree_free(base);
	return out;
}

gkv_info *conf_info(const char *message, int64_t time)
{
	gkv_info *info = NULL;
	gkv_signature *sig = NULL;

	assert_ok(gkv_info_new(&info, message));
	assert_ok(gkv_signature_new(&sig, "Conformance", "conformance@example.com", time, 0));
	assert_ok(gkv_info_set_author(info, sig));
	assert_ok(gkv_info_set_committer(info, sig));
	gkv_signature_free(sig);
	return info;
}

char *conf_state(gkv_repo *repo)
{
	gkv_strarray names = {0};
	char *out, hex[GKV_OID_HEXSZ + 1];
	size_t cap = 1, used = 0;
	gkv_oid head;

	assert_ok(gkv_branch_list(&names, repo));
	for (size_t i = 0; i < names.count; i++)
		cap += strlen(names.strings[i]) + GKV_OID_HEXSZ + 2;
	out = calloc(1, cap);
	assert_non_null(out);
	for (size_t i = 0; i < names.count; i++) {
		assert_ok(gkv_branch_head(&head, repo, names.strings[i]));
		gkv_oid_fmt(hex, &head);
		used += (size_t)snprintf(out + used, cap - used, "%s %s\n", names.strings[i], hex);
	}
	gkv_strarray_dispose(&names);
	return out;
}

/* ------------------------------------------------------------- SHA-256 */

static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static uint32_t ror(uint32_t x, int n)
{
	return (x >> n) | (x << (32 - n));
}

static void sha256_block(uint32_t h[8], const unsigned char *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, k;

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = k + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) +
			      sha256_k[i] + w[i];
		uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		k = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
	}
	h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += k;
}

void conf_sha256_hex(char out[65], const void *data, size_t len)
{
	uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
			 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	const unsigned char *p = data;
	unsigned char tail[128];
	size_t full = len / 64 * 64, rest = len - full, tail_len;
	uint64_t bits = (uint64_t)len * 8;

	for (size_t i = 0; i < full; i += 64)
		sha256_block(h, p + i);
	memset(tail, 0, sizeof(tail));
	memcpy(tail, p + full, rest);
	tail[rest] = 0x80;
	tail_len = rest + 9 <= 64 ? 64 : 128;
	for (int i = 0; i < 8; i++)
		tail[tail_len - 1 - i] = (unsigned char)(bits >> (8 * i));
	for (size_t i = 0; i < tail_len; i += 64)
		sha256_block(h, tail + i);
	for (int i = 0; i < 8; i++)
		snprintf(out + 8 * i, 9, "%08x", h[i]);
}
