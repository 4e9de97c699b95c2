/*
 * args.c -- parsing Canopy's command line (see args.h and README.md).
 */
#include "args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: canopy --remote URL[#BRANCH] [options]\n"
    "\n"
    "Serve the blog held in a git repository, following every push.\n"
    "\n"
    "  --remote URL[#BRANCH]  the content repository (default branch: the remote's HEAD)\n"
    "  --store URI            where the clone lives: mem: (default), lmdb:PATH, git:PATH\n"
    "  --listen ADDR          address to listen on (default 0.0.0.0)\n"
    "  --port N               port (default 8080; 0: any free port)\n"
    "  --hook NAME            path that fetches the remote (default push: /push)\n"
    "  --hook-secret SECRET   require a GitHub or Gitea webhook signature made with\n"
    "                         SECRET (or set CANOPY_HOOK_SECRET)\n"
    "  --poll SECONDS         also fetch every SECONDS (default 0: only on the hook)\n"
    "  --watch MS             check a shared store for changes made by other processes\n"
    "                         every MS milliseconds (default 1000; 0: never)\n"
    "  --threads N            HTTP worker threads (default: the number of CPUs)\n"
    "  --render-to DIR        write every page under DIR and exit\n"
    "  --help                 this text\n";

static int number(unsigned *out, const char *opt, const char *s, unsigned long max)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v > max) {
		fprintf(stderr, "canopy: %s wants a number from 0 to %lu, not '%s'\n", opt, max, s);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

int args_parse(canopy_args *a, int argc, char **argv)
{
	memset(a, 0, sizeof(*a));
	a->store = "mem:";
	a->listen = "0.0.0.0";
	a->port = 8080;
	a->hook = "push";
	a->watch_ms = 1000;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	a->threads = cpus > 0 && cpus < 64 ? (unsigned)cpus : 2;
	const char *remote = NULL;
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i];
		if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
			fputs(usage, stdout);
			return 1;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "canopy: unknown option or missing value: '%s'\n%s", opt,
				usage);
			return -1;
		}
		const char *val = argv[++i];
		int rc = 0;
		if (strcmp(opt, "--remote") == 0)
			remote = val;
		else if (strcmp(opt, "--store") == 0)
			a->store = val;
		else if (strcmp(opt, "--listen") == 0)
			a->listen = val;
		else if (strcmp(opt, "--port") == 0)
			rc = number(&a->port, opt, val, 65535);
		else if (strcmp(opt, "--hook") == 0)
			a->hook = val;
		else if (strcmp(opt, "--hook-secret") == 0)
			a->hook_secret = val;
		else if (strcmp(opt, "--poll") == 0)
			rc = number(&a->poll, opt, val, 86400 * 365);
		else if (strcmp(opt, "--watch") == 0)
			rc = number(&a->watch_ms, opt, val, 3600 * 1000);
		else if (strcmp(opt, "--threads") == 0)
			rc = number(&a->threads, opt, val, 256);
		else if (strcmp(opt, "--render-to") == 0)
			a->render_to = val;
		else {
			fprintf(stderr, "canopy: unknown option '%s'\n%s", opt, usage);
			return -1;
		}
		if (rc < 0)
			return -1;
	}
	if (!remote || !remote[0]) {
		fprintf(stderr, "canopy: --remote is required\n%s", usage);
		return -1;
	}
	if (a->threads == 0)
		a->threads = 1;
	if (!a->hook[0] || strchr(a->hook, '/') || strcmp(a->hook, ".") == 0 ||
	    strcmp(a->hook, "..") == 0) {
		fprintf(stderr, "canopy: --hook wants one path segment, not '%s'\n", a->hook);
		return -1;
	}
	if (!a->hook_secret) {
		const char *env = getenv("CANOPY_HOOK_SECRET");
		if (env && env[0])
			a->hook_secret = env;
	}
	if (a->hook_secret && !a->hook_secret[0])
		a->hook_secret = NULL;
	const char *hash = strrchr(remote, '#');
	a->remote = strndup(remote, hash ? (size_t)(hash - remote) : strlen(remote));
	a->branch = hash && hash[1] ? strdup(hash + 1) : NULL;
	if (!a->remote || (hash && hash[1] && !a->branch) || !a->remote[0]) {
		fprintf(stderr, "canopy: bad --remote '%s'\n", remote);
		args_dispose(a);
		return -1;
	}
	return 0;
}

void args_dispose(canopy_args *a)
{
	free(a->remote);
	free(a->branch);
	a->remote = a->branch = NULL;
}
