/*
 * reflog.c -- the log of branch moves: what the core tells the backend
 * about each move (who and why, beside the batch's compare-and-swap, so
 * that the move and its record land together), and the public reads of
 * a branch's log (gkv_branch_reflog). The messages are git's: "commit:
 * <subject>", "branch: Created from <id>", "reset: moving to <id>",
 * "merge <id>: Fast-forward"; a delete is logged as a move to the zero
 * id, and a deleted branch's log is kept, so that it can be restored.
 */
#include <stdio.h>

#include "codec.h"
#include "path.h"
#include "reflog.h"

typedef struct {
	gkv_oid old_id, new_id;
	gkv_signature sig;
	char *message;
} reflog_entry;

struct gkv_reflog {
	reflog_entry *entries; /* newest first */
	size_t count, cap;
};

/* message up to its first newline, into out (cap bytes, NUL included). */
static void first_line(char *out, size_t cap, const char *message)
{
	size_t n = strcspn(message, "\r\n");

	if (n >= cap)
		n = cap - 1;
	memcpy(out, message, n);
	out[n] = '\0';
}

void gkv__reflog_subject(char *out, size_t cap, const char *prefix, const char *message)
{
	int n = snprintf(out, cap, "%s: ", prefix);

	if (n >= 0 && (size_t)n < cap)
		first_line(out + n, cap - (size_t)n, message ? message : "");
}

int gkv__reflog_add(gkv_batch *batch, gkv_repo *repo, const char *ref, const gkv_signature *who,
    const char *message)
{
	gkv_backend *be = repo->backend;
	gkv_signature *def = NULL;
	gkv_backend_reflog_entry e;
	char line[512];
	int rc;

	if (!be->batch_ref_log)
		return 0;
	if (!who && (rc = gkv__default_signature(&def, repo)) < 0)
		return rc;
	if (!who)
		who = def;
	first_line(line, sizeof(line), message ? message : "");
	memset(&e, 0, sizeof(e));
	e.name = who->name;
	e.email = who->email;
	e.time = who->time;
	e.offset = who->offset;
	e.message = line;
	rc = be->batch_ref_log(batch, ref, &e);
	gkv_signature_free(def);
	return rc;
}

/* ---- reading ---- */

static void entries_free(gkv_reflog *log)
{
	for (size_t i = 0; i < log->count; i++) {
		free(log->entries[i].sig.name);
		free(log->entries[i].sig.email);
		free(log->entries[i].message);
	}
	free(log->entries);
}

static int take_entry(const gkv_backend_reflog_entry *e, void *payload)
{
	gkv_reflog *log = payload;
	reflog_entry *r;

	if (log->count == log->cap) {
		size_t cap = log->cap ? log->cap * 2 : 16;
		reflog_entry *p = realloc(log->entries, cap * sizeof(*p));

		if (!p)
			return gkv__oom();
		log->entries = p;
		log->cap = cap;
	}
	r = &log->entries[log->count];
	memset(r, 0, sizeof(*r));
	r->old_id = e->old_id;
	r->new_id = e->new_id;
	r->sig.time = e->time;
	r->sig.offset = e->offset;
	if (!(r->sig.name = gkv__strdup(e->name)) || !(r->sig.email = gkv__strdup(e->email)) ||
	    !(r->message = gkv__strdup(e->message))) {
		free(r->sig.name);
		free(r->sig.email);
		return GKV_E_NOMEM;
	}
	log->count++;
	return 0;
}

int gkv_branch_reflog(gkv_reflog **out, gkv_repo *repo, const char *branch)
{
	gkv_backend *be;
	gkv_reflog *log;
	gkv_oid head;
	char *ref;
	int rc;

	if (out)
		*out = NULL;
	if (!out || !repo || !branch)
		return gkv__error(GKV_E_INVALID, "gkv_branch_reflog: NULL argument");
	be = repo->backend;
	if ((rc = gkv__branch_ref(&ref, branch)) < 0)
		return rc;
	if (!be->reflog_read) {
		free(ref);
		return gkv__error(GKV_E_UNSUPPORTED, "the %s backend keeps no log of branch moves",
		    be->name);
	}
	if (!(log = calloc(1, sizeof(*log)))) {
		free(ref);
		return gkv__oom();
	}
	rc = be->reflog_read(be, ref, take_entry, log);
	free(ref);
	/* An empty log is a branch that never moved through gitkv (a
	 * repository git made) -- or no branch at all. */
	if (rc == 0 && log->count == 0 && (rc = gkv__branch_read(&head, repo, branch)) < 0 &&
	    rc == GKV_E_NOTFOUND)
		rc = gkv__error(GKV_E_NOTFOUND, "branch '%s' not found, and it has no log", branch);
	if (rc < 0) {
		gkv_reflog_free(log);
		return rc;
	}
	*out = log;
	return 0;
}

size_t gkv_reflog_count(const gkv_reflog *log)
{
	return log->count;
}

const gkv_oid *gkv_reflog_old_id(const gkv_reflog *log, size_t i)
{
	return i < log->count ? &log->entries[i].old_id : NULL;
}

const gkv_oid *gkv_reflog_new_id(const gkv_reflog *log, size_t i)
{
	return i < log->count ? &log->entries[i].new_id : NULL;
}

const gkv_signature *gkv_reflog_signature(const gkv_reflog *log, size_t i)
{
	return i < log->count ? &log->entries[i].sig : NULL;
}

const char *gkv_reflog_message(const gkv_reflog *log, size_t i)
{
	return i < log->count ? log->entries[i].message : NULL;
}

void gkv_reflog_free(gkv_reflog *log)
{
	if (!log)
		return;
	entries_free(log);
	free(log);
}
