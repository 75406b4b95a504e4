/*
 * store: the on-disk file of a vb store, and nothing above it (layout in
 * store-format.h, recovery in store.c; the history vocabulary in
 * commit.h).
 *
 * A store handle is either a reader (no lock; sees the head that existed
 * when it opened, or an older version) or a writer (holds the write lock
 * from open to close; sees the head as it was once the lock was taken).
 * A writer appends data blocks as it goes (vb_store_append), then
 * vb_store_commit() writes the operations, has its caller write the new
 * tree nodes (NODE records: the store frames them, lib/ptree encodes them)
 * and writes the commit record, with fdatasync before and after the
 * commit record.  Any append not followed by a successful commit is cut
 * off again by vb_store_rollback() or vb_store_close(), so a failed writer
 * leaves the file as it found it (less a torn tail left by an earlier
 * crash).
 *
 * A store created by a writer has no version until its creator commits
 * version 0, and lives in a temporary file beside its final name until the
 * second commit, which renames it into place (never over an existing
 * file), so a store is never visible without its first edit.
 *
 * Threads: a handle is used by one thread at a time (the vbuf above it
 * holds a lock around every call); separate handles, in one process or
 * many, may read and write the same file: readers need no lock, writers
 * take the file's write lock.
 *
 * Errors: every fallible function returns an enum vb_err with the detail
 * set (lib/err.h) and prints nothing: VB_ENOENT (no such store or version),
 * VB_ENOTSTORE, VB_EFORMAT (a format this build does not read),
 * VB_ECORRUPT (damage, with the record's offset), VB_EBASE (the base file
 * is missing or changed), VB_ELOCKED (the write lock was not had in
 * time), VB_EEXIST (created meanwhile by another process), VB_ELIMIT,
 * VB_EINVAL (a misuse: not a writer, a bad argument), VB_ENOMEM, VB_EIO.
 * After a failed commit the handle must be closed.
 */
#ifndef VB_STORE_H
#define VB_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "io.h"
#include "commit.h"
#include "piece.h"

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
	size_t block_cache;    /* bytes of verified data blocks to keep (the
				  BLOCK CACHE notes in store.c) */
};

/* Defaults: a VB_STORE_BLOCK_CACHE block cache, 60 s lock wait. */
void vb_store_opts_init(struct vb_store_opts *o);
#define VB_STORE_BLOCK_CACHE ((size_t)8 << 20)

struct vb_store;

/* Open (or with create, prepare) the store at `path`.  Errors:
 * VB_ENOENT (missing, no create), VB_ENOTSTORE, VB_EFORMAT, VB_ECORRUPT,
 * VB_EBASE, VB_ELOCKED, VB_EIO. */
enum vb_err vb_store_open(const char *path, const struct vb_store_opts *o,
			  struct vb_store **out);

/* Whether the open file `fd` looks like a store: a regular file with the
 * store magic at offset 0, or, a store whose header was damaged, one that
 * ends with a plausible record footer (magic, type, length and own offset
 * agreeing with the file size).  1 or 0, never an error (a file that
 * cannot be read is 0); reads with pread, so the file offset stays. */
int vb_store_probe(int fd);

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

/* The tree a commit names: its root NODE record (0: empty content), the
 * content's length and piece count.  The store frames the nodes; their
 * encoding, and the tree, belong to lib/ptree and its owner (the vbuf
 * store backend). */
struct vb_store_root {
	uint64_t off, bytes, pieces;
};
struct vb_store_root vb_store_root_of(const struct vb_commit *c);

/* NODE records.  Read and verify the one at `off` (it must lie before the
 * committed end as this handle sees it, or be one this writer appended):
 * copy its payload, at most `cap` bytes, to `buf` and its length to *len
 * (VB_ECORRUPT if damaged or larger).  Append one (writers only; len at
 * most VB_STORE_NODE_MAX): it starts at vb_store_tell(). */
#define VB_STORE_NODE_MAX 65536u
enum vb_err vb_store_node_read(struct vb_store *s, uint64_t off, unsigned char *buf,
			       size_t cap, size_t *len);
enum vb_err vb_store_node_write(struct vb_store *s, const unsigned char *buf, size_t len);
/* The offset at which the next appended record starts; the lowest offset a
 * record can have (the header's length). */
uint64_t vb_store_tell(const struct vb_store *s);
uint64_t vb_store_records_start(const struct vb_store *s);

/* Append bytes to this session's data record; *p describes them as a
 * piece (contiguous with the previous append's piece).  Full blocks wait
 * in memory and are written VB_STORE_BATCH at a time (lib/store.c, the
 * batch): until the next other write, read of them or commit, the file
 * may end before vb_store_tell. */
#define VB_STORE_BATCH 16u
enum vb_err vb_store_append(struct vb_store *s, const void *buf, size_t n,
			    struct vb_piece *p);
/* For reading base bytes [off, off+n) straight from the base file (a
 * thread may pread it while the store is in use): its descriptor in
 * *fd, or -1 where the base is the embedded copy (read it with
 * vb_store_read).  Errors as vb_store_read's: no base file, a range
 * outside it.  A base file found shorter than recorded is the error
 * vb_store_base_short gives (VB_EBASE). */
enum vb_err vb_store_base_fd(struct vb_store *s, uint64_t off, uint64_t n, int *fd);
enum vb_err vb_store_base_short(const struct vb_store *s);
/* Re-bind the store to `path`, a copy of its base file (a writer; the
 * next commit makes it the base, every version reading it; a rollback
 * forgets it).  The file must have the base's size and, at the offsets
 * the header sampled, the same bytes; with `check_crc`, its whole
 * content must have CRC-32 `want_crc` (the line index's record of the
 * base: read at disk speed, `progress` called as it goes).  VB_EBASE
 * naming what differs; VB_EINVAL for a store without a base file or with
 * its base embedded.  *checked: the VB_REBIND_* bits of what was
 * checked (the commit records them, VB_EXT_SET_BASE). */
enum { VB_REBIND_SIZE = 1, VB_REBIND_SAMPLES = 2, VB_REBIND_CRC = 4 };
enum vb_err vb_store_rebind_base(struct vb_store *s, const char *path, int check_crc,
				 uint32_t want_crc,
				 void (*progress)(void *arg, uint64_t done, uint64_t total), void *arg,
				 unsigned *checked);
/* Whether file (dev, ino) is the store file (1) or the base file it
 * reads (2, *name its recorded path; not for an embedded base), else 0.
 * A base not opened yet is looked for where the store would look. */
int vb_store_file_use(struct vb_store *s, uint64_t dev, uint64_t ino, const char **name);
/* A writer's file and its length after the last commit (see
 * vb_vbuf_rollback); 0 for a reader, a broken writer, or a new store
 * whose file is not in place yet. */
int vb_store_rollback_point(struct vb_store *s, int *fd, uint64_t *dev, uint64_t *ino,
			    uint64_t *end);
/* Read `n` bytes of piece `p` starting `skip` bytes into it; verified. */
enum vb_err vb_store_read(struct vb_store *s, const struct vb_piece *p, uint64_t skip,
			  void *buf, size_t n);
/* Send `n` bytes of piece `p` from `skip` to `sink`; base bytes move with
 * the zero-copy path, data bytes are verified first. */
enum vb_err vb_store_send(struct vb_store *s, const struct vb_piece *p, uint64_t skip,
			  uint64_t n, struct vb_sink *sink);

/* Make a new head with these operations; *version gets its number.
 * Writes the ops record, then calls write_tree(arg, &root), which appends
 * the new version's tree (vb_store_node_write) and fills `root`, then the
 * commit record (durably unless no_sync).  A store this handle created has
 * no version until its first commit, which must be version 0 (one
 * VB_OP_CREATE: the base as it is, or nothing); it stays in the temporary
 * file (unsynced) until the second, which renames it into place.  On
 * failure, write_tree's included, everything appended since the last commit
 * is cut off and the handle must be closed. */
enum vb_err vb_store_commit(struct vb_store *s,
			    enum vb_err (*write_tree)(void *arg, struct vb_store_root *root),
			    void *arg, uint32_t flags, const struct vb_op *ops, size_t nops,
			    const char *message, const unsigned char *ext, size_t ext_len,
			    uint64_t *version);
/* `flags` may hold VB_COMMIT_NO_BASE: the caller vouches that `root` has no
 * base piece (the store then opens at this version without the base). */

/* Copy bytes [skip, skip+n) of piece `src` (verified, from the base, the
 * embedded base or a data record) to the end of this session's data
 * record; *out describes the copy. */
enum vb_err vb_store_append_piece(struct vb_store *s, const struct vb_piece *src,
				  uint64_t skip, uint64_t n, struct vb_piece *out);
/* The same, and *lines (not NULL) gets the line counts of the bytes
 * copied where the copy could count them on its way (copies from the
 * base file), unknown otherwise: never an extra pass over them.  Full
 * blocks are batched as vb_store_append's. */
enum vb_err vb_store_append_counted(struct vb_store *s, const struct vb_piece *src,
				    uint64_t skip, uint64_t n, struct vb_piece *out,
				    struct vb_lines *lines);
/* `copy`, made by vb_store_append_piece from the whole base, becomes the
 * embedded base with the next commit: from then on every version reads
 * base pieces from it and the base file is no longer opened. */
enum vb_err vb_store_embed(struct vb_store *s, const struct vb_piece *copy);

/*
 * Auxiliary records: the base's line index (lib/lindex.c; store-format.h,
 * LINE INDEX), records a reader may skip.  vb_store_aux_append appends
 * one of `type` (a writer, before any data of its session: VB_EINVAL
 * after; n <= VB_STORE_NODE_MAX) and gives its offset; like every
 * record it is part of the store only once a commit follows (a rollback
 * drops it).  vb_store_aux_read reads one back, verified (VB_ECORRUPT if
 * it is not a sound record of that type), into buf of cap bytes.
 *
 * vb_store_line_index: the offset of the line index directory the head
 * refers to (or the one set for the next commit); 0: none.
 * vb_store_set_line_index: the next commit (and every one after it)
 * refers to `off` (0: to none).
 * vb_store_base_samples_crc: the CRC-32 of the header's sample table, the
 * base's identity as the header records it (the index is bound to it).
 */
enum { VB_STORE_REC_LINES = 5, VB_STORE_REC_LINEDIR = 6 };
enum vb_err vb_store_aux_append(struct vb_store *s, unsigned type, const void *buf, size_t n,
				uint64_t *off);
enum vb_err vb_store_aux_read(struct vb_store *s, uint64_t off, unsigned type, void *buf,
			      size_t cap, size_t *len);
uint64_t vb_store_line_index(const struct vb_store *s);
void vb_store_set_line_index(struct vb_store *s, uint64_t off);
uint32_t vb_store_base_samples_crc(const struct vb_store *s);

/* Whether the store's trees count lines (the header's feature bit
 * VB_FMT_FEAT_LINES: node encoding 2, lib/ptree.c); every store created
 * or rewritten by this vb does, older ones do not. */
int vb_store_counts_lines(const struct vb_store *s);

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


/* The tree half of verify, given by the owner of the trees: walk the tree
 * of commit `c`, calling piece(parg, p) for every piece reached (subtrees
 * already walked for another commit may be skipped), and return
 * VB_ECORRUPT with the detail set if the tree is damaged. */
struct vb_verify_tree {
	enum vb_err (*walk)(void *ctx, const struct vb_commit *c,
			    enum vb_err (*piece)(void *parg, const struct vb_piece *p),
			    void *parg);
	void *ctx;
};

/* Check every record (length, footer, checksum) and every version's
 * structure (commit links, the tree through `tree` if not NULL, the data
 * blocks its pieces reach, operations decodable), and the base file's
 * identity.  `report` gets each problem (file offset, text); the return is
 * VB_ECORRUPT if any was found.  `note` gets informational lines (a torn
 * tail).  `progress`, if not NULL, gets the bytes of records checked and
 * their total as the records are read.  `st` may be NULL; st->nodes is
 * left 0 (the tree's owner counts them).  The tree's owner checks the line
 * counts of base pieces; the store those of data pieces. */
enum vb_err vb_store_verify(struct vb_store *s, const struct vb_verify_tree *tree,
			    void (*report)(void *arg, uint64_t off, const char *what),
			    void (*note)(void *arg, const char *what), void *arg,
			    void (*progress)(void *parg, uint64_t done, uint64_t total), void *parg,
			    struct vb_verify_stats *st);

/*
 * Rewriting (lib/compact builds a compaction on these): a second writer
 * handle on a new temporary file beside the store, with the store's header
 * (its id and base identity), into which whole data blocks are copied and
 * commit records written with the fields the caller gives, then renamed
 * over the store.  The old file is not changed: until the rename it is the
 * store, after it the new file is, so a crash anywhere leaves one valid
 * store (and maybe a temporary file, which the next rewrite removes).
 */
#define VB_STORE_BLOCK 65536u   /* payload bytes of a data block (format) */

/* The state every commit carries (VB_EXT_STATE) for the store: the oldest
 * version kept, the data record of the embedded base (0: none), commits
 * since the last flatten. */
struct vb_store_state {
	uint64_t oldest, embed_rec, since_flatten;
};
/* The head's state; the state entry of commit `c` (zeros if it has none). */
void vb_store_state(const struct vb_store *s, struct vb_store_state *st);
enum vb_err vb_commit_state(const struct vb_commit *c, struct vb_store_state *st);

/* Open the rewrite of writer `s` (which keeps the write lock throughout).
 * Removes temporary files an earlier rewrite left. */
enum vb_err vb_store_rewrite_open(struct vb_store *s, struct vb_store **out);
/* Copy data blocks b0..b1 of the data record at `rec` of `from` to the end
 * of rewrite `to` (copy_file_range where it can: the payloads are not read
 * and their checksums are carried over, so damage stays detectable);
 * *at gets the copy's offset: byte k of the old record, for k in blocks
 * b0..b1, is byte k - b0 * VB_STORE_BLOCK of the data record at *at. */
enum vb_err vb_store_copy_blocks(struct vb_store *to, struct vb_store *from, uint64_t rec,
				 uint64_t b0, uint64_t b1, uint64_t *at);
/* Append an OPS record (*off 0 when nops is 0) to rewrite `s`. */
enum vb_err vb_store_write_ops(struct vb_store *s, const struct vb_op *ops, size_t nops,
			       uint64_t *off, uint64_t *bytes);
/* Append commit `c` to rewrite `s` as given (version, links, root, ops,
 * flags, time, sums; the store's state entry from `st` follows the
 * caller's `ext`); fills c->off, crc, rec_len, message and ext, and
 * makes it the rewrite's head. */
enum vb_err vb_store_append_commit(struct vb_store *s, struct vb_commit *c, const char *message,
				   const unsigned char *ext, size_t ext_len,
				   const struct vb_store_state *st);
/* Sync rewrite `n` and rename it over the file of `s`.  On success `n` is
 * the store (close it) and `s` can no longer write (close it too). */
enum vb_err vb_store_rewrite_publish(struct vb_store *n, struct vb_store *s);
/* Close a rewrite that failed: its temporary file goes.  NULL-safe. */
void vb_store_rewrite_abandon(struct vb_store *n);

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
};
void vb_store_stats(const struct vb_store *s, struct vb_store_stats *st);

#endif
