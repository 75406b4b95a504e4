/*
 * pages: the pinned page store (see pages.h for the contract).
 *
 * BOOKKEEPING
 *   Every page has a count of live bytes.  An allocation bumps an offset
 *   inside the current page (segmented) or inside the reserved range
 *   (virtual) and adds its size to the pages it covers; a release subtracts
 *   it again.  Memory is never reused inside a page while the page still
 *   holds live objects: a page is reused only once it is empty, which is
 *   what stream buffers (allocate at the tail, free at the head) need, and
 *   is what lets addresses stay fixed without a general-purpose allocator.
 *
 *   A page that becomes empty and is not the current page goes to the tail
 *   of the empty list with the time it emptied.  A new page is taken from
 *   the tail of that list (the most recently used, still warm) before the
 *   system is asked; vb_pages_tick() gives back pages from the head (the
 *   oldest) whose decay time has passed.
 *
 * SEGMENTED
 *   Pages come from aligned_alloc(page_size, page_size), so the page of an
 *   object is its address rounded down; the page's header sits in its first
 *   64 bytes.  An object that does not fit in the rest of the current page
 *   goes to a fresh page (skip-and-pad).
 *
 * VIRTUAL
 *   One mmap(PROT_NONE) range; a page is committed with mprotect(READ|WRITE)
 *   when first needed and decommitted with madvise(DONTNEED) + mprotect(NONE)
 *   after decay.  Page headers live in a separate array.  Objects may span
 *   pages.  Whenever an object needs a page beyond the current one and the
 *   pages at the start of the range are empty, the offset goes back to 0:
 *   a stream buffer (allocate at the tail, free at the head) then cycles
 *   through a window of pages no larger than its live data plus the kept
 *   ones, instead of walking through the whole range.
 */
#include "pages.h"
#include "num.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define ALIGN 16u
#define SEG_HEADER 64u
#define NONE SIZE_MAX

/* One page's bookkeeping.  Segmented: inside the page.  Virtual: in p->vp. */
struct page {
	uint64_t live;            /* bytes of live objects */
	uint64_t empty_since;     /* ns, while on the empty list */
	size_t used;              /* segmented: bump offset in the page */
	int committed;            /* virtual: has memory */
	int on_empty;             /* on the empty list */
	struct page *prev, *next; /* empty list */
	struct page *all_prev, *all_next; /* segmented: every page */
};

struct vb_pages {
	struct vb_pages_opts o;
	size_t ps;
	/* segmented */
	struct page *cur;         /* page being filled */
	struct page *ahead;       /* prefetched page */
	/* virtual */
	unsigned char *base;
	size_t npages;
	struct page *vp;          /* npages headers */
	size_t top;               /* bump offset in the range */
	/* both */
	struct page *empty_head, *empty_tail;
	struct page *all;         /* segmented: every page held */
	struct vb_pages_stats st;
};

static uint64_t mono_ns(void *arg)
{
	struct timespec ts;
	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t now(const struct vb_pages *p)
{
	return p->o.clock ? p->o.clock(p->o.clock_arg) : mono_ns(NULL);
}

void vb_pages_opts_init(struct vb_pages_opts *o)
{
	memset(o, 0, sizeof *o);
	o->backend = VB_PAGES_SEGMENTED;
	o->page_size = 64u * 1024u;
	o->threshold = 80;
	o->decay_ns = 5000000000ull;
	o->reserve = (size_t)1 << 30;
}

enum vb_err vb_pages_opts_from_env(struct vb_pages_opts *o)
{
	const char *s;
	unsigned long long v;

	long sys = sysconf(_SC_PAGESIZE);

	if ((s = getenv("VB_PAGE_BACKEND")) && *s) {
		if (!strcmp(s, "segmented"))
			o->backend = VB_PAGES_SEGMENTED;
		else if (!strcmp(s, "virtual"))
			o->backend = VB_PAGES_VIRTUAL;
		else
			return vb_err_set(VB_EINVAL, "VB_PAGE_BACKEND must be 'segmented' or 'virtual', not '%s'", s);
	}
	if ((s = getenv("VB_PAGE_SIZE")) && *s) {
		uint64_t n;
		/* sizes follow the one offset grammar (lib/num.h) */
		if (vb_parse_size(s, "size", &n) || n < (uint64_t)sys || n % (uint64_t)sys ||
		    n > ((uint64_t)1 << 30))
			return vb_err_set(VB_EINVAL, "VB_PAGE_SIZE must be a multiple of %ld up to 1G, not '%s'",
					  sys, s);
		o->page_size = (size_t)n;
	}
	if ((s = getenv("VB_PAGE_THRESHOLD")) && *s) {
		char *end;
		errno = 0;
		v = strtoull(s, &end, 10);
		if (errno || end == s || *end || *s == '-' || *s == '+' || v < 1 || v > 100)
			return vb_err_set(VB_EINVAL, "VB_PAGE_THRESHOLD must be a percentage from 1 to 100, not '%s'", s);
		o->threshold = (unsigned)v;
	}
	if ((s = getenv("VB_PAGE_DECAY")) && *s) {
		char *end;
		errno = 0;
		double d = strtod(s, &end);
		if (errno || end == s || *end || d < 0 || d > 1e6)
			return vb_err_set(VB_EINVAL, "VB_PAGE_DECAY must be seconds (0 or more), not '%s'", s);
		o->decay_ns = (uint64_t)(d * 1e9);
	}
	if ((s = getenv("VB_PAGE_RESERVE")) && *s) {
		uint64_t n;
		if (vb_parse_size(s, "size", &n) || n < o->page_size || n > ((uint64_t)1 << 46))
			return vb_err_set(VB_EINVAL, "VB_PAGE_RESERVE must be a size of at least one page, not '%s'", s);
		o->reserve = (size_t)n;
	}
	return VB_OK;
}

/* ---------------------------------------------------------- empty list */

static void empty_push(struct vb_pages *p, struct page *g)
{
	g->empty_since = now(p);
	g->on_empty = 1;
	g->next = NULL;
	g->prev = p->empty_tail;
	if (p->empty_tail)
		p->empty_tail->next = g;
	else
		p->empty_head = g;
	p->empty_tail = g;
	p->st.pages_empty++;
}

static void empty_remove(struct vb_pages *p, struct page *g)
{
	if (g->prev)
		g->prev->next = g->next;
	else
		p->empty_head = g->next;
	if (g->next)
		g->next->prev = g->prev;
	else
		p->empty_tail = g->prev;
	g->prev = g->next = NULL;
	g->on_empty = 0;
	p->st.pages_empty--;
}

/* ------------------------------------------------------------ virtual */

static size_t vidx(const struct vb_pages *p, const struct page *g)
{
	return (size_t)(g - p->vp);
}

static int v_commit(struct vb_pages *p, size_t i)
{
	if (p->vp[i].committed)
		return 0;
	if (mprotect(p->base + i * p->ps, p->ps, PROT_READ | PROT_WRITE) < 0)
		return -1;
	p->vp[i].committed = 1;
	p->st.pages_live++;
	p->st.bytes_committed += p->ps;
	return 0;
}

/* Commit pages [first, last] with one mprotect per run of uncommitted
 * ones (an object of a 64 KiB block spans 16 pages: one call, not 16). */
static int v_commit_run(struct vb_pages *p, size_t first, size_t last)
{
	for (size_t i = first; i <= last;) {
		if (p->vp[i].committed) {
			i++;
			continue;
		}
		size_t j = i;
		while (j + 1 <= last && !p->vp[j + 1].committed)
			j++;
		if (mprotect(p->base + i * p->ps, (j - i + 1) * p->ps, PROT_READ | PROT_WRITE) < 0)
			return -1;
		for (size_t k = i; k <= j; k++) {
			p->vp[k].committed = 1;
			p->st.pages_live++;
			p->st.bytes_committed += p->ps;
		}
		i = j + 1;
	}
	return 0;
}

static void v_decommit(struct vb_pages *p, size_t i)
{
	if (!p->vp[i].committed)
		return;
	madvise(p->base + i * p->ps, p->ps, MADV_DONTNEED);
	mprotect(p->base + i * p->ps, p->ps, PROT_NONE);
	p->vp[i].committed = 0;
	p->st.pages_live--;
	p->st.bytes_committed -= p->ps;
	p->st.released++;
}

/* Page index of the bump offset (the page being filled). */
static size_t v_cur(const struct vb_pages *p)
{
	return p->top / p->ps < p->npages ? p->top / p->ps : p->npages - 1;
}

/* The bump offset left pages [from, to): empty ones go to the empty list. */
static void v_left(struct vb_pages *p, size_t from, size_t to)
{
	for (size_t i = from; i < to && i < p->npages; i++)
		if (p->vp[i].committed && !p->vp[i].live && !p->vp[i].on_empty)
			empty_push(p, &p->vp[i]);
}

/* Are pages [first, first+count) all free of live objects (and inside the
 * range)?  The current page counts as busy unless `cur_ok`. */
static int v_free_run(const struct vb_pages *p, size_t first, size_t count, size_t cur, int cur_ok)
{
	if (first + count > p->npages)
		return 0;
	for (size_t i = first; i < first + count; i++)
		if (p->vp[i].live || (i == cur && !cur_ok))
			return 0;
	return 1;
}

static enum vb_err v_alloc(struct vb_pages *p, size_t n, void **ptr)
{
	size_t size = p->npages * p->ps, at = p->top, cur = v_cur(p);
	size_t need = (n - 1) / p->ps + 1;

	if (n > size)
		return vb_err_set(VB_ELIMIT, "object of %zu bytes larger than the reserved range", n);
	if (at + n > (cur + 1) * p->ps || at == cur * p->ps || at + n > size) {
		/* The object needs pages beyond the bump offset's.  Placement,
		 * in order: the start of the range if its pages are empty again
		 * (a stream buffer frees from the front, so its memory stays a
		 * small moving window); right after the bump offset if the
		 * pages there are free; else the first free run of pages. */
		size_t pos = SIZE_MAX;
		if (need <= cur && v_free_run(p, 0, need, cur, 0))
			pos = 0;
		else if (at + n <= size && v_free_run(p, cur + 1, (at + n - 1) / p->ps - cur, cur, 0) &&
			 (at > cur * p->ps || !p->vp[cur].live))
			pos = at;
		else
			for (size_t i = 0; i + need <= p->npages; i++)
				if (v_free_run(p, i, need, cur, 0)) {
					pos = i * p->ps;
					break;
				}
		if (pos == SIZE_MAX)
			return vb_err_set(VB_ELIMIT, "reserved address range full (raise VB_PAGE_RESERVE)");
		if (pos != at)
			v_left(p, cur, cur + 1);
		at = pos;
	}
	size_t first = at / p->ps, last = (at + n - 1) / p->ps;
	for (size_t i = first; i <= last; i++)
		if (p->vp[i].on_empty)
			empty_remove(p, &p->vp[i]);
	if (v_commit_run(p, first, last) < 0)
		return vb_err_sys("cannot commit memory");
	for (size_t i = first; i <= last; i++) {
		size_t lo = i == first ? at : i * p->ps;
		size_t hi = i == last ? at + n : (i + 1) * p->ps;
		p->vp[i].live += hi - lo;
	}
	p->top = (at + n + ALIGN - 1) / ALIGN * ALIGN;
	*ptr = p->base + at;
	/* prefetch the next page once this one passes the threshold */
	size_t c = v_cur(p), within = p->top - c * p->ps;
	if (within * 100 >= (size_t)p->o.threshold * p->ps && c + 1 < p->npages &&
	    !p->vp[c + 1].committed && !p->vp[c + 1].live) {
		if (v_commit(p, c + 1) == 0)
			p->st.prefetches++;
	}
	return VB_OK;
}

static void v_release(struct vb_pages *p, void *ptr, size_t n)
{
	size_t at = (size_t)((unsigned char *)ptr - p->base);
	size_t first = at / p->ps, last = (at + n - 1) / p->ps, cur = v_cur(p);

	for (size_t i = first; i <= last; i++) {
		size_t lo = i == first ? at : i * p->ps;
		size_t hi = i == last ? at + n : (i + 1) * p->ps;
		p->vp[i].live -= hi - lo;
		if (!p->vp[i].live && i != cur && !p->vp[i].on_empty)
			empty_push(p, &p->vp[i]);
	}
	if (!p->vp[cur].live && cur * p->ps <= p->top && p->top - cur * p->ps > 0 &&
	    !p->vp[cur].on_empty) {
		/* everything in the current page is free: fill it again from
		 * its start */
		if (p->top < p->npages * p->ps)
			p->top = cur * p->ps;
	}
}

/* ---------------------------------------------------------- segmented */

static struct page *s_page_of(const struct vb_pages *p, const void *ptr)
{
	return (struct page *)((uintptr_t)ptr & ~(uintptr_t)(p->ps - 1));
}

static struct page *s_new_page(struct vb_pages *p)
{
	struct page *g;

	struct page *ap, *an;

	if (p->empty_tail) {
		g = p->empty_tail;
		empty_remove(p, g);
		ap = g->all_prev;
		an = g->all_next;
	} else {
		g = aligned_alloc(p->ps, p->ps);
		if (!g)
			return NULL;
		p->st.pages_live++;
		p->st.bytes_committed += p->ps;
		ap = NULL;
		an = p->all;
		if (an)
			an->all_prev = g;
		p->all = g;
	}
	memset(g, 0, sizeof *g);
	g->all_prev = ap;
	g->all_next = an;
	g->used = SEG_HEADER;
	return g;
}

/* Give a segmented page back to the system. */
static void s_free_page(struct vb_pages *p, struct page *g)
{
	if (g->all_prev)
		g->all_prev->all_next = g->all_next;
	else
		p->all = g->all_next;
	if (g->all_next)
		g->all_next->all_prev = g->all_prev;
	free(g);
	p->st.pages_live--;
	p->st.bytes_committed -= p->ps;
}

static void s_retire(struct vb_pages *p, struct page *g)
{
	/* the page stops being current: empty ones wait for decay */
	if (g && !g->live)
		empty_push(p, g);
}

static enum vb_err s_alloc(struct vb_pages *p, size_t n, void **ptr)
{
	size_t need = (n + ALIGN - 1) / ALIGN * ALIGN;

	if (n > p->ps - SEG_HEADER)
		return vb_err_set(VB_ELIMIT, "object of %zu bytes larger than a page (%zu usable; raise VB_PAGE_SIZE)",
				  n, p->ps - SEG_HEADER);
	if (!p->cur || p->cur->used + need > p->ps) {
		/* skip-and-pad: the rest of the current page stays unused */
		struct page *g = p->ahead;
		p->ahead = NULL;
		if (!g && !(g = s_new_page(p)))
			return vb_err_set(VB_ENOMEM, "out of memory for a %zu-byte page", p->ps);
		s_retire(p, p->cur);
		p->cur = g;
	}
	*ptr = (unsigned char *)p->cur + p->cur->used;
	p->cur->used += need;
	p->cur->live += n;
	if (!p->ahead && p->cur->used * 100 >= (size_t)p->o.threshold * p->ps) {
		p->ahead = s_new_page(p);
		if (p->ahead)
			p->st.prefetches++;
	}
	return VB_OK;
}

static void s_release(struct vb_pages *p, void *ptr, size_t n)
{
	struct page *g = s_page_of(p, ptr);

	g->live -= n;
	if (g->live)
		return;
	if (g == p->cur)
		g->used = SEG_HEADER; /* fill the current page again */
	else
		empty_push(p, g);
}

/* ---------------------------------------------------------------- API */

enum vb_err vb_pages_create(const struct vb_pages_opts *o, struct vb_pages **out)
{
	long sys = sysconf(_SC_PAGESIZE);
	struct vb_pages *p;

	if (!o->page_size || o->page_size % (size_t)sys || (o->page_size & (o->page_size - 1)))
		return vb_err_set(VB_EINVAL, "page size %zu is not a power of two multiple of %ld",
				  o->page_size, sys);
	if (o->threshold < 1 || o->threshold > 100)
		return vb_err_set(VB_EINVAL, "threshold %u%% out of range", o->threshold);
	p = calloc(1, sizeof *p);
	if (!p)
		return vb_err_set(VB_ENOMEM, "out of memory");
	p->o = *o;
	p->ps = o->page_size;
	if (o->backend == VB_PAGES_VIRTUAL) {
		p->npages = o->reserve / p->ps;
		if (!p->npages) {
			free(p);
			return vb_err_set(VB_EINVAL, "reserve smaller than a page");
		}
		p->vp = calloc(p->npages, sizeof *p->vp);
		void *m = mmap(NULL, p->npages * p->ps, PROT_NONE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (!p->vp || m == MAP_FAILED) {
			enum vb_err rc = vb_err_sys("cannot reserve %zu bytes of address space",
						    p->npages * p->ps);
			if (m != MAP_FAILED)
				munmap(m, p->npages * p->ps);
			free(p->vp);
			free(p);
			return rc;
		}
		p->base = m;
	}
	*out = p;
	return VB_OK;
}

void vb_pages_free(struct vb_pages *p)
{
	if (!p)
		return;
	if (p->o.backend == VB_PAGES_VIRTUAL) {
		munmap(p->base, p->npages * p->ps);
		free(p->vp);
	} else {
		while (p->all)
			s_free_page(p, p->all);
	}
	free(p);
}

enum vb_err vb_pages_alloc(struct vb_pages *p, size_t n, void **ptr)
{
	enum vb_err rc;

	if (!n)
		n = 1;
	vb_pages_tick(p);
	rc = p->o.backend == VB_PAGES_VIRTUAL ? v_alloc(p, n, ptr) : s_alloc(p, n, ptr);
	if (!rc)
		p->st.bytes_in_use += n;
	return rc;
}

void vb_pages_release(struct vb_pages *p, void *ptr, size_t n)
{
	if (!ptr)
		return;
	if (!n)
		n = 1;
	if (p->o.backend == VB_PAGES_VIRTUAL)
		v_release(p, ptr, n);
	else
		s_release(p, ptr, n);
	p->st.bytes_in_use -= n;
	vb_pages_tick(p);
}

void vb_pages_tick(struct vb_pages *p)
{
	uint64_t t = now(p);

	while (p->empty_head && t - p->empty_head->empty_since >= p->o.decay_ns) {
		struct page *g = p->empty_head;
		empty_remove(p, g);
		if (p->o.backend == VB_PAGES_VIRTUAL) {
			v_decommit(p, vidx(p, g));
		} else {
			s_free_page(p, g);
			p->st.released++;
		}
	}
}

void vb_pages_stats(const struct vb_pages *p, struct vb_pages_stats *s)
{
	*s = p->st;
}

size_t vb_pages_page_size(const struct vb_pages *p)
{
	return p->ps;
}

size_t vb_pages_max_object(const struct vb_pages *p)
{
	return p->o.backend == VB_PAGES_VIRTUAL ? p->ps : p->ps - SEG_HEADER;
}

/* ---------------------------------------------------------------- pool */

/* A slab: this header, then slots of `stride` bytes, each a back pointer
 * to the slab (16 bytes, for alignment) and the object. */
struct slab {
	struct slab *prev, *next;   /* the pool's list of slabs with a free slot */
	void *free;                 /* freed slots, linked through the object */
	uint32_t live, carved;      /* slots in use; slots ever handed out */
	int listed;
};

#define SLAB_HEAD ((sizeof(struct slab) + ALIGN - 1) / ALIGN * ALIGN)
#define SLOT_HEAD ALIGN

struct vb_pool {
	struct vb_pages *pages;
	size_t size, stride, slab_bytes;
	uint32_t per_slab;
	struct slab *open;          /* slabs with a free slot, most recent first */
	uint64_t live, slabs;
};

enum vb_err vb_pool_create(struct vb_pages *p, size_t size, struct vb_pool **out)
{
	struct vb_pool *pool;
	size_t stride = SLOT_HEAD + (size + ALIGN - 1) / ALIGN * ALIGN;
	size_t bytes = vb_pages_max_object(p) / ALIGN * ALIGN;

	*out = NULL;
	if (!size || bytes < SLAB_HEAD + stride)
		return vb_err_set(VB_ELIMIT, "objects of %zu bytes do not fit a %zu-byte page", size,
				  p->ps);
	if (!(pool = calloc(1, sizeof *pool)))
		return vb_err_set(VB_ENOMEM, "out of memory");
	pool->pages = p;
	pool->size = size;
	pool->stride = stride;
	pool->per_slab = (uint32_t)((bytes - SLAB_HEAD) / stride);
	pool->slab_bytes = SLAB_HEAD + pool->per_slab * stride;
	*out = pool;
	return VB_OK;
}

static void slab_list(struct vb_pool *pool, struct slab *s)
{
	s->prev = NULL;
	s->next = pool->open;
	if (pool->open)
		pool->open->prev = s;
	pool->open = s;
	s->listed = 1;
}

static void slab_unlist(struct vb_pool *pool, struct slab *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		pool->open = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
	s->listed = 0;
}

enum vb_err vb_pool_alloc(struct vb_pool *pool, void **ptr)
{
	struct slab *s = pool->open;
	unsigned char *slot;
	enum vb_err rc;

	if (!s) {
		void *m;
		if ((rc = vb_pages_alloc(pool->pages, pool->slab_bytes, &m)))
			return rc;
		s = m;
		memset(s, 0, sizeof *s);
		slab_list(pool, s);
		pool->slabs++;
	}
	if (s->free) {
		slot = (unsigned char *)s->free - SLOT_HEAD;
		memcpy(&s->free, s->free, sizeof s->free);
	} else {
		slot = (unsigned char *)s + SLAB_HEAD + (size_t)s->carved++ * pool->stride;
		memcpy(slot, &s, sizeof s);
	}
	if (++s->live == pool->per_slab)
		slab_unlist(pool, s);
	pool->live++;
	*ptr = slot + SLOT_HEAD;
	return VB_OK;
}

void vb_pool_release(struct vb_pool *pool, void *ptr)
{
	struct slab *s;

	if (!ptr)
		return;
	memcpy(&s, (unsigned char *)ptr - SLOT_HEAD, sizeof s);
	memcpy(ptr, &s->free, sizeof s->free);
	s->free = ptr;
	s->live--;
	pool->live--;
	if (!s->listed)
		slab_list(pool, s);
	if (!s->live && (pool->open != s || s->next)) {
		/* empty, and not the only slab with room: back to the store */
		slab_unlist(pool, s);
		pool->slabs--;
		vb_pages_release(pool->pages, s, pool->slab_bytes);
	}
}

void vb_pool_free(struct vb_pool *pool)
{
	if (!pool)
		return;
	/* full slabs are not listed; the caller frees the page store, which
	 * takes every page back */
	while (pool->open) {
		struct slab *s = pool->open;
		slab_unlist(pool, s);
		if (!s->live)
			vb_pages_release(pool->pages, s, pool->slab_bytes);
	}
	free(pool);
}

void vb_pool_stats(const struct vb_pool *pool, struct vb_pool_stats *s)
{
	s->live = pool->live;
	s->slabs = pool->slabs;
	s->per_slab = pool->per_slab;
}
