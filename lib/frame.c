/*
 * frame: the framers (see frame.h for the contract).
 *
 * DELIMITERS
 *   The delimiters are kept longest first.  A scan for the end of a record
 *   looks for the earliest position k where some delimiter's first byte
 *   occurs, then tries the delimiters starting with that byte, longest
 *   first, against the bytes at k:
 *     all of it matches           that delimiter wins (nothing longer can
 *                                 start at k: those were tried before);
 *     the buffered bytes run out  while they still match, a longer
 *                                 delimiter may be arriving: wait for more
 *                                 input (at end of input it cannot, so go
 *                                 on with the shorter ones);
 *     a byte differs              try the next one.
 *   If none matches at k the scan goes on from k + 1.
 *
 *   Finding k uses memchr once per distinct first byte, and remembers for
 *   each byte where its next occurrence is (or how far it is known to be
 *   absent), in absolute stream offsets.  So a record that arrives in many
 *   reads is scanned once, not once per read, and `-l` (\n, \r\n, \r) costs
 *   one memchr per line plus one pass for \r per buffer.
 *
 * LENGTH PREFIX
 *   frame length = offset + field bytes + value + adjustment, checked for
 *   negative results and overflow; the maximum is checked as soon as the
 *   header is in, before the frame is waited for, so an oversized frame is
 *   never held in memory.
 */
#include "frame.h"
#include "crc.h"
#include "le.h"
#include "num.h"

#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define NONE UINT64_MAX
#define DELIM_MAX 1024u

enum { K_DELIM, K_LENGTH, K_FIXED };

struct delim {
	unsigned char *s;
	size_t n;
};

struct vb_framer {
	int kind;
	uint64_t max;
	/* delimiter */
	struct delim *d;
	size_t nd, maxd;
	unsigned char firsts[256];
	int nfirst;
	unsigned char lone[256];   /* 1: the only delimiter starting with c is "c" */
	uint64_t next_at[256];     /* absolute offset of the next occurrence */
	uint64_t searched_to[256]; /* with next_at NONE: absent before this */
	uint64_t base;             /* absolute offset of the buffer's head */
	uint64_t scan;             /* resume the current scan here */
	/* length */
	struct vb_lenspec spec;
	/* fixed */
	uint64_t fixed;
};

/* ------------------------------------------------------- binary helpers */

static enum vb_err need(size_t len, size_t off, size_t n)
{
	if (off > len || n > len - off)
		return vb_err_set(VB_ENEEDMORE, "need %zu bytes at offset %zu of %zu", n, off, len);
	return VB_OK;
}

enum vb_err vb_read_u8(const void *buf, size_t len, size_t off, uint8_t *v)
{
	enum vb_err rc = need(len, off, 1);
	if (!rc)
		*v = ((const unsigned char *)buf)[off];
	return rc;
}

static uint64_t be(const unsigned char *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static uint64_t le(const unsigned char *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

#define READER(name, type, bytes, conv)                                              \
	enum vb_err name(const void *buf, size_t len, size_t off, type *v)           \
	{                                                                            \
		enum vb_err rc = need(len, off, bytes);                              \
		if (!rc)                                                             \
			*v = (type)conv((const unsigned char *)buf + off, bytes);     \
		return rc;                                                           \
	}

READER(vb_read_u16_be, uint16_t, 2, be)
READER(vb_read_u16_le, uint16_t, 2, le)
READER(vb_read_u24_be, uint32_t, 3, be)
READER(vb_read_u24_le, uint32_t, 3, le)
READER(vb_read_u32_be, uint32_t, 4, be)
READER(vb_read_u32_le, uint32_t, 4, le)
READER(vb_read_u64_be, uint64_t, 8, be)
READER(vb_read_u64_le, uint64_t, 8, le)

enum vb_err vb_read_varint(const void *buf, size_t len, size_t off, uint64_t *v, size_t *used)
{
	int k = vb_varint_get((const unsigned char *)buf + (off < len ? off : 0),
			      off < len ? len - off : 0, v);

	if (k > 0) {
		*used = (size_t)k;
		return VB_OK;
	}
	if (k == VB_VARINT_SHORT)
		return vb_err_set(VB_ENEEDMORE, "varint runs past the buffered bytes");
	if (k == VB_VARINT_OVERFLOW)
		return vb_err_set(VB_EINVAL, "varint larger than 2^64-1");
	return vb_err_set(VB_EINVAL, "varint longer than 10 bytes");
}

enum vb_err vb_unescape(const char *s, unsigned char **out, size_t *n)
{
	size_t len = strlen(s), k = 0;
	unsigned char *o = malloc(len + 1);

	if (!o)
		return vb_err_set(VB_ENOMEM, "out of memory");
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '\\') {
			o[k++] = (unsigned char)s[i];
			continue;
		}
		switch (s[++i]) {
		case 'n': o[k++] = '\n'; break;
		case 'r': o[k++] = '\r'; break;
		case 't': o[k++] = '\t'; break;
		case '0': o[k++] = 0; break;
		case '\\': o[k++] = '\\'; break;
		case 'x': {
			int hi = i + 1 < len ? vb_hex_digit(s[i + 1]) : -1;
			int lo = hi >= 0 && i + 2 < len ? vb_hex_digit(s[i + 2]) : -1;
			if (hi < 0 || lo < 0) {
				free(o);
				return vb_err_set(VB_EINVAL, "'%s': \\x needs two hex digits", s);
			}
			o[k++] = (unsigned char)(hi << 4 | lo);
			i += 2;
			break;
		}
		case 0:
			free(o);
			return vb_err_set(VB_EINVAL, "'%s': a lone backslash at the end", s);
		default:
			free(o);
			return vb_err_set(VB_EINVAL, "'%s': unknown escape '\\%c' (use \\n \\r \\t \\0 \\\\ \\xHH)",
					  s, s[i]);
		}
	}
	if (!k) {
		free(o);
		return vb_err_set(VB_EINVAL, "empty delimiter");
	}
	*out = o;
	*n = k;
	return VB_OK;
}

/* The ASCII forms and the presets of vb_lenspec_parse. */
static int text_spec(const char *s, struct vb_lenspec *spec)
{
	memset(spec, 0, sizeof *spec);
	spec->term = spec->trailer = -1;
	if (!strcmp(s, "netstring")) {
		spec->text = VB_LEN_DEC;
		spec->term = ':';
		spec->trailer = ',';
		spec->canonical = 1;
	} else if (!strcmp(s, "syslog")) {
		spec->text = VB_LEN_DEC;
		spec->term = ' ';
		spec->canonical = 1;
	} else if (!strcmp(s, "pkt-line")) {
		spec->text = VB_LEN_HEX;
		spec->digits = 4;
		spec->adjust = -4;
		spec->small = 4;
	} else if (!strcmp(s, "tfrecord")) {
		spec->size = 8;
		spec->tfrecord = 1;
	} else if (!strcmp(s, "protobuf")) {
		spec->size = 0; /* a varint */
	} else if (!strcmp(s, "mrt")) {
		spec->size = 4; /* RFC 6396: time, type, subtype, then the length */
		spec->big_endian = 1;
		spec->offset = 8;
	} else if (!strncmp(s, "dec:", 4) || !strncmp(s, "hex:", 4)) {
		unsigned char *t;
		size_t n;
		if (vb_unescape(s + 4, &t, &n))
			return 0;
		int one = n == 1 && !(t[0] >= '0' && t[0] <= '9') &&
			  !(s[0] == 'h' && ((t[0] | 0x20) >= 'a' && (t[0] | 0x20) <= 'f'));
		spec->term = t[0];
		free(t);
		if (!one)
			return 0;
		spec->text = s[0] == 'd' ? VB_LEN_DEC : VB_LEN_HEX;
	} else {
		return 0;
	}
	return 1;
}

enum vb_err vb_lenspec_parse(const char *s, struct vb_lenspec *spec)
{
	static const struct {
		const char *name;
		unsigned size;
		int big;
	} t[] = {
		{"u8", 1, 1}, {"u16be", 2, 1}, {"u16le", 2, 0}, {"u24be", 3, 1}, {"u24le", 3, 0},
		{"u32be", 4, 1}, {"u32le", 4, 0}, {"u64be", 8, 1}, {"u64le", 8, 0}, {"varint", 0, 0},
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (!strcmp(s, t[i].name)) {
			memset(spec, 0, sizeof *spec);
			spec->size = t[i].size;
			spec->big_endian = t[i].big;
			spec->term = spec->trailer = -1;
			return VB_OK;
		}
	if (text_spec(s, spec))
		return VB_OK;
	return vb_err_set(VB_EINVAL, "unknown length prefix '%s' (binary: u8, u16be, u16le, u24be, u24le, u32be, u32le, u64be, u64le, varint; ASCII: netstring, syslog, pkt-line, dec:C, hex:C with C a byte that is not a digit; presets: protobuf, tfrecord, mrt)",
			  s);
}

/* TFRecord's masked CRC-32C (a CRC stored next to the bytes it covers
 * is masked so that a CRC of bytes holding CRCs stays meaningful). */
static uint32_t tf_mask(uint32_t crc)
{
	return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

/* Bytes of header after the field, and of tail after the record. */
static unsigned spec_extra(const struct vb_lenspec *spec)
{
	return spec->tfrecord ? 4 : 0;
}

static unsigned spec_tail(const struct vb_lenspec *spec)
{
	return spec->tfrecord ? 4 : spec->text && spec->trailer >= 0;
}

size_t vb_lenspec_tail(const struct vb_lenspec *spec, uint32_t crc, unsigned char *out)
{
	if (spec->tfrecord) {
		vb_le_put32(out, tf_mask(crc));
		return 4;
	}
	if (spec_tail(spec)) {
		out[0] = (unsigned char)spec->trailer;
		return 1;
	}
	return 0;
}

int vb_lenspec_tail_crc(const struct vb_lenspec *spec)
{
	return spec->tfrecord;
}

uint32_t vb_lenspec_sum(uint32_t sum, const void *p, size_t n)
{
	return vb_crc32c(sum, p, n);
}

/* An ASCII field: the digits of `v` (the base's, `width` of them with
 * leading zeros, or as many as needed), then the terminator. */
static enum vb_err encode_text(const struct vb_lenspec *spec, uint64_t len, uint64_t v,
			       unsigned char *out, size_t *n)
{
	static const char hex[] = "0123456789abcdef";
	unsigned base = spec->text == VB_LEN_HEX ? 16 : 10;
	char d[24];
	size_t k = 0, w;

	do {
		d[k++] = hex[v % base];
		v /= base;
	} while (v);
	w = spec->digits ? spec->digits : k;
	if (k > w)
		return vb_err_set(VB_ERANGE, "a record of %llu bytes does not fit a %u-digit length field",
				  (unsigned long long)len, spec->digits);
	for (size_t i = 0; i < w; i++)
		out[i] = (unsigned char)(i < w - k ? '0' : d[w - 1 - i]);
	if (spec->term >= 0)
		out[w++] = (unsigned char)spec->term;
	*n = w;
	return VB_OK;
}

enum vb_err vb_lenspec_encode(const struct vb_lenspec *spec, uint64_t len, unsigned char *out,
			      size_t *n)
{
	uint64_t mag = spec->adjust < 0 ? 0 - (uint64_t)spec->adjust : (uint64_t)spec->adjust;
	uint64_t v;

	/* the field holds len minus the adjustment a reader adds */
	if (spec->adjust < 0 ? __builtin_add_overflow(len, mag, &v) : len < mag)
		return vb_err_set(VB_ERANGE, "a record of %llu bytes does not fit the length field with its adjustment",
				  (unsigned long long)len);
	if (spec->adjust >= 0)
		v = len - mag;
	if (spec->text)
		return encode_text(spec, len, v, out, n);
	if (!spec->size) {
		*n = vb_varint_put(out, v);
		return VB_OK;
	}
	if (spec->size < 8 && v >> (8 * spec->size))
		return vb_err_set(VB_ERANGE, "a record of %llu bytes does not fit a %u-byte length field",
				  (unsigned long long)len, spec->size);
	for (unsigned i = 0; i < spec->size; i++) {
		unsigned shift = 8 * (spec->big_endian ? spec->size - 1 - i : i);
		out[i] = (unsigned char)(v >> shift);
	}
	*n = spec->size;
	if (spec->tfrecord) {
		vb_le_put32(out + 8, tf_mask(vb_crc32c(0, out, 8)));
		*n += 4;
	}
	return VB_OK;
}

/* ------------------------------------------------------------- framers */

static enum vb_err framer_new(int kind, struct vb_framer **out)
{
	struct vb_framer *f = calloc(1, sizeof *f);

	if (!f)
		return vb_err_set(VB_ENOMEM, "out of memory");
	f->kind = kind;
	f->max = UINT64_MAX;
	*out = f;
	return VB_OK;
}

static int by_length_desc(const void *a, const void *b)
{
	const struct delim *x = a, *y = b;
	return x->n < y->n ? 1 : x->n > y->n ? -1 : memcmp(x->s, y->s, x->n);
}

enum vb_err vb_framer_delim(const unsigned char *const *delims, const size_t *lens, size_t n,
			    struct vb_framer **out)
{
	struct vb_framer *f = NULL;
	enum vb_err rc;

	if (!n)
		return vb_err_set(VB_EINVAL, "no delimiter");
	if ((rc = framer_new(K_DELIM, &f)))
		return rc;
	f->d = calloc(n, sizeof *f->d);
	if (!f->d) {
		free(f);
		return vb_err_set(VB_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		if (!lens[i] || lens[i] > DELIM_MAX) {
			vb_framer_free(f);
			return vb_err_set(VB_EINVAL, "a delimiter must be 1 to %u bytes", DELIM_MAX);
		}
		f->d[f->nd].s = malloc(lens[i]);
		if (!f->d[f->nd].s) {
			vb_framer_free(f);
			return vb_err_set(VB_ENOMEM, "out of memory");
		}
		memcpy(f->d[f->nd].s, delims[i], lens[i]);
		f->d[f->nd].n = lens[i];
		f->nd++;
	}
	qsort(f->d, f->nd, sizeof *f->d, by_length_desc);
	/* drop duplicates */
	size_t w = 0;
	for (size_t i = 0; i < f->nd; i++) {
		if (w && f->d[w - 1].n == f->d[i].n && !memcmp(f->d[w - 1].s, f->d[i].s, f->d[i].n)) {
			free(f->d[i].s);
			continue;
		}
		f->d[w++] = f->d[i];
	}
	f->nd = w;
	f->maxd = f->d[0].n;
	int seen[256] = {0};
	for (size_t i = 0; i < f->nd; i++)
		if (!seen[f->d[i].s[0]]++)
			f->firsts[f->nfirst++] = f->d[i].s[0];
	for (size_t i = 0; i < f->nd; i++)
		if (f->d[i].n == 1 && seen[f->d[i].s[0]] == 1)
			f->lone[f->d[i].s[0]] = 1;
	vb_framer_reset(f);
	*out = f;
	return VB_OK;
}

enum vb_err vb_framer_length(const struct vb_lenspec *spec, struct vb_framer **out)
{
	struct vb_framer *f = NULL;
	enum vb_err rc;

	if (!spec->text && spec->size != 0 && spec->size != 1 && spec->size != 2 &&
	    spec->size != 3 && spec->size != 4 && spec->size != 8)
		return vb_err_set(VB_EINVAL, "a length field is 1, 2, 3, 4 or 8 bytes, or a varint");
	if (spec->tfrecord && (spec->size != 8 || spec->big_endian || spec->text))
		return vb_err_set(VB_EINVAL, "a TFRecord length is a u64le");
	if (spec->text && (spec->text > VB_LEN_HEX || spec->digits > 16 ||
			   (!spec->digits && spec->term < 0)))
		return vb_err_set(VB_EINVAL, "an ASCII length field has 1 to 16 digits, or a terminator");
	if ((rc = framer_new(K_LENGTH, &f)))
		return rc;
	f->spec = *spec;
	*out = f;
	return VB_OK;
}

enum vb_err vb_framer_fixed(uint64_t size, struct vb_framer **out)
{
	struct vb_framer *f = NULL;
	enum vb_err rc;

	if (!size)
		return vb_err_set(VB_EINVAL, "a fixed record size must be at least 1");
	if ((rc = framer_new(K_FIXED, &f)))
		return rc;
	f->fixed = size;
	*out = f;
	return VB_OK;
}

void vb_framer_free(struct vb_framer *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->nd; i++)
		free(f->d[i].s);
	free(f->d);
	free(f);
}

void vb_framer_set_max(struct vb_framer *f, uint64_t max)
{
	f->max = max ? max : UINT64_MAX;
}

size_t vb_framer_max_delim(const struct vb_framer *f)
{
	return f->maxd;
}

int vb_framer_sync_byte(const struct vb_framer *f)
{
	/* Every occurrence of such a byte ends a delimiter match in the
	 * forward parse: a match covering it must end there (the byte is last
	 * in every delimiter holding it), and if none started earlier, "c"
	 * itself matches there. */
	for (size_t i = 0; f->kind == K_DELIM && i < f->nd; i++) {
		if (f->d[i].n != 1)
			continue;
		unsigned char c = f->d[i].s[0];
		int ok = 1;
		for (size_t j = 0; j < f->nd && ok; j++)
			for (size_t k = 0; k + 1 < f->d[j].n; k++)
				if (f->d[j].s[k] == c)
					ok = 0;
		if (ok)
			return c;
	}
	return -1;
}

void vb_framer_reset(struct vb_framer *f)
{
	f->base = 0;
	f->scan = 0;
	for (int i = 0; i < 256; i++) {
		f->next_at[i] = NONE;
		f->searched_to[i] = 0;
	}
}

void vb_framer_discard(struct vb_framer *f, size_t n)
{
	f->base += n;
	if (f->scan < f->base)
		f->scan = f->base;
}

/* ------------------------------------------------------- delimiter scan */

/* The bytes being scanned: the absolute offsets [origin, end), either one
 * contiguous run p (the fast case: memchr and memcmp straight on it, no
 * buffer calls per record) or a chunked buffer b. */
struct view {
	const unsigned char *p;   /* NULL: use b */
	const struct vb_sbuf *b;
	uint64_t origin, end;
};

static struct view view_of(const struct vb_framer *f, const struct vb_sbuf *b)
{
	struct view v = {NULL, b, f->base, f->base + vb_sbuf_len(b)};
	size_t run;
	const unsigned char *p = vb_sbuf_contig(b, 0, &run);

	if (run == vb_sbuf_len(b))
		v.p = p;
	return v;
}

/* Absolute offset of the first byte c at or after `from`, or NONE. */
static uint64_t view_find(const struct view *v, uint64_t from, unsigned char c)
{
	size_t rel;

	if (from >= v->end)
		return NONE;
	if (v->p) {
		const unsigned char *hit = memchr(v->p + (from - v->origin), c, (size_t)(v->end - from));
		return hit ? v->origin + (uint64_t)(hit - v->p) : NONE;
	}
	if (vb_sbuf_find_byte(v->b, (size_t)(from - v->origin), c, &rel) == VB_OK)
		return v->origin + rel;
	return NONE;
}

/* Do the m bytes at absolute k equal s? */
static int view_equal(const struct view *v, uint64_t k, const unsigned char *s, size_t m)
{
	unsigned char tmp[DELIM_MAX];
	const unsigned char *at;
	size_t run;

	if (v->p) {
		at = v->p + (k - v->origin);
	} else {
		at = vb_sbuf_contig(v->b, (size_t)(k - v->origin), &run);
		if (run < m) {
			vb_sbuf_peek(v->b, (size_t)(k - v->origin), tmp, m);
			at = tmp;
		}
	}
	return !memcmp(at, s, m);
}

/* Absolute offset of the first occurrence of any delimiter's first byte at
 * or after `at`, or NONE if there is none in the buffered bytes.  What each
 * byte's search found is remembered (next_at, searched_to), so bytes are
 * looked at once however many reads a record takes. */
static uint64_t next_candidate(struct vb_framer *f, const struct view *v, uint64_t at)
{
	uint64_t best = NONE;

	for (int i = 0; i < f->nfirst; i++) {
		unsigned char c = f->firsts[i];
		uint64_t pos = f->next_at[c];
		if (pos == NONE || pos < at) {
			/* stale: search from where knowledge ends */
			uint64_t from = at;
			if (pos == NONE && f->searched_to[c] > from)
				from = f->searched_to[c];
			pos = view_find(v, from, c);
			if (pos == NONE)
				f->searched_to[c] = v->end;
			f->next_at[c] = pos;
		}
		if (pos < best)
			best = pos;
	}
	return best;
}

/* Scan from f->scan for the end of the current record.  VB_OK: delimiter at
 * relative *pos, *dlen bytes.  VB_ENEEDMORE: none in the buffered bytes
 * (f->scan says where to resume).  With `limit` (relative), a record
 * longer than it ends the scan with VB_EFRAME. */
static enum vb_err scan_view(struct vb_framer *f, const struct view *v, int eof, uint64_t limit,
			     size_t *pos, size_t *dlen)
{
	for (;;) {
		uint64_t k = next_candidate(f, v, f->scan);
		if (k == NONE) {
			f->scan = v->end;
			if (limit != NONE && v->end - f->base > limit)
				return VB_EFRAME;
			return VB_ENEEDMORE;
		}
		if (limit != NONE && k - f->base > limit)
			return VB_EFRAME;
		unsigned char c = v->p ? v->p[k - v->origin] : vb_sbuf_byte(v->b, (size_t)(k - v->origin));
		size_t avail = (size_t)(v->end - k);
		for (size_t i = 0; i < f->nd; i++) {
			const struct delim *d = &f->d[i];
			if (d->s[0] != c)
				continue;
			size_t m = avail < d->n ? avail : d->n;
			if (!view_equal(v, k, d->s, m))
				continue;
			if (m == d->n) {
				*pos = (size_t)(k - f->base);
				*dlen = d->n;
				f->scan = k;
				return VB_OK;
			}
			if (!eof) {
				f->scan = k; /* a longer delimiter may be arriving */
				return VB_ENEEDMORE;
			}
		}
		f->scan = k + 1;
	}
}

static enum vb_err scan(struct vb_framer *f, const struct vb_sbuf *b, int eof, uint64_t limit,
			size_t *pos, size_t *dlen)
{
	struct view v = view_of(f, b);
	return scan_view(f, &v, eof, limit, pos, dlen);
}

enum vb_err vb_framer_find_end(struct vb_framer *f, const struct vb_sbuf *b, int eof,
			       size_t *pos, size_t *dlen)
{
	enum vb_err rc = scan(f, b, eof, NONE, pos, dlen);

	if (rc == VB_ENEEDMORE && eof) {
		*pos = vb_sbuf_len(b);
		*dlen = 0;
		return VB_OK;
	}
	return rc;
}

/* The record at the head is larger than the maximum (the scan passed it):
 * VB_EFRAME, with its end unknown (fr->total 0), unless the input has
 * ended: then, if no delimiter follows, it is the incomplete last record,
 * all the rest.  (The scan state stays valid for vb_framer_find_end.) */
static enum vb_err delim_over(struct vb_framer *f, const struct vb_sbuf *b, int eof,
			      struct vb_frame *fr)
{
	size_t pos, dlen;

	memset(fr, 0, sizeof *fr);
	if (eof && scan(f, b, eof, NONE, &pos, &dlen) == VB_ENEEDMORE) {
		fr->len = fr->total = vb_sbuf_len(b);
		fr->unterminated = 1;
	}
	return VB_EFRAME;
}

static enum vb_err next_delim(struct vb_framer *f, const struct vb_sbuf *b, int eof,
			      struct vb_frame *fr)
{
	size_t pos, dlen, len = vb_sbuf_len(b);
	enum vb_err rc = scan(f, b, eof, f->max, &pos, &dlen);

	memset(fr, 0, sizeof *fr);
	if (rc == VB_OK) {
		fr->len = pos;
		fr->delim = dlen;
		fr->total = pos + dlen;
	} else if (rc == VB_ENEEDMORE && eof && len) {
		/* the rest is the unterminated last record, within the
		 * maximum (the scan's limit refuses a longer one) */
		fr->len = len;
		fr->total = len;
		fr->unterminated = 1;
		rc = VB_OK;
	} else if (rc == VB_EFRAME) {
		return delim_over(f, b, eof, fr);
	} else {
		return rc;
	}
	if (rc == VB_OK) {
		f->base += fr->total;
		f->scan = f->base;
	}
	return rc;
}

/* ------------------------------------------------------------ policy */

enum vb_fate vb_frame_policy_fate(const struct vb_frame_policy *p, int too_large, int complete)
{
	static const enum vb_fate over[] = {
		[VB_OVERSIZE_ERROR] = VB_FATE_FAIL_SIZE,
		[VB_OVERSIZE_SKIP] = VB_FATE_SKIP,
		[VB_OVERSIZE_TRUNCATE] = VB_FATE_TRUNCATE,
	};

	if (complete < 0) {
		/* not known yet: what both answers agree on */
		enum vb_fate c = vb_frame_policy_fate(p, too_large, 1);
		return c == vb_frame_policy_fate(p, too_large, 0) ? c : VB_FATE_READ_ON;
	}
	if (!complete && p->final == VB_FINAL_DROP)
		return VB_FATE_DROP;
	if (!complete && p->final == VB_FINAL_ERROR)
		return too_large && p->oversize == VB_OVERSIZE_ERROR ? VB_FATE_FAIL_SIZE
								     : VB_FATE_FAIL_FINAL;
	/* complete, or incomplete and emitted like a complete record */
	return too_large ? over[p->oversize] : VB_FATE_EMIT;
}

/* ------------------------------------------------------------ length */

static enum vb_err bad_frame(const char *fmt, unsigned long long a, unsigned long long b)
{
	return vb_err_set(VB_EINVAL, fmt, a, b);
}

/* An ASCII field at h[0, have): its value and length (digits and
 * terminator) in *used; VB_ENEEDMORE if it may go on past `have`,
 * VB_EINVAL if malformed. */
/* The value of digit c in `base` (10 or 16), or -1. */
static int digit(unsigned c, unsigned base)
{
	if (c >= '0' && c <= '9')
		return (int)(c - '0');
	if (base == 16 && (c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (int)((c | 0x20) - 'a' + 10);
	return -1;
}

static enum vb_err read_text(const struct vb_lenspec *sp, const unsigned char *h, size_t have,
			     uint64_t *value, size_t *used)
{
	unsigned base = sp->text == VB_LEN_HEX ? 16 : 10;
	size_t most = sp->digits ? sp->digits : base == 16 ? 16 : 20, i;
	uint64_t v = 0;
	int d;

	for (i = 0; i < have && i < most && (d = digit(h[i], base)) >= 0; i++)
		if (__builtin_mul_overflow(v, base, &v) ||
		    __builtin_add_overflow(v, (uint64_t)d, &v))
			return vb_err_set(VB_EINVAL, "length field: the number does not fit 64 bits");
	if (i == have && (i < most || sp->term >= 0))
		return VB_ENEEDMORE;
	if (sp->digits && i < sp->digits)
		return vb_err_set(VB_EINVAL, "length field: byte 0x%02x where a %s digit belongs",
				  h[i], base == 16 ? "hex" : "decimal");
	if (i == most && !sp->digits && digit(h[i], base) >= 0)
		return vb_err_set(VB_EINVAL, "length field: more than %zu digits", most);
	if (sp->term >= 0) {
		if (!i || h[i] != (unsigned char)sp->term)
			return vb_err_set(VB_EINVAL, "length field: byte 0x%02x where a %s digit%s belongs",
					  h[i], base == 16 ? "hex" : "decimal",
					  i ? " or its terminator" : "");
		i++;
	}
	if (sp->canonical && h[0] == '0' && i > 2)
		return vb_err_set(VB_EINVAL, "length field: a leading zero");
	*value = v;
	*used = i;
	return VB_OK;
}

static enum vb_err next_length(struct vb_framer *f, const struct vb_sbuf *b, int eof,
			       struct vb_frame *fr)
{
	const struct vb_lenspec *sp = &f->spec;
	size_t len = vb_sbuf_len(b), used = 0;
	unsigned char h[VB_LENSPEC_MAX];
	uint64_t value = 0;
	enum vb_err rc;

	memset(fr, 0, sizeof *fr);
	if (!len && eof)
		return VB_ENEEDMORE;
	/* The header is read even when the field lies beyond the maximum
	 * (offset + field bytes are held: configuration, like the maximum),
	 * so that an oversized frame's size is always known and it can be
	 * skipped, and the answer does not depend on how much had arrived. */
	if (sp->offset > len)
		goto short_frame;
	size_t have = len - (size_t)sp->offset < sizeof h ? len - (size_t)sp->offset : sizeof h;
	vb_sbuf_peek(b, (size_t)sp->offset, h, have);
	if (sp->text) {
		rc = read_text(sp, h, have, &value, &used);
		if (rc == VB_ENEEDMORE)
			goto short_frame;
		if (rc)
			return rc;
	} else if (!sp->size) {
		rc = vb_read_varint(h, have, 0, &value, &used);
		if (rc == VB_ENEEDMORE)
			goto short_frame;
		if (rc)
			return rc;
	} else {
		if (have < sp->size + spec_extra(sp))
			goto short_frame;
		used = sp->size;
		value = sp->big_endian ? be(h, sp->size) : le(h, sp->size);
		if (sp->tfrecord) {
			if (vb_le_get32(h + 8) != tf_mask(vb_crc32c(0, h, 8)))
				return vb_err_set(VB_EINVAL, "the CRC-32C of the length field does not match (a damaged header)");
			used += 4;
		}
	}
	uint64_t hdr = sp->offset + used, frame;
	/* |adjust| in unsigned arithmetic: -INT64_MIN does not fit int64_t */
	uint64_t mag = sp->adjust < 0 ? 0 - (uint64_t)sp->adjust : (uint64_t)sp->adjust;
	/* a netstring's ',', TFRecord's CRC: after the record, in the frame */
	uint64_t tail = spec_tail(sp);
	if (value < sp->small) {
		/* a special packet: the field alone, no data */
		mag = tail = 0;
		value = 0;
	}
	if (sp->adjust < 0 && value < mag)
		return bad_frame("length %llu adjusted by -%llu is negative",
				 (unsigned long long)value, (unsigned long long)mag);
	uint64_t adj = sp->adjust < 0 ? value - mag : value + mag;
	if (sp->adjust > 0 && adj < value)
		return bad_frame("length %llu adjusted by %llu overflows 64 bits",
				 (unsigned long long)value, (unsigned long long)mag);
	if (__builtin_add_overflow(adj, hdr + tail, &frame))
		return bad_frame("length %llu plus its %llu header bytes overflows 64 bits",
				 (unsigned long long)adj, (unsigned long long)hdr);
	uint64_t strip = sp->strip_set ? sp->strip : hdr;
	if (strip > frame - tail)
		return bad_frame("cannot strip %llu bytes from a %llu-byte frame",
				 (unsigned long long)strip, (unsigned long long)frame);
	fr->skip = (size_t)strip;
	fr->len = (size_t)(frame - strip - tail);
	fr->delim = (size_t)tail;
	if (len < frame && eof) {
		/* end of input inside a frame whose header is complete: the
		 * rest, past what would be stripped, is a truncated record (too
		 * large if the frame its header gives is) */
		fr->skip = strip < len ? (size_t)strip : len;
		fr->len = len - fr->skip;
		fr->total = len;
		fr->unterminated = 1;
	}
	if (frame > f->max) {
		if (!fr->unterminated)
			fr->total = frame > SIZE_MAX ? SIZE_MAX : (size_t)frame;
		return vb_err_set(VB_EFRAME, "frame of %llu bytes is larger than the maximum (%llu)",
				  (unsigned long long)frame, (unsigned long long)f->max);
	}
	if (fr->unterminated) {
		fr->delim = 0;
		return VB_OK;
	}
	if (len < frame)
		return VB_ENEEDMORE;
	fr->total = (size_t)frame;
	if (sp->tfrecord) {
		/* the record's checksum: over its bytes as framed (strip
		 * aside: the data after the 12-byte header) */
		unsigned char t[4];
		uint32_t c = 0;
		size_t at = (size_t)hdr, left = (size_t)(frame - hdr - tail), run;
		while (left) {
			const unsigned char *d = vb_sbuf_contig(b, at, &run);
			if (run > left)
				run = left;
			c = vb_crc32c(c, d, run);
			at += run;
			left -= run;
		}
		vb_sbuf_peek(b, (size_t)frame - 4, t, 4);
		if (vb_le_get32(t) != tf_mask(c))
			return vb_err_set(VB_ECORRUPT, "the CRC-32C of the record does not match");
	} else if (tail) {
		unsigned char t;
		vb_sbuf_peek(b, (size_t)frame - 1, &t, 1);
		if (t != (unsigned char)sp->trailer)
			return vb_err_set(VB_EINVAL, "byte 0x%02x after the %llu-byte record where '%c' belongs",
					  t, (unsigned long long)fr->len, sp->trailer);
	}
	return VB_OK;

short_frame:
	if (!eof)
		return VB_ENEEDMORE;
	/* end of input inside the header: the rest is a truncated record */
	memset(fr, 0, sizeof *fr);
	fr->len = len;
	fr->total = len;
	fr->unterminated = 1;
	if (len > f->max)
		return vb_err_set(VB_EFRAME, "a truncated frame of %llu bytes is larger than the maximum (%llu)",
				  (unsigned long long)len, (unsigned long long)f->max);
	return VB_OK;
}

static enum vb_err next_fixed(struct vb_framer *f, const struct vb_sbuf *b, int eof,
			      struct vb_frame *fr)
{
	size_t len = vb_sbuf_len(b);

	memset(fr, 0, sizeof *fr);
	if (len >= f->fixed) {
		fr->len = fr->total = (size_t)f->fixed;
	} else if (eof && len) {
		/* a short last record */
		fr->len = fr->total = len;
		fr->unterminated = 1;
	} else if (!eof && len > f->max) {
		/* larger than the maximum before it is even complete; it ends
		 * after `fixed` bytes or at the end of input */
		fr->len = fr->total = f->fixed > SIZE_MAX ? SIZE_MAX : (size_t)f->fixed;
	} else {
		return VB_ENEEDMORE;
	}
	if (fr->len > f->max)
		return vb_err_set(VB_EFRAME, "a record of %llu bytes is larger than the maximum (%llu)",
				  (unsigned long long)fr->len, (unsigned long long)f->max);
	return VB_OK;
}

enum vb_err vb_framer_next_many(struct vb_framer *f, const struct vb_sbuf *b, int eof,
				struct vb_frame *fr, size_t max, size_t *n)
{
	size_t len = vb_sbuf_len(b), run, k = 0;
	const unsigned char *p = vb_sbuf_contig(b, 0, &run);
	enum vb_err rc = VB_ENEEDMORE;

	*n = 0;
	if (f->kind != K_DELIM || run != len || !max) {
		rc = vb_framer_next(f, b, eof, fr);
		if (!rc)
			*n = 1;
		return rc;
	}
	/* delimiters over a contiguous buffer: many records per call */
	uint64_t origin = f->base, end = origin + len;
	struct view v = {p, b, origin, end};
	while (k < max) {
		size_t pos, dlen;
		/* Fast path: when only one first byte can still occur before the
		 * end of the buffer and its only delimiter is that byte itself
		 * (lines without \r, NUL lists, -d X), records are just the gaps
		 * between memchr hits. */
		int live = -1, nlive = 0;
		for (int i = 0; i < f->nfirst; i++) {
			unsigned char c = f->firsts[i];
			if ((f->next_at[c] != NONE && f->next_at[c] < end) || f->searched_to[c] < end) {
				live = c;
				nlive++;
			}
		}
		if (nlive == 1 && f->lone[live] && len) {
			const unsigned char *q = p + (f->scan - origin), *e = p + len, *hit = NULL;
			while (k < max && (hit = memchr(q, live, (size_t)(e - q)))) {
				uint64_t at = origin + (uint64_t)(hit - p);
				if (at - f->base > f->max)
					break;
				fr[k] = (struct vb_frame){0, (size_t)(at - f->base), 1,
							  (size_t)(at - f->base) + 1, 0};
				f->base = at + 1;
				q = hit + 1;
				k++;
			}
			f->scan = origin + (uint64_t)(q - p);
			f->next_at[live] = NONE;
			f->searched_to[live] = hit ? f->scan : end;
			if (k == max)
				break;
			if (hit) /* over the maximum: the general scan reports it */
				f->next_at[live] = origin + (uint64_t)(hit - p);
		}
		rc = scan_view(f, &v, eof, f->max, &pos, &dlen);
		if (rc == VB_OK) {
			fr[k].skip = 0;
			fr[k].len = pos;
			fr[k].delim = dlen;
			fr[k].total = pos + dlen;
			fr[k].unterminated = 0;
		} else if (rc == VB_ENEEDMORE && eof && end > f->base) {
			size_t rest = (size_t)(end - f->base);
			if (rest > f->max) {
				rc = VB_EFRAME;
				break;
			}
			fr[k] = (struct vb_frame){0, rest, 0, rest, 1};
		} else {
			break;
		}
		f->base += fr[k].total;
		f->scan = f->base;
		k++;
	}
	*n = k;
	if (k)
		return VB_OK;
	if (rc == VB_EFRAME)
		return delim_over(f, b, eof, fr);
	memset(fr, 0, sizeof *fr);
	return rc;
}

/* How many bytes of p[0, n) equal c.  Matches are summed per byte lane
 * (a compare gives 0 or -1, subtracted) and the lanes added up with
 * psadbw before they can overflow, so no popcount is needed (without
 * -mpopcnt __builtin_popcount is a libgcc call). */
static size_t count_byte(const unsigned char *p, size_t n, unsigned char c)
{
	size_t cnt = 0, i = 0;
#ifdef __SSE2__
	const __m128i needle = _mm_set1_epi8((char)c), zero = _mm_setzero_si128();
	while (n - i >= 64) {
		__m128i acc = zero;
		/* at most 255 rounds: each lane counts up to 4 per round */
		size_t rounds = (n - i) / 64;
		if (rounds > 63)
			rounds = 63;
		for (size_t r = 0; r < rounds; r++, i += 64) {
			__m128i a = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + i)), needle);
			__m128i b = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + i + 16)), needle);
			__m128i d = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + i + 32)), needle);
			__m128i e = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + i + 48)), needle);
			acc = _mm_sub_epi8(acc, _mm_add_epi8(_mm_add_epi8(a, b), _mm_add_epi8(d, e)));
		}
		__m128i s = _mm_sad_epu8(acc, zero);
		cnt += (size_t)_mm_cvtsi128_si32(s) + (size_t)_mm_cvtsi128_si32(_mm_srli_si128(s, 8));
	}
#endif
	for (; i < n; i++)
		cnt += p[i] == c;
	return cnt;
}

void vb_bytes_replace(void *buf, size_t n, unsigned char from, unsigned char to)
{
	unsigned char *p = buf;
	size_t i = 0;
#ifdef __SSE2__
	const __m128i f = _mm_set1_epi8((char)from), t = _mm_set1_epi8((char)to);
	for (; n - i >= 16; i += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(p + i));
		__m128i m = _mm_cmpeq_epi8(x, f);
		_mm_storeu_si128((__m128i *)(p + i),
				 _mm_or_si128(_mm_andnot_si128(m, x), _mm_and_si128(m, t)));
	}
#endif
	for (; i < n; i++)
		if (p[i] == from)
			p[i] = to;
}

int vb_framer_lone_run(struct vb_framer *f, const struct vb_sbuf *b, uint64_t limit,
		       unsigned char *delim, uint64_t *records, size_t *consumed)
{
	size_t len = vb_sbuf_len(b), run;
	const unsigned char *p = vb_sbuf_contig(b, 0, &run);

	if (f->kind != K_DELIM || run != len || !len || len > f->max || !limit)
		return 0;
	/* no record in the buffer can exceed the maximum, the buffer being
	 * no larger than it */
	uint64_t origin = f->base, end = origin + len;
	struct view v = {p, b, origin, end};
	if (next_candidate(f, &v, f->scan) == NONE)
		return 0;
	/* which first bytes occur in the rest of the buffer */
	int live = -1, nlive = 0;
	for (int i = 0; i < f->nfirst; i++) {
		unsigned char c = f->firsts[i];
		if (f->next_at[c] != NONE) {
			live = c;
			nlive++;
		}
	}
	if (nlive != 1 || !f->lone[live])
		return 0;
	size_t from = (size_t)(f->scan - origin), stop;
	const unsigned char *last = memrchr(p + from, live, len - from);
	uint64_t cnt = 0;
	if (limit >= len - from) {
		/* each record has its delimiter byte: all of them */
		stop = (size_t)(last - p) + 1;
		cnt = count_byte(p + from, stop - from, (unsigned char)live);
	} else {
		/* up to `limit` records: count whole blocks while they stay
		 * below it, then record by record */
		size_t i = from, whole = (size_t)(last - p) + 1;
		while (whole - i > 4096) {
			size_t k = count_byte(p + i, 4096, (unsigned char)live);
			if (cnt + k >= limit)
				break;
			cnt += k;
			i += 4096;
		}
		while (cnt < limit && i < whole) {
			/* found: the byte at whole - 1 is a delimiter */
			const unsigned char *q = memchr(p + i, live, whole - i);
			i = (size_t)(q - p) + 1;
			cnt++;
		}
		stop = i;
	}
	*delim = (unsigned char)live;
	*records = cnt;
	*consumed = stop;
	f->base = origin + stop;
	f->scan = f->base;
	f->next_at[live] = NONE;
	f->searched_to[live] = f->base;
	return 1;
}

enum vb_err vb_framer_count(struct vb_framer *f, const struct vb_sbuf *b, int eof,
			    uint64_t *records, size_t *consumed)
{
	unsigned char c;

	*records = 0;
	*consumed = 0;
	if (vb_framer_lone_run(f, b, UINT64_MAX, &c, records, consumed))
		return VB_OK;
	/* the general way: frame by frame */
	struct vb_frame fr[64];
	size_t n;
	enum vb_err rc = vb_framer_next_many(f, b, eof, fr, 64, &n);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++)
		*consumed += fr[i].total;
	*records = n;
	return VB_OK;
}

enum vb_err vb_framer_next(struct vb_framer *f, const struct vb_sbuf *b, int eof,
			   struct vb_frame *fr)
{
	switch (f->kind) {
	case K_DELIM:
		return next_delim(f, b, eof, fr);
	case K_LENGTH:
		return next_length(f, b, eof, fr);
	default:
		return next_fixed(f, b, eof, fr);
	}
}
