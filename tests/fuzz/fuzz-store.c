/*
 * fuzz-store: the store opener and reader (lib/store.c, lib/ptree*.c,
 * lib/vbuf*.c) on hostile files.
 *
 * The first input byte is a mode; the rest is the file:
 *   bit 0   the file is a real store built at startup (a base file, edits,
 *           a revert, an anchor, a flatten) followed by the rest of the
 *           input, so that mutations land behind a valid head (a torn
 *           tail, or records the fuzzer learnt to make); else the rest of
 *           the input is the whole file;
 *   bit 1   open with lenient_base (a changed base is a warning);
 *   bit 2   the smallest caches (evictions);
 *   bits 3-7  the chunk size of the reads (1 + 61 * n bytes);
 *   bit 3   also: after the reads, open the store as a writer, insert and
 *           delete a few bytes and commit, as vb-insert would on a store
 *           from elsewhere.
 *
 * The file is written to a temporary directory that also holds the base
 * file the stores in corpus/store were made with ("base", 2,692
 * bytes: the lines "1" to "700", mtime 2023-11-14 22:13:20 UTC), so that
 * they find their base.  Then: open the head read-only, read its warnings,
 * run vb_store_verify; for up to 16 versions (the newest, and version 0)
 * open the version, read its description, operations and anchors, read
 * up to 16 KiB from its start and 4 KiB from its end in chunks, walk
 * iterators forward and backward over the same bytes and compare them
 * with what the reads gave, diff it against the version before and map a
 * few positions to the head.  Nothing may crash, hang or allocate without
 * bound (run with -rss_limit_mb and -timeout); bytes read twice must agree.
 * The writer (bit 3) may fail, but if it commits, the store reopens at
 * the next version with the inserted bytes where they were put; and
 * whatever the store says, nothing but the store file is written: the
 * directory holds only the store and the base afterwards, and the base
 * keeps its size, time and bytes (issue 6 item 6).
 *
 * VB_FUZZ_DEBUG=1 in the environment prints what opening each input gave.
 *
 * The custom mutator (LLVMFuzzerCustomMutator, and LLVMFuzzerCustomCrossOver
 * for two inputs) lets libFuzzer mutate the bytes and then, most of the
 * time, puts the checksums right, so that mutations get past them into
 * the tree decoder, the commit fields and extensions, the anchors: the
 * header CRC (mode bit 0 clear), and for every record whose length frames
 * it (walking forward from the header, resynchronising on the next footer
 * that points back to a plausible start) its footer (magic, length, own
 * offset, store id), the region checksum and parent CRC of a commit, and
 * the record CRC.  With mode bit 0 the startup store is walked too (for
 * the parent CRCs) but only the input's own bytes are changed.
 * VB_FUZZ_NO_FIX=1 turns the repairs off (to measure what they bring).
 *
 * The startup store is made deterministic (fixed store id and clock) so
 * that a reproducer found by one run reproduces in the next: getrandom and
 * clock_gettime are replaced while it is built.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "store.h"
#include "vbuf.h"

#define FUZZ_NAME "fuzz-store"
#define FUZZ_RANDOM_FIRST 0x5a
#define FUZZ_RANDOM_STEP 7
#include "fuzz-env.h"
#include "le.h"
#include "store-format.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned seed);
size_t LLVMFuzzerCustomCrossOver(const uint8_t *d1, size_t n1, const uint8_t *d2, size_t n2,
				 uint8_t *out, size_t max_out, unsigned seed);


static int debug;  /* $VB_FUZZ_DEBUG: say what each input did */
static int no_fix; /* $VB_FUZZ_NO_FIX: the mutator leaves checksums alone */
static char dir[256], store_path[300], base_path[300];
static uint32_t base_crc;
static size_t base_len;
static unsigned char *prefix;
static size_t prefix_len;

static void make_base(void)
{
	char text[8192];
	size_t n = 0;
	struct timespec t[2] = {{1700000000, 0}, {1700000000, 0}};

	for (int i = 1; i <= 700; i++)
		n += (size_t)snprintf(text + n, sizeof text - n, "%d\n", i);
	fuzz_write_file(base_path, text, n);
	base_len = n;
	base_crc = (uint32_t)crc32(0, (const unsigned char *)text, (unsigned)n);
	CHECK(utimensat(AT_FDCWD, base_path, t, 0) == 0);
}

/* The startup store: base, insert, delete, a revert, an anchor, a
 * partial flatten: the shape of what the commands write. */
static void make_prefix(void)
{
	char path[320];
	struct vb_vbuf_opts o;
	struct vb_vbuf *b;
	uint64_t v;
	struct stat st;

	snprintf(path, sizeof path, "%s/prefix.vb", dir);
	vb_vbuf_opts_init(&o);
	o.write = 1;
	o.create = 1;
	o.base = base_path;
	o.no_sync = 1;
	fuzz_fixed_env = 1;
	CHECK(vb_vbuf_open(path, &o, VB_HEAD, &b) == VB_OK);
	CHECK(vb_vbuf_insert(b, 10, "hello, ", 7) == VB_OK);
	CHECK(vb_vbuf_commit(b, "first", &v) == VB_OK);
	vb_vbuf_close(b);
	o.create = 0;
	o.base = NULL;
	CHECK(vb_vbuf_open(path, &o, VB_HEAD, &b) == VB_OK);
	CHECK(vb_vbuf_delete(b, 100, 50) == VB_OK);
	CHECK(vb_vbuf_replace(b, 0, 3, "abcdef", 6) == VB_OK);
	CHECK(vb_vbuf_set_anchor(b, "mark", 200) == VB_OK);
	CHECK(vb_vbuf_commit(b, NULL, &v) == VB_OK);
	CHECK(vb_vbuf_revert(b, 1) == VB_OK);
	CHECK(vb_vbuf_commit(b, "revert", &v) == VB_OK);
	struct vb_flatten_opts fo = {0};
	struct vb_flatten_stats fs;
	fo.partial = 1;
	CHECK(vb_vbuf_insert(b, 5, "x", 1) == VB_OK);
	CHECK(vb_vbuf_insert(b, 7, "y", 1) == VB_OK);
	CHECK(vb_vbuf_flatten(b, &fo, &fs) == VB_OK);
	CHECK(vb_vbuf_commit(b, NULL, &v) == VB_OK);
	vb_vbuf_close(b);
	fuzz_fixed_env = 0;

	int fd = open(path, O_RDONLY);
	CHECK(fd >= 0 && fstat(fd, &st) == 0);
	prefix_len = (size_t)st.st_size;
	prefix = malloc(prefix_len);
	CHECK(prefix && read(fd, prefix, prefix_len) == (ssize_t)prefix_len);
	close(fd);
	unlink(path);
}

static void cleanup(void)
{
	unlink(store_path);
	unlink(base_path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	debug = getenv("VB_FUZZ_DEBUG") && *getenv("VB_FUZZ_DEBUG");
	no_fix = getenv("VB_FUZZ_NO_FIX") && *getenv("VB_FUZZ_NO_FIX");
	snprintf(dir, sizeof dir, "%s/vb-fuzz-store.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	CHECK(mkdtemp(dir));
	snprintf(store_path, sizeof store_path, "%s/s.vb", dir);
	snprintf(base_path, sizeof base_path, "%s/base", dir);
	make_base();
	make_prefix();
	if (debug)
		fprintf(stderr, "fuzz-store: the startup store: %zu bytes, CRC-32 %08lx\n", prefix_len,
			crc32(0, prefix, (unsigned)prefix_len));
	atexit(cleanup);
	return 0;
}

/* ------------------------------------------------------------- reading */

#define HEAD_BYTES (16u << 10)
#define TAIL_BYTES (4u << 10)
#define MAX_VERSIONS 16

static unsigned char got[HEAD_BYTES], tail[TAIL_BYTES];

static enum vb_err on_op(void *arg, const struct vb_op *op)
{
	(*(uint64_t *)arg)++;
	(void)vb_op_name(op->kind);
	return VB_OK;
}

static enum vb_err on_anchor(void *arg, const char *name, uint64_t offset, uint64_t set_in)
{
	(void)offset;
	(void)set_in;
	CHECK(strlen(name) < 64);
	(*(uint64_t *)arg)++;
	return (*(uint64_t *)arg) > 10000 ? VB_ELIMIT : VB_OK;
}

static enum vb_err on_hunk(void *arg, uint64_t a_off, uint64_t a_len, uint64_t b_off,
			   uint64_t b_len)
{
	(void)a_off;
	(void)a_len;
	(void)b_off;
	(void)b_len;
	return ++*(uint64_t *)arg > 10000 ? VB_ELIMIT : VB_OK;
}

static void on_report(void *arg, uint64_t off, const char *what)
{
	(void)off;
	(void)strlen(what);
	++*(uint64_t *)arg;
}

static void on_note(void *arg, const char *what)
{
	(void)arg;
	(void)strlen(what);
}

/* Read up to `want` bytes from `off` in chunks of `chunk` into buf;
 * returns how many arrived before the end or a failure. */
static size_t read_chunks(struct vb_vbuf *b, uint64_t off, unsigned char *buf, size_t want,
			  size_t chunk)
{
	size_t have = 0;

	while (have < want) {
		size_t n = want - have < chunk ? want - have : chunk, g = 0;
		if (vb_vbuf_read_upto(b, off + have, buf + have, n, &g))
			break;
		CHECK(g <= n);
		have += g;
		if (g < n)
			break;
	}
	return have;
}

static void read_version(struct vb_vbuf *b, size_t chunk)
{
	uint64_t len = vb_vbuf_len(b), n;
	size_t head = read_chunks(b, 0, got, HEAD_BYTES, chunk);
	struct vb_iter *it = NULL;

	if (head < HEAD_BYTES && head < len)
		return; /* a read failed: a corrupt block, said so */
	CHECK(head == (len < HEAD_BYTES ? len : HEAD_BYTES));
	/* forward, a byte at a time and then chunk by chunk */
	if (vb_iter_create(b, 0, &it) == VB_OK) {
		size_t i = 0;
		for (; i < head && i < 512; i++) {
			int c = vb_iter_next(it);
			if (c < 0)
				break;
			CHECK(c == got[i]);
		}
		while (i == 512 && i < head) {
			const unsigned char *p;
			if (vb_iter_next_chunk(it, &p, &n) || !n)
				break;
			if (n > head - i)
				n = head - i;
			CHECK(!memcmp(p, got + i, n));
			i += n;
		}
		vb_iter_free(it);
	}
	/* the end, read and walked backward */
	uint64_t from = len > TAIL_BYTES ? len - TAIL_BYTES : 0;
	size_t t = read_chunks(b, from, tail, (size_t)(len - from), chunk);
	if (t < len - from)
		return;
	if (vb_iter_create(b, len, &it) == VB_OK) {
		size_t left = t;
		while (left) {
			const unsigned char *p;
			if (vb_iter_prev_chunk(it, &p, &n) || !n)
				break;
			if (n > left)
				n = left;
			CHECK(!memcmp(p, tail + left - n, n));
			left -= n;
		}
		if (len > 0 && vb_iter_seek(it, len - 1) == VB_OK) {
			int c = vb_iter_next(it);
			if (c >= 0)
				CHECK(c == tail[t - 1]);
		}
		vb_iter_free(it);
	}
}

/* Only the store and its base are in the directory; the base is as made. */
static void check_dir(void)
{
	static unsigned char base_now[8192];
	struct stat st;
	DIR *d = opendir(dir);
	struct dirent *e;

	CHECK(d);
	while ((e = readdir(d)))
		CHECK(!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		      !strcmp(e->d_name, "s.vb") || !strcmp(e->d_name, "base"));
	closedir(d);
	CHECK(stat(base_path, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size == base_len &&
	      st.st_mtim.tv_sec == 1700000000 && st.st_mtim.tv_nsec == 0);
	int fd = open(base_path, O_RDONLY);
	CHECK(fd >= 0 && read(fd, base_now, sizeof base_now) == (ssize_t)base_len);
	close(fd);
	CHECK(crc32(0, base_now, (unsigned)base_len) == base_crc);
}

/* Edit the store as a writer would; if the commit succeeds, the next
 * version must hold the bytes. */
static void write_version(const struct vb_vbuf_opts *ro, uint64_t head)
{
	struct vb_vbuf_opts o = *ro;
	struct vb_vbuf *b;
	uint64_t v, at;
	unsigned char back[3];

	o.write = 1;
	o.no_sync = 1;
	o.wait = 0;
	if (vb_vbuf_open(store_path, &o, VB_HEAD, &b))
		return;
	at = vb_vbuf_len(b) / 2;
	if (vb_vbuf_len(b) > 4 && vb_vbuf_delete(b, 0, 1)) {
		vb_vbuf_close(b);
		return;
	}
	at = at > vb_vbuf_len(b) ? vb_vbuf_len(b) : at;
	enum vb_err rc = vb_vbuf_insert(b, at, "xyz", 3);
	if (!rc)
		rc = vb_vbuf_commit(b, "fuzz", &v);
	if (debug)
		fprintf(stderr, "fuzz-store: writing: %s%s%s\n", vb_strerror(rc), rc ? ": " : "",
			rc ? vb_err_detail() : "");
	vb_vbuf_close(b);
	if (rc)
		return;
	CHECK(v == head + 1);
	CHECK(vb_vbuf_open(store_path, ro, VB_HEAD, &b) == VB_OK);
	CHECK(vb_vbuf_head(b) == v);
	if (!vb_vbuf_read(b, at, back, 3))
		CHECK(!memcmp(back, "xyz", 3));
	vb_vbuf_close(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vb_vbuf_opts o;
	struct vb_vbuf *b = NULL, *old;
	unsigned mode;
	uint64_t count = 0, head;

	if (!size || size > (1u << 20))
		return 0;
	mode = data[0];
	if (mode & 1) {
		int fd = open(store_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		CHECK(fd >= 0);
		CHECK(write(fd, prefix, prefix_len) == (ssize_t)prefix_len);
		CHECK(write(fd, data + 1, size - 1) == (ssize_t)(size - 1));
		CHECK(close(fd) == 0);
	} else {
		fuzz_write_file(store_path, data + 1, size - 1);
	}
	vb_vbuf_opts_init(&o);
	o.lenient_base = (mode >> 1) & 1;
	vb_vbuf_opts_cache(&o, mode & 4 ? VB_CACHE_MIN : (size_t)2 << 20);
	size_t chunk = 1 + 61 * (mode >> 3);

	enum vb_err rc = vb_vbuf_open(store_path, &o, VB_HEAD, &b);
	if (debug)
		fprintf(stderr, "fuzz-store: open: %s%s%s\n", vb_strerror(rc), rc ? ": " : "",
			rc ? vb_err_detail() : "");
	if (rc) {
		check_dir();
		return 0;
	}
	for (size_t i = 0; i < vb_vbuf_nwarnings(b); i++)
		(void)strlen(vb_vbuf_warning(b, i));
	head = vb_vbuf_head(b);
	CHECK(vb_vbuf_version(b) == head);
	(void)vb_vbuf_pieces(b);

	struct vb_verify_stats st;
	(void)vb_vbuf_verify(b, on_report, on_note, &count, &st);
	uint64_t problems = count;

	/* the newest versions, and version 0 */
	for (uint64_t k = 0; k < MAX_VERSIONS && k <= head; k++) {
		uint64_t v = k == MAX_VERSIONS - 1 ? 0 : head - k;
		struct vb_commit c;
		if (vb_vbuf_info(b, v, &c))
			continue;
		CHECK(c.version == v);
		count = 0;
		(void)vb_vbuf_ops(b, v, on_op, &count);
		count = 0;
		(void)vb_vbuf_anchors(b, v, on_anchor, &count);
		if (v) {
			count = 0;
			(void)vb_vbuf_diff(b, v - 1, v, on_hunk, &count);
		}
		uint64_t pos[3] = {0, c.length / 2, c.length};
		(void)vb_vbuf_map(b, v, head, pos, 3);
		if (vb_vbuf_open(store_path, &o, v, &old))
			continue;
		CHECK(vb_vbuf_len(old) == c.length);
		read_version(old, chunk);
		vb_vbuf_close(old);
	}
	read_version(b, chunk);
	if (debug)
		fprintf(stderr, "fuzz-store: version %llu, %llu bytes, %llu problems found by verify\n",
			(unsigned long long)head, (unsigned long long)vb_vbuf_len(b),
			(unsigned long long)problems);
	vb_vbuf_close(b);
	if (mode & 8)
		write_version(&o, head);
	check_dir();
	return 0;
}

/* ------------------------------------------------------------- mutator */

/* The layout is lib/store-format.h's. */
#define FILE_MAX (1u << 20)
#define COMMITS_MAX 4096

static uint32_t crc(uint32_t c, const unsigned char *p, size_t n)
{
	return (uint32_t)crc32(c, p, (uInt)n);
}

static unsigned char file_buf[(1u << 20) + (64u << 10)];
static struct {
	uint64_t off;
	uint32_t crc;
} commits[COMMITS_MAX];

/* The record that starts at or after `from` and before `end`: the first
 * footer magic whose length field points back to a record length that
 * says the same.  Its offset, or `end` if none. */
static uint64_t resync(const unsigned char *f, uint64_t from, uint64_t end)
{
	for (uint64_t q = from + VB_FMT_R_PAYLOAD; q + VB_FMT_FOOTER <= end; q++) {
		if (vb_le_get32(f + q + VB_FMT_F_MAGIC) != VB_FMT_FOOTER_MAGIC)
			continue;
		uint32_t l = vb_le_get32(f + q + VB_FMT_F_LEN);
		if (l <= VB_FMT_REC_MAX && q >= from + VB_FMT_R_PAYLOAD + l &&
		    vb_le_get32(f + q - VB_FMT_R_PAYLOAD - l + VB_FMT_R_LEN) == l)
			return q - VB_FMT_R_PAYLOAD - l;
	}
	return end;
}

/* Put the checksums of the file f[0..n) right where its framing parses;
 * bytes before `w0` are the startup store's and stay as they are. */
static void fix_store(unsigned char *f, uint64_t n, uint64_t w0)
{
	uint64_t h, id, off;
	size_t nc = 0;

	if (n < VB_FMT_HDR_MIN)
		return;
	h = vb_le_get32(f + VB_FMT_H_LEN);
	if (h < VB_FMT_HDR_MIN || h > VB_FMT_HDR_MAX || h > n)
		return;
	if (w0 < h)
		vb_le_put32(f + h - VB_FMT_HDR_CRC_LEN, crc(0, f, h - VB_FMT_HDR_CRC_LEN));
	id = vb_le_get64(f + VB_FMT_H_ID);
	for (off = h; off + VB_FMT_REC_OVERHEAD <= n;) {
		uint32_t l = vb_le_get32(f + off + VB_FMT_R_LEN);
		if (l > VB_FMT_REC_MAX || l + VB_FMT_REC_OVERHEAD > n - off) {
			off = resync(f, off + 1, n);
			continue;
		}
		unsigned char *ft = f + off + VB_FMT_R_PAYLOAD + l;
		if (off >= w0) {
			/* most of the time the footer's framing fields too */
			if (rnd() % 8) {
				vb_le_put32(ft + VB_FMT_F_MAGIC, VB_FMT_FOOTER_MAGIC);
				vb_le_put32(ft + VB_FMT_F_LEN, l);
				vb_le_put64(ft + VB_FMT_F_OFF, off);
				vb_le_put64(ft + VB_FMT_F_ID, id);
				if (ft[VB_FMT_F_TYPE] < VB_FMT_REC_DATA || ft[VB_FMT_F_TYPE] > VB_FMT_REC_OPS)
					ft[VB_FMT_F_TYPE] = (unsigned char)(VB_FMT_REC_DATA +
									 rnd() % VB_FMT_REC_OPS);
				ft[VB_FMT_F_FLAGS] &= VB_FMT_FLAG_MAY_SKIP;
				vb_le_put16(ft + VB_FMT_F_ZERO, 0);
			}
			if (ft[VB_FMT_F_TYPE] == VB_FMT_REC_COMMIT && l >= VB_FMT_COMMIT_FIXED) {
				unsigned char *p = f + off + VB_FMT_R_PAYLOAD;
				uint64_t parent = vb_le_get64(p + VB_FMT_C_PARENT_OFF);
				uint64_t start = vb_le_get64(p + VB_FMT_C_REGION_START);
				for (size_t i = 0; i < nc; i++)
					if (commits[i].off == parent)
						vb_le_put32(p + VB_FMT_C_PARENT_CRC, commits[i].crc);
				if ((vb_le_get32(p + VB_FMT_C_FLAGS) & VB_FMT_COMMIT_REGION) &&
				    start >= h && start <= off && off - start <= VB_FMT_REGION_MAX)
					vb_le_put32(p + VB_FMT_C_REGION_CRC, crc(0, f + start, off - start));
			}
			/* the record's CRC: all of it but the CRC field */
			uint32_t c = crc(0, f + off, VB_FMT_R_PAYLOAD + l + VB_FMT_F_CRC);
			vb_le_put32(ft + VB_FMT_F_CRC,
				    crc(c, ft + VB_FMT_F_OFF, VB_FMT_FOOTER - VB_FMT_F_OFF));
		}
		if (ft[VB_FMT_F_TYPE] == VB_FMT_REC_COMMIT && nc < COMMITS_MAX) {
			commits[nc].off = off;
			commits[nc].crc = vb_le_get32(ft + VB_FMT_F_CRC);
			nc++;
		}
		off += VB_FMT_REC_OVERHEAD + l;
	}
}

/* Fix the input d[0..n) (mode byte and file) in place. */
static void fix_input(uint8_t *d, size_t n)
{
	uint64_t w0 = d[0] & 1 ? prefix_len : 0;

	if (n < 2 || w0 + n - 1 > sizeof file_buf)
		return;
	memcpy(file_buf, prefix, w0);
	memcpy(file_buf + w0, d + 1, n - 1);
	fix_store(file_buf, w0 + n - 1, w0);
	memcpy(d + 1, file_buf + w0, n - 1);
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned seed)
{
	rng_state = seed * 0x9e3779b97f4a7c15ull + 1;
	size = LLVMFuzzerMutate(data, size, max_size);
	if (!no_fix && rnd() % 8)
		fix_input(data, size);
	return size;
}

size_t LLVMFuzzerCustomCrossOver(const uint8_t *d1, size_t n1, const uint8_t *d2, size_t n2,
				 uint8_t *out, size_t max_out, unsigned seed)
{
	rng_state = seed * 0x9e3779b97f4a7c15ull + 7;
	if (!n1 || !n2 || !max_out)
		return 0;
	/* a start of the first, the rest of the second (same mode) */
	size_t a = 1 + (size_t)(rnd() % n1), b = 1 + (size_t)(rnd() % n2);
	if (a > n1)
		a = n1;
	if (a > max_out)
		a = max_out;
	memcpy(out, d1, a);
	size_t m = b < n2 ? n2 - b : 0;
	if (m > max_out - a)
		m = max_out - a;
	memcpy(out + a, d2 + b, m);
	if (!no_fix && rnd() % 8)
		fix_input(out, a + m);
	return a + m;
}
