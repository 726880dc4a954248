/*
 * fuzz_framelist.c: the frame-folder sorter. Natural order must be a total
 * order (antisymmetric, reflexive as equality) on arbitrary names, and the
 * regex sort must survive arbitrary patterns.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vstudio.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    if (!text)
        return 0;
    /* two names split at the first newline */
    char *b = strchr(text, '\n');
    if (b)
        *b++ = '\0';
    else
        b = text + size;
    int ab = vs_natural_compare(text, b), ba = vs_natural_compare(b, text);
    if ((ab < 0 && ba <= 0) || (ab > 0 && ba >= 0) || (ab == 0 && ba != 0))
        abort();
    if (vs_natural_compare(text, text) != 0)
        abort();
    /* the whole input as a sort pattern over an empty folder */
    mkdir("/tmp/vstudio-fuzz-empty", 0755);
    vs_frame_list *list = vs_frame_list_open("/tmp/vstudio-fuzz-empty", text);
    vs_frame_list_free(list);
    free(text);
    return 0;
}
