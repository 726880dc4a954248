/*
 * cmd_extract.c: `vstudio extract VIDEO OUTDIR`: a video's frames as PNG or
 * JPEG files named by their frame number in the source (000000.png, ...).
 *
 * The main thread decodes (frame-exact, decode.c) into a small ring of
 * frame buffers; worker threads encode and write the images (each written
 * to a private temporary and renamed, by vs_image_save). Existing frame files are
 * refused before anything is written unless --force. Ctrl-C stops after
 * the images being written are complete.
 */
#include <stdatomic.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "interrupt.h"
#include "progress.h"
#include "vstudio.h"

static const char *const CMD = "extract";


static void usage(FILE *out)
{
    fprintf(out,
            "Usage: vstudio extract VIDEO OUTDIR [--format png|jpg] [--frames A:B] [--every N]\n"
            "                       [--quality Q] [--force] [--jobs N] [-q]\n\n"
            "Writes the frames of VIDEO as image files in OUTDIR (created if needed), named\n"
            "by their frame number in the video, 0-based: 000000.png, 000001.png, ...\n"
            "Frames are exact (the same as decoding from the start), and images are\n"
            "encoded in parallel. Existing frame files are not overwritten unless --force.\n\n"
            "Options:\n"
            "      --format F    png (default, lossless) or jpg\n"
            "      --frames A:B  frames A..B-1 ('A:' to the end, ':B' from the start, 'A' one frame)\n"
            "      --every N     every N-th frame of the range (default 1)\n"
            "      --quality Q   JPEG quality 1..100 (default 90)\n"
            "      --force       overwrite existing frame files\n"
            "  -j, --jobs N      image-writing threads (default: one per core)\n"
            "  -q, --quiet       no progress and no summary\n"
            "  -h, --help        show this help\n\n"
            "Examples:\n"
            "  vstudio extract clip.mp4 frames/\n"
            "  vstudio extract clip.mp4 thumbs/ --format jpg --every 30 --quality 85\n");
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

int vs_cmd_extract(int argc, char **argv)
{
    const char *pos[2] = {NULL, NULL};
    int npos = 0, force = 0, quiet = 0;
    const char *format = "png";
    long every = 1, quality = 0, jobs = 0;
    int64_t first = 0, end = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (a[0] != '-' || strcmp(a, "-") == 0) {
            if (npos == 2)
                return vs_cli_usage_error(CMD, "unexpected argument '%s' (VIDEO and OUTDIR given already)", a);
            pos[npos++] = a;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return VS_EXIT_OK;
        } else if (strcmp(a, "--force") == 0) {
            force = 1;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            quiet = 1;
        } else if (strcmp(a, "--format") == 0 || strcmp(a, "--frames") == 0 || strcmp(a, "--every") == 0 ||
                   strcmp(a, "--quality") == 0 || strcmp(a, "-j") == 0 || strcmp(a, "--jobs") == 0) {
            if (!val)
                return vs_cli_usage_error(CMD, "%s needs a value", a);
            i++;
            if (strcmp(a, "--format") == 0) {
                if (strcmp(val, "png") == 0)
                    format = "png";
                else if (strcmp(val, "jpg") == 0 || strcmp(val, "jpeg") == 0)
                    format = "jpg";
                else
                    return vs_cli_usage_error(CMD, "--format: '%s' is not png or jpg", val);
            } else if (strcmp(a, "--frames") == 0) {
                if (vs_parse_frame_range(val, &first, &end) < 0)
                    return vs_cli_usage_error(CMD, "--frames: %s", vs_last_error());
            } else if (strcmp(a, "--every") == 0) {
                if (vs_cli_int(CMD, a, val, 1, 1000000000, &every) < 0)
                    return VS_EXIT_USAGE;
            } else if (strcmp(a, "--quality") == 0) {
                if (vs_cli_int(CMD, a, val, 1, 100, &quality) < 0)
                    return VS_EXIT_USAGE;
            } else if (vs_cli_int(CMD, a, val, 1, 256, &jobs) < 0) {
                return VS_EXIT_USAGE;
            }
        } else {
            return vs_cli_usage_error(CMD, "unknown option '%s'", a);
        }
    }
    if (npos < 2)
        return vs_cli_usage_error(CMD, npos == 0 ? "VIDEO and OUTDIR are required" : "OUTDIR is required");
    /* OUTDIR without its trailing slashes: paths and messages add one */
    char dir[PATH_MAX - 32]; /* room for the frame's name */
    const char *video = pos[0];
    size_t dir_len = strlen(pos[1]);
    while (dir_len > 1 && pos[1][dir_len - 1] == '/')
        dir_len--;
    if (dir_len >= sizeof dir)
        return vs_cli_usage_error(CMD, "OUTDIR is too long");
    snprintf(dir, sizeof dir, "%.*s", (int)dir_len, pos[1]);
    vs_decoder *dec = vs_decoder_open(video, 0);
    if (!dec)
        return vs_cli_fail(CMD, "%s", vs_last_error());
    vs_probe_info info;
    vs_decoder_info(dec, &info);
    if (end < 0 || end > info.frames)
        end = info.frames;
    if (first >= info.frames) {
        vs_decoder_close(dec);
        return vs_cli_fail(CMD, "%s: --frames starts at %lld but the video has %lld frames (0..%lld)", video,
                           (long long)first, (long long)info.frames, (long long)info.frames - 1);
    }
    int64_t total = (end - first + every - 1) / every;

    if (make_dirs(dir) < 0) {
        int e = errno;
        vs_decoder_close(dec);
        return vs_cli_fail(CMD, "%s: cannot create the folder (%s)", dir, strerror(e));
    }
    char path[PATH_MAX];
    if (!force) {
        int64_t existing = 0, example = -1;
        for (int64_t i = first; i < end; i += every) {
            frame_path(path, sizeof path, dir, i, format);
            if (access(path, F_OK) == 0 && existing++ == 0)
                example = i;
        }
        if (existing) {
            vs_decoder_close(dec);
            frame_path(path, sizeof path, dir, example, format);
            return vs_cli_fail(CMD, "%s exists (%lld of the frame files are there already); "
                               "use --force to overwrite them", path, (long long)existing);
        }
    }

    if (jobs == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        jobs = cores > 0 ? cores : 1;
    }
    pool p = {.dir = dir, .ext = format, .quality = (int)quality};
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.changed, NULL);
    p.n_slots = (int)jobs * 2 + 1;
    int status = VS_EXIT_OK;
    char error[600] = "";
    pthread_t *threads = calloc((size_t)jobs, sizeof *threads);
    if (!(p.slots = calloc((size_t)p.n_slots, sizeof *p.slots)) || !threads) {
        snprintf(error, sizeof error, "out of memory");
        goto out;
    }
    for (int k = 0; k < p.n_slots; k++)
        if (!(p.slots[k].frame = vs_frame_new(info.width, info.height))) {
            snprintf(error, sizeof error, "%s", vs_last_error());
            goto out;
        }
    vs_interrupt saved;
    atomic_int *signalled = vs_interrupt_catch(&saved);
    double t0 = vs_now();
    p.progress = vs_progress_start("frames", total, quiet ? VS_PROGRESS_QUIET : VS_PROGRESS_AUTO);
    int started = 0;
    for (; started < jobs; started++)
        if (pthread_create(&threads[started], NULL, writer, &p) != 0)
            break;
    for (int64_t i = first; i < end && !atomic_load(signalled); i += every) {
        pthread_mutex_lock(&p.mu);
        slot *s = NULL;
        while (!p.failed) {
            for (int k = 0; k < p.n_slots && !s; k++)
                if (p.slots[k].state == SLOT_FREE)
                    s = &p.slots[k];
            if (s)
                break;
            pthread_cond_wait(&p.changed, &p.mu);
        }
        pthread_mutex_unlock(&p.mu);
        if (!s)
            break;
        if (vs_decoder_frame(dec, i, s->frame) < 0) {
            snprintf(error, sizeof error, "%s", vs_last_error());
            break;
        }
        pthread_mutex_lock(&p.mu);
        s->index = i;
        s->state = SLOT_FULL;
        pthread_cond_broadcast(&p.changed);
        pthread_mutex_unlock(&p.mu);
    }
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
    } else if (!error[0] && !quiet) {
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
    vs_decoder_close(dec);
    return status;
}
