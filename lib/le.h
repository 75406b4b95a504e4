/*
 * le: little-endian numbers in byte buffers: fixed-width integers, the
 * byte order of every number in a store file and an export stream, and
 * unsigned LEB128 varints ("little-endian base 128"), the numbers of a
 * piece-tree node, of a store's operations record and of vb-frame's
 * `varint` length prefixes.  Util layer: no state, no allocation, no
 * vb_err detail messages (a failure is a return value the caller words),
 * safe from any thread.  The framing codecs have their own fixed-width
 * readers for both byte orders (frame.h).
 *
 * VARINTS
 *   A uint64_t is written as 7-bit groups, least significant first, each
 *   in one byte whose top bit (0x80) says that another byte follows.
 *   vb_varint_put writes the shortest form: 1 byte for 0..127, 2 for
 *   128..16383, ..., VB_VARINT_MAX (10) for 2^63 and above.
 *
 *   Two decoders, for the two sets of rules the callers had (keep them
 *   apart: a change of rule changes which stores and streams are accepted):
 *
 *   vb_varint_get    strict, the rule of the piece tree's node decoder
 *                    (ptree.c) and of vb_read_varint (frame.c):
 *                      - at most 10 bytes: a 10th byte with the
 *                        continuation bit is VB_VARINT_LONG;
 *                      - the value fits 64 bits: a last 10th byte other
 *                        than 0 or 1 is VB_VARINT_OVERFLOW;
 *                      - the buffer ending before the last byte (within
 *                        the first 10) is VB_VARINT_SHORT; this is decided
 *                        before the two above, so 9 continuation bytes at
 *                        the end of the buffer are SHORT;
 *                      - padded forms are accepted as long as they keep
 *                        to 10 bytes (0x80 0x00 is 0 in 2 bytes): the
 *                        callers never refused them.
 *   vb_varint_get_wrap  lax, the rule of the store's operations record as
 *                    store.c decodes it: no length limit but the buffer
 *                    (any number of continuation bytes; store.c bounds an
 *                    operation to 31 bytes itself), and groups at bit 64
 *                    and above are dropped, so the value is the encoded
 *                    number modulo 2^64 (the loop store.c had before
 *                    shifted those by 64 or more, which C leaves
 *                    undefined; dropping them is the defined reading).
 *                    Only a buffer ending before the last byte fails
 *                    (VB_VARINT_SHORT).
 *
 *   Both read only the `n` bytes at p, return the length of the varint
 *   (1..) on success with the value in *v, and leave *v alone on failure.
 */
#ifndef VB_LE_H
#define VB_LE_H

#include <stddef.h>
#include <stdint.h>

static inline void vb_le_put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static inline void vb_le_put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static inline void vb_le_put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint16_t vb_le_get16(const unsigned char *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t vb_le_get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t vb_le_get64(const unsigned char *p)
{
	return (uint64_t)vb_le_get32(p) | (uint64_t)vb_le_get32(p + 4) << 32;
}

/* Longest varint: 64 bits in 7-bit groups. */
#define VB_VARINT_MAX 10

/* Why a varint could not be decoded (the non-positive results). */
enum {
	VB_VARINT_SHORT = 0,     /* the buffer ends before its last byte */
	VB_VARINT_LONG = -1,     /* strict: longer than 10 bytes */
	VB_VARINT_OVERFLOW = -2, /* strict: above 2^64-1 */
};

/* Write `v` in its shortest form at p (room for VB_VARINT_MAX bytes);
 * returns the bytes written, 1..VB_VARINT_MAX. */
static inline size_t vb_varint_put(unsigned char *p, uint64_t v)
{
	size_t i = 0;

	while (v >= 0x80) {
		p[i++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	p[i++] = (unsigned char)v;
	return i;
}

/* Strict decode of the varint at p[0, n): its length (1..VB_VARINT_MAX)
 * and *v, or VB_VARINT_SHORT, VB_VARINT_LONG or VB_VARINT_OVERFLOW (the
 * rules at the top of this file). */
static inline int vb_varint_get(const unsigned char *p, size_t n, uint64_t *v)
{
	uint64_t r = 0;

	for (unsigned i = 0; i < VB_VARINT_MAX; i++) {
		if (i >= n)
			return VB_VARINT_SHORT;
		unsigned char b = p[i];
		if (i == VB_VARINT_MAX - 1 && (b & 0x80))
			return VB_VARINT_LONG;
		if (i == VB_VARINT_MAX - 1 && b > 1)
			return VB_VARINT_OVERFLOW;
		r |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*v = r;
			return (int)i + 1;
		}
	}
	return VB_VARINT_LONG;   /* not reached: the 10th byte decides */
}

/* Lax decode of the varint at p[0, n): any length, value modulo 2^64.
 * Its length (1..n) and *v, or 0 (VB_VARINT_SHORT) when every byte of
 * p[0, n) has the continuation bit. */
static inline size_t vb_varint_get_wrap(const unsigned char *p, size_t n, uint64_t *v)
{
	uint64_t r = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char b = p[i];
		if (i < VB_VARINT_MAX)
			r |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*v = r;
			return i + 1;
		}
	}
	return VB_VARINT_SHORT;
}

#endif
