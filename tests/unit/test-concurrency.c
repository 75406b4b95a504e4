/*
 * test-concurrency: writer processes competing for one store lose nothing
 * and duplicate nothing, and readers streaming meanwhile always see one
 * whole version (issue 6, item 4).
 *
 * W writer processes each make E edits, one commit each: a unique tag
 * "<wW.EEEEE>" inserted at the start or at the end, so the content is
 * always a sequence of whole tags.  R reader processes meanwhile open the
 * store again and again, read a version in chunks and check it: every tag
 * well formed and present once, as many tags as the version has edits
 * since the start.  At the end: every tag once, the version numbers
 * contiguous (each one's parent is the one before), each version's own
 * operation the insert of one tag, and the store verifies.
 *
 * Defaults 8 writers x 60 edits (CI); VB_TEST_LONG=1: 8 x 500.
 */
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "files.h"
#include "vbuf.h"

#define WRITERS 8
#define READERS 2
#define TAG_LEN 10 /* "<w7.00042>" */

static char store[300];

static struct vb_vbuf_opts opts(int write)
{
	struct vb_vbuf_opts o;
	vb_vbuf_opts_init(&o);
	o.write = write;
	o.no_sync = 1;
	o.wait = 60;
	return o;
}

static int writer(int w, int edits)
{
	struct vb_vbuf_opts o = opts(1);
	char tag[32];

	for (int e = 0; e < edits; e++) {
		struct vb_vbuf *b;
		uint64_t v;
		/* w < 10 and e < 100000: always TAG_LEN characters */
		if (snprintf(tag, sizeof tag, "<w%d.%05d>", w, e) != TAG_LEN)
			return 3;
		if (vb_vbuf_open(store, &o, VB_HEAD, &b))
			return 1;
		uint64_t at = (e + w) % 2 ? vb_vbuf_len(b) : 0;
		if (vb_vbuf_insert(b, at, tag, TAG_LEN) || vb_vbuf_commit(b, tag, &v)) {
			vb_vbuf_close(b);
			return 2;
		}
		vb_vbuf_close(b);
	}
	return 0;
}

/* Check one content: whole tags, each once; returns the number of tags or
 * -1 (with a message). */
static long check_content(const unsigned char *d, size_t n, unsigned char *seen, int edits)
{
	if (n % TAG_LEN) {
		fprintf(stderr, "content of %zu bytes is not whole tags\n", n);
		return -1;
	}
	memset(seen, 0, (size_t)WRITERS * (size_t)edits);
	for (size_t i = 0; i < n; i += TAG_LEN) {
		int w, e;
		char t[TAG_LEN + 1];
		memcpy(t, d + i, TAG_LEN);
		t[TAG_LEN] = 0;
		if (sscanf(t, "<w%1d.%5d>", &w, &e) != 2 || w < 0 || w >= WRITERS || e < 0 ||
		    e >= edits || t[TAG_LEN - 1] != '>') {
			fprintf(stderr, "bad tag '%s' at %zu\n", t, i);
			return -1;
		}
		if (seen[w * edits + e]++) {
			fprintf(stderr, "tag '%s' twice\n", t);
			return -1;
		}
	}
	return (long)(n / TAG_LEN);
}

static int reader(int edits, unsigned *reads)
{
	struct vb_vbuf_opts o = opts(0);
	size_t cap = (size_t)WRITERS * (size_t)edits * TAG_LEN;
	unsigned char *d = malloc(cap + 1), *seen = malloc((size_t)WRITERS * (size_t)edits);
	uint64_t last = 0;

	if (!d || !seen)
		return 1;
	for (;;) {
		struct vb_vbuf *b;
		if (vb_vbuf_open(store, &o, VB_HEAD, &b))
			return 2;
		uint64_t v = vb_vbuf_version(b), n = vb_vbuf_len(b);
		if (n > cap || v < last) {
			vb_vbuf_close(b);
			return 3;
		}
		last = v;
		/* in chunks, as a stream would read it */
		for (uint64_t off = 0; off < n;) {
			size_t take = n - off < 4096 ? (size_t)(n - off) : 4096;
			if (vb_vbuf_read(b, off, d + off, take)) {
				vb_vbuf_close(b);
				return 4;
			}
			off += take;
		}
		vb_vbuf_close(b);
		long tags = check_content(d, (size_t)n, seen, edits);
		/* version 1 is the empty first commit */
		if (tags < 0 || (uint64_t)tags != v - 1) {
			fprintf(stderr, "version %llu has %ld tags\n", (unsigned long long)v, tags);
			return 5;
		}
		(*reads)++;
		if ((uint64_t)tags == (uint64_t)WRITERS * (uint64_t)edits)
			break;
	}
	free(d);
	free(seen);
	return 0;
}

static enum vb_err count_op(void *arg, const struct vb_op *op)
{
	int *ok = arg;
	*ok = op->kind == VB_OP_INSERT && op->len == TAG_LEN;
	return VB_OK;
}

int main(void)
{
	const char *long_env = getenv("VB_TEST_LONG");
	int edits = long_env && *long_env && strcmp(long_env, "0") ? 500 : 60;
	pid_t pids[WRITERS + READERS];
	int fds[READERS][2];

	tmp_dir_make("vb-test-conc");
	snprintf(store, sizeof store, "%s/s.vb", tmp_dir);
	{
		struct vb_vbuf_opts o = opts(1);
		struct vb_vbuf *b;
		uint64_t v;
		o.create = 1;
		REQUIRE_OK(vb_vbuf_open(store, &o, VB_HEAD, &b));
		REQUIRE_OK(vb_vbuf_commit(b, "start", &v));
		CHECK_EQ_U64(v, 1);
		vb_vbuf_close(b);
	}
	for (int r = 0; r < READERS; r++) {
		REQUIRE(pipe(fds[r]) == 0);
		pids[WRITERS + r] = fork();
		REQUIRE(pids[WRITERS + r] >= 0);
		if (!pids[WRITERS + r]) {
			unsigned reads = 0;
			int rc = reader(edits, &reads);
			if (write(fds[r][1], &reads, sizeof reads) != sizeof reads)
				rc = 9;
			_exit(rc);
		}
		close(fds[r][1]);
	}
	for (int w = 0; w < WRITERS; w++) {
		pids[w] = fork();
		REQUIRE(pids[w] >= 0);
		if (!pids[w])
			_exit(writer(w, edits));
	}
	unsigned total_reads = 0;
	for (int i = 0; i < WRITERS + READERS; i++) {
		int status;
		REQUIRE(waitpid(pids[i], &status, 0) == pids[i]);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		if (i >= WRITERS) {
			unsigned reads = 0;
			if (read(fds[i - WRITERS][0], &reads, sizeof reads) == sizeof reads)
				total_reads += reads;
			close(fds[i - WRITERS][0]);
		}
	}

	/* every edit once, versions contiguous, each one tag's insert */
	struct vb_vbuf_opts o = opts(0);
	struct vb_vbuf *b;
	REQUIRE_OK(vb_vbuf_open(store, &o, VB_HEAD, &b));
	uint64_t head = vb_vbuf_version(b);
	CHECK_EQ_U64(head, 1 + (uint64_t)WRITERS * (uint64_t)edits);
	static struct vb_commit c, parent;
	REQUIRE_OK(vb_vbuf_info(b, head, &c));
	uint64_t walked = 0;
	while (c.version > 1) {
		int ok = 0;
		CHECK_OK(vb_vbuf_commit_ops(b, &c, count_op, &ok));
		CHECK(ok && c.nops == 1);
		REQUIRE_OK(vb_vbuf_parent(b, &c, &parent));
		CHECK_EQ_U64(parent.version, c.version - 1);
		c = parent;
		walked++;
	}
	CHECK_EQ_U64(walked, (uint64_t)WRITERS * (uint64_t)edits);
	CHECK_OK(vb_vbuf_verify(b, NULL, NULL, NULL, NULL));
	vb_vbuf_close(b);
	printf("%d writers x %d edits: versions 2 to %llu, each one edit; %u whole-version reads checked\n",
	       WRITERS, edits, (unsigned long long)head, total_reads);
	CHECK(total_reads > 0);
	unlink(store);
	rmdir(tmp_dir);
	return test_status("concurrency");
}
