/*
 * fuzz_probe.c: probing (demux, packet count) of an arbitrary file, with
 * the cache off. Garbage must be an error naming the file.
 */
#include <string.h>

#include "fuzz_common.h"
#include "vstudio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_file(data, size, "mp4");
    vs_probe_info info;
    memset(&info, 0, sizeof info);
    if (vs_probe(path, 0, &info) == 0) {
        if (info.width <= 0 || info.height <= 0 || info.frames < 0)
            abort();
    }
    unlink(path);
    return 0;
}
