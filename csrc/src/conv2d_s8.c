/* int8 conv2d: regular, grouped, depthwise (any channel multiplier), pointwise. */
#include <string.h>

#include "tte/conv.h"

static int8_t finish(const tte_conv2d_s8_params_t *p, int32_t acc, int32_t oc)
{
    int32_t v = tte_mbqm(acc, p->mult[oc], p->shift[oc]) + p->out_zp;
    return (int8_t)tte_clamp_i32(v, p->act_min, p->act_max);
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
/* SIMD on two int16 lanes. SXTB16 sign-extends bytes 0 and 2 of a word (with ROR #8: bytes 1
 * and 3) into the two halves; SSUB16 subtracts halfwise (x - zp lies in [-255, 255], no
 * wrap); SMLAD computes acc + lo(a)*lo(b) + hi(a)*hi(b). Every product and sum is the same
 * integer as in the portable loop (int32 accumulation never overflows for int8 products over
 * tte's layer sizes, and the order of integer additions does not matter): bit-identical. */
static inline int32_t smlad(uint32_t a, uint32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smlad %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}
static inline uint32_t sxtb16(uint32_t x)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1" : "=r"(r) : "r"(x));
    return r;
}
static inline uint32_t sxtb16_ror8(uint32_t x)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}
static inline uint32_t ssub16(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("ssub16 %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
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
#endif

/* Sum of (x[c] - zp) * w[c] over n channels. */
static int32_t dot_s8(const int8_t *xp, const int8_t *wp, int32_t n, int32_t zp)
{
    int32_t acc = 0;
    int32_t c = 0;
#if defined(__ARM_FEATURE_DSP)
    const uint32_t zz = pack16(zp, zp);
    for (; c + 3 < n; c += 4) {
        const uint32_t xv = load4(xp + c);
        const uint32_t wv = load4(wp + c);
        acc = smlad(ssub16(sxtb16(xv), zz), sxtb16(wv), acc);
        acc = smlad(ssub16(sxtb16_ror8(xv), zz), sxtb16_ror8(wv), acc);
    }
#endif
    for (; c < n; ++c) {
        acc += ((int32_t)xp[c] - zp) * (int32_t)wp[c];
    }
    return acc;
}

/* One pixel of a 1x1 conv: y[oc] for every output channel from the in_c values at xp. */
static void pointwise_pixel(const tte_conv2d_s8_params_t *p, const int8_t *xp, const int8_t *w,
                            const int32_t *bias, int8_t *yp)
{
    const int32_t n = p->g.in_c;
    const int32_t zp = p->in_zp;
    int32_t oc = 0;
#if defined(__ARM_FEATURE_DSP)
    /* four output channels share each unpacked word of x */
    const uint32_t zz = pack16(zp, zp);
    for (; oc + 3 < p->g.out_c; oc += 4) {
        const int8_t *w0 = w + (size_t)oc * n;
        const int8_t *w1 = w0 + n;
        const int8_t *w2 = w1 + n;
        const int8_t *w3 = w2 + n;
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        int32_t c = 0;
        for (; c + 3 < n; c += 4) {
            const uint32_t xv = load4(xp + c);
            const uint32_t xe = ssub16(sxtb16(xv), zz);
            const uint32_t xo = ssub16(sxtb16_ror8(xv), zz);
            uint32_t wv = load4(w0 + c);
            a0 = smlad(xo, sxtb16_ror8(wv), smlad(xe, sxtb16(wv), a0));
            wv = load4(w1 + c);
            a1 = smlad(xo, sxtb16_ror8(wv), smlad(xe, sxtb16(wv), a1));
            wv = load4(w2 + c);
            a2 = smlad(xo, sxtb16_ror8(wv), smlad(xe, sxtb16(wv), a2));
            wv = load4(w3 + c);
            a3 = smlad(xo, sxtb16_ror8(wv), smlad(xe, sxtb16(wv), a3));
        }
        for (; c < n; ++c) {
            const int32_t xv = (int32_t)xp[c] - zp;
            a0 += xv * (int32_t)w0[c];
            a1 += xv * (int32_t)w1[c];
            a2 += xv * (int32_t)w2[c];
            a3 += xv * (int32_t)w3[c];
        }
        if (bias) {
            a0 += bias[oc];
            a1 += bias[oc + 1];
            a2 += bias[oc + 2];
            a3 += bias[oc + 3];
        }
        yp[oc] = finish(p, a0, oc);
        yp[oc + 1] = finish(p, a1, oc + 1);
        yp[oc + 2] = finish(p, a2, oc + 2);
        yp[oc + 3] = finish(p, a3, oc + 3);
    }
#endif
    for (; oc < p->g.out_c; ++oc) {
        int32_t acc = dot_s8(xp, w + (size_t)oc * n, n, zp);
        if (bias) {
            acc += bias[oc];
        }
        yp[oc] = finish(p, acc, oc);
    }
}

/* 1x1, stride 1, no padding, groups 1: a matrix product over pixels. */
static void conv_pointwise(const tte_conv2d_s8_params_t *p, const int8_t *x, const int8_t *w,
                           const int32_t *bias, int8_t *y)
{
    const tte_conv2d_geom_t *g = &p->g;
    const size_t pixels = (size_t)g->batch * g->in_h * g->in_w;
    size_t i;
    for (i = 0; i < pixels; ++i) {
        pointwise_pixel(p, x + i * g->in_c, w, bias, y + i * g->out_c);
    }
}

/* groups == in_c, one input channel per group: accumulate per output channel over taps. */
static void conv_depthwise(const tte_conv2d_s8_params_t *p, const int8_t *x, const int8_t *w,
                           const int32_t *bias, int8_t *y)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t mult = g->out_c / g->in_c;
    const int32_t taps = g->k_h * g->k_w;
    int32_t b, oy, ox, oc, ky, kx;
    for (b = 0; b < g->batch; ++b) {
        const int8_t *xb = x + (size_t)b * g->in_h * g->in_w * g->in_c;
        for (oy = 0; oy < g->out_h; ++oy) {
            const int32_t iy0 = oy * g->stride_h - g->pad_top;
            for (ox = 0; ox < g->out_w; ++ox) {
                const int32_t ix0 = ox * g->stride_w - g->pad_left;
                int8_t *yo = y + (((size_t)b * g->out_h + oy) * g->out_w + ox) * g->out_c;
                for (oc = 0; oc < g->out_c; ++oc) {
                    const int32_t ic = oc / mult;
                    const int8_t *wo = w + (size_t)oc * taps;
                    int32_t acc = bias ? bias[oc] : 0;
                    for (ky = 0; ky < g->k_h; ++ky) {
                        const int32_t iy = iy0 + ky * g->dil_h;
                        if (iy < 0 || iy >= g->in_h) {
                            continue;
                        }
                        for (kx = 0; kx < g->k_w; ++kx) {
                            const int32_t ix = ix0 + kx * g->dil_w;
                            if (ix < 0 || ix >= g->in_w) {
                                continue;
                            }
                            acc += ((int32_t)xb[((size_t)iy * g->in_w + ix) * g->in_c + ic] - p->in_zp)
                                   * (int32_t)wo[ky * g->k_w + kx];
                        }
                    }
                    yo[oc] = finish(p, acc, oc);
                }
            }
        }
    }
}

void tte_conv2d_s8(const tte_conv2d_s8_params_t *p, const int8_t *x, const int8_t *w,
                   const int32_t *bias, int8_t *y)
{
    const tte_conv2d_geom_t *g = &p->g;
    if (g->groups == 1 && g->k_h == 1 && g->k_w == 1 && g->stride_h == 1 && g->stride_w == 1
        && g->pad_top == 0 && g->pad_left == 0 && g->out_h == g->in_h && g->out_w == g->in_w) {
        conv_pointwise(p, x, w, bias, y);
    } else if (g->groups == g->in_c && g->groups > 1) {
        conv_depthwise(p, x, w, bias, y);
    } else {
        tte_conv2d_s8_generic(p, x, w, bias, y);
    }
}
