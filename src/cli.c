/*
 * cli.c: the top of the command line: global options, the command table,
 * and the shared reporting helpers. Each command reads its options from its
 * own table (cmd_<name>.c, through vs_cli_parse in cli_parse.c) and returns
 * an exit status.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "vstudio.h"

struct command {
    const char *name;
    const char *summary;
    int (*main)(int argc, char **argv);
};

static const struct command commands[] = {
    {"run", "render the clip a Lua script returns to a video", vs_cmd_run},
    {"repl", "interactive Lua prompt with vstudio loaded", vs_cmd_repl},
    {"convert", "turn folders of PNG/JPEG frames into MP4s", vs_cmd_convert},
    {"probe", "show size, fps, exact frame count and codec of videos", vs_cmd_probe},
    {"extract", "write the frames of a video as PNG or JPEG files", vs_cmd_extract},
    {"concat", "join rendered segments without re-encoding", vs_cmd_concat},
    {"preview", "render one frame or a contact sheet of a script to PNG", vs_cmd_preview},
};
#define N_COMMANDS (sizeof commands / sizeof *commands)

/* Run from a source tree (build/vstudio beside man/), `man vstudio` finds
 * nothing: name the tree's page, which `man` reads by path. */
static void print_manual_hint(FILE *out)
{
    char exe[PATH_MAX], page[PATH_MAX + 32], real[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        snprintf(page, sizeof page, "%s/../man/vstudio.1", dirname(exe));
        if (realpath(page, real) && access(real, R_OK) == 0) {
            fprintf(out, "'man %s' for the manual.\n", real);
            return;
        }
    }
    fprintf(out, "'man vstudio' for the manual.\n");
}

static void print_help(FILE *out)
{
    fprintf(out, "vstudio %s: a Lua-scriptable video studio\n\n"
                 "Usage: vstudio COMMAND [OPTIONS] [ARGS...]\n"
                 "       vstudio --help | --version | help COMMAND\n\n"
                 "Commands:\n",
            vs_version());
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun 'vstudio COMMAND --help' for a command's options; ");
    print_manual_hint(out);
}

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

int vs_cli_main(int argc, char **argv)
{
    /* A file size limit (ulimit -f) must be a write error we report, not a
     * signal that kills us before the .part file is cleaned up. */
    signal(SIGXFSZ, SIG_IGN);
    if (argc < 2) {
        /* plain `vstudio` on a terminal is the REPL */
        if (isatty(STDIN_FILENO))
            return vs_cmd_repl(1, (char *[]){"repl", NULL});
        print_help(stderr);
        return VS_EXIT_USAGE;
    }
    const char *word = argv[1];
    if (strcmp(word, "--help") == 0 || strcmp(word, "-h") == 0) {
        print_help(stdout);
        return VS_EXIT_OK;
    }
    if (strcmp(word, "--version") == 0 || strcmp(word, "-V") == 0) {
        printf("vstudio %s\n", vs_version());
        return VS_EXIT_OK;
    }
    if (strcmp(word, "help") == 0) {
        if (argc < 3 || strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0) {
            print_help(stdout);
            return VS_EXIT_OK;
        }
        const struct command *c = find_command(argv[2]);
        if (!c) /* the hint names the top-level help: `help --help` is that too */
            return vs_cli_usage_error(NULL, "help: unknown command '%s'", argv[2]);
        return c->main(2, (char *[]){argv[2], "--help", NULL});
    }
    if (word[0] == '-')
        return vs_cli_usage_error(NULL, "unknown option '%s'", word);
    const struct command *c = find_command(word);
    if (!c)
        return vs_cli_usage_error(NULL, "unknown command '%s'", word);
    return c->main(argc - 1, argv + 1);
}

static void vreport(const char *cmd, const char *fmt, va_list ap)
{
    fputs("vstudio: ", stderr);
    if (cmd)
        fprintf(stderr, "%s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int vs_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(cmd, fmt, ap);
    va_end(ap);
    if (cmd)
        fprintf(stderr, "Try 'vstudio %s --help'.\n", cmd);
    else
        fprintf(stderr, "Try 'vstudio --help'.\n");
    return VS_EXIT_USAGE;
}

int vs_cli_fail(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(cmd, fmt, ap);
    va_end(ap);
    return VS_EXIT_FAIL;
}

int vs_cli_strings_add(vs_cli_strings *l, const char *s)
{
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 16;
        char **items = realloc(l->items, (size_t)cap * sizeof *items);
        if (!items)
            return -1;
        l->items = items;
        l->cap = cap;
    }
    if (!(l->items[l->n] = strdup(s)))
        return -1;
    l->n++;
    return 0;
}

void vs_cli_strings_free(vs_cli_strings *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    memset(l, 0, sizeof *l);
}

int vs_cli_read_list(const char *cmd, const char *path, int (*add)(void *ctx, const char *line), void *ctx)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f)
        return vs_cli_fail(cmd, "%s: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int ret = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' '))
            line[--len] = '\0';
        if (len == 0 || line[0] == '#')
            continue;
        if (add(ctx, line) < 0) {
            ret = vs_cli_fail(cmd, "%s: out of memory", path);
            break;
        }
    }
    if (ret == 0 && ferror(f))
        ret = vs_cli_fail(cmd, "%s: read error", path);
    free(line);
    if (f != stdin)
        fclose(f);
    return ret;
}
