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
struct vb_stree_ctx {
	struct vb_store *s;
	struct vb_lindex *lx;
};

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
