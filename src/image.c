/*
 * image.c: PNG (libpng) and JPEG (libturbojpeg) load and save, always RGBA8.
 *
 * Loading reads the whole file into memory first, so a missing or
 * unreadable file is reported before any decoder runs and a truncated file
 * shows up as "data ends early" at a known place. The format comes from the
 * extension (.png, .jpg, .jpeg, any case); the content must match it.
 *
 * PNG: every kind is normalised to RGBA8 by libpng's own transforms
 * (palette and tRNS expanded to alpha, gray widened to RGB, 16-bit reduced
 * with rounding, a 0xff filler added when there is no alpha, interlace
 * handled by libpng's passes). libpng reports errors by longjmp: the
 * setjmp lives in one function here (png_decode / png_encode), every local
 * it touches after setjmp is volatile, and the jump never crosses into the
 * caller, so Lua and the worker threads only ever see a return code.
 *
 * JPEG: turbojpeg decodes baseline, progressive and grayscale JPEGs straight
 * to RGBA at the frame's stride; CMYK/YCCK JPEGs are decoded to CMYK and
 * converted with the inverted-Adobe convention turbojpeg itself uses
 * (R = C * K / 255). A truncated JPEG is an error, not a grey bottom half.
 *
 * Saving writes PATH.part and renames it over PATH only when complete.
 */
#include <ctype.h>
#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <turbojpeg.h>

#include "error.h"
#include "image.h"
#include "vstudio.h"

/* ---- format from the extension ---- */

int vs_image_format(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(path, '.');
    if (!dot || (slash && dot < slash))
        return VS_IMAGE_UNKNOWN;
    char ext[8];
    size_t n = strlen(dot + 1);
    if (n == 0 || n >= sizeof ext)
        return VS_IMAGE_UNKNOWN;
    for (size_t i = 0; i <= n; i++)
        ext[i] = (char)tolower((unsigned char)dot[1 + i]);
    if (!strcmp(ext, "png"))
        return VS_IMAGE_PNG;
    if (!strcmp(ext, "jpg") || !strcmp(ext, "jpeg"))
        return VS_IMAGE_JPEG;
    return VS_IMAGE_UNKNOWN;
}

static int unknown_format(const char *path)
{
    return vs_fail("%s: unknown image format (use .png, .jpg or .jpeg)", path);
}

/* ---- whole-file read ---- */

int vs_image_read_file(const char *path, uint8_t **data, size_t *size)
{
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return vs_fail("%s: cannot open (%s)", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return vs_fail("%s: not a regular file", path);
    }
    size_t cap = (size_t)st.st_size;
    uint8_t *buf = malloc(cap ? cap : 1);
    if (!buf) {
        fclose(f);
        return vs_fail("%s: out of memory reading %zu bytes", path, cap);
    }
    size_t got = fread(buf, 1, cap, f);
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return vs_fail("%s: read error", path);
    }
    *data = buf;
    *size = got;
    return 0;
}

/* ---- PNG ---- */

struct png_io {
    const uint8_t *data;
    size_t size, pos;
    int in_rows;            /* 1 once the header is read: running out is "IDAT ends early" */
    char message[200];
};

static void png_on_error(png_structp png, png_const_charp msg)
{
    struct png_io *io = png_get_error_ptr(png);
    if (!io->message[0])
        snprintf(io->message, sizeof io->message, "corrupt PNG (%s)", msg);
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static void png_read_mem(png_structp png, png_bytep out, size_t n)
{
    struct png_io *io = png_get_io_ptr(png);
    if (n > io->size - io->pos) {
        snprintf(io->message, sizeof io->message, "truncated PNG (%s ends early)",
                 io->in_rows ? "IDAT" : "header");
        png_error(png, "truncated");
    }
    memcpy(out, io->data + io->pos, n);
    io->pos += n;
}

/* Sets the transforms that turn any PNG into RGBA8. */
static void png_to_rgba8(png_structp png, png_infop info)
{
    int color = png_get_color_type(png, info);
    int depth = png_get_bit_depth(png, info);
    if (color == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS))
        png_set_tRNS_to_alpha(png);
    if (depth == 16)
        png_set_scale_16(png);
    if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA)
        png_set_gray_to_rgb(png);
    if (!(color & PNG_COLOR_MASK_ALPHA) && !png_get_valid(png, info, PNG_INFO_tRNS))
        png_set_filler(png, 0xff, PNG_FILLER_AFTER);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
}

/* The one place libpng may longjmp to. Returns the frame or NULL with
 * io->message (or vs_last_error for our own failures) set. */
static vs_frame *png_decode(struct png_io *io, int *own_error)
{
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, io, png_on_error, png_on_warning);
    if (!png) {
        snprintf(io->message, sizeof io->message, "out of memory");
        return NULL;
    }
    png_infop info = png_create_info_struct(png);
    vs_frame *volatile frame = NULL;
    png_bytep *volatile rows = NULL;
    if (!info) {
        snprintf(io->message, sizeof io->message, "out of memory");
        goto done;
    }
    if (setjmp(png_jmpbuf(png))) {
        vs_frame_free(frame);
        frame = NULL;
        goto done;
    }
    png_set_read_fn(png, io, png_read_mem);
    /* CRCs cost time and a bad one means a corrupt file anyway: the image
     * data decides. Ancillary chunk errors are not worth refusing a frame. */
    png_set_crc_action(png, PNG_CRC_QUIET_USE, PNG_CRC_QUIET_USE);
    png_read_info(png, info);
    io->in_rows = 1;
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    png_to_rgba8(png, info);
    if (png_get_rowbytes(png, info) != (size_t)w * 4) {
        snprintf(io->message, sizeof io->message, "unsupported PNG layout");
        goto done;
    }
    frame = vs_frame_new((int)w, (int)h);
    if (!frame) {
        *own_error = 1;
        goto done;
    }
    rows = malloc(sizeof *rows * h);
    if (!rows) {
        vs_frame_free(frame);
        frame = NULL;
        snprintf(io->message, sizeof io->message, "out of memory");
        goto done;
    }
    for (png_uint_32 y = 0; y < h; y++)
        rows[y] = frame->data + (size_t)y * frame->stride;
    png_read_image(png, rows);
done:
    free(rows);
    png_destroy_read_struct(&png, info ? &info : NULL, NULL);
    return frame;
}

static vs_frame *png_load(const char *path, const uint8_t *data, size_t size)
{
    if (size < 8 || png_sig_cmp(data, 0, 8)) {
        if (size >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff)
            vs_fail("%s: not a PNG file (it is a JPEG; rename it to .jpg)", path);
        else if (size > 0 && size < 8 && !png_sig_cmp(data, 0, size))
            vs_fail("%s: truncated PNG (signature ends early)", path);
        else
            vs_fail("%s: not a PNG file", path);
        return NULL;
    }
    struct png_io io = {.data = data, .size = size};
    int own_error = 0;
    vs_frame *frame = png_decode(&io, &own_error);
    if (!frame) {
        if (own_error)
            vs_error_prefix("%s", path);
        else
            vs_fail("%s: %s", path, io.message[0] ? io.message : "corrupt PNG");
    }
    return frame;
}

/* ---- JPEG ---- */

static void jpeg_error(const char *path, tjhandle tj)
{
    const char *msg = tjGetErrorStr2(tj);
    if (strstr(msg, "Premature end of JPEG file"))
        vs_fail("%s: truncated JPEG (data ends early)", path);
    else
        vs_fail("%s: corrupt JPEG (%s)", path, msg);
}

/* CMYK stored inverted (Adobe), as turbojpeg's own tjLoadImage expects. */
static void cmyk_to_rgba(vs_frame *frame)
{
    for (int y = 0; y < frame->height; y++) {
        uint8_t *p = frame->data + (size_t)y * frame->stride;
        for (int x = 0; x < frame->width; x++, p += 4) {
            unsigned k = p[3];
            p[0] = (uint8_t)((p[0] * k + 127) / 255);
            p[1] = (uint8_t)((p[1] * k + 127) / 255);
            p[2] = (uint8_t)((p[2] * k + 127) / 255);
            p[3] = 255;
        }
    }
}

static vs_frame *jpeg_load(const char *path, const uint8_t *data, size_t size)
{
    if (size < 3 || data[0] != 0xff || data[1] != 0xd8) {
        if (size >= 8 && !png_sig_cmp(data, 0, 8))
            vs_fail("%s: not a JPEG file (it is a PNG; rename it to .png)", path);
        else
            vs_fail("%s: not a JPEG file", path);
        return NULL;
    }
    tjhandle tj = tjInitDecompress();
    if (!tj) {
        vs_fail("%s: cannot start the JPEG decoder (%s)", path, tjGetErrorStr2(NULL));
        return NULL;
    }
    vs_frame *frame = NULL;
    int w, h, subsamp, colorspace;
    if (tjDecompressHeader3(tj, data, (unsigned long)size, &w, &h, &subsamp, &colorspace)) {
        jpeg_error(path, tj);
        goto fail;
    }
    frame = vs_frame_new(w, h);
    if (!frame) {
        vs_error_prefix("%s", path);
        goto fail;
    }
    int cmyk = colorspace == TJCS_CMYK || colorspace == TJCS_YCCK;
    if (tjDecompress2(tj, data, (unsigned long)size, frame->data, w, frame->stride, h,
                      cmyk ? TJPF_CMYK : TJPF_RGBA, TJFLAG_STOPONWARNING)) {
        jpeg_error(path, tj);
        goto fail;
    }
    if (cmyk)
        cmyk_to_rgba(frame);
    tjDestroy(tj);
    return frame;
fail:
    vs_frame_free(frame);
    tjDestroy(tj);
    return NULL;
}

vs_frame *vs_image_decode(const char *path, const uint8_t *data, size_t size)
{
    int format = vs_image_format(path);
    if (format == VS_IMAGE_UNKNOWN)
        return unknown_format(path), NULL;
    if (size == 0)
        return vs_fail("%s: empty file (0 bytes)", path), NULL;
    return format == VS_IMAGE_PNG ? png_load(path, data, size) : jpeg_load(path, data, size);
}

vs_frame *vs_image_load(const char *path)
{
    if (!path)
        return vs_fail("image path is NULL"), NULL;
    if (vs_image_format(path) == VS_IMAGE_UNKNOWN)
        return unknown_format(path), NULL;
    uint8_t *data;
    size_t size;
    if (vs_image_read_file(path, &data, &size))
        return NULL;
    vs_frame *frame = vs_image_decode(path, data, size);
    free(data);
    return frame;
}

/* ---- saving ---- */

static int frame_is_opaque(const vs_frame *frame)
{
    for (int y = 0; y < frame->height; y++) {
        const uint8_t *p = frame->data + (size_t)y * frame->stride;
        for (int x = 0; x < frame->width; x++)
            if (p[4 * x + 3] != 255)
                return 0;
    }
    return 1;
}

/* The other place libpng may longjmp to; writes to an open file. */
static int png_encode(const vs_frame *frame, FILE *f, char *message, size_t message_size)
{
    struct png_io io = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &io, png_on_error, png_on_warning);
    if (!png) {
        snprintf(message, message_size, "out of memory");
        return -1;
    }
    png_infop info = png_create_info_struct(png);
    volatile int ret = -1;
    if (!info) {
        snprintf(message, message_size, "out of memory");
        goto done;
    }
    volatile int opaque = frame_is_opaque(frame);
    if (setjmp(png_jmpbuf(png))) {
        snprintf(message, message_size, "%s", io.message);
        goto done;
    }
    png_init_io(png, f);
    /* Level 3 with the default filters: most of level 6's size at a fraction of its time. */
    png_set_compression_level(png, 3);
    png_set_IHDR(png, info, (png_uint_32)frame->width, (png_uint_32)frame->height, 8,
                 opaque ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_RGBA, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    if (opaque)
        png_set_filler(png, 0, PNG_FILLER_AFTER); /* rows are RGBA: drop the A byte */
    for (int y = 0; y < frame->height; y++)
        png_write_row(png, frame->data + (size_t)y * frame->stride);
    png_write_end(png, info);
    ret = 0;
done:
    png_destroy_write_struct(&png, info ? &info : NULL);
    return ret;
}

static int jpeg_encode(const vs_frame *frame, FILE *f, int quality, char *message, size_t message_size)
{
    tjhandle tj = tjInitCompress();
    if (!tj) {
        snprintf(message, message_size, "cannot start the JPEG encoder");
        return -1;
    }
    unsigned char *buf = NULL;
    unsigned long len = 0;
    int ret = -1;
    if (tjCompress2(tj, frame->data, frame->width, frame->stride, frame->height, TJPF_RGBA, &buf, &len,
                    TJSAMP_420, quality, 0)) {
        snprintf(message, message_size, "JPEG encoder: %s", tjGetErrorStr2(tj));
        goto done;
    }
    if (fwrite(buf, 1, len, f) != len) {
        snprintf(message, message_size, "write error (%s)", strerror(errno));
        goto done;
    }
    ret = 0;
done:
    tjFree(buf);
    tjDestroy(tj);
    return ret;
}

int vs_image_save(const vs_frame *frame, const char *path, int quality)
{
    if (!frame || !path)
        return vs_fail("image save: frame and path are required");
    int format = vs_image_format(path);
    if (format == VS_IMAGE_UNKNOWN)
        return unknown_format(path);
    if (quality < 0 || quality > 100)
        return vs_fail("%s: JPEG quality must be 1..100, got %d", path, quality);
    if (quality == 0)
        quality = 90;
    size_t n = strlen(path);
    char *part = malloc(n + 6);
    if (!part)
        return vs_fail("%s: out of memory", path);
    memcpy(part, path, n);
    memcpy(part + n, ".part", 6);
    FILE *f = fopen(part, "wb");
    if (!f) {
        vs_fail("%s: cannot write (%s)", path, strerror(errno));
        free(part);
        return -1;
    }
    char message[256] = "";
    int ret = format == VS_IMAGE_PNG ? png_encode(frame, f, message, sizeof message)
                                     : jpeg_encode(frame, f, quality, message, sizeof message);
    if (fflush(f) != 0 && ret == 0) {
        snprintf(message, sizeof message, "write error (%s)", strerror(errno));
        ret = -1;
    }
    if (fclose(f) != 0 && ret == 0) {
        snprintf(message, sizeof message, "write error (%s)", strerror(errno));
        ret = -1;
    }
    if (ret == 0 && rename(part, path) != 0) {
        snprintf(message, sizeof message, "cannot rename %s (%s)", part, strerror(errno));
        ret = -1;
    }
    if (ret != 0) {
        remove(part);
        vs_fail("%s: %s", path, message[0] ? message : "cannot save");
    }
    free(part);
    return ret;
}
