/*
 * sbuf: stream buffers.  Bytes are appended at the tail (reserve/commit,
 * append, or straight from a file descriptor) and consumed from the head
 * (advance, split_to, or straight to a file descriptor).  Two backends,
 * one interface:
 *
 *   linear     one array with read and write indices; the read part is
 *              compacted away (memmove) when room is needed at the tail, and
 *              the array grows up to the maximum.  Everything buffered is
 *              contiguous, so coalesce never copies.
 *   segmented  a list of chunks allocated from a pinned page store
 *              (lib/pages); bytes never move once written, split_to hands out
 *              chunks by reference, and coalesce copies only when the
 *              requested bytes straddle chunks.
 *
 * Offsets are relative to the head (0 = the oldest buffered byte).
 *
 * Lifetimes.  Pointers and iovecs from peek-style calls (segments,
 * coalesce, contig) are ephemeral: valid until the next call that changes
 * the buffer.  A view from split_to is durable: valid until vb_view_free,
 * whatever happens to the buffer afterwards (segmented: it holds references
 * to the chunks, whose memory the page store keeps in place; linear: it
 * owns a copy).  A segmented buffer's page store must outlive its buffers
 * and views.
 *
 * Reservation.  vb_sbuf_reserve hands out writable space at the tail; until
 * vb_sbuf_commit (or vb_sbuf_cancel) no second reservation, append,
 * coalesce or split_to is allowed (VB_ESTATE): those could move or split
 * the reserved space.  Reading and advance are allowed.
 *
 * Errors: VB_ENEEDMORE (fewer bytes buffered than asked for, or a needle not
 * found yet), VB_EFULL (the buffer would exceed max_bytes), VB_EFRAME (a
 * coalesce longer than a chunk can be), VB_ESTATE (reservation misuse).
 *
 * Not thread-safe, like the page store under it: a buffer, its views and
 * the other buffers on the same page store stay with one thread at a time.
 */
#ifndef VB_SBUF_H
#define VB_SBUF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "err.h"
#include "pages.h"

struct vb_sbuf;
struct vb_view;

/* max_bytes: 0 means no limit (SIZE_MAX). */
enum vb_err vb_sbuf_create_linear(size_t max_bytes, struct vb_sbuf **out);
/* chunk: the usual chunk size (bounded by the page store's object limit). */
enum vb_err vb_sbuf_create_segmented(struct vb_pages *pages, size_t chunk, size_t max_bytes,
				     struct vb_sbuf **out);
/* Free the buffer (views stay valid).  NULL-safe. */
void vb_sbuf_free(struct vb_sbuf *b);

size_t vb_sbuf_len(const struct vb_sbuf *b);
size_t vb_sbuf_max(const struct vb_sbuf *b);
void vb_sbuf_set_max(struct vb_sbuf *b, size_t max_bytes);

/* Earliest occurrence of needle starting at or after `from`: *pos. */
enum vb_err vb_sbuf_find(const struct vb_sbuf *b, size_t from, const void *needle, size_t n,
			 size_t *pos);
/* Latest occurrence of needle that ends at or before `end`: *pos. */
enum vb_err vb_sbuf_rfind(const struct vb_sbuf *b, size_t end, const void *needle, size_t n,
			  size_t *pos);
/* Earliest byte `c` at or after `from`. */
enum vb_err vb_sbuf_find_byte(const struct vb_sbuf *b, size_t from, unsigned char c, size_t *pos);

/* Copy bytes [off, off+n) out. */
enum vb_err vb_sbuf_peek(const struct vb_sbuf *b, size_t off, void *dst, size_t n);
/* The byte at `off` (caller checks off < len). */
unsigned char vb_sbuf_byte(const struct vb_sbuf *b, size_t off);
/* Up to `max` iovecs covering bytes from `off` to the end; returns how many.
 * Ephemeral. */
int vb_sbuf_segments(const struct vb_sbuf *b, size_t off, struct iovec *iov, int max);
/* The contiguous run of bytes starting at `off` (*n its length, 0 at the
 * end).  Ephemeral. */
const unsigned char *vb_sbuf_contig(const struct vb_sbuf *b, size_t off, size_t *n);

/* Drop the first n bytes. */
enum vb_err vb_sbuf_advance(struct vb_sbuf *b, size_t n);
/* Remove the first n bytes and return them as a durable view. */
enum vb_err vb_sbuf_split_to(struct vb_sbuf *b, size_t n, struct vb_view **out);
/* Make the first n bytes contiguous; *p points at them.  Ephemeral. */
enum vb_err vb_sbuf_coalesce(struct vb_sbuf *b, size_t n, const unsigned char **p);

/* At least n writable bytes at the tail (*avail may be more). */
enum vb_err vb_sbuf_reserve(struct vb_sbuf *b, size_t n, void **p, size_t *avail);
/* Between 1 and `want` writable bytes at the tail, as many as one read
 * should fill (at most one chunk of a segmented buffer, never past the
 * maximum: VB_EFULL when the buffer is at it); then commit or cancel. */
enum vb_err vb_sbuf_reserve_some(struct vb_sbuf *b, size_t want, void **p, size_t *avail);
/* Make the first n reserved bytes part of the buffer; ends the reservation. */
enum vb_err vb_sbuf_commit(struct vb_sbuf *b, size_t n);
/* End a reservation without adding anything. */
void vb_sbuf_cancel(struct vb_sbuf *b);
/* reserve + copy + commit. */
enum vb_err vb_sbuf_append(struct vb_sbuf *b, const void *p, size_t n);

/* Read once from fd into the tail (at most `want` bytes, at least 1 unless
 * end of file: *got == 0).  Through reserve/commit. */
enum vb_err vb_sbuf_fill_fd(struct vb_sbuf *b, int fd, size_t want, size_t *got);
/* Write buffered bytes to fd with writev (one call, at most `max` bytes)
 * and advance past what was written. */
enum vb_err vb_sbuf_drain_fd(struct vb_sbuf *b, int fd, size_t max, size_t *written);

size_t vb_view_len(const struct vb_view *v);
/* The view's bytes as iovecs (*n of them).  Valid while the view lives. */
const struct iovec *vb_view_iov(const struct vb_view *v, int *n);
/* Copy the view's bytes [off, off+n) out. */
enum vb_err vb_view_peek(const struct vb_view *v, size_t off, void *dst, size_t n);
void vb_view_free(struct vb_view *v);

#endif
