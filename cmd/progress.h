/*
 * progress: a status line on stderr for long work, like dd's
 * status=progress.
 *
 * A command creates one meter per piece of work and feeds it the bytes done
 * so far (cli_progress_update, cheap enough to call per buffer: it looks at
 * the clock only every few MiB).  The line is drawn when stderr is a
 * terminal or --progress was given, never otherwise; it first appears once
 * the work has run VB_PROGRESS_DELAY seconds (default 1, so quick work on
 * a terminal stays silent) and is redrawn at most once a second.
 * cli_progress_done prints the final figures on their own line when the
 * line was drawn, or always with --progress.  One format for every
 * command (progress.c): the bytes done, with the total and the percent
 * when it is known, the seconds, the rate, and on updates with a total an
 * ETA.
 *
 * A meter is the caller's from cli_progress_start until cli_progress_done
 * frees it; every call accepts NULL (no meter: nothing to show).  The
 * --progress flags are process-wide; a meter is not thread-safe: one
 * thread updates it.
 */
#ifndef VB_PROGRESS_H
#define VB_PROGRESS_H

#include <popt.h>
#include <stdint.h>

/* --progress and --no-progress, for the popt table of a command. */
extern struct poptOption cli_progress_options[];

struct cli_progress;

/* A meter for work described by `what` ("flattened", "copied"...);
 * `total` is the bytes expected (0: not known).  NULL when no progress is
 * to be shown (or out of memory): the other calls accept NULL. */
struct cli_progress *cli_progress_start(const char *what, uint64_t total);
/* The same, but without --progress only when `by_default` (vb-cat shows
 * progress by itself only when its output is a file). */
struct cli_progress *cli_progress_start_if(const char *what, uint64_t total, int by_default);
void cli_progress_update(struct cli_progress *p, uint64_t done);
/* The final line (see above) when `ok`; after a failure only the line
 * drawn so far is ended.  Frees the meter. */
void cli_progress_done(struct cli_progress *p, uint64_t done, int ok);

/* Adapter for library callbacks: arg is a struct cli_progress *; a
 * nonzero `total` sets the meter's total when it has none. */
void cli_progress_cb(void *arg, uint64_t done, uint64_t total);

#endif
