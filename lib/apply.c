/*
 * apply: reading portable edits and applying them to a store
 * (vb_apply_stream; the contract is in export.h, the stream's format in
 * export-int.h).  Writing a stream is export.c's.
 *
 * A record reader (next_record: the frame, its lengths checked before a
 * byte is read into a buffer, its CRC, the payload inflated to exactly
 * its length) and one handler per record type (on_header, on_version,
 * on_edit, on_data, on_commit, on_end) over the state of struct ap: where
 * the stream is, the version being read, the edit whose bytes are due.
 * A handler checks its record against that state and against the store
 * before it changes anything.
 *
 * Ownership: struct ap, its buffers and the zlib state belong to the
 * call, allocated and freed by vb_apply_stream on every path.  The
 * handle stays the caller's: the edits of a version go into it, and the
 * version that fails is left in it uncommitted, for the caller to drop
 * by closing it.  The stats are written into the caller's struct.
 *
 * Errors: a problem of the stream sets st->input_error and st->offset.
 * bad() says what is wrong with a damaged stream and names the record's
 * byte offset ("the record at byte N ..."); mismatch() says how an intact
 * export does not fit the store (VB_EINVAL), without an offset.  Errors
 * of the read callback (input_error set) and of the store are returned
 * as they are.
 *
 * Memory, whatever the stream holds: a frame buffer (compressBound(P)), a
 * payload buffer (P = VB_EXPORT_PAYLOAD_MAX), an edit buffer
 * (VB_EXPORT_DATA_MAX) and zlib's inflate state; no length read from the
 * input sizes an allocation.  A larger edit goes through a pipe.
 *
 * Threads: the one thread of the apply's own feeds that pipe (feed_main)
 * from the stream (it calls o->read, as export.h allows) while the
 * caller's thread is inside vb_vbuf_insert_fds, which only reads the
 * pipe: struct ap is not touched by both at once (insert_piped joins the
 * thread before it looks at it again).  The feeding thread blocks
 * SIGPIPE, and hands its error detail, which is thread-local, back
 * through struct feed.
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
#include "export-int.h"
#include "le.h"
#include "io.h"
#include "vbuf.h"

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
	unsigned char *packed;     /* vb_export_packed_max() */
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
	uint32_t clen = vb_le_get32(h + REC_CLEN), ulen = vb_le_get32(h + REC_ULEN);
	if (!clen || clen > vb_export_packed_max() || !ulen || ulen > VB_EXPORT_PAYLOAD_MAX)
		return bad(a, VB_ECORRUPT, "has impossible lengths (%lu bytes packed, %lu unpacked)",
			   (unsigned long)clen, (unsigned long)ulen);
	if ((rc = read_in(a, a->packed, clen, &got)))
		return rc;
	if (got < clen)
		return bad(a, VB_ECORRUPT, "is cut short: the export is truncated");
	if (vb_export_rec_crc(h, a->packed, clen) != vb_le_get32(h + REC_CRC))
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
	uint32_t identity = 0;
	uint64_t len = 0;
	enum vb_err rc;

	if (p[0] != T_HEADER)
		return bad(a, VB_ECORRUPT, "should be the export's header (type %u)", p[0]);
	if (a->len != HEADER_LEN)
		return bad(a, VB_ECORRUPT, "is a malformed header");
	if (vb_le_get32(p + HEADER_FORMAT) != FORMAT)
		return bad(a, VB_EFORMAT, "is in export format %lu, which this vb does not read "
			   "(it reads format %u)", (unsigned long)vb_le_get32(p + HEADER_FORMAT),
			   FORMAT);
	struct vb_apply_stats *st = a->st;
	st->store_id = vb_le_get64(p + HEADER_STORE);
	st->since = vb_le_get64(p + HEADER_SINCE);
	st->newest = vb_le_get64(p + HEADER_NEWEST);
	if (st->newest < st->since || vb_le_get64(p + HEADER_COUNT) != st->newest - st->since)
		return bad(a, VB_ECORRUPT, "is a header with inconsistent version counts");
	if (st->store_id != a->id)
		return mismatch(a, "an export of store %016llx, not of %s (store %016llx)",
				(unsigned long long)st->store_id, a->name, (unsigned long long)a->id);
	if (a->head < st->since)
		return mismatch(a, "the export starts at version %llu; %s is at version %llu",
				(unsigned long long)st->since, a->name, (unsigned long long)a->head);
	if ((rc = store_version(a, st->since, &identity, &len)))
		return rc;
	if (identity != vb_le_get32(p + HEADER_IDENTITY) || len != vb_le_get64(p + HEADER_LENGTH))
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
	if (a->len < VERSION_FIXED)
		return bad(a, VB_ECORRUPT, "is a malformed VERSION");
	size_t m = vb_le_get16(p + VERSION_MSG_LEN);
	if (a->len != VERSION_FIXED + m || m > VB_MESSAGE_MAX || memchr(p + VERSION_FIXED, 0, m))
		return bad(a, VB_ECORRUPT, "is a malformed VERSION");
	uint64_t v = vb_le_get64(p + VERSION_NUMBER);
	if (v != a->expect || v > a->st->newest)
		return bad(a, VB_ECORRUPT, "holds version %llu out of sequence (expected %llu)",
			   (unsigned long long)v, (unsigned long long)a->expect);
	a->version = v;
	a->identity = vb_le_get32(p + VERSION_IDENTITY);
	a->time_ns = (int64_t)vb_le_get64(p + VERSION_TIME);
	memcpy(a->msg, p + VERSION_FIXED, m);
	a->msg[m] = 0;
	a->present = v <= a->head;
	if (a->present) {
		uint32_t identity = 0;
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
	if (a->len <= DATA_BYTES)
		return bad(a, VB_ECORRUPT, "is an empty DATA record");
	if (a->len - DATA_BYTES > a->data_left)
		return bad(a, VB_ECORRUPT, "holds more data than its edit announced");
	*p = a->pay + DATA_BYTES;
	*n = a->len - DATA_BYTES;
	a->crc = vb_export_crc(a->crc, *p, *n);
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
	uint64_t off = vb_le_get64(p + EDIT_OFFSET), del = vb_le_get64(p + EDIT_DELETED);
	uint64_t ins = vb_le_get64(p + EDIT_INSERTED);
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
	if (a->len <= DATA_BYTES)
		return bad(a, VB_ECORRUPT, "is an empty DATA record");
	size_t n = a->len - DATA_BYTES;
	if (n > a->data_left)
		return bad(a, VB_ECORRUPT, "holds more data than its edit announced");
	a->crc = vb_export_crc(a->crc, a->pay + DATA_BYTES, n);
	a->data_left -= n;
	if (!a->collect)
		return VB_OK;
	memcpy(a->ebuf + a->elen, a->pay + DATA_BYTES, n);
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
	if (a->len < COMMIT_FIXED_LEN)
		return bad(a, VB_ECORRUPT, "is a malformed COMMIT");
	size_t ent_len = vb_le_get16(p + COMMIT_ENTRIES_LEN);
	if (a->len != COMMIT_FIXED_LEN + ent_len || ent_len > ENTRIES_MAX)
		return bad(a, VB_ECORRUPT, "is a malformed COMMIT");
	if (vb_le_get64(p + COMMIT_NUMBER) != a->version)
		return bad(a, VB_ECORRUPT, "commits version %llu inside version %llu",
			   (unsigned long long)vb_le_get64(p + COMMIT_NUMBER),
			   (unsigned long long)a->version);
	if (vb_le_get64(p + COMMIT_EDITS) != a->edits)
		return bad(a, VB_ECORRUPT, "counts %llu edits where %llu arrived: the export is "
			   "damaged", (unsigned long long)vb_le_get64(p + COMMIT_EDITS),
			   (unsigned long long)a->edits);
	if (vb_le_get64(p + COMMIT_LENGTH) != a->cur_len)
		return bad(a, VB_ECORRUPT, "says version %llu is %llu bytes long; its edits make "
			   "%llu", (unsigned long long)a->version,
			   (unsigned long long)vb_le_get64(p + COMMIT_LENGTH),
			   (unsigned long long)a->cur_len);
	if (vb_le_get32(p + COMMIT_CRC) != a->crc)
		return bad(a, VB_ECORRUPT, "does not match the checksum of the inserted bytes");
	if ((rc = entries(a, p + COMMIT_FIXED_LEN, ent_len, 0)))
		return rc;
	a->in_version = 0;
	a->expect++;
	if (a->present) {
		uint32_t identity;
		uint64_t len = 0;
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
	if ((rc = entries(a, p + COMMIT_FIXED_LEN, ent_len, 1)) ||
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
	if (vb_le_get64(p + END_COUNT) != a->st->newest - a->st->since)
		return bad(a, VB_ECORRUPT, "counts %llu versions where the header announced %llu",
			   (unsigned long long)vb_le_get64(p + END_COUNT),
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

/* The reader's buffers and zlib state; a writer must be at the newest
 * version. */
static enum vb_err ap_start(struct ap *a)
{
	a->packed = malloc(vb_export_packed_max());
	a->pay = malloc(VB_EXPORT_PAYLOAD_MAX);
	a->ebuf = malloc(VB_EXPORT_DATA_MAX);
	if (!a->packed || !a->pay || !a->ebuf)
		return vb_err_set(VB_ENOMEM, "out of memory");
	if (inflateInit(&a->z) != Z_OK)
		return vb_err_set(VB_ENOMEM, "zlib: cannot start decompressing");
	a->z_ready = 1;
	if (!a->o->check_only && vb_vbuf_version(a->b) != a->head)
		return vb_err_set(VB_EINVAL, "an export applies to the newest version only");
	return VB_OK;
}

static void ap_free(struct ap *a)
{
	if (a->z_ready)
		inflateEnd(&a->z);
	free(a->packed);
	free(a->pay);
	free(a->ebuf);
	free(a);
}

/* The magic and the HEADER record. */
static enum vb_err read_start(struct ap *a)
{
	unsigned char magic[MAGIC_LEN];
	size_t got;
	int eof;
	enum vb_err rc;

	if ((rc = read_in(a, magic, MAGIC_LEN, &got)))
		return rc;
	if (got < MAGIC_LEN || memcmp(magic, MAGIC, MAGIC_LEN)) {
		a->st->input_error = 1;
		return vb_err_set(VB_EFORMAT, "not an export of vb edits (no \\x89VBEDIT magic)");
	}
	if ((rc = next_record(a, &eof)))
		return rc;
	if (eof)
		return bad(a, VB_ECORRUPT, "is where the export ends, before its header");
	return on_header(a);
}

static enum vb_err on_record(struct ap *a)
{
	switch (a->pay[0]) {
	case T_VERSION:
		return on_version(a);
	case T_EDIT:
		return on_edit(a);
	case T_DATA:
		return on_data(a);
	case T_COMMIT:
		return on_commit(a);
	case T_END:
		return on_end(a);
	case T_HEADER:
		return bad(a, VB_ECORRUPT, "is a second header");
	default:
		return bad(a, VB_ECORRUPT, "has an unknown type (%u)", a->pay[0]);
	}
}

/* The records after the header, up to and with the END. */
static enum vb_err read_versions(struct ap *a)
{
	int eof;
	enum vb_err rc;

	for (;;) {
		if ((rc = next_record(a, &eof)))
			return rc;
		if (eof)
			return bad(a, VB_ECORRUPT, "is where the export ends, without its END record: "
				   "it is truncated");
		/* taken before the handler, which may read on (an edit's data) */
		int end = a->pay[0] == T_END;
		if ((rc = on_record(a)) || end)
			return rc;
	}
}

enum vb_err vb_apply_stream(struct vb_vbuf *b, const struct vb_apply_opts *o,
			    struct vb_apply_stats *st)
{
	struct vb_apply_stats local;
	struct ap *a;
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
	if (!(rc = ap_start(a)) && !(rc = read_start(a)))
		rc = read_versions(a);
	if (rc && st->pending) {
		st->pending = 0;
		st->applied--;
	}
	ap_free(a);
	return rc;
}
