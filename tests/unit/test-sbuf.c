/*
 * test-sbuf: one suite, run against the linear buffer and the segmented
 * buffer over both page-store backends (with tiny chunks, so nearly every
 * operation crosses chunk borders).  A plain byte array is the model.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "rnd.h"
#include "sbuf.h"


struct model {
	unsigned char *d;
	size_t len;
};

static void model_append(struct model *m, const void *p, size_t n)
{
	memcpy(m->d + m->len, p, n);
	m->len += n;
}

static void model_advance(struct model *m, size_t n)
{
	memmove(m->d, m->d + n, m->len - n);
	m->len -= n;
}

static int model_find(const struct model *m, size_t from, const unsigned char *nd, size_t n,
		      size_t *pos)
{
	for (size_t i = from; i + n <= m->len; i++)
		if (!memcmp(m->d + i, nd, n)) {
			*pos = i;
			return 1;
		}
	return 0;
}

static int model_rfind(const struct model *m, size_t end, const unsigned char *nd, size_t n,
		       size_t *pos)
{
	if (end > m->len)
		end = m->len;
	for (size_t i = end - n + 1; n <= end && i-- > 0;)
		if (!memcmp(m->d + i, nd, n)) {
			*pos = i;
			return 1;
		}
	return 0;
}

struct kept {
	struct vb_view *v;
	unsigned char *copy;
	size_t len;
};

static void check_all(struct vb_sbuf *b, const struct model *m)
{
	static unsigned char tmp[1 << 20];
	struct iovec iov[4096];
	CHECK_EQ_U64(vb_sbuf_len(b), m->len);
	CHECK_OK(vb_sbuf_peek(b, 0, tmp, m->len));
	CHECK(!memcmp(tmp, m->d, m->len));
	int k = vb_sbuf_segments(b, 0, iov, 4096);
	size_t off = 0;
	for (int i = 0; i < k; i++) {
		CHECK(iov[i].iov_len > 0);
		CHECK(!memcmp(iov[i].iov_base, m->d + off, iov[i].iov_len));
		off += iov[i].iov_len;
	}
	CHECK_EQ_U64(off, m->len);
}

static void suite(struct vb_sbuf *b, const char *name)
{
	struct model m = {malloc(1 << 20), 0};
	static unsigned char buf[70000];
	struct kept kept[16];
	int nkept = 0;
	unsigned steps = 6000;

	for (unsigned step = 0; step < steps; step++) {
		unsigned op = (unsigned)rnd(12);
		if (m.len > 200000 && op < 4)
			op = 5;
		switch (op) {
		case 0:
		case 1: { /* append; alphabet small so needles recur */
			size_t n = rnd(rnd(6) ? 200 : 20000);
			for (size_t i = 0; i < n; i++)
				buf[i] = (unsigned char)('a' + rnd(4));
			CHECK_OK(vb_sbuf_append(b, buf, n));
			model_append(&m, buf, n);
			break;
		}
		case 2: { /* reserve, write some, commit part */
			void *p;
			size_t avail, want = 1 + rnd(3000);
			REQUIRE_OK(vb_sbuf_reserve(b, want, &p, &avail));
			CHECK(avail >= want);
			/* while reserved: no second reservation, no append */
			void *p2;
			size_t a2;
			CHECK(vb_sbuf_reserve(b, 1, &p2, &a2) == VB_ESTATE);
			CHECK(vb_sbuf_append(b, "x", 1) == VB_ESTATE);
			size_t n = rnd(want + 1);
			for (size_t i = 0; i < n; i++)
				((unsigned char *)p)[i] = (unsigned char)('a' + rnd(4));
			model_append(&m, p, n);
			CHECK_OK(vb_sbuf_commit(b, n));
			CHECK(vb_sbuf_commit(b, 0) == VB_ESTATE);
			break;
		}
		case 3: { /* advance */
			size_t n = rnd(m.len + 1);
			CHECK_OK(vb_sbuf_advance(b, n));
			model_advance(&m, n);
			break;
		}
		case 4: { /* split_to: the view outlives later mutations */
			size_t n = rnd(m.len + 1);
			struct vb_view *v;
			REQUIRE_OK(vb_sbuf_split_to(b, n, &v));
			CHECK_EQ_U64(vb_view_len(v), n);
			if (nkept == 16) {
				int k = (int)rnd(16);
				unsigned char *c = malloc(kept[k].len + 1);
				CHECK_OK(vb_view_peek(kept[k].v, 0, c, kept[k].len));
				CHECK(!memcmp(c, kept[k].copy, kept[k].len));
				free(c);
				vb_view_free(kept[k].v);
				free(kept[k].copy);
				kept[k] = kept[--nkept];
			}
			kept[nkept].v = v;
			kept[nkept].len = n;
			kept[nkept].copy = malloc(n + 1);
			memcpy(kept[nkept].copy, m.d, n);
			nkept++;
			model_advance(&m, n);
			break;
		}
		case 5: { /* coalesce */
			size_t n = rnd(m.len < 30000 ? m.len + 1 : 30000);
			const unsigned char *p;
			enum vb_err rc = vb_sbuf_coalesce(b, n, &p);
			CHECK(rc == VB_OK);
			if (!rc)
				CHECK(!n || !memcmp(p, m.d, n));
			break;
		}
		case 6:
		case 7: { /* find: needles from the content, and random ones */
			size_t n = 1 + rnd(6), from = rnd(m.len + 1), pos = 0, mpos = 0;
			unsigned char nd[8];
			if (m.len >= n && rnd(2)) {
				size_t at = rnd(m.len - n + 1);
				memcpy(nd, m.d + at, n);
			} else {
				for (size_t i = 0; i < n; i++)
					nd[i] = (unsigned char)('a' + rnd(4));
			}
			int found = model_find(&m, from, nd, n, &mpos);
			enum vb_err rc = vb_sbuf_find(b, from, nd, n, &pos);
			CHECK(found ? rc == VB_OK && pos == mpos : rc == VB_ENEEDMORE);
			if (n == 1) {
				rc = vb_sbuf_find_byte(b, from, nd[0], &pos);
				CHECK(found ? rc == VB_OK && pos == mpos : rc == VB_ENEEDMORE);
			}
			break;
		}
		case 8: { /* rfind */
			size_t n = 1 + rnd(6), end = rnd(m.len + 1), pos = 0, mpos = 0;
			unsigned char nd[8];
			for (size_t i = 0; i < n; i++)
				nd[i] = (unsigned char)('a' + rnd(4));
			int found = model_rfind(&m, end, nd, n, &mpos);
			enum vb_err rc = vb_sbuf_rfind(b, end, nd, n, &pos);
			CHECK(found ? rc == VB_OK && pos == mpos : rc == VB_ENEEDMORE);
			break;
		}
		case 9: { /* peek, byte and contig at random offsets */
			size_t off = rnd(m.len + 1), n = rnd(m.len - off + 2);
			unsigned char tmp[70000];
			if (n > sizeof tmp)
				n = sizeof tmp;
			enum vb_err rc = vb_sbuf_peek(b, off, tmp, n);
			if (off + n <= m.len)
				CHECK(rc == VB_OK && !memcmp(tmp, m.d + off, n));
			else
				CHECK(rc == VB_ENEEDMORE);
			if (off < m.len) {
				size_t cl;
				const unsigned char *c = vb_sbuf_contig(b, off, &cl);
				CHECK(cl > 0 && off + cl <= m.len && !memcmp(c, m.d + off, cl));
				CHECK(vb_sbuf_byte(b, off) == m.d[off]);
			}
			break;
		}
		default:
			check_all(b, &m);
		}
		if (check_failures) {
			fprintf(stderr, "%s: failed at step %u (op %u)\n", name, step, op);
			exit(1);
		}
	}
	check_all(b, &m);
	/* errors */
	unsigned char t[4];
	CHECK(vb_sbuf_advance(b, m.len + 1) == VB_ENEEDMORE);
	CHECK(vb_sbuf_peek(b, m.len, t, 1) == VB_ENEEDMORE);
	CHECK(vb_sbuf_commit(b, 1) == VB_ESTATE);
	const unsigned char *cp;
	CHECK(vb_sbuf_coalesce(b, m.len + 1, &cp) == VB_ENEEDMORE);
	for (int i = 0; i < nkept; i++) {
		unsigned char *c = malloc(kept[i].len + 1);
		CHECK_OK(vb_view_peek(kept[i].v, 0, c, kept[i].len));
		CHECK(!memcmp(c, kept[i].copy, kept[i].len));
		free(c);
		free(kept[i].copy);
	}
	/* views survive the buffer itself */
	vb_sbuf_free(b);
	for (int i = 0; i < nkept; i++)
		vb_view_free(kept[i].v);
	free(m.d);
}

/* max_bytes is enforced by every way of adding bytes. */
static void limits(struct vb_sbuf *b)
{
	void *p;
	size_t avail;
	vb_sbuf_set_max(b, 100);
	CHECK_OK(vb_sbuf_append(b, "0123456789", 10));
	CHECK(vb_sbuf_append(b, b, 91) == VB_EFULL);
	CHECK(vb_sbuf_reserve(b, 91, &p, &avail) == VB_EFULL);
	REQUIRE_OK(vb_sbuf_reserve(b, 90, &p, &avail));
	CHECK(vb_sbuf_commit(b, 91) != VB_OK);
	CHECK_OK(vb_sbuf_commit(b, 90));
	int fd = open("/dev/zero", O_RDONLY);
	size_t got;
	CHECK(vb_sbuf_fill_fd(b, fd, 10, &got) == VB_EFULL);
	close(fd);
	vb_sbuf_free(b);
}

/* fill from a pipe and drain into another through the fd adapters */
static void fd_adapters(struct vb_sbuf *b)
{
	int in[2], out[2];
	REQUIRE(pipe(in) == 0 && pipe(out) == 0);
	static unsigned char data[50000], back[50000];
	rnd_bytes(data, sizeof data);
	REQUIRE(fcntl(out[0], F_SETFL, O_NONBLOCK) == 0);
	size_t sent = 0, recvd = 0;
	while (recvd < sizeof data) {
		if (sent < sizeof data) {
			size_t n = sizeof data - sent < 3000 ? sizeof data - sent : 3000;
			REQUIRE(write(in[1], data + sent, n) == (ssize_t)n);
			sent += n;
			if (sent == sizeof data)
				close(in[1]);
		}
		size_t got;
		REQUIRE_OK(vb_sbuf_fill_fd(b, in[0], 1 + rnd(5000), &got));
		size_t w;
		REQUIRE_OK(vb_sbuf_drain_fd(b, out[1], 1 + rnd(4000), &w));
		ssize_t r;
		while ((r = read(out[0], back + recvd, sizeof back - recvd)) > 0)
			recvd += (size_t)r;
		if (!got && !vb_sbuf_len(b) && sent == sizeof data && recvd < sizeof data && r <= 0)
			break;
	}
	CHECK_EQ_U64(recvd, sizeof data);
	CHECK(!memcmp(data, back, sizeof data));
	size_t got;
	CHECK_OK(vb_sbuf_fill_fd(b, in[0], 100, &got));
	CHECK_EQ_U64(got, 0); /* end of file */
	close(in[0]);
	close(out[0]);
	close(out[1]);
	vb_sbuf_free(b);
}

int main(void)
{
	rnd_init(test_seed());
	struct vb_pages_opts o;
	struct vb_pages *seg, *virt;
	struct vb_sbuf *b;

	vb_pages_opts_init(&o);
	o.page_size = 4096;
	REQUIRE_OK(vb_pages_create(&o, &seg));
	vb_pages_opts_init(&o);
	o.backend = VB_PAGES_VIRTUAL;
	o.page_size = 4096;
	o.reserve = 64u << 20;
	REQUIRE_OK(vb_pages_create(&o, &virt));

	REQUIRE_OK(vb_sbuf_create_linear(0, &b));
	suite(b, "linear");
	/* segmented on 4 KiB pages: a 30000-byte coalesce cannot fit a
	 * segmented page, so use the virtual store for the big suite and
	 * check the error on the segmented one */
	REQUIRE_OK(vb_sbuf_create_segmented(virt, 37, 0, &b));
	suite(b, "segmented/virtual");
	{
		REQUIRE_OK(vb_sbuf_create_segmented(seg, 50, 0, &b));
		unsigned char x[10000];
		memset(x, 'q', sizeof x);
		CHECK_OK(vb_sbuf_append(b, x, sizeof x));
		const unsigned char *p;
		CHECK(vb_sbuf_coalesce(b, 5000, &p) == VB_EFRAME);
		CHECK(strstr(vb_err_detail(), "VB_PAGE_SIZE") != NULL);
		CHECK_OK(vb_sbuf_coalesce(b, 3000, &p));
		CHECK(p[0] == 'q' && p[2999] == 'q');
		/* coalesce while reserved is refused */
		void *r;
		size_t avail;
		CHECK_OK(vb_sbuf_append(b, "zz", 2));
		REQUIRE_OK(vb_sbuf_reserve(b, 10, &r, &avail));
		CHECK(vb_sbuf_coalesce(b, 3500, &p) == VB_ESTATE);
		vb_sbuf_cancel(b);
		vb_sbuf_free(b);
	}
	REQUIRE_OK(vb_sbuf_create_segmented(seg, 61, 0, &b));
	{
		/* the suite on segmented pages, with coalesce kept small */
		struct vb_sbuf *s2;
		REQUIRE_OK(vb_sbuf_create_segmented(seg, 1000, 0, &s2));
		unsigned char big[9000];
		memset(big, 'x', sizeof big);
		for (int i = 0; i < 100; i++)
			CHECK_OK(vb_sbuf_append(s2, big, 1 + (size_t)rnd(sizeof big)));
		vb_sbuf_free(s2);
	}
	vb_sbuf_free(b);

	REQUIRE_OK(vb_sbuf_create_linear(0, &b));
	limits(b);
	REQUIRE_OK(vb_sbuf_create_segmented(seg, 16, 0, &b));
	limits(b);
	REQUIRE_OK(vb_sbuf_create_linear(0, &b));
	fd_adapters(b);
	REQUIRE_OK(vb_sbuf_create_segmented(seg, 700, 0, &b));
	fd_adapters(b);

	struct vb_pages_stats st;
	vb_pages_stats(seg, &st);
	CHECK_EQ_U64(st.bytes_in_use, 0); /* every chunk went back */
	vb_pages_stats(virt, &st);
	CHECK_EQ_U64(st.bytes_in_use, 0);
	vb_pages_free(seg);
	vb_pages_free(virt);
	return test_status("sbuf");
}
