/*
 * export: portable edits.  The versions of a store after a version SINCE,
 * written as a self-contained stream, and replayed onto another copy of
 * the same store that is at SINCE.
 *
 * The one header of both halves, for commands and tests alike: export.c
 * writes a stream (vb_export_stream) and names versions
 * (vb_export_identity); apply.c reads a stream and applies it
 * (vb_apply_stream).  The stream's format, which the two share, is
 * described in export-int.h, their private header.
 *
 * Versions are named across copies by their identity: the CRC of the
 * version's commit record, or, for a version that was itself replayed
 * from an export (or rewritten by a compaction), the identity recorded in
 * its VB_EXT_ORIGIN entry.  A replayed version records the identity of the
 * version it replays, so two copies that exchange exports in both
 * directions keep recognising each other's versions.
 *
 * What a replayed version holds: the same content as the exported one
 * (byte for byte), the same anchors at the same offsets, the same message
 * and, in its origin entry, the original time.  Not the same operations:
 * the edits are the byte ranges in which the version differs from the one
 * before (vb_vbuf_diff, with equal bytes at the ends of a range left out),
 * so a revert arrives as the edits it amounts to and a flatten, embed or
 * compaction as a version without edits.  The anchor entries carry what
 * the edits alone would not reproduce (a revert takes anchors back, an
 * edit can move one differently from the ranges): the exporter works out
 * where the receiver's anchors would end up and adds entries that restate
 * every one that would differ.
 */
#ifndef VB_EXPORT_H
#define VB_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "store.h"

struct vb_vbuf;

/* Bytes of inserted content one DATA record carries at most. */
#define VB_EXPORT_DATA_MAX ((size_t)1 << 20)
/* A record's payload, uncompressed, is at most this long; every buffer
 * of the reader is sized by it, never by a length read from the input. */
#define VB_EXPORT_PAYLOAD_MAX (VB_EXPORT_DATA_MAX + 64)

/* The identity of the version committed as `c`: its origin entry's, or
 * its CRC. */
uint32_t vb_export_identity(const struct vb_commit *c);

struct vb_export_opts {
	/* where the stream goes: all n bytes, or an error (VB_EPIPE for a
	 * closed pipe) that stops the export */
	enum vb_err (*write)(void *arg, const void *buf, size_t n);
	void *arg;
	int level;            /* zlib level 1..9; 0: the default (igzip's level 1
	                         for payloads of 4 KiB or more in a build with
	                         ISA-L, else Z_DEFAULT_COMPRESSION) */
};

struct vb_export_stats {
	uint64_t versions;    /* versions written */
	uint64_t edits;       /* EDIT records */
	uint64_t inserted;    /* bytes the edits insert */
	uint64_t deleted;     /* bytes the edits delete */
	uint64_t bytes;       /* bytes of the stream */
};

/*
 * Write the versions after `since` up to the newest version the handle
 * knows (vb_vbuf_head) to o->write.  The handle must be store-backed (the
 * in-memory model: VB_EINVAL); it is only read.  VB_ENOENT for a version
 * beyond the newest or compacted away; VB_ELIMIT for a version whose
 * anchor entries would not fit one commit on the receiving side (more
 * than about 1.9 KiB of them); a read error of the store (VB_ECORRUPT,
 * VB_EBASE...) or the writer's error.  `st` may be NULL.  Memory: a few
 * MiB of buffers, plus the anchors of one version.
 */
enum vb_err vb_export_stream(struct vb_vbuf *b, uint64_t since, const struct vb_export_opts *o,
			     struct vb_export_stats *st);

struct vb_apply_opts {
	/* where the stream comes from: up to n bytes into buf, *got of them
	 * (0 only at the end of the stream).  May be called from a thread of
	 * the apply's own, one call at a time. */
	enum vb_err (*read)(void *arg, void *buf, size_t n, size_t *got);
	void *arg;
	/* read and check the whole stream against the store, change nothing */
	int check_only;
	/* leave the newest version's edits uncommitted: the caller commits
	 * them (vb_vbuf_commit with st->message), or closes the handle to
	 * drop them.  Then a stream that ends before its END record leaves
	 * even that version out. */
	int leave_last;
	/* the store's name in messages ("this store" if NULL) */
	const char *store_name;
};

struct vb_apply_stats {
	uint64_t store_id;    /* from the stream's header (0 before it) */
	uint64_t since;       /* the version the export starts from */
	uint64_t newest;      /* the newest version it holds */
	uint64_t applied;     /* versions committed (or, check_only, that would be) */
	uint64_t first;       /* the first of them */
	uint64_t present;     /* versions the store already had (same identity) */
	int pending;          /* leave_last: a version waits for its commit */
	char message[VB_MESSAGE_MAX + 1];  /* the pending version's message */
	/* on failure: 1 if the export is at fault (corrupt, truncated, made
	 * for another store or version; `offset` is the failing record's
	 * byte offset in the stream), 0 if the store is (I/O, lock...) */
	int input_error;
	uint64_t offset;
};

/*
 * Replay the stream o->read yields onto `b`, a writer at the newest
 * version of a store.  The stream must be an export of this store (the
 * same store id) starting at a version the store has with the same
 * identity; versions of the export that the store already has (same
 * number, same identity) are checked and skipped, the others are applied
 * in order, each as one commit (its edits, anchor entries, origin entry
 * and message) once its COMMIT record has arrived and matched: the
 * version's edit count, content length and checksum of inserted bytes.
 *
 * On failure, the versions committed before stay committed (st->applied
 * of them from st->first); the version being applied is dropped (close
 * the handle).  Applying the same export again then resumes after them.
 * To change nothing at all on a bad stream, call with check_only first
 * (which needs a stream that can be read twice).
 *
 * Errors (input_error set): VB_EFORMAT (not an export, unknown format),
 * VB_ECORRUPT (a bad record, truncation, inconsistent counts; the detail
 * starts "the record at byte N"), VB_EINVAL (an export of another store,
 * or from a version this store does not have or has different: not
 * VB_ECONFLICT, which the commands keep for --if-version), or the read
 * callback's error.  Else the store's error (VB_EIO, VB_ELOCKED, ...).
 */
enum vb_err vb_apply_stream(struct vb_vbuf *b, const struct vb_apply_opts *o,
			    struct vb_apply_stats *st);

#endif
