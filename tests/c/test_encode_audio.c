/* test_encode_audio.c: the encoder's audio stream: AAC in MP4, Opus in
 * Matroska, FLAC in a segment, each read back (vs_audio_source, itself
 * checked against ffmpeg) with exactly the samples pushed per frame; the
 * same packets in the same order when the sound is encoded in a thread of its
 * own (deferred muxing, as the render engine does) whether it runs ahead
 * of the pictures or behind them; and the errors before any frame: a
 * container that cannot hold the codec, a rate the codec does not take,
 * sound to a y4m stream. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "encode.h"
#include "vstudio.h"

enum { FRAMES = 45, RATE = 48000, W = 64, H = 48 };

static double tone(int64_t i, int c) { return 0.4 * sin(2 * M_PI * (c ? 660.0 : 440.0) * (double)i / RATE); }

static int64_t sample_of(int64_t k, int fps_num, int fps_den) { return k * RATE * fps_den / fps_num; }

/* Frame k's samples of the tone into buf (interleaved stereo); their count. */
static int64_t frame_sound(int64_t k, const vs_encoder_options *o, float *buf)
{
    int64_t s0 = sample_of(k, o->fps_num, o->fps_den), s1 = sample_of(k + 1, o->fps_num, o->fps_den);
    for (int64_t i = s0; i < s1; i++)
        for (int c = 0; c < 2; c++)
            buf[(i - s0) * 2 + c] = (float)tone(i, c);
    return s1 - s0;
}

static vs_encoder *open_clip(const char *path, vs_encoder_options *o)
{
    o->preset = "ultrafast";
    o->quiet = 1;
    o->audio_rate = RATE;
    o->audio_channels = 2;
    return vs_encoder_open(path, W, H, o);
}

/* The sound's own thread: every frame's samples into the stream, each after `pause` us. */
struct sound_thread {
    vs_audio_out *audio;
    const vs_encoder_options *o;
    int pause;
    int rc;
};

static void *push_sound(void *arg)
{
    struct sound_thread *t = arg;
    float buf[2 * 2000];
    for (int64_t k = 0; t->rc == 0 && k < FRAMES; k++) {
        usleep((unsigned)t->pause);
        t->rc = vs_audio_out_push(t->audio, buf, frame_sound(k, t->o, buf));
    }
    return NULL;
}

/* As write_clip, with the sound encoded in a thread while this one pushes the pictures (each
 * after picture_pause us) and muxes the sound's packets after each. */
static int write_clip_threaded(const char *path, vs_encoder_options *o, int sound_pause, int picture_pause)
{
    vs_encoder *enc = open_clip(path, o);
    if (!enc)
        return -1;
    struct sound_thread t = {vs_encoder_audio(enc), o, sound_pause, 0};
    vs_frame *f = vs_frame_new(W, H);
    pthread_t thread;
    int rc = f && vs_audio_out_defer_muxing(t.audio) == 0 ? 0 : -1;
    int started = rc == 0 && pthread_create(&thread, NULL, push_sound, &t) == 0;
    if (!started)
        rc = -1;
    for (int64_t k = 0; rc == 0 && k < FRAMES; k++) {
        usleep((unsigned)picture_pause);
        vs_frame_fill(f, (uint8_t)(k * 5), 60, 90, 255);
        rc = vs_encoder_push(enc, f);
        if (rc == 0)
            rc = vs_audio_out_mux(t.audio, NULL);
    }
    if (started)
        pthread_join(thread, NULL);
    vs_frame_free(f);
    if (rc == 0 && t.rc == 0)
        return vs_encoder_close(enc);
    vs_encoder_abort(enc);
    return -1;
}

/* Every packet of a file in file order (ffmpeg's framemd5: stream, dts, pts, duration, size,
 * hash) into out; 0 when ffmpeg could not read it. */
static int packets(const char *path, char *out, size_t size)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ffmpeg -v error -i '%s' -map 0 -c copy -f framemd5 - | grep -v '^#'", path);
    FILE *p = popen(cmd, "r");
    if (!p)
        return 0;
    size_t n = fread(out, 1, size - 1, p);
    out[n] = '\0';
    return pclose(p) == 0 && n > 0 && n < size - 1;
}

static int same_packets(const char *a, const char *b)
{
    static char pa[1 << 16], pb[1 << 16];
    int same = packets(a, pa, sizeof pa) && packets(b, pb, sizeof pb) && strcmp(pa, pb) == 0;
    if (!same)
        printf("# %s and %s differ in their packets\n", a, b);
    return same;
}

/* FRAMES frames at fps_num/fps_den with their sound, as the render engine pushes them. */
static int write_clip(const char *path, vs_encoder_options *o)
{
    vs_encoder *enc = open_clip(path, o);
    if (!enc)
        return -1;
    vs_frame *f = vs_frame_new(W, H);
    float buf[2 * 2000];
    int rc = f ? 0 : -1;
    for (int64_t k = 0; rc == 0 && k < FRAMES; k++) {
        vs_frame_fill(f, (uint8_t)(k * 5), 60, 90, 255);
        rc = vs_encoder_push(enc, f);
        int64_t n = frame_sound(k, o, buf);
        if (rc == 0)
            rc = vs_encoder_push_audio(enc, buf, n);
    }
    vs_frame_free(f);
    if (rc == 0 && vs_encoder_audio_samples(enc) != sample_of(FRAMES, o->fps_num, o->fps_den))
        rc = -1;
    if (rc == 0)
        return vs_encoder_close(enc);
    vs_encoder_abort(enc);
    return -1;
}

/* The file's sound against the tone pushed, shifted by lag samples: the
 * RMS difference (the largest in *worst); -1 when the file's sound does
 * not have exactly `expect` samples. */
static double read_back(const char *path, int64_t expect, int lag, double *worst)
{
    vs_audio_source *a = vs_audio_source_open(path, RATE, 2);
    if (!a || vs_audio_source_length(a) != expect) {
        if (a)
            printf("# %s: %lld samples, expected %lld\n", path, (long long)vs_audio_source_length(a),
                   (long long)expect);
        vs_audio_source_close(a);
        return -1;
    }
    float *x = malloc((size_t)expect * 2 * sizeof *x);
    double sum = 0;
    *worst = 0;
    if (!x || vs_audio_source_read(a, 0, expect, x) < 0)
        sum = -1;
    for (int64_t i = 0; sum >= 0 && i < expect * 2; i++) {
        double d = fabs(x[i] - tone(i / 2 + lag, (int)(i % 2)));
        *worst = d > *worst ? d : *worst;
        sum += d * d;
    }
    free(x);
    vs_audio_source_close(a);
    return sum < 0 ? -1 : sqrt(sum / (double)(expect * 2));
}

/* A lossy file's sound: the right length, and aligned to the sample (the
 * difference is least without a shift) and close (rms under tolerance). */
static int lossy_matches(const char *path, int64_t expect, double tolerance)
{
    double worst, at0 = read_back(path, expect, 0, &worst);
    double before = read_back(path, expect, -1, &worst), after = read_back(path, expect, 1, &worst);
    printf("# %s: rms difference %g (shifted by -1: %g, +1: %g)\n", path, at0, before, after);
    return at0 >= 0 && at0 < tolerance && at0 < before && at0 < after;
}

static int probe_codec(const char *path, const char *want)
{
    char cmd[512], got[64] = "";
    snprintf(cmd, sizeof cmd, "ffprobe -v error -select_streams a:0 -show_entries stream=codec_name -of csv=p=0 '%s'",
             path);
    FILE *p = popen(cmd, "r");
    if (!p)
        return 0;
    if (!fgets(got, sizeof got, p))
        got[0] = '\0';
    pclose(p);
    got[strcspn(got, "\n")] = '\0';
    if (strcmp(got, want) != 0)
        printf("# %s: audio codec '%s', expected '%s'\n", path, got, want);
    return strcmp(got, want) == 0;
}

int main(void)
{
    const char *dir = check_tmpdir("encode_audio");
    if (!dir)
        return 1;
    char path[512];
    vs_encoder_options o;

    /* AAC in MP4 at 30000/1001: every frame's samples, priming and padding removed on reading */
    snprintf(path, sizeof path, "%s/a.mp4", dir);
    vs_encoder_options_init(&o);
    o.fps_num = 30000;
    o.fps_den = 1001;
    CHECK(write_clip(path, &o) == 0);
    CHECK(probe_codec(path, "aac"));
    /* libavcodec's AAC encoder leaves about 0.03 rms on pure tones (ffmpeg's CLI too) */
    CHECK(lossy_matches(path, sample_of(FRAMES, 30000, 1001), 0.04));

    /* Opus in Matroska */
    snprintf(path, sizeof path, "%s/a.mkv", dir);
    vs_encoder_options_init(&o);
    CHECK(write_clip(path, &o) == 0);
    CHECK(probe_codec(path, "opus"));
    CHECK(lossy_matches(path, sample_of(FRAMES, 30, 1), 0.01));

    /* the sound encoded in its own thread, ahead of the pictures or behind them: the same files */
    static const char *const threaded[] = {"mp4", "mkv"};
    for (size_t i = 0; i < sizeof threaded / sizeof *threaded; i++) {
        char plain[512], ahead[512], behind[512];
        snprintf(plain, sizeof plain, "%s/plain.%s", dir, threaded[i]);
        snprintf(ahead, sizeof ahead, "%s/ahead.%s", dir, threaded[i]);
        snprintf(behind, sizeof behind, "%s/behind.%s", dir, threaded[i]);
        vs_encoder_options_init(&o);
        CHECK(write_clip(plain, &o) == 0);
        vs_encoder_options_init(&o);
        CHECK(write_clip_threaded(ahead, &o, 0, 2000) == 0);
        CHECK(same_packets(plain, ahead));
        vs_encoder_options_init(&o);
        CHECK(write_clip_threaded(behind, &o, 2000, 0) == 0);
        CHECK(same_packets(plain, behind));
    }

    /* a segment: FLAC in MP4, the float samples to 24 bits */
    snprintf(path, sizeof path, "%s/part.mp4", dir);
    vs_encoder_options_init(&o);
    o.segment_index = 1;
    o.segment_count = 2;
    o.segment_first = 0;
    o.segment_end = FRAMES;
    o.segment_total = FRAMES * 2;
    CHECK(write_clip(path, &o) == 0);
    CHECK(probe_codec(path, "flac"));
    double worst;
    CHECK(read_back(path, sample_of(FRAMES, 30, 1), 0, &worst) >= 0 && worst < 1e-6);

    /* refused at open, before any frame */
    snprintf(path, sizeof path, "%s/b.webm", dir);
    vs_encoder_options_init(&o);
    o.codec = "libvpx-vp9";
    o.audio_codec = "aac";
    CHECK(write_clip(path, &o) < 0 && strstr(vs_last_error(), "b.webm: the webm container cannot hold aac sound"));
    snprintf(path, sizeof path, "%s/c.mkv", dir);
    vs_encoder_options_init(&o);
    o.audio_codec = "libopus";
    o.audio_rate = 44100;
    o.audio_channels = 2;
    vs_encoder *enc = vs_encoder_open(path, W, H, &o);
    CHECK(enc == NULL && strstr(vs_last_error(), "c.mkv: codec libopus cannot encode sound at 44100 Hz"));
    snprintf(path, sizeof path, "%s/d.y4m", dir);
    vs_encoder_options_init(&o);
    o.audio_rate = RATE;
    o.audio_channels = 2;
    CHECK(vs_encoder_open(path, W, H, &o) == NULL && strstr(vs_last_error(), "d.y4m: a y4m stream carries no sound"));
    snprintf(path, sizeof path, "%s/e.mp4", dir);
    o.audio_codec = "nonesuch";
    CHECK(vs_encoder_open(path, W, H, &o) == NULL && strstr(vs_last_error(), "unknown audio encoder 'nonesuch'"));

    /* no audio stream: pushing sound is an error, and the file has none */
    snprintf(path, sizeof path, "%s/f.mp4", dir);
    vs_encoder_options_init(&o);
    o.preset = "ultrafast";
    enc = vs_encoder_open(path, W, H, &o);
    float one[2] = {0, 0};
    CHECK(enc && vs_encoder_push_audio(enc, one, 1) < 0 && strstr(vs_last_error(), "has no audio stream"));
    vs_encoder_abort(enc);
    return check_status();
}
