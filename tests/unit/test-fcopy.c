/*
 * test-fcopy: the copier (lib/fcopy.h) delivers the same bytes to the
 * same place by copy_file_range and by its read/write fallback (forced
 * with vb_fcopy_no_range), at unaligned offsets, over more than one
 * bounce buffer; a source that ends early stops the copy at its end
 * (*copied says where) on both paths, and nothing is written past it.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "fcopy.h"
#include "files.h"
#include "rnd.h"

#define N ((3u << 20) + 5)

static unsigned char *src, *got;

static int make_file(const char *name, const void *p, size_t n)
{
	int fd = open(tmp_path(name), O_RDWR | O_CREAT | O_TRUNC, 0600);
	REQUIRE(fd >= 0);
	if (n)
		REQUIRE(write(fd, p, n) == (ssize_t)n);
	return fd;
}

static void copy_case(int no_range)
{
	struct vb_fcopy c = VB_FCOPY_INIT;
	int in = make_file("in", src, N), out = make_file("out", NULL, 0);
	uint64_t copied = 0;

	vb_fcopy_no_range = no_range;
	/* unaligned on both sides, the whole rest of the source */
	CHECK_OK(vb_fcopy(&c, in, 7, out, 13, N - 7, &copied));
	CHECK_EQ_U64(copied, N - 7);
	if (no_range)
		CHECK(c.no_range);
	CHECK(pread(out, got, N - 7, 13) == (ssize_t)(N - 7));
	CHECK(!memcmp(got, src + 7, N - 7));
	/* a source that ends early: the copy stops at its end */
	CHECK_OK(vb_fcopy(&c, in, N - 100, out, 0, 1000, &copied));
	CHECK_EQ_U64(copied, 100);
	CHECK(pread(out, got, 100, 0) == 100);
	CHECK(!memcmp(got, src + N - 100, 100));
	CHECK_EQ_U64((uint64_t)lseek(out, 0, SEEK_END), (uint64_t)N + 6);
	/* nothing at all past the end */
	CHECK_OK(vb_fcopy(&c, in, N, out, 0, 10, &copied));
	CHECK_EQ_U64(copied, 0);
	/* offsets past the largest file offset are refused */
	CHECK(vb_fcopy(&c, in, UINT64_MAX - 5, out, 0, 10, &copied) == VB_ERANGE);
	vb_fcopy_no_range = 0;
	vb_fcopy_free(&c);
	close(in);
	close(out);
}

int main(void)
{
	rnd_init(test_seed());
	tmp_dir_make("vb-test-fcopy");
	src = malloc(N);
	got = malloc(N);
	REQUIRE(src && got);
	rnd_bytes(src, N);
	copy_case(0);
	copy_case(1);
	free(src);
	free(got);
	if (check_failures)
		fprintf(stderr, "seed 0x%llx, files in %s\n", (unsigned long long)rnd_seed, tmp_dir);
	else {
		unlink(tmp_path("in"));
		unlink(tmp_path("out"));
		rmdir(tmp_dir);
	}
	return test_status("fcopy");
}
