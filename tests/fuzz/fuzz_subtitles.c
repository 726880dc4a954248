/*
 * fuzz_subtitles.c: the SRT and WebVTT parser (subtitle.c) on arbitrary
 * bytes, both ways. It must never read past the data, leak, or return cues
 * whose times run backwards or whose text is missing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "subtitle.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int f = VS_SUBTITLE_SRT; f <= VS_SUBTITLE_VTT; f++) {
        /* an exact-size copy, so reading past the end is caught */
        char *copy = malloc(size ? size : 1);
        if (!copy)
            return 0;
        memcpy(copy, data, size);
        vs_cue_list cues;
        if (vs_subtitle_parse(copy, size, (vs_subtitle_format)f, "fuzz", &cues) == 0) {
            for (int i = 0; i < cues.n; i++)
                if (cues.cues[i].end_ms < cues.cues[i].start_ms || cues.cues[i].start_ms < 0 ||
                    !cues.cues[i].text || cues.cues[i].line < 1)
                    abort();
            vs_cue_list_free(&cues);
        }
        free(copy);
    }
    (void)vs_subtitle_detect("fuzz", (const char *)data, size);
    return 0;
}
