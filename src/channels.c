/* channels.c - one rule for how many channels vstudio's sound has, and in which layout.
 *
 * The sound graph counts channels and does not name them; libav names them. A count becomes
 * a layout only here, so the resampler's output, the encoders and the filters agree, and a
 * file's own layout is remixed into vstudio's by libswresample (a 3.0 file maps channel by
 * channel; a 2.1 file's LFE is dropped, as by libswresample's default and ffmpeg -ac).
 * libav's own default for 3 and 4 (2.1 and 4.0) is not used: Opus refuses both, and they
 * would fold a centre or the back pair of a 3.0 or quad file into other channels. */
#include "channels.h"
#include "vstudio.h"

void vs_channel_layout(AVChannelLayout *layout, int channels)
{
    static const AVChannelLayout by_count[VS_MAX_CHANNELS] = {
        AV_CHANNEL_LAYOUT_MONO, AV_CHANNEL_LAYOUT_STEREO,    AV_CHANNEL_LAYOUT_SURROUND, AV_CHANNEL_LAYOUT_QUAD,
        AV_CHANNEL_LAYOUT_5POINT0_BACK, AV_CHANNEL_LAYOUT_5POINT1_BACK, AV_CHANNEL_LAYOUT_6POINT1,
        AV_CHANNEL_LAYOUT_7POINT1};
    if (channels >= 1 && channels <= VS_MAX_CHANNELS)
        *layout = by_count[channels - 1];
    else
        av_channel_layout_default(layout, channels);
}

int vs_sound_channels(int own)
{
    if (own < 1)
        return 2; /* the file does not say: stereo, which keeps all of a mono or stereo file */
    return own > VS_MAX_CHANNELS ? VS_MAX_CHANNELS : own;
}
