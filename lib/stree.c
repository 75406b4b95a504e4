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

/* The tree's io.lines: read the piece's bytes (verified) in steps of
 * STEP, one more byte on each side for the edges, and count them. */
#define STEP ((size_t)256 << 10)

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
		size_t n = take - k < STEP ? (size_t)(take - k) : STEP;
		if ((rc = vb_store_read(ctx, p, skip + k, buf, n)))
			goto out;
		struct vb_lines l = vb_lines_scan(buf, n);
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
