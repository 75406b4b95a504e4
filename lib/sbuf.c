/*
 * sbuf: stream buffers (see sbuf.h for the contract).
 *
 * Both backends are a list of chunks, each with the valid bytes
 * [start, end) of data[0, cap).  The linear backend is the degenerate case
 * of one malloc'ed chunk that is compacted (memmove to start = 0) or grown
 * (realloc) when the tail needs room; the segmented backend appends new
 * chunks from the page store and never moves a byte.
 *
 * A chunk carries a reference count: one for being in a buffer's list, one
 * per view that covers part of it.  A chunk leaves the list when the head
 * passes its end (or, for the tail, stays and is rewound to the start when
 * nobody else references it), and its memory goes back to the page store
 * when the last reference is dropped.
 *
 * Searching walks the chunks: memchr/memmem inside each, and for needles
 * longer than one byte a small window copied across each chunk border, so a
 * needle split between two chunks (or several tiny ones) is still found.
 */
#include "sbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FILL_CHUNK (64u * 1024u)
#define NEEDLE_MAX 4096u

struct chunk {
	unsigned refs;
	struct vb_pages *pages;   /* NULL: malloc'ed (linear) */
	unsigned char *data;
	size_t cap, start, end;
	struct chunk *next;
};

struct vb_sbuf {
	int segmented;
	struct vb_pages *pages;
	size_t chunk_size;
	size_t max, len;
	struct chunk *head, *tail;
	int reserved;
};

struct vb_view {
	size_t len;
	int n;
	struct chunk **chunks;    /* n references (segmented), or NULL */
	unsigned char *own;       /* linear: the copied bytes */
	struct iovec iov[];
};

/* ---------------------------------------------------------------- chunks */

static void chunk_unref(struct chunk *c)
{
	if (!c || --c->refs)
		return;
	if (c->pages)
		vb_pages_release(c->pages, c->data, c->cap);
	else
		free(c->data);
	free(c);
}

static enum vb_err chunk_new(struct vb_sbuf *b, size_t cap, struct chunk **out)
{
	struct chunk *c = calloc(1, sizeof *c);
	enum vb_err rc;

	if (!c)
		return vb_err_set(VB_ENOMEM, "out of memory");
	c->refs = 1;
	c->cap = cap;
	if (b->segmented) {
		void *p;
		if ((rc = vb_pages_alloc(b->pages, cap, &p))) {
			free(c);
			return rc;
		}
		c->pages = b->pages;
		c->data = p;
	} else {
		c->data = malloc(cap ? cap : 1);
		if (!c->data) {
			free(c);
			return vb_err_set(VB_ENOMEM, "out of memory");
		}
	}
	*out = c;
	return VB_OK;
}

static void list_push(struct vb_sbuf *b, struct chunk *c)
{
	c->next = NULL;
	if (b->tail)
		b->tail->next = c;
	else
		b->head = c;
	b->tail = c;
}

/* ------------------------------------------------------------ lifecycle */

enum vb_err vb_sbuf_create_linear(size_t max_bytes, struct vb_sbuf **out)
{
	struct vb_sbuf *b = calloc(1, sizeof *b);
	struct chunk *c = NULL;
	enum vb_err rc;

	if (!b)
		return vb_err_set(VB_ENOMEM, "out of memory");
	b->max = max_bytes ? max_bytes : SIZE_MAX;
	if ((rc = chunk_new(b, 4096, &c))) {
		free(b);
		return rc;
	}
	list_push(b, c);
	*out = b;
	return VB_OK;
}

enum vb_err vb_sbuf_create_segmented(struct vb_pages *pages, size_t chunk, size_t max_bytes,
				     struct vb_sbuf **out)
{
	struct vb_sbuf *b;

	if (!pages || !chunk)
		return vb_err_set(VB_EINVAL, "a segmented buffer needs a page store and a chunk size");
	b = calloc(1, sizeof *b);
	if (!b)
		return vb_err_set(VB_ENOMEM, "out of memory");
	b->segmented = 1;
	b->pages = pages;
	b->chunk_size = chunk;
	b->max = max_bytes ? max_bytes : SIZE_MAX;
	*out = b;
	return VB_OK;
}

void vb_sbuf_free(struct vb_sbuf *b)
{
	if (!b)
		return;
	while (b->head) {
		struct chunk *c = b->head;
		b->head = c->next;
		chunk_unref(c);
	}
	free(b);
}

size_t vb_sbuf_len(const struct vb_sbuf *b)
{
	return b->len;
}

size_t vb_sbuf_max(const struct vb_sbuf *b)
{
	return b->max;
}

void vb_sbuf_set_max(struct vb_sbuf *b, size_t max_bytes)
{
	b->max = max_bytes ? max_bytes : SIZE_MAX;
}

/* ---------------------------------------------------------------- reading */

/* The chunk holding offset `off`, and the offset inside its data. */
static const struct chunk *locate(const struct vb_sbuf *b, size_t off, size_t *in)
{
	const struct chunk *c = b->head;

	*in = 0;
	for (; c; c = c->next) {
		size_t n = c->end - c->start;
		if (off < n) {
			*in = c->start + off;
			return c;
		}
		off -= n;
	}
	return NULL;
}

enum vb_err vb_sbuf_peek(const struct vb_sbuf *b, size_t off, void *dst, size_t n)
{
	unsigned char *d = dst;
	size_t in;
	const struct chunk *c;

	if (off > b->len || n > b->len - off)
		return vb_err_set(VB_ENEEDMORE, "need %zu bytes at %zu, have %zu", n, off, b->len);
	if (!n)
		return VB_OK;
	for (c = locate(b, off, &in); n; c = c->next, in = c ? c->start : 0) {
		size_t take = c->end - in < n ? c->end - in : n;
		memcpy(d, c->data + in, take);
		d += take;
		n -= take;
	}
	return VB_OK;
}

unsigned char vb_sbuf_byte(const struct vb_sbuf *b, size_t off)
{
	size_t in;
	const struct chunk *c = locate(b, off, &in);
	return c ? c->data[in] : 0;
}

int vb_sbuf_segments(const struct vb_sbuf *b, size_t off, struct iovec *iov, int max)
{
	size_t in;
	const struct chunk *c;
	int k = 0;

	if (off >= b->len)
		return 0;
	for (c = locate(b, off, &in); c && k < max; c = c->next, in = c ? c->start : 0) {
		if (c->end == in)
			continue;
		iov[k].iov_base = c->data + in;
		iov[k].iov_len = c->end - in;
		k++;
	}
	return k;
}

const unsigned char *vb_sbuf_contig(const struct vb_sbuf *b, size_t off, size_t *n)
{
	size_t in;
	const struct chunk *c;

	*n = 0;
	if (off >= b->len)
		return NULL;
	c = locate(b, off, &in);
	*n = c->end - in;
	return c->data + in;
}

enum vb_err vb_sbuf_find_byte(const struct vb_sbuf *b, size_t from, unsigned char ch,
			      size_t *pos)
{
	size_t in, base = from;
	const struct chunk *c;

	if (from >= b->len)
		return VB_ENEEDMORE;
	for (c = locate(b, from, &in); c; c = c->next, in = c ? c->start : 0) {
		const unsigned char *p = memchr(c->data + in, ch, c->end - in);
		if (p) {
			*pos = base + (size_t)(p - (c->data + in));
			return VB_OK;
		}
		base += c->end - in;
	}
	return VB_ENEEDMORE;
}

enum vb_err vb_sbuf_find(const struct vb_sbuf *b, size_t from, const void *needle, size_t n,
			 size_t *pos)
{
	unsigned char win[2 * NEEDLE_MAX];
	size_t in, base = from;
	const struct chunk *c;

	if (!n) {
		if (from > b->len)
			return VB_ENEEDMORE;
		*pos = from;
		return VB_OK;
	}
	if (n == 1)
		return vb_sbuf_find_byte(b, from, *(const unsigned char *)needle, pos);
	if (n > NEEDLE_MAX)
		return vb_err_set(VB_EINVAL, "needle longer than %u bytes", NEEDLE_MAX);
	if (from >= b->len)
		return VB_ENEEDMORE;
	for (c = locate(b, from, &in); c; c = c->next, in = c ? c->start : 0) {
		size_t seg = c->end - in;
		const unsigned char *p = memmem(c->data + in, seg, needle, n);
		if (p) {
			*pos = base + (size_t)(p - (c->data + in));
			return VB_OK;
		}
		/* a match starting in the last n-1 bytes of this chunk and
		 * running on into the next ones */
		size_t wstart = seg >= n - 1 ? base + seg - (n - 1) : base;
		size_t wlen = b->len - wstart < 2 * (n - 1) ? b->len - wstart : 2 * (n - 1);
		if (c->next && wlen >= n) {
			vb_sbuf_peek(b, wstart, win, wlen);
			p = memmem(win, wlen, needle, n);
			if (p && wstart + (size_t)(p - win) < base + seg) {
				*pos = wstart + (size_t)(p - win);
				return VB_OK;
			}
		}
		base += seg;
	}
	return VB_ENEEDMORE;
}

enum vb_err vb_sbuf_rfind(const struct vb_sbuf *b, size_t end, const void *needle, size_t n,
			  size_t *pos)
{
	const unsigned char *nd = needle;
	unsigned char tmp[NEEDLE_MAX];

	if (end > b->len)
		end = b->len;
	if (n > NEEDLE_MAX)
		return vb_err_set(VB_EINVAL, "needle longer than %u bytes", NEEDLE_MAX);
	if (n > end)
		return VB_ENEEDMORE;
	if (!n) {
		*pos = end;
		return VB_OK;
	}
	/* walk back through the chunks with memrchr on the needle's first
	 * byte, confirming each candidate with a peek */
	for (size_t limit = end - n + 1; limit > 0;) {
		/* the chunk holding limit-1, searched from its start */
		size_t in, chunk_base;
		const struct chunk *c = locate(b, limit - 1, &in);
		chunk_base = limit - 1 - (in - c->start);
		size_t span = limit - chunk_base;
		const unsigned char *s = c->data + c->start;
		while (span) {
			const unsigned char *p = memrchr(s, nd[0], span);
			if (!p)
				break;
			size_t at = chunk_base + (size_t)(p - s);
			vb_sbuf_peek(b, at, tmp, n);
			if (!memcmp(tmp, nd, n)) {
				*pos = at;
				return VB_OK;
			}
			span = (size_t)(p - s);
		}
		limit = chunk_base;
	}
	return VB_ENEEDMORE;
}

/* ---------------------------------------------------------------- writing */

/* Linear: make room for n bytes at the tail of the one chunk. */
static enum vb_err linear_room(struct vb_sbuf *b, size_t n)
{
	struct chunk *c = b->head;
	size_t used = c->end - c->start;

	if (c->cap - c->end >= n)
		return VB_OK;
	if (c->start) {
		memmove(c->data, c->data + c->start, used);
		c->start = 0;
		c->end = used;
		if (c->cap - used >= n)
			return VB_OK;
	}
	/* Grow by doubling, with realloc: a large buffer is an mmap that the
	 * kernel moves (mremap) rather than copying, and the capacity not yet
	 * written to is not resident, so memory follows the bytes held. */
	size_t ncap = c->cap <= SIZE_MAX / 2 ? c->cap * 2 : SIZE_MAX;
	/* never past the maximum: a buffer bounded at M holds at most M */
	if (ncap > b->max)
		ncap = b->max;
	if (ncap < used + n)
		ncap = used + n;
	unsigned char *d = realloc(c->data, ncap);
	if (!d)
		return vb_err_set(VB_ENOMEM, "out of memory for a %zu-byte buffer", ncap);
	c->data = d;
	c->cap = ncap;
	return VB_OK;
}

enum vb_err vb_sbuf_reserve(struct vb_sbuf *b, size_t n, void **p, size_t *avail)
{
	enum vb_err rc;

	if (b->reserved)
		return vb_err_set(VB_ESTATE, "a reservation is already outstanding");
	if (n > b->max - b->len)
		return vb_err_set(VB_EFULL, "buffer would hold %zu bytes; the maximum is %zu",
				  b->len + n, b->max);
	if (!n)
		n = 1;
	if (!b->segmented) {
		if ((rc = linear_room(b, n)))
			return rc;
	} else if (!b->tail || b->tail->cap - b->tail->end < n) {
		struct chunk *c = NULL;
		/* an empty tail nobody else holds is reused from its start */
		if (b->tail && b->tail->start == b->tail->end && b->tail->refs == 1 &&
		    b->tail->cap >= n) {
			b->tail->start = b->tail->end = 0;
		} else {
			size_t cap = n > b->chunk_size ? n : b->chunk_size;
			if ((rc = chunk_new(b, cap, &c)))
				return rc;
			list_push(b, c);
		}
	}
	*p = b->tail->data + b->tail->end;
	*avail = b->tail->cap - b->tail->end;
	b->reserved = 1;
	return VB_OK;
}

enum vb_err vb_sbuf_commit(struct vb_sbuf *b, size_t n)
{
	if (!b->reserved)
		return vb_err_set(VB_ESTATE, "commit without a reservation");
	if (n > b->tail->cap - b->tail->end)
		return vb_err_set(VB_ESTATE, "commit of %zu bytes exceeds the reservation", n);
	if (n > b->max - b->len)
		return vb_err_set(VB_EFULL, "buffer would hold %zu bytes; the maximum is %zu",
				  b->len + n, b->max);
	b->tail->end += n;
	b->len += n;
	b->reserved = 0;
	return VB_OK;
}

void vb_sbuf_cancel(struct vb_sbuf *b)
{
	b->reserved = 0;
}

enum vb_err vb_sbuf_append(struct vb_sbuf *b, const void *p, size_t n)
{
	const unsigned char *s = p;
	enum vb_err rc;

	if (b->reserved)
		return vb_err_set(VB_ESTATE, "append while a reservation is outstanding");
	if (n > b->max - b->len)
		return vb_err_set(VB_EFULL, "buffer would hold %zu bytes; the maximum is %zu",
				  b->len + n, b->max);
	while (n) {
		void *dst = NULL;
		size_t avail = 0;
		if ((rc = vb_sbuf_reserve(b, b->segmented ? 1 : n, &dst, &avail)))
			return rc;
		size_t take = avail < n ? avail : n;
		memcpy(dst, s, take);
		vb_sbuf_commit(b, take);
		s += take;
		n -= take;
	}
	return VB_OK;
}

/* -------------------------------------------------------------- consuming */

enum vb_err vb_sbuf_advance(struct vb_sbuf *b, size_t n)
{
	if (n > b->len)
		return vb_err_set(VB_ENEEDMORE, "cannot advance %zu bytes, have %zu", n, b->len);
	b->len -= n;
	while (n) {
		struct chunk *c = b->head;
		size_t have = c->end - c->start;
		size_t take = have < n ? have : n;
		c->start += take;
		n -= take;
		if (c->start == c->end && c != b->tail) {
			b->head = c->next;
			chunk_unref(c);
		}
	}
	/* an empty buffer starts again at the beginning of its one chunk */
	if (!b->len && !b->reserved && b->head == b->tail && b->head && b->head->refs == 1)
		b->head->start = b->head->end = 0;
	return VB_OK;
}

enum vb_err vb_sbuf_split_to(struct vb_sbuf *b, size_t n, struct vb_view **out)
{
	struct vb_view *v;
	enum vb_err rc;

	if (n > b->len)
		return vb_err_set(VB_ENEEDMORE, "cannot split %zu bytes, have %zu", n, b->len);
	if (!b->segmented) {
		v = calloc(1, sizeof *v + sizeof v->iov[0]);
		if (!v || !(v->own = malloc(n ? n : 1))) {
			free(v);
			return vb_err_set(VB_ENOMEM, "out of memory");
		}
		vb_sbuf_peek(b, 0, v->own, n);
		v->len = n;
		v->n = 1;
		v->iov[0].iov_base = v->own;
		v->iov[0].iov_len = n;
	} else {
		int k = 0;
		size_t left = n;
		for (struct chunk *c = b->head; c && left; c = c->next) {
			size_t have = c->end - c->start;
			if (have)
				k++;
			left -= have < left ? have : left;
		}
		v = calloc(1, sizeof *v + (size_t)k * sizeof v->iov[0]);
		if (!v || !(v->chunks = calloc((size_t)(k ? k : 1), sizeof *v->chunks))) {
			free(v);
			return vb_err_set(VB_ENOMEM, "out of memory");
		}
		left = n;
		k = 0;
		for (struct chunk *c = b->head; c && left; c = c->next) {
			size_t have = c->end - c->start;
			if (!have)
				continue;
			size_t take = have < left ? have : left;
			v->iov[k].iov_base = c->data + c->start;
			v->iov[k].iov_len = take;
			v->chunks[k] = c;
			c->refs++;
			k++;
			left -= take;
		}
		v->n = k;
		v->len = n;
	}
	if ((rc = vb_sbuf_advance(b, n))) {
		vb_view_free(v);
		return rc;
	}
	*out = v;
	return VB_OK;
}

enum vb_err vb_sbuf_coalesce(struct vb_sbuf *b, size_t n, const unsigned char **p)
{
	struct chunk *c;
	enum vb_err rc;

	if (n > b->len)
		return vb_err_set(VB_ENEEDMORE, "cannot coalesce %zu bytes, have %zu", n, b->len);
	while (b->head != b->tail && b->head->start == b->head->end) {
		c = b->head;
		b->head = c->next;
		chunk_unref(c);
	}
	c = b->head;
	if (!n || c->end - c->start >= n) {
		*p = c ? c->data + c->start : NULL;
		return VB_OK;
	}
	if (b->reserved)
		return vb_err_set(VB_ESTATE, "coalesce while a reservation is outstanding");
	/* copy the first n bytes into one new chunk at the head */
	struct chunk *nc;
	if ((rc = chunk_new(b, n, &nc))) {
		if (rc == VB_ELIMIT)
			return vb_err_set(VB_EFRAME, "%zu bytes cannot be made contiguous: the page store's objects are smaller (raise VB_PAGE_SIZE or use VB_PAGE_BACKEND=virtual)",
					  n);
		return rc;
	}
	vb_sbuf_peek(b, 0, nc->data, n);
	nc->end = n;
	vb_sbuf_advance(b, n);
	b->len += n;
	nc->next = b->head;
	b->head = nc;
	if (!b->tail)
		b->tail = nc;
	*p = nc->data;
	return VB_OK;
}

/* ------------------------------------------------------------- fd adapters */

enum vb_err vb_sbuf_reserve_some(struct vb_sbuf *b, size_t want, void **p, size_t *avail)
{
	enum vb_err rc;

	*avail = 0;
	if (want > b->max - b->len)
		want = b->max - b->len;
	if (!want)
		return vb_err_set(VB_EFULL, "buffer is at its maximum of %zu bytes", b->max);
	size_t ask = want < FILL_CHUNK ? want : FILL_CHUNK;
	if (b->segmented && ask > b->chunk_size)
		ask = b->chunk_size; /* whatever room one chunk has */
	if ((rc = vb_sbuf_reserve(b, ask, p, avail)))
		return rc;
	if (*avail > want)
		*avail = want;
	return VB_OK;
}

enum vb_err vb_sbuf_fill_fd(struct vb_sbuf *b, int fd, size_t want, size_t *got)
{
	void *dst = NULL;
	size_t avail = 0;
	enum vb_err rc;
	ssize_t r;

	*got = 0;
	if ((rc = vb_sbuf_reserve_some(b, want, &dst, &avail)))
		return rc;
	do
		r = read(fd, dst, avail);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		vb_sbuf_cancel(b);
		return vb_err_sys("read");
	}
	vb_sbuf_commit(b, (size_t)r);
	*got = (size_t)r;
	return VB_OK;
}

enum vb_err vb_sbuf_drain_fd(struct vb_sbuf *b, int fd, size_t max, size_t *written)
{
	struct iovec iov[64];
	int k = vb_sbuf_segments(b, 0, iov, 64);
	size_t total = 0;
	ssize_t r;

	*written = 0;
	for (int i = 0; i < k; i++) {
		if (total + iov[i].iov_len > max) {
			iov[i].iov_len = max - total;
			k = i + 1;
		}
		total += iov[i].iov_len;
	}
	if (!k || !total)
		return VB_OK;
	do
		r = writev(fd, iov, k);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return vb_err_sys("write error");
	*written = (size_t)r;
	return vb_sbuf_advance(b, (size_t)r);
}

/* ------------------------------------------------------------------ views */

size_t vb_view_len(const struct vb_view *v)
{
	return v->len;
}

const struct iovec *vb_view_iov(const struct vb_view *v, int *n)
{
	*n = v->n;
	return v->iov;
}

enum vb_err vb_view_peek(const struct vb_view *v, size_t off, void *dst, size_t n)
{
	unsigned char *d = dst;

	if (off > v->len || n > v->len - off)
		return vb_err_set(VB_ENEEDMORE, "view holds %zu bytes", v->len);
	for (int i = 0; i < v->n && n; i++) {
		size_t l = v->iov[i].iov_len;
		if (off >= l) {
			off -= l;
			continue;
		}
		size_t take = l - off < n ? l - off : n;
		memcpy(d, (unsigned char *)v->iov[i].iov_base + off, take);
		d += take;
		n -= take;
		off = 0;
	}
	return VB_OK;
}

void vb_view_free(struct vb_view *v)
{
	if (!v)
		return;
	if (v->chunks) {
		for (int i = 0; i < v->n; i++)
			chunk_unref(v->chunks[i]);
		free(v->chunks);
	}
	free(v->own);
	free(v);
}
