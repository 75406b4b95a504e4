/*
 * vbuf-lines: line addressing on committed versions (the contract is in
 * vbuf.h, next to vb_vbuf_line_count).
 *
 * Everything reduces to two questions a backend may answer from its own
 * index (the store's tree keeps line-end counts in its nodes: lib/ptree.c)
 * and this file otherwise answers by reading:
 *   line_ends(off)  how many line ends start before `off`;
 *   line_find(k)    where the k-th line end starts.
 * Line ends are attributed to their first byte (lib/lines.h), so "\r\n"
 * is found at its '\r'; the front-door functions then read the one or two
 * bytes at a boundary to know an end's length or whether `off` splits a
 * "\r\n".
 *
 * The reading path takes SCAN bytes at a time through read_at (so it
 * holds at most SCAN bytes, whatever the content's size) and counts each
 * chunk with vb_lines_scan; a "\r\n" split between two chunks is joined by
 * carrying whether the previous chunk ended with '\r'.
 */
#include "vbuf-int.h"

#include <stdlib.h>
#include <string.h>

#define SCAN ((size_t)1 << 20)

static enum vb_err version_len(struct vb_vbuf *b, uint64_t version, uint64_t *len)
{
	uint64_t head = b->ops->head(b->be);
	struct vb_commit c;
	enum vb_err rc;

	if (version > head)
		return vb_err_set(VB_ENOENT, "version %llu does not exist (the newest is %llu)",
				  (unsigned long long)version, (unsigned long long)head);
	if ((rc = b->ops->info(b->be, version, &c)))
		return rc;
	*len = c.length;
	return VB_OK;
}

/* Whether byte `k` is an end's first byte, given the bytes around it. */
static int starts_end(enum vb_line_mode m, int prev_cr, unsigned char c)
{
	if (c == '\r')
		return m == VB_LINES_ANY;
	return c == '\n' && !(m == VB_LINES_ANY && prev_cr);
}

/*
 * Walk [0, len) in chunks: ends starting before `stop` (when k == 0), or
 * the position of the k-th end (k >= 1; *found set).  `len` bounds the
 * reads.
 */
static enum vb_err scan(struct vb_vbuf *b, uint64_t version, enum vb_line_mode m,
			uint64_t len, uint64_t stop, uint64_t k, uint64_t *ends, uint64_t *pos,
			int *found)
{
	unsigned char *buf = malloc(SCAN);
	uint64_t off = 0, seen = 0;
	int prev_cr = 0;
	enum vb_err rc = VB_OK;

	if (!buf)
		return vb_err_set(VB_ENOMEM, "out of memory");
	*found = 0;
	if (k == 0 && stop < len)
		len = stop;
	while (off < len) {
		size_t n = len - off < SCAN ? (size_t)(len - off) : SCAN;
		if ((rc = b->ops->read_at(b->be, version, off, buf, n)))
			break;
		struct vb_lines l = vb_lines_scan(buf, n);
		uint64_t e = vb_lines_ends(&l, m, prev_cr);
		if (k && seen + e >= k) {
			for (size_t i = 0;; i++) {
				if (starts_end(m, i ? buf[i - 1] == '\r' : prev_cr, buf[i]) &&
				    ++seen == k) {
					*pos = off + i;
					*found = 1;
					break;
				}
			}
			break;
		}
		seen += e;
		prev_cr = buf[n - 1] == '\r';
		off += n;
	}
	free(buf);
	*ends = seen;
	return rc;
}

static enum vb_err ends_before(struct vb_vbuf *b, uint64_t version, enum vb_line_mode m,
			       uint64_t len, uint64_t off, uint64_t *ends)
{
	uint64_t pos;
	int found;

	if (b->ops->line_ends)
		return b->ops->line_ends(b->be, version, m, off, ends);
	return scan(b, version, m, len, off, 0, ends, &pos, &found);
}

/* The k-th end's first byte; VB_ERANGE (no detail) when there are fewer. */
static enum vb_err find_end(struct vb_vbuf *b, uint64_t version, enum vb_line_mode m,
			    uint64_t len, uint64_t k, uint64_t *pos)
{
	uint64_t ends;
	int found;
	enum vb_err rc;

	if (b->ops->line_find)
		return b->ops->line_find(b->be, version, m, k, pos);
	if ((rc = scan(b, version, m, len, len, k, &ends, pos, &found)))
		return rc;
	return found ? VB_OK : VB_ERANGE;
}

static enum vb_err byte_at(struct vb_vbuf *b, uint64_t version, uint64_t off, unsigned char *c)
{
	return b->ops->read_at(b->be, version, off, c, 1);
}

static enum vb_err count(struct vb_vbuf *b, uint64_t version, enum vb_line_mode m,
			 uint64_t len, uint64_t *lines)
{
	uint64_t ends;
	unsigned char last;
	enum vb_err rc;

	*lines = 0;
	if (!len)
		return VB_OK;
	if ((rc = ends_before(b, version, m, len, len, &ends)) ||
	    (rc = byte_at(b, version, len - 1, &last)))
		return rc;
	*lines = ends + !(last == '\n' || (m == VB_LINES_ANY && last == '\r'));
	return VB_OK;
}

static enum vb_err do_line_count(struct vb_vbuf *b, uint64_t version, enum vb_line_mode m,
				 uint64_t *lines)
{
	uint64_t len;
	enum vb_err rc = version_len(b, version, &len);

	return rc ? rc : count(b, version, m, len, lines);
}

static enum vb_err do_line_start(struct vb_vbuf *b, uint64_t version, enum vb_line_mode m,
				 uint64_t n, uint64_t *off)
{
	uint64_t len, pos, lines;
	unsigned char c[2];
	enum vb_err rc;

	if (n == 0)
		return vb_err_set(VB_EINVAL, "line 0 does not exist (lines count from 1)");
	if ((rc = version_len(b, version, &len)))
		return rc;
	if (n == 1) {
		*off = 0;
		return VB_OK;
	}
	rc = find_end(b, version, m, len, n - 1, &pos);
	if (rc == VB_ERANGE) {
		if ((rc = count(b, version, m, len, &lines)))
			return rc;
		if (n - 1 == lines) {
			*off = len;
			return VB_OK;
		}
		return vb_err_set(VB_ERANGE, "line %llu is beyond the end (the content has %llu line%s)",
				  (unsigned long long)n, (unsigned long long)lines,
				  lines == 1 ? "" : "s");
	}
	if (rc)
		return rc;
	if ((rc = byte_at(b, version, pos, &c[0])))
		return rc;
	*off = pos + 1;
	if (m == VB_LINES_ANY && c[0] == '\r' && pos + 1 < len) {
		if ((rc = byte_at(b, version, pos + 1, &c[1])))
			return rc;
		*off += c[1] == '\n';
	}
	return VB_OK;
}

static enum vb_err do_line_of(struct vb_vbuf *b, uint64_t version, enum vb_line_mode m,
			      uint64_t off, uint64_t *line)
{
	uint64_t len, ends;
	unsigned char c[2];
	enum vb_err rc;

	if ((rc = version_len(b, version, &len)))
		return rc;
	if (off > len)
		return vb_err_set(VB_ERANGE, "offset %llu is beyond the end (length %llu)",
				  (unsigned long long)off, (unsigned long long)len);
	if ((rc = ends_before(b, version, m, len, off, &ends)))
		return rc;
	if (m == VB_LINES_ANY && off > 0 && off < len) {
		if ((rc = b->ops->read_at(b->be, version, off - 1, c, 2)))
			return rc;
		ends -= c[0] == '\r' && c[1] == '\n';
	}
	*line = ends + 1;
	return VB_OK;
}

static int do_line_counted(struct vb_vbuf *b, uint64_t version)
{
	if (version > b->ops->head(b->be) || !b->ops->line_counted)
		return 0;
	return b->ops->line_counted(b->be, version);
}

int vb_vbuf_line_counted(struct vb_vbuf *b, uint64_t version)
{
	vb_vbuf_lock(b);
	int r = do_line_counted(b, version);
	vb_vbuf_unlock(b);
	return r;
}

#define LOCKED(b, call)                          \
	do {                                     \
		vb_vbuf_lock(b);                 \
		enum vb_err locked_rc_ = (call); \
		vb_vbuf_unlock(b);               \
		return locked_rc_;               \
	} while (0)

enum vb_err vb_vbuf_line_count(struct vb_vbuf *b, uint64_t version, enum vb_line_mode m,
			       uint64_t *lines)
{
	LOCKED(b, do_line_count(b, version, m, lines));
}

enum vb_err vb_vbuf_line_start(struct vb_vbuf *b, uint64_t version, enum vb_line_mode m,
			       uint64_t n, uint64_t *off)
{
	LOCKED(b, do_line_start(b, version, m, n, off));
}

enum vb_err vb_vbuf_line_of(struct vb_vbuf *b, uint64_t version, enum vb_line_mode m,
			    uint64_t off, uint64_t *line)
{
	LOCKED(b, do_line_of(b, version, m, off, line));
}
