/*
 * test-iter: iterators that follow edits, against an independent model.
 *
 * The model is a list of elements: bytes (each with its own identity, and
 * a value derived from it) and markers, one per live iterator.  A marker
 * sits just before the byte its iterator is on; an insert at a byte's
 * position goes before the markers on that byte, a delete removes bytes and
 * leaves the markers where they were (on the first byte after the range), a
 * replace is a delete then an insert, and a revert puts each marker at its
 * offset, or the end if the content reverted to is shorter.  Random edits,
 * commits, reverts and iterator moves run on the in-memory buffer and on a
 * store; after each step the iterators' positions, the bytes their moves
 * return, and the length of the edit log (exactly the edits the oldest
 * iterator has not seen) must match the model.
 */
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "elist.h"
#include "files.h"
#include "rnd.h"
#include "vbuf.h"

#define MAXV 200
#define MAXE 8000
#define NIT 8

static struct elist versions[MAXV + 1];
static struct elist cur;
static int next_id;

static unsigned char val(int id)
{
	return (unsigned char)(id * 131 + 7);
}

/* Index of the p-th byte (or the end). */
static size_t byte_index(const struct elist *l, uint64_t p)
{
	size_t c = 0, i = 0;
	for (; i < l->n; i++)
		if (l->e[i] >= 0 && c++ == p)
			break;
	return i;
}

static unsigned char byte_at(const struct elist *l, uint64_t p)
{
	size_t i = byte_index(l, p);
	REQUIRE(i < l->n);
	return val(l->e[i]);
}

/* Insert before the markers on byte p: they stay on it. */
static void m_insert(struct elist *l, uint64_t p, uint64_t len, unsigned char *out)
{
	size_t at = byte_index(l, p);
	while (at > 0 && l->e[at - 1] < 0)
		at--;
	REQUIRE(l->n + len <= MAXE);
	memmove(l->e + at + len, l->e + at, (l->n - at) * sizeof *l->e);
	for (uint64_t k = 0; k < len; k++) {
		l->e[at + k] = next_id++;
		out[k] = val(l->e[at + k]);
	}
	l->n += len;
}

static void m_put_marker(struct elist *l, int k, uint64_t p)
{
	size_t at = byte_index(l, p);
	REQUIRE(l->n < MAXE);
	memmove(l->e + at + 1, l->e + at, (l->n - at) * sizeof *l->e);
	l->e[at] = -(k + 1);
	l->n++;
}

static void bytes_only(struct elist *dst, const struct elist *src)
{
	dst->n = 0;
	for (size_t i = 0; i < src->n; i++)
		if (src->e[i] >= 0)
			dst->e[dst->n++] = src->e[i];
}

struct model_it {
	struct vb_iter *it;
	uint64_t seq; /* edits seen */
};

static uint64_t checks, moves;

/* One random sequence on buffer b (whose version 1 is `init`). */
static void run(struct vb_vbuf *b, const char *store, const struct vb_vbuf_opts *o, int rounds)
{
	struct model_it mi[NIT];
	uint64_t seq = 0, version = 1;
	unsigned char buf[64];

	memset(mi, 0, sizeof mi);
	for (int r = 0; r < rounds; r++) {
		uint64_t len = nbytes(&cur);
		unsigned kind = (unsigned)rnd(100);
		int k = (int)rnd(NIT);

		if (kind < 15) { /* create or free an iterator */
			if (mi[k].it) {
				vb_iter_free(mi[k].it);
				mi[k].it = NULL;
				m_remove_marker(&cur, k);
			} else {
				uint64_t p = rnd(len + 1);
				REQUIRE_OK(vb_iter_create(b, p, &mi[k].it));
				mi[k].seq = seq;
				m_put_marker(&cur, k, p);
			}
		} else if (kind < 30 && len < 3000) {
			uint64_t p = rnd(len + 1), n = rnd(12);
			m_insert(&cur, p, n, buf);
			REQUIRE_OK(vb_vbuf_insert(b, p, buf, n));
			seq++;
		} else if (kind < 40) {
			uint64_t p = rnd(len + 1), n = rnd(len - p + 1);
			if (n > 30)
				n = rnd(31);
			REQUIRE_OK(vb_vbuf_delete(b, p, n));
			m_delete(&cur, p, n);
			seq++;
		} else if (kind < 46) {
			uint64_t p = rnd(len + 1), n = rnd(len - p + 1), m = rnd(10);
			if (n > 20)
				n = rnd(21);
			m_delete(&cur, p, n);
			m_insert(&cur, p, m, buf);
			REQUIRE_OK(vb_vbuf_replace(b, p, n, buf, m));
			seq++;
		} else if (kind < 52 && version < MAXV) {
			REQUIRE_OK(vb_vbuf_commit(b, NULL, &version));
			bytes_only(&versions[version], &cur);
			if (store && rnd(3) == 0) { /* iterators die with the handle */
				for (int i = 0; i < NIT; i++) {
					vb_iter_free(mi[i].it);
					mi[i].it = NULL;
					m_remove_marker(&cur, i);
				}
				vb_vbuf_close(b);
				REQUIRE_OK(vb_vbuf_open(store, o, VB_HEAD, &b));
				REQUIRE(vb_vbuf_version(b) == version);
				seq = 0;
			}
		} else if (kind < 55) {
			uint64_t t = rnd(version + 1);
			REQUIRE_OK(vb_vbuf_revert(b, t));
			uint64_t pos[NIT];
			int live[NIT];
			for (int i = 0; i < NIT; i++)
				live[i] = marker_pos(&cur, i, &pos[i]);
			bytes_only(&cur, &versions[t]);
			uint64_t nl = cur.n;
			for (int i = 0; i < NIT; i++)
				if (live[i])
					m_put_marker(&cur, i, pos[i] < nl ? pos[i] : nl);
			seq++;
		} else if (mi[k].it) { /* move an iterator */
			struct vb_iter *it = mi[k].it;
			uint64_t p;
			REQUIRE(marker_pos(&cur, k, &p));
			unsigned how = (unsigned)rnd(6);
			uint64_t np = p;
			if (how == 0) {
				int c = vb_iter_next(it);
				if (p == len)
					CHECK(c == VB_ITER_END);
				else {
					CHECK(c == byte_at(&cur, p));
					np = p + 1;
				}
			} else if (how == 1) {
				int c = vb_iter_prev(it);
				if (p == 0)
					CHECK(c == VB_ITER_END);
				else {
					CHECK(c == byte_at(&cur, p - 1));
					np = p - 1;
				}
			} else if (how == 2 || how == 3) {
				const unsigned char *d;
				size_t n;
				CHECK_OK(how == 2 ? vb_iter_next_chunk(it, &d, &n)
						  : vb_iter_prev_chunk(it, &d, &n));
				/* up to the end of the chunk copied last */
				if (how == 2) {
					CHECK(n <= len - p && (n > 0) == (p < len));
					np = p + n;
				} else {
					CHECK(n <= p && (n > 0) == (p > 0));
					np = p - n;
				}
				for (size_t i = 0; i < n; i++)
					CHECK(d[i] == byte_at(&cur, np < p ? np + i : p + i));
			} else if (how == 4) {
				np = rnd(len + 1);
				CHECK_OK(vb_iter_seek(it, np));
			} else {
				CHECK_EQ_U64(vb_iter_pos(it), p);
			}
			mi[k].seq = seq;
			m_remove_marker(&cur, k);
			m_put_marker(&cur, k, np);
			moves++;
		}
		/* the edit log: exactly the edits the oldest iterator has
		 * not seen */
		uint64_t oldest = seq;
		for (int i = 0; i < NIT; i++)
			if (mi[i].it && mi[i].seq < oldest)
				oldest = mi[i].seq;
		CHECK_EQ_U64(vb_vbuf_edit_log_len(b), seq - oldest);
		/* now and then every iterator's position (which catches it up) */
		if (rnd(8) == 0) {
			for (int i = 0; i < NIT; i++) {
				uint64_t p;
				if (!mi[i].it)
					continue;
				REQUIRE(marker_pos(&cur, i, &p));
				CHECK_EQ_U64(vb_iter_pos(mi[i].it), p);
				mi[i].seq = seq;
				checks++;
			}
		}
		CHECK_EQ_U64(vb_vbuf_len(b), nbytes(&cur));
		if (check_failures) {
			fprintf(stderr, "round %d failed (seed %llu)\n", r, (unsigned long long)rnd_seed);
			exit(1);
		}
	}
	for (int i = 0; i < NIT; i++)
		vb_iter_free(mi[i].it);
	CHECK_EQ_U64(vb_vbuf_edit_log_len(b), 0);
	vb_vbuf_close(b);
}

/* Start the model and a buffer at version 1 = 400 bytes. */
static void start(void)
{
	unsigned char tmp[400];
	cur.n = 0;
	next_id = 0;
	m_insert(&cur, 0, 400, tmp);
	bytes_only(&versions[0], &cur);
	bytes_only(&versions[1], &cur);
}

static void big_content(void)
{
	/* 1 MiB + 1000: chunk boundaries, forward and backward, mixed */
	size_t n = (1u << 20) + 1000;
	unsigned char *data = malloc(n), *got = malloc(n);
	struct vb_vbuf *b;
	struct vb_iter *it, *jt;
	const unsigned char *d;
	size_t cn, at = 0;
	int c;

	REQUIRE(data && got);
	rnd_bytes(data, n);
	REQUIRE_OK(vb_vbuf_open_mem(data, n, &b));
	REQUIRE_OK(vb_iter_create(b, 0, &it));
	while ((c = vb_iter_next(it)) >= 0)
		got[at++] = (unsigned char)c;
	CHECK(c == VB_ITER_END);
	CHECK(at == n && !memcmp(got, data, n));
	at = n;
	while ((c = vb_iter_prev(it)) >= 0)
		CHECK(c == data[--at]);
	CHECK(at == 0 && vb_iter_pos(it) == 0);
	/* chunks forward then backward */
	at = 0;
	while (!vb_iter_next_chunk(it, &d, &cn) && cn) {
		CHECK(cn <= VB_ITER_CHUNK && !memcmp(d, data + at, cn));
		at += cn;
	}
	CHECK(at == n);
	while (!vb_iter_prev_chunk(it, &d, &cn) && cn) {
		CHECK(cn <= VB_ITER_CHUNK && at >= cn && !memcmp(d, data + at - cn, cn));
		at -= cn;
	}
	CHECK(at == 0);
	/* a direction change inside a chunk */
	CHECK_OK(vb_iter_seek(it, 70000));
	CHECK(vb_iter_next(it) == data[70000]);
	CHECK(vb_iter_prev(it) == data[70000]);
	CHECK(vb_iter_prev(it) == data[69999]);
	CHECK(vb_iter_next(it) == data[69999]);
	CHECK(vb_iter_seek(it, n + 1) == VB_ERANGE);
	CHECK(vb_iter_pos(it) == 70000);

	/* an edit in the middle of a walk: walk 100000 bytes, insert 5 at
	 * 10 and delete 7 at 50000 (both behind), then the walk goes on
	 * where it was; an insert exactly at the position is not read */
	CHECK_OK(vb_iter_seek(it, 0));
	for (size_t i = 0; i < 100000; i++)
		REQUIRE(vb_iter_next(it) == data[i]);
	CHECK_OK(vb_vbuf_insert(b, 10, "12345", 5));
	CHECK_OK(vb_vbuf_delete(b, 50000, 7));
	CHECK_EQ_U64(vb_iter_pos(it), 100000 - 2);
	CHECK(vb_iter_next(it) == data[100000]);
	CHECK_OK(vb_vbuf_insert(b, vb_iter_pos(it), "XY", 2));
	CHECK(vb_iter_next(it) == data[100001]);
	CHECK(vb_iter_prev(it) == data[100001]);
	CHECK(vb_iter_prev(it) == 'Y');
	/* a delete covering the iterator takes it to the deletion point */
	uint64_t p = vb_iter_pos(it);
	CHECK_OK(vb_vbuf_delete(b, p - 3, 10));
	CHECK_EQ_U64(vb_iter_pos(it), p - 3);
	CHECK(vb_iter_next(it) == data[100007]);
	/* a revert to a shorter content puts it at the end */
	uint64_t v;
	CHECK_OK(vb_vbuf_commit(b, NULL, &v));
	CHECK_OK(vb_vbuf_delete(b, 0, 600000));
	CHECK_OK(vb_vbuf_commit(b, NULL, &v));
	uint64_t vl = vb_vbuf_len(b);
	CHECK_OK(vb_iter_create(b, vl, &jt));   /* the end of version v */
	CHECK_OK(vb_vbuf_revert(b, 0));        /* longer: it keeps its offset */
	CHECK_EQ_U64(vb_vbuf_len(b), n);
	CHECK_EQ_U64(vb_iter_pos(jt), vl);
	CHECK_OK(vb_iter_seek(jt, n));
	CHECK_OK(vb_vbuf_revert(b, v));        /* shorter: at the end */
	CHECK_EQ_U64(vb_iter_pos(jt), vl);
	CHECK(vb_iter_next(jt) == VB_ITER_END);
	CHECK(vb_iter_prev(jt) == data[n - 1]);
	vb_iter_free(jt);
	jt = NULL;

	/* the log stays bounded while iterators come and go */
	size_t most = 0;
	for (int i = 0; i < 20000; i++) {
		CHECK_OK(vb_vbuf_insert(b, 0, "a", 1));
		if (i % 100 == 0) {
			vb_iter_free(jt);
			CHECK_OK(vb_iter_create(b, 0, &jt));
		}
		if (i % 10 == 0)
			(void)vb_iter_next(it);
		size_t l = vb_vbuf_edit_log_len(b);
		if (l > most)
			most = l;
	}
	CHECK(most > 0 && most <= 100); /* the oldest lags at most 100 edits */
	vb_iter_free(jt);
	vb_iter_free(it);
	CHECK_EQ_U64(vb_vbuf_edit_log_len(b), 0);
	/* without iterators nothing is kept */
	CHECK_OK(vb_vbuf_insert(b, 0, "a", 1));
	CHECK_EQ_U64(vb_vbuf_edit_log_len(b), 0);

	/* an iterator left when the handle closes fails cleanly */
	CHECK_OK(vb_iter_create(b, 0, &it));
	CHECK(vb_iter_create(b, vb_vbuf_len(b) + 1, &jt) == VB_ERANGE);
	vb_vbuf_close(b);
	CHECK(vb_iter_next(it) == VB_ITER_ERROR);
	CHECK(vb_iter_error(it) == VB_EINVAL);
	CHECK(vb_iter_next_chunk(it, &d, &cn) == VB_EINVAL && cn == 0);
	vb_iter_free(it);
	vb_iter_free(NULL);
	free(data);
	free(got);
}

/* vb_iter_create_at: an offset of a committed version, carried through
 * the versions since and the pending edits. */
static void create_at(const char *dir)
{
	char base[300], store[300];
	struct vb_vbuf_opts o;
	struct vb_vbuf *b;
	struct vb_iter *it;
	uint64_t v;

	snprintf(base, sizeof base, "%s/at-base", dir);
	snprintf(store, sizeof store, "%s/at.vb", dir);
	write_file(base, "0123456789", 10);
	vb_vbuf_opts_init(&o);
	o.write = o.create = o.no_sync = 1;
	o.base = base;
	REQUIRE_OK(vb_vbuf_open(store, &o, VB_HEAD, &b));
	REQUIRE_OK(vb_vbuf_commit(b, NULL, &v));       /* 1: 0123456789 */
	REQUIRE_OK(vb_vbuf_insert(b, 0, "abc", 3));
	REQUIRE_OK(vb_vbuf_delete(b, 8, 2));
	REQUIRE_OK(vb_vbuf_commit(b, NULL, &v));       /* 2: abc01234789 */
	REQUIRE_OK(vb_vbuf_insert(b, 0, "xy", 2));     /* pending */
	REQUIRE_OK(vb_iter_create_at(b, 1, 5, &it));   /* '5' of version 1 */
	CHECK_EQ_U64(vb_iter_pos(it), 10);             /* deleted: deletion point */
	CHECK(vb_iter_next(it) == '7');
	vb_iter_free(it);
	REQUIRE_OK(vb_iter_create_at(b, 1, 2, &it));
	CHECK(vb_iter_next(it) == '2');
	vb_iter_free(it);
	CHECK(vb_iter_create_at(b, 1, 11, &it) == VB_ERANGE && !it);
	CHECK(vb_iter_create_at(b, 9, 0, &it) == VB_ENOENT && !it);
	vb_vbuf_close(b);
	/* a handle showing version 1 cannot take offsets of version 2 */
	o.write = 0;
	o.create = 0;
	o.base = NULL;
	REQUIRE_OK(vb_vbuf_open(store, &o, 1, &b));
	CHECK(vb_iter_create_at(b, 2, 0, &it) == VB_EINVAL);
	REQUIRE_OK(vb_iter_create_at(b, 0, 3, &it));
	CHECK(vb_iter_next(it) == '3');
	vb_iter_free(it);
	vb_vbuf_close(b);
	unlink(store);
	unlink(base);
}

int main(void)
{
	char store[300], base[300];
	struct vb_vbuf_opts o;
	struct vb_vbuf *b;
	unsigned char init[400];
	uint64_t v;

	rnd_init(test_seed());
	tmp_dir_make("vb-test-iter");
	for (int i = 0; i <= MAXV; i++)
		REQUIRE((versions[i].e = malloc(MAXE * sizeof(int))));
	REQUIRE((cur.e = malloc(MAXE * sizeof(int))));

	for (int round = 0; round < 20; round++) {
		start();
		for (size_t i = 0; i < cur.n; i++)
			init[i] = val(cur.e[i]);
		REQUIRE_OK(vb_vbuf_open_mem(init, sizeof init, &b));
		REQUIRE_OK(vb_vbuf_commit(b, NULL, &v));
		run(b, NULL, NULL, 3000);
	}
	for (int round = 0; round < 4; round++) {
		start();
		for (size_t i = 0; i < cur.n; i++)
			init[i] = val(cur.e[i]);
		snprintf(base, sizeof base, "%s/base", tmp_dir);
		snprintf(store, sizeof store, "%s/s.vb", tmp_dir);
		write_file(base, init, sizeof init);
		vb_vbuf_opts_init(&o);
		o.write = o.create = o.no_sync = 1;
		o.base = base;
		REQUIRE_OK(vb_vbuf_open(store, &o, VB_HEAD, &b));
		REQUIRE_OK(vb_vbuf_commit(b, NULL, &v));
		o.create = 0;
		o.base = NULL;
		run(b, store, &o, 2000);
		unlink(store);
		unlink(base);
	}
	printf("%llu iterator moves and %llu position checks matched the model\n",
	       (unsigned long long)moves, (unsigned long long)checks);
	big_content();
	create_at(tmp_dir);
	rmdir(tmp_dir);
	for (int i = 0; i <= MAXV; i++)
		free(versions[i].e);
	free(cur.e);
	return test_status("iter");
}
