/*
 * concat.c: joins rendered segments into one video by stream copy.
 *
 * Segments rendered with `vstudio run --frames A:B` (or --segment K/N) each
 * start with an IDR frame and carry the same encoder headers, so their
 * compressed packets can simply be laid end to end: no decode, no
 * re-encode, and the joined file decodes to exactly the frames of a single
 * render. That only holds when the parts really are compatible, so the
 * join runs in two passes:
 *
 *   1. check: open every part, take its first video stream and its first
 *      packet, and compare with the first part: codec, size, pixel format,
 *      frame rate, colour tags, the encoder settings vstudio records in
 *      every video it writes (codec, preset, crf, bit rate, GOP, pixel
 *      format, codec options: see concat.h; parts from other tools have
 *      none and skip this), x264's settings string, profile, level and the
 *      decoder configuration bytes (extradata: for H.264 in MP4 the avcC
 *      box holding SPS and PPS, which must be byte-identical for a clean
 *      join). The first difference is reported with both values and
 *      nothing is written.
 *   2. copy: remux the packets of each part in the given order into
 *      the output, shifting each part's timestamps by the presentation time
 *      already written, so the timeline is continuous. With B-frames a
 *      part's decode timestamps start before its first presentation
 *      timestamp (negative dts in MP4); the shift keeps that delay, and if
 *      two parts' delays differ, dts is nudged forward by one tick to stay
 *      strictly increasing (never past the packet's pts). A private
 *      temporary (outfile.h), written through our descriptor, is renamed
 *      to OUT only when the trailer is written; any failure removes it.
 *      MP4/MOV outputs get the index first (faststart), as `vstudio run`
 *      writes them.
 *
 * Only the video stream is joined; other streams (audio, data) are left out
 * and the result says how many were dropped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/pixdesc.h>

#include "avio_fd.h"
#include "concat.h"
#include "error.h"
#include "libav_log.h"
#include "outfile.h"
#include "vstudio.h"

/* One opened part: its demuxer and video stream. */
struct part {
    const char *path;
    AVFormatContext *fmt;
    AVStream *st;
    int dropped; /* streams other than the video one */
};

/* What the check pass keeps of a part to compare the next ones with. */
struct signature {
    AVCodecParameters *par;
    AVRational fps;
    char *x264; /* x264's "options: ..." string from the first packet, or NULL */
    char *settings; /* what vstudio's encoder recorded (concat.h), or NULL */
};

static const char SETTINGS_PREFIX[] = VS_SETTINGS_TAG " ";

/* The mp4 muxer family, which drops stream tags but the handler name. */
static int keeps_handler_name_only(const AVOutputFormat *of)
{
    static const char *const names[] = {"mp4", "mov", "ipod", "ismv", "3gp", "3g2", "psp", "f4v"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcmp(of->name, names[i]) == 0)
            return 1;
    return 0;
}

int vs_settings_tag_set(AVStream *st, const AVOutputFormat *of, const char *settings)
{
    if (!keeps_handler_name_only(of))
        return av_dict_set(&st->metadata, VS_SETTINGS_TAG, settings, 0) < 0 ? -1 : 0;
    char name[sizeof SETTINGS_PREFIX + VS_SETTINGS_MAX];
    snprintf(name, sizeof name, "%s%s", SETTINGS_PREFIX, settings);
    return av_dict_set(&st->metadata, "handler_name", name, 0) < 0 ? -1 : 0;
}

const char *vs_settings_tag_get(const AVStream *st)
{
    const AVDictionaryEntry *e = av_dict_get(st->metadata, VS_SETTINGS_TAG, NULL, 0);
    if (e)
        return e->value;
    e = av_dict_get(st->metadata, "handler_name", NULL, 0);
    if (e && strncmp(e->value, SETTINGS_PREFIX, sizeof SETTINGS_PREFIX - 1) == 0)
        return e->value + sizeof SETTINGS_PREFIX - 1;
    return NULL;
}

static void close_part(struct part *p)
{
    avformat_close_input(&p->fmt);
    p->st = NULL;
}

static int open_part(struct part *p, const char *path)
{
    memset(p, 0, sizeof *p);
    p->path = path;
    struct stat sb;
    if (stat(path, &sb) < 0)
        return vs_fail("%s: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return vs_fail("%s: not a regular file", path);
    int err = avformat_open_input(&p->fmt, path, NULL, NULL);
    if (err < 0)
        return vs_fail("%s: not a video file (%s)", path, vs_av_error(err));
    /* MP4/MOV headers hold sizes, timestamps and decode order: a short look
     * at the first frame is enough and halves the time of a join. */
    if (strcmp(p->fmt->iformat->name, "mov,mp4,m4a,3gp,3g2,mj2") == 0) {
        p->fmt->probesize = 32;
        p->fmt->max_analyze_duration = 1;
    }
    err = avformat_find_stream_info(p->fmt, NULL);
    if (err < 0) {
        close_part(p);
        return vs_fail("%s: cannot read the stream layout (%s)", path, vs_av_error(err));
    }
    int vi = av_find_best_stream(p->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    /* The tty demuxer reads any text file as "ANSI art" video. */
    if (vi < 0 || p->fmt->streams[vi]->codecpar->codec_id == AV_CODEC_ID_ANSI ||
        (p->fmt->streams[vi]->disposition & AV_DISPOSITION_ATTACHED_PIC)) {
        close_part(p);
        return vs_fail("%s: no video stream", path);
    }
    p->st = p->fmt->streams[vi];
    p->dropped = (int)p->fmt->nb_streams - 1;
    return 0;
}

/* Next packet of the part's video stream: 0, 1 at the end, -1 on error. */
static int read_video_packet(struct part *p, AVPacket *pkt)
{
    for (;;) {
        int err = av_read_frame(p->fmt, pkt);
        if (err == AVERROR_EOF)
            return 1;
        if (err < 0)
            return vs_fail("%s: read error (%s)", p->path, vs_av_error(err));
        if (pkt->stream_index == p->st->index)
            return 0;
        av_packet_unref(pkt);
    }
}

/* x264 writes its full settings as text in an SEI of the first frame. */
static char *find_x264_options(const AVPacket *pkt)
{
    static const char key[] = "options: ";
    const uint8_t *core = memmem(pkt->data, pkt->size, "x264 - core ", 12);
    if (!core)
        return NULL;
    size_t left = (size_t)(pkt->data + pkt->size - core);
    const uint8_t *end = memchr(core, 0, left);
    if (!end)
        end = core + left;
    const uint8_t *opts = memmem(core, (size_t)(end - core), key, sizeof key - 1);
    if (!opts)
        return NULL;
    opts += sizeof key - 1;
    char *s = malloc((size_t)(end - opts) + 1);
    if (!s)
        return NULL;
    memcpy(s, opts, (size_t)(end - opts));
    s[end - opts] = '\0';
    return s;
}

/* Thread counts differ between machines and do not change the stream's format. */
static int x264_key_ignored(const char *tok, size_t len)
{
    static const char *const ignored[] = {"threads", "lookahead_threads"};
    for (size_t i = 0; i < sizeof ignored / sizeof *ignored; i++) {
        size_t n = strlen(ignored[i]);
        if (len > n && tok[n] == '=' && strncmp(tok, ignored[i], n) == 0)
            return 1;
    }
    return 0;
}

/* Next "key=value" token of a settings string that matters, or NULL. */
static const char *next_token(const char *s, size_t *len, int x264)
{
    for (;;) {
        while (*s == ' ')
            s++;
        if (!*s)
            return NULL;
        size_t n = strcspn(s, " ");
        if (!x264 || !x264_key_ignored(s, n)) {
            *len = n;
            return s;
        }
        s += n;
    }
}

/* The first setting that differs, written as "a" and "b"; 0 if none. */
static int diff_settings(const char *a, const char *b, char *va, char *vb, size_t size, int x264)
{
    size_t la = 0, lb = 0;
    const char *ta = a, *tb = b;
    for (;;) {
        ta = next_token(ta, &la, x264);
        tb = next_token(tb, &lb, x264);
        if (!ta && !tb)
            return 0;
        if (!ta || !tb || la != lb || memcmp(ta, tb, la) != 0) {
            snprintf(va, size, "%.*s", ta ? (int)la : 6, ta ? ta : "(none)");
            snprintf(vb, size, "%.*s", tb ? (int)lb : 6, tb ? tb : "(none)");
            return 1;
        }
        ta += la;
        tb += lb;
    }
}

static const char *name_or(const char *name, const char *fallback) { return name ? name : fallback; }

static void signature_free(struct signature *s)
{
    avcodec_parameters_free(&s->par);
    free(s->x264);
    s->x264 = NULL;
    free(s->settings);
    s->settings = NULL;
}

static AVRational part_fps(const AVStream *st)
{
    return st->r_frame_rate.num > 0 ? st->r_frame_rate : st->avg_frame_rate;
}

/* Reads what a part must agree on, including its first packet. */
static int take_signature(struct part *p, struct signature *sig)
{
    memset(sig, 0, sizeof *sig);
    AVPacket *pkt = av_packet_alloc();
    sig->par = avcodec_parameters_alloc();
    if (!pkt || !sig->par || avcodec_parameters_copy(sig->par, p->st->codecpar) < 0) {
        av_packet_free(&pkt);
        signature_free(sig);
        return vs_fail("%s: out of memory", p->path);
    }
    sig->fps = part_fps(p->st);
    const char *settings = vs_settings_tag_get(p->st);
    if (settings && !(sig->settings = strdup(settings))) {
        av_packet_free(&pkt);
        signature_free(sig);
        return vs_fail("%s: out of memory", p->path);
    }
    int r = read_video_packet(p, pkt);
    if (r != 0) {
        av_packet_free(&pkt);
        signature_free(sig);
        return r < 0 ? -1 : vs_fail("%s: the video stream has no frames", p->path);
    }
    if (!(pkt->flags & AV_PKT_FLAG_KEY)) {
        av_packet_free(&pkt);
        signature_free(sig);
        return vs_fail("%s: does not start with a keyframe, so it cannot be joined without re-encoding "
                       "(render segments with vstudio run --frames or --segment)", p->path);
    }
    if (sig->par->codec_id == AV_CODEC_ID_H264)
        sig->x264 = find_x264_options(pkt);
    av_packet_free(&pkt);
    return 0;
}

/* What the extradata of a codec holds, for messages. */
static const char *extradata_name(enum AVCodecID id, char *buf, size_t size)
{
    if (id == AV_CODEC_ID_H264)
        return "H.264 SPS/PPS";
    if (id == AV_CODEC_ID_HEVC)
        return "HEVC VPS/SPS/PPS";
    snprintf(buf, size, "%s headers", avcodec_get_name(id));
    return buf;
}

/* Compares part b with the first part a; names the first difference. */
static int compare(const char *pa, const struct signature *a, const char *pb, const struct signature *b)
{
    const AVCodecParameters *x = a->par, *y = b->par;
    char va[256], vb[256], what_buf[96];
    const char *what = NULL;
    if (x->codec_id != y->codec_id) {
        what = "codec";
        snprintf(va, sizeof va, "%s", avcodec_get_name(x->codec_id));
        snprintf(vb, sizeof vb, "%s", avcodec_get_name(y->codec_id));
    } else if (x->width != y->width || x->height != y->height) {
        what = "size";
        snprintf(va, sizeof va, "%dx%d", x->width, x->height);
        snprintf(vb, sizeof vb, "%dx%d", y->width, y->height);
    } else if (x->format != y->format) {
        what = "pixel format";
        snprintf(va, sizeof va, "%s", name_or(av_get_pix_fmt_name(x->format), "unknown"));
        snprintf(vb, sizeof vb, "%s", name_or(av_get_pix_fmt_name(y->format), "unknown"));
    } else if (a->fps.num > 0 && b->fps.num > 0 && av_cmp_q(a->fps, b->fps) != 0) {
        what = "frame rate";
        snprintf(va, sizeof va, "%d/%d", a->fps.num, a->fps.den);
        snprintf(vb, sizeof vb, "%d/%d", b->fps.num, b->fps.den);
    } else if (x->color_range != y->color_range) {
        what = "colour range";
        snprintf(va, sizeof va, "%s", name_or(av_color_range_name(x->color_range), "unknown"));
        snprintf(vb, sizeof vb, "%s", name_or(av_color_range_name(y->color_range), "unknown"));
    } else if (x->color_primaries != y->color_primaries) {
        what = "colour primaries";
        snprintf(va, sizeof va, "%s", name_or(av_color_primaries_name(x->color_primaries), "unknown"));
        snprintf(vb, sizeof vb, "%s", name_or(av_color_primaries_name(y->color_primaries), "unknown"));
    } else if (x->color_trc != y->color_trc) {
        what = "transfer characteristics";
        snprintf(va, sizeof va, "%s", name_or(av_color_transfer_name(x->color_trc), "unknown"));
        snprintf(vb, sizeof vb, "%s", name_or(av_color_transfer_name(y->color_trc), "unknown"));
    } else if (x->color_space != y->color_space) {
        what = "colour matrix";
        snprintf(va, sizeof va, "%s", name_or(av_color_space_name(x->color_space), "unknown"));
        snprintf(vb, sizeof vb, "%s", name_or(av_color_space_name(y->color_space), "unknown"));
    } else if (x->field_order != y->field_order) {
        what = "field order";
        snprintf(va, sizeof va, "%d", (int)x->field_order);
        snprintf(vb, sizeof vb, "%d", (int)y->field_order);
    } else if (x->sample_aspect_ratio.num > 0 && y->sample_aspect_ratio.num > 0 &&
               av_cmp_q(x->sample_aspect_ratio, y->sample_aspect_ratio) != 0) {
        what = "sample aspect ratio";
        snprintf(va, sizeof va, "%d:%d", x->sample_aspect_ratio.num, x->sample_aspect_ratio.den);
        snprintf(vb, sizeof vb, "%d:%d", y->sample_aspect_ratio.num, y->sample_aspect_ratio.den);
    } else if (a->settings && b->settings && diff_settings(a->settings, b->settings, va, vb, sizeof va, 0)) {
        what = "encoder setting";
    } else if ((a->x264 != NULL) != (b->x264 != NULL)) {
        what = "encoder";
        snprintf(va, sizeof va, "%s", a->x264 ? "x264" : "not x264");
        snprintf(vb, sizeof vb, "%s", b->x264 ? "x264" : "not x264");
    } else if (a->x264 && diff_settings(a->x264, b->x264, va, vb, sizeof va, 1)) {
        what = "x264 setting";
    } else if (x->profile != y->profile) {
        what = "profile";
        snprintf(va, sizeof va, "%s", name_or(avcodec_profile_name(x->codec_id, x->profile), "unknown"));
        snprintf(vb, sizeof vb, "%s", name_or(avcodec_profile_name(y->codec_id, y->profile), "unknown"));
    } else if (x->level != y->level) {
        what = "level";
        snprintf(va, sizeof va, "%d", x->level);
        snprintf(vb, sizeof vb, "%d", y->level);
    } else if (x->extradata_size != y->extradata_size ||
               (x->extradata_size > 0 && memcmp(x->extradata, y->extradata, (size_t)x->extradata_size) != 0)) {
        char kind[64];
        snprintf(what_buf, sizeof what_buf, "encoder headers (extradata: %s)",
                 extradata_name(x->codec_id, kind, sizeof kind));
        what = what_buf;
        snprintf(va, sizeof va, "%d bytes", x->extradata_size);
        snprintf(vb, sizeof vb, "%d bytes%s", y->extradata_size,
                 x->extradata_size == y->extradata_size ? ", different content" : "");
    }
    if (!what)
        return 0;
    return vs_fail("%s: %s %s differs from %s (%s); parts must be rendered with the same settings", pb, what,
                   vb, pa, va);
}

/* Pass 1: every part opens, has video frames starting on a keyframe, and
 * matches the first. *recorded: every part carries the encoder settings. */
static int check_parts(const char *const *parts, int n, int *recorded)
{
    struct signature first = {0};
    int ret = -1;
    *recorded = 1;
    for (int i = 0; i < n; i++) {
        struct part p;
        struct signature sig;
        if (open_part(&p, parts[i]) < 0)
            goto done;
        int r = take_signature(&p, &sig);
        close_part(&p);
        if (r < 0)
            goto done;
        if (!sig.settings)
            *recorded = 0;
        if (i == 0) {
            first = sig;
            continue;
        }
        r = compare(parts[0], &first, parts[i], &sig);
        signature_free(&sig);
        if (r < 0)
            goto done;
    }
    ret = 0;
done:
    signature_free(&first);
    return ret;
}

static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* The output stream, set up from the first part. recorded: every part had
 * the same encoder settings, so the joined file can say so too (and be
 * joined again). */
static int setup_output(AVFormatContext *out, const struct part *p, int recorded)
{
    const AVCodecParameters *in = p->st->codecpar;
    AVStream *ost = avformat_new_stream(out, NULL);
    if (!ost || avcodec_parameters_copy(ost->codecpar, in) < 0)
        return vs_fail("out of memory");
    /* Keep the input's tag (hvc1 vs hev1, avc1) when the container knows it. */
    const AVOutputFormat *of = out->oformat;
    if (of->codec_tag && av_codec_get_id(of->codec_tag, in->codec_tag) != in->codec_id)
        ost->codecpar->codec_tag = 0;
    ost->time_base = p->st->time_base;
    ost->avg_frame_rate = part_fps(p->st);
    ost->disposition = p->st->disposition;
    for (int i = 0; i < p->st->nb_side_data; i++) {
        const AVPacketSideData *sd = &p->st->side_data[i];
        uint8_t *dst = av_stream_new_side_data(ost, sd->type, sd->size);
        if (!dst)
            return vs_fail("out of memory");
        memcpy(dst, sd->data, sd->size);
    }
    const char *settings = vs_settings_tag_get(p->st);
    if (recorded && settings && vs_settings_tag_set(ost, out->oformat, settings) < 0)
        return vs_fail("out of memory");
    if (av_dict_copy(&out->metadata, p->fmt->metadata, 0) < 0)
        return vs_fail("out of memory");
    /* The muxer writes its own brand, encoder and time. */
    static const char *const own[] = {"major_brand", "minor_version", "compatible_brands", "encoder",
                                      "creation_time"};
    for (size_t i = 0; i < sizeof own / sizeof *own; i++)
        av_dict_set(&out->metadata, own[i], NULL, 0);
    return 0;
}

/*
 * Matroska stores no decode timestamps and the demuxer cannot know them
 * for the first packets of a stream with B-frames. As libavformat's muxer
 * does, take the smallest of the last delay+1 presentation times: packets
 * are in decode order, so that is a valid, increasing decode time.
 */
enum { MAX_DELAY = 16 };
struct reorder {
    int delay;
    int64_t pts[MAX_DELAY + 1];
};

static void reorder_init(struct reorder *r, int delay)
{
    r->delay = delay < 0 ? 0 : delay > MAX_DELAY ? MAX_DELAY : delay;
    for (int i = 0; i <= MAX_DELAY; i++)
        r->pts[i] = AV_NOPTS_VALUE;
}

static int64_t guess_dts(struct reorder *r, int64_t pts, int64_t dur)
{
    int d = r->delay;
    r->pts[0] = pts;
    for (int i = 1; i < d + 1 && r->pts[i] == AV_NOPTS_VALUE; i++)
        r->pts[i] = pts + (i - d - 1) * dur;
    for (int i = 0; i < d && r->pts[i] > r->pts[i + 1]; i++) {
        int64_t t = r->pts[i];
        r->pts[i] = r->pts[i + 1];
        r->pts[i + 1] = t;
    }
    return r->pts[0];
}

/*
 * Copies one part's video packets, shifted so its first frame shows at
 * *clock (in tb); advances *clock to the end of its last frame.
 */
static int copy_part(AVFormatContext *out, struct part *p, AVRational tb, int64_t *clock, int64_t *last_dts,
                     int64_t *frames, const vs_concat_job *job)
{
    AVStream *ost = out->streams[0];
    AVRational itb = p->st->time_base;
    AVRational fps = part_fps(p->st);
    int64_t frame_dur = fps.num > 0 ? av_rescale_q(1, av_inv_q(fps), tb) : 0;
    int64_t start = AV_NOPTS_VALUE, offset = 0, end = *clock;
    struct reorder reorder;
    reorder_init(&reorder, p->st->codecpar->video_delay);
    AVPacket *pkt = av_packet_alloc();
    if (!pkt)
        return vs_fail("out of memory");
    int ret = -1;
    for (int64_t k = 0;; k++) {
        if (job && job->stop && *job->stop) {
            vs_fail("interrupted");
            goto done;
        }
        int r = read_video_packet(p, pkt);
        if (r < 0)
            goto done;
        if (r > 0)
            break;
        if (pkt->flags & AV_PKT_FLAG_DISCARD) {
            vs_fail("%s: frame %lld is hidden by an edit list (a stream-copy cut?), so the part cannot be "
                    "joined exactly; render it again as a segment", p->path, (long long)k);
            goto done;
        }
        if (pkt->pts == AV_NOPTS_VALUE) {
            vs_fail("%s: frame %lld has no timestamp (a raw stream? put it in an MP4 or MKV first)", p->path,
                    (long long)k);
            goto done;
        }
        int64_t pts = av_rescale_q(pkt->pts, itb, tb);
        int64_t dur = pkt->duration > 0 ? av_rescale_q(pkt->duration, itb, tb) : frame_dur;
        int64_t dts = pkt->dts != AV_NOPTS_VALUE ? av_rescale_q(pkt->dts, itb, tb) : guess_dts(&reorder, pts, dur);
        if (start == AV_NOPTS_VALUE) {
            /* The stream's start time is the first presentation time, after any edit list. */
            start = p->st->start_time != AV_NOPTS_VALUE ? av_rescale_q(p->st->start_time, itb, tb) : pts;
            offset = *clock - start;
        }
        pts += offset;
        dts += offset;
        if (pts < *clock) {
            vs_fail("%s: frame %lld shows before the part's first frame (open GOP?), so the part cannot be "
                    "joined exactly", p->path, (long long)k);
            goto done;
        }
        if (*last_dts != AV_NOPTS_VALUE && dts <= *last_dts)
            dts = *last_dts + 1;
        if (dts > pts) {
            vs_fail("%s: frame %lld: the decode delay of this part does not fit after the previous part "
                    "(different B-frame settings?)", p->path, (long long)k);
            goto done;
        }
        *last_dts = dts;
        if (pts + dur > end)
            end = pts + dur;
        pkt->pts = pts;
        pkt->dts = dts;
        pkt->duration = dur;
        pkt->stream_index = 0;
        pkt->pos = -1;
        av_packet_rescale_ts(pkt, tb, ost->time_base);
        int err = av_interleaved_write_frame(out, pkt);
        if (err < 0) {
            vs_fail("%s: frame %lld: cannot write (%s)", p->path, (long long)k, vs_av_error(err));
            goto done;
        }
        ++*frames;
    }
    if (start == AV_NOPTS_VALUE) {
        vs_fail("%s: the video stream has no frames", p->path);
        goto done;
    }
    *clock = end;
    ret = 0;
done:
    av_packet_free(&pkt);
    return ret;
}

int vs_concat_run(const char *out, const char *const *parts, int n_parts, const vs_concat_job *job,
                  vs_concat_result *result)
{
    if (n_parts < 1)
        return vs_fail("no parts to join");
    for (int i = 0; i < n_parts; i++)
        if (same_file(parts[i], out))
            return vs_fail("%s: the output is also part %d; choose another output name", out, i + 1);
    const AVOutputFormat *of = av_guess_format(NULL, out, NULL);
    if (!of || (of->flags & AVFMT_NOFILE))
        return vs_fail("%s: cannot tell the container from the name (use .mp4, .mkv or .mov)", out);
    int recorded;
    if (check_parts(parts, n_parts, &recorded) < 0)
        return -1;

    vs_outfile *tmp = NULL; /* the private temporary, renamed to out at the end */
    AVFormatContext *octx = NULL;
    struct part p = {0};
    int ret = -1;
    int64_t clock = 0, last_dts = AV_NOPTS_VALUE, frames = 0;
    AVRational tb = {0, 1};
    int dropped = 0;

    int err = avformat_alloc_output_context2(&octx, of, NULL, out);
    if (err < 0) {
        vs_fail("%s: %s", out, vs_av_error(err));
        goto fail;
    }
    for (int i = 0; i < n_parts; i++) {
        if (job && job->on_part)
            job->on_part(job->ctx, i, n_parts);
        if (open_part(&p, parts[i]) < 0)
            goto fail;
        dropped += p.dropped;
        if (i == 0) {
            if (avformat_query_codec(of, p.st->codecpar->codec_id, FF_COMPLIANCE_NORMAL) == 0) {
                vs_fail("%s: the %s container cannot hold %s video", out, of->name,
                        avcodec_get_name(p.st->codecpar->codec_id));
                goto fail;
            }
            if (setup_output(octx, &p, recorded) < 0)
                goto fail;
            tb = p.st->time_base;
            if (!(tmp = vs_outfile_create(out)))
                goto fail;
            err = vs_avio_attach(octx, vs_outfile_fd(tmp), 1);
            if (err < 0) {
                vs_fail("%s: %s", out, vs_av_error(err));
                goto fail;
            }
            /* moov first, as a single render has it: playable while downloading */
            AVDictionary *mopts = NULL;
            if (strcmp(of->name, "mp4") == 0 || strcmp(of->name, "mov") == 0)
                av_dict_set(&mopts, "movflags", "+faststart", 0);
            err = avformat_write_header(octx, &mopts);
            av_dict_free(&mopts);
            if (err < 0) {
                vs_fail("%s: cannot write the header (%s)", out, vs_av_error(err));
                goto fail;
            }
        }
        if (copy_part(octx, &p, tb, &clock, &last_dts, &frames, job) < 0)
            goto fail;
        close_part(&p);
    }
    err = av_write_trailer(octx);
    if (err < 0) {
        vs_fail("%s: cannot finish the file (%s)", out, vs_av_error(err));
        goto fail;
    }
    err = vs_avio_detach(octx);
    if (err < 0) {
        vs_fail("%s: write failed: %s", out, vs_av_error(err));
        goto fail;
    }
    int committed = vs_outfile_commit(tmp);
    tmp = NULL;
    if (committed < 0)
        goto fail;
    if (result) {
        struct stat sb;
        result->frames = frames;
        result->duration = clock * av_q2d(tb);
        result->bytes = stat(out, &sb) == 0 ? (int64_t)sb.st_size : 0;
        result->dropped_streams = dropped;
    }
    ret = 0;
    goto done;
fail:
    if (octx)
        vs_avio_detach(octx);
    vs_outfile_abort(tmp);
done:
    close_part(&p);
    avformat_free_context(octx);
    return ret;
}

int vs_concat(const char *out, const char *const *parts, int n_parts, vs_concat_result *result)
{
    return vs_concat_run(out, parts, n_parts, NULL, result);
}
