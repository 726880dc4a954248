/*
 * frame.c: RGBA8 frame buffers and the kernels every layer shares.
 *
 * A frame is width x height pixels of 4 bytes (R, G, B, A; straight alpha).
 * Rows start on 64-byte boundaries (stride is a multiple of 64) so SIMD
 * kernels and swscale read whole cache lines. Sizes are capped at
 * VS_FRAME_MAX_SIDE per side and the byte count is overflow-checked, so a
 * corrupt header or a script typo gives an error, not a giant allocation.
 *
 * Freed pixel buffers of a quarter MiB and more wait in a small stash for
 * the next frame of the same byte size (newest first, the oldest let go
 * past STASH_SLOTS or STASH_BYTES). A loop of vs.load or a dataset's
 * batches frees frames in bunches (the Lua GC's pace) and makes as many
 * again; glibc gives a freed bunch back to the kernel, and every 4 KiB of
 * it then costs a page fault when touched again: a quarter of a 720p PNG
 * load. The stash is one for
 * the process, behind a lock, because frames are often freed on another
 * thread than the one that made them (a dataset's workers and its reader).
 * Under AddressSanitizer a stashed buffer is poisoned, so a frame used
 * after vs_frame_free is still reported.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define STASH_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define STASH_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define STASH_POISON(p, n) ((void)(p), (void)(n))
#define STASH_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#include "error.h"
#include "vstudio.h"

#define VS_FRAME_MAX_SIDE 32768
#define VS_FRAME_ALIGN 64

/* 16 frames up to 1080p (8.3 MB each), 5 at 4K: a GC cycle's worth of
 * vs.load in a loop (at 64 MiB, 1080p loads missed it 9 times in 16 and
 * faulted every page again: 11% of their CPU);
 * smaller buffers (sprites, text) are malloc's own business and would only
 * push the big ones out */
enum { STASH_SLOTS = 16 };
#define STASH_BYTES ((size_t)160 << 20)
#define STASH_MIN_BYTES ((size_t)256 << 10)

static struct {
    pthread_mutex_t lock;
    int n;                     /* buffers held, oldest first */
    size_t bytes;
    uint8_t *data[STASH_SLOTS];
    size_t size[STASH_SLOTS];
} stash = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* A fork (a Python parent starting DataLoader workers) while another thread
 * holds the lock would leave the child's copy locked for good: the lock is
 * taken around fork, and released on both sides. */
static void stash_lock(void) { pthread_mutex_lock(&stash.lock); }
static void stash_unlock(void) { pthread_mutex_unlock(&stash.lock); }
static void stash_register_fork(void) { pthread_atfork(stash_lock, stash_unlock, stash_unlock); }
static pthread_once_t stash_fork_once = PTHREAD_ONCE_INIT;

/* A stashed buffer of exactly `size` bytes, or NULL. */
static uint8_t *stash_take(size_t size)
{
    if (size < STASH_MIN_BYTES)
        return NULL;
    uint8_t *data = NULL;
    pthread_once(&stash_fork_once, stash_register_fork);
    pthread_mutex_lock(&stash.lock);
    for (int i = stash.n - 1; i >= 0; i--) {
        if (stash.size[i] != size)
            continue;
        data = stash.data[i];
        stash.n--;
        memmove(&stash.data[i], &stash.data[i + 1], sizeof stash.data[0] * (size_t)(stash.n - i));
        memmove(&stash.size[i], &stash.size[i + 1], sizeof stash.size[0] * (size_t)(stash.n - i));
        stash.bytes -= size;
        break;
    }
    pthread_mutex_unlock(&stash.lock);
    if (data)
        STASH_UNPOISON(data, size);
    return data;
}

/* Keeps data (size bytes) for a later frame, letting the oldest go. */
static void stash_put(uint8_t *data, size_t size)
{
    if (size < STASH_MIN_BYTES || size > STASH_BYTES) {
        free(data);
        return;
    }
    uint8_t *drop[STASH_SLOTS];
    int ndrop = 0;
    STASH_POISON(data, size);
    pthread_once(&stash_fork_once, stash_register_fork);
    pthread_mutex_lock(&stash.lock);
    while (stash.n == STASH_SLOTS || stash.bytes + size > STASH_BYTES) {
        drop[ndrop++] = stash.data[0];
        stash.bytes -= stash.size[0];
        stash.n--;
        memmove(&stash.data[0], &stash.data[1], sizeof stash.data[0] * (size_t)stash.n);
        memmove(&stash.size[0], &stash.size[1], sizeof stash.size[0] * (size_t)stash.n);
    }
    stash.data[stash.n] = data;
    stash.size[stash.n++] = size;
    stash.bytes += size;
    pthread_mutex_unlock(&stash.lock);
    for (int i = 0; i < ndrop; i++)
        free(drop[i]); /* poisoned memory is free()d as usual */
}

/* Lets every stashed buffer go; whether there was one. */
static int stash_drain(void)
{
    uint8_t *drop[STASH_SLOTS];
    pthread_once(&stash_fork_once, stash_register_fork);
    pthread_mutex_lock(&stash.lock);
    int ndrop = stash.n;
    memcpy(drop, stash.data, sizeof drop[0] * (size_t)ndrop);
    stash.n = 0;
    stash.bytes = 0;
    pthread_mutex_unlock(&stash.lock);
    for (int i = 0; i < ndrop; i++)
        free(drop[i]);
    return ndrop > 0;
}

vs_frame *vs_frame_new(int width, int height)
{
    if (width <= 0 || height <= 0 || width > VS_FRAME_MAX_SIDE || height > VS_FRAME_MAX_SIDE) {
        vs_fail("frame size %dx%d is out of range (1..%d per side)", width, height, VS_FRAME_MAX_SIDE);
        return NULL;
    }
    size_t stride = ((size_t)width * 4 + VS_FRAME_ALIGN - 1) / VS_FRAME_ALIGN * VS_FRAME_ALIGN;
    if ((size_t)height > SIZE_MAX / stride) {
        vs_fail("frame size %dx%d overflows memory size", width, height);
        return NULL;
    }
    vs_frame *frame = malloc(sizeof *frame);
    if (!frame)
        goto fail;
    frame->data = stash_take(stride * (size_t)height);
    if (!frame->data)
        frame->data = aligned_alloc(VS_FRAME_ALIGN, stride * (size_t)height);
    if (!frame->data && stash_drain()) /* under a memory limit the stash's buffers come first */
        frame->data = aligned_alloc(VS_FRAME_ALIGN, stride * (size_t)height);
    if (!frame->data)
        goto fail;
    memset(frame->data, 0, stride * (size_t)height);
    frame->width = width;
    frame->height = height;
    frame->stride = (int)stride;
    return frame;
fail:
    free(frame);
    vs_fail("out of memory allocating a %dx%d frame (%zu MiB)", width, height,
            stride * (size_t)height >> 20);
    return NULL;
}

void vs_frame_free(vs_frame *frame)
{
    if (!frame)
        return;
    stash_put(frame->data, (size_t)frame->stride * (size_t)frame->height);
    free(frame);
}

int vs_frame_copy_into(vs_frame *dst, const vs_frame *src)
{
    if (dst->width != src->width || dst->height != src->height)
        return vs_fail("cannot copy a %dx%d frame into a %dx%d frame", src->width, src->height,
                       dst->width, dst->height);
    size_t row_bytes = (size_t)src->width * 4;
    for (int y = 0; y < src->height; y++)
        memcpy(dst->data + (size_t)y * dst->stride, src->data + (size_t)y * src->stride, row_bytes);
    return 0;
}

vs_frame *vs_frame_copy(const vs_frame *frame)
{
    vs_frame *copy = vs_frame_new(frame->width, frame->height);
    if (copy)
        vs_frame_copy_into(copy, frame);
    return copy;
}

void vs_frame_fill(vs_frame *frame, uint8_t r, uint8_t g, uint8_t b, uint8_t a)
{
    uint8_t px[4] = {r, g, b, a};
    uint32_t value;
    memcpy(&value, px, 4);
    uint32_t *row0 = (uint32_t *)frame->data;
    for (int x = 0; x < frame->width; x++)
        row0[x] = value;
    for (int y = 1; y < frame->height; y++)
        memcpy(frame->data + (size_t)y * frame->stride, row0, (size_t)frame->width * 4);
}

/* (a * b + 127) / 255 without a division, exact for a, b in 0..255. */
static inline unsigned mul255(unsigned a, unsigned b)
{
    unsigned t = a * b + 128;
    return (t + (t >> 8)) >> 8;
}

void vs_frame_blit(vs_frame *dst, const vs_frame *src, int x, int y, double opacity)
{
    if (!dst || !src || opacity <= 0.0)
        return;
    /* entirely outside (also keeps the sums below within int for any x, y) */
    if (x >= dst->width || y >= dst->height || (int64_t)x + src->width <= 0 || (int64_t)y + src->height <= 0)
        return;
    unsigned op = opacity >= 1.0 ? 255 : (unsigned)(opacity * 255.0 + 0.5);
    int x0 = x < 0 ? -x : 0, y0 = y < 0 ? -y : 0;
    int x1 = src->width, y1 = src->height;
    if (x + x1 > dst->width)
        x1 = dst->width - x;
    if (y + y1 > dst->height)
        y1 = dst->height - y;
    for (int sy = y0; sy < y1; sy++) {
        const uint8_t *s = src->data + (size_t)sy * src->stride + (size_t)x0 * 4;
        uint8_t *d = dst->data + (size_t)(sy + y) * dst->stride + (size_t)(x0 + x) * 4;
        for (int sx = x0; sx < x1; sx++, s += 4, d += 4) {
            unsigned sa = mul255(s[3], op);
            if (sa == 255) {
                memcpy(d, s, 4);
                continue;
            }
            if (sa == 0)
                continue;
            if (d[3] == 255) {
                /* opaque destination (the usual case): out_a = 1 and no division.
                 * Two channels per 32-bit word (16-bit lanes; no lane overflows:
                 * 255*255 + 128 + 254 < 65536), rounded like mul255 (x / 255 to nearest) per channel. */
                uint32_t sp, dp;
                memcpy(&sp, s, 4);
                memcpy(&dp, d, 4);
                const uint32_t lanes = 0x00ff00ffu, half = 0x00800080u;
                uint32_t ia = 255 - sa;
                uint32_t lo = (sp & lanes) * sa + (dp & lanes) * ia + half;
                uint32_t hi = ((sp >> 8) & lanes) * sa + ((dp >> 8) & lanes) * ia + half;
                lo = ((lo + ((lo >> 8) & lanes)) >> 8) & lanes;
                hi = ((hi + ((hi >> 8) & lanes)) >> 8) & lanes;
                uint32_t out = lo | hi << 8;
                memcpy(d, &out, 4);
                d[3] = 255;
                continue;
            }
            /* straight-alpha "over": out_a = sa + da(1-sa), out_c = (sc sa + dc da (1-sa)) / out_a */
            unsigned da = mul255(d[3], 255 - sa);
            unsigned oa = sa + da;
            for (int c = 0; c < 3; c++)
                d[c] = (uint8_t)((s[c] * sa + d[c] * da + oa / 2) / oa);
            d[3] = (uint8_t)oa;
        }
    }
}

void vs_frame_copy_region(vs_frame *dst, int dx, int dy, const vs_frame *src, int sx, int sy, int w, int h)
{
    /* clip the rectangle against both frames, moving both origins together */
    if (sx < 0)
        w += sx, dx -= sx, sx = 0;
    if (sy < 0)
        h += sy, dy -= sy, sy = 0;
    if (dx < 0)
        w += dx, sx -= dx, dx = 0;
    if (dy < 0)
        h += dy, sy -= dy, dy = 0;
    if (w > src->width - sx)
        w = src->width - sx;
    if (h > src->height - sy)
        h = src->height - sy;
    if (w > dst->width - dx)
        w = dst->width - dx;
    if (h > dst->height - dy)
        h = dst->height - dy;
    if (w <= 0 || h <= 0)
        return;
    for (int y = 0; y < h; y++)
        memmove(dst->data + (size_t)(dy + y) * dst->stride + (size_t)dx * 4,
                src->data + (size_t)(sy + y) * src->stride + (size_t)sx * 4, (size_t)w * 4);
}

int vs_frame_mix(vs_frame *dst, const vs_frame *a, const vs_frame *b, double weight)
{
    if (a->width != b->width || a->height != b->height || dst->width != a->width || dst->height != a->height)
        return vs_fail("cannot mix frames of different sizes (%dx%d, %dx%d into %dx%d)", a->width, a->height,
                       b->width, b->height, dst->width, dst->height);
    unsigned w = weight <= 0 ? 0 : weight >= 1 ? 256 : (unsigned)(weight * 256 + 0.5);
    for (int y = 0; y < dst->height; y++) {
        const uint8_t *pa = a->data + (size_t)y * a->stride, *pb = b->data + (size_t)y * b->stride;
        uint8_t *d = dst->data + (size_t)y * dst->stride;
        for (int i = 0; i < dst->width * 4; i++)
            d[i] = (uint8_t)((pa[i] * (256 - w) + pb[i] * w + 128) >> 8);
    }
    return 0;
}

void vs_frame_mul_alpha(vs_frame *frame, double opacity)
{
    if (opacity >= 1.0)
        return;
    unsigned op = opacity <= 0.0 ? 0 : (unsigned)(opacity * 255.0 + 0.5);
    for (int y = 0; y < frame->height; y++) {
        uint8_t *p = frame->data + (size_t)y * frame->stride;
        for (int x = 0; x < frame->width; x++)
            p[x * 4 + 3] = (uint8_t)mul255(p[x * 4 + 3], op);
    }
}
