/*
 * vb-insert: insert bytes into a store (or a stream) at an offset.
 *
 *   vb-insert [OPTION...] STORE OFFSET [FILE...]
 *
 * The bytes come from the FILEs in order, or stdin (no FILE, or `-`), or
 * --text / --hex.  With --replace LEN they replace LEN bytes at OFFSET in
 * one operation.  Everything is one new version.  STORE `-` edits stdin to
 * stdout instead (the bytes then come from FILE, --text or --hex).
 * With --unit N, OFFSET and LEN count elements of N bytes (cli.h), and the
 * bytes inserted must be whole elements: --text and --hex are checked on
 * the command line, regular files by their size before anything is read,
 * and everything by the count that arrived, before the commit (a store)
 * or at the end (a stream).  Exit statuses are cli.h's (vb-insert(1)): a
 * failed insert leaves the store as it was; in stream mode what was
 * written before the failure stays written.
 *
 *   vb-insert [OPTION...] --edits FILE STORE
 *
 * makes one version of a batch of inserts, deletes and replaces, one
 * "OFFSET LENGTH [DATA]" line each, all in the coordinates of the version
 * before (lib/edits parses, checks and orders them; here they are
 * resolved against the store and a bad line is reported FILE:LINE: cause,
 * as vb-delete --ranges does).  The whole batch is read before the store
 * is opened; its DATA is held in memory, at most VB_EDITS_MAX bytes.
 *
 *   vb-insert [OPTION...] --axis K (--shape S [--unit N] | --npy) STORE INDEX [FILE...]
 *
 * inserts whole slabs along axis K of an array (lib/array): the input's
 * size gives their number m (inputs that are not regular files are first
 * copied into an unnamed temporary file, so a pipe costs disk, not
 * memory), and each run of the block (one per index of the axes before K,
 * in the file's order) is inserted at its place, from the lowest offset
 * up; with --npy the header's shape is replaced in the same version.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "edits.h"
#include "progress.h"
#include "sedit.h"
#include "vbuf.h"

static char *opt_text, *opt_hex, *opt_replace, *opt_base, *opt_message, *opt_at_version;
static char *opt_anchor, *opt_edits, *opt_axis;
static int opt_create;

static struct poptOption options[] = {
	{"text", 't', POPT_ARG_STRING, &opt_text, 0, "insert STRING itself (no escapes)", "STRING"},
	{"hex", 'x', POPT_ARG_STRING, &opt_hex, 0,
	 "insert the bytes written as hex digit pairs (spaces and colons between pairs allowed)",
	 "HEX"},
	{"replace", 'r', POPT_ARG_STRING, &opt_replace, 0,
	 "replace LEN bytes at OFFSET instead of only inserting", "LEN"},
	CLI_UNIT_OPTION("OFFSET and LEN count elements of N bytes (default 1); the content and the inserted bytes must be whole elements"),
	{"create", 'c', POPT_ARG_NONE, &opt_create, 0, "create STORE if it does not exist", NULL},
	{"base", 'b', POPT_ARG_STRING, &opt_base, 0,
	 "create STORE with FILE's content as version 0, referenced in place (implies --create)",
	 "FILE"},
	{"message", 'm', POPT_ARG_STRING, &opt_message, 0, "describe the new version", "TEXT"},
	{"at-version", 'V', POPT_ARG_STRING, &opt_at_version, 0,
	 "OFFSET (and --replace LEN) are in version V's content (a number, head or head~K); they are carried through the edits since",
	 "V"},
	{"anchor", 'a', POPT_ARG_STRING, &opt_anchor, 0,
	 "set anchor NAME on the first inserted byte (then @NAME works in every offset)", "NAME"},
	{"edits", 0, POPT_ARG_STRING, &opt_edits, 0,
	 "make one version of the edits in FILE ('-' for stdin): 'OFFSET LENGTH [DATA]' lines, "
	 "all in the coordinates of the version before; DATA is 0x HEX or a \"C-escaped\" string, "
	 "none deletes (give only STORE)", "FILE"},
	{NULL, 0, POPT_ARG_INCLUDE_TABLE, cli_array_options, 0, "Arrays (vb(7) ARRAYS):", NULL},
	{"axis", 0, POPT_ARG_STRING, &opt_axis, 0,
	 "insert whole slabs before INDEX along axis K of the array: give STORE INDEX [FILE...]; the input holds them in C order of the inserted block",
	 "K"},
	{NULL, 0, POPT_ARG_INCLUDE_TABLE, cli_progress_options, 0, "Progress (inserts from files and stdin):", NULL},
	{NULL, 0, POPT_ARG_INCLUDE_TABLE, cli_edit_options, 0, "Writing:", NULL},
	{NULL, 0, POPT_ARG_INCLUDE_TABLE, cli_common_options, 0, "Other:", NULL},
	POPT_TABLEEND
};

/* Decode --hex; a malformed value is a usage error. */
static unsigned char *decode_hex(const char *s, size_t *n)
{
	unsigned char *out;

	if (vb_parse_hex(s, &out, n))
		cli_usage("invalid --hex %s", vb_err_detail());
	return out;
}

struct source {
	const char *name;
	int fd;
};

/* Open every input before touching the store, so an unreadable one
 * changes nothing. */
static int open_inputs(const char **files, int n, struct source *src)
{
	for (int i = 0; i < n; i++) {
		src[i].name = files[i];
		if (!strcmp(files[i], "-")) {
			src[i].fd = 0;
			continue;
		}
		src[i].fd = open(files[i], O_RDONLY | O_CLOEXEC);
		if (src[i].fd < 0) {
			cli_error(files[i], "%s", strerror(errno));
			return EXIT_FAIL;
		}
		struct stat st;
		if (fstat(src[i].fd, &st) == 0 && S_ISDIR(st.st_mode)) {
			cli_error(files[i], "is a directory");
			return EXIT_FAIL;
		}
	}
	return EXIT_OK;
}

/* The bytes the inputs hold when every one is a regular file (from its
 * read offset; stdin named twice counts once), else 0: the progress
 * line's total. */
static uint64_t inputs_total(const struct source *src, int n)
{
	uint64_t total = 0;

	for (int i = 0; i < n; i++) {
		struct stat st;
		off_t cur;
		int again = 0;
		for (int j = 0; j < i; j++)
			again |= src[j].fd == src[i].fd;
		if (again)
			continue;
		if (fstat(src[i].fd, &st) < 0 || !S_ISREG(st.st_mode) ||
		    (cur = lseek(src[i].fd, 0, SEEK_CUR)) < 0 || cur > st.st_size ||
		    __builtin_add_overflow(total, (uint64_t)(st.st_size - cur), &total))
			return 0;
	}
	return total;
}

/* With --unit: when every input is a regular file, what they hold is
 * known, and bytes that are not whole elements are refused before any
 * is read.  Returns an exit status (0: go on). */
static int check_input_sizes(const char *file, const struct source *src, int n)
{
	/* 0 when not known: counted as it arrives instead */
	if (cli_opts()->unit != 1 && cli_check_inserted(inputs_total(src, n)))
		return cli_fail(file, VB_ERANGE);
	return EXIT_OK;
}


static void free_inputs(struct source *src, int n);

/* The inputs: the FILEs opened, or stdin when there are none and
 * `use_stdin`.  Returns an exit status (0: *src holds *nsrc inputs, for
 * free_inputs(*src, nfiles)). */
static int sources(const char **files, int nfiles, int use_stdin, struct source **src, int *nsrc)
{
	int status;
	*src = calloc((size_t)(nfiles ? nfiles : 1), sizeof **src);
	*nsrc = nfiles;
	if (!*src)
		cli_usage("out of memory");
	if (use_stdin && !nfiles) {
		(*src)[0].name = "-";
		(*src)[0].fd = 0;
		*nsrc = 1;
	} else if ((status = open_inputs(files, nfiles, *src))) {
		free_inputs(*src, nfiles);
		return status;
	}
	return EXIT_OK;
}

/* Refuse to read the store into itself (it would grow forever). */
static int same_file(const char *store, const struct source *src, int n)
{
	struct stat a, b;

	if (stat(store, &a) < 0)
		return 0;
	for (int i = 0; i < n; i++)
		if (fstat(src[i].fd, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
			cli_error(store, "cannot insert the store into itself (input %s)",
				  cli_quoted(src[i].name));
			return 1;
		}
	return 0;
}

struct emit_arg {
	const unsigned char *bytes;
	size_t n;
	struct source *src;
	int nsrc;
	const char *failed;
	uint64_t count;          /* bytes inserted */
};

static enum vb_err emit(void *arg, struct vb_sink *out)
{
	struct emit_arg *a = arg;
	enum vb_err rc;
	uint64_t copied;

	if (a->bytes) {
		a->count = a->n;
		return vb_sink_write(out, a->bytes, a->n);
	}
	for (int i = 0; i < a->nsrc; i++) {
		copied = 0;
		rc = vb_sink_pump(out, a->src[i].fd, UINT64_MAX, &copied);
		a->count += copied;
		if (rc) {
			if (rc != VB_EPIPE)
				a->failed = a->src[i].name;
			return rc;
		}
	}
	return VB_OK;
}

static int stream_mode(const char *offset, const unsigned char *bytes, size_t nbytes,
		       struct source *src, int nsrc, int replace, uint64_t rlen)
{
	struct vb_sedit e;
	struct vb_sedit_del del;
	struct emit_arg a = {bytes, nbytes, src, nsrc, NULL, 0};
	struct vb_sink out;
	enum vb_err rc;

	memset(&e, 0, sizeof e);
	e.insert = 1;
	e.ins_pos = cli_pos(offset);
	e.emit = emit;
	e.arg = &a;
	e.hold_max = VB_SEDIT_HOLD_MAX;
	const char *hm = getenv("VB_HOLD_MAX");
	if (hm && *hm)
		e.hold_max = cli_size(hm, "VB_HOLD_MAX");
	if (replace) {
		del.pos = e.ins_pos;
		del.len = rlen;
		del.label = NULL;
		e.dels = &del;
		e.ndels = 1;
	}
	vb_sink_init(&out, 1);
	rc = cli_stream(&e, &out);
	/* inserted bytes that were not whole elements: known only now
	 * (input FILEs that are not regular files) */
	if (!rc)
		rc = cli_check_inserted(a.count);
	vb_sink_done(&out);
	if (rc)
		return cli_fail_output(a.failed ? a.failed : "-", rc, &out);
	return EXIT_OK;
}

static void free_inputs(struct source *src, int n)
{
	for (int i = 0; i < n; i++)
		if (src[i].fd > 0)
			close(src[i].fd);
	free(src);
}

/* Open STORE for writing (made with --create or --base), print its
 * warnings and guard it against interrupts (cli_guard). */
static enum vb_err open_writer(const char *store, const char *base, struct vb_vbuf **b)
{
	struct vb_vbuf_opts o;
	enum vb_err rc;

	cli_store_opts(&o, 1);
	o.create = opt_create || base;
	o.base = base;
	if ((rc = vb_vbuf_open(store, &o, VB_HEAD, b))) {
		if (rc == VB_ENOENT)
			vb_err_set(rc, "no such store (use --create to make one)");
		return rc;
	}
	cli_warnings(store, *b);
	cli_guard(*b);
	return VB_OK;
}

static int edit_store(const char *store, const struct vb_pos *pos, const unsigned char *bytes,
		      size_t nbytes, const struct source *src, int nsrc, uint64_t rlen,
		      const char *base, const char *message)
{
	struct vb_vbuf *b;
	enum vb_err rc;
	uint64_t at, inserted = 0;
	const char *culprit = store;
	struct cli_progress *pr = NULL;
	int status;

	if ((rc = open_writer(store, base, &b)))
		return cli_fail(store, rc);
	if ((rc = cli_check_if_version(b)))
		goto fail;
	/* the offsets are in version `ver`'s content; carried to the head.
	 * With --unit both contents must be whole elements, and OFFSET and
	 * LEN become bytes here. */
	uint64_t head = vb_vbuf_version(b), len;
	uint64_t ver;
	if ((rc = cli_at_version(b, opt_at_version, &ver)) ||
	    (rc = cli_version_len(b, ver, &len)) || (rc = cli_check_whole(b, ver, len)) ||
	    (rc = cli_check_whole(b, head, vb_vbuf_len(b))) ||
	    (rc = cli_resolve(b, ver, pos, len, &at)))
		goto fail;
	if (opt_replace && rlen > cli_elements(len - at)) {
		if (cli_opts()->unit == 1)
			rc = vb_err_set(VB_ERANGE, "cannot replace %llu bytes at offset %llu: the content ends at %llu",
					(unsigned long long)rlen, (unsigned long long)at,
					(unsigned long long)len);
		else
			rc = vb_err_set(VB_ERANGE, "cannot replace %llu elements at element %llu: the content ends at element %llu",
					(unsigned long long)rlen, (unsigned long long)cli_elements(at),
					(unsigned long long)cli_elements(len));
		goto fail;
	}
	uint64_t rlen_e = rlen, at_e = cli_elements(at);
	if ((rc = cli_scale(rlen_e, &rlen)))
		goto fail;
	if (ver != head) {
		/* the replaced range's end moves with its last byte (bytes
		 * inserted right after it since are not replaced) */
		uint64_t end = at + rlen;
		char text[64];
		if ((rc = cli_map(b, ver, head, &at, 1, 0)) ||
		    (rlen && (rc = cli_map(b, ver, head, &end, 1, 1))) ||
		    (rc = vb_vbuf_note_at_version(b, ver)))
			goto fail;
		rlen = rlen && end > at ? end - at : 0;
		/* edits since V that were not whole elements */
		if (opt_replace)
			snprintf(text, sizeof text, "range %llu+%llu", (unsigned long long)at_e,
				 (unsigned long long)rlen_e);
		else
			snprintf(text, sizeof text, "offset %llu", (unsigned long long)at_e);
		if ((rc = cli_check_carried(text, opt_replace != NULL, ver, head, at, rlen)))
			goto fail;
	}
	if (bytes) {
		rc = opt_replace ? vb_vbuf_replace(b, at, rlen, bytes, nbytes)
				 : vb_vbuf_insert(b, at, bytes, nbytes);
	} else {
		int *fds = calloc((size_t)nsrc, sizeof *fds);
		size_t failed;
		if (!fds) {
			rc = vb_err_set(VB_ENOMEM, "out of memory");
			goto fail;
		}
		for (int i = 0; i < nsrc; i++)
			fds[i] = src[i].fd;
		pr = cli_progress_start("inserted", inputs_total(src, nsrc));
		vb_vbuf_progress(b, cli_progress_cb, pr);
		rc = vb_vbuf_insert_fds(b, at, fds, (size_t)nsrc, opt_replace != NULL, rlen,
					&inserted, &failed);
		if (rc && failed < (size_t)nsrc)
			culprit = src[failed].name;
		free(fds);
		/* not committed: what was appended is cut off again */
		if (!rc)
			rc = cli_check_inserted(inserted);
	}
	if (!rc && opt_anchor)
		rc = vb_vbuf_set_anchor(b, cli_arg(opt_anchor), at);
fail:
	status = cli_commit(b, rc, culprit, message);
	cli_progress_done(pr, inserted, status == EXIT_OK);
	return status;
}

/* ---------------------------------------------------------------- arrays */

/* The inputs' total size: summed where every one is a regular file, else
 * they are copied into an unnamed temporary file (in $TMPDIR), which then
 * becomes the only input.  Memory stays bounded whatever a pipe holds. */
static enum vb_err measure(const struct source *src, int n, int *spool, uint64_t *total)
{
	int all_regular = 1;
	uint64_t t = 0;
	for (int i = 0; i < n; i++) {
		struct stat st;
		off_t cur;
		if (fstat(src[i].fd, &st) < 0 || !S_ISREG(st.st_mode) ||
		    (cur = lseek(src[i].fd, 0, SEEK_CUR)) < 0 || cur > st.st_size) {
			all_regular = 0;
			break;
		}
		for (int j = 0; j < i; j++)
			if (src[j].fd == src[i].fd)
				all_regular = 0;
		t += (uint64_t)(st.st_size - cur);
	}
	if (all_regular) {
		*total = t;
		return VB_OK;
	}
	const char *dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		char path[4096];
		snprintf(path, sizeof path, "%s/vb-insert.XXXXXX", dir);
		if ((fd = mkstemp(path)) < 0)
			return vb_err_sys("a temporary file in %s", dir);
		unlink(path);
	}
	t = 0;
	for (int i = 0; i < n; i++) {
		struct vb_sink out;
		uint64_t got;
		vb_sink_init(&out, fd);
		enum vb_err rc = vb_sink_pump(&out, src[i].fd, UINT64_MAX, &got);
		vb_sink_done(&out);
		if (rc) {
			vb_err_prefix("%s", src[i].name);
			close(fd);
			return rc;
		}
		t += got;
	}
	if (lseek(fd, 0, SEEK_SET) < 0) {
		close(fd);
		return vb_err_sys("lseek");
	}
	*spool = fd;
	*total = t;
	return VB_OK;
}

/* the input holds whole slabs? */
static enum vb_err whole_slabs(const struct vb_array *a, unsigned k, uint64_t total, uint64_t slab)
{
	char t[64];
	if (total % slab == 0)
		return VB_OK;
	vb_array_shape_text(a->shape, a->ndim, t, sizeof t);
	return vb_err_set(VB_EFORMAT, "the input is %llu bytes, not whole slabs of %llu bytes along axis %u of a %s array",
			  (unsigned long long)total, (unsigned long long)slab, k, t);
}

struct axis_ins {
	struct vb_vbuf *b;
	const int *fds;
	size_t nfds, cur;     /* the inputs, the one being read */
	uint64_t run;         /* bytes inserted at each insertion point */
	uint64_t shift;       /* bytes inserted so far */
};

/* one run of the block at its place (one operation) */
static enum vb_err insert_run(void *arg, uint64_t off, uint64_t len)
{
	struct axis_ins *x = arg;
	enum vb_err rc;
	(void)len;
	if ((rc = vb_vbuf_insert_fds_n(x->b, off + x->shift, x->fds, x->nfds, &x->cur, x->run)))
		return rc;
	x->shift += x->run;
	return VB_OK;
}

/* vb-insert --axis K STORE INDEX [FILE...]: one version */
static int axis_insert(const char *store, int64_t axis, int64_t index, struct source *src,
		       int nsrc, const char *message)
{
	struct vb_vbuf *b;
	struct vb_array a = {0};
	enum vb_err rc;
	int spool = -1;
	const char *culprit = store;
	int fds[64];

	if ((rc = open_writer(store, NULL, &b)))
		return cli_fail(store, rc);
	unsigned k;
	uint64_t at, total = 0, slab, unit, shape[VB_ARRAY_MAXDIM];
	int *fdv = nsrc <= 64 ? fds : calloc((size_t)nsrc, sizeof *fdv);
	if (!fdv) {
		rc = vb_err_set(VB_ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = cli_check_if_version(b)) || (rc = cli_array(b, &a)) ||
	    (rc = vb_array_axis(&a, axis, &k)) || (rc = vb_array_index(&a, k, index, 1, &at)))
		goto fail;
	memcpy(shape, a.shape, sizeof shape);
	vb_array_slab(&a, k, &slab, &unit);
	for (int i = 0; i < nsrc; i++)
		fdv[i] = src[i].fd;
	if (slab && slab == unit) {
		/* one run (axis 0 of the file's order): streamed as it comes,
		 * counted afterwards */
		size_t failed;
		if ((rc = vb_vbuf_insert_fds(b, a.header + at * unit, fdv, (size_t)nsrc, 0, 0, &total,
					     &failed))) {
			if (failed < (size_t)nsrc)
				culprit = src[failed].name;
			goto fail;
		}
		if ((rc = whole_slabs(&a, k, total, slab)))
			goto fail;
		shape[k] += total / slab;
		rc = cli_array_reshape(b, &a, shape, a.ndim);
		goto fail;
	}
	if ((rc = measure(src, nsrc, &spool, &total))) {
		culprit = NULL;
		goto fail;
	}
	if (spool >= 0) {
		fdv[0] = spool;
		nsrc = 1;
	}
	if (!slab) {
		rc = vb_err_set(VB_EINVAL, "the slabs along axis %u hold no elements (another axis has size 0): how many to insert cannot be told from the input",
				k);
		goto fail;
	}
	if ((rc = whole_slabs(&a, k, total, slab)))
		goto fail;
	uint64_t m = total / slab;
	if (m > UINT64_MAX / (unit ? unit : 1) || a.shape[k] > (uint64_t)INT64_MAX - m) {
		rc = vb_err_set(VB_ERANGE, "the array would pass 2^63-1 bytes");
		goto fail;
	}
	struct axis_ins x = {b, fdv, (size_t)nsrc, 0, m * unit, 0};
	if (m && !(rc = cli_array_runs(vb_array_axis_run_count(&a, k))))
		rc = vb_array_axis_runs(&a, k, at, 0, insert_run, &x);
	if (rc) {
		if (rc == VB_EIO && spool < 0 && x.cur < (size_t)nsrc && vb_err_errno())
			culprit = src[x.cur].name;
		goto fail;
	}
	shape[k] += m;
	rc = cli_array_reshape(b, &a, shape, a.ndim);
fail:
	if (fdv != fds)
		free(fdv);
	if (spool >= 0)
		close(spool);
	vb_array_done(&a);
	return cli_commit(b, rc, culprit, message);
}

/* ---------------------------------------------------------------- edits */

static enum vb_err edit_one(void *arg, uint64_t at, uint64_t bytes, const unsigned char *data,
			    size_t ndata)
{
	struct vb_vbuf *b = arg;

	if (!ndata)
		return vb_vbuf_delete(b, at, bytes);
	if (!bytes)
		return vb_vbuf_insert(b, at, data, ndata);
	return vb_vbuf_replace(b, at, bytes, data, ndata);
}

/* "PROG: FILE:LINE: cause" for a line of the edits file; EXIT_FAIL. */
static int bad_line(const char *file, uint64_t line)
{
	cli_error(NULL, "%s:%llu: %s", cli_name(file), (unsigned long long)line, vb_err_detail());
	return EXIT_FAIL;
}

/* --edits FILE: read the batch whole, then resolve it in the newest
 * version of STORE, check it and apply it as one new version. */
static int edit_batch(const char *store, const char *file, const char *base,
		      const char *message)
{
	struct vb_edits *e;
	struct vb_vbuf *b;
	uint64_t max = VB_EDITS_DATA_MAX, bad = 0, len;
	const char *env = getenv("VB_EDITS_MAX");
	enum vb_err rc;
	int fd = 0, status;

	if (env && *env)
		max = cli_size(env, "VB_EDITS_MAX");
	if (strcmp(file, "-")) {
		struct stat st;
		if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0) {
			cli_error(file, "%s", strerror(errno));
			return EXIT_FAIL;
		}
		if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
			cli_error(file, "is a directory");
			close(fd);
			return EXIT_FAIL;
		}
	}
	if ((rc = vb_edits_create(VB_EDITS_COUNT_MAX, max, &e))) {
		if (fd > 0)
			close(fd);
		return cli_fail(NULL, rc);
	}
	rc = vb_edits_read(e, fd, &bad);
	if (fd > 0)
		close(fd);
	if (rc) {
		status = bad ? bad_line(file, bad) : cli_fail(file, rc);
		vb_edits_free(e);
		return status;
	}
	if ((rc = open_writer(store, base, &b))) {
		vb_edits_free(e);
		return cli_fail(store, rc);
	}
	if ((rc = cli_check_if_version(b)))
		goto fail;
	/* every OFFSET and LENGTH in the newest version's content */
	len = vb_vbuf_len(b);
	for (size_t i = 0; i < vb_edits_count(e); i++) {
		struct vb_edit *d = vb_edits_get(e, i);
		if ((rc = cli_resolve(b, vb_vbuf_version(b), &d->pos, len, &d->at)) ||
		    (rc = cli_span(d->at, d->len, len, &d->bytes))) {
			/* the line's own fault: a malformed or missing
			 * anchor, a position outside the content */
			if (rc == VB_EINVAL || rc == VB_ERANGE || rc == VB_ENOENT) {
				bad = d->tag;
				goto bad;
			}
			goto fail;
		}
	}
	if ((rc = vb_edits_check(e, &bad))) {
		if (rc == VB_EINVAL || rc == VB_ERANGE)
			goto bad;
		goto fail;
	}
	rc = vb_edits_apply(e, edit_one, b);
fail:
	vb_edits_free(e);
	return cli_commit(b, rc, store, message);
bad:
	status = bad_line(file, bad);
	cli_vclose(b);
	vb_edits_free(e);
	return status;
}

/* vb-insert --edits FILE STORE: the options that apply, then the batch. */
static int edits_main(const char **args, int nargs)
{
	const char *file = cli_arg(opt_edits), *message = cli_arg(opt_message);
	const struct cli_opts *co = cli_opts();

	if (opt_text || opt_hex || opt_replace || opt_anchor || opt_at_version || co->unit_arg)
		cli_usage("--%s cannot be used with --edits (the edits give offsets, lengths and data)",
			  opt_text ? "text" : opt_hex ? "hex" : opt_replace ? "replace"
			  : opt_anchor ? "anchor" : opt_at_version ? "at-version" : "unit");
	if (nargs < 1)
		cli_usage("missing STORE");
	if (nargs > 1)
		cli_usage("--edits takes the edits from FILE: give only STORE (%s is extra)",
			  cli_quoted(args[1]));
	if (!strcmp(args[0], "-"))
		cli_usage("--edits needs a store: a stream ('-') cannot take a batch of edits");
	if (message && strlen(message) > VB_MESSAGE_MAX)
		cli_usage("--message is longer than %u bytes", VB_MESSAGE_MAX);
	return edit_batch(args[0], file, cli_arg(opt_base), message);
}

int main(int argc, char **argv)
{
	const char **args;
	int nargs, status;
	unsigned char *bytes = NULL;
	size_t nbytes = 0;
	uint64_t rlen = 0;

	args = cli_start(argc, argv, options,
			 "[OPTION...] STORE OFFSET [FILE...]\n   or: vb-insert [OPTION...] --edits FILE STORE\n   or: vb-insert [OPTION...] --axis K (--shape S | --npy) STORE INDEX [FILE...]",
			 &nargs);
	if (opt_axis && opt_edits)
		cli_usage("--axis and --edits cannot be used together");
	if (cli_array_given() && !opt_axis)
		cli_usage("--%s describes the array for --axis: give --axis K (or use vb-cat --slice to read it)",
			  cli_opts()->npy ? "npy" : "shape");
	if (opt_edits)
		return cli_close_stdout(edits_main(args, nargs));
	if (nargs < 1)
		cli_usage("missing STORE and OFFSET");
	if (nargs < 2)
		cli_usage("missing OFFSET after %s", cli_quoted(args[0]));

	const char *store = args[0], *offset = args[1];
	const char **files = args + 2;
	int nfiles = nargs - 2;
	const char *text = cli_arg(opt_text), *hex = cli_arg(opt_hex);
	const char *base = cli_arg(opt_base), *message = cli_arg(opt_message);
	const struct cli_opts *co = cli_opts();

	if (opt_axis) {
		if (!cli_array_given())
			cli_usage("--axis needs --shape or --npy (what the array is)");
		if (text || hex || opt_replace || opt_at_version || opt_anchor || base || opt_create)
			cli_usage("--%s cannot be combined with --axis (slabs come from FILE or stdin)",
				  text ? "text" : hex ? "hex" : opt_replace ? "replace"
				  : opt_at_version ? "at-version" : opt_anchor ? "anchor"
				  : base ? "base" : "create");
		if (!strcmp(store, "-"))
			cli_usage("--axis needs a store: a stream ('-') cannot be edited along an axis");
		if (message && strlen(message) > VB_MESSAGE_MAX)
			cli_usage("--message is longer than %u bytes", VB_MESSAGE_MAX);
		int64_t axis = cli_int("--axis", opt_axis), index = cli_int("INDEX", offset);
		struct source *src;
		int nsrc;
		if ((status = sources(files, nfiles, 1, &src, &nsrc)))
			return status;
		if (same_file(store, src, nsrc))
			status = EXIT_FAIL;
		else
			status = axis_insert(store, axis, index, src, nsrc, message);
		free_inputs(src, nfiles);
		return cli_close_stdout(status);
	}

	if (text && hex)
		cli_usage("--text and --hex cannot be used together");
	if ((text || hex) && nfiles)
		cli_usage("--%s cannot be used with input files", text ? "text" : "hex");
	if (opt_replace)
		rlen = cli_length(cli_arg(opt_replace));
	struct vb_pos pos = cli_pos(offset);
	if (hex)
		bytes = decode_hex(hex, &nbytes);
	else if (text) {
		bytes = (unsigned char *)(uintptr_t)text;
		nbytes = strlen(text);
	}
	if (bytes && nbytes % co->unit) {
		if (hex)
			free(bytes);
		cli_usage("--%s is %zu bytes, not a multiple of the unit (%llu bytes)",
			  hex ? "hex" : "text", nbytes, (unsigned long long)co->unit);
	}
	if (message && strlen(message) > VB_MESSAGE_MAX)
		cli_usage("--message is longer than %u bytes", VB_MESSAGE_MAX);

	int stream = !strcmp(store, "-");
	if (opt_anchor && !vb_anchor_name_ok(cli_arg(opt_anchor)))
		cli_usage("invalid anchor name '%s' (1 to 63 of A-Z a-z 0-9 _ .)", cli_arg(opt_anchor));
	if (opt_at_version)
		cli_version(opt_at_version);
	if (stream) {
		if (opt_create || base || message || co->no_sync || co->wait || co->if_version ||
		    opt_at_version || opt_anchor)
			cli_usage("--%s has no meaning when editing a stream ('-')",
				  opt_create ? "create" : base ? "base" : message ? "message"
				  : co->no_sync ? "no-sync" : co->wait ? "wait"
				  : co->if_version ? "if-version" : opt_at_version ? "at-version"
				  : "anchor");
		if (pos.line)
			cli_usage("offset '%s' is a line address, which a stream ('-') does not have (edit a store instead)",
				  offset);
		if (!text && !hex && !nfiles)
			cli_usage("editing a stream ('-') reads it from stdin: give the bytes to insert as FILE, --text or --hex");
		for (int i = 0; i < nfiles; i++)
			if (!strcmp(files[i], "-"))
				cli_usage("stdin is the stream being edited; it cannot also be an input FILE");
	}

	struct source *src;
	int nsrc;
	if ((status = sources(files, nfiles, !text && !hex, &src, &nsrc))) {
		if (hex)
			free(bytes);
		return status;
	}
	if (!stream && same_file(store, src, nsrc))
		status = EXIT_FAIL;
	else if (!bytes)
		status = check_input_sizes(store, src, nsrc);
	if (!status)
		status = stream ? stream_mode(offset, bytes, nbytes, src, nsrc, opt_replace != NULL, rlen)
				: edit_store(store, &pos, bytes, nbytes, src, nsrc, rlen, base, message);
	free_inputs(src, nfiles);
	if (hex)
		free(bytes);
	return cli_close_stdout(status);
}
