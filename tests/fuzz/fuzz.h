/*
 * fuzz.h -- what every fuzz target and the stand-alone driver share: the
 * libFuzzer entry point, and a check that aborts (so that both libFuzzer
 * and the driver report the input) when a property does not hold.
 */
#ifndef GKV_FUZZ_H
#define GKV_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__,        \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif
