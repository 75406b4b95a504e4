/*
 * test-compact: compaction keeps exactly the versions it should, and a
 * crash at any point of it leaves one valid store.
 *
 * A store over a base file gets ~150 commits of random inserts, deletes,
 * replaces, reverts, anchors and a flatten; every version's length and
 * checksum are recorded.  Then, for --keep 1, 9 and everything, with and
 * without an embedded base:
 *   - a compaction in a child process is ended (_exit, as a crash would
 *     end it) at its 1st, 2nd, ... write/sync/rename point, on a fresh copy
 *     of the store each time, until one runs to the end; after every end
 *     the store opens at either the old head with the file byte-identical
 *     to before, or the new head with exactly the kept versions, the
 *     anchors, and a file that verifies; and the next writer succeeds;
 *   - a reader that opened the store before the compaction still reads
 *     its version afterwards;
 * and --keep 1 of the store with the embedded base once more with the
 * copies made by read and write (vb_fcopy_no_range), as where the kernel
 * refuses copy_file_range.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "content.h"
#include "fcopy.h"
#include "files.h"
#include "io.h"
#include "rnd.h"
#include "store.h" /* vb_store_crash_hook */
#include "vbuf.h"

#define MAXV 400

static uint64_t vlen[MAXV];
static uint32_t vcrc[MAXV];
static uint64_t head;
static int crash_at, crash_count;

/* Build the store; record every version. */
static void build(const char *store, const char *base, int embed)
{
	struct vb_vbuf_opts o = store_opts(1);
	struct vb_vbuf *b;
	unsigned char buf[3000];
	uint64_t v;

	o.create = 1;
	o.base = base;
	REQUIRE_OK(vb_vbuf_open(store, &o, VB_HEAD, &b));
	REQUIRE_OK(vb_vbuf_commit(b, "created", &v));
	vb_vbuf_close(b);
	o = store_opts(1);
	for (int i = 0; i < 150; i++) {
		REQUIRE_OK(vb_vbuf_open(store, &o, VB_HEAD, &b));
		uint64_t len = vb_vbuf_len(b), off = rnd(len + 1);
		int kind = (int)rnd(12);
		if (kind < 5) {
			size_t n = 1 + (size_t)rnd(rnd(8) ? 40 : sizeof buf);
			rnd_bytes(buf, n);
			REQUIRE_OK(vb_vbuf_insert(b, off, buf, n));
		} else if (kind < 8) {
			REQUIRE_OK(vb_vbuf_delete(b, off, rnd(len - off < 200 ? len - off : 200)));
		} else if (kind < 9) {
			REQUIRE_OK(vb_vbuf_replace(b, off, len - off < 5 ? len - off : 5, "abcdefg", 7));
		} else if (kind < 10 && vb_vbuf_head(b)) {
			REQUIRE_OK(vb_vbuf_revert(b, rnd(vb_vbuf_head(b))));
		} else if (kind < 11) {
			char name[16];
			snprintf(name, sizeof name, "a%d", (int)rnd(6));
			REQUIRE_OK(vb_vbuf_set_anchor(b, name, len ? rnd(len) : 0));
		} else if (i == 100 && embed) {
			uint64_t bytes;
			struct vb_flatten_opts fo = {0, 0, NULL, NULL};
			REQUIRE_OK(vb_vbuf_embed(b, &fo, &bytes));
		} else {
			struct vb_flatten_opts fo = {(int)rnd(2), 100, NULL, NULL};
			REQUIRE_OK(vb_vbuf_flatten(b, &fo, NULL));
		}
		REQUIRE_OK(vb_vbuf_commit(b, "edit", &v));
		REQUIRE(v < MAXV);
		vlen[v] = vb_vbuf_len(b);
		vcrc[v] = content_crc(b);
		vb_vbuf_close(b);
	}
	head = v;
	REQUIRE_OK(vb_vbuf_open(store, &o, 0, &b));
	vlen[0] = vb_vbuf_len(b);
	vcrc[0] = content_crc(b);
	vb_vbuf_close(b);
	REQUIRE_OK(vb_vbuf_open(store, &o, 1, &b));
	vlen[1] = vb_vbuf_len(b);
	vcrc[1] = content_crc(b);
	vb_vbuf_close(b);
}

static int files_equal(const char *a, const char *b)
{
	static unsigned char x[1 << 16], y[1 << 16];
	FILE *f = fopen(a, "rb"), *g = fopen(b, "rb");
	int eq = f && g;
	while (eq) {
		size_t n = fread(x, 1, sizeof x, f), m = fread(y, 1, sizeof y, g);
		if (n != m || memcmp(x, y, n))
			eq = 0;
		if (!n)
			break;
	}
	if (f)
		fclose(f);
	if (g)
		fclose(g);
	return eq;
}

struct anchor_list {
	char names[64][64];
	uint64_t offs[64];
	int n;
};

static enum vb_err take_anchor(void *arg, const char *name, uint64_t offset, uint64_t set_in)
{
	struct anchor_list *l = arg;
	(void)set_in;
	if (l->n < 64) {
		snprintf(l->names[l->n], 64, "%s", name);
		l->offs[l->n++] = offset;
	}
	return VB_OK;
}

static void anchors_at(const char *store, uint64_t version, struct anchor_list *l)
{
	struct vb_vbuf_opts o = store_opts(0);
	struct vb_vbuf *b;
	l->n = 0;
	REQUIRE_OK(vb_vbuf_open(store, &o, VB_HEAD, &b));
	REQUIRE_OK(vb_vbuf_anchors(b, version, take_anchor, l));
	vb_vbuf_close(b);
}

static int same_anchors(const struct anchor_list *a, const struct anchor_list *b)
{
	if (a->n != b->n)
		return 0;
	for (int i = 0; i < a->n; i++) {
		int found = 0;
		for (int j = 0; j < b->n; j++)
			if (!strcmp(a->names[i], b->names[j]) && a->offs[i] == b->offs[j])
				found = 1;
		if (!found)
			return 0;
	}
	return 1;
}

static void hook(const char *where, int fd, uint64_t off, uint64_t len)
{
	(void)where;
	(void)fd;
	(void)off;
	(void)len;
	if (++crash_count == crash_at)
		_exit(99);
}

/* Compact a copy in a child that ends at crash point `at` (0: never).
 * Returns 1 if the child crashed, 0 if it finished. */
static int compact_child(const char *store, uint64_t keep, int at)
{
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (!pid) {
		struct vb_vbuf_opts o = store_opts(1);
		struct vb_vbuf *b;
		struct vb_compact_stats st;
		crash_at = at;
		crash_count = 0;
		vb_store_crash_hook = hook;
		o.no_sync = (at % 2) == 0; /* both paths */
		if (vb_vbuf_open(store, &o, VB_HEAD, &b))
			_exit(2);
		enum vb_err rc = vb_vbuf_compact(b, keep, "compacted", NULL, NULL, &st);
		vb_vbuf_close(b);
		_exit(rc ? 3 : 0);
	}
	int status;
	REQUIRE(waitpid(pid, &status, 0) == pid);
	REQUIRE(WIFEXITED(status));
	if (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 99)
		fprintf(stderr, "compaction child exited %d at point %d\n", WEXITSTATUS(status), at);
	REQUIRE(WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 99);
	return WEXITSTATUS(status) == 99;
}

/* Whatever state the store is in, it is one of the two valid ones. */
static void check_store(const char *store, const char *orig, uint64_t keep,
			const struct anchor_list *head_anchors, int *was_new)
{
	struct vb_vbuf_opts o = store_opts(0);
	struct vb_vbuf *b;
	uint64_t cut = head + 1 > keep ? head + 1 - keep : 0;

	REQUIRE_OK(vb_vbuf_open(store, &o, VB_HEAD, &b));
	uint64_t h = vb_vbuf_version(b);
	CHECK(h == head || h == head + 1);
	*was_new = h == head + 1;
	CHECK_EQ_U64(vb_vbuf_len(b), vlen[head]);
	CHECK(content_crc(b) == vcrc[head]);
	CHECK_OK(vb_vbuf_verify(b, NULL, NULL, NULL, NULL));
	vb_vbuf_close(b);
	if (h == head) {
		CHECK(files_equal(store, orig));
	} else {
		/* a sample of versions: the kept ones read as before, the
		 * others are gone */
		for (uint64_t v = 0; v <= head; v += 1 + rnd(15)) {
			enum vb_err rc = vb_vbuf_open(store, &o, v, &b);
			if (v < cut) {
				CHECK(rc == VB_ENOENT);
				CHECK(strstr(vb_err_detail(), "compacted away") != NULL);
				continue;
			}
			REQUIRE_OK(rc);
			CHECK_EQ_U64(vb_vbuf_len(b), vlen[v]);
			CHECK(content_crc(b) == vcrc[v]);
			vb_vbuf_close(b);
		}
		REQUIRE_OK(vb_vbuf_open(store, &o, cut, &b));
		CHECK(content_crc(b) == vcrc[cut]);
		vb_vbuf_close(b);
		struct anchor_list now;
		anchors_at(store, head + 1, &now);
		CHECK(same_anchors(&now, head_anchors));
		if (cut) {
			struct anchor_list a;
			anchors_at(store, cut, &a);
			/* (the original's anchors at the cut, checked below) */
			(void)a;
		}
	}
	/* the next writers succeed (enough of them that their skip links
	 * would reach before a cut), and every version still opens */
	struct vb_vbuf_opts w = store_opts(1);
	uint64_t v = h;
	for (int i = 0; i < 20; i++) {
		REQUIRE_OK(vb_vbuf_open(store, &w, VB_HEAD, &b));
		REQUIRE_OK(vb_vbuf_insert(b, 0, "next", 4));
		REQUIRE_OK(vb_vbuf_commit(b, "next", &v));
		vb_vbuf_close(b);
	}
	CHECK_EQ_U64(v, h + 20);
	for (uint64_t k = *was_new ? cut : 0; k <= v; k += 1 + rnd(7)) {
		REQUIRE_OK(vb_vbuf_open(store, &o, k, &b));
		CHECK_EQ_U64(vb_vbuf_version(b), k);
		vb_vbuf_close(b);
	}
}

static void remove_temps(void)
{
	char cmd[400];
	snprintf(cmd, sizeof cmd, "rm -f %s/.*.tmp", tmp_dir);
	CHECK(system(cmd) == 0);
}

static void run(const char *orig, uint64_t keep, unsigned *points, unsigned *new_states)
{
	char work[300];
	struct anchor_list ha, cut_anchors;
	uint64_t cut = head + 1 > keep ? head + 1 - keep : 0;

	snprintf(work, sizeof work, "%s", tmp_path("work.vb"));
	anchors_at(orig, head, &ha);
	anchors_at(orig, cut, &cut_anchors);
	for (int at = 1;; at++) {
		int was_new;
		copy_file(orig, work);
		int crashed = compact_child(work, keep, at);
		check_store(work, orig, keep, &ha, &was_new);
		if (was_new) {
			struct anchor_list a;
			copy_file(orig, work);
			compact_child(work, keep, 0);
			anchors_at(work, cut, &a);
			CHECK(same_anchors(&a, &cut_anchors));
		}
		remove_temps();
		(*points)++;
		*new_states += (unsigned)was_new;
		if (!crashed)
			break;
		if (check_failures) {
			fprintf(stderr, "failed at crash point %d, keep %llu (seed 0x%llx)\n", at,
				(unsigned long long)keep, (unsigned long long)rnd_seed);
			exit(1);
		}
	}
	unlink(work);
}

/* A reader open across the compaction keeps its version; compacting twice
 * works; keeping more versions than there are keeps them all. */
static void extras(const char *orig)
{
	char work[300];
	struct vb_vbuf_opts ro = store_opts(0), w = store_opts(1);
	struct vb_vbuf *r, *b;
	struct vb_compact_stats st;

	snprintf(work, sizeof work, "%s", tmp_path("extra.vb"));
	copy_file(orig, work);
	REQUIRE_OK(vb_vbuf_open(work, &ro, 10, &r));
	REQUIRE_OK(vb_vbuf_open(work, &w, VB_HEAD, &b));
	REQUIRE_OK(vb_vbuf_compact(b, 3, "one", NULL, NULL, &st));
	CHECK_EQ_U64(st.version, head + 1);
	CHECK_EQ_U64(st.oldest, head - 2);
	CHECK(st.bytes_after < st.bytes_before);
	/* the handle is done */
	CHECK(vb_vbuf_insert(b, 0, "x", 1) != VB_OK);
	vb_vbuf_close(b);
	CHECK(content_crc(r) == vcrc[10]);
	vb_vbuf_close(r);

	REQUIRE_OK(vb_vbuf_open(work, &w, VB_HEAD, &b));
	REQUIRE_OK(vb_vbuf_compact(b, 2, "two", NULL, NULL, &st));
	vb_vbuf_close(b);
	CHECK_EQ_U64(st.oldest, head);
	REQUIRE_OK(vb_vbuf_open(work, &ro, VB_HEAD, &r));
	CHECK_EQ_U64(vb_vbuf_version(r), head + 2);
	CHECK(content_crc(r) == vcrc[head]);
	CHECK(vb_vbuf_map(r, head - 1, head + 2, (uint64_t[]){0}, 1) == VB_ENOENT);
	vb_vbuf_close(r);

	copy_file(orig, work);
	REQUIRE_OK(vb_vbuf_open(work, &w, VB_HEAD, &b));
	REQUIRE_OK(vb_vbuf_compact(b, 100000, NULL, NULL, NULL, &st));
	vb_vbuf_close(b);
	CHECK_EQ_U64(st.oldest, 0);
	for (uint64_t v = 0; v <= head; v++) {
		REQUIRE_OK(vb_vbuf_open(work, &ro, v, &r));
		CHECK(content_crc(r) == vcrc[v]);
		vb_vbuf_close(r);
	}
	unlink(work);
}

int main(void)
{
	char store[300], base[300];
	unsigned points = 0, news = 0;

	rnd_init(test_seed());
	tmp_dir_make("vb-test-compact");
	snprintf(base, sizeof base, "%s", tmp_path("base"));
	rnd_file(base, 300000);
	for (int embed = 0; embed < 2; embed++) {
		snprintf(store, sizeof store, "%s", tmp_path(embed ? "emb.vb" : "plain.vb"));
		build(store, base, embed);
		extras(store);
		uint64_t keeps[] = {1, 9, head + 1};
		for (size_t i = 0; i < 3; i++)
			run(store, keeps[i], &points, &news);
		if (embed) {
			/* the copies by read and write, where the kernel
			 * would not copy_file_range */
			vb_fcopy_no_range = 1;
			run(store, 1, &points, &news);
			vb_fcopy_no_range = 0;
		}
		unlink(store);
	}
	printf("%u crash points, %u of them after the switch to the new file\n", points, news);
	CHECK(points > 200);
	CHECK(news > 0 && news < points);
	unlink(base);
	rmdir(tmp_dir);
	return test_status("compact");
}
