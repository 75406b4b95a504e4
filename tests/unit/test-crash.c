/*
 * test-crash: a writer killed at any point leaves a store that opens at a
 * committed version with exactly that version's content, and the next
 * writer succeeds (issue 6, item 1, for the library the commands are thin
 * wrappers of).
 *
 * For each kind of edit the commands make (a small and a large insert, a
 * delete, a batch of deletes, a replace, a revert, an anchor, a partial
 * and a full flatten, an embedding, a count of lines), the edit is first made once to learn
 * the content it gives; then, on a fresh copy of the store each time, a
 * child process makes it and ends itself (_exit, as a crash would end it)
 * at its 1st, 2nd, ... append or sync (vb_store_crash_hook), every other
 * time cutting the append it just made short (a crash in the middle of a
 * write), until one run gets through.  After every end the store must open at the old head with
 * the old content, or at the new one with the new content; it must verify;
 * and an insert by the next writer must succeed and read back.
 *
 * Every kind runs with and without --no-sync.  VB_TEST_LONG=1 runs each
 * four times (other offsets) on three stores of different shapes, for well
 * over 1000 crash points; the default is one store, once, for CI.
 */
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "content.h"
#include "files.h"
#include "rnd.h"
#include "store.h" /* vb_store_crash_hook */
#include "vbuf.h"

static int crash_at, crash_count;

enum kind {
	K_INSERT, K_BIG_INSERT, K_DELETE, K_RANGES, K_REPLACE, K_REVERT, K_ANCHOR,
	K_PARTIAL, K_FLATTEN, K_EMBED, K_LINES, K_COUNT
};

static const char *const kind_name[K_COUNT] = {
	"insert", "big insert", "delete", "ranges", "replace", "revert", "anchor",
	"partial flatten", "flatten", "embed", "count lines",
};

/* Make one edit of `kind` on the store and commit it; the choices come
 * from `s` so that the reference run and every crashing run agree. */
static enum vb_err edit(const char *store, enum kind kind, uint64_t s, int no_sync)
{
	struct vb_vbuf_opts o;
	struct vb_vbuf *b;
	enum vb_err rc;
	uint64_t v, st = s;
	static unsigned char buf[200000];

	vb_vbuf_opts_init(&o);
	o.write = 1;
	o.no_sync = no_sync;
	if ((rc = vb_vbuf_open(store, &o, VB_HEAD, &b)))
		return rc;
	uint64_t len = vb_vbuf_len(b), off = len ? test_rand(&st) % len : 0;
	switch (kind) {
	case K_INSERT:
		rc = vb_vbuf_insert(b, off, "inserted text", 13);
		break;
	case K_BIG_INSERT:
		for (size_t i = 0; i < sizeof buf; i++)
			buf[i] = (unsigned char)(i * 7 + s);
		rc = vb_vbuf_insert(b, off, buf, sizeof buf);
		break;
	case K_DELETE:
		rc = vb_vbuf_delete(b, off, len - off < 500 ? len - off : 500);
		break;
	case K_RANGES:
		/* from the end down, as vb-delete --ranges applies a batch */
		for (int i = 0; i < 20 && !rc; i++) {
			uint64_t at = len / 21 * (uint64_t)(20 - i);
			if (at + 3 <= vb_vbuf_len(b))
				rc = vb_vbuf_delete(b, at, 3);
		}
		break;
	case K_REPLACE:
		rc = vb_vbuf_replace(b, off, len - off < 7 ? len - off : 7, "replacement", 11);
		break;
	case K_REVERT:
		rc = vb_vbuf_revert(b, test_rand(&st) % (vb_vbuf_head(b) + 1));
		break;
	case K_ANCHOR:
		rc = vb_vbuf_set_anchor(b, "mark", off);
		break;
	case K_PARTIAL:
	case K_FLATTEN: {
		struct vb_flatten_opts fo = {kind == K_PARTIAL, 4096, NULL, NULL};
		rc = vb_vbuf_flatten(b, &fo, NULL);
		break;
	}
	case K_EMBED: {
		struct vb_flatten_opts fo = {0, 0, NULL, NULL};
		uint64_t bytes;
		rc = vb_vbuf_embed(b, &fo, &bytes);
		break;
	}
	case K_LINES: {
		/* the base's line index: its records, then the version */
		struct vb_flatten_opts fo = {0, 0, NULL, NULL};
		struct vb_count_stats cs;
		rc = vb_vbuf_count_lines(b, &fo, &cs);
		break;
	}
	default:
		rc = VB_EINVAL;
	}
	if (!rc)
		rc = vb_vbuf_commit(b, kind_name[kind], &v);
	vb_vbuf_close(b);
	return rc;
}

/* Ends the process at the crash_at-th point; an append being cut short
 * (every other time) leaves what a crash in the middle of the write
 * would: some prefix of it. */
static void hook(const char *where, int fd, uint64_t off, uint64_t len)
{
	(void)where;
	if (++crash_count != crash_at)
		return;
	if (fd >= 0 && len && crash_at % 2 && ftruncate(fd, (off_t)(off + (uint64_t)crash_at * 7919 % len)))
		_exit(98);
	_exit(99);
}

/* The store's head version and content checksum. */
static void head_of(const char *store, uint64_t *version, uint32_t *crc, uint64_t *len)
{
	struct vb_vbuf_opts o;
	struct vb_vbuf *b;

	vb_vbuf_opts_init(&o);
	REQUIRE_OK(vb_vbuf_open(store, &o, VB_HEAD, &b));
	*version = vb_vbuf_version(b);
	*crc = content_crc(b);
	*len = vb_vbuf_len(b);
	CHECK_OK(vb_vbuf_verify(b, NULL, NULL, NULL, NULL));
	vb_vbuf_close(b);
}

/* Every crash point of one edit of `kind` on `orig`; returns their number. */
static unsigned crash_points(const char *orig, enum kind kind, int no_sync)
{
	char work[300];
	uint64_t s = rnd64(), v0, v1, l0, l1;
	uint32_t c0, c1;
	unsigned points = 0;

	snprintf(work, sizeof work, "%s", tmp_path("work.vb"));
	/* what the edit gives when nothing goes wrong */
	copy_file(orig, work);
	head_of(work, &v0, &c0, &l0);
	REQUIRE_OK(edit(work, kind, s, no_sync));
	head_of(work, &v1, &c1, &l1);
	CHECK_EQ_U64(v1, v0 + 1);

	for (int at = 1;; at++) {
		copy_file(orig, work);
		pid_t pid = fork();
		REQUIRE(pid >= 0);
		if (!pid) {
			crash_at = at;
			vb_store_crash_hook = hook;
			_exit(edit(work, kind, s, no_sync) ? 3 : 0);
		}
		int status;
		REQUIRE(waitpid(pid, &status, 0) == pid && WIFEXITED(status));
		REQUIRE(WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 99);
		uint64_t v, l;
		uint32_t c;
		head_of(work, &v, &c, &l);
		if (v == v0) {
			CHECK(c == c0 && l == l0);
		} else {
			CHECK_EQ_U64(v, v1);
			CHECK(c == c1 && l == l1);
		}
		/* a finished run has the new version */
		if (WEXITSTATUS(status) == 0)
			CHECK_EQ_U64(v, v1);
		/* the next writer cuts any torn tail and succeeds */
		struct vb_vbuf_opts o;
		struct vb_vbuf *b;
		uint64_t nv;
		vb_vbuf_opts_init(&o);
		o.write = 1;
		REQUIRE_OK(vb_vbuf_open(work, &o, VB_HEAD, &b));
		REQUIRE_OK(vb_vbuf_insert(b, 0, "next", 4));
		REQUIRE_OK(vb_vbuf_commit(b, "next", &nv));
		CHECK_EQ_U64(nv, v + 1);
		vb_vbuf_close(b);
		uint64_t v2, l2;
		uint32_t c2;
		head_of(work, &v2, &c2, &l2);
		CHECK_EQ_U64(l2, l + 4);
		points++;
		if (check_failures) {
			fprintf(stderr, "failed: %s, crash point %d (seed 0x%llx)\n", kind_name[kind], at,
				(unsigned long long)rnd_seed);
			exit(1);
		}
		if (WEXITSTATUS(status) == 0)
			break;
	}
	unlink(work);
	return points;
}

/* A store over a base of `base_len` bytes with `edits` small edits. */
static void build(const char *store, const char *base, size_t base_len, int edits)
{
	rnd_file(base, base_len);
	struct vb_vbuf_opts o;
	struct vb_vbuf *b;
	uint64_t v;
	vb_vbuf_opts_init(&o);
	o.write = 1;
	o.create = 1;
	o.base = base;
	o.no_sync = 1;
	REQUIRE_OK(vb_vbuf_open(store, &o, VB_HEAD, &b));
	for (int i = 0; i < edits; i++) {
		uint64_t len = vb_vbuf_len(b);
		if (rnd(2))
			REQUIRE_OK(vb_vbuf_insert(b, rnd(len + 1), "edit", 4));
		else if (len)
			REQUIRE_OK(vb_vbuf_delete(b, rnd(len), 1));
		if (rnd(4) == 0) {
			REQUIRE_OK(vb_vbuf_commit(b, "build", &v));
			vb_vbuf_close(b);
			o.create = 0;
			o.base = NULL;
			REQUIRE_OK(vb_vbuf_open(store, &o, VB_HEAD, &b));
		}
	}
	REQUIRE_OK(vb_vbuf_commit(b, "built", &v));
	vb_vbuf_close(b);
}

int main(void)
{
	const char *long_env = getenv("VB_TEST_LONG");
	int longer = long_env && *long_env && strcmp(long_env, "0");
	char store[300], base[300];
	unsigned total = 0, per_kind[K_COUNT] = {0};

	rnd_init(test_seed());
	tmp_dir_make("vb-test-crash");
	snprintf(store, sizeof store, "%s", tmp_path("s.vb"));
	snprintf(base, sizeof base, "%s", tmp_path("base"));

	static const struct {
		size_t base_len;
		int edits;
	} shapes[] = {{100000, 30}, {300000, 400}, {5000, 3}};
	int nshapes = longer ? 3 : 1;
	for (int sh = 0; sh < nshapes; sh++) {
		build(store, base, shapes[sh].base_len, shapes[sh].edits);
		for (int rep = 0; rep < (longer ? 4 : 1); rep++)
			for (int sync = 0; sync < 2; sync++)
				for (int k = 0; k < K_COUNT; k++) {
					unsigned n = crash_points(store, (enum kind)k, !sync);
					per_kind[k] += n;
					total += n;
				}
		unlink(store);
		unlink(base);
	}
	for (int k = 0; k < K_COUNT; k++)
		printf("%-16s %u crash points\n", kind_name[k], per_kind[k]);
	printf("%u crash points in all%s\n", total, longer ? " (long mode)" : "");
	if (longer)
		CHECK(total >= 1000);
	/* every kind was interrupted somewhere before it got through */
	for (int k = 0; k < K_COUNT; k++)
		CHECK(per_kind[k] >= 2);
	rmdir(tmp_dir);
	return test_status("crash");
}
