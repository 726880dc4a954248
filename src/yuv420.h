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

#endif
