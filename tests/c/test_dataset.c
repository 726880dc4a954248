/* test_dataset.c: the dataset's worker threads through its C API
 * (src/dataset.c): videos and an image folder made here, decoded by several
 * workers; every selected frame comes exactly once with its source, index
 * and pixels, in the same order every run, in full batches but the last,
 * as frames or written straight into arrays;
 * shards split the frames without gap or overlap; stopping, freeing a
 * running dataset and a worker's error all end cleanly; map runs Lua on the
 * workers. Run under ThreadSanitizer by `make tsan` (the dataset specs run
 * in a plain luajit, uninstrumented). */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "vstudio.h"

enum { W = 32, H = 24, NSRC = 4, MAXF = 16 };

/* Sources in add order: three videos and a folder of four PNGs. */
static const int nframes[NSRC] = {10, 4, 7, 13};
static const int is_video[NSRC] = {1, 0, 1, 1};
/* Natural order: 8, 9, 10, 11 (plain name order would put 10 and 11 first). */
static const int image_names[] = {10, 8, 11, 9};
static const char *dir;
static char paths[NSRC][300];

/* Every frame is one flat colour that names it. */
static int red(int index) { return 16 + 12 * index; }
static int green(int source) { return 40 + 50 * source; }

static int near(int got, int want) { return got >= want - 5 && got <= want + 5; }

static int pixel_ok(const vs_frame *f, int source, int64_t index)
{
    const uint8_t *p = f->data + (size_t)(f->height / 2) * f->stride + (size_t)(f->width / 2) * 4;
    return f->width == W && f->height == H && near(p[0], red((int)index)) && near(p[1], green(source)) &&
           near(p[2], 128);
}

static void draw_frame(vs_frame *f, int i, void *source)
{
    vs_frame_fill(f, (uint8_t)red(i), (uint8_t)green(*(int *)source), 128, 255);
}

static int make_images(const char *folder, int source)
{
    vs_frame *f = vs_frame_new(W, H);
    int rc = f && mkdir(folder, 0755) == 0 ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < sizeof image_names / sizeof *image_names; i++) {
        char file[300];
        snprintf(file, sizeof file, "%.256s/%d.png", folder, image_names[i]);
        /* frame k of the folder is number 8 + k */
        vs_frame_fill(f, (uint8_t)red(image_names[i] - 8), (uint8_t)green(source), 128, 255);
        rc = vs_image_save(f, file, 0);
    }
    vs_frame_free(f);
    return rc;
}

static vs_dataset *open_dataset(const vs_dataset_options *o)
{
    vs_dataset *ds = vs_dataset_new(o);
    for (int s = 0; ds && s < NSRC; s++)
        if (vs_dataset_add(ds, paths[s], -1, -1) < 0) {
            vs_dataset_free(ds);
            return NULL;
        }
    return ds;
}

static vs_dataset *open_default(void)
{
    vs_dataset_options o;
    vs_dataset_options_init(&o);
    return open_dataset(&o);
}

typedef struct seen {
    int count[NSRC][MAXF];  /* deliveries of each (source, index) */
    int32_t src[NSRC * MAXF];
    int64_t idx[NSRC * MAXF];
    int n;                  /* frames delivered, in order */
    int bad_pixels, bad_batches, out_of_range;
    int batches, last_batch;
} seen;

/* Takes every batch (at most `limit`, -1 for all); returns the last vs_dataset_next result. */
static int drain(vs_dataset *ds, int batch, int limit, seen *s)
{
    vs_frame *frames[64];
    int32_t sources[64];
    int64_t indices[64];
    memset(s, 0, sizeof *s);
    int n = 0;
    while (limit-- != 0 && (n = vs_dataset_next(ds, frames, sources, indices)) > 0) {
        if (s->last_batch != 0 && s->last_batch != batch)
            s->bad_batches++; /* a short batch that was not the last */
        s->last_batch = n;
        s->batches++;
        for (int i = 0; i < n; i++) {
            if (sources[i] < 0 || sources[i] >= NSRC || indices[i] < 0 || indices[i] >= nframes[sources[i]]) {
                s->out_of_range++;
                continue;
            }
            s->count[sources[i]][indices[i]]++;
            if (s->n < NSRC * MAXF) {
                s->src[s->n] = sources[i];
                s->idx[s->n] = indices[i];
            }
            s->n++;
            if (!pixel_ok(frames[i], sources[i], indices[i]))
                s->bad_pixels++;
        }
    }
    return n;
}

/* The frames `every` selects, in ordinal order (sources in add order, then index). */
static int ordinals(int every, int32_t *src, int64_t *idx)
{
    int n = 0;
    for (int s = 0; s < NSRC; s++)
        for (int i = 0; i < nframes[s]; i += every, n++)
            src[n] = s, idx[n] = i;
    return n;
}

/* Exactly the frames of ordinals [lo, hi), each once. */
static int exactly(const seen *s, int lo, int hi, const int32_t *src, const int64_t *idx)
{
    int want[NSRC][MAXF] = {{0}};
    for (int k = lo; k < hi; k++)
        want[src[k]][idx[k]] = 1;
    for (int a = 0; a < NSRC; a++)
        for (int i = 0; i < MAXF; i++)
            if (s->count[a][i] != want[a][i])
                return 0;
    return s->n == hi - lo && s->out_of_range == 0;
}

/* Within the stream, each source's frames come in ascending index order. */
static int ascending_per_source(const seen *s)
{
    int64_t last[NSRC] = {-1, -1, -1, -1};
    for (int k = 0; k < s->n; k++) {
        if (s->idx[k] <= last[s->src[k]])
            return 0;
        last[s->src[k]] = s->idx[k];
    }
    return 1;
}

static void every_frame_once(void)
{
    int32_t src[NSRC * MAXF];
    int64_t idx[NSRC * MAXF];
    int total = ordinals(1, src, idx);
    vs_dataset_options o;
    vs_dataset_options_init(&o);
    o.batch = 4;
    o.workers = 3;
    vs_dataset *ds = open_dataset(&o);
    CHECK(ds != NULL);
    if (!ds)
        return;
    CHECK(vs_dataset_sources(ds) == NSRC);
    CHECK(vs_dataset_count(ds) == total);
    int32_t worker_of[NSRC];
    CHECK(vs_dataset_plan(ds, 3, worker_of) == 3);

    static seen a, b, c;
    CHECK(vs_dataset_start(ds, 0) == 0);
    CHECK(drain(ds, o.batch, -1, &a) == 0);
    CHECK(exactly(&a, 0, total, src, idx));
    CHECK(a.bad_pixels == 0);
    CHECK(a.bad_batches == 0 && a.batches == (total + 3) / 4 && a.last_batch == total % 4);
    CHECK(ascending_per_source(&a));

    /* the same workers, the same order */
    CHECK(vs_dataset_start(ds, 0) == 0);
    drain(ds, o.batch, -1, &b);
    CHECK(b.n == a.n && memcmp(a.src, b.src, sizeof a.src) == 0 && memcmp(a.idx, b.idx, sizeof a.idx) == 0);

    /* other worker counts: the same frames in the same order (the lanes fix it) */
    for (int workers = 1; workers <= 2; workers++) {
        CHECK(vs_dataset_start(ds, workers) == 0);
        drain(ds, o.batch, -1, &c);
        CHECK(exactly(&c, 0, total, src, idx) && c.bad_pixels == 0);
        CHECK(c.n == a.n && memcmp(a.src, c.src, sizeof a.src) == 0 && memcmp(a.idx, c.idx, sizeof a.idx) == 0);
    }
    vs_dataset_free(ds);
}

/* Array runs: the workers write each frame into its batch's array, in the
 * frames run's order, as RGB bytes (nhwc) or float planes (nchw); a wait
 * with a timeout of 0 gives VS_DATASET_WAIT and loses nothing. */
static void arrays(void)
{
    vs_dataset_options o;
    vs_dataset_options_init(&o);
    o.batch = 4;
    o.workers = 3;
    vs_dataset *ds = open_dataset(&o);
    CHECK(ds != NULL);
    if (!ds)
        return;
    static seen want;
    CHECK(vs_dataset_start(ds, 0) == 0);
    drain(ds, o.batch, -1, &want);
    for (int mode = 0; mode < 2; mode++) {
        vs_npy_layout layout = mode ? VS_NPY_NCHW : VS_NPY_NHWC;
        vs_npy_dtype dtype = mode ? VS_NPY_FLOAT32 : VS_NPY_UINT8;
        CHECK(vs_dataset_start_arrays(ds, 2, layout, dtype, 3) == 0);
        int32_t sources[4];
        int64_t indices[4];
        void *array;
        int w = 0, h = 0, n, total = 0, order = 1, pixels = 0, waits = 0, sizes = 1;
        for (;;) {
            n = vs_dataset_next_array(ds, 0, &array, &w, &h, sources, indices);
            if (n == VS_DATASET_WAIT) {
                waits++;
                n = vs_dataset_next_array(ds, -1, &array, &w, &h, sources, indices);
            }
            if (n <= 0)
                break;
            sizes &= n == 4 || total + n == want.n;
            for (int i = 0; i < n; i++, total++) {
                order &= total < want.n && sources[i] == want.src[total] && indices[i] == want.idx[total];
                size_t at = (size_t)(H / 2) * W + W / 2, plane = (size_t)W * H;
                int r, g, b;
                if (mode) {
                    const float *f = (const float *)array + (size_t)i * 3 * plane;
                    r = (int)(f[at] * 255 + 0.5f), g = (int)(f[plane + at] * 255 + 0.5f),
                    b = (int)(f[2 * plane + at] * 255 + 0.5f);
                } else {
                    const uint8_t *p = (const uint8_t *)array + ((size_t)i * plane + at) * 3;
                    r = p[0], g = p[1], b = p[2];
                }
                pixels += !(near(r, red((int)indices[i])) && near(g, green(sources[i])) && near(b, 128));
            }
            vs_dataset_array_free(array);
        }
        CHECK(n == 0 && w == W && h == H && sizes);
        CHECK(total == want.n && order && pixels == 0);
        CHECK(waits <= total); /* a wait is a pause, not a lost batch */
    }
    /* a frames run's next does not read an array run, nor the other way */
    CHECK(vs_dataset_start_arrays(ds, 0, VS_NPY_NHWC, VS_NPY_UINT8, 2) == -1 &&
          strstr(vs_last_error(), "channels"));
    CHECK(vs_dataset_start_arrays(ds, 0, VS_NPY_NHWC, VS_NPY_UINT8, 3) == 0);
    vs_frame *frames[4];
    int32_t s4[4];
    int64_t i4[4];
    CHECK(vs_dataset_next(ds, frames, s4, i4) == -1 && strstr(vs_last_error(), "arrays"));
    vs_dataset_free(ds);
}

/* Three shards, every other frame, two workers each: contiguous ordinal
 * ranges, together all selected frames, sizes at most one apart. */
static void shards(void)
{
    int32_t src[NSRC * MAXF];
    int64_t idx[NSRC * MAXF];
    int total = ordinals(2, src, idx);
    int sum = 0, min = total, max = 0, all_exact = 1, pixels = 0, batches = 0;
    for (int i = 0; i < 3; i++) {
        vs_dataset_options o;
        vs_dataset_options_init(&o);
        o.batch = 3;
        o.workers = 2;
        o.every = 2;
        o.shard_index = i;
        o.shard_count = 3;
        vs_dataset *ds = open_dataset(&o);
        CHECK(ds != NULL);
        if (!ds)
            return;
        int n = (int)vs_dataset_count(ds);
        static seen s;
        CHECK(vs_dataset_start(ds, 0) == 0);
        drain(ds, o.batch, -1, &s);
        all_exact &= exactly(&s, total * i / 3, total * (i + 1) / 3, src, idx) && s.n == n;
        pixels += s.bad_pixels;
        batches += s.bad_batches;
        sum += n;
        min = n < min ? n : min;
        max = n > max ? n : max;
        vs_dataset_free(ds);
    }
    CHECK(all_exact);
    CHECK(pixels == 0 && batches == 0);
    CHECK(sum == total && max - min <= 1);
}

/* Resizing and gray run per worker (each its own swscale context). */
static void transforms(void)
{
    vs_dataset_options o;
    vs_dataset_options_init(&o);
    o.batch = 5;
    o.workers = 3;
    o.width = 16;
    o.height = 10;
    o.gray = 1;
    vs_dataset *ds = open_dataset(&o);
    CHECK(ds != NULL && vs_dataset_start(ds, 0) == 0);
    vs_frame *frames[5];
    int32_t sources[5];
    int64_t indices[5];
    int n, total = 0, bad = 0;
    while (ds && (n = vs_dataset_next(ds, frames, sources, indices)) > 0)
        for (int i = 0; i < n; i++, total++) {
            const uint8_t *p = frames[i]->data + (size_t)5 * frames[i]->stride + 8 * 4;
            bad += frames[i]->width != 16 || frames[i]->height != 10 || p[0] != p[1] || p[1] != p[2] ||
                   p[3] != 255;
        }
    CHECK(total == 34 && bad == 0);
    vs_dataset_free(ds);
}

static void nap(int ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* Workers waiting for their next reservation wake and are joined by stop and by free. */
static void stopping(void)
{
    vs_dataset_options o;
    vs_dataset_options_init(&o);
    o.batch = 2;
    o.workers = 3;
    vs_dataset *ds = open_dataset(&o);
    CHECK(ds != NULL);
    if (!ds)
        return;
    static seen s;
    CHECK(vs_dataset_start(ds, 0) == 0);
    CHECK(drain(ds, o.batch, 1, &s) == 2 && s.bad_pixels == 0);
    nap(50); /* let the window fill */
    vs_dataset_stop(ds);
    CHECK(vs_dataset_next(ds, NULL, NULL, NULL) == -1); /* not running */
    vs_dataset_stop(ds);                                 /* twice is harmless */

    /* a new run after a stop starts from the beginning */
    CHECK(vs_dataset_start(ds, 0) == 0);
    CHECK(drain(ds, o.batch, -1, &s) == 0 && s.n == 34 && s.bad_pixels == 0);

    /* freed while running, with and without a batch taken */
    CHECK(vs_dataset_start(ds, 0) == 0);
    drain(ds, o.batch, 2, &s);
    nap(50);
    vs_dataset_free(ds);
    ds = open_dataset(&o);
    CHECK(ds != NULL && vs_dataset_start(ds, 0) == 0);
    vs_dataset_free(ds);
}

/* A folder of `count` images, i.png coloured by i, whose image `cut` is cut short. */
static int make_cut_folder(const char *folder, int count, int cut)
{
    char file[420];
    vs_frame *f = vs_frame_new(W, H);
    int made = f && mkdir(folder, 0755) == 0;
    for (int i = 0; made && i < count; i++) {
        vs_frame_fill(f, (uint8_t)red(i), 0, 128, 255);
        snprintf(file, sizeof file, "%s/%d.png", folder, i);
        made = vs_image_save(f, file, 0) == 0;
    }
    vs_frame_free(f);
    snprintf(file, sizeof file, "%s/%d.png", folder, cut);
    return made && truncate(file, 60) == 0 ? 0 : -1;
}

/* A started dataset over the given folders. */
static vs_dataset *start_folders(const char *a, const char *b, int batch, int workers, int skip_errors)
{
    vs_dataset_options o;
    vs_dataset_options_init(&o);
    o.batch = batch;
    o.workers = workers;
    o.skip_errors = skip_errors;
    vs_dataset *ds = vs_dataset_new(&o);
    if (ds && (vs_dataset_add(ds, a, -1, -1) < 0 || (b && vs_dataset_add(ds, b, -1, -1) < 0) ||
               vs_dataset_start(ds, 0) < 0)) {
        vs_dataset_free(ds);
        return NULL;
    }
    return ds;
}

/* A broken image stops the run when the consumer reaches it, after the
 * frames before it; the other workers are joined. */
static void worker_error(void)
{
    char bad[400];
    snprintf(bad, sizeof bad, "%s/bad", dir);
    CHECK(make_cut_folder(bad, 3, 1) == 0);

    vs_dataset *ds = start_folders(paths[3], bad, 1, 2, 0);
    CHECK(ds != NULL);
    vs_frame *frames[1];
    int32_t sources[1];
    int64_t indices[1];
    int n = 0, from_bad = 0, first_came = 0;
    while (ds && (n = vs_dataset_next(ds, frames, sources, indices)) > 0)
        if (sources[0] == 1) {
            from_bad++;
            first_came |= indices[0] == 0;
        }
    CHECK(n == -1 && strstr(vs_last_error(), "1.png") != NULL);
    CHECK(from_bad == 1 && first_came); /* 0.png came, nothing after 1.png */
    vs_dataset_free(ds);
}

/* The frames gathered before an error come out as a batch, then the error;
 * skip_errors skips the one bad image and keeps the rest of its folder. */
static void error_keeps_gathered(void)
{
    char cut[400];
    snprintf(cut, sizeof cut, "%s/cut", dir);
    CHECK(make_cut_folder(cut, 4, 2) == 0);
    vs_dataset *ds = start_folders(cut, NULL, 4, 1, 0);
    CHECK(ds != NULL);
    vs_frame *frames[4];
    int32_t sources[4];
    int64_t indices[4];
    CHECK(ds && vs_dataset_next(ds, frames, sources, indices) == 2 && indices[0] == 0 && indices[1] == 1);
    CHECK(ds && vs_dataset_next(ds, frames, sources, indices) == -1 && strstr(vs_last_error(), "2.png"));
    vs_dataset_free(ds);

    ds = start_folders(cut, NULL, 4, 1, 1);
    CHECK(ds != NULL);
    int n = ds ? vs_dataset_next(ds, frames, sources, indices) : -1;
    CHECK(n == 3 && indices[0] == 0 && indices[1] == 1 && indices[2] == 3);
    CHECK(ds && vs_dataset_next(ds, frames, sources, indices) == 0);
    CHECK(ds && vs_dataset_skipped(ds) == 1 && strstr(vs_dataset_skipped_message(ds, 0), "2.png"));
    vs_dataset_free(ds);
}

/* More workers than the limit is refused by plan, start and map alike, even
 * with more sources than that (the plan once kept its loads on the stack). */
static void too_many_workers(void)
{
    vs_dataset_options o;
    vs_dataset_options_init(&o);
    vs_dataset *ds = vs_dataset_new(&o);
    enum { N = 300 };
    int added = 0;
    for (int i = 0; ds && i < N; i++)
        added += vs_dataset_add(ds, paths[1], -1, -1) == 0;
    CHECK(added == N);
    static int32_t worker_of[N];
    CHECK(ds && vs_dataset_plan(ds, 256, worker_of) == 256);
    CHECK(ds && vs_dataset_plan(ds, N, worker_of) == -1 && strstr(vs_last_error(), "1..256, got 300"));
    CHECK(ds && vs_dataset_start(ds, N) == -1 && strstr(vs_last_error(), "1..256"));
    CHECK(ds && vs_dataset_map(ds, "return 1", 8, N) == -1 && strstr(vs_last_error(), "1..256"));
    o.workers = N;
    CHECK(vs_dataset_new(&o) == NULL && strstr(vs_last_error(), "1..256"));
    vs_dataset_free(ds);
}

/* map: a Lua state per worker; results in the dataset's order. */
static void map(void)
{
    int32_t src[NSRC * MAXF];
    int64_t idx[NSRC * MAXF];
    int total = ordinals(1, src, idx);
    vs_dataset *ds = open_default();
    CHECK(ds != NULL);
    if (!ds)
        return;
    /* loadstring takes source as well as string.dump's bytecode */
    const char *fn = "local frame, path, index = ...\n"
                     "return index * 1000 + frame.data[(frame.height / 2) * frame.stride + frame.width * 2]\n";
    CHECK(vs_dataset_map(ds, fn, strlen(fn), 3) == 0);
    int ok = 1;
    for (int k = 0; k < total; k++) {
        size_t len = 0;
        int32_t s = -1;
        int64_t i = -1;
        const char *r = vs_dataset_map_result(ds, k, &len, &s, &i);
        double v = -1;
        ok &= r && r[0] == 'n' && sscanf(r + 1, "%lf", &v) == 1 && s == src[k] && i == idx[k] &&
              (int64_t)v / 1000 == i && near((int)v % 1000, red((int)i));
    }
    CHECK(ok);

    const char *fails = "local frame, path, index = ...\n"
                        "if index == 5 then error('boom at 5') end\n"
                        "return true\n";
    CHECK(vs_dataset_map(ds, fails, strlen(fails), 3) == -1 && strstr(vs_last_error(), "boom at 5") != NULL);
    vs_dataset_free(ds);
}

static atomic_int host_sigints;

/* The host's own Ctrl-C handler, which the map hands the signal on to. */
static void count_sigint(int sig)
{
    (void)sig;
    atomic_fetch_add(&host_sigints, 1);
}

static void *send_sigint_soon(void *arg)
{
    (void)arg;
    nap(300);
    kill(getpid(), SIGINT);
    return NULL;
}

/* One Ctrl-C stops a map whose function never returns: interpreted (the
 * hook stops it, the dataset goes on) or JIT-compiled (abandoned after the
 * grace period, the dataset refuses further runs); the host's handler then
 * sees the signal once. */
static void map_interrupted(void)
{
    signal(SIGINT, count_sigint);
    const char *loops[] = {
        "require('jit').off(); while true do end",
        "local x = 0; while true do x = x + 1 end",
    };
    for (int k = 0; k < 2; k++) {
        vs_dataset *ds = open_default();
        CHECK(ds != NULL);
        if (!ds)
            return;
        atomic_store(&host_sigints, 0);
        pthread_t t;
        CHECK(pthread_create(&t, NULL, send_sigint_soon, NULL) == 0);
        CHECK(vs_dataset_map(ds, loops[k], strlen(loops[k]), 2) == -1 &&
              strstr(vs_last_error(), "interrupted by SIGINT"));
        pthread_join(t, NULL);
        CHECK(atomic_load(&host_sigints) == 1);
        if (k == 0) {
            CHECK(vs_dataset_start(ds, 0) == 0);
            static seen s;
            CHECK(drain(ds, 4, -1, &s) == 0 && s.n == 34);
        } else {
            CHECK(vs_dataset_start(ds, 0) == -1 && strstr(vs_last_error(), "make a new dataset"));
        }
        vs_dataset_free(ds); /* abandoned: kept for the stuck workers */
    }
    signal(SIGINT, SIG_DFL);
}

int main(void)
{
    /* the library this test links, not another one a luajit would load */
    unsetenv("VSTUDIO_LIB");
    if (!(dir = check_tmpdir("test-dataset")))
        return 1;

    int made = 1;
    for (int s = 0; s < NSRC; s++) {
        if (is_video[s]) {
            snprintf(paths[s], sizeof paths[s], "%s/v%d.mp4", dir, s);
            made &= check_make_video(paths[s], W, H, nframes[s], draw_frame, &s) == 0;
        } else {
            snprintf(paths[s], sizeof paths[s], "%s/images", dir);
            made &= make_images(paths[s], s) == 0;
        }
    }
    CHECK(made);
    if (!made)
        return check_status();

    every_frame_once();
    arrays();
    shards();
    transforms();
    stopping();
    worker_error();
    error_keeps_gathered();
    too_many_workers();
    map();
    map_interrupted(); /* last: it leaves two workers spinning */
    return check_status();
}
