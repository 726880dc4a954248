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
/* The chunk name of the engine's own Lua glue: its location is left out of
 * error messages and tracebacks, which show the user's code. */
#define VS_LUA_GLUE_NAME "(vstudio engine)"
#define VS_LUA_GLUE_CHUNK "=" VS_LUA_GLUE_NAME
/* lua_pcall with a handler that words the error for people: no "vstudio: "
 * of the library's own (the command names itself), no location inside the
 * glue, and a traceback of the user's frames only (none when the one frame
 * left is the file:line the message starts with). On error the message
 * stays on the stack top. */
int vs_lua_pcall(lua_State *L, int nargs, int nresults);
/* For the render engine's states: os.exit raises an error (it would end
 * the render with no output and status 0), os.execute stops on SIGINT and
 * SIGTERM (glibc's system() ignores SIGINT), and with stdout_taken (an
 * output on stdout) print, io.write, io.stdout and os.execute's commands
 * write to stderr. */
void vs_lua_guard_process(lua_State *L, int stdout_taken);

#endif
