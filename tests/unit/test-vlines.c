/*
 * test-vlines: line addressing through the front door (vb_vbuf_line_count,
 * _line_start, _line_of) against a full scan of each version's bytes, in
 * both line modes.
 *
 * A store over a base of random bytes from {a, \r, \n} (so "\r\n" pairs
 * are common and get split by edits and piece boundaries) takes random
 * inserts, deletes and reverts, now and then a partial or full flatten,
 * a count of lines (the base's line index, vb_vbuf_count_lines) and a
 * compaction (which keeps the index); halfway a byte copy of the store
 * is taken, and at the end brought up to date by an export and apply,
 * and its versions checked the same way; every version's content is kept (a compacted-away version
 * must say so).  After each commit, the new version and a few random older
 * ones are checked: the line count, the start of random lines (1, the
 * last, last + 1, beyond) and the line of random offsets (0, the length,
 * the middle of a "\r\n").  The store is reopened between most commits,
 * as a new process would see it.  The in-memory model gets the same
 * checks on its shown version.  VB_TEST_OPS sets the number of commits.
 */
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "export.h"
#include "files.h"
#include "rnd.h"
#include "vbuf.h"

/* VB_PTREE_COUNT_PIECE (lib/ptree.h, not a front-door header) */
#define VB_PTREE_COUNT_PIECE_TEST ((size_t)1 << 20)

#define MAX_VERSIONS 400
#define GROW 3   /* content stays under GROW times the base */

static size_t BASE_LEN;

static unsigned char *content[MAX_VERSIONS];
static size_t clen[MAX_VERSIONS];

static void fill(unsigned char *p, size_t n)
{
	static const unsigned char abc[4] = {'a', '\r', '\n', 'b'};
	/* Sometimes long lines, sometimes dense ends. */
	unsigned dense = (unsigned)rnd(3);
	for (size_t i = 0; i < n; i++)
		p[i] = dense ? abc[rnd(4)] : (rnd(60) ? 'x' : abc[1 + rnd(2)]);
}

static int is_start(const unsigned char *p, size_t i, enum vb_line_mode m)
{
	if (m == VB_LINES_LF)
		return p[i] == '\n';
	return p[i] == '\r' || (p[i] == '\n' && !(i && p[i - 1] == '\r'));
}

/* Reference: the starts of lines 1..lines+1 (starts[lines] = length). */
static size_t ref_starts(const unsigned char *p, size_t n, enum vb_line_mode m, uint64_t *starts)
{
	size_t k = 0;

	starts[k++] = 0;
	for (size_t i = 0; i < n; i++) {
		if (!is_start(p, i, m))
			continue;
		size_t e = i + 1;
		if (m == VB_LINES_ANY && p[i] == '\r' && e < n && p[e] == '\n')
			e++;
		starts[k++] = e;
	}
	/* k - 1 ends; a last line without an end adds one line */
	size_t lines = k - 1;
	if (n && starts[k - 1] != n) {
		lines++;
		starts[k++] = n;
	}
	return lines;
}

/* 1 + the ends wholly before off: starts[1..ends] are the starts that
 * follow an end (starts[lines] is the length when the last line has no
 * end, which is not one). */
static uint64_t ref_line_of(const uint64_t *starts, size_t ends, uint64_t off)
{
	size_t lo = 0, hi = ends;
	while (lo < hi) {
		size_t mid = (lo + hi + 1) / 2;
		if (starts[mid] <= off)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo + 1;
}

static uint64_t checks;

static uint64_t *starts;

static void check_version(struct vb_vbuf *b, uint64_t v, const unsigned char *p, size_t n)
{
	for (int mi = 0; mi < 2; mi++) {
		enum vb_line_mode m = mi ? VB_LINES_ANY : VB_LINES_LF;
		size_t lines = ref_starts(p, n, m, starts);
		/* a last line without an end counts as a line, not an end */
		size_t ends = lines - (n && !(p[n - 1] == '\n' || (m == VB_LINES_ANY && p[n - 1] == '\r')));
		uint64_t got = 0, off = 0;

		CHECK(!vb_vbuf_line_count(b, v, m, &got));
		CHECK_EQ_U64(got, lines);
		for (int i = 0; i < 12; i++) {
			uint64_t ln = i == 0 ? 1 : i == 1 ? lines : i == 2 ? lines + 1 : 1 + rnd(lines + 1);
			if (!ln)
				continue;
			CHECK(!vb_vbuf_line_start(b, v, m, ln, &off));
			CHECK_EQ_U64(off, starts[ln - 1]);
			checks++;
		}
		CHECK(vb_vbuf_line_start(b, v, m, lines + 2, &off) == VB_ERANGE);
		CHECK(strstr(vb_err_detail(), "beyond the end") != NULL);
		CHECK(vb_vbuf_line_start(b, v, m, 0, &off) == VB_EINVAL);
		for (int i = 0; i < 12; i++) {
			uint64_t o = i == 0 ? 0 : i == 1 ? n : rnd(n + 1), ln = 0;
			if (i == 2) /* the '\n' of a "\r\n", if there is one near */
				for (size_t k = rnd(n + 1); k + 1 < n; k++)
					if (p[k] == '\r' && p[k + 1] == '\n') {
						o = k + 1;
						break;
					}
			CHECK(!vb_vbuf_line_of(b, v, m, o, &ln));
			CHECK_EQ_U64(ln, ref_line_of(starts, ends, o));
			checks++;
		}
		uint64_t ln;
		CHECK(vb_vbuf_line_of(b, v, m, n + 1, &ln) == VB_ERANGE);
	}
}

static unsigned copies_checked;

/* An export held in memory (vb_export_stream's writer, vb_apply_stream's
 * reader). */
struct mem {
	unsigned char *p;
	size_t n, cap, pos;
};

static enum vb_err mem_write(void *arg, const void *buf, size_t n)
{
	struct mem *m = arg;

	if (m->n + n > m->cap) {
		size_t nc = (m->n + n) * 2;
		unsigned char *g = realloc(m->p, nc);
		REQUIRE(g);
		m->p = g;
		m->cap = nc;
	}
	memcpy(m->p + m->n, buf, n);
	m->n += n;
	return VB_OK;
}

static enum vb_err mem_read(void *arg, void *buf, size_t n, size_t *got)
{
	struct mem *m = arg;

	*got = m->n - m->pos < n ? m->n - m->pos : n;
	memcpy(buf, m->p + m->pos, *got);
	m->pos += *got;
	return VB_OK;
}

/* A byte copy of the store made at version `since` gets the versions
 * after it through an export and apply; each of them must then answer
 * line questions as the original's content says. */
static void check_copy(const char *store, const char *copy, uint64_t since, uint64_t head)
{
	struct vb_vbuf_opts o;
	struct vb_vbuf *b;
	struct mem m = {NULL, 0, 0, 0};
	struct vb_export_opts eo = {mem_write, &m, 1};
	struct vb_apply_opts ao = {mem_read, &m, 0, 0, copy};
	struct vb_apply_stats ast;

	vb_vbuf_opts_init(&o);
	o.no_sync = 1;
	REQUIRE_OK(vb_vbuf_open(store, &o, VB_HEAD, &b));
	REQUIRE_OK(vb_export_stream(b, since, &eo, NULL));
	vb_vbuf_close(b);
	o.write = 1;
	REQUIRE_OK(vb_vbuf_open(copy, &o, VB_HEAD, &b));
	CHECK_OK(vb_apply_stream(b, &ao, &ast));
	CHECK(vb_vbuf_head(b) == head);
	for (uint64_t v = since; v <= head; v++)
		check_version(b, v, content[v], clen[v]);
	copies_checked++;
	vb_vbuf_close(b);
	free(m.p);
}

static void copy_file(const char *from, const char *to)
{
	FILE *f = fopen(from, "rb"), *t = fopen(to, "wb");
	char buf[65536];
	size_t n;

	REQUIRE(f && t);
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		REQUIRE(fwrite(buf, 1, n, t) == n);
	fclose(f);
	REQUIRE(fclose(t) == 0);
}

/* One store over a base of `base_len` bytes, `commits` commits. */
static void run(size_t base_len, uint64_t commits)
{
	BASE_LEN = base_len;
	unsigned char *buf = malloc(BASE_LEN * GROW);
	starts = malloc((BASE_LEN * GROW + 2) * sizeof *starts);
	REQUIRE(buf && starts);
	if (commits > MAX_VERSIONS - 2)
		commits = MAX_VERSIONS - 2;
	if (commits < 20)
		commits = 20;
	memset(content, 0, sizeof content);

	char store[400], base[400], copy[400];
	uint64_t copied = UINT64_MAX;
	snprintf(store, sizeof store, "%s", tmp_path("s.vb"));
	snprintf(copy, sizeof copy, "%s", tmp_path("c.vb"));
	snprintf(base, sizeof base, "%s", tmp_path("base"));

	content[0] = malloc(BASE_LEN);
	REQUIRE(content[0]);
	fill(content[0], BASE_LEN);
	clen[0] = BASE_LEN;
	write_file(base, content[0], BASE_LEN);

	/* The model: its shown version only. */
	struct vb_vbuf *model;
	REQUIRE_OK(vb_vbuf_open_mem(content[0], BASE_LEN, &model));
	check_version(model, 0, content[0], BASE_LEN);
	vb_vbuf_close(model);

	struct vb_vbuf_opts wo;
	vb_vbuf_opts_init(&wo);
	wo.write = 1;
	wo.create = 1;
	wo.base = base;
	wo.no_sync = 1;
	wo.node_cache = 64 * 1024;
	struct vb_vbuf *b;
	REQUIRE_OK(vb_vbuf_open(store, &wo, VB_HEAD, &b));
	wo.create = 0;
	wo.base = NULL;
	check_version(b, 0, content[0], BASE_LEN);

	uint64_t oldest = 0, v = 0;
	for (uint64_t c = 1; c <= commits; c++) {
		unsigned char *cur = malloc(BASE_LEN * GROW);
		size_t n = clen[c - 1];
		REQUIRE(cur);
		memcpy(cur, content[c - 1], n);
		unsigned kind = (unsigned)rnd(20);
		if (kind == 0 && c > oldest + 1) {
			uint64_t to = oldest + rnd(c - oldest);
			REQUIRE_OK(vb_vbuf_revert(b, to));
			memcpy(cur, content[to], clen[to]);
			n = clen[to];
		} else if (kind == 2) {
			/* count lines: the base's line index, every piece counted */
			struct vb_flatten_opts fo;
			struct vb_count_stats cst;
			memset(&fo, 0, sizeof fo);
			REQUIRE_OK(vb_vbuf_count_lines(b, &fo, &cst));
			uint64_t ln;
			REQUIRE_OK(vb_vbuf_line_count(b, vb_vbuf_head(b), VB_LINES_LF, &ln));
		} else if (kind == 1) {
			struct vb_flatten_opts fo;
			struct vb_flatten_stats fs;
			memset(&fo, 0, sizeof fo);
			fo.partial = rnd(2);
			REQUIRE_OK(vb_vbuf_flatten(b, &fo, &fs));
		} else {
			for (unsigned e = 1 + (unsigned)rnd(6); e; e--) {
				uint64_t off = rnd(n + 1);
				if (rnd(2) || n == 0) {
					size_t k = rnd(4) ? 1 + rnd(3) : 1 + rnd(70000);
					if (n + k > BASE_LEN * GROW)
						continue;
					fill(buf, k);
					REQUIRE_OK(vb_vbuf_insert(b, off, buf, k));
					memmove(cur + off + k, cur + off, n - off);
					memcpy(cur + off, buf, k);
					n += k;
				} else {
					uint64_t k = rnd(4) ? rnd(4) : rnd(n - off + 1);
					if (k > n - off)
						k = n - off;
					REQUIRE_OK(vb_vbuf_delete(b, off, k));
					memmove(cur + off, cur + off + k, n - off - k);
					n -= k;
				}
			}
		}
		REQUIRE_OK(vb_vbuf_commit(b, "", &v));
		REQUIRE(v == c);
		content[c] = cur;
		clen[c] = n;
		if (rnd(25) == 0 && c > 10) {
			struct vb_compact_stats cs;
			uint64_t keep = 2 + rnd(c / 2);
			REQUIRE_OK(vb_vbuf_compact(b, keep, "compact", NULL, NULL, &cs));
			vb_vbuf_close(b);
			REQUIRE_OK(vb_vbuf_open(store, &wo, VB_HEAD, &b));
			c++;
			REQUIRE(vb_vbuf_head(b) == c);
			content[c] = malloc(n ? n : 1);
			REQUIRE(content[c]);
			memcpy(content[c], cur, n);
			clen[c] = n;
			oldest = cs.oldest;
			uint64_t ln;
			if (oldest)
				CHECK(vb_vbuf_line_count(b, oldest - 1, VB_LINES_LF, &ln) == VB_ENOENT);
			if (c >= commits)
				break;
		}
		uint64_t head = vb_vbuf_head(b);
		check_version(b, head, content[head], clen[head]);
		for (int i = 0; i < 2; i++) {
			uint64_t old = oldest + rnd(head - oldest + 1);
			check_version(b, old, content[old], clen[old]);
		}
		if (copied == UINT64_MAX && c >= commits / 2) {
			/* a copy to bring up to date by export and apply */
			vb_vbuf_close(b);
			copy_file(store, copy);
			copied = head;
			REQUIRE_OK(vb_vbuf_open(store, &wo, VB_HEAD, &b));
		}
		if (rnd(10) == 0) /* every piece's counts against its bytes */
			CHECK(!vb_vbuf_verify(b, NULL, NULL, NULL, NULL));
		if (rnd(3)) {
			vb_vbuf_close(b);
			REQUIRE_OK(vb_vbuf_open(store, &wo, VB_HEAD, &b));
		}
		c = head;
	}
	uint64_t ln, last = vb_vbuf_head(b);
	CHECK(vb_vbuf_line_count(b, vb_vbuf_head(b) + 1, VB_LINES_LF, &ln) == VB_ENOENT);
	vb_vbuf_close(b);
	/* (a compaction after the copy may have cut its version away) */
	if (copied != UINT64_MAX && copied >= oldest)
		check_copy(store, copy, copied, last);
	unlink(copy);
	printf("test-vlines: base of %zu bytes: %llu versions, %llu line checks, %u copies by export\n",
	       base_len, (unsigned long long)v, (unsigned long long)checks, copies_checked);
	for (size_t i = 0; i < MAX_VERSIONS; i++)
		free(content[i]);
	free(buf);
	free(starts);
	unlink(store);
	unlink(base);
}

int main(void)
{
	const char *ops_env = getenv("VB_TEST_OPS");
	uint64_t commits = ops_env ? strtoull(ops_env, NULL, 0) / 200 : 150;

	rnd_init(test_seed());
	tmp_dir_make("vb-test-vlines");
	/* a base the store counts when it is created */
	run(200 * 1024, commits);
	/* one too long to count then: its pieces' counts stay unknown and are
	 * read when asked, next to counted inserts */
	run(VB_PTREE_COUNT_PIECE_TEST + 300 * 1024, commits / 3);
	/* a base of many index blocks (a part not of whole 64 KiB at the end) */
	run(3 * VB_PTREE_COUNT_PIECE_TEST + 65536 * 3 + 777, commits / 3);
	rmdir(tmp_dir);
	return test_status("vlines");
}
