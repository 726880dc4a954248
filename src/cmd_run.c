/*
 * cmd_run.c: `vstudio run SCRIPT.lua`: options to a vs_render_options.
 * Options are read in order because `--format` belongs to the `-o` before
 * it; everything after `--` is the script's `arg`.
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

#define MAX_OUTPUTS 8

static const char usage[] =
    "Usage: vstudio run SCRIPT.lua [OPTIONS] [-- ARGS...]\n"
    "\n"
    "Render the clip SCRIPT.lua returns, drawing frames on every core while the\n"
    "encoder runs. ARGS reach the script as the global table `arg`.\n"
    "\n"
    "Options:\n"
    "  -o, --output OUT    output file; '-' streams y4m to stdout; a directory (or\n"
    "                      --format png|jpg) gets numbered images. Repeat -o for\n"
    "                      several outputs from one pass. Default: SCRIPT.mp4,\n"
    "                      not replaced when it exists unless --force. Images are\n"
    "                      named by clip frame (--frames 20:25: 000020..000024);\n"
    "                      a folder holding another render's frames is refused\n"
    "  --format F          mp4 mkv webm mov avi y4m raw png jpg, for the -o before it\n"
    "                      (or for every output without its own when given first)\n"
    "  --force             replace the default output; for image folders, remove\n"
    "                      their numbered images of the format first (not for\n"
    "                      segments sharing one folder)\n"
    "  --frames A:B        render frames A..B-1 only (A:, :B, A also work)\n"
    "  --segment K/N       render the K-th (1-based) of N equal parts, for\n"
    "                      `vstudio concat` to join (each part, as with --frames,\n"
    "                      records its place and a digest of the script, its\n"
    "                      arguments and the settings)\n"
    "  --workers N         worker threads (default: chosen while rendering, up to\n"
    "                      one per core; the summary prints the number used)\n"
    "  --codec NAME        video encoder (default libx264; see ffmpeg -encoders)\n"
    "  --crf N             quality, default 18; 0 = lossless (libx264, libx265,\n"
    "                      libvpx-vp9; png and ffv1 always are; others refuse 0)\n"
    "  --preset P          encoder preset (default medium; ultrafast..veryslow)\n"
    "  --pix-fmt F         output pixel format (default yuv420p)\n"
    "  --check             draw sample frames twice in different orders and states\n"
    "                      and compare: catches scripts that are not a pure\n"
    "                      function of t before a long parallel render; with\n"
    "                      -o, the render follows when the check passes\n"
    "  --watch             re-render a preview whenever the script changes\n"
    "  -q, --quiet         no progress, no summary\n"
    "  --progress          progress lines even when stderr is not a terminal\n"
    "  -h, --help          this help\n"
    "\n"
    "Top-level code of the script runs once in every worker. The first run has\n"
    "vs.worker = false and comes before the other workers start: put one-time side\n"
    "effects (making inputs, printing) under `if not vs.worker then ... end`.\n"
    "A script that returns no clip is a job: without -o it just runs (exit 0,\n"
    "nothing written). With -o - (stdout), print and io.write go to stderr.\n"
    "os.exit() in a script is an error (the render would end with no output).\n";

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

/* What makes the segments of one render belong together (recorded in
 * each part for vstudio concat): the script's bytes, its arguments and the
 * settings that change the frames. 0 when the script cannot be read. */
static uint64_t render_digest(const vs_render_options *o)
{
    FILE *f = fopen(o->script, "rb");
    if (!f)
        return 0;
    uint64_t h = VS_FNV1A_SEED;
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        h = vs_fnv1a(h, buf, n);
    fclose(f);
    const vs_encoder_options *e = &o->encoder;
    char settings[96];
    snprintf(settings, sizeof settings, "%d %lld %d", e->crf, (long long)e->bit_rate, e->gop);
    const char *words[] = {settings, e->codec, e->preset, e->pix_fmt, e->codec_options};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        h = vs_fnv1a(h, words[i] ? words[i] : "", words[i] ? strlen(words[i]) + 1 : 1);
    for (int i = 0; i < o->n_args; i++)
        h = vs_fnv1a(h, o->args[i], strlen(o->args[i]) + 1);
    return h;
}

int vs_cmd_run(int argc, char **argv)
{
    const char *cmd = "run";
    vs_render_options o;
    vs_render_options_init(&o);
    const char *outputs[MAX_OUTPUTS], *formats[MAX_OUTPUTS];
    const char *global_format = NULL;
    int n_outputs = 0, watch = 0;
    char *generated = NULL;
    const char *script = NULL;
    long v;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE()                                                                                         \
    do {                                                                                                     \
        if (!next)                                                                                           \
            return vs_cli_usage_error(cmd, "option '%s' needs a value", a);                                  \
        i++;                                                                                                 \
    } while (0)
        if (strcmp(a, "--") == 0) {
            o.args = (const char **)argv + i + 1;
            o.n_args = argc - i - 1;
            break;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage, stdout);
            return VS_EXIT_OK;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            NEED_VALUE();
            if (n_outputs == MAX_OUTPUTS)
                return vs_cli_usage_error(cmd, "at most %d outputs", MAX_OUTPUTS);
            outputs[n_outputs] = next;
            formats[n_outputs++] = NULL;
        } else if (strcmp(a, "--format") == 0) {
            NEED_VALUE();
            if (!vs_encoder_format_known(next))
                return vs_cli_usage_error(cmd, "--format: unknown format '%s' (mp4 mkv webm mov avi y4m raw png jpg)",
                                          next);
            if (n_outputs > 0 && !formats[n_outputs - 1])
                formats[n_outputs - 1] = next;
            else if (n_outputs == 0)
                global_format = next;
            else
                return vs_cli_usage_error(cmd, "--format %s: the output before it has a format already", next);
        } else if (strcmp(a, "--frames") == 0) {
            NEED_VALUE();
            if (vs_parse_frame_range(next, &o.first, &o.end) < 0)
                return vs_cli_usage_error(cmd, "--frames: %s", vs_last_error());
        } else if (strcmp(a, "--segment") == 0) {
            NEED_VALUE();
            int k, n, used;
            if (sscanf(next, "%d/%d%n", &k, &n, &used) != 2 || next[used] || n < 1 || k < 1 || k > n)
                return vs_cli_usage_error(cmd, "--segment: '%s' is not K/N with 1 <= K <= N", next);
            o.segment_index = k;
            o.segment_count = n;
        } else if (strcmp(a, "--workers") == 0 || strcmp(a, "-j") == 0) {
            NEED_VALUE();
            if (vs_cli_int(cmd, a, next, 1, 256, &v) < 0)
                return VS_EXIT_USAGE;
            o.workers = (int)v;
        } else if (strcmp(a, "--codec") == 0) {
            NEED_VALUE();
            o.encoder.codec = next;
        } else if (strcmp(a, "--crf") == 0) {
            NEED_VALUE();
            if (vs_cli_int(cmd, a, next, 0, 63, &v) < 0)
                return VS_EXIT_USAGE;
            o.encoder.crf = (int)v;
        } else if (strcmp(a, "--preset") == 0) {
            NEED_VALUE();
            o.encoder.preset = next;
        } else if (strcmp(a, "--pix-fmt") == 0) {
            NEED_VALUE();
            o.encoder.pix_fmt = next;
        } else if (strcmp(a, "--force") == 0) {
            o.force = 1;
        } else if (strcmp(a, "--check") == 0) {
            o.check = 1;
        } else if (strcmp(a, "--watch") == 0) {
            watch = 1;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            o.progress = 2;
        } else if (strcmp(a, "--progress") == 0) {
            o.progress = 1;
        } else if (a[0] == '-' && a[1]) {
            return vs_cli_usage_error(cmd, "unknown option '%s'", a);
        } else if (!script) {
            script = a;
        } else {
            return vs_cli_usage_error(cmd, "unexpected argument '%s' (script arguments go after --)", a);
        }
#undef NEED_VALUE
    }
    if (watch)
        return vs_run_watch(argc, argv);
    if (!script)
        return vs_cli_usage_error(cmd, "no script given");
    if (access(script, R_OK) != 0)
        return vs_cli_fail(cmd, "%s: cannot read the script: %s", script, strerror(errno));
    if (o.segment_count && (o.first != 0 || o.end != -1))
        return vs_cli_usage_error(cmd, "--segment and --frames cannot be combined");

    if (n_outputs == 0 && !o.check) {
        generated = default_output(script, global_format);
        if (!generated)
            return vs_cli_fail(cmd, "out of memory");
        outputs[0] = generated;
        formats[0] = global_format;
        n_outputs = 1;
        o.default_output = 1;
    }
    for (int i = 0; i < n_outputs; i++)
        if (!formats[i])
            formats[i] = global_format;

    o.script = script;
    o.outputs = outputs;
    o.formats = formats;
    o.n_outputs = n_outputs;
    o.encoder.segment_render = render_digest(&o);
    int rc = vs_render(&o);
    free(generated);
    if (rc == 0)
        return VS_EXIT_OK;
    vs_cli_fail(cmd, "%s", vs_last_error());
    return rc > 0 ? rc : VS_EXIT_FAIL;
}
