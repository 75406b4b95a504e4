/*
 * progress: the status line of long work (see progress.h), one format for
 * every command, dd's with the total, the percent and an ETA when the
 * total is known:
 *
 *   DONE[ of TOTAL] bytes (SI, IEC[, P%]) WHAT, SECS s, RATE/s[, ETA H:MM:SS]
 *
 *   1073741824 bytes (1.1 GB, 1.0 GiB) copied, 2.10 s, 511.3 MB/s
 *   536870912 of 1073741824 bytes (536.9 MB, 512.0 MiB, 50%) copied, 1.05 s, 511.3 MB/s, ETA 0:00:01
 *
 * The ETA (the bytes left at the rate so far; "-:--:--" before any byte)
 * is on the updates only: the final line says how long the work took.
 *
 * Redrawn in place with a carriage return and an erase to the end of the
 * line on a terminal; written as separate lines when stderr is a file or
 * a pipe (--progress), so a log keeps every update.
 */
#include "progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int opt_progress, opt_no_progress;

struct poptOption cli_progress_options[] = {
	{"progress", 0, POPT_ARG_NONE, &opt_progress, 0,
	 "show progress on stderr even when it is not a terminal", NULL},
	{"no-progress", 0, POPT_ARG_NONE, &opt_no_progress, 0,
	 "never show progress (the default when stderr is not a terminal)", NULL},
	POPT_TABLEEND
};

struct cli_progress {
	const char *what;
	uint64_t total;
	double start, last, delay;
	uint64_t next_check;   /* bytes at which to look at the clock again */
	unsigned calls;        /* updates since the clock was last looked at */
	int tty, forced, drawn;
};

#define CHECK_EVERY ((uint64_t)4 << 20)
/* ... or every this many updates (work that reports before its bytes
 * move, as a compaction collecting what it keeps) */
#define CHECK_CALLS 4096u

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct cli_progress *cli_progress_start(const char *what, uint64_t total)
{
	return cli_progress_start_if(what, total, 1);
}

struct cli_progress *cli_progress_start_if(const char *what, uint64_t total, int by_default)
{
	int tty = isatty(STDERR_FILENO);
	struct cli_progress *p;
	const char *d = getenv("VB_PROGRESS_DELAY");

	if (opt_no_progress || (!opt_progress && (!tty || !by_default)))
		return NULL;
	if (!(p = calloc(1, sizeof *p)))
		return NULL;
	p->what = what;
	p->total = total;
	p->tty = tty;
	p->forced = opt_progress;
	p->start = p->last = now();
	p->delay = 1;
	if (d && *d) {
		char *end;
		double v = strtod(d, &end);
		if (!*end && v >= 0 && v < 1e6)
			p->delay = v;
	}
	return p;
}

/* "512 MB/s"-style figures, in powers of 1000 like dd. */
static void human(char *buf, size_t n, double v, int binary)
{
	static const char *const si[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
	static const char *const bi[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	double k = binary ? 1024 : 1000;
	int i = 0;

	while (v >= k && i < 6) {
		v /= k;
		i++;
	}
	snprintf(buf, n, i ? "%.1f %s" : "%.0f %s", v, binary ? bi[i] : si[i]);
}

/* The ETA of `left` bytes at `rate` bytes a second: "H:MM:SS". */
static void eta(char *buf, size_t n, uint64_t left, double rate)
{
	double secs = rate > 0 ? (double)left / rate : -1;

	if (secs < 0 || secs >= 1e8)
		snprintf(buf, n, "-:--:--");
	else {
		unsigned long t = (unsigned long)(secs + 0.5);
		snprintf(buf, n, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
	}
}

/* The one format (above); `final` leaves out the ETA and ends a
 * terminal's line. */
static void draw(struct cli_progress *p, uint64_t done, double t, int final)
{
	char size[32], bsize[32], rate[32], of[32] = "", pct[16] = "", left[40] = "";
	double secs = t - p->start, r = secs > 0 ? (double)done / secs : 0;

	human(rate, sizeof rate, r, 0);
	human(size, sizeof size, (double)done, 0);
	human(bsize, sizeof bsize, (double)done, 1);
	if (p->total) {
		snprintf(of, sizeof of, " of %llu", (unsigned long long)p->total);
		snprintf(pct, sizeof pct, ", %u%%",
			 (unsigned)(done >= p->total ? 100 : (double)done * 100 / (double)p->total));
		if (!final) {
			char e[24];
			eta(e, sizeof e, done >= p->total ? 0 : p->total - done, r);
			snprintf(left, sizeof left, ", ETA %s", e);
		}
	}
	fprintf(stderr, "%s%llu%s bytes (%s, %s%s) %s, %.2f s, %s/s%s%s", p->tty ? "\r" : "",
		(unsigned long long)done, of, size, bsize, pct, p->what, secs, rate, left,
		p->tty ? "\033[K" : "\n");
	if (final && p->tty)
		fputc('\n', stderr);
	fflush(stderr);
	p->drawn = 1;
}

void cli_progress_update(struct cli_progress *p, uint64_t done)
{
	if (!p || (done < p->next_check && ++p->calls < CHECK_CALLS))
		return;
	p->calls = 0;
	p->next_check = done > UINT64_MAX - CHECK_EVERY ? UINT64_MAX : done + CHECK_EVERY;
	double t = now();
	if (t - p->start < p->delay || (p->drawn && t - p->last < 1))
		return;
	p->last = t;
	draw(p, done, t, 0);
}

void cli_progress_done(struct cli_progress *p, uint64_t done, int ok)
{
	if (!p)
		return;
	/* work that ended short of the expected total (nothing needed
	 * copying) is reported as what it was */
	if (done != p->total)
		p->total = 0;
	if (ok && (p->drawn || p->forced))
		draw(p, done, now(), 1);
	else if (p->drawn && p->tty)
		fputc('\n', stderr);
	free(p);
}

void cli_progress_cb(void *arg, uint64_t done, uint64_t total)
{
	struct cli_progress *p = arg;

	/* a total the work learns on the way (a compaction: once it knows
	 * what it keeps) */
	if (p && total && !p->total) {
		p->total = total;
		p->next_check = 0; /* drawn at once with it */
		p->calls = 0;
		p->last = p->start - 1;
	}
	cli_progress_update(p, done);
}
