/*
 * repl.h: what the REPL shares with `vstudio preview` and `run --watch`:
 * a SIGINT handler that interrupts a running Lua chunk, and calls into
 * lua/vstudio/repl.lua.
 */
#ifndef VS_REPL_H
#define VS_REPL_H

#include <stddef.h>

#include <lua.h>

/* on: Ctrl-C sets a flag, and while a vs_repl_call runs in L (may be NULL)
 * it raises "interrupted" inside Lua; off: the default action again. The
 * flag stays until vs_repl_clear_interrupt. */
void vs_repl_signals(lua_State *L, int on);
/* on while Lua code that Ctrl-C may interrupt runs (vs_repl_call does
 * this itself); off also removes a pending interrupt hook. */
void vs_repl_evaluating(int on);
/* Whether Ctrl-C came since the last vs_repl_clear_interrupt. */
int vs_repl_interrupted(void);
void vs_repl_clear_interrupt(void);
/* require(module) kept in the registry: the reference, or -1 (reported as
 * "vstudio: CMD: ..."). */
int vs_repl_require(lua_State *L, const char *cmd, const char *module);
/* Calls module[name] with the nargs values on the stack top, interruptible
 * by Ctrl-C; on error prints the message (with traceback) and returns -1. */
int vs_repl_call(lua_State *L, int module_ref, const char *name, int nargs, int nresults);

/* NAME.KIND.png in the current directory, NAME = SCRIPT's base name
 * without .lua (preview and watch outputs). */
void vs_preview_default_name(char *out, size_t size, const char *script, const char *kind);

#endif
