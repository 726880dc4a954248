/*
 * gif_palette.h: an RGBA frame to a 256-colour palette and indices for
 * the GIF encoder, by libimagequant (gif_palette.c).
 */
#ifndef VS_GIF_PALETTE_H
#define VS_GIF_PALETTE_H

#include <stdint.h>

#include "vstudio.h"

/* Quantizes frame into indices (frame->width bytes a row, linesize apart)
 * and palette (256 entries, 0xAARRGGBB as libav's PAL8 keeps them).
 * Thread-safe: every call has its own quantizer. */
int vs_gif_quantize(const vs_frame *frame, uint8_t *indices, int linesize, uint32_t *palette);

#endif
