/*
 * image.h: image helpers for C callers that do their own file handling
 * (convert, dataset): the format from an extension, whole-file reads, and
 * decoding an in-memory file to RGBA8.
 */
#ifndef VS_IMAGE_H
#define VS_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "vstudio.h"

struct libdeflate_decompressor;

enum { VS_IMAGE_UNKNOWN = 0, VS_IMAGE_PNG = 1, VS_IMAGE_JPEG = 2 };

/* By extension, case-insensitive: .png, .jpg, .jpeg. */
int vs_image_format(const char *path);
/* Reads the whole file into *data (free it); errors name the path. */
int vs_image_read_file(const char *path, uint8_t **data, size_t *size);
/* The size from the file's header, without decoding the pixels. */
int vs_image_size(const char *path, int *width, int *height);
/* The same from the file's first bytes in memory (format from path's
 * extension); -1 when they hold no complete header. */
int vs_image_size_of(const char *path, const uint8_t *data, size_t size, int *width, int *height);
/* Decodes an in-memory file (format from path's extension) to a new RGBA8 frame. */
vs_frame *vs_image_decode(const char *path, const uint8_t *data, size_t size);

/* Where to decode: called once the size is known, returns a frame at least
 * width x height (the image lands in its top-left corner), or NULL with
 * vs_fail set to refuse (the decode then fails with that message). */
typedef vs_frame *(*vs_image_target)(void *ctx, int width, int height);
typedef struct vs_image_info {
    int width, height;
    int alpha;          /* the file has an alpha channel or tRNS transparency */
} vs_image_info;
/* Buffers a caller keeps across decodes (zero-initialise; free with
 * vs_image_scratch_free): the fast PNG path needs them, NULL disables it. */
typedef struct vs_image_scratch {
    uint8_t *buf[4];                      /* inflated rows, joined IDAT chunks, row buffers, the file */
    size_t cap[4];
    struct libdeflate_decompressor *inflater;
} vs_image_scratch;
void vs_image_scratch_free(vs_image_scratch *s);
/* Decodes into the caller's frame; returns it or NULL (error names path).
 * info (may be NULL) gets the size even when target refuses. */
vs_frame *vs_image_decode_to(const char *path, const uint8_t *data, size_t size, vs_image_target target,
                             void *ctx, vs_image_info *info, vs_image_scratch *scratch);

/* Row pairs for callers that convert as they go (convert fills the
 * encoder's YUV pictures so): rows(ctx, info, y, n, rgba, stride) gets
 * image rows y..y+n-1 as RGBA8 (n is 2, or 1 for an odd height's last row)
 * while they are still in cache; it may change them, and returns 0 or
 * negative (vs_fail) to stop. */
typedef int (*vs_image_rows)(void *ctx, const vs_image_info *info, int y, int n, uint8_t *rgba, size_t stride);
/* 1: the whole image went through rows; 0: not taken, nothing passed to
 * rows (not a PNG of width x height the fast path reads, or any doubt
 * about its data: vs_image_decode_to decodes it or says what is wrong);
 * -1: rows stopped (its error, prefixed with path). */
int vs_image_decode_rows(const char *path, const uint8_t *data, size_t size, int width, int height,
                         vs_image_rows rows, void *ctx, vs_image_info *info, vs_image_scratch *scratch);

/* Encodes frame as the PNG or JPEG path names (quality: JPEG 1..100, 0:
 * 90) into the open descriptor fd, for writers that manage the file
 * (outfile.h); errors name path. */
int vs_image_write_fd(const vs_frame *frame, int fd, const char *path, int quality);

#endif
