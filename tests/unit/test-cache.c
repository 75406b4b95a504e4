/*
 * test-cache: reading a store ten times larger than its cache keeps the
 * caches' memory, and the process's resident size, bounded.
 *
 * A child process builds the store (so the parent's heap starts clean): a
 * 1 MiB base file and 20,000 inserts of 300 to 900 bytes at random offsets,
 * about 12 MiB of logged data in some 40,000 pieces, so that both the data
 * blocks and the tree's nodes are many times the 1 MiB cache.  The child
 * reports the CRC of the content.  The parent opens the store with
 * --cache 1M and reads it sequentially, at random offsets and backward
 * with an iterator; after each pass the block cache and the node pages must
 * be within their share of the cache (plus a few pages), and the resident
 * size may have grown by at most the cache plus 3 MiB (not checked under
 * AddressSanitizer, whose shadow memory and quarantine count as resident).
 */
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "files.h"
#include "vbuf.h"

#if defined(__SANITIZE_ADDRESS__)
#define RSS_CHECKS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RSS_CHECKS 0
#endif
#endif
#ifndef RSS_CHECKS
#define RSS_CHECKS 1
#endif

#define CACHE ((size_t)1 << 20)
#define SLACK_PAGES (3u * 64u * 1024u)

static uint64_t rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	unsigned long long v = 0;

	REQUIRE(f);
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %llu kB", &v) == 1)
			break;
	fclose(f);
	return v;
}

static uint32_t build(const char *base, const char *store)
{
	uint64_t seed = test_seed();
	unsigned char *buf = malloc(1 << 20);
	struct vb_vbuf_opts o;
	struct vb_vbuf *b;
	uint64_t v;

	REQUIRE(buf);
	for (size_t i = 0; i < (1 << 20); i++)
		buf[i] = (unsigned char)test_rand(&seed);
	write_file(base, buf, 1 << 20);
	vb_vbuf_opts_init(&o);
	o.write = o.create = o.no_sync = 1;
	o.base = base;
	REQUIRE_OK(vb_vbuf_open(store, &o, VB_HEAD, &b));
	for (int i = 0; i < 20000; i++) {
		size_t n = 300 + (size_t)(test_rand(&seed) % 601);
		for (size_t k = 0; k < n; k++)
			buf[k] = (unsigned char)test_rand(&seed);
		REQUIRE_OK(vb_vbuf_insert(b, test_rand(&seed) % (vb_vbuf_len(b) + 1), buf, n));
		if (i % 2000 == 1999)
			REQUIRE_OK(vb_vbuf_commit(b, NULL, &v));
	}
	uLong crc = crc32(0, NULL, 0);
	uint64_t len = vb_vbuf_len(b);
	for (uint64_t off = 0; off < len;) {
		size_t n = len - off < (1 << 20) ? (size_t)(len - off) : (1 << 20);
		REQUIRE_OK(vb_vbuf_read(b, off, buf, n));
		crc = crc32(crc, buf, (uInt)n);
		off += n;
	}
	vb_vbuf_close(b);
	free(buf);
	return (uint32_t)crc;
}

static void bounded(struct vb_vbuf *b, uint64_t rss0, const char *pass)
{
	struct vb_vbuf_stats st;
	uint64_t rss = rss_kib();

	vb_vbuf_stats(b, &st);
	printf("%-10s block cache %llu KiB (pages %llu KiB of %llu), nodes %llu KiB (pages %llu KiB), RSS +%lld KiB\n",
	       pass, (unsigned long long)st.block_cache_bytes >> 10,
	       (unsigned long long)st.block_pages_bytes >> 10,
	       (unsigned long long)st.block_cache_cap >> 10,
	       (unsigned long long)st.node_cache_bytes >> 10,
	       (unsigned long long)st.node_pages_bytes >> 10, (long long)(rss - rss0));
	CHECK(st.block_cache_cap > 0 && st.block_cache_cap <= CACHE / 2);
	CHECK(st.block_cache_bytes <= st.block_cache_cap);
	CHECK(st.block_pages_bytes <= st.block_cache_cap);
	CHECK(st.node_cache_bytes <= CACHE / 2);
	CHECK(st.node_pages_bytes <= CACHE / 2 + SLACK_PAGES);
	if (RSS_CHECKS)
		CHECK(rss <= rss0 + (CACHE + (3u << 20)) / 1024);
}

int main(void)
{
	char base[300], store[300];
	int fds[2];
	uint32_t want = 0;
	pid_t pid;
	int status;

	tmp_dir_make("vb-test-cache");
	snprintf(base, sizeof base, "%s/base", tmp_dir);
	snprintf(store, sizeof store, "%s/c.vb", tmp_dir);
	REQUIRE(pipe(fds) == 0);
	fflush(NULL);
	REQUIRE((pid = fork()) >= 0);
	if (pid == 0) {
		uint32_t crc = build(base, store);
		_exit(write(fds[1], &crc, sizeof crc) == sizeof crc ? 0 : 1);
	}
	close(fds[1]);
	REQUIRE(read(fds[0], &want, sizeof want) == sizeof want);
	close(fds[0]);
	REQUIRE(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && !WEXITSTATUS(status));

	struct vb_vbuf_opts o;
	struct vb_vbuf *b;
	unsigned char *buf = malloc(64 * 1024);
	REQUIRE(buf);
	vb_vbuf_opts_init(&o);
	vb_vbuf_opts_cache(&o, CACHE);
	REQUIRE_OK(vb_vbuf_open(store, &o, VB_HEAD, &b));
	uint64_t len = vb_vbuf_len(b), rss0 = rss_kib();
	struct vb_vbuf_stats st;
	vb_vbuf_stats(b, &st);
	CHECK(st.file_size >= 10 * CACHE);

	/* sequential, twice: the CRC is the content's */
	for (int pass = 0; pass < 2; pass++) {
		uLong crc = crc32(0, NULL, 0);
		for (uint64_t off = 0; off < len;) {
			size_t n = len - off < 65536 ? (size_t)(len - off) : 65536;
			REQUIRE_OK(vb_vbuf_read(b, off, buf, n));
			crc = crc32(crc, buf, (uInt)n);
			off += n;
		}
		CHECK(crc == want);
		bounded(b, rss0, "sequential");
	}
	/* random small reads */
	uint64_t seed = 99;
	for (int i = 0; i < 20000; i++) {
		size_t n = 1 + (size_t)(test_rand(&seed) % 4096);
		uint64_t off = test_rand(&seed) % (len - n);
		REQUIRE_OK(vb_vbuf_read(b, off, buf, n));
	}
	bounded(b, rss0, "random");
	/* backward, a chunk at a time */
	struct vb_iter *it;
	const unsigned char *d;
	size_t n;
	uint64_t seen = 0;
	REQUIRE_OK(vb_iter_create(b, len, &it));
	while (!vb_iter_prev_chunk(it, &d, &n) && n)
		seen += n;
	CHECK_EQ_U64(seen, len);
	vb_iter_free(it);
	bounded(b, rss0, "backward");
	vb_vbuf_stats(b, &st);
	CHECK(st.block_reads > 2 * st.block_cache_cap / 65536); /* it did evict */

	vb_vbuf_close(b);
	free(buf);
	unlink(store);
	unlink(base);
	rmdir(tmp_dir);
	return test_status("cache");
}
