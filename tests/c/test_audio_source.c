/* test_audio_source.c: vs_audio_source against ffmpeg's own decode of the
 * same files: exact lengths (AAC priming and padding removed), sequential
 * and random reads sample for sample, resampling, silence outside, and the
 * errors for a file without sound and a cut WAV. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "vstudio.h"

static char dir[256];

static int sh(const char *fmt, const char *a, const char *b)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, fmt, a, b);
    return system(cmd);
}

static char *file(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

/* ffmpeg's decode of path as interleaved float (channels, rate); *n samples. */
static float *ffmpeg_decode(const char *path, int channels, int rate, int64_t *n)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "ffmpeg -v error -i '%s' -f f32le -ac %d -ar %d -", path, channels, rate);
    FILE *p = popen(cmd, "r");
    size_t cap = 1 << 20, len = 0;
    float *buf = malloc(cap * sizeof *buf);
    size_t got;
    while (p && buf && (got = fread(buf + len, sizeof *buf, cap - len, p)) > 0) {
        len += got;
        if (len == cap)
            buf = realloc(buf, (cap *= 2) * sizeof *buf);
    }
    if (p)
        pclose(p);
    *n = (int64_t)(len / (size_t)channels);
    return buf;
}

static double max_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        if (fabs((double)a[i] - b[i]) > m)
            m = fabs((double)a[i] - b[i]);
    return m;
}

static int all_zero(const float *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != 0)
            return 0;
    return 1;
}

/* path opened at its own count has `channels`, channel c at the constant level 0.1 * (c + 1) */
static void check_own_levels(const char *path, int channels)
{
    vs_audio_source *a = vs_audio_source_open(path, 48000, 0);
    CHECK(a && vs_audio_source_channels(a) == channels);
    float got[8 * 100];
    CHECK(a && vs_audio_source_read(a, 1000, 100, got) == 0);
    for (int c = 0; a && c < channels; c++)
        CHECK(fabsf(got[channels * 50 + c] - 0.1f * (float)(c + 1)) < 1e-4f);
    vs_audio_source_close(a);
}

int main(void)
{
    const char *tmp = check_tmpdir("audio_source");
    if (!tmp)
        return 1;
    snprintf(dir, sizeof dir, "%s", tmp);
    const char *stereo = "aevalsrc='0.5*sin(440*2*PI*t)|0.3*sin(660*2*PI*t)':s=48000:d=%s";

    /* a 1.000 s AAC file decodes to 48000 samples (not 48128: its edit list cuts the padding) */
    char src[256];
    snprintf(src, sizeof src, stereo, "1");
    CHECK(sh("ffmpeg -v error -y -f lavfi -i \"%s\" -c:a aac '%s'", src, file("one.m4a")) == 0);
    vs_audio_source *a = vs_audio_source_open(file("one.m4a"), 48000, 2);
    CHECK(a != NULL);
    CHECK(a && vs_audio_source_length(a) == 48000);
    vs_audio_source_close(a);

    /* 20 s: sequential, then random reads equal ffmpeg's decode sample for sample */
    snprintf(src, sizeof src, stereo, "20");
    CHECK(sh("ffmpeg -v error -y -f lavfi -i \"%s\" -c:a aac '%s'", src, file("long.m4a")) == 0);
    int64_t n_ref;
    float *ref = ffmpeg_decode(file("long.m4a"), 2, 48000, &n_ref);
    a = vs_audio_source_open(file("long.m4a"), 48000, 2);
    CHECK(a && vs_audio_source_length(a) == 960000);
    CHECK(n_ref >= 960000);
    float *got = malloc((size_t)960000 * 2 * sizeof *got);
    CHECK(a && vs_audio_source_read(a, 0, 960000, got) == 0);
    CHECK(a && max_diff(got, ref, (size_t)960000 * 2) < 1e-6);
    /* far back, far ahead, mid-block: restarts by seeking */
    const int64_t starts[] = {700001, 12345, 480000, 959000, 100, 333333};
    for (size_t i = 0; a && i < sizeof starts / sizeof *starts; i++) {
        float part[2000];
        CHECK(vs_audio_source_read(a, starts[i], 1000, part) == 0);
        /* the same samples; after a seek AAC's noise substitution draws other noise (-90 dB here) */
        double d = max_diff(part, ref + starts[i] * 2, 2000);
        CHECK(d < 3e-5);
        if (d >= 3e-5)
            printf("# at %lld: differs by %g\n", (long long)starts[i], d);
    }
    /* silence before the start and past the end */
    float edge[400];
    CHECK(a && vs_audio_source_read(a, -100, 200, edge) == 0);
    CHECK(all_zero(edge, 200) && max_diff(edge + 200, ref, 200) < 1e-6);
    CHECK(a && vs_audio_source_read(a, 959900, 200, edge) == 0);
    CHECK(max_diff(edge, ref + 959900 * 2, 200) < 1e-6 && all_zero(edge + 200, 200));
    vs_audio_source_close(a);
    free(ref);

    /* 44.1 kHz WAV read at 48 kHz: the length scaled, random reads equal sequential ones */
    snprintf(src, sizeof src, "aevalsrc='0.5*sin(440*2*PI*t)':s=44100:d=%s", "3");
    CHECK(sh("ffmpeg -v error -y -f lavfi -i \"%s\" -c:a pcm_s16le '%s'", src, file("cd.wav")) == 0);
    a = vs_audio_source_open(file("cd.wav"), 48000, 2);
    CHECK(a && vs_audio_source_length(a) == 144000);
    CHECK(a && vs_audio_source_read(a, 0, 144000, got) == 0);
    /* mono copied to both channels at full level */
    int same = 1;
    for (int i = 0; i < 144000; i++)
        same &= got[2 * i] == got[2 * i + 1];
    CHECK(same);
    float peak = 0;
    for (int i = 0; i < 288000; i++)
        peak = fabsf(got[i]) > peak ? fabsf(got[i]) : peak;
    CHECK(peak > 0.49f && peak < 0.51f);
    for (size_t i = 0; a && i < 3; i++) {
        int64_t at = (int64_t)(i * 50000 + 20011);
        float part[2000];
        CHECK(vs_audio_source_read(a, at, 1000, part) == 0);
        CHECK(max_diff(part, got + at * 2, 2000) < 1e-5);
    }
    vs_audio_source_close(a);

    /* channels 0: the file's own (mono here, the stereo read's channel 0; 6 for a 5.1 FLAC) */
    a = vs_audio_source_open(file("cd.wav"), 48000, 0);
    CHECK(a && vs_audio_source_channels(a) == 1 && vs_audio_source_length(a) == 144000);
    float mono[1000];
    CHECK(a && vs_audio_source_read(a, 20011, 1000, mono) == 0);
    int equal = 1;
    for (int i = 0; i < 1000; i++)
        equal &= fabsf(mono[i] - got[2 * (20011 + i)]) < 1e-6f;
    CHECK(equal);
    vs_audio_source_close(a);
    free(got);
    CHECK(sh("ffmpeg -v error -y -f lavfi -i \"%s\" -c:a flac '%s'",
             "aevalsrc=0.1|0.2|0.3|0.4|0.5|0.6:s=48000:d=1:c=5.1", file("six.flac")) == 0);
    check_own_levels(file("six.flac"), 6);

    /* one rule for a file's own count: as it is up to 8, 8 above, stereo when unknown; and a
     * 3-channel file with no layout in its header (NUT keeps only the count) maps channel by
     * channel */
    CHECK(vs_sound_channels(1) == 1 && vs_sound_channels(3) == 3 && vs_sound_channels(VS_MAX_CHANNELS) == 8);
    CHECK(vs_sound_channels(9) == 8 && vs_sound_channels(64) == 8 && vs_sound_channels(0) == 2);
    CHECK(sh("ffmpeg -v error -y -f lavfi -i \"%s\" -c:a pcm_f32le '%s'",
             "aevalsrc=0.1|0.2|0.3:s=48000:d=1", file("three.nut")) == 0);
    check_own_levels(file("three.nut"), 3);

    /* a video without sound */
    CHECK(sh("ffmpeg -v error -y -f lavfi -i testsrc=size=64x48:rate=10:duration=1 -c:v libx264 '%s'%s",
             file("mute.mp4"), "") == 0);
    a = vs_audio_source_open(file("mute.mp4"), 48000, 2);
    CHECK(a == NULL && strstr(vs_last_error(), "mute.mp4: has no audio stream"));

    /* a WAV cut short: the header says more */
    CHECK(sh("head -c 100000 '%s' > '%s'", file("cd.wav"), file("cut.wav")) == 0);
    a = vs_audio_source_open(file("cut.wav"), 48000, 2);
    CHECK(a == NULL && strstr(vs_last_error(), "cut.wav: 1.") && strstr(vs_last_error(), "cut short"));
    /* a FLAC cut mid-frame */
    CHECK(sh("ffmpeg -v error -y -i '%s' '%s'", file("cd.wav"), file("cd.flac")) == 0);
    CHECK(sh("f='%s'; head -c $(($(stat -c %%s \"$f\") / 2)) \"$f\" > '%s'", file("cd.flac"), file("cut.flac")) == 0);
    a = vs_audio_source_open(file("cut.flac"), 48000, 2);
    CHECK(a == NULL && strstr(vs_last_error(), "cut.flac: 1.") && strstr(vs_last_error(), "corrupt"));

    /* bad arguments */
    CHECK(vs_audio_source_open(file("one.m4a"), 48000, 9) == NULL && strstr(vs_last_error(), "channels"));
    CHECK(vs_audio_source_open(file("missing.wav"), 48000, 2) == NULL &&
          strstr(vs_last_error(), "missing.wav: no such file"));
    return check_status();
}
