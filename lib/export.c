/*
 * export: portable edits (see export.h for the contract).
 *
 * STREAM
 *   OFFSET  SIZE  DESCRIPTION
 *   0       8     magic "\x89VBEDIT\n"
 *   8       ...   records, back to back: one HEADER, then for each
 *                 version a VERSION, its EDITs (each followed by the DATA
 *                 records holding its inserted bytes) and a COMMIT; last
 *                 an END.  Nothing may follow the END.
 *
 * RECORD (all integers little-endian)
 *   OFFSET  SIZE  DESCRIPTION
 *   0       4     C, the compressed payload's length, 1..compressBound(P)
 *   4       4     U, the payload's length, 1..P (P = VB_EXPORT_PAYLOAD_MAX,
 *                 1 MiB + 64): a reader's buffers are sized by P and a
 *                 larger value is refused before anything is allocated
 *   8       4     CRC-32 (zlib) of bytes 0..8 and of the C bytes below
 *   12      C     the payload, zlib-compressed (RFC 1950); it must
 *                 inflate to exactly U bytes
 *
 *   The CRC also covers the two lengths (not only the compressed bytes):
 *   a damaged length is then caught as a bad checksum instead of being
 *   taken for the start of the next record.
 *
 * PAYLOADS (the first byte is the type)
 *   HEADER (type 1, 49 bytes)
 *     1    4   format version (1); another is refused
 *     5    8   the store id (vb_store_id): an export applies only to a
 *              copy of the store it came from
 *     13   8   SINCE, the version the export starts from
 *     21   4   the identity of SINCE (export.h: commit CRC or origin)
 *     25   8   the content length of SINCE
 *     33   8   N, the number of versions that follow
 *     41   8   the newest version, SINCE + N
 *   VERSION (type 2, 23 + M bytes)
 *     1    8   the version number: SINCE + 1, then one more each time
 *     9    4   its identity (the receiver records it as its origin)
 *     13   8   its time, nanoseconds since the epoch (the original time
 *              for a version that was itself replayed)
 *     21   2   M, the message length (at most 4096, no NUL)
 *     23   M   the message
 *   EDIT (type 3, 25 bytes): one change of the content as edited so far
 *     in this version; edits come in increasing order of offset, each at
 *     or after the end of the bytes the one before inserted
 *     1    8   offset
 *     9    8   bytes deleted there
 *     17   8   bytes inserted there, carried by the DATA records that
 *              follow (at least one of the two lengths is not 0)
 *   DATA (type 4, 1 + n bytes)
 *     1    n   the next n (1..1 MiB) inserted bytes of the current edit
 *   COMMIT (type 5, 31 + E bytes): the version is complete
 *     1    8   the version number again
 *     9    8   the number of its edits
 *     17   8   its content length
 *     25   4   CRC-32 of all the bytes its edits insert, in order
 *     29   2   E, the length of its anchor entries (at most 1969)
 *     31   E   anchor entries as in a commit record (vb(5)): type 2 (set
 *              at an offset of this version's content) and type 3
 *              (removed), applied in order
 *   END (type 6, 9 bytes)
 *     1    8   N again
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
 * APPLYING
 *   The receiver checks the header against its store (same store id; it
 *   has version SINCE and with the same identity), then reads version by
 *   version.  A version the store already has with the same identity is
 *   read, checked and skipped (so applying an export twice, or again
 *   after a failure, does what is left); a version it has with another
 *   identity is a divergence and refused.  The others are applied on a
 *   writer and committed when their COMMIT record has arrived and matched
 *   (edit count, content length, CRC of the inserted bytes); an error
 *   before that drops the version.  An edit's bytes go in as one
 *   operation: up to 1 MiB from memory, more through a pipe that a thread
 *   of the apply fills from the stream while vb_vbuf_insert_fds reads it,
 *   so memory stays bounded for any size.
 */
#include "export.h"
#include "grow.h"
#include "le.h"
#include "io.h"
#include "vbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define MAGIC "\x89VBEDIT\n"
#define MAGIC_LEN 8
#define FORMAT 1u
#define REC_HEAD 12
#define NAME_MAX_LEN 63
/* an origin entry (3 + 12 bytes) must fit beside the anchor entries */
#define ENTRIES_MAX (VB_EXT_MAX - VB_EXT_RESERVED - 15)
#define CMP_FIRST 4096
#define CMP_MAX 65536

enum { T_HEADER = 1, T_VERSION = 2, T_EDIT = 3, T_DATA = 4, T_COMMIT = 5, T_END = 6 };
enum { HEADER_LEN = 49, VERSION_FIXED = 23, EDIT_LEN = 25, COMMIT_FIXED_LEN = 31, END_LEN = 9 };

/* ------------------------------------------------------------ encoding */

static uint32_t crc(uint32_t c, const void *p, size_t n)
{
	return (uint32_t)crc32(c, p, (uInt)n);
}

static uint64_t packed_max(void)
{
	return compressBound(VB_EXPORT_PAYLOAD_MAX);
}

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
	unsigned char *packed;     /* REC_HEAD + packed_max() */
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

static enum vb_err emit(struct exp *e, size_t n)
{
	uint64_t max = packed_max();
	enum vb_err rc;

	if (deflateReset(&e->z) != Z_OK)
		return vb_err_set(VB_EIO, "zlib: %s", e->z.msg ? e->z.msg : "deflateReset failed");
	e->z.next_in = e->pay;
	e->z.avail_in = (uInt)n;
	e->z.next_out = e->packed + REC_HEAD;
	e->z.avail_out = (uInt)max;
	int z = deflate(&e->z, Z_FINISH);
	if (z != Z_STREAM_END)
		return vb_err_set(VB_EIO, "zlib cannot compress a record (%d)", z);
	uint32_t clen = (uint32_t)(max - e->z.avail_out);
	vb_le_put32(e->packed, clen);
	vb_le_put32(e->packed + 4, (uint32_t)n);
	vb_le_put32(e->packed + 8, crc(crc(0, e->packed, 8), e->packed + REC_HEAD, clen));
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
	vb_le_put64(e->pay + 1, b_off);
	vb_le_put64(e->pay + 9, a_len);
	vb_le_put64(e->pay + 17, b_len);
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
		if ((rc = read_version(e, e->vb, b_off + done, e->pay + 1, n)))
			return rc;
		e->crc = crc(e->crc, e->pay + 1, n);
		if ((rc = emit(e, 1 + n)))
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

/* One version: VERSION, EDITs and DATA, COMMIT.  `have` holds the
 * anchors of v-1 (by pos) and gets those of v. */
static enum vb_err export_version(struct exp *e, const struct vb_commit *pc,
				  const struct vb_commit *c, struct alist *have)
{
	enum vb_err rc;
	struct origin og = origin_of(c);
	struct kinds k = {0, 0};

	e->pay[0] = T_VERSION;
	vb_le_put64(e->pay + 1, c->version);
	vb_le_put32(e->pay + 9, og.found ? og.identity : c->crc);
	vb_le_put64(e->pay + 13, (uint64_t)(og.has_time ? og.time_ns : c->time_ns));
	vb_le_put16(e->pay + 21, (uint16_t)c->msg_len);
	memcpy(e->pay + VERSION_FIXED, c->message, c->msg_len);
	if ((rc = emit(e, VERSION_FIXED + c->msg_len)))
		return rc;

	if (c->sum_kind == VB_OP_REVERT) {
		k.revert = k.changes = 1;
	} else if (c->sum_kind == VB_OP_MIXED) {
		if ((rc = vb_vbuf_commit_ops(e->b, c, note_kind, &k)))
			return rc;
	} else if (c->nops) {
		struct vb_op op = {c->sum_kind, 0, 0, 0};
		note_kind(&k, &op);
	}
	if (c->length != pc->length)
		k.changes = 1;

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
	if (k.changes) {
		e->va = pc->version;
		e->vb = c->version;
		rc = vb_vbuf_diff(e->b, pc->version, c->version, on_hunk, e);
		if (rc)
			return rc;
	}
	for (; e->simi < e->sim.n; e->simi++)
		e->sim.a[e->simi].out = e->sim.a[e->simi].pos - e->a_end + e->b_end;

	/* the exporter's anchors at v: after a revert, asked for; else v-1's
	 * moved through the version's operations, then its own entries */
	struct entries own = {have, NULL, 0};
	if (k.revert) {
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
	if (!rc && !k.revert) {
		rc = vb_commit_ext(c, apply_entry, &own);
		alist_settle(have);
	}
	if (rc)
		return rc;

	/* the entries: the version's own (they apply on both sides), then
	 * one per anchor the receiver would still have elsewhere; if that
	 * is too much for one commit, only the corrections */
	unsigned char *ent = e->ca; /* free again: the diff is done */
	size_t elen = 0;
	for (int own_too = 1; own_too >= 0; own_too--) {
		rc = VB_OK;
		e->trial.n = 0;
		for (size_t i = 0; i < e->sim.n && !rc; i++)
			if (!(rc = alist_set(&e->trial, e->sim.a[i].name, e->sim.a[i].pos)))
				e->trial.a[i].out = e->sim.a[i].out;
		struct entries en = {&e->trial, ent, 0};
		if (!rc && own_too)
			rc = vb_commit_ext(c, apply_entry, &en);
		elen = en.len;
		if (!rc)
			rc = corrections(&e->trial, have, ent, &elen);
		if (rc != VB_ELIMIT)
			break;
		rc = vb_err_set(VB_ELIMIT, "version %llu changes too many anchors to be exported "
				"(their entries would take more than %u bytes)",
				(unsigned long long)c->version, ENTRIES_MAX);
	}
	if (rc)
		return rc;
	alist_sort(have, by_pos);

	e->pay[0] = T_COMMIT;
	vb_le_put64(e->pay + 1, c->version);
	vb_le_put64(e->pay + 9, e->edits);
	vb_le_put64(e->pay + 17, c->length);
	vb_le_put32(e->pay + 25, e->crc);
	vb_le_put16(e->pay + 29, (uint16_t)elen);
	memcpy(e->pay + COMMIT_FIXED_LEN, ent, elen);
	if ((rc = emit(e, COMMIT_FIXED_LEN + elen)))
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
	if (deflateBound(&e.z, VB_EXPORT_PAYLOAD_MAX) > packed_max()) {
		rc = vb_err_set(VB_EIO, "internal error: zlib's bound exceeds compressBound");
		goto out;
	}
	e.packed = malloc(REC_HEAD + packed_max());
	e.pay = malloc(VB_EXPORT_PAYLOAD_MAX);
	e.ca = malloc(CMP_MAX);
	e.cb = malloc(CMP_MAX);
	c = malloc(2 * sizeof *c);
	if (!e.packed || !e.pay || !e.ca || !e.cb || !c) {
		rc = vb_err_set(VB_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = vb_vbuf_info(b, since, &c[0])))
		goto out;
	if ((rc = vb_vbuf_anchors(b, since, collect_anchor, &have)))
		goto out;
	alist_sort(&have, by_pos);

	if ((rc = o->write(o->arg, MAGIC, MAGIC_LEN)))
		goto out;
	e.st.bytes = MAGIC_LEN;
	e.pay[0] = T_HEADER;
	vb_le_put32(e.pay + 1, FORMAT);
	vb_le_put64(e.pay + 5, vs.id);
	vb_le_put64(e.pay + 13, since);
	vb_le_put32(e.pay + 21, vb_export_identity(&c[0]));
	vb_le_put64(e.pay + 25, c[0].length);
	vb_le_put64(e.pay + 33, head - since);
	vb_le_put64(e.pay + 41, head);
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
	vb_le_put64(e.pay + 1, head - since);
	rc = emit(&e, END_LEN);
out:
	if (e.z_ready)
		deflateEnd(&e.z);
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

/* --------------------------------------------------------------- apply */

struct ap {
	struct vb_vbuf *b;
	uint64_t id;               /* the store's id */
	const struct vb_apply_opts *o;
	struct vb_apply_stats *st;
	const char *name;          /* the store, in messages */
	/* the stream */
	z_stream z;
	int z_ready;
	uint64_t pos;              /* bytes read */
	uint64_t rec;              /* offset of the current record */
	unsigned char *packed;     /* packed_max() */
	unsigned char *pay;        /* VB_EXPORT_PAYLOAD_MAX */
	size_t len;                /* of the payload */
	/* where the stream is */
	uint64_t head;             /* the store's newest version at the start */
	uint64_t cur_len;          /* content length as edited so far */
	uint64_t expect;           /* the next version number */
	int in_version, present;   /* present: the store has this version */
	uint64_t version;
	uint32_t identity;
	int64_t time_ns;
	char msg[VB_MESSAGE_MAX + 1];
	uint64_t edits, last_end;
	uint32_t crc;
	uint64_t data_left;        /* bytes of the current edit still due */
	int collect;               /* gather them in ebuf, then edit */
	unsigned char *ebuf;       /* VB_EXPORT_DATA_MAX */
	size_t elen;
	uint64_t e_off, e_del;
};

/* A problem found at the current record: with `at_record` the message
 * names the record's byte offset (a damaged stream), without it not (an
 * export that does not fit the store). */
static enum vb_err fail_at(struct ap *a, enum vb_err code, int at_record, const char *fmt,
			   va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof msg, fmt, ap);
	a->st->input_error = 1;
	a->st->offset = a->rec;
	if (at_record)
		return vb_err_set(code, "the record at byte %llu %s", (unsigned long long)a->rec, msg);
	return vb_err_set(code, "%s", msg);
}

static enum vb_err bad(struct ap *a, enum vb_err code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static enum vb_err bad(struct ap *a, enum vb_err code, const char *fmt, ...)
{
	va_list ap;
	enum vb_err rc;

	va_start(ap, fmt);
	rc = fail_at(a, code, 1, fmt, ap);
	va_end(ap);
	return rc;
}

static enum vb_err mismatch(struct ap *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static enum vb_err mismatch(struct ap *a, const char *fmt, ...)
{
	va_list ap;
	enum vb_err rc;

	va_start(ap, fmt);
	rc = fail_at(a, VB_EINVAL, 0, fmt, ap);
	va_end(ap);
	return rc;
}

static enum vb_err read_in(struct ap *a, void *buf, size_t n, size_t *got)
{
	unsigned char *p = buf;
	size_t have = 0;
	enum vb_err rc;

	while (have < n) {
		size_t g = 0;
		if ((rc = a->o->read(a->o->arg, p + have, n - have, &g))) {
			a->st->input_error = 1;
			a->st->offset = a->pos + have;
			return rc;
		}
		if (!g)
			break;
		have += g;
	}
	a->pos += have;
	*got = have;
	return VB_OK;
}

/* The next record's payload into a->pay; *eof at a clean end. */
static enum vb_err next_record(struct ap *a, int *eof)
{
	unsigned char h[REC_HEAD];
	size_t got;
	enum vb_err rc;

	*eof = 0;
	a->rec = a->pos;
	if ((rc = read_in(a, h, REC_HEAD, &got)))
		return rc;
	if (!got) {
		*eof = 1;
		return VB_OK;
	}
	if (got < REC_HEAD)
		return bad(a, VB_ECORRUPT, "is cut short: the export is truncated");
	uint32_t clen = vb_le_get32(h), ulen = vb_le_get32(h + 4);
	if (!clen || clen > packed_max() || !ulen || ulen > VB_EXPORT_PAYLOAD_MAX)
		return bad(a, VB_ECORRUPT, "has impossible lengths (%lu bytes packed, %lu unpacked)",
			   (unsigned long)clen, (unsigned long)ulen);
	if ((rc = read_in(a, a->packed, clen, &got)))
		return rc;
	if (got < clen)
		return bad(a, VB_ECORRUPT, "is cut short: the export is truncated");
	if (crc(crc(0, h, 8), a->packed, clen) != vb_le_get32(h + 8))
		return bad(a, VB_ECORRUPT, "has a bad checksum");
	if (inflateReset(&a->z) != Z_OK)
		return vb_err_set(VB_EIO, "zlib: inflateReset failed");
	a->z.next_in = a->packed;
	a->z.avail_in = clen;
	a->z.next_out = a->pay;
	a->z.avail_out = ulen;
	int z = inflate(&a->z, Z_FINISH);
	if (z != Z_STREAM_END || a->z.avail_in || a->z.avail_out)
		return bad(a, VB_ECORRUPT, "does not decompress to its length (zlib: %s)",
			   z == Z_STREAM_END ? "wrong length" : a->z.msg ? a->z.msg : "error");
	a->len = ulen;
	return VB_OK;
}

/* The identity and length of the store's version v. */
static enum vb_err store_version(struct ap *a, uint64_t v, uint32_t *identity, uint64_t *len)
{
	struct vb_commit *c = malloc(sizeof *c);
	enum vb_err rc;

	if (!c)
		return vb_err_set(VB_ENOMEM, "out of memory");
	if (!(rc = vb_vbuf_info(a->b, v, c))) {
		*identity = vb_export_identity(c);
		*len = c->length;
	}
	free(c);
	return rc;
}

static int applying(const struct ap *a)
{
	return !a->present && !a->o->check_only;
}

static enum vb_err on_header(struct ap *a)
{
	const unsigned char *p = a->pay;
	uint32_t identity;
	uint64_t len;
	enum vb_err rc;

	if (p[0] != T_HEADER)
		return bad(a, VB_ECORRUPT, "should be the export's header (type %u)", p[0]);
	if (a->len != HEADER_LEN)
		return bad(a, VB_ECORRUPT, "is a malformed header");
	if (vb_le_get32(p + 1) != FORMAT)
		return bad(a, VB_EFORMAT, "is in export format %lu, which this vb does not read "
			   "(it reads format %u)", (unsigned long)vb_le_get32(p + 1), FORMAT);
	struct vb_apply_stats *st = a->st;
	st->store_id = vb_le_get64(p + 5);
	st->since = vb_le_get64(p + 13);
	st->newest = vb_le_get64(p + 41);
	if (st->newest < st->since || vb_le_get64(p + 33) != st->newest - st->since)
		return bad(a, VB_ECORRUPT, "is a header with inconsistent version counts");
	if (st->store_id != a->id)
		return mismatch(a, "an export of store %016llx, not of %s (store %016llx)",
				(unsigned long long)st->store_id, a->name, (unsigned long long)a->id);
	if (a->head < st->since)
		return mismatch(a, "the export starts at version %llu; %s is at version %llu",
				(unsigned long long)st->since, a->name, (unsigned long long)a->head);
	if ((rc = store_version(a, st->since, &identity, &len)))
		return rc;
	if (identity != vb_le_get32(p + 21) || len != vb_le_get64(p + 25))
		return mismatch(a, "version %llu of %s is not the version the export was made from",
				(unsigned long long)st->since, a->name);
	a->cur_len = len;
	a->expect = st->since + 1;
	return VB_OK;
}

static enum vb_err on_version(struct ap *a)
{
	const unsigned char *p = a->pay;
	enum vb_err rc;

	if (a->in_version)
		return bad(a, VB_ECORRUPT, "starts a version before the previous one's COMMIT");
	if (a->len < VERSION_FIXED || a->len != VERSION_FIXED + (size_t)vb_le_get16(p + 21) ||
	    vb_le_get16(p + 21) > VB_MESSAGE_MAX || memchr(p + VERSION_FIXED, 0, vb_le_get16(p + 21)))
		return bad(a, VB_ECORRUPT, "is a malformed VERSION");
	uint64_t v = vb_le_get64(p + 1);
	if (v != a->expect || v > a->st->newest)
		return bad(a, VB_ECORRUPT, "holds version %llu out of sequence (expected %llu)",
			   (unsigned long long)v, (unsigned long long)a->expect);
	a->version = v;
	a->identity = vb_le_get32(p + 9);
	a->time_ns = (int64_t)vb_le_get64(p + 13);
	memcpy(a->msg, p + VERSION_FIXED, vb_le_get16(p + 21));
	a->msg[vb_le_get16(p + 21)] = 0;
	a->present = v <= a->head;
	if (a->present) {
		uint32_t identity;
		uint64_t len;
		if ((rc = store_version(a, v, &identity, &len)))
			return rc;
		if (identity != a->identity)
			return mismatch(a, "version %llu of %s is not version %llu of the export: "
					"the copies have diverged since version %llu",
					(unsigned long long)v, a->name, (unsigned long long)v,
					(unsigned long long)(v - 1));
	}
	a->in_version = 1;
	a->edits = a->last_end = 0;
	a->crc = 0;
	return VB_OK;
}

/* ------------------------------------------- large edits through a pipe */

struct feed {
	struct ap *a;
	int fd;
	enum vb_err rc;
	char detail[600];
};

/* The next record, which must be DATA for the current edit: *p, *n. */
static enum vb_err next_data(struct ap *a, const unsigned char **p, size_t *n)
{
	int eof;
	enum vb_err rc = next_record(a, &eof);

	if (rc)
		return rc;
	if (eof)
		return bad(a, VB_ECORRUPT, "is where the export ends, in the middle of an edit's data");
	if (a->pay[0] != T_DATA)
		return bad(a, VB_ECORRUPT, "comes before the data its edit announced (type %u)",
			   a->pay[0]);
	if (a->len < 2)
		return bad(a, VB_ECORRUPT, "is an empty DATA record");
	if (a->len - 1 > a->data_left)
		return bad(a, VB_ECORRUPT, "holds more data than its edit announced");
	*p = a->pay + 1;
	*n = a->len - 1;
	a->crc = crc(a->crc, *p, *n);
	a->data_left -= *n;
	return VB_OK;
}

static void *feed_main(void *arg)
{
	struct feed *f = arg;
	sigset_t set;
	enum vb_err rc = VB_OK;

	/* a write to the pipe after the store stopped reading must fail
	 * with EPIPE, not end the process */
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	while (f->a->data_left && !rc) {
		const unsigned char *p = NULL;
		size_t n = 0;
		if (!(rc = next_data(f->a, &p, &n)))
			rc = vb_io_write_full(f->fd, p, n);
	}
	close(f->fd);
	if (rc) {
		f->rc = rc;
		snprintf(f->detail, sizeof f->detail, "%s", vb_err_detail());
	}
	struct timespec zero = {0, 0};
	while (sigtimedwait(&set, NULL, &zero) > 0)
		;
	return NULL;
}

static enum vb_err insert_piped(struct ap *a, uint64_t off, uint64_t del, uint64_t ins)
{
	struct feed f;
	pthread_t t;
	int p[2];
	uint64_t inserted;
	size_t failed;
	enum vb_err rc;
	int input_error;

	if (pipe2(p, O_CLOEXEC))
		return vb_err_sys("pipe");
	memset(&f, 0, sizeof f);
	f.a = a;
	f.fd = p[1];
	a->data_left = ins;
	if (pthread_create(&t, NULL, feed_main, &f)) {
		close(p[0]);
		close(p[1]);
		return vb_err_set(VB_ENOMEM, "cannot start a thread");
	}
	rc = vb_vbuf_insert_fds(a->b, off, &p[0], 1, del > 0, del, &inserted, &failed);
	close(p[0]);
	pthread_join(t, NULL);
	input_error = a->st->input_error;
	if (f.rc && !(f.rc == VB_EPIPE && rc && !input_error)) {
		/* the stream failed (the store's own failure shows as EPIPE) */
		return vb_err_set(f.rc, "%s", f.detail);
	}
	if (rc)
		return rc;
	if (inserted != ins)
		return vb_err_set(VB_EIO, "internal error: %llu of %llu bytes inserted",
				  (unsigned long long)inserted, (unsigned long long)ins);
	return VB_OK;
}

static enum vb_err edit_collected(struct ap *a)
{
	if (!a->e_del)
		return vb_vbuf_insert(a->b, a->e_off, a->ebuf, a->elen);
	return vb_vbuf_replace(a->b, a->e_off, a->e_del, a->ebuf, a->elen);
}

static enum vb_err on_edit(struct ap *a)
{
	const unsigned char *p = a->pay;
	enum vb_err rc;

	if (!a->in_version || a->data_left)
		return bad(a, VB_ECORRUPT, "is an edit %s", a->in_version ? "before the previous "
			   "edit's data" : "outside a version");
	if (a->len != EDIT_LEN)
		return bad(a, VB_ECORRUPT, "is a malformed EDIT");
	uint64_t off = vb_le_get64(p + 1), del = vb_le_get64(p + 9), ins = vb_le_get64(p + 17);
	if (!del && !ins)
		return bad(a, VB_ECORRUPT, "is an edit that changes nothing");
	if (off < a->last_end || off > a->cur_len || del > a->cur_len - off)
		return bad(a, VB_ECORRUPT, "is an edit of %llu+%llu outside the content or out of "
			   "order (length %llu)", (unsigned long long)off, (unsigned long long)del,
			   (unsigned long long)a->cur_len);
	if (ins > UINT64_MAX - (a->cur_len - del))
		return bad(a, VB_ECORRUPT, "is an edit that makes the content too long");
	a->edits++;
	a->cur_len = a->cur_len - del + ins;
	a->last_end = off + ins;
	a->collect = 0;
	if (!applying(a)) {
		a->data_left = ins;
		return VB_OK;
	}
	if (!ins)
		return vb_vbuf_delete(a->b, off, del);
	if (ins <= VB_EXPORT_DATA_MAX) {
		a->collect = 1;
		a->data_left = ins;
		a->elen = 0;
		a->e_off = off;
		a->e_del = del;
		return VB_OK;
	}
	rc = insert_piped(a, off, del, ins);
	return rc;
}

static enum vb_err on_data(struct ap *a)
{
	if (!a->data_left)
		return bad(a, VB_ECORRUPT, "holds data that no edit announced");
	if (a->len < 2)
		return bad(a, VB_ECORRUPT, "is an empty DATA record");
	size_t n = a->len - 1;
	if (n > a->data_left)
		return bad(a, VB_ECORRUPT, "holds more data than its edit announced");
	a->crc = crc(a->crc, a->pay + 1, n);
	a->data_left -= n;
	if (!a->collect)
		return VB_OK;
	memcpy(a->ebuf + a->elen, a->pay + 1, n);
	a->elen += n;
	return a->data_left ? VB_OK : edit_collected(a);
}

/* Check the anchor entries of a COMMIT; with `apply`, record them. */
static enum vb_err entries(struct ap *a, const unsigned char *d, size_t n, int apply)
{
	char name[NAME_MAX_LEN + 1];
	enum vb_err rc;

	for (size_t i = 0; i < n;) {
		if (n - i < 3 || vb_le_get16(d + i + 1) > n - i - 3)
			return bad(a, VB_ECORRUPT, "has a malformed anchor entry");
		unsigned type = d[i];
		size_t l = vb_le_get16(d + i + 1), off = type == VB_EXT_ANCHOR ? 8 : 0;
		const unsigned char *e = d + i + 3;
		if ((type != VB_EXT_ANCHOR && type != VB_EXT_UNANCHOR) || l <= off ||
		    l - off > NAME_MAX_LEN)
			return bad(a, VB_ECORRUPT, "has a malformed anchor entry");
		memcpy(name, e + off, l - off);
		name[l - off] = 0;
		if (!vb_anchor_name_ok(name))
			return bad(a, VB_ECORRUPT, "has an anchor entry with an invalid name");
		if (type == VB_EXT_ANCHOR && vb_le_get64(e) > a->cur_len)
			return bad(a, VB_ECORRUPT, "sets anchor '%s' beyond the end", name);
		if (apply) {
			rc = type == VB_EXT_ANCHOR ? vb_vbuf_set_anchor(a->b, name, vb_le_get64(e))
						   : vb_vbuf_remove_anchor(a->b, name);
			if (rc)
				return rc;
		}
		i += 3 + l;
	}
	return VB_OK;
}

static enum vb_err on_commit(struct ap *a)
{
	const unsigned char *p = a->pay;
	struct vb_apply_stats *st = a->st;
	enum vb_err rc;

	if (!a->in_version || a->data_left)
		return bad(a, VB_ECORRUPT, "is a COMMIT %s", a->in_version ? "before all the data of "
			   "an edit" : "outside a version");
	if (a->len < COMMIT_FIXED_LEN || a->len != COMMIT_FIXED_LEN + (size_t)vb_le_get16(p + 29) ||
	    vb_le_get16(p + 29) > ENTRIES_MAX)
		return bad(a, VB_ECORRUPT, "is a malformed COMMIT");
	if (vb_le_get64(p + 1) != a->version)
		return bad(a, VB_ECORRUPT, "commits version %llu inside version %llu",
			   (unsigned long long)vb_le_get64(p + 1), (unsigned long long)a->version);
	if (vb_le_get64(p + 9) != a->edits)
		return bad(a, VB_ECORRUPT, "counts %llu edits where %llu arrived: the export is "
			   "damaged", (unsigned long long)vb_le_get64(p + 9), (unsigned long long)a->edits);
	if (vb_le_get64(p + 17) != a->cur_len)
		return bad(a, VB_ECORRUPT, "says version %llu is %llu bytes long; its edits make "
			   "%llu", (unsigned long long)a->version, (unsigned long long)vb_le_get64(p + 17),
			   (unsigned long long)a->cur_len);
	if (vb_le_get32(p + 25) != a->crc)
		return bad(a, VB_ECORRUPT, "does not match the checksum of the inserted bytes");
	if ((rc = entries(a, p + COMMIT_FIXED_LEN, vb_le_get16(p + 29), 0)))
		return rc;
	a->in_version = 0;
	a->expect++;
	if (a->present) {
		uint32_t identity;
		uint64_t len;
		if ((rc = store_version(a, a->version, &identity, &len)))
			return rc;
		if (len != a->cur_len)
			return mismatch(a, "version %llu of %s is not version %llu of the export: "
					"the copies have diverged since version %llu",
					(unsigned long long)a->version, a->name,
					(unsigned long long)a->version,
					(unsigned long long)(a->version - 1));
		st->present++;
		return VB_OK;
	}
	if (!st->applied)
		st->first = a->version;
	if (a->o->check_only) {
		st->applied++;
		return VB_OK;
	}
	if (vb_vbuf_len(a->b) != a->cur_len)
		return vb_err_set(VB_EIO, "internal error: version %llu came out %llu bytes long, "
				  "not %llu", (unsigned long long)a->version,
				  (unsigned long long)vb_vbuf_len(a->b),
				  (unsigned long long)a->cur_len);
	if ((rc = entries(a, p + COMMIT_FIXED_LEN, vb_le_get16(p + 29), 1)) ||
	    (rc = vb_vbuf_note_origin(a->b, a->identity, a->time_ns)))
		return rc;
	if (a->o->leave_last && a->version == st->newest) {
		st->pending = 1;
		memcpy(st->message, a->msg, sizeof st->message);
		st->applied++;
		return VB_OK;
	}
	uint64_t got;
	if ((rc = vb_vbuf_commit(a->b, a->msg, &got)))
		return rc;
	if (got != a->version)
		return vb_err_set(VB_EIO, "internal error: version %llu was committed as %llu",
				  (unsigned long long)a->version, (unsigned long long)got);
	st->applied++;
	return VB_OK;
}

static enum vb_err on_end(struct ap *a)
{
	const unsigned char *p = a->pay;
	enum vb_err rc;

	if (a->in_version)
		return bad(a, VB_ECORRUPT, "ends the export inside version %llu",
			   (unsigned long long)a->version);
	if (a->len != END_LEN)
		return bad(a, VB_ECORRUPT, "is a malformed END");
	if (vb_le_get64(p + 1) != a->st->newest - a->st->since)
		return bad(a, VB_ECORRUPT, "counts %llu versions where the header announced %llu",
			   (unsigned long long)vb_le_get64(p + 1),
			   (unsigned long long)(a->st->newest - a->st->since));
	if (a->expect != a->st->newest + 1)
		return bad(a, VB_ECORRUPT, "ends the export after %llu of its %llu versions",
			   (unsigned long long)(a->expect - a->st->since - 1),
			   (unsigned long long)(a->st->newest - a->st->since));
	/* nothing may follow, whatever it is */
	unsigned char more;
	size_t got;
	a->rec = a->pos;
	if ((rc = read_in(a, &more, 1, &got)))
		return rc;
	if (got)
		return bad(a, VB_ECORRUPT, "follows the end of the export");
	return VB_OK;
}

enum vb_err vb_apply_stream(struct vb_vbuf *b, const struct vb_apply_opts *o,
			    struct vb_apply_stats *st)
{
	struct vb_apply_stats local;
	struct ap *a;
	unsigned char magic[MAGIC_LEN];
	size_t got;
	int eof;
	enum vb_err rc;

	if (!st)
		st = &local;
	memset(st, 0, sizeof *st);
	struct vb_vbuf_state vs;
	vb_vbuf_state(b, &vs);
	if (!vs.id)
		return vb_err_set(VB_EINVAL, "an export applies only to a store");
	if (!(a = calloc(1, sizeof *a)))
		return vb_err_set(VB_ENOMEM, "out of memory");
	a->b = b;
	a->id = vs.id;
	a->o = o;
	a->st = st;
	a->name = o->store_name ? o->store_name : "this store";
	a->head = vb_vbuf_head(b);
	a->packed = malloc(packed_max());
	a->pay = malloc(VB_EXPORT_PAYLOAD_MAX);
	a->ebuf = malloc(VB_EXPORT_DATA_MAX);
	if (!a->packed || !a->pay || !a->ebuf) {
		rc = vb_err_set(VB_ENOMEM, "out of memory");
		goto out;
	}
	if (inflateInit(&a->z) != Z_OK) {
		rc = vb_err_set(VB_ENOMEM, "zlib: cannot start decompressing");
		goto out;
	}
	a->z_ready = 1;
	if (!o->check_only && vb_vbuf_version(b) != a->head) {
		rc = vb_err_set(VB_EINVAL, "an export applies to the newest version only");
		goto out;
	}

	if ((rc = read_in(a, magic, MAGIC_LEN, &got)))
		goto out;
	if (got < MAGIC_LEN || memcmp(magic, MAGIC, MAGIC_LEN)) {
		st->input_error = 1;
		rc = vb_err_set(VB_EFORMAT, "not an export of vb edits (no \\x89VBEDIT magic)");
		goto out;
	}
	if ((rc = next_record(a, &eof)))
		goto out;
	if (eof) {
		rc = bad(a, VB_ECORRUPT, "is where the export ends, before its header");
		goto out;
	}
	if ((rc = on_header(a)))
		goto out;
	for (;;) {
		if ((rc = next_record(a, &eof)))
			break;
		if (eof) {
			rc = bad(a, VB_ECORRUPT, "is where the export ends, without its END record: "
				 "it is truncated");
			break;
		}
		switch (a->pay[0]) {
		case T_VERSION:
			rc = on_version(a);
			break;
		case T_EDIT:
			rc = on_edit(a);
			break;
		case T_DATA:
			rc = on_data(a);
			break;
		case T_COMMIT:
			rc = on_commit(a);
			break;
		case T_END:
			rc = on_end(a);
			goto out;
		case T_HEADER:
			rc = bad(a, VB_ECORRUPT, "is a second header");
			break;
		default:
			rc = bad(a, VB_ECORRUPT, "has an unknown type (%u)", a->pay[0]);
			break;
		}
		if (rc)
			break;
	}
out:
	if (rc && st->pending) {
		st->pending = 0;
		st->applied--;
	}
	if (a->z_ready)
		inflateEnd(&a->z);
	free(a->packed);
	free(a->pay);
	free(a->ebuf);
	free(a);
	return rc;
}
