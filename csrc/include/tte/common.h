/* tte common definitions: fixed-width types and TFLite's fixed-point requantization.
 *
 * The fixed-point helpers mirror tensorflow/lite/kernels/internal/common.h (double
 * rounding) and tte/fixedpoint.py exactly. They avoid undefined behaviour: no left
 * shift of negative values, no signed overflow (products are formed in int64).
 * Right shifts of negative values are arithmetic on every compiler tte supports.
 *
 * When TTE_CDEF is defined (the cffi declaration pass of tte/cbuild.py) only the
 * declarations remain.
 */
#ifndef TTE_COMMON_H
#define TTE_COMMON_H

#ifndef TTE_CDEF
#include <stdint.h>
#include <stddef.h>

#define TTE_INT32_MIN (-2147483647 - 1)
#define TTE_INT32_MAX 2147483647

static inline int32_t tte_srdhm(int32_t a, int32_t b)
{
    int64_t ab, s;
    if (a == TTE_INT32_MIN && b == TTE_INT32_MIN) {
        return TTE_INT32_MAX;
    }
    ab = (int64_t)a * (int64_t)b;
    s = ab + (ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30)));
    /* C division by 2**31 truncates toward zero: the arithmetic shift floors, so a negative
     * s with a nonzero remainder goes up by one (|s >> 31| < 2**31 as a, b are not both
     * INT32_MIN). Cheaper on 32-bit cores than negating 64-bit values. */
    {
        int32_t q = (int32_t)(s >> 31);
        if (s < 0 && (s & 0x7FFFFFFF) != 0) {
            q += 1;
        }
        return q;
    }
}

static inline int32_t tte_rdbp(int32_t x, int exponent)
{
    int32_t mask = (int32_t)(((uint32_t)1 << exponent) - 1u); /* exponent in [0, 31] */
    int32_t remainder = x & mask;
    int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

static inline int32_t tte_sat32(int64_t x)
{
    return x > TTE_INT32_MAX ? TTE_INT32_MAX : (x < TTE_INT32_MIN ? TTE_INT32_MIN : (int32_t)x);
}

/* MultiplyByQuantizedMultiplier; the left shift saturates (unreachable with valid scales). */
static inline int32_t tte_mbqm(int32_t x, int32_t mult, int32_t shift)
{
    if (shift > 0) {
        return tte_srdhm(tte_sat32((int64_t)x * ((int64_t)1 << shift)), mult);
    }
    return tte_rdbp(tte_srdhm(x, mult), -shift);
}

static inline int32_t tte_clamp_i32(int32_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}
#endif /* TTE_CDEF */

/* Requantization of one int8 tensor into another: y = clamp(zo + M * (x - zi)). */
typedef struct {
    int32_t in_zp;
    int32_t mult;
    int32_t shift;
    int32_t out_zp;
    int32_t act_min;
    int32_t act_max;
} tte_requant_t;

#endif /* TTE_COMMON_H */
