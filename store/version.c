/*
 * version.c -- the library's version, as the header and the build state it.
 */
#include "common.h"

void gkv_version(int *major, int *minor, int *patch)
{
	if (major)
		*major = GKV_VERSION_MAJOR;
	if (minor)
		*minor = GKV_VERSION_MINOR;
	if (patch)
		*patch = GKV_VERSION_PATCH;
}

const char *gkv_version_string(void)
{
	return GKV_VERSION_STRING;
}
