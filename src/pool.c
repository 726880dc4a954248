/*
 * pool.c: the ordered window between workers and one consumer (pool.h).
 * One mutex and one condition variable: every wait is for "the window
 * moved, an item is ready, a worker left or everything stopped", and
 * waits are bounded so the signal flag is seen within 50 ms.
 */
#include "pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "progress.h"

struct vs_pool {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int64_t first, end;
    int64_t next_claim;  /* first item nobody claimed */
    int64_t done;        /* items below this are consumed */
    int capacity, window, chunk;
    int workers;         /* joined and not yet left */
    int64_t failed;      /* the first item that failed, or -1: none after it is handed out */
    double late_at;      /* when the items before it are late */
    unsigned char *ready; /* per slot */
    atomic_int stop;
    atomic_int *signalled;
};

vs_pool *vs_pool_new(int64_t first, int64_t end, int capacity, int chunk, atomic_int *signalled)
{
    vs_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->ready = calloc((size_t)(capacity > 0 ? capacity : 1), 1);
    if (!p->ready) {
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->changed, NULL);
    p->first = p->next_claim = p->done = first;
    p->end = end;
    p->capacity = p->window = capacity > 0 ? capacity : 1;
    p->chunk = chunk > 0 ? chunk : 1;
    p->signalled = signalled;
    p->failed = -1;
    return p;
}

void vs_pool_free(vs_pool *p)
{
    if (!p)
        return;
    pthread_cond_destroy(&p->changed);
    pthread_mutex_destroy(&p->lock);
    free(p->ready);
    free(p);
}

int vs_pool_slot(const vs_pool *p, int64_t k)
{
    return (int)((k - p->first) % p->capacity);
}

void vs_pool_set_window(vs_pool *p, int window)
{
    pthread_mutex_lock(&p->lock);
    p->window = window < 1 ? 1 : window > p->capacity ? p->capacity : window;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
}

/* With the lock held: whether to stop, noticing a signal. */
static int stopping(vs_pool *p)
{
    if (!atomic_load(&p->stop) && p->signalled && atomic_load(p->signalled)) {
        atomic_store(&p->stop, 1);
        pthread_cond_broadcast(&p->changed);
    }
    return atomic_load(&p->stop);
}

void vs_cond_wait_ms(pthread_cond_t *cond, pthread_mutex_t *lock, int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(cond, lock, &ts);
}

/* With the lock held: waits for a change, at most 50 ms. */
static void wait_change(vs_pool *p) { vs_cond_wait_ms(&p->changed, &p->lock, 50); }

void vs_pool_join(vs_pool *p)
{
    pthread_mutex_lock(&p->lock);
    p->workers++;
    pthread_mutex_unlock(&p->lock);
}

void vs_pool_leave(vs_pool *p)
{
    pthread_mutex_lock(&p->lock);
    p->workers--;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
}

int64_t vs_pool_claim(vs_pool *p, vs_pool_run *run, double *waited)
{
    pthread_mutex_lock(&p->lock);
    if (run->next >= run->end) {
        run->next = p->next_claim;
        run->end = p->next_claim + p->chunk < p->end ? p->next_claim + p->chunk : p->end;
        p->next_claim = run->end;
    }
    int64_t k = run->next < run->end ? run->next : -1;
    if (p->failed >= 0 && k > p->failed)
        k = -1; /* it would be thrown away */
    if (k >= 0 && !stopping(p) && k >= p->done + p->window) {
        double t0 = vs_now();
        while (!stopping(p) && k >= p->done + p->window)
            wait_change(p);
        if (waited)
            *waited += vs_now() - t0;
    }
    if (stopping(p))
        k = -1;
    if (k >= 0)
        run->next = k + 1;
    pthread_mutex_unlock(&p->lock);
    return k;
}

void vs_pool_put(vs_pool *p, int64_t k)
{
    pthread_mutex_lock(&p->lock);
    p->ready[vs_pool_slot(p, k)] = 1;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
}

void vs_pool_put_failed(vs_pool *p, int64_t k, double grace)
{
    pthread_mutex_lock(&p->lock);
    if (p->failed < 0)
        p->late_at = vs_now() + grace;
    if (p->failed < 0 || k < p->failed)
        p->failed = k;
    pthread_mutex_unlock(&p->lock);
    vs_pool_put(p, k);
}

int64_t vs_pool_first_failed(vs_pool *p)
{
    pthread_mutex_lock(&p->lock);
    int64_t k = p->failed;
    pthread_mutex_unlock(&p->lock);
    return k;
}

int vs_pool_take(vs_pool *p, int64_t k, double *waited)
{
    int slot = vs_pool_slot(p, k);
    pthread_mutex_lock(&p->lock);
    double t0 = p->ready[slot] ? 0 : vs_now();
    int late = 0;
    while (!p->ready[slot] && !stopping(p)) {
        if (p->workers == 0) {
            /* every worker gone and item k never came: they stopped */
            atomic_store(&p->stop, 1);
            break;
        }
        if (p->failed >= 0 && k < p->failed && vs_now() >= p->late_at) {
            late = 1;
            break;
        }
        wait_change(p);
    }
    if (t0 > 0 && waited)
        *waited += vs_now() - t0;
    int rc = late ? VS_POOL_LATE : p->ready[slot] && !atomic_load(&p->stop) ? 0 : -1;
    pthread_mutex_unlock(&p->lock);
    return rc;
}

void vs_pool_done(vs_pool *p, int64_t k)
{
    pthread_mutex_lock(&p->lock);
    p->ready[vs_pool_slot(p, k)] = 0;
    p->done = k + 1;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
}

void vs_pool_stop(vs_pool *p)
{
    pthread_mutex_lock(&p->lock);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
}

int vs_pool_stopped(vs_pool *p)
{
    return atomic_load(&p->stop);
}
