/*
 * vb-flatten: consolidate a store's fragmentation, embed its base file,
 * or compact away its history.
 *
 *   vb-flatten [OPTION...] STORE              the head as one run (1 MiB pieces)
 *   vb-flatten --partial [--piece-size SIZE] STORE
 *   vb-flatten --embed STORE
 *   vb-flatten --compact [--keep N] STORE
 *   vb-flatten --lines STORE                  count lines: the base's line index
 *
 * Flattening and embedding add one version whose content equals the head's
 * (lib/README.md, Decisions 3); compaction rewrites the file
 * (lib/compact.c, through vb_vbuf_compact).  Long work shows progress
 * (progress.h).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "progress.h"
#include "vbuf.h"

static int opt_partial, opt_embed, opt_compact, opt_lines, opt_verbose;
static char *opt_piece_size, *opt_keep, *opt_message;

static struct poptOption options[] = {
	{"partial", 'p', POPT_ARG_NONE, &opt_partial, 0,
	 "copy only runs of small pieces; large pieces (of the base) stay where they are", NULL},
	{"piece-size", 's', POPT_ARG_STRING, &opt_piece_size, 0,
	 "with --partial: pieces shorter than SIZE are small (default 64K)", "SIZE"},
	{"embed", 'e', POPT_ARG_NONE, &opt_embed, 0,
	 "copy the base file into the store, so that no version needs it", NULL},
	{"compact", 'c', POPT_ARG_NONE, &opt_compact, 0,
	 "rewrite the store with only what the kept versions need", NULL},
	{"lines", 'l', POPT_ARG_NONE, &opt_lines, 0,
	 "count lines: index the base's lines (one pass over it) and count every piece, so that line numbers are found in O(log n); content unchanged",
	 NULL},
	{"keep", 'k', POPT_ARG_STRING, &opt_keep, 0,
	 "with --compact: keep the N newest versions (default 1); the compaction adds its own after them",
	 "N"},
	{"message", 'm', POPT_ARG_STRING, &opt_message, 0, "describe the new version", "TEXT"},
	{"verbose", 'v', POPT_ARG_NONE, &opt_verbose, 0, "say what was done on stdout", NULL},
	{NULL, 0, POPT_ARG_INCLUDE_TABLE, cli_progress_options, 0, "Progress:", NULL},
	{NULL, 0, POPT_ARG_INCLUDE_TABLE, cli_write_options, 0, "Writing:", NULL},
	{NULL, 0, POPT_ARG_INCLUDE_TABLE, cli_common_options, 0, "Other:", NULL},
	POPT_TABLEEND
};

static int flatten(const char *store, const char *message, uint64_t small)
{
	struct vb_vbuf_opts o;
	struct vb_vbuf *b;
	struct vb_flatten_stats st;
	struct cli_progress *pr;
	uint64_t version;
	enum vb_err rc;
	int status;

	cli_store_opts(&o, 1);
	if ((status = cli_open(store, &o, VB_HEAD, &b)))
		return status;
	struct vb_vbuf_state vs;
	vb_vbuf_state(b, &vs);
	pr = cli_progress_start(opt_embed ? "embedded" : "copied",
				opt_embed ? vs.base_size
				: opt_partial ? 0 : vb_vbuf_len(b));
	struct vb_flatten_opts fo = {opt_partial, small, cli_progress_cb, pr};
	uint64_t embedded = 0;
	if (opt_embed)
		rc = vb_vbuf_embed(b, &fo, &embedded);
	else
		rc = vb_vbuf_flatten(b, &fo, &st);
	if (!rc)
		rc = cli_vcommit(b, message, &version);
	cli_progress_done(pr, opt_embed ? embedded : rc ? 0 : st.bytes, !rc);
	if (rc) {
		status = cli_fail(store, rc);
		cli_vclose(b);
		return status;
	}
	if (opt_verbose && opt_embed)
		printf("version %llu: %llu bytes of the base embedded%s\n",
		       (unsigned long long)version, (unsigned long long)embedded,
		       embedded ? "" : " (it already was)");
	else if (opt_verbose)
		printf("version %llu: %llu bytes copied, %llu pieces -> %llu\n",
		       (unsigned long long)version, (unsigned long long)st.bytes,
		       (unsigned long long)st.pieces_before, (unsigned long long)st.pieces_after);
	cli_vclose(b);
	return EXIT_OK;
}

static int compact(const char *store, const char *message, uint64_t keep);

/* --lines: a version with every line count known (none when they all
 * were); a store from before line counts is first rewritten with them,
 * every version kept. */
static int count_lines(const char *store, const char *message, int again)
{
	struct vb_vbuf_opts o;
	struct vb_vbuf *b;
	struct vb_count_stats st;
	struct vb_vbuf_state vs;
	struct cli_progress *pr;
	uint64_t version = 0;
	enum vb_err rc;
	int status;

	cli_store_opts(&o, 1);
	if ((status = cli_open(store, &o, VB_HEAD, &b)))
		return status;
	vb_vbuf_state(b, &vs);
	pr = cli_progress_start("indexed", vs.has_base ? vs.base_size : 0);
	struct vb_flatten_opts fo = {0, 0, cli_progress_cb, pr};
	rc = vb_vbuf_count_lines(b, &fo, &st);
	if (rc == VB_EFORMAT && !again) {
		uint64_t keep = vb_vbuf_head(b) - vs.oldest + 1;
		cli_progress_done(pr, 0, 0);
		cli_vclose(b);
		if ((status = compact(store, "rewritten with line counts", keep)))
			return status;
		return count_lines(store, message, 1);
	}
	if (!rc && (st.indexed || st.pieces))
		rc = cli_vcommit(b, message ? message : "count lines", &version);
	cli_progress_done(pr, rc ? 0 : st.indexed, !rc);
	if (rc) {
		status = cli_fail(store, rc);
		cli_vclose(b);
		return status;
	}
	if (opt_verbose && (st.indexed || st.pieces))
		printf("version %llu: %llu bytes of the base indexed, %llu pieces counted\n",
		       (unsigned long long)version, (unsigned long long)st.indexed,
		       (unsigned long long)st.pieces);
	else if (opt_verbose)
		printf("version %llu: its lines are counted already\n",
		       (unsigned long long)vb_vbuf_head(b));
	cli_vclose(b);
	return EXIT_OK;
}

static int compact(const char *store, const char *message, uint64_t keep)
{
	struct vb_vbuf_opts o;
	struct vb_compact_stats st;
	struct cli_progress *pr;
	struct vb_vbuf *b;
	enum vb_err rc;
	int status;

	cli_store_opts(&o, 1);
	if ((status = cli_open(store, &o, VB_HEAD, &b)))
		return status;
	pr = cli_progress_start("copied", 0);
	rc = vb_vbuf_compact(b, keep, message, cli_progress_cb, pr, &st);
	cli_progress_done(pr, rc ? 0 : st.bytes_after, !rc);
	cli_vclose(b);
	if (rc)
		return cli_fail(store, rc);
	/* the versions kept are the ones before the compaction's own */
	if (opt_verbose && st.oldest + 1 == st.version)
		printf("version %llu: version %llu kept, %llu bytes -> %llu\n",
		       (unsigned long long)st.version, (unsigned long long)st.oldest,
		       (unsigned long long)st.bytes_before, (unsigned long long)st.bytes_after);
	else if (opt_verbose)
		printf("version %llu: versions %llu to %llu kept, %llu bytes -> %llu\n",
		       (unsigned long long)st.version, (unsigned long long)st.oldest,
		       (unsigned long long)st.version - 1, (unsigned long long)st.bytes_before,
		       (unsigned long long)st.bytes_after);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	const char **args;
	int nargs;
	uint64_t small = 0, keep = 1;

	args = cli_start(argc, argv, options, "[OPTION...] STORE", &nargs);
	const char *message = cli_arg(opt_message);
	if (nargs < 1)
		cli_usage("missing STORE");
	if (nargs > 1)
		cli_usage("extra operand %s", cli_quoted(args[1]));
	if (opt_partial + opt_embed + opt_compact + opt_lines > 1)
		cli_usage("choose one of --partial, --embed, --compact and --lines");
	if (opt_keep && !opt_compact)
		cli_usage("--keep only applies to --compact");
	if (opt_piece_size && !opt_partial)
		cli_usage("--piece-size only applies to --partial");
	if (opt_piece_size && !(small = cli_size(cli_arg(opt_piece_size), "piece size")))
		cli_usage("--piece-size must be at least 1");
	if (opt_keep && !(keep = cli_size(cli_arg(opt_keep), "count")))
		cli_usage("--keep must be at least 1");
	if (message && strlen(message) > VB_MESSAGE_MAX)
		cli_usage("--message is longer than %u bytes", VB_MESSAGE_MAX);
	if (!strcmp(args[0], "-"))
		cli_usage("STORE must be a file ('-' is not a store)");
	if (opt_compact)
		return cli_close_stdout(compact(args[0], message, keep));
	if (opt_lines)
		return cli_close_stdout(count_lines(args[0], message, 0));
	return cli_close_stdout(flatten(args[0], message, small));
}
