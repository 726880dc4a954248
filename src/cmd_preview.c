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

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: vstudio preview SCRIPT.lua [--at T] [--sheet N] [--width W] [-o OUT.png] [-- ARGS...]\n\n"
            "Render one frame of the clip SCRIPT returns (the one shown at T seconds,\n"
            "default 0), or with --sheet a contact sheet of N evenly spaced frames with\n"
            "their times written under each, to a PNG (or .jpg) image.\n\n"
            "Options:\n"
            "  --at T       time of the frame: seconds (12.5) or [H:]M:S (1:30); default 0\n"
            "  --sheet N    a contact sheet of N frames instead (grid of ceil(sqrt(N)) columns)\n"
            "  --width W    output width in pixels: the frame is scaled (aspect kept);\n"
            "               for a sheet, the whole sheet's width (default: tiles at the\n"
            "               clip's width, at most 320)\n"
            "  -o OUT       output image (default NAME.preview.png or NAME.sheet.png\n"
            "               in the current directory, NAME from SCRIPT)\n"
            "  -h, --help   this help\n\n"
            "Arguments after -- reach the script as the global `arg` table.\n");
}

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

int vs_cmd_preview(int argc, char **argv)
{
    const char *cmd = "preview", *script = NULL, *out = NULL;
    double at = 0;
    int have_at = 0;
    long sheet = 0, width = 0;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return VS_EXIT_OK;
        }
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        int takes = strcmp(a, "--at") == 0 || strcmp(a, "--sheet") == 0 || strcmp(a, "--width") == 0 ||
                    strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0;
        if (takes && i + 1 >= argc)
            return vs_cli_usage_error(cmd, "%s needs a value", a);
        if (strcmp(a, "--at") == 0) {
            at = parse_time(argv[++i]);
            if (at < 0)
                return vs_cli_usage_error(cmd, "--at: '%s' is not a time (seconds like 12.5, or 1:30, 1:02:03.5)",
                                          argv[i]);
            have_at = 1;
        } else if (strcmp(a, "--sheet") == 0) {
            if (vs_cli_int(cmd, "--sheet", argv[++i], 1, 1000, &sheet) != 0)
                return VS_EXIT_USAGE;
        } else if (strcmp(a, "--width") == 0) {
            if (vs_cli_int(cmd, "--width", argv[++i], 16, 16384, &width) != 0)
                return VS_EXIT_USAGE;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            out = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            return vs_cli_usage_error(cmd, "unknown option '%s'", a);
        } else if (script) {
            return vs_cli_usage_error(cmd, "one script only (got '%s' and '%s'); script arguments go after --",
                                      script, a);
        } else {
            script = a;
        }
    }
    if (!script)
        return vs_cli_usage_error(cmd, "missing SCRIPT.lua");
    if (sheet && have_at)
        return vs_cli_usage_error(cmd, "--at and --sheet do not go together (a sheet spans the whole clip)");
    char default_out[4096];
    if (!out) {
        vs_preview_default_name(default_out, sizeof default_out, script, sheet ? "sheet" : "preview");
        out = default_out;
    }

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
    lua_pushstring(L, script);
    lua_setfield(L, -2, "script");
    lua_pushstring(L, out);
    lua_setfield(L, -2, "out");
    lua_pushnumber(L, at);
    lua_setfield(L, -2, "at");
    if (sheet) {
        lua_pushinteger(L, sheet);
        lua_setfield(L, -2, "sheet");
    }
    if (width) {
        lua_pushinteger(L, width);
        lua_setfield(L, -2, "width");
    }
    lua_newtable(L);
    for (int k = i; k < argc; k++) {
        lua_pushstring(L, argv[k]);
        lua_rawseti(L, -2, k - i + 1);
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
