/*
 * crc: zlib's CRC-32, computed by ISA-L where the build has it (contract
 * in crc.h).
 *
 * VB_HAVE_ISAL is defined by lib/meson.build when the `isal` feature
 * found the library.  ISA-L's crc32_gzip_refl(init, buf, len) is zlib's
 * crc32(init, buf, len) (the same conditioning: init and result
 * complemented), over a 64-bit length; its multibinary entry picks the
 * widest folding code the CPU runs.  zlib's NULL-buffer rule is kept here,
 * in front of both.  zlib's crc32_combine takes a signed z_off_t: a longer
 * B is combined in pieces of LONG_MAX bytes (combining with the checksum
 * 0 of a run is shifting by its length, and shifts compose).
 */
#include "crc.h"

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <zlib.h>

#ifdef VB_HAVE_ISAL
#include <isa-l/crc.h>
#endif

uint32_t vb_crc32(uint32_t c, const void *p, size_t n)
{
	if (!p)
		return 0;
#ifdef VB_HAVE_ISAL
	return crc32_gzip_refl(c, p, (uint64_t)n);
#else
	return (uint32_t)crc32_z(c, p, n);
#endif
}

uint32_t vb_crc32_combine(uint32_t c1, uint32_t c2, uint64_t n2)
{
	const uint64_t step = (uint64_t)LONG_MAX;

	while (n2 > step) {
		c1 = (uint32_t)crc32_combine(c1, 0, (z_off_t)step);
		n2 -= step;
	}
	return (uint32_t)crc32_combine(c1, c2, (z_off_t)n2);
}

const char *vb_crc32_impl(void)
{
#ifdef VB_HAVE_ISAL
	return "isa-l";
#else
	return "zlib";
#endif
}

#ifndef VB_HAVE_ISAL
/* The reflected Castagnoli polynomial's table, made once on first use. */
static uint32_t c32c_table[256];
static pthread_once_t c32c_once = PTHREAD_ONCE_INIT;

static void c32c_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t v = i;
		for (int k = 0; k < 8; k++)
			v = v & 1 ? (v >> 1) ^ 0x82f63b78u : v >> 1;
		c32c_table[i] = v;
	}
}
#endif

uint32_t vb_crc32c(uint32_t c, const void *p, size_t n)
{
	const unsigned char *s = p;

	if (!p)
		return 0;
#ifdef VB_HAVE_ISAL
	/* crc32_iscsi takes an int length and its state uncomplemented */
	c = ~c;
	while (n) {
		int take = n > (size_t)INT_MAX ? INT_MAX : (int)n;
		c = crc32_iscsi((unsigned char *)(uintptr_t)s, take, c);
		s += take;
		n -= (size_t)take;
	}
	return ~c;
#else
	pthread_once(&c32c_once, c32c_init);
	c = ~c;
	for (size_t i = 0; i < n; i++)
		c = c32c_table[(c ^ s[i]) & 0xff] ^ (c >> 8);
	return ~c;
#endif
}
