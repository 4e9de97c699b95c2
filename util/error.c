/*
 * error.c -- the thread-local last error: a code and a one-line message.
 * Every failing path raises through gkv_error_set so that callers (and the
 * CLI) can say what failed and on which input.
 */
#include <stdarg.h>
#include <stdio.h>

#include "util.h"

static _Thread_local int last_code;
static _Thread_local char last_msg[1024];

int gkv_error_set(int code, const char *fmt, ...)
{
	va_list ap;

	last_code = code;
	va_start(ap, fmt);
	vsnprintf(last_msg, sizeof(last_msg), fmt, ap);
	va_end(ap);
	return code;
}

int gkv__oom(void)
{
	last_code = GKV_E_NOMEM;
	memcpy(last_msg, "out of memory", sizeof("out of memory"));
	return GKV_E_NOMEM;
}

const char *gkv_error_last(void)
{
	return last_code == GKV_OK ? "no error" : last_msg;
}

int gkv_error_last_code(void)
{
	return last_code;
}

void gkv_error_clear(void)
{
	last_code = GKV_OK;
	last_msg[0] = '\0';
}

const char *gkv_strerror(int code)
{
	switch (code) {
	case GKV_OK: return "no error";
	case GKV_E_ERROR: return "error";
	case GKV_E_NOTFOUND: return "not found";
	case GKV_E_EXISTS: return "already exists";
	case GKV_E_INVALID: return "invalid argument";
	case GKV_E_CONFLICT: return "conflict";
	case GKV_E_CORRUPT: return "corrupt object";
	case GKV_E_IO: return "I/O error";
	case GKV_E_NOMEM: return "out of memory";
	case GKV_E_FULL: return "storage full";
	case GKV_E_READONLY: return "read-only store";
	case GKV_E_AMBIGUOUS: return "ambiguous id";
	case GKV_E_UNSUPPORTED: return "unsupported";
	case GKV_E_NONFASTFORWARD: return "not a fast-forward";
	case GKV_E_USER: return "stopped by callback";
	case GKV_E_TOOLARGE: return "value too large";
	case GKV_E_NETWORK: return "remote unreachable or transfer failed";
	case GKV_E_AUTH: return "authentication failed";
	case GKV_ITEROVER: return "iteration over";
	default: return "unknown error";
	}
}
