/* int8 average / max pooling and mean. */
#include "tte/internal/optimized.h"
#include "tte/pool.h"

/* The taps of output (oy, ox) inside the input: rows [*ky0, *ky1), columns [*kx0, *kx1). */
static void pool_range(const tte_pool_params_t *p, int32_t oy, int32_t ox, int32_t *ky0, int32_t *ky1, int32_t *kx0,
                       int32_t *kx1)
{
    const int32_t iy = oy * p->stride_h - p->pad_top, ix = ox * p->stride_w - p->pad_left;
    *ky0 = iy < 0 ? -iy : 0;
    *ky1 = p->in_h - iy < p->k_h ? p->in_h - iy : p->k_h;
    *kx0 = ix < 0 ? -ix : 0;
    *kx1 = p->in_w - ix < p->k_w ? p->in_w - ix : p->k_w;
    if (*ky1 < *ky0) {
        *ky1 = *ky0;
    }
    if (*kx1 < *kx0) {
        *kx1 = *kx0;
    }
}

/* The window's range found once per output pixel, not per tap and channel; the sums are
 * the same integers. */
void tte_avgpool2d_s8(const tte_pool_params_t *p, const int8_t *x, int8_t *y)
{
    const size_t C = (size_t)p->c;
    int32_t b, oy, ox, ch, ky, kx;
    for (b = 0; b < p->batch; ++b) {
        const int8_t *xb = x + (size_t)b * p->in_h * p->in_w * p->c;
        for (oy = 0; oy < p->out_h; ++oy) {
            for (ox = 0; ox < p->out_w; ++ox) {
                int8_t *yo = y + (((size_t)b * p->out_h + oy) * p->out_w + ox) * p->c;
                int32_t ky0, ky1, kx0, kx1, valid, count, pad_total;
                pool_range(p, oy, ox, &ky0, &ky1, &kx0, &kx1);
                valid = (ky1 - ky0) * (kx1 - kx0);
                count = p->count_include_pad ? p->k_h * p->k_w : valid;
                pad_total = p->count_include_pad ? (count - valid) * p->pad_value : 0;
                for (ch = 0; ch < p->c; ++ch) {
                    /* an empty range (a window wholly in the padding) reads nothing */
                    const int8_t *x0 = ky1 > ky0 && kx1 > kx0
                                           ? xb + ((size_t)(oy * p->stride_h - p->pad_top + ky0) * p->in_w
                                                   + (size_t)(ox * p->stride_w - p->pad_left + kx0)) * C + (size_t)ch
                                           : xb;
                    int32_t total = pad_total, avg;
                    for (ky = ky0; ky < ky1 && kx1 > kx0; ++ky) {
                        const int8_t *xp = x0 + (size_t)(ky - ky0) * p->in_w * C;
                        for (kx = kx0; kx < kx1; ++kx) {
                            total += *xp;
                            xp += C;
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
    const size_t C = (size_t)p->c;
    int32_t b, oy, ox, ch, ky, kx;
    for (b = 0; b < p->batch; ++b) {
        const int8_t *xb = x + (size_t)b * p->in_h * p->in_w * p->c;
        for (oy = 0; oy < p->out_h; ++oy) {
            for (ox = 0; ox < p->out_w; ++ox) {
                int8_t *yo = y + (((size_t)b * p->out_h + oy) * p->out_w + ox) * p->c;
                int32_t ky0, ky1, kx0, kx1;
                pool_range(p, oy, ox, &ky0, &ky1, &kx0, &kx1);
                for (ch = 0; ch < p->c; ++ch) {
                    /* an empty range (a window wholly in the padding) reads nothing */
                    const int8_t *x0 = ky1 > ky0 && kx1 > kx0
                                           ? xb + ((size_t)(oy * p->stride_h - p->pad_top + ky0) * p->in_w
                                                   + (size_t)(ox * p->stride_w - p->pad_left + kx0)) * C + (size_t)ch
                                           : xb;
                    int32_t m = -128; /* padding never wins over a valid value */
                    for (ky = ky0; ky < ky1 && kx1 > kx0; ++ky) {
                        const int8_t *xp = x0 + (size_t)(ky - ky0) * p->in_w * C;
                        for (kx = kx0; kx < kx1; ++kx) {
                            const int32_t v = *xp;
                            m = v > m ? v : m;
                            xp += C;
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
