/*
 * progress.c -- kvctl's progress bar (see progress.h).
 *
 * The line is redrawn with a carriage return and "erase to the end of
 * the line" (ESC [ K), which every terminal kvctl would draw on
 * understands; it is cut to the terminal's width so that it never wraps,
 * since a wrapped line cannot be redrawn in place. Redraws are rate-
 * limited by the monotonic clock, so a caller may report every object.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"

/* Nanoseconds between two redraws: at most ten a second. */
#define KV_PROGRESS_INTERVAL 100000000ull

struct kv_progress {
	char *label;
	uint64_t start;	    /* monotonic ns at kv_progress_start */
	uint64_t last_draw; /* monotonic ns of the last redraw; 0: never */
	uint64_t done, total, bytes;
	int drawn; /* something is on the line */
};

static int allowed = 1;

void kv_progress_allow(int allow)
{
	allowed = allow;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

kv_progress *kv_progress_start(const char *label)
{
	kv_progress *p;

	if (!allowed || !label || !isatty(STDOUT_FILENO) || !isatty(STDERR_FILENO))
		return NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	if ((p->label = strdup(label)) == NULL) {
		free(p);
		return NULL;
	}
	p->start = now_ns();
	return p;
}

/* n bytes as "512 B", "1.50 KiB", "3.20 MiB", "1.02 GiB" into buf. */
static void human_bytes(char *buf, size_t size, double n)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	size_t u = 0;

	while (n >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		n /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%.0f %s", n, units[u]);
	else
		snprintf(buf, size, "%.2f %s", n, units[u]);
}

/* The terminal's width in columns (80 when it does not say). */
static size_t term_width(void)
{
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

static void draw(kv_progress *p, uint64_t now, const char *end)
{
	char line[512], b[32], r[32];
	size_t len, width = term_width();
	double secs = (double)(now - p->start) / 1e9;

	if (p->total > 0)
		len = (size_t)snprintf(
		    line, sizeof(line), "%s: %3u%% (%llu/%llu)", p->label,
		    (unsigned)(p->done >= p->total ? 100 : p->done * 100 / p->total),
		    (unsigned long long)p->done, (unsigned long long)p->total);
	else
		len = (size_t)snprintf(line, sizeof(line), "%s: %llu", p->label,
				       (unsigned long long)p->done);
	if (len < sizeof(line) && p->bytes > 0) {
		human_bytes(b, sizeof(b), (double)p->bytes);
		if (secs >= 0.5) {
			human_bytes(r, sizeof(r), (double)p->bytes / secs);
			len +=
			    (size_t)snprintf(line + len, sizeof(line) - len, ", %s | %s/s", b, r);
		} else {
			len += (size_t)snprintf(line + len, sizeof(line) - len, ", %s", b);
		}
	}
	if (len >= sizeof(line))
		len = sizeof(line) - 1;
	/* Leave the last column free: writing there wraps on some terminals. */
	if (width > 1 && len > width - 1)
		len = width - 1;
	fprintf(stderr, "\r%.*s\033[K%s", (int)len, line, end);
	fflush(stderr);
	p->drawn = 1;
	p->last_draw = now;
}

void kv_progress_update(kv_progress *p, uint64_t done, uint64_t total, uint64_t bytes)
{
	uint64_t now;

	if (!p || (p->drawn && done == p->done && total == p->total && bytes == p->bytes))
		return; /* nothing new to show */
	p->done = done;
	p->total = total;
	p->bytes = bytes;
	now = now_ns();
	/* The first update draws at once; then at most one redraw an
	 * interval, and the last one (done reaching total) always. */
	if (p->drawn && now - p->last_draw < KV_PROGRESS_INTERVAL && !(total > 0 && done == total))
		return;
	draw(p, now, "");
}

void kv_progress_end(kv_progress *p)
{
	if (!p)
		return;
	if (p->drawn)
		draw(p, now_ns(), ", done.\n");
	free(p->label);
	free(p);
}
