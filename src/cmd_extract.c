/*
 * cmd_extract.c: `vstudio extract VIDEO OUTDIR`: a video's frames as PNG or
 * JPEG files named by their frame number in the source (000000.png, ...).
 *
 * The main thread decodes (frame-exact, decode.c) into a small ring of
 * frame buffers; worker threads encode and write the images (each written
 * to a private temporary and renamed, by vs_image_save). Existing frame files are
 * refused before anything is written unless --force. Ctrl-C stops after
 * the images being written are complete.
 *
 * --audio OUT writes the video's sound (its first audio stream, decoded by
 * vs_audio_source: priming and padding cut) at its own rate and channels
 * to a sound file whose format follows the extension (vs_audio_writer);
 * with --frames, the sound of those frames.
 */
#include <stdatomic.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "interrupt.h"
#include "progress.h"
#include "vstudio.h"

static const char *const CMD = "extract";


static const char usage[] =
    "Usage: vstudio extract VIDEO OUTDIR [--format png|jpg] [--frames A:B] [--every N]\n"
    "                       [--quality Q] [--force] [--jobs N] [-q]\n"
    "       vstudio extract VIDEO [OUTDIR] --audio OUT.wav [--frames A:B] [-q]\n\n"
    "Writes the frames of VIDEO as image files in OUTDIR (created if needed), named\n"
    "by their frame number in the video, 0-based: 000000.png, 000001.png, ...\n"
    "Frames are exact (the same as decoding from the start), and images are\n"
    "encoded in parallel. Existing frame files are not overwritten unless --force.\n\n"
    "--audio OUT writes the video's sound (its first audio stream, AAC priming and\n"
    "padding cut, at its own rate and channels) to OUT, in the format its extension\n"
    "names: .wav (16-bit PCM), .flac, .mp3, .m4a (AAC), .opus or .ogg (Opus, 48 kHz);\n"
    "with --frames, the sound of those frames only. OUTDIR is then optional.\n";

static const char more[] =
    "Examples:\n"
    "  vstudio extract clip.mp4 frames/\n"
    "  vstudio extract clip.mp4 thumbs/ --format jpg --every 30 --quality 85\n"
    "  vstudio extract clip.mp4 --audio sound.wav\n";

/* What the command line asked for. */
typedef struct request {
    const char *args[2]; /* VIDEO, OUTDIR */
    int n_args;
    int format; /* index in extensions */
    int every, quality, jobs, force, quiet;
    int64_t first, end;
    const char *audio;  /* --audio OUT, or NULL */
} request;

static const char *const extensions[] = {"png", "jpg"};
static const vs_cli_choice formats[] = {{"png", 0}, {"jpg", 1}, {"jpeg", 1}, {NULL, 0}};

static int add_argument(const char *cmd, void *ctx, const char *arg)
{
    request *r = ctx;
    if (r->n_args == 2)
        return vs_cli_usage_error(cmd, "unexpected argument '%s' (VIDEO and OUTDIR given already)", arg);
    r->args[r->n_args++] = arg;
    return 0;
}

enum { SLOT_FREE, SLOT_FULL, SLOT_BUSY };

typedef struct slot {
    vs_frame *frame;
    int64_t index;
    int state;
} slot;

typedef struct pool {
    pthread_mutex_t mu;
    pthread_cond_t changed;
    slot *slots;
    int n_slots;
    int done;          /* no more frames will come */
    int failed;
    char error[512];
    const char *dir, *ext;
    int quality;
    int64_t written;
    vs_progress *progress;
} pool;

static void frame_path(char *buf, size_t size, const char *dir, int64_t index, const char *ext)
{
    snprintf(buf, size, "%s/%06lld.%s", dir, (long long)index, ext);
}

static void *writer(void *arg)
{
    pool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        slot *s = NULL;
        for (int k = 0; k < p->n_slots && !s; k++)
            if (p->slots[k].state == SLOT_FULL)
                s = &p->slots[k];
        if (!s) {
            if (p->done || p->failed)
                break;
            pthread_cond_wait(&p->changed, &p->mu);
            continue;
        }
        s->state = SLOT_BUSY;
        pthread_mutex_unlock(&p->mu);
        char path[PATH_MAX];
        frame_path(path, sizeof path, p->dir, s->index, p->ext);
        int rc = vs_image_save(s->frame, path, p->quality);
        pthread_mutex_lock(&p->mu);
        if (rc < 0 && !p->failed) {
            p->failed = 1;
            snprintf(p->error, sizeof p->error, "%s", vs_last_error());
        }
        s->state = SLOT_FREE;
        if (rc == 0)
            vs_progress_update(p->progress, ++p->written);
        pthread_cond_broadcast(&p->changed);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static int make_dirs(const char *dir)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        return -1;
    struct stat st;
    if (stat(buf, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

/* Refuses (unless --force) when any frame file of the range is there. */
static int refuse_existing(const request *r, const char *dir)
{
    char path[PATH_MAX];
    int64_t existing = 0, example = -1;
    for (int64_t i = r->first; i < r->end; i += r->every) {
        frame_path(path, sizeof path, dir, i, extensions[r->format]);
        if (access(path, F_OK) == 0 && existing++ == 0)
            example = i;
    }
    if (!existing)
        return 0;
    frame_path(path, sizeof path, dir, example, extensions[r->format]);
    return vs_cli_fail(CMD, "%s exists (%lld of the frame files are there already); use --force to overwrite them",
                       path, (long long)existing);
}

/* The main thread's part: decodes each frame of the range into a free slot
 * for the writers, until the end, a failure or a signal. */
static void decode_frames(pool *p, vs_decoder *dec, const request *r, atomic_int *signalled, char *error,
                          size_t size)
{
    for (int64_t i = r->first; i < r->end && !atomic_load(signalled); i += r->every) {
        pthread_mutex_lock(&p->mu);
        slot *s = NULL;
        while (!p->failed) {
            for (int k = 0; k < p->n_slots && !s; k++)
                if (p->slots[k].state == SLOT_FREE)
                    s = &p->slots[k];
            if (s)
                break;
            pthread_cond_wait(&p->changed, &p->mu);
        }
        pthread_mutex_unlock(&p->mu);
        if (!s)
            return;
        if (vs_decoder_frame(dec, i, s->frame) < 0) {
            snprintf(error, size, "%s", vs_last_error());
            return;
        }
        pthread_mutex_lock(&p->mu);
        s->index = i;
        s->state = SLOT_FULL;
        pthread_cond_broadcast(&p->changed);
        pthread_mutex_unlock(&p->mu);
    }
}

/* Decodes and writes the frames with r->jobs writers; the exit status. */
static int extract(const request *r, const char *dir, vs_decoder *dec, const vs_probe_info *info)
{
    int64_t total = (r->end - r->first + r->every - 1) / r->every;
    pool p = {.dir = dir, .ext = extensions[r->format], .quality = r->quality};
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.changed, NULL);
    p.n_slots = r->jobs * 2 + 1;
    int status = VS_EXIT_OK;
    char error[600] = "";
    pthread_t *threads = calloc((size_t)r->jobs, sizeof *threads);
    if (!(p.slots = calloc((size_t)p.n_slots, sizeof *p.slots)) || !threads) {
        snprintf(error, sizeof error, "out of memory");
        goto out;
    }
    for (int k = 0; k < p.n_slots; k++)
        if (!(p.slots[k].frame = vs_frame_new(info->width, info->height))) {
            snprintf(error, sizeof error, "%s", vs_last_error());
            goto out;
        }
    vs_interrupt saved;
    atomic_int *signalled = vs_interrupt_catch(&saved);
    double t0 = vs_now();
    p.progress = vs_progress_start("frames", total, r->quiet ? VS_PROGRESS_QUIET : VS_PROGRESS_AUTO);
    int started = 0;
    for (; started < r->jobs; started++)
        if (pthread_create(&threads[started], NULL, writer, &p) != 0)
            break;
    decode_frames(&p, dec, r, signalled, error, sizeof error);
    pthread_mutex_lock(&p.mu);
    p.done = 1;
    pthread_cond_broadcast(&p.changed);
    pthread_mutex_unlock(&p.mu);
    for (int k = 0; k < started; k++)
        pthread_join(threads[k], NULL);
    vs_progress_finish(p.progress);
    vs_interrupt_release(&saved);
    if (!error[0] && p.failed)
        snprintf(error, sizeof error, "%s", p.error);
    if (!error[0] && atomic_load(signalled)) {
        fprintf(stderr, "vstudio: %s: stopped after %lld of %lld frames\n", CMD, (long long)p.written,
                (long long)total);
        status = vs_interrupt_status(atomic_load(signalled));
    } else if (!error[0] && !r->quiet) {
        fprintf(stderr, "vstudio: %s: wrote %lld frames to %s/ in %.2f s\n", CMD, (long long)p.written, dir,
                vs_now() - t0);
    }
out:
    if (error[0])
        status = vs_cli_fail(CMD, "%s", error);
    for (int k = 0; p.slots && k < p.n_slots; k++)
        vs_frame_free(p.slots[k].frame);
    free(p.slots);
    free(threads);
    pthread_cond_destroy(&p.changed);
    pthread_mutex_destroy(&p.mu);
    return status;
}

/* The range within the video's frames, the folder made, no frame file in
 * the way: then extract. */
static int extract_to(request *r, const char *dir, vs_decoder *dec)
{
    const char *video = r->args[0];
    vs_probe_info info;
    vs_decoder_info(dec, &info);
    if (r->end < 0 || r->end > info.frames)
        r->end = info.frames;
    if (r->first >= info.frames)
        return vs_cli_fail(CMD, "%s: --frames starts at %lld but the video has %lld frames (0..%lld)", video,
                           (long long)r->first, (long long)info.frames, (long long)info.frames - 1);
    if (make_dirs(dir) < 0)
        return vs_cli_fail(CMD, "%s: cannot create the folder (%s)", dir, strerror(errno));
    int status = r->force ? 0 : refuse_existing(r, dir);
    if (status != 0)
        return status;
    if (r->jobs == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        r->jobs = cores > 0 ? (int)cores : 1;
    }
    return extract(r, dir, dec, &info);
}

/* 1 when a sound file's name asks for Opus, which takes 48 kHz only. */
static int is_opus_name(const char *path)
{
    const char *dot = strrchr(path, '.');
    static const char *const opus[] = {".opus", ".ogg", ".mka", ".webm"};
    for (size_t i = 0; dot && i < sizeof opus / sizeof *opus; i++)
        if (strcasecmp(dot, opus[i]) == 0)
            return 1;
    return 0;
}

/* --audio: the video's sound (of --frames' range) to r->audio; the exit status. */
static int extract_audio(const request *r)
{
    const char *video = r->args[0];
    vs_probe_info info;
    if (vs_probe(video, 1, &info) < 0)
        return vs_cli_fail(CMD, "%s", vs_last_error());
    if (info.audio_streams == 0)
        return vs_cli_fail(CMD, "%s: has no audio stream", video);
    int rate = is_opus_name(r->audio) ? 48000 : info.audio_rate;
    double t0 = vs_now();
    vs_audio_source *src = vs_audio_source_open(video, rate, 0); /* the video's own channels */
    if (!src)
        return vs_cli_fail(CMD, "%s", vs_last_error());
    int channels = vs_audio_source_channels(src);
    int64_t length = vs_audio_source_length(src), first = 0, end = length;
    if (r->first > 0 || r->end >= 0) {
        /* frame k starts at sample floor(k * rate * fps_den / fps_num) */
        first = r->first * rate * info.fps_den / info.fps_num;
        if (r->end >= 0 && r->end * rate * info.fps_den / info.fps_num < end)
            end = r->end * rate * info.fps_den / info.fps_num;
    }
    enum { CHUNK = 8192 };
    float *buf = malloc((size_t)CHUNK * channels * sizeof *buf);
    vs_audio_writer *w = buf ? vs_audio_writer_open(r->audio, rate, channels, NULL, 0) : NULL;
    int rc = w ? 0 : -1;
    for (int64_t at = first; rc == 0 && at < end; at += CHUNK) {
        int64_t n = end - at < CHUNK ? end - at : CHUNK;
        rc = vs_audio_source_read(src, at, n, buf);
        if (rc == 0)
            rc = vs_audio_writer_push(w, buf, n);
    }
    if (rc == 0)
        rc = vs_audio_writer_close(w);
    else
        vs_audio_writer_abort(w);
    free(buf);
    vs_audio_source_close(src);
    if (rc < 0)
        return vs_cli_fail(CMD, "%s", buf ? vs_last_error() : "out of memory");
    if (!r->quiet)
        fprintf(stderr, "vstudio: %s: wrote %lld samples (%.3f s, %d Hz, %d channel%s) of %s's sound to %s in %.2f s\n",
                CMD, (long long)(end > first ? end - first : 0), (double)(end > first ? end - first : 0) / rate,
                rate, channels, channels == 1 ? "" : "s", video, r->audio, vs_now() - t0);
    return VS_EXIT_OK;
}

int vs_cmd_extract(int argc, char **argv)
{
    request r = {.every = 1, .end = -1};
    int status;
    const vs_cli_option options[] = {
        {"--format", NULL, VS_CLI_CHOICE(&r.format, formats), .arg = "F", .help = "png (default, lossless) or jpg"},
        {"--frames", NULL, VS_CLI_FRAMES(&r.first, &r.end), .arg = "A:B",
         .help = "frames A..B-1 ('A:' to the end, ':B' from the start, 'A' one frame)"},
        {"--every", NULL, VS_CLI_INT(&r.every, 1, 1000000000), .arg = "N",
         .help = "every N-th frame of the range (default 1)"},
        {"--quality", NULL, VS_CLI_INT(&r.quality, 1, 100), .arg = "Q", .help = "JPEG quality 1..100 (default 90)"},
        {"--force", NULL, VS_CLI_FLAG(&r.force), .help = "overwrite existing frame files"},
        {"--jobs", "-j", VS_CLI_INT(&r.jobs, 1, 256), .arg = "N",
         .help = "image-writing threads (default: one per core)"},
        {"--audio", NULL, VS_CLI_STRING(&r.audio), .arg = "OUT",
         .help = "write the video's sound to OUT (.wav, .flac, .mp3, .m4a,\n"
                 ".opus, .ogg: by extension); OUTDIR is then optional"},
        {"--quiet", "-q", VS_CLI_FLAG(&r.quiet), .help = "no progress and no summary"},
        VS_CLI_END,
    };
    const vs_cli_syntax syntax = {CMD, usage, more, options, add_argument, &r, NULL, NULL};
    if (vs_cli_parse(&syntax, argc, argv, &status) < 0)
        return status;
    if (r.n_args == 0)
        return vs_cli_usage_error(CMD, "VIDEO is required");
    if (r.audio && (status = extract_audio(&r)) != VS_EXIT_OK)
        return status;
    if (r.audio && r.n_args == 1)
        return VS_EXIT_OK;
    if (r.n_args < 2)
        return vs_cli_usage_error(CMD, "OUTDIR is required (or --audio OUT for the sound)");
    /* OUTDIR without its trailing slashes: paths and messages add one */
    char dir[PATH_MAX - 32]; /* room for the frame's name */
    size_t dir_len = strlen(r.args[1]);
    while (dir_len > 1 && r.args[1][dir_len - 1] == '/')
        dir_len--;
    if (dir_len >= sizeof dir)
        return vs_cli_usage_error(CMD, "OUTDIR is too long");
    snprintf(dir, sizeof dir, "%.*s", (int)dir_len, r.args[1]);
    vs_decoder *dec = vs_decoder_open(r.args[0], 0);
    if (!dec)
        return vs_cli_fail(CMD, "%s", vs_last_error());
    status = extract_to(&r, dir, dec);
    vs_decoder_close(dec);
    return status;
}
