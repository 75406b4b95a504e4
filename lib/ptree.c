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
 *   leaf entry:   src, [DATA: self - rec], start, len, [counts]
 *   inner entry:  self - child, bytes, pieces, [counts]
 *   [counts] is encoding 2 only (a counting tree, io.counts): a tag byte
 *   (bit 0 known, 1 head_lf, 2 tail_cr, 3/4/5 a varint of lf/cr/crlf
 *   follows, each only when not 0; tag 0 = unknown), see LINES.
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
 * LINES
 *   In a counting tree every entry also carries the line-end counts of
 *   its bytes (struct vb_lines, lib/lines.h: '\n' and '\r' bytes, "\r\n"
 *   pairs inside, and whether it starts with '\n' / ends with '\r'), so
 *   an inner entry's counts are its child's entries joined
 *   (vb_lines_cat) and summing counts along a path is exact for both
 *   '\n' lines and '\n' | "\r\n" | '\r' lines, even where a pair is
 *   split between pieces.  Counts may be unknown (a piece never counted:
 *   a large base); unknown is contagious upward, and a query walks into
 *   an unknown subtree and reads its unknown pieces (io.lines), so the
 *   answer is always exact and O(log n) where everything is counted.
 *   An edit that cuts a piece needs the counts of both parts: it reads
 *   the shorter side (or what lies around a middle part) and derives the
 *   other from the whole (vb_lines_drop_head/_tail), never more than
 *   VB_PTREE_COUNT_PIECE bytes; past that the parts become unknown.
 *   Data pieces are kept at most VB_PTREE_COUNT_PIECE long (mergeable()
 *   stops there), so a part of one is always counted.  Nodes are
 *   immutable, so counts found by reading are not written back: a tree
 *   gains counts as edits rewrite its paths, at a flatten (which copies
 *   with counts) and at a compaction (which counts data pieces).
 *
 * DIFF
 *   vb_ptree_diff, which compares two trees by node identity and reads only
 *   the paths that changed, is in ptree-diff.c (its design notes there);
 *   ptree-int.h holds what the two files share.
 */
#include "ptree-int.h"
#include "le.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- pieces */

int vb_piece_contiguous(const struct vb_piece *a, const struct vb_piece *b)
{
	return a->src == b->src && a->rec == b->rec && a->start + a->len == b->start;
}

/* Whether the tree keeps a and b (a just before b) as one piece: they are
 * contiguous and, in a counting tree, not data pieces longer together
 * than VB_PTREE_COUNT_PIECE. */
static int mergeable(const struct vb_ptree *t, const struct vb_piece *a, const struct vb_piece *b)
{
	if (!vb_piece_contiguous(a, b))
		return 0;
	return !t->io.counts || a->src != VB_SRC_DATA || a->len + b->len <= VB_PTREE_COUNT_PIECE;
}

/* a followed by b as one piece (they are mergeable). */
static void merge_into(struct vb_piece *a, const struct vb_piece *b)
{
	a->lines = vb_lines_cat(&a->lines, &b->lines);
	a->len += b->len;
}

static int same_lines(const struct vb_lines *a, const struct vb_lines *b)
{
	return a->known == b->known && a->lf == b->lf && a->cr == b->cr && a->crlf == b->crlf &&
	       a->head_lf == b->head_lf && a->tail_cr == b->tail_cr;
}

/* Counts of [skip, skip+take) of q through io.lines, which reads at most
 * `limit` bytes (more only when it has a cheaper way: the base's line
 * index); unknown on any failure (an edit never fails for a count). */
static struct vb_lines read_lines(struct vb_ptree *t, const struct vb_piece *q, uint64_t skip,
				  uint64_t take, uint64_t limit, int *cr_before, int *lf_after)
{
	struct vb_lines l;

	*cr_before = *lf_after = 0;
	if (t->io.lines(t->io.ctx, q, skip, take, limit, &l, cr_before, lf_after))
		return vb_lines_unknown();
	return l;
}

/*
 * The counts of bytes [skip, skip+take) of q from q's own counts and the
 * fewest bytes read: the part itself, or what lies around it (the
 * prefix and suffix dropped from q's counts), whichever is shorter, at
 * most VB_PTREE_COUNT_PIECE bytes.  Unknown when q's counts are, the
 * tree does not count, or the bytes cannot be read.
 */
static struct vb_lines part_lines(struct vb_ptree *t, const struct vb_piece *q, uint64_t skip,
				  uint64_t take)
{
	uint64_t end = skip + take, around = q->len - take;
	struct vb_lines r = q->lines, x;
	int crb, lfa;

	if (!t->io.counts)
		return vb_lines_unknown();
	if (take == q->len)
		return q->lines;
	if (!q->lines.known)
		return read_lines(t, q, skip, take, 0, &crb, &lfa);
	if (take <= around || around > VB_PTREE_COUNT_PIECE)
		return read_lines(t, q, skip, take, VB_PTREE_COUNT_PIECE, &crb, &lfa);
	if (skip) {
		x = read_lines(t, q, 0, skip, VB_PTREE_COUNT_PIECE, &crb, &lfa);
		if (!x.known)
			return x;
		r = vb_lines_drop_head(&r, &x, lfa);
	}
	if (end < q->len) {
		x = read_lines(t, q, end, q->len - end, VB_PTREE_COUNT_PIECE, &crb, &lfa);
		if (!x.known)
			return x;
		r = vb_lines_drop_tail(&r, &x, crb);
	}
	return r;
}

struct vb_piece vb_ptree_piece_part(struct vb_ptree *t, const struct vb_piece *p, uint64_t skip,
				    uint64_t take)
{
	struct vb_piece q = *p;

	q.lines = part_lines(t, p, skip, take);
	q.start += skip;
	q.len = take;
	return q;
}

/* q cut at o (0 < o < len) into *l and *r with their counts, reading
 * only the shorter side. */
static void split_piece(struct vb_ptree *t, const struct vb_piece *q, uint64_t o,
			struct vb_piece *l, struct vb_piece *r)
{
	int crb, lfa;

	*l = *q;
	*r = *q;
	l->len = o;
	r->start += o;
	r->len -= o;
	if (!t->io.counts) {
		l->lines = r->lines = vb_lines_unknown();
	} else if (!q->lines.known) {
		/* counted only where the source has a cheaper way than reading
		 * (limit 0: a base with a line index), else unknown as before */
		l->lines = read_lines(t, q, 0, o, 0, &crb, &lfa);
		r->lines = read_lines(t, q, o, q->len - o, 0, &crb, &lfa);
	} else if (o <= q->len - o) {
		l->lines = read_lines(t, q, 0, o, VB_PTREE_COUNT_PIECE, &crb, &lfa);
		r->lines = l->lines.known ? vb_lines_drop_head(&q->lines, &l->lines, lfa)
					  : vb_lines_unknown();
	} else {
		r->lines = read_lines(t, q, o, q->len - o, VB_PTREE_COUNT_PIECE, &crb, &lfa);
		l->lines = r->lines.known ? vb_lines_drop_tail(&q->lines, &r->lines, crb)
					  : vb_lines_unknown();
	}
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
	for (n = t->buckets[vb_ptree_hash_off(off, t->nbuckets)]; n; n = n->hnext)
		if (n->off == off) {
			lru_unlink(t, n);
			lru_push(t, n);
			return node_ref(n);
		}
	return NULL;
}

static void cache_remove(struct vb_ptree *t, struct vb_node *n)
{
	struct vb_node **pp = &t->buckets[vb_ptree_hash_off(n->off, t->nbuckets)];

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
			size_t h = vb_ptree_hash_off(n->off, nb);
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
	size_t h = vb_ptree_hash_off(n->off, t->nbuckets);
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

/* Counts in encoding 2: a tag byte (LT_*), then the nonzero ones of lf,
 * cr, crlf as varints; tag 0 is unknown. */
enum {
	LT_KNOWN = 1, LT_HEAD_LF = 2, LT_TAIL_CR = 4, LT_LF = 8, LT_CR = 16, LT_CRLF = 32,
	LT_ALL = 63
};

static size_t encode_lines(const struct vb_lines *l, unsigned char *buf)
{
	size_t o = 1;

	if (!l->known) {
		buf[0] = 0;
		return 1;
	}
	buf[0] = (unsigned char)(LT_KNOWN | (l->head_lf ? LT_HEAD_LF : 0) |
				 (l->tail_cr ? LT_TAIL_CR : 0) | (l->lf ? LT_LF : 0) |
				 (l->cr ? LT_CR : 0) | (l->crlf ? LT_CRLF : 0));
	if (l->lf)
		o += vb_varint_put(buf + o, l->lf);
	if (l->cr)
		o += vb_varint_put(buf + o, l->cr);
	if (l->crlf)
		o += vb_varint_put(buf + o, l->crlf);
	return o;
}

/* Decode counts for an entry of `bytes` bytes; -1 for malformed or
 * impossible ones (more ends than bytes, edges without their byte). */
static int decode_lines(const unsigned char **p, const unsigned char *end, uint64_t bytes,
			struct vb_lines *l)
{
	unsigned tag;

	*l = vb_lines_unknown();
	if (*p >= end)
		return -1;
	tag = *(*p)++;
	if (!tag)
		return 0;
	if (!(tag & LT_KNOWN) || (tag & ~(unsigned)LT_ALL))
		return -1;
	l->known = 1;
	l->head_lf = (tag & LT_HEAD_LF) != 0;
	l->tail_cr = (tag & LT_TAIL_CR) != 0;
	if (((tag & LT_LF) && (get_varint(p, end, &l->lf) || !l->lf)) ||
	    ((tag & LT_CR) && (get_varint(p, end, &l->cr) || !l->cr)) ||
	    ((tag & LT_CRLF) && (get_varint(p, end, &l->crlf) || !l->crlf)))
		return -1;
	if (l->lf > bytes || l->cr > bytes - l->lf || l->crlf > l->lf || l->crlf > l->cr ||
	    (l->head_lf && !l->lf) || (l->tail_cr && !l->cr) ||
	    (bytes == 1 && l->head_lf && l->tail_cr))
		return -1;
	return 0;
}

static size_t encode(const struct vb_ptree *t, const struct vb_node *n, uint64_t self,
		     unsigned char *buf)
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
			if (t->io.counts)
				o += encode_lines(&p->lines, buf + o);
		} else {
			const struct vb_root *k = &n->u.k[i];
			o += vb_varint_put(buf + o, self - k->off);
			o += vb_varint_put(buf + o, k->bytes);
			o += vb_varint_put(buf + o, k->pieces);
			if (t->io.counts)
				o += encode_lines(&k->lines, buf + o);
		}
	}
	return o;
}

/* The counts of a node's entries together (unknown for no entries). */
static struct vb_lines sum_lines(const struct vb_node *n)
{
	struct vb_lines l = vb_lines_unknown();

	for (unsigned i = 0; i < n->n; i++) {
		const struct vb_lines *e = n->level ? &n->u.k[i].lines : &n->u.p[i].lines;
		l = i ? vb_lines_cat(&l, e) : *e;
	}
	return l;
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
			if (t->io.counts ? decode_lines(&p, end, q->len, &q->lines)
					 : (q->lines = vb_lines_unknown(), 0))
				return bad_node(self, "bad line counts");
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
			if (t->io.counts ? decode_lines(&p, end, k->bytes, &k->lines)
					 : (k->lines = vb_lines_unknown(), 0))
				return bad_node(self, "bad line counts");
			k->lines_claimed = 1;
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
	n->sum_lines = sum_lines(n);
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
	    n->sum_pieces != k->pieces ||
	    (k->lines_claimed && !same_lines(&n->sum_lines, &k->lines))) {
		rc = bad_node(k->off, "does not match its parent's sums or level");
		node_unref(t, n);
		return rc;
	}
	*out = n;
	return VB_OK;
}

/* load() and node_unref() for ptree-diff.c (ptree-int.h). */
enum vb_err vb_ptree_load(struct vb_ptree *t, const struct vb_root *k, int level,
			  struct vb_node **out)
{
	return load(t, k, level, out);
}

void vb_ptree_node_unref(struct vb_ptree *t, struct vb_node *n)
{
	node_unref(t, n);
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
	k->lines = sum_lines(n);
	k->lines_claimed = 1;
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
	struct vb_root r = {0, 0, 0, NULL, {0, 0, 0, 0, 0, 0}, 0};
	return r;
}

struct vb_root vb_root_disk(uint64_t off, uint64_t bytes, uint64_t pieces)
{
	struct vb_root r = {bytes, pieces, off, NULL, {0, 0, 0, 0, 0, 0}, 0};
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

/* ------------------------------------------------------------ leaf edits */

static void leaf_coalesce(const struct vb_ptree *t, struct vb_node *n)
{
	unsigned w = 0;

	for (unsigned i = 0; i < n->n; i++) {
		if (w && mergeable(t, &n->u.p[w - 1], &n->u.p[i]))
			merge_into(&n->u.p[w - 1], &n->u.p[i]);
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

static void leaf_insert(struct vb_ptree *t, struct vb_node *n, uint64_t pos,
			const struct vb_piece *p)
{
	uint64_t acc = 0;
	unsigned i;

	if (pos == 0 || !n->n) {
		leaf_put(n, 0, p);
		leaf_coalesce(t, n);
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
		struct vb_piece left, right;
		split_piece(t, &n->u.p[i], o, &left, &right);
		n->u.p[i] = left;
		leaf_put(n, i + 1, p);
		leaf_put(n, i + 2, &right);
	}
	leaf_coalesce(t, n);
}

static void leaf_delete(struct vb_ptree *t, struct vb_node *n, uint64_t pos, uint64_t len)
{
	struct vb_piece out[VB_PTREE_CAP];
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
		if (a < pos)
			out[w++] = vb_ptree_piece_part(t, &q, 0, pos - a);
		if (b > end)
			out[w++] = vb_ptree_piece_part(t, &q, end - a, b - end);
	}
	memcpy(n->u.p, out, w * sizeof out[0]);
	n->n = (uint16_t)w;
	leaf_coalesce(t, n);
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
			leaf_coalesce(t, a);
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
			if (!r->lines_claimed) {
				/* an unedited root read from a commit: an entry
				 * must claim its child's counts */
				struct vb_node *c;
				if ((rc = load(t, r, -1, &c))) {
					top->n = 0;
					node_unref(t, top);
					return rc;
				}
				top->u.k[0].lines = sum_lines(c);
				top->u.k[0].lines_claimed = 1;
				node_unref(t, c);
			}
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
		leaf_insert(t, n, pos, p);
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
		leaf_delete(t, n, pos, len);
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
	if (!mergeable(t, &a, &b))
		return VB_OK;
	/* Delete both and insert the union: no leaf gains an entry that
	 * could merge again, so this does not recurse. */
	uint64_t from = pos - a.len;
	merge_into(&a, &b);
	if ((rc = del_rec(t, r, -1, from, a.len)) || (rc = fix_root(t, r)))
		return rc;
	if (vb_ptree_root_is_empty(r)) {
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
	if (vb_ptree_root_is_empty(r)) {
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
		len = encode(t, n, self, t->enc);
		if ((rc = t->io.write_node(t->io.ctx, t->enc, len)))
			return rc;
		n->off = self;
		n->sum_bytes = k->bytes;
		n->sum_pieces = k->pieces;
		n->sum_lines = sum_lines(n);
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

/* ----------------------------------------------------------------- build */

struct vb_ptree_build {
	struct vb_ptree *t;
	uint64_t bytes;                       /* of the pieces added */
	/* per level: the node being filled and the full one before it, kept
	 * unwritten until a third is needed so the last two can be balanced */
	struct vb_node *cur[VB_PTREE_MAX_DEPTH], *prev[VB_PTREE_MAX_DEPTH];
	uint64_t done[VB_PTREE_MAX_DEPTH];    /* nodes passed up from the level */
};

enum vb_err vb_ptree_build_begin(struct vb_ptree *t, struct vb_ptree_build **out)
{
	if (!(*out = calloc(1, sizeof **out)))
		return vb_err_set(VB_ENOMEM, "out of memory");
	(*out)->t = t;
	return VB_OK;
}

void vb_ptree_build_free(struct vb_ptree_build *b)
{
	if (!b)
		return;
	for (int l = 0; l < VB_PTREE_MAX_DEPTH; l++) {
		node_unref(b->t, b->cur[l]);
		node_unref(b->t, b->prev[l]);
	}
	free(b);
}

static enum vb_err build_put(struct vb_ptree_build *b, int level, const struct vb_piece *p,
			     const struct vb_root *k);

/* Write node n of `level` (the builder's reference goes) and add its
 * entry to the level above. */
static enum vb_err build_emit(struct vb_ptree_build *b, int level, struct vb_node *n)
{
	struct vb_root k = vb_root_empty();
	enum vb_err rc;

	recompute(n, &k);
	k.mem = n;
	if ((rc = flush_rec(b->t, &k))) {
		node_unref(b->t, n);
		return rc;
	}
	b->done[level]++;
	if (level + 1 >= VB_PTREE_MAX_DEPTH)
		return vb_err_set(VB_ELIMIT, "the tree would be deeper than %d levels",
				  VB_PTREE_MAX_DEPTH);
	return build_put(b, level + 1, NULL, &k);
}

/* Add a piece (level 0) or a child entry (above) to `level`. */
static enum vb_err build_put(struct vb_ptree_build *b, int level, const struct vb_piece *p,
			     const struct vb_root *k)
{
	struct vb_node *n = b->cur[level];
	enum vb_err rc;

	if (n && !level && mergeable(b->t, &n->u.p[n->n - 1], p)) {
		merge_into(&n->u.p[n->n - 1], p);
		return VB_OK;
	}
	if (n && n->n == VB_PTREE_MAX) {
		struct vb_node *full = b->prev[level];
		b->prev[level] = n;
		b->cur[level] = n = NULL;
		if (full && (rc = build_emit(b, level, full)))
			return rc;
	}
	if (!n) {
		if (!(n = node_new(b->t, (unsigned)level)))
			return vb_err_set(VB_ENOMEM, "out of memory");
		b->cur[level] = n;
	}
	if (level)
		n->u.k[n->n++] = *k;
	else
		n->u.p[n->n++] = *p;
	return VB_OK;
}

enum vb_err vb_ptree_build_add(struct vb_ptree_build *b, const struct vb_piece *p)
{
	uint64_t end;

	if (!p->len)
		return VB_OK;
	if (__builtin_add_overflow(b->bytes, p->len, &end))
		return vb_err_set(VB_ELIMIT, "content would exceed 2^64-1 bytes");
	b->bytes = end;
	return build_put(b, 0, p, NULL);
}

enum vb_err vb_ptree_build_end(struct vb_ptree_build *b, struct vb_root *root)
{
	enum vb_err rc = VB_OK;

	*root = vb_root_empty();
	for (int l = 0; l < VB_PTREE_MAX_DEPTH && !rc; l++) {
		struct vb_node *p = b->prev[l], *c = b->cur[l];
		if (!c)
			break;
		if (!p && !b->done[l]) {
			/* the only node of the top level: the root */
			recompute(c, root);
			root->mem = c;
			b->cur[l] = NULL;
			break;
		}
		/* the last node takes entries from the full one before it
		 * (VB_PTREE_MAX of them) until it has VB_PTREE_MIN */
		if (p && c->n < VB_PTREE_MIN) {
			unsigned m = VB_PTREE_MIN - c->n;
			if (l) {
				memmove(&c->u.k[m], &c->u.k[0], c->n * sizeof c->u.k[0]);
				memcpy(&c->u.k[0], &p->u.k[p->n - m], m * sizeof c->u.k[0]);
			} else {
				memmove(&c->u.p[m], &c->u.p[0], c->n * sizeof c->u.p[0]);
				memcpy(&c->u.p[0], &p->u.p[p->n - m], m * sizeof c->u.p[0]);
			}
			c->n = (uint16_t)(c->n + m);
			p->n = (uint16_t)(p->n - m);
		}
		b->prev[l] = b->cur[l] = NULL;
		if (p && (rc = build_emit(b, l, p))) {
			node_unref(b->t, c);
			break;
		}
		rc = build_emit(b, l, c);
	}
	vb_ptree_build_free(b);
	return rc;
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
	if (vb_ptree_root_is_empty(r))
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

/* ----------------------------------------------------------------- lines */

void vb_ptree_lines(struct vb_ptree *t, const struct vb_root *r, struct vb_lines *out)
{
	struct vb_node *n;

	if (vb_ptree_root_is_empty(r)) {
		*out = vb_lines_unknown();
		out->known = 1;
		return;
	}
	if (r->lines_claimed) {
		*out = r->lines;
		return;
	}
	if (load(t, r, -1, &n)) {
		*out = vb_lines_unknown();
		return;
	}
	*out = n->sum_lines;
	node_unref(t, n);
}

/* The counts of bytes [0, take) of piece p: its own, or read. */
static enum vb_err piece_lines(struct vb_ptree *t, const struct vb_piece *p, uint64_t take,
			       struct vb_lines *out)
{
	int crb, lfa;
	enum vb_err rc;

	if (take == p->len && p->lines.known) {
		*out = p->lines;
		return VB_OK;
	}
	if (!t->io.lines)
		return vb_err_set(VB_EINVAL, "this tree cannot count lines");
	if ((rc = t->io.lines(t->io.ctx, p, 0, take, UINT64_MAX, out, &crb, &lfa)))
		return rc;
	if (!out->known)
		return vb_err_set(VB_EIO, "internal error: bytes not counted");
	return VB_OK;
}

enum vb_err vb_ptree_piece_count(struct vb_ptree *t, const struct vb_piece *p,
				 struct vb_lines *out)
{
	return piece_lines(t, p, p->len, out);
}

/* The counts of the subtree behind entry k: its claim when known, else
 * its pieces', read where unknown. */
static enum vb_err entry_lines(struct vb_ptree *t, const struct vb_root *k, int level,
			       struct vb_lines *out)
{
	struct vb_node *n;
	struct vb_lines e;
	enum vb_err rc;

	if (k->lines_claimed && k->lines.known) {
		*out = k->lines;
		return VB_OK;
	}
	if ((rc = load(t, k, level, &n)))
		return rc;
	if (n->sum_lines.known) {
		*out = n->sum_lines;
		node_unref(t, n);
		return VB_OK;
	}
	for (unsigned i = 0; i < n->n && !rc; i++) {
		rc = n->level ? entry_lines(t, &n->u.k[i], n->level - 1, &e)
			      : piece_lines(t, &n->u.p[i], n->u.p[i].len, &e);
		if (!rc)
			*out = i ? vb_lines_cat(out, &e) : e;
	}
	node_unref(t, n);
	return rc;
}

/* Add to *ends the line ends starting in the first `pos` bytes (0 < pos
 * <= k->bytes) of the subtree behind k; *prev_cr says whether the byte
 * before them is '\r', and then whether byte pos-1 is. */
static enum vb_err ends_rec(struct vb_ptree *t, const struct vb_root *k, int level,
			    enum vb_line_mode m, uint64_t pos, int *prev_cr, uint64_t *ends)
{
	struct vb_node *n;
	struct vb_lines l;
	enum vb_err rc = VB_OK;

	if (pos == k->bytes) {
		if ((rc = entry_lines(t, k, level, &l)))
			return rc;
		*ends += vb_lines_ends(&l, m, *prev_cr);
		*prev_cr = l.tail_cr;
		return VB_OK;
	}
	if ((rc = load(t, k, level, &n)))
		return rc;
	for (unsigned i = 0; i < n->n && pos && !rc; i++) {
		uint64_t size = n->level ? n->u.k[i].bytes : n->u.p[i].len;
		uint64_t take = pos < size ? pos : size;
		if (n->level) {
			rc = ends_rec(t, &n->u.k[i], n->level - 1, m, take, prev_cr, ends);
		} else if (!(rc = piece_lines(t, &n->u.p[i], take, &l))) {
			*ends += vb_lines_ends(&l, m, *prev_cr);
			*prev_cr = l.tail_cr;
		}
		pos -= take;
	}
	if (!rc && pos)
		rc = vb_err_set(VB_ECORRUPT, "content ends before its recorded length");
	node_unref(t, n);
	return rc;
}

enum vb_err vb_ptree_line_ends(struct vb_ptree *t, const struct vb_root *r, enum vb_line_mode m,
			       uint64_t pos, uint64_t *ends)
{
	int prev_cr = 0;

	*ends = 0;
	if (pos > r->bytes)
		return vb_err_set(VB_ERANGE, "position %llu beyond the end (length %llu)",
				  (unsigned long long)pos, (unsigned long long)r->bytes);
	if (!pos)
		return VB_OK;
	return ends_rec(t, r, -1, m, pos, &prev_cr, ends);
}

/* The search of vb_ptree_line_find: `k` ends still to pass, the state
 * after what was passed, and the answer once found. */
struct line_search {
	enum vb_line_mode m;
	uint64_t k, pos, before;
	int prev_cr, found;
	struct vb_ptree_line *out;
};

/* Pass the subtree behind `e` or find the k-th end in it. */
static enum vb_err find_rec(struct vb_ptree *t, const struct vb_root *e, int level,
			    struct line_search *s)
{
	struct vb_node *n;
	enum vb_err rc = VB_OK;

	if (e->lines_claimed && e->lines.known) {
		uint64_t x = vb_lines_ends(&e->lines, s->m, s->prev_cr);
		if (x < s->k) {
			s->k -= x;
			s->before += x;
			s->pos += e->bytes;
			s->prev_cr = e->lines.tail_cr;
			return VB_OK;
		}
	}
	if ((rc = load(t, e, level, &n)))
		return rc;
	for (unsigned i = 0; i < n->n && !rc && !s->found; i++) {
		if (n->level) {
			rc = find_rec(t, &n->u.k[i], n->level - 1, s);
			continue;
		}
		const struct vb_piece *p = &n->u.p[i];
		struct vb_lines l;
		if ((rc = piece_lines(t, p, p->len, &l)))
			break;
		uint64_t x = vb_lines_ends(&l, s->m, s->prev_cr);
		if (x >= s->k) {
			s->found = 1;
			s->out->piece_pos = s->pos;
			s->out->piece = *p;
			s->out->ends_before = s->before;
			s->out->prev_cr = s->prev_cr;
			break;
		}
		s->k -= x;
		s->before += x;
		s->pos += p->len;
		s->prev_cr = l.tail_cr;
	}
	node_unref(t, n);
	return rc;
}

enum vb_err vb_ptree_line_find(struct vb_ptree *t, const struct vb_root *r, enum vb_line_mode m,
			       uint64_t k, struct vb_ptree_line *out)
{
	struct line_search s = {m, k, 0, 0, 0, 0, out};
	enum vb_err rc;

	if (!k)
		return vb_err_set(VB_EINVAL, "line ends count from 1");
	if (vb_ptree_root_is_empty(r))
		return VB_ERANGE;
	if ((rc = find_rec(t, r, -1, &s)))
		return rc;
	return s.found ? VB_OK : VB_ERANGE;
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
	if (sums.bytes != k->bytes || sums.pieces != k->pieces ||
	    (k->lines_claimed && !same_lines(&sums.lines, &k->lines)))
		rc = vb_err_set(VB_ECORRUPT, "node sums differ from parent");
	else if (n->n > VB_PTREE_MAX || n->n == 0 || (!is_root && n->n < VB_PTREE_MIN))
		rc = vb_err_set(VB_ECORRUPT, "node fill %u out of bounds", n->n);
	else if (!n->level) {
		if (*leaf_level < 0)
			*leaf_level = 0;
		for (unsigned i = 0; i + 1u < n->n; i++)
			if (mergeable(t, &n->u.p[i], &n->u.p[i + 1]))
				rc = vb_err_set(VB_ECORRUPT, "mergeable pieces in a leaf");
		for (unsigned i = 0; i < n->n; i++)
			if (t->io.counts && n->u.p[i].src == VB_SRC_DATA &&
			    n->u.p[i].len > VB_PTREE_COUNT_PIECE)
				rc = vb_err_set(VB_ECORRUPT, "data piece longer than %llu bytes",
						(unsigned long long)VB_PTREE_COUNT_PIECE);
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

	if (vb_ptree_root_is_empty(r))
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
	if (vb_ptree_root_is_empty(r))
		return VB_OK;
	return walk_rec(t, r, -1, seen, piece, arg);
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
