/*
 * stree: the piece tree over a store, the one join of lib/ptree and
 * lib/store (the tree's node I/O done with the store's NODE records).
 * The store backend (vbuf-store.c) and compaction (compact.c) make their
 * trees here; nothing else puts the two together.
 */
#ifndef VB_STREE_H
#define VB_STREE_H

#include "lindex.h"
#include "ptree.h"
#include "store.h"

/* What a tree over a store reads through: the store, and the base's line
 * index when there is one (lx may be NULL, and may be set later: base
 * pieces are then counted through it, whatever their length). */
struct vb_stree_spans;
struct vb_stree_ctx {
	struct vb_store *s;
	struct vb_lindex *lx;
	struct vb_stree_spans *spans; /* may be NULL: see vb_stree_spans_new */
};

/*
 * The counts of whole data blocks of pieces (VB_STORE_BLOCK bytes from
 * the piece's start, the last one shorter), kept once counted: a line
 * looked up again in the same piece (a unified diff asks for several
 * around each change) then reads one block, not the piece from its start.
 * Sources never change, so entries stay true; a fixed table of
 * recent spans (about 40 KiB), the owner frees it.  NULL-safe.
 */
struct vb_stree_spans *vb_stree_spans_new(void);
void vb_stree_spans_free(struct vb_stree_spans *sp);
/* Counts of bytes [o, o+n) of piece p, if kept (1), else 0. */
int vb_stree_span_get(struct vb_stree_spans *sp, const struct vb_piece *p, uint64_t o, uint64_t n,
		      struct vb_lines *out);
void vb_stree_span_put(struct vb_stree_spans *sp, const struct vb_piece *p, uint64_t o,
		       uint64_t n, const struct vb_lines *l);

/* A tree context whose nodes are the NODE records of cx->s, with a node
 * cache of `cache_bytes`; *cx (and the store) must outlive it. */
enum vb_err vb_stree_create(struct vb_stree_ctx *cx, size_t cache_bytes, struct vb_ptree **out);
/* The tree commit `c` names (persisted; nothing to release, but
 * vb_root_release is harmless). */
struct vb_root vb_stree_root(const struct vb_commit *c);
/* Flush the in-memory nodes of *r into the store: the write_tree callback
 * of vb_store_commit, with `arg` a struct vb_stree_flush. */
struct vb_stree_flush {
	struct vb_ptree *t;
	struct vb_root *r;
};
enum vb_err vb_stree_flush(void *arg, struct vb_store_root *out);

#endif
