/* Input gradient of int8 max pooling, recomputing each window's winner from the saved input. */
#include "tte/internal/optimized.h"
#include "tte/structural.h"

void tte_maxpool2d_grad_s8_f32(const tte_pool_params_t *p, const int8_t *x, const float *dy, float *dx)
{
    const size_t n_dx = (size_t)p->batch * p->in_h * p->in_w * p->c;
    int32_t b, oy, ox, ch, ky, kx;
    size_t i;
    for (i = 0; i < n_dx; ++i) {
        dx[i] = 0.0f;
    }
    for (b = 0; b < p->batch; ++b) {
        const size_t base = (size_t)b * p->in_h * p->in_w;
        for (oy = 0; oy < p->out_h; ++oy) {
            for (ox = 0; ox < p->out_w; ++ox) {
                const float *dyo = dy + (((size_t)b * p->out_h + oy) * p->out_w + ox) * p->c;
                for (ch = 0; ch < p->c; ++ch) {
                    int32_t best = 0;
                    long where = -1; /* pixel index of the winner within the image */
                    for (ky = 0; ky < p->k_h; ++ky) {
                        const int32_t iy = oy * p->stride_h - p->pad_top + ky;
                        if (iy < 0 || iy >= p->in_h) {
                            continue;
                        }
                        for (kx = 0; kx < p->k_w; ++kx) {
                            const int32_t ix = ox * p->stride_w - p->pad_left + kx;
                            const long pix = (long)iy * p->in_w + ix;
                            int32_t v;
                            if (ix < 0 || ix >= p->in_w) {
                                continue;
                            }
                            v = x[(base + (size_t)pix) * p->c + ch];
                            if (where < 0 || v > best) {
                                best = v;
                                where = pix;
                            }
                        }
                    }
                    if (where >= 0) {
                        dx[(base + (size_t)where) * p->c + ch] += dyo[ch];
                    }
                }
            }
        }
    }
}
