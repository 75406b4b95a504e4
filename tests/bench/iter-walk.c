/*
 * iter-walk: walk a store's content with a vbuf iterator, for
 * bench-iter.sh (not installed, not a test).
 *
 *   iter-walk STORE chunks|rchunks|bytes|rbytes
 *
 * Walks forward or backward by chunks (vb_iter_next_chunk/prev_chunk) or
 * by bytes (vb_iter_next/prev) and prints the byte count and the sum of
 * the bytes, so that nothing can be skipped (the same for every mode).
 */
#include <stdio.h>
#include <string.h>

#include "vbuf.h"

int main(int argc, char **argv)
{
	struct vb_vbuf_opts o;
	struct vb_vbuf *b;
	struct vb_iter *it;
	uint64_t count = 0, sum = 0;
	enum vb_err rc = VB_OK;

	if (argc != 3) {
		fprintf(stderr, "usage: iter-walk STORE chunks|rchunks|bytes|rbytes\n");
		return 2;
	}
	vb_vbuf_opts_init(&o);
	if ((rc = vb_vbuf_open(argv[1], &o, VB_HEAD, &b))) {
		fprintf(stderr, "iter-walk: %s: %s\n", argv[1], vb_err_detail());
		return 1;
	}
	int back = argv[2][0] == 'r';
	const char *mode = argv[2] + back;
	if ((rc = vb_iter_create(b, back ? vb_vbuf_len(b) : 0, &it))) {
		fprintf(stderr, "iter-walk: %s\n", vb_err_detail());
		return 1;
	}
	if (!strcmp(mode, "chunks")) {
		const unsigned char *d;
		size_t n;
		while (!(rc = back ? vb_iter_prev_chunk(it, &d, &n) : vb_iter_next_chunk(it, &d, &n)) &&
		       n) {
			count += n;
			for (size_t i = 0; i < n; i++)
				sum += d[i];
		}
	} else if (!strcmp(mode, "bytes")) {
		int c;
		while ((c = back ? vb_iter_prev(it) : vb_iter_next(it)) >= 0) {
			count++;
			sum += (unsigned)c;
		}
		if (c == VB_ITER_ERROR)
			rc = vb_iter_error(it);
	} else {
		fprintf(stderr, "iter-walk: unknown mode '%s'\n", argv[2]);
		return 2;
	}
	if (rc) {
		fprintf(stderr, "iter-walk: %s\n", vb_err_detail());
		return 1;
	}
	printf("%llu %llu\n", (unsigned long long)count, (unsigned long long)sum);
	vb_iter_free(it);
	vb_vbuf_close(b);
	return 0;
}
