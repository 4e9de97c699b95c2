/*
 * git_error.c -- libgit2's errors as gitkv's: a GKV_E_* code chosen from
 * libgit2's return code and error class, and a message that says what
 * gitkv was doing (which object, ref or path) followed by libgit2's own
 * words from git_error_last().
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "git_internal.h"

static int code_of(int gitrc, const git_error *e, int fallback)
{
	switch (gitrc) {
	case GIT_ENOTFOUND:
		return GKV_E_NOTFOUND;
	case GIT_EEXISTS:
		return GKV_E_EXISTS;
	case GIT_EAMBIGUOUS:
		return GKV_E_AMBIGUOUS;
	case GIT_EINVALIDSPEC:
	case GIT_EINVALID:
		return GKV_E_INVALID;
	/* Another writer holds the lock, or the value moved under us: the
	 * caller's retry loop (the store's) tries again. */
	case GIT_ELOCKED:
	case GIT_EMODIFIED:
		return GKV_E_CONFLICT;
	case GIT_EMISMATCH:
		return GKV_E_CORRUPT;
	case GIT_EOWNER:
		return GKV_E_IO;
	default:
		break;
	}
	if (!e)
		return fallback;
	switch (e->klass) {
	case GIT_ERROR_NOMEMORY:
		return GKV_E_NOMEM;
	case GIT_ERROR_OS:
		/* libgit2 keeps errno's text in the message, not errno itself. */
		if (errno == ENOSPC || errno == EDQUOT ||
		    (e->message &&
		     (strstr(e->message, "No space left") || strstr(e->message, "quota"))))
			return GKV_E_FULL;
		return GKV_E_IO;
	default:
		return fallback;
	}
}

int gkv__git_error(int gitrc, int fallback, const char *fmt, ...)
{
	const git_error *e = git_error_last();
	char what[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return gkv_error_set(code_of(gitrc, e, fallback), "%s: %s", what,
			     e && e->message ? e->message : "libgit2 gave no reason");
}

int gkv__git_check_writable(const gkv__git *g)
{
	if (g->readonly)
		return gkv_error_set(GKV_E_READONLY, "git repository '%s' was opened read-only",
				     g->path);
	return 0;
}

int gkv__git_writer_ready(gkv__git *g)
{
	int rc = gkv__git_start(g);

	if (rc < 0)
		return rc;
	if (g->wrepo)
		return 0;
	return gkv__git_reopen_writer(g);
}
