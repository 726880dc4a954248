/*
 * fuzz_text.c: lay out and draw arbitrary bytes as text: the first bytes
 * choose the options (wrap width, alignment, direction, letter spacing,
 * outline, shadow, reveal), the rest is the text. Malformed UTF-8, controls,
 * bidi marks and huge clusters must lay out and draw, never crash.
 */
#include <fontconfig/fontconfig.h>

#include "fuzz_common.h"
#include "vstudio.h"

static vs_font *font;

/* fontconfig keeps its configuration for the life of the process unless
 * told to let go: at exit, so that the leak check sees only our memory. */
static void close_font(void)
{
    vs_font_close(font);
    FcFini();
}

/* The font is opened once, before the inputs. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    if (!(font = vs_font_open("DejaVu Sans", 16)))
        abort();
    atexit(close_font);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4 || size > 4096)
        return 0;
    vs_text_options o = {.align = (vs_text_align)(data[0] % 3), .direction = (vs_text_direction)(data[0] / 3 % 3),
                         .width = data[1] % 4 ? data[1] : 0, .line_spacing = (data[2] & 7) / 2.0,
                         .letter_spacing = (data[2] >> 3) - 8};
    char *text = fuzz_text(data + 4, size - 4);
    if (!text)
        return 0;
    vs_text_layout *l = vs_text_layout_new(font, text, &o);
    if (l) {
        vs_frame *f = vs_frame_new(64, 48);
        vs_text_paint p = {.color = {255, 255, 255, 255}, .opacity = 1, .outline = data[3] & 3,
                           .shadow_x = (data[3] >> 2 & 7) - 4, .shadow_blur = data[3] >> 5,
                           .shadow_color = {0, 0, 0, (uint8_t)(data[3] & 0x80 ? 200 : 0)},
                           .reveal = (int64_t)(data[3] & 0x40 ? (size - 4) / 2 : -1)};
        if (f)
            vs_text_draw(f, l, -(double)(data[1] & 15), (double)(data[2] & 15), &p);
        vs_frame_free(f);
        vs_text_layout_free(l);
    }
    free(text);
    return 0;
}
