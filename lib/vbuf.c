/*
 * vbuf: range checks, the operation log of the pending commit, and
 * streaming inserts, over either backend (vbuf-int.h).
 *
 * The log holds one entry per edit call, in order, each in the coordinates
 * of the content as the previous edits left it (lib/README.md, Decisions
 * 2).  It is handed to the backend at commit and emptied.
 */
#include "vbuf-int.h"
#include "grow.h"
#include "le.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#define INSERT_CHUNK (64u * 1024u)

static enum vb_err wrap(const struct vb_backend_ops *ops, void *be, int read_only,
			struct vb_vbuf **out)
{
	struct vb_vbuf *b = calloc(1, sizeof *b);

	if (!b) {
		ops->close(be);
		return vb_err_set(VB_ENOMEM, "out of memory");
	}
	pthread_mutexattr_t a;
	if (pthread_mutexattr_init(&a) || pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE) ||
	    pthread_mutex_init(&b->mu, &a)) {
		free(b);
		ops->close(be);
		return vb_err_set(VB_ENOMEM, "cannot create a mutex");
	}
	pthread_mutexattr_destroy(&a);
	b->ops = ops;
	b->be = be;
	b->read_only = read_only;
	atomic_init(&b->seq, 0);
	*out = b;
	return VB_OK;
}

void vb_vbuf_opts_init(struct vb_vbuf_opts *o)
{
	memset(o, 0, sizeof *o);
	o->wait = 60;
	vb_vbuf_opts_cache(o, VB_CACHE_DEFAULT);
}

void vb_vbuf_opts_cache(struct vb_vbuf_opts *o, size_t bytes)
{
	o->node_cache = bytes / 2;
	o->block_cache = bytes - bytes / 2;
}

enum vb_err vb_vbuf_open(const char *path, const struct vb_vbuf_opts *o, uint64_t version,
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
	vb_iter_detach_all(b);
	b->ops->close(b->be);
	free(b->log);
	free(b->edits);
	pthread_mutex_destroy(&b->mu);
	free(b);
}

static uint64_t locked_u64(struct vb_vbuf *b, uint64_t (*get)(void *be))
{
	vb_vbuf_lock(b);
	uint64_t r = get(b->be);
	vb_vbuf_unlock(b);
	return r;
}

uint64_t vb_vbuf_len(struct vb_vbuf *b)
{
	return locked_u64(b, b->ops->len);
}

uint64_t vb_vbuf_version(struct vb_vbuf *b)
{
	return locked_u64(b, b->ops->version);
}

uint64_t vb_vbuf_head(struct vb_vbuf *b)
{
	return locked_u64(b, b->ops->head);
}

uint64_t vb_vbuf_pieces(struct vb_vbuf *b)
{
	return locked_u64(b, b->ops->pieces);
}

size_t vb_vbuf_nwarnings(struct vb_vbuf *b)
{
	size_t n = 0;

	vb_vbuf_lock(b);
	while (b->ops->warning && b->ops->warning(b->be, n))
		n++;
	vb_vbuf_unlock(b);
	return n;
}

const char *vb_vbuf_warning(struct vb_vbuf *b, size_t i)
{
	vb_vbuf_lock(b);
	const char *w = b->ops->warning ? b->ops->warning(b->be, i) : NULL;
	vb_vbuf_unlock(b);
	return w ? w : "";
}

enum vb_file_use vb_vbuf_file_use(struct vb_vbuf *b, int fd, const char **name)
{
	struct stat st;
	enum vb_file_use u = VB_USE_NONE;

	*name = "";
	if (fstat(fd, &st) < 0)
		return VB_USE_NONE;
	vb_vbuf_lock(b);
	if (b->ops->file_use)
		u = b->ops->file_use(b->be, (uint64_t)st.st_dev, (uint64_t)st.st_ino, name);
	vb_vbuf_unlock(b);
	return u;
}

static enum vb_err do_set_base(struct vb_vbuf *b, const char *path,
			       void (*progress)(void *arg, uint64_t done, uint64_t total),
			       void *arg, unsigned *checked)
{
	enum vb_err rc;
	unsigned char c;

	*checked = 0;
	if (!b->ops->set_base)
		return vb_err_set(VB_EINVAL, "the buffer has no base file");
	if ((rc = b->ops->set_base(b->be, path, progress, arg, checked)))
		return rc;
	c = (unsigned char)*checked;
	return vb_ext_add(b->ext, &b->ext_len, VB_EXT_SET_BASE, &c, 1);
}

enum vb_err vb_vbuf_set_base(struct vb_vbuf *b, const char *path,
			     void (*progress)(void *arg, uint64_t done, uint64_t total), void *arg,
			     unsigned *checked)
{
	vb_vbuf_lock(b);
	enum vb_err rc = do_set_base(b, path, progress, arg, checked);
	vb_vbuf_unlock(b);
	return rc;
}

int vb_vbuf_rollback(struct vb_vbuf *b, struct vb_rollback *out)
{
	int ok;

	memset(out, 0, sizeof *out);
	out->fd = -1;
	vb_vbuf_lock(b);
	ok = b->ops->rollback ? b->ops->rollback(b->be, out) : 0;
	vb_vbuf_unlock(b);
	return ok;
}

void vb_vbuf_state(struct vb_vbuf *b, struct vb_vbuf_state *out)
{
	vb_vbuf_lock(b);
	b->ops->state(b->be, out);
	vb_vbuf_unlock(b);
}

void vb_vbuf_stats(struct vb_vbuf *b, struct vb_vbuf_stats *out)
{
	vb_vbuf_lock(b);
	b->ops->stats(b->be, out);
	vb_vbuf_unlock(b);
}

void vb_vbuf_lock(struct vb_vbuf *b)
{
	int e = pthread_mutex_lock(&b->mu);

	if (e) {
		/* only a corrupted handle or a lock held across threads' death */
		fprintf(stderr, "vb: internal error: mutex lock failed (%d)\n", e);
		abort();
	}
}

void vb_vbuf_unlock(struct vb_vbuf *b)
{
	pthread_mutex_unlock(&b->mu);
}

static enum vb_err check_range(struct vb_vbuf *b, uint64_t off, uint64_t n)
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
	enum vb_err rc = vb_grow(&b->log, &b->caplog, b->nlog, sizeof *b->log, 16);

	if (rc)
		return rc;
	b->log[b->nlog].kind = (uint8_t)kind;
	b->log[b->nlog].off = off;
	b->log[b->nlog].len = len;
	b->log[b->nlog].len2 = len2;
	b->nlog++;
	return vb_iter_note_edit(b, &b->log[b->nlog - 1]);
}

static enum vb_err do_read(struct vb_vbuf *b, uint64_t off, void *buf, size_t n)
{
	enum vb_err rc = check_range(b, off, n);

	if (rc || !n)
		return rc;
	return b->ops->read(b->be, off, buf, n);
}

static enum vb_err do_read_upto(struct vb_vbuf *b, uint64_t off, void *buf, size_t n,
				size_t *got)
{
	uint64_t len = vb_vbuf_len(b);
	size_t take = off >= len ? 0 : (len - off < n ? (size_t)(len - off) : n);
	enum vb_err rc = take ? b->ops->read(b->be, off, buf, take) : VB_OK;

	*got = rc ? 0 : take;
	return rc;
}

static enum vb_err do_send(struct vb_vbuf *b, uint64_t off, uint64_t n, struct vb_sink *sink)
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
	/* iterators drop their copies; what changed is unknown */
	atomic_fetch_add_explicit(&b->seq, 1, memory_order_release);
	return rc;
}

static enum vb_err do_insert(struct vb_vbuf *b, uint64_t off, const void *buf, size_t n)
{
	enum vb_err rc;

	if ((rc = writable(b)) || (rc = check_range(b, off, 0)))
		return rc;
	if (n && (rc = b->ops->insert(b->be, off, buf, n)))
		return edit_failed(b, rc);
	return log_op(b, VB_OP_INSERT, off, n, 0);
}

static enum vb_err do_delete(struct vb_vbuf *b, uint64_t off, uint64_t n)
{
	enum vb_err rc;

	if ((rc = writable(b)) || (rc = check_range(b, off, n)))
		return rc;
	if (n && (rc = b->ops->remove(b->be, off, n)))
		return edit_failed(b, rc);
	return log_op(b, VB_OP_DELETE, off, n, 0);
}

static enum vb_err do_replace(struct vb_vbuf *b, uint64_t off, uint64_t n, const void *buf,
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

static enum vb_err do_insert_fds(struct vb_vbuf *b, uint64_t off, const int *fds, size_t nfds,
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
			if (b->progress)
				b->progress(b->progress_arg, done, 0);
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

static enum vb_err do_insert_fds_n(struct vb_vbuf *b, uint64_t off, const int *fds, size_t nfds,
				 size_t *cur, uint64_t n)
{
	enum vb_err rc = VB_OK;
	unsigned char *buf;
	uint64_t done = 0;

	if ((rc = writable(b)) || (rc = check_range(b, off, 0)))
		return rc;
	if (!n)
		return log_op(b, VB_OP_INSERT, off, 0, 0);
	buf = malloc(n < INSERT_CHUNK ? (size_t)n : INSERT_CHUNK);
	if (!buf)
		return vb_err_set(VB_ENOMEM, "out of memory");
	while (done < n && !rc) {
		if (*cur >= nfds) {
			rc = vb_err_set(VB_EIO, "the input ended %llu bytes early",
					(unsigned long long)(n - done));
			break;
		}
		size_t want = n - done < INSERT_CHUNK ? (size_t)(n - done) : INSERT_CHUNK;
		ssize_t r = read(fds[*cur], buf, want);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = vb_err_sys("read");
			break;
		}
		if (r == 0) {
			++*cur;
			continue;
		}
		if ((rc = b->ops->insert(b->be, off + done, buf, (size_t)r)))
			break;
		done += (uint64_t)r;
	}
	free(buf);
	if (rc)
		return edit_failed(b, rc);
	return log_op(b, VB_OP_INSERT, off, done, 0);
}

static enum vb_err do_revert(struct vb_vbuf *b, uint64_t version)
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

static enum vb_err do_flatten(struct vb_vbuf *b, const struct vb_flatten_opts *o,
			      struct vb_flatten_stats *st)
{
	struct vb_flatten_stats local;
	enum vb_err rc;

	if (!st)
		st = &local;
	memset(st, 0, sizeof *st);
	if ((rc = writable(b)))
		return rc;
	if ((rc = b->ops->flatten(b->be, o, st)))
		return edit_failed(b, rc);
	return log_op(b, VB_OP_FLATTEN, 0, vb_vbuf_len(b), st->bytes);
}

static enum vb_err do_embed(struct vb_vbuf *b, const struct vb_flatten_opts *o, uint64_t *bytes)
{
	enum vb_err rc;

	*bytes = 0;
	if ((rc = writable(b)))
		return rc;
	if ((rc = b->ops->embed(b->be, o, bytes))) {
		/* nothing was changed when it refused outright */
		if (rc == VB_EINVAL)
			return rc;
		return edit_failed(b, rc);
	}
	return log_op(b, VB_OP_EMBED, 0, *bytes, 0);
}

static enum vb_err do_count_lines(struct vb_vbuf *b, const struct vb_flatten_opts *o,
				  struct vb_count_stats *st)
{
	enum vb_err rc;

	memset(st, 0, sizeof *st);
	if ((rc = writable(b)))
		return rc;
	if (!b->ops->count_lines)
		return vb_err_set(VB_EINVAL, "not a store");
	if ((rc = b->ops->count_lines(b->be, o, st)))
		return edit_failed(b, rc);
	if (!st->indexed && !st->pieces)
		return VB_OK;
	return log_op(b, VB_OP_FLATTEN, 0, vb_vbuf_len(b), 0);
}

void vb_auto_flatten_init(struct vb_auto_flatten *a)
{
	a->pieces = VB_AUTO_FLATTEN_PIECES;
	a->average = VB_AUTO_FLATTEN_AVERAGE;
	a->commits = VB_AUTO_FLATTEN_COMMITS;
	a->small = VB_FLATTEN_SMALL;
}

/* Before a commit with edits: a partial flatten if the thresholds hold. */
static enum vb_err maybe_flatten(struct vb_vbuf *b)
{
	uint64_t pieces = b->ops->pieces(b->be), len = b->ops->len(b->be);
	struct vb_vbuf_state st;

	if (!b->auto_flatten || !b->ops->compact || !b->nlog || !pieces)
		return VB_OK;
	for (size_t i = 0; i < b->nlog; i++)
		if (b->log[i].kind == VB_OP_FLATTEN)
			return VB_OK;
	if (pieces < b->af.pieces || len / pieces >= b->af.average)
		return VB_OK;
	b->ops->state(b->be, &st);
	if (st.since_flatten + 1 < b->af.commits)
		return VB_OK;
	struct vb_flatten_opts o = {1, b->af.small, NULL, NULL};
	return do_flatten(b, &o, NULL);
}

static enum vb_err do_commit(struct vb_vbuf *b, const char *message, uint64_t *version)
{
	enum vb_err rc;

	if ((rc = writable(b)))
		return rc;
	if (message && strlen(message) > VB_MESSAGE_MAX)
		return vb_err_set(VB_EINVAL, "message longer than %u bytes", VB_MESSAGE_MAX);
	if ((rc = maybe_flatten(b)))
		return rc;
	rc = b->ops->commit(b->be, b->log, b->nlog, message ? message : "", b->ext, b->ext_len,
			    version);
	if (rc)
		return edit_failed(b, rc);
	b->nlog = 0;
	b->ext_len = 0;
	return VB_OK;
}

static enum vb_err do_info(struct vb_vbuf *b, uint64_t version, struct vb_commit *out)
{
	return b->ops->info(b->be, version, out);
}

static enum vb_err do_ops(struct vb_vbuf *b, uint64_t version,
			enum vb_err (*fn)(void *arg, const struct vb_op *op), void *arg)
{
	return b->ops->ops(b->be, version, fn, arg);
}

/* ---------------------------------------------------------------- mapping */

uint64_t vb_op_map(const struct vb_op *op, uint64_t pos)
{
	switch (op->kind) {
	case VB_OP_INSERT:
		return op->off <= pos ? pos + op->len : pos;
	case VB_OP_DELETE:
		if (pos < op->off)
			return pos;
		return pos >= op->off + op->len ? pos - op->len : op->off;
	case VB_OP_REPLACE:
		/* a delete of the old bytes, then an insert at off */
		if (pos < op->off)
			return pos;
		return (pos >= op->off + op->len ? pos - op->len : op->off) + op->len2;
	default:
		return pos;
	}
}

uint64_t vb_op_map_end(const struct vb_op *op, uint64_t pos)
{
	switch (op->kind) {
	case VB_OP_INSERT:
		return op->off < pos ? pos + op->len : pos;
	case VB_OP_DELETE:
		if (pos <= op->off)
			return pos;
		return pos > op->off + op->len ? pos - op->len : op->off;
	case VB_OP_REPLACE:
		/* a delete of the old bytes, then an insert at off after the end */
		if (pos <= op->off)
			return pos;
		return pos > op->off + op->len ? pos - op->len + op->len2 : op->off;
	default:
		return pos;
	}
}

struct op_list {
	struct vb_op *ops;
	size_t n, cap;
};

static enum vb_err collect_op(void *arg, const struct vb_op *op)
{
	struct op_list *l = arg;
	enum vb_err rc = vb_grow(&l->ops, &l->cap, l->n, sizeof *l->ops, 16);

	if (rc)
		return rc;
	l->ops[l->n++] = *op;
	return VB_OK;
}

/* The positions as they were at one version that a later revert returns
 * to (NULL data: lost there). */
struct saved {
	uint64_t version;
	uint64_t *data;
	int lost;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The oldest version the history still has (compaction cuts it). */
static uint64_t oldest(struct vb_vbuf *b)
{
	struct vb_vbuf_state st;

	b->ops->state(b->be, &st);
	return st.oldest;
}

/* Where the commits of versions (from, to] are, oldest first: found by
 * walking parent links back from `to`, one read each (a store; the model
 * needs none).  *offs is NULL when the range is empty. */
static enum vb_err commits_between(struct vb_vbuf *b, uint64_t from, uint64_t to,
				   uint64_t **offs)
{
	struct vb_commit c, parent;
	enum vb_err rc;
	uint64_t n = to - from;

	*offs = NULL;
	if (!b->ops->commit_read || !n)
		return VB_OK;
	if (n > SIZE_MAX / sizeof **offs || !(*offs = malloc(n * sizeof **offs)))
		return vb_err_set(VB_ENOMEM, "out of memory");
	if ((rc = b->ops->info(b->be, to, &c)))
		return rc;
	for (uint64_t i = n; i-- > 0;) {
		(*offs)[i] = c.off;
		if (i && (rc = b->ops->parent(b->be, &c, &parent)))
			return rc;
		c = parent;
	}
	return VB_OK;
}

/* Commit `v` (from < v), and its operations to fn when fn is set. */
static enum vb_err commit_of(struct vb_vbuf *b, const uint64_t *offs, uint64_t from, uint64_t v,
			     struct vb_commit *c,
			     enum vb_err (*fn)(void *arg, const struct vb_op *op), void *arg)
{
	enum vb_err rc;

	if (!offs)
		return (rc = vb_vbuf_info(b, v, c)) || !fn ? rc : vb_vbuf_ops(b, v, fn, arg);
	if ((rc = b->ops->commit_read(b->be, offs[v - from - 1], c)))
		return rc;
	return fn ? b->ops->commit_ops(b->be, c, fn, arg) : VB_OK;
}

static enum vb_err do_map(struct vb_vbuf *b, uint64_t from, uint64_t to, uint64_t *pos, size_t n,
			  int ends)
{
	uint64_t (*map)(const struct vb_op *, uint64_t) = ends ? vb_op_map_end : vb_op_map;
	uint64_t head = vb_vbuf_head(b), *targets = NULL;
	size_t ntargets = 0, captargets = 0;
	struct saved *sv = NULL;
	struct op_list l = {NULL, 0, 0};
	enum vb_err rc = VB_OK;
	int lost = 0;
	uint64_t lost_at = 0, lost_to = 0;

	if (from > head || to > head)
		return vb_err_set(VB_ENOENT, "version %llu does not exist (the newest is %llu)",
				  (unsigned long long)(from > head ? from : to),
				  (unsigned long long)head);
	if (from > to)
		return vb_err_set(VB_EINVAL, "cannot map positions back from version %llu to %llu",
				  (unsigned long long)from, (unsigned long long)to);
	if (from < oldest(b))
		return vb_err_set(VB_ENOENT, "version %llu was compacted away (the oldest kept is %llu)",
				  (unsigned long long)from, (unsigned long long)oldest(b));
	if (!n || from == to)
		return VB_OK;
	uint64_t *offs;
	if ((rc = commits_between(b, from, to, &offs))) {
		free(offs);
		return rc;
	}

	/* Pass 1: the versions (at or after `from`) that reverts in
	 * (from, to] return to; the positions will be kept at those. */
	for (uint64_t v = from + 1; v <= to && !rc; v++) {
		struct vb_commit c;
		if ((rc = commit_of(b, offs, from, v, &c, NULL, NULL)))
			break;
		if (c.sum_kind != VB_OP_REVERT && c.sum_kind != VB_OP_MIXED)
			continue;
		l.n = 0;
		if ((rc = commit_of(b, offs, from, v, &c, collect_op, &l)))
			break;
		for (size_t k = 0; k < l.n; k++) {
			if (l.ops[k].kind != VB_OP_REVERT || l.ops[k].len2 < from)
				continue;
			if ((rc = vb_grow(&targets, &captargets, ntargets, sizeof *targets, 8)))
				break;
			targets[ntargets++] = l.ops[k].len2;
		}
	}
	if (!rc && ntargets) {
		qsort(targets, ntargets, sizeof *targets, cmp_u64);
		size_t w = 0;
		for (size_t i = 0; i < ntargets; i++)
			if (!w || targets[w - 1] != targets[i])
				targets[w++] = targets[i];
		ntargets = w;
		sv = calloc(ntargets, sizeof *sv);
		if (!sv)
			rc = vb_err_set(VB_ENOMEM, "out of memory");
		for (size_t i = 0; i < ntargets && !rc; i++) {
			sv[i].version = targets[i];
			if (!(sv[i].data = malloc(n * sizeof *pos)))
				rc = vb_err_set(VB_ENOMEM, "out of memory");
		}
	}

	/* Pass 2: forward through the operations, keeping the positions at
	 * each revert target; a revert takes the positions kept at its target
	 * (or loses them, if the target is older than `from` or lost them). */
	size_t si = 0;
	if (!rc && si < ntargets && sv[si].version == from) {
		memcpy(sv[si].data, pos, n * sizeof *pos);
		si++;
	}
	for (uint64_t v = from + 1; v <= to && !rc; v++) {
		struct vb_commit c;
		l.n = 0;
		if ((rc = commit_of(b, offs, from, v, &c, collect_op, &l)))
			break;
		for (size_t k = 0; k < l.n; k++) {
			const struct vb_op *op = &l.ops[k];
			if (op->kind != VB_OP_REVERT) {
				if (!lost)
					for (size_t i = 0; i < n; i++)
						pos[i] = map(op, pos[i]);
				continue;
			}
			uint64_t t = op->len2;
			size_t j = 0;
			while (j < ntargets && sv[j].version != t)
				j++;
			if (t < from || j == ntargets || sv[j].lost) {
				lost = 1;
				lost_at = v;
				lost_to = t;
			} else {
				lost = 0;
				memcpy(pos, sv[j].data, n * sizeof *pos);
			}
		}
		if (si < ntargets && sv[si].version == v) {
			sv[si].lost = lost;
			if (!lost)
				memcpy(sv[si].data, pos, n * sizeof *pos);
			si++;
		}
	}
	if (!rc && lost)
		rc = vb_err_set(VB_ECONFLICT, "version %llu reverts to version %llu, which does not have the offsets of version %llu: they cannot be carried past that",
				(unsigned long long)lost_at, (unsigned long long)lost_to,
				(unsigned long long)from);
	for (size_t i = 0; sv && i < ntargets; i++)
		free(sv[i].data);
	free(sv);
	free(targets);
	free(l.ops);
	free(offs);
	return rc;
}

/* ---------------------------------------------------------------- anchors */

#define ANCHOR_NAME_MAX 63

int vb_anchor_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (!n || n > ANCHOR_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.'))
			return 0;
	}
	return 1;
}

static enum vb_err bad_name(const char *name)
{
	return vb_err_set(VB_EINVAL, "invalid anchor name '%s' (1 to %d of A-Z a-z 0-9 _ .)", name,
			  ANCHOR_NAME_MAX);
}

static enum vb_err do_set_anchor(struct vb_vbuf *b, const char *name, uint64_t offset)
{
	unsigned char e[8 + ANCHOR_NAME_MAX];
	size_t n = strlen(name);

	if (!vb_anchor_name_ok(name))
		return bad_name(name);
	vb_le_put64(e, offset);
	memcpy(e + 8, name, n);
	return vb_ext_add(b->ext, &b->ext_len, VB_EXT_ANCHOR, e, 8 + n);
}

static enum vb_err do_remove_anchor(struct vb_vbuf *b, const char *name)
{
	if (!vb_anchor_name_ok(name))
		return bad_name(name);
	return vb_ext_add(b->ext, &b->ext_len, VB_EXT_UNANCHOR, name, strlen(name));
}

static enum vb_err do_note_at_version(struct vb_vbuf *b, uint64_t version)
{
	unsigned char e[8];

	vb_le_put64(e, version);
	return vb_ext_add(b->ext, &b->ext_len, VB_EXT_AT_VERSION, e, 8);
}

static enum vb_err do_note_origin(struct vb_vbuf *b, uint32_t identity, int64_t time_ns)
{
	unsigned char e[12];

	for (int i = 0; i < 4; i++)
		e[i] = (unsigned char)(identity >> (8 * i));
	vb_le_put64(e + 4, (uint64_t)time_ns);
	return vb_ext_add(b->ext, &b->ext_len, VB_EXT_ORIGIN, e, time_ns < 0 ? 4 : 12);
}

/* One anchor entry of a commit. */
struct anchor_ent {
	char name[ANCHOR_NAME_MAX + 1];
	int set;            /* 0: removed */
	uint64_t offset;
};

struct ent_list {
	struct anchor_ent e[VB_EXT_MAX / 4];
	size_t n;
};

static enum vb_err collect_anchor(void *arg, unsigned type, const unsigned char *data,
				  size_t len)
{
	struct ent_list *l = arg;
	size_t nl;
	const unsigned char *nm;

	if (type == VB_EXT_ANCHOR && len > 8) {
		nm = data + 8;
		nl = len - 8;
	} else if (type == VB_EXT_UNANCHOR && len > 0) {
		nm = data;
		nl = len;
	} else {
		return VB_OK;
	}
	if (nl > ANCHOR_NAME_MAX || l->n == sizeof l->e / sizeof l->e[0])
		return VB_OK;
	struct anchor_ent *a = &l->e[l->n++];
	memcpy(a->name, nm, nl);
	a->name[nl] = 0;
	a->set = type == VB_EXT_ANCHOR;
	a->offset = a->set ? vb_le_get64(data) : 0;
	return VB_OK;
}

/*
 * Walk the versions from `version` back to 0 and decide each anchor name
 * by its newest entry that still holds at `version`: an entry made at v
 * holds unless a revert between v and `version` went back before v (then
 * an older entry decides).  `only` limits the walk to one name.  fn gets
 * every name set at `version`.
 */
static enum vb_err anchor_walk(struct vb_vbuf *b, uint64_t version, const char *only,
			       enum vb_err (*fn)(void *arg, const char *name, uint64_t offset,
						 uint64_t set_in),
			       void *arg, int *found)
{
	struct ent_list *l = malloc(sizeof *l);
	char (*decided)[ANCHOR_NAME_MAX + 1] = NULL;
	size_t ndecided = 0, capdecided = 0;
	enum vb_err rc = VB_OK;

	*found = 0;
	if (!l)
		return vb_err_set(VB_ENOMEM, "out of memory");
	/* the oldest kept version restates every anchor it had; commits are
	 * walked back by their parent links (one read each) */
	struct vb_commit c;
	rc = vb_vbuf_info(b, version, &c);
	for (uint64_t v = version + 1, low = oldest(b); v-- > low && !rc;) {
		if (v != version) {
			struct vb_commit parent;
			rc = b->ops->parent(b->be, &c, &parent);
			if (rc)
				break;
			c = parent;
		}
		if (!c.ext_len)
			continue;
		l->n = 0;
		if ((rc = vb_commit_ext(&c, collect_anchor, l)))
			break;
		/* the last entry of a commit wins */
		for (size_t i = l->n; i-- > 0 && !rc;) {
			struct anchor_ent *a = &l->e[i];
			if (only && strcmp(a->name, only))
				continue;
			size_t k;
			for (k = 0; k < ndecided; k++)
				if (!strcmp(decided[k], a->name))
					break;
			if (k < ndecided)
				continue;
			uint64_t pos = a->offset;
			rc = vb_vbuf_map(b, v, version, &pos, 1);
			if (rc == VB_ECONFLICT) {
				rc = VB_OK; /* reverted away: an older entry decides */
				continue;
			}
			if (rc)
				break;
			if ((rc = vb_grow(&decided, &capdecided, ndecided, sizeof *decided, 8)))
				break;
			memcpy(decided[ndecided++], a->name, sizeof a->name);
			if (a->set) {
				*found = 1;
				if (fn)
					rc = fn(arg, a->name, pos, v);
			}
			if (only)
				goto done;
		}
	}
done:
	free(decided);
	free(l);
	return rc;
}

struct one_anchor {
	uint64_t offset;
};

static enum vb_err take_one(void *arg, const char *name, uint64_t offset, uint64_t set_in)
{
	(void)name;
	(void)set_in;
	((struct one_anchor *)arg)->offset = offset;
	return VB_OK;
}

static enum vb_err do_anchor(struct vb_vbuf *b, const char *name, uint64_t version,
			   uint64_t *offset)
{
	struct one_anchor one = {0};
	int found;
	enum vb_err rc;

	if (!vb_anchor_name_ok(name))
		return bad_name(name);
	if (version > vb_vbuf_head(b))
		return vb_err_set(VB_ENOENT, "version %llu does not exist (the newest is %llu)",
				  (unsigned long long)version, (unsigned long long)vb_vbuf_head(b));
	if ((rc = anchor_walk(b, version, name, take_one, &one, &found)))
		return rc;
	if (!found)
		return vb_err_set(VB_ENOENT, "no anchor '%s' at version %llu", name,
				  (unsigned long long)version);
	*offset = one.offset;
	return VB_OK;
}

static enum vb_err do_anchors(struct vb_vbuf *b, uint64_t version,
			    enum vb_err (*fn)(void *arg, const char *name, uint64_t offset,
					      uint64_t set_in),
			    void *arg)
{
	int found;

	if (version > vb_vbuf_head(b))
		return vb_err_set(VB_ENOENT, "version %llu does not exist (the newest is %llu)",
				  (unsigned long long)version, (unsigned long long)vb_vbuf_head(b));
	return anchor_walk(b, version, NULL, fn, arg, &found);
}

/* ------------------------------------------------------------- compaction */

struct cut_ext {
	unsigned char e[VB_EXT_MAX];
	size_t len;
};

static enum vb_err restate_anchor(void *arg, const char *name, uint64_t offset, uint64_t set_in)
{
	struct cut_ext *x = arg;
	unsigned char e[8 + ANCHOR_NAME_MAX];
	size_t n = strlen(name);

	(void)set_in;
	vb_le_put64(e, offset);
	memcpy(e + 8, name, n);
	return vb_ext_add(x->e, &x->len, VB_EXT_ANCHOR, e, 8 + n);
}

static enum vb_err do_compact(struct vb_vbuf *b, uint64_t keep, const char *message,
			      void (*progress)(void *arg, uint64_t done, uint64_t total),
			      void *arg, struct vb_compact_stats *st)
{
	struct cut_ext *x;
	enum vb_err rc;
	int found;

	if ((rc = writable(b)))
		return rc;
	if (!b->ops->compact)
		return vb_err_set(VB_EINVAL, "only a store can be compacted");
	if (b->nlog || b->ext_len)
		return vb_err_set(VB_EINVAL, "commit or drop the edits before compacting");
	if (!keep)
		return vb_err_set(VB_EINVAL, "keep at least one version");
	uint64_t head = vb_vbuf_head(b), cut = head + 1 > keep ? head + 1 - keep : 0;
	if (cut < oldest(b))
		cut = oldest(b);
	/* The anchors of the cut, and of every kept version that reverts
	 * to a version before the cut, are restated in its commit: walking
	 * back from later versions cannot reach the entries that made them. */
	struct vb_restate *rs = NULL;
	size_t nrs = 0, caprs = 0;
	struct op_list l = {NULL, 0, 0};
	rc = VB_OK;
	for (uint64_t v = cut; v <= head && !rc; v++) {
		int need = v == cut && cut > 0;
		struct vb_commit c;
		if (!need && !(rc = vb_vbuf_info(b, v, &c)) &&
		    (c.sum_kind == VB_OP_REVERT || c.sum_kind == VB_OP_MIXED)) {
			l.n = 0;
			rc = vb_vbuf_ops(b, v, collect_op, &l);
			for (size_t i = 0; i < l.n && !rc; i++)
				if (l.ops[i].kind == VB_OP_REVERT && l.ops[i].len2 < cut)
					need = 1;
		}
		if (rc || !need)
			continue;
		if ((rc = vb_grow(&rs, &caprs, nrs, sizeof *rs, 4)))
			break;
		if (!(x = calloc(1, sizeof *x))) {
			rc = vb_err_set(VB_ENOMEM, "out of memory");
			break;
		}
		rs[nrs].version = v;
		rs[nrs].ext = x->e;
		rs[nrs++].ext_len = 0;
		rc = anchor_walk(b, v, NULL, restate_anchor, x, &found);
		rs[nrs - 1].ext_len = x->len;
		if (rc == VB_ELIMIT)
			rc = vb_err_set(VB_ELIMIT, "version %llu has too many anchors to restate them where the history is cut (at most %u bytes of them); remove some first",
					(unsigned long long)v, VB_EXT_MAX - VB_EXT_RESERVED);
	}
	if (!rc)
		rc = b->ops->compact(b->be, cut, rs, nrs, message, progress, arg, st);
	for (size_t i = 0; i < nrs; i++)
		free(rs[i].ext); /* the struct cut_ext starts with it */
	free(rs);
	free(l.ops);
	/* either way this handle is done: the file moved, or a failure
	 * left it unsure */
	b->broken = 1;
	return rc;
}

/* ---------------------------------------------------------------- locked entry points */

/* Each public call holds the handle's lock for its whole duration. */
#define LOCKED(b, call)                        \
	do {                                   \
		vb_vbuf_lock(b);               \
		enum vb_err locked_rc_ = (call); \
		vb_vbuf_unlock(b);             \
		return locked_rc_;             \
	} while (0)

enum vb_err vb_vbuf_read(struct vb_vbuf *b, uint64_t off, void *buf, size_t n)
{
	LOCKED(b, do_read(b, off, buf, n));
}

enum vb_err vb_vbuf_send(struct vb_vbuf *b, uint64_t off, uint64_t n, struct vb_sink *sink)
{
	LOCKED(b, do_send(b, off, n, sink));
}

enum vb_err vb_vbuf_insert(struct vb_vbuf *b, uint64_t off, const void *buf, size_t n)
{
	LOCKED(b, do_insert(b, off, buf, n));
}

enum vb_err vb_vbuf_delete(struct vb_vbuf *b, uint64_t off, uint64_t n)
{
	LOCKED(b, do_delete(b, off, n));
}

enum vb_err vb_vbuf_replace(struct vb_vbuf *b, uint64_t off, uint64_t n, const void *buf,
			    size_t len)
{
	LOCKED(b, do_replace(b, off, n, buf, len));
}

enum vb_err vb_vbuf_insert_fds(struct vb_vbuf *b, uint64_t off, const int *fds, size_t nfds,
			       int replace, uint64_t replace_len, uint64_t *inserted,
			       size_t *failed)
{
	LOCKED(b, do_insert_fds(b, off, fds, nfds, replace, replace_len, inserted, failed));
}

enum vb_err vb_vbuf_insert_fds_n(struct vb_vbuf *b, uint64_t off, const int *fds, size_t nfds,
				 size_t *cur, uint64_t n)
{
	LOCKED(b, do_insert_fds_n(b, off, fds, nfds, cur, n));
}

enum vb_err vb_vbuf_revert(struct vb_vbuf *b, uint64_t version)
{
	LOCKED(b, do_revert(b, version));
}

enum vb_err vb_vbuf_flatten(struct vb_vbuf *b, const struct vb_flatten_opts *o,
			    struct vb_flatten_stats *st)
{
	LOCKED(b, do_flatten(b, o, st));
}

enum vb_err vb_vbuf_count_lines(struct vb_vbuf *b, const struct vb_flatten_opts *o,
				struct vb_count_stats *st)
{
	LOCKED(b, do_count_lines(b, o, st));
}

enum vb_err vb_vbuf_embed(struct vb_vbuf *b, const struct vb_flatten_opts *o, uint64_t *bytes)
{
	LOCKED(b, do_embed(b, o, bytes));
}

static enum vb_err do_read_at(struct vb_vbuf *b, uint64_t version, uint64_t off, void *buf,
			     size_t n)
{
	uint64_t head = b->ops->head(b->be);

	if (version > head)
		return vb_err_set(VB_ENOENT, "version %llu does not exist (the newest is %llu)",
				  (unsigned long long)version, (unsigned long long)head);
	if (!n)
		return VB_OK;
	return b->ops->read_at(b->be, version, off, buf, n);
}

enum vb_err vb_vbuf_read_at(struct vb_vbuf *b, uint64_t version, uint64_t off, void *buf,
			    size_t n)
{
	LOCKED(b, do_read_at(b, version, off, buf, n));
}

static enum vb_err do_verify(struct vb_vbuf *b,
			     void (*report)(void *arg, uint64_t off, const char *what),
			     void (*note)(void *arg, const char *what), void *arg,
			     struct vb_verify_stats *st)
{
	if (!b->ops->verify)
		return vb_err_set(VB_EINVAL, "the in-memory model has no store to verify");
	return b->ops->verify(b->be, report, note, arg, b->progress, b->progress_arg, st);
}

enum vb_err vb_vbuf_verify(struct vb_vbuf *b, void (*report)(void *arg, uint64_t off, const char *what),
			   void (*note)(void *arg, const char *what), void *arg,
			   struct vb_verify_stats *st)
{
	LOCKED(b, do_verify(b, report, note, arg, st));
}

enum vb_err vb_vbuf_compact(struct vb_vbuf *b, uint64_t keep, const char *message,
			    void (*progress)(void *arg, uint64_t done, uint64_t total), void *arg,
			    struct vb_compact_stats *st)
{
	LOCKED(b, do_compact(b, keep, message, progress, arg, st));
}

void vb_vbuf_progress(struct vb_vbuf *b, void (*fn)(void *arg, uint64_t done, uint64_t total),
		      void *arg)
{
	vb_vbuf_lock(b);
	b->progress = fn;
	b->progress_arg = arg;
	vb_vbuf_unlock(b);
}

void vb_vbuf_auto_flatten(struct vb_vbuf *b, const struct vb_auto_flatten *a)
{
	vb_vbuf_lock(b);
	b->auto_flatten = a != NULL;
	if (a)
		b->af = *a;
	vb_vbuf_unlock(b);
}

enum vb_err vb_vbuf_commit(struct vb_vbuf *b, const char *message, uint64_t *version)
{
	LOCKED(b, do_commit(b, message, version));
}

enum vb_err vb_vbuf_info(struct vb_vbuf *b, uint64_t version, struct vb_commit *out)
{
	LOCKED(b, do_info(b, version, out));
}

enum vb_err vb_vbuf_ops(struct vb_vbuf *b, uint64_t version,
			enum vb_err (*fn)(void *arg, const struct vb_op *op), void *arg)
{
	LOCKED(b, do_ops(b, version, fn, arg));
}

static enum vb_err do_parent(struct vb_vbuf *b, const struct vb_commit *c, struct vb_commit *out)
{
	if (!c->version || (c->flags & VB_COMMIT_CUT) || c->version <= oldest(b))
		return vb_err_set(VB_ENOENT, "version %llu is the oldest kept: it has no parent",
				  (unsigned long long)c->version);
	return b->ops->parent(b->be, c, out);
}

enum vb_err vb_vbuf_parent(struct vb_vbuf *b, const struct vb_commit *c, struct vb_commit *out)
{
	LOCKED(b, do_parent(b, c, out));
}

enum vb_err vb_vbuf_commit_ops(struct vb_vbuf *b, const struct vb_commit *c,
			       enum vb_err (*fn)(void *arg, const struct vb_op *op), void *arg)
{
	LOCKED(b, b->ops->commit_ops(b->be, c, fn, arg));
}

enum vb_err vb_vbuf_map(struct vb_vbuf *b, uint64_t from, uint64_t to, uint64_t *pos, size_t n)
{
	LOCKED(b, do_map(b, from, to, pos, n, 0));
}

enum vb_err vb_vbuf_set_anchor(struct vb_vbuf *b, const char *name, uint64_t offset)
{
	LOCKED(b, do_set_anchor(b, name, offset));
}

enum vb_err vb_vbuf_remove_anchor(struct vb_vbuf *b, const char *name)
{
	LOCKED(b, do_remove_anchor(b, name));
}

enum vb_err vb_vbuf_note_at_version(struct vb_vbuf *b, uint64_t version)
{
	LOCKED(b, do_note_at_version(b, version));
}

enum vb_err vb_vbuf_note_origin(struct vb_vbuf *b, uint32_t identity, int64_t time_ns)
{
	LOCKED(b, do_note_origin(b, identity, time_ns));
}

enum vb_err vb_vbuf_anchor(struct vb_vbuf *b, const char *name, uint64_t version,
			   uint64_t *offset)
{
	LOCKED(b, do_anchor(b, name, version, offset));
}

enum vb_err vb_vbuf_anchors(struct vb_vbuf *b, uint64_t version,
			    enum vb_err (*fn)(void *arg, const char *name, uint64_t offset,
					      uint64_t set_in),
			    void *arg)
{
	LOCKED(b, do_anchors(b, version, fn, arg));
}

enum vb_err vb_vbuf_read_upto(struct vb_vbuf *b, uint64_t off, void *buf, size_t n, size_t *got)
{
	LOCKED(b, do_read_upto(b, off, buf, n, got));
}

enum vb_err vb_vbuf_map_ends(struct vb_vbuf *b, uint64_t from, uint64_t to, uint64_t *pos,
			     size_t n)
{
	LOCKED(b, do_map(b, from, to, pos, n, 1));
}

int vb_vbuf_probe(int fd)
{
	return vb_store_probe(fd);
}
