/*
 * test-storefile: the store file's API (lib/store.h) on its own, without
 * the piece tree or vbuf.  The nodes here are bytes the test makes up: a
 * "fake tree" whose root node lists the version's pieces (the store frames
 * nodes and never looks inside them), so each promise of store.h is
 * checked against the store alone.
 *   - create: a new store is invisible until its second commit; version 0
 *     is one CREATE; a reopened store (reader, writer) shows the head, its
 *     root, the nodes byte for byte, with or without a base file
 *   - data: appends across data blocks give contiguous pieces; any
 *     sub-range reads back (vb_store_read) and streams (vb_store_send);
 *     base pieces come from the base file; copies (vb_store_append_piece)
 *   - history: every version found (skip links), parents, operations with
 *     10-byte varints and an operations record of two blocks, messages,
 *     extensions and the store state, summaries
 *   - errors: missing, not a store, locked, readers that write, limits, a
 *     failing tree leaves the file byte-identical, rollback
 *   - verify: a good store passes (record and version counts), one flipped
 *     byte in a data block is reported at that block's offset
 *   - embed: the base copied into the store, then not needed any more
 *   - copies in batches (vb_store_append_counted): pieces of the base of
 *     every size and alignment, between bytes from memory and from the
 *     session's own record, give blocks byte for byte what a block
 *     written alone holds (payload, length, footer, a CRC-32 computed
 *     here with zlib), the line counts of the bytes copied, a store that
 *     verifies; a base shorter than recorded, found in the middle of a
 *     batch, is an error that leaves the file as it was after rollback
 *   - rewrite: whole blocks copied to a new file, commits written there,
 *     published; an abandoned rewrite leaves nothing behind
 *   - the crash hook: the order of appends and syncs; a commit record cut
 *     short, and a commit whose records did not all reach the disk, both
 *     open to the version before
 */
#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "check.h"
#include "files.h"
#include "le.h"
#include "rnd.h"
#include "store.h"

#define B VB_STORE_BLOCK
/* The format (store.c): a record is its 4-byte length, its payload and a
 * 32-byte footer, so block k of a data record starts at rec + k * STRIDE;
 * the store's state entry closes every commit's extensions. */
#define OVERHEAD 36u
#define STRIDE ((uint64_t)VB_STORE_BLOCK + OVERHEAD)
#define STATE_ENTRY 27u

/* ------------------------------------------------------------- helpers */

static char *keep(const char *p)
{
	char *c = strdup(p);
	REQUIRE(c);
	return c;
}

static struct vb_store_opts opts(int write)
{
	struct vb_store_opts o;

	vb_store_opts_init(&o);
	o.write = write;
	o.no_sync = 1;
	return o;
}

static struct vb_store *open_store(const char *path, int write)
{
	struct vb_store_opts o = opts(write);
	struct vb_store *s;

	REQUIRE_OK(vb_store_open(path, &o, &s));
	return s;
}

static int exists(const char *p)
{
	return access(p, F_OK) == 0;
}

static uint64_t file_size(const char *p)
{
	struct stat st;

	REQUIRE(stat(p, &st) == 0);
	return (uint64_t)st.st_size;
}

static unsigned char *slurp(const char *p, size_t *n)
{
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	struct stat st;
	size_t got;

	REQUIRE(fd >= 0 && fstat(fd, &st) == 0);
	unsigned char *b = malloc((size_t)st.st_size + 1);
	REQUIRE(b);
	REQUIRE(vb_io_pread_full(fd, b, (size_t)st.st_size, 0, &got) == VB_OK &&
		got == (size_t)st.st_size);
	close(fd);
	*n = got;
	return b;
}

/* Is the file at p exactly these n bytes? */
static int same_file(const char *p, const unsigned char *b, size_t n)
{
	size_t m;
	unsigned char *c = slurp(p, &m);
	int same = m == n && !memcmp(b, c, n);

	free(c);
	return same;
}

static void copy_to(const char *from, const char *to)
{
	size_t n;
	unsigned char *b = slurp(from, &n);

	write_file(to, b, n);
	free(b);
}

static void flip(const char *p, uint64_t off)
{
	int fd = open(p, O_RDWR | O_CLOEXEC);
	unsigned char c;

	REQUIRE(fd >= 0 && pread(fd, &c, 1, (off_t)off) == 1);
	c ^= 0x20;
	REQUIRE(pwrite(fd, &c, 1, (off_t)off) == 1);
	close(fd);
}

/* How many files named ".NAME.*" (a store's temporary files) tmp_dir holds. */
static int temps(const char *name)
{
	DIR *d = opendir(tmp_dir);
	struct dirent *e;
	size_t nl = strlen(name);
	int n = 0;

	REQUIRE(d);
	while ((e = readdir(d)))
		if (e->d_name[0] == '.' && !strncmp(e->d_name + 1, name, nl) &&
		    e->d_name[nl + 1] == '.')
			n++;
	closedir(d);
	return n;
}

/* Remove tmp_dir and the files in it (it has no subdirectories). */
static void tmp_dir_remove(void)
{
	DIR *d = opendir(tmp_dir);
	struct dirent *e;

	REQUIRE(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			CHECK(unlinkat(dirfd(d), e->d_name, 0) == 0);
	closedir(d);
	CHECK(rmdir(tmp_dir) == 0);
}

/* Deterministic node bytes of `len` for tag `tag`. */
static void fill(unsigned char *b, size_t len, unsigned tag)
{
	for (size_t i = 0; i < len; i++)
		b[i] = (unsigned char)(i * 131 + tag * 7 + (i >> 8));
}

/* ----------------------------------------------------------- fake tree */

/*
 * The root node of a version: an 8-byte count n, then n pieces of 32
 * bytes (src, rec, start, len).  write_tree may first append extra nodes
 * of given sizes (filled by fill()), which nothing refers to.
 */
struct tree {
	struct vb_store *s;
	const struct vb_piece *p;
	size_t n;
	const size_t *extra;
	size_t nextra;
	uint64_t extra_off[16];
	int fail;               /* write the nodes, then fail */
	int forced;             /* name the root with `force` instead (off 1: the root) */
	struct vb_store_root force;
	uint64_t root_off;      /* where the root node went */
	uint64_t nodes;         /* nodes appended */
	uint64_t calls;
};

static unsigned char nodebuf[VB_STORE_NODE_MAX + 1];

static void tree_init(struct tree *t, struct vb_store *s, const struct vb_piece *p, size_t n)
{
	memset(t, 0, sizeof *t);
	t->s = s;
	t->p = p;
	t->n = n;
}

static size_t encode(const struct vb_piece *p, size_t n, unsigned char *buf)
{
	REQUIRE(8 + 32 * n <= VB_STORE_NODE_MAX);
	vb_le_put64(buf, n);
	for (size_t i = 0; i < n; i++) {
		unsigned char *q = buf + 8 + 32 * i;
		vb_le_put64(q, p[i].src);
		vb_le_put64(q + 8, p[i].rec);
		vb_le_put64(q + 16, p[i].start);
		vb_le_put64(q + 24, p[i].len);
	}
	return 8 + 32 * n;
}

static uint64_t total_len(const struct vb_piece *p, size_t n)
{
	uint64_t t = 0;

	for (size_t i = 0; i < n; i++)
		t += p[i].len;
	return t;
}

static enum vb_err write_tree(void *arg, struct vb_store_root *root)
{
	struct tree *t = arg;
	enum vb_err rc;
	uint64_t bytes = total_len(t->p, t->n);

	t->calls++;
	for (size_t i = 0; i < t->nextra; i++) {
		fill(nodebuf, t->extra[i], (unsigned)i);
		t->extra_off[i] = vb_store_tell(t->s);
		if ((rc = vb_store_node_write(t->s, nodebuf, t->extra[i])))
			return rc;
		t->nodes++;
	}
	size_t len = encode(t->p, t->n, nodebuf);
	t->root_off = vb_store_tell(t->s);
	if ((rc = vb_store_node_write(t->s, nodebuf, len)))
		return rc;
	t->nodes++;
	if (t->fail)
		return vb_err_set(VB_EIO, "the tree fails on purpose");
	if (t->forced) {
		*root = t->force;
		if (root->off == 1)
			root->off = t->root_off;
		return VB_OK;
	}
	/* empty content has no root */
	*root = bytes ? (struct vb_store_root){t->root_off, bytes, t->n}
		      : (struct vb_store_root){0, 0, 0};
	return VB_OK;
}

static uint64_t commit_tree(struct vb_store *s, struct tree *t, const struct vb_op *ops,
			    size_t nops, const char *msg)
{
	uint64_t v = UINT64_MAX;

	REQUIRE_OK(vb_store_commit(s, write_tree, t, 0, ops, nops, msg, NULL, 0, &v));
	return v;
}

/* A tree that names a root beyond the end of the file. */
static enum vb_err bad_root_tree(void *arg, struct vb_store_root *root)
{
	struct tree *t = arg;

	t->calls++;
	*root = (struct vb_store_root){vb_store_tell(t->s) + 1000, 1, 1};
	return VB_OK;
}

/* Commit the pieces p[0..n) as the next version with one INSERT. */
static uint64_t commit_pieces(struct vb_store *s, const struct vb_piece *p, size_t n)
{
	struct tree t;
	struct vb_op op = {VB_OP_INSERT, 0, total_len(p, n), 0};

	tree_init(&t, s, p, n);
	return commit_tree(s, &t, &op, 1, "edit");
}

/* The pieces of commit c, from its root node; returns how many. */
static size_t decode_root(struct vb_store *s, const struct vb_commit *c, struct vb_piece *p,
			  size_t cap)
{
	static unsigned char buf[VB_STORE_NODE_MAX];
	size_t len;

	if (!c->root_off)
		return 0;
	REQUIRE_OK(vb_store_node_read(s, c->root_off, buf, sizeof buf, &len));
	uint64_t n = vb_le_get64(buf);
	REQUIRE(len == 8 + 32 * n && n <= cap);
	for (size_t i = 0; i < n; i++) {
		const unsigned char *q = buf + 8 + 32 * i;
		p[i] = (struct vb_piece){vb_le_get64(q), vb_le_get64(q + 8), vb_le_get64(q + 16),
					 vb_le_get64(q + 24), {0, 0, 0, 0, 0, 0}};
	}
	return (size_t)n;
}

/* The content of commit c (c->length bytes) into out, piece by piece. */
static void read_version(struct vb_store *s, const struct vb_commit *c, unsigned char *out)
{
	static struct vb_piece p[2048];
	size_t n = decode_root(s, c, p, 2048);
	uint64_t at = 0;

	CHECK_EQ_U64(n, c->pieces);
	for (size_t i = 0; i < n; i++) {
		REQUIRE(at + p[i].len <= c->length);
		CHECK_OK(vb_store_read(s, &p[i], 0, out + at, (size_t)p[i].len));
		at += p[i].len;
	}
	CHECK_EQ_U64(at, c->length);
}

/* A new store at p (no base) with version 0, still the creator's. */
static struct vb_store *create_v0(const char *p)
{
	struct vb_store_opts o = opts(1);
	struct vb_store *s;
	struct tree t;
	struct vb_op op = {VB_OP_CREATE, 0, 0, 0};
	uint64_t v = 1;

	o.create = 1;
	REQUIRE_OK(vb_store_open(p, &o, &s));
	tree_init(&t, s, NULL, 0);
	REQUIRE_OK(vb_store_commit(s, write_tree, &t, VB_COMMIT_NO_BASE, &op, 1, "", NULL, 0, &v));
	REQUIRE(v == 0);
	return s;
}

/* A new store at p over a base file bp of the bn bytes at base, its
 * version 0 their one piece, open for writing. */
static struct vb_store *create_over(const char *p, const char *bp, const unsigned char *base,
				    size_t bn)
{
	struct vb_store_opts o = opts(1);
	struct vb_store *s;
	struct tree t;
	struct vb_piece bpc = {VB_SRC_BASE, 0, 0, bn, {0, 0, 0, 0, 0, 0}};
	struct vb_op op = {VB_OP_CREATE, 0, bn, 0};

	write_file(bp, base, bn);
	o.create = 1;
	o.base = bp;
	REQUIRE_OK(vb_store_open(p, &o, &s));
	tree_init(&t, s, &bpc, 1);
	CHECK_EQ_U64(commit_tree(s, &t, &op, 1, ""), 0);
	return s;
}

/* ------------------------------------------------------ verify helpers */

struct report {
	int problems, notes;
	uint64_t off[64];
};

static void on_problem(void *arg, uint64_t off, const char *what)
{
	struct report *r = arg;

	if (getenv("VB_TEST_VERBOSE"))
		fprintf(stderr, "problem at %llu: %s\n", (unsigned long long)off, what);
	if (r->problems < 64)
		r->off[r->problems] = off;
	r->problems++;
}

static void on_note(void *arg, const char *what)
{
	struct report *r = arg;

	(void)what;
	r->notes++;
}

static int reported_at(const struct report *r, uint64_t off)
{
	for (int i = 0; i < r->problems && i < 64; i++)
		if (r->off[i] == off)
			return 1;
	return 0;
}

/* The fake tree's walker: reads the root node and hands over its pieces;
 * `bad_version` (if not UINT64_MAX) is reported damaged. */
struct walker {
	struct vb_store *s;
	uint64_t calls;
	uint64_t bad_version;
	struct vb_piece extra;  /* len > 0: handed over too, for every version */
};

static enum vb_err walk(void *ctx, const struct vb_commit *c,
			enum vb_err (*piece)(void *parg, const struct vb_piece *p), void *parg)
{
	static struct vb_piece p[2048];
	struct walker *w = ctx;
	enum vb_err rc;

	w->calls++;
	if (c->version == w->bad_version)
		return vb_err_set(VB_ECORRUPT, "the walker says so");
	size_t n = decode_root(w->s, c, p, 2048);
	if (n != c->pieces || total_len(p, n) != c->length)
		return vb_err_set(VB_ECORRUPT, "root does not match the commit");
	for (size_t i = 0; i < n; i++)
		if ((rc = piece(parg, &p[i])))
			return rc;
	if (w->extra.len && (rc = piece(parg, &w->extra)))
		return rc;
	return VB_OK;
}

/* verify's progress: the last figures it gave, and how many times. */
struct vprogress {
	uint64_t done, total, calls;
};

static void on_progress(void *arg, uint64_t done, uint64_t total)
{
	struct vprogress *p = arg;

	p->done = done;
	p->total = total;
	p->calls++;
}

static struct vprogress last_progress;

static enum vb_err verify(struct vb_store *s, struct walker *w, struct report *r,
			  struct vb_verify_stats *st)
{
	struct vb_verify_tree vt = {walk, w};

	memset(r, 0, sizeof *r);
	memset(&last_progress, 0, sizeof last_progress);
	if (w)
		w->s = s;
	return vb_store_verify(s, w ? &vt : NULL, on_problem, on_note, r, on_progress,
			       &last_progress, st);
}

/* -------------------------------------------------------------- create */

static void test_create(void)
{
	static const size_t extra[] = {0, 1, 4059, 4060, 4061, 4096, 65000, VB_STORE_NODE_MAX};
	const size_t nextra = sizeof extra / sizeof extra[0];
	char *p = keep(tmp_path("new.vb"));
	struct vb_store_opts o = opts(1), o2 = opts(1), ro = opts(0);
	struct vb_store *s, *s2 = NULL, *r = NULL;
	struct vb_op create = {VB_OP_CREATE, 0, 0, 0}, bad = {VB_OP_INSERT, 0, 1, 0};
	struct vb_piece pc;
	struct tree t;
	uint64_t v, id, start;

	o.create = 1;
	o2.create = 1;
	o2.wait = 0;

	/* a version 0 that is not one CREATE is refused, and nothing stays */
	REQUIRE_OK(vb_store_open(p, &o, &s));
	tree_init(&t, s, NULL, 0);
	CHECK(vb_store_commit(s, write_tree, &t, 0, &bad, 1, "", NULL, 0, &v) == VB_EINVAL);
	vb_store_close(s);
	REQUIRE_OK(vb_store_open(p, &o, &s));
	tree_init(&t, s, NULL, 0);
	CHECK(vb_store_commit(s, write_tree, &t, 0, NULL, 0, "", NULL, 0, &v) == VB_EINVAL);
	vb_store_close(s);
	CHECK(!exists(p));
	CHECK(temps("new.vb") == 0);
	/* nor does a creator whose second commit fails */
	s = create_v0(p);
	REQUIRE_OK(vb_store_append(s, "lost", 4, &pc));
	tree_init(&t, s, &pc, 1);
	t.fail = 1;
	CHECK(vb_store_commit(s, write_tree, &t, 0, &bad, 1, "", NULL, 0, &v) == VB_EIO);
	CHECK(vb_store_is_new(s));
	vb_store_close(s);
	CHECK(!exists(p));
	CHECK(temps("new.vb") == 0);

	/* a creator: nothing at the path, a header and no version */
	REQUIRE_OK(vb_store_open(p, &o, &s));
	CHECK(vb_store_is_new(s));
	CHECK(!exists(p));
	CHECK(!vb_store_has_base(s));
	CHECK_EQ_U64(vb_store_base_size(s), 0);
	CHECK(!vb_store_embedded(s));
	start = vb_store_records_start(s);
	CHECK_EQ_U64(start, 108); /* the header without a base */
	CHECK_EQ_U64(vb_store_tell(s), start);
	id = vb_store_id(s);
	CHECK(id != 0);
	/* meanwhile another creator waits (the directory's lock) and a
	 * reader finds no store */
	CHECK(vb_store_open(p, &o2, &s2) == VB_ELOCKED);
	CHECK(vb_store_open(p, &ro, &r) == VB_ENOENT);

	/* version 0: one CREATE of nothing; the tree may still write nodes */
	tree_init(&t, s, NULL, 0);
	REQUIRE_OK(vb_store_commit(s, write_tree, &t, VB_COMMIT_NO_BASE, &create, 1, "", NULL, 0, &v));
	CHECK_EQ_U64(v, 0);
	CHECK_EQ_U64(t.calls, 1);
	CHECK_EQ_U64(vb_store_head(s)->version, 0);
	CHECK_EQ_U64(vb_store_head(s)->nops, 1);
	CHECK(vb_store_head(s)->sum_kind == VB_OP_CREATE);
	CHECK(vb_store_head(s)->flags & VB_COMMIT_NO_BASE);
	CHECK_EQ_U64(vb_store_root_of(vb_store_head(s)).off, 0);
	CHECK(vb_store_is_new(s));
	CHECK(!exists(p));
	CHECK(temps("new.vb") == 0);
	CHECK(vb_store_open(p, &ro, &r) == VB_ENOENT);
	uint64_t v0_off = vb_store_head(s)->off;
	CHECK(v0_off > start);

	/* version 1: data and nodes of sizes around the store's read sizes */
	REQUIRE_OK(vb_store_append(s, "hello, store", 12, &pc));
	CHECK_EQ_U64(pc.rec, vb_store_head(s)->off + vb_store_head(s)->rec_len + OVERHEAD);
	CHECK(pc.src == VB_SRC_DATA && pc.start == 0 && pc.len == 12);
	tree_init(&t, s, &pc, 1);
	t.extra = extra;
	t.nextra = nextra;
	struct vb_op ins = {VB_OP_INSERT, 0, 12, 0};
	CHECK_EQ_U64(commit_tree(s, &t, &ins, 1, "first edit"), 1);
	/* in place now, and an ordinary writer */
	CHECK(exists(p));
	CHECK(!vb_store_is_new(s));
	CHECK(temps("new.vb") == 0);
	CHECK_EQ_U64(vb_store_id(s), id);
	struct vb_store_root rt = vb_store_root_of(vb_store_head(s));
	CHECK(rt.off == t.root_off && rt.bytes == 12 && rt.pieces == 1);
	uint64_t end = vb_store_tell(s);
	CHECK_EQ_U64(file_size(p), end);
	CHECK_EQ_U64(end, vb_store_head(s)->off + vb_store_head(s)->rec_len + OVERHEAD);
	/* the writer that made it still holds the write lock: no second
	 * writer while it may commit again; readers are welcome */
	o2.create = 0;
	CHECK(vb_store_open(p, &o2, &s2) == VB_ELOCKED);
	vb_store_close(s2);
	s2 = NULL;
	REQUIRE_OK(vb_store_open(p, &ro, &r));
	CHECK_EQ_U64(vb_store_head(r)->version, 1);
	vb_store_close(r);
	/* a second commit by the creator */
	REQUIRE_OK(vb_store_append(s, "!", 1, &pc));
	struct vb_piece two[2];
	REQUIRE(decode_root(s, vb_store_head(s), two, 1) == 1);
	two[1] = pc;
	CHECK_EQ_U64(commit_pieces(s, two, 2), 2);
	end = vb_store_tell(s);
	vb_store_close(s);
	CHECK_EQ_U64(file_size(p), end);

	/* reopened, by a reader and by a writer */
	for (int w = 0; w < 2; w++) {
		unsigned char buf[16];
		size_t len;
		struct vb_commit c;
		s = open_store(p, w);
		CHECK(!vb_store_is_new(s));
		CHECK_EQ_U64(vb_store_id(s), id);
		CHECK_EQ_U64(vb_store_records_start(s), start);
		CHECK_EQ_U64(vb_store_tell(s), end);
		CHECK_EQ_U64(vb_store_nwarnings(s), 0);
		CHECK_EQ_U64(vb_store_head(s)->version, 2);
		CHECK_EQ_U64(vb_store_head(s)->length, 13);
		CHECK_EQ_U64(vb_store_head(s)->pieces, 2);
		read_version(s, vb_store_head(s), buf);
		CHECK(!memcmp(buf, "hello, store!", 13));
		REQUIRE_OK(vb_store_commit_at(s, 1, &c));
		rt = vb_store_root_of(&c);
		CHECK(rt.off == t.root_off && rt.bytes == 12 && rt.pieces == 1);
		CHECK(!strcmp(c.message, "first edit"));
		read_version(s, &c, buf);
		CHECK(!memcmp(buf, "hello, store", 12));
		/* every node as written */
		static unsigned char want[VB_STORE_NODE_MAX], got[VB_STORE_NODE_MAX];
		for (size_t i = 0; i < nextra; i++) {
			fill(want, extra[i], (unsigned)i);
			len = 12345;
			CHECK_OK(vb_store_node_read(s, t.extra_off[i], got, sizeof got, &len));
			CHECK_EQ_U64(len, extra[i]);
			CHECK(!memcmp(got, want, extra[i]));
		}
		CHECK(vb_store_node_read(s, t.extra_off[2], got, extra[2] - 1, &len) == VB_ECORRUPT);
		/* a node read elsewhere than at a node fails */
		CHECK(vb_store_node_read(s, c.off, got, sizeof got, &len) == VB_ECORRUPT);
		CHECK(vb_store_node_read(s, t.extra_off[2] + 1, got, sizeof got, &len) == VB_ECORRUPT);
		CHECK(vb_store_node_read(s, end, got, sizeof got, &len) == VB_ECORRUPT);
		CHECK(vb_store_node_read(s, 0, got, sizeof got, &len) == VB_ECORRUPT);
		/* version 0 */
		REQUIRE_OK(vb_store_commit_at(s, 0, &c));
		CHECK_EQ_U64(c.off, v0_off);
		CHECK(c.nops == 1 && c.sum_kind == VB_OP_CREATE && c.root_off == 0 && c.length == 0 &&
		      c.parent_off == 0 && c.skip_off == 0);
		vb_store_close(s);
	}
	CHECK_EQ_U64(file_size(p), end);
	free(p);
}

/* A store over a base file: version 0 is the base. */
static void test_create_base(void)
{
	const size_t bn = 200003;
	char *p = keep(tmp_path("based.vb")), *bp = keep(tmp_path("base1.bin"));
	unsigned char *base = malloc(bn), *buf = malloc(bn + 100);
	struct vb_store_opts o = opts(1);
	struct vb_store *s, *s2;
	struct vb_commit c;
	struct tree t;

	REQUIRE(base && buf);
	rnd_bytes(base, bn);
	write_file(bp, base, bn);
	/* a base only with create */
	o.base = bp;
	CHECK(vb_store_open(p, &o, &s) == VB_EINVAL);
	o.create = 1;
	REQUIRE_OK(vb_store_open(p, &o, &s));
	CHECK(vb_store_has_base(s));
	CHECK_EQ_U64(vb_store_base_size(s), bn);
	CHECK(vb_store_records_start(s) > 108); /* the base's paths and samples */
	CHECK_EQ_U64(vb_store_tell(s), vb_store_records_start(s));

	/* version 0: the base as it is, one piece */
	struct vb_piece bpc = {VB_SRC_BASE, 0, 0, bn, {0, 0, 0, 0, 0, 0}};
	struct vb_op op = {VB_OP_CREATE, 0, bn, 0};
	tree_init(&t, s, &bpc, 1);
	CHECK_EQ_U64(commit_tree(s, &t, &op, 1, ""), 0);
	CHECK(!exists(p));
	struct vb_store_root rt = vb_store_root_of(vb_store_head(s));
	CHECK(rt.off == t.root_off && rt.bytes == bn && rt.pieces == 1);
	CHECK_EQ_U64(vb_store_head(s)->sum_len, bn);
	CHECK(!(vb_store_head(s)->flags & VB_COMMIT_NO_BASE));
	/* base pieces read from the base file, anywhere */
	for (int i = 0; i < 50; i++) {
		uint64_t skip = rnd(bn), n = rnd(bn - skip + 1);
		CHECK_OK(vb_store_read(s, &bpc, skip, buf, (size_t)n));
		CHECK(!memcmp(buf, base + skip, (size_t)n));
	}
	/* a base piece beyond the base file is damage */
	struct vb_piece outside = {VB_SRC_BASE, 0, bn - 5, 10, {0, 0, 0, 0, 0, 0}};
	CHECK(vb_store_read(s, &outside, 0, buf, 10) == VB_ECORRUPT);
	/* a read beyond the piece (inside the base file) is refused, as for
	 * data pieces, and so is a skip so large it would wrap */
	struct vb_piece small = {VB_SRC_BASE, 0, 0, 10, {0, 0, 0, 0, 0, 0}};
	CHECK(vb_store_read(s, &small, 5, buf, 6) == VB_ERANGE);
	CHECK(vb_store_read(s, &small, UINT64_MAX - 2, buf, 4) == VB_ERANGE);
	CHECK_OK(vb_store_read(s, &small, 5, buf, 5));

	/* version 1: ten bytes inserted at 1000 */
	struct vb_piece pcs[3] = {{VB_SRC_BASE, 0, 0, 1000, {0, 0, 0, 0, 0, 0}}, {0, 0, 0, 0, {0, 0, 0, 0, 0, 0}},
				  {VB_SRC_BASE, 0, 1000, bn - 1000, {0, 0, 0, 0, 0, 0}}};
	REQUIRE_OK(vb_store_append(s, "0123456789", 10, &pcs[1]));
	CHECK_EQ_U64(commit_pieces(s, pcs, 3), 1);
	CHECK(exists(p));
	vb_store_close(s);

	/* the store exists now: a base no longer applies */
	CHECK(vb_store_open(p, &o, &s2) == VB_EEXIST);
	o.base = NULL;
	REQUIRE_OK(vb_store_open(p, &o, &s2)); /* create on an existing store opens it */
	CHECK(!vb_store_is_new(s2));
	CHECK_EQ_U64(vb_store_head(s2)->version, 1);
	vb_store_close(s2);

	s = open_store(p, 0);
	CHECK(vb_store_has_base(s));
	CHECK_EQ_U64(vb_store_base_size(s), bn);
	CHECK_OK(vb_store_need_base(s, vb_store_head(s)));
	CHECK_EQ_U64(vb_store_head(s)->length, bn + 10);
	read_version(s, vb_store_head(s), buf);
	CHECK(!memcmp(buf, base, 1000) && !memcmp(buf + 1000, "0123456789", 10) &&
	      !memcmp(buf + 1010, base + 1000, bn - 1000));
	REQUIRE_OK(vb_store_commit_at(s, 0, &c));
	read_version(s, &c, buf);
	CHECK(!memcmp(buf, base, bn));
	vb_store_close(s);
	free(base);
	free(buf);
	free(p);
	free(bp);
}

/* ---------------------------------------------------------------- data */

/* Send n bytes of piece pc from skip into a fresh file; compare with want. */
static void check_send(struct vb_store *s, const struct vb_piece *pc, uint64_t skip, uint64_t n,
		       const unsigned char *want)
{
	const char *sp = tmp_path("sink.out");
	int fd = open(sp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	struct vb_sink k;
	size_t got;
	unsigned char *b = malloc(n + 1);

	REQUIRE(fd >= 0 && b);
	vb_sink_init(&k, fd);
	CHECK_OK(vb_store_send(s, pc, skip, n, &k));
	CHECK_EQ_U64(k.written, n);
	vb_sink_done(&k);
	REQUIRE_OK(vb_io_pread_full(fd, b, n + 1, 0, &got));
	CHECK_EQ_U64(got, n);
	CHECK(!memcmp(b, want, (size_t)n));
	close(fd);
	free(b);
}

/* Sending long runs of data blocks (SEND_BLOCKS at a time, each checked
 * in place): 40 blocks whole and in random ranges, block-aligned or
 * not; a flipped byte in block 20 fails a send that reaches it, naming
 * that block, and not one that stops before it; a piece that claims whole
 * blocks past its record's end is damage. */
static void test_send_bulk(void)
{
	char *p = keep(tmp_path("bulk.vb")), *q = keep(tmp_path("bulk-bad.vb"));
	const size_t dn = 40 * B + 123;
	unsigned char *d = malloc(dn);
	struct vb_store *s = create_v0(p);
	struct vb_piece pc;

	REQUIRE(d);
	rnd_bytes(d, dn);
	REQUIRE_OK(vb_store_append(s, d, dn, &pc));
	CHECK_EQ_U64(commit_pieces(s, &pc, 1), 1);
	vb_store_close(s);
	s = open_store(p, 0);
	check_send(s, &pc, 0, dn, d);
	check_send(s, &pc, B, 33 * B, d + B);
	for (int i = 0; i < 30; i++) {
		uint64_t skip = i % 2 ? rnd(40) * B : rnd(dn), n = rnd(dn - skip + 1);
		check_send(s, &pc, skip, n, d + skip);
	}
	struct vb_piece past = {VB_SRC_DATA, pc.rec, 38 * B, 3 * B, {0, 0, 0, 0, 0, 0}};
	struct vb_sink k;
	int fd = open(tmp_path("sink.out"), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	REQUIRE(fd >= 0);
	vb_sink_init(&k, fd);
	CHECK(vb_store_send(s, &past, 0, past.len, &k) == VB_ECORRUPT);
	vb_store_close(s);

	copy_to(p, q);
	flip(q, pc.rec + 20 * STRIDE + 4 + 777);
	s = open_store(q, 0);
	CHECK(vb_store_send(s, &pc, 0, dn, &k) == VB_ECORRUPT);
	char want[64];
	snprintf(want, sizeof want, "offset %llu", (unsigned long long)(pc.rec + 20 * STRIDE));
	CHECK(strstr(vb_err_detail(), want) != NULL);
	CHECK(vb_store_send(s, &pc, 3 * B, 30 * B, &k) == VB_ECORRUPT);
	vb_sink_done(&k);
	check_send(s, &pc, 0, 20 * B, d);
	check_send(s, &pc, 21 * B, dn - 21 * B, d + 21 * B);
	vb_store_close(s);
	close(fd);
	free(d);
	free(p);
	free(q);
}

static void test_data(void)
{
	/* chunk sizes: one ends exactly at a block's end, one is a whole
	 * block, one crosses two boundaries */
	const size_t chunks[] = {1, 100, B - 101, B, 1, B + 1000, 2 * B + 7, 12345};
	const size_t nchunks = sizeof chunks / sizeof chunks[0];
	const size_t bn = 70001;
	char *p = keep(tmp_path("data.vb")), *bp = keep(tmp_path("base2.bin"));
	size_t total = 0;
	struct vb_store *s;
	struct vb_store_stats st;

	for (size_t i = 0; i < nchunks; i++)
		total += chunks[i];
	unsigned char *d = malloc(total), *buf = malloc(total + bn + 2 * B), *base = malloc(bn);
	REQUIRE(d && buf && base);
	rnd_bytes(d, total);
	rnd_bytes(base, bn);
	s = create_over(p, bp, base, bn);
	struct vb_piece bpc = {VB_SRC_BASE, 0, 0, bn, {0, 0, 0, 0, 0, 0}};

	/* the session's data record: contiguous pieces */
	uint64_t rec = vb_store_tell(s), at = 0;
	for (size_t i = 0; i < nchunks; i++) {
		struct vb_piece pc;
		REQUIRE_OK(vb_store_append(s, d + at, chunks[i], &pc));
		CHECK(pc.src == VB_SRC_DATA);
		CHECK_EQ_U64(pc.rec, rec);
		CHECK_EQ_U64(pc.start, at);
		CHECK_EQ_U64(pc.len, chunks[i]);
		at += chunks[i];
		/* whole blocks are on disk, the rest waits for the next */
		CHECK_EQ_U64(vb_store_tell(s), rec + at / B * STRIDE);
	}
	struct vb_piece all = {VB_SRC_DATA, rec, 0, total, {0, 0, 0, 0, 0, 0}};
	/* readable before the commit, the pending block included */
	for (int i = 0; i < 40; i++) {
		uint64_t skip = rnd(total), n = rnd(total - skip + 1);
		CHECK_OK(vb_store_read(s, &all, skip, buf, (size_t)n));
		CHECK(!memcmp(buf, d + skip, (size_t)n));
	}
	struct vb_piece pcs[2] = {bpc, all};
	CHECK_EQ_U64(commit_pieces(s, pcs, 2), 1);
	uint64_t nblocks = (total + B - 1) / B;
	CHECK_EQ_U64(vb_store_head(s)->ops_off,
		     rec + (nblocks - 1) * STRIDE + OVERHEAD + (total - (nblocks - 1) * B));
	vb_store_close(s);

	s = open_store(p, 0);
	read_version(s, vb_store_head(s), buf);
	CHECK(!memcmp(buf, base, bn) && !memcmp(buf + bn, d, total));
	/* any sub-range, read and sent */
	for (int i = 0; i < 200; i++) {
		uint64_t skip = rnd(total), n = rnd(i % 2 ? total - skip + 1 : 3);
		if (i % 3 == 0) { /* around a block boundary */
			skip = (1 + rnd(nblocks - 1)) * B - rnd(5);
			n = rnd(total - skip < 10 ? total - skip + 1 : 10);
		}
		CHECK_OK(vb_store_read(s, &all, skip, buf, (size_t)n));
		CHECK(!memcmp(buf, d + skip, (size_t)n));
		/* the same range as a piece of its own */
		struct vb_piece sub = {VB_SRC_DATA, rec, skip, n, {0, 0, 0, 0, 0, 0}};
		if (n) {
			CHECK_OK(vb_store_read(s, &sub, 0, buf, (size_t)n));
			CHECK(!memcmp(buf, d + skip, (size_t)n));
		}
		skip = rnd(bn);
		n = rnd(bn - skip + 1);
		CHECK_OK(vb_store_read(s, &bpc, skip, buf, (size_t)n));
		CHECK(!memcmp(buf, base + skip, (size_t)n));
	}
	check_send(s, &all, 0, total, d);
	check_send(s, &all, B - 3, 2 * B + 10, d + B - 3);
	check_send(s, &bpc, 0, bn, base);
	check_send(s, &bpc, 5, 100, base + 5);
	check_send(s, &all, total, 0, d);
	for (int i = 0; i < 60; i++) {
		uint64_t skip = i % 2 ? rnd(nblocks) * B : rnd(total), n = rnd(total - skip + 1);
		check_send(s, &all, skip, n, d + skip);
	}
	/* nothing beyond a piece */
	CHECK(vb_store_read(s, &all, total, buf, 1) == VB_ERANGE);
	CHECK(vb_store_read(s, &all, 1, buf, (size_t)total) == VB_ERANGE);
	CHECK(vb_store_read(s, &all, total + 1, buf, 0) == VB_ERANGE);
	/* a piece beyond its record is damage */
	struct vb_piece past = {VB_SRC_DATA, rec, total, 10, {0, 0, 0, 0, 0, 0}};
	CHECK(vb_store_read(s, &past, 0, buf, 10) == VB_ECORRUPT);
	struct vb_piece nowhere = {VB_SRC_DATA, rec + 1, 0, 10, {0, 0, 0, 0, 0, 0}};
	CHECK(vb_store_read(s, &nowhere, 0, buf, 10) == VB_ECORRUPT);
	/* repeated small reads come from the block cache */
	vb_store_stats(s, &st);
	uint64_t hits = st.block_hits, reads = st.block_reads;
	for (int i = 0; i < 10; i++)
		CHECK_OK(vb_store_read(s, &all, 100, buf, 10));
	vb_store_stats(s, &st);
	CHECK(st.block_hits >= hits + 10);
	CHECK_EQ_U64(st.block_reads, reads);
	CHECK_EQ_U64(st.file_size, file_size(p));
	CHECK_EQ_U64(st.appended, 0);
	vb_store_close(s);

	/* copies: from the base, from a committed record, from the session's
	 * own record (the pending block included) */
	s = open_store(p, 1);
	struct vb_piece c1, c2, c3, own;
	uint64_t rec2 = vb_store_tell(s);
	REQUIRE_OK(vb_store_append(s, d, B + 500, &own));
	CHECK(own.rec == rec2 && own.start == 0);
	REQUIRE_OK(vb_store_append_piece(s, &bpc, 10, bn - 20, &c1));
	CHECK(c1.src == VB_SRC_DATA && c1.rec == rec2 && c1.start == B + 500 && c1.len == bn - 20);
	REQUIRE_OK(vb_store_append_piece(s, &all, 7, total - 7, &c2));
	CHECK(c2.rec == rec2 && c2.start == c1.start + c1.len);
	REQUIRE_OK(vb_store_append_piece(s, &own, 300, B + 200, &c3));
	CHECK(c3.start == c2.start + c2.len);
	CHECK(vb_store_append_piece(s, &own, 300, B + 201, &c3) == VB_ERANGE);
	struct vb_piece cp[3] = {c1, c2, c3};
	CHECK_EQ_U64(commit_pieces(s, cp, 3), 2);
	CHECK_OK(vb_store_read(s, &c1, 0, buf, (size_t)c1.len));
	CHECK(!memcmp(buf, base + 10, (size_t)c1.len));
	vb_store_close(s);
	s = open_store(p, 0);
	read_version(s, vb_store_head(s), buf);
	CHECK(!memcmp(buf, base + 10, bn - 20));
	CHECK(!memcmp(buf + bn - 20, d + 7, total - 7));
	CHECK(!memcmp(buf + bn - 20 + total - 7, d + 300, B + 200));
	vb_store_close(s);
	free(d);
	free(buf);
	free(base);
	free(p);
	free(bp);
}

/* -------------------------------------------------------------- copies */

/* The data record at `rec` of the store file at p holds the n bytes at
 * want in blocks each framed and checksummed as the format says (the
 * CRC-32 computed here, with zlib, over the bytes in the file). */
static void check_blocks(const char *p, uint64_t rec, const unsigned char *want, uint64_t n)
{
	size_t size;
	unsigned char *file = slurp(p, &size);

	for (uint64_t k = 0; k * B < n; k++) {
		uint64_t off = rec + k * STRIDE;
		uint32_t len = n - k * B < B ? (uint32_t)(n - k * B) : B;
		REQUIRE(off + len + OVERHEAD <= size);
		const unsigned char *r = file + off, *f = r + 4 + len;
		CHECK_EQ_U64(vb_le_get32(r), len);
		CHECK(!memcmp(r + 4, want + k * B, len));
		uLong c = crc32(0, r, 4 + len + 12);
		c = crc32(c, f + 16, 16);
		CHECK_EQ_U64(vb_le_get32(f + 12), c);
		CHECK_EQ_U64(vb_le_get32(f), 0x66724256u);
		CHECK(f[4] == 1 && f[5] == 0);
		CHECK_EQ_U64(vb_le_get32(f + 8), len);
		CHECK_EQ_U64(vb_le_get64(f + 16), off);
	}
	free(file);
}

static void test_copies(void)
{
	const size_t bn = 40 * B + 12345;
	char *p = keep(tmp_path("copies.vb")), *bp = keep(tmp_path("copies.bin"));
	struct vb_store *s;
	struct report r;
	struct vb_verify_stats st;
	unsigned char *base = malloc(bn), *want = malloc(4 * bn), *buf = malloc(4 * bn);
	REQUIRE(base && want && buf);
	/* lines of random lengths, some ending in \r\n, some a lone \r */
	rnd_bytes(base, bn);
	for (size_t i = 0; i < bn; i++)
		base[i] = base[i] % 61 == 0 ? '\n' : base[i] % 97 == 0 ? '\r' : base[i];
	s = create_over(p, bp, base, bn);
	struct vb_piece bpc = {VB_SRC_BASE, 0, 0, bn, {0, 0, 0, 0, 0, 0}};

	/* copies that start inside a block and end inside another, one of
	 * more than a batch (16 blocks), single bytes, whole blocks at a
	 * block's start; bytes from memory and from the session's own
	 * record (read back while its blocks wait in the batch) between */
	const struct { uint64_t skip, n; } cuts[] = {
		{3, 100}, {B - 7, 20 * B + 11}, {0, 1}, {bn - 1, 1}, {5 * B, 2 * B},
		{17, 3 * B}, {0, bn}, {12345, 17}};
	struct vb_piece pcs[32];
	size_t npcs = 0;
	uint64_t total = 0, rec = vb_store_tell(s);
	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		struct vb_lines l;
		REQUIRE_OK(vb_store_append_counted(s, &bpc, cuts[i].skip, cuts[i].n, &pcs[npcs], &l));
		CHECK_EQ_U64(pcs[npcs].rec, rec);
		CHECK_EQ_U64(pcs[npcs].start, total);
		memcpy(want + total, base + cuts[i].skip, cuts[i].n);
		struct vb_lines e = vb_lines_scan(base + cuts[i].skip, cuts[i].n);
		CHECK(l.known && l.lf == e.lf && l.cr == e.cr && l.crlf == e.crlf &&
		      l.head_lf == e.head_lf && l.tail_cr == e.tail_cr);
		total += cuts[i].n;
		npcs++;
		if (i == 2) {
			REQUIRE_OK(vb_store_append(s, "memory", 6, &pcs[npcs++]));
			memcpy(want + total, "memory", 6);
			total += 6;
		}
		if (i == 5) {
			/* from the session's own record: 9 blocks back */
			struct vb_piece own = {VB_SRC_DATA, rec, total - 9 * B - 5, 2 * B + 3,
					       {0, 0, 0, 0, 0, 0}};
			REQUIRE_OK(vb_store_append_counted(s, &own, 0, own.len, &pcs[npcs++], NULL));
			memcpy(want + total, want + own.start, own.len);
			total += own.len;
		}
	}
	CHECK_EQ_U64(vb_store_tell(s), rec + total / B * STRIDE);
	CHECK_EQ_U64(commit_pieces(s, pcs, npcs), 1);
	CHECK_OK(verify(s, NULL, &r, &st));
	CHECK(r.problems == 0);
	vb_store_close(s);
	check_blocks(p, rec, want, total);
	s = open_store(p, 0);
	read_version(s, vb_store_head(s), buf);
	CHECK(!memcmp(buf, want, total));
	vb_store_close(s);

	/* the base ends early, in the second batch of a copy: an error
	 * (VB_EBASE), and after rollback the file is as it was */
	size_t n0;
	unsigned char *before = slurp(p, &n0);
	s = open_store(p, 1);
	REQUIRE(truncate(bp, 20 * B + 100) == 0);
	struct vb_piece c;
	REQUIRE_OK(vb_store_append_counted(s, &bpc, 0, 3 * B, &c, NULL));
	CHECK(vb_store_append_counted(s, &bpc, 0, bn, &c, NULL) == VB_EBASE);
	CHECK(strstr(vb_err_detail(), "shorter than recorded") != NULL);
	CHECK(file_size(p) > n0);
	CHECK_OK(vb_store_rollback(s));
	CHECK(same_file(p, before, n0));
	vb_store_close(s);
	CHECK(same_file(p, before, n0));
	free(before);
	free(base);
	free(want);
	free(buf);
	free(p);
	free(bp);
}

/* ------------------------------------------------------------- history */

#define NV 41

struct expect {
	struct vb_op *ops;
	size_t nops;
	char *msg;
	unsigned char ext[VB_EXT_MAX];
	size_t ext_len;
	uint64_t root_off, length, pieces, since, nodes, off, crc;
};

static uint64_t rnd_val(void)
{
	switch (rnd(7)) {
	case 0: return rnd(128);
	case 1: return 126 + rnd(4); /* the 1-byte varint's edge */
	case 2: return UINT64_MAX - rnd(2);
	case 3: return (uint64_t)1 << 63;
	case 4: return ((uint64_t)1 << 63) - 1;
	case 5: return rnd64();
	default: return rnd64() >> rnd(64);
	}
}

struct opcheck {
	const struct expect *e;
	size_t i;
	int bad;
	size_t stop_after;      /* return VB_ECONFLICT after this many (0: never) */
};

static enum vb_err check_op(void *arg, const struct vb_op *op)
{
	struct opcheck *k = arg;

	if (k->i >= k->e->nops) {
		k->bad++;
		return VB_OK;
	}
	const struct vb_op *w = &k->e->ops[k->i++];
	if (op->kind != w->kind || op->off != w->off || op->len != w->len || op->len2 != w->len2)
		k->bad++;
	if (k->stop_after && k->i == k->stop_after)
		return vb_err_set(VB_ECONFLICT, "stop");
	return VB_OK;
}

struct extcheck {
	unsigned char buf[VB_EXT_MAX + 3];
	size_t len;
	int entries;
	unsigned last_type;
	struct vb_store_state st;
};

/* Re-encode each entry the walk sees, to compare with what was given. */
static enum vb_err collect_ext(void *arg, unsigned type, const unsigned char *data, size_t len)
{
	struct extcheck *x = arg;

	REQUIRE(x->len + 3 + len <= sizeof x->buf);
	x->buf[x->len] = (unsigned char)type;
	vb_le_put16(x->buf + x->len + 1, (uint16_t)len);
	memcpy(x->buf + x->len + 3, data, len);
	x->len += 3 + len;
	x->entries++;
	x->last_type = type;
	if (type == VB_EXT_STATE && len == 24) {
		x->st.oldest = vb_le_get64(data);
		x->st.embed_rec = vb_le_get64(data + 8);
		x->st.since_flatten = vb_le_get64(data + 16);
	}
	return VB_OK;
}

static void test_sums(void)
{
	struct vb_commit c;
	const struct vb_op mixed[] = {{VB_OP_INSERT, 5, 3, 0}, {VB_OP_DELETE, 1, 2, 0},
				      {VB_OP_REPLACE, 0, 9, 4}};
	const struct vb_op revert[] = {{VB_OP_REVERT, 0, 77, 12}};
	const struct vb_op del[] = {{VB_OP_DELETE, 8, 2, 0}, {VB_OP_DELETE, 1, 5, 0}};
	const struct vb_op keep_len[] = {{VB_OP_FLATTEN, 0, 100, 100}, {VB_OP_EMBED, 0, 50, 0},
					 {VB_OP_COMPACT, 0, 100, 3}};

	memset(&c, 0, sizeof c);
	vb_commit_sums(&c, mixed, 3);
	CHECK(c.nops == 3 && c.sum_kind == VB_OP_MIXED && c.sum_off == 5 && c.sum_len == 3 + 2 + 4 &&
	      c.sum_target == 0);
	vb_commit_sums(&c, revert, 1);
	CHECK(c.nops == 1 && c.sum_kind == VB_OP_REVERT && c.sum_len == 0 && c.sum_target == 12);
	vb_commit_sums(&c, del, 2);
	CHECK(c.sum_kind == VB_OP_DELETE && c.sum_off == 8 && c.sum_len == 7 && c.sum_target == 0);
	vb_commit_sums(&c, keep_len, 3);
	CHECK(c.sum_kind == VB_OP_MIXED && c.sum_len == 0);
	vb_commit_sums(&c, keep_len, 1);
	CHECK(c.sum_kind == VB_OP_FLATTEN && c.sum_len == 0);
	vb_commit_sums(&c, NULL, 0);
	CHECK(c.nops == 0 && c.sum_kind == VB_OP_NONE && c.sum_off == 0 && c.sum_len == 0);

	CHECK(!strcmp(vb_op_name(VB_OP_INSERT), "insert"));
	CHECK(!strcmp(vb_op_name(VB_OP_CREATE), "create"));
	CHECK(!strcmp(vb_op_name(VB_OP_COMPACT), "compact"));
	CHECK(!strcmp(vb_op_name(VB_OP_MIXED), "mixed"));
	CHECK(!strcmp(vb_op_name(99), "unknown"));

	/* extension buffers: entries in order, the budget kept */
	unsigned char ext[VB_EXT_MAX];
	size_t len = 0;
	struct extcheck x;
	CHECK_OK(vb_ext_add(ext, &len, VB_EXT_AT_VERSION, "12345678", 8));
	CHECK_OK(vb_ext_add(ext, &len, 200, "", 0));
	CHECK_EQ_U64(len, 11 + 3);
	CHECK(ext[0] == VB_EXT_AT_VERSION && vb_le_get16(ext + 1) == 8 && ext[11] == 200);
	static unsigned char big[VB_EXT_MAX];
	size_t room = VB_EXT_MAX - VB_EXT_RESERVED - len - 3;
	CHECK(vb_ext_add(ext, &len, 201, big, room + 1) == VB_ELIMIT);
	CHECK_EQ_U64(len, 14);
	CHECK_OK(vb_ext_add(ext, &len, 201, big, room));
	CHECK_EQ_U64(len, VB_EXT_MAX - VB_EXT_RESERVED);
	CHECK(vb_ext_add(ext, &len, 202, "", 0) == VB_ELIMIT);
	memset(&c, 0, sizeof c);
	memcpy(c.ext, ext, len);
	c.ext_len = len;
	memset(&x, 0, sizeof x);
	CHECK_OK(vb_commit_ext(&c, collect_ext, &x));
	CHECK(x.entries == 3 && x.len == len && !memcmp(x.buf, ext, len));
	/* a malformed list stops the walk */
	c.ext_len = 13;
	memset(&x, 0, sizeof x);
	CHECK(vb_commit_ext(&c, collect_ext, &x) == VB_ECORRUPT);
	c.ext_len = 12;
	memset(&x, 0, sizeof x);
	CHECK(vb_commit_ext(&c, collect_ext, &x) == VB_ECORRUPT);
	CHECK_EQ_U64(x.entries, 1);

	/* options */
	struct vb_store_opts o;
	vb_store_opts_init(&o);
	CHECK(!o.write && !o.create && !o.base && !o.no_sync && o.wait == 60);
	CHECK_EQ_U64(o.block_cache, VB_STORE_BLOCK_CACHE);
}

static void test_history(void)
{
	char *p = keep(tmp_path("hist.vb"));
	static struct expect e[NV];
	static struct vb_piece pcs[NV];
	struct vb_store *s = create_v0(p);
	struct vb_commit c, c2, prev;
	uint64_t since = 0, records, v;

	memset(e, 0, sizeof e);
	e[0].msg = keep("");
	e[0].nops = 1;
	e[0].ops = malloc(sizeof *e[0].ops);
	REQUIRE(e[0].ops);
	e[0].ops[0] = (struct vb_op){VB_OP_CREATE, 0, 0, 0};
	e[0].off = vb_store_head(s)->off;
	e[0].crc = vb_store_head(s)->crc;
	/* version 0: its ops record, one node, the commit */
	records = 3;
	for (uint64_t k = 1; k < NV; k++) {
		struct expect *x = &e[k];
		char text[32];
		int tl = snprintf(text, sizeof text, "version %llu\n", (unsigned long long)k);
		uint64_t before = vb_store_tell(s);
		REQUIRE_OK(vb_store_append(s, text, (size_t)tl, &pcs[k - 1]));
		records++;
		/* operations: a few of every kind and size; version 20 has
		 * enough 31-byte ones for an operations record of two blocks */
		x->nops = k == 20 ? 2500 : (size_t)rnd(6);
		x->ops = malloc((x->nops ? x->nops : 1) * sizeof *x->ops);
		REQUIRE(x->ops);
		for (size_t i = 0; i < x->nops; i++) {
			if (k == 20)
				x->ops[i] = (struct vb_op){(uint8_t)(1 + i % 8), UINT64_MAX - i,
							   ((uint64_t)1 << 63) + i,
							   rnd64() | (uint64_t)1 << 63};
			else
				x->ops[i] = (struct vb_op){(uint8_t)(1 + rnd(8)), rnd_val(), rnd_val(),
							   rnd_val()};
		}
		since = since + 1;
		for (size_t i = 0; i < x->nops; i++)
			if (x->ops[i].kind == VB_OP_FLATTEN)
				since = 0;
		x->since = since;
		/* messages and extensions, the longest ones in version 30 */
		if (k == 30) {
			x->msg = malloc(VB_MESSAGE_MAX + 1);
			REQUIRE(x->msg);
			memset(x->msg, 'm', VB_MESSAGE_MAX);
			x->msg[VB_MESSAGE_MAX] = 0;
			static unsigned char fillb[VB_EXT_MAX];
			fill(fillb, sizeof fillb, 30);
			REQUIRE_OK(vb_ext_add(x->ext, &x->ext_len, 200, fillb,
					      VB_EXT_MAX - VB_EXT_RESERVED - 3));
		} else {
			char m[64];
			snprintf(m, sizeof m, k % 5 ? "commit %llu" : "", (unsigned long long)k);
			x->msg = keep(m);
			unsigned char u[8];
			if (rnd(2)) {
				vb_le_put64(u, k - 1);
				REQUIRE_OK(vb_ext_add(x->ext, &x->ext_len, VB_EXT_AT_VERSION, u, 8));
			}
			if (rnd(2)) {
				unsigned char a[40];
				vb_le_put64(a, rnd(100));
				int nl = snprintf((char *)a + 8, sizeof a - 8, "anchor-%llu",
						  (unsigned long long)k);
				REQUIRE_OK(vb_ext_add(x->ext, &x->ext_len, VB_EXT_ANCHOR, a,
						      8 + (size_t)nl));
			}
			if (rnd(2)) {
				unsigned char r[100];
				size_t rn = (size_t)rnd(sizeof r);
				rnd_bytes(r, rn);
				unsigned type = 150 + (unsigned)rnd(50);
				REQUIRE_OK(vb_ext_add(x->ext, &x->ext_len, type, r, rn));
			}
		}
		struct tree t;
		tree_init(&t, s, pcs, (size_t)k);
		REQUIRE_OK(vb_store_commit(s, write_tree, &t, 0, x->ops, x->nops, x->msg, x->ext,
					   x->ext_len, &v));
		CHECK_EQ_U64(v, k);
		const struct vb_commit *h = vb_store_head(s);
		CHECK_EQ_U64(h->version, k);
		x->root_off = t.root_off;
		x->length = total_len(pcs, (size_t)k);
		x->pieces = k;
		x->off = h->off;
		x->crc = h->crc;
		records += t.nodes + 1 + (h->ops_bytes + B - 1) / B;
		CHECK(h->off > before);
		/* a region of at most 64 KiB is checksummed in the commit */
		if (h->off - before <= 65536)
			CHECK(h->flags & VB_COMMIT_REGION);
		else
			CHECK(!(h->flags & VB_COMMIT_REGION));
		if (k == 20)
			CHECK(h->ops_bytes > B);
	}
	CHECK_EQ_U64(vb_store_since_flatten(s), since);
	/* a reader opened now keeps this head */
	struct vb_store *old = open_store(p, 0);
	/* too long: a message, extensions; flags the caller may not give */
	static char longmsg[VB_MESSAGE_MAX + 2];
	memset(longmsg, 'x', VB_MESSAGE_MAX + 1);
	struct tree t0;
	tree_init(&t0, s, pcs, 1);
	CHECK(vb_store_commit(s, write_tree, &t0, 0, NULL, 0, longmsg, NULL, 0, &v) == VB_EINVAL);
	CHECK(vb_store_commit(s, write_tree, &t0, 0, NULL, 0, "", e[30].ext,
			      VB_EXT_MAX - VB_EXT_RESERVED + 1, &v) == VB_ELIMIT);
	CHECK(vb_store_commit(s, write_tree, &t0, VB_COMMIT_REGION, NULL, 0, "", NULL, 0, &v) ==
	      VB_EINVAL);
	CHECK(vb_store_commit(s, write_tree, &t0, VB_COMMIT_CUT, NULL, 0, "", NULL, 0, &v) ==
	      VB_EINVAL);
	CHECK_EQ_U64(t0.calls, 0);
	uint64_t end = vb_store_tell(s);
	vb_store_close(s);
	CHECK_EQ_U64(file_size(p), end);

	for (int w = 0; w < 2; w++) {
		s = open_store(p, w);
		CHECK_EQ_U64(vb_store_head(s)->version, NV - 1);
		CHECK(vb_store_commit_at(s, NV, &c) == VB_ENOENT);
		CHECK(vb_store_commit_at(s, UINT64_MAX, &c) == VB_ENOENT);
		CHECK_EQ_U64(vb_store_oldest(s), 0);
		CHECK_EQ_U64(vb_store_since_flatten(s), since);
		for (uint64_t k = 0; k < NV; k++) {
			struct expect *x = &e[k];
			REQUIRE_OK(vb_store_commit_at(s, k, &c));
			CHECK_EQ_U64(c.version, k);
			CHECK_EQ_U64(c.off, x->off);
			CHECK_EQ_U64(c.crc, x->crc);
			if (k) {
				struct vb_store_root rt = vb_store_root_of(&c);
				CHECK_EQ_U64(rt.off, x->root_off);
				CHECK_EQ_U64(rt.bytes, x->length);
				CHECK_EQ_U64(rt.pieces, x->pieces);
			}
			CHECK(!strcmp(c.message, x->msg));
			CHECK_EQ_U64(c.msg_len, strlen(x->msg));
			/* operations, one by one */
			struct opcheck oc = {x, 0, 0, 0};
			CHECK_OK(vb_store_ops(s, &c, check_op, &oc));
			CHECK_EQ_U64(oc.i, x->nops);
			CHECK(oc.bad == 0);
			/* summaries */
			struct vb_commit sums;
			memset(&sums, 0, sizeof sums);
			vb_commit_sums(&sums, x->ops, x->nops);
			CHECK(c.nops == sums.nops && c.sum_kind == sums.sum_kind &&
			      c.sum_off == sums.sum_off && c.sum_len == sums.sum_len &&
			      c.sum_target == sums.sum_target);
			/* extensions: the caller's, then the store's state */
			struct extcheck xc;
			memset(&xc, 0, sizeof xc);
			CHECK_OK(vb_commit_ext(&c, collect_ext, &xc));
			CHECK_EQ_U64(c.ext_len, x->ext_len + STATE_ENTRY);
			CHECK(!memcmp(c.ext, x->ext, x->ext_len));
			CHECK(xc.len == c.ext_len && !memcmp(xc.buf, c.ext, c.ext_len));
			CHECK(xc.last_type == VB_EXT_STATE);
			CHECK(xc.st.oldest == 0 && xc.st.embed_rec == 0);
			CHECK_EQ_U64(xc.st.since_flatten, k ? x->since : 0);
			struct vb_store_state cs;
			CHECK_OK(vb_commit_state(&c, &cs));
			CHECK(cs.oldest == xc.st.oldest && cs.embed_rec == xc.st.embed_rec &&
			      cs.since_flatten == xc.st.since_flatten);
			/* links: the parent, the skip */
			if (k) {
				REQUIRE_OK(vb_store_commit_parent(s, &c, &prev));
				CHECK_EQ_U64(prev.version, k - 1);
				CHECK_EQ_U64(prev.off, e[k - 1].off);
				CHECK_EQ_U64(c.parent_off, e[k - 1].off);
				CHECK_EQ_U64(c.parent_crc, e[k - 1].crc);
				CHECK_EQ_U64(c.skip_off, e[k & (k - 1)].off);
				CHECK(c.time_ns >= prev.time_ns);
			} else {
				CHECK(vb_store_commit_parent(s, &c, &prev) == VB_ENOENT);
			}
			CHECK(c.time_ns > 0);
			REQUIRE_OK(vb_store_commit_read(s, c.off, &c2));
			CHECK(c2.version == k && c2.crc == c.crc && c2.root_off == c.root_off);
			/* the content */
			if (k && k % 10 == 0) {
				unsigned char buf[1024];
				read_version(s, &c, buf);
				CHECK(!memcmp(buf, "version 1\nversion 2\n", 20));
			}
		}
		/* a callback's error ends the walk */
		REQUIRE_OK(vb_store_commit_at(s, 20, &c));
		struct opcheck oc = {&e[20], 0, 0, 7};
		CHECK(vb_store_ops(s, &c, check_op, &oc) == VB_ECONFLICT);
		CHECK_EQ_U64(oc.i, 7);
		/* a commit read elsewhere than at a commit */
		CHECK(vb_store_commit_read(s, e[5].root_off, &c2) == VB_ECORRUPT);
		CHECK(vb_store_commit_read(s, e[5].off + 1, &c2) == VB_ECORRUPT);
		/* verify: every record, every version */
		struct report r;
		struct walker wk = {NULL, 0, UINT64_MAX, {0, 0, 0, 0, {0, 0, 0, 0, 0, 0}}};
		struct vb_verify_stats st;
		CHECK_OK(verify(s, &wk, &r, &st));
		CHECK(r.problems == 0 && r.notes == 0);
		CHECK_EQ_U64(st.records, records);
		CHECK_EQ_U64(st.versions, NV);
		CHECK_EQ_U64(st.bytes, end);
		CHECK_EQ_U64(st.nodes, 0);
		CHECK_EQ_U64(wk.calls, NV);
		vb_store_close(s);
	}

	/* the reader opened at the head keeps it while a writer commits */
	s = open_store(p, 1);
	struct vb_piece more;
	REQUIRE_OK(vb_store_append(s, "more", 4, &more));
	CHECK_EQ_U64(commit_pieces(s, &more, 1), NV);
	/* skip of version 41 = 40 = its parent; version 48 would be 32 */
	REQUIRE_OK(vb_store_commit_at(s, NV, &c));
	CHECK_EQ_U64(c.skip_off, e[NV - 1].off);
	CHECK_EQ_U64(vb_store_head(old)->version, NV - 1);
	CHECK(vb_store_commit_at(old, NV, &c) == VB_ENOENT);
	REQUIRE_OK(vb_store_commit_at(old, NV - 1, &c));
	CHECK_EQ_U64(c.off, e[NV - 1].off);
	vb_store_close(s);
	vb_store_close(old);

	for (int k = 0; k < NV; k++) {
		free(e[k].ops);
		free(e[k].msg);
	}
	free(p);
}

/* -------------------------------------------------------------- errors */

static void test_errors(void)
{
	char *p = keep(tmp_path("err.vb"));
	struct vb_store_opts o = opts(0);
	struct vb_store *s, *s2, *r;
	struct vb_piece pc;
	struct tree t;
	uint64_t v;
	const size_t dn = (VB_STORE_BATCH + 2) * (size_t)B;
	unsigned char *d = malloc(dn);

	REQUIRE(d);
	rnd_bytes(d, dn);
	/* nothing there, or not a store */
	CHECK(vb_store_open(tmp_path("missing.vb"), &o, &s) == VB_ENOENT);
	o.create = 1; /* create without write opens nothing */
	CHECK(vb_store_open(tmp_path("missing.vb"), &o, &s) == VB_ENOENT);
	o.create = 0;
	o.write = 1;
	CHECK(vb_store_open(tmp_path("missing.vb"), &o, &s) == VB_ENOENT);
	CHECK(!exists(tmp_path("missing.vb")));
	write_file(tmp_path("text"), "hello world, this is not a store at all, is it?\n", 48);
	CHECK(vb_store_open(tmp_path("text"), &o, &s) == VB_ENOTSTORE);
	o.write = 0;
	CHECK(vb_store_open(tmp_path("text"), &o, &s) == VB_ENOTSTORE);
	write_file(tmp_path("empty"), "", 0);
	CHECK(vb_store_open(tmp_path("empty"), &o, &s) == VB_ENOTSTORE);
	CHECK(vb_store_open(tmp_dir, &o, &s) == VB_ENOTSTORE);
	CHECK(s == NULL);

	s = create_v0(p);
	REQUIRE_OK(vb_store_append(s, d, 10, &pc));
	CHECK_EQ_U64(commit_pieces(s, &pc, 1), 1);
	vb_store_close(s);

	/* one writer at a time; readers any time */
	s = open_store(p, 1);
	o = opts(1);
	o.wait = 0;
	CHECK(vb_store_open(p, &o, &s2) == VB_ELOCKED);
	o.wait = 0.05;
	CHECK(vb_store_open(p, &o, &s2) == VB_ELOCKED);
	r = open_store(p, 0);
	/* readers do not write */
	CHECK(vb_store_node_write(r, (const unsigned char *)"x", 1) == VB_EINVAL);
	CHECK(vb_store_append(r, "x", 1, &pc) == VB_EINVAL);
	CHECK(vb_store_append_piece(r, &pc, 0, 1, &pc) == VB_EINVAL);
	tree_init(&t, r, &pc, 1);
	CHECK(vb_store_commit(r, write_tree, &t, 0, NULL, 0, "", NULL, 0, &v) == VB_EINVAL);
	CHECK(t.calls == 0);
	CHECK_OK(vb_store_rollback(r));
	struct vb_store *n;
	CHECK(vb_store_rewrite_open(r, &n) == VB_EINVAL);
	/* a writer's nodes are at most VB_STORE_NODE_MAX bytes */
	static unsigned char big[VB_STORE_NODE_MAX + 1];
	CHECK(vb_store_node_write(s, big, VB_STORE_NODE_MAX + 1) == VB_EINVAL);
	vb_store_close(r);
	vb_store_close(s);
	o.wait = 0;
	REQUIRE_OK(vb_store_open(p, &o, &s2)); /* the lock went with the close */
	vb_store_close(s2);

	/* a tree that fails: the commit fails and the file is as it was,
	 * before and after the next open */
	size_t n0;
	unsigned char *before = slurp(p, &n0);
	s = open_store(p, 1);
	/* a batch of blocks on disk, one block and a part in memory */
	REQUIRE_OK(vb_store_append(s, d, (VB_STORE_BATCH + 1) * (size_t)B + 5, &pc));
	CHECK_EQ_U64(file_size(p), n0 + VB_STORE_BATCH * STRIDE);
	tree_init(&t, s, &pc, 1);
	t.fail = 1;
	struct vb_op op = {VB_OP_INSERT, 0, pc.len, 0};
	CHECK(vb_store_commit(s, write_tree, &t, 0, &op, 1, "fails", NULL, 0, &v) == VB_EIO);
	CHECK(strstr(vb_err_detail(), "on purpose") != NULL);
	CHECK_EQ_U64(t.nodes, 1);
	CHECK(same_file(p, before, n0));
	CHECK_EQ_U64(vb_store_tell(s), n0);
	CHECK_EQ_U64(vb_store_head(s)->version, 1);
	/* the handle is done */
	CHECK(vb_store_append(s, d, 1, &pc) == VB_EINVAL);
	CHECK(vb_store_commit(s, write_tree, &t, 0, &op, 1, "", NULL, 0, &v) == VB_EINVAL);
	vb_store_close(s);
	CHECK(same_file(p, before, n0));
	s = open_store(p, 1);
	CHECK_EQ_U64(vb_store_head(s)->version, 1);
	CHECK_EQ_U64(vb_store_nwarnings(s), 0);
	vb_store_close(s);
	CHECK(same_file(p, before, n0));

	/* a root outside the records is refused, the file unchanged */
	s = open_store(p, 1);
	tree_init(&t, s, &pc, 0);
	CHECK(vb_store_commit(s, bad_root_tree, &t, 0, NULL, 0, "", NULL, 0, &v) == VB_EINVAL);
	vb_store_close(s);
	CHECK(same_file(p, before, n0));
	/* so is a root an opener would refuse: a node of no bytes, more
	 * pieces than bytes, bytes in no piece, bytes without a node */
	static const struct vb_store_root bad_roots[] = {{1, 0, 0}, {1, 5, 6}, {1, 5, 0}, {0, 5, 1}};
	for (size_t i = 0; i < sizeof bad_roots / sizeof bad_roots[0]; i++) {
		s = open_store(p, 1);
		tree_init(&t, s, &pc, 1);
		t.forced = 1;
		t.force = bad_roots[i];
		CHECK(vb_store_commit(s, write_tree, &t, 0, NULL, 0, "", NULL, 0, &v) == VB_EINVAL);
		vb_store_close(s);
		CHECK(same_file(p, before, n0));
	}

	/* rollback cuts off what was appended, and the next append starts
	 * over at the same place */
	s = open_store(p, 1);
	uint64_t end = vb_store_tell(s);
	REQUIRE_OK(vb_store_append(s, d, (VB_STORE_BATCH + 1) * (size_t)B + 100, &pc));
	CHECK_EQ_U64(pc.rec, end);
	CHECK(file_size(p) > n0);
	CHECK_OK(vb_store_rollback(s));
	CHECK_EQ_U64(vb_store_tell(s), end);
	CHECK(same_file(p, before, n0));
	CHECK_OK(vb_store_rollback(s)); /* twice is once */
	REQUIRE_OK(vb_store_append(s, d + 7, 3 * B - 7, &pc));
	CHECK(pc.rec == end && pc.start == 0);
	struct vb_piece two[2];
	REQUIRE(decode_root(s, vb_store_head(s), two, 1) == 1);
	two[1] = pc;
	CHECK_EQ_U64(commit_pieces(s, two, 2), 2);
	vb_store_close(s);
	s = open_store(p, 0);
	unsigned char *buf = malloc(3 * B + 10);
	REQUIRE(buf);
	CHECK_EQ_U64(vb_store_head(s)->length, 3 * B + 3);
	read_version(s, vb_store_head(s), buf);
	CHECK(!memcmp(buf, d, 10) && !memcmp(buf + 10, d + 7, 3 * B - 7));
	struct report rep;
	CHECK_OK(verify(s, NULL, &rep, NULL));
	vb_store_close(s);
	free(buf);
	free(before);
	free(d);
	free(p);
}

/* -------------------------------------------------------------- verify */

static void test_verify(void)
{
	char *p = keep(tmp_path("ver.vb")), *q = keep(tmp_path("ver-bad.vb"));
	const size_t dn = 2 * B + 3000;
	unsigned char *d = malloc(dn), *buf = malloc(dn);
	struct vb_store *s = create_v0(p);
	struct vb_piece pc[2];
	struct vb_commit c1, c2;
	struct report r;
	struct vb_verify_stats st;
	struct walker w = {NULL, 0, UINT64_MAX, {0, 0, 0, 0, {0, 0, 0, 0, 0, 0}}};

	REQUIRE(d && buf);
	rnd_bytes(d, dn);
	/* version 1: three data blocks, too many for a region checksum */
	REQUIRE_OK(vb_store_append(s, d, dn, &pc[0]));
	CHECK_EQ_U64(commit_pieces(s, pc, 1), 1);
	CHECK(!(vb_store_head(s)->flags & VB_COMMIT_REGION));
	REQUIRE_OK(vb_store_append(s, "tail", 4, &pc[1]));
	CHECK_EQ_U64(commit_pieces(s, pc, 2), 2);
	CHECK(vb_store_head(s)->flags & VB_COMMIT_REGION);
	vb_store_close(s);
	const uint64_t rec = pc[0].rec;
	/* records: version 0: ops, node, commit; 1: three blocks, ops, node,
	 * commit; 2: one block, ops, node, commit */
	const uint64_t nrec = 3 + 6 + 4;

	s = open_store(p, 0);
	REQUIRE_OK(vb_store_commit_at(s, 1, &c1));
	REQUIRE_OK(vb_store_commit_at(s, 2, &c2));
	CHECK_OK(verify(s, NULL, &r, &st));
	CHECK(r.problems == 0 && r.notes == 0);
	CHECK_EQ_U64(st.records, nrec);
	CHECK_EQ_U64(st.versions, 3);
	CHECK_EQ_U64(st.bytes, file_size(p));
	/* the records were read forward, in one pass, to the end */
	CHECK_EQ_U64(last_progress.total, st.bytes - vb_store_records_start(s));
	CHECK_EQ_U64(last_progress.done, last_progress.total);
	CHECK_OK(verify(s, &w, &r, &st));
	CHECK_EQ_U64(w.calls, 3);
	CHECK(r.problems == 0);
	CHECK_OK(vb_store_verify(s, NULL, NULL, NULL, NULL, NULL, NULL, NULL));
	/* the tree's problems are its version's */
	w.bad_version = 1;
	CHECK(verify(s, &w, &r, &st) == VB_ECORRUPT);
	CHECK(r.problems == 1 && reported_at(&r, c1.off));
	CHECK(vb_store_verify(s, NULL, NULL, NULL, NULL, NULL, NULL, NULL) == VB_OK);
	w.bad_version = UINT64_MAX;
	/* so is a piece that reaches beyond its data record */
	w.extra = (struct vb_piece){VB_SRC_DATA, rec, dn - 5, 10, {0, 0, 0, 0, 0, 0}};
	CHECK(verify(s, &w, &r, &st) == VB_ECORRUPT);
	CHECK(r.problems == 3 && reported_at(&r, c1.off) && reported_at(&r, c2.off));
	w.extra = (struct vb_piece){VB_SRC_DATA, rec, dn - 5, 5, {0, 0, 0, 0, 0, 0}};
	CHECK_OK(verify(s, &w, &r, &st));
	/* a data piece's line counts are checked against its bytes: whole
	 * blocks from the counts of the forward pass, partial ends read */
	{
		static const uint64_t cut[][2] = {{0, 2 * B + 3000}, {0, 2 * B}, {B - 7, B + 100},
						  {2 * B, 3000}, {B, B}, {5, 1}, {2 * B + 1, 2999}};
		for (size_t i = 0; i < sizeof cut / sizeof cut[0]; i++) {
			struct vb_lines l = vb_lines_scan(d + cut[i][0], (size_t)cut[i][1]);
			w.extra = (struct vb_piece){VB_SRC_DATA, rec, cut[i][0], cut[i][1], l};
			CHECK_OK(verify(s, &w, &r, &st));
			CHECK(r.problems == 0);
			/* a count off by one, in each field, is found */
			for (int k = 0; k < 5; k++) {
				struct vb_lines bad = l;
				if (k == 0)
					bad.lf++;
				else if (k == 1)
					bad.cr++;
				else if (k == 2)
					bad.crlf++;
				else if (k == 3)
					bad.head_lf ^= 1;
				else
					bad.tail_cr ^= 1;
				w.extra.lines = bad;
				CHECK(verify(s, &w, &r, &st) == VB_ECORRUPT);
				CHECK(r.problems == 3 && reported_at(&r, c1.off) && reported_at(&r, c2.off));
			}
		}
	}
	w.extra.len = 0;
	vb_store_close(s);

	/* one byte flipped in the middle block of version 1's data */
	uint64_t blk = rec + STRIDE;
	copy_to(p, q);
	flip(q, blk + 4 + 1000);
	s = open_store(q, 0);
	CHECK_EQ_U64(vb_store_head(s)->version, 2);
	CHECK(verify(s, NULL, &r, &st) == VB_ECORRUPT);
	CHECK(r.problems == 1 && reported_at(&r, blk));
	CHECK_EQ_U64(st.records, nrec);
	CHECK_EQ_U64(st.versions, 3);
	/* the forward pass stopped at the damage; the backward walk went on */
	CHECK(last_progress.calls > 0 && last_progress.done < last_progress.total);
	/* the walker's pieces reach the first and last blocks only */
	CHECK(verify(s, &w, &r, &st) == VB_ECORRUPT);
	CHECK(r.problems == 1 && reported_at(&r, blk));
	/* the forward pass gave up at the damage: a data piece's counts are
	 * checked by reading its blocks, right or wrong */
	w.extra = (struct vb_piece){VB_SRC_DATA, rec, 10, B - 20, vb_lines_scan(d + 10, B - 20)};
	CHECK(verify(s, &w, &r, &st) == VB_ECORRUPT);
	CHECK(r.problems == 1 && reported_at(&r, blk));
	w.extra.lines.lf++;
	CHECK(verify(s, &w, &r, &st) == VB_ECORRUPT);
	CHECK(r.problems == 4 && reported_at(&r, blk) && reported_at(&r, c1.off));
	w.extra.len = 0;
	/* reads of that block fail, the others still work */
	CHECK(vb_store_read(s, &pc[0], B + 1000, buf, 1) == VB_ECORRUPT);
	CHECK(vb_store_read(s, &pc[0], B - 1, buf, 2) == VB_ECORRUPT);
	CHECK_OK(vb_store_read(s, &pc[0], 0, buf, B));
	CHECK(!memcmp(buf, d, B));
	CHECK_OK(vb_store_read(s, &pc[0], 2 * B, buf, 3000));
	CHECK(!memcmp(buf, d + 2 * B, 3000));
	vb_store_close(s);

	/* one byte flipped in the first block: the walker's versions too */
	copy_to(p, q);
	flip(q, rec + 4 + 5);
	s = open_store(q, 0);
	CHECK(verify(s, &w, &r, &st) == VB_ECORRUPT);
	CHECK(r.problems == 3 && reported_at(&r, rec) && reported_at(&r, c1.off) &&
	      reported_at(&r, c2.off));
	vb_store_close(s);

	/* bytes after the head are a note, not a problem */
	copy_to(p, q);
	{
		FILE *f = fopen(q, "ab");
		REQUIRE(f && fwrite("junk after the head", 1, 19, f) == 19 && fclose(f) == 0);
	}
	s = open_store(q, 0);
	CHECK_EQ_U64(vb_store_head(s)->version, 2);
	CHECK_EQ_U64(vb_store_nwarnings(s), 1);
	CHECK(strstr(vb_store_warning(s, 0), "19 bytes") != NULL);
	CHECK_OK(verify(s, &w, &r, &st));
	CHECK(r.problems == 0 && r.notes == 1);
	CHECK_EQ_U64(st.bytes, file_size(p));
	vb_store_close(s);

	/* a damaged commit record: the version before is the head, and the
	 * record is reported where the good versions end */
	copy_to(p, q);
	flip(q, c2.off + 4 + 40);
	s = open_store(q, 0);
	CHECK_EQ_U64(vb_store_head(s)->version, 1);
	CHECK_EQ_U64(vb_store_nwarnings(s), 1);
	CHECK(verify(s, &w, &r, &st) == VB_ECORRUPT);
	CHECK(r.problems == 1 && reported_at(&r, c1.off + c1.rec_len + OVERHEAD));
	CHECK_EQ_U64(st.versions, 2);
	vb_store_close(s);
	/* the next writer removes it and commits version 2 again */
	s = open_store(q, 1);
	CHECK_EQ_U64(vb_store_nwarnings(s), 1);
	CHECK_EQ_U64(commit_pieces(s, pc, 1), 2);
	vb_store_close(s);
	s = open_store(q, 0);
	CHECK_OK(verify(s, &w, &r, &st));
	CHECK(r.problems == 0 && r.notes == 0);
	CHECK_EQ_U64(st.versions, 3);
	CHECK_EQ_U64(st.bytes, file_size(q));
	vb_store_close(s);
	free(d);
	free(buf);
	free(p);
	free(q);
}

/* --------------------------------------------------------------- embed */

static void test_embed(void)
{
	const size_t bn = 5 * B + 123; /* enough for the threaded bulk copy */
	char *p = keep(tmp_path("emb.vb")), *bp = keep(tmp_path("base3.bin"));
	unsigned char *base = malloc(bn), *buf = malloc(bn + 10);
	struct vb_store_opts o = opts(1);
	struct vb_store *s;
	struct vb_commit c;
	struct vb_store_state st;
	struct report r;
	struct walker w = {NULL, 0, UINT64_MAX, {0, 0, 0, 0, {0, 0, 0, 0, 0, 0}}};
	struct tree t;

	REQUIRE(base && buf);
	rnd_bytes(base, bn);
	write_file(bp, base, bn);
	o.create = 1;
	o.base = bp;
	REQUIRE_OK(vb_store_open(p, &o, &s));
	struct vb_piece whole = {VB_SRC_BASE, 0, 0, bn, {0, 0, 0, 0, 0, 0}}, copy, part;
	struct vb_op op0 = {VB_OP_CREATE, 0, bn, 0};
	tree_init(&t, s, &whole, 1);
	CHECK_EQ_U64(commit_tree(s, &t, &op0, 1, ""), 0);
	/* an embedding needs a copy of the whole base */
	REQUIRE_OK(vb_store_append_piece(s, &whole, 0, bn, &copy));
	CHECK(copy.src == VB_SRC_DATA && copy.start == 0 && copy.len == bn);
	CHECK_EQ_U64(vb_store_tell(s), copy.rec + 5 * STRIDE); /* the last block waits */
	CHECK_OK(vb_store_read(s, &copy, 0, buf, bn));
	CHECK(!memcmp(buf, base, bn));
	part = copy;
	part.len--;
	CHECK(vb_store_embed(s, &part) == VB_EINVAL);
	CHECK(vb_store_embed(s, &whole) == VB_EINVAL);
	REQUIRE_OK(vb_store_embed(s, &copy));
	CHECK(!vb_store_embedded(s));
	struct vb_op op1 = {VB_OP_EMBED, 0, bn, 0};
	tree_init(&t, s, &whole, 1); /* the tree still names the base */
	CHECK_EQ_U64(commit_tree(s, &t, &op1, 1, "embed"), 1);
	CHECK(vb_store_embedded(s));
	vb_store_state(s, &st);
	CHECK(st.oldest == 0 && st.embed_rec == copy.rec && st.since_flatten == 1);
	vb_store_close(s);

	/* the base file is not needed any more, by any version */
	REQUIRE(unlink(bp) == 0);
	s = open_store(p, 0);
	CHECK(vb_store_embedded(s));
	CHECK(vb_store_has_base(s));
	CHECK_EQ_U64(vb_store_base_size(s), bn);
	CHECK_EQ_U64(vb_store_nwarnings(s), 0);
	for (uint64_t v = 0; v < 2; v++) {
		REQUIRE_OK(vb_store_commit_at(s, v, &c));
		CHECK_OK(vb_store_need_base(s, &c));
		memset(buf, 0, bn);
		read_version(s, &c, buf);
		CHECK(!memcmp(buf, base, bn));
	}
	CHECK_OK(vb_store_read(s, &whole, B - 2, buf, 5));
	CHECK(!memcmp(buf, base + B - 2, 5));
	check_send(s, &whole, 0, bn, base);
	check_send(s, &whole, 100, 2 * B, base + 100);
	CHECK_OK(verify(s, &w, &r, NULL));
	vb_store_close(s);
	/* later commits carry the embedded record on */
	s = open_store(p, 1);
	struct vb_piece ins, three[3] = {{VB_SRC_BASE, 0, 0, 10, {0, 0, 0, 0, 0, 0}}, {0, 0, 0, 0, {0, 0, 0, 0, 0, 0}},
					 {VB_SRC_BASE, 0, 10, bn - 10, {0, 0, 0, 0, 0, 0}}};
	REQUIRE_OK(vb_store_append(s, "X", 1, &ins));
	three[1] = ins;
	CHECK_EQ_U64(commit_pieces(s, three, 3), 2);
	CHECK_OK(vb_commit_state(vb_store_head(s), &st));
	CHECK_EQ_U64(st.embed_rec, copy.rec);
	/* a copy of base bytes reads the embedded copy */
	struct vb_piece again;
	REQUIRE_OK(vb_store_append_piece(s, &whole, B + 1, 10, &again));
	CHECK_OK(vb_store_read(s, &again, 0, buf, 10));
	CHECK(!memcmp(buf, base + B + 1, 10));
	vb_store_close(s);
	s = open_store(p, 0);
	CHECK(vb_store_embedded(s));
	read_version(s, vb_store_head(s), buf);
	CHECK(!memcmp(buf, base, 10) && buf[10] == 'X' && !memcmp(buf + 11, base + 10, bn - 10));
	vb_store_close(s);

	/* a store without a base embeds nothing */
	char *np = keep(tmp_path("noembed.vb"));
	s = create_v0(np);
	CHECK(vb_store_embed(s, &copy) == VB_EINVAL);
	vb_store_close(s);
	CHECK(!exists(np));

	/* a base that changed: refused, or a warning when lenient, or left to
	 * the reader of each version */
	char *cp = keep(tmp_path("chg.vb"));
	write_file(bp, base, 5000);
	o = opts(1);
	o.create = 1;
	o.base = bp;
	REQUIRE_OK(vb_store_open(cp, &o, &s));
	whole.len = 5000;
	op0.len = 5000;
	tree_init(&t, s, &whole, 1);
	CHECK_EQ_U64(commit_tree(s, &t, &op0, 1, ""), 0);
	struct vb_piece dp;
	REQUIRE_OK(vb_store_append(s, "data", 4, &dp));
	struct vb_piece two[2] = {whole, dp};
	CHECK_EQ_U64(commit_pieces(s, two, 2), 1);
	vb_store_close(s);
	base[100] ^= 1;
	write_file(bp, base, 5000);
	o = opts(0);
	CHECK(vb_store_open(cp, &o, &s) == VB_EBASE);
	CHECK(strstr(vb_err_detail(), "has changed") != NULL);
	o.write = 1;
	CHECK(vb_store_open(cp, &o, &s) == VB_EBASE);
	o = opts(0);
	o.lenient_base = 1;
	REQUIRE_OK(vb_store_open(cp, &o, &s));
	CHECK(vb_store_nwarnings(s) >= 1);
	CHECK(vb_store_read(s, &whole, 0, buf, 10) == VB_EBASE);
	CHECK_OK(vb_store_read(s, &dp, 0, buf, 4));
	CHECK(!memcmp(buf, "data", 4));
	CHECK_OK(vb_store_need_base(s, vb_store_head(s)));
	vb_store_close(s);
	o = opts(0);
	o.defer_base = 1;
	REQUIRE_OK(vb_store_open(cp, &o, &s));
	CHECK(vb_store_need_base(s, vb_store_head(s)) == VB_EBASE);
	vb_store_close(s);
	REQUIRE(unlink(bp) == 0);
	o = opts(0);
	CHECK(vb_store_open(cp, &o, &s) == VB_EBASE);
	free(base);
	free(buf);
	free(p);
	free(bp);
	free(np);
	free(cp);
}

/* ------------------------------------------------------------- rewrite */

/* Rewrite the store at p (version 1: one data record `drec` of dn bytes,
 * version 2: that and 4 bytes in `trec`) keeping versions 2 and up:
 * blocks 1.. of drec and all of trec are copied, version 2 is the cut
 * and version 3 the rewrite's own.  *np gets version 2's new pieces. */
static void rewrite(const char *p, uint64_t drec, uint64_t dn, uint64_t trec,
		    struct vb_piece *np)
{
	struct vb_store *s = open_store(p, 1), *n;
	struct vb_commit old2, c, c3;
	uint64_t at, at2, ooff, obytes;
	const uint64_t nb = (dn + B - 1) / B;

	REQUIRE_OK(vb_store_commit_at(s, 2, &old2));
	REQUIRE_OK(vb_store_rewrite_open(s, &n));
	CHECK_EQ_U64(vb_store_id(n), vb_store_id(s));
	CHECK_EQ_U64(vb_store_tell(n), vb_store_records_start(s));
	CHECK_EQ_U64(vb_store_records_start(n), vb_store_records_start(s));
	/* only a rewrite takes copies, only of blocks that are there */
	CHECK(vb_store_copy_blocks(s, s, drec, 0, 0, &at) == VB_EINVAL);
	CHECK(vb_store_copy_blocks(n, s, drec, 0, 99, &at) == VB_ECORRUPT);
	CHECK(vb_store_copy_blocks(n, s, drec, 2, 1, &at) == VB_ECORRUPT);
	/* a block number so large that its offset would wrap (a damaged
	 * piece) is damage, not a block somewhere else */
	CHECK(vb_store_copy_blocks(n, s, drec, 0, UINT64_MAX / 3, &at) == VB_ECORRUPT);
	CHECK(vb_store_copy_blocks(n, s, drec, 0, UINT64_MAX / STRIDE + 1, &at) == VB_ECORRUPT);
	{
		/* a new store not yet in place is a writer with a temporary
		 * file, but no rewrite: it takes no copies and no commits */
		char *np2 = keep(tmp_path("not-a-rewrite.vb"));
		struct vb_store *fresh = create_v0(np2);
		struct vb_commit fc = *vb_store_head(fresh);
		struct vb_store_state fst = {0, 0, 0};
		uint64_t fo, fb;
		struct vb_op fop = {VB_OP_INSERT, 0, 1, 0};
		CHECK(vb_store_copy_blocks(fresh, s, drec, 0, 0, &at) == VB_EINVAL);
		CHECK(vb_store_write_ops(fresh, &fop, 1, &fo, &fb) == VB_EINVAL);
		CHECK(vb_store_append_commit(fresh, &fc, "", NULL, 0, &fst) == VB_EINVAL);
		CHECK(vb_store_rewrite_publish(fresh, s) == VB_EINVAL);
		vb_store_close(fresh);
		free(np2);
	}
	CHECK_EQ_U64(vb_store_tell(n), vb_store_records_start(s));
	REQUIRE_OK(vb_store_copy_blocks(n, s, drec, 1, nb - 1, &at));
	CHECK_EQ_U64(at, vb_store_records_start(s));
	CHECK_EQ_U64(vb_store_tell(n), at + (nb - 1) * STRIDE - B + (dn - (nb - 1) * B));
	REQUIRE_OK(vb_store_copy_blocks(n, s, trec, 0, 0, &at2));
	CHECK_EQ_U64(at2, vb_store_tell(n) - OVERHEAD - 4);
	/* version 2 as the oldest: its tree over the copies */
	np[0] = (struct vb_piece){VB_SRC_DATA, at, 0, dn - B, {0, 0, 0, 0, 0, 0}};
	np[1] = (struct vb_piece){VB_SRC_DATA, at2, 0, 4, {0, 0, 0, 0, 0, 0}};
	uint64_t root = vb_store_tell(n);
	REQUIRE_OK(vb_store_node_write(n, nodebuf, encode(np, 2, nodebuf)));
	struct vb_op op2 = {VB_OP_INSERT, dn - B, 4, 0};
	CHECK(vb_store_write_ops(s, &op2, 1, &ooff, &obytes) == VB_EINVAL);
	REQUIRE_OK(vb_store_write_ops(n, &op2, 1, &ooff, &obytes));
	CHECK(ooff > root && obytes == 1 + 3 + 1 + 1);
	memset(&c, 0, offsetof(struct vb_commit, message));
	c.version = 2;
	c.flags = VB_COMMIT_CUT;
	c.root_off = root;
	c.length = dn - B + 4;
	c.pieces = 2;
	c.time_ns = old2.time_ns;
	c.ops_off = ooff;
	c.ops_bytes = obytes;
	vb_commit_sums(&c, &op2, 1);
	struct vb_store_state st = {2, 0, 1};
	CHECK(vb_store_append_commit(s, &c, "kept", NULL, 0, &st) == VB_EINVAL);
	REQUIRE_OK(vb_store_append_commit(n, &c, "kept", NULL, 0, &st));
	CHECK(c.off > ooff);
	CHECK(!strcmp(c.message, "kept"));
	CHECK_EQ_U64(c.ext_len, STATE_ENTRY);
	CHECK_EQ_U64(vb_store_head(n)->version, 2);
	CHECK_EQ_U64(vb_store_head(n)->off, c.off);
	CHECK_EQ_U64(vb_store_tell(n), c.off + c.rec_len + OVERHEAD);
	/* version 3: the rewrite's own, content unchanged */
	struct vb_op op3 = {VB_OP_COMPACT, 0, c.length, 2};
	unsigned char ext[64];
	size_t ext_len = 0;
	REQUIRE_OK(vb_ext_add(ext, &ext_len, VB_EXT_UNANCHOR, "gone", 4));
	memset(&c3, 0, offsetof(struct vb_commit, message));
	c3.version = 3;
	c3.parent_off = c.off;
	c3.parent_crc = c.crc;
	c3.skip_off = c.off;
	c3.root_off = root;
	c3.length = c.length;
	c3.pieces = 2;
	c3.time_ns = old2.time_ns + 1;
	vb_commit_sums(&c3, &op3, 1);
	REQUIRE_OK(vb_store_write_ops(n, &op3, 1, &c3.ops_off, &c3.ops_bytes));
	st.since_flatten = 2;
	REQUIRE_OK(vb_store_append_commit(n, &c3, "compacted", ext, ext_len, &st));
	REQUIRE_OK(vb_store_rewrite_publish(n, s));
	/* the old handle's file is gone from the path */
	struct vb_piece x;
	CHECK(vb_store_append(s, "x", 1, &x) == VB_EINVAL);
	vb_store_close(n);
	vb_store_close(s);

	/* a commit an opener would refuse (its root after itself) is refused
	 * when written, and the rewrite can then not be published */
	s = open_store(p, 1);
	REQUIRE_OK(vb_store_rewrite_open(s, &n));
	c3 = *vb_store_head(s);
	c3.version = 4;
	c3.parent_off = c3.skip_off = 0;
	c3.flags = VB_COMMIT_CUT;
	c3.ops_off = c3.ops_bytes = c3.nops = 0;
	c3.root_off = vb_store_tell(n) + 4096;
	st.oldest = 4;
	CHECK(vb_store_append_commit(n, &c3, "bad", NULL, 0, &st) == VB_EINVAL);
	CHECK(strstr(vb_err_detail(), "would not open") != NULL);
	CHECK(vb_store_rewrite_publish(n, s) == VB_EINVAL);
	vb_store_rewrite_abandon(n);
	CHECK_EQ_U64(vb_store_head(s)->version, 3);
	vb_store_close(s);
}

static void test_rewrite(void)
{
	char *p = keep(tmp_path("rw.vb")), *q = keep(tmp_path("rw-dmg.vb"));
	const size_t dn = 3 * B + 5000;
	unsigned char *d = malloc(dn), *buf = malloc(dn);
	struct vb_store *s, *r, *n;
	struct vb_piece pc[2], np[2];
	struct vb_commit c, c2;
	struct report rep;
	struct vb_verify_stats st;
	struct walker w = {NULL, 0, UINT64_MAX, {0, 0, 0, 0, {0, 0, 0, 0, 0, 0}}};

	REQUIRE(d && buf);
	rnd_bytes(d, dn);
	s = create_v0(p);
	REQUIRE_OK(vb_store_append(s, d, dn, &pc[0]));
	CHECK_EQ_U64(commit_pieces(s, pc, 1), 1);
	REQUIRE_OK(vb_store_append(s, "tail", 4, &pc[1]));
	CHECK_EQ_U64(commit_pieces(s, pc, 2), 2);
	uint64_t id = vb_store_id(s);
	vb_store_close(s);
	/* a damaged copy, rewritten the same way below */
	copy_to(p, q);
	flip(q, pc[0].rec + 2 * STRIDE + 4 + 77);

	/* temporary files beside the store: a copy of it (what a rewrite
	 * killed before its rename leaves) goes, anything else stays */
	copy_to(p, tmp_path(".rw.vb.abc123.tmp"));
	write_file(tmp_path(".rw.vb.123456.tmp"), "not a store", 11);
	copy_to(p, tmp_path(".rw.vb.zzzzzz.tmp"));
	copy_to(q, tmp_path(".rw.vb.fedcba.tmp"));
	CHECK(temps("rw.vb") == 4);

	/* the rewrite needs a writer */
	r = open_store(p, 0);
	CHECK(vb_store_rewrite_open(r, &n) == VB_EINVAL);
	s = create_v0(tmp_path("rw-new.vb"));
	CHECK(vb_store_rewrite_open(s, &n) == VB_EINVAL);
	vb_store_close(s);

	/* an abandoned rewrite: the store and its directory as they were */
	size_t n0;
	unsigned char *before = slurp(p, &n0);
	s = open_store(p, 1);
	REQUIRE_OK(vb_store_rewrite_open(s, &n));
	CHECK(!exists(tmp_path(".rw.vb.abc123.tmp")));
	CHECK(!exists(tmp_path(".rw.vb.fedcba.tmp"))); /* same id: a copy too */
	CHECK(exists(tmp_path(".rw.vb.123456.tmp")));
	CHECK(exists(tmp_path(".rw.vb.zzzzzz.tmp")));
	uint64_t at;
	REQUIRE_OK(vb_store_copy_blocks(n, s, pc[0].rec, 0, 1, &at));
	CHECK(vb_store_copy_blocks(n, s, pc[0].rec + 1, 0, 0, &at) == VB_ECORRUPT);
	vb_store_rewrite_abandon(n);
	vb_store_rewrite_abandon(NULL);
	CHECK(temps("rw.vb") == 2);
	CHECK(same_file(p, before, n0));
	/* the writer is still one */
	REQUIRE_OK(vb_store_rewrite_open(s, &n));
	vb_store_rewrite_abandon(n);
	vb_store_close(s);
	CHECK(same_file(p, before, n0));
	REQUIRE(unlink(tmp_path(".rw.vb.123456.tmp")) == 0);
	REQUIRE(unlink(tmp_path(".rw.vb.zzzzzz.tmp")) == 0);
	CHECK(temps("rw.vb") == 0);

	/* the rewrite, published */
	rewrite(p, pc[0].rec, dn, pc[1].rec, np);
	CHECK(temps("rw.vb") == 0);
	CHECK(file_size(p) < n0);
	/* a reader of the old file still reads it */
	CHECK_EQ_U64(vb_store_head(r)->version, 2);
	REQUIRE_OK(vb_store_commit_at(r, 1, &c));
	read_version(r, &c, buf);
	CHECK(!memcmp(buf, d, dn));
	vb_store_close(r);

	s = open_store(p, 0);
	CHECK_EQ_U64(vb_store_id(s), id);
	CHECK_EQ_U64(vb_store_head(s)->version, 3);
	CHECK_EQ_U64(vb_store_oldest(s), 2);
	CHECK_EQ_U64(vb_store_since_flatten(s), 2);
	CHECK(!strcmp(vb_store_head(s)->message, "compacted"));
	CHECK(vb_store_commit_at(s, 1, &c) == VB_ENOENT);
	CHECK(vb_store_commit_at(s, 0, &c) == VB_ENOENT);
	REQUIRE_OK(vb_store_commit_at(s, 2, &c2));
	CHECK(c2.flags & VB_COMMIT_CUT);
	CHECK(!strcmp(c2.message, "kept"));
	CHECK(vb_store_commit_parent(s, &c2, &c) == VB_ENOENT);
	REQUIRE_OK(vb_store_commit_parent(s, vb_store_head(s), &c));
	CHECK_EQ_U64(c.off, c2.off);
	/* the copied bytes through the translated pieces */
	CHECK_OK(vb_store_read(s, &np[0], 0, buf, dn - B));
	CHECK(!memcmp(buf, d + B, dn - B));
	for (int i = 0; i < 50; i++) {
		uint64_t skip = rnd(dn - B), len = rnd(dn - B - skip + 1);
		CHECK_OK(vb_store_read(s, &np[0], skip, buf, (size_t)len));
		CHECK(!memcmp(buf, d + B + skip, (size_t)len));
	}
	read_version(s, vb_store_head(s), buf);
	CHECK(!memcmp(buf, d + B, dn - B) && !memcmp(buf + dn - B, "tail", 4));
	/* the operations */
	struct expect e3;
	memset(&e3, 0, sizeof e3);
	struct vb_op op3 = {VB_OP_COMPACT, 0, dn - B + 4, 2};
	e3.ops = &op3;
	e3.nops = 1;
	struct opcheck oc = {&e3, 0, 0, 0};
	CHECK_OK(vb_store_ops(s, vb_store_head(s), check_op, &oc));
	CHECK(oc.i == 1 && oc.bad == 0);
	CHECK(vb_store_head(s)->sum_kind == VB_OP_COMPACT);
	CHECK_OK(verify(s, &w, &rep, &st));
	CHECK(rep.problems == 0);
	CHECK_EQ_U64(st.versions, 2);
	/* 3 copied blocks, 1 block, the root, ops, commit, ops, commit */
	CHECK_EQ_U64(st.records, 3 + 1 + 1 + 1 + 1 + 1 + 1);
	vb_store_close(s);

	/* the rewritten store takes new versions */
	s = open_store(p, 1);
	struct vb_piece three[3] = {np[0], np[1], {0, 0, 0, 0, {0, 0, 0, 0, 0, 0}}};
	REQUIRE_OK(vb_store_append(s, "more", 4, &three[2]));
	CHECK_EQ_U64(commit_pieces(s, three, 3), 4);
	CHECK_EQ_U64(vb_store_head(s)->skip_off, c2.off); /* 4 & 3 = 0, below the cut */
	vb_store_close(s);
	s = open_store(p, 0);
	for (uint64_t v = 2; v <= 4; v++) {
		REQUIRE_OK(vb_store_commit_at(s, v, &c));
		CHECK_EQ_U64(c.version, v);
	}
	CHECK_OK(verify(s, &w, &rep, &st));
	CHECK_EQ_U64(st.versions, 3);
	vb_store_close(s);

	/* damage is carried over, still detectable: block 2 of the old
	 * record is block 1 of the copy */
	rewrite(q, pc[0].rec, dn, pc[1].rec, np);
	s = open_store(q, 0);
	CHECK(verify(s, NULL, &rep, &st) == VB_ECORRUPT);
	CHECK(rep.problems == 1 && reported_at(&rep, np[0].rec + STRIDE));
	CHECK(vb_store_read(s, &np[0], B + 77, buf, 1) == VB_ECORRUPT);
	CHECK_OK(vb_store_read(s, &np[0], 0, buf, B));
	CHECK(!memcmp(buf, d + B, B));
	vb_store_close(s);

	free(before);
	free(d);
	free(buf);
	free(p);
	free(q);
}

/* ---------------------------------------------------------- crash hook */

struct event {
	char where[16];
	int fd;
	uint64_t off, len;
};

static struct event events[64];
static int nevents, nappends;
static int cut_at;    /* cut the cut_at-th append short by one byte */
static int damage_at; /* change a payload byte of the damage_at-th append */

static void hook(const char *where, int fd, uint64_t off, uint64_t len)
{
	if (nevents < 64) {
		snprintf(events[nevents].where, sizeof events[nevents].where, "%s", where);
		events[nevents].fd = fd;
		events[nevents].off = off;
		events[nevents].len = len;
	}
	nevents++;
	if (strcmp(where, "append"))
		return;
	nappends++;
	if (nappends == cut_at)
		REQUIRE(ftruncate(fd, (off_t)(off + len - 1)) == 0);
	if (nappends == damage_at) {
		unsigned char c;
		REQUIRE(pread(fd, &c, 1, (off_t)off + 4) == 1);
		c ^= 1;
		REQUIRE(pwrite(fd, &c, 1, (off_t)off + 4) == 1);
	}
}

static void hook_on(int cut, int damage)
{
	nevents = nappends = 0;
	cut_at = cut;
	damage_at = damage;
	vb_store_crash_hook = hook;
}

static int is(int i, const char *where)
{
	return i < nevents && i < 64 && !strcmp(events[i].where, where);
}

static void test_crash_hook(void)
{
	char *p = keep(tmp_path("hook.vb"));
	struct vb_store_opts o = opts(1);
	struct vb_store *s;
	struct vb_piece pc[4];
	struct vb_op op = {VB_OP_DELETE, 0, 0, 0};
	struct tree t;
	struct report r;
	struct vb_verify_stats st;
	uint64_t t0;
	unsigned char *d = malloc(2 * B + 1);

	REQUIRE(d);
	rnd_bytes(d, 2 * B + 1);
	s = create_v0(p);
	REQUIRE_OK(vb_store_append(s, "abc", 3, &pc[0]));
	CHECK_EQ_U64(commit_pieces(s, pc, 1), 1);
	vb_store_close(s);

	/* a small commit: its ops, its node, its commit record, one sync */
	o.no_sync = 0;
	REQUIRE_OK(vb_store_open(p, &o, &s));
	t0 = vb_store_tell(s);
	tree_init(&t, s, pc, 1);
	hook_on(0, 0);
	CHECK_EQ_U64(commit_tree(s, &t, &op, 1, "small"), 2);
	vb_store_crash_hook = NULL;
	CHECK(nevents == 4 && is(0, "append") && is(1, "append") && is(2, "append") && is(3, "sync"));
	CHECK_EQ_U64(events[0].off, t0);
	CHECK_EQ_U64(events[0].len, vb_store_head(s)->ops_bytes + OVERHEAD);
	CHECK_EQ_U64(events[1].off, t0 + events[0].len);
	CHECK_EQ_U64(events[1].off, t.root_off);
	CHECK_EQ_U64(events[1].len, 8 + 32 + OVERHEAD);
	CHECK_EQ_U64(events[2].off, vb_store_head(s)->off);
	CHECK_EQ_U64(events[2].off + events[2].len, vb_store_tell(s));
	CHECK(events[0].fd >= 0 && events[0].fd == events[2].fd && events[3].fd == -1);
	CHECK(vb_store_head(s)->flags & VB_COMMIT_REGION);
	/* a large one syncs its records before the commit record too */
	hook_on(0, 0);
	REQUIRE_OK(vb_store_append(s, d, 2 * B + 1, &pc[1]));
	/* full blocks wait in memory for the commit (or a whole batch) */
	CHECK_EQ_U64(nevents, 0);
	tree_init(&t, s, pc, 2);
	CHECK_EQ_U64(commit_tree(s, &t, &op, 1, "large"), 3);
	vb_store_crash_hook = NULL;
	/* the three blocks in one write, ops, node, sync, commit, sync */
	CHECK_EQ_U64(nevents, 6);
	CHECK(is(0, "append") && is(1, "append") && is(2, "append"));
	CHECK_EQ_U64(events[0].off, pc[1].rec);
	CHECK_EQ_U64(events[0].len, 2 * STRIDE + OVERHEAD + 1);
	CHECK(is(3, "sync") && is(4, "append") && is(5, "sync"));
	CHECK_EQ_U64(events[4].off, vb_store_head(s)->off);
	CHECK(!(vb_store_head(s)->flags & VB_COMMIT_REGION));
	uint64_t end3 = vb_store_tell(s);
	vb_store_close(s);

	/* a commit record cut short: the version before opens, the next
	 * writer commits over the torn tail */
	s = open_store(p, 1);
	tree_init(&t, s, pc, 1);
	hook_on(3, 0);
	CHECK_EQ_U64(commit_tree(s, &t, &op, 1, "torn"), 4);
	vb_store_crash_hook = NULL;
	CHECK_EQ_U64(nappends, 3);
	uint64_t torn = events[2].off;
	vb_store_close(s);
	CHECK_EQ_U64(file_size(p), torn + events[2].len - 1);
	s = open_store(p, 0);
	CHECK_EQ_U64(vb_store_head(s)->version, 3);
	CHECK_EQ_U64(vb_store_tell(s), end3);
	CHECK_EQ_U64(vb_store_nwarnings(s), 1);
	CHECK_OK(verify(s, NULL, &r, &st));
	CHECK(r.problems == 0 && r.notes == 1);
	vb_store_close(s);
	s = open_store(p, 1);
	CHECK_EQ_U64(vb_store_head(s)->version, 3);
	REQUIRE_OK(vb_store_append(s, "d", 1, &pc[2]));
	CHECK_EQ_U64(pc[2].rec, end3);
	CHECK_EQ_U64(commit_pieces(s, pc, 3), 4);
	uint64_t end4 = vb_store_tell(s);
	vb_store_close(s);
	CHECK_EQ_U64(file_size(p), end4);

	/* a commit whose node did not reach the disk as written: the
	 * region checksum in the commit tells, and the version before opens */
	s = open_store(p, 1);
	tree_init(&t, s, pc, 3);
	hook_on(0, 2);
	CHECK_EQ_U64(commit_tree(s, &t, &op, 1, "lost"), 5);
	vb_store_crash_hook = NULL;
	uint64_t lost = vb_store_head(s)->off;
	CHECK(vb_store_head(s)->flags & VB_COMMIT_REGION);
	vb_store_close(s);
	s = open_store(p, 0);
	CHECK_EQ_U64(vb_store_head(s)->version, 4);
	CHECK_EQ_U64(vb_store_nwarnings(s), 1);
	CHECK(verify(s, NULL, &r, &st) == VB_ECORRUPT);
	CHECK(r.problems == 1 && reported_at(&r, lost));
	vb_store_close(s);
	s = open_store(p, 1);
	CHECK_EQ_U64(vb_store_nwarnings(s), 1);
	CHECK_EQ_U64(commit_pieces(s, pc, 3), 5);
	vb_store_close(s);
	s = open_store(p, 0);
	CHECK_OK(verify(s, NULL, &r, &st));
	CHECK(r.problems == 0 && r.notes == 0);
	CHECK_EQ_U64(st.versions, 6);
	CHECK_EQ_U64(st.bytes, file_size(p));
	unsigned char *buf = malloc(2 * B + 5);
	REQUIRE(buf);
	CHECK_EQ_U64(vb_store_head(s)->length, 2 * B + 5);
	read_version(s, vb_store_head(s), buf);
	CHECK(!memcmp(buf, "abc", 3) && !memcmp(buf + 3, d, 2 * B + 1) && buf[2 * B + 4] == 'd');
	vb_store_close(s);
	free(buf);
	free(d);
	free(p);
}

/* --------------------------------------------------------------- main */

int main(void)
{
	rnd_init(test_seed());
	tmp_dir_make("vb-test-storefile");
	test_sums();
	test_create();
	test_create_base();
	test_data();
	test_send_bulk();
	test_history();
	test_errors();
	test_verify();
	test_embed();
	test_copies();
	test_rewrite();
	test_crash_hook();
	if (check_failures)
		fprintf(stderr, "seed 0x%llx, files in %s\n", (unsigned long long)rnd_seed, tmp_dir);
	else
		tmp_dir_remove();
	return test_status("storefile");
}
