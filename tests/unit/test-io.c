/*
 * test-io: the sink delivers the same bytes by every path: splice into a
 * pipe, copy_file_range into a file, sendfile into a socket, and the
 * read/write fallback into an O_APPEND file (which the kernel refuses for
 * copy_file_range); a short source is an error, not silence.  Reading
 * ahead (vb_io_ahead) hands over every byte in order for any chunk and
 * buffer count, says where a short file ends, reports a failed read
 * with its errno, and closes cleanly at any point.  A staged sink writes
 * what a model says (staged()).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "io.h"

#define N (3u << 20)

static unsigned char *src;

static int make_src(void)
{
	char t[] = "/tmp/vb-io-src.XXXXXX";
	int fd = mkstemp(t);
	REQUIRE(fd >= 0);
	unlink(t);
	REQUIRE(write(fd, src, N) == N);
	return fd;
}

/* Read everything from `fd` in a child-free way (fd is a pipe/socket end
 * filled by a child). */
static size_t drain(int fd, unsigned char *buf, size_t cap)
{
	size_t got = 0;
	for (;;) {
		ssize_t r = read(fd, buf + got, cap - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

static void copy_into_stream(int in, int w, int r, const char *what)
{
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		close(r);
		struct vb_sink s;
		vb_sink_init(&s, w);
		enum vb_err rc = vb_sink_copy(&s, in, 1000, N - 2000);
		vb_sink_done(&s);
		_exit(rc ? 1 : 0);
	}
	close(w);
	unsigned char *got = malloc(N + 1); /* the parent's only: the child _exits */
	REQUIRE(got);
	size_t n = drain(r, got, N + 1);
	int st;
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK_EQ_U64(n, N - 2000);
	if (n == N - 2000 && memcmp(got, src + 1000, n)) {
		fprintf(stderr, "%s: bytes differ\n", what);
		CHECK(0);
	}
	close(r);
	free(got);
}

static void copy_into_file(int in, int append)
{
	char t[] = "/tmp/vb-io-dst.XXXXXX";
	int fd = mkstemp(t);
	REQUIRE(fd >= 0);
	REQUIRE(write(fd, "head", 4) == 4);
	if (append) {
		close(fd);
		fd = open(t, O_RDWR | O_APPEND);
		REQUIRE(fd >= 0);
	}
	unlink(t);
	struct vb_sink s;
	vb_sink_init(&s, fd);
	CHECK_OK(vb_sink_write(&s, "-", 1));
	CHECK_OK(vb_sink_copy(&s, in, 5, N - 5));
	CHECK_EQ_U64(s.written, N - 4);
	vb_sink_done(&s);
	unsigned char *got = malloc(N + 8);
	ssize_t n = pread(fd, got, N + 8, 0);
	CHECK_EQ_U64(n, N);
	CHECK(!memcmp(got, "head-", 5) && !memcmp(got + 5, src + 5, N - 5));
	/* asking for more than the source has is an error */
	struct vb_sink s2;
	vb_sink_init(&s2, fd);
	CHECK(vb_sink_copy(&s2, in, N - 10, 20) == VB_EIO);
	CHECK(strstr(vb_err_detail(), "unexpected end of file") != NULL);
	vb_sink_done(&s2);
	free(got);
	close(fd);
}

/* A staged sink (vb_sink_stage) into a file that already holds a few
 * bytes: random writes from memory and copies of random ranges of the
 * source (some whose offsets agree with the output's modulo the page
 * size, which go by copy_file_range) land exactly as a model says, once
 * flushed; `written` counts staged bytes; a pump goes through the stage;
 * a short source is an error; the stage is refused (nothing happens) for
 * an O_APPEND file, a pipe and a size that is not a power of two. */
static void staged(int in, uint64_t *seed)
{
	const size_t cap = 4u << 20;
	unsigned char *model = malloc(cap), *got = malloc(cap), *mem = malloc(70000);
	REQUIRE(model && got && mem);
	for (int round = 0; round < 20; round++) {
		char t[] = "/tmp/vb-io-stage.XXXXXX";
		int fd = mkstemp(t);
		REQUIRE(fd >= 0);
		unlink(t);
		size_t at = test_rand(seed) % 5000;
		memset(model, 'h', at);
		REQUIRE(write(fd, model, at) == (ssize_t)at);
		struct vb_sink s;
		vb_sink_init(&s, fd);
		CHECK_OK(vb_sink_stage(&s, (size_t)4096 << (round % 4)));
		CHECK(s.stage != NULL);
		uint64_t written = 0;
		while (at < cap - 200000) {
			size_t n;
			if (test_rand(seed) % 3 == 0) {
				n = test_rand(seed) % 70000;
				for (size_t i = 0; i < n; i++)
					mem[i] = (unsigned char)test_rand(seed);
				CHECK_OK(vb_sink_write(&s, mem, n));
				memcpy(model + at, mem, n);
			} else {
				uint64_t off = test_rand(seed) % (N - 150000);
				if (test_rand(seed) % 2) /* congruent: copy_file_range */
					off = off - off % 4096 + at % 4096;
				n = test_rand(seed) % 150000;
				CHECK_OK(vb_sink_copy(&s, in, off, n));
				memcpy(model + at, src + off, n);
			}
			at += n;
			written += n;
			CHECK_EQ_U64(s.written, written);
		}
		CHECK_OK(vb_sink_flush(&s));
		CHECK_EQ_U64(s.staged, 0);
		CHECK_EQ_U64(pread(fd, got, cap, 0), at);
		CHECK(!memcmp(got, model, at));
		/* a short source: the error, and what came before still lands */
		CHECK_OK(vb_sink_write(&s, "x", 1));
		CHECK(vb_sink_copy(&s, in, N - 10, 20) == VB_EIO);
		CHECK(strstr(vb_err_detail(), "unexpected end of file") != NULL);
		CHECK_OK(vb_sink_flush(&s));
		CHECK_EQ_U64(pread(fd, got, cap, 0), at + 11);
		CHECK(got[at] == 'x' && !memcmp(got + at + 1, src + N - 10, 10));
		vb_sink_done(&s);
		close(fd);
	}
	/* a pump into a staged sink goes through the stage, in order */
	{
		int p[2];
		REQUIRE(pipe(p) == 0);
		REQUIRE(write(p[1], src, 50000) == 50000);
		close(p[1]);
		char t[] = "/tmp/vb-io-stage.XXXXXX";
		int fd = mkstemp(t);
		REQUIRE(fd >= 0);
		unlink(t);
		struct vb_sink s;
		uint64_t copied;
		vb_sink_init(&s, fd);
		CHECK_OK(vb_sink_stage(&s, 8192));
		CHECK_OK(vb_sink_write(&s, "ab", 2));
		CHECK_OK(vb_sink_pump(&s, p[0], UINT64_MAX, &copied));
		CHECK_EQ_U64(copied, 50000);
		CHECK_OK(vb_sink_flush(&s));
		CHECK_EQ_U64(pread(fd, got, cap, 0), 50002);
		CHECK(!memcmp(got, "ab", 2) && !memcmp(got + 2, src, 50000));
		vb_sink_done(&s);
		close(fd);
		close(p[0]);
	}
	/* not staged: O_APPEND, a pipe, a size not a power of two */
	{
		char t[] = "/tmp/vb-io-stage.XXXXXX";
		int fd = mkstemp(t);
		REQUIRE(fd >= 0);
		int afd = open(t, O_WRONLY | O_APPEND);
		REQUIRE(afd >= 0);
		unlink(t);
		struct vb_sink s;
		vb_sink_init(&s, afd);
		CHECK_OK(vb_sink_stage(&s, 8192));
		CHECK(s.stage == NULL);
		vb_sink_done(&s);
		vb_sink_init(&s, fd);
		CHECK_OK(vb_sink_stage(&s, 12288));
		CHECK(s.stage == NULL);
		vb_sink_done(&s);
		int p[2];
		REQUIRE(pipe(p) == 0);
		vb_sink_init(&s, p[1]);
		CHECK_OK(vb_sink_stage(&s, 8192));
		CHECK(s.stage == NULL);
		CHECK_OK(vb_sink_flush(&s));
		vb_sink_done(&s);
		close(p[0]);
		close(p[1]);
		close(fd);
		close(afd);
	}
	free(model);
	free(got);
	free(mem);
}

static void ahead(int in, uint64_t *seed)
{
	static const size_t chunks[] = {1, 4096, 65536, 1u << 20, N, N + 5};
	unsigned char *got = malloc(N);
	REQUIRE(got);
	for (size_t ci = 0; ci < sizeof chunks / sizeof chunks[0]; ci++) {
		for (unsigned nbuf = 2; nbuf <= 8; nbuf += 3) {
			uint64_t off = test_rand(seed) % 1000, len = N - off - test_rand(seed) % 1000;
			size_t chunk = chunks[ci] == 1 ? 1 + test_rand(seed) % 3000 : chunks[ci];
			struct vb_io_ahead *a;
			const unsigned char *p;
			size_t n, at = 0;
			REQUIRE_OK(vb_io_ahead_open(in, off, len, chunk, nbuf, &a));
			while (!vb_io_ahead_next(a, &p, &n) && n) {
				CHECK(n <= chunk && at + n <= len);
				if (at + n > len)
					break;
				memcpy(got + at, p, n);
				at += n;
			}
			CHECK_EQ_U64(at, len);
			CHECK(memcmp(got, src + off, len) == 0);
			/* after the end: the end again */
			CHECK_OK(vb_io_ahead_next(a, &p, &n));
			CHECK(n == 0 && p == NULL);
			vb_io_ahead_close(a);
		}
	}
	/* the file ends before len: every byte there is, then the error */
	struct vb_io_ahead *a;
	const unsigned char *p;
	size_t n, at = 0;
	enum vb_err rc;
	REQUIRE_OK(vb_io_ahead_open(in, N - 100000, 300000, 65536, 3, &a));
	while (!(rc = vb_io_ahead_next(a, &p, &n)) && n)
		at += n;
	CHECK(rc == VB_EIO && vb_err_errno() == 0);
	CHECK(at == 65536);
	CHECK(strstr(vb_err_detail(), "unexpected end of file at offset 3145728") != NULL);
	vb_io_ahead_close(a);
	/* a failed read: its errno */
	REQUIRE_OK(vb_io_ahead_open(-1, 0, 10, 4, 2, &a));
	CHECK(vb_io_ahead_next(a, &p, &n) == VB_EIO && vb_err_errno() == EBADF);
	vb_io_ahead_close(a);
	/* closed part-way, with the thread waiting for a free buffer */
	REQUIRE_OK(vb_io_ahead_open(in, 0, N, 4096, 2, &a));
	CHECK_OK(vb_io_ahead_next(a, &p, &n));
	CHECK(n == 4096 && !memcmp(p, src, 4096));
	vb_io_ahead_close(a);
	vb_io_ahead_close(NULL);
	CHECK(vb_io_ahead_open(in, 0, N, 4096, 1, &a) == VB_EINVAL && a == NULL);
	free(got);
}

int main(void)
{
	uint64_t seed = test_seed();
	signal(SIGPIPE, SIG_IGN);
	src = malloc(N);
	REQUIRE(src);
	for (size_t i = 0; i < N; i++)
		src[i] = (unsigned char)test_rand(&seed);
	int in = make_src();

	int p[2];
	REQUIRE(pipe(p) == 0);
	copy_into_stream(in, p[1], p[0], "pipe (splice)");
	int sp[2];
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0);
	copy_into_stream(in, sp[1], sp[0], "socket (sendfile)");
	copy_into_file(in, 0);
	copy_into_file(in, 1);
	ahead(in, &seed);
	staged(in, &seed);

	/* pump: from a pipe to a file, bounded by max */
	REQUIRE(pipe(p) == 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		ssize_t w = write(p[1], src, 100000);
		_exit(w == 100000 ? 0 : 1);
	}
	close(p[1]);
	char t[] = "/tmp/vb-io-pump.XXXXXX";
	int fd = mkstemp(t);
	unlink(t);
	struct vb_sink s;
	uint64_t copied;
	vb_sink_init(&s, fd);
	CHECK_OK(vb_sink_pump(&s, p[0], 60000, &copied));
	CHECK_EQ_U64(copied, 60000);
	CHECK_OK(vb_sink_pump(&s, p[0], UINT64_MAX, &copied));
	CHECK_EQ_U64(copied, 40000);
	vb_sink_done(&s);
	unsigned char *got = malloc(100000);
	CHECK(pread(fd, got, 100000, 0) == 100000 && !memcmp(got, src, 100000));
	free(got);
	close(fd);
	close(p[0]);
	waitpid(pid, NULL, 0);

	/* a closed pipe is VB_EPIPE */
	REQUIRE(pipe(p) == 0);
	close(p[0]);
	vb_sink_init(&s, p[1]);
	CHECK(vb_sink_copy(&s, in, 0, N) == VB_EPIPE);
	CHECK(vb_sink_write(&s, "x", 1) == VB_EPIPE);
	vb_sink_done(&s);
	close(p[1]);

	close(in);
	free(src);
	return test_status("io");
}
