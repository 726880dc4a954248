/*
 * pool.h: the ordered, bounded hand-over between worker threads and one
 * consumer, shared by the render engine and convert.
 *
 * Workers claim item indices in contiguous runs of `chunk` (so a worker
 * whose items read a file reads it forward), produce each item into the
 * caller's slot vs_pool_slot(k) and mark it ready; the consumer takes items
 * strictly in index order. No worker may start item k until k is inside the
 * window (k < done + window), which bounds memory whatever the number of
 * items and cannot deadlock: the oldest item not yet done is always inside
 * the window. The caller owns the slot storage (capacity entries); the pool
 * only says which slot is whose and when it is ready.
 */
#ifndef VS_POOL_H
#define VS_POOL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

typedef struct vs_pool vs_pool;

/* With lock held: pthread_cond_timedwait for at most ms milliseconds (the
 * waits that also poll a flag a signal handler sets). */
void vs_cond_wait_ms(pthread_cond_t *cond, pthread_mutex_t *lock, int ms);

/* A worker's current run of claimed indices. Start with {0}. */
typedef struct vs_pool_run {
    int64_t next, end;
} vs_pool_run;

/* Items [first, end); capacity slots; window starts at capacity. signalled
 * (may be NULL) is polled while waiting: when it is non-zero, everything
 * stops as if vs_pool_stop was called. NULL when out of memory. */
vs_pool *vs_pool_new(int64_t first, int64_t end, int capacity, int chunk, atomic_int *signalled);
void vs_pool_free(vs_pool *p);
/* The caller's slot index for item k: (k - first) % capacity. */
int vs_pool_slot(const vs_pool *p, int64_t k);
/* Items allowed in flight from now on (1..capacity): grows with the workers. */
void vs_pool_set_window(vs_pool *p, int window);

/* A worker thread joins before it starts (so the consumer knows someone
 * may still produce) and leaves when it ends, whatever happened. */
void vs_pool_join(vs_pool *p);
void vs_pool_leave(vs_pool *p);
/* Worker: the next item to produce, after waiting (adding the seconds to
 * *waited, if given) until it is inside the window; -1 when every item is
 * claimed or the pool stopped. */
int64_t vs_pool_claim(vs_pool *p, vs_pool_run *run, double *waited);
/* Worker: item k is in its slot. */
void vs_pool_put(vs_pool *p, int64_t k);
/* Worker: item k failed and its slot says why (put, as the consumer reports
 * it when it gets there). No item after the first failed one is handed out
 * from now on, and the items before it get grace seconds from the first
 * failure to come: a take of one that is still missing then returns
 * VS_POOL_LATE, so a stuck earlier item cannot hide the failure. */
void vs_pool_put_failed(vs_pool *p, int64_t k, double grace);
/* The first item that failed (vs_pool_put_failed), or -1. */
int64_t vs_pool_first_failed(vs_pool *p);

#define VS_POOL_LATE (-2)
/* Consumer: waits for item k, the next in order (adding the seconds to
 * *waited, if given); 0 when it is in its slot, -1 when the pool stopped or
 * every worker left without producing it, VS_POOL_LATE when a later item
 * failed and k did not come within its grace. */
int vs_pool_take(vs_pool *p, int64_t k, double *waited);
/* Consumer: done with item k; its slot may be reused. */
void vs_pool_done(vs_pool *p, int64_t k);

/* Any thread: stop everything; claims and takes return -1 from now on. */
void vs_pool_stop(vs_pool *p);
int vs_pool_stopped(vs_pool *p);

#endif
