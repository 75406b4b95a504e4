/*
 * ptree: an immutable, copy-on-write B-tree of pieces (see ptree.c for the
 * design, the node encoding and a worked insert, ptree-diff.c for the
 * diff).
 *
 * The content of a version is its pieces (lib/piece.h) in order.
 *
 * A tree is reached through a `struct vb_root`: the subtree's byte length and
 * piece count plus either the file offset of a persisted node (`off`) or an
 * in-memory node not yet written (`mem`, holding one reference).  A root is a
 * value the caller owns: vb_root_release() drops it, vb_root_share() makes a
 * second owner.  Edits (vb_ptree_insert/delete) replace the nodes on one path
 * and share the rest; nodes written to disk are never modified again, and an
 * in-memory node is modified in place only while exactly one root reaches it.
 *
 * Not thread-safe: one vb_ptree (and its roots and cursors) per thread, or a
 * lock around every call.
 */
#ifndef VB_PTREE_H
#define VB_PTREE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "piece.h"

struct vb_node;

struct vb_root {
	uint64_t bytes;
	uint64_t pieces;
	uint64_t off;          /* persisted node, or 0 */
	struct vb_node *mem;   /* in-memory node (owned reference), or NULL */
};

/* How the tree reaches its nodes on disk; implemented by the store. */
struct vb_ptree_io {
	void *ctx;
	/* Read and verify the NODE record at `off`; copy its payload (at most
	 * `cap` bytes) to `buf` and its length to `*len`. */
	enum vb_err (*read_node)(void *ctx, uint64_t off, unsigned char *buf,
				 size_t cap, size_t *len);
	/* Offset at which the next appended record will start. */
	uint64_t (*tell)(void *ctx);
	/* Append a NODE record with this payload at tell(). */
	enum vb_err (*write_node)(void *ctx, const unsigned char *buf, size_t len);
	uint64_t min_off;      /* lowest offset a record may have */
	uint64_t base_size;    /* base pieces must lie inside [0, base_size) */
};

struct vb_ptree;

/* Pieces per leaf and children per inner node (a measured choice: see
 * ptree.c).  Nodes hold at least VB_PTREE_MIN entries, except the root.
 * All three are part of the store format (vb(5), and NODE in
 * lib/store-format.h): nodes on disk hold at most VB_PTREE_MAX entries at
 * a level below VB_PTREE_MAX_DEPTH, a reader rejects a node with more
 * entries or a higher level, and verify one other than the root with
 * fewer than VB_PTREE_MIN.  So they are fixed, not build options, and
 * cannot change without a new format version. */
#define VB_PTREE_MAX 32
#define VB_PTREE_MIN (VB_PTREE_MAX / 4)
#define VB_PTREE_MAX_DEPTH 24
/* Upper bound of an encoded node payload. */
#define VB_PTREE_NODE_BYTES 2048

/* Create a tree context over `io` (copied) with a node cache of at most
 * `cache_bytes` (nodes pinned by roots or cursors come on top). */
enum vb_err vb_ptree_create(const struct vb_ptree_io *io, size_t cache_bytes,
			    struct vb_ptree **out);
/* Free the context.  All roots and cursors must be released first. NULL-safe. */
void vb_ptree_free(struct vb_ptree *t);

/* The empty tree; a persisted tree. */
struct vb_root vb_root_empty(void);
struct vb_root vb_root_disk(uint64_t off, uint64_t bytes, uint64_t pieces);
/* A second owner of the same tree (shares nodes; O(1)). */
struct vb_root vb_root_share(const struct vb_root *r);
/* Drop the caller's ownership; *r becomes empty. */
void vb_root_release(struct vb_ptree *t, struct vb_root *r);

/* Insert piece `p` so that its first byte lands at `pos` (0 <= pos <= bytes).
 * Adjacent pieces contiguous in one source are merged. */
enum vb_err vb_ptree_insert(struct vb_ptree *t, struct vb_root *r, uint64_t pos,
			    const struct vb_piece *p);
/* Delete bytes [pos, pos+len) (must lie inside the content). */
enum vb_err vb_ptree_delete(struct vb_ptree *t, struct vb_root *r, uint64_t pos,
			    uint64_t len);
/* Write every in-memory node of `r` (children before parents) through
 * io->write_node; afterwards r->off names the root and r->mem is NULL.
 * On failure the root is unchanged and still usable. */
enum vb_err vb_ptree_flush(struct vb_ptree *t, struct vb_root *r);

/* A cursor walks the pieces of one tree; it pins the nodes on its path, so
 * it stays valid while the root it came from is edited or released (it
 * keeps showing the tree as it was). */
struct vb_ptree_cur {
	struct vb_ptree *t;
	int depth;             /* entries used in st[] */
	struct {
		struct vb_node *n;
		unsigned i;
	} st[VB_PTREE_MAX_DEPTH];
	uint64_t piece_pos;    /* content offset of the current piece */
	int at_end;            /* 1: past the last piece */
};

/* Position on the piece containing `pos` (pos == bytes: at_end). */
enum vb_err vb_ptree_seek(struct vb_ptree *t, const struct vb_root *r, uint64_t pos,
			  struct vb_ptree_cur *c);
/* Current piece (undefined when at_end). */
const struct vb_piece *vb_ptree_cur_piece(const struct vb_ptree_cur *c);
/* Next / previous piece; at_end after the last, VB_ERANGE before the first. */
enum vb_err vb_ptree_next(struct vb_ptree_cur *c);
enum vb_err vb_ptree_prev(struct vb_ptree_cur *c);
/* Release the cursor's pins.  Safe to call twice. */
void vb_ptree_cur_close(struct vb_ptree_cur *c);

/* Hand the pieces covering bytes [off, off+n) of `r` to fn, in order,
 * each as (piece, skip, take): bytes [skip, skip+take) of the piece.  A
 * failing fn stops the walk with its code; a tree shorter than its sums
 * claim is VB_ECORRUPT. */
enum vb_err vb_ptree_range(struct vb_ptree *t, const struct vb_root *r, uint64_t off, uint64_t n,
			   enum vb_err (*fn)(void *arg, const struct vb_piece *p, uint64_t skip,
					     uint64_t take),
			   void *arg);

/* Check every invariant of an in-memory or persisted tree (sums, fill,
 * levels, no mergeable neighbours inside a leaf).  For tests and --verify. */
enum vb_err vb_ptree_check(struct vb_ptree *t, const struct vb_root *r);

/* Visit every persisted node offset reachable from `r` once per call
 * sequence: `seen` returns 1 for nodes already visited (their subtrees are
 * skipped).  Used by --verify. */
enum vb_err vb_ptree_walk_nodes(struct vb_ptree *t, const struct vb_root *r,
				int (*seen)(void *arg, uint64_t off),
				enum vb_err (*piece)(void *arg, const struct vb_piece *p),
				void *arg);

/*
 * The byte ranges in which the contents of `a` and `b` differ, as hunks:
 * hunk(a_off, a_len, b_off, b_len) says that bytes [a_off, a_off+a_len) of
 * a's content are replaced by bytes [b_off, b_off+b_len) of b's.  Hunks
 * come in increasing order, never overlap and never touch (touching ones
 * are merged); everything outside them is equal content at corresponding
 * positions, so replacing each A range by its B range turns a into b.
 * Equal trees give no hunk.
 *
 * The work follows the changes, not the size: two subtrees with the same
 * persisted node (or the same in-memory node) are the same content and are
 * skipped without being read, and only the nodes on the paths to changes
 * are read (the DIFF notes in ptree-diff.c).  Equal content is recognised by
 * identity only (the same node, or pieces overlapping in the same source),
 * never by comparing bytes, so bytes equal by chance are reported as
 * changed.  Either root may hold in-memory nodes; both must stay unchanged
 * during the call (the callback must not edit them).
 *
 * Memory: the parts still to compare are held as lists of subtrees and
 * pieces, at most vb_ptree_diff_limit() entries (default
 * VB_PTREE_DIFF_ITEMS, 40 bytes each: 10 MiB), and about twice that for a
 * moment while a stretch is split or indexed.  A stretch that would need
 * more holds the side with fewer pieces and walks the other one piece by
 * piece; only when both sides of a stretch have more pieces than the
 * limit is it reported as one hunk as it stands, which is still a
 * correct, if coarser, answer.  A damaged store gives VB_ECORRUPT (or the read error);
 * a failing callback stops the walk with its code; hunks already reported
 * stay reported.
 */
#define VB_PTREE_DIFF_ITEMS ((size_t)1 << 18)
enum vb_err vb_ptree_diff(struct vb_ptree *t, const struct vb_root *a, const struct vb_root *b,
			  enum vb_err (*hunk)(void *arg, uint64_t a_off, uint64_t a_len,
					      uint64_t b_off, uint64_t b_len),
			  void *arg);
/* Entries a diff may hold before it reports stretches whole (at least 2;
 * for tests and for callers with a memory budget). */
void vb_ptree_diff_limit(struct vb_ptree *t, size_t items);

/* Counters for tests and benchmarks. */
struct vb_ptree_stats {
	uint64_t cache_nodes, cache_bytes, cache_hits, cache_misses, nodes_live;
	uint64_t pages_bytes;   /* memory held for nodes (cached and in use) */
};
void vb_ptree_stats(const struct vb_ptree *t, struct vb_ptree_stats *s);

/* Piece-count/size choices, exposed for tests. */
int vb_piece_contiguous(const struct vb_piece *a, const struct vb_piece *b);

#endif
