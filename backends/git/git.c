/* placeholder: the git backend is being written (issue 3). */
#include "../../store/common.h"

int gkv_backend_git_open(gkv_backend **out, const char *path, unsigned int flags)
{
	(void)flags;
	*out = NULL;
	return gkv_error_set(GKV_E_UNSUPPORTED, "store 'git:%s': the git backend is not built in yet", path);
}

int gkv_backend_git_detect(const char *path)
{
	(void)path;
	return 0;
}
