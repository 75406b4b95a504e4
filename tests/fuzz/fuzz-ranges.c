/*
 * fuzz-ranges: the --ranges line parser of vb-delete (vb_parse_range_line
 * in lib/num.c), fed a whole ranges file cut into lines as getline(3)
 * cuts it.
 *
 * The first input byte picks the --unit the offsets are scaled by; the
 * rest is the file.  For every line:
 *   - the result agrees with a reference written from the grammar's
 *     description (the strtok-based reader vb-delete had before the parser
 *     moved out of it): the same verdict, the same range, the same message;
 *   - a range's byte offset and length fit 64 bits at the unit;
 *   - a range printed back ("OFFSET LENGTH") parses to the same range.
 * Any violation aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "num.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                            \
	do {                                                                                \
		if (!(c)) {                                                                 \
			fprintf(stderr, "fuzz-ranges: check failed: %s (line %d)\n", #c, __LINE__); \
			abort();                                                            \
		}                                                                           \
	} while (0)

/* The reference: vb-delete's reader as it was, less the file handling.
 * *why gets the message of a failure. */
static int reference(const char *line, size_t len, uint64_t unit, struct vb_pos *pos,
		     uint64_t *length, char *why, size_t whysize)
{
	char *copy, *p, *a, *b, *extra;
	int ret;

	if (len > 4096) {
		snprintf(why, whysize, "line longer than %d bytes", 4096);
		return -1;
	}
	if (memchr(line, 0, len)) {
		snprintf(why, whysize, "NUL byte in line");
		return -1;
	}
	copy = malloc(len + 1);
	CHECK(copy);
	memcpy(copy, line, len);
	copy[len] = 0;
	p = copy;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '#' || *p == '\n' || *p == '\r' || !*p) {
		free(copy);
		return 0;
	}
	a = strtok(p, " \t\r\n");
	b = strtok(NULL, " \t\r\n");
	extra = strtok(NULL, " \t\r\n");
	if (!b || extra) {
		snprintf(why, whysize, "expected 'OFFSET LENGTH'");
		ret = -1;
	} else if (vb_parse_pos_unit(a, unit, pos) || vb_parse_length_unit(b, unit, length)) {
		snprintf(why, whysize, "%s", vb_err_detail());
		ret = -1;
	} else {
		ret = 1;
	}
	free(copy);
	return ret;
}

static int same_pos(const struct vb_pos *a, const struct vb_pos *b)
{
	return a->n == b->n && a->from_end == b->from_end && a->before == b->before &&
	       a->line == b->line && !strcmp(a->anchor, b->anchor);
}

static void one_line(const char *line, size_t len, uint64_t unit)
{
	struct vb_pos pos, rpos;
	uint64_t length = 0, rlength = 0, bytes;
	char why[8192];
	int got, want;

	memset(&pos, 0, sizeof pos);
	memset(&rpos, 0, sizeof rpos);
	got = vb_parse_range_line(line, len, unit, &pos, &length);
	if (got < 0)
		snprintf(why + 4096, 4096, "%s", vb_err_detail());
	want = reference(line, len, unit, &rpos, &rlength, why, 4096);
	if (got != want)
		fprintf(stderr, "fuzz-ranges: %d, the reference %d\n", got, want);
	CHECK(got == want);
	if (got < 0) {
		if (strcmp(why, why + 4096))
			fprintf(stderr, "fuzz-ranges: '%s', the reference '%s'\n", why + 4096, why);
		CHECK(!strcmp(why, why + 4096));
		return;
	}
	if (!got)
		return;
	CHECK(same_pos(&pos, &rpos) && length == rlength);
	CHECK(!__builtin_mul_overflow(pos.n, unit, &bytes));
	CHECK(!__builtin_mul_overflow(length, unit, &bytes));

	/* printed back, it reads the same */
	char text[160];
	int n;
	vb_pos_format(&pos, text, 100);
	n = (int)strlen(text);
	n += snprintf(text + n, sizeof text - (size_t)n, "\t%llu\r\n", (unsigned long long)length);
	CHECK(vb_parse_range_line(text, (size_t)n, unit, &rpos, &rlength) == 1);
	CHECK(rpos.n == pos.n && !strcmp(rpos.anchor, pos.anchor) && rlength == length);
	CHECK(rpos.line == pos.line);
	/* a line address is never counted in elements */
	CHECK(!pos.line || unit == 1);
	if (pos.line) {
		if (pos.n)
			CHECK(rpos.before == pos.before);
	} else if (!pos.anchor[0])
		CHECK(rpos.from_end == pos.from_end);
	else if (pos.n)
		CHECK(rpos.before == pos.before);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t units[] = {1, 1, 1, 2, 3, 512, (uint64_t)1 << 32,
					 ((uint64_t)1 << 62) + 1};
	const char *p, *end;
	uint64_t unit;

	if (!size || size > 65536)
		return 0;
	unit = units[data[0] % 8];
	p = (const char *)data + 1;
	end = (const char *)data + size;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		one_line(p, len, unit);
		p += len;
	}
	return 0;
}
