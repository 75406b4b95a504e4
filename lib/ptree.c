/*
 * ptree: the piece tree.
 *
 * SHAPE
 *   A B-tree whose leaves hold pieces and whose inner nodes hold, for each
 *   child, a `struct vb_root`: the child's byte length, piece count and
 *   location (file offset once written, memory pointer before).  Keys are not
 *   stored: a position is found by summing child lengths from the left, so an
 *   insert or delete changes the sums on one path only.  Every node but the
 *   root holds VB_PTREE_MIN..VB_PTREE_MAX entries; leaves are level 0.
 *
 * AN INSERT ON PAPER
 *   Content "HELLO WORLD" is one base piece B[0,11).  Insert "big " (just
 *   appended to data record D at offset 0) at position 6:
 *
 *       before:  [ B 0..11 ]
 *       after:   [ B 0..6 ][ D 0..4 ][ B 6..11 ]      "HELLO big WORLD"
 *
 *   The piece containing position 6 is split and the new piece goes between
 *   the halves.  Inserting "red " at 10 next is a position at the end of
 *   D 0..4, and "red " lands at D 4..8, contiguous with it, so the piece is
 *   extended instead of adding one:  [ B 0..6 ][ D 0..8 ][ B 6..11 ].
 *   A later delete of [6,14) leaves B 0..6 and B 6..11 side by side; they are
 *   contiguous in the base and merge back into B 0..11.
 *
 *   In a tree, the leaf is found from the root by child sums (at a boundary
 *   the left child is chosen, so an insert at the end of a piece reaches the
 *   leaf holding that piece and can extend it).  Each node on the path is
 *   made writable: an in-memory node reached by this root alone is changed in
 *   place; any other node (written, or shared with another root) is copied
 *   and the copy replaces it in its parent.  So an edit allocates at most
 *   O(depth) new nodes and every older version keeps its own nodes.  A node
 *   that grows past VB_PTREE_MAX is split in two by its parent; one that
 *   falls under VB_PTREE_MIN is merged with or refilled from a sibling; the
 *   root gains a level when it splits and loses one when it keeps one child.
 *   Merging contiguous pieces happens inside a leaf after every change, and
 *   across a leaf boundary by a delete + insert of the two pieces.
 *
 * ENCODING (payload of a NODE record; all numbers unsigned LEB128 varints)
 *   level                    0 = leaf
 *   count                    entries, 1..VB_PTREE_MAX
 *   leaf entry:   src, [DATA: self - rec], start, len
 *   inner entry:  self - child, bytes, pieces
 *   `self` is the node's own file offset: children and data records always
 *   lie before a node, so the deltas are positive and small for recent
 *   records.  A decoder checks every field against the file (offsets below
 *   self and at or above the first record, base pieces inside the base,
 *   sums equal to what the parent claims), so a damaged or hostile store
 *   cannot make a walk loop or index out of bounds.
 *
 * FANOUT
 *   32 entries, chosen by measurement (a 256 MiB base cut into N pieces by
 *   one vb-delete --ranges, then single-byte inserts; bytes appended per
 *   commit including the commit and ops records):
 *
 *       fanout   100,000 pieces   1,000,000 pieces   tree bytes at 1M pieces
 *       16       845 B            963 B              20.1 MB
 *       32       954 B            1088 B             16.8 MB
 *       64       1158 B           1428 B             15.3 MB
 *
 *   16 writes the least per edit but adds a level and per-record overhead
 *   to the whole tree; 64 doubles each rewritten node.  All three stay well
 *   under the 2 KiB-per-edit target; single-edit latency was the same
 *   (about 1 ms, mostly process start-up).
 *
 * CACHE
 *   Nodes read from disk are decoded once and kept in a hash table with an
 *   LRU list, bounded in bytes (sizeof(struct vb_node) each): putting a
 *   node in evicts the least recently used ones until the cache fits.  The
 *   cache holds one reference; roots, cursors and in-flight edits hold
 *   their own, so eviction never frees a node in use.  Every node, cached
 *   or not, lives in a pool (lib/pages) over the tree's own segmented page
 *   store: freed nodes' slots are reused, so the memory held is the peak of
 *   live nodes (the cache plus those in use), and pages left empty go back
 *   to the system after the page store's decay time.
 *
 * DIFF
 *   vb_ptree_diff compares two trees by identity, never by bytes: a node
 *   persisted at one offset is one content, however many versions reach
 *   it, and so is an unwritten in-memory node (offset 0 names nothing).
 *   Each side is a list of items, a token (a subtree not looked into: its
 *   root and level) or a piece, and the work is a stack of segments, a
 *   stretch of A's items against a stretch of B's.  A segment is taken
 *   from the top (the leftmost first, so hunks come out in order) and:
 *
 *     1. if one side is empty, the whole segment is a hunk;
 *     2. tokens of A are matched with equal tokens of B (a hash of B's),
 *        in order on both sides: a match is taken only after the previous
 *        one in B.  Matched tokens are equal content: the segment is cut
 *        there, and the gaps between matches go on the stack;
 *     3. with no match, the tokens of the highest level on either side are
 *        replaced by their nodes' entries (read now), and back to 1.
 *        Levels come down together, so a subtree shared at level L shows
 *        on both sides once both have been opened down to L: trees of
 *        different heights meet there;
 *     4. pieces only: each piece of A, in order, is matched with the B
 *        piece of the same source that overlaps it first in the source
 *        (B's pieces sorted by source), if that overlap lies after the
 *        previous match in B; overlaps are equal content, the rest hunks.
 *
 *   On paper: A = root R[x y z] and B, after an insert inside y, root
 *   R'[x y' z].  R and R' differ: open both (2 reads); x and z match; the
 *   segment [y] against [y'] remains; open both (2 reads): pieces
 *   [B 0..9] against [B 0..4][D 0..3][B 4..9]; B 0..4 and B 4..9 overlap
 *   A's piece, so the hunk is A[4,4) -> B[4,7).  Nodes read: those on the
 *   paths that changed, about 2 x depth per edit; x and z were never read.
 *
 *   The matches are monotone on both sides by construction, so whatever
 *   the trees hold (a node referenced twice, shared nodes in crossing
 *   order: a damaged or hostile store), the hunks are a correct answer,
 *   if not the smallest.  Editors keep shared content in one order, and
 *   each source byte at most once per version, which makes the greedy
 *   matching find all of it.  Every node read goes through load(), so a
 *   damaged one is VB_ECORRUPT; levels strictly fall, so the walk ends.
 *   Touching hunks are merged as they are reported.
 *
 *   The items held are bounded (vb_ptree_diff_limit).  A segment that
 *   would open more than that holds only its side with fewer pieces (the
 *   sums say how many without reading), opened down to its pieces, and
 *   streams the other side past it with a cursor, a piece at a time, as in
 *   step 4: a version with half a million deletes against the base it
 *   came from costs memory for the base's one piece.  Only when both sides
 *   of a segment have more pieces than the bound is the segment reported
 *   as one hunk: still correct, coarser.
 */
#include "ptree.h"
#include "grow.h"
#include "le.h"
#include "pages.h"

#include <stdlib.h>
#include <string.h>

#define CAP (VB_PTREE_MAX + 2)

struct vb_node {
	uint32_t refs;
	uint8_t level;
	uint16_t n;
	uint64_t off;                 /* 0 until written */
	uint64_t sum_bytes;           /* as decoded (persisted nodes only) */
	uint64_t sum_pieces;
	struct vb_node *lru_prev, *lru_next, *hnext;
	int cached;
	union {
		struct vb_piece p[CAP];
		struct vb_root k[CAP];
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

/* ---------------------------------------------------------------- pieces */

int vb_piece_contiguous(const struct vb_piece *a, const struct vb_piece *b)
{
	return a->src == b->src && a->rec == b->rec && a->start + a->len == b->start;
}

/* ----------------------------------------------------------------- nodes */

static struct vb_node *node_new(struct vb_ptree *t, unsigned level)
{
	struct vb_node *n;
	void *m;

	if (vb_pool_alloc(t->pool, &m))
		return NULL;
	n = m;
	memset(n, 0, sizeof *n);
	n->refs = 1;
	n->level = (uint8_t)level;
	t->live++;
	return n;
}

static struct vb_node *node_ref(struct vb_node *n)
{
	n->refs++;
	return n;
}

static void node_unref(struct vb_ptree *t, struct vb_node *n)
{
	/* Iterative over the first child chain would be possible; recursion
	 * depth is bounded by the tree depth. */
	if (!n || --n->refs)
		return;
	if (n->level)
		for (unsigned i = 0; i < n->n; i++)
			node_unref(t, n->u.k[i].mem);
	t->live--;
	vb_pool_release(t->pool, n);
}

/* ----------------------------------------------------------------- cache */

static size_t hash_off(uint64_t off, size_t nb)
{
	off ^= off >> 29;
	off *= 0xbf58476d1ce4e5b9ULL;
	off ^= off >> 32;
	return (size_t)off & (nb - 1);
}

static void lru_unlink(struct vb_ptree *t, struct vb_node *n)
{
	if (n->lru_prev)
		n->lru_prev->lru_next = n->lru_next;
	else
		t->lru_head = n->lru_next;
	if (n->lru_next)
		n->lru_next->lru_prev = n->lru_prev;
	else
		t->lru_tail = n->lru_prev;
	n->lru_prev = n->lru_next = NULL;
}

static void lru_push(struct vb_ptree *t, struct vb_node *n)
{
	n->lru_prev = NULL;
	n->lru_next = t->lru_head;
	if (t->lru_head)
		t->lru_head->lru_prev = n;
	t->lru_head = n;
	if (!t->lru_tail)
		t->lru_tail = n;
}

static struct vb_node *cache_get(struct vb_ptree *t, uint64_t off)
{
	struct vb_node *n;

	if (!t->nbuckets)
		return NULL;
	for (n = t->buckets[hash_off(off, t->nbuckets)]; n; n = n->hnext)
		if (n->off == off) {
			lru_unlink(t, n);
			lru_push(t, n);
			return node_ref(n);
		}
	return NULL;
}

static void cache_remove(struct vb_ptree *t, struct vb_node *n)
{
	struct vb_node **pp = &t->buckets[hash_off(n->off, t->nbuckets)];

	while (*pp != n)
		pp = &(*pp)->hnext;
	*pp = n->hnext;
	n->hnext = NULL;
	lru_unlink(t, n);
	n->cached = 0;
	t->ncached--;
	t->cache_used -= sizeof *n;
	node_unref(t, n);
}

static void cache_grow(struct vb_ptree *t)
{
	size_t nb = t->nbuckets ? t->nbuckets * 2 : 256;
	struct vb_node **b = calloc(nb, sizeof *b);

	if (!b)
		return;   /* keep the old table; chains just get longer */
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct vb_node *n = t->buckets[i], *next;
		for (; n; n = next) {
			next = n->hnext;
			size_t h = hash_off(n->off, nb);
			n->hnext = b[h];
			b[h] = n;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = nb;
}

/* Give the cache a reference to the persisted node `n`. */
static void cache_put(struct vb_ptree *t, struct vb_node *n)
{
	if (n->cached || !n->off || t->cache_cap < sizeof *n)
		return;
	if (t->ncached + 1 > t->nbuckets)
		cache_grow(t);
	if (!t->nbuckets)
		return;
	size_t h = hash_off(n->off, t->nbuckets);
	n->hnext = t->buckets[h];
	t->buckets[h] = n;
	n->cached = 1;
	node_ref(n);
	lru_push(t, n);
	t->ncached++;
	t->cache_used += sizeof *n;
	while (t->cache_used > t->cache_cap && t->lru_tail && t->lru_tail != n)
		cache_remove(t, t->lru_tail);
}

/* -------------------------------------------------------------- encoding */

/* The node decoder's varint rule is vb_varint_get's (le.h); this adapter
 * reads one at *p and moves past it.  0, or -1 for a truncated, too long
 * or overflowing one. */
static int get_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	int k = vb_varint_get(*p, (size_t)(end - *p), v);

	if (k <= 0)
		return -1;
	*p += k;
	return 0;
}

static size_t encode(const struct vb_node *n, uint64_t self, unsigned char *buf)
{
	size_t o = 0;

	o += vb_varint_put(buf + o, n->level);
	o += vb_varint_put(buf + o, n->n);
	for (unsigned i = 0; i < n->n; i++) {
		if (!n->level) {
			const struct vb_piece *p = &n->u.p[i];
			o += vb_varint_put(buf + o, p->src);
			if (p->src == VB_SRC_DATA)
				o += vb_varint_put(buf + o, self - p->rec);
			o += vb_varint_put(buf + o, p->start);
			o += vb_varint_put(buf + o, p->len);
		} else {
			const struct vb_root *k = &n->u.k[i];
			o += vb_varint_put(buf + o, self - k->off);
			o += vb_varint_put(buf + o, k->bytes);
			o += vb_varint_put(buf + o, k->pieces);
		}
	}
	return o;
}

static enum vb_err bad_node(uint64_t off, const char *why)
{
	return vb_err_set(VB_ECORRUPT, "node record at offset %llu: %s",
			  (unsigned long long)off, why);
}

static enum vb_err decode(struct vb_ptree *t, uint64_t self, const unsigned char *buf,
			  size_t len, struct vb_node *n)
{
	const unsigned char *p = buf, *end = buf + len;
	uint64_t level, count, sb = 0, sp = 0;

	if (get_varint(&p, end, &level) || get_varint(&p, end, &count))
		return bad_node(self, "truncated");
	if (level >= VB_PTREE_MAX_DEPTH)
		return bad_node(self, "level out of range");
	if (count < 1 || count > VB_PTREE_MAX)
		return bad_node(self, "entry count out of range");
	n->level = (uint8_t)level;
	n->n = (uint16_t)count;
	for (unsigned i = 0; i < count; i++) {
		if (!level) {
			struct vb_piece *q = &n->u.p[i];
			uint64_t d = 0;
			if (get_varint(&p, end, &q->src))
				return bad_node(self, "truncated");
			if (q->src == VB_SRC_DATA && get_varint(&p, end, &d))
				return bad_node(self, "truncated");
			if (get_varint(&p, end, &q->start) || get_varint(&p, end, &q->len))
				return bad_node(self, "truncated");
			if (q->len == 0)
				return bad_node(self, "empty piece");
			if (q->start + q->len < q->start)
				return bad_node(self, "piece length overflows");
			if (q->src == VB_SRC_BASE) {
				q->rec = 0;
				if (q->start + q->len > t->io.base_size)
					return bad_node(self, "piece lies outside the base file");
			} else if (q->src == VB_SRC_DATA) {
				if (d == 0 || d > self || self - d < t->io.min_off)
					return bad_node(self, "piece refers to an invalid data record");
				q->rec = self - d;
			} else {
				return bad_node(self, "unknown piece source");
			}
			if (__builtin_add_overflow(sb, q->len, &sb))
				return bad_node(self, "length overflows");
			sp++;
		} else {
			struct vb_root *k = &n->u.k[i];
			uint64_t d;
			if (get_varint(&p, end, &d) || get_varint(&p, end, &k->bytes) ||
			    get_varint(&p, end, &k->pieces))
				return bad_node(self, "truncated");
			if (d == 0 || d > self || self - d < t->io.min_off)
				return bad_node(self, "child offset out of range");
			if (!k->bytes || !k->pieces || k->pieces > k->bytes)
				return bad_node(self, "child sums out of range");
			k->off = self - d;
			k->mem = NULL;
			if (__builtin_add_overflow(sb, k->bytes, &sb) ||
			    __builtin_add_overflow(sp, k->pieces, &sp))
				return bad_node(self, "length overflows");
		}
	}
	if (p != end)
		return bad_node(self, "trailing bytes");
	n->sum_bytes = sb;
	n->sum_pieces = sp;
	n->off = self;
	return VB_OK;
}

/* ------------------------------------------------------------ node access */

/* A referenced node for child/root `k`; `level` is the expected level or -1. */
static enum vb_err load(struct vb_ptree *t, const struct vb_root *k, int level,
			struct vb_node **out)
{
	struct vb_node *n;
	enum vb_err rc;

	*out = NULL;   /* also for the compiler, which cannot see that errors are nonzero */
	if (k->mem) {
		*out = node_ref(k->mem);
		return VB_OK;
	}
	n = cache_get(t, k->off);
	if (!n) {
		size_t len;
		t->misses++;
		rc = t->io.read_node(t->io.ctx, k->off, t->enc, sizeof t->enc, &len);
		if (rc)
			return rc;
		n = node_new(t, 0);
		if (!n)
			return vb_err_set(VB_ENOMEM, "out of memory");
		rc = decode(t, k->off, t->enc, len, n);
		if (rc) {
			node_unref(t, n);
			return rc;
		}
		cache_put(t, n);
	} else {
		t->hits++;
	}
	if ((level >= 0 && n->level != level) || n->sum_bytes != k->bytes ||
	    n->sum_pieces != k->pieces) {
		rc = bad_node(k->off, "does not match its parent's sums or level");
		node_unref(t, n);
		return rc;
	}
	*out = n;
	return VB_OK;
}

static void recompute(const struct vb_node *n, struct vb_root *k)
{
	uint64_t b = 0, p = 0;

	if (!n->level) {
		for (unsigned i = 0; i < n->n; i++)
			b += n->u.p[i].len;
		p = n->n;
	} else {
		for (unsigned i = 0; i < n->n; i++) {
			b += n->u.k[i].bytes;
			p += n->u.k[i].pieces;
		}
	}
	k->bytes = b;
	k->pieces = p;
}

/* Make the node behind `k` modifiable by the caller, copying it unless it is
 * an unwritten node that only `k` reaches. */
static enum vb_err writable(struct vb_ptree *t, struct vb_root *k, int level,
			    struct vb_node **out)
{
	struct vb_node *src, *cp;
	enum vb_err rc;

	if (k->mem && k->mem->refs == 1 && !k->mem->off) {
		*out = k->mem;
		return VB_OK;
	}
	if ((rc = load(t, k, level, &src)))
		return rc;
	cp = node_new(t, src->level);
	if (!cp) {
		node_unref(t, src);
		return vb_err_set(VB_ENOMEM, "out of memory");
	}
	cp->n = src->n;
	memcpy(&cp->u, &src->u, sizeof cp->u);
	if (cp->level)
		for (unsigned i = 0; i < cp->n; i++)
			if (cp->u.k[i].mem)
				node_ref(cp->u.k[i].mem);
	node_unref(t, src);
	node_unref(t, k->mem);
	k->mem = cp;
	k->off = 0;
	*out = cp;
	return VB_OK;
}

/* -------------------------------------------------------------- roots */

struct vb_root vb_root_empty(void)
{
	struct vb_root r = {0, 0, 0, NULL};
	return r;
}

struct vb_root vb_root_disk(uint64_t off, uint64_t bytes, uint64_t pieces)
{
	struct vb_root r = {bytes, pieces, off, NULL};
	if (!off)
		r.bytes = r.pieces = 0;
	return r;
}

struct vb_root vb_root_share(const struct vb_root *r)
{
	struct vb_root s = *r;
	if (s.mem)
		node_ref(s.mem);
	return s;
}

void vb_root_release(struct vb_ptree *t, struct vb_root *r)
{
	node_unref(t, r->mem);
	*r = vb_root_empty();
}

static int root_is_empty(const struct vb_root *r)
{
	return !r->mem && !r->off;
}

/* ------------------------------------------------------------ leaf edits */

static void leaf_coalesce(struct vb_node *n)
{
	unsigned w = 0;

	for (unsigned i = 0; i < n->n; i++) {
		if (w && vb_piece_contiguous(&n->u.p[w - 1], &n->u.p[i]))
			n->u.p[w - 1].len += n->u.p[i].len;
		else
			n->u.p[w++] = n->u.p[i];
	}
	n->n = (uint16_t)w;
}

static void leaf_put(struct vb_node *n, unsigned at, const struct vb_piece *p)
{
	memmove(&n->u.p[at + 1], &n->u.p[at], (n->n - at) * sizeof n->u.p[0]);
	n->u.p[at] = *p;
	n->n++;
}

static void leaf_insert(struct vb_node *n, uint64_t pos, const struct vb_piece *p)
{
	uint64_t acc = 0;
	unsigned i;

	if (pos == 0 || !n->n) {
		leaf_put(n, 0, p);
		leaf_coalesce(n);
		return;
	}
	for (i = 0; i < n->n; i++) {
		if (pos <= acc + n->u.p[i].len)
			break;
		acc += n->u.p[i].len;
	}
	/* pos <= bytes of this leaf, so i < n->n */
	uint64_t o = pos - acc;
	if (o == n->u.p[i].len) {
		leaf_put(n, i + 1, p);
	} else {
		struct vb_piece right = n->u.p[i];
		right.start += o;
		right.len -= o;
		n->u.p[i].len = o;
		leaf_put(n, i + 1, p);
		leaf_put(n, i + 2, &right);
	}
	leaf_coalesce(n);
}

static void leaf_delete(struct vb_node *n, uint64_t pos, uint64_t len)
{
	struct vb_piece out[CAP];
	unsigned w = 0;
	uint64_t acc = 0, end = pos + len;

	for (unsigned i = 0; i < n->n; i++) {
		struct vb_piece q = n->u.p[i];
		uint64_t a = acc, b = acc + q.len;
		acc = b;
		if (b <= pos || a >= end) {
			out[w++] = q;
			continue;
		}
		if (a < pos) {
			struct vb_piece l = q;
			l.len = pos - a;
			out[w++] = l;
		}
		if (b > end) {
			struct vb_piece r = q;
			r.start += end - a;
			r.len = b - end;
			out[w++] = r;
		}
	}
	memcpy(n->u.p, out, w * sizeof out[0]);
	n->n = (uint16_t)w;
	leaf_coalesce(n);
}

/* ---------------------------------------------------------- rebalancing */

static void kid_put(struct vb_node *n, unsigned at, const struct vb_root *k)
{
	memmove(&n->u.k[at + 1], &n->u.k[at], (n->n - at) * sizeof n->u.k[0]);
	n->u.k[at] = *k;
	n->n++;
}

static void kid_remove(struct vb_ptree *t, struct vb_node *n, unsigned at)
{
	node_unref(t, n->u.k[at].mem);
	memmove(&n->u.k[at], &n->u.k[at + 1], (n->n - at - 1) * sizeof n->u.k[0]);
	n->n--;
}

/* Move the last `cnt` entries of `a` to the front of `b`. */
static void shift_right(struct vb_node *a, struct vb_node *b, unsigned cnt)
{
	size_t es = a->level ? sizeof a->u.k[0] : sizeof a->u.p[0];
	char *ab = (char *)&a->u, *bb = (char *)&b->u;

	memmove(bb + cnt * es, bb, b->n * es);
	memcpy(bb, ab + (a->n - cnt) * es, cnt * es);
	a->n = (uint16_t)(a->n - cnt);
	b->n = (uint16_t)(b->n + cnt);
}

/* Move the first `cnt` entries of `b` to the end of `a`. */
static void shift_left(struct vb_node *a, struct vb_node *b, unsigned cnt)
{
	size_t es = a->level ? sizeof a->u.k[0] : sizeof a->u.p[0];
	char *ab = (char *)&a->u, *bb = (char *)&b->u;

	memcpy(ab + a->n * es, bb, cnt * es);
	memmove(bb, bb + cnt * es, (b->n - cnt) * es);
	a->n = (uint16_t)(a->n + cnt);
	b->n = (uint16_t)(b->n - cnt);
}

static enum vb_err fix_children(struct vb_ptree *t, struct vb_node *n);

/* Restore the fill of child `i` of the writable inner node `n`: split it if
 * over-full, merge or refill it from a sibling if under-full, drop it if
 * empty.  Only children held in memory can be out of bounds.  Merging two
 * inner nodes gives an under-full grandchild (left alone because it had no
 * sibling) a sibling, so the result's children are fixed too; *again is set
 * when that left a child of `n` under-full, so the caller takes another pass. */
static enum vb_err fix_child(struct vb_ptree *t, struct vb_node *n, unsigned i, int *again)
{
	struct vb_root *k = &n->u.k[i];
	struct vb_node *c = k->mem, *m, *a, *b;
	enum vb_err rc;
	unsigned j, lo, hi;

	if (!c)
		return VB_OK;
	if (c->n == 0) {
		kid_remove(t, n, i);
		return VB_OK;
	}
	if (c->n > VB_PTREE_MAX) {
		struct vb_root nk = vb_root_empty();
		if (c->refs != 1 || c->off)
			return VB_OK;  /* unchanged shared node: cannot be over-full */
		m = node_new(t, c->level);
		if (!m)
			return vb_err_set(VB_ENOMEM, "out of memory");
		shift_right(c, m, c->n / 2);
		nk.mem = m;
		recompute(c, k);
		recompute(m, &nk);
		kid_put(n, i + 1, &nk);
		return VB_OK;
	}
	if (c->n >= VB_PTREE_MIN || n->n < 2)
		return VB_OK;
	j = i + 1 < n->n ? i + 1 : i - 1;
	lo = i < j ? i : j;
	hi = i < j ? j : i;
	if ((rc = writable(t, &n->u.k[lo], c->level, &a)))
		return rc;
	if ((rc = writable(t, &n->u.k[hi], c->level, &b)))
		return rc;
	if (a->n + b->n <= VB_PTREE_MAX) {
		shift_left(a, b, b->n);
		if (!a->level)
			leaf_coalesce(a);
		else if ((rc = fix_children(t, a)))
			return rc;
		recompute(a, &n->u.k[lo]);
		kid_remove(t, n, hi);
		if (a->n < VB_PTREE_MIN)
			*again = 1;
		return VB_OK;
	}
	unsigned total = a->n + b->n, want = total / 2;
	if (a->n > want)
		shift_right(a, b, a->n - want);
	else
		shift_left(a, b, want - a->n);
	if (a->level) {
		if ((rc = fix_children(t, a)) || (rc = fix_children(t, b)))
			return rc;
		if (a->n < VB_PTREE_MIN || b->n < VB_PTREE_MIN)
			*again = 1;
	}
	recompute(a, &n->u.k[lo]);
	recompute(b, &n->u.k[hi]);
	return VB_OK;
}

/* Fix every in-memory child of `n`, from the right so indices stay valid,
 * until a pass changes nothing that needs another. */
static enum vb_err fix_children(struct vb_ptree *t, struct vb_node *n)
{
	enum vb_err rc;
	int again;

	do {
		again = 0;
		for (unsigned i = n->n; i-- > 0;) {
			if (i >= n->n)
				continue;
			if ((rc = fix_child(t, n, i, &again)))
				return rc;
		}
	} while (again);
	return VB_OK;
}

static enum vb_err fix_root(struct vb_ptree *t, struct vb_root *r)
{
	for (;;) {
		struct vb_node *n = r->mem;
		if (!n)
			return VB_OK;
		if (n->n > VB_PTREE_MAX) {
			struct vb_node *top = node_new(t, n->level + 1u);
			enum vb_err rc;
			if (!top)
				return vb_err_set(VB_ENOMEM, "out of memory");
			if (top->level >= VB_PTREE_MAX_DEPTH) {
				node_unref(t, top);
				return vb_err_set(VB_ELIMIT, "piece tree too deep");
			}
			top->u.k[0] = *r;
			top->n = 1;
			int again = 0;
			if ((rc = fix_child(t, top, 0, &again))) {
				top->n = 0;
				node_unref(t, top);
				return rc;
			}
			r->mem = top;
			r->off = 0;
			recompute(top, r);
			continue;
		}
		if (n->n == 0) {
			vb_root_release(t, r);
			return VB_OK;
		}
		if (n->level && n->n == 1 && n->refs == 1 && !n->off) {
			struct vb_root child = n->u.k[0];
			n->n = 0;
			node_unref(t, n);
			*r = child;
			continue;
		}
		return VB_OK;
	}
}

/* ---------------------------------------------------------------- insert */

static enum vb_err ins_rec(struct vb_ptree *t, struct vb_root *k, int level, uint64_t pos,
			   const struct vb_piece *p)
{
	struct vb_node *n;
	enum vb_err rc;

	if ((rc = writable(t, k, level, &n)))
		return rc;
	if (!n->level) {
		leaf_insert(n, pos, p);
	} else {
		uint64_t acc = 0;
		unsigned i = 0;
		if (pos > 0)
			for (i = 0; i < n->n - 1u; i++) {
				if (pos <= acc + n->u.k[i].bytes)
					break;
				acc += n->u.k[i].bytes;
			}
		rc = ins_rec(t, &n->u.k[i], n->level - 1, pos - acc, p);
		if (!rc)
			rc = fix_children(t, n);
		if (rc) {
			recompute(n, k);
			return rc;
		}
	}
	recompute(n, k);
	return VB_OK;
}

/* ---------------------------------------------------------------- delete */

static enum vb_err del_rec(struct vb_ptree *t, struct vb_root *k, int level, uint64_t pos,
			   uint64_t len)
{
	struct vb_node *n;
	enum vb_err rc = VB_OK;

	if ((rc = writable(t, k, level, &n)))
		return rc;
	if (!n->level) {
		leaf_delete(n, pos, len);
		recompute(n, k);
		return VB_OK;
	}
	uint64_t acc = 0, end = pos + len;
	for (unsigned i = 0; i < n->n && acc < end;) {
		uint64_t a = acc, b = acc + n->u.k[i].bytes;
		acc = b;
		if (b <= pos) {
			i++;
			continue;
		}
		if (a >= pos && b <= end) {
			kid_remove(t, n, i);
			continue;
		}
		uint64_t from = pos > a ? pos - a : 0;
		uint64_t to = (end < b ? end : b) - a;
		if ((rc = del_rec(t, &n->u.k[i], n->level - 1, from, to - from)))
			break;
		i++;
	}
	if (!rc)
		rc = fix_children(t, n);
	recompute(n, k);
	return rc;
}

/* ------------------------------------------------------------- coalescing */

/* If the piece ending at `pos` and the one starting there are contiguous
 * (which happens across a leaf boundary), replace them by one piece. */
static enum vb_err coalesce_at(struct vb_ptree *t, struct vb_root *r, uint64_t pos)
{
	struct vb_ptree_cur c;
	struct vb_piece a, b;
	enum vb_err rc;

	if (pos == 0 || pos >= r->bytes)
		return VB_OK;
	if ((rc = vb_ptree_seek(t, r, pos, &c)))
		return rc;
	if (c.piece_pos != pos) {
		vb_ptree_cur_close(&c);
		return VB_OK;
	}
	b = *vb_ptree_cur_piece(&c);
	rc = vb_ptree_prev(&c);
	if (rc) {
		vb_ptree_cur_close(&c);
		return rc;
	}
	a = *vb_ptree_cur_piece(&c);
	vb_ptree_cur_close(&c);
	if (!vb_piece_contiguous(&a, &b))
		return VB_OK;
	/* Delete both and insert the union: no leaf gains an entry that
	 * could merge again, so this does not recurse. */
	uint64_t from = pos - a.len;
	a.len += b.len;
	if ((rc = del_rec(t, r, -1, from, a.len)) || (rc = fix_root(t, r)))
		return rc;
	if (root_is_empty(r)) {
		struct vb_node *leaf = node_new(t, 0);
		if (!leaf)
			return vb_err_set(VB_ENOMEM, "out of memory");
		leaf->u.p[0] = a;
		leaf->n = 1;
		r->mem = leaf;
		r->off = 0;
		recompute(leaf, r);
		return VB_OK;
	}
	if ((rc = ins_rec(t, r, -1, from, &a)))
		return rc;
	return fix_root(t, r);
}

enum vb_err vb_ptree_insert(struct vb_ptree *t, struct vb_root *r, uint64_t pos,
			    const struct vb_piece *p)
{
	enum vb_err rc;
	uint64_t end;

	if (pos > r->bytes)
		return vb_err_set(VB_ERANGE, "insert position %llu beyond the end (length %llu)",
				  (unsigned long long)pos, (unsigned long long)r->bytes);
	if (!p->len)
		return VB_OK;
	if (__builtin_add_overflow(r->bytes, p->len, &end))
		return vb_err_set(VB_ELIMIT, "content would exceed 2^64-1 bytes");
	if (root_is_empty(r)) {
		struct vb_node *leaf = node_new(t, 0);
		if (!leaf)
			return vb_err_set(VB_ENOMEM, "out of memory");
		leaf->u.p[0] = *p;
		leaf->n = 1;
		r->mem = leaf;
		r->off = 0;
		recompute(leaf, r);
		return VB_OK;
	}
	if ((rc = ins_rec(t, r, -1, pos, p)) || (rc = fix_root(t, r)))
		return rc;
	if ((rc = coalesce_at(t, r, pos + p->len)))
		return rc;
	return coalesce_at(t, r, pos);
}

enum vb_err vb_ptree_delete(struct vb_ptree *t, struct vb_root *r, uint64_t pos,
			    uint64_t len)
{
	enum vb_err rc;
	uint64_t end;

	if (__builtin_add_overflow(pos, len, &end) || end > r->bytes)
		return vb_err_set(VB_ERANGE, "range %llu+%llu beyond the end (length %llu)",
				  (unsigned long long)pos, (unsigned long long)len,
				  (unsigned long long)r->bytes);
	if (!len)
		return VB_OK;
	if (pos == 0 && len == r->bytes) {
		vb_root_release(t, r);
		return VB_OK;
	}
	if ((rc = del_rec(t, r, -1, pos, len)) || (rc = fix_root(t, r)))
		return rc;
	return coalesce_at(t, r, pos);
}

/* ----------------------------------------------------------------- flush */

static enum vb_err flush_rec(struct vb_ptree *t, struct vb_root *k)
{
	struct vb_node *n = k->mem;
	enum vb_err rc;
	uint64_t self;
	size_t len;

	if (!n)
		return VB_OK;
	if (!n->off) {
		if (n->level)
			for (unsigned i = 0; i < n->n; i++)
				if ((rc = flush_rec(t, &n->u.k[i])))
					return rc;
		self = t->io.tell(t->io.ctx);
		len = encode(n, self, t->enc);
		if ((rc = t->io.write_node(t->io.ctx, t->enc, len)))
			return rc;
		n->off = self;
		n->sum_bytes = k->bytes;
		n->sum_pieces = k->pieces;
		cache_put(t, n);
	}
	k->off = n->off;
	k->mem = NULL;
	node_unref(t, n);
	return VB_OK;
}

enum vb_err vb_ptree_flush(struct vb_ptree *t, struct vb_root *r)
{
	/* A failure part-way leaves some nodes marked written at offsets the
	 * caller will truncate away; their parents still point at them by
	 * memory, so the root stays usable only for reading from memory.  The
	 * store aborts the whole commit in that case. */
	return flush_rec(t, r);
}

/* ---------------------------------------------------------------- cursor */

void vb_ptree_cur_close(struct vb_ptree_cur *c)
{
	for (int i = 0; i < c->depth; i++)
		node_unref(c->t, c->st[i].n);
	c->depth = 0;
	c->at_end = 1;
}

enum vb_err vb_ptree_seek(struct vb_ptree *t, const struct vb_root *r, uint64_t pos,
			  struct vb_ptree_cur *c)
{
	struct vb_root k = *r;
	int level = -1;
	enum vb_err rc;

	c->t = t;
	c->depth = 0;
	c->at_end = 1;
	c->piece_pos = r->bytes;
	if (pos > r->bytes)
		return vb_err_set(VB_ERANGE, "position %llu beyond the end (length %llu)",
				  (unsigned long long)pos, (unsigned long long)r->bytes);
	if (root_is_empty(r))
		return VB_OK;
	if (pos == r->bytes) {
		/* Park on the last piece, then step past it, so prev() works. */
		for (;;) {
			struct vb_node *n;
			if ((rc = load(t, &k, level, &n))) {
				vb_ptree_cur_close(c);
				return rc;
			}
			c->st[c->depth].n = n;
			c->st[c->depth].i = n->n - 1u;
			c->depth++;
			if (!n->level)
				break;
			if (c->depth >= VB_PTREE_MAX_DEPTH) {
				vb_ptree_cur_close(c);
				return bad_node(k.off, "tree too deep");
			}
			level = n->level - 1;
			k = n->u.k[n->n - 1];
		}
		c->st[c->depth - 1].i = c->st[c->depth - 1].n->n;
		c->piece_pos = r->bytes;
		c->at_end = 1;
		return VB_OK;
	}
	uint64_t base = 0;
	for (;;) {
		struct vb_node *n;
		unsigned i;
		if ((rc = load(t, &k, level, &n))) {
			vb_ptree_cur_close(c);
			return rc;
		}
		c->st[c->depth].n = n;
		c->depth++;
		if (!n->level) {
			for (i = 0; i + 1u < n->n; i++) {
				if (pos < base + n->u.p[i].len)
					break;
				base += n->u.p[i].len;
			}
			c->st[c->depth - 1].i = i;
			break;
		}
		for (i = 0; i + 1u < n->n; i++) {
			if (pos < base + n->u.k[i].bytes)
				break;
			base += n->u.k[i].bytes;
		}
		c->st[c->depth - 1].i = i;
		if (c->depth >= VB_PTREE_MAX_DEPTH) {
			vb_ptree_cur_close(c);
			return bad_node(k.off, "tree too deep");
		}
		level = n->level - 1;
		k = n->u.k[i];
	}
	c->piece_pos = base;
	c->at_end = 0;
	return VB_OK;
}

const struct vb_piece *vb_ptree_cur_piece(const struct vb_ptree_cur *c)
{
	const struct vb_node *leaf = c->st[c->depth - 1].n;
	return &leaf->u.p[c->st[c->depth - 1].i];
}

/* Extend the path below its deepest entry down to a leaf, taking the first
 * (dir > 0) or last (dir < 0) entry of each node. */
static enum vb_err descend(struct vb_ptree_cur *c, int dir)
{
	enum vb_err rc;

	for (;;) {
		struct vb_node *n = c->st[c->depth - 1].n, *ch;
		if (!n->level)
			return VB_OK;
		if (c->depth >= VB_PTREE_MAX_DEPTH)
			return bad_node(n->off, "tree too deep");
		if ((rc = load(c->t, &n->u.k[c->st[c->depth - 1].i], n->level - 1, &ch)))
			return rc;
		c->st[c->depth].n = ch;
		c->st[c->depth].i = dir > 0 ? 0 : ch->n - 1u;
		c->depth++;
	}
}

/* Drop the path below level d (kept: st[0..d]). */
static void truncate_path(struct vb_ptree_cur *c, int d)
{
	for (int e = d + 1; e < c->depth; e++)
		node_unref(c->t, c->st[e].n);
	c->depth = d + 1;
}

enum vb_err vb_ptree_next(struct vb_ptree_cur *c)
{
	enum vb_err rc;
	int d;

	if (c->at_end || !c->depth)
		return VB_OK;
	uint64_t len = vb_ptree_cur_piece(c)->len;
	d = c->depth - 1;
	if (c->st[d].i + 1u < c->st[d].n->n) {
		c->st[d].i++;
		c->piece_pos += len;
		return VB_OK;
	}
	for (d = c->depth - 2; d >= 0; d--)
		if (c->st[d].i + 1u < c->st[d].n->n)
			break;
	if (d < 0) {
		c->st[c->depth - 1].i = c->st[c->depth - 1].n->n;
		c->piece_pos += len;
		c->at_end = 1;
		return VB_OK;
	}
	c->st[d].i++;
	truncate_path(c, d);
	if ((rc = descend(c, 1))) {
		vb_ptree_cur_close(c);
		return rc;
	}
	c->piece_pos += len;
	return VB_OK;
}

enum vb_err vb_ptree_prev(struct vb_ptree_cur *c)
{
	enum vb_err rc;
	int d;

	if (!c->depth)
		return vb_err_set(VB_ERANGE, "no piece before the start");
	d = c->depth - 1;
	if (c->st[d].i > 0) {
		c->st[d].i--;
		c->piece_pos -= vb_ptree_cur_piece(c)->len;
		c->at_end = 0;
		return VB_OK;
	}
	for (d = c->depth - 2; d >= 0; d--)
		if (c->st[d].i > 0)
			break;
	if (d < 0)
		return vb_err_set(VB_ERANGE, "no piece before the start");
	c->st[d].i--;
	truncate_path(c, d);
	if ((rc = descend(c, -1))) {
		vb_ptree_cur_close(c);
		return rc;
	}
	c->piece_pos -= vb_ptree_cur_piece(c)->len;
	c->at_end = 0;
	return VB_OK;
}

/* ----------------------------------------------------------------- check */

static enum vb_err check_rec(struct vb_ptree *t, const struct vb_root *k, int level,
			     int is_root, int *leaf_level)
{
	struct vb_node *n;
	enum vb_err rc;
	struct vb_root sums;

	if ((rc = load(t, k, level, &n)))
		return rc;
	recompute(n, &sums);
	if (sums.bytes != k->bytes || sums.pieces != k->pieces)
		rc = vb_err_set(VB_ECORRUPT, "node sums differ from parent");
	else if (n->n > VB_PTREE_MAX || n->n == 0 || (!is_root && n->n < VB_PTREE_MIN))
		rc = vb_err_set(VB_ECORRUPT, "node fill %u out of bounds", n->n);
	else if (!n->level) {
		if (*leaf_level < 0)
			*leaf_level = 0;
		for (unsigned i = 0; i + 1u < n->n; i++)
			if (vb_piece_contiguous(&n->u.p[i], &n->u.p[i + 1]))
				rc = vb_err_set(VB_ECORRUPT, "mergeable pieces in a leaf");
		for (unsigned i = 0; i < n->n; i++)
			if (!n->u.p[i].len)
				rc = vb_err_set(VB_ECORRUPT, "empty piece");
	} else {
		for (unsigned i = 0; i < n->n && !rc; i++)
			rc = check_rec(t, &n->u.k[i], n->level - 1, 0, leaf_level);
	}
	node_unref(t, n);
	return rc;
}

enum vb_err vb_ptree_check(struct vb_ptree *t, const struct vb_root *r)
{
	int leaf_level = -1;

	if (root_is_empty(r))
		return r->bytes || r->pieces
			       ? vb_err_set(VB_ECORRUPT, "empty tree with nonzero sums")
			       : VB_OK;
	return check_rec(t, r, -1, 1, &leaf_level);
}

static enum vb_err walk_rec(struct vb_ptree *t, const struct vb_root *k, int level,
			    int (*seen)(void *, uint64_t),
			    enum vb_err (*piece)(void *, const struct vb_piece *), void *arg)
{
	struct vb_node *n;
	enum vb_err rc = VB_OK;

	if (k->off && !k->mem && seen && seen(arg, k->off))
		return VB_OK;
	if ((rc = load(t, k, level, &n)))
		return rc;
	for (unsigned i = 0; i < n->n && !rc; i++) {
		if (n->level)
			rc = walk_rec(t, &n->u.k[i], n->level - 1, seen, piece, arg);
		else if (piece)
			rc = piece(arg, &n->u.p[i]);
	}
	node_unref(t, n);
	return rc;
}

enum vb_err vb_ptree_range(struct vb_ptree *t, const struct vb_root *r, uint64_t off, uint64_t n,
			   enum vb_err (*fn)(void *arg, const struct vb_piece *p, uint64_t skip,
					     uint64_t take),
			   void *arg)
{
	struct vb_ptree_cur c;
	enum vb_err rc = vb_ptree_seek(t, r, off, &c);

	while (!rc && n) {
		if (c.at_end) {
			rc = vb_err_set(VB_ECORRUPT, "content ends before its recorded length");
			break;
		}
		const struct vb_piece *p = vb_ptree_cur_piece(&c);
		uint64_t skip = off - c.piece_pos, take = p->len - skip;
		if (take > n)
			take = n;
		if ((rc = fn(arg, p, skip, take)))
			break;
		off += take;
		n -= take;
		if (n)
			rc = vb_ptree_next(&c);
	}
	vb_ptree_cur_close(&c);
	return rc;
}

enum vb_err vb_ptree_walk_nodes(struct vb_ptree *t, const struct vb_root *r,
				int (*seen)(void *arg, uint64_t off),
				enum vb_err (*piece)(void *arg, const struct vb_piece *p),
				void *arg)
{
	if (root_is_empty(r))
		return VB_OK;
	return walk_rec(t, r, -1, seen, piece, arg);
}

/* ------------------------------------------------------------------ diff */

/* One element of a side of a diff: a subtree not yet looked into (a token:
 * its root and level) or a piece. */
struct ditem {
	int tok;
	int level;
	union {
		struct vb_root k;
		struct vb_piece p;
	} u;
};

/* The items of one side of a segment, and where they start in the content. */
struct dside {
	struct ditem *v;
	size_t n, cap;
	uint64_t off;
	uint64_t len;       /* bytes of all items */
};

/* A segment: a stretch of A's content and the stretch of B's content it is
 * to be compared with. */
struct dseg {
	struct dside s[2];
};

struct dstate {
	struct vb_ptree *t;
	enum vb_err (*hunk)(void *arg, uint64_t a_off, uint64_t a_len, uint64_t b_off,
			    uint64_t b_len);
	void *arg;
	struct dseg *stack;     /* segments still to compare; the top is the */
	size_t nstack, capstack; /* leftmost */
	size_t items;           /* items held by all segments */
	int pending;            /* a hunk held back to merge with a touching one */
	uint64_t h[4];
};

static uint64_t ditem_len(const struct ditem *d)
{
	return d->tok ? d->u.k.bytes : d->u.p.len;
}

/* The file offset a subtree is known by: its own, or that of its
 * in-memory node once written (then it is never changed again); 0 for an
 * unwritten node. */
static uint64_t tok_off(const struct vb_root *k)
{
	return k->mem ? k->mem->off : k->off;
}

/* Same subtree, so same content: one persisted node claimed with the same
 * sums, or one unwritten in-memory node.  Offset 0 (not written) is never
 * an identity. */
static int same_tok(const struct vb_root *x, const struct vb_root *y)
{
	uint64_t ox = tok_off(x), oy = tok_off(y);

	if (ox || oy)
		return ox == oy && x->bytes == y->bytes && x->pieces == y->pieces;
	return x->mem && x->mem == y->mem;
}

static enum vb_err side_push(struct dstate *st, struct dside *s, const struct ditem *d)
{
	enum vb_err rc = vb_grow(&s->v, &s->cap, s->n, sizeof *s->v, 16);

	if (rc)
		return rc;
	s->v[s->n++] = *d;
	s->len += ditem_len(d);
	st->items++;
	return VB_OK;
}

static void side_free(struct dstate *st, struct dside *s)
{
	st->items -= s->n;
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
	s->len = 0;
}

static void seg_free(struct dstate *st, struct dseg *g)
{
	side_free(st, &g->s[0]);
	side_free(st, &g->s[1]);
}

/* Report A[a_off, +a_len) -> B[b_off, +b_len), merged with the hunk held
 * back when the two touch (then the equal run between them is empty). */
static enum vb_err emit(struct dstate *st, uint64_t a_off, uint64_t a_len, uint64_t b_off,
			uint64_t b_len)
{
	enum vb_err rc;

	if (!a_len && !b_len)
		return VB_OK;
	if (st->pending && (st->h[0] + st->h[1] == a_off || st->h[2] + st->h[3] == b_off)) {
		st->h[1] = a_off + a_len - st->h[0];
		st->h[3] = b_off + b_len - st->h[2];
		return VB_OK;
	}
	if (st->pending && (rc = st->hunk(st->arg, st->h[0], st->h[1], st->h[2], st->h[3])))
		return rc;
	st->pending = 1;
	st->h[0] = a_off;
	st->h[1] = a_len;
	st->h[2] = b_off;
	st->h[3] = b_len;
	return VB_OK;
}

static enum vb_err emit_whole(struct dstate *st, const struct dseg *g)
{
	return emit(st, g->s[0].off, g->s[0].len, g->s[1].off, g->s[1].len);
}

/* Replace every token of level `level` in `s` by its node's entries. */
static enum vb_err expand(struct dstate *st, struct dside *s, int level)
{
	struct dside out = {NULL, 0, 0, s->off, 0};
	enum vb_err rc = VB_OK;

	for (size_t i = 0; i < s->n && !rc; i++) {
		struct ditem *d = &s->v[i];
		struct vb_node *n;
		if (!d->tok || d->level != level) {
			rc = side_push(st, &out, d);
			continue;
		}
		if ((rc = load(st->t, &d->u.k, level, &n)))
			break;
		for (unsigned j = 0; j < n->n && !rc; j++) {
			struct ditem c;
			memset(&c, 0, sizeof c);
			if (n->level) {
				c.tok = 1;
				c.level = n->level - 1;
				c.u.k = n->u.k[j];
			} else {
				c.u.p = n->u.p[j];
			}
			rc = side_push(st, &out, &c);
		}
		/* In-memory children stay reachable through the caller's
		 * root, so the items need no reference of their own. */
		node_unref(st->t, n);
	}
	if (!rc && out.len != s->len)
		rc = vb_err_set(VB_ECORRUPT, "piece tree sums do not add up");
	if (rc) {
		side_free(st, &out);
		return rc;
	}
	side_free(st, s);
	*s = out;
	return VB_OK;
}

static size_t hash_key(const struct vb_root *k, size_t nb)
{
	uint64_t x = tok_off(k);
	return hash_off(x ? x : (uint64_t)(uintptr_t)k->mem, nb);
}

/* Push the segment made of items [ia, ja) of A and [ib, jb) of B starting
 * at content offsets oa and ob (nothing when both are empty). */
static enum vb_err push_gap(struct dstate *st, const struct dseg *g, size_t ia, size_t ja,
			    uint64_t oa, size_t ib, size_t jb, uint64_t ob)
{
	struct dseg n;
	enum vb_err rc;

	if (ia == ja && ib == jb)
		return VB_OK;
	if ((rc = vb_grow(&st->stack, &st->capstack, st->nstack, sizeof *st->stack, 16)))
		return rc;
	memset(&n, 0, sizeof n);
	n.s[0].off = oa;
	n.s[1].off = ob;
	for (size_t i = ia; i < ja && !rc; i++)
		rc = side_push(st, &n.s[0], &g->s[0].v[i]);
	for (size_t i = ib; i < jb && !rc; i++)
		rc = side_push(st, &n.s[1], &g->s[1].v[i]);
	if (rc) {
		seg_free(st, &n);
		return rc;
	}
	st->stack[st->nstack++] = n;
	return VB_OK;
}

/* Match the tokens of A with equal tokens of B, in order on both sides
 * (each B token found by hash; one is taken only after the previous
 * match), and split the segment at the matches: the gaps between them go
 * on the stack, leftmost on top.  *split says whether any matched. */
static enum vb_err match_tokens(struct dstate *st, const struct dseg *g, int *split)
{
	const struct dside *A = &g->s[0], *B = &g->s[1];
	size_t nb = 16, *tab, base = st->nstack;
	size_t ia = 0, ib = 0, next_b = 0;
	uint64_t oa = A->off, ob = B->off, pa = A->off;
	enum vb_err rc = VB_OK;

	*split = 0;
	while (nb < 2 * B->n)
		nb *= 2;
	if (!(tab = malloc(nb * sizeof *tab)))
		return vb_err_set(VB_ENOMEM, "out of memory");
	for (size_t i = 0; i < nb; i++)
		tab[i] = SIZE_MAX;
	for (size_t j = 0; j < B->n; j++) {
		if (!B->v[j].tok)
			continue;
		size_t h = hash_key(&B->v[j].u.k, nb);
		while (tab[h] != SIZE_MAX && !same_tok(&B->v[tab[h]].u.k, &B->v[j].u.k))
			h = (h + 1) & (nb - 1);
		if (tab[h] == SIZE_MAX)
			tab[h] = j;   /* the first of repeated tokens (a hostile tree) */
	}
	/* Content offsets of B's items, found as the walk moves right. */
	size_t jpos = 0;
	uint64_t pb = B->off;
	for (size_t i = 0; i < A->n && !rc; pa += ditem_len(&A->v[i]), i++) {
		if (!A->v[i].tok)
			continue;
		size_t h = hash_key(&A->v[i].u.k, nb);
		while (tab[h] != SIZE_MAX && !same_tok(&B->v[tab[h]].u.k, &A->v[i].u.k))
			h = (h + 1) & (nb - 1);
		size_t j = tab[h];
		if (j == SIZE_MAX || j < next_b)
			continue;
		for (; jpos < j; jpos++)
			pb += ditem_len(&B->v[jpos]);
		if ((rc = push_gap(st, g, ia, i, oa, ib, j, ob)))
			break;
		*split = 1;
		ia = i + 1;
		ib = next_b = j + 1;
		oa = pa + ditem_len(&A->v[i]);
		ob = pb + ditem_len(&B->v[j]);
	}
	if (!rc && *split)
		rc = push_gap(st, g, ia, A->n, oa, ib, B->n, ob);
	free(tab);
	if (rc) {
		while (st->nstack > base)
			seg_free(st, &st->stack[--st->nstack]);
		return rc;
	}
	/* The gaps were pushed left to right; the leftmost must be on top. */
	for (size_t i = base, j = st->nstack; i + 1 < j; i++, j--) {
		struct dseg x = st->stack[i];
		st->stack[i] = st->stack[j - 1];
		st->stack[j - 1] = x;
	}
	return VB_OK;
}

/* A piece of B in the order of its source, for finding the B pieces that
 * overlap a piece of A. */
struct bent {
	uint64_t src, rec, start, end;
	uint64_t pos;    /* content offset in B */
};

static int bent_cmp(const void *x, const void *y)
{
	const struct bent *a = x, *b = y;

	if (a->src != b->src)
		return a->src < b->src ? -1 : 1;
	if (a->rec != b->rec)
		return a->rec < b->rec ? -1 : 1;
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return a->pos < b->pos ? -1 : a->pos > b->pos;
}

static int bent_key_less(const struct bent *e, const struct vb_piece *p, uint64_t s)
{
	if (e->src != p->src)
		return e->src < p->src;
	if (e->rec != p->rec)
		return e->rec < p->rec;
	return e->start < s;
}

/* The matching state of piece_merge: side S (streamed) against side I
 * (indexed), in S's and I's coordinates; `swap` when S is B. */
struct pmerge {
	struct dstate *st;
	struct bent *be;
	size_t n;
	int swap;
	uint64_t gs, gi;    /* ends of the last match (or the starts) */
};

static enum vb_err pm_emit(struct pmerge *m, uint64_t s_off, uint64_t s_len, uint64_t i_off,
			   uint64_t i_len)
{
	if (m->swap)
		return emit(m->st, i_off, i_len, s_off, s_len);
	return emit(m->st, s_off, s_len, i_off, i_len);
}

/* Match piece `p` of S, at content offset `pos`, against the index. */
static enum vb_err pm_piece(struct pmerge *m, const struct vb_piece *p, uint64_t pos)
{
	uint64_t s = p->start, e = p->start + p->len;
	enum vb_err rc;

	while (s < e) {
		/* first entry not less than (src, rec, s) */
		size_t lo = 0, hi = m->n;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (bent_key_less(&m->be[mid], p, s))
				lo = mid + 1;
			else
				hi = mid;
		}
		/* candidates: the one before (may cover s), then two after */
		int found = 0;
		uint64_t os = 0, oe = 0, im = 0;
		for (size_t c = lo ? lo - 1 : lo; c < m->n && c < lo + 2; c++) {
			const struct bent *x = &m->be[c];
			if (x->src != p->src || x->rec != p->rec || x->end <= s || x->start >= e)
				continue;
			os = x->start > s ? x->start : s;
			oe = x->end < e ? x->end : e;
			im = x->pos + (os - x->start);
			if (im >= m->gi) {
				found = 1;
				break;
			}
		}
		if (!found)
			return VB_OK;
		uint64_t sm = pos + (os - p->start);
		if ((rc = pm_emit(m, m->gs, sm - m->gs, m->gi, im - m->gi)))
			return rc;
		m->gs = sm + (oe - os);
		m->gi = im + (oe - os);
		s = oe;
	}
	return VB_OK;
}

/* Compare a stretch against one made of pieces only (side 1 - `stream`).
 * Walking the other side's pieces in order (its subtrees through a cursor,
 * a piece at a time, so it may be of any size), each remaining part [s, e)
 * of a piece is matched with the indexed piece of the same source that
 * overlaps it earliest in the source (the one covering s, else the first
 * starting inside), if that overlap lies at or after the end of the
 * previous match; the overlap is equal content, and what lies between two
 * matches is a hunk.  Each match uses up the rest of a streamed piece or
 * an indexed one, so there are at most n + m of them. */
static enum vb_err piece_merge(struct dstate *st, const struct dseg *g, int stream)
{
	const struct dside *S = &g->s[stream], *I = &g->s[1 - stream];
	struct pmerge m = {st, malloc(I->n * sizeof *m.be), I->n, stream, S->off, I->off};
	uint64_t pos = I->off;
	enum vb_err rc = VB_OK;

	if (!m.be)
		return vb_err_set(VB_ENOMEM, "out of memory");
	for (size_t j = 0; j < I->n; j++) {
		const struct vb_piece *p = &I->v[j].u.p;
		m.be[j].src = p->src;
		m.be[j].rec = p->rec;
		m.be[j].start = p->start;
		m.be[j].end = p->start + p->len;
		m.be[j].pos = pos;
		pos += p->len;
	}
	qsort(m.be, I->n, sizeof *m.be, bent_cmp);
	pos = S->off;
	for (size_t i = 0; i < S->n && !rc; pos += ditem_len(&S->v[i]), i++) {
		const struct ditem *d = &S->v[i];
		struct vb_ptree_cur c;
		uint64_t at = pos;
		if (!d->tok) {
			rc = pm_piece(&m, &d->u.p, pos);
			continue;
		}
		if ((rc = vb_ptree_seek(st->t, &d->u.k, 0, &c)))
			break;
		while (!c.at_end && !rc) {
			const struct vb_piece *p = vb_ptree_cur_piece(&c);
			if (p->len > pos + d->u.k.bytes - at) {
				rc = vb_err_set(VB_ECORRUPT, "piece tree sums do not add up");
				break;
			}
			if ((rc = pm_piece(&m, p, at)))
				break;
			at += p->len;
			rc = vb_ptree_next(&c);
		}
		vb_ptree_cur_close(&c);
		if (!rc && at != pos + d->u.k.bytes)
			rc = vb_err_set(VB_ECORRUPT, "piece tree sums do not add up");
	}
	if (!rc)
		rc = pm_emit(&m, m.gs, S->off + S->len - m.gs, m.gi, I->off + I->len - m.gi);
	free(m.be);
	return rc;
}

/* Pieces under the items of a side, by their sums. */
static uint64_t side_pieces(const struct dside *s)
{
	uint64_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		n += s->v[i].tok ? s->v[i].u.k.pieces : 1;
	return n;
}

/* Open every token of side `s` down to its pieces. */
static enum vb_err expand_all(struct dstate *st, struct dside *s)
{
	for (;;) {
		int level = -1;
		for (size_t i = 0; i < s->n; i++)
			if (s->v[i].tok && s->v[i].level > level)
				level = s->v[i].level;
		if (level < 0)
			return VB_OK;
		enum vb_err rc = expand(st, s, level);
		if (rc)
			return rc;
	}
}

/* Compare one segment to the end: split it at shared tokens, expand the
 * highest unmatched tokens, and finally match pieces.  Takes `g`. */
static enum vb_err diff_seg(struct dstate *st, struct dseg *g)
{
	enum vb_err rc = VB_OK;

	for (;;) {
		struct dside *A = &g->s[0], *B = &g->s[1];
		size_t ta = 0, tb = 0, top = 0;
		int level = -1, split;

		if (!A->n || !B->n) {
			rc = emit_whole(st, g);
			break;
		}
		for (size_t i = 0; i < A->n; i++)
			if (A->v[i].tok) {
				ta++;
				if (A->v[i].level > level)
					level = A->v[i].level;
			}
		for (size_t i = 0; i < B->n; i++)
			if (B->v[i].tok) {
				tb++;
				if (B->v[i].level > level)
					level = B->v[i].level;
			}
		if (ta && tb) {
			if ((rc = match_tokens(st, g, &split)) || split)
				break;
		}
		if (!ta && !tb) {
			rc = piece_merge(st, g, 0);
			break;
		}
		for (size_t i = 0; i < A->n; i++)
			top += A->v[i].tok && A->v[i].level == level;
		for (size_t i = 0; i < B->n; i++)
			top += B->v[i].tok && B->v[i].level == level;
		if (st->items >= st->t->diff_items ||
		    top > (st->t->diff_items - st->items) / VB_PTREE_MAX) {
			/* Too many entries to open both sides further.  If the
			 * smaller side's pieces fit, hold those and stream the
			 * other side past them; else report the stretch whole. */
			uint64_t pa = side_pieces(A), pb = side_pieces(B);
			int small = pb < pa;
			uint64_t need = small ? pb : pa;
			if (st->items < st->t->diff_items &&
			    need <= st->t->diff_items - st->items) {
				if (!(rc = expand_all(st, &g->s[small])))
					rc = piece_merge(st, g, 1 - small);
			} else {
				rc = emit_whole(st, g);
			}
			break;
		}
		if ((rc = expand(st, A, level)) || (rc = expand(st, B, level)))
			break;
	}
	seg_free(st, g);
	return rc;
}

void vb_ptree_diff_limit(struct vb_ptree *t, size_t items)
{
	t->diff_items = items < 2 ? 2 : items;
}

enum vb_err vb_ptree_diff(struct vb_ptree *t, const struct vb_root *a, const struct vb_root *b,
			  enum vb_err (*hunk)(void *arg, uint64_t a_off, uint64_t a_len,
					      uint64_t b_off, uint64_t b_len),
			  void *arg)
{
	struct dstate st;
	struct dseg g;
	enum vb_err rc = VB_OK;
	const struct vb_root *r[2] = {a, b};

	if ((root_is_empty(a) && root_is_empty(b)) || same_tok(a, b))
		return VB_OK;
	if (root_is_empty(a) || root_is_empty(b))
		return hunk(arg, 0, a->bytes, 0, b->bytes);
	memset(&st, 0, sizeof st);
	memset(&g, 0, sizeof g);
	st.t = t;
	st.hunk = hunk;
	st.arg = arg;
	/* Each root becomes a token of its level (read now to learn it). */
	for (int i = 0; i < 2 && !rc; i++) {
		struct ditem d;
		struct vb_node *n;
		if (root_is_empty(r[i]))
			continue;
		if ((rc = load(t, r[i], -1, &n)))
			break;
		memset(&d, 0, sizeof d);
		d.tok = 1;
		d.level = n->level;
		d.u.k = *r[i];   /* the caller's root keeps its nodes alive */
		node_unref(t, n);
		rc = side_push(&st, &g.s[i], &d);
	}
	if (rc) {
		seg_free(&st, &g);
		return rc;
	}
	rc = diff_seg(&st, &g);
	while (!rc && st.nstack) {
		g = st.stack[--st.nstack];
		rc = diff_seg(&st, &g);
	}
	while (st.nstack)
		seg_free(&st, &st.stack[--st.nstack]);
	free(st.stack);
	if (!rc && st.pending)
		rc = hunk(arg, st.h[0], st.h[1], st.h[2], st.h[3]);
	return rc;
}

/* ------------------------------------------------------------- lifecycle */

enum vb_err vb_ptree_create(const struct vb_ptree_io *io, size_t cache_bytes,
			    struct vb_ptree **out)
{
	struct vb_ptree *t = calloc(1, sizeof *t);
	struct vb_pages_opts po;
	enum vb_err rc;

	*out = NULL;
	if (!t)
		return vb_err_set(VB_ENOMEM, "out of memory");
	vb_pages_opts_init(&po);
	if ((rc = vb_pages_create(&po, &t->pages)) ||
	    (rc = vb_pool_create(t->pages, sizeof(struct vb_node), &t->pool))) {
		vb_pages_free(t->pages);
		free(t);
		return rc;
	}
	t->io = *io;
	t->cache_cap = cache_bytes;
	t->diff_items = VB_PTREE_DIFF_ITEMS;
	*out = t;
	return VB_OK;
}

void vb_ptree_free(struct vb_ptree *t)
{
	if (!t)
		return;
	while (t->lru_tail)
		cache_remove(t, t->lru_tail);
	free(t->buckets);
	vb_pool_free(t->pool);
	vb_pages_free(t->pages);
	free(t);
}

void vb_ptree_stats(const struct vb_ptree *t, struct vb_ptree_stats *s)
{
	s->cache_nodes = t->ncached;
	s->cache_bytes = t->cache_used;
	s->cache_hits = t->hits;
	s->cache_misses = t->misses;
	s->nodes_live = t->live;
	struct vb_pages_stats ps;
	vb_pages_stats(t->pages, &ps);
	s->pages_bytes = ps.bytes_committed;
}
