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
 * blocks, sized by vb_store_opts), so memory does not grow with the
 * content.  A vbuf opened at an older version (at_version) is read-only.
 * Not thread-safe: one thread per vbuf.
 */
#ifndef VB_VBUF_H
#define VB_VBUF_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "io.h"
#include "store.h"

#define VB_HEAD UINT64_MAX

struct vb_vbuf;

/* Open the store at `path` showing `version` (VB_HEAD for the newest). */
enum vb_err vb_vbuf_open(const char *path, const struct vb_store_opts *o, uint64_t version,
			 struct vb_vbuf **out);
/* An in-memory buffer whose version 0 is a copy of `data` (the model). */
enum vb_err vb_vbuf_open_mem(const void *data, size_t n, struct vb_vbuf **out);
/* Discard uncommitted edits and close.  NULL-safe. */
void vb_vbuf_close(struct vb_vbuf *b);

uint64_t vb_vbuf_len(const struct vb_vbuf *b);
/* The version shown (before commit: the one the edits apply to). */
uint64_t vb_vbuf_version(const struct vb_vbuf *b);
/* The newest version of the store. */
uint64_t vb_vbuf_head(const struct vb_vbuf *b);
/* Pieces in the shown content (1 per byte run; the model reports 1). */
uint64_t vb_vbuf_pieces(const struct vb_vbuf *b);

/* Copy bytes [off, off+n) to buf (VB_ERANGE outside the content). */
enum vb_err vb_vbuf_read(struct vb_vbuf *b, uint64_t off, void *buf, size_t n);
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
/* Make the content that of `version` (one REVERT operation, O(1)). */
enum vb_err vb_vbuf_revert(struct vb_vbuf *b, uint64_t version);

/* Record the edits as a new version (even if there are none). */
enum vb_err vb_vbuf_commit(struct vb_vbuf *b, const char *message, uint64_t *version);

/* Description of `version` (its commit record, or the model's). */
enum vb_err vb_vbuf_info(struct vb_vbuf *b, uint64_t version, struct vb_commit *out);
/* Each operation of `version`, in the order applied. */
enum vb_err vb_vbuf_ops(struct vb_vbuf *b, uint64_t version,
			enum vb_err (*fn)(void *arg, const struct vb_op *op), void *arg);

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

/* Map n positions (in place) from version `from` to version `to`
 * (from <= to <= head).  VB_ENOENT for a version beyond the head,
 * VB_ECONFLICT across a revert to before `from`. */
enum vb_err vb_vbuf_map(struct vb_vbuf *b, uint64_t from, uint64_t to, uint64_t *pos, size_t n);

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

/* Store-backed only (NULL / VB_EINVAL for the model). */
struct vb_store *vb_vbuf_store(struct vb_vbuf *b);

/* Warnings from opening (torn tail, moved base); "" past the end. */
size_t vb_vbuf_nwarnings(const struct vb_vbuf *b);
const char *vb_vbuf_warning(const struct vb_vbuf *b, size_t i);

#endif
