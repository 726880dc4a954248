/* check.h: TAP-style checks for the C tests ("ok N cond" / "not ok N cond
 * (line L): last error"); scripts/run-tests counts the "ok" lines and a
 * test fails by exiting non-zero: return check_status() from main. Also
 * the tests' fixtures: a scratch folder with its own probe cache, removed
 * at exit, and small clips made with the project's encoder. */
#ifndef VS_TEST_CHECK_H
#define VS_TEST_CHECK_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

#include "vstudio.h"

static int check_failures;
static int check_count;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        check_count++;                                                                             \
        if (cond)                                                                                  \
            printf("ok %d %s\n", check_count, #cond);                                              \
        else {                                                                                     \
            printf("not ok %d %s (line %d): %s\n", check_count, #cond, __LINE__, vs_last_error()); \
            check_failures++;                                                                      \
        }                                                                                          \
    } while (0)

/* Prints the tally; the exit status for main. */
static inline int check_status(void)
{
    printf("%d checks, %d failed\n", check_count, check_failures);
    return check_failures ? 1 : 0;
}

static char check_dir[64];

static int check_remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* At exit, after the probe cache (opened later, so its atexit runs first) is closed. */
static void check_remove_dir(void)
{
    nftw(check_dir, check_remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* A fresh folder under /tmp named after the test, removed at exit; the
 * probe cache goes there too (never the user's). NULL on failure. */
static inline const char *check_tmpdir(const char *name)
{
    snprintf(check_dir, sizeof check_dir, "/tmp/vstudio-%s.XXXXXX", name);
    if (!mkdtemp(check_dir)) {
        perror("mkdtemp");
        return NULL;
    }
    atexit(check_remove_dir);
    char cache[128];
    snprintf(cache, sizeof cache, "%s/cache", check_dir);
    setenv("XDG_CACHE_HOME", cache, 1);
    return check_dir;
}

/* Writes an H.264 clip of frames w x h to path, frame i drawn by
 * draw(frame, i, ctx), a keyframe every 12 frames; 0, or -1. */
static inline int check_make_video(const char *path, int w, int h, int frames,
                                   void (*draw)(vs_frame *f, int i, void *ctx), void *ctx)
{
    vs_encoder_options o;
    vs_encoder_options_init(&o);
    o.preset = "ultrafast";
    o.gop = 12;
    o.quiet = 1;
    vs_encoder *enc = vs_encoder_open(path, w, h, &o);
    vs_frame *f = vs_frame_new(w, h);
    int rc = enc && f ? 0 : -1;
    for (int i = 0; rc == 0 && i < frames; i++) {
        draw(f, i, ctx);
        rc = vs_encoder_push(enc, f);
    }
    vs_frame_free(f);
    if (rc == 0)
        return vs_encoder_close(enc);
    vs_encoder_abort(enc);
    return -1;
}

#endif
