/*
 * lua_state.h: LuaJIT states with the vstudio module on their path, used by
 * the CLI, the REPL and every render worker.
 */
#ifndef VS_LUA_STATE_H
#define VS_LUA_STATE_H

#include <lua.h>

/* A fresh state with standard libraries and package.path pointing at the
 * vstudio Lua modules; NULL with vs_last_error() on failure. */
lua_State *vs_lua_state_new(void);
/* The directory holding vstudio/init.lua (source tree or installed prefix). */
const char *vs_lua_dir(void);
/* lua_pcall with a traceback handler; on error the message (with traceback)
 * stays on the stack top. */
int vs_lua_pcall(lua_State *L, int nargs, int nresults);

#endif
