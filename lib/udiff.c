/*
 * udiff: a unified diff between two committed versions (vb_udiff, the
 * contract is in udiff.h).
 *
 * Three steps, each bounded:
 *
 *   1. The changed byte ranges of vb_vbuf_diff are collected (at most
 *      max_ranges of them; more is VB_UDIFF_LARGE).  They are collected
 *      first and looked at after the walk, so that no read runs inside
 *      the tree walk's callback.
 *   2. Between two changed ranges lies a run of equal bytes, A[ea, a_end)
 *      = B[eb, b_end).  Its whole lines are common lines: they start at p,
 *      the first offset of the run that is a line start on both sides (ea
 *      itself if the bytes before it are '\n' or nothing on both sides,
 *      else just after the first '\n' of the run), and end at q, the start
 *      of the line holding a_end (the run's last '\n' + 1; at the end of
 *      the content, the end: the last lines are equal to the end on both
 *      sides).  A run with no whole line (q <= p) joins the ranges around
 *      it; otherwise the changed region before it ends at p and the next
 *      begins at q.  Inside a run the '\n' bytes are the same on both
 *      sides, so B's line numbers are A's plus the difference at the
 *      run's start: two line_of calls per run, and a line_start for p and
 *      for q.
 *   3. Each region is trimmed: whole lines equal at its start, then at its
 *      end, are found by comparing the bytes (reading at most max_bytes in
 *      all) and become common lines.  A region left with no line is
 *      dropped.  The regions then make hunks: N lines of context before
 *      and after, and a region whose gap to the previous one is at most 2N
 *      lines joins its hunk (diff -u).  The hunk is written into the patch
 *      as it grows and its "@@" line inserted in front when it closes (its
 *      counts known only then).
 *
 * The patch is kept in memory (at most max_bytes) and written whole when
 * it is complete, so that a binary or too large one writes nothing.
 */
#include "udiff.h"
#include "grow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK ((size_t)64 << 10)
/* The first comparison reads at a region's edge are short: most edges
 * differ at once. */
#define FIRST_STEP ((size_t)256)

static const char no_newline[] = "\n\\ No newline at end of file\n";

struct side {
	uint64_t version;
	uint64_t len;
	int ends_nl;          /* empty, or the last byte is '\n' */
	uint64_t end_line;    /* the line after the last: lines + 1 */
};

/* Lines [a1, a2) of A at bytes [ao1, ao2) became lines [b1, b2) of B at
 * bytes [bo1, bo2); each offset is a line start or the end. */
struct region {
	uint64_t ao1, ao2, a1, a2;
	uint64_t bo1, bo2, b1, b2;
};

struct range {
	uint64_t ao, al, bo, bl;
};

struct ud {
	struct vb_vbuf *b;
	uint64_t context, max_bytes;
	struct side s[2];             /* A, B */
	struct range *ranges;
	size_t nranges, cap;
	uint64_t max_ranges;
	enum vb_udiff_outcome stop;   /* BINARY or LARGE once decided, else SAME */
	uint64_t compared;            /* bytes read to compare lines */
	unsigned char *buf[2];        /* CHUNK bytes each */
	char *text;                   /* the patch */
	size_t len, tcap;
	/* the hunk being made */
	int open;
	size_t body;                  /* where it starts in text */
	uint64_t ga1, gb1;            /* its first lines */
	uint64_t ga2, gb2;            /* the line after its (or the last hunk's) last region */
	uint64_t gao2;                /* the byte there in A */
	uint64_t hunks;
};

/* Decide the outcome and stop: the callers return the code up to vb_udiff,
 * which turns it into that outcome. */
static enum vb_err stop(struct ud *u, enum vb_udiff_outcome why)
{
	u->stop = why;
	return vb_err_set(VB_ELIMIT, "%s", why == VB_UDIFF_BINARY ? "binary" : "too large");
}

static enum vb_err collect(void *arg, uint64_t a_off, uint64_t a_len, uint64_t b_off,
			   uint64_t b_len)
{
	struct ud *u = arg;
	enum vb_err rc;

	if (u->nranges >= u->max_ranges)
		return stop(u, VB_UDIFF_LARGE);
	if ((rc = vb_grow(&u->ranges, &u->cap, u->nranges, sizeof *u->ranges, 64)))
		return rc;
	u->ranges[u->nranges++] = (struct range){a_off, a_len, b_off, b_len};
	return VB_OK;
}

static enum vb_err rd(struct ud *u, int side, uint64_t off, void *buf, size_t n)
{
	return vb_vbuf_read_at(u->b, u->s[side].version, off, buf, n);
}

static enum vb_err line_of(struct ud *u, int side, uint64_t off, uint64_t *line)
{
	return vb_vbuf_line_of(u->b, u->s[side].version, VB_LINES_LF, off, line);
}

static enum vb_err line_start(struct ud *u, int side, uint64_t n, uint64_t *off)
{
	return vb_vbuf_line_start(u->b, u->s[side].version, VB_LINES_LF, n, off);
}

/* Whether `off` of a side starts a line (the start, or after a '\n'). */
static enum vb_err at_line_start(struct ud *u, int side, uint64_t off, int *yes)
{
	unsigned char c;
	enum vb_err rc;

	*yes = 1;
	if (!off)
		return VB_OK;
	if ((rc = rd(u, side, off - 1, &c, 1)))
		return rc;
	*yes = c == '\n';
	return VB_OK;
}

/* Append to the patch, within max_bytes. */
static enum vb_err put(struct ud *u, const void *p, size_t n)
{
	if (n > u->max_bytes - u->len)
		return stop(u, VB_UDIFF_LARGE);
	if (n > u->tcap - u->len) {
		/* len + n <= max_bytes <= VB_UDIFF_MAX_BYTES_MAX: no overflow */
		size_t cap = u->tcap ? u->tcap : 4096;
		while (cap < u->len + n)
			cap *= 2;
		char *t = realloc(u->text, cap);
		if (!t)
			return vb_err_set(VB_ENOMEM, "out of memory");
		u->text = t;
		u->tcap = cap;
	}
	memcpy(u->text + u->len, p, n);
	u->len += n;
	return VB_OK;
}

/* Count `n` more bytes read to compare lines, within max_bytes. */
static enum vb_err spend(struct ud *u, uint64_t n)
{
	if (n > u->max_bytes || u->compared > u->max_bytes - n)
		return stop(u, VB_UDIFF_LARGE);
	u->compared += n;
	return VB_OK;
}

/* The whole lines at bytes [off, end) of a side, each after `mark`; a
 * NUL byte makes the patch binary. */
static enum vb_err put_lines(struct ud *u, int side, uint64_t off, uint64_t end, char mark)
{
	const struct side *s = &u->s[side];
	unsigned char *buf = u->buf[0];
	uint64_t start = off;
	int bol = 1;
	enum vb_err rc;

	while (off < end) {
		size_t n = end - off < CHUNK ? (size_t)(end - off) : CHUNK, i = 0;
		if ((rc = rd(u, side, off, buf, n)))
			return rc;
		if (memchr(buf, 0, n))
			return stop(u, VB_UDIFF_BINARY);
		while (i < n) {
			const unsigned char *nl = memchr(buf + i, '\n', n - i);
			size_t k = nl ? (size_t)(nl - buf) + 1 - i : n - i;
			if ((bol && (rc = put(u, &mark, 1))) || (rc = put(u, buf + i, k)))
				return rc;
			i += k;
			bol = nl != NULL;
		}
		off += n;
	}
	if (end > start && end == s->len && !s->ends_nl)
		return put(u, no_newline, sizeof no_newline - 1);
	return VB_OK;
}

/* Move the whole lines equal on both sides at the start of `r` out of it;
 * all of it equal: it is left empty. */
static enum vb_err trim_head(struct ud *u, struct region *r)
{
	uint64_t la = r->ao2 - r->ao1, lb = r->bo2 - r->bo1, m = la < lb ? la : lb;
	uint64_t done = 0, cut = 0, lines = 0, nl = 0;
	size_t step = FIRST_STEP;
	enum vb_err rc;

	while (done < m) {
		size_t n = m - done < step ? (size_t)(m - done) : step, i;
		if ((rc = spend(u, 2 * (uint64_t)n)) ||
		    (rc = rd(u, 0, r->ao1 + done, u->buf[0], n)) ||
		    (rc = rd(u, 1, r->bo1 + done, u->buf[1], n)))
			return rc;
		for (i = 0; i < n && u->buf[0][i] == u->buf[1][i]; i++)
			if (u->buf[0][i] == '\n') {
				cut = done + i + 1;
				lines = ++nl;
			}
		done += i;
		if (i < n)
			break;
		if (step < CHUNK)
			step *= 2;
	}
	if (done == la && la == lb) {
		r->ao1 = r->ao2;
		r->bo1 = r->bo2;
		r->a1 = r->a2;
		r->b1 = r->b2;
		return VB_OK;
	}
	r->ao1 += cut;
	r->bo1 += cut;
	r->a1 += lines;
	r->b1 += lines;
	return VB_OK;
}

/* The same at the end of `r`: a suffix is cut where it starts a line on
 * both sides. */
static enum vb_err trim_tail(struct ud *u, struct region *r)
{
	uint64_t la = r->ao2 - r->ao1, lb = r->bo2 - r->bo1, m = la < lb ? la : lb;
	uint64_t done = 0, cut = 0, lines = 0, nl = 0;
	/* the suffix's last line has no '\n' (nor has B's, where equal) */
	int partial = r->ao2 == u->s[0].len && !u->s[0].ends_nl;
	size_t step = FIRST_STEP;
	enum vb_err rc;

	while (done < m) {
		size_t n = m - done < step ? (size_t)(m - done) : step, i;
		if ((rc = spend(u, 2 * (uint64_t)n)) ||
		    (rc = rd(u, 0, r->ao2 - done - n, u->buf[0], n)) ||
		    (rc = rd(u, 1, r->bo2 - done - n, u->buf[1], n)))
			return rc;
		for (i = n; i > 0 && u->buf[0][i - 1] == u->buf[1][i - 1]; i--) {
			if (u->buf[0][i - 1] != '\n')
				continue;
			uint64_t k = done + (n - i); /* the bytes after this '\n' */
			if (k) {
				cut = k;
				lines = nl + (uint64_t)partial;
			}
			nl++;
		}
		done += n - i;
		if (i > 0)
			break;
		if (step < CHUNK)
			step *= 2;
	}
	if (done == m && m > cut) {
		/* one side is equal to the other's end: its start starts a
		 * line; does the other's cut? */
		int a_ok = 1, b_ok = 1;
		if ((la > m && (rc = at_line_start(u, 0, r->ao2 - m, &a_ok))) ||
		    (lb > m && (rc = at_line_start(u, 1, r->bo2 - m, &b_ok))))
			return rc;
		if (a_ok && b_ok) {
			cut = m;
			lines = nl + (uint64_t)partial;
		}
	}
	r->ao2 -= cut;
	r->bo2 -= cut;
	r->a2 -= lines;
	r->b2 -= lines;
	return VB_OK;
}

/* "L,S" of a hunk line: S lines from line L (an empty side is numbered
 * from the line before it, a count of 1 is left out, as diff does). */
static int range_text(char *p, size_t n, uint64_t first, uint64_t count)
{
	if (count == 1)
		return snprintf(p, n, "%llu", (unsigned long long)first);
	return snprintf(p, n, "%llu,%llu", (unsigned long long)(count ? first : first - 1),
			(unsigned long long)count);
}

/* Close the hunk: its trailing context, then its "@@" line in front. */
static enum vb_err close_hunk(struct ud *u)
{
	uint64_t ctx = u->s[0].end_line - u->ga2, end;
	char hdr[128];
	enum vb_err rc;

	if (ctx > u->context)
		ctx = u->context;
	if ((rc = line_start(u, 0, u->ga2 + ctx, &end)) || (rc = put_lines(u, 0, u->gao2, end, ' ')))
		return rc;
	int h = snprintf(hdr, sizeof hdr, "@@ -");
	h += range_text(hdr + h, sizeof hdr - (size_t)h, u->ga1, u->ga2 + ctx - u->ga1);
	h += snprintf(hdr + h, sizeof hdr - (size_t)h, " +");
	h += range_text(hdr + h, sizeof hdr - (size_t)h, u->gb1, u->gb2 + ctx - u->gb1);
	h += snprintf(hdr + h, sizeof hdr - (size_t)h, " @@\n");
	size_t body_len = u->len - u->body;
	if ((rc = put(u, hdr, (size_t)h)))
		return rc;
	memmove(u->text + u->body + h, u->text + u->body, body_len);
	memcpy(u->text + u->body, hdr, (size_t)h);
	u->open = 0;
	u->hunks++;
	return VB_OK;
}

/* A changed region, trimmed, into the patch. */
static enum vb_err show(struct ud *u, struct region *r)
{
	uint64_t n = u->context, gap;
	enum vb_err rc;

	if ((rc = trim_head(u, r)))
		return rc;
	if (r->ao1 == r->ao2 && r->bo1 == r->bo2)
		return VB_OK;
	if ((rc = trim_tail(u, r)))
		return rc;
	gap = r->a1 - u->ga2;
	if (u->open) {
		if (gap <= n || gap - n <= n)
			rc = put_lines(u, 0, u->gao2, r->ao1, ' ');
		else
			rc = close_hunk(u);
		if (rc)
			return rc;
	}
	if (!u->open) {
		uint64_t ctx = gap < n ? gap : n, off;
		if ((rc = line_start(u, 0, r->a1 - ctx, &off)))
			return rc;
		u->open = 1;
		u->body = u->len;
		u->ga1 = r->a1 - ctx;
		u->gb1 = r->b1 - ctx;
		if ((rc = put_lines(u, 0, off, r->ao1, ' ')))
			return rc;
	}
	if ((rc = put_lines(u, 0, r->ao1, r->ao2, '-')) || (rc = put_lines(u, 1, r->bo1, r->bo2, '+')))
		return rc;
	u->ga2 = r->a2;
	u->gb2 = r->b2;
	u->gao2 = r->ao2;
	return VB_OK;
}

/*
 * The run of equal bytes A[ea, a_end) = B[eb, ...) after the open region
 * `r` (final: the run up to the end of both).  If it holds whole lines,
 * `r` ends at the first and is shown, and the next region starts after
 * the last.  At the end `r` is shown in any case.
 */
static enum vb_err run(struct ud *u, struct region *r, uint64_t ea, uint64_t eb, uint64_t a_end,
		       int final)
{
	const struct side *A = &u->s[0], *B = &u->s[1];
	enum vb_err rc;

	if (ea < a_end) {
		uint64_t la, lb, lp, lq, p, q;
		int sa, sb;
		if ((rc = line_of(u, 0, ea, &la)) || (rc = line_of(u, 1, eb, &lb)) ||
		    (rc = at_line_start(u, 0, ea, &sa)) || (rc = at_line_start(u, 1, eb, &sb)))
			return rc;
		p = ea;
		lp = la;
		if (!(sa && sb) && (rc = line_start(u, 0, ++lp, &p)))
			return rc;
		if (final) {
			q = a_end;
			lq = A->end_line;
		} else if ((rc = line_of(u, 0, a_end, &lq)) || (rc = line_start(u, 0, lq, &q))) {
			return rc;
		}
		if (p < q) {
			r->ao2 = p;
			r->a2 = lp;
			r->bo2 = p - ea + eb;
			r->b2 = lp - la + lb;
			if ((rc = show(u, r)))
				return rc;
			*r = (struct region){q, 0, lq, 0, q - ea + eb, 0, lq - la + lb, 0};
			return VB_OK;
		}
	}
	if (!final)
		return VB_OK;
	r->ao2 = A->len;
	r->a2 = A->end_line;
	r->bo2 = B->len;
	r->b2 = B->end_line;
	return show(u, r);
}

static enum vb_err side_init(struct ud *u, int side)
{
	struct side *s = &u->s[side];
	struct vb_commit *c = malloc(sizeof *c);
	unsigned char last;
	enum vb_err rc;

	if (!c)
		return vb_err_set(VB_ENOMEM, "out of memory");
	rc = vb_vbuf_info(u->b, s->version, c);
	s->len = c->length;
	free(c);
	if (rc || (rc = line_of(u, side, s->len, &s->end_line)))
		return rc;
	s->ends_nl = 1;
	if (s->len) {
		if ((rc = rd(u, side, s->len - 1, &last, 1)))
			return rc;
		s->ends_nl = last == '\n';
		s->end_line += !s->ends_nl;
	}
	return VB_OK;
}

static enum vb_err make(struct ud *u, const char *header)
{
	struct region r = {0, 0, 1, 0, 0, 0, 1, 0};
	uint64_t ea = 0, eb = 0;
	enum vb_err rc;

	if ((rc = side_init(u, 0)) || (rc = side_init(u, 1)))
		return rc;
	u->buf[0] = malloc(CHUNK);
	u->buf[1] = malloc(CHUNK);
	if (!u->buf[0] || !u->buf[1])
		return vb_err_set(VB_ENOMEM, "out of memory");
	if (header && (rc = put(u, header, strlen(header))))
		return rc;
	u->ga2 = 1;
	for (size_t i = 0; i < u->nranges; i++) {
		const struct range *g = &u->ranges[i];
		if (g->ao < ea || g->bo < eb || g->ao - ea != g->bo - eb ||
		    g->al > u->s[0].len - g->ao || g->bl > u->s[1].len - g->bo)
			return vb_err_set(VB_ECORRUPT, "the versions' differences do not add up");
		if ((rc = run(u, &r, ea, eb, g->ao, 0)))
			return rc;
		ea = g->ao + g->al;
		eb = g->bo + g->bl;
	}
	if (u->s[0].len - ea != u->s[1].len - eb)
		return vb_err_set(VB_ECORRUPT, "the versions' differences do not add up");
	if ((rc = run(u, &r, ea, eb, u->s[0].len, 1)))
		return rc;
	return u->open ? close_hunk(u) : VB_OK;
}

enum vb_err vb_udiff(struct vb_vbuf *b, uint64_t va, uint64_t vb, const struct vb_udiff_opts *o,
		     struct vb_sink *out, struct vb_udiff_stats *st)
{
	struct ud u = {.b = b, .context = o->context, .max_bytes = o->max_bytes};
	enum vb_err rc;

	*st = (struct vb_udiff_stats){VB_UDIFF_SAME, 0, 0};
	if (!o->max_bytes || o->max_bytes > VB_UDIFF_MAX_BYTES_MAX)
		return vb_err_set(VB_EINVAL, "the most bytes of a diff is 1 to %llu, not %llu",
				  (unsigned long long)VB_UDIFF_MAX_BYTES_MAX,
				  (unsigned long long)o->max_bytes);
	/* a range shown costs at least 3 bytes: more ranges than a third of
	 * max_bytes cannot make a short enough patch (unless they are equal
	 * bytes after all, which is then too much to compare) */
	u.max_ranges = o->max_bytes / 3 < VB_UDIFF_MAX_RANGES ? o->max_bytes / 3 : VB_UDIFF_MAX_RANGES;
	if (!u.max_ranges)
		u.max_ranges = 1;
	u.s[0].version = va;
	u.s[1].version = vb;
	rc = vb_vbuf_diff(b, va, vb, collect, &u);
	if (!rc && u.nranges)
		rc = make(&u, o->header);
	if (rc && u.stop) {
		st->outcome = u.stop;
		rc = VB_OK;
	} else if (!rc && u.hunks) {
		if (!(rc = vb_sink_write(out, u.text, u.len))) {
			st->outcome = VB_UDIFF_TEXT;
			st->hunks = u.hunks;
			st->bytes = u.len;
		}
	}
	free(u.ranges);
	free(u.buf[0]);
	free(u.buf[1]);
	free(u.text);
	return rc;
}
