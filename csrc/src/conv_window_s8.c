/* int8 regular conv2d (groups 1) whose window holds more than TTE_CONV_WIN values: ResNet's
 * 3x3 convs over 16-64 channels, DS-CNN's 10x4 first layer. ARMv7E-M DSP only (under
 * __ARM_FEATURE_DSP); elsewhere tte_conv2d_s8 runs the generic loop nest, which gives the
 * same bytes (integer sums; tests/test_qemu_kernels.py).
 *
 * Two output pixels at a time, without an im2col of the image: the two windows' x - zp
 * (zero for a tap in the padding) are widened to int16 once, word by word interleaved
 * (pixel 0's even and odd lanes, then pixel 1's), TTE_WIN_CHUNK values at a time; every
 * pair of output channels then runs over the chunk with SMLAD, each weight word unpacked
 * once for both pixels and each widened pair of x used for both channels. */
#include <string.h>

#include "tte/internal/conv_s8.h"

#if defined(__ARM_FEATURE_DSP)

/* window values widened per pass (stack: 4 bytes a value; 144: a 3x3 window of 16
 * channels in one pass) */
#define TTE_WIN_CHUNK 144

/* Window values [c0, c1) of output pixel (oy, ox) of image xb into slot s (relative to c0). */
static void win_widen(const tte_conv2d_s8_params_t *p, const int8_t *xb, int32_t oy, int32_t ox, int32_t c0,
                      int32_t c1, int16_t *buf, int32_t s, uint32_t zz)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t C = g->in_c, RW = g->k_w * C;
    const int32_t ix0 = ox * g->stride_w - g->pad_left;
    int32_t ky;
    for (ky = c0 / RW; ky * RW < c1 && ky < g->k_h; ++ky) {
        const int32_t iy = oy * g->stride_h - g->pad_top + ky * g->dil_h;
        const int32_t rs = ky * RW, re = rs + RW;
        int32_t vs = re, ve = re; /* the taps of this row inside the image: [vs, ve) */
        const int8_t *row = NULL;
        if (iy >= 0 && iy < g->in_h) {
            int32_t kx0 = 0, kx1 = g->k_w;
            while (kx0 < kx1 && ix0 + kx0 * g->dil_w < 0) {
                ++kx0;
            }
            while (kx1 > kx0 && ix0 + (kx1 - 1) * g->dil_w >= g->in_w) {
                --kx1;
            }
            if (g->dil_w == 1 || kx1 - kx0 <= 1) {
                vs = rs + kx0 * C;
                ve = rs + kx1 * C;
                row = xb + ((size_t)iy * g->in_w + ix0 + kx0 * g->dil_w) * C;
            } else {
                /* dilated taps are not contiguous: one tap at a time */
                int32_t kx;
                for (kx = 0; kx < g->k_w; ++kx) {
                    const int32_t a = rs + kx * C, b = a + C;
                    const int32_t lo = a > c0 ? a : c0, hi = b < c1 ? b : c1;
                    const int32_t ix = ix0 + kx * g->dil_w;
                    const int32_t in = kx >= kx0 && kx < kx1;
                    if (lo < hi) {
                        win_fill(buf, s, lo - c0, hi - c0,
                                 in ? xb + ((size_t)iy * g->in_w + ix) * C + (lo - a) : NULL, p->in_zp, zz);
                    }
                }
                continue;
            }
        }
        {
            /* [rs, vs) and [ve, re) are padding, [vs, ve) comes from row; all clipped to the chunk */
            int32_t lo = rs > c0 ? rs : c0, hi = vs < c1 ? vs : c1;
            if (lo < hi) {
                win_fill(buf, s, lo - c0, hi - c0, NULL, p->in_zp, zz);
            }
            lo = vs > c0 ? vs : c0;
            hi = ve < c1 ? ve : c1;
            if (lo < hi) {
                win_fill(buf, s, lo - c0, hi - c0, row + (lo - vs), p->in_zp, zz);
            }
            lo = ve > c0 ? ve : c0;
            hi = re < c1 ? re : c1;
            if (lo < hi) {
                win_fill(buf, s, lo - c0, hi - c0, NULL, p->in_zp, zz);
            }
        }
    }
}

void tte_conv2d_s8_window_dsp(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *x, const int8_t *w,
                              const int32_t *bias, int8_t *y)
{
    const tte_conv2d_geom_t *g = &p->g;
    const rq_t r = rq_init(p, fast);
    const int32_t L = g->k_h * g->k_w * g->in_c, M = g->out_c;
    const int32_t npx = g->out_h * g->out_w;
    const uint32_t zz = pack16(p->in_zp, p->in_zp);
    int16_t buf[2 * TTE_WIN_CHUNK] __attribute__((aligned(8)));
    int32_t acc[2 * TTE_WIN_OC];
    int32_t b, i, oc, c0, j;
    for (b = 0; b < g->batch; ++b) {
        const int8_t *xb = x + (size_t)b * g->in_h * g->in_w * g->in_c;
        int8_t *yb = y + (size_t)b * npx * M;
        for (i = 0; i < npx; i += 2) {
            /* past the last pixel the last one repeats (the same bytes stored twice) */
            const int32_t i1 = i + 1 < npx ? i + 1 : i;
            const int32_t oy0 = i / g->out_w, ox0 = i % g->out_w, oy1 = i1 / g->out_w, ox1 = i1 % g->out_w;
            for (oc = 0; oc < M; ++oc) {
                acc[2 * oc] = acc[2 * oc + 1] = bias ? bias[oc] : 0;
            }
            for (c0 = 0; c0 < L; c0 += TTE_WIN_CHUNK) {
                const int32_t n = L - c0 < TTE_WIN_CHUNK ? L - c0 : TTE_WIN_CHUNK;
                const int32_t n8 = n & ~7;
                win_widen(p, xb, oy0, ox0, c0, c0 + n, buf, 0, zz);
                win_widen(p, xb, oy1, ox1, c0, c0 + n, buf, 1, zz);
                for (oc = 0; oc < M; oc += 2) {
                    /* an odd last channel runs twice against itself (k = 0) */
                    const int32_t two = oc + 1 < M;
                    const int8_t *wa = w + (size_t)oc * L + c0;
                    int32_t a[4] = {acc[2 * oc], acc[2 * oc + 1], two ? acc[2 * oc + 2] : 0,
                                    two ? acc[2 * oc + 3] : 0};
                    if (n8 > 0) {
                        win_dot22(buf, wa, two ? L : 0, n8, a);
                    }
                    for (j = n8; j < n; ++j) {
                        const int32_t w0 = wa[j], w1 = two ? wa[L + j] : 0;
                        const int32_t x0 = buf[win_index(j, 0)], x1 = buf[win_index(j, 1)];
                        a[0] += x0 * w0;
                        a[1] += x1 * w0;
                        a[2] += x0 * w1;
                        a[3] += x1 * w1;
                    }
                    acc[2 * oc] = a[0];
                    acc[2 * oc + 1] = a[1];
                    if (two) {
                        acc[2 * oc + 2] = a[2];
                        acc[2 * oc + 3] = a[3];
                    }
                }
            }
            {
                int8_t *y0 = yb + (size_t)i * M, *y1 = yb + (size_t)i1 * M;
                for (oc = 0; oc < M; ++oc) {
                    y0[oc] = rq(&r, acc[2 * oc], oc);
                    y1[oc] = rq(&r, acc[2 * oc + 1], oc);
                }
            }
        }
    }
}
#endif
