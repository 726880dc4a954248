/*
 * text.c: UTF-8 text through FreeType, anti-aliased, measured.
 *
 * A vs_font is one face at one pixel size with its own FT_Library, so fonts
 * used by different worker threads share nothing. Text is laid out line by
 * line ('\n' breaks): glyph advances plus the face's kerning, lines
 * face-height apart; a text box is as wide as its widest line and lines are
 * aligned left, centred or right inside it. Glyphs are rendered to 8-bit
 * coverage by FreeType and blended "over" the frame in the text colour.
 * Bytes that are not valid UTF-8 show as U+FFFD.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <ft2build.h>
#include FT_FREETYPE_H

#include "error.h"
#include "vstudio.h"

struct vs_font {
    FT_Library lib;
    FT_Face face;
    int line_height; /* pixels */
    int ascent;      /* pixels from the line's top to its baseline */
};

vs_font *vs_font_open(const char *path, double size_px)
{
    if (!(size_px >= 1 && size_px <= 2000)) {
        vs_fail("font size %g is out of range (1..2000 pixels)", size_px);
        return NULL;
    }
    vs_font *font = calloc(1, sizeof *font);
    if (!font) {
        vs_fail("out of memory opening font %s", path);
        return NULL;
    }
    if (FT_Init_FreeType(&font->lib)) {
        vs_fail("cannot initialise FreeType");
        goto fail;
    }
    FT_Error err = FT_New_Face(font->lib, path, 0, &font->face);
    if (err) {
        vs_fail("%s: %s", path, err == FT_Err_Cannot_Open_Resource ? "cannot open the font file"
                                : "not a font FreeType can read (TTF, OTF, ...)");
        goto fail;
    }
    if (FT_Set_Char_Size(font->face, 0, (FT_F26Dot6)lround(size_px * 64), 72, 72)) {
        vs_fail("%s: cannot use size %g", path, size_px);
        goto fail;
    }
    const FT_Size_Metrics *m = &font->face->size->metrics;
    font->line_height = (int)((m->height + 63) >> 6);
    font->ascent = (int)((m->ascender + 63) >> 6);
    if (font->line_height <= 0)
        font->line_height = (int)ceil(size_px * 1.2);
    return font;
fail:
    vs_font_close(font);
    return NULL;
}

void vs_font_close(vs_font *font)
{
    if (!font)
        return;
    if (font->face)
        FT_Done_Face(font->face);
    if (font->lib)
        FT_Done_FreeType(font->lib);
    free(font);
}

int vs_font_line_height(const vs_font *font)
{
    return font->line_height;
}

/* Next code point of UTF-8 text at *s (advanced); malformed input gives U+FFFD. */
static uint32_t next_utf8(const char **s)
{
    const unsigned char *p = (const unsigned char *)*s;
    uint32_t c = p[0];
    int n = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : -1;
    if (n < 0) {
        *s += 1;
        return 0xFFFD;
    }
    c &= n == 0 ? 0x7F : 0x3F >> n;
    for (int i = 1; i <= n; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            *s += i;
            return 0xFFFD;
        }
        c = c << 6 | (p[i] & 0x3F);
    }
    *s += n + 1;
    static const uint32_t least[] = {0, 0x80, 0x800, 0x10000};
    if (c < least[n] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0xFFFD;
    return c;
}

/* Advance width in 26.6 of the line starting at s (to '\n' or the end). */
static long line_advance(vs_font *font, const char *s)
{
    long pen = 0;
    FT_UInt prev = 0;
    while (*s && *s != '\n') {
        FT_UInt gi = FT_Get_Char_Index(font->face, next_utf8(&s));
        if (prev && gi && FT_HAS_KERNING(font->face)) {
            FT_Vector k;
            if (!FT_Get_Kerning(font->face, prev, gi, FT_KERNING_DEFAULT, &k))
                pen += k.x;
        }
        if (!FT_Load_Glyph(font->face, gi, FT_LOAD_DEFAULT))
            pen += font->face->glyph->advance.x;
        prev = gi;
    }
    return pen;
}

int vs_text_measure(vs_font *font, const char *text, int *width, int *height)
{
    long widest = 0;
    int lines = 1;
    for (const char *s = text;; lines++) {
        long w = line_advance(font, s);
        if (w > widest)
            widest = w;
        s = strchr(s, '\n');
        if (!s)
            break;
        s++;
    }
    *width = (int)((widest + 63) >> 6);
    *height = lines * font->line_height;
    return 0;
}

static void blend_glyph(vs_frame *f, const FT_Bitmap *bm, int left, int top, const uint8_t c[4])
{
    for (unsigned gy = 0; gy < bm->rows; gy++) {
        int y = top + (int)gy;
        if (y < 0 || y >= f->height)
            continue;
        const uint8_t *src = bm->buffer + (long)gy * bm->pitch;
        uint8_t *row = f->data + (size_t)y * f->stride;
        for (unsigned gx = 0; gx < bm->width; gx++) {
            int x = left + (int)gx;
            if (x < 0 || x >= f->width || !src[gx])
                continue;
            unsigned t = src[gx] * c[3] + 128;
            unsigned sa = (t + (t >> 8)) >> 8;
            if (!sa)
                continue;
            uint8_t *d = row + x * 4;
            t = d[3] * (255 - sa) + 128;
            unsigned da = (t + (t >> 8)) >> 8, oa = sa + da;
            for (int k = 0; k < 3; k++)
                d[k] = (uint8_t)((c[k] * sa + d[k] * da + oa / 2) / oa);
            d[3] = (uint8_t)oa;
        }
    }
}

int vs_text_draw(vs_frame *frame, vs_font *font, const char *text, double x, double y,
                 vs_text_align align, uint8_t r, uint8_t g, uint8_t b, uint8_t a)
{
    if (align != VS_ALIGN_LEFT && align != VS_ALIGN_CENTER && align != VS_ALIGN_RIGHT)
        return vs_fail("text align must be VS_ALIGN_LEFT, VS_ALIGN_CENTER or VS_ALIGN_RIGHT, got %d",
                       (int)align);
    if (!(fabs(x) < 1e7 && fabs(y) < 1e7))
        return 0; /* far outside any frame (or not a number): nothing to draw */
    int box_w, box_h;
    vs_text_measure(font, text, &box_w, &box_h);
    const uint8_t c[4] = {r, g, b, a};
    int ox = (int)lround(x), oy = (int)lround(y);
    int line = 0;
    for (const char *s = text;; line++) {
        long adv = line_advance(font, s);
        long pen = (long)ox * 64;
        if (align == VS_ALIGN_CENTER)
            pen += ((long)box_w * 64 - adv) / 2;
        else if (align == VS_ALIGN_RIGHT)
            pen += (long)box_w * 64 - adv;
        int baseline = oy + line * font->line_height + font->ascent;
        FT_UInt prev = 0;
        while (*s && *s != '\n') {
            uint32_t cp = next_utf8(&s);
            FT_UInt gi = FT_Get_Char_Index(font->face, cp);
            if (prev && gi && FT_HAS_KERNING(font->face)) {
                FT_Vector k;
                if (!FT_Get_Kerning(font->face, prev, gi, FT_KERNING_DEFAULT, &k))
                    pen += k.x;
            }
            prev = gi;
            if (FT_Load_Glyph(font->face, gi, FT_LOAD_RENDER))
                continue;
            FT_GlyphSlot slot = font->face->glyph;
            blend_glyph(frame, &slot->bitmap, (int)((pen + 32) >> 6) + slot->bitmap_left,
                        baseline - slot->bitmap_top, c);
            pen += slot->advance.x;
        }
        if (!*s)
            break;
        s++;
    }
    return 0;
}
