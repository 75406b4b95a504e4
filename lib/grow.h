/*
 * grow: room for one more element in a growable array.
 *
 * An array is a pointer (NULL at first), its capacity and its count.
 * vb_grow makes sure there is room for element `n` (n < capacity on
 * return): when full it doubles the capacity (starting at `first`), with
 * the multiplication checked.  The pointer is passed by address, as
 * void *, so one function serves every element type.
 *
 * The array is the caller's (free() it).  Growing may move it (realloc):
 * pointers into it do not survive a call that returned VB_OK.  VB_ENOMEM
 * when the new size overflows or the allocation fails; the array and its
 * capacity are then unchanged and still valid.  No state: any thread, one
 * array at a time.
 */
#ifndef VB_GROW_H
#define VB_GROW_H

#include <stddef.h>

#include "err.h"

/* VB_ENOMEM (the array unchanged) when the memory cannot be had. */
enum vb_err vb_grow(void *array_ptr, size_t *cap, size_t n, size_t elem, size_t first);
/* The same for an array of at most `max` elements (n < max): the
 * capacity never passes max, so a configured limit bounds the memory. */
enum vb_err vb_grow_max(void *array_ptr, size_t *cap, size_t n, size_t elem, size_t first,
			size_t max);

#endif
