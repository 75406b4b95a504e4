/*
 * test-export: portable edits (written by lib/export.c, applied by
 * lib/apply.c) against the stores they come from.
 *
 * - Exchange: a store A over a base file gets random versions (inserts,
 *   some over 1 MiB; deletes; replaces, some with mostly the same bytes;
 *   reverts; anchors set and removed; full and partial flattens, also in
 *   the same commit as edits; an embed; empty versions; compactions), is
 *   copied byte for byte to B, and then, round after round, one of the
 *   two gets new versions, exports them and the other applies them (in
 *   one of three ways: directly, checked first, or with the last version
 *   left to the caller).  After every round both have the same content at
 *   every new version, the same anchors at every version kept by both,
 *   and both verify.  Exports are also re-applied (nothing happens) and
 *   made from an older version (the versions the receiver has are
 *   skipped).
 * - Sizes: bytes replaced by the same bytes, a flatten and a revert to
 *   equal content export no edit; one changed byte among many replaced
 *   ones exports one byte.
 * - Damage: an export of a few versions (one with an edit of several
 *   DATA records, which goes through the pipe) cut at every record
 *   boundary and inside records, with a byte flipped in every record,
 *   with impossible lengths, and with records rewritten (out of sequence,
 *   more data than announced, wrong counts and checksums, an unknown type,
 *   a dropped record) is refused with the expected error and the record's
 *   offset; checked first it leaves the receiver byte-identical, applied
 *   as it comes it leaves exactly the versions whose COMMIT arrived (and,
 *   with leave_last, not even the last of those without the END).
 * - Mismatch: another store, a receiver at an older version, copies that
 *   diverged (same version number, different content) are refused.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "content.h"
#include "export.h"
#include "files.h"
#include "io.h"
#include "rnd.h"
#include "vbuf.h"

#define BASE_LEN (256u << 10)


/* ------------------------------------------------------------- files */

static unsigned char *slurp(const char *name, size_t *n)
{
	struct stat sb;
	int fd = open(tmp_path(name), O_RDONLY);
	REQUIRE(fd >= 0 && !fstat(fd, &sb));
	unsigned char *d = malloc((size_t)sb.st_size + 1);
	size_t got;
	REQUIRE(d && !vb_io_read_full(fd, d, (size_t)sb.st_size, &got) && got == (size_t)sb.st_size);
	close(fd);
	*n = got;
	return d;
}

static void spill(const char *name, const unsigned char *d, size_t n)
{
	int fd = open(tmp_path(name), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	REQUIRE(fd >= 0 && !vb_io_write_full(fd, d, n) && !close(fd));
}

static void copy(const char *from, const char *to)
{
	size_t n;
	unsigned char *d = slurp(from, &n);
	spill(to, d, n);
	free(d);
}

static int same_file(const char *a, const char *b)
{
	size_t na, nb;
	unsigned char *da = slurp(a, &na), *db = slurp(b, &nb);
	int same = na == nb && !memcmp(da, db, na);
	free(da);
	free(db);
	return same;
}

/* ----------------------------------------------------- streams in memory */

struct mem {
	unsigned char *d;
	size_t n, cap, pos;
	int short_reads;   /* hand out random short reads */
};

static enum vb_err mem_write(void *arg, const void *buf, size_t n)
{
	struct mem *m = arg;
	if (m->n + n > m->cap) {
		m->cap = (m->n + n) * 2;
		REQUIRE((m->d = realloc(m->d, m->cap)));
	}
	memcpy(m->d + m->n, buf, n);
	m->n += n;
	return VB_OK;
}

static enum vb_err mem_read(void *arg, void *buf, size_t n, size_t *got)
{
	struct mem *m = arg;
	size_t k = m->n - m->pos < n ? m->n - m->pos : n;
	if (m->short_reads && k > 1)
		k = 1 + (size_t)rnd(k);
	memcpy(buf, m->d + m->pos, k);
	m->pos += k;
	*got = k;
	return VB_OK;
}

static uint64_t head_of(const char *store)
{
	struct vb_vbuf_opts o = store_opts(0);
	struct vb_vbuf *b;
	o.lenient_base = 1;
	REQUIRE_OK(vb_vbuf_open(tmp_path(store), &o, VB_HEAD, &b));
	uint64_t h = vb_vbuf_head(b);
	vb_vbuf_close(b);
	return h;
}

static uint64_t oldest_of(const char *store)
{
	struct vb_vbuf_opts o = store_opts(0);
	struct vb_vbuf *b;
	o.lenient_base = 1;
	REQUIRE_OK(vb_vbuf_open(tmp_path(store), &o, VB_HEAD, &b));
	struct vb_vbuf_state vs;
	vb_vbuf_state(b, &vs);
	uint64_t v = vs.oldest;
	vb_vbuf_close(b);
	return v;
}

static void export_of(const char *store, uint64_t since, struct mem *m)
{
	struct vb_vbuf_opts o = store_opts(0);
	struct vb_vbuf *b;
	struct vb_export_stats st;
	struct vb_export_opts eo = {mem_write, m, (int)rnd(10)};

	m->n = m->pos = 0;
	/* the smallest caches: the export reads content inside the diff's
	 * walk, with nodes evicted under it */
	if (rnd(2))
		vb_vbuf_opts_cache(&o, VB_CACHE_MIN);
	REQUIRE_OK(vb_vbuf_open(tmp_path(store), &o, VB_HEAD, &b));
	REQUIRE_OK(vb_export_stream(b, since, &eo, &st));
	CHECK_EQ_U64(st.bytes, m->n);
	CHECK_EQ_U64(st.versions, vb_vbuf_head(b) - since);
	vb_vbuf_close(b);
}

/* Apply m to store: mode 0 directly, 1 checked first, 2 with the last
 * version left pending and committed here.  Returns the library's code;
 * *st gets the stats. */
static enum vb_err apply_to(const char *store, struct mem *m, int mode, struct vb_apply_stats *st)
{
	struct vb_vbuf_opts o = store_opts(1);
	struct vb_vbuf *b;
	struct vb_apply_opts ao = {mem_read, m, 0, mode == 2, store};
	enum vb_err rc = VB_OK;

	REQUIRE_OK(vb_vbuf_open(tmp_path(store), &o, VB_HEAD, &b));
	m->pos = 0;
	m->short_reads = (int)rnd(2);
	if (mode == 1) {
		ao.check_only = 1;
		rc = vb_apply_stream(b, &ao, st);
		ao.check_only = 0;
		m->pos = 0;
		CHECK_EQ_U64(vb_vbuf_head(b), vb_vbuf_version(b));
	}
	if (!rc)
		rc = vb_apply_stream(b, &ao, st);
	if (!rc && st->pending) {
		uint64_t v;
		REQUIRE_OK(vb_vbuf_commit(b, st->message, &v));
		CHECK_EQ_U64(v, st->newest);
	}
	vb_vbuf_close(b);
	return rc;
}

/* ------------------------------------------------------------ checking */

struct named {
	char name[64];
	uint64_t off;
};

struct anchors {
	struct named a[256];
	size_t n;
};

static enum vb_err take_anchor(void *arg, const char *name, uint64_t off, uint64_t set_in)
{
	struct anchors *l = arg;
	(void)set_in;
	REQUIRE(l->n < 256);
	snprintf(l->a[l->n].name, sizeof l->a[l->n].name, "%s", name);
	l->a[l->n++].off = off;
	return VB_OK;
}

static int by_name(const void *x, const void *y)
{
	return strcmp(((const struct named *)x)->name, ((const struct named *)y)->name);
}

static void anchors_at(struct vb_vbuf *b, uint64_t v, struct anchors *l)
{
	l->n = 0;
	REQUIRE_OK(vb_vbuf_anchors(b, v, take_anchor, l));
	qsort(l->a, l->n, sizeof l->a[0], by_name);
}

static void note(void *arg, uint64_t off, const char *what)
{
	(void)arg;
	fprintf(stderr, "verify: %llu: %s\n", (unsigned long long)off, what);
}

static void verify(const char *store)
{
	struct vb_vbuf_opts o = store_opts(0);
	struct vb_vbuf *b;
	REQUIRE_OK(vb_vbuf_open(tmp_path(store), &o, VB_HEAD, &b));
	CHECK_OK(vb_vbuf_verify(b, note, NULL, NULL, NULL));
	vb_vbuf_close(b);
}

/* A and B hold the same versions from..head: same content (from
 * `content_from` on), same anchors; both verify. */
static void compare(const char *a, const char *b, uint64_t from, uint64_t content_from)
{
	struct vb_vbuf_opts o = store_opts(0);
	struct vb_vbuf *ha, *hb;
	struct anchors la, lb;

	REQUIRE_OK(vb_vbuf_open(tmp_path(a), &o, VB_HEAD, &ha));
	REQUIRE_OK(vb_vbuf_open(tmp_path(b), &o, VB_HEAD, &hb));
	CHECK_EQ_U64(vb_vbuf_head(ha), vb_vbuf_head(hb));
	uint64_t head = vb_vbuf_head(ha);
	for (uint64_t v = from; v <= head; v++) {
		anchors_at(ha, v, &la);
		anchors_at(hb, v, &lb);
		CHECK_EQ_U64(la.n, lb.n);
		for (size_t i = 0; i < la.n && i < lb.n; i++) {
			CHECK(!strcmp(la.a[i].name, lb.a[i].name));
			CHECK_EQ_U64(la.a[i].off, lb.a[i].off);
		}
		if (v < content_from)
			continue;
		struct vb_vbuf *va, *vb;
		REQUIRE_OK(vb_vbuf_open(tmp_path(a), &o, v, &va));
		REQUIRE_OK(vb_vbuf_open(tmp_path(b), &o, v, &vb));
		CHECK_EQ_U64(vb_vbuf_len(va), vb_vbuf_len(vb));
		if (vb_vbuf_len(va) == vb_vbuf_len(vb) && content_crc(va) != content_crc(vb)) {
			fprintf(stderr, "version %llu differs (seed %llu)\n", (unsigned long long)v,
				(unsigned long long)rnd_seed);
			CHECK(0);
		}
		vb_vbuf_close(va);
		vb_vbuf_close(vb);
	}
	vb_vbuf_close(ha);
	vb_vbuf_close(hb);
	verify(a);
	verify(b);
}

/* -------------------------------------------------------------- editing */

static unsigned char big[3u << 20];

static void random_bytes(unsigned char *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		d[i] = (unsigned char)("abcdefgh\n"[rnd(9)]);
}

static enum vb_err first_anchor(void *arg, const char *name, uint64_t off, uint64_t set_in)
{
	(void)off;
	(void)set_in;
	if (!*(char *)arg)
		snprintf(arg, 64, "%s", name);
	return VB_OK;
}

/* One random operation on b (a writer with the edits of this version). */
static void random_op(struct vb_vbuf *b)
{
	uint64_t len = vb_vbuf_len(b), off = rnd(len + 1), head = vb_vbuf_head(b);
	struct vb_vbuf_state vs;
	vb_vbuf_state(b, &vs);
	uint64_t oldest = vs.oldest;
	int k = (int)rnd(100);

	if (k < 25) {
		size_t n = rnd(20) ? 1 + (size_t)rnd(60) : (size_t)rnd(2) ? 1 + (size_t)rnd(200000)
								   : (1u << 20) + (size_t)rnd(2u << 20);
		random_bytes(big, n);
		REQUIRE_OK(vb_vbuf_insert(b, off, big, n));
	} else if (k < 40) {
		REQUIRE_OK(vb_vbuf_delete(b, off, rnd(len - off < 3000 ? len - off + 1 : 3000)));
	} else if (k < 50) {
		size_t n = 1 + (size_t)rnd(50);
		random_bytes(big, n);
		REQUIRE_OK(vb_vbuf_replace(b, off, rnd(len - off < 80 ? len - off + 1 : 80), big, n));
	} else if (k < 56 && len) {
		/* the same bytes again, one of them changed (or none): the
		 * diff reports them all, the export only what changed */
		size_t n = (size_t)(len - off < 5000 ? len - off : 5000);
		REQUIRE_OK(vb_vbuf_read(b, off, big, n));
		if (n && rnd(3))
			big[rnd(n)] ^= 0x20;
		REQUIRE_OK(vb_vbuf_replace(b, off, n, big, n));
	} else if (k < 64 && head > oldest) {
		REQUIRE_OK(vb_vbuf_revert(b, oldest + rnd(head - oldest + 1)));
	} else if (k < 90) {
		struct vb_flatten_opts fo = {(int)rnd(3) != 0, 1 + rnd(300), NULL, NULL};
		REQUIRE_OK(vb_vbuf_flatten(b, &fo, NULL));
	}
	/* else nothing: an empty operation slot */
}

static int embedded_a, embedded_b;

/* n new versions on `store`; rarely one of them a compaction that keeps
 * version `keep_from`. */
static void edit(const char *store, int n, int *embedded, uint64_t keep_from)
{
	struct vb_vbuf_opts o = store_opts(1);
	struct vb_vbuf *b;
	char msg[64];
	uint64_t v;

	for (int i = 0; i < n; i++) {
		REQUIRE_OK(vb_vbuf_open(tmp_path(store), &o, VB_HEAD, &b));
		if (!rnd(25)) {
			struct vb_compact_stats cs;
			uint64_t keep = vb_vbuf_head(b) - keep_from + 1 + rnd(6);
			REQUIRE_OK(vb_vbuf_compact(b, keep, "compacted", NULL, NULL, &cs));
			vb_vbuf_close(b);
			continue;
		}
		if (!*embedded && !rnd(15)) {
			/* the base's copy must open the session's data */
			uint64_t bytes;
			struct vb_flatten_opts fo = {0, 0, NULL, NULL};
			REQUIRE_OK(vb_vbuf_embed(b, &fo, &bytes));
			*embedded = 1;
		}
		int ops = (int)rnd(4);
		for (int k = 0; k < ops; k++)
			random_op(b);
		/* anchors are set in the content as committed: after the edits */
		for (int k = (int)rnd(3); k-- > 0;) {
			char name[64];
			if (rnd(4)) {
				snprintf(name, sizeof name, "a%d", (int)rnd(8));
				REQUIRE_OK(vb_vbuf_set_anchor(b, name, rnd(vb_vbuf_len(b) + 1)));
			} else {
				name[0] = 0;
				REQUIRE_OK(vb_vbuf_anchors(b, vb_vbuf_head(b), first_anchor, name));
				if (name[0])
					REQUIRE_OK(vb_vbuf_remove_anchor(b, name));
			}
		}
		snprintf(msg, sizeof msg, "edit %d \xc3\xa9%s", (int)rnd(1000), rnd(2) ? "\n!#:+" : "");
		REQUIRE_OK(vb_vbuf_commit(b, rnd(5) ? msg : NULL, &v));
		vb_vbuf_close(b);
	}
}

/* ------------------------------------------------------------- exchange */

static void exchange(void)
{
	struct mem m = {NULL, 0, 0, 0, 0};
	struct vb_apply_stats st;
	struct vb_vbuf_opts o = store_opts(1);
	struct vb_vbuf *b;
	uint64_t v;

	unsigned char *d = malloc(BASE_LEN);
	REQUIRE(d);
	random_bytes(d, BASE_LEN);
	spill("base", d, BASE_LEN);
	free(d);
	o.create = 1;
	o.base = tmp_path("base");
	REQUIRE_OK(vb_vbuf_open(tmp_path("a.vb"), &o, VB_HEAD, &b));
	REQUIRE_OK(vb_vbuf_commit(b, "created", &v));
	vb_vbuf_close(b);
	edit("a.vb", 12, &embedded_a, 0);
	copy("a.vb", "b.vb");
	embedded_b = embedded_a;

	int rounds = 40;
	for (int r = 0; r < rounds; r++) {
		int from_a = (int)rnd(2);
		const char *x = from_a ? "a.vb" : "b.vb", *y = from_a ? "b.vb" : "a.vb";
		uint64_t h0 = head_of(x);
		CHECK_EQ_U64(h0, head_of(y));
		edit(x, 1 + (int)rnd(4), from_a ? &embedded_a : &embedded_b, h0);
		export_of(x, h0, &m);
		int mode = (int)rnd(3);
		enum vb_err rc = apply_to(y, &m, mode, &st);
		if (rc)
			fprintf(stderr, "round %d: %s (seed %llu)\n", r, vb_err_detail(),
				(unsigned long long)rnd_seed);
		CHECK_OK(rc);
		CHECK_EQ_U64(st.applied, head_of(x) - h0);
		CHECK_EQ_U64(st.present, 0);
		CHECK_EQ_U64(head_of(y), head_of(x));
		uint64_t low = oldest_of(x) > oldest_of(y) ? oldest_of(x) : oldest_of(y);
		compare(x, y, low, h0 > low ? h0 : low);

		/* the same export again: nothing to do */
		CHECK_OK(apply_to(y, &m, (int)rnd(3), &st));
		CHECK_EQ_U64(st.applied, 0);
		CHECK_EQ_U64(st.present, head_of(x) - h0);
		CHECK_EQ_U64(head_of(y), head_of(x));
		/* from an older version both have: the receiver's skipped */
		if (h0 > low + 2 && !rnd(3)) {
			export_of(x, h0 - 2, &m);
			CHECK_OK(apply_to(y, &m, (int)rnd(3), &st));
			CHECK_EQ_U64(st.applied, 0);
			CHECK_EQ_U64(st.present, head_of(x) - h0 + 2);
		}
	}
	/* everything both still have, once more */
	uint64_t low = oldest_of("a.vb") > oldest_of("b.vb") ? oldest_of("a.vb") : oldest_of("b.vb");
	compare("a.vb", "b.vb", low, low);
	free(m.d);
}

/* ---------------------------------------------------------------- sizes */

/* What one version of `store` exports as (the newest). */
static struct vb_export_stats newest_export(const char *store)
{
	struct vb_vbuf_opts o = store_opts(0);
	struct vb_vbuf *b;
	struct vb_export_stats st;
	struct mem m = {NULL, 0, 0, 0, 0};
	struct vb_export_opts eo = {mem_write, &m, 0};

	REQUIRE_OK(vb_vbuf_open(tmp_path(store), &o, VB_HEAD, &b));
	REQUIRE_OK(vb_export_stream(b, vb_vbuf_head(b) - 1, &eo, &st));
	vb_vbuf_close(b);
	free(m.d);
	return st;
}

/* Only what changed travels: bytes replaced by the same bytes, a flatten
 * (a new copy of every byte) and a revert to equal content export no
 * edit; one changed byte among 5000 replaced ones exports one byte; a
 * 3 MiB insert exports its bytes once. */
static void sizes(void)
{
	struct vb_vbuf_opts o = store_opts(1);
	struct vb_vbuf *b;
	struct vb_export_stats st;
	uint64_t v;

	copy("a.vb", "s.vb");
	REQUIRE_OK(vb_vbuf_open(tmp_path("s.vb"), &o, VB_HEAD, &b));
	REQUIRE_OK(vb_vbuf_read(b, 100, big, 5000));
	REQUIRE_OK(vb_vbuf_replace(b, 100, 5000, big, 5000));
	REQUIRE_OK(vb_vbuf_commit(b, NULL, &v));
	vb_vbuf_close(b);
	st = newest_export("s.vb");
	CHECK_EQ_U64(st.edits, 0);

	REQUIRE_OK(vb_vbuf_open(tmp_path("s.vb"), &o, VB_HEAD, &b));
	REQUIRE_OK(vb_vbuf_read(b, 100, big, 5000));
	big[1234] ^= 1;
	REQUIRE_OK(vb_vbuf_replace(b, 100, 5000, big, 5000));
	REQUIRE_OK(vb_vbuf_commit(b, NULL, &v));
	vb_vbuf_close(b);
	st = newest_export("s.vb");
	CHECK_EQ_U64(st.edits, 1);
	CHECK_EQ_U64(st.inserted, 1);
	CHECK_EQ_U64(st.deleted, 1);

	REQUIRE_OK(vb_vbuf_open(tmp_path("s.vb"), &o, VB_HEAD, &b));
	struct vb_flatten_opts fo = {0, 0, NULL, NULL};
	REQUIRE_OK(vb_vbuf_flatten(b, &fo, NULL));
	REQUIRE_OK(vb_vbuf_commit(b, NULL, &v));
	vb_vbuf_close(b);
	st = newest_export("s.vb");
	CHECK_EQ_U64(st.edits, 0);
	CHECK(st.bytes < 200);

	REQUIRE_OK(vb_vbuf_open(tmp_path("s.vb"), &o, VB_HEAD, &b));
	REQUIRE_OK(vb_vbuf_revert(b, v));
	REQUIRE_OK(vb_vbuf_commit(b, NULL, &v));
	vb_vbuf_close(b);
	st = newest_export("s.vb");
	CHECK_EQ_U64(st.edits, 0);

	REQUIRE_OK(vb_vbuf_open(tmp_path("s.vb"), &o, VB_HEAD, &b));
	random_bytes(big, 3u << 20);
	REQUIRE_OK(vb_vbuf_insert(b, 7, big, 3u << 20));
	REQUIRE_OK(vb_vbuf_commit(b, NULL, &v));
	vb_vbuf_close(b);
	st = newest_export("s.vb");
	CHECK_EQ_U64(st.edits, 1);
	CHECK_EQ_U64(st.inserted, 3u << 20);
	unlink(tmp_path("s.vb"));
}

/* --------------------------------------------------------------- damage */

struct rec {
	size_t off, len;        /* in the stream, with the 12-byte head */
	unsigned char *pay;     /* decompressed */
	size_t plen;
};

static size_t split(const struct mem *m, struct rec *r, size_t max)
{
	size_t n = 0;
	for (size_t at = 8; at < m->n; n++) {
		REQUIRE(n < max && at + 12 <= m->n);
		uint32_t c = (uint32_t)m->d[at] | (uint32_t)m->d[at + 1] << 8 |
			     (uint32_t)m->d[at + 2] << 16 | (uint32_t)m->d[at + 3] << 24;
		uint32_t u = (uint32_t)m->d[at + 4] | (uint32_t)m->d[at + 5] << 8 |
			     (uint32_t)m->d[at + 6] << 16 | (uint32_t)m->d[at + 7] << 24;
		r[n].off = at;
		r[n].len = 12 + c;
		REQUIRE((r[n].pay = malloc(u)));
		uLongf ul = u;
		REQUIRE(uncompress(r[n].pay, &ul, m->d + at + 12, c) == Z_OK && ul == u);
		r[n].plen = u;
		at += 12 + c;
	}
	return n;
}

static void put32le(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put64le(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* A record with a correct checksum around `pay` (raw: clen, ulen as given). */
static void put_rec(struct mem *m, const unsigned char *pay, size_t n)
{
	uLongf cl = compressBound(n);
	unsigned char *buf = malloc(12 + cl);
	REQUIRE(buf && compress2(buf + 12, &cl, pay, n, 6) == Z_OK);
	put32le(buf, (uint32_t)cl);
	put32le(buf + 4, (uint32_t)n);
	uint32_t c = (uint32_t)crc32(0, buf, 8);
	put32le(buf + 8, (uint32_t)crc32(c, buf + 12, (uInt)cl));
	mem_write(m, buf, 12 + cl);
	free(buf);
}

/* The stream rebuilt from records, record `skip` left out (or none). */
static void rebuild(struct mem *out, struct rec *r, size_t n, size_t skip)
{
	out->n = out->pos = 0;
	mem_write(out, "\x89VBEDIT\n", 8);
	for (size_t i = 0; i < n; i++)
		if (i != skip)
			put_rec(out, r[i].pay, r[i].plen);
}

/* The detail of the last refusal (later calls overwrite vb_err_detail). */
static char refusal[600];

/* Apply `m` to a fresh copy of `target`: checked first, the copy must be
 * byte-identical afterwards; then as it comes, its head must be
 * `want_head` (directly) and `want_pending` (leave_last).  The error must
 * be `code` and name byte `at` (when not SIZE_MAX). */
static void refused(struct mem *m, const char *target, enum vb_err code, size_t at,
		    uint64_t want_head, uint64_t want_pending, const char *what)
{
	struct vb_apply_stats st;
	char expect[64];
	enum vb_err rc;

	copy(target, "t.vb");
	rc = apply_to("t.vb", m, 1, &st);
	snprintf(refusal, sizeof refusal, "%s", vb_err_detail());
	if (rc != code)
		fprintf(stderr, "%s: got %s (%s)\n", what, vb_strerror(rc), vb_err_detail());
	CHECK(rc == code);
	CHECK(st.input_error);
	snprintf(expect, sizeof expect, "the record at byte %zu ", at);
	if (at != SIZE_MAX && strncmp(vb_err_detail(), expect, strlen(expect))) {
		fprintf(stderr, "%s: '%s' does not start '%s'\n", what, vb_err_detail(), expect);
		CHECK(0);
	}
	if (at != SIZE_MAX)
		CHECK_EQ_U64(st.offset, at);
	CHECK(same_file(target, "t.vb"));

	rc = apply_to("t.vb", m, 0, &st);
	CHECK(rc == code);
	if (head_of("t.vb") != want_head)
		fprintf(stderr, "%s: head %llu, not %llu\n", what,
			(unsigned long long)head_of("t.vb"), (unsigned long long)want_head);
	CHECK_EQ_U64(head_of("t.vb"), want_head);
	CHECK_EQ_U64(st.applied, want_head - head_of(target));
	verify("t.vb");
	/* what was applied is resumed by the whole export */
	if (want_head > head_of(target)) {
		struct mem whole = {NULL, 0, 0, 0, 0};
		export_of("d.vb", head_of(target), &whole);
		CHECK_OK(apply_to("t.vb", &whole, 0, &st));
		CHECK_EQ_U64(st.present, want_head - head_of(target));
		compare("d.vb", "t.vb", head_of(target), head_of(target));
		free(whole.d);
	}

	copy(target, "t.vb");
	rc = apply_to("t.vb", m, 2, &st);
	CHECK(rc == code);
	CHECK_EQ_U64(head_of("t.vb"), want_pending);
}

static void damage(void)
{
	struct mem m = {NULL, 0, 0, 0, 0}, x = {NULL, 0, 0, 0, 0};
	struct rec r[64];
	struct vb_vbuf_opts o = store_opts(1);
	struct vb_vbuf *b;
	uint64_t v;

	/* d.vb: three versions after e.vb's head, one with a 2.5 MiB insert */
	copy("a.vb", "d.vb");
	copy("a.vb", "e.vb");
	uint64_t s = head_of("e.vb");
	REQUIRE_OK(vb_vbuf_open(tmp_path("d.vb"), &o, VB_HEAD, &b));
	REQUIRE_OK(vb_vbuf_insert(b, 10, "first", 5));
	REQUIRE_OK(vb_vbuf_set_anchor(b, "dmg", 3));
	REQUIRE_OK(vb_vbuf_commit(b, "one", &v));
	vb_vbuf_close(b);
	REQUIRE_OK(vb_vbuf_open(tmp_path("d.vb"), &o, VB_HEAD, &b));
	random_bytes(big, (5u << 20) / 2);
	REQUIRE_OK(vb_vbuf_insert(b, 100, big, (5u << 20) / 2));
	REQUIRE_OK(vb_vbuf_delete(b, 0, 3));
	REQUIRE_OK(vb_vbuf_commit(b, "two", &v));
	vb_vbuf_close(b);
	REQUIRE_OK(vb_vbuf_open(tmp_path("d.vb"), &o, VB_HEAD, &b));
	REQUIRE_OK(vb_vbuf_replace(b, 50, 2, "xyz", 3));
	REQUIRE_OK(vb_vbuf_commit(b, "three", &v));
	vb_vbuf_close(b);
	export_of("d.vb", s, &m);
	size_t n = split(&m, r, 64);
	/* header, 3 x (version, edits and data, commit), end */
	CHECK(r[0].pay[0] == 1 && r[n - 1].pay[0] == 6);
	size_t data = 0;
	for (size_t i = 0; i < n; i++)
		data += r[i].pay[0] == 4;
	CHECK(data >= 4);

	/* whole, it applies */
	copy("e.vb", "t.vb");
	struct vb_apply_stats st;
	CHECK_OK(apply_to("t.vb", &m, 0, &st));
	compare("d.vb", "t.vb", s, s);

	/* cut at every record boundary (not the whole) and inside records */
	uint64_t commits = 0;
	for (size_t i = 0; i < n; i++) {
		/* versions whose COMMIT lies wholly before the cut */
		x.n = x.pos = 0;
		mem_write(&x, m.d, r[i].off);
		refused(&x, "e.vb", i ? VB_ECORRUPT : VB_ECORRUPT, r[i].off, s + commits,
			s + commits - (commits && commits == 3), "cut at a boundary");
		size_t in = r[i].off + 1 + (size_t)rnd(r[i].len - 1);
		x.n = x.pos = 0;
		mem_write(&x, m.d, in);
		refused(&x, "e.vb", VB_ECORRUPT, r[i].off, s + commits,
			s + commits - (commits && commits == 3), "cut inside a record");
		if (r[i].pay[0] == 5)
			commits++;
	}
	/* cut inside the magic */
	x.n = x.pos = 0;
	mem_write(&x, m.d, 5);
	refused(&x, "e.vb", VB_EFORMAT, SIZE_MAX, s, s, "cut magic");

	/* a byte flipped in every record: its head, or its compressed bytes */
	commits = 0;
	for (size_t i = 0; i < n; i++) {
		x.n = x.pos = 0;
		mem_write(&x, m.d, m.n);
		x.d[r[i].off + (size_t)rnd(r[i].len)] ^= (unsigned char)(1u << rnd(8));
		refused(&x, "e.vb", VB_ECORRUPT, r[i].off, s + commits,
			s + commits - (commits == 3), "flipped byte");
		if (r[i].pay[0] == 5)
			commits++;
	}

	/* impossible lengths (with a correct checksum): refused before
	 * anything is allocated for them */
	unsigned char h[12];
	for (int k = 0; k < 3; k++) {
		x.n = x.pos = 0;
		mem_write(&x, m.d, r[1].off);
		put32le(h, k == 0 ? 0xffffffffu : k == 1 ? 100 : 0);
		put32le(h + 4, k == 1 ? (uint32_t)VB_EXPORT_PAYLOAD_MAX + 1 : 100);
		put32le(h + 8, (uint32_t)crc32(0, h, 8));
		mem_write(&x, h, 12);
		refused(&x, "e.vb", VB_ECORRUPT, r[1].off, s, s, "impossible lengths");
		CHECK(strstr(refusal, "impossible lengths") != NULL);
	}

	/* rewritten records */
	size_t ver2 = 0, edit2 = 0, data2 = 0, commit2 = 0;
	for (size_t i = 0, nv = 0; i < n; i++) {
		if (r[i].pay[0] == 2 && ++nv == 2)
			ver2 = i;
		if (nv == 2 && r[i].pay[0] == 4 && !data2)
			data2 = i;
		if (nv == 2 && r[i].pay[0] == 5 && !commit2)
			commit2 = i;
	}
	/* the edit whose bytes the DATA records carry */
	edit2 = data2 - 1;
	REQUIRE(ver2 && data2 && commit2 && r[edit2].pay[0] == 3);
	struct {
		size_t rec, at;
		int width, next;   /* next: the record after it is to blame */
		uint64_t value;
		const char *what;
	} cases[] = {
		{ver2, 1, 8, 0, s + 3, "out of sequence"},
		{edit2, 17, 8, 1, 1, "more data than its edit announced"},
		{edit2, 1, 8, 0, UINT64_MAX - 5, "outside the content"},
		{commit2, 9, 8, 0, 99, "counts 99 edits"},
		{commit2, 17, 8, 0, 1, "bytes long"},
		{commit2, 25, 4, 0, 12345, "checksum of the inserted bytes"},
		{commit2, 1, 8, 0, s + 1, "commits version"},
		{ver2, 0, 1, 0, 77, "unknown type (77)"},
		{r[n - 1].pay[0] == 6 ? n - 1 : 0, 1, 8, 0, 2, "counts 2 versions"},
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		unsigned char *p = r[cases[c].rec].pay, save[8];
		size_t w = (size_t)cases[c].width;
		memcpy(save, p + cases[c].at, w);
		if (cases[c].width == 8)
			put64le(p + cases[c].at, cases[c].value);
		else if (cases[c].width == 4)
			put32le(p + cases[c].at, (uint32_t)cases[c].value);
		else
			p[cases[c].at] = (unsigned char)cases[c].value;
		rebuild(&x, r, n, SIZE_MAX);
		/* the offset of the record in the rebuilt stream */
		struct rec r2[64];
		size_t n2 = split(&x, r2, 64);
		CHECK_EQ_U64(n2, n);
		size_t at = r2[cases[c].rec + (size_t)cases[c].next].off;
		uint64_t done = cases[c].rec > commit2 ? 3 : 1;
		/* a bad END: every version arrived, none is left pending */
		if (cases[c].rec == n - 1)
			refused(&x, "e.vb", VB_ECORRUPT, at, s + 3, s + 2, cases[c].what);
		else
			refused(&x, "e.vb", VB_ECORRUPT, at, s + done, s + done, cases[c].what);
		if (!strstr(refusal, cases[c].what)) {
			fprintf(stderr, "'%s' does not say '%s'\n", refusal, cases[c].what);
			CHECK(0);
		}
		for (size_t i = 0; i < n2; i++)
			free(r2[i].pay);
		memcpy(p + cases[c].at, save, w);
	}
	/* a DATA record dropped; the header in another format */
	rebuild(&x, r, n, data2);
	refused(&x, "e.vb", VB_ECORRUPT, SIZE_MAX, s + 1, s + 1, "dropped data");
	r[0].pay[1] = 2;
	rebuild(&x, r, n, SIZE_MAX);
	refused(&x, "e.vb", VB_EFORMAT, r[0].off, s, s, "format 2");
	CHECK(strstr(refusal, "export format 2") != NULL);
	r[0].pay[1] = 1;
	/* something after the END */
	rebuild(&x, r, n, SIZE_MAX);
	size_t end_at = x.n;
	put_rec(&x, r[n - 1].pay, r[n - 1].plen);
	refused(&x, "e.vb", VB_ECORRUPT, end_at, s + 3, s + 2, "after the END");

	/* -------------------------------------------------- mismatches */
	/* another store */
	o = store_opts(1);
	o.create = 1;
	REQUIRE_OK(vb_vbuf_open(tmp_path("other.vb"), &o, VB_HEAD, &b));
	REQUIRE_OK(vb_vbuf_insert(b, 0, "other", 5));
	REQUIRE_OK(vb_vbuf_commit(b, NULL, &v));
	vb_vbuf_close(b);
	refused(&m, "other.vb", VB_EINVAL, SIZE_MAX, head_of("other.vb"), head_of("other.vb"),
		"other store");
	CHECK(strstr(refusal, "not of t.vb") != NULL);
	/* a receiver at an older version */
	export_of("d.vb", s + 1, &x);
	refused(&x, "e.vb", VB_EINVAL, SIZE_MAX, s, s, "older receiver");
	CHECK(strstr(refusal, "the export starts at version") != NULL);
	/* diverged: e.vb gets its own version s+1 */
	copy("e.vb", "f.vb");
	o = store_opts(1);
	REQUIRE_OK(vb_vbuf_open(tmp_path("f.vb"), &o, VB_HEAD, &b));
	REQUIRE_OK(vb_vbuf_insert(b, 10, "first", 5)); /* even the same edit */
	REQUIRE_OK(vb_vbuf_commit(b, "one", &v));
	vb_vbuf_close(b);
	refused(&x, "f.vb", VB_EINVAL, SIZE_MAX, s + 1, s + 1, "diverged at since");
	CHECK(strstr(refusal, "is not the version the export was made from") != NULL);
	refused(&m, "f.vb", VB_EINVAL, SIZE_MAX, s + 1, s + 1, "diverged after since");
	CHECK(strstr(refusal, "the copies have diverged since version") != NULL);

	/* the model cannot export */
	struct vb_vbuf *mem;
	struct vb_export_opts eo = {mem_write, &x, 0};
	REQUIRE_OK(vb_vbuf_open_mem("abc", 3, &mem));
	CHECK(vb_export_stream(mem, 0, &eo, NULL) == VB_EINVAL);
	vb_vbuf_close(mem);
	/* beyond the head */
	o = store_opts(0);
	REQUIRE_OK(vb_vbuf_open(tmp_path("d.vb"), &o, VB_HEAD, &b));
	CHECK(vb_export_stream(b, s + 4, &eo, NULL) == VB_ENOENT);
	CHECK(strstr(vb_err_detail(), "does not exist") != NULL);
	vb_vbuf_close(b);

	for (size_t i = 0; i < n; i++)
		free(r[i].pay);
	free(m.d);
	free(x.d);
}

int main(int argc, char **argv)
{
	rnd_init(argc > 1 ? strtoull(argv[1], NULL, 0) : 20261122);
	tmp_dir_make("vb-test-export");
	printf("seed %llu, in %s\n", (unsigned long long)rnd_seed, tmp_dir);
	exchange();
	sizes();
	damage();
	int status = test_status("test-export");
	if (!status) {
		const char *names[] = {"a.vb", "b.vb", "d.vb", "e.vb", "f.vb", "t.vb", "other.vb", "base"};
		for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
			unlink(tmp_path(names[i]));
		rmdir(tmp_dir);
	}
	return status;
}
