/*
 * test_segment.c: the settings tag's segment record (concat.h), which
 * vstudio run writes into each part and vstudio concat reads back: written
 * words parse back to the same record, the encoder settings come apart
 * from it unchanged, and malformed or contradictory records are refused.
 */
#include <string.h>

#include "check.h"
#include "concat.h"

static const char SETTINGS[] = "codec=libx264 preset=medium crf=18 bitrate=0 gop=default pix_fmt=yuv420p options=none";

static int parses(const char *tag)
{
    char settings[VS_SETTINGS_MAX + 1];
    vs_segment_record rec;
    return vs_settings_parse(tag, settings, sizeof settings, &rec);
}

int main(void)
{
    /* round trip, with and without K/N */
    vs_segment_record recs[] = {{2, 4, 25, 50, 100, 0x0123456789abcdefULL}, {0, 0, 7, 19, 45, 42}};
    for (size_t i = 0; i < sizeof recs / sizeof *recs; i++) {
        char tag[VS_SETTINGS_MAX + 1];
        snprintf(tag, sizeof tag, "%s", SETTINGS);
        size_t n = vs_segment_format(tag, sizeof tag, &recs[i]);
        CHECK(n == strlen(tag));
        char settings[VS_SETTINGS_MAX + 1];
        vs_segment_record back;
        CHECK(vs_settings_parse(tag, settings, sizeof settings, &back) == 1);
        CHECK(memcmp(&back, &recs[i], sizeof back) == 0);
        CHECK(strcmp(settings, SETTINGS) == 0);
    }
    /* a whole render: settings only */
    char settings[VS_SETTINGS_MAX + 1];
    vs_segment_record rec;
    CHECK(vs_settings_parse(SETTINGS, settings, sizeof settings, &rec) == 0 && strcmp(settings, SETTINGS) == 0);
    /* the formatter says how long the tag would be when it does not fit */
    char small[16] = "codec=x";
    CHECK(vs_segment_format(small, sizeof small, &recs[0]) > sizeof small);
    /* malformed and contradictory records */
    const char *bad[] = {
        "crf=18 frames=25:50/100",                                 /* no render */
        "crf=18 render=0123456789abcdef",                          /* no frames */
        "frames=50:25/100 render=0123456789abcdef",                /* empty range */
        "frames=25:150/100 render=0123456789abcdef",               /* past the clip */
        "frames=25:50/100 render=0123456789abcdeg",                /* not hex */
        "frames=25:50/100 render=0123456789abcde",                 /* short digest */
        "frames=25:50/100 frames=25:50/100 render=0123456789abcdef", /* a word twice */
        "segment=3/4 frames=25:50/100 render=0123456789abcdef",    /* K/N names 50:75 */
        "segment=5/4 frames=25:50/100 render=0123456789abcdef",    /* K > N */
        "segment=2/4 frames=-1:50/100 render=0123456789abcdef",    /* a sign */
        "frames=1:2/1234567890123456789 render=0123456789abcdef",  /* 19 digits */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(parses(bad[i]) == -1);
    CHECK(parses("segment=2/4 frames=25:50/100 render=0123456789abcdef") == 1);
    return check_status();
}
