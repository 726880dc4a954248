/*
 * cli_parse.c: a command's options from its table (vs_cli_option, cli.h).
 *
 * vs_cli_parse walks argv once, in order (an option's effect may depend on
 * the ones before it, as run's --format does on the -o before it): a word
 * is "--", "-h"/"--help", an option of the table (by name or alias,
 * "--name=value" or "--name value"), or an argument for the command's
 * callback. Every usage error is worded here, so the commands do not word
 * them again; the --help option lines come from the same table.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "vstudio.h"

/* Strict integer in [min, max]; a usage error naming the option. */
static int read_int(const char *cmd, const char *option, const char *text, long min, long max, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < min || v > max)
        return vs_cli_usage_error(cmd, "%s: '%s' is not an integer in %ld..%ld", option, text, min, max);
    *out = (int)v;
    return 0;
}

/* Whether choices[i] is another spelling of an earlier name ("jpeg" of "jpg"). */
static int is_spelling(const vs_cli_choice *choices, int i)
{
    for (int k = 0; k < i; k++)
        if (choices[k].value == choices[i].value)
            return 1;
    return 0;
}

/* "--resize: 'squash' is not fit, fill or pad": each value's first name. */
static int bad_choice(const char *cmd, const char *option, const char *text, const vs_cli_choice *choices)
{
    char names[256] = "";
    size_t len = 0;
    int n = 0, shown = 0;
    for (int i = 0; choices[i].name; i++)
        n += !is_spelling(choices, i);
    for (int i = 0; choices[i].name && len < sizeof names; i++) {
        if (is_spelling(choices, i))
            continue;
        shown++;
        const char *sep = shown == 1 ? "" : shown == n ? " or " : ", ";
        len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", sep, choices[i].name);
    }
    return vs_cli_usage_error(cmd, "%s: '%s' is not %s", option, text, names);
}

static int read_choice(const char *cmd, const char *option, const char *text, const vs_cli_choice *choices,
                       int *out)
{
    for (int i = 0; choices[i].name; i++)
        if (strcmp(text, choices[i].name) == 0) {
            *out = choices[i].value;
            return 0;
        }
    return bad_choice(cmd, option, text, choices);
}

/* Stores the value of option o, typed as `option`; 0 or an exit status. */
static int store(const char *cmd, const vs_cli_option *o, const char *option, const char *value)
{
    switch (o->kind) {
    case VS_CLI_KIND_FLAG:
        *(int *)o->dest = o->value;
        return 0;
    case VS_CLI_KIND_STRING:
        *(const char **)o->dest = value;
        return 0;
    case VS_CLI_KIND_INT:
        return read_int(cmd, option, value, o->min, o->max, o->dest);
    case VS_CLI_KIND_RATE:
        if (vs_parse_rational(value, o->dest, o->dest2) < 0)
            return vs_cli_usage_error(cmd, "%s: %s", option, vs_last_error());
        return 0;
    case VS_CLI_KIND_FRAMES:
        if (vs_parse_frame_range(value, o->dest, o->dest2) < 0)
            return vs_cli_usage_error(cmd, "%s: %s", option, vs_last_error());
        return 0;
    case VS_CLI_KIND_CHOICE:
        return read_choice(cmd, option, value, o->choices, o->dest);
    case VS_CLI_KIND_CALL:
        return o->call(cmd, o->ctx, option, value);
    }
    return vs_cli_fail(cmd, "%s: unknown option kind %d", option, (int)o->kind);
}

/* The option a word names ("--crf", "--crf=18", "-q"); *value is what
 * follows '=' (NULL without one). */
static const vs_cli_option *find(const vs_cli_option *options, const char *word, size_t *name_len,
                                 const char **value)
{
    const char *eq = strncmp(word, "--", 2) == 0 ? strchr(word, '=') : NULL;
    size_t len = eq ? (size_t)(eq - word) : strlen(word);
    *name_len = len;
    *value = eq ? eq + 1 : NULL;
    for (const vs_cli_option *o = options; o->name; o++)
        if ((strlen(o->name) == len && strncmp(o->name, word, len) == 0) ||
            (!eq && o->alias && strcmp(o->alias, word) == 0))
            return o;
    return NULL;
}

/* "  -o, --output OUT" */
static int option_label(char *buf, size_t size, const vs_cli_option *o)
{
    return snprintf(buf, size, "  %s%s%s%s%s", o->alias ? o->alias : "  ", o->alias ? ", " : "  ", o->name,
                    o->arg ? " " : "", o->arg ? o->arg : "");
}

static void print_help(const vs_cli_syntax *s, FILE *out)
{
    static const vs_cli_option help = {"--help", "-h", .help = "show this help"};
    char label[128];
    int width = option_label(label, sizeof label, &help);
    for (const vs_cli_option *o = s->options; o->name; o++)
        if (o->help && option_label(label, sizeof label, o) > width)
            width = option_label(label, sizeof label, o);
    fprintf(out, "%s\nOptions:\n", s->usage);
    for (const vs_cli_option *o = s->options;; o++) {
        const vs_cli_option *shown = o->name ? o : &help;
        if (shown->help) {
            option_label(label, sizeof label, shown);
            fprintf(out, "%-*s  ", width, label);
            for (const char *line = shown->help; *line;) {
                size_t n = strcspn(line, "\n");
                fprintf(out, "%.*s\n", (int)n, line);
                line += n;
                if (*line == '\n' && *++line)
                    fprintf(out, "%*s", width + 2, "");
            }
        }
        if (!o->name)
            break;
    }
    if (s->more)
        fprintf(out, "\n%s", s->more);
}

/* One option word at argv[*i]; 0, or an exit status. */
static int option(const vs_cli_syntax *s, int argc, char **argv, int *i)
{
    const char *word = argv[*i], *value;
    size_t len;
    const vs_cli_option *o = find(s->options, word, &len, &value);
    if (!o)
        return vs_cli_usage_error(s->cmd, "unknown option '%s'", word);
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)len, word);
    int takes_value = o->kind != VS_CLI_KIND_FLAG;
    if (!takes_value && value)
        return vs_cli_usage_error(s->cmd, "%s takes no value", name);
    if (takes_value && !value) {
        if (*i + 1 >= argc)
            return vs_cli_usage_error(s->cmd, "%s needs a value", name);
        value = argv[++*i];
    }
    return store(s->cmd, o, name, value);
}

int vs_cli_parse(const vs_cli_syntax *s, int argc, char **argv, int *status)
{
    int options_done = 0;
    for (int i = 1; i < argc; i++) {
        const char *word = argv[i];
        int rc = 0;
        if (options_done || word[0] != '-' || word[1] == '\0') {
            rc = s->argument(s->cmd, s->ctx, word);
        } else if (strcmp(word, "--") == 0) {
            if (s->rest) {
                *s->rest = argv + i + 1;
                *s->n_rest = argc - i - 1;
                break;
            }
            options_done = 1;
        } else if (strcmp(word, "-h") == 0 || strcmp(word, "--help") == 0) {
            print_help(s, stdout);
            *status = VS_EXIT_OK;
            return -1;
        } else {
            rc = option(s, argc, argv, &i);
        }
        if (rc != 0) {
            *status = rc;
            return -1;
        }
    }
    return 0;
}

int vs_cli_one_script(const char *cmd, void *ctx, const char *arg)
{
    const char **script = ctx;
    if (*script)
        return vs_cli_usage_error(cmd, "one script only (got '%s' and '%s'); script arguments go after --",
                                  *script, arg);
    *script = arg;
    return 0;
}

int vs_cli_bit_rate(const char *cmd, void *ctx, const char *option, const char *value)
{
    int64_t *bit_rate = ctx;
    char *end;
    double v = strtod(value, &end);
    if (*end == 'k' || *end == 'K')
        v *= 1e3, end++;
    else if (*end == 'm' || *end == 'M')
        v *= 1e6, end++;
    if (end == value || *end || !(v >= 1000 && v <= 10e6))
        return vs_cli_usage_error(cmd, "%s: '%s' is not a bit rate from 1000 to 10M (128000, 128k)", option, value);
    *bit_rate = (int64_t)v;
    return 0;
}
