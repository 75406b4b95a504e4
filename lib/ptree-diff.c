/*
 * ptree-diff: the byte ranges in which two piece trees differ
 * (vb_ptree_diff, contract in ptree.h), found by walking both trees side
 * by side and skipping the subtrees they share.  Reads nodes through
 * ptree.c (ptree-int.h); holds no node beyond a call, and, like the rest
 * of the tree, is not thread-safe.
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
 *   matching find all of it.  Every node read goes through
 *   vb_ptree_load(), so a damaged one is VB_ECORRUPT; levels strictly
 *   fall, so the walk ends.
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
#include "ptree-int.h"
#include "grow.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
		if ((rc = vb_ptree_load(st->t, &d->u.k, level, &n)))
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
		vb_ptree_node_unref(st->t, n);
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
	return vb_ptree_hash_off(x ? x : (uint64_t)(uintptr_t)k->mem, nb);
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

	if ((vb_ptree_root_is_empty(a) && vb_ptree_root_is_empty(b)) || same_tok(a, b))
		return VB_OK;
	if (vb_ptree_root_is_empty(a) || vb_ptree_root_is_empty(b))
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
		if (vb_ptree_root_is_empty(r[i]))
			continue;
		if ((rc = vb_ptree_load(t, r[i], -1, &n)))
			break;
		memset(&d, 0, sizeof d);
		d.tok = 1;
		d.level = n->level;
		d.u.k = *r[i];   /* the caller's root keeps its nodes alive */
		vb_ptree_node_unref(t, n);
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
