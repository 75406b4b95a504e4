/*
 * frame: cutting a byte stream into records.
 *
 * Three framers share one call, vb_framer_next(), which looks at the bytes
 * buffered in a stream buffer (lib/sbuf) and either reports the record at
 * its head or says that more input is needed:
 *
 *   delimiter  any number of delimiters (byte strings); at the earliest
 *              position where one matches, the longest one that matches
 *              wins, and the decision waits while the buffered tail could
 *              still grow into a longer delimiter (so "\r" then "\n" in the
 *              next read is one "\r\n", never "\r" plus a stray "\n"); at
 *              end of input the rest is a final, unterminated record;
 *   length     a length field of 1, 2, 3, 4 or 8 bytes, big or little
 *              endian, an unsigned LEB128 varint, or ASCII digits (decimal
 *              or hex, a fixed number of them or up to a terminator byte:
 *              netstrings, RFC 6587 octet counting, git's pkt-line), at a
 *              field offset; the frame is offset + field + value +
 *              adjustment bytes long (the convention of Netty's
 *              LengthFieldBasedFrameDecoder), plus a trailer byte that
 *              must follow the record where the format has one (a
 *              netstring's ','), and the first `strip` bytes of it are not
 *              part of the record;
 *   fixed      records of N bytes; a shorter last one is unterminated.
 *
 * The result does not depend on how the input was cut into reads.
 *
 * A record is complete when its end is in the input (its delimiter, its
 * N bytes, its whole frame); the one the end of input cuts off is the
 * incomplete last record (fr->unterminated).  What becomes of a record
 * that is incomplete or larger than the maximum is decided by
 * vb_frame_policy_fate, the one rule for every framing.
 *
 * Contract: after VB_OK the caller consumes exactly fr->total bytes from
 * the buffer (vb_sbuf_advance) before calling again; after VB_ENEEDMORE it
 * only appends.  If it advances the buffer any other way it must tell the
 * framer with vb_framer_discard().  A framer serves one stream at a time;
 * vb_framer_reset() starts a new one.
 *
 * A framer is its creator's (vb_framer_free, NULL-safe); it copies its
 * delimiters and keeps no pointer into the buffer between calls, only
 * stream offsets, and is not thread-safe: one thread per framer at a time.
 * The vb_read_* readers, vb_lenspec_* and vb_unescape have no state.
 */
#ifndef VB_FRAME_H
#define VB_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "sbuf.h"

/* ------------------------------------------------------- binary helpers */

/* Read an integer at `off` of buf[0, len); VB_ENEEDMORE past the end. */
enum vb_err vb_read_u8(const void *buf, size_t len, size_t off, uint8_t *v);
enum vb_err vb_read_u16_be(const void *buf, size_t len, size_t off, uint16_t *v);
enum vb_err vb_read_u16_le(const void *buf, size_t len, size_t off, uint16_t *v);
enum vb_err vb_read_u24_be(const void *buf, size_t len, size_t off, uint32_t *v);
enum vb_err vb_read_u24_le(const void *buf, size_t len, size_t off, uint32_t *v);
enum vb_err vb_read_u32_be(const void *buf, size_t len, size_t off, uint32_t *v);
enum vb_err vb_read_u32_le(const void *buf, size_t len, size_t off, uint32_t *v);
enum vb_err vb_read_u64_be(const void *buf, size_t len, size_t off, uint64_t *v);
enum vb_err vb_read_u64_le(const void *buf, size_t len, size_t off, uint64_t *v);
/* Unsigned LEB128 of at most 10 bytes; *used gets its length.  VB_ENEEDMORE
 * if it runs past len, VB_EINVAL if it is longer than 10 bytes or > 2^64-1
 * (vb_varint_get's rules, le.h). */
enum vb_err vb_read_varint(const void *buf, size_t len, size_t off, uint64_t *v, size_t *used);

/* Decode a delimiter written with the escapes \n \r \t \0 \\ \xHH into
 * *out (malloc'ed) of *n bytes.  VB_EINVAL names a bad escape or an empty
 * result. */
enum vb_err vb_unescape(const char *s, unsigned char **out, size_t *n);

/* ------------------------------------------------------------- framers */

/* A length prefix: binary (size 1, 2, 3, 4, 8, or 0 for a varint), or
 * ASCII digits (text). */
enum { VB_LEN_BINARY, VB_LEN_DEC, VB_LEN_HEX };
struct vb_lenspec {
	unsigned size;
	int big_endian;
	uint64_t offset;     /* bytes before the length field */
	int64_t adjust;      /* added to the field's value: any int64_t, INT64_MIN too */
	uint64_t strip;      /* bytes at the frame's start not in the record */
	int strip_set;       /* 0: strip defaults to offset + field size */
	/* ASCII lengths */
	unsigned text;       /* VB_LEN_BINARY, or the digits' base */
	unsigned digits;     /* exactly this many digits; 0: 1 to 20 (16 hex) */
	int term;            /* the byte that ends the digits (part of the field), or -1 */
	int trailer;         /* a byte the frame ends with, after the record, or -1 */
	int canonical;       /* no leading zeros (a netstring's, syslog's rule) */
	unsigned small;      /* a value below this is a frame of the field alone
			      * (pkt-line: 0000 flush, 0001 delim, 0002 end) */
	/* TFRecord: after the u64le field, the masked CRC-32C of its 8
	 * bytes (4 more header bytes), and after the record the masked
	 * CRC-32C of the record (4 tail bytes); both checked */
	int tfrecord;
};

/* The most bytes vb_lenspec_encode or vb_lenspec_tail writes. */
#define VB_LENSPEC_MAX 24u

/* Parse "u8", "u16be", "u16le", "u24be", "u24le", "u32be", "u32le",
 * "u64be", "u64le", "varint", or an ASCII form: "netstring" (decimal
 * digits, ':', the record, ','), "syslog" (RFC 6587 octet counting:
 * decimal digits, ' ', the message), "pkt-line" (git: 4 hex digits
 * counting themselves, 0000-0003 special packets of no data), "dec:C" or
 * "hex:C" (digits ended by the byte C, written with vb_unescape's
 * escapes); or a preset: "protobuf" (= varint), "tfrecord" (u64le,
 * masked CRC-32C of the length, the record, masked CRC-32C of the
 * record) or "mrt" (RFC 6396: u32be at offset 8). */
enum vb_err vb_lenspec_parse(const char *s, struct vb_lenspec *spec);
/* Encode `len` as the spec's header (no offset) into out (at most
 * VB_LENSPEC_MAX bytes): the field holds len minus the spec's adjustment,
 * so that a reader of the same spec gets len back (pkt-line: len + 4),
 * and what the header has after the field (TFRecord's CRC of it);
 * VB_ERANGE if that does not fit the field.  What follows the record is
 * vb_lenspec_tail's. */
enum vb_err vb_lenspec_encode(const struct vb_lenspec *spec, uint64_t len, unsigned char *out,
			      size_t *n);
/* The bytes a frame of this spec has after its record (a netstring's
 * ',', TFRecord's masked CRC-32C of the record) into out; their number (0
 * for most specs).  `sum` is the record's checksum where
 * vb_lenspec_tail_crc says the tail needs one: vb_lenspec_sum over the
 * record's bytes, from 0, in as many pieces as they come. */
size_t vb_lenspec_tail(const struct vb_lenspec *spec, uint32_t sum, unsigned char *out);
int vb_lenspec_tail_crc(const struct vb_lenspec *spec);
uint32_t vb_lenspec_sum(uint32_t sum, const void *p, size_t n);

struct vb_frame {
	size_t skip;        /* bytes before the record (stripped header) */
	size_t len;         /* record bytes */
	size_t delim;       /* delimiter bytes after the record */
	size_t total;       /* bytes this frame occupies: consume this many */
	int unterminated;   /* last record without its delimiter / short */
};

struct vb_framer;

/* `delims` are n byte strings (copied). */
enum vb_err vb_framer_delim(const unsigned char *const *delims, const size_t *lens, size_t n,
			    struct vb_framer **out);
enum vb_err vb_framer_length(const struct vb_lenspec *spec, struct vb_framer **out);
enum vb_err vb_framer_fixed(uint64_t size, struct vb_framer **out);
void vb_framer_free(struct vb_framer *f);

/* Largest record accepted (delimiter: record bytes; length: the whole
 * frame, header included; fixed: the size).  Default: no limit. */
void vb_framer_set_max(struct vb_framer *f, uint64_t max);
/* Longest delimiter (0 for other framers): a caller that discards an
 * oversized record keeps this many bytes minus one at the tail. */
size_t vb_framer_max_delim(const struct vb_framer *f);

/* Delimiter framing: a byte after which a record always starts, whatever
 * came before (the one-byte delimiter "c" where c occurs in no other
 * delimiter except as its last byte: \n for -l, NUL for -0), or -1.  A
 * reader can start framing right after any such byte, e.g. to find the
 * last records of a file by reading it backward. */
int vb_framer_sync_byte(const struct vb_framer *f);

/* Start a new stream. */
void vb_framer_reset(struct vb_framer *f);
/* The caller advanced the buffer by n bytes outside the contract. */
void vb_framer_discard(struct vb_framer *f, size_t n);

/*
 * The record at the head of `b`:
 *   VB_OK         *fr describes it;
 *   VB_ENEEDMORE  more input is needed (with eof: no more records);
 *   VB_ECORRUPT   (TFRecord) the record's checksum does not match: *fr
 *                 describes the whole frame, which may be consumed
 *                 (fr->total bytes) to go on with the next;
 *   VB_EFRAME     the record is larger than the maximum: fr->skip and
 *                 fr->total are known for length and fixed framing (the
 *                 frame can be skipped without reading it into memory);
 *                 for delimiter framing fr->total is 0 (the end is unknown:
 *                 use vb_framer_find_end to skip).  Before the end of
 *                 input whether it is complete is not known (the input may
 *                 end inside it); with eof it is: fr->unterminated says it
 *                 is the incomplete last record, and then fr->total is the
 *                 buffered rest of the input, all of it (for delimiter
 *                 framing too) and fr->len what of it is record;
 *   VB_EINVAL     a malformed length field (negative length, strip larger
 *                 than the frame, varint too long); the detail says which.
 */
enum vb_err vb_framer_next(struct vb_framer *f, const struct vb_sbuf *b, int eof,
			   struct vb_frame *fr);

/* Up to `max` records at once: fr[0..*n) lie back to back from the head of
 * `b`.  VB_OK with *n >= 1, or what vb_framer_next would return for the
 * first record.  The caller consumes the sum of their totals.  (Delimiter
 * framing over a contiguous buffer finds many records per call; the other
 * cases give one.) */
enum vb_err vb_framer_next_many(struct vb_framer *f, const struct vb_sbuf *b, int eof,
				struct vb_frame *fr, size_t max, size_t *n);

/* The fast case of a lone one-byte delimiter: when the buffer is
 * contiguous and no larger than the maximum, and the only delimiter byte
 * occurring in what is left of it is some c whose only delimiter is "c"
 * itself, the next records are just the bytes up to each c.  Then returns
 * 1 with *delim = c, *records (1 to `limit`) and *consumed (the bytes up
 * to and including the last of those records' delimiters, to be consumed
 * by the caller) and the framer is past them.  Returns 0 when the case
 * does not hold or no complete record is buffered; the framer then frames
 * the same records as it would have (it only remembers what it searched). */
int vb_framer_lone_run(struct vb_framer *f, const struct vb_sbuf *b, uint64_t limit,
		       unsigned char *delim, uint64_t *records, size_t *consumed);

/* Replace every byte `from` in buf[0, n) by `to` (16 bytes at a time). */
void vb_bytes_replace(void *buf, size_t n, unsigned char from, unsigned char to);

/* Count the complete records at the head of `b` without describing them:
 * *records of them, occupying the first *consumed bytes (consume those).
 * Same results as vb_framer_next_many, faster for a lone one-byte
 * delimiter (bytes counted 64 at a time).  Errors as for vb_framer_next. */
enum vb_err vb_framer_count(struct vb_framer *f, const struct vb_sbuf *b, int eof,
			    uint64_t *records, size_t *consumed);

/* Delimiter framing: the end of the record that started before the head
 * of `b` (used to skip an oversized one).  VB_OK: the record ends at *pos
 * and its delimiter is *dlen bytes (with eof, *dlen 0: the record is the
 * incomplete last one and ends with the input); VB_ENEEDMORE: not in the
 * buffered bytes (the caller may drop all but the last max_delim-1 of
 * them). */
enum vb_err vb_framer_find_end(struct vb_framer *f, const struct vb_sbuf *b, int eof,
			       size_t *pos, size_t *dlen);

/* -------------------------------------------------------------- policy */

/*
 * The fate of a record: one rule for every framing (lib/README.md,
 * Decisions 12).  Two facts decide it: whether the record is larger than
 * the maximum (by the framer's measure, vb_framer_set_max), and whether it
 * is complete or the incomplete last record.
 *
 *   complete, within the maximum  emitted;
 *   complete, too large           as `oversize` says: fail, skip (with a
 *                                 warning) or truncate to the maximum;
 *   incomplete                    as `final` says: drop it, fail, or emit
 *                                 it; emitted, it is treated as a complete
 *                                 record, so when it is too large `oversize`
 *                                 applies to it.  When it is too large and
 *                                 both options fail, the failure reported
 *                                 is its size (known first).
 *
 * A too-large record's completeness is known only at its end, which may be
 * far (a delimiter not yet read, a frame of 4 GiB).  The fate is often the
 * same either way and the record need not be read through; when it is
 * not, the caller reads to the record's end in bounded memory (skipping
 * its bytes; with `oversize` truncate keeping its first `max` aside) and
 * asks again.
 */
enum vb_oversize { VB_OVERSIZE_ERROR, VB_OVERSIZE_SKIP, VB_OVERSIZE_TRUNCATE };
enum vb_final { VB_FINAL_EMIT, VB_FINAL_DROP, VB_FINAL_ERROR };

struct vb_frame_policy {
	enum vb_oversize oversize;   /* a record larger than the maximum */
	enum vb_final final;         /* the incomplete last record */
};

enum vb_fate {
	VB_FATE_EMIT,       /* written */
	VB_FATE_TRUNCATE,   /* its first `max` record bytes are written */
	VB_FATE_SKIP,       /* left out, with a warning: too large */
	VB_FATE_DROP,       /* left out silently: the incomplete last record */
	VB_FATE_FAIL_SIZE,  /* the input fails: the record is too large */
	VB_FATE_FAIL_FINAL, /* the input fails: the last record is incomplete */
	VB_FATE_READ_ON,    /* it depends on whether the record is complete:
			     * read to its end, then ask again */
};

/* The fate of a record that is too large (0 or 1) and complete (1), the
 * incomplete last record (0), or not known to be either yet (-1: then the
 * fate both would have, or VB_FATE_READ_ON).  A record the caller does not
 * want (not selected) is asked about with too_large 0: its size does not
 * matter, it is passed over, but an incomplete one still fails under
 * VB_FINAL_ERROR. */
enum vb_fate vb_frame_policy_fate(const struct vb_frame_policy *p, int too_large, int complete);

#endif
