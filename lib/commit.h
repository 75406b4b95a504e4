/*
 * commit: the vocabulary of a store's history, shared by the store (which
 * writes and reads it: vb(5), lib/store.c, whose format tables give the
 * encodings) and the doors above it (vbuf, export, the commands), which
 * see versions only as these values and never the store's handle.
 *
 * A version is a commit: its number, its parent, its content's length and
 * piece count, when and with what message it was made, the operations
 * that made it (kind, offset, length, in the order applied) and extension
 * entries (anchors, origins, the store's own state).  Plain values: the
 * functions below keep no state and are callable from any thread.
 */
#ifndef VB_COMMIT_H
#define VB_COMMIT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Operation kinds, as stored in OPS records. */
enum vb_op_kind {
	VB_OP_NONE = 0,     /* summary only: the commit holds no operation */
	VB_OP_INSERT = 1,   /* off, len inserted */
	VB_OP_DELETE = 2,   /* off, len deleted */
	VB_OP_REPLACE = 3,  /* off, len deleted, len2 inserted */
	VB_OP_REVERT = 4,   /* len2 = target version; len = resulting length */
	VB_OP_CREATE = 5,   /* version 0: len = base length */
	VB_OP_FLATTEN = 6,  /* content unchanged: len = its length, len2 =
			     * bytes rewritten into a new data record */
	VB_OP_EMBED = 7,    /* content unchanged: len = base bytes copied in */
	VB_OP_COMPACT = 8,  /* content unchanged: the file was rewritten;
			     * len2 = the oldest version kept */
	VB_OP_MIXED = 255,  /* summary only: the commit holds several kinds */
};

struct vb_op {
	uint8_t kind;
	uint64_t off, len, len2;
};

const char *vb_op_name(unsigned kind);

#define VB_MESSAGE_MAX 4096
/* Bytes of extensions a commit may carry (see store-format.h, COMMIT). */
#define VB_EXT_MAX 2048

/* Extension entry types. */
enum vb_ext_type {
	VB_EXT_AT_VERSION = 1,   /* u64: the version the offsets were given in */
	VB_EXT_ANCHOR = 2,       /* u64 offset in the commit's content, then the name */
	VB_EXT_UNANCHOR = 3,     /* the name of an anchor removed */
	VB_EXT_STATE = 4,        /* written by the store itself (store-format.h) */
	VB_EXT_ORIGIN = 5,       /* u32 identity of the version this one was applied
				  * from, optionally i64 its original time (export.h) */
	VB_EXT_LINE_INDEX = 6,   /* written by the store itself: u64 offset of the
				  * base's line index directory (lib/lindex.h) */
	VB_EXT_BASE_ID = 7,      /* written by the store itself: u64 offset of the
				  * base identity record in effect */
	VB_EXT_SET_BASE = 8,     /* the commit re-bound the base (vb_store_rebind_base):
				  * u8 what was checked (VB_REBIND_*) */
};

/* Extension bytes kept free for the store's own entries. */
#define VB_EXT_RESERVED 64

/* Commit flags (struct vb_commit.flags). */
#define VB_COMMIT_REGION 1u   /* a region checksum replaces the first sync */
#define VB_COMMIT_NO_BASE 2u  /* the content has no piece of the base file */
#define VB_COMMIT_CUT 4u      /* the versions before this one were compacted away */

struct vb_commit {
	uint64_t off;          /* file offset of the commit record */
	uint32_t rec_len;      /* its payload length */
	uint32_t crc;          /* its checksum (children name their parent by it) */
	uint64_t version;
	uint64_t parent_off;   /* 0 for version 0 */
	uint32_t parent_crc;
	uint32_t flags;
	uint64_t skip_off;     /* commit of version (version & (version-1)) */
	uint64_t root_off;     /* 0: empty content */
	uint64_t length;
	uint64_t pieces;
	int64_t time_ns;
	uint64_t ops_off;      /* first block of the OPS record, 0 if none */
	uint64_t nops;
	uint64_t ops_bytes;
	uint8_t sum_kind;      /* all ops' kind, or VB_OP_MIXED */
	uint64_t sum_off;      /* first op's offset */
	uint64_t sum_len;      /* total of the ops' lengths (see vb.5) */
	uint64_t sum_target;   /* VB_OP_REVERT: the version reverted to */
	uint64_t region_start; /* flags bit 0: the bytes [region_start, off) ... */
	uint32_t region_crc;   /* ... have this CRC-32 */
	size_t msg_len;
	char message[VB_MESSAGE_MAX + 1];
	size_t ext_len;        /* extension entries after the message */
	unsigned char ext[VB_EXT_MAX];
};

/* Fill the summary fields of `c` (nops, sum_*) from its operations: the
 * kind of all of them (or VB_OP_MIXED), the first one's offset, the total
 * of the lengths inserted or deleted (REPLACE: its len2; revert, flatten,
 * embed and compact count 0). */
void vb_commit_sums(struct vb_commit *c, const struct vb_op *ops, size_t nops);

/* Walk a commit's extension entries: fn(type, data, len) for each, in
 * order; a malformed list stops the walk with VB_ECORRUPT. */
enum vb_err vb_commit_ext(const struct vb_commit *c,
			  enum vb_err (*fn)(void *arg, unsigned type, const unsigned char *data,
					    size_t len),
			  void *arg);
/* Append an entry to an extension buffer of *len bytes (VB_EXT_MAX less
 * VB_EXT_RESERVED at most); VB_ELIMIT if it does not fit. */
enum vb_err vb_ext_add(unsigned char *ext, size_t *len, unsigned type, const void *data,
		       size_t n);

/* What vb_store_verify (and vb_vbuf_verify) checked. */
struct vb_verify_stats {
	uint64_t records;       /* records read and checked */
	uint64_t bytes;         /* bytes of the file covered */
	uint64_t versions;      /* versions whose structure was checked */
	uint64_t nodes;         /* distinct tree nodes checked */
};

/*
 * A commit's notes, its extension entries decoded (lib/commit.c): the
 * version its offsets were given in (VB_EXT_AT_VERSION: `value`), an
 * anchor set (VB_EXT_ANCHOR: `name`, and its offset in `value`) or removed
 * (VB_EXT_UNANCHOR: `name`), the base re-bound (VB_EXT_SET_BASE: what
 * was checked in `value`).  The name is not NUL-terminated and points
 * into the commit.  Entries of other types, and malformed ones of these
 * types, are not notes and are skipped; a malformed entry list is
 * VB_ECORRUPT.  fn's failure stops the walk with its code.
 */
struct vb_commit_note {
	unsigned type;
	uint64_t value;
	const char *name;
	size_t name_len;
};
enum vb_err vb_commit_notes(const struct vb_commit *c,
			    enum vb_err (*fn)(void *arg, const struct vb_commit_note *n), void *arg);

#endif
