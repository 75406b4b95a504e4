/*
 * What the fuzzers that build a startup store share (included once per
 * fuzzer, before its own code; define FUZZ_NAME, FUZZ_RANDOM_FIRST and
 * FUZZ_RANDOM_STEP first):
 *
 * - CHECK(c): an invariant; a failure prints the fuzzer's name, the
 *   condition and the line, and aborts, so libFuzzer keeps the input.
 * - A deterministic startup: while fuzz_fixed_env is set, getrandom(2)
 *   returns the bytes FIRST + STEP * i and clock_gettime(CLOCK_REALTIME)
 *   a fixed time, so the startup store has the same store id and times in
 *   every run (a reproducer found by one run reproduces in the next, and
 *   a seed corpus can refer to that store).  These definitions replace
 *   libc's for the whole fuzzer; otherwise they call the system.
 * - fuzz_write_file(path, p, n): create or replace a file, or CHECK-fail.
 * - rnd(): a small deterministic generator for the custom mutators
 *   (rng_state is seeded from libFuzzer's seed).
 */
#ifndef VB_FUZZ_ENV_H
#define VB_FUZZ_ENV_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CHECK(c)                                                                           \
	do {                                                                               \
		if (!(c)) {                                                                \
			fprintf(stderr, FUZZ_NAME ": check failed: %s (line %d)\n", #c, __LINE__); \
			abort();                                                           \
		}                                                                          \
	} while (0)

static int fuzz_fixed_env;

ssize_t getrandom(void *buf, size_t n, unsigned flags)
{
	if (fuzz_fixed_env) {
		for (size_t i = 0; i < n; i++)
			((unsigned char *)buf)[i] =
				(unsigned char)(FUZZ_RANDOM_FIRST + FUZZ_RANDOM_STEP * i);
		return (ssize_t)n;
	}
	return syscall(SYS_getrandom, buf, n, flags);
}

int clock_gettime(clockid_t clk, struct timespec *ts)
{
	if (fuzz_fixed_env && clk == CLOCK_REALTIME) {
		ts->tv_sec = 1700000000;
		ts->tv_nsec = 0;
		return 0;
	}
	return (int)syscall(SYS_clock_gettime, clk, ts);
}

static void fuzz_write_file(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CHECK(fd >= 0);
	CHECK(write(fd, p, n) == (ssize_t)n);
	CHECK(close(fd) == 0);
}

static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
	return rng_state >> 33;
}

#endif
