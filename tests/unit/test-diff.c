/*
 * test-diff: vb_ptree_diff and vb_vbuf_diff.
 *
 * Every diff is checked the same way (check_hunks): the hunks are in
 * increasing order, none is empty, neighbours are separated by at least one
 * equal byte, the runs between them are equal bytes of the same length on
 * both sides, and applying them to A's bytes gives B's bytes exactly.
 *
 *   trees     random inserts (new data, or base ranges again) and deletes on
 *             a piece tree over a fake file, snapshots kept in memory and
 *             written at random: every pair of snapshots, in both orders.
 *   hostile   hand-made nodes that no editor writes: a child referenced
 *             twice, shared subtrees in crossing orders, pieces overlapping
 *             in their source, trees of different heights; then damaged
 *             ones (wrong sums, a wrong level, garbage, a wrong root), which
 *             must fail with VB_ECORRUPT, without a crash or a leak.
 *   store     random insert/delete/replace/revert commits on a store (the
 *             handle reopened between batches), every version's bytes kept:
 *             random version pairs (A < B, A > B, A == B), also with a tiny
 *             vb_ptree_diff_limit (coarser hunks, still correct).
 *   cost      a store of 25,000+ pieces, then 10 small edits: a fresh
 *             handle decodes at most 2 nodes per edit and level (plus the
 *             two roots), and the hunks add up to no more than the edits;
 *             the 25,000 cuts against the base with room for 1000 entries
 *             are still 25,000 hunks (one side held, the other streamed).
 *   errors    a version beyond the head, the model, a failing callback.
 */
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "files.h"
#include "le.h"
#include "stree.h"
#include "vbuf-int.h"
#include "rnd.h"
#include "vbuf.h"


/* ------------------------------------------------------------ hunks */

struct hunk {
	uint64_t a_off, a_len, b_off, b_len;
};

struct hunks {
	struct hunk *h;
	size_t n, cap;
	size_t stop_after;    /* fail with VB_EPIPE after this many (0: never) */
};

static enum vb_err collect(void *arg, uint64_t a_off, uint64_t a_len, uint64_t b_off,
			   uint64_t b_len)
{
	struct hunks *hs = arg;

	if (hs->n == hs->cap) {
		hs->cap = hs->cap ? hs->cap * 2 : 64;
		hs->h = realloc(hs->h, hs->cap * sizeof *hs->h);
		REQUIRE(hs->h);
	}
	hs->h[hs->n].a_off = a_off;
	hs->h[hs->n].a_len = a_len;
	hs->h[hs->n].b_off = b_off;
	hs->h[hs->n].b_len = b_len;
	hs->n++;
	if (hs->stop_after && hs->n >= hs->stop_after)
		return vb_err_set(VB_EPIPE, "stopped by the test");
	return VB_OK;
}

/* Check the hunks turn A into B (see the top); returns the bytes they
 * cover on both sides together. */
static uint64_t check_hunks(const unsigned char *A, uint64_t alen, const unsigned char *B,
			    uint64_t blen, const struct hunks *hs)
{
	unsigned char *out = malloc(blen + 1);
	uint64_t pa = 0, pb = 0, w = 0, total = 0;
	int bad = 0;

	REQUIRE(out);
	for (size_t i = 0; i < hs->n && !bad; i++) {
		const struct hunk *h = &hs->h[i];
		if (h->a_off < pa || h->b_off < pb || h->a_off - pa != h->b_off - pb ||
		    (i && h->a_off == pa) || (!h->a_len && !h->b_len) ||
		    h->a_len > alen || h->a_off > alen - h->a_len || h->b_len > blen ||
		    h->b_off > blen - h->b_len) {
			fprintf(stderr, "hunk %zu (%llu %llu %llu %llu) out of order or place "
				"(after A %llu, B %llu; lengths %llu %llu)\n", i,
				(unsigned long long)h->a_off, (unsigned long long)h->a_len,
				(unsigned long long)h->b_off, (unsigned long long)h->b_len,
				(unsigned long long)pa, (unsigned long long)pb,
				(unsigned long long)alen, (unsigned long long)blen);
			bad = 1;
			break;
		}
		uint64_t eq = h->a_off - pa;
		if (w + eq + h->b_len > blen) {
			bad = 1;
			break;
		}
		memcpy(out + w, A + pa, eq);           /* equal run, from A */
		w += eq;
		memcpy(out + w, B + h->b_off, h->b_len); /* the hunk's new bytes */
		w += h->b_len;
		pa = h->a_off + h->a_len;
		pb = h->b_off + h->b_len;
		total += h->a_len + h->b_len;
	}
	if (!bad && (alen - pa != blen - pb || w + (alen - pa) != blen))
		bad = 1;
	if (!bad) {
		memcpy(out + w, A + pa, alen - pa);
		if (memcmp(out, B, blen)) {
			fprintf(stderr, "applying the hunks to A does not give B\n");
			bad = 1;
		}
	}
	CHECK(!bad);
	free(out);
	return total;
}

/* --------------------------------------------------------- fake file */

#define BASE_SIZE (1u << 20)
#define MIN_OFF 16

static unsigned char *file;
static size_t file_len, file_cap;

static unsigned char base_byte(uint64_t i)
{
	return (unsigned char)((i * 2654435761u) >> 13);
}

static void file_append(const void *p, size_t n)
{
	if (file_len + n > file_cap) {
		file_cap = (file_len + n) * 2;
		file = realloc(file, file_cap);
		REQUIRE(file);
	}
	memcpy(file + file_len, p, n);
	file_len += n;
}

static uint64_t reads;

static enum vb_err fake_read(void *ctx, uint64_t off, unsigned char *buf, size_t cap,
			     size_t *len)
{
	uint32_t n;
	(void)ctx;
	reads++;
	if (off + 4 > file_len)
		return vb_err_set(VB_ECORRUPT, "no record at %llu", (unsigned long long)off);
	memcpy(&n, file + off, 4);
	if (n > cap || off + 4 + n > file_len)
		return vb_err_set(VB_ECORRUPT, "bad record at %llu", (unsigned long long)off);
	memcpy(buf, file + off + 4, n);
	*len = n;
	return VB_OK;
}

static uint64_t fake_tell(void *ctx)
{
	(void)ctx;
	return file_len;
}

static enum vb_err fake_write(void *ctx, const unsigned char *buf, size_t len)
{
	uint32_t n = (uint32_t)len;
	(void)ctx;
	file_append(&n, 4);
	file_append(buf, len);
	return VB_OK;
}

static uint64_t data_rec, data_len;
static int data_open;

static struct vb_piece append_data(const unsigned char *p, size_t n)
{
	struct vb_piece pc;
	if (!data_open) {
		data_rec = file_len;
		data_len = 0;
		data_open = 1;
	}
	pc.src = VB_SRC_DATA;
	pc.rec = data_rec;
	pc.start = data_len;
	pc.len = n;
	file_append(p, n);
	data_len += n;
	return pc;
}

/* The content of a tree, through a cursor (works on hand-made trees). */
static unsigned char *content_of(struct vb_ptree *t, const struct vb_root *r)
{
	unsigned char *out = malloc(r->bytes + 1);
	struct vb_ptree_cur c;
	uint64_t pos = 0;

	REQUIRE(out);
	REQUIRE_OK(vb_ptree_seek(t, r, 0, &c));
	while (!c.at_end) {
		const struct vb_piece *p = vb_ptree_cur_piece(&c);
		REQUIRE(pos + p->len <= r->bytes);
		for (uint64_t i = 0; i < p->len; i++)
			out[pos + i] = p->src == VB_SRC_BASE ? base_byte(p->start + i)
							     : file[p->rec + p->start + i];
		pos += p->len;
		REQUIRE_OK(vb_ptree_next(&c));
	}
	vb_ptree_cur_close(&c);
	REQUIRE(pos == r->bytes);
	return out;
}

static uint64_t tree_diff(struct vb_ptree *t, const struct vb_root *a, const unsigned char *ab,
			  const struct vb_root *b, const unsigned char *bb)
{
	struct hunks hs = {NULL, 0, 0, 0};
	CHECK_OK(vb_ptree_diff(t, a, b, collect, &hs));
	uint64_t total = check_hunks(ab, a->bytes, bb, b->bytes, &hs);
	if (a == b)
		CHECK_EQ_U64(hs.n, 0);
	free(hs.h);
	return total;
}

/* ------------------------------------------------------------ trees */

#define NSNAP 24
#define TREE_CAP (256u << 10)

struct snap {
	struct vb_root r;
	unsigned char *bytes;
};

static void test_trees(void)
{
	struct vb_ptree_io io = {NULL, fake_read, fake_tell, fake_write, MIN_OFF, BASE_SIZE, 0, NULL};
	struct vb_ptree *t;
	struct snap snaps[NSNAP];
	int nsnap = 0;
	unsigned char *model = malloc(TREE_CAP), *buf = malloc(4096);
	uint64_t len, pairs = 0, flushes = 0;
	struct vb_root r = vb_root_empty();

	REQUIRE(model && buf);
	REQUIRE_OK(vb_ptree_create(&io, 64 * 1024, &t));
	struct vb_piece whole = {VB_SRC_BASE, 0, 0, 64 * 1024, {0, 0, 0, 0, 0, 0}};
	REQUIRE_OK(vb_ptree_insert(t, &r, 0, &whole));
	len = whole.len;
	for (uint64_t i = 0; i < len; i++)
		model[i] = base_byte(i);

	for (int step = 0; step < 6000; step++) {
		uint64_t kind = rnd(10), pos = rnd(len + 1);
		if (kind < 5 || len < 64) {
			uint64_t n = 1 + rnd(rnd(4) ? 16 : 2000);
			struct vb_piece p;
			if (len + n > TREE_CAP)
				continue;
			if (rnd(3)) {
				for (uint64_t i = 0; i < n; i++)
					buf[i % 4096] = (unsigned char)rnd(256);
				if (n > 4096)
					n = 4096;
				p = append_data(buf, (size_t)n);
			} else {
				/* base bytes that may already be in the content */
				p.src = VB_SRC_BASE;
				p.rec = 0;
				p.start = rnd(BASE_SIZE - n);
				p.len = n;
			}
			REQUIRE_OK(vb_ptree_insert(t, &r, pos, &p));
			memmove(model + pos + n, model + pos, len - pos);
			for (uint64_t i = 0; i < n; i++)
				model[pos + i] = p.src == VB_SRC_BASE ? base_byte(p.start + i)
								      : file[p.rec + p.start + i];
			len += n;
		} else if (kind < 9) {
			uint64_t n = rnd(rnd(8) ? 40 : len - pos + 1);
			if (n > len - pos)
				n = len - pos;
			REQUIRE_OK(vb_ptree_delete(t, &r, pos, n));
			memmove(model + pos, model + pos + n, len - pos - n);
			len -= n;
		} else if (rnd(4) == 0) {
			REQUIRE_OK(vb_ptree_flush(t, &r));
			data_open = 0;
			flushes++;
		}
		REQUIRE(r.bytes == len);
		if (step % 20 == 19) {
			/* keep a snapshot (sharing the in-memory nodes, if any) */
			int k;
			if (nsnap < NSNAP) {
				k = nsnap++;
			} else {
				k = (int)rnd(NSNAP);
				vb_root_release(t, &snaps[k].r);
				free(snaps[k].bytes);
			}
			snaps[k].r = vb_root_share(&r);
			snaps[k].bytes = malloc(len + 1);
			REQUIRE(snaps[k].bytes);
			memcpy(snaps[k].bytes, model, len);
		}
		if (step % 100 == 99) {
			for (int q = 0; q < 40; q++) {
				struct snap *x = &snaps[rnd(nsnap)], *y = &snaps[rnd(nsnap)];
				tree_diff(t, &x->r, x->bytes, &y->r, y->bytes);
				tree_diff(t, &x->r, x->bytes, &r, model);
				tree_diff(t, &r, model, &y->r, y->bytes);
				pairs += 3;
			}
			tree_diff(t, &r, model, &r, model);
		}
		if (check_failures) {
			fprintf(stderr, "trees: failed at step %d (seed 0x%llx)\n", step,
				(unsigned long long)rnd_seed);
			exit(1);
		}
	}
	for (int k = 0; k < nsnap; k++) {
		vb_root_release(t, &snaps[k].r);
		free(snaps[k].bytes);
	}
	vb_root_release(t, &r);
	struct vb_ptree_stats st;
	vb_ptree_stats(t, &st);
	CHECK_EQ_U64(st.nodes_live, st.cache_nodes); /* the diffs kept no node */
	vb_ptree_free(t);
	free(model);
	free(buf);
	printf("trees: %llu pairs, %llu flushes\n", (unsigned long long)pairs,
	       (unsigned long long)flushes);
}

/* ---------------------------------------------------------- hostile */

/* Write a node record; returns its offset. */
static uint64_t write_leaf(const struct vb_piece *p, unsigned n)
{
	unsigned char b[VB_PTREE_NODE_BYTES];
	uint64_t self = file_len;
	size_t o = 0;

	o += vb_varint_put(b + o, 0);
	o += vb_varint_put(b + o, n);
	for (unsigned i = 0; i < n; i++) {
		o += vb_varint_put(b + o, p[i].src);
		if (p[i].src == VB_SRC_DATA)
			o += vb_varint_put(b + o, self - p[i].rec);
		o += vb_varint_put(b + o, p[i].start);
		o += vb_varint_put(b + o, p[i].len);
	}
	fake_write(NULL, b, o);
	return self;
}

static uint64_t write_inner(unsigned level, const struct vb_root *k, unsigned n)
{
	unsigned char b[VB_PTREE_NODE_BYTES];
	uint64_t self = file_len;
	size_t o = 0;

	o += vb_varint_put(b + o, level);
	o += vb_varint_put(b + o, n);
	for (unsigned i = 0; i < n; i++) {
		o += vb_varint_put(b + o, self - k[i].off);
		o += vb_varint_put(b + o, k[i].bytes);
		o += vb_varint_put(b + o, k[i].pieces);
	}
	fake_write(NULL, b, o);
	return self;
}

#define POOL 80

static void test_hostile(void)
{
	struct vb_ptree_io io = {NULL, fake_read, fake_tell, fake_write, MIN_OFF, BASE_SIZE, 0, NULL};
	struct vb_ptree *t;
	struct vb_root pool[POOL];
	unsigned level_of[POOL];
	int n = 0;
	unsigned char blob[512];
	uint64_t pairs = 0;

	REQUIRE_OK(vb_ptree_create(&io, 16 * 1024, &t));
	data_open = 0;
	rnd_bytes(blob, sizeof blob);
	struct vb_piece bp = append_data(blob, sizeof blob);
	data_open = 0;
	/* "popular" source ranges, so that pieces overlap across leaves */
	uint64_t popular[6];
	for (int i = 0; i < 6; i++)
		popular[i] = rnd(BASE_SIZE - 200);

	for (int i = 0; i < 30; i++) {
		struct vb_piece p[6];
		unsigned np = 1 + (unsigned)rnd(6);
		struct vb_root k = {0, np, 0, NULL, {0, 0, 0, 0, 0, 0}, 0};
		for (unsigned j = 0; j < np; j++) {
			if (rnd(4) == 0) {
				p[j].src = VB_SRC_DATA;
				p[j].rec = bp.rec;
				p[j].start = rnd(400);
				p[j].len = 1 + rnd(100);
			} else {
				p[j].src = VB_SRC_BASE;
				p[j].rec = 0;
				p[j].start = popular[rnd(6)] + rnd(100);
				p[j].len = 1 + rnd(100);
			}
			k.bytes += p[j].len;
		}
		k.off = write_leaf(p, np);
		level_of[n] = 0;
		pool[n++] = k;
	}
	for (unsigned level = 1; level <= 3; level++) {
		int lo = 0, hi = n;
		while (lo < n && level_of[lo] != level - 1)
			lo++;
		for (int i = 0; i < 16; i++) {
			struct vb_root kids[6], k = {0, 0, 0, NULL, {0, 0, 0, 0, 0, 0}, 0};
			unsigned nk = 1 + (unsigned)rnd(6);
			for (unsigned j = 0; j < nk; j++) {
				kids[j] = pool[lo + (int)rnd((uint64_t)(hi - lo))];
				k.bytes += kids[j].bytes;
				k.pieces += kids[j].pieces;
			}
			k.off = write_inner(level, kids, nk);
			level_of[n] = level;
			pool[n++] = k;
		}
	}
	unsigned char *bytes[POOL];
	for (int i = 0; i < n; i++)
		bytes[i] = content_of(t, &pool[i]);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++) {
			tree_diff(t, &pool[i], bytes[i], &pool[j], bytes[j]);
			pairs++;
		}
	/* the same with a tiny memory limit: coarser, still correct */
	vb_ptree_diff_limit(t, 40);
	for (int q = 0; q < 400; q++) {
		int i = (int)rnd((uint64_t)n), j = (int)rnd((uint64_t)n);
		tree_diff(t, &pool[i], bytes[i], &pool[j], bytes[j]);
	}
	vb_ptree_diff_limit(t, VB_PTREE_DIFF_ITEMS);

	/* Damaged trees fail, whichever side they are on. */
	struct hunks hs = {NULL, 0, 0, 0};
	/* Each damaged tree is compared with its twin, the same tree with a
	 * sound node where the damage is, so that the damaged node has to be
	 * read (a stretch replaced whole need not be read at all). */
	struct vb_root bad[5], other[5];
	int nbad = 0;
	struct vb_piece q = {VB_SRC_BASE, 0, 54321, 17, {0, 0, 0, 0, 0, 0}};
	struct vb_root sound = {17, 1, write_leaf(&q, 1), NULL, {0, 0, 0, 0, 0, 0}, 0};
	{
		/* a child claimed with the wrong sums */
		struct vb_root kids[2] = {pool[0], pool[1]};
		kids[1].bytes += 1;
		struct vb_root k = {kids[0].bytes + kids[1].bytes, kids[0].pieces + kids[1].pieces,
				    0, NULL, {0, 0, 0, 0, 0, 0}, 0};
		k.off = write_inner(1, kids, 2);
		bad[nbad] = k;
		kids[1] = sound;
		k.bytes = kids[0].bytes + kids[1].bytes;
		k.pieces = kids[0].pieces + kids[1].pieces;
		k.off = write_inner(1, kids, 2);
		other[nbad++] = k;
	}
	{
		/* a level-2 node whose child is a leaf (one of its own: a leaf
		 * shared with the other side would be skipped, rightly, as the
		 * same content whatever level it is claimed at) */
		struct vb_piece p = {VB_SRC_BASE, 0, 12345, 17, {0, 0, 0, 0, 0, 0}};
		struct vb_root leaf = {17, 1, write_leaf(&p, 1), NULL, {0, 0, 0, 0, 0, 0}, 0};
		struct vb_root k = {17, 1, write_inner(2, &leaf, 1), NULL, {0, 0, 0, 0, 0, 0}, 0};
		struct vb_root top[2] = {pool[50], k};   /* pool[50]: a level-2 node */
		struct vb_root k2 = {top[0].bytes + 17, top[0].pieces + 1, 0, NULL, {0, 0, 0, 0, 0, 0}, 0};
		REQUIRE(level_of[50] == 2);
		k2.off = write_inner(3, top, 2);
		bad[nbad] = k2;
		struct vb_root mid = {17, 1, write_inner(1, &sound, 1), NULL, {0, 0, 0, 0, 0, 0}, 0};
		top[1] = (struct vb_root){17, 1, write_inner(2, &mid, 1), NULL, {0, 0, 0, 0, 0, 0}, 0};
		k2.off = write_inner(3, top, 2);
		other[nbad++] = k2;
	}
	{
		/* garbage where a node should be */
		unsigned char junk[7] = {0, 200, 255, 255, 255, 255, 255};
		struct vb_root k = {17, 1, file_len, NULL, {0, 0, 0, 0, 0, 0}, 0};
		fake_write(NULL, junk, sizeof junk);
		struct vb_root kids[2] = {pool[3], k};
		struct vb_root p = {kids[0].bytes + 17, kids[0].pieces + 1, 0, NULL, {0, 0, 0, 0, 0, 0}, 0};
		p.off = write_inner(1, kids, 2);
		bad[nbad] = p;
		kids[1] = sound;
		p.off = write_inner(1, kids, 2);
		other[nbad++] = p;
	}
	{
		/* a root whose sums are wrong */
		struct vb_root k = pool[n - 2];
		k.bytes += 5;
		bad[nbad] = k;
		other[nbad++] = pool[n - 1];
	}
	{
		/* a child offset that names no record */
		struct vb_root kids[2] = {pool[4], {17, 1, file_len - 1, NULL, {0, 0, 0, 0, 0, 0}, 0}};
		struct vb_root p = {kids[0].bytes + 17, kids[0].pieces + 1, 0, NULL, {0, 0, 0, 0, 0, 0}, 0};
		p.off = write_inner(1, kids, 2);
		bad[nbad] = p;
		kids[1] = sound;
		p.off = write_inner(1, kids, 2);
		other[nbad++] = p;
	}
	for (int i = 0; i < nbad; i++) {
		enum vb_err rc1, rc2;
		hs.n = 0;
		rc1 = vb_ptree_diff(t, &bad[i], &other[i], collect, &hs);
		hs.n = 0;
		rc2 = vb_ptree_diff(t, &other[i], &bad[i], collect, &hs);
		if (rc1 != VB_ECORRUPT || rc2 != VB_ECORRUPT)
			fprintf(stderr, "damaged tree %d: %s, %s (%s)\n", i, vb_strerror(rc1),
				vb_strerror(rc2), vb_err_detail());
		CHECK(rc1 == VB_ECORRUPT && rc2 == VB_ECORRUPT);
		/* the same damaged tree on both sides is the same subtree */
		hs.n = 0;
		CHECK_OK(vb_ptree_diff(t, &bad[i], &bad[i], collect, &hs));
		CHECK_EQ_U64(hs.n, 0);
	}
	/* A failing callback stops the walk with its code. */
	hs.n = 0;
	hs.stop_after = 1;
	CHECK(vb_ptree_diff(t, &pool[0], &pool[n - 1], collect, &hs) == VB_EPIPE);
	CHECK_EQ_U64(hs.n, 1);
	free(hs.h);
	for (int i = 0; i < n; i++)
		free(bytes[i]);
	struct vb_ptree_stats st;
	vb_ptree_stats(t, &st);
	CHECK_EQ_U64(st.nodes_live, st.cache_nodes);
	vb_ptree_free(t);
	printf("hostile: %llu pairs of %d hand-made trees, %d damaged ones\n",
	       (unsigned long long)pairs, n, nbad);
}

/* ------------------------------------------------------------ store */

#define MAXV 160
#define STORE_BASE (64u << 10)
#define STORE_MAX (192u << 10)

static unsigned char *vbytes[MAXV + 1];
static uint64_t vlen[MAXV + 1];

static unsigned char *read_all(struct vb_vbuf *b, uint64_t *len)
{
	*len = vb_vbuf_len(b);
	unsigned char *p = malloc(*len + 1);
	REQUIRE(p);
	REQUIRE_OK(vb_vbuf_read(b, 0, p, (size_t)*len));
	return p;
}

static uint64_t vbuf_diff(struct vb_vbuf *b, uint64_t va, uint64_t vb)
{
	struct hunks hs = {NULL, 0, 0, 0};
	CHECK_OK(vb_vbuf_diff(b, va, vb, collect, &hs));
	uint64_t total = check_hunks(vbytes[va], vlen[va], vbytes[vb], vlen[vb], &hs);
	if (va == vb)
		CHECK_EQ_U64(hs.n, 0);
	free(hs.h);
	return total;
}

static void test_store(const char *dir)
{
	char store[300], base[300];
	struct vb_vbuf_opts wo, ro;
	struct vb_vbuf *b = NULL;
	unsigned char *buf = malloc(8192);
	uint64_t pairs = 0, reverts = 0, nv;

	REQUIRE(buf);
	snprintf(store, sizeof store, "%s/s.vb", dir);
	snprintf(base, sizeof base, "%s/base", dir);
	rnd_file(base, STORE_BASE);
	vb_vbuf_opts_init(&wo);
	wo.write = 1;
	wo.create = 1;
	wo.base = base;
	wo.no_sync = 1;
	wo.node_cache = 32 * 1024;
	vb_vbuf_opts_init(&ro);

	for (nv = 1; nv <= MAXV; nv++) {
		if (!b) {
			REQUIRE_OK(vb_vbuf_open(store, &wo, VB_HEAD, &b));
			wo.create = 0;
			wo.base = NULL;
		}
		if (nv == 1) {
			/* version 0: the base */
			vbytes[0] = read_all(b, &vlen[0]);
		}
		unsigned nops = 1 + (unsigned)rnd(6);
		for (unsigned i = 0; i < nops; i++) {
			uint64_t len = vb_vbuf_len(b), kind = rnd(20);
			uint64_t off = rnd(4) ? rnd(len + 1) : (rnd(2) ? 0 : len);
			if (len > STORE_MAX && kind < 8)
				kind = 10;
			if (kind < 8) {
				uint64_t n = rnd(5) ? rnd(40) : rnd(8192);
				rnd_bytes(buf, (size_t)n);
				REQUIRE_OK(vb_vbuf_insert(b, off, buf, n));
			} else if (kind < 14) {
				uint64_t n = rnd(8) ? rnd(64) : rnd(len - off + 1);
				if (n > len - off)
					n = len - off;
				REQUIRE_OK(vb_vbuf_delete(b, off, n));
			} else if (kind < 18) {
				uint64_t n = rnd(100), m = rnd(100);
				if (n > len - off)
					n = len - off;
				rnd_bytes(buf, (size_t)m);
				REQUIRE_OK(vb_vbuf_replace(b, off, n, buf, m));
			} else {
				REQUIRE_OK(vb_vbuf_revert(b, rnd(nv)));
				reverts++;
			}
		}
		uint64_t v;
		REQUIRE_OK(vb_vbuf_commit(b, NULL, &v));
		REQUIRE(v == nv);
		vbytes[v] = read_all(b, &vlen[v]);
		if (rnd(3) == 0) {
			vb_vbuf_close(b);
			b = NULL;
		}
		if (nv % 10 == 0) {
			/* pairs on the writer (if open) or on a fresh reader */
			struct vb_vbuf *r = b;
			if (!r)
				REQUIRE_OK(vb_vbuf_open(store, &ro, VB_HEAD, &r));
			for (int q = 0; q < 30; q++) {
				uint64_t va = rnd(nv + 1), vb = rnd(4) ? rnd(nv + 1) : va;
				vbuf_diff(r, va, vb);
				vbuf_diff(r, vb, va);
				pairs += 2;
			}
			if (r != b)
				vb_vbuf_close(r);
		}
		if (check_failures) {
			fprintf(stderr, "store: failed at version %llu (seed 0x%llx)\n",
				(unsigned long long)nv, (unsigned long long)rnd_seed);
			exit(1);
		}
	}
	if (b)
		vb_vbuf_close(b);
	REQUIRE_OK(vb_vbuf_open(store, &ro, VB_HEAD, &b));
	for (int q = 0; q < 300; q++) {
		uint64_t va = rnd(MAXV + 1), vb = rnd(MAXV + 1);
		vbuf_diff(b, va, vb);
		pairs++;
	}
	/* a tiny limit: stretches reported whole, the answer still right */
	vb_ptree_diff_limit(vb_vbuf_tree(b), 64);
	for (int q = 0; q < 100; q++) {
		vbuf_diff(b, rnd(MAXV + 1), rnd(MAXV + 1));
		pairs++;
	}

	/* errors */
	struct hunks hs = {NULL, 0, 0, 0};
	CHECK(vb_vbuf_diff(b, MAXV + 1, 0, collect, &hs) == VB_ENOENT);
	CHECK(!strcmp(vb_err_detail(), "version 161 does not exist (the newest is 160)"));
	CHECK(vb_vbuf_diff(b, 3, UINT64_MAX, collect, &hs) == VB_ENOENT);
	CHECK_EQ_U64(hs.n, 0);
	vb_ptree_diff_limit(vb_vbuf_tree(b), VB_PTREE_DIFF_ITEMS);
	hs.stop_after = 1;
	uint64_t va = 0, vb = MAXV;
	CHECK(vb_vbuf_diff(b, va, vb, collect, &hs) == VB_EPIPE);
	CHECK_EQ_U64(hs.n, 1);
	free(hs.h);
	vb_vbuf_close(b);

	struct vb_vbuf *m;
	hs.h = NULL;
	hs.n = hs.cap = hs.stop_after = 0;
	REQUIRE_OK(vb_vbuf_open_mem("abc", 3, &m));
	CHECK(vb_vbuf_diff(m, 0, 0, collect, &hs) == VB_EINVAL);
	CHECK(vb_vbuf_diff(m, 1, 0, collect, &hs) == VB_ENOENT);
	vb_vbuf_close(m);

	for (uint64_t v = 0; v <= MAXV; v++)
		free(vbytes[v]);
	unlink(store);
	unlink(base);
	free(buf);
	printf("store: %llu version pairs, %llu reverts\n", (unsigned long long)pairs,
	       (unsigned long long)reverts);
}

/* ------------------------------------------------------------- cost */

struct cost {
	uint64_t misses, hunk_bytes, nhunks;
};

static struct cost cost_of(const char *store, uint64_t va, uint64_t vb, int *depth)
{
	struct vb_vbuf_opts ro;
	struct vb_vbuf *b, *ra, *rb;
	struct vb_ptree_stats s0, s1;
	struct hunks hs = {NULL, 0, 0, 0};
	struct cost c;
	uint64_t la, lb;

	vb_vbuf_opts_init(&ro);
	REQUIRE_OK(vb_vbuf_open(store, &ro, VB_HEAD, &b));
	struct vb_ptree *t = vb_vbuf_tree(b);
	struct vb_ptree_cur cur;
	struct vb_commit *head = malloc(sizeof *head);
	REQUIRE(head);
	REQUIRE_OK(vb_vbuf_info(b, vb_vbuf_head(b), head));
	struct vb_root root = vb_stree_root(head);
	free(head);
	vb_ptree_stats(t, &s0);
	REQUIRE_OK(vb_vbuf_diff(b, va, vb, collect, &hs));
	vb_ptree_stats(t, &s1);
	REQUIRE_OK(vb_ptree_seek(t, &root, 0, &cur));
	*depth = cur.depth;
	vb_ptree_cur_close(&cur);
	vb_vbuf_close(b);

	REQUIRE_OK(vb_vbuf_open(store, &ro, va, &ra));
	REQUIRE_OK(vb_vbuf_open(store, &ro, vb, &rb));
	unsigned char *A = read_all(ra, &la), *B = read_all(rb, &lb);
	c.hunk_bytes = check_hunks(A, la, B, lb, &hs);
	c.misses = s1.cache_misses - s0.cache_misses;
	c.nhunks = hs.n;
	free(A);
	free(B);
	free(hs.h);
	vb_vbuf_close(ra);
	vb_vbuf_close(rb);
	return c;
}

static void test_cost(const char *dir)
{
	char store[300], base[300];
	struct vb_vbuf_opts wo;
	struct vb_vbuf *b;
	const size_t base_len = 2u << 20;
	uint64_t va, vb, edit_bytes = 0, v;
	unsigned char text[32];

	snprintf(store, sizeof store, "%s/c.vb", dir);
	snprintf(base, sizeof base, "%s/cbase", dir);
	rnd_file(base, base_len);
	vb_vbuf_opts_init(&wo);
	wo.write = 1;
	wo.create = 1;
	wo.base = base;
	wo.no_sync = 1;
	REQUIRE_OK(vb_vbuf_open(store, &wo, VB_HEAD, &b));
	/* one byte out of every 80: a tree of some 26,000 pieces */
	for (uint64_t off = (base_len / 80 - 1) * 79; ; off -= 79) {
		REQUIRE_OK(vb_vbuf_delete(b, off, 1));
		if (off < 79)
			break;
	}
	REQUIRE_OK(vb_vbuf_commit(b, "cut", &va));
	uint64_t pieces = vb_vbuf_pieces(b);
	CHECK(pieces > 25000);
	/* ten small edits, one version each, spread over the content */
	for (int i = 0; i < 10; i++) {
		uint64_t len = vb_vbuf_len(b), off = rnd(len - 64), n = 1 + rnd(20);
		rnd_bytes(text, sizeof text);
		switch (i % 3) {
		case 0:
			REQUIRE_OK(vb_vbuf_insert(b, off, text, n));
			edit_bytes += n;
			break;
		case 1:
			REQUIRE_OK(vb_vbuf_delete(b, off, n));
			edit_bytes += n;
			break;
		default:
			REQUIRE_OK(vb_vbuf_replace(b, off, n, text, 5));
			edit_bytes += n + 5;
		}
		REQUIRE_OK(vb_vbuf_commit(b, NULL, &vb));
	}
	vb_vbuf_close(b);

	int depth;
	struct cost fwd = cost_of(store, va, vb, &depth), back = cost_of(store, vb, va, &depth);
	/* each edit rewrote the nodes on its path; both sides' versions of
	 * those are read, and nothing else but the two roots */
	uint64_t bound = 10 * (uint64_t)depth * 2 + 2;
	printf("cost: %llu pieces, depth %d: %llu and %llu nodes read (bound %llu), "
	       "%llu and %llu hunks, %llu and %llu bytes in them (edits: %llu bytes)\n",
	       (unsigned long long)pieces, depth, (unsigned long long)fwd.misses,
	       (unsigned long long)back.misses, (unsigned long long)bound,
	       (unsigned long long)fwd.nhunks, (unsigned long long)back.nhunks,
	       (unsigned long long)fwd.hunk_bytes, (unsigned long long)back.hunk_bytes,
	       (unsigned long long)edit_bytes);
	CHECK(depth >= 3);
	CHECK(fwd.misses <= bound);
	CHECK(back.misses <= bound);
	CHECK(fwd.hunk_bytes <= edit_bytes);
	CHECK(back.hunk_bytes <= edit_bytes);
	CHECK(fwd.nhunks >= 1 && fwd.nhunks <= 10);

	/* The cut against the base, with room for only 1000 entries: the
	 * base's one piece is held and the cut version streamed past it, so
	 * every deleted byte is still a hunk of its own. */
	{
		struct vb_vbuf_opts ro;
		struct vb_vbuf *r;
		struct hunks hs = {NULL, 0, 0, 0};
		vb_vbuf_opts_init(&ro);
		REQUIRE_OK(vb_vbuf_open(store, &ro, VB_HEAD, &r));
		vb_ptree_diff_limit(vb_vbuf_tree(r), 1000);
		CHECK_OK(vb_vbuf_diff(r, 0, va, collect, &hs));
		CHECK_EQ_U64(hs.n, base_len / 80);
		for (size_t i = 0; i < hs.n; i++)
			CHECK(hs.h[i].a_len == 1 && hs.h[i].b_len == 0 &&
			      hs.h[i].a_off == hs.h[i].b_off + i);
		hs.n = 0;
		CHECK_OK(vb_vbuf_diff(r, va, 0, collect, &hs));
		CHECK_EQ_U64(hs.n, base_len / 80);
		free(hs.h);
		vb_vbuf_close(r);
	}

	/* the same ten edits undone by a revert: no difference at all */
	struct vb_vbuf_opts wo2 = wo;
	wo2.create = 0;
	wo2.base = NULL;
	REQUIRE_OK(vb_vbuf_open(store, &wo2, VB_HEAD, &b));
	REQUIRE_OK(vb_vbuf_revert(b, va));
	REQUIRE_OK(vb_vbuf_commit(b, NULL, &v));
	vb_vbuf_close(b);
	struct cost same = cost_of(store, va, v, &depth);
	CHECK_EQ_U64(same.misses, 0);
	CHECK_EQ_U64(same.nhunks, 0);
	unlink(store);
	unlink(base);
}

int main(void)
{
	rnd_init(test_seed());
	tmp_dir_make("vb-test-diff");
	unsigned char zero[MIN_OFF] = {0};
	file_append(zero, MIN_OFF);

	test_trees();
	test_hostile();
	test_store(tmp_dir);
	test_cost(tmp_dir);

	rmdir(tmp_dir);
	free(file);
	return test_status("test-diff");
}
