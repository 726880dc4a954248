/*
 * png_unfilter.c: PNG's five row filters undone, in SIMD where it pays.
 *
 * Each filtered byte is the difference from a prediction made of its left
 * neighbour a (bpp bytes back, in the same row), the byte above b and the
 * byte above-left c, all already unfiltered: Sub predicts a, Up b,
 * Average floor((a + b) / 2), Paeth whichever of a, b, c is closest to
 * a + b - c (ties to a, then b).
 *
 * Up has no dependence along the row: 16 bytes per add. Sub is a prefix
 * sum with a stride of one pixel: within a vector, x += x << 1 pixel, then
 * x += x << 2 pixels, plus the previous vector's last pixel (at 3 bytes
 * per pixel four pixels of a vector, the last one spread by pshufb, so
 * SSSE3). Average and Paeth depend on the pixel just unfiltered, so they go
 * one pixel at a time with all of its channels in one register (what
 * libpng's filter_sse2_intrinsics.c does too): Average with pavgb less the
 * rounding bit, Paeth in 16-bit lanes where |p - a| = |b - c| (known
 * before a), |p - b| = |a - c| and |p - c| = |(b - c) + (a - c)|, so one
 * subtraction, one add, the absolute values and two minimums stand between
 * a pixel and the next. That chain, not the width of the registers, is
 * Paeth's cost, so two Paeth rows in a row (the usual case in Paeth-heavy
 * files) run together on a wavefront, the second row one pixel behind in
 * the register's upper half: 1.7x the pixels per step (3.6 against 6.4 ms
 * for a 1280x720 RGB image here). SSSE3's pabsw measured no faster than
 * SSE2's max(v, -v), AVX2 would not shorten the chain, and Up is bound by
 * memory, so there is neither. Whatever a vector loop leaves at the row's
 * end the plain loop finishes: both compute the same bytes
 * (test_png_unfilter).
 */
#include <string.h>

#include "png_unfilter.h"

#if defined(__SSE2__) && (defined(__x86_64__) || defined(__i386__))
#define HAVE_X86 1
#include <emmintrin.h>
#include <tmmintrin.h>
#endif

/* ---- plain: bytes [i, n) of a row whose bytes before i are done ---- */

static inline uint8_t paeth(int a, int b, int c)
{
    int pa = b > c ? b - c : c - b, pb = a > c ? a - c : c - a;
    int pc = a + b - 2 * c;
    pc = pc < 0 ? -pc : pc;
    return (uint8_t)(pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
}

static void plain_from(uint8_t *row, const uint8_t *prev, size_t i, size_t n, size_t bpp, int type)
{
    switch (type) {
    case 1:
        for (i = i > bpp ? i : bpp; i < n; i++)
            row[i] = (uint8_t)(row[i] + row[i - bpp]);
        break;
    case 2:
        for (; i < n; i++)
            row[i] = (uint8_t)(row[i] + prev[i]);
        break;
    case 3:
        for (; i < bpp && i < n; i++)
            row[i] = (uint8_t)(row[i] + (prev[i] >> 1));
        for (; i < n; i++)
            row[i] = (uint8_t)(row[i] + ((row[i - bpp] + prev[i]) >> 1));
        break;
    case 4:
        for (; i < bpp && i < n; i++) /* a = c = 0: the prediction is b */
            row[i] = (uint8_t)(row[i] + prev[i]);
        for (; i < n; i++)
            row[i] = (uint8_t)(row[i] + paeth(row[i - bpp], prev[i], prev[i - bpp]));
        break;
    }
}

/* ---- x86: each returns how far it got; plain_from does the rest ---- */

#ifdef HAVE_X86
static inline __m128i load4(const uint8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return _mm_cvtsi32_si128(v);
}

static inline void store4(uint8_t *p, __m128i v)
{
    int32_t x = _mm_cvtsi128_si32(v);
    memcpy(p, &x, 4);
}

/* 3 bytes from a register: a 2-byte and a 1-byte store. (Loads are 4
 * bytes even at 3 bytes per pixel: the extra lane is never stored, and a
 * row's last pixel is left to the plain loop. Assembling 3 bytes on the
 * stack instead stalls every load on store forwarding: 5x slower.) */
static inline void store3(uint8_t *p, __m128i v)
{
    uint32_t x = (uint32_t)_mm_cvtsi128_si32(v);
    uint16_t lo = (uint16_t)x;
    memcpy(p, &lo, 2);
    p[2] = (uint8_t)(x >> 16);
}

static size_t up_sse2(uint8_t *row, const uint8_t *prev, size_t n)
{
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m128i x0 = _mm_loadu_si128((const __m128i *)(row + i));
        __m128i x1 = _mm_loadu_si128((const __m128i *)(row + i + 16));
        x0 = _mm_add_epi8(x0, _mm_loadu_si128((const __m128i *)(prev + i)));
        x1 = _mm_add_epi8(x1, _mm_loadu_si128((const __m128i *)(prev + i + 16)));
        _mm_storeu_si128((__m128i *)(row + i), x0);
        _mm_storeu_si128((__m128i *)(row + i + 16), x1);
    }
    for (; i + 16 <= n; i += 16)
        _mm_storeu_si128((__m128i *)(row + i), _mm_add_epi8(_mm_loadu_si128((const __m128i *)(row + i)),
                                                            _mm_loadu_si128((const __m128i *)(prev + i))));
    return i;
}

static size_t sub4_sse2(uint8_t *row, size_t n)
{
    __m128i last = _mm_setzero_si128(); /* the pixel left of the vector, in every lane */
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(row + i));
        x = _mm_add_epi8(x, _mm_slli_si128(x, 4));
        x = _mm_add_epi8(x, _mm_slli_si128(x, 8));
        x = _mm_add_epi8(x, last);
        _mm_storeu_si128((__m128i *)(row + i), x);
        last = _mm_shuffle_epi32(x, _MM_SHUFFLE(3, 3, 3, 3));
    }
    return i;
}

__attribute__((target("ssse3"))) static size_t sub3_ssse3(uint8_t *row, size_t n)
{
    const __m128i spread = _mm_setr_epi8(9, 10, 11, 9, 10, 11, 9, 10, 11, 9, 10, 11, 9, 10, 11, 9);
    __m128i last = _mm_setzero_si128();
    size_t i = 0;
    /* 16 bytes read, the first 12 (four pixels) written back */
    for (; i + 16 <= n; i += 12) {
        __m128i x = _mm_loadu_si128((const __m128i *)(row + i));
        x = _mm_add_epi8(x, _mm_slli_si128(x, 3));
        x = _mm_add_epi8(x, _mm_slli_si128(x, 6));
        x = _mm_add_epi8(x, last);
        _mm_storel_epi64((__m128i *)(row + i), x);
        store4(row + i + 8, _mm_srli_si128(x, 8));
        last = _mm_shuffle_epi8(x, spread);
    }
    return i;
}

/* One pixel at a time; STORE writes bpp bytes. floor((a + b) / 2) is
 * pavgb's rounded-up mean less the bit both lost. */
#define AVG_LOOP(bpp, LOAD, STORE)                                                      \
    do {                                                                                \
        const __m128i one = _mm_set1_epi8(1);                                           \
        __m128i a = _mm_setzero_si128();                                                \
        for (; i + 4 <= n; i += (bpp)) {                                            \
            __m128i b = LOAD(prev + i);                                                 \
            __m128i mean = _mm_sub_epi8(_mm_avg_epu8(a, b), _mm_and_si128(_mm_xor_si128(a, b), one)); \
            a = _mm_add_epi8(LOAD(row + i), mean);                                      \
            STORE(row + i, a);                                                          \
        }                                                                               \
    } while (0)

static size_t avg_sse2(uint8_t *row, const uint8_t *prev, size_t n, int bpp)
{
    size_t i = 0;
    if (bpp == 4)
        AVG_LOOP(4, load4, store4);
    else
        AVG_LOOP(3, load4, store3);
    return i;
}

static inline __m128i abs16(__m128i v) { return _mm_max_epi16(v, _mm_sub_epi16(_mm_setzero_si128(), v)); }

static inline __m128i pick(__m128i mask, __m128i yes, __m128i no)
{
    return _mm_or_si128(_mm_and_si128(mask, yes), _mm_andnot_si128(mask, no));
}

/* Paeth's choice in 16-bit lanes (see the top of the file). */
static inline __m128i paeth_guess(__m128i a, __m128i b, __m128i c)
{
    __m128i bc = _mm_sub_epi16(b, c), ac = _mm_sub_epi16(a, c);
    __m128i pa = abs16(bc), pb = abs16(ac), pc = abs16(_mm_add_epi16(bc, ac));
    __m128i least = _mm_min_epi16(_mm_min_epi16(pa, pb), pc);
    return pick(_mm_cmpeq_epi16(least, pa), a, pick(_mm_cmpeq_epi16(least, pb), b, c));
}

/* One pixel at a time in 16-bit lanes (see the top of the file). */
#define PAETH_LOOP(bpp, LOAD, STORE)                                                      \
    do {                                                                                \
        const __m128i zero = _mm_setzero_si128();                                       \
        __m128i a = zero, c = zero;                                                     \
        for (; i + 4 <= n; i += (bpp)) {                                            \
            __m128i b = _mm_unpacklo_epi8(LOAD(prev + i), zero);                        \
            __m128i guess = paeth_guess(a, b, c);                                        \
            __m128i x = _mm_add_epi8(LOAD(row + i), _mm_packus_epi16(guess, guess));    \
            STORE(row + i, x);                                                          \
            a = _mm_unpacklo_epi8(x, zero);                                             \
            c = b;                                                                      \
        }                                                                               \
    } while (0)

static size_t paeth_sse2(uint8_t *row, const uint8_t *prev, size_t n, int bpp)
{
    size_t i = 0;
    if (bpp == 4)
        PAETH_LOOP(4, load4, store4);
    else
        PAETH_LOOP(3, load4, store3);
    return i;
}


/* Two Paeth rows at once, on a wavefront: a step unfilters pixel k of row
 * (lanes 0-3) and pixel k-1 of next (lanes 4-7), whose "above" is row's
 * pixel k-1, just computed, and "above-left" row's pixel k-2: two
 * independent chains in one register, so twice the pixels per step. Returns
 * the pixels done in row (next has one fewer); plain_from does the rest. */
#define PAETH2_LOOP(bpp, STORE)                                                           \
    do {                                                                                \
        const __m128i zero = _mm_setzero_si128();                                       \
        for (size_t j = 0; j < (bpp); j++) /* row's pixel 0: a = c = 0, the guess is b */ \
            row[j] = (uint8_t)(row[j] + prev[j]);                                       \
        __m128i done = load4(row);        /* bytes 0-3: row's last pixel, 4-7: next's */ \
        __m128i a = _mm_unpacklo_epi8(_mm_unpacklo_epi32(done, zero), zero);            \
        __m128i c = _mm_unpacklo_epi8(_mm_unpacklo_epi32(load4(prev), zero), zero);     \
        for (k = 1; k * (bpp) + 4 <= n; k++) {                                          \
            __m128i b = _mm_unpacklo_epi8(_mm_unpacklo_epi32(load4(prev + k * (bpp)), done), zero); \
            __m128i x = _mm_unpacklo_epi32(load4(row + k * (bpp)), load4(next + (k - 1) * (bpp))); \
            __m128i guess = paeth_guess(a, b, c);                                        \
            done = _mm_add_epi8(x, _mm_packus_epi16(guess, guess));                     \
            STORE(row + k * (bpp), done);                                               \
            STORE(next + (k - 1) * (bpp), _mm_srli_si128(done, 4));                     \
            a = _mm_unpacklo_epi8(done, zero);                                          \
            c = b;                                                                      \
        }                                                                               \
    } while (0)

static size_t paeth2_sse2(uint8_t *row, uint8_t *next, const uint8_t *prev, size_t n, int bpp)
{
    size_t k;
    if (bpp == 4)
        PAETH2_LOOP(4, store4);
    else
        PAETH2_LOOP(3, store3);
    return k;
}

#endif

/* ---- dispatch ---- */

vs_unfilter_level vs_png_unfilter_best(void)
{
#ifdef HAVE_X86
    return __builtin_cpu_supports("ssse3") ? VS_UNFILTER_SSSE3 : VS_UNFILTER_SSE2;
#else
    return VS_UNFILTER_PLAIN;
#endif
}

int vs_png_unfilter_at(vs_unfilter_level level, uint8_t *row, const uint8_t *prev, size_t n, int bpp, int type)
{
    if (type < 0 || type > 4)
        return -1;
    vs_unfilter_level best = vs_png_unfilter_best();
    if (level == VS_UNFILTER_BEST || level > best)
        level = best;
    size_t i = 0;
#ifdef HAVE_X86
    int pixels = bpp == 3 || bpp == 4; /* the per-pixel loops' kinds */
    if (level >= VS_UNFILTER_SSE2) {
        if (type == 1 && bpp == 4)
            i = sub4_sse2(row, n);
        else if (type == 1 && bpp == 3 && level >= VS_UNFILTER_SSSE3)
            i = sub3_ssse3(row, n);
        else if (type == 2)
            i = up_sse2(row, prev, n);
        else if (type == 3 && pixels)
            i = avg_sse2(row, prev, n, bpp);
        else if (type == 4 && pixels)
            i = paeth_sse2(row, prev, n, bpp);
    }
#else
    (void)level;
#endif
    plain_from(row, prev, i, n, (size_t)bpp, type);
    return 0;
}

int vs_png_unfilter(uint8_t *row, const uint8_t *prev, size_t n, int bpp, int type)
{
    return vs_png_unfilter_at(VS_UNFILTER_BEST, row, prev, n, bpp, type);
}

int vs_png_unfilter_pair_at(vs_unfilter_level level, uint8_t *row, uint8_t *next, const uint8_t *prev, size_t n,
                            int bpp, int type, int next_type)
{
    if (type < 0 || type > 4 || next_type < 0 || next_type > 4)
        return -1;
#ifdef HAVE_X86
    vs_unfilter_level best = vs_png_unfilter_best();
    if (level == VS_UNFILTER_BEST || level > best)
        level = best;
    if (level >= VS_UNFILTER_SSE2 && type == 4 && next_type == 4 && (bpp == 3 || bpp == 4) &&
        n >= (size_t)bpp + 4) {
        size_t k = paeth2_sse2(row, next, prev, n, bpp);
        plain_from(row, prev, k * (size_t)bpp, n, (size_t)bpp, 4);
        plain_from(next, row, (k - 1) * (size_t)bpp, n, (size_t)bpp, 4);
        return 0;
    }
#endif
    vs_png_unfilter_at(level, row, prev, n, bpp, type);
    return vs_png_unfilter_at(level, next, row, n, bpp, next_type);
}

int vs_png_unfilter_pair(uint8_t *row, uint8_t *next, const uint8_t *prev, size_t n, int bpp, int type,
                         int next_type)
{
    return vs_png_unfilter_pair_at(VS_UNFILTER_BEST, row, next, prev, n, bpp, type, next_type);
}
