/*
 * cli: what every vb command shares: one popt option table and init, the
 * workaround for popt's "!#:+" expansion, messages in the form
 * "PROG: FILE: cause", the mapping of library errors to exit statuses
 * (README.md, "Exit status"), closing stdout with a check, and the --unit scaling of
 * offsets and lengths.
 *
 * Design.  cli is the layer between popt and the library: it owns the
 * shared options (one struct cli_opts inside cli.c, read through
 * cli_opts()), turns their text into library values (struct vb_vbuf_opts,
 * positions in bytes) and turns library failures (enum vb_err with its
 * detail) into messages and exit statuses.  Grammar and algorithms live in
 * the library (lib/num: offsets and --ranges lines; lib/ranges: merging a
 * batch of deletions; lib/sedit: stream editing), never here.
 *
 * Contracts.
 *   - A command calls cli_start (or cli_init, cli_context, cli_parse and
 *     cli_operands) once, before anything else; afterwards cli_opts() holds
 *     every shared option, checked: a malformed --cache or --unit has
 *     already been a usage error (exit 2).
 *   - Only this layer prints and exits.  Malformed command-line text is a
 *     usage error (exit 2) where it is parsed: cli_usage, cli_pos,
 *     cli_length, cli_size, cli_version, and cli_store_opts and
 *     cli_check_if_version for --wait, --if-version and $VB_AUTO_FLATTEN.
 *     The functions returning enum vb_err set the detail and print
 *     nothing; cli_error, cli_fail(_output), cli_open, cli_warnings,
 *     cli_commit and cli_close_stdout print.
 *   - Single-threaded: the shared state is set while parsing and only read
 *     afterwards.
 */
#ifndef VB_CLI_H
#define VB_CLI_H

#include <popt.h>
#include <stdint.h>

#include "array.h"
#include "err.h"
#include "io.h"
#include "num.h"
#include "sedit.h"
#include "vbuf.h"

struct vb_vbuf;

enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,      /* I/O, corrupt or changed data, bad input */
	EXIT_USAGE = 2,     /* the command line is wrong */
	EXIT_CONFLICT = 3,  /* --if-version did not match */
	EXIT_LOCKED = 4,    /* timed out waiting for the write lock */
};

/*
 * The options every command shares, and the program's name.  One instance
 * lives in cli.c: cli_init sets `prog`; popt fills the rest through the
 * tables below and CLI_UNIT_OPTION entries while cli_parse runs, which
 * then checks --cache and --unit.  Commands read it, never write it.
 * The strings are as popt returned them (still protected: pass one
 * through cli_arg before showing or parsing it), NULL when not given.
 */
struct cli_opts {
	const char *prog;      /* the command's name, which messages start with */
	char *cache;           /* --cache SIZE (else $VB_CACHE; checked by cli_parse) */
	int no_sync;           /* --no-sync */
	char *wait;            /* --wait SECONDS (checked by cli_store_opts) */
	char *if_version;      /* --if-version V (checked by cli_store_opts) */
	int no_auto_flatten;   /* --no-auto-flatten */
	char *unit_arg;        /* --unit N as given */
	uint64_t unit;         /* the unit in bytes: 1 unless --unit (below) */
	char *shape_arg;       /* --shape S as given (cli_array_options) */
	int npy;               /* --npy */
};

/* The shared options (read-only; valid for the whole run). */
const struct cli_opts *cli_opts(void);

/* Options every command has: --help/-h (and popt's -?), --usage, --version,
 * --cache.  No command may give -h another meaning. */
extern struct poptOption cli_common_options[];
/* Options of every command that writes a store: --no-sync, --wait,
 * --if-version. */
extern struct poptOption cli_write_options[];
/* The same, and --no-auto-flatten, for the commands that edit (cli_commit
 * flattens a fragmented store by itself). */
extern struct poptOption cli_edit_options[];

/*
 * --unit N (vb-insert, vb-delete, vb-cat): every OFFSET and LENGTH counts
 * elements of N bytes instead of bytes, so that whole records of an array
 * of fixed-size records are addressed.  The scaling lives here, once:
 *
 *   - cli_pos/cli_length (and cli_parse_pos/cli_parse_length, and
 *     vb_parse_range_line for --ranges lines, given cli_opts()->unit)
 *     parse in elements and refuse a value whose byte count would pass
 *     2^64-1;
 *   - cli_resolve takes an element position and returns a byte offset;
 *     cli_span checks an element count at a byte offset and returns its
 *     byte count; cli_check_whole refuses content that is not a whole
 *     number of elements; messages say "element offset", "element range"
 *     and "N elements";
 *   - cli_stream runs a stream edit whose positions are in elements.
 *
 * With N = 1 (the default, and every command without the option) all of
 * these behave, and word their messages, exactly as plain byte offsets.
 * Content that is not a whole number of elements is an error for every
 * command given --unit (not only where `end` is used): such content is not
 * an array of N-byte records, and the unit is most likely wrong.
 */
/* The --unit entry of a command's option table, worded by the command
 * (`descrip`): cli_parse keeps its value in cli_opts()->unit_arg and
 * checks it (the size grammar, at least 1) into cli_opts()->unit. */
#define CLI_UNIT_VAL 0x756e6974 /* "unit": a val no command uses */
#define CLI_UNIT_OPTION(descrip) \
	{"unit", 0, POPT_ARG_STRING, NULL, CLI_UNIT_VAL, (descrip), "N"}

/*
 * --shape S and --npy (vb-cat, vb-insert, vb-delete): the content is an
 * n-dimensional array (lib/array.h): a C-order array of shape S whose
 * elements are --unit bytes, with no header, or a .npy file whose header
 * says all.  cli_parse refuses both together, --unit with --npy, and a
 * malformed S (exit 2).  cli_array reads the array of the content `b`
 * shows (its .npy header, at most VB_NPY_HEADER_MAX bytes) and checks
 * the content's length against it: VB_EFORMAT naming both sizes.  The
 * caller frees `a` with vb_array_done.
 */
extern struct poptOption cli_array_options[];
int cli_array_given(void);
enum vb_err cli_array(struct vb_vbuf *b, struct vb_array *a);
/* With --npy, replace the content's header (a->header bytes) by one for
 * `shape` (ndim axes, a's descr and order), one REPLACE operation; with
 * --shape nothing (the array has no header). */
enum vb_err cli_array_reshape(struct vb_vbuf *b, const struct vb_array *a, const uint64_t *shape,
			      unsigned ndim);
/* The most runs (operations) one edit of an array may make: each is held
 * in memory until the commit, about 200 bytes a deletion and 600 an
 * insertion (vb-insert --axis, vb-delete --axis and --keep-slice). */
#define CLI_ARRAY_RUNS_MAX ((uint64_t)16 << 20)
enum vb_err cli_array_runs(uint64_t runs);

/* A signed decimal integer operand or option value (an axis, an index);
 * anything else is a usage error naming `what`. */
int64_t cli_int(const char *what, const char *s);

/* Everything a command does before looking at its operands: cli_init,
 * cli_context, cli_parse (no per-option handler) and cli_operands. */
const char **cli_start(int argc, char **argv, const struct poptOption *table,
		       const char *synopsis, int *nargs);

/* Set the program name, ignore SIGPIPE (EPIPE is handled quietly) and
 * SIGXFSZ (a write past the file size limit fails with EFBIG). */
void cli_init(const char *prog);

/* Create the popt context over a protected copy of argv and read the alias
 * files (/etc/popt, ~/.popt).  `args` is the operand synopsis for --help. */
poptContext cli_context(int argc, char **argv, const struct poptOption *table,
			const char *args);

/* Run popt's option loop; `on_opt` (may be NULL) handles options whose val
 * is nonzero, but for CLI_UNIT_OPTION's, which cli_parse keeps itself; the
 * `arg` it gets lives until exit.
 * Then check --cache and --unit, and answer --help, --usage and --version
 * (exit 0).  Exits with status 2 and popt's message on a bad option. */
void cli_parse(poptContext ctx, void (*on_opt)(int val, const char *arg));

/* Undo the "!#:+" protection on a string popt returned (option values and
 * operands); returns a string that lives until exit. */
const char *cli_arg(const char *s);

/* Remaining operands, decoded; *n gets their count. */
const char **cli_operands(poptContext ctx, int *n);

/* "PROG: MESSAGE" + "Try 'PROG --help'..." on stderr, exit 2; MESSAGE
 * escaped as cli_error's. */
void cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* "PROG: FILE: MESSAGE" on stderr (FILE may be NULL), FILE as cli_name
 * shows it and every control character of MESSAGE as a C escape (\n,
 * \t, \r, \xNN): one message is one line, whatever it quotes. */
void cli_error(const char *file, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * A file name as a message shows it.  cli_name: as it is when it holds
 * only ASCII letters and digits, % + , - . / : = @ _ ^ (and ~ # after the
 * first byte) and printable non-ASCII UTF-8; otherwise quoted the way a
 * POSIX shell reads it back (coreutils' "shell-escape" style): 'my
 * file', 'it'\''s', and anything that would not show as itself (control
 * characters, invalid UTF-8, C1 controls, line separators, direction
 * overrides) as $'...' with C escapes: 'a'$'\n''b', $'\033'. So a name
 * cannot split a message or pass for another one.  cli_quoted: the same,
 * always quoted ('s.vb'), for a name inside a sentence ("extra operand
 * 's.vb'").  The result lives until four more calls of either.
 */
const char *cli_name(const char *name);
const char *cli_quoted(const char *name);
/* The length of the valid UTF-8 character at s (n >= 1 bytes left; 1 for
 * any ASCII byte) and its code point in *cp, or 0 for an invalid,
 * overlong, surrogate or cut-off sequence. */
size_t cli_utf8_char(const unsigned char *s, size_t n, uint32_t *cp);

/* The n bytes at s as a JSON string, quotes included, through put(arg,
 * bytes, len): '"', '\\', \n and \t escaped, other control characters
 * as \u00XX, invalid UTF-8 as \ufffd. */
void cli_json_string(void (*put)(void *arg, const void *p, size_t n), void *arg, const char *s,
		     size_t n);

/* Report a library failure on `file` with its detail; return the exit
 * status it maps to (a closed output pipe is quiet and returns 0). */
int cli_fail(const char *file, enum vb_err rc);

/* Like cli_fail, but a failure writing `sink` (our stdout) is reported as
 * "PROG: write error: ..." without naming the input. */
struct vb_sink;
int cli_fail_output(const char *file, enum vb_err rc, const struct vb_sink *sink);

/* The absolute byte offset of `p` (in elements of --unit) in version
 * `version` of `b` (whose content is `len` bytes, checked with
 * cli_check_whole), looking anchors up at that version; an anchor must be
 * on an element boundary.  A line address (L<LINE>) is looked up in that
 * version too (vb_vbuf_line_start, '\n' lines; committed versions only):
 * a line beyond L<last+1> is VB_ERANGE "offset L7: line 7 is beyond the
 * end (the content has 5 lines)"; with --unit it is VB_EINVAL.  `b` may
 * be NULL (a stream: no anchors, no lines). */
enum vb_err cli_resolve(struct vb_vbuf *b, uint64_t version, const struct vb_pos *p,
			uint64_t len, uint64_t *out);
/* vb_vbuf_map (ends: vb_vbuf_map_ends, for the ends of ranges, so that
 * bytes inserted at a range's end since stay outside it) for offsets given
 * with --at-version.  Offsets that cannot be
 * carried past a revert are a failure (exit 1), not a version conflict:
 * exit 3 means only that --if-version did not hold, where trying again
 * can help. */
enum vb_err cli_map(struct vb_vbuf *b, uint64_t from, uint64_t to, uint64_t *pos, size_t n,
		    int ends);
/* The length of version `version` of `b`. */
enum vb_err cli_version_len(struct vb_vbuf *b, uint64_t version, uint64_t *len);

/*
 * Versions.  Wherever a command takes a version (-V/--at-version,
 * vb-history --revert, --diff A STORE B, --export SINCE) it is
 *
 *   VERSION := N | head | head~N
 *
 * N with the size grammar (decimal or 0x hex, a suffix allowed); `head`
 * is the newest version when the command opened the store, `head~N` the
 * one N versions before it (head's number minus N; head~0 is head).  A
 * head~N below version 0 is VB_ENOENT, exit 1: "version head~5 does not
 * exist (the newest is 3)", as for a number beyond the newest.
 * --if-version takes a number only (head would always match).
 */
struct cli_version {
	uint64_t n;   /* the version, or with `head` the count back from it */
	int head;     /* 1: head~n */
};
/* The newest version, as "head" names it (what a command without -V reads). */
#define CLI_NEWEST ((struct cli_version){0, 1})
/* Parse a VERSION (cli_arg'ed here); a malformed one is a usage error. */
struct cli_version cli_version(const char *s);
/* The version number `v` names in a store whose newest version is
 * `head`: VB_ENOENT when head~N is before version 0. */
enum vb_err cli_version_number(const struct cli_version *v, uint64_t head, uint64_t *out);
/* The version number VERSION text `s` names in `b` (opened at its
 * newest; NULL `s`: the version `b` shows). */
enum vb_err cli_at_version(struct vb_vbuf *b, const char *s, uint64_t *out);
/* vb_vbuf_open at the version `v` names: `head` forms open the newest,
 * then, for head~N with N > 0, that version (the newest read once, when
 * opening).  A plain N of 2^64-1, which the library would read as the
 * newest, is VB_ENOENT like every number beyond the newest.  Prints
 * nothing: the caller reports a failure and prints the warnings. */
enum vb_err cli_vbuf_open(const char *path, const struct vb_vbuf_opts *o,
			  const struct cli_version *v, struct vb_vbuf **b);

/* Exit status for a library error. */
int cli_status(enum vb_err rc);

/* Parse a POSITION or LENGTH operand in elements of --unit; a malformed
 * one, or one whose byte count would pass 2^64-1, is a usage error.
 * (A --ranges line: vb_parse_range_line in lib/num, with cli_opts()->unit.) */
struct vb_pos cli_pos(const char *s);
uint64_t cli_length(const char *s);
/* The same, returning VB_EINVAL with the detail instead of exiting
 * (vb_parse_pos_unit and vb_parse_length_unit at --unit). */
enum vb_err cli_parse_pos(const char *s, struct vb_pos *p);
enum vb_err cli_parse_length(const char *s, uint64_t *n);
/* Parse a plain number with the size grammar (a version, a count, a
 * limit: not scaled by --unit); a malformed one is a usage error. */
uint64_t cli_size(const char *s, const char *what);

/* `n` elements in bytes; VB_ERANGE instead of passing 2^64-1. */
enum vb_err cli_scale(uint64_t n, uint64_t *bytes);
/* VB_ERANGE unless `len` bytes are a whole number of elements: "content
 * length 10 bytes is not a multiple of the unit (4 bytes)", naming
 * `version` when it is not the newest version of `b` (b may be NULL). */
enum vb_err cli_check_whole(struct vb_vbuf *b, uint64_t version, uint64_t len);
/* VB_ERANGE unless `n` bytes to insert are a whole number of elements. */
enum vb_err cli_check_inserted(uint64_t n);
/* Check that `n` elements from byte offset `at` lie inside content of
 * `len` bytes ("range A+N is beyond the end (length L)", in elements with
 * --unit); *bytes gets their byte count. */
enum vb_err cli_span(uint64_t at, uint64_t n, uint64_t len, uint64_t *bytes);
/* After --at-version carried a position given in elements from version
 * `from` to version `to`: VB_ERANGE unless the byte offset `at` (and the
 * byte count `n`) still fall on element boundaries (edits since `from`
 * that were not whole elements can move them off).  `text` names the
 * position as the user gave it, in elements ("offset 3", "range 3+1");
 * `range` says whether it is a range. */
enum vb_err cli_check_carried(const char *text, int range, uint64_t from, uint64_t to,
			      uint64_t at, uint64_t n);
/* The number of elements in `bytes` (rounded down). */
static inline uint64_t cli_elements(uint64_t bytes)
{
	return bytes / cli_opts()->unit;
}

/* Stream mode: edit stdin into `out` as `e` says, its positions and
 * lengths in elements.  With --unit, stdin must be a whole number of
 * elements: on a regular file that and every position is checked before
 * anything is written; on a pipe the length is counted on the way (a
 * thread between stdin and the editor) and checked at its end, where the
 * output written so far stays written.  An out-of-range position is
 * reported in elements either way.  (The counting thread is lib/sedit's
 * vb_sedit_run_counted.)  A line address (L<LINE>) is refused with
 * VB_EINVAL before anything is read: a stream has no lines. */
enum vb_err cli_stream(const struct vb_sedit *e, struct vb_sink *out);

/* Store options from the shared write options and the environment. */
void cli_store_opts(struct vb_vbuf_opts *o, int write);

/* Print the warnings a store gave when it opened. */
void cli_warnings(const char *file, struct vb_vbuf *b);

/* Refuse to write onto a file the store reads: when standard output is
 * the store file or its base file (`vb-cat s.vb >> s.vb`, `... >> BASE`),
 * report it ("the output is the store itself: nothing written") and
 * return EXIT_FAIL; else 0.  Commands that write a store's content or
 * history to standard output ask this before writing anything. */
int cli_check_output(const char *file, struct vb_vbuf *b);

/* With --if-version: VB_ECONFLICT unless the newest version is that one. */
enum vb_err cli_check_if_version(struct vb_vbuf *b);

/* Open `file` at `version`, print its warnings; on failure report it and
 * return the exit status (0 on success).  A writer is also checked against
 * --if-version (exit 3 with the store unchanged); a reader with
 * cli_check_output. */
int cli_open(const char *file, const struct vb_vbuf_opts *o, uint64_t version,
	     struct vb_vbuf **b);

/*
 * An interrupted writer leaves nothing behind: while a writer `b` is
 * guarded, SIGINT, SIGTERM and SIGHUP (unless ignored when the command
 * started, as under nohup) cut the store file back to its length after
 * the last commit (vb_vbuf_rollback) and end the process by the same
 * signal, so the shell sees 128+N.  cli_open guards every writer it
 * opens.  Commit a guarded writer with cli_vcommit (the signals wait
 * while the commit is made, so a commit is never cut off) and close it
 * with cli_vclose (any handle: unguarded ones are only closed).
 */
void cli_guard(struct vb_vbuf *b);
enum vb_err cli_vcommit(struct vb_vbuf *b, const char *message, uint64_t *version);
void cli_vclose(struct vb_vbuf *b);

/* Finish a writing command: when `rc` is VB_OK commit the edits of `b`
 * with `message` (first flattening a fragmented store, unless
 * --no-auto-flatten or $VB_AUTO_FLATTEN say not to); close `b`; report a
 * failure against `file`.  Returns the exit status. */
int cli_commit(struct vb_vbuf *b, enum vb_err rc, const char *file, const char *message);

/* Flush and close stdout; a write error other than EPIPE is reported and
 * turns `status` into 1.  Returns the final status. */
int cli_close_stdout(int status);

#endif
