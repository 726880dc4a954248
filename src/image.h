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

enum { VS_IMAGE_UNKNOWN = 0, VS_IMAGE_PNG = 1, VS_IMAGE_JPEG = 2 };

/* By extension, case-insensitive: .png, .jpg, .jpeg. */
int vs_image_format(const char *path);
/* Reads the whole file into *data (free it); errors name the path. */
int vs_image_read_file(const char *path, uint8_t **data, size_t *size);
/* Decodes an in-memory file (format from path's extension) to a new RGBA8 frame. */
vs_frame *vs_image_decode(const char *path, const uint8_t *data, size_t size);

#endif
