/*
 * pages: the pinned page store.  Memory handed out never moves: an object
 * keeps its address until it is released, whatever is allocated after it.
 *
 * Two backends behind one API:
 *   segmented  heap pages (default 64 KiB each); an object that does not fit
 *              in the rest of the current page skips to the next page, the
 *              rest is padding (skip-and-pad); objects are at most a page;
 *   virtual    one address range reserved up front (mmap PROT_NONE), pages
 *              committed on demand; objects may span pages; when the end of
 *              the range is reached allocation wraps to its start if the
 *              pages there are empty again (stream buffers free from the
 *              front), so a long stream does not exhaust the range.
 *
 * Growth: when the current page passes the threshold (default 80 %) the next
 * page is made ready ahead of time (prefetch).  A page whose objects have all
 * been released is kept, and only given back to the system after the decay
 * timeout (default 5 s) has passed without it being reused: hysteresis
 * against allocate/free thrashing.  The clock is injectable for tests.
 *
 * Environment (vb_pages_opts_from_env): VB_PAGE_BACKEND=segmented|virtual,
 * VB_PAGE_SIZE (a size, multiple of the system page size), VB_PAGE_THRESHOLD
 * (percent, 1..100), VB_PAGE_DECAY (seconds), VB_PAGE_RESERVE (virtual: the
 * size of the address range, default 1 GiB).
 *
 * Not thread-safe: one store per thread, or a lock around it.
 */
#ifndef VB_PAGES_H
#define VB_PAGES_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum vb_pages_backend { VB_PAGES_SEGMENTED, VB_PAGES_VIRTUAL };

struct vb_pages_opts {
	enum vb_pages_backend backend;
	size_t page_size;        /* bytes; a multiple of the system page size */
	unsigned threshold;      /* percent of a page used before prefetching */
	uint64_t decay_ns;       /* keep an empty page this long */
	size_t reserve;          /* virtual: bytes of address space */
	/* nanoseconds, monotonic; NULL: CLOCK_MONOTONIC */
	uint64_t (*clock)(void *arg);
	void *clock_arg;
};

/* Defaults: segmented, 64 KiB, 80 %, 5 s, 1 GiB reserve. */
void vb_pages_opts_init(struct vb_pages_opts *o);
/* Apply the VB_PAGE_* environment variables; VB_EINVAL names a bad one. */
enum vb_err vb_pages_opts_from_env(struct vb_pages_opts *o);

struct vb_pages;

enum vb_err vb_pages_create(const struct vb_pages_opts *o, struct vb_pages **out);
/* Give everything back.  Objects still allocated become invalid.  NULL-safe. */
void vb_pages_free(struct vb_pages *p);

/* Allocate `n` bytes (1 <= n; segmented: n <= page size), aligned to 16.
 * VB_ELIMIT if n cannot fit a page (segmented) or the range (virtual),
 * VB_ENOMEM if the system refuses memory. */
enum vb_err vb_pages_alloc(struct vb_pages *p, size_t n, void **ptr);
/* Release an object allocated with exactly this size. */
void vb_pages_release(struct vb_pages *p, void *ptr, size_t n);

/* Give back empty pages whose decay time has passed (also done by every
 * alloc and release). */
void vb_pages_tick(struct vb_pages *p);

struct vb_pages_stats {
	uint64_t pages_live;      /* pages holding memory now (in use or kept) */
	uint64_t pages_empty;     /* of those, empty and waiting for decay */
	uint64_t bytes_committed; /* memory those pages hold */
	uint64_t bytes_in_use;    /* bytes of live objects */
	uint64_t prefetches;      /* pages made ready ahead of need */
	uint64_t released;        /* pages given back after decay */
};
void vb_pages_stats(const struct vb_pages *p, struct vb_pages_stats *s);

size_t vb_pages_page_size(const struct vb_pages *p);
/* The largest object vb_pages_alloc() accepts in one page. */
size_t vb_pages_max_object(const struct vb_pages *p);

/*
 * pool: objects of one size carved from a page store, for caches of fixed
 * objects.  Each slab is one page-store object as large as a page allows,
 * cut into slots.  A freed slot is reused before a new slab is taken, so a
 * new slab is only taken when every slab is full: the slabs never hold
 * more than the peak number of live objects plus one slab.  A slab whose
 * slots are all free goes back to the page store (which keeps the page for
 * its decay time), except the last one.  Objects never move.
 *
 * The page store is the caller's and must outlive the pool.  Not
 * thread-safe (like the page store).
 */
struct vb_pool;

/* VB_ELIMIT if an object of `size` does not fit a slab of the store. */
enum vb_err vb_pool_create(struct vb_pages *p, size_t size, struct vb_pool **out);
/* Free the pool and give its empty slabs back; slabs still holding
 * objects stay with the page store until it is freed.  NULL-safe. */
void vb_pool_free(struct vb_pool *pool);
/* An object of the pool's size, aligned to 16, contents undefined. */
enum vb_err vb_pool_alloc(struct vb_pool *pool, void **ptr);
/* Release an object of this pool.  NULL-safe. */
void vb_pool_release(struct vb_pool *pool, void *ptr);

struct vb_pool_stats {
	uint64_t live;    /* objects allocated now */
	uint64_t slabs;   /* slabs held */
	uint64_t per_slab;
};
void vb_pool_stats(const struct vb_pool *pool, struct vb_pool_stats *s);

#endif
