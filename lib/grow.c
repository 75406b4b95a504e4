/*
 * grow: see grow.h.
 */
#include "grow.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum vb_err vb_grow(void *array_ptr, size_t *cap, size_t n, size_t elem, size_t first)
{
	void *p, *q;
	size_t nc;

	if (n < *cap)
		return VB_OK;
	nc = *cap ? *cap * 2 : first;
	if (nc <= n || nc > SIZE_MAX / elem)
		return vb_err_set(VB_ENOMEM, "out of memory (an array of %zu elements)", n + 1);
	memcpy(&p, array_ptr, sizeof p);
	if (!(q = realloc(p, nc * elem)))
		return vb_err_set(VB_ENOMEM, "out of memory");
	memcpy(array_ptr, &q, sizeof q);
	*cap = nc;
	return VB_OK;
}
