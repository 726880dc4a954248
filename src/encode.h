/*
 * encode.h: the encoder's internals for the render engine (the public
 * encoder API is in vstudio.h).
 */
#ifndef VS_ENCODE_H
#define VS_ENCODE_H

#include <libavcodec/avcodec.h>

#include "vstudio.h"

/* Removes what enc wrote (its temporary, an image sequence's frames) and
 * fails every later push, but keeps enc's memory: workers still holding
 * its pictures may use them until they leave; vs_encoder_abort frees. */
void vs_encoder_discard(vs_encoder *enc);
/* The first half of vs_encoder_close, for a render's outputs to commit all
 * or none: drains the codec, writes the trailer and fsyncs the temporary
 * (an image sequence's folder), leaving only the rename to close. On
 * failure enc is discarded (nothing of it is left) and close or abort
 * frees it. */
int vs_encoder_finish(vs_encoder *enc);
/* The same for a sound file: vs_audio_writer_close then only renames. */
int vs_audio_writer_finish(vs_audio_writer *w);
/* 1 when vs_encoder_options.format = format names a sink: ours (y4m, raw,
 * png, jpg) or a libav muxer, by extension ("mkv") or name ("matroska"). */
int vs_encoder_format_known(const char *format);
/* 1 when the output (path, or format when not NULL) can carry an audio
 * stream: not y4m, raw, image sequences, gif, apng or animated webp. */
int vs_encoder_holds_sound(const char *path, const char *format);

/* An encoder of type (AVMEDIA_TYPE_VIDEO, _AUDIO) by its name ("libx264",
 * "libopus") or its format's ("h264", "opus": libavcodec's preferred
 * encoder for it); NULL if none. */
const AVCodec *vs_find_encoder(const char *name, enum AVMediaType type);

/* ---- encode_audio.c: the audio stream of a libav sink ---- */
struct AVFormatContext;
typedef struct vs_audio_out vs_audio_out;
/* Adds an audio stream to fmt (before its header) from o's audio_* fields:
 * rate, channels, codec (NULL: the container's default) and bit rate. An
 * unknown codec, one the container cannot hold or a rate the codec does
 * not take fail naming path. *out is set even on failure (free it). */
int vs_audio_out_open(vs_audio_out **out, struct AVFormatContext *fmt, const char *path,
                      const vs_encoder_options *o);
/* avformat_write_header with our muxer options: MP4-family files (mp4,
 * mov, m4a) get faststart (the index first, as players want it) and, when
 * they carry sound at audio_rate Hz (0: none), a movie timescale of that
 * rate, so the edit list that cuts AAC's priming and padding is exact to
 * the sample (the default 1 ms unit would cut up to 47 of the last samples).
 * Returns libav's error code. */
int vs_mux_write_header(struct AVFormatContext *fmt, int audio_rate);
/* Appends n interleaved float samples. */
int vs_audio_out_push(vs_audio_out *a, const float *samples, int64_t n);
/* Sends the short last frame and drains the codec (before the trailer),
 * after writing the packets still waiting from deferred muxing. */
int vs_audio_out_finish(vs_audio_out *a);
/* Deferred muxing, for encoding in another thread than the muxer's: from
 * now on push keeps its packets, and vs_audio_out_mux (the muxer's thread)
 * writes those made so far, in order. Only the FIFO between them is
 * shared; push and finish must not overlap. */
int vs_audio_out_defer_muxing(vs_audio_out *a);
/* A failing write sets *failed_at (if given) to the packet's first sample
 * (its pts at the sample rate, counted from the stream's start): the
 * packets made so far may run well past the pictures muxed. */
int vs_audio_out_mux(vs_audio_out *a, int64_t *failed_at);
/* Samples pushed so far. */
int64_t vs_audio_out_samples(const vs_audio_out *a);
/* The file the stream is in (a sound file's name), which its messages start with. */
const char *vs_audio_out_path(const vs_audio_out *a);
const char *vs_audio_writer_path(const vs_audio_writer *w);
void vs_audio_out_free(vs_audio_out **a);
/* The sound's stream of a video encoder, NULL when it has none. */
vs_audio_out *vs_encoder_audio(vs_encoder *enc);

#endif
