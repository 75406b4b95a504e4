/*
 * vb-delete: delete byte ranges from a store (or a stream).
 *
 *   vb-delete [OPTION...] STORE OFFSET LENGTH
 *   vb-delete [OPTION...] --ranges FILE STORE
 *
 * --ranges reads "OFFSET LENGTH" lines, all in the coordinates of the
 * version before the command; overlapping and unsorted ranges are merged
 * and applied from the highest offset down as one new version, so each
 * recorded operation is valid in the parent's coordinates too (DESIGN 2a.2).
 * With --unit N every OFFSET and LENGTH counts elements of N bytes (cli.h):
 * ranges are parsed and kept in elements, and become bytes when they are
 * resolved against the content.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sedit.h"
#include "vbuf.h"

#define RANGES_MAX (64u << 20)

static char *opt_ranges, *opt_message, *opt_at_version;

static struct poptOption options[] = {
	{"ranges", 'R', POPT_ARG_STRING, &opt_ranges, 0,
	 "read 'OFFSET LENGTH' lines from FILE ('-' for stdin) and delete them all as one version",
	 "FILE"},
	{"unit", 0, POPT_ARG_STRING, &cli_unit_arg, 0,
	 "OFFSET and LENGTH (and --ranges) count elements of N bytes (default 1); the content must be whole elements",
	 "N"},
	{"message", 'm', POPT_ARG_STRING, &opt_message, 0, "describe the new version", "TEXT"},
	{"at-version", 'V', POPT_ARG_STRING, &opt_at_version, 0,
	 "the offsets (and --ranges) are in version V's content; they are carried through the edits since",
	 "V"},
	{NULL, 0, POPT_ARG_INCLUDE_TABLE, cli_edit_options, 0, "Writing:", NULL},
	{NULL, 0, POPT_ARG_INCLUDE_TABLE, cli_common_options, 0, "Other:", NULL},
	POPT_TABLEEND
};

struct range {
	struct vb_pos pos;    /* in elements of --unit */
	uint64_t len;         /* in elements; in bytes once resolved */
	unsigned long line;
	uint64_t at;          /* resolved, in bytes */
	uint64_t len_e;       /* the length as given, in elements */
};

/* Read the ranges file.  A bad line is reported as FILE:LINE: cause. */
static int read_ranges(const char *name, struct range **out, size_t *n)
{
	FILE *f = strcmp(name, "-") ? fopen(name, "r") : stdin;
	char *line = NULL;
	size_t cap = 0, cnt = 0, alloc = 0;
	ssize_t len;
	unsigned long lineno = 0;
	struct range *r = NULL;
	int status = EXIT_OK;

	if (!f) {
		cli_error(name, "%s", strerror(errno));
		return EXIT_FAIL;
	}
	errno = 0;
	while ((len = getline(&line, &cap, f)) >= 0) {
		struct vb_pos pos;
		uint64_t length;
		int got;
		lineno++;
		got = vb_parse_range_line(line, (size_t)len, cli_unit, &pos, &length);
		if (got < 0) {
			cli_error(NULL, "%s:%lu: %s", name, lineno, vb_err_detail());
			status = EXIT_FAIL;
			break;
		}
		if (!got)
			continue;
		if (cnt == alloc) {
			size_t nc = alloc ? alloc * 2 : 1024;
			struct range *nr;
			if (nc > RANGES_MAX || !(nr = realloc(r, nc * sizeof *nr))) {
				cli_error(NULL, "%s:%lu: too many ranges (the limit is %u)", name,
					  lineno, RANGES_MAX);
				status = EXIT_FAIL;
				break;
			}
			r = nr;
			alloc = nc;
		}
		r[cnt].pos = pos;
		r[cnt].len = length;
		r[cnt].line = lineno;
		cnt++;
	}
	if (!status && ferror(f)) {
		cli_error(name, "%s", strerror(errno ? errno : EIO));
		status = EXIT_FAIL;
	}
	free(line);
	if (f != stdin)
		fclose(f);
	if (status) {
		free(r);
		return status;
	}
	*out = r;
	*n = cnt;
	return EXIT_OK;
}

static int cmp_at(const void *x, const void *y)
{
	const struct range *a = x, *b = y;
	return a->at < b->at ? -1 : a->at > b->at;
}

static int stream_mode(struct range *r, size_t n, const char *rname)
{
	struct vb_sedit e;
	struct vb_sink out;
	struct vb_sedit_del *d = calloc(n ? n : 1, sizeof *d);
	char **labels = calloc(n ? n : 1, sizeof *labels);
	enum vb_err rc;

	if (!d || !labels)
		return cli_fail("-", vb_err_set(VB_ENOMEM, "out of memory"));
	for (size_t i = 0; i < n; i++) {
		d[i].pos = r[i].pos;
		d[i].len = r[i].len;
		if (rname) {
			labels[i] = malloc(strlen(rname) + 24);
			if (labels[i])
				sprintf(labels[i], "%s:%lu", rname, r[i].line);
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

/* Resolve, merge and delete the ranges as one new version of STORE. */
static int edit_store(const char *store, struct range *r, size_t n, const char *ranges,
		      const char *message)
{
	struct vb_store_opts o;
	struct vb_vbuf *b;
	enum vb_err rc = VB_OK;
	uint64_t len;
	int status;

	cli_store_opts(&o, 1);
	if ((status = cli_open(store, &o, VB_HEAD, &b)))
		return status;
	/* the ranges are in version `ver`'s content (the version before, or
	 * --at-version's), carried to the head afterwards */
	uint64_t head = vb_vbuf_version(b);
	uint64_t ver = opt_at_version ? cli_version(opt_at_version) : head;
	/* with --unit, the content the ranges are in and the content they
	 * are deleted from must both be whole elements */
	if ((rc = cli_version_len(b, ver, &len)) || (rc = cli_check_whole(b, ver, len)) ||
	    (rc = cli_check_whole(b, head, vb_vbuf_len(b))))
		goto fail;
	/* resolve and check every range; from here on in bytes */
	for (size_t i = 0; i < n; i++) {
		r[i].len_e = r[i].len;
		if ((rc = cli_resolve(b, ver, &r[i].pos, len, &r[i].at)) ||
		    (rc = cli_span(r[i].at, r[i].len_e, len, &r[i].len))) {
			if (ranges) {
				cli_error(NULL, "%s:%lu: %s", ranges, r[i].line, vb_err_detail());
				vb_vbuf_close(b);
				return EXIT_FAIL;
			}
			goto fail;
		}
	}
	if (ver != head) {
		/* each range's start and end carried to the head, the end with
		 * the range's last byte: what was inserted at either end since
		 * stays; a range wholly inside replaced bytes becomes empty */
		uint64_t *p = malloc(2 * (n ? n : 1) * sizeof *p);
		if (!p) {
			rc = vb_err_set(VB_ENOMEM, "out of memory");
			goto fail;
		}
		for (size_t i = 0; i < n; i++) {
			p[i] = r[i].at;
			p[n + i] = r[i].at + r[i].len;
		}
		if (!(rc = cli_map(b, ver, head, p, n, 0)))
			rc = cli_map(b, ver, head, p + n, n, 1);
		for (size_t i = 0; i < n && !rc; i++) {
			uint64_t end = r[i].len ? p[n + i] : p[i];
			char text[64];
			/* edits since V that were not whole elements */
			snprintf(text, sizeof text, "range %llu+%llu",
				 (unsigned long long)cli_elements(r[i].at),
				 (unsigned long long)r[i].len_e);
			r[i].at = p[i];
			r[i].len = end > p[i] ? end - p[i] : 0;
			if ((rc = cli_check_carried(text, 1, ver, head, r[i].at, r[i].len)) &&
			    ranges) {
				cli_error(NULL, "%s:%lu: %s", ranges, r[i].line, vb_err_detail());
				free(p);
				vb_vbuf_close(b);
				return EXIT_FAIL;
			}
		}
		free(p);
		if (rc || (rc = vb_vbuf_note_at_version(b, ver)))
			goto fail;
	}
	/* merge, then delete from the highest offset down */
	if (n > 1)
		qsort(r, n, sizeof *r, cmp_at);
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		if (w && r[i].at <= r[w - 1].at + r[w - 1].len) {
			uint64_t end = r[i].at + r[i].len;
			if (end > r[w - 1].at + r[w - 1].len)
				r[w - 1].len = end - r[w - 1].at;
		} else {
			r[w++] = r[i];
		}
	}
	for (size_t i = w; i-- > 0;) {
		if (!r[i].len && w > 1)
			continue; /* an empty range among others adds nothing */
		if ((rc = vb_vbuf_delete(b, r[i].at, r[i].len)))
			goto fail;
	}
fail:
	return cli_commit(b, rc, store, message);
}

int main(int argc, char **argv)
{
	const char **args;
	int nargs, status;
	struct range *r = NULL, one;
	size_t n = 0;

	args = cli_start(argc, argv, options,
			 "[OPTION...] STORE OFFSET LENGTH\n   or: vb-delete [OPTION...] --ranges FILE STORE",
			 &nargs);
	const char *ranges = cli_arg(opt_ranges), *message = cli_arg(opt_message);

	if (nargs < 1)
		cli_usage("missing STORE");
	const char *store = args[0];
	int stream = !strcmp(store, "-");
	if (ranges) {
		if (nargs > 1)
			cli_usage("--ranges takes the ranges from FILE: give only STORE ('%s' is extra)",
				  args[1]);
		if (stream && !strcmp(ranges, "-"))
			cli_usage("stdin is the stream being edited; --ranges needs a FILE");
	} else {
		if (nargs < 2)
			cli_usage("missing OFFSET and LENGTH after '%s'", store);
		if (nargs < 3)
			cli_usage("missing LENGTH after '%s'", args[1]);
		if (nargs > 3)
			cli_usage("extra operand '%s'", args[3]);
		one.pos = cli_pos(args[1]);
		one.len = cli_length(args[2]);
		one.line = 0;
		r = &one;
		n = 1;
	}
	if (message && strlen(message) > VB_MESSAGE_MAX)
		cli_usage("--message is longer than %u bytes", VB_MESSAGE_MAX);
	if (opt_at_version)
		cli_version(opt_at_version);
	if (stream && (message || cli_no_sync || cli_wait || cli_if_version || opt_at_version))
		cli_usage("--%s has no meaning when editing a stream ('-')",
			  message ? "message" : cli_no_sync ? "no-sync" : cli_wait ? "wait"
			  : cli_if_version ? "if-version" : "at-version");
	if (ranges && (status = read_ranges(ranges, &r, &n)))
		return status;
	if (stream)
		status = stream_mode(r, n, ranges);
	else
		status = edit_store(store, r, n, ranges, message);
	if (r != &one)
		free(r);
	return cli_close_stdout(status);
}
