/* int8 average / max pooling and mean. */
#include "tte/internal/optimized.h"
#include "tte/pool.h"
#include <string.h>

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

/* integer_ops::AveragePool's division: half away from zero, C division */
static int8_t pool_avg(const tte_pool_params_t *p, int32_t total, int32_t count)
{
    int32_t avg = 0;
    if (count != 0) {
        avg = total > 0 ? (total + count / 2) / count : (total - count / 2) / count;
    }
    return (int8_t)tte_clamp_i32(avg, p->act_min, p->act_max);
}

#if defined(__ARM_FEATURE_DSP)
static inline uint32_t pool_sadd16(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("sadd16 %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

/* Channels [0, C & ~3) of one output pixel whose window holds at most 256 input pixels
 * (x0: its first tap, rows of row_bytes), four channels a word: SXTB16 and SADD16 into two
 * words of int16 lane sums, exact as |sum| <= 128 * 256 fits; the same totals as the loop. */
static int32_t avg_px_groups(const tte_pool_params_t *p, const int8_t *x0, size_t row_bytes, int32_t rows,
                             int32_t cols, int32_t pad_total, int32_t count, int8_t *yo)
{
    const size_t C = (size_t)p->c;
    int32_t c, ky, kx;
    for (c = 0; c + 3 < p->c; c += 4) {
        uint32_t se = 0, so = 0;
        for (ky = 0; ky < rows; ++ky) {
            const int8_t *xp = x0 + (size_t)ky * row_bytes + (size_t)c;
            for (kx = 0; kx < cols; ++kx) {
                uint32_t v;
                memcpy(&v, xp, sizeof v); /* one (unaligned) LDR */
                se = pool_sadd16(se, tte_sxtb16(v));
                so = pool_sadd16(so, tte_sxtb16_ror8(v));
                xp += C;
            }
        }
        yo[c] = pool_avg(p, pad_total + (int16_t)(se & 0xFFFF), count);
        yo[c + 1] = pool_avg(p, pad_total + (int16_t)(so & 0xFFFF), count);
        yo[c + 2] = pool_avg(p, pad_total + (int16_t)(se >> 16), count);
        yo[c + 3] = pool_avg(p, pad_total + (int16_t)(so >> 16), count);
    }
    return c;
}
#endif

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
                ch = 0;
#if defined(__ARM_FEATURE_DSP)
                if (valid > 0 && valid <= 256) {
                    ch = avg_px_groups(p,
                                       xb + ((size_t)(oy * p->stride_h - p->pad_top + ky0) * p->in_w
                                             + (size_t)(ox * p->stride_w - p->pad_left + kx0)) * C,
                                       (size_t)p->in_w * C, ky1 - ky0, kx1 - kx0, pad_total, count, yo);
                }
#endif
                for (; ch < p->c; ++ch) {
                    /* an empty range (a window wholly in the padding) reads nothing */
                    const int8_t *x0 = ky1 > ky0 && kx1 > kx0
                                           ? xb + ((size_t)(oy * p->stride_h - p->pad_top + ky0) * p->in_w
                                                   + (size_t)(ox * p->stride_w - p->pad_left + kx0)) * C + (size_t)ch
                                           : xb;
                    int32_t total = pad_total;
                    for (ky = ky0; ky < ky1 && kx1 > kx0; ++ky) {
                        const int8_t *xp = x0 + (size_t)(ky - ky0) * p->in_w * C;
                        for (kx = kx0; kx < kx1; ++kx) {
                            total += *xp;
                            xp += C;
                        }
                    }
                    yo[ch] = pool_avg(p, total, count);
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
