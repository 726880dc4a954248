/*
 * cli.h: the command table's entry points and the helpers every command
 * uses to report usage errors (exit 2) and runtime failures (exit 1) in one
 * format: "vstudio: <command>: <what>: <why>".
 */
#ifndef VS_CLI_H
#define VS_CLI_H

#include "error.h"

enum { VS_EXIT_OK = 0, VS_EXIT_FAIL = 1, VS_EXIT_USAGE = 2 };

int vs_cli_main(int argc, char **argv);

/* Each command: argv[0] is the command name; returns the exit status. */
int vs_cmd_run(int argc, char **argv);
int vs_cmd_repl(int argc, char **argv);
int vs_cmd_convert(int argc, char **argv);
int vs_cmd_probe(int argc, char **argv);
int vs_cmd_extract(int argc, char **argv);
int vs_cmd_concat(int argc, char **argv);
int vs_cmd_preview(int argc, char **argv);
/* `vstudio run --watch ...` (watch.c): SCRIPT, the first -o (NULL for
 * none) and the words after --, as run read them. */
int vs_run_watch(const char *script, const char *output, char **args, int n_args);

/* "vstudio: CMD: MESSAGE" + a hint to --help; returns VS_EXIT_USAGE. */
int vs_cli_usage_error(const char *cmd, const char *fmt, ...) VS_PRINTF(2, 3);
/* "vstudio: CMD: MESSAGE"; returns VS_EXIT_FAIL. */
int vs_cli_fail(const char *cmd, const char *fmt, ...) VS_PRINTF(2, 3);

/*
 * Options from a table (cli_parse.c), in the manner of mpv's options.c:
 * each command lists its options once, with what a value is, where it
 * goes and its --help line, and vs_cli_parse reads the command line in
 * order. Usage errors say "vstudio: CMD: ..." and exit 2:
 *   unknown option '--x'      --x needs a value      --x takes no value
 *   --crf: '99' is not an integer in 0..63
 *   --resize: 'squash' is not fit, fill or pad
 * "--name=value" works for every option with a value; "-h" and "--help"
 * print the help; "--" ends the options; "-" is an argument.
 */
typedef enum vs_cli_kind {
    VS_CLI_KIND_FLAG,   /* no value: *(int *)dest = value */
    VS_CLI_KIND_STRING, /* *(const char **)dest = the value (argv's, not copied) */
    VS_CLI_KIND_INT,    /* *(int *)dest = a strict integer in min..max */
    VS_CLI_KIND_RATE,   /* *(int *)dest / *(int *)dest2: 30, 29.97, 30000/1001 */
    VS_CLI_KIND_FRAMES, /* *(int64_t *)dest, *(int64_t *)dest2 = A, B of A:B (A:, :B, A) */
    VS_CLI_KIND_CHOICE, /* *(int *)dest = the value of the name among choices */
    VS_CLI_KIND_CALL,   /* call(cmd, ctx, option, value) reads the value itself */
} vs_cli_kind;

typedef struct vs_cli_choice {
    const char *name; /* NULL ends the list */
    int value;        /* names sharing a value are spellings: the error names the first */
} vs_cli_choice;

typedef struct vs_cli_option {
    const char *name;  /* "--crf"; NULL ends the table */
    const char *alias; /* "-q" or NULL */
    vs_cli_kind kind;
    void *dest, *dest2;
    long min, max;                 /* INT */
    int value;                     /* FLAG */
    const vs_cli_choice *choices;  /* CHOICE */
    /* CALL: returns 0, or the exit status after printing why */
    int (*call)(const char *cmd, void *ctx, const char *option, const char *value);
    void *ctx;
    const char *arg;  /* the value's name in --help ("N"); NULL for a flag */
    const char *help; /* the --help text, lines split by '\n'; NULL: not listed */
} vs_cli_option;

/* Kind and destination of an option, with the destination's type checked. */
#define VS_CLI_PTR(type, p) (1 ? (p) : (type *)0)
#define VS_CLI_FLAG(p) .kind = VS_CLI_KIND_FLAG, .dest = VS_CLI_PTR(int, p), .value = 1
#define VS_CLI_SET(p, v) .kind = VS_CLI_KIND_FLAG, .dest = VS_CLI_PTR(int, p), .value = (v)
/* A field of an enum type, written as an int (int-sized: checked at compile time). */
#define VS_CLI_ENUM_PTR(p) ((int *)(p) + 0 * sizeof(char[sizeof *(p) == sizeof(int) ? 1 : -1]))
#define VS_CLI_SET_ENUM(p, v) .kind = VS_CLI_KIND_FLAG, .dest = VS_CLI_ENUM_PTR(p), .value = (v)
#define VS_CLI_STRING(p) .kind = VS_CLI_KIND_STRING, .dest = VS_CLI_PTR(const char *, p)
#define VS_CLI_INT(p, lo, hi) .kind = VS_CLI_KIND_INT, .dest = VS_CLI_PTR(int, p), .min = (lo), .max = (hi)
#define VS_CLI_RATE(num, den) .kind = VS_CLI_KIND_RATE, .dest = VS_CLI_PTR(int, num), .dest2 = VS_CLI_PTR(int, den)
#define VS_CLI_FRAMES(first, end)                                                                            \
    .kind = VS_CLI_KIND_FRAMES, .dest = VS_CLI_PTR(int64_t, first), .dest2 = VS_CLI_PTR(int64_t, end)
/* A choice among names: p (an enum field or an int) gets the value list gives the name. */
#define VS_CLI_CHOICE(p, list) .kind = VS_CLI_KIND_CHOICE, .dest = VS_CLI_ENUM_PTR(p), .choices = (list)
#define VS_CLI_CALL(fn, c) .kind = VS_CLI_KIND_CALL, .call = (fn), .ctx = (c)
/* The end of a table. */
#define VS_CLI_END {.name = NULL}

/* The encoder options run and convert share. */
#define VS_CLI_ENCODER_OPTIONS(codec, crf, preset)                                                           \
    {"--codec", NULL, VS_CLI_STRING(codec), .arg = "NAME",                                                    \
     .help = "video encoder (default libx264; see ffmpeg -encoders)"},                                       \
    {"--crf", NULL, VS_CLI_INT(crf, 0, 63), .arg = "N",                                                      \
     .help = "quality 0..63, default 18; 0 = lossless (libx264, libx265,\n"                                  \
             "libvpx-vp9; png and ffv1 always are; others refuse 0)"},                                      \
    {"--preset", NULL, VS_CLI_STRING(preset), .arg = "P",                                                    \
     .help = "encoder preset (default medium; ultrafast..veryslow)"}

/* A command's syntax: its options and what its other words are. */
typedef struct vs_cli_syntax {
    const char *cmd;                /* "convert", for messages */
    const char *usage;              /* --help before the options */
    const char *more;               /* --help after the options, or NULL */
    const vs_cli_option *options;
    /* each argument that is not an option; returns 0, or the exit status
     * after printing why */
    int (*argument)(const char *cmd, void *ctx, const char *arg);
    void *ctx;
    /* the words after "--" (the script's arguments) when set, else they
     * are arguments too */
    char ***rest;
    int *n_rest;
} vs_cli_syntax;

/* Reads argv[1..argc-1] by the syntax. Returns 0 to go on, or -1 with
 * *status the exit status: 0 after --help, 2 after a usage error, or what
 * a callback returned. */
int vs_cli_parse(const vs_cli_syntax *syntax, int argc, char **argv, int *status);
/* An argument callback for a command of one script (the first argument);
 * ctx is a const char ** that holds it. */
int vs_cli_one_script(const char *cmd, void *ctx, const char *arg);
/* A VS_CLI_CALL for a bit rate into an int64_t (ctx): "128000", "128k" or
 * "1.5M", 1000 to 10M bits/s (run's and concat's --audio-bitrate). */
int vs_cli_bit_rate(const char *cmd, void *ctx, const char *option, const char *value);

/* A growable list of strings the command owns (inputs, outputs). */
typedef struct vs_cli_strings {
    char **items;
    int n, cap;
} vs_cli_strings;
int vs_cli_strings_add(vs_cli_strings *list, const char *s);
void vs_cli_strings_free(vs_cli_strings *list);
/* Reads a list file (PATH, or "-" for standard input): one entry a line,
 * trailing blanks trimmed, blank lines and lines starting with '#' skipped;
 * add(ctx, line) takes each and returns <0 on failure. Returns 0, or
 * VS_EXIT_FAIL after printing "vstudio: CMD: PATH: why". */
int vs_cli_read_list(const char *cmd, const char *path, int (*add)(void *ctx, const char *line), void *ctx);

#endif
