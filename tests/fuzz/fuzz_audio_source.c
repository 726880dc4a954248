/*
 * fuzz_audio_source.c: open an arbitrary file as sound (the first byte
 * picks the output: 48 kHz stereo, or 44.1 kHz mono through the
 * resampler), then read a few ranges, in order and out of it (restarts,
 * seeks, the silence past the end). Corrupt streams must end in an error,
 * never a crash, a leak or a hang.
 */
#include <string.h>

#include "fuzz_common.h"
#include "vstudio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int mono = data[0] & 1;
    const char *path = fuzz_write_file(data + 1, size - 1, "mka");
    vs_audio_source *src = vs_audio_source_open(path, mono ? 44100 : 48000, mono ? 1 : 2);
    if (src) {
        static float buf[2 * 4096];
        int64_t n = vs_audio_source_length(src);
        const int64_t at[] = {0, n / 2, n - 100, 10, n + 5, -50};
        for (size_t i = 0; i < sizeof at / sizeof *at; i++)
            vs_audio_source_read(src, at[i], 4096, buf);
        vs_audio_source_close(src);
    }
    unlink(path);
    return 0;
}
