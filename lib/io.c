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
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/uio.h>
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
	s->stage = NULL;
	s->stage_cap = s->staged = 0;
	s->pos = 0;
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
	free(s->stage);
	s->buf = NULL;
	s->stage = NULL;
	s->stage_cap = s->staged = 0;
}

/* Record a failure to write the output. */
static enum vb_err out_failed(struct vb_sink *s)
{
	s->failed = 1;
	return vb_err_sys("write error");
}

#define PAGE 4096u

enum vb_err vb_sink_stage(struct vb_sink *s, size_t size)
{
	struct stat st;
	off_t at;
	int fl;

	if (s->stage || size < PAGE || (size & (size - 1)) || fstat(s->fd, &st) < 0 ||
	    !S_ISREG(st.st_mode) || (fl = fcntl(s->fd, F_GETFL)) < 0 || (fl & O_APPEND) ||
	    (at = lseek(s->fd, 0, SEEK_CUR)) < 0)
		return VB_OK;
	if (!(s->stage = aligned_alloc(PAGE, size)))
		return vb_err_set(VB_ENOMEM, "out of memory");
	s->stage_cap = size;
	s->staged = 0;
	s->pos = (uint64_t)at;
	return VB_OK;
}

/* Write the n bytes at `p` to the output (no stage). */
static enum vb_err put(struct vb_sink *s, const void *p, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = write(s->fd, (const char *)p + done, n - done);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return out_failed(s);
		}
		done += (size_t)r;
	}
	return VB_OK;
}

enum vb_err vb_sink_flush(struct vb_sink *s)
{
	enum vb_err rc;

	if (!s->staged)
		return VB_OK;
	rc = put(s, s->stage, s->staged);
	s->pos += s->staged;
	s->staged = 0;
	return rc;
}

/* The stage's room before its next aligned boundary: the first chunk
 * ends where the output offset reaches a multiple of the stage size. */
static size_t stage_room(const struct vb_sink *s)
{
	return s->stage_cap - (size_t)(s->pos % s->stage_cap) - s->staged;
}

/* After bytes were staged: write the chunk once it reaches its boundary. */
static enum vb_err stage_filled(struct vb_sink *s)
{
	return stage_room(s) ? VB_OK : vb_sink_flush(s);
}

enum vb_err vb_sink_write(struct vb_sink *s, const void *buf, size_t n)
{
	size_t done = 0;

	if (s->stage) {
		while (done < n) {
			size_t room = stage_room(s), take = n - done < room ? n - done : room;
			memcpy(s->stage + s->staged, (const char *)buf + done, take);
			s->staged += take;
			done += take;
			enum vb_err rc = stage_filled(s);
			if (rc)
				return rc;
		}
		s->written += n;
		return VB_OK;
	}
	enum vb_err rc = put(s, buf, n);
	if (!rc)
		s->written += n;
	return rc;
}

enum vb_err vb_sink_writev(struct vb_sink *s, struct iovec *iov, int cnt)
{
	uint64_t total = 0;

	if (s->stage) {
		for (int i = 0; i < cnt; i++) {
			enum vb_err rc = vb_sink_write(s, iov[i].iov_base, iov[i].iov_len);
			if (rc)
				return rc;
		}
		return VB_OK;
	}
	while (cnt) {
		ssize_t r = writev(s->fd, iov, cnt);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return out_failed(s);
		}
		total += (uint64_t)r;
		/* past the buffers written whole, into the one written in part */
		while (cnt && (size_t)r >= iov->iov_len) {
			r -= (ssize_t)iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt) {
			iov->iov_base = (char *)iov->iov_base + r;
			iov->iov_len -= (size_t)r;
		}
	}
	s->written += total;
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

/* vb_sink_copy with a stage: an aligned copy in the kernel, the rest
 * read into the stage. */
static enum vb_err staged_copy(struct vb_sink *s, int in, uint64_t off, uint64_t len)
{
	while (len) {
		if (!s->staged && (s->allow & USE_CFR) && (s->pos - off) % PAGE == 0) {
			size_t want = len < CHUNK_MAX ? (size_t)len : CHUNK_MAX;
			loff_t o = (loff_t)off;
			ssize_t r = copy_file_range(in, &o, s->fd, NULL, want, 0);
			if (r < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (r < 0 && refused(errno)) {
				s->allow &= ~USE_CFR;
				continue;
			}
			if (r < 0)
				return out_failed(s);
			if (r > 0) {
				s->written += (uint64_t)r;
				s->pos += (uint64_t)r;
				off += (uint64_t)r;
				len -= (uint64_t)r;
				continue;
			}
			/* 0 before the end: the plain read below decides */
		}
		size_t room = stage_room(s), want = len < room ? (size_t)len : room, got;
		enum vb_err rc = vb_io_pread_full(in, s->stage + s->staged, want, off, &got);
		if (rc)
			return rc;
		if (got == 0)
			return vb_err_set(VB_EIO, "unexpected end of file at offset %llu",
					  (unsigned long long)off);
		s->staged += got;
		s->written += got;
		off += got;
		len -= got;
		if ((rc = stage_filled(s)))
			return rc;
	}
	return VB_OK;
}

enum vb_err vb_sink_copy(struct vb_sink *s, int in, uint64_t off, uint64_t len)
{
	if (s->stage)
		return staged_copy(s, in, off, len);
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
	int use_splice = !s->stage; /* staged: through vb_sink_write */
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

/* ------------------------------------------------------------ read ahead */

#define AHEAD_MAX 8u

struct vb_io_ahead {
	int fd;
	uint64_t off, len;
	size_t chunk;
	unsigned nbuf;
	unsigned char *buf[AHEAD_MAX];
	size_t fill[AHEAD_MAX];
	int ready[AHEAD_MAX];          /* filled, not yet taken back */
	unsigned next;                 /* the caller's next buffer */
	int held;                      /* the caller holds the buffer before next */
	uint64_t taken;                /* bytes handed to the caller */
	pthread_t th;
	int started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;                      /* the caller is closing */
	int failed;                    /* the thread stopped on an error */
	int err_errno;                 /* of the read that failed; 0: end of file */
	uint64_t err_off;              /* where */
};

static void *ahead_main(void *arg)
{
	struct vb_io_ahead *a = arg;
	uint64_t pos = 0;

	for (unsigned b = 0; pos < a->len; b = (b + 1) % a->nbuf) {
		pthread_mutex_lock(&a->mu);
		while (a->ready[b] && !a->stop)
			pthread_cond_wait(&a->cv, &a->mu);
		int stop = a->stop;
		pthread_mutex_unlock(&a->mu);
		if (stop)
			break;
		size_t want = a->len - pos < a->chunk ? (size_t)(a->len - pos) : a->chunk, got = 0;
		enum vb_err rc = vb_io_pread_full(a->fd, a->buf[b], want, a->off + pos, &got);
		pthread_mutex_lock(&a->mu);
		if (rc || got < want) {
			a->failed = 1;
			a->err_errno = rc ? vb_err_errno() : 0;
			a->err_off = a->off + pos + got;
		} else {
			a->fill[b] = want;
			a->ready[b] = 1;
		}
		pthread_cond_broadcast(&a->cv);
		pthread_mutex_unlock(&a->mu);
		if (a->failed)
			break;
		pos += want;
	}
	return NULL;
}

enum vb_err vb_io_ahead_open(int fd, uint64_t off, uint64_t len, size_t chunk, unsigned nbuf,
			     struct vb_io_ahead **out)
{
	struct vb_io_ahead *a;

	*out = NULL;
	if (nbuf < 2 || nbuf > AHEAD_MAX || !chunk)
		return vb_err_set(VB_EINVAL, "internal error: read-ahead of %u buffers of %zu bytes",
				  nbuf, chunk);
	if (!(a = calloc(1, sizeof *a)))
		return vb_err_set(VB_ENOMEM, "out of memory");
	a->fd = fd;
	a->off = off;
	a->len = len;
	a->chunk = chunk;
	a->nbuf = nbuf;
	for (unsigned i = 0; i < nbuf; i++)
		if (!(a->buf[i] = malloc(chunk))) {
			vb_io_ahead_close(a);
			return vb_err_set(VB_ENOMEM, "out of memory");
		}
	if (pthread_mutex_init(&a->mu, NULL)) {
		vb_io_ahead_close(a);
		return vb_err_set(VB_ENOMEM, "cannot set up reading ahead");
	}
	if (pthread_cond_init(&a->cv, NULL)) {
		pthread_mutex_destroy(&a->mu);
		vb_io_ahead_close(a);
		return vb_err_set(VB_ENOMEM, "cannot set up reading ahead");
	}
	a->started = 1; /* the mutex and condition exist from here on */
	if ((errno = pthread_create(&a->th, NULL, ahead_main, a))) {
		a->started = 0;
		pthread_cond_destroy(&a->cv);
		pthread_mutex_destroy(&a->mu);
		vb_io_ahead_close(a);
		return vb_err_sys("cannot start reading ahead");
	}
	a->started = 2;
	*out = a;
	return VB_OK;
}

enum vb_err vb_io_ahead_next(struct vb_io_ahead *a, const unsigned char **p, size_t *n)
{
	unsigned b = a->next;

	*p = NULL;
	*n = 0;
	pthread_mutex_lock(&a->mu);
	if (a->held) {
		/* the buffer before is the caller's no more */
		a->ready[(b + a->nbuf - 1) % a->nbuf] = 0;
		a->held = 0;
		pthread_cond_broadcast(&a->cv);
	}
	if (a->taken == a->len) {
		pthread_mutex_unlock(&a->mu);
		return VB_OK;
	}
	while (!a->ready[b] && !a->failed)
		pthread_cond_wait(&a->cv, &a->mu);
	if (!a->ready[b]) {
		int e = a->err_errno;
		unsigned long long off = a->err_off;
		pthread_mutex_unlock(&a->mu);
		if (!e)
			return vb_err_set(VB_EIO, "unexpected end of file at offset %llu", off);
		errno = e;
		return vb_err_sys("read at offset %llu", off);
	}
	*p = a->buf[b];
	*n = a->fill[b];
	a->held = 1;
	a->taken += a->fill[b];
	a->next = (b + 1) % a->nbuf;
	pthread_mutex_unlock(&a->mu);
	return VB_OK;
}

void vb_io_ahead_close(struct vb_io_ahead *a)
{
	if (!a)
		return;
	if (a->started == 2) {
		pthread_mutex_lock(&a->mu);
		a->stop = 1;
		pthread_cond_broadcast(&a->cv);
		pthread_mutex_unlock(&a->mu);
		pthread_join(a->th, NULL);
	}
	if (a->started) {
		pthread_cond_destroy(&a->cv);
		pthread_mutex_destroy(&a->mu);
	}
	for (unsigned i = 0; i < a->nbuf; i++)
		free(a->buf[i]);
	free(a);
}
