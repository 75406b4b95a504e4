/*
 * vbuf-store: the vbuf backend over a store and its piece tree.
 *
 * The content shown is a root: the commit's tree at open, then the tree as
 * edits leave it (new nodes in memory until commit).  An insert appends its
 * bytes to the session's data record and adds one piece (or extends the
 * previous one when the bytes continue it); a delete only changes the tree.
 *
 * The backend owns the tree (lib/stree: its nodes are the store's NODE
 * records): it makes version 0 of a store it created, flushes the new
 * nodes inside vb_store_commit, walks the trees for verify and hands them
 * to compaction (lib/compact).
 *
 * A flatten copies content into the session's data record and swaps
 * pieces for pieces over the copy, content unchanged: all of it (one
 * piece, and the version no longer needs the base file), or, partial,
 * each run of two or more neighbouring pieces shorter than `small` (one
 * piece per run; large pieces, typically of the base, stay).  It walks a
 * snapshot of the tree (a shared root) while it edits the live one, so
 * positions stay put: a run's delete and insert have the same length.
 */
#include "vbuf-int.h"
#include "compact.h"
#include "oset.h"
#include "stree.h"

#include <stdlib.h>
#include <string.h>

/* A version's tree (persisted: nothing to release). */
#define OLD_ROOTS 4
#define INFO_KEPT 2

struct old_root {
	int valid;
	uint64_t version;
	struct vb_root root;
};

struct sbe {
	struct vb_store *s;
	struct vb_stree_ctx cx;  /* the tree reads through: the store, the base's line index */
	struct vb_ptree *t;
	struct vb_root root;
	struct old_root old[OLD_ROOTS]; /* the last versions read_at, diff or a line
	                                 * look-up used (round robin) */
	int old_next;
	struct vb_commit *info[INFO_KEPT]; /* s_info's last answers, or NULL */
	int info_next;
	uint64_t version;
	int no_base;        /* the content has no base piece */
};

static uint64_t s_len(void *be)
{
	return ((struct sbe *)be)->root.bytes;
}

static uint64_t s_pieces(void *be)
{
	return ((struct sbe *)be)->root.pieces;
}

static uint64_t s_version(void *be)
{
	return ((struct sbe *)be)->version;
}

static uint64_t s_head(void *be)
{
	return vb_store_head(((struct sbe *)be)->s)->version;
}


/* The pieces covering [off, off+n) of the content shown, each part to `fn`. */
struct walk_arg {
	struct sbe *e;
	enum vb_err (*fn)(struct sbe *, const struct vb_piece *, uint64_t skip, uint64_t take,
			  void *arg);
	void *arg;
};

static enum vb_err walk_part(void *arg, const struct vb_piece *p, uint64_t skip, uint64_t take)
{
	struct walk_arg *w = arg;
	return w->fn(w->e, p, skip, take, w->arg);
}

static enum vb_err walk(struct sbe *e, uint64_t off, uint64_t n,
			enum vb_err (*fn)(struct sbe *, const struct vb_piece *, uint64_t skip,
					  uint64_t take, void *arg),
			void *arg)
{
	struct walk_arg w = {e, fn, arg};
	return vb_ptree_range(e->t, &e->root, off, n, walk_part, &w);
}

static enum vb_err read_part(struct sbe *e, const struct vb_piece *p, uint64_t skip,
			     uint64_t take, void *arg)
{
	unsigned char **dst = arg;
	enum vb_err rc = vb_store_read(e->s, p, skip, *dst, (size_t)take);

	*dst += take;
	return rc;
}

static enum vb_err send_part(struct sbe *e, const struct vb_piece *p, uint64_t skip,
			     uint64_t take, void *arg)
{
	return vb_store_send(e->s, p, skip, take, arg);
}

static enum vb_err s_read(void *be, uint64_t off, void *buf, size_t n)
{
	unsigned char *dst = buf;
	return walk(be, off, n, read_part, &dst);
}

static enum vb_err s_send(void *be, uint64_t off, uint64_t n, struct vb_sink *sink)
{
	return walk(be, off, n, send_part, sink);
}

/* Inserted bytes are counted here, while in hand, and go in as pieces of
 * at most VB_PTREE_COUNT_PIECE bytes (what a counting tree keeps). */
static enum vb_err s_insert(void *be, uint64_t off, const void *buf, size_t n)
{
	struct sbe *e = be;
	const unsigned char *b = buf;
	enum vb_err rc = VB_OK;

	for (size_t k = 0; k < n && !rc;) {
		size_t step = n - k < VB_PTREE_COUNT_PIECE ? n - k : (size_t)VB_PTREE_COUNT_PIECE;
		struct vb_piece p;
		if ((rc = vb_store_append(e->s, b + k, step, &p)))
			break;
		p.lines = vb_lines_scan(b + k, step);
		rc = vb_ptree_insert(e->t, &e->root, off + k, &p);
		k += step;
	}
	return rc;
}

static enum vb_err s_remove(void *be, uint64_t off, uint64_t n)
{
	struct sbe *e = be;
	return vb_ptree_delete(e->t, &e->root, off, n);
}

/* Version 0 of a store this handle created: the base as one piece, or
 * nothing. */
static enum vb_err create_v0(struct sbe *e)
{
	uint64_t size = vb_store_base_size(e->s), v;
	struct vb_op op = {VB_OP_CREATE, 0, size, 0};
	struct vb_piece p = {VB_SRC_BASE, 0, 0, size, {0, 0, 0, 0, 0, 0}};
	struct vb_stree_flush f = {e->t, &e->root};
	enum vb_err rc = VB_OK;

	e->root = vb_root_empty();
	/* a small base is counted now; a larger one stays unknown (creating
	 * a store reads no more than this) */
	if (size && size <= VB_PTREE_COUNT_PIECE && vb_store_counts_lines(e->s))
		rc = vb_ptree_piece_count(e->t, &p, &p.lines);
	if (size && !rc)
		rc = vb_ptree_insert(e->t, &e->root, 0, &p);
	if (!rc)
		rc = vb_store_commit(e->s, vb_stree_flush, &f,
				     vb_store_has_base(e->s) ? 0 : VB_COMMIT_NO_BASE, &op, 1, "",
				     NULL, 0, &v);
	vb_root_release(e->t, &e->root);
	return rc;
}

static enum vb_err s_revert(void *be, uint64_t version)
{
	struct sbe *e = be;
	struct vb_commit c;
	enum vb_err rc = vb_store_commit_at(e->s, version, &c);

	if (rc || (rc = vb_store_need_base(e->s, &c)))
		return rc;
	vb_root_release(e->t, &e->root);
	e->root = vb_stree_root(&c);
	e->no_base = (c.flags & VB_COMMIT_NO_BASE) != 0;
	return VB_OK;
}

static enum vb_err s_commit(void *be, const struct vb_op *ops, size_t nops, const char *msg,
			    const unsigned char *ext, size_t ext_len, uint64_t *version)
{
	struct sbe *e = be;
	struct vb_stree_flush f = {e->t, &e->root};
	enum vb_err rc = vb_store_commit(e->s, vb_stree_flush, &f,
					 e->no_base ? VB_COMMIT_NO_BASE : 0, ops, nops, msg, ext,
					 ext_len, version);

	if (!rc)
		e->version = *version;
	return rc;
}

/* A version's commit never changes: the last ones asked for are kept (a
 * unified diff asks for the same two versions' lengths at every line). */
static enum vb_err s_info(void *be, uint64_t version, struct vb_commit *out)
{
	struct sbe *e = be;
	enum vb_err rc;

	for (int i = 0; i < INFO_KEPT; i++)
		if (e->info[i] && e->info[i]->version == version) {
			memcpy(out, e->info[i], sizeof *out);
			return VB_OK;
		}
	if ((rc = vb_store_commit_at(e->s, version, out)))
		return rc;
	if (!e->info[e->info_next] && !(e->info[e->info_next] = malloc(sizeof *out)))
		return VB_OK; /* not kept */
	memcpy(e->info[e->info_next], out, sizeof *out);
	e->info_next = (e->info_next + 1) % INFO_KEPT;
	return VB_OK;
}

static enum vb_err s_ops(void *be, uint64_t version,
			 enum vb_err (*fn)(void *arg, const struct vb_op *op), void *arg)
{
	struct sbe *e = be;
	struct vb_commit c;
	enum vb_err rc = vb_store_commit_at(e->s, version, &c);

	if (rc)
		return rc;
	return vb_store_ops(e->s, &c, fn, arg);
}

/* Copy bytes [pos, pos+n) of the content `src` to the data record and
 * insert the copy into `dst` at `at`, as pieces of VB_PTREE_COUNT_PIECE
 * bytes (the last one shorter) whatever the source's pieces, each with
 * the counts of the bytes it copies (the source pieces' when known, else
 * counted by reading them in a counting store), so a flatten gives a
 * counting store a counted tree.  `done` counts bytes for the progress
 * report. */
struct copy_arg {
	struct sbe *e;
	struct vb_root *dst;
	uint64_t at;
	struct vb_piece cur;    /* the copy not yet inserted (len 0: none) */
	const struct vb_flatten_opts *o;
	uint64_t *done, total;
};

static enum vb_err copy_flush(struct copy_arg *a)
{
	enum vb_err rc = VB_OK;

	if (a->cur.len) {
		rc = vb_ptree_insert(a->e->t, a->dst, a->at, &a->cur);
		a->at += a->cur.len;
		a->cur.len = 0;
	}
	return rc;
}

static enum vb_err copy_part(void *arg, const struct vb_piece *p, uint64_t skip, uint64_t take)
{
	struct copy_arg *a = arg;
	int counts = vb_store_counts_lines(a->e->s);
	enum vb_err rc = VB_OK;

	for (uint64_t k = 0; k < take && !rc;) {
		uint64_t room = VB_PTREE_COUNT_PIECE - a->cur.len;
		uint64_t step = take - k < room ? take - k : room;
		struct vb_piece part = vb_ptree_piece_part(a->e->t, p, skip + k, step), copy;
		struct vb_lines got;
		int count = counts && !part.lines.known;
		/* counted on the way where the copy can (no second pass over
		 * the bytes), else read and counted */
		if ((rc = vb_store_append_counted(a->e->s, p, skip + k, step, &copy,
						  count ? &got : NULL)))
			break;
		if (count && got.known)
			part.lines = got;
		else if (count && (rc = vb_ptree_piece_count(a->e->t, &part, &part.lines)))
			break;
		if (a->cur.len) {
			a->cur.lines = vb_lines_cat(&a->cur.lines, &part.lines);
			a->cur.len += step;
		} else {
			a->cur = copy;
			a->cur.lines = part.lines;
		}
		if (a->cur.len == VB_PTREE_COUNT_PIECE)
			rc = copy_flush(a);
		k += step;
		*a->done += step;
		if (a->o->progress)
			a->o->progress(a->o->arg, *a->done, a->total);
	}
	return rc;
}

static enum vb_err copy_range(struct sbe *e, const struct vb_root *src, uint64_t pos,
			      uint64_t n, struct vb_root *dst, uint64_t at,
			      const struct vb_flatten_opts *o, uint64_t *done, uint64_t total)
{
	struct copy_arg a = {e, dst, at, {0, 0, 0, 0, {0, 0, 0, 0, 0, 0}}, o, done, total};
	enum vb_err rc = vb_ptree_range(e->t, src, pos, n, copy_part, &a);

	return rc ? rc : copy_flush(&a);
}

static enum vb_err flatten_all(struct sbe *e, const struct vb_flatten_opts *o,
			       struct vb_flatten_stats *st)
{
	struct vb_root src = vb_root_share(&e->root), nr = vb_root_empty();
	uint64_t done = 0;
	enum vb_err rc = VB_OK;

	if (src.bytes)
		rc = copy_range(e, &src, 0, src.bytes, &nr, 0, o, &done, src.bytes);
	vb_root_release(e->t, &src);
	if (rc) {
		vb_root_release(e->t, &nr);
		return rc;
	}
	vb_root_release(e->t, &e->root);
	e->root = nr;
	e->no_base = 1;
	st->bytes = done;
	st->runs = done ? 1 : 0;
	return VB_OK;
}

/* Replace [pos, pos+n) of the live tree by a copy of its bytes (`src`
 * is a second owner of the tree as it was, so the copy reads it). */
static enum vb_err consolidate(struct sbe *e, const struct vb_root *src, uint64_t pos,
			       uint64_t n, const struct vb_flatten_opts *o, uint64_t *done)
{
	enum vb_err rc = vb_ptree_delete(e->t, &e->root, pos, n);

	if (!rc)
		rc = copy_range(e, src, pos, n, &e->root, pos, o, done, 0);
	return rc;
}

static enum vb_err flatten_partial(struct sbe *e, const struct vb_flatten_opts *o,
				   struct vb_flatten_stats *st)
{
	struct vb_root src = vb_root_share(&e->root);
	struct vb_ptree_cur c;
	uint64_t small = o->small ? o->small : VB_FLATTEN_SMALL, done = 0;
	uint64_t run_pos = 0, run_len = 0, run_pieces = 0;
	int run_base = 0, base_left = 0;   /* base pieces in the run, left over */
	enum vb_err rc = vb_ptree_seek(e->t, &src, 0, &c);

	while (!rc) {
		const struct vb_piece *p = c.at_end ? NULL : vb_ptree_cur_piece(&c);
		if (p && p->len < small) {
			if (!run_pieces)
				run_pos = c.piece_pos;
			run_len += p->len;
			run_pieces++;
			run_base |= p->src == VB_SRC_BASE;
		} else {
			if (run_pieces >= 2) {
				if ((rc = consolidate(e, &src, run_pos, run_len, o, &done)))
					break;
				st->runs++;
			} else {
				base_left |= run_base;
			}
			if (p)
				base_left |= p->src == VB_SRC_BASE;
			run_pieces = run_len = 0;
			run_base = 0;
		}
		if (!p)
			break;
		rc = vb_ptree_next(&c);
	}
	vb_ptree_cur_close(&c);
	vb_root_release(e->t, &src);
	st->bytes = done;
	/* every base piece was in a run: the version no longer needs it */
	if (!rc && !base_left)
		e->no_base = 1;
	return rc;
}

static enum vb_err s_flatten(void *be, const struct vb_flatten_opts *o,
			     struct vb_flatten_stats *st)
{
	struct sbe *e = be;
	struct vb_ptree_cur c;
	enum vb_err rc;

	st->pieces_before = e->root.pieces;
	if (o->partial) {
		rc = flatten_partial(e, o, st);
	} else if (e->root.pieces <= e->root.bytes / VB_PTREE_COUNT_PIECE + 1) {
		/* one run of the store's own data already (cut only where a
		 * counting tree cuts data pieces): nothing to copy */
		int flat = 1;
		struct vb_piece prev;
		rc = vb_ptree_seek(e->t, &e->root, 0, &c);
		for (int first = 1; !rc && !c.at_end && flat; first = 0) {
			const struct vb_piece *p = vb_ptree_cur_piece(&c);
			flat = p->src == VB_SRC_DATA && (first || vb_piece_contiguous(&prev, p));
			prev = *p;
			rc = vb_ptree_next(&c);
		}
		vb_ptree_cur_close(&c);
		if (rc)
			return rc;
		rc = flat ? VB_OK : flatten_all(e, o, st);
		e->no_base = 1;
	} else {
		rc = flatten_all(e, o, st);
	}
	st->pieces_after = e->root.pieces;
	return rc;
}

#define COPY_STEP ((uint64_t)8 << 20)

/* Count lines: the base's line index if missing, then every piece of the
 * content without counts counted and the tree rebuilt with them, content
 * unchanged.  Base pieces are counted in the index's own pass over the
 * base (marks at their ends: MARKS_MAX at most, 24 bytes each), any
 * others through the index or by reading.  The new tree is built
 * bottom-up (vb_ptree_build), its nodes written as they fill, so its
 * memory is bounded too. */
#define MARKS_MAX ((size_t)1 << 19)

static int cmp_mark(const void *a, const void *b)
{
	uint64_t x = ((const struct vb_lindex_mark *)a)->off, y = ((const struct vb_lindex_mark *)b)->off;
	return x < y ? -1 : x > y;
}

static const struct vb_lindex_mark *find_mark(const struct vb_lindex_mark *m, size_t n,
					      uint64_t off)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m[mid].off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && m[lo].off == off ? &m[lo] : NULL;
}

/* The marks at both ends of every base piece without counts (NULL and 0
 * when there are more than MARKS_MAX). */
static enum vb_err collect_marks(struct sbe *e, struct vb_lindex_mark **out, size_t *n)
{
	struct vb_ptree_cur c;
	struct vb_lindex_mark *m = NULL;
	size_t k = 0, cap = 0;
	enum vb_err rc;

	*out = NULL;
	*n = 0;
	if (!e->root.bytes)
		return VB_OK;
	rc = vb_ptree_seek(e->t, &e->root, 0, &c);
	for (; !rc && !c.at_end; rc = vb_ptree_next(&c)) {
		const struct vb_piece *p = vb_ptree_cur_piece(&c);
		if (p->src != VB_SRC_BASE || p->lines.known)
			continue;
		if (k + 2 > MARKS_MAX) {
			k = 0;
			break;
		}
		if (k + 2 > cap) {
			size_t nc = cap ? 2 * cap : 64;
			struct vb_lindex_mark *g = realloc(m, nc * sizeof *m);
			if (!g) {
				rc = vb_err_set(VB_ENOMEM, "out of memory");
				break;
			}
			m = g;
			cap = nc;
		}
		memset(&m[k], 0, 2 * sizeof *m);
		m[k++].off = p->start;
		m[k++].off = p->start + p->len;
	}
	vb_ptree_cur_close(&c);
	if (rc || !k) {
		free(m);
		return rc;
	}
	qsort(m, k, sizeof *m, cmp_mark);
	*out = m;
	*n = k;
	return VB_OK;
}

static enum vb_err s_count_lines(void *be, const struct vb_flatten_opts *o,
				 struct vb_count_stats *st)
{
	struct sbe *e = be;
	struct vb_ptree_cur c;
	struct vb_ptree_build *bd = NULL;
	struct vb_root nr = vb_root_empty();
	struct vb_lindex_mark *marks = NULL;
	size_t nmarks = 0;
	enum vb_err rc;

	if (!vb_store_counts_lines(e->s))
		return vb_err_set(VB_EFORMAT, "the store was made before vb counted lines (vb-flatten --compact rewrites it with counts)");
	if (vb_store_has_base(e->s) && !e->cx.lx) {
		if ((rc = collect_marks(e, &marks, &nmarks)) ||
		    (rc = vb_lindex_build(e->s, marks, nmarks, o->progress, o->arg)) ||
		    (rc = vb_lindex_open(e->s, &e->cx.lx)))
			goto out;
		if (!e->cx.lx) {
			rc = vb_err_set(VB_EIO, "internal error: the line index just built is not found");
			goto out;
		}
		st->indexed = vb_store_base_size(e->s);
	}
	struct vb_lines all;
	rc = VB_OK;
	if (!e->root.bytes || (vb_ptree_lines(e->t, &e->root, &all), all.known))
		goto out;
	if ((rc = vb_ptree_build_begin(e->t, &bd)))
		goto out;
	rc = vb_ptree_seek(e->t, &e->root, 0, &c);
	for (; !rc && !c.at_end; rc = vb_ptree_next(&c)) {
		struct vb_piece p = *vb_ptree_cur_piece(&c);
		if (!p.lines.known) {
			const struct vb_lindex_mark *a = NULL, *b = NULL;
			if (p.src == VB_SRC_BASE && marks) {
				a = find_mark(marks, nmarks, p.start);
				b = find_mark(marks, nmarks, p.start + p.len);
			}
			if (a && b && (rc = vb_lindex_between(e->cx.lx, a, b, &p.lines)))
				break;
			if (!p.lines.known && (rc = vb_ptree_piece_count(e->t, &p, &p.lines)))
				break;
			st->pieces++;
		}
		if ((rc = vb_ptree_build_add(bd, &p)))
			break;
	}
	vb_ptree_cur_close(&c);
	if (!rc) {
		rc = vb_ptree_build_end(bd, &nr);
		bd = NULL;
	}
	if (!rc && (nr.bytes != e->root.bytes))
		rc = vb_err_set(VB_EIO, "internal error: the recounted tree has another length");
	if (rc) {
		vb_root_release(e->t, &nr);
		goto out;
	}
	vb_root_release(e->t, &e->root);
	e->root = nr;
out:
	vb_ptree_build_free(bd);
	free(marks);
	return rc;
}

static enum vb_err s_embed(void *be, const struct vb_flatten_opts *o, uint64_t *bytes)
{
	struct sbe *e = be;
	uint64_t size = vb_store_base_size(e->s), done = 0;
	struct vb_piece base = {VB_SRC_BASE, 0, 0, size, {0, 0, 0, 0, 0, 0}};
	struct vb_piece copy = {0, 0, 0, 0, {0, 0, 0, 0, 0, 0}};
	enum vb_err rc = VB_OK;

	*bytes = 0;
	if (!vb_store_has_base(e->s))
		return vb_err_set(VB_EINVAL, "the store has no base file to embed");
	if (vb_store_embedded(e->s))
		return VB_OK; /* nothing left to copy */
	if (!size)
		return vb_err_set(VB_EINVAL, "the base file is empty: there is nothing to embed");
	for (uint64_t k = 0; k < size && !rc;) {
		uint64_t step = size - k < COPY_STEP ? size - k : COPY_STEP;
		struct vb_piece part;
		if ((rc = vb_store_append_piece(e->s, &base, k, step, &part)))
			break;
		if (!k)
			copy = part;
		else
			copy.len += part.len;
		k += step;
		done += step;
		if (o->progress)
			o->progress(o->arg, done, size);
	}
	if (!rc)
		rc = vb_store_embed(e->s, &copy);
	if (!rc)
		*bytes = done;
	return rc;
}

static enum vb_file_use s_file_use(void *be, uint64_t dev, uint64_t ino, const char **name)
{
	struct sbe *e = be;

	return (enum vb_file_use)vb_store_file_use(e->s, dev, ino, name);
}

_Static_assert((int)VB_SET_BASE_SIZE == (int)VB_REBIND_SIZE &&
		       (int)VB_SET_BASE_SAMPLES == (int)VB_REBIND_SAMPLES &&
		       (int)VB_SET_BASE_CRC == (int)VB_REBIND_CRC,
	       "what a re-binding checked, in both words");

/* The full-content CRC is the line index's, where the store has one for
 * this base. */
static enum vb_err s_set_base(void *be, const char *path,
			      void (*progress)(void *arg, uint64_t done, uint64_t total), void *arg,
			      unsigned *checked)
{
	struct sbe *e = be;
	struct vb_lindex *lx = e->cx.lx;

	return vb_store_rebind_base(e->s, path, lx != NULL, lx ? vb_lindex_base_crc(lx) : 0,
				    progress, arg, checked);
}

static int s_rollback(void *be, struct vb_rollback *out)
{
	struct sbe *e = be;

	return vb_store_rollback_point(e->s, &out->fd, &out->dev, &out->ino, &out->end);
}

static void s_close(void *be)
{
	struct sbe *e = be;

	if (!e)
		return;
	if (e->t)
		vb_root_release(e->t, &e->root);
	vb_ptree_free(e->t);
	vb_lindex_free(e->cx.lx);
	vb_stree_spans_free(e->cx.spans);
	for (int i = 0; i < INFO_KEPT; i++)
		free(e->info[i]);
	vb_store_close(e->s);
	free(e);
}

/* A version's tree, kept for the next call: an export reads the two
 * versions it compares piece by piece. */
static enum vb_err root_at(struct sbe *e, uint64_t version, struct vb_root *out)
{
	struct vb_commit *c;
	enum vb_err rc;

	for (int i = 0; i < OLD_ROOTS; i++)
		if (e->old[i].valid && e->old[i].version == version) {
			*out = e->old[i].root;
			return VB_OK;
		}
	/* a commit record holds up to 6 KiB of message and extensions */
	if (!(c = malloc(sizeof *c)))
		return vb_err_set(VB_ENOMEM, "out of memory");
	if (!(rc = vb_store_commit_at(e->s, version, c)) && !(rc = vb_store_need_base(e->s, c))) {
		e->old[e->old_next] = (struct old_root){1, version, vb_stree_root(c)};
		*out = e->old[e->old_next].root;
		e->old_next = (e->old_next + 1) % OLD_ROOTS;
	}
	free(c);
	return rc;
}

static enum vb_err s_read_at(void *be, uint64_t version, uint64_t off, void *buf, size_t n)
{
	struct sbe *e = be;
	unsigned char *dst = buf;
	struct vb_root r;
	enum vb_err rc;

	if ((rc = root_at(e, version, &r)))
		return rc;
	if (off > r.bytes || n > r.bytes - off)
		return vb_err_set(VB_ERANGE, "bytes %llu..%llu lie outside version %llu",
				  (unsigned long long)off, (unsigned long long)(off + n),
				  (unsigned long long)version);
	struct walk_arg w = {e, read_part, &dst};
	return vb_ptree_range(e->t, &r, off, n, walk_part, &w);
}

/* Line addressing (vbuf-lines.c asks): from the version's tree. */
static enum vb_err s_line_ends(void *be, uint64_t version, enum vb_line_mode m, uint64_t off,
			       uint64_t *ends)
{
	struct sbe *e = be;
	struct vb_root r;
	enum vb_err rc = root_at(e, version, &r);

	return rc ? rc : vb_ptree_line_ends(e->t, &r, m, off, ends);
}

static int s_line_counted(void *be, uint64_t version)
{
	struct sbe *e = be;
	struct vb_lines l;
	struct vb_root r;

	if (root_at(e, version, &r))
		return 0;
	vb_ptree_lines(e->t, &r, &l);
	return l.known;
}

static enum vb_err s_line_find(void *be, uint64_t version, enum vb_line_mode m, uint64_t k,
			       uint64_t *pos)
{
	struct sbe *e = be;
	struct vb_ptree_line at;
	struct vb_root r;
	unsigned char *buf;
	enum vb_err rc = root_at(e, version, &r);

	if (rc || (rc = vb_ptree_line_find(e->t, &r, m, k, &at)))
		return rc;
	/* a data block at a time: each read verifies the block it reads */
	if (!(buf = malloc(VB_STORE_BLOCK)))
		return vb_err_set(VB_ENOMEM, "out of memory");
	/* the (k - ends_before)-th end starts in this piece: find its byte */
	uint64_t left = k - at.ends_before;
	int prev_cr = at.prev_cr;
	for (uint64_t o = 0; o < at.piece.len;) {
		size_t n = at.piece.len - o < VB_STORE_BLOCK ? (size_t)(at.piece.len - o)
							     : VB_STORE_BLOCK;
		/* a block without the end sought is counted (wide, or known
		 * from before: cx.spans), not walked */
		struct vb_lines bl;
		int have = vb_stree_span_get(e->cx.spans, &at.piece, o, n, &bl);
		if (!have) {
			if ((rc = vb_store_read(e->s, &at.piece, o, buf, n)))
				break;
			bl = vb_lines_scan(buf, n);
			vb_stree_span_put(e->cx.spans, &at.piece, o, n, &bl);
		}
		uint64_t ends = vb_lines_ends(&bl, m, prev_cr);
		if (ends < left) {
			left -= ends;
			prev_cr = bl.tail_cr;
			o += n;
			continue;
		}
		if (have && (rc = vb_store_read(e->s, &at.piece, o, buf, n)))
			break;
		for (size_t i = 0; i < n; i++) {
			int end = buf[i] == '\r' ? m == VB_LINES_ANY
						  : buf[i] == '\n' && !(m == VB_LINES_ANY && prev_cr);
			prev_cr = buf[i] == '\r';
			if (end && !--left) {
				*pos = at.piece_pos + o + i;
				free(buf);
				return VB_OK;
			}
		}
		o += n;
	}
	free(buf);
	return rc ? rc : vb_err_set(VB_ECORRUPT, "line counts of a piece do not match its bytes");
}

static enum vb_err s_diff(void *be, uint64_t va, uint64_t vb,
			  enum vb_err (*hunk)(void *arg, uint64_t a_off, uint64_t a_len,
					      uint64_t b_off, uint64_t b_len),
			  void *arg)
{
	struct sbe *e = be;
	struct vb_root ra, rb;
	enum vb_err rc;

	if ((rc = root_at(e, va, &ra)) || (rc = root_at(e, vb, &rb)))
		return rc;
	return vb_ptree_diff(e->t, &ra, &rb, hunk, arg);
}

/* verify: the tree half, each node walked once over all versions */
struct vwalk {
	struct sbe *e;
	struct vb_oset seen;
	enum vb_err (*piece)(void *parg, const struct vb_piece *p);
	void *parg;
};

static int v_seen(void *arg, uint64_t off)
{
	return vb_oset_add(&((struct vwalk *)arg)->seen, off);
}

/* The store checks where a piece points and the line counts of a data
 * piece; those of a base piece are checked here against its bytes (a
 * count that passed its record's checksum but is wrong would give wrong
 * lines). */
static enum vb_err v_piece(void *arg, const struct vb_piece *p)
{
	struct vwalk *w = arg;
	enum vb_err rc = w->piece(w->parg, p);

	if (!rc && p->lines.known && p->src != VB_SRC_DATA) {
		struct vb_piece q = *p;
		struct vb_lines l;
		q.lines = vb_lines_unknown();
		if ((rc = vb_ptree_piece_count(w->e->t, &q, &l)))
			/* a base that cannot be read is the store's own
			 * problem (verify reports it once) */
			return p->src == VB_SRC_BASE ? VB_OK : rc;
		if (l.lf != p->lines.lf || l.cr != p->lines.cr || l.crlf != p->lines.crlf ||
		    l.head_lf != p->lines.head_lf || l.tail_cr != p->lines.tail_cr)
			return vb_err_set(VB_ECORRUPT, "the line counts of a piece do not match its bytes");
	}
	return rc;
}

static enum vb_err v_walk(void *ctx, const struct vb_commit *c,
			  enum vb_err (*piece)(void *parg, const struct vb_piece *p), void *parg)
{
	struct vwalk *w = ctx;
	struct vb_root r = vb_stree_root(c);

	w->piece = piece;
	w->parg = parg;
	return vb_ptree_walk_nodes(w->e->t, &r, v_seen, v_piece, w);
}

/* verify's progress: one meter over the store's records, then the base
 * when its line index is checked (`at`: the bytes of the phases before,
 * `more`: those of the phases after). */
struct vprog {
	void (*fn)(void *arg, uint64_t done, uint64_t total);
	void *arg;
	uint64_t at, more;
};

static void v_progress(void *arg, uint64_t done, uint64_t total)
{
	struct vprog *p = arg;
	p->fn(p->arg, p->at + done, p->at + total + p->more);
}

static enum vb_err s_verify(void *be, void (*report)(void *arg, uint64_t off, const char *what),
			    void (*note)(void *arg, const char *what), void *arg,
			    void (*progress)(void *parg, uint64_t done, uint64_t total), void *parg,
			    struct vb_verify_stats *st)
{
	struct sbe *e = be;
	struct vwalk w = {be, {NULL, 0, 0}, NULL, NULL};
	struct vb_verify_tree t = {v_walk, &w};
	struct vb_verify_stats tmp;
	uint64_t lx = vb_store_line_index(e->s);
	struct vprog vp = {progress, parg, 0, lx ? vb_store_base_size(e->s) : 0};
	enum vb_err rc;

	if (!st)
		st = &tmp;
	rc = vb_store_verify(e->s, &t, report, note, arg, progress ? v_progress : NULL, &vp, st);
	st->nodes = w.seen.n;
	vb_oset_free(&w.seen);
	/* the base's line index against the base, read whole (a missing or
	 * changed base is reported above) */
	if (lx) {
		struct vb_lindex *x = NULL;
		enum vb_err r2 = vb_lindex_open(e->s, &x);
		vp.at = st->bytes > vb_store_records_start(e->s) ?
				st->bytes - vb_store_records_start(e->s) : 0;
		vp.more = 0;
		if (!r2 && x)
			r2 = vb_lindex_check(x, progress ? v_progress : NULL, &vp);
		vb_lindex_free(x);
		if (r2 && r2 != VB_EBASE) {
			if (report)
				report(arg, lx, vb_err_detail());
			if (!rc)
				rc = vb_err_set(VB_ECORRUPT, "1 problem found");
		}
	}
	return rc;
}

static enum vb_err s_compact(void *be, uint64_t oldest, const struct vb_restate *rs, size_t nrs,
			     const char *message,
			     void (*progress)(void *arg, uint64_t done, uint64_t total), void *arg,
			     struct vb_compact_stats *st)
{
	struct sbe *e = be;
	return vb_compact(e->s, e->t, oldest, rs, nrs, message, progress, arg, st);
}

static enum vb_err s_parent(void *be, const struct vb_commit *c, struct vb_commit *out)
{
	return vb_store_commit_parent(((struct sbe *)be)->s, c, out);
}

static enum vb_err s_commit_ops(void *be, const struct vb_commit *c,
				enum vb_err (*fn)(void *arg, const struct vb_op *op), void *arg)
{
	return vb_store_ops(((struct sbe *)be)->s, c, fn, arg);
}

static enum vb_err s_commit_read(void *be, uint64_t off, struct vb_commit *out)
{
	return vb_store_commit_read(((struct sbe *)be)->s, off, out);
}

static void s_state(void *be, struct vb_vbuf_state *out)
{
	struct vb_store *s = ((struct sbe *)be)->s;
	struct vb_store_state st;

	vb_store_state(s, &st);
	out->id = vb_store_id(s);
	out->oldest = st.oldest;
	out->since_flatten = st.since_flatten;
	out->has_base = vb_store_has_base(s);
	out->base_size = vb_store_base_size(s);
	out->embedded = vb_store_embedded(s);
}

static const char *s_warning(void *be, size_t i)
{
	struct vb_store *s = ((struct sbe *)be)->s;
	return i < vb_store_nwarnings(s) ? vb_store_warning(s, i) : NULL;
}

static void s_stats(void *be, struct vb_vbuf_stats *out)
{
	struct sbe *e = be;
	struct vb_store_stats ss;
	struct vb_ptree_stats ts;

	vb_store_stats(e->s, &ss);
	vb_ptree_stats(e->t, &ts);
	*out = (struct vb_vbuf_stats){ss.file_size, ss.appended, ss.block_reads, ss.block_hits,
				      ss.block_cache_bytes, ss.block_cache_cap,
				      ss.block_pages_bytes, ts.cache_bytes, ts.pages_bytes,
				      ts.cache_hits, ts.cache_misses};
}

static const struct vb_backend_ops store_ops = {
	.len = s_len, .pieces = s_pieces, .version = s_version, .head = s_head,
	.read = s_read, .send = s_send, .insert = s_insert, .remove = s_remove,
	.revert = s_revert, .commit = s_commit, .info = s_info, .ops = s_ops,
	.parent = s_parent, .commit_ops = s_commit_ops, .commit_read = s_commit_read,
	.state = s_state, .warning = s_warning, .stats = s_stats, .read_at = s_read_at, .line_ends = s_line_ends, .line_find = s_line_find,
	.line_counted = s_line_counted, .diff = s_diff, .verify = s_verify,
	.compact = s_compact, .close = s_close, .flatten = s_flatten, .embed = s_embed,
	.count_lines = s_count_lines, .file_use = s_file_use, .rollback = s_rollback,
	.set_base = s_set_base,
};

enum vb_err vb_backend_store_open(const char *path, const struct vb_vbuf_opts *o,
				  uint64_t version, const struct vb_backend_ops **ops,
				  void **be)
{
	struct sbe *e = calloc(1, sizeof *e);
	enum vb_err rc;
	struct vb_commit c;

	if (!e)
		return vb_err_set(VB_ENOMEM, "out of memory");
	/* an old version that needs no base reads even when the head's
	 * base is missing or changed: the check is made for the version */
	struct vb_store_opts oo = {o->write, o->create, o->base, o->no_sync, o->lenient_base,
				   o->defer_base, o->wait, o->block_cache};
	if (version != VB_HEAD && !o->write)
		oo.defer_base = 1;
	if ((rc = vb_store_open(path, &oo, &e->s))) {
		free(e);
		return rc;
	}
	/* a damaged line index is not used (counts are then read from the
	 * bytes); verify reports it */
	e->cx.s = e->s;
	e->cx.spans = vb_stree_spans_new(); /* NULL: no counts kept, all read */
	if (vb_lindex_open(e->s, &e->cx.lx) == VB_ECORRUPT)
		e->cx.lx = NULL;
	if ((rc = vb_stree_create(&e->cx, o->node_cache, &e->t)) ||
	    (vb_store_is_new(e->s) && (rc = create_v0(e)))) {
		s_close(e);
		return rc;
	}
	c = *vb_store_head(e->s);
	if ((version != VB_HEAD && (rc = vb_store_commit_at(e->s, version, &c))) ||
	    (rc = vb_store_need_base(e->s, &c))) {
		s_close(e);
		return rc;
	}
	e->no_base = (c.flags & VB_COMMIT_NO_BASE) != 0;
	e->root = vb_stree_root(&c);
	e->version = c.version;
	*ops = &store_ops;
	*be = e;
	return VB_OK;
}

struct vb_ptree *vb_vbuf_tree(struct vb_vbuf *b)
{
	return b->ops == &store_ops ? ((struct sbe *)b->be)->t : NULL;
}
