/*
 * captions.c: caption files drawn onto RGBA frames by libass.
 *
 * An SRT or WebVTT file is parsed by subtitle.c; its cues become events of
 * an ASS track made here, with millisecond Start and Duration (an ASS
 * script's own times are centiseconds: building the events directly keeps
 * the file's exact times) and one style, "Default", from vs_caption_style:
 * PlayResX/Y are the frame size, so the style's sizes are pixels. An
 * ASS/SSA file goes to libass as it is and keeps its own styles.
 *
 * Drawing asks libass for the images at the frame's time (coverage masks
 * with a colour, shadow then outline then text) and blends each "over" the
 * straight-alpha frame; on a transparent frame (vs.captions' own clip) the
 * result is a straight-alpha image that composites like any other.
 *
 * libass renderers are not thread-safe, so each vs_captions has its own
 * library, renderer and track and one thread uses it at a time: every
 * render worker opens its own (the Lua clip is rebuilt in each worker's
 * state; convert opens one per decode thread). Opening costs a fontconfig
 * set-up of a few milliseconds; drawing reuses libass's glyph caches.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ass/ass.h>

#include "error.h"
#include "subtitle.h"
#include "vstudio.h"

/* Caption files larger than this are not captions. */
#define MAX_CAPTION_FILE (64 << 20)

struct vs_captions {
    ASS_Library *library;
    ASS_Renderer *renderer;
    ASS_Track *track;
    int width, height;
    int64_t end_ms;
};

void vs_caption_style_init(vs_caption_style *s)
{
    memset(s, 0, sizeof *s);
    memset(s->color, 255, 4);
    s->outline_color[3] = 255;
    s->outline = -1;
    s->margin = -1;
}

/* libass's notes (font fallbacks, unknown tags) are not the user's business. */
static void quiet(int level, const char *fmt, va_list args, void *data)
{
    (void)level, (void)fmt, (void)args, (void)data;
}

static int read_file(const char *path, char **data, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return vs_fail("%s: cannot open: %s", path, strerror(errno));
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            char *b = cap <= MAX_CAPTION_FILE + 1 ? realloc(buf, cap + 1) : NULL;
            if (!b) {
                free(buf);
                fclose(f);
                return cap > MAX_CAPTION_FILE + 1 ? vs_fail("%s: larger than %d MB: not a caption file", path,
                                                            MAX_CAPTION_FILE >> 20)
                                                  : vs_fail("%s: out of memory", path);
            }
            buf = b;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return vs_fail("%s: cannot read", path);
    }
    buf[n] = '\0';
    *data = buf;
    *size = n;
    return 0;
}

/* &HAABBGGRR, AA transparency (00 opaque) */
static void ass_colour(char *out, size_t size, const uint8_t *rgba)
{
    snprintf(out, size, "&H%02X%02X%02X%02X", 255 - rgba[3], rgba[2], rgba[1], rgba[0]);
}

/* The script header with the Default style, in pixels of the frame. */
static int style_header(char *out, size_t size, int width, int height, const vs_caption_style *s)
{
    const char *font = s->font && *s->font ? s->font : "sans-serif";
    if (strpbrk(font, ",\n\r"))
        return vs_fail("captions: font '%s': a family name has no commas or line breaks", font);
    double px = s->size > 0 ? s->size : height / 18.0;
    double outline = s->outline >= 0 ? s->outline : px / 20.0;
    int margin = (int)lround(s->margin >= 0 ? s->margin : height / 20.0);
    int align = s->position == VS_CAPTION_TOP ? 8 : s->position == VS_CAPTION_MIDDLE ? 5 : 2;
    char fill[16], edge[16];
    ass_colour(fill, sizeof fill, s->color);
    ass_colour(edge, sizeof edge, s->outline_color);
    int n = snprintf(out, size,
                     "[Script Info]\nScriptType: v4.00+\nPlayResX: %d\nPlayResY: %d\nWrapStyle: 0\n"
                     "ScaledBorderAndShadow: yes\nYCbCr Matrix: None\n\n[V4+ Styles]\n"
                     "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, "
                     "BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, "
                     "BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\n"
                     "Style: Default,%s,%.3f,%s,%s,%s,&H80000000,%d,%d,0,0,100,100,0,0,1,%.3f,0,%d,%d,%d,%d,1\n\n"
                     "[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n",
                     width, height, font, px, fill, fill, edge, s->bold ? -1 : 0, s->italic ? -1 : 0, outline, align,
                     margin, margin, margin);
    if (n < 0 || (size_t)n >= size)
        return vs_fail("captions: font name too long");
    return 0;
}

/* An ASS track from SRT/VTT cues, their times kept to the millisecond. */
static ASS_Track *cue_track(vs_captions *c, const vs_cue_list *cues, const vs_caption_style *style)
{
    char header[2048];
    if (style_header(header, sizeof header, c->width, c->height, style) < 0)
        return NULL;
    ASS_Track *track = ass_new_track(c->library);
    if (!track) {
        vs_fail("out of memory");
        return NULL;
    }
    ass_process_data(track, header, (int)strlen(header));
    int sid = track->n_styles - 1; /* ours, after libass's built-in default */
    for (int i = 0; i < cues->n; i++) {
        int id = ass_alloc_event(track);
        char *text = strdup(cues->cues[i].text);
        if (id < 0 || !text) {
            free(text);
            ass_free_track(track);
            vs_fail("out of memory");
            return NULL;
        }
        ASS_Event *ev = &track->events[id];
        ev->Start = cues->cues[i].start_ms;
        ev->Duration = cues->cues[i].end_ms - cues->cues[i].start_ms;
        ev->ReadOrder = i;
        ev->Style = sid;
        ev->Text = text;
    }
    return track;
}

static int load_track(vs_captions *c, const char *path, const vs_caption_style *style)
{
    char *data = NULL;
    size_t size = 0;
    if (read_file(path, &data, &size) < 0)
        return -1;
    vs_subtitle_format format = vs_subtitle_detect(path, data, size);
    if (format == VS_SUBTITLE_ASS) {
        c->track = ass_read_memory(c->library, data, size, NULL);
        free(data);
        if (!c->track)
            return vs_fail("%s: not an ASS/SSA script (libass cannot read it)", path);
        if (c->track->n_events == 0)
            return vs_fail("%s: no Dialogue lines in the [Events] section", path);
        return 0;
    }
    vs_cue_list cues;
    int rc = vs_subtitle_parse(data, size, format, path, &cues);
    free(data);
    if (rc < 0)
        return -1;
    if (cues.n == 0) {
        vs_cue_list_free(&cues);
        return vs_fail("%s: no cues in the file", path);
    }
    c->track = cue_track(c, &cues, style);
    vs_cue_list_free(&cues);
    return c->track ? 0 : -1;
}

vs_captions *vs_captions_open(const char *path, int width, int height, const vs_caption_style *style)
{
    vs_caption_style defaults;
    if (!style) {
        vs_caption_style_init(&defaults);
        style = &defaults;
    }
    if (width <= 0 || height <= 0 || width > 32768 || height > 32768) {
        vs_fail("%s: frame size %dx%d is out of range", path, width, height);
        return NULL;
    }
    vs_captions *c = calloc(1, sizeof *c);
    if (!c) {
        vs_fail("out of memory");
        return NULL;
    }
    c->width = width;
    c->height = height;
    if (!(c->library = ass_library_init())) {
        vs_fail("%s: cannot start libass", path);
        goto fail;
    }
    ass_set_message_cb(c->library, quiet, NULL);
    if (!(c->renderer = ass_renderer_init(c->library))) {
        vs_fail("%s: cannot start libass", path);
        goto fail;
    }
    if (load_track(c, path, style) < 0)
        goto fail;
    ass_set_frame_size(c->renderer, width, height);
    ass_set_storage_size(c->renderer, width, height);
    ass_set_fonts(c->renderer, NULL, "sans-serif", ASS_FONTPROVIDER_AUTODETECT, NULL, 1);
    for (int i = 0; i < c->track->n_events; i++) {
        int64_t end = c->track->events[i].Start + c->track->events[i].Duration;
        if (end > c->end_ms)
            c->end_ms = end;
    }
    return c;
fail:
    vs_captions_close(c);
    return NULL;
}

/* One libass image "over" the frame: coverage x colour's opacity. */
static void blend_image(vs_frame *f, const ASS_Image *img)
{
    unsigned r = img->color >> 24, g = (img->color >> 16) & 255, b = (img->color >> 8) & 255;
    unsigned opacity = 255 - (img->color & 255);
    for (int y = 0; y < img->h; y++) {
        int fy = img->dst_y + y;
        if (fy < 0 || fy >= f->height)
            continue;
        const uint8_t *m = img->bitmap + (size_t)y * img->stride;
        uint8_t *d = f->data + (size_t)fy * f->stride;
        for (int x = 0; x < img->w; x++) {
            int fx = img->dst_x + x;
            unsigned a = (m[x] * opacity + 127) / 255;
            if (a == 0 || fx < 0 || fx >= f->width)
                continue;
            uint8_t *p = d + (size_t)fx * 4;
            unsigned da = p[3];
            if (da == 255 || a == 255) {
                p[0] = (uint8_t)((r * a + p[0] * (255 - a) + 127) / 255);
                p[1] = (uint8_t)((g * a + p[1] * (255 - a) + 127) / 255);
                p[2] = (uint8_t)((b * a + p[2] * (255 - a) + 127) / 255);
                p[3] = (uint8_t)(a == 255 ? 255 : da);
                continue;
            }
            /* straight alpha: out_a = a + da (1 - a), colour weighted by its share */
            unsigned keep = da * (255 - a);          /* destination's weight x 255 */
            unsigned out = a * 255 + keep;           /* out_a x 255 */
            p[0] = (uint8_t)((r * a * 255 + p[0] * keep + out / 2) / out);
            p[1] = (uint8_t)((g * a * 255 + p[1] * keep + out / 2) / out);
            p[2] = (uint8_t)((b * a * 255 + p[2] * keep + out / 2) / out);
            p[3] = (uint8_t)((out + 127) / 255);
        }
    }
}

int vs_captions_draw(vs_captions *c, vs_frame *frame, int64_t ms)
{
    if (frame->width != c->width || frame->height != c->height)
        return vs_fail("captions: the frame is %dx%d, the captions were set up for %dx%d", frame->width,
                       frame->height, c->width, c->height);
    for (ASS_Image *img = ass_render_frame(c->renderer, c->track, (long long)ms, NULL); img; img = img->next)
        blend_image(frame, img);
    return 0;
}

int64_t vs_captions_end(const vs_captions *c) { return c->end_ms; }

int vs_captions_check(const char *path)
{
    vs_captions *c = vs_captions_open(path, 64, 64, NULL);
    vs_captions_close(c);
    return c ? 0 : -1;
}

int vs_captions_count(const vs_captions *c) { return c->track ? c->track->n_events : 0; }

void vs_captions_close(vs_captions *c)
{
    if (!c)
        return;
    if (c->track)
        ass_free_track(c->track);
    if (c->renderer)
        ass_renderer_done(c->renderer);
    if (c->library)
        ass_library_done(c->library);
    free(c);
}
