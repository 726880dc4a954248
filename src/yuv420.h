/*
 * yuv420.h: RGBA frames to 8-bit 4:2:0 YUV planes (BT.601 or BT.709,
 * limited or full range), for the encoder.
 */
#ifndef VS_YUV420_H
#define VS_YUV420_H

#include <stdint.h>

#include "vstudio.h"

typedef struct vs_yuv420_coeffs {
    int16_t yr, yg, yb, ur, ug, ub, vr, vg, vb; /* 15-bit fixed point */
    int32_t y_offset, c_offset;
} vs_yuv420_coeffs;

void vs_yuv420_coeffs_init(vs_yuv420_coeffs *c, int bt709, int full_range);

/* RGBA of even width and height (the encoder pads first) into planes[0..2],
 * ignoring alpha. Returns 1 when every pixel was opaque, else 0: the caller
 * that shows transparency over black flattens and converts again. */
int vs_rgba_to_yuv420(const vs_frame *src, const vs_yuv420_coeffs *c, uint8_t *const planes[3],
                      const int linesize[3]);

/* RGB input: 3 bytes a pixel, or 3 floats in [0, 1] (clipped, times 255,
 * rounded to the nearest with ties to even, as numpy.rint). */
typedef enum vs_rgb_type { VS_RGB_U8 = 0, VS_RGB_F32 = 1 } vs_rgb_type;
/* One row of width pixels as RGBA, alpha 255. */
void vs_rgb_row_to_rgba(const void *row, vs_rgb_type type, int width, uint8_t *rgba);
/* RGB rows `stride` bytes apart, even width and height, into planes as
 * vs_rgba_to_yuv420 converts them; -1 when out of memory. */
int vs_rgb_to_yuv420(const void *rgb, vs_rgb_type type, int width, int height, size_t stride,
                     const vs_yuv420_coeffs *c, uint8_t *const planes[3], const int linesize[3]);

/* JPEG's YCbCr (full-range BT.601) as the stream's limited-range BT.601
 * or BT.709, in place: [Y', Cb', Cr'] = m * [Y, Cb - 128, Cr - 128] +
 * (16, 128, 128), 16.16 fixed point (m[1][0] = m[2][0] = 0: chroma does
 * not depend on Y). */
typedef struct vs_jpeg_yuv_map {
    int32_t m[3][3];
} vs_jpeg_yuv_map;

void vs_jpeg_yuv_map_init(vs_jpeg_yuv_map *map, int bt709);
/* 4:2:0 planes of even width and height. */
void vs_jpeg_yuv_map_apply(const vs_jpeg_yuv_map *map, uint8_t *const planes[3], const int linesize[3], int width,
                           int height);

#endif
