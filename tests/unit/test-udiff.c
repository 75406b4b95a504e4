/*
 * test-udiff: vb_udiff, the unified diff between two versions.
 *
 * Every patch is checked by applying it (apply_patch, a strict patch(1)):
 * the header comes first; hunks are in order and apart; each "@@" line's
 * numbers and counts match its lines; every context and removed line is
 * exactly version A's line there (its '\n' too, "\ No newline at end of
 * file" marking a last line without one); the leading and trailing
 * context are N lines unless the content starts or ends first; the first
 * and the last changed line of a hunk are not equal on both sides (equal
 * lines at the edges were moved into the context); and the result is
 * version B's bytes exactly.
 *
 *   random    a store over a base of short lines from a few words and
 *             "\r", "\n" (so equal lines are common) takes random inserts,
 *             deletes, replaces, reverts, flattens (full and partial),
 *             every version's bytes kept: random pairs of versions in both
 *             orders with 0 to 4 lines of context; SAME exactly when the
 *             contents are equal (a revert, a flatten).
 *   edges     empty versions, insertions at the start and the end, a
 *             whole deletion, a last line losing or gaining its '\n', a
 *             "\r\n" split by an insert.
 *   limits    a NUL byte in a changed or a context line: BINARY, nothing
 *             written; max_bytes just too small: LARGE, nothing written;
 *             just enough: the patch; a flattened copy compared with a
 *             tiny max_bytes (equal lines too many to compare): LARGE.
 *   errors    a version beyond the head, the model, a bad max_bytes.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "files.h"
#include "rnd.h"
#include "udiff.h"
#include "vbuf.h"

#define BASE_LEN (6 * 1024)
#define MAX_VERSIONS 160
#define HEADER "--- a\n+++ b\n"

static unsigned char *content[MAX_VERSIONS];
static size_t clen[MAX_VERSIONS];
static char out_path[400];
static uint64_t patches, hunks_seen;

static void fill(unsigned char *p, size_t n)
{
	static const char *const words[] = {"a", "b", "line", "\r", "\n", "\n", "\r\n", "x\n"};
	size_t i = 0;

	while (i < n) {
		const char *w = words[rnd(8)];
		for (size_t k = 0; w[k] && i < n; k++)
			p[i++] = (unsigned char)w[k];
	}
}

/* ------------------------------------------------------------- apply */

struct line {
	const unsigned char *p;
	size_t n; /* with its '\n', if it has one */
};

/* The lines of p[0, n): *count of them into a new array. */
static struct line *split(const unsigned char *p, size_t n, size_t *count)
{
	struct line *v = malloc((n + 1) * sizeof *v);
	size_t k = 0, s = 0;

	REQUIRE(v);
	for (size_t i = 0; i < n; i++)
		if (p[i] == '\n') {
			v[k++] = (struct line){p + s, i + 1 - s};
			s = i + 1;
		}
	if (s < n)
		v[k++] = (struct line){p + s, n - s};
	*count = k;
	return v;
}

static int same(const struct line *a, const unsigned char *p, size_t n)
{
	return a->n == n && !memcmp(a->p, p, n);
}

/* One line of the patch at *pos: its mark, its text (the '\n' left out
 * when "\ No newline at end of file" follows); 0 at the end. */
static int patch_line(const unsigned char *t, size_t len, size_t *pos, char *mark,
		      const unsigned char **p, size_t *n)
{
	static const char nonl[] = "\\ No newline at end of file\n";
	size_t i = *pos, e;

	if (i >= len)
		return 0;
	*mark = (char)t[i];
	for (e = i; e < len && t[e] != '\n'; e++)
		;
	REQUIRE(e < len); /* every line of a patch ends with '\n' */
	*p = t + i + 1;
	*n = e + 1 - (i + 1);
	*pos = e + 1;
	if (*mark != '@' && len - *pos >= sizeof nonl - 1 && !memcmp(t + *pos, nonl, sizeof nonl - 1)) {
		(*n)--;
		*pos += sizeof nonl - 1;
	}
	return 1;
}

static uint64_t num(const unsigned char **s)
{
	uint64_t v = 0;

	REQUIRE(**s >= '0' && **s <= '9');
	while (**s >= '0' && **s <= '9')
		v = v * 10 + (uint64_t)(*(*s)++ - '0');
	return v;
}

/* "L,S" or "L" (S = 1); an empty side is numbered from the line before. */
static void range_of(const unsigned char **s, uint64_t *first, uint64_t *count)
{
	*first = num(s);
	*count = 1;
	if (**s == ',') {
		(*s)++;
		*count = num(s);
	}
	if (*count == 0)
		(*first)++;
}

/* Apply patch t[0, len) (made with `context`) to a[0, na); check it as
 * the header says and compare the result with b[0, nb). */
static void apply_patch(const unsigned char *t, size_t len, uint64_t context,
			const unsigned char *a, size_t na, const unsigned char *b, size_t nb)
{
	size_t nla, pos = sizeof HEADER - 1, outn = 0, ai = 0; /* ai: next A line (0-based) */
	struct line *al = split(a, na, &nla);
	unsigned char *out = malloc(na + len + 1);
	char mark;
	const unsigned char *p;
	size_t n;
	int hunks = 0;

	REQUIRE(out);
	REQUIRE(len >= pos && !memcmp(t, HEADER, pos));
	while (patch_line(t, len, &pos, &mark, &p, &n)) {
		REQUIRE(mark == '@' && n > 9 && !memcmp(p, "@ -", 3));
		const unsigned char *s = p + 3;
		uint64_t fa, ca, fb, cb, seen_a = 0, seen_b = 0;
		size_t lead = 0, trail = 0;
		range_of(&s, &fa, &ca);
		REQUIRE(s[0] == ' ' && s[1] == '+');
		s += 2;
		range_of(&s, &fb, &cb);
		REQUIRE(!memcmp(s, " @@", 3));
		/* in order, apart, and B's numbers follow from the lines so far */
		CHECK(fa - 1 >= ai && (hunks == 0 || fa - 1 > ai));
		for (; ai < fa - 1 && ai < nla; ai++) {
			memcpy(out + outn, al[ai].p, al[ai].n);
			outn += al[ai].n;
		}
		size_t lines_b = 0;
		for (size_t i = 0; i < outn; i++)
			lines_b += out[i] == '\n';
		CHECK_EQ_U64(fb - 1, lines_b + (outn && out[outn - 1] != '\n'));
		/* the hunk's lines, then checked as a whole */
		struct hl {
			char mark;
			const unsigned char *p;
			size_t n;
		} *h = malloc((len / 2 + 1) * sizeof *h);
		size_t nh = 0;
		REQUIRE(h);
		while (seen_a < ca || seen_b < cb) {
			REQUIRE(patch_line(t, len, &pos, &mark, &p, &n));
			REQUIRE(mark == ' ' || mark == '-' || mark == '+');
			h[nh++] = (struct hl){mark, p, n};
			if (mark == ' ' || mark == '-') {
				REQUIRE(ai < nla);
				CHECK(same(&al[ai], p, n));
				ai++;
				seen_a++;
			}
			if (mark == ' ' || mark == '+') {
				memcpy(out + outn, p, n);
				outn += n;
				seen_b++;
			}
		}
		CHECK_EQ_U64(seen_a, ca);
		CHECK_EQ_U64(seen_b, cb);
		while (lead < nh && h[lead].mark == ' ')
			lead++;
		while (trail < nh && h[nh - 1 - trail].mark == ' ')
			trail++;
		CHECK(lead < nh);
		CHECK(lead <= context && trail <= context);
		CHECK(lead == context || fa == 1);
		CHECK(trail == context || ai == nla);
		/* the first changed lines of the first region and the last of
		 * the last region differ on the two sides */
		const struct hl *fm = NULL, *fp = NULL, *lm = NULL, *lp = NULL;
		for (size_t i = lead; i < nh && h[i].mark != ' '; i++) {
			if (h[i].mark == '-' && !fm)
				fm = &h[i];
			if (h[i].mark == '+' && !fp)
				fp = &h[i];
		}
		for (size_t i = nh - trail; i > 0 && h[i - 1].mark != ' '; i--) {
			if (h[i - 1].mark == '-' && !lm)
				lm = &h[i - 1];
			if (h[i - 1].mark == '+' && !lp)
				lp = &h[i - 1];
		}
		if (fm && fp)
			CHECK(!(fm->n == fp->n && !memcmp(fm->p, fp->p, fm->n)));
		if (lm && lp)
			CHECK(!(lm->n == lp->n && !memcmp(lm->p, lp->p, lm->n)));
		free(h);
		hunks++;
	}
	for (; ai < nla; ai++) {
		memcpy(out + outn, al[ai].p, al[ai].n);
		outn += al[ai].n;
	}
	CHECK(outn == nb && !memcmp(out, b, nb));
	hunks_seen += (uint64_t)hunks;
	patches++;
	free(out);
	free(al);
}

/* ------------------------------------------------------------- a diff */

/* vb_udiff from va to vb into a file, read back into *text. */
static enum vb_err run_udiff(struct vb_vbuf *b, uint64_t va, uint64_t vb, uint64_t context,
			     uint64_t max, struct vb_udiff_stats *st, unsigned char **text,
			     size_t *len)
{
	struct vb_udiff_opts o = {context, max, HEADER};
	struct vb_sink sink;
	int fd = open(out_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	enum vb_err rc;

	REQUIRE(fd >= 0);
	vb_sink_init(&sink, fd);
	rc = vb_udiff(b, va, vb, &o, &sink, st);
	vb_sink_done(&sink);
	off_t end = lseek(fd, 0, SEEK_END);
	REQUIRE(end >= 0);
	*len = (size_t)end;
	*text = malloc(*len + 1);
	REQUIRE(*text);
	REQUIRE(pread(fd, *text, *len, 0) == (ssize_t)*len);
	close(fd);
	if (!rc)
		CHECK_EQ_U64(st->bytes, *len);
	return rc;
}

/* The diff from va to vb checked against the kept contents. */
static void check_pair(struct vb_vbuf *b, uint64_t va, uint64_t vb, uint64_t context)
{
	struct vb_udiff_stats st;
	unsigned char *text;
	size_t len;
	int equal = clen[va] == clen[vb] && !memcmp(content[va], content[vb], clen[va]);

	CHECK_OK(run_udiff(b, va, vb, context, VB_UDIFF_MAX_BYTES, &st, &text, &len));
	if (equal) {
		CHECK(st.outcome == VB_UDIFF_SAME);
		CHECK_EQ_U64(len, 0);
	} else {
		CHECK(st.outcome == VB_UDIFF_TEXT);
		if (st.outcome == VB_UDIFF_TEXT)
			apply_patch(text, len, context, content[va], clen[va], content[vb], clen[vb]);
	}
	if (check_failures)
		fprintf(stderr, "seed %llu: versions %llu -> %llu, context %llu\n",
			(unsigned long long)rnd_seed, (unsigned long long)va, (unsigned long long)vb,
			(unsigned long long)context);
	REQUIRE(!check_failures);
	free(text);
}

/* ------------------------------------------------------------ stores */

static struct vb_vbuf_opts wo;
static char store[400], base[400];
static uint64_t nversions;

/* A new store whose version 0 is p[0, n) (a base file; empty: none). */
static struct vb_vbuf *new_store(const void *p, size_t n)
{
	struct vb_vbuf *b;

	unlink(store);
	for (size_t i = 0; i < MAX_VERSIONS; i++) {
		free(content[i]);
		content[i] = NULL;
	}
	vb_vbuf_opts_init(&wo);
	wo.write = 1;
	wo.create = 1;
	wo.no_sync = 1;
	wo.node_cache = 64 * 1024;
	if (n) {
		write_file(base, p, n);
		wo.base = base;
	}
	REQUIRE_OK(vb_vbuf_open(store, &wo, VB_HEAD, &b));
	wo.create = 0;
	wo.base = NULL;
	content[0] = malloc(n + 1);
	REQUIRE(content[0]);
	memcpy(content[0], p, n);
	clen[0] = n;
	nversions = 1;
	return b;
}

/* Commit the edits made to b, whose content is now p[0, n). */
static void commit(struct vb_vbuf *b, const void *p, size_t n)
{
	uint64_t v;

	REQUIRE(nversions < MAX_VERSIONS);
	REQUIRE_OK(vb_vbuf_commit(b, "", &v));
	REQUIRE(v == nversions);
	content[v] = malloc(n + 1);
	REQUIRE(content[v]);
	memcpy(content[v], p, n);
	clen[v] = n;
	nversions++;
}

static void test_random(void)
{
	unsigned char *buf = malloc(BASE_LEN), *cur = malloc(BASE_LEN * 4);
	REQUIRE(buf && cur);
	fill(buf, BASE_LEN);
	struct vb_vbuf *b = new_store(buf, BASE_LEN);
	size_t n = BASE_LEN;

	memcpy(cur, buf, n);
	for (uint64_t c = 1; c < MAX_VERSIONS; c++) {
		unsigned kind = (unsigned)rnd(16);
		if (kind == 0) {
			uint64_t to = rnd(c);
			REQUIRE_OK(vb_vbuf_revert(b, to));
			memcpy(cur, content[to], clen[to]);
			n = clen[to];
		} else if (kind == 1) {
			struct vb_flatten_opts fo;
			struct vb_flatten_stats fs;
			memset(&fo, 0, sizeof fo);
			fo.partial = rnd(2);
			REQUIRE_OK(vb_vbuf_flatten(b, &fo, &fs));
		} else {
			for (unsigned e = 1 + (unsigned)rnd(4); e; e--) {
				uint64_t off = rnd(n + 1);
				unsigned what = (unsigned)rnd(3);
				if (what == 0 || n == 0) {
					size_t k = 1 + rnd(rnd(4) ? 12 : 400);
					if (n + k > BASE_LEN * 4)
						continue;
					fill(buf, k);
					REQUIRE_OK(vb_vbuf_insert(b, off, buf, k));
					memmove(cur + off + k, cur + off, n - off);
					memcpy(cur + off, buf, k);
					n += k;
				} else if (what == 1) {
					uint64_t k = rnd(4) ? rnd(8) : rnd(n - off + 1);
					if (k > n - off)
						k = n - off;
					REQUIRE_OK(vb_vbuf_delete(b, off, k));
					memmove(cur + off, cur + off + k, n - off - k);
					n -= k;
				} else {
					/* the same bytes again: equal, from elsewhere */
					uint64_t k = rnd(20);
					if (k > n - off)
						k = n - off;
					memcpy(buf, cur + off, k);
					REQUIRE_OK(vb_vbuf_replace(b, off, k, buf, k));
				}
			}
		}
		commit(b, cur, n);
		if (rnd(4) == 0) {
			vb_vbuf_close(b);
			REQUIRE_OK(vb_vbuf_open(store, &wo, VB_HEAD, &b));
		}
		for (int i = 0; i < 3; i++) {
			uint64_t va = rnd(c + 1), vb = i ? rnd(c + 1) : c;
			check_pair(b, va, vb, rnd(5));
			check_pair(b, vb, va, rnd(5));
		}
	}
	vb_vbuf_close(b);
	free(buf);
	free(cur);
}

/* Replace the whole content by p[0, n) (a delete and an insert). */
static void set_content(struct vb_vbuf *b, const char *p)
{
	size_t n = strlen(p);

	if (vb_vbuf_len(b))
		REQUIRE_OK(vb_vbuf_delete(b, 0, vb_vbuf_len(b)));
	if (n)
		REQUIRE_OK(vb_vbuf_insert(b, 0, p, n));
	commit(b, p, n);
}

static void edit(struct vb_vbuf *b, uint64_t off, uint64_t del, const char *ins)
{
	size_t v = nversions - 1, n = clen[v], k = strlen(ins);
	unsigned char *p = malloc(n + k + 1);

	REQUIRE(p);
	if (del)
		REQUIRE_OK(vb_vbuf_delete(b, off, del));
	if (k)
		REQUIRE_OK(vb_vbuf_insert(b, off, ins, k));
	memcpy(p, content[v], off);
	memcpy(p + off, ins, k);
	memcpy(p + off + k, content[v] + off + del, n - off - del);
	commit(b, p, n - del + k);
	free(p);
}

static void test_edges(void)
{
	struct vb_vbuf *b = new_store("", 0);          /* 0: empty */
	set_content(b, "one\ntwo\nthree\n");           /* 1 */
	edit(b, 0, 0, "zero\n");                        /* 2: at the start */
	edit(b, clen[2], 0, "four\n");                  /* 3: at the end */
	edit(b, clen[3] - 1, 1, "");                    /* 4: the last '\n' gone */
	edit(b, clen[4], 0, "\n");                      /* 5: back */
	set_content(b, "a\r\nb\r\nc\r\n");             /* 6 */
	edit(b, 2, 0, "X");                             /* 7: between '\r' and '\n' */
	edit(b, 0, clen[7], "");                        /* 8: everything */
	set_content(b, "no newline");                   /* 9 */
	edit(b, 2, 0, "\n");                            /* 10: split it */
	set_content(b, "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n16\n"); /* 11 */
	edit(b, 2, 2, "");                              /* 12: line 2 */
	edit(b, 12, 2, "");                             /* 13: line 8 (of 11): 6 apart */
	edit(b, 22, 0, "x\n");                          /* 14: before line 13 of 11 */
	for (uint64_t a = 0; a < nversions; a++)
		for (uint64_t v = 0; v < nversions; v++)
			for (uint64_t ctx = 0; ctx < 5; ctx++)
				check_pair(b, a, v, ctx);

	/* exactly what diff -u prints */
	struct vb_udiff_stats st;
	unsigned char *text;
	size_t len;
	static const char *const want[][2] = {
		{"0 1", HEADER "@@ -0,0 +1,3 @@\n+one\n+two\n+three\n"},
		{"1 0", HEADER "@@ -1,3 +0,0 @@\n-one\n-two\n-three\n"},
		{"1 2", HEADER "@@ -1 +1,2 @@\n+zero\n one\n"},
		{"3 4", HEADER "@@ -4,2 +4,2 @@\n three\n-four\n+four\n"
			       "\\ No newline at end of file\n"},
		{"9 10", HEADER "@@ -1 +1,2 @@\n-no newline\n\\ No newline at end of file\n"
				"+no\n+ newline\n\\ No newline at end of file\n"},
		{"11 13", HEADER "@@ -1,3 +1,2 @@\n 1\n-2\n 3\n@@ -7,3 +6,2 @@\n 7\n-8\n 9\n"},
	};
	for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
		uint64_t va = strtoull(want[i][0], NULL, 10);
		uint64_t vb = strtoull(strchr(want[i][0], ' ') + 1, NULL, 10);
		CHECK_OK(run_udiff(b, va, vb, 1, VB_UDIFF_MAX_BYTES, &st, &text, &len));
		if (!(len == strlen(want[i][1]) && !memcmp(text, want[i][1], len)))
			fprintf(stderr, "%s: got\n%.*s", want[i][0], (int)len, (const char *)text);
		CHECK(len == strlen(want[i][1]) && !memcmp(text, want[i][1], len));
		free(text);
	}
	/* two changes 5 lines apart: one hunk with 3 lines of context, two
	 * with 2 */
	CHECK_OK(run_udiff(b, 11, 13, 3, VB_UDIFF_MAX_BYTES, &st, &text, &len));
	CHECK_EQ_U64(st.hunks, 1);
	free(text);
	CHECK_OK(run_udiff(b, 11, 13, 2, VB_UDIFF_MAX_BYTES, &st, &text, &len));
	CHECK_EQ_U64(st.hunks, 2);
	free(text);
	vb_vbuf_close(b);
}

static void test_limits(void)
{
	struct vb_udiff_stats st;
	unsigned char *text;
	size_t len;
	struct vb_vbuf *b = new_store("", 0);

	set_content(b, "a\nb\nc\nd\ne\nf\n");           /* 1 */
	edit(b, 4, 0, "x");                             /* 2: c -> xc */
	/* NUL in a changed line */
	REQUIRE_OK(vb_vbuf_insert(b, 0, "\0\n", 2));
	{
		unsigned char p[64];
		memcpy(p, "\0\n", 2);
		memcpy(p + 2, content[2], clen[2]);
		commit(b, p, clen[2] + 2);              /* 3 */
	}
	CHECK_OK(run_udiff(b, 2, 3, 3, VB_UDIFF_MAX_BYTES, &st, &text, &len));
	CHECK(st.outcome == VB_UDIFF_BINARY);
	CHECK_EQ_U64(len, 0);
	free(text);
	/* NUL in a context line only (line 1, 3 lines above the change) */
	edit(b, 7, 0, "y");                             /* 4: xc -> xyc */
	CHECK_OK(run_udiff(b, 3, 4, 3, VB_UDIFF_MAX_BYTES, &st, &text, &len));
	CHECK(st.outcome == VB_UDIFF_BINARY);
	free(text);
	CHECK_OK(run_udiff(b, 3, 4, 2, VB_UDIFF_MAX_BYTES, &st, &text, &len));
	CHECK(st.outcome == VB_UDIFF_TEXT);
	free(text);

	/* the size limit: exactly the patch's length passes, one less not */
	CHECK_OK(run_udiff(b, 1, 2, 3, VB_UDIFF_MAX_BYTES, &st, &text, &len));
	CHECK(st.outcome == VB_UDIFF_TEXT);
	free(text);
	uint64_t need = st.bytes;
	CHECK_OK(run_udiff(b, 1, 2, 3, need, &st, &text, &len));
	CHECK(st.outcome == VB_UDIFF_TEXT);
	CHECK_EQ_U64(len, need);
	free(text);
	CHECK_OK(run_udiff(b, 1, 2, 3, need - 1, &st, &text, &len));
	CHECK(st.outcome == VB_UDIFF_LARGE);
	CHECK_EQ_U64(len, 0);
	free(text);

	/* a flatten: every byte is new, none differs; comparing them needs
	 * reading both versions */
	{
		unsigned char *big = malloc(200000);
		REQUIRE(big);
		fill(big, 200000);
		vb_vbuf_close(b);
		b = new_store(big, 200000);
		struct vb_flatten_opts fo;
		struct vb_flatten_stats fs;
		memset(&fo, 0, sizeof fo);
		REQUIRE_OK(vb_vbuf_flatten(b, &fo, &fs));
		commit(b, big, 200000);
		CHECK_OK(run_udiff(b, 0, 1, 3, VB_UDIFF_MAX_BYTES, &st, &text, &len));
		CHECK(st.outcome == VB_UDIFF_SAME);
		free(text);
		CHECK_OK(run_udiff(b, 0, 1, 3, 100000, &st, &text, &len));
		CHECK(st.outcome == VB_UDIFF_LARGE);
		free(text);
		free(big);
	}

	/* errors */
	CHECK(run_udiff(b, 0, 9, 3, VB_UDIFF_MAX_BYTES, &st, &text, &len) == VB_ENOENT);
	CHECK(strstr(vb_err_detail(), "does not exist") != NULL);
	free(text);
	CHECK(run_udiff(b, 0, 1, 3, 0, &st, &text, &len) == VB_EINVAL);
	free(text);
	CHECK(run_udiff(b, 0, 1, 3, VB_UDIFF_MAX_BYTES_MAX + 1, &st, &text, &len) == VB_EINVAL);
	free(text);
	vb_vbuf_close(b);
	struct vb_vbuf *model;
	REQUIRE_OK(vb_vbuf_open_mem("abc", 3, &model));
	CHECK(run_udiff(model, 0, 0, 3, VB_UDIFF_MAX_BYTES, &st, &text, &len) == VB_EINVAL);
	free(text);
	vb_vbuf_close(model);
}

int main(void)
{
	rnd_init(test_seed());
	tmp_dir_make("vb-test-udiff");
	snprintf(store, sizeof store, "%s", tmp_path("s.vb"));
	snprintf(base, sizeof base, "%s", tmp_path("base"));
	snprintf(out_path, sizeof out_path, "%s", tmp_path("patch"));

	test_edges();
	test_limits();
	test_random();
	printf("test-udiff: %llu patches applied, %llu hunks\n", (unsigned long long)patches,
	       (unsigned long long)hunks_seen);
	for (size_t i = 0; i < MAX_VERSIONS; i++)
		free(content[i]);
	unlink(store);
	unlink(base);
	unlink(out_path);
	rmdir(tmp_dir);
	return test_status("udiff");
}
