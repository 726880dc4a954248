/*
 * fuzz_image.c: the PNG and JPEG loaders on arbitrary bytes. The first byte
 * picks the format; the rest is the file. A bad file must be an error with
 * a message, never a crash, a leak or a longjmp out of libpng; the header
 * read alone (vs_image_size, what convert reports) gives the size the
 * decode gives.
 */
#include <string.h>

#include "fuzz_common.h"
#include "image.h"
#include "vstudio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *path = fuzz_write_file(data + 1, size - 1, data[0] & 1 ? "jpg" : "png");
    vs_frame *f = vs_image_load(path);
    if (f) {
        int w = 0, h = 0;
        if (f->width <= 0 || f->height <= 0 || f->stride < f->width * 4 || vs_image_size(path, &w, &h) != 0 ||
            w != f->width || h != f->height)
            abort();
        vs_frame_free(f);
    } else if (!vs_last_error()[0]) {
        abort();
    }
    unlink(path);
    return 0;
}
