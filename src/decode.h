/*
 * decode.h: what decode.c gives the rest of the library beyond vstudio.h.
 */
#ifndef VS_DECODE_H
#define VS_DECODE_H

#include "vstudio.h"

/* vs_decoder_frame of the rectangle x, y, w, h of frame `index` (x and y on
 * the pixel format's chroma grid: even for 4:2:0), converted to RGBA at
 * out's size with the swscale filter `filter` (SWS_BICUBIC, SWS_AREA, ...):
 * crop and resize in the one conversion from the decoded planes, no
 * full-size RGBA frame between. Not for handles of shared decoders. */
int vs_decoder_frame_rect(vs_decoder *d, int64_t index, int x, int y, int w, int h, vs_frame *out, int filter);

#endif
