/*
 * lindex: the line index of a store's base file (store-format.h, LINE
 * INDEX): cumulative line-end counts at every data-block boundary of the
 * base, in checksummed records of the store, so that the counts
 * (lib/lines.h) of any byte range of the base cost two lookups and at most
 * two partial blocks read, whatever the range's length.
 *
 * The index belongs to the base's identity: it records the base size and
 * the CRC of the header's sample table, and an index whose identity is not
 * the header's is not used.  While it reads the base whole, the build also
 * takes the CRC-32 of the entire base content (kept in the directory).
 *
 * A handle (struct vb_lindex) borrows its store, which must outlive it;
 * it keeps the directory and a few decoded records (at most
 * VB_LINDEX_MEM bytes in all).  One thread at a time.
 */
#ifndef VB_LINDEX_H
#define VB_LINDEX_H

#include "lines.h"
#include "store.h"

#include <stdint.h>

/* Memory a handle uses at most; a build (its read-ahead buffers, the
 * records it fills). */
#define VB_LINDEX_MEM ((size_t)2 << 20)
#define VB_LINDEX_BUILD_MEM ((size_t)4 << 20)

struct vb_lindex;

/* The index the store's head refers to, in *out; *out = NULL when the
 * store has none or has one for another base identity (not an error).
 * VB_ECORRUPT if the directory is damaged or inconsistent. */
enum vb_err vb_lindex_open(struct vb_store *s, struct vb_lindex **out);
void vb_lindex_free(struct vb_lindex *x);

/* The counts of base bytes [off, off+n), n > 0, inside the base.  An
 * error (a damaged record, VB_ECORRUPT; a read of the base) leaves *out
 * unknown: never a wrong count from a damaged index. */
enum vb_err vb_lindex_count(struct vb_lindex *x, uint64_t off, uint64_t n, struct vb_lines *out);

/* The CRC-32 of the base's whole content, as the build found it. */
uint32_t vb_lindex_base_crc(const struct vb_lindex *x);

/* A position in the base whose prefix counts a build fills in on its way
 * (so that the pieces of a tree are counted in the same pass): P(off) as
 * in store-format.h less P at the start of off's block (24 bytes a mark),
 * whether byte off-1 is '\r' and byte off is '\n'. */
struct vb_lindex_mark {
	uint64_t off;
	uint32_t lf, cr, crlf;
	unsigned char cr_before, lf_at;
};

/* Build the index of the base of `s` (a writer): one pass over the base
 * in bounded memory (VB_LINDEX_BUILD_MEM, plus the caller's marks; a
 * base file is read ahead on a second thread), appending
 * its records, and make the next commit refer to it
 * (vb_store_set_line_index).  marks[0..nmarks) (sorted by off, each at
 * most the base size; may be NULL) are filled in.  `progress`, if not
 * NULL, is called with bytes done and the base size as the pass goes.
 * VB_EINVAL without a base or with marks out of order, VB_ELIMIT for a
 * base over 2 TiB. */
enum vb_err vb_lindex_build(struct vb_store *s, struct vb_lindex_mark *marks, size_t nmarks,
			    void (*progress)(void *arg, uint64_t done, uint64_t total), void *arg);

/* The counts of base bytes [a->off, b->off) (a->off < b->off) from two
 * marks a build filled in and the index it built. */
enum vb_err vb_lindex_between(struct vb_lindex *x, const struct vb_lindex_mark *a,
			      const struct vb_lindex_mark *b, struct vb_lines *out);

/* Copy the index into `to`, a rewrite of the same store (compaction): its
 * records appended to `to`, whose next commit refers to them. */
enum vb_err vb_lindex_copy(struct vb_lindex *x, struct vb_store *to);

/* Check the index against the base, read whole: VB_ECORRUPT naming the
 * first block whose counts differ, or the content CRC. */
enum vb_err vb_lindex_check(struct vb_lindex *x,
			    void (*progress)(void *arg, uint64_t done, uint64_t total), void *arg);

#endif
