/*
 * vb-frame: split byte streams into records and select, count, index or
 * re-frame them.
 *
 *   vb-frame [OPTION...] [INPUT...]
 *
 * Each INPUT (stdin when there is none, or `-`; a file; a vb store, whose
 * content at its newest version is read) is framed on its own: records do
 * not run from one input into the next, and record numbers start at 1 for
 * each.  Records are written as soon as they are complete.  A record is
 * held whole in memory, so memory is bounded by --max-size (default 64 MiB)
 * plus the read and output buffers.
 *
 * Design.  Bytes flow one way, one input at a time:
 *
 *   input   an fd (fill(): reads of READ_CHUNK bytes), or a store's content
 *           (vb_vbuf_read from the store's read offset);
 *     -> sbuf   one stream buffer for the whole run, appended at its tail,
 *           consumed from its head; emptied between inputs;
 *     -> codec  the framer (lib/frame: delimiters, a length prefix or a
 *           fixed size) describes the records at the buffer's head, up to
 *           BATCH of them per call (or only counts them, or passes over a
 *           run of a lone one-byte delimiter's records in one step);
 *     -> selection  -n's sorted spans (or --last's single open span) say
 *           which record numbers are wanted; a cursor moves with them;
 *           then --match/--regex (lib/match) look at the record's bytes
 *           (a fixed string is searched for in the buffer, as grep does:
 *           one memmem rules on every record before the next occurrence);
 *     -> output  counted (--count), described (--index), or written as
 *           they were (--keep) or re-framed (an output delimiter or a
 *           length prefix) through one OUT_BUF buffer to stdout.
 *
 * Memory bound.  The sbuf is capped at the framer's maximum (--max-size;
 * for --count and --index with delimiters or a fixed size, at most
 * HOLD_CAP) plus the room of a length prefix's header (or the longest
 * delimiter) plus two reads: a record at the limit always fits, and a
 * larger one is refused, skipped by its size or by searching for its end,
 * or truncated, as --oversize (or for the incomplete last record --final:
 * vb_frame_policy_fate) says, or for --count and --index measured (read
 * through to its end, then counted or indexed with its true length: they
 * never need a record's bytes), without growing the buffer.  Besides it:
 * the output buffer, a batch of frame descriptions, the -n spans, for
 * --last one READ_CHUNK to scan backward and one number per record
 * skipped as oversized, and while a record too large is read through to
 * learn whether it is complete, with --oversize=truncate, its first
 * --max-size bytes (a view split off the buffer: a copy for a linear one).
 *
 * --last finds the last records by reading backward from the end for
 * sync bytes (a file or a store, delimiters), by seeking (-F), or in one
 * forward pass that holds the last N records (a pipe; -L): a ring of N
 * slots of at most --max-size each.  --split reads only near each cut
 * point: forward to the next sync byte, or rounding down with -F.
 *
 * Progress.  Each INPUT has its own progress line (progress.h): the bytes
 * read through fill(), of the content's length for a store or the bytes
 * from the read offset for a regular file; "framed".
 *
 * What is held where.  `struct frame_opts` is the command line as popt
 * stored it: the one file-scope variable (popt's tables, constant besides,
 * need addresses of its fields); only main() names it, and hands it to the
 * setup functions.
 * `struct frame_run` is everything else, made by main() and passed down:
 * the decoded options and the framer, the -n selection, the output buffer,
 * the state of the input being framed (for messages, and --last's skipped
 * records) and the --count total.  `struct input` is one INPUT; `struct
 * pass` is one framing pass over one input from a record boundary (the
 * writing pass, or --last's counting pass).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "frame.h"
#include "match.h"
#include "progress.h"
#include "sbuf.h"
#include "vbuf.h"

#define READ_CHUNK (256u * 1024u)
#define OUT_BUF (128u * 1024u)
#define DELIMS_MAX 64
#define BATCH 256
/* --count and --index hold a delimited or fixed-size record of at most
 * this many bytes (or --max-size, if smaller); a longer one is measured
 * without being held.  Large enough for the fast counting paths, which
 * need the buffer within the framer's maximum. */
#define HOLD_CAP (4u << 20)

/* ------------------------------------------------------------- options */

/* The command line as popt stores it (decoded by setup_options and
 * setup_framer into struct frame_run). */
struct frame_opts {
	/* framing */
	/* The -d values in order.  popt collects them (POPT_ARG_ARGV), so
	 * that no string it hands out is lost: an option handler would get a
	 * decoded copy of a value holding "!#:+" and drop the original. */
	char **delim_argv;
	int ndelim;          /* how many (counted by setup_framer) */
	int lines, null;
	char *length, *length_offset, *length_adjust, *strip, *fixed;
	/* selecting */
	char *version, *records, *last, *max_size, *oversize, *bad_checksum, *split;
	char *match, *regex;
	int count, index, json, ranges, invert;
	/* output */
	int keep, zero, unbuffered;
	char *out_delim, *to_length, *to_adjust, *final;
};

/* popt's tables point into this; no function but main() names it. */
static struct frame_opts cmdline;

static struct poptOption framing_options[] = {
	{"delimiter", 'd', POPT_ARG_ARGV, &cmdline.delim_argv, 0,
	 "records end with STR (escapes \\n \\r \\t \\0 \\\\ \\xHH); repeat for several: the longest match wins",
	 "=STR"}, /* "=": popt would write "--delimiter STR" for an ARGV option */
	{"lines", 'l', POPT_ARG_NONE, &cmdline.lines, 0,
	 "lines ending in \\n, \\r\\n or \\r (the default framing)", NULL},
	{"null", '0', POPT_ARG_NONE, &cmdline.null, 0,
	 "records end with a NUL byte (in the input only; -z: in and out)", NULL},
	{"length-prefix", 'L', POPT_ARG_STRING, &cmdline.length, 0,
	 "records carry a length field: u8, u16be, u16le, u24be, u24le, u32be, u32le, u64be, u64le, varint, or ASCII digits: netstring, syslog (RFC 6587), pkt-line (git), dec:C or hex:C (digits ended by the byte C); or a preset: protobuf, tfrecord (CRC-32C checked), mrt",
	 "SPEC"},
	{"length-offset", 0, POPT_ARG_STRING, &cmdline.length_offset, 0,
	 "bytes before the length field (default 0)", "N"},
	{"length-adjust", 0, POPT_ARG_STRING, &cmdline.length_adjust, 0,
	 "add N (-2^63 to 2^63-1; negative as --length-adjust=-4) to the field to get the bytes after it",
	 "N"},
	{"strip", 0, POPT_ARG_STRING, &cmdline.strip, 0,
	 "drop N bytes from the start of each frame (default: up to the end of the length field)",
	 "N"},
	{"fixed", 'F', POPT_ARG_STRING, &cmdline.fixed, 0,
	 "records of N bytes each, written as they are (no delimiter added)", "N"},
	POPT_TABLEEND
};

static struct poptOption select_options[] = {
	{"at-version", 'V', POPT_ARG_STRING, &cmdline.version, 0,
	 "frame version N of each store INPUT instead of the newest (other inputs are not stores)",
	 "N"},
	{"records", 'n', POPT_ARG_STRING, &cmdline.records, 0,
	 "only records in LIST (1-based: 5, 10-20, 100-, comma-separated)", "LIST"},
	{"last", 0, POPT_ARG_STRING, &cmdline.last, 0,
	 "only the last N records: read backward from the end of a file or a store (delimiter framing), found by seeking (-F), or held in one forward pass (a pipe, -L: N records of at most --max-size)",
	 "N"},
	{"match", 0, POPT_ARG_STRING, &cmdline.match, 0,
	 "only records holding the bytes STR (escapes as for --delimiter)", "STR"},
	{"regex", 'e', POPT_ARG_STRING, &cmdline.regex, 0,
	 "only records matching the regular expression RE (PCRE2: Perl syntax, as grep -P; bytes, not UTF-8)",
	 "RE"},
	{"invert", 'v', POPT_ARG_NONE, &cmdline.invert, 0,
	 "with --match or --regex: only the records that do not match", NULL},
	{"count", 'c', POPT_ARG_NONE, &cmdline.count, 0, "print the number of records instead", NULL},
	{"index", 'i', POPT_ARG_NONE, &cmdline.index, 0,
	 "print each record's offset and length (tab-separated) instead", NULL},
	{"split", 0, POPT_ARG_STRING, &cmdline.split, 0,
	 "print N record-aligned pieces of each INPUT (a file or a store) as OFFSET LENGTH FIRST_RECORD lines, found near the cut points only",
	 "N"},
	{"ranges", 0, POPT_ARG_NONE, &cmdline.ranges, 0,
	 "with --split: print each piece as START:END (vb-cat --range's form)", NULL},
	{"json", 'j', POPT_ARG_NONE, &cmdline.json, 0,
	 "--count and --index as one JSON object: {\"inputs\": [...], \"total\": N} or {\"records\": [...]}",
	 NULL},
	{"max-size", 0, POPT_ARG_STRING, &cmdline.max_size, 0,
	 "largest record held in memory (default 64M; with -L the whole frame, header included)",
	 "SIZE"},
	{"bad-checksum", 0, POPT_ARG_STRING, &cmdline.bad_checksum, 0,
	 "a record whose checksum does not match (-L tfrecord): error (default, exit 1) or skip it",
	 "error|skip"},
	{"oversize", 0, POPT_ARG_STRING, &cmdline.oversize, 0,
	 "a complete record larger than --max-size: error (default, exit 1), skip it, or truncate it to --max-size (--count and --index: counted with its true length unless skipped)",
	 "error|skip|truncate"},
	POPT_TABLEEND
};

static struct poptOption output_options[] = {
	{"keep", 'k', POPT_ARG_NONE, &cmdline.keep, 0,
	 "write each record with its own delimiter (or length header), as it was", NULL},
	{"zero", 'z', POPT_ARG_NONE, &cmdline.zero, 0,
	 "NUL for newline: records end with a NUL byte in the input (as with -0, unless a framing is given) and each record written ends with one",
	 NULL},
	{"output-delimiter", 0, POPT_ARG_STRING, &cmdline.out_delim, 0,
	 "end each record written with STR (escapes as for --delimiter; default \\n, none for --fixed)",
	 "STR"},
	{"to-length-adjust", 0, POPT_ARG_STRING, &cmdline.to_adjust, 0,
	 "with --to-length-prefix: the field holds the record's length minus N (read back with --length-adjust=N; -4 for a u32 field that counts itself)",
	 "N"},
	{"to-length-prefix", 0, POPT_ARG_STRING, &cmdline.to_length, 0,
	 "write each record after a length field of SPEC instead of a delimiter", "SPEC"},
	{"final", 0, POPT_ARG_STRING, &cmdline.final, 0,
	 "a last record without its delimiter, short, or a truncated frame, whatever its size: emit (then --oversize applies to it), drop or error (default emit; error for --length-prefix)",
	 "emit|drop|error"},
	{"unbuffered", 'u', POPT_ARG_NONE, &cmdline.unbuffered, 0,
	 "write each record at once (the default when stdout is a terminal)", NULL},
	POPT_TABLEEND
};

static struct poptOption options[] = {
	{NULL, 0, POPT_ARG_INCLUDE_TABLE, framing_options, 0, "Framing:", NULL},
	{NULL, 0, POPT_ARG_INCLUDE_TABLE, select_options, 0, "Selecting:", NULL},
	{NULL, 0, POPT_ARG_INCLUDE_TABLE, output_options, 0, "Output:", NULL},
	{NULL, 0, POPT_ARG_INCLUDE_TABLE, cli_progress_options, 0, "Progress:", NULL},
	{NULL, 0, POPT_ARG_INCLUDE_TABLE, cli_common_options, 0, "Other:", NULL},
	POPT_TABLEEND
};

/* ------------------------------------------------------------ run state */

struct span {
	uint64_t lo, hi; /* inclusive; hi UINT64_MAX: open */
};

/* Which records of an input are wanted: every one (no spans), or those in
 * the spans. */
struct selection {
	struct span *spans;   /* sorted by lo */
	size_t nspans;
	uint64_t last_wanted; /* the highest wanted; UINT64_MAX: no end */
	size_t at;            /* wanted()'s cursor: the first span that may
			       * hold the next record (0 at an input's start) */
};

/* Bytes on their way to stdout. */
struct output {
	size_t len;           /* bytes queued in buf */
	int flush_each;       /* write each record at once (-u, or a terminal) */
	int failed;           /* a write failed (not EPIPE): stdout is gone */
	unsigned char buf[OUT_BUF];
};

/* A record larger than --max-size that --last's counting pass met.  With
 * --oversize=skip it is not counted: `counted` is the number of records
 * counted before it.  With --oversize=error it is counted, as number
 * `counted`: it is an error if that is one of the last N.  n and off name
 * it in messages. */
struct over_rec {
	uint64_t counted, n, off;
};

struct frame_run {
	/* how records are framed (setup_framer) */
	struct vb_framer *framer;
	int is_length, is_fixed;        /* else delimiter framing */
	uint64_t fixed;                 /* -F's size */
	uint64_t split;                 /* --split N (0: off) */
	/* --last in one forward pass (a pipe, or -L): the last records met,
	 * held until the end (ring_push, ring_flush) */
	struct ring_rec *ring;
	size_t ring_cap, ring_len, ring_head;
	int ringing;
	int ranges;                     /* --ranges: --split as START:END */
	int line_mode;                  /* lines (-l; -d '\n' alone): 1 + enum
					 * vb_line_mode, else 0 */
	uint64_t n_start;               /* records before the pass's start */
	uint64_t max_size;              /* --max-size */
	uint64_t hold_max;              /* the framer's maximum: --max-size, or
					 * less for --count and --index */
	/* bytes a frame may hold besides its record: a length prefix's header */
	uint64_t header_room;

	/* what is done with them (setup_options) */
	int count, index, keep;         /* --count, --index, --keep */
	int json;                       /* --json: entries written so far + 1 */
	int skip_bad;                   /* --bad-checksum=skip */
	struct vb_match *matcher;       /* --match, --regex (NULL: none) */
	int invert;                     /* --invert */
	unsigned char *scratch;         /* a record to match that is not contiguous */
	size_t scratch_cap;
	/* --match's last search of the buffer, in content offsets: from
	 * m_from (UINT64_MAX: none yet) to m_end, the first occurrence at
	 * m_hit (UINT64_MAX: none) */
	uint64_t m_from, m_end, m_hit;
	struct vb_frame_policy policy;  /* --oversize, --final */
	const unsigned char *out_delim; /* -z, --output-delimiter (default "\n") */
	size_t out_delim_len;
	unsigned char *out_delim_buf;   /* out_delim when decoded (malloc'ed) */
	int to_length;                  /* --to-length-prefix to_spec */
	struct vb_lenspec to_spec;
	int plain;                      /* records + output delimiter, not flushed each */
	uint64_t last_n;                /* --last: 0 means off */
	struct cli_version at_version;  /* -V, or CLI_NEWEST */
	struct selection sel;           /* -n (empty: every record) */
	int several;                    /* more than one INPUT: name each in output */

	/* the input being framed */
	uint64_t cur_record;            /* the record being written, for messages */
	int numbers_unknown;            /* --last from inside the input: records are
					 * counted from there, not from the start */
	char msg[2][64];                /* rec_at()'s two latest texts */
	int msg_k;
	/* --last: the records larger than --max-size met while counting */
	struct over_rec *over;
	size_t nover, capover;
	struct vb_frame batch[BATCH];   /* the codec's descriptions */

	/* the whole run */
	uint64_t grand_total;           /* --count of several inputs */
	struct output out;
};

/* ------------------------------------------------------------ selection */

static int cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static void parse_records(struct selection *sel, const char *list)
{
	char *copy = strdup(list);

	if (!copy)
		cli_usage("out of memory");
	for (char *tok = copy, *next; tok; tok = next) {
		struct span s;
		next = strchr(tok, ',');
		if (next)
			*next++ = 0;
		char *dash = strchr(tok, '-');
		if (dash)
			*dash = 0;
		if (!*tok || vb_parse_size(tok, "record number", &s.lo))
			cli_usage("invalid --records '%s': expected record numbers and ranges such as 5,10-20,100-",
				  list);
		if (!s.lo)
			cli_usage("invalid --records '%s': records are numbered from 1", list);
		s.hi = s.lo;
		if (dash) {
			if (!dash[1])
				s.hi = UINT64_MAX;
			else if (vb_parse_size(dash + 1, "record number", &s.hi))
				cli_usage("invalid --records '%s': expected record numbers and ranges such as 5,10-20,100-",
					  list);
			else if (s.hi < s.lo)
				cli_usage("invalid --records '%s': a range is FIRST-LAST with FIRST <= LAST",
					  list);
		}
		struct span *ns = realloc(sel->spans, (sel->nspans + 1) * sizeof *ns);
		if (!ns)
			cli_usage("out of memory");
		sel->spans = ns;
		sel->spans[sel->nspans++] = s;
	}
	free(copy);
	if (!sel->nspans)
		cli_usage("invalid --records '%s'", list);
	qsort(sel->spans, sel->nspans, sizeof *sel->spans, cmp_span);
	sel->last_wanted = 0;
	for (size_t i = 0; i < sel->nspans; i++)
		if (sel->spans[i].hi > sel->last_wanted)
			sel->last_wanted = sel->spans[i].hi;
}

/* Is record n wanted?  n grows by one per call within an input. */
static int wanted(struct selection *sel, uint64_t n)
{
	if (!sel->nspans)
		return 1;
	while (sel->at < sel->nspans && sel->spans[sel->at].hi < n)
		sel->at++;
	for (size_t i = sel->at; i < sel->nspans && sel->spans[i].lo <= n; i++)
		if (sel->spans[i].hi >= n)
			return 1;
	return 0;
}

/* How many records after record n are not wanted, before the next one
 * that is (0: record n + 1 is wanted; there is always one more wanted,
 * or the caller would have stopped). */
static uint64_t unwanted_ahead(const struct selection *sel, uint64_t n)
{
	uint64_t m = n + 1;

	for (size_t i = sel->at; i < sel->nspans; i++) {
		if (sel->spans[i].hi < m)
			continue;
		return sel->spans[i].lo <= m ? 0 : sel->spans[i].lo - m;
	}
	return 0;
}

/* No record after record n is wanted. */
static int past_selection(const struct selection *sel, uint64_t n)
{
	return sel->nspans && sel->last_wanted != UINT64_MAX && n >= sel->last_wanted;
}

/* --------------------------------------------------------------- output */

static enum vb_err out_flush(struct output *o)
{
	enum vb_err rc = VB_OK;

	if (o->len) {
		rc = vb_io_write_full(1, o->buf, o->len);
		if (rc && vb_err_errno() != EPIPE) {
			vb_err_set(rc, "write error: %s", strerror(vb_err_errno()));
			o->failed = 1;
		}
		o->len = 0;
	}
	return rc;
}

/* Queue n bytes (or, with `now` and n at least a page, write them out at
 * once after what is queued: no copy of a large block). */
static enum vb_err out_put(struct output *o, const void *p, size_t n, int now)
{
	enum vb_err rc;

	if (n > OUT_BUF - o->len || (now && n >= 4096)) {
		if ((rc = out_flush(o)))
			return rc;
		if (n >= OUT_BUF || (now && n >= 4096)) {
			rc = vb_io_write_full(1, p, n);
			if (rc && vb_err_errno() != EPIPE) {
				vb_err_set(rc, "write error: %s", strerror(vb_err_errno()));
				o->failed = 1;
			}
			return rc;
		}
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
	return VB_OK;
}

static enum vb_err out_write(struct output *o, const void *p, size_t n)
{
	return out_put(o, p, n, 0);
}

/* Write bytes [off, off+n) of the buffer b, or of the view v when there is
 * one (a record's first bytes held aside while the rest is read). */
/* fn(arg, p, n) for each run of the bytes [off, off+n) of the buffer, or
 * of the view v when it is not NULL, in order; stops at an error. */
static enum vb_err each_run(const struct vb_sbuf *b, const struct vb_view *v, size_t off, size_t n,
			    enum vb_err (*fn)(void *arg, const void *p, size_t n), void *arg)
{
	enum vb_err rc;

	if (v) {
		int cnt;
		const struct iovec *iov = vb_view_iov(v, &cnt);
		for (int i = 0; i < cnt && n; i++) {
			if (off >= iov[i].iov_len) {
				off -= iov[i].iov_len;
				continue;
			}
			size_t run = iov[i].iov_len - off < n ? iov[i].iov_len - off : n;
			if ((rc = fn(arg, (const unsigned char *)iov[i].iov_base + off, run)))
				return rc;
			off = 0;
			n -= run;
		}
		return VB_OK;
	}
	while (n) {
		size_t run;
		const unsigned char *p = vb_sbuf_contig(b, off, &run);
		if (run > n)
			run = n;
		if ((rc = fn(arg, p, run)))
			return rc;
		off += run;
		n -= run;
	}
	return VB_OK;
}

static enum vb_err put_run(void *arg, const void *p, size_t n)
{
	return out_write(arg, p, n);
}

static enum vb_err out_sbuf(struct output *o, const struct vb_sbuf *b, const struct vb_view *v,
			    size_t off, size_t n)
{
	return each_run(b, v, off, n, put_run, o);
}

static enum vb_err crc_run(void *arg, const void *p, size_t n)
{
	uint32_t *c = arg;

	*c = vb_lenspec_sum(*c, p, n);
	return VB_OK;
}

/* ---------------------------------------------------------------- input */

struct input {
	const char *name;
	int fd;
	struct vb_vbuf *store;   /* a vb store: read its content */
	uint64_t store_off;
	int eof;
	int looked;              /* the start was checked for a store's header */
	uint64_t file_start;     /* where a file on stdin stood when it came */
	struct cli_progress *pr; /* its progress line, or NULL */
	uint64_t read;           /* bytes fill() read (for the line) */
};

/* The progress line of `in`, opened: the total is a store's content
 * length or a regular file's bytes from its read offset. */
static struct cli_progress *input_progress(const struct input *in)
{
	struct stat st;
	off_t cur;
	uint64_t total = 0;

	if (in->store)
		total = vb_vbuf_len(in->store);
	else if (fstat(in->fd, &st) == 0 && S_ISREG(st.st_mode) &&
		 (cur = lseek(in->fd, 0, SEEK_CUR)) >= 0 && st.st_size > cur)
		total = (uint64_t)(st.st_size - cur);
	return cli_progress_start("framed", total);
}

/* Make the input read on from content offset `off`. */
static enum vb_err seek_input(struct input *in, uint64_t off)
{
	if (in->store) {
		in->store_off = off;
		return VB_OK;
	}
	if (lseek(in->fd, (off_t)(in->file_start + off), SEEK_SET) < 0)
		return vb_err_sys("seek");
	return VB_OK;
}

static enum vb_err fill(struct input *in, struct vb_sbuf *b, size_t *got)
{
	*got = 0;
	if (in->store) {
		uint64_t left = vb_vbuf_len(in->store) - in->store_off;
		void *p;
		size_t avail;
		enum vb_err rc;
		if (!left)
			return VB_OK;
		if ((rc = vb_sbuf_reserve_some(b, READ_CHUNK, &p, &avail)))
			return rc;
		if (avail > left)
			avail = (size_t)left;
		if ((rc = vb_vbuf_read(in->store, in->store_off, p, avail))) {
			vb_sbuf_cancel(b);
			return rc;
		}
		vb_sbuf_commit(b, avail);
		in->store_off += avail;
		*got = avail;
		in->read += avail;
		cli_progress_update(in->pr, in->read);
		return VB_OK;
	}
	enum vb_err rc = vb_sbuf_fill_fd(b, in->fd, READ_CHUNK, got);
	in->read += *got;
	cli_progress_update(in->pr, in->read);
	if (!rc && !in->looked && vb_sbuf_len(b) >= 8) {
		/* a store arriving through a pipe cannot be opened as one: its
		 * raw bytes are framed, which is rarely what was meant */
		unsigned char m[8];
		in->looked = 1;
		vb_sbuf_peek(b, 0, m, 8);
		if (!memcmp(m, "\x89VBSTOR\n", 8))
			cli_error(in->name, "warning: this looks like a vb store arriving through a pipe; its raw bytes are framed (give the store as a file to frame its content)");
	}
	return rc;
}

/* Read on into the buffer; the input's end sets in->eof. */
static enum vb_err read_more(struct input *in, struct vb_sbuf *b)
{
	size_t got;
	enum vb_err rc = fill(in, b, &got);

	if (!rc && !got)
		in->eof = 1;
	return rc;
}

/* ------------------------------------------------------------- records */

/* How messages name record n at offset off: "record N at offset O", or
 * where the number from the start is unknown, "record at offset O" (+ 7:
 * without "record ").  The text lives until the second call after. */
static const char *rec_at(struct frame_run *r, uint64_t n, uint64_t off)
{
	char *buf = r->msg[r->msg_k ^= 1];

	if (r->numbers_unknown)
		snprintf(buf, sizeof r->msg[0], "record at offset %llu", (unsigned long long)off);
	else
		snprintf(buf, sizeof r->msg[0], "record %llu at offset %llu", (unsigned long long)n,
			 (unsigned long long)off);
	return buf;
}

static void json_put(void *arg, const void *p, size_t n)
{
	out_write(arg, p, n); /* a failure is the output's, seen at the end */
}

/* --json: the start of one entry of the array, and its input's name. */
static enum vb_err json_entry(struct frame_run *r, const char *name)
{
	static const char sep[] = ",\n      {\"input\": ";
	/* the first entry: no comma */
	enum vb_err rc = r->json++ == 1 ? out_write(&r->out, sep + 1, sizeof sep - 2)
					: out_write(&r->out, sep, sizeof sep - 1);
	if (!rc)
		cli_json_string(json_put, &r->out, name, strlen(name));
	return rc;
}

/* --index's line for a record at content offset `off` of `len` bytes (what
 * --keep would write, or the record alone). */
static enum vb_err put_index(struct frame_run *r, const struct input *in, uint64_t off,
			     uint64_t len)
{
	struct output *o = &r->out;
	enum vb_err rc;
	char line[64];

	if (r->json) {
		if ((rc = json_entry(r, in->name)))
			return rc;
		int k = snprintf(line, sizeof line, ", \"offset\": %llu, \"length\": %llu}",
				 (unsigned long long)off, (unsigned long long)len);
		return out_write(o, line, (size_t)k);
	}
	if (r->several && (rc = out_write(o, in->name, strlen(in->name))))
		return rc;
	int k = snprintf(line, sizeof line, "%s%llu\t%llu\n", r->several ? "\t" : "",
			 (unsigned long long)off, (unsigned long long)len);
	return out_write(o, line, (size_t)k);
}

/* A record --last holds in one forward pass: what emit() needs of it. */
struct ring_rec {
	uint64_t base;          /* its content offset */
	struct vb_frame fr;
	size_t len;             /* the bytes emit() writes of it */
	unsigned char *bytes;   /* fr.total bytes of the frame (not for --index) */
	size_t cap;             /* bytes allocated at `bytes` (kept for the next) */
	uint64_t too_large;     /* not 0: record number too_large, larger than
				 * --max-size, an error if it is one of the N */
};

static enum vb_err copy_run(void *arg, const void *p, size_t n)
{
	unsigned char **dst = arg;

	memcpy(*dst, p, n);
	*dst += n;
	return VB_OK;
}

static enum vb_err each_run(const struct vb_sbuf *b, const struct vb_view *v, size_t off, size_t n,
			    enum vb_err (*fn)(void *arg, const void *p, size_t n), void *arg);

/* Hold the record emit() was given, as the newest of the last N, the
 * oldest one dropped when N are held: memory for at most N records of
 * at most --max-size (and their headers). */
static enum vb_err ring_push(struct frame_run *r, const struct vb_sbuf *b, const struct vb_view *v,
			     size_t at, uint64_t base, const struct vb_frame *fr, size_t len)
{
	struct ring_rec *e;

	if (r->ring_len < r->last_n && r->ring_len == r->ring_cap) {
		size_t cap = r->ring_cap ? r->ring_cap * 2 : 64;
		if (cap > r->last_n)
			cap = (size_t)r->last_n;
		struct ring_rec *n = realloc(r->ring, cap * sizeof *n);
		if (!n)
			return vb_err_set(VB_ENOMEM, "out of memory for --last %llu",
					  (unsigned long long)r->last_n);
		/* the ring is not wrapped while it grows */
		r->ring = n;
		r->ring_cap = cap;
	}
	if (r->ring_len < r->last_n) {
		e = &r->ring[r->ring_len++];
		e->bytes = NULL;
		e->cap = 0;
	} else {
		/* the oldest goes; its memory serves the newest */
		e = &r->ring[r->ring_head];
		r->ring_head = (r->ring_head + 1) % r->ring_len;
	}
	e->base = base;
	e->fr = *fr;
	e->len = len;
	e->too_large = 0;
	if (!b && !v) /* ring_fail's entry */
		return VB_OK;
	if (!r->index && fr->total) {
		unsigned char *dst;
		if (e->cap < fr->total) {
			free(e->bytes);
			e->cap = 0;
			size_t want = fr->total < 256 ? 256 : fr->total;
			if (!(e->bytes = malloc(want)))
				return vb_err_set(VB_ENOMEM, "out of memory for --last %llu",
						  (unsigned long long)r->last_n);
			e->cap = want;
		}
		dst = e->bytes;
		each_run(b, v, at, fr->total, copy_run, &dst);
	}
	return VB_OK;
}

/* A record larger than --max-size that --oversize=error fails: one of
 * the records, failing the input only if it stays among the last N. */
static enum vb_err ring_fail(struct frame_run *r, uint64_t n, uint64_t off)
{
	struct vb_frame none = {0, 0, 0, 0, 0};
	enum vb_err rc = ring_push(r, NULL, NULL, 0, off, &none, 0);
	size_t k = r->ring_len < r->last_n ? r->ring_len - 1
					   : (r->ring_head + r->ring_len - 1) % r->ring_len;

	if (!rc)
		r->ring[k].too_large = n;
	return rc;
}

static enum vb_err emit(struct frame_run *r, const struct input *in, const struct vb_sbuf *b,
			const struct vb_view *v, size_t at, uint64_t base, const struct vb_frame *fr,
			size_t len);
static enum vb_err too_large(struct frame_run *r, uint64_t n, uint64_t off);

/* Write the records the ring holds, oldest first, and empty it (on
 * failure too); with `count`, only their number. */
static enum vb_err ring_flush(struct frame_run *r, const struct input *in, int count)
{
	struct vb_sbuf *t = NULL;
	enum vb_err rc = r->index ? VB_OK : vb_sbuf_create_linear(0, &t);

	r->ringing = 0;
	for (size_t k = 0; k < r->ring_len; k++) {
		struct ring_rec *e = &r->ring[(r->ring_head + k) % r->ring_len];
		if (!rc && e->too_large)
			rc = too_large(r, e->too_large, e->base);
		else if (count)
			;
		else if (!rc) {
			if (t && e->fr.total)
				rc = vb_sbuf_append(t, e->bytes, e->fr.total);
			if (!rc)
				rc = emit(r, in, t, NULL, 0, e->base, &e->fr, e->len);
			if (t)
				vb_sbuf_advance(t, vb_sbuf_len(t));
		}
		free(e->bytes);
		e->bytes = NULL;
	}
	r->ring_len = r->ring_head = 0;
	vb_sbuf_free(t);
	return rc;
}

/* Emit a record: its bytes are [at + fr->skip, + len) of the buffer (or of
 * the view v, when it was held aside), the raw frame [at, at + fr->total),
 * at content offset `base`. */
static enum vb_err emit(struct frame_run *r, const struct input *in, const struct vb_sbuf *b,
			const struct vb_view *v, size_t at, uint64_t base, const struct vb_frame *fr,
			size_t len)
{
	struct output *o = &r->out;
	enum vb_err rc;

	if (r->ringing)
		return ring_push(r, b, v, at, base, fr, len);
	if (r->index) {
		rc = r->keep ? put_index(r, in, base, fr->total) : put_index(r, in, base + fr->skip, len);
	} else if (r->keep) {
		rc = out_sbuf(o, b, v, at, fr->total);
	} else if (r->to_length) {
		unsigned char h[VB_LENSPEC_MAX];
		size_t hn;
		uint32_t crc = 0;
		if ((rc = vb_lenspec_encode(&r->to_spec, len, h, &hn))) {
			vb_err_prefix("%s", rec_at(r, r->cur_record, base));
			return rc;
		}
		if (!(rc = out_write(o, h, hn)))
			rc = out_sbuf(o, b, v, at + fr->skip, len);
		/* what follows the record: a netstring's ',', TFRecord's CRC */
		if (!rc && vb_lenspec_tail_crc(&r->to_spec))
			each_run(b, v, at + fr->skip, len, crc_run, &crc);
		if (!rc && (hn = vb_lenspec_tail(&r->to_spec, crc, h)))
			rc = out_write(o, h, hn);
	} else {
		if (!(rc = out_sbuf(o, b, v, at + fr->skip, len)))
			rc = out_write(o, r->out_delim, r->out_delim_len);
	}
	if (!rc && o->flush_each)
		rc = out_flush(o);
	return rc;
}

/* Read through the rest of an oversized record that starts at the head of
 * the buffer, without holding it (length and fixed framing: fr->total bytes
 * in all, of which `done` were taken from the buffer already; delimiter
 * framing: up to its delimiter), moving *base past it.  *complete says
 * whether its end was in the input (0: the input ended inside it, it is
 * the incomplete last record); *dlen is the length of the delimiter that
 * ended it (0 for other framings). */
static enum vb_err skip_record(struct frame_run *r, struct input *in, struct vb_sbuf *b,
			       const struct vb_frame *fr, size_t done, uint64_t *base, int *complete,
			       size_t *dlen)
{
	enum vb_err rc;
	size_t got;

	*complete = !fr->unterminated;
	*dlen = 0;
	/* length and fixed framing always know the size of what they skip;
	 * only delimiter framing searches for the end */
	if (r->is_length || r->is_fixed) {
		if (!fr->total || done > fr->total)
			return vb_err_set(VB_EIO, "internal error: a frame to skip without its size");
		uint64_t left = fr->total - done;
		while (left) {
			size_t have = vb_sbuf_len(b), take = have < left ? have : (size_t)left;
			vb_sbuf_advance(b, take);
			left -= take;
			*base += take;
			if (!left)
				break;
			if ((rc = fill(in, b, &got)))
				return rc;
			if (!got) { /* the input ended inside the frame */
				*complete = 0;
				return VB_OK;
			}
		}
		return VB_OK;
	}
	size_t keep = vb_framer_max_delim(r->framer) - 1;
	for (;;) {
		size_t pos;
		rc = vb_framer_find_end(r->framer, b, in->eof, &pos, dlen);
		if (rc == VB_OK) {
			vb_sbuf_advance(b, pos + *dlen);
			vb_framer_discard(r->framer, pos + *dlen);
			*base += pos + *dlen;
			*complete = *dlen > 0; /* 0: the end of input ended it */
			return VB_OK;
		}
		if (rc != VB_ENEEDMORE)
			return rc;
		size_t have = vb_sbuf_len(b);
		if (have > keep) {
			vb_sbuf_advance(b, have - keep);
			vb_framer_discard(r->framer, have - keep);
			*base += have - keep;
		}
		if ((rc = read_more(in, b)))
			return rc;
	}
}

static enum vb_err note_over(struct frame_run *r, uint64_t counted, uint64_t n, uint64_t off)
{
	if (r->nover == r->capover) {
		size_t cap = r->capover ? r->capover * 2 : 16;
		struct over_rec *p;
		if (cap <= r->nover || cap > SIZE_MAX / sizeof *p)
			return vb_err_set(VB_ENOMEM, "out of memory (an array of %zu elements)",
					  r->nover + 1);
		if (!(p = realloc(r->over, cap * sizeof *p)))
			return vb_err_set(VB_ENOMEM, "out of memory");
		r->over = p;
		r->capover = cap;
	}
	r->over[r->nover++] = (struct over_rec){counted, n, off};
	return VB_OK;
}

/* ------------------------------------------------------ one input, once */

/* One framing pass over one input, from a record boundary. */
struct pass {
	struct input *in;
	struct vb_sbuf *b;
	struct selection *sel;
	uint64_t *tally;   /* non-NULL: only count, into *tally (--last) */
	int counting;      /* --count, or a tally */
	uint64_t n;        /* records framed: the number of the latest */
	uint64_t count;    /* records counted */
	uint64_t base;     /* the content offset of the buffer's head */
};

/* Counting every record with delimiter framing: no need to describe each
 * record (an oversized length-prefixed or fixed record needs the frame the
 * framer describes to be skipped, and vb_framer_count does not give it).
 * VB_OK: records counted and consumed; otherwise what vb_framer_next
 * returns, with batch[0] a zero frame for the error paths. */
static enum vb_err count_records(struct frame_run *r, struct pass *p)
{
	uint64_t recs;
	size_t used;
	enum vb_err rc = vb_framer_count(r->framer, p->b, p->in->eof, &recs, &used);

	if (rc == VB_OK) {
		p->n += recs;
		p->count += recs;
		p->base += used;
		vb_sbuf_advance(p->b, used);
	} else if (rc != VB_ENEEDMORE) {
		r->batch[0] = (struct vb_frame){0, 0, 0, 0, 0};
	}
	return rc;
}

/* A lone one-byte delimiter over a contiguous buffer: the records not
 * wanted are counted, not described; with plain output and a one-byte
 * output delimiter the records go out as the input bytes with the
 * delimiters replaced in place (the buffer is ours, consumed right after).
 * Returns 1 when it took records (*rc: how writing them went), 0 when the
 * case does not hold here. */
static int lone_run(struct frame_run *r, struct pass *p, enum vb_err *rc)
{
	uint64_t limit = 0, recs;
	int write_through = 0;
	unsigned char c;
	size_t used, whole;

	if (!r->is_length && !r->is_fixed) {
		if (p->sel->nspans) {
			limit = unwanted_ahead(p->sel, p->n);
		} else if (r->plain && !p->counting && r->out_delim_len == 1) {
			limit = UINT64_MAX;
			write_through = 1;
		}
	}
	if (!limit || !vb_framer_lone_run(r->framer, p->b, limit, &c, &recs, &used))
		return 0;
	*rc = VB_OK;
	if (write_through) {
		unsigned char *q = (unsigned char *)(uintptr_t)vb_sbuf_contig(p->b, 0, &whole);
		if (c != r->out_delim[0])
			vb_bytes_replace(q, used, c, r->out_delim[0]);
		*rc = out_put(&r->out, q, used, 1);
	}
	p->n += recs;
	p->base += used;
	vb_sbuf_advance(p->b, used);
	return 1;
}

/* Record n at offset off is the incomplete last record, and --final=error
 * fails it. */
static enum vb_err incomplete_last(struct frame_run *r, uint64_t n, uint64_t off)
{
	return vb_err_set(VB_EINVAL, r->is_length ? "the last frame (record %s) is truncated"
				     : r->is_fixed ? "the last record (%s) is shorter than --fixed"
						   : "the last record (%s) has no delimiter",
			  rec_at(r, n, off) + 7);
}

/* The `cnt` records the codec described at the head of the buffer (in
 * batch): count the wanted ones or write them, then consume them all.
 * Plain output of a contiguous buffer: runs of records whose delimiter is
 * as long as the output delimiter go out as one copy of the input bytes.
 * The input buffer is ours, and consumed right after, so the delimiters
 * are rewritten in it. */
/* Whether --match/--regex (and --invert) keep the record whose bytes are
 * [at, at + len) of the buffer: *keep.  A record in pieces is matched
 * from a copy (as large as the largest such record: at most --max-size). */
static enum vb_err selected(struct frame_run *r, const struct vb_sbuf *b, size_t at, size_t len,
			    int *keep)
{
	size_t run;
	const unsigned char *p = len ? vb_sbuf_contig(b, at, &run) : NULL;
	int hit;
	enum vb_err rc;

	if (len && run < len) {
		if (r->scratch_cap < len) {
			unsigned char *n = realloc(r->scratch, len);
			if (!n)
				return vb_err_set(VB_ENOMEM, "out of memory");
			r->scratch = n;
			r->scratch_cap = len;
		}
		unsigned char *dst = r->scratch;
		each_run(b, NULL, at, len, copy_run, &dst);
		p = r->scratch;
	}
	if ((rc = vb_match_test(r->matcher, p, len, &hit)))
		return rc;
	*keep = hit != r->invert;
	return VB_OK;
}

static enum vb_err take_batch(struct frame_run *r, struct pass *p, size_t cnt)
{
	size_t at = 0, run_start = 0, run_len = 0, whole;
	enum vb_err rc = VB_OK;
	unsigned char *run_p = (unsigned char *)(uintptr_t)vb_sbuf_contig(p->b, 0, &whole);

	if (whole != vb_sbuf_len(p->b))
		run_p = NULL;
	/* --match: its fixed string, searched for in the buffer (r->m_*) */
	size_t nlen = 0;
	const unsigned char *needle = r->matcher ? vb_match_fixed_bytes(r->matcher, &nlen) : NULL;
	for (size_t i = 0; i < cnt && !rc; i++) {
		struct vb_frame *f = &r->batch[i];
		p->n++;
		/* within the maximum: the incomplete last record is --final's */
		enum vb_fate fate = f->unterminated ? vb_frame_policy_fate(&r->policy, 0, 0)
						    : VB_FATE_EMIT;
		if (fate == VB_FATE_FAIL_FINAL) {
			rc = incomplete_last(r, p->n, p->base);
			break;
		}
		int keep = 1;
		if (fate == VB_FATE_EMIT && r->matcher && wanted(p->sel, p->n)) {
			size_t from = at + f->skip;
			if (needle && run_p) {
				/* as grep does: the next occurrence in the
				 * buffer rules on every record before it at
				 * once (one wholly inside a record is the first
				 * at or after its start); no occurrence rules
				 * on every record the search covered */
				uint64_t head = p->base - at, rs = head + from, re = rs + f->len;
				if (r->m_from == UINT64_MAX || rs < r->m_from ||
				    (r->m_hit != UINT64_MAX ? rs > r->m_hit : re > r->m_end)) {
					const unsigned char *q = memmem(run_p + from, whole - from, needle, nlen);
					r->m_from = rs;
					r->m_end = head + whole;
					r->m_hit = q ? head + (uint64_t)(q - run_p) : UINT64_MAX;
				}
				keep = (r->m_hit != UINT64_MAX && r->m_hit + nlen <= re) != r->invert;
			} else if ((rc = selected(r, p->b, from, f->len, &keep))) {
				vb_err_prefix("%s", rec_at(r, p->n, p->base));
				break;
			}
		}
		if (fate == VB_FATE_EMIT && keep && wanted(p->sel, p->n)) {
			r->cur_record = p->n;
			if (p->counting)
				p->count++;
			else if (r->plain && run_p && !f->skip && !f->unterminated &&
				 f->delim == r->out_delim_len) {
				/* the record and its delimiter, with the
				 * delimiter bytes replaced by the output
				 * delimiter in place, join the run */
				if (r->out_delim_len &&
				    memcmp(run_p + at + f->len, r->out_delim, r->out_delim_len))
					memcpy(run_p + at + f->len, r->out_delim, r->out_delim_len);
				if (run_len && run_start + run_len != at) {
					if ((rc = out_write(&r->out, run_p + run_start, run_len)))
						break;
					run_len = 0;
				}
				if (!run_len)
					run_start = at;
				run_len += f->total;
			} else {
				if (run_len && (rc = out_write(&r->out, run_p + run_start, run_len)))
					break;
				run_len = 0;
				rc = emit(r, p->in, p->b, NULL, at, p->base, f, f->len);
			}
		}
		at += f->total;
		p->base += f->total;
		if (past_selection(p->sel, p->n))
			break;
	}
	if (!rc && run_len)
		rc = out_write(&r->out, run_p + run_start, run_len);
	vb_sbuf_advance(p->b, at);
	return rc;
}

static enum vb_err too_large(struct frame_run *r, uint64_t n, uint64_t off)
{
	return vb_err_set(VB_EFRAME, "%s is larger than --max-size (%llu bytes); raise --max-size or use --oversize=skip or --oversize=truncate",
			  rec_at(r, n, off), (unsigned long long)r->max_size);
}

/* The part of an oversized record that --oversize=truncate writes: its
 * first --max-size record bytes (after a stripped header), read in as far
 * as the input has them and the record goes; *t describes them as a frame
 * at the head of the buffer. */
static enum vb_err truncation(struct frame_run *r, struct pass *p, const struct vb_frame *fr,
			      struct vb_frame *t)
{
	struct vb_sbuf *b = p->b;
	uint64_t cap = r->max_size;
	enum vb_err rc;

	/* a length-prefixed, fixed or cut-off record's length is known, and
	 * may be below --max-size (a large --strip): the cut stays in it */
	if ((r->is_length || r->is_fixed || fr->unterminated) && fr->len < cap)
		cap = fr->len;
	uint64_t need = cap > UINT64_MAX - fr->skip ? UINT64_MAX : fr->skip + cap;
	while (vb_sbuf_len(b) < need && !p->in->eof)
		if ((rc = read_more(p->in, b)))
			return rc;
	size_t len = vb_sbuf_len(b), head = fr->skip < len ? fr->skip : len;
	*t = *fr;
	t->len = (size_t)(cap < len - head ? cap : len - head);
	t->total = head + t->len;
	t->delim = 0;
	return VB_OK;
}

/* Do what `fate` says with oversized record n, at content offset start:
 * before it is read through (t NULL: its bytes are at the head of the
 * buffer, fr describes them) or after (*t: its truncation, whose bytes are
 * in `held` when they are to be written). */
static enum vb_err take_oversized(struct frame_run *r, struct pass *p, const struct vb_frame *fr,
				  enum vb_fate fate, uint64_t n, uint64_t start,
				  const struct vb_view *held, const struct vb_frame *t)
{
	struct vb_frame tt;
	enum vb_err rc;

	switch (fate) {
	case VB_FATE_EMIT:    /* not wanted: passed over */
	case VB_FATE_DROP:    /* the incomplete last record, --final=drop */
	case VB_FATE_READ_ON: /* (decided by the caller) */
		break;
	case VB_FATE_FAIL_FINAL:
		return incomplete_last(r, n, start);
	case VB_FATE_FAIL_SIZE:
		if (r->ringing)
			return ring_fail(r, n, start);
		if (!p->tally)
			return too_large(r, n, start);
		/* only counting (--last): whether it is one of the last N is
		 * known at the end; it counts, and frame_last fails on it if
		 * it is */
		return note_over(r, ++p->count, n, start);
	case VB_FATE_SKIP:
		/* only counting (--last): remember where it was, the writing
		 * pass reports it if it is wanted */
		if (p->tally)
			return note_over(r, p->count, n, start);
		/* records before it go out first, also when stderr and stdout
		 * are the same file */
		if ((rc = out_flush(&r->out)))
			return rc;
		cli_error(p->in->name, "warning: %s skipped: larger than --max-size (%llu bytes)",
			  rec_at(r, n, start), (unsigned long long)r->max_size);
		break;
	case VB_FATE_TRUNCATE:
		/* the first --max-size bytes of the record stand for it */
		if (p->counting) {
			p->count++;
			break;
		}
		if (!t) {
			if ((rc = truncation(r, p, fr, &tt)))
				return rc;
			t = &tt;
		}
		r->cur_record = n;
		return emit(r, p->in, p->b, held, 0, start, t, t->len);
	}
	return VB_OK;
}

/* Record p->n, at the head of the buffer (fr: what the codec knows of it),
 * is larger than the framer's maximum, and --count or --index wants it:
 * they need its size, not its bytes.  It is read through without being
 * held (bounded memory, as for a record skipped), then decided by the one
 * rule with all facts known: complete or not, and larger than --max-size
 * or not (by the framer's measure: a delimited record without its
 * delimiter, a fixed-size record's bytes; a frame reaches here only when
 * its header makes it larger).  Only --oversize=skip applies to a large
 * record, nothing of it being written: otherwise it is counted, or
 * indexed with its true offset and length, as any other record. */
static enum vb_err measured(struct frame_run *r, struct pass *p, const struct vb_frame *fr)
{
	uint64_t n = p->n, start = p->base;
	int complete;
	size_t dlen;
	enum vb_err rc = skip_record(r, p->in, p->b, fr, 0, &p->base, &complete, &dlen);

	if (rc)
		return rc;
	/* the frame's bytes, less a stripped header (as much of it as the
	 * input held) and the delimiter */
	uint64_t whole = p->base - start, skip = fr->skip < whole ? fr->skip : whole;
	uint64_t len = whole - skip - dlen;
	int too_large = r->is_length || len > r->max_size;
	enum vb_fate fate = vb_frame_policy_fate(
		&r->policy, too_large && r->policy.oversize == VB_OVERSIZE_SKIP, complete);

	switch (fate) {
	case VB_FATE_EMIT:
		break;
	case VB_FATE_SKIP:
	case VB_FATE_FAIL_FINAL:
		return take_oversized(r, p, fr, fate, n, start, NULL, NULL);
	default: /* VB_FATE_DROP */
		return VB_OK;
	}
	if (p->counting) {
		p->count++;
		return VB_OK;
	}
	r->cur_record = n;
	return r->keep ? put_index(r, p->in, start, whole) : put_index(r, p->in, start + skip, len);
}

/* Record p->n, at the head of the buffer (fr: what the codec knows of it),
 * is larger than --max-size.  Its fate is the one rule's
 * (vb_frame_policy_fate: --oversize decides a complete record, --final the
 * incomplete last one), decided at once where the answer does not depend
 * on whether the record is complete, otherwise once it has been read
 * through (its first --max-size bytes held aside if it may be written
 * truncated).  A record that is not wanted is passed over, whatever its
 * size: it does not have to fit (but --final=error fails an incomplete
 * one).  One that --count or --index wants is measured (measured()).
 * VB_OK: go on after it. */
static enum vb_err oversized(struct frame_run *r, struct pass *p, const struct vb_frame *fr)
{
	struct input *in = p->in;
	struct vb_sbuf *b = p->b;
	uint64_t n = p->n, start = p->base;
	int want = p->tally || wanted(p->sel, n), complete = fr->unterminated ? 0 : -1;
	struct vb_view *held = NULL;
	struct vb_frame t = {0, 0, 0, 0, 0};
	size_t done = 0, dlen;
	enum vb_err rc = VB_OK;

	/* (a record --match must read is held, or fails or is skipped) */
	if (want && (r->count || r->index) && !r->matcher)
		return measured(r, p, fr);
	enum vb_fate fate = vb_frame_policy_fate(&r->policy, want, complete);
	if (fate == VB_FATE_READ_ON) {
		/* --oversize=truncate writes its first bytes if it is complete:
		 * they are held aside while the rest is read */
		if (want && r->policy.oversize == VB_OVERSIZE_TRUNCATE && !p->counting) {
			if ((rc = truncation(r, p, fr, &t)))
				return rc;
			if (!r->index && t.total) {
				if ((rc = vb_sbuf_split_to(b, t.total, &held)))
					return rc;
				vb_framer_discard(r->framer, t.total);
				done = t.total;
				p->base += t.total;
			}
		}
		if (!(rc = skip_record(r, in, b, fr, done, &p->base, &complete, &dlen)))
			fate = vb_frame_policy_fate(&r->policy, want, complete);
		if (!rc)
			rc = take_oversized(r, p, fr, fate, n, start, held, &t);
		vb_view_free(held);
		return rc;
	}
	if ((rc = take_oversized(r, p, fr, fate, n, start, NULL, NULL)))
		return rc;
	return skip_record(r, in, b, fr, 0, &p->base, &complete, &dlen);
}

/* Report the failure `rc` of a pass over input `name`, after the records
 * before it go out.  Returns the exit status, or -1 when the output is
 * gone and nothing is to be said (*stop is then set). */
static int fail_input(struct frame_run *r, const char *name, enum vb_err rc, int *stop)
{
	struct output *o = &r->out;
	enum vb_err frc;

	if (rc == VB_EPIPE) {
		*stop = 1;
		return -1;
	}
	if (!o->failed && (frc = out_flush(o))) {
		if (frc == VB_EPIPE) {
			*stop = 1;
			return -1;
		}
		rc = frc;
	}
	return cli_fail(o->failed ? NULL : name, rc);
}

/* --count's line for one input. */
static void put_count(struct frame_run *r, const char *name, uint64_t count)
{
	struct output *o = &r->out;
	char line[64];
	int k;

	if (r->json) {
		if (!json_entry(r, name)) {
			k = snprintf(line, sizeof line, ", \"records\": %llu}", (unsigned long long)count);
			out_write(o, line, (size_t)k);
		}
	} else if (r->several) {
		k = snprintf(line, sizeof line, "%llu\t", (unsigned long long)count);
		out_write(o, line, (size_t)k);
		out_write(o, name, strlen(name));
		out_write(o, "\n", 1);
	} else {
		k = snprintf(line, sizeof line, "%llu\n", (unsigned long long)count);
		out_write(o, line, (size_t)k);
	}
	r->grand_total += count;
}

/* The end of a pass that stopped with `rc`: report a failure (after the
 * records before it), and with --count print the input's count.  Returns
 * the exit status (0 or 1); *stop is set when the output is gone. */
static int finish_input(struct frame_run *r, struct pass *p, enum vb_err rc, int *stop)
{
	struct output *o = &r->out;
	int status = EXIT_OK;

	if (rc && (status = fail_input(r, p->in->name, rc, stop)) < 0)
		return EXIT_OK;
	if (o->failed)
		*stop = 1; /* stdout is gone: the other inputs would fail the same way */
	if (p->tally) {
		*p->tally = p->count;
		return status;
	}
	if (r->count && status == EXIT_OK)
		put_count(r, p->in->name, p->count);
	return status;
}

/* Frame one input from content offset `start` (a record boundary), taking
 * the records `sel` wants.  With `tally` non-NULL the records are only
 * counted, into *tally, and nothing is written.  Returns the exit status so
 * far (0 or 1); *stop is set when the output is gone.
 *
 * Each turn takes the records at the buffer's head by the fastest way that
 * applies: counted in bulk (count_records), passed over or written through
 * as a run of a lone delimiter's records (lone_run), or described a batch
 * at a time (take_batch); a record the codec refuses is malformed (the
 * end) or oversized. */
static int frame_input(struct frame_run *r, struct input *in, struct vb_sbuf *b,
		       struct selection *sel, int *stop, uint64_t start, uint64_t *tally)
{
	struct pass p = {in, b, sel, tally, r->count || tally, r->n_start, 0, start};
	enum vb_err rc = VB_OK;

	vb_framer_reset(r->framer);
	sel->at = 0;
	in->eof = 0;
	r->m_from = UINT64_MAX; /* a new stream: --match searches afresh */
	for (;;) {
		size_t cnt = 0;
		if (past_selection(sel, p.n))
			break; /* nothing after this is wanted */
		if (p.counting && !sel->nspans && r->policy.final == VB_FINAL_EMIT && !r->is_length &&
		    !r->matcher &&
		    !r->is_fixed) {
			if ((rc = count_records(r, &p)) == VB_OK)
				continue;
		} else if (lone_run(r, &p, &rc)) {
			if (rc)
				break;
			continue;
		} else {
			rc = vb_framer_next_many(r->framer, b, in->eof, r->batch, BATCH, &cnt);
		}
		if (rc == VB_ENEEDMORE) {
			if (in->eof) {
				rc = VB_OK;
				break;
			}
			if ((rc = read_more(in, b)))
				break;
			continue;
		}
		if (rc == VB_OK) {
			if ((rc = take_batch(r, &p, cnt)))
				break;
			continue;
		}
		struct vb_frame fr = r->batch[0];
		p.n++;
		if (rc == VB_EINVAL || (rc == VB_ECORRUPT && !r->skip_bad)) {
			vb_err_prefix("%s", rec_at(r, p.n, p.base));
			break;
		}
		if (rc == VB_ECORRUPT) {
			/* --bad-checksum=skip: the frame is whole, its length
			 * sound: on to the next */
			vb_sbuf_advance(b, fr.total);
			p.base += fr.total;
			rc = VB_OK;
			continue;
		}
		if (rc != VB_EFRAME || (rc = oversized(r, &p, &fr)))
			break;
	}
	return finish_input(r, &p, rc, stop);
}

/* ----------------------------------------------------------------- --last */

/* How much --last reads backward from, or --split cuts: a store's
 * content, or a regular file's from where it stands (a file on stdin).
 * Returns 0, or the exit status of the failure it reported (`why`: what
 * the option does, for the message). */
static int last_length(struct input *in, const char *why, uint64_t *len)
{
	struct stat st;

	if (in->store) {
		*len = vb_vbuf_len(in->store);
	} else if (fstat(in->fd, &st) == 0 && S_ISREG(st.st_mode)) {
		off_t cur = lseek(in->fd, 0, SEEK_CUR);
		*len = (uint64_t)st.st_size;
		if (cur > 0 && (uint64_t)cur <= *len)
			*len -= (uint64_t)cur; /* a file on stdin read from where it stands */
		in->file_start = cur > 0 ? (uint64_t)cur : 0;
	} else {
		int fifo = fstat(in->fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
		return cli_fail(in->name, vb_err_set(VB_EINVAL, "%s: it needs a file or a store, not %s",
						     why, fifo ? "a pipe" : "a device"));
	}
	return EXIT_OK;
}

/* Scan back from *pos (moving it) for the want-th `sync` byte from the end,
 * counting them in *found: *q is the offset just after it, or 0 when the
 * start came first. */
static enum vb_err scan_back(struct input *in, int sync, unsigned char *chunk, uint64_t *pos,
			     uint64_t *found, uint64_t want, uint64_t *q)
{
	enum vb_err rc = VB_OK;

	*q = 0;
	while (*pos > 0 && !*q && !rc) {
		size_t take = *pos < READ_CHUNK ? (size_t)*pos : READ_CHUNK, got = 0;
		*pos -= take;
		if (in->store)
			rc = vb_vbuf_read(in->store, *pos, chunk, take);
		else if (!(rc = vb_io_pread_full(in->fd, chunk, take, in->file_start + *pos, &got)) &&
			 got != take)
			rc = vb_err_set(VB_EIO, "the file shrank while being read");
		for (size_t i = take; !rc && i > 0;) {
			const unsigned char *hit = memrchr(chunk, sync, i);
			if (!hit)
				break;
			i = (size_t)(hit - chunk);
			if (++*found == want) {
				*q = *pos + i + 1;
				break;
			}
		}
	}
	return rc;
}

/* --last: read backward from the end for N+1 sync bytes (each ends a
 * record, whatever came before), frame forward from just after the last
 * one found, once to count and once to write the last N.  Records skipped
 * as oversized (--oversize=skip) are not among the N: when the count falls
 * short for them, look further back for as many more sync bytes as records
 * are missing, and count again.  A record too large for --oversize=error
 * counts, and is an error only if it is one of the N (the tail counted can
 * hold more than N records: a last one without a delimiter, or records
 * ending in a delimiter other than the sync byte).  Only the tail is read,
 * however large the input. */
static int last_backward(struct frame_run *r, struct input *in, struct vb_sbuf *b, int *stop)
{
	int sync = vb_framer_sync_byte(r->framer), status = EXIT_OK;
	uint64_t len = 0, pos, q = 0, found = 0, total = 0;
	uint64_t want = r->last_n < UINT64_MAX ? r->last_n + 1 : UINT64_MAX;
	struct selection every = {NULL, 0, UINT64_MAX, 0};
	unsigned char *chunk = malloc(READ_CHUNK);
	enum vb_err rc = VB_OK;

	if (!chunk)
		return cli_fail(in->name, vb_err_set(VB_ENOMEM, "out of memory"));
	if ((status = last_length(in, "--last reads backward from the end", &len))) {
		free(chunk);
		return status;
	}
	for (pos = len;;) {
		if ((rc = scan_back(in, sync, chunk, &pos, &found, want, &q)))
			break;
		/* count the records from q */
		if ((rc = seek_input(in, q)))
			break;
		r->numbers_unknown = q > 0;
		vb_sbuf_advance(b, vb_sbuf_len(b));
		r->nover = 0;
		if ((status = frame_input(r, in, b, &every, stop, q, &total)) || *stop)
			break;
		if (total >= r->last_n || !q)
			break;
		want += r->last_n - total;
		pos = q - 1; /* on before the sync byte found last */
	}
	free(chunk);
	if (rc || status || *stop) {
		r->numbers_unknown = 0;
		return rc ? cli_fail(in->name, rc) : status;
	}
	/* write the last N of them: the first is counted record c, which is
	 * record c + (skipped records before it) of the input from q */
	uint64_t c = total > r->last_n ? total - r->last_n + 1 : 1, first = c;
	for (size_t i = 0; i < r->nover && !rc; i++) {
		const struct over_rec *o = &r->over[i];
		if (r->policy.oversize != VB_OVERSIZE_ERROR)
			first += o->counted < c;
		else if (o->counted >= c) /* one of the last N */
			rc = too_large(r, o->n, o->off);
	}
	if (rc) {
		status = fail_input(r, in->name, rc, stop);
		if (r->out.failed)
			*stop = 1;
		r->numbers_unknown = 0;
		return status < 0 ? EXIT_OK : status;
	}
	if ((rc = seek_input(in, q)))
		return cli_fail(in->name, rc);
	vb_sbuf_advance(b, vb_sbuf_len(b));
	struct span tail = {first, UINT64_MAX};
	struct selection last = {&tail, 1, UINT64_MAX, 0};
	status = frame_input(r, in, b, &last, stop, q, NULL);
	r->numbers_unknown = 0;
	return status;
}

/* --last where the input cannot be read backward (a pipe) or its frames
 * found from the end (-L): one forward pass that holds the last N records
 * met (ring_push), written at the end; with --count, their number.
 * Memory: N records of at most --max-size.  A failure of the input
 * writes none of them. */
static int last_forward(struct frame_run *r, struct input *in, struct vb_sbuf *b, int *stop)
{
	struct selection every = {NULL, 0, UINT64_MAX, 0};
	int count = r->count, index = r->index, plain = r->plain, status;
	enum vb_err rc;

	/* counted as --index would list them: no bytes held */
	r->count = 0;
	r->index = index || count;
	r->plain = 0;
	r->ringing = 1;
	status = frame_input(r, in, b, &every, stop, 0, NULL);
	size_t held = r->ring_len;
	if (status || *stop) {
		r->ring_len = 0; /* nothing of a failed input */
		for (size_t k = 0; k < held; k++)
			free(r->ring[k].bytes);
		r->ring_head = 0;
		r->ringing = 0;
	}
	r->index = index;
	rc = status || *stop ? VB_OK : ring_flush(r, in, count);
	r->count = count;
	r->plain = plain;
	if (rc) {
		status = fail_input(r, in->name, rc, stop);
		return status < 0 ? EXIT_OK : status;
	}
	if (count && !status && !*stop)
		put_count(r, in->name, held);
	return status;
}

/* --last with -F on a file or a store: the last N records start at a
 * multiple of the size, found from the length alone (a short last record
 * is one unless --final=drop leaves it out). */
static int fixed_last(struct frame_run *r, struct input *in, struct vb_sbuf *b, int *stop)
{
	struct selection every = {NULL, 0, UINT64_MAX, 0};
	uint64_t len, whole, recs, skip;
	int status;
	enum vb_err rc;

	if ((status = last_length(in, "--last reads backward from the end", &len)))
		return status;
	whole = len / r->fixed;
	recs = whole + (len % r->fixed && r->policy.final != VB_FINAL_DROP);
	skip = recs > r->last_n ? recs - r->last_n : 0;
	if ((rc = seek_input(in, skip * r->fixed)))
		return cli_fail(in->name, rc);
	r->n_start = skip;
	status = frame_input(r, in, b, &every, stop, skip * r->fixed, NULL);
	r->n_start = 0;
	return status;
}

static int frame_last(struct frame_run *r, struct input *in, struct vb_sbuf *b, int *stop)
{
	struct stat sb;

	if (r->is_length ||
	    (!in->store && (fstat(in->fd, &sb) < 0 || !S_ISREG(sb.st_mode))))
		return last_forward(r, in, b, stop);
	if (r->is_fixed)
		return fixed_last(r, in, b, stop);
	return last_backward(r, in, b, stop);
}

/* ---------------------------------------------------------------- --split */

/* --split's line for the piece [off, off + len), whose first record is
 * number `first` (0: not known). */
static enum vb_err put_piece(struct frame_run *r, const struct input *in, uint64_t off,
			     uint64_t len, uint64_t first)
{
	char line[96];
	int k;
	enum vb_err rc;

	if (r->several && (rc = out_write(&r->out, in->name, strlen(in->name))) == VB_OK)
		rc = out_write(&r->out, "\t", 1);
	else
		rc = VB_OK;
	if (rc)
		return rc;
	if (r->ranges)
		k = snprintf(line, sizeof line, "%llu:%llu\n", (unsigned long long)off,
			     (unsigned long long)(off + len));
	else if (first)
		k = snprintf(line, sizeof line, "%llu\t%llu\t%llu\n", (unsigned long long)off,
			     (unsigned long long)len, (unsigned long long)first);
	else
		k = snprintf(line, sizeof line, "%llu\t%llu\t-\n", (unsigned long long)off,
			     (unsigned long long)len);
	return out_write(&r->out, line, (size_t)k);
}

/* The first record boundary at or after `t` (0 < t < len): just after the
 * first sync byte at t - 1 or later (a record starts there whatever came
 * before), or len when none comes.  Reads only from t - 1 on, 4 KiB
 * first, then twice as much each time (a record is usually short). */
static enum vb_err next_boundary(struct input *in, int sync, unsigned char *chunk, uint64_t t,
				 uint64_t len, uint64_t *cut)
{
	uint64_t pos = t - 1;
	size_t step = 4096;
	enum vb_err rc = VB_OK;

	for (; pos < len; step = step < READ_CHUNK / 2 ? step * 2 : READ_CHUNK) {
		size_t take = len - pos < step ? (size_t)(len - pos) : step, got = 0;
		if (in->store)
			rc = vb_vbuf_read(in->store, pos, chunk, take);
		else if (!(rc = vb_io_pread_full(in->fd, chunk, take, in->file_start + pos, &got)) &&
			 got != take)
			rc = vb_err_set(VB_EIO, "the file shrank while being read");
		if (rc)
			return rc;
		const unsigned char *hit = memchr(chunk, sync, take);
		if (hit) {
			*cut = pos + (uint64_t)(hit - chunk) + 1;
			return VB_OK;
		}
		pos += take;
	}
	*cut = len;
	return VB_OK;
}

/*
 * --split N: N pieces of about len / N bytes each, every one starting at a
 * record boundary, found by reading forward from each cut point to the
 * next sync byte (delimiter framing: -l, -0, -d with one) or by rounding
 * down to a multiple of the size (-F): O(N x record size) bytes read,
 * whatever the input's size.  Cuts that meet (a record longer than a
 * piece) make fewer, non-empty pieces.  The first record's number is
 * known for -F and, from the line counts, for a store framed by lines; it
 * is "-" where knowing it would mean reading everything before.  Length
 * prefixes cannot be cut without reading every header from the start:
 * refused.
 */
static int split_input(struct frame_run *r, struct input *in, int *stop)
{
	int sync = r->is_fixed ? -1 : vb_framer_sync_byte(r->framer), status;
	uint64_t len = 0, prev = 0;
	unsigned char *chunk = NULL;
	enum vb_err rc = VB_OK;

	if ((status = last_length(in, "--split cuts at offsets", &len)))
		return status;
	if (!r->is_fixed && sync < 0)
		return cli_fail(in->name, vb_err_set(VB_EINVAL, "--split cuts delimited records after a byte that always ends one (-l, -0, or -d with a one-byte delimiter found in no other): these delimiters have none"));
	if (!r->is_fixed && !(chunk = malloc(READ_CHUNK)))
		return cli_fail(in->name, vb_err_set(VB_ENOMEM, "out of memory"));
	enum vb_line_mode m = (enum vb_line_mode)(r->line_mode - 1);
	int numbered = r->is_fixed ||
		       (in->store && r->line_mode && vb_vbuf_line_counted(in->store, vb_vbuf_version(in->store)));
	for (uint64_t k = 1; k <= r->split && prev < len && !rc; k++) {
		uint64_t cut = len;
		if (k < r->split) {
			/* k * len / N without overflow: len < 2^64, N < 2^32 */
			uint64_t t = len / r->split * k + len % r->split * k / r->split;
			if (r->is_fixed)
				cut = t - t % r->fixed;
			else if (t > prev)
				rc = next_boundary(in, sync, chunk, t, len, &cut);
			else
				cut = prev;
		}
		if (rc || cut <= prev)
			continue;
		uint64_t first = 0;
		if (r->is_fixed)
			first = prev / r->fixed + 1;
		else if (numbered && (rc = vb_vbuf_line_of(in->store, vb_vbuf_version(in->store), m,
							    prev, &first)))
			break;
		rc = put_piece(r, in, prev, cut - prev, first);
		prev = cut;
	}
	free(chunk);
	if (!rc)
		return EXIT_OK;
	status = fail_input(r, in->name, rc, stop);
	return status < 0 ? EXIT_OK : status;
}

/* -------------------------------------------------------- store lines */

/* Frame records lo..hi (hi: UINT64_MAX for all after lo) of a store framed
 * by lines, starting at line lo, which the store's line counts place;
 * counted into *tally when it is not NULL.  Returns -2 when line lo lies
 * past the end (nothing to frame), else the exit status. */
static int store_span(struct frame_run *r, struct input *in, struct vb_sbuf *b, uint64_t lo,
		      uint64_t hi, int *stop, uint64_t *tally)
{
	enum vb_line_mode m = (enum vb_line_mode)(r->line_mode - 1);
	struct span one = {lo, hi};
	struct selection sel = {&one, 1, hi, 0};
	uint64_t off;
	enum vb_err rc = vb_vbuf_line_start(in->store, vb_vbuf_version(in->store), m, lo, &off);

	if (rc == VB_ERANGE)
		return -2;
	if (rc || (rc = seek_input(in, off)))
		return cli_fail(in->name, rc);
	vb_sbuf_advance(b, vb_sbuf_len(b));
	r->n_start = lo - 1;
	int status = frame_input(r, in, b, &sel, stop, off, tally);
	r->n_start = 0;
	return status;
}

/* A store framed by lines (-l: \n, \r\n and \r; or -d '\n' alone): -n,
 * --last and --count go to their lines by the store's line counts
 * (vb_vbuf_line_start, _line_count: O(log n) where the store counts
 * lines, lib/ptree.c) instead of framing from the start.  Only the records
 * asked for are read, so a record too large for --max-size fails the
 * command only if it is one of them, and --count never (as wc -l counts).
 * Returns -1 when the case does not apply (the input is then framed from
 * its start), else the exit status. */
static int frame_store_lines(struct frame_run *r, struct input *in, struct vb_sbuf *b,
			     int *stop)
{
	enum vb_line_mode m = (enum vb_line_mode)(r->line_mode - 1);
	uint64_t v, lines, total = 0, done = 0, *tally = r->count ? &total : NULL;
	struct vb_vbuf *s = in->store;
	int status = EXIT_OK, st;
	enum vb_err rc;

	if (!s || !r->line_mode || r->keep || r->matcher ||
	    (!r->sel.nspans && !r->last_n && !r->count) ||
	    !vb_vbuf_line_counted(s, vb_vbuf_version(s)))
		return -1; /* (without counts, reading from the start or back from
			    * the end is what it would cost anyway) */
	if ((r->last_n || (r->count && !r->sel.nspans)) &&
	    (r->policy.oversize != VB_OVERSIZE_ERROR || r->policy.final == VB_FINAL_ERROR))
		return -1; /* the records skipped or failed depend on their sizes */
	v = vb_vbuf_version(s);
	uint64_t len = vb_vbuf_len(s);
	unsigned char c = '\n';
	if ((rc = vb_vbuf_line_count(s, v, m, &lines)) ||
	    (len && (rc = vb_vbuf_read(s, len - 1, &c, 1))))
		return cli_fail(in->name, rc);
	/* the records: the lines, but with --final=drop not a last line
	 * without its end */
	int open_end = len && !(c == '\n' || (m == VB_LINES_ANY && c == '\r'));
	uint64_t records = lines - (open_end && r->policy.final == VB_FINAL_DROP);
	if (r->count && !r->sel.nspans && !r->last_n) {
		put_count(r, in->name, records);
		return EXIT_OK;
	}
	if (r->last_n) {
		uint64_t first = records > r->last_n ? records - r->last_n + 1 : 1;
		st = store_span(r, in, b, first, UINT64_MAX, stop, tally);
		status = st == -2 ? EXIT_OK : st;
	} else {
		for (size_t i = 0; i < r->sel.nspans && !*stop && !status; i++) {
			uint64_t lo = r->sel.spans[i].lo, hi = r->sel.spans[i].hi, part = 0;
			if (hi <= done)
				continue;
			if (lo <= done)
				lo = done + 1;
			st = store_span(r, in, b, lo, hi, stop, tally ? &part : NULL);
			if (st == -2)
				break;
			status = st;
			total += part;
			done = hi;
		}
	}
	if (tally && status == EXIT_OK && !*stop)
		put_count(r, in->name, total);
	return status;
}

/* ---------------------------------------------------------------- setup */

static uint64_t size_opt(const char *s, const char *what)
{
	return cli_size(cli_arg(s), what);
}

/* An adjustment (--length-adjust, --to-length-adjust): any int64_t. */
static int64_t adjust_opt(const char *arg, const char *name)
{
	const char *a = cli_arg(arg);
	uint64_t v;
	int neg = a[0] == '-';

	if (vb_parse_size(neg || a[0] == '+' ? a + 1 : a, "length adjustment", &v))
		cli_usage("invalid --%s '%s' (a whole number, negative as --%s=-N)", name, a, name);
	/* the whole range of int64_t: -2^63 has no positive twin */
	if (v > (uint64_t)INT64_MAX + neg)
		cli_usage("--%s '%s' is out of range (%lld to %lld)", name, a, (long long)INT64_MIN,
			  (long long)INT64_MAX);
	return !neg ? (int64_t)v : v > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)v;
}

/* --length-prefix and its companions. */
static void setup_length(struct frame_run *r, const struct frame_opts *o)
{
	struct vb_lenspec sp;

	if (vb_lenspec_parse(cli_arg(o->length), &sp))
		cli_usage("invalid --length-prefix: %s", vb_err_detail());
	if (o->length_offset)
		sp.offset = size_opt(o->length_offset, "length offset");
	if (o->length_adjust)
		sp.adjust = adjust_opt(o->length_adjust, "length-adjust");
	if (o->strip) {
		sp.strip = size_opt(o->strip, "strip");
		sp.strip_set = 1;
	}
	if (vb_framer_length(&sp, &r->framer))
		cli_usage("%s", vb_err_detail());
	r->header_room = sp.offset > UINT64_MAX / 2 || sp.strip > UINT64_MAX / 2
				 ? UINT64_MAX
				 : sp.offset + sp.strip + VB_LENSPEC_MAX + 8;
	r->is_length = 1;
	if (!o->final) /* a truncated frame is an error unless --final says otherwise */
		r->policy.final = VB_FINAL_ERROR;
}

/* -d, -l, -0 (and -l when no framing is given). */
static void setup_delims(struct frame_run *r, const struct frame_opts *o)
{
	unsigned char *d[DELIMS_MAX + 3];
	size_t dl[DELIMS_MAX + 3], nd = 0;
	enum vb_err rc;

	for (int i = 0; i < o->ndelim; i++) {
		const char *arg = cli_arg(o->delim_argv[i]);
		if (!*arg)
			cli_usage("invalid --delimiter '': a delimiter cannot be empty");
		if (vb_unescape(arg, &d[nd], &dl[nd]))
			cli_usage("invalid --delimiter %s", vb_err_detail());
		nd++;
	}
	if (o->null) {
		d[nd] = (unsigned char *)strdup("");
		dl[nd++] = 1;
	}
	if (o->lines || !nd) {
		d[nd] = (unsigned char *)strdup("\n");
		dl[nd++] = 1;
		d[nd] = (unsigned char *)strdup("\r\n");
		dl[nd++] = 2;
		d[nd] = (unsigned char *)strdup("\r");
		dl[nd++] = 1;
	}
	if (!o->ndelim && !o->null)
		r->line_mode = 1 + VB_LINES_ANY;
	else if (o->ndelim == 1 && !o->lines && !o->null && dl[0] == 1 && d[0][0] == '\n')
		r->line_mode = 1 + VB_LINES_LF;
	rc = vb_framer_delim((const unsigned char *const *)d, dl, nd, &r->framer);
	for (size_t i = 0; i < nd; i++)
		free(d[i]);
	if (rc)
		cli_usage("%s", vb_err_detail());
	if (o->last && vb_framer_sync_byte(r->framer) < 0)
		cli_usage("--last needs a one-byte delimiter that appears in no other delimiter except at its end (as \\n does for -l), so that reading backward finds where records start");
}

static void setup_framer(struct frame_run *r, struct frame_opts *o)
{
	while (o->delim_argv && o->delim_argv[o->ndelim])
		o->ndelim++;
	if (o->ndelim > DELIMS_MAX)
		cli_usage("at most %d delimiters", DELIMS_MAX);
	int kinds = (o->ndelim || o->lines || o->null) + (o->length != NULL) + (o->fixed != NULL);

	if (kinds > 1)
		cli_usage("choose one framing: delimiters (-d, -l, -0), --length-prefix or --fixed");
	if (!kinds && o->zero)
		o->null = 1; /* -z: NUL ends records in the input too, as for -0 */
	if (!o->length && (o->length_offset || o->length_adjust || o->strip))
		cli_usage("--%s only applies with --length-prefix",
			  o->length_offset ? "length-offset" : o->length_adjust ? "length-adjust" : "strip");
	if (o->length) {
		setup_length(r, o);
	} else if (o->fixed) {
		uint64_t n = size_opt(o->fixed, "record size");
		if (!n)
			cli_usage("--fixed needs a size of at least 1");
		if (vb_framer_fixed(n, &r->framer))
			cli_usage("%s", vb_err_detail());
		r->is_fixed = 1;
		r->fixed = n;
	} else {
		setup_delims(r, o);
	}
}

static void setup_options(struct frame_run *r, const struct frame_opts *o)
{
	if (o->count && o->index)
		cli_usage("--count and --index cannot be used together");
	int outs = o->keep + o->zero + (o->out_delim != NULL) + (o->to_length != NULL);
	if (outs > 1)
		cli_usage("choose one of --keep, -z, --output-delimiter and --to-length-prefix");
	/* -z frames the input by NUL when no framing is given: then it
	 * applies to --count and --index too */
	int framing = o->delim_argv || o->lines || o->null || o->length || o->fixed;
	if ((o->count || o->index) && ((o->zero && framing) || o->out_delim || o->to_length))
		cli_usage("--%s prints numbers: -z, --output-delimiter and --to-length-prefix do not apply",
			  o->count ? "count" : "index");
	if (o->count && o->keep)
		cli_usage("--count prints a number: --keep does not apply");
	if (o->json && !o->count && !o->index)
		cli_usage("--json applies to --count and --index");
	if (o->ranges && !o->split)
		cli_usage("--ranges applies to --split");
	if (o->split) {
		const char *other = o->count ? "--count" : o->index ? "--index"
				    : o->records ? "--records" : o->last ? "--last"
				    : o->keep ? "--keep" : o->zero ? "--zero"
				    : o->out_delim ? "--output-delimiter"
				    : o->to_length ? "--to-length-prefix" : NULL;
		if (other)
			cli_usage("--split prints pieces of the input: %s does not apply", other);
		if (o->length)
			cli_usage("--split cannot cut length-prefixed records: where one starts is known only from every header before it (vb-frame -L SPEC -i lists them all)");
		r->split = size_opt(o->split, "piece count");
		if (!r->split || r->split > UINT32_MAX)
			cli_usage("--split needs 1 to 4294967295 pieces");
		r->ranges = o->ranges;
	}
	r->json = o->json;
	if (o->match && o->regex)
		cli_usage("choose one of --match and --regex");
	if (o->invert && !o->match && !o->regex)
		cli_usage("--invert applies to --match and --regex");
	if ((o->match || o->regex) && (o->last || o->split))
		cli_usage("--%s selects by content: %s does not apply", o->match ? "match" : "regex",
			  o->last ? "--last" : "--split");
	if (o->match) {
		unsigned char *m;
		size_t n;
		const char *a = cli_arg(o->match);
		if (!*a)
			cli_usage("invalid --match '': the bytes to match cannot be empty");
		if (vb_unescape(a, &m, &n))
			cli_usage("invalid --match %s", vb_err_detail());
		enum vb_err mrc = vb_match_fixed(m, n, &r->matcher);
		free(m);
		if (mrc)
			cli_usage("%s", vb_err_detail());
	}
	if (o->regex && vb_match_regex(cli_arg(o->regex), &r->matcher))
		cli_usage("invalid --regex '%s': %s", cli_arg(o->regex), vb_err_detail());
	r->invert = o->invert;
	if (o->bad_checksum) {
		const char *a = cli_arg(o->bad_checksum);
		if (strcmp(a, "error") && strcmp(a, "skip"))
			cli_usage("invalid --bad-checksum '%s' (error or skip)", a);
		r->skip_bad = !strcmp(a, "skip");
	}
	r->count = o->count;
	r->index = o->index;
	r->keep = o->keep;
	if (o->records)
		parse_records(&r->sel, cli_arg(o->records));
	if (o->max_size) {
		r->max_size = size_opt(o->max_size, "size");
		if (!r->max_size)
			cli_usage("--max-size must be at least 1");
	}
	if (o->oversize) {
		const char *s = cli_arg(o->oversize);
		if (!strcmp(s, "error"))
			r->policy.oversize = VB_OVERSIZE_ERROR;
		else if (!strcmp(s, "skip"))
			r->policy.oversize = VB_OVERSIZE_SKIP;
		else if (!strcmp(s, "truncate"))
			r->policy.oversize = VB_OVERSIZE_TRUNCATE;
		else
			cli_usage("invalid --oversize '%s' (error, skip or truncate)", s);
		if (r->policy.oversize == VB_OVERSIZE_TRUNCATE && o->keep && !o->index)
			cli_usage("--oversize=truncate cannot be used with --keep: a truncated record is not the record as it was");
		if (r->policy.oversize == VB_OVERSIZE_TRUNCATE && r->matcher)
			cli_usage("--oversize=truncate cannot be used with --%s: a record larger than --max-size is not held, so not matched whole",
				  o->match ? "match" : "regex");
	}
	if (o->final) {
		const char *f = cli_arg(o->final);
		if (!strcmp(f, "emit"))
			r->policy.final = VB_FINAL_EMIT;
		else if (!strcmp(f, "drop"))
			r->policy.final = VB_FINAL_DROP;
		else if (!strcmp(f, "error"))
			r->policy.final = VB_FINAL_ERROR;
		else
			cli_usage("invalid --final '%s' (emit, drop or error)", f);
	}
	if (o->zero) {
		r->out_delim = (const unsigned char *)"";
		r->out_delim_len = 1;
	} else if (o->fixed) {
		r->out_delim_len = 0; /* fixed records go out as they are */
	}
	if (o->out_delim) {
		const char *s = cli_arg(o->out_delim);
		if (!*s) {
			r->out_delim_len = 0; /* records written back to back */
		} else if (vb_unescape(s, &r->out_delim_buf, &r->out_delim_len)) {
			cli_usage("invalid --output-delimiter %s", vb_err_detail());
		} else {
			r->out_delim = r->out_delim_buf;
		}
	}
	if (o->to_length) {
		if (vb_lenspec_parse(cli_arg(o->to_length), &r->to_spec))
			cli_usage("invalid --to-length-prefix: %s", vb_err_detail());
		r->to_length = 1;
		if (o->to_adjust)
			r->to_spec.adjust = adjust_opt(o->to_adjust, "to-length-adjust");
	} else if (o->to_adjust) {
		cli_usage("--to-length-adjust needs --to-length-prefix");
	}
	if (o->version)
		r->at_version = cli_version(o->version);
	if (o->last) {
		r->last_n = size_opt(o->last, "record count");
		if (!r->last_n)
			cli_usage("--last needs at least 1 record");
		if (o->records)
			cli_usage("--last and --records cannot be used together");
	}
	r->out.flush_each = o->unbuffered || isatty(1);
	r->plain = !r->index && !r->keep && !r->to_length && !r->count && !r->out.flush_each &&
		   !r->matcher;
}

/* The input buffer: linear (one array; the fast paths need it), or with
 * VB_BUFFER=segmented, chunks from the pinned page store as the VB_PAGE_*
 * variables configure it.  It never holds more than a record at the limit,
 * its header or delimiter and two reads: memory follows --max-size, not
 * the buffer's doubling growth. */
static enum vb_err make_buffer(const struct frame_run *r, struct vb_sbuf **b,
			       struct vb_pages **pages)
{
	const char *kind = getenv("VB_BUFFER");
	enum vb_err rc;
	struct vb_pages_opts po;

	vb_pages_opts_init(&po);
	if (vb_pages_opts_from_env(&po)) /* a typo is reported even if unused */
		cli_usage("%s", vb_err_detail());
	if (kind && *kind && strcmp(kind, "linear")) {
		if (strcmp(kind, "segmented"))
			cli_usage("VB_BUFFER must be 'linear' or 'segmented', not '%s'", kind);
		if ((rc = vb_pages_create(&po, pages)))
			return rc;
		size_t chunk = po.backend == VB_PAGES_VIRTUAL ? READ_CHUNK : po.page_size - 64;
		rc = vb_sbuf_create_segmented(*pages, chunk, 0, b);
	} else {
		rc = vb_sbuf_create_linear(0, b);
	}
	if (rc)
		return rc;
	uint64_t room = (uint64_t)vb_framer_max_delim(r->framer) + 2 * READ_CHUNK;
	uint64_t cap = r->hold_max > UINT64_MAX - room ||
				       r->header_room > UINT64_MAX - room - r->hold_max
			       ? UINT64_MAX
			       : r->hold_max + room + r->header_room;
	vb_sbuf_set_max(*b, cap >= SIZE_MAX ? 0 : (size_t)cap);
	return VB_OK;
}

/* Open in->name ("-": stdin), as a store when it is one.  Returns 1 when
 * it is ready to frame; otherwise 0, with the failure reported, the input
 * closed and *status updated. */
static int open_input(const struct frame_run *r, struct input *in, int *status)
{
	const char *name = in->name;

	if (strcmp(name, "-")) {
		in->fd = open(name, O_RDONLY | O_CLOEXEC);
		if (in->fd < 0) {
			cli_error(name, "%s", strerror(errno));
			*status = EXIT_FAIL;
			return 0;
		}
		struct stat sb;
		if (fstat(in->fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
			cli_error(name, "is a directory");
			close(in->fd);
			*status = EXIT_FAIL;
			return 0;
		}
	}
	/* a store, or one whose magic was damaged (it still ends with a
	 * record footer): opened as a store, so that the damage is reported
	 * rather than its raw bytes framed */
	if (vb_vbuf_probe(in->fd)) {
		struct vb_vbuf_opts o;
		char path[64];
		cli_store_opts(&o, 0);
		snprintf(path, sizeof path, "/proc/self/fd/%d", in->fd);
		/* messages name the input as given ("-"), not the path the
		 * store was opened by */
		enum vb_err orc = cli_vbuf_open(strcmp(name, "-") ? name : path, &o, &r->at_version,
						&in->store);
		if (orc) {
			int st = cli_fail(name, orc);
			if (st > *status)
				*status = st;
			if (in->fd > 0)
				close(in->fd);
			return 0;
		}
		cli_warnings(name, in->store);
		int st = cli_check_output(name, in->store);
		if (st) {
			if (st > *status)
				*status = st;
			vb_vbuf_close(in->store);
			in->store = NULL;
			if (in->fd > 0)
				close(in->fd);
			return 0;
		}
	}
	if (cmdline.version && !in->store) {
		cli_error(name, "-V applies to stores, and this is not one");
		*status = EXIT_FAIL;
		if (in->fd > 0)
			close(in->fd);
		return 0;
	}
	return 1;
}

int main(int argc, char **argv)
{
	const char **args;
	int nargs, status = EXIT_OK, stop = 0;
	static const char *stdin_only[] = {"-", NULL};
	struct frame_run *r;
	poptContext ctx;

	cli_init(argv[0]);
	ctx = cli_context(argc, argv, options, "[OPTION...] [INPUT...]");
	cli_parse(ctx, NULL);
	args = cli_operands(ctx, &nargs);
	if (!(r = calloc(1, sizeof *r)))
		return cli_fail(NULL, vb_err_set(VB_ENOMEM, "out of memory"));
	r->max_size = 64u << 20;
	r->policy.oversize = VB_OVERSIZE_ERROR;
	r->policy.final = VB_FINAL_EMIT;
	r->out_delim = (const unsigned char *)"\n";
	r->out_delim_len = 1;
	r->at_version = CLI_NEWEST;
	r->sel.last_wanted = UINT64_MAX;
	setup_options(r, &cmdline);
	setup_framer(r, &cmdline);
	if (!nargs) {
		args = stdin_only;
		nargs = 1;
	}
	r->several = nargs > 1;
	/* --count and --index need no record's bytes: a long delimited or
	 * fixed-size one is measured, not held (a frame's size is in its
	 * header: one larger than --max-size is measured, one within it held) */
	r->hold_max = r->max_size;
	if ((r->count || r->index) && !r->is_length && !r->matcher && r->hold_max > HOLD_CAP)
		r->hold_max = HOLD_CAP;
	vb_framer_set_max(r->framer, r->hold_max);

	struct vb_sbuf *b = NULL;
	struct vb_pages *pages = NULL;
	enum vb_err rc = make_buffer(r, &b, &pages);
	if (rc)
		return cli_fail(NULL, rc);
	if (r->json) {
		const char *head = r->count ? "{\n   \"inputs\": [" : "{\n   \"records\": [";
		out_write(&r->out, head, strlen(head));
	}
	for (int i = 0; i < nargs && !stop; i++) {
		struct input in = {args[i], 0, NULL, 0, 0, 0, 0, NULL, 0};
		if (!open_input(r, &in, &status))
			continue;
		in.pr = input_progress(&in);
		vb_sbuf_advance(b, vb_sbuf_len(b));
		int st = r->split ? split_input(r, &in, &stop) : frame_store_lines(r, &in, b, &stop);
		if (st < 0)
			st = r->last_n ? frame_last(r, &in, b, &stop)
				       : frame_input(r, &in, b, &r->sel, &stop, 0, NULL);
		cli_progress_done(in.pr, in.read, !st);
		if (st > status)
			status = st;
		vb_vbuf_close(in.store);
		if (in.fd > 0)
			close(in.fd);
	}
	if (r->json) {
		/* closed whatever failed, so that what was written parses */
		char line[64];
		int k = r->count ? snprintf(line, sizeof line, "\n   ],\n   \"total\": %llu\n}\n",
					    (unsigned long long)r->grand_total)
				 : snprintf(line, sizeof line, "\n   ]\n}\n");
		out_write(&r->out, line, (size_t)k);
	} else if (r->count && r->several && !stop) {
		char line[64];
		int k = snprintf(line, sizeof line, "%llu\ttotal\n", (unsigned long long)r->grand_total);
		out_write(&r->out, line, (size_t)k);
	}
	rc = out_flush(&r->out);
	if (rc && rc != VB_EPIPE) {
		cli_error(NULL, "%s", vb_err_detail());
		status = EXIT_FAIL;
	}
	vb_sbuf_free(b);
	vb_pages_free(pages);
	vb_framer_free(r->framer);
	free(r->out_delim_buf);
	free(r->ring);
	free(r->scratch);
	vb_match_free(r->matcher);
	free(r->sel.spans);
	free(r->over);
	free(r);
	for (int i = 0; i < cmdline.ndelim; i++)
		free(cmdline.delim_argv[i]);
	free(cmdline.delim_argv);
	return cli_close_stdout(status);
}
