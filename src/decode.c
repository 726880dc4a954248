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
 * or before it, by the timestamp its demuxer seeks by: MP4/MOV and
 * Matroska by presentation (their sample tables and cues; its decode
 * timestamp, earlier with B-frames, lands a GOP early), the others by
 * decode timestamp (the presentation timestamp lands a GOP late, or past
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
 * Cursors: a video read at two places at once (a crossfade of two trims of
 * it, two workers on either side of a cut) would seek back a GOP at every
 * switch. So a decoder keeps up to CURSORS decoding positions, each its own
 * demuxer and decoder, opened when first needed: a request goes to the
 * cursor that reaches it by decoding forward the shortest way, else to one
 * whose position is worth nothing (never used, or at the end), else to the
 * nearest one behind it (a jump ahead moves a position instead of opening
 * another), else to a new one (at the first frame), else to the least
 * recently used; all but the first seek (a new one only to a keyframe well
 * past the start). A cursor idle for IDLE_DECODES frames is closed. The
 * ring is the decoder's, shared by its cursors (each holds at most its
 * share of it); every cursor numbers frames by the one index, so which
 * cursor decoded a frame never changes its number.
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
 * apart (its window: 8 frames a core and 4 more) for each place the video
 * is read at (each open cursor), at most RING_SHARED in all whatever the
 * places (a 4K frame is 12 MB: the ring's memory stays bounded), shared
 * evenly by the cursors when the windows do not fit. A cursor's frames
 * replace its own oldest once it holds its share: each cursor's decoder
 * allocates the frames it holds from its own pool, so a place never grows
 * another's pool by taking its slots; a full ring otherwise gives up its
 * oldest frame, so an idle place's slots go to the places in use. */
enum { RING = 8, RING_SHARED = 64 };
/* Decode forward instead of seeking when the target is at most this far
 * ahead; but seek to a keyframe on the way that saves at least SEEK_GAIN
 * frames, where nobody else wants the frames skipped. */
enum { FORWARD_MAX = 32, SEEK_GAIN = 8 };
/* Decoding positions a decoder may keep: two places read in turn (a
 * crossfade), each also at a second place with two render workers. Each
 * holds a decoder's reference frames, so they are few. */
enum { CURSORS = 4 };
/* A cursor that has not decoded while its decoder decoded this many frames
 * elsewhere is a place done with (a clip that ended): it is closed, giving
 * back its decoder's frame threads, reference frames and buffer pool. Going
 * back there costs an open and a seek. */
enum { IDLE_DECODES = 2 * RING_SHARED };

/* One decoding position: a demuxer and a decoder of the file. */
typedef struct cursor {
    AVFormatContext *fmt;
    AVCodecContext *cc;
    int64_t next;      /* number of the next decoded frame, -1 unknown */
    int flushing;      /* the demuxer ended, the decoder is being drained */
    int ended;
    uint64_t used;     /* the decoder's clock when it last decoded: least recently used moves first */
} cursor;

struct vs_decoder {
    char *path;
    int threads;
    cursor cur[CURSORS]; /* cur[0] opened with the decoder, the others when needed */
    cursor *at;          /* the cursor last used, where vs_decoder_next goes on */
    uint64_t clock;
    vs_decoder_stats stats;
    int s;             /* the video stream, the same in every cursor */
    int seek_by_pts;   /* the demuxer seeks by presentation timestamp (MP4/MOV, Matroska) */
    AVPacket *pkt;
    AVFrame *frame;
    struct SwsContext *sws;
    int sws_w, sws_h, sws_fmt, sws_cs, sws_range, sws_dw, sws_dh, sws_filter;
    vs_probe_info info;
    AVRational time_base; /* the video stream's, set at open */
    vs_index *index;
    int index_tried;
    int random;        /* random access used: keep the ring */
    int64_t skip_before; /* packets shown before this pts may skip non-reference frames */
    int64_t want;      /* the frame being decoded for, named in errors; -1 none */
    AVFrame *ring[RING_SHARED];
    int64_t ring_idx[RING_SHARED]; /* the frame's number, -1 for an empty slot */
    uint64_t ring_when[RING_SHARED]; /* the clock when it was decoded */
    signed char ring_cursor[RING_SHARED]; /* the cursor that decoded it */
    int ring_n;        /* ring slots in use: RING, or up to RING_SHARED for a core */
    int ring_window;   /* the most slots one cursor holds: ring_n for a reader, its share for a core */
    int window;        /* a core: the frames its workers run apart at one place */

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

static void close_streams(cursor *c)
{
    avcodec_free_context(&c->cc);
    vs_probe_close_input(&c->fmt);
}

/* Opens c's demuxer and decoder at the first frame (again, for a restart
 * from the beginning); on failure c is left closed. */
static int open_streams(vs_decoder *d, cursor *c)
{
    if (vs_probe_open_input(d->path, &c->fmt, &d->s, NULL) < 0)
        return -1;
    d->time_base = c->fmt->streams[d->s]->time_base;
    const char *demuxer = c->fmt->iformat->name;
    d->seek_by_pts = strncmp(demuxer, "mov,", 4) == 0 || strncmp(demuxer, "matroska", 8) == 0;
    for (unsigned i = 0; i < c->fmt->nb_streams; i++)
        if ((int)i != d->s)
            c->fmt->streams[i]->discard = AVDISCARD_ALL;
    AVCodecParameters *par = c->fmt->streams[d->s]->codecpar;
    const AVCodec *codec = avcodec_find_decoder(par->codec_id);
    int rc;
    if (!codec) {
        const AVCodecDescriptor *cd = avcodec_descriptor_get(par->codec_id);
        rc = vs_fail("%s: no decoder for the video codec '%s'", d->path, cd ? cd->name : "unknown");
        goto fail;
    }
    if (!(c->cc = avcodec_alloc_context3(codec))) {
        rc = vs_fail("%s: out of memory", d->path);
        goto fail;
    }
    if ((rc = avcodec_parameters_to_context(c->cc, par)) < 0) {
        rc = av_fail(d, "bad codec parameters", rc);
        goto fail;
    }
    c->cc->pkt_timebase = c->fmt->streams[d->s]->time_base;
    c->cc->thread_count = d->threads;
    c->cc->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
    if ((rc = avcodec_open2(c->cc, codec, NULL)) < 0) {
        rc = av_fail(d, "cannot open the decoder", rc);
        goto fail;
    }
    c->next = 0;
    c->flushing = c->ended = 0;
    return 0;
fail:
    close_streams(c);
    return rc;
}

/* Back to the first frame by reopening: exact for any stream. */
static int restart(vs_decoder *d, cursor *c)
{
    close_streams(c);
    d->stats.seeks++;
    return open_streams(d, c);
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
    d->ring_n = d->ring_window = RING;
    d->want = -1;
    d->skip_before = INT64_MIN;
    for (int i = 0; i < RING_SHARED; i++)
        d->ring_idx[i] = -1;
    d->at = &d->cur[0];
    if (open_streams(d, d->at) < 0)
        goto fail;
    d->stats.cursors = 1;
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
    for (int k = 0; k < CURSORS; k++)
        close_streams(&d->cur[k]);
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

/* c's next decoded frame into d->frame: 0, 1 at the end, -1 on error. */
static int decode_one(vs_decoder *d, cursor *c)
{
    c->used = ++d->clock;
    d->at = c;
    for (;;) {
        int rc = avcodec_receive_frame(c->cc, d->frame);
        if (rc == 0) {
            d->stats.decoded++;
            return 0;
        }
        if (rc == AVERROR_EOF) {
            c->ended = 1;
            return 1;
        }
        if (rc != AVERROR(EAGAIN))
            return av_fail(d, "decoding failed", rc);
        if (c->flushing)
            return av_fail(d, "the decoder stalled while draining", rc);
        rc = av_read_frame(c->fmt, d->pkt);
        if (rc < 0) {
            /* the end, or a damaged tail: drain what was decoded (as ffmpeg does) */
            c->flushing = 1;
            if ((rc = avcodec_send_packet(c->cc, NULL)) < 0 && rc != AVERROR_EOF)
                return av_fail(d, "decoding failed", rc);
            continue;
        }
        if (d->pkt->stream_index == d->s && d->pkt->size > 0) {
            /* on the way to a seek target, frames nothing refers to and
             * nobody wants need not be decoded (the decoder reads this per
             * packet, also with frame threads) */
            int skip = d->pkt->pts != AV_NOPTS_VALUE && d->pkt->pts < d->skip_before;
            c->cc->skip_frame = skip ? AVDISCARD_NONREF : AVDISCARD_DEFAULT;
            rc = avcodec_send_packet(c->cc, d->pkt);
            /* a damaged packet is skipped, as ffmpeg skips it */
            if (rc < 0 && rc != AVERROR_INVALIDDATA && rc != AVERROR(EAGAIN)) {
                av_packet_unref(d->pkt);
                return av_fail(d, "decoding failed", rc);
            }
        }
        av_packet_unref(d->pkt);
    }
}

/* The number of the frame c decoded into d->frame into *out: by its
 * timestamp when there is an index (one the index does not list is an
 * error), else by counting; updates c->next. */
static int number_frame(vs_decoder *d, cursor *c, int64_t *out)
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
        idx = c->next;
    }
    c->next = idx >= 0 ? idx + 1 : -1;
    *out = idx;
    return 0;
}

/* Keeps a reference to frame idx, which cursor c decoded, in the ring: in
 * c's oldest slot when c holds its window's worth, else in an empty slot or
 * the oldest. */
static void remember(vs_decoder *d, const cursor *c, int64_t idx)
{
    if (!d->random || idx < 0)
        return;
    int owner = (int)(c - d->cur), held = 0, filled = 0, own_oldest = -1, oldest = -1, empty = -1;
    for (int k = 0; k < d->ring_n; k++) {
        if (d->ring_idx[k] < 0) {
            if (empty < 0)
                empty = k;
            continue;
        }
        filled++;
        if (d->ring_cursor[k] == owner) {
            held++;
            if (own_oldest < 0 || d->ring_when[k] < d->ring_when[own_oldest])
                own_oldest = k;
        }
        if (oldest < 0 || d->ring_when[k] < d->ring_when[oldest])
            oldest = k;
    }
    int k = held >= d->ring_window ? own_oldest : empty >= 0 ? empty : oldest;
    if (!d->ring[k] && !(d->ring[k] = av_frame_alloc()))
        return;
    av_frame_unref(d->ring[k]);
    filled -= d->ring_idx[k] >= 0;
    d->ring_idx[k] = -1;
    if (av_frame_ref(d->ring[k], d->frame) == 0) {
        d->ring_idx[k] = idx;
        d->ring_when[k] = d->clock;
        d->ring_cursor[k] = (signed char)owner;
        filled++;
    }
    d->stats.held = filled;
    if (filled > d->stats.held_most)
        d->stats.held_most = filled;
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
    cursor *c = d->at;
    /* a failed reopen (restart) leaves the cursor closed: refuse instead of crashing */
    if (!c->fmt || !c->cc)
        return vs_fail("%s: the file could not be reopened after an earlier error", d->path);
    if (c->ended)
        return 1;
    d->want = c->next;
    int rc = decode_one(d, c);
    d->want = -1;
    if (rc != 0)
        return rc;
    int64_t want = c->next, idx;
    if (number_frame(d, c, &idx) < 0)
        return -1;
    if (d->index && want >= 0 && idx != want)
        return vs_fail("%s: frame %lld: the decoder delivered frame %lld in its place (frames missing from the "
                       "stream: decoder and index disagree)",
                       d->path, (long long)want, (long long)idx);
    remember(d, c, idx);
    return convert(d, d->frame, out, SWS_BICUBIC);
}

/* Seeks to the keyframe `back` keyframes before the one at or before frame
 * i. A retry (back > 0) that would go before the first keyframe reopens
 * the file instead: the start of a stream is exact whatever its container. */
static int seek_before(vs_decoder *d, cursor *c, int64_t i, int back)
{
    const vs_index *ix = d->index;
    int64_t k = i;
    for (int left = back;; left--) {
        while (k > 0 && !ix->key[k])
            k--;
        if (left == 0)
            break;
        if (k == 0)
            return restart(d, c);
        k--;
    }
    int rc = av_seek_frame(c->fmt, d->s, d->seek_by_pts ? ix->pts[k] : ix->dts[k], AVSEEK_FLAG_BACKWARD);
    if (rc < 0)
        return restart(d, c);
    d->stats.seeks++;
    avcodec_flush_buffers(c->cc);
    c->next = -1;
    c->flushing = c->ended = 0;
    return 0;
}

static int decode_to(vs_decoder *d, cursor *c, int64_t i, const AVFrame **found, int restarted);
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

static void get_stats(const vs_decoder *d, vs_decoder_stats *stats)
{
    *stats = d->stats;
    stats->open = 0;
    for (int k = 0; k < CURSORS; k++)
        stats->open += d->cur[k].fmt != NULL;
}

int vs_decoder_get_stats(const vs_decoder *d, vs_decoder_stats *stats)
{
    if (!d || !stats)
        return vs_fail("decoder: no decoder");
    if (!d->core) {
        get_stats(d, stats);
        return 0;
    }
    pthread_mutex_lock(&d->core->lock);
    get_stats(d->core, stats);
    pthread_mutex_unlock(&d->core->lock);
    return 0;
}

/* Whether cursor c reaches frame i by decoding forward: i is at or after
 * its position and near, or far with no keyframe between (a seek would
 * decode no less). *gap: how far ahead i is. */
static int reaches(const vs_decoder *d, const cursor *c, int64_t i, int64_t *gap)
{
    if (!c->fmt || !c->cc || c->next < 0 || c->ended || i < c->next)
        return 0;
    *gap = i - c->next;
    if (*gap <= FORWARD_MAX || !d->index)
        return 1;
    int64_t k = i;
    while (k > c->next && !d->index->key[k])
        k--;
    return k <= c->next;
}

/* The cursor to decode frame i with: the one that reaches it the shortest
 * way forward; else one whose position is worth nothing (never used, or at
 * the end); else the nearest one behind i, far (it would pass i anyway:
 * a jump ahead moves it); else a new one (opened at the first frame); else
 * the least recently used. *placed: the cursor is at or before i already. */
static cursor *choose_cursor(vs_decoder *d, int64_t i, int *placed)
{
    cursor *best = NULL, *idle = NULL, *behind = NULL, *closed = NULL, *oldest = NULL;
    int64_t best_gap = INT64_MAX, gap;
    for (int k = 0; k < CURSORS; k++) {
        cursor *c = &d->cur[k];
        if (!c->fmt || !c->cc) {
            if (!closed)
                closed = c;
        } else if (reaches(d, c, i, &gap)) {
            if (gap < best_gap) {
                best = c;
                best_gap = gap;
            }
        } else if (c->used == 0 || c->ended) {
            idle = c;
        } else if (c->next >= 0 && c->next < i) {
            if (!behind || c->next > behind->next)
                behind = c;
        } else if (!oldest || c->used < oldest->used) {
            oldest = c;
        }
    }
    *placed = best != NULL;
    return best ? best : idle ? idle : behind ? behind : closed ? closed : oldest;
}

/* A core's ring for its open cursors: a window each, at most RING_SHARED
 * frames in all, each cursor's share of it a window at most. The ring never
 * shrinks: the frames past a smaller size would be kept but never found. */
static void share_ring(vs_decoder *d)
{
    int open = 0;
    for (int k = 0; k < CURSORS; k++)
        open += d->cur[k].fmt != NULL;
    open = open > 0 ? open : 1;
    int share = RING_SHARED / open, n = d->window * open;
    d->ring_window = d->window < share ? d->window : share;
    n = n < RING_SHARED ? n : RING_SHARED;
    d->ring_n = n > d->ring_n ? n : d->ring_n;
}

/* Closes the cursors other than keep that have been idle for IDLE_DECODES
 * frames (their frames in the ring stay until they are the oldest). */
static void close_idle(vs_decoder *d, const cursor *keep)
{
    for (int k = 0; k < CURSORS; k++) {
        cursor *c = &d->cur[k];
        if (c != keep && c->fmt && d->clock - c->used > IDLE_DECODES) {
            close_streams(c);
            c->used = 0; /* opened again, it is a new position */
            if (d->shared)
                share_ring(d);
        }
    }
}

/* Points *found at decoded frame i (in the ring or just decoded). */
static int locate(vs_decoder *d, int64_t i, const AVFrame **found)
{
    d->random = 1;
    for (int k = 0; k < d->ring_n; k++)
        if (d->ring_idx[k] == i && d->ring[k]) {
            *found = d->ring[k];
            return 0;
        }
    int64_t gap;
    if (!d->index_tried && !(reaches(d, d->at, i, &gap) && gap <= FORWARD_MAX)) {
        /* a seek ahead: the index from the cache, or one packet scan */
        vs_probe_info info;
        d->index_tried = 1;
        if (vs_probe_index(d->path, 1, &info, &d->index, VS_INDEX_BUILD) < 0 || info.frames != d->info.frames) {
            vs_index_free(d->index);
            d->index = NULL;
        }
    }
    int placed, restarted = 0;
    cursor *c = choose_cursor(d, i, &placed);
    close_idle(d, c);
    if (!c->fmt || !c->cc) {
        /* a new position, at the first frame; a seek from there if it is far */
        if (open_streams(d, c) < 0)
            return -1;
        d->stats.cursors++;
        if (d->shared) /* workers at each place run as far apart: room for their frames */
            share_ring(d);
        placed = reaches(d, c, i, &gap);
        restarted = !d->index;
    }
    if (placed && d->index && (!d->shared || c->used == 0)) {
        /* a keyframe well past the position: start there instead (a shared
         * core's workers want the frames between, unless the position is new) */
        int64_t k = i;
        while (k > c->next && !d->index->key[k])
            k--;
        placed = k - c->next < SEEK_GAIN;
    }
    if (!placed) {
        restarted = !d->index;
        if ((d->index ? seek_before(d, c, i, 0) : restart(d, c)) < 0)
            return -1;
    }
    /* frames before i nobody refers to need not be decoded, unless other
     * workers of a shared core will ask for them */
    if (d->index && !d->shared)
        d->skip_before = d->index->pts[i];
    d->want = i;
    int rc = decode_to(d, c, i, found, restarted);
    d->want = -1;
    d->skip_before = INT64_MIN;
    return rc;
}

/* Decodes forward with cursor c to frame i (numbering frames by
 * timestamp), seeking further back when the position was already past it:
 * a frame after it, or the end of the stream right after a seek. */
static int decode_to(vs_decoder *d, cursor *c, int64_t i, const AVFrame **found, int restarted)
{
    int back = 0;
    for (;;) {
        int rc = decode_one(d, c);
        if (rc < 0)
            return -1;
        if (rc == 1 && restarted)
            return vs_fail("%s: frame %lld: the video ended before it (a damaged stream?)", d->path, (long long)i);
        int64_t idx = -1;
        if (rc == 0) {
            if (number_frame(d, c, &idx) < 0)
                return -1;
            remember(d, c, idx);
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
                if (restart(d, c) < 0)
                    return -1;
            } else if (seek_before(d, c, i, back) < 0) {
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
        core->window = n < RING ? RING : n > RING_SHARED ? RING_SHARED : (int)n;
        share_ring(core);
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
