/*
 * main.c -- canopy: a blog served from a git remote through gitkv, live
 * on push. See README.md for the content layout, options and routes.
 *
 * Start-up clones (or reopens and fetches) the content, builds every
 * page, then serves from memory until SIGINT or SIGTERM; the hook, the
 * poll and the watch replace the pages as the content moves.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "blog.h"
#include "export.h"
#include "hook.h"
#include "server.h"

int main(int argc, char **argv)
{
	canopy_args args;
	int rc = args_parse(&args, argc, argv);
	if (rc != 0)
		return rc > 0 ? 0 : 2;
	signal(SIGPIPE, SIG_IGN);
	blog b;
	if (blog_open(&b, &args) < 0) {
		blog_close(&b);
		args_dispose(&args);
		return 1;
	}
	if (args.render_to) {
		snapshot *s = blog_current(&b);
		rc = export_snapshot(s, args.render_to) < 0 ? 1 : 0;
		snapshot_unref(s);
		blog_close(&b);
		args_dispose(&args);
		return rc;
	}
	/* Every thread started from here on inherits the blocked signals;
	 * the main thread takes them with sigwait. (Until now they stop the
	 * process as usual, a clone included.) */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	server *srv = NULL;
	unsigned port = 0;
	ticker t;
	memset(&t, 0, sizeof(t));
	rc = 1;
	if (server_start(&srv, &port, &b) == 0 && ticker_start(&t, &b) == 0) {
		fprintf(stderr, "canopy: listening on %s port %u (hook /%s%s)\n", args.listen, port,
			args.hook, args.hook_secret ? ", signed" : "");
		int sig;
		sigwait(&stop, &sig);
		fprintf(stderr, "canopy: stopping (signal %d)\n", sig);
		rc = 0;
	}
	server_stop(srv);
	ticker_stop(&t);
	blog_close(&b);
	args_dispose(&args);
	return rc;
}
