/* test_text.c: fonts, layouts and drawing from several threads at once
 * (font.c's one shared part, fontconfig, sits behind a mutex; each thread's
 * fonts are its own), which must give each thread the same pixels a single
 * thread draws; and the layout's edge cases (empty text, empty lines,
 * malformed UTF-8, an unbreakable word). Run under TSan by `make tsan`. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "vstudio.h"

enum { THREADS = 4, W = 240, H = 120 };

/* Hebrew and Devanagari are not in DejaVu Serif: fallback faces are opened
 * (fontconfig, under its lock) by every thread */
static const char *const TEXT = "Serif ffi AV \xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d \xe0\xa4\x95\xe0\xa4\xbe wraps here";

/* Draws TEXT on a new frame; NULL on failure. */
static vs_frame *draw_text(void)
{
    vs_font *font = vs_font_open("DejaVu Serif", 24);
    if (!font)
        return NULL;
    vs_text_options o = {.align = VS_ALIGN_CENTER, .width = 200};
    vs_text_layout *l = vs_text_layout_new(font, TEXT, &o);
    vs_frame *f = vs_frame_new(W, H);
    vs_text_paint p = {.color = {255, 255, 255, 255}, .opacity = 1, .outline = 2, .outline_color = {255, 0, 0, 255},
                       .shadow_x = 2, .shadow_y = 2, .shadow_blur = 3, .shadow_color = {0, 0, 0, 200}, .reveal = -1};
    int ok = l && f && vs_text_draw(f, l, 10, 5, &p) == 0 && vs_text_draw(f, l, 10, 5, &p) == 0;
    vs_text_layout_free(l);
    vs_font_close(font);
    if (!ok) {
        vs_frame_free(f);
        return NULL;
    }
    return f;
}

static void *worker(void *arg)
{
    vs_frame **out = arg;
    for (int i = 0; i < 3; i++) { /* open, draw and close again: nothing kept between */
        vs_frame_free(*out);
        *out = draw_text();
    }
    return NULL;
}

static int lines_of(vs_font *font, const char *text, double width)
{
    vs_text_options o = {.width = width};
    vs_text_layout *l = vs_text_layout_new(font, text, &o);
    int n = -1;
    if (l)
        vs_text_layout_size(l, NULL, NULL, &n);
    vs_text_layout_free(l);
    return n;
}

int main(void)
{
    vs_frame *one = draw_text();
    CHECK(one != NULL);
    pthread_t th[THREADS];
    vs_frame *got[THREADS] = {0};
    for (int i = 0; i < THREADS; i++)
        CHECK(pthread_create(&th[i], NULL, worker, &got[i]) == 0);
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        CHECK(got[i] != NULL);
        CHECK(got[i] && one && memcmp(got[i]->data, one->data, (size_t)one->stride * H) == 0);
        vs_frame_free(got[i]);
    }
    long ink = 0;
    for (size_t i = 0; one && i < (size_t)one->stride * H; i += 4)
        ink += one->data[i] > 0;
    CHECK(ink > 500);
    vs_frame_free(one);

    vs_font *font = vs_font_open(NULL, 20);
    CHECK(font != NULL);
    CHECK(lines_of(font, "", 0) == 1);
    CHECK(lines_of(font, "\n\n", 0) == 3);
    CHECK(lines_of(font, "a\xff\xfe b\xc3", 0) == 1); /* malformed UTF-8 shows U+FFFD */
    CHECK(lines_of(font, "abcdefghijklmnopqrstuvwxyz", 30) > 3);
    CHECK(lines_of(font, "   ", 1) >= 1);
    vs_text_options bad = {.align = 7};
    CHECK(vs_text_layout_new(font, "x", &bad) == NULL);
    CHECK(strstr(vs_last_error(), "align") != NULL);
    CHECK(vs_font_open("No Such Family", 20) == NULL);
    CHECK(strstr(vs_last_error(), "font not found: No Such Family") != NULL);
    vs_font_close(font);
    return check_status();
}
