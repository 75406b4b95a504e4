/*
 * lindex: the line index of the base (see lindex.h; the record layouts
 * are in store-format.h, LINE INDEX).
 *
 * P(x), the counts of the base prefix [0, x), is kept at every block
 * boundary x = j*B; the counts of a range [a, b) are those of its partial
 * first block (read), of the whole blocks between (P at both ends: the
 * '\n' and '\r' bytes are differences, the "\r\n" pairs too, less one pair
 * that straddles the first boundary, found from the two blocks' edge
 * flags) and of its partial last block (read), joined with vb_lines_cat.
 *
 * Every record is checked when loaded (its CRC by the store; here that
 * it is the record the directory says and that its counts are possible:
 * monotonic, no more line ends than bytes), so a damaged index is an
 * error (VB_ECORRUPT), never a count.
 */
#include "lindex.h"
#include "crc.h"
#include "err.h"
#include "io.h"
#include "le.h"
#include "store-format.h"

#include <stdlib.h>
#include <string.h>

#define B ((uint64_t)VB_FMT_BLOCK)
#define G ((uint64_t)VB_FMT_LX_G)
#define REC_MAX (VB_FMT_LX_ENTRIES + VB_FMT_LX_ENTRY * VB_FMT_LX_G)
#define CHUNK ((size_t)1 << 20)
#define AHEAD 3u                /* buffers of CHUNK bytes reading ahead */
#define SLOTS 4

_Static_assert(REC_MAX <= VB_FMT_REC_MAX, "a LINES record fits in one record");
_Static_assert(CHUNK % VB_FMT_BLOCK == 0, "the build reads whole blocks");
_Static_assert(2 * VB_FMT_BLOCK + SLOTS * REC_MAX + VB_FMT_REC_MAX <= VB_LINDEX_MEM,
	       "the memory bound of a handle");
_Static_assert(AHEAD * CHUNK + 2 * REC_MAX + VB_FMT_REC_MAX <= VB_LINDEX_BUILD_MEM,
	       "the memory bound of a build");

struct pfx {
	uint64_t lf, cr, crlf;
};

struct slot {
	int valid;
	uint64_t g;
	uint64_t used;
	unsigned char p[REC_MAX];
};

struct vb_lindex {
	struct vb_store *s;
	uint64_t dir_off, size, blocks, nrec;
	uint64_t *recs;
	uint32_t crc;
	struct slot *slot;      /* SLOTS */
	uint64_t clock;
	unsigned char *buf;     /* 2*B: the partial blocks of a range */
};

static uint32_t crc(uint32_t c, const void *p, size_t n)
{
	return vb_crc32(c, p, n);
}

static enum vb_err bad(uint64_t off, const char *why)
{
	return vb_err_set(VB_ECORRUPT, "line index record at offset %llu: %s",
			  (unsigned long long)off, why);
}

static uint64_t blocks_of(uint64_t size)
{
	return size / B + (size % B != 0);
}

/* ---------------------------------------------------------------- open */

enum vb_err vb_lindex_open(struct vb_store *s, struct vb_lindex **out)
{
	uint64_t off = vb_store_line_index(s);
	unsigned char *d;
	size_t len;
	enum vb_err rc;
	struct vb_lindex *x;

	*out = NULL;
	if (!off || !vb_store_has_base(s))
		return VB_OK;
	if (!(d = malloc(VB_FMT_REC_MAX)))
		return vb_err_set(VB_ENOMEM, "out of memory");
	if ((rc = vb_store_aux_read(s, off, VB_STORE_REC_LINEDIR, d, VB_FMT_REC_MAX, &len)))
		goto out;
	if (len < VB_FMT_LD_RECS) {
		rc = bad(off, "directory too short");
		goto out;
	}
	uint64_t size = vb_le_get64(d + VB_FMT_LD_SIZE);
	/* made for another base (an identity the header no longer has): not
	 * this base's index */
	if (size != vb_store_base_size(s) ||
	    vb_le_get32(d + VB_FMT_LD_SAMPLES_CRC) != vb_store_base_samples_crc(s))
		goto out;
	uint64_t nrec = vb_le_get64(d + VB_FMT_LD_R), blocks = blocks_of(size);
	if (vb_le_get32(d + VB_FMT_LD_BLOCK) != VB_FMT_BLOCK ||
	    vb_le_get32(d + VB_FMT_LD_G) != VB_FMT_LX_G || nrec > VB_FMT_LD_R_MAX ||
	    nrec != blocks / G + (blocks % G != 0) || len != VB_FMT_LD_RECS + 8 * nrec) {
		rc = bad(off, "directory does not describe the base");
		goto out;
	}
	if (!(x = calloc(1, sizeof *x)) || !(x->recs = malloc(nrec ? nrec * 8 : 1)) ||
	    !(x->slot = calloc(SLOTS, sizeof *x->slot)) || !(x->buf = malloc(2 * B))) {
		vb_lindex_free(x);
		rc = vb_err_set(VB_ENOMEM, "out of memory");
		goto out;
	}
	x->s = s;
	x->dir_off = off;
	x->size = size;
	x->blocks = blocks;
	x->nrec = nrec;
	x->crc = vb_le_get32(d + VB_FMT_LD_CRC);
	for (uint64_t i = 0; i < nrec; i++) {
		x->recs[i] = vb_le_get64(d + VB_FMT_LD_RECS + 8 * i);
		if (x->recs[i] < vb_store_records_start(s) || x->recs[i] >= off ||
		    (i && x->recs[i] <= x->recs[i - 1])) {
			vb_lindex_free(x);
			rc = bad(off, "directory names records out of order");
			goto out;
		}
	}
	*out = x;
out:
	free(d);
	return rc;
}

void vb_lindex_free(struct vb_lindex *x)
{
	if (!x)
		return;
	free(x->recs);
	free(x->slot);
	free(x->buf);
	free(x);
}

uint32_t vb_lindex_base_crc(const struct vb_lindex *x)
{
	return x->crc;
}

/* ------------------------------------------------------------- records */

/* Record g, loaded and checked. */
static enum vb_err record(struct vb_lindex *x, uint64_t g, const unsigned char **out)
{
	struct slot *v = NULL;
	size_t len;
	enum vb_err rc;

	for (int i = 0; i < SLOTS; i++)
		if (x->slot[i].valid && x->slot[i].g == g) {
			x->slot[i].used = ++x->clock;
			*out = x->slot[i].p;
			return VB_OK;
		}
	/* a free slot, else the least recently used */
	for (int i = 0; i < SLOTS && (!v || v->valid); i++)
		if (!v || !x->slot[i].valid || x->slot[i].used < v->used)
			v = &x->slot[i];
	v->valid = 0;
	uint64_t off = x->recs[g];
	if ((rc = vb_store_aux_read(x->s, off, VB_STORE_REC_LINES, v->p, REC_MAX, &len)))
		return rc;
	uint64_t j0 = g * G, n = x->blocks - j0 < G ? x->blocks - j0 : G;
	if (len != VB_FMT_LX_ENTRIES + VB_FMT_LX_ENTRY * n ||
	    vb_le_get64(v->p + VB_FMT_LX_FIRST) != j0 || vb_le_get32(v->p + VB_FMT_LX_N) != n ||
	    vb_le_get32(v->p + VB_FMT_LX_ZERO))
		return bad(off, "not the record the directory names");
	struct pfx p0 = {vb_le_get64(v->p + VB_FMT_LX_LF), vb_le_get64(v->p + VB_FMT_LX_CR),
			 vb_le_get64(v->p + VB_FMT_LX_CRLF)};
	if (p0.lf > j0 * B || p0.cr > j0 * B - p0.lf || p0.crlf > p0.cr || p0.crlf > p0.lf)
		return bad(off, "impossible counts");
	uint32_t lf = 0, cr = 0, crlf = 0;
	for (uint64_t k = 0; k < n; k++) {
		const unsigned char *e = v->p + VB_FMT_LX_ENTRIES + VB_FMT_LX_ENTRY * k;
		uint32_t l = vb_le_get32(e + VB_FMT_LX_E_LF), c = vb_le_get32(e + VB_FMT_LX_E_CR),
			 cl = vb_le_get32(e + VB_FMT_LX_E_CRLF);
		uint64_t end = j0 + k + 1 < x->blocks ? (k + 1) * B : x->size - j0 * B;
		if (l < lf || c < cr || cl < crlf || (uint64_t)l + c > end || cl > l || cl > c ||
		    (e[VB_FMT_LX_E_FLAGS] & ~(VB_FMT_LX_HEAD_LF | VB_FMT_LX_TAIL_CR)))
			return bad(off, "impossible counts");
		lf = l;
		cr = c;
		crlf = cl;
	}
	v->valid = 1;
	v->g = g;
	v->used = ++x->clock;
	*out = v->p;
	return VB_OK;
}

/* P at the end of block j, and block j's edge flags. */
static enum vb_err entry(struct vb_lindex *x, uint64_t j, struct pfx *end, unsigned *flags)
{
	const unsigned char *r = NULL;
	enum vb_err rc = record(x, j / G, &r);

	if (rc)
		return rc;
	const unsigned char *e = r + VB_FMT_LX_ENTRIES + VB_FMT_LX_ENTRY * (j % G);
	end->lf = vb_le_get64(r + VB_FMT_LX_LF) + vb_le_get32(e + VB_FMT_LX_E_LF);
	end->cr = vb_le_get64(r + VB_FMT_LX_CR) + vb_le_get32(e + VB_FMT_LX_E_CR);
	end->crlf = vb_le_get64(r + VB_FMT_LX_CRLF) + vb_le_get32(e + VB_FMT_LX_E_CRLF);
	*flags = e[VB_FMT_LX_E_FLAGS];
	return VB_OK;
}

/* --------------------------------------------------------------- count */

static enum vb_err scan(struct vb_lindex *x, uint64_t a, uint64_t n, struct vb_lines *out)
{
	struct vb_piece bp = {VB_SRC_BASE, 0, 0, x->size, {0, 0, 0, 0, 0, 0}};
	enum vb_err rc = vb_store_read(x->s, &bp, a, x->buf, (size_t)n);

	if (!rc)
		*out = vb_lines_scan(x->buf, (size_t)n);
	return rc;
}

static enum vb_err count(struct vb_lindex *x, uint64_t a, uint64_t b, struct vb_lines *out)
{
	uint64_t a1 = (a + B - 1) / B * B, b0 = b / B * B;
	struct vb_lines head, mid, tail;
	struct pfx ps = {0, 0, 0}, pe;
	unsigned fa = 0, fs, fe;
	enum vb_err rc;

	/* no whole block inside: at most two partial ones */
	if (a1 >= b0)
		return scan(x, a, b - a, out);
	if (a1 > 0 && (rc = entry(x, a1 / B - 1, &ps, &fa)))
		return rc;
	if ((rc = entry(x, a1 / B, &pe, &fs)) || (rc = entry(x, b0 / B - 1, &pe, &fe)))
		return rc;
	uint64_t straddle = (fa & VB_FMT_LX_TAIL_CR) && (fs & VB_FMT_LX_HEAD_LF);
	if (pe.lf < ps.lf || pe.cr < ps.cr || pe.crlf < ps.crlf + straddle)
		return bad(x->recs[(b0 / B - 1) / G], "counts decrease");
	mid.known = 1;
	mid.lf = pe.lf - ps.lf;
	mid.cr = pe.cr - ps.cr;
	mid.crlf = pe.crlf - ps.crlf - straddle;
	mid.head_lf = (fs & VB_FMT_LX_HEAD_LF) != 0;
	mid.tail_cr = (fe & VB_FMT_LX_TAIL_CR) != 0;
	if (mid.lf + mid.cr > b0 - a1)
		return bad(x->recs[(b0 / B - 1) / G], "more line ends than bytes");
	*out = mid;
	if (a < a1) {
		if ((rc = scan(x, a, a1 - a, &head)))
			return rc;
		*out = vb_lines_cat(&head, out);
	}
	if (b0 < b) {
		if ((rc = scan(x, b0, b - b0, &tail)))
			return rc;
		*out = vb_lines_cat(out, &tail);
	}
	return VB_OK;
}

enum vb_err vb_lindex_count(struct vb_lindex *x, uint64_t off, uint64_t n, struct vb_lines *out)
{
	enum vb_err rc;

	*out = vb_lines_unknown();
	if (!n || off > x->size || n > x->size - off)
		return vb_err_set(VB_ERANGE, "count beyond the base");
	rc = count(x, off, off + n, out);
	if (rc)
		*out = vb_lines_unknown();
	return rc;
}

/* ---------------------------------------------------------------- pass */

/* One pass over the base: for every block j, `fn` gets P at its end and
 * its edge flags; the marks get theirs; *crc the CRC-32 of the whole. */
struct pass {
	enum vb_err (*fn)(void *arg, uint64_t j, const struct pfx *end, unsigned flags);
	void *arg;
	void (*progress)(void *arg, uint64_t done, uint64_t total);
	void *parg;
	uint32_t crc;
	struct vb_lindex_mark *marks;
	size_t nmarks;
};

/* Add the counts of a span to the running prefix. */
static void add(struct pfx *p, int *prev_cr, const unsigned char *q, size_t n)
{
	struct vb_lines l = vb_lines_scan(q, n);

	p->lf += l.lf;
	p->cr += l.cr;
	p->crlf += l.crlf + (*prev_cr && l.head_lf);
	*prev_cr = l.tail_cr;
}

/* p: P at the mark; p0: P at the start of its block */
static void mark(struct vb_lindex_mark *m, const struct pfx *p, const struct pfx *p0, int prev_cr,
		 int lf_at)
{
	m->lf = (uint32_t)(p->lf - p0->lf);
	m->cr = (uint32_t)(p->cr - p0->cr);
	m->crlf = (uint32_t)(p->crlf - p0->crlf);
	m->cr_before = (unsigned char)prev_cr;
	m->lf_at = (unsigned char)lf_at;
}

static enum vb_err pass(struct vb_store *s, uint64_t size, struct pass *ps)
{
	struct vb_piece bp = {VB_SRC_BASE, 0, 0, size, {0, 0, 0, 0, 0, 0}};
	struct vb_io_ahead *ra = NULL;
	unsigned char *own = NULL;
	int fd;
	struct pfx p = {0, 0, 0}, p0 = p;
	int prev_cr = 0;
	enum vb_err rc = VB_OK;
	uint64_t j = 0;
	size_t mi = 0;

	for (size_t i = 0; i < ps->nmarks; i++)
		if (ps->marks[i].off > size || (i && ps->marks[i].off < ps->marks[i - 1].off))
			return vb_err_set(VB_EINVAL, "internal error: line index marks out of order");
	/* a base file is read ahead on a thread; the embedded copy here */
	if ((rc = vb_store_base_fd(s, 0, size, &fd)))
		return rc;
	if (fd >= 0 ? (rc = vb_io_ahead_open(fd, 0, size, CHUNK, AHEAD, &ra)) != VB_OK
		    : !(own = malloc(CHUNK)))
		return rc ? rc : vb_err_set(VB_ENOMEM, "out of memory");
	ps->crc = crc(0, NULL, 0);
	for (uint64_t at = 0; at < size && !rc;) {
		size_t n = size - at < CHUNK ? (size_t)(size - at) : CHUNK;
		const unsigned char *buf = own;
		if (ra) {
			if ((rc = vb_io_ahead_next(ra, &buf, &n)) == VB_EIO && !vb_err_errno())
				rc = vb_store_base_short(s);
			if (!rc && !n)
				rc = vb_store_base_short(s);
		} else {
			rc = vb_store_read(s, &bp, at, own, n);
		}
		if (rc)
			break;
		ps->crc = crc(ps->crc, buf, n);
		for (size_t k = 0; k < n && !rc; k += (size_t)B, j++) {
			size_t m = n - k < B ? n - k : (size_t)B, pos = 0;
			const unsigned char *q = buf + k;
			uint64_t x = at + k;
			p0 = p;
			/* the block in spans cut at the marks inside it */
			for (; mi < ps->nmarks && ps->marks[mi].off < x + m; mi++) {
				size_t e = (size_t)(ps->marks[mi].off - x);
				if (e > pos) {
					add(&p, &prev_cr, q + pos, e - pos);
					pos = e;
				}
				mark(&ps->marks[mi], &p, &p0, prev_cr, q[e] == '\n');
			}
			if (pos < m)
				add(&p, &prev_cr, q + pos, m - pos);
			rc = ps->fn(ps->arg, j, &p,
				    (q[0] == '\n' ? VB_FMT_LX_HEAD_LF : 0u) |
					    (q[m - 1] == '\r' ? VB_FMT_LX_TAIL_CR : 0u));
		}
		at += n;
		if (ps->progress)
			ps->progress(ps->parg, at, size);
	}
	/* at the end of the base: in the block after the last (j) */
	for (; !rc && mi < ps->nmarks; mi++)
		mark(&ps->marks[mi], &p, &p, prev_cr, 0);
	vb_io_ahead_close(ra);
	free(own);
	return rc;
}

/* P at a mark: P at the start of its block (the end of the block
 * before, from the index) plus the mark's own part; a mark at the end of
 * the base is P at the end of the last block. */
static enum vb_err mark_pfx(struct vb_lindex *x, const struct vb_lindex_mark *m, struct pfx *p)
{
	uint64_t j = m->off == x->size ? x->blocks : m->off / B;
	unsigned f;
	enum vb_err rc;

	*p = (struct pfx){0, 0, 0};
	if (j && (rc = entry(x, j - 1, p, &f)))
		return rc;
	p->lf += m->lf;
	p->cr += m->cr;
	p->crlf += m->crlf;
	return VB_OK;
}

enum vb_err vb_lindex_between(struct vb_lindex *x, const struct vb_lindex_mark *a,
			      const struct vb_lindex_mark *b, struct vb_lines *out)
{
	uint64_t pair = a->cr_before && a->lf_at;
	struct pfx pa, pb;
	enum vb_err rc;

	*out = vb_lines_unknown();
	if (b->off <= a->off || b->off > x->size)
		return vb_err_set(VB_EINVAL, "internal error: marks out of order");
	if ((rc = mark_pfx(x, a, &pa)) || (rc = mark_pfx(x, b, &pb)))
		return rc;
	if (pb.lf < pa.lf || pb.cr < pa.cr || pb.crlf < pa.crlf + pair)
		return vb_err_set(VB_ECORRUPT, "the line index does not match its marks");
	out->known = 1;
	out->lf = pb.lf - pa.lf;
	out->cr = pb.cr - pa.cr;
	out->crlf = pb.crlf - pa.crlf - pair;
	out->head_lf = a->lf_at;
	out->tail_cr = b->cr_before;
	return VB_OK;
}

/* --------------------------------------------------------------- build */

struct build {
	struct vb_store *s;
	uint64_t blocks;
	unsigned char *rec;     /* REC_MAX */
	unsigned char *dir;     /* VB_FMT_REC_MAX */
	uint64_t nrec;
	struct pfx start;       /* P at the first block of the record */
};

static enum vb_err build_block(void *arg, uint64_t j, const struct pfx *end, unsigned flags)
{
	struct build *b = arg;
	uint64_t k = j % G;
	unsigned char *e = b->rec + VB_FMT_LX_ENTRIES + VB_FMT_LX_ENTRY * k;
	enum vb_err rc;

	if (!k) {
		memset(b->rec, 0, VB_FMT_LX_ENTRIES);
		vb_le_put64(b->rec + VB_FMT_LX_FIRST, j);
		vb_le_put64(b->rec + VB_FMT_LX_LF, b->start.lf);
		vb_le_put64(b->rec + VB_FMT_LX_CR, b->start.cr);
		vb_le_put64(b->rec + VB_FMT_LX_CRLF, b->start.crlf);
	}
	/* within a record the counts grow by at most G*B < 2^32 */
	vb_le_put32(e + VB_FMT_LX_E_LF, (uint32_t)(end->lf - b->start.lf));
	vb_le_put32(e + VB_FMT_LX_E_CR, (uint32_t)(end->cr - b->start.cr));
	vb_le_put32(e + VB_FMT_LX_E_CRLF, (uint32_t)(end->crlf - b->start.crlf));
	e[VB_FMT_LX_E_FLAGS] = (unsigned char)flags;
	if (k == G - 1 || j == b->blocks - 1) {
		uint64_t off;
		vb_le_put32(b->rec + VB_FMT_LX_N, (uint32_t)(k + 1));
		if ((rc = vb_store_aux_append(b->s, VB_STORE_REC_LINES, b->rec,
					      VB_FMT_LX_ENTRIES + VB_FMT_LX_ENTRY * (k + 1), &off)))
			return rc;
		vb_le_put64(b->dir + VB_FMT_LD_RECS + 8 * b->nrec++, off);
		b->start = *end;
	}
	return VB_OK;
}

enum vb_err vb_lindex_build(struct vb_store *s, struct vb_lindex_mark *marks, size_t nmarks,
			    void (*progress)(void *arg, uint64_t done, uint64_t total), void *arg)
{
	uint64_t size = vb_store_base_size(s), blocks = blocks_of(size), off;
	struct build b = {s, blocks, NULL, NULL, 0, {0, 0, 0}};
	struct pass ps = {build_block, &b, progress, arg, 0, marks, marks ? nmarks : 0};
	enum vb_err rc;

	if (!vb_store_has_base(s))
		return vb_err_set(VB_EINVAL, "the store has no base file");
	if (blocks / G + (blocks % G != 0) > VB_FMT_LD_R_MAX)
		return vb_err_set(VB_ELIMIT, "the base is too large for a line index (over %llu bytes)",
				  (unsigned long long)(VB_FMT_LD_R_MAX * G * B));
	if (!(b.rec = malloc(REC_MAX)) || !(b.dir = calloc(1, VB_FMT_REC_MAX))) {
		rc = vb_err_set(VB_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = pass(s, size, &ps)))
		goto out;
	vb_le_put64(b.dir + VB_FMT_LD_SIZE, size);
	vb_le_put32(b.dir + VB_FMT_LD_BLOCK, VB_FMT_BLOCK);
	vb_le_put32(b.dir + VB_FMT_LD_G, VB_FMT_LX_G);
	vb_le_put32(b.dir + VB_FMT_LD_CRC, ps.crc);
	vb_le_put32(b.dir + VB_FMT_LD_SAMPLES_CRC, vb_store_base_samples_crc(s));
	vb_le_put64(b.dir + VB_FMT_LD_LF, b.start.lf);
	vb_le_put64(b.dir + VB_FMT_LD_CR, b.start.cr);
	vb_le_put64(b.dir + VB_FMT_LD_CRLF, b.start.crlf);
	vb_le_put64(b.dir + VB_FMT_LD_R, b.nrec);
	if (!(rc = vb_store_aux_append(s, VB_STORE_REC_LINEDIR, b.dir,
				       VB_FMT_LD_RECS + 8 * b.nrec, &off)))
		vb_store_set_line_index(s, off);
out:
	free(b.rec);
	free(b.dir);
	return rc;
}

/* ---------------------------------------------------------------- copy */

enum vb_err vb_lindex_copy(struct vb_lindex *x, struct vb_store *to)
{
	unsigned char *d = malloc(VB_FMT_REC_MAX), *r = malloc(REC_MAX);
	size_t len, dlen;
	uint64_t off;
	enum vb_err rc;

	if (!d || !r) {
		rc = vb_err_set(VB_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = vb_store_aux_read(x->s, x->dir_off, VB_STORE_REC_LINEDIR, d, VB_FMT_REC_MAX,
				    &dlen)))
		goto out;
	for (uint64_t g = 0; g < x->nrec; g++) {
		if ((rc = vb_store_aux_read(x->s, x->recs[g], VB_STORE_REC_LINES, r, REC_MAX, &len)) ||
		    (rc = vb_store_aux_append(to, VB_STORE_REC_LINES, r, len, &off)))
			goto out;
		vb_le_put64(d + VB_FMT_LD_RECS + 8 * g, off);
	}
	if (!(rc = vb_store_aux_append(to, VB_STORE_REC_LINEDIR, d, dlen, &off)))
		vb_store_set_line_index(to, off);
out:
	free(d);
	free(r);
	return rc;
}

/* --------------------------------------------------------------- check */

static enum vb_err check_block(void *arg, uint64_t j, const struct pfx *end, unsigned flags)
{
	struct vb_lindex *x = arg;
	struct pfx p;
	unsigned f;
	enum vb_err rc = entry(x, j, &p, &f);

	if (rc)
		return rc;
	if (p.lf != end->lf || p.cr != end->cr || p.crlf != end->crlf || f != flags)
		return vb_err_set(VB_ECORRUPT, "the line index does not match the base at block %llu (bytes from %llu)",
				  (unsigned long long)j, (unsigned long long)(j * B));
	return VB_OK;
}

enum vb_err vb_lindex_check(struct vb_lindex *x,
			    void (*progress)(void *arg, uint64_t done, uint64_t total), void *arg)
{
	struct pass ps = {check_block, x, progress, arg, 0, NULL, 0};
	enum vb_err rc = pass(x->s, x->size, &ps);

	if (!rc && ps.crc != x->crc)
		rc = vb_err_set(VB_ECORRUPT, "the base's content does not match the CRC its line index recorded");
	return rc;
}
