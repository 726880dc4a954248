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
 * Rows are filtered across into floats as the output rows below need them
 * (a ring of as many rows as the vertical filter spans), then summed down.
 * A vs_scaler keeps the weights and buffers for repeated frames of one size.
 */
#include <math.h>
#include <stdlib.h>

#include "error.h"
#include "vstudio.h"

/* One RGBA pixel as four floats: GCC and Clang compile arithmetic on it to
 * single SIMD instructions (their vector extension; no intrinsics needed). */
typedef float px4 __attribute__((vector_size(16)));

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

struct vs_scaler {
    int sw, sh, dw, dh;
    taps h, v;
    px4 *pre;    /* one source row, premultiplied */
    px4 *ring;   /* v.max horizontally filtered rows, indexed by source row % v.max */
    int *tag;    /* which source row each ring slot holds (-1: none) */
    const px4 **rows; /* the ring rows one output row sums */
};

void vs_scaler_free(vs_scaler *s)
{
    if (!s)
        return;
    taps_free(&s->h);
    taps_free(&s->v);
    free(s->pre), free(s->ring), free(s->tag), free(s->rows);
    free(s);
}

vs_scaler *vs_scaler_new(int src_width, int src_height, int dst_width, int dst_height)
{
    if (src_width <= 0 || src_height <= 0 || dst_width <= 0 || dst_height <= 0) {
        vs_fail("cannot scale %dx%d to %dx%d", src_width, src_height, dst_width, dst_height);
        return NULL;
    }
    vs_scaler *s = calloc(1, sizeof *s);
    if (!s) {
        vs_fail("out of memory for a scaler");
        return NULL;
    }
    s->sw = src_width, s->sh = src_height, s->dw = dst_width, s->dh = dst_height;
    if (taps_make(&s->h, s->sw, s->dw) < 0 || taps_make(&s->v, s->sh, s->dh) < 0)
        goto fail;
    s->pre = aligned_alloc(sizeof(px4), sizeof(px4) * (size_t)s->sw);
    s->ring = aligned_alloc(sizeof(px4), sizeof(px4) * (size_t)s->dw * (size_t)s->v.max);
    s->tag = malloc(sizeof(int) * (size_t)s->v.max);
    s->rows = malloc(sizeof(*s->rows) * (size_t)s->v.max);
    if (!s->pre || !s->ring || !s->tag || !s->rows) {
        vs_fail("out of memory scaling %dx%d to %dx%d", s->sw, s->sh, s->dw, s->dh);
        goto fail;
    }
    return s;
fail:
    vs_scaler_free(s);
    return NULL;
}

/* Source row y, premultiplied and filtered across, into ring slot out. */
static void filter_row(const vs_scaler *s, const vs_frame *src, int y, px4 *out)
{
    const uint8_t *row = src->data + (size_t)y * src->stride;
    px4 *pre = s->pre;
    for (int x = 0; x < s->sw; x++) {
        const uint8_t *p = row + x * 4;
        float a = p[3];
        pre[x] = (px4){p[0] * a, p[1] * a, p[2] * a, a};
    }
    const taps *h = &s->h;
    for (int x = 0; x < s->dw; x++) {
        const float *w = h->weights + (size_t)x * h->max;
        const px4 *p = pre + h->first[x];
        px4 c = {0, 0, 0, 0};
        for (int i = 0; i < h->count[x]; i++)
            c += w[i] * p[i];
        out[x] = c;
    }
}

int vs_scaler_run(vs_scaler *s, vs_frame *dst, const vs_frame *src)
{
    if (src->width != s->sw || src->height != s->sh || dst->width != s->dw || dst->height != s->dh)
        return vs_fail("scaler for %dx%d to %dx%d given %dx%d to %dx%d", s->sw, s->sh, s->dw, s->dh,
                       src->width, src->height, dst->width, dst->height);
    const taps *v = &s->v;
    for (int i = 0; i < v->max; i++)
        s->tag[i] = -1;
    const px4 **rows = s->rows;
    for (int y = 0; y < s->dh; y++) {
        const float *w = v->weights + (size_t)y * v->max;
        int n = v->count[y];
        for (int i = 0; i < n; i++) {
            /* the rows one output row needs lie in a window of v->max: a ring holds them */
            int sy = v->first[y] + i, slot = sy % v->max;
            px4 *m = s->ring + (size_t)slot * s->dw;
            if (s->tag[slot] != sy) {
                filter_row(s, src, sy, m);
                s->tag[slot] = sy;
            }
            rows[i] = m;
        }
        uint8_t *d = dst->data + (size_t)y * dst->stride;
        for (int x = 0; x < s->dw; x++, d += 4) {
            px4 p = {0, 0, 0, 0};
            for (int i = 0; i < n; i++)
                p += w[i] * rows[i][x];
            if (p[3] < 0.5f) {
                d[0] = d[1] = d[2] = d[3] = 0;
                continue;
            }
            float inv = 1.0f / p[3];
            d[0] = to_byte(p[0] * inv), d[1] = to_byte(p[1] * inv), d[2] = to_byte(p[2] * inv);
            d[3] = to_byte(p[3]);
        }
    }
    return 0;
}

int vs_frame_scale_into(vs_frame *dst, const vs_frame *src)
{
    vs_scaler *s = vs_scaler_new(src->width, src->height, dst->width, dst->height);
    if (!s)
        return -1;
    int ret = vs_scaler_run(s, dst, src);
    vs_scaler_free(s);
    return ret;
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
