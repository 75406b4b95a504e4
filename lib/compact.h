/*
 * compact: rewrite a store with only what its newest versions use.
 *
 * The cut (the oldest version kept) is the caller's (lib/vbuf computes it
 * once, with the anchors to restate there); this module only moves data.
 *
 * Phases (each a function of compact.c):
 *   1. collect: the data blocks the kept versions reach (each
 *      distinct tree node walked once) and the embedded base, as runs of
 *      blocks per data record ("clusters"), sorted and merged: the one cut;
 *   2. copy: each cluster into a rewrite of the store (lib/store moves the
 *      blocks with copy_file_range and carries their checksums over);
 *   3. rebuild: the oldest kept version's tree from its pieces, each later
 *      one from the one before and their differences (vb_ptree_diff), so
 *      the work follows the edits; pieces are translated to the copies;
 *      each version's commit is written again with its time, message,
 *      operations and extensions (anchors restated where the caller says),
 *      and an origin entry keeping its identity; the oldest kept is marked
 *      VB_COMMIT_CUT;
 *   4. finish: one more version with a COMPACT operation, then the rewrite
 *      is synced and renamed over the store.
 * The one check, that a rebuilt tree has its version's recorded length and
 * no more pieces than recorded, is made per version in phase 3.
 * The old file is never changed, so a crash anywhere leaves one valid
 * store.  Memory: the clusters, one set of node offsets, one diff's hunks
 * and the kept commits (n struct vb_commit), all bounded by what the kept
 * versions hold.
 */
#ifndef VB_COMPACT_H
#define VB_COMPACT_H

#include "ptree.h"
#include "store.h"
#include "vbuf.h" /* struct vb_compact_stats */


/* A kept version whose anchor entries are replaced (the cut, and the
 * versions that revert to before it: their anchors, restated). */
struct vb_restate {
	uint64_t version;
	unsigned char *ext;        /* VB_EXT_ANCHOR entries: all of them */
	size_t ext_len;
};

/* Compact writer `s` (no pending appends), whose trees `t` reads, to its
 * versions from `oldest` (the cut: at least the store's oldest, at most
 * its head) on, plus a COMPACT version with `message`.  On
 * success `s` can no longer write: close it.  `progress` (may be NULL)
 * is called from the start: with 0 bytes (and total 0) while the kept
 * versions are walked, then with the bytes copied so far and the total to
 * copy (whole blocks: an estimate a little above the bytes copied).  Errors: VB_EINVAL (a cut outside the
 * history, not a writer), VB_ECORRUPT (a damaged version), VB_ELIMIT (too many anchors
 * to restate), VB_ENOMEM, VB_EIO. */
enum vb_err vb_compact(struct vb_store *s, struct vb_ptree *t, uint64_t oldest,
		       const struct vb_restate *rs, size_t nrs, const char *message,
		       void (*progress)(void *arg, uint64_t done, uint64_t total), void *arg,
		       struct vb_compact_stats *st);

#endif
