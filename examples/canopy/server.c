/*
 * server.c -- answering requests (server.h).
 *
 * Pages are prepared responses: a request looks its path up in the
 * current snapshot and queues the page's response as it is (libmicrohttpd
 * counts its references, so the snapshot can be replaced meanwhile).
 * Only the hook reads a body, up to SERVER_MAX_BODY, to check its
 * signature before fetching. Paths are checked before any lookup: no
 * "." or ".." segment (after libmicrohttpd has decoded %2e), no NUL,
 * bounded length.
 */
#include "server.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "hook.h"
#include "strbuf.h"

struct server {
	blog *blog;
	struct MHD_Daemon *daemon;
	pthread_mutex_t lock;
	pthread_cond_t idle;
	unsigned updates; /* hook threads running (under lock) */
};

/* At most this many hook calls wait for an update at once (more: 503). */
#define SERVER_MAX_UPDATES 8

/* What one request carries between the calls of the handler. A hook
 * call is suspended while its update runs on a thread of its own, so
 * that the worker thread goes on serving other connections (from the
 * old snapshot) during the fetch. */
typedef struct {
	int is_hook;
	int too_large;
	strbuf body;
	int done; /* the update finished: answer status/text */
	unsigned status;
	char text[600];
	server *srv;
	struct MHD_Connection *conn;
} request;

static enum MHD_Result answer_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	enum MHD_Result ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* Whether the If-None-Match header names etag (or is "*"). */
static int etag_matches(const char *header, const char *etag)
{
	if (!header || !etag[0])
		return 0;
	size_t n = strlen(etag);
	for (const char *p = header; *p;) {
		while (*p == ' ' || *p == ',')
			p++;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (*p == '*' ||
		    (strncmp(p, etag, n) == 0 && (p[n] == '\0' || p[n] == ',' || p[n] == ' ')))
			return 1;
		while (*p && *p != ',')
			p++;
	}
	return 0;
}

/* Strip the leading and trailing '/'; refuse "." and ".." segments and
 * empty ones inside ("a//b"). Returns the path (in buf) or NULL. */
static const char *clean_path(char *buf, size_t size, const char *url)
{
	while (*url == '/')
		url++;
	size_t n = strlen(url);
	while (n && url[n - 1] == '/')
		n--;
	if (n >= size)
		return NULL;
	memcpy(buf, url, n);
	buf[n] = '\0';
	const char *seg = buf;
	for (;;) {
		const char *end = strchr(seg, '/');
		size_t len = end ? (size_t)(end - seg) : strlen(seg);
		if ((len == 0 && n > 0) || (len == 1 && seg[0] == '.') ||
		    (len == 2 && seg[0] == '.' && seg[1] == '.'))
			return NULL;
		if (!end)
			return buf;
		seg = end + 1;
	}
}

static enum MHD_Result serve_page(struct MHD_Connection *conn, blog *b, const char *path)
{
	snapshot *s = blog_current(b);
	page *p = snapshot_lookup(s, path);
	unsigned status;
	enum MHD_Result ret;
	if (!p) {
		p = s->notfound;
		status = MHD_HTTP_NOT_FOUND;
	} else {
		status = (unsigned)p->status;
	}
	const char *inm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "If-None-Match");
	if (status == MHD_HTTP_OK && etag_matches(inm, p->etag)) {
		struct MHD_Response *r =
		    MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
		if (!r) {
			snapshot_unref(s);
			return MHD_NO;
		}
		MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, p->etag);
		ret = MHD_queue_response(conn, MHD_HTTP_NOT_MODIFIED, r);
		MHD_destroy_response(r);
	} else if (p) {
		ret = MHD_queue_response(conn, status, p->resp);
	} else {
		ret = answer_text(conn, MHD_HTTP_NOT_FOUND, "not found\n");
	}
	snapshot_unref(s);
	return ret;
}

static void *update_thread(void *arg)
{
	request *req = arg;
	server *srv = req->srv;
	blog *b = srv->blog;
	char err[512];
	if (blog_fetch(b, err, sizeof(err)) < 0) {
		fprintf(stderr, "canopy: hook: keeping the old content: %s\n", err);
		req->status = MHD_HTTP_BAD_GATEWAY;
		snprintf(req->text, sizeof(req->text), "update failed, old content kept: %s\n",
			 err);
	} else {
		snapshot *s = blog_current(b);
		char hex[41];
		gkv_oid_fmt(hex, &s->commit);
		snapshot_unref(s);
		req->status = MHD_HTTP_OK;
		snprintf(req->text, sizeof(req->text), "serving %s\n", hex);
	}
	req->done = 1;
	/* The handler runs again once resumed, on the worker thread (a
	 * happens-before through libmicrohttpd's own locking). */
	MHD_resume_connection(req->conn);
	pthread_mutex_lock(&srv->lock);
	if (--srv->updates == 0)
		pthread_cond_broadcast(&srv->idle);
	pthread_mutex_unlock(&srv->lock);
	return NULL;
}

static enum MHD_Result run_hook(struct MHD_Connection *conn, blog *b, request *req)
{
	const canopy_args *a = b->args;
	if (req->done)
		return answer_text(conn, req->status, req->text);
	if (req->too_large)
		return answer_text(conn, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large\n");
	if (a->hook_secret) {
		const char *gh =
		    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Hub-Signature-256");
		const char *gt =
		    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Gitea-Signature");
		if (!hook_signature_ok(a->hook_secret, gh, gt, req->body.ptr ? req->body.ptr : "",
				       req->body.len)) {
			fprintf(stderr, "canopy: hook refused: missing or bad signature\n");
			return answer_text(conn, MHD_HTTP_FORBIDDEN, "bad or missing signature\n");
		}
	}
	server *srv = req->srv;
	pthread_mutex_lock(&srv->lock);
	int busy = srv->updates >= SERVER_MAX_UPDATES;
	if (!busy)
		srv->updates++;
	pthread_mutex_unlock(&srv->lock);
	if (busy)
		return answer_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
				   "too many updates waiting\n");
	req->conn = conn;
	pthread_attr_t attr;
	pthread_t t;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	MHD_suspend_connection(conn);
	int rc = pthread_create(&t, &attr, update_thread, req);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		MHD_resume_connection(conn);
		pthread_mutex_lock(&srv->lock);
		if (--srv->updates == 0)
			pthread_cond_broadcast(&srv->idle);
		pthread_mutex_unlock(&srv->lock);
		req->done = 1;
		req->status = MHD_HTTP_SERVICE_UNAVAILABLE;
		snprintf(req->text, sizeof(req->text), "cannot start the update\n");
	}
	return MHD_YES;
}

/* *con_cls of a GET or HEAD between the handler's first call (headers
 * read) and its last: libmicrohttpd keeps a connection alive only for a
 * response queued after the first call. */
static char page_request;

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_size, void **con_cls)
{
	server *srv = cls;
	blog *b = srv->blog;
	char buf[SERVER_MAX_URL + 1];
	if (!*con_cls) {
		/* Refusals are answered at once (and close the connection). */
		if (strlen(url) > SERVER_MAX_URL)
			return answer_text(conn, MHD_HTTP_URI_TOO_LONG, "URL too long\n");
		const char *path = clean_path(buf, sizeof(buf), url);
		if (!path)
			return answer_text(conn, MHD_HTTP_BAD_REQUEST, "bad path\n");
		if (strcmp(path, b->args->hook) == 0) {
			request *req = calloc(1, sizeof(*req));
			if (!req)
				return MHD_NO;
			req->is_hook = 1;
			req->srv = srv;
			*con_cls = req;
			return MHD_YES; /* the body comes in the next calls */
		}
		if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
		    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
			return answer_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
					   "method not allowed\n");
		*con_cls = &page_request;
		return MHD_YES;
	}
	if (*con_cls == &page_request) {
		if (*upload_size) {
			*upload_size = 0; /* a GET with a body: ignored */
			return MHD_YES;
		}
		return serve_page(conn, b, clean_path(buf, sizeof(buf), url));
	}
	request *req = *con_cls;
	if (*upload_size) {
		if (req->body.len + *upload_size > SERVER_MAX_BODY)
			req->too_large = 1;
		else
			sb_add(&req->body, upload_data, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	return run_hook(conn, b, req);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		      enum MHD_RequestTerminationCode code)
{
	request *req = *con_cls;
	if (req && *con_cls != &page_request) {
		sb_free(&req->body);
		free(req);
	}
	*con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	fputs("canopy: http: ", stderr);
	vfprintf(stderr, fmt, ap);
}

int server_start(server **out, unsigned *port, blog *b)
{
	const canopy_args *a = b->args;
	*out = NULL;
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG |
			 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO;
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, a->listen, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)a->port);
	} else if (inet_pton(AF_INET6, a->listen, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)a->port);
		flags |= MHD_USE_IPv6;
	} else {
		fprintf(stderr, "canopy: --listen wants an IPv4 or IPv6 address, not '%s'\n",
			a->listen);
		return -1;
	}
	server *s = calloc(1, sizeof(*s));
	if (!s)
		return -1;
	s->blog = b;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->idle, NULL);
	s->daemon = MHD_start_daemon(
	    flags, (uint16_t)a->port, NULL, NULL, handle, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
	    NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE,
	    (unsigned int)a->threads, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30, MHD_OPTION_NOTIFY_COMPLETED, completed,
	    NULL, MHD_OPTION_END);
	if (!s->daemon) {
		fprintf(stderr, "canopy: cannot listen on %s port %u\n", a->listen, a->port);
		pthread_cond_destroy(&s->idle);
		pthread_mutex_destroy(&s->lock);
		free(s);
		return -1;
	}
	const union MHD_DaemonInfo *info =
	    MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	*port = info ? info->port : a->port;
	*out = s;
	return 0;
}

void server_stop(server *s)
{
	if (!s)
		return;
	/* A suspended hook call must be resumed before the daemon stops. */
	pthread_mutex_lock(&s->lock);
	while (s->updates > 0)
		pthread_cond_wait(&s->idle, &s->lock);
	pthread_mutex_unlock(&s->lock);
	MHD_stop_daemon(s->daemon);
	pthread_cond_destroy(&s->idle);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
