/*
 * progress.c -- the progress bar of progress.h: one line on stderr,
 * rewritten in place with a carriage return, "LABEL [#####     ]  42%
 * 420/1000  1.2 MiB". Drawn only when stdout is a terminal, so that
 * output captured by a script holds no bar, and throttled so that a fast
 * loop does not spend its time drawing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"

#define BAR_WIDTH 30

struct kv_progress {
	char *label;
	uint64_t done, total, bytes;
	struct timespec last; /* when it was last drawn */
	int drawn;
};

kv_progress *kv_progress_start(const char *label)
{
	kv_progress *p;

	if (!isatty(STDOUT_FILENO))
		return NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL || (p->label = strdup(label)) == NULL) {
		free(p);
		return NULL;
	}
	return p;
}

static void draw(kv_progress *p)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double size = (double)p->bytes;
	size_t u = 0, fill, i;
	char bar[BAR_WIDTH + 1];

	while (size >= 1024 && u + 1 < sizeof(units) / sizeof(units[0]))
		size /= 1024, u++;
	fprintf(stderr, "\r%s ", p->label);
	if (p->total) {
		fill = p->done >= p->total ? BAR_WIDTH : (size_t)(p->done * BAR_WIDTH / p->total);
		for (i = 0; i < BAR_WIDTH; i++)
			bar[i] = i < fill ? '#' : ' ';
		bar[BAR_WIDTH] = '\0';
		fprintf(stderr, "[%s] %3u%% %llu/%llu", bar,
			(unsigned)(p->done >= p->total ? 100 : p->done * 100 / p->total),
			(unsigned long long)p->done, (unsigned long long)p->total);
	} else {
		fprintf(stderr, "%llu", (unsigned long long)p->done);
	}
	if (p->bytes)
		fprintf(stderr, "  %.1f %s", size, units[u]);
	fputs("\033[K", stderr); /* clear what a longer line left */
	fflush(stderr);
	p->drawn = 1;
}

void kv_progress_update(kv_progress *p, uint64_t done, uint64_t total, uint64_t bytes)
{
	struct timespec now;
	long long ms;

	if (!p)
		return;
	p->done = done;
	p->total = total;
	p->bytes = bytes;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (now.tv_sec - p->last.tv_sec) * 1000LL + (now.tv_nsec - p->last.tv_nsec) / 1000000;
	if (p->drawn && ms < 100)
		return;
	p->last = now;
	draw(p);
}

void kv_progress_end(kv_progress *p)
{
	if (!p)
		return;
	draw(p);
	fputc('\n', stderr);
	free(p->label);
	free(p);
}
