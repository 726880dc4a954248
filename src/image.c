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
 * Fast path: a non-interlaced PNG of 8-bit RGB, RGBA, gray, gray+alpha or
 * palette (with or without palette tRNS), or of 16-bit RGB, RGBA, gray or
 * gray+alpha, whose file is intact (every critical chunk's CRC, the zlib
 * stream's Adler-32) is inflated in one call by libdeflate (about twice
 * zlib's speed; inflate is most of a PNG's decode) and then, row after
 * row, unfiltered (png_unfilter.c: SSE2/SSSE3) and widened to RGBA8 with
 * libpng's own rules while the row is in cache: into the target frame, or
 * (vs_image_decode_rows) in pairs to a caller that converts them at once,
 * so convert's YUV pictures are filled with no RGBA frame in between.
 * Anything else (interlace, 1/2/4-bit, a colour-key tRNS) or any doubt
 * about the data falls back to libpng, which then also writes the error
 * message. VSTUDIO_NO_LIBDEFLATE=1 sends every PNG to libpng (the specs'
 * second opinion).
 *
 * JPEG: turbojpeg decodes baseline, progressive and grayscale JPEGs straight
 * to RGBA at the frame's stride; CMYK/YCCK JPEGs are decoded to CMYK and
 * converted with the inverted-Adobe convention turbojpeg itself uses
 * (R = C * K / 255). A truncated JPEG is an error, not a grey bottom half.
 *
 * Saving writes a private temporary and renames it over PATH only when
 * complete (outfile.h).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libdeflate.h>
#include <png.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <turbojpeg.h>
#include <unistd.h>

#include "error.h"
#include "image.h"
#include "outfile.h"
#include "png_unfilter.h"
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

/* Reads the file into *buf (grown with realloc when *cap is short; the
 * caller frees it either way), its length in *size. */
static int read_file_into(const char *path, uint8_t **buf, size_t *cap, size_t *size)
{
    *size = 0;
    /* O_NONBLOCK: opening a FIFO (or a device) must not wait for a writer
     * before fstat can refuse it; a regular file reads the same either way. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return vs_fail("%s: cannot open (%s)", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return vs_fail("%s: not a regular file", path);
    }
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return vs_fail("%s: cannot open (%s)", path, strerror(errno));
    }
    size_t need = (size_t)st.st_size;
    if (need + 1 > *cap) {
        uint8_t *grown = realloc(*buf, need + 1);
        if (!grown) {
            fclose(f);
            return vs_fail("%s: out of memory reading %zu bytes", path, need);
        }
        *buf = grown;
        *cap = need + 1;
    }
    size_t got = fread(*buf, 1, need, f);
    int err = ferror(f);
    fclose(f);
    if (err)
        return vs_fail("%s: read error", path);
    *size = got;
    return 0;
}

int vs_image_read_file(const char *path, uint8_t **data, size_t *size)
{
    size_t cap = 0;
    *data = NULL;
    if (read_file_into(path, data, &cap, size) == 0)
        return 0;
    free(*data);
    *data = NULL;
    return -1;
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

/* Deflate expands at most about 1032:1, so `compressed` bytes of IDAT cannot
 * hold more than this many bytes of image: a bigger claim (a 167-byte file
 * whose header says 30000x30000) is refused before anything is allocated. */
static int idat_can_hold(size_t compressed, uint64_t raw)
{
    return raw / 1032 <= (uint64_t)compressed + 64;
}

/* The IDAT bytes the file holds: the chunks' lengths, as far as the data goes. */
static size_t idat_bytes(const uint8_t *data, size_t size)
{
    size_t total = 0;
    for (size_t pos = 8; pos + 8 <= size;) {
        size_t n = (uint32_t)data[pos] << 24 | (uint32_t)data[pos + 1] << 16 | (uint32_t)data[pos + 2] << 8 |
                   data[pos + 3];
        size_t have = size - pos - 8;
        if (!memcmp(data + pos + 4, "IDAT", 4))
            total += n < have ? n : have;
        if (n >= have)
            break;
        pos += 12 + n;
    }
    return total;
}

/* Bytes of image data (before filtering, without filter bytes) a PNG header claims. */
static uint64_t png_claimed_bytes(png_structp png, png_infop info)
{
    uint64_t bits = (uint64_t)png_get_image_width(png, info) * png_get_channels(png, info) *
                    png_get_bit_depth(png, info);
    return (bits + 7) / 8 * png_get_image_height(png, info);
}

/* The one place libpng may longjmp to. Decodes into the frame target()
 * gives for the image's size (top-left corner). Returns it, or NULL with
 * io->message (or vs_last_error for our own failures) set. */
static vs_frame *png_decode(struct png_io *io, vs_image_target target, void *ctx, vs_image_info *out,
                            int *own_error)
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
        frame = NULL;
        goto done;
    }
    png_set_read_fn(png, io, png_read_mem);
    /* A bad CRC or zlib checksum in the image data is a corrupt frame: refuse
     * it rather than show wrong pixels (the checks cost about 5%). A damaged
     * ancillary chunk is not worth refusing a frame: it is dropped. */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    png_set_crc_action(png, PNG_CRC_QUIET_USE, PNG_CRC_QUIET_USE); /* let mutated data reach the decoder */
#ifdef PNG_IGNORE_ADLER32
    png_set_option(png, PNG_IGNORE_ADLER32, PNG_OPTION_ON);
#endif
#else
    png_set_crc_action(png, PNG_CRC_DEFAULT, PNG_CRC_WARN_DISCARD);
#endif
    png_read_info(png, info);
    io->in_rows = 1;
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    out->width = (int)w;
    out->height = (int)h;
    out->alpha = (png_get_color_type(png, info) & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS);
    if (w > 32768 || h > 32768) {
        vs_fail("image size %ux%u is out of range (1..32768 per side)", (unsigned)w, (unsigned)h);
        *own_error = 1;
        goto done;
    }
    size_t idat = idat_bytes(io->data, io->size);
    if (!idat_can_hold(idat, png_claimed_bytes(png, info))) {
        vs_fail("truncated PNG (%zu bytes of image data cannot hold the %ux%u image its header claims)", idat,
                (unsigned)w, (unsigned)h);
        *own_error = 1;
        goto done;
    }
    png_to_rgba8(png, info);
    if (png_get_rowbytes(png, info) != (size_t)w * 4) {
        snprintf(io->message, sizeof io->message, "unsupported PNG layout");
        goto done;
    }
    vs_frame *dst = target(ctx, (int)w, (int)h);
    if (!dst) {
        *own_error = 1;
        goto done;
    }
    rows = malloc(sizeof *rows * h);
    if (!rows) {
        snprintf(io->message, sizeof io->message, "out of memory");
        goto done;
    }
    for (png_uint_32 y = 0; y < h; y++)
        rows[y] = dst->data + (size_t)y * dst->stride;
    png_read_image(png, rows);
    frame = dst;
done:
    free(rows);
    png_destroy_read_struct(&png, info ? &info : NULL, NULL);
    return frame;
}


/* ---- PNG fast path: libdeflate + png_unfilter.c ---- */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Scratch buffer k at least need bytes (contents kept). */
static uint8_t *grow(vs_image_scratch *s, int k, size_t need)
{
    if (s->cap[k] < need) {
        uint8_t *b = realloc(s->buf[k], need);
        if (!b)
            return NULL;
        s->buf[k] = b;
        s->cap[k] = need;
    }
    return s->buf[k];
}

enum { SCRATCH_RAW, SCRATCH_IDAT, SCRATCH_ROWS, SCRATCH_FILE }; /* vs_image_scratch.buf[] */

/* A chunk whose CRC is wrong makes libpng refuse the file, so it makes the
 * fast path decline: one verdict either way. Ancillary chunks (lower-case
 * first letter) are dropped by libpng whatever their CRC, so not checked. */
static int chunk_crc_bad(const uint8_t *chunk, uint32_t n)
{
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    (void)chunk, (void)n;
    return 0; /* as libpng there: let mutated data reach the decoder */
#else
    if (chunk[4] & 0x20)
        return 0;
    return libdeflate_crc32(0, chunk + 4, (size_t)n + 4) != be32(chunk + 8 + n);
#endif
}

/* 0 for a chunk libpng refuses, so that the fast path declines it and a
 * file gets one verdict: a type that is not four letters, an unknown
 * critical chunk (or a second IHDR), a chunk longer than libpng's limits
 * (8000000 bytes, or for IDAT what the image could need). */
static int chunk_libpng_reads(const uint8_t *type, uint32_t n, uint64_t idat_limit)
{
    for (int k = 0; k < 4; k++)
        if (!((type[k] >= 'A' && type[k] <= 'Z') || (type[k] >= 'a' && type[k] <= 'z')))
            return 0;
    if (!memcmp(type, "IDAT", 4))
        return n <= idat_limit && n <= 0x7fffffffu;
    if (!(type[0] & 0x20) && memcmp(type, "PLTE", 4) && memcmp(type, "IEND", 4))
        return 0;
    return n <= 8000000;
}

/* What the fast path found in a PNG it takes: the inflated, still filtered
 * rows (a filter byte, then row_n bytes each) and how to widen a row. */
struct png_fast {
    uint32_t w, h;
    int depth, color;     /* 8 or 16; 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA */
    int bpp;              /* bytes per pixel in a row, the filters' stride */
    size_t row_n;
    uint8_t *raw;
    uint8_t palette[256][4]; /* RGBA; entries past PLTE and tRNS are libpng's: black, opaque */
    int alpha;
};

static int fast_kind(int depth, int color)
{
    int direct = color == 0 || color == 2 || color == 4 || color == 6; /* not palette */
    return (depth == 8 && (direct || color == 3)) || (depth == 16 && direct);
}

/* Reads the chunks and inflates the image data: 0, or -1 to leave the file
 * to libpng (anything it would refuse or that we do not handle). */
static int png_fast_open(const uint8_t *data, size_t size, vs_image_scratch *s, struct png_fast *p)
{
    if (!s || size < 33 || be32(data + 8) != 13 || memcmp(data + 12, "IHDR", 4))
        return -1;
    p->w = be32(data + 16);
    p->h = be32(data + 20);
    p->depth = data[24];
    p->color = data[25];
    if (!fast_kind(p->depth, p->color) || data[26] != 0 || data[27] != 0 || data[28] != 0 || p->w == 0 ||
        p->h == 0 || p->w > 32768 || p->h > 32768 || chunk_crc_bad(data + 8, 13))
        return -1; /* interlaced, below 8 bits, unknown methods, out of range */
    static const int channels[7] = {1, 0, 3, 1, 2, 0, 4};
    p->bpp = channels[p->color] * p->depth / 8;
    p->row_n = (size_t)p->w * p->bpp;
    p->alpha = p->color == 4 || p->color == 6;
    for (int i = 0; i < 256; i++)
        memcpy(p->palette[i], (uint8_t[4]){0, 0, 0, 255}, 4);
    uint32_t palette_n = 0;
    /* gather the IDAT payload (one chunk is used in place) */
    /* libpng's own bound on one IDAT chunk (png_check_chunk_length) */
    uint64_t row_factor = p->row_n + 1, idat_limit = row_factor * p->h;
    idat_limit += 6 + 5 * (idat_limit / (row_factor < 32566 ? row_factor : 32566) + 1);
    size_t pos = 33, idat_n = 0, idat_end = 0;
    const uint8_t *idat = NULL;
    int pieces = 0;
    for (;;) {
        if (pos + 12 > size)
            return -1;
        uint32_t n = be32(data + pos);
        const uint8_t *type = data + pos + 4, *body = data + pos + 8;
        if (n > size - pos - 12 || chunk_crc_bad(data + pos, n) || !chunk_libpng_reads(type, n, idat_limit))
            return -1;
        if (!memcmp(type, "IDAT", 4)) {
            if (pieces && pos != idat_end)
                return -1; /* IDATs apart: libpng's to judge */
            idat_end = pos + 12 + (size_t)n;
            if (pieces == 1) {
                if (!grow(s, SCRATCH_IDAT, idat_n + n))
                    return -1;
                memcpy(s->buf[SCRATCH_IDAT], idat, idat_n);
            } else if (pieces > 1 && !grow(s, SCRATCH_IDAT, idat_n + n)) {
                return -1;
            }
            if (pieces)
                memcpy(s->buf[SCRATCH_IDAT] + idat_n, body, n);
            idat = pieces ? s->buf[SCRATCH_IDAT] : body;
            idat_n += n;
            pieces++;
        } else if (!memcmp(type, "PLTE", 4)) {
            if (p->color != 3 || n % 3 || n == 0 || n / 3 > 256 || pieces)
                return -1;
            for (uint32_t i = 0; i < n / 3; i++)
                memcpy(p->palette[i], body + 3 * i, 3);
            palette_n = n / 3;
        } else if (!memcmp(type, "tRNS", 4)) {
            /* palette alpha; a colour key (gray, RGB), or a tRNS libpng
             * would ignore as invalid, is libpng's */
            if (p->color != 3 || !palette_n || n == 0 || n > palette_n || pieces)
                return -1;
            for (uint32_t i = 0; i < n; i++)
                p->palette[i][3] = body[i];
            p->alpha = 1;
        } else if (!memcmp(type, "IEND", 4)) {
            break;
        }
        pos += 12 + (size_t)n;
    }
    if (!pieces || (p->color == 3 && !palette_n))
        return -1;
    size_t raw_n = (p->row_n + 1) * p->h;
    /* a claim the data cannot hold is libpng's to refuse, with its message */
    if (!idat_can_hold(idat_n, raw_n) || !(p->raw = grow(s, SCRATCH_RAW, raw_n)))
        return -1;
    if (!s->inflater && !(s->inflater = libdeflate_alloc_decompressor()))
        return -1;
    size_t got = 0;
    /* the zlib format: its Adler-32 is checked too */
    if (libdeflate_zlib_decompress(s->inflater, idat, idat_n, p->raw, raw_n, &got) != LIBDEFLATE_SUCCESS ||
        got != raw_n)
        return -1;
    for (uint32_t y = 0; y < p->h; y++)
        if (p->raw[(p->row_n + 1) * y] > 4)
            return -1;
    return 0;
}

/* 16-bit samples to 8 with libpng's png_set_scale_16 rounding (v * 255 / 65535, rounded). */
static void scale_16(uint8_t *out, const uint8_t *in, size_t samples)
{
    for (size_t i = 0; i < samples; i++) {
        int32_t hi = in[2 * i], lo = in[2 * i + 1];
        out[i] = (uint8_t)(hi + (((lo - hi + 128) * 65535) >> 24));
    }
}

/* One unfiltered row (8-bit samples) to RGBA8. */
static void widen(const struct png_fast *p, const uint8_t *row, uint8_t *out)
{
    uint32_t w = p->w;
    switch (p->color) {
    case 6:
        memcpy(out, row, (size_t)w * 4);
        break;
    case 2:
        for (uint32_t x = 0; x < w; x++, row += 3, out += 4) {
            out[0] = row[0];
            out[1] = row[1];
            out[2] = row[2];
            out[3] = 255;
        }
        break;
    case 0:
        for (uint32_t x = 0; x < w; x++, out += 4) {
            out[0] = out[1] = out[2] = row[x];
            out[3] = 255;
        }
        break;
    case 4:
        for (uint32_t x = 0; x < w; x++, row += 2, out += 4) {
            out[0] = out[1] = out[2] = row[0];
            out[3] = row[1];
        }
        break;
    case 3:
        for (uint32_t x = 0; x < w; x++, out += 4)
            memcpy(out, p->palette[row[x]], 4);
        break;
    }
}

/* Unfilters row after row and widens each to RGBA8: into dst's rows, or
 * (rows != NULL) into a pair of rows in scratch handed to rows() while
 * they are in cache. 0, or rows()'s error. */
static int png_fast_rows(const struct png_fast *p, vs_image_scratch *s, vs_frame *dst, vs_image_rows rows,
                         void *ctx, const vs_image_info *info)
{
    size_t pair_stride = ((size_t)p->w * 4 + 63) & ~(size_t)63;
    size_t eight_n = p->depth == 16 ? p->row_n / 2 : 0;
    uint8_t *zero = grow(s, SCRATCH_ROWS, p->row_n + eight_n + 2 * pair_stride);
    if (!zero)
        return vs_fail("out of memory");
    memset(zero, 0, p->row_n);
    uint8_t *eight = zero + p->row_n, *pair = eight + eight_n;
    const uint8_t *prev = zero;
    for (uint32_t y4 = 0; y4 < p->h; y4 += 4) {
        /* four rows unfiltered at a time (runs of Paeth rows go together),
         * then widened and handed on in pairs while they are in cache */
        uint32_t count = p->h - y4 < 4 ? p->h - y4 : 4;
        uint8_t *first = p->raw + (p->row_n + 1) * y4;
        vs_png_unfilter_rows(first, count, prev, p->row_n, p->bpp);
        prev = first + (p->row_n + 1) * (count - 1) + 1;
        for (uint32_t y = y4; y < y4 + count; y += 2) {
            uint32_t n = y + 1 < y4 + count ? 2 : 1;
            for (uint32_t k = 0; k < n; k++) {
                const uint8_t *samples = p->raw + (p->row_n + 1) * (y + k) + 1;
                if (eight_n) {
                    scale_16(eight, samples, eight_n);
                    samples = eight;
                }
                widen(p, samples, rows ? pair + k * pair_stride : dst->data + (size_t)(y + k) * dst->stride);
            }
            if (rows) {
                int rc = rows(ctx, info, (int)y, (int)n, pair, pair_stride);
                if (rc < 0)
                    return rc;
            }
        }
    }
    return 0;
}

/* Returns the frame, NULL with *declined = 1 to let libpng handle the file,
 * or NULL with *declined = 0 when target refused (vs_last_error set). */
static vs_frame *png_fast(const uint8_t *data, size_t size, vs_image_target target, void *ctx,
                          vs_image_info *info, vs_image_scratch *scratch, int *declined)
{
    *declined = 1;
    struct png_fast p;
    if (getenv("VSTUDIO_NO_LIBDEFLATE") || png_fast_open(data, size, scratch, &p) < 0)
        return NULL;
    info->width = (int)p.w;
    info->height = (int)p.h;
    info->alpha = p.alpha;
    *declined = 0;
    vs_frame *dst = target(ctx, (int)p.w, (int)p.h);
    if (!dst || png_fast_rows(&p, scratch, dst, NULL, NULL, info) < 0)
        return NULL;
    return dst;
}

int vs_image_decode_rows(const char *path, const uint8_t *data, size_t size, int width, int height,
                         vs_image_rows rows, void *ctx, vs_image_info *info, vs_image_scratch *scratch)
{
    struct png_fast p;
    if (vs_image_format(path) != VS_IMAGE_PNG || getenv("VSTUDIO_NO_LIBDEFLATE") || size < 8 ||
        png_sig_cmp(data, 0, 8) || png_fast_open(data, size, scratch, &p) < 0 || (int)p.w != width ||
        (int)p.h != height)
        return 0;
    info->width = (int)p.w;
    info->height = (int)p.h;
    info->alpha = p.alpha;
    if (png_fast_rows(&p, scratch, NULL, rows, ctx, info) < 0)
        return vs_error_prefix("%s", path);
    return 1;
}

void vs_image_scratch_free(vs_image_scratch *s)
{
    if (!s)
        return;
    for (int k = 0; k < 4; k++)
        free(s->buf[k]);
    if (s->inflater)
        libdeflate_free_decompressor(s->inflater);
    memset(s, 0, sizeof *s);
}

static vs_frame *png_load(const char *path, const uint8_t *data, size_t size, vs_image_target target,
                          void *ctx, vs_image_info *info, vs_image_scratch *scratch)
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
    int declined;
    vs_frame *fast = png_fast(data, size, target, ctx, info, scratch, &declined);
    if (fast || !declined) {
        if (!fast)
            vs_error_prefix("%s", path);
        return fast;
    }
    struct png_io io = {.data = data, .size = size};
    int own_error = 0;
    vs_frame *frame = png_decode(&io, target, ctx, info, &own_error);
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
static void cmyk_to_rgba(vs_frame *frame, int w, int h)
{
    for (int y = 0; y < h; y++) {
        uint8_t *p = frame->data + (size_t)y * frame->stride;
        for (int x = 0; x < w; x++, p += 4) {
            unsigned k = p[3];
            p[0] = (uint8_t)((p[0] * k + 127) / 255);
            p[1] = (uint8_t)((p[1] * k + 127) / 255);
            p[2] = (uint8_t)((p[2] * k + 127) / 255);
            p[3] = 255;
        }
    }
}

/* 1 when the marker segments before the frame header run into the end of
 * the data (a file cut short), 0 when something else is in the way. */
static int jpeg_cut_in_header(const uint8_t *data, size_t size)
{
    size_t pos = 2;
    for (;;) {
        if (pos + 4 > size)
            return 1;
        if (data[pos] != 0xff)
            return 0;
        int marker = data[pos + 1];
        if (marker == 0xff) { /* fill byte */
            pos++;
            continue;
        }
        if (marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc)
            return 0; /* a frame header is there */
        if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
            pos += 2;
            continue;
        }
        size_t len = (size_t)data[pos + 2] << 8 | data[pos + 3];
        if (len < 2)
            return 0;
        if (len > size - pos - 2)
            return 1;
        pos += 2 + len;
    }
}

static vs_frame *jpeg_load(const char *path, const uint8_t *data, size_t size, vs_image_target target,
                           void *ctx, vs_image_info *info)
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
    /* turbojpeg accepts a stream with no frame header and then leaves these as they were */
    int w = 0, h = 0, subsamp = -1, colorspace = -1;
    if (tjDecompressHeader3(tj, data, (unsigned long)size, &w, &h, &subsamp, &colorspace)) {
        jpeg_error(path, tj);
        goto fail;
    }
    if (w <= 0 || h <= 0) {
        vs_fail(jpeg_cut_in_header(data, size) ? "%s: truncated JPEG (data ends before the frame header)"
                                               : "%s: corrupt JPEG (no frame header)", path);
        goto fail;
    }
    if (w > 32768 || h > 32768) {
        vs_fail("%s: image size %dx%d is out of range (1..32768 per side)", path, w, h);
        goto fail;
    }
    info->width = w;
    info->height = h;
    info->alpha = 0;
    vs_frame *dst = target(ctx, w, h);
    if (!dst) {
        vs_error_prefix("%s", path);
        goto fail;
    }
    int cmyk = colorspace == TJCS_CMYK || colorspace == TJCS_YCCK;
    if (tjDecompress2(tj, data, (unsigned long)size, dst->data, w, dst->stride, h,
                      cmyk ? TJPF_CMYK : TJPF_RGBA, TJFLAG_STOPONWARNING)) {
        jpeg_error(path, tj);
        goto fail;
    }
    if (cmyk)
        cmyk_to_rgba(dst, w, h);
    frame = dst;
fail:
    tjDestroy(tj);
    return frame;
}

vs_frame *vs_image_decode_to(const char *path, const uint8_t *data, size_t size, vs_image_target target,
                             void *ctx, vs_image_info *info, vs_image_scratch *scratch)
{
    vs_image_info unused;
    if (!info)
        info = &unused;
    memset(info, 0, sizeof *info);
    int format = vs_image_format(path);
    if (format == VS_IMAGE_UNKNOWN)
        return unknown_format(path), NULL;
    if (size == 0)
        return vs_fail("%s: empty file (0 bytes)", path), NULL;
    return format == VS_IMAGE_PNG ? png_load(path, data, size, target, ctx, info, scratch)
                                  : jpeg_load(path, data, size, target, ctx, info);
}

static vs_frame *new_frame_target(void *ctx, int width, int height)
{
    vs_frame **made = ctx;
    *made = vs_frame_new(width, height);
    return *made;
}

/* vs_image_load's and vs_image_decode's buffers: one set per thread, kept
 * from one image to the next (freed when the thread ends). Fresh ones for
 * each 720p PNG cost more in page faults than inflating it. */
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void thread_scratch_free(void *s)
{
    vs_image_scratch_free(s);
    free(s);
}

static void scratch_key_make(void)
{
    if (pthread_key_create(&scratch_key, thread_scratch_free) != 0)
        scratch_key = (pthread_key_t)-1;
}

/* NULL when out of memory (the decode then runs without the fast path). */
static vs_image_scratch *thread_scratch(void)
{
    pthread_once(&scratch_once, scratch_key_make);
    if (scratch_key == (pthread_key_t)-1)
        return NULL;
    vs_image_scratch *s = pthread_getspecific(scratch_key);
    if (!s && (s = calloc(1, sizeof *s)) && pthread_setspecific(scratch_key, s) != 0) {
        free(s);
        s = NULL;
    }
    return s;
}

static vs_frame *decode_new(const char *path, const uint8_t *data, size_t size, vs_image_scratch *scratch)
{
    vs_frame *made = NULL;
    vs_frame *frame = vs_image_decode_to(path, data, size, new_frame_target, &made, NULL, scratch);
    if (!frame)
        vs_frame_free(made);
    return frame;
}

vs_frame *vs_image_decode(const char *path, const uint8_t *data, size_t size)
{
    return decode_new(path, data, size, thread_scratch());
}

static vs_frame *refuse_target(void *ctx, int width, int height)
{
    (void)ctx;
    (void)width;
    (void)height;
    vs_fail("size only");
    return NULL;
}

int vs_image_size_of(const char *path, const uint8_t *data, size_t size, int *width, int *height)
{
    vs_image_info info = {0};
    /* no scratch: libpng reads the header and stops when the target refuses */
    vs_image_decode_to(path, data, size, refuse_target, NULL, &info, NULL);
    if (info.width <= 0 || info.height <= 0)
        return -1;
    *width = info.width;
    *height = info.height;
    return 0;
}

int vs_image_size(const char *path, int *width, int *height)
{
    if (vs_image_format(path) == VS_IMAGE_UNKNOWN)
        return unknown_format(path);
    uint8_t *data;
    size_t size;
    if (vs_image_read_file(path, &data, &size))
        return -1;
    int rc = vs_image_size_of(path, data, size, width, height);
    free(data);
    return rc;
}

vs_frame *vs_image_load(const char *path)
{
    if (!path)
        return vs_fail("image path is NULL"), NULL;
    if (vs_image_format(path) == VS_IMAGE_UNKNOWN)
        return unknown_format(path), NULL;
    vs_image_scratch *s = thread_scratch();
    if (!s) {
        uint8_t *data;
        size_t size;
        if (vs_image_read_file(path, &data, &size))
            return NULL;
        vs_frame *frame = decode_new(path, data, size, NULL);
        free(data);
        return frame;
    }
    size_t size;
    if (read_file_into(path, &s->buf[SCRATCH_FILE], &s->cap[SCRATCH_FILE], &size) < 0)
        return NULL;
    return decode_new(path, s->buf[SCRATCH_FILE], size, s);
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

static int check_save_args(const vs_frame *frame, const char *path, int quality)
{
    if (!frame || !path)
        return vs_fail("image save: frame and path are required");
    if (vs_image_format(path) == VS_IMAGE_UNKNOWN)
        return unknown_format(path);
    if (quality < 0 || quality > 100)
        return vs_fail("%s: JPEG quality must be 1..100, got %d", path, quality);
    return 0;
}

int vs_image_write_fd(const vs_frame *frame, int fd, const char *path, int quality)
{
    if (check_save_args(frame, path, quality) < 0)
        return -1;
    if (quality == 0)
        quality = 90;
    /* a stream on a copy of the descriptor: fclose closes the copy, the
     * caller's outfile keeps its own */
    int copy = dup(fd);
    FILE *f = copy >= 0 ? fdopen(copy, "wb") : NULL;
    if (!f) {
        vs_fail("%s: cannot write (%s)", path, strerror(errno));
        if (copy >= 0)
            close(copy);
        return -1;
    }
    char message[256] = "";
    int ret = vs_image_format(path) == VS_IMAGE_PNG ? png_encode(frame, f, message, sizeof message)
                                                    : jpeg_encode(frame, f, quality, message, sizeof message);
    if (fflush(f) != 0 && ret == 0) {
        snprintf(message, sizeof message, "write error (%s)", strerror(errno));
        ret = -1;
    }
    if (fclose(f) != 0 && ret == 0) {
        snprintf(message, sizeof message, "write error (%s)", strerror(errno));
        ret = -1;
    }
    if (ret != 0)
        vs_fail("%s: %s", path, message[0] ? message : "cannot save");
    return ret;
}

int vs_image_save(const vs_frame *frame, const char *path, int quality)
{
    if (check_save_args(frame, path, quality) < 0)
        return -1;
    vs_outfile *out = vs_outfile_create(path);
    if (!out)
        return -1;
    if (vs_image_write_fd(frame, vs_outfile_fd(out), path, quality) < 0) {
        vs_outfile_abort(out);
        return -1;
    }
    return vs_outfile_commit(out);
}
