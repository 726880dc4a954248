/*
 * convert.c: frame folders to videos, one or thousands, resumable.
 *
 * A batch is a list of (folder, output) tasks. Planning lists every folder
 * (framelist.c: natural, name or regex order), skips outputs that are
 * this folder's complete, current conversion (see "resume" below: a
 * digest of the frame list and options in the output, and data that holds
 * every frame), and orders the rest longest first: with `jobs` folders
 * converting at once, greedy longest-first (LPT) keeps the last minutes
 * from being one long folder on one core.
 *
 * One folder is a pipeline: `workers` threads claim frame indices in order,
 * read the file, decode it (libpng / turbojpeg, image.c) into their own
 * RGBA buffer, lay transparency over the background, resize if asked, and
 * convert to the encoder's picture (YUV, odd sizes edge-padded) themselves.
 * The folder's thread takes pictures strictly in frame order from the pool's
 * window (pool.h) and hands them to the encoder; a worker may not run more
 * than the window ahead, so memory is flat whatever the folder size.
 * (convert_folder: open_folder_encoder, the workers, encode_folder; one
 * exit stops and joins the workers, then commits or aborts the output.)
 * The encoder writes a private temporary (outfile.h) and renames it when
 * complete; any failure or Ctrl-C aborts it, which removes the temporary:
 * a rerun never trusts a truncated video.
 *
 * JPEG frames of the folder's (even) size with 4:2:0 chroma skip RGB
 * altogether: turbojpeg decodes them to YCbCr planes straight into the
 * encoder's picture, and one fixed-point SSE2 pass (yuv420.c) maps JPEG's full-range BT.601
 * to the stream's limited-range matrix (BT.601 below 720 lines, BT.709 from
 * 720 up, as encode.c tags it). PNG frames of that size that image.c's
 * fast path reads come as pairs of RGBA rows while they are in cache
 * (vs_image_decode_rows): laid over the background and converted into the
 * picture at once, with no RGBA frame in between. Anything else goes
 * through the worker's RGBA frame.
 *
 * A soundtrack (a task's audio) is decoded by vs_audio_source at 48 kHz
 * with its own channels (at most 8; --audio-channels chooses) and pushed
 * after each picture: written frame w gets samples
 * [floor(w * 48000 / fps), floor((w + 1) * 48000 / fps)), so the sound
 * ends with the picture, cut there or padded with silence (the folder's
 * note says which), and frames left out under --skip-bad take no sound.
 * The soundtrack's name, size and mtime are part of the resume digest.
 * Under --skip-bad a soundtrack that cannot be read is left out and listed
 * like a bad frame; the folder converts without sound.
 *
 * vs_convert_batch is its steps: plan_jobs (the resume check per folder,
 * the pending ones queued), print_plan for a dry run, else run_jobs (the
 * folder threads, longest first, while the batch's main thread only
 * reports a progress line: folders, frames/s, ETA), then count_jobs,
 * print_results (per folder and the summary) and, after Ctrl-C,
 * print_interrupted.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libavformat/avformat.h>
#include <turbojpeg.h>

#include "concat.h"
#include "convert.h"
#include "error.h"
#include "hash.h"
#include "libav_log.h"
#include "image.h"
#include "pool.h"
#include "probe.h"
#include "yuv420.h"
#include "vstudio.h"

enum job_state {
    JOB_PENDING,               /* planned; not started when the batch ends so */
    JOB_CONVERTED,
    JOB_SKIPPED,               /* up to date */
    JOB_FAILED,
    JOB_INTERRUPTED,           /* converting when Ctrl-C came: its .part is removed */
};

/* A soundtrack's rate: the encoder's default for video files. */
enum { SOUND_RATE = 48000 };

struct job {
    const char *dir, *out;
    const char *audio;         /* the soundtrack, NULL: none */
    vs_frame_list *list;
    int64_t frames;
    enum job_state state;
    char reason[1024];         /* why it failed or was skipped */
    char note[512];            /* numbering warning, odd-size padding */
    char redo[1024];           /* why an earlier output is converted again */
    uint64_t source;           /* digest of the frame list and options (resume) */
    int width, height;         /* the first frame's size */
    int out_width, out_height; /* the encoded size (odd sizes padded) */
    int plan_fails;            /* --dry-run: a frame's header says the conversion would fail */
    int jpeg_direct;           /* even size, yuv420p encoder: JPEGs may skip RGB */
    vs_jpeg_yuv_map jpeg_map;
    int png_direct;            /* the same: PNG rows go into the picture as they are decoded */
    vs_yuv420_coeffs png_yuv;  /* the stream's matrix, as encode.c sets it */
    int64_t written;
    int64_t processed;         /* frames taken from the ring (written or left out) */
    char **bad;                /* frames left out under --skip-bad ("path: why") */
    int64_t nbad;
    double seconds;
};

struct batch {
    struct job **order;        /* pending jobs, longest first */
    int norder;
    atomic_int next_job;
    atomic_llong frames_done;
    atomic_int jobs_done;
    int64_t frames_total;
    const vs_convert_options *o;
    atomic_int *stop;
    int workers;               /* per folder */
    int encoder_threads;
    pthread_mutex_t lock;      /* for messages printed while converting */
};

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

void vs_convert_options_init(vs_convert_options *o)
{
    memset(o, 0, sizeof *o);
    o->fps_num = 30;
    o->fps_den = 1;
    o->crf = -1;
}

/* ---- resume: is OUT already a complete conversion of this folder? ----
 *
 * Every output records, in its comment, "vstudio convert: N files, source
 * HEX": a digest of the frame list (names, sizes, mtimes, in order) and of
 * the options that change the video. An output is skipped only when it
 * carries this folder's digest and its data holds every frame its index
 * lists (concat.h); one of ours that is stale or cut short is redone, and
 * anything else at the path is refused without --force: it is not ours to
 * replace. */

static const char COMMENT_PREFIX[] = "vstudio convert: ";

/* Adds a side file (soundtrack, captions) to digest h: its role, path,
 * size and modification time. */
static uint64_t digest_file(uint64_t h, const char *role, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        memset(&st, 0, sizeof st);
    int64_t facts[3] = {(int64_t)st.st_size, (int64_t)st.st_mtim.tv_sec, (int64_t)st.st_mtim.tv_nsec};
    h = vs_fnv1a(h, role, strlen(role) + 1);
    h = vs_fnv1a(h, path, strlen(path) + 1);
    return vs_fnv1a(h, facts, sizeof facts);
}

/* The digest the output of this folder with these options must carry. */
static void source_digest(struct job *j, const vs_convert_options *o)
{
    uint64_t h = VS_FNV1A_SEED;
    char words[256];
    /* the preset is left out: a rerun with a faster one resumes the batch */
    snprintf(words, sizeof words, "fps=%d/%d crf=%d codec=%s resize=%d background=%u,%u,%u skip_bad=%d", o->fps_num,
             o->fps_den, o->crf, o->codec ? o->codec : "", o->resize, o->background[0], o->background[1],
             o->background[2], o->skip_bad);
    h = vs_fnv1a(h, words, strlen(words) + 1);
    /* another soundtrack or caption file, or the same one changed, is another video */
    if (j->audio) {
        h = digest_file(h, "audio", j->audio);
        h = vs_fnv1a(h, &o->audio_channels, sizeof o->audio_channels);
    }
    if (o->captions)
        h = digest_file(h, "captions", o->captions);
    for (int64_t i = 0; i < j->frames; i++) {
        const char *path = vs_frame_list_path(j->list, i);
        const char *name = strrchr(path, '/');
        name = name ? name + 1 : path;
        struct stat st;
        if (stat(path, &st) != 0)
            memset(&st, 0, sizeof st); /* unreadable: the conversion will say so */
        int64_t facts[3] = {(int64_t)st.st_size, (int64_t)st.st_mtim.tv_sec, (int64_t)st.st_mtim.tv_nsec};
        h = vs_fnv1a(h, name, strlen(name) + 1);
        h = vs_fnv1a(h, facts, sizeof facts);
    }
    j->source = h;
}

/* The video packets from where fmt stands to the end. */
static int64_t count_packets(AVFormatContext *fmt, int vi)
{
    AVPacket *pkt = av_packet_alloc();
    int64_t n = 0;
    while (pkt && av_read_frame(fmt, pkt) >= 0) {
        n += pkt->stream_index == vi;
        av_packet_unref(pkt);
    }
    av_packet_free(&pkt);
    return n;
}

enum resume { RESUME_ABSENT, RESUME_CURRENT, RESUME_STALE, RESUME_FOREIGN };

/* What is at j->out: nothing, this folder's complete conversion, an
 * earlier or cut-short conversion (why in j->reason), or a file that
 * vstudio convert did not write (why in j->reason). *frames: the
 * output's frame count when current. */
static enum resume resume_state(struct job *j, int64_t *frames)
{
    struct stat st;
    if (lstat(j->out, &st) != 0)
        return RESUME_ABSENT;
    if (!S_ISREG(st.st_mode)) {
        snprintf(j->reason, sizeof j->reason, "%s exists and is not a regular file", j->out);
        return RESUME_FOREIGN;
    }
    AVFormatContext *fmt = NULL;
    int err = avformat_open_input(&fmt, j->out, NULL, NULL);
    if (err < 0) {
        snprintf(j->reason, sizeof j->reason, "%s exists and is not a video (%s)", j->out, vs_av_error(err));
        return RESUME_FOREIGN;
    }
    enum resume r = RESUME_FOREIGN;
    const AVDictionaryEntry *c = av_dict_get(fmt->metadata, "comment", NULL, 0);
    unsigned long long source = 0;
    int vi = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (!c && !strcmp(fmt->iformat->name, "yuv4mpegpipe")) {
        snprintf(j->reason, sizeof j->reason, "%s exists, and y4m cannot record what it was converted from", j->out);
        goto done;
    }
    if (!c || strncmp(c->value, COMMENT_PREFIX, sizeof COMMENT_PREFIX - 1) != 0 || vi < 0) {
        snprintf(j->reason, sizeof j->reason, "%s exists and was not written by vstudio convert", j->out);
        goto done;
    }
    r = RESUME_STALE;
    const char *at = strstr(c->value, ", source ");
    if (!at || sscanf(at, ", source %16llx", &source) != 1 || source != j->source) {
        snprintf(j->reason, sizeof j->reason, "%s: the frames or the options changed since it was written", j->out);
        goto done;
    }
    /* no count in the header (Matroska): count the packets, before the check reads */
    *frames = fmt->streams[vi]->nb_frames > 0 ? fmt->streams[vi]->nb_frames : count_packets(fmt, vi);
    if (vs_media_check_complete(fmt, fmt->streams[vi], j->out) < 0) {
        snprintf(j->reason, sizeof j->reason, "%s", vs_last_error());
        goto done;
    }
    r = RESUME_CURRENT;
done:
    avformat_close_input(&fmt);
    return r;
}

/* ---- one frame: file -> RGBA -> picture, in a worker ---- */

struct worker_buf {
    uint8_t *file;
    size_t file_cap;
    vs_frame *rgba;            /* the folder's size */
    vs_frame *other;           /* a frame of another size, before resizing */
    vs_frame *scaled;
    vs_image_scratch inflate;  /* PNG fast-path buffers, kept across frames */
    tjhandle tj;               /* JPEG straight to YUV */
    vs_captions *captions;     /* --captions: this worker's own libass renderer (not thread-safe) */
};

struct target_ctx {
    struct job *job;
    struct worker_buf *buf;
    const vs_convert_options *o;
};

static vs_frame *ensure_frame(vs_frame **f, int w, int h)
{
    if (*f && (*f)->width == w && (*f)->height == h)
        return *f;
    vs_frame_free(*f);
    *f = vs_frame_new(w, h);
    return *f;
}

/* Decode straight into the worker's frame when the size matches. */
static vs_frame *frame_target(void *ctx, int w, int h)
{
    struct target_ctx *t = ctx;
    struct job *j = t->job;
    if (w == j->width && h == j->height)
        return t->buf->rgba;
    if (t->o->resize == VS_RESIZE_NONE) {
        vs_fail("size %dx%d differs from the first frame's %dx%d (%s); use --resize fit|fill|pad", w, h,
                j->width, j->height, vs_frame_list_path(j->list, 0));
        return NULL;
    }
    return ensure_frame(&t->buf->other, w, h);
}

static void over_background(vs_frame *f, const uint8_t *bg)
{
    for (int y = 0; y < f->height; y++) {
        uint8_t *p = f->data + (size_t)y * f->stride;
        for (int x = 0; x < f->width; x++, p += 4) {
            unsigned a = p[3];
            if (a == 255)
                continue;
            for (int c = 0; c < 3; c++)
                p[c] = (uint8_t)((p[c] * a + bg[c] * (255 - a) + 127) / 255);
            p[3] = 255;
        }
    }
}

/* Fits, fills or pads src into dst (the folder's size) over the background. */
static int resize_into(struct worker_buf *b, vs_frame *dst, const vs_frame *src, vs_resize_mode mode,
                       const uint8_t *bg)
{
    vs_frame_fill(dst, bg[0], bg[1], bg[2], 255);
    const vs_frame *from = src;
    int w = src->width, h = src->height;
    if (mode != VS_RESIZE_PAD) {
        double sx = (double)dst->width / src->width, sy = (double)dst->height / src->height;
        double s = mode == VS_RESIZE_FIT ? (sx < sy ? sx : sy) : (sx > sy ? sx : sy);
        w = (int)(src->width * s + 0.5);
        h = (int)(src->height * s + 0.5);
        if (w < 1)
            w = 1;
        if (h < 1)
            h = 1;
        if (!ensure_frame(&b->scaled, w, h) || vs_frame_scale_into(b->scaled, src) < 0)
            return -1;
        from = b->scaled;
    }
    /* centred; copy_region clips, so a larger frame is cropped around its centre */
    int dx = (dst->width - w) / 2, dy = (dst->height - h) / 2;
    int sx0 = dx < 0 ? -dx : 0, sy0 = dy < 0 ? -dy : 0;
    vs_frame_copy_region(dst, dx < 0 ? 0 : dx, dy < 0 ? 0 : dy, from, sx0, sy0, w - sx0, h - sy0);
    return 0;
}

/* "path: why" from image.c becomes "why" (the caller names path and index). */
static const char *strip_path(const char *msg, const char *path)
{
    size_t n = strlen(path);
    if (!strncmp(msg, path, n) && msg[n] == ':' && msg[n + 1] == ' ')
        return msg + n + 2;
    return msg;
}

static int read_into(struct worker_buf *b, const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return vs_fail("%s: cannot open (%s)", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return vs_fail("%s: not a regular file", path);
    }
    size_t need = (size_t)st.st_size + 1;
    if (need > b->file_cap) {
        uint8_t *grown = realloc(b->file, need);
        if (!grown) {
            fclose(f);
            return vs_fail("%s: out of memory reading %zu bytes", path, need);
        }
        b->file = grown;
        b->file_cap = need;
    }
    *size = fread(b->file, 1, (size_t)st.st_size, f);
    int err = ferror(f);
    fclose(f);
    if (err)
        return vs_fail("%s: read error", path);
    return 0;
}

/* Decodes frame i into b->rgba, ready for the encoder. */
static int load_frame(struct job *j, struct worker_buf *b, int64_t i, const vs_convert_options *o)
{
    const char *path = vs_frame_list_path(j->list, i);
    size_t size = 0;
    if (read_into(b, path, &size) < 0)
        return -1;
    struct target_ctx t = {j, b, o};
    vs_image_info info;
    vs_frame *got = vs_image_decode_to(path, b->file, size, frame_target, &t, &info, &b->inflate);
    if (!got)
        return -1;
    if (got != b->rgba) {
        if (resize_into(b, b->rgba, got, o->resize, o->background) < 0)
            return vs_error_prefix("%s", path);
        if (info.alpha)
            over_background(b->rgba, o->background);
    } else if (info.alpha) {
        over_background(b->rgba, o->background);
    }
    return 0;
}

/* --captions: the cues shown at frame i's start, over the composited frame. */
static int draw_captions(struct job *j, struct worker_buf *b, int64_t i, const vs_convert_options *o)
{
    if (!b->captions && !(b->captions = vs_captions_open(o->captions, j->width, j->height, NULL)))
        return -1;
    return vs_captions_draw(b->captions, b->rgba, i * 1000 * o->fps_den / o->fps_num);
}

/* ---- JPEG straight into the encoder's YUV planes ---- */

/* 1: frame decoded into pic; 0: not this path's kind (or an error: the RGBA
 * path then decodes it again and reports the error properly). */
static int jpeg_to_picture(struct job *j, struct worker_buf *b, const uint8_t *data, size_t size, vs_picture *pic)
{
    if (!b->tj && !(b->tj = tjInitDecompress()))
        return 0;
    int w, h, subsamp, colorspace;
    if (tjDecompressHeader3(b->tj, data, (unsigned long)size, &w, &h, &subsamp, &colorspace) ||
        w != j->width || h != j->height || subsamp != TJSAMP_420 || colorspace != TJCS_YCbCr)
        return 0;
    uint8_t *planes[3];
    int strides[3];
    for (int i = 0; i < 3; i++)
        if (!(planes[i] = vs_picture_plane(pic, i, &strides[i])))
            return 0;
    if (tjDecompressToYUVPlanes(b->tj, data, (unsigned long)size, planes, w, strides, h, TJFLAG_STOPONWARNING))
        return 0;
    vs_jpeg_yuv_map_apply(&j->jpeg_map, planes, strides, w, h);
    return 1;
}

/* ---- PNG rows straight into the encoder's YUV planes ---- */

struct rows_ctx {
    const struct job *job;
    const uint8_t *background;
    uint8_t *planes[3];
    int strides[3];
};

/* A pair of decoded rows: transparency laid over the background, then
 * converted into the picture while the pair is in cache. */
static int rows_to_picture(void *ctx, const vs_image_info *info, int y, int n, uint8_t *rgba, size_t stride)
{
    struct rows_ctx *r = ctx;
    vs_frame pair = {.width = info->width, .height = n, .stride = (int)stride, .data = rgba};
    if (info->alpha)
        over_background(&pair, r->background);
    uint8_t *planes[3] = {r->planes[0] + (size_t)y * r->strides[0], r->planes[1] + (size_t)(y / 2) * r->strides[1],
                          r->planes[2] + (size_t)(y / 2) * r->strides[2]};
    vs_rgba_to_yuv420(&pair, &r->job->png_yuv, planes, r->strides);
    return 0;
}

/* 1: frame decoded into pic; 0: not this path's kind (or an error: the RGBA
 * path then decodes it again and reports the error properly). */
static int png_to_picture(struct job *j, struct worker_buf *b, const char *path, size_t size, vs_picture *pic,
                          const vs_convert_options *o)
{
    struct rows_ctx r = {.job = j, .background = o->background};
    for (int i = 0; i < 3; i++)
        if (!(r.planes[i] = vs_picture_plane(pic, i, &r.strides[i])))
            return 0;
    vs_image_info info;
    return vs_image_decode_rows(path, b->file, size, j->width, j->height, rows_to_picture, &r, &info,
                                &b->inflate) == 1;
}

/* ---- one folder: workers -> ordered ring -> encoder ---- */

/* BAD: the frame cannot be read (--skip-bad may leave it out);
 * FATAL: the encoder side failed, nothing to skip. */
enum slot_state { SLOT_FREE, SLOT_READY, SLOT_BAD, SLOT_FATAL };

struct slot {
    enum slot_state state;
    vs_picture *pic;
    char *error;
};

struct pipeline {
    struct job *job;
    struct batch *batch;
    vs_encoder *enc;
    vs_audio_source *sound; /* the soundtrack, NULL: none */
    float *sound_buf;       /* one frame's samples */
    vs_pool *pool;       /* frames claimed, decoded and taken in order (pool.h) */
    struct slot *slots;  /* the pool's capacity */
};

static void *worker_main(void *arg)
{
    struct pipeline *p = arg;
    struct job *j = p->job;
    struct worker_buf b = {0};
    b.rgba = vs_frame_new(j->width, j->height);
    vs_pool_run run = {0};
    int64_t i;
    while ((i = vs_pool_claim(p->pool, &run, NULL)) >= 0) {
        struct slot *s = &p->slots[vs_pool_slot(p->pool, i)];
        vs_picture *pic = NULL;
        char *error = NULL;
        int fatal = 0;
        const char *path = vs_frame_list_path(j->list, i);
        int format = vs_image_format(path);
        if ((j->jpeg_direct && format == VS_IMAGE_JPEG) || (j->png_direct && format == VS_IMAGE_PNG)) {
            size_t size = 0;
            if (read_into(&b, path, &size) == 0 && (pic = vs_encoder_picture_get(p->enc)) &&
                !(format == VS_IMAGE_JPEG ? jpeg_to_picture(j, &b, b.file, size, pic)
                                          : png_to_picture(j, &b, path, size, pic, p->batch->o))) {
                vs_picture_release(pic);
                pic = NULL;
            }
        }
        if (pic) {
            /* done: decoded straight into the encoder's planes */
        } else if (!b.rgba) {
            error = strdup("out of memory");
            fatal = 1;
        } else if (load_frame(j, &b, i, p->batch->o) < 0) {
            const char *why = strip_path(vs_last_error(), path);
            size_t n = strlen(path) + strlen(why) + 40;
            error = malloc(n);
            if (error)
                snprintf(error, n, "%s (frame %lld): %s", path, (long long)i, why);
        } else if (p->batch->o->captions && draw_captions(j, &b, i, p->batch->o) < 0) {
            error = strdup(vs_last_error());
            fatal = 1;
        } else if (!(pic = vs_encoder_picture_get(p->enc)) || vs_picture_from_rgba(pic, b.rgba) < 0) {
            vs_picture_release(pic);
            pic = NULL;
            error = strdup(vs_last_error());
            fatal = 1;
        }
        s->pic = pic;
        s->error = error;
        s->state = pic ? SLOT_READY : fatal ? SLOT_FATAL : SLOT_BAD;
        vs_pool_put(p->pool, i);
    }
    vs_pool_leave(p->pool);
    vs_frame_free(b.rgba);
    vs_frame_free(b.other);
    vs_frame_free(b.scaled);
    vs_captions_close(b.captions);
    vs_image_scratch_free(&b.inflate);
    if (b.tj)
        tjDestroy(b.tj);
    free(b.file);
    return NULL;
}

static int job_fail(struct job *j, const char *fmt, ...) VS_PRINTF(2, 3);
static int job_fail(struct job *j, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->reason, sizeof j->reason, fmt, ap);
    va_end(ap);
    j->state = JOB_FAILED;
    return -1;
}

static void add_bad(struct job *j, char *error)
{
    char **grown = realloc(j->bad, sizeof *grown * (size_t)(j->nbad + 1));
    if (!grown) {
        free(error);
        return;
    }
    j->bad = grown;
    j->bad[j->nbad++] = error;
}

/* The size of the first frame whose header reads (only frame 0 without
 * --skip-bad); a frame broken past its header is caught by the workers. */
static int first_size(struct job *j, const vs_convert_options *o)
{
    int64_t tries = o->skip_bad ? j->frames : 1;
    for (int64_t i = 0; i < tries; i++) {
        const char *path = vs_frame_list_path(j->list, i);
        if (vs_image_size(path, &j->width, &j->height) == 0)
            return 0;
        if (!o->skip_bad)
            return job_fail(j, "%s (frame %lld): %s", path, (long long)i, strip_path(vs_last_error(), path));
    }
    return job_fail(j, "%s: none of the %lld frames could be read", j->dir, (long long)j->frames);
}

/* The folder's encoder (its settings stamp in the comment, for resume),
 * and what its pixel format allows: odd sizes padded (a note), JPEGs
 * decoded straight to YUV. */
static int open_folder_encoder(struct pipeline *p)
{
    struct job *j = p->job;
    const vs_convert_options *o = p->batch->o;
    vs_encoder_options eo;
    vs_encoder_options_init(&eo);
    eo.fps_num = o->fps_num;
    eo.fps_den = o->fps_den;
    eo.crf = o->crf;
    eo.preset = o->preset;
    eo.codec = o->codec;
    eo.threads = p->batch->encoder_threads;
    eo.no_pad_note = 1; /* said once in the folder's warning below, with the folder's name */
    char comment[96];
    snprintf(comment, sizeof comment, "%s%lld files, source %016llx", COMMENT_PREFIX, (long long)j->frames,
             (unsigned long long)j->source);
    eo.comment = comment;
    if (j->audio) {
        p->sound = vs_audio_source_open(j->audio, SOUND_RATE, o->audio_channels);
        /* --skip-bad: a soundtrack that cannot be read is left out like a bad frame */
        char *why = !p->sound && o->skip_bad ? strdup(vs_last_error()) : NULL;
        if (why)
            add_bad(j, why);
        int64_t per_frame = (int64_t)SOUND_RATE * o->fps_den / o->fps_num + 2;
        int channels = p->sound ? vs_audio_source_channels(p->sound) : 0;
        if (p->sound && !(p->sound_buf = malloc((size_t)per_frame * channels * sizeof *p->sound_buf)))
            return job_fail(j, "out of memory");
        if (!p->sound && !why)
            return job_fail(j, "%s", vs_last_error());
        eo.audio_rate = p->sound ? SOUND_RATE : 0;
        eo.audio_channels = channels;
    }
    p->enc = vs_encoder_open(j->out, j->width, j->height, &eo);
    if (!p->enc)
        return job_fail(j, "%s", vs_last_error());
    int pw, ph;
    const char *pix_fmt = vs_encoder_pix_fmt(p->enc, &pw, &ph);
    j->out_width = pw;
    j->out_height = ph;
    if (pw != j->width || ph != j->height) {
        size_t n = strlen(j->note);
        snprintf(j->note + n, sizeof j->note - n, "%s%dx%d is odd: padded to %dx%d by repeating the edge",
                 n ? "; " : "", j->width, j->height, pw, ph);
    }
    /* straight into the picture's planes: nothing drawn over the frame, no padding */
    int direct = !o->captions && pix_fmt && !strcmp(pix_fmt, "yuv420p") && pw == j->width && ph == j->height;
    j->jpeg_direct = direct && !getenv("VSTUDIO_JPEG_RGB");
    vs_jpeg_yuv_map_init(&j->jpeg_map, j->height >= 720); /* encode.c's rule for BT.709 */
    j->png_direct = direct;
    vs_yuv420_coeffs_init(&j->png_yuv, j->height >= 720, 0);
    return 0;
}

/* Sample number of written frame w's start. */
static int64_t sound_sample(const vs_convert_options *o, int64_t w)
{
    return w * SOUND_RATE * o->fps_den / o->fps_num;
}

/* The soundtrack's samples under written frame w. */
static int push_frame_sound(struct pipeline *p, int64_t w)
{
    const vs_convert_options *o = p->batch->o;
    int64_t s0 = sound_sample(o, w), n = sound_sample(o, w + 1) - s0;
    if (vs_audio_source_read(p->sound, s0, n, p->sound_buf) < 0 || vs_encoder_push_audio(p->enc, p->sound_buf, n) < 0)
        return job_fail(p->job, "%s", vs_last_error());
    return 0;
}

/* The folder's note on how the soundtrack met the picture's length. */
static void note_sound(struct pipeline *p)
{
    struct job *j = p->job;
    int64_t have = vs_audio_source_length(p->sound), want = sound_sample(p->batch->o, j->written);
    if (have == want)
        return;
    size_t n = strlen(j->note);
    snprintf(j->note + n, sizeof j->note - n, "%ssound %s is %.3f s, the picture %.3f s: %s", n ? "; " : "",
             j->audio, (double)have / SOUND_RATE, (double)want / SOUND_RATE,
             have > want ? "cut at the picture's end" : "padded with silence to its end");
}

/* Takes the workers' pictures in frame order into the encoder, leaving out
 * bad frames under skip_bad; a stop (Ctrl-C) marks the job interrupted. */
static int encode_folder(struct pipeline *p)
{
    struct job *j = p->job;
    struct batch *bt = p->batch;
    for (int64_t i = 0; i < j->frames; i++) {
        if (vs_pool_take(p->pool, i, NULL) < 0) {
            j->state = JOB_INTERRUPTED;
            return -1;
        }
        struct slot *s = &p->slots[vs_pool_slot(p->pool, i)];
        enum slot_state state = s->state;
        vs_picture *pic = s->pic;
        char *error = s->error;
        s->state = SLOT_FREE;
        s->pic = NULL;
        s->error = NULL;
        if (state != SLOT_READY) {
            if (state == SLOT_FATAL || !bt->o->skip_bad || !error) {
                job_fail(j, "%s", error ? error : "out of memory");
                free(error);
                return -1;
            }
            add_bad(j, error);
        } else if (vs_encoder_push_picture(p->enc, pic) < 0) {
            return job_fail(j, "%s", vs_last_error()); /* names the output and the frame */
        } else if (p->sound && push_frame_sound(p, j->written) < 0) {
            return -1;
        } else {
            j->written++;
        }
        j->processed++;
        atomic_fetch_add(&bt->frames_done, 1);
        vs_pool_done(p->pool, i);
    }
    if (j->written == 0)
        return job_fail(j, "%s: none of the %lld frames could be read", j->dir, (long long)j->frames);
    if (p->sound)
        note_sound(p);
    return 0;
}

static int convert_folder(struct job *j, struct batch *bt)
{
    double t0 = now_seconds();
    if (first_size(j, bt->o) < 0)
        return -1;
    struct pipeline p = {.job = j, .batch = bt};
    int rc = open_folder_encoder(&p);
    if (rc < 0) {
        vs_audio_source_close(p.sound);
        free(p.sound_buf);
        return rc;
    }
    int workers = bt->workers;
    if (workers > j->frames)
        workers = (int)j->frames;
    int capacity = workers * 2 + 2;
    p.slots = calloc((size_t)capacity, sizeof *p.slots);
    p.pool = vs_pool_new(0, j->frames, capacity, 1, bt->stop);
    pthread_t *threads = calloc((size_t)workers, sizeof *threads);
    int started = 0;
    rc = p.slots && p.pool && threads ? 0 : job_fail(j, "%s: out of memory", j->dir);
    if (rc < 0)
        goto done;
    for (; started < workers; started++) {
        vs_pool_join(p.pool);
        if (pthread_create(&threads[started], NULL, worker_main, &p)) {
            vs_pool_leave(p.pool);
            rc = job_fail(j, "%s: cannot start a decoding thread", j->dir);
            goto done;
        }
    }
    rc = encode_folder(&p);
done:
    if (p.pool)
        vs_pool_stop(p.pool);
    for (int k = 0; k < started; k++)
        pthread_join(threads[k], NULL);
    for (int k = 0; p.slots && k < capacity; k++) {
        vs_picture_release(p.slots[k].pic);
        free(p.slots[k].error);
    }
    if (rc == 0) {
        if (vs_encoder_close(p.enc) < 0)
            rc = job_fail(j, "%s", vs_last_error());
    } else {
        vs_encoder_abort(p.enc);
    }
    vs_audio_source_close(p.sound);
    free(p.sound_buf);
    vs_pool_free(p.pool);
    free(threads);
    free(p.slots);
    if (rc == 0) {
        j->state = JOB_CONVERTED;
        j->seconds = now_seconds() - t0;
    }
    return rc;
}

static void *job_thread(void *arg)
{
    struct batch *bt = arg;
    for (;;) {
        int k = atomic_fetch_add(&bt->next_job, 1);
        if (k >= bt->norder || *bt->stop)
            break;
        struct job *j = bt->order[k];
        if (convert_folder(j, bt) < 0 && j->state == JOB_FAILED) {
            /* a failed folder's remaining frames count as done, so the ETA stays honest */
            atomic_fetch_add(&bt->frames_done, j->frames - j->processed);
        }
        atomic_fetch_add(&bt->jobs_done, 1);
    }
    return NULL;
}

/* ---- the batch: plan, run, report ---- */

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Folders inside dir (dot folders aside): a folder of frame folders. */
static int64_t count_subfolders(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int64_t n = 0;
    struct dirent *e;
    char path[4096];
    struct stat st;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        n += stat(path, &st) == 0 && S_ISDIR(st.st_mode);
    }
    closedir(d);
    return n;
}

/* Plans one task: lists the folder and decides whether it needs work. */
static void plan_job(struct job *j, const vs_convert_options *o)
{
    j->list = vs_frame_list_open(j->dir, o->sort);
    if (!j->list) {
        job_fail(j, "%s", vs_last_error());
        return;
    }
    j->frames = vs_frame_list_count(j->list);
    const char *w = vs_frame_list_warning(j->list);
    if (w)
        snprintf(j->note, sizeof j->note, "%s", w);
    if (j->frames == 0) {
        int64_t ignored = vs_frame_list_ignored(j->list), folders = count_subfolders(j->dir);
        size_t len = strlen(j->dir);
        if (folders)
            job_fail(j, "%s: no PNG or JPEG files, but %lld folder%s: to convert each, give '%s%s*' (quoted)",
                     j->dir, (long long)folders, folders == 1 ? "" : "s", j->dir,
                     len && j->dir[len - 1] == '/' ? "" : "/");
        else if (ignored)
            job_fail(j, "%s: no PNG or JPEG files (%lld other entr%s ignored)", j->dir, (long long)ignored,
                     ignored == 1 ? "y" : "ies");
        else
            job_fail(j, "%s: the folder is empty", j->dir);
        return;
    }
    source_digest(j, o);
    if (o->force)
        return;
    int64_t frames = 0;
    switch (resume_state(j, &frames)) {
    case RESUME_CURRENT:
        j->state = JOB_SKIPPED;
        snprintf(j->reason, sizeof j->reason, "%s is up to date (%lld frames; --force redoes it)", j->out,
                 (long long)frames);
        break;
    case RESUME_STALE: /* ours: converted again, saying why */
        snprintf(j->redo, sizeof j->redo, "%s", j->reason);
        j->reason[0] = '\0';
        break;
    case RESUME_FOREIGN: {
        char why[sizeof j->reason];
        snprintf(why, sizeof why, "%s", j->reason);
        job_fail(j, "%s; --force replaces it", why);
        break;
    }
    case RESUME_ABSENT:
        break;
    }
}

/* A frame's size from its first bytes (PNG's IHDR, JPEG's SOF), without
 * reading or decoding the rest; a header further in (JPEG behind a large
 * EXIF block) is looked for in the whole file. */
static int header_size(const char *path, uint8_t *head, size_t cap, int *w, int *h)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return vs_fail("%s: cannot open (%s)", path, strerror(errno));
    size_t n = fread(head, 1, cap, f);
    fclose(f);
    if (vs_image_size_of(path, head, n, w, h) == 0)
        return 0;
    return n == cap ? vs_image_size(path, w, h) : -1;
}

/* --dry-run: every frame's header (no decoding), so that unreadable frames
 * and frames of another size show before a long batch. The problems go to
 * j->bad; plan_fails when the conversion would stop at one. */
static void check_headers(struct job *j, const vs_convert_options *o)
{
    enum { HEAD = 256 * 1024 };
    uint8_t *head = malloc(HEAD);
    int w0 = 0, h0 = 0;
    for (int64_t i = 0; head && i < j->frames; i++) {
        const char *path = vs_frame_list_path(j->list, i);
        int w, h;
        char why[600];
        if (header_size(path, head, HEAD, &w, &h) < 0) {
            snprintf(why, sizeof why, "%s", strip_path(vs_last_error(), path));
            j->plan_fails |= !o->skip_bad;
        } else if (!w0) {
            w0 = w;
            h0 = h;
            continue;
        } else if (w != w0 || h != h0) {
            if (o->resize != VS_RESIZE_NONE)
                continue;
            snprintf(why, sizeof why, "size %dx%d differs from the first frame's %dx%d; use --resize fit|fill|pad",
                     w, h, w0, h0);
            j->plan_fails = 1;
        } else {
            continue;
        }
        size_t n = strlen(path) + strlen(why) + 40;
        char *line = malloc(n);
        if (line) {
            snprintf(line, n, "%s (frame %lld): %s", path, (long long)i, why);
            add_bad(j, line);
        }
    }
    free(head);
}

static void print_dry_run(const struct job *j)
{
    if (j->state == JOB_FAILED) {
        printf("%s: cannot convert: %s\n", j->dir, j->reason);
        return;
    }
    printf("%s -> %s: %lld frame%s", j->dir, j->out, (long long)j->frames, j->frames == 1 ? "" : "s");
    if (j->state == JOB_SKIPPED)
        printf(", up to date, skipped\n");
    else
        printf("\n");
    int64_t n = j->frames, head = n < 6 ? n : 3;
    printf("  first:");
    for (int64_t i = 0; i < head; i++)
        printf(" %s", base_name(vs_frame_list_path(j->list, i)));
    printf("\n");
    if (n > head) {
        printf("  last: ");
        for (int64_t i = n - 3 > head ? n - 3 : head; i < n; i++)
            printf(" %s", base_name(vs_frame_list_path(j->list, i)));
        printf("\n");
    }
    if (vs_frame_list_ignored(j->list))
        printf("  ignored: %lld other entries\n", (long long)vs_frame_list_ignored(j->list));
    if (j->note[0])
        printf("  warning: %s\n", j->note);
    if (j->redo[0])
        printf("  converted again: %s\n", j->redo);
    enum { SHOWN = 5 };
    for (int64_t b = 0; b < j->nbad && b < SHOWN; b++)
        printf("  %s: %s\n", j->plan_fails ? "problem" : "left out (--skip-bad)", j->bad[b]);
    if (j->nbad > SHOWN)
        printf("  ... and %lld more\n", (long long)(j->nbad - SHOWN));
}

static void format_duration(char *buf, size_t n, double s)
{
    if (s < 0 || s > 1e7)
        snprintf(buf, n, "?");
    else if (s >= 3600)
        snprintf(buf, n, "%d:%02d:%02d", (int)s / 3600, (int)s / 60 % 60, (int)s % 60);
    else
        snprintf(buf, n, "%d:%02d", (int)s / 60, (int)s % 60);
}

static void print_progress(struct batch *bt, double t0, int final)
{
    double el = now_seconds() - t0;
    long long done = atomic_load(&bt->frames_done);
    double fps = el > 0 ? done / el : 0;
    char eta[32];
    format_duration(eta, sizeof eta, fps > 0 ? (bt->frames_total - done) / fps : -1);
    fprintf(stderr, "\rvstudio: convert: %d/%d folders, %lld/%lld frames, %.0f fps, ETA %s   %s",
            atomic_load(&bt->jobs_done), bt->norder, done, (long long)bt->frames_total, fps, eta,
            final ? "\n" : "");
    fflush(stderr);
}

static int cmp_longest(const void *a, const void *b)
{
    const struct job *x = *(struct job *const *)a, *y = *(struct job *const *)b;
    return (x->frames < y->frames) - (x->frames > y->frames);
}

/* Plans every task and queues the pending ones in bt->order; a dry run
 * also reads the frames' headers. */
static void plan_jobs(struct batch *bt, struct job *jobs, const vs_convert_task *tasks, int n)
{
    const vs_convert_options *o = bt->o;
    for (int k = 0; k < n; k++) {
        jobs[k].dir = tasks[k].dir;
        jobs[k].out = tasks[k].out;
        jobs[k].audio = tasks[k].audio;
        plan_job(&jobs[k], o);
        if (o->dry_run && jobs[k].state == JOB_PENDING)
            check_headers(&jobs[k], o);
        if (jobs[k].state == JOB_PENDING) {
            bt->order[bt->norder++] = &jobs[k];
            bt->frames_total += jobs[k].frames;
        }
    }
}

/* --dry-run: each folder's plan and one count line, on stdout. */
static void print_plan(const struct job *jobs, int n)
{
    for (int k = 0; k < n; k++)
        print_dry_run(&jobs[k]);
    int up = 0, bad = 0, todo = 0;
    long long todo_frames = 0;
    for (int k = 0; k < n; k++) {
        up += jobs[k].state == JOB_SKIPPED;
        bad += jobs[k].state == JOB_FAILED || jobs[k].plan_fails;
        if (jobs[k].state == JOB_PENDING && !jobs[k].plan_fails) {
            todo++;
            todo_frames += jobs[k].frames;
        }
    }
    printf("%d to convert (%lld frames), %d up to date, %d cannot be converted\n", todo, todo_frames, up, bad);
}

/* Converts the queued folders, longest first, on folder threads, while
 * this thread only reports progress; returns when all are done or stopped. */
static void run_jobs(struct batch *bt, double t0)
{
    const vs_convert_options *o = bt->o;
    qsort(bt->order, (size_t)bt->norder, sizeof *bt->order, cmp_longest);
    int ncpu = cpu_count();
    /* One folder more than cores keeps every core busy while a folder
     * starts or its encoder drains; capped to bound memory. */
    int njobs = o->jobs > 0 ? o->jobs : ncpu > 1 ? (ncpu + 1 < 8 ? ncpu + 1 : 8) : 1;
    if (njobs > bt->norder)
        njobs = bt->norder;
    bt->workers = o->workers > 0 ? o->workers : (ncpu / njobs > 1 ? ncpu / njobs : 1);
    bt->encoder_threads = 0; /* x264's own choice: frame threads fill the gaps */
    pthread_mutex_init(&bt->lock, NULL);
    pthread_t *threads = calloc((size_t)njobs, sizeof *threads);
    int started = 0;
    for (; threads && started < njobs; started++)
        if (pthread_create(&threads[started], NULL, job_thread, bt))
            break;
    if (started == 0)
        job_thread(bt); /* no threads at all: do the work here */
    double last = 0;
    while (atomic_load(&bt->jobs_done) < bt->norder && !*bt->stop) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        if (o->progress && now_seconds() - last >= 0.25) {
            print_progress(bt, t0, 0);
            last = now_seconds();
        }
    }
    for (int k = 0; k < started; k++)
        pthread_join(threads[k], NULL);
    free(threads);
    pthread_mutex_destroy(&bt->lock);
    if (o->progress && !*bt->stop)
        print_progress(bt, t0, 1);
    else if (o->progress)
        fputc('\n', stderr); /* the last line stays as it was: no jump to the end */
}

/* The folders by outcome, for the summary and the exit status. */
struct tally {
    int converted, skipped, failed, interrupted, not_started;
    long long ignored, frames;
};

static struct tally count_jobs(const struct job *jobs, int n, const vs_convert_options *o)
{
    struct tally t = {0};
    for (int k = 0; k < n; k++) {
        const struct job *j = &jobs[k];
        if (j->list)
            t.ignored += vs_frame_list_ignored(j->list);
        if (j->state == JOB_PENDING && o->dry_run) {
            t.failed += j->plan_fails;
            continue;
        }
        if (j->state == JOB_CONVERTED) {
            t.converted++;
            t.frames += j->written;
        } else if (j->state == JOB_SKIPPED) {
            t.skipped++;
        } else if (j->state == JOB_INTERRUPTED) {
            t.interrupted++;
        } else if (j->state == JOB_PENDING) {
            t.not_started++;
        } else {
            t.failed++;
        }
    }
    return t;
}

/* Each folder's notes, bad frames and outcome on stderr, then the summary
 * line (unless quiet). */
static void print_results(const struct job *jobs, int n, const struct batch *bt, const struct tally *t,
                          double elapsed)
{
    const vs_convert_options *o = bt->o;
    long long left_out = 0;
    for (int k = 0; k < n; k++) {
        const struct job *j = &jobs[k];
        if (j->note[0] && !o->quiet)
            fprintf(stderr, "vstudio: convert: %s: warning: %s\n", j->dir, j->note);
        for (int64_t b = 0; b < j->nbad; b++)
            fprintf(stderr, "vstudio: convert: left out %s\n", j->bad[b]);
        left_out += j->nbad;
        if (j->redo[0] && j->state == JOB_CONVERTED && !o->quiet)
            fprintf(stderr, "vstudio: convert: %s: converted again: %s\n", j->dir, j->redo);
        if (j->state == JOB_FAILED)
            fprintf(stderr, "vstudio: convert: %s\n", j->reason);
        else if (j->state == JOB_SKIPPED && !o->quiet)
            fprintf(stderr, "vstudio: convert: %s\n", j->reason);
        else if (j->state == JOB_CONVERTED && !o->quiet && n <= 20)
            fprintf(stderr, "vstudio: convert: %s -> %s: %lld frames, %dx%d, %.1f s (%.0f fps)\n", j->dir,
                    j->out, (long long)j->written, j->out_width, j->out_height, j->seconds,
                    j->seconds > 0 ? j->written / j->seconds : 0.0);
    }
    if (o->quiet)
        return;
    fprintf(stderr, "vstudio: convert: %d converted, %d up to date, %d failed", t->converted, t->skipped,
            t->failed);
    if (*bt->stop)
        fprintf(stderr, ", %d interrupted, %d not started", t->interrupted, t->not_started);
    if (left_out)
        fprintf(stderr, ", %lld bad frame%s left out", left_out, left_out == 1 ? "" : "s");
    if (t->ignored)
        fprintf(stderr, ", %lld non-image entr%s ignored", t->ignored, t->ignored == 1 ? "y" : "ies");
    fprintf(stderr, "; %lld frames in %.1f s (%.0f fps)\n", t->frames, elapsed,
            elapsed > 0 ? t->frames / elapsed : 0.0);
}

/* After Ctrl-C: which folders were running, and how far they got. */
static void print_interrupted(const struct job *jobs, int n)
{
    fprintf(stderr, "vstudio: convert: interrupted");
    const char *sep = " while converting ";
    for (int k = 0; k < n; k++) {
        if (jobs[k].state != JOB_INTERRUPTED)
            continue;
        fprintf(stderr, "%s%s (frame %lld of %lld)", sep, jobs[k].dir, (long long)jobs[k].processed,
                (long long)jobs[k].frames);
        sep = ", ";
    }
    fprintf(stderr, ": unfinished outputs were removed; run the same command again to resume\n");
}

static void free_jobs(struct job *jobs, int n)
{
    for (int k = 0; k < n; k++) {
        vs_frame_list_free(jobs[k].list);
        for (int64_t b = 0; b < jobs[k].nbad; b++)
            free(jobs[k].bad[b]);
        free(jobs[k].bad);
    }
    free(jobs);
}

int vs_convert_batch(const vs_convert_task *tasks, int n, const vs_convert_options *o,
                     atomic_int *stop)
{
    struct job *jobs = calloc((size_t)(n ? n : 1), sizeof *jobs);
    struct job **order = calloc((size_t)(n ? n : 1), sizeof *order);
    if (!jobs || !order) {
        free(jobs);
        free(order);
        fprintf(stderr, "vstudio: convert: out of memory\n");
        return 1;
    }
    struct batch bt = {.order = order, .o = o, .stop = stop};
    plan_jobs(&bt, jobs, tasks, n);
    if (o->dry_run)
        print_plan(jobs, n);
    double t0 = now_seconds();
    if (!o->dry_run && bt.norder > 0)
        run_jobs(&bt, t0);
    double elapsed = now_seconds() - t0;

    struct tally t = count_jobs(jobs, n, o);
    if (!o->dry_run)
        print_results(jobs, n, &bt, &t, elapsed);
    int ret = t.failed ? 1 : 0;
    if (*stop) {
        ret = 128 + (int)*stop;
        if (!o->dry_run)
            print_interrupted(jobs, n);
    }
    free_jobs(jobs, n);
    free(order);
    return ret;
}
