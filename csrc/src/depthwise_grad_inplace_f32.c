/* In-place depthwise input gradient (TinyEngine-style one-channel temporary buffer). */
#include "tte/internal/optimized.h"
#include "tte/grad.h"

void tte_depthwise_grad_input_inplace_f32(const tte_conv2d_geom_t *g, float *dyx, const int8_t *w_q,
                                          const float *w_f, const float *w_scale, float *tmp)
{
    const int32_t c_n = g->in_c;
    const size_t image = (size_t)g->in_h * g->in_w * c_n;
    int32_t b, c, oy, ox, ky, kx;
    size_t i;
    for (b = 0; b < g->batch; ++b) {
        float *base = dyx + (size_t)b * image;
        for (c = 0; c < c_n; ++c) {
            const size_t wc = (size_t)c * g->k_h * g->k_w;
            for (i = 0; i < (size_t)g->out_h * g->out_w; ++i) {
                tmp[i] = base[i * c_n + c];
            }
            for (i = 0; i < (size_t)g->in_h * g->in_w; ++i) {
                base[i * c_n + c] = 0.0f;
            }
            /* the loop nest of tte_conv2d_grad_input_f32 restricted to channel c */
            for (oy = 0; oy < g->out_h; ++oy) {
                for (ox = 0; ox < g->out_w; ++ox) {
                    const float d = tmp[(size_t)oy * g->out_w + ox];
                    if (d == 0.0f) {
                        continue;
                    }
                    for (ky = 0; ky < g->k_h; ++ky) {
                        const int32_t iy = oy * g->stride_h - g->pad_top + ky * g->dil_h;
                        if (iy < 0 || iy >= g->in_h) {
                            continue;
                        }
                        for (kx = 0; kx < g->k_w; ++kx) {
                            const int32_t ix = ox * g->stride_w - g->pad_left + kx * g->dil_w;
                            const size_t wi = wc + (size_t)ky * g->k_w + kx;
                            if (ix < 0 || ix >= g->in_w) {
                                continue;
                            }
                            base[((size_t)iy * g->in_w + ix) * c_n + c]
                                += d * (w_q ? (float)w_q[wi] * w_scale[c] : w_f[wi]);
                        }
                    }
                }
            }
        }
    }
}
