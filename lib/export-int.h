/*
 * export-int: the export stream's format, what its two halves share:
 * export.c, which writes a stream (vb_export_stream), and apply.c, which
 * reads one and applies it (vb_apply_stream).  Private to them: nothing
 * else includes it; the public interface is export.h.
 *
 * Every number of the format is defined here once: the magic, the format
 * version, the record frame, the record types, each payload's length and
 * the offsets of its fields (named after the tables below), and the
 * record CRC.  A change of any of them is a change of the format (and of
 * FORMAT, which a reader checks).
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
 */
#ifndef VB_EXPORT_INT_H
#define VB_EXPORT_INT_H

#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "crc.h"
#include "export.h"

#define MAGIC "\x89VBEDIT\n"
#define MAGIC_LEN 8
#define FORMAT 1u
/* the longest anchor name an entry may carry */
#define NAME_MAX_LEN 63
/* an origin entry (3 + 12 bytes) must fit beside the anchor entries */
#define ENTRIES_MAX (VB_EXT_MAX - VB_EXT_RESERVED - 15)

/* RECORD: the frame before the packed payload (C, U, CRC) */
enum { REC_CLEN = 0, REC_ULEN = 4, REC_CRC = 8, REC_HEAD = 12 };

/* PAYLOADS: the types (byte 0), the lengths (the fixed part of those
 * that end in a variable part), and the fields' offsets */
enum { T_HEADER = 1, T_VERSION = 2, T_EDIT = 3, T_DATA = 4, T_COMMIT = 5, T_END = 6 };
enum { HEADER_LEN = 49, VERSION_FIXED = 23, EDIT_LEN = 25, COMMIT_FIXED_LEN = 31, END_LEN = 9 };
enum {
	HEADER_FORMAT = 1, HEADER_STORE = 5, HEADER_SINCE = 13, HEADER_IDENTITY = 21,
	HEADER_LENGTH = 25, HEADER_COUNT = 33, HEADER_NEWEST = 41,
};
enum { VERSION_NUMBER = 1, VERSION_IDENTITY = 9, VERSION_TIME = 13, VERSION_MSG_LEN = 21 };
enum { EDIT_OFFSET = 1, EDIT_DELETED = 9, EDIT_INSERTED = 17 };
enum { DATA_BYTES = 1 };
enum {
	COMMIT_NUMBER = 1, COMMIT_EDITS = 9, COMMIT_LENGTH = 17, COMMIT_CRC = 25,
	COMMIT_ENTRIES_LEN = 29,
};
enum { END_COUNT = 1 };

/* CRC-32 (zlib's, crc.h) of n bytes at p, continuing from c (0 to start). */
static inline uint32_t vb_export_crc(uint32_t c, const void *p, size_t n)
{
	return vb_crc32(c, p, n);
}

/* A record's CRC: its two lengths (the frame's first REC_CRC bytes,
 * `frame`) and its clen packed bytes. */
static inline uint32_t vb_export_rec_crc(const unsigned char *frame, const unsigned char *packed,
					 uint32_t clen)
{
	return vb_export_crc(vb_export_crc(0, frame, REC_CRC), packed, clen);
}

/* The most bytes a payload packs into: compressBound(P), the bound on C. */
static inline uint64_t vb_export_packed_max(void)
{
	return compressBound(VB_EXPORT_PAYLOAD_MAX);
}

#endif
