/*
 * vbuf-iter: iterators over a vbuf that follow its edits (contract in vbuf.h).
 *
 * An iterator keeps its position, the handle's edit count `seq` that the
 * position is expressed after, and a chunk copy [cstart, cstart+clen)
 * taken at that seq.  The fast path of a move compares the handle's seq
 * (atomic, no lock) with its own and serves bytes from the copy.  When they
 * differ it takes the lock, replays the logged edits newer than its seq on
 * its position, drops the copy and takes the current seq.
 *
 * The edit log lives in the handle: struct vb_edit entries, in seq order,
 * live in [edits_head, nedits).  vb_iter_note_edit appends only while
 * iterators exist; every time an iterator catches up or goes away the
 * entries no live iterator still needs (seq <= the lowest iterator seq)
 * are dropped, and the array is compacted once half of it is dead.  The
 * log therefore holds the edits between the oldest iterator and now.
 *
 * If the log cannot grow (out of memory) the live iterators are marked
 * lost: their position can no longer be known, and every later move fails
 * with VB_ENOMEM rather than read from a wrong place.
 */
#include "vbuf-int.h"
#include "grow.h"

#include <stdlib.h>
#include <string.h>

struct vb_iter {
	struct vb_vbuf *b;                /* NULL once the handle closed */
	struct vb_iter *prev_it, *next_it;
	uint64_t seq;
	uint64_t pos;
	unsigned char *chunk;             /* VB_ITER_CHUNK bytes, on first read */
	uint64_t cstart;
	size_t clen;
	int lost;
	enum vb_err err;
};

/* ---------------------------------------------------------------- edit log (locked) */

static void prune(struct vb_vbuf *b)
{
	uint64_t min = UINT64_MAX;

	if (!b->iters) {
		b->edits_head = b->nedits = 0;
		return;
	}
	for (struct vb_iter *it = b->iters; it; it = it->next_it)
		if (it->seq < min)
			min = it->seq;
	while (b->edits_head < b->nedits && b->edits[b->edits_head].seq <= min)
		b->edits_head++;
	if (b->edits_head == b->nedits) {
		b->edits_head = b->nedits = 0;
	} else if (b->edits_head >= 64 && b->edits_head * 2 >= b->nedits) {
		memmove(b->edits, b->edits + b->edits_head,
			(b->nedits - b->edits_head) * sizeof *b->edits);
		b->nedits -= b->edits_head;
		b->edits_head = 0;
	}
}

enum vb_err vb_iter_note_edit(struct vb_vbuf *b, const struct vb_op *op)
{
	uint64_t seq = atomic_load_explicit(&b->seq, memory_order_relaxed) + 1;

	if (b->iters) {
		if (vb_grow(&b->edits, &b->capedits, b->nedits, sizeof *b->edits, 64)) {
			for (struct vb_iter *it = b->iters; it; it = it->next_it)
				it->lost = 1;
			goto bump;
		}
		b->edits[b->nedits].seq = seq;
		b->edits[b->nedits].op = *op;
		b->nedits++;
	}
bump:
	atomic_store_explicit(&b->seq, seq, memory_order_release);
	return VB_OK;
}

static uint64_t replay(const struct vb_op *op, uint64_t pos)
{
	if (op->kind == VB_OP_REVERT)
		return pos < op->len ? pos : op->len; /* len: the length after */
	return vb_op_map(op, pos);
}

/* Bring the position up to the handle's current seq (locked). */
static void catch_up(struct vb_iter *it)
{
	struct vb_vbuf *b = it->b;
	uint64_t now = atomic_load_explicit(&b->seq, memory_order_relaxed);
	size_t lo = b->edits_head, hi = b->nedits;

	if (it->seq == now)
		return;
	while (lo < hi) { /* first entry newer than the iterator */
		size_t mid = lo + (hi - lo) / 2;
		if (b->edits[mid].seq <= it->seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < b->nedits; i++)
		it->pos = replay(&b->edits[i].op, it->pos);
	it->seq = now;
	it->clen = 0;
	prune(b);
}

void vb_iter_detach_all(struct vb_vbuf *b)
{
	for (struct vb_iter *it = b->iters, *nx; it; it = nx) {
		nx = it->next_it;
		it->b = NULL;
		it->clen = 0;
		it->prev_it = it->next_it = NULL;
	}
	b->iters = NULL;
	prune(b);
}

size_t vb_vbuf_edit_log_len(struct vb_vbuf *b)
{
	vb_vbuf_lock(b);
	size_t n = b->nedits - b->edits_head;
	vb_vbuf_unlock(b);
	return n;
}

/* ---------------------------------------------------------------- life */

static enum vb_err beyond(uint64_t off, uint64_t len)
{
	return vb_err_set(VB_ERANGE, "offset %llu is beyond the end (length %llu)",
			  (unsigned long long)off, (unsigned long long)len);
}

/* Link a new iterator at `pos` of the content now (locked). */
static enum vb_err attach(struct vb_vbuf *b, uint64_t pos, struct vb_iter **out)
{
	struct vb_iter *it = calloc(1, sizeof *it);

	if (!it)
		return vb_err_set(VB_ENOMEM, "out of memory");
	it->b = b;
	it->pos = pos;
	it->seq = atomic_load_explicit(&b->seq, memory_order_relaxed);
	it->next_it = b->iters;
	if (b->iters)
		b->iters->prev_it = it;
	b->iters = it;
	*out = it;
	return VB_OK;
}

enum vb_err vb_iter_create(struct vb_vbuf *b, uint64_t off, struct vb_iter **out)
{
	enum vb_err rc;

	*out = NULL;
	vb_vbuf_lock(b);
	uint64_t len = vb_vbuf_len(b);
	rc = off > len ? beyond(off, len) : attach(b, off, out);
	vb_vbuf_unlock(b);
	return rc;
}

enum vb_err vb_iter_create_at(struct vb_vbuf *b, uint64_t version, uint64_t off,
			      struct vb_iter **out)
{
	struct vb_commit c;
	uint64_t shown, pos = off;
	enum vb_err rc;

	*out = NULL;
	vb_vbuf_lock(b);
	shown = vb_vbuf_version(b);
	if (version > shown) {
		rc = version > vb_vbuf_head(b)
			     ? vb_err_set(VB_ENOENT, "version %llu does not exist (the newest is %llu)",
					  (unsigned long long)version,
					  (unsigned long long)vb_vbuf_head(b))
			     : vb_err_set(VB_EINVAL, "version %llu is newer than the version shown (%llu)",
					  (unsigned long long)version, (unsigned long long)shown);
		goto out;
	}
	if ((rc = vb_vbuf_info(b, version, &c)))
		goto out;
	if (off > c.length) {
		rc = vb_err_set(VB_ERANGE, "offset %llu is beyond the end of version %llu (length %llu)",
				(unsigned long long)off, (unsigned long long)version,
				(unsigned long long)c.length);
		goto out;
	}
	if ((rc = vb_vbuf_map(b, version, shown, &pos, 1)))
		goto out;
	for (size_t i = 0; i < b->nlog; i++) /* the edits not committed yet */
		pos = replay(&b->log[i], pos);
	rc = attach(b, pos, out);
out:
	vb_vbuf_unlock(b);
	return rc;
}

void vb_iter_free(struct vb_iter *it)
{
	struct vb_vbuf *b;

	if (!it)
		return;
	if ((b = it->b)) {
		vb_vbuf_lock(b);
		if (it->prev_it)
			it->prev_it->next_it = it->next_it;
		else
			b->iters = it->next_it;
		if (it->next_it)
			it->next_it->prev_it = it->prev_it;
		prune(b);
		vb_vbuf_unlock(b);
	}
	free(it->chunk);
	free(it);
}

/* ---------------------------------------------------------------- moves */

static int current(const struct vb_iter *it)
{
	return atomic_load_explicit(&it->b->seq, memory_order_acquire) == it->seq;
}

/* Lock and catch up; VB_OK with the lock held, else the error (unlocked). */
static enum vb_err enter(struct vb_iter *it)
{
	if (!it->b)
		return it->err = vb_err_set(VB_EINVAL, "iterator used after its buffer was closed");
	vb_vbuf_lock(it->b);
	if (it->lost) {
		vb_vbuf_unlock(it->b);
		return it->err = vb_err_set(VB_ENOMEM,
					    "iterator lost track of the edits (out of memory)");
	}
	catch_up(it);
	return VB_OK;
}

/* Copy [start, start+n) into the chunk (locked). */
static enum vb_err fill(struct vb_iter *it, uint64_t start, size_t n)
{
	enum vb_err rc;

	if (!it->chunk && !(it->chunk = malloc(VB_ITER_CHUNK)))
		return it->err = vb_err_set(VB_ENOMEM, "out of memory");
	it->clen = 0;
	if ((rc = vb_vbuf_read(it->b, start, it->chunk, n)))
		return it->err = rc;
	it->cstart = start;
	it->clen = n;
	return VB_OK;
}

/* The chunk forward from the position (locked); *n = 0 at the end. */
static enum vb_err fill_forward(struct vb_iter *it, size_t *n)
{
	uint64_t len = vb_vbuf_len(it->b), left;

	if (it->pos > len) /* only a revert in a lost log could do this */
		it->pos = len;
	left = len - it->pos;
	*n = left < VB_ITER_CHUNK ? (size_t)left : VB_ITER_CHUNK;
	return *n ? fill(it, it->pos, *n) : VB_OK;
}

/* The chunk backward from the position (locked); *n = 0 at the start. */
static enum vb_err fill_backward(struct vb_iter *it, size_t *n)
{
	uint64_t len = vb_vbuf_len(it->b);

	if (it->pos > len)
		it->pos = len;
	*n = it->pos < VB_ITER_CHUNK ? (size_t)it->pos : VB_ITER_CHUNK;
	return *n ? fill(it, it->pos - *n, *n) : VB_OK;
}

/* The moves' slow paths: kept out of line so that the fast paths (a byte
 * from the copy) need no stack frame. */
static __attribute__((noinline)) int next_slow(struct vb_iter *it)
{
	size_t n;
	int c;

	if (enter(it))
		return VB_ITER_ERROR;
	if (fill_forward(it, &n))
		c = VB_ITER_ERROR;
	else if (!n)
		c = VB_ITER_END;
	else
		c = it->chunk[it->pos++ - it->cstart];
	vb_vbuf_unlock(it->b);
	return c;
}

static __attribute__((noinline)) int prev_slow(struct vb_iter *it)
{
	size_t n;
	int c;

	if (enter(it))
		return VB_ITER_ERROR;
	if (fill_backward(it, &n))
		c = VB_ITER_ERROR;
	else if (!n)
		c = VB_ITER_END;
	else
		c = it->chunk[--it->pos - it->cstart];
	vb_vbuf_unlock(it->b);
	return c;
}

int vb_iter_next(struct vb_iter *it)
{
	if (it->pos - it->cstart < it->clen && current(it))
		return it->chunk[it->pos++ - it->cstart];
	return next_slow(it);
}

int vb_iter_prev(struct vb_iter *it)
{
	if (it->pos > it->cstart && it->pos - it->cstart <= it->clen && current(it))
		return it->chunk[--it->pos - it->cstart];
	return prev_slow(it);
}

enum vb_err vb_iter_next_chunk(struct vb_iter *it, const unsigned char **data, size_t *n)
{
	enum vb_err rc;

	*data = NULL;
	*n = 0;
	if (!(it->pos - it->cstart < it->clen && current(it))) {
		if ((rc = enter(it)))
			return rc;
		rc = fill_forward(it, n);
		vb_vbuf_unlock(it->b);
		if (rc || !*n)
			return rc;
	}
	*data = it->chunk + (it->pos - it->cstart);
	*n = it->clen - (size_t)(it->pos - it->cstart);
	it->pos += *n;
	return VB_OK;
}

enum vb_err vb_iter_prev_chunk(struct vb_iter *it, const unsigned char **data, size_t *n)
{
	enum vb_err rc;

	*data = NULL;
	*n = 0;
	if (!(it->pos > it->cstart && it->pos - it->cstart <= it->clen && current(it))) {
		if ((rc = enter(it)))
			return rc;
		rc = fill_backward(it, n);
		vb_vbuf_unlock(it->b);
		if (rc || !*n)
			return rc;
	}
	*data = it->chunk;
	*n = (size_t)(it->pos - it->cstart);
	it->pos = it->cstart;
	return VB_OK;
}

uint64_t vb_iter_pos(struct vb_iter *it)
{
	if (it->b && !it->lost && !current(it)) {
		vb_vbuf_lock(it->b);
		catch_up(it);
		vb_vbuf_unlock(it->b);
	}
	return it->pos;
}

enum vb_err vb_iter_seek(struct vb_iter *it, uint64_t off)
{
	struct vb_vbuf *b = it->b;
	enum vb_err rc = VB_OK;

	if (!b)
		return it->err = vb_err_set(VB_EINVAL, "iterator used after its buffer was closed");
	vb_vbuf_lock(b);
	if (it->lost) { /* an offset of the content now needs no history */
		it->lost = 0;
		it->seq = atomic_load_explicit(&b->seq, memory_order_relaxed);
		it->clen = 0;
		prune(b);
	}
	catch_up(it);
	uint64_t len = vb_vbuf_len(b);
	if (off > len)
		rc = it->err = beyond(off, len);
	else
		it->pos = off;
	vb_vbuf_unlock(b);
	return rc;
}

enum vb_err vb_iter_error(const struct vb_iter *it)
{
	return it->err;
}
