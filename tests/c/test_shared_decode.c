/* test_shared_decode.c: handles on one shared decoder (vs_decoder_open_shared,
 * as the render engine's workers use it) from several threads at once, each
 * walking the frames in interleaved chunks as render workers claim them,
 * get exactly the frames a private sequential decode gives, with B-frames
 * in the stream; the last GOP of an MPEG-TS with B-frames (seeks by decode
 * timestamp) from handles on several threads; time to frame in a VFR video
 * through a handle; two workers drawing a crossfade of two trims of one
 * video (two places at once, as the MoviePy-like benchmark does) decode
 * each frame about once; read at four places, the core keeps a bounded
 * ring. Run under ThreadSanitizer by `make tsan`. */
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

/* Runs fn on THREADS walkers at once; their sums into *total. */
static void run_walkers(void *(*fn)(void *), struct walker *total)
{
    struct walker w[THREADS] = {{0}};
    pthread_t t[THREADS];
    for (int k = 0; k < THREADS; k++) {
        w[k].index = k;
        pthread_create(&t[k], NULL, fn, &w[k]);
    }
    memset(total, 0, sizeof *total);
    for (int k = 0; k < THREADS; k++) {
        pthread_join(t[k], NULL);
        total->wrong += w[k].wrong;
        total->failed += w[k].failed;
        total->frames += w[k].frames;
    }
}

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

/* An MPEG-TS with B-frames, and a VFR MKV (30 fps, a 2 s pause, 30 fps), by ffmpeg. */
static int ffmpeg(const char *args, const char *out)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "ffmpeg -v error -y -f lavfi -i testsrc=size=64x48:rate=30 %s '%s' </dev/null", args,
             out);
    return system(cmd);
}

static char ts_path[300];
static uint64_t ts_want[150];

/* Handle k asks the last GOP's frames from the end backwards, each k-th. */
static void *walk_last_gop(void *arg)
{
    struct walker *w = arg;
    vs_decoder *d = vs_decoder_open_shared(ts_path, 0);
    vs_frame *f = vs_frame_new(64, 48);
    if (!d || !f) {
        w->failed++;
    } else {
        for (int i = 149 - w->index; i >= 120; i -= THREADS) {
            if (vs_decoder_frame(d, i, f) < 0)
                w->failed++;
            else if (hash_frame(f) != ts_want[i])
                w->wrong++;
            w->frames++;
        }
    }
    vs_frame_free(f);
    vs_decoder_close(d);
    return NULL;
}

static void test_ts_and_vfr(void)
{
    snprintf(ts_path, sizeof ts_path, "%s/last_gop.ts", dir);
    CHECK(ffmpeg("-frames:v 150 -c:v libx264 -bf 3 -g 30", ts_path) == 0);
    vs_decoder *seq = vs_decoder_open(ts_path, 1);
    vs_frame *f = vs_frame_new(64, 48);
    int n = 0;
    while (seq && f && n < 150 && vs_decoder_next(seq, f) == 0)
        ts_want[n++] = hash_frame(f);
    CHECK(n == 150);
    vs_decoder_close(seq);
    struct walker sum;
    run_walkers(walk_last_gop, &sum);
    CHECK(sum.failed == 0 && sum.wrong == 0 && sum.frames == 30);

    char vfr[300];
    snprintf(vfr, sizeof vfr, "%s/vfr.mkv", dir);
    CHECK(ffmpeg("-frames:v 60 -vf \"setpts='if(gte(N,30),N+60,N)/(30*TB)'\" -fps_mode vfr -c:v libx264 -bf 2", vfr) ==
          0);
    vs_decoder *h = vs_decoder_open_shared(vfr, 0);
    vs_probe_info info;
    int64_t at[5] = {-1, -1, -1, -1, -1};
    CHECK(h && vs_decoder_info(h, &info) == 0 && info.vfr && info.frames == 60);
    CHECK(h && vs_decoder_index_at(h, 0, &at[0]) == 0 && vs_decoder_index_at(h, 0.99, &at[1]) == 0 &&
          vs_decoder_index_at(h, 2.5, &at[2]) == 0 && vs_decoder_index_at(h, 3.0, &at[3]) == 0 &&
          vs_decoder_index_at(h, 100, &at[4]) == 0);
    CHECK(at[0] == 0 && at[1] == 29 && at[2] == 29 && at[3] == 30 && at[4] == 59);
    CHECK(h && vs_decoder_index_at(h, -1, &at[0]) < 0);
    vs_decoder_close(h);
    vs_frame_free(f);
}

/* ---- a crossfade of two trims of one video, as two render workers draw it ----
 * a = frames 0..99, b = frames 50 + floor(1.5 j) (67 frames), 15 frames
 * of overlap: 152 output frames. Workers claim chunks of CHUNK in order,
 * at most XF_WINDOW chunks ahead of the oldest unfinished one (the engine's
 * bounded window). */
enum { XF_FRAMES = 152, XF_START = 85, XF_CHUNKS = (XF_FRAMES + CHUNK - 1) / CHUNK, XF_WINDOW = 5 };
static char xf_path[300];
static uint64_t xf_want[150];
static pthread_mutex_t xf_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t xf_moved = PTHREAD_COND_INITIALIZER;
static int xf_claimed, xf_low, xf_done[XF_CHUNKS];

static int xf_claim(void)
{
    pthread_mutex_lock(&xf_lock);
    while (xf_claimed < XF_CHUNKS && xf_claimed >= xf_low + XF_WINDOW)
        pthread_cond_wait(&xf_moved, &xf_lock);
    int c = xf_claimed < XF_CHUNKS ? xf_claimed++ : -1;
    pthread_mutex_unlock(&xf_lock);
    return c;
}

static void xf_finish(int c)
{
    pthread_mutex_lock(&xf_lock);
    xf_done[c] = 1;
    while (xf_low < XF_CHUNKS && xf_done[xf_low])
        xf_low++;
    pthread_cond_broadcast(&xf_moved);
    pthread_mutex_unlock(&xf_lock);
}

static void xf_check(vs_decoder *d, vs_frame *f, int64_t i, struct walker *w)
{
    if (vs_decoder_frame(d, i, f) < 0)
        w->failed++;
    else if (hash_frame(f) != xf_want[i])
        w->wrong++;
}

static void *walk_crossfade(void *arg)
{
    struct walker *w = arg;
    vs_decoder *d = vs_decoder_open_shared(xf_path, 0);
    vs_frame *f = vs_frame_new(64, 48);
    for (int c; (c = xf_claim()) >= 0; xf_finish(c))
        for (int k = c * CHUNK; d && f && k < c * CHUNK + CHUNK && k < XF_FRAMES; k++) {
            if (k < 100)
                xf_check(d, f, k, w);
            if (k >= XF_START)
                xf_check(d, f, 50 + (k - XF_START) * 3 / 2, w);
            w->frames++;
        }
    if (!d || !f)
        w->failed++;
    vs_frame_free(f);
    vs_decoder_close(d);
    return NULL;
}

static void test_two_places(void)
{
    snprintf(xf_path, sizeof xf_path, "%s/two_places.mp4", dir);
    CHECK(ffmpeg("-frames:v 150 -c:v libx264 -bf 3 -g 30", xf_path) == 0);
    vs_decoder *seq = vs_decoder_open(xf_path, 1);
    vs_frame *f = vs_frame_new(64, 48);
    int n = 0;
    while (seq && f && n < 150 && vs_decoder_next(seq, f) == 0)
        xf_want[n++] = hash_frame(f);
    CHECK(n == 150);
    vs_decoder_close(seq);
    vs_frame_free(f);
    /* a handle held across the walk keeps the core (and its counts) alive */
    vs_decoder *keep = vs_decoder_open_shared(xf_path, 0);
    struct walker w[2] = {{0}};
    pthread_t t[2];
    for (int k = 0; k < 2; k++)
        pthread_create(&t[k], NULL, walk_crossfade, &w[k]);
    for (int k = 0; k < 2; k++)
        pthread_join(t[k], NULL);
    CHECK(w[0].failed + w[1].failed == 0 && w[0].wrong + w[1].wrong == 0);
    CHECK(w[0].frames + w[1].frames == XF_FRAMES);
    /* a: 0..99; b: 30..149 from its keyframe; one place would seek back a
     * GOP at every overlap frame and at every switch between the workers */
    vs_decoder_stats st = {0};
    CHECK(keep && vs_decoder_get_stats(keep, &st) == 0);
    printf("# two places: decoded %lld, seeks %lld, cursors %lld\n", (long long)st.decoded, (long long)st.seeks,
           (long long)st.cursors);
    CHECK(st.decoded >= 150 && st.decoded <= 260);
    CHECK(st.cursors >= 2 && st.cursors <= 4);
    vs_decoder_close(keep);
}

/* One handle reading four places in turn (a four-clip edit of one video):
 * every frame exact, and the core's ring of decoded frames holds at most
 * 64 of them, however many places it decodes at (a window per place would
 * hold 80 on 2 cores, 1 GB of 4K frames). Needs test_two_places' video. */
static void test_four_places(void)
{
    vs_decoder *d = vs_decoder_open_shared(xf_path, 0);
    vs_frame *f = vs_frame_new(64, 48);
    int wrong = 0, failed = !d || !f;
    for (int step = 0; !failed && step < 30; step++)
        for (int place = 0; place < 4; place++) {
            int64_t i = place * 37 + step;
            if (vs_decoder_frame(d, i, f) < 0)
                failed++;
            else if (hash_frame(f) != xf_want[i])
                wrong++;
        }
    CHECK(failed == 0 && wrong == 0);
    vs_decoder_stats st = {0};
    CHECK(d && vs_decoder_get_stats(d, &st) == 0);
    printf("# four places: decoded %lld, seeks %lld, cursors %lld, held %lld, at most %lld\n", (long long)st.decoded,
           (long long)st.seeks, (long long)st.cursors, (long long)st.held, (long long)st.held_most);
    CHECK(st.cursors >= 3 && st.cursors <= 4);
    CHECK(st.held_most <= 64 && st.held <= st.held_most);
    CHECK(st.held_most >= 24); /* more than one place's frames: the ring is the core's */
    vs_frame_free(f);
    vs_decoder_close(d);
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
        struct walker sum;
        run_walkers(walk, &sum);
        CHECK(sum.failed == 0);
        CHECK(sum.wrong == 0);
        CHECK(sum.frames == FRAMES);
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
    test_ts_and_vfr();
    test_two_places();
    test_four_places();
    return check_status();
}
