/*
 * repl.c: `vstudio repl [SCRIPT.lua]`, the interactive prompt.
 *
 * One LuaJIT state with `vs`, `show` and `sheet` as globals (and `clip`,
 * what SCRIPT returns). The terminal side lives here: libedit's readline
 * interface for line editing, persistent history in
 * $XDG_STATE_HOME/vstudio/history, and TAB completion whose candidates come
 * from Lua (lua/vstudio/repl.lua, which also compiles, runs and prints every
 * line). On a non-terminal stdin lines are read plainly and no prompt is
 * printed, so the REPL is scriptable; the exit status is then 1 if any
 * chunk raised an error.
 *
 * Ctrl-C: libedit's own signal handling is off (rl_catch_signals = 0); our
 * handler only sets a flag, and keys are read by read_key, which waits in
 * ppoll with SIGINT blocked everywhere else, so a Ctrl-C that lands while
 * libedit is between two reads is not lost: readline() returns NULL, the
 * line is dropped and a fresh prompt comes. A Ctrl-C that a worker thread
 * takes is passed on to the REPL's thread. While a chunk runs, the
 * handler sets a Lua hook (as lua.c does) that raises "interrupted" at the
 * next Lua instruction count/call; a second Ctrl-C before the hook fires
 * (a long C call) ends the process with the usual SIGINT status.
 */
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <sys/stat.h>
#include <unistd.h>

#include <editline/readline.h>
#include <lauxlib.h>
#include <lua.h>

#include "cli.h"
#include "lua_state.h"
#include "repl.h"
#include "vstudio.h"

/* The signal handler has to reach the running state: the one piece of
 * global mutable state here, set only while a REPL (or watch loop) runs. */
static lua_State *volatile sig_state;
static volatile sig_atomic_t sig_pending;
static volatile sig_atomic_t sig_evaluating;
static pthread_t sig_thread; /* the REPL's own thread, where the handler acts */

static void stop_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    luaL_error(L, "interrupted (Ctrl-C)");
}

static void on_sigint(int sig)
{
    if (!pthread_equal(pthread_self(), sig_thread)) {
        /* a worker thread (a dataset's, a render's) took it: the REPL's
         * thread must see it, to leave ppoll or stop its chunk */
        pthread_kill(sig_thread, sig);
        return;
    }
    if (sig_evaluating && sig_state) {
        if (sig_pending) {
            /* the hook never ran: a long C call; leave as SIGINT would */
            signal(sig, SIG_DFL);
            raise(sig);
            return;
        }
        sig_pending = 1;
        lua_sethook(sig_state, stop_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
        return;
    }
    sig_pending = 1;
}

void vs_repl_signals(lua_State *L, int on)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on ? on_sigint : SIG_DFL;
    sa.sa_flags = 0; /* no SA_RESTART: a blocked read must return EINTR */
    sig_state = on ? L : NULL;
    sig_evaluating = 0;
    sig_thread = pthread_self();
    sigaction(SIGINT, &sa, NULL);
}

void vs_repl_evaluating(int on)
{
    sig_evaluating = on;
    if (!on && sig_state)
        lua_sethook(sig_state, NULL, 0, 0);
}

int vs_repl_interrupted(void) { return sig_pending != 0; }
void vs_repl_clear_interrupt(void) { sig_pending = 0; }

/* Calls repl_module[name](args...) under the traceback handler; *status
 * gets the string result (or "error"). Returns 0, or -1 if the call itself
 * failed (message printed). */
int vs_repl_call(lua_State *L, int module_ref, const char *name, int nargs, int nresults)
{
    lua_rawgeti(L, LUA_REGISTRYINDEX, module_ref);
    lua_getfield(L, -1, name);
    lua_remove(L, -2);
    lua_insert(L, -1 - nargs);
    vs_repl_evaluating(1);
    int rc = vs_lua_pcall(L, nargs, nresults);
    vs_repl_evaluating(0);
    sig_pending = 0;
    if (rc != 0) {
        fflush(stdout);
        fprintf(stderr, "%s\n", lua_tostring(L, -1) ? lua_tostring(L, -1) : "(error)");
        lua_pop(L, 1);
        return -1;
    }
    return 0;
}

/* require(module) -> registry reference, or -1 with the message printed. */
int vs_repl_require(lua_State *L, const char *cmd, const char *module)
{
    lua_getglobal(L, "require");
    lua_pushstring(L, module);
    if (vs_lua_pcall(L, 1, 1) != 0) {
        vs_cli_fail(cmd, "cannot load the Lua module %s: %s", module, lua_tostring(L, -1));
        lua_pop(L, 1);
        return -1;
    }
    return luaL_ref(L, LUA_REGISTRYINDEX);
}

/* ---------------------------------------------------------------- history */

static int make_dirs(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir(path, 0700);
        *p = '/';
        if (rc != 0 && errno != EEXIST)
            return -1;
    }
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* $XDG_STATE_HOME/vstudio/history, else ~/.local/state/vstudio/history;
 * the directory is created. Empty string when there is no home. */
static void history_path(char *out, size_t size)
{
    char dir[PATH_MAX - 16];
    const char *state = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    out[0] = '\0';
    if (state && state[0] == '/')
        snprintf(dir, sizeof dir, "%s/vstudio", state);
    else if (home && *home)
        snprintf(dir, sizeof dir, "%s/.local/state/vstudio", home);
    else
        return;
    if (make_dirs(dir) != 0) {
        fprintf(stderr, "vstudio: repl: cannot create %s (%s); history is not saved\n", dir, strerror(errno));
        return;
    }
    snprintf(out, size, "%s/history", dir);
}

/* ---------------------------------------------------------------- completion */

static lua_State *complete_L;
static int complete_ref = LUA_NOREF;
static char **complete_words;
static int complete_count, complete_next;

static void complete_clear(void)
{
    for (int i = 0; i < complete_count; i++)
        free(complete_words[i]);
    free(complete_words);
    complete_words = NULL;
    complete_count = complete_next = 0;
}

static char *complete_generator(const char *text, int state)
{
    (void)text;
    if (state == 0)
        complete_next = 0;
    if (complete_next >= complete_count)
        return NULL;
    return strdup(complete_words[complete_next++]);
}

static char **complete(const char *text, int start, int end)
{
    (void)start;
    (void)end;
    rl_attempted_completion_over = 1; /* no file names */
    complete_clear();
    lua_State *L = complete_L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, complete_ref);
    lua_getfield(L, -1, "complete");
    lua_remove(L, -2);
    lua_pushstring(L, text);
    if (vs_lua_pcall(L, 1, 1) != 0 || !lua_istable(L, -1)) {
        lua_pop(L, 1);
        return NULL;
    }
    int n = (int)lua_objlen(L, -1);
    complete_words = calloc(n > 0 ? n : 1, sizeof *complete_words);
    for (int i = 1; complete_words && i <= n; i++) {
        lua_rawgeti(L, -1, i);
        const char *s = lua_tostring(L, -1);
        if (s && (complete_words[complete_count] = strdup(s)))
            complete_count++;
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    if (complete_count == 0)
        return NULL;
    return rl_completion_matches(text, complete_generator);
}

/* ---------------------------------------------------------------- the loop */

/* rl_getc_function: one character (a whole multibyte sequence in the
 * current locale, as libedit's own reader decodes), or -1 (libedit takes it
 * as the end of the line's input) once Ctrl-C is pending. The check and the
 * wait are one step: SIGINT stays blocked until ppoll unblocks it. */
static int read_key(FILE *in)
{
    int fd = in ? fileno(in) : STDIN_FILENO;
    sigset_t sigint, before, waiting;
    sigemptyset(&sigint);
    sigaddset(&sigint, SIGINT);
    sigprocmask(SIG_BLOCK, &sigint, &before);
    waiting = before;
    sigdelset(&waiting, SIGINT);
    mbstate_t state;
    memset(&state, 0, sizeof state);
    int key = -1, partial = 0;
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (sig_pending)
            break;
        if (ppoll(&pfd, 1, NULL, &waiting) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        unsigned char byte;
        ssize_t n = read(fd, &byte, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n != 1)
            break;
        wchar_t wc;
        size_t used = mbrtowc(&wc, (const char *)&byte, 1, &state);
        if (used == (size_t)-1 && partial) {
            /* a sequence broken off: it is dropped (as libedit's reader
             * does), the byte that broke it starts afresh */
            memset(&state, 0, sizeof state);
            used = mbrtowc(&wc, (const char *)&byte, 1, &state);
        }
        partial = used == (size_t)-2;
        if (partial)
            continue; /* more bytes of this character to come */
        if (used == (size_t)-1) {
            memset(&state, 0, sizeof state); /* not a character of this locale: dropped */
            continue;
        }
        key = (int)wc;
        break;
    }
    sigprocmask(SIG_SETMASK, &before, NULL);
    return key;
}

static const char *feed(lua_State *L, int ref, const char *line)
{
    lua_pushstring(L, line);
    if (vs_repl_call(L, ref, "feed", 1, 1) != 0)
        return "error";
    static char status[8];
    snprintf(status, sizeof status, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "error");
    lua_pop(L, 1);
    return status;
}

static int loop_terminal(lua_State *L, int ref)
{
    char hist[PATH_MAX];
    history_path(hist, sizeof hist);
    rl_readline_name = "vstudio";
    rl_catch_signals = 0;
    rl_getc_function = read_key;
    /* the terminal's character set (UTF-8 keys are characters) for libedit
     * while it reads a line, and only then: the rest of the program, the
     * Lua chunks included, keeps the C locale */
    locale_t keys = newlocale(LC_CTYPE_MASK, "", (locale_t)0);
    /* '.' and ':' are part of a word: vs.ea<TAB> completes vs.ease */
    rl_basic_word_break_characters = " \t\n\"\\'`@$><=;|&{(,+-*/%^~#[])}";
    rl_completion_append_character = '\0';
    rl_attempted_completion_function = complete;
    complete_L = L;
    complete_ref = ref;
    /* libedit binds the locale's printable characters to "insert" when it
     * starts (in C, 0xE9 would be Meta-i): so it starts under keys */
    locale_t outside = keys ? uselocale(keys) : (locale_t)0;
    rl_initialize();
    if (keys)
        uselocale(outside);
    using_history();
    stifle_history(1000);
    if (hist[0])
        read_history(hist);
    printf("vstudio %s REPL: vs, show(clip[, t]), sheet(clip[, n]); Ctrl-D leaves\n", vs_version());
    int more = 0;
    for (;;) {
        vs_repl_clear_interrupt();
        errno = 0;
        outside = keys ? uselocale(keys) : (locale_t)0;
        char *line = readline(more ? ">> " : "> ");
        if (keys)
            uselocale(outside);
        if (!line) {
            if (vs_repl_interrupted()) {
                /* Ctrl-C: drop the line (and an incomplete chunk) */
                fputs("\n", stdout);
                fflush(stdout);
                lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
                lua_getfield(L, -1, "reset");
                lua_call(L, 0, 0);
                lua_pop(L, 1);
                more = 0;
                continue;
            }
            fputs("\n", stdout);
            break;
        }
        if (line[0]) {
            HIST_ENTRY *last = history_length > 0 ? history_get(history_base + history_length - 1) : NULL;
            if (!last || strcmp(last->line, line) != 0)
                add_history(line);
            if (hist[0] && write_history(hist) != 0) {
                /* a read-only home: keep going without history */
                hist[0] = '\0';
            } else if (hist[0]) {
                chmod(hist, 0600); /* what people type may be private */
            }
        }
        const char *status = feed(L, ref, line);
        free(line);
        more = strcmp(status, "more") == 0;
    }
    complete_clear();
    if (keys)
        freelocale(keys);
    return VS_EXIT_OK;
}

static int loop_pipe(lua_State *L, int ref, int failed)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        if (n > 0 && line[n - 1] == '\n')
            line[--n] = '\0';
        if (strcmp(feed(L, ref, line), "error") == 0)
            failed = 1;
        fflush(stdout);
    }
    free(line);
    if (vs_repl_interrupted()) /* Ctrl-C while waiting for input */
        return 130;
    if (vs_repl_call(L, ref, "finish", 0, 1) != 0)
        failed = 1;
    else {
        if (strcmp(lua_tostring(L, -1) ? lua_tostring(L, -1) : "", "error") == 0)
            failed = 1;
        lua_pop(L, 1);
    }
    return failed ? VS_EXIT_FAIL : VS_EXIT_OK;
}

static const char usage[] =
    "Usage: vstudio repl [SCRIPT.lua] [-- ARGS...]\n\n"
    "An interactive LuaJIT prompt with vstudio loaded as `vs`.\n"
    "With SCRIPT, the script runs first and what it returns is `clip`.\n\n"
    "  Expressions print their value (1 + 41 -> 42); statements run (x = 3).\n"
    "  An incomplete chunk continues on the next line (>> prompt).\n"
    "  show(clip_or_frame[, t])  draw a frame in the terminal (24-bit colour;\n"
    "                            NO_COLOR or a pipe: an ASCII ramp)\n"
    "  sheet(clip[, n])          a contact sheet frame of n evenly spaced frames\n"
    "  TAB completes names (vs.ea<TAB> -> vs.ease); history is kept in\n"
    "  $XDG_STATE_HOME/vstudio/history (~/.local/state/vstudio/history).\n"
    "  Ctrl-C cancels the line or stops a running evaluation; Ctrl-D leaves.\n\n"
    "With a non-terminal stdin, lines are read and evaluated without prompts;\n"
    "errors go to stderr and the exit status is 1 if any chunk failed.\n";

int vs_cmd_repl(int argc, char **argv)
{
    const char *script = NULL;
    char **args = NULL;
    int n_args = 0, status;
    static const vs_cli_option options[] = {VS_CLI_END};
    const vs_cli_syntax syntax = {"repl", usage, NULL, options, vs_cli_one_script, &script, &args, &n_args};
    if (vs_cli_parse(&syntax, argc, argv, &status) < 0)
        return status;
    lua_State *L = vs_lua_state_new();
    if (!L)
        return vs_cli_fail("repl", "%s", vs_last_error());
    status = VS_EXIT_FAIL;
    int ref = vs_repl_require(L, "repl", "vstudio.repl");
    if (ref < 0)
        goto done;
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
    lua_getfield(L, -1, "install");
    lua_remove(L, -2);
    if (vs_lua_pcall(L, 0, 0) != 0) {
        vs_cli_fail("repl", "%s", lua_tostring(L, -1));
        goto done;
    }
    vs_repl_signals(L, 1);
    int failed = 0;
    if (script) {
        lua_pushstring(L, script);
        lua_newtable(L);
        for (int k = 0; k < n_args; k++) {
            lua_pushstring(L, args[k]);
            lua_rawseti(L, -2, k + 1);
        }
        if (vs_repl_call(L, ref, "run_script", 2, 1) != 0) {
            failed = 1;
        } else {
            lua_setglobal(L, "clip");
        }
    }
    if (isatty(STDIN_FILENO))
        status = loop_terminal(L, ref);
    else
        status = loop_pipe(L, ref, failed);
    vs_repl_signals(L, 0);
done:
    lua_close(L);
    return status;
}
