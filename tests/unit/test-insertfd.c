/*
 * test-insertfd: vb_vbuf_insert_fds_n (vb-insert --axis): exactly n bytes
 * from descriptors in turn (a file, a pipe, an empty one), as one
 * operation each, never reading past the n; descriptors that end early
 * fail the edit (VB_EIO) and leave nothing to commit; the store and the
 * in-memory model agree, and the store reads the same after reopening.
 */
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

#include "check.h"
#include "files.h"
#include "rnd.h"
#include "vbuf.h"

static void run(struct vb_vbuf *b, const char *dir)
{
	char path[300], empty[300];
	unsigned char data[5000], got[12000];
	int p[2];
	rnd_bytes(data, sizeof data);
	snprintf(path, sizeof path, "%s/in", dir);
	snprintf(empty, sizeof empty, "%s/empty", dir);
	write_file(path, data, 3000);
	write_file(empty, "", 0);
	REQUIRE(pipe(p) == 0);
	REQUIRE(write(p[1], data + 3000, 2000) == 2000);
	close(p[1]);
	int fds[3] = {open(path, O_RDONLY), open(empty, O_RDONLY), p[0]};
	REQUIRE(fds[0] >= 0 && fds[1] >= 0);
	size_t cur = 0;
	REQUIRE_OK(vb_vbuf_insert(b, 0, "[]", 2));
	/* runs of 1000 bytes; the second and fourth cross a descriptor's end */
	CHECK_OK(vb_vbuf_insert_fds_n(b, 1, fds, 3, &cur, 1000));
	CHECK(cur == 0);
	CHECK_OK(vb_vbuf_insert_fds_n(b, 1001, fds, 3, &cur, 2500));
	CHECK(cur == 2);
	CHECK_OK(vb_vbuf_insert_fds_n(b, 0, fds, 3, &cur, 0));
	CHECK_OK(vb_vbuf_insert_fds_n(b, 0, fds, 3, &cur, 1500));
	CHECK_EQ_U64(vb_vbuf_len(b), 5002);
	REQUIRE_OK(vb_vbuf_read(b, 0, got, 5002));
	CHECK(!memcmp(got, data + 3500, 1500));
	CHECK(got[1500] == '[');
	CHECK(!memcmp(got + 1501, data, 3500));
	CHECK(got[5001] == ']');
	CHECK(vb_vbuf_insert_fds_n(b, 0, fds, 3, &cur, 1) == VB_EIO);
	CHECK(strstr(vb_err_detail(), "ended 1 bytes early"));
	for (int i = 0; i < 3; i++)
		close(fds[i]);
}

int main(void)
{
	char store[300];
	struct vb_vbuf *m, *s;
	struct vb_vbuf_opts o;
	rnd_init(test_seed());
	tmp_dir_make("vb-test-insertfd");
	REQUIRE_OK(vb_vbuf_open_mem("", 0, &m));
	run(m, tmp_dir);
	vb_vbuf_close(m);

	snprintf(store, sizeof store, "%s/s.vb", tmp_dir);
	vb_vbuf_opts_init(&o);
	o.write = o.create = o.no_sync = 1;
	REQUIRE_OK(vb_vbuf_open(store, &o, VB_HEAD, &s));
	run(s, tmp_dir);
	/* the failed edit left nothing to commit */
	CHECK(vb_vbuf_commit(s, "", NULL) != VB_OK);
	vb_vbuf_close(s);
	REQUIRE_OK(vb_vbuf_open(store, &o, VB_HEAD, &s));
	CHECK_EQ_U64(vb_vbuf_len(s), 0);
	uint64_t v = 0;
	unsigned char got[5002], again[5002];
	run(s, tmp_dir);
	vb_vbuf_close(s);
	/* one good batch committed and read back by a new handle */
	REQUIRE_OK(vb_vbuf_open(store, &o, VB_HEAD, &s));
	REQUIRE_OK(vb_vbuf_insert(s, 0, "x", 1));
	REQUIRE_OK(vb_vbuf_commit(s, "", &v));
	REQUIRE_OK(vb_vbuf_read(s, 0, got, 1));
	vb_vbuf_close(s);
	o.write = 0;
	REQUIRE_OK(vb_vbuf_open(store, &o, VB_HEAD, &s));
	CHECK_EQ_U64(vb_vbuf_len(s), 1);
	REQUIRE_OK(vb_vbuf_read(s, 0, again, 1));
	CHECK(got[0] == again[0] && again[0] == 'x');
	vb_vbuf_close(s);
	unlink(tmp_path("s.vb"));
	unlink(tmp_path("in"));
	unlink(tmp_path("empty"));
	rmdir(tmp_dir);
	return test_status("insertfd");
}
