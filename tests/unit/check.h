/*
 * check: the smallest test harness that can fail.  Each CHECK that fails
 * prints file:line and the expression and marks the test failed; main()
 * returns test_status(), which meson reads as the test result.
 */
#ifndef VB_TEST_CHECK_H
#define VB_TEST_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

static int check_failures;

#define CHECK(expr)                                                              \
	do {                                                                     \
		if (!(expr)) {                                                   \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__,   \
				__LINE__, #expr);                                \
			check_failures++;                                        \
		}                                                                \
	} while (0)

#define CHECK_EQ_U64(a, b)                                                       \
	do {                                                                     \
		uint64_t check_a_ = (uint64_t)(a), check_b_ = (uint64_t)(b);     \
		if (check_a_ != check_b_) {                                      \
			fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%" PRIu64 \
				" != %" PRIu64 ")\n", __FILE__, __LINE__, #a, #b,\
				check_a_, check_b_);                             \
			check_failures++;                                        \
		}                                                                \
	} while (0)

/* Abort the test at once: later checks would only repeat the damage. */
#define REQUIRE(expr)                                                            \
	do {                                                                     \
		if (!(expr)) {                                                   \
			fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, \
				__LINE__, #expr);                                \
			exit(1);                                                 \
		}                                                                \
	} while (0)

#define CHECK_OK(call)                                                           \
	do {                                                                     \
		enum vb_err check_rc_ = (call);                                  \
		if (check_rc_) {                                                 \
			fprintf(stderr, "%s:%d: %s failed: %s (%s)\n", __FILE__, \
				__LINE__, #call, vb_strerror(check_rc_),          \
				vb_err_detail());                                \
			check_failures++;                                        \
		}                                                                \
	} while (0)

#define REQUIRE_OK(call)                                                         \
	do {                                                                     \
		enum vb_err check_rc_ = (call);                                  \
		if (check_rc_) {                                                 \
			fprintf(stderr, "%s:%d: %s failed: %s (%s)\n", __FILE__, \
				__LINE__, #call, vb_strerror(check_rc_),          \
				vb_err_detail());                                \
			exit(1);                                                 \
		}                                                                \
	} while (0)

static inline int test_status(const char *name)
{
	if (check_failures) {
		fprintf(stderr, "%s: %d check(s) failed\n", name, check_failures);
		return 1;
	}
	printf("%s: all checks passed\n", name);
	return 0;
}

/* Deterministic PRNG (splitmix64) so failures reproduce from the seed. */
static inline uint64_t test_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint64_t test_seed(void)
{
	const char *s = getenv("VB_TEST_SEED");
	return s ? strtoull(s, NULL, 0) : 0x5eed5eedULL;
}

#endif
