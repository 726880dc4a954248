/* test_image.c: image.c's header paths on a JPEG cut short, where a value
 * the decoder never wrote could pass for a size: vs_image_size (what
 * convert reports) and vs_image_load must fail and say "truncated". The
 * test runs itself under valgrind's memcheck when it is installed (not in
 * a sanitizer build), which sees a read of anything left uninitialised. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "image.h"
#include "vstudio.h"

static void under_valgrind(char **argv)
{
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    if (getenv("VSTUDIO_TEST_UNDER_VALGRIND") || access("/usr/bin/valgrind", X_OK) != 0)
        return;
    setenv("VSTUDIO_TEST_UNDER_VALGRIND", "1", 1);
    execl("/usr/bin/valgrind", "valgrind", "-q", "--error-exitcode=9", argv[0], (char *)NULL);
#else
    (void)argv;
#endif
}

int main(int argc, char **argv)
{
    (void)argc;
    under_valgrind(argv);
    const char *dir = check_tmpdir("test-image");
    if (!dir)
        return 1;
    char jpg[300];
    snprintf(jpg, sizeof jpg, "%s/cut.jpg", dir);
    vs_frame *f = vs_frame_new(64, 48);
    CHECK(f && vs_image_save(f, jpg, 90) == 0 && truncate(jpg, 30) == 0);
    vs_frame_free(f);
    int w = -1, h = -1;
    CHECK(vs_image_size(jpg, &w, &h) == -1 && w == -1 && h == -1);
    CHECK(strstr(vs_last_error(), "truncated JPEG") != NULL);
    CHECK(vs_image_load(jpg) == NULL && strstr(vs_last_error(), "truncated JPEG") != NULL);
    return check_status();
}
