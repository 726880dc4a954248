/*
 * font.h: what text_layout.c and text.c see of a vs_font (font.c).
 */
#ifndef VS_FONT_H
#define VS_FONT_H

#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_STROKER_H
#include <hb.h>
#include <fontconfig/fontconfig.h>

#include "vstudio.h"

#define VS_FONT_MAX_FACES 16

typedef struct vs_face {
    FT_Face ft;
    hb_font_t *hb; /* HarfBuzz's own (unhinted) metrics at the font's size, in 26.6 */
    char *path;
} vs_face;

struct vs_font {
    FT_Library lib;
    double size;
    int line_height; /* pixels */
    int ascent;      /* pixels from a line's top to its baseline */
    int nfaces;
    vs_face faces[VS_FONT_MAX_FACES]; /* [0] the font asked for, then fallbacks as text needs them */
    FcPattern *request;               /* the fontconfig pattern fallbacks are sorted by */
    FcFontSet *fallbacks;             /* its sorted candidates, made at the first missing character */
    FT_Stroker stroker;               /* text.c's, for outlines; made at the first one */
};

/* The face that has code point cp: 0 (the font's own) when it has it or
 * no installed font does. */
int vs_font_face_for(vs_font *font, uint32_t cp);

#endif
