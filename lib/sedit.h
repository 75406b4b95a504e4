/*
 * sedit: edit a stream in one pass, in bounded memory (the `-` STORE of
 * vb-insert and vb-delete).
 *
 * The input is read once from a descriptor and written to a sink with some
 * ranges left out and at most one insertion.  Positions are in the input's
 * coordinates and may count from the end:
 *   - input a regular file: its length is known, every position is checked
 *     before any byte is written;
 *   - input a pipe, all positions from the start: bytes stream through; a
 *     position beyond the end is found at end of input (the output written
 *     so far stays written, the status says it failed);
 *   - input a pipe with positions from the end (end-N): the last N bytes
 *     (the largest N) are held back until the end is seen, up to hold_max.
 *
 * vb_sedit_run reads `in` from its current position to end of file and
 * writes through `out`; it owns neither (nor the arrays in `e`, which
 * must live through the call) and closes nothing.  Memory: a read buffer
 * and the resolved deletions, plus the held-back bytes.  Errors:
 * VB_ERANGE for a position outside the input (a range's label prefixes
 * the detail), VB_ELIMIT when more than hold_max bytes would have to be
 * held, VB_ENOMEM, the read and sink errors of io.h (out->failed says the
 * output failed) and those of e->emit.  On a pipe, output written before
 * an error stays written.
 */
#ifndef VB_SEDIT_H
#define VB_SEDIT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "io.h"
#include "num.h"

struct vb_sedit_del {
	struct vb_pos pos;
	uint64_t len;
	const char *label;   /* prefix for errors ("ranges:3"), or NULL */
};

struct vb_sedit {
	const struct vb_sedit_del *dels;
	size_t ndels;
	int insert;                   /* 1: insert at ins_pos */
	struct vb_pos ins_pos;
	/* write the inserted bytes to `out` */
	enum vb_err (*emit)(void *arg, struct vb_sink *out);
	void *arg;
	uint64_t hold_max;
};

/* Default limit for held-back bytes (64 MiB). */
#define VB_SEDIT_HOLD_MAX (64u << 20)

enum vb_err vb_sedit_run(int in, struct vb_sink *out, const struct vb_sedit *e);

#endif
