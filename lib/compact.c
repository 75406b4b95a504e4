/* compact: rewrite a store with only what its newest versions use (the
 * phases are described in compact.h). */
#include "compact.h"
#include "grow.h"
#include "le.h"
#include "oset.h"
#include "stree.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The blocks [b0, b1] of old data record `rec` that kept versions use,
 * copied as one run of blocks starting at new_off. */
struct cluster {
	uint64_t rec, b0, b1, new_off;
};

struct ops_buf {
	struct vb_op *v;
	size_t n, cap;
};

struct hunk {
	uint64_t a_off, a_len, b_off, b_len;
};

struct hunks {
	struct hunk *v;
	size_t n, cap;
};

struct compaction {
	struct vb_store *old, *n;      /* the store; its rewrite */
	struct vb_ptree *ot, *nt;      /* their trees */
	struct vb_commit *cs;          /* the kept commits, oldest first */
	uint64_t *new_off;             /* their rewritten commits' offsets */
	uint64_t ncs, oldest;          /* how many; the first one's version */
	struct cluster *c;
	size_t nc, capc;
	struct vb_oset seen;           /* tree nodes walked in phase 1 */
	struct ops_buf ops;
	struct hunks hk;
	struct vb_root r;              /* the tree being rebuilt */
	void (*progress)(void *arg, uint64_t done, uint64_t total);
	void *arg;
	uint64_t done, total;          /* bytes copied; to copy (whole blocks) */
	struct vb_lindex *lx;          /* the base's line index, or NULL */
	struct vb_stree_ctx ncx;       /* the rewrite's tree reads through it */
};

#define BLOCK ((uint64_t)VB_STORE_BLOCK)

static void crash_point(const char *where)
{
	if (vb_store_crash_hook)
		vb_store_crash_hook(where, -1, 0, 0);
}

/* ------------------------------------------------------ 1. collect */

static int seen_node(void *arg, uint64_t off)
{
	struct compaction *k = arg;

	/* nothing copied yet, but the work has begun */
	if (k->progress)
		k->progress(k->arg, 0, 0);
	return vb_oset_add(&k->seen, off);
}

static enum vb_err add_cluster(struct compaction *k, uint64_t rec, uint64_t b0, uint64_t b1)
{
	enum vb_err rc = vb_grow(&k->c, &k->capc, k->nc, sizeof *k->c, 64);

	if (rc)
		return rc;
	k->c[k->nc++] = (struct cluster){rec, b0, b1, 0};
	return VB_OK;
}

static enum vb_err collect_piece(void *arg, const struct vb_piece *p)
{
	if (p->src != VB_SRC_DATA)
		return VB_OK;
	return add_cluster(arg, p->rec, p->start / BLOCK, (p->start + p->len - 1) / BLOCK);
}

static int cmp_cluster(const void *a, const void *b)
{
	const struct cluster *x = a, *y = b;
	if (x->rec != y->rec)
		return x->rec < y->rec ? -1 : 1;
	return x->b0 < y->b0 ? -1 : x->b0 > y->b0;
}

/* The kept commits, then every data block their trees reach (and the
 * embedded base), as sorted, merged clusters. */
static enum vb_err collect(struct compaction *k)
{
	struct vb_store_state st;
	enum vb_err rc = VB_OK;
	uint64_t n = k->ncs;

	k->cs[n - 1] = *vb_store_head(k->old);
	for (uint64_t i = n - 1; i > 0 && !rc; i--)
		rc = vb_store_commit_parent(k->old, &k->cs[i], &k->cs[i - 1]);
	for (uint64_t i = 0; i < n && !rc; i++) {
		struct vb_root vr = vb_stree_root(&k->cs[i]);
		rc = vb_ptree_walk_nodes(k->ot, &vr, seen_node, collect_piece, k);
	}
	vb_store_state(k->old, &st);
	if (!rc && st.embed_rec)
		rc = add_cluster(k, st.embed_rec, 0, (vb_store_base_size(k->old) - 1) / BLOCK);
	if (rc || !k->nc)
		return rc;
	qsort(k->c, k->nc, sizeof *k->c, cmp_cluster);
	size_t w = 0;
	for (size_t i = 1; i < k->nc; i++) {
		struct cluster *a = &k->c[w], *b = &k->c[i];
		if (b->rec == a->rec && b->b0 <= a->b1 + 1) {
			if (b->b1 > a->b1)
				a->b1 = b->b1;
		} else {
			k->c[++w] = *b;
		}
	}
	k->nc = w + 1;
	/* the bytes to copy, for progress: whole blocks (saturated) */
	for (size_t i = 0; i < k->nc; i++) {
		uint64_t b;
		if (__builtin_mul_overflow(k->c[i].b1 - k->c[i].b0 + 1, BLOCK, &b) ||
		    __builtin_add_overflow(k->total, b, &k->total))
			k->total = UINT64_MAX;
	}
	return VB_OK;
}

/* --------------------------------------------------------- 2. copy */

static enum vb_err copy(struct compaction *k)
{
	enum vb_err rc = VB_OK;

	if (k->progress)
		k->progress(k->arg, 0, k->total);
	for (size_t i = 0; i < k->nc && !rc; i++) {
		struct cluster *c = &k->c[i];
		uint64_t before = vb_store_tell(k->n);
		rc = vb_store_copy_blocks(k->n, k->old, c->rec, c->b0, c->b1, &c->new_off);
		k->done += vb_store_tell(k->n) - before;
		if (!rc && k->progress)
			k->progress(k->arg, k->done, k->total);
	}
	return rc;
}

/* ------------------------------------------------------ 3. rebuild */

/* The cluster holding blocks [b0, b1] of `rec`, or NULL. */
static const struct cluster *find_cluster(const struct compaction *k, uint64_t rec,
					  uint64_t b0, uint64_t b1)
{
	size_t lo = 0, hi = k->nc;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct cluster *c = &k->c[mid];
		if (c->rec < rec || (c->rec == rec && c->b0 <= b0))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || k->c[lo - 1].rec != rec || k->c[lo - 1].b1 < b1)
		return NULL;
	return &k->c[lo - 1];
}

static enum vb_err translate(const struct compaction *k, const struct vb_piece *p,
			     struct vb_piece *out)
{
	*out = *p;
	if (p->src != VB_SRC_DATA)
		return VB_OK;
	const struct cluster *c = find_cluster(k, p->rec, p->start / BLOCK,
					       (p->start + p->len - 1) / BLOCK);
	if (!c)
		return vb_err_set(VB_EIO, "internal error: data not copied");
	out->rec = c->new_off;
	out->start = p->start - c->b0 * BLOCK;
	return VB_OK;
}

static enum vb_err keep_op(void *arg, const struct vb_op *op)
{
	struct ops_buf *b = arg;
	enum vb_err rc = vb_grow(&b->v, &b->cap, b->n, sizeof *b->v, 16);

	if (!rc)
		b->v[b->n++] = *op;
	return rc;
}

static enum vb_err keep_hunk(void *arg, uint64_t a_off, uint64_t a_len, uint64_t b_off,
			     uint64_t b_len)
{
	struct hunks *h = arg;
	enum vb_err rc = vb_grow(&h->v, &h->cap, h->n, sizeof *h->v, 16);

	if (!rc)
		h->v[h->n++] = (struct hunk){a_off, a_len, b_off, b_len};
	return rc;
}

#define FLUSH_EVERY 8192

/* Insert bytes [skip, skip+take) of old piece p, translated, at `at` of
 * the tree being rebuilt.  The rewrite's trees count lines (store.c sets
 * the feature on every rewrite): data pieces go in cut to at most
 * VB_PTREE_COUNT_PIECE bytes, with counts (the old tree's, or counted
 * from the old bytes, which an old store's trees never had); base
 * pieces keep what the old tree knew. */
static enum vb_err copy_piece(struct compaction *k, const struct vb_piece *p, uint64_t skip,
			      uint64_t take, uint64_t at)
{
	int counts = vb_store_counts_lines(k->n);
	enum vb_err rc = VB_OK;

	for (uint64_t o = 0; o < take && !rc;) {
		uint64_t step = take - o;
		if (counts && p->src == VB_SRC_DATA && step > VB_PTREE_COUNT_PIECE)
			step = VB_PTREE_COUNT_PIECE;
		struct vb_piece part = vb_ptree_piece_part(k->ot, p, skip + o, step), np;
		if (counts && !part.lines.known && part.src == VB_SRC_DATA)
			rc = vb_ptree_piece_count(k->ot, &part, &part.lines);
		if (!rc && !(rc = translate(k, &part, &np)))
			rc = vb_ptree_insert(k->nt, &k->r, at + o, &np);
		o += step;
	}
	return rc;
}

/* Insert the pieces of old content `src` in [pos, pos+n), translated, at
 * `at` of the tree being rebuilt. */
static enum vb_err copy_pieces(struct compaction *k, const struct vb_root *src, uint64_t pos,
			       uint64_t n, uint64_t at)
{
	struct vb_ptree_cur cur;
	enum vb_err rc = vb_ptree_seek(k->ot, src, pos, &cur);
	uint64_t count = 0;

	while (!rc && n) {
		if (cur.at_end) {
			rc = vb_err_set(VB_ECORRUPT, "content ends before its recorded length");
			break;
		}
		const struct vb_piece *p = vb_ptree_cur_piece(&cur);
		uint64_t skip = pos - cur.piece_pos, take = p->len - skip;
		if (take > n)
			take = n;
		if ((rc = copy_piece(k, p, skip, take, at)))
			break;
		at += take;
		pos += take;
		n -= take;
		/* write finished nodes now and then: memory stays bounded */
		if (++count % FLUSH_EVERY == 0 && (rc = vb_ptree_flush(k->nt, &k->r)))
			break;
		if (n)
			rc = vb_ptree_next(&cur);
	}
	vb_ptree_cur_close(&cur);
	return rc;
}

/* Kept version i's tree: the oldest from its pieces, a later one from the
 * one before and their differences.  The one check: the result has the
 * recorded length and no more pieces than recorded. */
static enum vb_err rebuild_tree(struct compaction *k, uint64_t i)
{
	struct vb_root vr = vb_stree_root(&k->cs[i]);
	enum vb_err rc;

	if (!i) {
		rc = copy_pieces(k, &vr, 0, vr.bytes, 0);
	} else {
		struct vb_root pr = vb_stree_root(&k->cs[i - 1]);
		k->hk.n = 0;
		rc = vb_ptree_diff(k->ot, &pr, &vr, keep_hunk, &k->hk);
		for (size_t j = 0; j < k->hk.n && !rc; j++) {
			struct hunk *h = &k->hk.v[j];
			if (h->a_len)
				rc = vb_ptree_delete(k->nt, &k->r, h->b_off, h->a_len);
			if (!rc && h->b_len)
				rc = copy_pieces(k, &vr, h->b_off, h->b_len, h->b_off);
		}
	}
	/* the tree diff sees pieces, not counts: a version that only counted
	 * lines (vb-flatten --lines) differs from its parent in nothing
	 * else, so it is rebuilt from its own pieces */
	if (!rc && i) {
		struct vb_lines want, got;
		vb_ptree_lines(k->ot, &vr, &want);
		vb_ptree_lines(k->nt, &k->r, &got);
		if (want.known && !got.known) {
			vb_root_release(k->nt, &k->r);
			k->r = vb_root_empty();
			rc = copy_pieces(k, &vr, 0, vr.bytes, 0);
		}
	}
	if (!rc && (k->r.bytes != k->cs[i].length || k->r.pieces > k->cs[i].pieces))
		rc = vb_err_set(VB_EIO, "internal error: version %llu rebuilt wrongly",
				(unsigned long long)k->cs[i].version);
	return rc;
}

/* The extension entries of `c` other than the store state (and, with
 * `no_anchors`, other than anchor entries), into out. */
struct strip {
	unsigned char *out;
	size_t len;
	int no_anchors;
	int origin;      /* an origin entry was seen */
};

static enum vb_err strip_entry(void *arg, unsigned type, const unsigned char *d, size_t len)
{
	struct strip *x = arg;

	if (type == VB_EXT_ORIGIN && len >= 4)
		x->origin = 1;
	if (type == VB_EXT_STATE ||
	    (x->no_anchors && (type == VB_EXT_ANCHOR || type == VB_EXT_UNANCHOR)))
		return VB_OK;
	/* the entries came from one commit (at most VB_EXT_MAX bytes in
	 * all), less its state entry: they fit, unless the commit is damaged */
	if (len > VB_EXT_MAX || x->len + 3 + len > VB_EXT_MAX)
		return vb_err_set(VB_ECORRUPT, "commit extensions longer than %u bytes", VB_EXT_MAX);
	x->out[x->len] = (unsigned char)type;
	vb_le_put16(x->out + x->len + 1, (uint16_t)len);
	memcpy(x->out + x->len + 3, d, len);
	x->len += 3 + len;
	return VB_OK;
}

/* Kept version i's extensions: its own, less the store state, its anchors
 * replaced by the restated ones if `re`, and an origin entry with its old
 * commit CRC unless it has one (exports name versions by it). */
static enum vb_err rebuild_ext(const struct vb_commit *c, const struct vb_restate *re,
			       unsigned char *ext, size_t *ext_len)
{
	struct strip x = {ext, 0, re != NULL, 0};
	enum vb_err rc = vb_commit_ext(c, strip_entry, &x);

	if (rc)
		return rc;
	if (re) {
		if (x.len + re->ext_len > VB_EXT_MAX - VB_EXT_RESERVED)
			return vb_err_set(VB_ELIMIT, "version %llu has too many anchors to restate them (at most %u bytes of them)",
					  (unsigned long long)re->version,
					  VB_EXT_MAX - VB_EXT_RESERVED);
		memcpy(ext + x.len, re->ext, re->ext_len);
		x.len += re->ext_len;
	}
	/* (the buffer's bound; put_commit refuses what the record cannot take) */
	if (!x.origin && x.len + 7 > VB_EXT_MAX)
		return vb_err_set(VB_ELIMIT, "version %llu has too many extension entries to keep its identity through a compaction",
				  (unsigned long long)c->version);
	if (!x.origin) {
		ext[x.len] = VB_EXT_ORIGIN;
		vb_le_put16(ext + x.len + 1, 4);
		vb_le_put32(ext + x.len + 3, c->crc);
		x.len += 7;
	}
	*ext_len = x.len;
	return VB_OK;
}

/* Write kept version i again: its ops, its tree (k->r) and its commit,
 * linked to the rewritten parent and skip target. */
static enum vb_err rebuild_commit(struct compaction *k, uint64_t i, const struct vb_restate *re)
{
	const struct vb_commit *old = &k->cs[i];
	struct vb_store_state st;
	unsigned char ext[VB_EXT_MAX];
	size_t ext_len = 0;
	struct vb_commit c;
	uint64_t ops_off, ops_bytes;
	enum vb_err rc;

	k->ops.n = 0;
	if (old->nops && (rc = vb_store_ops(k->old, old, keep_op, &k->ops)))
		return rc;
	if ((rc = vb_store_write_ops(k->n, k->ops.v, k->ops.n, &ops_off, &ops_bytes)) ||
	    (rc = vb_ptree_flush(k->nt, &k->r)) || (rc = vb_commit_state(old, &st)) || (rc = rebuild_ext(old, re, ext, &ext_len)))
		return rc;
	if (st.embed_rec) {
		const struct cluster *ec = find_cluster(k, st.embed_rec, 0, 0);
		if (!ec)
			return vb_err_set(VB_ECORRUPT, "record at offset %llu: embedded base record not found",
					  (unsigned long long)old->off);
		st.embed_rec = ec->new_off;
	}
	st.oldest = k->oldest;
	c = *old;
	c.ops_off = ops_off;
	c.ops_bytes = ops_bytes;
	c.flags &= VB_COMMIT_NO_BASE;
	c.region_crc = 0;
	c.region_start = 0;
	c.root_off = k->r.off;
	c.pieces = k->r.pieces;
	vb_commit_sums(&c, k->ops.v, k->ops.n);
	if (!i && k->oldest) {
		c.flags |= VB_COMMIT_CUT;
		c.parent_off = c.skip_off = 0;
		c.parent_crc = 0;
	} else if (i) {
		uint64_t sv = c.version & (c.version - 1);
		c.parent_off = k->new_off[i - 1];
		c.parent_crc = vb_store_head(k->n)->crc;
		/* a skip below the cut is never followed: point it at the cut
		 * so that it stays inside the file */
		c.skip_off = sv >= k->oldest ? k->new_off[sv - k->oldest] : k->new_off[0];
	}
	if ((rc = vb_store_append_commit(k->n, &c, old->message, ext, ext_len, &st)))
		return rc;
	crash_point("commit");
	k->new_off[i] = c.off;
	return VB_OK;
}

/* ------------------------------------------------------- 4. finish */

/* The compaction's own version (COMPACT, content unchanged), then the
 * rewrite replaces the store. */
static enum vb_err finish(struct compaction *k, const char *message)
{
	const struct vb_commit *h = vb_store_head(k->n);
	struct vb_op op = {VB_OP_COMPACT, 0, k->r.bytes, k->oldest};
	struct vb_store_state st;
	struct timespec ts;
	struct vb_commit c;
	enum vb_err rc;

	vb_store_state(k->n, &st);
	st.since_flatten = st.since_flatten + 1 ? st.since_flatten + 1 : st.since_flatten;
	memset(&c, 0, offsetof(struct vb_commit, message));
	c.version = h->version + 1;
	c.flags = h->flags & VB_COMMIT_NO_BASE;
	c.parent_off = h->off;
	c.parent_crc = h->crc;
	uint64_t sv = c.version & (c.version - 1);
	c.skip_off = sv >= k->oldest ? k->new_off[sv - k->oldest] : k->new_off[0];
	c.root_off = k->r.off;
	c.length = k->r.bytes;
	c.pieces = k->r.pieces;
	clock_gettime(CLOCK_REALTIME, &ts);
	c.time_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	vb_commit_sums(&c, &op, 1);
	rc = vb_store_write_ops(k->n, &op, 1, &c.ops_off, &c.ops_bytes);
	if (!rc)
		rc = vb_store_append_commit(k->n, &c, message ? message : "", NULL, 0, &st);
	crash_point("last commit");
	return rc ? rc : vb_store_rewrite_publish(k->n, k->old);
}

static enum vb_err run(struct compaction *k, const struct vb_restate *rs, size_t nrs,
		       const char *message)
{
	enum vb_err rc;

	if ((rc = collect(k)) || (rc = vb_store_rewrite_open(k->old, &k->n)))
		return rc;
	/* the base's line index goes along (base pieces cut by the rebuild
	 * are counted through it) */
	k->ncx.s = k->n;
	k->ncx.lx = k->lx;
	if ((rc = vb_stree_create(&k->ncx, (size_t)1 << 20, &k->nt)) || (rc = copy(k)) ||
	    (k->lx && (rc = vb_lindex_copy(k->lx, k->n))))
		return rc;
	for (uint64_t i = 0; i < k->ncs && !rc; i++) {
		const struct vb_restate *re = NULL;
		for (size_t j = 0; j < nrs; j++)
			if (rs[j].version == k->cs[i].version)
				re = &rs[j];
		if (!(rc = rebuild_tree(k, i)))
			rc = rebuild_commit(k, i, re);
		if (!rc && k->progress)
			k->progress(k->arg, k->done, k->total);
	}
	return rc ? rc : finish(k, message);
}

enum vb_err vb_compact(struct vb_store *s, struct vb_ptree *t, uint64_t oldest,
		       const struct vb_restate *rs, size_t nrs, const char *message,
		       void (*progress)(void *arg, uint64_t done, uint64_t total), void *arg,
		       struct vb_compact_stats *st)
{
	struct compaction k;
	struct vb_store_state was;
	uint64_t head = vb_store_head(s)->version;
	enum vb_err rc;

	memset(&k, 0, sizeof k);
	memset(st, 0, sizeof *st);
	vb_store_state(s, &was);
	if (oldest < was.oldest || oldest > head)
		return vb_err_set(VB_EINVAL, "internal error: cut at version %llu",
				  (unsigned long long)oldest);
	k.old = s;
	k.ot = t;
	k.oldest = oldest;
	k.ncs = head - oldest + 1;
	k.progress = progress;
	k.arg = arg;
	k.r = vb_root_empty();
	if (progress)
		progress(arg, 0, 0); /* from the start: before collecting */
	if (k.ncs > SIZE_MAX / sizeof *k.cs || !(k.cs = malloc(k.ncs * sizeof *k.cs)) ||
	    !(k.new_off = calloc(k.ncs, sizeof *k.new_off))) {
		free(k.cs);
		return vb_err_set(VB_ENOMEM, "out of memory");
	}
	uint64_t before = vb_store_tell(s);
	rc = vb_lindex_open(s, &k.lx);
	if (!rc)
		rc = run(&k, rs, nrs, message);
	if (!rc) {
		st->version = head + 1;
		st->oldest = oldest;
		st->bytes_before = before;
		st->bytes_after = vb_store_tell(k.n);
		st->versions_dropped = oldest - was.oldest;
	}
	if (k.nt)
		vb_root_release(k.nt, &k.r);
	vb_ptree_free(k.nt);
	vb_lindex_free(k.lx);
	if (rc)
		vb_store_rewrite_abandon(k.n);
	else
		vb_store_close(k.n);
	free(k.cs);
	free(k.new_off);
	free(k.c);
	vb_oset_free(&k.seen);
	free(k.ops.v);
	free(k.hk.v);
	return rc;
}
