/* test_yuv420.c: the encoder's RGBA -> 4:2:0 conversion (src/yuv420.c).
 * swscale is the independent oracle inside flat 8x8 blocks (away from
 * their edges chroma siting and filter width cannot matter); the vector path must give exactly what the plain
 * path gives, which every 2x2 block converted on its own (too narrow for
 * the vector path) shows. RGB input (bytes or floats) gives what the same
 * pixels as RGBA give. JPEG's full-range YCbCr mapped to the stream's
 * matrix: the vector path gives what the plain path gives (each 2x2 block
 * on its own), on random planes and at the clamps, and both are within
 * one step of the exact formula. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>

#include "check.h"
#include "yuv420.h"

enum { W = 50, H = 6 }; /* 50: 48 columns for the 16-wide path, 2 left for the plain one */

struct planes {
    uint8_t *data[4];
    int linesize[4];
};

static void planes_alloc(struct planes *p, int w, int h)
{
    if (av_image_alloc(p->data, p->linesize, w, h, AV_PIX_FMT_YUV420P, 64) < 0)
        abort();
}

static void set_px(vs_frame *f, int x, int y, unsigned rgb)
{
    uint8_t *p = f->data + (size_t)y * f->stride + 4 * x;
    p[0] = rgb >> 16, p[1] = rgb >> 8 & 255, p[2] = rgb & 255, p[3] = 255;
}

/* Largest |ours - swscale| per plane over a frame of flat 8x8 blocks,
 * chroma taken inside the blocks only. */
static void against_swscale(int bt709, int full, int worst[3])
{
    enum { BW = 64, BH = 32, B = 8 };
    vs_frame *f = vs_frame_new(BW, BH);
    srand(7 + bt709 * 2 + full);
    for (int by = 0; by < BH; by += B)
        for (int bx = 0; bx < BW; bx += B) {
            unsigned rgb = (unsigned)rand() & 0xffffff;
            for (int k = 0; k < B * B; k++)
                set_px(f, bx + k % B, by + k / B, rgb);
        }
    struct planes ours, ref;
    planes_alloc(&ours, BW, BH);
    planes_alloc(&ref, BW, BH);
    vs_yuv420_coeffs c;
    vs_yuv420_coeffs_init(&c, bt709, full);
    vs_rgba_to_yuv420(f, &c, ours.data, ours.linesize);

    struct SwsContext *sws = sws_getContext(BW, BH, AV_PIX_FMT_RGBA, BW, BH, AV_PIX_FMT_YUV420P,
                                            SWS_BILINEAR | SWS_ACCURATE_RND, NULL, NULL, NULL);
    const int *matrix = sws_getCoefficients(bt709 ? SWS_CS_ITU709 : SWS_CS_ITU601);
    sws_setColorspaceDetails(sws, matrix, 1, matrix, full, 0, 1 << 16, 1 << 16);
    const uint8_t *src[1] = {f->data};
    const int stride[1] = {f->stride};
    sws_scale(sws, src, stride, 0, BH, ref.data, ref.linesize);
    sws_freeContext(sws);

    for (int p = 0; p < 3; p++) {
        worst[p] = 0;
        int pw = p ? BW / 2 : BW, ph = p ? BH / 2 : BH, cb = B / 2;
        for (int y = 0; y < ph; y++)
            for (int x = 0; x < pw; x++) {
                if (p && (x % cb == 0 || x % cb == cb - 1 || y % cb == 0 || y % cb == cb - 1))
                    continue;
                int d = abs(ours.data[p][y * ours.linesize[p] + x] - ref.data[p][y * ref.linesize[p] + x]);
                if (d > worst[p])
                    worst[p] = d;
            }
    }
    av_freep(&ours.data[0]);
    av_freep(&ref.data[0]);
    vs_frame_free(f);
}

/* 1 when the whole-frame conversion of noise equals each 2x2 block's own. */
static int vector_equals_plain(int bt709, int full)
{
    vs_frame *f = vs_frame_new(W, H), *block = vs_frame_new(2, 2);
    srand(11);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            set_px(f, x, y, (unsigned)rand() & 0xffffff);
    vs_yuv420_coeffs c;
    vs_yuv420_coeffs_init(&c, bt709, full);
    struct planes whole, one;
    planes_alloc(&whole, W, H);
    planes_alloc(&one, 2, 2);
    vs_rgba_to_yuv420(f, &c, whole.data, whole.linesize);
    int same = 1;
    for (int by = 0; by < H; by += 2)
        for (int bx = 0; bx < W; bx += 2) {
            for (int k = 0; k < 2; k++)
                memcpy(block->data + k * block->stride, f->data + (size_t)(by + k) * f->stride + 4 * bx, 8);
            vs_rgba_to_yuv420(block, &c, one.data, one.linesize);
            for (int k = 0; k < 4; k++)
                same &= one.data[0][(k / 2) * one.linesize[0] + k % 2] ==
                        whole.data[0][(by + k / 2) * whole.linesize[0] + bx + k % 2];
            same &= one.data[1][0] == whole.data[1][(by / 2) * whole.linesize[1] + bx / 2];
            same &= one.data[2][0] == whole.data[2][(by / 2) * whole.linesize[2] + bx / 2];
        }
    av_freep(&whole.data[0]);
    av_freep(&one.data[0]);
    vs_frame_free(f);
    vs_frame_free(block);
    return same;
}

/* Y, Cb, Cr of one flat colour. */
static void flat(unsigned rgb, int bt709, int full, int out[3])
{
    vs_frame *f = vs_frame_new(32, 2);
    for (int x = 0; x < 32; x++)
        for (int y = 0; y < 2; y++)
            set_px(f, x, y, rgb);
    vs_yuv420_coeffs c;
    vs_yuv420_coeffs_init(&c, bt709, full);
    struct planes p;
    planes_alloc(&p, 32, 2);
    vs_rgba_to_yuv420(f, &c, p.data, p.linesize);
    for (int k = 0; k < 3; k++)
        out[k] = p.data[k][0];
    av_freep(&p.data[0]);
    vs_frame_free(f);
}

/* The return value: 1 only when every pixel is opaque, wherever the one
 * translucent pixel sits (vector columns, the plain tail, the last row). */
static int opacity_seen(int x, int y)
{
    vs_frame *f = vs_frame_new(W, H);
    for (int i = 0; i < W * H; i++)
        set_px(f, i % W, i / W, 0x336699);
    if (x >= 0)
        f->data[(size_t)y * f->stride + 4 * x + 3] = 254;
    vs_yuv420_coeffs c;
    vs_yuv420_coeffs_init(&c, 0, 0);
    struct planes p;
    planes_alloc(&p, W, H);
    int opaque = vs_rgba_to_yuv420(f, &c, p.data, p.linesize);
    av_freep(&p.data[0]);
    vs_frame_free(f);
    return opaque;
}

/* RGB rows (bytes at a wider stride, or floats) give exactly the planes of
 * the same pixels as RGBA; floats round as numpy.rint in float32. */
static int rgb_equals_rgba(void)
{
    enum { STRIDE = W * 3 + 7 };
    vs_frame *f = vs_frame_new(W, H);
    uint8_t *rgb = calloc(H, STRIDE);
    float *unit = calloc((size_t)W * H * 3, sizeof *unit);
    if (!f || !rgb || !unit)
        abort();
    srand(11);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            unsigned px = (unsigned)rand() & 0xffffff;
            set_px(f, x, y, px);
            for (int k = 0; k < 3; k++) {
                uint8_t v = (uint8_t)(px >> (16 - 8 * k));
                rgb[(size_t)y * STRIDE + 3 * x + k] = v;
                unit[((size_t)y * W + x) * 3 + k] = v / 255.0f;
            }
        }
    vs_yuv420_coeffs c;
    vs_yuv420_coeffs_init(&c, 1, 0);
    struct planes a, b, d;
    planes_alloc(&a, W, H);
    planes_alloc(&b, W, H);
    planes_alloc(&d, W, H);
    vs_rgba_to_yuv420(f, &c, a.data, a.linesize);
    int ok = vs_rgb_to_yuv420(rgb, VS_RGB_U8, W, H, STRIDE, &c, b.data, b.linesize) == 0 &&
             vs_rgb_to_yuv420(unit, VS_RGB_F32, W, H, (size_t)W * 3 * sizeof *unit, &c, d.data, d.linesize) == 0;
    for (int i = 0; ok && i < 3; i++) {
        int rows = i ? H / 2 : H, cols = i ? W / 2 : W;
        for (int y = 0; y < rows; y++)
            ok &= memcmp(a.data[i] + y * a.linesize[i], b.data[i] + y * b.linesize[i], (size_t)cols) == 0 &&
                  memcmp(a.data[i] + y * a.linesize[i], d.data[i] + y * d.linesize[i], (size_t)cols) == 0;
    }
    av_freep(&a.data[0]);
    av_freep(&b.data[0]);
    av_freep(&d.data[0]);
    free(unit);
    free(rgb);
    vs_frame_free(f);
    return ok;
}

/* x * 255 ties go to even (128.5 -> 128, 2.5 -> 2), the rest to the nearest;
 * outside [0, 1] and NaN are clipped. */
static int floats_round_as_numpy(void)
{
    const float in[] = {128.5f / 255, 2.5f / 255, 3.5f / 255, 0.2f, -1.0f, 2.0f, 0.0f / 0.0f, 1.0f};
    const uint8_t want[] = {128, 2, 4, 51, 0, 255, 0, 255};
    uint8_t out[8 * 4];
    float row[8 * 3];
    for (int i = 0; i < 8; i++)
        row[3 * i] = row[3 * i + 1] = row[3 * i + 2] = in[i];
    vs_rgb_row_to_rgba(row, VS_RGB_F32, 8, out);
    int ok = 1;
    for (int i = 0; i < 8; i++)
        ok &= out[4 * i] == want[i] && out[4 * i + 2] == want[i] && out[4 * i + 3] == 255;
    return ok;
}

/* A random 4:2:0 image (W x H) and its copy, the copy mapped block by block. */
static int jpeg_map_vector_equals_plain(int bt709, int *worst)
{
    vs_jpeg_yuv_map map;
    vs_jpeg_yuv_map_init(&map, bt709);
    struct planes a, b;
    planes_alloc(&a, W, H);
    planes_alloc(&b, W, H);
    uint32_t seed = 12345u + (uint32_t)bt709;
    for (int i = 0; i < 3; i++) {
        int w = i ? W / 2 : W, h = i ? H / 2 : H;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                seed = seed * 1664525u + 1013904223u;
                /* every fourth row at the extremes, to reach both clamps */
                uint8_t px = (uint8_t)(y % 4 == 3 ? ((seed >> 24) & 1 ? 255 : 0) : seed >> 24);
                a.data[i][y * a.linesize[i] + x] = b.data[i][y * b.linesize[i] + x] = px;
            }
    }
    /* the exact map of the source, for the distance check */
    double m[3][3];
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++)
            m[r][c] = map.m[r][c] / 65536.0;
    double want[H][W], want_c[2][H / 2][W / 2];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double cb = a.data[1][y / 2 * a.linesize[1] + x / 2] - 128.0, cr = a.data[2][y / 2 * a.linesize[2] + x / 2] - 128.0;
            want[y][x] = m[0][0] * a.data[0][y * a.linesize[0] + x] + m[0][1] * cb + m[0][2] * cr + 16;
            if (x % 2 == 0 && y % 2 == 0) {
                want_c[0][y / 2][x / 2] = m[1][1] * cb + m[1][2] * cr + 128;
                want_c[1][y / 2][x / 2] = m[2][1] * cb + m[2][2] * cr + 128;
            }
        }
    vs_jpeg_yuv_map_apply(&map, a.data, a.linesize, W, H);
    for (int y = 0; y < H; y += 2)
        for (int x = 0; x < W; x += 2) {
            uint8_t *block[3] = {b.data[0] + y * b.linesize[0] + x, b.data[1] + y / 2 * b.linesize[1] + x / 2,
                                 b.data[2] + y / 2 * b.linesize[2] + x / 2};
            vs_jpeg_yuv_map_apply(&map, block, b.linesize, 2, 2);
        }
    int same = 1;
    *worst = 0;
    for (int i = 0; i < 3; i++) {
        int w = i ? W / 2 : W, h = i ? H / 2 : H;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int got = a.data[i][y * a.linesize[i] + x];
                same &= got == b.data[i][y * b.linesize[i] + x];
                double exact = i ? want_c[i - 1][y][x] : want[y][x];
                exact = exact < 0 ? 0 : exact > 255 ? 255 : exact;
                int d = (int)(fabs(got - exact) + 0.5);
                *worst = d > *worst ? d : *worst;
            }
    }
    av_freep(&a.data[0]);
    av_freep(&b.data[0]);
    return same;
}

int main(void)
{
    for (int bt709 = 0; bt709 < 2; bt709++) {
        int worst;
        CHECK(jpeg_map_vector_equals_plain(bt709, &worst));
        printf("# JPEG map bt709=%d: largest difference from the exact map %d\n", bt709, worst);
        CHECK(worst <= 1);
    }
    CHECK(rgb_equals_rgba());
    CHECK(floats_round_as_numpy());
    CHECK(opacity_seen(-1, 0) == 1);
    CHECK(opacity_seen(5, 0) == 0);
    CHECK(opacity_seen(49, 3) == 0);
    CHECK(opacity_seen(20, H - 1) == 0);
    for (int bt709 = 0; bt709 < 2; bt709++)
        for (int full = 0; full < 2; full++) {
            int worst[3];
            against_swscale(bt709, full, worst);
            printf("# bt709=%d full=%d: largest difference from swscale Y %d Cb %d Cr %d\n", bt709, full,
                   worst[0], worst[1], worst[2]);
            CHECK(worst[0] <= 1 && worst[1] <= 1 && worst[2] <= 1);
            CHECK(vector_equals_plain(bt709, full));
        }
    /* the ends of the scale, exactly */
    int yuv[3];
    flat(0xffffff, 1, 0, yuv);
    CHECK(yuv[0] == 235 && yuv[1] == 128 && yuv[2] == 128);
    flat(0x000000, 0, 0, yuv);
    CHECK(yuv[0] == 16 && yuv[1] == 128 && yuv[2] == 128);
    flat(0xffffff, 0, 1, yuv);
    CHECK(yuv[0] == 255 && yuv[1] == 128 && yuv[2] == 128);
    /* pure blue and red reach the chroma extremes: 240 limited, 255 full */
    flat(0x0000ff, 1, 0, yuv);
    CHECK(yuv[1] == 240);
    flat(0xff0000, 0, 0, yuv);
    CHECK(yuv[2] == 240);
    flat(0x0000ff, 0, 1, yuv);
    CHECK(yuv[1] >= 254);
    return check_status();
}
