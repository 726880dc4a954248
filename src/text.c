/*
 * text.c: drawing a text layout: fill, outline, drop shadow.
 *
 * FreeType renders each glyph of the layout to 8-bit coverage at its whole
 * pixel position (the fill); for an outline its stroker's outside border
 * (round joins) is rendered the same way. The coverages are kept in masks
 * over the text's region (glyphs overlapping take the larger coverage), the
 * shadow's mask being the text's silhouette moved by the offset and blurred
 * (three box passes, close to a Gaussian of sigma = blur / 2). Each pixel
 * then composes shadow, outline and fill (premultiplied "over"), scales by
 * the opacity and is blended "over" the frame: translucent layers show what
 * is under the text, not each other.
 *
 * The masks are kept in the layout and reused while the paint's shape
 * (outline width, shadow offset and blur, reveal) stays the same, so a
 * title drawn on every frame is rasterized once.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "text_layout.h"

#include FT_GLYPH_H

typedef struct vs_text_masks {
    double outline, shadow_x, shadow_y, blur;
    int shadow;
    int64_t reveal;
    int x0, y0, w, h; /* the region, from the box's top-left corner */
    uint8_t *fill, *stroke, *shade; /* w x h each; stroke and shade NULL when not drawn */
} vs_text_masks;

void vs_text_masks_free(vs_text_masks *m)
{
    if (!m)
        return;
    free(m->shade);
    free(m->stroke);
    free(m->fill);
    free(m);
}

typedef struct raster {
    FT_BitmapGlyph bm;
    int left, top; /* pixels from the box's top-left */
} raster;

/* Renders glyph g (stroked when stroker is given) to a bitmap; 0 on success. */
static int render_glyph(vs_font *font, const vs_placed_glyph *g, FT_Stroker stroker, raster *out)
{
    FT_Face face = font->faces[g->face].ft;
    FT_Glyph glyph;
    if (FT_Load_Glyph(face, g->glyph, FT_LOAD_NO_BITMAP | FT_LOAD_TARGET_LIGHT) || FT_Get_Glyph(face->glyph, &glyph))
        return -1;
    if (stroker && glyph->format == FT_GLYPH_FORMAT_OUTLINE && FT_Glyph_StrokeBorder(&glyph, stroker, 0, 1)) {
        FT_Done_Glyph(glyph);
        return -1;
    }
    if (FT_Glyph_To_Bitmap(&glyph, FT_RENDER_MODE_NORMAL, NULL, 1)) {
        FT_Done_Glyph(glyph);
        return -1;
    }
    out->bm = (FT_BitmapGlyph)glyph;
    out->left = (int)((g->x + 32) >> 6) + out->bm->left;
    out->top = (int)((g->y + 32) >> 6) - out->bm->top;
    return 0;
}

static void free_rasters(raster *r, int n)
{
    for (int i = 0; i < n; i++)
        FT_Done_Glyph((FT_Glyph)r[i].bm);
    free(r);
}

/* The glyphs shown, rendered (stroked or not); *n gets their count. */
static raster *render_all(vs_text_layout *l, FT_Stroker stroker, int64_t reveal, int *n)
{
    raster *r = malloc(((size_t)l->nglyphs + 1) * sizeof *r);
    *n = 0;
    if (!r)
        return NULL;
    for (int i = 0; i < l->nglyphs; i++) {
        if (reveal >= 0 && l->glyphs[i].cluster >= reveal)
            continue;
        /* a glyph FreeType cannot render is left out, as an empty one (a space) is */
        if (render_glyph(l->font, &l->glyphs[i], stroker, &r[*n]) < 0)
            continue;
        if (r[*n].bm->bitmap.rows > 0)
            (*n)++;
        else
            FT_Done_Glyph((FT_Glyph)r[*n].bm);
    }
    return r;
}

static void extend(int *x0, int *y0, int *x1, int *y1, const raster *r, int n)
{
    for (int i = 0; i < n; i++) {
        const FT_Bitmap *b = &r[i].bm->bitmap;
        if (r[i].left < *x0) *x0 = r[i].left;
        if (r[i].top < *y0) *y0 = r[i].top;
        if (r[i].left + (int)b->width > *x1) *x1 = r[i].left + (int)b->width;
        if (r[i].top + (int)b->rows > *y1) *y1 = r[i].top + (int)b->rows;
    }
}

/* Max-combines the bitmaps into mask m (region at x0, y0 of w x h). */
static void paint_mask(uint8_t *m, int x0, int y0, int w, const raster *r, int n)
{
    for (int i = 0; i < n; i++) {
        const FT_Bitmap *b = &r[i].bm->bitmap;
        for (unsigned y = 0; y < b->rows; y++) {
            const uint8_t *src = b->buffer + (long)y * b->pitch;
            uint8_t *dst = m + (size_t)(r[i].top - y0 + (int)y) * w + (r[i].left - x0);
            for (unsigned x = 0; x < b->width; x++)
                if (src[x] > dst[x])
                    dst[x] = src[x];
        }
    }
}

/* One box-blur pass of radius rad along rows (dx = 1) or columns (dx = w). */
static void box_pass(uint8_t *m, uint8_t *tmp, int len, int lines, int step, int line_step, int rad)
{
    int win = 2 * rad + 1;
    for (int j = 0; j < lines; j++) {
        uint8_t *p = m + (size_t)j * line_step;
        unsigned sum = 0;
        for (int i = 0; i < rad && i < len; i++)
            sum += p[(size_t)i * step];
        for (int i = 0; i < len; i++) {
            if (i + rad < len)
                sum += p[(size_t)(i + rad) * step];
            tmp[i] = (uint8_t)((sum + win / 2) / win);
            if (i - rad >= 0)
                sum -= p[(size_t)(i - rad) * step];
        }
        for (int i = 0; i < len; i++)
            p[(size_t)i * step] = tmp[i];
    }
}

static int blur(uint8_t *m, int w, int h, int rad)
{
    uint8_t *tmp = malloc((size_t)(w > h ? w : h));
    if (!tmp)
        return -1;
    for (int pass = 0; pass < 3; pass++) {
        box_pass(m, tmp, w, h, 1, w, rad);
        box_pass(m, tmp, h, w, w, 1, rad);
    }
    free(tmp);
    return 0;
}

static int box_radius(double blur_px)
{
    double sigma = blur_px / 2;
    return (int)lround((sqrt(4 * sigma * sigma + 1) - 1) / 2);
}

static int same_shape(const vs_text_masks *m, const vs_text_paint *p, int shadow)
{
    return m && m->outline == p->outline && m->shadow == shadow && m->reveal == p->reveal &&
           (!shadow || (m->shadow_x == p->shadow_x && m->shadow_y == p->shadow_y && m->blur == p->shadow_blur));
}

static vs_text_masks *make_masks(vs_text_layout *l, const vs_text_paint *p, int shadow)
{
    vs_text_masks *m = calloc(1, sizeof *m);
    raster *fill = NULL, *stroke = NULL;
    int nfill = 0, nstroke = 0;
    if (!m)
        goto oom;
    m->outline = p->outline, m->shadow = shadow, m->reveal = p->reveal;
    m->shadow_x = p->shadow_x, m->shadow_y = p->shadow_y, m->blur = p->shadow_blur;
    if (!(fill = render_all(l, NULL, p->reveal, &nfill)))
        goto oom;
    if (p->outline > 0) {
        vs_font *font = l->font;
        if (!font->stroker && FT_Stroker_New(font->lib, &font->stroker)) {
            font->stroker = NULL;
            goto oom;
        }
        FT_Stroker_Set(font->stroker, (FT_Fixed)lround(p->outline * 64), FT_STROKER_LINECAP_ROUND,
                       FT_STROKER_LINEJOIN_ROUND, 0);
        if (!(stroke = render_all(l, font->stroker, p->reveal, &nstroke)))
            goto oom;
    }
    int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
    extend(&x0, &y0, &x1, &y1, fill, nfill);
    extend(&x0, &y0, &x1, &y1, stroke, nstroke);
    int sx = (int)lround(p->shadow_x), sy = (int)lround(p->shadow_y), rad = box_radius(p->shadow_blur);
    if (shadow) { /* room for the shadow: the silhouette moved and spread by the blur */
        int gx0 = x0 + sx - 3 * rad, gy0 = y0 + sy - 3 * rad, gx1 = x1 + sx + 3 * rad, gy1 = y1 + sy + 3 * rad;
        x0 = gx0 < x0 ? gx0 : x0, y0 = gy0 < y0 ? gy0 : y0;
        x1 = gx1 > x1 ? gx1 : x1, y1 = gy1 > y1 ? gy1 : y1;
    }
    m->x0 = x0, m->y0 = y0, m->w = x1 - x0, m->h = y1 - y0;
    size_t area = (size_t)m->w * (size_t)m->h;
    if (area > (size_t)1 << 28) {
        vs_fail("text of %dx%d pixels (with outline and shadow) is too large to draw", m->w, m->h);
        goto fail;
    }
    if (!(m->fill = calloc(area + 1, 1)) || (stroke && !(m->stroke = calloc(area + 1, 1))) ||
        (shadow && !(m->shade = calloc(area + 1, 1))))
        goto oom;
    paint_mask(m->fill, x0, y0, m->w, fill, nfill);
    if (stroke)
        paint_mask(m->stroke, x0, y0, m->w, stroke, nstroke);
    if (shadow) {
        const uint8_t *sil = m->stroke ? m->stroke : m->fill;
        for (int y = 0; y < m->h; y++) {
            int ys = y - sy;
            if (ys < 0 || ys >= m->h)
                continue;
            for (int x = 0; x < m->w; x++) {
                int xs = x - sx;
                if (xs >= 0 && xs < m->w)
                    m->shade[(size_t)y * m->w + x] = sil[(size_t)ys * m->w + xs];
            }
        }
        if (rad > 0 && blur(m->shade, m->w, m->h, rad) < 0)
            goto oom;
    }
    free_rasters(fill, nfill);
    free_rasters(stroke, nstroke);
    return m;
oom:
    vs_fail("out of memory drawing text");
fail:
    free_rasters(fill, nfill);
    free_rasters(stroke, nstroke);
    vs_text_masks_free(m);
    return NULL;
}

/* Premultiplied "over" of layer colour c at coverage cov onto (pr, pg, pb, pa), all 0..1. */
static inline void over(float *px, const uint8_t c[4], unsigned cov)
{
    float a = (float)(cov * c[3]) * (1.0f / (255.0f * 255.0f));
    float k = 1.0f - a;
    px[0] = c[0] * (1.0f / 255.0f) * a + px[0] * k;
    px[1] = c[1] * (1.0f / 255.0f) * a + px[1] * k;
    px[2] = c[2] * (1.0f / 255.0f) * a + px[2] * k;
    px[3] = a + px[3] * k;
}

int vs_text_draw(vs_frame *frame, vs_text_layout *l, double x, double y, const vs_text_paint *p)
{
    if (!(p->opacity >= 0 && p->opacity <= 1))
        return vs_fail("text opacity must be in [0, 1], got %g", p->opacity);
    if (!(p->outline >= 0 && p->outline <= 1000) || !(p->shadow_blur >= 0 && p->shadow_blur <= 1000) ||
        !(fabs(p->shadow_x) <= 1e4 && fabs(p->shadow_y) <= 1e4))
        return vs_fail("text outline, shadow offset or blur is out of range (%g, %g, %g, %g)", p->outline,
                       p->shadow_x, p->shadow_y, p->shadow_blur);
    if (!(fabs(x) < 1e7 && fabs(y) < 1e7))
        return 0; /* far outside any frame (or not a number): nothing to draw */
    int shadow = p->shadow_color[3] > 0;
    if (!same_shape(l->masks, p, shadow)) {
        vs_text_masks_free(l->masks);
        if (!(l->masks = make_masks(l, p, shadow)))
            return -1;
    }
    const vs_text_masks *m = l->masks;
    int ox = (int)lround(x) + m->x0, oy = (int)lround(y) + m->y0;
    int x0 = ox < 0 ? -ox : 0, y0 = oy < 0 ? -oy : 0;
    int x1 = ox + m->w > frame->width ? frame->width - ox : m->w;
    int y1 = oy + m->h > frame->height ? frame->height - oy : m->h;
    float op = (float)p->opacity;
    for (int my = y0; my < y1; my++) {
        uint8_t *row = frame->data + (size_t)(oy + my) * frame->stride;
        size_t base = (size_t)my * m->w;
        for (int mx = x0; mx < x1; mx++) {
            size_t i = base + mx;
            unsigned f = m->fill[i], s = m->stroke ? m->stroke[i] : 0, sh = m->shade ? m->shade[i] : 0;
            if (!(f | s | sh))
                continue;
            float px[4] = {0, 0, 0, 0};
            if (sh)
                over(px, p->shadow_color, sh);
            if (s)
                over(px, p->outline_color, s);
            if (f)
                over(px, p->color, f);
            float sa = px[3] * op;
            if (sa <= 0)
                continue;
            uint8_t *d = row + (size_t)(ox + mx) * 4;
            /* premultiplied source over straight destination */
            float da = d[3] * (1.0f / 255.0f) * (1.0f - sa), oa = sa + da;
            for (int k = 0; k < 3; k++)
                d[k] = (uint8_t)((px[k] * op * 255.0f + d[k] * da) / oa + 0.5f);
            d[3] = (uint8_t)(oa * 255.0f + 0.5f);
        }
    }
    return 0;
}
