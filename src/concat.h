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

/*
 * The encoder settings a join must agree on travel with each part as one
 * "key=value ..." string in a tag of its video stream: encode.c writes it,
 * the check pass here compares it, because VP9 and MPEG-4 headers do not
 * record quality. MP4 and MOV keep no free-form stream tags, only the
 * track's handler name, so there the string goes into handler_name behind
 * the prefix "vstudio_encoder "; MOV stores that name with a one-byte
 * length, hence VS_SETTINGS_MAX.
 */
#define VS_SETTINGS_TAG "vstudio_encoder"
#define VS_SETTINGS_MAX 200
struct AVStream;
struct AVOutputFormat;
/* Tags st (about to be muxed by of) with settings; 0, or -1 when out of memory. */
int vs_settings_tag_set(struct AVStream *st, const struct AVOutputFormat *of, const char *settings);
/* The settings a part's video stream carries, or NULL (not made by vstudio). */
const char *vs_settings_tag_get(const struct AVStream *st);

int vs_concat_run(const char *out, const char *const *parts, int n_parts, const vs_concat_job *job,
                  vs_concat_result *result);

#endif
