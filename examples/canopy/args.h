/*
 * args.h -- Canopy's command line.
 */
#ifndef CANOPY_ARGS_H
#define CANOPY_ARGS_H

typedef struct {
	char *remote;		 /* the URL, without "#BRANCH" */
	char *branch;		 /* the "#BRANCH" part, or NULL: the remote's HEAD */
	const char *store;	 /* default "mem:" */
	const char *listen;	 /* default "0.0.0.0" */
	unsigned port;		 /* default 8080; 0: any free port */
	const char *hook;	 /* default "push" */
	const char *hook_secret; /* --hook-secret or $CANOPY_HOOK_SECRET; NULL: none */
	unsigned poll;		 /* seconds between fetches without a hook; 0: never */
	unsigned watch_ms;	 /* how often a shared store is checked for changes made
				  * by other processes; 0: never */
	unsigned threads;	 /* HTTP worker threads */
	const char *render_to;	 /* write every page under this directory, then exit */
} canopy_args;

/*
 * Parse argv into *a. Returns 0 to run, 1 when --help was printed (exit
 * 0), -1 on a usage error (printed on stderr; exit 2).
 */
int args_parse(canopy_args *a, int argc, char **argv);
void args_dispose(canopy_args *a);

#endif
