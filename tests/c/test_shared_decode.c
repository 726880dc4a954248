/* test_shared_decode.c: handles on one shared decoder (vs_decoder_open_shared,
 * as the render engine's workers use it) from several threads at once, each
 * walking the frames in interleaved chunks as render workers claim them,
 * get exactly the frames a private sequential decode gives, with B-frames
 * in the stream. Run under ThreadSanitizer by `make tsan`. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "vstudio.h"

enum { W = 48, H = 32, FRAMES = 60, THREADS = 3, CHUNK = 4 };

static const char *dir;
static char path[300];
static uint64_t want[FRAMES];

static uint64_t hash_frame(const vs_frame *f)
{
    uint64_t h = 1469598103934665603ull;
    for (int y = 0; y < f->height; y++)
        for (int x = 0; x < f->width * 4; x++)
            h = (h ^ f->data[(size_t)y * f->stride + x]) * 1099511628211ull;
    return h;
}

static void draw_frame(vs_frame *f, int i, void *ctx)
{
    (void)ctx;
    vs_frame_fill(f, (uint8_t)(4 * i), 90, (uint8_t)(250 - 3 * i), 255);
    for (int x = 0; x < W; x++) /* a moving bar: motion for the B-frames */
        f->data[(size_t)((i % H) * f->stride) + x * 4] = 255;
}

struct walker {
    int index;
    int wrong, failed, frames;
};

/* Worker k takes chunks k, k + THREADS, ... (as the engine hands them out). */
static void *walk(void *arg)
{
    struct walker *w = arg;
    vs_decoder *d = vs_decoder_open_shared(path, 0);
    vs_frame *f = vs_frame_new(W, H);
    if (!d || !f) {
        w->failed++;
    } else {
        for (int c = w->index * CHUNK; c < FRAMES; c += THREADS * CHUNK)
            for (int i = c; i < c + CHUNK && i < FRAMES; i++) {
                if (vs_decoder_frame(d, i, f) < 0)
                    w->failed++;
                else if (hash_frame(f) != want[i])
                    w->wrong++;
                w->frames++;
            }
    }
    vs_frame_free(f);
    vs_decoder_close(d);
    return NULL;
}

int main(void)
{
    if (!(dir = check_tmpdir("test-shared")))
        return 1;
    snprintf(path, sizeof path, "%s/clip.mp4", dir);
    CHECK(check_make_video(path, W, H, FRAMES, draw_frame, NULL) == 0);

    /* the oracle: a private decoder, front to back */
    vs_decoder *seq = vs_decoder_open(path, 1);
    vs_frame *f = vs_frame_new(W, H);
    int n = 0;
    while (seq && f && n < FRAMES && vs_decoder_next(seq, f) == 0)
        want[n++] = hash_frame(f);
    CHECK(n == FRAMES);
    vs_decoder_close(seq);

    for (int round = 0; round < 3; round++) {
        struct walker w[THREADS] = {{0}};
        pthread_t t[THREADS];
        for (int k = 0; k < THREADS; k++) {
            w[k].index = k;
            pthread_create(&t[k], NULL, walk, &w[k]);
        }
        int wrong = 0, failed = 0, frames = 0;
        for (int k = 0; k < THREADS; k++) {
            pthread_join(t[k], NULL);
            wrong += w[k].wrong;
            failed += w[k].failed;
            frames += w[k].frames;
        }
        CHECK(failed == 0);
        CHECK(wrong == 0);
        CHECK(frames == FRAMES);
    }

    /* two handles share one core but not a position */
    vs_decoder *a = vs_decoder_open_shared(path, 0), *b = vs_decoder_open_shared(path, 0);
    vs_probe_info info;
    CHECK(a && b && vs_decoder_info(b, &info) == 0 && info.frames == FRAMES);
    int ok = a && b;
    for (int i = 0; ok && i < 5; i++)
        ok = vs_decoder_next(a, f) == 0 && hash_frame(f) == want[i];
    ok = ok && vs_decoder_next(b, f) == 0 && hash_frame(f) == want[0];
    ok = ok && vs_decoder_frame(b, FRAMES - 1, f) == 0 && hash_frame(f) == want[FRAMES - 1];
    ok = ok && vs_decoder_next(a, f) == 0 && hash_frame(f) == want[5];
    CHECK(ok);
    CHECK(a && vs_decoder_frame(a, FRAMES, f) < 0 && strstr(vs_last_error(), "out of range"));
    vs_decoder_close(a);
    vs_decoder_close(b);
    /* a path that does not open: no core is left behind to hand out */
    char missing[320];
    snprintf(missing, sizeof missing, "%s/missing.mp4", dir);
    CHECK(vs_decoder_open_shared(missing, 0) == NULL);
    CHECK(vs_decoder_open_shared(missing, 0) == NULL);
    vs_frame_free(f);
    return check_status();
}
