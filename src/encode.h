/*
 * encode.h: the encoder's internals for the render engine (the public
 * encoder API is in vstudio.h).
 */
#ifndef VS_ENCODE_H
#define VS_ENCODE_H

#include "vstudio.h"

/* Removes what enc wrote (its temporary, an image sequence's frames) and
 * fails every later push, but keeps enc's memory: workers still holding
 * its pictures may use them until they leave; vs_encoder_abort frees. */
void vs_encoder_discard(vs_encoder *enc);
/* 1 when vs_encoder_options.format = format names a sink: ours (y4m, raw,
 * png, jpg) or a libav muxer, by extension ("mkv") or name ("matroska"). */
int vs_encoder_format_known(const char *format);

#endif
