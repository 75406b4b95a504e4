/*
 * vb-delete: delete byte ranges from a store (or a stream).
 *
 *   vb-delete [OPTION...] STORE OFFSET LENGTH
 *   vb-delete [OPTION...] --ranges FILE STORE
 *   vb-delete [OPTION...] --lines LINES STORE
 *
 * --ranges reads "OFFSET LENGTH" lines, all in the coordinates of the
 * version before the command; overlapping and unsorted ranges are merged
 * and applied from the highest offset down as one new version, so each
 * recorded operation is valid in the parent's coordinates too
 * (lib/README.md, Decisions 2; the merging and the order are lib/ranges').
 * With --unit N every OFFSET and LENGTH counts elements of N bytes (cli.h):
 * ranges are parsed and kept in elements, and become bytes when they are
 * resolved against the content.  --lines A-B[,C-D...] deletes whole lines
 * ('\n' ends one) with their line ends: each range of lines becomes the
 * byte range from the first byte of line A to the first byte of line
 * B + 1 (the end of the content after the last line), found in the
 * version the lines are given in, and from there on is one more range of
 * the batch above.
 * --ranges-format=grep reads `grep -b` output instead, "OFFSET:LINE": the
 * range is the line and its '\n' (only the line when it ends the content
 * without one); grep-o reads `grep -b -o` output, "OFFSET:MATCH": the
 * range is the match.  Either way the length is TEXT's byte count, so a
 * ranges line is read as bytes of any value and any length, holding only
 * its first VB_RANGE_LINE_MAX bytes (lib/num parses them).
 *
 *   vb-delete [OPTION...] --axis K (--shape S | --npy) STORE INDEX COUNT
 *   vb-delete [OPTION...] --keep-slice SPEC (--shape S | --npy) STORE
 *
 * edit an array (lib/array): the runs of COUNT slabs along axis K, or the
 * gaps between the runs of a slice, are deleted from the lowest offset
 * up, each in the coordinates the ones before left, and a .npy header is
 * replaced in the same version.  A slice that reorders elements (a
 * negative step) cannot be made by deleting: its elements are copied
 * after the content, then the old ones deleted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "ranges.h"
#include "sedit.h"
#include "vbuf.h"

/* The most ranges one command deletes (--ranges FILE): 64 Mi ranges, of
 * sizeof(struct vb_range) bytes each. */
#define RANGES_MAX ((size_t)64 << 20)

static char *opt_ranges, *opt_ranges_format, *opt_message, *opt_at_version, *opt_lines;
static char *opt_axis, *opt_keep_slice;

/* --ranges-format */
enum { RF_PAIRS, RF_GREP, RF_GREP_O };
static int ranges_format = RF_PAIRS;

static struct poptOption options[] = {
	{"ranges", 'R', POPT_ARG_STRING, &opt_ranges, 0,
	 "read 'OFFSET LENGTH' lines (or grep -b output: --ranges-format) from FILE ('-' for stdin) and delete them all as one version",
	 "FILE"},
	{"ranges-format", 0, POPT_ARG_STRING, &opt_ranges_format, 0,
	 "how --ranges FILE reads: offset-length ('OFFSET LENGTH', the default), grep (grep -b output 'OFFSET:LINE': the line and its newline) or grep-o (grep -b -o output 'OFFSET:MATCH': the match)",
	 "FORMAT"},
	{"lines", 'l', POPT_ARG_STRING, &opt_lines, 0,
	 "delete lines A to B ('\\n' ends a line) with their line ends: A-B, A- (to the last line), -B or A; a comma list (1-3,10-20) is one version, in the coordinates of the version before",
	 "LINES"},
	CLI_UNIT_OPTION("OFFSET and LENGTH (and --ranges) count elements of N bytes (default 1); the content must be whole elements"),
	{NULL, 0, POPT_ARG_INCLUDE_TABLE, cli_array_options, 0, "Arrays (vb(7) ARRAYS):", NULL},
	{"axis", 0, POPT_ARG_STRING, &opt_axis, 0,
	 "delete COUNT slabs from INDEX along axis K of the array: give STORE INDEX COUNT (negatives count from the end)",
	 "K"},
	{"keep-slice", 0, POPT_ARG_STRING, &opt_keep_slice, 0,
	 "make a version whose content is this part of the array (as vb-cat --slice; steps > 0), by deleting the rest: no element copied",
	 "SPEC"},
	{"message", 'm', POPT_ARG_STRING, &opt_message, 0, "describe the new version", "TEXT"},
	{"at-version", 'V', POPT_ARG_STRING, &opt_at_version, 0,
	 "the offsets (and --ranges) are in version V's content (a number, head or head~K); they are carried through the edits since",
	 "V"},
	{NULL, 0, POPT_ARG_INCLUDE_TABLE, cli_edit_options, 0, "Writing:", NULL},
	{NULL, 0, POPT_ARG_INCLUDE_TABLE, cli_common_options, 0, "Other:", NULL},
	POPT_TABLEEND
};

/* Read one line of `f`: its first bytes (at most VB_RANGE_LINE_MAX + 1,
 * then its '\n' if there is room) into head[VB_RANGE_LINE_MAX + 2] and
 * their count into *n, its length without the '\n' into *total.  0 at the
 * end of `f` (nothing read), 1 for a line, -1 for a read error. */
static int read_line(FILE *f, char *head, size_t *n, uint64_t *total)
{
	size_t k = 0;
	uint64_t t = 0;
	int c, nl = 0;

	while ((c = getc_unlocked(f)) != EOF) {
		if (c == '\n') {
			nl = 1;
			break;
		}
		if (k < VB_RANGE_LINE_MAX + 1)
			head[k++] = (char)c;
		t++;
	}
	if (c == EOF && ferror(f))
		return -1;
	if (nl && k < VB_RANGE_LINE_MAX + 1)
		head[k++] = '\n';
	*n = k;
	*total = t;
	return t || nl;
}

/* Read the ranges file into `r` (in --ranges-format's format).  A bad
 * line is reported as FILE:LINE: cause. */
static int read_ranges(const char *name, struct vb_ranges *r)
{
	FILE *f = strcmp(name, "-") ? fopen(name, "r") : stdin;
	char line[VB_RANGE_LINE_MAX + 2];
	size_t len;
	uint64_t total;
	unsigned long lineno = 0;
	int status = EXIT_OK, more;

	if (!f) {
		cli_error(name, "%s", strerror(errno));
		return EXIT_FAIL;
	}
	errno = 0;
	while ((more = read_line(f, line, &len, &total)) > 0) {
		struct vb_pos pos;
		uint64_t length;
		int got;
		lineno++;
		if (ranges_format == RF_PAIRS)
			got = vb_parse_range_line(line, len, cli_opts()->unit, &pos, &length);
		else if ((got = vb_parse_grep_line(line, len, total, &pos, &length)) > 0 &&
			 ranges_format == RF_GREP)
			length++; /* the line's '\n' (TEXT is at most 2^64-3 bytes) */
		if (got < 0) {
			cli_error(NULL, "%s:%lu: %s", cli_name(name), lineno, vb_err_detail());
			status = EXIT_FAIL;
			break;
		}
		if (!got)
			continue;
		/* the limit, or no memory for more: the message has always
		 * been the limit's */
		if (vb_ranges_add(r, &pos, length, lineno)) {
			cli_error(NULL, "%s:%lu: too many ranges (the limit is %zu)", cli_name(name), lineno,
				  vb_ranges_max(r));
			status = EXIT_FAIL;
			break;
		}
	}
	if (!status && more < 0) {
		cli_error(name, "%s", strerror(errno ? errno : EIO));
		status = EXIT_FAIL;
	}
	if (f != stdin)
		fclose(f);
	return status;
}

/* --ranges-format=grep: a range of a line and its '\n' that passes the end
 * of a content of `len` bytes by that '\n' alone is the content's last
 * line, which has none (grep printed one): it is the line alone. */
static uint64_t grep_clamp(uint64_t at, uint64_t n, uint64_t len)
{
	if (ranges_format == RF_GREP && n && at <= len && n - 1 == len - at)
		return n - 1;
	return n;
}

/* Delete the ranges (positions in elements, unresolved) from stdin to
 * stdout; lib/sedit resolves and merges them on the way.  `rname` is the
 * --ranges FILE, whose FILE:LINE labels a range's errors. */
static int stream_mode(struct vb_ranges *r, const char *rname)
{
	size_t n = vb_ranges_count(r);
	struct vb_sedit e;
	struct vb_sink out;
	struct vb_sedit_del *d = calloc(n ? n : 1, sizeof *d);
	char **labels = calloc(n ? n : 1, sizeof *labels);
	enum vb_err rc;

	struct stat st;
	off_t cur = -1;

	if (!d || !labels)
		return cli_fail("-", vb_err_set(VB_ENOMEM, "out of memory"));
	/* the input's length, where it is known before the end */
	if (ranges_format == RF_GREP && fstat(0, &st) == 0 && S_ISREG(st.st_mode))
		cur = lseek(0, 0, SEEK_CUR);
	for (size_t i = 0; i < n; i++) {
		const struct vb_range *g = vb_ranges_get(r, i);
		d[i].pos = g->pos;
		d[i].len = g->len;
		if (cur >= 0 && st.st_size >= cur)
			d[i].len = grep_clamp(g->pos.n, g->len, (uint64_t)(st.st_size - cur));
		if (rname) {
			labels[i] = malloc(strlen(rname) + 24);
			if (labels[i])
				sprintf(labels[i], "%s:%llu", rname, (unsigned long long)g->tag);
			d[i].label = labels[i];
		}
	}
	memset(&e, 0, sizeof e);
	e.dels = d;
	e.ndels = n;
	e.hold_max = VB_SEDIT_HOLD_MAX;
	const char *hm = getenv("VB_HOLD_MAX");
	if (hm && *hm)
		e.hold_max = cli_size(hm, "VB_HOLD_MAX");
	vb_sink_init(&out, 1);
	rc = cli_stream(&e, &out);
	vb_sink_done(&out);
	for (size_t i = 0; i < n; i++)
		free(labels[i]);
	free(labels);
	free(d);
	/* a range's error already names FILE:LINE (an anchor: VB_EINVAL);
	 * the stream's own (its length with --unit) names '-' */
	if (rc) {
		const char *detail = vb_err_detail();
		size_t l = rname ? strlen(rname) : 0;
		int labelled = rname && (rc == VB_ERANGE || rc == VB_EINVAL) &&
			       !strncmp(detail, rname, l) && detail[l] == ':';
		return cli_fail_output(labelled ? NULL : "-", rc, &out);
	}
	return EXIT_OK;
}

/* Resolve every range of `r` (elements, in version `ver` of `b`, whose
 * content is `len` bytes) into `at` and `bytes`.  On a failure of a range
 * itself *bad gets its index. */
static enum vb_err resolve_ranges(struct vb_vbuf *b, struct vb_ranges *r, uint64_t ver,
				  uint64_t len, size_t *bad)
{
	enum vb_err rc;

	for (size_t i = 0; i < vb_ranges_count(r); i++) {
		struct vb_range *g = vb_ranges_get(r, i);
		if ((rc = cli_resolve(b, ver, &g->pos, len, &g->at)) ||
		    (rc = cli_span(g->at, grep_clamp(g->at, g->len, len), len, &g->bytes))) {
			*bad = i;
			return rc;
		}
	}
	return VB_OK;
}

/* Carry each resolved range from version `ver` to the head `head` of `b`:
 * its start, and its end with the range's last byte, so that what was
 * inserted at either end since stays; a range wholly inside replaced bytes
 * becomes empty.  On a failure of a range itself (edits since `ver` that
 * were not whole elements moved it off them) *bad gets its index. */
static enum vb_err carry_ranges(struct vb_vbuf *b, struct vb_ranges *r, uint64_t ver,
				uint64_t head, size_t *bad)
{
	size_t n = vb_ranges_count(r);
	uint64_t *p = malloc(2 * (n ? n : 1) * sizeof *p);
	enum vb_err rc;

	if (!p)
		return vb_err_set(VB_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const struct vb_range *g = vb_ranges_get(r, i);
		p[i] = g->at;
		p[n + i] = g->at + g->bytes;
	}
	if (!(rc = cli_map(b, ver, head, p, n, 0)))
		rc = cli_map(b, ver, head, p + n, n, 1);
	for (size_t i = 0; i < n && !rc; i++) {
		struct vb_range *g = vb_ranges_get(r, i);
		uint64_t end = g->bytes ? p[n + i] : p[i];
		char text[64];
		/* edits since V that were not whole elements */
		snprintf(text, sizeof text, "range %llu+%llu",
			 (unsigned long long)cli_elements(g->at), (unsigned long long)g->len);
		g->at = p[i];
		g->bytes = end > p[i] ? end - p[i] : 0;
		if ((rc = cli_check_carried(text, 1, ver, head, g->at, g->bytes)))
			*bad = i;
	}
	free(p);
	return rc;
}

/* A range of lines of --lines: first to last (UINT64_MAX: to the last
 * line). */
struct line_range {
	uint64_t first, last;
};

/* Parse --lines: ranges of lines separated by commas (lib/num's
 * vb_parse_line_range each); a malformed one, or one whose first line is
 * after its last, is a usage error.  Returns the ranges (freed at exit)
 * and their count in *n. */
static struct line_range *parse_lines(const char *s, size_t *n)
{
	size_t k = 1;
	struct line_range *l;

	for (const char *p = s; *p; p++)
		k += *p == ',';
	l = calloc(k, sizeof *l);
	if (!l)
		cli_usage("out of memory");
	for (size_t i = 0; i < k; i++) {
		size_t w = strcspn(s, ",");
		char *one = strndup(s, w);
		if (!one)
			cli_usage("out of memory");
		char why[160] = "";
		if (vb_parse_line_range(one, &l[i].first, &l[i].last))
			snprintf(why, sizeof why, "%s", vb_err_detail());
		else if (l[i].first > l[i].last)
			snprintf(why, sizeof why, "line range '%s' starts after its end", one);
		free(one);
		if (why[0]) {
			free(l);
			cli_usage("--lines: %s", why);
		}
		s += w + (s[w] == ',');
	}
	*n = k;
	return l;
}

/* The error for line `line` beyond the end of version `ver` of `b`. */
static enum vb_err line_beyond(struct vb_vbuf *b, uint64_t ver, uint64_t line)
{
	uint64_t lines;
	enum vb_err rc = vb_vbuf_line_count(b, ver, VB_LINES_LF, &lines);

	if (rc)
		return rc;
	return vb_err_set(VB_ERANGE, "line %llu is beyond the end (the content has %llu line%s)",
			  (unsigned long long)line, (unsigned long long)lines,
			  lines == 1 ? "" : "s");
}

/* Add the byte range of each range of lines of `l` (lines of version
 * `ver` of `b`, whose content is `len` bytes) to `r`, as plain byte
 * positions in `ver`.  Strict: every line named must exist. */
static enum vb_err add_lines(struct vb_vbuf *b, uint64_t ver, uint64_t len,
			     const struct line_range *l, size_t n, struct vb_ranges *r)
{
	enum vb_err rc;

	for (size_t i = 0; i < n; i++) {
		uint64_t start, end;
		struct vb_pos p;
		/* the range ends where line last + 1 starts: a line last
		 * beyond the end fails there; first <= last then exists,
		 * but for "A-", where first must still be checked: a line
		 * exists when it starts before the end (none is empty) */
		rc = vb_vbuf_line_start(b, ver, VB_LINES_LF, l[i].first, &start);
		if (rc == VB_ERANGE || (!rc && start == len))
			return line_beyond(b, ver, l[i].first);
		if (rc)
			return rc;
		if (l[i].last == UINT64_MAX) {
			end = len;
		} else {
			rc = vb_vbuf_line_start(b, ver, VB_LINES_LF, l[i].last + 1, &end);
			if (rc == VB_ERANGE)
				return line_beyond(b, ver, l[i].last);
			if (rc)
				return rc;
		}
		memset(&p, 0, sizeof p);
		p.n = start;
		if (vb_ranges_add(r, &p, end - start, 0))
			return vb_err_set(VB_ELIMIT, "too many ranges (the limit is %zu)",
					  vb_ranges_max(r));
	}
	return VB_OK;
}

static enum vb_err delete_one(void *b, uint64_t at, uint64_t bytes)
{
	return vb_vbuf_delete(b, at, bytes);
}

/* Resolve, merge and delete the ranges as one new version of STORE.  A
 * range's own failure is FILE:LINE: cause with --ranges FILE (`ranges`). */
static int edit_store(const char *store, struct vb_ranges *r, const char *ranges,
		      const struct line_range *lines, size_t nlines, const char *message)
{
	struct vb_vbuf_opts o;
	struct vb_vbuf *b;
	enum vb_err rc = VB_OK;
	uint64_t len;
	size_t bad = SIZE_MAX;
	int status;

	cli_store_opts(&o, 1);
	if ((status = cli_open(store, &o, VB_HEAD, &b)))
		return status;
	/* the ranges are in version `ver`'s content (the version before, or
	 * --at-version's), carried to the head afterwards */
	uint64_t head = vb_vbuf_version(b);
	uint64_t ver;
	/* with --unit, the content the ranges are in and the content they
	 * are deleted from must both be whole elements */
	if ((rc = cli_at_version(b, opt_at_version, &ver)) ||
	    (rc = cli_version_len(b, ver, &len)) || (rc = cli_check_whole(b, ver, len)) ||
	    (rc = cli_check_whole(b, head, vb_vbuf_len(b))))
		goto fail;
	if (nlines && (rc = add_lines(b, ver, len, lines, nlines, r)))
		goto fail;
	/* from here on in bytes */
	if ((rc = resolve_ranges(b, r, ver, len, &bad)) ||
	    (ver != head && (rc = carry_ranges(b, r, ver, head, &bad)))) {
		if (ranges && bad != SIZE_MAX) {
			cli_error(NULL, "%s:%llu: %s", cli_name(ranges),
				  (unsigned long long)vb_ranges_get(r, bad)->tag, vb_err_detail());
			cli_vclose(b);
			return EXIT_FAIL;
		}
		goto fail;
	}
	if (ver != head && (rc = vb_vbuf_note_at_version(b, ver)))
		goto fail;
	/* merge, then delete from the highest offset down (lib/ranges) */
	if (!(rc = vb_ranges_merge(r)))
		rc = vb_ranges_apply(r, delete_one, b);
fail:
	return cli_commit(b, rc, store, message);
}

/* ---------------------------------------------------------------- arrays */

/* Deletes made from the lowest offset up, each in the coordinates the
 * ones before left (lib/README.md, Decisions 2: operations are recorded
 * in the order applied). */
struct gaps {
	struct vb_vbuf *b;
	uint64_t deleted;    /* bytes deleted so far */
	uint64_t kept;       /* keep-slice: the end of the last run kept */
};

static enum vb_err delete_run(void *arg, uint64_t off, uint64_t len)
{
	struct gaps *g = arg;
	enum vb_err rc;
	if (!len)
		return VB_OK;
	if ((rc = vb_vbuf_delete(g->b, off - g->deleted, len)))
		return rc;
	g->deleted += len;
	return VB_OK;
}

/* keep-slice: delete what lies between the runs kept */
static enum vb_err keep_run(void *arg, uint64_t off, uint64_t len)
{
	struct gaps *g = arg;
	enum vb_err rc = delete_run(g, g->kept, off - g->kept);
	g->kept = off + len;
	return rc;
}

/* keep-slice of a slice that reorders elements (a negative step): its
 * elements are written after the content as new data, read from the
 * content before them, then the old elements are deleted */
struct append {
	struct vb_vbuf *b;
	uint64_t at;          /* where the next bytes go: after the old content */
	unsigned char *buf;
};

#define APPEND_CHUNK ((size_t)1 << 20)

static enum vb_err append_read(void *arg, uint64_t off, void *buf, size_t n)
{
	struct append *x = arg;
	return vb_vbuf_read(x->b, off, buf, n);
}

static enum vb_err append_write(void *arg, const void *buf, size_t n)
{
	struct append *x = arg;
	enum vb_err rc = vb_vbuf_insert(x->b, x->at, buf, n);
	if (!rc)
		x->at += n;
	return rc;
}

static enum vb_err append_send(void *arg, uint64_t off, uint64_t n)
{
	struct append *x = arg;
	enum vb_err rc = VB_OK;
	for (uint64_t done = 0; done < n && !rc;) {
		size_t k = n - done < APPEND_CHUNK ? (size_t)(n - done) : APPEND_CHUNK;
		if (!(rc = vb_vbuf_read(x->b, off + done, x->buf, k)))
			rc = append_write(x, x->buf, k);
		done += k;
	}
	return rc;
}

static enum vb_err keep_copied(struct vb_vbuf *b, const struct vb_array *a, const struct vb_array_view *v)
{
	uint64_t len = vb_vbuf_len(b);
	struct append x = {b, len, malloc(APPEND_CHUNK)};
	struct vb_array_io io = {append_read, append_send, append_write, &x};
	enum vb_err rc;
	if (!x.buf)
		return vb_err_set(VB_ENOMEM, "out of memory");
	rc = vb_array_view_copy(v, &io, (size_t)16 << 20);
	free(x.buf);
	if (!rc)
		rc = vb_vbuf_delete(b, a->header, len - a->header);
	return rc;
}

/* --axis K STORE INDEX COUNT, or --keep-slice SPEC STORE: one version */
static int array_edit(const char *store, int64_t axis, int64_t index, uint64_t count,
		      const struct vb_slice *slice, const char *message)
{
	struct vb_vbuf_opts o;
	struct vb_vbuf *b;
	struct vb_array a = {0};
	enum vb_err rc;
	int status;

	cli_store_opts(&o, 1);
	if ((status = cli_open(store, &o, VB_HEAD, &b)))
		return status;
	struct gaps g = {b, 0, 0};
	uint64_t shape[VB_ARRAY_MAXDIM];
	unsigned ndim;
	if ((rc = cli_check_if_version(b)) || (rc = cli_array(b, &a)))
		goto fail;
	memcpy(shape, a.shape, sizeof shape);
	ndim = a.ndim;
	if (!slice) {
		unsigned k;
		uint64_t at;
		if ((rc = vb_array_axis(&a, axis, &k)) || (rc = vb_array_index(&a, k, index, 1, &at)))
			goto fail;
		if (count > a.shape[k] - at) {
			rc = vb_err_set(VB_ERANGE, "cannot delete %llu slabs from index %llu: axis %u has %llu",
					(unsigned long long)count, (unsigned long long)at, k,
					(unsigned long long)a.shape[k]);
			goto fail;
		}
		if ((count && (rc = cli_array_runs(vb_array_axis_run_count(&a, k)))) ||
		    (rc = vb_array_axis_runs(&a, k, at, count, delete_run, &g)))
			goto fail;
		shape[k] -= count;
	} else {
		struct vb_array_view v;
		vb_array_view_of(&a, &v);
		if ((rc = vb_array_view_slice(&v, slice)))
			goto fail;
		/* the result's shape; its bytes in the file's order */
		ndim = v.ndim;
		memcpy(shape, v.count, sizeof shape);
		if (a.fortran && (rc = vb_array_view_transpose(&v, NULL)))
			goto fail;
		if (!vb_array_view_forward(&v)) {
			if ((rc = keep_copied(b, &a, &v)))
				goto fail;
		} else {
			g.kept = a.header;
			if ((rc = cli_array_runs(vb_array_view_run_count(&v))) ||
			    (rc = vb_array_view_runs(&v, keep_run, &g)) ||
			    (rc = delete_run(&g, g.kept, vb_vbuf_len(b) + g.deleted - g.kept)))
				goto fail;
		}
	}
	rc = cli_array_reshape(b, &a, shape, ndim);
fail:
	vb_array_done(&a);
	return cli_commit(b, rc, store, message);
}

int main(int argc, char **argv)
{
	const char **args;
	int nargs, status;
	struct vb_pos pos;
	uint64_t length = 0;
	struct vb_ranges *r;
	enum vb_err rc;

	args = cli_start(argc, argv, options,
			 "[OPTION...] STORE OFFSET LENGTH\n   or: vb-delete [OPTION...] --ranges FILE STORE\n   or: vb-delete [OPTION...] --lines LINES STORE",
			 &nargs);
	const char *ranges = cli_arg(opt_ranges), *message = cli_arg(opt_message);
	const char *lines_arg = cli_arg(opt_lines);
	const struct cli_opts *co = cli_opts();
	struct line_range *lines = NULL;
	size_t nlines = 0;

	if (nargs < 1)
		cli_usage("missing STORE");
	if (opt_axis || opt_keep_slice) {
		const char *what = opt_axis ? "--axis" : "--keep-slice";
		struct vb_slice slice;
		if (opt_axis && opt_keep_slice)
			cli_usage("--axis and --keep-slice cannot be used together");
		if (!cli_array_given())
			cli_usage("%s needs --shape or --npy (what the array is)", what);
		if (ranges || lines_arg || opt_at_version)
			cli_usage("%s cannot be combined with --%s", what,
				  ranges ? "ranges" : lines_arg ? "lines" : "at-version");
		if (!strcmp(args[0], "-"))
			cli_usage("%s needs a store: a stream ('-') cannot be edited along an axis", what);
		if (message && strlen(message) > VB_MESSAGE_MAX)
			cli_usage("--message is longer than %u bytes", VB_MESSAGE_MAX);
		if (opt_keep_slice) {
			if (nargs > 1)
				cli_usage("--keep-slice names what to keep: give only STORE (%s is extra)",
					  cli_quoted(args[1]));
			if (vb_slice_parse(cli_arg(opt_keep_slice), &slice))
				cli_usage("--keep-slice: %s", vb_err_detail());
			return cli_close_stdout(array_edit(args[0], 0, 0, 0, &slice, message));
		}
		if (nargs < 3)
			cli_usage(nargs < 2 ? "missing INDEX and COUNT after %s" : "missing COUNT after %s",
				  cli_quoted(args[nargs - 1]));
		if (nargs > 3)
			cli_usage("extra operand %s", cli_quoted(args[3]));
		int64_t axis = cli_int("--axis", opt_axis), index = cli_int("INDEX", args[1]);
		int64_t count = cli_int("COUNT", args[2]);
		if (count < 0)
			cli_usage("invalid COUNT '%s' (a number of slabs, at least 0)", cli_arg(args[2]));
		return cli_close_stdout(array_edit(args[0], axis, index, (uint64_t)count, NULL, message));
	}
	if (opt_ranges_format && !ranges)
		cli_usage("--ranges-format says how --ranges FILE reads: give --ranges FILE");
	const char *store = args[0];
	int stream = !strcmp(store, "-");
	if (lines_arg) {
		if (ranges)
			cli_usage("--lines and --ranges cannot be used together");
		if (co->unit_arg)
			cli_usage("--lines counts lines, not elements: it cannot be used with --unit");
		if (nargs > 1)
			cli_usage("--lines names what to delete: give only STORE (%s is extra)",
				  cli_quoted(args[1]));
		if (stream)
			cli_usage("--lines needs a store: a stream ('-') has no lines");
		lines = parse_lines(lines_arg, &nlines);
	} else if (ranges) {
		if (opt_ranges_format && !strcmp(opt_ranges_format, "grep"))
			ranges_format = RF_GREP;
		else if (opt_ranges_format && !strcmp(opt_ranges_format, "grep-o"))
			ranges_format = RF_GREP_O;
		else if (opt_ranges_format && strcmp(opt_ranges_format, "offset-length"))
			cli_usage("invalid --ranges-format %s: expected offset-length, grep or grep-o",
				  cli_quoted(opt_ranges_format));
		if (ranges_format != RF_PAIRS && co->unit_arg)
			cli_usage("--ranges-format=%s reads byte offsets: it cannot be used with --unit",
				  opt_ranges_format);
		if (nargs > 1)
			cli_usage("--ranges takes the ranges from FILE: give only STORE (%s is extra)",
				  cli_quoted(args[1]));
		if (stream && !strcmp(ranges, "-"))
			cli_usage("stdin is the stream being edited; --ranges needs a FILE");
	} else {
		if (nargs < 2)
			cli_usage("missing OFFSET and LENGTH after %s", cli_quoted(store));
		if (nargs < 3)
			cli_usage("missing LENGTH after '%s'", args[1]);
		if (nargs > 3)
			cli_usage("extra operand %s", cli_quoted(args[3]));
		pos = cli_pos(args[1]);
		length = cli_length(args[2]);
		if (stream && pos.line)
			cli_usage("offset '%s' is a line address, which a stream ('-') does not have (edit a store instead)",
				  args[1]);
	}
	if (message && strlen(message) > VB_MESSAGE_MAX)
		cli_usage("--message is longer than %u bytes", VB_MESSAGE_MAX);
	if (opt_at_version)
		cli_version(opt_at_version);
	if (stream && (message || co->no_sync || co->wait || co->if_version || opt_at_version))
		cli_usage("--%s has no meaning when editing a stream ('-')",
			  message ? "message" : co->no_sync ? "no-sync" : co->wait ? "wait"
			  : co->if_version ? "if-version" : "at-version");
	if ((rc = vb_ranges_create(RANGES_MAX, &r)))
		return cli_fail(NULL, rc);
	/* OFFSET LENGTH: one range, tagged line 0 */
	if (ranges)
		status = read_ranges(ranges, r);
	else if (lines)
		status = EXIT_OK; /* resolved against the store (edit_store) */
	else if ((rc = vb_ranges_add(r, &pos, length, 0)))
		status = cli_fail(NULL, rc);
	else
		status = EXIT_OK;
	if (status) {
		vb_ranges_free(r);
		return status;
	}
	if (stream)
		status = stream_mode(r, ranges);
	else
		status = edit_store(store, r, ranges, lines, nlines, message);
	vb_ranges_free(r);
	free(lines);
	return cli_close_stdout(status);
}
