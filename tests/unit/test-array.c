/*
 * test-array: lib/array's geometry against brute force: shapes and their
 * errors; .npy headers NumPy writes (versions 1.0, 2.0, 3.0, structured,
 * Fortran order) and broken ones; headers written and read back; random
 * views (slices, transposes, negative steps) copied by vb_array_view_copy with
 * small and large memory compared with an element-by-element walk; runs
 * of forward views; the runs of an edit along each axis against the
 * element coordinates they hold.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "check.h"
#include "rnd.h"

static void shapes(void)
{
	struct vb_array a = {0};
	char t[64];
	REQUIRE_OK(vb_array_parse_shape("3x4x5", 4, &a));
	CHECK(a.ndim == 3 && a.shape[0] == 3 && a.shape[2] == 5);
	CHECK_EQ_U64(vb_array_bytes(&a), 240);
	CHECK_OK(vb_array_check(&a, 240));
	CHECK(vb_array_check(&a, 241) == VB_EFORMAT);
	CHECK(strstr(vb_err_detail(), "241 bytes") && strstr(vb_err_detail(), "3x4x5"));
	vb_array_shape_text(a.shape, a.ndim, t, sizeof t);
	CHECK(!strcmp(t, "3x4x5"));
	REQUIRE_OK(vb_array_parse_shape("0x7", 2, &a));
	CHECK_EQ_U64(vb_array_bytes(&a), 0);
	CHECK(vb_array_parse_shape("", 1, &a) == VB_EINVAL);
	CHECK(vb_array_parse_shape("3x", 1, &a) == VB_EINVAL);
	CHECK(vb_array_parse_shape("3,4", 1, &a) == VB_EINVAL);
	CHECK(vb_array_parse_shape("-3", 1, &a) == VB_EINVAL);
	CHECK(vb_array_parse_shape("4294967296x4294967296", 1, &a) == VB_ERANGE);
	CHECK(vb_array_parse_shape("3", 0, &a) == VB_EINVAL);
}

/* a .npy prefix + dict as NumPy would write it (version `v`) */
static size_t npy(unsigned char *b, int v, const char *dict)
{
	size_t pre = v == 1 ? 10 : 12, n = strlen(dict);
	memcpy(b, "\x93NUMPY", 6);
	b[6] = (unsigned char)v;
	b[7] = 0;
	if (v == 1) {
		b[8] = (unsigned char)n;
		b[9] = (unsigned char)(n >> 8);
	} else {
		for (int i = 0; i < 4; i++)
			b[8 + i] = (unsigned char)(n >> (8 * i));
	}
	memcpy(b + pre, dict, n);
	return pre + n;
}

static enum vb_err parse(int v, const char *dict, struct vb_array *a)
{
	unsigned char b[4096];
	size_t n = npy(b, v, dict);
	uint64_t total;
	enum vb_err rc = vb_npy_header_len(b, n, &total);
	if (rc)
		return rc;
	CHECK_EQ_U64(total, n);
	return vb_npy_parse(b, n, a);
}

static void headers(void)
{
	struct vb_array a = {0};
	REQUIRE_OK(parse(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }   \n", &a));
	CHECK(a.ndim == 2 && a.shape[0] == 3 && a.shape[1] == 4 && a.itemsize == 4 && !a.fortran);
	CHECK(a.npy_major == 1 && !strcmp(a.descr, "'<f4'"));
	REQUIRE_OK(parse(2, "{\"shape\": (7,), \"fortran_order\": True, \"descr\": \"<U5\"}\n", &a));
	CHECK(a.ndim == 1 && a.shape[0] == 7 && a.itemsize == 20 && a.fortran && a.npy_major == 2);
	REQUIRE_OK(parse(3, "{'descr': [('a', '<i4'), ('b', '|S3'), ('', '|V1'), ('c', '<f8', (2, 3))], 'fortran_order': False, 'shape': (), }\n", &a));
	CHECK(a.ndim == 0 && a.itemsize == 4 + 3 + 1 + 48);
	REQUIRE_OK(parse(1, "{'descr': [(('title', 'x'), [('y', '<i2'), ('z', '|b1')], 3)], 'fortran_order': False, 'shape': (2L, 0L)}\n", &a));
	CHECK(a.itemsize == 9 && a.shape[0] == 2 && a.shape[1] == 0);
	REQUIRE_OK(parse(1, "{'descr': '<M8[ns]', 'fortran_order': False, 'shape': (5,), }\n", &a));
	CHECK(a.itemsize == 8);
	REQUIRE_OK(parse(1, "{'descr': '|b1', 'fortran_order': False, 'shape': (5,), }\n", &a));
	CHECK(a.itemsize == 1);
	CHECK(parse(1, "{'descr': '|O', 'fortran_order': False, 'shape': (5,), }\n", &a) == VB_EFORMAT);
	CHECK(strstr(vb_err_detail(), "object"));
	CHECK(parse(1, "{'descr': '<f4', 'fortran_order': False, }\n", &a) == VB_EFORMAT);
	CHECK(parse(1, "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}\n", &a) == VB_EFORMAT);
	CHECK(parse(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}\n", &a) == VB_EFORMAT);
	CHECK(parse(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}\n", &a) == VB_EFORMAT);
	CHECK(parse(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x\n", &a) == VB_EFORMAT);
	CHECK(parse(1, "{'descr': '<q4', 'fortran_order': False, 'shape': (1,)}\n", &a) == VB_EFORMAT);
	CHECK(parse(1, "{'descr': '<i3', 'fortran_order': False, 'shape': (1,)}\n", &a) == VB_EFORMAT);
	CHECK(parse(1, "{'descr': '<M8[nse]', 'fortran_order': False, 'shape': (1,)}\n", &a) == VB_EFORMAT);
	CHECK(parse(1, "{'descr': '<c2147483648', 'fortran_order': False, 'shape': (1,)}\n", &a) == VB_EFORMAT);
	CHECK(parse(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (6)}\n", &a) == VB_EFORMAT);
	CHECK(strstr(vb_err_detail(), "not a tuple"));
	REQUIRE_OK(parse(1, "{'descr': '<m8[10ms]', 'fortran_order': False, 'shape': (6,)}\n", &a));
	CHECK(a.itemsize == 8);
	REQUIRE_OK(parse(1, "{'descr': [('x', '<f8', (2))], 'fortran_order': False, 'shape': (6,)}\n", &a));
	CHECK(a.itemsize == 16);
	CHECK(parse(1, "{'descr': '<f0', 'fortran_order': False, 'shape': (1,)}\n", &a) == VB_EFORMAT);
	CHECK(parse(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296)}\n", &a) == VB_ERANGE);
	unsigned char b[16] = "\x93NUMPY\x04\x00\x10\x00";
	uint64_t total;
	CHECK(vb_npy_header_len(b, 12, &total) == VB_EFORMAT);
	memcpy(b, "\x93NUMPY\x01\x01\x10\x00", 10);
	CHECK(vb_npy_header_len(b, 12, &total) == VB_EFORMAT);
	CHECK(vb_npy_header_len("PK\x03\x04 nope..", 12, &total) == VB_EFORMAT);
	memcpy(b, "\x93NUMPY\x02\x00\xff\xff\xff\x00", 12);
	CHECK(vb_npy_header_len(b, 12, &total) == VB_ELIMIT);

	/* written headers read back, elements at a multiple of 64 */
	for (int i = 0; i < 200; i++) {
		struct vb_array w = {0};
		uint64_t shape[VB_ARRAY_MAXDIM];
		unsigned nd = (unsigned)rnd(i < 190 ? 6 : VB_ARRAY_MAXDIM + 1);
		for (unsigned k = 0; k < nd; k++)
			shape[k] = nd > 6 ? rnd(2) : k == 0 ? rnd64() >> 40 : rnd(100);
		REQUIRE_OK(parse(1, "{'descr': '<c16', 'fortran_order': False, 'shape': (1,)}\n", &w));
		if (i % 7 == 0) {
			/* a long descr: version 2.0 */
			size_t n = 70000;
			char *d = malloc(n + 64);
			REQUIRE(d);
			d[0] = '[';
			size_t at = 1;
			while (at < n)
				at += (size_t)sprintf(d + at, "('f%zu', '<i2'), ", at);
			d[at++] = ']';
			d[at] = 0;
			free(w.descr);
			w.descr = d;
		}
		unsigned char *h;
		size_t hn;
		int fo = (int)rnd(2);
		REQUIRE_OK(vb_npy_header(&w, shape, nd, fo, &h, &hn));
		CHECK(hn % 64 == 0);
		CHECK(h[hn - 1] == '\n');
		CHECK(h[6] == (i % 7 == 0 ? 2 : 1));
		struct vb_array r = {0};
		CHECK_OK(vb_npy_parse(h, hn, &r));
		CHECK(r.ndim == nd && r.fortran == fo && r.header == hn && !strcmp(r.descr, w.descr));
		for (unsigned k = 0; k < nd && k < r.ndim; k++)
			CHECK_EQ_U64(r.shape[k], shape[k]);
		free(h);
		vb_array_done(&r);
		vb_array_done(&w);
	}
	vb_array_done(&a);
	vb_array_done(&a);
}

static void slices(void)
{
	struct vb_slice s;
	struct vb_axes x;
	struct vb_array a = {0};
	struct vb_array_view v;
	CHECK_OK(vb_slice_parse("1:2:3, -1, ..., ::-1, :", &s));
	CHECK(s.n == 5 && s.item[0].kind == VB_SLICE_RANGE && s.item[0].step == 3);
	CHECK(s.item[1].kind == VB_SLICE_INDEX && s.item[1].start == -1);
	CHECK(s.item[2].kind == VB_SLICE_ELLIPSIS && s.item[3].step == -1 && !s.item[3].has_start);
	CHECK_OK(vb_slice_parse("3,", &s));
	CHECK(s.n == 1);
	CHECK(vb_slice_parse("", &s) == VB_EINVAL);
	CHECK(vb_slice_parse("1::0", &s) == VB_EINVAL);
	CHECK(strstr(vb_err_detail(), "step cannot be 0"));
	CHECK(vb_slice_parse("...,...", &s) == VB_EINVAL);
	CHECK(vb_slice_parse("a", &s) == VB_EINVAL);
	CHECK(vb_slice_parse("1:2:3:4", &s) == VB_EINVAL);
	CHECK(vb_slice_parse("1,,2", &s) == VB_EINVAL);
	CHECK(vb_slice_parse("99999999999999999999", &s) == VB_EINVAL);
	CHECK_OK(vb_axes_parse("1,0,-1", &x));
	CHECK(x.n == 3 && x.axis[2] == -1);
	CHECK(vb_axes_parse("1,,0", &x) == VB_EINVAL);
	CHECK(vb_axes_parse("x", &x) == VB_EINVAL);

	REQUIRE_OK(vb_array_parse_shape("3x4", 1, &a));
	vb_array_view_of(&a, &v);
	CHECK_OK(vb_slice_parse("5", &s));
	CHECK(vb_array_view_slice(&v, &s) == VB_ERANGE);
	CHECK(strstr(vb_err_detail(), "index 5 is out of bounds for axis 0 with size 3"));
	CHECK_OK(vb_slice_parse("0,-5", &s));
	CHECK(vb_array_view_slice(&v, &s) == VB_ERANGE);
	CHECK_OK(vb_slice_parse("0,0,0", &s));
	CHECK(vb_array_view_slice(&v, &s) == VB_ERANGE);
	CHECK(strstr(vb_err_detail(), "too many indices"));
	CHECK_OK(vb_axes_parse("0", &x));
	CHECK(vb_array_view_transpose(&v, &x) == VB_ERANGE);
	CHECK_OK(vb_axes_parse("0,0", &x));
	CHECK(vb_array_view_transpose(&v, &x) == VB_ERANGE);
	CHECK_OK(vb_axes_parse("0,2", &x));
	CHECK(vb_array_view_transpose(&v, &x) == VB_ERANGE);
	/* NumPy's clipping: a[10:-10:-1] of 4 is [3..0] minus nothing */
	CHECK_OK(vb_slice_parse(":,10:-10:-1", &s));
	CHECK_OK(vb_array_view_slice(&v, &s));
	CHECK(v.ndim == 2 && v.count[1] == 4 && v.stride[1] == -1 && v.offset == 3);
	vb_array_view_of(&a, &v);
	CHECK_OK(vb_slice_parse("-1,1:100:2", &s));
	CHECK_OK(vb_array_view_slice(&v, &s));
	CHECK(v.ndim == 1 && v.count[0] == 2 && v.offset == 9 && v.stride[0] == 2);
	vb_array_view_of(&a, &v);
	CHECK_OK(vb_slice_parse("5:,::-1", &s));
	CHECK_OK(vb_array_view_slice(&v, &s));
	CHECK(v.count[0] == 0);
}

/* ---- the copy engine against an element-by-element walk ---- */

struct mem_io {
	const unsigned char *src;
	uint64_t len;
	unsigned char *out;
	uint64_t at, cap;
	uint64_t reads, sends;
	int bad;
};

static enum vb_err m_read(void *arg, uint64_t off, void *buf, size_t n)
{
	struct mem_io *m = arg;
	if (off > m->len || n > m->len - off) {
		m->bad = 1;
		return vb_err_set(VB_ERANGE, "read outside");
	}
	memcpy(buf, m->src + off, n);
	m->reads++;
	return VB_OK;
}

static enum vb_err m_write(void *arg, const void *buf, size_t n)
{
	struct mem_io *m = arg;
	if (n > m->cap - m->at) {
		m->bad = 1;
		return vb_err_set(VB_ERANGE, "write past the end");
	}
	memcpy(m->out + m->at, buf, n);
	m->at += n;
	return VB_OK;
}

static enum vb_err m_send(void *arg, uint64_t off, uint64_t n)
{
	struct mem_io *m = arg;
	m->sends++;
	if (off > m->len || n > m->len - off) {
		m->bad = 1;
		return vb_err_set(VB_ERANGE, "send outside");
	}
	return m_write(arg, m->src + off, (size_t)n);
}

static void walk(const struct vb_array_view *v, const unsigned char *src, unsigned char *out)
{
	uint64_t idx[VB_ARRAY_MAXDIM] = {0}, n = vb_array_view_elements(v);
	for (uint64_t e = 0; e < n; e++) {
		int64_t off = (int64_t)v->offset;
		for (unsigned k = 0; k < v->ndim; k++)
			off += (int64_t)idx[k] * v->stride[k];
		memcpy(out + e * v->itemsize, src + off, v->itemsize);
		for (unsigned k = v->ndim; k-- > 0;) {
			if (++idx[k] < v->count[k])
				break;
			idx[k] = 0;
		}
	}
}

static enum vb_err collect(void *arg, uint64_t off, uint64_t len)
{
	struct mem_io *m = arg;
	return m_write(m, m->src + off, (size_t)len);
}

static void slice_item(char *t, size_t cap, uint64_t n)
{
	int64_t sn = (int64_t)n + 3;
	switch (rnd(4)) {
	case 0:
		snprintf(t, cap, "%lld", n ? (long long)rnd(n) - (rnd(2) ? (long long)n : 0) : 0LL);
		if (!n)
			snprintf(t, cap, ":");
		return;
	case 1:
		snprintf(t, cap, ":");
		return;
	default: {
		char a[24] = "", b[24] = "", c[24] = "";
		if (rnd(3))
			snprintf(a, sizeof a, "%lld", (long long)rnd((uint64_t)sn * 2) - sn);
		if (rnd(3))
			snprintf(b, sizeof b, "%lld", (long long)rnd((uint64_t)sn * 2) - sn);
		if (rnd(2)) {
			long long st = (long long)rnd(5) + 1;
			snprintf(c, sizeof c, "%lld", rnd(3) ? st : -st);
		}
		snprintf(t, cap, "%s:%s%s%s", a, b, *c ? ":" : "", c);
	}
	}
}

static void views(void)
{
	for (int round = 0; round < 3000; round++) {
		struct vb_array a = {0};
		char shape[256] = "", spec[512] = "";
		unsigned nd = 1 + (unsigned)rnd(5);
		uint64_t item = (uint64_t[]){1, 2, 4, 8, 3, 12}[rnd(6)];
		int big = round % 100 == 0;
		for (unsigned k = 0; k < nd; k++)
			snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%llu",
				 k ? "x" : "", big && k + 1 == nd ? 70000ULL : (unsigned long long)rnd(nd > 3 ? 6 : 12));
		REQUIRE_OK(vb_array_parse_shape(shape, item, &a));
		a.header = rnd(3) ? 0 : rnd(100);
		a.fortran = (int)rnd(2);
		uint64_t len = a.header + vb_array_bytes(&a);
		unsigned char *src = malloc(len + 1);
		REQUIRE(src);
		rnd_bytes(src, len);
		unsigned ns = (unsigned)rnd(nd + 1);
		for (unsigned k = 0; k < ns; k++) {
			char t[80];
			slice_item(t, sizeof t, a.shape[a.fortran ? k : k]);
			if (rnd(12) == 0)
				snprintf(t, sizeof t, "...");
			snprintf(spec + strlen(spec), sizeof spec - strlen(spec), "%s%s", k ? "," : "", t);
		}
		struct vb_array_view v;
		struct vb_slice s;
		vb_array_view_of(&a, &v);
		if (ns) {
			if (vb_slice_parse(spec, &s)) {
				free(src);
				continue;   /* two '...' */
			}
			if (vb_array_view_slice(&v, &s)) {
				free(src);
				continue;   /* an index out of bounds */
			}
		}
		if (rnd(2)) {
			struct vb_axes x = {0};
			if (rnd(2)) {
				x.n = v.ndim;
				for (unsigned k = 0; k < v.ndim; k++)
					x.axis[k] = k;
				for (unsigned k = v.ndim; k > 1; k--) {
					unsigned j = (unsigned)rnd(k);
					int64_t t = x.axis[k - 1];
					x.axis[k - 1] = x.axis[j];
					x.axis[j] = t;
				}
			}
			CHECK_OK(vb_array_view_transpose(&v, &x));
		}
		uint64_t n = vb_array_view_elements(&v) * item;
		unsigned char *want = malloc(n + 1), *got = malloc(n + 1);
		REQUIRE(want && got);
		walk(&v, src, want);
		size_t mem = rnd(2) ? (size_t)(2 * item + rnd(200)) : (size_t)16 << 20;
		struct mem_io m = {src, len, got, 0, n, 0, 0, 0};
		struct vb_array_io io = {m_read, m_send, m_write, &m};
		CHECK_OK(vb_array_view_copy(&v, &io, mem));
		CHECK(!m.bad);
		CHECK_EQ_U64(m.at, n);
		if (memcmp(want, got, n)) {
			CHECK(!"copy differs from the walk");
			fprintf(stderr, "shape %s item %llu fortran %d spec '%s' mem %zu seed %llu\n",
				shape, (unsigned long long)item, a.fortran, spec, mem,
				(unsigned long long)rnd_seed);
		}
		if (vb_array_view_forward(&v)) {
			struct mem_io r = {src, len, got, 0, n, 0, 0, 0};
			uint64_t last = 0;
			(void)last;
			CHECK_OK(vb_array_view_runs(&v, collect, &r));
			CHECK_EQ_U64(r.at, n);
			CHECK(!memcmp(want, got, n));
		}
		free(want);
		free(got);
		free(src);
	}
}

/* runs of an edit along an axis: every byte of a run belongs to an
 * element whose index on that axis is in [index, index+count) */
struct span_check {
	const struct vb_array *a;
	unsigned axis;
	uint64_t index, count, total, last;
	int order_ok;
};

static enum vb_err span_cb(void *arg, uint64_t off, uint64_t len)
{
	struct span_check *c = arg;
	if (off < c->last)
		c->order_ok = 0;
	c->last = off + len;
	for (uint64_t b = off; b < off + len; b += c->a->itemsize) {
		/* the logical index along the axis of the element at b */
		uint64_t e = (b - c->a->header) / c->a->itemsize, i = 0;
		for (unsigned k = 0; k < c->a->ndim; k++) {
			unsigned lk = c->a->fortran ? k : c->a->ndim - 1 - k;   /* fastest first */
			uint64_t x = e % c->a->shape[lk];
			e /= c->a->shape[lk];
			if (lk == c->axis)
				i = x;
		}
		if (i < c->index || i >= c->index + c->count)
			c->order_ok = 0;
	}
	c->total += len;
	return VB_OK;
}

static void axis_runs(void)
{
	for (int round = 0; round < 500; round++) {
		struct vb_array a = {0};
		char shape[128] = "";
		unsigned nd = 1 + (unsigned)rnd(4);
		for (unsigned k = 0; k < nd; k++)
			snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%llu",
				 k ? "x" : "", 1 + (unsigned long long)rnd(6));
		REQUIRE_OK(vb_array_parse_shape(shape, 1 + rnd(4), &a));
		a.fortran = (int)rnd(2);
		a.header = rnd(50);
		unsigned axis = (unsigned)rnd(nd);
		uint64_t index = rnd(a.shape[axis] + 1), count = rnd(a.shape[axis] - index + 1);
		struct span_check c = {&a, axis, index, count, 0, 0, 1};
		CHECK_OK(vb_array_axis_runs(&a, axis, index, count, span_cb, &c));
		CHECK(c.order_ok);
		uint64_t slab, unit;
		vb_array_slab(&a, axis, &slab, &unit);
		CHECK_EQ_U64(c.total, slab * count);
		CHECK_EQ_U64(slab * a.shape[axis], vb_array_bytes(&a));
		CHECK(vb_array_axis_runs(&a, axis, index, a.shape[axis] - index + 1, span_cb, &c) ==
		      VB_ERANGE);
		CHECK(vb_array_axis_runs(&a, nd, 0, 0, span_cb, &c) == VB_ERANGE);
	}
}

int main(void)
{
	rnd_init(test_seed());
	shapes();
	headers();
	slices();
	views();
	axis_runs();
	return test_status("array");
}
