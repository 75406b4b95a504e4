/*
 * match: whether a record's bytes hold a fixed string, or match a regular
 * expression, binary-safe (NUL and any byte are bytes like the others).
 *
 * A fixed string is found with memmem(3).  A regular expression is
 * PCRE2's (Perl syntax, as grep -P; compiled for bytes, not UTF-8, with
 * its JIT where the platform has one), where the build found PCRE2 (meson
 * feature `pcre2`); without it vb_match_regex is VB_EINVAL ("built
 * without PCRE2").  A match is searched anywhere in the bytes given; ^ and
 * $ are their start and end.
 *
 * A matcher is its creator's (vb_match_free, NULL-safe); vb_match_test
 * uses scratch space of its own, so one matcher serves one thread at a
 * time.  Errors: VB_EINVAL for a pattern that does not compile (the
 * detail names the offset and PCRE2's reason), VB_ENOMEM, and VB_ELIMIT
 * from vb_match_test when PCRE2 gives up on a record (its match limit:
 * catastrophic backtracking), naming the limit.
 */
#ifndef VB_MATCH_H
#define VB_MATCH_H

#include <stddef.h>

#include "err.h"

struct vb_match;

/* A matcher of the n bytes at s (n >= 1; copied). */
enum vb_err vb_match_fixed(const void *s, size_t n, struct vb_match **out);
/* A matcher of the regular expression `pattern` (a C string). */
enum vb_err vb_match_regex(const char *pattern, struct vb_match **out);
/* *hit = 1 if the n bytes at p (p may be NULL when n is 0) match. */
enum vb_err vb_match_test(struct vb_match *m, const void *p, size_t n, int *hit);
void vb_match_free(struct vb_match *m);
/* A fixed string's bytes (*n of them), or NULL for a regular expression:
 * for a caller that searches many records in one buffer at once. */
const unsigned char *vb_match_fixed_bytes(const struct vb_match *m, size_t *n);
/* "pcre2" or "none": what vb_match_regex has. */
const char *vb_match_regex_engine(void);

#endif
