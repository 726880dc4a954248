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
 * a clip_step apart, starts clip_stride apart, both counted in the frames
 * that `every` keeps (first, first + every, ...); everything below that counts
 * frames (ordinals, shards, units, a lane's turn) then counts clips, and a
 * lane delivers a clip's frames one after another.
 *
 * Plan. The dataset's order is a list of pieces: the sources as added, or
 * with shuffle_chunk every source cut into chunks of that many samples and
 * the chunks in the seed's order. Numbering the selected frames piece by
 * piece (frames ascending in each) gives each frame an ordinal 0..N-1.
 * Shard i of n owns the ordinals [i*N/n, (i+1)*N/n): contiguous, disjoint,
 * together everything, their sizes at most one frame apart. A shard's part
 * of one piece is a unit. Units go to lanes longest first (LPT by frames to
 * decode), each to the least loaded lane; a lane runs its units in the
 * dataset's order and decodes each video forward (a unit that starts inside a video
 * seeks there once, frame-exact, with vs_decoder_frame). The number of
 * lanes is an option (8 unless set, fewer when there are fewer units),
 * never the number of workers: that is what makes the batches the same on
 * a laptop and on a 32-core node.
 *
 * Lanes and workers. Each lane has its own thread; `workers` of them may
 * decode at once (a lane holds one of `workers` slots while it decodes or
 * transforms, and gives it up whenever it waits for a reservation), so the
 * worker count sets the speed and the CPU used, and nothing else. A free
 * slot goes to the waiting lane whose next reservation comes first, and a
 * lane that finished a sample gives its slot up to a waiting lane whose next
 * reservation is in an earlier batch: the batch the consumer waits for is
 * always being filled, so the window moves on and no core idles while one
 * lane catches up alone.
 *
 * Batches. The stream of samples is a schedule of turns: turn after turn
 * goes to the live lane that is least far along its plan (reserved + 1
 * over planned samples, the lower lane on a tie: lanes of equal length take
 * turns 0, 1, ..., 0, 1, ...). Lanes thus advance in proportion to their
 * lengths and end together, so no worker idles through a long lane's tail.
 * Turn p is position p of the stream, and position p has its place in a
 * batch buffer before anything is decoded: sample p % batch of the ring
 * buffer (p / batch) % nbuf. The schedule reserves the positions of the
 * ring's window (nbuf batches) ahead, each lane fills its reservations in
 * order, so a worker writes each frame straight into its place: a frame
 * (Lua's batches) or the bytes of the batch's own array in the caller's
 * layout and dtype (Python's arrays, save_npy), nothing copied after. The
 * consumer reads the positions in order; once a batch buffer's positions
 * are read it leaves the ring (a fresh one takes its place, and the window
 * moves on), so memory stays at nbuf + 2 batches however long the sources.
 * The order depends only on the plan, so only on the sources and options:
 * the same every run, with any number of workers. Only the last batch can
 * be short, and a batch cut short by an error. A lane that ends early (it
 * skipped frames under skip_errors) leaves its last reservations as holes;
 * the consumer steps over them and moves the later samples up (the one case
 * that copies), so skipped frames shorten no batch and the order is the
 * schedule's without the holes, whenever the lane ended. A lane's error
 * takes its next reservation, so it is raised when the consumer reaches
 * it, after every frame before it was delivered (the frames already
 * gathered go out as a batch first); with skip_errors the worker notes it
 * and goes on: with the folder's next image, or with its next unit after a
 * video (a decoder that failed mid-stream is not trusted to go on).
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
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <lua.h>

#include "decode.h"
#include "error.h"
#include "interrupt.h"
#include "lua_state.h"
#include "pool.h"
#include "progress.h"
#include "vstudio.h"

#define RESERVED_PER_LANE 4 /* the window holds at least this many turns per lane */
#define MAX_WORKERS 256
#define DEFAULT_LANES 8
#define STOP_GRACE_S 2.0 /* as the render engine's */
#define MSG_MAX 1024

/* A position's sample: reserved for its lane, written, a hole (its lane ended
 * first) or the lane's error. */
enum { SAMPLE_WAITING, SAMPLE_FILLED, SAMPLE_HOLE, SAMPLE_ERROR };

typedef struct source {
    char *path;
    int is_dir;
    vs_frame_list *files; /* folder images in frame order (framelist.c, as convert reads them) */
    int64_t frames;    /* frames in the source */
    int64_t first, end;
    int64_t selected;  /* samples: frames first, first + every, ... < end, or whole clips */
} source;

/* A run of a source's samples in the dataset's order (see "Plan"). */
typedef struct piece {
    int source;
    int64_t from, count; /* its samples from..from+count-1 */
    int64_t ordinal;     /* the ordinal of its first */
} piece;

typedef struct unit {
    int source;
    int64_t from, count; /* selected frames from..from+count-1 of the source */
    int64_t ordinal;     /* the ordinal of its first */
    int64_t cost;        /* frames to decode */
    int worker;
} unit;

/* One batch's place: batch * clip frames, each a frame (frames mode) or
 * frame_bytes of the array (array mode), and what each frame is. */
typedef struct batch_buf {
    uint8_t *array;
    vs_frame **frames;
    int32_t *sources;
    int64_t *indices;
} batch_buf;

/* One lane: a thread, its units, its reservations (see "Lanes and workers"). */
typedef struct worker {
    struct vs_dataset *ds;
    int id;
    pthread_t thread;
    int started;
    int64_t head, tail;        /* its reserved positions, a list through ds->link; -1: none */
    int64_t pos;               /* the reservation being filled, -1 none */
    batch_buf *buf;            /* pos's batch buffer */
    size_t slot;               /* pos's first frame in it */
    int frames_in;             /* frames of pos's sample written */
    int ended;                 /* no more samples: the schedule passes it over */
    char error[MSG_MAX];       /* SAMPLE_ERROR's message */
    struct SwsContext *sws;
    vs_frame *scratch;         /* decoded frame before transforms */
    vs_frame *out;             /* map mode: the transformed frame */
    lua_State *L;              /* map mode */
    int fn_ref;
    int fn_failed;             /* the error came from the map function: never skipped */
    int has_slot;              /* holds one of the run's decode slots (see slot_hold) */
    int wants_slot;            /* waits in slot_hold */
    int64_t planned, reserved; /* samples the plan gives this lane; turns the schedule gave it */
    pthread_cond_t room;       /* signalled when it gets a reservation, or on stop */
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
    int64_t stride;            /* kept frames (every N-th) between sample starts: 1, or clip_stride */
    int64_t lo, hi;            /* this shard's ordinals */
    piece *pieces;             /* the order, laid out by plan() */
    int64_t npieces;
    unit *units;
    int nunits;

    /* a run (batches or map) */
    int mapping;
    worker *w;
    int nw;
    pthread_mutex_t mu;        /* guards the schedule and ring, stop, skipped, map failure */
    pthread_cond_t cond;       /* the consumer's: a position was resolved */
    int stop;
    int running;
    int slots;                 /* lanes that may decode at once: the run's workers */
    int busy;                  /* slots taken */
    pthread_cond_t slot_free;  /* signalled when a slot is given back, or on stop */
    int finished;              /* map: workers that returned */
    int abandoned;             /* map: a worker stuck in a loop still runs; keep everything */

    /* the ring of batch buffers (see "Batches") */
    int arrays;                /* array mode: the frames go into arrays as below */
    vs_npy_layout layout;
    vs_npy_dtype dtype;
    int channels;
    int out_w, out_h;          /* array mode: the frames' size, fixed by the first frame written */
    size_t frame_bytes;        /* array mode: one frame in the array; 0 until out_w is known */
    int nbuf;
    int64_t window;            /* positions in the ring: nbuf * batch */
    batch_buf *ring;
    batch_buf out;             /* the batch being gathered, once it left the ring */
    batch_buf spare;           /* the buffers a fresh ring place takes */
    int detached;              /* out holds the batch being gathered */
    int held;                  /* frames mode: out is lent to the caller until the next call */
    unsigned char *state;      /* per window position (p % window): SAMPLE_* */
    int *owner;                /* its lane */
    int64_t *link;             /* the lane's next reservation, -1 */
    int64_t win_lo;            /* the ring's first position (a multiple of batch) */
    int64_t next_pos;          /* the next turn the schedule gives */
    int64_t sched_end;         /* positions in all once no lane takes more; -1 before */
    int64_t read_pos;          /* the consumer's next position */
    int gathered;              /* samples of the batch being gathered */
    char pending_error[MSG_MAX]; /* the error after a batch cut short by it */
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
    if (o->shuffle_chunk < 0)
        return vs_fail("shuffle chunk must be >= 1 samples (0: whole sources), got %lld",
                       (long long)o->shuffle_chunk), NULL;
    if (o->clip_length < 0 || o->clip_length > 4096 || o->clip_stride < 0 || o->clip_step < 0)
        return vs_fail("clip length %d, stride %d, step %d: need length 1..4096, stride and step >= 1",
                       o->clip_length, o->clip_stride, o->clip_step), NULL;
    if (o->clip_length > 1 && o->skip_errors)
        return vs_fail("clips take no on_error skip (a clip with a bad frame has no good place)"), NULL;
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
    ds->stride = ds->clip == 1 ? 1 : o->clip_stride ? o->clip_stride : (int64_t)ds->clip * ds->o.clip_step;
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
    /* samples whose last frame is before end, counted in kept frames (every
     * N-th of the range): a clip spans (clip - 1) * step + 1 of them */
    int64_t span = (int64_t)(ds->clip - 1) * ds->o.clip_step + 1;
    int64_t kept = s.end > s.first ? (s.end - s.first - 1) / ds->o.every + 1 : 0;
    s.selected = kept >= span ? (kept - span) / ds->stride + 1 : 0;
    if (ds->nsrc == ds->cap) {
        int cap = ds->cap ? ds->cap * 2 : 16;
        source *grown = realloc(ds->src, (size_t)cap * sizeof *grown);
        if (!grown)
            goto oom;
        ds->src = grown;
        ds->cap = cap;
    }
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

/* Fisher-Yates over n items of `size` (<= 64) bytes: a permutation fixed by the seed alone. */
static void permute(void *items, int64_t n, size_t size, uint64_t seed)
{
    unsigned char *a = items, t[64];
    uint64_t state = seed;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(next_random(&state) % (uint64_t)(i + 1));
        memcpy(t, a + i * size, size);
        memcpy(a + i * size, a + j * size, size);
        memcpy(a + j * size, t, size);
    }
}

void vs_dataset_shuffle(int n, uint64_t seed, int32_t *order)
{
    for (int i = 0; i < n; i++)
        order[i] = i;
    permute(order, n, sizeof *order, seed);
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

static int cmp_unit_ordinal(const void *a, const void *b)
{
    const unit *x = a, *y = b;
    return (x->ordinal > y->ordinal) - (x->ordinal < y->ordinal);
}

static int cmp_unit_cost(const void *a, const void *b)
{
    const unit *x = a, *y = b;
    if (x->cost != y->cost)
        return x->cost > y->cost ? -1 : 1;
    return cmp_unit_ordinal(a, b);
}

/* The dataset's order as pieces (see "Plan"), each with its first ordinal. */
static int layout(vs_dataset *ds)
{
    int64_t chunk = ds->o.shuffle_chunk, n = 0;
    for (int i = 0; i < ds->nsrc; i++)
        n += chunk > 0 ? (ds->src[i].selected + chunk - 1) / chunk : ds->src[i].selected > 0;
    piece *p = calloc((size_t)(n ? n : 1), sizeof *p);
    if (!p)
        return vs_fail("out of memory for %lld pieces", (long long)n);
    int64_t k = 0;
    for (int i = 0; i < ds->nsrc; i++) {
        int64_t size = chunk > 0 ? chunk : ds->src[i].selected;
        for (int64_t from = 0; from < ds->src[i].selected; from += size, k++) {
            p[k].source = i;
            p[k].from = from;
            p[k].count = ds->src[i].selected - from < size ? ds->src[i].selected - from : size;
        }
    }
    if (chunk > 0)
        permute(p, n, sizeof *p, ds->o.shuffle_seed);
    for (int64_t j = 0, ordinal = 0; j < n; ordinal += p[j].count, j++)
        p[j].ordinal = ordinal;
    free(ds->pieces);
    ds->pieces = p;
    ds->npieces = n;
    return 0;
}

/* Cuts this shard into units and assigns them to lanes; returns the lane count used. */
static int plan(vs_dataset *ds, int lanes)
{
    if (lanes < 0 || lanes > MAX_WORKERS)
        return vs_fail("lanes must be 1..%d, got %d", MAX_WORKERS, lanes);
    free(ds->units);
    ds->units = NULL;
    ds->nunits = 0;
    if (layout(ds) < 0)
        return -1;
    if (ds->npieces > INT32_MAX / 2) /* units are counted in an int */
        return vs_fail("%lld pieces: take a larger shuffle chunk", (long long)ds->npieces);
    if (ds->npieces && !(ds->units = calloc((size_t)ds->npieces, sizeof *ds->units)))
        return vs_fail("out of memory");
    for (int64_t k = 0; k < ds->npieces; k++) {
        const piece *pc = &ds->pieces[k];
        const source *s = &ds->src[pc->source];
        int64_t a = pc->ordinal > ds->lo ? pc->ordinal : ds->lo;
        int64_t b = pc->ordinal + pc->count < ds->hi ? pc->ordinal + pc->count : ds->hi;
        if (b <= a)
            continue;
        unit *u = &ds->units[ds->nunits++];
        u->source = pc->source;
        u->from = pc->from + (a - pc->ordinal);
        u->count = b - a;
        u->ordinal = a;
        /* A video decodes every frame from the unit's first to its last; images load one by one. */
        int64_t span = (int64_t)(ds->clip - 1) * ds->o.clip_step + 1;
        u->cost = s->is_dir ? u->count * ds->clip : ((u->count - 1) * ds->stride + span - 1) * ds->o.every + 1;
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
    qsort(ds->units, (size_t)ds->nunits, sizeof *ds->units, cmp_unit_ordinal);
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
    for (int i = 0; i < ds->nunits; i++) /* a source cut in chunks: the lane of its first */
        if (lane_of[ds->units[i].source] < 0)
            lane_of[ds->units[i].source] = ds->units[i].worker;
    return nw;
}

/* ---------- transforms ---------- */

/* Where a source frame's pixels go: its rectangle cx, cy, cw x ch fills the
 * rectangle dx, dy, dw x dh of an out_w x out_h frame (black bars around it
 * for fit), resized when the sizes differ. */
typedef struct geometry {
    int cx, cy, cw, ch;
    int dx, dy, dw, dh;
    int out_w, out_h;
} geometry;

static int clamp(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* The rectangle `fit` scales a cw x ch source to inside a w x h frame. */
static void fit_size(int cw, int ch, int w, int h, int *dw, int *dh)
{
    double sx = (double)w / cw, sy = (double)h / ch, s = sx < sy ? sx : sy;
    *dw = clamp((int)(cw * s + 0.5), 1, w);
    *dh = clamp((int)(ch * s + 0.5), 1, h);
}

/* The geometry of a width x height source under the options: the crop, then
 * the size. Fill keeps the centre of the crop that has out's aspect ratio;
 * fit scales the whole crop into a centred rectangle of out. */
static int geometry_of(const vs_dataset *ds, int width, int height, geometry *g)
{
    const vs_dataset_options *o = &ds->o;
    *g = (geometry){0, 0, width, height, 0, 0, width, height, width, height};
    if (o->crop_w > 0) {
        if ((int64_t)o->crop_x + o->crop_w > width || (int64_t)o->crop_y + o->crop_h > height)
            return vs_fail("crop %dx%d at %d,%d does not fit the %dx%d frame", o->crop_w, o->crop_h,
                           o->crop_x, o->crop_y, width, height);
        *g = (geometry){o->crop_x, o->crop_y, o->crop_w, o->crop_h, 0, 0, o->crop_w, o->crop_h, 0, 0};
    }
    g->out_w = g->dw = o->width > 0 ? o->width : g->cw;
    g->out_h = g->dh = o->height > 0 ? o->height : g->ch;
    double sx = (double)g->dw / g->cw, sy = (double)g->dh / g->ch;
    if (o->resize == VS_DATASET_FILL && sx != sy) {
        double s = sx > sy ? sx : sy;
        int sw = clamp((int)(g->dw / s + 0.5), 1, g->cw), sh = clamp((int)(g->dh / s + 0.5), 1, g->ch);
        g->cx += (g->cw - sw) / 2;
        g->cy += (g->ch - sh) / 2;
        g->cw = sw;
        g->ch = sh;
    } else if (o->resize == VS_DATASET_FIT && sx != sy) {
        fit_size(g->cw, g->ch, g->out_w, g->out_h, &g->dw, &g->dh);
        g->dx = (g->out_w - g->dw) / 2;
        g->dy = (g->out_h - g->dh) / 2;
    }
    return 0;
}

/* The geometry of what is left once the rectangle is resized (by the
 * decoder): a dw x dh frame placed between the bars. */
static geometry placed(const geometry *g)
{
    return (geometry){0, 0, g->dw, g->dh, g->dx, g->dy, g->dw, g->dh, g->out_w, g->out_h};
}

/* Nothing to do: the source is the output as it is. */
static int is_identity(const vs_dataset *ds, const geometry *g)
{
    return !ds->o.gray && g->cx == 0 && g->cy == 0 && g->dx == 0 && g->dy == 0 && g->cw == g->out_w &&
           g->ch == g->out_h && g->dw == g->out_w && g->dh == g->out_h;
}

/* The swscale filter of a resize, for videos and images alike: when
 * shrinking an area average (each source pixel weighs by the area it
 * covers: no aliasing, however large the factor, at half bicubic's cost on
 * a 1280 -> 224 shrink), else bicubic. */
static int filter_of(const geometry *g)
{
    int shrinks = g->dw <= g->cw && g->dh <= g->ch && (g->dw < g->cw || g->dh < g->ch);
    return shrinks ? SWS_AREA : SWS_BICUBIC;
}

/* Resizes a batch frame in place, keeping the vs_frame pointer. */
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

/* in -> out (already g->out_w x g->out_h) by the geometry: crop, resize,
 * bars, gray. */
static int transform(worker *w, const vs_frame *in, vs_frame *out, const geometry *g)
{
    if (g->dw != g->out_w || g->dh != g->out_h)
        vs_frame_fill(out, 0, 0, 0, 255);
    const uint8_t *src = in->data + (size_t)g->cy * in->stride + (size_t)g->cx * 4;
    uint8_t *to = out->data + (size_t)g->dy * out->stride + (size_t)g->dx * 4;
    if (g->cw == g->dw && g->ch == g->dh) {
        for (int y = 0; y < g->ch; y++)
            memcpy(to + (size_t)y * out->stride, src + (size_t)y * in->stride, (size_t)g->cw * 4);
    } else {
        w->sws = sws_getCachedContext(w->sws, g->cw, g->ch, AV_PIX_FMT_RGBA, g->dw, g->dh, AV_PIX_FMT_RGBA,
                                      filter_of(g), NULL, NULL, NULL);
        if (!w->sws)
            return vs_fail("cannot resize %dx%d to %dx%d", g->cw, g->ch, g->dw, g->dh);
        const uint8_t *planes[4] = {src, NULL, NULL, NULL};
        int strides[4] = {in->stride, 0, 0, 0};
        uint8_t *dst[4] = {to, NULL, NULL, NULL};
        int dst_strides[4] = {out->stride, 0, 0, 0};
        sws_scale(w->sws, planes, strides, 0, g->ch, dst, dst_strides);
    }
    if (w->ds->o.gray) {
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

/* Under ds->mu: every worker waiting for a reservation looks again. */
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
        pthread_cond_broadcast(&w->ds->slot_free); /* the waiter that comes first takes it */
    }
}

/* Under ds->mu: the position the lane works towards, INT64_MAX before it has one. */
static int64_t next_need(const worker *w)
{
    return w->pos >= 0 ? w->pos : w->head >= 0 ? w->head : INT64_MAX;
}

/* Under ds->mu: a lane waiting for a slot comes before w: its next
 * reservation is earlier (by position, or only by batch with by_batch). */
static int earlier_waiter(const worker *w, int by_batch)
{
    const vs_dataset *ds = w->ds;
    int64_t mine = next_need(w), unit = by_batch ? ds->o.batch : 1;
    for (int i = 0; i < ds->nw; i++) {
        const worker *v = &ds->w[i];
        int64_t theirs = next_need(v);
        if (v != w && v->wants_slot && theirs != INT64_MAX &&
            (mine == INT64_MAX || theirs / unit < mine / unit || (!by_batch && theirs == mine && v->id < w->id)))
            return 1;
    }
    return 0;
}

/* Makes sure the lane holds a decode slot before it works (it keeps it
 * until it waits or yields, so a lane decodes several frames in a row on a
 * warm core); 0, or 1 when stopping. */
static int slot_hold(worker *w)
{
    vs_dataset *ds = w->ds;
    if (w->has_slot)
        return 0;
    pthread_mutex_lock(&ds->mu);
    w->wants_slot = 1;
    while (!ds->stop && (ds->busy >= ds->slots || earlier_waiter(w, 0)))
        pthread_cond_wait(&ds->slot_free, &ds->mu);
    w->wants_slot = 0;
    int stop = ds->stop;
    if (!stop) {
        ds->busy++;
        w->has_slot = 1;
    }
    pthread_cond_broadcast(&ds->slot_free); /* the next waiter may now be first */
    pthread_mutex_unlock(&ds->mu);
    return stop;
}

static int stopping(vs_dataset *ds)
{
    pthread_mutex_lock(&ds->mu);
    int s = ds->stop;
    pthread_mutex_unlock(&ds->mu);
    return s;
}

/* The ring buffer that holds position p. */
static batch_buf *buf_of(vs_dataset *ds, int64_t p)
{
    return &ds->ring[(p / ds->o.batch) % ds->nbuf];
}

static size_t array_bytes(const vs_dataset *ds)
{
    return (size_t)ds->o.batch * ds->clip * ds->frame_bytes;
}

/* Under ds->mu: the live lane whose next turn is the least far along its
 * plan (see "Batches"); -1 when no lane takes more. */
static int next_lane(const vs_dataset *ds)
{
    int best = -1;
    for (int i = 0; i < ds->nw; i++) {
        const worker *w = &ds->w[i];
        if (w->ended || w->reserved >= w->planned)
            continue;
        if (best < 0 || (w->reserved + 1) * ds->w[best].planned < (ds->w[best].reserved + 1) * w->planned)
            best = i;
    }
    return best;
}

/* Under ds->mu: gives out the turns of the ring's window. */
static void schedule(vs_dataset *ds)
{
    while (ds->sched_end < 0 && ds->next_pos < ds->win_lo + ds->window) {
        int l = next_lane(ds);
        if (l < 0) {
            ds->sched_end = ds->next_pos;
            pthread_cond_signal(&ds->cond);
            return;
        }
        worker *w = &ds->w[l];
        int64_t p = ds->next_pos++, k = p % ds->window;
        ds->state[k] = SAMPLE_WAITING;
        ds->owner[k] = l;
        ds->link[k] = -1;
        if (w->tail >= 0)
            ds->link[w->tail % ds->window] = p;
        else
            w->head = p;
        w->tail = p;
        w->reserved++;
        pthread_cond_signal(&w->room);
    }
}

/* The lane's next reservation, kept until resolved: waits for it (giving
 * up the decode slot); 0, or 1 when stopping. */
static int reserve(worker *w)
{
    vs_dataset *ds = w->ds;
    if (w->pos >= 0)
        return 0;
    pthread_mutex_lock(&ds->mu);
    /* a lane asks only for samples of its plan, which the schedule gives it in time */
    while (!ds->stop && w->head < 0 && w->reserved < w->planned) {
        drop_slot(w);
        pthread_cond_wait(&w->room, &ds->mu);
    }
    if (!ds->stop && w->head >= 0) {
        w->pos = w->head;
        w->buf = buf_of(ds, w->pos);
        w->slot = (size_t)(w->pos % ds->o.batch) * ds->clip;
    }
    pthread_mutex_unlock(&ds->mu);
    return w->pos < 0;
}

/* Under ds->mu, array mode: the first frame written fixes the frames' size
 * and the arrays are made for it. */
static int set_frame_size(vs_dataset *ds, int width, int height)
{
    ds->out_w = width;
    ds->out_h = height;
    ds->frame_bytes = (size_t)width * height * ds->channels * (ds->dtype == VS_NPY_FLOAT32 ? 4 : 1);
    for (int i = 0; i < ds->nbuf; i++)
        if (!(ds->ring[i].array = malloc(array_bytes(ds))))
            return vs_fail("out of memory for a batch of %zu bytes", array_bytes(ds));
    if (ds->detached && !(ds->out.array = malloc(array_bytes(ds))))
        return vs_fail("out of memory for a batch of %zu bytes", array_bytes(ds));
    return 0;
}

/* Where the reservation's next frame f goes in its batch's array. */
static int array_target(worker *w, const vs_frame *f, uint8_t **dst)
{
    vs_dataset *ds = w->ds;
    int rc = 0;
    pthread_mutex_lock(&ds->mu);
    if (!ds->frame_bytes)
        rc = set_frame_size(ds, f->width, f->height);
    if (rc == 0 && (f->width != ds->out_w || f->height != ds->out_h))
        rc = vs_fail("a %dx%d frame after %dx%d ones: frames of different sizes in one array; "
                     "give the dataset a size", f->width, f->height, ds->out_w, ds->out_h);
    if (rc == 0)
        *dst = w->buf->array + (w->slot + (size_t)w->frames_in) * ds->frame_bytes;
    pthread_mutex_unlock(&ds->mu);
    return rc;
}

/* One RGBA frame as the array's rows: h x w x channels (VS_NPY_NHWC) or
 * channels x h x w (VS_NPY_NCHW), uint8 or float32 in [0, 1]; channels 1
 * is R (the luma of a gray frame). One pass over the frame. */
static void store_frame(const vs_frame *fr, vs_npy_layout layout, vs_npy_dtype dtype, int channels,
                        uint8_t *dst)
{
    int w = fr->width, h = fr->height;
    size_t plane = (size_t)w * h;
    for (int y = 0; y < h; y++) {
        const uint8_t *p = fr->data + (size_t)y * fr->stride;
        size_t row = (size_t)y * w;
        if (layout == VS_NPY_NHWC && dtype == VS_NPY_UINT8) {
            uint8_t *d = dst + row * channels;
            if (channels == 4) {
                memcpy(d, p, (size_t)w * 4);
            } else if (channels == 3) {
                for (int x = 0; x < w; x++, d += 3, p += 4) {
                    d[0] = p[0];
                    d[1] = p[1];
                    d[2] = p[2];
                }
            } else {
                for (int x = 0; x < w; x++)
                    d[x] = p[x * 4];
            }
        } else if (layout == VS_NPY_NHWC) {
            float *d = (float *)(void *)dst + row * channels;
            for (int x = 0; x < w; x++)
                for (int c = 0; c < channels; c++)
                    d[x * channels + c] = p[x * 4 + c] / 255.0f;
        } else {
            for (int c = 0; c < channels; c++) {
                if (dtype == VS_NPY_UINT8) {
                    uint8_t *d = dst + c * plane + row;
                    for (int x = 0; x < w; x++)
                        d[x] = p[x * 4 + c];
                } else {
                    float *d = (float *)(void *)dst + c * plane + row;
                    for (int x = 0; x < w; x++)
                        d[x] = p[x * 4 + c] / 255.0f;
                }
            }
        }
    }
}

/* Under ds->mu: the lane's reservation is resolved as `state`. */
static void resolve_locked(worker *w, int state)
{
    vs_dataset *ds = w->ds;
    int64_t k = w->pos % ds->window;
    ds->state[k] = (unsigned char)state;
    w->head = ds->link[k];
    if (w->head < 0)
        w->tail = -1;
    w->pos = -1;
    w->frames_in = 0;
    pthread_cond_signal(&ds->cond);
}

/* The reservation's next frame is written: labelled, and its sample resolved when whole. */
static int written(worker *w, int source, int64_t index)
{
    vs_dataset *ds = w->ds;
    w->buf->sources[w->slot + (size_t)w->frames_in] = source;
    w->buf->indices[w->slot + (size_t)w->frames_in] = index;
    if (++w->frames_in == ds->clip) {
        pthread_mutex_lock(&ds->mu);
        resolve_locked(w, SAMPLE_FILLED);
        if (earlier_waiter(w, 1))
            drop_slot(w); /* the consumer waits for that batch before this lane's */
        pthread_mutex_unlock(&ds->mu);
    }
    return 0;
}

/* The lane has no more samples: its reservations left are holes. */
static void lane_end(worker *w)
{
    vs_dataset *ds = w->ds;
    pthread_mutex_lock(&ds->mu);
    w->ended = 1;
    for (int64_t p = w->head; p >= 0; p = ds->link[p % ds->window])
        ds->state[p % ds->window] = SAMPLE_HOLE;
    w->head = w->tail = w->pos = -1;
    schedule(ds);
    pthread_cond_signal(&ds->cond);
    pthread_mutex_unlock(&ds->mu);
}

/* The lane's error takes its next reservation (see "Batches"). */
static void lane_error(worker *w, const char *msg)
{
    vs_dataset *ds = w->ds;
    snprintf(w->error, sizeof w->error, "%s", msg);
    if (reserve(w) == 0) {
        pthread_mutex_lock(&ds->mu);
        resolve_locked(w, SAMPLE_ERROR);
        pthread_mutex_unlock(&ds->mu);
    }
    lane_end(w);
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

/* The frame in, transformed by g (into the lane's w->out); in itself when g is NULL. */
static const vs_frame *transformed(worker *w, const vs_frame *in, const geometry *g)
{
    if (!g)
        return in;
    if (!w->out && !(w->out = calloc(1, sizeof *w->out)))
        return vs_fail("out of memory"), NULL;
    if (ensure_size(w->out, g->out_w, g->out_h) < 0 || transform(w, in, w->out, g) < 0)
        return NULL;
    return w->out;
}

/* Hands one selected frame on: into its place in a batch, or to the map
 * function. `in` is the decoded frame and g what is left to do to it (NULL:
 * nothing); with spare (in itself, a frame the caller frees next) a batch
 * frame takes in's pixels instead of a copy and leaves in its old ones.
 * Returns 0, 1 when stopping, -1 on error. */
static int deliver(worker *w, const vs_frame *in, vs_frame *spare, const geometry *g, int source, int64_t index,
                   int64_t ordinal)
{
    vs_dataset *ds = w->ds;
    if (ds->mapping) {
        const vs_frame *f = transformed(w, in, g);
        return f ? call_map(w, f, source, index, ordinal) : -1;
    }
    if (reserve(w) || slot_hold(w))
        return 1;
    if (ds->arrays) {
        const vs_frame *f = transformed(w, in, g);
        uint8_t *dst = NULL;
        if (!f || array_target(w, f, &dst) < 0)
            return -1;
        store_frame(f, ds->layout, ds->dtype, ds->channels, dst);
    } else {
        vs_frame *dst = w->buf->frames[w->slot + (size_t)w->frames_in];
        if (!g && spare) {
            vs_frame mine = *dst; /* 8 MB not copied at 1080p */
            *dst = *spare;
            *spare = mine;
        } else if (ensure_size(dst, g ? g->out_w : in->width, g ? g->out_h : in->height) < 0 ||
                   (g ? transform(w, in, dst, g) : vs_frame_copy_into(dst, in)) < 0) {
            return -1;
        }
    }
    return written(w, source, index);
}

/* Frame t (0-based, < clip) of sample j of source s. */
static int64_t frame_of(const vs_dataset *ds, const source *s, int64_t j, int t)
{
    return s->first + (j * ds->stride + (int64_t)t * ds->o.clip_step) * ds->o.every;
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
        geometry g;
        int rc = f ? geometry_of(ds, f->width, f->height, &g) : -1;
        if (rc == 0)
            rc = deliver(w, f, f, is_identity(ds, &g) ? NULL : &g, u->source, index, u->ordinal + (j - u->from));
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

/* How a video's frames are made (see run_video). */
typedef struct video_plan {
    geometry g;     /* from the decoded frame to the output */
    int in_decoder; /* the decoder's conversion crops and resizes (g's crop is on the chroma grid) */
    int dw, dh;     /* the decoder's frames */
    geometry rest;  /* what is left to do to them */
    int has_rest;   /* 0: nothing, the decoder's frames are the output */
    int direct;     /* frames mode with nothing left: decode straight into the batch's frames */
} video_plan;

/* Decodes frame i of the open video, a kept one, and passes it on (straight
 * into its batch's frame when plan->direct). Returns 0, 1 when stopping,
 * -1 on error. */
static int video_frame(worker *w, vs_decoder *dec, const video_plan *plan, int source, int64_t i,
                       int64_t ordinal)
{
    vs_dataset *ds = w->ds;
    if (stopping(ds))
        return 1;
    vs_frame *target = w->scratch;
    int rc;
    if (plan->direct) {
        if (reserve(w))
            return 1;
        target = w->buf->frames[w->slot + (size_t)w->frames_in];
        if ((rc = ensure_size(target, plan->dw, plan->dh)) < 0)
            return rc;
    }
    /* by number, so frames are labelled as the decoder's index numbers them
     * (forward from the second frame on, or a frame-exact seek past a far gap) */
    if (slot_hold(w))
        return 1;
    const geometry *g = &plan->g;
    rc = plan->in_decoder ? vs_decoder_frame_rect(dec, i, g->cx, g->cy, g->cw, g->ch, target, filter_of(g))
                          : vs_decoder_frame(dec, i, target);
    if (rc < 0)
        return rc; /* the decoder's message names the file and the frame */
    if (plan->direct)
        return written(w, source, i);
    rc = deliver(w, w->scratch, NULL, plan->has_rest ? &plan->rest : NULL, source, i, ordinal);
    if (rc < 0)
        vs_error_prefix("%s: frame %lld", ds->src[source].path, (long long)i);
    return rc;
}

/* Crop and resize happen in the decoder's conversion from the decoded
 * planes (one pass at the output size, no full-size RGBA frame between)
 * when the crop starts on the chroma grid (even x and y in 4:2:0, as every
 * fill of an even-sized video) of a format whose planes can be offset (not
 * a bitstream or hardware one); else the frame is converted whole and cut
 * and resized here. */
static int plan_video(const vs_dataset *ds, const vs_probe_info *info, video_plan *p)
{
    memset(p, 0, sizeof *p);
    if (geometry_of(ds, info->width, info->height, &p->g) < 0)
        return -1;
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(av_get_pix_fmt(info->pix_fmt));
    p->in_decoder = desc && !(desc->flags & (AV_PIX_FMT_FLAG_BITSTREAM | AV_PIX_FMT_FLAG_HWACCEL)) &&
                    p->g.cx % (1 << desc->log2_chroma_w) == 0 && p->g.cy % (1 << desc->log2_chroma_h) == 0;
    p->dw = p->in_decoder ? p->g.dw : info->width;
    p->dh = p->in_decoder ? p->g.dh : info->height;
    p->rest = p->in_decoder ? placed(&p->g) : p->g;
    p->has_rest = !is_identity(ds, &p->rest);
    p->direct = !ds->mapping && !ds->arrays && !p->has_rest;
    return 0;
}

static int run_video(worker *w, const unit *u)
{
    vs_dataset *ds = w->ds;
    const source *s = &ds->src[u->source];
    vs_decoder *dec = vs_decoder_open(s->path, 1);
    if (!dec)
        return -1;
    vs_probe_info info;
    video_plan plan;
    int rc = vs_decoder_info(dec, &info);
    if (rc < 0)
        goto done;
    if (!w->scratch && !(w->scratch = calloc(1, sizeof *w->scratch))) {
        rc = vs_fail("out of memory");
        goto done;
    }
    if ((rc = plan_video(ds, &info, &plan)) < 0) {
        vs_error_prefix("%s: frame %lld", s->path, (long long)frame_of(ds, s, u->from, 0));
        goto done;
    }
    if ((rc = ensure_size(w->scratch, plan.dw, plan.dh)) < 0)
        goto done;
    if (ds->clip > 1) {
        /* Each clip's frames by number: forward, except where clips overlap
         * (the decoder's recent frames, or a frame-exact seek back). */
        for (int64_t j = u->from; rc == 0 && j < u->from + u->count; j++)
            for (int t = 0; rc == 0 && t < ds->clip; t++)
                rc = video_frame(w, dec, &plan, u->source, frame_of(ds, s, j, t), -1);
        goto done;
    }
    /* A unit that starts inside the video (a shard boundary, a range) seeks
     * to its first frame: frame-exact, then forward from there. */
    int64_t want = frame_of(ds, s, u->from, 0);
    int64_t last = frame_of(ds, s, u->from + u->count - 1, 0);
    /* only the kept frames are asked for: the decoder decodes the ones between
     * (or seeks past them to a keyframe) without converting them */
    for (int64_t i = want; rc == 0 && i <= last; i += ds->o.every)
        rc = video_frame(w, dec, &plan, u->source, i, u->ordinal + (i - s->first) / ds->o.every - u->from);
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
    else if (!stopping(ds))
        note_map_failure(ds, -1, vs_last_error()); /* a state stopped while set up: the stop's cause wins */
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
            note_map_failure(ds, u->ordinal, msg);
            return;
        }
        lane_error(w, msg);
        return;
    }
    if (!ds->mapping)
        lane_end(w);
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

static void free_buf(batch_buf *b, int frames)
{
    for (int i = 0; b->frames && i < frames; i++)
        vs_frame_free(b->frames[i]);
    free(b->frames);
    free(b->array);
    free(b->sources);
    free(b->indices);
    memset(b, 0, sizeof *b);
}

/* A batch's labels, and its frames in frames mode (sized by the first frame
 * written); an array's bytes come with the frames' size. */
static int new_buf(vs_dataset *ds, batch_buf *b)
{
    int frames = ds->o.batch * ds->clip;
    b->sources = calloc((size_t)frames, sizeof *b->sources);
    b->indices = calloc((size_t)frames, sizeof *b->indices);
    if (!b->sources || !b->indices)
        return -1;
    if (ds->arrays)
        return 0;
    if (!(b->frames = calloc((size_t)frames, sizeof *b->frames)))
        return -1;
    for (int i = 0; i < frames; i++)
        if (!(b->frames[i] = calloc(1, sizeof(vs_frame))))
            return -1;
    return 0;
}

/* The ring (see "Batches"): enough batches for RESERVED_PER_LANE turns per
 * lane past the one being gathered, at least two. */
static int new_ring(vs_dataset *ds, int lanes)
{
    int batch = ds->o.batch;
    ds->nbuf = 1 + (lanes * RESERVED_PER_LANE + batch - 1) / batch;
    if (ds->nbuf < 2)
        ds->nbuf = 2;
    ds->window = (int64_t)ds->nbuf * batch;
    ds->ring = calloc((size_t)ds->nbuf, sizeof *ds->ring);
    ds->state = calloc((size_t)ds->window, sizeof *ds->state);
    ds->owner = calloc((size_t)ds->window, sizeof *ds->owner);
    ds->link = calloc((size_t)ds->window, sizeof *ds->link);
    if (!ds->ring || !ds->state || !ds->owner || !ds->link)
        return -1;
    for (int i = 0; i < ds->nbuf; i++)
        if (new_buf(ds, &ds->ring[i]) < 0)
            return -1;
    if (new_buf(ds, &ds->spare) < 0)
        return -1;
    ds->out_w = ds->out_h = 0;
    ds->frame_bytes = 0;
    ds->win_lo = ds->next_pos = ds->read_pos = 0;
    ds->sched_end = -1;
    ds->gathered = 0;
    ds->pending_error[0] = 0;
    for (int i = 0; i < ds->nw; i++)
        ds->w[i].head = ds->w[i].tail = ds->w[i].pos = -1;
    schedule(ds);
    return 0;
}

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
    int frames = ds->o.batch * ds->clip;
    for (int i = 0; ds->ring && i < ds->nbuf; i++)
        free_buf(&ds->ring[i], frames);
    free_buf(&ds->out, frames);
    free_buf(&ds->spare, frames);
    free(ds->ring);
    free(ds->state);
    free(ds->owner);
    free(ds->link);
    ds->ring = NULL;
    ds->state = NULL;
    ds->owner = NULL;
    ds->link = NULL;
    ds->nbuf = 0;
    ds->detached = ds->held = 0;
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
    ds->fail_ordinal = -1;
    ds->fail_msg[0] = 0;
    if (!(ds->w = calloc((size_t)nw, sizeof *ds->w)))
        return vs_fail("out of memory");
    for (int i = 0; i < nw; i++)
        pthread_cond_init(&ds->w[i].room, NULL);
    ds->nw = nw;
    for (int i = 0; i < ds->nunits; i++)
        ds->w[ds->units[i].worker].planned += ds->units[i].count;
    ds->running = 1;
    if (!ds->mapping && new_ring(ds, nw) < 0)
        goto oom;
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
    return vs_fail("out of memory allocating the batch buffers");
}

int vs_dataset_start(vs_dataset *ds, int workers)
{
    vs_dataset_stop(ds);
    ds->arrays = 0;
    return launch(ds, workers, 0);
}

int vs_dataset_start_arrays(vs_dataset *ds, int workers, vs_npy_layout layout, vs_npy_dtype dtype,
                            int channels)
{
    if (layout != VS_NPY_NHWC && layout != VS_NPY_NCHW)
        return vs_fail("layout must be VS_NPY_NHWC or VS_NPY_NCHW, got %d", (int)layout);
    if (dtype != VS_NPY_UINT8 && dtype != VS_NPY_FLOAT32)
        return vs_fail("dtype must be VS_NPY_UINT8 or VS_NPY_FLOAT32, got %d", (int)dtype);
    if (channels != 1 && channels != 3 && channels != 4)
        return vs_fail("channels must be 1, 3 or 4, got %d", channels);
    vs_dataset_stop(ds);
    ds->arrays = 1;
    ds->layout = layout;
    ds->dtype = dtype;
    ds->channels = channels;
    return launch(ds, workers, 0);
}

/* Under ds->mu: the batch being gathered leaves the ring (its positions
 * are read); a fresh buffer takes its place and the window moves on. */
static int detach(vs_dataset *ds)
{
    int i = (int)((ds->win_lo / ds->o.batch) % ds->nbuf);
    ds->out = ds->ring[i];
    ds->ring[i] = ds->spare;
    memset(&ds->spare, 0, sizeof ds->spare);
    ds->detached = 1;
    if (ds->arrays && ds->frame_bytes && !(ds->ring[i].array = malloc(array_bytes(ds))))
        return vs_fail("out of memory for a batch of %zu bytes", array_bytes(ds));
    ds->win_lo += ds->o.batch;
    schedule(ds);
    return 0;
}

/* Under ds->mu: the filled sample at position p becomes sample n of the
 * batch being gathered; it is already there unless holes came before it. */
static void move_sample(vs_dataset *ds, int64_t p, int n)
{
    batch_buf *from = buf_of(ds, p), *to = ds->detached ? &ds->out : buf_of(ds, ds->win_lo);
    size_t a = (size_t)(p % ds->o.batch) * ds->clip, b = (size_t)n * ds->clip;
    if (from == to && a == b)
        return;
    for (int t = 0; t < ds->clip; t++) {
        to->sources[b + t] = from->sources[a + t];
        to->indices[b + t] = from->indices[a + t];
        if (!ds->arrays) { /* frames trade places */
            vs_frame *f = to->frames[b + t];
            to->frames[b + t] = from->frames[a + t];
            from->frames[a + t] = f;
        }
    }
    if (ds->arrays)
        memcpy(to->array + b * ds->frame_bytes, from->array + a * ds->frame_bytes, ds->clip * ds->frame_bytes);
}

/* Under ds->mu: reads positions in order into the batch being gathered
 * until it is full, the stream ends or an error comes. Returns the samples
 * gathered, -1 on an error, VS_DATASET_WAIT when the deadline (0: none)
 * passed first; the gathering goes on at the next call. */
static int gather(vs_dataset *ds, double deadline)
{
    if (ds->pending_error[0])
        return vs_fail("%s", ds->pending_error);
    while (ds->gathered < ds->o.batch) {
        int64_t p = ds->read_pos;
        if (ds->sched_end >= 0 && p >= ds->sched_end)
            break;
        int state = p < ds->next_pos ? ds->state[p % ds->window] : SAMPLE_WAITING;
        if (state == SAMPLE_WAITING) {
            if (deadline > 0) {
                double left = deadline - vs_now();
                if (left <= 0)
                    return VS_DATASET_WAIT;
                vs_cond_wait_ms(&ds->cond, &ds->mu, (int)(left * 1000) + 1);
            } else {
                pthread_cond_wait(&ds->cond, &ds->mu);
            }
            continue;
        }
        if (state == SAMPLE_ERROR) {
            const char *error = ds->w[ds->owner[p % ds->window]].error;
            if (ds->gathered == 0)
                return vs_fail("%s", error);
            /* the frames before it go out first, the error at the next call */
            snprintf(ds->pending_error, sizeof ds->pending_error, "%s", error);
            break;
        }
        if (state == SAMPLE_FILLED)
            move_sample(ds, p, ds->gathered++);
        ds->read_pos++;
        if (!ds->detached && ds->read_pos >= ds->win_lo + ds->o.batch && detach(ds) < 0)
            return -1;
    }
    if (!ds->detached && ds->gathered > 0 && detach(ds) < 0)
        return -1;
    return ds->gathered;
}

/* The next batch into ds->out: its frame count, 0 at the end (the run
 * stopped), -1 on an error (stopped), or VS_DATASET_WAIT. */
static int next_batch(vs_dataset *ds, int timeout_ms, int arrays)
{
    if (!ds->running || ds->mapping)
        return vs_fail("the dataset is not running (start it first)");
    if (ds->arrays != arrays)
        return vs_fail(arrays ? "the dataset was started for frames (vs_dataset_start), not arrays"
                              : "the dataset was started for arrays (vs_dataset_start_arrays), not frames");
    pthread_mutex_lock(&ds->mu);
    if (ds->held) { /* the caller's frames of the last batch come back */
        free_buf(&ds->spare, ds->o.batch * ds->clip);
        ds->spare = ds->out;
        memset(&ds->out, 0, sizeof ds->out);
        ds->held = ds->detached = 0;
    }
    int n = gather(ds, timeout_ms >= 0 ? vs_now() + timeout_ms / 1000.0 : 0);
    if (n > 0)
        ds->gathered = 0;
    pthread_mutex_unlock(&ds->mu);
    if (n == VS_DATASET_WAIT)
        return n;
    if (n <= 0) {
        char msg[MSG_MAX];
        snprintf(msg, sizeof msg, "%s", vs_last_error());
        vs_dataset_stop(ds);
        return n < 0 ? vs_fail("%s", msg) : 0;
    }
    return n * ds->clip;
}

int vs_dataset_next(vs_dataset *ds, vs_frame **frames, int32_t *sources, int64_t *indices)
{
    int n = next_batch(ds, -1, 0);
    if (n <= 0)
        return n;
    memcpy(frames, ds->out.frames, (size_t)n * sizeof *frames);
    memcpy(sources, ds->out.sources, (size_t)n * sizeof *sources);
    memcpy(indices, ds->out.indices, (size_t)n * sizeof *indices);
    ds->held = 1;
    return n;
}

int vs_dataset_next_array(vs_dataset *ds, int timeout_ms, void **array, int *width, int *height,
                          int32_t *sources, int64_t *indices)
{
    int n = next_batch(ds, timeout_ms, 1);
    if (n <= 0)
        return n;
    memcpy(sources, ds->out.sources, (size_t)n * sizeof *sources);
    memcpy(indices, ds->out.indices, (size_t)n * sizeof *indices);
    pthread_mutex_lock(&ds->mu);
    *array = ds->out.array;
    *width = ds->out_w;
    *height = ds->out_h;
    ds->out.array = NULL; /* the caller's now */
    ds->spare = ds->out;
    memset(&ds->out, 0, sizeof ds->out);
    ds->detached = 0;
    pthread_mutex_unlock(&ds->mu);
    return n;
}

void vs_dataset_array_free(void *array)
{
    free(array);
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

/* The piece holding ordinal g (binary search over the pieces' first ordinals). */
static const piece *piece_of(const vs_dataset *ds, int64_t g)
{
    int64_t lo = 0, hi = ds->npieces - 1;
    while (lo < hi) {
        int64_t mid = (lo + hi + 1) / 2;
        if (ds->pieces[mid].ordinal <= g)
            lo = mid;
        else
            hi = mid - 1;
    }
    return &ds->pieces[lo];
}

const char *vs_dataset_map_result(const vs_dataset *ds, int64_t k, size_t *len, int32_t *source,
                                  int64_t *index)
{
    if (!ds->results || k < 0 || k >= ds->hi - ds->lo)
        return NULL;
    const piece *pc = piece_of(ds, ds->lo + k);
    *source = pc->source;
    *index = ds->src[pc->source].first + (pc->from + ds->lo + k - pc->ordinal) * ds->o.every;
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
    free(ds->pieces);
    free(ds->sort);
    pthread_mutex_destroy(&ds->mu);
    pthread_cond_destroy(&ds->cond);
    pthread_cond_destroy(&ds->slot_free);
    free(ds);
}
