/*
 * ranges: a batch of byte ranges deleted as one version (vb-delete, above
 * all its --ranges FILE), and the order that keeps such a batch valid in
 * the coordinates of the version before it (vb(5): "A batch of deletions
 * is merged and applied from the highest offset down").
 *
 * Design.  An opaque growable array of struct vb_range, in three steps:
 *   1. add: each range as the caller read it: a position in the offset
 *      grammar of lib/num, a length (both in the caller's unit, which the
 *      module never interprets) and a tag (vb-delete: the line it came
 *      from, for messages);
 *   2. resolve (the caller's job: the module knows no content, store or
 *      stream): the caller writes each range's byte offset and byte count
 *      into `at` and `bytes`, through vb_ranges_get;
 *   3. vb_ranges_merge sorts by `at` and merges the ranges that overlap or
 *      touch; vb_ranges_apply then hands the merged ranges to a callback
 *      from the highest offset down, so that deleting one never moves the
 *      ones still to come and every deletion is also valid in the
 *      coordinates of the content before the first.
 * A caller that cannot resolve (a stream: its length is unknown until its
 * end, lib/sedit resolves and merges on the way) only uses step 1 and the
 * accessors.
 *
 * Contracts.
 *   - Pure: no I/O, no printing, no exit, no global state.  A fallible
 *     function returns an enum vb_err with the detail set (lib/err.h) and
 *     leaves the list as it was.
 *   - Bounded memory, given by the caller: a list holds at most `max`
 *     ranges (vb_ranges_create), so its array never exceeds
 *     max * sizeof(struct vb_range) bytes; adding one more is VB_ELIMIT.
 *     Size computations are checked (VB_ENOMEM, never a wrap).
 *   - Merging never wraps: a range whose at + bytes would pass 2^64-1 makes
 *     vb_ranges_merge fail with VB_ERANGE before anything is reordered.
 *   - After a successful vb_ranges_merge the list is sorted by `at` and for
 *     consecutive ranges a, b: a.at + a.bytes < b.at (no overlap, no
 *     contact); an empty range (bytes 0) is kept only where no other range
 *     covers or touches its offset.  A merged range's pos, len and tag are
 *     those of one of the ranges merged into it (which one is unspecified);
 *     only `at` and `bytes` describe it.
 *   - A list is used by one thread at a time.
 */
#ifndef VB_RANGES_H
#define VB_RANGES_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "num.h"

struct vb_range {
	struct vb_pos pos;   /* the start as given (caller's unit) */
	uint64_t len;        /* the length as given (caller's unit) */
	uint64_t tag;        /* the caller's (vb-delete: the line number) */
	uint64_t at;         /* resolved by the caller: the start in bytes (0 until then) */
	uint64_t bytes;      /* resolved by the caller: the length in bytes (0 until then) */
};

struct vb_ranges;

/* An empty list that will hold at most `max` ranges. */
enum vb_err vb_ranges_create(size_t max, struct vb_ranges **out);
/* Free `r` (NULL is allowed). */
void vb_ranges_free(struct vb_ranges *r);

/* Append a range (at and bytes 0).  VB_ELIMIT when the list already holds
 * `max` ranges, VB_ENOMEM when memory runs out; either way the list is
 * unchanged. */
enum vb_err vb_ranges_add(struct vb_ranges *r, const struct vb_pos *pos, uint64_t len,
			  uint64_t tag);

/* The number of ranges (after vb_ranges_merge: of merged ranges). */
size_t vb_ranges_count(const struct vb_ranges *r);
/* The most ranges `r` may hold (its `max`). */
size_t vb_ranges_max(const struct vb_ranges *r);
/* Range `i` (i < vb_ranges_count), to read or to resolve in place; valid
 * until the next vb_ranges_add or vb_ranges_merge. */
struct vb_range *vb_ranges_get(struct vb_ranges *r, size_t i);

/* Sort the resolved ranges by `at` and merge those that overlap or touch
 * (the contract above).  VB_ERANGE, the list unchanged, when a range's
 * at + bytes passes 2^64-1. */
enum vb_err vb_ranges_merge(struct vb_ranges *r);

/* Call fn(arg, at, bytes) for each range from the last to the first (after
 * vb_ranges_merge: from the highest offset down).  An empty range is
 * passed only when it is the list's only range (one empty deletion still
 * makes an operation; among others it adds nothing).  Stops at, and
 * returns, the first failure of `fn`. */
enum vb_err vb_ranges_apply(const struct vb_ranges *r,
			    enum vb_err (*fn)(void *arg, uint64_t at, uint64_t bytes), void *arg);

#endif
