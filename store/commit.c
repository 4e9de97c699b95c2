/*
 * commit.c -- commits as values: loading and reading them, and writing
 * new ones (alone, or into the batch that also moves a branch).
 */
#include <stdio.h>
#include <time.h>

#include "repo.h"

struct gkv_commit {
	gkv_oid id;
	gkv__commit_raw raw;
	char *summary;
};

int gkv_commit_lookup(gkv_commit **out, gkv_repo *repo, const gkv_oid *id)
{
	gkv_commit *c;
	void *data;
	size_t len;
	int rc;

	if (!out || !repo || !id)
		return gkv__error(GKV_E_INVALID, "gkv_commit_lookup: NULL argument");
	*out = NULL;
	if ((rc = gkv__odb_read_typed(&data, &len, repo, id, GKV_OBJ_COMMIT)) < 0)
		return rc;
	if (!(c = calloc(1, sizeof(*c)))) {
		gkv_backend_data_free(data);
		return gkv__oom();
	}
	c->id = *id;
	rc = gkv__commit_parse(&c->raw, data, len, id);
	gkv_backend_data_free(data);
	if (rc < 0) {
		free(c);
		return rc;
	}
	*out = c;
	return 0;
}

const gkv_oid *gkv_commit_id(const gkv_commit *c)
{
	return &c->id;
}

const gkv_oid *gkv_commit_tree_id(const gkv_commit *c)
{
	return &c->raw.tree;
}

size_t gkv_commit_parentcount(const gkv_commit *c)
{
	return c->raw.nparents;
}

const gkv_oid *gkv_commit_parent_id(const gkv_commit *c, size_t n)
{
	return n < c->raw.nparents ? &c->raw.parents[n] : NULL;
}

const gkv_signature *gkv_commit_author(const gkv_commit *c)
{
	return &c->raw.author;
}

const gkv_signature *gkv_commit_committer(const gkv_commit *c)
{
	return &c->raw.committer;
}

const char *gkv_commit_message(const gkv_commit *c)
{
	return c->raw.message;
}

const char *gkv_commit_summary(gkv_commit *c)
{
	const char *m = c->raw.message, *nl;

	if (!c->summary) {
		nl = strchr(m, '\n');
		c->summary = gkv__strndup(m, nl ? (size_t)(nl - m) : strlen(m));
	}
	return c->summary ? c->summary : "";
}

void gkv_commit_free(gkv_commit *c)
{
	if (!c)
		return;
	gkv__commit_raw_dispose(&c->raw);
	free(c->summary);
	free(c);
}

int gkv__commit_tree(gkv_tree **out, gkv_repo *repo, const gkv_oid *commit)
{
	char by[64];
	gkv_commit *c;
	int rc;

	if ((rc = gkv_commit_lookup(&c, repo, commit)) < 0)
		return rc;
	rc = gkv__tree_load(out, repo, &c->raw.tree);
	if (rc == GKV_E_NOTFOUND || rc == GKV_E_INVALID) {
		snprintf(by, sizeof(by), "commit %s", gkv__hex(commit));
		rc = gkv__tree_named_damage(by);
	}
	gkv_commit_free(c);
	return rc;
}

int gkv__default_signature(gkv_signature **out, gkv_repo *repo)
{
	const char *name, *email;
	int rc;

	if ((rc = gkv__repo_identity(&name, &email, repo)) < 0)
		return rc;
	return gkv_signature_new(out, name, email, (int64_t)time(NULL), 0);
}

int gkv__commit_write_batch(gkv_oid *out, gkv_batch *batch, const gkv_oid *tree,
    const gkv_oid *parents, size_t nparents, const gkv_signature *author,
    const gkv_signature *committer, const char *message)
{
	gkv__sbuf b = GKV__SBUF_INIT;
	int rc;

	if ((rc = gkv__commit_serialize(&b, tree, parents, nparents, author, committer, message)) == 0 &&
	    (rc = gkv_hash(out, GKV_OBJ_COMMIT, b.ptr, b.size)) == 0)
		rc = batch->backend->batch_write(batch, out, GKV_OBJ_COMMIT, b.ptr, b.size);
	gkv__sbuf_free(&b);
	return rc;
}

static int check_is(gkv_repo *repo, const gkv_oid *id, gkv_otype want, const char *what)
{
	void *data;
	size_t len;
	int rc;

	if ((rc = gkv__odb_read_typed(&data, &len, repo, id, want)) < 0)
		return rc == GKV_E_NOTFOUND
		    ? gkv__error(GKV_E_NOTFOUND, "%s %s not found", what, gkv__hex(id)) : rc;
	gkv_backend_data_free(data);
	return 0;
}

int gkv_commit_create(gkv_oid *out, gkv_repo *repo, const gkv_oid *tree_id,
    const gkv_oid *parents, size_t nparents, const gkv_signature *author,
    const gkv_signature *committer, const char *message)
{
	gkv_signature *def = NULL;
	gkv_backend *be;
	gkv_batch *batch;
	gkv_oid id;
	int rc;

	if (!out || !repo || !tree_id || !message || (nparents && !parents))
		return gkv__error(GKV_E_INVALID, "gkv_commit_create: NULL argument");
	if ((rc = gkv__check_writable(repo)) < 0)
		return rc;
	if ((rc = check_is(repo, tree_id, GKV_OBJ_TREE, "tree")) < 0)
		return rc;
	for (size_t i = 0; i < nparents; i++)
		if ((rc = check_is(repo, &parents[i], GKV_OBJ_COMMIT, "parent commit")) < 0)
			return rc;
	if ((!author || !committer) && (rc = gkv__default_signature(&def, repo)) < 0)
		return rc;
	be = repo->backend;
	if ((rc = be->batch_begin(&batch, be)) < 0)
		goto out;
	rc = gkv__commit_write_batch(&id, batch, tree_id, parents, nparents,
	    author ? author : def, committer ? committer : def, message);
	if (rc < 0) {
		be->batch_abort(batch);
		goto out;
	}
	if ((rc = be->batch_commit(batch)) == 0)
		*out = id;
out:
	gkv_signature_free(def);
	return rc;
}
