/* int8 conv2d, regular (groups 1) with a small window: the stem (3x3x3 on the RGB image).
 *
 * Cortex-M4/M7 (ARMv7E-M DSP extension, under __ARM_FEATURE_DSP): the fast paths use its SIMD
 * (SXTB16, SMLAD) beside the portable C; every product and sum is an integer of the
 * portable loop, so the bytes are the same (tte_conv2d_s8_generic; tests/test_qemu_kernels.py). */
#include "tte/internal/optimized.h"
#include <string.h>

#include "tte/internal/conv_s8.h"

/* Regular conv (groups 1) with a window of at most TTE_CONV_WIN values (the stem: 3x3x3):
 * each pixel's window, x - zp (0 outside the image), gathered once into int16 and reused by
 * every output channel. With DSP eight pixels share each unpacked weight word. */
#if defined(__ARM_FEATURE_DSP)
/* output channels whose sums stem_pass8 keeps on the stack at a time (32 bytes each; few,
 * for the stack peak of the models whose stem this is) */
#define TTE_STEM_OCB 8

/* one (unaligned) STR, which the compiler cannot fold with its loop into a library call */
static TTE_ALWAYS_INLINE void stem_store4(int8_t *dst, uint32_t u)
{
    __asm__ volatile("str %1, [%0]" : : "r"(dst), "r"(u) : "memory");
}

/* n bytes from src to dst: words, then at most three bytes */
static TTE_ALWAYS_INLINE void stem_copy(int8_t *dst, const int8_t *src, int32_t n)
{
    int32_t k;
    for (k = 0; k + 4 <= n; k += 4) {
        stem_store4(dst + k, load4(src + k));
    }
    if (k < n) {
        dst[k] = src[k];
        if (k + 1 < n) {
            dst[k + 1] = src[k + 1];
            if (k + 2 < n) {
                dst[k + 2] = src[k + 2];
            }
        }
    }
}

/* n bytes v to dst, the same way */
static TTE_ALWAYS_INLINE void stem_fill(int8_t *dst, int8_t v, int32_t n)
{
    const uint32_t vv = 0x01010101u * (uint8_t)v;
    int32_t k;
    for (k = 0; k + 4 <= n; k += 4) {
        stem_store4(dst + k, vv);
    }
    if (k < n) {
        dst[k] = v;
        if (k + 1 < n) {
            dst[k + 1] = v;
            if (k + 2 < n) {
                dst[k + 2] = v;
            }
        }
    }
}

/* The window of output pixel (oy, ox) as bytes in weight order (ky, kx, c): x inside the
 * image, the zero point in the padding and from value n up to np (where x - zp is 0). A
 * row of taps inside the image with contiguous taps (dil_w 1) is copied in one run. */
static void stem_bytes(const tte_conv2d_s8_params_t *p, const int8_t *xb, int32_t oy, int32_t ox, int32_t n,
                       int32_t np, int8_t *win)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t C = g->in_c, RW = g->k_w * C;
    const int32_t iy0 = oy * g->stride_h - g->pad_top, ix0 = ox * g->stride_w - g->pad_left;
    const int32_t cols_in = g->dil_w == 1 && ix0 >= 0 && ix0 + g->k_w - 1 < g->in_w;
    const int8_t zp = (int8_t)p->in_zp;
    int32_t ky, kx, i = 0;
    if (cols_in && iy0 >= 0 && iy0 + (g->k_h - 1) * g->dil_h < g->in_h) {
        /* the whole window inside: k_h runs one row stride apart */
        const int32_t rstride = g->dil_h * g->in_w * C;
        const int8_t *src = xb + ((size_t)iy0 * g->in_w + ix0) * C;
        for (ky = 0; ky < g->k_h; ++ky, i += RW, src += rstride) {
            stem_copy(win + i, src, RW);
        }
    } else {
        for (ky = 0; ky < g->k_h; ++ky, i += RW) {
            const int32_t iy = iy0 + ky * g->dil_h;
            if (iy < 0 || iy >= g->in_h) {
                stem_fill(win + i, zp, RW);
                continue;
            }
            for (kx = 0; kx < g->k_w; ++kx) {
                const int32_t ix = ix0 + kx * g->dil_w;
                if (ix >= 0 && ix < g->in_w) {
                    stem_copy(win + i + kx * C, xb + ((size_t)iy * g->in_w + ix) * C, C);
                } else {
                    stem_fill(win + i + kx * C, zp, C);
                }
            }
        }
    }
    stem_fill(win + n, zp, np - n);
}

/* The nw words of bytes, x - zp, into slot q of the eight-pixel buffer (conv_s8.h). */
static void stem_widen(const int8_t *bytes, int32_t nw, int16_t *buf, int32_t q, uint32_t nz)
{
    uint32_t *dst = (uint32_t *)(void *)buf + 2 * q;
    int32_t j;
    for (j = 0; j < nw; ++j, dst += 16) {
        const uint32_t u = load4(bytes + 4 * j);
        dst[0] = sxtab16(nz, u);
        dst[1] = sxtab16_ror8(nz, u);
    }
}

/* acc[8 c .. 8 c + 7] += the eight pixels' windows (nw >= 4 words of buf) against channel c's
 * weight words, from w0 + c * n (c < nch); the whole loop over the channels in registers. */
TTE_NOINLINE static void stem_pass8(const int16_t *buf, int32_t nw, const int8_t *w0, int32_t n, int32_t *acc,
                                    int32_t nch)
{
    win8_pass_t prm = {buf, buf + 32 * nw, n - 4 * nw, acc + 8 * nch, acc, NULL};
    const int8_t *wp = w0;
    const int16_t *xp;
    int32_t a0, a1, a2, a3, a4, a5, a6, a7;
    uint32_t e, o, w, we;
    switch (nw & 3) {
    case 0:
        TTE_WIN8_PASS(TTE_WIN8_LOOP);
        break;
    case 1:
        TTE_WIN8_PASS(TTE_WIN8_WORD TTE_WIN8_LOOP);
        break;
    case 2:
        TTE_WIN8_PASS(TTE_WIN8_WORD TTE_WIN8_WORD TTE_WIN8_LOOP);
        break;
    default:
        TTE_WIN8_PASS(TTE_WIN8_WORD TTE_WIN8_WORD TTE_WIN8_WORD TTE_WIN8_LOOP);
        break;
    }
}

/* The DSP form: eight pixels (in raster order; past the last one the last repeats) per pass
 * over the weights, each window widened once into the eight-pixel buffer, every channel in
 * stem_pass8 (the window's padding meets x - zp = 0; a last channel whose window ends inside a
 * word from a copy padded with zeros); a window under 16 values in C. */
TTE_HOT TTE_NOINLINE void tte_conv2d_s8_small_window_dsp(const tte_conv2d_s8_params_t *p, int32_t fast,
                                                       const int8_t *x, const int8_t *w, const int32_t *bias, int8_t *y)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t n = g->k_h * g->k_w * g->in_c, M = g->out_c;
    const int32_t np = (n + 3) & ~3, nw = np / 4, npx = g->out_h * g->out_w;
    /* the last channel's weights padded with zeros to whole words (they meet x - zp = 0) */
    const int32_t nfast = nw < 4 ? 0 : M;
    int8_t wlast[TTE_CONV_WIN];
    const uint32_t nz = pack16(-p->in_zp, -p->in_zp);
    const rq_t r = rq_init(p, fast);
    int8_t bytes[TTE_CONV_WIN];
    int16_t buf[8 * TTE_CONV_WIN] __attribute__((aligned(8)));
    int32_t acc[8 * TTE_STEM_OCB];
    int32_t b, i, q, oc, cb, j;
    for (j = 0; j < np; ++j) {
        wlast[j] = (int8_t)(j < n ? w[(size_t)(M - 1) * n + j] : 0);
    }
    for (b = 0; b < g->batch; ++b) {
        const int8_t *xb = x + (size_t)b * g->in_h * g->in_w * g->in_c;
        int8_t *yb = y + (size_t)b * npx * M;
        int32_t py = 0, px = 0;
        for (i = 0; i < npx; i += 8) {
            const uint32_t *const xw = (const uint32_t *)(const void *)buf;
            int8_t *y8[8];
            int32_t ly = py, lx = px;
            for (q = 0; q < 8; ++q) {
                if (i + q < npx) {
                    /* (ly, lx): pixel i + q, else the last one again */
                    ly = py;
                    lx = px;
                    if (++px == g->out_w) {
                        px = 0;
                        ++py;
                    }
                }
                y8[q] = yb + ((size_t)ly * g->out_w + lx) * M;
                stem_bytes(p, xb, ly, lx, n, np, bytes);
                stem_widen(bytes, nw, buf, q, nz);
            }
            for (cb = 0; cb < nfast; cb += TTE_STEM_OCB) {
                const int32_t ce = nfast - cb < TTE_STEM_OCB ? nfast : cb + TTE_STEM_OCB;
                for (oc = cb; oc < ce; ++oc) {
                    int32_t *ao = acc + 8 * (oc - cb);
                    ao[0] = ao[1] = ao[2] = ao[3] = ao[4] = ao[5] = ao[6] = ao[7] = bias ? bias[oc] : 0;
                }
                /* the last channel apart when its window ends inside a word */
                const int32_t nwhole = ce == M && n % 4 ? ce - cb - 1 : ce - cb;
                if (nwhole > 0) {
                    stem_pass8(buf, nw, w + (size_t)cb * n, n, acc, nwhole);
                }
                if (nwhole < ce - cb) {
                    stem_pass8(buf, nw, wlast, n, acc + 8 * nwhole, 1);
                }
                rq_out4(&r, acc, 8, cb, ce, y8);
                rq_out4(&r, acc + 4, 8, cb, ce, y8 + 4);
            }
            for (oc = nfast; oc < M; ++oc) {
                const int8_t *wp = w + (size_t)oc * n;
                int32_t a[8];
                for (q = 0; q < 8; ++q) {
                    a[q] = bias ? bias[oc] : 0;
                }
                for (j = 0; j < nw; ++j) {
                    const int32_t c = 4 * j;
                    uint32_t we, wo;
                    if (c + 4 <= n) {
                        const uint32_t wv = load4(wp + c);
                        we = tte_sxtb16(wv);
                        wo = tte_sxtb16_ror8(wv);
                    } else {
                        we = pack16(wp[c], c + 2 < n ? wp[c + 2] : 0);
                        wo = pack16(c + 1 < n ? wp[c + 1] : 0, c + 3 < n ? wp[c + 3] : 0);
                    }
                    for (q = 0; q < 8; ++q) {
                        a[q] = tte_smlad(xw[16 * j + 2 * q + 1], wo, tte_smlad(xw[16 * j + 2 * q], we, a[q]));
                    }
                }
                for (q = 0; q < 8; ++q) {
                    y8[q][oc] = rq(&r, a[q], oc);
                }
            }
        }
    }
}
#endif

#if !defined(__ARM_FEATURE_DSP)
static void gather_window(const tte_conv2d_s8_params_t *p, const int8_t *xb, int32_t oy, int32_t ox, int16_t *dst)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t iy0 = oy * g->stride_h - g->pad_top;
    const int32_t ix0 = ox * g->stride_w - g->pad_left;
    const int32_t cin = g->in_c;
    int32_t ky, kx, c, i = 0;
    for (ky = 0; ky < g->k_h; ++ky) {
        const int32_t iy = iy0 + ky * g->dil_h;
        for (kx = 0; kx < g->k_w; ++kx) {
            const int32_t ix = ix0 + kx * g->dil_w;
            const int8_t *xp = NULL;
            if (iy >= 0 && iy < g->in_h && ix >= 0 && ix < g->in_w) {
                xp = xb + ((size_t)iy * g->in_w + ix) * cin;
            }
            for (c = 0; c < cin; ++c, ++i) {
                dst[i] = (int16_t)(xp != NULL ? (int32_t)xp[c] - p->in_zp : 0);
            }
        }
    }
}

TTE_NOINLINE void tte_conv2d_s8_small_window(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *x,
                                            const int8_t *w, const int32_t *bias, int8_t *y)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t n = g->k_h * g->k_w * g->in_c;
    const rq_t r = rq_init(p, fast);
    int16_t win[TTE_CONV_WIN];
    int32_t b, oy, ox, oc, c;
    for (b = 0; b < g->batch; ++b) {
        const int8_t *xb = x + (size_t)b * g->in_h * g->in_w * g->in_c;
        for (oy = 0; oy < g->out_h; ++oy) {
            for (ox = 0; ox < g->out_w; ++ox) {
                int8_t *yo = y + (((size_t)b * g->out_h + oy) * g->out_w + ox) * g->out_c;
                gather_window(p, xb, oy, ox, win);
                for (oc = 0; oc < g->out_c; ++oc) {
                    const int8_t *wp = w + (size_t)oc * n;
                    int32_t acc = bias ? bias[oc] : 0;
                    for (c = 0; c < n; ++c) {
                        acc += (int32_t)win[c] * (int32_t)wp[c];
                    }
                    yo[oc] = rq(&r, acc, oc);
                }
            }
        }
    }
}
#endif
