/*
 * decode.c: a video's frames as RGBA, one after another or by number.
 *
 * Sequential: demux the video stream, send packets, receive frames, convert
 * each with swscale (the stream's colour matrix and range; untagged streams
 * are read as BT.601 like ffmpeg does) into the caller's vs_frame.
 *
 * Random access is frame-exact: frame i is the frame whose presentation
 * timestamp is the i-th smallest of the stream (the frame index probe.c
 * builds and the probe cache keeps). To get it we seek to the keyframe at
 * or before it (by the keyframe's decode timestamp, which is what
 * demuxers seek by: its presentation timestamp lands a GOP late, or past
 * the end in the last GOP of an MPEG-TS with B-frames), flush the decoder
 * and decode forward, numbering every decoded frame by looking its
 * timestamp up in the index, so B-frames, open GOPs and decoder delay
 * never shift the numbering. A decoded frame the index does not list, or
 * a sequential read that skips one, is an error: decoder and index
 * disagree, and a frame is never delivered under another's number. If the
 * seek lands past the target (or at the end of the stream), we retry from
 * an earlier keyframe, and in the end from the start. The index is used
 * from the first frame when the probe cache holds it, so sequential and
 * random reads number alike. A request a little ahead
 * of the current position decodes forward without seeking, and a ring of
 * recently decoded frames (references, not copies) answers requests for
 * nearby frames again without decoding. On the way to a target, frames
 * shown before it that no other frame references are skipped (the
 * decoder's skip_frame, per packet), which the numbering by timestamp
 * allows. Streams without timestamps (some
 * AVI) have no index: random access there restarts from the beginning and
 * counts frames, exact but slow.
 *
 * Variable frame rate: vs_decoder_index_at maps a time to the frame shown
 * then (the last whose timestamp is at or before it), from the index,
 * which a VFR video loads at open.
 *
 * Threads: libavcodec's frame and slice threads (threads 0 = auto). A
 * decoder has no shared mutable state: different decoders may be used from
 * different threads at once; one decoder from one thread at a time.
 *
 * Shared decoders (vs_decoder_open_shared) are for the render engine, whose
 * workers all open the same videos and ask for nearby frames: one core
 * decoder per (path, threads) decodes each frame once, under its lock, into
 * a larger ring of references; each worker's handle converts its frames to
 * RGBA itself, in parallel. Without it every worker would decode every
 * frame of every video (frames between its chunks included).
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "decode.h"
#include "error.h"
#include "libav_log.h"
#include "probe.h"

/* Recently decoded frames kept for nearby requests: a few for one reader;
 * for a core shared by render workers, as many as the engine lets them run
 * apart (its window: 8 frames a core and 4 more), at most RING_SHARED. */
enum { RING = 8, RING_SHARED = 64 };
/* Decode forward instead of seeking when the target is at most this far ahead. */
enum { FORWARD_MAX = 32 };

struct vs_decoder {
    char *path;
    int threads;
    AVFormatContext *fmt;
    int s;
    AVCodecContext *cc;
    AVPacket *pkt;
    AVFrame *frame;
    struct SwsContext *sws;
    int sws_w, sws_h, sws_fmt, sws_cs, sws_range, sws_dw, sws_dh, sws_filter;
    vs_probe_info info;
    AVRational time_base; /* the video stream's, set at open */
    vs_index *index;
    int index_tried;
    int random;        /* random access used: keep the ring */
    int64_t next;      /* number of the next decoded frame, -1 unknown */
    int flushing;      /* the demuxer ended, the decoder is being drained */
    int64_t skip_before; /* packets shown before this pts may skip non-reference frames */
    int64_t want;      /* the frame being decoded for, named in errors; -1 none */
    int ended;
    AVFrame *ring[RING_SHARED];
    int64_t ring_idx[RING_SHARED];
    int ring_n;        /* ring slots in use: RING, or up to RING_SHARED for a core */
    int ring_pos;

    /* a shared core: its lock, users (under cores_lock) and place in the registry */
    int shared;        /* set before the core is published, read-only after */
    pthread_mutex_t lock;
    int refs;
    vs_decoder *next_core;
    /* a handle on a shared core: frames are located there, converted here */
    vs_decoder *core;
    AVFrame *held;
    int64_t pos;       /* vs_decoder_next's position through the core */
};

/* Shared cores by (path, threads): the one process-wide registry. */
static pthread_mutex_t cores_lock = PTHREAD_MUTEX_INITIALIZER;
static vs_decoder *cores;

static int av_fail(vs_decoder *d, const char *what, int err)
{
    if (d->want >= 0)
        return vs_fail("%s: frame %lld: %s (%s)", d->path, (long long)d->want, what, vs_av_error(err));
    return vs_fail("%s: %s (%s)", d->path, what, vs_av_error(err));
}

/* Opens the demuxer and decoder (again, for a restart from the beginning). */
static int open_streams(vs_decoder *d)
{
    if (vs_probe_open_input(d->path, &d->fmt, &d->s, NULL) < 0)
        return -1;
    d->time_base = d->fmt->streams[d->s]->time_base;
    for (unsigned i = 0; i < d->fmt->nb_streams; i++)
        if ((int)i != d->s)
            d->fmt->streams[i]->discard = AVDISCARD_ALL;
    AVCodecParameters *par = d->fmt->streams[d->s]->codecpar;
    const AVCodec *codec = avcodec_find_decoder(par->codec_id);
    if (!codec) {
        const AVCodecDescriptor *cd = avcodec_descriptor_get(par->codec_id);
        return vs_fail("%s: no decoder for the video codec '%s'", d->path, cd ? cd->name : "unknown");
    }
    if (!(d->cc = avcodec_alloc_context3(codec)))
        return vs_fail("%s: out of memory", d->path);
    int rc = avcodec_parameters_to_context(d->cc, par);
    if (rc < 0)
        return av_fail(d, "bad codec parameters", rc);
    d->cc->pkt_timebase = d->fmt->streams[d->s]->time_base;
    d->cc->thread_count = d->threads;
    d->cc->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
    if ((rc = avcodec_open2(d->cc, codec, NULL)) < 0)
        return av_fail(d, "cannot open the decoder", rc);
    d->next = 0;
    d->flushing = d->ended = 0;
    d->skip_before = INT64_MIN;
    return 0;
}

static void close_streams(vs_decoder *d)
{
    avcodec_free_context(&d->cc);
    vs_probe_close_input(&d->fmt);
}

/* Back to the first frame by reopening: exact for any stream. */
static int restart(vs_decoder *d)
{
    close_streams(d);
    if (open_streams(d) < 0) {
        close_streams(d);
        return -1;
    }
    return 0;
}

vs_decoder *vs_decoder_open(const char *path, int threads)
{
    if (!path) {
        vs_fail("decoder: path is required");
        return NULL;
    }
    vs_decoder *d = calloc(1, sizeof *d);
    if (!d || !(d->path = strdup(path))) {
        free(d);
        vs_fail("%s: out of memory", path);
        return NULL;
    }
    d->threads = threads < 0 ? 0 : threads;
    d->ring_n = RING;
    d->want = -1;
    for (int i = 0; i < RING_SHARED; i++)
        d->ring_idx[i] = -1;
    if (open_streams(d) < 0)
        goto fail;
    if (!(d->pkt = av_packet_alloc()) || !(d->frame = av_frame_alloc())) {
        vs_fail("%s: out of memory", path);
        goto fail;
    }
    /* the exact frame count and, when the cache has it, the frame index;
     * otherwise the index waits for the first seek, so sequential readers
     * never scan for it, except in a VFR video, which needs it for time */
    if (vs_probe_index(path, 1, &d->info, &d->index, VS_INDEX_AT_HAND) < 0)
        goto fail;
    if (!d->index && d->info.vfr) {
        vs_probe_info info;
        if (vs_probe_index(path, 1, &info, &d->index, VS_INDEX_BUILD) < 0)
            goto fail;
    }
    if (d->index && d->index->n != d->info.frames) {
        vs_index_free(d->index);
        d->index = NULL;
    }
    /* a VFR index is set here and never after: handles read it unlocked */
    d->index_tried = d->index != NULL || d->info.vfr;
    return d;
fail:
    vs_decoder_close(d);
    return NULL;
}

static void release_core(vs_decoder *core);

void vs_decoder_close(vs_decoder *d)
{
    if (!d)
        return;
    if (d->core)
        release_core(d->core);
    av_frame_free(&d->held);
    for (int i = 0; i < RING_SHARED; i++)
        av_frame_free(&d->ring[i]);
    sws_freeContext(d->sws);
    av_frame_free(&d->frame);
    av_packet_free(&d->pkt);
    close_streams(d);
    vs_index_free(d->index);
    free(d->path);
    free(d);
}

int vs_decoder_info(const vs_decoder *d, vs_probe_info *info)
{
    if (!d || !info)
        return vs_fail("decoder: no decoder");
    *info = d->info;
    return 0;
}

/* The next decoded frame into d->frame: 0, 1 at the end, -1 on error. */
static int decode_one(vs_decoder *d)
{
    for (;;) {
        int rc = avcodec_receive_frame(d->cc, d->frame);
        if (rc == 0)
            return 0;
        if (rc == AVERROR_EOF) {
            d->ended = 1;
            return 1;
        }
        if (rc != AVERROR(EAGAIN))
            return av_fail(d, "decoding failed", rc);
        if (d->flushing)
            return av_fail(d, "the decoder stalled while draining", rc);
        rc = av_read_frame(d->fmt, d->pkt);
        if (rc < 0) {
            /* the end, or a damaged tail: drain what was decoded (as ffmpeg does) */
            d->flushing = 1;
            if ((rc = avcodec_send_packet(d->cc, NULL)) < 0 && rc != AVERROR_EOF)
                return av_fail(d, "decoding failed", rc);
            continue;
        }
        if (d->pkt->stream_index == d->s && d->pkt->size > 0) {
            /* on the way to a seek target, frames nothing refers to and
             * nobody wants need not be decoded (the decoder reads this per
             * packet, also with frame threads) */
            int skip = d->pkt->pts != AV_NOPTS_VALUE && d->pkt->pts < d->skip_before;
            d->cc->skip_frame = skip ? AVDISCARD_NONREF : AVDISCARD_DEFAULT;
            rc = avcodec_send_packet(d->cc, d->pkt);
            /* a damaged packet is skipped, as ffmpeg skips it */
            if (rc < 0 && rc != AVERROR_INVALIDDATA && rc != AVERROR(EAGAIN)) {
                av_packet_unref(d->pkt);
                return av_fail(d, "decoding failed", rc);
            }
        }
        av_packet_unref(d->pkt);
    }
}

/* The number of the frame in d->frame into *out: by its timestamp when
 * there is an index (one the index does not list is an error), else by
 * counting; updates d->next. */
static int number_frame(vs_decoder *d, int64_t *out)
{
    int64_t idx = -1;
    if (d->index) {
        int64_t t = d->frame->pts != AV_NOPTS_VALUE ? d->frame->pts : d->frame->best_effort_timestamp;
        int64_t lo = 0, hi = d->index->n - 1;
        while (lo <= hi) {
            int64_t mid = lo + (hi - lo) / 2;
            if (d->index->pts[mid] < t)
                lo = mid + 1;
            else if (d->index->pts[mid] > t)
                hi = mid - 1;
            else {
                idx = mid;
                break;
            }
        }
        if (idx < 0)
            return vs_fail("%s: the decoder delivered a frame at pts %lld that the frame index does not list: "
                           "decoder and index disagree (damaged timestamps?)",
                           d->path, (long long)t);
    } else {
        idx = d->next;
    }
    d->next = idx >= 0 ? idx + 1 : -1;
    *out = idx;
    return 0;
}

static void remember(vs_decoder *d, int64_t idx)
{
    if (!d->random || idx < 0)
        return;
    int k = d->ring_pos;
    if (!d->ring[k] && !(d->ring[k] = av_frame_alloc()))
        return;
    av_frame_unref(d->ring[k]);
    if (av_frame_ref(d->ring[k], d->frame) < 0) {
        d->ring_idx[k] = -1;
        return;
    }
    d->ring_idx[k] = idx;
    d->ring_pos = (k + 1) % d->ring_n;
}

/* RGBA conversion of f into out with f's colour matrix and range, scaled
 * to out's size with the swscale filter `filter`. */
static int convert(vs_decoder *d, const AVFrame *f, vs_frame *out, int filter)
{
    if (!out || !out->data)
        return vs_fail("%s: no output frame", d->path);
    int cs = f->colorspace;
    if (cs == AVCOL_SPC_UNSPECIFIED || cs == AVCOL_SPC_RESERVED || cs == AVCOL_SPC_RGB)
        cs = SWS_CS_DEFAULT;
    int full = f->color_range == AVCOL_RANGE_JPEG;
    if (!d->sws || d->sws_w != f->width || d->sws_h != f->height || d->sws_fmt != f->format ||
        d->sws_cs != cs || d->sws_range != full || d->sws_dw != out->width || d->sws_dh != out->height ||
        d->sws_filter != filter) {
        sws_freeContext(d->sws);
        d->sws = sws_getContext(f->width, f->height, f->format, out->width, out->height, AV_PIX_FMT_RGBA,
                                filter, NULL, NULL, NULL);
        if (!d->sws)
            return vs_fail("%s: cannot convert %s frames to RGBA", d->path,
                           av_get_pix_fmt_name(f->format) ? av_get_pix_fmt_name(f->format) : "unknown");
        const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(f->format);
        if (desc && !(desc->flags & AV_PIX_FMT_FLAG_RGB))
            sws_setColorspaceDetails(d->sws, sws_getCoefficients(cs), full, sws_getCoefficients(SWS_CS_DEFAULT),
                                     1, 0, 1 << 16, 1 << 16);
        d->sws_w = f->width;
        d->sws_h = f->height;
        d->sws_fmt = f->format;
        d->sws_cs = cs;
        d->sws_range = full;
        d->sws_dw = out->width;
        d->sws_dh = out->height;
        d->sws_filter = filter;
    }
    uint8_t *dst[4] = {out->data, NULL, NULL, NULL};
    int dst_stride[4] = {out->stride, 0, 0, 0};
    sws_scale(d->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst, dst_stride);
    return 0;
}

static int check_out(vs_decoder *d, const vs_frame *out)
{
    /* a failed reopen (restart) leaves no streams: refuse instead of crashing
     * (a handle's core is checked when it locates the frame) */
    if (!d->core && (!d->fmt || !d->cc))
        return vs_fail("%s: the file could not be reopened after an earlier error", d->path);
    if (!out || out->width < 1 || out->height < 1)
        return vs_fail("%s: no output frame", d->path);
    return 0;
}

int vs_decoder_next(vs_decoder *d, vs_frame *out)
{
    if (!d)
        return vs_fail("decoder: no decoder");
    if (check_out(d, out) < 0)
        return -1;
    if (d->core) { /* the core's position belongs to every worker: keep our own */
        if (d->pos >= d->info.frames)
            return 1;
        int rc = vs_decoder_frame(d, d->pos, out);
        if (rc == 0)
            d->pos++;
        return rc;
    }
    if (d->ended)
        return 1;
    d->want = d->next;
    int rc = decode_one(d);
    d->want = -1;
    if (rc != 0)
        return rc;
    int64_t want = d->next, idx;
    if (number_frame(d, &idx) < 0)
        return -1;
    if (d->index && want >= 0 && idx != want)
        return vs_fail("%s: frame %lld: the decoder delivered frame %lld in its place (frames missing from the "
                       "stream: decoder and index disagree)",
                       d->path, (long long)want, (long long)idx);
    remember(d, idx);
    return convert(d, d->frame, out, SWS_BICUBIC);
}

/* Seeks to the keyframe `back` keyframes before the one at or before frame
 * i. A retry (back > 0) that would go before the first keyframe reopens
 * the file instead: the start of a stream is exact whatever its container. */
static int seek_before(vs_decoder *d, int64_t i, int back)
{
    const vs_index *ix = d->index;
    int64_t k = i;
    for (int left = back;; left--) {
        while (k > 0 && !ix->key[k])
            k--;
        if (left == 0)
            break;
        if (k == 0)
            return restart(d);
        k--;
    }
    int rc = av_seek_frame(d->fmt, d->s, ix->dts[k], AVSEEK_FLAG_BACKWARD);
    if (rc < 0)
        return restart(d);
    avcodec_flush_buffers(d->cc);
    d->next = -1;
    d->flushing = d->ended = 0;
    return 0;
}

static int decode_to(vs_decoder *d, int64_t i, const AVFrame **found, int restarted);
static int locate(vs_decoder *d, int64_t i, const AVFrame **found);

/* A shared core's frame i, referenced into the handle under the core's
 * lock and converted outside it, so workers convert in parallel. */
static int shared_frame(vs_decoder *h, int64_t i, vs_frame *out)
{
    vs_decoder *core = h->core;
    pthread_mutex_lock(&core->lock);
    const AVFrame *f = NULL;
    int rc = locate(core, i, &f);
    if (rc == 0 && av_frame_ref(h->held, f) < 0)
        rc = vs_fail("%s: out of memory", h->path);
    pthread_mutex_unlock(&core->lock);
    if (rc < 0)
        return -1;
    rc = convert(h, h->held, out, SWS_BICUBIC);
    av_frame_unref(h->held);
    return rc;
}

int vs_decoder_frame(vs_decoder *d, int64_t i, vs_frame *out)
{
    if (!d)
        return vs_fail("decoder: no decoder");
    if (check_out(d, out) < 0)
        return -1;
    if (i < 0 || i >= d->info.frames)
        return vs_fail("%s: frame %lld is out of range (the video has %lld frames, 0..%lld)", d->path,
                       (long long)i, (long long)d->info.frames, (long long)d->info.frames - 1);
    if (d->core)
        return shared_frame(d, i, out);
    const AVFrame *f = NULL;
    if (locate(d, i, &f) < 0)
        return -1;
    return convert(d, f, out, SWS_BICUBIC);
}

int vs_decoder_frame_rect(vs_decoder *d, int64_t i, int x, int y, int w, int h, vs_frame *out, int filter)
{
    if (!d || d->core)
        return vs_fail("decoder: vs_decoder_frame_rect needs a decoder of its own");
    if (check_out(d, out) < 0)
        return -1;
    if (i < 0 || i >= d->info.frames)
        return vs_decoder_frame(d, i, out); /* its message for an index out of range */
    const AVFrame *f = NULL;
    if (locate(d, i, &f) < 0)
        return -1;
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(f->format);
    if (x < 0 || y < 0 || w < 1 || h < 1 || x + w > f->width || y + h > f->height)
        return vs_fail("%s: frame %lld: the rectangle %dx%d at %d,%d does not fit the %dx%d frame", d->path,
                       (long long)i, w, h, x, y, f->width, f->height);
    /* av_frame_apply_cropping keeps a bitstream or hardware frame's left and top edges: refuse those */
    if (!desc || (desc->flags & (AV_PIX_FMT_FLAG_BITSTREAM | AV_PIX_FMT_FLAG_HWACCEL)))
        return vs_fail("%s: frame %lld: %s frames cannot be cropped in the conversion", d->path, (long long)i,
                       desc ? desc->name : "unknown");
    if (x % (1 << desc->log2_chroma_w) || y % (1 << desc->log2_chroma_h))
        return vs_fail("%s: frame %lld: %d,%d is off the chroma grid of %s", d->path, (long long)i, x, y, desc->name);
    /* a view of the rectangle: the frame's planes from x, y on, no pixel copied */
    AVFrame *view = av_frame_alloc();
    if (!view || av_frame_ref(view, f) < 0) {
        av_frame_free(&view);
        return vs_fail("%s: out of memory", d->path);
    }
    view->crop_left = (size_t)x;
    view->crop_top = (size_t)y;
    view->crop_right = (size_t)(f->width - x - w);
    view->crop_bottom = (size_t)(f->height - y - h);
    int rc = av_frame_apply_cropping(view, AV_FRAME_CROP_UNALIGNED);
    rc = rc < 0 ? av_fail(d, "cannot crop the frame", rc) : convert(d, view, out, filter);
    av_frame_free(&view);
    return rc;
}

int vs_decoder_index_at(const vs_decoder *d, double seconds, int64_t *index)
{
    if (!d || !index)
        return vs_fail("decoder: no decoder");
    if (!(seconds >= 0))
        return vs_fail("%s: time %g is not a time in the video", d->path, seconds);
    /* a handle reads its core's index: set at open, read-only after, as a
     * VFR core loads it there */
    const vs_decoder *c = d->core ? d->core : d;
    int64_t n = d->info.frames, i;
    if (!d->info.vfr || !c->index) {
        double k = floor(seconds * d->info.fps_num / d->info.fps_den + 1e-6);
        i = k < (double)n ? (int64_t)k : n - 1;
    } else {
        /* the last frame whose timestamp is at or before t (t = 0 is the first frame) */
        const int64_t *pts = c->index->pts;
        double ticks = seconds * c->time_base.den / c->time_base.num;
        int64_t t = ticks < 9e18 ? pts[0] + (int64_t)floor(ticks + 1e-6) : INT64_MAX;
        int64_t lo = 0, hi = n - 1;
        while (lo < hi) {
            int64_t mid = lo + (hi - lo + 1) / 2;
            if (pts[mid] <= t)
                lo = mid;
            else
                hi = mid - 1;
        }
        i = lo;
    }
    *index = i;
    return 0;
}

/* Points *found at decoded frame i (in the ring or just decoded). */
static int locate(vs_decoder *d, int64_t i, const AVFrame **found)
{
    if (!d->fmt || !d->cc)
        return vs_fail("%s: the file could not be reopened after an earlier error", d->path);
    d->random = 1;
    for (int k = 0; k < d->ring_n; k++)
        if (d->ring_idx[k] == i && d->ring[k]) {
            *found = d->ring[k];
            return 0;
        }
    int restarted = 0;
    int forward = d->next >= 0 && !d->ended && i >= d->next;
    if (!d->index_tried && !(forward && i - d->next <= FORWARD_MAX)) {
        /* a seek ahead: the index from the cache, or one packet scan */
        vs_probe_info info;
        d->index_tried = 1;
        if (vs_probe_index(d->path, 1, &info, &d->index, VS_INDEX_BUILD) < 0 || info.frames != d->info.frames) {
            vs_index_free(d->index);
            d->index = NULL;
        }
    }
    if (forward && d->index && i - d->next > FORWARD_MAX) {
        /* far ahead: seek only when a keyframe lies between here and there */
        int64_t k = i;
        while (k > d->next && !d->index->key[k])
            k--;
        forward = k <= d->next;
    }
    if (!forward) {
        restarted = !d->index;
        if ((d->index ? seek_before(d, i, 0) : restart(d)) < 0)
            return -1;
    }
    /* frames before i nobody refers to need not be decoded, unless other
     * workers of a shared core will ask for them */
    if (d->index && !d->shared)
        d->skip_before = d->index->pts[i];
    d->want = i;
    int rc = decode_to(d, i, found, restarted);
    d->want = -1;
    d->skip_before = INT64_MIN;
    return rc;
}

/* Decodes forward to frame i (numbering frames by timestamp), seeking
 * further back when the position was already past it: a frame after it,
 * or the end of the stream right after a seek. */
static int decode_to(vs_decoder *d, int64_t i, const AVFrame **found, int restarted)
{
    int back = 0;
    for (;;) {
        int rc = decode_one(d);
        if (rc < 0)
            return -1;
        if (rc == 1 && restarted)
            return vs_fail("%s: frame %lld: the video ended before it (a damaged stream?)", d->path, (long long)i);
        int64_t idx = -1;
        if (rc == 0) {
            if (number_frame(d, &idx) < 0)
                return -1;
            remember(d, idx);
        }
        if (rc == 0 && idx == i) {
            *found = d->frame;
            return 0;
        }
        if (rc == 1 || idx > i || idx < 0) {
            /* landed past it: seek further back, from the start at last */
            if (restarted)
                return vs_fail("%s: frame %lld: the decoder delivers no picture for it (a damaged stream?)", d->path,
                               (long long)i);
            if (++back > 3 || !d->index) {
                restarted = 1;
                if (restart(d) < 0)
                    return -1;
            } else if (seek_before(d, i, back) < 0) {
                return -1;
            }
        }
    }
}

/* ---- shared cores ---- */

vs_decoder *vs_decoder_open_shared(const char *path, int threads)
{
    if (!path) {
        vs_fail("decoder: path is required");
        return NULL;
    }
    threads = threads < 0 ? 0 : threads;
    vs_decoder *h = calloc(1, sizeof *h);
    if (!h || !(h->path = strdup(path)) || !(h->held = av_frame_alloc())) {
        vs_decoder_close(h);
        vs_fail("%s: out of memory", path);
        return NULL;
    }
    pthread_mutex_lock(&cores_lock);
    vs_decoder *core = cores;
    while (core && (core->threads != threads || strcmp(core->path, path) != 0))
        core = core->next_core;
    if (!core && (core = vs_decoder_open(path, threads))) {
        pthread_mutex_init(&core->lock, NULL);
        core->shared = 1;
        long cores_online = sysconf(_SC_NPROCESSORS_ONLN);
        long n = 8 * (cores_online > 0 ? cores_online : 1) + 4;
        core->ring_n = n < RING ? RING : n > RING_SHARED ? RING_SHARED : (int)n;
        core->next_core = cores;
        cores = core;
    }
    if (core)
        core->refs++;
    pthread_mutex_unlock(&cores_lock);
    if (!core) {
        vs_decoder_close(h);
        return NULL;
    }
    h->core = core;
    h->threads = threads;
    h->info = core->info; /* set once at open, read-only after */
    return h;
}

static void release_core(vs_decoder *core)
{
    pthread_mutex_lock(&cores_lock);
    int last = --core->refs == 0;
    if (last) {
        vs_decoder **p = &cores;
        while (*p != core)
            p = &(*p)->next_core;
        *p = core->next_core;
    }
    pthread_mutex_unlock(&cores_lock);
    if (last) {
        pthread_mutex_destroy(&core->lock);
        vs_decoder_close(core);
    }
}
