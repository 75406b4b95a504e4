/*
 * vbuf: the virtual buffer, the one door commands use to reach content.
 *
 * A vbuf shows one version of a byte sequence and collects edits to it;
 * vb_vbuf_commit() turns the collected edits into the next version, with
 * every operation recorded (kind, offset, length) in the order applied,
 * each in the coordinates left by the one before.  Behind the door is a
 * persistence backend (vbuf-int.h): the store with its piece tree, or a
 * flat in-memory model used by the tests as the reference.
 *
 * Reads go through bounded caches (decoded tree nodes and verified data
 * blocks, sized by struct vb_vbuf_opts), so memory does not grow with the
 * content.  A vbuf opened at an older version (at_version) is read-only.
 *
 * Threads: one handle may be shared by any number of threads.  Every call
 * holds the handle's lock for its whole duration, so each call sees and
 * leaves one consistent content (vb_vbuf_insert_fds holds it while it
 * reads its descriptors).  A sequence of calls is not atomic: a length
 * asked for may be stale by the next read, which vb_vbuf_read_upto takes
 * care of.  Iterators (below) belong to one thread each.
 */
#ifndef VB_VBUF_H
#define VB_VBUF_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "lines.h"
#include "io.h"
#include "commit.h"

#define VB_HEAD UINT64_MAX

struct vb_vbuf;

/* How to open a store. */
struct vb_vbuf_opts {
	int write;             /* take the write lock */
	int create;            /* with write: create the store if it is missing */
	const char *base;      /* with create: version 0 references this file */
	int no_sync;           /* skip fdatasync (faster, not crash-safe) */
	int lenient_base;      /* a missing/changed base is a warning, not an error */
	int defer_base;        /* a missing/changed base is neither: only a version
				  that reads the base refuses to open */
	double wait;           /* seconds to wait for the write lock; < 0: forever */
	size_t node_cache;     /* bytes of decoded tree nodes to keep */
	size_t block_cache;    /* bytes of verified data blocks to keep */
};

/* Defaults: a VB_CACHE_DEFAULT cache, 60 s lock wait. */
void vb_vbuf_opts_init(struct vb_vbuf_opts *o);

#define VB_CACHE_DEFAULT ((size_t)16 << 20)
#define VB_CACHE_MIN ((size_t)256 << 10)
#define VB_CACHE_MAX ((uint64_t)1 << 40)
/* Give `bytes` of cache to the store: half to decoded tree nodes, half to
 * verified data blocks. */
void vb_vbuf_opts_cache(struct vb_vbuf_opts *o, size_t bytes);

/* Open the store at `path` showing `version` (VB_HEAD for the newest). */
enum vb_err vb_vbuf_open(const char *path, const struct vb_vbuf_opts *o, uint64_t version,
			 struct vb_vbuf **out);
/* An in-memory buffer whose version 0 is a copy of `data` (the model). */
enum vb_err vb_vbuf_open_mem(const void *data, size_t n, struct vb_vbuf **out);
/* Discard uncommitted edits and close.  NULL-safe. */
void vb_vbuf_close(struct vb_vbuf *b);

uint64_t vb_vbuf_len(struct vb_vbuf *b);
/* The version shown (before commit: the one the edits apply to). */
uint64_t vb_vbuf_version(struct vb_vbuf *b);
/* The newest version of the store. */
uint64_t vb_vbuf_head(struct vb_vbuf *b);
/* Pieces in the shown content (1 per byte run; the model reports 1). */
uint64_t vb_vbuf_pieces(struct vb_vbuf *b);

/* Copy bytes [off, off+n) to buf (VB_ERANGE outside the content). */
enum vb_err vb_vbuf_read(struct vb_vbuf *b, uint64_t off, void *buf, size_t n);
/* Copy what there is of bytes [off, off+n) to buf, in one step: *got is
 * n, or less (down to 0) where the content ends first. */
enum vb_err vb_vbuf_read_upto(struct vb_vbuf *b, uint64_t off, void *buf, size_t n, size_t *got);
/* Stream bytes [off, off+n) to a sink (zero-copy for base bytes). */
enum vb_err vb_vbuf_send(struct vb_vbuf *b, uint64_t off, uint64_t n, struct vb_sink *sink);

/* Edits; each is one recorded operation. */
enum vb_err vb_vbuf_insert(struct vb_vbuf *b, uint64_t off, const void *buf, size_t n);
enum vb_err vb_vbuf_delete(struct vb_vbuf *b, uint64_t off, uint64_t n);
enum vb_err vb_vbuf_replace(struct vb_vbuf *b, uint64_t off, uint64_t n, const void *buf,
			    size_t len);
/* Insert everything the descriptors yield, in order, until end of file of
 * each, streamed through a bounded buffer, as one operation.  With
 * `replace` the bytes replace `replace_len` bytes at `off` (one REPLACE
 * operation).  *inserted says how many bytes arrived; on a read error
 * *failed is the index of the descriptor that failed (else nfds). */
enum vb_err vb_vbuf_insert_fds(struct vb_vbuf *b, uint64_t off, const int *fds, size_t nfds,
			       int replace, uint64_t replace_len, uint64_t *inserted,
			       size_t *failed);
/* Insert exactly `n` bytes read from the descriptors in order as one
 * operation, starting with fds[*cur] and moving *cur past each one that
 * ends; reads no byte beyond the n (the next call goes on from there).
 * VB_EIO when they all end first (the edit then failed, as any failed
 * edit: nothing can be committed). */
enum vb_err vb_vbuf_insert_fds_n(struct vb_vbuf *b, uint64_t off, const int *fds, size_t nfds,
				 size_t *cur, uint64_t n);
/* Report the bytes read so far by vb_vbuf_insert_fds to `fn` (total 0:
 * not known), after every chunk; NULL stops it. */
void vb_vbuf_progress(struct vb_vbuf *b, void (*fn)(void *arg, uint64_t done, uint64_t total),
		      void *arg);
/* Make the content that of `version` (one REVERT operation, O(1)). */
enum vb_err vb_vbuf_revert(struct vb_vbuf *b, uint64_t version);

/* Record the edits as a new version (even if there are none). */
enum vb_err vb_vbuf_commit(struct vb_vbuf *b, const char *message, uint64_t *version);

/*
 * Flattening: content unchanged, pieces consolidated.  A full flatten
 * copies the content into the store (one run of the store's own data, in
 * pieces of at most 1 MiB in a store that counts lines; the version no
 * longer needs the base file); a partial one copies only each run of two or more
 * neighbouring pieces shorter than `small`, so its cost follows the
 * fragmented bytes, not the size.  Either is one FLATTEN operation in the
 * next commit; positions (iterators, anchors) do not move.  The progress
 * callback gets the bytes copied so far and the total (0: not known).
 */
#define VB_FLATTEN_SMALL ((uint64_t)64 << 10)

struct vb_flatten_opts {
	int partial;
	uint64_t small;          /* partial: 0 means VB_FLATTEN_SMALL */
	void (*progress)(void *arg, uint64_t done, uint64_t total);
	void *arg;
};

struct vb_flatten_stats {
	uint64_t pieces_before, pieces_after;
	uint64_t bytes;          /* bytes copied */
	uint64_t runs;           /* runs of pieces replaced by one */
};

enum vb_err vb_vbuf_flatten(struct vb_vbuf *b, const struct vb_flatten_opts *o,
			    struct vb_flatten_stats *st);
/* Copy the base file into the store (one EMBED operation): with the next
 * commit every version reads its base bytes from the copy and the base
 * file is no longer needed.  *bytes: bytes copied (0 if it already was).
 * VB_EINVAL for a store without a base (or the model). */
enum vb_err vb_vbuf_embed(struct vb_vbuf *b, const struct vb_flatten_opts *o, uint64_t *bytes);

/*
 * Count lines: make every line question about the content O(log n)
 * (vb-flatten --lines).  A store with a base and no line index of it gets
 * one (lib/lindex: one pass over the base, progress through o->progress
 * with the base size as total); then every piece of the content whose
 * line counts are unknown is counted (base pieces through the index) and
 * the tree rebuilt with the counts: content unchanged, nothing copied.
 * One FLATTEN operation (0 bytes copied) in the next commit, or none when
 * there was nothing to do (*st all zero).  VB_EFORMAT: the store's trees
 * carry no counts (made before vb counted lines: a compaction rewrites it
 * with them); VB_EINVAL for the in-memory model.
 */
struct vb_count_stats {
	uint64_t indexed;          /* base bytes read to build the index (0: it had one) */
	uint64_t pieces;           /* pieces counted */
};
enum vb_err vb_vbuf_count_lines(struct vb_vbuf *b, const struct vb_flatten_opts *o,
				struct vb_count_stats *st);

/* What a compaction did. */
struct vb_compact_stats {
	uint64_t version;          /* the new head */
	uint64_t oldest;           /* the oldest version kept */
	uint64_t versions_dropped;
	uint64_t bytes_before, bytes_after;
};

/*
 * Compaction (lib/compact): rewrite the store file with only the
 * `keep` newest versions (and the anchors they have), plus a version
 * recording the compaction with `message`, and replace the file
 * atomically.  The handle must have no pending edits; afterwards it can
 * only be closed.  Versions before the oldest kept one are gone:
 * asking for them gives VB_ENOENT ("compacted away").
 */
/* Bytes [off, off+n) of committed `version` (any kept one), verified;
 * VB_ERANGE outside its content, VB_ENOENT for a version that does not
 * exist or was compacted away, the base's error where it needs a missing
 * base file; VB_EINVAL from the in-memory model (only its version shown). */
enum vb_err vb_vbuf_read_at(struct vb_vbuf *b, uint64_t version, uint64_t off, void *buf,
			    size_t n);

/*
 * Check the whole store (lib/store's vb_store_verify with the trees walked
 * by the backend): every record, every version's commit links, tree, data
 * blocks and operations, and the base file.  `report` gets each problem,
 * `note` informational lines; VB_ECORRUPT if a problem was found; VB_EINVAL
 * for the in-memory model.  `st` may be NULL.  The progress callback
 * (vb_vbuf_progress) gets the bytes read so far (the store's records, then
 * the base where its line index is checked against it) and their total.
 */
enum vb_err vb_vbuf_verify(struct vb_vbuf *b, void (*report)(void *arg, uint64_t off, const char *what),
			   void (*note)(void *arg, const char *what), void *arg,
			   struct vb_verify_stats *st);

enum vb_err vb_vbuf_compact(struct vb_vbuf *b, uint64_t keep, const char *message,
			    void (*progress)(void *arg, uint64_t done, uint64_t total), void *arg,
			    struct vb_compact_stats *st);

/*
 * Automatic flattening: when set, a commit that has edits first runs a
 * partial flatten (pieces shorter than `small`) if the content then has at
 * least `pieces` pieces, an average piece shorter than `average` bytes,
 * and at least `commits` commits since the last flatten (this one
 * included).  Off by default; NULL turns it off.
 */
#define VB_AUTO_FLATTEN_PIECES 4096
#define VB_AUTO_FLATTEN_AVERAGE ((uint64_t)16 << 10)
#define VB_AUTO_FLATTEN_COMMITS 256

struct vb_auto_flatten {
	uint64_t pieces, average, commits, small;
};

void vb_auto_flatten_init(struct vb_auto_flatten *a);
void vb_vbuf_auto_flatten(struct vb_vbuf *b, const struct vb_auto_flatten *a);

/* Description of `version` (its commit record, or the model's). */
enum vb_err vb_vbuf_info(struct vb_vbuf *b, uint64_t version, struct vb_commit *out);
/* Each operation of `version`, in the order applied. */
enum vb_err vb_vbuf_ops(struct vb_vbuf *b, uint64_t version,
			enum vb_err (*fn)(void *arg, const struct vb_op *op), void *arg);
/*
 * The byte ranges in which committed versions `va` and `vb` differ, as
 * hunks: hunk(a_off, a_len, b_off, b_len) says that bytes [a_off,
 * a_off+a_len) of va's content became bytes [b_off, b_off+b_len) of vb's.
 * Hunks come in increasing order, neither overlapping nor touching, and
 * everything between them is equal content at corresponding positions:
 * replacing each A range by its B range turns va's content into vb's.
 * Identical versions give no hunk.  The hunks follow the tree's sharing
 * (vb_ptree_diff): the work grows with the changes, not with the size,
 * and equal bytes from different sources may be reported as changed.
 * A hunk callback that fails stops the walk with its code.  VB_ENOENT for
 * a version beyond the head; VB_EINVAL for the in-memory model, whose old
 * versions cannot be read through the backend interface.  Uncommitted
 * edits are not seen.
 */
enum vb_err vb_vbuf_diff(struct vb_vbuf *b, uint64_t va, uint64_t vb,
			 enum vb_err (*hunk)(void *arg, uint64_t a_off, uint64_t a_len,
					     uint64_t b_off, uint64_t b_len),
			 void *arg);

/*
 * Positions across versions.  A position names a byte (or the end).  Through
 * an operation it moves like this:
 *   insert at off, len bytes   positions >= off move right by len: an insert
 *                              exactly at a position goes before its byte,
 *                              which keeps its identity (the end stays the end);
 *   delete [off, off+len)      positions after the range move left by len; a
 *                              position inside it moves to off, where the
 *                              deleted bytes were;
 *   replace [off, off+len)     a delete of the old bytes followed by the
 *     with len2 bytes          insert at off: positions inside the old bytes
 *                              end up just after the new ones;
 *   revert to version t        a position is carried to version t's content
 *                              by mapping it from its version to t; if t is
 *                              older than the position's version, it cannot
 *                              be carried (VB_ECONFLICT).
 */
uint64_t vb_op_map(const struct vb_op *op, uint64_t pos);
/*
 * The end of a range moves with the byte before it instead (the range's
 * last byte), so that bytes inserted exactly at the end stay outside:
 *   insert at off              ends > off move right; an end at off stays;
 *   delete [off, off+len)      ends in (off, off+len] move to off, later
 *                              ones left by len;
 *   replace                    the delete, then the insert at off after
 *                              the end: an end inside the old bytes ends up
 *                              before the new ones.
 * A range [start, end) carried with vb_op_map for its start and this for
 * its end keeps exactly its own surviving bytes; one that lay wholly inside
 * replaced bytes comes out with end < start (empty).
 */
uint64_t vb_op_map_end(const struct vb_op *op, uint64_t pos);

/* Map n positions (in place) from version `from` to version `to`
 * (from <= to <= head).  VB_ENOENT for a version beyond the head,
 * VB_ECONFLICT across a revert to before `from`. */
enum vb_err vb_vbuf_map(struct vb_vbuf *b, uint64_t from, uint64_t to, uint64_t *pos, size_t n);
/* The same for range ends (vb_op_map_end). */
enum vb_err vb_vbuf_map_ends(struct vb_vbuf *b, uint64_t from, uint64_t to, uint64_t *pos,
			     size_t n);

/*
 * Anchors: named positions kept with the history.  An anchor is set at an
 * offset of the content a commit makes, and from then on moves like any
 * position (vb_vbuf_map): it stays on its byte while bytes are inserted or
 * deleted around it, and goes to the deletion point if its byte is
 * deleted.  A revert takes the anchors back to the version reverted to
 * (an anchor set later is gone, one removed later is back).
 *
 * Names are 1 to 63 of [A-Za-z0-9_.].
 */
int vb_anchor_name_ok(const char *name);
/* Record for the next commit: an anchor set at `offset` of the content as
 * committed; an anchor removed; the version the edits' offsets were given
 * in (--at-version, for the history). */
enum vb_err vb_vbuf_set_anchor(struct vb_vbuf *b, const char *name, uint64_t offset);
enum vb_err vb_vbuf_remove_anchor(struct vb_vbuf *b, const char *name);
enum vb_err vb_vbuf_note_at_version(struct vb_vbuf *b, uint64_t version);
/* Record for the next commit that it replays a version of another copy
 * of the store (vb_apply_stream): that version's identity, and its time
 * (time_ns < 0: left out).  The commit's identity is then `identity`
 * instead of its own CRC, so the copies keep recognising each other's
 * versions (VB_EXT_ORIGIN, lib/apply.c). */
enum vb_err vb_vbuf_note_origin(struct vb_vbuf *b, uint32_t identity, int64_t time_ns);
/* Where anchor `name` is in `version`'s content.  VB_ENOENT: not set (or
 * removed) at that version. */
enum vb_err vb_vbuf_anchor(struct vb_vbuf *b, const char *name, uint64_t version,
			   uint64_t *offset);
/* Every anchor of `version`, newest setting first: fn(name, offset, set_in)
 * where set_in is the version that set it. */
enum vb_err vb_vbuf_anchors(struct vb_vbuf *b, uint64_t version,
			    enum vb_err (*fn)(void *arg, const char *name, uint64_t offset,
					      uint64_t set_in),
			    void *arg);

/*
 * Iterators: a position in the content that walks it a byte or a chunk at a
 * time, and follows the edits made through the handle.
 *
 * Reading: an iterator copies a chunk (VB_ITER_CHUNK bytes, or what is left
 * before the end or after the start) under the handle's lock and serves
 * bytes from that copy; a move only checks, without locking, that no edit
 * was made since the copy.  Each chunk is therefore one consistent
 * snapshot, even while another thread edits.
 *
 * Following edits: the handle keeps a log of the edits made while
 * iterators live (kind, offset, lengths).  On its next move (or
 * vb_iter_pos) an iterator replays the edits newer than its own last one
 * on its position, the way vb_op_map moves any position:
 *   an insert before the position shifts it right;
 *   an insert exactly at the position goes before the byte the iterator
 *     is on: the iterator stays on that byte, so vb_iter_next() does not
 *     return the inserted bytes and vb_iter_prev() returns the last one;
 *   a delete before the position shifts it left, and a delete covering
 *     it moves it to the deletion point (the first byte after the range);
 *   a replace is a delete followed by an insert at the same offset:
 *     an iterator inside the replaced bytes ends up after the new ones;
 *   a revert keeps the offset, or puts the iterator at the end if the
 *     content reverted to is shorter.
 * The log holds only the edits some live iterator has not seen yet: it is
 * pruned as the oldest iterator moves on or is freed
 * (vb_vbuf_edit_log_len).  Edits through another handle, or by another
 * process, are not seen: they make new versions, and positions are carried
 * to those with vb_vbuf_map or vb_iter_create_at.
 *
 * An iterator is not itself thread-safe: each belongs to one thread, while
 * other threads use the handle.  Free the iterators before closing the
 * handle; an iterator left over fails (VB_EINVAL) once the handle is gone.
 */
#define VB_ITER_CHUNK (64u * 1024u)
#define VB_ITER_END (-1)
#define VB_ITER_ERROR (-2)

struct vb_iter;

/* An iterator on byte `off` (the length: the end) of the content now. */
enum vb_err vb_iter_create(struct vb_vbuf *b, uint64_t off, struct vb_iter **out);
/* An iterator on byte `off` of committed version `version` (at most the
 * version the handle shows), carried through the versions since then
 * (vb_vbuf_map) and the uncommitted edits. */
enum vb_err vb_iter_create_at(struct vb_vbuf *b, uint64_t version, uint64_t off,
			      struct vb_iter **out);
/* NULL-safe. */
void vb_iter_free(struct vb_iter *it);

/* The offset of the byte vb_iter_next() returns (the length at the end),
 * in the content as it is now. */
uint64_t vb_iter_pos(struct vb_iter *it);
/* Move to `off` of the content now (VB_ERANGE beyond the end). */
enum vb_err vb_iter_seek(struct vb_iter *it, uint64_t off);

/* The byte at the position, and step past it; VB_ITER_END at the end. */
int vb_iter_next(struct vb_iter *it);
/* Step back one byte and return it; VB_ITER_END at the start. */
int vb_iter_prev(struct vb_iter *it);
/* Both return VB_ITER_ERROR when a read fails: vb_iter_error() says why
 * (the position is unchanged). */
enum vb_err vb_iter_error(const struct vb_iter *it);

/* The bytes from the position up to the end of the iterator's chunk (at
 * most VB_ITER_CHUNK), and move past them; *n = 0 at the end.  *data is
 * the iterator's copy, valid until its next call. */
enum vb_err vb_iter_next_chunk(struct vb_iter *it, const unsigned char **data, size_t *n);
/* The bytes before the position back to the start of its chunk (at most
 * VB_ITER_CHUNK), and move before them; *n = 0 at the start. */
enum vb_err vb_iter_prev_chunk(struct vb_iter *it, const unsigned char **data, size_t *n);

/* Edits held for the iterators (for tests and diagnostics). */
size_t vb_vbuf_edit_log_len(struct vb_vbuf *b);

/* The store as a whole (the model: zeros). */
struct vb_vbuf_state {
	uint64_t id;             /* the store's random id (a byte copy has the same) */
	uint64_t oldest;         /* the oldest version kept (compaction cuts) */
	uint64_t since_flatten;  /* commits since the last flatten */
	int has_base;            /* version 0 references a base file */
	uint64_t base_size;      /* its size then */
	int embedded;            /* the base is embedded: the file is not read */
};
void vb_vbuf_state(struct vb_vbuf *b, struct vb_vbuf_state *out);

/* The commit before `c` (version c->version - 1), by its parent link:
 * one read, where vb_vbuf_info searches.  VB_ENOENT before version 0 or
 * the oldest kept. */
enum vb_err vb_vbuf_parent(struct vb_vbuf *b, const struct vb_commit *c, struct vb_commit *out);
/* The operations of commit `c` (from vb_vbuf_info or vb_vbuf_parent), in
 * the order applied. */
enum vb_err vb_vbuf_commit_ops(struct vb_vbuf *b, const struct vb_commit *c,
			       enum vb_err (*fn)(void *arg, const struct vb_op *op), void *arg);

/* Counters for tests and benchmarks: the store file and its caches. */
struct vb_vbuf_stats {
	uint64_t file_size;         /* bytes of the store file as this handle sees it */
	uint64_t appended;          /* bytes appended by this handle */
	uint64_t block_reads;       /* data blocks read from disk */
	uint64_t block_hits;        /* data blocks served from the cache */
	uint64_t block_cache_bytes; /* pages holding cached blocks */
	uint64_t block_cache_cap;   /* the block cache's size (0: none) */
	uint64_t block_pages_bytes; /* memory its page store holds */
	uint64_t node_cache_bytes;  /* decoded tree nodes kept by the cache */
	uint64_t node_pages_bytes;  /* memory held for nodes (cached or in use) */
	uint64_t node_hits, node_misses; /* node cache lookups */
};
void vb_vbuf_stats(struct vb_vbuf *b, struct vb_vbuf_stats *out);

/*
 * Lines of a committed version (lib/lines.h: VB_LINES_LF counts '\n',
 * VB_LINES_ANY counts "\r\n", a lone '\r' and a lone '\n', each as one
 * line end, as vb-frame -l frames them).  Line 1 starts at offset 0, line
 * N > 1 just after the (N-1)th line end.  The content has as many lines
 * as line ends, plus one when it is not empty and does not end with a
 * line end (the last line then has none), as `sed -n '$='` counts them.
 * Like vb_vbuf_read_at: any kept committed version, uncommitted edits are
 * not seen; VB_ENOENT for a version that does not exist or was compacted
 * away, the read error (VB_EIO, VB_ECORRUPT, the base's) when bytes are
 * read.  Where the store's tree knows the counts the work is O(log n);
 * elsewhere the bytes are read and counted.
 *
 * vb_vbuf_line_count: the number of lines.
 * vb_vbuf_line_start: the offset of the first byte of line `n`, for
 *   1 <= n <= lines + 1 (n = lines + 1: the content length, where a line
 *   appended at the end would start); VB_ERANGE "line N is beyond the end
 *   (the content has L lines)" above, VB_EINVAL for n = 0.
 * vb_vbuf_line_of: the line holding byte `off` (0 <= off <= length): 1 +
 *   the line ends lying wholly before `off` (a "\r\n" whose '\n' is at
 *   `off` is not); VB_ERANGE beyond the length.
 */
enum vb_err vb_vbuf_line_count(struct vb_vbuf *b, uint64_t version, enum vb_line_mode m,
			       uint64_t *lines);
/* 1 when the line functions answer for committed `version` from counts
 * alone (O(log n), nothing read but a byte or two), 0 when they would
 * read bytes (the store does not count lines, or some of the version's
 * pieces were never counted: a base larger than 1 MiB), or on any error.
 * A caller with a cheaper way for its case (reading backward from the
 * end) asks this first. */
int vb_vbuf_line_counted(struct vb_vbuf *b, uint64_t version);
enum vb_err vb_vbuf_line_start(struct vb_vbuf *b, uint64_t version, enum vb_line_mode m,
			       uint64_t n, uint64_t *off);
enum vb_err vb_vbuf_line_of(struct vb_vbuf *b, uint64_t version, enum vb_line_mode m,
			    uint64_t off, uint64_t *line);

/* Warnings from opening (torn tail, moved base); "" past the end. */
size_t vb_vbuf_nwarnings(struct vb_vbuf *b);
const char *vb_vbuf_warning(struct vb_vbuf *b, size_t i);

/* Whether the file open as `fd` is one the buffer reads: the store file
 * itself, or its base file (*name: the base's path as the store records
 * it; an embedded base is not read).  So a command can refuse to write a
 * store's content onto a file it reads (`vb-cat s.vb >> s.vb`).  A
 * descriptor that cannot be examined is VB_USE_NONE. */
enum vb_file_use { VB_USE_NONE, VB_USE_STORE, VB_USE_BASE };
enum vb_file_use vb_vbuf_file_use(struct vb_vbuf *b, int fd, const char **name);

/* Re-bind a store to `path`, a copy of its base file (after `cp` without
 * -p, say, every command refuses the copy: its time differs): the file
 * must have the base's size and the bytes the header sampled, and, where
 * the store keeps the CRC-32 of the base's whole content (its line
 * index: vb_vbuf_count_lines), that CRC (the file is read whole; progress
 * as it goes).  The next commit makes it the base of every version and
 * records what was checked (*checked: VB_REBIND_SIZE, _SAMPLES, _CRC).
 * VB_EBASE naming what differs; VB_EINVAL without a base file or with
 * the base embedded. */
enum { VB_SET_BASE_SIZE = 1, VB_SET_BASE_SAMPLES = 2, VB_SET_BASE_CRC = 4 };
enum vb_err vb_vbuf_set_base(struct vb_vbuf *b, const char *path,
			     void (*progress)(void *arg, uint64_t done, uint64_t total), void *arg,
			     unsigned *checked);

/* For a writer interrupted by a signal: the store file (descriptor,
 * device, inode) and the length it had after the last commit.  All that
 * lies past it is uncommitted (appended by this writer, which holds the
 * lock), so a signal handler may cut the file back to it with
 * ftruncate(2), which is async-signal-safe, before the process ends; the
 * store is then as the last commit left it.  Valid until the next
 * commit or the close (ask again after a commit).  0: nothing to roll
 * back this way (a reader, a memory buffer, a new store not yet in
 * place: its file has no name until the first commit). */
struct vb_rollback {
	int fd;
	uint64_t dev, ino, end;
};
int vb_vbuf_rollback(struct vb_vbuf *b, struct vb_rollback *out);

/* Whether the open file `fd` looks like a store (vb_store_probe: the store
 * magic, or a damaged store's last record footer): 1 or 0, never an error;
 * the file offset does not move.  A command that takes stores and plain
 * files alike asks this before vb_vbuf_open. */
int vb_vbuf_probe(int fd);

#endif
