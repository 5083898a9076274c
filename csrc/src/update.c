/* Fused weight-gradient + QAS / SGD update kernels: conv, fully connected, bias, and the
 * unfused sgd_update (QAS steps: tte/internal/qas.h). */
#include "tte/internal/optimized.h"
#include "tte/update.h"

#include "tte/internal/qas.h"
#include "tte/internal/window.h"

static float read_x(const int8_t *x_q, const float *x_f, float x_scale, int32_t x_zp, size_t i)
{
    return x_q ? (float)((int32_t)x_q[i] - x_zp) * x_scale : x_f[i];
}

/* dL/dw[o, ky, kx, c] for absolute output channel o and in-group channel c. The valid output
 * rectangle of the tap is found once; the sum runs over it in (b, oy, ox) order with the same
 * float operations per term as the plain loop nest, so the result is the same float. */
static float conv_weight_grad(const tte_conv2d_geom_t *g, int32_t o, int32_t ky, int32_t kx, int32_t c,
                              const int8_t *x_q, const float *x_f, float x_scale, int32_t x_zp,
                              const float *dy)
{
    const int32_t cin_g = g->in_c / g->groups;
    const int32_t cabs = (o / (g->out_c / g->groups)) * cin_g + c;
    const int32_t offy = ky * g->dil_h - g->pad_top;
    const int32_t offx = kx * g->dil_w - g->pad_left;
    const size_t xstep = (size_t)g->stride_w * g->in_c;
    const size_t ystep = (size_t)g->out_c;
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
            const float *dyp = dy + (((size_t)b * g->out_h + oy) * g->out_w + ox0) * g->out_c + o;
            if (x_q != NULL) {
                const int8_t *xp = x_q + xi;
                for (k = 0; k < n; ++k) {
                    acc += *dyp * ((float)((int32_t)*xp - x_zp) * x_scale);
                    dyp += ystep;
                    xp += xstep;
                }
            } else {
                const float *xp = x_f + xi;
                for (k = 0; k < n; ++k) {
                    acc += *dyp * *xp;
                    dyp += ystep;
                    xp += xstep;
                }
            }
        }
    }
    return acc;
}

#define TTE_CONV_UPDATE_LOOP(APPLY)                                                            \
    const int32_t cin_g = g->in_c / g->groups;                                                 \
    int32_t oi, ky, kx, ci;                                                                    \
    uint32_t index = 0;                                                                        \
    for (oi = 0; oi < u->n_out; ++oi) {                                                        \
        const int32_t o = sel(u->out_idx, oi);                                                 \
        const float kf = u->scale != NULL ? qas_factor_s8(u, oi) : 0.0f;                       \
        (void)kf;                                                                              \
        for (ky = 0; ky < g->k_h; ++ky) {                                                      \
            for (kx = 0; kx < g->k_w; ++kx) {                                                  \
                for (ci = 0; ci < u->n_in; ++ci, ++index) {                                    \
                    const int32_t c = sel(u->in_idx, ci);                                      \
                    const size_t wi = (((size_t)o * g->k_h + ky) * g->k_w + kx) * cin_g + c;   \
                    const float gr = conv_weight_grad(g, o, ky, kx, c, x_q, x_f, x_scale,      \
                                                      x_zp, dy);                               \
                    APPLY;                                                                     \
                }                                                                              \
            }                                                                                  \
        }                                                                                      \
    }                                                                                          \
    (void)index

void tte_conv2d_weight_update_s8(const tte_conv2d_geom_t *g, const tte_update_params_t *u, int8_t *w,
                                 const int8_t *x_q, const float *x_f, float x_scale, int32_t x_zp,
                                 const float *dy, int32_t step)
{
    TTE_CONV_UPDATE_LOOP(w[wi] = apply_s8(w[wi], qas_steps_s8(u, kf, gr, index, step)));
}

void tte_conv2d_weight_update_f32(const tte_conv2d_geom_t *g, const tte_update_params_t *u, float *w,
                                  const int8_t *x_q, const float *x_f, float x_scale, int32_t x_zp,
                                  const float *dy)
{
    const float lr = (float)tte_update_lr(u);
    TTE_CONV_UPDATE_LOOP(w[wi] -= lr * gr);
}

static float fc_weight_grad(int32_t rows, int32_t in_features, int32_t out_features, int32_t n, int32_t k,
                            const int8_t *x_q, const float *x_f, float x_scale, int32_t x_zp, const float *dy)
{
    float acc = 0.0f;
    int32_t r;
    for (r = 0; r < rows; ++r) {
        acc += dy[(size_t)r * out_features + n]
               * read_x(x_q, x_f, x_scale, x_zp, (size_t)r * in_features + k);
    }
    return acc;
}

#define TTE_FC_UPDATE_LOOP(APPLY)                                                              \
    int32_t oi, ki;                                                                            \
    uint32_t index = 0;                                                                        \
    for (oi = 0; oi < u->n_out; ++oi) {                                                        \
        const int32_t n = sel(u->out_idx, oi);                                                 \
        const float kf = u->scale != NULL ? qas_factor_s8(u, oi) : 0.0f;                       \
        (void)kf;                                                                              \
        for (ki = 0; ki < u->n_in; ++ki, ++index) {                                            \
            const int32_t k = sel(u->in_idx, ki);                                              \
            const size_t wi = (size_t)n * in_features + k;                                     \
            const float gr = fc_weight_grad(rows, in_features, out_features, n, k, x_q, x_f,   \
                                            x_scale, x_zp, dy);                                \
            APPLY;                                                                             \
        }                                                                                      \
    }                                                                                          \
    (void)index

/* Gradients of an FC weight row taken at a time by tte_fc_weight_update_s8 (on the stack). */
#define TTE_FC_UPDATE_CHUNK 32

void tte_fc_weight_update_s8(int32_t rows, int32_t in_features, int32_t out_features,
                             const tte_update_params_t *u, int8_t *w, const int8_t *x_q, const float *x_f,
                             float x_scale, int32_t x_zp, const float *dy, int32_t step)
{
    /* TTE_FC_UPDATE_LOOP's qas_steps_s8 and apply_s8, each row's gradients a chunk at a time
     * through qas_apply_row_s8 (the same steps, hash indices oi * n_in + ki) */
    float g[TTE_FC_UPDATE_CHUNK];
    int32_t oi, k0, j;
    for (oi = 0; oi < u->n_out; ++oi) {
        const int32_t n = sel(u->out_idx, oi);
        const float kf = u->scale != NULL ? qas_factor_s8(u, oi) : 0.0f;
        const uint32_t base = (uint32_t)oi * (uint32_t)u->n_in;
        int8_t *const wrow = w + (size_t)n * in_features;
        for (k0 = 0; k0 < u->n_in; k0 += TTE_FC_UPDATE_CHUNK) {
            const int32_t m = u->n_in - k0 < TTE_FC_UPDATE_CHUNK ? u->n_in - k0 : TTE_FC_UPDATE_CHUNK;
            for (j = 0; j < m; ++j) {
                g[j] = fc_weight_grad(rows, in_features, out_features, n, sel(u->in_idx, k0 + j), x_q, x_f,
                                      x_scale, x_zp, dy);
            }
            if (u->in_idx != NULL) {
                qas_apply_row_s8(u, kf, g, m, wrow, u->in_idx + k0, base + (uint32_t)k0, step);
            } else {
                qas_apply_row_s8(u, kf, g, m, wrow + k0, NULL, base + (uint32_t)k0, step);
            }
        }
    }
}

void tte_fc_weight_update_f32(int32_t rows, int32_t in_features, int32_t out_features,
                              const tte_update_params_t *u, float *w, const int8_t *x_q, const float *x_f,
                              float x_scale, int32_t x_zp, const float *dy)
{
    const float lr = (float)tte_update_lr(u);
    TTE_FC_UPDATE_LOOP(w[wi] -= lr * gr);
}

static float bias_grad(int32_t rows, int32_t channels, int32_t n, const float *dy)
{
    float acc = 0.0f;
    int32_t r;
    for (r = 0; r < rows; ++r) {
        acc += dy[(size_t)r * channels + n];
    }
    return acc;
}

/* bias_grad of eight consecutive channels n0..n0 + 7 at once into g (each its own sum, in row
 * order): a row's eight values are read together instead of one strided walk per channel */
static void bias_grad8(int32_t rows, int32_t channels, int32_t n0, const float *dy, float *g)
{
    float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f, a4 = 0.0f, a5 = 0.0f, a6 = 0.0f, a7 = 0.0f;
    const float *p = dy + n0;
    int32_t r;
    for (r = 0; r < rows; ++r, p += channels) {
        a0 += p[0];
        a1 += p[1];
        a2 += p[2];
        a3 += p[3];
        a4 += p[4];
        a5 += p[5];
        a6 += p[6];
        a7 += p[7];
    }
    g[0] = a0;
    g[1] = a1;
    g[2] = a2;
    g[3] = a3;
    g[4] = a4;
    g[5] = a5;
    g[6] = a6;
    g[7] = a7;
}

void tte_bias_update_s32(int32_t rows, int32_t channels, const tte_update_params_t *u, int32_t *b,
                         const float *dy, int32_t step)
{
    const float lr = (float)tte_update_lr(u);
    int32_t oi = 0;
    if (u->out_idx == NULL) {
        /* every channel: eight at a time */
        float g[8];
        int32_t j;
        for (; oi + 8 <= u->n_out; oi += 8) {
            bias_grad8(rows, channels, oi, dy, g);
            for (j = 0; j < 8; ++j) {
                b[oi + j] = apply_s32(b[oi + j], qas_steps_bias(u, qas_factor_bias(u, lr, oi + j), g[j], oi + j,
                                                                (uint32_t)(oi + j), step));
            }
        }
    }
    for (; oi < u->n_out; ++oi) {
        const int32_t n = sel(u->out_idx, oi);
        b[n] = apply_s32(b[n], qas_steps_bias(u, qas_factor_bias(u, lr, oi), bias_grad(rows, channels, n, dy), oi,
                                              (uint32_t)oi, step));
    }
}

void tte_bias_update_f32(int32_t rows, int32_t channels, const tte_update_params_t *u, float *b,
                         const float *dy)
{
    const float lr = (float)tte_update_lr(u);
    int32_t oi;
    for (oi = 0; oi < u->n_out; ++oi) {
        const int32_t n = sel(u->out_idx, oi);
        b[n] -= lr * bias_grad(rows, channels, n, dy);
    }
}

#define TTE_SGD_LOOP(APPLY)                                                                    \
    int32_t oi, m, ci;                                                                         \
    uint32_t index = 0;                                                                        \
    (void)d0;                                                                                  \
    for (oi = 0; oi < u->n_out; ++oi) {                                                        \
        const int32_t o = sel(u->out_idx, oi);                                                 \
        const float kf = u->scale != NULL && u->n_scale >= 1 ? qas_factor_s8(u, oi) : 0.0f;   \
        (void)kf;                                                                              \
        for (m = 0; m < mid; ++m) {                                                            \
            for (ci = 0; ci < u->n_in; ++ci, ++index) {                                        \
                const size_t wi = ((size_t)o * mid + m) * dlast + sel(u->in_idx, ci);          \
                const float gr = grad[index];                                                  \
                APPLY;                                                                         \
            }                                                                                  \
        }                                                                                      \
    }

void tte_sgd_update_s8(const tte_update_params_t *u, int8_t *w, int32_t d0, int32_t mid, int32_t dlast,
                       const float *grad, int32_t step)
{
    /* TTE_SGD_LOOP's qas_steps_s8 and apply_s8, a row of n_in weights at a time */
    int32_t oi, m;
    uint32_t index = 0;
    (void)d0;
    for (oi = 0; oi < u->n_out; ++oi) {
        const int32_t o = sel(u->out_idx, oi);
        const float kf = u->scale != NULL && u->n_scale >= 1 ? qas_factor_s8(u, oi) : 0.0f;
        for (m = 0; m < mid; ++m, index += (uint32_t)u->n_in) {
            qas_apply_row_s8(u, kf, grad + index, u->n_in, w + ((size_t)o * mid + m) * dlast, u->in_idx, index, step);
        }
    }
}

void tte_sgd_update_s32(const tte_update_params_t *u, int32_t *w, int32_t d0, int32_t mid, int32_t dlast,
                        const float *grad, int32_t step)
{
    TTE_SGD_LOOP(w[wi] = apply_s32(w[wi], qas_steps(u, gr, oi, index, step)))
}

void tte_sgd_update_f32(const tte_update_params_t *u, float *w, int32_t d0, int32_t mid, int32_t dlast,
                        const float *grad)
{
    const float lr = (float)tte_update_lr(u);
    TTE_SGD_LOOP(w[wi] -= lr * gr)
}
