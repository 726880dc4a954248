/*
 * text_layout.h: what text.c sees of a vs_text_layout (text_layout.c).
 */
#ifndef VS_TEXT_LAYOUT_H
#define VS_TEXT_LAYOUT_H

#include "font.h"

typedef struct vs_placed_glyph {
    int face;
    unsigned glyph;
    int cluster;   /* byte offset in the text */
    int line;
    long x, y;     /* 26.6, x from the box's left edge, y the baseline from its top */
    long advance;  /* 26.6 */
} vs_placed_glyph;

struct vs_text_masks; /* text.c's rendered coverage, kept for the next draw */

struct vs_text_layout {
    vs_font *font;
    vs_placed_glyph *glyphs;
    int nglyphs;
    int width, height, lines; /* the box in pixels */
    struct vs_text_masks *masks;
};

#endif
