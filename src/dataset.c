/*
 * dataset.c: the frames of many videos and image folders, decoded by worker
 * threads and handed out in batches (vs.dataset in Lua).
 *
 * Sources. A source is a video file (its frame count from vs_probe, so the
 * probe cache answers a second run at once) or a folder whose images are
 * its frames, listed and ordered by framelist.c exactly as `vstudio
 * convert` reads them. Each source contributes the frames
 * first, first + every, ... below end (its own range or the options'; a
 * range past the end of a source is cut to the frames it has).
 *
 * Samples are frames, or with clip_length > 1 clips: clip_length frames
 * a clip_step apart, starts clip_stride apart; everything below that counts
 * frames (ordinals, shards, units, a lane's turn) then counts clips, and a
 * lane delivers a clip's frames one after another.
 *
 * Plan. Numbering the selected frames of all sources in order (sources as
 * added, frames ascending) gives each frame an ordinal 0..N-1. Shard i of n
 * owns the ordinals [i*N/n, (i+1)*N/n): contiguous, disjoint, together
 * everything, their sizes at most one frame apart. A shard's part of one
 * source is a unit. Units go to lanes longest first (LPT by frames to
 * decode), each to the least loaded lane; a lane runs its units in source
 * order and decodes each video forward (a unit that starts inside a video
 * seeks there once, frame-exact, with vs_decoder_frame). The number of
 * lanes is an option (8 unless set, fewer when there are fewer units),
 * never the number of workers: that is what makes the batches the same on
 * a laptop and on a 32-core node.
 *
 * Lanes and workers. Each lane has its own thread; `workers` of them may
 * decode at once (a lane holds one of `workers` slots while it decodes or
 * transforms, and gives it up whenever it waits for room, so a lane the
 * consumer waits for gets one as soon as the others' queues fill), so the
 * worker count sets the speed and the CPU used, and nothing else.
 *
 * Batches. Each lane pushes frames into its own queue of QUEUE_DEPTH;
 * buffers come from one pool of batch + lanes * QUEUE_DEPTH frames, so
 * memory stays flat however long the sources are. The consumer takes one
 * sample at a time from the live lane that is least far along its plan
 * (taken + 1 over planned samples, the lower lane on a tie: lanes of equal
 * length take turns 0, 1, ..., 0, 1, ...; a finished lane drops out) and
 * cuts that stream into batches. Lanes thus advance in proportion to their
 * lengths and end together, so no worker idles through a long lane's tail,
 * and small queues keep all of them busy (taking whole batches from one
 * lane would stall the others once their queues fill). The order depends only on the plan, so
 * only on the sources and options: the same every run, with any number of
 * workers. Only the last batch can be short, and a batch cut short by an
 * error. A lane's error travels in its queue, so it is raised when the
 * consumer reaches it, after every frame before it was delivered (the
 * frames already gathered go out as a batch first); with skip_errors the
 * worker notes it and goes on: with the folder's next image, or with its
 * next unit after a video (a decoder that failed mid-stream is not trusted
 * to go on).
 *
 * Map. vs_dataset_map runs a Lua function on each frame in worker-owned Lua
 * states and keeps each result (encoded by encode_value) in a slot per
 * ordinal, so results come back in the dataset's order whatever the workers.
 * SIGINT/SIGTERM during a map stop it as they stop a render: the workers'
 * states count instructions and raise at a stop, and a worker stuck in a
 * JIT-compiled loop (which no hook reaches) is abandoned after a grace
 * period, with everything it can reach kept (the dataset is then unusable
 * and never freed). The signal is then raised again for the host (luajit,
 * the REPL, vstudio run), which ends the script as its own Ctrl-C does.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>
#include <libswscale/swscale.h>
#include <lua.h>

#include "error.h"
#include "interrupt.h"
#include "lua_state.h"
#include "pool.h"
#include "progress.h"
#include "vstudio.h"

#define QUEUE_DEPTH 6
#define MAX_WORKERS 256
#define DEFAULT_LANES 8
#define STOP_GRACE_S 2.0 /* as the render engine's */
#define MSG_MAX 1024

enum { ITEM_FRAME, ITEM_END, ITEM_ERROR };

typedef struct source {
    char *path;
    int is_dir;
    vs_frame_list *files; /* folder images in frame order (framelist.c, as convert reads them) */
    int64_t frames;    /* frames in the source */
    int64_t first, end;
    int64_t selected;  /* samples: frames first, first + every, ... < end, or whole clips */
    int64_t ordinal;   /* ordinal of its first selected frame */
} source;

typedef struct unit {
    int source;
    int64_t from, count; /* selected frames from..from+count-1 of the source */
    int64_t cost;        /* frames to decode */
    int worker;
} unit;

typedef struct item {
    int kind;
    vs_frame *frame;
    int source;
    int64_t index;
} item;

/* One lane: a thread, its units, its queue (see "Lanes and workers"). */
typedef struct worker {
    struct vs_dataset *ds;
    int id;
    pthread_t thread;
    int started;
    item queue[QUEUE_DEPTH];
    int head, count;
    int done;                  /* the consumer has seen its end */
    char error[MSG_MAX];       /* ITEM_ERROR's message */
    struct SwsContext *sws;
    vs_frame *scratch;         /* decoded frame before transforms */
    vs_frame *out;             /* map mode: the transformed frame */
    lua_State *L;              /* map mode */
    int fn_ref;
    int fn_failed;             /* the error came from the map function: never skipped */
    int has_slot;              /* holds one of the run's decode slots (see slot_hold) */
    int64_t planned, taken;    /* samples the plan gives this lane; those the consumer took */
    pthread_cond_t room;       /* signalled when its queue or the pool gains room, or on stop */
} worker;

typedef struct skipped {
    int source;
    int64_t index; /* the skipped frame, or the first frame of a skipped video's rest */
    char *message;
} skipped;

struct vs_dataset {
    vs_dataset_options o;
    char *sort;                /* the options' sort, owned */
    source *src;
    int nsrc, cap;
    int64_t total;             /* selected samples (frames or clips) of all shards */
    int clip;                  /* frames per sample: clip_length, 1 without clips */
    int64_t stride;            /* frames between sample starts: every, or clip_stride */
    int64_t lo, hi;            /* this shard's ordinals */
    unit *units;
    int nunits;

    /* a run (batches or map) */
    int mapping;
    worker *w;
    int nw, live, cur;
    pthread_mutex_t mu;        /* guards queues, pool, stop, skipped, map failure */
    pthread_cond_t cond;       /* the consumer's: a queue got an item */
    int stop;
    int running;
    int slots;                 /* lanes that may decode at once: the run's workers */
    int busy;                  /* slots taken */
    pthread_cond_t slot_free;  /* signalled when a slot is given back, or on stop */
    int finished;              /* map: workers that returned */
    int abandoned;             /* map: a worker stuck in a loop still runs; keep everything */
    vs_frame **all;            /* every pool frame; pointers stay fixed during a run */
    vs_frame **pool;           /* the free ones */
    int nall, npool;
    vs_frame **held;           /* lent to the consumer until the next batch */
    int nheld;
    skipped *skip;
    int nskip;

    /* map */
    const char *chunk;
    size_t chunk_len;
    char **results;
    size_t *result_len;
    int64_t fail_ordinal;      /* first failing frame's ordinal, for a deterministic message */
    char fail_msg[MSG_MAX];
};

/* ---------- options, sources ---------- */

void vs_dataset_options_init(vs_dataset_options *o)
{
    memset(o, 0, sizeof *o);
    o->batch = 16;
    o->every = 1;
    o->end = -1;
    o->shard_count = 1;
    o->sort = "natural";
}

/* After an interrupted map abandoned a worker stuck in a loop, that worker
 * may still read the sources, units and results: nothing may change them. */
static int check_usable(const vs_dataset *ds)
{
    if (ds->abandoned)
        return vs_fail("an interrupted map left a worker stuck in its function; make a new dataset");
    return 0;
}

/* 0 asks for one worker per core (at most 64). */
static int check_workers(int workers)
{
    if (workers < 0 || workers > MAX_WORKERS)
        return vs_fail("workers must be 1..%d, got %d", MAX_WORKERS, workers);
    return 0;
}

vs_dataset *vs_dataset_new(const vs_dataset_options *o)
{
    if (o->batch < 1 || o->batch > 1 << 16)
        return vs_fail("batch must be 1..65536, got %d", o->batch), NULL;
    if (check_workers(o->workers) < 0)
        return NULL;
    if (o->resize < VS_DATASET_STRETCH || o->resize > VS_DATASET_FILL)
        return vs_fail("resize must be stretch, fit or fill, got %d", o->resize), NULL;
    if (o->lanes < 0 || o->lanes > MAX_WORKERS)
        return vs_fail("lanes must be 1..%d, got %d", MAX_WORKERS, o->lanes), NULL;
    if (o->every < 1)
        return vs_fail("every must be >= 1, got %d", o->every), NULL;
    if (o->shard_count < 1 || o->shard_index < 0 || o->shard_index >= o->shard_count)
        return vs_fail("shard %d of %d is out of range", o->shard_index + 1, o->shard_count), NULL;
    if (o->clip_length < 0 || o->clip_length > 4096 || o->clip_stride < 0 || o->clip_step < 0)
        return vs_fail("clip length %d, stride %d, step %d: need length 1..4096, stride and step >= 1",
                       o->clip_length, o->clip_stride, o->clip_step), NULL;
    if (o->clip_length > 1 && (o->every != 1 || o->skip_errors))
        return vs_fail("clips take no every (use the clip's step and stride) and no on_error skip"), NULL;
    if ((int64_t)o->batch * (o->clip_length > 1 ? o->clip_length : 1) > 1 << 20)
        return vs_fail("batch %d of clips of %d frames is more than %d frames", o->batch, o->clip_length,
                       1 << 20), NULL;
    if ((o->width > 0) != (o->height > 0) || o->width < 0 || o->height < 0)
        return vs_fail("size %dx%d: both sides must be positive", o->width, o->height), NULL;
    if (o->crop_w < 0 || o->crop_h < 0 || o->crop_x < 0 || o->crop_y < 0 ||
        (o->crop_w > 0) != (o->crop_h > 0))
        return vs_fail("crop %d,%d %dx%d: position must be >= 0 and both sides positive", o->crop_x,
                       o->crop_y, o->crop_w, o->crop_h), NULL;
    if (o->first < 0 || (o->end >= 0 && o->end <= o->first))
        return vs_fail("frames %lld:%lld: need 0 <= first < end", (long long)o->first,
                       (long long)o->end), NULL;
    vs_dataset *ds = calloc(1, sizeof *ds);
    if (!ds || !(ds->sort = strdup(o->sort ? o->sort : "natural"))) {
        free(ds);
        return vs_fail("out of memory"), NULL;
    }
    ds->o = *o;
    ds->o.sort = ds->sort;
    ds->clip = o->clip_length > 1 ? o->clip_length : 1;
    if (ds->o.clip_step == 0)
        ds->o.clip_step = 1;
    ds->stride = ds->clip == 1 ? o->every : o->clip_stride ? o->clip_stride : (int64_t)ds->clip * ds->o.clip_step;
    if (ds->o.workers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        ds->o.workers = n < 1 ? 1 : n > 64 ? 64 : (int)n;
    }
    if (ds->o.lanes == 0)
        ds->o.lanes = DEFAULT_LANES;
    pthread_mutex_init(&ds->mu, NULL);
    pthread_cond_init(&ds->cond, NULL);
    pthread_cond_init(&ds->slot_free, NULL);
    return ds;
}

vs_path_kind vs_dataset_path_kind(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return VS_PATH_MISSING;
    return S_ISDIR(st.st_mode) ? VS_PATH_DIR : VS_PATH_FILE;
}

static void free_source(source *s)
{
    vs_frame_list_free(s->files);
    free(s->path);
}

int vs_dataset_add(vs_dataset *ds, const char *path, int64_t first, int64_t end)
{
    if (check_usable(ds) < 0)
        return -1;
    source s = {0};
    if (first < 0) {
        first = ds->o.first;
        end = ds->o.end;
    } else if (end >= 0 && end <= first) {
        return vs_fail("%s: frames %lld:%lld: need first < end", path, (long long)first,
                       (long long)end);
    }
    vs_path_kind kind = vs_dataset_path_kind(path);
    if (kind == VS_PATH_MISSING)
        return vs_fail("%s: no such file or folder", path);
    s.is_dir = kind == VS_PATH_DIR;
    if (s.is_dir) {
        if (!(s.files = vs_frame_list_open(path, ds->o.sort)))
            return -1;
        s.frames = vs_frame_list_count(s.files);
        if (s.frames == 0) {
            vs_frame_list_free(s.files);
            return vs_fail("%s: no PNG or JPEG images in the folder", path);
        }
    } else {
        vs_probe_info info;
        if (vs_probe(path, 1, &info) < 0)
            return -1;
        s.frames = info.frames;
    }
    if (!(s.path = strdup(path)))
        goto oom;
    s.first = first < s.frames ? first : s.frames;
    s.end = end < 0 || end > s.frames ? s.frames : end;
    /* samples whose last frame is before end: a clip spans (clip - 1) * step + 1 frames */
    int64_t span = (int64_t)(ds->clip - 1) * ds->o.clip_step + 1;
    s.selected = s.end - s.first >= span ? (s.end - s.first - span) / ds->stride + 1 : 0;
    if (ds->nsrc == ds->cap) {
        int cap = ds->cap ? ds->cap * 2 : 16;
        source *grown = realloc(ds->src, (size_t)cap * sizeof *grown);
        if (!grown)
            goto oom;
        ds->src = grown;
        ds->cap = cap;
    }
    s.ordinal = ds->total;
    ds->total += s.selected;
    ds->src[ds->nsrc++] = s;
    ds->lo = ds->total * ds->o.shard_index / ds->o.shard_count;
    ds->hi = ds->total * (ds->o.shard_index + 1) / ds->o.shard_count;
    return 0;
oom:
    free_source(&s);
    return vs_fail("out of memory");
}

/* Probing a cold cache reads every packet of every video: spread it over
 * threads, each filling the cache; the adds that follow then hit it. */
typedef struct prefetch {
    const char *const *paths;
    int n, next;
    pthread_mutex_t mu;
} prefetch;

static void *prefetch_main(void *arg)
{
    prefetch *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        int i = p->next++;
        pthread_mutex_unlock(&p->mu);
        if (i >= p->n)
            return NULL;
        vs_probe_info info;
        if (vs_dataset_path_kind(p->paths[i]) == VS_PATH_FILE)
            vs_probe(p->paths[i], 1, &info); /* errors come again from vs_dataset_add */
    }
}

int vs_dataset_prefetch(const char *const *paths, int n, int threads)
{
    if (threads > 16)
        threads = 16;
    if (threads > n)
        threads = n;
    prefetch p = {paths, n, 0, PTHREAD_MUTEX_INITIALIZER};
    pthread_t t[16];
    int started = 0;
    while (started < threads - 1 && pthread_create(&t[started], NULL, prefetch_main, &p) == 0)
        started++;
    prefetch_main(&p);
    for (int i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    pthread_mutex_destroy(&p.mu);
    return 0;
}

/* splitmix64: a tiny generator whose sequence is fixed by the seed alone. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void vs_dataset_shuffle(int n, uint64_t seed, int32_t *order)
{
    for (int i = 0; i < n; i++)
        order[i] = i;
    uint64_t state = seed;
    for (int i = n - 1; i > 0; i--) { /* Fisher-Yates */
        int j = (int)(next_random(&state) % (uint64_t)(i + 1));
        int32_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

int vs_dataset_sources(const vs_dataset *ds)
{
    return ds->nsrc;
}

const char *vs_dataset_file(const vs_dataset *ds, int k, int64_t index)
{
    if (k < 0 || k >= ds->nsrc || index < 0 || index >= ds->src[k].frames)
        return NULL;
    const source *s = &ds->src[k];
    return s->is_dir ? vs_frame_list_path(s->files, index) : s->path;
}

int64_t vs_dataset_count(const vs_dataset *ds)
{
    return ds->hi - ds->lo;
}

/* ---------- plan: shard units, LPT ---------- */

static int cmp_unit_cost(const void *a, const void *b)
{
    const unit *x = a, *y = b;
    if (x->cost != y->cost)
        return x->cost > y->cost ? -1 : 1;
    return x->source - y->source;
}

static int cmp_unit_source(const void *a, const void *b)
{
    return ((const unit *)a)->source - ((const unit *)b)->source;
}

/* Cuts this shard into units and assigns them to lanes; returns the lane count used. */
static int plan(vs_dataset *ds, int lanes)
{
    if (lanes < 0 || lanes > MAX_WORKERS)
        return vs_fail("lanes must be 1..%d, got %d", MAX_WORKERS, lanes);
    free(ds->units);
    ds->units = NULL;
    ds->nunits = 0;
    if (ds->nsrc && !(ds->units = calloc((size_t)ds->nsrc, sizeof *ds->units)))
        return vs_fail("out of memory");
    for (int i = 0; i < ds->nsrc; i++) {
        const source *s = &ds->src[i];
        int64_t a = s->ordinal > ds->lo ? s->ordinal : ds->lo;
        int64_t b = s->ordinal + s->selected < ds->hi ? s->ordinal + s->selected : ds->hi;
        if (b <= a)
            continue;
        unit *u = &ds->units[ds->nunits++];
        u->source = i;
        u->from = a - s->ordinal;
        u->count = b - a;
        /* A video decodes every frame from the unit's first to its last; images load one by one. */
        int64_t span = (int64_t)(ds->clip - 1) * ds->o.clip_step + 1;
        u->cost = s->is_dir ? u->count * ds->clip : (u->count - 1) * ds->stride + span;
    }
    int nw = lanes < ds->nunits ? lanes : ds->nunits;
    if (nw < 1)
        nw = 1;
    qsort(ds->units, (size_t)ds->nunits, sizeof *ds->units, cmp_unit_cost);
    int64_t load[MAX_WORKERS] = {0};
    for (int i = 0; i < ds->nunits; i++) {
        int best = 0;
        for (int k = 1; k < nw; k++)
            if (load[k] < load[best])
                best = k;
        ds->units[i].worker = best;
        load[best] += ds->units[i].cost;
    }
    qsort(ds->units, (size_t)ds->nunits, sizeof *ds->units, cmp_unit_source);
    return nw;
}

int vs_dataset_plan(vs_dataset *ds, int lanes, int32_t *lane_of)
{
    if (ds->running)
        return vs_fail("the dataset is running; plan it before batches() or after the last batch");
    if (check_usable(ds) < 0)
        return -1;
    int nw = plan(ds, lanes > 0 ? lanes : ds->o.lanes);
    if (nw < 0)
        return -1;
    for (int i = 0; i < ds->nsrc; i++)
        lane_of[i] = -1;
    for (int i = 0; i < ds->nunits; i++)
        lane_of[ds->units[i].source] = ds->units[i].worker;
    return nw;
}

/* ---------- transforms ---------- */

static int out_size(const vs_dataset *ds, const vs_frame *in, int *w, int *h)
{
    const vs_dataset_options *o = &ds->o;
    int cw = in->width, ch = in->height;
    if (o->crop_w > 0) {
        if ((int64_t)o->crop_x + o->crop_w > in->width || (int64_t)o->crop_y + o->crop_h > in->height)
            return vs_fail("crop %dx%d at %d,%d does not fit the %dx%d frame", o->crop_w, o->crop_h,
                           o->crop_x, o->crop_y, in->width, in->height);
        cw = o->crop_w;
        ch = o->crop_h;
    }
    *w = o->width > 0 ? o->width : cw;
    *h = o->height > 0 ? o->height : ch;
    return 0;
}

static int needs_transform(const vs_dataset *ds)
{
    return ds->o.width > 0 || ds->o.crop_w > 0 || ds->o.gray;
}

/* Resizes a pool frame in place, keeping the vs_frame pointer. */
static int ensure_size(vs_frame *f, int w, int h)
{
    if (f->width == w && f->height == h && f->data)
        return 0;
    vs_frame *n = vs_frame_new(w, h);
    if (!n)
        return -1;
    free(f->data);
    *f = *n;
    free(n);
    return 0;
}

static int clamp(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* in -> out (already sized by out_size): crop, resize, gray. Fill keeps the
 * centre of the source that has out's aspect ratio; fit scales the whole
 * source into a centred rectangle of out and leaves black bars around it. */
static int transform(worker *w, const vs_frame *in, vs_frame *out)
{
    const vs_dataset_options *o = &w->ds->o;
    int cx = 0, cy = 0, cw = in->width, ch = in->height;
    if (o->crop_w > 0) {
        cx = o->crop_x;
        cy = o->crop_y;
        cw = o->crop_w;
        ch = o->crop_h;
    }
    int dx = 0, dy = 0, dw = out->width, dh = out->height;
    double sx = (double)dw / cw, sy = (double)dh / ch;
    if (o->resize == VS_DATASET_FILL && sx != sy) {
        double s = sx > sy ? sx : sy;
        int sw = clamp((int)(dw / s + 0.5), 1, cw), sh = clamp((int)(dh / s + 0.5), 1, ch);
        cx += (cw - sw) / 2;
        cy += (ch - sh) / 2;
        cw = sw;
        ch = sh;
    } else if (o->resize == VS_DATASET_FIT && sx != sy) {
        double s = sx < sy ? sx : sy;
        dw = clamp((int)(cw * s + 0.5), 1, out->width);
        dh = clamp((int)(ch * s + 0.5), 1, out->height);
        dx = (out->width - dw) / 2;
        dy = (out->height - dh) / 2;
        vs_frame_fill(out, 0, 0, 0, 255);
    }
    const uint8_t *src = in->data + (size_t)cy * in->stride + (size_t)cx * 4;
    uint8_t *to = out->data + (size_t)dy * out->stride + (size_t)dx * 4;
    if (cw == dw && ch == dh) {
        for (int y = 0; y < ch; y++)
            memcpy(to + (size_t)y * out->stride, src + (size_t)y * in->stride, (size_t)cw * 4);
    } else {
        w->sws = sws_getCachedContext(w->sws, cw, ch, AV_PIX_FMT_RGBA, dw, dh, AV_PIX_FMT_RGBA,
                                      SWS_BILINEAR, NULL, NULL, NULL);
        if (!w->sws)
            return vs_fail("cannot resize %dx%d to %dx%d", cw, ch, dw, dh);
        const uint8_t *planes[4] = {src, NULL, NULL, NULL};
        int strides[4] = {in->stride, 0, 0, 0};
        uint8_t *dst[4] = {to, NULL, NULL, NULL};
        int dst_strides[4] = {out->stride, 0, 0, 0};
        sws_scale(w->sws, planes, strides, 0, ch, dst, dst_strides);
    }
    if (o->gray) {
        for (int y = 0; y < out->height; y++) {
            uint8_t *p = out->data + (size_t)y * out->stride;
            for (int x = 0; x < out->width; x++, p += 4) {
                uint8_t l = (uint8_t)((77 * p[0] + 150 * p[1] + 29 * p[2] + 128) >> 8);
                p[0] = p[1] = p[2] = l;
                p[3] = 255;
            }
        }
    }
    return 0;
}

/* ---------- the worker side of a batch run ---------- */

/* Under ds->mu: every worker waiting for room looks again. */
static void wake_workers(vs_dataset *ds)
{
    for (int i = 0; i < ds->nw; i++)
        pthread_cond_signal(&ds->w[i].room);
}

/* Under ds->mu, before the lane waits: its slot goes to a lane that can work. */
static void drop_slot(worker *w)
{
    if (w->has_slot) {
        w->has_slot = 0;
        w->ds->busy--;
        pthread_cond_signal(&w->ds->slot_free);
    }
}

/* A free pool frame once this worker's queue has room; NULL when stopping. */
static vs_frame *acquire(worker *w)
{
    vs_dataset *ds = w->ds;
    pthread_mutex_lock(&ds->mu);
    while (!ds->stop && (w->count >= QUEUE_DEPTH || ds->npool == 0)) {
        drop_slot(w);
        pthread_cond_wait(&w->room, &ds->mu);
    }
    vs_frame *f = ds->stop ? NULL : ds->pool[--ds->npool];
    pthread_mutex_unlock(&ds->mu);
    return f;
}

/* Makes sure the lane holds a decode slot before it works (it keeps it
 * until it waits, so a lane decodes several frames in a row on a warm
 * core); 0, or 1 when stopping. */
static int slot_hold(worker *w)
{
    vs_dataset *ds = w->ds;
    if (w->has_slot)
        return 0;
    pthread_mutex_lock(&ds->mu);
    while (!ds->stop && ds->busy >= ds->slots)
        pthread_cond_wait(&ds->slot_free, &ds->mu);
    int stop = ds->stop;
    if (!stop) {
        ds->busy++;
        w->has_slot = 1;
    }
    pthread_mutex_unlock(&ds->mu);
    return stop;
}

static void give_back(vs_dataset *ds, vs_frame *f)
{
    pthread_mutex_lock(&ds->mu);
    ds->pool[ds->npool++] = f;
    wake_workers(ds);
    pthread_mutex_unlock(&ds->mu);
}

static void push(worker *w, int kind, vs_frame *f, int source, int64_t index)
{
    vs_dataset *ds = w->ds;
    pthread_mutex_lock(&ds->mu);
    /* End and error items may wait for room like frames do. */
    while (!ds->stop && w->count >= QUEUE_DEPTH) {
        drop_slot(w);
        pthread_cond_wait(&w->room, &ds->mu);
    }
    if (ds->stop) {
        if (f)
            ds->pool[ds->npool++] = f;
    } else {
        w->queue[(w->head + w->count) % QUEUE_DEPTH] = (item){kind, f, source, index};
        w->count++;
        pthread_cond_signal(&ds->cond);
    }
    pthread_mutex_unlock(&ds->mu);
}

static int stopping(vs_dataset *ds)
{
    pthread_mutex_lock(&ds->mu);
    int s = ds->stop;
    pthread_mutex_unlock(&ds->mu);
    return s;
}

static int call_map(worker *w, const vs_frame *f, int source, int64_t index, int64_t ordinal);

static void note_skipped(vs_dataset *ds, int source, int64_t index, const char *msg)
{
    pthread_mutex_lock(&ds->mu);
    skipped *grown = realloc(ds->skip, (size_t)(ds->nskip + 1) * sizeof *grown);
    if (grown) {
        ds->skip = grown;
        ds->skip[ds->nskip].source = source;
        ds->skip[ds->nskip].index = index;
        if ((ds->skip[ds->nskip].message = strdup(msg)))
            ds->nskip++;
    }
    pthread_mutex_unlock(&ds->mu);
}

/* Hands one selected frame on: into the pool (batches) or to the map function.
 * `in` is the decoded frame; returns 0, 1 when stopping, -1 on error. */
static int deliver(worker *w, const vs_frame *in, int source, int64_t index, int64_t ordinal)
{
    vs_dataset *ds = w->ds;
    int ow = 0, oh = 0;
    if (out_size(ds, in, &ow, &oh) < 0)
        return -1;
    if (ds->mapping) {
        const vs_frame *f = in;
        if (needs_transform(ds)) {
            if (!w->out && !(w->out = calloc(1, sizeof *w->out)))
                return vs_fail("out of memory");
            if (ensure_size(w->out, ow, oh) < 0 || transform(w, in, w->out) < 0)
                return -1;
            f = w->out;
        }
        return call_map(w, f, source, index, ordinal);
    }
    vs_frame *out = acquire(w);
    if (!out)
        return 1;
    if (slot_hold(w)) {
        give_back(ds, out);
        return 1;
    }
    int rc = ensure_size(out, ow, oh) < 0 ||
             (needs_transform(ds) ? transform(w, in, out) : vs_frame_copy_into(out, in)) < 0;
    if (rc) {
        give_back(ds, out);
        return -1;
    }
    push(w, ITEM_FRAME, out, source, index);
    return 0;
}

/* Frame t (0-based, < clip) of sample j of source s. */
static int64_t frame_of(const vs_dataset *ds, const source *s, int64_t j, int t)
{
    return s->first + j * ds->stride + (int64_t)t * ds->o.clip_step;
}

static int run_images(worker *w, const unit *u)
{
    vs_dataset *ds = w->ds;
    const source *s = &ds->src[u->source];
    for (int64_t k = u->from * ds->clip; k < (u->from + u->count) * ds->clip; k++) {
        if (stopping(ds))
            return 1;
        int64_t j = k / ds->clip;
        int64_t index = frame_of(ds, s, j, (int)(k % ds->clip));
        const char *file = vs_frame_list_path(s->files, index);
        if (slot_hold(w))
            return 1;
        vs_frame *f = vs_image_load(file);
        int rc = f ? deliver(w, f, u->source, index, s->ordinal + j) : -1;
        vs_frame_free(f);
        if (rc > 0)
            return rc;
        if (rc == 0)
            continue;
        if (f) {
            const char *slash = strrchr(file, '/');
            vs_error_prefix("%s: frame %lld (%s)", s->path, (long long)index, slash ? slash + 1 : file);
        } else {
            vs_error_prefix("%s: frame %lld", s->path, (long long)index);
        }
        /* An image stands alone: skipping it loses nothing else of the folder. */
        if (!ds->o.skip_errors || w->fn_failed)
            return -1;
        note_skipped(ds, u->source, index, vs_last_error());
    }
    return 0;
}

/* Decodes frame i of the open video; a selected frame goes on (straight
 * into a pool frame when `direct`). Returns 0, 1 when stopping, -1 on error. */
static int video_frame(worker *w, vs_decoder *dec, const vs_probe_info *info, int direct, int source,
                       int64_t i, int selected, int64_t ordinal)
{
    vs_dataset *ds = w->ds;
    if (stopping(ds))
        return 1;
    vs_frame *target = w->scratch, *out = NULL;
    int rc;
    if (selected && direct) {
        if (!(out = acquire(w)))
            return 1;
        if ((rc = ensure_size(out, info->width, info->height)) < 0) {
            give_back(ds, out);
            return rc;
        }
        target = out;
    }
    /* by number, so frames are labelled as the decoder's index numbers them
     * (forward without seeking from the second frame on) */
    if (slot_hold(w)) {
        if (out)
            give_back(ds, out);
        return 1;
    }
    rc = vs_decoder_frame(dec, i, target);
    if (rc != 0 && out)
        give_back(ds, out);
    if (rc < 0 || !selected)
        return rc; /* the decoder's message names the file and the frame */
    if (out) {
        push(w, ITEM_FRAME, out, source, i);
        return 0;
    }
    rc = deliver(w, w->scratch, source, i, ordinal);
    if (rc < 0)
        vs_error_prefix("%s: frame %lld", ds->src[source].path, (long long)i);
    return rc;
}

static int run_video(worker *w, const unit *u)
{
    vs_dataset *ds = w->ds;
    const source *s = &ds->src[u->source];
    vs_decoder *dec = vs_decoder_open(s->path, 1);
    if (!dec)
        return -1;
    vs_probe_info info;
    int rc = vs_decoder_info(dec, &info);
    if (rc < 0)
        goto done;
    if (!w->scratch && !(w->scratch = calloc(1, sizeof *w->scratch))) {
        rc = vs_fail("out of memory");
        goto done;
    }
    if ((rc = ensure_size(w->scratch, info.width, info.height)) < 0)
        goto done;
    /* Without transforms a selected frame decodes straight into a pool buffer. */
    int direct = !ds->mapping && !needs_transform(ds);
    if (ds->clip > 1) {
        /* Each clip's frames by number: forward, except where clips overlap
         * (the decoder's recent frames, or a frame-exact seek back). */
        for (int64_t j = u->from; rc == 0 && j < u->from + u->count; j++)
            for (int t = 0; rc == 0 && t < ds->clip; t++)
                rc = video_frame(w, dec, &info, direct, u->source, frame_of(ds, s, j, t), 1, -1);
        goto done;
    }
    /* A unit that starts inside the video (a shard boundary, a range) seeks
     * to its first frame: frame-exact, then forward from there. */
    int64_t want = frame_of(ds, s, u->from, 0);
    int64_t last = frame_of(ds, s, u->from + u->count - 1, 0);
    for (int64_t i = want; rc == 0 && i <= last; i++)
        rc = video_frame(w, dec, &info, direct, u->source, i, (i - s->first) % ds->o.every == 0,
                         s->ordinal + (i - s->first) / ds->o.every);
done:
    vs_decoder_close(dec);
    return rc;
}

static void note_map_failure(vs_dataset *ds, int64_t ordinal, const char *msg)
{
    pthread_mutex_lock(&ds->mu);
    if (ds->fail_ordinal < 0 || ordinal < ds->fail_ordinal) {
        ds->fail_ordinal = ordinal;
        snprintf(ds->fail_msg, sizeof ds->fail_msg, "%s", msg);
    }
    ds->stop = 1;
    wake_workers(ds);
    pthread_mutex_unlock(&ds->mu);
}

static int start_lua(worker *w);
static void run_units(worker *w);

static void *worker_main(void *arg)
{
    worker *w = arg;
    vs_dataset *ds = w->ds;
    if (!ds->mapping || start_lua(w) == 0)
        run_units(w);
    else
        note_map_failure(ds, -1, vs_last_error());
    pthread_mutex_lock(&ds->mu);
    drop_slot(w);
    ds->finished++;
    pthread_cond_broadcast(&ds->cond);
    pthread_mutex_unlock(&ds->mu);
    return NULL;
}

static void run_units(worker *w)
{
    vs_dataset *ds = w->ds;
    for (int i = 0; i < ds->nunits; i++) {
        const unit *u = &ds->units[i];
        if (u->worker != w->id)
            continue;
        w->fn_failed = 0;
        int rc = ds->src[u->source].is_dir ? run_images(w, u) : run_video(w, u);
        if (rc > 0)
            return;
        if (rc == 0)
            continue;
        const char *msg = vs_last_error();
        if (ds->o.skip_errors && !w->fn_failed) {
            note_skipped(ds, u->source, ds->src[u->source].first + u->from * ds->o.every, msg);
            continue;
        }
        if (ds->mapping) {
            note_map_failure(ds, ds->src[u->source].ordinal + u->from, msg);
            return;
        }
        snprintf(w->error, sizeof w->error, "%s", msg);
        push(w, ITEM_ERROR, NULL, u->source, 0);
        return;
    }
    if (!ds->mapping)
        push(w, ITEM_END, NULL, -1, 0);
}

/* ---------- map: a Lua state per worker ---------- */

/* Runs in each worker's state with the user's function as bytecode; returns
 * the function the worker calls with (frame pointer, path, index). */
static const char map_bootstrap[] =
    "local chunk = ...\n"
    "local ffi = require 'ffi'\n"
    "local vs = require 'vstudio'\n"
    "vs.worker = true\n"
    "local fn = assert(loadstring(chunk))\n"
    "local frame_ptr = ffi.typeof('vs_frame *')\n"
    "return function(p, path, index) return fn(ffi.cast(frame_ptr, p), path, index) end\n";

static _Thread_local vs_dataset *hooked_dataset;

/* Counts instructions in interpreted Lua so a long map function notices a stop. */
static void stop_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    if (hooked_dataset && stopping(hooked_dataset))
        luaL_error(L, "map stopped");
}

static int start_lua(worker *w)
{
    vs_dataset *ds = w->ds;
    if (!(w->L = vs_lua_state_new()))
        return -1;
    hooked_dataset = ds;
    lua_sethook(w->L, stop_hook, LUA_MASKCOUNT, 1000);
    if (luaL_loadbuffer(w->L, map_bootstrap, sizeof map_bootstrap - 1, "=dataset map") != 0)
        return vs_fail("map: %s", lua_tostring(w->L, -1));
    lua_pushlstring(w->L, ds->chunk, ds->chunk_len);
    if (vs_lua_pcall(w->L, 1, 1) != 0)
        return vs_fail("map: cannot set up the worker's Lua state: %s", lua_tostring(w->L, -1));
    w->fn_ref = luaL_ref(w->L, LUA_REGISTRYINDEX);
    return 0;
}

typedef struct buf {
    char *data;
    size_t len, cap;
} buf;

static int put(buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n)
            cap *= 2;
        char *grown = realloc(b->data, cap);
        if (!grown)
            return vs_fail("out of memory");
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

/* The value at idx as text the Lua side decodes (decode_value in
 * dataset.lua): "z" nil, "t"/"f" booleans, "n<%.17g>;" numbers,
 * "s<len>:<bytes>" strings, "T" key value ... "E" tables. */
static int encode_value(lua_State *L, int idx, buf *b, int depth)
{
    char tmp[64];
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        return put(b, "z", 1);
    case LUA_TBOOLEAN:
        return put(b, lua_toboolean(L, idx) ? "t" : "f", 1);
    case LUA_TNUMBER: {
        int n = snprintf(tmp, sizeof tmp, "n%.17g;", lua_tonumber(L, idx));
        return put(b, tmp, (size_t)n);
    }
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        int n = snprintf(tmp, sizeof tmp, "s%zu:", len);
        if (put(b, tmp, (size_t)n) < 0)
            return -1;
        return put(b, s, len);
    }
    case LUA_TTABLE:
        if (depth > 32)
            return vs_fail("map: the function returned tables nested deeper than 32 (a cycle?)");
        if (idx < 0)
            idx = lua_gettop(L) + idx + 1;
        if (put(b, "T", 1) < 0)
            return -1;
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            if (encode_value(L, -2, b, depth + 1) < 0 || encode_value(L, -1, b, depth + 1) < 0) {
                lua_pop(L, 2);
                return -1;
            }
            lua_pop(L, 1);
        }
        return put(b, "E", 1);
    default:
        return vs_fail("map: the function returned a %s; return nil, booleans, numbers, strings "
                       "or tables of them (copy what you need out of frames)",
                       luaL_typename(L, idx));
    }
}

static int call_map(worker *w, const vs_frame *f, int source, int64_t index, int64_t ordinal)
{
    vs_dataset *ds = w->ds;
    lua_State *L = w->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, w->fn_ref);
    lua_pushlightuserdata(L, (void *)f);
    lua_pushstring(L, ds->src[source].path);
    lua_pushnumber(L, (lua_Number)index);
    if (vs_lua_pcall(L, 3, 1) != 0) {
        if (stopping(ds)) { /* stopped by another frame's error or a signal: not an error of its own */
            lua_pop(L, 1);
            return 1;
        }
        w->fn_failed = 1;
        vs_fail("map function failed: %s", lua_tostring(L, -1));
        lua_pop(L, 1);
        return -1;
    }
    buf b = {0};
    int rc = encode_value(L, -1, &b, 0);
    lua_pop(L, 1);
    if (rc < 0) {
        w->fn_failed = 1;
        free(b.data);
        return -1;
    }
    int64_t k = ordinal - ds->lo;
    ds->results[k] = b.data;
    ds->result_len[k] = b.len;
    return 0;
}

/* ---------- runs ---------- */

static void free_run(vs_dataset *ds)
{
    for (int i = 0; i < ds->nw; i++) {
        worker *w = &ds->w[i];
        if (w->sws)
            sws_freeContext(w->sws);
        vs_frame_free(w->scratch);
        vs_frame_free(w->out);
        if (w->L)
            lua_close(w->L);
        pthread_cond_destroy(&w->room);
    }
    free(ds->w);
    ds->w = NULL;
    ds->nw = 0;
    for (int i = 0; i < ds->nall; i++)
        vs_frame_free(ds->all[i]);
    free(ds->all);
    free(ds->pool);
    free(ds->held);
    ds->all = ds->pool = ds->held = NULL;
    ds->nall = ds->npool = ds->nheld = 0;
}

static void join_workers(vs_dataset *ds)
{
    pthread_mutex_lock(&ds->mu);
    ds->stop = 1;
    wake_workers(ds);
    pthread_cond_broadcast(&ds->cond);
    pthread_cond_broadcast(&ds->slot_free);
    pthread_mutex_unlock(&ds->mu);
    for (int i = 0; i < ds->nw; i++)
        if (ds->w[i].started)
            pthread_join(ds->w[i].thread, NULL);
}

void vs_dataset_stop(vs_dataset *ds)
{
    if (!ds || !ds->running || ds->abandoned)
        return;
    join_workers(ds);
    free_run(ds);
    ds->running = 0;
}

static void clear_skipped(vs_dataset *ds)
{
    for (int i = 0; i < ds->nskip; i++)
        free(ds->skip[i].message);
    free(ds->skip);
    ds->skip = NULL;
    ds->nskip = 0;
}

static void clear_results(vs_dataset *ds)
{
    if (ds->results)
        for (int64_t k = 0; k < ds->hi - ds->lo; k++)
            free(ds->results[k]);
    free(ds->results);
    free(ds->result_len);
    ds->results = NULL;
    ds->result_len = NULL;
}

/* Allocates the lanes (and for batches the frame pool) and starts their
 * threads. Batches run the options' lanes, `workers` at once; a map's
 * results are in dataset order anyway, so each of its workers is a lane. */
static int launch(vs_dataset *ds, int workers, int mapping)
{
    if (check_usable(ds) < 0)
        return -1;
    if (check_workers(workers) < 0)
        return -1;
    vs_dataset_stop(ds);
    clear_skipped(ds);
    ds->mapping = mapping;
    if (workers == 0)
        workers = ds->o.workers;
    int nw = plan(ds, mapping ? workers : ds->o.lanes);
    if (nw < 0)
        return -1;
    ds->slots = workers < nw ? workers : nw;
    ds->busy = 0;
    ds->stop = 0;
    ds->finished = 0;
    ds->cur = 0;
    ds->fail_ordinal = -1;
    ds->fail_msg[0] = 0;
    if (!(ds->w = calloc((size_t)nw, sizeof *ds->w)))
        return vs_fail("out of memory");
    for (int i = 0; i < nw; i++)
        pthread_cond_init(&ds->w[i].room, NULL);
    ds->nw = ds->live = nw;
    for (int i = 0; i < ds->nunits; i++)
        ds->w[ds->units[i].worker].planned += ds->units[i].count;
    ds->running = 1;
    if (!ds->mapping) {
        int n = ds->o.batch * ds->clip + nw * QUEUE_DEPTH;
        ds->all = calloc((size_t)n, sizeof *ds->all);
        ds->pool = calloc((size_t)n, sizeof *ds->pool);
        ds->held = calloc((size_t)ds->o.batch * ds->clip, sizeof *ds->held);
        if (!ds->all || !ds->pool || !ds->held)
            goto oom;
        for (ds->nall = 0; ds->nall < n; ds->nall++)
            if (!(ds->all[ds->nall] = calloc(1, sizeof(vs_frame))))
                goto oom;
        memcpy(ds->pool, ds->all, (size_t)n * sizeof *ds->all);
        ds->npool = n;
    }
    for (int i = 0; i < nw; i++) {
        ds->w[i].ds = ds;
        ds->w[i].id = i;
        ds->w[i].fn_ref = LUA_NOREF;
        if (pthread_create(&ds->w[i].thread, NULL, worker_main, &ds->w[i]) != 0) {
            vs_dataset_stop(ds);
            return vs_fail("cannot start worker thread %d", i + 1);
        }
        ds->w[i].started = 1;
    }
    return 0;
oom:
    vs_dataset_stop(ds);
    return vs_fail("out of memory allocating the frame pool");
}

int vs_dataset_start(vs_dataset *ds, int workers)
{
    return launch(ds, workers, 0);
}

/* Under ds->mu, with a live lane: the one whose next sample is the least far
 * along its own plan (see "Batches"). */
static int next_lane(const vs_dataset *ds)
{
    int best = -1;
    for (int i = 0; i < ds->nw; i++) {
        const worker *w = &ds->w[i];
        if (w->done)
            continue;
        if (best < 0 || (w->taken + 1) * ds->w[best].planned < (ds->w[best].taken + 1) * w->planned)
            best = i;
    }
    return best;
}

int vs_dataset_next(vs_dataset *ds, vs_frame **frames, int32_t *sources, int64_t *indices)
{
    if (!ds->running || ds->mapping)
        return vs_fail("the dataset is not running (start it first)");
    pthread_mutex_lock(&ds->mu);
    for (int i = 0; i < ds->nheld; i++)
        ds->pool[ds->npool++] = ds->held[i];
    if (ds->nheld)
        wake_workers(ds);
    ds->nheld = 0;
    int n = 0;
    /* A lane's turn is one sample: `clip` frames in a row. */
    while (n < ds->o.batch * ds->clip && ds->live > 0) {
        if (n % ds->clip == 0)
            ds->cur = next_lane(ds);
        worker *w = &ds->w[ds->cur];
        while (w->count == 0)
            pthread_cond_wait(&ds->cond, &ds->mu);
        item it = w->queue[w->head];
        /* The frames gathered before an error are a batch of their own; the
         * error stays queued (and this worker's turn current) for the next call. */
        if (it.kind == ITEM_ERROR && n > 0)
            break;
        w->head = (w->head + 1) % QUEUE_DEPTH;
        w->count--;
        pthread_cond_signal(&w->room);
        if (it.kind == ITEM_END) {
            w->done = 1;
            ds->live--;
            continue;
        }
        if (it.kind == ITEM_ERROR) {
            char msg[MSG_MAX];
            snprintf(msg, sizeof msg, "%s", w->error);
            pthread_mutex_unlock(&ds->mu);
            vs_dataset_stop(ds);
            return vs_fail("%s", msg);
        }
        ds->held[ds->nheld++] = it.frame;
        frames[n] = it.frame;
        sources[n] = it.source;
        if (n % ds->clip == 0)
            w->taken++;
        indices[n] = it.index;
        n++;
    }
    int finished = ds->live == 0 && n == 0;
    pthread_mutex_unlock(&ds->mu);
    if (finished)
        vs_dataset_stop(ds);
    return n;
}

static int cmp_skipped(const void *a, const void *b)
{
    const skipped *x = a, *y = b;
    if (x->source != y->source)
        return x->source - y->source;
    return (x->index > y->index) - (x->index < y->index);
}

int vs_dataset_skipped(const vs_dataset *ds)
{
    if (ds->nskip > 1)
        qsort(ds->skip, (size_t)ds->nskip, sizeof *ds->skip, cmp_skipped);
    return ds->nskip;
}

const char *vs_dataset_skipped_message(const vs_dataset *ds, int k)
{
    return k >= 0 && k < ds->nskip ? ds->skip[k].message : NULL;
}

/* Waits for the map's workers; a signal stops them, and those still
 * running STOP_GRACE_S later are abandoned. Returns the signal or 0. */
static int wait_for_map(vs_dataset *ds, atomic_int *signalled)
{
    double deadline = 0;
    pthread_mutex_lock(&ds->mu);
    while (ds->finished < ds->nw && !(deadline && vs_now() > deadline)) {
        if (atomic_load(signalled) && !deadline) {
            ds->stop = 1;
            wake_workers(ds);
            deadline = vs_now() + STOP_GRACE_S;
        }
        vs_cond_wait_ms(&ds->cond, &ds->mu, 20);
    }
    int stuck = ds->finished < ds->nw;
    pthread_mutex_unlock(&ds->mu);
    for (int i = 0; i < ds->nw; i++) {
        if (stuck)
            pthread_detach(ds->w[i].thread);
        else
            pthread_join(ds->w[i].thread, NULL);
        ds->w[i].started = 0;
    }
    ds->abandoned = stuck;
    return atomic_load(signalled);
}

int vs_dataset_map(vs_dataset *ds, const char *chunk, size_t len, int workers)
{
    if (check_usable(ds) < 0)
        return -1;
    if (ds->clip > 1)
        return vs_fail("map runs on frames, not clips: make the dataset without clip");
    vs_dataset_stop(ds);
    clear_results(ds);
    int64_t n = ds->hi - ds->lo;
    ds->results = calloc((size_t)(n ? n : 1), sizeof *ds->results);
    ds->result_len = calloc((size_t)(n ? n : 1), sizeof *ds->result_len);
    if (!ds->results || !ds->result_len) {
        clear_results(ds);
        return vs_fail("out of memory for %lld results", (long long)n);
    }
    ds->chunk = chunk;
    ds->chunk_len = len;
    vs_interrupt saved;
    atomic_int *signalled = vs_interrupt_catch(&saved);
    int rc = launch(ds, workers, 1), sig = 0;
    if (rc == 0) {
        sig = wait_for_map(ds, signalled);
        if (sig)
            rc = vs_fail("map: interrupted by %s", vs_interrupt_name(sig));
        else if (ds->fail_msg[0])
            rc = vs_fail("%s", ds->fail_msg);
    }
    vs_interrupt_release(&saved);
    if (!ds->abandoned) { /* else a stuck worker still reads the run: keep it */
        vs_dataset_stop(ds);
        ds->mapping = 0;
        ds->chunk = NULL;
    }
    if (sig)
        raise(sig); /* the host's own Ctrl-C: luajit's, the REPL's, vstudio run's */
    return rc;
}

/* The source holding ordinal g (binary search over the sources' first ordinals). */
static int source_of(const vs_dataset *ds, int64_t g)
{
    int lo = 0, hi = ds->nsrc - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (ds->src[mid].ordinal <= g)
            lo = mid;
        else
            hi = mid - 1;
    }
    while (lo < ds->nsrc - 1 && ds->src[lo].selected == 0)
        lo++;
    return lo;
}

const char *vs_dataset_map_result(const vs_dataset *ds, int64_t k, size_t *len, int32_t *source,
                                  int64_t *index)
{
    if (!ds->results || k < 0 || k >= ds->hi - ds->lo)
        return NULL;
    int64_t g = ds->lo + k;
    int s = source_of(ds, g);
    *source = s;
    *index = ds->src[s].first + (g - ds->src[s].ordinal) * ds->o.every;
    *len = ds->result_len[k];
    return ds->results[k];
}

void vs_dataset_free(vs_dataset *ds)
{
    if (!ds || ds->abandoned)
        return; /* a stuck map worker may still read any of it */
    vs_dataset_stop(ds);
    clear_results(ds);
    clear_skipped(ds);
    for (int i = 0; i < ds->nsrc; i++)
        free_source(&ds->src[i]);
    free(ds->src);
    free(ds->units);
    free(ds->sort);
    pthread_mutex_destroy(&ds->mu);
    pthread_cond_destroy(&ds->cond);
    pthread_cond_destroy(&ds->slot_free);
    free(ds);
}
