/*
 * lines: line-end counts of a span of bytes, and how the counts of two
 * adjacent spans combine, so that a tree of pieces can answer "how many
 * lines" and "where is line N" from sums (issue 13: lines as positions).
 *
 * Two kinds of line end:
 *   VB_LINES_LF   a '\n' ends a line (wc -l, sed);
 *   VB_LINES_ANY  '\r\n', a lone '\r' and a lone '\n' each end a line
 *                 (vb-frame -l: its delimiters \n, \r\n, \r, longest
 *                 match).
 * A span's counts are its '\n' bytes, its '\r' bytes, the "\r\n" pairs
 * wholly inside it, and two edge bits: it starts with '\n', it ends with
 * '\r'.  That is enough to combine spans exactly: a pair split between
 * two spans is found where they meet (tail_cr of the left, head_lf of the
 * right), which is why a split pair never needs its pieces rewritten.
 *
 * Line ends are attributed to their first byte; in VB_LINES_ANY a span's
 * count depends on whether the byte before it is '\r' (then a leading
 * '\n' belongs to that byte's end).
 *
 * Counts may be unknown (known = 0: all else 0): a piece whose bytes were
 * never counted.  Unknown is contagious: a sum with an unknown part is
 * unknown, never a guess.
 *
 * Spans given to vb_lines_cat and the drop functions are non-empty (a
 * piece always is); an empty span has no edges, so it would be ambiguous.
 * Plain values, no state: any thread.
 */
#ifndef VB_LINES_H
#define VB_LINES_H

#include <stddef.h>
#include <stdint.h>

enum vb_line_mode { VB_LINES_LF, VB_LINES_ANY };

struct vb_lines {
	uint64_t lf;             /* '\n' bytes */
	uint64_t cr;             /* '\r' bytes */
	uint64_t crlf;           /* "\r\n" pairs wholly inside the span */
	unsigned char known;     /* 0: unknown (the rest is 0) */
	unsigned char head_lf;   /* the first byte is '\n' */
	unsigned char tail_cr;   /* the last byte is '\r' */
};

/* Unknown counts. */
struct vb_lines vb_lines_unknown(void);

/* The counts of p[0, n) (n > 0), exact; the work is a pass over the bytes
 * 16 or 32 at a time (SSE2, or AVX2 where the CPU has it). */
struct vb_lines vb_lines_scan(const void *p, size_t n);
/* For tests: the widest path vb_lines_scan may take from now on (0 a byte
 * at a time, 1 SSE2, 2 AVX2: the default); not thread-safe. */
void vb_lines_scan_cap(int level);

/* The counts of span a followed by span b. */
struct vb_lines vb_lines_cat(const struct vb_lines *a, const struct vb_lines *b);

/* The counts of what is left of span `whole` without its prefix `head`
 * (both non-empty, head shorter than whole) given the first byte left is
 * '\n' (first_lf), or without its suffix `tail`, given the last byte left
 * is '\r' (last_cr).  Counts that do not fit (not a prefix/suffix of
 * `whole` after all) give unknown. */
struct vb_lines vb_lines_drop_head(const struct vb_lines *whole, const struct vb_lines *head,
				   int first_lf);
struct vb_lines vb_lines_drop_tail(const struct vb_lines *whole, const struct vb_lines *tail,
				   int last_cr);

/* The line ends that start in the span (known counts only), given whether
 * the byte before it is '\r' (prev_cr; 0 at the start of the content). */
uint64_t vb_lines_ends(const struct vb_lines *l, enum vb_line_mode m, int prev_cr);

#endif
