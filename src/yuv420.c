/*
 * yuv420.c: RGBA to 8-bit 4:2:0 YUV, the conversion every encoded frame
 * goes through.
 *
 * swscale takes 3.5-4.5 ms for a 1080p frame here (its RGBA input goes
 * through the general scaler), more than the rest of a composition's
 * drawing; this takes about a quarter of that. Y is computed per pixel;
 * Cb and Cr from the sum of each 2x2 block (centred chroma, a box filter).
 * Fixed point with 15-bit coefficients: within one step of the exact
 * BT.601/709 formulas. The SSE2 path and the plain C path compute the
 * same integers, so output never depends on the machine. RGB without
 * alpha (numpy's (H, W, 3) bytes or floats) goes through the same row
 * kernels, each pair of rows first widened to RGBA in a small buffer that
 * stays in cache, so the frame is read once.
 *
 * JPEG frames decoded straight to 4:2:0 planes (convert) are mapped from
 * JPEG's full-range BT.601 to the stream's matrix in place, 8 chroma
 * samples and their 2x2 luma blocks at a time in SSE2 (the plain loop
 * takes the rest of a row; both compute the same integers). A 16.16
 * coefficient m above 32767 does not fit pmaddwd's 16-bit lanes, so it goes
 * in as lo + hi * 65536 (lo its low 16 bits, signed): m * x = lo * x +
 * (hi * x << 16), exact in 32 bits.
 */
#include <math.h>
#include <stdlib.h>

#include "yuv420.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

void vs_yuv420_coeffs_init(vs_yuv420_coeffs *c, int bt709, int full_range)
{
    const double kr = bt709 ? 0.2126 : 0.299, kb = bt709 ? 0.0722 : 0.114, kg = 1 - kr - kb;
    /* limited range: Y in 16..235, Cb/Cr in 16..240 */
    const double ys = full_range ? 1.0 : 219.0 / 255, cs = full_range ? 1.0 : 224.0 / 255;
    const double one = 1 << 15;
    const double u = cs / (2 * (1 - kb)), v = cs / (2 * (1 - kr)); /* Cb = u (B - Y), Cr = v (R - Y) */
    c->yr = (int16_t)lround(kr * ys * one);
    c->yg = (int16_t)lround(kg * ys * one);
    c->yb = (int16_t)lround(kb * ys * one);
    c->ur = (int16_t)lround(-kr * u * one);
    c->ug = (int16_t)lround(-kg * u * one);
    c->ub = (int16_t)lround((1 - kb) * u * one);
    c->vr = (int16_t)lround((1 - kr) * v * one);
    c->vg = (int16_t)lround(-kg * v * one);
    c->vb = (int16_t)lround(-kb * v * one);
    c->y_offset = (full_range ? 0 : 16 << 15) + (1 << 14); /* + rounding */
    c->c_offset = (128 << 17) + (1 << 16);                   /* sums of 4 pixels: 2 more bits */
}

static inline uint8_t clamp8(int v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v); }

/* Columns [x0, width) of one pair of rows, one pixel at a time; returns
 * the AND of their alpha bytes. */
static int rows_c(const uint8_t *p0, const uint8_t *p1, uint8_t *y0, uint8_t *y1, uint8_t *u, uint8_t *v,
                   int x0, int width, const vs_yuv420_coeffs *c)
{
    int alpha = 255;
    for (int x = x0; x < width; x += 2) {
        int r = 0, g = 0, b = 0;
        for (int dx = 0; dx < 2; dx++) {
            const uint8_t *a = p0 + 4 * (x + dx), *d = p1 + 4 * (x + dx);
            alpha &= a[3] & d[3];
            y0[x + dx] = clamp8((c->yr * a[0] + c->yg * a[1] + c->yb * a[2] + c->y_offset) >> 15);
            y1[x + dx] = clamp8((c->yr * d[0] + c->yg * d[1] + c->yb * d[2] + c->y_offset) >> 15);
            r += a[0] + d[0];
            g += a[1] + d[1];
            b += a[2] + d[2];
        }
        u[x / 2] = clamp8((c->ur * r + c->ug * g + c->ub * b + c->c_offset) >> 17);
        v[x / 2] = clamp8((c->vr * r + c->vg * g + c->vb * b + c->c_offset) >> 17);
    }
    return alpha;
}

#if defined(__SSE2__)
/* Each 32-bit lane is one RGBA pixel: masking bytes 0 and 2 gives R and B
 * as 16-bit halves, bytes 1 and 3 give G and A, so one multiply-add per
 * pair weighs two channels at once (_mm_madd_epi16: lo*c0 + hi*c1). */
static inline __m128i luma4(__m128i px, __m128i rb_c, __m128i g_c, __m128i offset, __m128i low_bytes)
{
    __m128i rb = _mm_and_si128(px, low_bytes);
    __m128i ga = _mm_and_si128(_mm_srli_epi32(px, 8), low_bytes);
    __m128i sum = _mm_add_epi32(_mm_madd_epi16(rb, rb_c), _mm_madd_epi16(ga, g_c));
    return _mm_srai_epi32(_mm_add_epi32(sum, offset), 15);
}

/* Two chroma values from 4 pixels of each row: lanes 0 and 1. */
static inline __m128i chroma2(__m128i rb, __m128i ga, __m128i rb_c, __m128i g_c, __m128i offset)
{
    __m128i sum = _mm_add_epi32(_mm_madd_epi16(rb, rb_c), _mm_madd_epi16(ga, g_c));
    sum = _mm_srai_epi32(_mm_add_epi32(sum, offset), 17);
    return _mm_shuffle_epi32(sum, _MM_SHUFFLE(3, 1, 2, 0)); /* lanes 0 and 2 hold the pairs */
}

/* 16 columns at a time; returns the first column left for rows_c and
 * sets *alpha to the AND of the alpha bytes it read. */
static int rows_sse2(const uint8_t *p0, const uint8_t *p1, uint8_t *y0, uint8_t *y1, uint8_t *u, uint8_t *v,
                     int width, const vs_yuv420_coeffs *c, int *alpha)
{
    __m128i all = _mm_set1_epi32(-1);
    const __m128i low_bytes = _mm_set1_epi32(0x00ff00ff);
    const __m128i y_rb = _mm_set1_epi32((int)((uint32_t)(uint16_t)c->yb << 16 | (uint16_t)c->yr));
    const __m128i y_g = _mm_set1_epi32((uint16_t)c->yg);
    const __m128i u_rb = _mm_set1_epi32((int)((uint32_t)(uint16_t)c->ub << 16 | (uint16_t)c->ur));
    const __m128i u_g = _mm_set1_epi32((uint16_t)c->ug);
    const __m128i v_rb = _mm_set1_epi32((int)((uint32_t)(uint16_t)c->vb << 16 | (uint16_t)c->vr));
    const __m128i v_g = _mm_set1_epi32((uint16_t)c->vg);
    const __m128i y_off = _mm_set1_epi32(c->y_offset), c_off = _mm_set1_epi32(c->c_offset);
    int x = 0;
    for (; x + 16 <= width; x += 16) {
        __m128i a[4], d[4], ya[4], yd[4], cu[4], cv[4];
        for (int k = 0; k < 4; k++) {
            a[k] = _mm_loadu_si128((const __m128i *)(p0 + 4 * x + 16 * k));
            d[k] = _mm_loadu_si128((const __m128i *)(p1 + 4 * x + 16 * k));
            all = _mm_and_si128(all, _mm_and_si128(a[k], d[k]));
            ya[k] = luma4(a[k], y_rb, y_g, y_off, low_bytes);
            yd[k] = luma4(d[k], y_rb, y_g, y_off, low_bytes);
            /* R+B and G+A sums down the two rows, then across pixel pairs
             * (each lane plus its neighbour; at most 4 * 255 per half) */
            __m128i rb = _mm_add_epi16(_mm_and_si128(a[k], low_bytes), _mm_and_si128(d[k], low_bytes));
            __m128i ga = _mm_add_epi16(_mm_and_si128(_mm_srli_epi32(a[k], 8), low_bytes),
                                       _mm_and_si128(_mm_srli_epi32(d[k], 8), low_bytes));
            rb = _mm_add_epi16(rb, _mm_shuffle_epi32(rb, _MM_SHUFFLE(2, 3, 0, 1)));
            ga = _mm_add_epi16(ga, _mm_shuffle_epi32(ga, _MM_SHUFFLE(2, 3, 0, 1)));
            cu[k] = chroma2(rb, ga, u_rb, u_g, c_off);
            cv[k] = chroma2(rb, ga, v_rb, v_g, c_off);
        }
        _mm_storeu_si128((__m128i *)(y0 + x), _mm_packus_epi16(_mm_packs_epi32(ya[0], ya[1]),
                                                                _mm_packs_epi32(ya[2], ya[3])));
        _mm_storeu_si128((__m128i *)(y1 + x), _mm_packus_epi16(_mm_packs_epi32(yd[0], yd[1]),
                                                                _mm_packs_epi32(yd[2], yd[3])));
        __m128i u8 = _mm_packs_epi32(_mm_unpacklo_epi64(cu[0], cu[1]), _mm_unpacklo_epi64(cu[2], cu[3]));
        __m128i v8 = _mm_packs_epi32(_mm_unpacklo_epi64(cv[0], cv[1]), _mm_unpacklo_epi64(cv[2], cv[3]));
        _mm_storel_epi64((__m128i *)(u + x / 2), _mm_packus_epi16(u8, u8));
        _mm_storel_epi64((__m128i *)(v + x / 2), _mm_packus_epi16(v8, v8));
    }
    uint8_t bytes[16];
    _mm_storeu_si128((__m128i *)bytes, all);
    *alpha = bytes[3] & bytes[7] & bytes[11] & bytes[15];
    return x;
}
#endif

/* One pair of RGBA rows (p1 = p0's next) into rows y, y + 1 of the planes;
 * returns the AND of their alpha bytes. */
static int row_pair(const uint8_t *p0, const uint8_t *p1, int width, int y, const vs_yuv420_coeffs *c,
                    uint8_t *const planes[3], const int linesize[3])
{
    uint8_t *y0 = planes[0] + (size_t)y * linesize[0], *y1 = y0 + linesize[0];
    uint8_t *u = planes[1] + (size_t)(y / 2) * linesize[1], *v = planes[2] + (size_t)(y / 2) * linesize[2];
    int x = 0, alpha = 255;
#if defined(__SSE2__)
    x = rows_sse2(p0, p1, y0, y1, u, v, width, c, &alpha);
#endif
    return alpha & rows_c(p0, p1, y0, y1, u, v, x, width, c);
}

int vs_rgba_to_yuv420(const vs_frame *src, const vs_yuv420_coeffs *c, uint8_t *const planes[3],
                      const int linesize[3])
{
    int alpha = 255;
    for (int y = 0; y + 1 < src->height; y += 2) {
        const uint8_t *p0 = src->data + (size_t)y * src->stride;
        alpha &= row_pair(p0, p0 + src->stride, src->width, y, c, planes, linesize);
    }
    return alpha == 255;
}

/* x * 255 clipped to 0..255 and rounded to the nearest, ties to even (as
 * numpy.rint in float32): adding 1.5 * 2^23 leaves no fraction bits (IEEE
 * arithmetic, which the compiler keeps without -ffast-math). NaN is 0. */
static inline uint8_t unit_to_byte(float x)
{
    float v = x * 255.0f;
    v = v > 0 ? (v < 255 ? v : 255) : 0;
    return (uint8_t)(int)((v + 12582912.0f) - 12582912.0f);
}

void vs_rgb_row_to_rgba(const void *row, vs_rgb_type type, int width, uint8_t *rgba)
{
    if (type == VS_RGB_U8) {
        const uint8_t *p = row;
        for (int x = 0; x < width; x++, p += 3, rgba += 4) {
            rgba[0] = p[0];
            rgba[1] = p[1];
            rgba[2] = p[2];
            rgba[3] = 255;
        }
        return;
    }
    const float *f = row;
    for (int x = 0; x < width; x++, f += 3, rgba += 4) {
        rgba[0] = unit_to_byte(f[0]);
        rgba[1] = unit_to_byte(f[1]);
        rgba[2] = unit_to_byte(f[2]);
        rgba[3] = 255;
    }
}

int vs_rgb_to_yuv420(const void *rgb, vs_rgb_type type, int width, int height, size_t stride,
                     const vs_yuv420_coeffs *c, uint8_t *const planes[3], const int linesize[3])
{
    size_t row = (size_t)width * 4;
    uint8_t *pair = malloc(2 * row);
    if (!pair)
        return -1;
    for (int y = 0; y + 1 < height; y += 2) {
        const uint8_t *r0 = (const uint8_t *)rgb + (size_t)y * stride;
        vs_rgb_row_to_rgba(r0, type, width, pair);
        vs_rgb_row_to_rgba(r0 + stride, type, width, pair + row);
        row_pair(pair, pair + row, width, y, c, planes, linesize);
    }
    free(pair);
    return 0;
}

void vs_jpeg_yuv_map_init(vs_jpeg_yuv_map *map, int bt709)
{
    double kr = bt709 ? 0.2126 : 0.299, kb = bt709 ? 0.0722 : 0.114;
    double in[3][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
    for (int col = 0; col < 3; col++) {
        double y = in[col][0], cb = in[col][1], cr = in[col][2];
        double r = y + 1.402 * cr, g = y - 0.344136 * cb - 0.714136 * cr, b = y + 1.772 * cb;
        double yf = kr * r + (1 - kr - kb) * g + kb * b;
        double out[3] = {219.0 / 255 * yf, 224.0 / 255 * (b - yf) / (2 * (1 - kb)),
                         224.0 / 255 * (r - yf) / (2 * (1 - kr))};
        for (int row = 0; row < 3; row++)
            map->m[row][col] = (int32_t)(out[row] * 65536 + (out[row] < 0 ? -0.5 : 0.5));
    }
}

/* Chroma columns [cx, w2) of one row pair, one 2x2 block at a time. */
static void jpeg_map_c(const vs_jpeg_yuv_map *map, uint8_t *y0, uint8_t *y1, uint8_t *u, uint8_t *v, int cx,
                       int w2)
{
    const int32_t(*m)[3] = map->m;
    for (; cx < w2; cx++) {
        int32_t cb = u[cx] - 128, cr = v[cx] - 128;
        int32_t luma_shift = m[0][1] * cb + m[0][2] * cr + (16 << 16) + 32768;
        y0[2 * cx] = clamp8((m[0][0] * y0[2 * cx] + luma_shift) >> 16);
        y0[2 * cx + 1] = clamp8((m[0][0] * y0[2 * cx + 1] + luma_shift) >> 16);
        y1[2 * cx] = clamp8((m[0][0] * y1[2 * cx] + luma_shift) >> 16);
        y1[2 * cx + 1] = clamp8((m[0][0] * y1[2 * cx + 1] + luma_shift) >> 16);
        u[cx] = clamp8((m[1][1] * cb + m[1][2] * cr + (128 << 16) + 32768) >> 16);
        v[cx] = clamp8((m[2][1] * cb + m[2][2] * cr + (128 << 16) + 32768) >> 16);
    }
}

#if defined(__SSE2__)
/* pmaddwd operands for m * a + n * b over (a, b) pairs: the low halves
 * and the high parts of m and n (see the top of the file). */
struct madd_pair {
    __m128i lo, hi;
};

static struct madd_pair madd_pair_of(int32_t m, int32_t n)
{
    int16_t mlo = (int16_t)(uint16_t)m, nlo = (int16_t)(uint16_t)n;
    int16_t mhi = (int16_t)((m - mlo) >> 16), nhi = (int16_t)((n - nlo) >> 16);
    struct madd_pair p = {_mm_set1_epi32((int)((uint32_t)(uint16_t)nlo << 16 | (uint16_t)mlo)),
                          _mm_set1_epi32((int)((uint32_t)(uint16_t)nhi << 16 | (uint16_t)mhi))};
    return p;
}

/* m * a + n * b for 4 interleaved (a, b) int16 pairs, in 32 bits */
static inline __m128i madd_exact(__m128i pairs, struct madd_pair k)
{
    return _mm_add_epi32(_mm_madd_epi16(pairs, k.lo), _mm_slli_epi32(_mm_madd_epi16(pairs, k.hi), 16));
}

/* 16 luma bytes of one row: (m00 * y + shift of its chroma sample) >> 16, clamped */
static inline __m128i jpeg_luma16(__m128i y8, struct madd_pair m00, __m128i s_lo, __m128i s_hi)
{
    const __m128i zero = _mm_setzero_si128();
    __m128i lo16 = _mm_unpacklo_epi8(y8, zero), hi16 = _mm_unpackhi_epi8(y8, zero);
    /* (y, 0) pairs: pmaddwd gives m00 * y per 32-bit lane */
    __m128i p[4] = {_mm_unpacklo_epi16(lo16, zero), _mm_unpackhi_epi16(lo16, zero), _mm_unpacklo_epi16(hi16, zero),
                    _mm_unpackhi_epi16(hi16, zero)};
    /* pixels 2k and 2k + 1 share chroma sample k */
    __m128i s[4] = {_mm_unpacklo_epi32(s_lo, s_lo), _mm_unpackhi_epi32(s_lo, s_lo), _mm_unpacklo_epi32(s_hi, s_hi),
                    _mm_unpackhi_epi32(s_hi, s_hi)};
    for (int k = 0; k < 4; k++)
        p[k] = _mm_srai_epi32(_mm_add_epi32(madd_exact(p[k], m00), s[k]), 16);
    return _mm_packus_epi16(_mm_packs_epi32(p[0], p[1]), _mm_packs_epi32(p[2], p[3]));
}

/* 8 chroma columns at a time; returns the first one left for jpeg_map_c. */
static int jpeg_map_sse2(const vs_jpeg_yuv_map *map, uint8_t *y0, uint8_t *y1, uint8_t *u, uint8_t *v, int w2)
{
    const int32_t(*m)[3] = map->m;
    const struct madd_pair m00 = madd_pair_of(m[0][0], 0), luma = madd_pair_of(m[0][1], m[0][2]);
    const struct madd_pair cb_k = madd_pair_of(m[1][1], m[1][2]), cr_k = madd_pair_of(m[2][1], m[2][2]);
    const __m128i luma_off = _mm_set1_epi32((16 << 16) + 32768), chroma_off = _mm_set1_epi32((128 << 16) + 32768);
    const __m128i zero = _mm_setzero_si128(), c128 = _mm_set1_epi16(128);
    int cx = 0;
    for (; cx + 8 <= w2; cx += 8) {
        __m128i cb = _mm_sub_epi16(_mm_unpacklo_epi8(_mm_loadl_epi64((const __m128i *)(u + cx)), zero), c128);
        __m128i cr = _mm_sub_epi16(_mm_unpacklo_epi8(_mm_loadl_epi64((const __m128i *)(v + cx)), zero), c128);
        __m128i pairs_lo = _mm_unpacklo_epi16(cb, cr), pairs_hi = _mm_unpackhi_epi16(cb, cr);
        __m128i s_lo = _mm_add_epi32(madd_exact(pairs_lo, luma), luma_off);
        __m128i s_hi = _mm_add_epi32(madd_exact(pairs_hi, luma), luma_off);
        __m128i *r0 = (__m128i *)(y0 + 2 * cx), *r1 = (__m128i *)(y1 + 2 * cx);
        _mm_storeu_si128(r0, jpeg_luma16(_mm_loadu_si128(r0), m00, s_lo, s_hi));
        _mm_storeu_si128(r1, jpeg_luma16(_mm_loadu_si128(r1), m00, s_lo, s_hi));
        __m128i u16 = _mm_packs_epi32(_mm_srai_epi32(_mm_add_epi32(madd_exact(pairs_lo, cb_k), chroma_off), 16),
                                      _mm_srai_epi32(_mm_add_epi32(madd_exact(pairs_hi, cb_k), chroma_off), 16));
        __m128i v16 = _mm_packs_epi32(_mm_srai_epi32(_mm_add_epi32(madd_exact(pairs_lo, cr_k), chroma_off), 16),
                                      _mm_srai_epi32(_mm_add_epi32(madd_exact(pairs_hi, cr_k), chroma_off), 16));
        _mm_storel_epi64((__m128i *)(u + cx), _mm_packus_epi16(u16, u16));
        _mm_storel_epi64((__m128i *)(v + cx), _mm_packus_epi16(v16, v16));
    }
    return cx;
}
#endif

void vs_jpeg_yuv_map_apply(const vs_jpeg_yuv_map *map, uint8_t *const planes[3], const int linesize[3], int width,
                           int height)
{
    for (int cy = 0; cy < height / 2; cy++) {
        uint8_t *y0 = planes[0] + (size_t)(2 * cy) * linesize[0], *y1 = y0 + linesize[0];
        uint8_t *u = planes[1] + (size_t)cy * linesize[1], *v = planes[2] + (size_t)cy * linesize[2];
        int cx = 0;
#if defined(__SSE2__)
        cx = jpeg_map_sse2(map, y0, y1, u, v, width / 2);
#endif
        jpeg_map_c(map, y0, y1, u, v, cx, width / 2);
    }
}
