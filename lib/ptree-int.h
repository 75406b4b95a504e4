/*
 * ptree-int: what the two halves of the piece tree share, ptree.c (nodes,
 * cache, edits, cursors) and ptree-diff.c (vb_ptree_diff).  Private to
 * them: nothing else includes it; the public interface is ptree.h.
 *
 * A `struct vb_node` is one decoded or new node, reference counted: a
 * node is freed when its last reference goes (vb_ptree_node_unref), and
 * an inner node holds a reference to each in-memory child.  A node with
 * an offset (`off`) was read from or written to the store and is never
 * changed again; one without is changed in place only by an edit that
 * reaches it through a single root (ptree.c).  The node cache holds one
 * reference to each persisted node it keeps.
 *
 * vb_ptree_load is the one way to reach a node through a root or child
 * entry: it comes from memory, the cache or the store (decoded and
 * checked against the claimed level and sums, VB_ECORRUPT if it does not
 * match), and the caller owns one reference, dropped with
 * vb_ptree_node_unref.  Like the rest of the tree, not thread-safe.
 */
#ifndef VB_PTREE_INT_H
#define VB_PTREE_INT_H

#include "pages.h"
#include "ptree.h"

/* Entries a node has room for: VB_PTREE_MAX, and the overflow an edit
 * leaves before the parent splits the node. */
#define VB_PTREE_CAP (VB_PTREE_MAX + 2)

struct vb_node {
	uint32_t refs;
	uint8_t level;
	uint16_t n;
	uint64_t off;                 /* 0 until written */
	uint64_t sum_bytes;           /* as decoded (persisted nodes only) */
	uint64_t sum_pieces;
	struct vb_lines sum_lines;
	struct vb_node *lru_prev, *lru_next, *hnext;
	int cached;
	union {
		struct vb_piece p[VB_PTREE_CAP];
		struct vb_root k[VB_PTREE_CAP];
	} u;
};

struct vb_ptree {
	struct vb_ptree_io io;
	size_t cache_cap;
	size_t cache_used;
	struct vb_node **buckets;
	size_t nbuckets;
	size_t ncached;
	struct vb_node *lru_head, *lru_tail;   /* head = most recent */
	uint64_t hits, misses, live;
	size_t diff_items;      /* vb_ptree_diff_limit */
	struct vb_pages *pages;
	struct vb_pool *pool;
	unsigned char enc[VB_PTREE_NODE_BYTES];
};

/* Bucket of a file offset in a table of `nb` (a power of two) buckets:
 * the node cache's, and the diff's table of tokens. */
static inline size_t vb_ptree_hash_off(uint64_t off, size_t nb)
{
	off ^= off >> 29;
	off *= 0xbf58476d1ce4e5b9ULL;
	off ^= off >> 32;
	return (size_t)off & (nb - 1);
}

/* The empty tree: no node, on disk or in memory. */
static inline int vb_ptree_root_is_empty(const struct vb_root *r)
{
	return !r->mem && !r->off;
}

/* A referenced node for child/root `k`; `level` is the expected level or
 * -1.  *out is NULL on failure. */
enum vb_err vb_ptree_load(struct vb_ptree *t, const struct vb_root *k, int level,
			  struct vb_node **out);
/* Drop one reference to `n` (NULL-safe); the last one frees it and drops
 * its references to its in-memory children. */
void vb_ptree_node_unref(struct vb_ptree *t, struct vb_node *n);

#endif
