/*
 * vbuf-int: the persistence interface behind a vbuf, and the handle.
 *
 * A backend is a table of operations (struct vb_backend_ops) over an
 * opaque `be`: vbuf-store.c (a store file and the piece tree it owns) and
 * vbuf-mem.c (the flat in-memory model the tests compare against).  The
 * contract every backend keeps:
 *   - Calls come from vbuf.c with the handle's lock held, one at a time;
 *     a backend needs no locking of its own.
 *   - Offsets and lengths have been checked by vbuf.c against the current
 *     length; versions against the head (a backend still refuses a version
 *     it cannot show, e.g. one compacted away: VB_ENOENT).
 *   - Edits (insert, remove, revert, flatten, embed) change the content
 *     shown and are pending until `commit`, which makes them one version
 *     with the operations vbuf.c logged; a failed commit leaves the
 *     backend unusable for writing (vbuf.c marks the handle broken).
 *   - Errors are enum vb_err with the detail set (lib/err.h); a backend
 *     never prints.
 *   - An operation a backend cannot do is NULL (diff, verify, compact,
 *     commit_read for the model) or refuses with VB_EINVAL and a detail
 *     saying why (read_at of an old version in the model); vbuf.c turns a
 *     NULL into a clear error.
 *   - `close` releases everything, pending edits included; NULL-safe.
 */
#ifndef VB_VBUF_INT_H
#define VB_VBUF_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "compact.h"
#include "vbuf.h"

struct vb_backend_ops {
	uint64_t (*len)(void *be);
	uint64_t (*pieces)(void *be);
	uint64_t (*version)(void *be);   /* version shown */
	uint64_t (*head)(void *be);      /* newest version */
	enum vb_err (*read)(void *be, uint64_t off, void *buf, size_t n);
	enum vb_err (*send)(void *be, uint64_t off, uint64_t n, struct vb_sink *sink);
	enum vb_err (*insert)(void *be, uint64_t off, const void *buf, size_t n);
	enum vb_err (*remove)(void *be, uint64_t off, uint64_t n);
	enum vb_err (*revert)(void *be, uint64_t version);
	enum vb_err (*commit)(void *be, const struct vb_op *ops, size_t nops, const char *msg,
			      const unsigned char *ext, size_t ext_len, uint64_t *version);
	enum vb_err (*info)(void *be, uint64_t version, struct vb_commit *out);
	enum vb_err (*ops)(void *be, uint64_t version,
			   enum vb_err (*fn)(void *arg, const struct vb_op *op), void *arg);
	/* The commit before `c` (its parent link: one read for a store);
	 * the operations of a commit in hand; the commit whose `off` a
	 * parent walk gave (NULL for the model: vbuf.c asks `info` then). */
	enum vb_err (*parent)(void *be, const struct vb_commit *c, struct vb_commit *out);
	enum vb_err (*commit_ops)(void *be, const struct vb_commit *c,
				  enum vb_err (*fn)(void *arg, const struct vb_op *op), void *arg);
	enum vb_err (*commit_read)(void *be, uint64_t off, struct vb_commit *out);
	/* The store's state (zeros and the model's version count for the
	 * model) and the warnings from opening (NULL past the end). */
	void (*state)(void *be, struct vb_vbuf_state *out);
	const char *(*warning)(void *be, size_t i);
	/* Cache and file counters (zeros for the model). */
	void (*stats)(void *be, struct vb_vbuf_stats *out);
	/* Bytes [off, off+n) of `version` (n > 0 inside its content), verified;
	 * VB_EINVAL where only the version shown can be read. */
	enum vb_err (*read_at)(void *be, uint64_t version, uint64_t off, void *buf, size_t n);
	/* vb_vbuf_diff, vb_vbuf_verify, the file half of vb_vbuf_compact (the
	 * cut computed by vbuf.c); NULL where the backend has no history
	 * file (the in-memory model): vbuf.c refuses with a clear error. */
	enum vb_err (*diff)(void *be, uint64_t va, uint64_t vb,
			    enum vb_err (*hunk)(void *arg, uint64_t a_off, uint64_t a_len,
						uint64_t b_off, uint64_t b_len),
			    void *arg);
	enum vb_err (*verify)(void *be, void (*report)(void *arg, uint64_t off, const char *what),
			      void (*note)(void *arg, const char *what), void *arg,
			      void (*progress)(void *parg, uint64_t done, uint64_t total),
			      void *parg, struct vb_verify_stats *st);
	enum vb_err (*compact)(void *be, uint64_t oldest, const struct vb_restate *rs, size_t nrs,
			       const char *message,
			       void (*progress)(void *arg, uint64_t done, uint64_t total),
			       void *arg, struct vb_compact_stats *st);
	/* Line ends (lib/lines.h) of committed `version`: *ends = those
	 * whose first byte lies before `off` (line_ends), *pos = the offset
	 * of the first byte of the k-th (k >= 1; VB_ERANGE when there are
	 * fewer).  NULL: vbuf-lines.c reads and counts the bytes. */
	enum vb_err (*line_ends)(void *be, uint64_t version, enum vb_line_mode m, uint64_t off,
				 uint64_t *ends);
	enum vb_err (*line_find)(void *be, uint64_t version, enum vb_line_mode m, uint64_t k,
				 uint64_t *pos);
	/* 1: line_ends and line_find answer for `version` from counts alone */
	int (*line_counted)(void *be, uint64_t version);
	void (*close)(void *be);
	enum vb_err (*flatten)(void *be, const struct vb_flatten_opts *o,
			       struct vb_flatten_stats *st);
	enum vb_err (*embed)(void *be, const struct vb_flatten_opts *o, uint64_t *bytes);
	/* vb_vbuf_count_lines; NULL: the backend has nothing to count */
	enum vb_err (*count_lines)(void *be, const struct vb_flatten_opts *o,
				   struct vb_count_stats *st);
	/* vb_vbuf_set_base; NULL: the backend has no base file */
	enum vb_err (*set_base)(void *be, const char *path,
				void (*progress)(void *arg, uint64_t done, uint64_t total), void *arg,
				unsigned *checked);
	/* vb_vbuf_rollback; NULL: nothing to roll back */
	int (*rollback)(void *be, struct vb_rollback *out);
	/* vb_vbuf_file_use; NULL: the backend reads no file */
	enum vb_file_use (*file_use)(void *be, uint64_t dev, uint64_t ino, const char **name);
};

/* One edit, as the iterators see it: `seq` is the edit count after it. */
struct vb_edit {
	uint64_t seq;
	struct vb_op op;
};

/*
 * The handle.  `mu` (recursive) guards everything but `seq`, which edits
 * bump (release) under `mu` and iterators read without it (acquire) to see
 * whether their chunk copy still matches the content.
 */
struct vb_vbuf {
	pthread_mutex_t mu;
	const struct vb_backend_ops *ops;
	void *be;
	struct vb_op *log;   /* operations of the pending commit */
	size_t nlog, caplog;
	int read_only;
	int broken;
	int auto_flatten;                 /* flatten when `af` says so */
	void (*progress)(void *arg, uint64_t done, uint64_t total);
	void *progress_arg;
	struct vb_auto_flatten af;
	unsigned char ext[VB_EXT_MAX];   /* notes and anchors for the next commit */
	size_t ext_len;

	_Atomic uint64_t seq;    /* edits made through this handle */
	struct vb_edit *edits;   /* edits [edits_head, nedits) newer than the */
	size_t edits_head, nedits, capedits; /* oldest live iterator's seq */
	struct vb_iter *iters;   /* live iterators (doubly linked) */
};

void vb_vbuf_lock(struct vb_vbuf *b);
void vb_vbuf_unlock(struct vb_vbuf *b);

/* vbuf-iter.c: record an edit for the live iterators (none: nothing kept). */
enum vb_err vb_iter_note_edit(struct vb_vbuf *b, const struct vb_op *op);
/* vbuf-iter.c: detach every iterator (the handle is closing). */
void vb_iter_detach_all(struct vb_vbuf *b);

enum vb_err vb_backend_store_open(const char *path, const struct vb_vbuf_opts *o,
				  uint64_t version, const struct vb_backend_ops **ops,
				  void **be);
/* White-box access for tests and benchmarks only (never the library's
 * code paths): the store backend's piece tree, NULL for the model. */
struct vb_ptree *vb_vbuf_tree(struct vb_vbuf *b);

enum vb_err vb_backend_mem_open(const void *data, size_t n, const struct vb_backend_ops **ops,
				void **be);

#endif
