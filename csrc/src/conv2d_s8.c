/* int8 conv2d: regular, grouped, depthwise (any channel multiplier), pointwise. */
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
/* Two int16 lanes: SMLAD computes acc + lo(a)*lo(b) + hi(a)*hi(b), exactly the same
 * integers as the portable loop (int32 accumulation never overflows for int8 products
 * over tte's layer sizes, and the order of integer additions does not matter). */
static inline int32_t smlad(uint32_t a, uint32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smlad %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
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
    for (; c + 1 < n; c += 2) {
        acc = smlad(pack16((int32_t)xp[c] - zp, (int32_t)xp[c + 1] - zp),
                    pack16(wp[c], wp[c + 1]), acc);
    }
#endif
    for (; c < n; ++c) {
        acc += ((int32_t)xp[c] - zp) * (int32_t)wp[c];
    }
    return acc;
}

/* 1x1, stride 1, no padding, groups 1: a matrix product over pixels. */
static void conv_pointwise(const tte_conv2d_s8_params_t *p, const int8_t *x, const int8_t *w,
                           const int32_t *bias, int8_t *y)
{
    const tte_conv2d_geom_t *g = &p->g;
    const size_t pixels = (size_t)g->batch * g->in_h * g->in_w;
    size_t i;
    int32_t oc;
    for (i = 0; i < pixels; ++i) {
        const int8_t *xp = x + i * g->in_c;
        int8_t *yp = y + i * g->out_c;
        for (oc = 0; oc < g->out_c; ++oc) {
            int32_t acc = dot_s8(xp, w + (size_t)oc * g->in_c, g->in_c, p->in_zp);
            if (bias) {
                acc += bias[oc];
            }
            yp[oc] = finish(p, acc, oc);
        }
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
