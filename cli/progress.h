/*
 * progress.h -- a progress bar for kvctl's long work, drawn on stderr
 * only when stdout is a terminal (a person is watching), never in a pipe
 * or a script. Every function accepts NULL and then does nothing, so a
 * command passes the bar it got (NULL when none is drawn) without checks.
 */
#ifndef KVCTL_PROGRESS_H
#define KVCTL_PROGRESS_H

#include <stdint.h>

typedef struct kv_progress kv_progress;

/* A bar labelled label (copied), or NULL when none is to be drawn: stdout
 * is not a terminal, or memory ran out. */
kv_progress *kv_progress_start(const char *label);
/* done of total items (total 0: not known) and bytes so far; redrawn at
 * most ten times a second. */
void kv_progress_update(kv_progress *p, uint64_t done, uint64_t total, uint64_t bytes);
/* Draw the last figures, end the line and free the bar. */
void kv_progress_end(kv_progress *p);

#endif /* KVCTL_PROGRESS_H */
