/* commit: decoding a commit's notes (see commit.h; the entry layout is in
 * the COMMIT table of lib/store-format.h). */
#include "commit.h"
#include "le.h"

struct notes {
	enum vb_err (*fn)(void *arg, const struct vb_commit_note *n);
	void *arg;
};

static enum vb_err note(void *arg, unsigned type, const unsigned char *d, size_t len)
{
	struct notes *x = arg;
	struct vb_commit_note n = {type, 0, NULL, 0};

	if (type == VB_EXT_AT_VERSION && len == 8) {
		n.value = vb_le_get64(d);
	} else if (type == VB_EXT_ANCHOR && len > 8) {
		n.value = vb_le_get64(d);
		n.name = (const char *)d + 8;
		n.name_len = len - 8;
	} else if (type == VB_EXT_UNANCHOR && len) {
		n.name = (const char *)d;
		n.name_len = len;
	} else if (type == VB_EXT_SET_BASE && len == 1) {
		n.value = d[0];
	} else {
		return VB_OK;
	}
	return x->fn(x->arg, &n);
}

enum vb_err vb_commit_notes(const struct vb_commit *c,
			    enum vb_err (*fn)(void *arg, const struct vb_commit_note *n), void *arg)
{
	struct notes x = {fn, arg};
	return vb_commit_ext(c, note, &x);
}
