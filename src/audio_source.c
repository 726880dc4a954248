/*
 * audio_source.c: one file's first audio stream as interleaved float
 * samples at a chosen rate and channel count, read by sample number.
 *
 * Length. Opening decodes the whole stream once (no conversion: about
 * 30 ms of CPU per minute of stereo AAC, half a sequential read) and
 * counts what the decoder delivers:
 * libavcodec applies the skip and discard side data the demuxers attach
 * (AAC priming, Opus pre-skip, Matroska's discard padding), and for MP4/MOV,
 * whose edit list ends the stream before the last frame's padding (a
 * 1.000 s AAC file decodes to 48128 samples, its edit list says 48000),
 * the stream's duration caps the count. The length at the output rate is
 * that count scaled (rounded to nearest). The same pass finds corrupt and
 * truncated streams, so they fail at open naming the time, and records a
 * sparse seek table: every half second, a decoded frame's timestamp and
 * its sample number.
 *
 * Reads go through a cache of BLOCKS blocks of BLOCK output samples (least
 * recently used goes first), so memory stays bounded whatever the file's
 * length. A block is made by the "stream": decoder -> libswresample ->
 * output samples, which continues from where the last block ended (the
 * common, sequential case) or restarts. A restart is sample-exact: it
 * seeks to the seek table's entry DECODE_PREROLL before the target
 * (decoders need the frames before: AAC's overlap, MP3's bit reservoir),
 * decodes and drops frames until the one with the entry's timestamp (so
 * its sample number is known, whatever the container's timestamp
 * rounding), then counts samples. With a rate change the resampler starts
 * RESAMPLE_MARGIN output samples early, at a source sample that maps onto
 * an output sample exactly, so its phase is the one of a read from the
 * start. Near the start, or without a usable entry, the file is reopened
 * and decoded from its first sample. The samples are then those of a read
 * from the start, except where the codec synthesizes noise (AAC's PNS
 * draws from a random state that a seek resets): other noise, as faint.
 *
 * Channels: a mono source is copied to every output channel at full level
 * (libswresample's default would lower it by 3 dB); others are rematrixed
 * by libswresample from their layout (unknown layouts: the default for the
 * channel count).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libavutil/samplefmt.h>
#include <libswresample/swresample.h>

#include "channels.h"
#include "error.h"
#include "libav_log.h"
#include "probe.h"
#include "vstudio.h"

enum {
    BLOCK = 8192,          /* output samples per cached block */
    BLOCKS = 16,           /* blocks kept: 128k samples, 1 MiB in stereo */
    RESAMPLE_MARGIN = 256, /* output samples resampled and dropped before a restart's target */
    MAX_CHANNELS = 64
};
/* seconds decoded and dropped before a restart's target */
#define DECODE_PREROLL 0.2
/* seconds between seek table entries */
#define SEEK_SPACING 0.5

typedef struct block {
    int64_t index;  /* block number, -1: empty */
    uint64_t used;  /* tick of the last read */
    float *data;    /* BLOCK * channels */
} block;

typedef struct seek_entry {
    int64_t pts;    /* a decoded frame's timestamp (stream time base) */
    int64_t pos;    /* its first sample's number, source rate */
} seek_entry;

struct vs_audio_source {
    char *path;
    int rate, channels;
    int src_rate;
    AVChannelLayout in_layout; /* the decoded frames' */
    enum AVSampleFormat in_fmt;

    AVFormatContext *fmt;
    int s;
    AVCodecContext *cc;
    AVPacket *pkt;
    AVFrame *frame;
    SwrContext *swr;
    int demux_done;            /* the decoder was sent its end */

    int64_t src_length;        /* source samples */
    int64_t length;            /* output samples */
    seek_entry *seeks;
    int n_seeks, cap_seeks;

    /* the stream */
    int64_t dec_pos;           /* source number of the next decoded sample, -1 before a restart's sync */
    int64_t src_next;          /* the source sample the resampler takes next */
    int64_t out_pos;           /* the output sample the stream gives next; -1: must restart */
    int held;                  /* frame holds a decoded frame not yet used */
    int ended;                 /* the resampler was flushed: only silence follows */
    float *pending;            /* resampled, not yet given out */
    int pending_n, pending_off, pending_cap;

    block blocks[BLOCKS];
    uint64_t tick;
};

/* ---- errors ---- */

static int fail_at(const vs_audio_source *a, int64_t src_pos, const char *what, int err)
{
    double t = src_pos >= 0 && a->src_rate > 0 ? (double)src_pos / a->src_rate : 0;
    return vs_fail("%s: %.3f s (sample %lld): %s (%s)", a->path, t,
                   (long long)av_rescale(src_pos < 0 ? 0 : src_pos, a->rate, a->src_rate > 0 ? a->src_rate : 1),
                   what, vs_av_error(err));
}

/* ---- the decoder ---- */

static void close_decoder(vs_audio_source *a)
{
    av_frame_free(&a->frame);
    av_packet_free(&a->pkt);
    avcodec_free_context(&a->cc);
    vs_probe_close_input(&a->fmt);
    a->held = 0;
    a->demux_done = 0;
}

/* Opens the file, its first audio stream and a decoder, at the start. */
static int open_decoder(vs_audio_source *a)
{
    if (vs_probe_open_media(a->path, "audio", &a->fmt, NULL) < 0)
        return -1;
    a->s = av_find_best_stream(a->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
    if (a->s < 0)
        return vs_fail("%s: has no audio stream", a->path);
    for (unsigned i = 0; i < a->fmt->nb_streams; i++)
        if ((int)i != a->s)
            a->fmt->streams[i]->discard = AVDISCARD_ALL;
    AVStream *st = a->fmt->streams[a->s];
    if (!a->channels)
        a->channels = vs_sound_channels(st->codecpar->ch_layout.nb_channels);
    const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
    if (!codec) {
        const AVCodecDescriptor *d = avcodec_descriptor_get(st->codecpar->codec_id);
        return vs_fail("%s: no decoder for the audio codec '%s'", a->path, d ? d->name : "unknown");
    }
    a->cc = avcodec_alloc_context3(codec);
    a->pkt = av_packet_alloc();
    a->frame = av_frame_alloc();
    if (!a->cc || !a->pkt || !a->frame)
        return vs_fail("%s: out of memory", a->path);
    int rc = avcodec_parameters_to_context(a->cc, st->codecpar);
    if (rc < 0)
        return fail_at(a, 0, "bad audio codec parameters", rc);
    a->cc->pkt_timebase = st->time_base; /* lets the skip of priming samples move the pts too */
    a->cc->thread_count = 1;
    if ((rc = avcodec_open2(a->cc, codec, NULL)) < 0)
        return fail_at(a, 0, "cannot open the audio decoder", rc);
    a->dec_pos = 0;
    return 0;
}

/* The next decoded frame into a->frame: 1, 0 at the end, -1 on error. */
static int next_frame(vs_audio_source *a)
{
    if (a->held) {
        a->held = 0;
        return 1;
    }
    for (;;) {
        vs_av_reason_clear();
        int rc = avcodec_receive_frame(a->cc, a->frame);
        if (rc == 0)
            return 1;
        if (rc == AVERROR_EOF)
            return 0;
        if (rc != AVERROR(EAGAIN))
            return fail_at(a, a->dec_pos, "corrupt audio, cannot decode", rc);
        rc = av_read_frame(a->fmt, a->pkt);
        if (rc == AVERROR_EOF) {
            avcodec_send_packet(a->cc, NULL);
            a->demux_done = 1;
            continue;
        }
        if (rc < 0)
            return fail_at(a, a->dec_pos, "cannot read the audio", rc);
        if (a->pkt->stream_index != a->s) {
            av_packet_unref(a->pkt);
            continue;
        }
        if (a->pkt->flags & AV_PKT_FLAG_CORRUPT) {
            /* a WAV's data chunk that ends before its header says: libav hands the rest as corrupt */
            av_packet_unref(a->pkt);
            return fail_at(a, a->dec_pos, "corrupt, or cut short", AVERROR_INVALIDDATA);
        }
        rc = avcodec_send_packet(a->cc, a->pkt);
        av_packet_unref(a->pkt);
        if (rc < 0 && rc != AVERROR(EAGAIN))
            return fail_at(a, a->dec_pos, "corrupt audio, cannot decode", rc);
    }
}

/* The first frame fixes what the resampler takes; a stream that changes
 * its rate, layout or sample format midway is refused, not misread. */
static int check_frame_format(vs_audio_source *a)
{
    AVFrame *f = a->frame;
    if (a->src_rate == 0) {
        if (f->sample_rate <= 0 || f->ch_layout.nb_channels <= 0 || f->ch_layout.nb_channels > MAX_CHANNELS)
            return vs_fail("%s: unsupported audio: %d Hz, %d channels", a->path, f->sample_rate,
                           f->ch_layout.nb_channels);
        a->src_rate = f->sample_rate;
        a->in_fmt = f->format;
        if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC) /* unnamed: vstudio's, channel by channel */
            vs_channel_layout(&a->in_layout, f->ch_layout.nb_channels);
        else if (av_channel_layout_copy(&a->in_layout, &f->ch_layout) < 0)
            return vs_fail("%s: out of memory", a->path);
        return 0;
    }
    if (f->sample_rate != a->src_rate || f->format != (int)a->in_fmt ||
        f->ch_layout.nb_channels != a->in_layout.nb_channels)
        return vs_fail("%s: %.3f s: the audio changes format midway (%d Hz %d channels, was %d Hz %d channels): "
                       "unsupported", a->path, (double)a->dec_pos / a->src_rate, f->sample_rate,
                       f->ch_layout.nb_channels, a->src_rate, a->in_layout.nb_channels);
    return 0;
}

/* ---- opening: the counting pass ---- */

static int add_seek(vs_audio_source *a, int64_t pts, int64_t pos)
{
    if (a->n_seeks == a->cap_seeks) {
        int cap = a->cap_seeks ? a->cap_seeks * 2 : 64;
        seek_entry *s = realloc(a->seeks, (size_t)cap * sizeof *s);
        if (!s)
            return vs_fail("%s: out of memory", a->path);
        a->seeks = s;
        a->cap_seeks = cap;
    }
    a->seeks[a->n_seeks++] = (seek_entry){pts, pos};
    return 0;
}

static int is_format(const AVFormatContext *fmt, const char *name)
{
    size_t n = strlen(name);
    return strncmp(fmt->iformat->name, name, n) == 0 && (!fmt->iformat->name[n] || fmt->iformat->name[n] == ',');
}

/* Decodes everything once: the exact count, the seek table, and the errors
 * of a damaged stream, found now rather than in the middle of a render. */
static int count_samples(vs_audio_source *a)
{
    AVStream *st = a->fmt->streams[a->s];
    if (is_format(a->fmt, "mov") && vs_media_check_complete(a->fmt, st, a->path) < 0)
        return -1;
    int64_t next_seek = 0;
    int rc;
    while ((rc = next_frame(a)) == 1) {
        if (check_frame_format(a) < 0)
            return -1;
        int64_t pts = a->frame->pts;
        if (pts != AV_NOPTS_VALUE && a->dec_pos >= next_seek) {
            if ((a->n_seeks == 0 || pts > a->seeks[a->n_seeks - 1].pts) && add_seek(a, pts, a->dec_pos) < 0)
                return -1;
            next_seek = a->dec_pos + (int64_t)(SEEK_SPACING * a->src_rate);
        }
        a->dec_pos += a->frame->nb_samples;
        av_frame_unref(a->frame);
    }
    if (rc < 0)
        return -1;
    if (a->src_rate == 0)
        return vs_fail("%s: the audio stream has no samples", a->path);
    a->src_length = a->dec_pos;
    int64_t stated = st->duration != AV_NOPTS_VALUE && st->duration > 0
                         ? av_rescale_q(st->duration, st->time_base, (AVRational){1, a->src_rate}) : -1;
    /* MP4/MOV: the edit list ends the stream before the last frame's padding */
    if (is_format(a->fmt, "mov") && stated > 0 && stated < a->src_length)
        a->src_length = stated;
    /* a FLAC header states the length exactly: less data is a cut copy */
    if (is_format(a->fmt, "flac") && stated > 0 && a->src_length < stated)
        return vs_fail("%s: %.3f s: cut short (the header says %.3f s of audio: an incomplete copy?)", a->path,
                       (double)a->src_length / a->src_rate, (double)stated / a->src_rate);
    a->length = av_rescale(a->src_length, a->rate, a->src_rate);
    return 0;
}

/* ---- the stream: decoder -> resampler ---- */

static int make_resampler(vs_audio_source *a)
{
    swr_free(&a->swr);
    AVChannelLayout out;
    vs_channel_layout(&out, a->channels);
    int rc = swr_alloc_set_opts2(&a->swr, &out, AV_SAMPLE_FMT_FLT, a->rate, &a->in_layout, a->in_fmt,
                                 a->src_rate, 0, NULL);
    if (rc >= 0 && a->in_layout.nb_channels == 1) {
        double matrix[MAX_CHANNELS];
        for (int c = 0; c < a->channels; c++)
            matrix[c] = 1.0;
        rc = swr_set_matrix(a->swr, matrix, 1);
    }
    if (rc >= 0)
        rc = swr_init(a->swr);
    av_channel_layout_uninit(&out);
    if (rc < 0) {
        char layout[64] = "";
        av_channel_layout_describe(&a->in_layout, layout, sizeof layout);
        return vs_fail("%s: cannot convert its %s sound (%d Hz, %s) to %d channels at %d Hz: %s", a->path, layout,
                       a->src_rate, av_get_sample_fmt_name(a->in_fmt), a->channels, a->rate, vs_av_error(rc));
    }
    return 0;
}

static int64_t gcd64(int64_t x, int64_t y)
{
    while (y) {
        int64_t t = x % y;
        x = y;
        y = t;
    }
    return x;
}

/* After a seek: decodes until the frame that starts at entry e (then held,
 * its sample number known). 1 found, 0 not (the seek went past it), -1. */
static int sync_to(vs_audio_source *a, const seek_entry *e)
{
    int rc;
    while ((rc = next_frame(a)) == 1) {
        if (a->frame->pts == e->pts) {
            a->dec_pos = e->pos;
            a->held = 1;
            return 1;
        }
        if (a->frame->pts != AV_NOPTS_VALUE && a->frame->pts > e->pts)
            break;
        av_frame_unref(a->frame);
    }
    av_frame_unref(a->frame);
    return rc < 0 ? -1 : 0;
}

/* Positions the stream to give output samples from at most out_target. */
static int restart(vs_audio_source *a, int64_t out_target)
{
    int64_t g = gcd64(a->rate, a->src_rate), out_period = a->rate / g, src_period = a->src_rate / g;
    int64_t o0 = out_target - (a->rate != a->src_rate ? RESAMPLE_MARGIN : 0);
    o0 = o0 < 0 ? 0 : o0 / out_period * out_period;
    int64_t s0 = o0 / out_period * src_period;
    int64_t from = s0 - (int64_t)(DECODE_PREROLL * a->src_rate);
    int k = -1;
    for (int i = 0; i < a->n_seeks && a->seeks[i].pos <= from; i++)
        k = i;
    a->out_pos = -1;
    a->held = 0;
    a->ended = 0;
    a->pending_n = a->pending_off = 0;
    int synced = 0;
    if (k > 0 && a->fmt) {
        vs_av_reason_clear();
        int rc = av_seek_frame(a->fmt, a->s, a->seeks[k].pts, AVSEEK_FLAG_BACKWARD);
        if (rc >= 0) {
            avcodec_flush_buffers(a->cc);
            a->demux_done = 0;
            if ((synced = sync_to(a, &a->seeks[k])) < 0)
                return -1;
        }
    }
    if (!synced) {
        close_decoder(a);
        if (open_decoder(a) < 0)
            return -1;
    }
    if (make_resampler(a) < 0)
        return -1;
    a->src_next = s0;
    a->out_pos = o0;
    return 0;
}

static int reserve_pending(vs_audio_source *a, int n)
{
    if (n <= a->pending_cap)
        return 0;
    float *p = realloc(a->pending, (size_t)n * a->channels * sizeof *p);
    if (!p)
        return vs_fail("%s: out of memory", a->path);
    a->pending = p;
    a->pending_cap = n;
    return 0;
}

/* Resamples in (count source samples; NULL flushes) into pending. */
static int convert(vs_audio_source *a, const uint8_t **in, int count)
{
    int cap = swr_get_out_samples(a->swr, count);
    if (cap < 0 || reserve_pending(a, cap + 1) < 0)
        return cap < 0 ? vs_fail("%s: resampler: %s", a->path, vs_av_error(cap)) : -1;
    uint8_t *out = (uint8_t *)a->pending;
    int got = swr_convert(a->swr, &out, cap + 1, in, count);
    if (got < 0)
        return vs_fail("%s: resampler: %s", a->path, vs_av_error(got));
    a->pending_n = got;
    a->pending_off = 0;
    return 0;
}

/* Refills pending with the next resampled samples; sets ended after the
 * last (pending may then be empty). */
static int refill(vs_audio_source *a)
{
    while (!a->ended) {
        int rc = a->src_next < a->src_length ? next_frame(a) : 0;
        if (rc < 0)
            return -1;
        if (rc == 0) {
            a->ended = 1;
            return convert(a, NULL, 0);
        }
        if (check_frame_format(a) < 0)
            return -1;
        AVFrame *f = a->frame;
        int64_t fpos = a->dec_pos;
        a->dec_pos += f->nb_samples;
        int64_t lo = fpos > a->src_next ? fpos : a->src_next;
        int64_t hi = fpos + f->nb_samples < a->src_length ? fpos + f->nb_samples : a->src_length;
        if (hi <= lo) {
            av_frame_unref(f);
            continue;
        }
        int skip = (int)(lo - fpos);
        int bps = av_get_bytes_per_sample(f->format);
        int planar = av_sample_fmt_is_planar(f->format);
        const uint8_t *in[MAX_CHANNELS];
        for (int p = 0; p < (planar ? f->ch_layout.nb_channels : 1); p++)
            in[p] = f->extended_data[p] + (size_t)skip * bps * (planar ? 1 : f->ch_layout.nb_channels);
        rc = convert(a, in, (int)(hi - lo));
        av_frame_unref(f);
        a->src_next = hi;
        if (rc < 0)
            return -1;
        if (a->pending_n > 0)
            return 0;
    }
    return 0;
}

/* The next n output samples of the stream into out (NULL: dropped);
 * silence once the stream has ended. */
static int produce(vs_audio_source *a, float *out, int64_t n)
{
    const int ch = a->channels;
    while (n > 0) {
        if (a->pending_off == a->pending_n && !a->ended && refill(a) < 0)
            return -1;
        int64_t k = a->pending_n - a->pending_off;
        if (k == 0) {
            if (out)
                memset(out, 0, (size_t)n * ch * sizeof *out);
            a->out_pos += n;
            return 0;
        }
        if (k > n)
            k = n;
        if (out) {
            memcpy(out, a->pending + (size_t)a->pending_off * ch, (size_t)k * ch * sizeof *out);
            out += k * ch;
        }
        a->pending_off += (int)k;
        a->out_pos += k;
        n -= k;
    }
    return 0;
}

/* ---- the block cache ---- */

static block *get_block(vs_audio_source *a, int64_t index)
{
    block *victim = &a->blocks[0];
    for (int i = 0; i < BLOCKS; i++) {
        block *b = &a->blocks[i];
        if (b->index == index) {
            b->used = ++a->tick;
            return b;
        }
        if (b->used < victim->used)
            victim = b;
    }
    int64_t start = index * BLOCK;
    int64_t n = a->length - start < BLOCK ? a->length - start : BLOCK;
    victim->index = -1;
    if (a->out_pos < 0 || a->out_pos > start || start - a->out_pos > BLOCK * 4) {
        if (restart(a, start) < 0)
            goto fail;
    }
    if (produce(a, NULL, start - a->out_pos) < 0 || produce(a, victim->data, n) < 0)
        goto fail;
    victim->index = index;
    victim->used = ++a->tick;
    return victim;
fail:
    a->out_pos = -1; /* the stream is in an unknown state: the next read restarts */
    return NULL;
}

/* ---- the API ---- */

vs_audio_source *vs_audio_source_open(const char *path, int rate, int channels)
{
    if (!path || !*path) {
        vs_fail("audio: no path");
        return NULL;
    }
    if (rate < 1000 || rate > 768000) {
        vs_fail("%s: audio rate %d Hz is out of range (1000..768000)", path, rate);
        return NULL;
    }
    if (channels < 0 || channels > VS_MAX_CHANNELS) {
        vs_fail("%s: %d audio channels is out of range (1..%d, 0: the file's own)", path, channels, VS_MAX_CHANNELS);
        return NULL;
    }
    vs_audio_source *a = calloc(1, sizeof *a);
    if (!a || !(a->path = strdup(path))) {
        free(a);
        vs_fail("%s: out of memory", path);
        return NULL;
    }
    a->rate = rate;
    a->channels = channels;
    a->out_pos = -1;
    for (int i = 0; i < BLOCKS; i++)
        a->blocks[i].index = -1;
    if (open_decoder(a) < 0) /* sets channels 0 to the stream's */
        goto fail;
    for (int i = 0; i < BLOCKS; i++) {
        if (!(a->blocks[i].data = malloc((size_t)BLOCK * a->channels * sizeof(float)))) {
            vs_fail("%s: out of memory", path);
            goto fail;
        }
    }
    if (count_samples(a) < 0)
        goto fail;
    return a;
fail:
    vs_audio_source_close(a);
    return NULL;
}

int64_t vs_audio_source_length(const vs_audio_source *src) { return src->length; }

int vs_audio_source_channels(const vs_audio_source *src) { return src->channels; }

int vs_audio_source_read(vs_audio_source *src, int64_t first, int64_t n, float *out)
{
    if (!src || n < 0 || (n > 0 && !out))
        return vs_fail("audio read: bad arguments");
    const int ch = src->channels;
    while (n > 0) {
        if (first < 0 || first >= src->length) {
            /* silence before the start and after the end */
            int64_t k = first < 0 ? (-first < n ? -first : n) : n;
            memset(out, 0, (size_t)k * ch * sizeof *out);
            out += k * ch;
            first += k;
            n -= k;
            continue;
        }
        int64_t index = first / BLOCK, off = first - index * BLOCK;
        block *b = get_block(src, index);
        if (!b)
            return -1;
        int64_t in_block = (src->length - index * BLOCK < BLOCK ? src->length - index * BLOCK : BLOCK) - off;
        int64_t k = in_block < n ? in_block : n;
        memcpy(out, b->data + off * ch, (size_t)k * ch * sizeof *out);
        out += k * ch;
        first += k;
        n -= k;
    }
    return 0;
}

void vs_audio_source_close(vs_audio_source *src)
{
    if (!src)
        return;
    close_decoder(src);
    swr_free(&src->swr);
    av_channel_layout_uninit(&src->in_layout);
    for (int i = 0; i < BLOCKS; i++)
        free(src->blocks[i].data);
    free(src->pending);
    free(src->seeks);
    free(src->path);
    free(src);
}
