/*
 * test-sedit: one-pass stream editing against a model.
 *
 * Random inputs (0..300 KiB) get random deletions (some overlapping, some
 * counted from the end) and at most one insertion; the output must equal
 * the model's.  Every case runs twice: stdin a regular file (length known
 * in advance), and a pipe fed by a child in random chunk sizes (so the
 * result cannot depend on how reads are cut).  Out-of-range positions must
 * fail with VB_ERANGE, before any output when the length is known.
 * vb_sedit_run_counted gives the same output through its pump thread and
 * counts a pipe's length.
 */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "rnd.h"
#include "sedit.h"


struct ins {
	const unsigned char *p;
	size_t n;
};

static enum vb_err emit(void *arg, struct vb_sink *out)
{
	struct ins *i = arg;
	return vb_sink_write(out, i->p, i->n);
}

/* Run the edit with `in` as input; collect the output in *out. */
static enum vb_err run(int in, const struct vb_sedit *e, unsigned char **out, size_t *outn)
{
	char tmpl[] = "/tmp/vb-sedit-out.XXXXXX";
	int fd = mkstemp(tmpl);
	REQUIRE(fd >= 0);
	unlink(tmpl);
	struct vb_sink s;
	vb_sink_init(&s, fd);
	enum vb_err rc = vb_sedit_run(in, &s, e);
	vb_sink_done(&s);
	off_t n = lseek(fd, 0, SEEK_END);
	*out = malloc((size_t)n + 1);
	REQUIRE(pread(fd, *out, (size_t)n, 0) == n);
	*outn = (size_t)n;
	close(fd);
	return rc;
}

static int input_file(const unsigned char *data, size_t n)
{
	char tmpl[] = "/tmp/vb-sedit-in.XXXXXX";
	int fd = mkstemp(tmpl);
	REQUIRE(fd >= 0);
	unlink(tmpl);
	REQUIRE(write(fd, data, n) == (ssize_t)n);
	REQUIRE(lseek(fd, 0, SEEK_SET) == 0);
	return fd;
}

static int input_pipe(const unsigned char *data, size_t n, uint64_t s, pid_t *pid)
{
	int p[2];
	REQUIRE(pipe(p) == 0);
	*pid = fork();
	REQUIRE(*pid >= 0);
	if (*pid == 0) {
		close(p[0]);
		uint64_t st = s;
		for (size_t off = 0; off < n;) {
			size_t take = 1 + (size_t)(test_rand(&st) % 70000);
			if (take > n - off)
				take = n - off;
			if (write(p[1], data + off, take) != (ssize_t)take)
				_exit(1);
			off += take;
		}
		_exit(0);
	}
	close(p[1]);
	return p[0];
}

/* vb_sedit_run_counted: the edit through the pump, and the length it
 * counted; UINT64_MAX when the editor stopped before the end. */
static void test_counted(void)
{
	/* N bytes; the stopped run gets BIG, more than the pump's pipe
	 * (1 MiB) and the input pipe hold, so that the pump cannot have
	 * read it all when it is stopped */
	enum { N = 200000, BIG = 4 << 20 };
	struct vb_sedit_del d = {{10, 0, "", 0, 0}, 10, NULL};
	struct vb_sedit e;
	unsigned char *out;
	uint64_t len = 0;
	unsigned char *data = malloc(BIG);
	pid_t pid;
	int in, fd;

	REQUIRE(data);
	for (size_t i = 0; i < BIG; i++)
		data[i] = (unsigned char)(i * 7 + i / 251);
	memset(&e, 0, sizeof e);
	e.dels = &d;
	e.ndels = 1;
	e.hold_max = VB_SEDIT_HOLD_MAX;
	for (int stop = 0; stop < 2; stop++) {
		char tmpl[] = "/tmp/vb-sedit-out.XXXXXX";
		struct vb_sink s;
		fd = mkstemp(tmpl);
		REQUIRE(fd >= 0);
		unlink(tmpl);
		/* stop: a position before the end beyond hold_max, refused
		 * before the editor reads a byte */
		d.pos.from_end = stop;
		e.hold_max = stop ? 5 : VB_SEDIT_HOLD_MAX;
		in = input_pipe(data, stop ? BIG : N, 7, &pid);
		vb_sink_init(&s, fd);
		enum vb_err rc = vb_sedit_run_counted(in, &s, &e, &len);
		vb_sink_done(&s);
		off_t n = lseek(fd, 0, SEEK_END);
		if (!stop) {
			CHECK_OK(rc);
			CHECK_EQ_U64(len, N);
			CHECK_EQ_U64(n, N - 10);
			out = malloc(N);
			REQUIRE(out && pread(fd, out, (size_t)n, 0) == n);
			CHECK(!memcmp(out, data, 10) && !memcmp(out + 10, data + 20, N - 20));
			free(out);
		} else {
			CHECK(rc == VB_ELIMIT);
			CHECK_EQ_U64(len, UINT64_MAX);
			CHECK_EQ_U64(n, 0);
		}
		close(fd);
		close(in);
		waitpid(pid, NULL, 0);
	}
	free(data);
}

int main(void)
{
	rnd_init(test_seed());
	signal(SIGPIPE, SIG_IGN);
	unsigned char *data = malloc(300 * 1024), *model = malloc(400 * 1024);
	unsigned char insbuf[5000];
	int cases = 0, range_errors = 0;
	REQUIRE(data && model);

	for (int c = 0; c < 300; c++) {
		size_t n = (size_t)rnd(c % 10 ? 300 * 1024 : 50);
		rnd_bytes(data, n);
		struct vb_sedit_del dels[8];
		struct vb_sedit e;
		memset(dels, 0, sizeof dels);
		struct ins ins = {insbuf, (size_t)rnd(sizeof insbuf)};
		rnd_bytes(insbuf, ins.n);
		memset(&e, 0, sizeof e);
		e.hold_max = 1u << 20;
		e.ndels = (size_t)rnd(5);
		e.dels = dels;
		int bad = rnd(12) == 0; /* make one position out of range */
		/* model: mark deleted bytes */
		static unsigned char del[300 * 1024 + 1];
		memset(del, 0, n + 1);
		for (size_t i = 0; i < e.ndels; i++) {
			uint64_t a = rnd(n + 1), len = rnd(n - a + 1);
			if (rnd(3) == 0)
				len = rnd(len % 5000 + 1);
			if (len > n - a)
				len = n - a;
			dels[i].label = NULL;
			dels[i].len = len;
			if (rnd(2)) {
				dels[i].pos.from_end = 1;
				dels[i].pos.n = n - a;
			} else {
				dels[i].pos.from_end = 0;
				dels[i].pos.n = a;
			}
			for (uint64_t k = a; k < a + len; k++)
				del[k] = 1;
		}
		uint64_t at = 0;
		e.insert = rnd(3) != 0;
		if (e.insert) {
			at = rnd(n + 1);
			e.ins_pos.from_end = rnd(2) != 0;
			e.ins_pos.n = e.ins_pos.from_end ? n - at : at;
			e.emit = emit;
			e.arg = &ins;
		}
		if (bad && e.ndels) {
			dels[0].len = n - (dels[0].pos.from_end ? n - dels[0].pos.n : dels[0].pos.n) + 1;
		} else if (bad && e.insert) {
			if (e.ins_pos.from_end)
				e.ins_pos.n = n + 1;
			else
				e.ins_pos.n = n + 1;
		} else {
			bad = 0;
		}
		size_t mn = 0;
		for (size_t k = 0; k <= n; k++) {
			if (e.insert && k == at) {
				memcpy(model + mn, insbuf, ins.n);
				mn += ins.n;
			}
			if (k < n && !del[k])
				model[mn++] = data[k];
		}

		for (int mode = 0; mode < 2; mode++) {
			unsigned char *out;
			size_t outn;
			pid_t pid = 0;
			int in = mode ? input_pipe(data, n, rnd_state + (uint64_t)c, &pid)
				      : input_file(data, n);
			enum vb_err rc = run(in, &e, &out, &outn);
			close(in);
			if (pid) {
				int st;
				waitpid(pid, &st, 0);
			}
			if (bad) {
				CHECK(rc == VB_ERANGE);
				if (rc == VB_ERANGE)
					range_errors++;
				if (mode == 0)
					CHECK(outn == 0); /* nothing written when the length is known */
			} else {
				if (rc)
					fprintf(stderr, "case %d mode %d: %s\n", c, mode, vb_err_detail());
				CHECK(rc == VB_OK);
				CHECK_EQ_U64(outn, mn);
				CHECK(outn == mn && memcmp(out, model, mn) == 0);
			}
			free(out);
			cases++;
		}
		if (check_failures) {
			fprintf(stderr, "failed at case %d\n", c);
			return 1;
		}
	}

	/* end-relative beyond hold_max on a pipe is refused before output */
	{
		struct vb_sedit_del d = {{100, 1, "", 0, 0}, 10, NULL};
		struct vb_sedit e;
		memset(&e, 0, sizeof e);
		e.dels = &d;
		e.ndels = 1;
		e.hold_max = 50;
		pid_t pid;
		int in = input_pipe(data, 1000, 1, &pid);
		unsigned char *out;
		size_t outn;
		CHECK(run(in, &e, &out, &outn) == VB_ELIMIT);
		CHECK(strstr(vb_err_detail(), "VB_HOLD_MAX") != NULL);
		CHECK(outn == 0);
		close(in);
		waitpid(pid, NULL, 0);
		free(out);
	}
	test_counted();
	printf("%d runs, %d out-of-range cases refused\n", cases, range_errors);
	free(data);
	free(model);
	return test_status("sedit");
}
