/*
 * cmd_probe.c: `vstudio probe FILE...`: size, frame rate, exact frame count
 * and codec of videos, as a table or as JSON. Files are probed in parallel
 * (one thread per core, each with its own cache connection) and printed in
 * the order given; a file that cannot be probed gets one line on stderr and
 * the others still print.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "vstudio.h"

static const char *const CMD = "probe";

static const char usage[] =
    "Usage: vstudio probe FILE... [--json] [--no-cache] [--jobs N]\n\n"
    "Shows each video's size, frame rate, exact frame count, duration, codec,\n"
    "pixel format and container, and its sound: the first audio stream's codec,\n"
    "rate, channels, duration and, when cheap (MP4/MOV edit lists, or the\n"
    "packets the count reads), its exact sample count (\"audio\": null in JSON\n"
    "for a silent file). The frame count is exact (what\n"
    "'ffprobe -count_frames' reports) but found by reading packets, not by\n"
    "decoding. A variable frame rate (the gaps between timestamps differ)\n"
    "shows as 'VFR' after the base rate (\"vfr\": true in JSON); its duration\n"
    "is the timestamps' span. An MP4 cut short (its index lists frames its\n"
    "data no longer holds) is an error, not a count.\n"
    "Results are kept in the probe cache\n"
    "($XDG_CACHE_HOME/vstudio/probe.db, else ~/.cache/vstudio/probe.db), so a\n"
    "second probe of an unchanged file is immediate; a changed file is probed\n"
    "again. Files are probed in parallel.\n";

static const char more[] =
    "A file that cannot be probed is reported on stderr; the others still\n"
    "print, and the exit status is 1.\n\n"
    "Examples:\n"
    "  vstudio probe clip.mp4\n"
    "  vstudio probe --json videos/*.mp4 > meta.json\n";

typedef struct job {
    char **files;
    int n;
    int use_cache;
    atomic_int next;
    vs_probe_info *info;
    int *ok;
    char **err;
} job;

static void *worker(void *arg)
{
    job *j = arg;
    for (;;) {
        int i = atomic_fetch_add(&j->next, 1);
        if (i >= j->n)
            break;
        if (vs_probe(j->files[i], j->use_cache, &j->info[i]) == 0)
            j->ok[i] = 1;
        else
            j->err[i] = strdup(vs_last_error());
    }
    return NULL;
}

static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

/* "audio": the first audio stream, null without sound; samples null when unknown. */
static void print_json_audio(const vs_probe_info *p)
{
    if (p->audio_streams == 0) {
        printf(", \"audio\": null");
        return;
    }
    printf(", \"audio\": {\"codec\": ");
    json_string(p->audio_codec);
    printf(", \"rate\": %d, \"channels\": %d, \"duration\": %.6f, \"samples\": ", p->audio_rate,
           p->audio_channels, p->audio_duration);
    if (p->audio_samples >= 0)
        printf("%lld", (long long)p->audio_samples);
    else
        printf("null");
    printf(", \"streams\": %d}", p->audio_streams);
}

static void print_json(const job *j)
{
    int first = 1;
    printf("[");
    for (int i = 0; i < j->n; i++) {
        if (!j->ok[i])
            continue;
        const vs_probe_info *p = &j->info[i];
        printf("%s\n  {\"path\": ", first ? "" : ",");
        json_string(j->files[i]);
        printf(", \"width\": %d, \"height\": %d, \"fps\": %.10g, \"fps_num\": %d, \"fps_den\": %d, "
               "\"vfr\": %s, \"frames\": %lld, \"duration\": %.6f, \"codec\": ",
               p->width, p->height, (double)p->fps_num / p->fps_den, p->fps_num, p->fps_den,
               p->vfr ? "true" : "false", (long long)p->frames, p->duration);
        json_string(p->codec);
        printf(", \"pix_fmt\": ");
        json_string(p->pix_fmt);
        printf(", \"bit_rate\": %lld, \"container\": ", (long long)p->bit_rate);
        json_string(p->container);
        print_json_audio(p);
        printf("}");
        first = 0;
    }
    printf("%s]\n", first ? "" : "\n");
}

static void print_table(const job *j)
{
    int w = 4;
    for (int i = 0; i < j->n; i++)
        if (j->ok[i] && (int)strlen(j->files[i]) > w)
            w = (int)strlen(j->files[i]);
    if (w > 60)
        w = 60;
    printf("%-*s  %9s  %10s  %8s  %9s  %-6s  %-10s  %-9s  %s\n", w, "FILE", "SIZE", "FPS", "FRAMES", "DURATION",
           "CODEC", "PIX_FMT", "CONTAINER", "AUDIO");
    for (int i = 0; i < j->n; i++) {
        if (!j->ok[i])
            continue;
        const vs_probe_info *p = &j->info[i];
        char size[32], fps[32];
        snprintf(size, sizeof size, "%dx%d", p->width, p->height);
        if (p->fps_den == 1)
            snprintf(fps, sizeof fps, "%d%s", p->fps_num, p->vfr ? " VFR" : "");
        else
            snprintf(fps, sizeof fps, "%.3f%s", (double)p->fps_num / p->fps_den, p->vfr ? " VFR" : "");
        char audio[96] = "-";
        if (p->audio_streams > 0) {
            int n = snprintf(audio, sizeof audio, "%s %d Hz %dch %.3fs", p->audio_codec, p->audio_rate,
                             p->audio_channels, p->audio_duration);
            if (p->audio_samples >= 0 && n > 0 && (size_t)n < sizeof audio)
                snprintf(audio + n, sizeof audio - (size_t)n, " (%lld samples)", (long long)p->audio_samples);
        }
        printf("%-*s  %9s  %10s  %8lld  %8.3fs  %-6s  %-10s  %-9s  %s\n", w, j->files[i], size, fps,
               (long long)p->frames, p->duration, p->codec, p->pix_fmt, p->container, audio);
    }
}

static int add_file(const char *cmd, void *files, const char *arg)
{
    return vs_cli_strings_add(files, arg) < 0 ? vs_cli_fail(cmd, "out of memory") : 0;
}

/* Probes every file of the job with `jobs` threads (the caller's too);
 * reports the failures and prints the rest. The exit status. */
static int probe(job *j, int jobs, int json)
{
    int n = j->n;
    if (jobs == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        jobs = cores > 0 ? (int)cores : 1;
    }
    if (jobs > n)
        jobs = n;
    pthread_t *t = calloc((size_t)jobs, sizeof *t);
    int started = 0;
    for (int k = 1; t && k < jobs; k++, started++)
        if (pthread_create(&t[k - 1], NULL, worker, j) != 0)
            break;
    worker(j); /* the main thread works too */
    for (int k = 0; k < started; k++)
        pthread_join(t[k], NULL);
    free(t);
    int failed = 0;
    for (int i = 0; i < n; i++)
        if (!j->ok[i]) {
            vs_cli_fail(CMD, "%s", j->err[i] ? j->err[i] : "out of memory");
            failed++;
        }
    if (json)
        print_json(j);
    else if (failed < n)
        print_table(j);
    return failed ? VS_EXIT_FAIL : VS_EXIT_OK;
}

int vs_cmd_probe(int argc, char **argv)
{
    int json = 0, no_cache = 0, jobs = 0, status;
    vs_cli_strings files = {0};
    const vs_cli_option options[] = {
        {"--json", NULL, VS_CLI_FLAG(&json), .help = "print a JSON array, one object per file that could be probed"},
        {"--no-cache", NULL, VS_CLI_FLAG(&no_cache), .help = "neither read nor write the probe cache"},
        {"--jobs", "-j", VS_CLI_INT(&jobs, 1, 256), .arg = "N", .help = "threads (default: one per core)"},
        VS_CLI_END,
    };
    const vs_cli_syntax syntax = {CMD, usage, more, options, add_file, &files, NULL, NULL};
    if (vs_cli_parse(&syntax, argc, argv, &status) < 0) {
        vs_cli_strings_free(&files);
        return status;
    }
    if (files.n == 0)
        return vs_cli_usage_error(CMD, "no files given");
    int n = files.n;
    job j = {.files = files.items, .n = n, .use_cache = !no_cache};
    j.info = calloc((size_t)n, sizeof *j.info);
    j.ok = calloc((size_t)n, sizeof *j.ok);
    j.err = calloc((size_t)n, sizeof *j.err);
    status = j.info && j.ok && j.err ? probe(&j, jobs, json) : vs_cli_fail(CMD, "out of memory");
    for (int i = 0; j.err && i < n; i++)
        free(j.err[i]);
    free(j.info), free(j.ok), free(j.err);
    vs_cli_strings_free(&files);
    return status;
}
