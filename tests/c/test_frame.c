/* test_frame.c: frame buffers (src/frame.c). A bunch of frames freed and
 * made again (vs.load in a loop, a dataset's batches) reuses the freed
 * memory instead of faulting fresh pages in, and a reused frame is as
 * blank as a new one; frames freed on another thread are reused too. */
#include <pthread.h>
#include <string.h>
#include <sys/resource.h>

#include "check.h"

enum { W = 1280, H = 720, BUNCH = 12 };

static long minor_faults(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

static int all_zero(const vs_frame *f)
{
    for (int y = 0; y < f->height; y++)
        for (int x = 0; x < f->width * 4; x++)
            if (f->data[(size_t)y * f->stride + x])
                return 0;
    return 1;
}

static void *free_bunch(void *arg)
{
    vs_frame **frames = arg;
    for (int i = 0; i < BUNCH; i++)
        vs_frame_free(frames[i]);
    return NULL;
}

int main(void)
{
    vs_frame *frames[BUNCH];
    for (int i = 0; i < BUNCH; i++) {
        frames[i] = vs_frame_new(W, H);
        vs_frame_fill(frames[i], 200, 100, 50, 255);
    }
    for (int i = 0; i < BUNCH; i++)
        vs_frame_free(frames[i]);

    /* 12 720p frames are 10800 pages: fresh memory would fault every one */
    long before = minor_faults();
    int blank = 1;
    for (int i = 0; i < BUNCH; i++) {
        frames[i] = vs_frame_new(W, H);
        blank &= frames[i] && all_zero(frames[i]);
        vs_frame_fill(frames[i], 1, 2, 3, 4);
    }
    long faults = minor_faults() - before;
    CHECK(blank);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    printf("# %ld page faults making %d frames again\n", faults, BUNCH);
    CHECK(faults < 1000);
#else
    (void)faults; /* the sanitizers' allocators fault on their own terms */
#endif

    /* freed by another thread (a dataset's reader), made again here */
    pthread_t t;
    CHECK(pthread_create(&t, NULL, free_bunch, frames) == 0);
    pthread_join(t, NULL);
    before = minor_faults();
    blank = 1;
    for (int i = 0; i < BUNCH; i++) {
        frames[i] = vs_frame_new(W, H);
        blank &= frames[i] && all_zero(frames[i]);
    }
    faults = minor_faults() - before;
    CHECK(blank);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    CHECK(faults < 1000);
#endif

    /* other sizes still get their own, blank, buffers */
    vs_frame *odd = vs_frame_new(33, 7);
    CHECK(odd && odd->width == 33 && odd->height == 7 && odd->stride == 192 && all_zero(odd));
    vs_frame_free(odd);
    for (int i = 0; i < BUNCH; i++)
        vs_frame_free(frames[i]);
    return check_status();
}
