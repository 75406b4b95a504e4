/*
 * vbuf-store: the vbuf backend over a store and its piece tree.
 *
 * The content shown is a root: the commit's tree at open, then the tree as
 * edits leave it (new nodes in memory until commit).  An insert appends its
 * bytes to the session's data record and adds one piece (or extends the
 * previous one when the bytes continue it); a delete only changes the tree.
 */
#include "vbuf-int.h"

#include <stdlib.h>

struct sbe {
	struct vb_store *s;
	struct vb_ptree *t;
	struct vb_root root;
	uint64_t version;
};

static uint64_t s_len(void *be)
{
	return ((struct sbe *)be)->root.bytes;
}

static uint64_t s_pieces(void *be)
{
	return ((struct sbe *)be)->root.pieces;
}

static uint64_t s_version(void *be)
{
	return ((struct sbe *)be)->version;
}

static uint64_t s_head(void *be)
{
	return vb_store_head(((struct sbe *)be)->s)->version;
}

static struct vb_store *s_store(void *be)
{
	return ((struct sbe *)be)->s;
}

/* Walk the pieces covering [off, off+n) and hand each part to `fn`. */
static enum vb_err walk(struct sbe *e, uint64_t off, uint64_t n,
			enum vb_err (*fn)(struct sbe *, const struct vb_piece *, uint64_t skip,
					  uint64_t take, void *arg),
			void *arg)
{
	struct vb_ptree_cur c;
	enum vb_err rc = vb_ptree_seek(e->t, &e->root, off, &c);

	if (rc)
		return rc;
	while (n && !rc) {
		if (c.at_end) {
			rc = vb_err_set(VB_ECORRUPT, "content ends before its recorded length");
			break;
		}
		const struct vb_piece *p = vb_ptree_cur_piece(&c);
		uint64_t skip = off - c.piece_pos, take = p->len - skip;
		if (take > n)
			take = n;
		if ((rc = fn(e, p, skip, take, arg)))
			break;
		off += take;
		n -= take;
		if (n)
			rc = vb_ptree_next(&c);
	}
	vb_ptree_cur_close(&c);
	return rc;
}

static enum vb_err read_part(struct sbe *e, const struct vb_piece *p, uint64_t skip,
			     uint64_t take, void *arg)
{
	unsigned char **dst = arg;
	enum vb_err rc = vb_store_read(e->s, p, skip, *dst, (size_t)take);

	*dst += take;
	return rc;
}

static enum vb_err send_part(struct sbe *e, const struct vb_piece *p, uint64_t skip,
			     uint64_t take, void *arg)
{
	return vb_store_send(e->s, p, skip, take, arg);
}

static enum vb_err s_read(void *be, uint64_t off, void *buf, size_t n)
{
	unsigned char *dst = buf;
	return walk(be, off, n, read_part, &dst);
}

static enum vb_err s_send(void *be, uint64_t off, uint64_t n, struct vb_sink *sink)
{
	return walk(be, off, n, send_part, sink);
}

static enum vb_err s_insert(void *be, uint64_t off, const void *buf, size_t n)
{
	struct sbe *e = be;
	struct vb_piece p;
	enum vb_err rc = vb_store_append(e->s, buf, n, &p);

	if (rc)
		return rc;
	return vb_ptree_insert(e->t, &e->root, off, &p);
}

static enum vb_err s_remove(void *be, uint64_t off, uint64_t n)
{
	struct sbe *e = be;
	return vb_ptree_delete(e->t, &e->root, off, n);
}

static enum vb_err s_revert(void *be, uint64_t version)
{
	struct sbe *e = be;
	struct vb_commit c;
	enum vb_err rc = vb_store_commit_at(e->s, version, &c);

	if (rc)
		return rc;
	vb_root_release(e->t, &e->root);
	e->root = vb_store_root_of(&c);
	return VB_OK;
}

static enum vb_err s_commit(void *be, const struct vb_op *ops, size_t nops, const char *msg,
			    const unsigned char *ext, size_t ext_len, uint64_t *version)
{
	struct sbe *e = be;
	enum vb_err rc = vb_store_commit(e->s, &e->root, ops, nops, msg, ext, ext_len, version);

	if (!rc)
		e->version = *version;
	return rc;
}

static enum vb_err s_info(void *be, uint64_t version, struct vb_commit *out)
{
	return vb_store_commit_at(((struct sbe *)be)->s, version, out);
}

static enum vb_err s_ops(void *be, uint64_t version,
			 enum vb_err (*fn)(void *arg, const struct vb_op *op), void *arg)
{
	struct sbe *e = be;
	struct vb_commit c;
	enum vb_err rc = vb_store_commit_at(e->s, version, &c);

	if (rc)
		return rc;
	return vb_store_ops(e->s, &c, fn, arg);
}

static void s_close(void *be)
{
	struct sbe *e = be;

	if (!e)
		return;
	if (e->t)
		vb_root_release(e->t, &e->root);
	vb_store_close(e->s);
	free(e);
}

static const struct vb_backend_ops store_ops = {
	s_len, s_pieces, s_version, s_head, s_read, s_send, s_insert, s_remove,
	s_revert, s_commit, s_info, s_ops, s_store, s_close,
};

enum vb_err vb_backend_store_open(const char *path, const struct vb_store_opts *o,
				  uint64_t version, const struct vb_backend_ops **ops,
				  void **be)
{
	struct sbe *e = calloc(1, sizeof *e);
	enum vb_err rc;
	struct vb_commit c;

	if (!e)
		return vb_err_set(VB_ENOMEM, "out of memory");
	if ((rc = vb_store_open(path, o, &e->s))) {
		free(e);
		return rc;
	}
	e->t = vb_store_ptree(e->s);
	c = *vb_store_head(e->s);
	if (version != VB_HEAD && (rc = vb_store_commit_at(e->s, version, &c))) {
		s_close(e);
		return rc;
	}
	e->root = vb_store_root_of(&c);
	e->version = c.version;
	*ops = &store_ops;
	*be = e;
	return VB_OK;
}
