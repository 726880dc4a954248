/*
 * png_unfilter.h: undoing PNG's row filters (None, Sub, Up, Average,
 * Paeth), with SSE2/SSSE3 code for 3 and 4 bytes per pixel picked at run
 * time and a plain C path that gives the same bytes.
 */
#ifndef VS_PNG_UNFILTER_H
#define VS_PNG_UNFILTER_H

#include <stddef.h>
#include <stdint.h>

/* Which code runs: the best the CPU has, or one level (for tests and
 * benchmarks; a level the CPU lacks runs the best one below it). */
typedef enum vs_unfilter_level {
    VS_UNFILTER_BEST = 0,
    VS_UNFILTER_PLAIN,   /* C, one byte at a time */
    VS_UNFILTER_SSE2,    /* every x86-64 */
    VS_UNFILTER_SSSE3,   /* pshufb: Sub at 3 bytes per pixel */
} vs_unfilter_level;

/* Undoes one row's filter in place: row holds n bytes (no filter byte),
 * prev the unfiltered row above (n zero bytes for the first row), bpp the
 * bytes per complete pixel (1..8; PNG's rule for depths below 8: 1).
 * Returns 0, or -1 for a filter type above 4. */
int vs_png_unfilter(uint8_t *row, const uint8_t *prev, size_t n, int bpp, int type);
int vs_png_unfilter_at(vs_unfilter_level level, uint8_t *row, const uint8_t *prev, size_t n, int bpp,
                       int type);
/* count rows as an inflated PNG holds them: each a filter type byte, then
 * its n bytes (data advances n + 1 a row), undone in order, prev the
 * unfiltered row above the first. Runs of Paeth rows at 3 or 4 bytes per
 * pixel go through two or four at a time, which is faster (see
 * png_unfilter.c); anything else goes row by row. 0, or -1 for a filter
 * type above 4 (the rows before it are done). */
int vs_png_unfilter_rows(uint8_t *data, size_t count, const uint8_t *prev, size_t n, int bpp);
int vs_png_unfilter_rows_at(vs_unfilter_level level, uint8_t *data, size_t count, const uint8_t *prev, size_t n,
                            int bpp);
/* The level VS_UNFILTER_BEST means here. */
vs_unfilter_level vs_png_unfilter_best(void);

#endif
