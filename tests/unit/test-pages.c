/*
 * test-pages: the pinned page store, both backends, with a fake clock.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "pages.h"

static uint64_t fake_now;

static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

#define PS (64u * 1024u)

static struct vb_pages *make(enum vb_pages_backend b, size_t reserve)
{
	struct vb_pages_opts o;
	struct vb_pages *p;
	vb_pages_opts_init(&o);
	o.backend = b;
	o.page_size = PS;
	o.threshold = 80;
	o.decay_ns = 5000000000ull;
	o.reserve = reserve;
	o.clock = fake_clock;
	REQUIRE_OK(vb_pages_create(&o, &p));
	return p;
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(seed * 31 + i * 7);
}

static int same(const unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(seed * 31 + i * 7))
			return 0;
	return 1;
}

/* Addresses and contents survive any amount of later growth. */
static void stable(enum vb_pages_backend b)
{
	struct vb_pages *p = make(b, 64u << 20);
	enum { N = 2000 };
	static unsigned char *ptr[N];
	static size_t len[N];
	uint64_t seed = test_seed();

	for (unsigned i = 0; i < N; i++) {
		len[i] = 1 + (size_t)(test_rand(&seed) % 9000);
		REQUIRE_OK(vb_pages_alloc(p, len[i], (void **)&ptr[i]));
		CHECK(((uintptr_t)ptr[i] & 15) == 0);
		fill(ptr[i], len[i], i);
	}
	int bad = 0;
	for (unsigned i = 0; i < N; i++)
		bad += !same(ptr[i], len[i], i);
	CHECK(bad == 0);
	/* no two objects overlap */
	for (unsigned i = 1; i < N; i++)
		CHECK(ptr[i] >= ptr[i - 1] + len[i - 1] || ptr[i] + len[i] <= ptr[i - 1]);
	/* release every other one and allocate more: the rest stay put */
	for (unsigned i = 0; i < N; i += 2)
		vb_pages_release(p, ptr[i], len[i]);
	for (unsigned i = 0; i < N / 2; i++) {
		void *q;
		REQUIRE_OK(vb_pages_alloc(p, 100, &q));
		memset(q, 0xee, 100);
	}
	bad = 0;
	for (unsigned i = 1; i < N; i += 2)
		bad += !same(ptr[i], len[i], i);
	CHECK(bad == 0);
	vb_pages_free(p);
}

static void segmented_skip_and_pad(void)
{
	struct vb_pages *p = make(VB_PAGES_SEGMENTED, 0);
	unsigned char *a, *b, *c;
	struct vb_pages_stats st;

	REQUIRE_OK(vb_pages_alloc(p, 40000, (void **)&a));
	REQUIRE_OK(vb_pages_alloc(p, 40000, (void **)&b));
	/* b does not fit in the rest of a's page: it starts a new page */
	CHECK(((uintptr_t)a & ~(uintptr_t)(PS - 1)) != ((uintptr_t)b & ~(uintptr_t)(PS - 1)));
	REQUIRE_OK(vb_pages_alloc(p, 1000, (void **)&c));
	/* small object fits after b in b's page */
	CHECK(c == b + 40000 || c == b + 40000 + (16 - 40000 % 16) % 16);
	void *big;
	CHECK(vb_pages_alloc(p, PS, &big) == VB_ELIMIT);
	vb_pages_stats(p, &st);
	CHECK(st.bytes_in_use == 81000);
	vb_pages_release(p, a, 40000);
	vb_pages_release(p, b, 40000);
	vb_pages_release(p, c, 1000);
	vb_pages_stats(p, &st);
	CHECK(st.bytes_in_use == 0);
	vb_pages_free(p);
}

static void virtual_spanning(void)
{
	struct vb_pages *p = make(VB_PAGES_VIRTUAL, 16u << 20);
	unsigned char *a, *b, *c;
	struct vb_pages_stats st;

	REQUIRE_OK(vb_pages_alloc(p, 40000, (void **)&a));
	REQUIRE_OK(vb_pages_alloc(p, 40000, (void **)&b));
	/* b follows a and crosses into the next page */
	CHECK(b == a + 40000);
	fill(b, 40000, 9);
	CHECK(same(b, 40000, 9));
	REQUIRE_OK(vb_pages_alloc(p, 3 * PS + 5, (void **)&c)); /* spans 4 pages */
	fill(c, 3 * PS + 5, 3);
	CHECK(same(c, 3 * PS + 5, 3));
	vb_pages_stats(p, &st);
	CHECK(st.bytes_committed >= 5u * PS);
	void *big;
	CHECK(vb_pages_alloc(p, 17u << 20, &big) == VB_ELIMIT);
	vb_pages_free(p);
}

/* Crossing the threshold makes the next page ready before it is needed. */
static void prefetch(enum vb_pages_backend b)
{
	struct vb_pages *p = make(b, 16u << 20);
	struct vb_pages_stats st;
	void *x;

	REQUIRE_OK(vb_pages_alloc(p, 1000, &x));
	vb_pages_stats(p, &st);
	CHECK_EQ_U64(st.prefetches, 0);
	uint64_t live_before = st.pages_live;
	/* up to just under 80 % of the page: still no prefetch */
	REQUIRE_OK(vb_pages_alloc(p, (size_t)(PS * 0.78) - 1000 - 64 - 32, &x));
	vb_pages_stats(p, &st);
	CHECK_EQ_U64(st.prefetches, 0);
	REQUIRE_OK(vb_pages_alloc(p, (size_t)(PS * 0.05), &x));
	vb_pages_stats(p, &st);
	CHECK_EQ_U64(st.prefetches, 1);
	CHECK_EQ_U64(st.pages_live, live_before + 1);
	/* the next object that does not fit lands in the prefetched page:
	 * no new page is made for it */
	REQUIRE_OK(vb_pages_alloc(p, PS / 4, &x));
	vb_pages_stats(p, &st);
	CHECK_EQ_U64(st.pages_live, live_before + 1);
	vb_pages_free(p);
}

/* Empty pages are kept until the decay timeout, then given back. */
static void decay(enum vb_pages_backend b)
{
	struct vb_pages *p = make(b, 16u << 20);
	struct vb_pages_stats st;
	enum { N = 10 };
	void *x[N];

	fake_now = 1000;
	for (int i = 0; i < N; i++)
		REQUIRE_OK(vb_pages_alloc(p, PS / 2, &x[i])); /* ~5 pages */
	vb_pages_stats(p, &st);
	uint64_t live = st.pages_live;
	CHECK(live >= 5);
	for (int i = 0; i < N - 1; i++)
		vb_pages_release(p, x[i], PS / 2);
	vb_pages_stats(p, &st);
	CHECK(st.pages_empty >= 3);
	CHECK_EQ_U64(st.pages_live, live); /* kept */
	CHECK_EQ_U64(st.released, 0);
	fake_now += 4999999999ull;
	vb_pages_tick(p);
	vb_pages_stats(p, &st);
	CHECK_EQ_U64(st.pages_live, live); /* not yet */
	uint64_t empty = st.pages_empty;
	/* reuse before decay: a new object takes a kept page, not a new one */
	void *y;
	REQUIRE_OK(vb_pages_alloc(p, PS / 2, &y));
	vb_pages_stats(p, &st);
	CHECK(st.pages_live <= live);
	fake_now += 2;
	vb_pages_tick(p);
	vb_pages_stats(p, &st);
	CHECK(st.released >= empty - 1);
	CHECK(st.pages_live < live);
	CHECK_EQ_U64(st.pages_empty, 0);
	vb_pages_release(p, x[N - 1], PS / 2);
	vb_pages_release(p, y, PS / 2);
	fake_now += 10000000000ull;
	vb_pages_tick(p);
	vb_pages_stats(p, &st);
	CHECK(st.bytes_in_use == 0);
	CHECK(st.pages_live <= 2); /* at most the current and a prefetched page */
	vb_pages_free(p);
	fake_now = 0;
}

/* A FIFO stream through a small virtual range wraps around. */
static void virtual_wrap(void)
{
	struct vb_pages *p = make(VB_PAGES_VIRTUAL, 8u * PS);
	enum { Q = 6 };
	void *q[Q] = {0};
	size_t qlen[Q] = {0};
	unsigned qseed[Q] = {0};
	uint64_t total = 0;
	unsigned head = 0, n = 0, bad = 0;

	for (unsigned i = 0; i < 2000; i++) {
		size_t len = 1000 + (i * 7919) % 30000;
		if (n == Q) {
			bad += !same(q[head], qlen[head], qseed[head]);
			vb_pages_release(p, q[head], qlen[head]);
			head = (head + 1) % Q;
			n--;
		}
		unsigned slot = (head + n) % Q;
		REQUIRE_OK(vb_pages_alloc(p, len, &q[slot]));
		qlen[slot] = len;
		qseed[slot] = i;
		fill(q[slot], len, i);
		n++;
		total += len;
	}
	CHECK(bad == 0);
	CHECK(total > 8u * PS * 10); /* wrapped many times */
	/* a range that is full of live objects refuses */
	vb_pages_free(p);
	p = make(VB_PAGES_VIRTUAL, 4u * PS);
	void *a;
	for (int i = 0; i < 3; i++)
		REQUIRE_OK(vb_pages_alloc(p, PS, &a));
	CHECK(vb_pages_alloc(p, 2 * PS, &a) == VB_ELIMIT);
	CHECK(strstr(vb_err_detail(), "VB_PAGE_RESERVE") != NULL);
	vb_pages_free(p);
}

/* A FIFO stream of 60 MB through a 64 MiB range keeps a small window of
 * pages: the memory in use follows the live data, not the bytes streamed. */
static void fifo_window(enum vb_pages_backend b)
{
	struct vb_pages *p = make(b, 64u << 20);
	struct vb_pages_stats st;
	enum { Q = 8 };
	void *q[Q];
	size_t qlen[Q];
	unsigned head = 0, n = 0;
	uint64_t streamed = 0, max_live = 0;

	while (streamed < 60u << 20) {
		size_t len = 4096 + (size_t)(streamed % 20011);
		if (n == Q) {
			vb_pages_release(p, q[head], qlen[head]);
			head = (head + 1) % Q;
			n--;
		}
		unsigned slot = (head + n) % Q;
		REQUIRE_OK(vb_pages_alloc(p, len, &q[slot]));
		qlen[slot] = len;
		n++;
		streamed += len;
		vb_pages_stats(p, &st);
		if (st.pages_live > max_live)
			max_live = st.pages_live;
	}
	/* 8 objects of at most 24 KiB: 3 pages of data, plus the current,
	 * a prefetched and some kept ones */
	CHECK(max_live <= 12);
	if (max_live > 12)
		fprintf(stderr, "backend %d: %llu pages live at most\n", (int)b,
			(unsigned long long)max_live);
	vb_pages_free(p);
}

static void env(void)
{
	struct vb_pages_opts o;
	vb_pages_opts_init(&o);
	setenv("VB_PAGE_BACKEND", "virtual", 1);
	setenv("VB_PAGE_SIZE", "128K", 1);
	setenv("VB_PAGE_THRESHOLD", "50", 1);
	setenv("VB_PAGE_DECAY", "0.5", 1);
	CHECK_OK(vb_pages_opts_from_env(&o));
	CHECK(o.backend == VB_PAGES_VIRTUAL && o.page_size == 128u * 1024u && o.threshold == 50 &&
	      o.decay_ns == 500000000ull);
	setenv("VB_PAGE_BACKEND", "heap", 1);
	CHECK(vb_pages_opts_from_env(&o) == VB_EINVAL);
	CHECK(strstr(vb_err_detail(), "VB_PAGE_BACKEND") != NULL);
	unsetenv("VB_PAGE_BACKEND");
	setenv("VB_PAGE_SIZE", "1000", 1);
	CHECK(vb_pages_opts_from_env(&o) == VB_EINVAL);
	setenv("VB_PAGE_SIZE", "64K", 1);
	setenv("VB_PAGE_THRESHOLD", "0", 1);
	CHECK(vb_pages_opts_from_env(&o) == VB_EINVAL);
	unsetenv("VB_PAGE_SIZE");
	unsetenv("VB_PAGE_THRESHOLD");
	unsetenv("VB_PAGE_DECAY");
}

/* The pool: objects keep their contents and address, freed slots are
 * reused, slabs never exceed the peak of live objects plus one, and
 * empty slabs go back to the page store and decay. */
static void pool(enum vb_pages_backend b, size_t size)
{
	enum { N = 3000 };
	static void *obj[N];
	static unsigned tag[N];
	struct vb_pages *p = make(b, (size_t)64 << 20);
	struct vb_pool *pl;
	struct vb_pool_stats ps;
	struct vb_pages_stats st;
	uint64_t seed = 77, live = 0, peak = 0;

	REQUIRE_OK(vb_pool_create(p, size, &pl));
	vb_pool_stats(pl, &ps);
	CHECK(ps.per_slab >= 1 && ps.per_slab * size <= PS);
	memset(obj, 0, sizeof obj);
	for (int r = 0; r < 60000; r++) {
		size_t i = (size_t)(test_rand(&seed) % N);
		/* phases: grow, shrink, churn */
		int grow = r < 20000 ? test_rand(&seed) % 4 != 0
				     : r < 40000 ? test_rand(&seed) % 4 == 0 : test_rand(&seed) % 2;
		if (obj[i] && !grow) {
			CHECK(same(obj[i], size, tag[i]));
			vb_pool_release(pl, obj[i]);
			obj[i] = NULL;
			live--;
		} else if (!obj[i] && grow) {
			REQUIRE_OK(vb_pool_alloc(pl, &obj[i]));
			CHECK(((uintptr_t)obj[i] & 15) == 0);
			tag[i] = (unsigned)r;
			fill(obj[i], size, tag[i]);
			if (++live > peak)
				peak = live;
		}
		vb_pool_stats(pl, &ps);
		CHECK_EQ_U64(ps.live, live);
		CHECK(ps.slabs <= (peak + ps.per_slab - 1) / ps.per_slab + 1);
		if (check_failures)
			return;
	}
	for (size_t i = 0; i < N; i++) {
		if (obj[i]) {
			CHECK(same(obj[i], size, tag[i]));
			vb_pool_release(pl, obj[i]);
		}
	}
	vb_pool_stats(pl, &ps);
	CHECK(ps.live == 0 && ps.slabs <= 1);
	vb_pages_stats(p, &st);
	CHECK(st.bytes_in_use <= PS);
	fake_now += 6000000000ull; /* past the decay: the empty pages go */
	vb_pages_tick(p);
	vb_pages_stats(p, &st);
	if (st.bytes_committed > 3 * PS)
		fprintf(stderr, "committed %llu\n", (unsigned long long)st.bytes_committed);
	CHECK(st.bytes_committed <= 3 * PS); /* the kept slab, the current page, the prefetched one */
	vb_pool_free(pl);
	vb_pool_free(NULL);
	vb_pool_release(NULL, NULL);
	CHECK(vb_pool_create(p, PS, &pl) == VB_ELIMIT && !pl);
	vb_pages_free(p);
}

int main(void)
{
	stable(VB_PAGES_SEGMENTED);
	stable(VB_PAGES_VIRTUAL);
	segmented_skip_and_pad();
	virtual_spanning();
	prefetch(VB_PAGES_SEGMENTED);
	prefetch(VB_PAGES_VIRTUAL);
	decay(VB_PAGES_SEGMENTED);
	decay(VB_PAGES_VIRTUAL);
	virtual_wrap();
	fifo_window(VB_PAGES_SEGMENTED);
	fifo_window(VB_PAGES_VIRTUAL);
	env();
	pool(VB_PAGES_SEGMENTED, 1160);
	pool(VB_PAGES_SEGMENTED, 8);
	pool(VB_PAGES_VIRTUAL, 4000);
	return test_status("pages");
}
