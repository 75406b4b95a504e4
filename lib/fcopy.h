/*
 * fcopy: moving bytes from one regular file into another at the kernel's
 * speed.
 *
 * vb_fcopy copies with copy_file_range(2): the bytes never pass through
 * user space.  The first time the kernel refuses it for a pair of files
 * (EXDEV, EINVAL, ENOSYS, EOPNOTSUPP, EBADF, EPERM: "not here", not
 * "failed"), or copies nothing before the end, the copier goes on with
 * pread/pwrite through its bounce buffer, and keeps to that for good
 * after a refusal.  A short copy is continued; a source that ends before
 * `n` bytes stops the copy with *copied < n and VB_OK: what that means
 * (a damaged store, a base file shorter than recorded) is the caller's
 * to say.  A failed read or write is VB_EIO with its errno.
 *
 * What copy_file_range is good for: long runs.  Copying a store's 64 KiB
 * data blocks one call each, between their 36 bytes of framing, measured
 * slower than reading them into a 1 MiB buffer and writing that in one
 * call (the page cache takes small unaligned writes page by page), so
 * the store copies runs of whole records with it (compaction), not
 * blocks (tests/bench/PERFORMANCE.md, issue 15).
 *
 * The handle is a plain struct, zeroed to start (VB_FCOPY_INIT, or
 * calloc) and released with vb_fcopy_free; one thread.
 */
#ifndef VB_FCOPY_H
#define VB_FCOPY_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct vb_fcopy {
	int no_range;          /* copy_file_range was refused: read and write */
	unsigned char *buf;    /* the fallback's bounce buffer (private) */
};
#define VB_FCOPY_INIT {0, NULL}

/* Copy up to n bytes at in_off of `in` to out_off of `out`; *copied
 * gets the bytes copied (less than n only where `in` ended). */
enum vb_err vb_fcopy(struct vb_fcopy *c, int in, uint64_t in_off, int out, uint64_t out_off,
		     uint64_t n, uint64_t *copied);
void vb_fcopy_free(struct vb_fcopy *c);

/* Test-only: nonzero makes every copy take the read/write path. */
extern int vb_fcopy_no_range;

#endif
