/*
 * test-ranges: a batch of deletions (lib/ranges): growth and its limit,
 * sorting and merging (overlapping, touching, duplicate, contained and
 * empty ranges, unsorted input), the overflow check near 2^64, and the
 * order vb_ranges_apply hands the ranges out in; then random batches
 * against a byte-map model.
 */
#include <string.h>

#include "check.h"
#include "ranges.h"

/* What vb_ranges_apply handed out, in order. */
struct seen {
	uint64_t at[64], bytes[64];
	size_t n;
	size_t fail_at;   /* fail (VB_EIO) on this call, or SIZE_MAX */
};

static enum vb_err record(void *arg, uint64_t at, uint64_t bytes)
{
	struct seen *s = arg;

	if (s->n == s->fail_at)
		return vb_err_set(VB_EIO, "call %zu fails", s->n);
	REQUIRE(s->n < 64);
	s->at[s->n] = at;
	s->bytes[s->n] = bytes;
	s->n++;
	return VB_OK;
}

static struct vb_pos plain(uint64_t n)
{
	struct vb_pos p;

	memset(&p, 0, sizeof p);
	p.n = n;
	return p;
}

/* A list of resolved ranges given as pairs at, bytes. */
static struct vb_ranges *make(const uint64_t *pairs, size_t n)
{
	struct vb_ranges *r;

	REQUIRE_OK(vb_ranges_create(1000, &r));
	for (size_t i = 0; i < n; i++) {
		struct vb_pos p = plain(pairs[2 * i]);
		REQUIRE_OK(vb_ranges_add(r, &p, pairs[2 * i + 1], i + 1));
		vb_ranges_get(r, i)->at = pairs[2 * i];
		vb_ranges_get(r, i)->bytes = pairs[2 * i + 1];
	}
	return r;
}

/* Merge the pairs and check the merged list (`want`, ascending) and the
 * order apply hands it out in (descending; an empty range only alone). */
static void merged(const uint64_t *pairs, size_t n, const uint64_t *want, size_t nwant)
{
	struct vb_ranges *r = make(pairs, n);
	struct seen s = {.fail_at = SIZE_MAX};
	size_t k = 0;

	CHECK_OK(vb_ranges_merge(r));
	CHECK_EQ_U64(vb_ranges_count(r), nwant);
	for (size_t i = 0; i < nwant && i < vb_ranges_count(r); i++) {
		CHECK_EQ_U64(vb_ranges_get(r, i)->at, want[2 * i]);
		CHECK_EQ_U64(vb_ranges_get(r, i)->bytes, want[2 * i + 1]);
	}
	CHECK_OK(vb_ranges_apply(r, record, &s));
	for (size_t i = nwant; i-- > 0;) {
		if (!want[2 * i + 1] && nwant > 1)
			continue;
		CHECK(k < s.n);
		if (k < s.n) {
			CHECK_EQ_U64(s.at[k], want[2 * i]);
			CHECK_EQ_U64(s.bytes[k], want[2 * i + 1]);
		}
		k++;
	}
	CHECK_EQ_U64(s.n, k);
	vb_ranges_free(r);
}

static void test_merge_cases(void)
{
	/* empty: nothing to merge, nothing applied */
	merged(NULL, 0, NULL, 0);
	/* one */
	merged((const uint64_t[]){10, 5}, 1, (const uint64_t[]){10, 5}, 1);
	/* one empty range: still applied (one empty deletion) */
	merged((const uint64_t[]){7, 0}, 1, (const uint64_t[]){7, 0}, 1);
	/* apart, unsorted: sorted, applied from the highest down */
	merged((const uint64_t[]){50, 5, 10, 5, 30, 1}, 3,
	       (const uint64_t[]){10, 5, 30, 1, 50, 5}, 3);
	/* overlapping */
	merged((const uint64_t[]){10, 10, 15, 10}, 2, (const uint64_t[]){10, 15}, 1);
	merged((const uint64_t[]){15, 10, 10, 10}, 2, (const uint64_t[]){10, 15}, 1);
	/* touching: [10,20) and [20,25) are one */
	merged((const uint64_t[]){20, 5, 10, 10}, 2, (const uint64_t[]){10, 15}, 1);
	/* one byte apart: two */
	merged((const uint64_t[]){21, 5, 10, 10}, 2, (const uint64_t[]){10, 10, 21, 5}, 2);
	/* duplicates */
	merged((const uint64_t[]){10, 5, 10, 5, 10, 5}, 3, (const uint64_t[]){10, 5}, 1);
	/* contained: the inner one adds nothing */
	merged((const uint64_t[]){12, 2, 10, 10}, 2, (const uint64_t[]){10, 10}, 1);
	merged((const uint64_t[]){10, 10, 10, 3, 17, 3}, 3, (const uint64_t[]){10, 10}, 1);
	/* a chain: each touches the next */
	merged((const uint64_t[]){4, 2, 0, 2, 2, 2, 6, 2}, 4, (const uint64_t[]){0, 8}, 1);
	/* empty ranges: merged into what covers or touches them, else kept
	 * apart and skipped by apply among others */
	merged((const uint64_t[]){10, 0, 10, 5}, 2, (const uint64_t[]){10, 5}, 1);
	merged((const uint64_t[]){15, 0, 10, 5}, 2, (const uint64_t[]){10, 5}, 1);
	merged((const uint64_t[]){12, 0, 10, 5}, 2, (const uint64_t[]){10, 5}, 1);
	merged((const uint64_t[]){16, 0, 10, 5}, 2, (const uint64_t[]){10, 5, 16, 0}, 2);
	merged((const uint64_t[]){3, 0, 3, 0}, 2, (const uint64_t[]){3, 0}, 1);
	merged((const uint64_t[]){3, 0, 9, 0}, 2, (const uint64_t[]){3, 0, 9, 0}, 2);
	/* at the top of 64 bits: a range ending exactly at 2^64-1 is fine */
	merged((const uint64_t[]){UINT64_MAX - 10, 10, UINT64_MAX - 20, 10}, 2,
	       (const uint64_t[]){UINT64_MAX - 20, 20}, 1);
	merged((const uint64_t[]){UINT64_MAX, 0, 0, UINT64_MAX}, 2,
	       (const uint64_t[]){0, UINT64_MAX}, 1);
}

static void test_overflow(void)
{
	/* at + bytes passes 2^64-1: VB_ERANGE, the list as it was */
	const uint64_t pairs[] = {50, 5, UINT64_MAX - 3, 4, 10, 5};
	struct vb_ranges *r = make(pairs, 3);

	CHECK(vb_ranges_merge(r) == VB_ERANGE);
	CHECK(strstr(vb_err_detail(), "2^64-1") != NULL);
	CHECK_EQ_U64(vb_ranges_count(r), 3);
	for (size_t i = 0; i < 3; i++) {
		CHECK_EQ_U64(vb_ranges_get(r, i)->at, pairs[2 * i]);
		CHECK_EQ_U64(vb_ranges_get(r, i)->bytes, pairs[2 * i + 1]);
		CHECK_EQ_U64(vb_ranges_get(r, i)->tag, i + 1);
	}
	vb_ranges_free(r);

	r = make((const uint64_t[]){UINT64_MAX, 1}, 1);
	CHECK(vb_ranges_merge(r) == VB_ERANGE);
	vb_ranges_free(r);
	r = make((const uint64_t[]){1, UINT64_MAX}, 1);
	CHECK(vb_ranges_merge(r) == VB_ERANGE);
	vb_ranges_free(r);
}

static void test_add_and_limit(void)
{
	struct vb_ranges *r;
	struct vb_pos p;

	/* what add keeps; at and bytes start at 0 */
	REQUIRE_OK(vb_ranges_create(3, &r));
	CHECK_EQ_U64(vb_ranges_count(r), 0);
	CHECK_EQ_U64(vb_ranges_max(r), 3);
	CHECK_OK(vb_parse_pos("end-4", &p));
	CHECK_OK(vb_ranges_add(r, &p, 2, 7));
	CHECK_OK(vb_parse_pos("@mark+1", &p));
	CHECK_OK(vb_ranges_add(r, &p, 9, 8));
	CHECK_OK(vb_ranges_add(r, &p, 0, 9));
	CHECK_EQ_U64(vb_ranges_count(r), 3);
	const struct vb_range *g = vb_ranges_get(r, 0);
	CHECK(g->pos.from_end && g->pos.n == 4 && g->len == 2 && g->tag == 7);
	CHECK(g->at == 0 && g->bytes == 0);
	g = vb_ranges_get(r, 1);
	CHECK(!strcmp(g->pos.anchor, "mark") && g->pos.n == 1 && g->len == 9 && g->tag == 8);

	/* the limit: VB_ELIMIT, the list unchanged, and again */
	CHECK(vb_ranges_add(r, &p, 1, 10) == VB_ELIMIT);
	CHECK(!strcmp(vb_err_detail(), "too many ranges (the limit is 3)"));
	CHECK(vb_ranges_add(r, &p, 1, 11) == VB_ELIMIT);
	CHECK_EQ_U64(vb_ranges_count(r), 3);
	CHECK_EQ_U64(vb_ranges_get(r, 2)->tag, 9);
	vb_ranges_free(r);

	/* a limit of 0 holds nothing; free(NULL) is fine */
	REQUIRE_OK(vb_ranges_create(0, &r));
	p = plain(0);
	CHECK(vb_ranges_add(r, &p, 1, 1) == VB_ELIMIT);
	CHECK_OK(vb_ranges_merge(r));
	CHECK_EQ_U64(vb_ranges_count(r), 0);
	vb_ranges_free(r);
	vb_ranges_free(NULL);

	/* past the first allocation and its doublings, up to an odd limit:
	 * exactly `max` ranges fit */
	REQUIRE_OK(vb_ranges_create(5000, &r));
	for (size_t i = 0; i < 5000; i++) {
		p = plain(i);
		REQUIRE_OK(vb_ranges_add(r, &p, 1, i));
	}
	CHECK(vb_ranges_add(r, &p, 1, 5000) == VB_ELIMIT);
	CHECK_EQ_U64(vb_ranges_count(r), 5000);
	for (size_t i = 0; i < 5000; i++) {
		CHECK_EQ_U64(vb_ranges_get(r, i)->pos.n, i);
		vb_ranges_get(r, i)->at = 2 * (4999 - i);  /* descending, one apart */
		vb_ranges_get(r, i)->bytes = 1;
	}
	CHECK_OK(vb_ranges_merge(r));
	CHECK_EQ_U64(vb_ranges_count(r), 5000);
	for (size_t i = 0; i < 5000; i++)
		CHECK_EQ_U64(vb_ranges_get(r, i)->at, 2 * i);
	vb_ranges_free(r);
}

static void test_apply_failure(void)
{
	struct vb_ranges *r = make((const uint64_t[]){0, 1, 10, 1, 20, 1}, 3);
	struct seen s = {.fail_at = 1};

	CHECK_OK(vb_ranges_merge(r));
	CHECK(vb_ranges_apply(r, record, &s) == VB_EIO);
	CHECK_EQ_U64(s.n, 1);
	CHECK_EQ_U64(s.at[0], 20);
	vb_ranges_free(r);
}

/* Random batches against a model: deleting the merged ranges from the
 * top gives what deleting every original byte of every range gives, and
 * the merged list is sorted with gaps between ranges. */
static void test_model(void)
{
	uint64_t seed = 0x72616e676573ULL;

	for (int round = 0; round < 500; round++) {
		enum { LEN = 200 };
		unsigned char gone[LEN] = {0}, content[LEN], after[LEN];
		size_t n = test_rand(&seed) % 20, alen = LEN;
		struct vb_ranges *r;
		REQUIRE_OK(vb_ranges_create(64, &r));
		for (size_t i = 0; i < n; i++) {
			uint64_t at = test_rand(&seed) % LEN;
			uint64_t len = test_rand(&seed) % 4 ? test_rand(&seed) % (LEN - at + 1) % 30 : 0;
			struct vb_pos p = plain(at);
			REQUIRE_OK(vb_ranges_add(r, &p, len, i));
			vb_ranges_get(r, i)->at = at;
			vb_ranges_get(r, i)->bytes = len;
			memset(gone + at, 1, (size_t)len);
		}
		CHECK_OK(vb_ranges_merge(r));
		for (size_t i = 1; i < vb_ranges_count(r); i++) {
			const struct vb_range *a = vb_ranges_get(r, i - 1), *b = vb_ranges_get(r, i);
			CHECK(a->at + a->bytes < b->at);
		}
		for (size_t i = 0; i < LEN; i++)
			content[i] = (unsigned char)i;
		memcpy(after, content, LEN);
		struct seen s = {.fail_at = SIZE_MAX};
		CHECK_OK(vb_ranges_apply(r, record, &s));
		uint64_t prev = UINT64_MAX;
		for (size_t k = 0; k < s.n; k++) {
			/* from the highest down, never overlapping what follows */
			CHECK(s.at[k] + s.bytes[k] <= prev);
			prev = s.at[k];
			memmove(after + s.at[k], after + s.at[k] + s.bytes[k],
				alen - (size_t)(s.at[k] + s.bytes[k]));
			alen -= (size_t)s.bytes[k];
		}
		size_t w = 0;
		for (size_t i = 0; i < LEN; i++)
			if (!gone[i])
				content[w++] = (unsigned char)i;
		CHECK_EQ_U64(alen, w);
		CHECK(!memcmp(after, content, w));
		vb_ranges_free(r);
	}
}

int main(void)
{
	test_merge_cases();
	test_overflow();
	test_add_and_limit();
	test_apply_failure();
	test_model();
	return test_status("ranges");
}
