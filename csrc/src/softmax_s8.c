/* int8 softmax in gemmlowp fixed point, mirroring tte/reference/int8_ops.py. Intermediate
 * sums are formed in int64 where the int32 original could overflow. */
#include "tte/internal/optimized.h"
#include "tte/softmax.h"

static int32_t wrap32(int64_t v)
{
    uint32_t u = (uint32_t)((uint64_t)v & 0xFFFFFFFFu);
    return u >= 0x80000000u ? (int32_t)((int64_t)u - ((int64_t)1 << 32)) : (int32_t)u;
}

static int64_t rdbp64(int64_t x, int32_t e)
{
    const int64_t mask = ((int64_t)1 << e) - 1;
    const int64_t remainder = x & mask;
    const int64_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> e) + (remainder > threshold ? 1 : 0);
}

static int32_t sat_shl(int64_t x, int32_t e)
{
    return tte_sat32(x * ((int64_t)1 << e));
}

/* exp on [-1/4, 0) in Q0.31: Taylor expansion around -1/8 */
static int32_t exp_quarter(int32_t a)
{
    const int32_t x = a + (1 << 28);
    const int32_t x2 = tte_srdhm(x, x);
    const int32_t x3 = tte_srdhm(x2, x);
    const int32_t x4 = tte_srdhm(x2, x2);
    const int32_t x4_over_4 = tte_rdbp(x4, 2);
    const int32_t poly = tte_rdbp(tte_srdhm(x4_over_4 + x3, 715827883) + x2, 1);
    const int32_t c = 1895147668; /* exp(-1/8) in Q0.31 */
    return wrap32((int64_t)c + tte_srdhm(c, x + poly));
}

/* gemmlowp exp_on_negative_values: Q5.26 in, Q0.31 out */
static int32_t exp_negative(int32_t a)
{
    static const int32_t barrel[7] = {1672461947, 1302514674, 790015084, 290630308,
                                      39332535, 720401, 242};
    const int32_t quarter = 1 << 24;
    const int32_t a_mod = (a & (quarter - 1)) - quarter;
    int32_t result = exp_quarter(sat_shl(a_mod, 5));
    const int32_t remainder = a_mod - a;
    int32_t k;
    for (k = 0; k < 7; ++k) {
        if (remainder & ((int32_t)1 << (26 - 2 + k))) {
            result = tte_srdhm(result, barrel[k]);
        }
    }
    return a == 0 ? TTE_INT32_MAX : result;
}

/* gemmlowp one_over_one_plus_x_for_x_in_0_1: Newton-Raphson in Q2.29 */
static int32_t one_over_one_plus_x(int32_t a)
{
    const int64_t s = (int64_t)a + TTE_INT32_MAX;
    const int64_t hs = (s + (s >= 0 ? 1 : -1)) / 2;
    const int32_t half_den = (int32_t)hs;
    int32_t x = wrap32((int64_t)1515870810 + tte_srdhm(half_den, -1010580540));
    int32_t i;
    for (i = 0; i < 3; ++i) {
        const int32_t one_minus = wrap32((int64_t)(1 << 29) - tte_srdhm(half_den, x));
        x = wrap32((int64_t)x + sat_shl(tte_srdhm(x, one_minus), 2));
    }
    return sat_shl(x, 1);
}

static int32_t clz32(uint32_t x)
{
    int32_t n = 0;
    if (x == 0) {
        return 32;
    }
    while (!(x & 0x80000000u)) {
        x <<= 1;
        ++n;
    }
    return n;
}

void tte_softmax_s8(const tte_softmax_s8_params_t *p, const int8_t *x, int8_t *y)
{
    int32_t r, c;
    for (r = 0; r < p->rows; ++r) {
        const int8_t *xr = x + (size_t)r * p->depth;
        int8_t *yr = y + (size_t)r * p->depth;
        int32_t max_v = -128;
        uint32_t total = 0;
        int32_t headroom, shifted, recip, exponent;
        for (c = 0; c < p->depth; ++c) {
            max_v = xr[c] > max_v ? xr[c] : max_v;
        }
        for (c = 0; c < p->depth; ++c) {
            const int32_t diff = xr[c] - max_v;
            if (diff >= p->diff_min) {
                const int32_t scaled = tte_srdhm(sat_shl(diff, p->input_shift), p->input_mult);
                total += (uint32_t)tte_rdbp(exp_negative(scaled), 12);
            }
        }
        headroom = clz32(total);
        shifted = wrap32((int64_t)(uint32_t)(total << headroom) - ((int64_t)1 << 31));
        recip = one_over_one_plus_x(shifted);
        exponent = 12 - headroom + 31 - 8;
        for (c = 0; c < p->depth; ++c) {
            const int32_t diff = xr[c] - max_v;
            int32_t out = -128;
            if (diff >= p->diff_min) {
                const int32_t scaled = tte_srdhm(sat_shl(diff, p->input_shift), p->input_mult);
                const int32_t e = exp_negative(scaled);
                int64_t v = rdbp64(tte_srdhm(recip, e), exponent) - 128;
                v = v < -128 ? -128 : (v > 127 ? 127 : v);
                out = (int32_t)v;
            }
            yr[c] = (int8_t)out;
        }
    }
}
