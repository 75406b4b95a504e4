/*
 * oset: a set of nonzero 64-bit file offsets, for walks that must visit
 * each shared thing once (the nodes of many versions' trees in verify and
 * compaction).
 *
 * Open addressing with linear probing, a multiplicative hash, grown to
 * twice its size when half full.  A plain struct the caller owns: zero it
 * to start, vb_oset_free() to release.  Memory grows with the offsets
 * added (16 bytes each at most); when it cannot grow, vb_oset_add answers
 * "not there" (0), so a walk merely visits something twice, never misses
 * it.  One thread at a time.
 */
#ifndef VB_OSET_H
#define VB_OSET_H

#include <stddef.h>
#include <stdint.h>

struct vb_oset {
	uint64_t *v;    /* cap slots, 0 = empty */
	size_t n, cap;  /* offsets held; slots (0 or a power of two) */
};

/* Add `off` (nonzero): 1 if it was there already, else 0. */
int vb_oset_add(struct vb_oset *s, uint64_t off);
/* Release the memory; the set is empty again.  NULL-safe. */
void vb_oset_free(struct vb_oset *s);

#endif
