/*
 * test-num: the offset grammar (lib/README.md, Decisions 7).
 */
#include <string.h>

#include "check.h"
#include "num.h"

static void size_ok(const char *s, uint64_t want)
{
	uint64_t v = 0;
	enum vb_err rc = vb_parse_size(s, "length", &v);
	if (rc || v != want)
		fprintf(stderr, "size '%s': rc %d value %llu (want %llu): %s\n", s, rc,
			(unsigned long long)v, (unsigned long long)want, vb_err_detail());
	CHECK(!rc && v == want);
}

static void size_bad(const char *s, const char *detail_part)
{
	uint64_t v;
	enum vb_err rc = vb_parse_size(s, "length", &v);
	CHECK(rc == VB_EINVAL);
	if (rc && !strstr(vb_err_detail(), detail_part)) {
		fprintf(stderr, "size '%s': detail '%s' lacks '%s'\n", s, vb_err_detail(),
			detail_part);
		CHECK(0);
	}
}

/* vb_parse_size(s, what) fails with exactly `detail`. */
static void size_detail(const char *s, const char *what, const char *detail)
{
	uint64_t v;
	CHECK(vb_parse_size(s, what, &v) == VB_EINVAL);
	if (strcmp(vb_err_detail(), detail)) {
		fprintf(stderr, "size '%s': detail '%s', want '%s'\n", s, vb_err_detail(), detail);
		CHECK(0);
	}
}

static void pos_ok(const char *s, uint64_t len, uint64_t want)
{
	struct vb_pos p;
	uint64_t v = 0;
	CHECK_OK(vb_parse_pos(s, &p));
	CHECK_OK(vb_pos_resolve(&p, len, &v));
	if (v != want)
		fprintf(stderr, "pos '%s' in %llu: %llu (want %llu)\n", s,
			(unsigned long long)len, (unsigned long long)v, (unsigned long long)want);
	CHECK_EQ_U64(v, want);
}

static void pos_range(const char *s, uint64_t len, const char *detail)
{
	struct vb_pos p;
	uint64_t v;
	CHECK_OK(vb_parse_pos(s, &p));
	CHECK(vb_pos_resolve(&p, len, &v) == VB_ERANGE);
	if (strcmp(vb_err_detail(), detail)) {
		fprintf(stderr, "pos '%s': detail '%s', want '%s'\n", s, vb_err_detail(), detail);
		CHECK(0);
	}
}

/* vb_parse_range_line on `len` bytes of `line` at `unit`: the verdict,
 * and for a range its fields, else for an error the detail. */
static void range_line(const char *line, size_t len, uint64_t unit, int want,
		       const char *pos_text, uint64_t want_len, const char *detail)
{
	struct vb_pos p;
	uint64_t n = 0;
	char text[96];
	int got = vb_parse_range_line(line, len, unit, &p, &n);

	if (got != want)
		fprintf(stderr, "range line '%.*s': %d, want %d (%s)\n", (int)(len > 60 ? 60 : len),
			line, got, want, vb_err_detail());
	CHECK(got == want);
	if (got == 1 && want == 1) {
		vb_pos_format(&p, text, sizeof text);
		if (strcmp(text, pos_text) || n != want_len)
			fprintf(stderr, "range line '%.*s': %s %llu, want %s %llu\n", (int)len, line,
				text, (unsigned long long)n, pos_text, (unsigned long long)want_len);
		CHECK(!strcmp(text, pos_text) && n == want_len);
	}
	if (got < 0 && want < 0 && strcmp(vb_err_detail(), detail)) {
		fprintf(stderr, "range line: detail '%s', want '%s'\n", vb_err_detail(), detail);
		CHECK(0);
	}
}

#define RL(s, unit, want, pos, len, detail) range_line(s, sizeof s - 1, unit, want, pos, len, detail)

static void test_units(void)
{
	struct vb_pos p;
	uint64_t n;

	CHECK_OK(vb_parse_pos_unit("0x3fffffffffffffff", 4, &p));
	CHECK(p.n == 0x3fffffffffffffffULL && !p.from_end);
	CHECK(vb_parse_pos_unit("0x4000000000000000", 4, &p) == VB_EINVAL);
	CHECK(!strcmp(vb_err_detail(),
		      "offset '0x4000000000000000' is too large (at most 4611686018427387903 elements of 4 bytes)"));
	CHECK_OK(vb_parse_pos_unit("end-18446744073709551615", 1, &p));
	CHECK(p.from_end && p.n == UINT64_MAX);
	CHECK(vb_parse_pos_unit("@a+3", 1ULL << 63, &p) == VB_EINVAL);
	CHECK(vb_parse_pos_unit("nope", 2, &p) == VB_EINVAL);
	CHECK(!strcmp(vb_err_detail(), "invalid offset 'nope'"));
	CHECK_OK(vb_parse_length_unit("1K", 16, &n));
	CHECK(n == 1024);
	CHECK(vb_parse_length_unit("6148914691236517206", 3, &n) == VB_EINVAL);
	CHECK(!strcmp(vb_err_detail(),
		      "length '6148914691236517206' is too large (at most 6148914691236517205 elements of 3 bytes)"));
	CHECK_OK(vb_parse_length_unit("6148914691236517205", 3, &n));
	CHECK(vb_parse_length_unit("-1", 1, &n) == VB_EINVAL);
	CHECK(!strcmp(vb_err_detail(), "invalid length '-1' (a length cannot be negative)"));
}

static void test_range_lines(void)
{
	char big[VB_RANGE_LINE_MAX + 2];

	RL("10 20\n", 1, 1, "10", 20, NULL);
	RL("10 20", 1, 1, "10", 20, NULL);
	RL("  \tend-5\t3\r\n", 1, 1, "end-5", 3, NULL);
	RL("@top+0x10  1K\n", 1, 1, "@top+16", 1024, NULL);
	RL("-4 4\n", 1, 1, "end-4", 4, NULL);
	/* no range: empty, blank, comment */
	RL("", 1, 0, NULL, 0, NULL);
	RL("\n", 1, 0, NULL, 0, NULL);
	RL("\r\n", 1, 0, NULL, 0, NULL);
	RL(" \t \n", 1, 0, NULL, 0, NULL);
	RL("# 1 2\n", 1, 0, NULL, 0, NULL);
	RL("   #x\n", 1, 0, NULL, 0, NULL);
	/* two fields and no other count */
	RL("10\n", 1, -1, NULL, 0, "expected 'OFFSET LENGTH'");
	RL("1 2 3\n", 1, -1, NULL, 0, "expected 'OFFSET LENGTH'");
	RL("1 2 #\n", 1, -1, NULL, 0, "expected 'OFFSET LENGTH'");
	/* bad fields: the grammar's own messages */
	RL("x 1\n", 1, -1, NULL, 0, "invalid offset 'x'");
	RL("1 -1\n", 1, -1, NULL, 0, "invalid length '-1' (a length cannot be negative)");
	RL("1 2Q\n", 1, -1, NULL, 0, "invalid length '2Q' (unknown suffix 'Q')");
	RL("1,2\n", 1, -1, NULL, 0, "expected 'OFFSET LENGTH'");
	/* bytes beyond `len` are not read; a NUL inside is an error */
	range_line("5 6 7", 3, 1, 1, "5", 6, NULL);
	range_line("5 6\0 7", 5, 1, -1, NULL, 0, "NUL byte in line");
	range_line("\0", 1, 1, -1, NULL, 0, "NUL byte in line");
	/* scaled by the unit */
	RL("3 2\n", 512, 1, "3", 2, NULL);
	RL("0x4000000000000000 1\n", 4, -1, NULL, 0,
	   "offset '0x4000000000000000' is too large (at most 4611686018427387903 elements of 4 bytes)");
	RL("1 0x4000000000000000\n", 4, -1, NULL, 0,
	   "length '0x4000000000000000' is too large (at most 4611686018427387903 elements of 4 bytes)");
	/* the longest line, and one byte more */
	memset(big, ' ', sizeof big);
	memcpy(big, "1 2", 3);
	big[VB_RANGE_LINE_MAX - 1] = '\n';
	range_line(big, VB_RANGE_LINE_MAX, 1, 1, "1", 2, NULL);
	big[VB_RANGE_LINE_MAX] = '\n';
	range_line(big, VB_RANGE_LINE_MAX + 1, 1, -1, NULL, 0, "line longer than 4096 bytes");
}


/* vb_parse_grep_line on the `n` bytes of `head` of a line of `total`
 * bytes: the verdict, and the offset and TEXT length or the detail. */
static void grep_line(const char *head, size_t n, uint64_t total, int want, uint64_t want_at,
		      uint64_t want_len, const char *detail)
{
	struct vb_pos p;
	uint64_t len = 0;
	int got = vb_parse_grep_line(head, n, total, &p, &len);

	if (got != want || (got == 1 && (p.n != want_at || len != want_len || p.from_end ||
					  p.line || p.anchor[0])))
		fprintf(stderr, "grep line '%.*s': %d %llu %llu, want %d %llu %llu (%s)\n",
			(int)(n > 60 ? 60 : n), head, got, (unsigned long long)p.n,
			(unsigned long long)len, want, (unsigned long long)want_at,
			(unsigned long long)want_len, vb_err_detail());
	CHECK(got == want);
	if (got == 1 && want == 1)
		CHECK(p.n == want_at && len == want_len && !p.from_end && !p.line && !p.anchor[0]);
	if (got < 0 && want < 0 && strcmp(vb_err_detail(), detail)) {
		fprintf(stderr, "grep line: detail '%s', want '%s'\n", vb_err_detail(), detail);
		CHECK(0);
	}
}

#define GL(s, want, at, len, detail) grep_line(s, sizeof s - 1, sizeof s - 1, want, at, len, detail)

static void test_grep_lines(void)
{
	static const char match[] = "expected 'OFFSET:TEXT' as grep -b prints a match (one file, or grep -h; no -n, -c or -l)";

	GL("0:abc", 1, 0, 3, NULL);
	GL("12:", 1, 12, 0, NULL);
	/* TEXT is everything after the first ':', ':' and NUL included */
	GL("7:a:b:c", 1, 7, 5, NULL);
	GL("7::", 1, 7, 1, NULL);
	GL("3:a\0b\r", 1, 3, 4, NULL);
	GL("18446744073709551615:x", 1, UINT64_MAX, 1, NULL);
	GL("18446744073709551616:x", -1, 0, 0,
	   "offset '18446744073709551616:x' is too large (at most 18446744073709551615)");
	GL("000000000000000000001:x", -1, 0, 0,
	   "offset '000000000000000000001:x' is too large (at most 18446744073709551615)");
	/* a long line: only its head is given, its length counts */
	grep_line("42:xyz", 6, 1000000, 1, 42, 1000000 - 3, NULL);
	/* not a match line of grep -b */
	GL("", -1, 0, 0, match);
	GL(":x", -1, 0, 0, match);
	GL("12", -1, 0, 0, match);
	GL("a.txt:3:x", -1, 0, 0, match);
	GL(" 3:x", -1, 0, 0, match);
	GL("3 x", -1, 0, 0, match);
	GL("12-context", -1, 0, 0,
	   "expected 'OFFSET:TEXT' as grep -b prints a match; 'OFFSET-TEXT' is a context line (grep -A, -B or -C)");
	GL("--", -1, 0, 0,
	   "expected 'OFFSET:TEXT' as grep -b prints a match; '--' separates context lines (grep -A, -B or -C)");
	/* bytes beyond the line's total are not read */
	grep_line("5:ab", 4, 1, -1, 0, 0, match);
}

int main(void)
{
	test_units();
	test_range_lines();
	test_grep_lines();

	size_ok("0", 0);
	size_ok("123", 123);
	size_ok("0x10", 16);
	size_ok("0XfF", 255);
	size_ok("1K", 1024);
	size_ok("1k", 1024);
	size_ok("2KiB", 2048);
	size_ok("1KB", 1000);
	size_ok("3M", 3u << 20);
	size_ok("1MB", 1000000);
	size_ok("1G", 1ULL << 30);
	size_ok("1GB", 1000000000ULL);
	size_ok("2T", 2ULL << 40);
	size_ok("1TB", 1000000000000ULL);
	size_ok("0x1K", 1024);
	size_ok("0x1B", 27); /* B is a hex digit */
	size_ok("18446744073709551615", UINT64_MAX);
	size_ok("0xffffffffffffffff", UINT64_MAX);
	size_ok("16777215T", 16777215ULL << 40);

	size_bad("", "empty");
	size_bad("abc", "invalid length 'abc'");
	size_bad("12x", "unknown suffix 'x'");
	size_bad("-5", "cannot be negative");
	size_bad("+5", "invalid length");
	size_bad("18446744073709551616", "too large");
	size_bad("0x10000000000000000", "too large");
	size_bad("16777216T", "too large");
	size_bad("99999999999999999999999", "too large");
	size_bad("0x", "invalid");
	size_bad("1 ", "unknown suffix");
	size_bad("1Kb", "ambiguous suffix 'Kb'");

	/* kB as coreutils reads it (and as vb's progress line prints it):
	 * 1000; KiB and kin: 1024 */
	size_ok("1kB", 1000);
	size_ok("3kB", 3000);
	size_ok("0x10kB", 16000);
	size_ok("1MiB", 1ULL << 20);
	size_ok("1GiB", 1ULL << 30);
	size_ok("1TiB", 1ULL << 40);
	size_ok("18446744073709551kB", 18446744073709551000ULL);
	size_bad("18446744073709552kB", "too large");
	/* ambiguous: other cases of the same letters, a lone b or B; the
	 * message lists every accepted spelling */
	static const char *const ambiguous[] = {"1kb", "1Kb", "1KIB", "1kib", "1kiB", "1mb",
						"1Mb", "1m", "1g", "1t", "1mib", "1gb", "1Tb",
						"1b", "1B", "1tIB"};
	for (size_t i = 0; i < sizeof ambiguous / sizeof ambiguous[0]; i++) {
		char want[64];
		snprintf(want, sizeof want, "(ambiguous suffix '%s'; use ", ambiguous[i] + 1);
		size_bad(ambiguous[i], want);
	}
	size_detail("2kb", "--cache",
		    "invalid --cache '2kb' (ambiguous suffix 'kb'; use K k KiB M MiB G GiB T TiB "
		    "for powers of 1024, kB KB MB GB TB for powers of 1000)");
	/* anything else: unknown */
	size_detail("16E", "length", "invalid length '16E' (unknown suffix 'E')");
	size_detail("1KBB", "length", "invalid length '1KBB' (unknown suffix 'KBB')");
	size_detail("1.5K", "length", "invalid length '1.5K' (unknown suffix '.5K')");
	/* the same suffixes in every offset form */
	pos_ok("end-1kB", 4000, 3000);
	pos_ok("1KiB", 4000, 1024);

	pos_ok("0", 100, 0);
	pos_ok("100", 100, 100);
	pos_ok("end", 100, 100);
	pos_ok("end-10", 100, 90);
	pos_ok("-10", 100, 90);
	pos_ok("-100", 100, 0);
	pos_ok("end-0x10", 100, 84);
	pos_ok("end-1K", 4096, 3072);
	pos_ok("0x20", 100, 32);

	pos_range("120", 100, "offset 120 is beyond the end (length 100)");
	pos_range("-101", 100, "offset end-101 is before the start (length 100)");
	pos_range("end-200", 100, "offset end-200 is before the start (length 100)");

	struct vb_pos p;
	CHECK(vb_parse_pos("end+1", &p) == VB_EINVAL);
	CHECK(vb_parse_pos("end-", &p) == VB_EINVAL);
	CHECK(vb_parse_pos("--1", &p) == VB_EINVAL);
	CHECK(vb_parse_pos("", &p) == VB_EINVAL);
	CHECK(vb_parse_pos("-18446744073709551616", &p) == VB_EINVAL);
	CHECK(strstr(vb_err_detail(), "too large") != NULL);

	/* hex */
	unsigned char *hx;
	size_t hn;
	CHECK_OK(vb_parse_hex("de ad:BE\tef\n00", &hx, &hn));
	CHECK(hn == 5 && hx[0] == 0xde && hx[1] == 0xad && hx[2] == 0xbe && hx[3] == 0xef &&
	      hx[4] == 0);
	free(hx);
	CHECK_OK(vb_parse_hex("", &hx, &hn));
	CHECK(hn == 0);
	free(hx);
	CHECK(vb_parse_hex("abc", &hx, &hn) == VB_EINVAL);
	CHECK(strstr(vb_err_detail(), "at 'c'") != NULL);
	CHECK(vb_parse_hex("a b", &hx, &hn) == VB_EINVAL);
	CHECK(vb_parse_hex("zz", &hx, &hn) == VB_EINVAL);
	CHECK(vb_parse_hex("0x41", &hx, &hn) == VB_EINVAL);

	/* anchors */
	CHECK_OK(vb_parse_pos("@top", &p));
	CHECK(!strcmp(p.anchor, "top") && p.n == 0 && !p.before && !p.from_end);
	CHECK_OK(vb_parse_pos("@a.b_1+0x10", &p));
	CHECK(!strcmp(p.anchor, "a.b_1") && p.n == 16 && !p.before);
	CHECK_OK(vb_parse_pos("@x-2K", &p));
	CHECK(!strcmp(p.anchor, "x") && p.n == 2048 && p.before);
	uint64_t at;
	CHECK(vb_pos_resolve(&p, 5000, &at) == VB_EINVAL);
	CHECK(strstr(vb_err_detail(), "only a store has") != NULL);
	CHECK(vb_pos_resolve_anchor(&p, 3000, 5000, &at) == VB_OK && at == 952);
	CHECK(vb_pos_resolve_anchor(&p, 2000, 5000, &at) == VB_ERANGE);
	CHECK(!strcmp(vb_err_detail(), "offset @x-2048 is before the start (the anchor is at 2000)"));
	CHECK_OK(vb_parse_pos("@x+10", &p));
	CHECK(vb_pos_resolve_anchor(&p, 95, 100, &at) == VB_ERANGE);
	CHECK(!strcmp(vb_err_detail(), "offset @x+10 is beyond the end (length 100)"));
	CHECK(vb_parse_pos("@", &p) == VB_EINVAL);
	CHECK(vb_parse_pos("@a*", &p) == VB_EINVAL);
	CHECK(vb_parse_pos("@a+", &p) == VB_EINVAL);
	CHECK(vb_parse_pos("@a+x", &p) == VB_EINVAL);
	CHECK(vb_parse_pos("@0123456789012345678901234567890123456789012345678901234567890123", &p) ==
	      VB_EINVAL);

	/* line addresses: L<LINE>, L<LINE>+N, L<LINE>-N */
	CHECK_OK(vb_parse_pos("L1", &p));
	CHECK(p.line == 1 && p.n == 0 && !p.before && !p.from_end && !p.anchor[0]);
	CHECK_OK(vb_parse_pos("L42+0x10", &p));
	CHECK(p.line == 42 && p.n == 16 && !p.before);
	CHECK_OK(vb_parse_pos("L7-2K", &p));
	CHECK(p.line == 7 && p.n == 2048 && p.before);
	CHECK(vb_pos_resolve(&p, 5000, &at) == VB_EINVAL);
	CHECK(!strcmp(vb_err_detail(), "offset L7-2048 names a line, which only a store has"));
	CHECK(vb_pos_resolve_line(&p, 3000, 5000, &at) == VB_OK && at == 952);
	CHECK(vb_pos_resolve_line(&p, 2047, 5000, &at) == VB_ERANGE);
	CHECK(!strcmp(vb_err_detail(), "offset L7-2048 is before the start (line 7 starts at 2047)"));
	CHECK(vb_pos_resolve_line(&p, 2048, 5000, &at) == VB_OK && at == 0);
	CHECK_OK(vb_parse_pos("L3+10", &p));
	CHECK(vb_pos_resolve_line(&p, 90, 100, &at) == VB_OK && at == 100);
	CHECK(vb_pos_resolve_line(&p, 91, 100, &at) == VB_ERANGE);
	CHECK(!strcmp(vb_err_detail(), "offset L3+10 is beyond the end (length 100)"));
	CHECK_OK(vb_parse_pos("L3+18446744073709551615", &p));
	CHECK(vb_pos_resolve_line(&p, 1, UINT64_MAX, &at) == VB_ERANGE);
	CHECK_OK(vb_parse_pos("L18446744073709551615", &p));
	CHECK(p.line == UINT64_MAX);
	CHECK(vb_parse_pos("L18446744073709551616", &p) == VB_EINVAL);
	CHECK(strstr(vb_err_detail(), "too large") != NULL);
	CHECK(vb_parse_pos("L0", &p) == VB_EINVAL);
	CHECK(!strcmp(vb_err_detail(), "invalid offset 'L0' (lines count from 1)"));
	CHECK(vb_parse_pos("L00+3", &p) == VB_EINVAL);
	CHECK(vb_parse_pos("L", &p) == VB_EINVAL);
	CHECK(vb_parse_pos("L+3", &p) == VB_EINVAL);
	CHECK(vb_parse_pos("L0x10", &p) == VB_EINVAL);
	CHECK(vb_parse_pos("L1K", &p) == VB_EINVAL);
	CHECK(strstr(vb_err_detail(), "L<LINE>+N") != NULL);
	CHECK(vb_parse_pos("L3+", &p) == VB_EINVAL);
	CHECK(vb_parse_pos("L3-x", &p) == VB_EINVAL);
	CHECK(vb_parse_pos("L3+1Q", &p) == VB_EINVAL);
	CHECK(vb_parse_pos("L3+18446744073709551616", &p) == VB_EINVAL);
	CHECK(vb_parse_pos("l3", &p) == VB_EINVAL);
	CHECK(vb_parse_pos("L-3", &p) == VB_EINVAL);
	CHECK(vb_parse_pos("end-L3", &p) == VB_EINVAL);
	/* parsing again forgets an earlier line */
	CHECK_OK(vb_parse_pos("L3", &p));
	CHECK_OK(vb_parse_pos("5", &p));
	CHECK(p.line == 0 && p.n == 5);
	CHECK_OK(vb_parse_pos("L3", &p));
	CHECK_OK(vb_parse_pos("@a", &p));
	CHECK(p.line == 0);
	/* lines are not elements */
	CHECK_OK(vb_parse_pos_unit("L3+2", 1, &p));
	CHECK(vb_parse_pos_unit("L3", 4, &p) == VB_EINVAL);
	CHECK(!strcmp(vb_err_detail(), "offset 'L3' is a line address, which does not count elements (the unit is 4 bytes)"));
	/* a --ranges line may start at a line */
	{
		uint64_t rlen;
		CHECK(vb_parse_range_line("L2-1 0x10\n", 10, 1, &p, &rlen) == 1);
		CHECK(p.line == 2 && p.before && p.n == 1 && rlen == 16);
		CHECK(vb_parse_range_line("L0 1\n", 5, 1, &p, &rlen) == -1);
		CHECK(vb_parse_range_line("L2 4\n", 5, 2, &p, &rlen) == -1);
	}
	{
		char fb[64];
		const char *round[] = {"L1", "L9+1", "L9-1", "L18446744073709551615+18446744073709551615"};
		for (size_t i = 0; i < sizeof round / sizeof round[0]; i++) {
			CHECK_OK(vb_parse_pos(round[i], &p));
			vb_pos_format(&p, fb, sizeof fb);
			CHECK(!strcmp(fb, round[i]));
		}
		CHECK_OK(vb_parse_pos("L9+0", &p));
		vb_pos_format(&p, fb, sizeof fb);
		CHECK(!strcmp(fb, "L9"));
	}

	/* line ranges: A-B, A-, -B, A */
	{
		uint64_t a, b;
		CHECK_OK(vb_parse_line_range("3-7", &a, &b));
		CHECK(a == 3 && b == 7);
		CHECK_OK(vb_parse_line_range("7-3", &a, &b));
		CHECK(a == 7 && b == 3);
		CHECK_OK(vb_parse_line_range("5", &a, &b));
		CHECK(a == 5 && b == 5);
		CHECK_OK(vb_parse_line_range("5-", &a, &b));
		CHECK(a == 5 && b == UINT64_MAX);
		CHECK_OK(vb_parse_line_range("-9", &a, &b));
		CHECK(a == 1 && b == 9);
		CHECK_OK(vb_parse_line_range("18446744073709551615-18446744073709551615", &a, &b));
		CHECK(a == UINT64_MAX && b == UINT64_MAX);
		CHECK(vb_parse_line_range("18446744073709551616", &a, &b) == VB_EINVAL);
		CHECK(strstr(vb_err_detail(), "too large") != NULL);
		CHECK(vb_parse_line_range("1-18446744073709551616", &a, &b) == VB_EINVAL);
		CHECK(vb_parse_line_range("", &a, &b) == VB_EINVAL);
		CHECK(!strcmp(vb_err_detail(), "empty line range"));
		CHECK(vb_parse_line_range("-", &a, &b) == VB_EINVAL);
		CHECK(vb_parse_line_range("0", &a, &b) == VB_EINVAL);
		CHECK(!strcmp(vb_err_detail(), "invalid line range '0' (lines count from 1)"));
		CHECK(vb_parse_line_range("0-3", &a, &b) == VB_EINVAL);
		CHECK(vb_parse_line_range("3-0", &a, &b) == VB_EINVAL);
		CHECK(vb_parse_line_range("-0", &a, &b) == VB_EINVAL);
		CHECK(vb_parse_line_range("1-2-3", &a, &b) == VB_EINVAL);
		CHECK(!strcmp(vb_err_detail(), "invalid line range '1-2-3' (expected A-B, A-, -B or A)"));
		CHECK(vb_parse_line_range("--3", &a, &b) == VB_EINVAL);
		CHECK(vb_parse_line_range("1,3", &a, &b) == VB_EINVAL);
		CHECK(vb_parse_line_range("1 -3", &a, &b) == VB_EINVAL);
		CHECK(vb_parse_line_range("1K", &a, &b) == VB_EINVAL);
		CHECK(vb_parse_line_range("0x3", &a, &b) == VB_EINVAL);
		CHECK(vb_parse_line_range("L3", &a, &b) == VB_EINVAL);
		CHECK(vb_parse_line_range("+3", &a, &b) == VB_EINVAL);
		CHECK(vb_parse_line_range("3-+4", &a, &b) == VB_EINVAL);
	}

	char buf[32];
	CHECK_OK(vb_parse_pos("0", &p));
	p.from_end = 1;
	p.n = 5;
	vb_pos_format(&p, buf, sizeof buf);
	CHECK(!strcmp(buf, "end-5"));
	return test_status("num");
}
