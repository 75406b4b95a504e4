/*
 * vbuf-mem: the flat in-memory backend, the reference model of the tests.
 *
 * Every version is a whole copy of its bytes; an edit is memmove.  It is
 * slow and simple on purpose: a test that applies the same operations to
 * this model and to a store must read the same bytes from both.
 */
#include "vbuf-int.h"
#include "grow.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct version {
	unsigned char *data;
	uint64_t len;
	struct vb_commit info;
	struct vb_op *ops;
	size_t nops;
};

struct mbe {
	unsigned char *cur;
	uint64_t len, cap;
	struct version *v;
	size_t nv, capv;
	uint64_t shown;
};

static uint64_t m_len(void *be)
{
	return ((struct mbe *)be)->len;
}

static uint64_t m_pieces(void *be)
{
	return ((struct mbe *)be)->len ? 1 : 0;
}

static uint64_t m_version(void *be)
{
	return ((struct mbe *)be)->shown;
}

static uint64_t m_head(void *be)
{
	return ((struct mbe *)be)->nv - 1;
}

static enum vb_err m_read(void *be, uint64_t off, void *buf, size_t n)
{
	memcpy(buf, ((struct mbe *)be)->cur + off, n);
	return VB_OK;
}

static enum vb_err m_send(void *be, uint64_t off, uint64_t n, struct vb_sink *sink)
{
	return vb_sink_write(sink, ((struct mbe *)be)->cur + off, (size_t)n);
}

static enum vb_err reserve(struct mbe *m, uint64_t need)
{
	if (need <= m->cap)
		return VB_OK;
	uint64_t nc = m->cap ? m->cap : 64;
	while (nc < need)
		nc *= 2;
	unsigned char *p = realloc(m->cur, (size_t)nc);
	if (!p)
		return vb_err_set(VB_ENOMEM, "out of memory");
	m->cur = p;
	m->cap = nc;
	return VB_OK;
}

static enum vb_err m_insert(void *be, uint64_t off, const void *buf, size_t n)
{
	struct mbe *m = be;
	enum vb_err rc = reserve(m, m->len + n);

	if (rc)
		return rc;
	memmove(m->cur + off + n, m->cur + off, (size_t)(m->len - off));
	memcpy(m->cur + off, buf, n);
	m->len += n;
	return VB_OK;
}

static enum vb_err m_remove(void *be, uint64_t off, uint64_t n)
{
	struct mbe *m = be;

	memmove(m->cur + off, m->cur + off + n, (size_t)(m->len - off - n));
	m->len -= n;
	return VB_OK;
}

static enum vb_err m_revert(void *be, uint64_t version)
{
	struct mbe *m = be;
	struct version *v = &m->v[version];
	enum vb_err rc = reserve(m, v->len);

	if (rc)
		return rc;
	if (v->len)
		memcpy(m->cur, v->data, (size_t)v->len);
	m->len = v->len;
	return VB_OK;
}

static enum vb_err push_version(struct mbe *m, const struct vb_op *ops, size_t nops,
				const char *msg, const unsigned char *ext, size_t ext_len)
{
	struct version *v;
	struct timespec ts;

	enum vb_err rc = vb_grow(&m->v, &m->capv, m->nv, sizeof *m->v, 16);

	if (rc)
		return rc;
	v = &m->v[m->nv];
	memset(v, 0, sizeof *v);
	v->data = malloc(m->len ? (size_t)m->len : 1);
	v->ops = malloc((nops ? nops : 1) * sizeof *ops);
	if (!v->data || !v->ops) {
		free(v->data);
		free(v->ops);
		return vb_err_set(VB_ENOMEM, "out of memory");
	}
	if (m->len)
		memcpy(v->data, m->cur, (size_t)m->len);
	if (nops)
		memcpy(v->ops, ops, nops * sizeof *ops);
	v->nops = nops;
	v->len = m->len;
	clock_gettime(CLOCK_REALTIME, &ts);
	v->info.version = m->nv;
	v->info.length = m->len;
	v->info.pieces = m->len ? 1 : 0;
	v->info.time_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	vb_commit_sums(&v->info, ops, nops);
	v->info.msg_len = strlen(msg);
	if (v->info.msg_len > VB_MESSAGE_MAX)
		v->info.msg_len = VB_MESSAGE_MAX;
	memcpy(v->info.message, msg, v->info.msg_len);
	v->info.message[v->info.msg_len] = 0;
	v->info.ext_len = ext_len < VB_EXT_MAX ? ext_len : VB_EXT_MAX;
	if (ext_len)
		memcpy(v->info.ext, ext, v->info.ext_len);
	m->shown = m->nv;
	m->nv++;
	return VB_OK;
}

static enum vb_err m_commit(void *be, const struct vb_op *ops, size_t nops, const char *msg,
			    const unsigned char *ext, size_t ext_len, uint64_t *version)
{
	struct mbe *m = be;
	enum vb_err rc = push_version(m, ops, nops, msg, ext, ext_len);

	if (!rc)
		*version = m->nv - 1;
	return rc;
}

static enum vb_err m_info(void *be, uint64_t version, struct vb_commit *out)
{
	struct mbe *m = be;

	if (version >= m->nv)
		return vb_err_set(VB_ENOENT, "version %llu does not exist",
				  (unsigned long long)version);
	*out = m->v[version].info;
	return VB_OK;
}

static enum vb_err m_ops(void *be, uint64_t version,
			 enum vb_err (*fn)(void *arg, const struct vb_op *op), void *arg)
{
	struct mbe *m = be;
	enum vb_err rc;

	if (version >= m->nv)
		return vb_err_set(VB_ENOENT, "version %llu does not exist",
				  (unsigned long long)version);
	for (size_t i = 0; i < m->v[version].nops; i++)
		if ((rc = fn(arg, &m->v[version].ops[i])))
			return rc;
	return VB_OK;
}

static void m_close(void *be)
{
	struct mbe *m = be;

	if (!m)
		return;
	for (size_t i = 0; i < m->nv; i++) {
		free(m->v[i].data);
		free(m->v[i].ops);
	}
	free(m->v);
	free(m->cur);
	free(m);
}

/* The model has no pieces: a flatten leaves it as it is. */
static enum vb_err m_flatten(void *be, const struct vb_flatten_opts *o,
			     struct vb_flatten_stats *st)
{
	(void)be;
	(void)o;
	st->pieces_before = st->pieces_after = 1;
	return VB_OK;
}

static enum vb_err m_embed(void *be, const struct vb_flatten_opts *o, uint64_t *bytes)
{
	(void)be;
	(void)o;
	*bytes = 0;
	return vb_err_set(VB_EINVAL, "the store has no base file to embed");
}

static enum vb_err m_parent(void *be, const struct vb_commit *c, struct vb_commit *out)
{
	if (!c->version)
		return vb_err_set(VB_ENOENT, "version 0 has no parent");
	return m_info(be, c->version - 1, out);
}

static enum vb_err m_commit_ops(void *be, const struct vb_commit *c,
				enum vb_err (*fn)(void *arg, const struct vb_op *op), void *arg)
{
	return m_ops(be, c->version, fn, arg);
}

static void m_state(void *be, struct vb_vbuf_state *out)
{
	(void)be;
	memset(out, 0, sizeof *out);
}

static void m_stats(void *be, struct vb_vbuf_stats *out)
{
	(void)be;
	memset(out, 0, sizeof *out);
}

/* The model keeps no old contents: only the version shown reads. */
static enum vb_err m_read_at(void *be, uint64_t version, uint64_t off, void *buf, size_t n)
{
	if (version != m_version(be))
		return vb_err_set(VB_EINVAL, "the in-memory model cannot read old versions");
	return m_read(be, off, buf, n);
}

static const struct vb_backend_ops mem_ops = {
	.len = m_len, .pieces = m_pieces, .version = m_version, .head = m_head,
	.read = m_read, .send = m_send, .insert = m_insert, .remove = m_remove,
	.revert = m_revert, .commit = m_commit, .info = m_info, .ops = m_ops,
	.parent = m_parent, .commit_ops = m_commit_ops, .state = m_state,
	.stats = m_stats, .read_at = m_read_at, .close = m_close, .flatten = m_flatten,
	.embed = m_embed,
};

enum vb_err vb_backend_mem_open(const void *data, size_t n, const struct vb_backend_ops **ops,
				void **be)
{
	struct mbe *m = calloc(1, sizeof *m);
	struct vb_op op = {VB_OP_CREATE, 0, n, 0};
	enum vb_err rc;

	if (!m)
		return vb_err_set(VB_ENOMEM, "out of memory");
	if ((rc = reserve(m, n)) || (n && !memcpy(m->cur, data, n)) ||
	    (m->len = n, rc = push_version(m, &op, 1, "", NULL, 0))) {
		m_close(m);
		return rc;
	}
	*ops = &mem_ops;
	*be = m;
	return VB_OK;
}
