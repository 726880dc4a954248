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

static const char usage[] =
    "Usage: vstudio concat PART... -o OUT.mp4 [--from LIST] [--partial] [--audio-codec NAME]\n"
    "                      [--audio-bitrate N] [-q]\n\n"
    "Joins rendered segments into one video by stream copy: no decoding, no\n"
    "re-encoding of the picture, so joining takes about as long as copying the\n"
    "files (and decoding the sound). Parts are\n"
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
    "the order given.\n\n"
    "Sound: when the parts have sound (all or none must), it is decoded, joined\n"
    "with no gap and encoded once (AAC for .mp4/.mov, Opus for .webm/.mkv;\n"
    "FLAC when a --partial join is itself a segment). A render's segments carry\n"
    "their sound losslessly (FLAC) and exactly, so the join's sound is the\n"
    "single render's; a part without a segment record has its sound cut or\n"
    "padded with silence to its picture's end. Other streams are left out.\n";

static const char more[] =
    "Example:\n"
    "  for k in 1 2 3 4; do vstudio run anim.lua --segment $k/4 -o part$k.mp4; done\n"
    "  vstudio concat part*.mp4 -o anim.mp4\n";

static int add_part(void *ctx, const char *line) { return vs_cli_strings_add(ctx, line); }

static int add_argument(const char *cmd, void *parts, const char *arg)
{
    return add_part(parts, arg) < 0 ? vs_cli_fail(cmd, "out of memory") : 0;
}

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

/* Joins the parts (then those listed in `from`) into out and reports; the
 * exit status. */
static int join(const char *out, const char *from, vs_cli_strings *parts, int quiet, vs_concat_job *job)
{
    int ret;
    if (!out || !*out)
        return vs_cli_usage_error(CMD, "no output: give -o OUT.mp4");
    if (from && (ret = vs_cli_read_list(CMD, from, add_part, parts)) != 0)
        return ret;
    if (parts->n == 0)
        return vs_cli_usage_error(CMD, "no parts to join: give PART... or --from LIST");

    vs_interrupt saved;
    atomic_int *signalled = vs_interrupt_catch(&saved);

    int progress = !quiet && parts->n > 1 && isatty(STDERR_FILENO);
    job->stop = signalled;
    job->on_part = progress ? show_part : NULL;
    vs_concat_result res;
    double t0 = now();
    int r = vs_concat_run(out, (const char *const *)parts->items, parts->n, job, &res);
    double secs = now() - t0;
    if (progress)
        fputs("\r\033[K", stderr);
    vs_interrupt_release(&saved);

    if (r < 0 && atomic_load(signalled)) {
        fprintf(stderr, "vstudio: concat: interrupted; %s was not written\n", out);
        return vs_interrupt_status(atomic_load(signalled));
    }
    if (r < 0)
        return vs_cli_fail(CMD, "%s", vs_last_error());
    if (!quiet) {
        if (res.dropped_streams > 0)
            fprintf(stderr, "vstudio: concat: note: %d other stream%s (data, further audio) left out\n",
                    res.dropped_streams, res.dropped_streams == 1 ? "" : "s");
        char sound[96] = "";
        if (res.audio_rate > 0)
            snprintf(sound, sizeof sound, ", %lld samples of sound at %d Hz", (long long)res.audio_samples,
                     res.audio_rate);
        fprintf(stderr, "vstudio: concat: %s: %d part%s, %lld frames, %.2f s of video%s, %.1f MB in %.2f s\n", out,
                parts->n, parts->n == 1 ? "" : "s", (long long)res.frames, res.duration, sound, res.bytes / 1e6,
                secs);
    }
    return VS_EXIT_OK;
}

int vs_cmd_concat(int argc, char **argv)
{
    const char *out = NULL, *from = NULL;
    int quiet = 0, partial = 0, ret;
    vs_concat_job job = {0};
    vs_cli_strings parts = {0};
    const vs_cli_option options[] = {
        {"--output", "-o", VS_CLI_STRING(&out), .arg = "OUT",
         .help = "the joined video (required; the container follows the\n"
                 "extension: .mp4, .mkv, .mov); written to a hidden\n"
                 "temporary and renamed when complete"},
        {"--from", NULL, VS_CLI_STRING(&from), .arg = "LIST",
         .help = "read more part paths from LIST, one per line ('-': stdin),\n"
                 "after those on the command line; blank lines and lines\n"
                 "starting with '#' are skipped"},
        {"--partial", NULL, VS_CLI_FLAG(&partial),
         .help = "join a run of a render's segments that leaves out its\n"
                 "first or last frames (the result records its range, so it\n"
                 "joins with the rest later); gaps are still refused"},
        {"--audio-codec", NULL, VS_CLI_STRING(&job.audio_codec), .arg = "NAME",
         .help = "the joined sound's encoder (default aac for .mp4/.mov,\n"
                 "libopus for .webm/.mkv; flac keeps it lossless)"},
        {"--audio-bitrate", NULL, VS_CLI_CALL(vs_cli_bit_rate, &job.audio_bit_rate), .arg = "N",
         .help = "the joined sound's bits/s (128000 or 128k; default: the\n"
                 "codec's)"},
        {"--quiet", "-q", VS_CLI_FLAG(&quiet), .help = "no progress and no summary"},
        VS_CLI_END,
    };
    const vs_cli_syntax syntax = {CMD, usage, more, options, add_argument, &parts, NULL, NULL};
    if (vs_cli_parse(&syntax, argc, argv, &ret) == 0)
    {
        job.partial = partial;
        ret = join(out, from, &parts, quiet, &job);
    }
    vs_cli_strings_free(&parts);
    return ret;
}
