/*
 * ranges: a batch of deletions, merged and applied from the highest offset
 * down (see ranges.h for the design and the contracts).
 *
 * The array grows by doubling from FIRST ranges, its capacity clamped to
 * the caller's maximum, so that the memory bound is exact.
 */
#include "ranges.h"
#include "grow.h"

#include <stdlib.h>

#define FIRST 1024

struct vb_ranges {
	struct vb_range *v;
	size_t n, cap, max;
};

enum vb_err vb_ranges_create(size_t max, struct vb_ranges **out)
{
	struct vb_ranges *r = calloc(1, sizeof *r);

	if (!r)
		return vb_err_set(VB_ENOMEM, "out of memory");
	r->max = max;
	*out = r;
	return VB_OK;
}

void vb_ranges_free(struct vb_ranges *r)
{
	if (!r)
		return;
	free(r->v);
	free(r);
}

/* Room for one more range: VB_ELIMIT at the maximum, else the capacity
 * doubled (from FIRST, at most the maximum). */
static enum vb_err grow(struct vb_ranges *r)
{
	if (r->n >= r->max)
		return vb_err_set(VB_ELIMIT, "too many ranges (the limit is %zu)", r->max);
	return vb_grow_max(&r->v, &r->cap, r->n, sizeof *r->v, FIRST, r->max);
}

enum vb_err vb_ranges_add(struct vb_ranges *r, const struct vb_pos *pos, uint64_t len,
			  uint64_t tag)
{
	enum vb_err rc = grow(r);
	struct vb_range *e;

	if (rc)
		return rc;
	e = &r->v[r->n++];
	e->pos = *pos;
	e->len = len;
	e->tag = tag;
	e->at = 0;
	e->bytes = 0;
	return VB_OK;
}

size_t vb_ranges_count(const struct vb_ranges *r)
{
	return r->n;
}

size_t vb_ranges_max(const struct vb_ranges *r)
{
	return r->max;
}

struct vb_range *vb_ranges_get(struct vb_ranges *r, size_t i)
{
	return &r->v[i];
}

static int cmp_at(const void *x, const void *y)
{
	const struct vb_range *a = x, *b = y;

	return a->at < b->at ? -1 : a->at > b->at;
}

enum vb_err vb_ranges_merge(struct vb_ranges *r)
{
	size_t w = 0;
	uint64_t end;

	/* checked first: a failure leaves the list as it was */
	for (size_t i = 0; i < r->n; i++)
		if (__builtin_add_overflow(r->v[i].at, r->v[i].bytes, &end))
			return vb_err_set(VB_ERANGE, "range %llu+%llu passes 2^64-1",
					  (unsigned long long)r->v[i].at,
					  (unsigned long long)r->v[i].bytes);
	if (r->n > 1)
		qsort(r->v, r->n, sizeof *r->v, cmp_at);
	/* ranges that overlap or touch the last one kept extend it */
	for (size_t i = 0; i < r->n; i++) {
		struct vb_range *last = w ? &r->v[w - 1] : NULL;
		if (last && r->v[i].at <= last->at + last->bytes) {
			end = r->v[i].at + r->v[i].bytes;
			if (end > last->at + last->bytes)
				last->bytes = end - last->at;
		} else {
			r->v[w++] = r->v[i];
		}
	}
	r->n = w;
	return VB_OK;
}

enum vb_err vb_ranges_apply(const struct vb_ranges *r,
			    enum vb_err (*fn)(void *arg, uint64_t at, uint64_t bytes), void *arg)
{
	enum vb_err rc;

	for (size_t i = r->n; i-- > 0;) {
		if (!r->v[i].bytes && r->n > 1)
			continue; /* an empty range among others adds nothing */
		if ((rc = fn(arg, r->v[i].at, r->v[i].bytes)))
			return rc;
	}
	return VB_OK;
}
