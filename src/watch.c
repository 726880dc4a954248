/*
 * watch.c: `vstudio run --watch SCRIPT.lua`, a live-reload loop.
 *
 * The script's file is polled (stat every 200 ms: size, mtime and inode,
 * so editors that save by renaming a new file over the old one are seen
 * too, which inotify on the path would miss). On every change a fresh Lua
 * state runs the script (its own modules reload as well) and writes a
 * low-resolution frame (320 pixels wide) and a contact sheet of 6 frames
 * (M.watch_once in lua/vstudio/repl.lua). An error is printed and the loop
 * waits for the next save. Ctrl-C interrupts a render and leaves with 130.
 *
 * Outputs: -o OUT.png (or .jpg) names the frame, and the sheet is
 * OUT.sheet.png beside it; any other -o (a video) is not written in watch
 * mode and the images are NAME.preview.png and NAME.sheet.png in the
 * current directory.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>

#include "cli.h"
#include "lua_state.h"
#include "repl.h"
#include "vstudio.h"

struct signature {
    int ok;
    off_t size;
    ino_t ino;
    struct timespec mtime;
};

static struct signature stat_of(const char *path)
{
    struct signature s = {0};
    struct stat st;
    if (stat(path, &st) == 0) {
        s.ok = 1;
        s.size = st.st_size;
        s.ino = st.st_ino;
        s.mtime = st.st_mtim;
    }
    return s;
}

static int same(struct signature a, struct signature b)
{
    return a.ok == b.ok && a.size == b.size && a.ino == b.ino && a.mtime.tv_sec == b.mtime.tv_sec &&
           a.mtime.tv_nsec == b.mtime.tv_nsec;
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void stamp(char *out, size_t size)
{
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, size, "%H:%M:%S", &tm);
}

static int has_image_ext(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot && (strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0);
}

/* One render in a fresh state; 0 ok, -1 error (printed), 1 interrupted. */
static int render_once(const char *script, const char *out, const char *sheet_out, char **args, int n_args)
{
    char when[16];
    stamp(when, sizeof when);
    double t0 = now_ms();
    lua_State *L = vs_lua_state_new();
    if (!L) {
        fprintf(stderr, "[%s] vstudio: run --watch: %s\n", when, vs_last_error());
        return -1;
    }
    int rc = -1;
    int ref = vs_repl_require(L, "run --watch", "vstudio.repl");
    if (ref < 0)
        goto done;
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
    lua_getfield(L, -1, "watch_once");
    lua_remove(L, -2);
    lua_newtable(L);
    lua_pushstring(L, script);
    lua_setfield(L, -2, "script");
    lua_pushstring(L, out);
    lua_setfield(L, -2, "out");
    lua_pushstring(L, sheet_out);
    lua_setfield(L, -2, "sheet_out");
    lua_pushinteger(L, 6);
    lua_setfield(L, -2, "sheet");
    lua_newtable(L);
    for (int k = 0; k < n_args; k++) {
        lua_pushstring(L, args[k]);
        lua_rawseti(L, -2, k + 1);
    }
    lua_setfield(L, -2, "args");
    vs_repl_signals(L, 1);
    vs_repl_evaluating(1);
    int failed = lua_pcall(L, 1, 1, 0);
    vs_repl_evaluating(0);
    int interrupted = vs_repl_interrupted();
    vs_repl_signals(NULL, 1); /* the state is about to go */
    if (interrupted) {
        rc = 1;
    } else if (failed) {
        const char *msg = lua_tostring(L, -1);
        if (msg && strncmp(msg, "vstudio: ", 9) == 0)
            msg += 9;
        fprintf(stderr, "[%s] %s\n", when, msg ? msg : "(error object is not a string)");
    } else {
        fprintf(stderr, "[%s] %s: wrote %s in %.0f ms\n", when, script, lua_tostring(L, -1), now_ms() - t0);
        rc = 0;
    }
done:
    lua_close(L);
    return rc;
}

int vs_run_watch(const char *script, const char *o, char **args, int n_args)
{
    const char *cmd = "run --watch";
    char out[PATH_MAX], sheet_out[PATH_MAX + 16];
    if (o && has_image_ext(o)) {
        snprintf(out, sizeof out, "%s", o);
        const char *dot = strrchr(o, '.');
        snprintf(sheet_out, sizeof sheet_out, "%.*s.sheet%s", (int)(dot - o), o, dot);
    } else {
        vs_preview_default_name(out, sizeof out, script, "preview");
        vs_preview_default_name(sheet_out, sizeof sheet_out, script, "sheet");
    }
    struct signature last = stat_of(script);
    if (!last.ok)
        return vs_cli_fail(cmd, "%s: cannot read the script: %s", script, strerror(errno));
    fprintf(stderr, "vstudio: %s: watching %s; previews in %s and %s (Ctrl-C leaves)\n", cmd, script, out,
            sheet_out);
    /* our handler for the whole loop: Ctrl-C while waiting leaves */
    vs_repl_signals(NULL, 1);
    vs_repl_clear_interrupt();
    int rc = render_once(script, out, sheet_out, args, n_args);
    while (rc != 1) {
        struct timespec pause = {0, 200 * 1000 * 1000};
        nanosleep(&pause, NULL);
        if (vs_repl_interrupted())
            break;
        struct signature now = stat_of(script);
        if (!now.ok || same(now, last))
            continue;
        /* let an editor finish writing */
        nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
        last = stat_of(script);
        if (vs_repl_interrupted())
            break;
        rc = render_once(script, out, sheet_out, args, n_args);
    }
    vs_repl_signals(NULL, 0);
    fprintf(stderr, "\nvstudio: %s: stopped\n", cmd);
    return 130;
}
