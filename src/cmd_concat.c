/*
 * cmd_concat.c: `vstudio concat PART... -o OUT`, the command-line face of
 * concat.c. Parts come from the command line and/or a list file (--from),
 * in order (concat.c takes a glob's byte order as natural order). Ctrl-C
 * or SIGTERM stops the copy and removes its temporary.
 */
#include <stdatomic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "concat.h"
#include "interrupt.h"
#include "vstudio.h"

static const char *const CMD = "concat";

/* Set by the signal handler: the only way a signal can talk to the copy loop. */


static void usage(FILE *out)
{
    fprintf(out,
            "Usage: vstudio concat PART... -o OUT.mp4 [--from LIST] [--partial] [-q]\n\n"
            "Joins rendered segments into one video by stream copy: no decoding, no\n"
            "re-encoding, so joining takes about as long as copying the files. Parts are\n"
            "joined in order (see below), with continuous timestamps. Every part must come\n"
            "from the same encoder settings (vstudio run --frames A:B or --segment K/N of\n"
            "one script): the codec, size, pixel format, frame rate, colour tags, the\n"
            "encoder settings vstudio records in each video (codec, preset, crf, bit\n"
            "rate, GOP, codec options), x264 settings and encoder headers (extradata,\n"
            "e.g. H.264 SPS/PPS) are compared with the first part, and the first\n"
            "difference is reported; nothing is written then. Every part must be whole:\n"
            "one cut short (its index lists frames its data does not hold) is refused.\n\n"
            "Segments know their place: each part vstudio run --segment/--frames writes\n"
            "records its frame range and a digest of the script, its arguments and the\n"
            "settings. Such parts must be one render's segments, each once, in frame\n"
            "order, none missing; the first problem (a missing, repeated, overlapping,\n"
            "misordered or foreign part) is named and nothing is written. Parts given in\n"
            "byte order, as a shell glob lists them (part-10 before part-2), are joined\n"
            "in natural order (part-2 before part-10); any other order is kept and\n"
            "checked. Parts without a record (other videos of equal settings) join in\n"
            "the order given.\n"
            "Only the video stream is joined.\n\n"
            "Options:\n"
            "  -o, --output OUT  the joined video (required; the container follows the\n"
            "                    extension: .mp4, .mkv, .mov); written to a hidden\n"
            "                    temporary and renamed when complete\n"
            "      --from LIST   read more part paths from LIST, one per line ('-': stdin),\n"
            "                    after those on the command line; blank lines and lines\n"
            "                    starting with '#' are skipped\n"
            "      --partial     join a run of a render's segments that leaves out its\n"
            "                    first or last frames (the result records its range, so it\n"
            "                    joins with the rest later); gaps are still refused\n"
            "  -q, --quiet       no progress and no summary\n"
            "  -h, --help        show this help\n\n"
            "Example:\n"
            "  for k in 1 2 3 4; do vstudio run anim.lua --segment $k/4 -o part$k.mp4; done\n"
            "  vstudio concat part*.mp4 -o anim.mp4\n");
}

static int add_part(void *ctx, const char *line) { return vs_cli_strings_add(ctx, line); }

static void show_part(void *ctx, int index, int n)
{
    (void)ctx;
    fprintf(stderr, "\rvstudio: concat: part %d/%d", index + 1, n);
    fflush(stderr);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int vs_cmd_concat(int argc, char **argv)
{
    const char *out = NULL, *from = NULL;
    int quiet = 0, partial = 0, options_done = 0, ret;
    vs_cli_strings parts = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (options_done || a[0] != '-' || strcmp(a, "-") == 0) {
            if (vs_cli_strings_add(&parts, a) < 0) {
                ret = vs_cli_fail(CMD, "out of memory");
                goto done;
            }
        } else if (strcmp(a, "--") == 0) {
            options_done = 1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            ret = VS_EXIT_OK;
            goto done;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            quiet = 1;
        } else if (strcmp(a, "--partial") == 0) {
            partial = 1;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0 || strcmp(a, "--from") == 0) {
            if (i + 1 >= argc) {
                ret = vs_cli_usage_error(CMD, "%s needs a value", a);
                goto done;
            }
            if (strcmp(a, "--from") == 0)
                from = argv[++i];
            else
                out = argv[++i];
        } else if (strncmp(a, "--output=", 9) == 0) {
            out = a + 9;
        } else if (strncmp(a, "--from=", 7) == 0) {
            from = a + 7;
        } else {
            ret = vs_cli_usage_error(CMD, "unknown option '%s'", a);
            goto done;
        }
    }
    if (!out || !*out) {
        ret = vs_cli_usage_error(CMD, "no output: give -o OUT.mp4");
        goto done;
    }
    if (from && (ret = vs_cli_read_list(CMD, from, add_part, &parts)) != 0)
        goto done;
    if (parts.n == 0) {
        ret = vs_cli_usage_error(CMD, "no parts to join: give PART... or --from LIST");
        goto done;
    }

    vs_interrupt saved;
    atomic_int *signalled = vs_interrupt_catch(&saved);

    int progress = !quiet && parts.n > 1 && isatty(STDERR_FILENO);
    vs_concat_job job = {.stop = signalled, .on_part = progress ? show_part : NULL, .ctx = NULL, .partial = partial};
    vs_concat_result res;
    double t0 = now();
    int r = vs_concat_run(out, (const char *const *)parts.items, parts.n, &job, &res);
    double secs = now() - t0;
    if (progress)
        fputs("\r\033[K", stderr);
    vs_interrupt_release(&saved);

    if (r < 0) {
        if (atomic_load(signalled)) {
            fprintf(stderr, "vstudio: concat: interrupted; %s was not written\n", out);
            ret = vs_interrupt_status(atomic_load(signalled));
        } else {
            ret = vs_cli_fail(CMD, "%s", vs_last_error());
        }
        goto done;
    }
    if (!quiet) {
        if (res.dropped_streams > 0)
            fprintf(stderr, "vstudio: concat: note: %d non-video stream%s (audio, data) left out\n",
                    res.dropped_streams, res.dropped_streams == 1 ? "" : "s");
        fprintf(stderr, "vstudio: concat: %s: %d part%s, %lld frames, %.2f s of video, %.1f MB in %.2f s\n", out,
                parts.n, parts.n == 1 ? "" : "s", (long long)res.frames, res.duration, res.bytes / 1e6, secs);
    }
    ret = VS_EXIT_OK;
done:
    vs_cli_strings_free(&parts);
    return ret;
}
