/*
 * vbuf-diff: the byte ranges in which two committed versions differ
 * (vb_vbuf_diff, see vbuf.h).
 *
 * A store-backed buffer looks both versions' commits up and hands their
 * roots to vb_ptree_diff, which walks the two trees side by side and skips
 * the subtrees they share, so the work follows the changes between the
 * versions, not their size.  The whole call holds the handle's lock: the
 * tree context is not thread-safe, and the hunks are reported under it.
 *
 * The in-memory model keeps every version's bytes, but behind the backend
 * interface, which reads only the content shown; it is refused (VB_EINVAL)
 * rather than answered from what the interface cannot give.
 */
#include "vbuf-int.h"

#include <stdlib.h>

typedef enum vb_err (*hunk_fn)(void *arg, uint64_t a_off, uint64_t a_len, uint64_t b_off,
			       uint64_t b_len);

static enum vb_err do_diff(struct vb_vbuf *b, uint64_t va, uint64_t vb, hunk_fn hunk, void *arg)
{
	uint64_t head = b->ops->head(b->be);
	if (va > head || vb > head)
		return vb_err_set(VB_ENOENT, "version %llu does not exist (the newest is %llu)",
				  (unsigned long long)(va > head ? va : vb),
				  (unsigned long long)head);
	if (!b->ops->diff)
		return vb_err_set(VB_EINVAL, "the in-memory model cannot compare versions");
	if (va == vb)
		return VB_OK;
	return b->ops->diff(b->be, va, vb, hunk, arg);
}

enum vb_err vb_vbuf_diff(struct vb_vbuf *b, uint64_t va, uint64_t vb, hunk_fn hunk, void *arg)
{
	vb_vbuf_lock(b);
	enum vb_err rc = do_diff(b, va, vb, hunk, arg);
	vb_vbuf_unlock(b);
	return rc;
}
