/*
 * draw.c: anti-aliased shapes and gradients on RGBA frames.
 *
 * Every shape is a coverage function: for each pixel the fraction of it
 * the shape covers (0..1), which scales the colour's alpha before a
 * straight-alpha "over" blend into the frame. Rectangles take the exact
 * area overlap per axis; circles and thick lines the distance from the
 * pixel centre to the shape's edge (a one-pixel ramp); polygons take the
 * exact area by signed-area accumulation (see vs_draw_polygon), non-zero
 * winding. Only the shape's bounding box is visited. Paths (polylines with
 * joins and caps) are FreeType's stroker's outline of the points, filled
 * by FreeType's exact-area rasterizer: the same coverage as polygons.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_OUTLINE_H
#include FT_STROKER_H

#include "error.h"
#include "vstudio.h"

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

void vs_draw_rounded_rect(vs_frame *f, double x, double y, double w, double h, double radius, uint8_t r,
                          uint8_t g, uint8_t b, uint8_t a)
{
    double rad = fmin(radius, fmin(w, h) / 2);
    if (!(rad > 0)) {
        vs_draw_rect(f, x, y, w, h, r, g, b, a);
        return;
    }
    int x0, y0, x1, y1;
    if (!clip_box(f, x, y, x + w, y + h, &x0, &y0, &x1, &y1))
        return;
    const uint8_t c[4] = {r, g, b, a};
    /* the corners' circle centres */
    double lx = x + rad, rx = x + w - rad, ty = y + rad, by = y + h - rad;
    for (int py = y0; py < y1; py++) {
        double cy = fmin(py + 1.0, y + h) - fmax((double)py, y);
        double pcy = py + 0.5, dy = pcy < ty ? ty - pcy : pcy > by ? pcy - by : 0;
        uint8_t *row = f->data + (size_t)py * f->stride;
        for (int px = x0; px < x1; px++) {
            double cov = (fmin(px + 1.0, x + w) - fmax((double)px, x)) * cy;
            double pcx = px + 0.5, dx = pcx < lx ? lx - pcx : pcx > rx ? pcx - rx : 0;
            if (dx > 0 && dy > 0) /* in a corner: the distance to its arc */
                cov = fmin(cov, clamp01(rad - sqrt(dx * dx + dy * dy) + 0.5));
            blend_cov(row + px * 4, c, cov);
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

/* Polygons: the signed-area accumulation of font rasterizers (font-rs,
 * FreeType's "gray" raster). Each edge adds, to every cell it passes, the
 * winding it carries (+-1 per unit of height) times the part of the cell
 * right of it; summing a row from the left then gives each pixel its
 * covered area times the winding, and the coverage is that clamped to 1
 * (non-zero winding; only a pixel where regions of opposite winding meet is
 * approximated). The work is the edges' length in cells: O(n + cells), not
 * O(n) per scanline. acc has (span + 2) cells per row of the clipped box. */
typedef struct poly_acc {
    float *acc;
    int span, rows;
    double ox, oy; /* the box's top-left in frame coordinates */
} poly_acc;

/* One edge in box coordinates, x within [0, span]. */
static void acc_edge(poly_acc *p, double ax, double ay, double bx, double by)
{
    if (ay == by || fmin(ay, by) >= p->rows || fmax(ay, by) <= 0)
        return;
    double dir = 1.0;
    if (ay > by) {
        double t = ax;
        ax = bx, bx = t;
        t = ay;
        ay = by, by = t;
        dir = -1.0;
    }
    double dxdy = (bx - ax) / (by - ay);
    double x = ax;
    if (ay < 0)
        x -= ay * dxdy;
    int y0 = ay < 0 ? 0 : (int)ay;
    int y1 = by > p->rows ? p->rows : (int)ceil(by);
    size_t stride = (size_t)p->span + 2;
    for (int y = y0; y < y1; y++) {
        float *row = p->acc + (size_t)y * stride;
        double dy = fmin(y + 1.0, by) - fmax((double)y, ay);
        double xnext = x + dxdy * dy;
        double d = dy * dir;
        /* (rounding may step a hair outside the box) */
        double x0 = fmax(fmin(x, xnext), 0.0), x1 = fmin(fmax(x, xnext), (double)p->span);
        double x0floor = floor(x0), x1ceil = ceil(x1);
        int x0i = (int)x0floor, x1i = (int)x1ceil;
        if (x1i <= x0i + 1) {
            double xmf = 0.5 * (x + xnext) - x0floor;
            row[x0i] += (float)(d - d * xmf);
            row[x0i + 1] += (float)(d * xmf);
        } else {
            double s = 1.0 / (x1 - x0);
            double x0f = x0 - x0floor;
            double a0 = 0.5 * s * (1.0 - x0f) * (1.0 - x0f);
            double x1f = x1 - x1ceil + 1.0;
            double am = 0.5 * s * x1f * x1f;
            row[x0i] += (float)(d * a0);
            if (x1i == x0i + 2) {
                row[x0i + 1] += (float)(d * (1.0 - a0 - am));
            } else {
                double a1 = s * (1.5 - x0f);
                row[x0i + 1] += (float)(d * (a1 - a0));
                for (int xi = x0i + 2; xi < x1i - 1; xi++)
                    row[xi] += (float)(d * s);
                double a2 = a1 + (x1i - x0i - 3) * s;
                row[x1i - 1] += (float)(d * (1.0 - a2 - am));
            }
            row[x1i] += (float)(d * am);
        }
        x = xnext;
    }
}

/* An edge in frame coordinates: the parts left or right of the box become
 * vertical edges on its sides, which carry the same winding to the pixels
 * inside (what lies right of the box is never summed into them). */
static void acc_clipped_edge(poly_acc *p, double ax, double ay, double bx, double by)
{
    ax -= p->ox, bx -= p->ox, ay -= p->oy, by -= p->oy;
    const double side[2] = {0.0, (double)p->span};
    for (int k = 0; k < 2; k++) {
        double e = side[k];
        if ((ax < e) != (bx < e) && ax != e && bx != e) {
            double ye = ay + (e - ax) * (by - ay) / (bx - ax);
            acc_clipped_edge(p, ax + p->ox, ay + p->oy, e + p->ox, ye + p->oy);
            acc_clipped_edge(p, e + p->ox, ye + p->oy, bx + p->ox, by + p->oy);
            return;
        }
    }
    ax = fmin(fmax(ax, 0.0), side[1]);
    bx = fmin(fmax(bx, 0.0), side[1]);
    acc_edge(p, ax, ay, bx, by);
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
    poly_acc p = {NULL, x1 - x0, y1 - y0, x0, y0};
    size_t stride = (size_t)p.span + 2;
    if (!(p.acc = calloc(stride * (size_t)p.rows, sizeof *p.acc)))
        return vs_fail("out of memory drawing a polygon of %d points", n);
    for (int i = 0; i < n; i++) {
        int j = (i + 1) % n;
        acc_clipped_edge(&p, xy[2 * i], xy[2 * i + 1], xy[2 * j], xy[2 * j + 1]);
    }
    const uint8_t c[4] = {r, g, b, a};
    for (int py = 0; py < p.rows; py++) {
        const float *row = p.acc + (size_t)py * stride;
        uint8_t *out = f->data + (size_t)(py + y0) * f->stride + (size_t)x0 * 4;
        double sum = 0.0;
        for (int px = 0; px < p.span; px++) {
            sum += row[px];
            blend_cov(out + px * 4, c, fabs(sum));
        }
    }
    free(p.acc);
    return 0;
}

/* FreeType's rasterizer calls this with runs of pixels of one coverage;
 * its rows count up from the frame's bottom (the outline's y is flipped). */
typedef struct span_target {
    vs_frame *f;
    uint8_t c[4];
} span_target;

static void blend_spans(int y, int count, const FT_Span *spans, void *user)
{
    span_target *t = user;
    int row = t->f->height - 1 - y;
    if (row < 0 || row >= t->f->height)
        return;
    uint8_t *d = t->f->data + (size_t)row * t->f->stride;
    for (int i = 0; i < count; i++) {
        unsigned cv = spans[i].coverage * t->c[3] + 128;
        unsigned sa = (cv + (cv >> 8)) >> 8;
        int x0 = spans[i].x < 0 ? 0 : spans[i].x;
        int x1 = spans[i].x + spans[i].len > t->f->width ? t->f->width : spans[i].x + spans[i].len;
        for (int x = x0; x < x1; x++)
            blend(d + x * 4, t->c[0], t->c[1], t->c[2], sa);
    }
}

int vs_draw_path(vs_frame *f, const double *xy, int n, int closed, double width, vs_line_join join,
                 vs_line_cap cap, double miter_limit, uint8_t r, uint8_t g, uint8_t b, uint8_t a)
{
    static const FT_Stroker_LineJoin joins[] = {FT_STROKER_LINEJOIN_MITER_FIXED, FT_STROKER_LINEJOIN_ROUND,
                                                FT_STROKER_LINEJOIN_BEVEL};
    static const FT_Stroker_LineCap caps[] = {FT_STROKER_LINECAP_BUTT, FT_STROKER_LINECAP_ROUND,
                                              FT_STROKER_LINECAP_SQUARE};
    if (n < 2 || n > 32767) /* FT_Outline counts points in shorts */
        return vs_fail("a path needs 2 to 32767 points, got %d", n);
    if (!(width > 0 && width < 1e5))
        return vs_fail("path width must be in (0, 100000), got %g", width);
    if ((unsigned)join > VS_JOIN_BEVEL || (unsigned)cap > VS_CAP_SQUARE)
        return vs_fail("path join %d or cap %d is not one of vs_line_join, vs_line_cap", (int)join, (int)cap);
    if (!(miter_limit >= 1 && miter_limit <= 1000))
        return vs_fail("path miter limit must be in 1..1000, got %g", miter_limit);
    for (int i = 0; i < 2 * n; i++)
        if (!(fabs(xy[i]) < 1e6))
            return vs_fail("point %d is not a finite number within a million pixels", i / 2 + 1);
    FT_Library lib = NULL; /* a few microseconds: one per call keeps drawing free of shared state */
    FT_Stroker stroker = NULL;
    FT_Outline line = {0}, border = {0};
    int rc = -1;
    if (FT_Init_FreeType(&lib) || FT_Stroker_New(lib, &stroker) || FT_Outline_New(lib, n, 1, &line)) {
        vs_fail("out of memory drawing a path of %d points", n);
        goto done;
    }
    /* 26.6 points, y up; repeated points are dropped (the stroker needs a direction) */
    int m = 0;
    for (int i = 0; i < n; i++) {
        FT_Vector v = {(FT_Pos)lround(xy[2 * i] * 64), (FT_Pos)lround((f->height - xy[2 * i + 1]) * 64)};
        if (m > 0 && v.x == line.points[m - 1].x && v.y == line.points[m - 1].y)
            continue;
        line.points[m] = v;
        line.tags[m++] = FT_CURVE_TAG_ON;
    }
    if (closed && m > 2 && line.points[m - 1].x == line.points[0].x && line.points[m - 1].y == line.points[0].y)
        m--;
    if (m < 2) { /* one point: what its cap would draw */
        double hw = width / 2;
        if (cap == VS_CAP_ROUND)
            vs_draw_circle(f, xy[0], xy[1], hw, r, g, b, a);
        else if (cap == VS_CAP_SQUARE)
            vs_draw_rect(f, xy[0] - hw, xy[1] - hw, width, width, r, g, b, a);
        rc = 0;
        goto done;
    }
    line.n_points = (short)m;
    line.contours[0] = (short)(m - 1);
    FT_Stroker_Set(stroker, (FT_Fixed)lround(width * 32), caps[cap], joins[join], (FT_Fixed)lround(miter_limit * 65536));
    FT_UInt np, nc;
    if (FT_Stroker_ParseOutline(stroker, &line, !closed) || FT_Stroker_GetCounts(stroker, &np, &nc) ||
        FT_Outline_New(lib, np, nc, &border)) {
        vs_fail("cannot stroke a path of %d points", n);
        goto done;
    }
    border.n_points = border.n_contours = 0;
    FT_Stroker_Export(stroker, &border);
    span_target t = {f, {r, g, b, a}};
    FT_Raster_Params params = {0};
    params.source = &border;
    params.flags = FT_RASTER_FLAG_AA | FT_RASTER_FLAG_DIRECT | FT_RASTER_FLAG_CLIP;
    params.gray_spans = blend_spans;
    params.user = &t;
    params.clip_box = (FT_BBox){0, 0, f->width, f->height};
    if (FT_Outline_Render(lib, &border, &params)) {
        vs_fail("cannot rasterize a path of %d points", n);
        goto done;
    }
    rc = 0;
done:
    if (border.points)
        FT_Outline_Done(lib, &border);
    if (line.points)
        FT_Outline_Done(lib, &line);
    if (stroker)
        FT_Stroker_Done(stroker);
    if (lib)
        FT_Done_FreeType(lib);
    return rc;
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
