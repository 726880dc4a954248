/*
 * lua_state.c: where the Lua half of vstudio lives and how a state finds it.
 *
 * The Lua modules are found relative to libvstudio.so itself (dladdr), so
 * the same library works from the source tree (build/libvstudio.so next to
 * lua/) and installed (PREFIX/lib next to PREFIX/share/vstudio/lua), whether
 * the process is build/vstudio or a plain luajit that loaded the library.
 * VSTUDIO_LUA_DIR overrides both. When neither holds vstudio/init.lua, no
 * state is made: the error names both folders (no guess at a fixed path).
 */
#include <dlfcn.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include "error.h"
#include "interrupt.h"
#include "lua_state.h"

extern char **environ;

static char lua_dir[PATH_MAX];
static pthread_once_t lua_dir_once = PTHREAD_ONCE_INIT;

static int has_init(const char *dir)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/vstudio/init.lua", dir);
    return access(path, R_OK) == 0;
}

/* The folder libvstudio.so is in, or "" when it cannot be told. */
static void library_dir(char *out, size_t size)
{
    Dl_info info;
    char real[PATH_MAX];
    out[0] = '\0';
    if (dladdr((void *)library_dir, &info) && info.dli_fname && realpath(info.dli_fname, real))
        snprintf(out, size, "%s", dirname(real));
}

/* Where the modules can be, relative to the library: the source tree, then
 * an installed PREFIX. */
static const char *const lua_dir_candidates[] = {"%s/../lua", "%s/../share/vstudio/lua"};

/* lua_dir stays "" when no candidate holds vstudio/init.lua:
 * vs_lua_state_new then says where it looked. */
static void find_lua_dir(void)
{
    const char *env = getenv("VSTUDIO_LUA_DIR");
    if (env && *env) {
        snprintf(lua_dir, sizeof lua_dir, "%s", env);
        return;
    }
    char lib[PATH_MAX];
    library_dir(lib, sizeof lib);
    for (size_t i = 0; lib[0] && i < sizeof lua_dir_candidates / sizeof *lua_dir_candidates; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, lua_dir_candidates[i], lib);
        if (has_init(path) && realpath(path, lua_dir))
            return;
    }
}

const char *vs_lua_dir(void)
{
    pthread_once(&lua_dir_once, find_lua_dir);
    return lua_dir;
}

static void fail_no_lua_dir(void)
{
    char lib[PATH_MAX], searched[2 * PATH_MAX + 64] = "";
    library_dir(lib, sizeof lib);
    size_t n = 0;
    for (size_t i = 0; lib[0] && i < sizeof lua_dir_candidates / sizeof *lua_dir_candidates && n < sizeof searched; i++) {
        n += (size_t)snprintf(searched + n, sizeof searched - n, "%s", i ? " or " : "");
        if (n < sizeof searched)
            n += (size_t)snprintf(searched + n, sizeof searched - n, lua_dir_candidates[i], lib);
    }
    vs_fail("cannot find vstudio's Lua modules: no vstudio/init.lua in %s; set VSTUDIO_LUA_DIR to the folder "
            "holding vstudio/",
            lib[0] ? searched : "(the folder of libvstudio.so is unknown)");
}

lua_State *vs_lua_state_new(void)
{
    const char *dir = vs_lua_dir();
    if (!dir[0]) {
        fail_no_lua_dir();
        return NULL;
    }
    lua_State *L = luaL_newstate();
    if (!L) {
        vs_fail("cannot create a Lua state (out of memory)");
        return NULL;
    }
    luaL_openlibs(L);
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "path");
    lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;%s", dir, dir, lua_tostring(L, -1));
    lua_setfield(L, -3, "path");
    lua_pop(L, 2);
    return L;
}

/* Whether a traceback line points into the user's code: not a C function,
 * not vstudio's own Lua modules, not the engine's glue chunks. */
static int user_frame(const char *line, size_t len)
{
    const char *dir = vs_lua_dir();
    size_t dlen = strlen(dir);
    if (len >= 3 && strncmp(line, "[C]", 3) == 0)
        return 0;
    if (len >= 11 && strncmp(line, "(tail call)", 11) == 0)
        return 0;
    size_t glue = sizeof VS_LUA_GLUE_NAME - 1;
    if (len > glue && strncmp(line, VS_LUA_GLUE_NAME, glue) == 0)
        return 0;
    return !(dlen > 0 && len > dlen && strncmp(line, dir, dlen) == 0 && line[dlen] == '/');
}

/* msg without the glue's location ("(vstudio engine):11: ") and a leading
 * "vstudio: ". */
static const char *skip_prefixes(const char *msg)
{
    size_t glue = sizeof VS_LUA_GLUE_NAME - 1;
    if (strncmp(msg, VS_LUA_GLUE_NAME, glue) == 0 && msg[glue] == ':') {
        const char *after = strstr(msg + glue, ": ");
        if (after)
            msg = after + 2;
    }
    if (strncmp(msg, "vstudio: ", 9) == 0)
        msg += 9;
    return msg;
}

/* The handler behind vs_lua_pcall (lua_state.h). */
static int traceback(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (!msg) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, NULL, 1);
    const char *tb = lua_tostring(L, -1);
    size_t cap = strlen(msg) + strlen(tb) + 32, used = 0;
    char *out = malloc(cap);
    if (!out)
        return 1; /* the plain traceback */
    msg = skip_prefixes(msg);
    const char *inner = strstr(msg, ": vstudio: ");
    if (inner)
        used = (size_t)snprintf(out, cap, "%.*s%s", (int)(inner - msg + 2), msg, inner + 11);
    else
        used = (size_t)snprintf(out, cap, "%s", msg);
    size_t head = used;
    int kept = 0;
    const char *first = NULL;
    size_t first_len = 0;
    for (const char *p = strchr(tb, '\n'); p && *p;) { /* after "stack traceback:" */
        const char *line = p + 1 + (p[1] == '\t');
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (user_frame(line, len)) {
            if (!kept++) {
                first = line;
                first_len = len;
                used += (size_t)snprintf(out + used, cap - used, "\nstack traceback:");
            }
            used += (size_t)snprintf(out + used, cap - used, "\n\t%.*s", (int)len, line);
        }
        p = end;
    }
    /* "script.lua:12: in main chunk" alone repeats "script.lua:12: why" */
    const char *colon = first ? memchr(first, ':', first_len) : NULL;
    const char *loc_end = colon ? memchr(colon + 1, ':', first_len - (size_t)(colon + 1 - first)) : NULL;
    if (kept == 1 && loc_end && strncmp(out, first, (size_t)(loc_end - first)) == 0)
        used = head;
    lua_pushlstring(L, out, used);
    free(out);
    return 1;
}

int vs_lua_pcall(lua_State *L, int nargs, int nresults)
{
    int base = lua_gettop(L) - nargs;
    lua_pushcfunction(L, traceback);
    lua_insert(L, base);
    int rc = lua_pcall(L, nargs, nresults, base);
    lua_remove(L, base);
    return rc;
}

/* ---- the process, guarded for the render engine's states ---- */

static int refuse_exit(lua_State *L)
{
    return luaL_error(L, "os.exit() in a script run by vstudio would end the render with no output written; "
                         "return from the script (or return no clip to just run it), or call error() to fail");
}

/* os.execute without glibc system()'s SIGINT ignoring: Ctrl-C (or a
 * signal to vstudio alone, which then stops the command) stops the
 * render. The upvalue says whether the command's stdout must go to
 * stderr (an output is on stdout). Returns the wait status, as system(). */
static int interruptible_execute(lua_State *L)
{
    const char *cmd = luaL_optstring(L, 1, NULL);
    if (!cmd) {
        lua_pushinteger(L, 1); /* a shell is there */
        return 1;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (lua_toboolean(L, lua_upvalueindex(1)))
        posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);
    char *argv[] = {"sh", "-c", (char *)cmd, NULL};
    fflush(NULL); /* as system() does: buffered output first */
    pid_t pid;
    int err = posix_spawn(&pid, "/bin/sh", &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (err != 0) {
        lua_pushinteger(L, -1);
        return 1;
    }
    int status = 0, stopped = 0, slot = vs_interrupt_child_add(pid);
    for (;;) {
        pid_t got = waitpid(pid, &status, WNOHANG);
        if (got == pid || (got < 0 && errno != EINTR))
            break;
        if (!stopped && vs_interrupt_pending()) {
            vs_interrupt_kill_tree(pid, SIGTERM); /* the signal came to vstudio alone */
            stopped = 1;
        }
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    vs_interrupt_child_remove(slot);
    /* Ctrl-C reaches the command too; it dying of it is the user's stop */
    if (!stopped && WIFSIGNALED(status) && (WTERMSIG(status) == SIGINT || WTERMSIG(status) == SIGTERM))
        raise(WTERMSIG(status));
    if (stopped || vs_interrupt_pending())
        return luaL_error(L, "interrupted during os.execute('%s')", cmd);
    lua_pushinteger(L, status);
    return 1;
}

/* With an output on stdout, print, io.write and io.stdout go to stderr. */
static const char stdout_to_stderr[] =
    "local select, tostring, concat, stderr = select, tostring, table.concat, io.stderr\n"
    "io.stdout = stderr\n"
    "io.output(stderr)\n"
    "print = function(...)\n"
    "  local n, parts = select('#', ...), {}\n"
    "  for i = 1, n do parts[i] = tostring((select(i, ...))) end\n"
    "  stderr:write(concat(parts, '\\t'), '\\n')\n"
    "end\n";

void vs_lua_guard_process(lua_State *L, int stdout_taken)
{
    lua_getglobal(L, "os");
    lua_pushcfunction(L, refuse_exit);
    lua_setfield(L, -2, "exit");
    lua_pushboolean(L, stdout_taken);
    lua_pushcclosure(L, interruptible_execute, 1);
    lua_setfield(L, -2, "execute");
    lua_pop(L, 1);
    if (stdout_taken && luaL_loadbuffer(L, stdout_to_stderr, sizeof stdout_to_stderr - 1, VS_LUA_GLUE_CHUNK) == 0)
        lua_pcall(L, 0, 0, 0);
}
