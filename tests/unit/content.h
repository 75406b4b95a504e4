/*
 * content: what the store tests compare versions by — a CRC-32 of a
 * buffer's whole content, read through vb_vbuf_read a block at a time —
 * a byte copy of a store file (a fresh copy per crash point), and the
 * options the tests open stores with.
 */
#ifndef VB_TEST_CONTENT_H
#define VB_TEST_CONTENT_H

#include <zlib.h>

#include "check.h"
#include "vbuf.h"

/* CRC-32 of the first `len` bytes of what `b` shows. */
static inline uint32_t content_crc_len(struct vb_vbuf *b, uint64_t len)
{
	static unsigned char buf[1 << 16];
	uint32_t c = 0;

	for (uint64_t off = 0; off < len;) {
		size_t take = len - off < sizeof buf ? (size_t)(len - off) : sizeof buf;
		REQUIRE_OK(vb_vbuf_read(b, off, buf, take));
		c = (uint32_t)crc32(c, buf, (uInt)take);
		off += take;
	}
	return c;
}

/* CRC-32 of everything `b` shows. */
static inline uint32_t content_crc(struct vb_vbuf *b)
{
	return content_crc_len(b, vb_vbuf_len(b));
}

/* Copy file `from` to `to` byte for byte (replacing `to`). */
static inline void copy_file(const char *from, const char *to)
{
	static unsigned char x[1 << 16];
	FILE *f = fopen(from, "rb"), *g = fopen(to, "wb");
	size_t n;

	REQUIRE(f && g);
	while ((n = fread(x, 1, sizeof x, f)))
		REQUIRE(fwrite(x, 1, n, g) == n);
	fclose(f);
	REQUIRE(fclose(g) == 0);
}

/* Options to open a store for writing (1) or reading (0), without fsync:
 * a test's files need not survive a power loss. */
static inline struct vb_vbuf_opts store_opts(int write)
{
	struct vb_vbuf_opts o;

	vb_vbuf_opts_init(&o);
	o.write = write;
	o.no_sync = 1;
	return o;
}

#endif
