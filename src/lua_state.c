/*
 * lua_state.c: where the Lua half of vstudio lives and how a state finds it.
 *
 * The Lua modules are found relative to libvstudio.so itself (dladdr), so
 * the same library works from the source tree (build/libvstudio.so next to
 * lua/) and installed (PREFIX/lib next to PREFIX/share/vstudio/lua), whether
 * the process is build/vstudio or a plain luajit that loaded the library.
 * VSTUDIO_LUA_DIR overrides both.
 */
#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include "error.h"
#include "lua_state.h"

static char lua_dir[PATH_MAX];
static pthread_once_t lua_dir_once = PTHREAD_ONCE_INIT;

static int has_init(const char *dir)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/vstudio/init.lua", dir);
    return access(path, R_OK) == 0;
}

static void find_lua_dir(void)
{
    const char *env = getenv("VSTUDIO_LUA_DIR");
    if (env && *env) {
        snprintf(lua_dir, sizeof lua_dir, "%s", env);
        return;
    }
    Dl_info info;
    char lib[PATH_MAX], real[PATH_MAX];
    if (dladdr((void *)find_lua_dir, &info) && info.dli_fname && realpath(info.dli_fname, real)) {
        snprintf(lib, sizeof lib, "%s", real);
        const char *dir = dirname(lib);
        const char *candidates[] = {"%s/../lua", "%s/../share/vstudio/lua"};
        for (size_t i = 0; i < sizeof candidates / sizeof *candidates; i++) {
            char path[PATH_MAX];
            snprintf(path, sizeof path, candidates[i], dir);
            if (has_init(path) && realpath(path, lua_dir))
                return;
        }
    }
    snprintf(lua_dir, sizeof lua_dir, "%s", "/usr/local/share/vstudio/lua");
}

const char *vs_lua_dir(void)
{
    pthread_once(&lua_dir_once, find_lua_dir);
    return lua_dir;
}

lua_State *vs_lua_state_new(void)
{
    lua_State *L = luaL_newstate();
    if (!L) {
        vs_fail("cannot create a Lua state (out of memory)");
        return NULL;
    }
    luaL_openlibs(L);
    const char *dir = vs_lua_dir();
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "path");
    lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;%s", dir, dir, lua_tostring(L, -1));
    lua_setfield(L, -3, "path");
    lua_pop(L, 2);
    return L;
}

static int traceback(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (!msg) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
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
