/*
 * cmd_preview.c: `vstudio preview SCRIPT.lua [--at T] [--sheet N]
 * [--width W] [-o OUT.png]`: one frame of the clip a script returns, or a
 * contact sheet of N evenly spaced frames with their times, as an image.
 *
 * The work is Lua (M.preview in lua/vstudio/repl.lua: the script runs once,
 * frames come from clip:frame_at / clip:frame, frame:save writes a private
 * temporary and renames it); this file parses the command line and reports.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "cli.h"
#include "lua_state.h"
#include "repl.h"
#include "vstudio.h"

static const char usage[] =
    "Usage: vstudio preview SCRIPT.lua [--at T] [--sheet N] [--width W] [-o OUT.png] [-- ARGS...]\n\n"
    "Render one frame of the clip SCRIPT returns (the one shown at T seconds,\n"
    "default 0), or with --sheet a contact sheet of N evenly spaced frames with\n"
    "their times written under each, to a PNG (or .jpg) image.\n";

static const char more[] = "Arguments after -- reach the script as the global `arg` table.\n";

/* What the command line asked for. */
typedef struct request {
    const char *script, *out;
    double at;
    int have_at, sheet, width;
    char **args;
    int n_args;
} request;

/* Seconds from "12.5", "1:30" or "1:02:03.5"; -1 when it is none of these. */
static double parse_time(const char *text)
{
    double total = 0;
    const char *p = text;
    for (int part = 0; part < 3; part++) {
        char *end;
        errno = 0;
        if (*p < '0' || *p > '9')
            return -1;
        double v = strtod(p, &end);
        if (errno || end == p || !isfinite(v) || v < 0)
            return -1;
        total = total * 60 + v;
        if (*end == '\0')
            return total;
        if (*end != ':' || v != floor(v))
            return -1;
        p = end + 1;
    }
    return -1;
}

/* NAME.KIND.png in the current directory, NAME = SCRIPT's base name without .lua. */
void vs_preview_default_name(char *out, size_t size, const char *script, const char *kind)
{
    const char *base = strrchr(script, '/');
    base = base ? base + 1 : script;
    size_t n = strlen(base);
    if (n > 4 && strcmp(base + n - 4, ".lua") == 0)
        n -= 4;
    snprintf(out, size, "%.*s.%s.png", (int)n, base, kind);
}

static int set_at(const char *cmd, void *ctx, const char *option, const char *value)
{
    request *r = ctx;
    r->at = parse_time(value);
    if (r->at < 0)
        return vs_cli_usage_error(cmd, "%s: '%s' is not a time (seconds like 12.5, or 1:30, 1:02:03.5)", option,
                                  value);
    r->have_at = 1;
    return 0;
}

/* Runs M.preview of vstudio.repl with the request; the exit status. */
static int preview(const char *cmd, const request *r)
{
    lua_State *L = vs_lua_state_new();
    if (!L)
        return vs_cli_fail(cmd, "%s", vs_last_error());
    int status = VS_EXIT_FAIL;
    int ref = vs_repl_require(L, cmd, "vstudio.repl");
    if (ref < 0)
        goto done;
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
    lua_getfield(L, -1, "preview");
    lua_remove(L, -2);
    lua_newtable(L);
    lua_pushstring(L, r->script);
    lua_setfield(L, -2, "script");
    lua_pushstring(L, r->out);
    lua_setfield(L, -2, "out");
    lua_pushnumber(L, r->at);
    lua_setfield(L, -2, "at");
    if (r->sheet) {
        lua_pushinteger(L, r->sheet);
        lua_setfield(L, -2, "sheet");
    }
    if (r->width) {
        lua_pushinteger(L, r->width);
        lua_setfield(L, -2, "width");
    }
    lua_newtable(L);
    for (int k = 0; k < r->n_args; k++) {
        lua_pushstring(L, r->args[k]);
        lua_rawseti(L, -2, k + 1);
    }
    lua_setfield(L, -2, "args");
    /* the Lua side words its errors for people (script errors carry their
     * own short traceback): no traceback handler here */
    if (lua_pcall(L, 1, 1, 0) != 0) {
        const char *msg = lua_tostring(L, -1);
        if (msg && strncmp(msg, "vstudio: ", 9) == 0)
            msg += 9;
        vs_cli_fail(cmd, "%s", msg ? msg : "(error object is not a string)");
    } else {
        fprintf(stderr, "vstudio: %s: %s\n", cmd, lua_tostring(L, -1));
        status = VS_EXIT_OK;
    }
done:
    lua_close(L);
    return status;
}

int vs_cmd_preview(int argc, char **argv)
{
    const char *cmd = "preview";
    request r = {.script = NULL};
    int status;
    const vs_cli_option options[] = {
        {"--at", NULL, VS_CLI_CALL(set_at, &r), .arg = "T",
         .help = "time of the frame: seconds (12.5) or [H:]M:S (1:30); default 0"},
        {"--sheet", NULL, VS_CLI_INT(&r.sheet, 1, 1000), .arg = "N",
         .help = "a contact sheet of N frames instead (grid of ceil(sqrt(N)) columns)"},
        {"--width", NULL, VS_CLI_INT(&r.width, 16, 16384), .arg = "W",
         .help = "output width in pixels: the frame is scaled (aspect kept);\n"
                 "for a sheet, the whole sheet's width (default: tiles at the\n"
                 "clip's width, at most 320)"},
        {"--output", "-o", VS_CLI_STRING(&r.out), .arg = "OUT",
         .help = "output image (default NAME.preview.png or NAME.sheet.png\n"
                 "in the current directory, NAME from SCRIPT)"},
        VS_CLI_END,
    };
    const vs_cli_syntax syntax = {cmd, usage, more, options, vs_cli_one_script, &r.script, &r.args, &r.n_args};
    if (vs_cli_parse(&syntax, argc, argv, &status) < 0)
        return status;
    if (!r.script)
        return vs_cli_usage_error(cmd, "missing SCRIPT.lua");
    if (r.sheet && r.have_at)
        return vs_cli_usage_error(cmd, "--at and --sheet do not go together (a sheet spans the whole clip)");
    char default_out[4096];
    if (!r.out) {
        vs_preview_default_name(default_out, sizeof default_out, r.script, r.sheet ? "sheet" : "preview");
        r.out = default_out;
    }
    return preview(cmd, &r);
}
