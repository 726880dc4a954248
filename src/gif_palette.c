/*
 * gif_palette.c: GIF's 256 colours chosen per frame by libimagequant.
 *
 * Every frame gets its own palette (a GIF may give each image a local
 * colour table, and libav's GIF encoder writes one whenever the palette
 * differs from the first frame's): a palette from this frame's own colours
 * fits it better than one palette for the whole clip, which is what
 * `ffmpeg -vf palettegen,paletteuse` makes, and needs no second pass over
 * the frames. libimagequant picks the colours (median cut refined by
 * k-means, in a perceptual space) and remaps with Floyd-Steinberg
 * dithering at full strength, so gradients do not band. The result is a
 * function of the frame alone: equal frames give equal palettes, so a
 * still stays still, and workers may quantize frames in any order.
 *
 * GIF transparency is one palette entry: pixels under half opacity become
 * that one transparent colour, the others opaque.
 */
#include <stdlib.h>
#include <string.h>

#include <libimagequant.h>

#include "error.h"
#include "gif_palette.h"

/* 1..10: libimagequant's trade of time for quality; 4 is its default. */
enum { GIF_SPEED = 4 };

/* A copy with alpha cut to 0 or 255 (transparent pixels all one colour),
 * or NULL when the frame has no pixel under full opacity. */
static uint8_t *one_bit_alpha(const vs_frame *f, int *failed)
{
    uint8_t *copy = NULL;
    *failed = 0;
    for (int y = 0; y < f->height; y++) {
        const uint8_t *row = f->data + (size_t)y * f->stride;
        for (int x = 0; x < f->width; x++) {
            if (row[x * 4 + 3] == 255)
                continue;
            if (!copy) {
                if (!(copy = malloc((size_t)f->width * f->height * 4))) {
                    *failed = 1;
                    return NULL;
                }
                for (int k = 0; k < f->height; k++)
                    memcpy(copy + (size_t)k * f->width * 4, f->data + (size_t)k * f->stride, (size_t)f->width * 4);
            }
            uint8_t *p = copy + ((size_t)y * f->width + x) * 4;
            if (p[3] < 128)
                memset(p, 0, 4);
            else
                p[3] = 255;
        }
    }
    return copy;
}

int vs_gif_quantize(const vs_frame *f, uint8_t *indices, int linesize, uint32_t *palette)
{
    int rc = -1, failed;
    uint8_t *cut = one_bit_alpha(f, &failed);
    void **rows = malloc((size_t)f->height * sizeof *rows);
    unsigned char **out = malloc((size_t)f->height * sizeof *out);
    liq_attr *attr = liq_attr_create();
    liq_image *image = NULL;
    liq_result *result = NULL;
    if (failed || !rows || !out || !attr) {
        vs_fail("out of memory for a %dx%d GIF frame", f->width, f->height);
        goto done;
    }
    for (int y = 0; y < f->height; y++) {
        rows[y] = cut ? cut + (size_t)y * f->width * 4 : f->data + (size_t)y * f->stride;
        out[y] = indices + (size_t)y * linesize;
    }
    liq_set_speed(attr, GIF_SPEED);
    liq_set_max_colors(attr, 256);
    if (!(image = liq_image_create_rgba_rows(attr, rows, f->width, f->height, 0)) ||
        liq_image_quantize(image, attr, &result) != LIQ_OK) {
        vs_fail("libimagequant could not make a palette for a %dx%d frame", f->width, f->height);
        goto done;
    }
    liq_set_dithering_level(result, 1.0f);
    if (liq_write_remapped_image_rows(result, image, out) != LIQ_OK) {
        vs_fail("libimagequant could not remap a %dx%d frame", f->width, f->height);
        goto done;
    }
    const liq_palette *pal = liq_get_palette(result);
    for (unsigned i = 0; i < 256; i++) {
        if (i >= pal->count) {
            palette[i] = 0xff000000u;
            continue;
        }
        liq_color c = pal->entries[i];
        uint32_t a = c.a < 128 ? 0 : 255;
        palette[i] = a << 24 | (uint32_t)c.r << 16 | (uint32_t)c.g << 8 | c.b;
    }
    rc = 0;
done:
    if (result)
        liq_result_destroy(result);
    if (image)
        liq_image_destroy(image);
    if (attr)
        liq_attr_destroy(attr);
    free(out);
    free(rows);
    free(cut);
    return rc;
}
