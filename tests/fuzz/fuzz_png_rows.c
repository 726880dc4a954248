/*
 * fuzz_png_rows.c: image.c's row-pair PNG path (vs_image_decode_rows, what
 * convert fills its YUV pictures from) on arbitrary bytes. Whatever the
 * bytes, it takes the file (every row delivered once, in order, in pairs)
 * or declines without calling back; when it takes it, the rows are the
 * pixels vs_image_decode gives for the same file.
 */
#include <string.h>

#include "fuzz_common.h"
#include "image.h"
#include "vstudio.h"

struct seen {
    vs_frame *frame; /* rows as delivered */
    int next_y;
};

static int keep_rows(void *ctx, const vs_image_info *info, int y, int n, uint8_t *rgba, size_t stride)
{
    struct seen *s = ctx;
    if (y != s->next_y || n < 1 || n > 2 || y + n > info->height || info->width != s->frame->width ||
        (n == 1 && y + 1 != info->height))
        abort();
    for (int k = 0; k < n; k++)
        memcpy(s->frame->data + (size_t)(y + k) * s->frame->stride, rgba + k * stride, (size_t)info->width * 4);
    s->next_y = y + n;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int w, h;
    if (vs_image_size_of("f.png", data, size, &w, &h) != 0 || (int64_t)w * h > 4 << 20)
        return 0;
    struct seen s = {vs_frame_new(w, h), 0};
    if (!s.frame)
        return 0;
    vs_image_scratch scratch = {0};
    vs_image_info info;
    int rc = vs_image_decode_rows("f.png", data, size, w, h, keep_rows, &s, &info, &scratch);
    vs_image_scratch_free(&scratch);
    if (rc == 1) {
        vs_frame *whole = vs_image_decode("f.png", data, size);
        if (s.next_y != h || !whole || whole->width != w || whole->height != h)
            abort();
        for (int y = 0; y < h; y++)
            if (memcmp(whole->data + (size_t)y * whole->stride, s.frame->data + (size_t)y * s.frame->stride,
                       (size_t)w * 4))
                abort();
        vs_frame_free(whole);
    } else if (rc != 0 || s.next_y != 0) {
        abort();
    }
    vs_frame_free(s.frame);
    return 0;
}
