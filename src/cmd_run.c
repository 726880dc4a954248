/*
 * cmd_run.c: `vstudio run SCRIPT.lua`: options to a vs_render_options.
 * The options are a table read in order (`--format` belongs to the `-o`
 * before it); everything after `--` is the script's `arg`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "encode.h"
#include "hash.h"
#include "vstudio.h"


static const char usage[] =
    "Usage: vstudio run SCRIPT.lua [OPTIONS] [-- ARGS...]\n"
    "\n"
    "Render the clip SCRIPT.lua returns, drawing frames on every core while the\n"
    "encoder runs. ARGS reach the script as the global table `arg`.\n";

static const char more[] =
    "Top-level code of the script runs once in every worker. The first run has\n"
    "vs.worker = false and comes before the other workers start: put one-time side\n"
    "effects (making inputs, printing) under `if not vs.worker then ... end`.\n"
    "A script that returns no clip is a job: without -o it just runs (exit 0,\n"
    "nothing written). With -o - (stdout), print and io.write go to stderr.\n"
    "os.exit() in a script is an error (the render would end with no output).\n";

/* The -o list; --format belongs to the -o before it, or to every output
 * without its own when given before any -o. */
typedef struct outputs {
    const char *paths[VS_MAX_OUTPUTS], *formats[VS_MAX_OUTPUTS];
    const char *format;
    int n;
} outputs;

static int add_output(const char *cmd, void *ctx, const char *option, const char *value)
{
    (void)option;
    outputs *outs = ctx;
    if (outs->n == VS_MAX_OUTPUTS)
        return vs_cli_usage_error(cmd, "at most %d outputs", VS_MAX_OUTPUTS);
    outs->paths[outs->n] = value;
    outs->formats[outs->n++] = NULL;
    return 0;
}

static int set_format(const char *cmd, void *ctx, const char *option, const char *value)
{
    (void)option;
    outputs *outs = ctx;
    if (!vs_encoder_format_known(value))
        return vs_cli_usage_error(cmd, "--format: unknown format '%s' (mp4 mkv webm mov avi gif webp apng y4m raw png "
                                  "jpg)", value);
    if (outs->n > 0 && outs->formats[outs->n - 1])
        return vs_cli_usage_error(cmd, "--format %s: the output before it has a format already", value);
    if (outs->n > 0)
        outs->formats[outs->n - 1] = value;
    else
        outs->format = value;
    return 0;
}

static int set_segment(const char *cmd, void *ctx, const char *option, const char *value)
{
    (void)option;
    vs_render_options *o = ctx;
    int k, n, used;
    if (sscanf(value, "%d/%d%n", &k, &n, &used) != 2 || value[used] || n < 1 || k < 1 || k > n)
        return vs_cli_usage_error(cmd, "--segment: '%s' is not K/N with 1 <= K <= N", value);
    o->segment_index = k;
    o->segment_count = n;
    return 0;
}

static char *default_output(const char *script, const char *format)
{
    const char *ext = format ? format : "mp4";
    int dir = format && (strcmp(format, "png") == 0 || strcmp(format, "jpg") == 0);
    size_t n = strlen(script) + strlen(ext) + 2;
    char *out = malloc(n);
    if (!out)
        return NULL;
    snprintf(out, n, "%s", script);
    char *dot = strrchr(out, '.');
    char *slash = strrchr(out, '/');
    if (dot && (!slash || dot > slash))
        *dot = '\0';
    if (!dir) {
        strcat(out, ".");
        strcat(out, ext);
    }
    return out;
}

/* Adds a file's bytes to digest h; -1 when it cannot be read. */
static int digest_bytes(uint64_t *h, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        *h = vs_fnv1a(*h, buf, n);
    fclose(f);
    return 0;
}

/* What makes the segments of one render belong together (recorded in
 * each part for vstudio concat): the script's and the caption file's
 * bytes, the arguments and the settings that change the frames. 0 when
 * the script cannot be read. */
static uint64_t render_digest(const vs_render_options *o)
{
    uint64_t h = VS_FNV1A_SEED;
    if (digest_bytes(&h, o->script) < 0)
        return 0;
    if (o->captions)
        digest_bytes(&h, o->captions); /* unreadable: the render itself says so */
    const vs_encoder_options *e = &o->encoder;
    char settings[96];
    snprintf(settings, sizeof settings, "%d %lld %d %d %d %d %d %lld", e->crf, (long long)e->bit_rate, e->gop,
             o->no_audio, e->audio_rate, e->audio_channels, e->alpha, (long long)e->audio_bit_rate);
    const char *words[] = {settings, e->codec, e->preset, e->pix_fmt, e->codec_options, o->captions, e->audio_codec};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        h = vs_fnv1a(h, words[i] ? words[i] : "", words[i] ? strlen(words[i]) + 1 : 1);
    for (int i = 0; i < o->n_args; i++)
        h = vs_fnv1a(h, o->args[i], strlen(o->args[i]) + 1);
    return h;
}

/* The one script; more arguments are refused. */
static int set_script(const char *cmd, void *ctx, const char *arg)
{
    const char **script = ctx;
    if (*script)
        return vs_cli_usage_error(cmd, "unexpected argument '%s' (script arguments go after --)", arg);
    *script = arg;
    return 0;
}

/* Renders with the outputs given, or SCRIPT.mp4 (or the --format's) when
 * there are none. */
static int render(const char *cmd, vs_render_options *o, outputs *outs)
{
    char *generated = NULL;
    if (outs->n == 0 && !o->check) {
        if (!(generated = default_output(o->script, outs->format)))
            return vs_cli_fail(cmd, "out of memory");
        outs->paths[0] = generated;
        outs->formats[0] = outs->format;
        outs->n = 1;
        o->default_output = 1;
    }
    for (int i = 0; i < outs->n; i++)
        if (!outs->formats[i])
            outs->formats[i] = outs->format;
    o->outputs = outs->paths;
    o->formats = outs->formats;
    o->n_outputs = outs->n;
    o->encoder.segment_render = render_digest(o);
    int rc = vs_render(o);
    free(generated);
    if (rc == 0)
        return VS_EXIT_OK;
    vs_cli_fail(cmd, "%s", vs_last_error());
    return rc > 0 ? rc : VS_EXIT_FAIL;
}

int vs_cmd_run(int argc, char **argv)
{
    const char *cmd = "run", *script = NULL;
    vs_render_options o;
    vs_render_options_init(&o);
    outputs outs = {.n = 0};
    char **args = NULL;
    int n_args = 0, watch = 0, status;
    const vs_cli_option options[] = {
        {"--output", "-o", VS_CLI_CALL(add_output, &outs), .arg = "OUT",
         .help = "output file; '-' streams y4m to stdout; a directory (or\n"
                 "--format png|jpg) gets numbered images. Repeat -o for\n"
                 "several outputs from one pass (written all or none).\n"
                 "Default: SCRIPT.mp4, not replaced when it exists\n"
                 "unless --force. Images are\n"
                 "named by clip frame (--frames 20:25: 000020..000024);\n"
                 "a folder holding another render's frames is refused;\n"
                 "a sound file (.wav .flac .mp3 .m4a .aac .opus .ogg .mka)\n"
                 "gets the clip's sound alone (no picture when all are)"},
        {"--format", NULL, VS_CLI_CALL(set_format, &outs), .arg = "F",
         .help = "mp4 mkv webm mov avi gif webp apng y4m raw png jpg, for\n"
                 "the -o before it (or for every output without its own\n"
                 "when given first)"},
        {"--force", NULL, VS_CLI_FLAG(&o.force),
         .help = "replace the default output; for image folders, remove\n"
                 "their numbered images of the format first (not for\n"
                 "segments sharing one folder)"},
        {"--frames", NULL, VS_CLI_FRAMES(&o.first, &o.end), .arg = "A:B",
         .help = "render frames A..B-1 only (A:, :B, A also work)"},
        {"--workers", "-w", VS_CLI_INT(&o.workers, 1, 256), .arg = "N",
         .help = "worker threads (default: chosen while rendering, up to\n"
                 "one per core; the summary prints the number used)"},
        {"--segment", NULL, VS_CLI_CALL(set_segment, &o), .arg = "K/N",
         .help = "render the K-th (1-based) of N equal parts, for\n"
                 "`vstudio concat` to join (each part, as with --frames,\n"
                 "records its place and a digest of the script, its\n"
                 "arguments and the settings)"},
        VS_CLI_ENCODER_OPTIONS(&o.encoder.codec, &o.encoder.crf, &o.encoder.preset),
        {"--pix-fmt", NULL, VS_CLI_STRING(&o.encoder.pix_fmt), .arg = "F",
         .help = "output pixel format (default yuv420p)"},
        {"--audio-codec", NULL, VS_CLI_STRING(&o.encoder.audio_codec), .arg = "NAME",
         .help = "sound encoder (default aac for mp4/mov, libopus for\n"
                 "webm/mkv, flac for --frames/--segment pieces); a clip\n"
                 "without sound gets no audio stream"},
        {"--audio-bitrate", NULL, VS_CLI_CALL(vs_cli_bit_rate, &o.encoder.audio_bit_rate), .arg = "N",
         .help = "sound bits/s (128000 or 128k; default: the codec's for\n"
                 "the channel count: AAC about 69k mono, 128k stereo)"},
        {"--audio-rate", NULL, VS_CLI_INT(&o.encoder.audio_rate, 8000, 384000), .arg = "N",
         .help = "sound sample rate in Hz (default 48000)"},
        {"--audio-channels", NULL, VS_CLI_INT(&o.encoder.audio_channels, 1, VS_MAX_CHANNELS), .arg = "N",
         .help = "sound channels, 1..8 (default: the clip's sound's own,\n"
                 "mono for vs.tone; a wider file is remixed to 7.1; 3:\n"
                 "3.0, 4: quad; mp3 takes 1 or 2)"},
        {"--no-audio", NULL, VS_CLI_FLAG(&o.no_audio), .help = "leave the sound out (no audio stream)"},
        {"--alpha", NULL, VS_CLI_FLAG(&o.encoder.alpha),
         .help = "keep the clip's transparency: webm (VP9 yuva420p) and\n"
                 "webp; mov --codec prores, apng, png and gif always do"},
        {"--captions", NULL, VS_CLI_STRING(&o.captions), .arg = "FILE",
         .help = "burn a caption file (SRT, WebVTT, ASS/SSA) onto the clip:\n"
                 "bottom centre, white with a black outline (see CAPTIONS\n"
                 "in the manual); an ASS file keeps its own styles"},
        {"--check", NULL, VS_CLI_FLAG(&o.check),
         .help = "draw sample frames twice in different orders and states\n"
                 "and compare: catches scripts that are not a pure\n"
                 "function of t before a long parallel render; with\n"
                 "-o, the render follows when the check passes"},
        {"--watch", NULL, VS_CLI_FLAG(&watch), .help = "re-render a preview whenever the script changes"},
        {"--quiet", "-q", VS_CLI_SET_ENUM(&o.progress, VS_PROGRESS_QUIET), .help = "no progress, no summary"},
        {"--progress", NULL, VS_CLI_SET_ENUM(&o.progress, VS_PROGRESS_LINES),
         .help = "progress lines even when stderr is not a terminal"},
        VS_CLI_END,
    };
    const vs_cli_syntax syntax = {cmd, usage, more, options, set_script, &script, &args, &n_args};
    if (vs_cli_parse(&syntax, argc, argv, &status) < 0)
        return status;
    if (!script)
        return vs_cli_usage_error(cmd, "no script given");
    if (watch && o.captions)
        return vs_cli_usage_error(cmd, "--captions is not for --watch previews (overlay vs.captions in the script)");
    if (watch)
        return vs_run_watch(script, outs.n ? outs.paths[0] : NULL, args, n_args);
    if (access(script, R_OK) != 0)
        return vs_cli_fail(cmd, "%s: cannot read the script: %s", script, strerror(errno));
    if (o.segment_count && (o.first != 0 || o.end != -1))
        return vs_cli_usage_error(cmd, "--segment and --frames cannot be combined");
    o.script = script;
    o.args = (const char **)args;
    o.n_args = n_args;
    return render(cmd, &o, &outs);
}
