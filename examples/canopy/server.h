/*
 * server.h -- the HTTP server (libmicrohttpd), answering from the blog's
 * current snapshot.
 */
#ifndef CANOPY_SERVER_H
#define CANOPY_SERVER_H

#include "blog.h"

typedef struct server server;

/* The longest URL path answered (longer: 414). Headers as a whole are
 * bounded by the per-connection memory limit (longer: 431). */
#define SERVER_MAX_URL 2048
/* The largest request body read (the hook's; larger: 413). */
#define SERVER_MAX_BODY (1024 * 1024)

/* Listen on args->listen:args->port and serve b. *port gets the port
 * bound (useful with --port 0). Returns 0 or -1 (printed on stderr). */
int server_start(server **out, unsigned *port, blog *b);
void server_stop(server *s);

#endif
