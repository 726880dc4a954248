/*
 * cmd_convert.c: `vstudio convert DIR... -o OUT`, the command-line face of
 * convert.c. Turns the arguments (folders, quoted globs, --from lists) into
 * (folder, output) tasks and runs the batch. Ctrl-C or SIGTERM stops every
 * folder, removes the .part files and exits 130 / 143.
 */
#include <stdatomic.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavformat/avformat.h>

#include "cli.h"
#include "convert.h"
#include "interrupt.h"
#include "vstudio.h"

static const char *const CMD = "convert";



static const char usage[] =
    "Usage: vstudio convert DIR... [-o OUT.mp4 | -o OUTDIR/] [options]\n\n"
    "Turns folders of PNG/JPEG frames into videos. One folder and -o OUT.mp4 writes\n"
    "that file; several folders (or -o ending in '/', or an existing folder) write\n"
    "OUTDIR/<folder name>.mp4 each (a file name such as two.mp4 is refused for\n"
    "several folders). Without -o, DIR.mp4 is written beside DIR.\n"
    "Folders may also be quoted globs ('shots/*') or come from --from LIST.\n\n"
    "Frames are the folder's .png/.jpg/.jpeg files (any PNG kind, mixed with JPEG);\n"
    "other files are ignored and counted. Transparent pixels are laid over the\n"
    "background. Odd sizes are padded to even by repeating the edge.\n\n"
    "Resumable: an output is skipped only when it is this folder's complete,\n"
    "current conversion: each output records a digest of its frame list (names,\n"
    "sizes, modification times) and of the options that change the video (--fps,\n"
    "--crf, --codec, --resize, --background, --skip-bad, --audio, --captions; not\n"
    "--preset), and its\n"
    "data must hold every frame its index lists. An earlier or cut-short\n"
    "conversion is converted again; a file vstudio convert did not write is\n"
    "refused (--force replaces it). Outputs are written to hidden temporaries and\n"
    "renamed when complete, so an interrupted batch can simply be run again.\n";

static const char more[] =
    "Exit status: 0 when every folder converted or was up to date, 1 when any\n"
    "failed (the others still convert), 2 on a usage error, 130 on Ctrl-C.\n\n"
    "Examples:\n"
    "  vstudio convert renders/shot1 -o shot1.mp4 --fps 24\n"
    "  vstudio convert renders/shot1 -o shot1.mp4 --audio music.mp3\n"
    "  vstudio convert 'shots/*' -o videos/ --audio sounds/   # shots/a + sounds/a.wav\n"
    "  vstudio convert 'dataset/*' -o videos/ --jobs 2 --skip-bad\n"
    "  vstudio convert cam --sort 'img_([0-9]+)_' --dry-run\n";

/* A folder argument; a pattern with glob characters expands to its matches
 * (sorted naturally), or stays as given when nothing matches (so the error
 * names it). */
static int add_input(vs_cli_strings *dirs, const char *arg)
{
    if (strpbrk(arg, "*?[")) {
        glob_t g;
        if (glob(arg, GLOB_MARK, NULL, &g) == 0) {
            int added = 0;
            for (size_t i = 0; i < g.gl_pathc; i++) {
                size_t n = strlen(g.gl_pathv[i]);
                if (n == 0 || g.gl_pathv[i][n - 1] != '/')
                    continue; /* files in the pattern's matches are not folders */
                if (vs_cli_strings_add(dirs, g.gl_pathv[i]) < 0) {
                    globfree(&g);
                    return -1;
                }
                added++;
            }
            globfree(&g);
            if (added)
                return 0;
        }
    }
    return vs_cli_strings_add(dirs, arg);
}

static int add_input_line(void *dirs, const char *line) { return add_input(dirs, line); }

static int add_argument(const char *cmd, void *dirs, const char *arg)
{
    return add_input(dirs, arg) < 0 ? vs_cli_fail(cmd, "out of memory") : 0;
}

static int read_from(const char *cmd, void *dirs, const char *option, const char *path)
{
    (void)option;
    return vs_cli_read_list(cmd, path, add_input_line, dirs);
}

static int parse_color(const char *s, uint8_t *rgb)
{
    static const struct { const char *name; uint8_t r, g, b; } named[] = {
        {"black", 0, 0, 0}, {"white", 255, 255, 255}, {"gray", 128, 128, 128}, {"grey", 128, 128, 128},
        {"red", 255, 0, 0}, {"green", 0, 128, 0}, {"blue", 0, 0, 255},
    };
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        if (!strcasecmp(s, named[i].name)) {
            rgb[0] = named[i].r;
            rgb[1] = named[i].g;
            rgb[2] = named[i].b;
            return 0;
        }
    const char *hex = s[0] == '#' ? s + 1 : s;
    unsigned r, g, b;
    char extra;
    if (strlen(hex) == 6 && strspn(hex, "0123456789abcdefABCDEF") == 6 &&
        sscanf(hex, "%2x%2x%2x", &r, &g, &b) == 3) {
        rgb[0] = (uint8_t)r;
        rgb[1] = (uint8_t)g;
        rgb[2] = (uint8_t)b;
        return 0;
    }
    if (sscanf(s, "%u,%u,%u%c", &r, &g, &b, &extra) == 3 && r < 256 && g < 256 && b < 256) {
        rgb[0] = (uint8_t)r;
        rgb[1] = (uint8_t)g;
        rgb[2] = (uint8_t)b;
        return 0;
    }
    return -1;
}

static int set_background(const char *cmd, void *rgb, const char *option, const char *value)
{
    if (parse_color(value, rgb) < 0)
        return vs_cli_usage_error(cmd, "%s: '%s' is not a colour (black, white, #rrggbb, r,g,b)", option, value);
    return 0;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A name whose extension libavformat writes (two.mp4, clip.mkv): meant as a
 * file, never to become a folder. */
static int looks_like_video(const char *path)
{
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    if (!dot || (slash && dot < slash) || dot[1] == '\0' || dot == path || dot[-1] == '/')
        return 0;
    const AVOutputFormat *of = av_guess_format(NULL, path, NULL);
    return of && !(of->flags & AVFMT_NOFILE);
}

/* The first folder argument named like a video and not a folder, or NULL:
 * `vstudio convert frames out.mp4` (ffmpeg's order) would convert frames
 * to frames.mp4 and then fail on a folder out.mp4. */
static const char *video_among_folders(const vs_cli_strings *dirs)
{
    for (int i = 0; i < dirs->n; i++)
        if (!is_dir(dirs->items[i]) && looks_like_video(dirs->items[i]))
            return dirs->items[i];
    return NULL;
}

/* The name a folder's video takes (its last component; "frames" for "." and ".."), into buf. */
static void folder_name(char *buf, size_t size, const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    size_t start = n;
    while (start > 0 && dir[start - 1] != '/')
        start--;
    const char *name = dir + start;
    size_t name_len = n - start;
    if (name_len == 0 || (name_len == 1 && name[0] == '.') || (name_len == 2 && !strncmp(name, "..", 2))) {
        name = "frames";
        name_len = 6;
    }
    snprintf(buf, size, "%.*s", (int)name_len, name);
}

/* OUTDIR/<name of dir>.mp4 */
static char *output_in(const char *outdir, const char *dir)
{
    char name[4096];
    folder_name(name, sizeof name, dir);
    size_t olen = strlen(outdir);
    int slash = olen > 0 && outdir[olen - 1] == '/';
    char *out = malloc(olen + strlen(name) + 8);
    if (out)
        sprintf(out, "%s%s%s.mp4", outdir, slash || olen == 0 ? "" : "/", name);
    return out;
}

/* The output of each folder: OUT itself, OUT/<folder>.mp4 for several
 * folders (or OUT/, or an existing folder), or DIR.mp4 without -o. */
static int plan_outputs(const vs_cli_strings *dirs, const char *out, vs_cli_strings *outs)
{
    int to_dir = out && (dirs->n > 1 || out[strlen(out) - 1] == '/' || is_dir(out));
    if (to_dir && !is_dir(out) && out[strlen(out) - 1] != '/' && looks_like_video(out))
        return vs_cli_usage_error(CMD, "%s: a file name, but %d folders need an output folder (-o DIR/), one video each",
                                  out, dirs->n);
    if (to_dir && !is_dir(out) && mkdir(out, 0777) != 0 && errno != EEXIST)
        return vs_cli_fail(CMD, "%s: cannot create the output folder (%s)", out, strerror(errno));
    for (int k = 0; k < dirs->n; k++) {
        char *path;
        if (to_dir) {
            path = output_in(out, dirs->items[k]);
        } else if (out) {
            path = strdup(out);
        } else {
            size_t n = strlen(dirs->items[k]);
            while (n > 1 && dirs->items[k][n - 1] == '/')
                n--;
            path = malloc(n + 5);
            if (path)
                sprintf(path, "%.*s.mp4", (int)n, dirs->items[k]);
        }
        if (!path || vs_cli_strings_add(outs, path) < 0) {
            free(path);
            return vs_cli_fail(CMD, "out of memory");
        }
        free(path);
        for (int m = 0; m < k; m++)
            if (!strcmp(outs->items[m], outs->items[k]))
                return vs_cli_usage_error(CMD, "%s and %s would both write %s; give them different names",
                                          dirs->items[m], dirs->items[k], outs->items[k]);
    }
    return 0;
}

/* Caption files share the naming (--captions DIR may be the same folder): never a soundtrack. */
static int is_caption_file(const char *ext)
{
    static const char *const captions[] = {"srt", "vtt", "ass", "ssa"};
    for (size_t i = 0; i < sizeof captions / sizeof *captions; i++)
        if (!strcasecmp(ext, captions[i]))
            return 1;
    return 0;
}

/* Whether path is one of the batch's outputs (a rerun finds them beside the soundtracks). */
static int is_output(const char *path, const vs_cli_strings *outs)
{
    struct stat a, b;
    if (stat(path, &a) != 0)
        return 0;
    for (int k = 0; k < outs->n; k++)
        if (stat(outs->items[k], &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
            return 1;
    return 0;
}

static int has_sound(const char *path)
{
    vs_probe_info info;
    return vs_probe_audio(path, 0, &info) == 0;
}

/* In a soundtrack folder, the file named like the frame folder with one
 * extension (shots/a takes sound/a.wav or sound/a.mp3; never sound/a.old.wav,
 * which is folder a.old's, a caption file, or one of the batch's outputs), or
 * *found = NULL: that folder gets no sound. Of several such files, the one
 * with sound; else an error naming them: which one was meant is not ours to
 * guess. */
static int soundtrack_in(const char *sound_dir, const char *dir, const vs_cli_strings *outs, char **found)
{
    char name[4096], pattern[8192 + 16];
    folder_name(name, sizeof name, dir);
    size_t olen = strlen(sound_dir);
    /* glob's special characters in the names match themselves */
    char escaped[sizeof name * 2];
    size_t e = 0;
    for (const char *c = name; *c && e + 2 < sizeof escaped; c++) {
        if (strchr("*?[\\", *c))
            escaped[e++] = '\\';
        escaped[e++] = *c;
    }
    escaped[e] = '\0';
    snprintf(pattern, sizeof pattern, "%s%s%s.*", sound_dir, olen && sound_dir[olen - 1] == '/' ? "" : "/", escaped);
    *found = NULL;
    glob_t g;
    if (glob(pattern, 0, NULL, &g) != 0)
        return 0;
    const char **cand = calloc(g.gl_pathc, sizeof *cand);
    if (!cand) {
        globfree(&g);
        return vs_cli_fail(CMD, "out of memory");
    }
    size_t n = 0;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        const char *path = g.gl_pathv[i];
        const char *ext = strrchr(path, '/');
        ext = (ext ? ext + 1 : path) + strlen(name) + 1;
        if (!strchr(ext, '.') && !is_caption_file(ext) && !is_dir(path) && !is_output(path, outs))
            cand[n++] = path;
    }
    /* of several, those with sound move to the front */
    size_t with_sound = n == 1;
    for (size_t i = 0; n > 1 && i < n; i++)
        if (has_sound(cand[i])) {
            const char *t = cand[with_sound];
            cand[with_sound++] = cand[i];
            cand[i] = t;
        }
    int rc = 0;
    if (n > 0 && with_sound == 1) {
        if (!(*found = strdup(cand[0])))
            rc = vs_cli_fail(CMD, "out of memory");
    } else if (n > 1) {
        size_t shown = with_sound ? with_sound : n;
        char list[2048] = "";
        for (size_t i = 0; i < shown; i++) {
            size_t used = strlen(list);
            snprintf(list + used, sizeof list - used, "%s%s", i ? (i + 1 == shown ? " and " : ", ") : "", cand[i]);
        }
        if (with_sound)
            rc = vs_cli_fail(CMD, "%s: %zu soundtracks named like it: %s; keep one, or give --audio FILE", dir,
                             with_sound, list);
        else
            rc = vs_cli_fail(CMD, "%s: files named like it, none with readable sound: %s; remove the others, "
                             "or give --audio FILE", dir, list);
    }
    free(cand);
    globfree(&g);
    return rc;
}

/* Each folder's soundtrack from --audio: the file itself, or for a folder
 * of soundtracks the file named like each frame folder (NULL when none). */
static int plan_sound(const vs_cli_strings *dirs, const vs_cli_strings *outs, const char *audio, char **sounds)
{
    if (!audio)
        return 0;
    struct stat st;
    if (stat(audio, &st) != 0)
        return vs_cli_fail(CMD, "%s: %s", audio, errno == ENOENT ? "no such file" : strerror(errno));
    for (int k = 0; k < dirs->n; k++) {
        if (S_ISDIR(st.st_mode)) {
            int rc = soundtrack_in(audio, dirs->items[k], outs, &sounds[k]);
            if (rc != 0)
                return rc;
        } else if (!(sounds[k] = strdup(audio))) {
            return vs_cli_fail(CMD, "out of memory");
        }
    }
    return 0;
}

/* Converts folder k to output k; Ctrl-C stops the batch. */
static int convert(const vs_cli_strings *dirs, const vs_cli_strings *outs, const char *audio,
                   const vs_convert_options *o)
{
    vs_convert_task *tasks = calloc((size_t)dirs->n, sizeof *tasks);
    char **sounds = calloc((size_t)dirs->n, sizeof *sounds);
    int ret = tasks && sounds ? plan_sound(dirs, outs, audio, sounds) : vs_cli_fail(CMD, "out of memory");
    for (int k = 0; ret == 0 && k < dirs->n; k++) {
        tasks[k].dir = dirs->items[k];
        tasks[k].out = outs->items[k];
        tasks[k].audio = sounds[k];
        if (audio && !sounds[k] && !o->quiet)
            fprintf(stderr, "vstudio: convert: %s: note: no soundtrack named like it in %s; converted without "
                    "sound\n", dirs->items[k], audio);
    }
    if (ret != 0) {
        for (int k = 0; sounds && k < dirs->n; k++)
            free(sounds[k]);
        free(sounds);
        free(tasks);
        return ret;
    }
    vs_interrupt saved;
    ret = vs_convert_batch(tasks, dirs->n, o, vs_interrupt_catch(&saved));
    vs_interrupt_release(&saved);
    for (int k = 0; k < dirs->n; k++)
        free(sounds[k]);
    free(sounds);
    free(tasks);
    return ret;
}

static const vs_cli_choice resize_modes[] = {
    {"fit", VS_RESIZE_FIT}, {"fill", VS_RESIZE_FILL}, {"pad", VS_RESIZE_PAD}, {NULL, 0}};

int vs_cmd_convert(int argc, char **argv)
{
    vs_convert_options o;
    vs_convert_options_init(&o);
    const char *out = NULL, *audio = NULL;
    int progress = 0, ret;
    vs_cli_strings dirs = {0}, outs = {0};
    const vs_cli_option options[] = {
        {"--output", "-o", VS_CLI_STRING(&out), .arg = "PATH",
         .help = "OUT.mp4 for one folder, or OUTDIR/ for one video per folder"},
        {"--fps", NULL, VS_CLI_RATE(&o.fps_num, &o.fps_den), .arg = "RATE",
         .help = "frame rate: 30 (default), 29.97, 30000/1001"},
        VS_CLI_ENCODER_OPTIONS(&o.codec, &o.crf, &o.preset),
        {"--sort", NULL, VS_CLI_STRING(&o.sort), .arg = "ORDER",
         .help = "natural (default: f2 before f10), name (byte order), or a\n"
                 "regex with one capture group matching the frame number,\n"
                 "e.g. 'frame_([0-9]+)'; gaps and duplicates are warned about"},
        {"--audio", NULL, VS_CLI_STRING(&audio), .arg = "FILE|DIR",
         .help = "soundtrack (any file with sound: wav, mp3, flac, a video),\n"
                 "cut or padded with silence to the picture's length; a\n"
                 "folder gives each frame folder the file named like it\n"
                 "(shots/a takes DIR/a.wav), none: no sound"},
        {"--audio-channels", NULL, VS_CLI_INT(&o.audio_channels, 1, VS_MAX_CHANNELS), .arg = "N",
         .help = "the soundtrack's channels, 1..8 (default: its own; a\n"
                 "wider file is remixed to 7.1)"},
        {"--resize", NULL, VS_CLI_CHOICE(&o.resize, resize_modes), .arg = "MODE",
         .help = "frames whose size differs from the first frame's: fit\n"
                 "(scale inside, bars), fill (scale to cover, crop) or pad\n"
                 "(no scaling, centred); without it they are an error"},
        {"--background", NULL, VS_CLI_CALL(set_background, o.background), .arg = "C",
         .help = "colour under transparency and bars: black (default),\n"
                 "white, gray, #rrggbb or r,g,b"},
        {"--captions", NULL, VS_CLI_STRING(&o.captions), .arg = "FILE",
         .help = "burn a caption file (SRT, WebVTT, ASS/SSA) onto every\n"
                 "video, frame i at time i / fps (style as for run)"},
        {"--skip-bad", NULL, VS_CLI_FLAG(&o.skip_bad),
         .help = "leave out unreadable frames (listed at the end) instead\n"
                 "of failing the folder"},
        {"--force", NULL, VS_CLI_FLAG(&o.force),
         .help = "convert even when the output is up to date, and replace\n"
                 "a file at the output path that convert did not write"},
        {"--dry-run", "-n", VS_CLI_FLAG(&o.dry_run),
         .help = "print what would be done: folders, outputs, frame counts,\n"
                 "the first and last frames in order, and frames whose\n"
                 "header is unreadable or gives another size (headers\n"
                 "only, no decoding); convert nothing"},
        {"--jobs", "-j", VS_CLI_INT(&o.jobs, 1, 256), .arg = "N",
         .help = "folders converted at once (default: cores + 1, at most\n"
                 "8); longest folders first"},
        {"--workers", "-w", VS_CLI_INT(&o.workers, 1, 256), .arg = "N",
         .help = "decoding threads per folder (default cores / jobs)"},
        {"--from", NULL, VS_CLI_CALL(read_from, &dirs), .arg = "LIST",
         .help = "read folders from LIST, one per line ('-': stdin);\n"
                 "blank lines and lines starting with '#' are skipped"},
        {"--progress", NULL, VS_CLI_FLAG(&progress),
         .help = "show the progress line even when stderr is not a terminal"},
        {"--quiet", "-q", VS_CLI_FLAG(&o.quiet), .help = "only errors: no progress, no summary"},
        VS_CLI_END,
    };
    const vs_cli_syntax syntax = {CMD, usage, more, options, add_argument, &dirs, NULL, NULL};
    if (vs_cli_parse(&syntax, argc, argv, &ret) == 0) {
        if (dirs.n == 0)
            ret = vs_cli_usage_error(CMD, "no folders given (vstudio convert DIR... -o OUT)");
        else if (video_among_folders(&dirs))
            ret = vs_cli_usage_error(CMD, "%s is not a folder of frames; %s", video_among_folders(&dirs),
                                     out ? "give only folders (the video is -o's)"
                                         : "to name the video, put -o before it (-o OUT.mp4)");
        else if (o.captions && vs_captions_check(o.captions) < 0)
            ret = vs_cli_fail(CMD, "%s", vs_last_error());
        else if ((ret = plan_outputs(&dirs, out, &outs)) == 0) {
            o.progress = o.quiet ? 0 : progress ? 1 : isatty(STDERR_FILENO);
            ret = convert(&dirs, &outs, audio, &o);
        }
    }
    vs_cli_strings_free(&dirs);
    vs_cli_strings_free(&outs);
    return ret;
}
