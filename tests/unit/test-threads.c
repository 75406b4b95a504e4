/*
 * test-threads: one handle shared by an editing thread and several reading
 * and iterating threads (run under ThreadSanitizer by tests/check).
 *
 * The content is a sequence of 16-byte records "R" + 8 hex digits (an id)
 * + 6 hex digits (a check derived from the id) + "\n".  The editor inserts,
 * deletes and replaces whole records at record boundaries and commits now
 * and then, keeping a model of the ids.  Meanwhile:
 *   readers     read up to 4 KiB at random record boundaries in one call
 *               (vb_vbuf_read_upto): whole, well-formed records;
 *   chunk walk  walks the content forward and back by chunks: every chunk
 *               is whole, well-formed records (a chunk is one snapshot and
 *               the iterator stays on record boundaries through edits);
 *   byte walk   walks byte by byte both ways checking each byte against its
 *               place in a record; a delete covering the iterator may move
 *               it to the next record's start (forward: it reads 'R';
 *               backward: it reads the previous record's '\n').
 * At the end the content must be exactly the editor's model.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "files.h"
#include "vbuf.h"

#define REC 16
#define START_RECS 5000
#define EDITS 3000

static atomic_int done;
static atomic_int failures;
static atomic_ulong reads, chunks, bytes_walked;

static uint32_t check_of(uint32_t id)
{
	return (id * 2654435761u) >> 8;
}

static void make_rec(uint32_t id, unsigned char *out)
{
	char tmp[REC + 1];
	snprintf(tmp, sizeof tmp, "R%08x%06x\n", (unsigned)id, (unsigned)check_of(id));
	memcpy(out, tmp, REC);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int rec_ok(const unsigned char *r)
{
	uint32_t id = 0, chk = 0;
	if (r[0] != 'R' || r[REC - 1] != '\n')
		return 0;
	for (int i = 1; i < 9; i++) {
		int h = hexval(r[i]);
		if (h < 0)
			return 0;
		id = id << 4 | (uint32_t)h;
	}
	for (int i = 9; i < 15; i++) {
		int h = hexval(r[i]);
		if (h < 0)
			return 0;
		chk = chk << 4 | (uint32_t)h;
	}
	return chk == (check_of(id) & 0xffffff);
}

static int class_ok(int c, unsigned k)
{
	if (k == 0)
		return c == 'R';
	if (k == REC - 1)
		return c == '\n';
	return hexval(c) >= 0;
}

static void fail(const char *what)
{
	fprintf(stderr, "thread check failed: %s\n", what);
	atomic_fetch_add(&failures, 1);
}

static void *reader(void *arg)
{
	struct vb_vbuf *b = arg;
	unsigned char buf[4096];
	uint64_t s = 12345 + (uint64_t)(uintptr_t)&buf;

	while (!atomic_load(&done)) {
		uint64_t len = vb_vbuf_len(b), off;
		size_t got;
		if (!len)
			continue;
		off = test_rand(&s) % (len / REC) * REC;
		if (vb_vbuf_read_upto(b, off, buf, sizeof buf, &got)) {
			fail("read_upto");
			break;
		}
		if (got % REC)
			fail("read a partial record");
		for (size_t i = 0; i + REC <= got; i += REC)
			if (!rec_ok(buf + i)) {
				fail("reader saw a malformed record");
				return NULL;
			}
		atomic_fetch_add(&reads, 1);
	}
	return NULL;
}

static void *chunk_walk(void *arg)
{
	struct vb_vbuf *b = arg;
	struct vb_iter *it;
	const unsigned char *d;
	size_t n;

	if (vb_iter_create(b, 0, &it)) {
		fail("iter_create");
		return NULL;
	}
	while (!atomic_load(&done)) {
		int fwd = vb_iter_pos(it) == 0;
		for (;;) {
			enum vb_err rc = fwd ? vb_iter_next_chunk(it, &d, &n)
					     : vb_iter_prev_chunk(it, &d, &n);
			if (rc) {
				fail("chunk read");
				goto out;
			}
			if (!n)
				break;
			if (n % REC) {
				fail("chunk of partial records");
				goto out;
			}
			for (size_t i = 0; i < n; i += REC)
				if (!rec_ok(d + i)) {
					fail("chunk with a malformed record");
					goto out;
				}
			atomic_fetch_add(&chunks, 1);
			if (atomic_load(&done))
				break;
		}
	}
out:
	vb_iter_free(it);
	return NULL;
}

static void *byte_walk(void *arg)
{
	struct vb_vbuf *b = arg;
	struct vb_iter *it;
	unsigned k = 0;
	unsigned long count = 0;

	if (vb_iter_create(b, 0, &it)) {
		fail("iter_create");
		return NULL;
	}
	while (!atomic_load(&done)) {
		int c;
		/* forward from the start, k = place of the next byte */
		k = 0;
		while ((c = vb_iter_next(it)) >= 0) {
			if (!class_ok(c, k)) {
				if (c != 'R') {
					fail("byte walk forward: byte out of place");
					goto out;
				}
				k = 0; /* moved to a record start by a delete */
			}
			k = (k + 1) % REC;
			if (++count % 4096 == 0 && atomic_load(&done))
				goto out;
		}
		if (c == VB_ITER_ERROR) {
			fail("byte walk forward: read");
			goto out;
		}
		/* backward from the end, k = place of the byte before */
		k = REC - 1;
		while ((c = vb_iter_prev(it)) >= 0) {
			if (!class_ok(c, k)) {
				if (c != '\n') {
					fail("byte walk backward: byte out of place");
					goto out;
				}
				k = REC - 1;
			}
			k = (k + REC - 1) % REC;
			if (++count % 4096 == 0 && atomic_load(&done))
				goto out;
		}
		if (c == VB_ITER_ERROR) {
			fail("byte walk backward: read");
			goto out;
		}
	}
out:
	atomic_fetch_add(&bytes_walked, count);
	vb_iter_free(it);
	return NULL;
}

static void run(struct vb_vbuf *b, uint32_t *model, size_t nmodel, uint64_t *seed)
{
	pthread_t th[5];
	void *(*fn[5])(void *) = {reader, reader, chunk_walk, byte_walk, byte_walk};
	uint32_t next_id = (uint32_t)nmodel;
	unsigned char recs[8 * REC];

	atomic_store(&done, 0);
	for (int i = 0; i < 5; i++)
		REQUIRE(pthread_create(&th[i], NULL, fn[i], b) == 0);
	for (int e = 0; e < EDITS && !atomic_load(&failures); e++) {
		size_t at = (size_t)(test_rand(seed) % (nmodel + 1));
		size_t k = 1 + (size_t)(test_rand(seed) % 4), m;
		unsigned kind = (unsigned)(test_rand(seed) % 3);
		if (at + k > nmodel)
			k = nmodel - at;
		if (kind == 0 || !k) { /* insert */
			m = 1 + (size_t)(test_rand(seed) % 4);
			for (size_t i = 0; i < m; i++)
				make_rec(next_id + (uint32_t)i, recs + i * REC);
			REQUIRE_OK(vb_vbuf_insert(b, at * REC, recs, m * REC));
			memmove(model + at + m, model + at, (nmodel - at) * sizeof *model);
			for (size_t i = 0; i < m; i++)
				model[at + i] = next_id++;
			nmodel += m;
		} else if (kind == 1) { /* delete */
			REQUIRE_OK(vb_vbuf_delete(b, at * REC, k * REC));
			memmove(model + at, model + at + k, (nmodel - at - k) * sizeof *model);
			nmodel -= k;
		} else { /* replace k records by m */
			m = (size_t)(test_rand(seed) % 4);
			for (size_t i = 0; i < m; i++)
				make_rec(next_id + (uint32_t)i, recs + i * REC);
			REQUIRE_OK(vb_vbuf_replace(b, at * REC, k * REC, recs, m * REC));
			memmove(model + at + m, model + at + k, (nmodel - at - k) * sizeof *model);
			for (size_t i = 0; i < m; i++)
				model[at + i] = next_id++;
			nmodel = nmodel - k + m;
		}
		if (e % 100 == 99) {
			uint64_t v;
			REQUIRE_OK(vb_vbuf_commit(b, NULL, &v));
		}
		if (e % 8 == 0)
			sched_yield();
	}
	atomic_store(&done, 1);
	for (int i = 0; i < 5; i++)
		pthread_join(th[i], NULL);
	/* the content is the model's */
	CHECK_EQ_U64(vb_vbuf_len(b), nmodel * REC);
	unsigned char r[REC], want[REC];
	for (size_t i = 0; i < nmodel; i++) {
		REQUIRE_OK(vb_vbuf_read(b, i * REC, r, REC));
		make_rec(model[i], want);
		if (memcmp(r, want, REC)) {
			CHECK(!"content differs from the model");
			break;
		}
	}
	CHECK_EQ_U64(vb_vbuf_edit_log_len(b), 0);
}

int main(void)
{
	uint64_t seed = test_seed();
	size_t cap = START_RECS + EDITS * 4 + 8;
	uint32_t *model = malloc(cap * sizeof *model);
	unsigned char *init = malloc((size_t)START_RECS * REC);
	struct vb_vbuf *b;
	char base[300], store[300];

	REQUIRE(model && init);
	for (uint32_t i = 0; i < START_RECS; i++) {
		model[i] = i;
		make_rec(i, init + (size_t)i * REC);
	}
	/* the in-memory buffer */
	REQUIRE_OK(vb_vbuf_open_mem(init, (size_t)START_RECS * REC, &b));
	run(b, model, START_RECS, &seed);
	vb_vbuf_close(b);

	/* a store, with a small cache so the readers keep evicting */
	tmp_dir_make("vb-test-threads");
	snprintf(base, sizeof base, "%s/base", tmp_dir);
	snprintf(store, sizeof store, "%s/t.vb", tmp_dir);
	write_file(base, init, (size_t)START_RECS * REC);
	struct vb_vbuf_opts o;
	vb_vbuf_opts_init(&o);
	o.write = o.create = o.no_sync = 1;
	o.base = base;
	o.node_cache = 64 * 1024;
	o.block_cache = 256 * 1024;
	for (uint32_t i = 0; i < START_RECS; i++)
		model[i] = i;
	REQUIRE_OK(vb_vbuf_open(store, &o, VB_HEAD, &b));
	run(b, model, START_RECS, &seed);
	vb_vbuf_close(b);
	unlink(store);
	unlink(base);
	rmdir(tmp_dir);

	printf("%lu reads, %lu chunks, %lu bytes walked while editing: all consistent\n",
	       (unsigned long)atomic_load(&reads), (unsigned long)atomic_load(&chunks),
	       (unsigned long)atomic_load(&bytes_walked));
	CHECK(atomic_load(&failures) == 0);
	CHECK(atomic_load(&reads) > 0 && atomic_load(&chunks) > 0 &&
	      atomic_load(&bytes_walked) > 0);
	free(model);
	free(init);
	return test_status("threads");
}
