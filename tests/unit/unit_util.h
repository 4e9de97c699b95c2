/*
 * unit_util.h -- helpers shared by the unit tests of the store core
 * (test_tree.c, test_store.c, ...): assertions that print the library's
 * last error, temporary directories, raw object writes through the
 * backend's batch API, a forwarding backend that counts reads and can run
 * a hook before a batch commits, and a shell runner for comparing with
 * the git CLI.
 *
 * Everything here is static inline so that each test program takes only
 * what it uses. Include after <cmocka.h>.
 */
#ifndef GKV_UNIT_UTIL_H
#define GKV_UNIT_UTIL_H

#include <ftw.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gitkv.h"
#include "gitkv/sys/backend.h"

/* ---------------------------------------------------------- assertions */

static inline void uu_check_rc(int expected, int got, const char *expr, const char *file, int line)
{
	if (got != expected)
		fail_msg("%s:%d: %s returned %d, expected %d (%s)", file, line, expr, got, expected,
		    gkv_error_last());
}
#define assert_ok(expr) uu_check_rc(0, (expr), #expr, __FILE__, __LINE__)
#define assert_rc(code, expr) uu_check_rc((code), (expr), #expr, __FILE__, __LINE__)

/* The buffer holds exactly the NUL-terminated string s (without its NUL). */
#define assert_buf_str(buf, s)                                                          \
	do {                                                                            \
		const char *s_ = (s);                                                   \
		assert_int_equal((buf).size, strlen(s_));                               \
		if ((buf).size)                                                         \
			assert_memory_equal((buf).ptr, s_, (buf).size);                 \
	} while (0)

#define assert_oid_equal(a, b) assert_true(gkv_oid_equal((a), (b)))
#define assert_oid_not_equal(a, b) assert_false(gkv_oid_equal((a), (b)))

/* ------------------------------------------------------- temporary dirs */

static inline int uu_rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* A fresh directory /tmp/gkv-<tag>-XXXXXX; free with uu_tmpdir_remove. */
static inline char *uu_tmpdir(const char *tag)
{
	char *dir = malloc(128);

	if (!dir)
		abort(); /* (tells the compiler too: never NULL below) */
	snprintf(dir, 128, "/tmp/gkv-%s-XXXXXX", tag);
	assert_non_null(mkdtemp(dir));
	return dir;
}

static inline void uu_tmpdir_remove(char *dir)
{
	if (!dir)
		return;
	nftw(dir, uu_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

/* A test program's own directory (uu_root_make in its group setup,
 * uu_root_remove in its teardown) and a fresh path under it each call. */
static char *uu_root __attribute__((unused));
static int uu_paths __attribute__((unused));

static inline int uu_root_make(const char *tag)
{
	uu_root = uu_tmpdir(tag);
	return 0;
}

static inline int uu_root_remove(void)
{
	uu_tmpdir_remove(uu_root);
	uu_root = NULL;
	return 0;
}

static inline const char *uu_new_path(char *buf, size_t size)
{
	snprintf(buf, size, "%s/env%d", uu_root, uu_paths++);
	return buf;
}

/* ---------------------------------------------------------------- repos */

static inline gkv_repo *uu_open_mem(void)
{
	gkv_repo *repo;

	assert_ok(gkv_repo_open(&repo, "mem:", NULL));
	return repo;
}

/* Open (creating it) an LMDB store in dir; nosync, durability is not under test. */
static inline gkv_repo *uu_open_lmdb(const char *dir, int readonly)
{
	gkv_options *opts;
	gkv_repo *repo;
	char uri[256];

	snprintf(uri, sizeof(uri), "lmdb:%s", dir);
	assert_ok(gkv_options_new(&opts));
	assert_ok(gkv_options_set_create(opts, !readonly));
	assert_ok(gkv_options_set_readonly(opts, readonly));
	assert_ok(gkv_options_set_durability(opts, GKV_DURABILITY_NOSYNC));
	assert_ok(gkv_repo_open(&repo, uri, opts));
	gkv_options_free(opts);
	return repo;
}

static inline gkv_oid uu_oid(const char *hex)
{
	gkv_oid id;

	assert_ok(gkv_oid_fromstr(&id, hex));
	return id;
}

static inline const char *uu_hex(const gkv_oid *id)
{
	static char bufs[8][GKV_OID_HEXSZ + 1];
	static unsigned next;
	char *b = bufs[next++ & 7];

	gkv_oid_fmt(b, id);
	return b;
}

/* A signature at a fixed time, so that commit ids are reproducible. */
static inline gkv_signature *uu_sig(const char *name, int64_t time)
{
	gkv_signature *s;
	char email[128];

	snprintf(email, sizeof(email), "%s@example.org", name);
	assert_ok(gkv_signature_new(&s, name, email, time, 0));
	return s;
}

/* ---------------------------------------------- raw objects via a batch */

/* Write bytes as an object of type under id (which need not be their hash). */
static inline void uu_raw_write(gkv_backend *be, const gkv_oid *id, gkv_otype type,
    const void *data, size_t len)
{
	gkv_batch *batch;

	assert_ok(be->batch_begin(&batch, be));
	assert_ok(be->batch_write(batch, id, type, data, len));
	assert_ok(be->batch_commit(batch));
}

/* Write bytes as an object under its true id; the id in out. */
static inline void uu_raw_put(gkv_oid *out, gkv_backend *be, gkv_otype type, const void *data,
    size_t len)
{
	assert_ok(gkv_hash(out, type, data, len));
	uu_raw_write(be, out, type, data, len);
}

/* A tree payload under construction: entries appended in git's order by the caller. */
typedef struct {
	unsigned char data[4096];
	size_t len;
} uu_treebuf;

static inline void uu_tree_entry(uu_treebuf *t, const char *mode, const char *name, const gkv_oid *id)
{
	size_t ml = strlen(mode), nl = strlen(name);

	assert_true(t->len + ml + nl + 2 + GKV_OID_RAWSZ <= sizeof(t->data));
	memcpy(t->data + t->len, mode, ml);
	t->len += ml;
	t->data[t->len++] = ' ';
	memcpy(t->data + t->len, name, nl + 1);
	t->len += nl + 1;
	memcpy(t->data + t->len, id->id, GKV_OID_RAWSZ);
	t->len += GKV_OID_RAWSZ;
}

/* ------------------------------------------------ a counting backend */

/*
 * Forwards every call to an inner backend, counting object reads (all,
 * and by type), and runs hook (once, when set) at the start of the next
 * batch commit, before forwarding it: the way to make "another writer
 * moves the head between your read and your commit" happen on cue.
 */
typedef struct uu_counting {
	gkv_backend parent;
	gkv_backend *inner;
	atomic_size_t reads;
	atomic_size_t tree_reads;
	atomic_size_t commits; /* batch commits forwarded */
	atomic_size_t writes;  /* objects added to batches */
	void (*hook)(struct uu_counting *c, void *payload);
	void *hook_payload;
} uu_counting;

typedef struct {
	gkv_batch base;
	gkv_batch *inner;
} uu_counting_batch;

static inline uu_counting *uu_counting_of(gkv_backend *b)
{
	return (uu_counting *)b;
}

static inline int uu_c_read(void **data, size_t *len, gkv_otype *type, gkv_backend *b,
    const gkv_oid *id)
{
	uu_counting *c = uu_counting_of(b);
	int rc = c->inner->read(data, len, type, c->inner, id);

	atomic_fetch_add(&c->reads, 1);
	if (rc == 0 && *type == GKV_OBJ_TREE)
		atomic_fetch_add(&c->tree_reads, 1);
	return rc;
}

static inline int uu_c_exists(gkv_backend *b, const gkv_oid *id)
{
	uu_counting *c = uu_counting_of(b);

	return c->inner->exists(c->inner, id);
}

static inline int uu_c_foreach(gkv_backend *b, const gkv_oid *prefix, size_t hexlen,
    gkv_backend_oid_cb cb, void *payload)
{
	uu_counting *c = uu_counting_of(b);

	return c->inner->foreach(c->inner, prefix, hexlen, cb, payload);
}

static inline int uu_c_ref_read(gkv_oid *out, gkv_backend *b, const char *name)
{
	uu_counting *c = uu_counting_of(b);

	return c->inner->ref_read(out, c->inner, name);
}

static inline int uu_c_ref_list(gkv_backend *b, const char *prefix, gkv_backend_ref_cb cb,
    void *payload)
{
	uu_counting *c = uu_counting_of(b);

	return c->inner->ref_list(c->inner, prefix, cb, payload);
}

static inline int uu_c_ref_cas(gkv_backend *b, const char *name, const gkv_oid *expected,
    const gkv_oid *new_target)
{
	uu_counting *c = uu_counting_of(b);

	return c->inner->ref_cas(c->inner, name, expected, new_target);
}

static inline int uu_c_batch_begin(gkv_batch **out, gkv_backend *b)
{
	uu_counting *c = uu_counting_of(b);
	uu_counting_batch *w = calloc(1, sizeof(*w));
	int rc;

	if (!w)
		return GKV_E_NOMEM;
	if ((rc = c->inner->batch_begin(&w->inner, c->inner)) < 0) {
		free(w);
		return rc;
	}
	w->base.backend = b;
	*out = &w->base;
	return 0;
}

static inline int uu_c_batch_write(gkv_batch *batch, const gkv_oid *id, gkv_otype type,
    const void *data, size_t len)
{
	uu_counting_batch *w = (uu_counting_batch *)batch;

	atomic_fetch_add(&uu_counting_of(batch->backend)->writes, 1);
	return w->inner->backend->batch_write(w->inner, id, type, data, len);
}

static inline int uu_c_batch_ref_cas(gkv_batch *batch, const char *name, const gkv_oid *expected,
    const gkv_oid *new_target)
{
	uu_counting_batch *w = (uu_counting_batch *)batch;

	return w->inner->backend->batch_ref_cas(w->inner, name, expected, new_target);
}

static inline int uu_c_batch_commit(gkv_batch *batch)
{
	uu_counting_batch *w = (uu_counting_batch *)batch;
	uu_counting *c = uu_counting_of(batch->backend);
	gkv_batch *inner = w->inner;
	int rc;

	free(w);
	if (c->hook) {
		void (*hook)(uu_counting *, void *) = c->hook;

		c->hook = NULL; /* once; the hook may commit through the repo itself */
		hook(c, c->hook_payload);
	}
	rc = inner->backend->batch_commit(inner);
	atomic_fetch_add(&c->commits, 1);
	return rc;
}

static inline void uu_c_batch_abort(gkv_batch *batch)
{
	uu_counting_batch *w = (uu_counting_batch *)batch;
	gkv_batch *inner = w->inner;

	free(w);
	inner->backend->batch_abort(inner);
}

static inline int uu_c_default_branch(char **out, gkv_backend *b)
{
	uu_counting *c = uu_counting_of(b);

	if (!c->inner->default_branch) {
		if (!(*out = gkv_backend_data_alloc(sizeof("main"))))
			return GKV_E_NOMEM;
		memcpy(*out, "main", sizeof("main"));
		return 0;
	}
	return c->inner->default_branch(out, c->inner);
}

static inline void uu_c_free(gkv_backend *b)
{
	uu_counting *c = uu_counting_of(b);

	c->inner->free(c->inner);
	free(c);
}

/* A repo over a counting wrapper of a new mem backend; the wrapper in *counter. */
static inline gkv_repo *uu_open_counting(uu_counting **counter, const gkv_options *opts)
{
	uu_counting *c = calloc(1, sizeof(*c));
	gkv_repo *repo;

	assert_non_null(c);
	assert_ok(gkv_backend_init(&c->parent, GKV_BACKEND_VERSION));
	assert_ok(gkv_backend_mem_new(&c->inner));
	c->parent.name = "counting";
	c->parent.read = uu_c_read;
	c->parent.exists = uu_c_exists;
	c->parent.foreach = uu_c_foreach;
	c->parent.ref_read = uu_c_ref_read;
	c->parent.ref_list = uu_c_ref_list;
	c->parent.ref_cas = uu_c_ref_cas;
	c->parent.default_branch = uu_c_default_branch;
	c->parent.batch_begin = uu_c_batch_begin;
	c->parent.batch_write = uu_c_batch_write;
	c->parent.batch_ref_cas = uu_c_batch_ref_cas;
	c->parent.batch_commit = uu_c_batch_commit;
	c->parent.batch_abort = uu_c_batch_abort;
	c->parent.free = uu_c_free;
	assert_ok(gkv_repo_open_backend(&repo, &c->parent, opts));
	*counter = c;
	return repo;
}

/* ------------------------------------------------------------ the shell */

/*
 * Run a shell command (printf-style), its stdout (trimmed of trailing
 * whitespace) into out; returns the exit status.
 */
static inline __attribute__((format(printf, 3, 4))) int uu_sh(char *out, size_t cap,
    const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	FILE *p;
	size_t n = 0;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fflush(NULL);
	assert_non_null(p = popen(cmd, "r"));
	if (out && cap) {
		n = fread(out, 1, cap - 1, p);
		out[n] = '\0';
		while (n && (out[n - 1] == '\n' || out[n - 1] == ' ' || out[n - 1] == '\r'))
			out[--n] = '\0';
	} else {
		char sink[256];

		while (fread(sink, 1, sizeof(sink), p) > 0)
			;
	}
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A pattern of len bytes from seed, and whether p still holds it. */
static inline void uu_fill(unsigned char *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)(seed * 31 + i * 7);
}

static inline int uu_holds(const unsigned char *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != (unsigned char)(seed * 31 + i * 7))
			return 0;
	return 1;
}

/* A reproducible pseudo-random sequence (splitmix64) from *seed. */
static inline uint64_t uu_next(uint64_t *seed)
{
	uint64_t z = (*seed += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

#endif
