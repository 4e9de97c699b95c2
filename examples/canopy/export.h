/*
 * export.h -- writing a snapshot's pages to files (--render-to): a
 * static copy of the blog that any web server can serve.
 */
#ifndef CANOPY_EXPORT_H
#define CANOPY_EXPORT_H

#include "site.h"

/*
 * Write every page of s that answers 200 under dir: a file under
 * static/ at its own path, any other route R at R/index.html ("" at
 * index.html). Returns 0, or -1 with the reason on stderr.
 */
int export_snapshot(const snapshot *s, const char *dir);

#endif
