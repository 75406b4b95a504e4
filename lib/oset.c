/* oset: a set of nonzero offsets (design in oset.h). */
#include "oset.h"

#include <stdlib.h>

static size_t slot(uint64_t off, size_t cap)
{
	off *= 0x9e3779b97f4a7c15ULL;
	return (size_t)(off >> 20) & (cap - 1);
}

int vb_oset_add(struct vb_oset *s, uint64_t off)
{
	if (s->n * 2 >= s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 4096;
		uint64_t *nv = nc > SIZE_MAX / sizeof *nv ? NULL : calloc(nc, sizeof *nv);
		if (!nv)
			return 0;
		for (size_t i = 0; i < s->cap; i++)
			if (s->v[i]) {
				size_t h = slot(s->v[i], nc);
				while (nv[h])
					h = (h + 1) & (nc - 1);
				nv[h] = s->v[i];
			}
		free(s->v);
		s->v = nv;
		s->cap = nc;
	}
	size_t h = slot(off, s->cap);
	while (s->v[h]) {
		if (s->v[h] == off)
			return 1;
		h = (h + 1) & (s->cap - 1);
	}
	s->v[h] = off;
	s->n++;
	return 0;
}

void vb_oset_free(struct vb_oset *s)
{
	if (!s)
		return;
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}
