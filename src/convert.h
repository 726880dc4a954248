/*
 * convert.h: frame folders to videos, the engine behind `vstudio convert`.
 */
#ifndef VS_CONVERT_H
#define VS_CONVERT_H

#include <stdatomic.h>
#include <signal.h>
#include <stdint.h>

/* What convert does with a frame whose size differs from the first frame's
 * (the number is part of an output's settings stamp: keep the values). */
typedef enum vs_resize_mode {
    VS_RESIZE_NONE = 0, /* none: the frame is an error, as an unreadable one is */
    VS_RESIZE_FIT = 1,  /* scaled to fit inside, the rest background */
    VS_RESIZE_FILL = 2, /* scaled to cover, the overflow cropped */
    VS_RESIZE_PAD = 3   /* kept at its size, centred on background (cropped if larger) */
} vs_resize_mode;

typedef struct vs_convert_options {
    int fps_num, fps_den;      /* 30/1 by default */
    int crf;                   /* -1: the encoder's default */
    const char *preset;        /* NULL: the encoder's default */
    const char *codec;         /* NULL: libx264 */
    const char *sort;          /* NULL: natural */
    int workers;               /* decode threads per folder; 0: auto */
    int jobs;                  /* folders at once; 0: auto */
    int skip_bad;              /* leave out unreadable frames instead of failing */
    int force;                 /* redo outputs that are already complete */
    int dry_run;               /* print the plan, convert nothing */
    vs_resize_mode resize;     /* frames of another size: VS_RESIZE_NONE by default */
    uint8_t background[3];     /* under transparent pixels and around fitted frames */
    int progress;              /* 1: progress line on stderr */
    int quiet;                 /* 1: no summary, only errors */
    const char *captions;      /* a caption file burnt onto every video (at frame i's time), NULL for none */
    int audio_channels;        /* the soundtracks' channels, 1..8; 0: each soundtrack's own (at most 8) */
} vs_convert_options;

typedef struct vs_convert_task {
    const char *dir;           /* the frame folder */
    const char *out;           /* the video to write */
    const char *audio;         /* its soundtrack (any file with sound), cut or padded with silence
                                  to the picture's length; NULL: no sound */
} vs_convert_task;

void vs_convert_options_init(vs_convert_options *o);
/* Converts every task (longest first, o->jobs at a time) and prints the
 * summary. Returns the exit status: 0 all converted or up to date, 1 any
 * failure, 128 + signal when *stop became non-zero (Ctrl-C). */
int vs_convert_batch(const vs_convert_task *tasks, int n, const vs_convert_options *o,
                     atomic_int *stop);

#endif
