/*
 * fuzz_decode.c: open and decode an arbitrary file, within a budget of
 * frames and pixels, then a random access. Corrupt streams must end in an
 * error, never a crash or a hang.
 */
#include <string.h>

#include "fuzz_common.h"
#include "vstudio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_file(data, size, "mkv");
    vs_decoder *dec = vs_decoder_open(path, 1);
    if (dec) {
        vs_probe_info info;
        if (vs_decoder_info(dec, &info) == 0 && info.width > 0 && info.height > 0 &&
            (int64_t)info.width * info.height <= 1024 * 1024) {
            vs_frame *f = vs_frame_new(info.width, info.height);
            if (f) {
                for (int i = 0; i < 16 && vs_decoder_next(dec, f) == 0; i++)
                    ;
                vs_decoder_frame(dec, 3, f);
                vs_frame_free(f);
            }
        }
        vs_decoder_close(dec);
    }
    unlink(path);
    return 0;
}
