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
 * every output channel. With DSP the values of each group of four sit in SMLAD order
 * (0, 2, 1, 3: the lanes SXTB16 gives the weights) and two pixels share each weight word. */
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
#if defined(__ARM_FEATURE_DSP)
                const int32_t at = (i & ~3) | ((i & 1) << 1) | ((i >> 1) & 1);
#else
                const int32_t at = i;
#endif
                dst[at] = (int16_t)(xp != NULL ? (int32_t)xp[c] - p->in_zp : 0);
            }
        }
    }
}

#if defined(__ARM_FEATURE_DSP)
/* output channels whose sums stem_pass keeps on the stack at a time (16 bytes each) */
#define TTE_STEM_OCB 16

/* Where stem_pass's loop over channels finds the windows, the step from the end of one
 * channel's weight words to the next channel's, and the end of the sums. */
typedef struct {
    const int16_t *win;
    int32_t wstep;
    const int32_t *acc_end;
} stem_pass_t;

/* acc[4 c .. 4 c + 3] = the four pixels' windows (win[q], TTE_CONV_WIN values apart) against
 * channel c's nw weight words (from w0 + c * n; c < nch), from the sums already in acc; the
 * whole loop over the channels in registers. */
TTE_NOINLINE static void stem_pass(const int16_t *win, int32_t nw, int32_t n, const int8_t *w0, int32_t *acc,
                                   int32_t nch)
{
    const stem_pass_t prm = {win, n - 4 * nw, acc + 4 * nch};
    const stem_pass_t *pp = &prm;
    const int16_t *const end = win + 4 * nw;
    const int8_t *wp = w0;
    int32_t *ao = acc;
    const int16_t *xp;
    int32_t a0, a1, a2, a3;
    uint32_t e, o, w, we;
    __asm__ volatile("2:\n\t"
                     "ldrd %[a0], %[a1], [%[ao]]\n\t"
                     "ldrd %[a2], %[a3], [%[ao], #8]\n\t"
                     "ldr %[xp], [%[pp]]\n\t"
                     "1:\n\t"
                     "ldr %[w], [%[wp]], #4\n\t"
                     "sxtb16 %[we], %[w]\n\t"
                     "sxtb16 %[w], %[w], ror #8\n\t"
                     "ldrd %[e], %[o], [%[xp], #64]\n\t"
                     "smlad %[a1], %[e], %[we], %[a1]\n\t"
                     "smlad %[a1], %[o], %[w], %[a1]\n\t"
                     "ldrd %[e], %[o], [%[xp], #128]\n\t"
                     "smlad %[a2], %[e], %[we], %[a2]\n\t"
                     "smlad %[a2], %[o], %[w], %[a2]\n\t"
                     "ldrd %[e], %[o], [%[xp], #192]\n\t"
                     "smlad %[a3], %[e], %[we], %[a3]\n\t"
                     "smlad %[a3], %[o], %[w], %[a3]\n\t"
                     "ldrd %[e], %[o], [%[xp]], #8\n\t"
                     "smlad %[a0], %[e], %[we], %[a0]\n\t"
                     "smlad %[a0], %[o], %[w], %[a0]\n\t"
                     "cmp %[xp], %[end]\n\t"
                     "bne 1b\n\t"
                     "strd %[a0], %[a1], [%[ao]], #16\n\t"
                     "strd %[a2], %[a3], [%[ao], #-8]\n\t"
                     "ldr %[w], [%[pp], #4]\n\t"
                     "add %[wp], %[wp], %[w]\n\t"
                     "ldr %[w], [%[pp], #8]\n\t"
                     "cmp %[ao], %[w]\n\t"
                     "bne 2b"
                     : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [xp] "=&r"(xp),
                       [wp] "+r"(wp), [ao] "+r"(ao), [e] "=&r"(e), [o] "=&r"(o), [w] "=&r"(w), [we] "=&r"(we)
                     : [end] "r"(end), [pp] "r"(pp)
                     : "cc", "memory");
}

/* The DSP form: four pixels per pass over the weights. A window inside the input is
 * gathered through a table of x offsets (built once per call, already in SMLAD order);
 * the window is padded to a multiple of four with zeros, and the last weight word is
 * assembled from the bytes that exist (its padding meets x = 0). */
TTE_HOT TTE_NOINLINE void tte_conv2d_s8_small_window_dsp(const tte_conv2d_s8_params_t *p, int32_t fast,
                                                       const int8_t *x, const int8_t *w, const int32_t *bias, int8_t *y)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t n = g->k_h * g->k_w * g->in_c;
    const int32_t n4 = n & ~3, np = (n + 3) & ~3, zp = p->in_zp;
    const rq_t r = rq_init(p, fast);
    int16_t win[4][TTE_CONV_WIN] __attribute__((aligned(8)));
    int16_t off[TTE_CONV_WIN];
    int8_t xw[TTE_CONV_WIN] __attribute__((aligned(4)));
    const uint32_t zz = pack16(zp, zp);
    const size_t row_step = (size_t)g->dil_h * g->in_w * g->in_c;
    const int32_t row9 = g->k_w * g->in_c == 9 && g->dil_w == 1;
    int32_t acc[4 * TTE_STEM_OCB];
    int32_t b, oy, ox, oc, oc0, i, q, ky, kx, c;
    for (ky = 0, i = 0; ky < g->k_h; ++ky) {
        for (kx = 0; kx < g->k_w; ++kx) {
            for (c = 0; c < g->in_c; ++c, ++i) {
                const int32_t at = (i & ~3) | ((i & 1) << 1) | ((i >> 1) & 1);
                off[at] = (int16_t)((ky * g->dil_h * g->in_w + kx * g->dil_w) * g->in_c + c);
            }
        }
    }
    for (b = 0; b < g->batch; ++b) {
        const int8_t *xb = x + (size_t)b * g->in_h * g->in_w * g->in_c;
        for (oy = 0; oy < g->out_h; ++oy) {
            const int32_t iy0 = oy * g->stride_h - g->pad_top;
            const int32_t rows_in = iy0 >= 0 && iy0 + (g->k_h - 1) * g->dil_h < g->in_h;
            int8_t *yr = y + ((size_t)b * g->out_h + oy) * g->out_w * g->out_c;
            for (ox = 0; ox < g->out_w; ox += 4) {
                const int32_t npx = g->out_w - ox < 4 ? g->out_w - ox : 4;
                for (q = 0; q < 4; ++q) {
                    const int32_t ix0 = (ox + q) * g->stride_w - g->pad_left;
                    int16_t *d = win[q];
                    if (q >= npx) {
                        memcpy(d, win[0], sizeof win[0]);
                    } else if (rows_in && ix0 >= 0 && ix0 + (g->k_w - 1) * g->dil_w < g->in_w && row9) {
                        /* the window's rows are runs of 9 bytes (the RGB stem's 3x3): gathered
                         * into xw (its end padded with the zero point), then unpacked a word
                         * at a time */
                        const int8_t *src = xb + ((size_t)iy0 * g->in_w + ix0) * g->in_c;
                        int8_t *xp = xw;
                        for (ky = 0; ky < g->k_h; ++ky, xp += 9, src += row_step) {
                            const uint32_t u0 = load4(src), u1 = load4(src + 4);
                            memcpy(xp, &u0, sizeof u0);
                            memcpy(xp + 4, &u1, sizeof u1);
                            xp[8] = src[8];
                        }
                        for (i = n; i < np; ++i) {
                            xw[i] = (int8_t)zp;
                        }
                        for (i = 0; i < np; i += 4) {
                            const uint32_t u = load4(xw + i);
                            const uint32_t e = tte_ssub16(tte_sxtb16(u), zz), o = tte_ssub16(tte_sxtb16_ror8(u), zz);
                            memcpy(d + i, &e, sizeof e);
                            memcpy(d + i + 2, &o, sizeof o);
                        }
                        continue;
                    } else if (rows_in && ix0 >= 0 && ix0 + (g->k_w - 1) * g->dil_w < g->in_w) {
                        const int8_t *xo = xb + ((size_t)iy0 * g->in_w + ix0) * g->in_c;
                        for (i = 0; i < n4; ++i) {
                            d[i] = (int16_t)(xo[off[i]] - zp);
                        }
                        for (; i < n; ++i) {
                            const int32_t at = (i & ~3) | ((i & 1) << 1) | ((i >> 1) & 1);
                            d[at] = (int16_t)(xo[off[at]] - zp);
                        }
                    } else {
                        gather_window(p, xb, oy, ox + q, d);
                    }
                    for (i = n; i < np; ++i) {
                        d[(i & ~3) | ((i & 1) << 1) | ((i >> 1) & 1)] = 0;
                    }
                }
                if (TTE_CONV_WIN == 32 && npx == 4 && np > 0) {
                    /* whole weight words of every channel but a last one whose window ends
                     * inside a word (its bytes end the weight): the channel loop in stem_pass */
                    const int32_t nfast = n % 4 == 0 ? g->out_c : g->out_c - 1;
                    int32_t cb;
                    for (cb = 0; cb < nfast; cb += TTE_STEM_OCB) {
                        const int32_t nch = nfast - cb < TTE_STEM_OCB ? nfast - cb : TTE_STEM_OCB;
                        int32_t *ao = acc;
                        for (oc = cb; oc < cb + nch; ++oc, ao += 4) {
                            ao[0] = ao[1] = ao[2] = ao[3] = bias ? bias[oc] : 0;
                        }
                        stem_pass(&win[0][0], np / 4, n, w + (size_t)cb * n, acc, nch);
                        {
                            int8_t *const y0 = yr + (size_t)ox * g->out_c;
                            int8_t *const yq[4] = {y0, y0 + g->out_c, y0 + 2 * g->out_c, y0 + 3 * g->out_c};
                            rq_out4(&r, acc, 4, cb, cb + nch, yq);
                        }
                    }
                    oc0 = nfast;
                } else {
                    oc0 = 0;
                }
                /* one output channel over the four pixels at a time: its four accumulators,
                 * one unpacked weight word and one window word stay in registers; the last
                 * row's partial weight word is assembled from the bytes that exist */
                for (oc = oc0; oc < g->out_c; ++oc) {
                    const int8_t *wp = w + (size_t)oc * n;
                    int32_t a0 = bias ? bias[oc] : 0;
                    int32_t a1 = a0, a2 = a0, a3 = a0;
                    int8_t *yo = yr + (size_t)ox * g->out_c + oc;
                    /* a row's padding bytes meet window zeros: whole words up to np but for
                     * the last row (whose bytes end the weight) */
                    const int32_t nw = oc + 1 < g->out_c ? np : n4;
                    uint64_t u;
                    for (c = 0; c < nw; c += 4) {
                        const uint32_t wv = load4(wp + c);
                        const uint32_t we = tte_sxtb16(wv), wo = tte_sxtb16_ror8(wv);
                        memcpy(&u, &win[0][c], sizeof u);
                        a0 = tte_smlad((uint32_t)(u >> 32), wo, tte_smlad((uint32_t)u, we, a0));
                        memcpy(&u, &win[1][c], sizeof u);
                        a1 = tte_smlad((uint32_t)(u >> 32), wo, tte_smlad((uint32_t)u, we, a1));
                        memcpy(&u, &win[2][c], sizeof u);
                        a2 = tte_smlad((uint32_t)(u >> 32), wo, tte_smlad((uint32_t)u, we, a2));
                        memcpy(&u, &win[3][c], sizeof u);
                        a3 = tte_smlad((uint32_t)(u >> 32), wo, tte_smlad((uint32_t)u, we, a3));
                    }
                    if (c < np) {
                        const uint32_t we = pack16(wp[c], c + 2 < n ? wp[c + 2] : 0);
                        const uint32_t wo = pack16(c + 1 < n ? wp[c + 1] : 0, c + 3 < n ? wp[c + 3] : 0);
                        memcpy(&u, &win[0][c], sizeof u);
                        a0 = tte_smlad((uint32_t)(u >> 32), wo, tte_smlad((uint32_t)u, we, a0));
                        memcpy(&u, &win[1][c], sizeof u);
                        a1 = tte_smlad((uint32_t)(u >> 32), wo, tte_smlad((uint32_t)u, we, a1));
                        memcpy(&u, &win[2][c], sizeof u);
                        a2 = tte_smlad((uint32_t)(u >> 32), wo, tte_smlad((uint32_t)u, we, a2));
                        memcpy(&u, &win[3][c], sizeof u);
                        a3 = tte_smlad((uint32_t)(u >> 32), wo, tte_smlad((uint32_t)u, we, a3));
                    }
                    if (r.mode == 2 && npx == 4) {
                        /* the common case: mult and shift loaded once for the four pixels */
                        const int32_t mu = r.mult[oc], sh = r.shift[oc], oc1 = g->out_c;
                        yo[0] = (int8_t)tte_rq_fast_s8(a0, mu, sh, r.zp2);
                        yo[oc1] = (int8_t)tte_rq_fast_s8(a1, mu, sh, r.zp2);
                        yo[2 * oc1] = (int8_t)tte_rq_fast_s8(a2, mu, sh, r.zp2);
                        yo[3 * oc1] = (int8_t)tte_rq_fast_s8(a3, mu, sh, r.zp2);
                        continue;
                    }
                    yo[0] = rq(&r, a0, oc);
                    if (npx > 1) {
                        yo[g->out_c] = rq(&r, a1, oc);
                    }
                    if (npx > 2) {
                        yo[2 * g->out_c] = rq(&r, a2, oc);
                    }
                    if (npx > 3) {
                        yo[3 * g->out_c] = rq(&r, a3, oc);
                    }
                }
            }
        }
    }
}
#endif

#if !defined(__ARM_FEATURE_DSP)
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
