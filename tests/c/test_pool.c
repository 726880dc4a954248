/* test_pool.c: the ordered window shared by the render engine and convert
 * (src/pool.h): items come out in order whatever the workers' timing, no
 * worker runs past the window, and stopping (a call, a signal flag, every
 * worker gone) wakes every waiter. Run under ThreadSanitizer by `make tsan`. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "check.h"
#include "pool.h"

enum { FIRST = 5, END = 2005, CAPACITY = 12, CHUNK = 3, WORKERS = 4 };

struct shared {
    vs_pool *pool;
    int64_t slots[CAPACITY];
    atomic_llong done;        /* consumer's progress, as the workers see it */
    atomic_int past_window;   /* claims beyond done + window */
    atomic_int out_of_run;    /* a worker's claims not contiguous within a chunk */
    int window;
};

static void nap(unsigned seed)
{
    struct timespec ts = {0, (long)(seed % 7) * 20000};
    nanosleep(&ts, NULL);
}

static void *worker(void *arg)
{
    struct shared *s = arg;
    vs_pool_run run = {0};
    int64_t k, prev = -1;
    while ((k = vs_pool_claim(s->pool, &run, NULL)) >= 0) {
        if (k >= atomic_load(&s->done) + s->window)
            atomic_fetch_add(&s->past_window, 1);
        if (prev >= 0 && (k - FIRST) % CHUNK != 0 && k != prev + 1)
            atomic_fetch_add(&s->out_of_run, 1);
        prev = k;
        nap((unsigned)(k * 2654435761u));
        s->slots[vs_pool_slot(s->pool, k)] = k * k;
        vs_pool_put(s->pool, k);
    }
    vs_pool_leave(s->pool);
    return NULL;
}

static void ordered_and_bounded(void)
{
    struct shared s = {.window = 8};
    s.pool = vs_pool_new(FIRST, END, CAPACITY, CHUNK, NULL);
    CHECK(s.pool != NULL);
    vs_pool_set_window(s.pool, s.window);
    atomic_store(&s.done, FIRST);
    pthread_t t[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        vs_pool_join(s.pool);
        pthread_create(&t[i], NULL, worker, &s);
    }
    int in_order = 1;
    int64_t k;
    for (k = FIRST; k < END; k++) {
        if (vs_pool_take(s.pool, k, NULL) < 0)
            break;
        if (s.slots[vs_pool_slot(s.pool, k)] != k * k)
            in_order = 0;
        atomic_store(&s.done, k + 1);
        vs_pool_done(s.pool, k);
    }
    for (int i = 0; i < WORKERS; i++)
        pthread_join(t[i], NULL);
    CHECK(k == END);
    CHECK(in_order);
    CHECK(atomic_load(&s.past_window) == 0);
    CHECK(atomic_load(&s.out_of_run) == 0);
    /* every worker left after the last item: nothing more to take */
    CHECK(vs_pool_take(s.pool, END, NULL) == -1);
    vs_pool_free(s.pool);
}

static void *claim_forever(void *arg)
{
    vs_pool *p = arg;
    vs_pool_run run = {0};
    int64_t k;
    while ((k = vs_pool_claim(p, &run, NULL)) >= 0)
        vs_pool_put(p, k); /* the consumer never takes: the window fills */
    vs_pool_leave(p);
    return NULL;
}

/* Workers blocked on a full window and a consumer waiting for an item no
 * one makes all wake when the pool stops, or when a signal arrives. */
static void stops(int by_signal)
{
    atomic_int signalled = 0;
    vs_pool *p = vs_pool_new(0, 1000000, 4, 1, &signalled);
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        vs_pool_join(p);
        pthread_create(&t[i], NULL, claim_forever, p);
    }
    CHECK(vs_pool_take(p, 0, NULL) == 0); /* item 0 came, but is never done */
    struct timespec ts = {0, 100 * 1000000};
    nanosleep(&ts, NULL);
    if (by_signal)
        atomic_store(&signalled, 2);
    else
        vs_pool_stop(p);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL); /* hangs here if a blocked claim never woke */
    CHECK(vs_pool_stopped(p));
    CHECK(vs_pool_take(p, 1, NULL) == -1);
    vs_pool_free(p);
}

/* A failed item: nothing after it is handed out, and the consumer waiting
 * for an earlier item that never comes gets VS_POOL_LATE after the grace
 * (single-threaded: one worker's claims, the consumer's take). */
static void failed_item_cuts_and_bounds_the_wait(void)
{
    vs_pool *p = vs_pool_new(0, 100, 16, 4, NULL);
    vs_pool_join(p);
    vs_pool_run early = {0}, late = {0};
    CHECK(vs_pool_claim(p, &early, NULL) == 0); /* items 0..3: never put, as if stuck */
    CHECK(vs_pool_first_failed(p) == -1);
    CHECK(vs_pool_claim(p, &late, NULL) == 4);
    CHECK(vs_pool_claim(p, &late, NULL) == 5);
    vs_pool_put(p, 4);
    vs_pool_put_failed(p, 5, 0.2);
    CHECK(vs_pool_first_failed(p) == 5);
    CHECK(vs_pool_claim(p, &late, NULL) == -1); /* 6 comes after the failed 5 */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(vs_pool_take(p, 0, NULL) == VS_POOL_LATE);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double waited = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
    CHECK(waited > 0.1 && waited < 2.0);
    CHECK(!vs_pool_stopped(p)); /* the caller decides what a late item means */
    vs_pool_leave(p);
    vs_pool_free(p);
}

int main(void)
{
    ordered_and_bounded();
    stops(0);
    stops(1);
    failed_item_cuts_and_bounds_the_wait();
    return check_status();
}
