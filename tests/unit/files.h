/*
 * files: a test's temporary directory, the paths in it, and files written
 * whole.
 */
#ifndef VB_TEST_FILES_H
#define VB_TEST_FILES_H

#include <stdio.h>
#include <stdlib.h>

#include "check.h"

/* The test's temporary directory, once tmp_dir_make has made it. */
static char tmp_dir[256];

/* Make a new directory $TMPDIR/NAME.XXXXXX (/tmp without TMPDIR): tmp_dir. */
static inline void tmp_dir_make(const char *name)
{
	const char *t = getenv("TMPDIR");
	int n = snprintf(tmp_dir, sizeof tmp_dir, "%s/%s.XXXXXX", t ? t : "/tmp", name);

	REQUIRE(n > 0 && (size_t)n < sizeof tmp_dir);
	REQUIRE(mkdtemp(tmp_dir));
}

/* tmp_dir/NAME, in one of 8 buffers used in turn: copy it to keep it. */
static inline const char *tmp_path(const char *name)
{
	static char buf[8][400];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof buf[i], "%s/%s", tmp_dir, name);
	return buf[i];
}

/* Write the n bytes at p to path (replacing it). */
static inline void write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	REQUIRE(f && fwrite(p, 1, n, f) == n && fclose(f) == 0);
}

#endif
