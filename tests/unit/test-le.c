/*
 * test-le: the byte-order and varint helpers of le.h.
 *
 *   - fixed-width little-endian put/get round trips;
 *   - varints: the encodings at every length boundary (0, 127, 128, ...,
 *     2^63, 2^64-1) and random values round-trip, in the shortest form,
 *     byte for byte as the encoders it replaced wrote them;
 *   - the strict decoder: truncated input at every cut, 11-byte and
 *     overflowing 10-byte input, padded forms, and, against copies of the
 *     decoders it replaced (ptree.c's node reader and frame.c's
 *     vb_read_varint as they were), the same answer for every input of up
 *     to 2 bytes and for random inputs of up to 12;
 *   - the wrapping decoder: the same values on valid input, any length,
 *     the value modulo 2^64, and against the loop store.c's operations
 *     reader used before it (where that loop is defined: shifts below 64).
 */
#include <string.h>

#include "check.h"
#include "le.h"

/* ------------------------------------------------- the decoders replaced */

/* ptree.c's get_varint before le.h had one: 0 or -1. */
static int old_ptree_get(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	uint64_t r = 0;
	unsigned shift = 0;

	while (*p < end) {
		unsigned char b = *(*p)++;
		if (shift == 63 && b > 1)
			return -1;
		r |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = r;
			return 0;
		}
		shift += 7;
		if (shift > 63)
			return -1;
	}
	return -1;
}

/* frame.c's vb_read_varint before le.h had one: 0 ok, 1 need more,
 * 2 longer than 10 bytes, 3 larger than 2^64-1. */
static int old_frame_get(const unsigned char *p, size_t len, uint64_t *v, size_t *used)
{
	uint64_t r = 0;

	for (unsigned i = 0; i < 10; i++) {
		if (i >= len)
			return 1;
		unsigned char b = p[i];
		if (i == 9 && (b & 0x80))
			return 2;
		if (i == 9 && b > 1)
			return 3;
		r |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*v = r;
			*used = i + 1;
			return 0;
		}
	}
	return 2;
}

/* frame.c's varint length-prefix encoder before le.h had one. */
static size_t old_frame_put(unsigned char *out, uint64_t len)
{
	size_t k = 0;

	do {
		unsigned char b = len & 0x7f;
		len >>= 7;
		out[k++] = (unsigned char)(b | (len ? 0x80 : 0));
	} while (len);
	return k;
}

/* store.c's operations reader decoded a varint whose end it had seen with
 * this loop before vb_varint_get_wrap; only shifts below 64 are defined,
 * so callers keep to those. */
static uint64_t old_store_get(const unsigned char *q, size_t *used)
{
	const unsigned char *s = q;
	uint64_t v = 0;
	unsigned sh = 0;

	while (*q & 0x80) {
		v |= (uint64_t)(*q++ & 0x7f) << sh;
		sh += 7;
	}
	v |= (uint64_t)*q++ << sh;
	*used = (size_t)(q - s);
	return v;
}

/* Compare vb_varint_get with both old decoders on p[0, n). */
static void same_as_before(const unsigned char *p, size_t n)
{
	uint64_t v = 0xdead, vp = 0xbeef, vf = 0xf00d;
	size_t used = 0;
	const unsigned char *q = p;
	int k = vb_varint_get(p, n, &v);
	int rp = old_ptree_get(&q, p + n, &vp);
	int rf = old_frame_get(p, n, &vf, &used);

	CHECK((k > 0) == (rp == 0));
	CHECK((k > 0) == (rf == 0));
	if (k > 0) {
		CHECK_EQ_U64(v, vp);
		CHECK_EQ_U64(v, vf);
		CHECK_EQ_U64((uint64_t)k, used);
		CHECK_EQ_U64((uint64_t)k, (uint64_t)(q - p));
	} else {
		CHECK(v == 0xdead);   /* left alone */
		CHECK((k == VB_VARINT_SHORT) == (rf == 1));
		CHECK((k == VB_VARINT_LONG) == (rf == 2));
		CHECK((k == VB_VARINT_OVERFLOW) == (rf == 3));
	}
}

/* ---------------------------------------------------------------- tests */

static void test_fixed(void)
{
	unsigned char b[8];

	vb_le_put16(b, 0x1234);
	CHECK(b[0] == 0x34 && b[1] == 0x12);
	CHECK(vb_le_get16(b) == 0x1234);
	vb_le_put32(b, 0x89abcdefu);
	CHECK(b[0] == 0xef && b[3] == 0x89);
	CHECK(vb_le_get32(b) == 0x89abcdefu);
	vb_le_put64(b, 0x0123456789abcdefULL);
	CHECK(b[0] == 0xef && b[7] == 0x01);
	CHECK_EQ_U64(vb_le_get64(b), 0x0123456789abcdefULL);
	vb_le_put64(b, UINT64_MAX);
	CHECK_EQ_U64(vb_le_get64(b), UINT64_MAX);
}

/* Encode v, check the length and the shortest form, decode it back with
 * both decoders, and cut it short at every length. */
static void round_trip(uint64_t v, size_t want_len)
{
	unsigned char b[VB_VARINT_MAX + 2];
	uint64_t w;
	size_t n;

	memset(b, 0xaa, sizeof b);
	n = vb_varint_put(b, v);
	{
		/* the same bytes as the encoder frame.c had (ptree.c's, store.c's
		 * and test-diff.c's were this function's text) */
		unsigned char o[VB_VARINT_MAX];
		CHECK(old_frame_put(o, v) == n && !memcmp(o, b, n));
	}
	if (want_len)
		CHECK_EQ_U64(n, want_len);
	CHECK(n >= 1 && n <= VB_VARINT_MAX);
	CHECK(b[n] == 0xaa);                  /* nothing written past it */
	for (size_t i = 0; i + 1 < n; i++)
		CHECK(b[i] & 0x80);
	CHECK(!(b[n - 1] & 0x80));
	CHECK(n == 1 || b[n - 1] != 0);       /* shortest: no zero last group */

	w = 0;
	CHECK(vb_varint_get(b, n, &w) == (int)n);
	CHECK_EQ_U64(w, v);
	w = 0;
	CHECK(vb_varint_get(b, sizeof b, &w) == (int)n);   /* bytes after it */
	CHECK_EQ_U64(w, v);
	w = 0;
	CHECK(vb_varint_get_wrap(b, n, &w) == n);
	CHECK_EQ_U64(w, v);
	same_as_before(b, n);
	for (size_t cut = 0; cut < n; cut++) {
		w = 7;
		CHECK(vb_varint_get(b, cut, &w) == VB_VARINT_SHORT);
		CHECK(vb_varint_get_wrap(b, cut, &w) == VB_VARINT_SHORT);
		CHECK(w == 7);
		same_as_before(b, cut);
	}
}

static void test_round_trips(void)
{
	uint64_t seed = test_seed();

	round_trip(0, 1);
	round_trip(1, 1);
	round_trip(127, 1);
	round_trip(128, 2);
	round_trip(300, 2);
	for (unsigned k = 1; k < 10; k++) {
		uint64_t edge = (uint64_t)1 << (7 * k);
		round_trip(edge - 1, k);
		round_trip(edge, k + 1u);
	}
	round_trip((uint64_t)1 << 63, 10);
	round_trip(UINT64_MAX - 1, 10);
	round_trip(UINT64_MAX, 10);
	for (int i = 0; i < 100000; i++) {
		uint64_t r = test_rand(&seed);
		round_trip(r >> (r & 63), 0);
	}

	/* the figures everyone knows */
	unsigned char b[VB_VARINT_MAX];
	CHECK(vb_varint_put(b, 300) == 2 && b[0] == 0xac && b[1] == 0x02);
	CHECK(vb_varint_put(b, UINT64_MAX) == 10 && b[0] == 0xff && b[8] == 0xff && b[9] == 0x01);
	CHECK(vb_varint_put(b, (uint64_t)1 << 63) == 10 && b[0] == 0x80 && b[8] == 0x80 &&
	      b[9] == 0x01);
}

static void test_strict(void)
{
	static const unsigned char max[] = {0xff, 0xff, 0xff, 0xff, 0xff,
					    0xff, 0xff, 0xff, 0xff, 0x01};
	unsigned char b[16];
	uint64_t v = 0;

	CHECK(vb_varint_get(NULL, 0, &v) == VB_VARINT_SHORT);
	CHECK(vb_varint_get(max, 10, &v) == 10);
	CHECK_EQ_U64(v, UINT64_MAX);
	/* 10th byte 2..0x7f: 2^64 or more */
	memcpy(b, max, 10);
	for (unsigned last = 2; last < 0x80; last++) {
		b[9] = (unsigned char)last;
		CHECK(vb_varint_get(b, 10, &v) == VB_VARINT_OVERFLOW);
		same_as_before(b, 10);
	}
	/* 10th byte with the continuation bit: 11 bytes or more, whether
	 * or not the 11th is there */
	for (unsigned last = 0x80; last < 0x100; last++) {
		b[9] = (unsigned char)last;
		b[10] = 0x00;
		CHECK(vb_varint_get(b, 10, &v) == VB_VARINT_LONG);
		CHECK(vb_varint_get(b, 11, &v) == VB_VARINT_LONG);
		same_as_before(b, 10);
		same_as_before(b, 11);
	}
	/* nine continuation bytes at the end of the buffer: short, not long */
	CHECK(vb_varint_get(max, 9, &v) == VB_VARINT_SHORT);
	/* padded forms within 10 bytes are accepted, as they always were */
	b[0] = 0x80;
	b[1] = 0x00;
	v = 9;
	CHECK(vb_varint_get(b, 2, &v) == 2 && v == 0);
	memset(b, 0x80, 9);
	b[9] = 0x00;
	v = 9;
	CHECK(vb_varint_get(b, 10, &v) == 10 && v == 0);
	b[9] = 0x01;
	CHECK(vb_varint_get(b, 10, &v) == 10 && v == (uint64_t)1 << 63);
	b[0] = 0x81;
	CHECK(vb_varint_get(b, 10, &v) == 10 && v == ((uint64_t)1 << 63 | 1));

	/* every input of 0, 1 and 2 bytes, then random ones up to 12 bytes
	 * biased to the interesting bytes, answer as the old decoders did */
	same_as_before(b, 0);
	for (unsigned x = 0; x < 0x10000; x++) {
		b[0] = (unsigned char)x;
		b[1] = (unsigned char)(x >> 8);
		same_as_before(b, 1);
		same_as_before(b, 2);
	}
	static const unsigned char pick[] = {0x00, 0x01, 0x02, 0x7f, 0x80, 0x81, 0xfe, 0xff};
	uint64_t seed = test_seed() ^ 0x1eb128;
	for (int i = 0; i < 400000; i++) {
		uint64_t r = test_rand(&seed);
		size_t n = (size_t)(r % 13);
		for (size_t j = 0; j < n; j++) {
			uint64_t q = test_rand(&seed);
			b[j] = (q & 1) ? pick[(q >> 1) & 7] : (unsigned char)(q >> 8);
			/* mostly continuation bytes, so long inputs reach the end */
			if (j + 1 < n && (q >> 16) % 4)
				b[j] |= 0x80;
		}
		same_as_before(b, n);
	}
}

static void test_wrap(void)
{
	unsigned char b[40];
	uint64_t v = 0;
	size_t used;

	CHECK(vb_varint_get_wrap(NULL, 0, &v) == VB_VARINT_SHORT);
	/* longer than 10 bytes: accepted, groups at bit 64 and up dropped */
	memset(b, 0xff, sizeof b);
	b[27] = 0x7f;
	CHECK(vb_varint_get_wrap(b, sizeof b, &v) == 28);
	CHECK_EQ_U64(v, UINT64_MAX);
	memset(b, 0x80, sizeof b);
	b[0] = 0x85;
	b[11] = 0x03;
	v = 9;
	CHECK(vb_varint_get_wrap(b, 12, &v) == 12);
	CHECK_EQ_U64(v, 5);
	/* 10th byte above 1: its low bit only */
	memset(b, 0x80, 9);
	b[9] = 0x7e;
	CHECK(vb_varint_get_wrap(b, 10, &v) == 10);
	CHECK_EQ_U64(v, 0);
	b[9] = 0x03;
	CHECK(vb_varint_get_wrap(b, 10, &v) == 10);
	CHECK_EQ_U64(v, (uint64_t)1 << 63);
	/* no last byte inside the buffer */
	memset(b, 0xff, sizeof b);
	v = 9;
	CHECK(vb_varint_get_wrap(b, sizeof b, &v) == VB_VARINT_SHORT && v == 9);

	/* store.c's loop, on inputs where it is defined (at most 10 bytes:
	 * a 10th byte above 1 keeps its low bit only, at bit 63, as the
	 * wrap does) */
	uint64_t seed = test_seed() ^ 0x5707e;
	for (int i = 0; i < 200000; i++) {
		uint64_t r = test_rand(&seed);
		size_t n = 1 + (size_t)(r % 10);
		for (size_t j = 0; j < n; j++) {
			unsigned char c = (unsigned char)test_rand(&seed);
			b[j] = j + 1 < n ? (unsigned char)(c | 0x80) : (unsigned char)(c & 0x7f);
		}
		uint64_t want = old_store_get(b, &used);
		CHECK_EQ_U64(used, n);
		CHECK(vb_varint_get_wrap(b, n, &v) == n);
		CHECK_EQ_U64(v, want);
		/* and the strict one agrees wherever it accepts */
		uint64_t s;
		if (vb_varint_get(b, n, &s) > 0)
			CHECK_EQ_U64(s, want);
	}
}

int main(void)
{
	test_fixed();
	test_round_trips();
	test_strict();
	test_wrap();
	return test_status("test-le");
}
