/*
 * interrupt.c: the process-wide stop flag behind vs_interrupt_catch.
 */
#include "interrupt.h"

#include <string.h>
#include <unistd.h>

static atomic_int signalled;
static const char *_Atomic exit_message;

static void on_signal(int sig)
{
    const char *msg = atomic_load(&exit_message);
    if (msg) {
        ssize_t rc = write(STDERR_FILENO, msg, strlen(msg));
        (void)rc;
        _exit(128 + sig);
    }
    atomic_store(&signalled, sig);
}

atomic_int *vs_interrupt_catch(vs_interrupt *saved)
{
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
    atomic_store(&exit_message, message);
}

int vs_interrupt_status(int sig)
{
    return 128 + sig;
}

const char *vs_interrupt_name(int sig)
{
    return sig == SIGTERM ? "SIGTERM" : "SIGINT";
}
