/*
 * deflate-speed: an export's compression, zlib's deflate against ISA-L's
 * igzip, on a file cut into records as the export cuts an insert (1 MiB
 * by default): time, MB/s and bytes of zlib streams (RFC 1950), each one
 * inflated back by zlib and compared, as apply.c reads them.  Built only
 * where the build found ISA-L; run by hand (never a timed test):
 *
 *   BUILD/tests/bench/deflate-speed FILE [RECORD_BYTES]
 *
 * A level igzip cannot finish within compressBound (what a reader of an
 * export accepts) is reported as such.
 */
#include <isa-l/igzip_lib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static unsigned char *in, *out, *back;
static size_t n, rec;
static uLong bound;

/* One record by igzip at `level` into out: its length, or 0. */
static size_t igzip(struct isal_zstream *s, unsigned char *lb, uint32_t lbsize, int level,
		    const unsigned char *p, size_t m)
{
	isal_deflate_init(s);
	s->level = (uint32_t)level;
	s->level_buf = lb;
	s->level_buf_size = lbsize;
	s->gzip_flag = IGZIP_ZLIB;
	s->end_of_stream = 1;
	s->next_in = (unsigned char *)p;
	s->avail_in = (uint32_t)m;
	s->next_out = out;
	s->avail_out = (uint32_t)bound;
	if (isal_deflate(s) != COMP_OK || s->internal_state.state != ZSTATE_END)
		return 0;
	return bound - s->avail_out;
}

static int inflates(size_t c, const unsigned char *p, size_t m)
{
	uLongf got = rec;

	return uncompress(back, &got, out, c) == Z_OK && got == m && !memcmp(back, p, m);
}

static void row(const char *what, double t, size_t bytes)
{
	printf("| %s | %.0f ms | %.0f MB/s | %zu | %.2f%% |\n", what, t * 1e3, (double)n / t / 1e6,
	       bytes, 100.0 * (double)bytes / (double)n);
}

int main(int argc, char **argv)
{
	static const uint32_t lvl_buf[] = {ISAL_DEF_LVL0_DEFAULT, ISAL_DEF_LVL1_DEFAULT,
					   ISAL_DEF_LVL2_DEFAULT, ISAL_DEF_LVL3_DEFAULT};
	static struct isal_zstream s;
	char what[64];
	FILE *f;

	if (argc < 2 || argc > 3 || !(f = fopen(argv[1], "rb"))) {
		fprintf(stderr, "usage: deflate-speed FILE [RECORD_BYTES]\n");
		return 2;
	}
	rec = argc > 2 ? strtoul(argv[2], NULL, 0) : (size_t)1 << 20;
	if (rec < 1 || rec > ((size_t)1 << 30) || fseek(f, 0, SEEK_END) || ftell(f) <= 0) {
		fprintf(stderr, "deflate-speed: a record of 1 byte to 1 GiB, a file not empty\n");
		return 2;
	}
	n = (size_t)ftell(f);
	rewind(f);
	bound = compressBound((uLong)rec);
	if (!(in = malloc(n)) || !(out = malloc(bound)) || !(back = malloc(rec)) ||
	    fread(in, 1, n, f) != n) {
		fprintf(stderr, "deflate-speed: cannot read %s\n", argv[1]);
		return 1;
	}
	fclose(f);
	printf("%s: %zu bytes in records of %zu\n\n", argv[1], n, rec);
	printf("| compressor | time | speed | bytes | of the input |\n|---|---|---|---|---|\n");
	for (int level = 1; level <= 9; level += 5) {
		z_stream z;
		size_t total = 0;
		memset(&z, 0, sizeof z);
		if (deflateInit(&z, level) != Z_OK)
			return 1;
		double t0 = now();
		for (size_t off = 0; off < n; off += rec) {
			size_t m = n - off < rec ? n - off : rec;
			deflateReset(&z);
			z.next_in = in + off;
			z.avail_in = (uInt)m;
			z.next_out = out;
			z.avail_out = (uInt)bound;
			if (deflate(&z, Z_FINISH) != Z_STREAM_END)
				return 1;
			total += bound - z.avail_out;
		}
		double t = now() - t0;
		deflateEnd(&z);
		snprintf(what, sizeof what, "zlib deflate, level %d", level);
		row(what, t, total);
	}
	for (int level = 0; level <= 3; level++) {
		unsigned char *lb = malloc(lvl_buf[level] ? lvl_buf[level] : 1);
		size_t total = 0, c = 1;
		if (!lb)
			return 1;
		double t0 = now();
		for (size_t off = 0; off < n && c; off += rec) {
			size_t m = n - off < rec ? n - off : rec;
			total += c = igzip(&s, lb, lvl_buf[level], level, in + off, m);
		}
		double t = now() - t0;
		snprintf(what, sizeof what, "igzip, level %d", level);
		if (!c) {
			printf("| %s | does not fit compressBound |  |  |  |\n", what);
			free(lb);
			continue;
		}
		for (size_t off = 0; off < n; off += rec) {
			size_t m = n - off < rec ? n - off : rec;
			c = igzip(&s, lb, lvl_buf[level], level, in + off, m);
			if (!inflates(c, in + off, m)) {
				fprintf(stderr, "deflate-speed: igzip level %d: zlib does not inflate the record at %zu\n",
					level, off);
				return 1;
			}
		}
		row(what, t, total);
		free(lb);
	}
	free(in);
	free(out);
	free(back);
	return 0;
}
