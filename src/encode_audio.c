/*
 * encode_audio.c: the sound of a video file, one audio stream beside the
 * picture in the same muxer.
 *
 * The caller pushes interleaved float samples in any amounts; they are
 * converted (libswresample, sample format only: the rate and channels are
 * the stream's) into codec frames of the codec's frame size, numbered in
 * samples from 0, and each packet goes through av_interleaved_write_frame,
 * which orders audio and video packets by time in the file. The last frame
 * is sent short, never padded with silence: every codec we pick takes a
 * short last frame (AAC and Opus record the real length, FLAC codes it), so
 * the stream holds exactly the samples pushed; MP4's edit list removes
 * AAC's priming from the count (libavcodec's initial_padding), so a reader
 * gets them back exactly. A codec that wants whole frames gets the last
 * one padded with silence (said in the encoder's note).
 *
 * Deferred muxing (vs_audio_out_defer_muxing) lets the sound be encoded in
 * another thread than the muxer's, as the render engine's sound thread
 * does: packets, already in the stream's time base, wait in a locked FIFO
 * until the muxer's thread writes them (vs_audio_out_mux), so the muxer has
 * one writer and libavformat still interleaves by time. The FIFO holds what
 * the producer is ahead by; the render engine bounds that.
 *
 * vs_audio_writer is the same stream alone in a sound file (extract
 * --audio): the muxer over a private temporary (outfile.h), renamed at the
 * end, as every output is.
 *
 * Defaults: AAC for MP4, MOV and the rest, Opus for WebM and Matroska;
 * in sound files by extension: 16-bit PCM for .wav, FLAC for .flac, MP3
 * (libmp3lame) for .mp3, AAC for .m4a and .aac, Opus for .opus, .ogg, .mka;
 * FLAC in a segment of a render (segment_total > 0, except WebM, which
 * holds only Opus and Vorbis), so that concat can join the parts' sound
 * losslessly and encode it once. FLAC in MP4 is "experimental" to
 * libavformat 5 (the dfLa box; libav reads it back), allowed here for
 * those parts only.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/fifo.h>
#include <libavutil/samplefmt.h>
#include <libswresample/swresample.h>

#include "avio_fd.h"
#include "channels.h"
#include "encode.h"
#include "error.h"
#include "libav_log.h"
#include "outfile.h"
#include "vstudio.h"

struct vs_audio_out {
    const char *path;          /* the encoder's, for messages */
    AVFormatContext *fmt;      /* the encoder's muxer */
    AVStream *stream;
    AVCodecContext *codec;
    AVPacket *packet;
    AVFrame *frame;            /* the codec frame being filled */
    SwrContext *swr;           /* interleaved float -> the codec's sample format */
    int channels;
    int frame_size;            /* samples per codec frame */
    int pad_last;              /* the codec takes only whole frames */
    int filled;                /* samples in frame */
    int64_t sent;              /* samples sent to the codec: the next frame's pts */

    /* Deferred muxing: packets the encoding thread made, for the muxer's thread. */
    AVFifo *waiting;           /* of AVPacket *, NULL when packets go to the muxer at once */
    pthread_mutex_t waiting_lock;
};

static int is_container(const AVOutputFormat *ofmt, const char *name)
{
    return strcmp(ofmt->name, name) == 0;
}

static const char *default_codec(const AVOutputFormat *ofmt, const vs_encoder_options *o)
{
    static const char *const by_muxer[][2] = {{"wav", "pcm_s16le"}, {"flac", "flac"}, {"mp3", "libmp3lame"},
                                              {"ipod", "aac"}, {"adts", "aac"}, {"opus", "libopus"}};
    for (size_t i = 0; i < sizeof by_muxer / sizeof *by_muxer; i++)
        if (is_container(ofmt, by_muxer[i][0]))
            return by_muxer[i][1];
    int webm = is_container(ofmt, "webm");
    if (o->segment_total > 0 && !webm)
        return "flac";
    return webm || is_container(ofmt, "matroska") || is_container(ofmt, "ogg") ? "libopus" : "aac";
}

/* Float when the codec takes it (AAC, Opus), else the widest integers. */
static enum AVSampleFormat pick_sample_fmt(const AVCodec *codec)
{
    static const enum AVSampleFormat order[] = {AV_SAMPLE_FMT_FLTP, AV_SAMPLE_FMT_FLT, AV_SAMPLE_FMT_S32,
                                                AV_SAMPLE_FMT_S32P, AV_SAMPLE_FMT_S16, AV_SAMPLE_FMT_S16P};
    if (!codec->sample_fmts)
        return AV_SAMPLE_FMT_FLT;
    for (size_t i = 0; i < sizeof order / sizeof *order; i++)
        for (const enum AVSampleFormat *p = codec->sample_fmts; *p != AV_SAMPLE_FMT_NONE; p++)
            if (*p == order[i])
                return *p;
    return codec->sample_fmts[0];
}

static int check_rate(const AVCodec *codec, int rate, const char *path)
{
    if (!codec->supported_samplerates)
        return 0;
    char list[256] = "";
    for (const int *r = codec->supported_samplerates; *r; r++) {
        if (*r == rate)
            return 0;
        size_t n = strlen(list);
        snprintf(list + n, sizeof list - n, "%s%d", n ? " " : "", *r);
    }
    return vs_fail("%s: codec %s cannot encode sound at %d Hz (it takes: %s)", path, codec->name, rate, list);
}

/* A codec that lists its layouts (MP3: mono and stereo) and not vstudio's for the count is
 * refused here, naming what it takes, rather than downmixed behind the user's back. */
static int check_layout(const AVCodec *codec, int channels, const char *path)
{
    if (!codec->ch_layouts)
        return 0;
    AVChannelLayout want;
    vs_channel_layout(&want, channels);
    char list[256] = "";
    for (const AVChannelLayout *l = codec->ch_layouts; l->nb_channels; l++) {
        if (!av_channel_layout_compare(l, &want))
            return 0;
        size_t n = strlen(list);
        if (n + 2 < sizeof list)
            snprintf(list + n, sizeof list - n, "%s", n ? " " : "");
        n = strlen(list);
        av_channel_layout_describe(l, list + n, sizeof list - n);
    }
    return vs_fail("%s: codec %s cannot encode %d channels (it takes: %s; use --audio-channels or another codec)",
                   path, codec->name, channels, list);
}

static int configure(vs_audio_out *a, const AVCodec *codec, const vs_encoder_options *o)
{
    AVCodecContext *c = a->codec;
    c->sample_rate = o->audio_rate;
    c->sample_fmt = pick_sample_fmt(codec);
    vs_channel_layout(&c->ch_layout, o->audio_channels);
    c->time_base = (AVRational){1, o->audio_rate};
    if (o->audio_bit_rate > 0)
        c->bit_rate = o->audio_bit_rate;
    if (codec->id == AV_CODEC_ID_FLAC && c->sample_fmt == AV_SAMPLE_FMT_S32)
        c->bits_per_raw_sample = 24; /* finer than 16 bits: the parts of a join stay near the float samples */
    if (a->fmt->oformat->flags & AVFMT_GLOBALHEADER)
        c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    vs_av_reason_clear();
    int err = avcodec_open2(c, codec, NULL);
    if (err < 0)
        return vs_fail("%s: cannot open the audio encoder %s (%d Hz, %d channels): %s", a->path, codec->name,
                       o->audio_rate, o->audio_channels, vs_av_error(err));
    err = avcodec_parameters_from_context(a->stream->codecpar, c);
    if (err < 0)
        return vs_fail("%s: %s", a->path, vs_av_error(err));
    a->stream->time_base = c->time_base;
    int variable = (codec->capabilities & AV_CODEC_CAP_VARIABLE_FRAME_SIZE) != 0;
    a->frame_size = c->frame_size > 0 ? c->frame_size : 1024;
    a->pad_last = !variable && !(codec->capabilities & AV_CODEC_CAP_SMALL_LAST_FRAME);
    return 0;
}

static int make_frame_and_converter(vs_audio_out *a)
{
    AVCodecContext *c = a->codec;
    a->frame = av_frame_alloc();
    a->packet = av_packet_alloc();
    if (!a->frame || !a->packet)
        return vs_fail("%s: out of memory", a->path);
    a->frame->format = c->sample_fmt;
    a->frame->nb_samples = a->frame_size;
    a->frame->sample_rate = c->sample_rate;
    if (av_channel_layout_copy(&a->frame->ch_layout, &c->ch_layout) < 0 || av_frame_get_buffer(a->frame, 0) < 0)
        return vs_fail("%s: out of memory", a->path);
    int err = swr_alloc_set_opts2(&a->swr, &c->ch_layout, c->sample_fmt, c->sample_rate, &c->ch_layout,
                                  AV_SAMPLE_FMT_FLT, c->sample_rate, 0, NULL);
    if (err >= 0)
        err = swr_init(a->swr);
    if (err < 0)
        return vs_fail("%s: cannot convert sound to %s: %s", a->path, av_get_sample_fmt_name(c->sample_fmt),
                       vs_av_error(err));
    return 0;
}

int vs_audio_out_open(vs_audio_out **out, AVFormatContext *fmt, const char *path, const vs_encoder_options *o)
{
    *out = NULL;
    if (o->audio_channels < 1 || o->audio_channels > 8)
        return vs_fail("%s: %d audio channels is out of range (1..8)", path, o->audio_channels);
    if (o->audio_rate < 1000 || o->audio_rate > 768000)
        return vs_fail("%s: audio rate %d Hz is out of range (1000..768000)", path, o->audio_rate);
    const char *name = o->audio_codec && *o->audio_codec ? o->audio_codec : default_codec(fmt->oformat, o);
    const AVCodec *codec = vs_find_encoder(name, AVMEDIA_TYPE_AUDIO);
    if (!codec)
        return vs_fail("%s: unknown audio encoder '%s' (see ffmpeg -encoders: aac, libopus, flac, libmp3lame, ...)",
                       path, name);
    if (avformat_query_codec(fmt->oformat, codec->id, FF_COMPLIANCE_EXPERIMENTAL) == 0)
        return vs_fail("%s: the %s container cannot hold %s sound (use --audio-codec %s)", path, fmt->oformat->name,
                       codec->name, default_codec(fmt->oformat, &(vs_encoder_options){0}));
    if (check_rate(codec, o->audio_rate, path) < 0 || check_layout(codec, o->audio_channels, path) < 0)
        return -1;
    if (codec->id == AV_CODEC_ID_FLAC && (is_container(fmt->oformat, "mp4") || is_container(fmt->oformat, "mov")))
        fmt->strict_std_compliance = FF_COMPLIANCE_EXPERIMENTAL;

    vs_audio_out *a = calloc(1, sizeof *a);
    if (!a)
        return vs_fail("%s: out of memory", path);
    *out = a;
    a->path = path;
    a->fmt = fmt;
    a->channels = o->audio_channels;
    a->stream = avformat_new_stream(fmt, NULL);
    a->codec = avcodec_alloc_context3(codec);
    if (!a->stream || !a->codec)
        return vs_fail("%s: out of memory", path);
    if (configure(a, codec, o) < 0)
        return -1;
    return make_frame_and_converter(a);
}

static int write_packet(vs_audio_out *a, AVPacket *pkt)
{
    double at = (double)pkt->pts * av_q2d(a->stream->time_base);
    int err = av_interleaved_write_frame(a->fmt, pkt);
    if (err >= 0 && a->fmt->pb && a->fmt->pb->error < 0)
        err = a->fmt->pb->error;
    if (err < 0)
        return vs_fail("%s: sound at %.3f s: write failed: %s", a->path, at, vs_av_error(err));
    return 0;
}

/* Leaves a copy of pkt for the muxer's thread. */
static int keep_packet(vs_audio_out *a, AVPacket *pkt)
{
    AVPacket *copy = av_packet_alloc();
    if (!copy)
        return vs_fail("%s: out of memory", a->path);
    av_packet_move_ref(copy, pkt);
    pthread_mutex_lock(&a->waiting_lock);
    int err = av_fifo_write(a->waiting, &copy, 1);
    pthread_mutex_unlock(&a->waiting_lock);
    if (err < 0) {
        av_packet_free(&copy);
        return vs_fail("%s: out of memory", a->path);
    }
    return 0;
}

/* Sends frame (NULL drains) and writes (or, deferred, keeps) the packets that come out. */
static int encode(vs_audio_out *a, AVFrame *frame)
{
    vs_av_reason_clear();
    int err = avcodec_send_frame(a->codec, frame);
    if (err < 0)
        return vs_fail("%s: sound at %.3f s: encoder: %s", a->path, (double)a->sent / a->codec->sample_rate,
                       vs_av_error(err));
    for (;;) {
        err = avcodec_receive_packet(a->codec, a->packet);
        if (err == AVERROR(EAGAIN) || err == AVERROR_EOF)
            return 0;
        if (err < 0)
            return vs_fail("%s: audio encoder: %s", a->path, vs_av_error(err));
        av_packet_rescale_ts(a->packet, a->codec->time_base, a->stream->time_base);
        a->packet->stream_index = a->stream->index;
        if ((a->waiting ? keep_packet(a, a->packet) : write_packet(a, a->packet)) < 0)
            return -1;
    }
}

int vs_audio_out_defer_muxing(vs_audio_out *a)
{
    if (a->waiting)
        return 0;
    a->waiting = av_fifo_alloc2(64, sizeof(AVPacket *), AV_FIFO_FLAG_AUTO_GROW);
    if (!a->waiting)
        return vs_fail("%s: out of memory", a->path);
    pthread_mutex_init(&a->waiting_lock, NULL);
    return 0;
}

/* The oldest packet waiting, or NULL. */
static AVPacket *next_waiting(vs_audio_out *a)
{
    AVPacket *pkt = NULL;
    pthread_mutex_lock(&a->waiting_lock);
    if (av_fifo_read(a->waiting, &pkt, 1) < 0)
        pkt = NULL;
    pthread_mutex_unlock(&a->waiting_lock);
    return pkt;
}

int vs_audio_out_mux(vs_audio_out *a, int64_t *failed_at)
{
    if (!a->waiting)
        return 0;
    AVPacket *pkt;
    while ((pkt = next_waiting(a))) {
        int rc = write_packet(a, pkt);
        if (rc < 0 && failed_at)
            *failed_at = av_rescale_q(pkt->pts, a->stream->time_base, (AVRational){1, a->codec->sample_rate});
        av_packet_free(&pkt);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* Drops the packets still waiting and ends deferred muxing. */
static void free_waiting(vs_audio_out *a)
{
    if (!a->waiting)
        return;
    AVPacket *pkt;
    while ((pkt = next_waiting(a)))
        av_packet_free(&pkt);
    av_fifo_freep2(&a->waiting);
    pthread_mutex_destroy(&a->waiting_lock);
}

/* Sends the frame's filled samples as the next frame. */
static int send_filled(vs_audio_out *a)
{
    a->frame->nb_samples = a->filled;
    a->frame->pts = a->sent;
    a->sent += a->filled;
    a->filled = 0;
    return encode(a, a->frame);
}

int vs_audio_out_push(vs_audio_out *a, const float *samples, int64_t n)
{
    while (n > 0) {
        if (a->filled == 0 && av_frame_make_writable(a->frame) < 0)
            return vs_fail("%s: out of memory", a->path);
        int k = a->frame_size - a->filled;
        if (k > n)
            k = (int)n;
        uint8_t *dst[AV_NUM_DATA_POINTERS];
        int planar = av_sample_fmt_is_planar(a->codec->sample_fmt);
        int step = av_get_bytes_per_sample(a->codec->sample_fmt) * (planar ? 1 : a->channels);
        for (int p = 0; p < (planar ? a->channels : 1); p++)
            dst[p] = a->frame->extended_data[p] + (size_t)a->filled * step;
        const uint8_t *src[1] = {(const uint8_t *)samples};
        int got = swr_convert(a->swr, dst, k, src, k);
        if (got != k)
            return vs_fail("%s: cannot convert sound: %s", a->path, got < 0 ? vs_av_error(got) : "short conversion");
        a->filled += k;
        samples += (size_t)k * a->channels;
        n -= k;
        if (a->filled == a->frame_size && send_filled(a) < 0)
            return -1;
    }
    return 0;
}

int vs_audio_out_finish(vs_audio_out *a)
{
    /* the encoding thread is done: the rest goes to the muxer at once */
    if (vs_audio_out_mux(a, NULL) < 0)
        return -1;
    free_waiting(a);
    if (a->filled > 0) {
        if (av_frame_make_writable(a->frame) < 0)
            return vs_fail("%s: out of memory", a->path);
        if (a->pad_last) {
            av_samples_set_silence(a->frame->extended_data, a->filled, a->frame_size - a->filled, a->channels,
                                   a->codec->sample_fmt);
            a->filled = a->frame_size;
        }
        if (send_filled(a) < 0)
            return -1;
    }
    return encode(a, NULL);
}

int64_t vs_audio_out_samples(const vs_audio_out *a) { return a->sent + a->filled; }

const char *vs_audio_out_path(const vs_audio_out *a) { return a->path; }

void vs_audio_out_free(vs_audio_out **a)
{
    if (!*a)
        return;
    free_waiting(*a);
    swr_free(&(*a)->swr);
    av_frame_free(&(*a)->frame);
    av_packet_free(&(*a)->packet);
    avcodec_free_context(&(*a)->codec);
    free(*a);
    *a = NULL;
}

/* ---- a sound file alone ---- */

struct vs_audio_writer {
    char *path;
    vs_outfile *out;           /* NULL once committed, or removed by a failed finish */
    int finished;              /* vs_audio_writer_finish succeeded: only the rename is left */
    AVFormatContext *fmt;
    vs_audio_out *audio;
};

void vs_audio_writer_abort(vs_audio_writer *w)
{
    if (!w)
        return;
    vs_audio_out_free(&w->audio);
    if (w->fmt)
        vs_avio_detach(w->fmt);
    avformat_free_context(w->fmt);
    vs_outfile_abort(w->out);
    free(w->path);
    free(w);
}

vs_audio_writer *vs_audio_writer_open(const char *path, int rate, int channels, const char *codec,
                                      int64_t bit_rate)
{
    vs_audio_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(path))) {
        free(w);
        vs_fail("%s: out of memory", path);
        return NULL;
    }
    const AVOutputFormat *ofmt = av_guess_format(NULL, path, NULL);
    if (!ofmt || (ofmt->flags & AVFMT_NOFILE) || ofmt->audio_codec == AV_CODEC_ID_NONE) {
        vs_fail("%s: cannot tell a sound format from the name (use .wav, .flac, .mp3, .m4a, .opus or .ogg)", path);
        goto fail;
    }
    vs_encoder_options o;
    vs_encoder_options_init(&o);
    o.audio_rate = rate;
    o.audio_channels = channels;
    o.audio_codec = codec;
    o.audio_bit_rate = bit_rate;
    int err = avformat_alloc_output_context2(&w->fmt, ofmt, NULL, path);
    if (err < 0) {
        vs_fail("%s: %s", path, vs_av_error(err));
        goto fail;
    }
    if (vs_audio_out_open(&w->audio, w->fmt, w->path, &o) < 0 || !(w->out = vs_outfile_create(path)))
        goto fail;
    if ((err = vs_avio_attach(w->fmt, vs_outfile_fd(w->out), 1)) < 0) {
        vs_fail("%s: %s", path, vs_av_error(err));
        goto fail;
    }
    vs_av_reason_clear();
    if ((err = vs_mux_write_header(w->fmt, rate)) < 0) {
        vs_fail("%s: the %s format cannot hold this sound: %s", path, ofmt->name, vs_av_error(err));
        goto fail;
    }
    return w;
fail:
    vs_audio_writer_abort(w);
    return NULL;
}

const char *vs_audio_writer_path(const vs_audio_writer *w) { return w->path; }

int vs_audio_writer_push(vs_audio_writer *w, const float *samples, int64_t n)
{
    if (n < 0 || (n > 0 && !samples))
        return vs_fail("%s: bad audio push (%lld samples)", w->path, (long long)n);
    return vs_audio_out_push(w->audio, samples, n);
}

int vs_audio_writer_finish(vs_audio_writer *w)
{
    if (w->finished)
        return 0;
    if (!w->out)
        return vs_fail("%s: the sound file already failed", w->path);
    int err = 0;
    if (vs_audio_out_finish(w->audio) < 0)
        goto fail;
    vs_av_reason_clear();
    if ((err = av_write_trailer(w->fmt)) < 0 || (err = vs_avio_detach(w->fmt)) < 0) {
        vs_fail("%s: cannot finish the file: %s", w->path, vs_av_error(err));
        goto fail;
    }
    if (vs_outfile_finish(w->out) < 0)
        goto fail;
    w->finished = 1;
    return 0;
fail:
    /* nothing of it is left; close or abort frees the rest */
    vs_outfile_abort(w->out);
    w->out = NULL;
    return -1;
}

int vs_audio_writer_close(vs_audio_writer *w)
{
    if (!w)
        return 0;
    if (vs_audio_writer_finish(w) < 0)
        goto fail;
    vs_outfile *out = w->out;
    w->out = NULL;
    if (vs_outfile_commit(out) < 0)
        goto fail;
    vs_audio_writer_abort(w); /* frees what is left; the file has its name */
    return 0;
fail:
    vs_audio_writer_abort(w);
    return -1;
}

int vs_mux_write_header(AVFormatContext *fmt, int audio_rate)
{
    static const char *const mp4_family[] = {"mp4", "mov", "ipod"};
    AVDictionary *opts = NULL;
    for (size_t i = 0; i < sizeof mp4_family / sizeof *mp4_family; i++) {
        if (strcmp(fmt->oformat->name, mp4_family[i]) != 0)
            continue;
        av_dict_set(&opts, "movflags", "+faststart", 0);
        if (audio_rate > 0)
            av_dict_set_int(&opts, "movie_timescale", audio_rate, 0);
    }
    int err = avformat_write_header(fmt, &opts);
    av_dict_free(&opts);
    return err;
}
