/*
 * num: the offset grammar: positions and lengths parsed, resolved against
 * a content length and formatted back; and hex strings (contract in
 * num.h).
 *
 * A number is parsed whole or not at all: digits, then at most one suffix
 * matched as a complete word (a refused one is named, with the accepted
 * spellings when it is ambiguous), with every multiplication and addition
 * checked, so a value of 2^64 or more is an error naming the text, never
 * a wrapped number.  No state and no allocation except vb_parse_hex's
 * result: thread-safe.
 */
#include "num.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct suffix {
	const char *text;
	uint64_t mult;
};

/* The accepted spellings, matched against the whole rest of the text
 * (coreutils' convention: K k KiB are 1024, kB KB 1000). */
static const struct suffix suffixes[] = {
	{"KiB", 1ULL << 10}, {"MiB", 1ULL << 20}, {"GiB", 1ULL << 30},
	{"TiB", 1ULL << 40},
	{"kB", 1000ULL}, {"KB", 1000ULL}, {"MB", 1000000ULL}, {"GB", 1000000000ULL},
	{"TB", 1000000000000ULL},
	{"K", 1ULL << 10}, {"k", 1ULL << 10}, {"M", 1ULL << 20},
	{"G", 1ULL << 30}, {"T", 1ULL << 40},
};

/* What a refused suffix's message lists: every accepted spelling. */
#define SUFFIX_LIST "use K k KiB M MiB G GiB T TiB for powers of 1024, " \
	"kB KB MB GB TB for powers of 1000"

static int ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* A letter suffix that differs from an accepted one only in case, or a
 * lone b or B, is ambiguous rather than unknown: "kb" and "Kb" read as
 * kilobits, "b" and "B" mean 512-byte blocks or 1024 to some tools and
 * one byte to others, "m" reads as milli, and "KIB" or "mib" would make us
 * guess at the case that decides 1000 against 1024. */
static int ambiguous_suffix(const char *p)
{
	static const char *const forms[] = {"b", "k", "kb", "kib", "m", "mb", "mib",
					    "g", "gb", "gib", "t", "tb", "tib"};

	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		const char *a = p, *f = forms[i];
		while (*a && *f && ascii_lower(*a) == *f)
			a++, f++;
		if (!*a && !*f)
			return 1;
	}
	return 0;
}

int vb_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parse N[S] covering all of `s`.  `whole` and `what` are for messages. */
static enum vb_err parse_number(const char *s, const char *whole,
				const char *what, uint64_t *out)
{
	uint64_t v = 0;
	unsigned base = 10;
	const char *p = s;
	int digits = 0;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	for (;; p++) {
		int d = base == 16 ? vb_hex_digit(*p) : (*p >= '0' && *p <= '9' ? *p - '0' : -1);
		if (d < 0)
			break;
		if (__builtin_mul_overflow(v, (uint64_t)base, &v) ||
		    __builtin_add_overflow(v, (uint64_t)d, &v))
			return vb_err_set(VB_EINVAL, "%s '%s' is too large (the limit is 2^64-1)",
					  what, whole);
		digits++;
	}
	if (!digits)
		return vb_err_set(VB_EINVAL, "invalid %s '%s'", what, whole);
	if (*p) {
		size_t i;
		for (i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++)
			if (!strcmp(p, suffixes[i].text))
				break;
		if (i == sizeof suffixes / sizeof suffixes[0] && ambiguous_suffix(p))
			return vb_err_set(VB_EINVAL, "invalid %s '%s' (ambiguous suffix '%s'; "
					  SUFFIX_LIST ")", what, whole, p);
		if (i == sizeof suffixes / sizeof suffixes[0])
			return vb_err_set(VB_EINVAL, "invalid %s '%s' (unknown suffix '%s')",
					  what, whole, p);
		if (__builtin_mul_overflow(v, suffixes[i].mult, &v))
			return vb_err_set(VB_EINVAL, "%s '%s' is too large (the limit is 2^64-1)",
					  what, whole);
	}
	*out = v;
	return VB_OK;
}

enum vb_err vb_parse_size(const char *s, const char *what, uint64_t *out)
{
	if (!s || !*s)
		return vb_err_set(VB_EINVAL, "empty %s", what);
	if (*s == '-')
		return vb_err_set(VB_EINVAL, "invalid %s '%s' (a %s cannot be negative)",
				  what, s, what);
	if (*s == '+')
		return vb_err_set(VB_EINVAL, "invalid %s '%s'", what, s);
	return parse_number(s, s, what, out);
}

/* Parse the decimal LINE at `p` (at least 1), up to the first byte that
 * is not a digit (*end).  `whole` and `what` are for messages. */
static enum vb_err parse_line(const char *p, const char *whole, const char *what,
			      uint64_t *out, const char **end)
{
	uint64_t v = 0;
	const char *q = p;

	for (; *q >= '0' && *q <= '9'; q++)
		if (__builtin_mul_overflow(v, (uint64_t)10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(*q - '0'), &v))
			return vb_err_set(VB_EINVAL, "%s '%s' is too large (a line number is at most 2^64-1)",
					  what, whole);
	if (q == p)
		return vb_err_set(VB_EINVAL, "invalid %s '%s' (a line number is decimal digits)",
				  what, whole);
	if (!v)
		return vb_err_set(VB_EINVAL, "invalid %s '%s' (lines count from 1)", what, whole);
	*out = v;
	*end = q;
	return VB_OK;
}

enum vb_err vb_parse_line_range(const char *s, uint64_t *first, uint64_t *last)
{
	const char *p = s, *end = s;
	enum vb_err rc;

	if (!s || !*s)
		return vb_err_set(VB_EINVAL, "empty line range");
	if (!strcmp(s, "-"))
		return vb_err_set(VB_EINVAL, "invalid line range '-' (expected A-B, A-, -B or A)");
	*first = 1;
	if (*p != '-') {
		if ((rc = parse_line(p, s, "line range", first, &end)))
			return rc;
		p = end;
		if (!*p) {
			*last = *first;
			return VB_OK;
		}
		if (*p != '-')
			return vb_err_set(VB_EINVAL, "invalid line range '%s' (expected A-B, A-, -B or A)",
					  s);
	}
	p++;
	if (!*p) {
		*last = UINT64_MAX;
		return VB_OK;
	}
	if ((rc = parse_line(p, s, "line range", last, &end)))
		return rc;
	if (*end)
		return vb_err_set(VB_EINVAL, "invalid line range '%s' (expected A-B, A-, -B or A)", s);
	return VB_OK;
}

static int anchor_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.';
}

enum vb_err vb_parse_pos(const char *s, struct vb_pos *out)
{
	if (!s || !*s)
		return vb_err_set(VB_EINVAL, "empty offset");
	out->anchor[0] = 0;
	out->before = 0;
	out->line = 0;
	if (*s == 'L') {
		const char *p = s;
		enum vb_err rc = parse_line(s + 1, s, "offset", &out->line, &p);
		out->from_end = 0;
		out->n = 0;
		if (rc)
			return rc;
		if (!*p)
			return VB_OK;
		if (*p != '+' && *p != '-')
			return vb_err_set(VB_EINVAL, "invalid offset '%s' (a line address is L<LINE>, L<LINE>+N or L<LINE>-N)",
					  s);
		out->before = *p == '-';
		return parse_number(p + 1, s, "offset", &out->n);
	}
	if (*s == '@') {
		size_t n = 0;
		const char *p = s + 1;
		while (anchor_char(p[n]))
			n++;
		if (!n || n >= sizeof out->anchor)
			return vb_err_set(VB_EINVAL, "invalid offset '%s' (an anchor is @NAME, @NAME+N or @NAME-N; NAME is 1 to 63 of A-Z a-z 0-9 _ .)",
					  s);
		memcpy(out->anchor, p, n);
		out->anchor[n] = 0;
		out->from_end = 0;
		out->n = 0;
		p += n;
		if (!*p)
			return VB_OK;
		if (*p != '+' && *p != '-')
			return vb_err_set(VB_EINVAL, "invalid offset '%s' (an anchor is @NAME, @NAME+N or @NAME-N; NAME is 1 to 63 of A-Z a-z 0-9 _ .)",
					  s);
		out->before = *p == '-';
		return parse_number(p + 1, s, "offset", &out->n);
	}
	if (!strcmp(s, "end")) {
		out->n = 0;
		out->from_end = 1;
		return VB_OK;
	}
	if (!strncmp(s, "end-", 4)) {
		out->from_end = 1;
		return parse_number(s + 4, s, "offset", &out->n);
	}
	if (*s == '-') {
		out->from_end = 1;
		return parse_number(s + 1, s, "offset", &out->n);
	}
	out->from_end = 0;
	return parse_number(s, s, "offset", &out->n);
}

enum vb_err vb_parse_hex(const char *s, unsigned char **out, size_t *n)
{
	unsigned char *b = malloc(strlen(s) / 2 + 1);
	size_t k = 0;

	if (!b)
		return vb_err_set(VB_ENOMEM, "out of memory");
	for (const char *p = s; *p;) {
		if (*p == ' ' || *p == '\t' || *p == ':' || *p == '\n') {
			p++;
			continue;
		}
		int hi = vb_hex_digit(p[0]), lo = hi < 0 ? -1 : vb_hex_digit(p[1]);
		if (hi < 0 || lo < 0) {
			free(b);
			return vb_err_set(VB_EINVAL, "'%s': expected pairs of hex digits at '%.8s'",
					  s, p);
		}
		b[k++] = (unsigned char)(hi << 4 | lo);
		p += 2;
	}
	*out = b;
	*n = k;
	return VB_OK;
}

void vb_pos_format(const struct vb_pos *p, char *buf, unsigned size)
{
	if (p->line && p->n)
		snprintf(buf, size, "L%llu%c%llu", (unsigned long long)p->line,
			 p->before ? '-' : '+', (unsigned long long)p->n);
	else if (p->line)
		snprintf(buf, size, "L%llu", (unsigned long long)p->line);
	else if (p->anchor[0] && p->n)
		snprintf(buf, size, "@%s%c%llu", p->anchor, p->before ? '-' : '+',
			 (unsigned long long)p->n);
	else if (p->anchor[0])
		snprintf(buf, size, "@%s", p->anchor);
	else if (p->from_end && p->n == 0)
		snprintf(buf, size, "end");
	else if (p->from_end)
		snprintf(buf, size, "end-%llu", (unsigned long long)p->n);
	else
		snprintf(buf, size, "%llu", (unsigned long long)p->n);
}

enum vb_err vb_pos_resolve_anchor(const struct vb_pos *p, uint64_t anchor, uint64_t len,
				  uint64_t *out)
{
	char text[96];
	uint64_t at;

	vb_pos_format(p, text, sizeof text);
	if (p->before) {
		if (p->n > anchor)
			return vb_err_set(VB_ERANGE, "offset %s is before the start (the anchor is at %llu)",
					  text, (unsigned long long)anchor);
		at = anchor - p->n;
	} else if (__builtin_add_overflow(anchor, p->n, &at) || at > len) {
		return vb_err_set(VB_ERANGE, "offset %s is beyond the end (length %llu)", text,
				  (unsigned long long)len);
	}
	*out = at;
	return VB_OK;
}

enum vb_err vb_pos_resolve_line(const struct vb_pos *p, uint64_t start, uint64_t len,
				uint64_t *out)
{
	char text[96];
	uint64_t at;

	vb_pos_format(p, text, sizeof text);
	if (p->before) {
		if (p->n > start)
			return vb_err_set(VB_ERANGE, "offset %s is before the start (line %llu starts at %llu)",
					  text, (unsigned long long)p->line,
					  (unsigned long long)start);
		at = start - p->n;
	} else if (__builtin_add_overflow(start, p->n, &at) || at > len) {
		return vb_err_set(VB_ERANGE, "offset %s is beyond the end (length %llu)", text,
				  (unsigned long long)len);
	}
	*out = at;
	return VB_OK;
}

enum vb_err vb_pos_resolve(const struct vb_pos *p, uint64_t len, uint64_t *out)
{
	char text[96];

	if (p->line) {
		vb_pos_format(p, text, sizeof text);
		return vb_err_set(VB_EINVAL, "offset %s names a line, which only a store has", text);
	}
	if (p->anchor[0]) {
		vb_pos_format(p, text, sizeof text);
		return vb_err_set(VB_EINVAL, "offset %s names an anchor, which only a store has", text);
	}
	if (!p->from_end) {
		if (p->n > len) {
			vb_pos_format(p, text, sizeof text);
			return vb_err_set(VB_ERANGE, "offset %s is beyond the end (length %llu)",
					  text, (unsigned long long)len);
		}
		*out = p->n;
		return VB_OK;
	}
	if (p->n > len) {
		vb_pos_format(p, text, sizeof text);
		return vb_err_set(VB_ERANGE, "offset %s is before the start (length %llu)",
				  text, (unsigned long long)len);
	}
	*out = len - p->n;
	return VB_OK;
}

enum vb_err vb_parse_pos_unit(const char *s, uint64_t unit, struct vb_pos *out)
{
	uint64_t bytes;
	enum vb_err rc = vb_parse_pos(s, out);

	if (rc)
		return rc;
	if (out->line && unit != 1)
		return vb_err_set(VB_EINVAL, "offset '%s' is a line address, which does not count elements (the unit is %llu bytes)",
				  s, (unsigned long long)unit);
	if (__builtin_mul_overflow(out->n, unit, &bytes))
		return vb_err_set(VB_EINVAL, "offset '%s' is too large (at most %llu elements of %llu bytes)",
				  s, (unsigned long long)(UINT64_MAX / unit),
				  (unsigned long long)unit);
	return VB_OK;
}

enum vb_err vb_parse_length_unit(const char *s, uint64_t unit, uint64_t *out)
{
	uint64_t bytes;
	enum vb_err rc = vb_parse_size(s, "length", out);

	if (rc)
		return rc;
	if (__builtin_mul_overflow(*out, unit, &bytes))
		return vb_err_set(VB_EINVAL, "length '%s' is too large (at most %llu elements of %llu bytes)",
				  s, (unsigned long long)(UINT64_MAX / unit),
				  (unsigned long long)unit);
	return VB_OK;
}

int vb_parse_range_line(const char *line, size_t len, uint64_t unit, struct vb_pos *pos,
			uint64_t *length)
{
	char buf[VB_RANGE_LINE_MAX + 1], *field[3] = {NULL, NULL, NULL};
	size_t i = 0, k = 0;

	if (len > VB_RANGE_LINE_MAX) {
		vb_err_set(VB_EINVAL, "line longer than %d bytes", VB_RANGE_LINE_MAX);
		return -1;
	}
	if (memchr(line, 0, len)) {
		vb_err_set(VB_EINVAL, "NUL byte in line");
		return -1;
	}
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i == len || line[i] == '#' || line[i] == '\n' || line[i] == '\r')
		return 0;
	memcpy(buf, line, len);
	buf[len] = 0;
	/* at most three fields: a third one is already one too many */
	for (char *p = buf + i; *p && k < 3;) {
		if (strchr(" \t\r\n", *p)) {
			*p++ = 0;
			continue;
		}
		field[k++] = p;
		p += strcspn(p, " \t\r\n");
	}
	if (k != 2) {
		vb_err_set(VB_EINVAL, "expected 'OFFSET LENGTH'");
		return -1;
	}
	if (vb_parse_pos_unit(field[0], unit, pos) || vb_parse_length_unit(field[1], unit, length))
		return -1;
	return 1;
}

int vb_parse_grep_line(const char *head, size_t n, uint64_t total, struct vb_pos *pos,
		       uint64_t *textlen)
{
	uint64_t v = 0;
	size_t i = 0;

	if (n > total)
		n = (size_t)total;
	for (; i < n && head[i] >= '0' && head[i] <= '9'; i++)
		if (i >= 20 || __builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(head[i] - '0'), &v)) {
			vb_err_set(VB_EINVAL, "offset '%.*s' is too large (at most 18446744073709551615)",
				   (int)(n < 24 ? n : 24), head);
			return -1;
		}
	if (i && i < n && head[i] == '-') {
		vb_err_set(VB_EINVAL, "expected 'OFFSET:TEXT' as grep -b prints a match; 'OFFSET-TEXT' is a context line (grep -A, -B or -C)");
		return -1;
	}
	if (!i || i == n || head[i] != ':') {
		if (n >= 2 && head[0] == '-' && head[1] == '-' && total == 2)
			vb_err_set(VB_EINVAL, "expected 'OFFSET:TEXT' as grep -b prints a match; '--' separates context lines (grep -A, -B or -C)");
		else
			vb_err_set(VB_EINVAL, "expected 'OFFSET:TEXT' as grep -b prints a match (one file, or grep -h; no -n, -c or -l)");
		return -1;
	}
	memset(pos, 0, sizeof *pos);
	pos->n = v;
	*textlen = total - i - 1;
	return 1;
}
