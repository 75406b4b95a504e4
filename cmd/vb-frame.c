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
#include "grow.h"
#include "le.h"
#include "sbuf.h"
#include "vbuf.h"

#define READ_CHUNK (256u * 1024u)
#define OUT_BUF (128u * 1024u)
#define DELIMS_MAX 64

static char *opt_length, *opt_length_offset, *opt_length_adjust, *opt_strip, *opt_fixed;
static char *opt_records, *opt_max_size, *opt_oversize, *opt_out_delim, *opt_to_length;
static char *opt_final, *opt_version, *opt_last;
static uint64_t last_n;      /* --last: 0 means off */
static uint64_t at_version = VB_HEAD;
static int opt_lines, opt_null, opt_count, opt_index, opt_keep, opt_zero, opt_unbuffered;
/* The -d values in order.  popt collects them (POPT_ARG_ARGV), so that no
 * string it hands out is lost: an option handler would get a decoded copy
 * of a value holding "!#:+" and drop the original. */
static char **delim_argv;
static int ndelim_args;

static struct poptOption framing_options[] = {
	{"delimiter", 'd', POPT_ARG_ARGV, &delim_argv, 0,
	 "records end with STR (escapes \\n \\r \\t \\0 \\\\ \\xHH); repeat for several: the longest match wins",
	 "=STR"}, /* "=": popt would write "--delimiter STR" for an ARGV option */
	{"lines", 'l', POPT_ARG_NONE, &opt_lines, 0,
	 "lines ending in \\n, \\r\\n or \\r (the default framing)", NULL},
	{"null", '0', POPT_ARG_NONE, &opt_null, 0, "records end with a NUL byte", NULL},
	{"length-prefix", 'L', POPT_ARG_STRING, &opt_length, 0,
	 "records carry a length field: u8, u16be, u16le, u24be, u24le, u32be, u32le, u64be, u64le or varint",
	 "SPEC"},
	{"length-offset", 0, POPT_ARG_STRING, &opt_length_offset, 0,
	 "bytes before the length field (default 0)", "N"},
	{"length-adjust", 0, POPT_ARG_STRING, &opt_length_adjust, 0,
	 "add N (may be negative: --length-adjust=-4) to the field to get the bytes after it", "N"},
	{"strip", 0, POPT_ARG_STRING, &opt_strip, 0,
	 "drop N bytes from the start of each frame (default: up to the end of the length field)",
	 "N"},
	{"fixed", 'F', POPT_ARG_STRING, &opt_fixed, 0, "records of N bytes each", "N"},
	POPT_TABLEEND
};

static struct poptOption select_options[] = {
	{"at-version", 'V', POPT_ARG_STRING, &opt_version, 0,
	 "frame version N of each store INPUT instead of the newest (other inputs are not stores)",
	 "N"},
	{"records", 'n', POPT_ARG_STRING, &opt_records, 0,
	 "only records in LIST (1-based: 5, 10-20, 100-, comma-separated)", "LIST"},
	{"last", 0, POPT_ARG_STRING, &opt_last, 0,
	 "only the last N records, found by reading backward from the end (delimiter framing; files and stores)",
	 "N"},
	{"count", 'c', POPT_ARG_NONE, &opt_count, 0, "print the number of records instead", NULL},
	{"index", 'i', POPT_ARG_NONE, &opt_index, 0,
	 "print each record's offset and length (tab-separated) instead", NULL},
	{"max-size", 0, POPT_ARG_STRING, &opt_max_size, 0,
	 "largest record held in memory (default 64M; with -L the whole frame, header included)",
	 "SIZE"},
	{"oversize", 0, POPT_ARG_STRING, &opt_oversize, 0,
	 "a larger record: error (default, exit 1), skip it, or truncate it to --max-size",
	 "error|skip|truncate"},
	POPT_TABLEEND
};

static struct poptOption output_options[] = {
	{"keep", 'k', POPT_ARG_NONE, &opt_keep, 0,
	 "write each record with its own delimiter (or length header), as it was", NULL},
	{"zero", 'z', POPT_ARG_NONE, &opt_zero, 0, "end each record written with a NUL byte", NULL},
	{"output-delimiter", 0, POPT_ARG_STRING, &opt_out_delim, 0,
	 "end each record written with STR (escapes as for --delimiter; default \\n)", "STR"},
	{"to-length-prefix", 0, POPT_ARG_STRING, &opt_to_length, 0,
	 "write each record after a length field of SPEC instead of a delimiter", "SPEC"},
	{"final", 0, POPT_ARG_STRING, &opt_final, 0,
	 "a last record without its delimiter (or a truncated frame): emit, drop or error (default emit; error for --length-prefix)",
	 "emit|drop|error"},
	{"unbuffered", 'u', POPT_ARG_NONE, &opt_unbuffered, 0,
	 "write each record at once (the default when stdout is a terminal)", NULL},
	POPT_TABLEEND
};

static struct poptOption options[] = {
	{NULL, 0, POPT_ARG_INCLUDE_TABLE, framing_options, 0, "Framing:", NULL},
	{NULL, 0, POPT_ARG_INCLUDE_TABLE, select_options, 0, "Selecting:", NULL},
	{NULL, 0, POPT_ARG_INCLUDE_TABLE, output_options, 0, "Output:", NULL},
	{NULL, 0, POPT_ARG_INCLUDE_TABLE, cli_common_options, 0, "Other:", NULL},
	POPT_TABLEEND
};

/* ------------------------------------------------------------ selection */

struct span {
	uint64_t lo, hi; /* inclusive; hi UINT64_MAX: open */
};

static struct span *spans;
static size_t nspans;
static uint64_t last_wanted; /* UINT64_MAX: no end */

static int cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static void parse_records(const char *list)
{
	char *copy = strdup(list), *save = NULL;

	if (!copy)
		cli_usage("out of memory");
	(void)save;
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
		struct span *ns = realloc(spans, (nspans + 1) * sizeof *ns);
		if (!ns)
			cli_usage("out of memory");
		spans = ns;
		spans[nspans++] = s;
	}
	free(copy);
	if (!nspans)
		cli_usage("invalid --records '%s'", list);
	qsort(spans, nspans, sizeof *spans, cmp_span);
	last_wanted = 0;
	for (size_t i = 0; i < nspans; i++)
		if (spans[i].hi > last_wanted)
			last_wanted = spans[i].hi;
}

/* Is record n wanted?  n grows by one per call within an input. */
static size_t span_at;
static int wanted(uint64_t n)
{
	if (!nspans)
		return 1;
	while (span_at < nspans && spans[span_at].hi < n)
		span_at++;
	for (size_t i = span_at; i < nspans && spans[i].lo <= n; i++)
		if (spans[i].hi >= n)
			return 1;
	return 0;
}

/* How many records after record n are not wanted, before the next one
 * that is (0: record n + 1 is wanted; there is always one more wanted,
 * or the caller would have stopped). */
static uint64_t unwanted_ahead(uint64_t n)
{
	uint64_t m = n + 1;

	for (size_t i = span_at; i < nspans; i++) {
		if (spans[i].hi < m)
			continue;
		return spans[i].lo <= m ? 0 : spans[i].lo - m;
	}
	return 0;
}

/* --------------------------------------------------------------- output */

static unsigned char outbuf[OUT_BUF];
static size_t outlen;
static int flush_each, out_failed;

static enum vb_err out_flush(void)
{
	enum vb_err rc = VB_OK;

	if (outlen) {
		rc = vb_io_write_full(1, outbuf, outlen);
		if (rc && vb_err_errno() != EPIPE) {
			vb_err_set(rc, "write error: %s", strerror(vb_err_errno()));
			out_failed = 1;
		}
		outlen = 0;
	}
	return rc;
}

/* Queue n bytes (or, with `now` and n at least a page, write them out at
 * once after what is queued: no copy of a large block). */
static enum vb_err out_put(const void *p, size_t n, int now)
{
	enum vb_err rc;

	if (n > OUT_BUF - outlen || (now && n >= 4096)) {
		if ((rc = out_flush()))
			return rc;
		if (n >= OUT_BUF || (now && n >= 4096)) {
			rc = vb_io_write_full(1, p, n);
			if (rc && vb_err_errno() != EPIPE) {
				vb_err_set(rc, "write error: %s", strerror(vb_err_errno()));
				out_failed = 1;
			}
			return rc;
		}
	}
	memcpy(outbuf + outlen, p, n);
	outlen += n;
	return VB_OK;
}

static enum vb_err out_write(const void *p, size_t n)
{
	return out_put(p, n, 0);
}

/* Write bytes [off, off+n) of the buffer. */
static enum vb_err out_sbuf(const struct vb_sbuf *b, size_t off, size_t n)
{
	enum vb_err rc;

	while (n) {
		size_t run;
		const unsigned char *p = vb_sbuf_contig(b, off, &run);
		if (run > n)
			run = n;
		if ((rc = out_write(p, run)))
			return rc;
		off += run;
		n -= run;
	}
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
};

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

static int is_store(int fd)
{
	unsigned char m[8];
	struct stat st;
	ssize_t r;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	do
		r = pread(fd, m, sizeof m, 0);
	while (r < 0 && errno == EINTR);
	if (r == 8 && !memcmp(m, "\x89VBSTOR\n", 8))
		return 1;
	/* a store whose magic was damaged still ends with a record footer
	 * (vb(5): "VBrf", type, flags, 0, length, CRC, own offset, id):
	 * open it as a store so that the damage is reported, rather than
	 * framing its raw bytes */
	unsigned char f[32];
	if ((uint64_t)st.st_size < 104 + 36)
		return 0;
	do
		r = pread(fd, f, sizeof f, st.st_size - 32);
	while (r < 0 && errno == EINTR);
	if (r != 32 || memcmp(f, "VBrf", 4) || f[4] < 1 || f[4] > 4)
		return 0;
	uint64_t len = vb_le_get32(f + 8), off = vb_le_get64(f + 16);
	return len <= 65536 && off + 36 + len == (uint64_t)st.st_size;
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
		if ((rc = vb_sbuf_reserve(b, READ_CHUNK, &p, &avail)))
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
		return VB_OK;
	}
	enum vb_err rc = vb_sbuf_fill_fd(b, in->fd, READ_CHUNK, got);
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

/* ---------------------------------------------------------------- state */

enum { OVER_ERROR, OVER_SKIP, OVER_TRUNCATE };
enum { FINAL_EMIT, FINAL_DROP, FINAL_ERROR };

static struct vb_framer *framer;
static uint64_t max_size = 64u << 20;
/* bytes a frame may hold besides its record: a length prefix's header */
static uint64_t header_room;
static int oversize = OVER_ERROR, final_mode = FINAL_EMIT, is_length;
static unsigned char *out_delim = (unsigned char *)"\n";
static size_t out_delim_len = 1;
static struct vb_lenspec to_spec;
static int to_length, several;
static uint64_t cur_record;   /* the record being written, for messages */
static int numbers_unknown;   /* --last from inside the input: records are
			       * counted from there, not from the start */

/* How messages name record n at offset off: "record N at offset O", or
 * where the number from the start is unknown, "record at offset O" (+ 7:
 * without "record "). */
static const char *rec_at(uint64_t n, uint64_t off)
{
	static char buf[2][64];
	static int k;

	k ^= 1;
	if (numbers_unknown)
		snprintf(buf[k], sizeof buf[k], "record at offset %llu", (unsigned long long)off);
	else
		snprintf(buf[k], sizeof buf[k], "record %llu at offset %llu", (unsigned long long)n,
			 (unsigned long long)off);
	return buf[k];
}
static int plain;             /* records + output delimiter, not flushed each */
static uint64_t grand_total;

/* Emit record number n (its bytes are [skip, skip+len) of the buffer,
 * the raw frame [0, total)). */
static enum vb_err emit(const struct input *in, const struct vb_sbuf *b, size_t at,
			uint64_t base, const struct vb_frame *fr, size_t len)
{
	enum vb_err rc;
	char line[128];

	if (opt_index) {
		uint64_t off = opt_keep ? base : base + fr->skip;
		uint64_t l = opt_keep ? fr->total : len;
		if (several && (rc = out_write(in->name, strlen(in->name))))
			return rc;
		int k = snprintf(line, sizeof line, "%s%llu\t%llu\n", several ? "\t" : "",
				 (unsigned long long)off, (unsigned long long)l);
		rc = out_write(line, (size_t)k);
	} else if (opt_keep) {
		rc = out_sbuf(b, at, fr->total);
	} else if (to_length) {
		unsigned char h[10];
		size_t hn;
		if ((rc = vb_lenspec_encode(&to_spec, len, h, &hn))) {
			vb_err_prefix("%s", rec_at(cur_record, base));
			return rc;
		}
		if (!(rc = out_write(h, hn)))
			rc = out_sbuf(b, at + fr->skip, len);
	} else {
		if (!(rc = out_sbuf(b, at + fr->skip, len)))
			rc = out_write(out_delim, out_delim_len);
	}
	if (!rc && flush_each)
		rc = out_flush();
	return rc;
}

/* Drop the rest of an oversized record whose first `held` bytes are at the
 * head of the buffer (delimiter framing: up to its delimiter; otherwise
 * `total` bytes). */
static enum vb_err skip_record(struct input *in, struct vb_sbuf *b, const struct vb_frame *fr,
			       uint64_t *base)
{
	enum vb_err rc;
	size_t got;

	/* length and fixed framing always know the size of what they skip;
	 * only delimiter framing searches for the end */
	if (is_length || opt_fixed) {
		uint64_t left = fr->total;
		if (!left)
			return vb_err_set(VB_EIO, "internal error: a frame to skip without its size");
		while (left) {
			size_t have = vb_sbuf_len(b), take = have < left ? have : (size_t)left;
			vb_sbuf_advance(b, take);
			left -= take;
			*base += take;
			if (!left)
				break;
			if ((rc = fill(in, b, &got)))
				return rc;
			if (!got) /* the input ended inside the frame: a short fixed
				   * record ends there; a length frame is cut */
				return is_length ? VB_EFRAME : VB_OK;
		}
		return VB_OK;
	}
	size_t keep = vb_framer_max_delim(framer) - 1;
	for (;;) {
		size_t pos, dlen;
		rc = vb_framer_find_end(framer, b, in->eof, &pos, &dlen);
		if (rc == VB_OK) {
			vb_sbuf_advance(b, pos + dlen);
			vb_framer_discard(framer, pos + dlen);
			*base += pos + dlen;
			return VB_OK;
		}
		if (rc != VB_ENEEDMORE)
			return rc;
		size_t have = vb_sbuf_len(b);
		if (have > keep) {
			vb_sbuf_advance(b, have - keep);
			vb_framer_discard(framer, have - keep);
			*base += have - keep;
		}
		if ((rc = fill(in, b, &got)))
			return rc;
		if (!got)
			in->eof = 1;
	}
}

/* Frame one input.  Returns the exit status so far (0 or 1); *stop is set
 * when the output is gone. */
#define BATCH 256
static struct vb_frame batch[BATCH];

/* --last: the records skipped as oversized while counting, each as the
 * number of records counted before it. */
static uint64_t *skips;
static size_t nskips, capskips;

static enum vb_err note_skip(uint64_t counted)
{
	enum vb_err rc = vb_grow(&skips, &capskips, nskips, sizeof *skips, 16);

	if (rc)
		return rc;
	skips[nskips++] = counted;
	return VB_OK;
}

/* Frame one input from offset `start` (a record boundary).  With `tally`
 * non-NULL the records are only counted, into *tally, and nothing is
 * written. */
static int frame_input(struct input *in, struct vb_sbuf *b, int *stop, uint64_t start,
		       uint64_t *tally)
{
	uint64_t n = 0, count = 0, base = start;
	int saved_count = opt_count;
	if (tally)
		opt_count = 1;
	enum vb_err rc = VB_OK;
	struct vb_frame fr;
	size_t got;
	int status = EXIT_OK;

	vb_framer_reset(framer);
	span_at = 0;
	in->eof = 0;
	for (;;) {
		if (nspans && last_wanted != UINT64_MAX && n >= last_wanted)
			break; /* nothing after this is wanted */
		size_t cnt;
		if (opt_count && !nspans && final_mode == FINAL_EMIT && !is_length && !opt_fixed) {
			/* counting everything: no need to describe each record
			 * (delimiters only: an oversized length-prefixed or fixed
			 * record needs the frame the framer describes to be
			 * skipped, and vb_framer_count does not give it) */
			uint64_t recs;
			size_t used;
			rc = vb_framer_count(framer, b, in->eof, &recs, &used);
			if (rc == VB_OK) {
				n += recs;
				count += recs;
				base += used;
				vb_sbuf_advance(b, used);
				continue;
			}
			if (rc != VB_ENEEDMORE)
				batch[0] = (struct vb_frame){0, 0, 0, 0, 0};
			cnt = 0;
		} else {
			/* A lone one-byte delimiter over a contiguous buffer: the
			 * records not wanted are counted, not described; with
			 * plain output and a one-byte output delimiter the
			 * records go out as the input bytes with the delimiters
			 * replaced in place (the buffer is ours, consumed
			 * right after). */
			uint64_t limit = 0, recs;
			int pass = 0;
			if (!is_length && !opt_fixed) {
				if (nspans) {
					limit = unwanted_ahead(n);
				} else if (plain && !opt_count && out_delim_len == 1) {
					limit = UINT64_MAX;
					pass = 1;
				}
			}
			unsigned char c;
			size_t used;
			if (limit && vb_framer_lone_run(framer, b, limit, &c, &recs, &used)) {
				if (pass) {
					unsigned char *p = (unsigned char *)(uintptr_t)vb_sbuf_contig(b, 0, &cnt);
					if (c != out_delim[0])
						vb_bytes_replace(p, used, c, out_delim[0]);
					rc = out_put(p, used, 1);
				}
				n += recs;
				base += used;
				vb_sbuf_advance(b, used);
				if (rc)
					break;
				continue;
			}
			rc = vb_framer_next_many(framer, b, in->eof, batch, BATCH, &cnt);
		}
		if (rc == VB_ENEEDMORE) {
			if (in->eof) {
				rc = VB_OK;
				break;
			}
			if ((rc = fill(in, b, &got)))
				break;
			if (!got)
				in->eof = 1;
			continue;
		}
		if (rc == VB_OK) {
			size_t at = 0, run_start = 0, run_len = 0, whole;
			/* Plain output of a contiguous buffer: runs of records
			 * whose delimiter is as long as the output delimiter go
			 * out as one copy of the input bytes.  The input buffer is
			 * ours, and consumed right after, so the delimiters are
			 * rewritten in it. */
			unsigned char *run_p = (unsigned char *)(uintptr_t)vb_sbuf_contig(b, 0, &whole);
			if (whole != vb_sbuf_len(b))
				run_p = NULL;
			for (size_t i = 0; i < cnt && !rc; i++) {
				struct vb_frame *f = &batch[i];
				n++;
				if (f->unterminated && final_mode == FINAL_ERROR) {
					rc = vb_err_set(VB_EINVAL, is_length
						? "the last frame (record %s) is truncated"
						: opt_fixed
						? "the last record (%s) is shorter than --fixed"
						: "the last record (%s) has no delimiter",
						rec_at(n, base) + 7);
					break;
				}
				if (!(f->unterminated && final_mode == FINAL_DROP) && wanted(n)) {
					cur_record = n;
					if (opt_count)
						count++;
					else if (plain && run_p && !f->skip && !f->unterminated &&
						 f->delim == out_delim_len) {
						/* the record and its delimiter, with the
						 * delimiter bytes replaced by the output
						 * delimiter in place, join the run */
						if (out_delim_len &&
						    memcmp(run_p + at + f->len, out_delim, out_delim_len))
							memcpy(run_p + at + f->len, out_delim, out_delim_len);
						if (run_len && run_start + run_len != at) {
							if ((rc = out_write(run_p + run_start, run_len)))
								break;
							run_len = 0;
						}
						if (!run_len)
							run_start = at;
						run_len += f->total;
					} else {
						if (run_len && (rc = out_write(run_p + run_start, run_len)))
							break;
						run_len = 0;
						rc = emit(in, b, at, base, f, f->len);
					}
				}
				at += f->total;
				base += f->total;
				if (nspans && last_wanted != UINT64_MAX && n >= last_wanted)
					break;
			}
			if (!rc && run_len)
				rc = out_write(run_p + run_start, run_len);
			vb_sbuf_advance(b, at);
			if (rc)
				break;
			continue;
		}
		fr = batch[0];
		n++;
		if (rc == VB_EINVAL) {
			vb_err_prefix("%s", rec_at(n, base));
			break;
		}
		if (rc == VB_EFRAME) {
			/* a record that is not wanted is passed over whatever
			 * --oversize says: it does not have to fit */
			if (oversize == OVER_ERROR && wanted(n)) {
				rc = vb_err_set(VB_EFRAME, "%s is larger than --max-size (%llu bytes); raise --max-size or use --oversize=skip or --oversize=truncate",
						rec_at(n, base), (unsigned long long)max_size);
				break;
			}
			if (oversize == OVER_TRUNCATE && wanted(n)) {
				/* the first --max-size bytes of the record stand for it */
				while (vb_sbuf_len(b) < fr.skip + max_size && !in->eof) {
					if ((rc = fill(in, b, &got)))
						goto done;
					if (!got)
						in->eof = 1;
				}
				size_t have = vb_sbuf_len(b) > fr.skip ? vb_sbuf_len(b) - fr.skip : 0;
				struct vb_frame t = fr;
				t.len = (size_t)(max_size < have ? max_size : have);
				t.total = fr.skip + t.len;
				t.delim = 0;
				if (opt_count)
					count++;
				else if ((cur_record = n), (rc = emit(in, b, 0, base, &t, t.len)))
					break;
			} else if (tally) {
				/* only counting (--last): remember where it was,
				 * the writing pass reports it if it is wanted */
				if ((rc = note_skip(count)))
					break;
			} else if (wanted(n)) {
				/* records before it go out first, also when
				 * stderr and stdout are the same file */
				if ((rc = out_flush()))
					break;
				cli_error(in->name, "warning: %s skipped: larger than --max-size (%llu bytes)",
					  rec_at(n, base), (unsigned long long)max_size);
			}
			uint64_t rec_start = base; /* skip_record moves base */
			if ((rc = skip_record(in, b, &fr, &base))) {
				if (rc == VB_EFRAME)
					rc = vb_err_set(VB_EFRAME, "the input ends inside %s",
							rec_at(n, rec_start));
				break;
			}
			continue;
		}
		break;
	}
done:
	if (rc == VB_EPIPE) {
		*stop = 1;
		return EXIT_OK;
	}
	if (rc) {
		/* the records before the failure go out before its message */
		enum vb_err frc;
		if (!out_failed && (frc = out_flush())) {
			if (frc == VB_EPIPE) {
				*stop = 1;
				return EXIT_OK;
			}
			rc = frc;
		}
		status = cli_fail(out_failed ? NULL : in->name, rc);
	}
	if (out_failed)
		*stop = 1; /* stdout is gone: the other inputs would fail the same way */
	opt_count = saved_count;
	if (tally) {
		*tally = count;
		return status;
	}
	if (opt_count && status == EXIT_OK) {
		char line[64];
		int k;
		if (several) {
			k = snprintf(line, sizeof line, "%llu\t", (unsigned long long)count);
			out_write(line, (size_t)k);
			out_write(in->name, strlen(in->name));
			out_write("\n", 1);
		} else {
			k = snprintf(line, sizeof line, "%llu\n", (unsigned long long)count);
			out_write(line, (size_t)k);
		}
		grand_total += count;
	}
	return status;
}

/* --last: read backward from the end for N+1 sync bytes (each ends a
 * record, whatever came before), frame forward from just after the last
 * one found, once to count and once to write the last N.  Records skipped
 * as oversized (--oversize=skip) are not among the N: when the count falls
 * short for them, look further back for as many more sync bytes as records
 * are missing, and count again.  Only the tail is read, however large the
 * input. */
static int frame_last(struct input *in, struct vb_sbuf *b, int *stop)
{
	int sync = vb_framer_sync_byte(framer), status = EXIT_OK;
	uint64_t len, pos, q = 0, found = 0, total = 0;
	uint64_t want = last_n < UINT64_MAX ? last_n + 1 : UINT64_MAX;
	unsigned char *chunk = malloc(READ_CHUNK);
	enum vb_err rc = VB_OK;
	struct stat st;

	if (!chunk)
		return cli_fail(in->name, vb_err_set(VB_ENOMEM, "out of memory"));
	if (in->store) {
		len = vb_vbuf_len(in->store);
	} else if (fstat(in->fd, &st) == 0 && S_ISREG(st.st_mode)) {
		off_t cur = lseek(in->fd, 0, SEEK_CUR);
		len = (uint64_t)st.st_size;
		if (cur > 0 && (uint64_t)cur <= len)
			len -= (uint64_t)cur; /* a file on stdin read from where it stands */
		in->file_start = cur > 0 ? (uint64_t)cur : 0;
	} else {
		int fifo = fstat(in->fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
		free(chunk);
		return cli_fail(in->name, vb_err_set(VB_EINVAL, "--last reads backward from the end: it needs a file or a store, not %s",
						     fifo ? "a pipe" : "a device"));
	}
	for (pos = len;;) {
		/* the want-th sync byte from the end, scanning back from pos */
		q = 0;
		while (pos > 0 && !q && !rc) {
			size_t take = pos < READ_CHUNK ? (size_t)pos : READ_CHUNK, got = 0;
			pos -= take;
			if (in->store)
				rc = vb_vbuf_read(in->store, pos, chunk, take);
			else if (!(rc = vb_io_pread_full(in->fd, chunk, take, in->file_start + pos,
							 &got)) && got != take)
				rc = vb_err_set(VB_EIO, "the file shrank while being read");
			for (size_t i = take; !rc && i > 0;) {
				const unsigned char *hit = memrchr(chunk, sync, i);
				if (!hit)
					break;
				i = (size_t)(hit - chunk);
				if (++found == want) {
					q = pos + i + 1;
					break;
				}
			}
		}
		if (rc)
			break;
		/* count the records from q */
		if ((rc = seek_input(in, q)))
			break;
		numbers_unknown = q > 0;
		vb_sbuf_advance(b, vb_sbuf_len(b));
		nskips = 0;
		if ((status = frame_input(in, b, stop, q, &total)) || *stop)
			break;
		if (total >= last_n || !q)
			break;
		want += last_n - total;
		pos = q - 1; /* on before the sync byte found last */
	}
	free(chunk);
	if (rc || status || *stop) {
		numbers_unknown = 0;
		return rc ? cli_fail(in->name, rc) : status;
	}
	/* write the last N of them: the first is counted record c, which is
	 * record c + (skipped records before it) of the input from q */
	if ((rc = seek_input(in, q)))
		return cli_fail(in->name, rc);
	vb_sbuf_advance(b, vb_sbuf_len(b));
	uint64_t c = total > last_n ? total - last_n + 1 : 1, first = c;
	for (size_t i = 0; i < nskips; i++)
		if (skips[i] < c)
			first++;
	struct span all = {first, UINT64_MAX};
	spans = &all;
	nspans = 1;
	last_wanted = UINT64_MAX;
	status = frame_input(in, b, stop, q, NULL);
	spans = NULL;
	nspans = 0;
	numbers_unknown = 0;
	return status;
}

/* ---------------------------------------------------------------- setup */

static uint64_t size_opt(const char *s, const char *what)
{
	return cli_size(cli_arg(s), what);
}

static void setup_framer(void)
{
	while (delim_argv && delim_argv[ndelim_args])
		ndelim_args++;
	if (ndelim_args > DELIMS_MAX)
		cli_usage("at most %d delimiters", DELIMS_MAX);
	int kinds = (ndelim_args || opt_lines || opt_null) + (opt_length != NULL) + (opt_fixed != NULL);
	enum vb_err rc;

	if (kinds > 1)
		cli_usage("choose one framing: delimiters (-d, -l, -0), --length-prefix or --fixed");
	if (!opt_length && (opt_length_offset || opt_length_adjust || opt_strip))
		cli_usage("--%s only applies with --length-prefix",
			  opt_length_offset ? "length-offset" : opt_length_adjust ? "length-adjust" : "strip");
	if (opt_length) {
		struct vb_lenspec sp;
		if (vb_lenspec_parse(cli_arg(opt_length), &sp))
			cli_usage("invalid --length-prefix: %s", vb_err_detail());
		if (opt_length_offset)
			sp.offset = size_opt(opt_length_offset, "length offset");
		if (opt_length_adjust) {
			const char *a = cli_arg(opt_length_adjust);
			uint64_t v;
			int neg = a[0] == '-';
			if (vb_parse_size(neg || a[0] == '+' ? a + 1 : a, "length adjustment", &v))
				cli_usage("invalid --length-adjust '%s' (a whole number, negative as --length-adjust=-N)",
					  a);
			if (v > (uint64_t)INT64_MAX)
				cli_usage("--length-adjust '%s' is too large", a);
			sp.adjust = neg ? -(int64_t)v : (int64_t)v;
		}
		if (opt_strip) {
			sp.strip = size_opt(opt_strip, "strip");
			sp.strip_set = 1;
		}
		if ((rc = vb_framer_length(&sp, &framer)))
			cli_usage("%s", vb_err_detail());
		header_room = sp.offset > UINT64_MAX / 2 || sp.strip > UINT64_MAX / 2
				      ? UINT64_MAX
				      : sp.offset + sp.strip + 16;
		if (opt_last)
			cli_usage("--last needs delimiter framing");
		is_length = 1;
		if (!opt_final) /* a truncated frame is an error unless --final says otherwise */
			final_mode = FINAL_ERROR;
	} else if (opt_fixed) {
		uint64_t n = size_opt(opt_fixed, "record size");
		if (!n)
			cli_usage("--fixed needs a size of at least 1");
		if ((rc = vb_framer_fixed(n, &framer)))
			cli_usage("%s", vb_err_detail());
		if (opt_last)
			cli_usage("--last needs delimiter framing");
	} else {
		unsigned char *d[DELIMS_MAX + 3];
		size_t dl[DELIMS_MAX + 3], nd = 0;
		for (int i = 0; i < ndelim_args; i++) {
			const char *arg = cli_arg(delim_argv[i]);
			if (!*arg)
				cli_usage("invalid --delimiter '': a delimiter cannot be empty");
			if (vb_unescape(arg, &d[nd], &dl[nd]))
				cli_usage("invalid --delimiter %s", vb_err_detail());
			nd++;
		}
		if (opt_null) {
			d[nd] = (unsigned char *)strdup("");
			dl[nd++] = 1;
		}
		if (opt_lines || !nd) {
			d[nd] = (unsigned char *)strdup("\n");
			dl[nd++] = 1;
			d[nd] = (unsigned char *)strdup("\r\n");
			dl[nd++] = 2;
			d[nd] = (unsigned char *)strdup("\r");
			dl[nd++] = 1;
		}
		rc = vb_framer_delim((const unsigned char *const *)d, dl, nd, &framer);
		for (size_t i = 0; i < nd; i++)
			free(d[i]);
		if (rc)
			cli_usage("%s", vb_err_detail());
		if (opt_last && vb_framer_sync_byte(framer) < 0)
			cli_usage("--last needs a one-byte delimiter that appears in no other delimiter except at its end (as \\n does for -l), so that reading backward finds where records start");
	}
}

static void setup_options(void)
{
	if (opt_count && opt_index)
		cli_usage("--count and --index cannot be used together");
	int outs = opt_keep + opt_zero + (opt_out_delim != NULL) + (opt_to_length != NULL);
	if (outs > 1)
		cli_usage("choose one of --keep, -z, --output-delimiter and --to-length-prefix");
	if ((opt_count || opt_index) && (opt_zero || opt_out_delim || opt_to_length))
		cli_usage("--%s prints numbers: -z, --output-delimiter and --to-length-prefix do not apply",
			  opt_count ? "count" : "index");
	if (opt_count && opt_keep)
		cli_usage("--count prints a number: --keep does not apply");
	if (opt_records)
		parse_records(cli_arg(opt_records));
	if (opt_max_size) {
		max_size = size_opt(opt_max_size, "size");
		if (!max_size)
			cli_usage("--max-size must be at least 1");
	}
	if (opt_oversize) {
		const char *o = cli_arg(opt_oversize);
		if (!strcmp(o, "error"))
			oversize = OVER_ERROR;
		else if (!strcmp(o, "skip"))
			oversize = OVER_SKIP;
		else if (!strcmp(o, "truncate"))
			oversize = OVER_TRUNCATE;
		else
			cli_usage("invalid --oversize '%s' (error, skip or truncate)", o);
		if (oversize == OVER_TRUNCATE && opt_keep)
			cli_usage("--oversize=truncate cannot be used with --keep: a truncated record is not the record as it was");
	}
	if (opt_final) {
		const char *f = cli_arg(opt_final);
		if (!strcmp(f, "emit"))
			final_mode = FINAL_EMIT;
		else if (!strcmp(f, "drop"))
			final_mode = FINAL_DROP;
		else if (!strcmp(f, "error"))
			final_mode = FINAL_ERROR;
		else
			cli_usage("invalid --final '%s' (emit, drop or error)", f);
	}
	if (opt_zero) {
		out_delim = (unsigned char *)"";
		out_delim_len = 1;
	}
	if (opt_out_delim) {
		const char *s = cli_arg(opt_out_delim);
		if (!*s) {
			out_delim_len = 0; /* records written back to back */
		} else if (vb_unescape(s, &out_delim, &out_delim_len)) {
			cli_usage("invalid --output-delimiter %s", vb_err_detail());
		}
	}
	if (opt_to_length) {
		if (vb_lenspec_parse(cli_arg(opt_to_length), &to_spec))
			cli_usage("invalid --to-length-prefix: %s", vb_err_detail());
		to_length = 1;
	}
	if (opt_version)
		at_version = cli_version(opt_version);
	if (opt_last) {
		last_n = size_opt(opt_last, "record count");
		if (!last_n)
			cli_usage("--last needs at least 1 record");
		if (opt_records)
			cli_usage("--last and --records cannot be used together");
	}
	flush_each = opt_unbuffered || isatty(1);
	plain = !opt_index && !opt_keep && !to_length && !opt_count && !flush_each;
}

int main(int argc, char **argv)
{
	const char **args;
	int nargs, status = EXIT_OK, stop = 0;
	static const char *stdin_only[] = {"-", NULL};
	poptContext ctx;

	cli_init(argv[0]);
	ctx = cli_context(argc, argv, options, "[OPTION...] [INPUT...]");
	cli_parse(ctx, NULL);
	args = cli_operands(ctx, &nargs);
	setup_options();
	setup_framer();
	if (!nargs) {
		args = stdin_only;
		nargs = 1;
	}
	several = nargs > 1;
	vb_framer_set_max(framer, max_size);

	/* The input buffer: linear (one array; the fast paths need it), or
	 * with VB_BUFFER=segmented, chunks from the pinned page store as the
	 * VB_PAGE_* variables configure it. */
	struct vb_sbuf *b;
	struct vb_pages *pages = NULL;
	const char *kind = getenv("VB_BUFFER");
	enum vb_err brc;
	struct vb_pages_opts po;
	vb_pages_opts_init(&po);
	if (vb_pages_opts_from_env(&po)) /* a typo is reported even if unused */
		cli_usage("%s", vb_err_detail());
	if (kind && *kind && strcmp(kind, "linear")) {
		if (strcmp(kind, "segmented"))
			cli_usage("VB_BUFFER must be 'linear' or 'segmented', not '%s'", kind);
		if ((brc = vb_pages_create(&po, &pages)))
			return cli_fail(NULL, brc);
		size_t chunk = po.backend == VB_PAGES_VIRTUAL ? READ_CHUNK : po.page_size - 64;
		brc = vb_sbuf_create_segmented(pages, chunk, 0, &b);
	} else {
		brc = vb_sbuf_create_linear(0, &b);
	}
	if (brc)
		return cli_fail(NULL, brc);
	/* The buffer never holds more than a record at the limit, its header
	 * or delimiter and two reads: memory follows --max-size, not the
	 * buffer's doubling growth. */
	uint64_t room = (uint64_t)vb_framer_max_delim(framer) + 2 * READ_CHUNK;
	uint64_t cap = max_size > UINT64_MAX - room || header_room > UINT64_MAX - room - max_size
			       ? UINT64_MAX
			       : max_size + room + header_room;
	vb_sbuf_set_max(b, cap >= SIZE_MAX ? 0 : (size_t)cap);
	for (int i = 0; i < nargs && !stop; i++) {
		struct input in = {args[i], 0, NULL, 0, 0, 0, 0};
		int st;
		if (strcmp(args[i], "-")) {
			in.fd = open(args[i], O_RDONLY | O_CLOEXEC);
			if (in.fd < 0) {
				cli_error(args[i], "%s", strerror(errno));
				status = EXIT_FAIL;
				continue;
			}
			struct stat sb;
			if (fstat(in.fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
				cli_error(args[i], "is a directory");
				close(in.fd);
				status = EXIT_FAIL;
				continue;
			}
		}
		if (is_store(in.fd)) {
			struct vb_store_opts o;
			char path[64];
			cli_store_opts(&o, 0);
			snprintf(path, sizeof path, "/proc/self/fd/%d", in.fd);
			/* messages name the input as given ("-"), not the path
			 * the store was opened by */
			enum vb_err orc = vb_vbuf_open(strcmp(args[i], "-") ? args[i] : path, &o,
						       at_version, &in.store);
			if (orc) {
				st = cli_fail(args[i], orc);
				if (st > status)
					status = st;
				if (in.fd > 0)
					close(in.fd);
				continue;
			}
			cli_warnings(args[i], in.store);
		}
		if (at_version != VB_HEAD && !in.store) {
			cli_error(args[i], "-V applies to stores, and this is not one");
			status = EXIT_FAIL;
			if (in.fd > 0)
				close(in.fd);
			continue;
		}
		vb_sbuf_advance(b, vb_sbuf_len(b));
		st = last_n ? frame_last(&in, b, &stop) : frame_input(&in, b, &stop, 0, NULL);
		if (st > status)
			status = st;
		vb_vbuf_close(in.store);
		if (in.fd > 0)
			close(in.fd);
	}
	if (opt_count && several && !stop) {
		char line[64];
		int k = snprintf(line, sizeof line, "%llu\ttotal\n", (unsigned long long)grand_total);
		out_write(line, (size_t)k);
	}
	enum vb_err rc = out_flush();
	if (rc && rc != VB_EPIPE) {
		cli_error(NULL, "%s", vb_err_detail());
		status = EXIT_FAIL;
	}
	vb_sbuf_free(b);
	vb_pages_free(pages);
	vb_framer_free(framer);
	if (out_delim_len && opt_out_delim && *cli_arg(opt_out_delim))
		free(out_delim);
	free(spans);
	for (int i = 0; i < ndelim_args; i++)
		free(delim_argv[i]);
	free(delim_argv);
	return cli_close_stdout(status);
}
