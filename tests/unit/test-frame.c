/*
 * test-frame: the framers.
 *   - delimiter framing equals a whole-input reference implementation for
 *     random inputs, random delimiter sets (overlapping ones such as
 *     \r / \r\n and ab / abc / b) and every way of cutting the input into
 *     reads (random cuts, and 1-byte reads, so every delimiter is cut), on
 *     linear and segmented buffers;
 *   - counting and replacing over buffers large enough for the wide
 *     loops, against byte-by-byte results;
 *   - the maximum record size, and finding the end of an oversized record;
 *   - length-prefix framing: every field size and byte order, varints,
 *     offsets, adjustments, stripping, zero-length frames, headers split
 *     across reads, a length over the maximum (refused before the frame
 *     arrives), a negative adjusted length, a strip larger than the frame,
 *     a truncated last frame; fixed framing; the binary helpers; escapes;
 *   - a record larger than the maximum at the end of input: complete or
 *     the incomplete last record, for every framing; and the rule of
 *     --oversize and --final (vb_frame_policy_fate) as a table.
 */
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "frame.h"
#include "rnd.h"


struct rec {
	size_t start, len, delim;
	int unterminated;
};

/* The reference: earliest position where some delimiter matches fully,
 * longest there. */
static size_t reference(const unsigned char *in, size_t n, unsigned char **d, size_t *dl,
			size_t nd, struct rec *out)
{
	size_t start = 0, k, cnt = 0;
	while (start < n) {
		size_t best = 0;
		for (k = start; k < n; k++) {
			for (size_t j = 0; j < nd; j++)
				if (k + dl[j] <= n && !memcmp(in + k, d[j], dl[j]) && dl[j] > best)
					best = dl[j];
			if (best)
				break;
		}
		if (!best) {
			out[cnt++] = (struct rec){start, n - start, 0, 1};
			break;
		}
		out[cnt++] = (struct rec){start, k - start, best, 0};
		start = k + best;
	}
	return cnt;
}

/* Feed `in` in chunks (cut by `cut`: 0 random, else fixed size) and
 * collect the frames. */
static size_t streamed(struct vb_sbuf *b, struct vb_framer *f, const unsigned char *in, size_t n,
		       size_t cut, struct rec *out, unsigned char *bytes_ok)
{
	size_t fed = 0, consumed = 0, cnt = 0;
	struct vb_frame fr;
	vb_framer_reset(f);
	*bytes_ok = 1;
	for (;;) {
		int eof = fed == n;
		struct vb_frame many[8];
		size_t got = 0;
		enum vb_err rc;
		/* one at a time, several at once, or a run of a lone one-byte
		 * delimiter's records: the same frames */
		int how = (int)rnd(3);
		if (how == 2) {
			unsigned char c;
			uint64_t recs;
			size_t used, run;
			const unsigned char *p = vb_sbuf_contig(b, 0, &run);
			if (vb_framer_lone_run(f, b, 1 + rnd(rnd(2) ? 3 : 1000), &c, &recs, &used)) {
				REQUIRE(run >= used);
				if (memcmp(p, in + consumed, used))
					*bytes_ok = 0;
				/* the records are the bytes up to each c */
				size_t at = 0;
				for (uint64_t i = 0; i < recs; i++) {
					const unsigned char *q = memchr(p + at, c, used - at);
					REQUIRE(q != NULL);
					size_t l = (size_t)(q - p) - at;
					out[cnt++] = (struct rec){consumed, l, 1, 0};
					consumed += l + 1;
					at += l + 1;
				}
				CHECK_EQ_U64(at, used);
				REQUIRE_OK(vb_sbuf_advance(b, used));
				continue;
			}
			how = 0;
		}
		if (how == 1) {
			rc = vb_framer_next(f, b, eof, &fr);
			many[0] = fr;
			got = rc == VB_OK;
		} else {
			rc = vb_framer_next_many(f, b, eof, many, 1 + rnd(8), &got);
		}
		if (rc == VB_OK) {
			size_t at = 0;
			for (size_t i = 0; i < got; i++) {
				unsigned char tmp[4096];
				fr = many[i];
				if (fr.len + fr.delim <= sizeof tmp) {
					vb_sbuf_peek(b, at, tmp, fr.len + fr.delim);
					if (memcmp(tmp, in + consumed, fr.len + fr.delim))
						*bytes_ok = 0;
				}
				out[cnt++] = (struct rec){consumed, fr.len, fr.delim, fr.unterminated};
				consumed += fr.total;
				at += fr.total;
			}
			REQUIRE_OK(vb_sbuf_advance(b, at));
			continue;
		}
		REQUIRE(rc == VB_ENEEDMORE);
		if (eof)
			break;
		size_t take = cut ? cut : 1 + rnd(rnd(3) ? 7 : 200);
		if (take > n - fed)
			take = n - fed;
		REQUIRE_OK(vb_sbuf_append(b, in + fed, take));
		fed += take;
	}
	CHECK_EQ_U64(vb_sbuf_len(b), 0);
	return cnt;
}

/* Count records with vb_framer_count, feeding in chunks. */
static uint64_t counted(struct vb_sbuf *b, struct vb_framer *f, const unsigned char *in, size_t n,
			size_t cut)
{
	size_t fed = 0;
	uint64_t total = 0;
	vb_framer_reset(f);
	for (;;) {
		int eof = fed == n;
		uint64_t recs;
		size_t used;
		enum vb_err rc = vb_framer_count(f, b, eof, &recs, &used);
		if (rc == VB_OK) {
			total += recs;
			REQUIRE_OK(vb_sbuf_advance(b, used));
			continue;
		}
		REQUIRE(rc == VB_ENEEDMORE);
		if (eof)
			break;
		size_t take = cut ? cut : 1 + rnd(rnd(3) ? 7 : 200);
		if (take > n - fed)
			take = n - fed;
		REQUIRE_OK(vb_sbuf_append(b, in + fed, take));
		fed += take;
	}
	return total;
}

static void delimiter_invariance(struct vb_sbuf *b, const char *name)
{
	static const char alpha[] = "ab\r\nc";
	static const char *fixed_sets[][4] = {
		{"\n", "\r\n", "\r", NULL},
		{"ab", "abc", "b", NULL},
		{"\r\n", NULL},
		{"aa", "a", NULL},
		{"abab", "ba", NULL},
		{"\n", NULL},
		{"c", "\r\n", NULL},
	};
	unsigned char in[3000];
	struct rec ref[3001], got[3001];
	int cases = 0;

	for (int c = 0; c < 400; c++) {
		unsigned char *d[4];
		size_t dl[4], nd = 0;
		unsigned char store[4][4];
		if (c < 7 * 20) {
			const char **set = fixed_sets[c % 7];
			for (; set[nd]; nd++) {
				d[nd] = (unsigned char *)set[nd];
				dl[nd] = strlen(set[nd]);
			}
		} else {
			nd = 1 + rnd(4);
			for (size_t j = 0; j < nd; j++) {
				dl[j] = 1 + rnd(3);
				for (size_t k = 0; k < dl[j]; k++)
					store[j][k] = (unsigned char)alpha[rnd(5)];
				d[j] = store[j];
			}
		}
		size_t n = rnd(c % 7 ? 3000 : 40);
		for (size_t i = 0; i < n; i++)
			in[i] = (unsigned char)alpha[rnd(5)];
		size_t nref = reference(in, n, d, dl, nd, ref);

		struct vb_framer *f;
		REQUIRE_OK(vb_framer_delim((const unsigned char *const *)d, dl, nd, &f));
		size_t cuts[] = {0, 1, 0, 2, 0, 3};
		for (size_t ci = 0; ci < sizeof cuts / sizeof cuts[0]; ci++) {
			unsigned char ok;
			size_t ngot = streamed(b, f, in, n, cuts[ci], got, &ok);
			CHECK(ok);
			CHECK_EQ_U64(ngot, nref);
			int same = ngot == nref;
			for (size_t i = 0; same && i < nref; i++)
				same = got[i].start == ref[i].start && got[i].len == ref[i].len &&
				       got[i].delim == ref[i].delim &&
				       got[i].unterminated == ref[i].unterminated;
			if (!same) {
				fprintf(stderr, "%s: case %d cut %zu differs (%zu delimiters, first '%.*s')\n",
					name, c, cuts[ci], nd, (int)dl[0], d[0]);
				CHECK(0);
				vb_framer_free(f);
				return;
			}
			cases++;
		}
		CHECK_EQ_U64(counted(b, f, in, n, 0), nref);
		CHECK_EQ_U64(counted(b, f, in, n, 1 + rnd(300)), nref);
		vb_framer_free(f);
	}
	printf("%s: %d chunkings matched the reference\n", name, cases);
}

/* Large buffers for the 64-byte counting loop (lanes summed every 63
 * rounds) and the 16-byte replacing loop, against byte-by-byte results. */
static void wide(void)
{
	static unsigned char in[200000], copy[200000];
	const unsigned char *nl = (const unsigned char *)"\n";
	size_t one = 1;
	struct vb_framer *f;
	struct vb_sbuf *b;

	REQUIRE_OK(vb_framer_delim(&nl, &one, 1, &f));
	REQUIRE_OK(vb_sbuf_create_linear(0, &b));
	for (int c = 0; c < 20; c++) {
		size_t n = rnd(sizeof in), lines = 0;
		int dense = c % 3 == 0;
		for (size_t i = 0; i < n; i++) {
			in[i] = dense ? (rnd(2) ? '\n' : 'x') : rnd(60) ? (unsigned char)('a' + rnd(26)) : '\n';
			lines += in[i] == '\n';
		}
		uint64_t want = lines + (n && in[n - 1] != '\n');
		CHECK_EQ_U64(counted(b, f, in, n, n ? n : 1), want);
		CHECK_EQ_U64(counted(b, f, in, n, 1 + rnd(70000)), want);
		memcpy(copy, in, n);
		size_t from = rnd(n + 1), len = rnd(n - from + 1);
		vb_bytes_replace(copy + from, len, '\n', 0);
		int same = 1;
		for (size_t i = 0; i < n; i++)
			same &= copy[i] == (i >= from && i < from + len && in[i] == '\n' ? 0 : in[i]);
		CHECK(same);
	}
	vb_sbuf_free(b);
	vb_framer_free(f);
}

static void maximum(struct vb_sbuf *b)
{
	const unsigned char *nl = (const unsigned char *)"\n";
	size_t one = 1, pos, dl;
	struct vb_framer *f;
	struct vb_frame fr;

	REQUIRE_OK(vb_framer_delim(&nl, &one, 1, &f));
	vb_framer_set_max(f, 5);
	REQUIRE_OK(vb_sbuf_append(b, "12345\n123456\nok\n", 16));
	CHECK(vb_framer_next(f, b, 0, &fr) == VB_OK && fr.len == 5);
	vb_sbuf_advance(b, fr.total);
	CHECK(vb_framer_next(f, b, 0, &fr) == VB_EFRAME);
	/* skip the oversized record by finding its end */
	CHECK(vb_framer_find_end(f, b, 0, &pos, &dl) == VB_OK && pos == 6 && dl == 1);
	vb_sbuf_advance(b, pos + dl);
	vb_framer_discard(f, pos + dl);
	CHECK(vb_framer_next(f, b, 0, &fr) == VB_OK && fr.len == 2);
	vb_sbuf_advance(b, fr.total);
	/* an oversized record that has no end yet: known as soon as more
	 * than the maximum has arrived */
	REQUIRE_OK(vb_sbuf_append(b, "abcdef", 6));
	CHECK(vb_framer_next(f, b, 0, &fr) == VB_EFRAME);
	CHECK(vb_framer_find_end(f, b, 0, &pos, &dl) == VB_ENEEDMORE);
	vb_sbuf_advance(b, 6);
	vb_framer_discard(f, 6);
	REQUIRE_OK(vb_sbuf_append(b, "gh\nxy", 5));
	CHECK(vb_framer_find_end(f, b, 0, &pos, &dl) == VB_OK && pos == 2);
	vb_sbuf_advance(b, 3);
	vb_framer_discard(f, 3);
	CHECK(vb_framer_next(f, b, 0, &fr) == VB_ENEEDMORE);
	CHECK(vb_framer_next(f, b, 1, &fr) == VB_OK && fr.len == 2 && fr.unterminated);
	vb_sbuf_advance(b, fr.total);
	vb_framer_free(f);
}

static void lp_stream(struct vb_framer *f, const unsigned char *in, size_t n, size_t cut,
		      struct vb_frame *frames, size_t *nframes, enum vb_err *last)
{
	struct vb_sbuf *b;
	REQUIRE_OK(vb_sbuf_create_linear(0, &b));
	size_t fed = 0, k = 0;
	*last = VB_OK;
	for (;;) {
		struct vb_frame fr;
		int eof = fed == n;
		enum vb_err rc = vb_framer_next(f, b, eof, &fr);
		if (rc == VB_OK) {
			frames[k++] = fr;
			vb_sbuf_advance(b, fr.total);
			continue;
		}
		if (rc != VB_ENEEDMORE) {
			*last = rc;
			frames[k++] = fr;
			break;
		}
		if (eof)
			break;
		size_t take = cut < n - fed ? cut : n - fed;
		REQUIRE_OK(vb_sbuf_append(b, in + fed, take));
		fed += take;
	}
	*nframes = k;
	vb_sbuf_free(b);
}

static void length_prefix(void)
{
	struct vb_lenspec sp;
	struct vb_framer *f;
	struct vb_frame fr[64];
	size_t nf;
	enum vb_err last;

	/* u32be, default strip (the header): zero-length frame included */
	const unsigned char m1[] = {0, 0, 0, 3, 'a', 'b', 'c', 0, 0, 0, 0, 0, 0, 0, 1, 'z'};
	REQUIRE_OK(vb_lenspec_parse("u32be", &sp));
	REQUIRE_OK(vb_framer_length(&sp, &f));
	for (size_t cut = 1; cut <= sizeof m1; cut++) {
		lp_stream(f, m1, sizeof m1, cut, fr, &nf, &last);
		CHECK(last == VB_OK && nf == 3);
		CHECK(fr[0].skip == 4 && fr[0].len == 3 && fr[0].total == 7);
		CHECK(fr[1].len == 0 && fr[1].total == 4);
		CHECK(fr[2].len == 1 && !fr[2].unterminated);
	}
	/* the maximum is checked from the header alone, before the frame
	 * arrives (more input follows the header, not its end) */
	vb_framer_set_max(f, 5);
	const unsigned char big[] = {0, 0, 0x10, 0, 'x'};
	lp_stream(f, big, sizeof big, 4, fr, &nf, &last);
	CHECK(last == VB_EFRAME && fr[nf - 1].total == 0x1004 && fr[nf - 1].skip == 4 &&
	      !fr[nf - 1].unterminated);
	/* at the end of input the frame is known to be cut off: all the rest */
	lp_stream(f, big, 4, 4, fr, &nf, &last);
	CHECK(last == VB_EFRAME && fr[nf - 1].total == 4 && fr[nf - 1].skip == 4 &&
	      fr[nf - 1].len == 0 && fr[nf - 1].unterminated);
	vb_framer_free(f);

	/* every field size and byte order, with offset, adjust and strip */
	const char *names[] = {"u8", "u16be", "u16le", "u24be", "u24le", "u32be", "u32le", "u64be", "u64le", "varint"};
	for (size_t i = 0; i < 10; i++) {
		unsigned char in[64], field[10];
		size_t flen;
		REQUIRE_OK(vb_lenspec_parse(names[i], &sp));
		sp.offset = 2;
		sp.adjust = -1;  /* the field counts one trailer byte too many */
		/* payload 'hello' (5): the field holds 5 minus the adjustment, 6 */
		REQUIRE_OK(vb_lenspec_encode(&sp, 5, field, &flen));
		uint64_t v6 = 0;
		if (i == 9)
			v6 = field[0];
		else
			for (unsigned k = 0; k < sp.size; k++)
				v6 |= (uint64_t)field[k] << (8 * (sp.big_endian ? sp.size - 1 - k : k));
		CHECK_EQ_U64(v6, 6);
		size_t n = 0;
		in[n++] = 0xAA;
		in[n++] = 0xBB;
		memcpy(in + n, field, flen);
		n += flen;
		memcpy(in + n, "hello", 5);
		n += 5;
		REQUIRE_OK(vb_framer_length(&sp, &f));
		for (size_t cut = 1; cut <= n; cut++) {
			lp_stream(f, in, n, cut, fr, &nf, &last);
			CHECK(last == VB_OK && nf == 1 && fr[0].skip == 2 + flen && fr[0].len == 5 &&
			      fr[0].total == n && !fr[0].unterminated);
		}
		vb_framer_free(f);
		sp.strip = 0;
		sp.strip_set = 1; /* keep the header */
		REQUIRE_OK(vb_framer_length(&sp, &f));
		lp_stream(f, in, n, 3, fr, &nf, &last);
		CHECK(last == VB_OK && nf == 1 && fr[0].skip == 0 && fr[0].len == n);
		vb_framer_free(f);
	}

	/* a negative adjusted length, a strip larger than the frame */
	REQUIRE_OK(vb_lenspec_parse("u8", &sp));
	sp.adjust = -5;
	REQUIRE_OK(vb_framer_length(&sp, &f));
	const unsigned char neg[] = {3, 'a', 'b', 'c'};
	lp_stream(f, neg, sizeof neg, 4, fr, &nf, &last);
	CHECK(last == VB_EINVAL && strstr(vb_err_detail(), "negative"));
	vb_framer_free(f);
	REQUIRE_OK(vb_lenspec_parse("u8", &sp));
	sp.strip = 9;
	sp.strip_set = 1;
	REQUIRE_OK(vb_framer_length(&sp, &f));
	lp_stream(f, neg, sizeof neg, 4, fr, &nf, &last);
	CHECK(last == VB_EINVAL && strstr(vb_err_detail(), "strip"));
	vb_framer_free(f);

	/* the whole range of the adjustment: INT64_MIN against a field of
	 * 2^63 + 3 leaves 3 bytes; against 3 it is negative; INT64_MAX
	 * against 2^64 - 1 overflows */
	REQUIRE_OK(vb_lenspec_parse("u64be", &sp));
	sp.adjust = INT64_MIN;
	REQUIRE_OK(vb_framer_length(&sp, &f));
	const unsigned char lo[] = {0x80, 0, 0, 0, 0, 0, 0, 3, 'a', 'b', 'c'};
	lp_stream(f, lo, sizeof lo, 5, fr, &nf, &last);
	CHECK(last == VB_OK && nf == 1 && fr[0].skip == 8 && fr[0].len == 3 && fr[0].total == 11);
	const unsigned char lo3[] = {0, 0, 0, 0, 0, 0, 0, 3, 'a', 'b', 'c'};
	lp_stream(f, lo3, sizeof lo3, 11, fr, &nf, &last);
	CHECK(last == VB_EINVAL && strstr(vb_err_detail(), "adjusted by -9223372036854775808 is negative"));
	vb_framer_free(f);
	sp.adjust = INT64_MAX;
	REQUIRE_OK(vb_framer_length(&sp, &f));
	const unsigned char hi[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	lp_stream(f, hi, sizeof hi, 8, fr, &nf, &last);
	CHECK(last == VB_EINVAL && strstr(vb_err_detail(), "overflows"));
	/* INT64_MAX against 0: a frame of 8 + 2^63 - 1 bytes, over the
	 * maximum (the header is followed by more input, not its end) */
	const unsigned char zero[] = {0, 0, 0, 0, 0, 0, 0, 0, 'x'};
	uint64_t huge = 8 + (uint64_t)INT64_MAX;
	vb_framer_set_max(f, 100);
	lp_stream(f, zero, sizeof zero, 8, fr, &nf, &last);
	CHECK(last == VB_EFRAME && fr[nf - 1].total == (huge > SIZE_MAX ? SIZE_MAX : (size_t)huge));
	vb_framer_free(f);

	/* a truncated last frame, a truncated header */
	REQUIRE_OK(vb_lenspec_parse("u16be", &sp));
	REQUIRE_OK(vb_framer_length(&sp, &f));
	const unsigned char tr[] = {0, 9, 'a', 'b'};
	lp_stream(f, tr, sizeof tr, 1, fr, &nf, &last);
	CHECK(last == VB_OK && nf == 1 && fr[0].unterminated && fr[0].total == 4);
	lp_stream(f, tr, 1, 1, fr, &nf, &last);
	CHECK(last == VB_OK && nf == 1 && fr[0].unterminated && fr[0].total == 1);
	vb_framer_free(f);

	/* varint: multi-byte lengths and a malformed 11-byte one */
	REQUIRE_OK(vb_lenspec_parse("varint", &sp));
	REQUIRE_OK(vb_framer_length(&sp, &f));
	static unsigned char v[400];
	v[0] = 0xac;
	v[1] = 0x02; /* 300 */
	memset(v + 2, 'x', 300);
	for (size_t cut = 1; cut < 5; cut++) {
		lp_stream(f, v, 302, cut, fr, &nf, &last);
		CHECK(last == VB_OK && nf == 1 && fr[0].skip == 2 && fr[0].len == 300);
	}
	unsigned char bad[12];
	memset(bad, 0xff, sizeof bad);
	lp_stream(f, bad, sizeof bad, 12, fr, &nf, &last);
	CHECK(last == VB_EINVAL);
	vb_framer_free(f);

	/* encode refuses what does not fit */
	unsigned char out[10];
	size_t on;
	REQUIRE_OK(vb_lenspec_parse("u8", &sp));
	CHECK(vb_lenspec_encode(&sp, 256, out, &on) == VB_ERANGE);
	CHECK(vb_lenspec_encode(&sp, 255, out, &on) == VB_OK && on == 1 && out[0] == 255);
	REQUIRE_OK(vb_lenspec_parse("u24le", &sp));
	CHECK(vb_lenspec_encode(&sp, 0x010203, out, &on) == VB_OK && on == 3 && out[0] == 3 &&
	      out[2] == 1);
	CHECK(vb_lenspec_parse("u12", &sp) == VB_EINVAL);
}

/* ASCII length fields: each form encodes random records that frame back
 * the same however the input is cut; netstring's ',' is checked; pkt-line's
 * 0000-0003 are records of no data; malformed fields are errors that say
 * what was wrong; vb_lenspec_parse takes dec:C and hex:C and refuses a
 * digit as C. */
static void text_lengths(void)
{
	static const char *forms[] = {"netstring", "syslog", "pkt-line", "dec:\\n", "hex:;"};
	struct vb_lenspec sp;
	struct vb_framer *f;
	struct vb_frame fr[64];
	size_t nf;
	enum vb_err last;

	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		unsigned char in[4096], h[VB_LENSPEC_MAX];
		size_t n = 0, lens[20];
		REQUIRE_OK(vb_lenspec_parse(forms[i], &sp));
		REQUIRE_OK(vb_framer_length(&sp, &f));
		unsigned char tb[VB_LENSPEC_MAX];
		int tr = vb_lenspec_tail(&sp, 0, tb) ? tb[0] : -1;
		for (size_t k = 0; k < 20; k++) {
			size_t hn, l = k == 3 ? 0 : rnd(150);
			REQUIRE_OK(vb_lenspec_encode(&sp, l, h, &hn));
			memcpy(in + n, h, hn);
			n += hn;
			for (size_t j = 0; j < l; j++)
				in[n++] = (unsigned char)rnd(256);
			if (tr >= 0)
				in[n++] = (unsigned char)tr;
			lens[k] = l;
		}
		for (size_t cut = 1; cut <= 40; cut += 3) {
			lp_stream(f, in, n, cut, fr, &nf, &last);
			CHECK(last == VB_OK && nf == 20);
			size_t at = 0;
			for (size_t k = 0; k < nf && k < 20; k++) {
				CHECK_EQ_U64(fr[k].len, lens[k]);
				CHECK_EQ_U64(fr[k].delim, tr >= 0);
				CHECK_EQ_U64(fr[k].total, fr[k].skip + fr[k].len + fr[k].delim);
				at += fr[k].total;
			}
			CHECK_EQ_U64(at, n);
		}
		vb_framer_free(f);
	}
	/* the fields as written */
	size_t hn;
	unsigned char h[VB_LENSPEC_MAX];
	REQUIRE_OK(vb_lenspec_parse("netstring", &sp));
	REQUIRE_OK(vb_lenspec_encode(&sp, 12, h, &hn));
	CHECK(hn == 3 && !memcmp(h, "12:", 3) && vb_lenspec_tail(&sp, 0, h) == 1 && h[0] == ',');
	REQUIRE_OK(vb_lenspec_parse("syslog", &sp));
	REQUIRE_OK(vb_lenspec_encode(&sp, 0, h, &hn));
	CHECK(hn == 2 && !memcmp(h, "0 ", 2) && vb_lenspec_tail(&sp, 0, h) == 0);
	REQUIRE_OK(vb_lenspec_parse("pkt-line", &sp));
	REQUIRE_OK(vb_lenspec_encode(&sp, 6, h, &hn));
	CHECK(hn == 4 && !memcmp(h, "000a", 4));
	REQUIRE_OK(vb_lenspec_encode(&sp, 0xfffb, h, &hn));
	CHECK(hn == 4 && !memcmp(h, "ffff", 4));
	CHECK(vb_lenspec_encode(&sp, 0xfffc, h, &hn) == VB_ERANGE);
	/* pkt-line's special packets: a flush between two lines */
	const unsigned char pk[] = "0009abcde00000001000600";
	REQUIRE_OK(vb_framer_length(&sp, &f));
	lp_stream(f, pk, sizeof pk - 1, 5, fr, &nf, &last);
	CHECK(last == VB_OK && nf == 4);
	CHECK(fr[0].len == 5 && fr[1].len == 0 && fr[1].total == 4 && fr[2].total == 4 &&
	      fr[3].len == 2 && fr[3].total == 6);
	vb_framer_free(f);
	/* malformed fields */
	static const struct {
		const char *form, *in, *why;
	} bad[] = {
		{"netstring", "5:hello;", "where ',' belongs"},
		{"netstring", "05:hello,", "a leading zero"},
		{"netstring", ":,", "where a decimal digit belongs"},
		{"netstring", "x5:hello,", "where a decimal digit belongs"},
		{"netstring", "5;hello,", "or its terminator"},
		{"netstring", "123456789012345678901:", "more than 20 digits"},
		{"netstring", "99999999999999999999:", "does not fit 64 bits"},
		{"syslog", "3:abc", "or its terminator"},
		{"pkt-line", "00g4", "where a hex digit belongs"},
		{"hex:;", "fffffffffffffffff;", "more than 16 digits"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		REQUIRE_OK(vb_lenspec_parse(bad[i].form, &sp));
		REQUIRE_OK(vb_framer_length(&sp, &f));
		lp_stream(f, (const unsigned char *)bad[i].in, strlen(bad[i].in), 64, fr, &nf, &last);
		CHECK(last == VB_EINVAL);
		if (!strstr(vb_err_detail(), bad[i].why)) {
			fprintf(stderr, "%s on '%s': %s\n", bad[i].form, bad[i].in, vb_err_detail());
			CHECK(0);
		}
		vb_framer_free(f);
	}
	/* the end of input inside a field or a frame: the incomplete last record */
	REQUIRE_OK(vb_lenspec_parse("netstring", &sp));
	REQUIRE_OK(vb_framer_length(&sp, &f));
	lp_stream(f, (const unsigned char *)"3:ab", 4, 1, fr, &nf, &last);
	CHECK(last == VB_OK && nf == 1 && fr[0].unterminated && fr[0].total == 4);
	lp_stream(f, (const unsigned char *)"12", 2, 1, fr, &nf, &last);
	CHECK(last == VB_OK && nf == 1 && fr[0].unterminated && fr[0].total == 2);
	vb_framer_free(f);
	/* parsing */
	REQUIRE_OK(vb_lenspec_parse("dec:\\x00", &sp));
	CHECK(sp.text == VB_LEN_DEC && sp.term == 0);
	CHECK(vb_lenspec_parse("dec:5", &sp) == VB_EINVAL);
	CHECK(vb_lenspec_parse("hex:a", &sp) == VB_EINVAL);
	CHECK(vb_lenspec_parse("dec:ab", &sp) == VB_EINVAL);
	CHECK(vb_lenspec_parse("dec:", &sp) == VB_EINVAL);
	CHECK(strstr(vb_err_detail(), "ASCII: netstring, syslog, pkt-line") != NULL);
	REQUIRE_OK(vb_lenspec_parse("mrt", &sp));
	CHECK(sp.size == 4 && sp.big_endian && sp.offset == 8);
	REQUIRE_OK(vb_lenspec_parse("protobuf", &sp));
	CHECK(sp.size == 0 && !sp.text && !sp.tfrecord);
}

static void fixed(void)
{
	struct vb_framer *f;
	struct vb_frame fr[16];
	size_t nf;
	enum vb_err last;
	REQUIRE_OK(vb_framer_fixed(4, &f));
	lp_stream(f, (const unsigned char *)"abcdefghij", 10, 3, fr, &nf, &last);
	CHECK(last == VB_OK && nf == 3 && fr[0].len == 4 && fr[2].len == 2 && fr[2].unterminated);
	vb_framer_set_max(f, 3);
	lp_stream(f, (const unsigned char *)"abcdefghij", 10, 3, fr, &nf, &last);
	CHECK(last == VB_EFRAME);
	vb_framer_free(f);
	CHECK(vb_framer_fixed(0, &f) == VB_EINVAL);
}

/* The rule of --oversize and --final (vb_frame_policy_fate) as a table:
 * for each pair of options, the fate of a record by its size and whether
 * it is complete (1), the incomplete last record (0) or not known yet
 * (-1). */
static void policy(void)
{
	enum { E = VB_FATE_EMIT, T = VB_FATE_TRUNCATE, S = VB_FATE_SKIP, D = VB_FATE_DROP,
	       FS = VB_FATE_FAIL_SIZE, FF = VB_FATE_FAIL_FINAL, R = VB_FATE_READ_ON };
	static const struct {
		int too_large, complete;
		/* [--oversize error, skip, truncate][--final emit, drop, error] */
		int fate[3][3];
	} t[] = {
		/* --oversize does not apply to a record within the maximum */
		{0, 1, {{E, E, E}, {E, E, E}, {E, E, E}}},
		{0, 0, {{E, D, FF}, {E, D, FF}, {E, D, FF}}},
		{0, -1, {{E, R, R}, {E, R, R}, {E, R, R}}},
		/* --final does not apply to a complete record */
		{1, 1, {{FS, FS, FS}, {S, S, S}, {T, T, T}}},
		/* --final decides an incomplete one; emitted, it is too large
		 * like a complete one; failing both ways, its size is told */
		{1, 0, {{FS, D, FS}, {S, D, FF}, {T, D, FF}}},
		/* not known: decided at once only when both agree */
		{1, -1, {{FS, R, FS}, {S, R, R}, {T, R, R}}},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		for (int o = 0; o < 3; o++)
			for (int fin = 0; fin < 3; fin++) {
				struct vb_frame_policy p = {(enum vb_oversize)o, (enum vb_final)fin};
				enum vb_fate got = vb_frame_policy_fate(&p, t[i].too_large, t[i].complete);
				if ((int)got != t[i].fate[o][fin])
					fprintf(stderr, "policy: too_large %d complete %d oversize %d final %d: fate %d, expected %d\n",
						t[i].too_large, t[i].complete, o, fin, (int)got,
						t[i].fate[o][fin]);
				CHECK((int)got == t[i].fate[o][fin]);
			}
}

/* A record larger than the maximum: before the end of input whether it is
 * complete is unknown; at the end the framer says, for every framing, and
 * the incomplete last record is all the rest. */
static void over_at_end(void)
{
	const unsigned char *nl = (const unsigned char *)"\n";
	size_t one = 1, pos, dl, n;
	struct vb_framer *f;
	struct vb_frame fr[4];
	struct vb_sbuf *b;
	struct vb_lenspec sp;
	uint64_t recs;
	size_t used;

	REQUIRE_OK(vb_sbuf_create_linear(0, &b));
	/* delimiters: the last record without its delimiter, and a complete
	 * one (a delimiter follows it), through next, next_many and count */
	REQUIRE_OK(vb_framer_delim(&nl, &one, 1, &f));
	vb_framer_set_max(f, 5);
	for (int how = 0; how < 3; how++) {
		vb_framer_reset(f);
		REQUIRE_OK(vb_sbuf_append(b, "ab\nabcdefgh", 11));
		CHECK(vb_framer_next(f, b, 0, fr) == VB_OK && fr[0].len == 2);
		vb_sbuf_advance(b, fr[0].total);
		CHECK(vb_framer_next(f, b, 0, fr) == VB_EFRAME && !fr[0].unterminated &&
		      !fr[0].total);
		enum vb_err rc = how == 0   ? vb_framer_next(f, b, 1, fr)
				 : how == 1 ? vb_framer_next_many(f, b, 1, fr, 4, &n)
					    : vb_framer_count(f, b, 1, &recs, &used);
		CHECK(rc == VB_EFRAME);
		if (how < 2)
			CHECK(fr[0].unterminated && fr[0].len == 8 && fr[0].total == 8);
		CHECK(vb_framer_find_end(f, b, 1, &pos, &dl) == VB_OK && pos == 8 && dl == 0);
		vb_sbuf_advance(b, pos);
		vb_framer_discard(f, pos);

		vb_framer_reset(f);
		REQUIRE_OK(vb_sbuf_append(b, "abcdefgh\nxy", 11));
		rc = how == 0 ? vb_framer_next(f, b, 1, fr) : vb_framer_next_many(f, b, 1, fr, 4, &n);
		CHECK(rc == VB_EFRAME && !fr[0].unterminated && !fr[0].total);
		CHECK(vb_framer_find_end(f, b, 1, &pos, &dl) == VB_OK && pos == 8 && dl == 1);
		vb_sbuf_advance(b, pos + dl);
		vb_framer_discard(f, pos + dl);
		CHECK(vb_framer_next(f, b, 1, fr) == VB_OK && fr[0].len == 2 && fr[0].unterminated);
		vb_sbuf_advance(b, fr[0].total);
	}
	vb_framer_free(f);

	/* a length prefix: the header says 10 bytes, 8 are there */
	REQUIRE_OK(vb_lenspec_parse("u8", &sp));
	REQUIRE_OK(vb_framer_length(&sp, &f));
	vb_framer_set_max(f, 5);
	REQUIRE_OK(vb_sbuf_append(b, "\011abcdefg", 8));
	CHECK(vb_framer_next(f, b, 0, fr) == VB_EFRAME && !fr[0].unterminated &&
	      fr[0].total == 10 && fr[0].skip == 1);
	CHECK(vb_framer_next(f, b, 1, fr) == VB_EFRAME && fr[0].unterminated && fr[0].total == 8 &&
	      fr[0].skip == 1 && fr[0].len == 7);
	/* within the maximum it is an ordinary truncated record */
	vb_framer_set_max(f, 10);
	CHECK(vb_framer_next(f, b, 1, fr) == VB_OK && fr[0].unterminated && fr[0].total == 8);
	vb_sbuf_advance(b, 8);
	/* the header cut: its bytes are what is there */
	vb_framer_free(f);
	REQUIRE_OK(vb_lenspec_parse("u16be", &sp));
	sp.offset = 6;
	REQUIRE_OK(vb_framer_length(&sp, &f));
	vb_framer_set_max(f, 5);
	REQUIRE_OK(vb_sbuf_append(b, "abcdefg", 7));
	CHECK(vb_framer_next(f, b, 0, fr) == VB_ENEEDMORE);
	CHECK(vb_framer_next(f, b, 1, fr) == VB_EFRAME && fr[0].unterminated && fr[0].total == 7);
	vb_sbuf_advance(b, 7);
	vb_framer_free(f);

	/* fixed: records of 8, at most 5 */
	REQUIRE_OK(vb_framer_fixed(8, &f));
	vb_framer_set_max(f, 5);
	REQUIRE_OK(vb_sbuf_append(b, "abcdefg", 7));
	CHECK(vb_framer_next(f, b, 0, fr) == VB_EFRAME && !fr[0].unterminated && fr[0].total == 8);
	CHECK(vb_framer_next(f, b, 1, fr) == VB_EFRAME && fr[0].unterminated && fr[0].total == 7);
	vb_sbuf_advance(b, 7);
	REQUIRE_OK(vb_sbuf_append(b, "abc", 3));
	CHECK(vb_framer_next(f, b, 1, fr) == VB_OK && fr[0].unterminated && fr[0].total == 3);
	vb_sbuf_advance(b, 3);
	vb_framer_free(f);
	vb_sbuf_free(b);
}

static void helpers(void)
{
	const unsigned char b[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	size_t used;
	CHECK(vb_read_u8(b, 9, 8, &u8) == VB_OK && u8 == 9);
	CHECK(vb_read_u8(b, 9, 9, &u8) == VB_ENEEDMORE);
	CHECK(vb_read_u16_be(b, 9, 0, &u16) == VB_OK && u16 == 0x0102);
	CHECK(vb_read_u16_le(b, 9, 0, &u16) == VB_OK && u16 == 0x0201);
	CHECK(vb_read_u16_be(b, 9, 8, &u16) == VB_ENEEDMORE);
	CHECK(vb_read_u24_be(b, 9, 1, &u32) == VB_OK && u32 == 0x020304);
	CHECK(vb_read_u24_le(b, 9, 1, &u32) == VB_OK && u32 == 0x040302);
	CHECK(vb_read_u32_be(b, 9, 0, &u32) == VB_OK && u32 == 0x01020304);
	CHECK(vb_read_u32_le(b, 9, 0, &u32) == VB_OK && u32 == 0x04030201);
	CHECK(vb_read_u32_le(b, 9, 6, &u32) == VB_ENEEDMORE);
	CHECK(vb_read_u64_be(b, 9, 1, &u64) == VB_OK && u64 == 0x0203040506070809ull);
	CHECK(vb_read_u64_le(b, 9, 0, &u64) == VB_OK && u64 == 0x0807060504030201ull);
	CHECK(vb_read_u64_le(b, 9, 2, &u64) == VB_ENEEDMORE);
	CHECK(vb_read_u64_le(b, 9, SIZE_MAX, &u64) == VB_ENEEDMORE);
	const unsigned char vmax[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
	CHECK(vb_read_varint(vmax, 10, 0, &u64, &used) == VB_OK && u64 == UINT64_MAX && used == 10);
	const unsigned char vover[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
	CHECK(vb_read_varint(vover, 10, 0, &u64, &used) == VB_EINVAL);
	CHECK(vb_read_varint(vmax, 5, 0, &u64, &used) == VB_ENEEDMORE);

	unsigned char *o;
	size_t n;
	CHECK(vb_unescape("a\\r\\n\\t\\0\\\\\\x41z", &o, &n) == VB_OK && n == 8 &&
	      !memcmp(o, "a\r\n\t\0\\Az", 8));
	free(o);
	CHECK(vb_unescape("", &o, &n) == VB_EINVAL);
	CHECK(vb_unescape("\\q", &o, &n) == VB_EINVAL && strstr(vb_err_detail(), "\\q"));
	CHECK(vb_unescape("\\x4", &o, &n) == VB_EINVAL);
	CHECK(vb_unescape("ab\\", &o, &n) == VB_EINVAL);
}

int main(void)
{
	struct vb_sbuf *b;
	struct vb_pages *pages;
	struct vb_pages_opts o;

	rnd_init(test_seed());
	helpers();
	wide();
	REQUIRE_OK(vb_sbuf_create_linear(0, &b));
	delimiter_invariance(b, "linear");
	maximum(b);
	vb_sbuf_free(b);
	vb_pages_opts_init(&o);
	o.page_size = (size_t)sysconf(_SC_PAGESIZE); /* the smallest the system allows */
	REQUIRE_OK(vb_pages_create(&o, &pages));
	REQUIRE_OK(vb_sbuf_create_segmented(pages, 13, 0, &b));
	delimiter_invariance(b, "segmented");
	maximum(b);
	vb_sbuf_free(b);
	vb_pages_free(pages);
	length_prefix();
	text_lengths();
	fixed();
	policy();
	over_at_end();
	return test_status("frame");
}
