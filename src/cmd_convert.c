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



static void usage(FILE *out)
{
    fprintf(out,
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
            "--crf, --codec, --resize, --background, --skip-bad; not --preset), and its\n"
            "data must hold every frame its index lists. An earlier or cut-short\n"
            "conversion is converted again; a file vstudio convert did not write is\n"
            "refused (--force replaces it). Outputs are written to hidden temporaries and\n"
            "renamed when complete, so an interrupted batch can simply be run again.\n\n"
            "Options:\n"
            "  -o, --output PATH     OUT.mp4 for one folder, or OUTDIR/ for one video per folder\n"
            "      --fps RATE        frame rate: 30 (default), 29.97, 30000/1001\n"
            "      --crf N           quality 0..51, default 18; 0 = lossless (libx264, libx265,\n"
            "                        libvpx-vp9; png and ffv1 always are; others refuse 0)\n"
            "      --preset P        x264 preset: ultrafast .. veryslow; default medium\n"
            "      --codec NAME      encoder (default libx264)\n"
            "      --sort ORDER      natural (default: f2 before f10), name (byte order), or a\n"
            "                        regex with one capture group matching the frame number,\n"
            "                        e.g. 'frame_([0-9]+)'; gaps and duplicates are warned about\n"
            "      --resize MODE     frames whose size differs from the first frame's: fit\n"
            "                        (scale inside, bars), fill (scale to cover, crop) or pad\n"
            "                        (no scaling, centred); without it they are an error\n"
            "      --background C    colour under transparency and bars: black (default),\n"
            "                        white, gray, #rrggbb or r,g,b\n"
            "      --skip-bad        leave out unreadable frames (listed at the end) instead\n"
            "                        of failing the folder\n"
            "      --force           convert even when the output is up to date, and replace\n"
            "                        a file at the output path that convert did not write\n"
            "      --dry-run         print what would be done: folders, outputs, frame counts,\n"
            "                        the first and last frames in order, and frames whose\n"
            "                        header is unreadable or gives another size (headers\n"
            "                        only, no decoding); convert nothing\n"
            "  -j, --jobs N          folders converted at once (default: cores + 1, at most\n"
            "                        8); longest folders first\n"
            "  -w, --workers N       decoding threads per folder (default cores / jobs)\n"
            "      --from LIST       read folders from LIST, one per line ('-': stdin);\n"
            "                        blank lines and lines starting with '#' are skipped\n"
            "      --progress        show the progress line even when stderr is not a terminal\n"
            "  -q, --quiet           only errors: no progress, no summary\n"
            "  -h, --help            show this help\n\n"
            "Exit status: 0 when every folder converted or was up to date, 1 when any\n"
            "failed (the others still convert), 2 on a usage error, 130 on Ctrl-C.\n\n"
            "Examples:\n"
            "  vstudio convert renders/shot1 -o shot1.mp4 --fps 24\n"
            "  vstudio convert 'dataset/*' -o videos/ --jobs 2 --skip-bad\n"
            "  vstudio convert cam --sort 'img_([0-9]+)_' --dry-run\n");
}

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

/* OUTDIR/<name of dir>.mp4 */
static char *output_in(const char *outdir, const char *dir)
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
    size_t olen = strlen(outdir);
    int slash = olen > 0 && outdir[olen - 1] == '/';
    char *out = malloc(olen + name_len + 8);
    if (out)
        sprintf(out, "%s%s%.*s.mp4", outdir, slash || olen == 0 ? "" : "/", (int)name_len, name);
    return out;
}

int vs_cmd_convert(int argc, char **argv)
{
    vs_convert_options o;
    vs_convert_options_init(&o);
    const char *out = NULL;
    int progress = -1, options_done = 0, ret = VS_EXIT_OK;
    vs_cli_strings dirs = {0}, outs = {0};
    vs_convert_task *tasks = NULL;
    long v;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE()                                                                  \
    do {                                                                              \
        if (!val) {                                                                   \
            ret = vs_cli_usage_error(CMD, "%s needs a value", a);                     \
            goto done;                                                                \
        }                                                                             \
        i++;                                                                          \
    } while (0)
        if (options_done || a[0] != '-') {
            if (add_input(&dirs, a) < 0) {
                ret = vs_cli_fail(CMD, "out of memory");
                goto done;
            }
        } else if (!strcmp(a, "--")) {
            options_done = 1;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            goto done;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            NEED_VALUE();
            out = val;
        } else if (!strcmp(a, "--fps")) {
            NEED_VALUE();
            if (vs_parse_rational(val, &o.fps_num, &o.fps_den) < 0) {
                ret = vs_cli_usage_error(CMD, "--fps: %s", vs_last_error());
                goto done;
            }
        } else if (!strcmp(a, "--crf")) {
            NEED_VALUE();
            if (vs_cli_int(CMD, a, val, 0, 63, &v) < 0) {
                ret = VS_EXIT_USAGE;
                goto done;
            }
            o.crf = (int)v;
        } else if (!strcmp(a, "--preset")) {
            NEED_VALUE();
            o.preset = val;
        } else if (!strcmp(a, "--codec")) {
            NEED_VALUE();
            o.codec = val;
        } else if (!strcmp(a, "--sort")) {
            NEED_VALUE();
            o.sort = val;
        } else if (!strcmp(a, "--resize")) {
            NEED_VALUE();
            if (!strcmp(val, "fit"))
                o.resize = VS_RESIZE_FIT;
            else if (!strcmp(val, "fill"))
                o.resize = VS_RESIZE_FILL;
            else if (!strcmp(val, "pad"))
                o.resize = VS_RESIZE_PAD;
            else {
                ret = vs_cli_usage_error(CMD, "--resize: '%s' is not fit, fill or pad", val);
                goto done;
            }
        } else if (!strcmp(a, "--background")) {
            NEED_VALUE();
            if (parse_color(val, o.background) < 0) {
                ret = vs_cli_usage_error(CMD, "--background: '%s' is not a colour (black, white, #rrggbb, r,g,b)",
                                         val);
                goto done;
            }
        } else if (!strcmp(a, "-j") || !strcmp(a, "--jobs")) {
            NEED_VALUE();
            if (vs_cli_int(CMD, a, val, 1, 256, &v) < 0) {
                ret = VS_EXIT_USAGE;
                goto done;
            }
            o.jobs = (int)v;
        } else if (!strcmp(a, "-w") || !strcmp(a, "--workers")) {
            NEED_VALUE();
            if (vs_cli_int(CMD, a, val, 1, 256, &v) < 0) {
                ret = VS_EXIT_USAGE;
                goto done;
            }
            o.workers = (int)v;
        } else if (!strcmp(a, "--from")) {
            NEED_VALUE();
            if ((ret = vs_cli_read_list(CMD, val, add_input_line, &dirs)) != 0)
                goto done;
        } else if (!strcmp(a, "--skip-bad")) {
            o.skip_bad = 1;
        } else if (!strcmp(a, "--force")) {
            o.force = 1;
        } else if (!strcmp(a, "--dry-run") || !strcmp(a, "-n")) {
            o.dry_run = 1;
        } else if (!strcmp(a, "--progress")) {
            progress = 1;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            o.quiet = 1;
        } else {
            ret = vs_cli_usage_error(CMD, "unknown option '%s'", a);
            goto done;
        }
#undef NEED_VALUE
    }
    if (dirs.n == 0) {
        ret = vs_cli_usage_error(CMD, "no folders given (vstudio convert DIR... -o OUT)");
        goto done;
    }
    /* several folders, "dir/" or an existing folder: one video per folder inside it */
    int to_dir = out && (dirs.n > 1 || out[strlen(out) - 1] == '/' || is_dir(out));
    if (to_dir && !is_dir(out) && out[strlen(out) - 1] != '/' && looks_like_video(out)) {
        ret = vs_cli_usage_error(CMD, "%s: a file name, but %d folders need an output folder (-o DIR/), one video each",
                                 out, dirs.n);
        goto done;
    }
    if (to_dir && !is_dir(out) && mkdir(out, 0777) != 0 && errno != EEXIST) {
        ret = vs_cli_fail(CMD, "%s: cannot create the output folder (%s)", out, strerror(errno));
        goto done;
    }
    for (int k = 0; k < dirs.n; k++) {
        char *path;
        if (to_dir) {
            path = output_in(out, dirs.items[k]);
        } else if (out) {
            path = strdup(out);
        } else {
            size_t n = strlen(dirs.items[k]);
            while (n > 1 && dirs.items[k][n - 1] == '/')
                n--;
            path = malloc(n + 5);
            if (path)
                sprintf(path, "%.*s.mp4", (int)n, dirs.items[k]);
        }
        if (!path || vs_cli_strings_add(&outs, path) < 0) {
            free(path);
            ret = vs_cli_fail(CMD, "out of memory");
            goto done;
        }
        free(path);
        for (int m = 0; m < k; m++)
            if (!strcmp(outs.items[m], outs.items[k])) {
                ret = vs_cli_usage_error(CMD, "%s and %s would both write %s; give them different names",
                                         dirs.items[m], dirs.items[k], outs.items[k]);
                goto done;
            }
    }
    tasks = calloc(dirs.n > 0 ? (size_t)dirs.n : 1, sizeof *tasks);
    if (!tasks) {
        ret = vs_cli_fail(CMD, "out of memory");
        goto done;
    }
    for (int k = 0; k < dirs.n; k++) {
        tasks[k].dir = dirs.items[k];
        tasks[k].out = outs.items[k];
    }
    o.progress = o.quiet ? 0 : progress == 1 ? 1 : isatty(STDERR_FILENO);
    vs_interrupt saved;
    ret = vs_convert_batch(tasks, dirs.n, &o, vs_interrupt_catch(&saved));
    vs_interrupt_release(&saved);
done:
    free(tasks);
    vs_cli_strings_free(&dirs);
    vs_cli_strings_free(&outs);
    return ret;
}
