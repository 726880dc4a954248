/*
 * concat.h: the cancellable form of vs_concat for the command line, which
 * stops on SIGINT/SIGTERM and shows which part it is copying.
 */
#ifndef VS_CONCAT_H
#define VS_CONCAT_H

#include <stdatomic.h>
#include <signal.h>

#include "vstudio.h"

typedef struct vs_concat_job {
    const atomic_int *stop;            /* non-zero: give up (removes OUT.part) */
    void (*on_part)(void *ctx, int index, int n); /* called before part index (0-based) is copied */
    void *ctx;
} vs_concat_job;

int vs_concat_run(const char *out, const char *const *parts, int n_parts, const vs_concat_job *job,
                  vs_concat_result *result);

#endif
