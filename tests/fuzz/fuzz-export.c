/*
 * fuzz-export: applying a portable edit stream (lib/apply.c) that came
 * from elsewhere, the way `vb-history --apply FILE STORE` does.
 *
 * The first input byte is a mode; the rest is the stream:
 *   bit 0   a regular file: checked whole first (check_only), then read
 *           again and applied with the last version left for the caller
 *           to commit, as vb-history does for a file it can seek; else a
 *           stream (a pipe): applied at once, versions committed as they
 *           arrive;
 *   bit 1   (stream) leave the last version uncommitted and commit it
 *           afterwards, as vb-history does;
 *   bits 2-7  the reads return at most 1 + 97 * n bytes each (a pipe's
 *           short reads; a file is read whole).
 *
 * At startup a small store is built in a temporary directory (on tmpfs,
 * /dev/shm, unless TMPDIR says otherwise) beside its base file ("base",
 * the lines 1 to 700, mtime 1700000000, as in fuzz-store): version 1
 * inserts and sets an anchor, 2 deletes and replaces, 3 reverts to 1.  Its
 * store id and clock are fixed while it is built, so the exports in
 * corpus/export (made from a copy of it by make-export-corpus.sh) apply
 * to it.  Before each input the store file gets these bytes back.
 *
 * Checked beyond "no crash, no leak, no hang":
 *   - a regular file whose check fails leaves the store byte for byte as
 *     it was (the failure rule of apply.c and vb-history); one whose
 *     check passes is then applied without an error;
 *   - afterwards the store opens without a warning, vb_store_verify
 *     finds no problem, and every version opens, has its commit's length
 *     and reads whole, its anchors and operations list;
 *   - the head is the version the stats say: the store's (3), plus the
 *     versions applied (a failure keeps those committed before it);
 *   - a stream that applied is applied again without an error, finding
 *     every version present and changing nothing.
 *
 * The custom mutator (LLVMFuzzerCustomMutator) knows the record framing:
 * it mutates a record's uncompressed payload, drops, repeats or swaps
 * whole records or mutates the raw bytes, then (most of the time) puts the
 * sums right (version numbers, COMMIT counts, lengths and CRC of the
 * inserted bytes, END count) and recompresses and re-checksums every
 * record, so that mutations reach the applier instead of stopping at a
 * bad checksum or a stream zlib cannot inflate.  VB_FUZZ_NO_FIX=1 turns
 * the repairs off (to measure what they bring).
 *
 * VB_FUZZ_DEBUG=1 prints what applying each input gave.
 * VB_FUZZ_EXPORT_STORE=DIR writes the startup store and its base to
 * DIR/s.vb and DIR/base and exits (make-export-corpus.sh uses it).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "export.h"
#include "store.h"
#include "vbuf.h"

#define FUZZ_NAME "fuzz-export"
#define FUZZ_RANDOM_FIRST 0x3c
#define FUZZ_RANDOM_STEP 11
#include "fuzz-env.h"
#include "le.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned seed);


#define STORE_HEAD 3u

static int debug, no_fix;
static char dir[256], store_path[300], base_path[300];
static unsigned char *pristine; /* the startup store's bytes */
static size_t pristine_len;

/* The whole file at `path` (malloc'd) and its length. */
static unsigned char *slurp(const char *path, size_t *n)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0 && fstat(fd, &st) == 0);
	unsigned char *p = malloc((size_t)st.st_size + 1);
	CHECK(p);
	CHECK(read(fd, p, (size_t)st.st_size) == (ssize_t)st.st_size);
	close(fd);
	*n = (size_t)st.st_size;
	return p;
}

static void make_base(const char *path)
{
	char text[8192];
	size_t n = 0;
	struct timespec t[2] = {{1700000000, 0}, {1700000000, 0}};

	for (int i = 1; i <= 700; i++)
		n += (size_t)snprintf(text + n, sizeof text - n, "%d\n", i);
	fuzz_write_file(path, text, n);
	CHECK(utimensat(AT_FDCWD, path, t, 0) == 0);
}

static void make_store(void)
{
	struct vb_vbuf_opts o;
	struct vb_vbuf *b;
	uint64_t v;

	vb_vbuf_opts_init(&o);
	o.write = 1;
	o.create = 1;
	o.base = base_path;
	o.no_sync = 1;
	fuzz_fixed_env = 1;
	CHECK(vb_vbuf_open(store_path, &o, VB_HEAD, &b) == VB_OK);
	CHECK(vb_vbuf_insert(b, 10, "hello, ", 7) == VB_OK);
	CHECK(vb_vbuf_set_anchor(b, "mark", 200) == VB_OK);
	CHECK(vb_vbuf_commit(b, "first", &v) == VB_OK && v == 1);
	vb_vbuf_close(b);
	o.create = 0;
	o.base = NULL;
	CHECK(vb_vbuf_open(store_path, &o, VB_HEAD, &b) == VB_OK);
	CHECK(vb_vbuf_delete(b, 100, 50) == VB_OK);
	CHECK(vb_vbuf_replace(b, 0, 3, "abcdef", 6) == VB_OK);
	CHECK(vb_vbuf_set_anchor(b, "two", 3) == VB_OK);
	CHECK(vb_vbuf_commit(b, NULL, &v) == VB_OK && v == 2);
	CHECK(vb_vbuf_revert(b, 1) == VB_OK);
	CHECK(vb_vbuf_commit(b, "revert", &v) == VB_OK && v == STORE_HEAD);
	vb_vbuf_close(b);
	fuzz_fixed_env = 0;
	pristine = slurp(store_path, &pristine_len);
}

static void cleanup(void)
{
	unlink(store_path);
	unlink(base_path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR"), *dump = getenv("VB_FUZZ_EXPORT_STORE");
	struct stat st;

	(void)argc;
	(void)argv;
	debug = getenv("VB_FUZZ_DEBUG") && *getenv("VB_FUZZ_DEBUG");
	no_fix = getenv("VB_FUZZ_NO_FIX") && *getenv("VB_FUZZ_NO_FIX");
	if (!tmp || !*tmp)
		tmp = !stat("/dev/shm", &st) && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
	snprintf(dir, sizeof dir, "%s/vb-fuzz-export.XXXXXX", tmp);
	CHECK(mkdtemp(dir));
	snprintf(store_path, sizeof store_path, "%s/s.vb", dir);
	snprintf(base_path, sizeof base_path, "%s/base", dir);
	make_base(base_path);
	make_store();
	atexit(cleanup);
	if (dump && *dump) {
		char p[4200];
		snprintf(p, sizeof p, "%s/s.vb", dump);
		fuzz_write_file(p, pristine, pristine_len);
		snprintf(p, sizeof p, "%s/base", dump);
		make_base(p);
		exit(0);
	}
	if (debug)
		fprintf(stderr, "fuzz-export: the startup store: %zu bytes, CRC-32 %08lx\n",
			pristine_len, crc32(0, pristine, (unsigned)pristine_len));
	return 0;
}

/* ------------------------------------------------------------ applying */

struct src {
	const uint8_t *p;
	size_t n, pos, chunk;
};

static enum vb_err read_src(void *arg, void *buf, size_t n, size_t *got)
{
	struct src *s = arg;
	size_t k = s->n - s->pos;

	if (k > n)
		k = n;
	if (k > s->chunk)
		k = s->chunk;
	memcpy(buf, s->p + s->pos, k);
	s->pos += k;
	*got = k;
	return VB_OK;
}

static void on_report(void *arg, uint64_t off, const char *what)
{
	if (debug)
		fprintf(stderr, "fuzz-export: verify: %llu: %s\n", (unsigned long long)off, what);
	++*(uint64_t *)arg;
}

static void on_note(void *arg, const char *what)
{
	(void)arg;
	if (debug)
		fprintf(stderr, "fuzz-export: verify note: %s\n", what);
}

static enum vb_err on_op(void *arg, const struct vb_op *op)
{
	(void)op;
	(*(uint64_t *)arg)++;
	return VB_OK;
}

static enum vb_err on_anchor(void *arg, const char *name, uint64_t offset, uint64_t set_in)
{
	(void)set_in;
	CHECK(strlen(name) < 64);
	CHECK(offset <= *(uint64_t *)arg);
	return VB_OK;
}

static unsigned char chunk_buf[65536];

/* The store afterwards: opens cleanly, verifies, every version reads. */
static void check_store(uint64_t want_head)
{
	struct vb_vbuf_opts o;
	struct vb_vbuf *b, *old;
	struct vb_verify_stats vs;
	uint64_t problems = 0;

	vb_vbuf_opts_init(&o);
	vb_vbuf_opts_cache(&o, VB_CACHE_MIN);
	enum vb_err rc = vb_vbuf_open(store_path, &o, VB_HEAD, &b);
	if (rc)
		fprintf(stderr, "fuzz-export: reopening: %s: %s\n", vb_strerror(rc), vb_err_detail());
	CHECK(rc == VB_OK);
	CHECK(vb_vbuf_nwarnings(b) == 0);
	CHECK(vb_vbuf_head(b) == want_head);
	CHECK(vb_vbuf_verify(b, on_report, on_note, &problems, &vs) == VB_OK);
	CHECK(problems == 0);
	for (uint64_t v = 0; v <= want_head; v++) {
		struct vb_commit c;
		uint64_t n = 0;
		CHECK(vb_vbuf_info(b, v, &c) == VB_OK && c.version == v);
		CHECK(vb_vbuf_ops(b, v, on_op, &n) == VB_OK);
		CHECK(vb_vbuf_anchors(b, v, on_anchor, &c.length) == VB_OK);
		CHECK(vb_vbuf_open(store_path, &o, v, &old) == VB_OK);
		CHECK(vb_vbuf_len(old) == c.length);
		for (uint64_t off = 0; off < c.length;) {
			size_t k = c.length - off < sizeof chunk_buf ? (size_t)(c.length - off)
								     : sizeof chunk_buf;
			CHECK(vb_vbuf_read(old, off, chunk_buf, k) == VB_OK);
			off += k;
		}
		vb_vbuf_close(old);
	}
	vb_vbuf_close(b);
}

static struct vb_vbuf *open_writer(void)
{
	struct vb_vbuf_opts o;
	struct vb_vbuf *b;

	vb_vbuf_opts_init(&o);
	o.write = 1;
	o.no_sync = 1;
	o.wait = 0;
	vb_vbuf_opts_cache(&o, VB_CACHE_MIN);
	enum vb_err rc = vb_vbuf_open(store_path, &o, VB_HEAD, &b);
	if (rc)
		fprintf(stderr, "fuzz-export: opening the writer: %s: %s\n", vb_strerror(rc),
			vb_err_detail());
	CHECK(rc == VB_OK);
	return b;
}

static int same_as_file(const unsigned char *p, size_t n)
{
	size_t m;
	unsigned char *now = slurp(store_path, &m);
	int same = m == n && !memcmp(now, p, n);
	free(now);
	return same;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vb_apply_stats st;
	struct src s;
	enum vb_err rc;
	int file, check_failed = 0;
	uint64_t committed;

	if (!size || size > (4u << 20))
		return 0;
	file = data[0] & 1;
	s.p = data + 1;
	s.n = size - 1;
	s.pos = 0;
	s.chunk = file ? SIZE_MAX : 1 + 97 * (size_t)(data[0] >> 2);
	fuzz_write_file(store_path, pristine, pristine_len);

	struct vb_vbuf *b = open_writer();
	struct vb_apply_opts ao = {read_src, &s, file, file || (data[0] & 2), "s.vb"};
	memset(&st, 0, sizeof st);
	if (file) {
		rc = vb_apply_stream(b, &ao, &st);
		if (rc) {
			check_failed = 1;
		} else {
			s.pos = 0;
			ao.check_only = 0;
		}
	}
	if (!check_failed) {
		rc = vb_apply_stream(b, &ao, &st);
		if (rc && file)
			fprintf(stderr, "fuzz-export: the check passed, applying failed: %s: %s\n",
				vb_strerror(rc), vb_err_detail());
		CHECK(!rc || !file);
	}
	if (debug)
		fprintf(stderr, "fuzz-export: %s%s: %s%s%s (applied %llu, present %llu)\n",
			file ? "file" : "stream", check_failed ? " (check)" : "", vb_strerror(rc),
			rc ? ": " : "", rc ? vb_err_detail() : "", (unsigned long long)st.applied,
			(unsigned long long)st.present);
	CHECK(st.applied <= 1u << 20);
	committed = st.applied;
	if (!rc && st.pending) {
		uint64_t v;
		CHECK(vb_vbuf_commit(b, st.message, &v) == VB_OK);
		CHECK(v == st.newest);
	} else if (rc || check_failed) {
		/* the version being applied is dropped; those before stay */
		committed = check_failed ? 0 : st.applied;
	}
	vb_vbuf_close(b);
	if (check_failed)
		CHECK(same_as_file(pristine, pristine_len));
	if (!rc)
		CHECK(STORE_HEAD + committed == (st.newest > STORE_HEAD ? st.newest : STORE_HEAD));
	check_store(STORE_HEAD + committed);

	if (!rc && !check_failed) {
		/* again: everything is present, nothing changes */
		size_t n;
		unsigned char *before = slurp(store_path, &n);
		struct vb_apply_stats again;
		b = open_writer();
		s.pos = 0;
		s.chunk = SIZE_MAX;
		ao.check_only = 0;
		ao.leave_last = 0;
		rc = vb_apply_stream(b, &ao, &again);
		if (rc)
			fprintf(stderr, "fuzz-export: applying again: %s: %s\n", vb_strerror(rc),
				vb_err_detail());
		CHECK(rc == VB_OK && again.applied == 0);
		CHECK(again.present == st.newest - st.since);
		vb_vbuf_close(b);
		CHECK(same_as_file(before, n));
		free(before);
	}
	return 0;
}

/* ------------------------------------------------------------- mutator */

/*
 * The stream as records: the 8 magic bytes, then each record whose
 * framing holds (lengths in range, the packed bytes present) with its
 * payload inflated when zlib can (else kept packed, its CRC still
 * rewritten), then whatever could not be framed, kept raw.
 */
#define REC_MAX 256
#define PAY_CAP 65536

enum { T_HEADER = 1, T_VERSION = 2, T_EDIT = 3, T_DATA = 4, T_COMMIT = 5, T_END = 6 };

struct rec {
	unsigned char *p;   /* payload (inflated), or packed bytes if !plain */
	size_t n;
	int plain;
	uint32_t ulen;      /* !plain: the U field as found */
};

struct parsed {
	unsigned char magic[8];
	size_t nmagic;
	struct rec r[REC_MAX];
	size_t n;
	const unsigned char *raw;
	size_t nraw;
};

static void parse(const unsigned char *d, size_t n, struct parsed *ps)
{
	size_t pos;

	memset(ps, 0, sizeof *ps);
	ps->nmagic = n < 8 ? n : 8;
	memcpy(ps->magic, d, ps->nmagic);
	pos = ps->nmagic;
	while (ps->n < REC_MAX && n - pos >= 12) {
		uint32_t c = vb_le_get32(d + pos), u = vb_le_get32(d + pos + 4);
		if (!c || c > n - pos - 12 || !u || u > PAY_CAP)
			break;
		struct rec *r = &ps->r[ps->n];
		r->p = malloc(u > c ? u : c);
		CHECK(r->p);
		uLongf out = u;
		if (uncompress(r->p, &out, d + pos + 12, c) == Z_OK && out == u) {
			r->plain = 1;
			r->n = u;
		} else {
			memcpy(r->p, d + pos + 12, c);
			r->n = c;
			r->ulen = u;
		}
		ps->n++;
		pos += 12 + c;
	}
	ps->raw = d + pos;
	ps->nraw = n - pos;
}

static void free_parsed(struct parsed *ps)
{
	for (size_t i = 0; i < ps->n; i++)
		free(ps->r[i].p);
}

/* Put the sums right: version numbers in sequence, each COMMIT's count,
 * length and CRC of what its version's edits insert, the counts of the
 * header and the END, the length fields inside VERSION and COMMIT. */
static void fix_sums(struct parsed *ps)
{
	uint64_t since = 0, len = 0, versions = 0, edits = 0;
	uint32_t c = 0;
	struct rec *header = NULL;

	for (size_t i = 0; i < ps->n; i++) {
		struct rec *r = &ps->r[i];
		unsigned char *p = r->p;
		if (!r->plain || !r->n)
			continue;
		switch (p[0]) {
		case T_HEADER:
			if (r->n == 49 && !header) {
				header = r;
				since = vb_le_get64(p + 13);
				len = vb_le_get64(p + 25);
			}
			break;
		case T_VERSION:
			if (r->n >= 23 && r->n - 23 <= 4096) {
				vb_le_put64(p + 1, since + ++versions);
				vb_le_put16(p + 21, (unsigned)(r->n - 23));
			}
			edits = 0;
			c = 0;
			break;
		case T_EDIT:
			if (r->n == 25) {
				uint64_t off = vb_le_get64(p + 1), del = vb_le_get64(p + 9), ins = vb_le_get64(p + 17);
				edits++;
				if (off <= len && del <= len - off)
					len = len - del + ins;
			}
			break;
		case T_DATA:
			if (r->n > 1)
				c = (uint32_t)crc32(c, p + 1, (uInt)(r->n - 1));
			break;
		case T_COMMIT:
			if (r->n >= 31) {
				vb_le_put64(p + 1, since + versions);
				vb_le_put64(p + 9, edits);
				vb_le_put64(p + 17, len);
				vb_le_put32(p + 25, c);
				vb_le_put16(p + 29, (unsigned)(r->n - 31 > 0xffff ? 0xffff : r->n - 31));
			}
			break;
		case T_END:
			if (r->n == 9)
				vb_le_put64(p + 1, versions);
			break;
		}
	}
	if (header) {
		vb_le_put64(header->p + 33, versions);
		vb_le_put64(header->p + 41, since + versions);
	}
}

/* Write the records back (packed, checksummed) into out; its length, or
 * 0 if it does not fit max. */
static size_t serialize(const struct parsed *ps, unsigned char *out, size_t max, int level)
{
	size_t pos = ps->nmagic;

	if (pos > max)
		return 0;
	memcpy(out, ps->magic, ps->nmagic);
	for (size_t i = 0; i < ps->n; i++) {
		const struct rec *r = &ps->r[i];
		uLongf c;
		uint32_t u;
		if (pos + 12 > max)
			return 0;
		if (r->plain) {
			c = compressBound((uLong)r->n);
			if (c > max - pos - 12)
				return 0;
			if (compress2(out + pos + 12, &c, r->p, (uLong)r->n, level) != Z_OK)
				return 0;
			u = (uint32_t)r->n;
		} else {
			c = r->n;
			if (c > max - pos - 12)
				return 0;
			memcpy(out + pos + 12, r->p, r->n);
			u = r->ulen;
		}
		vb_le_put32(out + pos, (uint32_t)c);
		vb_le_put32(out + pos + 4, u);
		uint32_t k = (uint32_t)crc32(0, out + pos, 8);
		vb_le_put32(out + pos + 8, (uint32_t)crc32(k, out + pos + 12, (uInt)c));
		pos += 12 + c;
	}
	if (ps->nraw > max - pos)
		return 0;
	memcpy(out + pos, ps->raw, ps->nraw);
	return pos + ps->nraw;
}

/* Rewrite the CRC of every record whose lengths frame it (raw bytes). */
static void fix_crcs(unsigned char *d, size_t n)
{
	size_t pos = n < 8 ? n : 8;

	while (n - pos >= 12) {
		uint32_t c = vb_le_get32(d + pos);
		if (!c || c > n - pos - 12)
			break;
		uint32_t k = (uint32_t)crc32(0, d + pos, 8);
		vb_le_put32(d + pos + 8, (uint32_t)crc32(k, d + pos + 12, c));
		pos += 12 + c;
	}
}

static unsigned char scratch[PAY_CAP + 64];
static unsigned char outbuf[4u << 20];

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned seed)
{
	rng_state = seed * 0x9e3779b97f4a7c15ull + 1;
	if (size < 2 || max_size < 2 || no_fix)
		return LLVMFuzzerMutate(data, size, max_size);
	if (rnd() % 16 == 0)
		data[0] = (uint8_t)rnd();
	unsigned what = (unsigned)(rnd() % 8);
	if (what < 2) {
		/* the raw bytes, then (mostly) their checksums */
		size = LLVMFuzzerMutate(data, size, max_size);
		if (size > 1 && rnd() % 8)
			fix_crcs(data + 1, size - 1);
		return size;
	}
	struct parsed ps;
	parse(data + 1, size - 1, &ps);
	if (!ps.n) {
		free_parsed(&ps);
		return LLVMFuzzerMutate(data, size, max_size);
	}
	struct rec *r = &ps.r[rnd() % ps.n];
	if (what < 6 && r->plain) {
		/* one record's payload */
		size_t cap = r->n * 2 + 64 < PAY_CAP ? r->n * 2 + 64 : PAY_CAP;
		memcpy(scratch, r->p, r->n);
		size_t m = LLVMFuzzerMutate(scratch, r->n, cap);
		unsigned char *np = malloc(m ? m : 1);
		CHECK(np);
		memcpy(np, scratch, m);
		free(r->p);
		r->p = np;
		r->n = m;
		if (!m) {
			ps.n--;
			free(r->p);
			memmove(r, r + 1, (size_t)(ps.r + ps.n - r) * sizeof *r);
		}
	} else {
		/* whole records: drop one, repeat one, swap two */
		size_t i = (size_t)(r - ps.r);
		switch (rnd() % 3) {
		case 0:
			free(r->p);
			ps.n--;
			memmove(r, r + 1, (size_t)(ps.n - i) * sizeof *r);
			break;
		case 1:
			if (ps.n < REC_MAX) {
				memmove(r + 1, r, (size_t)(ps.n - i) * sizeof *r);
				ps.n++;
				r[1].p = malloc(r->n ? r->n : 1);
				CHECK(r[1].p);
				memcpy(r[1].p, r->p, r->n);
			}
			break;
		default:
			if (i + 1 < ps.n) {
				struct rec t = r[0];
				r[0] = r[1];
				r[1] = t;
			}
			break;
		}
	}
	if (rnd() % 4)
		fix_sums(&ps);
	size_t max = max_size - 1 < sizeof outbuf ? max_size - 1 : sizeof outbuf;
	size_t m = serialize(&ps, outbuf, max, rnd() % 4 ? 1 : 6);
	free_parsed(&ps);
	if (!m)
		return LLVMFuzzerMutate(data, size, max_size);
	memcpy(data + 1, outbuf, m);
	return m + 1;
}
