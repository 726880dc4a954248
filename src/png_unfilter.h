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
/* Two consecutive rows (next's row above is row, once unfiltered): two
 * Paeth rows at 3 or 4 bytes per pixel go through together, about twice as
 * fast; anything else is two vs_png_unfilter calls. 0, or -1 for a bad type. */
int vs_png_unfilter_pair(uint8_t *row, uint8_t *next, const uint8_t *prev, size_t n, int bpp, int type,
                         int next_type);
int vs_png_unfilter_pair_at(vs_unfilter_level level, uint8_t *row, uint8_t *next, const uint8_t *prev, size_t n,
                            int bpp, int type, int next_type);
/* The level VS_UNFILTER_BEST means here. */
vs_unfilter_level vs_png_unfilter_best(void);

#endif
