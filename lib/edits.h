/*
 * edits: a batch of inserts, deletes and replaces made as one version
 * (vb-insert --edits FILE), and the text format vb-history --diff --edits
 * writes for it.
 *
 * Format: one edit a line,
 *
 *   OFFSET LENGTH [DATA]
 *
 * OFFSET is a POSITION and LENGTH a LENGTH of lib/num's grammar (anchors,
 * end-N and L<LINE> included; resolving them is the caller's, who knows
 * the content).  The LENGTH bytes at OFFSET are replaced by DATA; without
 * DATA they are deleted; LENGTH 0 inserts.  Every OFFSET and LENGTH is in
 * the coordinates of the content before the batch.  DATA is one of
 *
 *   0x HEX         pairs of hex digits ("0x" alone: no bytes), nothing
 *                  between them
 *   "TEXT"         bytes as written, but for these C escapes: \a \b \t \n
 *                  \v \f \r \\ \" \' ; \xHH (exactly two hex digits);
 *                  \N, \NN, \NNN (octal, at most \377; \0 is a NUL).
 *                  A raw '"', '\\', LF or NUL inside is an error; a raw
 *                  CR or any other byte stands for itself.
 *
 * Spaces and tabs separate the fields; spaces, tabs and one CR may follow
 * the last.  A line that is empty or whose first byte after spaces and
 * tabs is '#' or CR holds no edit.  vb_edits_format_data writes DATA
 * always as "TEXT": printable ASCII as itself but '"' and '\\', \t \n \r
 * \" \\ and \xHH for every other byte, so that the text reads back
 * exactly.
 *
 * Design.  An opaque list in three steps, as lib/ranges:
 *   1. parse: vb_edits_read (a descriptor, line by line) or
 *      vb_edits_parse_line adds each edit with its position and length as
 *      given, its DATA decoded and its line number as tag;
 *   2. resolve (the caller's): write each edit's byte offset and count
 *      into `at` and `bytes` through vb_edits_get;
 *   3. vb_edits_check sorts the edits by `at` (edits at the same offset
 *      keep their file order) and refuses overlapping ones; vb_edits_apply
 *      hands them to a callback from the highest offset down, each offset
 *      in the coordinates of the content as the callback has left it, so
 *      that the result is every edit made to the content before the batch.
 *
 * Order at one offset: the DATA of edits with the same `at` ends up in
 * file order; the bytes a replace or delete removes are those after `at`
 * in the content before the batch, whatever inserts come with it.
 * Overlap: two edits that both remove bytes and share one, or an insert
 * strictly inside bytes another edit removes (an insert at either end of
 * the removed bytes is not an overlap).  VB_EINVAL "overlaps the edit of
 * line N" with *bad the later edit's line.
 *
 * Contracts.
 *   - No printing, no exit, no global state.  A fallible function returns
 *     an enum vb_err with the detail set (lib/err.h).
 *   - Bounded memory, given by the caller (vb_edits_create): at most
 *     `max_edits` edits, and at most `max_data` bytes of DATA in all; a
 *     line may be at most 4 * max_data + VB_EDITS_LINE_SLACK bytes (the
 *     widest spelling of max_data bytes), a longer one is refused before
 *     more of it is held.  Going past a bound is VB_ELIMIT.  DATA is
 *     decoded from the text as read, never sized by a number in it.
 *   - A list is used by one thread at a time.
 */
#ifndef VB_EDITS_H
#define VB_EDITS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "num.h"

struct vb_edit {
	struct vb_pos pos;          /* OFFSET as given */
	uint64_t len;               /* LENGTH as given */
	uint64_t tag;               /* the line number (vb_edits_read) or the caller's */
	uint64_t at;                /* resolved by the caller: the byte offset */
	uint64_t bytes;             /* resolved by the caller: the bytes removed */
	const unsigned char *data;  /* DATA, decoded (NULL: none) */
	size_t ndata;
	int has_data;               /* 0: no DATA (a delete) */
	size_t order;               /* set by the list: the order added */
};

struct vb_edits;

/* The bytes of a line beyond 4 * max_data that the fields may take. */
#define VB_EDITS_LINE_SLACK 4096
/* Defaults for the bounds (vb-insert --edits; VB_EDITS_MAX sets max_data). */
#define VB_EDITS_DATA_MAX ((uint64_t)64 << 20)
#define VB_EDITS_COUNT_MAX ((size_t)4 << 20)

/* An empty list holding at most `max_edits` edits and `max_data` bytes. */
enum vb_err vb_edits_create(size_t max_edits, uint64_t max_data, struct vb_edits **out);
/* Free `e` and the DATA it holds (NULL is allowed). */
void vb_edits_free(struct vb_edits *e);

/*
 * Parse one line (`len` bytes, the newline included or not; need not be
 * NUL-terminated) and add its edit, tagged `tag`.  Returns 1 for an edit
 * added, 0 for a line without one, -1 with the cause in vb_err_detail()
 * (VB_EINVAL for the text, VB_ELIMIT for a bound, VB_ENOMEM); the list is
 * unchanged then.
 */
int vb_edits_parse_line(struct vb_edits *e, const char *line, size_t len, uint64_t tag);

/*
 * Read edits from `fd` to its end, line by line (line numbers from 1 are
 * the tags).  On a failure *bad gets the line number at fault (0 for a
 * read error: VB_EIO with "read: ..."), the edits of the lines before it
 * stay in the list.
 */
enum vb_err vb_edits_read(struct vb_edits *e, int fd, uint64_t *bad);

size_t vb_edits_count(const struct vb_edits *e);
/* Edit `i` (< vb_edits_count), to read or resolve in place; valid until
 * the next add or vb_edits_check. */
struct vb_edit *vb_edits_get(struct vb_edits *e, size_t i);

/* Sort the resolved edits (order above) and refuse overlaps: VB_EINVAL
 * with *bad the line (tag) of the later of two overlapping edits; VB_ERANGE
 * when at + bytes passes 2^64-1 (*bad its tag). */
enum vb_err vb_edits_check(struct vb_edits *e, uint64_t *bad);

/*
 * After vb_edits_check: call fn(arg, at, bytes, data, ndata) for each
 * edit that changes something (an insert of no bytes is left out), from
 * the highest offset down, `at` in the coordinates the calls before have
 * left.  Stops at, and returns, the first failure of `fn`.
 */
enum vb_err vb_edits_apply(const struct vb_edits *e,
			   enum vb_err (*fn)(void *arg, uint64_t at, uint64_t bytes,
					     const unsigned char *data, size_t ndata),
			   void *arg);

/*
 * DATA as "TEXT" (the rule above) for `n` bytes of `src`: writes at most
 * 4 * n bytes into `dst` (no quotes, no NUL) and returns how many.  Each
 * byte is spelled on its own, so a long DATA may be written in pieces:
 * '"', the pieces, '"'.
 */
size_t vb_edits_escape(const unsigned char *src, size_t n, char *dst);

#endif
