/*
 * vstudio.h: the public C API of libvstudio, the one header Lua and Python see.
 *
 * lua/vstudio/core.lua hands this file to LuaJIT's ffi.cdef verbatim, and
 * python/vstudio/_lib.py to cffi's (the library embeds its text, see
 * vs_api_header), so it must stay plain C declarations: no macros inside
 * declarations, preprocessor lines only for the include guard and includes
 * (they are dropped before either cdef sees the text), enums with constant
 * values.
 *
 * Conventions: functions return 0 on success and a negative value on
 * failure, or NULL for constructors; the reason is in vs_last_error(), a
 * per-thread message with context ("file.png: truncated PNG"). A choice
 * among a few is an enum, each value commented (Lua may pass its name as
 * a string: LuaJIT converts it and rejects an unknown one); enum values
 * are plain numbers, no expressions, so LuaJIT and cffi parse them alike.
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
/* Copies the w x h pixels of src at (sx, sy) to dst at (dx, dy), clipped to both. */
void vs_frame_copy_region(vs_frame *dst, int dx, int dy, const vs_frame *src, int sx, int sy, int w, int h);
/* dst = a * (1 - weight) + b * weight per channel, weight in [0, 1]; all the same size (dst may be a or b). */
int vs_frame_mix(vs_frame *dst, const vs_frame *a, const vs_frame *b, double weight);
/* Multiplies every pixel's alpha by opacity in [0, 1]. */
void vs_frame_mul_alpha(vs_frame *frame, double opacity);

/* ---- drawing (draw.c): anti-aliased shapes blended "over" a frame ----
 * Coordinates are pixels (fractions allowed; pixel x covers [x, x+1)); colours straight RGBA. */
void vs_draw_rect(vs_frame *f, double x, double y, double w, double h, uint8_t r, uint8_t g, uint8_t b, uint8_t a);
void vs_draw_circle(vs_frame *f, double cx, double cy, double radius, uint8_t r, uint8_t g, uint8_t b, uint8_t a);
/* A segment `width` pixels thick with round caps. */
void vs_draw_line(vs_frame *f, double x0, double y0, double x1, double y1, double width, uint8_t r, uint8_t g, uint8_t b, uint8_t a);
/* xy holds n points x0, y0, x1, y1, ...; non-zero winding. */
int vs_draw_polygon(vs_frame *f, const double *xy, int n, uint8_t r, uint8_t g, uint8_t b, uint8_t a);
/* Replaces every pixel by a linear gradient from colour c0 at (x0, y0) to c1 at (x1, y1) (RGBA arrays). */
void vs_draw_gradient(vs_frame *f, double x0, double y0, double x1, double y1, const uint8_t *c0, const uint8_t *c1);

/* ---- scaling (scale.c): separable bicubic, area-like when shrinking, premultiplied ---- */
int vs_frame_scale_into(vs_frame *dst, const vs_frame *src);
vs_frame *vs_frame_scaled(const vs_frame *src, int width, int height);
/* The same for many frames of one size: weights and buffers made once. */
typedef struct vs_scaler vs_scaler;
vs_scaler *vs_scaler_new(int src_width, int src_height, int dst_width, int dst_height);
int vs_scaler_run(vs_scaler *scaler, vs_frame *dst, const vs_frame *src);
void vs_scaler_free(vs_scaler *scaler);

/* ---- text (text.c): UTF-8 through FreeType, anti-aliased ---- */
typedef struct vs_font vs_font;
vs_font *vs_font_open(const char *path, double size_px);
void vs_font_close(vs_font *font);
int vs_font_line_height(const vs_font *font);
/* The text's box: widest line by (lines x line height), in pixels. */
int vs_text_measure(vs_font *font, const char *text, int *width, int *height);
/* Where each line of a text sits inside the text's box. */
typedef enum vs_text_align {
    VS_ALIGN_LEFT = 0,   /* lines start at the box's left edge */
    VS_ALIGN_CENTER = 1, /* lines are centred in the box */
    VS_ALIGN_RIGHT = 2   /* lines end at the box's right edge */
} vs_text_align;
/* Draws text with its box's top-left corner at (x, y). */
int vs_text_draw(vs_frame *frame, vs_font *font, const char *text, double x, double y, vs_text_align align, uint8_t r, uint8_t g, uint8_t b, uint8_t a);

/* ---- captions (captions.c, subtitle.c): SRT, WebVTT and ASS/SSA files through libass ----
 * SRT and VTT cues become libass events with millisecond timings and one
 * style (below); ASS/SSA scripts keep their own styles (the style here is
 * not applied to them). A caption set renders at one frame size and
 * belongs to one thread at a time (libass renderers are not thread-safe):
 * each render worker opens its own. Fonts come from fontconfig, with
 * libass's fallback for glyphs the font lacks. */
typedef enum vs_caption_position {
    VS_CAPTION_BOTTOM = 0, /* bottom centre, margin above the bottom edge */
    VS_CAPTION_TOP = 1,    /* top centre, margin below the top edge */
    VS_CAPTION_MIDDLE = 2  /* centred in the frame */
} vs_caption_position;
typedef struct vs_caption_style {
    const char *font;          /* fontconfig family; NULL: "sans-serif" */
    double size;               /* font size in pixels; 0: height / 18 */
    uint8_t color[4];          /* text RGBA; white */
    uint8_t outline_color[4];  /* outline RGBA; black */
    double outline;            /* outline width in pixels; -1: size / 20 */
    double margin;             /* pixels kept clear from the frame's edges; -1: height / 20 */
    vs_caption_position position;
    int bold, italic;          /* 1: bold or italic text */
} vs_caption_style;
void vs_caption_style_init(vs_caption_style *style);
typedef struct vs_captions vs_captions;
/* Reads path (format from the extension, else from its first line);
 * errors name the file and the line. style NULL: the defaults. */
vs_captions *vs_captions_open(const char *path, int width, int height, const vs_caption_style *style);
/* Composites the captions shown at time ms (a cue from s to e shows for
 * s <= ms < e) "over" frame, which has the size given to open. */
int vs_captions_draw(vs_captions *captions, vs_frame *frame, int64_t ms);
/* The end of the last cue in milliseconds, and the number of cues. */
int64_t vs_captions_end(const vs_captions *captions);
/* Reads and parses path as open does: 0, or -1 with the error (file:line),
 * so a command names a bad file before its workers each open one. */
int vs_captions_check(const char *path);
int vs_captions_count(const vs_captions *captions);
void vs_captions_close(vs_captions *captions);

/* ---- images (image.c): PNG via libpng, JPEG via libturbojpeg ---- */
vs_frame *vs_image_load(const char *path);
/* quality: JPEG quality 1..100 (0 means the default, 90); ignored for PNG. */
int vs_image_save(const vs_frame *frame, const char *path, int quality);

/* ---- frame folders (framelist.c): a folder's PNG/JPEG files in frame order ----
 * sort: "natural" (NULL too: f2 before f10), "name" (byte order) or a POSIX
 * extended regex with one capture group matching the frame number in the
 * file name (non-matching files are ignored). Non-image files, folders and
 * dot files are ignored and counted. vstudio convert and vs.dataset{} both
 * order folders with this. */
typedef struct vs_frame_list vs_frame_list;
vs_frame_list *vs_frame_list_open(const char *dir, const char *sort);
int64_t vs_frame_list_count(const vs_frame_list *list);
/* "DIR/NAME" of frame i (0-based), NULL when out of range. */
const char *vs_frame_list_path(const vs_frame_list *list, int64_t i);
int64_t vs_frame_list_ignored(const vs_frame_list *list);
/* Gaps and duplicates in the numbering as one line, or NULL when none. */
const char *vs_frame_list_warning(const vs_frame_list *list);
void vs_frame_list_free(vs_frame_list *list);
/* strcmp-like natural order of two names (digit runs as numbers). */
int vs_natural_compare(const char *a, const char *b);

/* ---- encoder (encode.c): frames to a file, a pipe or an image sequence ----
 * Writes a private temporary (.PATH.<pid>.<random>.part beside PATH, never
 * a symlink's target) and renames it to PATH in vs_encoder_close after an
 * fsync; any failure, vs_encoder_abort or an exit without closing removes
 * it. "-" is stdout and "pipe:N" file descriptor N (y4m unless format says
 * otherwise; no temporary, the fd is not closed); an existing device or
 * FIFO is written in place (y4m when it has no extension). Any other path
 * without extension (or ending in "/") is a directory for a PNG sequence
 * 000000.png, 000001.png, ... (from first_number); a file of the sequence
 * is never replaced, and a failed or aborted sequence removes its frames.
 * Colour: RGBA becomes YUV with BT.709 from 720 lines up, BT.601 below,
 * limited range, and the stream is tagged the same; formats without
 * alpha get the frame composited over black. Odd sizes with a
 * subsampled format are padded to even by repeating the edge (one note on
 * stderr unless quiet). One encoder is used by one thread at a time, except
 * for the picture functions below marked thread-safe. */
typedef struct vs_encoder vs_encoder;
typedef struct vs_encoder_options {
    const char *format;        /* NULL: from the extension; "mp4" "mkv" "webm" "mov" "avi" "gif" "webp" "apng"
                                  "y4m" "raw" "png" "jpg" */
    const char *codec;         /* NULL: from the format: libx264; libvpx-vp9 for webm, gif for gif (libimagequant
                                  palettes), libwebp_anim for webp, apng for apng; an encoder ("libx265") or format
                                  ("hevc") name; "prores" is prores_ks, ProRes 4444 with alpha */
    int fps_num, fps_den;      /* frame rate; 0/0 means 30/1 */
    int crf;                   /* -1: default (18 for x264); 0 is lossless */
    const char *preset;        /* NULL: "medium" for x264/x265, the codec's default otherwise */
    int64_t bit_rate;          /* bits/s; 0: rate control by crf */
    const char *pix_fmt;       /* NULL: yuv420p, or the codec's closest to RGBA if it has none */
    int alpha;                 /* 1: keep transparency: yuva420p for VP9 and WebP (rgba for PNG and APNG, pal8
                                  for GIF and yuva444p10le for ProRes have it anyway); a codec without is an error */
    int gop;                   /* keyframe interval; 0: codec default */
    const char *codec_options; /* "key=value:key=value" passed to the codec */
    const char *title;         /* metadata, NULL for none */
    const char *comment;
    const char *artist;
    int threads;               /* encoder threads; 0: the codec decides (x264: 1.5 x cores) */
    int quality;               /* JPEG sequence quality 1..100; 0: 90 */
    int quiet;                 /* 1: no notes on stderr (odd-size padding, ignored preset) */
    int no_pad_note;           /* 1: no odd-size padding note (the caller reports it, as convert per folder) */
    int64_t first_number;      /* image sequences: the first frame's number in its name (the clip frame) */
    int force;                 /* image sequences: 1 removes the folder's numbered images of the format first;
                                  0 refuses a folder where the first name exists */
    /* One piece of a render (vstudio run --frames A:B or --segment K/N),
     * recorded in the video's settings tag for vstudio concat; segment_total
     * 0: the whole clip, no record. */
    int segment_index, segment_count;       /* K/N of --segment; 0/0 for --frames */
    int64_t segment_first, segment_end;     /* frames [first, end) of the clip */
    int64_t segment_total;                  /* the clip's frames */
    uint64_t segment_render;                /* digest of the script, its arguments and the settings */
} vs_encoder_options;
void vs_encoder_options_init(vs_encoder_options *opts);
/* width x height: the size of every frame pushed; opts NULL: defaults.
 * Errors name the path and the reason (unknown codec, bad option...). */
vs_encoder *vs_encoder_open(const char *path, int width, int height, const vs_encoder_options *opts);
/* Converts and encodes one RGBA frame (the one-thread path). A frame of
 * another size fails naming the frame number and both sizes. After any
 * push error the encoder only accepts vs_encoder_abort/close (which fail). */
int vs_encoder_push(vs_encoder *enc, const vs_frame *frame);
/* Drains the codec (no lost tail frames), writes the trailer, fsyncs and
 * renames the temporary to PATH; frees enc, also on failure (then nothing
 * is left). */
int vs_encoder_close(vs_encoder *enc);
/* Gives up: removes the temporary (an image sequence's frames), frees enc.
 * Safe on NULL. */
void vs_encoder_abort(vs_encoder *enc);
/* Frames written so far. */
int64_t vs_encoder_frames(const vs_encoder *enc);

/* The parallel path: worker threads convert frames into pictures (the
 * encoder's own pixel format, padded size) and one thread pushes them in
 * order. vs_encoder_picture_get, vs_picture_from_rgba, vs_picture_plane and
 * vs_picture_release are thread-safe (each picture has its own swscale
 * context); the pool grows to the number of pictures in flight, so the
 * caller bounds memory by bounding how many it holds. Pictures belong to
 * their encoder: all are freed by vs_encoder_close/abort. */
typedef struct vs_picture vs_picture;
vs_picture *vs_encoder_picture_get(vs_encoder *enc);
/* Converts (RGBA -> YUV with the stream's matrix, edge-padding odd sizes);
 * rgba must have the size given to vs_encoder_open. About 2.4 ms at 720p.
 * For PNG/JPEG sequences this compresses and saves the image (to a hidden
 * file the push renames), so that work happens in the calling thread too. */
int vs_picture_from_rgba(vs_picture *pic, const vs_frame *rgba);
/* Plane i of a video or y4m picture in the encoder's pixel format,
 * writable, at the padded size (for yuv420p: plane 0 is w x h, planes 1
 * and 2 are w/2 x h/2, limited range); NULL past the last plane or for raw
 * and image sinks. */
uint8_t *vs_picture_plane(vs_picture *pic, int plane, int *linesize);
/* The encoder's pixel format name ("yuv420p", "rgba" for raw/image sinks)
 * and padded size, for callers that fill planes themselves. */
const char *vs_encoder_pix_fmt(const vs_encoder *enc, int *width, int *height);
/* Encodes pic as the next frame and returns it to the pool (also on error). */
int vs_encoder_push_picture(vs_encoder *enc, vs_picture *pic);
/* Returns an unused picture to the pool. Safe on NULL. */
void vs_picture_release(vs_picture *pic);

/* ---- render engine (render.c): a script's clip on every core ----
 * Every worker thread loads `script` into its own Lua state and takes the
 * clip it returns (or passes to vs.render). The first load is the script's
 * main run (vs.worker = false) unless script_ran says it happened already;
 * the other workers see vs.worker = true. Frames
 * are drawn in parallel, converted in the workers and encoded in order. */
/* What a render prints on stderr while it runs. */
typedef enum vs_progress_mode {
    VS_PROGRESS_AUTO = 0,  /* a bar when stderr is a terminal, else nothing */
    VS_PROGRESS_LINES = 1, /* periodic plain lines even when not a terminal */
    VS_PROGRESS_QUIET = 2  /* nothing: no bar, no notes, no summary */
} vs_progress_mode;
/* The most outputs one render writes (each frame drawn once for all). */
enum { VS_MAX_OUTPUTS = 8 };
typedef struct vs_render_options {
    const char *script;         /* the script every worker loads */
    int script_ran;             /* 1: its main run happened outside (vs.render from a script) */
    const char **args;          /* its `arg` table (arg[1..n_args]) */
    int n_args;
    int64_t first, end;         /* frames [first, end); end -1: to the clip's end */
    int segment_index;          /* with segment_count > 0: render the K-th (1-based) of N */
    int segment_count;          /*   equal parts instead of first/end */
    int workers;                /* 0: decided from the cores and a measurement */
    const char **outputs;       /* one encoder per output (at most VS_MAX_OUTPUTS) */
    const char **formats;       /* per output, NULL entries: from the path */
    int n_outputs;
    vs_encoder_options encoder; /* shared settings (format comes from formats[]) */
    vs_progress_mode progress;  /* VS_PROGRESS_AUTO by default */
    int check;                  /* 1: only check that frames are a pure function of t */
    int summary;                /* print the end-of-render summary on stderr */
    int default_output;         /* outputs[0] is the command's default (SCRIPT.mp4), not asked for: an
                                   existing file there is kept unless force, and a script that returns
                                   no clip just runs (a job: 0, nothing written) */
    int force;                  /* replace the default output; image sequences: remove earlier frames */
    const char *captions;       /* a caption file (SRT, VTT, ASS) burnt onto the clip, NULL for none */
} vs_render_options;
void vs_render_options_init(vs_render_options *opts);
/* Returns 0, -1 on failure (vs_last_error: script file:line, frame, why),
 * or 130/143 when SIGINT/SIGTERM stopped it (no output left behind). In
 * the engine's Lua states os.exit raises an error, os.execute can be
 * interrupted, and with an output on stdout print and io.stdout write to
 * stderr. */
int vs_render(const vs_render_options *opts);

/* ---- probe (probe.c, cache.c): metadata with an exact frame count ----
 * frames is counted from the demuxed packets (no decoding) and equals
 * `ffprobe -count_frames` (see probe.c for the rare streams where it
 * cannot); fps is the stream's base rate (ffprobe's r_frame_rate) and
 * duration = frames * fps_den / fps_num. Results are kept in an SQLite
 * cache ($XDG_CACHE_HOME/vstudio/probe.db) keyed by absolute path, size,
 * mtime and inode. Thread-safe: each thread uses its own cache connection. */
typedef struct vs_probe_info {
    int width, height;
    int fps_num, fps_den;
    int64_t frames;            /* exact, as ffprobe -count_frames */
    double duration;           /* seconds: frames / fps */
    int64_t bit_rate;          /* bits/s of the video stream (else the file), 0 if unknown */
    char codec[32];            /* "h264", "hevc", "vp9", "mpeg4", ... */
    char pix_fmt[32];          /* "yuv420p", ... */
    char container[32];        /* "mp4", "webm", "matroska", "avi", ... */
    int vfr;                   /* 1: variable frame rate (the gaps between timestamps differ):
                                * duration is the timestamps' span, fps the base rate */
} vs_probe_info;
/* use_cache: 1 to read/write the SQLite probe cache, 0 to bypass it. */
int vs_probe(const char *path, int use_cache, vs_probe_info *info);

/* ---- decoder (decode.c): sequential and frame-exact random access to RGBA ----
 * Decoders share no mutable state: different decoders may run in different
 * threads at once (vs_decoder_open and vs_probe are thread-safe); a single
 * decoder must be used by one thread at a time. */
typedef struct vs_decoder vs_decoder;
/* threads: libavcodec decoding threads, 0 = auto (frame + slice threads), 1 = single-threaded. */
vs_decoder *vs_decoder_open(const char *path, int threads);
/* Size, rate and exact frame count (from the probe cache when it has them). */
int vs_decoder_info(const vs_decoder *dec, vs_probe_info *info);
/* Decodes the next frame into out (sized to the video); returns 0, 1 at the end, -1 on error. */
int vs_decoder_next(vs_decoder *dec, vs_frame *out);
/* Frame index (0-based) into out, equal to the index-th frame of a sequential decode.
 * Decodes forward without seeking when index is at or a little past the
 * current position; a few recent frames are kept for nearby requests.
 * After it, vs_decoder_next continues from the decoder's position, which
 * is index + 1 unless the frame came from the recent-frame ring. */
int vs_decoder_frame(vs_decoder *dec, int64_t index, vs_frame *out);
/* The frame shown `seconds` after the first: in a VFR video (probe's vfr)
 * the last frame whose timestamp is at or before it, else frame
 * floor(seconds * fps); past the end, the last frame. */
int vs_decoder_index_at(const vs_decoder *dec, double seconds, int64_t *index);
void vs_decoder_close(vs_decoder *dec);
/* A handle on the process's one decoder for (path, threads), opened on first
 * use and closed with its last handle: the render engine's workers open the
 * same videos, and this way each frame is decoded once, not once per worker.
 * Handles may be used from different threads at once (the core decoder
 * works under a lock; each handle converts to RGBA itself); the same calls
 * as a decoder, each handle with its own vs_decoder_next position. */
vs_decoder *vs_decoder_open_shared(const char *path, int threads);

/* ---- parsing (parse.c): the CLI's and the Lua API's shared parsers ---- */
/* "A:B" (frames A..B-1), "A:" (A to the end: *end = -1), ":B", or "A" (one
 * frame). Frames are 0-based and non-negative; B > A. */
int vs_parse_frame_range(const char *text, int64_t *first, int64_t *end);
/* "30", "30000/1001" (exact) or a decimal: the NTSC rates written as decimals
 * ("23.976", "29.97", "59.94", or 30000/1001 printed by Lua as "29.97002997003")
 * become k*1000/1001, other decimals the nearest fraction with a denominator up
 * to 1001 ("12.5" is 25/2). Must be positive. The Lua API parses rates here too. */
int vs_parse_rational(const char *text, int *num, int *den);

/* ---- concat (concat.c): join segments by stream copy, no re-encode ----
 * Joins the first video stream of each part in order with continuous
 * timestamps; refuses (naming the first difference) parts whose codec,
 * size, pixel format, frame rate, colour tags or encoder settings differ.
 * Writes a private temporary (as the encoder does) and renames it to OUT
 * at the end; nothing on failure. */
typedef struct vs_concat_result {
    int64_t frames;
    double duration;           /* seconds */
    int64_t bytes;             /* size of OUT */
    int dropped_streams;       /* non-video streams left out, over all parts */
} vs_concat_result;
/* result may be NULL. */
int vs_concat(const char *out, const char *const *parts, int n_parts, vs_concat_result *result);

/* ---- dataset (dataset.c, npy.c): frames of many videos and image folders in batches ----
 * A source is a video file or a folder whose images are its frames (sorted
 * as `vstudio convert` sorts them). Worker threads decode the sources and
 * the caller takes batches; see dataset.c for the order and the shard rule. */
typedef struct vs_dataset vs_dataset;
typedef struct vs_dataset_options {
    int batch;                 /* frames per batch, >= 1 */
    int workers;               /* decoding threads; 0: one per CPU core */
    int width, height;         /* resize to this size; 0, 0 keeps the (cropped) source size */
    int crop_x, crop_y, crop_w, crop_h; /* crop in source pixels before resizing; crop_w 0: none */
    int gray;                  /* 1: R = G = B = luma (BT.601), alpha 255 */
    int every;                 /* keep every N-th frame of each source's range, >= 1 */
    int64_t first, end;        /* range of each source: frames first..end-1; end -1: to the end */
    int shard_index, shard_count; /* this process's part, 0-based: 0 <= index < count */
    int skip_errors;           /* 1: a failing source is skipped and reported, 0: stops with an error */
    const char *sort;          /* image order in folders: "natural" (default), "name" or a regex (vs_frame_list_open) */
    int lanes;                 /* sources decoded side by side, which fixes the batch order
                                * whatever the workers (see dataset.c); 0: 8, at most 256 */
    int resize;                /* how width x height takes another aspect ratio: VS_DATASET_STRETCH
                                * (default), VS_DATASET_FIT (inside, black bars) or VS_DATASET_FILL
                                * (covering, the centre kept), as `convert --resize` */
    /* Clips: clip_length > 1 makes each sample clip_length frames, frames
     * start, start + clip_step, ... of a source, the starts clip_stride
     * apart from the range's first frame (0: clip_length * clip_step, no
     * overlap). Counts, shards and batches are then in clips; every must be
     * 1; no map, skip_errors or npy export. */
    int clip_length, clip_stride, clip_step;
} vs_dataset_options;
enum { VS_DATASET_STRETCH = 0, VS_DATASET_FIT = 1, VS_DATASET_FILL = 2 };
void vs_dataset_options_init(vs_dataset_options *opts);
vs_dataset *vs_dataset_new(const vs_dataset_options *opts);
/* What is at a path (stat follows symlinks). */
typedef enum vs_path_kind {
    VS_PATH_MISSING = 0, /* nothing, or stat failed */
    VS_PATH_FILE = 1,    /* anything but a directory: a video, a device, a FIFO */
    VS_PATH_DIR = 2      /* a directory: a frame folder */
} vs_path_kind;
vs_path_kind vs_dataset_path_kind(const char *path);
/* Adds a source; its frame count comes from the probe cache (videos) or
 * the folder listing, nothing is decoded. first, end: this source's range
 * (frames first..end-1, end -1: to the end); first -1: the options' range. */
int vs_dataset_add(vs_dataset *ds, const char *path, int64_t first, int64_t end);
/* Probes the video files among paths on up to `threads` threads to fill
 * the probe cache before the adds (which then hit it); errors are left
 * for vs_dataset_add to report. */
int vs_dataset_prefetch(const char *const *paths, int n, int threads);
/* A seeded order of n sources (order[k]: which to add k-th), the same for a
 * seed everywhere: vs.dataset{shuffle = seed} and Python's shuffle= add
 * their paths in this order. */
void vs_dataset_shuffle(int n, uint64_t seed, int32_t *order);
int vs_dataset_sources(const vs_dataset *ds);
/* The file frame `index` of source `source` (add order among the added) is
 * read from: the image's "DIR/NAME" for a folder, the path for a video;
 * NULL when out of range. */
const char *vs_dataset_file(const vs_dataset *ds, int source, int64_t index);
/* Frames of this shard after range and stride: what a full iteration yields. */
int64_t vs_dataset_count(const vs_dataset *ds);
/* The plan of a run over this many lanes (0: the options' lanes):
 * lane_of[s] is the lane (0-based) decoding source s, -1 when source s
 * has no frames in this shard; returns the number of lanes used. */
int vs_dataset_plan(vs_dataset *ds, int lanes, int32_t *lane_of);
/* Starts the workers (stopping a previous run); 0 workers: the options'
 * count. The batches are the same for any number of workers. */
int vs_dataset_start(vs_dataset *ds, int workers);
/* The next batch: up to opts.batch frames (opts.batch clips of clip_length
 * frames with clips, a clip's frames one after another); returns the count
 * of frames, 0 at the end, -1 on an error (the frames before it come first,
 * as a short batch, which may end inside a clip).
 * Frames belong to the dataset and stay valid (same pointers, same pixels)
 * until the next call; sources index the add order. */
int vs_dataset_next(vs_dataset *ds, vs_frame **frames, int32_t *sources, int64_t *indices);
void vs_dataset_stop(vs_dataset *ds);
/* Images, or the rest of videos, skipped under skip_errors in the last run, in source order. */
int vs_dataset_skipped(const vs_dataset *ds);
const char *vs_dataset_skipped_message(const vs_dataset *ds, int k);
/* Runs a Lua function (bytecode from string.dump) on every frame of the
 * shard, each worker in its own Lua state; results are kept per frame in
 * the dataset's order (sources in add order, then frame index). */
int vs_dataset_map(vs_dataset *ds, const char *chunk, size_t len, int workers);
/* Result k (0-based, < count) of the last map: encoded value, NULL if the
 * frame was skipped; source and index of that frame. */
const char *vs_dataset_map_result(const vs_dataset *ds, int64_t k, size_t *len, int32_t *source,
                                  int64_t *index);
void vs_dataset_free(vs_dataset *ds);
/* The order of an array's axes. */
typedef enum vs_npy_layout {
    VS_NPY_NHWC = 0, /* frames x rows x columns x channels (NumPy and PIL images) */
    VS_NPY_NCHW = 1  /* frames x channels x rows x columns (PyTorch) */
} vs_npy_layout;
/* The type of an array's elements. */
typedef enum vs_npy_dtype {
    VS_NPY_UINT8 = 0,  /* the 8-bit values as they are */
    VS_NPY_FLOAT32 = 1 /* value / 255, in [0, 1] */
} vs_npy_dtype;
/* One .npy (format 1.0) of n frames of one size; channels 3 (RGB) or 1
 * (the R channel, for gray). */
int vs_npy_write(const char *path, vs_frame *const *frames, int n, vs_npy_layout layout,
                 vs_npy_dtype dtype, int channels);
/* Writes size bytes as path through a private temporary fsync'd and
 * renamed over it, as every output is: never a half file, never through
 * a symlink planted at the path; errors name path. save_npy's index.csv. */
int vs_file_write(const char *path, const void *data, size_t size);
/* The same array in memory: n frames of one size packed into out (out_size
 * bytes, exactly what they need); channels 1, 3 or 4 (RGBA). Thread-safe. */
int vs_frames_pack(vs_frame *const *frames, int n, vs_npy_layout layout, vs_npy_dtype dtype,
                   int channels, void *out, size_t out_size);

#endif
