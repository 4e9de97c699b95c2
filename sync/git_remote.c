/*
 * git_remote.c -- fetch from and push to a git remote through libgit2,
 * for every backend alike, with no git repository on disk.
 *
 * The store is shown to libgit2 as an in-memory repository whose odb and
 * refdb are the store itself (git_odb.c, git_refdb.c). libgit2 does the
 * transport, the negotiation (its "have" lines come from the store's
 * refs, so only what is new is sent) and, for a push, the pack. It moves
 * no ref: a fetch ends with the pack indexed in a temporary directory,
 * and git_pack.c checks every object of it into one batch of the store,
 * to which the caller adds its ref moves; nothing is visible until that
 * batch commits. A push checks fast-forward itself against the head the
 * remote advertised before sending anything.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/stat.h>

#include "libgit2.h"

#include "git_int.h"
#include "util.h"

/*
 * libgit2 maps a pack in windows of 1 GiB, up to 8 GiB, by default: the
 * pack of a fetch would be resident whole while it is read back. Smaller
 * windows bound what a fetch keeps mapped (process-wide settings, only
 * ever lowered here).
 */
#define MWINDOW_SIZE ((size_t)8 << 20)
#define MWINDOW_MAPPED_LIMIT ((size_t)32 << 20)

static void bound_pack_windows(void)
{
	size_t v = 0;

	if (git_libgit2_opts(GIT_OPT_GET_MWINDOW_SIZE, &v) == 0 && v > MWINDOW_SIZE)
		git_libgit2_opts(GIT_OPT_SET_MWINDOW_SIZE, MWINDOW_SIZE);
	if (git_libgit2_opts(GIT_OPT_GET_MWINDOW_MAPPED_LIMIT, &v) == 0 &&
	    v > MWINDOW_MAPPED_LIMIT)
		git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT, MWINDOW_MAPPED_LIMIT);
}

static int op_init(gkv__wire_op *op, gkv_repo *repo, const char *url,
    const gkv_sync_options *opts)
{
	memset(op, 0, sizeof(*op));
	op->repo = repo;
	op->opts = opts;
	if (!(op->kb = gkv_repo_backend(repo)))
		return gkv__error(GKV_E_INVALID, "no backend for the store");
	if (!(op->url_shown = gkv__wire_url_shown(url)))
		return gkv__oom();
	if (git_libgit2_init() < 0) {
		free(op->url_shown);
		op->url_shown = NULL;
		return gkv__error(GKV_E_ERROR, "libgit2 failed to start: %s", gkv__git2_why());
	}
	bound_pack_windows();
	/* trust the CAs of opts, for the whole process as libgit2 does */
	if (opts && opts->ca_file &&
	    git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, opts->ca_file, NULL) < 0) {
		const git_error *e = git_error_last();
		git_libgit2_shutdown();
		free(op->url_shown);
		op->url_shown = NULL;
		return gkv__error(GKV_E_ERROR, "CA file %s refused: %s", opts->ca_file,
		    e ? e->message : "");
	}
	return 0;
}

static void op_free(gkv__wire_op *op)
{
	if (!op->url_shown)
		return; /* op_init failed: nothing was started */
	gkv__wire_tmpdir_remove(op);
	free(op->idx_path);
	free(op->url_shown);
	free(op->push_refname);
	free(op->rejected_ref);
	free(op->rejected_msg);
	git_libgit2_shutdown();
}

/* An in-memory repository over op's store: its odb and refdb, no config
 * (so no user's settings rewrite the URL or reroute the transfer). */
static int open_repository(git_repository **out, gkv__wire_op *op)
{
	git_repository *r = NULL;
	git_odb *odb = NULL;
	git_odb_backend *ob = NULL;
	git_refdb *rdb = NULL;
	git_refdb_backend *rb = NULL;
	git_config *cfg = NULL;
	int err;

	if (git_repository_new(&r) < 0 || git_odb_new(&odb) < 0 ||
	    git_config_new(&cfg) < 0) {
		err = gkv__error(GKV_E_NOMEM, "libgit2 could not make a repository: %s",
		    git_error_last() ? git_error_last()->message : "");
		goto fail;
	}
	if ((err = gkv__wire_odb_backend(&ob, op)) < 0)
		goto fail;
	if (git_odb_add_backend(odb, ob, 1) < 0) {
		ob->free(ob);
		err = gkv__error(GKV_E_ERROR, "libgit2 refused the store's odb");
		goto fail;
	}
	if (git_repository_set_odb(r, odb) < 0 || git_repository_set_config(r, cfg) < 0 ||
	    git_refdb_new(&rdb, r) < 0) {
		err = gkv__error(GKV_E_ERROR, "libgit2 could not make a repository");
		goto fail;
	}
	if ((err = gkv__wire_refdb_backend(&rb, op)) < 0)
		goto fail;
	if (git_refdb_set_backend(rdb, rb) < 0) {
		rb->free(rb);
		err = gkv__error(GKV_E_ERROR, "libgit2 refused the store's refdb");
		goto fail;
	}
	if (git_repository_set_refdb(r, rdb) < 0) {
		err = gkv__error(GKV_E_ERROR, "libgit2 refused the store's refdb");
		goto fail;
	}
	git_refdb_free(rdb);
	git_odb_free(odb);
	git_config_free(cfg);
	*out = r;
	return 0;
fail:
	git_refdb_free(rdb);
	git_odb_free(odb);
	git_config_free(cfg);
	git_repository_free(r);
	return err;
}

/* A plain path ("/srv/r.git", "../r") names a local repository: say it
 * is absent, where libgit2 would call it an unknown protocol. */
static int check_local_path(const gkv__wire_op *op, const char *url)
{
	struct stat st;

	if (strstr(url, "://"))
		return 0;
	/* "host:path" is scp-like ssh, unless a '/' comes before the ':' */
	if (strchr(url, ':') && !(strchr(url, '/') && strchr(url, '/') < strchr(url, ':')))
		return 0;
	if (stat(url, &st) < 0)
		return gkv__error(GKV_E_NOTFOUND, "no git repository at %s", op->url_shown);
	return 0;
}

static int connect(git_remote **out, git_repository *r, gkv__wire_op *op, const char *url,
    git_direction dir)
{
	git_remote_callbacks cb;
	git_remote *remote = NULL;
	gkv_sync_progress p = { .stage = GKV_SYNC_CONNECTING };
	int err;

	*out = NULL;
	if ((err = gkv__progress(op->opts, &p)) < 0 || (err = check_local_path(op, url)) < 0)
		return err;
	if ((err = git_remote_create_anonymous(&remote, r, url)) < 0) {
		const git_error *e = git_error_last();
		return gkv__error(GKV_E_INVALID, "bad git remote %s: %s", op->url_shown,
		    e ? e->message : "");
	}
	gkv__wire_callbacks(&cb, op);
	if ((err = git_remote_connect(remote, dir, &cb, NULL, NULL)) < 0) {
		err = gkv__wire_error(op, err, "cannot reach");
		git_remote_free(remote);
		return err;
	}
	*out = remote;
	return 0;
}

/* The remote's branches (only branch when not NULL) and its default. */
static int list_heads(gkv_fetch_result *res, git_remote *remote, gkv__wire_op *op,
    const char *branch)
{
	const git_remote_head **heads;
	size_t n;
	git_buf def = { 0 };
	int err;

	if ((err = git_remote_ls(&heads, &n, remote)) < 0)
		return gkv__wire_error(op, err, "cannot list the refs of");
	for (size_t i = 0; i < n; i++) {
		const char *name = heads[i]->name;
		if (strncmp(name, "refs/heads/", 11) != 0)
			continue;
		name += 11;
		/* a name git would refuse is not fetched (nor is a peeled ^{}) */
		if (gkv_branch_name_validate(name) < 0)
			continue;
		if (branch && strcmp(name, branch) != 0)
			continue;
		if ((err = gkv__fetch_result_add(res, name, (const gkv_oid *)&heads[i]->oid)) < 0)
			return err;
	}
	if (branch && res->count == 0)
		return gkv__error(GKV_E_NOTFOUND, "%s has no branch '%s'", op->url_shown, branch);
	gkv__fetch_result_sort(res);
	if (git_remote_default_branch(&def, remote) == 0 && def.ptr &&
	    !strncmp(def.ptr, "refs/heads/", 11) && gkv_branch_name_validate(def.ptr + 11) == 0 &&
	    !(res->default_branch = gkv__strdup(def.ptr + 11))) {
		git_buf_dispose(&def);
		return GKV_E_NOMEM;
	}
	git_buf_dispose(&def);
	git_error_clear();
	return 0;
}

static int download(git_remote *remote, gkv__wire_op *op, const char *branch)
{
	git_fetch_options fo;
	char spec[512];
	char *specs[1] = { spec };
	git_strarray refspecs = { specs, 1 };
	int err;

	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	if (branch)
		snprintf(spec, sizeof(spec), "+refs/heads/%s:refs/heads/%s", branch, branch);
	else
		snprintf(spec, sizeof(spec), "+refs/heads/*:refs/heads/*");
	gkv__wire_callbacks(&fo.callbacks, op);
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	fo.update_fetchhead = 0;
	fo.prune = GIT_FETCH_NO_PRUNE;
	if ((err = git_remote_download(remote, &refspecs, &fo)) < 0)
		return gkv__wire_error(op, err, "cannot fetch from");
	return 0;
}

/* Store the pack and the ref moves in one batch, and commit it. */
static int store(gkv_fetch_result *res, gkv__wire_op *op, gkv__refs_fn refs_fn,
    void *payload)
{
	gkv_backend *kb = op->kb;
	gkv_batch *batch = NULL;
	gkv_oid *need = NULL;
	uint64_t stored = 0;
	int err;

	if (res->count && !(need = malloc(res->count * sizeof(*need))))
		return gkv__oom();
	for (size_t i = 0; i < res->count; i++)
		need[i] = res->heads[i].id;
	if ((err = kb->batch_begin(&batch, kb)) < 0)
		goto out;
	if ((err = gkv__wire_pack_store(&stored, op, batch, need, res->count)) < 0)
		goto out;
	/* the bases a thin pack lacked came from the store: not new */
	res->objects = stored > op->pack_local ? stored - op->pack_local : 0;
	if (refs_fn && (err = refs_fn(batch, res, payload)) < 0)
		goto out;
	err = kb->batch_commit(batch);
	batch = NULL;
out:
	if (batch)
		kb->batch_abort(batch);
	free(need);
	if (err < 0)
		res->objects = 0;
	return err;
}

int gkv__git_fetch(gkv_fetch_result **out, gkv_repo *repo, const char *url,
    const char *branch, const gkv_sync_options *opts, gkv__refs_fn refs_fn,
    void *payload)
{
	gkv__wire_op op;
	git_repository *r = NULL;
	git_remote *remote = NULL;
	gkv_fetch_result *res = NULL;
	int err;

	if (out)
		*out = NULL;
	if (!repo || !url)
		return gkv__error(GKV_E_INVALID, "git fetch: NULL argument");
	if (branch && gkv_branch_name_validate(branch) < 0)
		return gkv__error(GKV_E_INVALID, "git fetch: bad branch name '%s'", branch);
	if ((err = op_init(&op, repo, url, opts)) < 0)
		return err;
	if (!(res = gkv__fetch_result_new())) {
		err = GKV_E_NOMEM;
		goto out;
	}
	if ((err = open_repository(&r, &op)) < 0 ||
	    (err = connect(&remote, r, &op, url, GIT_DIRECTION_FETCH)) < 0 ||
	    (err = list_heads(res, remote, &op, branch)) < 0)
		goto out;
	if (res->count && (err = download(remote, &op, branch)) < 0)
		goto out;
	git_remote_disconnect(remote);
	if ((err = store(res, &op, refs_fn, payload)) < 0)
		goto out;
	if (out) {
		*out = res;
		res = NULL;
	}
out:
	git_remote_free(remote);
	git_repository_free(r);
	op_free(&op);
	gkv_fetch_result_free(res);
	return err;
}

/* Refuse, before anything is sent, to push head over old unless it is a
 * fast-forward (an old the store lacks cannot be one). */
static int check_fast_forward(gkv__wire_op *op, const gkv_oid *old, const gkv_oid *head,
    const char *remote_branch)
{
	char hex[GKV_OID_HEXSZ + 1];
	int has, anc = 0, err;

	if ((has = op->kb->exists(op->kb, old)) < 0)
		return has;
	if (has && (err = gkv_is_ancestor(&anc, op->repo, old, head)) < 0 &&
	    err != GKV_E_INVALID)
		return err;
	if (anc)
		return 0;
	gkv_oid_fmt(hex, old);
	hex[GKV_OID_HEXSZ] = '\0';
	return gkv__error(GKV_E_NONFASTFORWARD,
	    "push to %s refused: its branch '%s' (at %s) is not an ancestor of what is pushed",
	    op->url_shown, remote_branch, hex);
}

static int upload(git_remote *remote, gkv__wire_op *op, const char *remote_branch)
{
	git_push_options po;
	char spec[600];
	char *specs[1] = { spec };
	git_strarray refspecs = { specs, 1 };
	int err;

	git_push_options_init(&po, GIT_PUSH_OPTIONS_VERSION);
	snprintf(spec, sizeof(spec), "%s%s:refs/heads/%s",
	    op->opts && op->opts->force ? "+" : "", op->push_refname, remote_branch);
	gkv__wire_callbacks(&po.callbacks, op);
	/* one thread: the packbuilder reads the store through the odb */
	po.pb_parallelism = 1;
	if ((err = git_remote_upload(remote, &refspecs, &po)) < 0)
		return gkv__wire_error(op, err, "cannot push to");
	if (op->rejected_ref)
		return gkv__error(GKV_E_CONFLICT, "%s refused the update of %s: %s",
		    op->url_shown, op->rejected_ref, op->rejected_msg ? op->rejected_msg : "");
	return 0;
}

int gkv__git_push(gkv_oid *old, gkv_repo *repo, const gkv_oid *head, const char *url,
    const char *remote_branch, const gkv_sync_options *opts)
{
	gkv__wire_op op;
	git_repository *r = NULL;
	git_remote *remote = NULL;
	gkv_fetch_result *res = NULL;
	gkv_oid zero = { { 0 } };
	int has, err;

	if (old)
		*old = zero;
	if (!repo || !head || !url || !remote_branch)
		return gkv__error(GKV_E_INVALID, "git push: NULL argument");
	if (gkv_branch_name_validate(remote_branch) < 0)
		return gkv__error(GKV_E_INVALID, "git push: bad branch name '%s'", remote_branch);
	if ((err = op_init(&op, repo, url, opts)) < 0)
		return err;
	if ((has = op.kb->exists(op.kb, head)) <= 0) {
		err = has < 0 ? has : gkv__error(GKV_E_NOTFOUND, "git push: the head is not in the store");
		goto out;
	}
	op.push_head = *head;
	if (!(op.push_refname = gkv__strdup("refs/gitkv-push/head")) ||
	    !(res = gkv__fetch_result_new())) {
		err = GKV_E_NOMEM;
		goto out;
	}
	if ((err = open_repository(&r, &op)) < 0 ||
	    (err = connect(&remote, r, &op, url, GIT_DIRECTION_PUSH)) < 0 ||
	    (err = list_heads(res, remote, &op, NULL)) < 0)
		goto out;
	for (size_t i = 0; i < res->count; i++) {
		if (strcmp(res->heads[i].name, remote_branch) != 0)
			continue;
		if (old)
			*old = res->heads[i].id;
		if (!memcmp(&res->heads[i].id, head, sizeof(*head)))
			goto out; /* the remote has it already: nothing to send */
		if (!(opts && opts->force) &&
		    (err = check_fast_forward(&op, &res->heads[i].id, head, remote_branch)) < 0)
			goto out;
	}
	err = upload(remote, &op, remote_branch);
out:
	git_remote_free(remote);
	git_repository_free(r);
	op_free(&op);
	gkv_fetch_result_free(res);
	return err;
}
