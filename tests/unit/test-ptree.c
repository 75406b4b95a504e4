/*
 * test-ptree: the piece tree against a flat byte-array model.
 *
 * A fake "file" in memory holds data records (raw bytes) and node records
 * ([u32 length][payload]).  Random inserts, deletes and replaces are applied
 * to the tree and to the model; after each step the content read through a
 * cursor must equal the model, every invariant must hold, and no two
 * neighbouring pieces may be contiguous (coalescing is complete).  Flushes
 * happen at random; old persisted roots are kept and re-read later to show
 * that edits never change a written version.
 */
#include <string.h>

#include "check.h"
#include "lines.h"
#include "ptree.h"

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

static enum vb_err fake_read(void *ctx, uint64_t off, unsigned char *buf, size_t cap,
			     size_t *len)
{
	uint32_t n;
	(void)ctx;
	REQUIRE(off + 4 <= file_len);
	memcpy(&n, file + off, 4);
	REQUIRE(n <= cap && off + 4 + n <= file_len);
	memcpy(buf, file + off + 4, n);
	*len = n;
	return VB_OK;
}

static uint64_t fake_tell(void *ctx)
{
	(void)ctx;
	return file_len;
}

static uint64_t node_writes, node_bytes;

static enum vb_err fake_write(void *ctx, const unsigned char *buf, size_t len)
{
	uint32_t n = (uint32_t)len;
	(void)ctx;
	file_append(&n, 4);
	file_append(buf, len);
	node_writes++;
	node_bytes += len + 4;
	return VB_OK;
}

/* Current data record: bytes appended since the last flush. */
static uint64_t data_rec;
static uint64_t data_len;
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

static void read_all(struct vb_ptree *t, const struct vb_root *r, unsigned char *out,
		     uint64_t *pieces_seen, int *mergeable)
{
	struct vb_ptree_cur c;
	uint64_t pos = 0, n = 0;
	struct vb_piece prev = {0, 0, 0, 0, {0, 0, 0, 0, 0, 0}};

	*mergeable = 0;
	REQUIRE_OK(vb_ptree_seek(t, r, 0, &c));
	while (!c.at_end) {
		const struct vb_piece *p = vb_ptree_cur_piece(&c);
		CHECK_EQ_U64(c.piece_pos, pos);
		for (uint64_t i = 0; i < p->len; i++)
			out[pos + i] = p->src == VB_SRC_BASE ? base_byte(p->start + i)
							     : file[p->rec + p->start + i];
		if (n && vb_piece_contiguous(&prev, p))
			*mergeable = 1;
		prev = *p;
		pos += p->len;
		n++;
		REQUIRE_OK(vb_ptree_next(&c));
	}
	vb_ptree_cur_close(&c);
	CHECK_EQ_U64(pos, r->bytes);
	*pieces_seen = n;
}

/* Walk backwards from the end and compare piece positions. */
static void check_backward(struct vb_ptree *t, const struct vb_root *r)
{
	struct vb_ptree_cur c;
	uint64_t pos = r->bytes, n = 0;

	REQUIRE_OK(vb_ptree_seek(t, r, r->bytes, &c));
	CHECK(c.at_end);
	while (pos > 0) {
		REQUIRE_OK(vb_ptree_prev(&c));
		pos -= vb_ptree_cur_piece(&c)->len;
		CHECK_EQ_U64(c.piece_pos, pos);
		n++;
	}
	CHECK(vb_ptree_prev(&c) == VB_ERANGE);
	vb_ptree_cur_close(&c);
	CHECK_EQ_U64(n, r->pieces);
}

struct saved {
	struct vb_root root;
	unsigned char *content;
	uint64_t len;
};

static void test_paper_example(struct vb_ptree *t)
{
	struct vb_root r = vb_root_empty();
	struct vb_piece base = {VB_SRC_BASE, 0, 0, 11, {0, 0, 0, 0, 0, 0}};
	REQUIRE_OK(vb_ptree_insert(t, &r, 0, &base));
	struct vb_piece a = append_data((const unsigned char *)"big ", 4);
	REQUIRE_OK(vb_ptree_insert(t, &r, 6, &a));
	CHECK_EQ_U64(r.pieces, 3);
	struct vb_piece b = append_data((const unsigned char *)"red ", 4);
	REQUIRE_OK(vb_ptree_insert(t, &r, 10, &b));
	CHECK_EQ_U64(r.pieces, 3); /* extended, not added */
	CHECK_EQ_U64(r.bytes, 19);
	REQUIRE_OK(vb_ptree_delete(t, &r, 6, 8));
	CHECK_EQ_U64(r.pieces, 1); /* base halves merged back */
	CHECK_EQ_U64(r.bytes, 11);
	vb_root_release(t, &r);
	data_open = 0;
}

/* Byte i of piece p. */
static unsigned char piece_byte(const struct vb_piece *p, uint64_t i)
{
	return p->src == VB_SRC_BASE ? base_byte(p->start + i) : file[p->rec + p->start + i];
}

/* io.lines of a counting tree: the bytes counted, any length. */
static enum vb_err fake_lines(void *ctx, const struct vb_piece *p, uint64_t skip, uint64_t take,
			      uint64_t limit, struct vb_lines *out, int *cr_before, int *lf_after)
{
	static unsigned char buf[BASE_SIZE];
	(void)ctx;
	(void)limit;
	REQUIRE(take <= sizeof buf);
	for (uint64_t i = 0; i < take; i++)
		buf[i] = piece_byte(p, skip + i);
	*out = vb_lines_scan(buf, take);
	*cr_before = skip && piece_byte(p, skip - 1) == '\r';
	*lf_after = skip + take < p->len && piece_byte(p, skip + take) == '\n';
	return VB_OK;
}

/*
 * vb_ptree_build against inserts at the end: for piece counts around
 * every fill boundary (one leaf, two, a full level, a level more) and
 * random ones, with contiguous neighbours to merge, in a counting and a
 * plain tree: the same pieces, the same sums and counts, every node
 * within its fill bounds, and the tree still takes edits.
 */
static void test_build(int counts, uint64_t *seed)
{
	struct vb_ptree_io io = {NULL, fake_read, fake_tell, fake_write, MIN_OFF, BASE_SIZE,
				 counts, counts ? fake_lines : NULL};
	static const uint64_t sizes[] = {0, 1, 2, 7, 8, 9, 31, 32, 33, 39, 40, 41, 63, 64, 65,
					 1023, 1024, 1025, 1031, 1032, 1056, 32 * 32 * 32 + 3,
					 32 * 32 * 32 * 2 + 5};
	struct vb_ptree *t;
	unsigned char *want = malloc(BASE_SIZE * 4), *got = malloc(BASE_SIZE * 4);

	REQUIRE(want && got);
	REQUIRE_OK(vb_ptree_create(&io, 256 * 1024, &t));
	for (size_t si = 0; si < sizeof sizes / sizeof sizes[0] + 20; si++) {
		uint64_t n = si < sizeof sizes / sizeof sizes[0] ? sizes[si] : test_rand(seed) % 5000;
		struct vb_ptree_build *b;
		struct vb_root ins = vb_root_empty(), blt;
		uint64_t len = 0, bstart = 0;
		REQUIRE_OK(vb_ptree_build_begin(t, &b));
		for (uint64_t i = 0; i < n; i++) {
			uint64_t k = 1 + test_rand(seed) % 40;
			struct vb_piece p;
			if (len + k > BASE_SIZE * 4)
				break;
			if (test_rand(seed) % 2) {
				/* a base piece: now and then right after the last */
				if (test_rand(seed) % 4 == 0 || bstart + k > BASE_SIZE)
					bstart = test_rand(seed) % (BASE_SIZE - k);
				p = (struct vb_piece){VB_SRC_BASE, 0, bstart, k, {0, 0, 0, 0, 0, 0}};
				bstart += k + (test_rand(seed) % 3 != 0);
			} else {
				unsigned char d[40];
				for (uint64_t j = 0; j < k; j++)
					d[j] = "ab\r\nz"[test_rand(seed) % 5];
				if (test_rand(seed) % 3 == 0)
					data_open = 0;
				p = append_data(d, k);
			}
			for (uint64_t j = 0; j < k; j++)
				want[len + j] = piece_byte(&p, j);
			if (counts)
				p.lines = vb_lines_scan(want + len, k);
			REQUIRE_OK(vb_ptree_insert(t, &ins, len, &p));
			REQUIRE_OK(vb_ptree_build_add(b, &p));
			len += k;
		}
		data_open = 0;
		REQUIRE_OK(vb_ptree_build_end(b, &blt));
		CHECK_EQ_U64(blt.bytes, len);
		CHECK_EQ_U64(blt.pieces, ins.pieces);
		CHECK(blt.off == 0 && (len ? blt.mem != NULL : blt.mem == NULL));
		if (counts && len) {
			struct vb_lines a, w = vb_lines_scan(want, len);
			vb_ptree_lines(t, &blt, &a);
			CHECK(a.known && a.lf == w.lf && a.cr == w.cr && a.crlf == w.crlf &&
			      a.head_lf == w.head_lf && a.tail_cr == w.tail_cr);
		}
		for (int round = 0; round < 2; round++) {
			uint64_t pieces;
			int mergeable;
			CHECK_OK(vb_ptree_check(t, &blt));
			read_all(t, &blt, got, &pieces, &mergeable);
			CHECK(memcmp(got, want, len) == 0);
			CHECK_EQ_U64(pieces, blt.pieces);
			CHECK(!mergeable);
			check_backward(t, &blt);
			/* then an edit in the middle and a flush */
			if (!round && len > 2) {
				uint64_t at = test_rand(seed) % len, m = 1 + test_rand(seed) % (len - at);
				if (at + m > len)
					m = len - at;
				REQUIRE_OK(vb_ptree_delete(t, &blt, at, m));
				memmove(want + at, want + at + m, len - at - m);
				len -= m;
				REQUIRE_OK(vb_ptree_flush(t, &blt));
			}
		}
		vb_root_release(t, &ins);
		vb_root_release(t, &blt);
		if (check_failures) {
			fprintf(stderr, "build: failed at %llu pieces (counts %d)\n",
				(unsigned long long)n, counts);
			exit(1);
		}
	}
	/* an abandoned build frees what it holds */
	struct vb_ptree_build *b;
	REQUIRE_OK(vb_ptree_build_begin(t, &b));
	for (int i = 0; i < 3000; i++) {
		struct vb_piece p = {VB_SRC_BASE, 0, (uint64_t)i * 2, 1, {0, 0, 0, 0, 0, 0}};
		REQUIRE_OK(vb_ptree_build_add(b, &p));
	}
	vb_ptree_build_free(b);
	vb_ptree_build_free(NULL);
	/* every node left is one the cache holds */
	struct vb_ptree_stats st;
	vb_ptree_stats(t, &st);
	CHECK_EQ_U64(st.nodes_live, st.cache_nodes);
	vb_ptree_free(t);
	free(want);
	free(got);
}

int main(void)
{
	struct vb_ptree_io io = {NULL, fake_read, fake_tell, fake_write, MIN_OFF, BASE_SIZE, 0, NULL};
	struct vb_ptree *t;
	uint64_t seed = test_seed();
	unsigned char zero[MIN_OFF] = {0};

	file_append(zero, MIN_OFF);
	test_build(0, &seed);
	test_build(1, &seed);
	REQUIRE_OK(vb_ptree_create(&io, 256 * 1024, &t));
	test_paper_example(t);

	/* Random edits against the model. */
	uint64_t cap = 4u << 20;
	unsigned char *model = malloc(cap), *got = malloc(cap), *tmp = malloc(cap);
	REQUIRE(model && got && tmp);
	struct vb_root r = vb_root_empty();
	struct vb_piece whole = {VB_SRC_BASE, 0, 0, BASE_SIZE / 4, {0, 0, 0, 0, 0, 0}};
	REQUIRE_OK(vb_ptree_insert(t, &r, 0, &whole));
	uint64_t len = whole.len;
	for (uint64_t i = 0; i < len; i++)
		model[i] = base_byte(i);

	struct saved saved[8];
	int nsaved = 0;
	int steps = 60000;
	uint64_t max_pieces = 0;
	for (int step = 0; step < steps; step++) {
		uint64_t kind = test_rand(&seed) % 10;
		if (r.pieces > max_pieces)
			max_pieces = r.pieces;
		uint64_t pos = len ? test_rand(&seed) % (len + 1) : 0;
		if (kind < 5 || len < 64) {
			/* insert: data or a base range */
			uint64_t n = 1 + test_rand(&seed) % (test_rand(&seed) % 4 ? 16 : 3000);
			if (len + n > cap)
				continue;
			struct vb_piece p;
			if (test_rand(&seed) % 4 == 0) {
				uint64_t s = test_rand(&seed) % (BASE_SIZE - n);
				p = (struct vb_piece){VB_SRC_BASE, 0, s, n, {0, 0, 0, 0, 0, 0}};
				for (uint64_t i = 0; i < n; i++)
					tmp[i] = base_byte(s + i);
			} else {
				for (uint64_t i = 0; i < n; i++)
					tmp[i] = (unsigned char)test_rand(&seed);
				p = append_data(tmp, n);
			}
			REQUIRE_OK(vb_ptree_insert(t, &r, pos, &p));
			memmove(model + pos + n, model + pos, len - pos);
			memcpy(model + pos, tmp, n);
			len += n;
			/* sometimes append right after: must extend */
			if (p.src == VB_SRC_DATA && test_rand(&seed) % 3 == 0) {
				uint64_t before = r.pieces;
				tmp[0] = 'x';
				struct vb_piece q = append_data(tmp, 1);
				REQUIRE_OK(vb_ptree_insert(t, &r, pos + n, &q));
				memmove(model + pos + n + 1, model + pos + n, len - pos - n);
				model[pos + n] = 'x';
				len++;
				CHECK(r.pieces <= before);
			}
		} else if (kind < 9) {
			/* mostly small deletes so the tree grows deep; now and
			 * then a large one that drops whole subtrees */
			uint64_t n = test_rand(&seed) % (test_rand(&seed) % 300 ? 48 : len - pos + 1);
			if (pos + n > len)
				n = len - pos;
			REQUIRE_OK(vb_ptree_delete(t, &r, pos, n));
			memmove(model + pos, model + pos + n, len - pos - n);
			len -= n;
		} else {
			/* flush, remember this version */
			REQUIRE_OK(vb_ptree_flush(t, &r));
			data_open = 0;
			CHECK(r.mem == NULL);
			if (nsaved == 8) {
				int k = (int)(test_rand(&seed) % 8);
				vb_root_release(t, &saved[k].root);
				free(saved[k].content);
				saved[k] = saved[--nsaved];
			}
			saved[nsaved].root = vb_root_share(&r);
			saved[nsaved].content = malloc(len + 1);
			memcpy(saved[nsaved].content, model, len);
			saved[nsaved].len = len;
			nsaved++;
		}
		CHECK_EQ_U64(r.bytes, len);
		if (step % 50 == 0 || step == steps - 1) {
			uint64_t pieces;
			int mergeable;
			CHECK_OK(vb_ptree_check(t, &r));
			read_all(t, &r, got, &pieces, &mergeable);
			CHECK(memcmp(got, model, len) == 0);
			CHECK_EQ_U64(pieces, r.pieces);
			CHECK(!mergeable);
			check_backward(t, &r);
			if (check_failures) {
				fprintf(stderr, "failed at step %d\n", step);
				return 1;
			}
		}
		if (step % 500 == 0 && nsaved) {
			int k = (int)(test_rand(&seed) % (uint64_t)nsaved);
			uint64_t pieces;
			int mergeable;
			read_all(t, &saved[k].root, got, &pieces, &mergeable);
			CHECK(memcmp(got, saved[k].content, saved[k].len) == 0);
		}
	}

	/* Random seeks land on the right piece. */
	for (int i = 0; i < 2000 && len; i++) {
		struct vb_ptree_cur c;
		uint64_t pos = test_rand(&seed) % len;
		REQUIRE_OK(vb_ptree_seek(t, &r, pos, &c));
		const struct vb_piece *p = vb_ptree_cur_piece(&c);
		CHECK(c.piece_pos <= pos && pos < c.piece_pos + p->len);
		unsigned char b = p->src == VB_SRC_BASE ? base_byte(p->start + pos - c.piece_pos)
							: file[p->rec + p->start + pos - c.piece_pos];
		CHECK(b == model[pos]);
		vb_ptree_cur_close(&c);
	}

	struct vb_ptree_stats st;
	vb_ptree_stats(t, &st);
	CHECK(st.cache_bytes <= 256 * 1024);
	printf("max pieces %llu, ", (unsigned long long)max_pieces);
	CHECK(max_pieces > 5000);
	printf("pieces %llu, node writes %llu (%llu bytes), cache %llu nodes, hits %llu misses %llu\n",
	       (unsigned long long)r.pieces, (unsigned long long)node_writes,
	       (unsigned long long)node_bytes, (unsigned long long)st.cache_nodes,
	       (unsigned long long)st.cache_hits, (unsigned long long)st.cache_misses);

	/* Deleting everything empties the tree; all memory comes back. */
	REQUIRE_OK(vb_ptree_delete(t, &r, 0, r.bytes));
	CHECK(r.bytes == 0 && r.pieces == 0 && !r.mem && !r.off);
	for (int i = 0; i < nsaved; i++) {
		vb_root_release(t, &saved[i].root);
		free(saved[i].content);
	}
	vb_ptree_free(t);
	free(model);
	free(got);
	free(tmp);
	free(file);
	return test_status("ptree");
}
