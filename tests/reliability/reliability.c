/*
 * reliability.c -- helpers of the reliability tests (see reliability.h).
 */
#define _GNU_SOURCE
#include "reliability.h"

#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char scratch[256];
static pid_t scratch_owner;

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(p);
	return 0;
}

void rel_rmtree(const char *path)
{
	nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void scratch_cleanup(void)
{
	/* forked children _exit, but a child that returns must not remove
	 * the directory its parent still uses */
	if (scratch[0] && getpid() == scratch_owner)
		rel_rmtree(scratch);
}

const char *rel_scratch(const char *prefix)
{
	snprintf(scratch, sizeof(scratch), "/tmp/gkv-%s-XXXXXX", prefix);
	if (!mkdtemp(scratch)) {
		fprintf(stderr, "cannot make %s: %s\n", scratch, strerror(errno));
		exit(1);
	}
	scratch_owner = getpid();
	atexit(scratch_cleanup);
	return scratch;
}

uint64_t rel_seed(const char *env, uint64_t dflt)
{
	const char *s = getenv(env);
	uint64_t v = s && *s ? strtoull(s, NULL, 10) : dflt;

	return v ? v : 1; /* xorshift has no zero state */
}

uint64_t rel_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

long rel_env_long(const char *env, long dflt)
{
	const char *s = getenv(env);
	long v = s ? atol(s) : 0;

	return v > 0 ? v : dflt;
}

void rel_uri(char *uri, size_t cap, const rel_backend *b, const char *path)
{
	snprintf(uri, cap, "%s:%s", b->scheme, path);
}

int rel_open(gkv_repo **out, const rel_backend *b, const char *path, int create)
{
	gkv_options *opts;
	char uri[512];
	int rc;

	*out = NULL;
	rel_uri(uri, sizeof(uri), b, path);
	if ((rc = gkv_options_new(&opts)) < 0)
		return rc;
	if ((rc = gkv_options_set_create(opts, create)) == 0 &&
	    (rc = gkv_options_set_author(opts, "storm", "storm@gitkv.invalid")) == 0 &&
	    b->durability != DUR_UNSET)
		rc = gkv_options_set_durability(opts, (gkv_durability)b->durability);
	if (rc == 0)
		rc = gkv_repo_open(out, uri, opts);
	gkv_options_free(opts);
	return rc;
}

int rel_sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		return -1;
	return system(cmd);
}

double rel_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- the full read ---- */

/* A set of ids, open addressing; the first 8 bytes of an id are random
 * enough to index it. */
typedef struct idset {
	gkv_oid *ids;
	unsigned char *used;
	size_t cap, count;
} idset;

static size_t id_slot(const gkv_oid *id, size_t cap)
{
	uint64_t h;

	memcpy(&h, id->id, sizeof(h));
	return (size_t)(h & (cap - 1));
}

/* 1 if id was added, 0 if it was there, GKV_E_NOMEM. */
static int idset_add(idset *s, const gkv_oid *id)
{
	size_t i;

	if (2 * (s->count + 1) > s->cap) {
		idset bigger = {NULL, NULL, s->cap ? 2 * s->cap : 1024, 0};

		bigger.ids = malloc(bigger.cap * sizeof(*bigger.ids));
		bigger.used = calloc(bigger.cap, 1);
		if (!bigger.ids || !bigger.used) {
			free(bigger.ids);
			free(bigger.used);
			return GKV_E_NOMEM;
		}
		for (i = 0; i < s->cap; i++)
			if (s->used[i])
				idset_add(&bigger, &s->ids[i]);
		free(s->ids);
		free(s->used);
		*s = bigger;
	}
	for (i = id_slot(id, s->cap); s->used[i]; i = (i + 1) & (s->cap - 1))
		if (gkv_oid_equal(&s->ids[i], id))
			return 0;
	s->used[i] = 1;
	s->ids[i] = *id;
	s->count++;
	return 1;
}

static void idset_dispose(idset *s)
{
	free(s->ids);
	free(s->used);
}

static int fail(int rc, const char *what, const gkv_oid *id)
{
	char hex[GKV_OID_HEXSZ + 1];

	gkv_oid_fmt(hex, id);
	fprintf(stderr, "full read: %s %s: %s (%d)\n", what, hex, gkv_error_last(), rc);
	return rc;
}

/* Read the object id as type want (and, for a blob, of size want_size
 * unless it is UINT64_MAX): 0 or a code. */
static int read_object(gkv_repo *repo, const gkv_oid *id, gkv_otype want, uint64_t want_size)
{
	gkv_buf b = {0};
	gkv_otype type;
	int rc;

	if ((rc = gkv_repo_object_read(&b, &type, repo, id)) < 0)
		return fail(rc, "cannot read object", id);
	if (type != want)
		rc = fail(GKV_E_CORRUPT, "object of the wrong type", id);
	else if (want_size != UINT64_MAX && b.size != want_size)
		rc = fail(GKV_E_CORRUPT, "value of the wrong size", id);
	gkv_buf_dispose(&b);
	return rc;
}

static int check_tree(rel_census *c, idset *seen, gkv_repo *repo, const gkv_oid *id)
{
	gkv_tree *t = NULL;
	gkv_list *l = NULL;
	int rc;

	if ((rc = idset_add(seen, id)) <= 0)
		return rc;
	c->trees++;
	if ((rc = read_object(repo, id, GKV_OBJ_TREE, UINT64_MAX)) < 0)
		return rc;
	if ((rc = gkv_tree_lookup(&t, repo, id)) < 0)
		return fail(rc, "cannot decode tree", id);
	if ((rc = gkv_tree_list(&l, t, "")) < 0) {
		rc = fail(rc, "cannot list tree", id);
		goto done;
	}
	for (size_t i = 0; i < gkv_list_count(l) && rc == 0; i++) {
		gkv_oid cid;
		gkv_kind kind;
		uint64_t size;

		if ((rc = gkv_tree_entry(&cid, &kind, &size, t, gkv_list_name(l, i))) < 0) {
			rc = fail(rc, "cannot read an entry of tree", id);
			break;
		}
		if (kind == GKV_KIND_DIR) {
			rc = check_tree(c, seen, repo, &cid);
		} else if (kind != GKV_KIND_SUBMODULE && (rc = idset_add(seen, &cid)) > 0) {
			c->blobs++;
			rc = read_object(repo, &cid, GKV_OBJ_BLOB, size);
		}
		rc = rc > 0 ? 0 : rc;
	}
done:
	gkv_list_free(l);
	gkv_tree_free(t);
	return rc;
}

/* One commit of a walk: read, parsed, its tree checked. Errors are
 * reported here. */
static int check_commit(rel_census *c, idset *seen, gkv_repo *repo, const gkv_oid *id)
{
	gkv_commit *cm = NULL;
	int rc;

	if ((rc = idset_add(seen, id)) <= 0)
		return rc; /* reached from another branch already, or no memory */
	c->commits++;
	if ((rc = read_object(repo, id, GKV_OBJ_COMMIT, UINT64_MAX)) < 0)
		return rc;
	if ((rc = gkv_commit_lookup(&cm, repo, id)) < 0)
		return fail(rc, "cannot parse commit", id);
	rc = check_tree(c, seen, repo, gkv_commit_tree_id(cm));
	gkv_commit_free(cm);
	return rc;
}

static int check_history(rel_census *c, idset *seen, gkv_repo *repo, const gkv_oid *head)
{
	gkv_revwalk *w = NULL;
	gkv_oid id;
	int rc, walk_failed = 1;

	if ((rc = gkv_revwalk_new(&w, repo)) < 0 || (rc = gkv_revwalk_push(w, head)) < 0) {
		gkv_revwalk_free(w);
		return fail(rc, "cannot walk from", head);
	}
	while ((rc = gkv_revwalk_next(&id, w)) == 0)
		if ((rc = check_commit(c, seen, repo, &id)) < 0) {
			walk_failed = 0; /* reported by check_commit */
			break;
		}
	gkv_revwalk_free(w);
	if (rc == GKV_ITEROVER)
		return 0;
	return walk_failed ? fail(rc, "history walk failed from", head) : rc;
}

int rel_check_store(rel_census *out, gkv_repo *repo)
{
	rel_census c = {0, 0, 0, 0};
	gkv_strarray names = {0};
	idset seen = {NULL, NULL, 0, 0};
	int rc;

	if ((rc = gkv_branch_list(&names, repo)) < 0) {
		fprintf(stderr, "full read: cannot list branches: %s\n", gkv_error_last());
		return rc;
	}
	for (size_t i = 0; i < names.count && rc == 0; i++) {
		gkv_oid head;

		c.branches++;
		if ((rc = gkv_branch_head(&head, repo, names.strings[i])) < 0) {
			fprintf(stderr, "full read: branch '%s': %s\n", names.strings[i],
				gkv_error_last());
			break;
		}
		rc = check_history(&c, &seen, repo, &head);
	}
	gkv_strarray_dispose(&names);
	idset_dispose(&seen);
	if (out)
		*out = c;
	return rc;
}
