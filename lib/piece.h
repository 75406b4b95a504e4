/*
 * piece: the vocabulary the store and the piece tree share.
 *
 * A piece names a run of bytes in a source: the base file (start = offset
 * in the base) or a data record of the store (rec = file offset of the
 * record's first block, start = offset inside the record's concatenated
 * payload).  The content of a version is its pieces in order; the tree
 * (lib/ptree) orders them, the store (lib/store) reads their bytes.  A
 * piece may carry the line-end counts of its bytes (lib/lines.h; unknown
 * when never counted, which a zeroed piece is); whoever changes `start`
 * or `len` must make them the counts of the new bytes or unknown
 * (vb_ptree_piece_part does it).  A plain value: no ownership, no state.
 */
#ifndef VB_PIECE_H
#define VB_PIECE_H

#include <stdint.h>

#include "lines.h"

enum { VB_SRC_BASE = 0, VB_SRC_DATA = 1, VB_SRC_COUNT };

struct vb_piece {
	uint64_t src;    /* VB_SRC_* */
	uint64_t rec;    /* VB_SRC_DATA: file offset of the data record; else 0 */
	uint64_t start;  /* offset inside the source */
	uint64_t len;    /* > 0 */
	struct vb_lines lines; /* line-end counts of its bytes, or unknown */
};

#endif
