/*
 * num: the one offset grammar shared by every command and by --ranges
 * (lib/README.md, Decisions 7).
 *
 *   POSITION := N[S] | -N[S] | end | end-N[S] | @NAME | @NAME+N[S] | @NAME-N[S]
 *             | L<LINE> | L<LINE>+N[S] | L<LINE>-N[S]
 *   LENGTH   := N[S]
 *   N        := decimal digits | 0x hex digits
 *   LINE     := decimal digits, at least 1 (no suffix, no 0x)
 *   LINES    := LINE-LINE | LINE- | -LINE | LINE     (vb_parse_line_range)
 *   S        := K M G T (powers of 1024; k also accepted, and KiB MiB GiB TiB)
 *             | kB KB MB GB TB (powers of 1000)
 *
 * The suffixes follow coreutils (K = KiB = 1024, kB = KB = 1000; vb's
 * progress line prints kB MB ... and KiB MiB ...).  Any other suffix is
 * VB_EINVAL: "ambiguous suffix", with the accepted spellings listed, when
 * it differs from an accepted one only in case or is a lone b or B ("kb",
 * "Kb", "m", "mib", "B"); "unknown suffix" otherwise ("E", ".5K").
 *
 * `-N` and `end-N` count back from the end; `end` is `end-0`.  Values of
 * 2^64 and above are rejected, never wrapped.  Parsing does not know the
 * content length; vb_pos_resolve() turns a position into an absolute offset
 * once the length is known, failing (never clamping) outside [0, len].
 * @NAME is a store's anchor (lib/vbuf): the caller looks it up and calls
 * vb_pos_resolve_anchor with its offset.  L<LINE> is the first byte of
 * line LINE of a store's content ('\n' ends a line; L<last+1> is the end
 * of the content): the caller finds that offset (vb_vbuf_line_start) and
 * calls vb_pos_resolve_line with it.  L0 is not in the grammar (lines
 * count from 1), and a line address is never counted in elements
 * (vb_parse_pos_unit with a unit above 1 refuses it).
 *
 * A --ranges line ("OFFSET LENGTH", vb_parse_range_line) is two of these
 * fields; with --unit both count elements (vb_parse_pos_unit,
 * vb_parse_length_unit) and are refused when their byte count would pass
 * 2^64-1.
 *
 * Errors: VB_EINVAL for text that is not in the grammar (the detail quotes
 * it), VB_ERANGE for a position outside the content, VB_ENOMEM from
 * vb_parse_hex; after a failure the outputs are not to be used.  No
 * state: callable from any thread.
 */
#ifndef VB_NUM_H
#define VB_NUM_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct vb_pos {
	uint64_t n;          /* the number */
	int from_end;        /* 1: the position is len - n */
	char anchor[64];     /* non-empty: @anchor, n bytes after (or before) it */
	int before;          /* with an anchor or a line: 1 for @NAME-N, L<LINE>-N */
	uint64_t line;       /* nonzero: L<line>, n bytes after (or before) it */
};

/* Parse a LENGTH.  Error detail names `what` ("length", "size"). */
enum vb_err vb_parse_size(const char *s, const char *what, uint64_t *out);

/* Parse a POSITION. */
enum vb_err vb_parse_pos(const char *s, struct vb_pos *out);

/*
 * Parse LINES, a range of lines "A-B", "A-", "-B" or "A" (vb-cat and
 * vb-delete --lines): *first gets A (1 for "-B"), *last gets B (A for
 * "A", UINT64_MAX for "A-": up to the last line).  A and B are LINEs
 * (at least 1); A > B is not judged here.  VB_EINVAL quoting `s` for
 * anything else (an empty string, "-", line 0, a number past 2^64-1).
 */
enum vb_err vb_parse_line_range(const char *s, uint64_t *first, uint64_t *last);

/*
 * Counted in elements of `unit` bytes (unit >= 1; 1 for plain bytes, the
 * --unit of vb-insert, vb-delete and vb-cat): vb_parse_pos and
 * vb_parse_size(..., "length", ...), and also VB_EINVAL when the number
 * counted in bytes would pass 2^64-1 ("offset '...' is too large (at most
 * N elements of U bytes)", "length '...' ...").  The result stays in
 * elements.  With unit > 1 a line address (L<LINE>) is VB_EINVAL: lines
 * are not elements.
 */
enum vb_err vb_parse_pos_unit(const char *s, uint64_t unit, struct vb_pos *out);
enum vb_err vb_parse_length_unit(const char *s, uint64_t unit, uint64_t *out);

/*
 * One line of a --ranges file, "OFFSET LENGTH" (vb-delete): `line` is the
 * `len` bytes as read, newline included; it need not be NUL-terminated.
 * Spaces, tabs, CR and LF separate the two fields; a line that is empty
 * or whose first byte after spaces and tabs is '#', CR or LF holds no
 * range.  Returns 1 with *pos and *length (in elements of `unit`, as
 * vb_parse_pos_unit and vb_parse_length_unit give them) for a range, 0 for
 * a line without one, and -1 with the cause in vb_err_detail() (VB_EINVAL;
 * the caller adds FILE:LINE) for a line longer than VB_RANGE_LINE_MAX
 * bytes, a NUL byte, a number of fields other than two, or a bad field.
 */
#define VB_RANGE_LINE_MAX 4096
int vb_parse_range_line(const char *line, size_t len, uint64_t unit, struct vb_pos *pos,
			uint64_t *length);

/*
 * One line of `grep -b` or `grep -b -o` output, "OFFSET:TEXT" (vb-delete
 * --ranges-format=grep and grep-o): `head` is the line's first `n` bytes
 * (the caller keeps at most VB_RANGE_LINE_MAX of them; any bytes, NUL
 * included, as `grep -a` prints them) and `total` the line's length in
 * bytes without its newline, however long it is.  OFFSET is 1 to 20
 * decimal digits, ended by ':'; TEXT is every byte after that ':', ':'
 * included.  Returns 1 with *pos (bytes from the start) and *textlen (the
 * bytes of TEXT: total - digits - 1), or -1 with the cause in
 * vb_err_detail() (VB_EINVAL; the caller adds FILE:LINE) for a line that
 * does not start so: a context line ("OFFSET-TEXT", a group separator
 * "--", of grep -A, -B or -C), a file name (grep -H), an empty line, or an
 * OFFSET past 2^64-1.  (A line number of grep -n before OFFSET cannot be
 * told from an OFFSET: the caller's documentation says not to use -n.)
 */
int vb_parse_grep_line(const char *head, size_t n, uint64_t total, struct vb_pos *pos,
		       uint64_t *textlen);

/* Absolute offset of `p` in content of length `len`: VB_ERANGE with
 * "offset X is beyond the end (length L)" or "... before the start ...";
 * VB_EINVAL for an anchor (use vb_pos_resolve_anchor) or a line address
 * (vb_pos_resolve_line). */
enum vb_err vb_pos_resolve(const struct vb_pos *p, uint64_t len, uint64_t *out);
/* The same for an anchored position whose anchor is at `anchor`. */
enum vb_err vb_pos_resolve_anchor(const struct vb_pos *p, uint64_t anchor, uint64_t len,
				  uint64_t *out);
/* The same for a line address whose line starts at `start` (<= len):
 * "offset L3-9 is before the start (line 3 starts at 4)", "offset L3+9
 * is beyond the end (length 10)". */
enum vb_err vb_pos_resolve_line(const struct vb_pos *p, uint64_t start, uint64_t len,
				uint64_t *out);

/* The value of a hex digit, or -1. */
int vb_hex_digit(int c);

/* Decode pairs of hex digits ("de ad:BE\tef"; spaces, tabs, newlines and
 * colons may separate pairs).  *out is malloc'ed (caller frees), *n its
 * length.  VB_EINVAL with the offending place on a malformed string. */
enum vb_err vb_parse_hex(const char *s, unsigned char **out, size_t *n);

/* Write the position as the user would ("120", "end-5", "L3+2") into buf. */
void vb_pos_format(const struct vb_pos *p, char *buf, unsigned size);

/* a + b, failing with VB_ERANGE on overflow of 64 bits. */
static inline int vb_add_overflows(uint64_t a, uint64_t b, uint64_t *sum)
{
	return __builtin_add_overflow(a, b, sum);
}

#endif
