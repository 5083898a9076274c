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

/* value j of the chunk for pixel slot s: word 4 (j / 4) + 2 s + j % 2, halfword (j / 2) % 2 */
static inline size_t win_index(int32_t j, int32_t s)
{
    return (size_t)2 * (4 * (j >> 2) + 2 * s + (j & 1)) + ((j >> 1) & 1);
}

/* values [a, b) of the chunk for slot s: x - zp from src (value a), or 0 when src is NULL */
static void win_fill(int16_t *buf, int32_t s, int32_t a, int32_t b, const int8_t *src, int32_t zp, uint32_t zz)
{
    for (; a < b && (a & 3); ++a) {
        buf[win_index(a, s)] = (int16_t)(src ? *src++ - zp : 0);
    }
    for (; a + 3 < b; a += 4) {
        uint32_t two[2] = {0, 0};
        if (src) {
            const uint32_t u = load4(src);
            two[0] = tte_ssub16(tte_sxtb16(u), zz);
            two[1] = tte_ssub16(tte_sxtb16_ror8(u), zz);
            src += 4;
        }
        memcpy(buf + win_index(a, s), two, sizeof two);
    }
    for (; a < b; ++a) {
        buf[win_index(a, s)] = (int16_t)(src ? *src++ - zp : 0);
    }
}

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

/* One word (four window values) of two channels (rows wa, wa + k) by two pixels (xp). */
#define TTE_WIN_WORD                                                                    \
    "ldrd %[e1], %[o1], [%[xp], #8]\n\t"                                               \
    "ldrd %[e0], %[o0], [%[xp]], #16\n\t"                                              \
    "ldr %[w], [%[wa], %[k]]\n\t"                                                      \
    "sxtb16 %[we], %[w]\n\t"                                                           \
    "sxtb16 %[w], %[w], ror #8\n\t"                                                    \
    "smlad %[b0], %[e0], %[we], %[b0]\n\t"                                             \
    "smlad %[b0], %[o0], %[w], %[b0]\n\t"                                              \
    "smlad %[b1], %[e1], %[we], %[b1]\n\t"                                             \
    "smlad %[b1], %[o1], %[w], %[b1]\n\t"                                              \
    "ldr %[w], [%[wa]], #4\n\t"                                                        \
    "sxtb16 %[we], %[w]\n\t"                                                           \
    "sxtb16 %[w], %[w], ror #8\n\t"                                                    \
    "smlad %[a0], %[e0], %[we], %[a0]\n\t"                                             \
    "smlad %[a0], %[o0], %[w], %[a0]\n\t"                                              \
    "smlad %[a1], %[e1], %[we], %[a1]\n\t"                                             \
    "smlad %[a1], %[o1], %[w], %[a1]\n\t"

/* acc[0..3] (channel 0 pixel 0, pixel 1, channel 1 pixel 0, pixel 1) += the n8 values
 * (a positive multiple of 8) of the widened buffer against rows wa and wa + k. */
TTE_HOT static void win_dot22(const int16_t *buf, const int8_t *wa, int32_t k, int32_t n8, int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], b0 = acc[2], b1 = acc[3];
    const int16_t *xp = buf;
    const int16_t *const end = buf + 2 * n8;
    uint32_t e0, o0, e1, o1, w, we;
    __asm__ volatile("1:\n\t" TTE_WIN_WORD TTE_WIN_WORD
                     "ldr %[w], %[end]\n\t"
                     "cmp %[xp], %[w]\n\t"
                     "bne 1b"
                     : [a0] "+r"(a0), [a1] "+r"(a1), [b0] "+r"(b0), [b1] "+r"(b1), [xp] "+r"(xp), [wa] "+r"(wa),
                       [e0] "=&r"(e0), [o0] "=&r"(o0), [e1] "=&r"(e1), [o1] "=&r"(o1), [w] "=&r"(w), [we] "=&r"(we)
                     : [k] "r"(k), [end] "m"(end)
                     : "cc", "memory");
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = b0;
    acc[3] = b1;
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
