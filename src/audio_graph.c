/*
 * audio_graph.c: a clip's sound, a tree of nodes evaluated for a range of samples.
 *
 * lua/vstudio/audio.lua builds the tree in the state that renders it, for one output rate and
 * channel count: sources (silence, a tone, a Lua fill function, a file through audio_source.c)
 * and operations (cut, loop, reverse, resample, envelope, gain function, mix). Every node has
 * an exact length in samples and reads any range [first, first + n): what lies outside
 * [0, length) is silence, so a cut with a negative first is a delay and a cut longer than its
 * input pads. Reads are pure functions of the range (a Lua fill is called for fixed, aligned
 * blocks; the resampler is a windowed sinc over the input's samples, with no state carried
 * from one read to the next): a segment of a render gets exactly the samples the whole render
 * has there, whatever order the reads come in.
 *
 * Mixing sums in float; nothing here clips (the render clips to [-1, 1] when it writes).
 * Nodes are reference counted: a node holds its inputs, vs_audio_free drops one reference.
 * A tree is used by one thread at a time (nodes keep scratch buffers; Lua callbacks run in the
 * state that made them).
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/channel_layout.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>

#include "channels.h"
#include "error.h"
#include "vstudio.h"

enum kind { SILENCE, TONE, FILL, FILE_SOURCE, CUT, LOOP, REVERSE, RESAMPLE, TEMPO, ENVELOPE, GAIN_FN, MIX };

/* A Lua fill function is asked for aligned blocks of this many samples. */
#define FILL_BLOCK 4096
/* A gain function of t is sampled every GAIN_STEP samples, linear in between. */
#define GAIN_STEP 32
/* The resampler's kernel: ZEROS zero crossings each side of a Kaiser-windowed sinc, tabulated
 * at KERNEL_RES points per crossing. */
#define ZEROS 16
#define KERNEL_RES 512
#define KAISER_BETA 9.0

struct vs_audio {
    enum kind kind;
    int refs;
    int channels;
    int64_t length;
    vs_audio **inputs; /* CUT, LOOP, REVERSE, RESAMPLE, ENVELOPE, GAIN_FN: one; MIX: n_inputs */
    int n_inputs;
    int64_t *starts;   /* MIX: where each input begins */
    float *scratch;    /* per node, reused by every read */
    size_t scratch_size;
    double step, amplitude;   /* TONE: cycles per sample, peak */
    int64_t offset;           /* CUT: input sample of output sample 0 */
    int64_t period_num, period_den; /* LOOP: round i starts at floor(i * num / den) */
    double ratio;             /* RESAMPLE: input samples per output sample */
    int64_t *points;          /* ENVELOPE: sample positions, ascending */
    float *gains;             /*   and the gain at each */
    int n_points;
    int rate;                 /* GAIN_FN: t = sample / rate */
    vs_audio_gain_fn gain_fn;
    vs_audio_fill_fn fill_fn; /* FILL: the Lua function, its channels, one cached block */
    int fill_channels;
    float *block;
    int64_t block_first;
    vs_audio_source *source;  /* FILE_SOURCE */
    struct tempo *tempo;      /* TEMPO, with ratio and rate */
};

/* libavfilter's atempo (chained: one takes 0.5..100) run forward. Not a pure function of the
 * range like the other nodes: a read that does not continue the last one restarts the filter
 * TEMPO_PREROLL input samples before it, so a seek (a segment's start) may differ from a
 * straight run by the filter's window, a few milliseconds. */
#define TEMPO_PREROLL 16384
#define TEMPO_CHUNK 2048
struct tempo {
    AVFilterGraph *graph;
    AVFilterContext *src, *sink;
    AVFrame *frame;
    int64_t in_pos;   /* the next input sample to feed */
    int64_t out_pos;  /* output sample number of pending[0] */
    float *pending;   /* produced, not yet read */
    int64_t pending_n, pending_cap;
    int flushed;      /* the input's end was sent */
};

int64_t vs_audio_frame_start(int64_t frame, int rate, int fps_num, int fps_den)
{
    if (fps_num <= 0 || fps_den <= 0 || rate <= 0)
        return 0;
    __int128 s = (__int128)frame * rate * fps_den;
    /* floor, also for a negative frame */
    __int128 q = s / fps_num;
    if (s % fps_num != 0 && s < 0)
        q--;
    return (int64_t)q;
}

static vs_audio *node_new(enum kind kind, int channels, int64_t length)
{
    if (channels < 1 || channels > 64) {
        vs_fail("audio: %d channels (1..64)", channels);
        return NULL;
    }
    if (length < 0) {
        vs_fail("audio: negative length %lld", (long long)length);
        return NULL;
    }
    vs_audio *a = calloc(1, sizeof *a);
    if (!a) {
        vs_fail("out of memory");
        return NULL;
    }
    a->kind = kind;
    a->refs = 1;
    a->channels = channels;
    a->length = length;
    return a;
}

/* A node over one input, which it holds a reference to. */
static vs_audio *unary_new(enum kind kind, vs_audio *input, int64_t length)
{
    if (!input) {
        vs_fail("audio: no input");
        return NULL;
    }
    vs_audio *a = node_new(kind, input->channels, length);
    if (!a)
        return NULL;
    a->inputs = malloc(sizeof *a->inputs);
    if (!a->inputs) {
        free(a);
        vs_fail("out of memory");
        return NULL;
    }
    a->inputs[0] = input;
    a->n_inputs = 1;
    input->refs++;
    return a;
}

void vs_audio_free(vs_audio *a)
{
    if (!a || --a->refs > 0)
        return;
    for (int i = 0; i < a->n_inputs; i++)
        vs_audio_free(a->inputs[i]);
    free(a->inputs);
    free(a->starts);
    free(a->scratch);
    free(a->points);
    free(a->gains);
    free(a->block);
    vs_audio_source_close(a->source);
    if (a->tempo) {
        avfilter_graph_free(&a->tempo->graph);
        av_frame_free(&a->tempo->frame);
        free(a->tempo->pending);
        free(a->tempo);
    }
    free(a);
}

int64_t vs_audio_length(const vs_audio *a) { return a->length; }

int vs_audio_channels(const vs_audio *a) { return a->channels; }

/* ---- sources ---- */

vs_audio *vs_audio_silence(int channels, int64_t length)
{
    return node_new(SILENCE, channels, length);
}

vs_audio *vs_audio_tone(int channels, int64_t length, double cycles_per_sample, double amplitude)
{
    if (!(cycles_per_sample >= 0 && cycles_per_sample < 0.5) || !isfinite(amplitude)) {
        vs_fail("audio: tone: frequency must be below half the rate (%g cycles per sample)", cycles_per_sample);
        return NULL;
    }
    vs_audio *a = node_new(TONE, channels, length);
    if (a) {
        a->step = cycles_per_sample;
        a->amplitude = amplitude;
    }
    return a;
}

vs_audio *vs_audio_fill(int channels, int fill_channels, int64_t length, vs_audio_fill_fn fill)
{
    if (!fill || fill_channels < 1 || fill_channels > 64) {
        vs_fail("audio: fill: needs a function and 1..64 channels, got %d", fill_channels);
        return NULL;
    }
    vs_audio *a = node_new(FILL, channels, length);
    if (!a)
        return NULL;
    a->block = malloc(sizeof(float) * FILL_BLOCK * (size_t)fill_channels);
    if (!a->block) {
        free(a);
        vs_fail("out of memory");
        return NULL;
    }
    a->fill_fn = fill;
    a->fill_channels = fill_channels;
    a->block_first = -1;
    return a;
}

vs_audio *vs_audio_file(const char *path, int rate, int channels)
{
    vs_audio_source *src = vs_audio_source_open(path, rate, channels);
    if (!src)
        return NULL;
    vs_audio *a = node_new(FILE_SOURCE, channels, vs_audio_source_length(src));
    if (!a) {
        vs_audio_source_close(src);
        return NULL;
    }
    a->source = src;
    return a;
}

/* ---- operations ---- */

vs_audio *vs_audio_cut(vs_audio *input, int64_t first, int64_t length)
{
    vs_audio *a = unary_new(CUT, input, length);
    if (a)
        a->offset = first;
    return a;
}

vs_audio *vs_audio_loop(vs_audio *input, int64_t length, int64_t period_num, int64_t period_den)
{
    if (period_num < 1 || period_den < 1) {
        vs_fail("audio: loop: the period must be positive (%lld/%lld samples)", (long long)period_num,
                (long long)period_den);
        return NULL;
    }
    vs_audio *a = unary_new(LOOP, input, length);
    if (a) {
        a->period_num = period_num;
        a->period_den = period_den;
    }
    return a;
}

vs_audio *vs_audio_reverse(vs_audio *input)
{
    return unary_new(REVERSE, input, input ? input->length : 0);
}

vs_audio *vs_audio_resample(vs_audio *input, double ratio, int64_t length)
{
    if (!(ratio > 1e-3 && ratio < 1e3)) {
        vs_fail("audio: resample: ratio %g is outside 0.001..1000", ratio);
        return NULL;
    }
    vs_audio *a = unary_new(RESAMPLE, input, length);
    if (a)
        a->ratio = ratio;
    return a;
}

vs_audio *vs_audio_tempo(vs_audio *input, int rate, double ratio, int64_t length)
{
    if (!(ratio >= 0.01 && ratio <= 100) || rate < 1) {
        vs_fail("audio: speed with keep_pitch: factor %g is outside 0.01..100", ratio);
        return NULL;
    }
    vs_audio *a = unary_new(TEMPO, input, length);
    if (!a)
        return NULL;
    a->tempo = calloc(1, sizeof *a->tempo);
    if (!a->tempo) {
        vs_audio_free(a);
        vs_fail("out of memory");
        return NULL;
    }
    a->ratio = ratio;
    a->rate = rate;
    return a;
}

vs_audio *vs_audio_envelope(vs_audio *input, const int64_t *points, const float *gains, int n)
{
    if (n < 1) {
        vs_fail("audio: envelope: no points");
        return NULL;
    }
    for (int i = 1; i < n; i++)
        if (points[i] < points[i - 1]) {
            vs_fail("audio: envelope: points must ascend (%lld after %lld)", (long long)points[i],
                    (long long)points[i - 1]);
            return NULL;
        }
    vs_audio *a = unary_new(ENVELOPE, input, input ? input->length : 0);
    if (!a)
        return NULL;
    a->points = malloc(sizeof *a->points * (size_t)n);
    a->gains = malloc(sizeof *a->gains * (size_t)n);
    if (!a->points || !a->gains) {
        vs_audio_free(a);
        vs_fail("out of memory");
        return NULL;
    }
    memcpy(a->points, points, sizeof *points * (size_t)n);
    memcpy(a->gains, gains, sizeof *gains * (size_t)n);
    a->n_points = n;
    return a;
}

vs_audio *vs_audio_gain_function(vs_audio *input, int rate, vs_audio_gain_fn fn)
{
    if (!fn || rate < 1) {
        vs_fail("audio: gain function: needs a function and a rate");
        return NULL;
    }
    vs_audio *a = unary_new(GAIN_FN, input, input ? input->length : 0);
    if (a) {
        a->gain_fn = fn;
        a->rate = rate;
    }
    return a;
}

vs_audio *vs_audio_mix(vs_audio *const *inputs, const int64_t *starts, int n, int64_t length)
{
    if (n < 1) {
        vs_fail("audio: mix: nothing to mix");
        return NULL;
    }
    for (int i = 0; i < n; i++)
        if (!inputs[i] || inputs[i]->channels != inputs[0]->channels) {
            vs_fail("audio: mix: input %d has %d channels, the first %d", i + 1, inputs[i] ? inputs[i]->channels : 0,
                    inputs[0] ? inputs[0]->channels : 0);
            return NULL;
        }
    vs_audio *a = node_new(MIX, inputs[0]->channels, length);
    if (!a)
        return NULL;
    a->inputs = malloc(sizeof *a->inputs * (size_t)n);
    a->starts = malloc(sizeof *a->starts * (size_t)n);
    if (!a->inputs || !a->starts) {
        vs_audio_free(a);
        vs_fail("out of memory");
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        a->inputs[i] = inputs[i];
        inputs[i]->refs++;
        a->starts[i] = starts ? starts[i] : 0;
    }
    a->n_inputs = n;
    return a;
}

/* ---- reading ---- */

static int read_range(vs_audio *a, int64_t first, int64_t n, float *out);

static float *scratch(vs_audio *a, int64_t samples)
{
    size_t need = (size_t)samples * (size_t)a->channels;
    if (need > a->scratch_size) {
        float *p = realloc(a->scratch, need * sizeof *p);
        if (!p) {
            vs_fail("out of memory (%lld audio samples)", (long long)samples);
            return NULL;
        }
        a->scratch = p;
        a->scratch_size = need;
    }
    return a->scratch;
}

static void read_tone(const vs_audio *a, int64_t first, int64_t n, float *out)
{
    int ch = a->channels;
    for (int64_t i = 0; i < n; i++) {
        /* the phase from the sample number alone: exact however far in */
        double phase = fmod((double)(first + i) * a->step, 1.0);
        float v = (float)(a->amplitude * sin(2 * M_PI * phase));
        for (int c = 0; c < ch; c++)
            out[i * ch + c] = v;
    }
}

static int read_fill(vs_audio *a, int64_t first, int64_t n, float *out)
{
    int ch = a->channels, fch = a->fill_channels;
    for (int64_t i = 0; i < n;) {
        int64_t pos = first + i, block = pos - pos % FILL_BLOCK;
        if (block != a->block_first) {
            int64_t len = a->length - block < FILL_BLOCK ? a->length - block : FILL_BLOCK;
            memset(a->block, 0, sizeof(float) * FILL_BLOCK * (size_t)fch);
            a->block_first = -1;
            if (a->fill_fn(a->block, block, len) < 0)
                return vs_fail("audio: the fill function failed at sample %lld", (long long)block);
            a->block_first = block;
        }
        int64_t take = block + FILL_BLOCK - pos;
        if (take > n - i)
            take = n - i;
        const float *src = a->block + (pos - block) * fch;
        for (int64_t j = 0; j < take; j++, src += fch) {
            float *dst = out + (i + j) * ch;
            if (fch == ch) {
                memcpy(dst, src, sizeof(float) * (size_t)ch);
            } else if (fch == 1) {
                for (int c = 0; c < ch; c++)
                    dst[c] = src[0];
            } else if (ch == 1) {
                float sum = 0;
                for (int c = 0; c < fch; c++)
                    sum += src[c];
                dst[0] = sum / (float)fch;
            } else {
                for (int c = 0; c < ch; c++)
                    dst[c] = src[c % fch];
            }
        }
        i += take;
    }
    return 0;
}

static int read_loop(vs_audio *a, int64_t first, int64_t n, float *out)
{
    int ch = a->channels;
    __int128 num = a->period_num, den = a->period_den;
    for (int64_t i = 0; i < n;) {
        int64_t j = first + i;
        /* the last round starting at or before j: floor(r * num / den) <= j */
        int64_t round = (int64_t)(((__int128)(j + 1) * den - 1) / num);
        int64_t start = (int64_t)((__int128)round * num / den);
        int64_t next = (int64_t)((__int128)(round + 1) * num / den);
        int64_t take = next - j < n - i ? next - j : n - i;
        if (read_range(a->inputs[0], j - start, take, out + i * ch) < 0)
            return -1;
        i += take;
    }
    return 0;
}

static int read_reverse(vs_audio *a, int64_t first, int64_t n, float *out)
{
    int ch = a->channels;
    float *buf = scratch(a, n);
    if (!buf || read_range(a->inputs[0], a->length - first - n, n, buf) < 0)
        return -1;
    for (int64_t i = 0; i < n; i++)
        memcpy(out + i * ch, buf + (n - 1 - i) * ch, sizeof(float) * (size_t)ch);
    return 0;
}

static float kernel_table[ZEROS * KERNEL_RES + 2];
static pthread_once_t kernel_once = PTHREAD_ONCE_INIT;

/* Modified Bessel function I0, for the Kaiser window. */
static double bessel_i0(double x)
{
    double sum = 1, term = 1;
    for (int k = 1; k < 50; k++) {
        term *= (x / (2 * k)) * (x / (2 * k));
        sum += term;
        if (term < sum * 1e-12)
            break;
    }
    return sum;
}

static void kernel_init(void)
{
    for (int i = 0; i <= ZEROS * KERNEL_RES + 1; i++) {
        double x = (double)i / KERNEL_RES, r = x / ZEROS;
        double sinc = x == 0 ? 1 : sin(M_PI * x) / (M_PI * x);
        double window = r >= 1 ? 0 : bessel_i0(KAISER_BETA * sqrt(1 - r * r)) / bessel_i0(KAISER_BETA);
        kernel_table[i] = (float)(sinc * window);
    }
}

/* The windowed sinc at x (in zero crossings), interpolated from the table. */
static inline float kernel(double x)
{
    x = fabs(x) * KERNEL_RES;
    if (x >= ZEROS * KERNEL_RES)
        return 0;
    int i = (int)x;
    float f = (float)(x - i);
    return kernel_table[i] + f * (kernel_table[i + 1] - kernel_table[i]);
}

/* Output sample j is the input band-limited and read at j * ratio: faster (ratio > 1) lowers the
 * cutoff to the output's Nyquist so nothing folds back. */
static int read_resample(vs_audio *a, int64_t first, int64_t n, float *out)
{
    pthread_once(&kernel_once, kernel_init);
    int ch = a->channels;
    double ratio = a->ratio, cutoff = ratio > 1 ? 1 / ratio : 1;
    int64_t reach = (int64_t)ceil(ZEROS / cutoff) + 1;
    int64_t lo = (int64_t)floor((double)first * ratio) - reach;
    int64_t hi = (int64_t)floor((double)(first + n - 1) * ratio) + reach + 1;
    float *in = scratch(a, hi - lo);
    if (!in || read_range(a->inputs[0], lo, hi - lo, in) < 0)
        return -1;
    float acc[64];
    for (int64_t j = 0; j < n; j++) {
        double p = (double)(first + j) * ratio;
        int64_t centre = (int64_t)floor(p);
        int64_t from = centre - reach + 1, to = centre + reach;
        if (from < lo)
            from = lo;
        if (to >= hi)
            to = hi - 1;
        memset(acc, 0, sizeof(float) * (size_t)ch);
        for (int64_t i = from; i <= to; i++) {
            float w = kernel((p - (double)i) * cutoff);
            if (w == 0)
                continue;
            const float *s = in + (i - lo) * ch;
            for (int c = 0; c < ch; c++)
                acc[c] += w * s[c];
        }
        for (int c = 0; c < ch; c++)
            out[j * ch + c] = (float)(acc[c] * cutoff);
    }
    return 0;
}

static int av_fail(const char *what, int err)
{
    char msg[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(err, msg, sizeof msg);
    return vs_fail("audio: speed with keep_pitch: %s: %s", what, msg);
}

/* A fresh atempo chain that starts reading the input at in_pos (output out_pos). */
static int tempo_restart(vs_audio *a, int64_t in_pos, int64_t out_pos)
{
    struct tempo *t = a->tempo;
    avfilter_graph_free(&t->graph);
    t->pending_n = 0;
    t->flushed = 0;
    t->in_pos = in_pos;
    t->out_pos = out_pos;
    if (!t->frame && !(t->frame = av_frame_alloc()))
        return vs_fail("out of memory");
    AVChannelLayout layout;
    vs_channel_layout(&layout, a->channels);
    char layout_name[64], args[256], chain[512] = "";
    av_channel_layout_describe(&layout, layout_name, sizeof layout_name);
    snprintf(args, sizeof args, "sample_rate=%d:sample_fmt=flt:channel_layout=%s", a->rate, layout_name);
    /* one atempo takes 0.5..100: a chain of them for factors below */
    double left = a->ratio;
    while (left < 0.5) {
        strcat(chain, "atempo=0.5,");
        left /= 0.5;
    }
    snprintf(chain + strlen(chain), sizeof chain - strlen(chain), "atempo=%.17g,aformat=sample_fmts=flt", left);
    AVFilterInOut *in = avfilter_inout_alloc(), *out = avfilter_inout_alloc();
    int rc = -1;
    t->graph = avfilter_graph_alloc();
    if (!in || !out || !t->graph) {
        vs_fail("out of memory");
        goto done;
    }
    int err;
    if ((err = avfilter_graph_create_filter(&t->src, avfilter_get_by_name("abuffer"), "in", args, NULL, t->graph)) < 0 ||
        (err = avfilter_graph_create_filter(&t->sink, avfilter_get_by_name("abuffersink"), "out", NULL, NULL,
                                            t->graph)) < 0) {
        av_fail("filter", err);
        goto done;
    }
    out->name = av_strdup("in");
    out->filter_ctx = t->src;
    in->name = av_strdup("out");
    in->filter_ctx = t->sink;
    if ((err = avfilter_graph_parse_ptr(t->graph, chain, &in, &out, NULL)) < 0 ||
        (err = avfilter_graph_config(t->graph, NULL)) < 0) {
        av_fail(chain, err);
        goto done;
    }
    rc = 0;
done:
    avfilter_inout_free(&in);
    avfilter_inout_free(&out);
    av_channel_layout_uninit(&layout);
    if (rc < 0)
        avfilter_graph_free(&t->graph);
    return rc;
}

/* Feeds one chunk of input (or the end) and appends what comes out; 1 when nothing more comes. */
static int tempo_step(vs_audio *a)
{
    struct tempo *t = a->tempo;
    int ch = a->channels, err;
    if (!t->flushed) {
        vs_audio *in = a->inputs[0];
        if (t->in_pos >= in->length) {
            if ((err = av_buffersrc_add_frame(t->src, NULL)) < 0)
                return av_fail("end of input", err);
            t->flushed = 1;
        } else {
            AVFrame *f = t->frame;
            av_frame_unref(f);
            f->nb_samples = TEMPO_CHUNK;
            f->format = AV_SAMPLE_FMT_FLT;
            f->sample_rate = a->rate;
            vs_channel_layout(&f->ch_layout, ch);
            if ((err = av_frame_get_buffer(f, 0)) < 0)
                return av_fail("frame", err);
            if (read_range(in, t->in_pos, TEMPO_CHUNK, (float *)f->data[0]) < 0)
                return -1;
            f->pts = t->in_pos;
            t->in_pos += TEMPO_CHUNK;
            if ((err = av_buffersrc_add_frame(t->src, f)) < 0)
                return av_fail("input", err);
        }
    }
    for (;;) {
        AVFrame *f = t->frame;
        av_frame_unref(f);
        err = av_buffersink_get_frame(t->sink, f);
        if (err == AVERROR(EAGAIN))
            return 0;
        if (err == AVERROR_EOF)
            return 1;
        if (err < 0)
            return av_fail("output", err);
        int64_t need = t->pending_n + f->nb_samples;
        if (need > t->pending_cap) {
            float *p = realloc(t->pending, sizeof(float) * (size_t)(need * 2 * ch));
            if (!p)
                return vs_fail("out of memory");
            t->pending = p;
            t->pending_cap = need * 2;
        }
        memcpy(t->pending + t->pending_n * ch, f->data[0], sizeof(float) * (size_t)(f->nb_samples * ch));
        t->pending_n = need;
    }
}

static int read_tempo(vs_audio *a, int64_t first, int64_t n, float *out)
{
    struct tempo *t = a->tempo;
    int ch = a->channels;
    /* continue when the read follows on (or starts a little ahead), else restart before it */
    if (!t->graph || first < t->out_pos || first > t->out_pos + t->pending_n + TEMPO_PREROLL) {
        int64_t in_pos = (int64_t)floor((double)first * a->ratio) - TEMPO_PREROLL;
        if (in_pos < 0)
            in_pos = 0;
        if (tempo_restart(a, in_pos, (int64_t)llround((double)in_pos / a->ratio)) < 0)
            return -1;
    }
    int done = 0;
    while (!done && t->out_pos + t->pending_n < first + n) {
        int rc = tempo_step(a);
        if (rc < 0)
            return -1;
        done = rc;
        /* drop what lies before the read so pending stays small */
        int64_t drop = first - t->out_pos;
        if (drop > t->pending_n)
            drop = t->pending_n;
        if (drop > 0) {
            memmove(t->pending, t->pending + drop * ch, sizeof(float) * (size_t)((t->pending_n - drop) * ch));
            t->pending_n -= drop;
            t->out_pos += drop;
        }
    }
    memset(out, 0, sizeof(float) * (size_t)(n * ch));
    int64_t have = t->out_pos + t->pending_n - first;
    if (have > n)
        have = n;
    if (have > 0 && first >= t->out_pos)
        memcpy(out, t->pending + (first - t->out_pos) * ch, sizeof(float) * (size_t)(have * ch));
    return 0;
}

static float envelope_at(const vs_audio *a, int64_t x, int *k)
{
    const int64_t *p = a->points;
    int n = a->n_points;
    if (x <= p[0])
        return a->gains[0];
    if (x >= p[n - 1])
        return a->gains[n - 1];
    while (*k + 1 < n - 1 && p[*k + 1] <= x)
        (*k)++;
    while (*k > 0 && p[*k] > x)
        (*k)--;
    double f = (double)(x - p[*k]) / (double)(p[*k + 1] - p[*k]);
    return (float)(a->gains[*k] + f * (a->gains[*k + 1] - a->gains[*k]));
}

static int read_envelope(vs_audio *a, int64_t first, int64_t n, float *out)
{
    if (read_range(a->inputs[0], first, n, out) < 0)
        return -1;
    int ch = a->channels, k = 0;
    for (int64_t i = 0; i < n; i++) {
        float g = envelope_at(a, first + i, &k);
        for (int c = 0; c < ch; c++)
            out[i * ch + c] *= g;
    }
    return 0;
}

static int gain_sample(vs_audio *a, int64_t step, double *g)
{
    double t = (double)(step * GAIN_STEP) / a->rate;
    *g = a->gain_fn(t);
    if (!isfinite(*g))
        return vs_fail("audio: volume: the gain function failed or returned no number at t=%.6f s", t);
    return 0;
}

static int read_gain_fn(vs_audio *a, int64_t first, int64_t n, float *out)
{
    if (read_range(a->inputs[0], first, n, out) < 0)
        return -1;
    int ch = a->channels;
    int64_t step = first / GAIN_STEP;
    double g0, g1;
    if (gain_sample(a, step, &g0) < 0 || gain_sample(a, step + 1, &g1) < 0)
        return -1;
    for (int64_t i = 0; i < n; i++) {
        int64_t x = first + i;
        if (x / GAIN_STEP != step) {
            step = x / GAIN_STEP;
            g0 = g1;
            if (gain_sample(a, step + 1, &g1) < 0)
                return -1;
        }
        float g = (float)(g0 + (g1 - g0) * (double)(x % GAIN_STEP) / GAIN_STEP);
        for (int c = 0; c < ch; c++)
            out[i * ch + c] *= g;
    }
    return 0;
}

static int read_mix(vs_audio *a, int64_t first, int64_t n, float *out)
{
    int ch = a->channels;
    memset(out, 0, sizeof(float) * (size_t)(n * ch));
    for (int k = 0; k < a->n_inputs; k++) {
        vs_audio *in = a->inputs[k];
        int64_t from = a->starts[k] > first ? a->starts[k] : first;
        int64_t to = a->starts[k] + in->length < first + n ? a->starts[k] + in->length : first + n;
        if (from >= to)
            continue;
        float *buf = scratch(a, to - from);
        if (!buf || read_range(in, from - a->starts[k], to - from, buf) < 0)
            return -1;
        float *dst = out + (from - first) * ch;
        for (int64_t i = 0; i < (to - from) * ch; i++)
            dst[i] += buf[i];
    }
    return 0;
}

/* Reads [first, first + n) of a: silence outside [0, length), the node's own samples inside. */
static int read_range(vs_audio *a, int64_t first, int64_t n, float *out)
{
    int ch = a->channels;
    int64_t from = first < 0 ? 0 : first, to = first + n > a->length ? a->length : first + n;
    if (from >= to) {
        memset(out, 0, sizeof(float) * (size_t)(n * ch));
        return 0;
    }
    if (from > first)
        memset(out, 0, sizeof(float) * (size_t)((from - first) * ch));
    if (to < first + n)
        memset(out + (to - first) * ch, 0, sizeof(float) * (size_t)((first + n - to) * ch));
    float *dst = out + (from - first) * ch;
    int64_t len = to - from;
    switch (a->kind) {
    case SILENCE:
        memset(dst, 0, sizeof(float) * (size_t)(len * ch));
        return 0;
    case TONE:
        read_tone(a, from, len, dst);
        return 0;
    case FILL:
        return read_fill(a, from, len, dst);
    case FILE_SOURCE:
        return vs_audio_source_read(a->source, from, len, dst);
    case CUT:
        return read_range(a->inputs[0], from + a->offset, len, dst);
    case LOOP:
        return read_loop(a, from, len, dst);
    case REVERSE:
        return read_reverse(a, from, len, dst);
    case RESAMPLE:
        return read_resample(a, from, len, dst);
    case TEMPO:
        return read_tempo(a, from, len, dst);
    case ENVELOPE:
        return read_envelope(a, from, len, dst);
    case GAIN_FN:
        return read_gain_fn(a, from, len, dst);
    case MIX:
        return read_mix(a, from, len, dst);
    }
    return vs_fail("audio: unknown node");
}

int vs_audio_read(vs_audio *a, int64_t first, int64_t n, float *out)
{
    if (!a || n < 0)
        return vs_fail("audio: read: bad arguments");
    return read_range(a, first, n, out);
}
