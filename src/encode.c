/*
 * encode.c: frames out: a video file through libavformat/libavcodec, a y4m
 * or raw RGBA stream to a pipe, or a numbered PNG/JPEG sequence.
 *
 * Every sink takes "pictures": frames already in the sink's pixel format
 * and padded size. Converting RGBA into a picture (swscale, one context per
 * picture) is thread-safe, so the render engine and convert do it in their
 * workers and the encoder thread only encodes. vs_encoder_push is the simple
 * one-thread path on top.
 *
 * A video file opens in the steps of FFmpeg's doc/examples/transcode.c
 * (open_lav): pick_muxer_and_codec, create_stream, configure_codec,
 * open_codec, write_lav_header; encode_lav sends a picture and writes the
 * packets it gives, and vs_encoder_finish drains the codec with a NULL
 * frame before the trailer and fsyncs; vs_encoder_close (finishing first
 * if needed) then renames, so a render commits its outputs all or none. Everything lives in the vs_encoder, so one
 * path (vs_encoder_abort) undoes whatever step failed. A video file may
 * carry sound: encode_audio.c adds its stream to the same muxer before the
 * header, vs_encoder_push_audio feeds it and close drains it after the
 * picture's codec.
 *
 * Files are written to a private temporary (outfile.h) that libavformat
 * reaches through an AVIOContext on our descriptor, never by name, and
 * renamed to PATH after the trailer, so a crash, an error or Ctrl-C never
 * leaves a truncated PATH; any failure removes the temporary. An image
 * sequence names each frame by its clip frame number, never replaces a
 * file already there, and a failed one removes the frames it wrote. Colour: BT.709 from 720 lines up, BT.601 below, limited
 * range, the same matrix in swscale and in the stream's tags, so players
 * show the colours the script drew.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/dict.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "avio_fd.h"
#include "concat.h"
#include "encode.h"
#include "error.h"
#include "gif_palette.h"
#include "hash.h"
#include "image.h"
#include "libav_log.h"
#include "outfile.h"
#include "yuv420.h"
#include "vstudio.h"

enum sink { SINK_LAV, SINK_Y4M, SINK_RAW, SINK_IMAGES };

struct vs_picture {
    vs_encoder *enc;
    AVFrame *frame;           /* SINK_LAV, SINK_Y4M: in the encoder's pixel format (YUV or RGB) */
    vs_frame *rgba;           /* SINK_RAW */
    vs_outfile *image;        /* SINK_IMAGES: the file this picture's worker saved, renamed at push */
    vs_frame *padded;         /* YUV sinks: the edge-padded or flattened RGBA source, kept */
    vs_frame *widened;        /* RGB input the 4:2:0 rows do not take, as RGBA */
    struct SwsContext *sws;
    vs_picture *next_free;
};

struct vs_encoder {
    enum sink sink;
    char *path;               /* what the user asked for */
    vs_outfile *out;          /* the temporary, NULL when writing to a pipe, a device or a directory */
    int fd;                   /* where the bytes go: out's, a pipe's (the caller's) or a device's */
    int own_fd;               /* fd is a device we opened */
    int width, height;        /* frames pushed */
    int out_width, out_height;/* padded to the pixel format's chroma grid */
    enum AVPixelFormat pix_fmt;
    int bt709;
    int full_range;           /* YUV in full range (JPEG codecs), else limited */
    int flatten_alpha;        /* the format has no alpha: show frames over black */
    vs_yuv420_coeffs yuv420;  /* for 8-bit 4:2:0 output, swscale's slow case */
    const char *image_ext;    /* SINK_IMAGES: "png" or "jpg" */
    int64_t first_number;     /* SINK_IMAGES: the number in the first frame's name */
    int made_dir;             /* SINK_IMAGES: the folder is ours, removed with the frames when empty */
    int quality;
    int64_t frames;
    int64_t last_dts;         /* of the last packet muxed, in the stream's time base */
    int started;              /* the header is out: errors name frames */
    int failed;
    int finished;             /* vs_encoder_finish succeeded: only the rename is left */

    AVFormatContext *fmt;
    AVCodecContext *codec;
    AVStream *stream;
    AVPacket *packet;
    vs_audio_out *audio;      /* the sound's stream (encode_audio.c), NULL when the video has none */

    pthread_mutex_t pool_lock;
    vs_picture *free_pictures;
    vs_picture **all_pictures;
    int n_pictures, cap_pictures;
};

void vs_encoder_options_init(vs_encoder_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->fps_num = 30;
    opts->fps_den = 1;
    opts->crf = -1;
}

static const char *extension(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(path, '.');
    return dot && (!slash || dot > slash) ? dot + 1 : "";
}

/* The file descriptor a path names: "-" is stdout, "pipe:N" is fd N (as
 * in ffmpeg); -1 for a file path. Pipes get no .part: there is nothing to
 * rename, and the reader sees frames as they are written. */
static int path_fd(const char *path)
{
    if (strcmp(path, "-") == 0)
        return STDOUT_FILENO;
    if (strncmp(path, "pipe:", 5) == 0 && path[5] >= '0' && path[5] <= '9') {
        char *end;
        long fd = strtol(path + 5, &end, 10);
        if (!*end && fd <= 65535)
            return (int)fd;
    }
    return -1;
}

/* An existing path that is not a regular file or a directory (/dev/null, a
 * FIFO, a terminal) is written in place: a temporary renamed over it would
 * replace the device with a file. */
static int is_device_path(const char *path)
{
    struct stat st;
    return path_fd(path) < 0 && stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
}

/* The sink's format name: explicit, else from the path. */
static const char *pick_format(const char *path, const vs_encoder_options *o)
{
    if (o->format && *o->format)
        return o->format;
    if (path_fd(path) >= 0)
        return "y4m";
    const char *ext = extension(path);
    if (!*ext && is_device_path(path))
        return "y4m"; /* /dev/null, a FIFO: a stream, as for "-" */
    if (!*ext || path[strlen(path) - 1] == '/')
        return "png"; /* a directory: an image sequence */
    if (strcasecmp(ext, "jpeg") == 0)
        return "jpg";
    return ext;
}

/* ---- file plumbing ---- */

static int write_all(vs_encoder *enc, const void *data, size_t n)
{
    const uint8_t *p = data;
    while (n > 0) {
        ssize_t w = write(enc->fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (enc->started)
                return vs_fail("%s: frame %lld: write failed: %s", enc->path, (long long)enc->frames, strerror(errno));
            return vs_fail("%s: write failed: %s", enc->path, strerror(errno));
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The descriptor the sink writes: a pipe's, a device opened in place, or
 * a private temporary beside the path. */
static int open_fd(vs_encoder *enc)
{
    if (path_fd(enc->path) >= 0) {
        enc->fd = path_fd(enc->path);
        return 0;
    }
    if (is_device_path(enc->path)) {
        enc->fd = open(enc->path, O_WRONLY | O_CLOEXEC);
        if (enc->fd < 0)
            return vs_fail("%s: cannot open: %s", enc->path, strerror(errno));
        enc->own_fd = 1;
        return 0;
    }
    if (!(enc->out = vs_outfile_create(enc->path)))
        return -1;
    enc->fd = vs_outfile_fd(enc->out);
    return 0;
}

/* ---- the libav sink ---- */

/* The encoder of each format when none is asked for (README's format
 * table); everything else gets libx264. */
static const char *default_codec(const char *format)
{
    static const struct { const char *format, *codec; } table[] = {
        {"webm", "libvpx-vp9"}, {"gif", "gif"}, {"webp", "libwebp_anim"}, {"apng", "apng"}};
    for (size_t i = 0; i < sizeof table / sizeof *table; i++)
        if (strcasecmp(format, table[i].format) == 0)
            return table[i].codec;
    return "libx264";
}

/* The encoder asked for, or the format's; "prores" is prores_ks, the
 * ProRes encoder with the 4444 profile and alpha. */
static const char *codec_name(const char *format, const vs_encoder_options *o)
{
    if (!o->codec)
        return default_codec(format);
    return strcasecmp(o->codec, "prores") == 0 ? "prores_ks" : o->codec;
}

/* An encoder by its name ("libx264") or its format's ("h264", "hevc",
 * "vp9": libavcodec's preferred encoder for it) of the given type; NULL if none. */
const AVCodec *vs_find_encoder(const char *name, enum AVMediaType type)
{
    const AVCodec *codec = avcodec_find_encoder_by_name(name);
    if (!codec) {
        const AVCodecDescriptor *d = avcodec_descriptor_get_by_name(name);
        if (d)
            codec = avcodec_find_encoder(d->id);
    }
    return codec && codec->type == type ? codec : NULL;
}

static const AVCodec *find_codec(const char *name) { return vs_find_encoder(name, AVMEDIA_TYPE_VIDEO); }

/* libx264, libx264rgb, libx265 */
static int is_x26x_codec(const AVCodec *codec)
{
    return strncmp(codec->name, "libx264", 7) == 0 || strcmp(codec->name, "libx265") == 0;
}

/* The preset asked for, or the one we default to; NULL for the codec's own. */
static const char *pick_preset(const AVCodec *codec, const vs_encoder_options *o)
{
    return o->preset ? o->preset : is_x26x_codec(codec) ? "medium" : NULL;
}

static int set_codec_quality(vs_encoder *enc, const AVCodec *codec, const vs_encoder_options *o)
{
    AVCodecContext *c = enc->codec;
    int is_x26x = is_x26x_codec(codec);
    /* x264/x265 take their preset names only at open time, with a vague
     * EINVAL; check them here to name the choices. Other codecs' presets
     * (SVT-AV1's are numbers) are set only when asked for. */
    static const char *const x26x_presets[] = {"ultrafast", "superfast", "veryfast", "faster", "fast",
                                               "medium", "slow", "slower", "veryslow", "placebo"};
    const char *preset = pick_preset(codec, o);
    if (preset && is_x26x) {
        size_t k = 0, n = sizeof x26x_presets / sizeof *x26x_presets;
        while (k < n && strcmp(preset, x26x_presets[k]) != 0)
            k++;
        if (k == n)
            return vs_fail("%s: codec %s has no preset '%s' (ultrafast superfast veryfast faster fast medium "
                           "slow slower veryslow placebo)", enc->path, codec->name, preset);
    }
    if (preset && av_opt_find(c->priv_data, "preset", NULL, 0, 0)) {
        if (av_opt_set(c->priv_data, "preset", preset, 0) < 0)
            return vs_fail("%s: codec %s has no preset '%s'", enc->path, codec->name, preset);
    } else if (preset && !o->quiet) {
        fprintf(stderr, "vstudio: note: %s: codec %s has no presets; preset '%s' ignored\n", enc->path, codec->name,
                preset);
    }
    if (strcmp(codec->name, "libx265") == 0)
        av_opt_set(c->priv_data, "x265-params", "log-level=error", 0);
    if (o->bit_rate > 0) {
        c->bit_rate = o->bit_rate;
        return 0;
    }
    /* png, ffv1, qtrle, huffyuv: nothing to set, nothing lost */
    const AVCodecDescriptor *d = avcodec_descriptor_get(codec->id);
    if (d && (d->props & AV_CODEC_PROP_LOSSLESS) && !(d->props & AV_CODEC_PROP_LOSSY))
        return 0;
    int crf = o->crf >= 0 ? o->crf : 18;
    int is_vp9 = strcmp(codec->name, "libvpx-vp9") == 0;
    int is_webp = codec->id == AV_CODEC_ID_WEBP;
    /* crf 0 promises lossless: a codec without that mode (mpeg4, SVT-AV1)
     * would quietly give its best lossy picture instead */
    if (crf == 0 && !is_x26x && !is_vp9 && !is_webp)
        return vs_fail("%s: codec %s has no lossless mode for crf 0; use codec libx264, ffv1 or png", enc->path,
                       codec->name);
    char value[16];
    snprintf(value, sizeof value, "%d", crf);
    if (crf == 0 && strncmp(codec->name, "libx264", 7) == 0) {
        av_opt_set(c->priv_data, "qp", "0", 0); /* exactly lossless */
    } else if (crf == 0 && strcmp(codec->name, "libx265") == 0) {
        av_opt_set(c->priv_data, "x265-params", "lossless=1:log-level=error", 0);
    } else if (av_opt_find(c->priv_data, "crf", NULL, 0, 0)) {
        av_opt_set(c->priv_data, "crf", value, 0);
        if (is_vp9) {
            c->bit_rate = 0; /* constant quality mode */
            if (crf == 0)
                av_opt_set(c->priv_data, "lossless", "1", 0);
        }
    } else if (is_webp) {
        /* libwebp's quality 0..100 (100 - crf * 5/9: crf 18 is quality 90); crf 0 its lossless mode */
        if (crf == 0)
            av_opt_set(c->priv_data, "lossless", "1", 0);
        else
            c->global_quality = FF_QP2LAMBDA * (100 - crf * 5 / 9);
    } else if (!is_x26x) {
        /* mpeg4 and friends: a fixed quantiser from the crf scale, so
         * crf 18 gives q 4 (about x264's crf 18 look), crf 51 q 11. */
        int q = crf / 5 + 1;
        c->flags |= AV_CODEC_FLAG_QSCALE;
        c->global_quality = FF_QP2LAMBDA * (q < 2 ? 2 : q > 31 ? 31 : q);
    }
    return 0;
}

/* Writes s with ' ' and '%' escaped, so the settings stay one word per
 * setting; returns the length it needed, as snprintf does. */
static size_t escape_word(char *dst, size_t size, const char *s)
{
    size_t n = 0;
    for (; *s; s++) {
        const char *e = *s == ' ' ? "%20" : *s == '%' ? "%25" : NULL;
        size_t len = e ? 3 : 1;
        if (n + len < size)
            memcpy(dst + n, e ? e : s, len);
        n += len;
    }
    if (size > 0)
        dst[n < size ? n : size - 1] = '\0';
    return n;
}

/*
 * Records in the stream what a stream-copy join must agree on, for
 * vstudio concat (concat.h): VP9 and MPEG-4 headers do not say which crf
 * made them, so segments of different quality would otherwise join
 * silently. Nothing that legitimately differs between the segments of one
 * render is in the settings (no title or thread count); a segment's range
 * follows them as its own words (the segment record), which concat reads
 * apart from the settings.
 */
static int record_settings(vs_encoder *enc, const AVCodec *codec, const vs_encoder_options *o)
{
    char crf[16] = "none", gop[16] = "default", opts[VS_SETTINGS_MAX + 1] = "none", tag[VS_SETTINGS_MAX + 1];
    if (o->bit_rate <= 0)
        snprintf(crf, sizeof crf, "%d", o->crf >= 0 ? o->crf : 18);
    if (o->gop > 0)
        snprintf(gop, sizeof gop, "%d", o->gop);
    /* a preset the codec has no option for is ignored (set_codec_quality) */
    const char *preset = pick_preset(codec, o);
    if (!preset || !av_opt_find(enc->codec->priv_data, "preset", NULL, 0, 0))
        preset = "default";
    if (o->codec_options && *o->codec_options)
        escape_word(opts, sizeof opts, o->codec_options);
    for (int pass = 0; pass < 2; pass++) {
        int n = snprintf(tag, sizeof tag, "codec=%s preset=%s crf=%s bitrate=%lld gop=%s pix_fmt=%s options=%s",
                         codec->name, preset, crf, (long long)(o->bit_rate > 0 ? o->bit_rate : 0), gop,
                         av_get_pix_fmt_name(enc->pix_fmt), opts);
        if (n >= 0 && o->segment_total > 0) {
            vs_segment_record rec = {o->segment_index, o->segment_count, o->segment_first, o->segment_end,
                                     o->segment_total, o->segment_render};
            n = (int)vs_segment_format(tag, sizeof tag, &rec);
        }
        if (n >= 0 && (size_t)n < sizeof tag)
            break;
        if (pass == 1) /* only a preset name could be this long */
            return vs_fail("%s: preset '%s' is too long", enc->path, preset);
        /* a hash stands in for codec options too long for the tag */
        snprintf(opts, sizeof opts, "#%016llx",
                 (unsigned long long)vs_fnv1a(VS_FNV1A_SEED, o->codec_options, strlen(o->codec_options)));
    }
    if (vs_settings_tag_set(enc->stream, enc->fmt->oformat, tag) < 0)
        return vs_fail("%s: out of memory", enc->path);
    return 0;
}

/* The codec's pixel format that keeps alpha, the lightest first. */
static enum AVPixelFormat alpha_pix_fmt(const AVCodec *codec, const char *path)
{
    static const enum AVPixelFormat preferred[] = {AV_PIX_FMT_YUVA420P, AV_PIX_FMT_YUVA444P10LE, AV_PIX_FMT_RGBA,
                                                   AV_PIX_FMT_PAL8};
    for (size_t i = 0; i < sizeof preferred / sizeof *preferred; i++)
        for (const enum AVPixelFormat *p = codec->pix_fmts; p && *p != AV_PIX_FMT_NONE; p++)
            if (*p == preferred[i])
                return *p;
    vs_fail("%s: codec %s cannot keep transparency (--alpha); webm (VP9), webp, mov with --codec prores, apng, png "
            "and gif can", path, codec->name);
    return AV_PIX_FMT_NONE;
}

/* o->pix_fmt, else the format table's: alpha when asked (always for
 * ProRes 4444), a palette for GIF, yuv420p, or the codec's closest to RGBA. */
static enum AVPixelFormat pick_pix_fmt(const AVCodec *codec, const vs_encoder_options *o, const char *path)
{
    const char *name = o->pix_fmt;
    if (!name && (o->alpha || codec->id == AV_CODEC_ID_PRORES))
        return alpha_pix_fmt(codec, path);
    if (!name && codec->id == AV_CODEC_ID_GIF)
        return AV_PIX_FMT_PAL8;
    if (name) {
        enum AVPixelFormat f = av_get_pix_fmt(name);
        if (f == AV_PIX_FMT_NONE) {
            vs_fail("%s: unknown pixel format '%s'", path, name);
            return f;
        }
        if (!codec->pix_fmts)
            return f;
        char list[512] = "";
        for (const enum AVPixelFormat *p = codec->pix_fmts; *p != AV_PIX_FMT_NONE; p++) {
            if (*p == f)
                return f;
            size_t n = strlen(list);
            snprintf(list + n, sizeof list - n, "%s%s", n ? " " : "", av_get_pix_fmt_name(*p));
        }
        vs_fail("%s: codec %s cannot encode %s (it takes: %s)", path, codec->name, name, list);
        return AV_PIX_FMT_NONE;
    }
    const enum AVPixelFormat *list = codec->pix_fmts;
    if (!list)
        return AV_PIX_FMT_YUV420P;
    for (const enum AVPixelFormat *p = list; *p != AV_PIX_FMT_NONE; p++)
        if (*p == AV_PIX_FMT_YUV420P)
            return AV_PIX_FMT_YUV420P;
    return avcodec_find_best_pix_fmt_of_list(list, AV_PIX_FMT_RGBA, 1, NULL);
}

static int is_yuv(enum AVPixelFormat f)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(f);
    return d && !(d->flags & AV_PIX_FMT_FLAG_RGB) && d->nb_components >= 3;
}

/* 1 when the container certainly cannot hold the codec; a muxer that does
 * not say is left to judge at the header. Matroska says no to codecs it
 * has no ID of its own for, yet stores them by their AVI tag and libav
 * reads them back (png, ffv1); without an AVI tag the file would not
 * decode (qtrle). */
static int container_refuses(const AVOutputFormat *ofmt, enum AVCodecID id)
{
    if (avformat_query_codec(ofmt, id, FF_COMPLIANCE_NORMAL) != 0)
        return 0;
    const struct AVCodecTag *const riff[] = {avformat_get_riff_video_tags(), NULL};
    unsigned tag;
    return avformat_query_codec(ofmt, id, FF_COMPLIANCE_EXPERIMENTAL) != 1 || !av_codec_get_tag2(riff, id, &tag);
}

/* A format is named like an extension ("mkv"); libav names it by muxer
 * ("matroska"): either works. NULL format: from the path. */
static const AVOutputFormat *find_muxer(const char *format, const char *path)
{
    char as_file[64];
    snprintf(as_file, sizeof as_file, "x.%s", format ? format : "");
    const AVOutputFormat *ofmt = av_guess_format(NULL, format ? as_file : path, NULL);
    if (!ofmt && format)
        ofmt = av_guess_format(format, NULL, NULL);
    return ofmt;
}

int vs_encoder_format_known(const char *format)
{
    static const char *const own[] = {"y4m", "raw", "rgba", "png", "jpg", "jpeg"};
    for (size_t i = 0; i < sizeof own / sizeof *own; i++)
        if (strcasecmp(format, own[i]) == 0)
            return 1;
    return find_muxer(format, NULL) != NULL;
}

int vs_encoder_holds_sound(const char *path, const char *format)
{
    vs_encoder_options o = {.format = format};
    const char *name = pick_format(path, &o);
    if (vs_encoder_format_known(name) && find_muxer(name, NULL) == NULL)
        return 0; /* ours: y4m, raw, image sequences */
    const AVOutputFormat *ofmt = find_muxer(name, NULL);
    return ofmt && ofmt->audio_codec != AV_CODEC_ID_NONE;
}

/* The muxer for format (NULL: the path's extension) and the encoder for
 * o->codec (NULL: libx264, libvpx-vp9 for webm); a pipe cannot take mp4 or
 * mov, which seek back to write their index. */
static int pick_muxer_and_codec(vs_encoder *enc, const char *format, const vs_encoder_options *o,
                                const AVOutputFormat **ofmt, const AVCodec **codec)
{
    *ofmt = find_muxer(format, enc->path);
    if (!*ofmt)
        return vs_fail("%s: unknown output format '%s' (use mp4, mkv, webm, mov, avi, y4m, raw, png or jpg)",
                       enc->path, format ? format : extension(enc->path));
    const char *muxer = (*ofmt)->name;
    if (!enc->out && (strcmp(muxer, "mp4") == 0 || strcmp(muxer, "mov") == 0))
        return vs_fail("%s: %s needs a seekable file; use format y4m, raw or mkv for a pipe", enc->path, muxer);

    vs_av_reason_clear();
    const char *name = codec_name(muxer, o);
    *codec = find_codec(name);
    if (!*codec)
        return vs_fail("%s: unknown video encoder '%s' (see ffmpeg -encoders)", enc->path, name);
    return 0;
}

/* The output context with its one video stream, the codec's context and
 * the packet encode_lav reuses. */
static int create_stream(vs_encoder *enc, const AVOutputFormat *ofmt, const AVCodec *codec)
{
    /* The URL only names the file in libav's messages and for the
     * faststart pass, which reads it back through our descriptor (avio_fd.h). */
    int err = avformat_alloc_output_context2(&enc->fmt, ofmt, NULL, enc->path);
    if (err < 0)
        return vs_fail("%s: %s", enc->path, vs_av_error(err));
    if (container_refuses(ofmt, codec->id))
        return vs_fail("%s: the %s container cannot hold %s video", enc->path, ofmt->name, codec->name);

    enc->stream = avformat_new_stream(enc->fmt, NULL);
    enc->codec = avcodec_alloc_context3(codec);
    enc->packet = av_packet_alloc();
    if (!enc->stream || !enc->codec || !enc->packet)
        return vs_fail("%s: out of memory", enc->path);
    return 0;
}

/* What the codec is asked to make: pixel format and range, size, rate,
 * threads, keyframe interval, colour tags and quality (crf, preset, bit rate). */
static int configure_codec(vs_encoder *enc, const AVCodec *codec, const vs_encoder_options *o)
{
    enc->pix_fmt = pick_pix_fmt(codec, o, enc->path);
    if (enc->pix_fmt == AV_PIX_FMT_NONE)
        return -1;
    if (o->alpha && o->pix_fmt && !(av_pix_fmt_desc_get(enc->pix_fmt)->flags & AV_PIX_FMT_FLAG_ALPHA))
        return vs_fail("%s: --alpha with pixel format %s, which has no alpha", enc->path, o->pix_fmt);
    /* JPEG codecs take full-range YUV (mjpeg refuses limited range), and
     * the yuvj formats are full range by definition */
    enc->full_range = codec->id == AV_CODEC_ID_MJPEG || codec->id == AV_CODEC_ID_LJPEG ||
                      strncmp(av_get_pix_fmt_name(enc->pix_fmt), "yuvj", 4) == 0;
    AVCodecContext *c = enc->codec;
    c->width = enc->out_width;
    c->height = enc->out_height;
    c->pix_fmt = enc->pix_fmt;
    c->time_base = (AVRational){o->fps_den, o->fps_num};
    c->framerate = (AVRational){o->fps_num, o->fps_den};
    c->sample_aspect_ratio = (AVRational){1, 1};
    c->thread_count = o->threads;
    if (o->gop > 0)
        c->gop_size = o->gop;
    if (is_yuv(enc->pix_fmt)) {
        c->colorspace = enc->bt709 ? AVCOL_SPC_BT709 : AVCOL_SPC_SMPTE170M;
        c->color_primaries = enc->bt709 ? AVCOL_PRI_BT709 : AVCOL_PRI_SMPTE170M;
        c->color_trc = enc->bt709 ? AVCOL_TRC_BT709 : AVCOL_TRC_SMPTE170M;
        c->color_range = enc->full_range ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG;
    }
    if (enc->fmt->oformat->flags & AVFMT_GLOBALHEADER)
        c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    return set_codec_quality(enc, codec, o);
}

/* Opens the codec with the user's key=value options (one it does not know
 * is an error, not ignored) and gives the stream its parameters and the
 * settings record vstudio concat compares. */
static int open_codec(vs_encoder *enc, const AVCodec *codec, const vs_encoder_options *o)
{
    AVCodecContext *c = enc->codec;
    /* libavcodec would reset a size it cannot address to 0x0 and fail vaguely */
    if (av_image_check_size((unsigned)enc->out_width, (unsigned)enc->out_height, 0, NULL) < 0)
        return vs_fail("%s: %dx%d frames are too large for libavcodec's encoders (width x height must stay "
                       "under about 268 million pixels)", enc->path, enc->out_width, enc->out_height);
    AVDictionary *copts = NULL;
    if (o->codec_options && *o->codec_options &&
        av_dict_parse_string(&copts, o->codec_options, "=", ":", 0) < 0) {
        av_dict_free(&copts);
        return vs_fail("%s: bad codec options '%s' (expected key=value:key=value)", enc->path, o->codec_options);
    }
    int err = avcodec_open2(c, codec, &copts);
    if (err >= 0 && av_dict_count(copts) > 0) {
        const AVDictionaryEntry *e = av_dict_get(copts, "", NULL, AV_DICT_IGNORE_SUFFIX);
        vs_fail("%s: codec %s has no option '%s'", enc->path, codec->name, e->key);
        av_dict_free(&copts);
        return -1;
    }
    av_dict_free(&copts);
    if (err < 0)
        return vs_fail("%s: cannot open encoder %s (%dx%d %s): %s", enc->path, codec->name, enc->out_width,
                       enc->out_height, av_get_pix_fmt_name(enc->pix_fmt), vs_av_error(err));
    err = avcodec_parameters_from_context(enc->stream->codecpar, c);
    if (err < 0)
        return vs_fail("%s: %s", enc->path, vs_av_error(err));
    enc->stream->time_base = c->time_base;
    enc->stream->avg_frame_rate = c->framerate;
    return record_settings(enc, codec, o);
}

/* Metadata, our descriptor as the muxer's I/O, then the container's header
 * (mp4 and mov with faststart: the index moved to the front at the end). */
static int write_lav_header(vs_encoder *enc, const AVOutputFormat *ofmt, const AVCodec *codec,
                            const vs_encoder_options *o)
{
    if (o->title)
        av_dict_set(&enc->fmt->metadata, "title", o->title, 0);
    if (o->comment)
        av_dict_set(&enc->fmt->metadata, "comment", o->comment, 0);
    if (o->artist)
        av_dict_set(&enc->fmt->metadata, "artist", o->artist, 0);

    if (!(ofmt->flags & AVFMT_NOFILE)) {
        /* only our own file seeks: a pipe or a device is a stream */
        int err = vs_avio_attach(enc->fmt, enc->fd, enc->out != NULL);
        if (err < 0)
            return vs_fail("%s: %s", enc->path, vs_av_error(err));
    }
    int err = vs_mux_write_header(enc->fmt, o->audio_rate);
    if (err < 0)
        return vs_fail("%s: the %s container cannot hold this %s video (%s): %s", enc->path, ofmt->name,
                       codec->name, av_get_pix_fmt_name(enc->codec->pix_fmt), vs_av_error(err));
    return 0;
}

/* A video file through libavformat, in the steps of FFmpeg's transcode.c.
 * What each step makes belongs to enc, which vs_encoder_open frees when a
 * step fails: nothing to undo here. */
static int open_lav(vs_encoder *enc, const char *format, const vs_encoder_options *o)
{
    const AVOutputFormat *ofmt = NULL;
    const AVCodec *codec = NULL;
    int rc = pick_muxer_and_codec(enc, format, o, &ofmt, &codec);
    if (rc < 0)
        return rc;
    rc = create_stream(enc, ofmt, codec);
    if (rc < 0)
        return rc;
    rc = configure_codec(enc, codec, o);
    if (rc < 0)
        return rc;
    rc = open_codec(enc, codec, o);
    if (rc < 0)
        return rc;
    if (o->audio_rate > 0 && vs_audio_out_open(&enc->audio, enc->fmt, enc->path, o) < 0)
        return -1;
    return write_lav_header(enc, ofmt, codec, o);
}

/* Some encoders (libx265 while draining, seen once in CI) hand out a dts
 * that does not increase, which the muxer refuses with EINVAL and the file
 * is lost. The ffmpeg CLI nudges such a dts forward; so do we. */
static void keep_dts_increasing(vs_encoder *enc, AVPacket *pkt)
{
    if (pkt->dts != AV_NOPTS_VALUE && enc->last_dts != AV_NOPTS_VALUE) {
        int strict = !(enc->fmt->oformat->flags & AVFMT_TS_NONSTRICT);
        int64_t least = enc->last_dts + strict;
        if (pkt->dts < least) {
            if (pkt->pts != AV_NOPTS_VALUE && pkt->pts >= pkt->dts && pkt->pts < least)
                pkt->pts = least;
            pkt->dts = least;
        }
    }
    if (pkt->dts != AV_NOPTS_VALUE)
        enc->last_dts = pkt->dts;
}

/* Sends one frame (NULL drains) and writes every packet that comes out. */
static int encode_lav(vs_encoder *enc, AVFrame *frame)
{
    vs_av_reason_clear();
    int err = avcodec_send_frame(enc->codec, frame);
    if (err < 0)
        return vs_fail("%s: frame %lld: encoder: %s", enc->path, (long long)enc->frames, vs_av_error(err));
    for (;;) {
        err = avcodec_receive_packet(enc->codec, enc->packet);
        if (err == AVERROR(EAGAIN) || err == AVERROR_EOF)
            return 0;
        if (err < 0)
            return vs_fail("%s: encoder: %s", enc->path, vs_av_error(err));
        av_packet_rescale_ts(enc->packet, enc->codec->time_base, enc->stream->time_base);
        keep_dts_increasing(enc, enc->packet);
        enc->packet->stream_index = enc->stream->index;
        err = av_interleaved_write_frame(enc->fmt, enc->packet);
        /* avio buffers: a full disk shows in pb->error a few packets later */
        if (err >= 0 && enc->fmt->pb && enc->fmt->pb->error < 0)
            err = enc->fmt->pb->error;
        if (err < 0)
            return vs_fail("%s: frame %lld: write failed: %s", enc->path, (long long)enc->frames, vs_av_error(err));
    }
}

/* ---- opening ---- */

/* dir/000020.png: frame k of an image sequence, by its clip frame number. */
static char *image_name(const vs_encoder *enc, int64_t k)
{
    size_t n = strlen(enc->path) + 32;
    char *file = malloc(n);
    if (file)
        snprintf(file, n, "%s/%06lld.%s", enc->path, (long long)k, enc->image_ext);
    return file;
}

/* A numbered image (000020.png) another render may have left. */
static int is_frame_file(const char *name, const char *ext)
{
    size_t digits = strspn(name, "0123456789");
    return digits >= 6 && name[digits] == '.' && strcmp(name + digits + 1, ext) == 0;
}

/* Removes the folder's numbered images of our extension: --force. */
static int clear_frames(vs_encoder *enc)
{
    DIR *d = opendir(enc->path);
    if (!d)
        return vs_fail("%s: cannot read the folder: %s", enc->path, strerror(errno));
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d))) {
        if (!is_frame_file(de->d_name, enc->image_ext))
            continue;
        if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT)
            rc = vs_fail("%s/%s: cannot remove: %s", enc->path, de->d_name, strerror(errno));
    }
    closedir(d);
    return rc;
}

/* The folder must not hold another render's frames where ours go: each
 * push refuses to replace a file, and the first name is checked here so
 * the common case (a rerun into the same folder) fails before drawing. */
static int open_images(vs_encoder *enc, const vs_encoder_options *o)
{
    if (path_fd(enc->path) >= 0)
        return vs_fail("%s: an image sequence needs a directory, not a pipe", enc->path);
    if (mkdir(enc->path, 0777) == 0)
        enc->made_dir = 1;
    else if (errno != EEXIST)
        return vs_fail("%s: cannot create directory: %s", enc->path, strerror(errno));
    struct stat st;
    if (stat(enc->path, &st) < 0 || !S_ISDIR(st.st_mode))
        return vs_fail("%s: not a directory (an image sequence is written into a directory)", enc->path);
    enc->first_number = o->first_number;
    enc->out_width = enc->width;
    enc->out_height = enc->height;
    if (o->force)
        return clear_frames(enc);
    char *first = image_name(enc, enc->first_number);
    if (!first)
        return vs_fail("out of memory");
    int exists = lstat(first, &st) == 0;
    free(first);
    if (exists)
        return vs_fail("%s: the folder holds frames of another render (%06lld.%s exists); use --force "
                       "(force = true in vs.write) to replace them, or another folder", enc->path,
                       (long long)enc->first_number, enc->image_ext);
    return 0;
}

static int open_sink(vs_encoder *enc, const vs_encoder_options *o)
{
    const char *format = pick_format(enc->path, o);
    if (strcasecmp(format, "y4m") == 0) {
        enc->sink = SINK_Y4M;
        enc->pix_fmt = AV_PIX_FMT_YUV420P;
    } else if (strcasecmp(format, "raw") == 0 || strcasecmp(format, "rgba") == 0) {
        enc->sink = SINK_RAW;
        enc->pix_fmt = AV_PIX_FMT_RGBA;
    } else if (strcasecmp(format, "png") == 0 || strcasecmp(format, "jpg") == 0) {
        enc->sink = SINK_IMAGES;
        enc->pix_fmt = AV_PIX_FMT_RGBA;
        enc->image_ext = strcasecmp(format, "png") == 0 ? "png" : "jpg";
    } else {
        enc->sink = SINK_LAV;
    }

    /* the sound goes to video files only; the caller writes it elsewhere */
    static const char *const soundless[] = {[SINK_Y4M] = "a y4m stream", [SINK_RAW] = "a raw RGBA stream",
                                            [SINK_IMAGES] = "an image sequence"};
    if (o->audio_rate > 0 && enc->sink != SINK_LAV)
        return vs_fail("%s: %s carries no sound (audio_rate must be 0)", enc->path, soundless[enc->sink]);
    if (o->audio_rate > 0 && !vs_encoder_holds_sound(enc->path, o->format))
        return vs_fail("%s: the %s format carries no sound (write the sound to an .mp4, .mkv or .webm, or a sound "
                       "file)", enc->path, format);
    if (o->alpha && (enc->sink == SINK_Y4M || (enc->sink == SINK_IMAGES && strcmp(enc->image_ext, "jpg") == 0)))
        return vs_fail("%s: %s cannot keep transparency (--alpha); raw, png, webm, webp, apng and gif can", enc->path,
                       enc->sink == SINK_Y4M ? "y4m" : "jpg");
    if (enc->sink == SINK_IMAGES)
        return open_images(enc, o);
    if (open_fd(enc) < 0)
        return -1;

    /* Pad to the chroma grid of the pixel format (known now for y4m/raw). */
    if (enc->sink == SINK_LAV) {
        /* pick the codec's pixel format first to know its chroma grid */
        const AVCodec *codec = find_codec(codec_name(format, o));
        enc->pix_fmt = codec ? pick_pix_fmt(codec, o, enc->path) : AV_PIX_FMT_YUV420P;
        if (enc->pix_fmt == AV_PIX_FMT_NONE)
            return -1;
    }
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(enc->pix_fmt);
    int mw = 1 << d->log2_chroma_w, mh = 1 << d->log2_chroma_h;
    enc->out_width = (enc->width + mw - 1) / mw * mw;
    enc->out_height = (enc->height + mh - 1) / mh * mh;
    if ((enc->out_width != enc->width || enc->out_height != enc->height) && !o->quiet && !o->no_pad_note)
        fprintf(stderr, "vstudio: note: %s: %dx%d padded to %dx%d for %s (edge pixels repeated)\n", enc->path,
                enc->width, enc->height, enc->out_width, enc->out_height, av_get_pix_fmt_name(enc->pix_fmt));

    if (enc->sink == SINK_LAV)
        return open_lav(enc, strcasecmp(format, extension(enc->path)) == 0 ? NULL : format, o);

    if (enc->sink == SINK_Y4M) {
        /* y4m has no matrix tag: readers guess BT.601 for SD and BT.709
         * for HD, which is what we convert with. */
        char header[160];
        int n = snprintf(header, sizeof header, "YUV4MPEG2 W%d H%d F%d:%d Ip A1:1 C420jpeg XYSCSS=420JPEG XCOLORRANGE=LIMITED\n",
                         enc->out_width, enc->out_height, o->fps_num, o->fps_den);
        if (write_all(enc, header, (size_t)n) < 0)
            return -1;
    }
    enc->started = 1;
    return 0;
}

vs_encoder *vs_encoder_open(const char *path, int width, int height, const vs_encoder_options *opts)
{
    vs_encoder_options defaults;
    if (!opts) {
        vs_encoder_options_init(&defaults);
        opts = &defaults;
    }
    if (!path || !*path) {
        vs_fail("no output path");
        return NULL;
    }
    if (width <= 0 || height <= 0 || width > 32768 || height > 32768) {
        vs_fail("%s: frame size %dx%d is out of range", path, width, height);
        return NULL;
    }
    vs_encoder_options o = *opts;
    if (o.fps_num == 0 && o.fps_den == 0) {
        o.fps_num = 30;
        o.fps_den = 1;
    }
    if (o.fps_num <= 0 || o.fps_den <= 0) {
        vs_fail("%s: frame rate %d/%d must be positive", path, o.fps_num, o.fps_den);
        return NULL;
    }
    if (o.crf > 63) {
        vs_fail("%s: crf %d is out of range (0..63)", path, o.crf);
        return NULL;
    }
    vs_encoder *enc = calloc(1, sizeof *enc);
    if (!enc) {
        vs_fail("out of memory");
        return NULL;
    }
    enc->fd = -1;
    enc->last_dts = AV_NOPTS_VALUE;
    enc->width = width;
    enc->height = height;
    enc->bt709 = height >= 720;
    enc->quality = o.quality > 0 ? o.quality : 90;
    pthread_mutex_init(&enc->pool_lock, NULL);
    enc->path = strdup(path);
    if (!enc->path) {
        vs_fail("out of memory");
        goto fail;
    }
    if (open_sink(enc, &o) < 0)
        goto fail;
    enc->flatten_alpha = (enc->sink == SINK_LAV || enc->sink == SINK_Y4M) &&
                         !(av_pix_fmt_desc_get(enc->pix_fmt)->flags & AV_PIX_FMT_FLAG_ALPHA);
    vs_yuv420_coeffs_init(&enc->yuv420, enc->bt709, enc->full_range);
    return enc;
fail:
    vs_encoder_abort(enc);
    return NULL;
}

/* ---- pictures ---- */

static void picture_free(vs_picture *pic)
{
    if (!pic)
        return;
    av_frame_free(&pic->frame);
    vs_frame_free(pic->rgba);
    vs_frame_free(pic->padded);
    vs_frame_free(pic->widened);
    vs_outfile_abort(pic->image);
    sws_freeContext(pic->sws);
    free(pic);
}

vs_picture *vs_encoder_picture_get(vs_encoder *enc)
{
    pthread_mutex_lock(&enc->pool_lock);
    vs_picture *pic = enc->free_pictures;
    if (pic) {
        enc->free_pictures = pic->next_free;
        pthread_mutex_unlock(&enc->pool_lock);
        pic->next_free = NULL;
        return pic;
    }
    if (enc->n_pictures == enc->cap_pictures) {
        int cap = enc->cap_pictures ? enc->cap_pictures * 2 : 16;
        vs_picture **all = realloc(enc->all_pictures, (size_t)cap * sizeof *all);
        if (!all) {
            pthread_mutex_unlock(&enc->pool_lock);
            vs_fail("%s: out of memory", enc->path);
            return NULL;
        }
        enc->all_pictures = all;
        enc->cap_pictures = cap;
    }
    pic = calloc(1, sizeof *pic);
    if (pic)
        enc->all_pictures[enc->n_pictures++] = pic;
    pthread_mutex_unlock(&enc->pool_lock);
    if (!pic) {
        vs_fail("%s: out of memory", enc->path);
        return NULL;
    }
    pic->enc = enc;
    /* SINK_IMAGES needs nothing yet: the worker that converts the picture
     * compresses it into a temporary (the slow part), the push renames it */
    if (enc->sink == SINK_RAW) {
        /* by sink, not pixel format: a video file in rgba (png)
         * still needs an AVFrame for its codec */
        pic->rgba = vs_frame_new(enc->out_width, enc->out_height);
        if (!pic->rgba)
            goto fail;
    } else if (enc->sink != SINK_IMAGES) {
        pic->frame = av_frame_alloc();
        if (!pic->frame)
            goto fail;
        pic->frame->format = enc->pix_fmt;
        pic->frame->width = enc->out_width;
        pic->frame->height = enc->out_height;
        if (is_yuv(enc->pix_fmt)) {
            pic->frame->colorspace = enc->bt709 ? AVCOL_SPC_BT709 : AVCOL_SPC_SMPTE170M;
            pic->frame->color_primaries = enc->bt709 ? AVCOL_PRI_BT709 : AVCOL_PRI_SMPTE170M;
            pic->frame->color_trc = enc->bt709 ? AVCOL_TRC_BT709 : AVCOL_TRC_SMPTE170M;
            pic->frame->color_range = enc->full_range ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG;
        }
        if (av_frame_get_buffer(pic->frame, 64) < 0)
            goto fail;
    }
    return pic;
fail:
    /* not back to the free list half-made: it stays in all_pictures and is
     * freed with the encoder */
    vs_fail("%s: out of memory for a %dx%d picture", enc->path, enc->out_width, enc->out_height);
    return NULL;
}

void vs_picture_release(vs_picture *pic)
{
    if (!pic)
        return;
    vs_encoder *enc = pic->enc;
    vs_outfile_abort(pic->image); /* saved but never pushed */
    pic->image = NULL;
    pthread_mutex_lock(&enc->pool_lock);
    pic->next_free = enc->free_pictures;
    enc->free_pictures = pic;
    pthread_mutex_unlock(&enc->pool_lock);
}

uint8_t *vs_picture_plane(vs_picture *pic, int plane, int *linesize)
{
    if (!pic->frame || plane < 0 || plane >= AV_NUM_DATA_POINTERS || !pic->frame->data[plane])
        return NULL;
    if (av_frame_make_writable(pic->frame) < 0)
        return NULL;
    if (linesize)
        *linesize = pic->frame->linesize[plane];
    return pic->frame->data[plane];
}

const char *vs_encoder_pix_fmt(const vs_encoder *enc, int *width, int *height)
{
    if (width)
        *width = enc->out_width;
    if (height)
        *height = enc->out_height;
    if (enc->full_range && enc->pix_fmt == AV_PIX_FMT_YUV420P)
        return "yuvj420p"; /* libav's name for full-range 4:2:0 */
    return av_get_pix_fmt_name(enc->pix_fmt);
}

/* Copies src into dst (larger), repeating the last column and row. */
static void pad_copy(vs_frame *dst, const vs_frame *src)
{
    for (int y = 0; y < dst->height; y++) {
        const uint8_t *s = src->data + (size_t)(y < src->height ? y : src->height - 1) * src->stride;
        uint8_t *d = dst->data + (size_t)y * dst->stride;
        memcpy(d, s, (size_t)src->width * 4);
        for (int x = src->width; x < dst->width; x++)
            memcpy(d + x * 4, s + (src->width - 1) * 4, 4);
    }
}

/* 1 when every pixel has alpha 255 (eight bytes at a time). */
static int is_opaque(const vs_frame *f)
{
    static const uint8_t alpha_bytes[8] = {0, 0, 0, 255, 0, 0, 0, 255};
    uint64_t mask;
    memcpy(&mask, alpha_bytes, 8);
    for (int y = 0; y < f->height; y++) {
        const uint8_t *row = f->data + (size_t)y * f->stride;
        int x = 0;
        for (; x + 2 <= f->width; x += 2) {
            uint64_t v;
            memcpy(&v, row + x * 4, 8);
            if ((v & mask) != mask)
                return 0;
        }
        if (x < f->width && row[x * 4 + 3] != 255)
            return 0;
    }
    return 1;
}

/* Composites f over opaque black in place: what a player shows for a
 * frame drawn on a transparent canvas (straight alpha: colour x alpha).
 * Dropping alpha instead would turn anti-aliased edges into hard ones. */
static void flatten_over_black(vs_frame *f)
{
    for (int y = 0; y < f->height; y++) {
        uint8_t *p = f->data + (size_t)y * f->stride;
        for (int x = 0; x < f->width; x++, p += 4) {
            unsigned a = p[3];
            if (a == 255)
                continue;
            p[0] = (uint8_t)((p[0] * a + 127) / 255);
            p[1] = (uint8_t)((p[1] * a + 127) / 255);
            p[2] = (uint8_t)((p[2] * a + 127) / 255);
            p[3] = 255;
        }
    }
}

int vs_picture_from_rgba(vs_picture *pic, const vs_frame *rgba)
{
    vs_encoder *enc = pic->enc;
    if (rgba->width != enc->width || rgba->height != enc->height)
        return vs_fail("frame is %dx%d but the video is %dx%d (every frame must have the size of the first)",
                       rgba->width, rgba->height, enc->width, enc->height);
    if (enc->sink == SINK_IMAGES) {
        vs_outfile_abort(pic->image);
        pic->image = NULL;
        /* the temporary's name: .frame.png.<pid>.<random>.part in the folder */
        char *nominal = malloc(strlen(enc->path) + 16);
        if (!nominal)
            return vs_fail("out of memory");
        sprintf(nominal, "%s/frame.%s", enc->path, enc->image_ext);
        pic->image = vs_outfile_create(nominal);
        int rc = pic->image ? vs_image_write_fd(rgba, vs_outfile_fd(pic->image), nominal, enc->quality) : -1;
        free(nominal);
        if (rc == 0)
            rc = vs_outfile_finish(pic->image);
        if (rc < 0) {
            vs_outfile_abort(pic->image);
            pic->image = NULL;
        }
        return rc;
    }
    if (pic->rgba) {
        if (rgba->width == pic->rgba->width && rgba->height == pic->rgba->height)
            return vs_frame_copy_into(pic->rgba, rgba);
        pad_copy(pic->rgba, rgba);
        return 0;
    }
    if (enc->pix_fmt == AV_PIX_FMT_PAL8) {
        if (av_frame_make_writable(pic->frame) < 0)
            return vs_fail("out of memory");
        return vs_gif_quantize(rgba, pic->frame->data[0], pic->frame->linesize[0], (uint32_t *)pic->frame->data[1]);
    }
    int yuv420 = enc->pix_fmt == AV_PIX_FMT_YUV420P || enc->pix_fmt == AV_PIX_FMT_YUVJ420P;
    int padded = rgba->width != enc->out_width || rgba->height != enc->out_height;
    if (av_frame_make_writable(pic->frame) < 0)
        return vs_fail("out of memory");
    /* the common case in one pass: the conversion also tells opacity */
    if (yuv420 && !padded &&
        (vs_rgba_to_yuv420(rgba, &enc->yuv420, pic->frame->data, pic->frame->linesize) || !enc->flatten_alpha))
        return 0;
    const vs_frame *src = rgba;
    int flatten = enc->flatten_alpha && !is_opaque(rgba);
    if (flatten || padded) {
        if (!pic->padded && !(pic->padded = vs_frame_new(enc->out_width, enc->out_height)))
            return -1;
        pad_copy(pic->padded, rgba);
        if (flatten)
            flatten_over_black(pic->padded);
        src = pic->padded;
    }
    if (yuv420) {
        vs_rgba_to_yuv420(src, &enc->yuv420, pic->frame->data, pic->frame->linesize);
        return 0;
    }
    if (!pic->sws) {
        pic->sws = sws_getContext(enc->out_width, enc->out_height, AV_PIX_FMT_RGBA, enc->out_width,
                                  enc->out_height, enc->pix_fmt, SWS_BILINEAR, NULL, NULL, NULL);
        if (!pic->sws)
            return vs_fail("cannot convert RGBA to %s", av_get_pix_fmt_name(enc->pix_fmt));
        if (is_yuv(enc->pix_fmt)) {
            /* The matrix the stream is tagged with: RGBA in full range,
             * YUV out in limited range (full for JPEG codecs). */
            const int *matrix = sws_getCoefficients(enc->bt709 ? SWS_CS_ITU709 : SWS_CS_ITU601);
            sws_setColorspaceDetails(pic->sws, matrix, 1, matrix, enc->full_range, 0, 1 << 16, 1 << 16);
        }
    }
    const uint8_t *planes[1] = {src->data};
    const int strides[1] = {src->stride};
    sws_scale(pic->sws, planes, strides, 0, src->height, pic->frame->data, pic->frame->linesize);
    return 0;
}

/* ---- pushing ---- */

static int push_y4m(vs_encoder *enc, AVFrame *f)
{
    if (write_all(enc, "FRAME\n", 6) < 0)
        return -1;
    for (int p = 0; p < 3; p++) {
        int w = p ? (enc->out_width + 1) / 2 : enc->out_width;
        int h = p ? (enc->out_height + 1) / 2 : enc->out_height;
        for (int y = 0; y < h; y++)
            if (write_all(enc, f->data[p] + (size_t)y * f->linesize[p], (size_t)w) < 0)
                return -1;
    }
    return 0;
}

static int push_raw(vs_encoder *enc, const vs_frame *f)
{
    for (int y = 0; y < f->height; y++)
        if (write_all(enc, f->data + (size_t)y * f->stride, (size_t)f->width * 4) < 0)
            return -1;
    return 0;
}

static int push_image(vs_encoder *enc, vs_picture *pic)
{
    int64_t k = enc->first_number + enc->frames;
    if (!pic->image)
        return vs_fail("%s: frame %lld: the picture holds no image (vs_picture_from_rgba first)", enc->path,
                       (long long)k);
    char *file = image_name(enc, k);
    if (!file)
        return vs_fail("out of memory");
    vs_outfile *image = pic->image;
    pic->image = NULL;
    int rc = vs_outfile_commit_new(image, file);
    if (rc == -EEXIST)
        vs_error_prefix("%s: frame %lld: another render's frames are in the folder (use --force or another "
                        "folder)", enc->path, (long long)k);
    else if (rc < 0)
        vs_error_prefix("%s: frame %lld", enc->path, (long long)k);
    free(file);
    return rc < 0 ? -1 : 0;
}

/* RGB input: straight from its rows into 4:2:0 planes of the stream's
 * size (opaque: nothing to flatten); any other format, sink or an odd size
 * takes an RGBA copy through vs_picture_from_rgba. */
static int picture_from_rgb(vs_picture *pic, const void *rgb, vs_rgb_type type, size_t stride)
{
    vs_encoder *enc = pic->enc;
    int yuv420 = enc->pix_fmt == AV_PIX_FMT_YUV420P || enc->pix_fmt == AV_PIX_FMT_YUVJ420P;
    int padded = enc->width != enc->out_width || enc->height != enc->out_height;
    if (enc->sink != SINK_IMAGES && !pic->rgba && yuv420 && !padded) {
        if (av_frame_make_writable(pic->frame) < 0 ||
            vs_rgb_to_yuv420(rgb, type, enc->width, enc->height, stride, &enc->yuv420, pic->frame->data,
                             pic->frame->linesize) < 0)
            return vs_fail("out of memory");
        return 0;
    }
    if (!pic->widened && !(pic->widened = vs_frame_new(enc->width, enc->height)))
        return -1;
    for (int y = 0; y < enc->height; y++)
        vs_rgb_row_to_rgba((const uint8_t *)rgb + (size_t)y * stride, type, enc->width,
                           pic->widened->data + (size_t)y * pic->widened->stride);
    return vs_picture_from_rgba(pic, pic->widened);
}

int vs_picture_from_rgb(vs_picture *pic, const uint8_t *rgb, size_t stride)
{
    return picture_from_rgb(pic, rgb, VS_RGB_U8, stride);
}

int vs_picture_from_rgb_float(vs_picture *pic, const float *rgb, size_t stride)
{
    return picture_from_rgb(pic, rgb, VS_RGB_F32, stride);
}

int vs_encoder_push_picture(vs_encoder *enc, vs_picture *pic)
{
    int rc;
    if (enc->failed) {
        vs_picture_release(pic);
        return vs_fail("%s: the encoder already failed", enc->path);
    }
    switch (enc->sink) {
    case SINK_LAV:
        pic->frame->pts = enc->frames;
        rc = encode_lav(enc, pic->frame);
        break;
    case SINK_Y4M:
        rc = push_y4m(enc, pic->frame);
        break;
    case SINK_RAW:
        rc = push_raw(enc, pic->rgba);
        break;
    default:
        rc = push_image(enc, pic);
        break;
    }
    vs_picture_release(pic);
    if (rc < 0) {
        enc->failed = 1;
        return -1;
    }
    enc->frames++;
    return 0;
}

int vs_encoder_push(vs_encoder *enc, const vs_frame *frame)
{
    vs_picture *pic = vs_encoder_picture_get(enc);
    if (!pic)
        return -1;
    if (vs_picture_from_rgba(pic, frame) < 0) {
        vs_picture_release(pic);
        enc->failed = 1;
        return vs_error_prefix("%s: frame %lld", enc->path, (long long)enc->frames);
    }
    return vs_encoder_push_picture(enc, pic);
}

int64_t vs_encoder_frames(const vs_encoder *enc) { return enc->frames; }

int vs_encoder_push_audio(vs_encoder *enc, const float *samples, int64_t n)
{
    if (enc->failed)
        return vs_fail("%s: the encoder already failed", enc->path);
    if (!enc->audio)
        return vs_fail("%s: the video has no audio stream (opened with audio_rate 0)", enc->path);
    if (n < 0 || (n > 0 && !samples))
        return vs_fail("%s: bad audio push (%lld samples)", enc->path, (long long)n);
    if (vs_audio_out_push(enc->audio, samples, n) < 0) {
        enc->failed = 1;
        return -1;
    }
    return 0;
}

int64_t vs_encoder_audio_samples(const vs_encoder *enc) { return enc->audio ? vs_audio_out_samples(enc->audio) : 0; }

vs_audio_out *vs_encoder_audio(vs_encoder *enc) { return enc->audio; }

/* ---- closing ---- */

static void free_encoder(vs_encoder *enc)
{
    vs_audio_out_free(&enc->audio);
    if (enc->codec)
        avcodec_free_context(&enc->codec);
    av_packet_free(&enc->packet);
    if (enc->fmt)
        vs_avio_detach(enc->fmt);
    avformat_free_context(enc->fmt);
    vs_outfile_abort(enc->out);
    if (enc->own_fd)
        close(enc->fd);
    for (int i = 0; i < enc->n_pictures; i++)
        picture_free(enc->all_pictures[i]);
    free(enc->all_pictures);
    pthread_mutex_destroy(&enc->pool_lock);
    free(enc->path);
    free(enc);
}

void vs_encoder_discard(vs_encoder *enc)
{
    if (!enc)
        return;
    enc->failed = 1;
    if (enc->fmt)
        vs_avio_detach(enc->fmt); /* its buffer must not reach the descriptor once closed */
    vs_outfile_abort(enc->out);
    enc->out = NULL;
    if (enc->sink != SINK_IMAGES)
        return;
    for (int64_t i = 0; i < enc->frames; i++) {
        char *file = image_name(enc, enc->first_number + i);
        if (file)
            unlink(file);
        free(file);
    }
    enc->frames = 0;
    if (enc->made_dir)
        rmdir(enc->path); /* fails, as it should, while anything else is in it */
}

void vs_encoder_abort(vs_encoder *enc)
{
    if (!enc)
        return;
    vs_encoder_discard(enc);
    /* the pictures' unpushed frames go with the encoder; then the folder can */
    char *made_dir = enc->made_dir ? strdup(enc->path) : NULL;
    free_encoder(enc);
    if (made_dir)
        rmdir(made_dir);
    free(made_dir);
}

int vs_encoder_finish(vs_encoder *enc)
{
    if (enc->finished)
        return 0;
    if (enc->failed)
        goto fail;
    if (enc->sink == SINK_LAV) {
        if (encode_lav(enc, NULL) < 0 || (enc->audio && vs_audio_out_finish(enc->audio) < 0))
            goto fail;
        vs_av_reason_clear();
        int err = av_write_trailer(enc->fmt);
        if (err < 0) {
            vs_fail("%s: cannot finish the file: %s", enc->path, vs_av_error(err));
            goto fail;
        }
        err = vs_avio_detach(enc->fmt);
        if (err < 0) {
            vs_fail("%s: write failed: %s", enc->path, vs_av_error(err));
            goto fail;
        }
    } else if (enc->own_fd) {
        int fd = enc->fd;
        enc->fd = -1;
        enc->own_fd = 0;
        if (close(fd) < 0) {
            vs_fail("%s: write failed: %s", enc->path, strerror(errno));
            goto fail;
        }
    }
    /* durable before it has its name */
    if (enc->out && vs_outfile_finish(enc->out) < 0)
        goto fail;
    if (enc->sink == SINK_IMAGES && enc->frames > 0 && vs_outfile_sync_dir(enc->path, 1) < 0)
        goto fail;
    enc->finished = 1;
    return 0;
fail:
    vs_encoder_discard(enc);
    return -1;
}

int vs_encoder_close(vs_encoder *enc)
{
    if (!enc)
        return 0;
    if (vs_encoder_finish(enc) < 0)
        goto fail;
    if (enc->out) {
        vs_outfile *out = enc->out;
        enc->out = NULL;
        if (vs_outfile_commit(out) < 0)
            goto fail;
    }
    free_encoder(enc);
    return 0;
fail:
    vs_encoder_abort(enc);
    return -1;
}
