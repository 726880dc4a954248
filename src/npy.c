/*
 * npy.c: batch arrays to NumPy's .npy format (version 1.0), for vs.dataset's
 * save_npy: numpy.load reads the file as is.
 *
 * The format is a magic string, a little-endian header length and a
 * Python dict literal (dtype, order, shape) padded with spaces to a
 * multiple of 64 bytes, then the array in C order: the batch arrays the
 * dataset's workers fill (RGB, or one channel for gray frames). The file
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

int vs_npy_write(const char *path, const void *data, int n, int width, int height, vs_npy_layout layout,
                 vs_npy_dtype dtype, int channels)
{
    if (channels != 1 && channels != 3)
        return vs_fail("%s: channels must be 1 or 3, got %d", path, channels);
    if (n < 1 || width < 1 || height < 1)
        return vs_fail("%s: no frames", path);
    long long shape[4] = {n, height, width, channels};
    if (layout == VS_NPY_NCHW) {
        shape[1] = channels;
        shape[2] = height;
        shape[3] = width;
    }
    size_t len = (size_t)n * width * height * channels * (dtype == VS_NPY_FLOAT32 ? 4 : 1);
    vs_outfile *out = vs_outfile_create(path);
    if (!out)
        return -1;
    /* a stream on a copy of the descriptor: fclose closes only the copy */
    int copy = dup(vs_outfile_fd(out));
    FILE *f = copy >= 0 ? fdopen(copy, "wb") : NULL;
    if (!f) {
        vs_fail("%s: cannot write: %s", path, strerror(errno));
        if (copy >= 0)
            close(copy);
        vs_outfile_abort(out);
        return -1;
    }
    int rc = write_header(f, dtype == VS_NPY_FLOAT32 ? "<f4" : "|u1", shape);
    if (rc == 0)
        rc = fwrite(data, 1, len, f) == len ? 0 : -1;
    int err = rc < 0 ? errno : 0;
    const char *step = rc < 0 ? "cannot write" : NULL;
    if (fclose(f) != 0 && !step)
        step = "cannot close", err = errno;
    if (step) {
        vs_outfile_abort(out);
        return vs_fail("%s: %s: %s", path, step, strerror(err));
    }
    return vs_outfile_commit(out);
}
