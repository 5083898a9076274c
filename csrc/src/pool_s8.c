/* int8 average / max pooling and mean. */
#include "tte/pool.h"

void tte_avgpool2d_s8(const tte_pool_params_t *p, const int8_t *x, int8_t *y)
{
    int32_t b, oy, ox, ch, ky, kx;
    for (b = 0; b < p->batch; ++b) {
        const int8_t *xb = x + (size_t)b * p->in_h * p->in_w * p->c;
        for (oy = 0; oy < p->out_h; ++oy) {
            for (ox = 0; ox < p->out_w; ++ox) {
                int8_t *yo = y + (((size_t)b * p->out_h + oy) * p->out_w + ox) * p->c;
                for (ch = 0; ch < p->c; ++ch) {
                    int32_t total = 0, count = 0, avg;
                    for (ky = 0; ky < p->k_h; ++ky) {
                        const int32_t iy = oy * p->stride_h - p->pad_top + ky;
                        for (kx = 0; kx < p->k_w; ++kx) {
                            const int32_t ix = ox * p->stride_w - p->pad_left + kx;
                            if (iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w) {
                                total += xb[((size_t)iy * p->in_w + ix) * p->c + ch];
                                ++count;
                            } else if (p->count_include_pad) {
                                total += p->pad_value;
                                ++count;
                            }
                        }
                    }
                    if (count == 0) {
                        avg = 0;
                    } else {
                        /* integer_ops::AveragePool: half away from zero, C division */
                        avg = total > 0 ? (total + count / 2) / count : (total - count / 2) / count;
                    }
                    yo[ch] = (int8_t)tte_clamp_i32(avg, p->act_min, p->act_max);
                }
            }
        }
    }
}

void tte_maxpool2d_s8(const tte_pool_params_t *p, const int8_t *x, int8_t *y)
{
    int32_t b, oy, ox, ch, ky, kx;
    for (b = 0; b < p->batch; ++b) {
        const int8_t *xb = x + (size_t)b * p->in_h * p->in_w * p->c;
        for (oy = 0; oy < p->out_h; ++oy) {
            for (ox = 0; ox < p->out_w; ++ox) {
                int8_t *yo = y + (((size_t)b * p->out_h + oy) * p->out_w + ox) * p->c;
                for (ch = 0; ch < p->c; ++ch) {
                    int32_t m = -128; /* padding never wins over a valid value */
                    for (ky = 0; ky < p->k_h; ++ky) {
                        const int32_t iy = oy * p->stride_h - p->pad_top + ky;
                        if (iy < 0 || iy >= p->in_h) {
                            continue;
                        }
                        for (kx = 0; kx < p->k_w; ++kx) {
                            const int32_t ix = ox * p->stride_w - p->pad_left + kx;
                            int32_t v;
                            if (ix < 0 || ix >= p->in_w) {
                                continue;
                            }
                            v = xb[((size_t)iy * p->in_w + ix) * p->c + ch];
                            m = v > m ? v : m;
                        }
                    }
                    yo[ch] = (int8_t)tte_clamp_i32(m, p->act_min, p->act_max);
                }
            }
        }
    }
}

void tte_mean_s8(const tte_mean_s8_params_t *p, const int8_t *x, int8_t *y)
{
    int32_t o, r, i;
    for (o = 0; o < p->outer; ++o) {
        for (i = 0; i < p->inner; ++i) {
            const int8_t *xp = x + (size_t)o * p->reduce * p->inner + i;
            int32_t total = 0, v;
            for (r = 0; r < p->reduce; ++r) {
                total += xp[(size_t)r * p->inner];
            }
            v = tte_mbqm(total - p->in_zp * p->reduce, p->mult, p->shift) + p->out_zp;
            y[(size_t)o * p->inner + i] = (int8_t)tte_clamp_i32(v, -128, 127);
        }
    }
}
