/*
 * cli: what every vb command shares: one popt option table and init, the
 * workaround for popt's "!#:+" expansion, messages in the form
 * "PROG: FILE: cause", the mapping of library errors to exit statuses
 * (DESIGN 4), and closing stdout with a check.
 */
#ifndef VB_CLI_H
#define VB_CLI_H

#include <popt.h>
#include <stdint.h>

#include "err.h"
#include "num.h"
#include "store.h"

struct vb_vbuf;

enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,      /* I/O, corrupt or changed data, bad input */
	EXIT_USAGE = 2,     /* the command line is wrong */
	EXIT_CONFLICT = 3,  /* --if-version did not match */
	EXIT_LOCKED = 4,    /* timed out waiting for the write lock */
};

extern const char *cli_prog;

/* Options every command has: --help/-?, --usage, --version. */
extern struct poptOption cli_common_options[];
/* Options of every command that writes a store. */
extern struct poptOption cli_write_options[];
/* Values of the write options. */
extern int cli_no_sync;
extern char *cli_wait;
extern char *cli_if_version;

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
 * is nonzero.  Exits with status 2 and popt's message on a bad option. */
void cli_parse(poptContext ctx, void (*on_opt)(int val, const char *arg));

/* Undo the "!#:+" protection on a string popt returned (option values and
 * operands); returns a string that lives until exit. */
const char *cli_arg(const char *s);

/* Remaining operands, decoded; *n gets their count. */
const char **cli_operands(poptContext ctx, int *n);

/* "PROG: MESSAGE" + "Try 'PROG --help'..." on stderr, exit 2. */
void cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* "PROG: FILE: MESSAGE" on stderr (FILE may be NULL). */
void cli_error(const char *file, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Report a library failure on `file` with its detail; return the exit
 * status it maps to (a closed output pipe is quiet and returns 0). */
int cli_fail(const char *file, enum vb_err rc);

/* Like cli_fail, but a failure writing `sink` (our stdout) is reported as
 * "PROG: write error: ..." without naming the input. */
struct vb_sink;
int cli_fail_output(const char *file, enum vb_err rc, const struct vb_sink *sink);

/* The absolute offset of `p` in version `version` of `b` (whose content
 * is `len` bytes), looking anchors up at that version. */
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
/* Parse a version number option (a usage error if malformed). */
uint64_t cli_version(const char *s);

/* Exit status for a library error. */
int cli_status(enum vb_err rc);

/* Parse a POSITION or LENGTH operand; a malformed one is a usage error. */
struct vb_pos cli_pos(const char *s);
uint64_t cli_size(const char *s, const char *what);

/* Store options from the shared write options and the environment. */
void cli_store_opts(struct vb_store_opts *o, int write);

/* Print the warnings a store gave when it opened. */
void cli_warnings(const char *file, struct vb_vbuf *b);

/* With --if-version: VB_ECONFLICT unless the newest version is that one. */
enum vb_err cli_check_if_version(struct vb_vbuf *b);

/* Open `file` at `version`, print its warnings; on failure report it and
 * return the exit status (0 on success).  A writer is also checked against
 * --if-version (exit 3 with the store unchanged). */
int cli_open(const char *file, const struct vb_store_opts *o, uint64_t version,
	     struct vb_vbuf **b);

/* Finish a writing command: when `rc` is VB_OK commit the edits of `b`
 * with `message`; close `b`; report a failure against `file`.  Returns the
 * exit status. */
int cli_commit(struct vb_vbuf *b, enum vb_err rc, const char *file, const char *message);

/* Flush and close stdout; a write error other than EPIPE is reported and
 * turns `status` into 1.  Returns the final status. */
int cli_close_stdout(int status);

#endif
