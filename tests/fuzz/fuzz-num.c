/*
 * fuzz-num: the offset grammar (lib/num.c) on arbitrary strings.
 *
 * The input, NUL-terminated, goes to vb_parse_size, vb_parse_pos and
 * vb_parse_hex.  Checked on the way:
 *   - a parsed size printed back in decimal parses to the same value, and
 *     so does its hex spelling;
 *   - a parsed position printed with vb_pos_format parses back to the same
 *     position;
 *   - a line address has a line of at least 1 and no anchor;
 *   - vb_parse_line_range gives 1 <= first and 1 <= last, and what it
 *     accepts, printed back as "A-B", "A-", "-B" or "A", parses the same;
 *   - vb_pos_resolve, vb_pos_resolve_anchor and vb_pos_resolve_line, against lengths taken from
 *     the input and around the position's number, never return an offset
 *     beyond the length without an error, and agree with the arithmetic;
 *   - vb_parse_hex yields half as many bytes as it read hex digits, each
 *     one the pair it came from.
 * Any violation aborts (a crash for libFuzzer).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "num.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                         \
	do {                                                                             \
		if (!(c)) {                                                              \
			fprintf(stderr, "fuzz-num: check failed: %s (line %d)\n", #c, __LINE__); \
			abort();                                                         \
		}                                                                        \
	} while (0)

static int same_pos(const struct vb_pos *a, const struct vb_pos *b)
{
	if (strcmp(a->anchor, b->anchor) || a->n != b->n || a->line != b->line)
		return 0;
	if (a->anchor[0] || a->line)
		return a->n == 0 || a->before == b->before;
	return a->from_end == b->from_end;
}

static void check_resolve(const struct vb_pos *p, uint64_t len, uint64_t anchor)
{
	uint64_t at = UINT64_MAX;
	enum vb_err rc;

	if (p->line) {
		CHECK(!p->anchor[0] && !p->from_end);
		CHECK(vb_pos_resolve(p, len, &at) == VB_EINVAL);
		if (anchor > len)
			return; /* a line always starts inside the content */
		rc = vb_pos_resolve_line(p, anchor, len, &at);
		if (rc == VB_OK) {
			CHECK(at <= len);
			CHECK(p->before ? at == anchor - p->n : at == anchor + p->n);
		} else {
			CHECK(rc == VB_ERANGE);
			CHECK(p->before ? p->n > anchor : p->n > len - anchor);
		}
		return;
	}
	if (p->anchor[0]) {
		CHECK(vb_pos_resolve(p, len, &at) == VB_EINVAL);
		if (anchor > len)
			return; /* the caller's anchor is always inside the content */
		rc = vb_pos_resolve_anchor(p, anchor, len, &at);
		if (rc == VB_OK) {
			CHECK(at <= len);
			CHECK(p->before ? at == anchor - p->n : at == anchor + p->n);
		} else {
			CHECK(rc == VB_ERANGE);
			CHECK(p->before ? p->n > anchor : p->n > len - anchor);
		}
		return;
	}
	rc = vb_pos_resolve(p, len, &at);
	if (rc == VB_OK) {
		CHECK(at <= len);
		CHECK(p->from_end ? at == len - p->n : at == p->n);
	} else {
		CHECK(rc == VB_ERANGE);
		CHECK(p->n > len);
	}
}

static void fuzz_size(const char *s)
{
	uint64_t v, w;
	char buf[40];

	if (vb_parse_size(s, "length", &v))
		return;
	snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
	CHECK(vb_parse_size(buf, "length", &w) == VB_OK && w == v);
	snprintf(buf, sizeof buf, "0x%llx", (unsigned long long)v);
	CHECK(vb_parse_size(buf, "length", &w) == VB_OK && w == v);
	/* a size is a position too */
	struct vb_pos p;
	CHECK(vb_parse_pos(buf, &p) == VB_OK && p.n == v && !p.from_end && !p.anchor[0]);
}

static void fuzz_pos(const char *s, uint64_t len)
{
	struct vb_pos p, q;
	char buf[128];

	if (vb_parse_pos(s, &p))
		return;
	CHECK(strlen(p.anchor) < sizeof p.anchor);
	vb_pos_format(&p, buf, sizeof buf);
	CHECK(vb_parse_pos(buf, &q) == VB_OK);
	CHECK(same_pos(&p, &q));
	uint64_t lens[] = {len, p.n, p.n - 1, p.n + 1, 0, UINT64_MAX, UINT64_MAX - 1};
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
		for (size_t j = 0; j < sizeof lens / sizeof lens[0]; j++)
			check_resolve(&p, lens[i], lens[j]);
}

static void fuzz_line_range(const char *s)
{
	uint64_t a, b, c, d;
	char buf[64];

	if (vb_parse_line_range(s, &a, &b))
		return;
	CHECK(a >= 1 && b >= 1);
	if (s[0] == '-')
		snprintf(buf, sizeof buf, "-%llu", (unsigned long long)b);
	else if (b == UINT64_MAX && strchr(s, '-'))
		snprintf(buf, sizeof buf, "%llu-", (unsigned long long)a);
	else if (!strchr(s, '-'))
		snprintf(buf, sizeof buf, "%llu", (unsigned long long)a);
	else
		snprintf(buf, sizeof buf, "%llu-%llu", (unsigned long long)a,
			 (unsigned long long)b);
	CHECK(vb_parse_line_range(buf, &c, &d) == VB_OK && c == a && d == b);
	if (!strchr(s, '-'))
		CHECK(a == b);
	if (s[0] == '-')
		CHECK(a == 1);
}

static void fuzz_hex(const char *s)
{
	unsigned char *out = NULL;
	size_t n = 0, digits = 0, k = 0;

	if (vb_parse_hex(s, &out, &n))
		return;
	for (const char *p = s; *p; p++)
		digits += vb_hex_digit((unsigned char)*p) >= 0;
	CHECK(digits == 2 * n);
	for (const char *p = s; *p;) {
		if (vb_hex_digit((unsigned char)*p) < 0) {
			p++;
			continue;
		}
		CHECK(k < n);
		CHECK(out[k] == (vb_hex_digit((unsigned char)p[0]) << 4 | vb_hex_digit((unsigned char)p[1])));
		k++;
		p += 2;
	}
	CHECK(k == n);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t len = 0;
	char *s;

	if (size > 4096)
		return 0;
	/* the first 8 bytes also give a content length to resolve against */
	for (size_t i = 0; i < size && i < 8; i++)
		len = len << 8 | data[i];
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	fuzz_size(s);
	fuzz_pos(s, len);
	fuzz_line_range(s);
	fuzz_hex(s);
	free(s);
	return 0;
}
