/*
 * test-store: the store format's promises, one by one.
 *   - a store made from a base reads back the base; edits persist across
 *     processes (reopen); old versions stay readable; revert is O(1)
 *   - a torn tail at every byte offset inside the last commit's records
 *     opens to the previous version with exactly its content, and the next
 *     writer cuts it and commits
 *   - a whole record with a bad checksum after the head is skipped with a
 *     warning
 *   - unknown format version, truncated header, not-a-store, changed base
 *     are refused with the right codes
 *   - a failed commit leaves the file byte-identical
 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "vbuf.h"

static char dir[256];

static char *path(const char *name)
{
	static char buf[4][512];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
	return buf[k];
}

static void write_file(const char *p, const void *data, size_t n)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	REQUIRE(fd >= 0);
	REQUIRE(write(fd, data, n) == (ssize_t)n);
	close(fd);
}

static unsigned char *read_file(const char *p, size_t *n)
{
	struct stat st;
	int fd = open(p, O_RDONLY);
	REQUIRE(fd >= 0);
	REQUIRE(fstat(fd, &st) == 0);
	unsigned char *b = malloc((size_t)st.st_size + 1);
	REQUIRE(read(fd, b, (size_t)st.st_size) == st.st_size);
	close(fd);
	*n = (size_t)st.st_size;
	return b;
}

static struct vb_vbuf_opts wopts(void)
{
	struct vb_vbuf_opts o;
	vb_vbuf_opts_init(&o);
	o.write = 1;
	o.no_sync = 1;
	return o;
}

static struct vb_vbuf_opts ropts(void)
{
	struct vb_vbuf_opts o;
	vb_vbuf_opts_init(&o);
	return o;
}

static uint32_t content_crc(struct vb_vbuf *b, uint64_t *len)
{
	unsigned char buf[8192];
	uint32_t c = 0;
	uint64_t n = vb_vbuf_len(b);
	for (uint64_t off = 0; off < n;) {
		size_t take = n - off < sizeof buf ? (size_t)(n - off) : sizeof buf;
		REQUIRE_OK(vb_vbuf_read(b, off, buf, take));
		c = (uint32_t)crc32(c, buf, (uInt)take);
		off += take;
	}
	*len = n;
	return c;
}

static uint32_t store_crc(const char *p, uint64_t version, uint64_t *len)
{
	struct vb_vbuf_opts o = ropts();
	struct vb_vbuf *b;
	REQUIRE_OK(vb_vbuf_open(p, &o, version, &b));
	uint32_t c = content_crc(b, len);
	vb_vbuf_close(b);
	return c;
}

static void test_basic(void)
{
	unsigned char base[100000];
	for (size_t i = 0; i < sizeof base; i++)
		base[i] = (unsigned char)('a' + i % 26);
	write_file(path("base.txt"), base, sizeof base);

	struct vb_vbuf_opts o = wopts();
	struct vb_vbuf *b;
	uint64_t v;
	o.create = 1;
	o.base = path("base.txt");
	REQUIRE_OK(vb_vbuf_open(path("a.vb"), &o, VB_HEAD, &b));
	CHECK(access(path("a.vb"), F_OK) != 0); /* not visible before commit */
	CHECK_EQ_U64(vb_vbuf_len(b), sizeof base);
	REQUIRE_OK(vb_vbuf_insert(b, 0, "HEADER\n", 7));
	REQUIRE_OK(vb_vbuf_commit(b, "add header", &v));
	CHECK_EQ_U64(v, 1);
	CHECK(access(path("a.vb"), F_OK) == 0);
	vb_vbuf_close(b);

	o = wopts();
	REQUIRE_OK(vb_vbuf_open(path("a.vb"), &o, VB_HEAD, &b));
	CHECK_EQ_U64(vb_vbuf_version(b), 1);
	CHECK_EQ_U64(vb_vbuf_len(b), sizeof base + 7);
	REQUIRE_OK(vb_vbuf_delete(b, 50007, 4096));
	REQUIRE_OK(vb_vbuf_commit(b, NULL, &v));
	CHECK_EQ_U64(v, 2);
	vb_vbuf_close(b);

	/* read back each version */
	uint64_t len;
	unsigned char *expect = malloc(sizeof base + 7);
	memcpy(expect, "HEADER\n", 7);
	memcpy(expect + 7, base, sizeof base);
	CHECK(store_crc(path("a.vb"), 1, &len) == (uint32_t)crc32(0, expect, sizeof base + 7));
	CHECK(store_crc(path("a.vb"), 0, &len) == (uint32_t)crc32(0, base, sizeof base));
	memmove(expect + 50007, expect + 50007 + 4096, sizeof base + 7 - 50007 - 4096);
	CHECK(store_crc(path("a.vb"), 2, &len) == (uint32_t)crc32(0, expect, sizeof base + 7 - 4096));
	CHECK_EQ_U64(len, sizeof base + 7 - 4096);

	/* revert to 0 is O(1) and exact */
	o = wopts();
	REQUIRE_OK(vb_vbuf_open(path("a.vb"), &o, VB_HEAD, &b));
	REQUIRE_OK(vb_vbuf_revert(b, 0));
	REQUIRE_OK(vb_vbuf_commit(b, "back", &v));
	CHECK_EQ_U64(v, 3);
	struct vb_commit info;
	REQUIRE_OK(vb_vbuf_info(b, 3, &info));
	CHECK(info.sum_kind == VB_OP_REVERT && info.sum_target == 0);
	CHECK(!strcmp(info.message, "back"));
	REQUIRE_OK(vb_vbuf_info(b, 1, &info));
	CHECK(!strcmp(info.message, "add header"));
	CHECK(info.sum_kind == VB_OP_INSERT && info.sum_off == 0 && info.sum_len == 7);
	vb_vbuf_close(b);
	CHECK(store_crc(path("a.vb"), VB_HEAD, &len) == (uint32_t)crc32(0, base, sizeof base));

	/* a store moved together with its base keeps working */
	REQUIRE(mkdir(path("moved"), 0755) == 0);
	REQUIRE(rename(path("a.vb"), path("moved/a.vb")) == 0);
	REQUIRE(rename(path("base.txt"), path("moved/base.txt")) == 0);
	CHECK(store_crc(path("moved/a.vb"), 2, &len) ==
	      (uint32_t)crc32(0, expect, sizeof base + 7 - 4096));

	/* a changed base is refused */
	base[60000] ^= 1;
	write_file(path("moved/base.txt"), base, sizeof base);
	o = ropts();
	CHECK(vb_vbuf_open(path("moved/a.vb"), &o, VB_HEAD, &b) == VB_EBASE);
	CHECK(strstr(vb_err_detail(), "has changed") != NULL);
	o.lenient_base = 1;
	REQUIRE_OK(vb_vbuf_open(path("moved/a.vb"), &o, VB_HEAD, &b));
	CHECK(vb_vbuf_nwarnings(b) == 1);
	unsigned char x;
	CHECK(vb_vbuf_read(b, 10, &x, 1) == VB_EBASE);
	vb_vbuf_close(b);
	unlink(path("moved/base.txt"));
	o = ropts();
	CHECK(vb_vbuf_open(path("moved/a.vb"), &o, VB_HEAD, &b) == VB_EBASE);
	free(expect);
}

static void test_bad_files(void)
{
	struct vb_vbuf_opts o = ropts();
	struct vb_vbuf *b;

	write_file(path("empty"), "", 0);
	CHECK(vb_vbuf_open(path("empty"), &o, VB_HEAD, &b) == VB_ENOTSTORE);
	write_file(path("text"), "hello world, this is not a store at all\n", 40);
	CHECK(vb_vbuf_open(path("text"), &o, VB_HEAD, &b) == VB_ENOTSTORE);
	CHECK(vb_vbuf_open(path("missing"), &o, VB_HEAD, &b) == VB_ENOENT);
	CHECK(vb_vbuf_open(dir, &o, VB_HEAD, &b) == VB_ENOTSTORE);

	/* a real store, then damaged copies */
	struct vb_vbuf_opts w = wopts();
	uint64_t v;
	w.create = 1;
	REQUIRE_OK(vb_vbuf_open(path("good.vb"), &w, VB_HEAD, &b));
	REQUIRE_OK(vb_vbuf_insert(b, 0, "content", 7));
	REQUIRE_OK(vb_vbuf_commit(b, NULL, &v));
	vb_vbuf_close(b);
	size_t n;
	unsigned char *g = read_file(path("good.vb"), &n);

	unsigned char *d = malloc(n);
	memcpy(d, g, n);
	d[8] = 2; /* format version */
	write_file(path("v2.vb"), d, n);
	CHECK(vb_vbuf_open(path("v2.vb"), &o, VB_HEAD, &b) == VB_EFORMAT);
	CHECK(strstr(vb_err_detail(), "version 2") != NULL);

	for (size_t cut = 1; cut < 120; cut += 7) {
		write_file(path("trunc.vb"), g, cut);
		enum vb_err rc = vb_vbuf_open(path("trunc.vb"), &o, VB_HEAD, &b);
		CHECK(rc == VB_ECORRUPT);
		if (rc != VB_ECORRUPT)
			fprintf(stderr, "cut %zu: %s\n", cut, vb_err_detail());
	}
	memcpy(d, g, n);
	d[20] ^= 0x40; /* inside the header: CRC */
	write_file(path("hdr.vb"), d, n);
	CHECK(vb_vbuf_open(path("hdr.vb"), &o, VB_HEAD, &b) == VB_ECORRUPT);
	CHECK(strstr(vb_err_detail(), "header checksum") != NULL);
	free(d);
	free(g);
}

/* Truncate at every byte offset of the last commit's records. */
static void test_torn_tail(void)
{
	struct vb_vbuf_opts w = wopts();
	struct vb_vbuf *b;
	uint64_t v, len;
	unsigned char buf[70000];

	w.create = 1;
	REQUIRE_OK(vb_vbuf_open(path("torn.vb"), &w, VB_HEAD, &b));
	for (size_t i = 0; i < 3000; i++)
		buf[i] = (unsigned char)i;
	REQUIRE_OK(vb_vbuf_insert(b, 0, buf, 3000));
	REQUIRE_OK(vb_vbuf_commit(b, "one", &v));
	vb_vbuf_close(b);
	w = wopts();
	REQUIRE_OK(vb_vbuf_open(path("torn.vb"), &w, VB_HEAD, &b));
	for (int i = 0; i < 40; i++)
		REQUIRE_OK(vb_vbuf_delete(b, (uint64_t)i * 50, 3));
	REQUIRE_OK(vb_vbuf_commit(b, "two", &v));
	vb_vbuf_close(b);
	size_t before_n;
	unsigned char *before = read_file(path("torn.vb"), &before_n);
	uint32_t crc2 = store_crc(path("torn.vb"), VB_HEAD, &len);
	uint64_t len2 = len;

	/* the last commit: a big insert spanning two data blocks, a delete */
	w = wopts();
	REQUIRE_OK(vb_vbuf_open(path("torn.vb"), &w, VB_HEAD, &b));
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (unsigned char)(i * 7);
	REQUIRE_OK(vb_vbuf_insert(b, 100, buf, sizeof buf));
	REQUIRE_OK(vb_vbuf_delete(b, 10, 5));
	REQUIRE_OK(vb_vbuf_commit(b, "three", &v));
	vb_vbuf_close(b);
	size_t full_n;
	unsigned char *full = read_file(path("torn.vb"), &full_n);
	CHECK(memcmp(full, before, before_n) == 0); /* append-only */

	struct vb_vbuf_opts o = ropts();
	size_t tried = 0, bad = 0;
	/* write once, then shrink: each cut is one ftruncate */
	write_file(path("cut.vb"), full, full_n);
	for (size_t cut = full_n - 1; cut >= before_n; cut--) {
		REQUIRE(truncate(path("cut.vb"), (off_t)cut) == 0);
		REQUIRE_OK(vb_vbuf_open(path("cut.vb"), &o, VB_HEAD, &b));
		uint64_t l;
		if (vb_vbuf_version(b) != 2 || content_crc(b, &l) != crc2 || l != len2)
			bad++;
		if (cut > before_n && vb_vbuf_nwarnings(b) == 0)
			bad++; /* reader says it ignored a tail */
		vb_vbuf_close(b);
		tried++;
	}
	CHECK_EQ_U64(bad, 0);
	printf("torn tail: %zu cut points opened to the previous version\n", tried);

	/* the next writer cuts the tail and commits after version 2 */
	write_file(path("cut.vb"), full, before_n + (full_n - before_n) / 2);
	w = wopts();
	REQUIRE_OK(vb_vbuf_open(path("cut.vb"), &w, VB_HEAD, &b));
	REQUIRE_OK(vb_vbuf_insert(b, 0, "Z", 1));
	REQUIRE_OK(vb_vbuf_commit(b, "after crash", &v));
	CHECK_EQ_U64(v, 3);
	vb_vbuf_close(b);
	REQUIRE_OK(vb_vbuf_open(path("cut.vb"), &o, VB_HEAD, &b));
	CHECK_EQ_U64(vb_vbuf_len(b), len2 + 1);
	CHECK(vb_vbuf_nwarnings(b) == 0);
	vb_vbuf_close(b);

	/* the big last commit (70 KB of data) was flushed twice, no region
	 * checksum; version 2 (a few deletes) was small: one flush and a
	 * checksum over its records */
	REQUIRE_OK(vb_vbuf_open(path("torn.vb"), &o, VB_HEAD, &b));
	struct vb_commit *hc = malloc(sizeof *hc);
	REQUIRE(hc);
	REQUIRE_OK(vb_vbuf_info(b, vb_vbuf_head(b), hc));
	CHECK(!(hc->flags & VB_COMMIT_REGION));
	free(hc);
	struct vb_commit c2;
	REQUIRE_OK(vb_vbuf_info(b, 2, &c2));
	CHECK((c2.flags & VB_COMMIT_REGION) && c2.off - c2.region_start < 65536);
	vb_vbuf_close(b);

	/* a crash that kept a small commit's record but not all of the
	 * records before it (zeros where a page did not reach the disk):
	 * the opener goes back to the version before */
	{
		unsigned char *z = malloc(before_n);
		memcpy(z, before, before_n);
		for (uint64_t k = c2.region_start; k < c2.off && k < c2.region_start + 64; k++)
			z[k] = 0;
		write_file(path("lost.vb"), z, before_n);
		REQUIRE_OK(vb_vbuf_open(path("lost.vb"), &o, VB_HEAD, &b));
		CHECK_EQ_U64(vb_vbuf_version(b), 1);
		CHECK(vb_vbuf_nwarnings(b) == 1 &&
		      strstr(vb_vbuf_warning(b, 0), "do not match its checksum"));
		vb_vbuf_close(b);
		free(z);
	}

	/* a whole commit record with a bad checksum: skipped, with a warning */
	unsigned char *d = malloc(full_n);
	memcpy(d, full, full_n);
	d[full_n - 40] ^= 1; /* inside the last commit's payload */
	write_file(path("badcrc.vb"), d, full_n);
	REQUIRE_OK(vb_vbuf_open(path("badcrc.vb"), &o, VB_HEAD, &b));
	CHECK_EQ_U64(vb_vbuf_version(b), 2);
	CHECK(vb_vbuf_nwarnings(b) == 1 && strstr(vb_vbuf_warning(b, 0), "bad checksum"));
	vb_vbuf_close(b);
	free(d);
	free(full);
	free(before);
}

/* A commit that cannot be written leaves the file as it was. */
static void test_failed_commit(void)
{
	struct vb_vbuf_opts w = wopts();
	struct vb_vbuf *b;
	uint64_t v;
	size_t n1, n2;

	w.create = 1;
	REQUIRE_OK(vb_vbuf_open(path("fail.vb"), &w, VB_HEAD, &b));
	REQUIRE_OK(vb_vbuf_insert(b, 0, "abc", 3));
	REQUIRE_OK(vb_vbuf_commit(b, NULL, &v));
	vb_vbuf_close(b);
	unsigned char *a = read_file(path("fail.vb"), &n1);
	w = wopts();
	REQUIRE_OK(vb_vbuf_open(path("fail.vb"), &w, VB_HEAD, &b));
	unsigned char big[100000] = {0};
	REQUIRE_OK(vb_vbuf_insert(b, 1, big, sizeof big));
	char msg[VB_MESSAGE_MAX + 2];
	memset(msg, 'm', sizeof msg - 1);
	msg[sizeof msg - 1] = 0;
	CHECK(vb_vbuf_commit(b, msg, &v) == VB_EINVAL);
	vb_vbuf_close(b); /* rolls back the appended data */
	unsigned char *c = read_file(path("fail.vb"), &n2);
	CHECK(n1 == n2 && memcmp(a, c, n1) == 0);
	free(a);
	free(c);
}

int main(void)
{
	snprintf(dir, sizeof dir, "%s/vb-test-store.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	REQUIRE(mkdtemp(dir));
	test_basic();
	test_bad_files();
	test_torn_tail();
	test_failed_commit();
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (!check_failures && system(cmd) != 0)
		fprintf(stderr, "cleanup failed\n");
	return test_status("store");
}
