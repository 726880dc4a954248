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
 *      nothing is written. Each part must also be whole
 *      (vs_media_check_complete: its data holds every frame its index
 *      lists), and parts carrying a segment record (concat.h) must be one
 *      render's segments, each once, in frame order, none missing; names
 *      given in byte order (a shell glob's part-10 before part-2) are taken
 *      in natural order first.
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
 * Sound is joined too, but not by stream copy: AAC's priming and padding
 * would leave a hole of about 21 ms at every join. Each part's first audio
 * stream is decoded to float (vs_audio_source: priming and padding cut,
 * exact length), the parts' samples are laid end to end and encoded once
 * (encode_audio.c: AAC for MP4/MOV, Opus for WebM/MKV; FLAC when the join
 * is itself a partial segment). A segment of a render carries its sound
 * losslessly (FLAC) and exactly samples(end) - samples(first) of it, so
 * the joined sound is the single render's, sample for sample before the
 * final encode. A part without a segment record is cut or padded with
 * silence to its picture's end, so picture and sound stay in step at
 * every join. Sound is written while the picture is copied (up to each
 * video packet's time), so the muxer interleaves the two. Either every
 * part has sound or none has; other streams (data, further audio) are left
 * out and the result says how many were dropped.
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
#include "encode.h"
#include "probe.h"
#include "vstudio.h"

/* One opened part: its demuxer and video stream. */
struct part {
    const char *path;
    AVFormatContext *fmt;
    AVStream *st;
    AVStream *audio; /* the first audio stream, NULL without sound */
    int dropped; /* streams other than these two */
};

/* What the check pass keeps of a part to compare the next ones with. */
struct signature {
    AVCodecParameters *par;
    AVRational fps;
    char *x264; /* x264's "options: ..." string from the first packet, or NULL */
    char *settings; /* what vstudio's encoder recorded (concat.h), or NULL */
    vs_segment_record rec; /* which segment of which render, when has_rec */
    int has_rec;
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
    if (!e)
        return NULL;
    /* libavformat 59's MOV demuxer keeps the name's length byte in front */
    const char *name = e->value[0] && strncmp(e->value, SETTINGS_PREFIX, 1) ? e->value + 1 : e->value;
    if (strncmp(name, SETTINGS_PREFIX, sizeof SETTINGS_PREFIX - 1) == 0)
        return name + sizeof SETTINGS_PREFIX - 1;
    return NULL;
}

/* ---- the segment record (concat.h) ---- */

size_t vs_segment_format(char *buf, size_t size, const vs_segment_record *rec)
{
    size_t n = strnlen(buf, size);
    char words[160], seg[40] = "";
    if (rec->count > 0)
        snprintf(seg, sizeof seg, " segment=%d/%d", rec->index, rec->count);
    int len = snprintf(words, sizeof words, "%s frames=%lld:%lld/%lld render=%016llx", seg, (long long)rec->first,
                       (long long)rec->end, (long long)rec->total, (unsigned long long)rec->render);
    if (n < size)
        snprintf(buf + n, size - n, "%s", words);
    return n + (size_t)(len > 0 ? len : 0);
}

/* A decimal number of at most 18 digits spanning exactly [s, end). */
static int parse_count(const char *s, const char *end, int64_t *v)
{
    if (s == end || end - s > 18)
        return -1;
    int64_t x = 0;
    for (; s < end; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        x = x * 10 + (*s - '0');
    }
    *v = x;
    return 0;
}

/* "A<sep>B" within [s, end), both numbers. */
static int parse_pair(const char *s, const char *end, char sep, int64_t *a, int64_t *b)
{
    const char *mid = memchr(s, sep, (size_t)(end - s));
    return mid && parse_count(s, mid, a) == 0 && parse_count(mid + 1, end, b) == 0 ? 0 : -1;
}

static int parse_record_word(const char *w, size_t len, vs_segment_record *rec, int *seen)
{
    const char *end = w + len, *eq = memchr(w, '=', len);
    size_t klen = (size_t)(eq - w);
    int64_t a, b;
    if (klen == 7 && !memcmp(w, "segment", 7) && !(*seen & 1)) {
        if (parse_pair(eq + 1, end, '/', &a, &b) < 0 || a < 1 || a > b || b > 1000000)
            return -1;
        rec->index = (int)a;
        rec->count = (int)b;
        *seen |= 1;
    } else if (klen == 6 && !memcmp(w, "frames", 6) && !(*seen & 2)) {
        const char *slash = memchr(eq + 1, '/', (size_t)(end - eq - 1));
        if (!slash || parse_pair(eq + 1, slash, ':', &rec->first, &rec->end) < 0 ||
            parse_count(slash + 1, end, &rec->total) < 0 || rec->first >= rec->end || rec->end > rec->total)
            return -1;
        *seen |= 2;
    } else if (klen == 6 && !memcmp(w, "render", 6) && !(*seen & 4)) {
        if (end - eq - 1 != 16 || strspn(eq + 1, "0123456789abcdef") < 16)
            return -1;
        rec->render = strtoull(eq + 1, NULL, 16);
        *seen |= 4;
    } else {
        return -1; /* a record word twice */
    }
    return 0;
}

static int is_record_key(const char *w, size_t len)
{
    const char *eq = memchr(w, '=', len);
    size_t k = eq ? (size_t)(eq - w) : 0;
    return eq && ((k == 7 && !memcmp(w, "segment", 7)) || (k == 6 && !memcmp(w, "frames", 6)) ||
                  (k == 6 && !memcmp(w, "render", 6)));
}

int vs_settings_parse(const char *tag, char *settings, size_t size, vs_segment_record *rec)
{
    memset(rec, 0, sizeof *rec);
    size_t n = 0;
    int seen = 0, bad = 0;
    if (size)
        settings[0] = '\0';
    for (const char *s = tag;;) {
        while (*s == ' ')
            s++;
        if (!*s)
            break;
        size_t len = strcspn(s, " ");
        if (is_record_key(s, len)) {
            bad |= parse_record_word(s, len, rec, &seen) < 0;
        } else if (size) {
            if (n + len + 1 < size) {
                if (n)
                    settings[n++] = ' ';
                memcpy(settings + n, s, len);
                n += len;
                settings[n] = '\0';
            } else {
                bad = 1; /* longer than the tag can be */
            }
        }
        s += len;
    }
    if (!seen && !bad)
        return 0;
    /* frames and render always come together, and K/N names the range of the split render.c makes */
    if (bad || !(seen & 2) || !(seen & 4) ||
        ((seen & 1) && (rec->first != rec->total * (rec->index - 1) / rec->count ||
                        rec->end != rec->total * rec->index / rec->count))) {
        memset(rec, 0, sizeof *rec);
        return -1;
    }
    return 1;
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
    int ai = av_find_best_stream(p->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
    p->audio = ai >= 0 ? p->fmt->streams[ai] : NULL;
    p->dropped = (int)p->fmt->nb_streams - 1 - (p->audio != NULL);
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
    const char *tag = vs_settings_tag_get(p->st);
    if (tag) {
        char settings[VS_SETTINGS_MAX + 1];
        sig->has_rec = vs_settings_parse(tag, settings, sizeof settings, &sig->rec);
        if (sig->has_rec < 0) {
            av_packet_free(&pkt);
            signature_free(sig);
            return vs_fail("%s: its segment record is damaged ('%s')", p->path, tag);
        }
        if (!(sig->settings = strdup(settings))) {
            av_packet_free(&pkt);
            signature_free(sig);
            return vs_fail("%s: out of memory", p->path);
        }
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

/* "segment K/N, frames A:B" or "frames A:B", for messages. */
static const char *segment_name(const vs_segment_record *r, char *buf, size_t size)
{
    if (r->count > 0)
        snprintf(buf, size, "segment %d/%d, frames %lld:%lld", r->index, r->count, (long long)r->first,
                 (long long)r->end);
    else
        snprintf(buf, size, "frames %lld:%lld", (long long)r->first, (long long)r->end);
    return buf;
}

/* The missing frames [from, to) as "frames A:B" plus the segment they
 * are, when the render was split by --segment. */
static const char *missing_name(const vs_segment_record *r, int64_t from, int64_t to, char *buf, size_t size)
{
    int n = snprintf(buf, size, "frames %lld:%lld", (long long)from, (long long)to);
    for (int k = 1; r->count > 0 && k <= r->count && n > 0 && (size_t)n < size; k++)
        if (r->total * (k - 1) / r->count == from) {
            snprintf(buf + n, size - (size_t)n, " (segment %d/%d)", k, r->count);
            break;
        }
    return buf;
}

/* Parts with segment records must be one render's segments, each once, in
 * frame order, none missing (partial: none missing between them): the first
 * problem is reported. *joined: the frames the join holds. */
static int check_segments(const char *const *parts, const struct signature *sig, const int *order, int n,
                          int partial, vs_segment_record *joined)
{
    char a[96], b[96];
    const vs_segment_record *r0 = &sig[order[0]].rec;
    int64_t next = partial ? r0->first : 0; /* the frame the next part must start with */
    for (int i = 0; i < n; i++) {
        const char *path = parts[order[i]];
        const vs_segment_record *r = &sig[order[i]].rec;
        if (!sig[order[i]].has_rec) {
            int j = 0;
            while (!sig[order[j]].has_rec)
                j++;
            const char *with = parts[order[j]];
            return vs_fail("%s: not a segment (no segment record), but %s is one: join the segments of one "
                           "render (vstudio run --segment K/N or --frames A:B), or only whole videos", path, with);
        }
        if (r->render != r0->render || r->total != r0->total)
            return vs_fail("%s: a segment of another render than %s (the script, its arguments or the "
                           "settings differ)", path, parts[order[0]]);
        if (r->first == next) {
            next = r->end;
            continue;
        }
        for (int j = 0; j < i; j++)
            if (sig[order[j]].rec.first == r->first && sig[order[j]].rec.end == r->end)
                return vs_fail("%s: %s again, already given as %s", path, segment_name(r, a, sizeof a),
                               parts[order[j]]);
        int later = -1; /* the part that should come here */
        for (int j = i + 1; j < n && later < 0; j++)
            if (sig[order[j]].rec.first == next)
                later = j;
        const char *prev = i > 0 ? parts[order[i - 1]] : NULL;
        const vs_segment_record *rp = i > 0 ? &sig[order[i - 1]].rec : NULL;
        if (r->first < next && r->end > rp->first)
            return vs_fail("%s (%s) overlaps %s (%s): a part of another split of the render?", path,
                           segment_name(r, a, sizeof a), prev, segment_name(rp, b, sizeof b));
        if (r->first < next || later >= 0)
            return vs_fail("%s (%s) is out of order: %s (%s) must come %s it; give the parts in frame order",
                           path, segment_name(r, a, sizeof a), later >= 0 ? parts[order[later]] : prev,
                           segment_name(later >= 0 ? &sig[order[later]].rec : rp, b, sizeof b),
                           later >= 0 ? "before" : "after");
        return vs_fail("%s: %s are missing before it (%s)", path, missing_name(r, next, r->first, a, sizeof a),
                       segment_name(r, b, sizeof b));
    }
    *joined = (vs_segment_record){0, 0, r0->first, next, r0->total, r0->render};
    if (next < r0->total && !partial)
        return vs_fail("%s: %s are missing after it (the render has %lld frames; --partial joins "
                       "a run of segments)", parts[order[n - 1]], missing_name(r0, next, r0->total, a, sizeof a),
                       (long long)r0->total);
    return 0;
}

/* A shell glob lists part-10 before part-2: names given in byte order that
 * natural order would change are taken in natural order. Any other order
 * is the caller's choice (and checked). */
static void glob_order(const char *const *parts, int *order, int n)
{
    for (int i = 1; i < n; i++)
        if (strcmp(parts[order[i - 1]], parts[order[i]]) > 0)
            return;
    for (int i = 1; i < n; i++) /* insertion sort: a handful of parts */
        for (int j = i; j > 0 && vs_natural_compare(parts[order[j - 1]], parts[order[j]]) > 0; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
}

/* The joined sound's format: the first part's rate and channels. */
struct sound_format {
    int present;
    int rate, channels;
};

/* ---- the sound: each part decoded, laid end to end, encoded once ---- */

enum { SOUND_CHUNK = 4096 };

struct sound_join {
    vs_audio_out *out;
    int rate, channels;
    int exact;                /* the parts are segments: each part's sound is its exact share */
    int64_t written;          /* samples encoded so far */
    int64_t part_start;       /* written when the current part began */
    int64_t part_end;         /* where it ends, -1 until its picture is copied (or for segments: known) */
    vs_audio_source *src;     /* the current part's sound */
    float *buf;               /* SOUND_CHUNK samples */
};

/* Samples from t in tb, rounded down. */
static int64_t sound_samples_at(const struct sound_join *sj, int64_t t, AVRational tb)
{
    return av_rescale_rnd(t, (int64_t)sj->rate * tb.num, tb.den, AV_ROUND_DOWN);
}

static int sound_begin_part(struct sound_join *sj, const char *path)
{
    vs_audio_source_close(sj->src);
    if (!(sj->src = vs_audio_source_open(path, sj->rate, sj->channels)))
        return -1;
    sj->part_start = sj->written;
    sj->part_end = sj->exact ? sj->written + vs_audio_source_length(sj->src) : -1;
    return 0;
}

/* Encodes the current part's sound up to output sample `until` (never past
 * the part's end when known); past its own length a part gives silence. */
static int sound_until(struct sound_join *sj, int64_t until)
{
    if (sj->part_end >= 0 && until > sj->part_end)
        until = sj->part_end;
    while (sj->written < until) {
        int64_t n = until - sj->written < SOUND_CHUNK ? until - sj->written : SOUND_CHUNK;
        if (vs_audio_source_read(sj->src, sj->written - sj->part_start, n, sj->buf) < 0 ||
            vs_audio_out_push(sj->out, sj->buf, n) < 0)
            return -1;
        sj->written += n;
    }
    return 0;
}

/* The part's picture ends at clock (in tb): its sound is cut or padded to
 * there, unless it is a segment's exact share. */
static int sound_end_part(struct sound_join *sj, int64_t clock, AVRational tb)
{
    if (sj->part_end < 0)
        sj->part_end = sound_samples_at(sj, clock, tb);
    return sound_until(sj, sj->part_end);
}

static void sound_free(struct sound_join *sj)
{
    vs_audio_source_close(sj->src);
    vs_audio_out_free(&sj->out);
    free(sj->buf);
}

/* The output's audio stream (before its header). A partial join is itself
 * a segment and keeps its sound lossless (FLAC), to be joined again. */
static int sound_setup(struct sound_join *sj, AVFormatContext *octx, const char *out, const struct sound_format *f,
                       const vs_segment_record *joined, const vs_concat_job *job)
{
    memset(sj, 0, sizeof *sj);
    vs_encoder_options o;
    vs_encoder_options_init(&o);
    o.audio_codec = job ? job->audio_codec : NULL;
    o.audio_bit_rate = job ? job->audio_bit_rate : 0;
    int partial = joined->total > 0 && (joined->first > 0 || joined->end < joined->total);
    o.segment_total = partial ? joined->total : 0;
    /* the encoder's default: Opus for webm, and for matroska unless partial (FLAC then) */
    const char *muxer = octx->oformat->name;
    int opus = o.audio_codec ? strstr(o.audio_codec, "opus") != NULL
                             : strcmp(muxer, "webm") == 0 || (strcmp(muxer, "matroska") == 0 && !partial);
    o.audio_rate = opus ? 48000 : f->rate; /* Opus takes 48 kHz, the rest the parts' rate */
    o.audio_channels = vs_sound_channels(f->channels);
    sj->rate = o.audio_rate;
    sj->channels = o.audio_channels;
    sj->exact = joined->total > 0;
    if (!(sj->buf = malloc((size_t)SOUND_CHUNK * sj->channels * sizeof *sj->buf)))
        return vs_fail("out of memory");
    return vs_audio_out_open(&sj->out, octx, out, &o);
}

/* Pass 1: every part opens, is whole, has video frames starting on a
 * keyframe, and matches the first; segments of a render come each once, in
 * order (after glob_order). order[] receives the order to join in;
 * *recorded: every part carries the encoder settings; joined->total > 0:
 * the parts are segments and the join holds joined's frames. */
static int check_parts(const char *const *parts, int n, int partial, int *order, int *recorded,
                       vs_segment_record *joined, struct sound_format *sound)
{
    memset(joined, 0, sizeof *joined);
    memset(sound, 0, sizeof *sound);
    *recorded = 1;
    int with_sound = -1, without_sound = -1;
    struct signature *sig = calloc((size_t)n, sizeof *sig);
    if (!sig)
        return vs_fail("out of memory");
    int ret = -1, segments = 0;
    for (int i = 0; i < n; i++) {
        struct part p;
        order[i] = i;
        if (open_part(&p, parts[i]) < 0)
            goto done;
        int r = take_signature(&p, &sig[i]);
        if (r == 0)
            r = vs_media_check_complete(p.fmt, p.st, p.path);
        if (r == 0 && p.audio && with_sound < 0) {
            with_sound = i;
            sound->rate = p.audio->codecpar->sample_rate;
            sound->channels = p.audio->codecpar->ch_layout.nb_channels;
        } else if (r == 0 && !p.audio && without_sound < 0) {
            without_sound = i;
        }
        close_part(&p);
        if (r < 0)
            goto done;
        if (!sig[i].settings)
            *recorded = 0;
        segments += sig[i].has_rec;
        if (i > 0 && compare(parts[0], &sig[0], parts[i], &sig[i]) < 0)
            goto done;
    }
    if (with_sound >= 0 && without_sound >= 0) {
        vs_fail("%s has no sound but %s has: join parts that all have sound, or none", parts[without_sound],
                parts[with_sound]);
        goto done;
    }
    sound->present = with_sound >= 0;
    if (segments > 0) {
        if (segments == n)
            glob_order(parts, order, n);
        if (check_segments(parts, sig, order, n, partial, joined) < 0)
            goto done;
    }
    ret = 0;
done:
    for (int i = 0; i < n; i++)
        signature_free(&sig[i]);
    free(sig);
    return ret;
}

static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* The output stream, set up from the first part. recorded: every part had
 * the same encoder settings, so the joined file can say so too (and be
 * joined again); a join of some of a render's segments is a segment too
 * (joined: its frames), the whole render is not. */
static int setup_output(AVFormatContext *out, const struct part *p, int recorded, const vs_segment_record *joined)
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
    const char *tag = vs_settings_tag_get(p->st);
    char settings[VS_SETTINGS_MAX + 1];
    vs_segment_record rec;
    if (recorded && tag && vs_settings_parse(tag, settings, sizeof settings, &rec) >= 0) {
        if (joined->total > 0 && (joined->first > 0 || joined->end < joined->total))
            vs_segment_format(settings, sizeof settings, joined);
        if (vs_settings_tag_set(ost, out->oformat, settings) < 0)
            return vs_fail("out of memory");
    }
    if (av_dict_copy(&out->metadata, p->fmt->metadata, 0) < 0)
        return vs_fail("out of memory");
    /* The muxer writes its own brand, encoder and time. */
    static const char *const own[] = {"major_brand", "minor_version", "compatible_brands", "encoder",
                                      "creation_time"};
    for (size_t i = 0; i < sizeof own / sizeof *own; i++)
        av_dict_set(&out->metadata, own[i], NULL, 0);
    /* the first part's convert record (convert.c) is not the joined file's */
    const AVDictionaryEntry *c = av_dict_get(out->metadata, "comment", NULL, 0);
    if (c && strncmp(c->value, "vstudio convert: ", 17) == 0)
        av_dict_set(&out->metadata, "comment", NULL, 0);
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
static int copy_part(AVFormatContext *out, const char *out_name, struct part *p, AVRational tb, int64_t *clock,
                     int64_t *last_dts, int64_t *frames, const vs_concat_job *job, struct sound_join *sound)
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
            /* the output failed (a full disk), not the part being read */
            vs_fail("%s: cannot write (%s), copying frame %lld of %s", out_name, vs_av_error(err), (long long)k,
                    p->path);
            goto done;
        }
        ++*frames;
        /* the sound keeps up with the picture, for the muxer to interleave */
        if (sound && sound_until(sound, sound_samples_at(sound, pts, tb)) < 0)
            goto done;
    }
    if (start == AV_NOPTS_VALUE) {
        vs_fail("%s: the video stream has no frames", p->path);
        goto done;
    }
    *clock = end;
    if (sound && sound_end_part(sound, end, tb) < 0)
        goto done;
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
    vs_segment_record joined;
    struct sound_format sound_fmt;
    struct sound_join sound = {0};
    int *order = malloc(sizeof *order * (size_t)n_parts);
    if (!order)
        return vs_fail("out of memory");
    if (check_parts(parts, n_parts, job && job->partial, order, &recorded, &joined, &sound_fmt) < 0) {
        free(order);
        return -1;
    }

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
        if (open_part(&p, parts[order[i]]) < 0)
            goto fail;
        dropped += p.dropped;
        if (i == 0) {
            if (avformat_query_codec(of, p.st->codecpar->codec_id, FF_COMPLIANCE_NORMAL) == 0) {
                vs_fail("%s: the %s container cannot hold %s video", out, of->name,
                        avcodec_get_name(p.st->codecpar->codec_id));
                goto fail;
            }
            if (setup_output(octx, &p, recorded, &joined) < 0)
                goto fail;
            if (sound_fmt.present && sound_setup(&sound, octx, out, &sound_fmt, &joined, job) < 0)
                goto fail;
            tb = p.st->time_base;
            if (!(tmp = vs_outfile_create(out)))
                goto fail;
            err = vs_avio_attach(octx, vs_outfile_fd(tmp), 1);
            if (err < 0) {
                vs_fail("%s: %s", out, vs_av_error(err));
                goto fail;
            }
            /* moov first and the sound's edit list exact, as a single render has them */
            err = vs_mux_write_header(octx, sound.out ? sound.rate : 0);
            if (err < 0) {
                vs_fail("%s: cannot write the header (%s)", out, vs_av_error(err));
                goto fail;
            }
        }
        if (sound.out && sound_begin_part(&sound, parts[order[i]]) < 0)
            goto fail;
        if (copy_part(octx, out, &p, tb, &clock, &last_dts, &frames, job, sound.out ? &sound : NULL) < 0)
            goto fail;
        close_part(&p);
    }
    if (sound.out && vs_audio_out_finish(sound.out) < 0)
        goto fail;
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
        result->audio_samples = sound.written;
        result->audio_rate = sound.rate;
    }
    ret = 0;
    goto done;
fail:
    if (octx)
        vs_avio_detach(octx);
    vs_outfile_abort(tmp);
done:
    sound_free(&sound);
    close_part(&p);
    avformat_free_context(octx);
    free(order);
    return ret;
}

int vs_concat(const char *out, const char *const *parts, int n_parts, vs_concat_result *result)
{
    return vs_concat_run(out, parts, n_parts, NULL, result);
}
