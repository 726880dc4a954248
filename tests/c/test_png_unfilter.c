/* test_png_unfilter.c: every unfilter level gives the bytes of the PNG
 * specification's own definition (written out again here, independently of
 * png_unfilter.c), for every filter type, 1..8 bytes per pixel, random rows
 * and widths that are and are not multiples of the vector size; the same
 * for runs of rows as an inflated PNG holds them (vs_png_unfilter_rows: the
 * two- and four-row Paeth kernels, where runs of Paeth rows start and end
 * anywhere, between rows of every other type). Single rows are allocated
 * at their exact size, and runs of rows as one block of exactly theirs, so
 * a sanitizer build sees any read or write past the end. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "png_unfilter.h"

static uint32_t seed = 12345;
static uint8_t rnd(void)
{
    seed = seed * 1103515245u + 12345u;
    return (uint8_t)(seed >> 16);
}

/* The specification's reconstruction, byte by byte (PNG 9.2, 9.4). */
static void reference(uint8_t *row, const uint8_t *prev, size_t n, size_t bpp, int type)
{
    for (size_t i = 0; i < n; i++) {
        int a = i >= bpp ? row[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0, pred = 0;
        if (type == 1)
            pred = a;
        else if (type == 2)
            pred = b;
        else if (type == 3)
            pred = (a + b) / 2;
        else if (type == 4) {
            int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
            pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
        }
        row[i] = (uint8_t)(row[i] + pred);
    }
}

/* Bytes: random, or long runs of extremes (where Paeth's ties and 8-bit
 * wrap-around live). */
static void fill(uint8_t *p, size_t n, int style)
{
    for (size_t i = 0; i < n; i++)
        p[i] = style == 0 ? rnd() : style == 1 ? (rnd() & 1 ? 0 : 255) : (uint8_t)(rnd() % 3 + 126);
}

static int same_as_reference(vs_unfilter_level level, size_t n, int bpp, int type, int style)
{
    uint8_t *filtered = malloc(n), *prev = malloc(n), *want = malloc(n), *got = malloc(n);
    int ok = filtered && prev && want && got;
    if (ok) {
        fill(filtered, n, style);
        fill(prev, n, style);
        memcpy(want, filtered, n);
        memcpy(got, filtered, n);
        reference(want, prev, n, (size_t)bpp, type);
        ok = vs_png_unfilter_at(level, got, prev, n, bpp, type) == 0 && !memcmp(want, got, n);
        if (!ok)
            printf("# level %d type %d bpp %d n %zu style %d differs\n", level, type, bpp, n, style);
    }
    free(filtered);
    free(prev);
    free(want);
    free(got);
    return ok;
}

/* count rows of the given types (type byte + n bytes each, allocated at
 * their exact size) through vs_png_unfilter_rows_at. */
static int rows_same_as_reference(vs_unfilter_level level, size_t n, int bpp, const int *types, size_t count,
                                  int style)
{
    size_t step = n + 1;
    uint8_t *prev = malloc(n), *want = malloc(count * n), *data = malloc(count * step);
    int ok = prev && want && data;
    if (ok) {
        fill(prev, n, style);
        fill(want, count * n, style);
        for (size_t y = 0; y < count; y++) {
            data[y * step] = (uint8_t)types[y];
            memcpy(data + y * step + 1, want + y * n, n);
            reference(want + y * n, y ? want + (y - 1) * n : prev, n, (size_t)bpp, types[y]);
        }
        ok = vs_png_unfilter_rows_at(level, data, count, prev, n, bpp) == 0;
        for (size_t y = 0; ok && y < count; y++)
            ok = !memcmp(want + y * n, data + y * step + 1, n);
        if (!ok) {
            printf("# rows: level %d bpp %d n %zu style %d types", level, bpp, n, style);
            for (size_t y = 0; y < count; y++)
                printf(" %d", types[y]);
            printf(" differ\n");
        }
    }
    free(prev);
    free(want);
    free(data);
    return ok;
}

int main(void)
{
    vs_unfilter_level best = vs_png_unfilter_best();
    printf("# best level here: %d\n", best);
    CHECK(best >= VS_UNFILTER_PLAIN);
    static const size_t widths[] = {1, 2, 3, 5, 7, 11, 15, 16, 17, 21, 31, 32, 33, 45, 63, 64, 65, 100, 1280};
    for (vs_unfilter_level level = VS_UNFILTER_BEST; level <= VS_UNFILTER_SSSE3; level++) {
        for (int type = 0; type <= 4; type++) {
            for (int bpp = 1; bpp <= 8; bpp++) {
                int ok = 1;
                for (size_t k = 0; k < sizeof widths / sizeof *widths; k++)
                    for (int style = 0; style < 3; style++)
                        ok &= same_as_reference(level, widths[k] * (size_t)bpp, bpp, type, style);
                for (int r = 0; r < 40; r++) /* random widths, some not whole pixels */
                    ok &= same_as_reference(level, 1 + rnd() % 600u + (rnd() & 1) * (size_t)bpp * 9, bpp, type,
                                            r % 3);
                printf("# level %d type %d bpp %d\n", level, type, bpp);
                CHECK(ok);
            }
        }
    }
    /* runs of Paeth rows (1 to 6, the kernels take 4 and 2) starting at
     * every place among rows of each other type */
    static const int runs[][7] = {
        {4, 4, 4, 4, 4, 4, -1}, {4, 4, 4, 4, 4, -1}, {4, 4, 4, 4, -1}, {4, 4, 4, -1}, {4, 4, -1}, {4, -1},
        {1, 4, 4, 4, 4, 2, -1}, {4, 4, 4, 3, 4, 4, -1}, {0, 4, 4, 4, 4, 4, -1}, {2, 4, 1, 4, 4, 4, -1},
    };
    for (vs_unfilter_level level = VS_UNFILTER_BEST; level <= VS_UNFILTER_SSSE3; level++) {
        for (int bpp = 1; bpp <= 8; bpp++) {
            int ok = 1;
            for (size_t r = 0; r < sizeof runs / sizeof *runs; r++) {
                size_t count = 0;
                while (runs[r][count] >= 0)
                    count++;
                int types[7];
                memcpy(types, runs[r], sizeof types);
                for (int other = 0; other <= 3; other++) {
                    for (size_t y = 0; y < count; y++) /* the non-Paeth rows take each other type */
                        types[y] = runs[r][y] == 4 ? 4 : (runs[r][y] + other) % 4;
                    for (size_t k = 0; k < sizeof widths / sizeof *widths; k++)
                        ok &= rows_same_as_reference(level, widths[k] * (size_t)bpp, bpp, types, count,
                                                     (int)(k % 3));
                }
            }
            for (int r = 0; r < 60; r++) { /* four Paeth rows, random widths around the kernels' limits */
                static const int paeth4[] = {4, 4, 4, 4};
                ok &= rows_same_as_reference(level, 1 + rnd() % 40u + (r & 1) * (rnd() % 700u), bpp, paeth4, 4,
                                             r % 3);
            }
            printf("# row runs: level %d bpp %d\n", level, bpp);
            CHECK(ok);
        }
    }
    /* a whole image row after row, each row's output the next one's prev */
    for (int bpp = 3; bpp <= 4; bpp++) {
        size_t n = 1919 * (size_t)bpp;
        uint8_t *rows = malloc(n * 9), *want = malloc(n * 9), *zero = calloc(1, n);
        for (size_t i = 0; i < n * 9; i++)
            rows[i] = rnd();
        memcpy(want, rows, n * 9);
        int ok = 1;
        for (int y = 0; y < 9; y++) {
            reference(want + n * y, y ? want + n * (y - 1) : zero, n, (size_t)bpp, y % 5);
            ok &= vs_png_unfilter(rows + n * y, y ? rows + n * (y - 1) : zero, n, bpp, y % 5) == 0;
        }
        CHECK(ok && !memcmp(rows, want, n * 9));
        free(rows);
        free(want);
        free(zero);
    }
    uint8_t byte = 0, up = 0;
    CHECK(vs_png_unfilter(&byte, &up, 1, 1, 5) == -1);
    CHECK(vs_png_unfilter(&byte, &up, 1, 1, 255) == -1);
    uint8_t bad[2] = {5, 0};
    CHECK(vs_png_unfilter_rows(bad, 1, &up, 1, 1) == -1);
    return check_status();
}
