/*
 * test-vbuf: the store-backed buffer against the in-memory model.
 *
 * VB_TEST_OPS operations (default 100,000): inserts of 0 bytes to 150 KiB
 * (crossing data blocks), deletes of 0 bytes to everything, replaces and
 * reverts, with a bias toward offset 0 and the end, in batches of 1..40
 * operations per commit, and now and then a full or partial flatten
 * (content unchanged, pieces consolidated) or a compaction that keeps the
 * newest 20..400 versions (the model records an empty version for it;
 * reverts and old-version checks then keep to the versions left, and the
 * ones cut off must say so).  Both buffers get the same operations and
 * messages; after every commit they must agree on version, length and
 * sampled bytes, and every 25 commits on the whole content.  The store is
 * closed and reopened (a new handle, as a new process would) between most
 * batches, and random old versions are reopened read-only and compared with
 * the model's copy of that version.
 */
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "content.h"
#include "files.h"
#include "rnd.h"
#include "vbuf.h"

#define BASE_LEN (300 * 1024)
#define SOFT_MAX (600 * 1024)


static uint64_t pick_off(uint64_t len)
{
	uint64_t r = rnd(10);
	if (r == 0)
		return 0;
	if (r == 1)
		return len;
	return rnd(len + 1);
}

int main(void)
{
	const char *ops_env = getenv("VB_TEST_OPS");
	uint64_t total_ops = ops_env ? strtoull(ops_env, NULL, 0) : 100000;
	char store[300], base[300];
	unsigned char *buf = malloc(200 * 1024), *a = malloc(1 << 16), *bb = malloc(1 << 16);
	REQUIRE(buf && a && bb);

	rnd_init(test_seed());
	tmp_dir_make("vb-test-vbuf");
	snprintf(store, sizeof store, "%s/s.vb", tmp_dir);
	snprintf(base, sizeof base, "%s/base", tmp_dir);

	unsigned char *bdata = malloc(BASE_LEN);
	REQUIRE(bdata);
	rnd_bytes(bdata, BASE_LEN);
	write_file(base, bdata, BASE_LEN);

	struct vb_vbuf *model, *sb = NULL;
	REQUIRE_OK(vb_vbuf_open_mem(bdata, BASE_LEN, &model));

	struct vb_vbuf_opts wo;
	vb_vbuf_opts_init(&wo);
	wo.write = 1;
	wo.create = 1;
	wo.base = base;
	wo.no_sync = 1;
	wo.node_cache = 64 * 1024;   /* small caches: exercise eviction */
	wo.block_cache = 256 * 1024;

	uint64_t done = 0, commits = 0, reopens = 0, old_checks = 0, reverts = 0, flattens = 0;
	uint64_t oldest = 0, compactions = 0;
	static struct {
		uint64_t version, len;
		uint32_t crc;
	} known[4096];
	unsigned nknown = 0;
	while (done < total_ops) {
		if (!sb) {
			REQUIRE_OK(vb_vbuf_open(store, &wo, VB_HEAD, &sb));
			wo.create = 0;
			wo.base = NULL;
			reopens++;
		}
		CHECK_EQ_U64(vb_vbuf_version(sb), vb_vbuf_version(model));
		unsigned nops = 1 + (unsigned)rnd(rnd(4) ? 8 : 40);
		for (unsigned i = 0; i < nops; i++, done++) {
			uint64_t len = vb_vbuf_len(model);
			uint64_t kind = rnd(20);
			if (len > SOFT_MAX && kind < 8)
				kind = 10;
			if (kind < 8) {
				/* insert, usually small, sometimes spanning blocks */
				uint64_t n = rnd(5) ? rnd(40) : rnd(150 * 1024);
				uint64_t off = pick_off(len);
				rnd_bytes(buf, (size_t)n);
				CHECK_OK(vb_vbuf_insert(model, off, buf, n));
				CHECK_OK(vb_vbuf_insert(sb, off, buf, n));
			} else if (kind < 15) {
				uint64_t off = pick_off(len);
				uint64_t n = rnd(8) ? rnd(64) : rnd(len - off + 1);
				if (off + n > len)
					n = len - off;
				CHECK_OK(vb_vbuf_delete(model, off, n));
				CHECK_OK(vb_vbuf_delete(sb, off, n));
			} else if (kind < 19) {
				uint64_t off = pick_off(len);
				uint64_t n = rnd(100);
				if (off + n > len)
					n = len - off;
				uint64_t m = rnd(100);
				rnd_bytes(buf, (size_t)m);
				CHECK_OK(vb_vbuf_replace(model, off, n, buf, m));
				CHECK_OK(vb_vbuf_replace(sb, off, n, buf, m));
			} else if (rnd(5) == 0) {
				uint64_t v = oldest + rnd(vb_vbuf_head(model) + 1 - oldest);
				CHECK_OK(vb_vbuf_revert(model, v));
				CHECK_OK(vb_vbuf_revert(sb, v));
				reverts++;
			} else if (rnd(4) == 0) {
				struct vb_flatten_opts fo = {rnd(4) != 0, 1 + rnd(2000), NULL, NULL};
				struct vb_flatten_stats st;
				uint64_t before = vb_vbuf_pieces(sb);
				CHECK_OK(vb_vbuf_flatten(model, &fo, NULL));
				CHECK_OK(vb_vbuf_flatten(sb, &fo, &st));
				CHECK(vb_vbuf_pieces(sb) <= before);
				CHECK(fo.partial || vb_vbuf_pieces(sb) <= 1);
				CHECK(st.bytes <= len);
				flattens++;
			}
			CHECK_EQ_U64(vb_vbuf_len(sb), vb_vbuf_len(model));
		}
		char msg[64];
		uint64_t v1, v2;
		snprintf(msg, sizeof msg, "batch %llu", (unsigned long long)commits);
		REQUIRE_OK(vb_vbuf_commit(model, msg, &v1));
		REQUIRE_OK(vb_vbuf_commit(sb, msg, &v2));
		CHECK_EQ_U64(v1, v2);
		commits++;

		/* sampled bytes now, everything now and then */
		uint64_t len = vb_vbuf_len(model);
		for (int k = 0; k < 4 && len; k++) {
			uint64_t off = rnd(len), n = rnd(1 << 16);
			if (off + n > len)
				n = len - off;
			REQUIRE_OK(vb_vbuf_read(model, off, a, n));
			REQUIRE_OK(vb_vbuf_read(sb, off, bb, n));
			CHECK(memcmp(a, bb, n) == 0);
		}
		if (commits % 25 == 0) {
			uint32_t c = content_crc_len(model, len);
			CHECK(c == content_crc_len(sb, len));
			if (nknown < sizeof known / sizeof known[0]) {
				known[nknown].version = v2;
				known[nknown].len = len;
				known[nknown].crc = c;
				nknown++;
			}
		}

		if (rnd(3)) {
			vb_vbuf_close(sb);
			sb = NULL;
		}
		if (rnd(400) == 0) {
			struct vb_compact_stats cst;
			uint64_t keep = 20 + rnd(380), v3;
			if (!sb)
				REQUIRE_OK(vb_vbuf_open(store, &wo, VB_HEAD, &sb));
			REQUIRE_OK(vb_vbuf_compact(sb, keep, "compacted", NULL, NULL, &cst));
			vb_vbuf_close(sb);
			sb = NULL;
			REQUIRE_OK(vb_vbuf_commit(model, "compacted", &v3));
			CHECK_EQ_U64(cst.version, v3);
			CHECK(cst.oldest >= oldest);
			oldest = cst.oldest;
			compactions++;
		}
		if (commits % 20 == 0 && nknown) {
			/* an old version, read-only, from a fresh handle */
			unsigned k = (unsigned)rnd(nknown);
			uint64_t v = known[k].version;
			struct vb_vbuf_opts ro;
			struct vb_vbuf *old;
			struct vb_commit info, sinfo;
			vb_vbuf_opts_init(&ro);
			if (v < oldest) {
				CHECK(vb_vbuf_open(store, &ro, v, &old) == VB_ENOENT);
				CHECK(strstr(vb_err_detail(), "compacted away") != NULL);
				continue;
			}
			REQUIRE_OK(vb_vbuf_open(store, &ro, v, &old));
			CHECK_EQ_U64(vb_vbuf_version(old), v);
			CHECK_EQ_U64(vb_vbuf_len(old), known[k].len);
			CHECK(content_crc_len(old, known[k].len) == known[k].crc);
			REQUIRE_OK(vb_vbuf_info(model, v, &info));
			REQUIRE_OK(vb_vbuf_info(old, v, &sinfo));
			CHECK_EQ_U64(sinfo.length, info.length);
			CHECK(!strcmp(sinfo.message, info.message));
			CHECK(sinfo.sum_kind == info.sum_kind && sinfo.nops == info.nops);
			CHECK(sinfo.sum_off == info.sum_off && sinfo.sum_len == info.sum_len);
			vb_vbuf_close(old);
			old_checks++;
		}
		if (check_failures) {
			fprintf(stderr, "failed after commit %llu (seed 0x%llx)\n",
				(unsigned long long)commits, (unsigned long long)rnd_seed);
			return 1;
		}
	}
	if (sb)
		vb_vbuf_close(sb);

	/* Every version, re-read from disk, equals the model's. */
	struct vb_vbuf_opts ro;
	vb_vbuf_opts_init(&ro);
	uint64_t head = vb_vbuf_head(model), checked = 0;
	for (uint64_t v = oldest; v <= head; v += 1 + rnd(head / 200 + 1)) {
		struct vb_vbuf *old;
		REQUIRE_OK(vb_vbuf_open(store, &ro, v, &old));
		REQUIRE_OK(vb_vbuf_revert(model, v));
		uint64_t len = vb_vbuf_len(model);
		CHECK_EQ_U64(vb_vbuf_len(old), len);
		CHECK(content_crc_len(model, len) == content_crc_len(old, len));
		vb_vbuf_close(old);
		checked++;
	}
	/* and the whole file verifies */
	{
		struct vb_vbuf *r;
		REQUIRE_OK(vb_vbuf_open(store, &ro, VB_HEAD, &r));
		CHECK_OK(vb_vbuf_verify(r, NULL, NULL, NULL, NULL));
		printf("head: version %llu, %llu bytes, %llu pieces\n",
		       (unsigned long long)vb_vbuf_version(r), (unsigned long long)vb_vbuf_len(r),
		       (unsigned long long)vb_vbuf_pieces(r));
		vb_vbuf_close(r);
	}
	printf("%llu flattens, %llu compactions (versions from %llu kept)\n",
	       (unsigned long long)flattens, (unsigned long long)compactions,
	       (unsigned long long)oldest);
	printf("%llu operations in %llu commits (%llu reverts), %llu reopens, %llu old versions checked in the run and %llu at the end\n",
	       (unsigned long long)done, (unsigned long long)commits, (unsigned long long)reverts,
	       (unsigned long long)reopens, (unsigned long long)old_checks,
	       (unsigned long long)checked);
	vb_vbuf_close(model);
	unlink(store);
	unlink(base);
	rmdir(tmp_dir);
	free(buf);
	free(a);
	free(bb);
	free(bdata);
	return test_status("vbuf");
}
