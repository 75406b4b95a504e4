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
	struct vb_lines lines; /* line-end counts of the subtree, or unknown */
	int lines_claimed;     /* 0: `lines` not known yet (a root read from a
	                        * commit); vb_ptree_lines() gives them */
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
	/* 1: a counting tree (node encoding 2, the store's "lines" feature):
	 * entries carry line-end counts, kept through every edit.  0: no
	 * counts are stored (encoding 1) and every count is unknown. */
	int counts;
	/* Counting trees: the counts of bytes [skip, skip+take) of piece `p`
	 * (take > 0), and whether the byte before them in the piece is '\r'
	 * (*cr_before; 0 when skip is 0) and the byte after them is '\n'
	 * (*lf_after; 0 at the piece's end).  When `take` is more than
	 * `limit` the callee may answer unknown counts without reading (it
	 * answers anyway where it has a cheaper way: the base's line index,
	 * lib/stree.c; the tree asks with limit 0 for parts of a piece
	 * whose counts are unknown, so only that way counts them).  An
	 * error is the read's (the tree then treats the counts as unknown
	 * where an edit asked, and fails a query). */
	enum vb_err (*lines)(void *ctx, const struct vb_piece *p, uint64_t skip, uint64_t take,
			     uint64_t limit, struct vb_lines *out, int *cr_before, int *lf_after);
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
/* Upper bound of an encoded node payload (encoding 2, with counts; an
 * encoding-1 node is at most 2048 bytes). */
#define VB_PTREE_NODE_BYTES 4096
/* Counting trees keep data pieces at most this long (contiguous ones are
 * not merged past it), so the counts of a part of one cost at most this
 * many bytes read; and a part of any piece is counted by reading only
 * when that takes at most this many bytes (else it is unknown). */
#define VB_PTREE_COUNT_PIECE ((uint64_t)1 << 20)

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
 * Adjacent pieces contiguous in one source are merged (in a counting
 * tree, data pieces only up to VB_PTREE_COUNT_PIECE bytes).  `p`'s counts
 * are taken as given (unknown if it has none); a piece split by the edit
 * gets the counts of its parts (io.lines), unknown where they would cost
 * more than VB_PTREE_COUNT_PIECE bytes read. */
enum vb_err vb_ptree_insert(struct vb_ptree *t, struct vb_root *r, uint64_t pos,
			    const struct vb_piece *p);
/* Delete bytes [pos, pos+len) (must lie inside the content). */
enum vb_err vb_ptree_delete(struct vb_ptree *t, struct vb_root *r, uint64_t pos,
			    uint64_t len);
/* Write every in-memory node of `r` (children before parents) through
 * io->write_node; afterwards r->off names the root and r->mem is NULL.
 * On failure the root is unchanged and still usable. */
enum vb_err vb_ptree_flush(struct vb_ptree *t, struct vb_root *r);

/*
 * Building a tree from its pieces in order, bottom-up: a leaf is filled
 * to VB_PTREE_MAX pieces (contiguous pieces merged as by an insert),
 * written through io->write_node and its entry passed to the level
 * above, and so on up; so a build is O(pieces) with no path walked per
 * piece and holds at most two nodes per level in memory.  The last two
 * nodes of a level are balanced so that every node but the root holds
 * at least VB_PTREE_MIN entries.  On success *root is the tree (its root
 * node in memory, the rest written) and the builder is freed; on any
 * failure, and from vb_ptree_build_free, what was built is dropped (the
 * nodes already written stay in the file: the caller's rollback removes
 * them).  Counts are taken as given, as by vb_ptree_insert.
 */
struct vb_ptree_build;
enum vb_err vb_ptree_build_begin(struct vb_ptree *t, struct vb_ptree_build **out);
enum vb_err vb_ptree_build_add(struct vb_ptree_build *b, const struct vb_piece *p);
enum vb_err vb_ptree_build_end(struct vb_ptree_build *b, struct vb_root *root);
/* NULL-safe. */
void vb_ptree_build_free(struct vb_ptree_build *b);

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

/* Bytes [skip, skip+take) of piece `p` (0 < take, skip + take <= len) as a
 * piece, with their counts (from p's and io.lines, as an edit finds
 * them; unknown where that would read more than VB_PTREE_COUNT_PIECE). */
struct vb_piece vb_ptree_piece_part(struct vb_ptree *t, const struct vb_piece *p, uint64_t skip,
				    uint64_t take);

/* The counts of the whole piece `p`: its own when known, else read
 * through io.lines (a read error fails). */
enum vb_err vb_ptree_piece_count(struct vb_ptree *t, const struct vb_piece *p,
				 struct vb_lines *out);

/*
 * Lines (lib/lines.h).  The tree answers from its counts and reads bytes
 * (io.lines) only for pieces whose counts are unknown (all of them in a
 * tree that does not count), so the work is O(log n) on a counted tree.
 * Errors: a read's error; VB_ECORRUPT for a tree shorter than its sums.
 *
 * vb_ptree_lines: the counts of the whole content (unknown for a tree
 *   that has unknown parts: nothing is read).
 * vb_ptree_line_ends: the line ends of mode `m` whose first byte lies
 *   before `pos` (0 <= pos <= bytes).
 * vb_ptree_line_find: the piece holding the first byte of the k-th line
 *   end (k >= 1): its offset in the content, the piece, the ends before
 *   it and whether the byte before it is '\r'; the caller finds the byte
 *   in the piece.  VB_ERANGE (no detail) when there are fewer ends.
 */
void vb_ptree_lines(struct vb_ptree *t, const struct vb_root *r, struct vb_lines *out);
enum vb_err vb_ptree_line_ends(struct vb_ptree *t, const struct vb_root *r, enum vb_line_mode m,
			       uint64_t pos, uint64_t *ends);
struct vb_ptree_line {
	uint64_t piece_pos;      /* offset of the piece in the content */
	struct vb_piece piece;
	uint64_t ends_before;    /* line ends starting before the piece */
	int prev_cr;             /* the byte before the piece is '\r' */
};
enum vb_err vb_ptree_line_find(struct vb_ptree *t, const struct vb_root *r, enum vb_line_mode m,
			       uint64_t k, struct vb_ptree_line *out);

/* Check every invariant of an in-memory or persisted tree (sums, counts,
 * fill, levels, no mergeable neighbours inside a leaf).  For tests and --verify. */
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
