/*
 * progress.h -- the progress bar of kvctl's long commands (clone, fetch,
 * pull, push, import, export, gc, fsck).
 *
 * A bar is one line on stderr, redrawn in place: the label, objects done
 * out of total (with a percentage when the total is known), the bytes so
 * far and the rate. It is drawn only when both stdout and stderr are
 * terminals and kvctl was not given -q: a script reading stdout, or a
 * log file, never sees it. Every function accepts NULL, so a command
 * may call them unconditionally.
 */
#ifndef KVCTL_PROGRESS_H
#define KVCTL_PROGRESS_H

#include <stdint.h>

typedef struct kv_progress kv_progress;

/* A new bar labelled label (copied), or NULL when no bar is to be drawn
 * (not a terminal, -q, out of memory). Nothing is drawn before the
 * first update. */
kv_progress *kv_progress_start(const char *label);

/* Where the work stands: done objects of total (0: not known yet) and
 * bytes so far (0: not shown). Redraws at most about ten times a second,
 * and whenever done reaches total. */
void kv_progress_update(kv_progress *p, uint64_t done, uint64_t total, uint64_t bytes);

/* Draw the final state, end the line (", done.") and free p. A bar
 * that never drew anything leaves nothing on the screen. */
void kv_progress_end(kv_progress *p);

/* Called once by main() before the command runs: 0 when the command
 * line said -q, so that no bar is ever drawn. The one setting shared by
 * every command, set before any of them runs. */
void kv_progress_allow(int allowed);

#endif /* KVCTL_PROGRESS_H */
