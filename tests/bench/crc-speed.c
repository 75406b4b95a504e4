/*
 * crc-speed: the CRC-32 of 64 KiB blocks (the store's data block), zlib's
 * crc32_z against vb_crc32 (lib/crc.h: ISA-L's or zlib's, as built), in
 * GB/s (10^9 bytes a second).  Run by hand (never a timed test):
 *
 *   BUILD/tests/bench/crc-speed [SECONDS]
 *
 * Two cases, each timed for SECONDS (default 1) per function: one block
 * checksummed over and over (in cache: the speed of the code), and a
 * 256 MiB buffer walked block by block (from memory, as a 1 GiB
 * verification reads it).  Each result is compared to zlib's, so a run
 * that prints figures also checked them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "crc.h"

#define BLOCK ((size_t)64 << 10)
#define LARGE ((size_t)256 << 20)

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint32_t by_zlib(uint32_t c, const void *p, size_t n)
{
	return (uint32_t)crc32_z(c, p, n);
}

/* GB/s of f over `size` bytes at buf in BLOCK pieces, repeated for `secs`;
 * *sum gets the checksum of the blocks of one pass, chained. */
static double rate(uint32_t (*f)(uint32_t, const void *, size_t), const unsigned char *buf,
		   size_t size, double secs, uint32_t *sum)
{
	uint64_t bytes = 0;
	double t0 = now(), t;
	uint32_t c = 0;

	do {
		c = 0;
		for (size_t off = 0; off < size; off += BLOCK)
			c = f(c, buf + off, BLOCK);
		bytes += size;
	} while ((t = now() - t0) < secs);
	*sum = c;
	return (double)bytes / t / 1e9;
}

static int run(const char *what, const unsigned char *buf, size_t size, double secs)
{
	uint32_t cz, cv;
	double z = rate(by_zlib, buf, size, secs, &cz);
	double v = rate(vb_crc32, buf, size, secs, &cv);

	printf("| %s | %.2f | %.2f | %.1fx |\n", what, z, v, v / z);
	if (cz != cv) {
		fprintf(stderr, "crc-speed: %s: vb_crc32 %08x, zlib %08x\n", what, (unsigned)cv,
			(unsigned)cz);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? strtod(argv[1], NULL) : 1.0;
	unsigned char *buf = malloc(LARGE);
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	int bad = 0;

	if (argc > 2 || !(secs > 0 && secs < 3600)) {
		fprintf(stderr, "usage: crc-speed [SECONDS]\n");
		return 2;
	}
	if (!buf) {
		fprintf(stderr, "crc-speed: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < LARGE; i += 8) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		memcpy(buf + i, &x, 8);
	}
	printf("CRC-32 of 64 KiB blocks, GB/s; vb_crc32 is %s's\n\n", vb_crc32_impl());
	printf("| case | zlib crc32_z | vb_crc32 | speed-up |\n|---|---|---|---|\n");
	bad |= run("one block, in cache", buf, BLOCK, secs);
	bad |= run("256 MiB, block by block", buf, LARGE, secs);
	free(buf);
	return bad;
}
