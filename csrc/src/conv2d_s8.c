/* int8 conv2d: regular, grouped, depthwise (any channel multiplier), pointwise.
 *
 * Fast paths (pointwise, depthwise, small-window regular convs) and the generic loop nest
 * give the same bytes: integer sums do not depend on their order, and the output stage is
 * tte_rq_fast (common.h) only when it equals the exact requantization for every channel. */
#include <string.h>

#include "tte/conv.h"

static int8_t finish(const tte_conv2d_s8_params_t *p, int32_t acc, int32_t oc)
{
    return (int8_t)tte_rq_exact(acc, p->mult[oc], p->shift[oc], p->out_zp, p->act_min, p->act_max);
}

/* Output stage of channel oc: the fast form when `fast` (tte_conv2d_s8_fast_rq). */
static inline int8_t rq(const tte_conv2d_s8_params_t *p, int32_t fast, int32_t acc, int32_t oc)
{
    if (fast) {
        return (int8_t)tte_rq_fast(acc, p->mult[oc], p->shift[oc], 2 * p->out_zp + 1, p->act_min, p->act_max);
    }
    return finish(p, acc, oc);
}

int32_t tte_conv2d_s8_fast_rq(const tte_conv2d_s8_params_t *p)
{
    return tte_rq_fast_ok(p->mult, p->shift, p->g.out_c, p->out_zp, p->act_min, p->act_max);
}

void tte_conv2d_s8_generic(const tte_conv2d_s8_params_t *p, const int8_t *x, const int8_t *w,
                           const int32_t *bias, int8_t *y)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t cin_g = g->in_c / g->groups;
    const int32_t cout_g = g->out_c / g->groups;
    int32_t b, oy, ox, oc, ky, kx, c;
    for (b = 0; b < g->batch; ++b) {
        const int8_t *xb = x + (size_t)b * g->in_h * g->in_w * g->in_c;
        for (oy = 0; oy < g->out_h; ++oy) {
            for (ox = 0; ox < g->out_w; ++ox) {
                int8_t *yo = y + (((size_t)b * g->out_h + oy) * g->out_w + ox) * g->out_c;
                for (oc = 0; oc < g->out_c; ++oc) {
                    const int32_t c0 = (oc / cout_g) * cin_g;
                    int32_t acc = bias ? bias[oc] : 0;
                    for (ky = 0; ky < g->k_h; ++ky) {
                        const int32_t iy = oy * g->stride_h - g->pad_top + ky * g->dil_h;
                        if (iy < 0 || iy >= g->in_h) {
                            continue;
                        }
                        for (kx = 0; kx < g->k_w; ++kx) {
                            const int32_t ix = ox * g->stride_w - g->pad_left + kx * g->dil_w;
                            const int8_t *xp;
                            const int8_t *wp;
                            if (ix < 0 || ix >= g->in_w) {
                                continue;
                            }
                            xp = xb + ((size_t)iy * g->in_w + ix) * g->in_c + c0;
                            wp = w + (((size_t)oc * g->k_h + ky) * g->k_w + kx) * cin_g;
                            for (c = 0; c < cin_g; ++c) {
                                acc += ((int32_t)xp[c] - p->in_zp) * (int32_t)wp[c];
                            }
                        }
                    }
                    yo[oc] = finish(p, acc, oc);
                }
            }
        }
    }
}

#if defined(__ARM_FEATURE_DSP)
/* SXTB16 sign-extends bytes 0 and 2 of a word (with ROR #8: bytes 1 and 3) into the two
 * halves; SSUB16 subtracts halfwise (x - zp lies in [-255, 255], no wrap); SMLAD adds both
 * halfword products. Every product and sum is an integer of the portable loop (int32 sums
 * of int8 products never overflow over tte's layer sizes): bit-identical. */
static inline uint32_t load4(const int8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v); /* one (unaligned) LDR on ARMv7E-M */
    return v;
}
static inline uint32_t pack16(int32_t lo, int32_t hi)
{
    return ((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16);
}
/* acc + lo(a) * lo(b), acc + hi(a) * lo(b) */
static inline int32_t smlabb(uint32_t a, int32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smlabb %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}
static inline int32_t smlatb(uint32_t a, int32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smlatb %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}
#endif

/* 1x1 conv over npx consecutive pixels (in_c values each at x, out_c outputs each at y). */
void tte_conv2d_s8_pointwise_px(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *x, int32_t npx,
                                const int8_t *w, const int32_t *bias, int8_t *y)
{
    const int32_t n = p->g.in_c;
    const int32_t m = p->g.out_c;
    const int32_t zp = p->in_zp;
    int32_t i = 0;
#if defined(__ARM_FEATURE_DSP)
    const uint32_t zz = pack16(zp, zp);
    /* two pixels share every unpacked weight word, four output channels every x word */
    for (; i + 1 < npx; i += 2) {
        const int8_t *x0 = x + (size_t)i * n;
        const int8_t *x1 = x0 + n;
        int8_t *y0 = y + (size_t)i * m;
        int8_t *y1 = y0 + m;
        int32_t oc = 0;
        for (; oc + 3 < m; oc += 4) {
            const int8_t *w0 = w + (size_t)oc * n;
            int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
            int32_t c = 0;
            for (; c + 3 < n; c += 4) {
                const uint32_t u = load4(x0 + c);
                const uint32_t v = load4(x1 + c);
                const uint32_t ue = tte_ssub16(tte_sxtb16(u), zz);
                const uint32_t uo = tte_ssub16(tte_sxtb16_ror8(u), zz);
                const uint32_t ve = tte_ssub16(tte_sxtb16(v), zz);
                const uint32_t vo = tte_ssub16(tte_sxtb16_ror8(v), zz);
                uint32_t wv = load4(w0 + c);
                uint32_t we = tte_sxtb16(wv);
                uint32_t wo = tte_sxtb16_ror8(wv);
                a0 = tte_smlad(uo, wo, tte_smlad(ue, we, a0));
                b0 = tte_smlad(vo, wo, tte_smlad(ve, we, b0));
                wv = load4(w0 + n + c);
                we = tte_sxtb16(wv);
                wo = tte_sxtb16_ror8(wv);
                a1 = tte_smlad(uo, wo, tte_smlad(ue, we, a1));
                b1 = tte_smlad(vo, wo, tte_smlad(ve, we, b1));
                wv = load4(w0 + 2 * n + c);
                we = tte_sxtb16(wv);
                wo = tte_sxtb16_ror8(wv);
                a2 = tte_smlad(uo, wo, tte_smlad(ue, we, a2));
                b2 = tte_smlad(vo, wo, tte_smlad(ve, we, b2));
                wv = load4(w0 + 3 * n + c);
                we = tte_sxtb16(wv);
                wo = tte_sxtb16_ror8(wv);
                a3 = tte_smlad(uo, wo, tte_smlad(ue, we, a3));
                b3 = tte_smlad(vo, wo, tte_smlad(ve, we, b3));
            }
            for (; c < n; ++c) {
                const int32_t u = (int32_t)x0[c] - zp;
                const int32_t v = (int32_t)x1[c] - zp;
                const int32_t k0 = w0[c], k1 = w0[n + c], k2 = w0[2 * n + c], k3 = w0[3 * n + c];
                a0 += u * k0;
                a1 += u * k1;
                a2 += u * k2;
                a3 += u * k3;
                b0 += v * k0;
                b1 += v * k1;
                b2 += v * k2;
                b3 += v * k3;
            }
            if (bias) {
                a0 += bias[oc];
                b0 += bias[oc];
                a1 += bias[oc + 1];
                b1 += bias[oc + 1];
                a2 += bias[oc + 2];
                b2 += bias[oc + 2];
                a3 += bias[oc + 3];
                b3 += bias[oc + 3];
            }
            y0[oc] = rq(p, fast, a0, oc);
            y1[oc] = rq(p, fast, b0, oc);
            y0[oc + 1] = rq(p, fast, a1, oc + 1);
            y1[oc + 1] = rq(p, fast, b1, oc + 1);
            y0[oc + 2] = rq(p, fast, a2, oc + 2);
            y1[oc + 2] = rq(p, fast, b2, oc + 2);
            y0[oc + 3] = rq(p, fast, a3, oc + 3);
            y1[oc + 3] = rq(p, fast, b3, oc + 3);
        }
        for (; oc < m; ++oc) {
            const int8_t *wp = w + (size_t)oc * n;
            int32_t a = bias ? bias[oc] : 0;
            int32_t b = a;
            int32_t c = 0;
            for (; c + 3 < n; c += 4) {
                const uint32_t wv = load4(wp + c);
                const uint32_t we = tte_sxtb16(wv);
                const uint32_t wo = tte_sxtb16_ror8(wv);
                const uint32_t u = load4(x0 + c);
                const uint32_t v = load4(x1 + c);
                a = tte_smlad(tte_ssub16(tte_sxtb16_ror8(u), zz), wo, tte_smlad(tte_ssub16(tte_sxtb16(u), zz), we, a));
                b = tte_smlad(tte_ssub16(tte_sxtb16_ror8(v), zz), wo, tte_smlad(tte_ssub16(tte_sxtb16(v), zz), we, b));
            }
            for (; c < n; ++c) {
                a += ((int32_t)x0[c] - zp) * (int32_t)wp[c];
                b += ((int32_t)x1[c] - zp) * (int32_t)wp[c];
            }
            y0[oc] = rq(p, fast, a, oc);
            y1[oc] = rq(p, fast, b, oc);
        }
    }
#endif
    for (; i < npx; ++i) {
        const int8_t *xp = x + (size_t)i * n;
        int8_t *yp = y + (size_t)i * m;
        int32_t oc;
        for (oc = 0; oc < m; ++oc) {
            const int8_t *wp = w + (size_t)oc * n;
            int32_t acc = bias ? bias[oc] : 0;
            int32_t c = 0;
#if defined(__ARM_FEATURE_DSP)
            for (; c + 3 < n; c += 4) {
                const uint32_t xv = load4(xp + c);
                const uint32_t wv = load4(wp + c);
                acc = tte_smlad(tte_ssub16(tte_sxtb16(xv), zz), tte_sxtb16(wv), acc);
                acc = tte_smlad(tte_ssub16(tte_sxtb16_ror8(xv), zz), tte_sxtb16_ror8(wv), acc);
            }
#endif
            for (; c < n; ++c) {
                acc += ((int32_t)xp[c] - zp) * (int32_t)wp[c];
            }
            yp[oc] = rq(p, fast, acc, oc);
        }
    }
}

/* One output pixel (all channels) of a depthwise conv: rows[ky] is the input row tap ky
 * reads (NULL outside the image). */
void tte_conv2d_s8_dw_pixel(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *const *rows, int32_t ox,
                            const int8_t *w, const int32_t *bias, int8_t *out)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t mult = g->out_c / g->in_c;
    const int32_t taps = g->k_h * g->k_w;
    const int32_t ix0 = ox * g->stride_w - g->pad_left;
    const int32_t zp = p->in_zp;
    /* the taps kx in [kx0, kx1) read inside the row: found once per pixel, not per channel */
    const int32_t kx0 = ix0 < 0 ? (-ix0 + g->dil_w - 1) / g->dil_w : 0;
    const int32_t last = ix0 > g->in_w - 1 ? 0 : (g->in_w - 1 - ix0) / g->dil_w + 1;
    const int32_t kx1 = last < g->k_w ? last : g->k_w;
    const size_t xstep = (size_t)g->dil_w * g->in_c;
    const size_t xoff = (size_t)(ix0 + kx0 * g->dil_w) * g->in_c;
    int32_t oc = 0, ky, kx;
    if (mult == 1) {
        /* four channels at a time: one word of x per tap, four accumulators */
#if defined(__ARM_FEATURE_DSP)
        const uint32_t zz = pack16(zp, zp);
#endif
        for (; oc + 3 < g->out_c; oc += 4) {
            const int8_t *wo = w + (size_t)oc * taps;
            int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
            for (ky = 0; ky < g->k_h; ++ky) {
                const int8_t *xp;
                const int8_t *wp = wo + ky * g->k_w + kx0;
                if (rows[ky] == NULL) {
                    continue;
                }
                xp = rows[ky] + xoff + oc;
                for (kx = kx0; kx < kx1; ++kx) {
#if defined(__ARM_FEATURE_DSP)
                    const uint32_t xv = load4(xp);
                    const uint32_t xe = tte_ssub16(tte_sxtb16(xv), zz);
                    const uint32_t xo = tte_ssub16(tte_sxtb16_ror8(xv), zz);
                    a0 = smlabb(xe, wp[0], a0);
                    a1 = smlabb(xo, wp[taps], a1);
                    a2 = smlatb(xe, wp[2 * taps], a2);
                    a3 = smlatb(xo, wp[3 * taps], a3);
#else
                    a0 += ((int32_t)xp[0] - zp) * (int32_t)wp[0];
                    a1 += ((int32_t)xp[1] - zp) * (int32_t)wp[taps];
                    a2 += ((int32_t)xp[2] - zp) * (int32_t)wp[2 * taps];
                    a3 += ((int32_t)xp[3] - zp) * (int32_t)wp[3 * taps];
#endif
                    ++wp;
                    xp += xstep;
                }
            }
            if (bias) {
                a0 += bias[oc];
                a1 += bias[oc + 1];
                a2 += bias[oc + 2];
                a3 += bias[oc + 3];
            }
            out[oc] = rq(p, fast, a0, oc);
            out[oc + 1] = rq(p, fast, a1, oc + 1);
            out[oc + 2] = rq(p, fast, a2, oc + 2);
            out[oc + 3] = rq(p, fast, a3, oc + 3);
        }
    }
    for (; oc < g->out_c; ++oc) {
        const int32_t ic = mult == 1 ? oc : oc / mult;
        const int8_t *wo = w + (size_t)oc * taps;
        int32_t acc = bias ? bias[oc] : 0;
        for (ky = 0; ky < g->k_h; ++ky) {
            const int8_t *xp;
            const int8_t *wp = wo + ky * g->k_w + kx0;
            if (rows[ky] == NULL) {
                continue;
            }
            xp = rows[ky] + xoff + ic;
            for (kx = kx0; kx < kx1; ++kx) {
                acc += ((int32_t)*xp - zp) * (int32_t)*wp++;
                xp += xstep;
            }
        }
        out[oc] = rq(p, fast, acc, oc);
    }
}

#define TTE_CONV_MAX_KH 16

/* groups == in_c, one input channel per group: pixel by pixel through dw_pixel. */
static void conv_depthwise(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *x, const int8_t *w,
                           const int32_t *bias, int8_t *y)
{
    const tte_conv2d_geom_t *g = &p->g;
    const size_t row_bytes = (size_t)g->in_w * g->in_c;
    const int8_t *rows[TTE_CONV_MAX_KH];
    int32_t b, oy, ox, ky;
    for (b = 0; b < g->batch; ++b) {
        const int8_t *xb = x + (size_t)b * g->in_h * row_bytes;
        for (oy = 0; oy < g->out_h; ++oy) {
            int8_t *yo = y + ((size_t)b * g->out_h + oy) * g->out_w * g->out_c;
            for (ky = 0; ky < g->k_h; ++ky) {
                const int32_t iy = oy * g->stride_h - g->pad_top + ky * g->dil_h;
                rows[ky] = iy < 0 || iy >= g->in_h ? NULL : xb + (size_t)iy * row_bytes;
            }
            for (ox = 0; ox < g->out_w; ++ox) {
                tte_conv2d_s8_dw_pixel(p, fast, rows, ox, w, bias, yo + (size_t)ox * g->out_c);
            }
        }
    }
}

/* Regular conv (groups 1) with a window of at most TTE_CONV_WIN values (the stem: 3x3x3):
 * each pixel's window, x - zp (0 outside the image), gathered once into int16 and reused by
 * every output channel. With DSP the values of each group of four sit in SMLAD order
 * (0, 2, 1, 3: the lanes SXTB16 gives the weights) and two pixels share each weight word. */
#define TTE_CONV_WIN 32

static void gather_window(const tte_conv2d_s8_params_t *p, const int8_t *xb, int32_t oy, int32_t ox, int16_t *dst)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t iy0 = oy * g->stride_h - g->pad_top;
    const int32_t ix0 = ox * g->stride_w - g->pad_left;
    const int32_t cin = g->in_c;
    const int32_t n4 = (g->k_h * g->k_w * cin) & ~3;
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
                const int32_t at = i < n4 ? (i & ~3) | ((i & 1) << 1) | ((i >> 1) & 1) : i;
#else
                const int32_t at = i;
#endif
                dst[at] = (int16_t)(xp != NULL ? (int32_t)xp[c] - p->in_zp : 0);
            }
        }
    }
    (void)n4;
}

static void conv_small_window(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *x, const int8_t *w,
                              const int32_t *bias, int8_t *y)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t n = g->k_h * g->k_w * g->in_c;
    const int32_t n4 = n & ~3;
    int16_t win[2][TTE_CONV_WIN];
    int32_t b, oy, ox, oc, c;
    for (b = 0; b < g->batch; ++b) {
        const int8_t *xb = x + (size_t)b * g->in_h * g->in_w * g->in_c;
        for (oy = 0; oy < g->out_h; ++oy) {
            int8_t *yr = y + ((size_t)b * g->out_h + oy) * g->out_w * g->out_c;
            for (ox = 0; ox < g->out_w; ox += 2) {
                const int32_t two = ox + 1 < g->out_w;
                int8_t *y0 = yr + (size_t)ox * g->out_c;
                int8_t *y1 = y0 + g->out_c;
                gather_window(p, xb, oy, ox, win[0]);
                if (two) {
                    gather_window(p, xb, oy, ox + 1, win[1]);
                } else {
                    memcpy(win[1], win[0], sizeof win[1]);
                }
                for (oc = 0; oc < g->out_c; ++oc) {
                    const int8_t *wp = w + (size_t)oc * n;
                    int32_t a0 = bias ? bias[oc] : 0;
                    int32_t a1 = a0;
                    c = 0;
#if defined(__ARM_FEATURE_DSP)
                    for (; c < n4; c += 4) {
                        const uint32_t wv = load4(wp + c);
                        const uint32_t we = tte_sxtb16(wv);
                        const uint32_t wo = tte_sxtb16_ror8(wv);
                        uint32_t u[2], v[2];
                        memcpy(u, &win[0][c], sizeof u);
                        memcpy(v, &win[1][c], sizeof v);
                        a0 = tte_smlad(u[1], wo, tte_smlad(u[0], we, a0));
                        a1 = tte_smlad(v[1], wo, tte_smlad(v[0], we, a1));
                    }
#endif
                    for (; c < n; ++c) {
                        a0 += (int32_t)win[0][c] * (int32_t)wp[c];
                        a1 += (int32_t)win[1][c] * (int32_t)wp[c];
                    }
                    y0[oc] = rq(p, fast, a0, oc);
                    if (two) {
                        y1[oc] = rq(p, fast, a1, oc);
                    }
                }
            }
        }
    }
    (void)n4;
}

void tte_conv2d_s8(const tte_conv2d_s8_params_t *p, const int8_t *x, const int8_t *w,
                   const int32_t *bias, int8_t *y)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t fast = tte_conv2d_s8_fast_rq(p);
    if (g->groups == 1 && g->k_h == 1 && g->k_w == 1 && g->stride_h == 1 && g->stride_w == 1
        && g->pad_top == 0 && g->pad_left == 0 && g->out_h == g->in_h && g->out_w == g->in_w) {
        tte_conv2d_s8_pointwise_px(p, fast, x, g->batch * g->in_h * g->in_w, w, bias, y);
    } else if (g->groups == g->in_c && g->groups > 1 && g->k_h <= TTE_CONV_MAX_KH) {
        conv_depthwise(p, fast, x, w, bias, y);
    } else if (g->groups == 1 && g->k_h * g->k_w * g->in_c <= TTE_CONV_WIN) {
        conv_small_window(p, fast, x, w, bias, y);
    } else {
        tte_conv2d_s8_generic(p, x, w, bias, y);
    }
}
