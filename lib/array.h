/*
 * array: the geometry of n-dimensional arrays held as bytes (issue 17):
 * shapes, NumPy's .npy header, basic-indexing slices, transposes, and the
 * byte runs an edit along an axis or a kept slice is made of.  Commands
 * read and edit content through lib/vbuf; this module only says which
 * bytes, in which order, through callbacks it is given.
 *
 * An array.  A C-order array of `ndim` axes (shape[k] elements along axis
 * k, the last axis varying fastest), elements of `itemsize` bytes, that
 * starts `header` bytes into the content (a .npy header, else 0).  A
 * Fortran-order .npy (fortran_order True) holds its bytes in the C order
 * of the reversed shape: this module keeps `shape` as NumPy reports it
 * (the logical shape) and `fortran` set, and maps every logical axis k to
 * the physical axis ndim-1-k where bytes are concerned (vb_array_view_of,
 * vb_array_axis_runs).
 *
 * The .npy format (NumPy's numpy/lib/format.py describes it):
 *
 *   OFFSET  SIZE  DESCRIPTION
 *   0       6     magic "\x93NUMPY"
 *   6       1     major version: 1, 2 or 3
 *   7       1     minor version: 0
 *   8       2     version 1: the header's length HLEN, little-endian
 *   8       4     versions 2 and 3: HLEN, little-endian
 *   10|12   HLEN  a Python dict literal, {'descr': D, 'fortran_order': B,
 *                 'shape': (D0, D1, ...)}, ASCII (3: UTF-8), padded with
 *                 spaces and ended by '\n'; NumPy pads the whole prefix to
 *                 a multiple of 64 bytes
 *
 * D is a dtype string ('<f4', '|u1', '<U5': 4 bytes a character, '|S7',
 * '|V16', '<M8[ns]', ...) or a structured dtype's list of (name, D[,
 * shape]) tuples, nested or padded ('', '|V4'); only its item size
 * matters here, and its text is copied into the headers written.  An
 * object dtype ('|O') holds pickled pointers, not elements: refused.  A
 * header longer than VB_NPY_HEADER_MAX is refused (VB_ELIMIT), never
 * allocated by the length it states.
 *
 * A view: where each element of a (sliced, transposed) array is: the
 * element with indices (i0, ..., i{n-1}) is the `itemsize` bytes at
 * offset + sum(ik * stride[k]) of the content.  Strides are signed (a
 * negative step walks backward).  A view's output order is C order over
 * its axes as they stand.
 *
 * Slices: NumPy's basic indexing, one item per axis, comma-separated:
 * an integer (that axis disappears; negatives count from the end), or
 * start:stop[:step] with any part omitted (NumPy's defaults and clipping
 * of out-of-range bounds, negative steps walking backward), or `...`
 * once, standing for as many `:` as the array has axes left.  Fewer
 * items than axes: the remaining axes whole.  vb_slice_parse checks the
 * text alone (VB_EINVAL: syntax, a step of 0, two `...`); vb_array_view_slice
 * applies it to a view (VB_ERANGE: an index out of bounds, more items
 * than axes).  A transpose is a permutation of the axes (negatives count
 * from the end; NULL: reversed).
 *
 * Contracts.
 *   - No I/O, no printing, no global state; errors as enum vb_err with
 *     the detail set (lib/err.h).  Every size computation is checked: an
 *     array whose byte size passes 2^63-1 is VB_ERANGE.
 *   - struct vb_array owns its descr text: vb_array_done frees it (safe
 *     on a zeroed or done array).
 *   - vb_array_view_copy holds at most `mem` bytes of its own (plus a few
 *     hundred bytes a axis), whatever the array's size.
 */
#ifndef VB_ARRAY_H
#define VB_ARRAY_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define VB_ARRAY_MAXDIM 64                      /* NumPy 2's limit */
#define VB_NPY_HEADER_MAX ((uint64_t)1 << 20)  /* the longest header read */
#define VB_NPY_PREFIX 12                        /* bytes that give the header's length */

struct vb_array {
	unsigned ndim;
	uint64_t shape[VB_ARRAY_MAXDIM];
	uint64_t itemsize;
	int fortran;          /* .npy fortran_order True */
	uint64_t header;      /* bytes before the first element */
	unsigned npy_major;   /* the .npy version read (0: no header) */
	char *descr;          /* the descr value's text as read (NULL: none) */
};

/* Free what `a` owns (its descr); `a` may be done again. */
void vb_array_done(struct vb_array *a);

/* An array of `shape_text` (D0xD1x..., decimal, at least one axis) and
 * elements of `itemsize` bytes, no header.  VB_EINVAL for the text,
 * VB_ERANGE when its byte size passes 2^63-1. */
enum vb_err vb_array_parse_shape(const char *shape_text, uint64_t itemsize, struct vb_array *a);

/* The bytes of the elements (0 when the size check fails). */
uint64_t vb_array_bytes(const struct vb_array *a);

/* The shape as text, "3x4" (an empty shape: "()"), into buf (cap >= 2). */
void vb_array_shape_text(const uint64_t *shape, unsigned ndim, char *buf, size_t cap);

/* Content of `content_len` bytes holds the array exactly?  VB_EFORMAT
 * naming both sizes when not. */
enum vb_err vb_array_check(const struct vb_array *a, uint64_t content_len);

/* From the first n bytes of a .npy file (n >= VB_NPY_PREFIX, or the whole
 * file when shorter): the length of its header, prefix included, in
 * *total.  VB_EFORMAT: not a .npy file, or a version other than 1, 2, 3;
 * VB_ELIMIT: longer than VB_NPY_HEADER_MAX. */
enum vb_err vb_npy_header_len(const void *p, size_t n, uint64_t *total);
/* Parse a whole header (`n` bytes: *total of vb_npy_header_len) into `a`
 * (any descr it had is freed).  VB_EFORMAT naming what is wrong. */
enum vb_err vb_npy_parse(const void *p, size_t n, struct vb_array *a);
/* A .npy header for an array of `a`'s descr, `shape`/`ndim` and order
 * `fortran`: version 1.0 where the header fits it, else 2.0 (3.0 when the
 * descr is not ASCII), padded so that the elements start at a multiple
 * of 64.  malloc'd into *out (the caller frees), *n its length. */
enum vb_err vb_npy_header(const struct vb_array *a, const uint64_t *shape, unsigned ndim,
			  int fortran, unsigned char **out, size_t *n);

/* A slice as parsed. */
struct vb_slice_item {
	int kind;                 /* VB_SLICE_INDEX, _RANGE or _ELLIPSIS */
	int has_start, has_stop;
	int64_t start, stop, step;
};
enum { VB_SLICE_INDEX, VB_SLICE_RANGE, VB_SLICE_ELLIPSIS };
struct vb_slice {
	unsigned n;
	struct vb_slice_item item[VB_ARRAY_MAXDIM];
};
enum vb_err vb_slice_parse(const char *text, struct vb_slice *s);

/* A permutation as parsed (NULL or "" text: none given, reversed). */
struct vb_axes {
	unsigned n;              /* 0: reversed */
	int64_t axis[VB_ARRAY_MAXDIM];
};
enum vb_err vb_axes_parse(const char *text, struct vb_axes *x);

struct vb_array_view {
	unsigned ndim;
	uint64_t count[VB_ARRAY_MAXDIM];
	int64_t stride[VB_ARRAY_MAXDIM];
	uint64_t offset;          /* of the element with every index 0 */
	uint64_t itemsize;
};
/* The whole array as a view (logical axes; Fortran order mapped). */
void vb_array_view_of(const struct vb_array *a, struct vb_array_view *v);
/* Apply a slice / a permutation.  The view is unchanged on failure. */
enum vb_err vb_array_view_slice(struct vb_array_view *v, const struct vb_slice *s);
enum vb_err vb_array_view_transpose(struct vb_array_view *v, const struct vb_axes *x);
uint64_t vb_array_view_elements(const struct vb_array_view *v);
/* Whether every stride is >= 0 and the elements come in increasing
 * offsets in C order (then vb_array_view_runs gives increasing runs). */
int vb_array_view_forward(const struct vb_array_view *v);

/* The maximal runs of contiguous bytes of a forward view, in C order:
 * fn(arg, off, len) for each.  Stops at, and returns, fn's failure. */
enum vb_err vb_array_view_runs(const struct vb_array_view *v,
			 enum vb_err (*fn)(void *arg, uint64_t off, uint64_t len), void *arg);

/* How many runs vb_array_view_runs gives (saturating at UINT64_MAX). */
uint64_t vb_array_view_run_count(const struct vb_array_view *v);

/* How vb_array_view_copy reaches the content and its output. */
struct vb_array_io {
	/* copy bytes [off, off+n) of the content into buf */
	enum vb_err (*read)(void *arg, uint64_t off, void *buf, size_t n);
	/* stream bytes [off, off+n) of the content to the output (a long
	 * run: the caller may move it without a copy) */
	enum vb_err (*send)(void *arg, uint64_t off, uint64_t n);
	/* write n bytes of buf to the output */
	enum vb_err (*write)(void *arg, const void *buf, size_t n);
	void *arg;
};
/* The view's elements to the output in C order, holding at most about
 * `mem` bytes (at least two elements): runs of at least 256 KiB go through `send`,
 * the rest is gathered into blocks of the output from reads of the
 * content in increasing offsets where the geometry allows (a transpose
 * reads tiles: strips of the source that fit in memory). */
enum vb_err vb_array_view_copy(const struct vb_array_view *v, const struct vb_array_io *io, size_t mem);

/* The runs of a slab range along axis `axis` (logical) of `a`: for every
 * index of the axes before it (physical order), the bytes of slabs
 * [index, index + count) are one run.  fn(arg, off, len) for each run in
 * increasing offsets (count 0: runs of 0 bytes at the insertion points).
 * VB_ERANGE for an axis or a range outside the array. */
enum vb_err vb_array_axis_runs(const struct vb_array *a, unsigned axis, uint64_t index,
			       uint64_t count,
			       enum vb_err (*fn)(void *arg, uint64_t off, uint64_t len),
			       void *arg);
/* How many runs vb_array_axis_runs gives along logical axis `axis`. */
uint64_t vb_array_axis_run_count(const struct vb_array *a, unsigned axis);

/* NumPy's axis and index arguments: an axis in [-ndim, ndim) (negatives
 * from the end) into *out; an index along axis `axis` in [-n, n) (or
 * [-n, n] with `end_ok`: an insertion point) into *out.  VB_ERANGE naming
 * the bound otherwise. */
enum vb_err vb_array_axis(const struct vb_array *a, int64_t axis, unsigned *out);
enum vb_err vb_array_index(const struct vb_array *a, unsigned axis, int64_t index, int end_ok,
			   uint64_t *out);

/* The bytes of one slab along logical axis `axis` (the product of the
 * other axes times the item size) and, for an insert, the bytes of the
 * block one run takes: *slab (for the whole input's divisibility) and
 * *run_unit (one run of one slab). */
void vb_array_slab(const struct vb_array *a, unsigned axis, uint64_t *slab, uint64_t *run_unit);

#endif
