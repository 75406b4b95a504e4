/*
 * fcopy: kernel copies between files (contract in fcopy.h).
 */
#include "fcopy.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "io.h"

#define BOUNCE ((size_t)128 << 10)
#define COPY_MAX ((uint64_t)1 << 30)   /* one copy_file_range call at most */

int vb_fcopy_no_range;

static int refused(int e)
{
	return e == EXDEV || e == EINVAL || e == ENOSYS || e == EOPNOTSUPP || e == EBADF ||
	       e == EPERM;
}

static enum vb_err bounce(struct vb_fcopy *c, int in, uint64_t in_off, int out,
			  uint64_t out_off, uint64_t n, uint64_t *copied)
{
	if (!c->buf && !(c->buf = malloc(BOUNCE)))
		return vb_err_set(VB_ENOMEM, "out of memory");
	while (*copied < n) {
		uint64_t left = n - *copied;
		size_t want = left < BOUNCE ? (size_t)left : BOUNCE, got;
		enum vb_err rc = vb_io_pread_full(in, c->buf, want, in_off + *copied, &got);
		if (!rc && got)
			rc = vb_io_pwrite_full(out, c->buf, got, out_off + *copied);
		if (rc)
			return rc;
		*copied += got;
		if (got < want)
			break;
	}
	return VB_OK;
}

enum vb_err vb_fcopy(struct vb_fcopy *c, int in, uint64_t in_off, int out, uint64_t out_off,
		     uint64_t n, uint64_t *copied)
{
	*copied = 0;
	if (in_off > UINT64_MAX - n || out_off > UINT64_MAX - n ||
	    in_off + n > (uint64_t)INT64_MAX || out_off + n > (uint64_t)INT64_MAX)
		return vb_err_set(VB_ERANGE, "copy beyond the largest file offset");
	if (vb_fcopy_no_range)
		c->no_range = 1;
	while (*copied < n && !c->no_range) {
		loff_t i = (loff_t)(in_off + *copied), o = (loff_t)(out_off + *copied);
		uint64_t left = n - *copied;
		ssize_t r = copy_file_range(in, &i, out, &o, left < COPY_MAX ? (size_t)left : COPY_MAX,
					    0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && refused(errno)) {
			c->no_range = 1;
			break;
		}
		if (r < 0)
			return vb_err_sys("cannot copy");
		if (r == 0)
			/* the end of `in`, or a file system that copies nothing
			 * here: the plain path reads and decides which */
			break;
		*copied += (uint64_t)r;
	}
	return *copied < n ? bounce(c, in, in_off, out, out_off, n, copied) : VB_OK;
}

void vb_fcopy_free(struct vb_fcopy *c)
{
	free(c->buf);
	c->buf = NULL;
}
