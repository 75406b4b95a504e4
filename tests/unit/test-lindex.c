/*
 * test-lindex: the base's line index (lib/lindex.c) against a scan of the
 * base.
 *
 * For bases shaped to hit the edges (empty, one byte, whole blocks, a
 * "\r\n" split by every block boundary, only '\r', only '\n', random
 * bytes of {a, \r, \n} over several LINES records), the index is built
 * through the front door (vb_vbuf_count_lines), the store reopened as a
 * new process would, and vb_lindex_count of random ranges (within a
 * block, across one boundary, across many blocks and records, the whole
 * base) must equal vb_lines_scan of the same bytes.  Then the damage
 * cases: a byte flipped in a LINES record, in the directory, and a
 * record whose CRC was recomputed over wrong counts: every count either
 * succeeds with the right answer or fails VB_ECORRUPT, and verify says
 * the store is damaged.  Also: a compaction keeps the index; a base
 * changed under the store is refused before its index could answer.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "files.h"
#include "le.h"
#include "lindex.h"
#include "rnd.h"
#include "store-format.h"
#include "vbuf.h"

#define B 65536u

static const char *store_path, *base_path;
static unsigned char *base;
static size_t base_len;

/* A new store over the base file (written from base[0, base_len)). */
static struct vb_vbuf *new_store(void)
{
	struct vb_vbuf_opts o;
	struct vb_vbuf *b;

	unlink(store_path);
	write_file(base_path, base, base_len);
	vb_vbuf_opts_init(&o);
	o.write = 1;
	o.create = 1;
	o.base = base_path;
	o.no_sync = 1;
	REQUIRE_OK(vb_vbuf_open(store_path, &o, VB_HEAD, &b));
	return b;
}

static void make_store(void)
{
	struct vb_vbuf *b;
	struct vb_count_stats st;
	struct vb_flatten_opts fo;
	uint64_t v;

	b = new_store();
	REQUIRE_OK(vb_vbuf_insert(b, 0, "x", 1));
	REQUIRE_OK(vb_vbuf_commit(b, "", &v));
	memset(&fo, 0, sizeof fo);
	REQUIRE_OK(vb_vbuf_count_lines(b, &fo, &st));
	CHECK(st.indexed == base_len);
	REQUIRE_OK(vb_vbuf_commit(b, "count lines", &v));
	/* a second time: nothing to do */
	REQUIRE_OK(vb_vbuf_count_lines(b, &fo, &st));
	CHECK(st.indexed == 0 && st.pieces == 0);
	/* one more version, so that the head's region checksum does not
	 * cover the index (damage to it would make that version torn) */
	REQUIRE_OK(vb_vbuf_insert(b, 0, "y", 1));
	REQUIRE_OK(vb_vbuf_commit(b, "", &v));
	vb_vbuf_close(b);
}

static struct vb_store *open_store(void)
{
	struct vb_store_opts so;
	struct vb_store *s;

	vb_store_opts_init(&so);
	REQUIRE_OK(vb_store_open(store_path, &so, &s));
	return s;
}

static int same(const struct vb_lines *a, const struct vb_lines *b)
{
	return a->known == b->known && a->lf == b->lf && a->cr == b->cr && a->crlf == b->crlf &&
	       a->head_lf == b->head_lf && a->tail_cr == b->tail_cr;
}

/* A random range's counts: `damaged` allows VB_ECORRUPT, never a wrong
 * answer.  Returns 1 when it failed. */
static int check_range(struct vb_lindex *x, uint64_t a, uint64_t n, int damaged)
{
	struct vb_lines got, want = vb_lines_scan(base + a, (size_t)n);
	enum vb_err rc = vb_lindex_count(x, a, n, &got);

	if (damaged && rc == VB_ECORRUPT) {
		CHECK(!got.known);
		return 1;
	}
	CHECK_OK(rc);
	if (!same(&got, &want))
		fprintf(stderr, "range %llu+%llu of %zu: lf %llu/%llu cr %llu/%llu crlf %llu/%llu\n",
			(unsigned long long)a, (unsigned long long)n, base_len,
			(unsigned long long)got.lf, (unsigned long long)want.lf,
			(unsigned long long)got.cr, (unsigned long long)want.cr,
			(unsigned long long)got.crlf, (unsigned long long)want.crlf);
	CHECK(same(&got, &want));
	return 0;
}

static unsigned check_ranges(struct vb_lindex *x, int n, int damaged)
{
	unsigned failed = 0;

	if (!base_len)
		return 0;
	failed += (unsigned)check_range(x, 0, base_len, damaged);
	for (int i = 0; i < n; i++) {
		uint64_t a = rnd(base_len), len;
		switch (rnd(4)) {
		case 0: /* near a block boundary, across it */
			a = (a / B) * B;
			a = a > 3 ? a - rnd(4) : a;
			len = 1 + rnd(8);
			break;
		case 1: /* short */
			len = 1 + rnd(B);
			break;
		default: /* long */
			len = 1 + rnd(base_len);
		}
		if (len > base_len - a)
			len = base_len - a;
		if (!len)
			continue;
		failed += (unsigned)check_range(x, a, len, damaged);
	}
	return failed;
}

static void one_base(const char *what)
{
	struct vb_store *s;
	struct vb_lindex *x;

	make_store();
	s = open_store();
	REQUIRE_OK(vb_lindex_open(s, &x));
	REQUIRE(x != NULL);
	CHECK(vb_lindex_base_crc(x) == (uint32_t)crc32_z(0, base, base_len));
	check_ranges(x, 2000, 0);
	CHECK_OK(vb_lindex_check(x, NULL, NULL));
	CHECK(vb_lindex_count(x, base_len, 1, &(struct vb_lines){0}) == VB_ERANGE);
	vb_lindex_free(x);
	vb_store_close(s);
	printf("test-lindex: %s: %zu bytes\n", what, base_len);
}

/* The offsets of the directory and of its first LINES record. */
static void find_records(uint64_t *dir, uint64_t *rec0)
{
	struct vb_store *s = open_store();
	unsigned char d[VB_FMT_REC_MAX];
	size_t len;

	*dir = vb_store_line_index(s);
	REQUIRE(*dir);
	REQUIRE_OK(vb_store_aux_read(s, *dir, VB_STORE_REC_LINEDIR, d, sizeof d, &len));
	*rec0 = vb_le_get64(d + VB_FMT_LD_RECS);
	vb_store_close(s);
}

static void flip(uint64_t off)
{
	int fd = open(store_path, O_RDWR);
	unsigned char c;

	REQUIRE(fd >= 0);
	REQUIRE(pread(fd, &c, 1, (off_t)off) == 1);
	c ^= 0x10;
	REQUIRE(pwrite(fd, &c, 1, (off_t)off) == 1);
	close(fd);
}

static int verifies(void)
{
	struct vb_vbuf_opts o;
	struct vb_vbuf *b;
	enum vb_err rc;

	vb_vbuf_opts_init(&o);
	REQUIRE_OK(vb_vbuf_open(store_path, &o, VB_HEAD, &b));
	rc = vb_vbuf_verify(b, NULL, NULL, NULL, NULL);
	vb_vbuf_close(b);
	return rc == VB_OK;
}

static void damage(void)
{
	uint64_t dir, rec0;
	struct vb_store *s;
	struct vb_lindex *x;

	/* a byte of a LINES record's counts: its CRC fails */
	make_store();
	find_records(&dir, &rec0);
	flip(rec0 + VB_FMT_R_PAYLOAD + VB_FMT_LX_ENTRIES + 1);
	s = open_store();
	REQUIRE_OK(vb_lindex_open(s, &x));
	REQUIRE(x != NULL);
	CHECK(check_ranges(x, 300, 1) > 0);
	vb_lindex_free(x);
	vb_store_close(s);
	CHECK(!verifies());

	/* the directory: the index cannot be opened */
	make_store();
	find_records(&dir, &rec0);
	flip(dir + VB_FMT_R_PAYLOAD + VB_FMT_LD_RECS);
	s = open_store();
	CHECK(vb_lindex_open(s, &x) == VB_ECORRUPT);
	vb_store_close(s);
	CHECK(!verifies());
	/* the front door still answers, from the bytes */
	{
		struct vb_vbuf_opts o;
		struct vb_vbuf *b;
		uint64_t lines, want = 0;
		vb_vbuf_opts_init(&o);
		REQUIRE_OK(vb_vbuf_open(store_path, &o, VB_HEAD, &b));
		CHECK_OK(vb_vbuf_line_count(b, vb_vbuf_head(b), VB_LINES_LF, &lines));
		for (size_t i = 0; i < base_len; i++)
			want += base[i] == '\n';
		/* "yx" in front; a last line without '\n' counts */
		want += base_len ? base[base_len - 1] != '\n' : 1;
		CHECK(lines == want);
		vb_vbuf_close(b);
	}
}

/* The base read ahead ends early (it shrank after the store opened):
 * the build fails with the base's error and makes no index; an embedded
 * base (read through the store, not ahead) builds the same index. */
static void short_and_embedded(void)
{
	struct vb_vbuf *b;
	struct vb_count_stats st;
	struct vb_flatten_opts fo;
	struct vb_store *s;
	struct vb_lindex *x;
	uint64_t v, bytes;

	for (int embed = 0; embed < 2; embed++) {
		memset(&fo, 0, sizeof fo);
		b = new_store();
		REQUIRE_OK(vb_vbuf_insert(b, 1, "x", 1));
		REQUIRE_OK(vb_vbuf_commit(b, "", &v));
		if (embed) {
			REQUIRE_OK(vb_vbuf_embed(b, &fo, &bytes));
			REQUIRE_OK(vb_vbuf_commit(b, "embed", &v));
		}
		REQUIRE(truncate(base_path, (off_t)(base_len - B - 7)) == 0);
		enum vb_err rc = vb_vbuf_count_lines(b, &fo, &st);
		if (!embed) {
			CHECK(rc == VB_EBASE);
			CHECK(strstr(vb_err_detail(), "shorter than recorded") != NULL);
			vb_vbuf_close(b);
			continue;
		}
		CHECK_OK(rc);
		CHECK(st.indexed == base_len);
		REQUIRE_OK(vb_vbuf_commit(b, "count lines", &v));
		vb_vbuf_close(b);
		struct vb_store_opts so;
		vb_store_opts_init(&so);
		so.lenient_base = 1;
		REQUIRE_OK(vb_store_open(store_path, &so, &s));
		REQUIRE_OK(vb_lindex_open(s, &x));
		REQUIRE(x != NULL);
		CHECK(vb_lindex_base_crc(x) == (uint32_t)crc32_z(0, base, base_len));
		check_ranges(x, 300, 0);
		vb_lindex_free(x);
		vb_store_close(s);
	}
	printf("test-lindex: a base that shrank, an embedded base: %zu bytes\n", base_len);
}

int main(void)
{
	char sp[400], bp[400];
	static const size_t sizes[] = {0, 1, B - 1, B, B + 1, 3 * B, 5 * B + 17};

	rnd_init(test_seed());
	tmp_dir_make("vb-test-lindex");
	snprintf(sp, sizeof sp, "%s", tmp_path("s.vb"));
	snprintf(bp, sizeof bp, "%s", tmp_path("base"));
	store_path = sp;
	base_path = bp;
	base = malloc((size_t)VB_FMT_LX_G * B + 5 * B);
	REQUIRE(base);

	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		base_len = sizes[i];
		for (size_t k = 0; k < base_len; k++)
			base[k] = "a\r\n"[rnd(3)];
		one_base("random");
	}
	/* "\r\n" split by every block boundary, and runs of one kind */
	base_len = 6 * B;
	memset(base, 'a', base_len);
	for (size_t k = B; k < base_len; k += B) {
		base[k - 1] = '\r';
		base[k] = '\n';
	}
	one_base("pairs across boundaries");
	memset(base, '\r', base_len);
	one_base("only \\r");
	memset(base, '\n', base_len);
	one_base("only \\n");
	/* more than one LINES record (G blocks each) */
	base_len = (size_t)VB_FMT_LX_G * B + 3 * B + 5;
	for (size_t k = 0; k < base_len; k++)
		base[k] = rnd(16) ? 'a' : "\r\n"[rnd(2)];
	one_base("two records");

	base_len = 5 * B + 9;
	short_and_embedded();

	base_len = 4 * B + 3;
	for (size_t k = 0; k < base_len; k++)
		base[k] = "a\r\n"[rnd(3)];
	damage();

	free(base);
	unlink(store_path);
	unlink(base_path);
	rmdir(tmp_dir);
	return test_status("lindex");
}
