/*
 * store: the on-disk format of a vb store, and how it is read, appended,
 * committed, recovered and verified.
 *
 * A store is one file: a header written once, then records appended one
 * after another and never changed.  Its layout (header, records and their
 * footers, data blocks, operations, nodes, commits and their extensions)
 * is in lib/store-format.h, the one place its offsets and constants are
 * defined; what follows is how the records are written, found and read.
 *
 * ORDER AND DURABILITY
 *   A writer appends data blocks while it reads its input (full blocks
 *   16 at a time: the batch, below; the rest before the OPS record), then
 *   the OPS record and the new nodes (children before parents), calls
 *   fdatasync,
 *   appends the commit record and calls fdatasync again.  A record only
 *   refers to records at smaller offsets, so no structure can loop.
 *
 *   When everything a commit appended before its commit record (its
 *   "region") is at most 64 KiB, which is every small edit, the first
 *   fdatasync is left out: the commit record carries a CRC-32 of the whole
 *   region instead, and an opener accepts such a commit as the head only
 *   if the region on disk matches it.  After a crash that kept the commit
 *   record but lost part of its region, the opener sees the mismatch and
 *   opens the version before, exactly as if the commit had never been
 *   written (the same argument as SQLite's checksummed WAL frames).  This
 *   saves one disk flush per edit, half of a small edit's latency; a large
 *   region still gets both flushes, so an opener never has to checksum
 *   more than 64 KiB to trust the head.
 *
 * FINDING THE HEAD
 *   The head is the newest commit whose record is whole and whose CRC
 *   matches.  From the end of the file the opener reads a footer; a valid
 *   footer (magic, id, its own offset, a length that fits) gives the
 *   previous record boundary.  Where the bytes before a boundary are not a
 *   footer (a record cut short by a crash, or zeros where the file size
 *   reached the disk before the data) the opener searches backward for the
 *   next valid footer.  Everything after the head is a torn tail: readers
 *   ignore it (and say so when it held a whole record with a bad CRC), the
 *   next writer cuts it off.
 *
 * LOCKING
 *   Writers take an exclusive OFD lock on the whole file for the whole
 *   read-modify-append and then check that the path still names their open
 *   file (a compaction may have replaced it).  Readers take no lock: they
 *   see the head that existed when they opened; appends and cuts after it
 *   never touch what they read.
 *
 * SNAPSHOTS AND THE EMBEDDED BASE
 *   A flatten copies content into a new data record of the session (the
 *   same blocks as inserted bytes), verifying each source block as it
 *   reads it; the new version's tree is one piece over that record, or,
 *   for a partial flatten, one piece per run of small pieces.  Embedding
 *   copies the whole base into a data record E and names E in the state
 *   entry of every later commit; from then on a base piece (start, len) is
 *   read as the data piece (E, start, len) in every version, old ones
 *   included, and the base file is not opened at all.
 *
 * BLOCK CACHE
 *   Data blocks read from the log are verified (CRC) once and, when read
 *   for vb_store_read (small, repeated reads), kept in an LRU cache;
 *   streaming reads (vb_store_send) pass through without displacing it.
 *   The payloads live in a virtual page store (lib/pages) whose reserved
 *   range is the cache size: each block takes whole system pages (a 10-byte
 *   block costs one page), and a block that does not find room evicts the
 *   least recently used blocks until it does (or, when nothing is left to
 *   evict, is not kept).  Memory for cached blocks therefore never exceeds
 *   the cache size, and pages left empty are given back after the page
 *   store's decay time.  Base file bytes are not cached: the kernel's page
 *   cache already holds them.
 */
#include "store.h"
#include "store-format.h"
#include "crc.h"
#include "fcopy.h"
#include "grow.h"
#include "le.h"
#include "pages.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define WARN_MAX 8

/* store.h names some format constants for its callers: they must agree. */
_Static_assert(VB_STORE_BLOCK == VB_FMT_BLOCK, "VB_STORE_BLOCK is the format's block size");
_Static_assert(VB_COMMIT_REGION == VB_FMT_COMMIT_REGION &&
		       VB_COMMIT_NO_BASE == VB_FMT_COMMIT_NO_BASE && VB_COMMIT_CUT == VB_FMT_COMMIT_CUT,
	       "commit flags are the format's");
_Static_assert(VB_EXT_AT_VERSION == VB_FMT_EXT_AT_VERSION && VB_EXT_ANCHOR == VB_FMT_EXT_ANCHOR &&
		       VB_EXT_UNANCHOR == VB_FMT_EXT_UNANCHOR && VB_EXT_STATE == VB_FMT_EXT_STATE &&
		       VB_EXT_ORIGIN == VB_FMT_EXT_ORIGIN &&
		       VB_EXT_LINE_INDEX == VB_FMT_EXT_LINE_INDEX &&
		       VB_EXT_BASE_ID == VB_FMT_EXT_BASE_ID && VB_EXT_SET_BASE == VB_FMT_EXT_SET_BASE,
	       "extension types are the format's");
_Static_assert(VB_MESSAGE_MAX == VB_FMT_MESSAGE_MAX && VB_EXT_MAX == VB_FMT_EXT_MAX,
	       "message and extension limits are the format's");
_Static_assert(VB_STORE_NODE_MAX == VB_FMT_REC_MAX, "a node is one record");
_Static_assert((int)VB_STORE_REC_LINES == (int)VB_FMT_REC_LINES &&
		       (int)VB_STORE_REC_LINEDIR == (int)VB_FMT_REC_LINEDIR,
	       "auxiliary record types are the format's");

/* ------------------------------------------------------------ encoding */

_Static_assert(sizeof VB_FMT_MAGIC - 1 == VB_FMT_MAGIC_LEN, "the magic is 8 bytes");
_Static_assert(VB_FMT_OP_MAX == 1 + 3 * VB_VARINT_MAX, "an operation: a kind and three varints");

static void drop_rebind(struct vb_store *s);

static uint32_t crc(uint32_t c, const void *p, size_t n)
{
	return vb_crc32(c, p, n);
}

/* -------------------------------------------------------------- handle */

struct block {
	uint64_t off;           /* file offset of the block record */
	uint32_t len;           /* payload length */
	size_t size;            /* bytes allocated for it in s->bpages */
	struct block *prev, *next, *hnext;
	unsigned char *data;    /* in s->bpages */
};

struct base_id {
	int present;
	uint64_t size;
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	uint64_t dev, ino;
	uint32_t nsamples;
	uint64_t sample_off[VB_FMT_SAMPLES_MAX];
	uint32_t sample_crc[VB_FMT_SAMPLES_MAX];
	char *rel;
	char *abs;
};

struct vb_store {
	char *path;              /* as given */
	int dir_fd;              /* creating: the directory, flock()ed */
	char *tmp_path;          /* new store: the temporary file */
	int tmp_anon;            /* ... has no name yet (O_TMPFILE): tmp_path is
				  * the name it gets if it needs one */
	int fd;
	int writer;
	int no_sync;
	int is_new;
	int rewrite;             /* made by vb_store_rewrite_open */
	int broken;              /* a failed commit: refuse further writes */
	int touched;             /* bytes may have been written since the last commit */
	int tail_bad;            /* after the head: 1 a whole record with a bad CRC,
				  * 2 a commit whose region does not match,
				  * 3 a whole last record with a damaged footer */
	uint64_t tail_commit;    /* kinds 2 and 3: that record's offset */
	uint32_t region_crc;     /* CRC of the bytes appended since the last commit */
	uint64_t id;
	uint64_t incompat;       /* the header's incompatible feature bits */
	uint32_t hdr_len;
	uint64_t end;            /* end of the content this handle uses */
	uint64_t committed_end;  /* end after the last commit (rollback point) */
	uint64_t file_size_at_open;
	struct vb_commit head;
	uint64_t oldest;         /* state of the head: oldest version kept, */
	uint64_t embed_rec;      /* record of the embedded base (0: none), */
	uint64_t since_flatten;  /* commits since the last flatten */
	struct base_id base;
	int base_fd;
	int lenient;             /* base problems are the reader's business */
	uint64_t embed_next;     /* set by vb_store_embed: for the next commit */
	uint64_t lindex;         /* the head's line index directory (0: none) */
	uint64_t lindex_next;    /* vb_store_set_line_index: for the next commit */
	int lindex_set;          /* ... was called since the last commit */
	uint64_t baseid;         /* the base identity record in effect, or 0 */
	uint64_t baseid_next;    /* vb_store_rebind_base: for the next commit */
	struct base_id base_next;/* ... the identity it records */
	int base_next_fd;        /* ... the file, open */
	int aux;                 /* aux records appended since the last commit */
	uint64_t lindex_cur;     /* put_commit: the line index entry to write */
	enum vb_err base_err;
	char *base_err_msg;
	char *warnings[WARN_MAX];
	size_t nwarnings;

	/* Data record being written. */
	uint64_t data_rec;       /* 0: none open */
	uint64_t data_len;       /* logical bytes in it */
	unsigned char *blk;      /* the batch: bat_len bytes of sealed blocks
				  * not written yet, then the pending block
				  * (pending(): 4 + B + 32 bytes) */
	size_t blk_cap;          /* bytes at blk */
	size_t bat_len;
	uint32_t blk_len;        /* payload bytes in the pending block */
	uint64_t blk_off;        /* where the pending block will be written (end) */
	struct vb_fcopy fc;      /* kernel copies into this file (rewrites) */

	/* Verified block cache. */
	struct block **buckets;
	size_t nbuckets;
	struct block *lru_head, *lru_tail;
	size_t cache_cap, cache_used;   /* bytes of block payload pages */
	struct vb_pages *bpages;        /* NULL: no block cache */
	size_t bpage;                   /* its page size */
	uint64_t block_reads, block_hits, appended;
	uint32_t zcrc_len;       /* rewriting: crc32 of zeros for one block */
	uint32_t zcrc_a, zcrc_b; /* length (moved_crc) */
	unsigned char *rbuf;     /* one record: 4 + B + 32 bytes */
	unsigned char *sbuf;     /* send_data's SEND_BLOCKS records (or NULL) */
};

void vb_store_opts_init(struct vb_store_opts *o)
{
	memset(o, 0, sizeof *o);
	o->wait = 60;
	o->block_cache = VB_STORE_BLOCK_CACHE;
}

const char *vb_op_name(unsigned kind)
{
	switch (kind) {
	case VB_OP_INSERT: return "insert";
	case VB_OP_DELETE: return "delete";
	case VB_OP_REPLACE: return "replace";
	case VB_OP_REVERT: return "revert";
	case VB_OP_CREATE: return "create";
	case VB_OP_FLATTEN: return "flatten";
	case VB_OP_EMBED: return "embed";
	case VB_OP_COMPACT: return "compact";
	case VB_OP_MIXED: return "mixed";
	case VB_OP_NONE: return "none";
	default: return "unknown";
	}
}

static void warn(struct vb_store *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void warn(struct vb_store *s, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (s->nwarnings >= WARN_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	s->warnings[s->nwarnings] = strdup(buf);
	if (s->warnings[s->nwarnings])
		s->nwarnings++;
}

size_t vb_store_nwarnings(const struct vb_store *s)
{
	return s->nwarnings;
}

const char *vb_store_warning(const struct vb_store *s, size_t i)
{
	return i < s->nwarnings ? s->warnings[i] : "";
}

int vb_store_is_new(const struct vb_store *s)
{
	return s->is_new;
}

uint64_t vb_store_id(const struct vb_store *s)
{
	return s->id;
}

const struct vb_commit *vb_store_head(const struct vb_store *s)
{
	return &s->head;
}

struct vb_store_root vb_store_root_of(const struct vb_commit *c)
{
	return (struct vb_store_root){c->root_off, c->length, c->pieces};
}

static enum vb_err corrupt(uint64_t off, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static enum vb_err corrupt(uint64_t off, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return vb_err_set(VB_ECORRUPT, "record at offset %llu: %s", (unsigned long long)off, buf);
}

/* ------------------------------------------------------------- records */

static uint32_t record_crc(const unsigned char *rec, uint32_t len)
{
	const unsigned char *f = rec + VB_FMT_R_PAYLOAD + len;
	uint32_t c = crc(0, rec, VB_FMT_R_PAYLOAD + len + VB_FMT_F_CRC);
	return crc(c, f + VB_FMT_F_OFF, VB_FMT_FOOTER - VB_FMT_F_OFF);
}

static void seal(unsigned char *rec, uint32_t len, unsigned type, uint64_t off, uint64_t id)
{
	unsigned char *f = rec + VB_FMT_R_PAYLOAD + len;

	vb_le_put32(rec + VB_FMT_R_LEN, len);
	vb_le_put32(f + VB_FMT_F_MAGIC, VB_FMT_FOOTER_MAGIC);
	f[VB_FMT_F_TYPE] = (unsigned char)type;
	/* the line index's records are optional to a reader */
	f[VB_FMT_F_FLAGS] = type >= VB_FMT_REC_LINES ? VB_FMT_FLAG_MAY_SKIP : 0;
	vb_le_put16(f + VB_FMT_F_ZERO, 0);
	vb_le_put32(f + VB_FMT_F_LEN, len);
	vb_le_put64(f + VB_FMT_F_OFF, off);
	vb_le_put64(f + VB_FMT_F_ID, id);
	vb_le_put32(f + VB_FMT_F_CRC, record_crc(rec, len));
}

/* Does the footer at f describe a record ending exactly at `end`? */
static int footer_plausible(const struct vb_store *s, const unsigned char *f, uint64_t end)
{
	uint32_t len = vb_le_get32(f + VB_FMT_F_LEN);
	uint64_t off = vb_le_get64(f + VB_FMT_F_OFF);

	return vb_le_get32(f + VB_FMT_F_MAGIC) == VB_FMT_FOOTER_MAGIC &&
	       vb_le_get64(f + VB_FMT_F_ID) == s->id && len <= VB_FMT_REC_MAX &&
	       off >= s->hdr_len && off + VB_FMT_REC_OVERHEAD + len == end;
}

/* Test-only: called after every append and sync of a writer, and at every
 * point where a compaction copies or renames, so a test can end the
 * process there (tests/unit/test-compact). */
void (*vb_store_crash_hook)(const char *where, int fd, uint64_t off, uint64_t len);

/* `fd`, `off` and `len` name the write just made (fd -1: none). */
static void crash_at(const char *where, int fd, uint64_t off, uint64_t len)
{
	if (vb_store_crash_hook)
		vb_store_crash_hook(where, fd, off, len);
}

static void crash_point(const char *where)
{
	crash_at(where, -1, 0, 0);
}

/* Write `n` bytes at `off` of the store, where the file ends or will. */
static enum vb_err write_at(struct vb_store *s, const void *buf, size_t n, uint64_t off)
{
	enum vb_err rc;

	s->touched = 1;
	rc = vb_io_pwrite_full(s->fd, buf, n, off);
	crash_at("append", s->fd, off, n);
	if (rc && (vb_err_errno() == EFBIG || vb_err_errno() == ENOSPC ||
		   vb_err_errno() == EDQUOT))
		vb_err_set(VB_EIO, "cannot append: %s", strerror(vb_err_errno()));
	return rc;
}

/* The `n` bytes at buf now end the store (written, or batched). */
static void appended(struct vb_store *s, const void *buf, size_t n)
{
	/* only a region of at most VB_FMT_REGION_MAX gets a checksum: past that,
	 * do not spend a second pass over every byte */
	if (s->end + n - s->committed_end <= VB_FMT_REGION_MAX)
		s->region_crc = crc(s->region_crc, buf, n);
	s->end += n;
	s->appended += n;
}

/*
 * The batch: as a writer fills data blocks (vb_store_append from its
 * input; vb_store_append_counted's copies: flatten, embed), full blocks
 * are sealed where they were filled, in the write buffer s->blk, and
 * written out 16 at a time
 * (BATCH), in one pwrite of 1 MiB: the page cache takes one large write
 * at a fraction of the cost of sixteen of 64 KiB at unaligned offsets
 * (it allocates large folios for it), and the blocks were read,
 * counted, checksummed and sealed while in the CPU's cache (the buffer
 * is small enough to stay there).  The checksum is of the very bytes
 * written: those in the buffer, which nothing changes between the seal
 * and the write (a base file changed under the copy gives a record of
 * the bytes read, whose CRC matches them; the base's identity is checked
 * when the store opens it, not per byte).  The blocks of the batch count
 * as appended (s->end is past them) but are written only by batch_write,
 * which every other write, read or sync of the file's tail calls first:
 * append_raw (any other record), flush_block of any block but a full data
 * block, sync_file, get_block (a block of the batch is read back from the
 * file) and the rewrite's copies.  A rollback drops the batch with the
 * rest.
 *
 * copy_file_range into the blocks' places, with the checksum read back
 * from the file, measured slower: one call per block of 64 KiB between
 * 36 bytes of framing is a small unaligned write to the page cache
 * (lib/fcopy.h; tests/bench/PERFORMANCE.md, issue 15).
 */
#define BATCH VB_STORE_BATCH

static unsigned char *pending(const struct vb_store *s)
{
	return s->blk + s->bat_len;
}

/* Write the batch out; the pending block moves to the front. */
static enum vb_err batch_write(struct vb_store *s)
{
	enum vb_err rc;

	if (!s->bat_len)
		return VB_OK;
	if ((rc = write_at(s, s->blk, s->bat_len, s->end - s->bat_len)))
		return rc;
	if (s->blk_len)
		memmove(s->blk, pending(s), VB_FMT_R_PAYLOAD + (size_t)s->blk_len);
	s->bat_len = 0;
	return VB_OK;
}

static enum vb_err append_raw(struct vb_store *s, const void *buf, size_t n)
{
	enum vb_err rc;

	if ((rc = batch_write(s)) || (rc = write_at(s, buf, n, s->end)))
		return rc;
	appended(s, buf, n);
	return VB_OK;
}

/* Append a record whose payload is already at rec+4 (room for the footer
 * after it). */
static enum vb_err append_record(struct vb_store *s, unsigned char *rec, uint32_t len,
				 unsigned type)
{
	seal(rec, len, type, s->end, s->id);
	return append_raw(s, rec, (size_t)len + VB_FMT_REC_OVERHEAD);
}

/* Check the record at file offset `off` whose first `got` bytes are at
 * `r`: its length fits, its footer is its own, its checksum matches and
 * it has the expected `type`; its payload length in *len. */
static enum vb_err record_check(const struct vb_store *s, const unsigned char *r, size_t got,
				uint64_t off, unsigned type, uint32_t *len)
{
	uint32_t l = got >= VB_FMT_R_PAYLOAD ? vb_le_get32(r + VB_FMT_R_LEN) : 0;
	const unsigned char *f;

	if (got < VB_FMT_REC_OVERHEAD || l > VB_FMT_REC_MAX ||
	    (uint64_t)l + VB_FMT_REC_OVERHEAD > got)
		return corrupt(off, "length %u does not fit in the file", l);
	f = r + VB_FMT_R_PAYLOAD + l;
	if (vb_le_get32(f + VB_FMT_F_MAGIC) != VB_FMT_FOOTER_MAGIC ||
	    vb_le_get32(f + VB_FMT_F_LEN) != l || vb_le_get64(f + VB_FMT_F_OFF) != off ||
	    vb_le_get64(f + VB_FMT_F_ID) != s->id)
		return corrupt(off, "bad footer");
	if (vb_le_get32(f + VB_FMT_F_CRC) != record_crc(r, l))
		return corrupt(off, "checksum mismatch");
	if (f[VB_FMT_F_TYPE] != type)
		return corrupt(off, "expected a %s record, found type %u",
			       type == VB_FMT_REC_NODE ? "node" :
			       type == VB_FMT_REC_COMMIT ? "commit" :
			       type == VB_FMT_REC_LINES ? "line index" :
			       type == VB_FMT_REC_LINEDIR ? "line index directory" :
			       type == VB_FMT_REC_BASEID ? "base identity" : "data",
			       f[VB_FMT_F_TYPE]);
	*len = l;
	return VB_OK;
}

/* Read the record at `off` of expected `type` into s->rbuf; return its
 * payload via *payload and *len.  `limit` bounds the record's end. */
static enum vb_err read_record_hint(struct vb_store *s, uint64_t off, unsigned type,
				    uint64_t limit, size_t hint, const unsigned char **payload,
				    uint32_t *len)
{
	size_t got;
	enum vb_err rc;
	uint64_t want = VB_FMT_REC_OVERHEAD + (uint64_t)VB_FMT_REC_MAX;
	uint32_t l;

	if (off < s->hdr_len || off + VB_FMT_REC_OVERHEAD > limit)
		return corrupt(off, "offset outside the store");
	/* one read of what the caller expects (at least 4 KiB); a second one
	 * if the record turns out longer */
	if (hint < 4096)
		hint = 4096;
	if (hint < want)
		want = hint;
	if (want > limit - off)
		want = limit - off;
	if ((rc = vb_io_pread_full(s->fd, s->rbuf, (size_t)want, off, &got)))
		return rc;
	if (got < VB_FMT_REC_OVERHEAD)
		return corrupt(off, "truncated");
	l = vb_le_get32(s->rbuf + VB_FMT_R_LEN);
	if (l <= VB_FMT_REC_MAX && (uint64_t)l + VB_FMT_REC_OVERHEAD > got && got == want &&
	    (uint64_t)l + VB_FMT_REC_OVERHEAD <= limit - off) {
		size_t more;
		if ((rc = vb_io_pread_full(s->fd, s->rbuf + got, l + VB_FMT_REC_OVERHEAD - got,
					   off + got, &more)))
			return rc;
		got += more;
	}
	if ((rc = record_check(s, s->rbuf, got, off, type, len)))
		return rc;
	*payload = s->rbuf + VB_FMT_R_PAYLOAD;
	return VB_OK;
}

static enum vb_err read_record(struct vb_store *s, uint64_t off, unsigned type, uint64_t limit,
			       const unsigned char **payload, uint32_t *len)
{
	size_t hint = type == VB_FMT_REC_NODE || type == VB_FMT_REC_COMMIT ?
			      4096 : VB_FMT_REC_OVERHEAD + VB_FMT_REC_MAX;
	return read_record_hint(s, off, type, limit, hint, payload, len);
}

/* -------------------------------------------------------------- header */

struct header {
	uint32_t len;
	uint64_t id;
	uint64_t incompat, compat;
	int64_t created;
	struct base_id base;
};

/* Whether the file ends with what looks like a record footer (magic, a
 * known type, its own offset and length consistent with the file size):
 * a store whose header was damaged, not some other file. */
static int ends_with_record(int fd, uint64_t size)
{
	unsigned char f[VB_FMT_FOOTER];
	size_t got;

	if (size < VB_FMT_HDR_FIXED + VB_FMT_REC_OVERHEAD ||
	    vb_io_pread_full(fd, f, VB_FMT_FOOTER, size - VB_FMT_FOOTER, &got) ||
	    got != VB_FMT_FOOTER)
		return 0;
	uint32_t len = vb_le_get32(f + VB_FMT_F_LEN);
	return vb_le_get32(f + VB_FMT_F_MAGIC) == VB_FMT_FOOTER_MAGIC &&
	       f[VB_FMT_F_TYPE] >= VB_FMT_REC_DATA && f[VB_FMT_F_TYPE] <= VB_FMT_REC_BASEID &&
	       len <= VB_FMT_REC_MAX &&
	       vb_le_get64(f + VB_FMT_F_OFF) + VB_FMT_REC_OVERHEAD + len == size;
}

int vb_store_probe(int fd)
{
	unsigned char m[VB_FMT_MAGIC_LEN];
	struct stat st;
	size_t got;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	if (!vb_io_pread_full(fd, m, sizeof m, VB_FMT_H_MAGIC, &got) && got == sizeof m &&
	    !memcmp(m, VB_FMT_MAGIC, VB_FMT_MAGIC_LEN))
		return 1;
	return ends_with_record(fd, (uint64_t)st.st_size);
}

static enum vb_err read_header(struct vb_store *s, struct header *h)
{
	unsigned char fixed[VB_FMT_HDR_FIXED], *buf;
	size_t got;
	enum vb_err rc;
	struct stat st;

	memset(h, 0, sizeof *h);
	if (fstat(s->fd, &st) < 0)
		return vb_err_sys("stat");
	if (S_ISDIR(st.st_mode))
		return vb_err_set(VB_ENOTSTORE, "is a directory");
	if (!S_ISREG(st.st_mode))
		return vb_err_set(VB_ENOTSTORE, "not a regular file");
	if ((rc = vb_io_pread_full(s->fd, fixed, sizeof fixed, 0, &got)))
		return rc;
	if (got < VB_FMT_MAGIC_LEN || memcmp(fixed + VB_FMT_H_MAGIC, VB_FMT_MAGIC, VB_FMT_MAGIC_LEN)) {
		if (got == 0)
			return vb_err_set(VB_ENOTSTORE, "not a vb store (empty file)");
		if (got < VB_FMT_MAGIC_LEN && !memcmp(fixed + VB_FMT_H_MAGIC, VB_FMT_MAGIC, got))
			return vb_err_set(VB_ECORRUPT, "truncated header (%zu bytes)", got);
		if (ends_with_record(s->fd, (uint64_t)st.st_size))
			return vb_err_set(VB_ECORRUPT, "damaged header: no store magic at byte 0, "
					  "but the file ends with a vb store record");
		return vb_err_set(VB_ENOTSTORE, "not a vb store");
	}
	if (got < VB_FMT_H_LEN + 4)
		return vb_err_set(VB_ECORRUPT, "truncated header (%zu bytes)", got);
	/* (a damaged version field reads as a newer format: the header of
	 * another version need not be laid out as ours, so its checksum
	 * cannot tell the two apart) */
	if (vb_le_get32(fixed + VB_FMT_H_VERSION) != VB_FMT_VERSION)
		return vb_err_set(VB_EFORMAT, "unsupported store format version %u (this vb reads version %u)",
				  vb_le_get32(fixed + VB_FMT_H_VERSION), VB_FMT_VERSION);
	h->len = vb_le_get32(fixed + VB_FMT_H_LEN);
	if (h->len < VB_FMT_HDR_MIN || h->len > VB_FMT_HDR_MAX)
		return vb_err_set(VB_ECORRUPT, "header length %u out of range", h->len);
	if (got < VB_FMT_HDR_FIXED || (uint64_t)st.st_size < h->len)
		return vb_err_set(VB_ECORRUPT, "truncated header (%llu of %u bytes)",
				  (unsigned long long)(got < VB_FMT_HDR_FIXED ? got : (size_t)st.st_size),
				  h->len);
	buf = malloc(h->len);
	if (!buf)
		return vb_err_set(VB_ENOMEM, "out of memory");
	if ((rc = vb_io_pread_full(s->fd, buf, h->len, 0, &got)))
		goto out;
	rc = vb_err_set(VB_ECORRUPT, "truncated header");
	if (got < h->len)
		goto out;
	rc = vb_err_set(VB_ECORRUPT, "header checksum mismatch");
	if (crc(0, buf, h->len - VB_FMT_HDR_CRC_LEN) !=
	    vb_le_get32(buf + h->len - VB_FMT_HDR_CRC_LEN))
		goto out;
	h->id = vb_le_get64(buf + VB_FMT_H_ID);
	h->incompat = vb_le_get64(buf + VB_FMT_H_INCOMPAT);
	h->compat = vb_le_get64(buf + VB_FMT_H_COMPAT);
	h->created = (int64_t)vb_le_get64(buf + VB_FMT_H_CREATED);
	rc = vb_err_set(VB_EFORMAT, "store uses features this vb does not know (0x%llx)",
			(unsigned long long)h->incompat);
	if (h->incompat & ~(uint64_t)VB_FMT_FEAT_KNOWN)
		goto out;
	rc = vb_err_set(VB_ECORRUPT, "unexpected block size %u", vb_le_get32(buf + VB_FMT_H_BLOCK));
	if (vb_le_get32(buf + VB_FMT_H_BLOCK) != VB_FMT_BLOCK)
		goto out;
	struct base_id *b = &h->base;
	b->present = vb_le_get32(buf + VB_FMT_H_FLAGS) & VB_FMT_H_HAS_BASE;
	b->size = vb_le_get64(buf + VB_FMT_H_BASE_SIZE);
	b->mtime_sec = (int64_t)vb_le_get64(buf + VB_FMT_H_BASE_MTIME_SEC);
	b->mtime_nsec = vb_le_get32(buf + VB_FMT_H_BASE_MTIME_NSEC);
	b->nsamples = vb_le_get32(buf + VB_FMT_H_NSAMPLES);
	b->dev = vb_le_get64(buf + VB_FMT_H_BASE_DEV);
	b->ino = vb_le_get64(buf + VB_FMT_H_BASE_INO);
	uint32_t slen = vb_le_get32(buf + VB_FMT_H_SAMPLE_LEN);
	uint16_t rl = vb_le_get16(buf + VB_FMT_H_REL_LEN), al = vb_le_get16(buf + VB_FMT_H_ABS_LEN);
	rc = vb_err_set(VB_ECORRUPT, "malformed header");
	if (b->nsamples > VB_FMT_SAMPLES_MAX || slen != VB_FMT_SAMPLE_LEN ||
	    (uint64_t)VB_FMT_H_PATHS + rl + al + (uint64_t)VB_FMT_SAMPLE_SIZE * b->nsamples +
			    VB_FMT_HDR_CRC_LEN != h->len)
		goto out;
	if (b->present && (!rl && !al))
		goto out;
	/* checked before the copies are made: a failure leaves nothing to free */
	if (memchr(buf + VB_FMT_H_PATHS, 0, (size_t)rl + al))
		goto out;
	b->rel = strndup((char *)buf + VB_FMT_H_PATHS, rl);
	b->abs = strndup((char *)buf + VB_FMT_H_PATHS + rl, al);
	if (!b->rel || !b->abs) {
		free(b->rel);
		free(b->abs);
		b->rel = b->abs = NULL;
		rc = vb_err_set(VB_ENOMEM, "out of memory");
		goto out;
	}
	const unsigned char *sp = buf + VB_FMT_H_PATHS + rl + al;
	for (uint32_t i = 0; i < b->nsamples; i++, sp += VB_FMT_SAMPLE_SIZE) {
		b->sample_off[i] = vb_le_get64(sp + VB_FMT_SAMPLE_OFF);
		b->sample_crc[i] = vb_le_get32(sp + VB_FMT_SAMPLE_CRC);
	}
	rc = VB_OK;
out:
	free(buf);
	return rc;
}

static void sample_offsets(uint64_t size, struct base_id *b)
{
	uint64_t n = (size + VB_FMT_SAMPLE_LEN - 1) / VB_FMT_SAMPLE_LEN;

	if (n > VB_FMT_SAMPLES_MAX)
		n = VB_FMT_SAMPLES_MAX;
	b->nsamples = (uint32_t)n;
	for (uint64_t i = 0; i < n; i++) {
		if (n == 1)
			b->sample_off[i] = 0;
		else if (size <= VB_FMT_SAMPLE_LEN * VB_FMT_SAMPLES_MAX)
			b->sample_off[i] = i * VB_FMT_SAMPLE_LEN;
		else
			b->sample_off[i] = (size - VB_FMT_SAMPLE_LEN) / (n - 1) * i;
	}
}

static enum vb_err sample_crc(int fd, uint64_t size, uint64_t off, uint32_t *out)
{
	unsigned char buf[VB_FMT_SAMPLE_LEN];
	size_t got, want = size - off < VB_FMT_SAMPLE_LEN ? (size_t)(size - off) : VB_FMT_SAMPLE_LEN;
	enum vb_err rc = vb_io_pread_full(fd, buf, want, off, &got);

	if (rc)
		return rc;
	if (got != want)
		return vb_err_set(VB_EBASE, "shorter than recorded");
	*out = crc(0, buf, got);
	return VB_OK;
}

/* Absolute, normalized directory of `path` (a file that may not exist). */
static char *dir_of(const char *path)
{
	char *copy = strdup(path), *slash, *res;

	if (!copy)
		return NULL;
	slash = strrchr(copy, '/');
	if (!slash)
		res = realpath(".", NULL);
	else if (slash == copy)
		res = strdup("/");
	else {
		*slash = 0;
		res = realpath(copy, NULL);
	}
	free(copy);
	return res;
}

/* Path of `to` (absolute) relative to directory `from` (absolute). */
static char *relative_path(const char *from, const char *to)
{
	size_t common = 0, i = 0, ups = 0;
	char *out, *p;

	/* longest common prefix ending at a component boundary */
	while (from[i] && to[i] && from[i] == to[i]) {
		i++;
		if (from[i] == '/' || from[i] == 0)
			if (to[i] == '/' || to[i] == 0)
				common = i;
	}
	if (!strcmp(from, "/"))
		return strdup(to + 1);
	for (const char *q = from + common; *q; q++)
		if (*q == '/')
			ups++;
	out = malloc(ups * 3 + strlen(to) + 2);
	if (!out)
		return NULL;
	p = out;
	for (size_t u = 0; u < ups; u++) {
		memcpy(p, "../", 3);
		p += 3;
	}
	const char *rest = to + common;
	while (*rest == '/')
		rest++;
	strcpy(p, rest);
	if (!*out)
		strcpy(out, ".");
	return out;
}

/* " (a FIFO)" and so on, for a message about a file that is not a
 * regular file. */
static const char *file_kind(mode_t m)
{
	return S_ISDIR(m) ? " (a directory)" : S_ISFIFO(m) ? " (a FIFO)" : S_ISSOCK(m) ? " (a socket)"
	       : S_ISCHR(m) ? " (a character device)" : S_ISBLK(m) ? " (a block device)" : "";
}

/* Fill the base identity of `path` for a new store at `store_path`. */
static enum vb_err base_identify(const char *store_path, const char *path, struct base_id *b,
				 int *fd_out)
{
	struct stat st;
	/* not blocking: a FIFO is refused, not waited on */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY), fl;
	enum vb_err rc;
	char *abs = NULL, *sdir = NULL;

	memset(b, 0, sizeof *b);
	if (fd < 0)
		return vb_err_sys("base file '%s'", path);
	if (fstat(fd, &st) < 0) {
		rc = vb_err_sys("base file '%s'", path);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = vb_err_set(VB_EINVAL, "base file '%s' is not a regular file%s", path,
				file_kind(st.st_mode));
		goto fail;
	}
	if ((fl = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		rc = vb_err_sys("base file '%s'", path);
		goto fail;
	}
	abs = realpath(path, NULL);
	sdir = dir_of(store_path);
	if (!abs || !sdir) {
		rc = vb_err_sys("base file '%s'", path);
		goto fail;
	}
	b->present = 1;
	b->size = (uint64_t)st.st_size;
	b->mtime_sec = st.st_mtim.tv_sec;
	b->mtime_nsec = (uint32_t)st.st_mtim.tv_nsec;
	b->dev = st.st_dev;
	b->ino = st.st_ino;
	b->abs = abs;
	b->rel = relative_path(sdir, abs);
	abs = NULL;
	if (!b->rel) {
		rc = vb_err_set(VB_ENOMEM, "out of memory");
		goto fail;
	}
	if (strlen(b->rel) > 4096 || strlen(b->abs) > 4096) {
		rc = vb_err_set(VB_EINVAL, "base file path is too long");
		goto fail;
	}
	sample_offsets(b->size, b);
	for (uint32_t i = 0; i < b->nsamples; i++)
		if ((rc = sample_crc(fd, b->size, b->sample_off[i], &b->sample_crc[i]))) {
			vb_err_prefix("base file '%s'", path);
			goto fail;
		}
	free(sdir);
	*fd_out = fd;
	return VB_OK;
fail:
	free(abs);
	free(sdir);
	free(b->rel);
	free(b->abs);
	b->rel = b->abs = NULL;
	close(fd);
	return rc;
}

/* The paths come from the store file, which may come from elsewhere:
 * only ever opened for reading, without waiting (a FIFO) and without
 * becoming a controlling terminal; anything but a regular file is then
 * refused. */
#define BASE_OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)

/* Open and check the base recorded in the header; on failure remember why. */
static void base_attach(struct vb_store *s)
{
	struct base_id *b = &s->base;
	char *candidate = NULL, *sdir;
	const char *name;
	struct stat st;
	int fd = -1;
	enum vb_err rc;

	if (!b->present)
		return;
	/* relative to the store's directory first, then the absolute path */
	sdir = dir_of(s->path);
	if (sdir && b->rel[0]) {
		candidate = malloc(strlen(sdir) + strlen(b->rel) + 2);
		if (candidate) {
			sprintf(candidate, "%s/%s", sdir, b->rel);
			fd = open(candidate, BASE_OPEN_FLAGS);
		}
	}
	free(sdir);
	name = b->rel;
	if (fd < 0 && b->abs[0]) {
		fd = open(b->abs, BASE_OPEN_FLAGS);
		name = b->abs;
	}
	free(candidate);
	if (fd < 0) {
		if (b->rel[0] && b->abs[0] && strcmp(b->rel, b->abs))
			rc = vb_err_sys("base file '%s' (or '%s') cannot be opened", b->rel, b->abs);
		else
			rc = vb_err_sys("base file '%s' cannot be opened", b->abs[0] ? b->abs : b->rel);
		goto fail;
	}
	if (fstat(fd, &st) < 0) {
		rc = vb_err_sys("base file '%s'", name);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = vb_err_set(VB_EBASE, "base file '%s' has changed: it is no longer a regular file%s",
				name, file_kind(st.st_mode));
		goto fail;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		rc = vb_err_sys("base file '%s'", name);
		goto fail;
	}
	if ((uint64_t)st.st_size != b->size) {
		rc = vb_err_set(VB_EBASE, "base file '%s' has changed: size %llu, expected %llu",
				name, (unsigned long long)st.st_size, (unsigned long long)b->size);
		goto fail;
	}
	if (st.st_mtim.tv_sec != b->mtime_sec || (uint32_t)st.st_mtim.tv_nsec != b->mtime_nsec) {
		rc = vb_err_set(VB_EBASE, "base file '%s' has changed: modification time differs", name);
		goto fail;
	}
	for (uint32_t i = 0; i < b->nsamples; i++) {
		uint32_t c;
		if (b->sample_off[i] >= b->size) {
			rc = vb_err_set(VB_ECORRUPT, "header sample offset out of range");
			goto fail;
		}
		if ((rc = sample_crc(fd, b->size, b->sample_off[i], &c))) {
			vb_err_prefix("base file '%s'", name);
			goto fail;
		}
		if (c != b->sample_crc[i]) {
			rc = vb_err_set(VB_EBASE, "base file '%s' has changed: content at offset %llu differs",
					name, (unsigned long long)b->sample_off[i]);
			goto fail;
		}
	}
	if (st.st_dev != b->dev || st.st_ino != b->ino)
		warn(s, "base file '%s' is not the file the store was made from (device/inode differ), but its size, time and sampled content match",
		     name);
	s->base_fd = fd;
	return;
fail:
	if (fd >= 0)
		close(fd);
	s->base_err = rc == VB_EIO ? VB_EBASE : rc;
	s->base_err_msg = strdup(vb_err_detail());
}

/* The identity a base identity record holds (VB_FMT_REC_BASEID), into
 * *b (size and samples from `hdr`, which it must match); the paths are
 * allocated. */
static enum vb_err decode_base_id(uint64_t off, const unsigned char *p, size_t len,
				  const struct base_id *hdr, uint32_t samples_crc,
				  struct base_id *b)
{
	if (len < VB_FMT_BI_PATHS)
		return corrupt(off, "base identity too short");
	size_t rl = vb_le_get16(p + VB_FMT_BI_REL_LEN), al = vb_le_get16(p + VB_FMT_BI_ABS_LEN);
	if (len != VB_FMT_BI_PATHS + rl + al || !al || memchr(p + VB_FMT_BI_PATHS, 0, rl + al))
		return corrupt(off, "base identity paths malformed");
	if (vb_le_get64(p + VB_FMT_BI_SIZE) != hdr->size ||
	    vb_le_get32(p + VB_FMT_BI_SAMPLES_CRC) != samples_crc)
		return corrupt(off, "base identity is not of this store's base");
	*b = *hdr;
	b->mtime_sec = (int64_t)vb_le_get64(p + VB_FMT_BI_MTIME_SEC);
	b->mtime_nsec = vb_le_get32(p + VB_FMT_BI_MTIME_NSEC);
	b->dev = vb_le_get64(p + VB_FMT_BI_DEV);
	b->ino = vb_le_get64(p + VB_FMT_BI_INO);
	b->rel = strndup((const char *)p + VB_FMT_BI_PATHS, rl);
	b->abs = strndup((const char *)p + VB_FMT_BI_PATHS + rl, al);
	if (!b->rel || !b->abs) {
		free(b->rel);
		free(b->abs);
		b->rel = b->abs = NULL;
		return vb_err_set(VB_ENOMEM, "out of memory");
	}
	return VB_OK;
}

static enum vb_err load_base_id(struct vb_store *s)
{
	const unsigned char *p;
	uint32_t len;
	struct base_id b;
	enum vb_err rc;

	if (!s->base.present)
		return corrupt(s->head.off, "base identity for a store without a base");
	if ((rc = read_record(s, s->baseid, VB_FMT_REC_BASEID, s->end, &p, &len)) ||
	    (rc = decode_base_id(s->baseid, p, len, &s->base, vb_store_base_samples_crc(s), &b)))
		return rc;
	free(s->base.rel);
	free(s->base.abs);
	s->base = b;
	return VB_OK;
}

static enum vb_err write_header(struct vb_store *s)
{
	const struct base_id *b = &s->base;
	size_t rl = b->present ? strlen(b->rel) : 0, al = b->present ? strlen(b->abs) : 0;
	uint32_t len = (uint32_t)(VB_FMT_H_PATHS + rl + al + VB_FMT_SAMPLE_SIZE * b->nsamples +
				  VB_FMT_HDR_CRC_LEN);
	unsigned char *h = calloc(1, len);
	struct timespec ts;
	enum vb_err rc;

	if (!h)
		return vb_err_set(VB_ENOMEM, "out of memory");
	clock_gettime(CLOCK_REALTIME, &ts);
	memcpy(h + VB_FMT_H_MAGIC, VB_FMT_MAGIC, VB_FMT_MAGIC_LEN);
	vb_le_put32(h + VB_FMT_H_VERSION, VB_FMT_VERSION);
	vb_le_put32(h + VB_FMT_H_LEN, len);
	vb_le_put64(h + VB_FMT_H_ID, s->id);
	s->incompat = VB_FMT_FEAT_LINES;
	vb_le_put64(h + VB_FMT_H_INCOMPAT, s->incompat);
	vb_le_put64(h + VB_FMT_H_CREATED, (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
	vb_le_put32(h + VB_FMT_H_BLOCK, VB_FMT_BLOCK);
	vb_le_put32(h + VB_FMT_H_FLAGS, b->present ? VB_FMT_H_HAS_BASE : 0);
	if (b->present) {
		vb_le_put64(h + VB_FMT_H_BASE_SIZE, b->size);
		vb_le_put64(h + VB_FMT_H_BASE_MTIME_SEC, (uint64_t)b->mtime_sec);
		vb_le_put32(h + VB_FMT_H_BASE_MTIME_NSEC, b->mtime_nsec);
		vb_le_put32(h + VB_FMT_H_NSAMPLES, b->nsamples);
		vb_le_put64(h + VB_FMT_H_BASE_DEV, b->dev);
		vb_le_put64(h + VB_FMT_H_BASE_INO, b->ino);
		vb_le_put16(h + VB_FMT_H_REL_LEN, (uint16_t)rl);
		vb_le_put16(h + VB_FMT_H_ABS_LEN, (uint16_t)al);
		memcpy(h + VB_FMT_H_PATHS, b->rel, rl);
		memcpy(h + VB_FMT_H_PATHS + rl, b->abs, al);
		unsigned char *sp = h + VB_FMT_H_PATHS + rl + al;
		for (uint32_t i = 0; i < b->nsamples; i++, sp += VB_FMT_SAMPLE_SIZE) {
			vb_le_put64(sp + VB_FMT_SAMPLE_OFF, b->sample_off[i]);
			vb_le_put32(sp + VB_FMT_SAMPLE_CRC, b->sample_crc[i]);
		}
	}
	vb_le_put32(h + VB_FMT_H_SAMPLE_LEN, VB_FMT_SAMPLE_LEN);
	vb_le_put32(h + len - VB_FMT_HDR_CRC_LEN, crc(0, h, len - VB_FMT_HDR_CRC_LEN));
	rc = vb_io_pwrite_full(s->fd, h, len, 0);
	free(h);
	if (rc)
		vb_err_set(rc, "cannot write the new store: %s", strerror(vb_err_errno()));
	if (!rc) {
		s->hdr_len = len;
		s->end = len;
	}
	return rc;
}

/* -------------------------------------------------------------- commits */

static enum vb_err decode_commit(struct vb_store *s, uint64_t off, const unsigned char *p,
				 uint32_t len, struct vb_commit *c)
{
	if (len < VB_FMT_COMMIT_FIXED)
		return corrupt(off, "commit too short");
	memset(c, 0, offsetof(struct vb_commit, message));
	c->off = off;
	c->rec_len = len;
	c->version = vb_le_get64(p + VB_FMT_C_VERSION);
	c->parent_off = vb_le_get64(p + VB_FMT_C_PARENT_OFF);
	c->parent_crc = vb_le_get32(p + VB_FMT_C_PARENT_CRC);
	c->flags = vb_le_get32(p + VB_FMT_C_FLAGS);
	c->skip_off = vb_le_get64(p + VB_FMT_C_SKIP_OFF);
	c->root_off = vb_le_get64(p + VB_FMT_C_ROOT_OFF);
	c->length = vb_le_get64(p + VB_FMT_C_LENGTH);
	c->pieces = vb_le_get64(p + VB_FMT_C_PIECES);
	c->time_ns = (int64_t)vb_le_get64(p + VB_FMT_C_TIME);
	c->ops_off = vb_le_get64(p + VB_FMT_C_OPS_OFF);
	c->nops = vb_le_get64(p + VB_FMT_C_NOPS);
	c->ops_bytes = vb_le_get64(p + VB_FMT_C_OPS_BYTES);
	c->sum_kind = p[VB_FMT_C_SUM_KIND];
	c->msg_len = vb_le_get16(p + VB_FMT_C_MSG_LEN);
	c->sum_off = vb_le_get64(p + VB_FMT_C_SUM_OFF);
	c->sum_len = vb_le_get64(p + VB_FMT_C_SUM_LEN);
	c->sum_target = vb_le_get64(p + VB_FMT_C_SUM_TARGET);
	c->region_crc = vb_le_get32(p + VB_FMT_C_REGION_CRC);
	c->region_start = vb_le_get64(p + VB_FMT_C_REGION_START);
	/* bytes after the message are extensions a later vb may add: a
	 * reader that does not know them ignores them */
	if (c->msg_len > VB_MESSAGE_MAX || VB_FMT_C_MESSAGE + c->msg_len > len)
		return corrupt(off, "commit message length out of range");
	memcpy(c->message, p + VB_FMT_C_MESSAGE, c->msg_len);
	c->message[c->msg_len] = 0;
	c->ext_len = len - VB_FMT_C_MESSAGE - c->msg_len;
	if (c->ext_len > VB_EXT_MAX)
		return corrupt(off, "commit extensions longer than %u bytes", VB_EXT_MAX);
	memcpy(c->ext, p + VB_FMT_C_MESSAGE + c->msg_len, c->ext_len);
	/* references point backward; a cut has none */
	int cut = (c->flags & VB_COMMIT_CUT) != 0;
	if ((c->version && !cut && (c->parent_off < s->hdr_len || c->parent_off >= off)) ||
	    ((!c->version || cut) && (c->parent_off || c->skip_off)) ||
	    (c->root_off && (c->root_off < s->hdr_len || c->root_off >= off)) ||
	    (c->ops_off && (c->ops_off < s->hdr_len || c->ops_off >= off)) ||
	    (c->version > 1 && !cut && (c->skip_off < s->hdr_len || c->skip_off >= off)))
		return corrupt(off, "commit refers forward or outside the store");
	if (c->flags & ~VB_FMT_COMMIT_FLAGS)
		return corrupt(off, "commit has unknown flags 0x%x", c->flags);
	if ((c->flags & VB_FMT_COMMIT_REGION) &&
	    (c->region_start < s->hdr_len || c->region_start > off ||
	     off - c->region_start > VB_FMT_REGION_MAX))
		return corrupt(off, "commit region out of range");
	if ((!c->root_off) != (c->length == 0) || c->pieces > c->length ||
	    (c->length && !c->pieces))
		return corrupt(off, "commit sums out of range");
	if (c->nops > c->ops_bytes / VB_FMT_OP_MIN || c->ops_bytes / VB_FMT_OP_MAX > c->nops ||
	    (c->nops && !c->ops_off))
		return corrupt(off, "commit operation count out of range");
	c->crc = vb_le_get32(s->rbuf + VB_FMT_R_PAYLOAD + len + VB_FMT_F_CRC);
	return VB_OK;
}

enum vb_err vb_store_commit_read(struct vb_store *s, uint64_t off, struct vb_commit *out)
{
	const unsigned char *p = NULL;
	uint32_t len = 0;
	enum vb_err rc = read_record(s, off, VB_FMT_REC_COMMIT, s->end, &p, &len);

	if (rc)
		return rc;
	return decode_commit(s, off, p, len, out);
}

/* Read the parent (or skip target) of `c` and check the link. */
static enum vb_err follow(struct vb_store *s, const struct vb_commit *c, int skip,
			  struct vb_commit *out)
{
	uint64_t target = skip ? c->skip_off : c->parent_off;
	uint64_t want = skip ? (c->version & (c->version - 1)) : c->version - 1;
	enum vb_err rc;

	if (c->flags & VB_COMMIT_CUT)
		return vb_err_set(VB_ENOENT, "version %llu was compacted away (the oldest kept is %llu)",
				  (unsigned long long)want, (unsigned long long)c->version);
	if ((rc = vb_store_commit_read(s, target, out)))
		return rc;
	if (out->version != want)
		return corrupt(c->off, "commit of version %llu links to version %llu",
			       (unsigned long long)c->version, (unsigned long long)out->version);
	if (!skip && out->crc != c->parent_crc)
		return corrupt(c->off, "parent commit checksum does not match");
	return VB_OK;
}

enum vb_err vb_store_commit_parent(struct vb_store *s, const struct vb_commit *c,
				   struct vb_commit *out)
{
	if (!c->version)
		return vb_err_set(VB_ENOENT, "version 0 has no parent");
	return follow(s, c, 0, out);
}

enum vb_err vb_store_commit_at(struct vb_store *s, uint64_t version, struct vb_commit *out)
{
	struct vb_commit cur;
	enum vb_err rc;

	if (version > s->head.version)
		return vb_err_set(VB_ENOENT, "version %llu does not exist (the newest is %llu)",
				  (unsigned long long)version,
				  (unsigned long long)s->head.version);
	if (version < s->oldest)
		return vb_err_set(VB_ENOENT, "version %llu was compacted away (the oldest kept is %llu)",
				  (unsigned long long)version, (unsigned long long)s->oldest);
	cur = s->head;
	while (cur.version > version) {
		uint64_t sv = cur.version & (cur.version - 1);
		/* skip targets below the oldest kept version are gone */
		int skip = cur.version > 1 && sv >= version && sv < cur.version - 1 &&
			   sv >= s->oldest;
		struct vb_commit next;
		if ((rc = follow(s, &cur, skip, &next)))
			return rc;
		cur = next;
	}
	*out = cur;
	return VB_OK;
}

/* Does the region a commit covers still have the checksum it recorded?
 * VB_OK, VB_ECORRUPT on a mismatch, or an I/O error. */
static enum vb_err check_region(struct vb_store *s, const struct vb_commit *c)
{
	unsigned char *buf;
	size_t n, got;
	enum vb_err rc;

	if (!(c->flags & VB_FMT_COMMIT_REGION))
		return VB_OK;
	n = (size_t)(c->off - c->region_start);
	buf = malloc(n ? n : 1);
	if (!buf)
		return vb_err_set(VB_ENOMEM, "out of memory");
	rc = vb_io_pread_full(s->fd, buf, n, c->region_start, &got);
	if (!rc && (got != n || crc(0, buf, n) != c->region_crc))
		rc = corrupt(c->off, "the %zu bytes this commit covers do not match its checksum", n);
	free(buf);
	return rc;
}

/* ----------------------------------------------------------- find head */

/* Search backward from `end` for the nearest position q in (lo, end) such
 * that a plausible footer ends at q.  Returns 0 if none. */
static enum vb_err scan_back(struct vb_store *s, uint64_t lo, uint64_t end, uint64_t *found)
{
	const size_t win = 1u << 20;
	unsigned char *buf = malloc(win + VB_FMT_FOOTER);
	enum vb_err rc = VB_OK;
	unsigned char idb[8];

	if (!buf)
		return vb_err_set(VB_ENOMEM, "out of memory");
	vb_le_put64(idb, s->id);
	*found = 0;
	while (end > lo + VB_FMT_FOOTER) {
		uint64_t from = end - lo > win ? end - win : lo;
		size_t n = (size_t)(end - from), got;
		if ((rc = vb_io_pread_full(s->fd, buf, n, from, &got)))
			break;
		n = got;
		/* footer ends with the id: look for it at every position,
		 * last first */
		for (size_t i = n; i >= VB_FMT_FOOTER; i--) {
			unsigned char *f = buf + i - VB_FMT_FOOTER;
			if (f[VB_FMT_F_ID] != idb[0] || memcmp(f + VB_FMT_F_ID, idb, 8))
				continue;
			if (footer_plausible(s, f, from + i)) {
				*found = from + i;
				free(buf);
				return VB_OK;
			}
		}
		if (from == lo)
			break;
		/* keep an overlap so a footer across the window edge is seen */
		end = from + VB_FMT_FOOTER - 1;
	}
	free(buf);
	return rc;
}

/* Whether [rec, end) is one whole record whose footer was damaged rather
 * than cut short: its length field spans it exactly, and three of the
 * footer's four fixed fields (magic, length, own offset, store id) are
 * right.  A write cut short by a crash leaves zeros or stale bytes in the
 * footer, not a footer with one field changed. */
static int damaged_footer(struct vb_store *s, uint64_t rec, uint64_t end)
{
	unsigned char lb[VB_FMT_R_PAYLOAD], f[VB_FMT_FOOTER];
	size_t got;

	if (end - rec < VB_FMT_REC_OVERHEAD ||
	    vb_io_pread_full(s->fd, lb, sizeof lb, rec + VB_FMT_R_LEN, &got) || got != sizeof lb)
		return 0;
	uint32_t len = vb_le_get32(lb);
	if (len > VB_FMT_REC_MAX || rec + VB_FMT_REC_OVERHEAD + len != end ||
	    vb_io_pread_full(s->fd, f, VB_FMT_FOOTER, end - VB_FMT_FOOTER, &got) ||
	    got != VB_FMT_FOOTER)
		return 0;
	int right = (vb_le_get32(f + VB_FMT_F_MAGIC) == VB_FMT_FOOTER_MAGIC) +
		    (vb_le_get32(f + VB_FMT_F_LEN) == len) + (vb_le_get64(f + VB_FMT_F_OFF) == rec) +
		    (vb_le_get64(f + VB_FMT_F_ID) == s->id);
	return right >= 3;
}

/* Find the newest valid commit at or below `end`.  *skipped_bad is set to
 * 1 if a whole commit record with a bad checksum was skipped, to 2 if a
 * commit whose region does not match its checksum was (the newest such
 * wins), to 3 if the file ends with a whole record whose footer is
 * damaged, and *bad_commit to the skipped record's offset. */
static enum vb_err find_head(struct vb_store *s, uint64_t end, struct vb_commit *head,
			     int *skipped_bad, uint64_t *bad_commit)
{
	uint64_t p = end;
	unsigned char f[VB_FMT_FOOTER];
	enum vb_err rc;
	size_t got;

	*skipped_bad = 0;
	while (p > s->hdr_len) {
		int ok = 0;
		if (p - s->hdr_len >= VB_FMT_REC_OVERHEAD) {
			if ((rc = vb_io_pread_full(s->fd, f, VB_FMT_FOOTER, p - VB_FMT_FOOTER,
						   &got)))
				return rc;
			ok = got == VB_FMT_FOOTER && footer_plausible(s, f, p);
		}
		if (!ok) {
			uint64_t q;
			if ((rc = scan_back(s, s->hdr_len, p, &q)))
				return rc;
			if (!q)
				break;
			if (p == end && !*skipped_bad && damaged_footer(s, q, end)) {
				*skipped_bad = 3;
				*bad_commit = q;
			}
			p = q;
			continue;
		}
		uint64_t roff = vb_le_get64(f + VB_FMT_F_OFF);
		if (f[VB_FMT_F_TYPE] == VB_FMT_REC_COMMIT) {
			const unsigned char *pl;
			uint32_t len;
			rc = read_record(s, roff, VB_FMT_REC_COMMIT, p, &pl, &len);
			if (!rc)
				rc = decode_commit(s, roff, pl, len, head);
			if (!rc) {
				/* the records it covers did not all reach the
				 * disk, or were damaged since */
				rc = check_region(s, head);
				if (!rc)
					return VB_OK;
				if (rc != VB_ECORRUPT)
					return rc;
				if (!*skipped_bad) {
					*skipped_bad = 2;
					*bad_commit = roff;
				}
			} else if (rc != VB_ECORRUPT) {
				return rc;
			} else if (!*skipped_bad) {
				*skipped_bad = 1;
				*bad_commit = roff;
			}
		}
		p = roff;
	}
	return vb_err_set(VB_ECORRUPT, "no valid commit found in bytes %u to %llu (the store is damaged or truncated)",
			  s->hdr_len, (unsigned long long)end);
}

/* ----------------------------------------------------------- node i/o */

enum vb_err vb_store_node_read(struct vb_store *s, uint64_t off, unsigned char *buf, size_t cap,
			       size_t *len)
{
	const unsigned char *p = NULL;
	uint32_t l = 0;
	enum vb_err rc = read_record(s, off, VB_FMT_REC_NODE, s->end, &p, &l);

	if (rc)
		return rc;
	if (l > cap)
		return corrupt(off, "node too large");
	memcpy(buf, p, l);
	*len = l;
	return VB_OK;
}

uint64_t vb_store_tell(const struct vb_store *s)
{
	return s->end;
}

uint64_t vb_store_records_start(const struct vb_store *s)
{
	return s->hdr_len;
}

enum vb_err vb_store_node_write(struct vb_store *s, const unsigned char *buf, size_t len)
{
	if (!s->writer || s->broken)
		return vb_err_set(VB_EINVAL, "store is not open for writing");
	if (len > VB_FMT_REC_MAX)
		return vb_err_set(VB_EINVAL, "internal error: a node of %zu bytes", len);
	memcpy(s->rbuf + VB_FMT_R_PAYLOAD, buf, len);
	/* nodes written before a commit (a tree flushed as it is built) are
	 * its records like the ones it writes itself */
	if (!s->data_rec)
		s->aux = 1;
	return append_record(s, s->rbuf, (uint32_t)len, VB_FMT_REC_NODE);
}

/* ---------------------------------------------------------------- lock */

/* Poll `try_lock` until it succeeds or `wait` seconds pass. */
static enum vb_err lock_poll(int (*try_lock)(int fd), int fd, double wait)
{
	struct timespec start, now, nap = {0, 1000000};

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (try_lock(fd) == 0)
			return VB_OK;
		if (errno != EAGAIN && errno != EACCES && errno != EINTR && errno != EWOULDBLOCK)
			return vb_err_sys("lock");
		clock_gettime(CLOCK_MONOTONIC, &now);
		double waited = (double)(now.tv_sec - start.tv_sec) +
				(double)(now.tv_nsec - start.tv_nsec) / 1e9;
		if (wait >= 0 && waited >= wait)
			return vb_err_set(VB_ELOCKED, "another process holds the write lock (waited %g s; see --wait)",
					  wait);
		nanosleep(&nap, NULL);
		if (nap.tv_nsec < 64000000)
			nap.tv_nsec *= 2;
	}
}

static int try_ofd(int fd)
{
	struct flock fl;

	memset(&fl, 0, sizeof fl);
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	return fcntl(fd, F_OFD_SETLK, &fl);
}

static int try_flock(int fd)
{
	return flock(fd, LOCK_EX | LOCK_NB);
}

/* Does another process hold the write lock right now? */
static int writer_active(struct vb_store *s)
{
	struct flock fl;

	memset(&fl, 0, sizeof fl);
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	return fcntl(s->fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
}

static enum vb_err lock_write(struct vb_store *s, double wait)
{
	return lock_poll(try_ofd, s->fd, wait);
}

static enum vb_err lock_dir(struct vb_store *s, double wait)
{
	char *dir = dir_of(s->path);
	enum vb_err rc;

	if (!dir)
		return vb_err_sys("cannot find the store's directory");
	s->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (s->dir_fd < 0)
		return vb_err_sys("cannot open the store's directory");
	if ((rc = lock_poll(try_flock, s->dir_fd, wait))) {
		close(s->dir_fd);
		s->dir_fd = -1;
	}
	return rc;
}

static void unlock_dir(struct vb_store *s)
{
	if (s->dir_fd >= 0)
		close(s->dir_fd);
	s->dir_fd = -1;
}

/* -------------------------------------------------------------- create */

static enum vb_err random_id(uint64_t *id)
{
	for (;;) {
		ssize_t r = getrandom(id, sizeof *id, 0);
		if (r == (ssize_t)sizeof *id)
			break;
		if (r < 0 && errno != EINTR)
			return vb_err_sys("getrandom");
	}
	if (!*id)
		*id = 1;
	return VB_OK;
}

/* Write version 0 (empty or the base) into a fresh temporary file. */
/* A temporary name beside s->path: ".NAME.XXXXXX.tmp" (6 hex digits). */
static enum vb_err temp_name(struct vb_store *s, char *out)
{
	const char *slash = strrchr(s->path, '/');
	const char *name = slash ? slash + 1 : s->path;
	size_t dl = slash ? (size_t)(slash - s->path + 1) : 0;
	uint64_t r;
	enum vb_err rc;

	if ((rc = random_id(&r)))
		return rc;
	memcpy(out, s->path, dl);
	sprintf(out + dl, ".%s.%06llx.tmp", name, (unsigned long long)(r & 0xffffff));
	return VB_OK;
}

/* Give the unnamed file fd the name `to`; never replaces a file (EEXIST). */
static int link_unnamed(int fd, const char *to)
{
	char proc[40];

	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	return linkat(AT_FDCWD, proc, AT_FDCWD, to, AT_SYMLINK_FOLLOW);
}

/* A new file beside s->path (s->fd), with the mode a plain new file gets.
 * Where the file system allows, it has no name (O_TMPFILE, s->tmp_anon)
 * until it is complete, so a writer killed before then leaves nothing
 * behind; elsewhere it is s->tmp_path, removed on failure. */
static enum vb_err create_temp_file(struct vb_store *s)
{
	const char *slash = strrchr(s->path, '/');
	size_t dl = slash ? (size_t)(slash - s->path + 1) : 0;
	enum vb_err rc;
	int fd = -1;

	s->tmp_path = malloc(strlen(s->path) + 24);
	if (!s->tmp_path)
		return vb_err_set(VB_ENOMEM, "out of memory");
	if (access("/proc/self/fd", X_OK) == 0) {
		char *dir = dl ? strndup(s->path, dl) : strdup(".");
		if (!dir)
			return vb_err_set(VB_ENOMEM, "out of memory");
		fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0666);
		free(dir);
		if (fd >= 0) {
			s->fd = fd;
			s->tmp_anon = 1;
			return temp_name(s, s->tmp_path);
		}
	}
	/* like mkstemp, but with the mode a plain new file gets (umask) */
	for (int tries = 0;; tries++) {
		if ((rc = temp_name(s, s->tmp_path)))
			return rc;
		fd = open(s->tmp_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd >= 0 || errno != EEXIST || tries > 100)
			break;
	}
	if (fd < 0) {
		rc = vb_err_sys("cannot create a file in the store's directory");
		free(s->tmp_path);
		s->tmp_path = NULL;
		return rc;
	}
	s->fd = fd;
	return VB_OK;
}

static enum vb_err create_temp(struct vb_store *s, const char *base)
{
	enum vb_err rc;

	if ((rc = create_temp_file(s)))
		return rc;
	/* the creator is a writer like any other: it holds the write lock
	 * on its new file, which no one else can have open yet, so once the
	 * second commit puts the file in place another writer waits */
	if ((rc = lock_write(s, 0)))
		return rc;
	s->is_new = 1;
	if ((rc = random_id(&s->id)))
		return rc;
	if (base && (rc = base_identify(s->path, base, &s->base, &s->base_fd)))
		return rc;
	if ((rc = write_header(s)))
		return rc;

	/* no version yet: the creator commits version 0 (vb_store_commit) */
	s->head.version = (uint64_t)-1;
	s->committed_end = s->end;
	return VB_OK;
}

/* Move a new store into place without replacing anything. */
static enum vb_err publish(struct vb_store *s)
{
	int dfd;
	char *dir;

	if (!s->no_sync && fsync(s->fd) < 0)
		return vb_err_sys("sync");
	if (s->tmp_anon) {
		if (link_unnamed(s->fd, s->path) < 0) {
			if (errno == EEXIST)
				return vb_err_set(VB_EEXIST, "another process created the store meanwhile; nothing was written (run the command again)");
			return vb_err_sys("link into place");
		}
		s->tmp_anon = 0;
	} else if (renameat2(AT_FDCWD, s->tmp_path, AT_FDCWD, s->path, RENAME_NOREPLACE) < 0) {
		if (errno == EEXIST)
			return vb_err_set(VB_EEXIST, "another process created the store meanwhile; nothing was written (run the command again)");
		if (errno != EINVAL && errno != ENOSYS)
			return vb_err_sys("rename into place");
		/* file systems without RENAME_NOREPLACE: link() also refuses
		 * to replace */
		if (link(s->tmp_path, s->path) < 0) {
			if (errno == EEXIST)
				return vb_err_set(VB_EEXIST, "another process created the store meanwhile; nothing was written (run the command again)");
			return vb_err_sys("link into place");
		}
		unlink(s->tmp_path);
	}
	free(s->tmp_path);
	s->tmp_path = NULL;
	s->is_new = 0;
	unlock_dir(s);
	dir = dir_of(s->path);
	if (dir && !s->no_sync) {
		dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	free(dir);
	return VB_OK;
}

/* ---------------------------------------------------------------- open */

static enum vb_err take_state(void *arg, unsigned type, const unsigned char *d, size_t len)
{
	struct vb_store *s = arg;

	if (type == VB_EXT_BASE_ID) {
		if (len != VB_FMT_BASE_ID_LEN)
			return corrupt(s->head.off, "base identity entry of unexpected length");
		s->baseid = vb_le_get64(d);
		if (s->baseid < s->hdr_len || s->baseid >= s->head.off)
			return corrupt(s->head.off, "base identity out of range");
		return VB_OK;
	}
	if (type == VB_EXT_LINE_INDEX) {
		if (len != VB_FMT_LINE_INDEX_LEN)
			return corrupt(s->head.off, "line index entry of unexpected length");
		s->lindex = vb_le_get64(d);
		if (s->lindex < s->hdr_len || s->lindex >= s->head.off)
			return corrupt(s->head.off, "line index out of range");
		return VB_OK;
	}
	if (type != VB_EXT_STATE)
		return VB_OK;
	if (len != VB_FMT_STATE_LEN)
		return corrupt(s->head.off, "store state of unexpected length");
	s->oldest = vb_le_get64(d + VB_FMT_STATE_OLDEST);
	s->embed_rec = vb_le_get64(d + VB_FMT_STATE_EMBED);
	s->since_flatten = vb_le_get64(d + VB_FMT_STATE_SINCE_FLATTEN);
	return VB_OK;
}

/* The store-wide state the head carries (VB_EXT_STATE), checked. */
static enum vb_err read_state(struct vb_store *s)
{
	enum vb_err rc;

	s->oldest = s->embed_rec = s->since_flatten = s->lindex = 0;
	if ((rc = vb_commit_ext(&s->head, take_state, s)))
		return rc;
	if (s->oldest > s->head.version)
		return corrupt(s->head.off, "oldest version %llu is newer than the head",
			       (unsigned long long)s->oldest);
	if (s->embed_rec && (!s->base.present || s->embed_rec < s->hdr_len ||
			     s->embed_rec >= s->head.off))
		return corrupt(s->head.off, "embedded base record out of range");
	return VB_OK;
}

static enum vb_err open_existing(struct vb_store *s, const struct vb_store_opts *o)
{
	struct header h;
	enum vb_err rc;
	struct stat st, st2;
	int tries = 0;

again:
	/* not blocking (a FIFO is refused, not waited on), then blocking */
	s->fd = open(s->path, (o->write ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (s->fd < 0) {
		if (errno == ENOENT)
			return vb_err_set(VB_ENOENT, "no such store");
		if (errno == EISDIR)
			return vb_err_set(VB_ENOTSTORE, "is a directory");
		return vb_err_sys("cannot open");
	}
	if (fstat(s->fd, &st) < 0)
		return vb_err_sys("stat");
	if (S_ISDIR(st.st_mode))
		return vb_err_set(VB_ENOTSTORE, "is a directory");
	if (!S_ISREG(st.st_mode))
		return vb_err_set(VB_ENOTSTORE, "is not a regular file%s", file_kind(st.st_mode));
	int fl = fcntl(s->fd, F_GETFL);
	if (fl < 0 || fcntl(s->fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		return vb_err_sys("cannot open");
	if (o->write) {
		if ((rc = lock_write(s, o->wait)))
			return rc;
		/* a compaction may have renamed a new file over the path */
		if (fstat(s->fd, &st) < 0)
			return vb_err_sys("stat");
		if (stat(s->path, &st2) < 0 || st.st_dev != st2.st_dev || st.st_ino != st2.st_ino) {
			close(s->fd);
			s->fd = -1;
			if (++tries > 20)
				return vb_err_set(VB_EIO, "the store keeps being replaced");
			goto again;
		}
	}
	if ((rc = read_header(s, &h)))
		return rc;
	s->id = h.id;
	s->incompat = h.incompat;
	s->hdr_len = h.len;
	s->base = h.base;
	if (fstat(s->fd, &st) < 0)
		return vb_err_sys("stat");
	s->file_size_at_open = (uint64_t)st.st_size;
	/* nothing to roll back yet: a failure before the head is known
	 * (no valid commit, say) must leave the file as it is, torn tail
	 * included, not cut it to the last commit or to nothing */
	s->end = s->committed_end = (uint64_t)st.st_size;
	int bad;
	if ((rc = find_head(s, s->end, &s->head, &bad, &s->tail_commit)))
		return rc;
	s->tail_bad = bad;
	static const char *const why[] = {
		"an interrupted write",
		"a record there has a bad checksum",
		"the newest commit's records do not match its checksum: damaged, or cut short by a crash",
		"the last record there has a damaged footer",
	};
	uint64_t head_end = s->head.off + VB_FMT_REC_OVERHEAD + s->head.rec_len;
	if (head_end < s->end) {
		if (!o->write && writer_active(s))
			; /* a writer is appending: its bytes are not a torn tail */
		else if (!o->write)
			warn(s, "ignoring %llu bytes after the last commit (%s; the next writer removes them)",
			     (unsigned long long)(s->end - head_end), why[bad]);
		else if (bad)
			warn(s, "%llu bytes after the last commit belong to no version (%s); this writer removes them",
			     (unsigned long long)(s->end - head_end), why[bad]);
	}
	s->end = head_end;
	s->committed_end = head_end;
	if ((rc = read_state(s)) || (s->baseid && (rc = load_base_id(s))))
		return rc;
	/* with the base embedded the file is never needed */
	if (!s->embed_rec)
		base_attach(s);
	if (s->base_err) {
		/* a head without base pieces opens without it; older
		 * versions that need it fail when they are asked for */
		if ((s->head.flags & VB_COMMIT_NO_BASE) || (o->defer_base && !o->write))
			return VB_OK;
		if (!o->lenient_base)
			return vb_err_set(s->base_err, "%s", s->base_err_msg ? s->base_err_msg : "base file problem");
		warn(s, "%s", s->base_err_msg ? s->base_err_msg : "base file problem");
	}
	return VB_OK;
}

static void block_evict(struct vb_store *s);

/* A block cache of `bytes` (none below two blocks). */
static enum vb_err block_cache_init(struct vb_store *s, size_t bytes)
{
	struct vb_pages_opts po;
	long sys = sysconf(_SC_PAGESIZE);

	s->bpage = sys > 0 ? (size_t)sys : 4096;
	bytes = bytes / s->bpage * s->bpage;
	if (bytes < 2 * ((VB_FMT_BLOCK + s->bpage - 1) / s->bpage * s->bpage))
		return VB_OK;
	vb_pages_opts_init(&po);
	po.backend = VB_PAGES_VIRTUAL;
	po.page_size = s->bpage;
	po.reserve = bytes;
	s->cache_cap = bytes;
	return vb_pages_create(&po, &s->bpages);
}

enum vb_err vb_store_open(const char *path, const struct vb_store_opts *o, struct vb_store **out)
{
	struct vb_store *s = calloc(1, sizeof *s);
	enum vb_err rc;

	*out = NULL;
	if (!s)
		return vb_err_set(VB_ENOMEM, "out of memory");
	s->fd = -1;
	s->base_fd = -1;
	s->base_next_fd = -1;
	s->dir_fd = -1;
	s->writer = o->write;
	s->no_sync = o->no_sync;
	s->lenient = o->lenient_base;
	s->path = strdup(path);
	if ((rc = block_cache_init(s, o->block_cache))) {
		vb_store_close(s);
		return rc;
	}
	s->rbuf = malloc(VB_FMT_REC_OVERHEAD + VB_FMT_REC_MAX);
	s->blk_cap = BATCH * VB_FMT_BLOCK_STRIDE;
	s->blk = o->write ? malloc(s->blk_cap) : NULL;
	if (!s->path || !s->rbuf || (o->write && !s->blk)) {
		vb_store_close(s);
		return vb_err_set(VB_ENOMEM, "out of memory");
	}
	if (o->base && !o->create) {
		vb_store_close(s);
		return vb_err_set(VB_EINVAL, "a base file needs create");
	}
	rc = open_existing(s, o);
	if (rc == VB_ENOENT && o->write && o->create) {
		/* Creators of one directory take turns, so two of them cannot
		 * both find the store missing; the second then opens the
		 * store the first made. */
		s->fd = -1;
		rc = lock_dir(s, o->wait);
		if (!rc) {
			rc = open_existing(s, o);
			if (rc == VB_ENOENT) {
				s->fd = -1;
				rc = create_temp(s, o->base);
			} else {
				unlock_dir(s);
				if (!rc && o->base)
					rc = vb_err_set(VB_EEXIST, "store already exists; --base only applies when creating one");
			}
		}
	} else if (!rc && o->base) {
		rc = vb_err_set(VB_EEXIST, "store already exists; --base only applies when creating one");
	}
	if (rc) {
		vb_store_close(s);
		return rc;
	}
	*out = s;
	return VB_OK;
}

void vb_store_close(struct vb_store *s)
{
	if (!s)
		return;
	if (s->writer && s->fd >= 0 && !s->tmp_path)
		vb_store_rollback(s);
	if (s->tmp_path) {
		if (!s->tmp_anon)
			unlink(s->tmp_path);
		free(s->tmp_path);
	}
	unlock_dir(s);
	if (s->fd >= 0)
		close(s->fd); /* releases the OFD lock */
	if (s->base_fd >= 0)
		close(s->base_fd);
	while (s->lru_tail)
		block_evict(s);
	vb_pages_free(s->bpages);
	free(s->buckets);
	free(s->base.rel);
	free(s->base.abs);
	drop_rebind(s);
	free(s->base_err_msg);
	for (size_t i = 0; i < s->nwarnings; i++)
		free(s->warnings[i]);
	free(s->rbuf);
	free(s->sbuf);
	free(s->blk);
	vb_fcopy_free(&s->fc);
	free(s->path);
	free(s);
}

/* ---------------------------------------------------------------- data */

/* Seal the pending block into the batch.  Only full data blocks wait
 * there: the batch is written out with any other block (the last of a
 * record, an OPS block), or when another block would not fit. */
static enum vb_err flush_block(struct vb_store *s, unsigned type)
{
	unsigned char *rec = pending(s);
	size_t n = (size_t)s->blk_len + VB_FMT_REC_OVERHEAD;
	int wait = type == VB_FMT_REC_DATA && s->blk_len == VB_FMT_BLOCK;

	if (!s->blk_len)
		return VB_OK;
	if (s->end != s->blk_off)
		return vb_err_set(VB_EIO, "internal error: data record interrupted");
	seal(rec, s->blk_len, type, s->end, s->id);
	s->touched = 1;
	appended(s, rec, n);
	s->bat_len += n;
	s->blk_len = 0;
	s->blk_off = s->end;
	return !wait || s->bat_len + VB_FMT_BLOCK_STRIDE > s->blk_cap ? batch_write(s) : VB_OK;
}

/* Open this session's data record if it is not open yet, and describe
 * the next n bytes appended to it as *p. */
static enum vb_err data_begin(struct vb_store *s, uint64_t n, struct vb_piece *p)
{
	if (!s->writer || s->broken)
		return vb_err_set(VB_EINVAL, "store is not open for writing");
	if (!s->data_rec) {
		if (s->end != s->committed_end && !s->aux)
			return vb_err_set(VB_EIO, "internal error: data after other records");
		/* cut a torn tail before the first append */
		if (ftruncate(s->fd, (off_t)s->end) < 0)
			return vb_err_sys("truncate");
		s->data_rec = s->end;
		s->data_len = 0;
		s->blk_len = 0;
		s->blk_off = s->end;
	}
	if (s->data_len + n < s->data_len)
		return vb_err_set(VB_ELIMIT, "data record too large");
	p->src = VB_SRC_DATA;
	p->rec = s->data_rec;
	p->start = s->data_len;
	p->len = n;
	return VB_OK;
}

/* `n` bytes were just put in the pending block: count them, and write the
 * block out once it is full. */
static enum vb_err block_filled(struct vb_store *s, size_t n)
{
	s->blk_len += (uint32_t)n;
	s->data_len += n;
	return s->blk_len == VB_FMT_BLOCK ? flush_block(s, VB_FMT_REC_DATA) : VB_OK;
}

static enum vb_err data_add(struct vb_store *s, const void *buf, size_t n)
{
	const unsigned char *src = buf;
	enum vb_err rc;

	while (n) {
		size_t take = VB_FMT_BLOCK - s->blk_len < n ? VB_FMT_BLOCK - s->blk_len : n;
		memcpy(pending(s) + VB_FMT_R_PAYLOAD + s->blk_len, src, take);
		src += take;
		n -= take;
		if ((rc = block_filled(s, take)))
			return rc;
	}
	return VB_OK;
}

enum vb_err vb_store_append(struct vb_store *s, const void *buf, size_t n, struct vb_piece *p)
{
	enum vb_err rc = data_begin(s, n, p);

	return rc ? rc : data_add(s, buf, n);
}

static size_t block_hash(uint64_t off, size_t nb)
{
	off *= 0x9e3779b97f4a7c15ULL;
	return (size_t)(off >> 20) & (nb - 1);
}

static void block_unlink(struct vb_store *s, struct block *b)
{
	if (b->prev)
		b->prev->next = b->next;
	else
		s->lru_head = b->next;
	if (b->next)
		b->next->prev = b->prev;
	else
		s->lru_tail = b->prev;
}

static void block_push(struct vb_store *s, struct block *b)
{
	b->prev = NULL;
	b->next = s->lru_head;
	if (s->lru_head)
		s->lru_head->prev = b;
	s->lru_head = b;
	if (!s->lru_tail)
		s->lru_tail = b;
}

static void block_evict(struct vb_store *s)
{
	struct block *b = s->lru_tail, **pp;

	block_unlink(s, b);
	pp = &s->buckets[block_hash(b->off, s->nbuckets)];
	while (*pp != b)
		pp = &(*pp)->hnext;
	*pp = b->hnext;
	s->cache_used -= b->size;
	vb_pages_release(s->bpages, b->data, b->size);
	free(b);
}

/* The verified payload of the data block at `off`, which is expected to
 * hold at least `need` bytes. */
static enum vb_err get_block(struct vb_store *s, uint64_t off, uint64_t need, int keep,
			     const unsigned char **data, uint32_t *len)
{
	struct block *b;
	enum vb_err rc;
	const unsigned char *p;
	uint32_t l;

	if (s->blk && s->data_rec && off == s->blk_off && s->blk_len) {
		*data = pending(s) + VB_FMT_R_PAYLOAD;
		*len = s->blk_len;
		return VB_OK;
	}
	if (s->bat_len && off >= s->end - s->bat_len && (rc = batch_write(s)))
		return rc;
	if (s->nbuckets)
		for (b = s->buckets[block_hash(off, s->nbuckets)]; b; b = b->hnext)
			if (b->off == off) {
				block_unlink(s, b);
				block_push(s, b);
				s->block_hits++;
				*data = b->data;
				*len = b->len;
				return VB_OK;
			}
	if ((rc = read_record_hint(s, off, VB_FMT_REC_DATA, s->end,
				   (size_t)need + VB_FMT_REC_OVERHEAD, &p, &l)))
		return rc;
	s->block_reads++;
	*data = p;
	*len = l;
	if (!keep || !s->bpages || !l)
		return VB_OK;
	if (!s->nbuckets) {
		size_t nb = 16;
		while (nb * VB_FMT_BLOCK < s->cache_cap)
			nb *= 2;
		s->buckets = calloc(nb, sizeof *s->buckets);
		if (!s->buckets)
			return VB_OK;
		s->nbuckets = nb;
	}
	size_t size = (l + s->bpage - 1) / s->bpage * s->bpage;
	void *m;
	enum vb_err ra;
	/* least recently used out until the block finds room in the range */
	while ((ra = vb_pages_alloc(s->bpages, size, &m)) == VB_ELIMIT && s->lru_tail)
		block_evict(s);
	if (ra)
		return VB_OK; /* not kept: the caller has the bytes */
	if (!(b = malloc(sizeof *b))) {
		vb_pages_release(s->bpages, m, size);
		return VB_OK;
	}
	b->off = off;
	b->len = l;
	b->size = size;
	b->data = m;
	memcpy(b->data, p, l);
	size_t h = block_hash(off, s->nbuckets);
	b->hnext = s->buckets[h];
	s->buckets[h] = b;
	block_push(s, b);
	s->cache_used += size;
	*data = b->data;
	return VB_OK;
}

/* Visit the verified bytes [skip, skip+n) of data piece `p`. */
static enum vb_err data_walk(struct vb_store *s, const struct vb_piece *p, uint64_t skip, int keep,
			     uint64_t n, enum vb_err (*fn)(void *, const void *, size_t),
			     void *arg)
{
	uint64_t k = p->start + skip;
	enum vb_err rc;

	if (skip > p->len || n > p->len - skip)
		return vb_err_set(VB_ERANGE, "read beyond piece");
	while (n) {
		uint64_t bi = k / VB_FMT_BLOCK, within = k % VB_FMT_BLOCK, boff;
		const unsigned char *d;
		uint32_t l;
		if (bi > (UINT64_MAX - p->rec) / VB_FMT_BLOCK_STRIDE)
			return corrupt(p->rec, "data offset out of range");
		boff = p->rec + bi * VB_FMT_BLOCK_STRIDE;
		uint64_t need = within + (n < VB_FMT_BLOCK - within ? n : VB_FMT_BLOCK - within);
		if ((rc = get_block(s, boff, need, keep, &d, &l)))
			return rc;
		if (within >= l)
			return corrupt(boff, "data block shorter than a piece needs");
		uint64_t take = l - within < n ? l - within : n;
		if (take < n && l != VB_FMT_BLOCK)
			return corrupt(boff, "data block shorter than a piece needs");
		if ((rc = fn(arg, d + within, (size_t)take)))
			return rc;
		k += take;
		n -= take;
	}
	return VB_OK;
}

struct memcpy_arg {
	unsigned char *dst;
};

static enum vb_err to_mem(void *arg, const void *p, size_t n)
{
	struct memcpy_arg *a = arg;
	memcpy(a->dst, p, n);
	a->dst += n;
	return VB_OK;
}

static enum vb_err to_sink(void *arg, const void *p, size_t n)
{
	return vb_sink_write(arg, p, n);
}

static enum vb_err base_ready(struct vb_store *s, const struct vb_piece *p, uint64_t skip,
			      uint64_t n)
{
	if (s->base_fd < 0) {
		if (s->base_err)
			return vb_err_set(s->base_err, "%s", s->base_err_msg ? s->base_err_msg : "base file unavailable");
		return vb_err_set(VB_ECORRUPT, "piece refers to a base file the store does not have");
	}
	if (skip > p->len || n > p->len - skip)
		return vb_err_set(VB_ERANGE, "read beyond piece");
	if (p->start > s->base.size || p->start + skip > s->base.size ||
	    n > s->base.size - p->start - skip)
		return vb_err_set(VB_ECORRUPT, "piece lies outside the base file");
	return VB_OK;
}

/* A base piece read from the embedded copy. */
static struct vb_piece embedded(const struct vb_store *s, const struct vb_piece *p)
{
	struct vb_piece e = {VB_SRC_DATA, s->embed_rec, p->start, p->len, p->lines};
	return e;
}

enum vb_err vb_store_base_fd(struct vb_store *s, uint64_t off, uint64_t n, int *fd)
{
	struct vb_piece p = {VB_SRC_BASE, 0, off, n, {0, 0, 0, 0, 0, 0}};
	enum vb_err rc;

	*fd = -1;
	if (s->embed_rec)
		return VB_OK;
	if ((rc = base_ready(s, &p, 0, n)))
		return rc;
	*fd = s->base_fd;
	return VB_OK;
}

static int same_file(int fd, const char *path, uint64_t dev, uint64_t ino)
{
	struct stat st;

	if (fd >= 0 ? fstat(fd, &st) < 0 : !path || !path[0] || stat(path, &st) < 0)
		return 0;
	return (uint64_t)st.st_dev == dev && (uint64_t)st.st_ino == ino;
}

int vb_store_file_use(struct vb_store *s, uint64_t dev, uint64_t ino, const char **name)
{
	int hit = 0;

	*name = "";
	if (same_file(s->fd, NULL, dev, ino))
		return 1;
	if (!s->base.present || s->embed_rec)
		return 0;
	if (s->base_fd >= 0) {
		hit = same_file(s->base_fd, NULL, dev, ino);
	} else {
		char *sdir = dir_of(s->path), *rel = NULL;
		if (sdir && s->base.rel[0] && (rel = malloc(strlen(sdir) + strlen(s->base.rel) + 2))) {
			sprintf(rel, "%s/%s", sdir, s->base.rel);
			hit = same_file(-1, rel, dev, ino);
		}
		hit = hit || same_file(-1, s->base.abs, dev, ino);
		free(rel);
		free(sdir);
	}
	if (hit)
		*name = s->base.rel[0] ? s->base.rel : s->base.abs;
	return hit ? 2 : 0;
}

int vb_store_rollback_point(struct vb_store *s, int *fd, uint64_t *dev, uint64_t *ino,
			    uint64_t *end)
{
	struct stat st;

	if (!s->writer || s->broken || s->tmp_path || s->rewrite || s->fd < 0 ||
	    fstat(s->fd, &st) < 0)
		return 0;
	*fd = s->fd;
	*dev = (uint64_t)st.st_dev;
	*ino = (uint64_t)st.st_ino;
	*end = s->committed_end;
	return 1;
}

enum vb_err vb_store_rebind_base(struct vb_store *s, const char *path, int check_crc,
				 uint32_t want_crc,
				 void (*progress)(void *arg, uint64_t done, uint64_t total), void *arg,
				 unsigned *checked)
{
	struct base_id b;
	struct vb_io_ahead *ra = NULL;
	unsigned char *rec = NULL;
	uint64_t off;
	enum vb_err rc;
	int fd = -1;

	*checked = 0;
	if (!s->writer || s->broken)
		return vb_err_set(VB_EINVAL, "store is not open for writing");
	if (!s->base.present)
		return vb_err_set(VB_EINVAL, "the store has no base file");
	if (s->embed_rec)
		return vb_err_set(VB_EINVAL, "the base is embedded in the store: it reads no base file");
	if ((rc = base_identify(s->path, path, &b, &fd)))
		return rc;
	if (b.size != s->base.size) {
		rc = vb_err_set(VB_EBASE, "'%s' is %llu bytes; the store's base is %llu bytes", path,
				(unsigned long long)b.size, (unsigned long long)s->base.size);
		goto out;
	}
	*checked |= VB_REBIND_SIZE;
	/* the blocks the header sampled, where it sampled them */
	for (uint32_t i = 0; i < s->base.nsamples; i++) {
		uint32_t c;
		if ((rc = sample_crc(fd, b.size, s->base.sample_off[i], &c)))
			goto out;
		if (c != s->base.sample_crc[i]) {
			rc = vb_err_set(VB_EBASE, "'%s' differs from the store's base (at offset %llu)",
					path, (unsigned long long)s->base.sample_off[i]);
			goto out;
		}
	}
	b.nsamples = s->base.nsamples;
	memcpy(b.sample_off, s->base.sample_off, sizeof b.sample_off);
	memcpy(b.sample_crc, s->base.sample_crc, sizeof b.sample_crc);
	*checked |= VB_REBIND_SAMPLES;
	if (check_crc) {
		uint32_t c = crc(0, NULL, 0);
		const unsigned char *q;
		size_t n;
		uint64_t done = 0;
		if ((rc = vb_io_ahead_open(fd, 0, b.size, (size_t)1 << 20, 3, &ra)))
			goto out;
		while (!(rc = vb_io_ahead_next(ra, &q, &n)) && n) {
			c = crc(c, q, n);
			done += n;
			if (progress)
				progress(arg, done, b.size);
		}
		if (rc) {
			vb_err_prefix("'%s'", path);
			goto out;
		}
		if (c != want_crc) {
			rc = vb_err_set(VB_EBASE, "'%s' differs from the store's base (the CRC-32 of its content is %08x, the base's %08x)",
					path, c, want_crc);
			goto out;
		}
		*checked |= VB_REBIND_CRC;
	}
	size_t rl = strlen(b.rel), al = strlen(b.abs), len = VB_FMT_BI_PATHS + rl + al;
	if (rl > UINT16_MAX || al > UINT16_MAX || len > VB_FMT_REC_MAX) {
		rc = vb_err_set(VB_EINVAL, "base file path is too long");
		goto out;
	}
	if (!(rec = malloc(len))) {
		rc = vb_err_set(VB_ENOMEM, "out of memory");
		goto out;
	}
	vb_le_put64(rec + VB_FMT_BI_MTIME_SEC, (uint64_t)b.mtime_sec);
	vb_le_put32(rec + VB_FMT_BI_MTIME_NSEC, b.mtime_nsec);
	vb_le_put64(rec + VB_FMT_BI_DEV, b.dev);
	vb_le_put64(rec + VB_FMT_BI_INO, b.ino);
	vb_le_put64(rec + VB_FMT_BI_SIZE, b.size);
	vb_le_put32(rec + VB_FMT_BI_SAMPLES_CRC, vb_store_base_samples_crc(s));
	vb_le_put16(rec + VB_FMT_BI_REL_LEN, (uint16_t)rl);
	vb_le_put16(rec + VB_FMT_BI_ABS_LEN, (uint16_t)al);
	memcpy(rec + VB_FMT_BI_PATHS, b.rel, rl);
	memcpy(rec + VB_FMT_BI_PATHS + rl, b.abs, al);
	if ((rc = vb_store_aux_append(s, VB_FMT_REC_BASEID, rec, len, &off)))
		goto out;
	drop_rebind(s);
	s->baseid_next = off;
	s->base_next = b;
	s->base_next_fd = fd;
	b.rel = b.abs = NULL;
	fd = -1;
out:
	vb_io_ahead_close(ra);
	free(rec);
	free(b.rel);
	free(b.abs);
	if (fd >= 0)
		close(fd);
	return rc;
}

enum vb_err vb_store_base_short(const struct vb_store *s)
{
	return vb_err_set(VB_EBASE, "base file '%s' is shorter than recorded", s->base.rel);
}

enum vb_err vb_store_read(struct vb_store *s, const struct vb_piece *p, uint64_t skip,
			  void *buf, size_t n)
{
	enum vb_err rc;

	if (p->src == VB_SRC_BASE && s->embed_rec) {
		struct vb_piece e = embedded(s, p);
		struct memcpy_arg a = {buf};
		return data_walk(s, &e, skip, 1, n, to_mem, &a);
	}
	if (p->src == VB_SRC_BASE) {
		size_t got;
		if ((rc = base_ready(s, p, skip, n)))
			return rc;
		if ((rc = vb_io_pread_full(s->base_fd, buf, n, p->start + skip, &got)))
			return rc;
		if (got != n)
			return vb_err_set(VB_EBASE, "base file '%s' is shorter than recorded",
					  s->base.rel);
		return VB_OK;
	}
	struct memcpy_arg a = {buf};
	return data_walk(s, p, skip, 1, n, to_mem, &a);
}

/* Blocks send_data reads with one pread and writes with one writev. */
#define SEND_BLOCKS 16u

/* Bytes [skip, skip+n) of data piece `p` into a sink, each block verified
 * first.  Runs of whole blocks go SEND_BLOCKS at a time: one pread of
 * their records, each checked in place (record_check), one writev of
 * their payloads, half the calls of a block at a time and no copy into
 * the block cache (a stream passes each block once).  The ends of the
 * range, blocks near the end of the file and this session's own record
 * (whose last block may be pending) go through data_walk. */
static enum vb_err send_data(struct vb_store *s, const struct vb_piece *p, uint64_t skip,
			     uint64_t n, struct vb_sink *sink)
{
	uint64_t k = p->start + skip;
	enum vb_err rc;

	if (skip > p->len || n > p->len - skip)
		return vb_err_set(VB_ERANGE, "read beyond piece");
	while (n) {
		uint64_t bi = k / VB_FMT_BLOCK, nb = n / VB_FMT_BLOCK, boff = 0;
		if (nb > SEND_BLOCKS)
			nb = SEND_BLOCKS;
		int bulk = k % VB_FMT_BLOCK == 0 && nb >= 2 && p->rec != s->data_rec &&
			   bi <= (UINT64_MAX - p->rec) / VB_FMT_BLOCK_STRIDE - SEND_BLOCKS;
		if (bulk) {
			boff = p->rec + bi * VB_FMT_BLOCK_STRIDE;
			bulk = boff >= s->hdr_len && boff <= s->end &&
			       nb * VB_FMT_BLOCK_STRIDE <= s->end - boff;
		}
		if (bulk && !s->sbuf && !(s->sbuf = malloc(SEND_BLOCKS * VB_FMT_BLOCK_STRIDE)))
			return vb_err_set(VB_ENOMEM, "out of memory");
		if (!bulk) {
			uint64_t take = VB_FMT_BLOCK - k % VB_FMT_BLOCK;
			if (take > n)
				take = n;
			if ((rc = data_walk(s, p, k - p->start, 0, take, to_sink, sink)))
				return rc;
			k += take;
			n -= take;
			continue;
		}
		size_t want = (size_t)(nb * VB_FMT_BLOCK_STRIDE), got;
		struct iovec iov[SEND_BLOCKS];
		if ((rc = vb_io_pread_full(s->fd, s->sbuf, want, boff, &got)))
			return rc;
		if (got != want)
			return corrupt(boff, "truncated");
		for (unsigned i = 0; i < nb; i++) {
			unsigned char *r = s->sbuf + i * VB_FMT_BLOCK_STRIDE;
			uint32_t l;
			if ((rc = record_check(s, r, (size_t)VB_FMT_BLOCK_STRIDE,
					       boff + i * VB_FMT_BLOCK_STRIDE, VB_FMT_REC_DATA, &l)))
				return rc;
			if (l != VB_FMT_BLOCK)
				return corrupt(boff + i * VB_FMT_BLOCK_STRIDE,
					       "data block shorter than a piece needs");
			iov[i].iov_base = r + VB_FMT_R_PAYLOAD;
			iov[i].iov_len = VB_FMT_BLOCK;
		}
		if ((rc = vb_sink_writev(sink, iov, (int)nb)))
			return rc;
		s->block_reads += nb;
		k += nb * VB_FMT_BLOCK;
		n -= nb * VB_FMT_BLOCK;
	}
	return VB_OK;
}

enum vb_err vb_store_send(struct vb_store *s, const struct vb_piece *p, uint64_t skip,
			  uint64_t n, struct vb_sink *sink)
{
	enum vb_err rc;

	if (p->src == VB_SRC_BASE && s->embed_rec) {
		struct vb_piece e = embedded(s, p);
		return send_data(s, &e, skip, n, sink);
	}
	if (p->src == VB_SRC_BASE) {
		if ((rc = base_ready(s, p, skip, n)))
			return rc;
		rc = vb_sink_copy(sink, s->base_fd, p->start + skip, n);
		if (rc == VB_EIO && !vb_err_errno())
			return vb_err_set(VB_EBASE, "base file '%s' is shorter than recorded",
					  s->base.rel);
		return rc;
	}
	return send_data(s, p, skip, n, sink);
}

static enum vb_err to_record(void *arg, const void *p, size_t n)
{
	return data_add(arg, p, n);
}

enum vb_err vb_store_append_piece(struct vb_store *s, const struct vb_piece *src,
				  uint64_t skip, uint64_t n, struct vb_piece *out)
{
	return vb_store_append_counted(s, src, skip, n, out, NULL);
}

static enum vb_err append_copy(struct vb_store *s, const struct vb_piece *src, uint64_t skip,
			       uint64_t n, struct vb_piece *out, struct vb_lines *lines);

enum vb_err vb_store_append_counted(struct vb_store *s, const struct vb_piece *src,
				    uint64_t skip, uint64_t n, struct vb_piece *out,
				    struct vb_lines *lines)
{
	return append_copy(s, src, skip, n, out, lines);
}

static enum vb_err append_copy(struct vb_store *s, const struct vb_piece *src, uint64_t skip,
			       uint64_t n, struct vb_piece *out, struct vb_lines *lines)
{
	enum vb_err rc;

	if (lines)
		*lines = vb_lines_unknown();
	if (skip > src->len || n > src->len - skip)
		return vb_err_set(VB_ERANGE, "copy beyond the piece");
	if ((rc = data_begin(s, n, out)))
		return rc;
	if (src->src == VB_SRC_BASE && s->embed_rec) {
		struct vb_piece e = embedded(s, src);
		return data_walk(s, &e, skip, 0, n, to_record, s);
	}
	if (src->src != VB_SRC_BASE && src->rec == s->data_rec) {
		/* bytes of this session's own record may sit in the pending
		 * block that the copy fills and flushes: bounce them */
		unsigned char *tmp = malloc(VB_FMT_BLOCK);
		if (!tmp)
			return vb_err_set(VB_ENOMEM, "out of memory");
		for (uint64_t k = 0; k < n && !rc; ) {
			size_t take = n - k < VB_FMT_BLOCK ? (size_t)(n - k) : VB_FMT_BLOCK;
			struct memcpy_arg a = {tmp};
			if (!(rc = data_walk(s, src, skip + k, 0, take, to_mem, &a)))
				rc = data_add(s, tmp, take);
			k += take;
		}
		free(tmp);
		return rc;
	}
	if (src->src != VB_SRC_BASE)
		return data_walk(s, src, skip, 0, n, to_record, s);
	if ((rc = base_ready(s, src, skip, n)))
		return rc;
	/* straight into the pending block: one copy from the page cache */
	for (uint64_t off = src->start + skip; n;) {
		size_t got, take = VB_FMT_BLOCK - s->blk_len < n ? VB_FMT_BLOCK - s->blk_len : (size_t)n;
		unsigned char *at = pending(s) + VB_FMT_R_PAYLOAD + s->blk_len;
		if ((rc = vb_io_pread_full(s->base_fd, at, take, off, &got)))
			return rc;
		if (got != take)
			return vb_store_base_short(s);
		if (lines) {
			/* counted while in the CPU's cache */
			struct vb_lines l = vb_lines_scan(at, take);
			*lines = lines->known ? vb_lines_cat(lines, &l) : l;
		}
		off += take;
		n -= take;
		if ((rc = block_filled(s, take)))
			return rc;
	}
	return VB_OK;
}

enum vb_err vb_store_embed(struct vb_store *s, const struct vb_piece *copy)
{
	if (!s->writer || s->broken)
		return vb_err_set(VB_EINVAL, "store is not open for writing");
	if (!s->base.present)
		return vb_err_set(VB_EINVAL, "the store has no base file");
	if (copy->src != VB_SRC_DATA || copy->rec != s->data_rec || copy->start ||
	    copy->len != s->base.size || !copy->len)
		return vb_err_set(VB_EINVAL, "internal error: not a copy of the base");
	s->embed_next = copy->rec;
	return VB_OK;
}

enum vb_err vb_store_aux_append(struct vb_store *s, unsigned type, const void *buf, size_t n,
				uint64_t *off)
{
	enum vb_err rc;

	if (!s->writer || s->broken)
		return vb_err_set(VB_EINVAL, "store is not open for writing");
	if ((type != VB_STORE_REC_LINES && type != VB_STORE_REC_LINEDIR &&
	     type != VB_FMT_REC_BASEID) || n > VB_FMT_REC_MAX || s->data_rec)
		return vb_err_set(VB_EINVAL, "internal error: an auxiliary record of type %u", type);
	/* cut a torn tail before the first append */
	if (!s->aux && s->end == s->committed_end && ftruncate(s->fd, (off_t)s->end) < 0)
		return vb_err_sys("truncate");
	memcpy(s->rbuf + VB_FMT_R_PAYLOAD, buf, n);
	*off = s->end;
	if ((rc = append_record(s, s->rbuf, (uint32_t)n, type)))
		return rc;
	s->aux = 1;
	return VB_OK;
}

enum vb_err vb_store_aux_read(struct vb_store *s, uint64_t off, unsigned type, void *buf,
			      size_t cap, size_t *len)
{
	const unsigned char *p = NULL;
	uint32_t l = 0;
	enum vb_err rc;

	if (type != VB_STORE_REC_LINES && type != VB_STORE_REC_LINEDIR)
		return vb_err_set(VB_EINVAL, "internal error: an auxiliary record of type %u", type);
	if ((rc = read_record(s, off, type, s->end, &p, &l)))
		return rc;
	if (l > cap)
		return corrupt(off, "record too large");
	memcpy(buf, p, l);
	*len = l;
	return VB_OK;
}

uint64_t vb_store_line_index(const struct vb_store *s)
{
	return s->lindex_set ? s->lindex_next : s->lindex;
}

void vb_store_set_line_index(struct vb_store *s, uint64_t off)
{
	s->lindex_next = off;
	s->lindex_set = 1;
}

uint32_t vb_store_base_samples_crc(const struct vb_store *s)
{
	unsigned char b[VB_FMT_SAMPLE_SIZE];
	uint32_t c = crc(0, NULL, 0);

	for (uint32_t i = 0; i < s->base.nsamples; i++) {
		vb_le_put64(b + VB_FMT_SAMPLE_OFF, s->base.sample_off[i]);
		vb_le_put32(b + VB_FMT_SAMPLE_CRC, s->base.sample_crc[i]);
		c = crc(c, b, sizeof b);
	}
	return c;
}

int vb_store_counts_lines(const struct vb_store *s)
{
	return (s->incompat & VB_FMT_FEAT_LINES) != 0;
}

int vb_store_has_base(const struct vb_store *s)
{
	return s->base.present;
}

uint64_t vb_store_base_size(const struct vb_store *s)
{
	return s->base.present ? s->base.size : 0;
}

int vb_store_embedded(const struct vb_store *s)
{
	return s->embed_rec != 0;
}

uint64_t vb_store_oldest(const struct vb_store *s)
{
	return s->oldest;
}

uint64_t vb_store_since_flatten(const struct vb_store *s)
{
	return s->since_flatten;
}

enum vb_err vb_store_need_base(const struct vb_store *s, const struct vb_commit *c)
{
	if (!s->base.present || s->embed_rec || (c->flags & VB_COMMIT_NO_BASE) ||
	    s->base_fd >= 0 || s->lenient || !s->base_err)
		return VB_OK;
	return vb_err_set(s->base_err, "%s", s->base_err_msg ? s->base_err_msg : "base file problem");
}

/* ----------------------------------------------------------------- ops */

static enum vb_err write_ops(struct vb_store *s, const struct vb_op *ops, size_t nops,
			     uint64_t *off, uint64_t *bytes)
{
	unsigned char e[VB_FMT_OP_MAX];
	enum vb_err rc;

	*off = 0;
	*bytes = 0;
	if (!nops)
		return VB_OK;
	*off = s->end;
	s->blk_len = 0;
	s->blk_off = s->end;
	for (size_t i = 0; i < nops; i++) {
		size_t n = 0;
		e[n++] = ops[i].kind;
		n += vb_varint_put(e + n, ops[i].off);
		n += vb_varint_put(e + n, ops[i].len);
		n += vb_varint_put(e + n, ops[i].len2);
		for (size_t j = 0; j < n; j++) {
			pending(s)[VB_FMT_R_PAYLOAD + s->blk_len++] = e[j];
			if (s->blk_len == VB_FMT_BLOCK && (rc = flush_block(s, VB_FMT_REC_OPS)))
				return rc;
		}
		*bytes += n;
	}
	return flush_block(s, VB_FMT_REC_OPS);
}

enum vb_err vb_store_ops(struct vb_store *s, const struct vb_commit *c,
			 enum vb_err (*fn)(void *arg, const struct vb_op *op), void *arg)
{
	uint64_t left = c->ops_bytes, seen = 0, boff = c->ops_off;
	unsigned char e[VB_FMT_OP_MAX];
	size_t el = 0;
	enum vb_err rc;

	while (left) {
		const unsigned char *p;
		uint32_t l;
		if ((rc = read_record(s, boff, VB_FMT_REC_OPS, c->off, &p, &l)))
			return rc;
		if (l > left || (l < VB_FMT_BLOCK && l != left))
			return corrupt(boff, "operations block of unexpected length");
		for (uint32_t i = 0; i < l; i++) {
			e[el++] = p[i];
			/* an op is complete after its third varint ends */
			int ends = 0;
			for (size_t j = 1; j < el; j++)
				if (!(e[j] & 0x80))
					ends++;
			if (ends == 3) {
				struct vb_op op;
				size_t q = 1;
				uint64_t *f[3] = {&op.off, &op.len, &op.len2};
				op.kind = e[0];
				/* the lax decoder: any length up to the 31 bytes,
				 * the value modulo 2^64 (lib/le.h); each of the
				 * three ends inside e[1, el), counted above */
				for (int k = 0; k < 3; k++) {
					size_t n = vb_varint_get_wrap(e + q, el - q, f[k]);
					if (!n)
						return corrupt(boff, "malformed operation");
					q += n;
				}
				el = 0;
				seen++;
				if ((rc = fn(arg, &op)))
					return rc;
			} else if (el == sizeof e) {
				return corrupt(boff, "malformed operation");
			}
		}
		left -= l;
		boff += VB_FMT_BLOCK_STRIDE;
	}
	if (el || seen != c->nops)
		return corrupt(c->off, "operation count does not match");
	return VB_OK;
}

/* --------------------------------------------------------------- commit */

/* Forget a re-binding not committed. */
static void drop_rebind(struct vb_store *s)
{
	free(s->base_next.rel);
	free(s->base_next.abs);
	memset(&s->base_next, 0, sizeof s->base_next);
	if (s->base_next_fd >= 0)
		close(s->base_next_fd);
	s->base_next_fd = -1;
	s->baseid_next = 0;
}

enum vb_err vb_store_rollback(struct vb_store *s)
{
	if (!s->writer || s->fd < 0)
		return VB_OK;
	s->data_rec = 0;
	s->blk_len = 0;
	s->bat_len = 0;
	s->embed_next = 0;
	s->lindex_set = 0;
	s->aux = 0;
	drop_rebind(s);
	/* a write that failed part-way moved no offset but left bytes */
	if (s->end == s->committed_end && !s->touched)
		return VB_OK;
	s->end = s->committed_end;
	s->touched = 0;
	s->region_crc = 0;
	if (ftruncate(s->fd, (off_t)s->end) < 0)
		return vb_err_sys("truncate");
	return VB_OK;
}

static enum vb_err sync_file(struct vb_store *s)
{
	enum vb_err rc = batch_write(s);

	if (rc || s->no_sync)
		return rc;
	if (fdatasync(s->fd) < 0)
		return vb_err_sys("sync");
	crash_point("sync");
	return VB_OK;
}

enum vb_err vb_commit_ext(const struct vb_commit *c,
			  enum vb_err (*fn)(void *arg, unsigned type, const unsigned char *data,
					    size_t len),
			  void *arg)
{
	enum vb_err rc;

	for (size_t i = 0; i < c->ext_len;) {
		if (c->ext_len - i < VB_FMT_X_HEAD)
			return corrupt(c->off, "truncated commit extension");
		unsigned type = c->ext[i + VB_FMT_X_TYPE];
		size_t len = vb_le_get16(c->ext + i + VB_FMT_X_LEN);
		if (len > c->ext_len - i - VB_FMT_X_HEAD)
			return corrupt(c->off, "commit extension runs past the record");
		if ((rc = fn(arg, type, c->ext + i + VB_FMT_X_DATA, len)))
			return rc;
		i += VB_FMT_X_HEAD + len;
	}
	return VB_OK;
}

enum vb_err vb_ext_add(unsigned char *ext, size_t *len, unsigned type, const void *data,
		       size_t n)
{
	if (n > 0xffff || *len + VB_FMT_X_HEAD + n > VB_EXT_MAX - VB_EXT_RESERVED)
		return vb_err_set(VB_ELIMIT, "a version can record at most %u bytes of anchors and notes",
				  VB_EXT_MAX - VB_EXT_RESERVED);
	ext[*len + VB_FMT_X_TYPE] = (unsigned char)type;
	vb_le_put16(ext + *len + VB_FMT_X_LEN, (uint16_t)n);
	memcpy(ext + *len + VB_FMT_X_DATA, data, n);
	*len += VB_FMT_X_HEAD + n;
	return VB_OK;
}

void vb_commit_sums(struct vb_commit *c, const struct vb_op *ops, size_t nops)
{
	c->nops = nops;
	c->sum_kind = nops ? ops[0].kind : VB_OP_NONE;
	c->sum_off = nops ? ops[0].off : 0;
	c->sum_len = 0;
	c->sum_target = 0;
	for (size_t i = 0; i < nops; i++) {
		if (ops[i].kind != c->sum_kind)
			c->sum_kind = VB_OP_MIXED;
		if (ops[i].kind == VB_OP_REPLACE)
			c->sum_len += ops[i].len2;
		else if (ops[i].kind <= VB_OP_DELETE || ops[i].kind == VB_OP_CREATE)
			c->sum_len += ops[i].len;
		if (ops[i].kind == VB_OP_REVERT)
			c->sum_target = ops[i].len2;
	}
}

/* Append the commit record for *c (all fields but off, crc, rec_len and
 * the message and extensions, which this fills in) with `message`, the
 * caller's extension entries and the store state entry. */
static enum vb_err put_commit(struct vb_store *s, struct vb_commit *c, const char *message,
			      const unsigned char *ext, size_t ext_len, uint64_t oldest,
			      uint64_t embed, uint64_t since)
{
	size_t ml = message ? strlen(message) : 0;
	unsigned char *p = s->rbuf + VB_FMT_R_PAYLOAD;
	enum vb_err rc;

	/* the caller's budget (VB_EXT_MAX - VB_EXT_RESERVED) is checked by
	 * vb_store_commit; a compaction may add its own origin entry */
	if (ml > VB_MESSAGE_MAX || ext_len > VB_EXT_MAX - 2 * VB_FMT_X_HEAD - VB_FMT_STATE_LEN -
						 VB_FMT_LINE_INDEX_LEN)
		return vb_err_set(VB_ELIMIT, "commit message or extensions too long");
	memset(p, 0, VB_FMT_COMMIT_FIXED);
	vb_le_put64(p + VB_FMT_C_VERSION, c->version);
	vb_le_put64(p + VB_FMT_C_PARENT_OFF, c->parent_off);
	vb_le_put32(p + VB_FMT_C_PARENT_CRC, c->parent_crc);
	vb_le_put32(p + VB_FMT_C_FLAGS, c->flags);
	vb_le_put64(p + VB_FMT_C_SKIP_OFF, c->skip_off);
	vb_le_put64(p + VB_FMT_C_ROOT_OFF, c->root_off);
	vb_le_put64(p + VB_FMT_C_LENGTH, c->length);
	vb_le_put64(p + VB_FMT_C_PIECES, c->pieces);
	vb_le_put64(p + VB_FMT_C_TIME, (uint64_t)c->time_ns);
	vb_le_put64(p + VB_FMT_C_OPS_OFF, c->ops_off);
	vb_le_put64(p + VB_FMT_C_NOPS, c->nops);
	vb_le_put64(p + VB_FMT_C_OPS_BYTES, c->ops_bytes);
	p[VB_FMT_C_SUM_KIND] = c->sum_kind;
	vb_le_put16(p + VB_FMT_C_MSG_LEN, (uint16_t)ml);
	vb_le_put64(p + VB_FMT_C_SUM_OFF, c->sum_off);
	vb_le_put64(p + VB_FMT_C_SUM_LEN, c->sum_len);
	vb_le_put64(p + VB_FMT_C_SUM_TARGET, c->sum_target);
	vb_le_put32(p + VB_FMT_C_REGION_CRC, c->region_crc);
	vb_le_put64(p + VB_FMT_C_REGION_START, c->region_start);
	memcpy(p + VB_FMT_C_MESSAGE, message, ml);
	if (ext_len)
		memcpy(p + VB_FMT_C_MESSAGE + ml, ext, ext_len);
	unsigned char *x = p + VB_FMT_C_MESSAGE + ml + ext_len;
	x[VB_FMT_X_TYPE] = VB_FMT_EXT_STATE;
	vb_le_put16(x + VB_FMT_X_LEN, VB_FMT_STATE_LEN);
	vb_le_put64(x + VB_FMT_X_DATA + VB_FMT_STATE_OLDEST, oldest);
	vb_le_put64(x + VB_FMT_X_DATA + VB_FMT_STATE_EMBED, embed);
	vb_le_put64(x + VB_FMT_X_DATA + VB_FMT_STATE_SINCE_FLATTEN, since);
	ext_len += VB_FMT_X_HEAD + VB_FMT_STATE_LEN;
	x += VB_FMT_X_HEAD + VB_FMT_STATE_LEN;
	if (s->lindex_cur) {
		x[VB_FMT_X_TYPE] = VB_FMT_EXT_LINE_INDEX;
		vb_le_put16(x + VB_FMT_X_LEN, VB_FMT_LINE_INDEX_LEN);
		vb_le_put64(x + VB_FMT_X_DATA, s->lindex_cur);
		ext_len += VB_FMT_X_HEAD + VB_FMT_LINE_INDEX_LEN;
		x += VB_FMT_X_HEAD + VB_FMT_LINE_INDEX_LEN;
	}
	uint64_t bid = s->baseid_next ? s->baseid_next : s->baseid;
	if (bid) {
		x[VB_FMT_X_TYPE] = VB_FMT_EXT_BASE_ID;
		vb_le_put16(x + VB_FMT_X_LEN, VB_FMT_BASE_ID_LEN);
		vb_le_put64(x + VB_FMT_X_DATA, bid);
		ext_len += VB_FMT_X_HEAD + VB_FMT_BASE_ID_LEN;
	}
	uint32_t len = (uint32_t)(VB_FMT_C_MESSAGE + ml + ext_len);
	c->off = s->end;
	if ((rc = append_record(s, s->rbuf, len, VB_FMT_REC_COMMIT)))
		return rc;
	c->crc = vb_le_get32(s->rbuf + VB_FMT_R_PAYLOAD + len + VB_FMT_F_CRC);
	c->rec_len = len;
	c->msg_len = ml;
	memcpy(c->message, message, ml);
	c->message[ml] = 0;
	c->ext_len = ext_len;
	memcpy(c->ext, p + VB_FMT_C_MESSAGE + ml, ext_len);
	return VB_OK;
}

/* What decode_commit requires of a commit's root: one it would refuse must
 * not be written, or the version would vanish at the next open. */
static enum vb_err check_root(const struct vb_store *s, const struct vb_store_root *root)
{
	if (root->off && (root->off < s->hdr_len || root->off >= s->end))
		return vb_err_set(VB_EINVAL, "internal error: a root outside the records");
	if ((!root->off) != (root->bytes == 0) || root->pieces > root->bytes ||
	    (root->bytes && !root->pieces))
		return vb_err_set(VB_EINVAL, "internal error: a root of %llu bytes in %llu pieces",
				  (unsigned long long)root->bytes, (unsigned long long)root->pieces);
	return VB_OK;
}

/* The parent and skip links of new commit c (version > 0) from the head. */
static enum vb_err link_commit(struct vb_store *s, struct vb_commit *c)
{
	uint64_t sv = c->version & (c->version - 1);
	struct vb_commit *sc;
	enum vb_err rc;

	c->parent_off = s->head.off;
	c->parent_crc = s->head.crc;
	if (sv == s->head.version) {
		c->skip_off = s->head.off;
		return VB_OK;
	}
	/* a skip below the cut is never followed: it points at the oldest
	 * kept version instead */
	if (!(sc = malloc(sizeof *sc)))
		return vb_err_set(VB_ENOMEM, "out of memory");
	if (!(rc = vb_store_commit_at(s, sv < s->oldest ? s->oldest : sv, sc)))
		c->skip_off = sc->off;
	free(sc);
	return rc;
}

enum vb_err vb_store_commit(struct vb_store *s,
			    enum vb_err (*write_tree)(void *arg, struct vb_store_root *root),
			    void *arg, uint32_t flags, const struct vb_op *ops, size_t nops,
			    const char *message, const unsigned char *ext, size_t ext_len,
			    uint64_t *version)
{
	enum vb_err rc;
	size_t ml = message ? strlen(message) : 0;
	struct vb_commit c;
	struct vb_store_root root = {0, 0, 0};
	struct timespec ts;
	/* a new store's version 0 is synced with the whole file before the
	 * rename that publishes it (the second commit) */
	int saved_sync = s->no_sync;

	if (!s->writer || s->broken)
		return vb_err_set(VB_EINVAL, "store is not open for writing");
	if (ml > VB_MESSAGE_MAX)
		return vb_err_set(VB_EINVAL, "message longer than %u bytes", VB_MESSAGE_MAX);
	if (ext_len > VB_EXT_MAX - VB_EXT_RESERVED)
		return vb_err_set(VB_ELIMIT, "commit extensions longer than %u bytes",
				  VB_EXT_MAX - VB_EXT_RESERVED);
	if (flags & ~VB_COMMIT_NO_BASE)
		return vb_err_set(VB_EINVAL, "internal error: commit flags 0x%x", flags);
	if (!s->data_rec && !s->aux && (s->end != s->committed_end)) {
		rc = vb_err_set(VB_EIO, "internal error: unexpected appended bytes");
		goto fail;
	}
	if (!s->data_rec && ftruncate(s->fd, (off_t)s->end) < 0) {
		rc = vb_err_sys("truncate");
		goto fail;
	}
	if ((rc = flush_block(s, VB_FMT_REC_DATA)))
		goto fail;
	s->data_rec = 0;

	memset(&c, 0, offsetof(struct vb_commit, message));
	c.version = s->head.version + 1;
	c.flags = flags;
	if (!c.version && (!s->tmp_path || nops != 1 || ops[0].kind != VB_OP_CREATE)) {
		rc = vb_err_set(VB_EINVAL, "internal error: version 0 is one CREATE in a new store");
		goto fail;
	}
	if (!c.version)
		s->no_sync = 1;
	if ((rc = write_ops(s, ops, nops, &c.ops_off, &c.ops_bytes)))
		goto fail;
	if ((rc = write_tree(arg, &root)) || (rc = check_root(s, &root)))
		goto fail;
	/* a small region is covered by a checksum in the commit instead of
	 * a flush of its own (see ORDER AND DURABILITY) */
	if (s->end - s->committed_end <= VB_FMT_REGION_MAX) {
		c.flags |= VB_FMT_COMMIT_REGION;
		c.region_start = s->committed_end;
		c.region_crc = s->region_crc;
	} else if ((rc = sync_file(s))) {
		goto fail;
	}

	if (c.version && (rc = link_commit(s, &c)))
		goto fail;
	c.root_off = root.off;
	c.length = root.bytes;
	c.pieces = root.pieces;
	clock_gettime(CLOCK_REALTIME, &ts);
	c.time_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	vb_commit_sums(&c, ops, nops);
	/* the store's state, carried forward by every commit */
	uint64_t since = s->since_flatten + 1 ? s->since_flatten + 1 : s->since_flatten;
	for (size_t i = 0; i < nops; i++)
		if (ops[i].kind == VB_OP_FLATTEN)
			since = 0;
	if (!c.version)
		since = 0;
	uint64_t embed = s->embed_next ? s->embed_next : s->embed_rec;
	uint64_t lindex = s->lindex_set ? s->lindex_next : s->lindex;
	s->lindex_cur = lindex;
	if ((rc = put_commit(s, &c, message, ext, ext_len, s->oldest, embed, since)))
		goto fail;
	if ((rc = sync_file(s)))
		goto fail;
	if (s->tmp_path && c.version > 0 && (rc = publish(s)))
		goto fail;
	s->head = c;
	s->embed_rec = embed;
	s->embed_next = 0;
	s->lindex = lindex;
	if (s->baseid_next) {
		/* the re-bound base is the base from here on */
		free(s->base.rel);
		free(s->base.abs);
		s->base = s->base_next;
		memset(&s->base_next, 0, sizeof s->base_next);
		if (s->base_fd >= 0)
			close(s->base_fd);
		s->base_fd = s->base_next_fd;
		s->base_next_fd = -1;
		s->baseid = s->baseid_next;
		s->baseid_next = 0;
		s->base_err = VB_OK;
		free(s->base_err_msg);
		s->base_err_msg = NULL;
	}
	s->lindex_set = 0;
	s->aux = 0;
	s->since_flatten = since;
	s->committed_end = s->end;
	s->touched = 0;
	s->region_crc = 0;
	s->no_sync = saved_sync;
	*version = c.version;
	return VB_OK;
fail:
	s->no_sync = saved_sync;
	/* a failing rollback must not replace the cause with its own */
	char why[512];
	snprintf(why, sizeof why, "%s", vb_err_detail());
	vb_store_rollback(s);
	s->broken = 1;
	return vb_err_set(rc, "%s", why);
}

/* ------------------------------------------------------------ rewriting */

static uint32_t crc_zeros(uint64_t n)
{
	static const unsigned char z[4096];
	uint32_t c = 0;

	while (n) {
		size_t take = n < sizeof z ? (size_t)n : sizeof z;
		c = crc(c, z, take);
		n -= take;
	}
	return c;
}

/*
 * The checksum of a record moved from `from` to `to`, from its old checksum
 * alone: CRC-32 is affine, crc(x ^ d) = crc(x) ^ crc(d) ^ crc(0...0) for
 * messages of one length, and moving changes only the 8 offset bytes of
 * the footer.  So the payload is never read: it moves with
 * copy_file_range, and a block that was damaged stays detectably damaged.
 */
static uint32_t moved_crc(struct vb_store *k, uint32_t old_crc, uint32_t len, uint64_t from,
			  uint64_t to)
{
	/* the checksummed bytes: 4 + len + 12 before the offset field, the
	 * 8 offset bytes, then the 8-byte store id */
	uint64_t before = VB_FMT_R_PAYLOAD + (uint64_t)len + VB_FMT_F_CRC;
	unsigned char d[VB_FMT_FOOTER - VB_FMT_F_OFF] = {0};

	if (k->zcrc_len != len || !k->zcrc_a) {
		k->zcrc_len = len;
		k->zcrc_a = crc_zeros(before);
		k->zcrc_b = crc_zeros(before + sizeof d);
	}
	vb_le_put64(d, from ^ to);
	uint32_t cd = vb_crc32_combine(k->zcrc_a, crc(0, d, sizeof d), sizeof d);
	return old_crc ^ cd ^ k->zcrc_b;
}

/* Copy n bytes at `from` in the old file to the end of the new one
 * (copy_file_range where the kernel can: lib/fcopy.h). */
static enum vb_err copy_bytes(struct vb_store *s, struct vb_store *o, uint64_t from, uint64_t n)
{
	uint64_t got;
	enum vb_err rc;

	if ((rc = batch_write(s)))
		return rc;
	s->touched = 1;
	rc = vb_fcopy(&s->fc, o->fd, from, s->fd, s->end, n, &got);
	crash_point("copy");
	if (rc)
		return rc;
	if (got != n)
		return corrupt(from, "store file shorter than its records");
	s->end += n;
	s->appended += n;
	return VB_OK;
}

enum vb_err vb_store_copy_blocks(struct vb_store *s, struct vb_store *o, uint64_t rec,
				 uint64_t b0, uint64_t b1, uint64_t *at)
{
	unsigned char f[VB_FMT_FOOTER], lb[VB_FMT_R_PAYLOAD];
	uint64_t last;
	enum vb_err rc;
	size_t got;

	if (!s->writer || s->broken || !s->rewrite || s->id != o->id)
		return vb_err_set(VB_EINVAL, "internal error: not a rewrite of this store");
	/* b1 from a damaged piece may be huge: the block's offset must not
	 * wrap (data_walk refuses the same piece when it is read) */
	if (b0 > b1 || rec < o->hdr_len || b1 > (UINT64_MAX - rec) / VB_FMT_BLOCK_STRIDE ||
	    (last = rec + b1 * VB_FMT_BLOCK_STRIDE) >= o->end)
		return corrupt(rec, "data blocks %llu..%llu lie outside the file",
			       (unsigned long long)b0, (unsigned long long)b1);
	if ((rc = vb_io_pread_full(o->fd, lb, sizeof lb, last + VB_FMT_R_LEN, &got)))
		return rc;
	uint32_t last_len = vb_le_get32(lb);
	if (got != sizeof lb || !last_len || last_len > VB_FMT_BLOCK)
		return corrupt(last, "data block of unexpected length");
	*at = s->end;
	if ((rc = copy_bytes(s, o, rec + b0 * VB_FMT_BLOCK_STRIDE,
			     (b1 - b0) * VB_FMT_BLOCK_STRIDE + VB_FMT_REC_OVERHEAD + last_len)))
		return rc;
	for (uint64_t b = b0; b <= b1; b++) {
		uint64_t from = rec + b * VB_FMT_BLOCK_STRIDE;
		uint64_t to = *at + (b - b0) * VB_FMT_BLOCK_STRIDE;
		uint32_t len = b == b1 ? last_len : VB_FMT_BLOCK;
		if ((rc = vb_io_pread_full(o->fd, f, VB_FMT_FOOTER, from + VB_FMT_R_PAYLOAD + len,
					   &got)))
			return rc;
		if (got != VB_FMT_FOOTER || vb_le_get32(f + VB_FMT_F_MAGIC) != VB_FMT_FOOTER_MAGIC ||
		    f[VB_FMT_F_TYPE] != VB_FMT_REC_DATA || vb_le_get32(f + VB_FMT_F_LEN) != len ||
		    vb_le_get64(f + VB_FMT_F_OFF) != from || vb_le_get64(f + VB_FMT_F_ID) != o->id)
			return corrupt(from, "not a whole data block");
		vb_le_put32(f + VB_FMT_F_CRC,
			    moved_crc(s, vb_le_get32(f + VB_FMT_F_CRC), len, from, to));
		vb_le_put64(f + VB_FMT_F_OFF, to);
		if ((rc = vb_io_pwrite_full(s->fd, f + VB_FMT_F_CRC, VB_FMT_F_ID - VB_FMT_F_CRC,
					     to + VB_FMT_R_PAYLOAD + len + VB_FMT_F_CRC)))
			return rc;
		crash_point("footer");
	}
	return VB_OK;
}


/* Remove the ".NAME.XXXXXX.tmp" files beside the store that are copies
 * of this store (its magic and id).  Under the write lock no compaction
 * is running, and a new store's file has no name while it is written
 * where O_TMPFILE works, so such a file is what a compaction killed
 * between naming its file and the rename left (or one made where
 * O_TMPFILE does not work).  Best effort: a failure changes nothing. */
static void sweep_temps(const struct vb_store *s)
{
	const char *slash = strrchr(s->path, '/');
	const char *name = slash ? slash + 1 : s->path;
	size_t nl = strlen(name);
	char *dir = slash ? strndup(s->path, (size_t)(slash - s->path + 1)) : strdup(".");
	struct dirent *e;
	DIR *d;
	int dfd;

	if (!dir)
		return;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (dfd < 0)
		return;
	if (!(d = fdopendir(dfd))) {
		close(dfd);
		return;
	}
	while ((e = readdir(d))) {
		const char *n = e->d_name;
		unsigned char h[VB_FMT_H_ID + 8];
		struct stat st;
		int fd, ok = 1;
		if (strlen(n) != nl + 12 || n[0] != '.' || memcmp(n + 1, name, nl) ||
		    n[nl + 1] != '.' || strcmp(n + nl + 8, ".tmp"))
			continue;
		for (size_t i = nl + 2; i < nl + 8; i++)
			ok &= (n[i] >= '0' && n[i] <= '9') || (n[i] >= 'a' && n[i] <= 'f');
		if (!ok)
			continue;
		fd = openat(dirfd(d), n, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		     pread(fd, h, sizeof h, 0) == (ssize_t)sizeof h &&
		     !memcmp(h + VB_FMT_H_MAGIC, VB_FMT_MAGIC, VB_FMT_MAGIC_LEN) &&
		     vb_le_get64(h + VB_FMT_H_ID) == s->id;
		close(fd);
		if (ok)
			unlinkat(dirfd(d), n, 0);
	}
	closedir(d);
}


enum vb_err vb_store_rewrite_open(struct vb_store *old, struct vb_store **out)
{
	struct vb_store *s = calloc(1, sizeof *s);
	unsigned char *h = NULL;
	enum vb_err rc;
	size_t got;

	*out = NULL;
	if (!old->writer || old->broken || old->tmp_path) {
		free(s);
		return vb_err_set(VB_EINVAL, "store is not open for writing");
	}
	if (!s)
		return vb_err_set(VB_ENOMEM, "out of memory");
	s->fd = s->base_fd = s->dir_fd = s->base_next_fd = -1;
	s->writer = 1;
	s->rewrite = 1;
	s->no_sync = old->no_sync;
	s->id = old->id;
	/* a store reached through a symbolic link is rewritten where the
	 * link leads and the link stays: the new file goes beside the
	 * target and replaces it */
	struct stat lst;
	if (lstat(old->path, &lst) < 0) {
		rc = vb_err_sys("cannot find the store");
		goto fail;
	}
	if (S_ISLNK(lst.st_mode)) {
		if (!(s->path = realpath(old->path, NULL))) {
			rc = vb_err_sys("cannot follow the symbolic link");
			goto fail;
		}
	} else if (!(s->path = strdup(old->path))) {
		rc = vb_err_set(VB_ENOMEM, "out of memory");
		goto fail;
	}
	sweep_temps(s);
	s->rbuf = malloc(VB_FMT_REC_OVERHEAD + VB_FMT_REC_MAX);
	/* a batch of one: the rewrite's own writes go straight to the file */
	s->blk_cap = VB_FMT_BLOCK_STRIDE;
	s->blk = malloc(s->blk_cap);
	h = malloc(old->hdr_len);
	if (!s->rbuf || !s->blk || !h) {
		rc = vb_err_set(VB_ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = create_temp_file(s)))
		goto fail;
	s->id = old->id;
	s->hdr_len = old->hdr_len;
	s->base.present = old->base.present;
	s->base.size = old->base.size;
	if ((rc = vb_io_pread_full(old->fd, h, old->hdr_len, 0, &got)))
		goto fail;
	if (got != old->hdr_len) {
		rc = corrupt(0, "header cut short");
		goto fail;
	}
	/* the rewrite's trees count lines (a store without the feature gains
	 * it here: lib/compact.c counts what its trees did not) */
	s->incompat = old->incompat | VB_FMT_FEAT_LINES;
	vb_le_put64(h + VB_FMT_H_INCOMPAT, s->incompat);
	vb_le_put32(h + old->hdr_len - VB_FMT_HDR_CRC_LEN,
		    crc(0, h, old->hdr_len - VB_FMT_HDR_CRC_LEN));
	if ((rc = vb_io_pwrite_full(s->fd, h, old->hdr_len, 0)))
		goto fail;
	crash_point("header");
	s->end = s->committed_end = s->hdr_len;
	s->head.version = (uint64_t)-1;
	s->oldest = old->oldest;
	/* a re-bound base stays re-bound: its identity record goes along */
	if (old->baseid) {
		const unsigned char *p;
		uint32_t len;
		if ((rc = read_record(old, old->baseid, VB_FMT_REC_BASEID, old->end, &p, &len)) ||
		    (rc = vb_store_aux_append(s, VB_FMT_REC_BASEID, p, len, &s->baseid)))
			goto fail;
	}
	free(h);
	*out = s;
	return VB_OK;
fail:
	free(h);
	vb_store_close(s);
	return rc;
}

enum vb_err vb_store_append_commit(struct vb_store *s, struct vb_commit *c, const char *message,
				   const unsigned char *ext, size_t ext_len,
				   const struct vb_store_state *st)
{
	enum vb_err rc;

	if (!s->writer || s->broken || !s->rewrite)
		return vb_err_set(VB_EINVAL, "internal error: not a rewrite");
	s->lindex_cur = vb_store_line_index(s);
	if ((rc = put_commit(s, c, message, ext, ext_len, st->oldest, st->embed_rec,
			     st->since_flatten)))
		return rc;
	/* the fields are the caller's: check that an opener would take
	 * them (the record is still in rbuf), or the rewrite publishes a
	 * store that does not open */
	struct vb_commit *back = malloc(sizeof *back);
	if (!back)
		return vb_err_set(VB_ENOMEM, "out of memory");
	rc = decode_commit(s, c->off, s->rbuf + VB_FMT_R_PAYLOAD, c->rec_len, back);
	free(back);
	if (rc) {
		char why[256];
		snprintf(why, sizeof why, "%s", vb_err_detail());
		s->broken = 1;
		return vb_err_set(VB_EINVAL, "internal error: the rewritten commit of version %llu would not open: %s",
				  (unsigned long long)c->version, why);
	}
	s->head = *c;
	s->oldest = st->oldest;
	s->embed_rec = st->embed_rec;
	s->since_flatten = st->since_flatten;
	s->lindex = s->lindex_cur;
	s->lindex_set = 0;
	s->aux = 0;
	s->committed_end = s->end;
	return VB_OK;
}

enum vb_err vb_store_write_ops(struct vb_store *s, const struct vb_op *ops, size_t nops,
			       uint64_t *off, uint64_t *bytes)
{
	if (!s->writer || s->broken || !s->rewrite)
		return vb_err_set(VB_EINVAL, "internal error: not a rewrite");
	return write_ops(s, ops, nops, off, bytes);
}

enum vb_err vb_store_rewrite_publish(struct vb_store *n, struct vb_store *s)
{
	enum vb_err rc = VB_OK;

	if (!n->writer || n->broken || !n->rewrite || n->id != s->id)
		return vb_err_set(VB_EINVAL, "internal error: not a rewrite of this store");
	if (!s->no_sync && fsync(n->fd) < 0)
		return vb_err_sys("sync");
	crash_point("synced");
	/* an unnamed new file gets its temporary name only now: a crash
	 * before leaves nothing, one between this and the rename leaves it
	 * for the next rewrite to remove (sweep_temps) */
	for (int tries = 0; !rc && n->tmp_anon; tries++) {
		if (link_unnamed(n->fd, n->tmp_path) == 0)
			n->tmp_anon = 0;
		else if (errno != EEXIST || tries > 100)
			rc = vb_err_sys("cannot name the new store file");
		else
			rc = temp_name(n, n->tmp_path);
	}
	/* the old file is untouched until this rename replaces it (at the
	 * end of a symbolic link, n->path: see vb_store_rewrite_open) */
	if (!rc && rename(n->tmp_path, n->path) < 0)
		rc = vb_err_sys("cannot replace the store");
	if (rc)
		return rc;
	crash_point("renamed");
	free(n->tmp_path);
	n->tmp_path = NULL;
	n->writer = 0; /* nothing to roll back: the file is the store now */
	char *dir = dir_of(n->path);
	int dfd = dir && !s->no_sync ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	free(dir);
	/* this handle's file is gone from the path: no more writes */
	s->broken = 1;
	return VB_OK;
}

void vb_store_rewrite_abandon(struct vb_store *n)
{
	if (n)
		n->writer = 0; /* nothing to roll back: the temporary file goes */
	vb_store_close(n);
}

static enum vb_err take_state_of(void *arg, unsigned type, const unsigned char *d, size_t len)
{
	struct vb_store_state *st = arg;

	if (type == VB_EXT_STATE && len == VB_FMT_STATE_LEN) {
		st->oldest = vb_le_get64(d + VB_FMT_STATE_OLDEST);
		st->embed_rec = vb_le_get64(d + VB_FMT_STATE_EMBED);
		st->since_flatten = vb_le_get64(d + VB_FMT_STATE_SINCE_FLATTEN);
	}
	return VB_OK;
}

enum vb_err vb_commit_state(const struct vb_commit *c, struct vb_store_state *st)
{
	memset(st, 0, sizeof *st);
	return vb_commit_ext(c, take_state_of, st);
}

void vb_store_state(const struct vb_store *s, struct vb_store_state *st)
{
	st->oldest = s->oldest;
	st->embed_rec = s->embed_rec;
	st->since_flatten = s->since_flatten;
}

/* --------------------------------------------------------------- verify */

/* A data block the forward pass (verify_records_fast) checked, for the
 * pieces (verify_piece): its length, and the line counts of its bytes in
 * a store whose tree counts lines. */
struct vcount {
	uint64_t off;            /* the block's record offset */
	uint32_t lf, cr, crlf;   /* as struct vb_lines */
	uint32_t len;            /* its payload length */
	unsigned char head_lf, tail_cr, counted;
};

/* Blocks whose counts a verify keeps: 16 GiB of data in 8 MiB.  The
 * pieces of data beyond are counted by reading their blocks again. */
#define VERIFY_COUNTS_MAX ((size_t)1 << 18)
/* The forward pass reads in chunks of this size, four ahead. */
#define VERIFY_CHUNK ((size_t)1 << 21)

struct verify {
	struct vb_store *s;
	void (*report)(void *, uint64_t, const char *);
	void *arg;
	int problems;
	struct vcount *cnt;      /* sorted by off (the pass goes forward) */
	size_t ncnt, capcnt;
	void (*progress)(void *, uint64_t, uint64_t);
	void *parg;
};

static void problem(struct verify *v, uint64_t off, const char *what)
{
	v->problems++;
	if (v->report)
		v->report(v->arg, off, what);
}

static enum vb_err nop_fn(void *arg, const void *p, size_t n)
{
	(void)arg;
	(void)p;
	(void)n;
	return VB_OK;
}

static const struct vcount *find_count(const struct verify *v, uint64_t off)
{
	size_t lo = 0, hi = v->ncnt;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v->cnt[mid].off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < v->ncnt && v->cnt[lo].off == off ? &v->cnt[lo] : NULL;
}

struct scan_acc {
	struct vb_lines l;
	int have;
};

static enum vb_err scan_fn(void *arg, const void *p, size_t n)
{
	struct scan_acc *a = arg;
	struct vb_lines l = vb_lines_scan(p, n);

	a->l = a->have ? vb_lines_cat(&a->l, &l) : l;
	a->have = 1;
	return VB_OK;
}

/* The line counts of data piece `p` from its bytes: whole blocks from
 * the counts the forward pass kept, the rest read (and verified) again. */
static enum vb_err data_lines(struct verify *v, const struct vb_piece *p, struct vb_lines *out)
{
	struct scan_acc acc = {vb_lines_unknown(), 0};
	uint64_t k = p->start, end = p->start + p->len;
	enum vb_err rc;

	while (k < end) {
		uint64_t bi = k / VB_FMT_BLOCK, left = end - k, take;
		const struct vcount *c = NULL;
		if (k % VB_FMT_BLOCK == 0 && bi <= (UINT64_MAX - p->rec) / VB_FMT_BLOCK_STRIDE)
			c = find_count(v, p->rec + bi * VB_FMT_BLOCK_STRIDE);
		if (c && c->counted && left >= c->len && (c->len == VB_FMT_BLOCK || left == c->len)) {
			struct vb_lines l = {c->lf, c->cr, c->crlf, 1, c->head_lf, c->tail_cr};
			acc.l = acc.have ? vb_lines_cat(&acc.l, &l) : l;
			acc.have = 1;
			take = c->len;
		} else {
			take = VB_FMT_BLOCK - k % VB_FMT_BLOCK;
			if (take > left)
				take = left;
			if ((rc = data_walk(v->s, p, k - p->start, 0, take, scan_fn, &acc)))
				return rc;
		}
		k += take;
	}
	*out = acc.l;
	return VB_OK;
}

/* Whether byte k of data piece p's record lies in a block the forward
 * pass checked. */
static int in_checked_block(const struct verify *v, const struct vb_piece *p, uint64_t k)
{
	uint64_t bi = (p->start + k) / VB_FMT_BLOCK;
	const struct vcount *c;

	if (bi > (UINT64_MAX - p->rec) / VB_FMT_BLOCK_STRIDE)
		return 0;
	c = find_count(v, p->rec + bi * VB_FMT_BLOCK_STRIDE);
	return c && (p->start + k) % VB_FMT_BLOCK < c->len;
}

/* A piece: where it points, and the line counts of a data piece (the
 * tree's owner checks those of base pieces). */
static enum vb_err verify_piece(void *arg, const struct vb_piece *p)
{
	struct verify *v = arg;
	if (p->src == VB_SRC_DATA) {
		/* the first and last byte's blocks must exist and be long
		 * enough (the blocks the forward pass met are known: their
		 * checksums were checked too, by either pass) */
		enum vb_err rc = VB_OK;
		if (!in_checked_block(v, p, 0))
			rc = data_walk(v->s, p, 0, 0, 1, nop_fn, NULL);
		if (!rc && !in_checked_block(v, p, p->len - 1))
			rc = data_walk(v->s, p, p->len - 1, 0, 1, nop_fn, NULL);
		if (!rc && p->lines.known) {
			struct vb_lines l;
			if ((rc = data_lines(v, p, &l)))
				return rc;
			if (l.lf != p->lines.lf || l.cr != p->lines.cr || l.crlf != p->lines.crlf ||
			    l.head_lf != p->lines.head_lf || l.tail_cr != p->lines.tail_cr)
				return vb_err_set(VB_ECORRUPT,
						  "the line counts of a piece do not match its bytes");
		}
		return rc;
	}
	if (v->s->base.present && p->start + p->len > v->s->base.size)
		return vb_err_set(VB_ECORRUPT, "piece lies outside the base file");
	return VB_OK;
}

static enum vb_err count_op(void *arg, const struct vb_op *op)
{
	(void)arg;
	if (!op->kind || (op->kind > VB_OP_COMPACT))
		return vb_err_set(VB_ECORRUPT, "unknown operation kind %u", op->kind);
	return VB_OK;
}

/* Verify, part 0: what lies after the head (a problem or a note). */
static void verify_tail(struct verify *v, void (*note)(void *arg, const char *what), void *arg)
{
	struct vb_store *s = v->s;
	uint64_t p = s->file_size_at_open > s->end ? s->file_size_at_open : s->end;
	char msg[512];

	if (p > s->end && s->tail_bad == 1) {
		snprintf(msg, sizeof msg, "a whole record after the last good commit (offset %llu) has a bad checksum: the newest version may be damaged; the next writer will remove it",
			 (unsigned long long)s->end);
		problem(v, s->end, msg);
	} else if (p > s->end && s->tail_bad == 2) {
		snprintf(msg, sizeof msg, "the commit at offset %llu does not match the checksum of the records it covers: the newest version was damaged or not fully written; the next writer will remove it",
			 (unsigned long long)s->tail_commit);
		problem(v, s->tail_commit, msg);
	} else if (p > s->end && s->tail_bad == 3) {
		snprintf(msg, sizeof msg, "the record at offset %llu, the last in the file, has a damaged footer: the newest version may be damaged; the next writer will remove it",
			 (unsigned long long)s->tail_commit);
		problem(v, s->tail_commit, msg);
	} else if (p > s->end && note) {
		int active = writer_active(s);
		if (active)
			snprintf(msg, sizeof msg, "%llu bytes after the last commit (offset %llu) belong to no version (a write in progress)",
				 (unsigned long long)(p - s->end), (unsigned long long)s->end);
		else
			snprintf(msg, sizeof msg, "%llu bytes after the last commit (offset %llu) belong to no version (an interrupted write); the next writer removes them",
				 (unsigned long long)(p - s->end), (unsigned long long)s->end);
		if (note)
			note(arg, msg);
	}
}

/* Verify, part 1: every record, from the head back to the header; the
 * number of records read. */
static uint64_t verify_records(struct verify *v)
{
	struct vb_store *s = v->s;
	unsigned char f[VB_FMT_FOOTER];
	uint64_t p, records = 0;
	char msg[512];
	enum vb_err rc;
	size_t got;

	p = s->end;
	while (p > s->hdr_len) {
		if (v->progress && records % 256 == 0)
			v->progress(v->parg, s->end - p, s->end - s->hdr_len);
		if (p - s->hdr_len < VB_FMT_REC_OVERHEAD ||
		    (rc = vb_io_pread_full(s->fd, f, VB_FMT_FOOTER, p - VB_FMT_FOOTER, &got)) ||
		    got != VB_FMT_FOOTER || !footer_plausible(s, f, p)) {
			uint64_t q = 0;
			scan_back(s, s->hdr_len, p, &q);
			snprintf(msg, sizeof msg, "damaged record: no valid footer ends at offset %llu",
				 (unsigned long long)p);
			problem(v, q, msg);
			if (!q)
				break;
			p = q;
			continue;
		}
		uint64_t roff = vb_le_get64(f + VB_FMT_F_OFF);
		const unsigned char *pl;
		uint32_t len;
		unsigned type = f[VB_FMT_F_TYPE];
		records++;
		if (type < VB_FMT_REC_DATA || type > VB_FMT_REC_BASEID) {
			if (!(f[VB_FMT_F_FLAGS] & VB_FMT_FLAG_MAY_SKIP)) {
				snprintf(msg, sizeof msg, "unknown record type %u", type);
				problem(v, roff, msg);
			}
		} else if ((rc = read_record(s, roff, type, p, &pl, &len))) {
			problem(v, roff, vb_err_detail());
		}
		p = roff;
	}
	return records;
}

/*
 * Verify, part 1, the fast way: the records from the header forward in
 * one stream (vb_io_ahead: the reading overlaps the checksums on a second
 * core), each one's length, footer and checksum checked as the backward
 * walk checks them.  Records lie back to back, so when every one is whole
 * the chain ends exactly at the head and both walks see the same records.
 * At the first thing that is not so this gives up (returns 0, keeping
 * nothing) and the backward walk finds and reports the problems.  The
 * length of every data block is kept (VERIFY_COUNTS_MAX at most), and in
 * a store whose tree counts lines its line counts, so that checking where
 * a data piece ends reads nothing and checking its counts reads only its
 * partial end blocks.
 */
struct vstream {
	struct vb_io_ahead *a;
	const unsigned char *p;  /* the current chunk */
	size_t n, at;            /* its length, and the next byte's place in it */
	unsigned char *carry;    /* a record that spans two chunks, gathered */
	size_t ncarry;
};

/* The next k (<= VB_FMT_REC_OVERHEAD + VB_FMT_REC_MAX) bytes of the
 * stream, in place or gathered, not consumed; NULL at the end or an error. */
static const unsigned char *vs_peek(struct vstream *vs, size_t k)
{
	if (!vs->ncarry && vs->n - vs->at >= k)
		return vs->p + vs->at;
	if (!vs->ncarry && vs->n > vs->at) {
		memcpy(vs->carry, vs->p + vs->at, vs->n - vs->at);
		vs->ncarry = vs->n - vs->at;
		vs->at = vs->n;
	}
	while (vs->ncarry < k) {
		if (vs->at == vs->n) {
			if (vb_io_ahead_next(vs->a, &vs->p, &vs->n) || !vs->n)
				return NULL;
			vs->at = 0;
		}
		size_t take = k - vs->ncarry < vs->n - vs->at ? k - vs->ncarry : vs->n - vs->at;
		memcpy(vs->carry + vs->ncarry, vs->p + vs->at, take);
		vs->ncarry += take;
		vs->at += take;
	}
	return vs->carry;
}

/* Consume the k bytes vs_peek just gave. */
static void vs_take(struct vstream *vs, size_t k)
{
	if (vs->ncarry)
		vs->ncarry = 0; /* the peek gathered exactly k */
	else
		vs->at += k;
}

static int keep_count(struct verify *v, uint64_t off, const unsigned char *d, uint32_t len,
		      int counting)
{
	if (v->ncnt == v->capcnt) {
		if (v->capcnt == VERIFY_COUNTS_MAX)
			return 0;
		size_t cap = v->capcnt ? v->capcnt * 2 : 1024;
		struct vcount *c = realloc(v->cnt, cap * sizeof *c);
		if (!c)
			return 0;
		v->cnt = c;
		v->capcnt = cap;
	}
	struct vb_lines l = counting ? vb_lines_scan(d, len) : vb_lines_unknown();
	if (l.lf > UINT32_MAX || l.cr > UINT32_MAX || l.crlf > UINT32_MAX)
		return 0;
	v->cnt[v->ncnt++] = (struct vcount){off, (uint32_t)l.lf, (uint32_t)l.cr, (uint32_t)l.crlf,
					    len, l.head_lf, l.tail_cr, (unsigned char)counting};
	return 1;
}

static int verify_records_fast(struct verify *v, uint64_t *records)
{
	struct vb_store *s = v->s;
	struct vstream vs = {NULL, NULL, 0, 0, NULL, 0};
	uint64_t pos = s->hdr_len, count = 0, shown = 0, total = s->end - s->hdr_len;
	int counting = (s->incompat & VB_FMT_FEAT_LINES) != 0, keeping = 1, ok = 0;

	if (s->end <= s->hdr_len) {
		*records = 0;
		return 1;
	}
	if (!(vs.carry = malloc(VB_FMT_REC_OVERHEAD + VB_FMT_REC_MAX)) ||
	    vb_io_ahead_open(s->fd, s->hdr_len, total, VERIFY_CHUNK, 4, &vs.a))
		goto out;
	while (pos < s->end) {
		const unsigned char *r = vs_peek(&vs, VB_FMT_R_PAYLOAD), *f;
		if (!r)
			goto out;
		uint32_t l = vb_le_get32(r + VB_FMT_R_LEN);
		size_t whole = VB_FMT_REC_OVERHEAD + (size_t)l;
		if (l > VB_FMT_REC_MAX || whole > s->end - pos || !(r = vs_peek(&vs, whole)))
			goto out;
		f = r + VB_FMT_R_PAYLOAD + l;
		unsigned type = f[VB_FMT_F_TYPE];
		uint32_t checked;
		/* (an unknown type that may be skipped is checked all the same:
		 * if it fails, the backward walk decides) */
		if (((type < VB_FMT_REC_DATA || type > VB_FMT_REC_BASEID) &&
		     !(f[VB_FMT_F_FLAGS] & VB_FMT_FLAG_MAY_SKIP)) ||
		    record_check(s, r, whole, pos, type, &checked))
			goto out;
		if (keeping && type == VB_FMT_REC_DATA && l)
			keeping = keep_count(v, pos, r + VB_FMT_R_PAYLOAD, l, counting);
		vs_take(&vs, whole);
		pos += whole;
		count++;
		if (v->progress && pos - s->hdr_len - shown >= VERIFY_CHUNK) {
			shown = pos - s->hdr_len;
			v->progress(v->parg, shown, total);
		}
	}
	ok = 1;
	*records = count;
	if (v->progress)
		v->progress(v->parg, total, total);
out:
	vb_io_ahead_close(vs.a);
	free(vs.carry);
	if (!ok) {
		free(v->cnt);
		v->cnt = NULL;
		v->ncnt = v->capcnt = 0;
	}
	return ok;
}

/* Verify, part 2: every version's commit links, tree (through `tree`),
 * data reachability and operations; the number of versions checked. */
static uint64_t verify_versions(struct verify *v, const struct vb_verify_tree *tree)
{
	struct vb_store *s = v->s;
	uint64_t versions = 0;
	char msg[512];
	enum vb_err rc;

	struct vb_commit c = s->head, next;
	for (;;) {
		rc = tree ? tree->walk(tree->ctx, &c, verify_piece, v) : VB_OK;
		if (rc) {
			snprintf(msg, sizeof msg, "version %llu: %s", (unsigned long long)c.version,
				 vb_err_detail());
			problem(v, c.off, msg);
		}
		if ((rc = check_region(s, &c))) {
			snprintf(msg, sizeof msg, "version %llu: %s", (unsigned long long)c.version,
				 vb_err_detail());
			problem(v, c.off, msg);
		}
		if (c.nops && (rc = vb_store_ops(s, &c, count_op, NULL))) {
			snprintf(msg, sizeof msg, "version %llu: %s", (unsigned long long)c.version,
				 vb_err_detail());
			problem(v, c.off, msg);
		}
		versions++;
		if (!c.version || (c.flags & VB_COMMIT_CUT))
			break;
		if ((rc = follow(s, &c, 0, &next))) {
			problem(v, c.off, vb_err_detail());
			break;
		}
		if (c.version > 1 && (c.version & (c.version - 1)) >= s->oldest) {
			struct vb_commit sk;
			if ((rc = follow(s, &c, 1, &sk)))
				problem(v, c.off, vb_err_detail());
		}
		c = next;
	}
	return versions;
}

enum vb_err vb_store_verify(struct vb_store *s, const struct vb_verify_tree *tree,
			    void (*report)(void *arg, uint64_t off, const char *what),
			    void (*note)(void *arg, const char *what), void *arg,
			    void (*progress)(void *parg, uint64_t done, uint64_t total), void *parg,
			    struct vb_verify_stats *st)
{
	struct verify v = {s, report, arg, 0, NULL, 0, 0, progress, parg};
	uint64_t records;
	char msg[512];

	verify_tail(&v, note, arg);
	if (!verify_records_fast(&v, &records))
		records = verify_records(&v);
	uint64_t versions = verify_versions(&v, tree);
	free(v.cnt);
	if (s->base.present && s->base_err) {
		/* only a problem if some version still reads the base */
		snprintf(msg, sizeof msg, "%s%s", s->base_err_msg ? s->base_err_msg : "base file problem",
			 s->head.flags & VB_COMMIT_NO_BASE ? " (the newest version does not need it; older ones do)" : "");
		problem(&v, 0, msg);
	}
	if (st) {
		st->records = records;
		st->bytes = s->end;
		st->versions = versions;
		st->nodes = 0;
	}
	if (v.problems)
		return vb_err_set(VB_ECORRUPT, "%d problem%s found", v.problems,
				  v.problems == 1 ? "" : "s");
	return VB_OK;
}

void vb_store_stats(const struct vb_store *s, struct vb_store_stats *st)
{
	struct stat sb;

	st->file_size = fstat(s->fd, &sb) == 0 ? (uint64_t)sb.st_size : 0;
	st->appended = s->appended;
	st->block_reads = s->block_reads;
	st->block_hits = s->block_hits;
	st->block_cache_bytes = s->cache_used;
	st->block_cache_cap = s->cache_cap;
	st->block_pages_bytes = 0;
	if (s->bpages) {
		struct vb_pages_stats ps;
		vb_pages_stats(s->bpages, &ps);
		st->block_pages_bytes = ps.bytes_committed;
	}
}
