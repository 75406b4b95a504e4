/*
 * sedit: one-pass stream editing (see sedit.h).
 *
 * An "applier" walks the input once.  It keeps the deletions as sorted,
 * merged intervals and the insertion point; bytes before an interval are
 * written, bytes inside are dropped, and the insertion is written when the
 * walk reaches its position (before a deletion that starts there, so a
 * replace is insert-then-drop).  For end-relative positions on a pipe the
 * input passes through a ring of the last K bytes; only bytes with K
 * successors reach the applier before end of input, so the late-resolved
 * positions (all >= length - K) are still ahead of it.
 *
 * vb_sedit_run_counted puts a thread, the pump, between the input and the
 * applier: it copies the input into a pipe the applier reads and counts
 * the bytes, so that the caller learns a pipe's length at its end.
 */
#include "sedit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (128u * 1024u)

struct iv {
	uint64_t a, b;
};

struct applier {
	const struct vb_sedit *e;
	struct vb_sink *out;
	uint64_t pos;
	struct iv *dv;
	size_t nd, di;
	int ins_pending;
	uint64_t at;
};

static int cmp_iv(const void *x, const void *y)
{
	const struct iv *a = x, *b = y;
	return a->a < b->a ? -1 : a->a > b->a;
}

/* Sort and merge intervals [from, nd). */
static void merge_from(struct applier *ap, size_t from)
{
	size_t w = from;

	qsort(ap->dv + from, ap->nd - from, sizeof *ap->dv, cmp_iv);
	for (size_t i = from; i < ap->nd; i++) {
		if (ap->dv[i].a == ap->dv[i].b)
			continue;
		if (w > from && ap->dv[i].a <= ap->dv[w - 1].b) {
			if (ap->dv[i].b > ap->dv[w - 1].b)
				ap->dv[w - 1].b = ap->dv[i].b;
		} else {
			ap->dv[w++] = ap->dv[i];
		}
	}
	ap->nd = w;
}

static enum vb_err feed(struct applier *ap, const unsigned char *buf, size_t n)
{
	enum vb_err rc;

	while (n) {
		if (ap->ins_pending && ap->pos == ap->at) {
			if ((rc = ap->e->emit(ap->e->arg, ap->out)))
				return rc;
			ap->ins_pending = 0;
		}
		while (ap->di < ap->nd && ap->dv[ap->di].b <= ap->pos)
			ap->di++;
		uint64_t next = UINT64_MAX;
		int inside = ap->di < ap->nd && ap->dv[ap->di].a <= ap->pos;
		if (inside)
			next = ap->dv[ap->di].b;
		else if (ap->di < ap->nd)
			next = ap->dv[ap->di].a;
		if (ap->ins_pending && ap->at > ap->pos && ap->at < next)
			next = ap->at;
		uint64_t take = next - ap->pos < n ? next - ap->pos : n;
		if (!inside && (rc = vb_sink_write(ap->out, buf, (size_t)take)))
			return rc;
		buf += take;
		n -= (size_t)take;
		ap->pos += take;
	}
	return VB_OK;
}

static enum vb_err finish(struct applier *ap)
{
	if (ap->ins_pending && ap->pos == ap->at) {
		enum vb_err rc = ap->e->emit(ap->e->arg, ap->out);
		if (rc)
			return rc;
		ap->ins_pending = 0;
	}
	return VB_OK;
}

static enum vb_err labelled(const char *label, enum vb_err rc)
{
	if (label)
		vb_err_prefix("%s", label);
	return rc;
}

/* Check every position against length `len`; resolve into the applier
 * those selected by `which` (0: all, 1: only end-relative, 2: only from
 * the start). */
static enum vb_err resolve(struct applier *ap, uint64_t len, int which)
{
	const struct vb_sedit *e = ap->e;
	enum vb_err rc;
	uint64_t a;

	for (size_t i = 0; i < e->ndels; i++) {
		const struct vb_sedit_del *d = &e->dels[i];
		if (which == 1 && !d->pos.from_end)
			continue;
		if (which == 2 && d->pos.from_end)
			continue;
		if ((rc = vb_pos_resolve(&d->pos, len, &a)))
			return labelled(d->label, rc);
		if (d->len > len - a)
			return labelled(d->label,
					vb_err_set(VB_ERANGE, "range %llu+%llu is beyond the end (length %llu)",
						   (unsigned long long)a, (unsigned long long)d->len,
						   (unsigned long long)len));
		ap->dv[ap->nd].a = a;
		ap->dv[ap->nd].b = a + d->len;
		ap->nd++;
	}
	if (e->insert && (which == 0 || (which == 1) == (e->ins_pos.from_end != 0))) {
		if ((rc = vb_pos_resolve(&e->ins_pos, len, &a)))
			return rc;
		ap->at = a;
		ap->ins_pending = 1;
	}
	return VB_OK;
}

/* A pipe run with every position from the start: check at the end. */
static enum vb_err check_late(struct applier *ap)
{
	struct applier probe = *ap;
	probe.nd = 0;
	probe.dv = malloc((ap->e->ndels ? ap->e->ndels : 1) * sizeof *probe.dv);
	if (!probe.dv)
		return vb_err_set(VB_ENOMEM, "out of memory");
	enum vb_err rc = resolve(&probe, ap->pos, 0);
	free(probe.dv);
	return rc;
}

enum vb_err vb_sedit_run(int in, struct vb_sink *out, const struct vb_sedit *e)
{
	struct applier ap = {e, out, 0, NULL, 0, 0, 0, 0};
	struct stat st;
	unsigned char *buf = NULL, *ring = NULL;
	enum vb_err rc = VB_OK;
	uint64_t hold = 0;
	int from_end = e->insert && e->ins_pos.from_end;

	for (size_t i = 0; i < e->ndels; i++) {
		if (e->dels[i].pos.from_end) {
			from_end = 1;
			if (e->dels[i].pos.n > hold)
				hold = e->dels[i].pos.n;
		}
	}
	if (e->insert && e->ins_pos.from_end && e->ins_pos.n > hold)
		hold = e->ins_pos.n;
	ap.dv = malloc((e->ndels ? e->ndels : 1) * sizeof *ap.dv);
	buf = malloc(CHUNK);
	if (!ap.dv || !buf) {
		rc = vb_err_set(VB_ENOMEM, "out of memory");
		goto out;
	}

	off_t cur = -1;
	if (fstat(in, &st) == 0 && S_ISREG(st.st_mode))
		cur = lseek(in, 0, SEEK_CUR);
	if (cur >= 0 && st.st_size >= cur) {
		/* length known: check everything first */
		uint64_t len = (uint64_t)(st.st_size - cur);
		if ((rc = resolve(&ap, len, 0)))
			goto out;
		merge_from(&ap, 0);
		from_end = 0;
		hold = 0;
	} else if (!from_end) {
		if ((rc = resolve(&ap, UINT64_MAX, 0)))
			goto out;
		merge_from(&ap, 0);
	} else {
		if (hold > e->hold_max) {
			rc = vb_err_set(VB_ELIMIT, "a position %llu bytes before the end of a pipe needs that much memory (limit %llu); give a file instead of a pipe, or raise VB_HOLD_MAX",
					(unsigned long long)hold, (unsigned long long)e->hold_max);
			goto out;
		}
		if ((rc = resolve(&ap, UINT64_MAX, 2)))
			goto out;
		merge_from(&ap, 0);
		ring = malloc(hold + CHUNK);
		if (!ring) {
			rc = vb_err_set(VB_ENOMEM, "out of memory");
			goto out;
		}
	}

	size_t rlen = 0;
	for (;;) {
		unsigned char *dst = ring ? ring + rlen : buf;
		ssize_t r = read(in, dst, CHUNK);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = vb_err_sys("read");
			goto out;
		}
		if (r == 0)
			break;
		if (!ring) {
			if ((rc = feed(&ap, buf, (size_t)r)))
				goto out;
			continue;
		}
		rlen += (size_t)r;
		if (rlen > hold) {
			size_t pass = rlen - (size_t)hold;
			if ((rc = feed(&ap, ring, pass)))
				goto out;
			memmove(ring, ring + pass, (size_t)hold);
			rlen = (size_t)hold;
		}
	}
	if (ring) {
		uint64_t len = ap.pos + rlen;
		size_t before = ap.nd;
		if ((rc = resolve(&ap, len, 1)))
			goto out;
		/* late intervals all lie at or after ap.pos */
		(void)before;
		merge_from(&ap, ap.di);
		if ((rc = feed(&ap, ring, rlen)))
			goto out;
		/* also re-check the early ones against the real length */
		if ((rc = check_late(&ap)))
			goto out;
	} else if (cur < 0 && (rc = check_late(&ap))) {
		goto out;
	}
	rc = finish(&ap);
out:
	free(ap.dv);
	free(buf);
	free(ring);
	return rc;
}

/* The pump: copies `in` to `out` (a pipe) in chunks, counting them. */
struct pump {
	int in, out;
	char *buf;
	uint64_t count;    /* bytes passed on */
	int done;          /* 1: `in` reached its end */
	int err;           /* errno of a failed read of `in`, or 0 */
};

/* Also run when the pump is cancelled while blocked in read(2). */
static void pump_cleanup(void *arg)
{
	struct pump *p = arg;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	free(p->buf);
	p->buf = NULL;
	close(p->out);
}

static void *pump_main(void *arg)
{
	struct pump *p = arg;

	pthread_cleanup_push(pump_cleanup, p);
	for (;;) {
		ssize_t r = read(p->in, p->buf, CHUNK);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			p->err = errno;
			break;
		}
		if (r == 0) {
			p->done = 1;
			break;
		}
		/* a failed write means the editor stopped reading */
		if (vb_io_write_full(p->out, p->buf, (size_t)r))
			break;
		p->count += (uint64_t)r;
	}
	pthread_cleanup_pop(1);
	return NULL;
}

enum vb_err vb_sedit_run_counted(int in, struct vb_sink *out, const struct vb_sedit *e,
				 uint64_t *len)
{
	struct pump p = {in, -1, NULL, 0, 0, 0};
	pthread_t th;
	int fds[2];
	enum vb_err rc;

	*len = UINT64_MAX;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return vb_err_sys("pipe");
	(void)fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
	p.out = fds[1];
	p.buf = malloc(CHUNK);
	if (!p.buf) {
		close(fds[0]);
		close(fds[1]);
		return vb_err_set(VB_ENOMEM, "out of memory");
	}
	if ((errno = pthread_create(&th, NULL, pump_main, &p))) {
		rc = vb_err_sys("cannot start a thread");
		free(p.buf);
		close(fds[0]);
		close(fds[1]);
		return rc;
	}
	rc = vb_sedit_run(fds[0], out, e);
	/* the pump may still be waiting for its input (the editor stopped
	 * early): stop it; a finished one is only joined */
	close(fds[0]);
	if (rc)
		pthread_cancel(th);
	pthread_join(th, NULL);
	if (p.err && (!rc || rc == VB_ERANGE)) {
		errno = p.err;
		return vb_err_sys("read");
	}
	if (p.done)
		*len = p.count;
	return rc;
}
