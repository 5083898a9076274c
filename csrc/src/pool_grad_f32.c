/* Float backward of average pooling and mean. */
#include "tte/internal/optimized.h"
#include "tte/pool.h"

void tte_avgpool2d_grad_f32(const tte_pool_params_t *p, const float *dy, float *dx)
{
    const size_t n_dx = (size_t)p->batch * p->in_h * p->in_w * p->c;
    int32_t b, oy, ox, ch, ky, kx;
    size_t i;
    if (p->out_h == 1 && p->out_w == 1 && p->k_h == p->in_h && p->k_w == p->in_w && p->pad_top == 0 &&
        p->pad_left == 0) {
        /* a global pool: each dx element takes its one share, 0.0f + dy / count (as below: +0 for
         * a -0 share), the quotient formed once per channel */
        const float count = (float)(p->k_h * p->k_w);
        const size_t hw = (size_t)p->in_h * p->in_w;
        for (b = 0; b < p->batch; ++b) {
            const float *dyb = dy + (size_t)b * p->c;
            float *dxb = dx + (size_t)b * hw * p->c;
            for (ch = 0; ch < p->c; ++ch) {
                const float q = 0.0f + dyb[ch] / count;
                float *d = dxb + ch;
                for (i = 0; i < hw; ++i, d += p->c) {
                    *d = q;
                }
            }
        }
        return;
    }
    for (i = 0; i < n_dx; ++i) {
        dx[i] = 0.0f;
    }
    /* taps outermost: every dx element receives its shares in the reference's order */
    for (ky = 0; ky < p->k_h; ++ky) {
        for (kx = 0; kx < p->k_w; ++kx) {
            for (b = 0; b < p->batch; ++b) {
                for (oy = 0; oy < p->out_h; ++oy) {
                    const int32_t iy = oy * p->stride_h - p->pad_top + ky;
                    if (iy < 0 || iy >= p->in_h) {
                        continue;
                    }
                    for (ox = 0; ox < p->out_w; ++ox) {
                        const int32_t ix = ox * p->stride_w - p->pad_left + kx;
                        const float *dyo = dy + (((size_t)b * p->out_h + oy) * p->out_w + ox) * p->c;
                        float *dxi = dx + (((size_t)b * p->in_h + iy) * p->in_w + ix) * p->c;
                        float count;
                        if (ix < 0 || ix >= p->in_w) {
                            continue;
                        }
                        if (p->count_include_pad) {
                            count = (float)(p->k_h * p->k_w);
                        } else {
                            int32_t y0 = oy * p->stride_h - p->pad_top, x0 = ox * p->stride_w - p->pad_left;
                            int32_t y1 = y0 + p->k_h, x1 = x0 + p->k_w;
                            y0 = y0 < 0 ? 0 : y0;
                            x0 = x0 < 0 ? 0 : x0;
                            y1 = y1 > p->in_h ? p->in_h : y1;
                            x1 = x1 > p->in_w ? p->in_w : x1;
                            count = (float)((y1 - y0) * (x1 - x0));
                        }
                        for (ch = 0; ch < p->c; ++ch) {
                            dxi[ch] += dyo[ch] / count;
                        }
                    }
                }
            }
        }
    }
}

void tte_mean_grad_f32(int32_t outer, int32_t reduce, int32_t inner, const float *dy, float *dx)
{
    const float count = (float)reduce;
    int32_t o, r, i;
    for (o = 0; o < outer; ++o) {
        for (r = 0; r < reduce; ++r) {
            float *dxp = dx + ((size_t)o * reduce + r) * inner;
            for (i = 0; i < inner; ++i) {
                dxp[i] = dy[(size_t)o * inner + i] / count;
            }
        }
    }
}
