/*
 * interrupt.c: the process-wide stop flag behind vs_interrupt_catch, and
 * the watchdog that ends the process for vs_interrupt_exit_now.
 *
 * A handler may only do async-signal-safe things, and removing the output
 * temporaries (a script's top-level vs.write) walks a locked list: so in
 * exit-now mode the handler posts a semaphore, and a thread that waits on
 * it (all signals blocked there) removes them, writes the message and
 * calls _exit, after stopping the commands a script's os.execute is
 * waiting for (they would outlive it, holding its pipes).
 */
#include "interrupt.h"

#include <dirent.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "outfile.h"

static atomic_int signalled;
static const char *_Atomic exit_message;
static atomic_int exit_signal;
static sem_t exit_wanted;
static atomic_int watchdog_running;
static pthread_once_t watchdog_once = PTHREAD_ONCE_INIT;
/* Commands being waited for (0: a free slot); past the last slot a
 * command is simply not stopped by the watchdog. */
#define MAX_CHILDREN 64
static atomic_int children[MAX_CHILDREN];

/* The parent of process pid from /proc, or -1. */
static pid_t parent_of(const char *pid)
{
    char path[300], buf[512];
    snprintf(path, sizeof path, "/proc/%s/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *end_of_name = strrchr(buf, ')'); /* the command name may hold spaces */
    int ppid;
    return end_of_name && sscanf(end_of_name + 1, " %*c %d", &ppid) == 1 ? (pid_t)ppid : -1;
}

void vs_interrupt_kill_tree(pid_t root, int sig)
{
    /* `sh -c CMD` does not exec CMD: the shell's children must go too.
     * Collect the tree first; a killed parent's children move to init. */
    enum { MAX_TREE = 256 };
    pid_t tree[MAX_TREE];
    int n = 0;
    tree[n++] = root;
    for (int i = 0; i < n; i++) {
        DIR *d = opendir("/proc");
        if (!d)
            break;
        struct dirent *de;
        while ((de = readdir(d)) && n < MAX_TREE)
            if (de->d_name[0] >= '1' && de->d_name[0] <= '9' && parent_of(de->d_name) == tree[i])
                tree[n++] = (pid_t)atoi(de->d_name);
        closedir(d);
    }
    for (int i = 0; i < n; i++)
        kill(tree[i], sig);
}

int vs_interrupt_child_add(pid_t pid)
{
    for (int i = 0; i < MAX_CHILDREN; i++) {
        int free_slot = 0;
        if (atomic_compare_exchange_strong(&children[i], &free_slot, (int)pid))
            return i;
    }
    return -1;
}

void vs_interrupt_child_remove(int slot)
{
    if (slot >= 0 && slot < MAX_CHILDREN)
        atomic_store(&children[slot], 0);
}

static void *watchdog(void *arg)
{
    (void)arg;
    while (sem_wait(&exit_wanted) != 0) {
    }
    int sig = atomic_load(&exit_signal);
    for (int i = 0; i < MAX_CHILDREN; i++) {
        pid_t pid = (pid_t)atomic_load(&children[i]);
        if (pid > 0)
            vs_interrupt_kill_tree(pid, SIGTERM);
    }
    vs_outfile_remove_all();
    const char *msg = atomic_load(&exit_message);
    if (msg) {
        ssize_t rc = write(STDERR_FILENO, msg, strlen(msg));
        (void)rc;
    }
    _exit(128 + sig);
}

static void start_watchdog(void)
{
    if (sem_init(&exit_wanted, 0, 0) != 0)
        return;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old); /* the new thread inherits the mask */
    pthread_t t;
    if (pthread_create(&t, NULL, watchdog, NULL) == 0) {
        pthread_detach(t);
        atomic_store(&watchdog_running, 1);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void on_signal(int sig)
{
    const char *msg = atomic_load(&exit_message);
    if (msg && atomic_load(&watchdog_running)) {
        int none = 0; /* the first signal is the one reported */
        if (atomic_compare_exchange_strong(&exit_signal, &none, sig))
            sem_post(&exit_wanted);
        return;
    }
    if (msg) { /* no watchdog thread: end at once, as before */
        ssize_t rc = write(STDERR_FILENO, msg, strlen(msg));
        (void)rc;
        _exit(128 + sig);
    }
    atomic_store(&signalled, sig);
}

atomic_int *vs_interrupt_catch(vs_interrupt *saved)
{
    pthread_once(&watchdog_once, start_watchdog);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    atomic_store(&signalled, 0);
    sigaction(SIGINT, &sa, &saved->old_int);
    sigaction(SIGTERM, &sa, &saved->old_term);
    return &signalled;
}

void vs_interrupt_release(vs_interrupt *saved)
{
    sigaction(SIGINT, &saved->old_int, NULL);
    sigaction(SIGTERM, &saved->old_term, NULL);
}

void vs_interrupt_exit_now(const char *message)
{
    /* Leaving the window after a signal came: the watchdog is ending the
     * process; going on could open or commit an output it does not know. */
    if (!message && atomic_load(&exit_signal) && atomic_load(&watchdog_running))
        for (;;)
            pause();
    atomic_store(&exit_message, message);
}

int vs_interrupt_pending(void)
{
    return atomic_load(&signalled);
}

int vs_interrupt_status(int sig)
{
    return 128 + sig;
}

const char *vs_interrupt_name(int sig)
{
    return sig == SIGTERM ? "SIGTERM" : "SIGINT";
}
