/* tte common definitions: fixed-width types and TFLite's fixed-point requantization.
 *
 * The fixed-point helpers mirror tensorflow/lite/kernels/internal/common.h (double
 * rounding) and tte/numerics/fixedpoint.py exactly. They avoid undefined behaviour: no left
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

/* for the output stage in hot loops, which gcc -O2 would otherwise call */
/* and for kernels with local arrays, whose frames must not add up in their caller's */
#if defined(__GNUC__)
#define TTE_ALWAYS_INLINE inline __attribute__((always_inline))
#define TTE_NOINLINE __attribute__((noinline))
#else
#define TTE_ALWAYS_INLINE inline
#define TTE_NOINLINE
#endif
/* a static helper of an internal header (tte/internal/): not inline, so gcc inlines it by the
 * same heuristics as a helper beside its callers; not every includer uses every helper */
#if defined(__GNUC__)
#define TTE_INTERNAL static __attribute__((unused))
#else
#define TTE_INTERNAL static
#endif

static TTE_ALWAYS_INLINE int32_t tte_srdhm(int32_t a, int32_t b)
{
    if (a == TTE_INT32_MIN && b == TTE_INT32_MIN) {
        return TTE_INT32_MAX;
    }
    /* TFLite nudges by 2**30 (ab >= 0) or 1 - 2**30 (ab < 0) and divides by 2**31 toward
     * zero; both cases equal floor((ab + 2**30) / 2**31), one SMLAL and a shift on ARM. */
    return (int32_t)(((int64_t)a * (int64_t)b + ((int64_t)1 << 30)) >> 31);
}

static TTE_ALWAYS_INLINE int32_t tte_rdbp(int32_t x, int exponent)
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
static TTE_ALWAYS_INLINE int32_t tte_mbqm(int32_t x, int32_t mult, int32_t shift)
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
/* Fast requantization of an int8 kernel's accumulator, exact (the same bytes as
 * clamp(tte_mbqm(acc, mult, shift) + out_zp, lo, hi)) when tte_rq_fast_ok holds: shift in
 * [-21, -1], mult 0 or in [2**30, 2**31) (what QuantizeMultiplier gives), out_zp and the
 * clamp range inside int8. Then
 *   srdhm(acc, mult) = floor((2 acc mult + 2**31) / 2**32): QADD doubles, SMMULR rounds;
 *     |acc| >= 2**30 saturates the doubling, but then |q| >= 2**29 - 1 and the result clamps
 *     to the same end of the range as the exact one (e <= 21);
 *   rdbp(q, e) = floor((floor((q - [q < 0]) / 2**(e-1)) + 1) / 2), and adding out_zp inside
 *     the halving is exact: ((q' >> (e - 1)) + 2 out_zp + 1) >> 1. |q| <= 2**30: no overflow.
 * ~shift is e - 1. */
static inline int32_t tte_rq_fast_ok(const int32_t *mult, const int32_t *shift, int32_t n, int32_t out_zp,
                                     int32_t lo, int32_t hi)
{
    int32_t i;
    if (out_zp < -128 || out_zp > 127 || lo < -128 || hi > 127) {
        return 0;
    }
    for (i = 0; i < n; ++i) {
        if (shift[i] < -21 || shift[i] > -1 || (mult[i] != 0 && mult[i] < (1 << 30))) {
            return 0;
        }
    }
    return 1;
}

#if defined(__ARM_FEATURE_DSP)
/* SIMD on two int16 lanes (ARMv7E-M DSP extension). */
static inline int32_t tte_smlad(uint32_t a, uint32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smlad %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}
static inline uint32_t tte_sxtb16(uint32_t x)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1" : "=r"(r) : "r"(x));
    return r;
}
static inline uint32_t tte_sxtb16_ror8(uint32_t x)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}
/* x + nz halfwise, bytes 0 and 2 of u (ror 8: bytes 1 and 3) sign-extended: x - zp in one
 * SXTAB16 (nz = -zp in both halves; |x - zp| <= 255, no wrap) */
static TTE_ALWAYS_INLINE uint32_t tte_sxtab16(uint32_t nz, uint32_t u)
{
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2" : "=r"(r) : "r"(nz), "r"(u));
    return r;
}
static TTE_ALWAYS_INLINE uint32_t tte_sxtab16_ror8(uint32_t nz, uint32_t u)
{
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(nz), "r"(u));
    return r;
}
static inline uint32_t tte_ssub16(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("ssub16 %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
static inline int32_t tte_smmulr(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
static inline int32_t tte_qadd(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("qadd %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
#endif

/* tte_rq_fast before the clamp (an int32 outside int8 only when it clamps). */
static TTE_ALWAYS_INLINE int32_t tte_rq_fast_raw(int32_t acc, int32_t mult, int32_t shift, int32_t zp2)
{
    int32_t q;
#if defined(__ARM_FEATURE_DSP)
    q = tte_smmulr(tte_qadd(acc, acc), mult);
#else
    const int32_t d = acc >= (1 << 30) ? TTE_INT32_MAX : (acc < -(1 << 30) ? TTE_INT32_MIN : acc * 2);
    q = (int32_t)(((int64_t)d * mult + ((int64_t)1 << 31)) >> 32);
#endif
    q += q >> 31;
    return ((q >> ~shift) + zp2) >> 1;
}

static TTE_ALWAYS_INLINE int32_t tte_rq_fast(int32_t acc, int32_t mult, int32_t shift, int32_t zp2, int32_t lo, int32_t hi)
{
    const int32_t q = tte_rq_fast_raw(acc, mult, shift, zp2);
    return q < lo ? lo : (q > hi ? hi : q);
}

/* clamp to [-128, 127] (one SSAT on ARMv7-M) */
static TTE_ALWAYS_INLINE int32_t tte_ssat8(int32_t v)
{
#if defined(__ARM_FEATURE_DSP)
    int32_t r;
    __asm__("ssat %0, #8, %1" : "=r"(r) : "r"(v));
    return r;
#else
    return v < -128 ? -128 : (v > 127 ? 127 : v);
#endif
}

/* tte_rq_fast for the clamp range [-128, 127]: the last halving and the clamp are one
 * SSAT (with its ASR #1) on ARM. */
static TTE_ALWAYS_INLINE int32_t tte_rq_fast_s8(int32_t acc, int32_t mult, int32_t shift, int32_t zp2)
{
    int32_t q;
#if defined(__ARM_FEATURE_DSP)
    q = tte_smmulr(tte_qadd(acc, acc), mult);
    q += q >> 31;
    q = (q >> ~shift) + zp2;
    __asm__("ssat %0, #8, %1, asr #1" : "=r"(q) : "r"(q));
    return q;
#else
    q = tte_rq_fast_raw(acc, mult, shift, zp2);
    return q < -128 ? -128 : (q > 127 ? 127 : q);
#endif
}

/* Wide requantization: the same bytes as tte_rq_exact for ANY int32 acc (where tte_rq_fast's
 * saturating doubling limits it to shift >= -21) when tte_rq_wide_ok holds: out_zp and the
 * clamp range inside int8, and per channel shift in [-31, -2] with mult in [2**30, 2**31), or
 * mult 0 with |acc| <= 2**31 - 2. Then
 *   srdhm(acc, mult) = floor((2 acc mult + 2**31) / 2**32), and with m2 = 2 mult - 2**32 (the
 *     bits of mult << 1, an int32 as mult >= 2**30): 2 acc mult = acc m2 + acc 2**32, so it is
 *     SMMLAR(acc, m2, acc) = floor((acc 2**32 + acc m2 + 2**31) / 2**32), one exact 64-bit sum;
 *   |q| < 2**31 and q - [q < 0] >= -2**31; the halving as in tte_rq_fast, where e >= 2 keeps
 *     q >> (e - 1) + zp2 inside int32;
 *   mult 0 gives out_zp for any shift; so do mult 2**30 and shift -31 (tte_rq_wide_mult, _shift): q =
 *     floor((acc + 1) / 2) lies in [-2**30 + 1, 2**30 - 1], q - [q < 0] >> 30 is 0 or -1, and
 *     both halve with 2 out_zp + 1 to out_zp.
 * The sums of k products (x - zp) w (x and zp int8) lie within k 255 128 of the bias (NULL: 0). */
static inline int32_t tte_rq_wide_ok(const int32_t *mult, const int32_t *shift, const int32_t *bias, int32_t n,
                                     int32_t k, int32_t out_zp, int32_t lo, int32_t hi)
{
    const int64_t room64 = ((int64_t)1 << 31) - 2 - (int64_t)k * 255 * 128;
    const int32_t room = room64 < 0 ? -1 : (int32_t)room64; /* -1: no bias fits */
    int32_t i;
    if (out_zp < -128 || out_zp > 127 || lo < -128 || hi > 127) {
        return 0;
    }
    for (i = 0; i < n; ++i) {
        const int32_t mu = mult[i];
        if (mu >= (1 << 30)) {
            if ((uint32_t)(shift[i] + 31) > 29u) { /* shift outside [-31, -2] */
                return 0;
            }
        } else {
            const int32_t b = bias ? bias[i] : 0;
            if (mu != 0 || b > room || b < -room) {
                return 0;
            }
        }
    }
    return 1;
}

/* a channel's multiplier for tte_rq_wide (mult << 1; mult 0 as 2**30 << 1) and its shift */
static TTE_ALWAYS_INLINE int32_t tte_rq_wide_mult(int32_t mult)
{
    return mult != 0 ? (int32_t)((uint32_t)mult << 1) : TTE_INT32_MIN;
}
static TTE_ALWAYS_INLINE int32_t tte_rq_wide_shift(int32_t mult, int32_t shift)
{
    return mult != 0 ? shift : -31;
}

/* mult2, shift: tte_rq_wide_mult and tte_rq_wide_shift of the channel's */
static TTE_ALWAYS_INLINE int32_t tte_rq_wide_raw(int32_t acc, int32_t mult2, int32_t shift, int32_t zp2)
{
    int32_t q;
#if defined(__ARM_FEATURE_DSP)
    __asm__("smmlar %0, %1, %2, %1" : "=r"(q) : "r"(acc), "r"(mult2));
#else
    const int64_t mult = (int64_t)(uint32_t)mult2 >> 1; /* back to [2**30, 2**31) */
    q = (int32_t)(((int64_t)acc * mult + ((int64_t)1 << 30)) >> 31);
#endif
    q += q >> 31;
    return ((q >> ~shift) + zp2) >> 1;
}

static TTE_ALWAYS_INLINE int32_t tte_rq_wide(int32_t acc, int32_t mult2, int32_t shift, int32_t zp2, int32_t lo,
                                             int32_t hi)
{
    const int32_t q = tte_rq_wide_raw(acc, mult2, shift, zp2);
    return q < lo ? lo : (q > hi ? hi : q);
}

/* The same, exact for any parameters. */
static TTE_ALWAYS_INLINE int32_t tte_rq_exact(int32_t acc, int32_t mult, int32_t shift, int32_t out_zp, int32_t lo, int32_t hi)
{
    return tte_clamp_i32(tte_mbqm(acc, mult, shift) + out_zp, lo, hi);
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
