/*
 * vb-history: list a store's versions, revert to one, verify the file.
 *
 *   vb-history [OPTION...] STORE
 *
 * One line per version, newest first: version, time, operation, offset,
 * length, size after, message; --json gives one JSON object per line.
 * --revert N adds a version whose content is version N's (O(1)).
 * --verify reads every record and checks every version's structure.
 * --diff A STORE [B] lists the byte ranges in which versions A and B (by
 * default the newest) differ, one "A_OFFSET A_LENGTH B_OFFSET B_LENGTH"
 * line each (vb_vbuf_diff: the cost follows the changes, not the size);
 * with --unified[=N] the same comparison as a diff -u patch (lib/udiff.h),
 * or one line saying it is binary or too large to show; with --edits the
 * same hunks as vb-insert --edits lines, "A_OFFSET A_LENGTH DATA" with B's
 * bytes as DATA (lib/edits' escapes; none for a deletion), so that
 * applying them to a copy at A makes B's content.
 * --export SINCE writes the versions after SINCE to stdout as a stream of
 * checksummed, compressed records (lib/export-int.h); --apply FILE replays
 * such a stream onto another copy of the store, version by version.  A
 * FILE that is a regular file is read twice: first checked whole against
 * the store, then applied, so a damaged or truncated file changes
 * nothing; a pipe is applied as it arrives, and on an error the versions
 * already committed stay (the message says which; applying the export
 * again skips them and continues).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "progress.h"
#include "edits.h"
#include "export.h"
#include "udiff.h"
#include "vbuf.h"

static int opt_json, opt_ops, opt_verify, opt_no_header, opt_anchors, opt_edits;
static char *opt_revert, *opt_message, *opt_count, *opt_set_anchor, *opt_remove_anchor;
static char *opt_set_base;
static char *opt_at_version, *opt_diff, *opt_export, *opt_apply, *opt_max_diff_bytes;

#define OPT_UNIFIED 'u' /* --unified: its value is looked at by on_option */

static struct poptOption options[] = {
	{"json", 'j', POPT_ARG_NONE, &opt_json, 0, "one JSON object per version and line", NULL},
	{"max-count", 'n', POPT_ARG_STRING, &opt_count, 0, "list only the N newest versions", "N"},
	{"ops", 'o', POPT_ARG_NONE, &opt_ops, 0, "also list every operation of each version", NULL},
	{"no-header", 'H', POPT_ARG_NONE, &opt_no_header, 0, "omit the column titles", NULL},
	{"revert", 0, POPT_ARG_STRING, &opt_revert, 0,
	 "add a version whose content is version N's (a number, head or head~K)", "N"},
	{"message", 'm', POPT_ARG_STRING, &opt_message, 0,
	 "describe the version --revert, --set-anchor, --remove-anchor or --set-base adds", "TEXT"},
	{"verify", 0, POPT_ARG_NONE, &opt_verify, 0,
	 "check every record and version; report problems and exit 1 if any", NULL},
	{"anchors", 'A', POPT_ARG_NONE, &opt_anchors, 0,
	 "list the anchors with their offsets (NAME, OFFSET, the version that set it)", NULL},
	{"set-anchor", 0, POPT_ARG_STRING, &opt_set_anchor, 0,
	 "add a version that sets anchor NAME at OFFSET (give STORE OFFSET)", "NAME"},
	{"remove-anchor", 0, POPT_ARG_STRING, &opt_remove_anchor, 0,
	 "add a version that removes anchor NAME", "NAME"},
	{"set-base", 0, POPT_ARG_STRING, &opt_set_base, 0,
	 "add a version that makes FILE, a copy of the base file, the store's base (its "
	 "content is checked to be the same)", "FILE"},
	{"diff", 0, POPT_ARG_STRING, &opt_diff, 0,
	 "list the byte ranges in which version A and version B differ (B given after STORE; "
	 "default: the newest; each a number, head or head~K)", "A"},
	{"unified", 'u', POPT_ARG_STRING | POPT_ARGFLAG_OPTIONAL, NULL, OPT_UNIFIED,
	 "with --diff: print a unified diff (diff -u) with N lines of context (default 3; "
	 "only --unified=N or -uN give N)", "N"},
	{"edits", 0, POPT_ARG_NONE, &opt_edits, 0,
	 "with --diff: print the differences as 'A_OFFSET A_LENGTH DATA' lines with B's bytes "
	 "(the input of vb-insert --edits; no header)", NULL},
	{"max-diff-bytes", 0, POPT_ARG_STRING, &opt_max_diff_bytes, 0,
	 "with --unified: a patch longer than SIZE is not printed, a one-line summary is "
	 "(default 1M, at most 1G)", "SIZE"},
	{"export", 0, POPT_ARG_STRING, &opt_export, 0,
	 "write the edits made after version SINCE (a number, head or head~K) to standard output "
	 "(for --apply)", "SINCE"},
	{"apply", 0, POPT_ARG_STRING, &opt_apply, 0,
	 "replay the edits exported to FILE ('-': standard input) onto STORE", "FILE"},
	{"at-version", 'V', POPT_ARG_STRING, &opt_at_version, 0,
	 "--anchors: at version N; --set-anchor: OFFSET is in version N's content (a number, head "
	 "or head~K)", "N"},
	{NULL, 0, POPT_ARG_INCLUDE_TABLE, cli_progress_options, 0,
	 "Progress (--export, --apply, --set-base):", NULL},
	{NULL, 0, POPT_ARG_INCLUDE_TABLE, cli_edit_options, 0,
	 "Writing (--revert, --set-anchor, --remove-anchor, --set-base, --apply):", NULL},
	{NULL, 0, POPT_ARG_INCLUDE_TABLE, cli_common_options, 0, "Other:", NULL},
	POPT_TABLEEND
};

static void put_stdout(void *arg, const void *p, size_t n)
{
	(void)arg;
	fwrite(p, 1, n, stdout);
}

/* A JSON string (cli_json_string) on stdout. */
static void json_string(const char *str, size_t n)
{
	cli_json_string(put_stdout, NULL, str, n);
}

/* A message in the table stays on its line: control characters and
 * backslashes are written as C escapes. */
static void text_string(const char *str, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)str[i];
		if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\t')
			fputs("\\t", stdout);
		else if (c == '\\')
			fputs("\\\\", stdout);
		else if (c < 0x20 || c == 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
}

/* What a commit's extensions say: --at-version and anchor changes. */
struct notes {
	int json;
	uint64_t at_version;   /* VB_HEAD: none */
	int anchors;           /* anchor entries */
	int set_base;          /* 1 + what a re-binding checked, or 0 */
	int printed;
};

static enum vb_err note_ext(void *arg, const struct vb_commit_note *n)
{
	struct notes *nt = arg;

	if (n->type == VB_EXT_AT_VERSION) {
		nt->at_version = n->value;
		return VB_OK;
	}
	if (n->type == VB_EXT_SET_BASE) {
		nt->set_base = 1 + (int)n->value;
		return VB_OK;
	}
	nt->anchors++;
	if (!nt->json)
		return VB_OK;
	fputs(nt->printed++ ? "," : ",\"anchors\":[", stdout);
	fputs("{\"name\":", stdout);
	json_string(n->name, n->name_len);
	if (n->type == VB_EXT_ANCHOR)
		printf(",\"offset\":%llu}", (unsigned long long)n->value);
	else
		fputs(",\"removed\":true}", stdout);
	return VB_OK;
}

/* The OP column: the operations' kind (KIND*N for several), "anchor" for
 * a version that only sets or removes anchors, "none" for an empty one. */
static void op_label(const struct vb_commit *c, const struct notes *nt, char *buf, size_t n)
{
	if (c->nops > 1)
		snprintf(buf, n, "%s*%llu", vb_op_name(c->sum_kind), (unsigned long long)c->nops);
	else if (c->nops == 0)
		snprintf(buf, n, "%s", nt->anchors ? "anchor" : nt->set_base ? "set-base" : "none");
	else
		snprintf(buf, n, "%s", vb_op_name(c->sum_kind));
}

struct op_print {
	int json;
	int first;
};

static enum vb_err print_op(void *arg, const struct vb_op *op)
{
	struct op_print *p = arg;

	if (p->json) {
		printf("%s{\"op\":\"%s\",\"offset\":%llu,\"length\":%llu", p->first ? "" : ",",
		       vb_op_name(op->kind), (unsigned long long)op->off,
		       (unsigned long long)(op->kind == VB_OP_REPLACE ? op->len2 : op->len));
		if (op->kind == VB_OP_REPLACE)
			printf(",\"deleted\":%llu", (unsigned long long)op->len);
		if (op->kind == VB_OP_REVERT)
			printf(",\"target\":%llu", (unsigned long long)op->len2);
		putchar('}');
	} else if (op->kind == VB_OP_REVERT) {
		printf("        revert to version %llu\n", (unsigned long long)op->len2);
	} else if (op->kind == VB_OP_REPLACE) {
		printf("        replace %llu %llu with %llu bytes\n", (unsigned long long)op->off,
		       (unsigned long long)op->len, (unsigned long long)op->len2);
	} else {
		printf("        %s %llu %llu\n", vb_op_name(op->kind), (unsigned long long)op->off,
		       (unsigned long long)op->len);
	}
	p->first = 0;
	return VB_OK;
}

/*
 * The table's column widths: at least the titles' (7, 10, 10, 10 and 12),
 * grown to the widest value of the versions listed, so that columns stay
 * aligned for any offset, length or size (list() measures every row it
 * will print before it prints the first).
 */
struct widths {
	int version, op, offset, length, size;
};

static int digits(uint64_t v)
{
	int n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

static void grow(int *w, int n)
{
	if (n > *w)
		*w = n;
}

/* Grow `w` to fit the row of `c`. */
static enum vb_err measure(const struct vb_commit *c, struct widths *w)
{
	char opl[48];
	struct notes nt = {0, VB_HEAD, 0, 0, 0};
	enum vb_err rc = vb_commit_notes(c, note_ext, &nt);

	if (rc)
		return rc;
	op_label(c, &nt, opl, sizeof opl);
	grow(&w->version, digits(c->version));
	grow(&w->op, (int)strlen(opl));
	if (c->sum_kind != VB_OP_REVERT) {
		grow(&w->offset, digits(c->sum_off));
		grow(&w->length, digits(c->sum_len));
	}
	grow(&w->size, digits(c->length));
	return VB_OK;
}

static enum vb_err print_version(struct vb_vbuf *b, const struct vb_commit *c,
				 const struct widths *w)
{
	char opl[48], when[64];
	time_t t = (time_t)(c->time_ns / 1000000000);
	long ns = (long)(c->time_ns % 1000000000);
	struct tm tm;
	int revert = c->sum_kind == VB_OP_REVERT;

	struct notes nt = {0, VB_HEAD, 0, 0, 0};
	enum vb_err erc = vb_commit_notes(c, note_ext, &nt);
	if (erc)
		return erc;
	op_label(c, &nt, opl, sizeof opl);
	if (opt_json) {
		gmtime_r(&t, &tm);
		strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
		printf("{\"version\":%llu,\"time\":\"%s.%09ldZ\",\"op\":\"%s\",\"offset\":%llu,"
		       "\"length\":%llu,\"size\":%llu,\"pieces\":%llu,\"ops\":%llu",
		       (unsigned long long)c->version, when, ns,
		       c->nops ? vb_op_name(c->sum_kind) : nt.anchors ? "anchor"
		       : nt.set_base ? "set-base" : "none",
		       (unsigned long long)c->sum_off, (unsigned long long)c->sum_len,
		       (unsigned long long)c->length, (unsigned long long)c->pieces,
		       (unsigned long long)c->nops);
		if (revert)
			printf(",\"target\":%llu", (unsigned long long)c->sum_target);
		if (nt.at_version != VB_HEAD)
			printf(",\"at_version\":%llu", (unsigned long long)nt.at_version);
		if (c->flags & VB_COMMIT_CUT)
			fputs(",\"cut\":true", stdout);
		if (nt.set_base) {
			unsigned k = (unsigned)nt.set_base - 1;
			printf(",\"base_checked\":{\"size\":%s,\"samples\":%s,\"crc\":%s}",
			       k & VB_SET_BASE_SIZE ? "true" : "false",
			       k & VB_SET_BASE_SAMPLES ? "true" : "false",
			       k & VB_SET_BASE_CRC ? "true" : "false");
		}
		if (nt.anchors) {
			struct notes nj = {1, VB_HEAD, 0, 0, 0};
			vb_commit_notes(c, note_ext, &nj);
			putchar(']');
		}
		fputs(",\"message\":", stdout);
		json_string(c->message, c->msg_len);
		if (opt_ops) {
			struct op_print p = {1, 1};
			enum vb_err rc;
			fputs(",\"operations\":[", stdout);
			if ((rc = vb_vbuf_ops(b, c->version, print_op, &p)))
				return rc;
			putchar(']');
		}
		fputs("}\n", stdout);
		return VB_OK;
	}
	localtime_r(&t, &tm);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
	if (revert) {
		printf("%*llu  %s  %-*s %*s %*s %*llu  [to version %llu]", w->version,
		       (unsigned long long)c->version, when, w->op, opl, w->offset, "-", w->length,
		       "-", w->size, (unsigned long long)c->length,
		       (unsigned long long)c->sum_target);
		if (c->msg_len)
			putchar(' ');
	} else {
		printf("%*llu  %s  %-*s %*llu %*llu %*llu", w->version,
		       (unsigned long long)c->version, when, w->op, opl, w->offset,
		       (unsigned long long)c->sum_off, w->length, (unsigned long long)c->sum_len,
		       w->size, (unsigned long long)c->length);
		if (c->msg_len)
			fputs("  ", stdout);
	}
	text_string(c->message, c->msg_len);
	putchar('\n');
	if (opt_ops && c->nops > 1) {
		struct op_print p = {0, 1};
		enum vb_err rc = vb_vbuf_ops(b, c->version, print_op, &p);
		if (rc)
			return rc;
	}
	if (c->flags & VB_COMMIT_CUT)
		printf("%*s  (versions 0 to %llu were compacted away)\n", w->version, "-",
		       (unsigned long long)c->version - 1);
	return VB_OK;
}

/* Walk the `max` newest versions of `b`, newest first, from `head`:
 * measure them into `w` when `print` is 0, else print them. */
static enum vb_err walk(struct vb_vbuf *b, const struct vb_commit *head, uint64_t max,
			int print, struct widths *w)
{
	struct vb_commit c = *head, parent;
	uint64_t shown = 0;
	enum vb_err rc;

	for (;;) {
		if ((rc = print ? print_version(b, &c, w) : measure(&c, w)))
			return rc;
		if (++shown >= max || !c.version || (c.flags & VB_COMMIT_CUT))
			return VB_OK;
		if ((rc = vb_vbuf_parent(b, &c, &parent)))
			return rc;
		c = parent;
	}
}

static int list(const char *store, uint64_t max)
{
	struct vb_vbuf_opts o;
	struct vb_vbuf *b;
	struct vb_commit c;
	struct widths w = {7, 10, 10, 10, 12};
	enum vb_err rc;
	int status;

	cli_store_opts(&o, 0);
	o.lenient_base = 1; /* the history does not need the base */
	if ((status = cli_open(store, &o, VB_HEAD, &b)))
		return status;
	if ((rc = vb_vbuf_info(b, vb_vbuf_head(b), &c))) {
		cli_vclose(b);
		return cli_fail(store, rc);
	}
	if (!opt_json && !(rc = walk(b, &c, max, 0, &w)) && !opt_no_header)
		printf("%*s  %-19s  %-*s %*s %*s %*s  %s\n", w.version, "VERSION", "TIME", w.op,
		       "OP", w.offset, "OFFSET", w.length, "LENGTH", w.size, "SIZE", "MESSAGE");
	if (!rc)
		rc = walk(b, &c, max, 1, &w);
	cli_vclose(b);
	if (rc)
		return cli_fail(store, rc);
	return EXIT_OK;
}

static int revert(const char *store, const struct cli_version *target, const char *message)
{
	struct vb_vbuf_opts o;
	struct vb_vbuf *b;
	enum vb_err rc;
	uint64_t v;
	int status;

	cli_store_opts(&o, 1);
	if ((status = cli_open(store, &o, VB_HEAD, &b)))
		return status;
	if (!(rc = cli_version_number(target, vb_vbuf_head(b), &v)))
		rc = vb_vbuf_revert(b, v);
	return cli_commit(b, rc, store, message);
}

/* ------------------------------------------------------------- anchors */

static enum vb_err print_anchor(void *arg, const char *name, uint64_t offset, uint64_t set_in)
{
	(void)arg;
	if (opt_json) {
		fputs("{\"name\":", stdout);
		json_string(name, strlen(name));
		printf(",\"offset\":%llu,\"set_in\":%llu}\n", (unsigned long long)offset,
		       (unsigned long long)set_in);
	} else {
		printf("%s\t%llu\t%llu\n", name, (unsigned long long)offset, (unsigned long long)set_in);
	}
	return VB_OK;
}

static int list_anchors(const char *store, const char *version)
{
	struct vb_vbuf_opts o;
	struct vb_vbuf *b;
	enum vb_err rc;
	uint64_t v;
	int status;

	cli_store_opts(&o, 0);
	o.lenient_base = 1;
	if ((status = cli_open(store, &o, VB_HEAD, &b)))
		return status;
	if (!(rc = cli_at_version(b, version, &v)))
		rc = vb_vbuf_anchors(b, v, print_anchor, NULL);
	cli_vclose(b);
	return rc ? cli_fail(store, rc) : EXIT_OK;
}

/* A version that sets or removes an anchor (offset NULL: remove). */
/* --set-base: the store re-bound to FILE, a copy of its base.  The base
 * as recorded may be missing or "changed" (that is why this is run): the
 * store opens leniently and its warnings about the base are not shown. */
static int set_base(const char *store, const char *file, const char *message)
{
	struct vb_vbuf_opts o;
	struct vb_vbuf *b;
	struct vb_vbuf_state vs;
	struct cli_progress *pr;
	enum vb_err rc;
	unsigned checked = 0;
	uint64_t version;

	cli_store_opts(&o, 1);
	o.lenient_base = 1;
	if ((rc = vb_vbuf_open(store, &o, VB_HEAD, &b)))
		return cli_fail(store, rc);
	cli_guard(b);
	if ((rc = cli_check_if_version(b))) {
		cli_vclose(b);
		return cli_fail(store, rc);
	}
	vb_vbuf_state(b, &vs);
	pr = cli_progress_start("checked", vs.has_base ? vs.base_size : 0);
	rc = vb_vbuf_set_base(b, file, cli_progress_cb, pr, &checked);
	cli_progress_done(pr, vs.base_size, !rc && (checked & VB_SET_BASE_CRC));
	if (!rc)
		rc = cli_vcommit(b, message ? message : "set base", &version);
	cli_vclose(b);
	if (rc)
		return cli_fail(store, rc);
	printf("version %llu: the base is now %s (checked: %s)\n", (unsigned long long)version,
	       cli_quoted(file),
	       checked & VB_SET_BASE_CRC ? "its size, the sampled blocks and the CRC-32 of its whole content"
	       : "its size and the sampled blocks; the store keeps no CRC-32 of the whole base, "
		 "vb-flatten --lines records one");
	return EXIT_OK;
}

static int change_anchor(const char *store, const char *name, const char *offset,
			 const char *message)
{
	struct vb_vbuf_opts o;
	struct vb_vbuf *b;
	enum vb_err rc = VB_OK;
	int status;
	struct vb_pos pos;

	if (offset)
		pos = cli_pos(offset);
	cli_store_opts(&o, 1);
	if ((status = cli_open(store, &o, VB_HEAD, &b)))
		return status;
	uint64_t head = vb_vbuf_version(b), at;
	if (!offset) {
		/* removing an anchor that is not there is a mistake worth
		 * hearing about */
		if (!(rc = vb_vbuf_anchor(b, name, head, &at)))
			rc = vb_vbuf_remove_anchor(b, name);
		return cli_commit(b, rc, store, message);
	}
	uint64_t ver, len;
	if (!(rc = cli_at_version(b, opt_at_version, &ver)) &&
	    !(rc = cli_version_len(b, ver, &len)) && !(rc = cli_resolve(b, ver, &pos, len, &at)) &&
	    ver != head && !(rc = cli_map(b, ver, head, &at, 1, 0)))
		rc = vb_vbuf_note_at_version(b, ver);
	if (!rc)
		rc = vb_vbuf_set_anchor(b, name, at);
	return cli_commit(b, rc, store, message);
}

/* ---------------------------------------------------------------- diff */

struct diff_out {
	int header;      /* the column titles are still due */
	int write_errno; /* set when writing stdout failed */
};

static enum vb_err print_hunk(void *arg, uint64_t a_off, uint64_t a_len, uint64_t b_off,
			      uint64_t b_len)
{
	struct diff_out *d = arg;
	int n;

	if (d->header) {
		d->header = 0;
		if (printf("A_OFFSET A_LENGTH B_OFFSET B_LENGTH\n") < 0)
			goto failed;
	}
	if (opt_json)
		n = printf("{\"a_offset\":%llu,\"a_length\":%llu,\"b_offset\":%llu,"
			   "\"b_length\":%llu}\n",
			   (unsigned long long)a_off, (unsigned long long)a_len,
			   (unsigned long long)b_off, (unsigned long long)b_len);
	else
		n = printf("%llu %llu %llu %llu\n", (unsigned long long)a_off,
			   (unsigned long long)a_len, (unsigned long long)b_off,
			   (unsigned long long)b_len);
	if (n >= 0)
		return VB_OK;
failed:
	/* stop the walk; diff() reports it */
	d->write_errno = errno ? errno : EIO;
	return vb_err_set(VB_EPIPE, "standard output is closed");
}

/* --------------------------------------------------------- diff --edits */

struct hunks {
	uint64_t (*v)[3]; /* a_off, a_len, b_off (b_len in len) */
	uint64_t *len;
	size_t n, cap;
};

/* Collect a hunk (no read runs inside the tree walk; vb_vbuf_diff), at
 * most VB_EDITS_COUNT_MAX of them: the most vb-insert --edits takes. */
static enum vb_err collect_hunk(void *arg, uint64_t a_off, uint64_t a_len, uint64_t b_off,
				uint64_t b_len)
{
	struct hunks *h = arg;

	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 256;
		void *v, *l;
		if (h->n >= VB_EDITS_COUNT_MAX)
			return vb_err_set(VB_ELIMIT, "more than %zu differences (the most "
					  "vb-insert --edits takes)", (size_t)VB_EDITS_COUNT_MAX);
		if (cap > VB_EDITS_COUNT_MAX)
			cap = VB_EDITS_COUNT_MAX;
		if (!(v = realloc(h->v, cap * sizeof *h->v)))
			return vb_err_set(VB_ENOMEM, "out of memory");
		h->v = v;
		if (!(l = realloc(h->len, cap * sizeof *h->len)))
			return vb_err_set(VB_ENOMEM, "out of memory");
		h->len = l;
		h->cap = cap;
	}
	h->v[h->n][0] = a_off;
	h->v[h->n][1] = a_len;
	h->v[h->n][2] = b_off;
	h->len[h->n++] = b_len;
	return VB_OK;
}

#define EDITS_CHUNK ((size_t)64 << 10)

/* Print the hunks as edits lines, reading B's bytes in chunks.  A failed
 * write of stdout is VB_EPIPE with *write_errno set. */
static enum vb_err print_edits(struct vb_vbuf *b, uint64_t vb, const struct hunks *h,
			       int *write_errno)
{
	unsigned char *buf = malloc(EDITS_CHUNK);
	char *text = malloc(4 * EDITS_CHUNK);
	enum vb_err rc = VB_OK;

	if (!buf || !text) {
		rc = vb_err_set(VB_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < h->n && !rc; i++) {
		uint64_t off = h->v[i][2], left = h->len[i];
		int bad = printf("%llu %llu", (unsigned long long)h->v[i][0],
				 (unsigned long long)h->v[i][1]) < 0;
		if (left)
			bad |= putchar(' ') == EOF || putchar('"') == EOF;
		while (left && !bad) {
			size_t n = left < EDITS_CHUNK ? (size_t)left : EDITS_CHUNK;
			if ((rc = vb_vbuf_read_at(b, vb, off, buf, n)))
				goto out;
			size_t k = vb_edits_escape(buf, n, text);
			bad |= fwrite(text, 1, k, stdout) != k;
			off += n;
			left -= n;
		}
		if (h->len[i])
			bad |= putchar('"') == EOF;
		bad |= putchar('\n') == EOF;
		if (bad) {
			*write_errno = errno ? errno : EIO;
			rc = vb_err_set(VB_EPIPE, "standard output is closed");
		}
	}
out:
	free(buf);
	free(text);
	return rc;
}

/* Versions `a` and `bv` of `store`. */
static int diff(const char *store, const struct cli_version *a, const struct cli_version *bv)
{
	struct vb_vbuf_opts o;
	struct vb_vbuf *b;
	struct diff_out d = {!opt_json && !opt_no_header, 0};
	enum vb_err rc;
	uint64_t va, vb;
	int status;

	struct hunks h = {NULL, NULL, 0, 0};

	cli_store_opts(&o, 0);
	/* only the trees are read, not the content (but for --edits) */
	o.lenient_base = !opt_edits;
	if ((status = cli_open(store, &o, VB_HEAD, &b)))
		return status;
	if (!(rc = cli_version_number(a, vb_vbuf_head(b), &va)) &&
	    !(rc = cli_version_number(bv, vb_vbuf_head(b), &vb))) {
		if (!opt_edits)
			rc = vb_vbuf_diff(b, va, vb, print_hunk, &d);
		else if (!(rc = vb_vbuf_diff(b, va, vb, collect_hunk, &h)))
			rc = print_edits(b, vb, &h, &d.write_errno);
	}
	free(h.v);
	free(h.len);
	cli_vclose(b);
	if (rc == VB_EPIPE && d.write_errno) {
		/* dealt with here: what is left in the buffer cannot be
		 * written either, and is not reported twice at exit */
		__fpurge(stdout);
		clearerr(stdout);
		if (d.write_errno == EPIPE)
			return EXIT_OK;
		fprintf(stderr, "%s: write error: %s\n", cli_opts()->prog, strerror(d.write_errno));
		return EXIT_FAIL;
	}
	return rc ? cli_fail(store, rc) : EXIT_OK;
}

/* ------------------------------------------------------------- unified */

/* The "---" or "+++" line naming version v of `store` as diff names a
 * file: STORE@V, a tab, the version's time (local, in nanoseconds, with
 * the zone).  Returns a string to free, or NULL with the error in *rc. */
static char *label(struct vb_vbuf *b, const char *store, uint64_t v, const char *mark,
		   enum vb_err *rc)
{
	struct vb_commit *c = malloc(sizeof *c);
	char when[64], zone[16];
	struct tm tm;
	char *out = NULL;

	if (!c) {
		*rc = vb_err_set(VB_ENOMEM, "out of memory");
		return NULL;
	}
	if (!(*rc = vb_vbuf_info(b, v, c))) {
		time_t t = (time_t)(c->time_ns / 1000000000);
		long ns = (long)(c->time_ns % 1000000000);
		size_t n = strlen(store) + 128;
		localtime_r(&t, &tm);
		strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
		strftime(zone, sizeof zone, "%z", &tm);
		if ((out = malloc(n)))
			snprintf(out, n, "%s %s@%llu\t%s.%09ld %s\n", mark, store, (unsigned long long)v,
				 when, ns, zone);
		else
			*rc = vb_err_set(VB_ENOMEM, "out of memory");
	}
	free(c);
	return out;
}

/* --diff --unified: versions `a` and `bv` of `store` as a patch
 * (lib/udiff.h), or the line saying why not. */
static int unified_diff(const char *store, const struct cli_version *a,
			const struct cli_version *bv, const struct vb_udiff_opts *uo)
{
	struct vb_vbuf_opts o;
	struct vb_vbuf *b;
	struct vb_sink sink;
	struct vb_udiff_stats st;
	struct vb_udiff_opts opts = *uo;
	char *from = NULL, *to = NULL, *header = NULL;
	enum vb_err rc = VB_OK;
	int status;

	cli_store_opts(&o, 0);
	o.defer_base = 1; /* only versions that read the base need it */
	if ((status = cli_open(store, &o, VB_HEAD, &b)))
		return status;
	uint64_t head = vb_vbuf_head(b), va = 0, vb = 0;
	if (!(rc = cli_version_number(a, head, &va)) && !(rc = cli_version_number(bv, head, &vb)) &&
	    (va > head || vb > head))
		rc = vb_err_set(VB_ENOENT, "version %llu does not exist (the newest is %llu)",
				(unsigned long long)(va > head ? va : vb), (unsigned long long)head);
	if (!rc && (from = label(b, store, va, "---", &rc)) && (to = label(b, store, vb, "+++", &rc))) {
		size_t n = strlen(from) + strlen(to) + 1;
		if ((header = malloc(n)))
			snprintf(header, n, "%s%s", from, to);
		else
			rc = vb_err_set(VB_ENOMEM, "out of memory");
	}
	free(from);
	free(to);
	opts.header = header;
	vb_sink_init(&sink, STDOUT_FILENO);
	if (!rc)
		rc = vb_udiff(b, va, vb, &opts, &sink, &st);
	cli_vclose(b);
	free(header);
	if (rc) {
		status = cli_fail_output(store, rc, &sink);
	} else if (st.outcome == VB_UDIFF_BINARY) {
		printf("Binary files %s@%llu and %s@%llu differ\n", cli_name(store),
		       (unsigned long long)va, cli_name(store), (unsigned long long)vb);
	} else if (st.outcome == VB_UDIFF_LARGE) {
		printf("Files %s@%llu and %s@%llu differ (too large to show: more than %llu bytes; "
		       "see --max-diff-bytes)\n", cli_name(store), (unsigned long long)va, cli_name(store),
		       (unsigned long long)vb, (unsigned long long)opts.max_bytes);
	}
	vb_sink_done(&sink);
	return status;
}

/*
 * --unified[=N]: popt gives an optional value the next word when that
 * does not start with '-', which would make "--unified STORE" take STORE
 * as N.  Only a value in the option's own word (--unified=N, -uN) is N:
 * on_option sees which word popt read last (poptBadOption) and a value
 * taken from the next word is handed back as an operand, in its place
 * among the others (the operands popt had collected before it).
 */
struct unified_word {
	const char *value;   /* NULL: none */
	int attached;        /* in the option's word */
	int before;          /* operands before it */
};

static poptContext history_ctx;
static struct unified_word *unified_words; /* room for argc */
static int n_unified;

static void on_option(int val, const char *arg)
{
	const char *word = poptBadOption(history_ctx, 0);
	const char **ops = poptGetArgs(history_ctx);
	int before = 0;

	if (val != OPT_UNIFIED)
		return;
	while (ops && ops[before])
		before++;
	unified_words[n_unified++] = (struct unified_word){arg, word && word[0] == '-', before};
}

static const char **all_operands;

static void free_operands(void)
{
	free(all_operands);
}

/* The operands with the values --unified took from the next word put back. */
static const char **operands(int *nargs)
{
	const char **all;
	int n, k = 0, j = 0;
	const char **ops = cli_operands(history_ctx, &n);

	if (!(all = all_operands = calloc((size_t)n + (size_t)n_unified + 1, sizeof *all))) {
		fprintf(stderr, "%s: out of memory\n", cli_opts()->prog);
		exit(EXIT_FAIL);
	}
	for (int i = 0; i < n_unified; i++) {
		const struct unified_word *w = &unified_words[i];
		if (!w->value || w->attached)
			continue;
		while (j < w->before && j < n)
			all[k++] = ops[j++];
		all[k++] = w->value;
	}
	while (j < n)
		all[k++] = ops[j++];
	atexit(free_operands);
	*nargs = k;
	return all;
}

/* -------------------------------------------------------------- export */

/* An export's output, and its progress line (the bytes written). */
struct export_out {
	struct vb_sink sink;
	struct cli_progress *pr;
};

static enum vb_err write_sink(void *arg, const void *buf, size_t n)
{
	struct export_out *x = arg;
	enum vb_err rc = vb_sink_write(&x->sink, buf, n);

	cli_progress_update(x->pr, x->sink.written);
	return rc;
}

static int export_edits(const char *store, const struct cli_version *since)
{
	struct vb_vbuf_opts o;
	struct vb_vbuf *b;
	struct export_out x;
	enum vb_err rc;
	uint64_t v;
	int status;

	/* like gzip: compressed bytes are no use on a screen */
	if (isatty(STDOUT_FILENO)) {
		cli_error(NULL, "refusing to write an export to a terminal (redirect standard "
			  "output to a file or a pipe)");
		return EXIT_FAIL;
	}
	cli_store_opts(&o, 0);
	if ((status = cli_open(store, &o, VB_HEAD, &b)))
		return status;
	vb_sink_init(&x.sink, STDOUT_FILENO);
	x.pr = cli_progress_start("exported", 0);
	struct vb_export_opts eo = {write_sink, &x, 0};
	if (!(rc = cli_version_number(since, vb_vbuf_head(b), &v)))
		rc = vb_export_stream(b, v, &eo, NULL);
	cli_vclose(b);
	cli_progress_done(x.pr, x.sink.written, !rc);
	status = rc ? cli_fail_output(store, rc, &x.sink) : EXIT_OK;
	vb_sink_done(&x.sink);
	return status;
}

/* An export being applied, and its progress line (the bytes read). */
struct apply_in {
	int fd;
	uint64_t done;
	struct cli_progress *pr;
};

static enum vb_err read_fd(void *arg, void *buf, size_t n, size_t *got)
{
	struct apply_in *in = arg;
	ssize_t r;

	do
		r = read(in->fd, buf, n);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return vb_err_sys("read error");
	*got = (size_t)r;
	in->done += (uint64_t)r;
	cli_progress_update(in->pr, in->done);
	return VB_OK;
}

static int apply_edits(const char *file, const char *store)
{
	struct vb_vbuf_opts o;
	struct vb_vbuf *b;
	struct vb_apply_stats st;
	struct stat sb;
	off_t start = -1;
	enum vb_err rc = VB_OK;
	int status, fd = strcmp(file, "-") ? open(file, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;

	if (fd < 0) {
		cli_error(file, "%s", strerror(errno));
		return EXIT_FAIL;
	}
	/* a regular file can be read twice: checked whole first, so that a
	 * bad one changes nothing */
	if (!fstat(fd, &sb) && S_ISREG(sb.st_mode))
		start = lseek(fd, 0, SEEK_CUR);
	cli_store_opts(&o, 1);
	if ((status = cli_open(store, &o, VB_HEAD, &b))) {
		if (fd != STDIN_FILENO)
			close(fd);
		return status;
	}
	/* a regular file's bytes are the total; checked, then applied */
	uint64_t total = start >= 0 && sb.st_size > start ? (uint64_t)(sb.st_size - start) : 0;
	struct apply_in in = {fd, 0, NULL};
	struct vb_apply_opts ao = {read_fd, &in, start >= 0, 1, store};
	if (start >= 0) {
		in.pr = cli_progress_start("checked", total);
		rc = vb_apply_stream(b, &ao, &st);
		cli_progress_done(in.pr, in.done, !rc);
		if (!rc && lseek(fd, start, SEEK_SET) < 0) {
			rc = vb_err_sys("seek");
			st.input_error = 1;
		}
		if (!rc)
			ao.check_only = 0;
	}
	if (!rc) {
		in.done = 0;
		in.pr = cli_progress_start("applied", total);
		rc = vb_apply_stream(b, &ao, &st);
		cli_progress_done(in.pr, in.done, !rc);
	}
	if (fd != STDIN_FILENO)
		close(fd);
	if (rc) {
		cli_error(st.input_error ? file : store, "%s",
			  vb_err_detail()[0] ? vb_err_detail() : vb_strerror(rc));
		if (ao.check_only)
			st.applied = 0; /* the check changed nothing */
		if (st.applied == 1)
			cli_error(store, "version %llu was applied before the error; applying the "
				  "export again continues after it", (unsigned long long)st.first);
		else if (st.applied)
			cli_error(store, "versions %llu to %llu were applied before the error; "
				  "applying the export again continues after them",
				  (unsigned long long)st.first,
				  (unsigned long long)(st.first + st.applied - 1));
		cli_vclose(b);
		return st.input_error ? EXIT_FAIL : cli_status(rc);
	}
	if (st.pending)
		return cli_commit(b, VB_OK, store, st.message);
	cli_vclose(b);
	return EXIT_OK;
}

static const char *verify_name;

static void on_problem(void *arg, uint64_t off, const char *what)
{
	int *first = arg;
	(void)off;
	if (*first)
		*first = 0;
	cli_error(verify_name, "%s", what);
}

static void on_note(void *arg, const char *what)
{
	(void)arg;
	cli_error(verify_name, "note: %s", what);
}

/* The bytes verify has read so far (its final progress line). */
static uint64_t verify_done;

static void verify_progress(void *arg, uint64_t done, uint64_t total)
{
	verify_done = done;
	cli_progress_cb(arg, done, total);
}

static int verify(const char *store)
{
	struct vb_vbuf_opts o;
	struct vb_vbuf *b;
	struct vb_verify_stats st;
	enum vb_err rc;
	int first = 1;

	cli_store_opts(&o, 0);
	o.lenient_base = 1; /* reported as a problem by verify itself */
	if ((rc = vb_vbuf_open(store, &o, VB_HEAD, &b)))
		return cli_fail(store, rc);
	int st_out = cli_check_output(store, b);
	if (st_out) {
		cli_vclose(b);
		return st_out;
	}
	verify_name = store;
	struct cli_progress *pr = cli_progress_start("verified", 0);
	vb_vbuf_progress(b, verify_progress, pr);
	rc = vb_vbuf_verify(b, on_problem, on_note, &first, &st);
	vb_vbuf_progress(b, NULL, NULL);
	cli_progress_done(pr, verify_done, rc == VB_OK);
	cli_vclose(b);
	if (rc == VB_ECORRUPT && !first) {
		cli_error(store, "verification failed: %s", vb_err_detail());
		return EXIT_FAIL;
	}
	if (rc)
		return cli_fail(store, rc);
	printf("%s: OK: %llu versions, %llu records, %llu tree nodes, %llu bytes\n", cli_name(store),
	       (unsigned long long)st.versions, (unsigned long long)st.records,
	       (unsigned long long)st.nodes, (unsigned long long)st.bytes);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	const char **args;
	int nargs;
	uint64_t max = UINT64_MAX;

	cli_init(argv[0]);
	if (!(unified_words = calloc((size_t)argc, sizeof *unified_words))) {
		fprintf(stderr, "%s: out of memory\n", cli_opts()->prog);
		return EXIT_FAIL;
	}
	history_ctx = cli_context(argc, argv, options,
				  "[OPTION...] STORE\n   or: vb-history [OPTION...] --set-anchor NAME STORE OFFSET"
				  "\n   or: vb-history [OPTION...] --set-base FILE STORE"
				  "\n   or: vb-history [OPTION...] --diff A STORE [B]"
				  "\n   or: vb-history [OPTION...] --export SINCE STORE > FILE"
				  "\n   or: vb-history [OPTION...] --apply FILE STORE");
	cli_parse(history_ctx, on_option);
	args = operands(&nargs);
	const char *set_anchor = cli_arg(opt_set_anchor), *remove_anchor = cli_arg(opt_remove_anchor);
	const char *diff_a = cli_arg(opt_diff), *export = cli_arg(opt_export);
	const char *apply = cli_arg(opt_apply), *set_base_file = cli_arg(opt_set_base);
	/* edits: the versions --message describes; writes: with --apply */
	int edits = opt_revert || set_anchor || remove_anchor || set_base_file,
	    writes = edits || apply;
	int others = writes || opt_verify || opt_anchors || export;
	if (nargs < 1)
		cli_usage("missing STORE");
	if (set_anchor && nargs < 2)
		cli_usage("--set-anchor needs an OFFSET after STORE");
	if (nargs > (set_anchor || diff_a ? 2 : 1))
		cli_usage("extra operand %s", cli_quoted(args[set_anchor || diff_a ? 2 : 1]));
	const char *store = args[0], *message = cli_arg(opt_message);
	if ((opt_revert != NULL) + opt_verify + opt_anchors + (diff_a != NULL) +
	    (set_anchor != NULL) + (remove_anchor != NULL) + (export != NULL) +
	    (apply != NULL) + (set_base_file != NULL) > 1)
		cli_usage("choose one of --revert, --verify, --anchors, --diff, --set-anchor, "
			  "--remove-anchor, --set-base, --export and --apply");
	if ((others || diff_a) && (opt_ops || opt_count))
		cli_usage("--ops and --max-count only apply to the list of versions");
	if (others && opt_no_header)
		cli_usage("--no-header only applies to the list of versions and --diff");
	if ((writes || opt_verify || export) && opt_json)
		cli_usage("--json only applies to the list of versions, --anchors and --diff");
	if (message && !edits)
		cli_usage("--message only applies to --revert, --set-anchor, --remove-anchor and "
			  "--set-base");
	if (!writes && (cli_opts()->no_sync || cli_opts()->wait || cli_opts()->if_version ||
			cli_opts()->no_auto_flatten))
		cli_usage("--%s only applies to --revert, --set-anchor, --remove-anchor, --set-base "
			  "and --apply",
			  cli_opts()->no_sync ? "no-sync" : cli_opts()->wait ? "wait"
			  : cli_opts()->if_version ? "if-version" : "no-auto-flatten");
	if (opt_at_version && !opt_anchors && !set_anchor)
		cli_usage("--at-version only applies to --anchors and --set-anchor");
	if (n_unified && !diff_a)
		cli_usage("--unified only applies to --diff");
	if (opt_edits && !diff_a)
		cli_usage("--edits only applies to --diff");
	if (opt_edits && (n_unified || opt_json))
		cli_usage("--edits does not apply to --%s", opt_json ? "json" : "unified");
	if (opt_max_diff_bytes && !n_unified)
		cli_usage("--max-diff-bytes only applies to --unified");
	if (n_unified && (opt_json || opt_no_header))
		cli_usage("--%s does not apply to --unified", opt_json ? "json" : "no-header");
	struct vb_udiff_opts uo = {VB_UDIFF_CONTEXT, VB_UDIFF_MAX_BYTES, NULL};
	if (n_unified && unified_words[n_unified - 1].attached && unified_words[n_unified - 1].value)
		uo.context = cli_size(unified_words[n_unified - 1].value, "number of context lines");
	if (opt_max_diff_bytes) {
		const char *m = cli_arg(opt_max_diff_bytes);
		uo.max_bytes = cli_size(m, "--max-diff-bytes");
		if (!uo.max_bytes)
			cli_usage("--max-diff-bytes must be at least 1");
		if (uo.max_bytes > VB_UDIFF_MAX_BYTES_MAX)
			cli_usage("--max-diff-bytes '%s' is too large (at most %lluG)", m,
				  (unsigned long long)(VB_UDIFF_MAX_BYTES_MAX >> 30));
	}
	if (set_anchor && !vb_anchor_name_ok(set_anchor))
		cli_usage("invalid anchor name '%s' (1 to 63 of A-Z a-z 0-9 _ .)", set_anchor);
	if (remove_anchor && !vb_anchor_name_ok(remove_anchor))
		cli_usage("invalid anchor name '%s' (1 to 63 of A-Z a-z 0-9 _ .)", remove_anchor);
	if (opt_at_version)
		cli_version(opt_at_version);
	if (export)
		cli_version(export);
	if (message && strlen(message) > VB_MESSAGE_MAX)
		cli_usage("--message is longer than %u bytes", VB_MESSAGE_MAX);
	if (opt_count) {
		max = cli_size(cli_arg(opt_count), "count");
		if (!max)
			cli_usage("--max-count must be at least 1");
	}
	if (!strcmp(store, "-"))
		cli_usage("STORE must be a file ('-' is not a store)");
	struct cli_version va = CLI_NEWEST, vb = CLI_NEWEST;
	if (diff_a)
		va = cli_version(diff_a);
	if (diff_a && nargs > 1)
		vb = cli_version(args[1]);
	if (opt_revert) {
		va = cli_version(opt_revert);
		return cli_close_stdout(revert(store, &va, message));
	}
	if (set_base_file)
		return cli_close_stdout(set_base(store, set_base_file, message));
	if (set_anchor || remove_anchor)
		return cli_close_stdout(change_anchor(store, set_anchor ? set_anchor : remove_anchor,
						      set_anchor ? args[1] : NULL, message));
	if (opt_anchors)
		return cli_close_stdout(list_anchors(store, opt_at_version));
	if (opt_verify)
		return cli_close_stdout(verify(store));
	if (export) {
		va = cli_version(export);
		return cli_close_stdout(export_edits(store, &va));
	}
	if (apply)
		return cli_close_stdout(apply_edits(apply, store));
	if (diff_a && n_unified)
		return cli_close_stdout(unified_diff(store, &va, &vb, &uo));
	if (diff_a)
		return cli_close_stdout(diff(store, &va, &vb));
	return cli_close_stdout(list(store, max));
}
