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

/* A new frame is transparent black. A freed frame's pixels (from 256 KiB) are kept
 * a while (up to 16 buffers, 160 MiB, for the process) for the next frame of their size. */
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
/* A rectangle with corners rounded to `radius` pixels (at most half its shorter side). */
void vs_draw_rounded_rect(vs_frame *f, double x, double y, double w, double h, double radius, uint8_t r, uint8_t g, uint8_t b, uint8_t a);
/* A polyline through n points xy (x0, y0, x1, y1, ...), `width` pixels
 * thick, closed back to the first point or open with caps; joins as SVG's
 * stroke-linejoin (miter beyond miter_limit x half the width becomes bevel). */
typedef enum vs_line_join { VS_JOIN_MITER = 0, VS_JOIN_ROUND = 1, VS_JOIN_BEVEL = 2 } vs_line_join;
typedef enum vs_line_cap { VS_CAP_BUTT = 0, VS_CAP_ROUND = 1, VS_CAP_SQUARE = 2 } vs_line_cap;
int vs_draw_path(vs_frame *f, const double *xy, int n, int closed, double width, vs_line_join join, vs_line_cap cap, double miter_limit, uint8_t r, uint8_t g, uint8_t b, uint8_t a);
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

/* ---- fonts (font.c): by file or fontconfig name, with fallback faces ----
 * name: a font file's path, or a fontconfig name ("DejaVu Serif:bold",
 * "DejaVu Sans:weight=200"); NULL is "DejaVu Sans". A family that is not
 * installed is an error. A font is used by one thread at a time (its faces
 * are its own); characters it lacks come from the installed font fontconfig
 * ranks next that has them. */
typedef struct vs_font vs_font;
vs_font *vs_font_open(const char *name, double size_px);
void vs_font_close(vs_font *font);
int vs_font_line_height(const vs_font *font);
/* The file of the font's face number `face` (0: the font asked for, then
 * fallbacks in the order they were needed); NULL past the last. */
const char *vs_font_face_path(const vs_font *font, int face);

/* ---- text layout (text_layout.c): HarfBuzz shaping, FriBidi ordering, wrapping ----
 * A layout is a text's glyphs placed in its box (widest line by the lines'
 * height), shaped once and drawn any number of times. It borrows the font,
 * which must outlive it; like the font, one thread at a time. */
typedef enum vs_text_align {
    VS_ALIGN_LEFT = 0,   /* lines start at the box's left edge */
    VS_ALIGN_CENTER = 1, /* lines are centred in the box */
    VS_ALIGN_RIGHT = 2   /* lines end at the box's right edge */
} vs_text_align;
typedef enum vs_text_direction {
    VS_DIRECTION_AUTO = 0, /* each paragraph's from its first strong character (UAX #9) */
    VS_DIRECTION_LTR = 1,
    VS_DIRECTION_RTL = 2
} vs_text_direction;
typedef struct vs_text_options {
    vs_text_align align;
    vs_text_direction direction;
    double width;          /* wrap lines longer than this many pixels (0: only at '\n') */
    double line_spacing;   /* baseline to baseline, times the font's line height (0 means 1) */
    double letter_spacing; /* pixels added after each cluster */
} vs_text_options;
typedef struct vs_text_layout vs_text_layout;
vs_text_layout *vs_text_layout_new(vs_font *font, const char *text, const vs_text_options *opts);
void vs_text_layout_free(vs_text_layout *layout);
/* The box in pixels, and its number of lines. */
void vs_text_layout_size(const vs_text_layout *layout, int *width, int *height, int *lines);
/* One placed glyph: its id in its face, the byte of the text its cluster
 * starts at, x and baseline y from the box's top-left corner, advance (pixels). */
typedef struct vs_text_glyph {
    int glyph, cluster, face, line;
    double x, y, advance;
} vs_text_glyph;
/* Copies up to cap glyphs in drawing order (lines top to bottom, each left
 * to right); returns how many the layout has. */
int vs_text_layout_glyphs(const vs_text_layout *layout, vs_text_glyph *out, int cap);

/* ---- text drawing (text.c): FreeType rasterizes, stroker outlines ---- */
typedef struct vs_text_paint {
    uint8_t color[4];          /* fill, straight RGBA */
    double opacity;            /* the whole text's (fill, outline, shadow together), 0..1 */
    double outline;            /* stroke width in pixels around the glyphs (0: none) */
    uint8_t outline_color[4];
    double shadow_x, shadow_y; /* the shadow's offset in pixels */
    double shadow_blur;        /* its blur radius in pixels (0: sharp) */
    uint8_t shadow_color[4];   /* alpha 0: no shadow */
    int64_t reveal;            /* draw only clusters starting before this byte of the text (< 0: all) */
} vs_text_paint;
/* Draws the layout with its box's top-left corner at (x, y). */
int vs_text_draw(vs_frame *frame, vs_text_layout *layout, double x, double y, const vs_text_paint *paint);

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
    /* Sound (video files only; y4m, raw and image sinks refuse audio_rate > 0). */
    int audio_rate;            /* Hz; 0: no audio stream */
    int audio_channels;        /* 1..8 */
    const char *audio_codec;   /* NULL: aac (mp4, mov, avi), libopus (webm, mkv); flac in a segment
                                  (segment_total > 0) except webm (libopus) */
    int64_t audio_bit_rate;    /* bits/s; 0: the codec's default */
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
/* Appends n interleaved float samples (audio_channels each, [-1, 1]: more
 * is clipped by integer codecs) to the audio stream; from one thread at a
 * time, any amounts. The encoder cuts them into the codec's frames (pts
 * in samples from 0) and the muxer interleaves them with the picture;
 * vs_encoder_close sends the last, short frame: the file holds exactly the
 * samples pushed. For sync, push samples(end) - samples(first) in all, with
 * samples(k) = floor(k * audio_rate * fps_den / fps_num). Fails without an
 * audio stream (audio_rate 0). */
int vs_encoder_push_audio(vs_encoder *enc, const float *samples, int64_t n);
/* Samples pushed so far. */
int64_t vs_encoder_audio_samples(const vs_encoder *enc);

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
/* The same from RGB rows without alpha, `stride` bytes apart, of the size
 * given to vs_encoder_open (numpy's (H, W, 3) arrays as they lie in
 * memory): bytes, or floats in [0, 1] (clipped, rounded to the nearest,
 * ties to even, as numpy.rint in float32). 4:2:0 streams are converted
 * from the rows in one pass; other formats through an RGBA copy. */
int vs_picture_from_rgb(vs_picture *pic, const uint8_t *rgb, size_t stride);
int vs_picture_from_rgb_float(vs_picture *pic, const float *rgb, size_t stride);
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

/* ---- sound files (encode_audio.c): interleaved float samples to a sound file ----
 * The codec follows the extension unless given: .wav 16-bit PCM, .flac
 * FLAC, .mp3 MP3 (libmp3lame), .m4a/.aac AAC, .opus/.ogg/.mka Opus (48 kHz
 * only). Written to a private temporary renamed to path at close (nothing
 * on failure or abort), the exact samples pushed. One thread at a time. */
typedef struct vs_audio_writer vs_audio_writer;
/* codec NULL: by extension; bit_rate 0: the codec's default. */
vs_audio_writer *vs_audio_writer_open(const char *path, int rate, int channels, const char *codec,
                                      int64_t bit_rate);
int vs_audio_writer_push(vs_audio_writer *w, const float *samples, int64_t n);
/* Finishes, renames and frees (also on failure). */
int vs_audio_writer_close(vs_audio_writer *w);
void vs_audio_writer_abort(vs_audio_writer *w);

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
    int no_audio;               /* 1: no sound even when the clip has some; else a clip with sound gets
                                   an audio stream (at encoder.audio_rate, 0: 48000 Hz, and
                                   encoder.audio_channels, 0: the sound's own, at most 8) in every
                                   output that can hold one */
    const char *captions;       /* a caption file (SRT, VTT, ASS) burnt onto the clip, NULL for none */
} vs_render_options;
void vs_render_options_init(vs_render_options *opts);
/* Returns 0, -1 on failure (vs_last_error: script file:line, frame, why),
 * or 130/143 when SIGINT/SIGTERM stopped it (no output left behind). In
 * the engine's Lua states os.exit raises an error, os.execute can be
 * interrupted, and with an output on stdout print and io.stdout write to
 * stderr. */
int vs_render(const vs_render_options *opts);

/* ---- sound (audio_graph.c): a clip's sound as a tree of nodes ----
 * lua/vstudio/audio.lua builds the tree for one output rate and channel count; samples are
 * interleaved float. Every node has an exact length in samples and reads any range: outside
 * [0, length) is silence. Reads are pure functions of the range (a segment gets the samples
 * the whole render has there). Constructors return NULL with vs_last_error(); a node holds a
 * reference to its inputs and vs_audio_free drops one. A tree is used by one thread at a time,
 * and its callbacks run in the Lua state that made them. Mixing sums in float, unclipped. */
typedef struct vs_audio vs_audio;
/* A Lua fill function: writes n samples (fill_channels interleaved, zeroed on entry) starting
 * at sample `first`, in aligned blocks of 4096; returns 0, or -1 when it failed. */
typedef int (*vs_audio_fill_fn)(float *buf, int64_t first, int64_t n);
/* A gain as a function of t (seconds), sampled every 32 samples; NaN when it failed. */
typedef double (*vs_audio_gain_fn)(double t);
/* Where picture frame k starts: floor(k * rate * fps_den / fps_num), exactly. */
int64_t vs_audio_frame_start(int64_t frame, int rate, int fps_num, int fps_den);
vs_audio *vs_audio_silence(int channels, int64_t length);
/* amplitude * sin(2 pi * cycles_per_sample * j) on every channel. */
vs_audio *vs_audio_tone(int channels, int64_t length, double cycles_per_sample, double amplitude);
vs_audio *vs_audio_fill(int channels, int fill_channels, int64_t length, vs_audio_fill_fn fill);
/* The first audio stream of a file at rate and channels (audio_source.c, opened now). */
vs_audio *vs_audio_file(const char *path, int rate, int channels);
/* Output j is input first + j (a negative first delays it; past the input's end, silence). */
vs_audio *vs_audio_cut(vs_audio *input, int64_t first, int64_t length);
/* Round r starts at floor(r * period_num / period_den) and plays the input from its start. */
vs_audio *vs_audio_loop(vs_audio *input, int64_t length, int64_t period_num, int64_t period_den);
vs_audio *vs_audio_reverse(vs_audio *input);
/* Output j is the input at j * ratio (tape: pitch follows), windowed sinc, band-limited. */
vs_audio *vs_audio_resample(vs_audio *input, double ratio, int64_t length);
/* Output j is the input near j * ratio at its own pitch (libavfilter's atempo); reads that do
 * not follow on restart the filter shortly before them (not sample-exact across a seek). */
vs_audio *vs_audio_tempo(vs_audio *input, int rate, double ratio, int64_t length);
/* Gain linear between (points[i], gains[i]), ascending points; constant before and after. */
vs_audio *vs_audio_envelope(vs_audio *input, const int64_t *points, const float *gains, int n);
vs_audio *vs_audio_gain_function(vs_audio *input, int rate, vs_audio_gain_fn fn);
/* The sum of inputs, input i starting at starts[i] (NULL: all at 0); same channels. */
vs_audio *vs_audio_mix(vs_audio *const *inputs, const int64_t *starts, int n, int64_t length);
int64_t vs_audio_length(const vs_audio *a);
int vs_audio_channels(const vs_audio *a);
/* Samples [first, first + n) into out (n * channels floats); 0 or -1. */
int vs_audio_read(vs_audio *a, int64_t first, int64_t n, float *out);
void vs_audio_free(vs_audio *a);

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
    /* Sound: the first audio stream (audio_streams 0: the file has none). */
    int audio_streams;         /* audio streams in the file */
    int audio_rate;            /* Hz, 0 when none */
    int audio_channels;
    char audio_codec[32];      /* "aac", "opus", "flac", ... ("" when none) */
    double audio_duration;     /* seconds (audio_samples / audio_rate when those are known) */
    int64_t audio_samples;     /* exact count of decoded samples (priming and padding cut) when
                                * cheap: MP4/MOV's edit list, or the packets' durations when the
                                * frame count read them; -1 unknown */
} vs_probe_info;
/* use_cache: 1 to read/write the SQLite probe cache, 0 to bypass it. */
int vs_probe(const char *path, int use_cache, vs_probe_info *info);
/* The sound of any file: a video as vs_probe (cached), or a file of sound
 * alone (wav, flac, mp3, m4a, opus; then only container and the audio_*
 * fields are set, width 0, and the packets are demuxed for the exact
 * count, not cached). Fails "<path>: has no audio stream" without sound. */
int vs_probe_audio(const char *path, int use_cache, vs_probe_info *info);

/* ---- decoder (decode.c): sequential and frame-exact random access to RGBA ----
 * Decoders share no mutable state: different decoders may run in different
 * threads at once (vs_decoder_open and vs_probe are thread-safe); a single
 * decoder must be used by one thread at a time. */
typedef struct vs_decoder vs_decoder;
/* threads: libavcodec decoding threads, 0 = auto (frame + slice threads), 1 = single-threaded. */
vs_decoder *vs_decoder_open(const char *path, int threads);
/* Size, rate and exact frame count (from the probe cache when it has them). */
int vs_decoder_info(const vs_decoder *dec, vs_probe_info *info);
/* Decodes the next frame into out (sized to the video, or to any other size
 * to have it scaled, bicubic, in the same conversion to RGBA); returns 0, 1
 * at the end, -1 on error. */
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
/* What a decoder has done since it opened (a handle: its shared core):
 * frames the codec delivered, seeks (reopens at the start included),
 * decoding positions opened (a video read at several places keeps a few,
 * each decoding forward) and open now (one idle for 128 decoded frames is
 * closed), and decoded frames its ring of recent frames holds now and held
 * at most (8 for a decoder, 64 for a shared core, whatever the positions). */
typedef struct vs_decoder_stats {
    int64_t decoded, seeks, cursors, open;
    int64_t held, held_most;
} vs_decoder_stats;
int vs_decoder_get_stats(const vs_decoder *dec, vs_decoder_stats *stats);

/* ---- audio sources (audio_source.c): a file's sound by sample number ----
 * The first audio stream of any file libav reads (wav, flac, mp3, aac, opus,
 * the sound of a video), decoded and converted with libswresample to
 * interleaved float at `rate` Hz and `channels` channels (1..8, or 0: the
 * file's own, as vs_sound_channels keeps it; a mono source is copied to
 * every channel at full level, other layouts are remixed into vstudio's
 * for the count: 3.0, quad, 5.0, 5.1, 6.1, 7.1). Opening decodes the
 * stream once to count it: the length is exact (encoder priming and
 * padding removed, as the file's edit list or skip data says), and a
 * corrupt or cut stream fails there, naming the file and the time ("has no
 * audio stream" for a file without one). Reads are random access and
 * sample-exact (sample i is the i-th of a decode from the start; after a
 * seek, codecs that synthesize noise, as AAC's PNS, draw other noise:
 * about -80 dB) through a cache of a few blocks: memory does not grow
 * with the file. One source is
 * used by one thread at a time; different sources are independent. */
typedef struct vs_audio_source vs_audio_source;
/* The most channels vstudio's sound carries: what the default encoders all take. */
enum { VS_MAX_CHANNELS = 8 };
/* The channels vstudio keeps of a sound that has `own`: at most VS_MAX_CHANNELS (wider sound
 * is remixed to 7.1), and 2 when the file does not say (own < 1). */
int vs_sound_channels(int own);
vs_audio_source *vs_audio_source_open(const char *path, int rate, int channels);
/* Its channels: as opened, or (opened with 0) vs_sound_channels of the file's own. */
int vs_audio_source_channels(const vs_audio_source *src);
/* Samples (per channel) at the source's rate. */
int64_t vs_audio_source_length(const vs_audio_source *src);
/* Samples [first, first + n) into out (n * channels floats); samples
 * before 0 or past the length are silence. 0, or -1 naming file and time. */
int vs_audio_source_read(vs_audio_source *src, int64_t first, int64_t n, float *out);
void vs_audio_source_close(vs_audio_source *src);

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
 * The parts' sound (first audio stream: all parts have one or none) is
 * decoded, joined without gaps and encoded once (AAC for MP4/MOV, Opus for
 * WebM/MKV); see concat.c. Writes a private temporary (as the encoder
 * does) and renames it to OUT at the end; nothing on failure. */
typedef struct vs_concat_result {
    int64_t frames;
    double duration;           /* seconds */
    int64_t bytes;             /* size of OUT */
    int dropped_streams;       /* streams left out (data, second audio tracks), over all parts */
    int64_t audio_samples;     /* samples of joined sound, 0 without sound */
    int audio_rate;            /* their rate, 0 without sound */
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
     * overlap), all counted in the frames `every` keeps (every 2: step 1 is
     * every other frame). Counts, shards and batches are then in clips; no
     * map, skip_errors or npy export. */
    int clip_length, clip_stride, clip_step;
    /* Shuffled chunks: shuffle_chunk > 0 cuts every source into chunks of
     * that many samples and orders all the chunks by shuffle_seed (the same
     * order for a seed everywhere), which ordinals, shards, lanes and
     * batches then follow; 0: the sources whole, in add order. */
    int64_t shuffle_chunk;
    uint64_t shuffle_seed;
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
 * lane_of[s] is the lane (0-based) decoding source s (its first chunk
 * with shuffle_chunk), -1 when source s has no frames in this shard;
 * returns the number of lanes used. */
int vs_dataset_plan(vs_dataset *ds, int lanes, int32_t *lane_of);
/* Starts the workers (stopping a previous run); 0 workers: the options'
 * count. The batches are the same for any number of workers. */
int vs_dataset_start(vs_dataset *ds, int workers);
/* The next batch: up to opts.batch frames (opts.batch clips of clip_length
 * frames with clips, a clip's frames one after another); returns the count
 * of frames, 0 at the end, -1 on an error (the whole samples before it come
 * first, as a short batch).
 * Frames belong to the dataset and stay valid (same pointers, same pixels)
 * until the next call; sources index the add order. */
int vs_dataset_next(vs_dataset *ds, vs_frame **frames, int32_t *sources, int64_t *indices);
void vs_dataset_stop(vs_dataset *ds);
/* Images, or the rest of videos, skipped under skip_errors in the last run, in source order. */
int vs_dataset_skipped(const vs_dataset *ds);
const char *vs_dataset_skipped_message(const vs_dataset *ds, int k);
/* Runs a Lua function (bytecode from string.dump) on every frame of the
 * shard, each worker in its own Lua state; results are kept per frame in
 * the dataset's order (sources in add order, then frame index; with
 * shuffle_chunk, the chunks' order). */
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
/* Batches written by the workers straight into arrays (Python's Dataset,
 * save_npy): a run as vs_dataset_start's, but each frame goes, in `layout`
 * and `dtype`, with channels 3 (RGB), 4 (RGBA) or 1 (R: the luma of gray
 * frames), into its place in its batch's own array; nothing is copied after.
 * The frames of a run must have one size (the first frame's; give the
 * dataset a size for sources of several). */
int vs_dataset_start_arrays(vs_dataset *ds, int workers, vs_npy_layout layout, vs_npy_dtype dtype,
                            int channels);
enum { VS_DATASET_WAIT = -2 };
/* The next batch of an array run, as vs_dataset_next counts it; *array
 * (count frames of *width x *height) is the caller's, freed with
 * vs_dataset_array_free. With timeout_ms >= 0, VS_DATASET_WAIT when it
 * passed first: call again, nothing is lost (a host checks its signals
 * between the calls); -1 waits as long as it takes. */
int vs_dataset_next_array(vs_dataset *ds, int timeout_ms, void **array, int *width, int *height,
                          int32_t *sources, int64_t *indices);
void vs_dataset_array_free(void *array);
/* One .npy (format 1.0) of an array of n frames of width x height in
 * layout and dtype, channels 3 (RGB) or 1 (gray). */
int vs_npy_write(const char *path, const void *data, int n, int width, int height, vs_npy_layout layout,
                 vs_npy_dtype dtype, int channels);
/* Writes size bytes as path through a private temporary fsync'd and
 * renamed over it, as every output is: never a half file, never through
 * a symlink planted at the path; errors name path. save_npy's index.csv. */
int vs_file_write(const char *path, const void *data, size_t size);

#endif
