/*
 * rnd: the random sequence of a test program.  main() seeds it once with
 * rnd_init (test_seed(), or the test's own seed); every draw comes from it
 * in order, so one seed gives one run and a failure reproduces from the
 * seed it prints (rnd_seed).  The generator is check.h's test_rand.
 */
#ifndef VB_TEST_RND_H
#define VB_TEST_RND_H

#include "check.h"

static uint64_t rnd_seed;  /* what rnd_init was given: print it on a failure */
static uint64_t rnd_state; /* where the sequence is */

static inline void rnd_init(uint64_t seed)
{
	rnd_seed = rnd_state = seed;
}

/* The next 64 bits of the sequence. */
static inline uint64_t rnd64(void)
{
	return test_rand(&rnd_state);
}

/* The next number below n (0 when n is 0, which draws nothing). */
static inline uint64_t rnd(uint64_t n)
{
	return n ? rnd64() % n : 0;
}

#endif
