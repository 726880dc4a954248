/*
 * avio_fd.c: an AVIOContext on a descriptor (avio_fd.h).
 *
 * Writes go straight to the descriptor; seeks are lseek. The faststart
 * pass of the mp4 muxer reopens fmt->url for reading through fmt->io_open:
 * ours hands it a second context that preads the same descriptor at its
 * own position, and refuses every other open, so nothing is ever opened
 * by name. The muxer ignores a failing read there (it would write a file
 * with holes), so the error is kept and reported at detach.
 */
#include "avio_fd.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUFFER_SIZE 65536

#if LIBAVFORMAT_VERSION_MAJOR >= 61
#define AVIO_WRITE_CONST const
#else
#define AVIO_WRITE_CONST
#endif

struct descriptor {
    int fd;
    int read_error; /* of the read-back pass, which the muxer does not report */
};

struct reader {
    struct descriptor *d;
    struct descriptor own; /* d for a stand-alone reader (vs_avio_reader) */
    int seekable;          /* 0: a pipe or device, read in order */
    int64_t pos;
};

static int write_fd(void *opaque, AVIO_WRITE_CONST uint8_t *buf, int size)
{
    struct descriptor *d = opaque;
    for (int done = 0; done < size;) {
        ssize_t w = write(d->fd, buf + done, (size_t)(size - done));
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return AVERROR(errno);
        done += (int)w;
    }
    return size;
}

static int64_t file_size(int fd)
{
    struct stat st;
    return fstat(fd, &st) < 0 ? AVERROR(errno) : (int64_t)st.st_size;
}

static int64_t seek_fd(void *opaque, int64_t offset, int whence)
{
    struct descriptor *d = opaque;
    if (whence & AVSEEK_SIZE)
        return file_size(d->fd);
    off_t pos = lseek(d->fd, (off_t)offset, whence & ~AVSEEK_FORCE);
    return pos < 0 ? AVERROR(errno) : (int64_t)pos;
}

static int read_fd(void *opaque, uint8_t *buf, int size)
{
    struct reader *r = opaque;
    ssize_t n;
    do
        n = r->seekable ? pread(r->d->fd, buf, (size_t)size, (off_t)r->pos) : read(r->d->fd, buf, (size_t)size);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return r->d->read_error = AVERROR(errno);
    if (n == 0)
        return AVERROR_EOF;
    r->pos += n;
    return (int)n;
}

static int64_t seek_reader(void *opaque, int64_t offset, int whence)
{
    struct reader *r = opaque;
    if (whence & AVSEEK_SIZE)
        return file_size(r->d->fd);
    whence &= ~AVSEEK_FORCE;
    int64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? r->pos : file_size(r->d->fd);
    if (base < 0 || base + offset < 0)
        return AVERROR(EINVAL);
    return r->pos = base + offset;
}

static void free_context(AVIOContext **pb)
{
    if (!*pb)
        return;
    av_freep(&(*pb)->opaque);
    av_freep(&(*pb)->buffer);
    avio_context_free(pb);
}

/* A reading context on d (NULL: on fd, stand-alone) from its start. */
static int new_reader(struct descriptor *d, int fd, int seekable, AVIOContext **pb)
{
    struct reader *r = av_mallocz(sizeof *r);
    uint8_t *buf = av_malloc(BUFFER_SIZE);
    if (!r || !buf || !(*pb = avio_alloc_context(buf, BUFFER_SIZE, 0, r, read_fd, NULL, seekable ? seek_reader : NULL))) {
        av_free(r);
        av_free(buf);
        return AVERROR(ENOMEM);
    }
    r->own.fd = fd;
    r->d = d ? d : &r->own;
    r->seekable = seekable;
    return 0;
}

static int open_reader(AVFormatContext *s, AVIOContext **pb, const char *url, int flags, AVDictionary **options)
{
    (void)options;
    struct descriptor *d = s->pb ? s->pb->opaque : NULL;
    if (!d || (flags & AVIO_FLAG_WRITE) || !s->url || strcmp(url, s->url) != 0 || !(s->pb->seekable))
        return AVERROR(EPERM);
    return new_reader(d, d->fd, 1, pb);
}

int vs_avio_reader(int fd, int seekable, AVIOContext **pb)
{
    return new_reader(NULL, fd, seekable, pb);
}

int vs_avio_reader_fd(const AVIOContext *pb)
{
    return ((const struct reader *)pb->opaque)->d->fd;
}

void vs_avio_reader_free(AVIOContext **pb)
{
    free_context(pb);
}

static int close_reader(AVFormatContext *s, AVIOContext *pb)
{
    (void)s;
    free_context(&pb);
    return 0;
}

int vs_avio_attach(AVFormatContext *fmt, int fd, int seekable)
{
    struct descriptor *d = av_mallocz(sizeof *d);
    uint8_t *buf = av_malloc(BUFFER_SIZE);
    AVIOContext *pb = d && buf ? avio_alloc_context(buf, BUFFER_SIZE, 1, d, NULL, write_fd,
                                                    seekable ? seek_fd : NULL) : NULL;
    if (!pb) {
        av_free(d);
        av_free(buf);
        return AVERROR(ENOMEM);
    }
    d->fd = fd;
    fmt->pb = pb;
    fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
    fmt->io_open = open_reader;
    fmt->io_close2 = close_reader;
    return 0;
}

int vs_avio_detach(AVFormatContext *fmt)
{
    if (!fmt->pb || fmt->io_close2 != close_reader)
        return 0;
    avio_flush(fmt->pb);
    struct descriptor *d = fmt->pb->opaque;
    int err = fmt->pb->error < 0 ? fmt->pb->error : d->read_error;
    free_context(&fmt->pb);
    return err;
}
