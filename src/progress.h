/*
 * progress.h: one progress line on stderr for long work (frames, rate,
 * ETA) and nothing else: a bar redrawn in place on a terminal, a plain line
 * every few seconds when asked for on a pipe, silence when quiet.
 */
#ifndef VS_PROGRESS_H
#define VS_PROGRESS_H

#include <stdint.h>

#include "vstudio.h" /* vs_progress_mode */

typedef struct vs_progress vs_progress;

/* label: what is counted ("frames"); total: 0 if unknown. */
vs_progress *vs_progress_start(const char *label, int64_t total, vs_progress_mode mode);
/* Cheap to call often: redraws at most a few times a second. Thread-safe. */
void vs_progress_update(vs_progress *p, int64_t done);
/* Clears the bar; frees p. Safe on NULL. */
void vs_progress_finish(vs_progress *p);
/* Seconds on a monotonic clock, for timing stages. */
double vs_now(void);

#endif
