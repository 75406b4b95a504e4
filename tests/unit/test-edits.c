/*
 * test-edits: a batch of edits (lib/edits): the line grammar (fields,
 * both DATA spellings, every escape, comments, CRLF, each malformed form),
 * the bounds (edit count, DATA total, line length), reading from a
 * descriptor with line numbers, the overlap check, the order of inserts
 * at one offset, the escape spelling read back exactly, and random
 * batches applied to a byte array against a model that builds the result
 * directly in the coordinates of the content before the batch.
 */
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "edits.h"

static struct vb_edits *mk(size_t max, uint64_t data)
{
	struct vb_edits *e;

	REQUIRE_OK(vb_edits_create(max, data, &e));
	return e;
}

static int parse(struct vb_edits *e, const char *s, uint64_t tag)
{
	return vb_edits_parse_line(e, s, strlen(s), tag);
}

/* One line parsed on its own: its edit (ok) or -1. */
static int one(const char *s, struct vb_edit *out, unsigned char *data, size_t cap)
{
	struct vb_edits *e = mk(8, 1 << 20);
	int r = parse(e, s, 1);

	if (r == 1) {
		*out = *vb_edits_get(e, 0);
		REQUIRE(out->ndata <= cap);
		if (out->ndata)
			memcpy(data, out->data, out->ndata);
		out->data = NULL;
	}
	vb_edits_free(e);
	return r;
}

static void test_grammar(void)
{
	struct vb_edit d;
	unsigned char b[64];

	CHECK(one("10 3\n", &d, b, sizeof b) == 1);
	CHECK_EQ_U64(d.pos.n, 10);
	CHECK_EQ_U64(d.len, 3);
	CHECK(!d.has_data);
	CHECK(one("  end-2\t0x10 0x00ff41\r\n", &d, b, sizeof b) == 1);
	CHECK(d.pos.from_end && d.pos.n == 2);
	CHECK_EQ_U64(d.len, 16);
	CHECK(d.has_data && d.ndata == 3 && !memcmp(b, "\0\xff" "A", 3));
	CHECK(one("@a+1 0 \"x\"", &d, b, sizeof b) == 1);
	CHECK(!strcmp(d.pos.anchor, "a") && d.pos.n == 1);
	CHECK(one("L3 1K 0x", &d, b, sizeof b) == 1);
	CHECK(d.pos.line == 3 && d.len == 1024 && d.has_data && d.ndata == 0);
	CHECK(one("0 0 \"a\\tb\\n\\r\\\\\\\"\\'\\a\\b\\v\\f\\x7F\\0\\101\\3770\"  ", &d, b,
		  sizeof b) == 1);
	CHECK(d.ndata == 17 && !memcmp(b, "a\tb\n\r\\\"'\a\b\v\f\x7f\0A\xff", 16) && b[16] == '0');
	CHECK(one("0 0 \"raw\rcr\"", &d, b, sizeof b) == 1);
	CHECK(d.ndata == 6 && !memcmp(b, "raw\rcr", 6));
	/* lines without an edit */
	CHECK(one("", &d, b, sizeof b) == 0);
	CHECK(one("\n", &d, b, sizeof b) == 0);
	CHECK(one("  # 1 2\n", &d, b, sizeof b) == 0);
	CHECK(one("\r\n", &d, b, sizeof b) == 0);
	/* malformed */
	const char *bad[] = {
		"10", "x 1", "1 y", "1 2 3", "1 2 0x1", "1 2 0xzz", "1 2 0x12g", "1 2 \"abc",
		"1 2 \"a\\q\"", "1 2 \"\\x4\"", "1 2 \"\\400\"", "1 2 \"a\" b", "1 2 \"a\"\"b\"",
		"1 2 'a'", "1 2 \"a\\", "L0 1", "-1x 2",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		int r = one(bad[i], &d, b, sizeof b);
		if (r != -1)
			fprintf(stderr, "accepted: %s\n", bad[i]);
		CHECK(r == -1);
		CHECK(vb_err_detail()[0]);
	}
	struct vb_edits *e = mk(8, 64);
	CHECK(vb_edits_parse_line(e, "1 2 \"a\0b\"", 9, 1) == -1);
	CHECK(vb_edits_parse_line(e, "1 2\n3 4", 7, 1) == -1);
	CHECK(vb_edits_count(e) == 0);
	vb_edits_free(e);
}

static void test_bounds(void)
{
	struct vb_edits *e = mk(2, 4);

	CHECK(parse(e, "0 0 \"ab\"", 1) == 1);
	CHECK(parse(e, "0 0 0x0102", 2) == 1);
	CHECK(parse(e, "0 1", 3) == -1); /* the third edit */
	CHECK(strstr(vb_err_detail(), "too many edits"));
	vb_edits_free(e);
	e = mk(8, 4);
	CHECK(parse(e, "0 0 \"abc\"", 1) == 1);
	CHECK(parse(e, "0 0 \"ab\"", 2) == -1); /* 5 bytes of DATA */
	CHECK(strstr(vb_err_detail(), "VB_EDITS_MAX"));
	CHECK(parse(e, "0 0 \"a\"", 3) == 1);
	CHECK(vb_edits_count(e) == 2);
	vb_edits_free(e);
}

/* vb_edits_read from a pipe holding `text`. */
static enum vb_err read_text(struct vb_edits *e, const char *text, size_t n, uint64_t *bad)
{
	int p[2];
	enum vb_err rc;

	REQUIRE(pipe(p) == 0);
	REQUIRE(n < 60000);
	REQUIRE(write(p[1], text, n) == (ssize_t)n);
	close(p[1]);
	rc = vb_edits_read(e, p[0], bad);
	close(p[0]);
	return rc;
}

static void test_read(void)
{
	struct vb_edits *e = mk(16, 1 << 10);
	uint64_t bad = 99;
	const char ok[] = "# header\n5 1\n\n0 0 \"a\"\n7 2 0xff"; /* no final newline */

	CHECK_OK(read_text(e, ok, sizeof ok - 1, &bad));
	CHECK(vb_edits_count(e) == 3);
	CHECK_EQ_U64(vb_edits_get(e, 0)->tag, 2);
	CHECK_EQ_U64(vb_edits_get(e, 1)->tag, 4);
	CHECK_EQ_U64(vb_edits_get(e, 2)->tag, 5);
	vb_edits_free(e);
	e = mk(16, 1 << 10);
	const char ko[] = "1 1\n2 2\n3 x\n4 4\n";
	CHECK(read_text(e, ko, sizeof ko - 1, &bad) == VB_EINVAL);
	CHECK_EQ_U64(bad, 3);
	vb_edits_free(e);
	/* lines across many reads: a long DATA among short lines */
	e = mk(16, 1 << 20);
	FILE *f = tmpfile();
	REQUIRE(f);
	fputs("1 1\n0 0 0x", f);
	for (int i = 0; i < 100000; i++)
		fprintf(f, "%02x", i & 255);
	fputs("\n2 2\n", f);
	REQUIRE(fflush(f) == 0);
	rewind(f);
	CHECK_OK(vb_edits_read(e, fileno(f), &bad));
	fclose(f);
	REQUIRE(vb_edits_count(e) == 3);
	CHECK_EQ_U64(vb_edits_get(e, 1)->ndata, 100000);
	CHECK(vb_edits_get(e, 1)->data[99999] == (99999 & 255));
	CHECK_EQ_U64(vb_edits_get(e, 2)->tag, 3);
	vb_edits_free(e);
	/* a line longer than 4 * max_data + slack is refused */
	e = mk(16, 16);
	static char big[VB_EDITS_LINE_SLACK + 200];
	memset(big, ' ', sizeof big);
	memcpy(big, "1 2\n", 4);
	big[sizeof big - 1] = '\n';
	CHECK(read_text(e, big, sizeof big, &bad) == VB_ELIMIT);
	CHECK_EQ_U64(bad, 2);
	vb_edits_free(e);
}

/* Resolve every edit as plain offsets (no anchors here). */
static void resolve(struct vb_edits *e)
{
	for (size_t i = 0; i < vb_edits_count(e); i++) {
		struct vb_edit *d = vb_edits_get(e, i);
		d->at = d->pos.n;
		d->bytes = d->len;
	}
}

struct buf {
	unsigned char v[4096];
	size_t n;
};

static enum vb_err apply_buf(void *arg, uint64_t at, uint64_t bytes, const unsigned char *data,
			     size_t ndata)
{
	struct buf *b = arg;

	REQUIRE(at + bytes <= b->n && b->n - bytes + ndata <= sizeof b->v);
	memmove(b->v + at + ndata, b->v + at + bytes, b->n - at - bytes);
	if (ndata)
		memcpy(b->v + at, data, ndata);
	b->n = b->n - bytes + ndata;
	return VB_OK;
}

static void test_overlap(void)
{
	const char *clash[][2] = {
		{"0 5", "4 2"}, {"3 2", "3 1"}, {"0 5 \"x\"", "2 0 \"y\""}, {"2 0 \"y\"", "0 5"},
	};
	const char *fine[][2] = {
		{"0 5", "5 2"}, {"0 5", "5 0 \"a\""}, {"0 5", "0 0 \"a\""}, {"3 0 \"a\"", "3 0 \"b\""},
		{"3 0", "2 1"},
	};
	uint64_t bad;

	for (size_t i = 0; i < sizeof clash / sizeof *clash; i++) {
		struct vb_edits *e = mk(8, 64);
		CHECK(parse(e, clash[i][0], 1) == 1 && parse(e, clash[i][1], 2) == 1);
		resolve(e);
		CHECK(vb_edits_check(e, &bad) == VB_EINVAL);
		CHECK_EQ_U64(bad, 2);
		CHECK(strstr(vb_err_detail(), "line 1"));
		vb_edits_free(e);
	}
	for (size_t i = 0; i < sizeof fine / sizeof *fine; i++) {
		struct vb_edits *e = mk(8, 64);
		CHECK(parse(e, fine[i][0], 1) == 1 && parse(e, fine[i][1], 2) == 1);
		resolve(e);
		CHECK_OK(vb_edits_check(e, &bad));
		vb_edits_free(e);
	}
	struct vb_edits *e = mk(8, 64);
	CHECK(parse(e, "0 0", 7) == 1);
	resolve(e);
	vb_edits_get(e, 0)->at = UINT64_MAX;
	vb_edits_get(e, 0)->bytes = 1;
	CHECK(vb_edits_check(e, &bad) == VB_ERANGE);
	CHECK_EQ_U64(bad, 7);
	vb_edits_free(e);
}

/* Apply `lines` to "0123456789" and compare with `want`. */
static void expect(const char *const *lines, size_t n, const char *want)
{
	struct vb_edits *e = mk(64, 1024);
	struct buf b;
	uint64_t bad;

	for (size_t i = 0; i < n; i++)
		REQUIRE(parse(e, lines[i], i + 1) == 1);
	resolve(e);
	REQUIRE_OK(vb_edits_check(e, &bad));
	memcpy(b.v, "0123456789", 10);
	b.n = 10;
	CHECK_OK(vb_edits_apply(e, apply_buf, &b));
	if (b.n != strlen(want) || memcmp(b.v, want, b.n)) {
		fprintf(stderr, "got '%.*s', want '%s'\n", (int)b.n, b.v, want);
		CHECK(0);
	}
	vb_edits_free(e);
}

static void test_order(void)
{
	const char *a[] = {"3 0 \"a\"", "3 2 \"R\"", "3 0 \"b\"", "3 0 \"c\"", "0 1", "9 1 \"Z\"",
			   "10 0 \"!\""};
	expect(a, 7, "12aRbc5678Z!");
	const char *b[] = {"10 0 \"x\"", "0 10 \"new\"", "0 0 \"<\""};
	expect(b, 3, "new<x");
	const char *c[] = {"2 3", "2 0 \"i\"", "0 0", "5 0 0x"};
	expect(c, 4, "01i56789");
}

static void test_escape(void)
{
	unsigned char all[256];
	char text[4 * 256 + 16], line[4 * 256 + 32];
	struct vb_edit d;
	unsigned char back[256];

	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	size_t k = vb_edits_escape(all, 256, text);
	CHECK(k <= 4 * 256);
	for (size_t i = 0; i < k; i++)
		CHECK(text[i] >= 0x20 && text[i] < 0x7f);
	snprintf(line, sizeof line, "0 0 \"%.*s\"\n", (int)k, text);
	CHECK(one(line, &d, back, sizeof back) == 1);
	CHECK(d.ndata == 256 && !memcmp(back, all, 256));
	/* pieces spell the same as the whole */
	char t2[4 * 256];
	size_t k1 = vb_edits_escape(all, 100, t2);
	size_t k2 = vb_edits_escape(all + 100, 156, t2 + k1);
	CHECK(k1 + k2 == k && !memcmp(t2, text, k));
}

/* Random batches: vb_edits_apply on a buffer against the model. */
static void test_random(void)
{
	uint64_t s = 12345;

	for (int round = 0; round < 3000; round++) {
		struct vb_edits *e = mk(64, 4096);
		struct buf b, want;
		size_t len = test_rand(&s) % 40, n = test_rand(&s) % 8;
		uint64_t bad;
		char line[128];

		for (size_t i = 0; i < len; i++)
			b.v[i] = (unsigned char)('a' + test_rand(&s) % 26);
		b.n = len;
		for (size_t i = 0; i < n; i++) {
			uint64_t at = test_rand(&s) % (len + 1);
			uint64_t cnt = test_rand(&s) % 3 ? 0 : test_rand(&s) % (len - at + 1);
			int kind = (int)(test_rand(&s) % 3);
			if (kind == 0)
				snprintf(line, sizeof line, "%llu %llu", (unsigned long long)at,
					 (unsigned long long)cnt);
			else
				snprintf(line, sizeof line, "%llu %llu \"%c%c\\n\"", (unsigned long long)at,
					 (unsigned long long)cnt, (char)('A' + i), (char)('A' + i));
			REQUIRE(parse(e, line, i + 1) == 1);
		}
		resolve(e);
		if (vb_edits_check(e, &bad)) {
			vb_edits_free(e);
			continue;
		}
		/* the model: the sorted edits walked once over the content */
		size_t c = 0;
		want.n = 0;
		for (size_t i = 0; i < vb_edits_count(e); i++) {
			const struct vb_edit *d = vb_edits_get(e, i);
			if (d->at > c) {
				memcpy(want.v + want.n, b.v + c, d->at - c);
				want.n += d->at - c;
				c = d->at;
			}
			if (d->ndata)
				memcpy(want.v + want.n, d->data, d->ndata);
			want.n += d->ndata;
			if (d->at + d->bytes > c)
				c = d->at + d->bytes;
		}
		memcpy(want.v + want.n, b.v + c, len - c);
		want.n += len - c;
		CHECK_OK(vb_edits_apply(e, apply_buf, &b));
		CHECK(b.n == want.n && !memcmp(b.v, want.v, b.n));
		vb_edits_free(e);
	}
}

int main(void)
{
	test_grammar();
	test_bounds();
	test_read();
	test_overlap();
	test_order();
	test_escape();
	test_random();
	return test_status("test-edits");
}
