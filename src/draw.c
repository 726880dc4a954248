/*
 * draw.c: anti-aliased shapes and gradients on RGBA frames.
 *
 * Every shape is a coverage function: for each pixel the fraction of it
 * the shape covers (0..1), which scales the colour's alpha before a
 * straight-alpha "over" blend into the frame. Rectangles take the exact
 * area overlap per axis; circles and thick lines the distance from the
 * pixel centre to the shape's edge (a one-pixel ramp); polygons are
 * scan-converted on 16 sub-scanlines per row with exact horizontal
 * coverage, non-zero winding. Only the shape's bounding box is visited.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "vstudio.h"

#define SUBSAMPLES 16

/* Straight-alpha "over" of colour (r, g, b) with alpha sa (0..255) onto d. */
static inline void blend(uint8_t *d, unsigned r, unsigned g, unsigned b, unsigned sa)
{
    if (sa == 0)
        return;
    if (sa >= 255) {
        d[0] = (uint8_t)r, d[1] = (uint8_t)g, d[2] = (uint8_t)b, d[3] = 255;
        return;
    }
    unsigned t = d[3] * (255 - sa) + 128;
    unsigned da = (t + (t >> 8)) >> 8;
    unsigned oa = sa + da;
    d[0] = (uint8_t)((r * sa + d[0] * da + oa / 2) / oa);
    d[1] = (uint8_t)((g * sa + d[1] * da + oa / 2) / oa);
    d[2] = (uint8_t)((b * sa + d[2] * da + oa / 2) / oa);
    d[3] = (uint8_t)oa;
}

static inline void blend_cov(uint8_t *d, const uint8_t c[4], double cov)
{
    if (!(cov > 0.0)) /* also NaN from infinite coordinates */
        return;
    if (cov > 1.0)
        cov = 1.0;
    blend(d, c[0], c[1], c[2], (unsigned)(c[3] * cov + 0.5));
}

static inline double clamp01(double v)
{
    return v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v;
}

/* Clips a box [x0, x1) x [y0, y1) of pixel indices to the frame; 0 if empty. */
static int clip_box(const vs_frame *f, double fx0, double fy0, double fx1, double fy1, int *x0, int *y0,
                    int *x1, int *y1)
{
    if (!(fx0 < fx1 && fy0 < fy1)) /* also rejects NaN */
        return 0;
    *x0 = fx0 < 0 ? 0 : fx0 > f->width ? f->width : (int)floor(fx0);
    *y0 = fy0 < 0 ? 0 : fy0 > f->height ? f->height : (int)floor(fy0);
    *x1 = fx1 > f->width ? f->width : fx1 < 0 ? 0 : (int)ceil(fx1);
    *y1 = fy1 > f->height ? f->height : fy1 < 0 ? 0 : (int)ceil(fy1);
    return *x0 < *x1 && *y0 < *y1;
}

void vs_draw_rect(vs_frame *f, double x, double y, double w, double h, uint8_t r, uint8_t g, uint8_t b,
                  uint8_t a)
{
    int x0, y0, x1, y1;
    if (!clip_box(f, x, y, x + w, y + h, &x0, &y0, &x1, &y1))
        return;
    const uint8_t c[4] = {r, g, b, a};
    for (int py = y0; py < y1; py++) {
        double cy = fmin(py + 1.0, y + h) - fmax((double)py, y);
        uint8_t *row = f->data + (size_t)py * f->stride;
        for (int px = x0; px < x1; px++) {
            double cx = fmin(px + 1.0, x + w) - fmax((double)px, x);
            blend_cov(row + px * 4, c, cx * cy);
        }
    }
}

void vs_draw_circle(vs_frame *f, double cx, double cy, double radius, uint8_t r, uint8_t g, uint8_t b,
                    uint8_t a)
{
    int x0, y0, x1, y1;
    if (!(radius > 0) ||
        !clip_box(f, cx - radius - 1, cy - radius - 1, cx + radius + 1, cy + radius + 1, &x0, &y0, &x1, &y1))
        return;
    const uint8_t c[4] = {r, g, b, a};
    for (int py = y0; py < y1; py++) {
        uint8_t *row = f->data + (size_t)py * f->stride;
        double dy = py + 0.5 - cy;
        for (int px = x0; px < x1; px++) {
            double dx = px + 0.5 - cx;
            double d = sqrt(dx * dx + dy * dy);
            /* radii under a pixel: coverage cannot exceed the disc's area */
            double cov = clamp01(radius - d + 0.5);
            if (radius < 0.5)
                cov *= radius * 2;
            blend_cov(row + px * 4, c, cov);
        }
    }
}

void vs_draw_line(vs_frame *f, double x0, double y0, double x1, double y1, double width, uint8_t r,
                  uint8_t g, uint8_t b, uint8_t a)
{
    double hw = width / 2;
    int bx0, by0, bx1, by1;
    if (!(width > 0) || !clip_box(f, fmin(x0, x1) - hw - 1, fmin(y0, y1) - hw - 1, fmax(x0, x1) + hw + 1,
                                  fmax(y0, y1) + hw + 1, &bx0, &by0, &bx1, &by1))
        return;
    const uint8_t c[4] = {r, g, b, a};
    double vx = x1 - x0, vy = y1 - y0, len2 = vx * vx + vy * vy;
    /* hairlines keep a one-pixel footprint and fade with their width */
    double fade = width < 1 ? width : 1, reach = hw < 0.5 ? 0.5 : hw;
    for (int py = by0; py < by1; py++) {
        uint8_t *row = f->data + (size_t)py * f->stride;
        for (int px = bx0; px < bx1; px++) {
            double qx = px + 0.5 - x0, qy = py + 0.5 - y0;
            double t = len2 > 0 ? (qx * vx + qy * vy) / len2 : 0;
            t = clamp01(t);
            double dx = qx - t * vx, dy = qy - t * vy;
            double d = sqrt(dx * dx + dy * dy);
            blend_cov(row + px * 4, c, clamp01(reach - d + 0.5) * fade);
        }
    }
}

int vs_draw_polygon(vs_frame *f, const double *xy, int n, uint8_t r, uint8_t g, uint8_t b, uint8_t a)
{
    if (n < 3)
        return vs_fail("needs at least 3 points, got %d", n);
    double minx = xy[0], maxx = xy[0], miny = xy[1], maxy = xy[1];
    for (int i = 0; i < n; i++) {
        if (!isfinite(xy[2 * i]) || !isfinite(xy[2 * i + 1]))
            return vs_fail("point %d is not a finite number", i + 1);
        minx = fmin(minx, xy[2 * i]), maxx = fmax(maxx, xy[2 * i]);
        miny = fmin(miny, xy[2 * i + 1]), maxy = fmax(maxy, xy[2 * i + 1]);
    }
    int x0, y0, x1, y1;
    if (!clip_box(f, minx, miny, maxx, maxy, &x0, &y0, &x1, &y1))
        return 0;
    int span = x1 - x0;
    float *cov = calloc((size_t)span + 1, sizeof *cov);
    double *xs = malloc(sizeof *xs * (size_t)n);
    int *dir = malloc(sizeof *dir * (size_t)n);
    if (!cov || !xs || !dir) {
        free(cov), free(xs), free(dir);
        return vs_fail("out of memory drawing a polygon of %d points", n);
    }
    const uint8_t c[4] = {r, g, b, a};
    const float unit = 1.0f / SUBSAMPLES;
    for (int py = y0; py < y1; py++) {
        memset(cov, 0, sizeof *cov * ((size_t)span + 1));
        for (int s = 0; s < SUBSAMPLES; s++) {
            double sy = py + (s + 0.5) / SUBSAMPLES;
            int m = 0;
            for (int i = 0; i < n; i++) {
                double ax = xy[2 * i], ay = xy[2 * i + 1];
                int j = (i + 1) % n;
                double bx = xy[2 * j], by = xy[2 * j + 1];
                if ((ay <= sy) == (by <= sy))
                    continue;
                double x = ax + (sy - ay) * (bx - ax) / (by - ay);
                /* insertion sort by x: polygons are small */
                int k = m++;
                while (k > 0 && xs[k - 1] > x) {
                    xs[k] = xs[k - 1], dir[k] = dir[k - 1];
                    k--;
                }
                xs[k] = x, dir[k] = ay < by ? 1 : -1;
            }
            int wind = 0;
            for (int k = 0; k + 1 < m; k++) {
                wind += dir[k];
                if (wind == 0)
                    continue;
                /* inside on [xs[k], xs[k+1]): add exact coverage of the span */
                double l = fmax(xs[k], x0), rr = fmin(xs[k + 1], x1);
                if (l >= rr)
                    continue;
                int li = (int)floor(l), ri = (int)floor(rr);
                if (li == ri) {
                    cov[li - x0] += (float)(rr - l) * unit;
                    continue;
                }
                cov[li - x0] += (float)(li + 1 - l) * unit;
                for (int p = li + 1; p < ri; p++)
                    cov[p - x0] += unit;
                if (ri < x1)
                    cov[ri - x0] += (float)(rr - ri) * unit;
            }
        }
        uint8_t *row = f->data + (size_t)py * f->stride;
        for (int px = x0; px < x1; px++)
            blend_cov(row + px * 4, c, cov[px - x0]);
    }
    free(cov), free(xs), free(dir);
    return 0;
}

void vs_draw_gradient(vs_frame *f, double x0, double y0, double x1, double y1, const uint8_t *c0,
                      const uint8_t *c1)
{
    double vx = x1 - x0, vy = y1 - y0, len2 = vx * vx + vy * vy;
    /* t is linear in x along a row: step it instead of dividing per pixel */
    double dx = len2 > 0 ? vx / len2 : 0;
    for (int py = 0; py < f->height; py++) {
        uint8_t *d = f->data + (size_t)py * f->stride;
        double t = len2 > 0 ? ((0.5 - x0) * vx + (py + 0.5 - y0) * vy) / len2 : 0;
        for (int px = 0; px < f->width; px++, d += 4, t += dx) {
            unsigned w = t <= 0 ? 0 : t >= 1 ? 256 : (unsigned)(t * 256 + 0.5);
            for (int k = 0; k < 4; k++)
                d[k] = (uint8_t)((c0[k] * (256 - w) + c1[k] * w + 128) >> 8);
        }
    }
}
