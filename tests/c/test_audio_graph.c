/* test_audio_graph.c: the sound graph's sample arithmetic at its edges: frame starts far out,
 * reads across fill blocks and loop rounds, out-of-range silence, reads in any order. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "vstudio.h"

/* A fill that writes its sample numbers: a read shows where each sample came from. */
static int fill_calls;
static int fill_index(float *buf, int64_t first, int64_t n)
{
    fill_calls++;
    for (int64_t i = 0; i < n; i++)
        buf[i] = (float)(first + i);
    return 0;
}

static int fill_fails(float *buf, int64_t first, int64_t n)
{
    (void)buf, (void)first, (void)n;
    return -1;
}

int main(void)
{
    /* frame k starts at floor(k * rate * den / num), exactly, also past 2^53 products */
    CHECK(vs_audio_frame_start(1, 48000, 30000, 1001) == 1601);
    CHECK(vs_audio_frame_start(3, 48000, 30000, 1001) == 4804);
    CHECK(vs_audio_frame_start(-1, 48000, 30000, 1001) == -1602);
    CHECK(vs_audio_frame_start(2147483647LL, 384000, 30000, 1001) == (int64_t)((__int128)2147483647LL * 384000 * 1001 / 30000));

    vs_audio *fill = vs_audio_fill(1, 1, 10000, fill_index);
    CHECK(fill != NULL && vs_audio_length(fill) == 10000);
    float out[9000];
    /* across the 4096-sample blocks, with silence before 0 and past the end */
    CHECK(vs_audio_read(fill, -5, 10, out) == 0 && out[4] == 0 && out[5] == 0 && out[9] == 4);
    CHECK(vs_audio_read(fill, 4090, 12, out) == 0 && out[0] == 4090 && out[11] == 4101);
    CHECK(vs_audio_read(fill, 9995, 10, out) == 0 && out[4] == 9999 && out[5] == 0);

    /* a cut with a negative first is a delay; the cut holds its input */
    vs_audio *delayed = vs_audio_cut(fill, -100, 200);
    CHECK(delayed && vs_audio_read(delayed, 95, 10, out) == 0 && out[4] == 0 && out[5] == 0 && out[6] == 1);

    /* rounds of a loop start at floor(r * num / den): a period of 1000.5 samples */
    vs_audio *looped = vs_audio_loop(fill, 4000, 2001, 2);
    CHECK(looped && vs_audio_read(looped, 998, 6, out) == 0);
    CHECK(out[0] == 998 && out[1] == 999 && out[2] == 0 && out[3] == 1); /* round 1 at 1000 */
    CHECK(vs_audio_read(looped, 2000, 2, out) == 0 && out[0] == 1000 && out[1] == 0); /* round 2 at 2001 */

    vs_audio *reversed = vs_audio_reverse(fill);
    CHECK(reversed && vs_audio_read(reversed, 0, 3, out) == 0 && out[0] == 9999 && out[2] == 9997);

    /* mixing places inputs at their starts and sums them; mono to stereo in the fill */
    vs_audio *parts[2] = {fill, delayed};
    int64_t starts[2] = {0, 5000};
    vs_audio *mixed = vs_audio_mix(parts, starts, 2, 6000);
    CHECK(mixed && vs_audio_read(mixed, 5101, 1, out) == 0 && out[0] == 5101 + 1);
    vs_audio *stereo = vs_audio_fill(2, 1, 100, fill_index);
    CHECK(stereo && vs_audio_read(stereo, 7, 1, out) == 0 && out[0] == 7 && out[1] == 7);
    vs_audio *other[2] = {fill, stereo};
    CHECK(vs_audio_mix(other, NULL, 2, 10) == NULL && strstr(vs_last_error(), "channels"));

    /* reads are pure functions of the range: the same samples whatever came before */
    vs_audio *tone = vs_audio_tone(1, 96000, 1000.0 / 48000, 0.5);
    vs_audio *fast = vs_audio_resample(tone, 1.5, 64000);
    float a[256], b[256];
    CHECK(fast && vs_audio_read(fast, 30000, 256, a) == 0);
    CHECK(vs_audio_read(fast, 100, 256, b) == 0 && vs_audio_read(fast, 30000, 256, b) == 0);
    CHECK(memcmp(a, b, sizeof a) == 0);
    /* ... and the resampled tone is the tone at 1.5 times the rate */
    double worst = 0;
    for (int i = 0; i < 256; i++) {
        double want = 0.5 * sin(2 * M_PI * fmod((30000.0 + i) * 1.5 * 1000 / 48000, 1.0));
        worst = fabs(a[i] - want) > worst ? fabs(a[i] - want) : worst;
    }
    CHECK(worst < 1e-3);

    /* envelopes: linear between points, constant outside */
    int64_t at[2] = {100, 200};
    float gain[2] = {0, 1};
    vs_audio *ones = vs_audio_fill(1, 1, 1000, fill_index);
    vs_audio *ramp = vs_audio_envelope(ones, at, gain, 2);
    CHECK(ramp && vs_audio_read(ramp, 150, 1, out) == 0 && fabsf(out[0] - 150 * 0.5f) < 1e-3);
    CHECK(vs_audio_read(ramp, 50, 1, out) == 0 && out[0] == 0);
    int64_t backwards[2] = {200, 100};
    CHECK(vs_audio_envelope(ones, backwards, gain, 2) == NULL);

    /* a failing fill fails the read, naming the sample */
    vs_audio *bad = vs_audio_fill(1, 1, 10000, fill_fails);
    CHECK(bad && vs_audio_read(bad, 5000, 10, out) < 0 && strstr(vs_last_error(), "sample 4096"));
    CHECK(vs_audio_tone(1, 10, 0.6, 1) == NULL);
    CHECK(vs_audio_file("/nonexistent/x.wav", 48000, 2) == NULL && strstr(vs_last_error(), "/nonexistent/x.wav"));

    /* the node holds its input: freeing in any order is fine */
    vs_audio_free(fill);
    CHECK(vs_audio_read(delayed, 150, 1, out) == 0 && out[0] == 50);
    vs_audio *all[] = {delayed, looped, reversed, mixed, stereo, tone, fast, ones, ramp, bad};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        vs_audio_free(all[i]);
    CHECK(fill_calls > 0);
    return check_status();
}
