/*
 * scale.c: good-quality resizing of RGBA frames (a separable filter).
 *
 * Each output pixel is a weighted sum of input pixels under a filter
 * centred on the output pixel's centre mapped into the input. The filter
 * is Catmull-Rom bicubic for enlarging; when shrinking its support is
 * stretched by the scale factor, so every input pixel contributes (an
 * area-like low-pass: no aliasing, no dropped detail), as in Pillow and
 * stb_image_resize. Weights are computed once per axis and normalised.
 * Colours are filtered premultiplied by alpha so transparent pixels do not
 * bleed their (invisible) colour into edges, then un-premultiplied.
 * Pass 1 filters rows into a float buffer, pass 2 filters its columns.
 */
#include <math.h>
#include <stdlib.h>

#include "error.h"
#include "vstudio.h"

typedef struct taps {
    int *first;     /* per output pixel: first input index */
    int *count;     /* per output pixel: number of taps */
    float *weights; /* per output pixel: `max` weights */
    int max;
} taps;

static double cubic(double x)
{
    const double a = -0.5; /* Catmull-Rom */
    x = fabs(x);
    if (x < 1)
        return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2)
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
    return 0;
}

static void taps_free(taps *t)
{
    free(t->first), free(t->count), free(t->weights);
    t->first = t->count = NULL, t->weights = NULL;
}

static int taps_make(taps *t, int in, int out)
{
    double scale = (double)in / out;
    double stretch = scale > 1 ? scale : 1;
    double support = 2 * stretch;
    t->max = (int)ceil(support) * 2 + 1;
    t->first = malloc(sizeof(int) * (size_t)out);
    t->count = malloc(sizeof(int) * (size_t)out);
    t->weights = malloc(sizeof(float) * (size_t)out * (size_t)t->max);
    if (!t->first || !t->count || !t->weights) {
        taps_free(t);
        return vs_fail("out of memory scaling %d to %d pixels", in, out);
    }
    for (int o = 0; o < out; o++) {
        double centre = (o + 0.5) * scale;
        int lo = (int)floor(centre - support), hi = (int)ceil(centre + support);
        if (lo < 0)
            lo = 0;
        if (hi > in)
            hi = in;
        if (hi - lo > t->max)
            hi = lo + t->max;
        float *w = t->weights + (size_t)o * t->max;
        double sum = 0;
        for (int i = lo; i < hi; i++)
            sum += w[i - lo] = (float)cubic((i + 0.5 - centre) / stretch);
        if (sum == 0) { /* cannot happen with these supports; nearest as a fallback */
            lo = (int)centre < in ? (int)centre : in - 1, hi = lo + 1, w[0] = 1, sum = 1;
        }
        for (int i = 0; i < hi - lo; i++)
            w[i] = (float)(w[i] / sum);
        t->first[o] = lo, t->count[o] = hi - lo;
    }
    return 0;
}

static inline uint8_t to_byte(float v)
{
    return v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)(v + 0.5f);
}

int vs_frame_scale_into(vs_frame *dst, const vs_frame *src)
{
    int sw = src->width, sh = src->height, dw = dst->width, dh = dst->height;
    taps h = {0}, v = {0};
    float *mid = NULL, *restrict acc = NULL, *restrict pre = NULL;
    if (taps_make(&h, sw, dw) < 0 || taps_make(&v, sh, dh) < 0)
        goto fail;
    mid = malloc(sizeof(float) * 4 * (size_t)dw * (size_t)sh);
    acc = malloc(sizeof(float) * 4 * (size_t)dw);
    pre = malloc(sizeof(float) * 4 * (size_t)sw);
    if (!mid || !acc || !pre) {
        vs_fail("out of memory scaling %dx%d to %dx%d", sw, sh, dw, dh);
        goto fail;
    }
    /* pass 1: each source row to premultiplied floats once, then filtered across */
    for (int y = 0; y < sh; y++) {
        const uint8_t *row = src->data + (size_t)y * src->stride;
        for (int x = 0; x < sw; x++) {
            float a = row[x * 4 + 3];
            pre[x * 4 + 0] = row[x * 4 + 0] * a, pre[x * 4 + 1] = row[x * 4 + 1] * a;
            pre[x * 4 + 2] = row[x * 4 + 2] * a, pre[x * 4 + 3] = a;
        }
        float *m = mid + (size_t)y * dw * 4;
        for (int x = 0; x < dw; x++, m += 4) {
            const float *w = h.weights + (size_t)x * h.max;
            const float *p = pre + (size_t)h.first[x] * 4;
            float c[4] = {0, 0, 0, 0};
            for (int i = 0; i < h.count[x]; i++, p += 4)
                for (int k = 0; k < 4; k++)
                    c[k] += w[i] * p[k];
            for (int k = 0; k < 4; k++)
                m[k] = c[k];
        }
    }
    /* pass 2 sums whole rows of the float buffer: sequential, vectorisable */
    for (int y = 0; y < dh; y++) {
        const float *w = v.weights + (size_t)y * v.max;
        for (int x = 0; x < dw * 4; x++)
            acc[x] = 0;
        for (int i = 0; i < v.count[y]; i++) {
            const float *restrict m = mid + (size_t)(v.first[y] + i) * dw * 4;
            float wi = w[i];
            for (int x = 0; x < dw * 4; x++)
                acc[x] += wi * m[x];
        }
        uint8_t *d = dst->data + (size_t)y * dst->stride;
        for (int x = 0; x < dw; x++, d += 4) {
            const float *p = acc + (size_t)x * 4;
            if (p[3] < 0.5f) {
                d[0] = d[1] = d[2] = d[3] = 0;
                continue;
            }
            float inv = 1.0f / p[3];
            d[0] = to_byte(p[0] * inv), d[1] = to_byte(p[1] * inv), d[2] = to_byte(p[2] * inv);
            d[3] = to_byte(p[3]);
        }
    }
    free(pre);
    free(acc);
    free(mid);
    taps_free(&v);
    taps_free(&h);
    return 0;
fail:
    free(pre);
    free(acc);
    free(mid);
    taps_free(&v);
    taps_free(&h);
    return -1;
}

vs_frame *vs_frame_scaled(const vs_frame *src, int width, int height)
{
    vs_frame *dst = vs_frame_new(width, height);
    if (!dst)
        return NULL;
    if (vs_frame_scale_into(dst, src) < 0) {
        vs_frame_free(dst);
        return NULL;
    }
    return dst;
}
