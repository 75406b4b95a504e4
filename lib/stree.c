/* stree: the piece tree over a store (see stree.h). */
#include "stree.h"

static enum vb_err read_node(void *ctx, uint64_t off, unsigned char *buf, size_t cap,
			     size_t *len)
{
	return vb_store_node_read(ctx, off, buf, cap, len);
}

static uint64_t tell(void *ctx)
{
	return vb_store_tell(ctx);
}

static enum vb_err write_node(void *ctx, const unsigned char *buf, size_t len)
{
	return vb_store_node_write(ctx, buf, len);
}

enum vb_err vb_stree_create(struct vb_store *s, size_t cache_bytes, struct vb_ptree **out)
{
	struct vb_ptree_io io = {s, read_node, tell, write_node, vb_store_records_start(s),
				 vb_store_base_size(s)};

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
