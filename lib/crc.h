/*
 * crc: the CRC-32 of the store, the line index and the export stream.
 *
 * One checksum everywhere: zlib's crc32() (the reflected IEEE 802.3
 * CRC-32 of gzip and PNG), with zlib's semantics, so a store or an export
 * written by any build reads the same in any other.  vb_crc32(c, p, n)
 * continues the checksum c over n more bytes at p: 0 starts it, and
 * vb_crc32(vb_crc32(0, a, na), b, nb) is the checksum of a then b.  As in
 * zlib, a NULL p gives 0 (the start value) whatever c and n are; a NULL p
 * with n > 0 reads nothing.  n is a size_t: no 4 GiB limit (zlib's crc32
 * takes a uInt).
 *
 * vb_crc32_combine(c1, c2, n2) is the checksum of A then B from c1 (of A)
 * and c2 (of B, started from 0) and B's length n2 alone, any n2 (zlib's
 * crc32_combine: O(log n2), B is never read).
 *
 * Which code computes it is a build choice (meson feature `isal`):
 * ISA-L's crc32_gzip_refl (folding with PCLMULQDQ or VPCLMULQDQ, an order
 * of magnitude faster than zlib 1.2's tables on a 64 KiB block) where the
 * build found ISA-L, zlib's crc32_z otherwise; both compute the same
 * values (tests/unit/test-crc.c checks one against the other).  The
 * combine is zlib's in both builds (ISA-L has none).  vb_crc32_impl names
 * the code in use, for tests and benchmarks.  No state: any thread.
 */
#ifndef VB_CRC_H
#define VB_CRC_H

#include <stddef.h>
#include <stdint.h>

/* The checksum c continued over the n bytes at p (p NULL: 0). */
uint32_t vb_crc32(uint32_t c, const void *p, size_t n);

/* The checksum of A then B: c1 of A, c2 of B (from 0), n2 B's length. */
uint32_t vb_crc32_combine(uint32_t c1, uint32_t c2, uint64_t n2);

/* "isa-l" or "zlib": the code vb_crc32 runs. */
const char *vb_crc32_impl(void);

/* CRC-32C (Castagnoli, iSCSI's; TFRecord's records), with vb_crc32's
 * conventions: 0 starts it, vb_crc32c(vb_crc32c(0, a), b) is a then b,
 * "123456789" gives 0xe3069283.  ISA-L's crc32_iscsi where the build has
 * it, a table a byte at a time otherwise (about 400 MB/s: the fallback of
 * a format vb only frames). */
uint32_t vb_crc32c(uint32_t c, const void *p, size_t n);

#endif
