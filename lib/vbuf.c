/*
 * vbuf: range checks, the operation log of the pending commit, and
 * streaming inserts, over either backend (vbuf-int.h).
 *
 * The log holds one entry per edit call, in order, each in the coordinates
 * of the content as the previous edits left it (DESIGN 2a.2).  It is handed
 * to the backend at commit and emptied.
 */
#include "vbuf-int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define INSERT_CHUNK (64u * 1024u)

struct vb_vbuf {
	const struct vb_backend_ops *ops;
	void *be;
	struct vb_op *log;
	size_t nlog, caplog;
	int read_only;
	int broken;
};

static enum vb_err wrap(const struct vb_backend_ops *ops, void *be, int read_only,
			struct vb_vbuf **out)
{
	struct vb_vbuf *b = calloc(1, sizeof *b);

	if (!b) {
		ops->close(be);
		return vb_err_set(VB_ENOMEM, "out of memory");
	}
	b->ops = ops;
	b->be = be;
	b->read_only = read_only;
	*out = b;
	return VB_OK;
}

enum vb_err vb_vbuf_open(const char *path, const struct vb_store_opts *o, uint64_t version,
			 struct vb_vbuf **out)
{
	const struct vb_backend_ops *ops;
	void *be;
	enum vb_err rc;

	*out = NULL;
	if ((rc = vb_backend_store_open(path, o, version, &ops, &be)))
		return rc;
	return wrap(ops, be, !o->write || version != VB_HEAD, out);
}

enum vb_err vb_vbuf_open_mem(const void *data, size_t n, struct vb_vbuf **out)
{
	const struct vb_backend_ops *ops;
	void *be;
	enum vb_err rc;

	*out = NULL;
	if ((rc = vb_backend_mem_open(data, n, &ops, &be)))
		return rc;
	return wrap(ops, be, 0, out);
}

void vb_vbuf_close(struct vb_vbuf *b)
{
	if (!b)
		return;
	b->ops->close(b->be);
	free(b->log);
	free(b);
}

uint64_t vb_vbuf_len(const struct vb_vbuf *b)
{
	return b->ops->len(b->be);
}

uint64_t vb_vbuf_version(const struct vb_vbuf *b)
{
	return b->ops->version(b->be);
}

uint64_t vb_vbuf_head(const struct vb_vbuf *b)
{
	return b->ops->head(b->be);
}

uint64_t vb_vbuf_pieces(const struct vb_vbuf *b)
{
	return b->ops->pieces(b->be);
}

struct vb_store *vb_vbuf_store(struct vb_vbuf *b)
{
	return b->ops->store(b->be);
}

size_t vb_vbuf_nwarnings(const struct vb_vbuf *b)
{
	struct vb_store *s = b->ops->store(b->be);
	return s ? vb_store_nwarnings(s) : 0;
}

const char *vb_vbuf_warning(const struct vb_vbuf *b, size_t i)
{
	struct vb_store *s = b->ops->store(b->be);
	return s ? vb_store_warning(s, i) : "";
}

static enum vb_err check_range(const struct vb_vbuf *b, uint64_t off, uint64_t n)
{
	uint64_t len = vb_vbuf_len(b), end;

	if (off > len)
		return vb_err_set(VB_ERANGE, "offset %llu is beyond the end (length %llu)",
				  (unsigned long long)off, (unsigned long long)len);
	if (__builtin_add_overflow(off, n, &end) || end > len)
		return vb_err_set(VB_ERANGE, "range %llu+%llu is beyond the end (length %llu)",
				  (unsigned long long)off, (unsigned long long)n,
				  (unsigned long long)len);
	return VB_OK;
}

static enum vb_err writable(const struct vb_vbuf *b)
{
	if (b->broken)
		return vb_err_set(VB_EINVAL, "buffer unusable after a failed write");
	if (b->read_only)
		return vb_err_set(VB_EINVAL, "buffer is read-only");
	return VB_OK;
}

static enum vb_err log_op(struct vb_vbuf *b, unsigned kind, uint64_t off, uint64_t len,
			  uint64_t len2)
{
	if (b->nlog == b->caplog) {
		size_t nc = b->caplog ? b->caplog * 2 : 16;
		struct vb_op *nl = realloc(b->log, nc * sizeof *nl);
		if (!nl)
			return vb_err_set(VB_ENOMEM, "out of memory");
		b->log = nl;
		b->caplog = nc;
	}
	b->log[b->nlog].kind = (uint8_t)kind;
	b->log[b->nlog].off = off;
	b->log[b->nlog].len = len;
	b->log[b->nlog].len2 = len2;
	b->nlog++;
	return VB_OK;
}

enum vb_err vb_vbuf_read(struct vb_vbuf *b, uint64_t off, void *buf, size_t n)
{
	enum vb_err rc = check_range(b, off, n);

	if (rc || !n)
		return rc;
	return b->ops->read(b->be, off, buf, n);
}

enum vb_err vb_vbuf_send(struct vb_vbuf *b, uint64_t off, uint64_t n, struct vb_sink *sink)
{
	enum vb_err rc = check_range(b, off, n);

	if (rc || !n)
		return rc;
	return b->ops->send(b->be, off, n, sink);
}

/* A failed backend edit may have changed part of the content: refuse
 * further edits so nothing half-done can be committed. */
static enum vb_err edit_failed(struct vb_vbuf *b, enum vb_err rc)
{
	b->broken = 1;
	return rc;
}

enum vb_err vb_vbuf_insert(struct vb_vbuf *b, uint64_t off, const void *buf, size_t n)
{
	enum vb_err rc;

	if ((rc = writable(b)) || (rc = check_range(b, off, 0)))
		return rc;
	if (n && (rc = b->ops->insert(b->be, off, buf, n)))
		return edit_failed(b, rc);
	return log_op(b, VB_OP_INSERT, off, n, 0);
}

enum vb_err vb_vbuf_delete(struct vb_vbuf *b, uint64_t off, uint64_t n)
{
	enum vb_err rc;

	if ((rc = writable(b)) || (rc = check_range(b, off, n)))
		return rc;
	if (n && (rc = b->ops->remove(b->be, off, n)))
		return edit_failed(b, rc);
	return log_op(b, VB_OP_DELETE, off, n, 0);
}

enum vb_err vb_vbuf_replace(struct vb_vbuf *b, uint64_t off, uint64_t n, const void *buf,
			    size_t len)
{
	enum vb_err rc;

	if ((rc = writable(b)) || (rc = check_range(b, off, n)))
		return rc;
	if (n && (rc = b->ops->remove(b->be, off, n)))
		return edit_failed(b, rc);
	if (len && (rc = b->ops->insert(b->be, off, buf, len)))
		return edit_failed(b, rc);
	return log_op(b, VB_OP_REPLACE, off, n, len);
}

enum vb_err vb_vbuf_insert_fds(struct vb_vbuf *b, uint64_t off, const int *fds, size_t nfds,
			       int replace, uint64_t replace_len, uint64_t *inserted,
			       size_t *failed)
{
	enum vb_err rc = VB_OK;
	unsigned char *buf;
	uint64_t done = 0;

	*inserted = 0;
	*failed = nfds;
	if ((rc = writable(b)) || (rc = check_range(b, off, replace ? replace_len : 0)))
		return rc;
	buf = malloc(INSERT_CHUNK);
	if (!buf)
		return vb_err_set(VB_ENOMEM, "out of memory");
	for (size_t i = 0; i < nfds && !rc; i++) {
		for (;;) {
			ssize_t r = read(fds[i], buf, INSERT_CHUNK);
			if (r < 0) {
				if (errno == EINTR)
					continue;
				rc = vb_err_sys("read");
				*failed = i;
				break;
			}
			if (r == 0)
				break;
			if ((rc = b->ops->insert(b->be, off + done, buf, (size_t)r)))
				break;
			done += (uint64_t)r;
		}
	}
	free(buf);
	if (rc)
		return edit_failed(b, rc);
	/* The new bytes went in before the replaced range, which follows them. */
	if (replace && replace_len && (rc = b->ops->remove(b->be, off + done, replace_len)))
		return edit_failed(b, rc);
	*inserted = done;
	if (replace)
		return log_op(b, VB_OP_REPLACE, off, replace_len, done);
	return log_op(b, VB_OP_INSERT, off, done, 0);
}

enum vb_err vb_vbuf_revert(struct vb_vbuf *b, uint64_t version)
{
	enum vb_err rc;

	if ((rc = writable(b)))
		return rc;
	if (version > vb_vbuf_head(b))
		return vb_err_set(VB_ENOENT, "version %llu does not exist (the newest is %llu)",
				  (unsigned long long)version,
				  (unsigned long long)vb_vbuf_head(b));
	if ((rc = b->ops->revert(b->be, version)))
		return edit_failed(b, rc);
	return log_op(b, VB_OP_REVERT, 0, vb_vbuf_len(b), version);
}

enum vb_err vb_vbuf_commit(struct vb_vbuf *b, const char *message, uint64_t *version)
{
	enum vb_err rc;

	if ((rc = writable(b)))
		return rc;
	if (message && strlen(message) > VB_MESSAGE_MAX)
		return vb_err_set(VB_EINVAL, "message longer than %u bytes", VB_MESSAGE_MAX);
	rc = b->ops->commit(b->be, b->log, b->nlog, message ? message : "", version);
	if (rc)
		return edit_failed(b, rc);
	b->nlog = 0;
	return VB_OK;
}

enum vb_err vb_vbuf_info(struct vb_vbuf *b, uint64_t version, struct vb_commit *out)
{
	return b->ops->info(b->be, version, out);
}

enum vb_err vb_vbuf_ops(struct vb_vbuf *b, uint64_t version,
			enum vb_err (*fn)(void *arg, const struct vb_op *op), void *arg)
{
	return b->ops->ops(b->be, version, fn, arg);
}
