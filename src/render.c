/*
 * render.c: the parallel render engine.
 *
 * Every worker thread owns a LuaJIT state that loads the user's script and
 * takes the clip it returns; closures never cross states. The first load is
 * the script's main run (vs.worker = false), before any other worker
 * starts; the others see vs.worker = true. Workers claim small contiguous
 * chunks of frames from the pool (pool.h: so a clip that reads a video
 * reads forward), draw each frame into their own RGBA scratch buffer,
 * convert it into the encoder's pixel format right there (so colour
 * conversion runs in parallel too) and park the result in the pool's
 * bounded window. The calling thread takes pictures out in frame order and
 * feeds the encoders; memory does not grow with the length of the video.
 *
 * run_engine is these steps in order: load_first_clip (the first worker's
 * state gives the clip's size and length), choose_frames (the range or the
 * segment), prepare_outputs (the outputs' temporaries), create_window (the
 * pool), start_workers, start_sound, encode_in_order (with maybe_add_workers
 * ramping the worker count) and close_outputs (commit, or remove on a failure or a
 * signal); a failing step goes to the one exit that removes the outputs.
 *
 * Errors stop everything: the first failing frame's message (script
 * file:line, traceback) is reported and the outputs' temporaries removed;
 * workers stopped because of it record nothing. A draw's error waits in its
 * frame's slot until the encoding thread reaches that frame, as the sound's
 * does, so the first frame in order that fails is the one reported, however
 * the workers ran; no later frame is drawn meanwhile, and the earlier ones
 * get a grace to come (a stuck one is named). SIGINT/SIGTERM do the same
 * and return 130/143. A draw stuck in a JIT-compiled loop cannot be
 * interrupted by a Lua hook, so after a grace period such workers are
 * abandoned: the outputs are still removed at once, and the engine (its
 * encoders, pool and copies of the script's name and arguments) stays
 * alive until the last of them leaves, which frees it.
 *
 * Sound has a thread of its own (sound_main), so the picture's encoding
 * thread only muxes it: it loads the script once more into its own Lua
 * state (the clip's audio graph, fill and gain functions run there, never
 * in a worker), pulls the samples of one frame at a time, clips them and
 * encodes them, at most a second ahead of the pictures pushed (memory
 * stays flat however long the render). Its packets wait in each stream's
 * FIFO (vs_audio_out_defer_muxing) until the encoding thread, the muxer's
 * one writer, writes them after each picture; libavformat interleaves them
 * by time. A sound file (-o a.wav) is the sound thread's alone. The sound
 * thread stops, fails and is abandoned the way a worker is.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "encode.h"
#include "error.h"
#include "hash.h"
#include "interrupt.h"
#include "lua_state.h"
#include "pool.h"
#include "progress.h"
#include "vstudio.h"

/* Frames a worker claims at once: contiguous, so a clip reading a video
 * reads it forward. */
#define CHUNK 4

/* Seconds a thread that ignores the hook (a JIT loop) gets before it is
 * abandoned, and the frames before a failed one get to come. */
#define STOP_GRACE 2.0

/* Frames in flight for n workers: two chunks each, and a few spare. */
static int window_for(int workers)
{
    return workers * CHUNK * 2 + 4;
}

/* What a worker leaves for the encoding thread: frame k's pictures, one
 * per output, in slot vs_pool_slot(pool, k), or its draw's error. */
struct slot {
    vs_picture *pictures[VS_MAX_OUTPUTS];
    char *error; /* the render fails with it when the encoding thread reaches frame k */
};

struct clip_info {
    int width, height, fps_num, fps_den;
    int64_t frames;
    int has_audio;      /* the clip has sound (clip.audio) */
    int audio_channels; /* its channel count (clip.audio.channels) */
};

struct engine;

/* The sound's thread and what it owns. */
struct sound {
    pthread_t thread;
    int started;
    lua_State *L;
    int pull_ref;           /* function(first, n, buffer) in L's registry */
    float *buf;             /* one frame's samples */
    int64_t buf_samples;
    vs_audio_out *streams[VS_MAX_OUTPUTS]; /* the encoders' sound: encoded here, muxed by the encoding thread */
    int n_streams;
    int lead;               /* frames the sound may run ahead of the pictures (a second's) */
    double cpu;             /* the sound's thread's CPU seconds, set as it finishes */
    /* under the engine's lock */
    int64_t pulled;         /* frames [first, pulled) are in every output with sound */
    int pushing;            /* in the outputs (a write on a stuck disk may never return) */
    int finished;
    int abandoned_pushing;  /* the calling thread's: abandoned in the outputs, it keeps its sound files */
    int64_t failed_at;      /* the frame whose sound failed, or -1; the render fails there */
    char error[1024];
};

struct worker {
    struct engine *engine;
    int index;
    pthread_t thread;
    int started;
    lua_State *L;
    int render_ref;     /* function(k, frame_ptr) in L's registry */
    vs_frame *scratch;
    double busy;        /* seconds drawing + converting */
    double waited;      /* seconds blocked on a full window: waiting for the encoder */
    double cpu;         /* thread CPU seconds spent on frames */
    int64_t frames;
    _Atomic int64_t drawing; /* the frame in produce_frame, or -1 */
};

/* What every worker loads; the engine's own copy, since a worker left
 * running may outlive the caller's options (vs.render's are Lua's). */
struct script {
    char *path;
    char **args;
    int n_args;
    int stdout_output; /* an output goes to stdout: print and io.stdout go to stderr */
    char *captions;    /* a caption file burnt onto the clip (run --captions), or NULL */
};

struct engine {
    const vs_render_options *opts; /* the calling thread's only */
    struct script script;
    struct clip_info clip;
    int64_t first, end;
    int n_workers;        /* threads started so far (<= max_workers) */
    int max_workers;      /* --workers N, or the core count when choosing */
    int loading;          /* started workers still loading the script */
    int main_pending;     /* the script's main run (vs.worker = false) is still to come */
    atomic_int *signalled; /* SIGINT/SIGTERM that arrived, or 0 (interrupt.h) */
    struct worker *workers;
    vs_encoder *encoders[VS_MAX_OUTPUTS];
    int n_encoders;

    /* Sound (the top comment): its thread pulls and encodes, this one muxes. */
    int audio_rate, audio_channels; /* 0: nothing carries sound */
    int audio_outputs;    /* encoders with an audio stream, and sound files */
    int audio_on[VS_MAX_OUTPUTS];   /* per encoder */
    int output_of[VS_MAX_OUTPUTS];  /* the -o of each encoder */
    vs_audio_writer *sound_files[VS_MAX_OUTPUTS]; /* -o a.wav: the sound alone */
    int n_sound_files;
    int audio_dropped;    /* outputs that cannot carry sound (y4m, raw, images) */
    struct sound sound;

    vs_pool *pool;        /* frames claimed, drawn and taken in order (pool.h) */
    struct slot *slots;   /* the pool's capacity: the window for max_workers */

    pthread_mutex_t lock; /* the fields below, and workers finishing */
    pthread_cond_t changed;
    int failed;
    int64_t error_frame;
    char error[4096];
    int finished_workers;
    double main_wait;     /* seconds the encoding thread waited for frames */
    int64_t pictures_done; /* frames [first, pictures_done) pushed to the encoders */
    double sound_wait;    /* seconds the encoding thread waited for the sound */
    int refs;             /* the calling thread and every started worker: the last frees the engine */
};

static _Thread_local struct engine *current_engine;
/* The stop hook ended this thread's draw: not an error of the frame. */
static _Thread_local int stopped_by_hook;

/* Before any output is open (loading the script, --check) the calling
 * thread runs Lua with nothing to clean up, and a loop in top-level code or
 * a JIT-compiled draw would never look at a flag: a signal then ends the
 * process at once with the status the shell expects. */
static const char interrupted_early[] = "vstudio: run: interrupted before any output was written\n";

/* A failed frame or a signal: the pool stops on both; a render of sound
 * alone has no pool, and its one thread fails by itself. */
static int engine_stopping(struct engine *e)
{
    return (e->pool && vs_pool_stopped(e->pool)) || atomic_load(e->signalled);
}

/* Counts instructions in interpreted Lua so a long draw or fill notices a stop. */
static void stop_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    if (current_engine && engine_stopping(current_engine)) {
        stopped_by_hook = 1;
        luaL_error(L, "render stopped");
    }
}

void vs_render_options_init(vs_render_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->end = -1;
    opts->progress = VS_PROGRESS_AUTO;
    opts->summary = 1;
    vs_encoder_options_init(&opts->encoder);
}

/* ---- Lua side of a worker ---- */

/* Loads the script into a fresh state and leaves in the registry a function
 * render(k, frame_ptr) for its clip; fills info. Errors name the script.
 * worker 0 is the script's main run (vs.worker = false: its one-time side
 * effects happen there, before any worker starts). vs.render only records
 * its clip in every state the engine loads. */
static lua_State *load_clip(const struct script *o, int worker, struct clip_info *info, int *render_ref,
                            int *sound_ref)
{
    memset(info, 0, sizeof *info); /* compared with memcmp: no stray padding */
    lua_State *L = vs_lua_state_new();
    if (!L)
        return NULL;
    vs_lua_guard_process(L, o->stdout_output);
    lua_createtable(L, o->n_args, 1);
    lua_pushstring(L, o->path);
    lua_rawseti(L, -2, 0);
    for (int i = 0; i < o->n_args; i++) {
        lua_pushstring(L, o->args[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setglobal(L, "arg");

    static const char *prepare =
        "local worker = ...\n"
        "local vs = require 'vstudio'\n"
        "local session = require 'vstudio.session'\n"
        "vs.worker = worker\n"
        "session.record_render = true\n"
        "session.shared_video = true\n"
        "session.render_clip = nil\n";
    if (luaL_loadbuffer(L, prepare, strlen(prepare), VS_LUA_GLUE_CHUNK) != 0)
        goto lua_fail;
    lua_pushboolean(L, worker);
    if (vs_lua_pcall(L, 1, 0) != 0)
        goto lua_fail;

    if (luaL_loadfile(L, o->path) != 0)
        goto lua_fail;
    for (int i = 0; i < o->n_args; i++)
        lua_pushstring(L, o->args[i]);
    if (vs_lua_pcall(L, o->n_args, 1) != 0)
        goto lua_fail;

    /* The clip: the script's return value, or what it handed to vs.render;
     * a script that gives neither was a job, not a clip (no clip: 0 frames). */
    static const char *wrap =
        "local returned, script, captions = ...\n"
        "local ffi = require 'ffi'\n"
        "local session = require 'vstudio.session'\n"
        "local clip = returned\n"
        "if clip == nil then clip = session.render_clip end\n"
        "if clip == nil then return nil, 0, 0, 0, 0, 0, nil, 0 end\n"
        "if type(clip) ~= 'table' or type(clip.render) ~= 'function' then\n"
        "  error(script .. ': the script must return a clip (e.g. return vs.clip{...}), got ' ..\n"
        "        (clip == nil and 'nothing' or type(clip)), 0)\n"
        "end\n"
        "if captions then clip = require('vstudio.captions').burn(clip, captions) end\n"
        "local render = clip.render\n"
        "local sound = clip.audio and function(rate, channels)\n"
        "  return require('vstudio.audio').puller(clip, rate, channels)\n"
        "end\n"
        "return function(k, ptr) render(clip, k, ffi.cast('vs_frame*', ptr)) end,\n"
        "       clip.width, clip.height, clip.fps_num, clip.fps_den, clip.frames, sound,\n"
        "       clip.audio and clip.audio.channels or 0\n";
    if (luaL_loadbuffer(L, wrap, strlen(wrap), VS_LUA_GLUE_CHUNK) != 0)
        goto lua_fail;
    lua_insert(L, -2);
    lua_pushstring(L, o->path);
    if (o->captions)
        lua_pushstring(L, o->captions);
    else
        lua_pushnil(L);
    if (vs_lua_pcall(L, 3, 8) != 0)
        goto lua_fail;
    info->audio_channels = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    info->has_audio = !lua_isnil(L, -1);
    if (sound_ref)
        *sound_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    else
        lua_pop(L, 1);
    info->width = (int)lua_tointeger(L, -5);
    info->height = (int)lua_tointeger(L, -4);
    info->fps_num = (int)lua_tointeger(L, -3);
    info->fps_den = (int)lua_tointeger(L, -2);
    info->frames = (int64_t)lua_tonumber(L, -1);
    lua_pop(L, 5);
    *render_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    if (*render_ref == LUA_REFNIL) /* no clip */
        return L;
    if (info->width <= 0 || info->height <= 0 || info->fps_num <= 0 || info->fps_den <= 0 || info->frames <= 0) {
        vs_fail("%s: the clip has no frames or no size (%dx%d, %lld frames)", o->path, info->width,
                info->height, (long long)info->frames);
        lua_close(L);
        return NULL;
    }
    return L;
lua_fail: {
        /* An error raised through a tail call (`return vs.sequence{...}`) has
         * no file:line of the script; name the script then. */
        const char *msg = lua_tostring(L, -1) ? lua_tostring(L, -1) : "unknown Lua error";
        if (strstr(msg, o->path))
            vs_fail("%s", msg);
        else
            vs_fail("%s: %s", o->path, msg);
    }
    lua_close(L);
    return NULL;
}

/* Fails the render with msg as it is, unless an earlier frame failed (frame -1: before any). */
static void fail_at(struct engine *e, int64_t frame, const char *msg)
{
    pthread_mutex_lock(&e->lock);
    if (!e->failed || frame < e->error_frame) {
        e->failed = 1;
        e->error_frame = frame;
        snprintf(e->error, sizeof e->error, "%s", msg);
    }
    pthread_cond_broadcast(&e->changed);
    pthread_mutex_unlock(&e->lock);
    if (e->pool)
        vs_pool_stop(e->pool);
}

/* A picture's failure: "frame N: why" (the why names the script's file:line). */
static void fail_frame(struct engine *e, int64_t frame, const char *msg)
{
    char line[sizeof e->error];
    if (frame >= 0)
        snprintf(line, sizeof line, "frame %lld: %s", (long long)frame, msg);
    else
        snprintf(line, sizeof line, "%s", msg);
    fail_at(e, frame, line);
}

/* Frame k failed (its draw, or its pictures): the error waits in its slot for
 * the encoding thread, which takes frames in order, so a frame before k still
 * being drawn elsewhere fails first if it fails at all: the first failing
 * frame is reported, whatever the workers' timing. No frame after k is drawn
 * any more, and those before it get STOP_GRACE to come (fail_late). */
static void leave_frame_error(struct engine *e, int64_t k, const char *msg)
{
    struct slot *slot = &e->slots[vs_pool_slot(e->pool, k)];
    if (!(slot->error = strdup(msg)))
        fail_frame(e, k, msg);
    vs_pool_put_failed(e->pool, k, STOP_GRACE);
}

/* Frame k, before the first failed one, did not come within the grace: the
 * render fails with the failed frame's error, naming the frames still being
 * drawn (stuck in a loop the hook cannot stop, or just slow). */
static void fail_late(struct engine *e, int64_t k)
{
    int64_t failed = vs_pool_first_failed(e->pool);
    const char *why = e->slots[vs_pool_slot(e->pool, failed)].error;
    if (!why) /* out of memory parking it: that failure stopped the render already */
        why = "error in draw";
    char frames[256] = "";
    int n = 0;
    size_t len = 0;
    for (int i = 0; i < e->n_workers; i++) {
        int64_t d = atomic_load(&e->workers[i].drawing);
        if (d >= k && d < failed && len < sizeof frames - 32)
            len += (size_t)snprintf(frames + len, sizeof frames - len, "%s%lld", n++ ? ", " : "", (long long)d);
    }
    if (!n)
        snprintf(frames, sizeof frames, "%lld", (long long)k);
    /* the note ends the message's first line, before the traceback */
    size_t first_line = strcspn(why, "\n");
    char line[sizeof e->error - 64]; /* room for fail_frame's "frame N: " */
    snprintf(line, sizeof line, "%.*s; frame%s %s %s still drawing after %g s%s", (int)first_line, why,
             n > 1 ? "s" : "", frames, n > 1 ? "were" : "was", STOP_GRACE, why + first_line);
    fail_frame(e, failed, line);
}

/* Draws frame k and converts it for every output. */
static int produce_frame(struct worker *w, int64_t k, vs_picture **pictures)
{
    struct engine *e = w->engine;
    lua_State *L = w->L;
    vs_frame_fill(w->scratch, 0, 0, 0, 255);
    lua_rawgeti(L, LUA_REGISTRYINDEX, w->render_ref);
    lua_pushnumber(L, (lua_Number)k);
    lua_pushlightuserdata(L, w->scratch);
    stopped_by_hook = 0;
    if (vs_lua_pcall(L, 2, 0) != 0) {
        /* stopped for another frame's error or a signal: that one is reported */
        if (!stopped_by_hook)
            leave_frame_error(e, k, lua_tostring(L, -1) ? lua_tostring(L, -1) : "error in draw");
        lua_pop(L, 1);
        return -1;
    }
    if (vs_pool_stopped(e->pool))
        return -1; /* the outputs may be gone already */
    for (int i = 0; i < e->n_encoders; i++) {
        pictures[i] = vs_encoder_picture_get(e->encoders[i]);
        if (!pictures[i] || vs_picture_from_rgba(pictures[i], w->scratch) < 0) {
            for (int j = 0; j <= i; j++)
                vs_picture_release(pictures[j]);
            leave_frame_error(e, k, vs_last_error());
            return -1;
        }
    }
    return 0;
}

static void engine_release(struct engine *e);

static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* A worker started after the first loads the script in its own thread, so
 * adding workers never stalls the encoder; its clip must match worker 0's. */
static int load_late(struct worker *w)
{
    struct engine *e = w->engine;
    struct clip_info info;
    w->L = load_clip(&e->script, 1, &info, &w->render_ref, NULL);
    if (!w->L)
        return -1;
    if (memcmp(&info, &e->clip, sizeof info) != 0 || w->render_ref == LUA_REFNIL)
        return vs_fail("%s: worker %d built a different clip (%dx%d, %lld frames) than worker 0 (%dx%d, %lld "
                       "frames): the script must build the same clip every time it runs",
                       e->script.path, w->index, info.width, info.height, (long long)info.frames, e->clip.width,
                       e->clip.height, (long long)e->clip.frames);
    w->scratch = vs_frame_new(info.width, info.height);
    return w->scratch ? 0 : -1;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct engine *e = w->engine;
    char name[16]; /* for top -H, perf and gdb: 15 characters at most */
    snprintf(name, sizeof name, "vs-worker-%d", w->index);
    pthread_setname_np(pthread_self(), name);
    current_engine = e;
    int loaded = w->L != NULL;
    if (!loaded && load_late(w) < 0)
        fail_frame(e, -1, vs_last_error());
    if (w->L)
        lua_sethook(w->L, stop_hook, LUA_MASKCOUNT, 1000);
    double cpu0 = thread_cpu();

    pthread_mutex_lock(&e->lock);
    if (!loaded)
        e->loading--;
    pthread_mutex_unlock(&e->lock);
    vs_pool_run run = {0};
    int64_t k;
    while ((k = vs_pool_claim(e->pool, &run, &w->waited)) >= 0) {
        vs_picture *pictures[VS_MAX_OUTPUTS] = {0};
        double t0 = vs_now();
        atomic_store(&w->drawing, k);
        int rc = produce_frame(w, k, pictures);
        atomic_store(&w->drawing, -1);
        w->busy += vs_now() - t0;
        if (rc < 0)
            break;
        memcpy(e->slots[vs_pool_slot(e->pool, k)].pictures, pictures, sizeof pictures);
        w->frames++;
        vs_pool_put(e->pool, k);
    }
    w->cpu = thread_cpu() - cpu0;
    pthread_mutex_lock(&e->lock);
    e->finished_workers++;
    pthread_cond_broadcast(&e->changed);
    pthread_mutex_unlock(&e->lock);
    vs_pool_leave(e->pool);
    engine_release(e);
    return NULL;
}

/* ---- the calling thread: encoders ---- */

static int uses_codec(const char *path, const char *format);

/* An output named like a sound file (a.wav, a.flac, ...) gets the clip's sound alone. */
static int is_sound_file(const char *path, const char *format)
{
    static const char *sound[] = {"wav", "flac", "mp3", "m4a", "aac", "opus", "ogg", "mka"};
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (format || !dot || (slash && slash > dot))
        return 0;
    for (size_t i = 0; i < sizeof sound / sizeof *sound; i++)
        if (strcasecmp(dot + 1, sound[i]) == 0)
            return 1;
    return 0;
}

static int open_sound_file(struct engine *e, const char *path)
{
    const vs_render_options *o = e->opts;
    if (!e->audio_rate)
        return vs_fail("%s: the clip has no sound to write%s", path, o->no_audio ? " (--no-audio)" : "");
    vs_audio_writer *w = vs_audio_writer_open(path, e->audio_rate, e->audio_channels, o->encoder.audio_codec,
                                              o->encoder.audio_bit_rate);
    if (!w)
        return -1;
    e->sound_files[e->n_sound_files++] = w;
    e->audio_outputs++;
    return 0;
}

static int open_outputs(struct engine *e)
{
    const vs_render_options *o = e->opts;
    if (o->n_outputs < 1 || o->n_outputs > VS_MAX_OUTPUTS)
        return vs_fail("between 1 and %d outputs, got %d", VS_MAX_OUTPUTS, o->n_outputs);
    for (int i = 0; i < o->n_outputs; i++) {
        if (is_sound_file(o->outputs[i], o->formats ? o->formats[i] : NULL)) {
            if (open_sound_file(e, o->outputs[i]) < 0)
                return -1;
            continue;
        }
        int k = e->n_encoders;
        vs_encoder_options eo = o->encoder;
        eo.fps_num = e->clip.fps_num;
        eo.fps_den = e->clip.fps_den;
        eo.format = o->formats ? o->formats[i] : NULL;
        if (o->segment_count > 0 || o->first > 0 || o->end >= 0) {
            /* a piece of the clip: say which, for vstudio concat */
            eo.segment_index = o->segment_index;
            eo.segment_count = o->segment_count;
            eo.segment_first = e->first;
            eo.segment_end = e->end;
            eo.segment_total = e->clip.frames;
        }
        eo.first_number = e->first; /* image sequences are named by clip frame */
        eo.force = o->force;
        /* y4m, raw, images, gif, apng and webp carry no sound; the summary says so */
        eo.audio_rate = 0;
        if (e->audio_rate && vs_encoder_holds_sound(o->outputs[i], eo.format)) {
            eo.audio_rate = e->audio_rate;
            eo.audio_channels = e->audio_channels;
            /* a piece (segment_total > 0) gets flac from the encoder unless a codec was asked for:
             * its exact samples, losslessly, for concat to join and encode once */
            e->audio_on[k] = 1;
            e->audio_outputs++;
        } else if (e->audio_rate) {
            e->audio_dropped++;
        }
        e->encoders[k] = vs_encoder_open(o->outputs[i], e->clip.width, e->clip.height, &eo);
        if (!e->encoders[k])
            return -1;
        e->output_of[k] = i;
        e->n_encoders = k + 1;
    }
    return 0;
}

/* ---- the calling thread: sound ---- */

/* The sound's rate and channels when the clip has sound and it is wanted: the channels asked
 * for, else the clip's sound's own (a mono tone stays mono, as in ffmpeg), at most 8 (the
 * encoders' limit: a wider file is remixed to 7.1 by libswresample, a wider fill keeps its
 * first 8). */
static void choose_sound(struct engine *e)
{
    const vs_render_options *o = e->opts;
    if (!e->clip.has_audio || o->no_audio)
        return;
    e->audio_rate = o->encoder.audio_rate > 0 ? o->encoder.audio_rate : 48000;
    e->audio_channels =
        o->encoder.audio_channels > 0 ? o->encoder.audio_channels : vs_sound_channels(e->clip.audio_channels);
}

/* Loads the script once more into the sound's own state, which builds the clip's audio graph
 * for the output's rate and channels and gives the function that reads it. */
static int open_sound(struct engine *e)
{
    struct sound *snd = &e->sound;
    struct clip_info info;
    int render_ref, sound_ref = LUA_REFNIL;
    lua_State *L = load_clip(&e->script, 1, &info, &render_ref, &sound_ref);
    if (!L)
        return -1;
    snd->L = L;
    if (render_ref == LUA_REFNIL || sound_ref == LUA_REFNIL)
        return vs_fail("%s: the script built a clip without sound on its second run (it had sound on the first): "
                       "the script must build the same clip every time it runs", e->script.path);
    lua_rawgeti(L, LUA_REGISTRYINDEX, sound_ref);
    lua_pushinteger(L, e->audio_rate);
    lua_pushinteger(L, e->audio_channels);
    if (vs_lua_pcall(L, 2, 1) != 0)
        return vs_fail("%s: sound: %s", e->script.path, lua_tostring(L, -1) ? lua_tostring(L, -1) : "error");
    snd->pull_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_sethook(L, stop_hook, LUA_MASKCOUNT, 1000);
    /* the most samples one frame spans */
    snd->buf_samples = vs_audio_frame_start(1, e->audio_rate, e->clip.fps_num, e->clip.fps_den) + 1;
    snd->buf = malloc(sizeof(float) * (size_t)(snd->buf_samples * e->audio_channels));
    return snd->buf ? 0 : vs_fail("out of memory");
}

/* Frame k's samples, [s(k), s(k + 1)) with s(k) = floor(k * rate * fps_den / fps_num), mixed in
 * C and clipped to [-1, 1] in the sound's buffer; *n is their count. */
static int pull_frame(struct engine *e, int64_t k, int64_t *n)
{
    struct sound *snd = &e->sound;
    const struct clip_info *c = &e->clip;
    int64_t first = vs_audio_frame_start(k, e->audio_rate, c->fps_num, c->fps_den);
    *n = vs_audio_frame_start(k + 1, e->audio_rate, c->fps_num, c->fps_den) - first;
    if (*n > snd->buf_samples)
        return vs_fail("%s: frame %lld: sound: the frame spans %lld samples (at most %lld)", e->script.path,
                       (long long)k, (long long)*n, (long long)snd->buf_samples);
    lua_State *L = snd->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, snd->pull_ref);
    lua_pushnumber(L, (lua_Number)first);
    lua_pushnumber(L, (lua_Number)*n);
    lua_pushlightuserdata(L, snd->buf);
    if (vs_lua_pcall(L, 3, 0) != 0) {
        /* worded as a draw's error: the why starts with the script's file:line */
        vs_fail("frame %lld: sound at %.3f s: %s", (long long)k, (double)first / e->audio_rate,
                lua_tostring(L, -1) ? lua_tostring(L, -1) : "error");
        lua_pop(L, 1);
        return -1;
    }
    float *buf = snd->buf;
    for (int64_t i = 0; i < *n * e->audio_channels; i++)
        buf[i] = buf[i] > 1.0f ? 1.0f : buf[i] < -1.0f ? -1.0f : buf[i];
    return 0;
}

/* Frame k's sound failed in an output: its writer's "<file>: <why>" becomes
 * "<file>: frame <k>: <why>", the file first as in every message. */
static int name_sound_failure(const char *file, int64_t k)
{
    const char *msg = vs_last_error();
    size_t n = strlen(file);
    if (strncmp(msg, file, n) == 0 && strncmp(msg + n, ": ", 2) == 0)
        msg += n + 2;
    char why[1024];
    snprintf(why, sizeof why, "%s", msg);
    return vs_fail("%s: frame %lld: %s", file, (long long)k, why);
}

/* Appends frame k's n samples (the buffer) to every output with sound: encoded into the
 * encoders' streams (their FIFOs), written into the sound files. */
static int push_frame(struct engine *e, int64_t k, int64_t n)
{
    struct sound *snd = &e->sound;
    for (int i = 0; i < snd->n_streams; i++)
        if (vs_audio_out_push(snd->streams[i], snd->buf, n) < 0)
            return name_sound_failure(vs_audio_out_path(snd->streams[i]), k);
    for (int i = 0; i < e->n_sound_files; i++)
        if (vs_audio_writer_push(e->sound_files[i], snd->buf, n) < 0)
            return name_sound_failure(vs_audio_writer_path(e->sound_files[i]), k);
    return 0;
}

/* Waits until frame k is at most the sound's lead ahead of the pictures pushed; 0 when the
 * render is stopping instead. */
static int wait_for_room(struct engine *e, int64_t k)
{
    pthread_mutex_lock(&e->lock);
    while (e->n_encoders && k >= e->pictures_done + e->sound.lead && !engine_stopping(e))
        vs_cond_wait_ms(&e->changed, &e->lock, 20);
    pthread_mutex_unlock(&e->lock);
    return !engine_stopping(e);
}

/* Marks the sound as in the outputs, unless the render is stopping (0). */
static int enter_outputs(struct engine *e)
{
    pthread_mutex_lock(&e->lock);
    int go = !engine_stopping(e);
    e->sound.pushing = go;
    pthread_mutex_unlock(&e->lock);
    return go;
}

/* Records that frame k's sound failed, under the engine's lock. With pictures, the render
 * fails when the encoding thread reaches frame k (mux_sound, or wait_for_sound after the
 * last), as if the sound were pulled there: an earlier frame's error still wins, whatever the
 * threads' timing. */
static void record_sound_failure(struct engine *e, int64_t k, const char *msg)
{
    e->sound.failed_at = k;
    snprintf(e->sound.error, sizeof e->sound.error, "%s", msg);
}

/* Frame k's sound failed before it reached the outputs. */
static void sound_failed(struct engine *e, int64_t k, const char *msg)
{
    if (!e->n_encoders) {
        fail_at(e, k, msg);
        return;
    }
    pthread_mutex_lock(&e->lock);
    record_sound_failure(e, k, msg);
    pthread_cond_broadcast(&e->changed);
    pthread_mutex_unlock(&e->lock);
}

/* Frame k's sound is out of the outputs: in every one, or failed (failure, its message). A
 * failure is recorded in the same critical section instead of advancing pulled, so the
 * encoding thread never sees frame k pulled without seeing its failure. */
static void leave_outputs(struct engine *e, int64_t k, const char *failure)
{
    pthread_mutex_lock(&e->lock);
    e->sound.pushing = 0;
    if (failure)
        record_sound_failure(e, k, failure);
    else
        e->sound.pulled = k + 1;
    pthread_cond_broadcast(&e->changed);
    pthread_mutex_unlock(&e->lock);
    if (failure && !e->n_encoders)
        fail_at(e, k, failure);
}

/* Pulls and writes the sound of every frame, until the last, a failure or the render's stop. */
static void pull_sound(struct engine *e, vs_progress *progress)
{
    for (int64_t k = e->first; k < e->end; k++) {
        int64_t n;
        if (!wait_for_room(e, k))
            return;
        if (pull_frame(e, k, &n) < 0) {
            if (!stopped_by_hook)
                sound_failed(e, k, vs_last_error());
            return;
        }
        if (!enter_outputs(e))
            return;
        int rc = push_frame(e, k, n);
        leave_outputs(e, k, rc < 0 ? vs_last_error() : NULL);
        if (rc < 0)
            return;
        vs_progress_update(progress, k + 1 - e->first);
    }
}

/* The sound's state, then every frame's sound, in the calling thread. */
static void run_sound(struct engine *e, vs_progress *progress)
{
    current_engine = e;
    stopped_by_hook = 0;
    if (open_sound(e) < 0)
        fail_frame(e, -1, vs_last_error());
    else
        pull_sound(e, progress);
    current_engine = NULL;
}

static void *sound_main(void *arg)
{
    struct engine *e = arg;
    pthread_setname_np(pthread_self(), "vs-sound");
    run_sound(e, NULL);
    double cpu = thread_cpu();
    pthread_mutex_lock(&e->lock);
    e->sound.cpu = cpu;
    e->sound.finished = 1;
    pthread_cond_broadcast(&e->changed);
    pthread_mutex_unlock(&e->lock);
    engine_release(e);
    return NULL;
}

/* The sound's thread, when an output wants sound; the encoders' streams are handed to it
 * (deferred muxing) before it starts. */
static int start_sound(struct engine *e)
{
    struct sound *snd = &e->sound;
    if (!e->audio_outputs)
        return 0;
    for (int i = 0; i < e->n_encoders; i++) {
        if (!e->audio_on[i])
            continue;
        vs_audio_out *a = vs_encoder_audio(e->encoders[i]);
        if (vs_audio_out_defer_muxing(a) < 0)
            return -1;
        snd->streams[snd->n_streams++] = a;
    }
    snd->lead = (e->clip.fps_num + e->clip.fps_den - 1) / e->clip.fps_den;
    e->pictures_done = snd->pulled = e->first;
    snd->failed_at = -1;
    pthread_mutex_lock(&e->lock);
    e->refs++; /* the sound thread's: it releases the engine as it leaves */
    pthread_mutex_unlock(&e->lock);
    if (pthread_create(&snd->thread, NULL, sound_main, e) != 0) {
        pthread_mutex_lock(&e->lock);
        e->refs--;
        pthread_mutex_unlock(&e->lock);
        return vs_fail("cannot start the sound's thread");
    }
    snd->started = 1;
    return 0;
}

/* The clip frame whose sound holds an output's sample s (an output's sound
 * starts at frame first's: [s(k), s(k + 1)) as in pull_frame). */
static int64_t frame_of_sample(const struct engine *e, int64_t s)
{
    const struct clip_info *c = &e->clip;
    int rate = e->audio_rate;
    int64_t at = vs_audio_frame_start(e->first, rate, c->fps_num, c->fps_den) + (s > 0 ? s : 0);
    int64_t k = (int64_t)((double)at * c->fps_num / ((double)rate * c->fps_den));
    while (k > e->first && vs_audio_frame_start(k, rate, c->fps_num, c->fps_den) > at)
        k--;
    while (k + 1 < e->end && vs_audio_frame_start(k + 1, rate, c->fps_num, c->fps_den) <= at)
        k++;
    return k < e->first ? e->first : k;
}

/* The encoding thread, after frame k's pictures: lets the sound run on, waits until it has
 * frame k (it is ahead but for a sound slower than the pictures), fails the render if frame
 * k's sound failed, and writes the sound's packets made so far into the encoders' muxers. */
static int mux_sound(struct engine *e, int64_t k)
{
    struct sound *snd = &e->sound;
    pthread_mutex_lock(&e->lock);
    e->pictures_done = k + 1;
    pthread_cond_broadcast(&e->changed);
    if (snd->started && !snd->finished && snd->pulled <= k) {
        double t0 = vs_now();
        while (!snd->finished && snd->pulled <= k && !engine_stopping(e))
            vs_cond_wait_ms(&e->changed, &e->lock, 20);
        e->sound_wait += vs_now() - t0;
    }
    int failed = snd->failed_at >= 0 && snd->failed_at <= k;
    pthread_mutex_unlock(&e->lock);
    if (failed) {
        fail_at(e, snd->failed_at, snd->error);
        return -1;
    }
    for (int i = 0; i < snd->n_streams; i++) {
        int64_t at = 0;
        if (vs_audio_out_mux(snd->streams[i], &at) < 0) {
            /* the failing packet may be up to the sound's lead past frame k: name its own frame */
            int64_t frame = frame_of_sample(e, at);
            name_sound_failure(vs_audio_out_path(snd->streams[i]), frame);
            fail_at(e, frame, vs_last_error()); /* stops the sound's thread, and nothing is committed */
            return -1;
        }
    }
    return 0;
}

/* After the last picture: waits for the sound's last frame (the streams' last packets are
 * muxed as the encoders close), and fails the render if a frame's sound failed after the
 * encoding thread last looked (close_outputs commits unless the render failed). */
static void wait_for_sound(struct engine *e)
{
    struct sound *snd = &e->sound;
    pthread_mutex_lock(&e->lock);
    while (snd->started && !snd->finished && !engine_stopping(e))
        vs_cond_wait_ms(&e->changed, &e->lock, 20);
    int64_t failed_at = snd->failed_at;
    pthread_mutex_unlock(&e->lock);
    if (snd->started && failed_at >= 0)
        fail_at(e, failed_at, snd->error);
}

/* Removes what the outputs wrote; their memory goes with the engine, as
 * workers may still hold their pictures. A sound thread abandoned in a sound
 * file's write still holds the writers: the last one out (engine_release)
 * or, if it never returns, the exit removes their temporaries. */
static void abort_outputs(struct engine *e)
{
    for (int i = 0; i < e->n_encoders; i++)
        vs_encoder_discard(e->encoders[i]);
    for (int i = 0; i < e->n_sound_files && !e->sound.abandoned_pushing; i++) {
        vs_audio_writer_abort(e->sound_files[i]);
        e->sound_files[i] = NULL;
    }
}

/* Joins the workers and the sound's thread, giving stuck ones (a JIT loop
 * ignores the hook, a write blocks) a grace period; returns how many could
 * not be joined. A stuck sound thread does not enter the outputs again, the
 * render is stopping (enter_outputs); one stuck in them is marked so
 * abort_outputs leaves it the writers it uses (the encoders' streams only
 * fill FIFOs, whose memory stays with the engine). */
static int join_workers(struct engine *e)
{
    struct sound *snd = &e->sound;
    double deadline = vs_now() + STOP_GRACE;
    pthread_mutex_lock(&e->lock);
    while ((e->finished_workers < e->n_workers || (snd->started && !snd->finished)) && vs_now() < deadline) {
        vs_cond_wait_ms(&e->changed, &e->lock, 20);
    }
    int stuck = e->n_workers - e->finished_workers;
    int sound_stuck = snd->started && !snd->finished;
    snd->abandoned_pushing = sound_stuck && snd->pushing;
    pthread_mutex_unlock(&e->lock);
    for (int i = 0; i < e->n_workers; i++) {
        if (!e->workers[i].started)
            continue;
        if (stuck == 0)
            pthread_join(e->workers[i].thread, NULL);
        else
            pthread_detach(e->workers[i].thread);
    }
    if (snd->started && sound_stuck)
        pthread_detach(snd->thread);
    else if (snd->started)
        pthread_join(snd->thread, NULL);
    return stuck + sound_stuck;
}

static int online_cores_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}

/* Whether an output goes through a video codec (not y4m, raw or images),
 * so the summary shows the codec settings only where they apply. */
static int uses_codec(const char *path, const char *format)
{
    static const char *plain[] = {"y4m", "raw", "rgba", "png", "jpg", "jpeg"};
    const char *ext = format;
    if (!ext) {
        if (strcmp(path, "-") == 0 || strncmp(path, "pipe:", 5) == 0)
            return 0;
        const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
        if (!dot || (slash && slash > dot))
            return 0; /* a directory of images */
        ext = dot + 1;
    }
    for (size_t i = 0; i < sizeof plain / sizeof *plain; i++)
        if (strcmp(ext, plain[i]) == 0)
            return 0;
    return 1;
}

/* Process CPU seconds (all threads: workers, encoder threads, this one). */
static double process_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* What became of the clip's sound: its stream, or why there is none. */
static void print_sound_summary(const struct engine *e, double cpu)
{
    const vs_render_options *o = e->opts;
    if (e->audio_outputs) {
        int64_t n = vs_audio_frame_start(e->end, e->audio_rate, e->clip.fps_num, e->clip.fps_den) -
                    vs_audio_frame_start(e->first, e->audio_rate, e->clip.fps_num, e->clip.fps_den);
        fprintf(stderr, "vstudio: run: sound: %lld samples (%.2f s) at %d Hz, %d channel%s", (long long)n,
                (double)n / e->audio_rate, e->audio_rate, e->audio_channels, e->audio_channels == 1 ? "" : "s");
        if (o->encoder.audio_codec)
            fprintf(stderr, ", %s", o->encoder.audio_codec);
        if (e->sound.started && cpu > 0) /* its own thread: what the sound cost beside the pictures */
            fprintf(stderr, ", %.2f s CPU (%.1f%% of the run's)", e->sound.cpu, 100 * e->sound.cpu / cpu);
        for (int i = 0, n = 0; i < o->n_outputs; i++)
            if (is_sound_file(o->outputs[i], o->formats ? o->formats[i] : NULL))
                fprintf(stderr, "%s%s", n++ ? ", " : " -> ", o->outputs[i]);
        fprintf(stderr, "\n");
    }
    if (e->audio_dropped) {
        fprintf(stderr, "vstudio: run: note: the clip has sound, but");
        for (int i = 0, n = 0; i < e->n_encoders; i++) {
            const char *out = o->outputs[e->output_of[i]];
            if (!e->audio_on[i])
                fprintf(stderr, "%s%s", n++ ? ", " : " ", strcmp(out, "-") == 0 ? "stdout" : out);
        }
        fprintf(stderr, " carr%s none (y4m, raw, image sequences, gif, apng and webp hold no sound; write an .mp4, .mkv or "
                        ".webm for it)\n", e->audio_dropped == 1 ? "ies" : "y");
    } else if (e->clip.has_audio && o->no_audio) {
        fprintf(stderr, "vstudio: run: sound: left out (--no-audio)\n");
    }
}

/* Where the time went. The encoding thread either waits for the next frame
 * (the generator is behind) or pushes frames into the encoder; the workers
 * either draw or wait for room in the window (the encoder is behind). The
 * stage the other one waits for is the bottleneck. CPU per frame: the
 * workers' thread clocks for the generator, the sound's thread clock for
 * the sound, the rest of the process (codec threads, muxing) for the
 * encoder. */
static void print_summary(struct engine *e, double wall, double cpu)
{
    int64_t n = e->end - e->first;
    double draw = 0, waited = 0, gen_cpu = 0;
    for (int i = 0; i < e->n_workers; i++) {
        draw += e->workers[i].busy;
        waited += e->workers[i].waited;
        gen_cpu += e->workers[i].cpu;
    }
    double enc_cpu = cpu > gen_cpu + e->sound.cpu ? cpu - gen_cpu - e->sound.cpu : 0;
    double gen_util = wall > 0 ? draw / (wall * e->n_workers) : 0;
    double enc_util = wall > 0 ? 1 - e->main_wait / wall : 0;
    double enc_waits = wall > 0 ? e->main_wait / wall : 0;         /* encoder idle, generator behind */
    double gen_waits = wall > 0 ? waited / (wall * e->n_workers) : 0; /* workers idle, encoder behind */
    const vs_render_options *o = e->opts;
    const vs_encoder_options *eo = &o->encoder;

    fprintf(stderr, "vstudio: run: %lld frames in %.2f s (%.1f fps)", (long long)n, wall, wall > 0 ? n / wall : 0);
    for (int i = 0; i < o->n_outputs; i++)
        fprintf(stderr, "%s%s", i ? ", " : " -> ", strcmp(o->outputs[i], "-") == 0 ? "stdout" : o->outputs[i]);
    fprintf(stderr, "\n");
    print_sound_summary(e, cpu);
    fprintf(stderr, "vstudio: run: generator: %d worker%s busy %.0f%%, %.1f ms CPU/frame; "
                    "encoder: busy %.0f%%, %.1f ms CPU/frame\n",
            e->n_workers, e->n_workers == 1 ? "" : "s", 100 * gen_util, n ? 1000 * gen_cpu / n : 0,
            100 * enc_util, n ? 1000 * enc_cpu / n : 0);
    /* Who waited for whom decides; in a short render the workers may be done
     * long before the encoder flushes (nobody waited), then the busier stage. */
    const char *more = e->n_workers < online_cores_count() ? " or add --workers" : " or add cores";
    int codec_used = 0;
    for (int i = 0; i < o->n_outputs; i++)
        codec_used |= uses_codec(o->outputs[i], o->formats ? o->formats[i] : NULL);
    /* y4m, raw and image outputs have no preset: the disk or the pipe's reader sets their pace */
    const char *faster = codec_used ? "a faster --preset would help" : "the disk or the reader of the stream is "
                                                                       "the limit";
    double sound_waits = wall > 0 ? e->sound_wait / wall : 0; /* the sound's thread behind */
    if (sound_waits > 0.1 && sound_waits >= enc_waits && sound_waits >= gen_waits)
        fprintf(stderr, "vstudio: run: bottleneck: the sound (the encoder waited %.0f%% of the time for it): "
                        "simplify its fill or gain functions\n", 100 * sound_waits);
    else if (enc_waits > 0.1 && enc_waits >= gen_waits)
        fprintf(stderr, "vstudio: run: bottleneck: the generator (the encoder waited %.0f%% of the time for "
                        "frames): simplify draw%s\n", 100 * enc_waits, more);
    else if (gen_waits > 0.1)
        fprintf(stderr, "vstudio: run: bottleneck: the encoder (workers waited %.0f%% of the time for it): %s\n",
                100 * gen_waits, faster);
    else if (enc_util > 0.5 && enc_util > gen_util + 0.25)
        fprintf(stderr, "vstudio: run: bottleneck: the encoder (busy %.0f%% of the time, the workers %.0f%%): %s\n",
                100 * enc_util, 100 * gen_util, faster);
    else if (gen_util > 0.5 && gen_util > enc_util + 0.25)
        fprintf(stderr, "vstudio: run: bottleneck: the generator (workers busy %.0f%% of the time, the encoder "
                        "%.0f%%): simplify draw%s\n", 100 * gen_util, 100 * enc_util, more);
    else
        fprintf(stderr, "vstudio: run: balanced: neither stage waited for the other\n");
    fprintf(stderr, "vstudio: run: settings: --workers %d", e->n_workers);
    if (!o->workers)
        fprintf(stderr, " (chosen: %s)", e->n_workers == e->max_workers ? "one per core" :
                                         "enough to keep the encoder busy");
    if (codec_used)
        fprintf(stderr, " --codec %s --crf %d --preset %s", eo->codec ? eo->codec : "libx264",
                eo->crf >= 0 ? eo->crf : 18, eo->preset ? eo->preset : "medium");
    fprintf(stderr, "\n");
}

/* ---- --check: is each frame a pure function of its time? ---- */

static uint64_t hash_frame(const vs_frame *f)
{
    uint64_t h = VS_FNV1A_SEED;
    for (int y = 0; y < f->height; y++)
        h = vs_fnv1a(h, f->data + (size_t)y * f->stride, (size_t)f->width * 4);
    return h;
}

static int render_one(lua_State *L, int ref, vs_frame *f, int64_t k)
{
    vs_frame_fill(f, 0, 0, 0, 255);
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
    lua_pushnumber(L, (lua_Number)k);
    lua_pushlightuserdata(L, f);
    if (vs_lua_pcall(L, 2, 0) != 0) {
        vs_fail("frame %lld: %s", (long long)k, lua_tostring(L, -1) ? lua_tostring(L, -1) : "error in draw");
        lua_pop(L, 1);
        return -1;
    }
    return 0;
}

static int check_purity(const struct script *o, int64_t first, int64_t end)
{
    enum { SAMPLES = 8 };
    int64_t frames[SAMPLES];
    int n = 0;
    for (int i = 0; i < SAMPLES && first + i * (end - first) / SAMPLES < end; i++) {
        int64_t k = first + i * (end - first) / SAMPLES;
        if (n == 0 || frames[n - 1] != k)
            frames[n++] = k;
    }
    uint64_t hashes[2][SAMPLES];
    for (int pass = 0; pass < 2; pass++) {
        struct clip_info info;
        int ref;
        lua_State *L = load_clip(o, 1, &info, &ref, NULL);
        if (!L)
            return -1;
        vs_frame *f = vs_frame_new(info.width, info.height);
        if (!f) {
            lua_close(L);
            return -1;
        }
        for (int j = 0; j < n; j++) {
            int i = pass == 0 ? j : n - 1 - j; /* the second pass goes backwards */
            if (render_one(L, ref, f, frames[i]) < 0) {
                vs_frame_free(f);
                lua_close(L);
                return -1;
            }
            hashes[pass][i] = hash_frame(f);
        }
        vs_frame_free(f);
        lua_close(L);
    }
    char list[256] = "";
    int bad = 0;
    for (int i = 0; i < n; i++) {
        if (hashes[0][i] != hashes[1][i]) {
            size_t len = strlen(list);
            snprintf(list + len, sizeof list - len, "%s%lld", bad ? ", " : "", (long long)frames[i]);
            bad++;
        }
    }
    if (bad)
        return vs_fail("%s: frames %s differ when drawn in another order or on another worker: draw depends on "
                       "something besides t (global state? unseeded randomness?)", o->path, list);
    fprintf(stderr, "vstudio: run: check passed: %d sample frames are identical in both orders\n", n);
    return 0;
}

/* ---- the engine ---- */

static int start_worker(struct engine *e)
{
    struct worker *w = &e->workers[e->n_workers];
    w->engine = e;
    w->index = e->n_workers;
    atomic_init(&w->drawing, -1);
    pthread_mutex_lock(&e->lock);
    int late = w->L == NULL;
    if (late)
        e->loading++;
    pthread_mutex_unlock(&e->lock);
    vs_pool_join(e->pool);
    pthread_mutex_lock(&e->lock);
    e->refs++; /* the worker's: it releases the engine as it leaves */
    pthread_mutex_unlock(&e->lock);
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
        vs_pool_leave(e->pool);
        pthread_mutex_lock(&e->lock);
        e->refs--;
        if (late)
            e->loading--;
        pthread_mutex_unlock(&e->lock);
        return -1;
    }
    w->started = 1;
    pthread_mutex_lock(&e->lock);
    e->n_workers++;
    pthread_mutex_unlock(&e->lock);
    vs_pool_set_window(e->pool, window_for(e->n_workers));
    return 0;
}

/* Choosing the worker count when the user gave none: start with two (or
 * one core's worth) and, every quarter second in which the encoder spent
 * more than a fifth of its time waiting for frames, double them, up to one
 * per core. Extra workers cost memory and start-up (each loads the script),
 * not CPU: a worker with nothing to do sleeps on the window. */
static void maybe_add_workers(struct engine *e, double *last_t, double *last_wait)
{
    double now = vs_now();
    if (now - *last_t < 0.25)
        return;
    double wait = e->main_wait;
    pthread_mutex_lock(&e->lock);
    int loading = e->loading;
    pthread_mutex_unlock(&e->lock);
    double frac = (wait - *last_wait) / (now - *last_t);
    *last_t = now;
    *last_wait = wait;
    if (loading || frac < 0.2)
        return;
    int add = e->n_workers;
    if (add > e->max_workers - e->n_workers)
        add = e->max_workers - e->n_workers;
    for (int i = 0; i < add; i++)
        if (start_worker(e) < 0)
            break;
}

/* A script that returned no clip ran as a job: fine when the outputs were
 * not asked for, else nothing could be written where the user expects it. */
static int no_clip(const vs_render_options *o)
{
    if (o->default_output)
        return 0;
    return vs_fail("%s: the script returned no clip (return vs.clip{...}), so nothing was written to %s", o->script,
                   o->outputs[0]);
}

/* The command's own output name (SCRIPT.mp4) keeps an existing file
 * unless forced, as extract keeps frames; a named -o is the user's word. */
static int check_default_output(const vs_render_options *o)
{
    if (!o->default_output || o->force || o->n_outputs < 1 || access(o->outputs[0], F_OK) != 0)
        return 0;
    return vs_fail("%s exists (the default output for %s); use --force to replace it, or -o to name another",
                   o->outputs[0], o->script);
}

/* Loads the first worker's state, which gives the clip's size and length,
 * so that a broken script fails before any output is opened. It is the
 * script's main run unless a check or vs.render already did that. Returns
 * 1 when the script returned no clip. */
static int load_first_clip(struct engine *e)
{
    struct worker *w0 = &e->workers[0];
    struct clip_info info;
    w0->L = load_clip(&e->script, !e->main_pending, &info, &w0->render_ref, NULL);
    if (!w0->L)
        return -1;
    if (w0->render_ref == LUA_REFNIL)
        return 1;
    e->clip = info;
    return 0;
}

/* The frames to render, [e->first, e->end): the range asked for, cut to
 * the clip, or the K-th of N equal parts. */
static int choose_frames(struct engine *e)
{
    const vs_render_options *o = e->opts;
    int64_t frames = e->clip.frames;
    e->first = o->first;
    e->end = o->end < 0 || o->end > frames ? frames : o->end;
    if (o->segment_count > 0) {
        /* the K-th of N equal parts (1-based), the same split on every machine */
        e->first = frames * (o->segment_index - 1) / o->segment_count;
        e->end = frames * o->segment_index / o->segment_count;
    }
    if (e->first >= e->end) {
        if (o->segment_count > 0)
            return vs_fail("%s: segment %d/%d is empty: the clip has %lld frames, fewer than %d segments (use "
                           "at most %lld)", o->script, o->segment_index, o->segment_count, (long long)frames,
                           o->segment_count, (long long)frames);
        return vs_fail("%s: frame range %lld:%lld is outside the clip (%lld frames)", o->script,
                       (long long)o->first, (long long)o->end, (long long)frames);
    }
    if (o->end > frames && o->progress != VS_PROGRESS_QUIET)
        fprintf(stderr, "vstudio: run: note: the clip has %lld frames; rendering %lld:%lld\n", (long long)frames,
                (long long)e->first, (long long)e->end);
    return 0;
}

/* The first worker's scratch frame, then the outputs (their temporaries).
 * From the exit-now window's end a signal stops the engine, which removes
 * what it wrote; it ends before the outputs open, so no signal ends the
 * process with one open. */
static int prepare_outputs(struct engine *e)
{
    const vs_render_options *o = e->opts;
    struct worker *w0 = &e->workers[0];
    w0->scratch = vs_frame_new(e->clip.width, e->clip.height);
    if (!w0->scratch)
        return vs_error_prefix("%s", o->script);
    if (check_default_output(o) < 0)
        return -1;
    vs_interrupt_exit_now(NULL);
    if (open_outputs(e) < 0)
        return -1;
    if (o->default_output && o->progress != VS_PROGRESS_QUIET)
        fprintf(stderr, "vstudio: run: writing %s (no -o given)\n", o->outputs[0]);
    return 0;
}

/* The ordered window (pool.h) and its slots, sized for the most workers
 * and opened for one until more start. */
static int create_window(struct engine *e)
{
    int capacity = window_for(e->max_workers);
    e->slots = calloc((size_t)capacity, sizeof *e->slots);
    e->pool = vs_pool_new(e->first, e->end, capacity, CHUNK, e->signalled);
    if (!e->slots || !e->pool)
        return vs_fail("out of memory");
    vs_pool_set_window(e->pool, window_for(1));
    return 0;
}

/* The workers asked for, or two to begin with when the count is ours to
 * choose (maybe_add_workers adds more). Not one started is a failed render. */
static void start_workers(struct engine *e)
{
    const vs_render_options *o = e->opts;
    int initial = o->workers > 0 ? e->max_workers : (e->max_workers < 2 ? e->max_workers : 2);
    for (int i = 0; i < initial; i++) {
        if (start_worker(e) < 0) {
            if (i == 0)
                fail_frame(e, -1, "cannot start a worker thread");
            break;
        }
    }
}

/* The calling thread takes the pictures in frame order and pushes them to
 * every encoder, until the last frame or until the pool stops (a failed
 * frame or a signal); then the workers leave. */
static void encode_in_order(struct engine *e, vs_progress *progress)
{
    const vs_render_options *o = e->opts;
    double ramp_t = vs_now(), ramp_wait = 0;
    for (int64_t k = e->first; k < e->end; k++) {
        int taken = vs_pool_take(e->pool, k, &e->main_wait);
        if (taken == VS_POOL_LATE)
            fail_late(e, k);
        if (taken < 0)
            break;
        struct slot *slot = &e->slots[vs_pool_slot(e->pool, k)];
        if (slot->error) {
            fail_frame(e, k, slot->error);
            break;
        }
        vs_picture **pictures = slot->pictures;
        for (int i = 0; i < e->n_encoders; i++) {
            if (vs_encoder_push_picture(e->encoders[i], pictures[i]) < 0) {
                fail_frame(e, -1, vs_last_error());
                for (int j = i + 1; j < e->n_encoders; j++)
                    vs_picture_release(pictures[j]);
                break;
            }
        }
        memset(pictures, 0, VS_MAX_OUTPUTS * sizeof *pictures);
        if (vs_pool_stopped(e->pool))
            break;
        if (e->audio_outputs && mux_sound(e, k) < 0)
            break;
        vs_pool_done(e->pool, k);
        vs_progress_update(progress, k + 1 - e->first);
        if (!o->workers && e->n_workers < e->max_workers)
            maybe_add_workers(e, &ramp_t, &ramp_wait);
    }
    wait_for_sound(e);
    vs_pool_stop(e->pool);
    join_workers(e);
}

/* Every output into its temporary: trailer, flush, fsync (an image sequence's folder). */
static int finish_outputs(struct engine *e)
{
    for (int i = 0; i < e->n_encoders; i++)
        if (vs_encoder_finish(e->encoders[i]) < 0)
            return -1;
    for (int i = 0; i < e->n_sound_files; i++)
        if (vs_audio_writer_finish(e->sound_files[i]) < 0)
            return -1;
    return 0;
}

/* Commits every output unless a signal or a failed frame stopped the render,
 * all or none: each is finished first, and only when all are are they
 * renamed to their names, so a late failure (a full disk at the last
 * output's trailer) leaves no output behind, the earlier ones neither.
 * Only a failing rename (the folder gone meanwhile) can leave the outputs
 * renamed before it. Returns 0, -1, or the signal's exit status (130/143). */
static int close_outputs(struct engine *e)
{
    int sig = atomic_load(e->signalled);
    if (sig) {
        abort_outputs(e);
        vs_fail("interrupted by %s; no output written", vs_interrupt_name(sig));
        return vs_interrupt_status(sig);
    }
    if (e->failed) {
        abort_outputs(e);
        return vs_fail("%s", e->error);
    }
    if (finish_outputs(e) < 0) {
        char why[1024];
        snprintf(why, sizeof why, "%s", vs_last_error());
        abort_outputs(e);
        if (e->n_encoders + e->n_sound_files == 1)
            return vs_fail("%s", why);
        /* a stream already sent cannot be taken back */
        return vs_fail("%s; %s", why, e->script.stdout_output ? "no file written (what went to stdout stays sent)"
                                                                : "no output written");
    }
    for (int i = 0; i < e->n_encoders; i++) {
        vs_encoder *enc = e->encoders[i];
        e->encoders[i] = NULL;
        if (vs_encoder_close(enc) < 0)
            return -1;
    }
    for (int i = 0; i < e->n_sound_files; i++) {
        vs_audio_writer *w = e->sound_files[i];
        e->sound_files[i] = NULL;
        if (vs_audio_writer_close(w) < 0)
            return -1;
    }
    return 0;
}

static int run_engine(struct engine *e)
{
    const vs_render_options *o = e->opts;
    vs_progress *progress = NULL;
    int rc = load_first_clip(e);
    if (rc == 1)
        return no_clip(o); /* a job: nothing is open */
    if (rc < 0)
        goto fail;
    rc = choose_frames(e);
    if (rc < 0)
        goto fail;
    choose_sound(e);
    rc = prepare_outputs(e);
    if (rc < 0)
        goto fail;
    double start = vs_now(), cpu_start = process_cpu();
    if (e->n_encoders == 0) {
        progress = vs_progress_start("frames", e->end - e->first, o->progress);
        run_sound(e, progress); /* only sound files: no picture is drawn */
    } else {
        rc = create_window(e);
        if (rc < 0)
            goto fail;
        progress = vs_progress_start("frames", e->end - e->first, o->progress);
        start_workers(e);
        if (start_sound(e) < 0)
            fail_frame(e, -1, vs_last_error());
        encode_in_order(e, progress);
    }
    vs_progress_finish(progress);
    progress = NULL;
    rc = close_outputs(e);
    if (rc != 0) /* -1, or 130/143 after a signal */
        goto fail;
    if (o->summary && o->progress != VS_PROGRESS_QUIET && e->n_encoders == 0)
        print_sound_summary(e, 0); /* the sound ran in this thread: it was the whole run */
    else if (o->summary && o->progress != VS_PROGRESS_QUIET)
        print_summary(e, vs_now() - start, process_cpu() - cpu_start);
    return 0;
fail:
    vs_progress_finish(progress);
    abort_outputs(e);
    return rc;
}

/* The last one out (the calling thread or an abandoned worker) frees what
 * the workers could reach. */
static void engine_release(struct engine *e)
{
    pthread_mutex_lock(&e->lock);
    int last = --e->refs == 0;
    pthread_mutex_unlock(&e->lock);
    if (!last)
        return;
    for (int i = 0; i < e->n_encoders; i++)
        vs_encoder_abort(e->encoders[i]);
    for (int i = 0; i < e->n_sound_files; i++)
        vs_audio_writer_abort(e->sound_files[i]);
    for (int i = 0; e->workers && i < e->max_workers; i++) {
        if (e->workers[i].L)
            lua_close(e->workers[i].L);
        vs_frame_free(e->workers[i].scratch);
    }
    if (e->sound.L)
        lua_close(e->sound.L);
    free(e->sound.buf);
    free(e->workers);
    for (int i = 0; e->slots && i < window_for(e->max_workers); i++)
        free(e->slots[i].error);
    free(e->slots);
    vs_pool_free(e->pool);
    for (int i = 0; i < e->script.n_args; i++)
        free(e->script.args[i]);
    free(e->script.args);
    free(e->script.path);
    free(e->script.captions);
    pthread_mutex_destroy(&e->lock);
    pthread_cond_destroy(&e->changed);
    free(e);
}

/* Whether an output is the process's stdout, which print must then leave alone. */
static int writes_stdout(const vs_render_options *o)
{
    for (int i = 0; i < o->n_outputs; i++)
        if (strcmp(o->outputs[i], "-") == 0 || strcmp(o->outputs[i], "pipe:1") == 0)
            return 1;
    return 0;
}

static int copy_script(struct script *dst, const vs_render_options *o)
{
    dst->stdout_output = writes_stdout(o);
    dst->n_args = 0;
    if (!(dst->path = strdup(o->script)) || !(dst->args = calloc((size_t)o->n_args + 1, sizeof *dst->args)) ||
        (o->captions && !(dst->captions = strdup(o->captions))))
        return vs_fail("out of memory");
    for (; dst->n_args < o->n_args; dst->n_args++)
        if (!(dst->args[dst->n_args] = strdup(o->args[dst->n_args])))
            return vs_fail("out of memory");
    return 0;
}

static int render_signalled(const vs_render_options *o, atomic_int *signalled);

int vs_render(const vs_render_options *o)
{
    if (!o->script)
        return vs_fail("no script to render");
    if (o->first < 0 || (o->end >= 0 && o->end <= o->first))
        return vs_fail("bad frame range %lld:%lld", (long long)o->first, (long long)o->end);
    if (o->segment_count < 0 || (o->segment_count > 0 && (o->segment_index < 1 || o->segment_index > o->segment_count)))
        return vs_fail("bad segment %d/%d (expected K/N with 1 <= K <= N)", o->segment_index, o->segment_count);
    if (o->captions && vs_captions_check(o->captions) < 0)
        return -1;
    vs_interrupt saved;
    atomic_int *signalled = vs_interrupt_catch(&saved);
    vs_interrupt_exit_now(interrupted_early);
    int rc = render_signalled(o, signalled);
    vs_interrupt_exit_now(NULL);
    vs_interrupt_release(&saved);
    return rc;
}

static int render_signalled(const vs_render_options *o, atomic_int *signalled)
{
    int main_pending = !o->script_ran;
    if (o->check) {
        struct script script = {(char *)o->script, (char **)o->args, o->n_args, writes_stdout(o), (char *)o->captions};
        struct clip_info info;
        int ref;
        lua_State *L = load_clip(&script, !main_pending, &info, &ref, NULL);
        main_pending = 0;
        if (!L)
            return -1;
        lua_close(L);
        if (ref == LUA_REFNIL)
            return vs_fail("%s: the script returned no clip to check (return vs.clip{...})", o->script);
        int64_t end = o->end < 0 || o->end > info.frames ? info.frames : o->end;
        /* only a check unless outputs were named: then render once it passed */
        int rc = check_purity(&script, o->first, end);
        if (rc < 0 || o->n_outputs == 0)
            return rc;
    }

    /* On the heap, shared with the workers: one stuck in a JIT loop may
     * outlive this call (engine_release). */
    struct engine *e = calloc(1, sizeof *e);
    if (!e)
        return vs_fail("out of memory");
    e->opts = o;
    e->main_pending = main_pending;
    e->signalled = signalled;
    e->max_workers = o->workers > 0 ? o->workers : online_cores_count();
    e->refs = 1;
    pthread_mutex_init(&e->lock, NULL);
    pthread_cond_init(&e->changed, NULL);
    e->workers = calloc((size_t)e->max_workers, sizeof *e->workers);
    int rc = !e->workers ? vs_fail("out of memory") : copy_script(&e->script, o);
    /* a write to a closed pipe fails the render with its message instead of
     * killing the process with the other outputs' temporaries on disk */
    struct sigaction ignore = {.sa_handler = SIG_IGN}, old_pipe;
    sigaction(SIGPIPE, &ignore, &old_pipe);
    if (rc == 0)
        rc = run_engine(e);
    sigaction(SIGPIPE, &old_pipe, NULL);
    engine_release(e);
    return rc;
}
