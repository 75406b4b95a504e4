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
