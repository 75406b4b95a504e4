/*
 * edits: a batch of edits parsed, checked and applied from the highest
 * offset down (see edits.h for the format, the design and the contracts).
 *
 * The array grows by doubling, clamped to the caller's maximum; each
 * edit's DATA is its own allocation, their sum kept under max_data.
 */
#include "edits.h"
#include "grow.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FIRST 256
#define READ_CHUNK ((size_t)64 << 10)
#define TOKEN_MAX 256

struct vb_edits {
	struct vb_edit *v;
	size_t n, cap, max;
	uint64_t data, max_data;
};

enum vb_err vb_edits_create(size_t max_edits, uint64_t max_data, struct vb_edits **out)
{
	struct vb_edits *e = calloc(1, sizeof *e);

	if (!e)
		return vb_err_set(VB_ENOMEM, "out of memory");
	e->max = max_edits;
	e->max_data = max_data;
	*out = e;
	return VB_OK;
}

void vb_edits_free(struct vb_edits *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n; i++)
		free((void *)(uintptr_t)e->v[i].data);
	free(e->v);
	free(e);
}

size_t vb_edits_count(const struct vb_edits *e)
{
	return e->n;
}

struct vb_edit *vb_edits_get(struct vb_edits *e, size_t i)
{
	return &e->v[i];
}

/* Room for one more edit: VB_ELIMIT at the maximum. */
static enum vb_err grow(struct vb_edits *e)
{
	if (e->n >= e->max)
		return vb_err_set(VB_ELIMIT, "too many edits (the limit is %zu)", e->max);
	return vb_grow_max(&e->v, &e->cap, e->n, sizeof *e->v, FIRST, e->max);
}

static int is_sep(char c)
{
	return c == ' ' || c == '\t';
}

/* The next field of s[*i, n) (spaces and tabs skipped before it), ended
 * by a space, tab or CR, copied NUL-terminated into tok. */
static enum vb_err token(const char *s, size_t n, size_t *i, const char *what, char *tok)
{
	size_t k = 0;

	while (*i < n && is_sep(s[*i]))
		(*i)++;
	if (*i == n || s[*i] == '\r')
		return vb_err_set(VB_EINVAL, "missing %s (a line is OFFSET LENGTH [DATA])", what);
	while (*i < n && !is_sep(s[*i]) && s[*i] != '\r') {
		if (!s[*i])
			return vb_err_set(VB_EINVAL, "a NUL byte in the %s", what);
		if (k == TOKEN_MAX - 1)
			return vb_err_set(VB_EINVAL, "%s is too long", what);
		tok[k++] = s[(*i)++];
	}
	tok[k] = 0;
	return VB_OK;
}

static int octal(char c)
{
	return c >= '0' && c <= '7';
}

/* Decode DATA at s[*i, n) into `out` (room for n - *i bytes): *m bytes. */
static enum vb_err decode(const char *s, size_t n, size_t *i, unsigned char *out, size_t *m)
{
	size_t k = 0, start = *i;

	if (s[*i] == '0' && *i + 1 < n && (s[*i + 1] == 'x' || s[*i + 1] == 'X')) {
		*i += 2;
		while (*i < n && vb_hex_digit((unsigned char)s[*i]) >= 0) {
			if (*i + 1 == n || vb_hex_digit((unsigned char)s[*i + 1]) < 0)
				return vb_err_set(VB_EINVAL, "DATA 0x...: an odd number of hex digits");
			out[k++] = (unsigned char)(vb_hex_digit((unsigned char)s[*i]) << 4 |
						   vb_hex_digit((unsigned char)s[*i + 1]));
			*i += 2;
		}
		if (*i < n && !is_sep(s[*i]) && s[*i] != '\r')
			return vb_err_set(VB_EINVAL, "DATA 0x...: '%c' is not a hex digit",
					  s[*i] >= 0x20 && s[*i] < 0x7f ? s[*i] : '?');
		*m = k;
		return VB_OK;
	}
	if (s[*i] != '"')
		return vb_err_set(VB_EINVAL, "DATA must be 0x followed by hex digits or a \"quoted\" string");
	for ((*i)++;; (*i)++) {
		unsigned char c;
		if (*i == n)
			return vb_err_set(VB_EINVAL, "DATA: the string that starts at column %zu has no closing '\"'",
					  start + 1);
		c = (unsigned char)s[*i];
		if (c == '"')
			break;
		if (!c)
			return vb_err_set(VB_EINVAL, "DATA: a NUL byte (write it \\0)");
		if (c != '\\') {
			out[k++] = c;
			continue;
		}
		if (++*i == n)
			return vb_err_set(VB_EINVAL, "DATA: '\\' at the end of the line");
		c = (unsigned char)s[*i];
		switch (c) {
		case 'a': out[k++] = '\a'; break;
		case 'b': out[k++] = '\b'; break;
		case 't': out[k++] = '\t'; break;
		case 'n': out[k++] = '\n'; break;
		case 'v': out[k++] = '\v'; break;
		case 'f': out[k++] = '\f'; break;
		case 'r': out[k++] = '\r'; break;
		case '\\': case '"': case '\'': out[k++] = c; break;
		case 'x':
			if (*i + 2 >= n || vb_hex_digit((unsigned char)s[*i + 1]) < 0 ||
			    vb_hex_digit((unsigned char)s[*i + 2]) < 0)
				return vb_err_set(VB_EINVAL, "DATA: \\x needs two hex digits");
			out[k++] = (unsigned char)(vb_hex_digit((unsigned char)s[*i + 1]) << 4 |
						   vb_hex_digit((unsigned char)s[*i + 2]));
			*i += 2;
			break;
		default:
			if (octal((char)c)) {
				unsigned v = 0;
				int d = 0;
				while (d < 3 && *i < n && octal(s[*i])) {
					v = v * 8 + (unsigned)(s[*i] - '0');
					(*i)++;
					d++;
				}
				(*i)--;
				if (v > 0377)
					return vb_err_set(VB_EINVAL, "DATA: octal escape above \\377");
				out[k++] = (unsigned char)v;
				break;
			}
			if (c >= 0x20 && c < 0x7f)
				return vb_err_set(VB_EINVAL, "DATA: unknown escape '\\%c'", c);
			return vb_err_set(VB_EINVAL, "DATA: unknown escape (\\ and byte 0x%02x)", c);
		}
	}
	(*i)++;
	*m = k;
	return VB_OK;
}

/* vb_edits_parse_line, with the code: *added says whether an edit was. */
static enum vb_err parse(struct vb_edits *e, const char *line, size_t len, uint64_t tag,
			 int *added)
{
	char tok[TOKEN_MAX];
	struct vb_edit ed;
	size_t i = 0, m = 0;
	unsigned char *data = NULL;
	enum vb_err rc;

	*added = 0;
	if (len && line[len - 1] == '\n')
		len--;
	while (i < len && is_sep(line[i]))
		i++;
	if (i == len || line[i] == '#' || line[i] == '\r')
		return VB_OK;
	memset(&ed, 0, sizeof ed);
	if (memchr(line, '\n', len))
		return vb_err_set(VB_EINVAL, "a newline inside the line");
	if ((rc = token(line, len, &i, "OFFSET", tok)) || (rc = vb_parse_pos(tok, &ed.pos)) ||
	    (rc = token(line, len, &i, "LENGTH", tok)) || (rc = vb_parse_size(tok, "length", &ed.len)))
		return rc;
	while (i < len && is_sep(line[i]))
		i++;
	if (i < len && line[i] != '\r') {
		if (!(data = malloc(len - i)))
			return vb_err_set(VB_ENOMEM, "out of memory");
		if ((rc = decode(line, len, &i, data, &m)))
			goto fail;
		ed.has_data = 1;
	}
	while (i < len && is_sep(line[i]))
		i++;
	if (i < len && line[i] == '\r')
		i++;
	if (i < len) {
		rc = vb_err_set(VB_EINVAL, "text after DATA (a line is OFFSET LENGTH [DATA])");
		goto fail;
	}
	if (m > e->max_data - e->data) {
		rc = vb_err_set(VB_ELIMIT, "the edits' DATA passes %llu bytes (VB_EDITS_MAX)",
				(unsigned long long)e->max_data);
		goto fail;
	}
	if ((rc = grow(e)))
		goto fail;
	if (data && m < len) {
		/* keep only what was decoded */
		unsigned char *d = realloc(data, m ? m : 1);
		if (d)
			data = d;
	}
	ed.data = data;
	ed.ndata = m;
	ed.tag = tag;
	ed.order = e->n;
	e->v[e->n++] = ed;
	e->data += m;
	*added = 1;
	return VB_OK;
fail:
	free(data);
	return rc;
}

int vb_edits_parse_line(struct vb_edits *e, const char *line, size_t len, uint64_t tag)
{
	int added;

	if (parse(e, line, len, tag, &added))
		return -1;
	return added;
}


enum vb_err vb_edits_read(struct vb_edits *e, int fd, uint64_t *bad)
{
	uint64_t line_max64;
	/* buf[start, have) is read and not parsed; no newline in
	 * buf[start, scanned) */
	size_t line_max, cap = 0, start = 0, scanned = 0, have = 0;
	char *buf = NULL;
	uint64_t lineno = 0;
	enum vb_err rc = VB_OK;
	int eof = 0;

	*bad = 0;
	if (__builtin_mul_overflow(e->max_data, 4, &line_max64) ||
	    __builtin_add_overflow(line_max64, VB_EDITS_LINE_SLACK, &line_max64) ||
	    line_max64 > SIZE_MAX / 2 - READ_CHUNK)
		line_max64 = SIZE_MAX / 2 - READ_CHUNK;
	line_max = (size_t)line_max64;
	while (!eof || start < have) {
		char *nl = scanned < have ? memchr(buf + scanned, '\n', have - scanned) : NULL;
		if (nl || (eof && start < have)) {
			size_t l = nl ? (size_t)(nl - buf) + 1 - start : have - start;
			int added;
			lineno++;
			if (l > line_max + 1) {
				*bad = lineno;
				rc = vb_err_set(VB_ELIMIT, "the line is longer than %zu bytes (VB_EDITS_MAX)",
						line_max);
				break;
			}
			if ((rc = parse(e, buf + start, l, lineno, &added))) {
				*bad = lineno;
				break;
			}
			start += l;
			scanned = start;
			continue;
		}
		scanned = have;
		if (have - start > line_max) {
			*bad = lineno + 1;
			rc = vb_err_set(VB_ELIMIT, "the line is longer than %zu bytes (VB_EDITS_MAX)",
					line_max);
			break;
		}
		/* the partial line to the front, then room for a read */
		if (start) {
			memmove(buf, buf + start, have - start);
			have -= start;
			scanned -= start;
			start = 0;
		}
		if (cap - have < READ_CHUNK) {
			size_t ncap = have + READ_CHUNK;
			char *nb;
			if (ncap < cap * 2 && cap * 2 <= line_max + READ_CHUNK)
				ncap = cap * 2;
			if (!(nb = realloc(buf, ncap))) {
				rc = vb_err_set(VB_ENOMEM, "out of memory");
				break;
			}
			buf = nb;
			cap = ncap;
		}
		ssize_t got = read(fd, buf + have, READ_CHUNK);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = vb_err_sys("read");
			break;
		}
		if (!got)
			eof = 1;
		have += (size_t)got;
	}
	free(buf);
	return rc;
}

static int cmp_at(const void *x, const void *y)
{
	const struct vb_edit *a = x, *b = y;

	if (a->at != b->at)
		return a->at < b->at ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

enum vb_err vb_edits_check(struct vb_edits *e, uint64_t *bad)
{
	uint64_t end, s = 0, t = 0, who = 0;
	int any = 0;

	for (size_t i = 0; i < e->n; i++)
		if (__builtin_add_overflow(e->v[i].at, e->v[i].bytes, &end)) {
			*bad = e->v[i].tag;
			return vb_err_set(VB_ERANGE, "edit %llu+%llu passes 2^64-1",
					  (unsigned long long)e->v[i].at,
					  (unsigned long long)e->v[i].bytes);
		}
	if (e->n > 1)
		qsort(e->v, e->n, sizeof *e->v, cmp_at);
	for (size_t i = 0; i < e->n; i++) {
		const struct vb_edit *d = &e->v[i];
		int clash = any && (d->bytes ? d->at < t : d->at > s && d->at < t);
		if (clash) {
			uint64_t a = d->tag, b = who;
			*bad = a > b ? a : b;
			return vb_err_set(VB_EINVAL, "the edit overlaps the edit of line %llu",
					  (unsigned long long)(a > b ? b : a));
		}
		if (d->bytes) {
			any = 1;
			s = d->at;
			t = d->at + d->bytes;
			who = d->tag;
		}
	}
	return VB_OK;
}

/* One edit through fn, unless it changes nothing. */
static enum vb_err one(const struct vb_edit *d, uint64_t at,
		       enum vb_err (*fn)(void *, uint64_t, uint64_t, const unsigned char *, size_t),
		       void *arg)
{
	if (!d->bytes && !d->ndata)
		return VB_OK;
	return fn(arg, at, d->bytes, d->data, d->ndata);
}

enum vb_err vb_edits_apply(const struct vb_edits *e,
			   enum vb_err (*fn)(void *arg, uint64_t at, uint64_t bytes,
					     const unsigned char *data, size_t ndata),
			   void *arg)
{
	enum vb_err rc;
	size_t hi = e->n;

	/* groups of the same `at`, from the last: the removing edit (at
	 * most one) first, then the inserts after it in file order, placed
	 * after its DATA, then those before it, each group's in reverse */
	while (hi > 0) {
		size_t lo = hi - 1, r = SIZE_MAX;
		uint64_t at = e->v[lo].at;
		while (lo > 0 && e->v[lo - 1].at == at)
			lo--;
		for (size_t i = lo; i < hi; i++)
			if (e->v[i].bytes)
				r = i;
		if (r != SIZE_MAX) {
			uint64_t after;
			if ((rc = one(&e->v[r], at, fn, arg)))
				return rc;
			if (__builtin_add_overflow(at, (uint64_t)e->v[r].ndata, &after))
				return vb_err_set(VB_ERANGE, "edit at %llu passes 2^64-1",
						  (unsigned long long)at);
			for (size_t i = hi; i-- > r + 1;)
				if ((rc = one(&e->v[i], after, fn, arg)))
					return rc;
			hi = r;
		}
		for (size_t i = hi; i-- > lo;)
			if ((rc = one(&e->v[i], at, fn, arg)))
				return rc;
		hi = lo;
	}
	return VB_OK;
}

size_t vb_edits_escape(const unsigned char *src, size_t n, char *dst)
{
	static const char hex[] = "0123456789abcdef";
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = src[i];
		switch (c) {
		case '\t': dst[k++] = '\\'; dst[k++] = 't'; break;
		case '\n': dst[k++] = '\\'; dst[k++] = 'n'; break;
		case '\r': dst[k++] = '\\'; dst[k++] = 'r'; break;
		case '"': dst[k++] = '\\'; dst[k++] = '"'; break;
		case '\\': dst[k++] = '\\'; dst[k++] = '\\'; break;
		default:
			if (c >= 0x20 && c < 0x7f) {
				dst[k++] = (char)c;
			} else {
				dst[k++] = '\\';
				dst[k++] = 'x';
				dst[k++] = hex[c >> 4];
				dst[k++] = hex[c & 15];
			}
		}
	}
	return k;
}
