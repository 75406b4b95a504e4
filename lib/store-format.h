/*
 * store-format: the byte layout of a vb store file, in one place.  The
 * store's writer and reader (lib/store.c), its probe (vb_store_probe) and
 * the store fuzzer (tests/fuzz/fuzz-store.c) take every offset, size and
 * constant of the format from here; man/vb.5 describes the same layout
 * for users (keep the two in step).  How the records are ordered, synced,
 * found again after a crash and locked is in lib/store.c.
 *
 * A store is one file: a header written once, then records appended one
 * after another and never changed.  All integers are little-endian.
 * Nothing here may change without a new format version (VB_FMT_VERSION).
 *
 * HEADER (offset 0, H bytes, written once when the store is created)
 *   OFFSET  SIZE  DESCRIPTION
 *   0       8     magic "\x89VBSTOR\n"
 *   8       4     format version (1); any other value is refused
 *   12      4     H, the header length, 108..16384, including the CRC
 *   16      8     store id: random; every record footer repeats it
 *   24      8     incompatible feature bits: must all be known; bit 0
 *                 (VB_FMT_FEAT_LINES) = tree nodes carry line counts
 *                 (NODE encoding 2)
 *   32      8     compatible feature bits: ignored when unknown
 *   40      8     creation time, nanoseconds since the epoch
 *   48      4     data block size B (65536)
 *   52      4     flags: bit 0 = the store has a base file
 *   56      8     base size in bytes
 *   64      8     base mtime, seconds
 *   72      4     base mtime, nanoseconds
 *   76      4     S, the number of sampled base blocks (0..16)
 *   80      8     base device number (a mismatch is only a warning)
 *   88      8     base inode number (a mismatch is only a warning)
 *   96      4     sample length (4096)
 *   100     2     R, length of the base path relative to the store's directory
 *   102     2     A, length of the base's absolute path
 *   104     R     relative path (no NUL)
 *   104+R   A     absolute path (no NUL)
 *   ...     12*S  samples: 8-byte offset, 4-byte CRC-32 of that many bytes
 *   H-4     4     CRC-32 of bytes 0..H-4
 */
#ifndef VB_STORE_FORMAT_H
#define VB_STORE_FORMAT_H

#include <stdint.h>

#define VB_FMT_MAGIC "\x89VBSTOR\n"
#define VB_FMT_MAGIC_LEN 8u
#define VB_FMT_VERSION 1u

#define VB_FMT_H_MAGIC 0u
#define VB_FMT_H_VERSION 8u
#define VB_FMT_H_LEN 12u
#define VB_FMT_H_ID 16u
#define VB_FMT_H_INCOMPAT 24u
#define VB_FMT_H_COMPAT 32u
#define VB_FMT_H_CREATED 40u
#define VB_FMT_H_BLOCK 48u
#define VB_FMT_H_FLAGS 52u
#define VB_FMT_H_BASE_SIZE 56u
#define VB_FMT_H_BASE_MTIME_SEC 64u
#define VB_FMT_H_BASE_MTIME_NSEC 72u
#define VB_FMT_H_NSAMPLES 76u
#define VB_FMT_H_BASE_DEV 80u
#define VB_FMT_H_BASE_INO 88u
#define VB_FMT_H_SAMPLE_LEN 96u
#define VB_FMT_H_REL_LEN 100u
#define VB_FMT_H_ABS_LEN 102u
#define VB_FMT_H_PATHS 104u          /* the relative path, then the absolute one */
#define VB_FMT_HDR_FIXED 104u        /* the header up to its paths */
#define VB_FMT_HDR_CRC_LEN 4u        /* the CRC-32 at H-4 */
#define VB_FMT_HDR_MIN (VB_FMT_HDR_FIXED + VB_FMT_HDR_CRC_LEN)
#define VB_FMT_HDR_MAX 16384u

#define VB_FMT_H_HAS_BASE 1u         /* header flags: the store has a base file */

/* Incompatible feature bits (header +24) this vb knows. */
#define VB_FMT_FEAT_LINES 1u         /* NODE encoding 2: entries carry line counts */
#define VB_FMT_FEAT_KNOWN VB_FMT_FEAT_LINES

/* A sample, after the paths: the offset in the base, the CRC-32 of the
 * VB_FMT_SAMPLE_LEN bytes there (fewer at the end of the base). */
#define VB_FMT_SAMPLE_OFF 0u
#define VB_FMT_SAMPLE_CRC 8u
#define VB_FMT_SAMPLE_SIZE 12u
#define VB_FMT_SAMPLE_LEN 4096u
#define VB_FMT_SAMPLES_MAX 16u

/*
 * RECORD (anywhere from H on; L <= 65536)
 *   OFFSET  SIZE  DESCRIPTION
 *   0       4     L, the payload length
 *   4       L     payload
 *   4+L     32    footer:
 *     +0    4       magic "VBrf"
 *     +4    1       type: 1 data block, 2 node, 3 commit, 4 ops block,
 *                   5 line index block, 6 line index directory
 *     +5    1       flags: bit 0 = may be skipped by a reader that does
 *                   not know the type; other bits must be 0
 *     +6    2       0
 *     +8    4       L again
 *     +12   4       CRC-32 of the record except these 4 bytes
 *     +16   8       offset of the record in the file
 *     +24   8       store id
 *
 *   The footer lets an opener walk backward from the end of the file one
 *   record per read (lib/README.md, Decisions 1): bytes a user inserted
 *   cannot pass for a footer, because the offset and the random id would
 *   both have to match.
 */
#define VB_FMT_R_LEN 0u
#define VB_FMT_R_PAYLOAD 4u

#define VB_FMT_F_MAGIC 0u
#define VB_FMT_F_TYPE 4u
#define VB_FMT_F_FLAGS 5u
#define VB_FMT_F_ZERO 6u
#define VB_FMT_F_LEN 8u
#define VB_FMT_F_CRC 12u
#define VB_FMT_F_OFF 16u
#define VB_FMT_F_ID 24u
#define VB_FMT_FOOTER 32u
#define VB_FMT_FOOTER_MAGIC 0x66724256u /* "VBrf" */

/* Bytes a record adds to its payload: the length in front, the footer. */
#define VB_FMT_REC_OVERHEAD (VB_FMT_R_PAYLOAD + VB_FMT_FOOTER)
#define VB_FMT_REC_MAX VB_FMT_BLOCK

/* Record types (footer +4) and footer flags (+5). */
enum {
	VB_FMT_REC_DATA = 1,
	VB_FMT_REC_NODE = 2,
	VB_FMT_REC_COMMIT = 3,
	VB_FMT_REC_OPS = 4,
	VB_FMT_REC_LINES = 5,
	VB_FMT_REC_LINEDIR = 6,
	VB_FMT_REC_BASEID = 7,
};
enum { VB_FMT_FLAG_MAY_SKIP = 1 };

/*
 * DATA RECORD: the bytes one writer session inserted, cut into data blocks
 *   of B bytes (the last one shorter), written back to back, so byte k of
 *   the record lies in block k / B at file offset rec + (k / B) * (B + 36).
 *   Pieces name (rec, k, length); each block is verified when read.
 */
#define VB_FMT_BLOCK 65536u
#define VB_FMT_BLOCK_STRIDE ((uint64_t)VB_FMT_BLOCK + VB_FMT_REC_OVERHEAD)

/*
 * OPS RECORD: the commit's operations, encoded as (kind byte, varint offset,
 *   varint length, varint length2) each, cut into blocks like a data record.
 *   An operation takes 4 to 31 bytes (a varint at most 10).
 */
#define VB_FMT_OP_MIN 4u
#define VB_FMT_OP_MAX 31u

/*
 * NODE: one piece-tree node (encoding in lib/ptree.c): a level (0 = leaf,
 *   below 24), a count of entries and the entries, all varints.  A node
 *   holds 1 to 32 entries (VB_PTREE_MAX in lib/ptree.h), a node other than
 *   the root at least 8 (VB_PTREE_MIN).  A reader rejects a node with more
 *   than 32 entries or a level of 24 or more (VB_PTREE_MAX_DEPTH), verify
 *   one other than the root with fewer than 8: the fanout is part of the
 *   format, not a tuning knob.  Encoding 1 (stores without
 *   VB_FMT_FEAT_LINES): the payload is at most 2048 bytes.  Encoding 2
 *   (with it): every entry ends with its line counts (a tag byte, then
 *   the nonzero counts as varints; lib/ptree.c), data pieces are at most
 *   1 MiB (VB_PTREE_COUNT_PIECE), and the payload is at most 4096 bytes
 *   (VB_PTREE_NODE_BYTES); a reader rejects a longer one.
 */

/*
 * LINE INDEX: the line-end counts of the base file (lib/lindex.c), built
 *   in one pass over the base when asked for (vb-flatten --lines), so that
 *   the counts of any byte range of the base cost two partial blocks read
 *   and two lookups.  The base is cut into blocks of B bytes (B = the
 *   store's data block size); for the prefix of the base that ends at a
 *   block boundary x, P(x) is its '\n' bytes, its '\r' bytes and the "\r\n"
 *   pairs wholly inside it.  Both record types carry footer flag bit 0
 *   (may be skipped): a vb that does not know them still opens the store.
 *
 * LINES RECORD (type 5): G consecutive blocks (G = 4096, fewer in the last)
 *   OFFSET  SIZE  DESCRIPTION
 *   0       8     number of the first block, j0 (a multiple of G)
 *   8       4     n, blocks in this record (1..G)
 *   12      4     0
 *   16      8     P(j0*B): '\n' bytes
 *   24      8     P(j0*B): '\r' bytes
 *   32      8     P(j0*B): "\r\n" pairs
 *   40      13*n  for block j0+k, k = 0..n-1, with e = min((j0+k+1)*B, base size):
 *                 P(e) - P(j0*B) as three 4-byte counts ('\n', '\r',
 *                 "\r\n"), then a flags byte: bit 0 the block starts
 *                 with '\n', bit 1 it ends with '\r'; other bits 0
 *
 * LINE INDEX DIRECTORY (type 6), written after its LINES records:
 *   OFFSET  SIZE  DESCRIPTION
 *   0       8     base size the index describes
 *   8       4     B, block size (the header's data block size)
 *   12      4     G, blocks per LINES record (4096)
 *   16      4     CRC-32 of the whole base content
 *   20      4     CRC-32 of the header's sample table (12*S bytes): the
 *                 base identity the index was built for
 *   24      8     P(base size): '\n' bytes
 *   32      8     P(base size): '\r' bytes
 *   40      8     P(base size): "\r\n" pairs
 *   48      8     R, number of LINES records (ceil(blocks / G), at most
 *                 (65536 - 56) / 8: a base of up to 2 TiB)
 *   56      8*R   offsets of the LINES records, in block order
 *
 *   A commit refers to the directory by extension 6; the index is used
 *   only when its base size and sample CRC match the header's.
 */
#define VB_FMT_LX_FIRST 0u
#define VB_FMT_LX_N 8u
#define VB_FMT_LX_ZERO 12u
#define VB_FMT_LX_LF 16u
#define VB_FMT_LX_CR 24u
#define VB_FMT_LX_CRLF 32u
#define VB_FMT_LX_ENTRIES 40u
#define VB_FMT_LX_ENTRY 13u
#define VB_FMT_LX_E_LF 0u
#define VB_FMT_LX_E_CR 4u
#define VB_FMT_LX_E_CRLF 8u
#define VB_FMT_LX_E_FLAGS 12u
#define VB_FMT_LX_HEAD_LF 1u
#define VB_FMT_LX_TAIL_CR 2u
#define VB_FMT_LX_G 4096u

#define VB_FMT_LD_SIZE 0u
#define VB_FMT_LD_BLOCK 8u
#define VB_FMT_LD_G 12u
#define VB_FMT_LD_CRC 16u
#define VB_FMT_LD_SAMPLES_CRC 20u
#define VB_FMT_LD_LF 24u
#define VB_FMT_LD_CR 32u
#define VB_FMT_LD_CRLF 40u
#define VB_FMT_LD_R 48u
#define VB_FMT_LD_RECS 56u
#define VB_FMT_LD_R_MAX ((VB_FMT_REC_MAX - VB_FMT_LD_RECS) / 8u)

/*
 * COMMIT (payload):
 *   OFFSET  SIZE  DESCRIPTION
 *   0       8     version (0 for the first)
 *   8       8     offset of the parent commit (0 for version 0)
 *   16      4     the parent commit's CRC
 *   20      4     flags: bit 0 = bytes 116..127 hold a region checksum;
 *                 bit 1 = the content has no piece of the base file (a
 *                 flatten made it, or an edit or revert of such a
 *                 version), so it opens without the base;
 *                 bit 2 = the versions before this one were compacted
 *                 away: parent and skip offsets are 0;
 *                 other bits must be 0
 *   24      8     offset of the commit of version (v & (v-1)): a skip list
 *                 that finds any version in O(log^2 v) reads
 *   32      8     root node offset (0 = empty content)
 *   40      8     content length
 *   48      8     piece count
 *   56      8     time, nanoseconds since the epoch
 *   64      8     offset of the OPS record (0 = none)
 *   72      8     number of operations
 *   80      8     encoded length of the operations
 *   88      1     summary: the kind of all operations, 255 (mixed) or 0 (none)
 *   89      1     0
 *   90      2     M, message length (<= 4096)
 *   92      8     summary: offset of the first operation
 *   100     8     summary: total length of the operations
 *   108     8     summary: version reverted to (revert only)
 *   116     4     region checksum: CRC-32 of the file from the region start
 *                 up to this record (flag bit 0 only)
 *   120     8     region start: the end of the previous commit (flag bit 0)
 *   128     M     message (UTF-8, no NUL)
 *   128+M   ...   extensions: entries of (1 byte type, 2 bytes length L,
 *                 L bytes), at most 2048 bytes in all; a reader skips
 *                 types it does not know:
 *                   1  the version the operations' offsets were given in
 *                      (8 bytes; --at-version)
 *                   2  an anchor set: 8 bytes offset in this version's
 *                      content, then the name
 *                   3  an anchor removed: the name
 *                   4  store state, written by every commit and read
 *                      from the head only (24 bytes): the oldest
 *                      version kept (compaction), the offset of the data
 *                      record holding an embedded copy of the base (0:
 *                      none), commits since the last flatten
 *                   5  origin: the identity (4 bytes) of the version this
 *                      one was applied from (an export, lib/apply.c),
 *                      optionally followed by that version's time (8
 *                      bytes); a compaction adds one holding the old
 *                      commit CRC to every kept commit without one, so a
 *                      version's identity survives the rewrite
 *                   6  line index: the offset of the LINE INDEX DIRECTORY
 *                      (8 bytes), written by every commit while the
 *                      store has one and read from the head only
 */
#define VB_FMT_C_VERSION 0u
#define VB_FMT_C_PARENT_OFF 8u
#define VB_FMT_C_PARENT_CRC 16u
#define VB_FMT_C_FLAGS 20u
#define VB_FMT_C_SKIP_OFF 24u
#define VB_FMT_C_ROOT_OFF 32u
#define VB_FMT_C_LENGTH 40u
#define VB_FMT_C_PIECES 48u
#define VB_FMT_C_TIME 56u
#define VB_FMT_C_OPS_OFF 64u
#define VB_FMT_C_NOPS 72u
#define VB_FMT_C_OPS_BYTES 80u
#define VB_FMT_C_SUM_KIND 88u
#define VB_FMT_C_ZERO 89u
#define VB_FMT_C_MSG_LEN 90u
#define VB_FMT_C_SUM_OFF 92u
#define VB_FMT_C_SUM_LEN 100u
#define VB_FMT_C_SUM_TARGET 108u
#define VB_FMT_C_REGION_CRC 116u
#define VB_FMT_C_REGION_START 120u
#define VB_FMT_C_MESSAGE 128u        /* the message, then the extensions */
#define VB_FMT_COMMIT_FIXED 128u     /* the commit up to its message */

/* Commit flags (the same bits as VB_COMMIT_* in store.h). */
#define VB_FMT_COMMIT_REGION 1u
#define VB_FMT_COMMIT_NO_BASE 2u
#define VB_FMT_COMMIT_CUT 4u
#define VB_FMT_COMMIT_FLAGS (VB_FMT_COMMIT_REGION | VB_FMT_COMMIT_NO_BASE | VB_FMT_COMMIT_CUT)

/* A region checksum covers at most this many bytes: a commit claiming
 * more is refused. */
#define VB_FMT_REGION_MAX (64u * 1024u)

#define VB_FMT_MESSAGE_MAX 4096u
#define VB_FMT_EXT_MAX 2048u

/* An extension entry: type, length L, then L bytes. */
#define VB_FMT_X_TYPE 0u
#define VB_FMT_X_LEN 1u
#define VB_FMT_X_DATA 3u
#define VB_FMT_X_HEAD 3u             /* bytes before the data */

/* Extension types (the same as enum vb_ext_type in store.h). */
#define VB_FMT_EXT_AT_VERSION 1
#define VB_FMT_EXT_ANCHOR 2
#define VB_FMT_EXT_UNANCHOR 3
#define VB_FMT_EXT_STATE 4
#define VB_FMT_EXT_ORIGIN 5
#define VB_FMT_EXT_LINE_INDEX 6
#define VB_FMT_LINE_INDEX_LEN 8u
#define VB_FMT_EXT_BASE_ID 7
#define VB_FMT_BASE_ID_LEN 8u
#define VB_FMT_EXT_SET_BASE 8

/*
 * BASE IDENTITY RECORD (type 7, may skip): the base file a store was
 * re-bound to (vb-history --set-base, a copy of the same content), in
 * effect from the commit whose extension 7 (u64) names it and carried by
 * every commit after; without one the header's identity holds.  Size and
 * sample table are the header's (the content is the same): they are
 * repeated so that a record cannot be applied to another base.
 *
 *   OFFSET  SIZE  DESCRIPTION
 *   0       8     modification time, seconds (signed)
 *   8       4     modification time, nanoseconds
 *   12      8     device
 *   20      8     inode
 *   28      8     size (= the header's)
 *   36      4     CRC-32 of the header's sample table (= vb_store_base_samples_crc)
 *   40      2     R: length of the path relative to the store's directory
 *   42      2     A: length of the absolute path
 *   44      R     relative path, then A bytes: absolute path (no NULs)
 *
 * Extension 8 (written by the re-binding commit only, 1 byte): what was
 * checked: bit 0 size, bit 1 the sampled blocks, bit 2 the CRC-32 of the
 * whole content against the line index's (LINE INDEX).
 */
#define VB_FMT_BI_MTIME_SEC 0u
#define VB_FMT_BI_MTIME_NSEC 8u
#define VB_FMT_BI_DEV 12u
#define VB_FMT_BI_INO 20u
#define VB_FMT_BI_SIZE 28u
#define VB_FMT_BI_SAMPLES_CRC 36u
#define VB_FMT_BI_REL_LEN 40u
#define VB_FMT_BI_ABS_LEN 42u
#define VB_FMT_BI_PATHS 44u
#define VB_FMT_SET_BASE_LEN 1u

/* The store state entry (type 4). */
#define VB_FMT_STATE_OLDEST 0u
#define VB_FMT_STATE_EMBED 8u
#define VB_FMT_STATE_SINCE_FLATTEN 16u
#define VB_FMT_STATE_LEN 24u

#endif
