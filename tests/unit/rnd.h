/*
 * rnd: the random sequence of a test program.  main() seeds it once with
 * rnd_init (test_seed(), or the test's own seed); every draw comes from it
 * in order, so one seed gives one run and a failure reproduces from the
 * seed it prints (rnd_seed).  The generator is check.h's test_rand.
 * rnd_bytes and rnd_file build random contents from the same sequence.
 */
#ifndef VB_TEST_RND_H
#define VB_TEST_RND_H

#include "check.h"
#include "files.h"

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

/* Fill p with the next n draws of rnd(256). */
static inline void rnd_bytes(void *p, size_t n)
{
	unsigned char *d = p;

	for (size_t i = 0; i < n; i++)
		d[i] = (unsigned char)rnd(256);
}

/* A file of n bytes from rnd_bytes, at path (replacing it). */
static inline void rnd_file(const char *path, size_t n)
{
	unsigned char *d = malloc(n ? n : 1);

	REQUIRE(d);
	rnd_bytes(d, n);
	write_file(path, d, n);
	free(d);
}

#endif
