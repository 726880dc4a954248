/*
 * npy.c: frames to NumPy's .npy format (version 1.0), for vs.dataset's
 * save_npy: numpy.load reads the file as is.
 *
 * The format is a magic string, a little-endian header length and a
 * Python dict literal (dtype, order, shape) padded with spaces to a
 * multiple of 64 bytes, then the array in C order. Frames are RGBA; the
 * file keeps RGB (3 channels) or, for gray frames, one channel. The file
 * is written to a private temporary and renamed when complete (outfile.h);
 * a failed write, close or rename is an error that names the step and its
 * reason, and removes the temporary.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "outfile.h"
#include "vstudio.h"

static int write_header(FILE *f, const char *descr, const long long *shape)
{
    char dict[256];
    int n = snprintf(dict, sizeof dict,
                     "{'descr': '%s', 'fortran_order': False, 'shape': (%lld, %lld, %lld, %lld), }",
                     descr, shape[0], shape[1], shape[2], shape[3]);
    /* magic (6) + version (2) + length (2) + dict + padding + '\n' = multiple of 64 */
    size_t total = (10 + (size_t)n + 1 + 63) / 64 * 64;
    size_t hlen = total - 10;
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff),
                             (unsigned char)(hlen >> 8)};
    if (fwrite(pre, 1, 10, f) != 10 || fwrite(dict, 1, (size_t)n, f) != (size_t)n)
        return -1;
    for (size_t i = (size_t)n; i + 1 < hlen; i++)
        if (fputc(' ', f) == EOF)
            return -1;
    return fputc('\n', f) == EOF ? -1 : 0;
}

/* One frame as the array's rows: h x w x channels (VS_NPY_NHWC) or
 * channels x h x w (VS_NPY_NCHW), uint8 or float32 in [0, 1]. One pass over the frame;
 * interleaved uint8, what batches mostly are, copies bytes without a
 * per-channel index. */
static void pack_frame(const vs_frame *fr, vs_npy_layout layout, vs_npy_dtype dtype, int channels,
                       unsigned char *dst)
{
    int w = fr->width, h = fr->height;
    size_t plane = (size_t)w * h;
    for (int y = 0; y < h; y++) {
        const uint8_t *p = fr->data + (size_t)y * fr->stride;
        if (layout == VS_NPY_NHWC && dtype == VS_NPY_UINT8) {
            uint8_t *d = dst + (size_t)y * w * channels;
            if (channels == 4) {
                memcpy(d, p, (size_t)w * 4);
            } else if (channels == 3) {
                for (int x = 0; x < w; x++, d += 3, p += 4) {
                    d[0] = p[0];
                    d[1] = p[1];
                    d[2] = p[2];
                }
            } else {
                for (int x = 0; x < w; x++)
                    d[x] = p[x * 4];
            }
            continue;
        }
        for (int x = 0; x < w; x++, p += 4)
            for (int c = 0; c < channels; c++) {
                size_t at = layout == VS_NPY_NCHW ? c * plane + (size_t)y * w + x : ((size_t)y * w + x) * channels + c;
                if (dtype == VS_NPY_FLOAT32) {
                    float v = p[c] / 255.0f;
                    memcpy(dst + at * 4, &v, 4);
                } else {
                    dst[at] = p[c];
                }
            }
    }
}

static int check_frames(const char *what, vs_frame *const *frames, int n, int channels)
{
    if (n < 1)
        return vs_fail("%s: no frames", what);
    if (channels != 1 && channels != 3 && channels != 4)
        return vs_fail("%s: channels must be 1, 3 or 4, got %d", what, channels);
    int w = frames[0]->width, h = frames[0]->height;
    for (int i = 1; i < n; i++)
        if (frames[i]->width != w || frames[i]->height != h)
            return vs_fail("%s: frames of different sizes (%dx%d and %dx%d) in one batch; "
                           "give the dataset a size", what, w, h, frames[i]->width, frames[i]->height);
    return 0;
}

int vs_frames_pack(vs_frame *const *frames, int n, vs_npy_layout layout, vs_npy_dtype dtype, int channels, void *out,
                   size_t out_size)
{
    if (check_frames("pack", frames, n, channels) < 0)
        return -1;
    size_t one = (size_t)frames[0]->width * frames[0]->height * channels * (dtype == VS_NPY_FLOAT32 ? 4 : 1);
    if (out_size != one * (size_t)n)
        return vs_fail("pack: the array has %zu bytes, %d frames need %zu", out_size, n, one * (size_t)n);
    for (int i = 0; i < n; i++)
        pack_frame(frames[i], layout, dtype, channels, (unsigned char *)out + one * (size_t)i);
    return 0;
}

int vs_npy_write(const char *path, vs_frame *const *frames, int n, vs_npy_layout layout,
                 vs_npy_dtype dtype, int channels)
{
    if (channels == 4)
        return vs_fail("%s: channels must be 1 or 3, got %d", path, channels);
    if (check_frames(path, frames, n, channels) < 0)
        return -1;
    int w = frames[0]->width, h = frames[0]->height;
    long long shape[4] = {n, h, w, channels};
    if (layout == VS_NPY_NCHW) {
        shape[1] = channels;
        shape[2] = h;
        shape[3] = w;
    }
    size_t frame_len = (size_t)w * h * channels * (dtype == VS_NPY_FLOAT32 ? 4 : 1);
    unsigned char *buf = malloc(frame_len);
    if (!buf)
        return vs_fail("%s: out of memory", path);
    vs_outfile *out = vs_outfile_create(path);
    if (!out) {
        free(buf);
        return -1;
    }
    /* a stream on a copy of the descriptor: fclose closes only the copy */
    int copy = dup(vs_outfile_fd(out));
    FILE *f = copy >= 0 ? fdopen(copy, "wb") : NULL;
    if (!f) {
        vs_fail("%s: cannot write: %s", path, strerror(errno));
        if (copy >= 0)
            close(copy);
        free(buf);
        vs_outfile_abort(out);
        return -1;
    }
    int rc = write_header(f, dtype == VS_NPY_FLOAT32 ? "<f4" : "|u1", shape);
    for (int i = 0; rc == 0 && i < n; i++) {
        pack_frame(frames[i], layout, dtype, channels, buf);
        rc = fwrite(buf, 1, frame_len, f) == frame_len ? 0 : -1;
    }
    int err = rc < 0 ? errno : 0;
    free(buf);
    const char *step = rc < 0 ? "cannot write" : NULL;
    if (fclose(f) != 0 && !step)
        step = "cannot close", err = errno;
    if (step) {
        vs_outfile_abort(out);
        return vs_fail("%s: %s: %s", path, step, strerror(err));
    }
    return vs_outfile_commit(out);
}
