/* Bias and conv weight updates reading a global average pool's masked gradient lazily
 * (tte/pooled_update.h). */
#include "tte/internal/optimized.h"
#include "tte/pooled_update.h"

#include "tte/internal/qas.h"
#include "tte/internal/window.h"

/* G[i] for flat element i of a channel whose share (tte_avgpool2d_grad_f32's 0.0f + dyp / count)
 * is s: then tte_mask_grad_f32, or none when mask is NULL */
static float masked(float s, const uint8_t *mask, size_t i)
{
    return mask == NULL || ((mask[i >> 3] >> (i & 7)) & 1u) ? s : 0.0f;
}

/* G[i] for flat element i of channel c */
static float pooled(const float *dyp, float count, const uint8_t *mask, size_t i, int32_t c)
{
    return masked(0.0f + dyp[c] / count, mask, i);
}

void tte_pooled_bias_update_s32(int32_t rows, int32_t channels, const tte_update_params_t *u, int32_t *b,
                                const float *dyp, float count, const uint8_t *mask, int32_t step)
{
    const float lr = (float)tte_update_lr(u);
    int32_t oi, r;
    for (oi = 0; oi < u->n_out; ++oi) {
        const int32_t n = sel(u->out_idx, oi);
        const float share = 0.0f + dyp[n] / count;
        float acc = 0.0f;
        if (mask == NULL) {
            /* the pool's gradient itself: the share summed once per row, as the stored one is */
            for (r = 0; r < rows; ++r) {
                acc += share;
            }
        } else {
            for (r = 0; r < rows; ++r) {
                acc += masked(share, mask, (size_t)r * channels + n);
            }
        }
        b[n] = apply_s32(b[n], qas_steps_bias(u, qas_factor_bias(u, lr, oi), acc, oi, (uint32_t)oi, step));
    }
}

/* dL/dw[o, ky, kx, c] as conv_weight_grad of update.c, with dy read through pooled() */
static float weight_grad(const tte_conv2d_geom_t *g, int32_t o, int32_t ky, int32_t kx, int32_t c,
                         const int8_t *x_q, const float *x_f, float x_scale, int32_t x_zp,
                         const float *dyp, float count, const uint8_t *mask)
{
    const int32_t cin_g = g->in_c / g->groups;
    const int32_t cabs = (o / (g->out_c / g->groups)) * cin_g + c;
    const int32_t offy = ky * g->dil_h - g->pad_top;
    const int32_t offx = kx * g->dil_w - g->pad_left;
    const size_t xstep = (size_t)g->stride_w * g->in_c;
    const float share = 0.0f + dyp[o] / count;
    float acc = 0.0f;
    int32_t b, oy, oy0, oy1, ox0, ox1, n, k;
    valid_range(g->out_h, g->stride_h, offy, g->in_h, &oy0, &oy1);
    valid_range(g->out_w, g->stride_w, offx, g->in_w, &ox0, &ox1);
    n = ox1 - ox0;
    if (n <= 0) {
        return acc;
    }
    for (b = 0; b < g->batch; ++b) {
        for (oy = oy0; oy < oy1; ++oy) {
            const int32_t iy = oy * g->stride_h + offy;
            const size_t xi = (((size_t)b * g->in_h + iy) * g->in_w + (ox0 * g->stride_w + offx)) * g->in_c
                              + cabs;
            size_t di = (((size_t)b * g->out_h + oy) * g->out_w + ox0) * g->out_c + o;
            for (k = 0; k < n; ++k) {
                const float d = masked(share, mask, di);
                const size_t xk = xi + (size_t)k * xstep;
                if (x_q != NULL) {
                    acc += d * ((float)((int32_t)x_q[xk] - x_zp) * x_scale);
                } else {
                    acc += d * x_f[xk];
                }
                di += (size_t)g->out_c;
            }
        }
    }
    return acc;
}

void tte_pooled_conv2d_weight_update_s8(const tte_conv2d_geom_t *g, const tte_update_params_t *u, int8_t *w,
                                        const int8_t *x_q, const float *x_f, float x_scale, int32_t x_zp,
                                        const float *dyp, float count, const uint8_t *mask, int32_t step)
{
    const int32_t cin_g = g->in_c / g->groups;
    int32_t oi, ky, kx, ci;
    uint32_t index = 0;
    for (oi = 0; oi < u->n_out; ++oi) {
        const int32_t o = sel(u->out_idx, oi);
        const float kf = u->scale != NULL ? qas_factor_s8(u, oi) : 0.0f;
        for (ky = 0; ky < g->k_h; ++ky) {
            for (kx = 0; kx < g->k_w; ++kx) {
                for (ci = 0; ci < u->n_in; ++ci, ++index) {
                    const int32_t c = sel(u->in_idx, ci);
                    const size_t wi = (((size_t)o * g->k_h + ky) * g->k_w + kx) * cin_g + c;
                    const float gr = weight_grad(g, o, ky, kx, c, x_q, x_f, x_scale, x_zp, dyp, count, mask);
                    w[wi] = apply_s8(w[wi], qas_steps_s8(u, kf, gr, index, step));
                }
            }
        }
    }
}

void tte_pooled_pointwise_grad_input_f32(const tte_conv2d_geom_t *g, const int8_t *w_q, const float *w_f,
                                         const float *w_scale, const float *dyp, float count, const uint8_t *mask,
                                         float *dx)
{
    const int32_t cin = g->in_c, cout = g->out_c;
    const size_t n = (size_t)g->batch * g->in_h * g->in_w;
    size_t p;
    int32_t oc, c;
    /* tte_conv2d_grad_input_f32's loop nest for a 1x1 kernel (stride 1, unpadded, groups 1) */
    for (p = 0; p < n; ++p) {
        float *dxp = dx + p * (size_t)cin;
        for (c = 0; c < cin; ++c) {
            dxp[c] = 0.0f;
        }
        for (oc = 0; oc < cout; ++oc) {
            const float d = pooled(dyp, count, mask, p * (size_t)cout + oc, oc);
            const size_t wi = (size_t)oc * cin;
            if (d == 0.0f) {
                continue;
            }
            if (w_q != NULL) {
                const float s = w_scale[oc];
                for (c = 0; c < cin; ++c) {
                    dxp[c] += d * ((float)w_q[wi + c] * s);
                }
            } else {
                for (c = 0; c < cin; ++c) {
                    dxp[c] += d * w_f[wi + c];
                }
            }
        }
    }
}
