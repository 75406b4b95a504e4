/*
 * export: writing portable edits (vb_export_stream, vb_export_identity;
 * the contract is in export.h, the stream's format in export-int.h).
 * Reading a stream and applying it to a store is apply.c's.
 *
 * One pass over the versions after SINCE: a HEADER, then for each version
 * its VERSION, EDIT and DATA records and its COMMIT (export_version), an
 * END last.  Each record is built in one payload buffer, compressed into
 * one frame buffer (emit) and handed to the writer at once: nothing of
 * the stream is kept.
 *
 * Ownership: the handle is only read (versions, diffs, anchors and
 * commits, through vbuf.h), on the caller's thread; the export starts no
 * thread.  Every buffer and the compressors' state belong to the call
 * (struct exp), allocated and freed by vb_export_stream on every path.  The
 * writer is lent each record's bytes for the time of its call.
 *
 * Errors: the first one stops the export and is returned as it is (the
 * store's, the writer's, VB_ELIMIT for too many anchor entries); what
 * was written stays written, and a reader refuses a stream that stops
 * before its END record as truncated.
 *
 * Memory, whatever the size of the store or of an edit: a frame buffer
 * (REC_HEAD + compressBound(VB_EXPORT_PAYLOAD_MAX)), a payload buffer
 * (VB_EXPORT_PAYLOAD_MAX), two comparison buffers (CMP_MAX), zlib's
 * deflate state (and igzip's, with its level buffer: about 360 KiB),
 * and three lists of the anchors of one version.  An
 * edit's inserted bytes are read and written one DATA record (at most
 * VB_EXPORT_DATA_MAX bytes) at a time.
 *
 * WHAT IS EXPORTED
 *   A version's edits are the hunks of vb_vbuf_diff(v-1, v), each applied
 *   at its offset in B's coordinates (delete A's bytes, insert B's), with
 *   the bytes both sides have in common at a hunk's start and end left
 *   out by comparing them (the diff tells bytes apart by where they are
 *   stored, so a partial flatten in the same commit, or bytes deleted and
 *   inserted again, would otherwise travel as changes).  A version whose
 *   operations cannot change the content (none, or only flatten, embed
 *   and compact) is exported without edits and without reading anything.
 *   Bytes equal by chance inside a hunk still travel: an export can be
 *   larger than the change, never wrong.
 *
 *   Anchors: the receiver's anchors after the version are its anchors
 *   before, moved through the edits (vb_op_map of each insert, delete or
 *   replace), then changed by the entries.  The exporter works that out
 *   the same way for the anchors it had at v-1 (which both copies share)
 *   and compares with its own anchors at v; the entries are the version's
 *   own anchor entries, then one entry per anchor that would still
 *   differ.  Entries of other types do not travel: the store state is the
 *   receiver's own, the version an edit's offsets were given in
 *   (--at-version) does not describe the edits sent, and the origin is
 *   written anew from the VERSION's identity.
 *
 * COMPRESSION
 *   A record's payload is one zlib stream (RFC 1950), whatever made it:
 *   apply.c inflates it with zlib.  At the default level, a build with
 *   ISA-L (VB_HAVE_ISAL, the meson feature `isal`) compresses a payload
 *   of IGZIP_MIN bytes or more with igzip at its level 1, about ten
 *   times zlib's level-6 speed for a few per cent more bytes on text
 *   (tests/bench/PERFORMANCE.md, the export figures); smaller ones, where
 *   the time is not in the compression and zlib's few bytes less are
 *   most of a small edit's export, stay zlib's.  A record igzip cannot
 *   finish within the frame buffer (vb_export_packed_max, the bound a
 *   reader accepts) is compressed again by zlib, whose bound it is.  An
 *   explicit level is zlib's.
 */
#include "export.h"
#include "export-int.h"
#include "grow.h"
#include "le.h"
#include "vbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#ifdef VB_HAVE_ISAL
#include <isa-l/igzip_lib.h>

#define IGZIP_LEVEL 1
#define IGZIP_LEVEL_BUF ISAL_DEF_LVL1_DEFAULT
#define IGZIP_MIN 4096
#endif

/* the ends of a hunk are compared in reads of CMP_FIRST bytes, doubling
 * up to CMP_MAX */
#define CMP_FIRST 4096
#define CMP_MAX 65536

/* ------------------------------------------------------------ identity */

struct origin {
	int found;
	uint32_t identity;
	int64_t time_ns;
	int has_time;
};

static enum vb_err find_origin(void *arg, unsigned type, const unsigned char *d, size_t len)
{
	struct origin *o = arg;

	if (type == VB_EXT_ORIGIN && len >= 4 && !o->found) {
		o->found = 1;
		o->identity = vb_le_get32(d);
		if (len >= 12) {
			o->has_time = 1;
			o->time_ns = (int64_t)vb_le_get64(d + 4);
		}
	}
	return VB_OK;
}

static struct origin origin_of(const struct vb_commit *c)
{
	struct origin o = {0, 0, 0, 0};
	vb_commit_ext(c, find_origin, &o);
	return o;
}

uint32_t vb_export_identity(const struct vb_commit *c)
{
	struct origin o = origin_of(c);
	return o.found ? o.identity : c->crc;
}

/* ------------------------------------------------------------- anchors */

struct anc {
	char name[NAME_MAX_LEN + 1];
	uint64_t pos;       /* in the version before */
	uint64_t out;       /* in the version after */
	int live;
};

struct alist {
	struct anc *a;
	size_t n, cap;
};

static struct anc *alist_find(struct alist *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->a[i].name, name))
			return &l->a[i];
	return NULL;
}

static enum vb_err alist_set(struct alist *l, const char *name, uint64_t pos)
{
	struct anc *a = alist_find(l, name);
	enum vb_err rc;

	if (!a) {
		if ((rc = vb_grow(&l->a, &l->cap, l->n, sizeof *l->a, 8)))
			return rc;
		a = &l->a[l->n++];
		snprintf(a->name, sizeof a->name, "%s", name);
	}
	a->pos = a->out = pos;
	a->live = 1;
	return VB_OK;
}

static enum vb_err collect_anchor(void *arg, const char *name, uint64_t offset, uint64_t set_in)
{
	(void)set_in;
	return alist_set(arg, name, offset);
}

static int by_pos(const void *x, const void *y)
{
	const struct anc *a = x, *b = y;
	return a->pos < b->pos ? -1 : a->pos > b->pos;
}

static int by_name(const void *x, const void *y)
{
	return strcmp(((const struct anc *)x)->name, ((const struct anc *)y)->name);
}

/* qsort, which must not be given NULL, even for nothing. */
static void alist_sort(struct alist *l, int (*cmp)(const void *, const void *))
{
	if (l->n)
		qsort(l->a, l->n, sizeof *l->a, cmp);
}

/* Drop the removed ones; `out` becomes `pos`. */
static void alist_settle(struct alist *l)
{
	size_t w = 0;
	for (size_t i = 0; i < l->n; i++) {
		if (!l->a[i].live)
			continue;
		l->a[w] = l->a[i];
		l->a[w].pos = l->a[w].out;
		w++;
	}
	l->n = w;
}

struct entries {
	struct alist *l;       /* applied to these (by `out`) */
	unsigned char *buf;    /* and copied here, if not NULL */
	size_t len;
};

/* A commit's anchor entries, in order, on the list's `out` positions. */
static enum vb_err apply_entry(void *arg, unsigned type, const unsigned char *d, size_t len)
{
	struct entries *e = arg;
	char name[NAME_MAX_LEN + 1];
	size_t off = type == VB_EXT_ANCHOR ? 8 : 0;
	enum vb_err rc;

	if (!((type == VB_EXT_ANCHOR && len > 8) || (type == VB_EXT_UNANCHOR && len > 0)) ||
	    len - off > NAME_MAX_LEN)
		return VB_OK;
	memcpy(name, d + off, len - off);
	name[len - off] = 0;
	if (type == VB_EXT_ANCHOR) {
		struct anc *a = alist_find(e->l, name);
		if (!a) {
			if ((rc = alist_set(e->l, name, 0)))
				return rc;
			a = alist_find(e->l, name);
		}
		a->out = vb_le_get64(d);
		a->live = 1;
	} else {
		struct anc *a = alist_find(e->l, name);
		if (a)
			a->live = 0;
	}
	if (e->buf) {
		if (e->len + 3 + len > ENTRIES_MAX)
			return vb_err_set(VB_ELIMIT, "too many anchor entries");
		e->buf[e->len] = (unsigned char)type;
		vb_le_put16(e->buf + e->len + 1, (uint16_t)len);
		memcpy(e->buf + e->len + 3, d, len);
		e->len += 3 + len;
	}
	return VB_OK;
}

static enum vb_err add_entry(unsigned char *buf, size_t *len, const struct anc *a, int set)
{
	size_t n = strlen(a->name), l = (set ? 8 : 0) + n;

	if (*len + 3 + l > ENTRIES_MAX)
		return vb_err_set(VB_ELIMIT, "too many anchor entries");
	buf[*len] = set ? VB_EXT_ANCHOR : VB_EXT_UNANCHOR;
	vb_le_put16(buf + *len + 1, (uint16_t)l);
	if (set)
		vb_le_put64(buf + *len + 3, a->out);
	memcpy(buf + *len + 3 + (set ? 8 : 0), a->name, n);
	*len += 3 + l;
	return VB_OK;
}

/* Entries that turn `have` (the receiver's anchors, by `out`, live ones)
 * into `want` (by `pos`, all live), appended to buf. */
static enum vb_err corrections(struct alist *have, struct alist *want, unsigned char *buf,
			       size_t *len)
{
	enum vb_err rc = VB_OK;

	alist_settle(have);
	alist_sort(have, by_name);
	alist_sort(want, by_name);
	size_t i = 0, j = 0;
	while ((i < have->n || j < want->n) && !rc) {
		int c = i == have->n ? 1 : j == want->n ? -1 : strcmp(have->a[i].name, want->a[j].name);
		if (c < 0) {
			rc = add_entry(buf, len, &have->a[i++], 0);
		} else if (c > 0) {
			want->a[j].out = want->a[j].pos;
			rc = add_entry(buf, len, &want->a[j++], 1);
		} else {
			if (have->a[i].pos != want->a[j].pos) {
				want->a[j].out = want->a[j].pos;
				rc = add_entry(buf, len, &want->a[j], 1);
			}
			i++;
			j++;
		}
	}
	return rc;
}

/* -------------------------------------------------------------- export */

struct exp {
	struct vb_vbuf *b;
	const struct vb_export_opts *o;
	z_stream z;
	int z_ready;
#ifdef VB_HAVE_ISAL
	struct isal_zstream *iz;   /* the default level's compressor (or NULL) */
	unsigned char *iz_buf;     /* its level buffer, IGZIP_LEVEL_BUF */
#endif
	unsigned char *packed;     /* REC_HEAD + vb_export_packed_max() */
	unsigned char *pay;        /* VB_EXPORT_PAYLOAD_MAX */
	unsigned char *ca, *cb;    /* CMP_MAX each */
	uint64_t va, vb;           /* versions v-1 and v */
	struct alist sim;          /* anchors of v-1, moved through the edits */
	struct alist trial;        /* sim with the version's entries */
	size_t simi;               /* the first one the edits have not placed */
	uint64_t a_end, b_end;     /* where the last edit ended, in A and B */
	uint64_t edits;
	uint32_t crc;
	struct vb_export_stats st;
};

/* The n payload bytes as one zlib stream by igzip, into at most `max`
 * bytes after the frame head: 1 and its length in *clen, or 0 (not
 * built with ISA-L, an explicit level, fewer than IGZIP_MIN bytes, or
 * igzip did not finish). */
static int igzip(struct exp *e, size_t n, uint64_t max, uint32_t *clen)
{
#ifdef VB_HAVE_ISAL
	struct isal_zstream *s = e->iz;

	if (!s || n < IGZIP_MIN)
		return 0;
	isal_deflate_init(s);
	s->level = IGZIP_LEVEL;
	s->level_buf = e->iz_buf;
	s->level_buf_size = IGZIP_LEVEL_BUF;
	s->gzip_flag = IGZIP_ZLIB;
	s->flush = NO_FLUSH;
	s->end_of_stream = 1;
	s->next_in = e->pay;
	s->avail_in = (uint32_t)n;
	s->next_out = e->packed + REC_HEAD;
	s->avail_out = (uint32_t)max;
	if (isal_deflate(s) != COMP_OK || s->internal_state.state != ZSTATE_END || s->avail_in)
		return 0;
	*clen = (uint32_t)(max - s->avail_out);
	return 1;
#else
	(void)e;
	(void)n;
	(void)max;
	(void)clen;
	return 0;
#endif
}

static enum vb_err emit(struct exp *e, size_t n)
{
	uint64_t max = vb_export_packed_max();
	uint32_t clen;
	enum vb_err rc;

	if (!igzip(e, n, max, &clen)) {
		if (deflateReset(&e->z) != Z_OK)
			return vb_err_set(VB_EIO, "zlib: %s",
					  e->z.msg ? e->z.msg : "deflateReset failed");
		e->z.next_in = e->pay;
		e->z.avail_in = (uInt)n;
		e->z.next_out = e->packed + REC_HEAD;
		e->z.avail_out = (uInt)max;
		int z = deflate(&e->z, Z_FINISH);
		if (z != Z_STREAM_END)
			return vb_err_set(VB_EIO, "zlib cannot compress a record (%d)", z);
		clen = (uint32_t)(max - e->z.avail_out);
	}
	vb_le_put32(e->packed + REC_CLEN, clen);
	vb_le_put32(e->packed + REC_ULEN, (uint32_t)n);
	vb_le_put32(e->packed + REC_CRC, vb_export_rec_crc(e->packed, e->packed + REC_HEAD, clen));
	if ((rc = e->o->write(e->o->arg, e->packed, REC_HEAD + (size_t)clen)))
		return rc;
	e->st.bytes += REC_HEAD + (uint64_t)clen;
	return VB_OK;
}

/* Bytes [off, off+n) of `version`, verified (through the backend). */
static enum vb_err read_version(struct exp *e, uint64_t version, uint64_t off,
				unsigned char *dst, size_t n)
{
	return n ? vb_vbuf_read_at(e->b, version, off, dst, n) : VB_OK;
}

/* How many bytes A (from a) and B (from b) have in common, up to max;
 * backward: the bytes before a and b, from the end. */
static enum vb_err common(struct exp *e, uint64_t a, uint64_t b, uint64_t max, int backward,
			  uint64_t *out)
{
	uint64_t done = 0;
	size_t chunk = CMP_FIRST;
	enum vb_err rc;

	while (done < max) {
		size_t n = max - done < chunk ? (size_t)(max - done) : chunk, i = 0;
		uint64_t ao = backward ? a - done - n : a + done, bo = backward ? b - done - n : b + done;
		if ((rc = read_version(e, e->va, ao, e->ca, n)) ||
		    (rc = read_version(e, e->vb, bo, e->cb, n)))
			return rc;
		if (backward)
			while (i < n && e->ca[n - 1 - i] == e->cb[n - 1 - i])
				i++;
		else
			while (i < n && e->ca[i] == e->cb[i])
				i++;
		done += i;
		if (i < n)
			break;
		if (chunk < CMP_MAX)
			chunk *= 2;
	}
	*out = done;
	return VB_OK;
}

static enum vb_err on_hunk(void *arg, uint64_t a_off, uint64_t a_len, uint64_t b_off,
			   uint64_t b_len)
{
	struct exp *e = arg;
	enum vb_err rc;
	uint64_t k;

	if (a_len && b_len) {
		if ((rc = common(e, a_off, b_off, a_len < b_len ? a_len : b_len, 0, &k)))
			return rc;
		a_off += k;
		b_off += k;
		a_len -= k;
		b_len -= k;
		if (a_len && b_len) {
			if ((rc = common(e, a_off + a_len, b_off + b_len,
					 a_len < b_len ? a_len : b_len, 1, &k)))
				return rc;
			a_len -= k;
			b_len -= k;
		}
		if (!a_len && !b_len)
			return VB_OK;
	}

	/* the receiver's anchors through this edit (vb_op_map of the insert,
	 * delete or replace at b_off): those before it keep their distance
	 * to it, those in the deleted bytes (or at an insert's offset) go
	 * after the inserted ones; the rest wait for the next edit */
	struct alist *l = &e->sim;
	while (e->simi < l->n && l->a[e->simi].pos < a_off) {
		l->a[e->simi].out = l->a[e->simi].pos - a_off + b_off;
		e->simi++;
	}
	while (e->simi < l->n && (l->a[e->simi].pos == a_off || l->a[e->simi].pos < a_off + a_len)) {
		l->a[e->simi].out = b_off + b_len;
		e->simi++;
	}
	e->a_end = a_off + a_len;
	e->b_end = b_off + b_len;

	e->pay[0] = T_EDIT;
	vb_le_put64(e->pay + EDIT_OFFSET, b_off);
	vb_le_put64(e->pay + EDIT_DELETED, a_len);
	vb_le_put64(e->pay + EDIT_INSERTED, b_len);
	if ((rc = emit(e, EDIT_LEN)))
		return rc;
	e->edits++;
	e->st.edits++;
	e->st.deleted += a_len;
	e->st.inserted += b_len;
	for (uint64_t done = 0; done < b_len;) {
		size_t n = b_len - done < VB_EXPORT_DATA_MAX ? (size_t)(b_len - done)
							     : VB_EXPORT_DATA_MAX;
		e->pay[0] = T_DATA;
		if ((rc = read_version(e, e->vb, b_off + done, e->pay + DATA_BYTES, n)))
			return rc;
		e->crc = vb_export_crc(e->crc, e->pay + DATA_BYTES, n);
		if ((rc = emit(e, DATA_BYTES + n)))
			return rc;
		done += n;
	}
	return VB_OK;
}

struct kinds {
	int revert;     /* a REVERT among the operations */
	int changes;    /* an operation that can change the content */
};

static enum vb_err note_kind(void *arg, const struct vb_op *op)
{
	struct kinds *k = arg;

	if (op->kind == VB_OP_REVERT)
		k->revert = 1;
	if (op->kind != VB_OP_FLATTEN && op->kind != VB_OP_EMBED && op->kind != VB_OP_COMPACT)
		k->changes = 1;
	return VB_OK;
}

/* The VERSION record of `c`. */
static enum vb_err put_version(struct exp *e, const struct vb_commit *c)
{
	struct origin og = origin_of(c);

	e->pay[0] = T_VERSION;
	vb_le_put64(e->pay + VERSION_NUMBER, c->version);
	vb_le_put32(e->pay + VERSION_IDENTITY, og.found ? og.identity : c->crc);
	vb_le_put64(e->pay + VERSION_TIME, (uint64_t)(og.has_time ? og.time_ns : c->time_ns));
	vb_le_put16(e->pay + VERSION_MSG_LEN, (uint16_t)c->msg_len);
	memcpy(e->pay + VERSION_FIXED, c->message, c->msg_len);
	return emit(e, VERSION_FIXED + c->msg_len);
}

/* What the operations of `c` (the version after `pc`) can do. */
static enum vb_err version_kinds(struct exp *e, const struct vb_commit *pc,
				 const struct vb_commit *c, struct kinds *k)
{
	enum vb_err rc;

	if (c->sum_kind == VB_OP_REVERT) {
		k->revert = k->changes = 1;
	} else if (c->sum_kind == VB_OP_MIXED) {
		if ((rc = vb_vbuf_commit_ops(e->b, c, note_kind, k)))
			return rc;
	} else if (c->nops) {
		struct vb_op op = {c->sum_kind, 0, 0, 0};
		note_kind(k, &op);
	}
	if (c->length != pc->length)
		k->changes = 1;
	return VB_OK;
}

/* The EDIT and DATA records of `c` (none unless `changes`), and e->sim:
 * the receiver's anchors, v-1's (`have`, by pos) moved through them. */
static enum vb_err put_edits(struct exp *e, const struct vb_commit *pc, const struct vb_commit *c,
			     const struct alist *have, int changes)
{
	enum vb_err rc;

	/* the receiver's anchors: v-1's, moved through the edits */
	e->sim.n = 0;
	for (size_t i = 0; i < have->n; i++)
		if ((rc = alist_set(&e->sim, have->a[i].name, have->a[i].pos)))
			return rc;
	alist_sort(&e->sim, by_pos);
	e->simi = 0;
	e->a_end = e->b_end = 0;
	e->edits = 0;
	e->crc = 0;
	if (changes) {
		e->va = pc->version;
		e->vb = c->version;
		rc = vb_vbuf_diff(e->b, pc->version, c->version, on_hunk, e);
		if (rc)
			return rc;
	}
	for (; e->simi < e->sim.n; e->simi++)
		e->sim.a[e->simi].out = e->sim.a[e->simi].pos - e->a_end + e->b_end;
	return VB_OK;
}

/* The exporter's anchors at v, into `have` (v-1's, by pos): after a
 * revert, asked for; else v-1's moved through the version's operations,
 * then its own entries. */
static enum vb_err anchors_at(struct exp *e, const struct vb_commit *pc,
			      const struct vb_commit *c, struct alist *have, int revert)
{
	struct entries own = {have, NULL, 0};
	enum vb_err rc = VB_OK;

	if (revert) {
		have->n = 0;
		rc = vb_vbuf_anchors(e->b, c->version, collect_anchor, have);
	} else if (have->n) {
		uint64_t *pos = malloc(have->n * sizeof *pos);
		if (!pos)
			return vb_err_set(VB_ENOMEM, "out of memory");
		for (size_t i = 0; i < have->n; i++)
			pos[i] = have->a[i].pos;
		rc = vb_vbuf_map(e->b, pc->version, c->version, pos, have->n);
		for (size_t i = 0; i < have->n; i++)
			have->a[i].out = pos[i];
		free(pos);
	}
	if (!rc && !revert) {
		rc = vb_commit_ext(c, apply_entry, &own);
		alist_settle(have);
	}
	return rc;
}

/* The COMMIT's anchor entries, into ent (*elen bytes): the version's own
 * (they apply on both sides), then one per anchor the receiver (e->sim)
 * would still have elsewhere than the exporter (`have`); if that is too
 * much for one commit, only the corrections. */
static enum vb_err commit_entries(struct exp *e, const struct vb_commit *c, struct alist *have,
				  unsigned char *ent, size_t *elen)
{
	enum vb_err rc = VB_OK;

	for (int own_too = 1; own_too >= 0; own_too--) {
		rc = VB_OK;
		e->trial.n = 0;
		for (size_t i = 0; i < e->sim.n && !rc; i++)
			if (!(rc = alist_set(&e->trial, e->sim.a[i].name, e->sim.a[i].pos)))
				e->trial.a[i].out = e->sim.a[i].out;
		struct entries en = {&e->trial, ent, 0};
		if (!rc && own_too)
			rc = vb_commit_ext(c, apply_entry, &en);
		*elen = en.len;
		if (!rc)
			rc = corrections(&e->trial, have, ent, elen);
		if (rc != VB_ELIMIT)
			break;
		rc = vb_err_set(VB_ELIMIT, "version %llu changes too many anchors to be exported "
				"(their entries would take more than %u bytes)",
				(unsigned long long)c->version, ENTRIES_MAX);
	}
	return rc;
}

/* The COMMIT record of `c`, with elen bytes of anchor entries. */
static enum vb_err put_commit(struct exp *e, const struct vb_commit *c, const unsigned char *ent,
			      size_t elen)
{
	e->pay[0] = T_COMMIT;
	vb_le_put64(e->pay + COMMIT_NUMBER, c->version);
	vb_le_put64(e->pay + COMMIT_EDITS, e->edits);
	vb_le_put64(e->pay + COMMIT_LENGTH, c->length);
	vb_le_put32(e->pay + COMMIT_CRC, e->crc);
	vb_le_put16(e->pay + COMMIT_ENTRIES_LEN, (uint16_t)elen);
	memcpy(e->pay + COMMIT_FIXED_LEN, ent, elen);
	return emit(e, COMMIT_FIXED_LEN + elen);
}

/* One version: VERSION, EDITs and DATA, COMMIT.  `have` holds the
 * anchors of v-1 (by pos) and gets those of v. */
static enum vb_err export_version(struct exp *e, const struct vb_commit *pc,
				  const struct vb_commit *c, struct alist *have)
{
	struct kinds k = {0, 0};
	unsigned char *ent = e->ca; /* the comparison buffer, free again after the edits */
	size_t elen = 0;
	enum vb_err rc;

	if ((rc = put_version(e, c)) || (rc = version_kinds(e, pc, c, &k)) ||
	    (rc = put_edits(e, pc, c, have, k.changes)) ||
	    (rc = anchors_at(e, pc, c, have, k.revert)) ||
	    (rc = commit_entries(e, c, have, ent, &elen)))
		return rc;
	alist_sort(have, by_pos);
	if ((rc = put_commit(e, c, ent, elen)))
		return rc;
	e->st.versions++;
	return VB_OK;
}

enum vb_err vb_export_stream(struct vb_vbuf *b, uint64_t since, const struct vb_export_opts *o,
			     struct vb_export_stats *st)
{
	struct exp e;
	struct vb_commit *c = NULL; /* [0] the version before, [1] the version */
	struct alist have = {NULL, 0, 0};
	enum vb_err rc;

	memset(&e, 0, sizeof e);
	if (st)
		memset(st, 0, sizeof *st);
	e.b = b;
	e.o = o;
	struct vb_vbuf_state vs;
	vb_vbuf_state(b, &vs);
	if (!vs.id)
		return vb_err_set(VB_EINVAL, "only a store can be exported");
	uint64_t head = vb_vbuf_head(b);
	if (since > head)
		return vb_err_set(VB_ENOENT, "version %llu does not exist (the newest is %llu)",
				  (unsigned long long)since, (unsigned long long)head);
	if (deflateInit(&e.z, o->level ? o->level : Z_DEFAULT_COMPRESSION) != Z_OK)
		return vb_err_set(VB_ENOMEM, "zlib: cannot start compressing");
	e.z_ready = 1;
	if (deflateBound(&e.z, VB_EXPORT_PAYLOAD_MAX) > vb_export_packed_max()) {
		rc = vb_err_set(VB_EIO, "internal error: zlib's bound exceeds compressBound");
		goto out;
	}
	e.packed = malloc(REC_HEAD + vb_export_packed_max());
	e.pay = malloc(VB_EXPORT_PAYLOAD_MAX);
	e.ca = malloc(CMP_MAX);
	e.cb = malloc(CMP_MAX);
	c = malloc(2 * sizeof *c);
	if (!e.packed || !e.pay || !e.ca || !e.cb || !c) {
		rc = vb_err_set(VB_ENOMEM, "out of memory");
		goto out;
	}
#ifdef VB_HAVE_ISAL
	_Static_assert(VB_EXPORT_PAYLOAD_MAX <= UINT32_MAX, "igzip takes 32-bit lengths");
	if (!o->level) {
		e.iz = malloc(sizeof *e.iz);
		e.iz_buf = malloc(IGZIP_LEVEL_BUF);
		if (!e.iz || !e.iz_buf) {
			rc = vb_err_set(VB_ENOMEM, "out of memory");
			goto out;
		}
	}
#endif
	if ((rc = vb_vbuf_info(b, since, &c[0])))
		goto out;
	if ((rc = vb_vbuf_anchors(b, since, collect_anchor, &have)))
		goto out;
	alist_sort(&have, by_pos);

	if ((rc = o->write(o->arg, MAGIC, MAGIC_LEN)))
		goto out;
	e.st.bytes = MAGIC_LEN;
	e.pay[0] = T_HEADER;
	vb_le_put32(e.pay + HEADER_FORMAT, FORMAT);
	vb_le_put64(e.pay + HEADER_STORE, vs.id);
	vb_le_put64(e.pay + HEADER_SINCE, since);
	vb_le_put32(e.pay + HEADER_IDENTITY, vb_export_identity(&c[0]));
	vb_le_put64(e.pay + HEADER_LENGTH, c[0].length);
	vb_le_put64(e.pay + HEADER_COUNT, head - since);
	vb_le_put64(e.pay + HEADER_NEWEST, head);
	if ((rc = emit(&e, HEADER_LEN)))
		goto out;
	for (uint64_t v = since + 1; v <= head; v++) {
		if ((rc = vb_vbuf_info(b, v, &c[1])))
			goto out;
		if ((rc = export_version(&e, &c[0], &c[1], &have)))
			goto out;
		c[0] = c[1];
	}
	e.pay[0] = T_END;
	vb_le_put64(e.pay + END_COUNT, head - since);
	rc = emit(&e, END_LEN);
out:
	if (e.z_ready)
		deflateEnd(&e.z);
#ifdef VB_HAVE_ISAL
	free(e.iz);
	free(e.iz_buf);
#endif
	if (st)
		*st = e.st;
	free(e.packed);
	free(e.pay);
	free(e.ca);
	free(e.cb);
	free(e.sim.a);
	free(e.trial.a);
	free(have.a);
	free(c);
	return rc;
}
