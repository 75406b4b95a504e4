/*
 * udiff: a unified diff ("diff -u") between two committed versions of a
 * vbuf, written to a sink, with the work following the changes, not the
 * size of the content.
 *
 * The changed bytes come from vb_vbuf_diff (the trees compared by
 * identity); each changed range is widened to whole lines on both sides
 * and the lines are numbered with the line front door (vb_vbuf_line_of,
 * vb_vbuf_line_start, in VB_LINES_LF: a line ends with '\n', as for diff),
 * so the cost is a few line look-ups per changed range plus reading the
 * lines that are printed.  Bytes told apart only by where they came from
 * (deleted and inserted again, flattened) may still be equal: whole lines
 * that are equal at the start or the end of a changed stretch are compared
 * and moved into the context, so that common edits print what `diff -u`
 * prints; equal lines inside a stretch may show as removed and added
 * again, which a patch applies all the same.
 *
 * The patch: `o->header` (the "---" and "+++" lines, the caller's), then
 * hunks "@@ -L,S +L,S @@" with their ' ' context, '-' and '+' lines, as
 * diff -u writes them: o->context lines of context, hunks whose contexts
 * overlap or touch merged, a count of 1 written without ",1", an empty
 * side numbered from the line before, and "\ No newline at end of file"
 * after a last line that has no '\n'.  Applied to version A's content
 * (patch(1)) it gives version B's.
 *
 * Nothing is written unless the whole patch is text and short:
 *   VB_UDIFF_SAME    no line differs (also after a revert or a flatten
 *                    that left the content as it was): nothing written;
 *   VB_UDIFF_BINARY  a line the patch would show (context, removed or
 *                    added) holds a NUL byte: nothing written;
 *   VB_UDIFF_LARGE   the patch would be longer than o->max_bytes, or
 *                    telling equal lines apart would read more than
 *                    o->max_bytes, or the versions differ in more than
 *                    VB_UDIFF_MAX_RANGES places (or more than one per
 *                    three bytes of o->max_bytes): nothing written.
 * The patch is made in memory first (at most o->max_bytes, plus 32 bytes
 * for each changed range found), then written in one piece.  Errors: the
 * reads' and the line look-ups' (VB_ENOENT for a version that does not
 * exist, VB_EINVAL for the in-memory model, which cannot compare
 * versions), VB_ENOMEM, the sink's (out->failed set).
 */
#ifndef VB_UDIFF_H
#define VB_UDIFF_H

#include <stdint.h>

#include "err.h"
#include "io.h"
#include "vbuf.h"

#define VB_UDIFF_CONTEXT 3                      /* diff -u's default */
#define VB_UDIFF_MAX_BYTES ((uint64_t)1 << 20)  /* default o->max_bytes */
#define VB_UDIFF_MAX_BYTES_MAX ((uint64_t)1 << 30)
#define VB_UDIFF_MAX_RANGES ((uint64_t)1 << 20)

struct vb_udiff_opts {
	uint64_t context;    /* lines of context around each change */
	uint64_t max_bytes;  /* 1 to VB_UDIFF_MAX_BYTES_MAX (VB_EINVAL otherwise) */
	const char *header;  /* written first (NUL-terminated), NULL: nothing */
};

enum vb_udiff_outcome { VB_UDIFF_SAME, VB_UDIFF_TEXT, VB_UDIFF_BINARY, VB_UDIFF_LARGE };

struct vb_udiff_stats {
	enum vb_udiff_outcome outcome;
	uint64_t hunks;   /* "@@" hunks written */
	uint64_t bytes;   /* bytes written, the header included */
};

/* The unified diff from committed version `va` to `vb` of `b` into `out`
 * (see above); `st` says what was done. */
enum vb_err vb_udiff(struct vb_vbuf *b, uint64_t va, uint64_t vb, const struct vb_udiff_opts *o,
		     struct vb_sink *out, struct vb_udiff_stats *st);

#endif
