/*
 * lines: line-end counts of spans and their sums (see lines.h).
 *
 * The scan compares 16 bytes at a time (SSE2, every x86-64), or 32 with
 * AVX2 where the CPU has it (chosen at run time: the build does not
 * assume it), each lane counting matches in 8 bits and flushed to the
 * totals before it can wrap; the bytes left over go one at a time.  The
 * pair test ("\r\n") compares the bytes one further on, so the wide loops
 * stop while more than one step is left.
 */
#include "lines.h"

#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_AVX2_PATH 1
#endif

static int wide_cap = 2;

void vb_lines_scan_cap(int level)
{
	wide_cap = level;
}

struct vb_lines vb_lines_unknown(void)
{
	struct vb_lines l;

	memset(&l, 0, sizeof l);
	return l;
}

/* Sum the 16 byte lanes of a (each counting matches as 0 - -1 steps). */
#ifdef __SSE2__
static uint64_t lanes(__m128i a)
{
	__m128i s = _mm_sad_epu8(a, _mm_setzero_si128());
	return (uint64_t)_mm_cvtsi128_si32(s) + (uint64_t)_mm_cvtsi128_si32(_mm_srli_si128(s, 8));
}

/* Counts into *l of a prefix of p[0, n) (n > 0); returns its length. */
static size_t scan_sse2(const unsigned char *p, size_t n, struct vb_lines *l)
{
	const __m128i lf = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r');
	size_t i = 0;

	while (n - i > 16) {
		__m128i al = _mm_setzero_si128(), ac = al, ap = al;
		for (int r = 0; r < 255 && n - i > 16; r++, i += 16) {
			__m128i x = _mm_loadu_si128((const __m128i *)(p + i));
			__m128i y = _mm_loadu_si128((const __m128i *)(p + i + 1));
			__m128i ml = _mm_cmpeq_epi8(x, lf), mc = _mm_cmpeq_epi8(x, cr);
			al = _mm_sub_epi8(al, ml);
			ac = _mm_sub_epi8(ac, mc);
			ap = _mm_sub_epi8(ap, _mm_and_si128(mc, _mm_cmpeq_epi8(y, lf)));
		}
		l->lf += lanes(al);
		l->cr += lanes(ac);
		l->crlf += lanes(ap);
	}
	return i;
}
#endif

#ifdef HAVE_AVX2_PATH
/* As scan_sse2, 32 bytes a step. */
__attribute__((target("avx2"))) static size_t scan_avx2(const unsigned char *p, size_t n,
							 struct vb_lines *l)
{
	const __m256i lf = _mm256_set1_epi8('\n'), cr = _mm256_set1_epi8('\r'), z = _mm256_setzero_si256();
	size_t i = 0;

	while (n - i > 32) {
		__m256i al = z, ac = z, ap = z;
		for (int r = 0; r < 255 && n - i > 32; r++, i += 32) {
			__m256i x = _mm256_loadu_si256((const __m256i *)(p + i));
			__m256i y = _mm256_loadu_si256((const __m256i *)(p + i + 1));
			__m256i ml = _mm256_cmpeq_epi8(x, lf), mc = _mm256_cmpeq_epi8(x, cr);
			al = _mm256_sub_epi8(al, ml);
			ac = _mm256_sub_epi8(ac, mc);
			ap = _mm256_sub_epi8(ap, _mm256_and_si256(mc, _mm256_cmpeq_epi8(y, lf)));
		}
		__m256i sl = _mm256_sad_epu8(al, z), sc = _mm256_sad_epu8(ac, z), sp = _mm256_sad_epu8(ap, z);
		l->lf += (uint64_t)_mm256_extract_epi64(sl, 0) + (uint64_t)_mm256_extract_epi64(sl, 1) +
			 (uint64_t)_mm256_extract_epi64(sl, 2) + (uint64_t)_mm256_extract_epi64(sl, 3);
		l->cr += (uint64_t)_mm256_extract_epi64(sc, 0) + (uint64_t)_mm256_extract_epi64(sc, 1) +
			 (uint64_t)_mm256_extract_epi64(sc, 2) + (uint64_t)_mm256_extract_epi64(sc, 3);
		l->crlf += (uint64_t)_mm256_extract_epi64(sp, 0) + (uint64_t)_mm256_extract_epi64(sp, 1) +
			   (uint64_t)_mm256_extract_epi64(sp, 2) + (uint64_t)_mm256_extract_epi64(sp, 3);
	}
	return i;
}
#endif

struct vb_lines vb_lines_scan(const void *buf, size_t n)
{
	const unsigned char *p = buf;
	struct vb_lines l = vb_lines_unknown();
	size_t i = 0;

	if (!n)
		return l;
	l.known = 1;
	l.head_lf = p[0] == '\n';
	l.tail_cr = p[n - 1] == '\r';
#ifdef HAVE_AVX2_PATH
	if (wide_cap >= 2 && n > 64 && __builtin_cpu_supports("avx2"))
		i = scan_avx2(p, n, &l);
#endif
#ifdef __SSE2__
	if (wide_cap >= 1)
		i += scan_sse2(p + i, n - i, &l);
#endif
	for (; i < n; i++) {
		l.lf += p[i] == '\n';
		if (p[i] == '\r') {
			l.cr++;
			l.crlf += i + 1 < n && p[i + 1] == '\n';
		}
	}
	return l;
}

struct vb_lines vb_lines_cat(const struct vb_lines *a, const struct vb_lines *b)
{
	struct vb_lines l = vb_lines_unknown();
	uint64_t join = a->tail_cr && b->head_lf;

	if (!a->known || !b->known || a->lf > UINT64_MAX - b->lf || a->cr > UINT64_MAX - b->cr ||
	    b->crlf > UINT64_MAX - join || a->crlf > UINT64_MAX - join - b->crlf)
		return l;
	l.known = 1;
	l.lf = a->lf + b->lf;
	l.cr = a->cr + b->cr;
	l.crlf = a->crlf + b->crlf + join;
	l.head_lf = a->head_lf;
	l.tail_cr = b->tail_cr;
	return l;
}

/* whole - part, with `join` pairs across the cut; unknown if it does not
 * fit. */
static struct vb_lines minus(const struct vb_lines *w, const struct vb_lines *part,
			     uint64_t join)
{
	struct vb_lines l = vb_lines_unknown();

	if (!w->known || !part->known || part->lf > w->lf || part->cr > w->cr ||
	    part->crlf > w->crlf || join > w->crlf - part->crlf)
		return l;
	l.known = 1;
	l.lf = w->lf - part->lf;
	l.cr = w->cr - part->cr;
	l.crlf = w->crlf - part->crlf - join;
	return l;
}

struct vb_lines vb_lines_drop_head(const struct vb_lines *whole, const struct vb_lines *head,
				   int first_lf)
{
	struct vb_lines l = minus(whole, head, head->tail_cr && first_lf);

	if (l.known) {
		l.head_lf = first_lf != 0;
		l.tail_cr = whole->tail_cr;
		if ((l.head_lf && !l.lf) || (l.tail_cr && !l.cr) || l.crlf > l.lf || l.crlf > l.cr)
			return vb_lines_unknown();
	}
	return l;
}

struct vb_lines vb_lines_drop_tail(const struct vb_lines *whole, const struct vb_lines *tail,
				   int last_cr)
{
	struct vb_lines l = minus(whole, tail, last_cr && tail->head_lf);

	if (l.known) {
		l.head_lf = whole->head_lf;
		l.tail_cr = last_cr != 0;
		if ((l.head_lf && !l.lf) || (l.tail_cr && !l.cr) || l.crlf > l.lf || l.crlf > l.cr)
			return vb_lines_unknown();
	}
	return l;
}

uint64_t vb_lines_ends(const struct vb_lines *l, enum vb_line_mode m, int prev_cr)
{
	if (m == VB_LINES_LF)
		return l->lf;
	/* every '\r' starts an end; a '\n' does unless a '\r' is just before */
	return l->cr + l->lf - l->crlf - (uint64_t)(prev_cr && l->head_lf);
}
