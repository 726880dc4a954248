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
 * Paeth's cost, so runs of Paeth rows (the usual case in Paeth-heavy files)
 * go on wavefronts: two rows in one register, the second one pixel behind
 * in its upper half, and four rows as two such registers, the second pair
 * two pixels behind the first: 1.6, 3.2 and 5.8 ms for a 1280x720 RGB
 * image of Paeth rows here (four, two and one at a time). SSSE3's pabsw
 * measured no faster than SSE2's max(v, -v), AVX2 would not shorten the
 * chain, and Up is bound by
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


/* Paeth rows on wavefronts. A wavefront unfilters pixel k of a row (lanes
 * 0-3) and pixel k-1 of the next (lanes 4-7), whose "above" is the first
 * row's pixel k-1, just computed, and "above-left" its pixel k-2: two
 * independent chains in one register, so twice the pixels per step. Four
 * rows run as two wavefronts, the second (rows 2 and 3) two pixels behind
 * the first and taking row 1's pixels from its register (memory would
 * stall on store forwarding): two registers' chains in flight at once. */
typedef struct wavefront {
    uint8_t *row, *next; /* the two rows; row's "above" comes from outside */
    __m128i done;        /* bytes 0-3: row's last pixel, 4-7: next's */
    __m128i a, c;        /* the left and above-left neighbours, 16-bit lanes */
} wavefront;

static inline __attribute__((always_inline)) void store_px(uint8_t *p, __m128i v, int bpp)
{
    if (bpp == 4)
        store4(p, v);
    else
        store3(p, v);
}

/* Pixel 0 of row (a = c = 0: the guess is b) and the state for pixel 1;
 * above: the row above (done at least up to its pixel 1's first byte). */
static inline __attribute__((always_inline)) void wave_start(wavefront *w, const uint8_t *above, int bpp)
{
    const __m128i zero = _mm_setzero_si128();
    for (int j = 0; j < bpp; j++)
        w->row[j] = (uint8_t)(w->row[j] + above[j]);
    w->done = load4(w->row);
    w->a = _mm_unpacklo_epi8(_mm_unpacklo_epi32(w->done, zero), zero);
    w->c = _mm_unpacklo_epi8(_mm_unpacklo_epi32(load4(above), zero), zero);
}

/* Step k: row's pixel k and next's k-1; above_k holds pixel k of the row
 * above row in its low 4 bytes. */
static inline __attribute__((always_inline)) void wave_step(wavefront *w, size_t k, __m128i above_k, int bpp)
{
    const __m128i zero = _mm_setzero_si128();
    __m128i b = _mm_unpacklo_epi8(_mm_unpacklo_epi32(above_k, w->done), zero);
    __m128i x = _mm_unpacklo_epi32(load4(w->row + k * (size_t)bpp), load4(w->next + (k - 1) * (size_t)bpp));
    __m128i guess = paeth_guess(w->a, b, w->c);
    w->done = _mm_add_epi8(x, _mm_packus_epi16(guess, guess));
    store_px(w->row + k * (size_t)bpp, w->done, bpp);
    store_px(w->next + (k - 1) * (size_t)bpp, _mm_srli_si128(w->done, 4), bpp);
    w->a = _mm_unpacklo_epi8(w->done, zero);
    w->c = b;
}

/* Rows r[0..count) (2 or 4), prev above r[0]. Returns the steps done: r[i]
 * is done up to pixel k - i - 1; plain_from does the rest. */
static inline __attribute__((always_inline)) size_t paeth_rows_sse2(uint8_t *const r[4], int count,
                                                                    const uint8_t *prev, size_t n, int bpp)
{
    wavefront w1 = {.row = r[0], .next = r[1]};
    wave_start(&w1, prev, bpp);
    size_t k = 1;
    if (count == 2) {
        for (; k * (size_t)bpp + 4 <= n; k++)
            wave_step(&w1, k, load4(prev + k * (size_t)bpp), bpp);
        return k;
    }
    /* the second wavefront starts once row 1's pixel 1 is done */
    for (; k <= 2; k++)
        wave_step(&w1, k, load4(prev + k * (size_t)bpp), bpp);
    wavefront w2 = {.row = r[2], .next = r[3]};
    wave_start(&w2, r[1], bpp);
    for (; k * (size_t)bpp + 4 <= n; k++) {
        __m128i row1_px = _mm_srli_si128(w1.done, 4); /* row 1's pixel k - 2 */
        wave_step(&w1, k, load4(prev + k * (size_t)bpp), bpp);
        wave_step(&w2, k - 2, row1_px, bpp);
    }
    return k;
}

static size_t paeth_rows(uint8_t *const r[4], int count, const uint8_t *prev, size_t n, int bpp)
{
    return bpp == 4 ? paeth_rows_sse2(r, count, prev, n, 4) : paeth_rows_sse2(r, count, prev, n, 3);
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

#ifdef HAVE_X86
/* How many of the next rows (left of them; data at the first's type byte)
 * a Paeth kernel takes: 4, 2, or 0 when none applies. */
static int paeth_run(vs_unfilter_level level, const uint8_t *data, size_t left, size_t n, int bpp)
{
    if (level < VS_UNFILTER_SSE2 || (bpp != 3 && bpp != 4))
        return 0;
    int run = 0;
    while ((size_t)run < left && run < 4 && data[(size_t)run * (n + 1)] == 4)
        run++;
    if (run == 4 && n >= 3 * (size_t)bpp + 4)
        return 4;
    return run >= 2 && n >= (size_t)bpp + 4 ? 2 : 0;
}
#endif

int vs_png_unfilter_rows_at(vs_unfilter_level level, uint8_t *data, size_t count, const uint8_t *prev, size_t n,
                            int bpp)
{
    vs_unfilter_level best = vs_png_unfilter_best();
    if (level == VS_UNFILTER_BEST || level > best)
        level = best;
    for (size_t y = 0; y < count;) {
        uint8_t *row = data + y * (n + 1) + 1;
#ifdef HAVE_X86
        int run = paeth_run(level, row - 1, count - y, n, bpp);
        if (run) {
            uint8_t *r[4];
            for (int i = 0; i < run; i++)
                r[i] = row + (size_t)i * (n + 1);
            size_t k = paeth_rows(r, run, prev, n, bpp);
            for (int i = 0; i < run; i++)
                plain_from(r[i], i ? r[i - 1] : prev, (k - (size_t)i) * (size_t)bpp, n, (size_t)bpp, 4);
            prev = r[run - 1];
            y += (size_t)run;
            continue;
        }
#endif
        if (vs_png_unfilter_at(level, row, prev, n, bpp, row[-1]) < 0)
            return -1;
        prev = row;
        y++;
    }
    return 0;
}

int vs_png_unfilter_rows(uint8_t *data, size_t count, const uint8_t *prev, size_t n, int bpp)
{
    return vs_png_unfilter_rows_at(VS_UNFILTER_BEST, data, count, prev, n, bpp);
}
