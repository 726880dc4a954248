/*
 * vstudio.h: the public C API of libvstudio, the one header Lua sees.
 *
 * lua/vstudio/core.lua hands this file to ffi.cdef verbatim (the library
 * embeds its text, see vs_api_header), so it must stay plain C declarations:
 * no macros inside declarations, preprocessor lines only for the include
 * guard and includes (they are dropped before ffi.cdef sees the text).
 *
 * Conventions: functions return 0 on success and a negative value on
 * failure, or NULL for constructors; the reason is in vs_last_error(), a
 * per-thread message with context ("file.png: truncated PNG").
 *
 * Each concept has its own section; add to the section of the concept you
 * change and keep names verb-first within a vs_<concept>_ prefix.
 */
#ifndef VSTUDIO_H
#define VSTUDIO_H

#include <stddef.h>
#include <stdint.h>

/* ---- errors and version (error.c) ---- */
const char *vs_last_error(void);
const char *vs_version(void);

/* ---- frames (frame.c): RGBA8, rows 64-byte aligned ---- */
typedef struct vs_frame {
    int width;
    int height;
    int stride;       /* bytes from one row to the next, a multiple of 64 */
    uint8_t *data;    /* stride * height bytes, straight (not premultiplied) alpha */
} vs_frame;

vs_frame *vs_frame_new(int width, int height);
void vs_frame_free(vs_frame *frame);
vs_frame *vs_frame_copy(const vs_frame *frame);
void vs_frame_fill(vs_frame *frame, uint8_t r, uint8_t g, uint8_t b, uint8_t a);
/* "over" compositing of src at (x, y), clipped to dst; opacity in [0, 1]. */
void vs_frame_blit(vs_frame *dst, const vs_frame *src, int x, int y, double opacity);
/* Copies the pixels of src into dst of the same size. */
int vs_frame_copy_into(vs_frame *dst, const vs_frame *src);

/* ---- images (image.c): PNG via libpng, JPEG via libturbojpeg ---- */
vs_frame *vs_image_load(const char *path);
/* quality: JPEG quality 1..100 (0 means the default, 90); ignored for PNG. */
int vs_image_save(const vs_frame *frame, const char *path, int quality);

/* ---- encoder (encode.c): frames to a file, a pipe or an image sequence ----
 * Writes PATH.part and renames it to PATH in vs_encoder_close; "-" is stdout. */
typedef struct vs_encoder vs_encoder;
typedef struct vs_encoder_options {
    const char *format;        /* NULL: from the extension; "mp4" "mkv" "webm" "mov" "avi" "y4m" "raw" "png" "jpg" */
    const char *codec;         /* NULL: libx264 (container default for others) */
    int fps_num, fps_den;      /* frame rate; 0/0 means 30/1 */
    int crf;                   /* -1: default (18 for x264); 0 is lossless */
    const char *preset;        /* NULL: "medium" */
    int64_t bit_rate;          /* bits/s; 0: rate control by crf */
    const char *pix_fmt;       /* NULL: yuv420p */
    int gop;                   /* keyframe interval; 0: codec default */
    const char *codec_options; /* "key=value:key=value" passed to the codec */
    const char *title;         /* metadata, NULL for none */
    const char *comment;
    const char *artist;
    int threads;               /* encoder threads; 0: auto */
    int quality;               /* JPEG sequence quality 1..100; 0: 90 */
} vs_encoder_options;
void vs_encoder_options_init(vs_encoder_options *opts);
vs_encoder *vs_encoder_open(const char *path, int width, int height, const vs_encoder_options *opts);
int vs_encoder_push(vs_encoder *enc, const vs_frame *frame);
/* Flushes, writes the trailer and renames PATH.part to PATH; frees enc. */
int vs_encoder_close(vs_encoder *enc);
/* Gives up: removes PATH.part, frees enc. Safe on NULL. */
void vs_encoder_abort(vs_encoder *enc);

/* ---- probe (probe.c, cache.c): metadata with an exact frame count ---- */
typedef struct vs_probe_info {
    int width, height;
    int fps_num, fps_den;
    int64_t frames;            /* exact, as ffprobe -count_frames */
    double duration;           /* seconds */
    int64_t bit_rate;
    char codec[32];
    char pix_fmt[32];
    char container[32];
} vs_probe_info;
/* use_cache: 1 to read/write the SQLite probe cache, 0 to bypass it. */
int vs_probe(const char *path, int use_cache, vs_probe_info *info);

/* ---- decoder (decode.c): sequential and frame-exact random access to RGBA ---- */
typedef struct vs_decoder vs_decoder;
vs_decoder *vs_decoder_open(const char *path, int threads);
int vs_decoder_info(const vs_decoder *dec, vs_probe_info *info);
/* Decodes the next frame into out (sized to the video); returns 0, 1 at the end, -1 on error. */
int vs_decoder_next(vs_decoder *dec, vs_frame *out);
/* Frame index (0-based) into out, equal to the index-th frame of a sequential decode. */
int vs_decoder_frame(vs_decoder *dec, int64_t index, vs_frame *out);
void vs_decoder_close(vs_decoder *dec);

/* ---- parsing (parse.c): the CLI's and the Lua API's shared parsers ---- */
/* "A:B" (frames A..B-1), "A:" (A to the end: *end = -1), ":B", or "A" (one
 * frame). Frames are 0-based and non-negative; B > A. */
int vs_parse_frame_range(const char *text, int64_t *first, int64_t *end);
/* "30", "29.97" (becomes 2997/100) or "30000/1001"; must be positive and finite. */
int vs_parse_rational(const char *text, int *num, int *den);

#endif
