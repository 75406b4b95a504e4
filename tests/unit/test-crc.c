/*
 * test-crc: crc.h against zlib, the oracle (whichever code the build
 * chose: the test prints it).
 *
 *   - known values ("123456789" is 0xcbf43926) and zlib's NULL rule;
 *   - every length 0..300 at every alignment 0..63, from random start
 *     values, and random lengths up to 1 MiB at random alignments;
 *   - a buffer longer than 4 GiB (mapped zero pages with a few random
 *     bytes: nothing is truncated to 32 bits), where mapping it succeeds;
 *   - chaining: a buffer split at random points, continued piece by
 *     piece, is the checksum of the whole;
 *   - combine: of random pieces (zero-length ones too), and of lengths
 *     beyond zlib's z_off_t (checked against zlib's combine composed
 *     at other split points);
 *   - CRC-32C (vb_crc32c) against RFC 3720's vectors and a bitwise
 *     definition, chained at random points.
 *
 * VB_TEST_OPS sets the number of random rounds (default 20,000).
 */
#include <string.h>
#include <sys/mman.h>
#include <zlib.h>

#include "check.h"
#include "crc.h"
#include "rnd.h"

#define BUF (((size_t)1 << 20) + 64)

static uint32_t oracle(uint32_t c, const void *p, size_t n)
{
	return (uint32_t)crc32_z(c, p, n);
}

static void known(void)
{
	static const char nine[] = "123456789";

	CHECK_EQ_U64(vb_crc32(0, nine, 9), 0xcbf43926u);
	CHECK_EQ_U64(vb_crc32(0, nine, 0), 0);
	CHECK_EQ_U64(vb_crc32(0x12345678u, nine, 0), 0x12345678u);
	/* zlib's rule: a NULL buffer is the start value, whatever c and n */
	CHECK_EQ_U64(vb_crc32(0, NULL, 0), oracle(0, NULL, 0));
	CHECK_EQ_U64(vb_crc32(0xdeadbeefu, NULL, 0), oracle(0xdeadbeefu, NULL, 0));
	CHECK_EQ_U64(vb_crc32(0xdeadbeefu, NULL, 17), oracle(0xdeadbeefu, NULL, 17));
	CHECK_EQ_U64(vb_crc32(0xdeadbeefu, NULL, 17), 0);
	/* zero bytes: the table-free paths of the folding code */
	static const unsigned char z[64];
	CHECK_EQ_U64(vb_crc32(0, z, sizeof z), oracle(0, z, sizeof z));
	CHECK_EQ_U64(vb_crc32_combine(0, 0, 0), 0);
	CHECK_EQ_U64(vb_crc32_combine(0xcbf43926u, 0, 0), 0xcbf43926u);
}

static void small_lengths(const unsigned char *buf)
{
	for (size_t n = 0; n <= 300; n++)
		for (size_t a = 0; a < 64; a++) {
			uint32_t c = (uint32_t)rnd64();
			if (vb_crc32(c, buf + a, n) != oracle(c, buf + a, n)) {
				fprintf(stderr, "length %zu at alignment %zu from %08x differs\n", n, a,
					(unsigned)c);
				check_failures++;
			}
		}
}

static void random_lengths(const unsigned char *buf, uint64_t rounds)
{
	static const size_t fixed[] = {511, 512, 513, 4095, 4096, 4097, 65535, 65536, 65537,
				       (size_t)1 << 20};

	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		for (size_t a = 0; a < 64; a += 7)
			CHECK_EQ_U64(vb_crc32(0, buf + a, fixed[i]), oracle(0, buf + a, fixed[i]));
	for (uint64_t r = 0; r < rounds; r++) {
		size_t a = (size_t)rnd(64);
		/* mostly short, sometimes up to the whole buffer */
		size_t n = (size_t)(rnd(4) ? rnd(8192) : rnd(BUF - 64 + 1));
		uint32_t c = rnd(2) ? 0 : (uint32_t)rnd64();
		if (vb_crc32(c, buf + a, n) != oracle(c, buf + a, n)) {
			fprintf(stderr, "round %llu: length %zu at alignment %zu differs (seed %llu)\n",
				(unsigned long long)r, n, a, (unsigned long long)rnd_seed);
			check_failures++;
			return;
		}
	}
}

static void chaining(const unsigned char *buf, uint64_t rounds)
{
	for (uint64_t r = 0; r < rounds / 20 + 1; r++) {
		size_t a = (size_t)rnd(64);
		size_t n = (size_t)(rnd(2) ? rnd(1024) : rnd(BUF - 64 + 1));
		uint32_t whole = oracle(0, buf + a, n), c = 0;
		size_t at = 0;
		while (at < n) {
			size_t k = (size_t)(rnd(3) ? rnd(n - at + 1) : rnd(17));
			if (k > n - at)
				k = n - at;
			c = vb_crc32(c, buf + a + at, k);
			at += k;
		}
		c = vb_crc32(c, buf + a + at, 0);
		if (c != whole) {
			fprintf(stderr, "round %llu: chained %zu bytes differ (seed %llu)\n",
				(unsigned long long)r, n, (unsigned long long)rnd_seed);
			check_failures++;
			return;
		}
	}
}

static void combining(const unsigned char *buf, uint64_t rounds)
{
	for (uint64_t r = 0; r < rounds / 20 + 1; r++) {
		size_t n = (size_t)(rnd(2) ? rnd(2048) : rnd(BUF - 64 + 1));
		size_t cut = (size_t)rnd(n + 1);
		uint32_t c1 = vb_crc32(0, buf, cut), c2 = vb_crc32(0, buf + cut, n - cut);
		if (vb_crc32_combine(c1, c2, n - cut) != oracle(0, buf, n)) {
			fprintf(stderr, "round %llu: combine of %zu + %zu differs (seed %llu)\n",
				(unsigned long long)r, cut, n - cut, (unsigned long long)rnd_seed);
			check_failures++;
			return;
		}
	}
	/* lengths beyond a signed 64-bit z_off_t: the shift composes */
	const uint64_t q = (uint64_t)1 << 62;
	static const uint64_t tails[] = {0, 1, 5, ((uint64_t)1 << 62) - 1};
	for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++)
		for (int k = 1; k <= 3; k++) {
			uint32_t c1 = (uint32_t)rnd64(), c2 = (uint32_t)rnd64();
			uint64_t n2 = (uint64_t)k * q + tails[i];
			uint32_t want = c1;
			for (int j = 0; j < k; j++)
				want = (uint32_t)crc32_combine(want, 0, (z_off_t)q);
			want = (uint32_t)crc32_combine(want, c2, (z_off_t)tails[i]);
			CHECK_EQ_U64(vb_crc32_combine(c1, c2, n2), want);
		}
	/* the largest length: 2^64 - 1 = 3 * 2^62 + (2^62 - 1) */
	uint32_t want = 0xcbf43926u;
	for (int j = 0; j < 3; j++)
		want = (uint32_t)crc32_combine(want, 0, (z_off_t)q);
	want = (uint32_t)crc32_combine(want, 7, (z_off_t)(q - 1));
	CHECK_EQ_U64(vb_crc32_combine(0xcbf43926u, 7, UINT64_MAX), want);
}

/* More than 4 GiB in one call: zero pages of an anonymous mapping (no
 * memory is used to read them) with a few random bytes written. */
static void beyond_4g(void)
{
#if SIZE_MAX > 0xffffffffu
	size_t n = ((size_t)1 << 32) + 4096 + 3;
	unsigned char *m = mmap(NULL, n, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED) {
		printf("test-crc: no 4 GiB mapping, the > 4 GiB case is skipped\n");
		return;
	}
	for (int k = 0; k < 8; k++)
		m[rnd(n)] = (unsigned char)(1 + rnd(255));
	m[n - 1] = 0x5a;
	/* from an odd address: the unaligned head too */
	CHECK_EQ_U64(vb_crc32(0, m + 1, n - 1), oracle(0, m + 1, n - 1));
	munmap(m, n);
#endif
}

/* CRC-32C: a bit at a time, the definition. */
static uint32_t c32c_oracle(uint32_t c, const unsigned char *p, size_t n)
{
	c = ~c;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
	}
	return ~c;
}

/* vb_crc32c: "123456789", RFC 3720's vectors, the NULL rule, every length
 * to 300 at odd alignments and random ones, and chaining. */
static void castagnoli(const unsigned char *buf, uint64_t rounds)
{
	unsigned char v[32];

	CHECK_EQ_U64(vb_crc32c(0, "123456789", 9), 0xe3069283u);
	CHECK_EQ_U64(vb_crc32c(0, NULL, 5), 0);
	CHECK_EQ_U64(vb_crc32c(0x1234u, v, 0), 0x1234u);
	memset(v, 0, sizeof v);
	CHECK_EQ_U64(vb_crc32c(0, v, 32), 0x8a9136aau);
	memset(v, 0xff, sizeof v);
	CHECK_EQ_U64(vb_crc32c(0, v, 32), 0x62a8ab43u);
	for (int i = 0; i < 32; i++)
		v[i] = (unsigned char)i;
	CHECK_EQ_U64(vb_crc32c(0, v, 32), 0x46dd794eu);
	for (int i = 0; i < 32; i++)
		v[i] = (unsigned char)(31 - i);
	CHECK_EQ_U64(vb_crc32c(0, v, 32), 0x113fdb5cu);
	for (size_t n = 0; n <= 300; n++)
		for (size_t a = 0; a < 8; a += 3)
			CHECK_EQ_U64(vb_crc32c(7, buf + a, n), c32c_oracle(7, buf + a, n));
	for (uint64_t r = 0; r < rounds / 100; r++) {
		size_t a = rnd(64), n = rnd(BUF - 64), cut = rnd(n + 1);
		uint32_t whole = vb_crc32c(0, buf + a, n);
		CHECK_EQ_U64(vb_crc32c(vb_crc32c(0, buf + a, cut), buf + a + cut, n - cut), whole);
		if (r < 20)
			CHECK_EQ_U64(whole, c32c_oracle(0, buf + a, n));
	}
}

int main(void)
{
	const char *ops = getenv("VB_TEST_OPS");
	uint64_t rounds = ops ? strtoull(ops, NULL, 0) : 20000;
	unsigned char *buf = malloc(BUF);

	REQUIRE(buf);
	rnd_init(test_seed());
	rnd_bytes(buf, BUF);
	printf("test-crc: CRC-32 by %s (seed %llu)\n", vb_crc32_impl(),
	       (unsigned long long)rnd_seed);
	known();
	small_lengths(buf);
	random_lengths(buf, rounds);
	chaining(buf, rounds);
	combining(buf, rounds);
	beyond_4g();
	castagnoli(buf, rounds);
	free(buf);
	return test_status("test-crc");
}
