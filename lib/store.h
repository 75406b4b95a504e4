/*
 * store: the on-disk file of a vb store (format and recovery in store.c).
 *
 * A store handle is either a reader (no lock; sees the head that existed
 * when it opened, or an older version) or a writer (holds the write lock
 * from open to close; sees the head as it was once the lock was taken).
 * A writer appends data blocks as it goes (vb_store_append), then
 * vb_store_commit() writes the tree's new nodes, the operations and the
 * commit record, with fdatasync before and after the commit record.  Any
 * append not followed by a successful commit is cut off again by
 * vb_store_rollback() or vb_store_close(), so a failed writer leaves the
 * file as it found it (less a torn tail left by an earlier crash).
 *
 * A store created by a writer lives in a temporary file beside its final
 * name until its first commit, which renames it into place (never over an
 * existing file), so a store is never visible without its first edit.
 */
#ifndef VB_STORE_H
#define VB_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "io.h"
#include "ptree.h"

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
/* Bytes of extensions a commit may carry (see store.c, COMMIT). */
#define VB_EXT_MAX 2048

/* Extension entry types. */
enum vb_ext_type {
	VB_EXT_AT_VERSION = 1,   /* u64: the version the offsets were given in */
	VB_EXT_ANCHOR = 2,       /* u64 offset in the commit's content, then the name */
	VB_EXT_UNANCHOR = 3,     /* the name of an anchor removed */
	VB_EXT_STATE = 4,        /* written by the store itself (see store.c) */
	VB_EXT_ORIGIN = 5,       /* u32 identity of the version this one was applied
				  * from, optionally i64 its original time (export.h) */
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

struct vb_store_opts {
	int write;             /* take the write lock */
	int create;            /* with write: create the store if it is missing */
	const char *base;      /* with create: version 0 references this file */
	int no_sync;           /* skip fdatasync (faster, not crash-safe) */
	int lenient_base;      /* a missing/changed base is a warning, not an error */
	int defer_base;        /* a missing/changed base is neither: the caller
				  asks vb_store_need_base about the version it
				  reads (a reader of an old version) */
	double wait;           /* seconds to wait for the lock; < 0: forever */
	size_t node_cache;     /* bytes of decoded nodes to keep */
	size_t block_cache;    /* bytes of verified data blocks to keep */
};

/* Defaults: a VB_CACHE_DEFAULT cache, 60 s lock wait. */
void vb_store_opts_init(struct vb_store_opts *o);

#define VB_CACHE_DEFAULT ((size_t)16 << 20)
#define VB_CACHE_MIN ((size_t)256 << 10)
#define VB_CACHE_MAX ((uint64_t)1 << 40)
/* Give `bytes` of cache to the store: half to decoded tree nodes, half to
 * verified data blocks (see the CACHE notes in ptree.c and store.c). */
void vb_store_opts_cache(struct vb_store_opts *o, size_t bytes);

struct vb_store;

/* Open (or with create, prepare) the store at `path`.  Errors:
 * VB_ENOENT (missing, no create), VB_ENOTSTORE, VB_EFORMAT, VB_ECORRUPT,
 * VB_EBASE, VB_ELOCKED, VB_EIO. */
enum vb_err vb_store_open(const char *path, const struct vb_store_opts *o,
			  struct vb_store **out);

/* Roll back anything uncommitted, release the lock, close.  NULL-safe. */
void vb_store_close(struct vb_store *s);

/* Things the caller should tell the user (torn tail, moved base...). */
size_t vb_store_nwarnings(const struct vb_store *s);
const char *vb_store_warning(const struct vb_store *s, size_t i);

/* 1 if this handle created the store (it exists only after the commit). */
int vb_store_is_new(const struct vb_store *s);

/* The store's random id (header and every record footer); a byte copy of
 * the file has the same one. */
uint64_t vb_store_id(const struct vb_store *s);

const struct vb_commit *vb_store_head(const struct vb_store *s);
/* Find the commit of `version` (VB_ENOENT beyond the head). */
enum vb_err vb_store_commit_at(struct vb_store *s, uint64_t version, struct vb_commit *out);
/* Read the commit record at `off` (for walking parents). */
enum vb_err vb_store_commit_read(struct vb_store *s, uint64_t off, struct vb_commit *out);
/* The parent of commit `c` (version - 1), with its link checked. */
enum vb_err vb_store_commit_parent(struct vb_store *s, const struct vb_commit *c,
				   struct vb_commit *out);

struct vb_ptree *vb_store_ptree(struct vb_store *s);
struct vb_root vb_store_root_of(const struct vb_commit *c);

/* Append bytes to this session's data record; *p describes them as a
 * piece (contiguous with the previous append's piece). */
enum vb_err vb_store_append(struct vb_store *s, const void *buf, size_t n,
			    struct vb_piece *p);
/* Read `n` bytes of piece `p` starting `skip` bytes into it; verified. */
enum vb_err vb_store_read(struct vb_store *s, const struct vb_piece *p, uint64_t skip,
			  void *buf, size_t n);
/* Send `n` bytes of piece `p` from `skip` to `sink`; base bytes move with
 * the zero-copy path, data bytes are verified first. */
enum vb_err vb_store_send(struct vb_store *s, const struct vb_piece *p, uint64_t skip,
			  uint64_t n, struct vb_sink *sink);

/* Make `root` the new head with these operations; *version gets its number.
 * Writes nodes, ops and the commit record (durably unless no_sync); for a
 * new store, renames it into place.  On failure everything appended since
 * the last commit is cut off and the handle must be closed. */
enum vb_err vb_store_commit(struct vb_store *s, struct vb_root *root, uint32_t flags,
			    const struct vb_op *ops, size_t nops, const char *message,
			    const unsigned char *ext, size_t ext_len, uint64_t *version);
/* `flags` may hold VB_COMMIT_NO_BASE: the caller vouches that `root` has no
 * base piece (the store then opens at this version without the base). */

/* Copy bytes [skip, skip+n) of piece `src` (verified, from the base, the
 * embedded base or a data record) to the end of this session's data
 * record; *out describes the copy. */
enum vb_err vb_store_append_piece(struct vb_store *s, const struct vb_piece *src,
				  uint64_t skip, uint64_t n, struct vb_piece *out);
/* `copy`, made by vb_store_append_piece from the whole base, becomes the
 * embedded base with the next commit: from then on every version reads
 * base pieces from it and the base file is no longer opened. */
enum vb_err vb_store_embed(struct vb_store *s, const struct vb_piece *copy);

/* The store's base file and state (from the head). */
int vb_store_has_base(const struct vb_store *s);
uint64_t vb_store_base_size(const struct vb_store *s);
int vb_store_embedded(const struct vb_store *s);
uint64_t vb_store_oldest(const struct vb_store *s);        /* oldest version kept */
uint64_t vb_store_since_flatten(const struct vb_store *s); /* commits since a flatten */
/* VB_OK if version `c` can be read: it needs no base file, or the base is
 * there (or embedded), or the store was opened lenient_base; else the
 * base file's problem. */
enum vb_err vb_store_need_base(const struct vb_store *s, const struct vb_commit *c);

/* Cut off everything appended since the last commit. */
enum vb_err vb_store_rollback(struct vb_store *s);

/* Call `fn` for each operation of commit `c`, in the order applied. */
enum vb_err vb_store_ops(struct vb_store *s, const struct vb_commit *c,
			 enum vb_err (*fn)(void *arg, const struct vb_op *op), void *arg);

struct vb_verify_stats {
	uint64_t records;       /* records read and checked */
	uint64_t bytes;         /* bytes of the file covered */
	uint64_t versions;      /* versions whose structure was checked */
	uint64_t nodes;         /* distinct tree nodes checked */
};

/* Check every record (length, footer, checksum) and every version's
 * structure (commit links, tree sums and levels, data blocks reachable,
 * operations decodable), and the base file's identity.  `report` gets each
 * problem (file offset, text); the return is VB_ECORRUPT if any was found.
 * `note` gets informational lines (a torn tail).  `st` may be NULL. */
enum vb_err vb_store_verify(struct vb_store *s,
			    void (*report)(void *arg, uint64_t off, const char *what),
			    void (*note)(void *arg, const char *what), void *arg,
			    struct vb_verify_stats *st);

/*
 * Compaction: write a new file beside the store with only what the `keep`
 * newest versions use (their data blocks, moved with copy_file_range and
 * their checksums carried over; their trees, rebuilt; their commits, with
 * times, messages and operations), plus one more version with a COMPACT
 * operation and `message`, sync it, and rename it over the store.  The
 * oldest version kept is marked as a cut (VB_COMMIT_CUT); each version
 * listed in `rs` (the cut, and versions that revert to before it) gets
 * its anchor entries replaced by the restated ones.  The old file is not changed:
 * until the rename it is the store, after it the new file is, so a crash
 * anywhere leaves one valid store (and maybe a temporary file).  On
 * success this handle can no longer write: close it.
 */
struct vb_compact_stats {
	uint64_t version;          /* the new head */
	uint64_t oldest;           /* the oldest version kept */
	uint64_t versions_dropped;
	uint64_t bytes_before, bytes_after;
};
struct vb_restate {
	uint64_t version;          /* a kept version whose anchors are restated */
	unsigned char *ext;        /* VB_EXT_ANCHOR entries: all of them */
	size_t ext_len;
};
enum vb_err vb_store_compact(struct vb_store *s, uint64_t keep, const struct vb_restate *rs,
			     size_t nrs, const char *message,
			     void (*progress)(void *arg, uint64_t done, uint64_t total), void *arg,
			     struct vb_compact_stats *st);
/* For crash tests only: called after every append and sync of a writer
 * and where a compaction copies, syncs and renames (`where` names the
 * step; for an append, `len` bytes were just written at `off` of `fd`, so
 * a test can cut them short as a crash in the middle of the write would;
 * fd is -1 otherwise).  A test ends the process there to see what a crash
 * leaves. */
extern void (*vb_store_crash_hook)(const char *where, int fd, uint64_t off, uint64_t len);

/* Statistics for tests and benchmarks. */
struct vb_store_stats {
	uint64_t file_size;      /* bytes of the file as this handle sees it */
	uint64_t appended;       /* bytes appended by this handle */
	uint64_t block_reads;    /* data blocks read from disk */
	uint64_t block_hits;     /* data blocks served from the cache */
	uint64_t block_cache_bytes; /* pages holding cached blocks */
	uint64_t block_cache_cap;   /* the block cache's size (0: none) */
	uint64_t block_pages_bytes; /* memory its page store holds */
	uint64_t node_cache_bytes;  /* decoded nodes kept by the cache */
	uint64_t node_pages_bytes;  /* memory held for nodes (cached or in use) */
};
void vb_store_stats(const struct vb_store *s, struct vb_store_stats *st);

#endif
