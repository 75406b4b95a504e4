/*
 * vb-cat: write the content of stores to stdout.
 *
 *   vb-cat [OPTION...] [STORE...]
 *
 * Each STORE in turn (no STORE, or `-`: a store on stdin, which must be a
 * regular file).  --range START:END or --offset/--length select bytes;
 * -V reads an older version; with --unit N they count elements of N bytes
 * (cli.h) and each store's content must be whole elements.  --lines A-B
 * selects lines ('\n' ends one) as `sed -n 'A,Bp'` prints them: the bytes
 * from the first byte of line A to the first of line max(A, B) + 1, or
 * to the end when that line does not exist; nothing when line A does not
 * (found by the store's line counts: O(log n) on a store that counts
 * lines, then the bytes).  Base-file
 * bytes move with splice (into a pipe made 1 MiB)/sendfile where the
 * kernel allows; into a regular file everything goes in aligned 1 MiB
 * chunks (vb_sink_stage), with copy_file_range where offsets allow;
 * bytes of the store's own records are verified against their checksums
 * first.  With --shape or --npy the content is an array (lib/array):
 * --slice and --transpose pick and order its elements, written in C
 * order by vb_array_view_copy (long runs sent as above, the rest gathered in
 * bounded memory, CAT_ARRAY_MEM), after a .npy header of the result with
 * --npy.  A store that fails is reported and the next one is still
 * written (like cat); the status says something failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "progress.h"
#include "vbuf.h"

static char *opt_range, *opt_offset, *opt_length, *opt_version, *opt_lines, *opt_slice;
static char *opt_transpose;
static int opt_transposed;

static struct poptOption options[] = {
	{"range", 'r', POPT_ARG_STRING, &opt_range, 0,
	 "only bytes START (included) to END (excluded); either may be empty", "START:END"},
	{"offset", 'o', POPT_ARG_STRING, &opt_offset, 0, "start at OFFSET", "OFFSET"},
	{"length", 'n', POPT_ARG_STRING, &opt_length, 0,
	 "write LENGTH bytes (they must all exist: a range is never shortened)", "LENGTH"},
	{"lines", 'l', POPT_ARG_STRING, &opt_lines, 0,
	 "only lines A to B ('\\n' ends a line), as sed -n 'A,Bp' prints them: A-B, A- (to the last line), -B or A",
	 "LINES"},
	{"at-version", 'V', POPT_ARG_STRING, &opt_version, 0, "read version N (a number, head or head~K) instead of the newest",
	 "N"},
	CLI_UNIT_OPTION("--range, --offset and --length count elements of N bytes (default 1); the content must be whole elements"),
	{NULL, 0, POPT_ARG_INCLUDE_TABLE, cli_array_options, 0,
	 "Arrays (vb(7) ARRAYS):", NULL},
	{"slice", 0, POPT_ARG_STRING, &opt_slice, 0,
	 "only this part of the array, in C order: NumPy basic indexing, an item an axis (3, -1, 10:20, ::-2, ...)",
	 "SPEC"},
	{"transpose", 0, POPT_ARG_STRING | POPT_ARGFLAG_OPTIONAL, &opt_transpose, 'T',
	 "the array's axes in this order (after --slice; default: reversed), in bounded memory",
	 "AXES"},
	{NULL, 0, POPT_ARG_INCLUDE_TABLE, cli_progress_options, 0,
	 "Progress (shown by default when the output is a file and stderr a terminal):", NULL},
	{NULL, 0, POPT_ARG_INCLUDE_TABLE, cli_common_options, 0, "Other:", NULL},
	POPT_TABLEEND
};

#define CAT_STEP ((uint64_t)64 << 20)
#define CAT_ARRAY_MEM ((size_t)16 << 20) /* --slice: the copy engine's memory */
#define CAT_TRANSPOSE_MEM ((size_t)64 << 20) /* --transpose: wider tiles, fewer reads */
#define CAT_STAGE ((size_t)1 << 20)    /* a stage of 1 MiB: 0.94x cat's CPU here, 128 KiB: 1.15x */
#define CAT_PIPE (1 << 20)             /* /proc/sys/fs/pipe-max-size's default */

struct sel {
	int has_start, has_end, has_len, has_lines;
	int array, has_slice;      /* --shape/--npy; --slice */
	struct vb_slice slice;
	struct vb_axes axes;       /* with opt_transposed */
	struct vb_pos start, end;   /* in elements of --unit */
	uint64_t len;               /* in elements */
	uint64_t first, last;       /* --lines (last UINT64_MAX: to the end) */
};

/* The bytes [*from, *to) of lines first..last of `version` of `b`
 * (content `len` bytes) as sed -n 'first,lastp' prints them: none when
 * line `first` does not exist, up to the end when line max(first, last)
 * is the last one or beyond it. */
static enum vb_err select_lines(struct vb_vbuf *b, uint64_t version, uint64_t len,
				uint64_t first, uint64_t last, uint64_t *from, uint64_t *to)
{
	uint64_t stop = first > last ? first : last;
	enum vb_err rc = vb_vbuf_line_start(b, version, VB_LINES_LF, first, from);

	if (rc == VB_ERANGE) {
		*from = *to = len;
		return VB_OK;
	}
	if (rc)
		return rc;
	if (stop == UINT64_MAX) {
		*to = len;
		return VB_OK;
	}
	rc = vb_vbuf_line_start(b, version, VB_LINES_LF, stop + 1, to);
	if (rc == VB_ERANGE) {
		*to = len;
		return VB_OK;
	}
	return rc;
}

struct cat_io {
	struct vb_vbuf *b;
	struct vb_sink *out;
};

static enum vb_err io_read(void *arg, uint64_t off, void *buf, size_t n)
{
	struct cat_io *c = arg;
	return vb_vbuf_read(c->b, off, buf, n);
}

static enum vb_err io_send(void *arg, uint64_t off, uint64_t n)
{
	struct cat_io *c = arg;
	return vb_vbuf_send(c->b, off, n, c->out);
}

static enum vb_err io_write(void *arg, const void *buf, size_t n)
{
	struct cat_io *c = arg;
	return vb_sink_write(c->out, buf, n);
}

/* --shape/--npy: the array's (sliced, transposed) elements in C order,
 * after a .npy header of the result with --npy */
static enum vb_err cat_array(struct vb_vbuf *b, const struct sel *sel, struct vb_sink *out)
{
	struct vb_array a;
	struct vb_array_view v;
	struct cat_io c = {b, out};
	struct vb_array_io io = {io_read, io_send, io_write, &c};
	enum vb_err rc;

	if ((rc = cli_array(b, &a)))
		return rc;
	vb_array_view_of(&a, &v);
	if (sel->has_slice && (rc = vb_array_view_slice(&v, &sel->slice)))
		goto done;
	if (opt_transposed && (rc = vb_array_view_transpose(&v, &sel->axes)))
		goto done;
	if (cli_opts()->npy) {
		unsigned char *h;
		size_t hn;
		if ((rc = vb_npy_header(&a, v.count, v.ndim, 0, &h, &hn)))
			goto done;
		rc = vb_sink_write(out, h, hn);
		free(h);
		if (rc)
			goto done;
	}
	rc = vb_array_view_copy(&v, &io, opt_transposed ? CAT_TRANSPOSE_MEM : CAT_ARRAY_MEM);
	enum vb_err fl = vb_sink_flush(out);
	if (!rc)
		rc = fl;
done:
	vb_array_done(&a);
	return rc;
}

static int cat_one(const char *name, const struct sel *sel, const struct cli_version *version,
		   struct vb_sink *out)
{
	struct vb_vbuf_opts o;
	struct vb_vbuf *b;
	enum vb_err rc;
	uint64_t from = 0, to, len;
	const char *path = name;
	char fdpath[4096];

	if (!strcmp(name, "-")) {
		struct stat st;
		if (fstat(0, &st) < 0 || !S_ISREG(st.st_mode)) {
			cli_error("-", "a store on stdin must be a regular file (use 'vb-cat < FILE')");
			return EXIT_FAIL;
		}
		/* the store's real path, so a base recorded relative to the
		 * store's directory is found */
		ssize_t l = readlink("/proc/self/fd/0", fdpath, sizeof fdpath - 1);
		if (l > 0 && fdpath[0] == '/' && (size_t)l < sizeof fdpath - 1) {
			fdpath[l] = 0;
			struct stat a;
			if (stat(fdpath, &a) < 0 || a.st_ino != st.st_ino || a.st_dev != st.st_dev)
				snprintf(fdpath, sizeof fdpath, "/dev/stdin");
		} else {
			snprintf(fdpath, sizeof fdpath, "/dev/stdin");
		}
		path = fdpath;
	}
	cli_store_opts(&o, 0);
	if ((rc = cli_vbuf_open(path, &o, version, &b)))
		return cli_fail(name, rc);
	cli_warnings(name, b);
	int st_out = cli_check_output(name, b);
	if (st_out) {
		vb_vbuf_close(b);
		return st_out;
	}
	len = vb_vbuf_len(b);
	to = len;
	if ((rc = cli_check_whole(b, vb_vbuf_version(b), len)))
		goto fail;
	if (sel->array) {
		rc = cat_array(b, sel, out);
		if (rc)
			goto fail;
		vb_vbuf_close(b);
		return EXIT_OK;
	}
	if (sel->has_lines &&
	    (rc = select_lines(b, vb_vbuf_version(b), len, sel->first, sel->last, &from, &to)))
		goto fail;
	if (sel->has_start && (rc = cli_resolve(b, vb_vbuf_version(b), &sel->start, len, &from)))
		goto fail;
	if (sel->has_end && (rc = cli_resolve(b, vb_vbuf_version(b), &sel->end, len, &to)))
		goto fail;
	if (sel->has_len) {
		uint64_t n;
		if ((rc = cli_span(from, sel->len, len, &n)))
			goto fail;
		to = from + n;
	}
	if (from > to) {
		rc = vb_err_set(VB_ERANGE, "%srange start %llu is after its end %llu",
				cli_opts()->unit == 1 ? "" : "element ",
				(unsigned long long)cli_elements(from),
				(unsigned long long)cli_elements(to));
		goto fail;
	}
	/* in steps, so that a progress line can follow */
	struct stat st;
	int to_file = fstat(out->fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode));
	struct cli_progress *pr = cli_progress_start_if("copied", to - from, to_file);
	for (uint64_t at = from; at < to && !rc;) {
		uint64_t step = pr && to - at > CAT_STEP ? CAT_STEP : to - at;
		rc = vb_vbuf_send(b, at, step, out);
		at += step;
		cli_progress_update(pr, at - from);
	}
	/* what was staged goes out before anything is reported */
	enum vb_err fl = vb_sink_flush(out);
	if (!rc)
		rc = fl;
	cli_progress_done(pr, to - from, !rc);
	if (rc)
		goto fail;
	vb_vbuf_close(b);
	return EXIT_OK;
fail:
	vb_vbuf_close(b);
	if (rc == VB_EPIPE)
		return -1;
	return cli_fail_output(name, rc, out);
}

/* --transpose takes its AXES attached (--transpose=1,0) or as the next
 * word when that is a list of integers; before any other next word (a
 * store) it stands alone: it is made --transpose= (reversed) before popt,
 * whose optional arguments would take any word */
static void transpose_alone(int argc, char **argv)
{
	static char alone[] = "--transpose=";
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return;
		if (strcmp(argv[i], "--transpose"))
			continue;
		const char *next = i + 1 < argc ? argv[i + 1] : "";
		if (!*next || strspn(next, "0123456789-+, ") != strlen(next) || !strcmp(next, "--"))
			argv[i] = alone;
	}
}

static void on_opt(int val, const char *arg)
{
	(void)arg;
	if (val == 'T')
		opt_transposed = 1;
}

int main(int argc, char **argv)
{
	const char **args;
	int nargs, status = EXIT_OK;
	struct sel sel;
	struct cli_version version = CLI_NEWEST;
	static const char *stdin_only[] = {"-", NULL};

	cli_init(argv[0]);
	transpose_alone(argc, argv);
	poptContext ctx = cli_context(argc, argv, options, "[OPTION...] [STORE...]");
	cli_parse(ctx, on_opt);
	args = cli_operands(ctx, &nargs);
	memset(&sel, 0, sizeof sel);

	const char *range = cli_arg(opt_range), *offset = cli_arg(opt_offset);
	const char *length = cli_arg(opt_length), *lines = cli_arg(opt_lines);
	if (lines && (range || offset || length || cli_opts()->unit_arg))
		cli_usage("--lines cannot be combined with --%s", range ? "range" : offset ? "offset"
			  : length ? "length" : "unit");
	if (lines) {
		sel.has_lines = 1;
		if (vb_parse_line_range(lines, &sel.first, &sel.last))
			cli_usage("--lines: %s", vb_err_detail());
	}
	if (range && (offset || length))
		cli_usage("--range cannot be combined with --offset or --length");
	if (range) {
		const char *colon = strchr(range, ':');
		if (!colon)
			cli_usage("invalid --range '%s' (expected START:END)", range);
		char *start = strndup(range, (size_t)(colon - range));
		if (!start)
			cli_usage("out of memory");
		if (*start) {
			sel.has_start = 1;
			sel.start = cli_pos(start);
		}
		if (colon[1]) {
			sel.has_end = 1;
			sel.end = cli_pos(colon + 1);
		}
		free(start);
	}
	if (offset) {
		sel.has_start = 1;
		sel.start = cli_pos(offset);
	}
	if (length) {
		sel.has_len = 1;
		sel.len = cli_length(length);
	}
	if (opt_slice || opt_transposed) {
		const char *what = opt_slice ? "--slice" : "--transpose";
		if (!cli_array_given())
			cli_usage("%s needs --shape or --npy (what the array is)", what);
		if (range || offset || length || lines)
			cli_usage("%s cannot be combined with --%s", what,
				  range ? "range" : offset ? "offset" : length ? "length" : "lines");
	}
	if (cli_array_given()) {
		sel.array = 1;
		if (range || offset || length || lines)
			cli_usage("--%s cannot be combined with --%s", cli_opts()->npy ? "npy" : "shape",
				  range ? "range" : offset ? "offset" : length ? "length" : "lines");
	}
	if (opt_slice) {
		sel.has_slice = 1;
		if (vb_slice_parse(cli_arg(opt_slice), &sel.slice))
			cli_usage("--slice: %s", vb_err_detail());
	}
	if (opt_transposed && vb_axes_parse(cli_arg(opt_transpose), &sel.axes))
		cli_usage("--transpose: %s", vb_err_detail());
	if (opt_version)
		version = cli_version(opt_version);
	if (!nargs) {
		args = stdin_only;
		nargs = 1;
	}

	/* onto a regular file: no store's content is written unless none
	 * of them reads that file (`vb-cat a.vb s.vb >> s.vb` must not
	 * append a.vb to s.vb either) */
	struct stat ost;
	if (nargs > 1 && fstat(1, &ost) == 0 && S_ISREG(ost.st_mode)) {
		for (int i = 0; i < nargs; i++) {
			struct vb_vbuf_opts o;
			struct vb_vbuf *b;
			if (!strcmp(args[i], "-"))
				continue;
			cli_store_opts(&o, 0);
			o.lenient_base = 1;
			if (vb_vbuf_open(args[i], &o, VB_HEAD, &b))
				continue; /* reported in its turn */
			int st = cli_check_output(args[i], b);
			vb_vbuf_close(b);
			if (st)
				return cli_close_stdout(st);
		}
	}

	struct vb_sink out;
	vb_sink_init(&out, 1);
	/* into a regular file: in aligned chunks (io.h); into a pipe: a
	 * larger pipe, so that each splice and each wake-up of the reader
	 * moves more (failing that, the pipe stays as it is) */
	if (vb_sink_stage(&out, CAT_STAGE)) {
		cli_error(NULL, "%s", vb_err_detail());
		return cli_close_stdout(EXIT_FAIL);
	}
	if (out.allow && !out.stage && fstat(1, &ost) == 0 && S_ISFIFO(ost.st_mode))
		(void)fcntl(1, F_SETPIPE_SZ, CAT_PIPE);
	for (int i = 0; i < nargs; i++) {
		int st = cat_one(args[i], &sel, &version, &out);
		if (st < 0) {
			status = EXIT_OK; /* the reader went away: stop quietly */
			break;
		}
		if (st > status)
			status = st;
	}
	vb_sink_done(&out);
	return cli_close_stdout(status);
}
