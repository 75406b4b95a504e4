/*
 * crash-shim: an LD_PRELOAD module for tests/cli/crash.bats that kills a
 * command for real at the Nth call that changes a file.
 *
 * Kill points are the calls a writer makes to change its files: write,
 * writev, pwrite, pwritev and copy_file_range on a regular file other than
 * stdin, stdout and stderr (decided by fstat, so terminals, pipes and the
 * harness's redirections never count), fsync, fdatasync, ftruncate and
 * rename, renameat, renameat2.  Every counted call adds one; the call that
 * makes the count equal $VB_CRASH_AT ends the process with
 * raise(SIGKILL), as a crash would end it.  At a write-type point with an
 * odd count the call first writes only a prefix of its bytes (a torn
 * write; the prefix length depends on the count, so it varies); at every
 * other point the call is not made at all.  $VB_CRASH_TEAR=even tears at
 * even counts instead, =all at every write-type point, =none never.
 *
 * With $VB_CRASH_COUNT=FILE the number of counted calls is appended to
 * FILE (one decimal line) when the process exits normally, so a harness
 * can learn how many points a command has.
 *
 * Calls glibc makes internally (stdio flushing its buffers) do not go
 * through this module; the commands write their files with the calls
 * above (lib/io.c, lib/store.c).  Built for the tests only, never
 * installed.
 */
/* pwrite and pwrite64 are both defined here: keep the headers from
 * renaming one to the other */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static atomic_ulong calls;
static unsigned long crash_at;
static const char *count_file;
static int tear_odd = 1, tear_even;

__attribute__((constructor)) static void shim_init(void)
{
	const char *at = getenv("VB_CRASH_AT"), *tear = getenv("VB_CRASH_TEAR");

	crash_at = at && *at ? strtoul(at, NULL, 10) : 0;
	if (tear && *tear) {
		tear_odd = !strcmp(tear, "odd") || !strcmp(tear, "all");
		tear_even = !strcmp(tear, "even") || !strcmp(tear, "all");
	}
	count_file = getenv("VB_CRASH_COUNT");
	if (count_file && !*count_file)
		count_file = NULL;
}

__attribute__((destructor)) static void shim_done(void)
{
	char line[32];
	int fd, n;

	if (!count_file)
		return;
	n = snprintf(line, sizeof line, "%lu\n", (unsigned long)atomic_load(&calls));
	/* raw system calls: the interposed write must not count this one */
	fd = (int)syscall(SYS_openat, AT_FDCWD, count_file,
	                  O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
	if (fd < 0)
		return;
	if (syscall(SYS_write, fd, line, (size_t)n) != n)
		syscall(SYS_write, 2, "crash-shim: cannot write the count\n", 35);
	syscall(SYS_close, fd);
}

/* Stores the next definition of `name` in *slot, a function pointer
 * (copied as bytes: ISO C has no cast from void * to a function pointer). */
static void next(void *slot, const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);

	if (!f) {
		static const char msg[] = "crash-shim: a function is missing\n";
		if (syscall(SYS_write, 2, msg, sizeof msg - 1) < 0)
			abort();
		abort();
	}
	memcpy(slot, &f, sizeof f);
}

/* Whether a write to fd changes a file the test cares about. */
static int counted_fd(int fd)
{
	struct stat st;

	return fd > 2 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

/* Counts one point; returns 0 to go on, 1 (no tear) or 2 (tear: write a
 * prefix, then call die) when this is the point to crash at. */
static int point(int tearable)
{
	unsigned long n = atomic_fetch_add(&calls, 1) + 1;

	if (!crash_at || n != crash_at)
		return 0;
	if (tearable && (n % 2 ? tear_odd : tear_even))
		return 2;
	raise(SIGKILL);
	return 1; /* not reached */
}

static size_t prefix(size_t len)
{
	return len ? (size_t)(crash_at * 7919u % len) : 0;
}

static void die(void)
{
	raise(SIGKILL);
	abort();
}

ssize_t write(int fd, const void *buf, size_t len)
{
	static ssize_t (*real)(int, const void *, size_t);

	if (!real)
		next(&real, "write");
	if (counted_fd(fd) && point(1)) {
		(void)real(fd, buf, prefix(len));
		die();
	}
	return real(fd, buf, len);
}

#define PWRITE(NAME)                                                          \
	ssize_t NAME(int fd, const void *buf, size_t len, off_t off)          \
	{                                                                     \
		static ssize_t (*real)(int, const void *, size_t, off_t);     \
		if (!real)                                                    \
			next(&real, #NAME); \
		if (counted_fd(fd) && point(1)) {                             \
			(void)real(fd, buf, prefix(len), off);                \
			die();                                                \
		}                                                             \
		return real(fd, buf, len, off);                               \
	}
PWRITE(pwrite)
PWRITE(pwrite64)

/* The first `keep` bytes of an iovec array, as a shorter array. */
static int cut_iov(const struct iovec *iov, int cnt, size_t keep, struct iovec *out)
{
	int n = 0;

	for (int i = 0; i < cnt && i < 64 && keep; i++, n++) {
		out[n] = iov[i];
		if (out[n].iov_len > keep)
			out[n].iov_len = keep;
		keep -= out[n].iov_len;
	}
	return n;
}

static size_t iov_len(const struct iovec *iov, int cnt)
{
	size_t t = 0;

	for (int i = 0; i < cnt; i++)
		t += iov[i].iov_len;
	return t;
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	static ssize_t (*real)(int, const struct iovec *, int);
	struct iovec part[64];

	if (!real)
		next(&real, "writev");
	if (counted_fd(fd) && point(1)) {
		int n = cut_iov(iov, cnt, prefix(iov_len(iov, cnt)), part);
		if (n)
			(void)real(fd, part, n);
		die();
	}
	return real(fd, iov, cnt);
}

#define PWRITEV(NAME)                                                         \
	ssize_t NAME(int fd, const struct iovec *iov, int cnt, off_t off)     \
	{                                                                     \
		static ssize_t (*real)(int, const struct iovec *, int, off_t); \
		struct iovec part[64];                                        \
		if (!real)                                                    \
			next(&real, #NAME); \
		if (counted_fd(fd) && point(1)) {                             \
			int n = cut_iov(iov, cnt, prefix(iov_len(iov, cnt)), part); \
			if (n)                                                \
				(void)real(fd, part, n, off);                 \
			die();                                                \
		}                                                             \
		return real(fd, iov, cnt, off);                               \
	}
PWRITEV(pwritev)
PWRITEV(pwritev64)

ssize_t copy_file_range(int in, off_t *in_off, int out, off_t *out_off, size_t len,
                        unsigned flags)
{
	static ssize_t (*real)(int, off_t *, int, off_t *, size_t, unsigned);

	if (!real)
		next(&real, "copy_file_range");
	if (counted_fd(out) && point(1)) {
		size_t p = prefix(len);
		if (p)
			(void)real(in, in_off, out, out_off, p, flags);
		die();
	}
	return real(in, in_off, out, out_off, len, flags);
}

#define SIMPLE(NAME, PARAMS, ARGS, TYPES)                                     \
	int NAME PARAMS                                                       \
	{                                                                     \
		static int (*real) TYPES;                                     \
		if (!real)                                                    \
			next(&real, #NAME);                    \
		point(0);                                                     \
		return real ARGS;                                             \
	}
SIMPLE(fsync, (int fd), (fd), (int))
SIMPLE(fdatasync, (int fd), (fd), (int))
SIMPLE(ftruncate, (int fd, off_t len), (fd, len), (int, off_t))
SIMPLE(ftruncate64, (int fd, off_t len), (fd, len), (int, off_t))
SIMPLE(rename, (const char *a, const char *b), (a, b), (const char *, const char *))
SIMPLE(renameat, (int da, const char *a, int db, const char *b), (da, a, db, b),
       (int, const char *, int, const char *))
SIMPLE(renameat2, (int da, const char *a, int db, const char *b, unsigned flags),
       (da, a, db, b, flags), (int, const char *, int, const char *, unsigned))
