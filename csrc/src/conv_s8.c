/* int8 conv2d: the dispatcher tte_conv2d_s8 (regular, grouped, depthwise with any channel
 * multiplier, pointwise) and the generic loop nest every path must equal.
 *
 * Fast paths (pointwise_s8.c, depthwise_s8.c, the stem's small windows in conv_stem_s8.c, the
 * larger windows of regular convs in conv_window_s8.c) and
 * the generic loop nest give the same bytes: integer sums do not depend on their order, and
 * the output stage is tte_rq_fast (common.h) only when it equals the exact requantization for
 * every channel. */
#include "tte/internal/optimized.h"
#include "tte/internal/conv_s8.h"

static int8_t finish(const tte_conv2d_s8_params_t *p, int32_t acc, int32_t oc)
{
    return (int8_t)tte_rq_exact(acc, p->mult[oc], p->shift[oc], p->out_zp, p->act_min, p->act_max);
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

int32_t tte_conv2d_s8_scratch_bytes(const tte_conv2d_s8_params_t *p)
{
    return tte_conv_scratch_bytes(&p->g);
}

int32_t tte_conv2d_s8_pointwise_buffer_bytes(const tte_conv2d_s8_params_t *p)
{
    const int32_t n = p->g.in_c;
    return tte_conv_path(&p->g) == TTE_PATH_POINTWISE && n % 8 == 0 && 2 * n > TTE_PW_PAIRS_STACK ? 8 * n : 0;
}

void tte_conv2d_s8(const tte_conv2d_s8_params_t *p, const int8_t *x, const int8_t *w,
                   const int32_t *bias, int8_t *y)
{
    tte_conv2d_s8_ws(p, x, w, bias, y, NULL);
}

void tte_conv2d_s8_ws_sized(const tte_conv2d_s8_params_t *p, const int8_t *x, const int8_t *w,
                            const int32_t *bias, int8_t *y, void *scratch, int32_t scratch_bytes)
{
    const tte_conv2d_geom_t *g = &p->g;
    if (scratch != NULL && tte_conv_path(g) == TTE_PATH_POINTWISE && scratch_bytes >= 16 * g->in_c) {
        /* eight pixels' buffer (pointwise_px_buf with TTE_PW_BUF8) */
        tte_conv2d_s8_pointwise_px_buf(p, tte_conv2d_s8_fast_rq(p) | TTE_PW_BUF8, x, g->batch * g->in_h * g->in_w, w,
                                       bias, y, (int16_t *)scratch);
        return;
    }
    tte_conv2d_s8_ws(p, x, w, bias, y, scratch);
}

void tte_conv2d_s8_ws(const tte_conv2d_s8_params_t *p, const int8_t *x, const int8_t *w,
                      const int32_t *bias, int8_t *y, void *scratch)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t fast = tte_conv2d_s8_fast_rq(p);
    switch (tte_conv_path(g)) {
    case TTE_PATH_POINTWISE:
        /* scratch (optional here): the pixel buffer of tte_conv2d_s8_pointwise_px_buf */
        tte_conv2d_s8_pointwise_px_buf(p, fast, x, g->batch * g->in_h * g->in_w, w, bias, y, (int16_t *)scratch);
        return;
    case TTE_PATH_DEPTHWISE:
        tte_conv2d_s8_depthwise(p, fast, x, w, bias, y);
        return;
    case TTE_PATH_SMALL_WINDOW:
#if defined(__ARM_FEATURE_DSP)
        if (g->k_h * g->dil_h * g->in_w * g->in_c < 32768) {
            tte_conv2d_s8_small_window_dsp(p, fast, x, w, bias, y);
            return;
        }
        break;
#else
        tte_conv2d_s8_small_window(p, fast, x, w, bias, y);
        return;
#endif
    case TTE_PATH_WINDOW:
#if defined(__ARM_FEATURE_DSP)
        if (scratch != NULL && tte_conv_strip(g)) {
            tte_conv2d_s8_strip_dsp(p, fast, x, w, bias, y, scratch);
            return;
        }
        if (scratch != NULL && tte_conv_gemm(g)) {
            tte_conv2d_s8_gemm_dsp(p, fast, x, w, bias, y, scratch);
            return;
        }
        if (scratch != NULL) {
            tte_conv2d_s8_window_dsp(p, fast, x, w, bias, y, scratch);
            return;
        }
#endif
        break;
    case TTE_PATH_GENERIC:
        break;
    }
    (void)scratch;
    tte_conv2d_s8_generic(p, x, w, bias, y);
}
