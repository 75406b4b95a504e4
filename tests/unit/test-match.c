/*
 * test-match: lib/match against memmem and a naive search: fixed strings
 * with NULs and any byte, at either end, longer than the record, in
 * random records; regular expressions (where the build has PCRE2): bytes
 * as bytes (\x00, \xff, no UTF-8 checks), anchors at the record's ends,
 * compile errors naming the offset, and a pattern that backtracks
 * catastrophically given up on with VB_ELIMIT, not hung.
 */
#include <string.h>

#include "check.h"
#include "match.h"
#include "rnd.h"

/* Whether needle occurs in hay, one offset at a time. */
static int naive(const unsigned char *hay, size_t n, const unsigned char *needle, size_t k)
{
	for (size_t i = 0; i + k <= n; i++)
		if (!memcmp(hay + i, needle, k))
			return 1;
	return 0;
}

static int hit_of(struct vb_match *m, const void *p, size_t n)
{
	int hit = -1;
	CHECK_OK(vb_match_test(m, p, n, &hit));
	return hit;
}

static void fixed(void)
{
	struct vb_match *m;
	static const unsigned char s[] = {'a', 0, 0xff, 'b'};

	REQUIRE_OK(vb_match_fixed(s, sizeof s, &m));
	CHECK(hit_of(m, "xx\0a\xff\0b", 7) == 0);
	CHECK(hit_of(m, "a\0\xff" "b", 4) == 1);
	CHECK(hit_of(m, "zza\0\xff" "b", 6) == 1);
	CHECK(hit_of(m, "a\0\xff", 3) == 0);
	CHECK(hit_of(m, NULL, 0) == 0);
	vb_match_free(m);
	CHECK(vb_match_fixed("", 0, &m) == VB_EINVAL && m == NULL);
	vb_match_free(NULL);
	/* random records over a small alphabet: many near misses */
	for (int r = 0; r < 5000; r++) {
		unsigned char hay[200], nd[6];
		size_t n = rnd(sizeof hay + 1), k = 1 + rnd(sizeof nd);
		for (size_t i = 0; i < n; i++)
			hay[i] = (unsigned char)"ab\0\n"[rnd(4)];
		for (size_t i = 0; i < k; i++)
			nd[i] = (unsigned char)"ab\0\n"[rnd(4)];
		REQUIRE_OK(vb_match_fixed(nd, k, &m));
		CHECK(hit_of(m, hay, n) == naive(hay, n, nd, k));
		vb_match_free(m);
	}
}

static void regex(void)
{
	struct vb_match *m;

	if (!strcmp(vb_match_regex_engine(), "none")) {
		CHECK(vb_match_regex("a", &m) == VB_EINVAL && m == NULL);
		CHECK(strstr(vb_err_detail(), "without PCRE2") != NULL);
		printf("test-match: built without PCRE2: --regex is refused\n");
		return;
	}
	REQUIRE_OK(vb_match_regex("^ERROR [0-9]+$", &m));
	CHECK(hit_of(m, "ERROR 42", 8) == 1);
	CHECK(hit_of(m, "ERROR 42!", 9) == 0);
	CHECK(hit_of(m, "xERROR 42", 9) == 0);
	vb_match_free(m);
	/* bytes are bytes: a NUL, a byte that is not UTF-8 */
	REQUIRE_OK(vb_match_regex("a\\x00\\xff+b", &m));
	CHECK(hit_of(m, "a\0\xff\xff" "b", 5) == 1);
	CHECK(hit_of(m, "a\0b", 3) == 0);
	vb_match_free(m);
	REQUIRE_OK(vb_match_regex("x|^$", &m));
	CHECK(hit_of(m, NULL, 0) == 1);
	CHECK(hit_of(m, "y", 1) == 0);
	vb_match_free(m);
	/* a pattern that does not compile: where and why */
	CHECK(vb_match_regex("a(b", &m) == VB_EINVAL && m == NULL);
	CHECK(strstr(vb_err_detail(), "at offset 3 of the pattern: ") != NULL);
	/* catastrophic backtracking is given up on, not run for ever */
	REQUIRE_OK(vb_match_regex("^(a+)+$", &m));
	char s[64];
	memset(s, 'a', sizeof s);
	s[sizeof s - 1] = 'b';
	int hit = -1;
	enum vb_err rc = vb_match_test(m, s, sizeof s, &hit);
	CHECK(rc == VB_ELIMIT || (rc == VB_OK && hit == 0));
	vb_match_free(m);
}

int main(void)
{
	rnd_init(test_seed());
	fixed();
	regex();
	return test_status("match");
}
