/*
 * interrupt.h: SIGINT/SIGTERM during long work (render, convert, extract,
 * concat). The handler only records the signal in one process-wide flag,
 * since a handler has no other way in; the work polls the flag, stops,
 * removes what it had half written and exits 128 + the signal.
 */
#ifndef VS_INTERRUPT_H
#define VS_INTERRUPT_H

#include <signal.h>
#include <stdatomic.h>
#include <sys/types.h>

typedef struct vs_interrupt {
    struct sigaction old_int, old_term;
} vs_interrupt;

/* Installs the handler (keeping the old ones in saved) and clears the flag;
 * returns the flag: 0, or the signal that arrived. */
atomic_int *vs_interrupt_catch(vs_interrupt *saved);
/* Puts the old handlers back; the flag keeps its value. */
void vs_interrupt_release(vs_interrupt *saved);
/* While set (non-NULL), a signal ends the process at once after removing
 * the output temporaries still open (outfile.h) and writing message: for
 * stretches that run Lua (a script's top level), where a loop would never
 * look at the flag. Clearing it after such a signal waits for that end. */
void vs_interrupt_exit_now(const char *message);
/* The signal that arrived since the last vs_interrupt_catch, or 0. */
int vs_interrupt_pending(void);
/* A child process being waited for, which an exit-now signal stops too;
 * returns the slot to remove it by (-1: not tracked). */
int vs_interrupt_child_add(pid_t pid);
void vs_interrupt_child_remove(int slot);
/* Sends sig to process root and all its descendants (not async-signal safe). */
void vs_interrupt_kill_tree(pid_t root, int sig);
/* The exit status the shell expects: 130 for SIGINT, 143 for SIGTERM. */
int vs_interrupt_status(int sig);
/* "SIGINT" or "SIGTERM". */
const char *vs_interrupt_name(int sig);

#endif
