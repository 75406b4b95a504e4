/*
 * array: shapes, .npy headers, slices, transposes and runs (array.h has
 * the design; this file the parsers and the copy engine).
 *
 * The .npy header is read by a small recursive-descent reader of the
 * Python literals NumPy writes there (strings in either quote, True,
 * False, integers with an optional L, tuples, lists, and the one dict);
 * anything else is VB_EFORMAT, as NumPy's own literal_eval refuses it.
 *
 * The copy engine (vb_array_view_copy) writes the view in output blocks of at
 * most half its memory; each block is filled from reads of the content
 * of at most the other half: a part of the block whose source bytes lie
 * within that much is read at once when reading its whole span costs
 * less than one read per row of it (a read is reckoned as READ_COST
 * bytes of copying), and is otherwise split along its axis of largest
 * stride, into chunks that fit, then into single rows.  A transpose
 * thus reads each source row's strip of the block's columns once.
 */
#include "array.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "le.h"

#define BYTES_MAX ((uint64_t)INT64_MAX)
#define SEND_MIN ((uint64_t)256 << 10)  /* runs at least this long go through send */
#define READ_COST ((uint64_t)8 << 10)   /* one read reckoned as this many bytes copied */

void vb_array_done(struct vb_array *a)
{
	if (!a)
		return;
	free(a->descr);
	a->descr = NULL;
}

static int mul_ok(uint64_t a, uint64_t b, uint64_t *r)
{
	if (a && b > BYTES_MAX / a)
		return 0;
	*r = a * b;
	return 1;
}

/* prod(shape) * itemsize, or VB_ERANGE */
static enum vb_err size_of(const uint64_t *shape, unsigned ndim, uint64_t itemsize, uint64_t *out)
{
	uint64_t n = itemsize;
	int zero = 0;
	for (unsigned k = 0; k < ndim; k++)
		if (!shape[k])
			zero = 1;
	if (zero) {
		*out = 0;
		return VB_OK;
	}
	for (unsigned k = 0; k < ndim; k++)
		if (!mul_ok(n, shape[k], &n))
			return vb_err_set(VB_ERANGE, "the array's size passes 2^63-1 bytes");
	*out = n;
	return VB_OK;
}

uint64_t vb_array_bytes(const struct vb_array *a)
{
	uint64_t n = 0;
	(void)size_of(a->shape, a->ndim, a->itemsize, &n);
	return n;
}

void vb_array_shape_text(const uint64_t *shape, unsigned ndim, char *buf, size_t cap)
{
	size_t at = 0;
	if (!ndim) {
		snprintf(buf, cap, "()");
		return;
	}
	buf[0] = 0;
	for (unsigned k = 0; k < ndim && at < cap; k++) {
		int w = snprintf(buf + at, cap - at, "%s%llu", k ? "x" : "",
				 (unsigned long long)shape[k]);
		if (w < 0)
			break;
		at += (size_t)w;
	}
}

enum vb_err vb_array_parse_shape(const char *text, uint64_t itemsize, struct vb_array *a)
{
	const char *p = text;
	uint64_t total;
	memset(a, 0, sizeof *a);
	a->itemsize = itemsize;
	if (!itemsize)
		return vb_err_set(VB_EINVAL, "the element size is 0");
	for (;;) {
		uint64_t v = 0;
		if (*p < '0' || *p > '9')
			return vb_err_set(VB_EINVAL,
					  "invalid shape '%s' (expected sizes separated by x: 1000x256)",
					  text);
		while (*p >= '0' && *p <= '9') {
			if (v > (BYTES_MAX - 9) / 10)
				return vb_err_set(VB_ERANGE, "shape '%s': a size passes 2^63-1", text);
			v = v * 10 + (uint64_t)(*p++ - '0');
		}
		if (a->ndim == VB_ARRAY_MAXDIM)
			return vb_err_set(VB_EINVAL, "shape '%s' has more than %d axes", text,
					  VB_ARRAY_MAXDIM);
		a->shape[a->ndim++] = v;
		if (!*p)
			break;
		if (*p != 'x' && *p != 'X')
			return vb_err_set(VB_EINVAL,
					  "invalid shape '%s' (expected sizes separated by x: 1000x256)",
					  text);
		p++;
	}
	return size_of(a->shape, a->ndim, itemsize, &total);
}

enum vb_err vb_array_check(const struct vb_array *a, uint64_t len)
{
	uint64_t need;
	char s[64];
	enum vb_err rc = size_of(a->shape, a->ndim, a->itemsize, &need);
	if (rc)
		return rc;
	vb_array_shape_text(a->shape, a->ndim, s, sizeof s);
	if (len < a->header)
		return vb_err_set(VB_EFORMAT, "the content (%llu bytes) is shorter than its header",
				  (unsigned long long)len);
	if (len - a->header != need)
		return vb_err_set(VB_EFORMAT,
				  "the %s is %llu bytes, not the %llu bytes of a %s array of %llu-byte elements",
				  a->header ? "data after the .npy header" : "content",
				  (unsigned long long)(len - a->header), (unsigned long long)need, s,
				  (unsigned long long)a->itemsize);
	return VB_OK;
}

/* ---- .npy ---- */

static const unsigned char npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

enum vb_err vb_npy_header_len(const void *p, size_t n, uint64_t *total)
{
	const unsigned char *b = p;
	if (n < 10 || memcmp(b, npy_magic, 6))
		return vb_err_set(VB_EFORMAT, "not a .npy file (no \\x93NUMPY magic)");
	if (b[7] != 0 || (b[6] != 1 && b[6] != 2 && b[6] != 3))
		return vb_err_set(VB_EFORMAT, ".npy format version %u.%u is not supported (1.0, 2.0, 3.0 are)",
				  b[6], b[7]);
	if (b[6] == 1) {
		*total = 10 + (uint64_t)vb_le_get16(b + 8);
	} else if (b[6] == 2 || b[6] == 3) {
		if (n < 12)
			return vb_err_set(VB_EFORMAT, "a .npy header cut short");
		*total = 12 + (uint64_t)vb_le_get32(b + 8);
	} else {
		return vb_err_set(VB_EFORMAT, ".npy format version %u.%u is not supported (1.0, 2.0, 3.0 are)",
				  b[6], b[7]);
	}
	if (*total > VB_NPY_HEADER_MAX)
		return vb_err_set(VB_ELIMIT, "the .npy header is %llu bytes, more than the %llu read",
				  (unsigned long long)*total, (unsigned long long)VB_NPY_HEADER_MAX);
	return VB_OK;
}

struct lit {
	const char *p, *end;
	int depth;
};

static void lit_space(struct lit *l)
{
	while (l->p < l->end && (*l->p == ' ' || *l->p == '\t' || *l->p == '\n' || *l->p == '\r'))
		l->p++;
}

static int lit_eat(struct lit *l, char c)
{
	lit_space(l);
	if (l->p < l->end && *l->p == c) {
		l->p++;
		return 1;
	}
	return 0;
}

static enum vb_err bad(const char *what)
{
	return vb_err_set(VB_EFORMAT, "invalid .npy header: %s", what);
}

/* a string literal: [s, e) its body (escapes left as they are) */
static enum vb_err lit_string(struct lit *l, const char **s, const char **e)
{
	lit_space(l);
	if (l->p >= l->end || (*l->p != '\'' && *l->p != '"'))
		return bad("a string was expected");
	char q = *l->p++;
	*s = l->p;
	while (l->p < l->end && *l->p != q) {
		if (*l->p == '\\' && l->p + 1 < l->end)
			l->p++;
		l->p++;
	}
	if (l->p >= l->end)
		return bad("a string is not closed");
	*e = l->p++;
	return VB_OK;
}

static enum vb_err lit_int(struct lit *l, uint64_t *v)
{
	lit_space(l);
	if (l->p >= l->end || *l->p < '0' || *l->p > '9')
		return bad("a non-negative integer was expected");
	*v = 0;
	while (l->p < l->end && *l->p >= '0' && *l->p <= '9') {
		if (*v > (BYTES_MAX - 9) / 10)
			return vb_err_set(VB_ERANGE, "a size in the .npy header passes 2^63-1");
		*v = *v * 10 + (uint64_t)(*l->p++ - '0');
	}
	if (l->p < l->end && (*l->p == 'L' || *l->p == 'l'))
		l->p++;
	return VB_OK;
}

/* a tuple of integers (or one integer: a subarray shape may be written
 * so); `tuple`: only a tuple, where (6) is the integer 6, not (6,) */
static enum vb_err lit_shape(struct lit *l, uint64_t *shape, unsigned *ndim, int tuple)
{
	enum vb_err rc;
	*ndim = 0;
	lit_space(l);
	if (l->p < l->end && *l->p >= '0' && *l->p <= '9') {
		*ndim = 1;
		return lit_int(l, &shape[0]);
	}
	if (!lit_eat(l, '('))
		return bad("a shape tuple was expected");
	while (!lit_eat(l, ')')) {
		if (*ndim == VB_ARRAY_MAXDIM)
			return bad("more than 64 axes");
		if ((rc = lit_int(l, &shape[(*ndim)++])))
			return rc;
		if (!lit_eat(l, ',')) {
			if (!lit_eat(l, ')'))
				return bad("a ',' or ')' was expected in a tuple");
			if (tuple && *ndim == 1)
				return bad("the shape is not a tuple ((6) is the integer 6; (6,) a tuple)");
			break;
		}
	}
	return VB_OK;
}

/* the item size of a dtype string such as '<f4', '|S7', '<U5', '<M8[ns]':
 * only the sizes NumPy has for each kind (i3 and f7 are no dtypes), and
 * flexible sizes below 2^31 (NumPy's own bound) */
static enum vb_err dtype_str_size(const char *s, const char *e, uint64_t *size)
{
	const char *t = s;
	if (s < e && strchr("<>|=!", *s))
		s++;
	if (s == e)
		return bad("an empty dtype");
	char c = *s++;
	if (!c)
		return bad("a NUL in a dtype");
	if (c == 'O')
		return vb_err_set(VB_EFORMAT, "an object dtype ('O') holds Python objects, not elements");
	if (c == '?' && s == e) {
		*size = 1;
		return VB_OK;
	}
	uint64_t n = 0;
	int digits = 0;
	while (s < e && *s >= '0' && *s <= '9' && digits < 12) {
		n = n * 10 + (uint64_t)(*s++ - '0');
		digits++;
	}
	int ok = digits > 0;
	switch (c) {
	case 'b':
		ok = ok && n == 1;
		break;
	case 'i':
	case 'u':
		ok = ok && (n == 1 || n == 2 || n == 4 || n == 8);
		break;
	case 'f':
		ok = ok && (n == 2 || n == 4 || n == 8 || n == 16);
		break;
	case 'c':
		ok = ok && (n == 8 || n == 16 || n == 32);
		break;
	case 'S':
	case 'a':
	case 'V':
		ok = ok && n < ((uint64_t)1 << 31);
		break;
	case 'U':
		ok = ok && n < ((uint64_t)1 << 29);
		n *= 4;
		break;
	case 'M':
	case 'm': {
		/* M8, or M8[unit] with an optional multiple: M8[10ms] */
		static const char *units[] = {"Y", "M", "W", "D", "h", "m", "s", "ms",
					      "us", "ns", "ps", "fs", "as", "generic"};
		ok = ok && n == 8;
		if (ok && s < e) {
			const char *u = s + 1;
			ok = *s == '[' && e[-1] == ']';
			while (ok && u < e && *u >= '0' && *u <= '9')
				u++;
			size_t ul = ok ? (size_t)(e - 1 - u) : 0;
			int known = 0;
			for (size_t i = 0; ok && i < sizeof units / sizeof *units; i++)
				known |= strlen(units[i]) == ul && !memcmp(units[i], u, ul);
			ok = ok && known;
			s = e;
		}
		break;
	}
	default:
		ok = 0;
	}
	if (!ok || s != e)
		return vb_err_set(VB_EFORMAT, "dtype '%.*s' is not one NumPy has",
				  (int)(e - t > 40 ? 40 : e - t), t);
	*size = n;
	return VB_OK;
}

static enum vb_err descr_size(struct lit *l, uint64_t *size);

/* one field (name, dtype[, shape]) of a structured dtype */
static enum vb_err field_size(struct lit *l, uint64_t *size)
{
	const char *s, *e;
	uint64_t sub, shape[VB_ARRAY_MAXDIM];
	unsigned nd;
	enum vb_err rc;
	if (!lit_eat(l, '('))
		return bad("a field tuple was expected");
	lit_space(l);
	if (l->p < l->end && *l->p == '(') {    /* (title, name) */
		l->p++;
		if ((rc = lit_string(l, &s, &e)) || !lit_eat(l, ',') || (rc = lit_string(l, &s, &e)) ||
		    !lit_eat(l, ')'))
			return rc ? rc : bad("a field's (title, name) pair");
	} else if ((rc = lit_string(l, &s, &e))) {
		return rc;
	}
	if (!lit_eat(l, ','))
		return bad("a ',' was expected in a field");
	if ((rc = descr_size(l, &sub)))
		return rc;
	if (lit_eat(l, ',')) {
		lit_space(l);
		if (l->p < l->end && *l->p != ')') {
			if ((rc = lit_shape(l, shape, &nd, 0)) || (rc = size_of(shape, nd, sub, &sub)))
				return rc;
			(void)lit_eat(l, ',');
		}
	}
	if (!lit_eat(l, ')'))
		return bad("a ')' was expected after a field");
	*size = sub;
	return VB_OK;
}

static enum vb_err descr_size(struct lit *l, uint64_t *size)
{
	const char *s, *e;
	enum vb_err rc;
	lit_space(l);
	if (l->p < l->end && *l->p != '[') {
		if ((rc = lit_string(l, &s, &e)))
			return rc;
		return dtype_str_size(s, e, size);
	}
	if (++l->depth > 32)
		return bad("structured dtypes nested too deep");
	l->p++;
	uint64_t total = 0;
	while (!lit_eat(l, ']')) {
		uint64_t f;
		if ((rc = field_size(l, &f)))
			return rc;
		if (f > BYTES_MAX - total)
			return vb_err_set(VB_ERANGE, "a dtype size passes 2^63-1");
		total += f;
		if (!lit_eat(l, ',')) {
			if (!lit_eat(l, ']'))
				return bad("a ',' or ']' was expected in a structured dtype");
			break;
		}
	}
	l->depth--;
	*size = total;
	return VB_OK;
}

enum vb_err vb_npy_parse(const void *p, size_t n, struct vb_array *a)
{
	uint64_t total;
	enum vb_err rc;
	int seen_descr = 0, seen_order = 0, seen_shape = 0;
	vb_array_done(a);
	memset(a, 0, sizeof *a);
	if ((rc = vb_npy_header_len(p, n, &total)))
		return rc;
	if (total > n)
		return vb_err_set(VB_EFORMAT, "the .npy header is cut short");
	const unsigned char *b = p;
	struct lit l = {(const char *)b + (b[6] == 1 ? 10 : 12), (const char *)b + total, 0};
	if (!lit_eat(&l, '{'))
		return bad("a '{' was expected");
	while (!lit_eat(&l, '}')) {
		const char *ks, *ke;
		if ((rc = lit_string(&l, &ks, &ke)))
			return rc;
		if (!lit_eat(&l, ':'))
			return bad("a ':' was expected after a key");
		size_t kl = (size_t)(ke - ks);
		if (kl == 5 && !memcmp(ks, "descr", 5) && !seen_descr) {
			lit_space(&l);
			const char *vs = l.p;
			if ((rc = descr_size(&l, &a->itemsize)))
				return rc;
			size_t vl = (size_t)(l.p - vs);
			if (!(a->descr = malloc(vl + 1)))
				return vb_err_set(VB_ENOMEM, "out of memory");
			memcpy(a->descr, vs, vl);
			a->descr[vl] = 0;
			seen_descr = 1;
		} else if (kl == 13 && !memcmp(ks, "fortran_order", 13) && !seen_order) {
			lit_space(&l);
			if ((size_t)(l.end - l.p) >= 4 && !memcmp(l.p, "True", 4)) {
				a->fortran = 1;
				l.p += 4;
			} else if ((size_t)(l.end - l.p) >= 5 && !memcmp(l.p, "False", 5)) {
				l.p += 5;
			} else {
				return bad("fortran_order is neither True nor False");
			}
			seen_order = 1;
		} else if (kl == 5 && !memcmp(ks, "shape", 5) && !seen_shape) {
			lit_space(&l);
			if (l.p >= l.end || *l.p != '(')
				return bad("the shape is not a tuple");
			if ((rc = lit_shape(&l, a->shape, &a->ndim, 1)))
				return rc;
			seen_shape = 1;
		} else {
			return vb_err_set(VB_EFORMAT, "invalid .npy header: key '%.*s' unexpected",
					  (int)(kl > 40 ? 40 : kl), ks);
		}
		if (!lit_eat(&l, ',')) {
			if (!lit_eat(&l, '}'))
				return bad("a ',' or '}' was expected");
			break;
		}
	}
	lit_space(&l);
	if (l.p != l.end)
		return bad("bytes after the dict");
	if (!seen_descr || !seen_order || !seen_shape)
		return bad(!seen_descr ? "no 'descr'" : !seen_order ? "no 'fortran_order'" : "no 'shape'");
	if (!a->itemsize)
		return vb_err_set(VB_EFORMAT, "the dtype's elements are 0 bytes");
	a->header = total;
	a->npy_major = b[6];
	uint64_t bytes;
	return size_of(a->shape, a->ndim, a->itemsize, &bytes);
}

enum vb_err vb_npy_header(const struct vb_array *a, const uint64_t *shape, unsigned ndim,
			  int fortran, unsigned char **out, size_t *n)
{
	const char *descr = a->descr ? a->descr : "'|V1'";
	size_t dl = strlen(descr), cap = dl + 128 + (size_t)ndim * 24;
	int utf8 = 0;
	for (size_t i = 0; i < dl; i++)
		if ((unsigned char)descr[i] >= 0x80)
			utf8 = 1;
	char *d = malloc(cap);
	if (!d)
		return vb_err_set(VB_ENOMEM, "out of memory");
	size_t at = (size_t)snprintf(d, cap, "{'descr': %s, 'fortran_order': %s, 'shape': (", descr,
				     fortran ? "True" : "False");
	for (unsigned k = 0; k < ndim; k++)
		at += (size_t)snprintf(d + at, cap - at, "%llu,%s", (unsigned long long)shape[k],
				       k + 1 < ndim ? " " : "");
	if (ndim > 1)
		at--;   /* (3, 4) but (3,) */
	at += (size_t)snprintf(d + at, cap - at, "), }");
	/* prefix + dict + padding + '\n' a multiple of 64; version 1.0 where
	 * its 2-byte length holds the header, 3.0 for a descr not ASCII */
	size_t pre = 10, len = (10 + at + 1 + 63) / 64 * 64;
	if (utf8 || len - 10 > 65535) {
		pre = 12;
		len = (12 + at + 1 + 63) / 64 * 64;
	}
	unsigned char *h = malloc(len);
	if (!h) {
		free(d);
		return vb_err_set(VB_ENOMEM, "out of memory");
	}
	memcpy(h, npy_magic, 6);
	h[6] = pre == 10 ? 1 : utf8 ? 3 : 2;
	h[7] = 0;
	if (pre == 10)
		vb_le_put16(h + 8, (uint16_t)(len - 10));
	else
		vb_le_put32(h + 8, (uint32_t)(len - 12));
	memcpy(h + pre, d, at);
	memset(h + pre + at, ' ', len - pre - at - 1);
	h[len - 1] = '\n';
	free(d);
	*out = h;
	*n = len;
	return VB_OK;
}

/* ---- slices and permutations ---- */

static int parse_i64(const char **pp, int64_t *v)
{
	const char *p = *pp;
	int neg = 0;
	uint64_t m = 0;
	while (*p == ' ')
		p++;
	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (*p < '0' || *p > '9')
		return 0;
	while (*p >= '0' && *p <= '9') {
		if (m > ((uint64_t)INT64_MAX - 9) / 10)
			return 0;
		m = m * 10 + (uint64_t)(*p++ - '0');
	}
	while (*p == ' ')
		p++;
	*v = neg ? -(int64_t)m : (int64_t)m;
	*pp = p;
	return 1;
}

enum vb_err vb_slice_parse(const char *text, struct vb_slice *s)
{
	const char *p = text;
	int ell = 0;
	memset(s, 0, sizeof *s);
	while (*p == ' ')
		p++;
	if (!*p)
		return vb_err_set(VB_EINVAL, "empty slice (expected e.g. 10:20,::2,3)");
	for (;;) {
		struct vb_slice_item *it;
		if (s->n == VB_ARRAY_MAXDIM)
			return vb_err_set(VB_EINVAL, "slice '%s' has more than %d items", text,
					  VB_ARRAY_MAXDIM);
		it = &s->item[s->n++];
		while (*p == ' ')
			p++;
		if (!strncmp(p, "...", 3)) {
			if (ell++)
				return vb_err_set(VB_EINVAL, "slice '%s' has more than one '...'", text);
			it->kind = VB_SLICE_ELLIPSIS;
			p += 3;
			while (*p == ' ')
				p++;
		} else {
			int64_t v;
			it->step = 1;
			it->kind = VB_SLICE_INDEX;
			if (*p != ':') {
				if (!parse_i64(&p, &v))
					goto syntax;
				it->start = v;
				it->has_start = 1;
			}
			if (*p == ':') {
				it->kind = VB_SLICE_RANGE;
				p++;
				if (*p != ':' && *p != ',' && *p) {
					if (!parse_i64(&p, &v))
						goto syntax;
					it->stop = v;
					it->has_stop = 1;
				}
				if (*p == ':') {
					p++;
					if (*p != ',' && *p) {
						if (!parse_i64(&p, &v))
							goto syntax;
						if (!v)
							return vb_err_set(VB_EINVAL,
									  "slice '%s': a step cannot be 0",
									  text);
						it->step = v;
					}
				}
			}
		}
		if (!*p)
			return VB_OK;
		if (*p != ',')
			goto syntax;
		p++;
		while (*p == ' ')
			p++;
		if (!*p && s->n < VB_ARRAY_MAXDIM)
			return VB_OK;   /* a trailing comma, as in a[1,] */
	}
syntax:
	return vb_err_set(VB_EINVAL,
			  "invalid slice '%s' at '%s' (expected items such as 3, -1, 10:20, ::-2 or ..., separated by commas)",
			  text, p);
}

enum vb_err vb_axes_parse(const char *text, struct vb_axes *x)
{
	const char *p = text;
	memset(x, 0, sizeof *x);
	if (!text || !*text)
		return VB_OK;
	for (;;) {
		int64_t v;
		if (x->n == VB_ARRAY_MAXDIM || !parse_i64(&p, &v))
			return vb_err_set(VB_EINVAL,
					  "invalid axes '%s' (expected a permutation such as 1,0 or 2,0,1)",
					  text);
		x->axis[x->n++] = v;
		if (!*p)
			return VB_OK;
		if (*p++ != ',')
			return vb_err_set(VB_EINVAL,
					  "invalid axes '%s' (expected a permutation such as 1,0 or 2,0,1)",
					  text);
	}
}

void vb_array_view_of(const struct vb_array *a, struct vb_array_view *v)
{
	int64_t st = (int64_t)a->itemsize;
	memset(v, 0, sizeof *v);
	v->ndim = a->ndim;
	v->offset = a->header;
	v->itemsize = a->itemsize;
	for (unsigned i = 0; i < a->ndim; i++) {
		/* C order: the last axis fastest; Fortran: the first */
		unsigned k = a->fortran ? i : a->ndim - 1 - i;
		v->count[k] = a->shape[k];
		v->stride[k] = st;
		if (a->shape[k])
			st *= (int64_t)a->shape[k];   /* bounded: vb_array_check passed */
	}
}

uint64_t vb_array_view_elements(const struct vb_array_view *v)
{
	uint64_t n = 1;
	for (unsigned k = 0; k < v->ndim; k++)
		n *= v->count[k];
	return n;
}

/* a slice bound as Python clips it: negatives from the end, then into
 * [0, n] for a positive step or [-1, n-1] for a negative one */
static int64_t clip(int64_t v, int64_t n, int64_t step)
{
	if (v < 0) {
		v += n;
		if (v < 0)
			v = step < 0 ? -1 : 0;
	} else if (v >= n) {
		v = step < 0 ? n - 1 : n;
	}
	return v;
}

enum vb_err vb_array_view_slice(struct vb_array_view *v, const struct vb_slice *s)
{
	struct vb_array_view r;
	unsigned given = 0, k = 0;
	for (unsigned i = 0; i < s->n; i++)
		if (s->item[i].kind != VB_SLICE_ELLIPSIS)
			given++;
	if (given > v->ndim)
		return vb_err_set(VB_ERANGE, "too many indices: the array has %u ax%s, the slice %u",
				  v->ndim, v->ndim == 1 ? "is" : "es", given);
	memset(&r, 0, sizeof r);
	r.offset = v->offset;
	r.itemsize = v->itemsize;
	int empty = vb_array_view_elements(v) == 0;
	for (unsigned i = 0; i < s->n; i++) {
		const struct vb_slice_item *it = &s->item[i];
		if (it->kind == VB_SLICE_ELLIPSIS) {
			for (unsigned e = 0; e < v->ndim - given; e++, k++) {
				r.count[r.ndim] = v->count[k];
				r.stride[r.ndim++] = v->stride[k];
			}
			continue;
		}
		int64_t n = (int64_t)v->count[k];
		if (it->kind == VB_SLICE_INDEX) {
			int64_t x = it->start;
			if (x < 0)
				x += n;
			if (x < 0 || x >= n)
				return vb_err_set(VB_ERANGE, "index %lld is out of bounds for axis %u with size %lld",
						  (long long)it->start, k, (long long)n);
			if (!empty)
				r.offset = (uint64_t)((int64_t)r.offset + x * v->stride[k]);
			k++;
			continue;
		}
		int64_t step = it->step, start, stop, cnt;
		if (step > 0) {
			start = 0;
			stop = n;
		} else {
			start = n - 1;
			stop = -1;
		}
		if (it->has_start)
			start = clip(it->start, n, step);
		if (it->has_stop)
			stop = clip(it->stop, n, step);
		if (step > 0)
			cnt = start < stop ? (stop - start - 1) / step + 1 : 0;
		else
			cnt = stop < start ? (start - stop - 1) / -step + 1 : 0;
		if (cnt > 0 && !empty)
			r.offset = (uint64_t)((int64_t)r.offset + start * v->stride[k]);
		r.count[r.ndim] = (uint64_t)cnt;
		/* a step beyond the axis is taken once at most: its stride never
		 * multiplies (no overflow) */
		r.stride[r.ndim++] = cnt > 1 ? v->stride[k] * step : v->stride[k];
		k++;
	}
	for (; k < v->ndim; k++) {
		r.count[r.ndim] = v->count[k];
		r.stride[r.ndim++] = v->stride[k];
	}
	*v = r;
	return VB_OK;
}

enum vb_err vb_array_view_transpose(struct vb_array_view *v, const struct vb_axes *x)
{
	struct vb_array_view r = *v;
	unsigned char seen[VB_ARRAY_MAXDIM] = {0};
	if (!x || !x->n) {
		for (unsigned k = 0; k < v->ndim; k++) {
			r.count[k] = v->count[v->ndim - 1 - k];
			r.stride[k] = v->stride[v->ndim - 1 - k];
		}
		*v = r;
		return VB_OK;
	}
	if (x->n != v->ndim)
		return vb_err_set(VB_ERANGE, "the axes (%u) do not match the array's %u ax%s", x->n,
				  v->ndim, v->ndim == 1 ? "is" : "es");
	for (unsigned k = 0; k < x->n; k++) {
		int64_t a = x->axis[k];
		if (a < 0)
			a += (int64_t)v->ndim;
		if (a < 0 || a >= (int64_t)v->ndim)
			return vb_err_set(VB_ERANGE, "axis %lld is out of bounds for an array of %u ax%s",
					  (long long)x->axis[k], v->ndim, v->ndim == 1 ? "is" : "es");
		if (seen[a]++)
			return vb_err_set(VB_ERANGE, "axis %lld is repeated in the permutation",
					  (long long)a);
		r.count[k] = v->count[a];
		r.stride[k] = v->stride[a];
	}
	*v = r;
	return VB_OK;
}

/* Drop axes of one element and merge axes k, k+1 that walk on as one. */
static void view_simplify(const struct vb_array_view *v, struct vb_array_view *r)
{
	*r = *v;
	r->ndim = 0;
	for (unsigned k = 0; k < v->ndim; k++) {
		if (v->count[k] == 1)
			continue;
		if (r->ndim && r->stride[r->ndim - 1] == (int64_t)v->count[k] * v->stride[k]) {
			r->count[r->ndim - 1] *= v->count[k];
			r->stride[r->ndim - 1] = v->stride[k];
			continue;
		}
		r->count[r->ndim] = v->count[k];
		r->stride[r->ndim++] = v->stride[k];
	}
}

int vb_array_view_forward(const struct vb_array_view *v)
{
	struct vb_array_view s;
	view_simplify(v, &s);
	if (!vb_array_view_elements(&s))
		return 1;
	uint64_t inner = s.itemsize;   /* the extent of the axes after k */
	for (unsigned k = s.ndim; k-- > 0;) {
		if (s.stride[k] < 0 || (uint64_t)s.stride[k] < inner)
			return 0;
		inner += (uint64_t)s.stride[k] * (s.count[k] - 1);
	}
	return 1;
}

enum vb_err vb_array_view_runs(const struct vb_array_view *v,
			 enum vb_err (*fn)(void *arg, uint64_t off, uint64_t len), void *arg)
{
	struct vb_array_view s;
	uint64_t idx[VB_ARRAY_MAXDIM] = {0};
	enum vb_err rc;
	view_simplify(v, &s);
	if (!vb_array_view_elements(&s))
		return VB_OK;
	uint64_t run = s.itemsize;
	unsigned outer = s.ndim;
	if (s.ndim && s.stride[s.ndim - 1] == (int64_t)s.itemsize) {
		run = s.count[s.ndim - 1] * s.itemsize;
		outer--;
	}
	uint64_t off = s.offset;
	for (;;) {
		if ((rc = fn(arg, off, run)))
			return rc;
		unsigned k = outer;
		while (k > 0) {
			k--;
			if (++idx[k] < s.count[k]) {
				off += (uint64_t)s.stride[k];
				break;
			}
			off -= (uint64_t)s.stride[k] * (idx[k] - 1);
			idx[k] = 0;
			if (!k)
				return VB_OK;
		}
		if (!outer)
			return VB_OK;
	}
}

uint64_t vb_array_view_run_count(const struct vb_array_view *v)
{
	struct vb_array_view s;
	uint64_t n = 1;
	view_simplify(v, &s);
	if (!vb_array_view_elements(&s))
		return 0;
	unsigned outer = s.ndim;
	if (s.ndim && s.stride[s.ndim - 1] == (int64_t)s.itemsize)
		outer--;
	for (unsigned k = 0; k < outer; k++)
		if (!mul_ok(n, s.count[k], &n))
			return UINT64_MAX;
	return n;
}

/* ---- the copy engine ---- */

struct axis {
	uint64_t n;
	int64_t s, d;    /* source and output strides */
};

struct copy {
	const struct vb_array_io *io;
	uint64_t item;
	unsigned char *span;    /* the read buffer */
	uint64_t span_cap;
};

static void extent(const struct axis *ax, unsigned na, uint64_t item, int64_t *lo, uint64_t *span)
{
	int64_t l = 0, h = 0;
	for (unsigned k = 0; k < na; k++) {
		int64_t e = (int64_t)(ax[k].n - 1) * ax[k].s;
		if (e < 0)
			l += e;
		else
			h += e;
	}
	*lo = l;
	*span = (uint64_t)(h - l) + item;
}

/* copy the elements of a part whose source bytes are in buf (buf[0] is
 * the source offset `base`); `src` relative to base */
static void gather(const struct copy *c, const struct axis *ax, unsigned na, const unsigned char *src,
		   unsigned char *dst)
{
	if (!na) {
		memcpy(dst, src, c->item);
		return;
	}
	if (na == 1) {
		uint64_t n = ax[0].n;
		int64_t s = ax[0].s, d = ax[0].d;
		switch (c->item) {
		case 1:
			for (uint64_t i = 0; i < n; i++, src += s, dst += d)
				*dst = *src;
			return;
		case 2:
			for (uint64_t i = 0; i < n; i++, src += s, dst += d)
				memcpy(dst, src, 2);
			return;
		case 4:
			for (uint64_t i = 0; i < n; i++, src += s, dst += d)
				memcpy(dst, src, 4);
			return;
		case 8:
			for (uint64_t i = 0; i < n; i++, src += s, dst += d)
				memcpy(dst, src, 8);
			return;
		default:
			if (s == (int64_t)c->item && d == (int64_t)c->item) {
				memcpy(dst, src, n * c->item);
				return;
			}
			for (uint64_t i = 0; i < n; i++, src += s, dst += d)
				memcpy(dst, src, c->item);
			return;
		}
	}
	for (uint64_t i = 0; i < ax[0].n; i++)
		gather(c, ax + 1, na - 1, src + (int64_t)i * ax[0].s, dst + (int64_t)i * ax[0].d);
}

/* fill the output at dst with the part at source offset `off` */
static enum vb_err fill(const struct copy *c, uint64_t off, struct axis *ax, unsigned na,
			unsigned char *dst)
{
	int64_t lo;
	uint64_t span, need = c->item;
	enum vb_err rc;
	for (unsigned k = 0; k < na; k++)
		need *= ax[k].n;
	if (!need)
		return VB_OK;
	extent(ax, na, c->item, &lo, &span);
	/* the axis of largest stride: the one to split along */
	unsigned a = 0;
	uint64_t best = 0;
	for (unsigned k = 0; k < na; k++) {
		uint64_t m = (uint64_t)(ax[k].s < 0 ? -ax[k].s : ax[k].s);
		if (ax[k].n > 1 && m >= best) {
			best = m;
			a = k;
		}
	}
	if (span <= c->span_cap && (best == 0 || span <= ax[a].n * READ_COST + need)) {
		uint64_t base = (uint64_t)((int64_t)off + lo);
		if ((rc = c->io->read(c->io->arg, base, c->span, span)))
			return rc;
		/* the part's elements in output order, from the span read */
		gather(c, ax, na, c->span + (off - base), dst);
		return VB_OK;
	}
	uint64_t n = ax[a].n, chunk = 1;
	if (span > c->span_cap && best && c->span_cap / best > 1)
		chunk = c->span_cap / best;
	if (chunk >= n)
		chunk = 1;
	struct axis save = ax[a];
	for (uint64_t i = 0; i < n; i += chunk) {
		ax[a].n = n - i < chunk ? n - i : chunk;
		rc = fill(c, (uint64_t)((int64_t)off + (int64_t)i * save.s), ax, na,
			  dst + (int64_t)i * save.d);
		if (rc)
			break;
	}
	ax[a] = save;
	return rc;
}

enum vb_err vb_array_view_copy(const struct vb_array_view *v, const struct vb_array_io *io, size_t mem)
{
	struct vb_array_view s;
	uint64_t idx[VB_ARRAY_MAXDIM] = {0};
	enum vb_err rc = VB_OK;
	view_simplify(v, &s);
	if (!vb_array_view_elements(&s))
		return VB_OK;
	if (mem < 2 * s.itemsize)
		mem = (size_t)(2 * s.itemsize);
	/* long contiguous runs: sent as they are */
	if (s.ndim && s.stride[s.ndim - 1] == (int64_t)s.itemsize &&
	    s.count[s.ndim - 1] * s.itemsize >= SEND_MIN)
		return vb_array_view_runs(&s, io->send, io->arg);
	if (!s.ndim)
		s.count[0] = 1, s.stride[0] = (int64_t)s.itemsize, s.ndim = 1;
	/* a transpose reads a strip of each source row per output block:
	 * the wider the block, the fewer reads; a plain gather wants both
	 * halves alike */
	int transposed = s.stride[s.ndim - 1] != (int64_t)s.itemsize;
	uint64_t out_cap = transposed ? mem / 4 * 3 : mem / 2, item = s.itemsize;
	if (out_cap < item)
		out_cap = item;
	/* the output block: axes p+1.. whole and a chunk of axis p */
	unsigned p = s.ndim - 1;
	uint64_t inner = item;    /* bytes of the axes after p */
	while (p > 0 && inner * s.count[p] <= out_cap) {
		inner *= s.count[p];
		p--;
	}
	uint64_t chunk = out_cap / inner;
	if (!chunk)
		chunk = 1;   /* one element larger than half the memory: still one */
	if (chunk > s.count[p])
		chunk = s.count[p];
	struct copy c = {io, item, NULL, mem - out_cap < item ? item : mem - out_cap};
	unsigned char *out = malloc(chunk * inner);
	c.span = malloc(c.span_cap);
	if (!out || !c.span) {
		free(out);
		free(c.span);
		return vb_err_set(VB_ENOMEM, "out of memory");
	}
	struct axis ax[VB_ARRAY_MAXDIM];
	unsigned na = s.ndim - p;
	int64_t d = (int64_t)item;
	for (unsigned k = s.ndim; k-- > p;) {
		ax[k - p].n = s.count[k];
		ax[k - p].s = s.stride[k];
		ax[k - p].d = d;
		d *= (int64_t)s.count[k];
	}
	uint64_t off = s.offset;   /* of the block's first element */
	for (;;) {
		for (uint64_t i = 0; i < s.count[p] && !rc; i += chunk) {
			uint64_t m = s.count[p] - i < chunk ? s.count[p] - i : chunk;
			ax[0].n = m;
			rc = fill(&c, (uint64_t)((int64_t)off + (int64_t)i * s.stride[p]), ax, na, out);
			if (!rc)
				rc = io->write(io->arg, out, m * inner);
		}
		if (rc)
			break;
		/* the next index of the axes before p */
		unsigned k = p;
		while (k > 0) {
			k--;
			if (++idx[k] < s.count[k]) {
				off = (uint64_t)((int64_t)off + s.stride[k]);
				break;
			}
			off = (uint64_t)((int64_t)off - s.stride[k] * (int64_t)(idx[k] - 1));
			idx[k] = 0;
			if (!k)
				goto done;
		}
		if (!p)
			break;
	}
done:
	free(out);
	free(c.span);
	return rc;
}

/* ---- edits along an axis ---- */

void vb_array_slab(const struct vb_array *a, unsigned axis, uint64_t *slab, uint64_t *run_unit)
{
	unsigned P = a->fortran ? a->ndim - 1 - axis : axis;
	uint64_t s = a->itemsize, r = a->itemsize;
	for (unsigned k = 0; k < a->ndim; k++) {
		unsigned pk = a->fortran ? a->ndim - 1 - k : k;   /* physical k's logical axis */
		if (k == P)
			continue;
		s *= a->shape[pk];
		if (k > P)
			r *= a->shape[pk];
	}
	*slab = s;
	*run_unit = r;
}

uint64_t vb_array_axis_run_count(const struct vb_array *a, unsigned axis)
{
	unsigned P = a->fortran ? a->ndim - 1 - axis : axis;
	uint64_t outer = 1;
	for (unsigned k = 0; k < P; k++)
		outer *= a->shape[a->fortran ? a->ndim - 1 - k : k];
	return outer;
}

enum vb_err vb_array_axis_runs(const struct vb_array *a, unsigned axis, uint64_t index,
			       uint64_t count,
			       enum vb_err (*fn)(void *arg, uint64_t off, uint64_t len),
			       void *arg)
{
	enum vb_err rc;
	if (axis >= a->ndim)
		return vb_err_set(VB_ERANGE, "axis %u is out of bounds for an array of %u ax%s", axis,
				  a->ndim, a->ndim == 1 ? "is" : "es");
	uint64_t n = a->shape[axis];
	if (index > n || count > n - index)
		return vb_err_set(VB_ERANGE, "slabs %llu to %llu are outside axis %u of size %llu",
				  (unsigned long long)index, (unsigned long long)(index + count),
				  axis, (unsigned long long)n);
	unsigned P = a->fortran ? a->ndim - 1 - axis : axis;
	uint64_t outer = 1, slab, unit;
	for (unsigned k = 0; k < P; k++)
		outer *= a->shape[a->fortran ? a->ndim - 1 - k : k];
	vb_array_slab(a, axis, &slab, &unit);
	uint64_t row = n * unit;   /* bytes of one index of the axes before */
	for (uint64_t j = 0; j < outer; j++)
		if ((rc = fn(arg, a->header + j * row + index * unit, count * unit)))
			return rc;
	return VB_OK;
}

enum vb_err vb_array_axis(const struct vb_array *a, int64_t axis, unsigned *out)
{
	int64_t k = axis < 0 ? axis + (int64_t)a->ndim : axis;
	if (k < 0 || k >= (int64_t)a->ndim)
		return vb_err_set(VB_ERANGE, "axis %lld is out of bounds for an array of %u ax%s",
				  (long long)axis, a->ndim, a->ndim == 1 ? "is" : "es");
	*out = (unsigned)k;
	return VB_OK;
}

enum vb_err vb_array_index(const struct vb_array *a, unsigned axis, int64_t index, int end_ok,
			   uint64_t *out)
{
	int64_t n = (int64_t)a->shape[axis], i = index < 0 ? index + n : index;
	if (i < 0 || i > n || (i == n && !end_ok))
		return vb_err_set(VB_ERANGE, "index %lld is out of bounds for axis %u with size %lld",
				  (long long)index, axis, (long long)n);
	*out = (uint64_t)i;
	return VB_OK;
}
