/*
 * test-flatten: flatten, partial flatten, automatic flatten and the
 * embedded base, on real stores over a real base file.
 *
 * - A store fragmented by 400 one-edit commits: a partial flatten leaves
 *   the content and every old version as they were, copies exactly the
 *   bytes of the runs of small pieces and leaves no two small pieces side
 *   by side; large base pieces stay base pieces.
 * - A full flatten leaves one piece of the store's own data: with the base
 *   file gone the head still opens and reads (also in a new writer, which
 *   can edit it), while older versions fail naming the base file, and a
 *   revert to one is refused.
 * - Embedding: with the base gone every version still reads as before and
 *   the store verifies.
 * - Automatic flattening happens exactly when all three thresholds hold.
 * - A partial flatten's cost follows the fragmented bytes: at one file size,
 *   twice the fragmented bytes copy twice the bytes.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "content.h"
#include "files.h"
#include "rnd.h"
#include "stree.h"
#include "vbuf-int.h"
#include "vbuf.h"

#define BASE_LEN (4u << 20)


static struct vb_vbuf_opts wopts(const char *base)
{
	struct vb_vbuf_opts o;
	vb_vbuf_opts_init(&o);
	o.write = 1;
	o.create = base != NULL;
	o.base = base ? tmp_path(base) : NULL;
	o.no_sync = 1;
	return o;
}

static uint64_t since_flatten(struct vb_vbuf *b)
{
	struct vb_vbuf_state vs;
	vb_vbuf_state(b, &vs);
	return vs.since_flatten;
}

/* Piece statistics of the content a handle shows. */
struct shape {
	uint64_t pieces, small_bytes_in_runs, max_small_run, base_pieces, large_base_bytes;
};

static struct shape shape_of(struct vb_vbuf *b, uint64_t small)
{
	struct vb_ptree *t = vb_vbuf_tree(b);
	struct vb_commit c;
	struct shape sh = {0, 0, 0, 0, 0};
	uint64_t run = 0, run_bytes = 0;

	REQUIRE_OK(vb_vbuf_info(b, vb_vbuf_version(b), &c));
	struct vb_root r = vb_stree_root(&c);
	struct vb_ptree_cur cur;
	REQUIRE_OK(vb_ptree_seek(t, &r, 0, &cur));
	for (;;) {
		const struct vb_piece *p = cur.at_end ? NULL : vb_ptree_cur_piece(&cur);
		if (p && p->len < small) {
			run++;
			run_bytes += p->len;
		} else {
			if (run >= 2)
				sh.small_bytes_in_runs += run_bytes;
			if (run > sh.max_small_run)
				sh.max_small_run = run;
			run = run_bytes = 0;
		}
		if (!p)
			break;
		sh.pieces++;
		if (p->src == VB_SRC_BASE) {
			sh.base_pieces++;
			if (p->len >= small)
				sh.large_base_bytes += p->len;
		}
		REQUIRE_OK(vb_ptree_next(&cur));
	}
	vb_ptree_cur_close(&cur);
	return sh;
}

/* `n` commits of one small edit each at random places; crcs[v] records
 * every version's checksum. */
static void fragment(const char *store, unsigned n, uint32_t *crcs, size_t ncrcs)
{
	struct vb_vbuf_opts o = wopts(NULL);
	unsigned char buf[64];

	for (unsigned i = 0; i < n; i++) {
		struct vb_vbuf *b;
		uint64_t v;
		REQUIRE_OK(vb_vbuf_open(store, &o, VB_HEAD, &b));
		uint64_t len = vb_vbuf_len(b), off = rnd(len);
		if (rnd(3)) {
			size_t k = 1 + (size_t)rnd(sizeof buf);
			rnd_bytes(buf, k);
			REQUIRE_OK(vb_vbuf_insert(b, off, buf, k));
		} else {
			REQUIRE_OK(vb_vbuf_delete(b, off, rnd(len - off < 100 ? len - off : 100)));
		}
		REQUIRE_OK(vb_vbuf_commit(b, "edit", &v));
		if (v < ncrcs)
			crcs[v] = content_crc(b);
		vb_vbuf_close(b);
	}
}

static void check_versions(const char *store, const uint32_t *crcs, uint64_t upto,
			   uint64_t skip_below)
{
	struct vb_vbuf_opts ro;
	vb_vbuf_opts_init(&ro);
	for (uint64_t v = skip_below; v <= upto; v++) {
		struct vb_vbuf *b;
		REQUIRE_OK(vb_vbuf_open(store, &ro, v, &b));
		CHECK(content_crc(b) == crcs[v]);
		vb_vbuf_close(b);
	}
}

static void test_partial_then_full(void)
{
	static uint32_t crcs[1024];
	static char store[400];
	snprintf(store, sizeof store, "%s", tmp_path("frag.vb"));
	struct vb_vbuf_opts o = wopts("base");
	struct vb_vbuf *b;
	uint64_t v;

	rnd_file(tmp_path("base"), BASE_LEN);
	REQUIRE_OK(vb_vbuf_open(store, &o, VB_HEAD, &b));
	REQUIRE_OK(vb_vbuf_commit(b, "create", &v));
	crcs[0] = crcs[1] = content_crc(b);
	vb_vbuf_close(b);
	fragment(store, 400, crcs, 1024);

	/* partial, with small = 20,000 bytes: base pieces average ~10 KB */
	o = wopts(NULL);
	REQUIRE_OK(vb_vbuf_open(store, &o, VB_HEAD, &b));
	uint64_t small = 20000, head = vb_vbuf_version(b);
	struct shape before = shape_of(b, small);
	CHECK(before.max_small_run >= 2);
	struct vb_flatten_opts fo = {1, small, NULL, NULL};
	struct vb_flatten_stats st;
	REQUIRE_OK(vb_vbuf_flatten(b, &fo, &st));
	CHECK_EQ_U64(st.bytes, before.small_bytes_in_runs);
	CHECK_EQ_U64(st.pieces_before, before.pieces);
	CHECK(st.pieces_after < st.pieces_before);
	CHECK(content_crc(b) == crcs[head]);
	REQUIRE_OK(vb_vbuf_commit(b, "partial", &v));
	crcs[v] = crcs[head];
	vb_vbuf_close(b);

	struct vb_vbuf_opts ro;
	vb_vbuf_opts_init(&ro);
	REQUIRE_OK(vb_vbuf_open(store, &ro, VB_HEAD, &b));
	struct shape after = shape_of(b, small);
	CHECK(after.max_small_run <= 1);
	CHECK_EQ_U64(after.large_base_bytes, before.large_base_bytes);
	CHECK_EQ_U64(after.pieces, st.pieces_after);
	struct vb_commit c;
	REQUIRE_OK(vb_vbuf_info(b, v, &c));
	CHECK(c.sum_kind == VB_OP_FLATTEN && c.nops == 1 && c.length == vb_vbuf_len(b));
	CHECK(!(c.flags & VB_COMMIT_NO_BASE));
	CHECK_EQ_U64(since_flatten(b), 0);
	vb_vbuf_close(b);
	check_versions(store, crcs, v, 0);

	/* a second partial flatten finds nothing to do */
	REQUIRE_OK(vb_vbuf_open(store, &o, VB_HEAD, &b));
	REQUIRE_OK(vb_vbuf_flatten(b, &fo, &st));
	CHECK_EQ_U64(st.bytes, 0);
	CHECK_EQ_U64(st.pieces_after, st.pieces_before);
	REQUIRE_OK(vb_vbuf_commit(b, "partial again", &v));
	crcs[v] = crcs[v - 1];

	/* full: one run of the store's data, no base needed; a store that
	 * counts lines cuts it into pieces of at most 1 MiB
	 * (VB_PTREE_COUNT_PIECE) */
	struct vb_flatten_opts full = {0, 0, NULL, NULL};
	REQUIRE_OK(vb_vbuf_flatten(b, &full, &st));
	CHECK_EQ_U64(st.bytes, vb_vbuf_len(b));
	CHECK_EQ_U64(vb_vbuf_pieces(b), (vb_vbuf_len(b) + (1u << 20) - 1) >> 20);
	REQUIRE_OK(vb_vbuf_commit(b, "full", &v));
	crcs[v] = crcs[v - 1];
	uint64_t flat = v;
	vb_vbuf_close(b);

	/* the base goes away */
	REQUIRE(rename(tmp_path("base"), tmp_path("base.away")) == 0);
	REQUIRE_OK(vb_vbuf_open(store, &ro, VB_HEAD, &b));
	CHECK(vb_vbuf_nwarnings(b) == 0);
	CHECK(content_crc(b) == crcs[flat]);
	REQUIRE_OK(vb_vbuf_info(b, flat, &c));
	CHECK(c.flags & VB_COMMIT_NO_BASE);
	vb_vbuf_close(b);
	CHECK(vb_vbuf_open(store, &ro, flat - 1, &b) == VB_EBASE);
	CHECK(strstr(vb_err_detail(), "base file") != NULL);
	CHECK(vb_vbuf_open(store, &ro, 0, &b) == VB_EBASE);

	/* a writer edits the flat head; an edit keeps it base-free */
	REQUIRE_OK(vb_vbuf_open(store, &o, VB_HEAD, &b));
	REQUIRE_OK(vb_vbuf_insert(b, 5, "abc", 3));
	REQUIRE_OK(vb_vbuf_commit(b, "after", &v));
	crcs[v] = content_crc(b);
	CHECK(vb_vbuf_revert(b, flat - 1) == VB_EBASE);
	vb_vbuf_close(b);
	REQUIRE_OK(vb_vbuf_open(store, &o, VB_HEAD, &b));
	REQUIRE_OK(vb_vbuf_revert(b, flat));
	REQUIRE_OK(vb_vbuf_commit(b, "back to flat", &v));
	crcs[v] = crcs[flat];
	vb_vbuf_close(b);
	check_versions(store, crcs, v, flat);

	/* with the base back, everything reads and verifies */
	REQUIRE(rename(tmp_path("base.away"), tmp_path("base")) == 0);
	check_versions(store, crcs, v, 0);
	REQUIRE_OK(vb_vbuf_open(store, &ro, VB_HEAD, &b));
	CHECK_OK(vb_vbuf_verify(b, NULL, NULL, NULL, NULL));
	vb_vbuf_close(b);
	unlink(store);
	unlink(tmp_path("base"));
}

static void test_embed(void)
{
	static uint32_t crcs[256];
	static char store[400];
	snprintf(store, sizeof store, "%s", tmp_path("emb.vb"));
	struct vb_vbuf_opts o = wopts("base2");
	struct vb_vbuf *b;
	uint64_t v, bytes;

	rnd_file(tmp_path("base2"), 300000);
	REQUIRE_OK(vb_vbuf_open(store, &o, VB_HEAD, &b));
	REQUIRE_OK(vb_vbuf_commit(b, "create", &v));
	crcs[0] = crcs[1] = content_crc(b);
	vb_vbuf_close(b);
	fragment(store, 50, crcs, 256);

	o = wopts(NULL);
	REQUIRE_OK(vb_vbuf_open(store, &o, VB_HEAD, &b));
	struct vb_flatten_opts fo = {0, 0, NULL, NULL};
	REQUIRE_OK(vb_vbuf_embed(b, &fo, &bytes));
	CHECK_EQ_U64(bytes, 300000);
	REQUIRE_OK(vb_vbuf_commit(b, "embed", &v));
	crcs[v] = crcs[v - 1];
	vb_vbuf_close(b);

	REQUIRE(unlink(tmp_path("base2")) == 0);
	check_versions(store, crcs, v, 0);
	struct vb_vbuf_opts ro;
	vb_vbuf_opts_init(&ro);
	REQUIRE_OK(vb_vbuf_open(store, &ro, VB_HEAD, &b));
	CHECK(vb_vbuf_nwarnings(b) == 0);
	struct vb_vbuf_state vs;
	vb_vbuf_state(b, &vs);
	CHECK(vs.embedded);
	CHECK_OK(vb_vbuf_verify(b, NULL, NULL, NULL, NULL));
	vb_vbuf_close(b);

	/* later writers carry the embedding forward; a second embed copies
	 * nothing */
	REQUIRE_OK(vb_vbuf_open(store, &o, VB_HEAD, &b));
	REQUIRE_OK(vb_vbuf_insert(b, 0, "x", 1));
	REQUIRE_OK(vb_vbuf_commit(b, "x", &v));
	crcs[v] = content_crc(b);
	REQUIRE_OK(vb_vbuf_embed(b, &fo, &bytes));
	CHECK_EQ_U64(bytes, 0);
	REQUIRE_OK(vb_vbuf_revert(b, 0));
	REQUIRE_OK(vb_vbuf_commit(b, "again", &v));
	crcs[v] = crcs[0];
	vb_vbuf_close(b);
	check_versions(store, crcs, v, 0);

	/* a base cut short behind the store's back: the copy fails, and
	 * nothing is committed */
	{
		char b5[400];
		snprintf(b5, sizeof b5, "%s", tmp_path("base5"));
		rnd_file(tmp_path("base5"), 3u << 20);
		struct vb_vbuf_opts co = wopts("base5");
		REQUIRE_OK(vb_vbuf_open(tmp_path("cut.vb"), &co, VB_HEAD, &b));
		REQUIRE_OK(vb_vbuf_commit(b, "create", &v));
		vb_vbuf_close(b);
		struct vb_vbuf_opts wo = wopts(NULL);
		REQUIRE_OK(vb_vbuf_open(tmp_path("cut.vb"), &wo, VB_HEAD, &b));
		REQUIRE(truncate(b5, 1u << 20) == 0);
		CHECK(vb_vbuf_flatten(b, &fo, NULL) == VB_EBASE);
		CHECK(strstr(vb_err_detail(), "shorter") != NULL);
		CHECK(vb_vbuf_commit(b, "no", &v) != VB_OK);
		vb_vbuf_close(b);
		unlink(tmp_path("cut.vb"));
		unlink(b5);
	}

	/* a store without a base has nothing to embed */
	struct vb_vbuf_opts no = wopts(NULL);
	no.create = 1;
	REQUIRE_OK(vb_vbuf_open(tmp_path("nobase.vb"), &no, VB_HEAD, &b));
	CHECK(vb_vbuf_embed(b, &fo, &bytes) == VB_EINVAL);
	CHECK(strstr(vb_err_detail(), "no base file") != NULL);
	REQUIRE_OK(vb_vbuf_commit(b, "still usable", &v));
	vb_vbuf_close(b);
	unlink(tmp_path("nobase.vb"));
	unlink(store);
}

static void test_auto(void)
{
	static char store[400];
	snprintf(store, sizeof store, "%s", tmp_path("auto.vb"));
	struct vb_vbuf_opts o = wopts("base3");
	struct vb_vbuf *b;
	uint64_t v;
	struct vb_auto_flatten af;

	rnd_file(tmp_path("base3"), 200000);
	REQUIRE_OK(vb_vbuf_open(store, &o, VB_HEAD, &b));
	REQUIRE_OK(vb_vbuf_commit(b, "create", &v));
	vb_vbuf_close(b);

	vb_auto_flatten_init(&af);
	CHECK_EQ_U64(af.pieces, VB_AUTO_FLATTEN_PIECES);
	af.pieces = 40;
	af.average = 100000;
	af.commits = 10;
	af.small = 100000;
	o = wopts(NULL);
	unsigned flattened = 0, first = 0;
	for (unsigned i = 1; i <= 60; i++) {
		REQUIRE_OK(vb_vbuf_open(store, &o, VB_HEAD, &b));
		vb_vbuf_auto_flatten(b, &af);
		uint64_t since = since_flatten(b);
		REQUIRE_OK(vb_vbuf_insert(b, rnd(vb_vbuf_len(b)), "12345", 5));
		uint64_t pieces = vb_vbuf_pieces(b), len = vb_vbuf_len(b);
		int due = pieces >= af.pieces && len / pieces < af.average && since + 1 >= af.commits;
		REQUIRE_OK(vb_vbuf_commit(b, "e", &v));
		struct vb_commit c;
		REQUIRE_OK(vb_vbuf_info(b, v, &c));
		int did = c.sum_kind == VB_OP_MIXED && c.nops == 2;
		CHECK(did == due);
		if (did) {
			flattened++;
			if (!first)
				first = i;
			CHECK_EQ_U64(since_flatten(b), 0);
			CHECK(vb_vbuf_pieces(b) < pieces);
		} else {
			CHECK_EQ_U64(since_flatten(b), since + 1);
		}
		vb_vbuf_close(b);
	}
	/* 21 pieces need 20 inserts, and then 10 commits since the start */
	CHECK(flattened >= 2);
	CHECK(first >= 20);

	/* off: never */
	REQUIRE_OK(vb_vbuf_open(store, &o, VB_HEAD, &b));
	vb_vbuf_auto_flatten(b, &af);
	vb_vbuf_auto_flatten(b, NULL);
	for (int i = 0; i < 30; i++)
		REQUIRE_OK(vb_vbuf_insert(b, rnd(vb_vbuf_len(b)), "z", 1));
	REQUIRE_OK(vb_vbuf_commit(b, "many", &v));
	struct vb_commit c;
	REQUIRE_OK(vb_vbuf_info(b, v, &c));
	CHECK(c.sum_kind == VB_OP_INSERT);
	vb_vbuf_close(b);
	unlink(store);
	unlink(tmp_path("base3"));
}

/* Bytes a partial flatten copies with `edits` one-byte inserts spread
 * over a base of BASE_LEN, clustered in one region. */
static uint64_t partial_cost(unsigned edits)
{
	static char store[400];
	snprintf(store, sizeof store, "%s", tmp_path("cost.vb"));
	struct vb_vbuf_opts o = wopts("base4");
	struct vb_vbuf *b;
	uint64_t v;

	REQUIRE_OK(vb_vbuf_open(store, &o, VB_HEAD, &b));
	/* edits 100 bytes apart: every piece between them is small */
	for (unsigned i = 0; i < edits; i++)
		REQUIRE_OK(vb_vbuf_insert(b, (uint64_t)i * 101, "e", 1));
	REQUIRE_OK(vb_vbuf_commit(b, "edits", &v));
	struct vb_flatten_opts fo = {1, 4096, NULL, NULL};
	struct vb_flatten_stats st;
	REQUIRE_OK(vb_vbuf_flatten(b, &fo, &st));
	REQUIRE_OK(vb_vbuf_commit(b, "partial", &v));
	vb_vbuf_close(b);
	unlink(store);
	return st.bytes;
}

int main(void)
{
	rnd_init(test_seed());
	tmp_dir_make("vb-test-flatten");

	test_partial_then_full();
	test_embed();
	test_auto();

	rnd_file(tmp_path("base4"), BASE_LEN);
	uint64_t c1 = partial_cost(1000), c2 = partial_cost(2000);
	printf("partial flatten of a %u-byte file: 1000 edits copy %llu bytes, 2000 edits %llu\n",
	       BASE_LEN, (unsigned long long)c1, (unsigned long long)c2);
	/* the runs are the fragmented region: 100 base bytes and one
	 * inserted byte per edit, all of it and nothing else */
	CHECK(c1 >= 1000 * 100 && c1 <= 1000 * 101 + 100);
	CHECK(c2 >= 2000 * 100 && c2 <= 2000 * 101 + 100);
	unlink(tmp_path("base4"));
	rmdir(tmp_dir);
	return test_status("flatten");
}
