/*
 * fuzz_parse.c: the command line's small parsers (frame ranges, frame
 * rates) on arbitrary text. They must never read past the string, overflow,
 * or accept something they then misreport.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vstudio.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    if (!text)
        return 0;

    int64_t first, end;
    if (vs_parse_frame_range(text, &first, &end) == 0) {
        if (first < 0 || (end != -1 && end <= first))
            abort();
    }
    int num, den;
    if (vs_parse_rational(text, &num, &den) == 0) {
        if (num <= 0 || den <= 0)
            abort();
    }
    free(text);
    return 0;
}
