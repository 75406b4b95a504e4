/*
 * test-map: positions carried across versions (vb_vbuf_map, and
 * vb_vbuf_map_ends for range ends) against an independent model.
 *
 * The model keeps, for every version, the content as a list of elements:
 * bytes (each with its own identity) and markers (a tracked position).  A
 * marker sits just before its byte; an insert at a byte's position goes
 * before the markers attached to that byte, except range-end markers,
 * which stay with the byte before them (the insert goes after them); a
 * delete removes bytes and leaves markers where they were, a replace is a
 * delete then an insert, a
 * revert copies the list of the version reverted to (markers made later
 * are not in it).  A marker's position is the number of bytes before it.
 * Random edits and reverts run on the in-memory model buffer and on a
 * store (reopened now and then); every marker's mapped position must equal
 * the model's, or the mapping must refuse when the marker was reverted away
 * (checked at every version for the model buffer, every 25th for the
 * store, whose commits are read from disk).
 */
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "elist.h"
#include "files.h"
#include "rnd.h"
#include "vbuf.h"

#define MAXV 400
#define MAXE 6000

static struct elist versions[MAXV + 1];
static struct elist cur;
static int next_byte;

#define NM 60
/* Markers that are range ends (vb_vbuf_map_ends): they stay with the byte
 * before them, so an insert at their position goes after them. */
static int mk_end[NM];

static int is_end_marker(int e)
{
	int k = -e - 1;
	return e < 0 && k < NM && mk_end[k];
}

/* Where bytes inserted at position p go: in the run of markers just before
 * the p-th byte (or the end), after the range ends and before the others.
 * (The run is reordered ends first; every marker in it has the same
 * position.) */
static size_t insert_point(struct elist *l, uint64_t p)
{
	size_t i = 0, c = 0, s, w, nend = 0;
	int tmp[NM + 8];
	for (; i < l->n; i++) {
		if (l->e[i] >= 0) {
			if (c == p)
				break;
			c++;
		}
	}
	s = i;
	while (s > 0 && l->e[s - 1] < 0)
		s--;
	REQUIRE(i - s <= NM + 8);
	w = 0;
	for (size_t j = s; j < i; j++)
		if (is_end_marker(l->e[j]))
			tmp[w++] = l->e[j];
	nend = w;
	for (size_t j = s; j < i; j++)
		if (!is_end_marker(l->e[j]))
			tmp[w++] = l->e[j];
	memcpy(l->e + s, tmp, w * sizeof *tmp);
	return s + nend;
}

static void m_insert(struct elist *l, uint64_t p, uint64_t len)
{
	size_t at = insert_point(l, p);
	REQUIRE(l->n + len <= MAXE);
	memmove(l->e + at + len, l->e + at, (l->n - at) * sizeof *l->e);
	for (uint64_t k = 0; k < len; k++)
		l->e[at + k] = next_byte++;
	l->n += len;
}

static void copy_list(struct elist *dst, const struct elist *src)
{
	memcpy(dst->e, src->e, src->n * sizeof *src->e);
	dst->n = src->n;
}

struct marker {
	uint64_t version, pos;
};

/* anchors are markers numbered from 1000 */
#define NA 3
#define AMARK(a) (1000 + (a))
static const char *const anames[NA] = {"top", "mid.1", "_end"};
static uint64_t anchor_checks;

int main(void)
{
	struct marker mk[NM];
	int nmk = 0;
	char store[300];
	unsigned char buf[64];

	rnd_init(test_seed());
	tmp_dir_make("vb-test-map");
	snprintf(store, sizeof store, "%s/m.vb", tmp_dir);
	for (int v = 0; v <= MAXV; v++)
		REQUIRE((versions[v].e = malloc(MAXE * sizeof(int))));
	REQUIRE((cur.e = malloc(MAXE * sizeof(int))));

	/* version 0: 300 bytes */
	unsigned char init[300];
	rnd_bytes(init, sizeof init);
	cur.n = 0;
	m_insert(&cur, 0, 300);
	copy_list(&versions[0], &cur);

	struct vb_vbuf *mem, *st;
	struct vb_vbuf_opts o;
	vb_vbuf_opts_init(&o);
	o.write = 1;
	o.create = 1;
	o.no_sync = 1;
	/* both start with version 0 = init: the store from a base file */
	char base[300];
	snprintf(base, sizeof base, "%s/base", tmp_dir);
	write_file(base, init, sizeof init);
	o.base = base;
	REQUIRE_OK(vb_vbuf_open_mem(init, sizeof init, &mem));
	REQUIRE_OK(vb_vbuf_open(store, &o, VB_HEAD, &st));
	o.base = NULL;
	uint64_t v1, v2;
	REQUIRE_OK(vb_vbuf_commit(st, "init", &v2));
	REQUIRE_OK(vb_vbuf_commit(mem, "init", &v1));
	REQUIRE(v1 == 1 && v2 == 1);
	copy_list(&versions[1], &cur);
	o.create = 0;

	uint64_t checks = 0, refusals = 0;
	for (uint64_t v = 2; v <= MAXV; v++) {
		unsigned ops = 1 + (unsigned)rnd(3);
		for (unsigned k = 0; k < ops; k++) {
			uint64_t len = nbytes(&cur), kind = rnd(40) ? rnd(9) : 9;
			if (kind < 4 && len < 2000) {
				uint64_t p = rnd(len + 1), n = rnd(12);
				rnd_bytes(buf, (size_t)n);
				if (getenv("TRACE")) fprintf(stderr, "v%llu insert %llu %llu\n", (unsigned long long)v, (unsigned long long)p, (unsigned long long)n);
				REQUIRE_OK(vb_vbuf_insert(mem, p, buf, n));
				REQUIRE_OK(vb_vbuf_insert(st, p, buf, n));
				m_insert(&cur, p, n);
			} else if (kind < 7) {
				uint64_t p = rnd(len + 1), n = rnd(len - p + 1);
				if (n > 40)
					n = rnd(41);
				if (getenv("TRACE")) fprintf(stderr, "v%llu delete %llu %llu\n", (unsigned long long)v, (unsigned long long)p, (unsigned long long)n);
				REQUIRE_OK(vb_vbuf_delete(mem, p, n));
				REQUIRE_OK(vb_vbuf_delete(st, p, n));
				m_delete(&cur, p, n);
			} else if (kind < 9) {
				uint64_t p = rnd(len + 1), n = rnd(len - p + 1), m = rnd(10);
				if (n > 20)
					n = rnd(21);
				rnd_bytes(buf, (size_t)m);
				if (getenv("TRACE")) fprintf(stderr, "v%llu replace %llu %llu %llu\n", (unsigned long long)v, (unsigned long long)p, (unsigned long long)n, (unsigned long long)m);
				REQUIRE_OK(vb_vbuf_replace(mem, p, n, buf, m));
				REQUIRE_OK(vb_vbuf_replace(st, p, n, buf, m));
				m_delete(&cur, p, n);
				m_insert(&cur, p, m);
			} else {
				/* mostly a recent version, now and then any */
				uint64_t t = rnd(3) ? v - 1 - rnd(v < 8 ? v : 8) : rnd(v);
				if (getenv("TRACE")) fprintf(stderr, "v%llu revert %llu\n", (unsigned long long)v, (unsigned long long)t);
				REQUIRE_OK(vb_vbuf_revert(mem, t));
				REQUIRE_OK(vb_vbuf_revert(st, t));
				copy_list(&cur, &versions[t]);
			}
		}
		/* anchors: set (at an offset of the content being committed)
		 * or removed, on both buffers and in the model, where an anchor
		 * is a marker of its own */
		if (rnd(4) == 0) {
			int a = (int)rnd(NA);
			if (rnd(4)) {
				uint64_t p = rnd(nbytes(&cur) + 1);
				REQUIRE_OK(vb_vbuf_set_anchor(mem, anames[a], p));
				REQUIRE_OK(vb_vbuf_set_anchor(st, anames[a], p));
				m_remove_marker(&cur, AMARK(a));
				size_t at = insert_point(&cur, p);
				while (at < cur.n && cur.e[at] < 0)
					at++;
				memmove(cur.e + at + 1, cur.e + at, (cur.n - at) * sizeof *cur.e);
				cur.e[at] = -(AMARK(a) + 1);
				cur.n++;
			} else {
				REQUIRE_OK(vb_vbuf_remove_anchor(mem, anames[a]));
				REQUIRE_OK(vb_vbuf_remove_anchor(st, anames[a]));
				m_remove_marker(&cur, AMARK(a));
			}
		}
		REQUIRE_OK(vb_vbuf_commit(mem, NULL, &v1));
		REQUIRE_OK(vb_vbuf_commit(st, NULL, &v2));
		REQUIRE(v1 == v && v2 == v);
		copy_list(&versions[v], &cur);
		/* every anchor: where the model has it, or not there */
		for (int a = 0; a < NA; a++) {
			uint64_t want, got = 0;
			int exists = marker_pos(&cur, AMARK(a), &want);
			enum vb_err ra = vb_vbuf_anchor(mem, anames[a], v, &got);
			CHECK(exists ? ra == VB_OK && got == want : ra == VB_ENOENT);
			if (v % 25 == 0) {
				enum vb_err rb = vb_vbuf_anchor(st, anames[a], v, &got);
				CHECK(exists ? rb == VB_OK && got == want : rb == VB_ENOENT);
			}
			anchor_checks++;
		}
		/* new markers at this version */
		if (nmk < NM && rnd(3) == 0) {
			uint64_t p = rnd(nbytes(&cur) + 1);
			mk[nmk].version = v;
			mk[nmk].pos = p;
			mk_end[nmk] = rnd(2) == 0;
			/* a marker at p sits before byte p (after any markers
			 * already there) */
			size_t at = insert_point(&versions[v], p);
			while (at < versions[v].n && versions[v].e[at] < 0)
				at++;
			struct elist *l = &versions[v];
			memmove(l->e + at + 1, l->e + at, (l->n - at) * sizeof *l->e);
			l->e[at] = -(nmk + 1);
			l->n++;
			copy_list(&cur, l);
			if (getenv("TRACE")) fprintf(stderr, "v%llu marker %d at %llu\n", (unsigned long long)v, nmk, (unsigned long long)p);
			nmk++;
		}
		if (rnd(4) == 0) {
			vb_vbuf_close(st);
			REQUIRE_OK(vb_vbuf_open(store, &o, VB_HEAD, &st));
		}
		/* both buffers hold as many bytes as the model */
		if (vb_vbuf_len(st) != nbytes(&cur) || vb_vbuf_len(mem) != nbytes(&cur))
			fprintf(stderr, "v%llu: store %llu bytes, mem %llu, model %llu\n",
				(unsigned long long)v, (unsigned long long)vb_vbuf_len(st),
				(unsigned long long)vb_vbuf_len(mem), (unsigned long long)nbytes(&cur));
		CHECK_EQ_U64(vb_vbuf_len(st), nbytes(&cur));
		CHECK_EQ_U64(vb_vbuf_len(mem), nbytes(&cur));
		if (getenv("TRACE")) {
			uint64_t mp;
			if (nmk && marker_pos(&cur, 0, &mp))
				fprintf(stderr, "  v%llu: marker 0 at %llu\n", (unsigned long long)v, (unsigned long long)mp);
		}
		/* every marker, mapped to this version, in both buffers */
		for (int k = 0; k < nmk; k++) {
			uint64_t want, a = mk[k].pos, b = mk[k].pos;
			int exists = marker_pos(&cur, k, &want);
			/* the store is checked every 10th version (reading its
			 * commits is slower) */
			int with_store = v % 25 == 0 || v == MAXV;
			enum vb_err (*map)(struct vb_vbuf *, uint64_t, uint64_t, uint64_t *, size_t) =
				mk_end[k] ? vb_vbuf_map_ends : vb_vbuf_map;
			enum vb_err ra = map(mem, mk[k].version, v, &a, 1);
			enum vb_err rb = with_store ? map(st, mk[k].version, v, &b, 1) : ra;
			if (!with_store)
				b = a;
			if (exists) {
				CHECK(ra == VB_OK && rb == VB_OK);
				if (a != want || b != want)
					fprintf(stderr, "marker %d (v%llu at %llu) at v%llu: model %llu, mem %llu, store %llu\n",
						k, (unsigned long long)mk[k].version,
						(unsigned long long)mk[k].pos, (unsigned long long)v,
						(unsigned long long)want, (unsigned long long)a,
						(unsigned long long)b);
				CHECK_EQ_U64(a, want);
				CHECK_EQ_U64(b, want);
				checks++;
			} else {
				CHECK(ra == VB_ECONFLICT && rb == VB_ECONFLICT);
				refusals++;
			}
		}
		if (check_failures)
			return 1;
	}
	/* beyond the head */
	uint64_t x = 0;
	CHECK(vb_vbuf_map(mem, 1, MAXV + 1, &x, 1) == VB_ENOENT);
	CHECK(vb_vbuf_map(st, MAXV + 5, MAXV + 5, &x, 1) == VB_ENOENT);
	printf("%llu mapped positions matched the model, %llu refused across reverts, %llu anchor lookups\n",
	       (unsigned long long)checks, (unsigned long long)refusals,
	       (unsigned long long)anchor_checks);
	/* names */
	CHECK(vb_anchor_name_ok("a.b_9"));
	CHECK(!vb_anchor_name_ok(""));
	CHECK(!vb_anchor_name_ok("a-b"));
	CHECK(!vb_anchor_name_ok("a+b"));
	CHECK(!vb_anchor_name_ok("0123456789012345678901234567890123456789012345678901234567890123"));
	CHECK(vb_vbuf_set_anchor(mem, "bad name", 0) == VB_EINVAL);
	vb_vbuf_close(mem);
	vb_vbuf_close(st);
	unlink(store);
	unlink(base);
	rmdir(tmp_dir);
	for (int v = 0; v <= MAXV; v++)
		free(versions[v].e);
	free(cur.e);
	return test_status("map");
}
