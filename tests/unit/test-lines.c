/*
 * test-lines: line-end counts (lib/lines.h) against a byte-by-byte
 * reference: every string over {a, \r, \n} up to 9 bytes cut at every
 * position (sums, both drops, ends in both modes with the byte before),
 * and long random buffers for the 64-bytes-at-a-time scan.
 */
#include <string.h>

#include "check.h"
#include "lines.h"
#include "rnd.h"

/* The reference: counts, and for each byte whether a line end starts
 * there (VB_LINES_ANY: \r\n, lone \r, lone \n, longest match). */
static struct vb_lines ref(const unsigned char *p, size_t n)
{
	struct vb_lines l;

	memset(&l, 0, sizeof l);
	l.known = 1;
	for (size_t i = 0; i < n; i++) {
		l.lf += p[i] == '\n';
		l.cr += p[i] == '\r';
		l.crlf += p[i] == '\r' && i + 1 < n && p[i + 1] == '\n';
	}
	l.head_lf = n && p[0] == '\n';
	l.tail_cr = n && p[n - 1] == '\r';
	return l;
}

static uint64_t ref_ends(const unsigned char *p, size_t from, size_t to, enum vb_line_mode m)
{
	uint64_t e = 0;

	for (size_t i = from; i < to; i++)
		if (m == VB_LINES_LF ? p[i] == '\n'
				     : p[i] == '\r' || (p[i] == '\n' && !(i && p[i - 1] == '\r')))
			e++;
	return e;
}

static int same(const struct vb_lines *a, const struct vb_lines *b)
{
	return a->known == b->known && a->lf == b->lf && a->cr == b->cr && a->crlf == b->crlf &&
	       a->head_lf == b->head_lf && a->tail_cr == b->tail_cr;
}

static void exhaustive(void)
{
	static const unsigned char abc[3] = {'a', '\r', '\n'};
	unsigned char s[9];
	uint64_t strings = 0, cuts = 0;

	for (size_t n = 1; n <= 9; n++) {
		size_t total = 1;
		for (size_t i = 0; i < n; i++)
			total *= 3;
		for (size_t code = 0; code < total; code++) {
			size_t c = code;
			for (size_t i = 0; i < n; i++, c /= 3)
				s[i] = abc[c % 3];
			struct vb_lines w = vb_lines_scan(s, n), r = ref(s, n);
			CHECK(same(&w, &r));
			for (int m = 0; m < 2; m++)
				CHECK_EQ_U64(vb_lines_ends(&w, (enum vb_line_mode)m, 0),
					     ref_ends(s, 0, n, (enum vb_line_mode)m));
			strings++;
			for (size_t k = 1; k < n; k++) {
				struct vb_lines a = vb_lines_scan(s, k), b = vb_lines_scan(s + k, n - k);
				struct vb_lines ab = vb_lines_cat(&a, &b);
				CHECK(same(&ab, &w));
				struct vb_lines h = vb_lines_drop_head(&w, &a, s[k] == '\n');
				struct vb_lines t = vb_lines_drop_tail(&w, &b, s[k - 1] == '\r');
				CHECK(same(&h, &b));
				CHECK(same(&t, &a));
				for (int m = 0; m < 2; m++) {
					enum vb_line_mode md = (enum vb_line_mode)m;
					CHECK_EQ_U64(vb_lines_ends(&b, md, s[k - 1] == '\r'),
						     ref_ends(s, k, n, md));
					CHECK_EQ_U64(vb_lines_ends(&a, md, 0) +
							     vb_lines_ends(&b, md, s[k - 1] == '\r'),
						     vb_lines_ends(&w, md, 0));
				}
				cuts++;
			}
		}
	}
	printf("exhaustive: %llu strings, %llu cuts\n", (unsigned long long)strings,
	       (unsigned long long)cuts);
}

/* Unknown is contagious; counts that cannot be a part are refused. */
static void unknown(void)
{
	struct vb_lines u = vb_lines_unknown(), k = vb_lines_scan("a\r\nb", 4);
	struct vb_lines x = vb_lines_cat(&u, &k), y = vb_lines_cat(&k, &u);

	CHECK(!u.known && !x.known && !y.known);
	x = vb_lines_drop_head(&k, &u, 0);
	CHECK(!x.known);
	x = vb_lines_drop_tail(&u, &k, 0);
	CHECK(!x.known);
	/* "\n\n" is not a prefix of "a\r\nb" */
	struct vb_lines two = vb_lines_scan("\n\n", 2);
	x = vb_lines_drop_head(&k, &two, 0);
	CHECK(!x.known);
	/* an impossible edge: the rest cannot start with \n and hold none */
	struct vb_lines a = vb_lines_scan("a\r\n", 3);
	x = vb_lines_drop_head(&k, &a, 1);
	CHECK(!x.known);
	/* sums that would wrap are unknown, not wrong */
	struct vb_lines big = k;
	big.lf = UINT64_MAX;
	x = vb_lines_cat(&big, &k);
	CHECK(!x.known);
}

/* The scan's wide path (lane flushes, the pair test across 16-byte
 * steps) against the reference on long buffers. */
static void wide(void)
{
	static unsigned char buf[70000];
	static const unsigned char pick[4] = {'a', '\r', '\n', 'z'};

	for (int round = 0; round < 300; round++) {
		size_t n = 1 + rnd(sizeof buf - 1), off = rnd(16);
		if (n + off > sizeof buf)
			n = sizeof buf - off;
		unsigned dense = (unsigned)rnd(3);
		for (size_t i = 0; i < n; i++)
			buf[off + i] = dense == 0 ? pick[rnd(4)] : dense == 1 ? pick[1 + rnd(2)] : '\n';
		struct vb_lines a = vb_lines_scan(buf + off, n), r = ref(buf + off, n);
		CHECK(same(&a, &r));
	}
	/* all \r\n: every lane counts to its limit between flushes */
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = i % 2 ? '\n' : '\r';
	struct vb_lines a = vb_lines_scan(buf, sizeof buf), r = ref(buf, sizeof buf);
	CHECK(same(&a, &r));
	CHECK_EQ_U64(a.crlf, sizeof buf / 2);
	CHECK_EQ_U64(vb_lines_ends(&a, VB_LINES_ANY, 0), sizeof buf / 2);
}

int main(void)
{
	/* every path of the scan: the widest the CPU has, SSE2, bytes */
	for (int cap = 2; cap >= 0; cap--) {
		vb_lines_scan_cap(cap);
		exhaustive();
		unknown();
		wide();
	}
	return test_status("lines");
}
