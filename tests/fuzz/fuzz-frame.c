/*
 * fuzz-frame: the framers (lib/frame.c) over stream buffers (lib/sbuf.c),
 * fed the input in chunks whose sizes come from the input itself.
 *
 * Input layout (every field one byte; missing bytes read as 0):
 *
 *   mode      bits 0-1 framer (0 delimiter, 1 length prefix, 2 fixed,
 *             3 delimiter), bit 2 segmented buffer (else linear), bits 3-4
 *             the call (0 vb_framer_next, 1 vb_framer_next_many, 2
 *             vb_framer_count, 3 next/next_many alternating)
 *   max       the maximum record size: 1 + max % 128
 *   framer    delimiter: count (1 + c % 4), then per delimiter its length
 *             (1 + l % 6) and its bytes;
 *             length: field (size 1, 2, 3, 4, 8 or varint by f % 6; bit 3
 *             big endian), offset (o % 8), adjustment (signed byte), strip
 *             (bit 7: given, then s % 32);
 *             fixed: size (1 + s % 160, so some exceed the maximum)
 *   cuts      count k (k % 16), then k chunk sizes (0 means 1), used in turn
 *   payload   the rest
 *
 * The payload is framed twice with the same framer: once all at once (one
 * append, end of input from the start) and once appended chunk by chunk,
 * with the buffer limited to what the maximum allows (the maximum, the
 * longest delimiter or header, and one chunk).  Oversized records are
 * skipped the way vb-frame --oversize=skip does.  Both runs must give the
 * same records (offsets, lengths, delimiters, stripped bytes, bytes),
 * skips and errors; every call must make progress; the bounded buffer
 * must never overflow.  Any violation aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "pages.h"
#include "sbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                           \
	do {                                                                               \
		if (!(c)) {                                                                \
			fprintf(stderr, "fuzz-frame: check failed: %s (line %d)\n", #c, __LINE__); \
			abort();                                                           \
		}                                                                          \
	} while (0)

#define MAX_INPUT 8192
#define MAX_EVENTS (2 * MAX_INPUT + 8)

enum { EV_RECORD, EV_SKIP, EV_ERROR, EV_COUNT };

struct event {
	int kind;
	uint64_t start, end;     /* payload offsets */
	uint64_t skip, len, delim; /* EV_RECORD; EV_COUNT: len = records */
	int unterminated;
	int rc;
};

struct run {
	struct event ev[MAX_EVENTS];
	size_t n;
};

static struct run whole_run, chunked_run;

struct input {
	const uint8_t *p;
	size_t n, at;
};

static unsigned take(struct input *in)
{
	return in->at < in->n ? in->p[in->at++] : 0;
}

struct feed {
	const uint8_t *in;
	size_t n, fed;
	const uint8_t *cuts;
	size_t ncuts, k;
	int eof;
};

/* Append the next chunk; set eof when there is none. */
static void feed_more(struct feed *fd, struct vb_sbuf *b)
{
	if (fd->fed == fd->n) {
		fd->eof = 1;
		return;
	}
	size_t c = fd->ncuts ? fd->cuts[fd->k++ % fd->ncuts] : 7;
	if (!c)
		c = 1;
	if (c > fd->n - fd->fed)
		c = fd->n - fd->fed;
	enum vb_err rc = vb_sbuf_append(b, fd->in + fd->fed, c);
	if (rc)
		fprintf(stderr, "fuzz-frame: the buffer overflowed: %u bytes buffered, %zu more (%s)\n",
			(unsigned)vb_sbuf_len(b), c, vb_err_detail());
	CHECK(rc == VB_OK);
	fd->fed += c;
}

static void add(struct run *r, struct event e)
{
	CHECK(r->n < MAX_EVENTS); /* no progress: records that take no bytes */
	r->ev[r->n++] = e;
}

/* Drop n buffered bytes outside the framer's contract. */
static void drop(struct vb_framer *f, struct vb_sbuf *b, size_t n, uint64_t *pos)
{
	CHECK(vb_sbuf_advance(b, n) == VB_OK);
	vb_framer_discard(f, n);
	*pos += n;
}

/* Skip an oversized record at the head (vb-frame --oversize=skip).
 * Returns 0 to go on, 1 when the input ended inside it. */
static int skip_record(struct vb_framer *f, struct vb_sbuf *b, struct feed *fd,
		       const struct vb_frame *fr, uint64_t *pos, struct run *r)
{
	uint64_t start = *pos;

	if (fr->total) {
		uint64_t left = fr->total;
		for (;;) {
			size_t have = vb_sbuf_len(b), n = have < left ? have : (size_t)left;
			drop(f, b, n, pos);
			left -= n;
			if (!left)
				break;
			if (fd->eof)
				break;
			feed_more(fd, b);
		}
		/* ended by the input: cut short (a last fixed record known to be
		 * short when the input ended before it was reported is the same;
		 * so is a frame known to be cut off, whose header was stripped
		 * only as far as the input went) */
		uint64_t head = fr->skip < *pos - start ? fr->skip : *pos - start;
		add(r, (struct event){EV_SKIP, start, *pos, left != 0 || fr->unterminated ? head : fr->skip,
				      0, 0, left != 0 || fr->unterminated, 0});
		return left != 0;
	}
	/* only a delimited record's end is unknown (frame.h) */
	CHECK(vb_framer_max_delim(f) >= 1);
	size_t keep = vb_framer_max_delim(f) - 1;
	for (;;) {
		size_t at, dlen;
		enum vb_err rc = vb_framer_find_end(f, b, fd->eof, &at, &dlen);
		if (rc == VB_OK) {
			CHECK(at + dlen <= vb_sbuf_len(b));
			drop(f, b, at + dlen, pos);
			add(r, (struct event){EV_SKIP, start, *pos, 0, 0, dlen, dlen == 0, 0});
			return 0;
		}
		CHECK(rc == VB_ENEEDMORE && !fd->eof);
		size_t have = vb_sbuf_len(b);
		if (have > keep)
			drop(f, b, have - keep, pos);
		feed_more(fd, b);
	}
}

/* Check a record's bytes against the payload. */
static void check_bytes(const struct vb_sbuf *b, size_t at, const struct vb_frame *fr,
			const uint8_t *in, uint64_t pos)
{
	unsigned char tmp[1024];
	size_t n = fr->skip + fr->len + fr->delim;

	CHECK(fr->skip + fr->len + fr->delim == fr->total);
	CHECK(at + fr->total <= vb_sbuf_len(b));
	if (n > sizeof tmp)
		n = sizeof tmp;
	if (n > fr->total)
		n = fr->total;
	CHECK(vb_sbuf_peek(b, at, tmp, n) == VB_OK);
	CHECK(!memcmp(tmp, in + pos, n));
}

static void frame(struct vb_framer *f, struct vb_sbuf *b, struct feed *fd, unsigned call,
		  size_t many_max, struct run *r)
{
	uint64_t pos = 0;
	unsigned turn = 0;

	r->n = 0;
	vb_framer_reset(f);
	for (;;) {
		struct vb_frame fr[8];
		size_t got = 0;
		enum vb_err rc;
		unsigned c = call == 3 ? turn++ % 2 : call;

		memset(fr, 0, sizeof fr);
		if (c == 2) {
			uint64_t recs = 0;
			size_t used = 0;
			rc = vb_framer_count(f, b, fd->eof, &recs, &used);
			if (rc == VB_OK) {
				CHECK(recs >= 1 && used <= vb_sbuf_len(b));
				add(r, (struct event){EV_COUNT, pos, pos + used, 0, recs, 0, 0, 0});
				CHECK(vb_sbuf_advance(b, used) == VB_OK);
				pos += used;
				continue;
			}
			if (rc == VB_EFRAME) { /* the first record is oversized: its size */
				rc = vb_framer_next(f, b, fd->eof, &fr[0]);
				CHECK(rc != VB_OK);
			}
		} else if (c == 1) {
			rc = vb_framer_next_many(f, b, fd->eof, fr, many_max, &got);
			if (rc == VB_OK)
				CHECK(got >= 1 && got <= many_max);
		} else {
			rc = vb_framer_next(f, b, fd->eof, &fr[0]);
			got = 1;
		}
		if (rc == VB_OK) {
			size_t at = 0;
			for (size_t i = 0; i < got; i++) {
				check_bytes(b, at, &fr[i], fd->in, pos + at);
				add(r, (struct event){EV_RECORD, pos + at, pos + at + fr[i].total,
						      fr[i].skip, fr[i].len, fr[i].delim,
						      fr[i].unterminated, 0});
				at += fr[i].total;
			}
			CHECK(vb_sbuf_advance(b, at) == VB_OK);
			pos += at;
			continue;
		}
		if (rc == VB_ENEEDMORE) {
			if (fd->eof)
				break;
			feed_more(fd, b);
			continue;
		}
		if (rc == VB_EFRAME) {
			if (skip_record(f, b, fd, &fr[0], &pos, r))
				break;
			continue;
		}
		add(r, (struct event){EV_ERROR, pos, pos, 0, 0, 0, 0, (int)rc});
		break;
	}
	if (!r->n || r->ev[r->n - 1].kind != EV_ERROR)
		CHECK(pos == fd->n || (r->n && r->ev[r->n - 1].kind == EV_SKIP &&
				       r->ev[r->n - 1].unterminated));
}

/* Fold runs of records into counts (to compare with vb_framer_count). */
static void fold(struct run *r)
{
	size_t w = 0;
	for (size_t i = 0; i < r->n; i++) {
		struct event e = r->ev[i];
		if (e.kind == EV_RECORD) {
			e = (struct event){EV_COUNT, e.start, e.end, 0, 1, 0, 0, 0};
		}
		if (e.kind == EV_COUNT && w && r->ev[w - 1].kind == EV_COUNT) {
			r->ev[w - 1].end = e.end;
			r->ev[w - 1].len += e.len;
			continue;
		}
		r->ev[w++] = e;
	}
	r->n = w;
}

static int same(const struct event *x, const struct event *y)
{
	return x->kind == y->kind && x->start == y->start && x->end == y->end &&
	       x->skip == y->skip && x->len == y->len && x->delim == y->delim &&
	       x->unterminated == y->unterminated && x->rc == y->rc;
}

static void compare(struct run *a, struct run *b)
{
	if (a->n != b->n)
		fprintf(stderr, "fuzz-frame: %zu events all at once, %zu in chunks\n", a->n, b->n);
	CHECK(a->n == b->n);
	for (size_t i = 0; i < a->n; i++) {
		struct event *x = &a->ev[i], *y = &b->ev[i];
		if (!same(x, y))
			fprintf(stderr, "fuzz-frame: event %zu: kind %d/%d start %llu/%llu end %llu/%llu skip %llu/%llu len %llu/%llu delim %llu/%llu unterminated %d/%d rc %d/%d\n",
				i, x->kind, y->kind, (unsigned long long)x->start,
				(unsigned long long)y->start, (unsigned long long)x->end,
				(unsigned long long)y->end, (unsigned long long)x->skip, (unsigned long long)y->skip, (unsigned long long)x->len,
				(unsigned long long)y->len, (unsigned long long)x->delim,
				(unsigned long long)y->delim, x->unterminated, y->unterminated, x->rc, y->rc);
		CHECK(same(x, y));
	}
}

static struct vb_pages *pages;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size, 0};
	struct vb_framer *f = NULL;
	unsigned mode = take(&in), kind = mode & 3, call = (mode >> 3) & 3;
	uint64_t max = 1 + take(&in) % 128;
	size_t header = 0; /* bytes the framer may hold beyond max */

	if (size > MAX_INPUT)
		return 0;
	if (!pages) {
		struct vb_pages_opts o;
		vb_pages_opts_init(&o);
		o.page_size = 4096;
		CHECK(vb_pages_create(&o, &pages) == VB_OK);
	}
	if (kind == 0 || kind == 3) {
		unsigned char d[4][6];
		const unsigned char *dp[4];
		size_t dl[4], nd = 1 + take(&in) % 4;
		for (size_t i = 0; i < nd; i++) {
			dl[i] = 1 + take(&in) % 6;
			for (size_t j = 0; j < dl[i]; j++)
				d[i][j] = (unsigned char)take(&in);
			dp[i] = d[i];
		}
		CHECK(vb_framer_delim(dp, dl, nd, &f) == VB_OK);
		header = 2 * 6;
	} else if (kind == 1) {
		static const unsigned sizes[] = {1, 2, 3, 4, 8, 0};
		struct vb_lenspec spec;
		unsigned fb = take(&in), sb;
		memset(&spec, 0, sizeof spec);
		spec.size = sizes[fb % 6];
		spec.big_endian = (fb >> 3) & 1;
		spec.offset = take(&in) % 8;
		spec.adjust = (int8_t)take(&in);
		sb = take(&in);
		spec.strip_set = sb >> 7;
		spec.strip = spec.strip_set ? sb % 32 : 0;
		CHECK(vb_framer_length(&spec, &f) == VB_OK);
		header = 8 + 10;
	} else {
		CHECK(vb_framer_fixed(1 + take(&in) % 160, &f) == VB_OK);
	}
	vb_framer_set_max(f, max);

	size_t ncuts = take(&in) % 16;
	const uint8_t *cuts = data + (in.at < size ? in.at : size);
	if (ncuts > size - (in.at < size ? in.at : size))
		ncuts = size - (in.at < size ? in.at : size);
	in.at += ncuts;
	const uint8_t *payload = data + (in.at < size ? in.at : size);
	size_t n = size - (in.at < size ? in.at : size);
	size_t many_max = 1 + (ncuts ? cuts[0] % 8 : 3);

	/* all at once: whatever size the payload has */
	struct vb_sbuf *b;
	struct feed fd = {payload, n, n, cuts, ncuts, 0, 1};
	CHECK(vb_sbuf_create_linear(0, &b) == VB_OK);
	if (n)
		CHECK(vb_sbuf_append(b, payload, n) == VB_OK);
	frame(f, b, &fd, 0, 1, &whole_run);
	vb_sbuf_free(b);

	/* in chunks, in a buffer as small as the maximum allows */
	size_t bound = (size_t)max + header + 256;
	if (mode & 4)
		CHECK(vb_sbuf_create_segmented(pages, 1 + (mode >> 5) * 8, bound, &b) == VB_OK);
	else
		CHECK(vb_sbuf_create_linear(bound, &b) == VB_OK);
	fd = (struct feed){payload, n, 0, cuts, ncuts, 0, 0};
	frame(f, b, &fd, call, many_max, &chunked_run);
	vb_sbuf_free(b);
	vb_framer_free(f);

	if (call >= 2) {
		fold(&whole_run);
		fold(&chunked_run);
	}
	compare(&whole_run, &chunked_run);
	return 0;
}
