/*
 * io: whole-buffer reads and writes, and the sink (contract and the
 * choice of copy mechanism in io.h).
 *
 * A sink starts with the mechanisms its output's type allows (vb_sink_init
 * looks at it once) and drops one for good the first time the kernel
 * refuses it for this pair of descriptors (refused(): an errno that means
 * "not here", not "failed"); with none left it copies through its bounce
 * buffer, allocated on first use.  A mechanism that returns 0 before the
 * requested length is not trusted to mean end of file: the plain path
 * reads again and decides.  sink->failed is set by a failed write, and
 * by a failed kernel copy, which cannot tell which side failed; a read
 * of the plain path that fails is reported as a read.
 */
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#define BOUNCE (128u * 1024u)
#define CHUNK_MAX (1u << 30)

enum { USE_SPLICE = 1, USE_CFR = 2, USE_SENDFILE = 4 };

enum vb_err vb_io_read_full(int fd, void *buf, size_t n, size_t *got)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = read(fd, (char *)buf + done, n - done);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			*got = done;
			return vb_err_sys("read");
		}
		if (r == 0)
			break;
		done += (size_t)r;
	}
	*got = done;
	return VB_OK;
}

enum vb_err vb_io_pread_full(int fd, void *buf, size_t n, uint64_t off, size_t *got)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = pread(fd, (char *)buf + done, n - done, (off_t)(off + done));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			*got = done;
			return vb_err_sys("read at offset %llu", (unsigned long long)(off + done));
		}
		if (r == 0)
			break;
		done += (size_t)r;
	}
	*got = done;
	return VB_OK;
}

enum vb_err vb_io_write_full(int fd, const void *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = write(fd, (const char *)buf + done, n - done);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return vb_err_sys("write");
		}
		done += (size_t)r;
	}
	return VB_OK;
}

enum vb_err vb_io_pwrite_full(int fd, const void *buf, size_t n, uint64_t off)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = pwrite(fd, (const char *)buf + done, n - done, (off_t)(off + done));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return vb_err_sys("write at offset %llu", (unsigned long long)(off + done));
		}
		done += (size_t)r;
	}
	return VB_OK;
}

void vb_sink_init(struct vb_sink *s, int fd)
{
	struct stat st;
	int fl;

	s->fd = fd;
	s->buf = NULL;
	s->written = 0;
	s->failed = 0;
	s->allow = 0;
	if (fstat(fd, &st) < 0)
		return;
	fl = fcntl(fd, F_GETFL);
	if (S_ISFIFO(st.st_mode))
		s->allow = USE_SPLICE;
	else if (S_ISREG(st.st_mode) && fl >= 0 && !(fl & O_APPEND))
		s->allow = USE_CFR | USE_SENDFILE;
	else if (!S_ISREG(st.st_mode))
		s->allow = USE_SENDFILE;
}

void vb_sink_done(struct vb_sink *s)
{
	if (!s)
		return;
	free(s->buf);
	s->buf = NULL;
}

/* Record a failure to write the output. */
static enum vb_err out_failed(struct vb_sink *s)
{
	s->failed = 1;
	return vb_err_sys("write error");
}

enum vb_err vb_sink_write(struct vb_sink *s, const void *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = write(s->fd, (const char *)buf + done, n - done);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return out_failed(s);
		}
		done += (size_t)r;
	}
	s->written += n;
	return VB_OK;
}

static int refused(int e)
{
	return e == EINVAL || e == EXDEV || e == ENOSYS || e == EOPNOTSUPP ||
	       e == EBADF || e == ESPIPE;
}

static enum vb_err bounce(struct vb_sink *s, int in, uint64_t off, uint64_t len)
{
	if (!s->buf && !(s->buf = malloc(BOUNCE)))
		return vb_err_set(VB_ENOMEM, "out of memory");
	while (len) {
		size_t want = len < BOUNCE ? (size_t)len : BOUNCE, got;
		enum vb_err rc = vb_io_pread_full(in, s->buf, want, off, &got);
		if (rc)
			return rc;
		if (got == 0)
			return vb_err_set(VB_EIO, "unexpected end of file at offset %llu",
					  (unsigned long long)off);
		if ((rc = vb_sink_write(s, s->buf, got)))
			return rc;
		off += got;
		len -= got;
	}
	return VB_OK;
}

enum vb_err vb_sink_copy(struct vb_sink *s, int in, uint64_t off, uint64_t len)
{
	while (len) {
		size_t want = len < CHUNK_MAX ? (size_t)len : CHUNK_MAX;
		loff_t o = (loff_t)off;
		ssize_t r;
		unsigned mech;

		if (s->allow & USE_SPLICE) {
			mech = USE_SPLICE;
			r = splice(in, &o, s->fd, NULL, want, SPLICE_F_MORE);
		} else if (s->allow & USE_CFR) {
			mech = USE_CFR;
			r = copy_file_range(in, &o, s->fd, NULL, want, 0);
		} else if (s->allow & USE_SENDFILE) {
			mech = USE_SENDFILE;
			off_t so = (off_t)off;
			r = sendfile(s->fd, in, &so, want);
		} else {
			return bounce(s, in, off, len);
		}
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			if (refused(errno)) {
				s->allow &= ~mech;
				continue;
			}
			return out_failed(s);
		}
		if (r == 0) {
			/* End of input, or a mechanism that moves nothing here:
			 * let the plain path decide which. */
			if (s->allow) {
				s->allow = 0;
				continue;
			}
			return vb_err_set(VB_EIO, "unexpected end of file at offset %llu",
					  (unsigned long long)off);
		}
		s->written += (uint64_t)r;
		off += (uint64_t)r;
		len -= (uint64_t)r;
	}
	return VB_OK;
}

enum vb_err vb_sink_pump(struct vb_sink *s, int in, uint64_t max, uint64_t *copied)
{
	uint64_t done = 0;
	int use_splice = 1;
	enum vb_err rc = VB_OK;

	while (done < max) {
		size_t want = max - done < BOUNCE ? (size_t)(max - done) : BOUNCE;
		ssize_t r;

		if (use_splice) {
			r = splice(in, NULL, s->fd, NULL, want, SPLICE_F_MORE);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0 && refused(errno)) {
				use_splice = 0;
				continue;
			}
			if (r < 0) {
				rc = out_failed(s);
				break;
			}
			if (r == 0)
				break;
			s->written += (uint64_t)r;
			done += (uint64_t)r;
			continue;
		}
		if (!s->buf && !(s->buf = malloc(BOUNCE))) {
			rc = vb_err_set(VB_ENOMEM, "out of memory");
			break;
		}
		r = read(in, s->buf, want);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = vb_err_sys("read");
			break;
		}
		if (r == 0)
			break;
		if ((rc = vb_sink_write(s, s->buf, (size_t)r)))
			break;
		done += (uint64_t)r;
	}
	*copied = done;
	return rc;
}
