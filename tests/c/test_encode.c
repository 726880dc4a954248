/* test_encode.c: the encoder's parallel picture path as the render engine
 * and convert use it: worker threads take pictures from the pool and
 * convert RGBA into them while one thread pushes them in order. Run under
 * ThreadSanitizer by `make tsan`. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "vstudio.h"

enum { FRAMES = 24, WORKERS = 3, W = 67, H = 45 };

struct shared {
    vs_encoder *enc;
    vs_picture *slots[FRAMES];
    int ready[FRAMES];
    int errors;
    pthread_mutex_t lock;
    pthread_cond_t changed;
};

struct worker {
    struct shared *s;
    int index;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    struct shared *s = w->s;
    vs_frame *rgba = vs_frame_new(W, H);
    for (int i = w->index; i < FRAMES; i += WORKERS) {
        if (rgba)
            vs_frame_fill(rgba, (uint8_t)(i * 10), 80, 160, 255);
        vs_picture *pic = vs_encoder_picture_get(s->enc);
        int bad = !rgba || !pic || vs_picture_from_rgba(pic, rgba) < 0;
        pthread_mutex_lock(&s->lock);
        if (bad) {
            s->errors++;
            vs_picture_release(pic);
            pic = NULL;
        }
        s->slots[i] = pic;
        s->ready[i] = 1;
        pthread_cond_broadcast(&s->changed);
        pthread_mutex_unlock(&s->lock);
    }
    vs_frame_free(rgba);
    return NULL;
}

/* Encodes FRAMES frames to path through WORKERS converting threads. */
static int run(const char *path, const char *format)
{
    vs_encoder_options o;
    vs_encoder_options_init(&o);
    o.format = format;
    o.preset = format ? NULL : "ultrafast";
    o.quiet = 1;
    struct shared s = {0};
    pthread_mutex_init(&s.lock, NULL);
    pthread_cond_init(&s.changed, NULL);
    s.enc = vs_encoder_open(path, W, H, &o);
    if (!s.enc)
        return -1;
    pthread_t threads[WORKERS];
    struct worker workers[WORKERS];
    for (int t = 0; t < WORKERS; t++) {
        workers[t] = (struct worker){&s, t};
        pthread_create(&threads[t], NULL, work, &workers[t]);
    }
    int rc = 0;
    for (int i = 0; i < FRAMES; i++) {
        pthread_mutex_lock(&s.lock);
        while (!s.ready[i])
            pthread_cond_wait(&s.changed, &s.lock);
        vs_picture *pic = s.slots[i];
        pthread_mutex_unlock(&s.lock);
        if (!pic || vs_encoder_push_picture(s.enc, pic) < 0)
            rc = -1;
    }
    for (int t = 0; t < WORKERS; t++)
        pthread_join(threads[t], NULL);
    if (rc == 0 && (s.errors || vs_encoder_frames(s.enc) != FRAMES))
        rc = -1;
    if (rc == 0)
        rc = vs_encoder_close(s.enc);
    else
        vs_encoder_abort(s.enc);
    pthread_cond_destroy(&s.changed);
    pthread_mutex_destroy(&s.lock);
    return rc;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

int main(void)
{
    char dir[] = "/tmp/vstudio-test-encode.XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char path[256];

    snprintf(path, sizeof path, "%s/a.y4m", dir);
    CHECK(run(path, NULL) == 0);
    /* header + FRAMES x ("FRAME\n" + 68x46 luma + 2 x 34x23 chroma): padded to even */
    long header = (long)strlen("YUV4MPEG2 W68 H46 F30:1 Ip A1:1 C420jpeg XYSCSS=420JPEG XCOLORRANGE=LIMITED\n");
    CHECK(file_size(path) == header + FRAMES * (6 + 68 * 46 + 2 * 34 * 23));
    unlink(path);

    snprintf(path, sizeof path, "%s/a.mkv", dir);
    CHECK(run(path, NULL) == 0);
    CHECK(file_size(path) > 0);
    unlink(path);

    snprintf(path, sizeof path, "%s/a.rgba", dir);
    CHECK(run(path, "raw") == 0);
    CHECK(file_size(path) == (long)FRAMES * W * H * 4);
    unlink(path);

    /* a PNG sequence: the workers compress, the push renames in order */
    snprintf(path, sizeof path, "%s/seq", dir);
    CHECK(run(path, "png") == 0);
    int files = 0, hidden = 0;
    DIR *d = opendir(path);
    for (struct dirent *e; d && (e = readdir(d));) {
        if (e->d_name[0] == '.')
            hidden += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
        else
            files++;
    }
    if (d)
        closedir(d);
    CHECK(files == FRAMES && hidden == 0);
    char file[300];
    snprintf(file, sizeof file, "%s/%06d.png", path, FRAMES - 1);
    vs_frame *last = vs_image_load(file);
    CHECK(last && last->width == W && last->data[0] == (uint8_t)((FRAMES - 1) * 10));
    vs_frame_free(last);
    for (int i = 0; i < FRAMES; i++) {
        snprintf(file, sizeof file, "%s/%06d.png", path, i);
        unlink(file);
    }
    rmdir(path);

    /* a failure leaves neither the file nor its .part */
    snprintf(path, sizeof path, "%s/bad.mp4", dir);
    vs_encoder_options o;
    vs_encoder_options_init(&o);
    o.quiet = 1;
    o.codec = "no-such-codec";
    CHECK(vs_encoder_open(path, W, H, &o) == NULL);
    CHECK(strstr(vs_last_error(), "unknown video encoder 'no-such-codec'") != NULL);
    snprintf(path, sizeof path, "%s/bad.mp4.part", dir);
    CHECK(file_size(path) < 0);

    /* aborting with pictures still out in the pool frees everything */
    snprintf(path, sizeof path, "%s/ab.mp4", dir);
    vs_encoder_options_init(&o);
    o.quiet = 1;
    vs_encoder *enc = vs_encoder_open(path, W, H, &o);
    CHECK(enc != NULL);
    vs_picture *pic = vs_encoder_picture_get(enc);
    CHECK(pic != NULL);
    int ls = 0;
    CHECK(vs_picture_plane(pic, 0, &ls) != NULL && ls >= 68);
    vs_encoder_abort(enc);
    snprintf(path, sizeof path, "%s/ab.mp4.part", dir);
    CHECK(file_size(path) < 0);

    rmdir(dir);
    return check_status();
}
