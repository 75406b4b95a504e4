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
 *
 * The library never prints: failures are an enum vb_err with the detail
 * (lib/err.h), a deletion's prefixed with its label.
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

/* Edit the input read from `in` into `out` as `e` says (the modes above). */
enum vb_err vb_sedit_run(int in, struct vb_sink *out, const struct vb_sedit *e);

/*
 * vb_sedit_run on a pipe whose length the caller needs at its end (vb-insert
 * and vb-delete --unit check that a stream is whole elements): a thread
 * (the pump) copies `in` into a pipe that the editor reads, counting the
 * bytes.  *len gets the input's length when the pump read it to its end
 * (also when the editor failed after that), else UINT64_MAX (reading
 * failed, or the editor stopped first and the pump was stopped with it).
 *
 * Contracts: the pump is stopped and joined before this returns, and its
 * pipe and buffer are released, whatever the outcome; `in` is not closed.
 * The caller ignores SIGPIPE (the editor may stop reading early; the pump
 * then sees EPIPE and stops).
 * A failed read of `in` is reported as VB_EIO ("read: ...") unless the
 * editor failed otherwise than with VB_ERANGE (its own failure then
 * explains more).  VB_EIO or VB_ENOMEM when the pipe, the buffer or
 * the thread cannot be had (nothing was read then).
 */
enum vb_err vb_sedit_run_counted(int in, struct vb_sink *out, const struct vb_sedit *e,
				 uint64_t *len);

#endif
