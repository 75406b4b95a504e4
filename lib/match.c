/*
 * match: fixed strings by memmem, regular expressions by PCRE2 (contract
 * in match.h).
 *
 * VB_HAVE_PCRE2 is defined by lib/meson.build when the `pcre2` feature
 * found libpcre2-8.  The pattern is compiled without PCRE2_UTF (a record
 * is bytes), then JIT-compiled when PCRE2 has a JIT for this machine
 * (pcre2_jit_compile failing is not an error: the interpreter runs
 * instead; with it, pcre2_jit_match, which skips pcre2_match's checks of
 * each call).  One match-data block is made with the matcher and reused.
 */
#include "match.h"

#include <stdlib.h>
#include <string.h>

#ifdef VB_HAVE_PCRE2
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#endif

struct vb_match {
	unsigned char *fixed; /* the string, or NULL for a regex */
	size_t n;
#ifdef VB_HAVE_PCRE2
	pcre2_code *code;
	pcre2_match_data *md;
	int jit;              /* compiled for the JIT: pcre2_jit_match */
#endif
};

enum vb_err vb_match_fixed(const void *s, size_t n, struct vb_match **out)
{
	struct vb_match *m;

	*out = NULL;
	if (!n)
		return vb_err_set(VB_EINVAL, "an empty string to match");
	if (!(m = calloc(1, sizeof *m)) || !(m->fixed = malloc(n))) {
		free(m);
		return vb_err_set(VB_ENOMEM, "out of memory");
	}
	memcpy(m->fixed, s, n);
	m->n = n;
	*out = m;
	return VB_OK;
}

const char *vb_match_regex_engine(void)
{
#ifdef VB_HAVE_PCRE2
	return "pcre2";
#else
	return "none";
#endif
}

enum vb_err vb_match_regex(const char *pattern, struct vb_match **out)
{
	*out = NULL;
#ifdef VB_HAVE_PCRE2
	struct vb_match *m = calloc(1, sizeof *m);
	int err;
	PCRE2_SIZE at;

	if (!m)
		return vb_err_set(VB_ENOMEM, "out of memory");
	m->code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0, &err, &at, NULL);
	if (!m->code) {
		PCRE2_UCHAR why[256];
		pcre2_get_error_message(err, why, sizeof why);
		free(m);
		return vb_err_set(VB_EINVAL, "at offset %zu of the pattern: %s", (size_t)at,
				  (const char *)why);
	}
	m->jit = pcre2_jit_compile(m->code, PCRE2_JIT_COMPLETE) == 0;
	if (!(m->md = pcre2_match_data_create_from_pattern(m->code, NULL))) {
		pcre2_code_free(m->code);
		free(m);
		return vb_err_set(VB_ENOMEM, "out of memory");
	}
	*out = m;
	return VB_OK;
#else
	(void)pattern;
	return vb_err_set(VB_EINVAL, "this vb was built without PCRE2: --regex is not available");
#endif
}

enum vb_err vb_match_test(struct vb_match *m, const void *p, size_t n, int *hit)
{
	static const unsigned char none[1];

	*hit = 0;
	if (!p)
		p = none; /* n is 0 */
	if (m->fixed) {
		*hit = n >= m->n && memmem(p, n, m->fixed, m->n) != NULL;
		return VB_OK;
	}
#ifdef VB_HAVE_PCRE2
	/* the JIT's own entry skips the checks pcre2_match makes per call */
	int rc = m->jit ? pcre2_jit_match(m->code, (PCRE2_SPTR)p, n, 0, 0, m->md, NULL)
			: pcre2_match(m->code, (PCRE2_SPTR)p, n, 0, 0, m->md, NULL);
	if (rc >= 0) {
		*hit = 1;
		return VB_OK;
	}
	if (rc == PCRE2_ERROR_NOMATCH)
		return VB_OK;
	PCRE2_UCHAR why[256];
	pcre2_get_error_message(rc, why, sizeof why);
	return vb_err_set(rc == PCRE2_ERROR_NOMEMORY ? VB_ENOMEM : VB_ELIMIT,
			  "the regular expression gave up on it: %s", (const char *)why);
#else
	return vb_err_set(VB_EINVAL, "this vb was built without PCRE2");
#endif
}

void vb_match_free(struct vb_match *m)
{
	if (!m)
		return;
	free(m->fixed);
#ifdef VB_HAVE_PCRE2
	pcre2_match_data_free(m->md);
	pcre2_code_free(m->code);
#endif
	free(m);
}

const unsigned char *vb_match_fixed_bytes(const struct vb_match *m, size_t *n)
{
	*n = m->n;
	return m->fixed;
}
