/*
 * io: whole-buffer reads and writes that retry on EINTR and short counts,
 * and a "sink" that moves byte ranges from one descriptor to another with
 * the cheapest mechanism the kernel accepts for that pair:
 *
 *   output is a pipe          splice(2)
 *   output is a regular file  copy_file_range(2)  (not with O_APPEND;
 *                             staged: see vb_sink_stage)
 *   anything else             sendfile(2)
 *   all refused               pread(2) + write(2) through a 128 KiB buffer
 *
 * A mechanism that fails with EINVAL/EXDEV/ENOSYS/EOPNOTSUPP (or
 * EBADF/ESPIPE) is switched off for that sink and the next one is tried,
 * so every pair of descriptors works (e.g. `vb-cat s.vb >> file`).  Bytes
 * copied this way are not checksummed: the sink is used only for
 * base-file bytes, whose identity the store checked when it opened.
 *
 * Errors: VB_EIO with "WHAT: strerror" (vb_err_sys; EINTR is retried,
 * never reported), VB_EPIPE for a closed output pipe, VB_ENOMEM for the
 * sink's bounce buffer.  A short count is not an error for the reads (the
 * count says where end of file was) and is retried by the writes.  A sink
 * never owns or closes its descriptors and keeps no state but its
 * mechanisms, its buffer and its counters: one sink per writer, any thread.
 */
#ifndef VB_IO_H
#define VB_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

/* read(2) until `n` bytes or end of file; *got says how many arrived. */
enum vb_err vb_io_read_full(int fd, void *buf, size_t n, size_t *got);

/* pread(2) until `n` bytes or end of file. */
enum vb_err vb_io_pread_full(int fd, void *buf, size_t n, uint64_t off, size_t *got);

/* write(2) all `n` bytes. */
enum vb_err vb_io_write_full(int fd, const void *buf, size_t n);

/* pwrite(2) all `n` bytes at `off`. */
enum vb_err vb_io_pwrite_full(int fd, const void *buf, size_t n, uint64_t off);

struct vb_sink {
	int fd;
	unsigned allow;      /* mechanisms still worth trying (private) */
	char *buf;           /* bounce buffer for the fallback (private) */
	uint64_t written;    /* bytes taken so far (delivered, or staged) */
	int failed;          /* 1 once writing to fd failed (the error is the
			      * output's, not the input's: "write error: ...") */
	unsigned char *stage; /* vb_sink_stage's buffer (private) */
	size_t stage_cap, staged;
	uint64_t pos;        /* with a stage: the output offset of its first byte */
};

/* Prepare a sink writing to `fd` (which the sink does not own). */
void vb_sink_init(struct vb_sink *s, int fd);

/* Release the sink's buffers (staged bytes not flushed are lost); the
 * descriptor stays open.  NULL-safe. */
void vb_sink_done(struct vb_sink *s);

/*
 * Staging, for a regular file as the output: the kernel writes a page-
 * cache page twice as fast when the writes are page-aligned (cat's are),
 * and every byte after an odd-sized insertion lands unaligned, whichever
 * call moves it.  With a stage of `size` bytes (a power of two, at least
 * 4096), bytes are gathered and written in whole aligned chunks; a copy
 * whose source and output offsets agree modulo the page size still moves
 * with copy_file_range.  Without a regular file as the output (or with
 * O_APPEND) this does nothing.  Staged bytes count as written; they reach
 * the file at vb_sink_flush, which the caller must call before it is done
 * (and before anything else writes to the descriptor).  VB_ENOMEM.
 */
enum vb_err vb_sink_stage(struct vb_sink *s, size_t size);
/* Write what is staged (nothing without a stage). */
enum vb_err vb_sink_flush(struct vb_sink *s);

/* Write `n` bytes from memory. */
enum vb_err vb_sink_write(struct vb_sink *s, const void *buf, size_t n);

/* Write the `cnt` (1..IOV_MAX) buffers of `iov` in order, with writev(2)
 * (through the stage, if there is one); the entries may be changed. */
struct iovec;
enum vb_err vb_sink_writev(struct vb_sink *s, struct iovec *iov, int cnt);

/* Copy `len` bytes of `in` starting at `off` (positional; `in`'s file
 * position is not used).  End of file before `len` bytes is VB_EIO with
 * detail "unexpected end of file at offset N". */
enum vb_err vb_sink_copy(struct vb_sink *s, int in, uint64_t off, uint64_t len);

/* Copy from `in`'s current position until end of file or `max` bytes;
 * *copied says how many moved. */
enum vb_err vb_sink_pump(struct vb_sink *s, int in, uint64_t max, uint64_t *copied);

/*
 * Reading ahead: a thread reads [off, off+len) of `fd` in order, `chunk`
 * bytes at a time into `nbuf` (2..8) buffers, while the caller works on
 * the chunk before; so reading (the copy out of the page cache, or the
 * wait for the disk) overlaps the caller's work on two cores.  The
 * caller takes the chunks in order with vb_io_ahead_next: *p stays valid
 * until the next call or the close; *n is 0 after the last chunk.  The
 * file ending early is VB_EIO with errno 0 and detail "unexpected end of
 * file at offset N"; a read error is VB_EIO as vb_io_pread_full's.  The
 * thread touches nothing but `fd` and its own buffers.  Memory: nbuf *
 * chunk bytes.
 */
struct vb_io_ahead;
enum vb_err vb_io_ahead_open(int fd, uint64_t off, uint64_t len, size_t chunk, unsigned nbuf,
			     struct vb_io_ahead **out);
enum vb_err vb_io_ahead_next(struct vb_io_ahead *a, const unsigned char **p, size_t *n);
/* Stop the thread and free everything; NULL-safe. */
void vb_io_ahead_close(struct vb_io_ahead *a);

#endif
