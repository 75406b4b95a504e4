/*
 * grow: doubling growth of the library's arrays (contract in grow.h).
 *
 * The array pointer arrives as the address of a pointer of any element
 * type and is read and written with memcpy, which is defined whatever
 * that type is.  The size is checked before realloc, and a failure leaves
 * the pointer and the capacity as they were.
 */
#include "grow.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum vb_err vb_grow(void *array_ptr, size_t *cap, size_t n, size_t elem, size_t first)
{
	return vb_grow_max(array_ptr, cap, n, elem, first, SIZE_MAX);
}

enum vb_err vb_grow_max(void *array_ptr, size_t *cap, size_t n, size_t elem, size_t first,
			size_t max)
{
	void *p, *q;
	size_t nc;

	if (n < *cap)
		return VB_OK;
	nc = *cap ? (*cap > max / 2 ? max : *cap * 2) : (first < max ? first : max);
	if (nc <= n || nc > SIZE_MAX / elem)
		return vb_err_set(VB_ENOMEM, "out of memory (an array of %zu elements)", n + 1);
	memcpy(&p, array_ptr, sizeof p);
	if (!(q = realloc(p, nc * elem)))
		return vb_err_set(VB_ENOMEM, "out of memory");
	memcpy(array_ptr, &q, sizeof q);
	*cap = nc;
	return VB_OK;
}
