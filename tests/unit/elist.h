/*
 * elist: the element-list model shared by test-map and test-iter.
 *
 * A content is a list of elements: bytes (>= 0, each with its own
 * identity) and markers (< 0: marker k is -(k+1)), tracked positions.  A
 * marker's position is the number of bytes before it.  The tests decide
 * where inserted bytes go relative to the markers; deleting bytes leaves
 * the markers where they were.
 */
#ifndef VB_TEST_ELIST_H
#define VB_TEST_ELIST_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct elist {
	int *e;
	size_t n;
};

static inline size_t nbytes(const struct elist *l)
{
	size_t c = 0;
	for (size_t i = 0; i < l->n; i++)
		c += l->e[i] >= 0;
	return c;
}

/* Remove bytes [p, p+len); markers stay. */
static inline void m_delete(struct elist *l, uint64_t p, uint64_t len)
{
	size_t w = 0, c = 0;
	for (size_t i = 0; i < l->n; i++) {
		if (l->e[i] >= 0) {
			int gone = c >= p && c < p + len;
			c++;
			if (gone)
				continue;
		}
		l->e[w++] = l->e[i];
	}
	l->n = w;
}

/* Marker k's position, if it is in the list. */
static inline int marker_pos(const struct elist *l, int k, uint64_t *pos)
{
	uint64_t c = 0;
	for (size_t i = 0; i < l->n; i++) {
		if (l->e[i] >= 0)
			c++;
		else if (l->e[i] == -(k + 1)) {
			*pos = c;
			return 1;
		}
	}
	return 0;
}

static inline void m_remove_marker(struct elist *l, int k)
{
	size_t w = 0;
	for (size_t i = 0; i < l->n; i++)
		if (l->e[i] != -(k + 1))
			l->e[w++] = l->e[i];
	l->n = w;
}

#endif
