/*
 * fuzz_segment.c: the settings tag that vstudio writes into every video
 * (concat.h) on arbitrary text: the encoder settings and the segment record
 * are split apart without reading past the string, a record accepted is
 * consistent, and writing it back gives the same record.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "concat.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    if (!text)
        return 0;

    char settings[VS_SETTINGS_MAX + 1];
    vs_segment_record rec;
    int r = vs_settings_parse(text, settings, sizeof settings, &rec);
    if (r < -1 || r > 1 || strlen(settings) > VS_SETTINGS_MAX)
        abort();
    if (r == 1) {
        if (rec.first < 0 || rec.first >= rec.end || rec.end > rec.total)
            abort();
        if (rec.count > 0 && (rec.index < 1 || rec.index > rec.count))
            abort();
        char again[512] = "";
        vs_segment_format(again, sizeof again, &rec);
        char rest[VS_SETTINGS_MAX + 1];
        vs_segment_record back;
        if (vs_settings_parse(again, rest, sizeof rest, &back) != 1 || memcmp(&back, &rec, sizeof rec) != 0 ||
            rest[0] != '\0')
            abort();
    }
    free(text);
    return 0;
}
