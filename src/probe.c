/*
 * probe.c: a video's metadata with an exact frame count, without decoding.
 *
 * The frame count is the number of packets of the video stream, read with
 * the demuxer only (no decoder runs), which is what `ffprobe -count_frames`
 * reports whenever one packet holds one frame: H.264/HEVC in MP4/MOV/MKV,
 * VP9 and AV1 in WebM/MKV (a VP9 superframe with its hidden alt-ref frame
 * is one packet and one shown frame), MPEG-4 part 2 in MKV/AVI. Packets the
 * demuxer marks as discarded (MP4 edit lists cut them) and empty packets
 * (AVI's dropped-frame markers) are not frames and are not counted.
 * Where it is NOT exact: field-coded (PAFF) H.264 in raw or TS streams (two
 * packets per frame), MPEG-4 "packed bitstream" AVIs (DivX-style, two
 * frames in one packet), and streams whose decoder drops frames it cannot
 * decode (e.g. an HEVC file that starts with a CRA and RASL pictures).
 *
 * Packets before the first keyframe (a stream cut mid-GOP: `-c copy
 * -copyinkf`) cannot be decoded and are not frames either: they are left
 * out, so the count is what a decoder delivers (as ffprobe -count_frames).
 * A keyframe an edit list discards (`-ss` with `-c copy` keeps the GOP the
 * cut falls in) is the first keyframe all the same: it is decoded, only
 * not shown.
 *
 * The same scan records every packet's presentation and decode timestamps
 * and keyframe flag: sorted by presentation, those are the frame index
 * decode.c seeks with (by decode timestamp, which is what demuxers seek
 * by). The gaps between the sorted timestamps also tell a variable frame
 * rate: when they differ by more than half a frame (and a tick of
 * rounding), the video is VFR and its duration is the timestamps' span. Metadata and
 * index go to the probe cache (cache.c), so the second probe of an
 * unchanged file reads one SQLite row. An MP4/MOV whose sample index is
 * complete is counted from that index without reading its packets (the
 * same count: samples an edit list discards are flagged there too); its
 * frame index is then built by the first decoder that opens it. A
 * faststart MP4 cut short still has its whole index up front: the index's
 * last sample must lie inside the file, else the file is refused as cut
 * short (the man page's exit 1) rather than counted whole.
 *
 * libavformat reads through a descriptor opened here (a custom AVIO), so
 * the stat the cache keys the row by is the fstat of the very file read.
 * avformat_find_stream_info decodes a frame or so for the pixel format;
 * the count itself never decodes.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/intreadwrite.h>
#include <libavutil/pixdesc.h>

#include "avio_fd.h"
#include "error.h"
#include "libav_log.h"
#include "probe.h"

void vs_index_free(vs_index *index)
{
    if (!index)
        return;
    free(index->pts);
    free(index->dts);
    free(index->key);
    free(index);
}

/* The container's short name: the extension's name when the demuxer lists
 * it ("mov,mp4,m4a,..." and "x.mp4" -> "mp4"), else its first name. */
static void container_name(char *dst, size_t size, const char *names, const char *path)
{
    const char *dot = strrchr(path, '.');
    if (dot && !strchr(dot, '/')) {
        size_t n = strlen(dot + 1);
        for (const char *p = names; *p;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            if (len == n && n > 0 && strncasecmp(p, dot + 1, n) == 0) {
                snprintf(dst, size, "%.*s", (int)len, p);
                return;
            }
            p += len + (comma != NULL);
        }
    }
    size_t len = strcspn(names, ",");
    snprintf(dst, size, "%.*s", (int)len, names);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* One packet of the scan. */
typedef struct entry {
    int64_t pts, dts;
    int key;
} entry;

static int cmp_entry(const void *a, const void *b)
{
    return cmp_i64(&((const entry *)a)->pts, &((const entry *)b)->pts);
}

/* The reader over our descriptor, and the descriptor (closed with it). */
static void free_io(AVIOContext **pb, int fd)
{
    vs_avio_reader_free(pb);
    if (fd >= 0)
        close(fd);
}

void vs_probe_close_input(AVFormatContext **fmt)
{
    if (!*fmt)
        return;
    AVIOContext *pb = (*fmt)->pb;
    int fd = pb ? vs_avio_reader_fd(pb) : -1;
    avformat_close_input(fmt);
    free_io(&pb, fd);
}

/* avformat_open_input over a descriptor of path; fills *st with its fstat.
 * Returns 0, -1 with a message, or 1 with libavformat's error in *av_rc. */
static int open_fd_input(const char *path, const char *kind, AVFormatContext **fmt_out, struct stat *st, int *av_rc)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vs_fail("%s: %s", path, errno == ENOENT ? "no such file" : strerror(errno));
    AVIOContext *pb = NULL;
    AVFormatContext *fmt = NULL;
    if (fstat(fd, st) != 0) {
        vs_fail("%s: %s", path, strerror(errno));
        goto fail;
    }
    if (S_ISDIR(st->st_mode)) {
        vs_fail("%s: is a directory, not a%s %s file", path, *kind == 'a' ? "n" : "", kind);
        goto fail;
    }
    if (st->st_size == 0 && S_ISREG(st->st_mode)) {
        vs_fail("%s: empty file (0 bytes), not a%s %s", path, *kind == 'a' ? "n" : "", kind);
        goto fail;
    }
    if (vs_avio_reader(fd, S_ISREG(st->st_mode), &pb) < 0) {
        vs_fail("%s: out of memory", path);
        goto fail;
    }
    if (!(fmt = avformat_alloc_context())) {
        vs_fail("%s: out of memory", path);
        goto fail;
    }
    fmt->pb = pb;
    fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
    vs_av_reason_clear();
    *av_rc = avformat_open_input(&fmt, path, NULL, NULL); /* frees fmt on failure, not pb */
    if (*av_rc < 0) {
        free_io(&pb, fd);
        return 1;
    }
    *fmt_out = fmt;
    return 0;
fail:
    free_io(&pb, fd);
    return -1;
}

int vs_probe_open_media(const char *path, const char *kind, AVFormatContext **fmt_out, struct stat *st_out)
{
    struct stat st;
    AVFormatContext *fmt = NULL;
    int rc = 0;
    if (open_fd_input(path, kind, &fmt, &st, &rc) < 0)
        return -1;
    if (!fmt) {
        if (rc == AVERROR_INVALIDDATA)
            return vs_fail("%s: not a readable %s file (unknown format, or truncated: an MP4 cut short has no index)",
                           path, kind);
        return vs_fail("%s: cannot open (%s)", path, vs_av_error(rc));
    }
    if ((rc = avformat_find_stream_info(fmt, NULL)) < 0) {
        const char *why = vs_av_error(rc);
        vs_probe_close_input(&fmt);
        return vs_fail("%s: cannot read the stream headers (%s)", path, why);
    }
    *fmt_out = fmt;
    if (st_out)
        *st_out = st;
    return 0;
}

int vs_probe_open_input(const char *path, AVFormatContext **fmt_out, int *stream_out, struct stat *st_out)
{
    struct stat st;
    AVFormatContext *fmt = NULL;
    if (vs_probe_open_media(path, "video", &fmt, &st) < 0)
        return -1;
    int s = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (s >= 0 && (fmt->streams[s]->disposition & AV_DISPOSITION_ATTACHED_PIC))
        s = -1;
    if (s < 0) {
        vs_probe_close_input(&fmt);
        return vs_fail("%s: no video stream in the file", path);
    }
    AVCodecParameters *par = fmt->streams[s]->codecpar;
    if (par->width <= 0 || par->height <= 0) {
        vs_probe_close_input(&fmt);
        return vs_fail("%s: the video stream has no frame size (damaged or unsupported)", path);
    }
    *fmt_out = fmt;
    *stream_out = s;
    if (st_out)
        *st_out = st;
    return 0;
}

static int is_mov(const AVFormatContext *fmt)
{
    return strncmp(fmt->iformat->name, "mov,", 4) == 0;
}

int vs_media_check_complete(AVFormatContext *fmt, const AVStream *st, const char *path)
{
    int64_t size = avio_size(fmt->pb);
    if (size < 0)
        return 0; /* not a file: nothing to measure against */
    int n = avformat_index_get_entries_count(st);
    if (n > 0 && (is_mov(fmt) || (st->nb_frames > 0 && n >= st->nb_frames))) {
        /* the sample table lists every frame (MP4, MOV): compare it with the data */
        int64_t listed = 0, held = 0;
        for (int i = 0; i < n; i++) {
            const AVIndexEntry *e = avformat_index_get_entry((AVStream *)st, i);
            if (!e || e->size <= 0 || (e->flags & AVINDEX_DISCARD_FRAME))
                continue;
            listed++;
            held += e->pos + e->size <= size;
        }
        if (held < listed)
            return vs_fail("%s: cut short: its index lists %lld frames, the data holds %lld (%lld frame%s missing: "
                           "an incomplete copy or download?)", path, (long long)listed, (long long)held,
                           (long long)(listed - held), listed - held == 1 ? " is" : "s are");
        return 0;
    }
    /* no complete index (Matroska, AVI): read from the last indexed frame,
     * or from the start (as far as the file can seek) */
    const AVIndexEntry *last = n > 0 ? avformat_index_get_entry((AVStream *)st, n - 1) : NULL;
    if (!last || av_seek_frame(fmt, st->index, last->timestamp, AVSEEK_FLAG_BACKWARD) < 0)
        avformat_seek_file(fmt, -1, INT64_MIN, fmt->start_time != AV_NOPTS_VALUE ? fmt->start_time : 0, INT64_MAX, 0);
    AVPacket *pkt = av_packet_alloc();
    if (!pkt)
        return vs_fail("%s: out of memory", path);
    int ret = 0;
    int64_t shown_until = AV_NOPTS_VALUE; /* end of the latest frame read, in AV_TIME_BASE */
    for (;;) {
        int err = av_read_frame(fmt, pkt);
        if (err == AVERROR_EOF) {
            /* the header's duration (Matroska writes it when the file is finished) against the
             * frames there; half a frame of slack for the header's rounding */
            AVRational fps = st->r_frame_rate.num > 0 ? st->r_frame_rate : st->avg_frame_rate;
            int64_t slack = fps.num > 0 ? av_rescale_q(1, av_inv_q(fps), AV_TIME_BASE_Q) / 2 : fmt->duration / 100;
            if (shown_until == AV_NOPTS_VALUE)
                ret = vs_fail("%s: cut short: none of its frames can be read", path);
            else if (fmt->duration > 0 && shown_until < fmt->duration - slack)
                ret = vs_fail("%s: cut short: its frames end at %.2f s of the %.2f s its header gives", path,
                              shown_until / (double)AV_TIME_BASE, fmt->duration / (double)AV_TIME_BASE);
            break;
        }
        if (err < 0) {
            ret = vs_fail("%s: cut short or damaged: %s", path, vs_av_error(err));
            break;
        }
        int cut = pkt->pos >= 0 && pkt->pos + pkt->size > size;
        if (pkt->stream_index == st->index && pkt->pts != AV_NOPTS_VALUE) {
            int64_t t = av_rescale_q(pkt->pts + pkt->duration - (st->start_time != AV_NOPTS_VALUE ? st->start_time : 0),
                                     st->time_base, AV_TIME_BASE_Q);
            if (shown_until == AV_NOPTS_VALUE || t > shown_until)
                shown_until = t;
        }
        int corrupt = pkt->flags & AV_PKT_FLAG_CORRUPT;
        av_packet_unref(pkt);
        if (cut || corrupt) {
            ret = vs_fail("%s: cut short: its last frame %s", path,
                          cut ? "ends after the end of the file" : "is incomplete");
            break;
        }
    }
    av_packet_free(&pkt);
    return ret;
}

static void fill_info(AVFormatContext *fmt, int s, const char *path, vs_probe_info *info)
{
    AVStream *st = fmt->streams[s];
    AVCodecParameters *par = st->codecpar;
    memset(info, 0, sizeof *info);
    info->width = par->width;
    info->height = par->height;
    /* ffprobe's r_frame_rate (the stream's base rate) unless unknown */
    AVRational r = st->r_frame_rate;
    if (r.num <= 0 || r.den <= 0)
        r = st->avg_frame_rate;
    if (r.num <= 0 || r.den <= 0)
        r = (AVRational){25, 1};
    av_reduce(&r.num, &r.den, r.num, r.den, INT_MAX);
    info->fps_num = r.num;
    info->fps_den = r.den;
    info->bit_rate = par->bit_rate > 0 ? par->bit_rate : fmt->bit_rate > 0 ? fmt->bit_rate : 0;
    const AVCodecDescriptor *cd = avcodec_descriptor_get(par->codec_id);
    snprintf(info->codec, sizeof info->codec, "%s", cd ? cd->name : "unknown");
    const char *pf = av_get_pix_fmt_name((enum AVPixelFormat)par->format);
    snprintf(info->pix_fmt, sizeof info->pix_fmt, "%s", pf ? pf : "unknown");
    container_name(info->container, sizeof info->container, fmt->iformat->name, path);
}

/* The first audio stream's index, -1 when the file has none. */
static int audio_stream(AVFormatContext *fmt)
{
    return av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
}

/* The sound: how many streams, and the first one's codec, rate, channels
 * and duration. Its exact sample count is cheap in an MP4/MOV (the edit
 * list's duration, what a decoder delivers once priming and padding are
 * cut); elsewhere the packet scan adds it up (add_audio_packet). */
static void fill_audio_info(AVFormatContext *fmt, vs_probe_info *info)
{
    info->audio_samples = -1;
    for (unsigned i = 0; i < fmt->nb_streams; i++)
        info->audio_streams += fmt->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO;
    int a = audio_stream(fmt);
    if (a < 0)
        return;
    AVStream *st = fmt->streams[a];
    const AVCodecDescriptor *cd = avcodec_descriptor_get(st->codecpar->codec_id);
    snprintf(info->audio_codec, sizeof info->audio_codec, "%s", cd ? cd->name : "unknown");
    info->audio_rate = st->codecpar->sample_rate;
    info->audio_channels = st->codecpar->ch_layout.nb_channels;
    if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
        info->audio_duration = (double)st->duration * av_q2d(st->time_base);
    else if (fmt->duration > 0)
        info->audio_duration = (double)fmt->duration / AV_TIME_BASE;
    if (is_mov(fmt) && info->audio_rate > 0 && st->duration != AV_NOPTS_VALUE && st->duration > 0)
        info->audio_samples = av_rescale_q(st->duration, st->time_base, (AVRational){1, info->audio_rate});
}

/* The containers whose audio packets add up to what a decoder delivers
 * (checked against decoding: WAV, FLAC, MP3, Matroska/WebM with their
 * skip data and Opus's initial padding). Ogg's granules are not: its
 * count stays unknown, as in AVI and MPEG-TS. */
static int packets_count_audio(const AVFormatContext *fmt)
{
    static const char *const exact[] = {"wav", "flac", "mp3", "matroska,webm"};
    for (size_t i = 0; i < sizeof exact / sizeof *exact; i++)
        if (strcmp(fmt->iformat->name, exact[i]) == 0)
            return 1;
    return 0;
}

/* Adds an audio packet's samples to *samples: its duration less the
 * samples the decoder skips (priming as skip data, else the stream's
 * initial padding, which the Opus decoder skips by itself; padding at the
 * end). *samples becomes -1 (unknown) at a packet whose duration is not a
 * whole number of samples (Matroska's millisecond durations of AAC). */
static void add_audio_packet(const AVPacket *pkt, const AVStream *st, int first, int64_t *samples)
{
    if (*samples < 0)
        return;
    int64_t rate = st->codecpar->sample_rate, scaled = pkt->duration * rate * st->time_base.num;
    if (pkt->duration <= 0 || rate <= 0 || scaled % st->time_base.den != 0) {
        *samples = -1;
        return;
    }
    int64_t n = scaled / st->time_base.den;
    size_t size = 0;
    const uint8_t *skip = av_packet_get_side_data(pkt, AV_PKT_DATA_SKIP_SAMPLES, &size);
    int64_t start = skip && size >= 8 ? AV_RL32(skip) : 0, end = skip && size >= 8 ? AV_RL32(skip + 4) : 0;
    if (first && start == 0)
        start = st->codecpar->initial_padding;
    n -= start + end;
    *samples += n > 0 ? n : 0;
}

/* Variable frame rate from ascending timestamps: the gaps between them
 * differ by more than half the smallest one (and a tick of rounding: a
 * 1 ms time base gives 33 and 34 ms at 29.97 fps). Sets info->vfr and,
 * for VFR, the duration as the timestamps' span (the last frame lasting
 * as long as the gap before it). */
static void set_timing(vs_probe_info *info, const AVStream *st, const int64_t *ts, int64_t n)
{
    info->duration = (double)info->frames * info->fps_den / info->fps_num;
    int64_t lo = INT64_MAX, hi = 0;
    for (int64_t i = 1; i < n; i++) {
        int64_t gap = ts[i] - ts[i - 1];
        if (gap <= 0)
            continue;
        lo = gap < lo ? gap : lo;
        hi = gap > hi ? gap : hi;
    }
    info->vfr = hi > 0 && 2 * hi > 3 * lo + 2;
    if (info->vfr)
        info->duration = (double)(ts[n - 1] - ts[0] + (ts[n - 1] - ts[n - 2])) * av_q2d(st->time_base);
}

/* MP4/MOV know every sample from their index (stsz/stts) before a packet
 * is read: the count of non-empty entries not discarded by an edit list is
 * the packet count without reading the file. Only when the index holds
 * exactly the stream's samples (not for fragmented files, whose index
 * grows as fragments are read, nor when an edit list dropped entries).
 * Returns 1 when counted (info->frames and timing set), 0 when the packets
 * must be read, -1 on error. */
static int mov_count(const char *path, AVFormatContext *fmt, int s, vs_probe_info *info)
{
    if (!is_mov(fmt))
        return 0;
    AVStream *st = fmt->streams[s];
    int ne = avformat_index_get_entries_count(st);
    if (st->nb_frames <= 0 || ne != st->nb_frames)
        return 0;
    int64_t *ts = malloc((size_t)ne * sizeof *ts);
    if (!ts)
        return vs_fail("%s: out of memory", path);
    /* the decode timestamps of all samples, ascending, time the stream (an
     * edit list's discarded samples too: leaving them out would open gaps) */
    int64_t n = 0, nts = 0;
    for (int i = 0; i < ne; i++) {
        const AVIndexEntry *e = avformat_index_get_entry(st, i);
        if (!e || e->size <= 0)
            continue;
        ts[nts++] = e->timestamp;
        n += !(e->flags & AVINDEX_DISCARD_FRAME);
    }
    if (n > 0) {
        info->frames = n;
        set_timing(info, st, ts, nts);
    }
    free(ts);
    return n > 0;
}

/* The descriptor libavformat reads (vs_probe_open_input's custom AVIO). */
static int input_fd(const AVFormatContext *fmt)
{
    return vs_avio_reader_fd(fmt->pb);
}

static int same_file_state(const struct stat *a, const struct stat *b)
{
    return a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec && a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
           a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Demuxes every packet of the video stream: frame count and index
 * (*index_out, NULL when the packets have no usable timestamps; *indexed
 * says the packets were read). With quick set an MP4/MOV is counted from
 * its sample index instead, without reading packets (*indexed = 0). *st is
 * the fstat of the file read, *steady 0 when it changed while being read
 * (then nothing may be cached). */
static int scan(const char *path, vs_probe_info *info, int quick, vs_index **index_out, int *indexed,
                struct stat *st, int *steady)
{
    AVFormatContext *fmt = NULL;
    int s;
    *index_out = NULL;
    *indexed = 0;
    *steady = 0;
    if (vs_probe_open_input(path, &fmt, &s, st) < 0)
        return -1;
    fill_info(fmt, s, path, info);
    fill_audio_info(fmt, info);
    int a = audio_stream(fmt);
    int count_audio = a >= 0 && info->audio_samples < 0 && packets_count_audio(fmt);
    int64_t audio_samples = 0, audio_packets = 0;
    AVPacket *pkt = NULL;
    entry *e = NULL;
    int64_t n = 0, cap = 0;
    int keyed = 0, have_pts = 1;
    /* the count below trusts an MP4's index: only where its data holds it */
    int rc = is_mov(fmt) ? vs_media_check_complete(fmt, fmt->streams[s], path) : 0;
    if (rc < 0)
        goto done;
    int counted = quick ? mov_count(path, fmt, s, info) : 0;
    if (counted != 0) {
        rc = counted < 0 ? -1 : 0;
        goto done;
    }
    *indexed = 1;
    for (unsigned i = 0; i < fmt->nb_streams; i++)
        if ((int)i != s && !((int)i == a && count_audio))
            fmt->streams[i]->discard = AVDISCARD_ALL;
    if (!(pkt = av_packet_alloc())) {
        rc = vs_fail("%s: out of memory", path);
        goto done;
    }
    for (;;) {
        int r = av_read_frame(fmt, pkt);
        if (r == AVERROR_EOF)
            break;
        if (r < 0) {
            /* a damaged tail: what was read is what a decoder would get too */
            if (n > 0)
                break;
            rc = vs_fail("%s: cannot read packets (%s)", path, vs_av_error(r));
            goto done;
        }
        if (pkt->stream_index == a && count_audio && !(pkt->flags & AV_PKT_FLAG_DISCARD))
            add_audio_packet(pkt, fmt->streams[a], audio_packets++ == 0, &audio_samples);
        /* packets before the first keyframe have nothing to be decoded from; a
         * keyframe an edit list discards (`-ss` with `-c copy`) is still decoded
         * as the reference of the frames shown after it */
        if (pkt->stream_index == s && pkt->size > 0 && (pkt->flags & AV_PKT_FLAG_KEY))
            keyed = 1;
        if (pkt->stream_index == s && pkt->size > 0 && keyed && !(pkt->flags & AV_PKT_FLAG_DISCARD)) {
            if (n == cap) {
                int64_t c2 = cap ? cap * 2 : 1024;
                entry *e2 = realloc(e, (size_t)c2 * sizeof *e2);
                if (!e2) {
                    av_packet_unref(pkt);
                    rc = vs_fail("%s: out of memory", path);
                    goto done;
                }
                e = e2;
                cap = c2;
            }
            e[n].pts = pkt->pts;
            e[n].dts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;
            e[n].key = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
            n++;
        }
        av_packet_unref(pkt);
    }
    if (n == 0) {
        rc = vs_fail("%s: the video stream has no frames", path);
        goto done;
    }
    info->frames = n;
    if (count_audio && audio_samples > 0) {
        info->audio_samples = audio_samples;
        info->audio_duration = (double)audio_samples / info->audio_rate;
    }
    for (int64_t i = 0; i < n; i++)
        if (e[i].pts == AV_NOPTS_VALUE)
            have_pts = 0;
    if (have_pts) {
        qsort(e, (size_t)n, sizeof *e, cmp_entry);
        for (int64_t i = 1; i < n; i++)
            if (e[i].pts == e[i - 1].pts)
                have_pts = 0; /* duplicate timestamps cannot identify frames */
    }
    if (!have_pts) {
        set_timing(info, fmt->streams[s], NULL, 0);
        goto done;
    }
    vs_index *ix = calloc(1, sizeof *ix);
    if (!ix || !(ix->pts = malloc((size_t)n * 8)) || !(ix->dts = malloc((size_t)n * 8)) ||
        !(ix->key = malloc((size_t)n))) {
        vs_index_free(ix);
        rc = vs_fail("%s: out of memory", path);
        goto done;
    }
    ix->n = n;
    for (int64_t i = 0; i < n; i++) {
        ix->pts[i] = e[i].pts;
        ix->dts[i] = e[i].dts;
        ix->key[i] = (uint8_t)e[i].key;
    }
    set_timing(info, fmt->streams[s], ix->pts, n);
    *index_out = ix;
done:
    if (rc == 0) {
        struct stat after;
        *steady = fstat(input_fd(fmt), &after) == 0 && same_file_state(st, &after);
    }
    free(e);
    av_packet_free(&pkt);
    vs_probe_close_input(&fmt);
    return rc;
}

int vs_probe_index(const char *path, int use_cache, vs_probe_info *info, vs_index **index, vs_index_need need)
{
    if (index)
        *index = NULL;
    if (!path || !info || (!index && need != VS_INDEX_NONE))
        return vs_fail("probe: path and info are required");
    char abspath[PATH_MAX];
    struct stat st;
    int cached = 0;
    if (use_cache && realpath(path, abspath) && stat(abspath, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        cached = 1;
        if (vs_cache_lookup(abspath, &st, info, index, need))
            return 0;
    }
    /* The index is built whenever the packets are read anyway, so the
     * cache keeps it for later seeks; a plain probe of an MP4/MOV counts
     * from its sample index instead and the decoder's first seek adds it.
     * The row is keyed by the stat of the descriptor that was read. */
    vs_index *ix = NULL;
    int indexed, steady;
    if (scan(path, info, need != VS_INDEX_BUILD, &ix, &indexed, &st, &steady) < 0)
        return -1;
    if (cached && steady)
        vs_cache_store(abspath, &st, info, ix, indexed);
    if (index)
        *index = ix;
    else
        vs_index_free(ix);
    return 0;
}

int vs_probe(const char *path, int use_cache, vs_probe_info *info)
{
    return vs_probe_index(path, use_cache, info, NULL, VS_INDEX_NONE);
}

/* An audio-only file: the container and the first audio stream, its
 * exact count from the packets (demuxed, not decoded). Not cached: the
 * cache's rows are videos. */
static int probe_sound_only(const char *path, vs_probe_info *info)
{
    AVFormatContext *fmt = NULL;
    if (vs_probe_open_media(path, "audio", &fmt, NULL) < 0)
        return -1;
    memset(info, 0, sizeof *info);
    container_name(info->container, sizeof info->container, fmt->iformat->name, path);
    fill_audio_info(fmt, info);
    int a = audio_stream(fmt);
    AVPacket *pkt = a >= 0 && info->audio_samples < 0 && packets_count_audio(fmt) ? av_packet_alloc() : NULL;
    if (pkt) {
        for (unsigned i = 0; i < fmt->nb_streams; i++)
            if ((int)i != a)
                fmt->streams[i]->discard = AVDISCARD_ALL;
        int64_t samples = 0, packets = 0;
        while (av_read_frame(fmt, pkt) >= 0) {
            if (pkt->stream_index == a && !(pkt->flags & AV_PKT_FLAG_DISCARD))
                add_audio_packet(pkt, fmt->streams[a], packets++ == 0, &samples);
            av_packet_unref(pkt);
        }
        if (samples > 0 && info->audio_rate > 0) {
            info->audio_samples = samples;
            info->audio_duration = (double)samples / info->audio_rate;
        }
        av_packet_free(&pkt);
    }
    vs_probe_close_input(&fmt);
    return a < 0 ? vs_fail("%s: has no audio stream", path) : 0;
}

int vs_probe_audio(const char *path, int use_cache, vs_probe_info *info)
{
    if (!path || !info)
        return vs_fail("probe: path and info are required");
    /* a video (cached as such), else a file of sound alone */
    if (vs_probe(path, use_cache, info) == 0)
        return info->audio_streams > 0 ? 0 : vs_fail("%s: has no audio stream", path);
    char why[512];
    snprintf(why, sizeof why, "%s", vs_last_error());
    if (!strstr(why, "no video stream"))
        return vs_fail("%s", why);
    return probe_sound_only(path, info);
}
