/*
 * progress.c: the progress bar. Updates are rate-limited (5 redraws a
 * second on a terminal, one line every 2 s on a pipe) and serialised by a
 * mutex, so worker threads may report directly.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"

struct vs_progress {
    char label[32];
    int64_t total;
    int tty;
    int enabled;
    double start, last_draw;
    int drawn;
    pthread_mutex_t lock;
};

double vs_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

vs_progress *vs_progress_start(const char *label, int64_t total, vs_progress_mode mode)
{
    vs_progress *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    snprintf(p->label, sizeof p->label, "%s", label);
    p->total = total;
    p->tty = isatty(STDERR_FILENO);
    p->enabled = mode == VS_PROGRESS_LINES || (mode == VS_PROGRESS_AUTO && p->tty);
    p->start = p->last_draw = vs_now();
    pthread_mutex_init(&p->lock, NULL);
    return p;
}

static void draw(vs_progress *p, int64_t done, double now)
{
    double elapsed = now - p->start;
    double rate = elapsed > 0 ? done / elapsed : 0;
    char eta[32] = "";
    if (p->total > 0 && rate > 0 && done < p->total) {
        int s = (int)((p->total - done) / rate + 0.5);
        snprintf(eta, sizeof eta, " ETA %d:%02d", s / 60, s % 60);
    }
    if (p->tty) {
        char bar[31];
        int fill = p->total > 0 ? (int)(30 * done / p->total) : 0;
        for (int i = 0; i < 30; i++)
            bar[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
        bar[30] = '\0';
        if (p->total > 0)
            fprintf(stderr, "\r[%s] %lld/%lld %s %.1f/s%s\033[K", bar, (long long)done, (long long)p->total,
                    p->label, rate, eta);
        else
            fprintf(stderr, "\r%lld %s %.1f/s\033[K", (long long)done, p->label, rate);
    } else {
        fprintf(stderr, "vstudio: %lld/%lld %s, %.1f/s%s\n", (long long)done, (long long)p->total, p->label, rate, eta);
    }
    fflush(stderr);
    p->drawn = 1;
}

void vs_progress_update(vs_progress *p, int64_t done)
{
    if (!p || !p->enabled)
        return;
    double now = vs_now();
    pthread_mutex_lock(&p->lock);
    if (now - p->last_draw >= (p->tty ? 0.2 : 2.0)) {
        p->last_draw = now;
        draw(p, done, now);
    }
    pthread_mutex_unlock(&p->lock);
}

void vs_progress_finish(vs_progress *p)
{
    if (!p)
        return;
    if (p->enabled && p->tty && p->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    pthread_mutex_destroy(&p->lock);
    free(p);
}
