/* stree: the piece tree over a store (see stree.h). */
#include "stree.h"
#include "store-format.h"

#include <stdlib.h>

static enum vb_err read_node(void *ctx, uint64_t off, unsigned char *buf, size_t cap,
			     size_t *len)
{
	return vb_store_node_read(((struct vb_stree_ctx *)ctx)->s, off, buf, cap, len);
}

static uint64_t tell(void *ctx)
{
	return vb_store_tell(((struct vb_stree_ctx *)ctx)->s);
}

static enum vb_err write_node(void *ctx, const unsigned char *buf, size_t len)
{
	return vb_store_node_write(((struct vb_stree_ctx *)ctx)->s, buf, len);
}

/* A part of a base piece, through the base's line index: two lookups and
 * at most two partial blocks and the two edge bytes read. */
static enum vb_err count_indexed(struct vb_stree_ctx *cx, const struct vb_piece *p, uint64_t skip,
				 uint64_t take, struct vb_lines *out, int *cr_before,
				 int *lf_after)
{
	struct vb_lines c;
	enum vb_err rc = vb_lindex_count(cx->lx, p->start + skip, take, out);

	/* the edge bytes through the index's own store: a compaction's tree
	 * belongs to a rewrite that does not read the base */
	if (!rc && skip && !(rc = vb_lindex_count(cx->lx, p->start + skip - 1, 1, &c)))
		*cr_before = c.cr != 0;
	if (!rc && skip + take < p->len &&
	    !(rc = vb_lindex_count(cx->lx, p->start + skip + take, 1, &c)))
		*lf_after = c.lf != 0;
	if (rc)
		*out = vb_lines_unknown();
	return rc;
}

#define SPAN_SLOTS 512u

struct span {
	uint64_t src, rec, at, n;   /* source bytes [at, at+n) of record rec */
	struct vb_lines l;
};

struct vb_stree_spans {
	struct span e[SPAN_SLOTS];
};

struct vb_stree_spans *vb_stree_spans_new(void)
{
	return calloc(1, sizeof(struct vb_stree_spans));
}

void vb_stree_spans_free(struct vb_stree_spans *sp)
{
	free(sp);
}

static struct span *span_slot(struct vb_stree_spans *sp, const struct vb_piece *p, uint64_t at,
			      uint64_t n)
{
	uint64_t h = (p->src * 0x9e3779b97f4a7c15ULL) ^ (p->rec * 0xbf58476d1ce4e5b9ULL) ^ at ^
		     (n << 40);
	h ^= h >> 29;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 32;
	return &sp->e[h % SPAN_SLOTS];
}

int vb_stree_span_get(struct vb_stree_spans *sp, const struct vb_piece *p, uint64_t o, uint64_t n,
		      struct vb_lines *out)
{
	struct span *e;

	if (!sp || !n)
		return 0;
	e = span_slot(sp, p, p->start + o, n);
	if (!e->l.known || e->src != p->src || e->rec != p->rec || e->at != p->start + o ||
	    e->n != n)
		return 0;
	*out = e->l;
	return 1;
}

void vb_stree_span_put(struct vb_stree_spans *sp, const struct vb_piece *p, uint64_t o,
		       uint64_t n, const struct vb_lines *l)
{
	struct span *e;

	if (!sp || !n || !l->known)
		return;
	e = span_slot(sp, p, p->start + o, n);
	*e = (struct span){p->src, p->rec, p->start + o, n, *l};
}

/* The tree's io.lines: read the piece's bytes (verified) a data block at
 * a time, blocks counted from the piece's start (the whole ones kept in
 * cx->spans and taken from there), one more byte on each side for the
 * edges, and count them. */
#define STEP ((size_t)VB_STORE_BLOCK)

static enum vb_err count_lines(void *arg, const struct vb_piece *p, uint64_t skip, uint64_t take,
			       uint64_t limit, struct vb_lines *out, int *cr_before, int *lf_after)
{
	struct vb_stree_ctx *cx = arg;
	struct vb_store *ctx = cx->s;
	unsigned char *buf;
	enum vb_err rc = VB_OK;
	int first = 1;

	*cr_before = *lf_after = 0;
	*out = vb_lines_unknown();
	if (skip > p->len || take > p->len - skip || !take)
		return vb_err_set(VB_ERANGE, "count beyond the piece");
	if (p->src == VB_SRC_BASE && cx->lx)
		return count_indexed(cx, p, skip, take, out, cr_before, lf_after);
	if (take > limit)
		return VB_OK;
	buf = malloc(take < STEP ? (size_t)take : STEP);
	if (!buf)
		return vb_err_set(VB_ENOMEM, "out of memory");
	if (skip) {
		unsigned char c;
		if ((rc = vb_store_read(ctx, p, skip - 1, &c, 1)))
			goto out;
		*cr_before = c == '\r';
	}
	for (uint64_t k = 0; k < take;) {
		/* up to the next block boundary of the piece */
		uint64_t at = skip + k, room = STEP - at % STEP;
		size_t n = take - k < room ? (size_t)(take - k) : (size_t)room;
		uint64_t whole = p->len - (at - at % STEP) < STEP ? p->len - (at - at % STEP) : STEP;
		struct vb_lines l;
		int span = at % STEP == 0 && n == whole;
		if (!span || !vb_stree_span_get(cx->spans, p, at, n, &l)) {
			if ((rc = vb_store_read(ctx, p, at, buf, n)))
				goto out;
			l = vb_lines_scan(buf, n);
			if (span)
				vb_stree_span_put(cx->spans, p, at, n, &l);
		}
		*out = first ? l : vb_lines_cat(out, &l);
		first = 0;
		k += n;
	}
	if (skip + take < p->len) {
		unsigned char c;
		if ((rc = vb_store_read(ctx, p, skip + take, &c, 1)))
			goto out;
		*lf_after = c == '\n';
	}
out:
	if (rc)
		*out = vb_lines_unknown();
	free(buf);
	return rc;
}

enum vb_err vb_stree_create(struct vb_stree_ctx *cx, size_t cache_bytes, struct vb_ptree **out)
{
	struct vb_store *s = cx->s;
	struct vb_ptree_io io = {
		.ctx = cx,
		.read_node = read_node,
		.tell = tell,
		.write_node = write_node,
		.min_off = vb_store_records_start(s),
		.base_size = vb_store_base_size(s),
		.counts = vb_store_counts_lines(s),
		.lines = count_lines,
	};

	return vb_ptree_create(&io, cache_bytes, out);
}

struct vb_root vb_stree_root(const struct vb_commit *c)
{
	struct vb_store_root r = vb_store_root_of(c);

	return vb_root_disk(r.off, r.bytes, r.pieces);
}

enum vb_err vb_stree_flush(void *arg, struct vb_store_root *out)
{
	struct vb_stree_flush *f = arg;
	enum vb_err rc = vb_ptree_flush(f->t, f->r);

	if (!rc)
		*out = (struct vb_store_root){f->r->off, f->r->bytes, f->r->pieces};
	return rc;
}
