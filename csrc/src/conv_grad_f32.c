/* Input gradients of conv2d (any groups, depthwise multiplier) and fully connected. */
#include "tte/internal/optimized.h"
#include "tte/grad.h"

static float weight(const int8_t *w_q, const float *w_f, const float *w_scale, size_t i, int32_t ch)
{
    return w_q ? (float)w_q[i] * w_scale[ch] : w_f[i];
}

void tte_conv2d_grad_input_f32(const tte_conv2d_geom_t *g, const float *dy, const int8_t *w_q,
                               const float *w_f, const float *w_scale, float *dx)
{
    const int32_t cin_g = g->in_c / g->groups;
    const int32_t cout_g = g->out_c / g->groups;
    const size_t n_dx = (size_t)g->batch * g->in_h * g->in_w * g->in_c;
    int32_t b, oy, ox, oc, ky, kx, c;
    size_t i;
    for (i = 0; i < n_dx; ++i) {
        dx[i] = 0.0f;
    }
    for (b = 0; b < g->batch; ++b) {
        for (oy = 0; oy < g->out_h; ++oy) {
            for (ox = 0; ox < g->out_w; ++ox) {
                const float *dyo = dy + (((size_t)b * g->out_h + oy) * g->out_w + ox) * g->out_c;
                for (oc = 0; oc < g->out_c; ++oc) {
                    const float d = dyo[oc];
                    const int32_t c0 = (oc / cout_g) * cin_g;
                    if (d == 0.0f) {
                        continue; /* masked: adding +-0 products changes no sum */
                    }
                    for (ky = 0; ky < g->k_h; ++ky) {
                        const int32_t iy = oy * g->stride_h - g->pad_top + ky * g->dil_h;
                        if (iy < 0 || iy >= g->in_h) {
                            continue;
                        }
                        for (kx = 0; kx < g->k_w; ++kx) {
                            const int32_t ix = ox * g->stride_w - g->pad_left + kx * g->dil_w;
                            float *dxp;
                            size_t wi;
                            if (ix < 0 || ix >= g->in_w) {
                                continue;
                            }
                            dxp = dx + (((size_t)b * g->in_h + iy) * g->in_w + ix) * g->in_c + c0;
                            wi = (((size_t)oc * g->k_h + ky) * g->k_w + kx) * cin_g;
                            /* the same float operations per term as weight(): one branch and
                             * one scale load per tap instead of per channel */
                            if (w_q != NULL) {
                                const int8_t *wp = w_q + wi;
                                const float s = w_scale[oc];
                                for (c = 0; c < cin_g; ++c) {
                                    dxp[c] += d * ((float)wp[c] * s);
                                }
                            } else {
                                const float *wp = w_f + wi;
                                for (c = 0; c < cin_g; ++c) {
                                    dxp[c] += d * wp[c];
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

void tte_fc_grad_input_f32(int32_t rows, int32_t in_features, int32_t out_features, const float *dy,
                           const int8_t *w_q, const float *w_f, const float *w_scale,
                           int32_t per_channel, float *dx)
{
    int32_t r, n, k;
    for (r = 0; r < rows; ++r) {
        float *dxr = dx + (size_t)r * in_features;
        const float *dyr = dy + (size_t)r * out_features;
        for (k = 0; k < in_features; ++k) {
            dxr[k] = 0.0f;
        }
        for (n = 0; n < out_features; ++n) {
            const float d = dyr[n];
            const size_t wn = (size_t)n * in_features;
            if (d == 0.0f) {
                continue;
            }
            for (k = 0; k < in_features; ++k) {
                dxr[k] += d * weight(w_q, w_f, w_scale, wn + k, per_channel ? n : 0);
            }
        }
    }
}
