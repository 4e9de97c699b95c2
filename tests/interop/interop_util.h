/*
 * interop_util.h -- what the interop tests share: running a shell command
 * (git, mostly) built printf-style. Include after <cmocka.h>.
 */
#ifndef GKV_INTEROP_UTIL_H
#define GKV_INTEROP_UTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* Run the command (printf-style; it must fit 4 KiB); its system() status. */
static inline int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(cmd));
	return system(cmd);
}

#endif
