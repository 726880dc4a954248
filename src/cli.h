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
/* `vstudio run --watch ...` (watch.c): run's arguments as given. */
int vs_run_watch(int argc, char **argv);

/* "vstudio: CMD: MESSAGE" + a hint to --help; returns VS_EXIT_USAGE. */
int vs_cli_usage_error(const char *cmd, const char *fmt, ...) VS_PRINTF(2, 3);
/* "vstudio: CMD: MESSAGE"; returns VS_EXIT_FAIL. */
int vs_cli_fail(const char *cmd, const char *fmt, ...) VS_PRINTF(2, 3);
/* Strict integer option value in [min, max]; usage error naming the option. */
int vs_cli_int(const char *cmd, const char *option, const char *text, long min, long max, long *out);

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
