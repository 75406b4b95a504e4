/*
 * cli: shared command-line plumbing (the design and the contracts are in
 * cli.h).
 *
 * State: one static struct cli_opts (`opts`), which the shared popt tables
 * and cli_parse fill and cli_opts() shows read-only; the parsed --cache
 * and $VB_AUTO_FLATTEN, the --help/--usage/--version flags, and what the
 * command line allocated (`owned`, released at exit).  Nothing else
 * outlives a call.
 *
 * popt expands the sequence "!#:+" inside any option value into the next
 * operand (it is meant for alias definitions), so `--text 'a!#:+b' x`
 * would arrive as "axb" and lose the operand.  Before popt sees argv, each
 * '!' that starts "!#:+" becomes the byte 0x1d (and a literal 0x1d is
 * doubled); cli_arg() turns them back.  User text therefore reaches the
 * store verbatim.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vbuf.h"

#define MARK '\x1d'

/* What the command line allocated, released at exit so that a leak
 * checker sees only real leaks. */
static struct {
	poptContext ctx;
	const char **argv;
	int argc;
	char **strings[64];     /* POPT_ARG_STRING targets */
	int nstrings;
	char *decoded[64];      /* cli_arg() results */
	int ndecoded;
} owned;

/* The one instance of the shared options (cli.h); popt writes into it
 * through the tables below and CLI_UNIT_OPTION entries (cli_parse). */
static struct cli_opts opts = {.prog = "vb", .unit = 1};
static int show_version, show_help, show_usage;

const struct cli_opts *cli_opts(void)
{
	return &opts;
}

/* --help and --usage are ours, not POPT_AUTOHELP's, so that the context is
 * freed once, at exit, and a write error on stdout is caught. */
struct poptOption cli_common_options[] = {
	{"help", 'h', POPT_ARG_NONE, &show_help, 0, "show this help and exit (also -?)", NULL},
	/* popt's own spelling of --help, kept working but not listed twice */
	{NULL, '?', POPT_ARG_NONE | POPT_ARGFLAG_DOC_HIDDEN, &show_help, 0, NULL, NULL},
	{"usage", 0, POPT_ARG_NONE, &show_usage, 0, "show a short usage message and exit", NULL},
	{"version", 0, POPT_ARG_NONE, &show_version, 0, "print the version and exit", NULL},
	{"cache", 0, POPT_ARG_STRING, &opts.cache, 0,
	 "memory for a store's caches (default 16M, or $VB_CACHE; 256K to 1T)", "SIZE"},
	POPT_TABLEEND
};

struct poptOption cli_write_options[] = {
	{"no-sync", 0, POPT_ARG_NONE, &opts.no_sync, 0,
	 "do not wait for the data to reach the disk (faster; a crash may lose this edit)", NULL},
	{"wait", 0, POPT_ARG_STRING, &opts.wait, 0,
	 "wait at most SECONDS for another writer's lock (default 60; 0 = do not wait)",
	 "SECONDS"},
	{"if-version", 0, POPT_ARG_STRING, &opts.if_version, 0,
	 "change nothing and exit 3 unless the newest version is V (first writer wins)", "V"},
	POPT_TABLEEND
};

struct poptOption cli_edit_options[] = {
	{NULL, 0, POPT_ARG_INCLUDE_TABLE, cli_write_options, 0, NULL, NULL},
	{"no-auto-flatten", 0, POPT_ARG_NONE, &opts.no_auto_flatten, 0,
	 "do not consolidate a fragmented store after this edit (see $VB_AUTO_FLATTEN)", NULL},
	POPT_TABLEEND
};

/* Set once a write error on stdout has been reported. */
static int stdout_reported;

/* At exit (including popt's exit after --help), a write error on stdout
 * other than a closed pipe is reported and turns the status into 1. */
static void close_stdout_at_exit(void)
{
	errno = 0;
	if (fclose(stdout) != 0 && errno != EPIPE && !stdout_reported) {
		fprintf(stderr, "%s: write error: %s\n", opts.prog, strerror(errno));
		_exit(EXIT_FAIL);
	}
	if (stdout_reported)
		_exit(EXIT_FAIL);
}

/* A command started with stdin, stdout or stderr closed (`>&-`) would get
 * its store or an input file as that descriptor from the next open: a
 * closed stdin would read the store as the bytes to insert, and a message
 * to a closed stderr would be written into the store.  Each closed one is
 * opened on /dev/null the wrong way round instead (stdin write-only,
 * stdout and stderr read-only), so that using it fails with EBADF: a
 * closed stdout is still reported as a write error, a closed stdin as a
 * read error. */
static void open_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		int null = open("/dev/null", fd ? O_RDONLY : O_WRONLY);
		if (null != fd) {
			/* cannot happen: the lowest free descriptor is fd */
			if (fd != 2)
				fprintf(stderr, "%s: cannot open /dev/null: %s\n", opts.prog,
					null < 0 ? strerror(errno) : "unexpected descriptor");
			_exit(EXIT_FAIL);
		}
	}
}

void cli_init(const char *prog)
{
	const char *slash = strrchr(prog, '/');

	opts.prog = slash ? slash + 1 : prog;
	open_std_fds();
	atexit(close_stdout_at_exit);
	signal(SIGPIPE, SIG_IGN);
	/* Past RLIMIT_FSIZE a write must fail with EFBIG, so that a writer
	 * reports it and cuts back what it appended (lib/README.md,
	 * Decisions 10), instead of being killed and leaving a torn tail or
	 * a temporary file. */
	signal(SIGXFSZ, SIG_IGN);
}

static char *protect(const char *s)
{
	size_t n = strlen(s), extra = 0;
	char *out, *p;

	for (size_t i = 0; i < n; i++)
		if (s[i] == MARK)
			extra++;
	out = malloc(n + extra + 1);
	if (!out) {
		fprintf(stderr, "%s: out of memory\n", opts.prog);
		exit(EXIT_FAIL);
	}
	p = out;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == MARK) {
			*p++ = MARK;
			*p++ = MARK;
		} else if (s[i] == '!' && !strncmp(s + i, "!#:+", 4)) {
			*p++ = MARK;
		} else {
			*p++ = s[i];
		}
	}
	*p = 0;
	return out;
}

const char *cli_arg(const char *s)
{
	char *out, *p;

	if (!s || !strchr(s, MARK))
		return s;
	out = strdup(s);
	if (!out) {
		fprintf(stderr, "%s: out of memory\n", opts.prog);
		exit(EXIT_FAIL);
	}
	if (owned.ndecoded < 64)
		owned.decoded[owned.ndecoded++] = out;
	p = out;
	for (const char *q = s; *q; q++) {
		if (*q == MARK && q[1] == MARK) {
			*p++ = MARK;
			q++;
		} else if (*q == MARK) {
			*p++ = '!';
		} else {
			*p++ = *q;
		}
	}
	*p = 0;
	return out;
}

static void collect_strings(const struct poptOption *t)
{
	for (; t->longName || t->shortName || t->arg || t->argInfo; t++) {
		unsigned type = t->argInfo & POPT_ARG_MASK;
		if (type == POPT_ARG_INCLUDE_TABLE && t->arg)
			collect_strings(t->arg);
		else if (type == POPT_ARG_STRING && t->arg && owned.nstrings < 64)
			owned.strings[owned.nstrings++] = t->arg;
	}
}

static void release_owned(void)
{
	for (int i = 0; i < owned.nstrings; i++) {
		free(*owned.strings[i]);
		*owned.strings[i] = NULL;
	}
	free(opts.unit_arg);
	opts.unit_arg = NULL;
	for (int i = 0; i < owned.ndecoded; i++)
		free(owned.decoded[i]);
	if (owned.ctx)
		poptFreeContext(owned.ctx);
	for (int i = 1; i < owned.argc; i++)
		free((char *)owned.argv[i]);
	free(owned.argv);
	memset(&owned, 0, sizeof owned);
}

poptContext cli_context(int argc, char **argv, const struct poptOption *table, const char *args)
{
	const char **copy = calloc((size_t)argc + 1, sizeof *copy);
	poptContext ctx;

	if (!copy) {
		fprintf(stderr, "%s: out of memory\n", opts.prog);
		exit(EXIT_FAIL);
	}
	for (int i = 0; i < argc; i++)
		copy[i] = i ? protect(argv[i]) : argv[i];
	ctx = poptGetContext(opts.prog, argc, copy, table, 0);
	if (!ctx) {
		fprintf(stderr, "%s: cannot parse options\n", opts.prog);
		exit(EXIT_FAIL);
	}
	owned.ctx = ctx;
	owned.argv = copy;
	owned.argc = argc;
	collect_strings(table);
	atexit(release_owned);
	poptSetOtherOptionHelp(ctx, args);
	poptReadDefaultConfig(ctx, 0);
	return ctx;
}

/* ---------------------------------------------------- names in messages */

void cli_json_string(void (*put)(void *arg, const void *p, size_t n), void *arg, const char *str,
		     size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	char esc[8];
	uint32_t cp;

	put(arg, "\"", 1);
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t l = cli_utf8_char(s + i, n - i, &cp);
		if (!l) {
			put(arg, "\\ufffd", 6);
			i++;
			continue;
		}
		if (l > 1) {
			put(arg, s + i, l);
		} else if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(arg, esc, 2);
		} else if (c == '\n') {
			put(arg, "\\n", 2);
		} else if (c == '\t') {
			put(arg, "\\t", 2);
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof esc, "\\u%04x", c);
			put(arg, esc, 6);
		} else {
			put(arg, s + i, 1);
		}
		i += l;
	}
	put(arg, "\"", 1);
}

size_t cli_utf8_char(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		*cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		*cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		*cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		*cp = *cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (*cp < 0x800 || (*cp >= 0xd800 && *cp <= 0xdfff))) ||
	    (len == 4 && (*cp < 0x10000 || *cp > 0x10ffff)))
		return 0;
	return len;
}

/* The length of the character at s (n bytes left, n >= 1) when it shows
 * as itself on a terminal: printable ASCII (space included), or valid
 * UTF-8 that is not a C1 control, a line or paragraph separator, a
 * direction mark or override, or a byte order mark; else 0. */
static size_t shown_len(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len = cli_utf8_char(s, n, &cp);

	if (len == 1)
		return cp >= 0x20 && cp < 0x7f;
	if (!len || cp <= 0x9f || cp == 0x200e || cp == 0x200f || (cp >= 0x2028 && cp <= 0x202e) ||
	    (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff)
		return 0;
	return len;
}

/* An ASCII byte a name may hold and still be shown bare. */
static int bare_byte(unsigned char c, int first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("%+,-./:=@_^", c)) || (!first && (c == '~' || c == '#'));
}

/* The quoted names, freed when their slot is reused and at exit. */
static char *quoted[4];
static unsigned next_quoted;
static int quoted_registered;

static void free_quoted(void)
{
	for (unsigned i = 0; i < sizeof quoted / sizeof quoted[0]; i++) {
		free(quoted[i]);
		quoted[i] = NULL;
	}
}

static const char *quote_name(const char *name, int always)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t n = strlen(name), k = 0, l;
	int bare = n > 0, in_sq = 0, in_esc = 0;
	char *out;

	for (size_t i = 0; i < n; i += l ? l : 1) {
		l = shown_len(s + i, n - i);
		if (!l || (l == 1 && !bare_byte(s[i], i == 0)))
			bare = 0;
	}
	if (bare && !always)
		return name;
	/* at worst a byte becomes '$'\ooo'' (10 bytes) */
	if (n > (SIZE_MAX - 3) / 10 || !(out = malloc(10 * n + 3)))
		return "(a name too long to quote)";
	if (!quoted_registered && !atexit(free_quoted))
		quoted_registered = 1;
	for (size_t i = 0; i < n; i += l ? l : 1) {
		l = shown_len(s + i, n - i);
		if (l && s[i] == '\'') {
			if (in_sq || in_esc)
				out[k++] = '\'';
			in_sq = in_esc = 0;
			out[k++] = '\\';
			out[k++] = '\'';
		} else if (l) {
			if (in_esc)
				out[k++] = '\'';
			if (!in_sq)
				out[k++] = '\'';
			in_esc = 0;
			in_sq = 1;
			memcpy(out + k, s + i, l);
			k += l;
		} else {
			if (in_sq)
				out[k++] = '\'';
			if (!in_esc) {
				out[k++] = '$';
				out[k++] = '\'';
			}
			in_sq = 0;
			in_esc = 1;
			if (s[i] == '\n' || s[i] == '\t' || s[i] == '\r') {
				out[k++] = '\\';
				out[k++] = s[i] == '\n' ? 'n' : s[i] == '\t' ? 't' : 'r';
			} else {
				k += (size_t)sprintf(out + k, "\\%03o", s[i]);
			}
		}
	}
	if (in_sq || in_esc)
		out[k++] = '\'';
	if (!k) {
		out[k++] = '\'';
		out[k++] = '\'';
	}
	out[k] = 0;
	free(quoted[next_quoted]);
	quoted[next_quoted] = out;
	next_quoted = (next_quoted + 1) % (sizeof quoted / sizeof quoted[0]);
	return out;
}

const char *cli_name(const char *name)
{
	return quote_name(name, 0);
}

const char *cli_quoted(const char *name)
{
	return quote_name(name, 1);
}

/* Write a formatted message to stderr with every control character as a
 * C escape (\n, \t, \r, \xNN), so that it stays one line whatever text
 * it quotes (a detail from the library naming a base file, an option
 * value). */
static void put_message(const char *fmt, va_list ap)
{
	char *text;
	va_list copy;

	va_copy(copy, ap);
	if (vasprintf(&text, fmt, copy) < 0) {
		va_end(copy);
		fputs("(a message too long to show)", stderr);
		return;
	}
	va_end(copy);
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (*p == '\n')
			fputs("\\n", stderr);
		else if (*p == '\t')
			fputs("\\t", stderr);
		else if (*p == '\r')
			fputs("\\r", stderr);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(stderr, "\\x%02x", *p);
		else
			fputc(*p, stderr);
	}
	free(text);
}

void cli_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", opts.prog);
	va_start(ap, fmt);
	put_message(fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help' for more information.\n", opts.prog);
	exit(EXIT_USAGE);
}

static size_t cache_size = VB_CACHE_DEFAULT;

static int auto_flatten_off;
static struct vb_auto_flatten auto_flatten;

/* $VB_AUTO_FLATTEN: "off" (or 0, no), or a comma-separated list of
 * pieces=N, average=SIZE, commits=N and piece-size=SIZE overriding the
 * thresholds (vbuf.h); checked by every writer before it opens a store. */
static void check_auto_flatten(void)
{
	const char *env = getenv("VB_AUTO_FLATTEN");
	char item[128];

	vb_auto_flatten_init(&auto_flatten);
	if (!env || !*env)
		return;
	if (!strcmp(env, "off") || !strcmp(env, "0") || !strcmp(env, "no")) {
		auto_flatten_off = 1;
		return;
	}
	for (const char *p = env; *p;) {
		size_t n = strcspn(p, ",");
		const char *eq;
		uint64_t v, *field;
		if (n >= sizeof item)
			cli_usage("invalid VB_AUTO_FLATTEN '%s' (an item is too long)", env);
		memcpy(item, p, n);
		item[n] = 0;
		p += n + (p[n] == ',');
		if (!(eq = strchr(item, '=')))
			cli_usage("invalid VB_AUTO_FLATTEN '%s' ('%s' is not NAME=VALUE; or say 'off')",
				  env, item);
		if (!strncmp(item, "pieces=", 7))
			field = &auto_flatten.pieces;
		else if (!strncmp(item, "average=", 8))
			field = &auto_flatten.average;
		else if (!strncmp(item, "commits=", 8))
			field = &auto_flatten.commits;
		else if (!strncmp(item, "piece-size=", 11))
			field = &auto_flatten.small;
		else
			cli_usage("invalid VB_AUTO_FLATTEN '%s' (unknown '%.*s'; the names are pieces, average, commits and piece-size)",
				  env, (int)(eq - item), item);
		if (vb_parse_size(eq + 1, item, &v) || !v)
			cli_usage("invalid VB_AUTO_FLATTEN '%s' ('%s' needs a number of at least 1)",
				  env, item);
		*field = v;
	}
}

/* --cache, else $VB_CACHE, checked whether or not a store gets opened. */
static void check_cache(void)
{
	const char *env = getenv("VB_CACHE");
	const char *cache = opts.cache ? cli_arg(opts.cache) : env && *env ? env : NULL;
	const char *what = opts.cache ? "--cache" : "VB_CACHE";
	uint64_t n;

	if (!cache)
		return;
	if (vb_parse_size(cache, what, &n))
		cli_usage("%s", vb_err_detail());
	if (n < VB_CACHE_MIN)
		cli_usage("%s '%s' is too small (at least %zuK)", what, cache, VB_CACHE_MIN >> 10);
	if (n > VB_CACHE_MAX || n > SIZE_MAX / 4)
		cli_usage("%s '%s' is too large (at most %lluT)", what, cache,
			  (unsigned long long)(VB_CACHE_MAX >> 40));
	cache_size = (size_t)n;
}

struct poptOption cli_array_options[] = {
	{"shape", 0, POPT_ARG_STRING, &opts.shape_arg, 0,
	 "the content is a C-order array of this shape (sizes joined by x), elements of --unit bytes",
	 "D0xD1x..."},
	{"npy", 0, POPT_ARG_NONE, &opts.npy, 0,
	 "the content is a .npy file: its header gives the shape, element size and order", NULL},
	POPT_TABLEEND
};

int cli_array_given(void)
{
	return opts.shape_arg || opts.npy;
}

/* --shape and --npy: one or the other; the shape's grammar */
static void check_array(void)
{
	struct vb_array a = {0};

	if (opts.shape_arg && opts.npy)
		cli_usage("--shape and --npy cannot be combined (a .npy header gives the shape)");
	if (opts.npy && opts.unit_arg)
		cli_usage("--unit cannot be combined with --npy (the header gives the element size)");
	if (opts.shape_arg && vb_array_parse_shape(cli_arg(opts.shape_arg), opts.unit, &a))
		cli_usage("--shape: %s", vb_err_detail());
}

enum vb_err cli_array(struct vb_vbuf *b, struct vb_array *a)
{
	uint64_t len = vb_vbuf_len(b), total;
	unsigned char pre[VB_NPY_PREFIX], *h;
	size_t got;
	enum vb_err rc;

	memset(a, 0, sizeof *a);
	if (!opts.npy) {
		if ((rc = vb_array_parse_shape(cli_arg(opts.shape_arg), opts.unit, a)))
			return rc;
		return vb_array_check(a, len);
	}
	if ((rc = vb_vbuf_read_upto(b, 0, pre, sizeof pre, &got)))
		return rc;
	if ((rc = vb_npy_header_len(pre, got, &total)))
		return rc;
	if (total > len)
		return vb_err_set(VB_EFORMAT, "the .npy header (%llu bytes) is longer than the content (%llu bytes)",
				  (unsigned long long)total, (unsigned long long)len);
	if (!(h = malloc((size_t)total)))
		return vb_err_set(VB_ENOMEM, "out of memory");
	if (!(rc = vb_vbuf_read(b, 0, h, (size_t)total)))
		rc = vb_npy_parse(h, (size_t)total, a);
	free(h);
	if (!rc)
		rc = vb_array_check(a, len);
	if (rc)
		vb_array_done(a);
	return rc;
}

enum vb_err cli_array_reshape(struct vb_vbuf *b, const struct vb_array *a, const uint64_t *shape,
			      unsigned ndim)
{
	unsigned char *h;
	size_t n;
	enum vb_err rc;

	if (!opts.npy)
		return VB_OK;
	if ((rc = vb_npy_header(a, shape, ndim, a->fortran, &h, &n)))
		return rc;
	rc = vb_vbuf_replace(b, 0, a->header, h, n);
	free(h);
	return rc;
}

enum vb_err cli_array_runs(uint64_t runs)
{
	if (runs <= CLI_ARRAY_RUNS_MAX)
		return VB_OK;
	return vb_err_set(VB_ELIMIT, "the edit is %llu runs of elements, more than the %llu one version may make",
			  (unsigned long long)runs, (unsigned long long)CLI_ARRAY_RUNS_MAX);
}

int64_t cli_int(const char *what, const char *s)
{
	char *end;
	long long v;

	s = cli_arg(s);
	errno = 0;
	v = strtoll(s, &end, 10);
	if (!*s || *end || errno || (*s != '-' && (*s < '0' || *s > '9')))
		cli_usage("invalid %s '%s' (expected an integer)", what, s);
	return (int64_t)v;
}

/* --unit: the size grammar, and at least one byte. */
static void check_unit(void)
{
	const char *s = cli_arg(opts.unit_arg);
	uint64_t n;

	if (!s)
		return;
	if (vb_parse_size(s, "--unit", &n))
		cli_usage("%s", vb_err_detail());
	if (!n)
		cli_usage("invalid --unit '%s' (an element is at least 1 byte)", s);
	opts.unit = n;
}

void cli_parse(poptContext ctx, void (*on_opt)(int val, const char *arg))
{
	int rc;

	while ((rc = poptGetNextOpt(ctx)) > 0) {
		if (rc == CLI_UNIT_VAL) {
			/* a CLI_UNIT_OPTION entry; the last --unit counts */
			free(opts.unit_arg);
			opts.unit_arg = poptGetOptArg(ctx);
		} else if (on_opt) {
			/* popt's copy of the argument is ours: kept until exit
			 * (a handler may keep it), then freed */
			char *arg = poptGetOptArg(ctx);
			if (arg && owned.ndecoded < 64)
				owned.decoded[owned.ndecoded++] = arg;
			on_opt(rc, cli_arg(arg));
		}
	}
	if (rc < -1) {
		const char *bad = cli_arg(poptBadOption(ctx, POPT_BADOPTION_NOALIAS));
		if (bad && bad[0] == '-' && bad[1] >= '0' && bad[1] <= '9')
			cli_usage("%s: %s (write negative offsets after '--')", bad,
				  poptStrerror(rc));
		cli_usage("%s: %s", bad ? bad : "", poptStrerror(rc));
	}
	check_cache();
	check_unit();
	check_array();
	if (show_help || show_usage) {
		if (show_help)
			poptPrintHelp(ctx, stdout, 0);
		else
			poptPrintUsage(ctx, stdout, 0);
		exit(cli_close_stdout(EXIT_OK));
	}
	if (show_version) {
		printf("%s (vb) %s\n", opts.prog, VB_VERSION);
		exit(cli_close_stdout(EXIT_OK));
	}
}

const char **cli_operands(poptContext ctx, int *n)
{
	const char **args = poptGetArgs(ctx);
	int count = 0;

	if (args)
		for (; args[count]; count++)
			args[count] = cli_arg(args[count]);
	*n = count;
	return args;
}

void cli_error(const char *file, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	if (file)
		fprintf(stderr, "%s: %s: ", opts.prog, cli_name(file));
	else
		fprintf(stderr, "%s: ", opts.prog);
	va_start(ap, fmt);
	put_message(fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_status(enum vb_err rc)
{
	switch (rc) {
	case VB_OK:
	case VB_EPIPE:
		return EXIT_OK;
	case VB_ELOCKED:
		return EXIT_LOCKED;
	case VB_ECONFLICT:
		return EXIT_CONFLICT;
	default:
		return EXIT_FAIL;
	}
}

int cli_fail(const char *file, enum vb_err rc)
{
	if (rc == VB_EPIPE)
		return EXIT_OK;
	cli_error(file, "%s", vb_err_detail()[0] ? vb_err_detail() : vb_strerror(rc));
	return cli_status(rc);
}

int cli_fail_output(const char *file, enum vb_err rc, const struct vb_sink *sink)
{
	if (rc == VB_EPIPE)
		return EXIT_OK;
	if (sink && sink->failed)
		return cli_fail(NULL, rc);
	return cli_fail(file, rc);
}

struct cli_version cli_version(const char *s)
{
	struct cli_version v = {0, 0};

	s = cli_arg(s);
	if (s && !strncmp(s, "head", 4)) {
		v.head = 1;
		if (!s[4])
			return v;
		if (s[4] != '~' || vb_parse_size(s + 5, "version", &v.n))
			cli_usage("invalid version '%s' (expected N, head or head~N)", s);
		return v;
	}
	v.n = cli_size(s, "version");
	return v;
}

enum vb_err cli_version_number(const struct cli_version *v, uint64_t head, uint64_t *out)
{
	if (!v->head) {
		*out = v->n;
		return VB_OK;
	}
	if (v->n > head)
		return vb_err_set(VB_ENOENT, "version head~%llu does not exist (the newest is %llu)",
				  (unsigned long long)v->n, (unsigned long long)head);
	*out = head - v->n;
	return VB_OK;
}

enum vb_err cli_at_version(struct vb_vbuf *b, const char *s, uint64_t *out)
{
	struct cli_version v;

	if (!s) {
		*out = vb_vbuf_version(b);
		return VB_OK;
	}
	v = cli_version(s);
	return cli_version_number(&v, vb_vbuf_head(b), out);
}

enum vb_err cli_vbuf_open(const char *path, const struct vb_vbuf_opts *o,
			  const struct cli_version *v, struct vb_vbuf **b)
{
	uint64_t n = 0;
	enum vb_err rc;

	*b = NULL;
	if (!v->head && v->n != VB_HEAD)
		return vb_vbuf_open(path, o, v->n, b);
	if ((rc = vb_vbuf_open(path, o, VB_HEAD, b)) || (v->head && !v->n))
		return rc;
	if (!v->head)
		rc = vb_err_set(VB_ENOENT, "version %llu does not exist (the newest is %llu)",
				(unsigned long long)v->n, (unsigned long long)vb_vbuf_head(*b));
	else
		rc = cli_version_number(v, vb_vbuf_head(*b), &n);
	vb_vbuf_close(*b);
	*b = NULL;
	return rc ? rc : vb_vbuf_open(path, o, n, b);
}

enum vb_err cli_version_len(struct vb_vbuf *b, uint64_t version, uint64_t *len)
{
	struct vb_commit c;
	enum vb_err rc;

	if (version == vb_vbuf_version(b)) {
		*len = vb_vbuf_len(b);
		return VB_OK;
	}
	if ((rc = vb_vbuf_info(b, version, &c)))
		return rc;
	*len = c.length;
	return VB_OK;
}

/* " of version V" when `version` is not the newest of `b`, else "". */
static const char *of_version(struct vb_vbuf *b, uint64_t version, char *buf, size_t size)
{
	buf[0] = 0;
	if (b && version != vb_vbuf_head(b))
		snprintf(buf, size, " of version %llu", (unsigned long long)version);
	return buf;
}

enum vb_err cli_scale(uint64_t n, uint64_t *bytes)
{
	if (__builtin_mul_overflow(n, opts.unit, bytes))
		return vb_err_set(VB_ERANGE, "%llu elements of %llu bytes are more than 2^64-1 bytes",
				  (unsigned long long)n, (unsigned long long)opts.unit);
	return VB_OK;
}

enum vb_err cli_check_whole(struct vb_vbuf *b, uint64_t version, uint64_t len)
{
	char v[48];

	if (len % opts.unit == 0)
		return VB_OK;
	return vb_err_set(VB_ERANGE, "content length %llu bytes%s is not a multiple of the unit (%llu bytes)",
			  (unsigned long long)len, of_version(b, version, v, sizeof v),
			  (unsigned long long)opts.unit);
}

enum vb_err cli_check_inserted(uint64_t n)
{
	if (n % opts.unit == 0)
		return VB_OK;
	return vb_err_set(VB_ERANGE, "%llu bytes inserted are not a multiple of the unit (%llu bytes)",
			  (unsigned long long)n, (unsigned long long)opts.unit);
}

/* The failure of an element position `p` resolved in `len_e` elements
 * (its anchor at element `anchor_e`), worded in elements. */
static enum vb_err element_range_error(const struct vb_pos *p, uint64_t anchor_e, uint64_t len_e)
{
	char text[96];

	vb_pos_format(p, text, sizeof text);
	if (p->anchor[0] && p->before)
		return vb_err_set(VB_ERANGE, "element offset %s is before the start (the anchor is at element %llu)",
				  text, (unsigned long long)anchor_e);
	if (p->from_end && !p->anchor[0])
		return vb_err_set(VB_ERANGE, "element offset %s is before the start (length %llu elements)",
				  text, (unsigned long long)len_e);
	return vb_err_set(VB_ERANGE, "element offset %s is beyond the end (length %llu elements)",
			  text, (unsigned long long)len_e);
}

enum vb_err cli_resolve(struct vb_vbuf *b, uint64_t version, const struct vb_pos *p,
			uint64_t len, uint64_t *out)
{
	uint64_t at, e, len_e = len / opts.unit;
	enum vb_err rc;
	char v[48];

	if (p->line) {
		/* a line address: lines are found by their bytes ('\n' ends
		 * one), in the version the offsets are given in; never in
		 * elements (cli_parse_pos refuses it with --unit) */
		char text[96];
		vb_pos_format(p, text, sizeof text);
		if (opts.unit != 1)
			return vb_err_set(VB_EINVAL, "offset %s is a line address, which does not count elements (the unit is %llu bytes)",
					  text, (unsigned long long)opts.unit);
		if (!b)
			return vb_pos_resolve(p, len, out);
		if ((rc = vb_vbuf_line_start(b, version, VB_LINES_LF, p->line, &at))) {
			if (rc == VB_ERANGE)
				vb_err_prefix("offset %s", text);
			return rc;
		}
		return vb_pos_resolve_line(p, at, len, out);
	}
	if (opts.unit == 1) {
		if (!p->anchor[0] || !b)
			return vb_pos_resolve(p, len, out);
		if ((rc = vb_vbuf_anchor(b, p->anchor, version, &at)))
			return rc;
		return vb_pos_resolve_anchor(p, at, len, out);
	}
	/* in elements: the content, then the position, then to bytes */
	if ((rc = cli_check_whole(b, version, len)))
		return rc;
	if (!p->anchor[0] || !b) {
		rc = vb_pos_resolve(p, len_e, &e);
		at = 0;
	} else {
		if ((rc = vb_vbuf_anchor(b, p->anchor, version, &at)))
			return rc;
		if (at % opts.unit)
			return vb_err_set(VB_ERANGE, "anchor '%s' is at byte %llu%s, not on an element boundary (the unit is %llu bytes)",
					  p->anchor, (unsigned long long)at,
					  of_version(b, version, v, sizeof v),
					  (unsigned long long)opts.unit);
		at /= opts.unit;
		rc = vb_pos_resolve_anchor(p, at, len_e, &e);
	}
	if (rc == VB_ERANGE)
		return element_range_error(p, at, len_e);
	if (rc)
		return rc;
	return cli_scale(e, out);
}

enum vb_err cli_span(uint64_t at, uint64_t n, uint64_t len, uint64_t *bytes)
{
	if (at > len || n > (len - at) / opts.unit) {
		if (opts.unit == 1)
			return vb_err_set(VB_ERANGE, "range %llu+%llu is beyond the end (length %llu)",
					  (unsigned long long)at, (unsigned long long)n,
					  (unsigned long long)len);
		return vb_err_set(VB_ERANGE, "element range %llu+%llu is beyond the end (length %llu elements)",
				  (unsigned long long)(at / opts.unit), (unsigned long long)n,
				  (unsigned long long)(len / opts.unit));
	}
	return cli_scale(n, bytes);
}

enum vb_err cli_check_carried(const char *text, int range, uint64_t from, uint64_t to,
			      uint64_t at, uint64_t n)
{
	if (at % opts.unit == 0 && n % opts.unit == 0)
		return VB_OK;
	if (range)
		return vb_err_set(VB_ERANGE, "element %s of version %llu is bytes %llu+%llu of version %llu, not on element boundaries (the unit is %llu bytes)",
				  text, (unsigned long long)from, (unsigned long long)at,
				  (unsigned long long)n, (unsigned long long)to,
				  (unsigned long long)opts.unit);
	return vb_err_set(VB_ERANGE, "element %s of version %llu is at byte %llu of version %llu, not on an element boundary (the unit is %llu bytes)",
			  text, (unsigned long long)from, (unsigned long long)at,
			  (unsigned long long)to, (unsigned long long)opts.unit);
}

enum vb_err cli_map(struct vb_vbuf *b, uint64_t from, uint64_t to, uint64_t *pos, size_t n,
		    int ends)
{
	enum vb_err rc = ends ? vb_vbuf_map_ends(b, from, to, pos, n)
			      : vb_vbuf_map(b, from, to, pos, n);
	char detail[512];

	if (rc != VB_ECONFLICT)
		return rc;
	snprintf(detail, sizeof detail, "%s", vb_err_detail());
	return vb_err_set(VB_ERANGE, "%s", detail);
}

enum vb_err cli_parse_pos(const char *s, struct vb_pos *p)
{
	return vb_parse_pos_unit(s, opts.unit, p);
}

enum vb_err cli_parse_length(const char *s, uint64_t *n)
{
	return vb_parse_length_unit(s, opts.unit, n);
}

struct vb_pos cli_pos(const char *s)
{
	struct vb_pos p;

	if (cli_parse_pos(s, &p))
		cli_usage("%s", vb_err_detail());
	return p;
}

uint64_t cli_length(const char *s)
{
	uint64_t n;

	if (cli_parse_length(s, &n))
		cli_usage("%s", vb_err_detail());
	return n;
}

uint64_t cli_size(const char *s, const char *what)
{
	uint64_t v;

	if (vb_parse_size(s, what, &v))
		cli_usage("%s", vb_err_detail());
	return v;
}

/*
 * Stream mode with --unit.  The editor (lib/sedit) works in bytes, so the
 * positions are scaled first.  Element-worded checks need the input's
 * length: a regular file's is known before anything is written; a pipe's
 * is counted on the way (vb_sedit_run_counted) and known at its end.
 */
/* Check every position of `e` (in elements) against an input of `len`
 * bytes, as the editor will, in elements; errors carry the labels. */
static enum vb_err check_elements(const struct vb_sedit *e, uint64_t len)
{
	enum vb_err rc;
	uint64_t at, n;

	if ((rc = cli_check_whole(NULL, 0, len)))
		return rc;
	for (size_t i = 0; i < e->ndels; i++) {
		const struct vb_sedit_del *d = &e->dels[i];
		if ((rc = cli_resolve(NULL, 0, &d->pos, len, &at)) ||
		    (rc = cli_span(at, d->len, len, &n))) {
			if (d->label)
				vb_err_prefix("%s", d->label);
			return rc;
		}
	}
	if (e->insert)
		return cli_resolve(NULL, 0, &e->ins_pos, len, &at);
	return VB_OK;
}

/* A stream has no line counts: refuse a line address before anything is
 * read (on a pipe the editor would find it only at the end). */
static enum vb_err check_no_lines(const struct vb_sedit *e)
{
	static const char why[] = "offset %s is a line address, which a stream ('-') does not have (edit a store instead)";
	char text[96];

	for (size_t i = 0; i < e->ndels; i++) {
		const struct vb_sedit_del *d = &e->dels[i];
		if (!d->pos.line)
			continue;
		vb_pos_format(&d->pos, text, sizeof text);
		vb_err_set(VB_EINVAL, why, text);
		if (d->label)
			vb_err_prefix("%s", d->label);
		return VB_EINVAL;
	}
	if (e->insert && e->ins_pos.line) {
		vb_pos_format(&e->ins_pos, text, sizeof text);
		return vb_err_set(VB_EINVAL, why, text);
	}
	return VB_OK;
}

enum vb_err cli_stream(const struct vb_sedit *e, struct vb_sink *out)
{
	struct vb_sedit be = *e;
	struct vb_sedit_del *d;
	struct stat st;
	off_t cur = -1;
	uint64_t len;
	enum vb_err rc = VB_OK;

	if ((rc = check_no_lines(e)))
		return rc;
	if (opts.unit == 1)
		return vb_sedit_run(0, out, e);
	d = calloc(e->ndels ? e->ndels : 1, sizeof *d);
	if (!d)
		return vb_err_set(VB_ENOMEM, "out of memory");
	for (size_t i = 0; i < e->ndels && !rc; i++) {
		d[i] = e->dels[i];
		rc = cli_scale(e->dels[i].pos.n, &d[i].pos.n);
		if (!rc)
			rc = cli_scale(e->dels[i].len, &d[i].len);
		if (rc && d[i].label)
			vb_err_prefix("%s", d[i].label);
	}
	be.dels = d;
	if (rc || (e->insert && (rc = cli_scale(e->ins_pos.n, &be.ins_pos.n))))
		goto out;
	if (fstat(0, &st) == 0 && S_ISREG(st.st_mode))
		cur = lseek(0, 0, SEEK_CUR);
	if (cur >= 0 && st.st_size >= cur) {
		/* everything checked before the first byte is written */
		if (!(rc = check_elements(e, (uint64_t)(st.st_size - cur))))
			rc = vb_sedit_run(0, out, &be);
		goto out;
	}
	rc = vb_sedit_run_counted(0, out, &be, &len);
	if (len != UINT64_MAX && (!rc || rc == VB_ERANGE)) {
		/* the length is known now: the same checks, in elements */
		enum vb_err c = check_elements(e, len);
		if (c)
			rc = c;
	}
out:
	free(d);
	return rc;
}

/* --if-version: a version number (head would always match). */
static uint64_t if_version(void)
{
	struct cli_version v = cli_version(opts.if_version);

	if (v.head)
		cli_usage("invalid --if-version '%s' (a version number, not head or head~N)",
			  cli_arg(opts.if_version));
	return v.n;
}

void cli_store_opts(struct vb_vbuf_opts *o, int write)
{
	vb_vbuf_opts_init(o);
	vb_vbuf_opts_cache(o, cache_size);
	o->write = write;
	o->no_sync = opts.no_sync;
	/* a malformed --if-version is a usage error before the store is
	 * opened (or created) */
	if (write && opts.if_version)
		if_version();
	if (write)
		check_auto_flatten();
	if (opts.wait) {
		const char *w = cli_arg(opts.wait);
		char *end;
		errno = 0;
		double d = strtod(w, &end);
		if (errno || end == w || *end || d < 0 || d > 1e9)
			cli_usage("invalid --wait '%s' (seconds, 0 or more)", w);
		o->wait = d;
	}
}

void cli_warnings(const char *file, struct vb_vbuf *b)
{
	for (size_t i = 0; i < vb_vbuf_nwarnings(b); i++)
		cli_error(file, "warning: %s", vb_vbuf_warning(b, i));
}

/* ---------------------------------------------------------- interrupts */

/* The guarded writer; rb is written only with the signals blocked, so
 * the handler never sees half of it. */
static struct vb_vbuf *rb_b;
static struct vb_rollback rb;
static volatile sig_atomic_t rb_armed;
static const int rb_sigs[] = {SIGINT, SIGTERM, SIGHUP};

static void rb_handler(int sig)
{
	struct stat st;

	/* only the file it was armed for (a descriptor number may have
	 * been reused), only to cut what this writer appended */
	if (rb_armed && fstat(rb.fd, &st) == 0 && (uint64_t)st.st_dev == rb.dev &&
	    (uint64_t)st.st_ino == rb.ino && (uint64_t)st.st_size > rb.end)
		(void)!ftruncate(rb.fd, (off_t)rb.end);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void rb_block(sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof rb_sigs / sizeof rb_sigs[0]; i++)
		sigaddset(&set, rb_sigs[i]);
	sigprocmask(SIG_BLOCK, &set, old);
}

void cli_guard(struct vb_vbuf *b)
{
	static int installed;
	struct vb_rollback r;
	sigset_t old;

	if (!vb_vbuf_rollback(b, &r))
		return;
	rb_block(&old);
	if (!installed) {
		installed = 1;
		for (size_t i = 0; i < sizeof rb_sigs / sizeof rb_sigs[0]; i++) {
			struct sigaction sa, prev;
			if (sigaction(rb_sigs[i], NULL, &prev) == 0 && prev.sa_handler == SIG_IGN)
				continue; /* ignored by whoever started us: stays so */
			memset(&sa, 0, sizeof sa);
			sa.sa_handler = rb_handler;
			sigfillset(&sa.sa_mask);
			sigaction(rb_sigs[i], &sa, NULL);
		}
	}
	rb = r;
	rb_b = b;
	rb_armed = 1;
	sigprocmask(SIG_SETMASK, &old, NULL);
}

enum vb_err cli_vcommit(struct vb_vbuf *b, const char *message, uint64_t *version)
{
	sigset_t old;
	enum vb_err rc;

	rb_block(&old);
	rc = vb_vbuf_commit(b, message, version);
	if (b == rb_b) {
		struct vb_rollback r;
		if (vb_vbuf_rollback(b, &r))
			rb = r;
		else
			rb_armed = 0;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}

void cli_vclose(struct vb_vbuf *b)
{
	sigset_t old;

	rb_block(&old);
	if (b && b == rb_b) {
		rb_armed = 0;
		rb_b = NULL;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	vb_vbuf_close(b);
}

int cli_check_output(const char *file, struct vb_vbuf *b)
{
	const char *base;

	switch (vb_vbuf_file_use(b, STDOUT_FILENO, &base)) {
	case VB_USE_STORE:
		cli_error(file, "the output is the store itself: nothing written");
		return EXIT_FAIL;
	case VB_USE_BASE:
		cli_error(file, "the output is its base file %s: nothing written", cli_quoted(base));
		return EXIT_FAIL;
	default:
		return EXIT_OK;
	}
}

int cli_open(const char *file, const struct vb_vbuf_opts *o, uint64_t version,
	     struct vb_vbuf **b)
{
	enum vb_err rc = vb_vbuf_open(file, o, version, b);
	int st;

	if (rc)
		return cli_fail(file, rc);
	cli_warnings(file, *b);
	if (!o->write && (st = cli_check_output(file, *b))) {
		vb_vbuf_close(*b);
		*b = NULL;
		return st;
	}
	if (o->write)
		cli_guard(*b);
	if (o->write && (rc = cli_check_if_version(*b))) {
		cli_vclose(*b);
		*b = NULL;
		return cli_fail(file, rc);
	}
	return EXIT_OK;
}

enum vb_err cli_check_if_version(struct vb_vbuf *b)
{
	uint64_t want, head = vb_vbuf_head(b);

	if (!opts.if_version)
		return VB_OK;
	want = if_version();
	if (head != want)
		return vb_err_set(VB_ECONFLICT, "the newest version is %llu, not %llu (--if-version)",
				  (unsigned long long)head, (unsigned long long)want);
	return VB_OK;
}

int cli_commit(struct vb_vbuf *b, enum vb_err rc, const char *file, const char *message)
{
	uint64_t version;
	int status = EXIT_OK;

	if (!rc && !opts.no_auto_flatten && !auto_flatten_off)
		vb_vbuf_auto_flatten(b, &auto_flatten);
	if (!rc)
		rc = cli_vcommit(b, message, &version);
	if (rc)
		status = cli_fail(file, rc);
	cli_vclose(b);
	return status;
}

const char **cli_start(int argc, char **argv, const struct poptOption *table,
		       const char *synopsis, int *nargs)
{
	poptContext ctx;

	cli_init(argv[0]);
	ctx = cli_context(argc, argv, table, synopsis);
	cli_parse(ctx, NULL);
	return cli_operands(ctx, nargs);
}

int cli_close_stdout(int status)
{
	errno = 0;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno != EPIPE) {
			if (!stdout_reported)
				fprintf(stderr, "%s: write error: %s\n", opts.prog,
					errno ? strerror(errno) : "unknown error");
			stdout_reported = 1;
			return EXIT_FAIL;
		}
	}
	return status;
}
