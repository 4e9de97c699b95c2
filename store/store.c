/*
 * store.c -- the store view: a branch (or a fixed commit) read and
 * written one commit per write.
 *
 * A write reads the head, applies its change to the head's tree, commits
 * and moves the head by compare-and-swap in one backend batch. If another
 * writer moved the head meanwhile the change is applied again on the new
 * head (bounded retries with randomised backoff), as Irmin's set does, so
 * concurrent writers lose nothing. A write that changes nothing commits
 * nothing.
 */
#include <stdio.h>
#include <time.h>

#include "path.h"
#include "reflog.h"
#include "store.h"
#include "tree.h"

/* ---------------------------------------------------------------- info */

int gkv_info_new(gkv_info **out, const char *message)
{
	gkv_info *i;

	if (!out || !message)
		return gkv__error(GKV_E_INVALID, "gkv_info_new: NULL argument");
	if (!(i = calloc(1, sizeof(*i))) || !(i->message = gkv__strdup(message))) {
		free(i);
		return gkv__oom();
	}
	*out = i;
	return 0;
}

static int info_set_sig(gkv_signature **slot, const gkv_signature *sig)
{
	gkv_signature *copy;
	int rc;

	if (!sig)
		return gkv__error(GKV_E_INVALID, "signature is NULL");
	if ((rc = gkv__signature_dup(&copy, sig)) < 0)
		return rc;
	gkv_signature_free(*slot);
	*slot = copy;
	return 0;
}

int gkv_info_set_author(gkv_info *info, const gkv_signature *author)
{
	if (!info)
		return gkv__error(GKV_E_INVALID, "info is NULL");
	return info_set_sig(&info->author, author);
}

int gkv_info_set_committer(gkv_info *info, const gkv_signature *committer)
{
	if (!info)
		return gkv__error(GKV_E_INVALID, "info is NULL");
	return info_set_sig(&info->committer, committer);
}

void gkv_info_free(gkv_info *info)
{
	if (!info)
		return;
	free(info->message);
	gkv_signature_free(info->author);
	gkv_signature_free(info->committer);
	free(info);
}

/* ---------------------------------------------------------------- views */

int gkv_store_open_branch(gkv_store **out, gkv_repo *repo, const char *branch)
{
	gkv_store *s;
	int rc;

	if (!out || !repo || !branch)
		return gkv__error(GKV_E_INVALID, "gkv_store_open_branch: NULL argument");
	*out = NULL;
	if ((rc = gkv__branch_check(branch)) < 0)
		return rc;
	if (!(s = calloc(1, sizeof(*s))))
		return gkv__oom();
	s->repo = repo;
	if (!(s->branch = gkv__strdup(branch)) || (rc = gkv__branch_ref(&s->ref, branch)) < 0) {
		gkv_store_free(s);
		return GKV_E_NOMEM;
	}
	*out = s;
	return 0;
}

int gkv_store_open_commit(gkv_store **out, gkv_repo *repo, const gkv_oid *commit)
{
	gkv_commit *c;
	gkv_store *s;
	int rc;

	if (!out || !repo || !commit)
		return gkv__error(GKV_E_INVALID, "gkv_store_open_commit: NULL argument");
	*out = NULL;
	if ((rc = gkv_commit_lookup(&c, repo, commit)) < 0)
		return rc;
	gkv_commit_free(c);
	if (!(s = calloc(1, sizeof(*s))))
		return gkv__oom();
	s->repo = repo;
	s->has_head = 1;
	s->head = *commit;
	*out = s;
	return 0;
}

void gkv_store_free(gkv_store *s)
{
	if (!s)
		return;
	gkv__tree_unref(s->cached_tree);
	free(s->branch);
	free(s->ref);
	free(s);
}

const char *gkv_store_branch(const gkv_store *s)
{
	return s ? s->branch : NULL;
}

int gkv__store_read_head(int *has, gkv_oid *head, gkv_store *s)
{
	gkv_backend *be;
	uint64_t version = 0;
	int rc;

	if (!s->branch) {
		*has = s->has_head;
		*head = s->head;
		return 0;
	}
	be = s->repo->backend;
	if (!be->refs_version || !be->ref_read_versioned) {
		rc = be->ref_read(head, be, s->ref);
	} else {
		if (s->head_known && be->refs_version(&version, be) == 0 &&
		    version == s->head_version) {
			*has = s->known_has;
			*head = s->known_head;
			return 0;
		}
		s->head_known = 0;
		rc = be->ref_read_versioned(head, &version, be, s->ref);
	}
	if (rc == GKV_E_NOTFOUND) {
		gkv_error_clear();
		*has = 0;
		memset(head, 0, sizeof(*head));
	} else if (rc < 0) {
		return rc;
	} else {
		*has = 1;
	}
	if (be->refs_version && be->ref_read_versioned) {
		s->head_known = 1;
		s->head_version = version;
		s->known_has = *has;
		s->known_head = *head;
	}
	return 0;
}

int gkv__store_head_tree(gkv_tree **out, gkv_store *s, int has, const gkv_oid *head)
{
	gkv_tree *t;
	int rc;

	if (!has)
		return gkv_tree_empty(out, s->repo);
	if (s->cached && gkv_oid_equal(&s->cached_head, head)) {
		*out = gkv__tree_ref(s->cached_tree);
		return 0;
	}
	if ((rc = gkv__commit_tree(&t, s->repo, head)) < 0)
		return rc;
	gkv__tree_unref(s->cached_tree);
	s->cached_tree = gkv__tree_ref(t);
	s->cached_head = *head;
	s->cached = 1;
	*out = t;
	return 0;
}

static int current_tree(gkv_tree **out, gkv_store *s)
{
	gkv_oid head;
	int has, rc;

	if ((rc = gkv__store_read_head(&has, &head, s)) < 0)
		return rc;
	return gkv__store_head_tree(out, s, has, &head);
}

void gkv__store_remember(gkv_store *s, const gkv_oid *commit, gkv_tree *tree)
{
	gkv__tree_ref(tree);
	gkv__tree_unref(s->cached_tree);
	s->cached_tree = tree;
	s->cached_head = *commit;
	s->cached = 1;
}

int gkv_store_head(gkv_oid *out, gkv_store *s)
{
	int has, rc;

	if (!out || !s)
		return gkv__error(GKV_E_INVALID, "gkv_store_head: NULL argument");
	if ((rc = gkv__store_read_head(&has, out, s)) < 0)
		return rc;
	if (!has)
		return gkv__error(GKV_E_NOTFOUND, "branch '%s' has no commit", s->branch);
	return 0;
}

int gkv_store_tree(gkv_tree **out, gkv_store *s)
{
	if (!out || !s)
		return gkv__error(GKV_E_INVALID, "gkv_store_tree: NULL argument");
	return current_tree(out, s);
}

/* ---------------------------------------------------------------- reads */

int gkv_store_find(gkv_buf *out, int *found, gkv_store *s, const char *path)
{
	gkv_tree *t;
	int rc;

	if (!s || !out || !found)
		return gkv__error(GKV_E_INVALID, "gkv_store_find: NULL argument");
	if (!path || (rc = gkv__path_check(path, 1)) < 0)
		return path ? rc : gkv__error(GKV_E_INVALID, "path is NULL");
	if ((rc = current_tree(&t, s)) < 0)
		return rc;
	rc = gkv__tree_find(out, found, t, path);
	gkv__tree_unref(t);
	return rc;
}

int gkv_store_get(gkv_buf *out, gkv_store *s, const char *path)
{
	int found, rc;

	if ((rc = gkv_store_find(out, &found, s, path)) < 0)
		return rc;
	if (!found)
		return gkv__error(GKV_E_NOTFOUND, "path '%s' not found", path);
	return 0;
}

int gkv_store_read(gkv_store *s, const char *path, gkv_read_cb cb, void *payload)
{
	gkv_tree *t;
	int rc;

	if (!s || !cb)
		return gkv__error(GKV_E_INVALID, "gkv_store_read: NULL argument");
	if (!path || (rc = gkv__path_check(path, 1)) < 0)
		return path ? rc : gkv__error(GKV_E_INVALID, "path is NULL");
	if ((rc = current_tree(&t, s)) < 0)
		return rc;
	rc = gkv_tree_read(t, path, cb, payload);
	gkv__tree_unref(t);
	return rc;
}

int gkv_store_kind(gkv_kind *out, gkv_store *s, const char *path)
{
	gkv_tree *t;
	int rc;

	if (!s || !out)
		return gkv__error(GKV_E_INVALID, "gkv_store_kind: NULL argument");
	if (!path || (rc = gkv__path_check(path, 1)) < 0)
		return path ? rc : gkv__error(GKV_E_INVALID, "path is NULL");
	if ((rc = current_tree(&t, s)) < 0)
		return rc;
	rc = gkv_tree_kind(out, t, path);
	gkv__tree_unref(t);
	return rc;
}

int gkv_store_mem(int *out, gkv_store *s, const char *path)
{
	gkv_kind k;
	int rc;

	if (!out)
		return gkv__error(GKV_E_INVALID, "gkv_store_mem: out is NULL");
	if ((rc = gkv_store_kind(&k, s, path)) < 0)
		return rc;
	*out = k == GKV_KIND_VALUE || k == GKV_KIND_EXEC || k == GKV_KIND_LINK;
	return 0;
}

int gkv_store_list(gkv_list **out, gkv_store *s, const char *path)
{
	gkv_tree *t;
	int rc;

	if (!s || !out)
		return gkv__error(GKV_E_INVALID, "gkv_store_list: NULL argument");
	if (!path || (rc = gkv__path_check(path, 1)) < 0)
		return path ? rc : gkv__error(GKV_E_INVALID, "path is NULL");
	if ((rc = current_tree(&t, s)) < 0)
		return rc;
	rc = gkv_tree_list(out, t, path);
	gkv__tree_unref(t);
	return rc;
}

int gkv_store_get_tree(gkv_tree **out, gkv_store *s, const char *path)
{
	gkv_tree *t;
	int rc;

	if (!s || !out)
		return gkv__error(GKV_E_INVALID, "gkv_store_get_tree: NULL argument");
	if (!path || (rc = gkv__path_check(path, 1)) < 0)
		return path ? rc : gkv__error(GKV_E_INVALID, "path is NULL");
	if ((rc = current_tree(&t, s)) < 0)
		return rc;
	rc = gkv_tree_subtree(out, t, path);
	gkv__tree_unref(t);
	return rc;
}

/* ---------------------------------------------------------------- writes */

void gkv__backoff(unsigned attempt)
{
	static _Thread_local unsigned seed;
	struct timespec ts;
	long max_ns;

	if (attempt < 2) {
		sched_yield();
		return;
	}
	if (!seed)
		seed = (unsigned)(uintptr_t)&ts ^ (unsigned)time(NULL);
	max_ns = attempt > 12 ? 2000000L : 1000L << attempt; /* up to 2 ms */
	ts.tv_sec = 0;
	ts.tv_nsec = (long)(rand_r(&seed) % (unsigned)max_ns);
	nanosleep(&ts, NULL);
}

int gkv__gave_up(const char *branch)
{
	char last[512];

	snprintf(last, sizeof(last), "%s", gkv_error_last());
	return gkv__error(GKV_E_CONFLICT, "branch '%s': gave up after %d attempts: %s", branch,
	    GKV_MAX_RETRIES, last);
}

int gkv__store_commit(gkv_oid *out, gkv_store *s, int has, const gkv_oid *head,
    gkv_tree *tree, gkv_tree *base, const gkv_info *info, const char *default_msg)
{
	gkv_repo *repo = s->repo;
	gkv_backend *be = repo->backend;
	gkv_signature *def = NULL;
	const gkv_signature *author, *committer;
	gkv_batch *batch;
	gkv_oid tree_id, commit;
	gkv__sbuf keep = GKV__SBUF_INIT;
	gkv_tree *clean;
	int kept, rc;

	if ((rc = gkv__check_writable(repo)) < 0)
		return rc;
	author = info && info->author ? info->author : NULL;
	committer = info && info->committer ? info->committer : NULL;
	if ((!author || !committer) && (rc = gkv__default_signature(&def, repo)) < 0)
		return rc;
	if ((rc = be->batch_begin(&batch, be)) < 0)
		goto out;
	if ((rc = gkv__tree_write_batch(&tree_id, tree, batch, repo->cache.capacity ? &keep : NULL)) < 0)
		goto abort;
	/* The tree is hashed only now, once: if it is base's, nothing changed. */
	if (base && gkv_tree_equal(base, tree)) {
		rc = GKV__UNCHANGED;
		goto abort;
	}
	if ((rc = gkv__commit_write_batch(&commit, batch, &tree_id, has ? head : NULL, has ? 1 : 0,
	         author ? author : def, committer ? committer : def,
	         info ? info->message : default_msg)) < 0 ||
	    (s->branch && (rc = be->batch_ref_cas(batch, s->ref, has ? head : NULL, &commit)) < 0))
		goto abort;
	if (s->branch) {
		char why[512];

		gkv__reflog_subject(why, sizeof(why), has ? "commit" : "commit (initial)",
		    info ? info->message : default_msg);
		if ((rc = gkv__reflog_add(batch, repo, s->ref, committer ? committer : def, why)) < 0)
			goto abort;
	}
	if ((rc = be->batch_commit(batch)) < 0)
		goto out;
	gkv__tree_mark_stored(tree);
	/*
	 * The view keeps the new head's tree for its next read or write, in
	 * its clean, decoded form (the trees just written go to the cache as
	 * if read): the in-memory tree would keep every value written through
	 * the view alive, and copying its nodes touches their values.
	 */
	kept = keep.size != 0;
	gkv__tree_cache_written(repo, &keep);
	if (kept && gkv__tree_load(&clean, repo, &tree_id) == 0) {
		gkv__store_remember(s, &commit, clean);
		gkv__tree_unref(clean);
	} else {
		gkv_error_clear();
		gkv__store_remember(s, &commit, tree);
	}
	if (s->branch) {
		gkv__watch_notify(repo, s->branch, has ? head : NULL, &commit);
	} else {
		s->head = commit;
		s->has_head = 1;
	}
	*out = commit;
	goto out;
abort:
	be->batch_abort(batch);
out:
	gkv__tree_keep_dispose(&keep);
	gkv_signature_free(def);
	return rc;
}

/* A change to apply to the head's tree: *out is the new tree (a new reference). */
typedef int (*mutate_fn)(gkv_tree **out, gkv_tree *base, void *arg);

static int store_write(gkv_oid *out, gkv_store *s, mutate_fn fn, void *arg,
    const gkv_info *info, const char *default_msg)
{
	gkv_tree *base, *next;
	gkv_oid head, commit;
	int has, rc;

	for (unsigned attempt = 0; attempt < GKV_MAX_RETRIES; attempt++) {
		if ((rc = gkv__store_read_head(&has, &head, s)) < 0)
			return rc;
		if ((rc = gkv__store_head_tree(&base, s, has, &head)) < 0)
			return rc;
		if ((rc = fn(&next, base, arg)) < 0) {
			gkv__tree_unref(base);
			return rc;
		}
		/* A change that changes nothing gives back the same tree; one
		 * that makes an equal tree is found when it is hashed. */
		rc = next == base ? GKV__UNCHANGED
				  : gkv__store_commit(&commit, s, has, &head, next, base, info, default_msg);
		gkv__tree_unref(next);
		gkv__tree_unref(base);
		if (rc == GKV__UNCHANGED) {
			if (out && has)
				*out = head;
			else if (out)
				memset(out, 0, sizeof(*out));
			return 0;
		}
		if (rc == 0) {
			if (out)
				*out = commit;
			return 0;
		}
		if (rc != GKV_E_CONFLICT)
			return rc;
		gkv__backoff(attempt);
	}
	return gkv__gave_up(s->branch ? s->branch : "(commit view)");
}

typedef struct {
	const char *path;
	const void *value;
	size_t len;
	gkv_tree *tree;
	const gkv_buf *expected;
	int must_exist;
} write_args;

static int do_set(gkv_tree **out, gkv_tree *base, void *arg)
{
	write_args *a = arg;

	return gkv_tree_set(out, base, a->path, a->value, a->len);
}

static int do_remove(gkv_tree **out, gkv_tree *base, void *arg)
{
	write_args *a = arg;
	gkv_kind k;
	int rc;

	if ((rc = gkv_tree_kind(&k, base, a->path)) < 0)
		return rc;
	if (k == GKV_KIND_NONE)
		return gkv__error(GKV_E_NOTFOUND, "path '%s' not found", a->path);
	return gkv_tree_remove(out, base, a->path);
}

static int do_set_tree(gkv_tree **out, gkv_tree *base, void *arg)
{
	write_args *a = arg;

	return gkv_tree_set_tree(out, base, a->path, a->tree);
}

static int do_test_and_set(gkv_tree **out, gkv_tree *base, void *arg)
{
	write_args *a = arg;
	gkv_buf cur;
	int found, same, rc;

	if ((rc = gkv_tree_find(&cur, &found, base, a->path)) < 0)
		return rc;
	if (a->expected) {
		same = found && cur.size == a->expected->size &&
		    (cur.size == 0 || memcmp(cur.ptr, a->expected->ptr, cur.size) == 0);
	} else {
		gkv_kind k;

		/* Expecting nothing: a directory there is something. */
		if ((rc = gkv_tree_kind(&k, base, a->path)) < 0) {
			gkv_buf_dispose(&cur);
			return rc;
		}
		same = k == GKV_KIND_NONE;
	}
	gkv_buf_dispose(&cur);
	if (!same)
		return gkv__error(GKV_E_CONFLICT, "path '%s' does not hold the expected value", a->path);
	if (a->value)
		return gkv_tree_set(out, base, a->path, ((const gkv_buf *)a->value)->ptr,
		    ((const gkv_buf *)a->value)->size);
	return gkv_tree_remove(out, base, a->path);
}

static int check_write(gkv_store *s, const char *path, int allow_root)
{
	if (!s)
		return gkv__error(GKV_E_INVALID, "store is NULL");
	if (!path)
		return gkv__error(GKV_E_INVALID, "path is NULL");
	return gkv__path_check(path, allow_root);
}

/* The default message, formatted only when info brings none. */
static char *message_for(char *buf, size_t cap, const gkv_info *info, const char *op,
    const char *path)
{
	if (info)
		return NULL;
	snprintf(buf, cap, "%s %s\n", op, *path ? path : "/");
	return buf;
}

int gkv_store_set(gkv_oid *out, gkv_store *s, const char *path, const void *value, size_t len,
    const gkv_info *info)
{
	write_args a = {path, value, len, NULL, NULL, 0};
	char msg[512];
	int rc;

	if ((rc = check_write(s, path, 0)) < 0)
		return rc;
	if (len && !value)
		return gkv__error(GKV_E_INVALID, "value is NULL but its length is %zu", len);
	if ((rc = gkv__value_check(path, value, len)) < 0)
		return rc;
	return store_write(out, s, do_set, &a, info,
	    message_for(msg, sizeof(msg), info, "set", path));
}

int gkv_store_remove(gkv_oid *out, gkv_store *s, const char *path, const gkv_info *info)
{
	write_args a = {path, NULL, 0, NULL, NULL, 0};
	char msg[512];
	int rc;

	if ((rc = check_write(s, path, 0)) < 0)
		return rc;
	return store_write(out, s, do_remove, &a, info,
	    message_for(msg, sizeof(msg), info, "remove", path));
}

int gkv_store_set_tree(gkv_oid *out, gkv_store *s, const char *path, gkv_tree *tree,
    const gkv_info *info)
{
	write_args a = {path, NULL, 0, tree, NULL, 0};
	char msg[512];
	int rc;

	if ((rc = check_write(s, path, 1)) < 0)
		return rc;
	if (!tree)
		return gkv__error(GKV_E_INVALID, "tree is NULL");
	if (gkv__tree_repo(tree) != s->repo)
		return gkv__error(GKV_E_INVALID, "the tree belongs to another repo");
	return store_write(out, s, do_set_tree, &a, info,
	    message_for(msg, sizeof(msg), info, "set_tree", path));
}

int gkv_store_test_and_set(gkv_oid *out, gkv_store *s, const char *path,
    const gkv_buf *expected, const gkv_buf *new_value, const gkv_info *info)
{
	write_args a = {path, new_value, 0, NULL, expected, 0};
	char msg[512];
	int rc;

	if ((rc = check_write(s, path, 0)) < 0)
		return rc;
	if ((expected && expected->size && !expected->ptr) || (new_value && new_value->size && !new_value->ptr))
		return gkv__error(GKV_E_INVALID, "a buffer has a size but no bytes");
	if (new_value && (rc = gkv__value_check(path, new_value->ptr, new_value->size)) < 0)
		return rc;
	return store_write(out, s, do_test_and_set, &a, info,
	    message_for(msg, sizeof(msg), info, "test_and_set", path));
}
