/*
 * fuzz.h -- what every fuzz target and the stand-alone driver share: the
 * libFuzzer entry point, a check that aborts (so that both libFuzzer and
 * the driver report the input) when a property does not hold, and the
 * temporary folders of the targets that read files.
 */
#ifndef GKV_FUZZ_H
#define GKV_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__,        \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* A fresh folder /tmp/gkv-fuzz-<tag>-XXXXXX (malloc()ed), or abort. */
static inline char *fuzz_tmpdir(const char *tag)
{
	char *p = malloc(64);

	FUZZ_CHECK(p != NULL);
	snprintf(p, 64, "/tmp/gkv-fuzz-%s-XXXXXX", tag);
	FUZZ_CHECK(mkdtemp(p) != NULL);
	return p;
}

/* Remove path and everything under it (nothing if it is not there). */
static inline void fuzz_rmtree(const char *path)
{
	char cmd[4200];

	/* rm is enough for a folder the target itself made under /tmp */
	if (strncmp(path, "/tmp/gkv-fuzz-", 14) != 0 || strchr(path, '\'') != NULL)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", path);
}

#endif
