/* image.c: PNG and JPEG load/save (being written). */
#include "error.h"
#include "vstudio.h"

vs_frame *vs_image_load(const char *path)
{
    vs_fail("%s: image loading is not built yet", path);
    return NULL;
}

int vs_image_save(const vs_frame *frame, const char *path, int quality)
{
    (void)frame;
    (void)quality;
    return vs_fail("%s: image saving is not built yet", path);
}
