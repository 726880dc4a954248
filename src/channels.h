/* channels.h - the channel layout vstudio gives a channel count (channels.c). */
#ifndef VS_CHANNELS_H
#define VS_CHANNELS_H

#include <libavutil/channel_layout.h>

/* The layout of `channels` channels everywhere vstudio's count-based sound meets libav (the
 * resampler's output, the encoders, the tempo filter): 1 mono, 2 stereo, 3 "3.0" (FL FR FC),
 * 4 "quad" (FL FR BL BR), 5 "5.0", 6 "5.1", 7 "6.1", 8 "7.1", which AAC, Opus (Vorbis order),
 * FLAC, PCM and Vorbis all take; above 8, libav's default for the count. */
void vs_channel_layout(AVChannelLayout *layout, int channels);

#endif
