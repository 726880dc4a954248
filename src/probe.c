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
 * The same scan records every packet's presentation timestamp and keyframe
 * flag: sorted, those are the frame index decode.c seeks with. Metadata and
 * index go to the probe cache (cache.c), so the second probe of an
 * unchanged file reads one SQLite row. An MP4/MOV whose sample index is
 * complete is counted from that index without reading its packets (the
 * same count: samples an edit list discards are flagged there too); its
 * frame index is then built by the first decoder that opens it.
 * avformat_find_stream_info decodes a frame or so for the pixel format;
 * the count itself never decodes.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>

#include "error.h"
#include "libav_log.h"
#include "probe.h"

void vs_index_free(vs_index *index)
{
    if (!index)
        return;
    free(index->pts);
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
    int64_t pts;
    int key;
} entry;

static int cmp_entry(const void *a, const void *b)
{
    return cmp_i64(&((const entry *)a)->pts, &((const entry *)b)->pts);
}

int vs_probe_open_input(const char *path, AVFormatContext **fmt_out, int *stream_out)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return vs_fail("%s: %s", path, errno == ENOENT ? "no such file" : strerror(errno));
    if (S_ISDIR(st.st_mode))
        return vs_fail("%s: is a directory, not a video file", path);
    if (st.st_size == 0)
        return vs_fail("%s: empty file (0 bytes), not a video", path);
    AVFormatContext *fmt = NULL;
    vs_av_reason_clear();
    int rc = avformat_open_input(&fmt, path, NULL, NULL);
    if (rc < 0) {
        if (rc == AVERROR_INVALIDDATA)
            return vs_fail("%s: not a readable video file (unknown format, or truncated: an MP4 cut short has no index)",
                           path);
        return vs_fail("%s: cannot open (%s)", path, vs_av_error(rc));
    }
    if ((rc = avformat_find_stream_info(fmt, NULL)) < 0) {
        const char *why = vs_av_error(rc);
        avformat_close_input(&fmt);
        return vs_fail("%s: cannot read the stream headers (%s)", path, why);
    }
    int s = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (s >= 0 && (fmt->streams[s]->disposition & AV_DISPOSITION_ATTACHED_PIC))
        s = -1;
    if (s < 0) {
        avformat_close_input(&fmt);
        return vs_fail("%s: no video stream in the file", path);
    }
    AVCodecParameters *par = fmt->streams[s]->codecpar;
    if (par->width <= 0 || par->height <= 0) {
        avformat_close_input(&fmt);
        return vs_fail("%s: the video stream has no frame size (damaged or unsupported)", path);
    }
    *fmt_out = fmt;
    *stream_out = s;
    return 0;
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

/* MP4/MOV know every sample from their index (stsz/stts) before a packet
 * is read: the count of non-empty entries not discarded by an edit list is
 * the packet count without reading the file. Only when the index holds
 * exactly the stream's samples (not for fragmented files, whose index
 * grows as fragments are read, nor when an edit list dropped entries);
 * -1 otherwise. */
static int64_t mov_count(AVFormatContext *fmt, int s)
{
    if (strncmp(fmt->iformat->name, "mov,", 4) != 0)
        return -1;
    AVStream *st = fmt->streams[s];
    int ne = avformat_index_get_entries_count(st);
    if (st->nb_frames <= 0 || ne != st->nb_frames)
        return -1;
    int64_t n = 0;
    for (int i = 0; i < ne; i++) {
        const AVIndexEntry *e = avformat_index_get_entry(st, i);
        if (e && e->size > 0 && !(e->flags & AVINDEX_DISCARD_FRAME))
            n++;
    }
    return n > 0 ? n : -1;
}

/* Demuxes every packet of the video stream: frame count and index
 * (*index_out, NULL when the packets have no usable timestamps; *indexed
 * says the packets were read). With quick set an MP4/MOV is counted from
 * its sample index instead, without reading packets (*indexed = 0). */
static int scan(const char *path, vs_probe_info *info, int quick, vs_index **index_out, int *indexed)
{
    AVFormatContext *fmt = NULL;
    int s;
    *index_out = NULL;
    *indexed = 0;
    if (vs_probe_open_input(path, &fmt, &s) < 0)
        return -1;
    fill_info(fmt, s, path, info);
    int64_t counted = quick ? mov_count(fmt, s) : -1;
    if (counted > 0) {
        info->frames = counted;
        info->duration = (double)counted * info->fps_den / info->fps_num;
        avformat_close_input(&fmt);
        return 0;
    }
    *indexed = 1;
    for (unsigned i = 0; i < fmt->nb_streams; i++)
        if ((int)i != s)
            fmt->streams[i]->discard = AVDISCARD_ALL;
    AVPacket *pkt = av_packet_alloc();
    entry *e = NULL;
    int64_t n = 0, cap = 0;
    int rc = 0, have_pts = 1;
    if (!pkt) {
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
        if (pkt->stream_index == s && pkt->size > 0 && !(pkt->flags & AV_PKT_FLAG_DISCARD)) {
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
            if (pkt->pts == AV_NOPTS_VALUE)
                have_pts = 0;
            e[n].pts = pkt->pts;
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
    info->duration = (double)n * info->fps_den / info->fps_num;
    if (index_out && have_pts) {
        qsort(e, (size_t)n, sizeof *e, cmp_entry);
        for (int64_t i = 1; i < n; i++)
            if (e[i].pts == e[i - 1].pts)
                have_pts = 0; /* duplicate timestamps cannot identify frames */
    }
    if (index_out && have_pts) {
        vs_index *ix = calloc(1, sizeof *ix);
        if (!ix || !(ix->pts = malloc((size_t)n * 8)) || !(ix->key = malloc((size_t)n))) {
            vs_index_free(ix);
            rc = vs_fail("%s: out of memory", path);
            goto done;
        }
        ix->n = n;
        for (int64_t i = 0; i < n; i++) {
            ix->pts[i] = e[i].pts;
            ix->key[i] = (uint8_t)e[i].key;
        }
        *index_out = ix;
    }
done:
    free(e);
    av_packet_free(&pkt);
    avformat_close_input(&fmt);
    return rc;
}

int vs_probe_index(const char *path, int use_cache, vs_probe_info *info, vs_index **index)
{
    if (index)
        *index = NULL;
    if (!path || !info)
        return vs_fail("probe: path and info are required");
    char abspath[PATH_MAX];
    struct stat st;
    int cached = 0;
    if (use_cache && realpath(path, abspath) && stat(abspath, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        cached = 1;
        if (vs_cache_lookup(abspath, &st, info, index))
            return 0;
    }
    /* The index is built whenever the packets are read anyway, so the
     * cache keeps it for later seeks; a plain probe of an MP4/MOV counts
     * from its sample index instead and the decoder's first open adds it. */
    vs_index *ix = NULL;
    int indexed;
    if (scan(path, info, index == NULL, &ix, &indexed) < 0)
        return -1;
    if (cached)
        vs_cache_store(abspath, &st, info, ix, indexed);
    if (index)
        *index = ix;
    else
        vs_index_free(ix);
    return 0;
}

int vs_probe(const char *path, int use_cache, vs_probe_info *info)
{
    return vs_probe_index(path, use_cache, info, NULL);
}
