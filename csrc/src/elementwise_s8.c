/* int8 ADD, MUL, requantize (QUANTIZE/RELU/CLIP), quantize and dequantize. */
#include "tte/internal/optimized.h"
#include "tte/elementwise.h"
#include "tte/internal/vfp.h"
#include "tte/mathf.h"
#include <string.h>

/* With left_shift <= 20 every value stays below 2**30 in magnitude (|x - zp| <= 255), so
 * the three rescalings (none with a left shift) take tte_rq_fast_raw's form, exactly: its
 * doubling never saturates and its rounding needs shift <= -1 (an input's shift 0 is the
 * doubling-high multiply alone). */
static int32_t add_fast_ok(const tte_add_s8_params_t *p)
{
    return p->left_shift >= 0 && p->left_shift <= 20 && p->in1_shift <= 0 && p->in1_shift >= -31
           && p->in2_shift <= 0 && p->in2_shift >= -31 && p->out_shift <= -1 && p->out_shift >= -31
           && p->out_zp >= -128 && p->out_zp <= 127 && p->act_min >= -128 && p->act_max <= 127;
}

/* Sums at least TTE_ADD_TABLE_MIN long (elementwise.h) take add_table: building its table
 * costs about as much as 256 elements of the plain fast loop save. */

/* The output stage of tte_rq_fast_s8 on an accumulator already doubled (d = 2 acc, no
 * saturation): clamped to int8. */
static TTE_ALWAYS_INLINE int32_t add_out(int32_t d, int32_t mo, int32_t eo, int32_t zp2)
{
    int32_t q;
#if defined(__ARM_FEATURE_DSP)
    q = tte_smmulr(d, mo);
    q += q >> 31;
    q = (q >> ~eo) + zp2;
    __asm__("ssat %0, #8, %1, asr #1" : "=r"(q) : "r"(q));
    return q;
#else
    q = (int32_t)(((int64_t)d * mo + ((int64_t)1 << 31)) >> 32);
    q += q >> 31;
    q = ((q >> ~eo) + zp2) >> 1;
    return q < -128 ? -128 : (q > 127 ? 127 : q);
#endif
}

/* The fast form when the input `lin` has the multiplier 1/2 exactly (its term is
 * (lin - zl) << (ls - 1)): the other input's rescaled term, less zl << (ls - 1), for each of
 * its 256 values comes from a table (t2, the caller's scratch, not the stack), so an element
 * is one multiply-add and the output stage.
 * Both terms are integers of the loop in tte_add_s8 and doubled before the output stage
 * (the doubling tte_rq_fast_raw does, which never saturates here: |sum| < 2**30), so the
 * bytes are the same. */
static void add_table_build(const tte_add_s8_params_t *p, int32_t zl, int32_t zt, int32_t mt, int32_t et,
                            int32_t *t2)
{
    const int32_t scale = (int32_t)1 << p->left_shift;
    int32_t v;
    for (v = -128; v < 128; ++v) {
        t2[v + 128] = 2 * (tte_rq_fast_raw((v - zt) * scale, mt, et, 1) - zl * (scale >> 1));
    }
}

#if defined(__ARM_FEATURE_DSP)
/* add_out with the zero point taken by SMMLAR's accumulator (as pw_small_run's TTE_PWS_RQ): with
 * e = ~eo and k = zp2 << e, SMMLAR(d, mo, k - [d < 0]) is q - [d < 0] + k exactly where that
 * stays inside int32 (|q| <= 2**30 + 1 as |d| < 2**31; add_zp_in_smmlar checks |k|), and >> e
 * gives (q - [d < 0]) >> e + zp2. [d < 0] is [q < 0] (mo >= 0) except where d < 0 and q = 0:
 * zp2 - 1 there instead of zp2, and both halve to out_zp. */
static TTE_ALWAYS_INLINE int32_t add_out_k(int32_t d, int32_t mo, int32_t e, int32_t k)
{
    int32_t q;
    __asm__("add %0, %3, %1, asr #31\n\t"
            "smmlar %0, %1, %2, %0\n\t"
            "asr %0, %0, %4\n\t"
            "ssat %0, #8, %0, asr #1"
            : "=&r"(q)
            : "r"(d), "r"(mo), "r"(k), "r"(e));
    return q;
}

/* Whether add_out_k is exact: |zp2| << ~eo at most 2**30 - 3 */
static int32_t add_zp_in_smmlar(int32_t eo, int32_t zp2)
{
    const int64_t k = (int64_t)(zp2 < 0 ? -zp2 : zp2) << ~eo;
    return k <= ((int64_t)1 << 30) - 3;
}
#endif

/* One element of add_table_full: add_out, or add_out_k where KZ (a constant) */
static TTE_ALWAYS_INLINE int32_t add_out_any(int32_t d, int32_t mo, int32_t eo, int32_t zp2, int32_t k, int32_t KZ)
{
#if defined(__ARM_FEATURE_DSP)
    if (KZ) {
        return add_out_k(d, mo, ~eo, k);
    }
#endif
    (void)k, (void)KZ;
    return add_out(d, mo, eo, zp2);
}

/* add_table_run's elements over the whole int8 range, four a loop pass (h2: 2**left_shift; k, KZ:
 * add_out_any's) */
static TTE_ALWAYS_INLINE void add_table_full(const int8_t *lin, const int8_t *tab, int8_t *y, int32_t n,
                                             const int32_t *tc, int32_t h2, int32_t mo, int32_t eo, int32_t zp2,
                                             int32_t k, int32_t KZ)
{
    int32_t i;
    for (i = 0; i + 4 <= n; i += 4) {
        y[i] = (int8_t)add_out_any(lin[i] * h2 + tc[tab[i]], mo, eo, zp2, k, KZ);
        y[i + 1] = (int8_t)add_out_any(lin[i + 1] * h2 + tc[tab[i + 1]], mo, eo, zp2, k, KZ);
        y[i + 2] = (int8_t)add_out_any(lin[i + 2] * h2 + tc[tab[i + 2]], mo, eo, zp2, k, KZ);
        y[i + 3] = (int8_t)add_out_any(lin[i + 3] * h2 + tc[tab[i + 3]], mo, eo, zp2, k, KZ);
    }
    for (; i < n; ++i) {
        y[i] = (int8_t)add_out_any(lin[i] * h2 + tc[tab[i]], mo, eo, zp2, k, KZ);
    }
}

/* The elements of add_table on its built table t2 */
static void add_table_run(const tte_add_s8_params_t *p, const int8_t *lin, const int8_t *tab, int8_t *y, int32_t n,
                          const int32_t *t2)
{
    const int32_t h2 = (int32_t)1 << p->left_shift;
    const int32_t mo = p->out_mult, eo = p->out_shift, zp2 = 2 * p->out_zp + 1, lo = p->act_min, hi = p->act_max;
    const int32_t *const tc = t2 + 128; /* tc[v]: the term of the value v */
    int32_t i;
    /* four elements a loop pass: the loop's compare and branch once for the four */
    if (lo == -128 && hi == 127) {
#if defined(__ARM_FEATURE_DSP)
        if (p->left_shift == 20 && add_zp_in_smmlar(eo, zp2)) {
            /* int8's shift as a constant (the product is the add's shifted operand), the zero
             * point in SMMLAR */
            add_table_full(lin, tab, y, n, tc, (int32_t)1 << 20, mo, eo, zp2, (int32_t)((uint32_t)zp2 << ~eo), 1);
            return;
        }
#endif
        if (p->left_shift == 20) {
            add_table_full(lin, tab, y, n, tc, (int32_t)1 << 20, mo, eo, zp2, 0, 0);
        } else {
            add_table_full(lin, tab, y, n, tc, h2, mo, eo, zp2, 0, 0);
        }
        return;
    }
    if (hi == 127) {
        /* ReLU: the low end only */
        for (i = 0; i + 4 <= n; i += 4) {
            const int32_t q0 = add_out(lin[i] * h2 + tc[tab[i]], mo, eo, zp2);
            const int32_t q1 = add_out(lin[i + 1] * h2 + tc[tab[i + 1]], mo, eo, zp2);
            const int32_t q2 = add_out(lin[i + 2] * h2 + tc[tab[i + 2]], mo, eo, zp2);
            const int32_t q3 = add_out(lin[i + 3] * h2 + tc[tab[i + 3]], mo, eo, zp2);
            y[i] = (int8_t)(q0 < lo ? lo : q0);
            y[i + 1] = (int8_t)(q1 < lo ? lo : q1);
            y[i + 2] = (int8_t)(q2 < lo ? lo : q2);
            y[i + 3] = (int8_t)(q3 < lo ? lo : q3);
        }
        for (; i < n; ++i) {
            const int32_t q = add_out(lin[i] * h2 + tc[tab[i]], mo, eo, zp2);
            y[i] = (int8_t)(q < lo ? lo : q);
        }
        return;
    }
    for (i = 0; i < n; ++i) {
        const int32_t q = add_out(lin[i] * h2 + tc[tab[i]], mo, eo, zp2);
        y[i] = (int8_t)(q < lo ? lo : (q > hi ? hi : q));
    }
}

static void add_table(const tte_add_s8_params_t *p, const int8_t *lin, int32_t zl, const int8_t *tab, int32_t zt,
                      int32_t mt, int32_t et, int8_t *y, int32_t n, int32_t *t2)
{
    add_table_build(p, zl, zt, mt, et, t2);
    add_table_run(p, lin, tab, y, n, t2);
}

/* Which input add_table takes as the halved one (1: in1, 2: in2, in tte_add_s8_ws's order of
 * checks), 0 where the table does not apply */
static int32_t add_table_side(const tte_add_s8_params_t *p)
{
    if (!add_fast_ok(p) || p->left_shift < 1) {
        return 0;
    }
    if (p->in1_mult == (1 << 30) && p->in1_shift == 0 && p->in2_shift != 0) {
        return 1;
    }
    if (p->in2_mult == (1 << 30) && p->in2_shift == 0 && p->in1_shift != 0) {
        return 2;
    }
    return 0;
}

int32_t tte_add_s8_table_init(const tte_add_s8_params_t *p, int32_t *table)
{
    const int32_t side = add_table_side(p);
    if (side == 1) {
        add_table_build(p, p->in1_zp, p->in2_zp, p->in2_mult, p->in2_shift, table);
    } else if (side == 2) {
        add_table_build(p, p->in2_zp, p->in1_zp, p->in1_mult, p->in1_shift, table);
    }
    return side;
}

void tte_add_s8_tab(const tte_add_s8_params_t *p, int32_t side, const int8_t *a, const int8_t *b, int8_t *y,
                    int32_t n, int32_t *table)
{
    if (side == 1) {
        add_table_run(p, a, b, y, n, table);
    } else if (side == 2) {
        add_table_run(p, b, a, y, n, table);
    } else {
        tte_add_s8_ws(p, a, b, y, n, table);
    }
}

int32_t tte_add_s8_scratch_bytes(int32_t n)
{
    return n >= TTE_ADD_TABLE_MIN ? TTE_ADD_TABLE_BYTES : 0;
}

void tte_add_s8(const tte_add_s8_params_t *p, const int8_t *a, const int8_t *b, int8_t *y, int32_t n)
{
    tte_add_s8_ws(p, a, b, y, n, NULL);
}

void tte_add_s8_ws(const tte_add_s8_params_t *p, const int8_t *a, const int8_t *b, int8_t *y, int32_t n,
                   int32_t *table)
{
    const int32_t scale = (int32_t)1 << p->left_shift;
    int32_t i;
    if (add_fast_ok(p)) {
        /* locals: the int8 stores could alias *p */
        const int32_t zp2 = 2 * p->out_zp + 1, z1 = p->in1_zp, z2 = p->in2_zp;
        const int32_t m1 = p->in1_mult, e1 = p->in1_shift, m2 = p->in2_mult, e2 = p->in2_shift;
        const int32_t mo = p->out_mult, eo = p->out_shift, lo = p->act_min, hi = p->act_max;
        /* TFLite gives the input of the larger scale the multiplier 1/2 exactly (2**30, shift
         * 0): srdhm(x, 2**30) = floor((x + 1) / 2) = x / 2 for the even x = (a - z) << ls
         * (ls >= 1), so that input's term is one shift */
        if (m1 == (1 << 30) && e1 == 0 && p->left_shift >= 1 && e2 != 0) {
            if (n >= TTE_ADD_TABLE_MIN && table != NULL) {
                add_table(p, a, z1, b, z2, m2, e2, y, n, table);
                return;
            }
            for (i = 0; i < n; ++i) {
                const int32_t s1 = ((int32_t)a[i] - z1) * (scale >> 1);
                const int32_t s2 = tte_rq_fast_raw(((int32_t)b[i] - z2) * scale, m2, e2, 1);
                y[i] = (int8_t)tte_rq_fast(s1 + s2, mo, eo, zp2, lo, hi);
            }
            return;
        }
        if (m2 == (1 << 30) && e2 == 0 && p->left_shift >= 1 && e1 != 0) {
            if (n >= TTE_ADD_TABLE_MIN && table != NULL) {
                add_table(p, b, z2, a, z1, m1, e1, y, n, table);
                return;
            }
            for (i = 0; i < n; ++i) {
                const int32_t s1 = tte_rq_fast_raw(((int32_t)a[i] - z1) * scale, m1, e1, 1);
                const int32_t s2 = ((int32_t)b[i] - z2) * (scale >> 1);
                y[i] = (int8_t)tte_rq_fast(s1 + s2, mo, eo, zp2, lo, hi);
            }
            return;
        }
        for (i = 0; i < n; ++i) {
            const int32_t x1 = ((int32_t)a[i] - z1) * scale, x2 = ((int32_t)b[i] - z2) * scale;
            const int32_t s1 = e1 != 0 ? tte_rq_fast_raw(x1, m1, e1, 1) : tte_srdhm(x1, m1);
            const int32_t s2 = e2 != 0 ? tte_rq_fast_raw(x2, m2, e2, 1) : tte_srdhm(x2, m2);
            y[i] = (int8_t)tte_rq_fast(s1 + s2, mo, eo, zp2, lo, hi);
        }
        return;
    }
    for (i = 0; i < n; ++i) {
        const int32_t x1 = ((int32_t)a[i] - p->in1_zp) * scale;
        const int32_t x2 = ((int32_t)b[i] - p->in2_zp) * scale;
        const int32_t s1 = tte_rdbp(tte_srdhm(x1, p->in1_mult), -p->in1_shift);
        const int32_t s2 = tte_rdbp(tte_srdhm(x2, p->in2_mult), -p->in2_shift);
        const int32_t v = tte_rdbp(tte_srdhm(s1 + s2, p->out_mult), -p->out_shift) + p->out_zp;
        y[i] = (int8_t)tte_clamp_i32(v, p->act_min, p->act_max);
    }
}

void tte_mul_s8(const tte_mul_s8_params_t *p, const int8_t *a, const int8_t *b, int8_t *y, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        const int32_t prod = ((int32_t)a[i] - p->in1_zp) * ((int32_t)b[i] - p->in2_zp);
        const int32_t v = tte_mbqm(prod, p->mult, p->shift) + p->out_zp;
        y[i] = (int8_t)tte_clamp_i32(v, p->act_min, p->act_max);
    }
}

void tte_requantize_s8(const tte_requant_t *p, const int8_t *x, int8_t *y, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        const int32_t v = tte_mbqm((int32_t)x[i] - p->in_zp, p->mult, p->shift) + p->out_zp;
        y[i] = (int8_t)tte_clamp_i32(v, p->act_min, p->act_max);
    }
}

/* One value's QUANTIZE from r = x / scale: round half away from zero, plus zp, clamped.
 * |r| > 1000 (an infinity, NaN: low) first goes to +-1000, which clamps to the same int8 and
 * keeps the conversion defined. Then u = trunc(2 r) (2 r is exact): round(r) is
 * floor((u + 1) / 2) for u >= 0 (r >= 0: a tie, u odd, goes up) and floor(u / 2) for u < 0
 * (r < 0: a tie goes down, -1.5 -> u = -3 -> -2), i.e. (u + 1 + (u >> 31)) >> 1, and zp
 * joins inside the halving as 2 zp: zp2 = 2 zp + 1. */
static TTE_ALWAYS_INLINE int8_t quantize_value(float r, int32_t zp2)
{
    uint32_t bits;
    int32_t u;
    memcpy(&bits, &r, sizeof bits);
    if ((bits << 1) > (0x447A0000u << 1)) { /* 0x447A0000 is 1000.0f */
        r = (bits << 1) > 0xFF000000u || (bits >> 31) != 0 ? -1000.0f : 1000.0f;
    }
    u = (int32_t)(r + r);
    return (int8_t)tte_ssat8((u + (u >> 31) + zp2) >> 1);
}

#if defined(__ARM_FEATURE_DSP) && defined(__ARM_FP) && (__ARM_FP & 4)
/* trunc(2 r) saturated to int32 (NaN: 0): one VCVT to fixed point with one fraction bit */
static TTE_ALWAYS_INLINE int32_t quantize_trunc2(float r)
{
    int32_t u;
    __asm__("vcvt.s32.f32 %1, %1, #1\n\tvmov %0, %1" : "=r"(u), "+t"(r));
    return u;
}

/* QUANTIZE without the divide (14 cycles on a Cortex-M7), the bytes of x / scale's: lo <= 1 /
 * scale <= hi, so x lo and x hi bracket x / scale and, rounding being monotone, their correctly
 * rounded products bracket its correctly rounded quotient r; trunc(2 r) is monotone as well, so
 * where the products give the same u the quotient gives it too, and quantize_value's byte is a
 * function of that u (|u| >= 2000 clamps as its +-1000 does; QADD keeps the saturated ends of
 * infinities there). A half-integer between the products (about r 2**-22 of the values; an
 * input on an int8 step's midpoint, as a quarter of the MLPerf samples', always) or a NaN
 * (u = 0) takes the divide. */
static TTE_ALWAYS_INLINE int32_t quantize_one(float v, float scale, float lo, float hi, int32_t zp2)
{
    const int32_t u = quantize_trunc2(v * lo);
    int32_t q;
    if (__builtin_expect(u != quantize_trunc2(v * hi), 0)) {
        return quantize_value(v / scale, zp2);
    }
    if (__builtin_expect(u == 0, 0)) {
        return v != v ? quantize_value(v / scale, zp2) : zp2 >> 1;
    }
    q = tte_qadd(u, zp2 + (u >> 31));
    __asm__("ssat %0, #8, %1, asr #1" : "=r"(q) : "r"(q));
    return q;
}

/* QUANTIZE by a power-of-two scale, the bytes of quantize_value(v inv): u = trunc(2 v inv) by
 * one VCVT to fixed point (saturated: an infinity or |r| >= 2**30 clamps as quantize_value's
 * +-1000 does, QADD keeping the saturated ends); u = 0 (|r| < 1/2, or a NaN, which the VCVT
 * makes 0 and quantize_value sends low) takes quantize_value. */
static TTE_ALWAYS_INLINE void quantize_pow2_store(int8_t *y, int32_t u, const float *x, float inv, int32_t zp2)
{
    int32_t q;
    if (__builtin_expect(u == 0, 0)) {
        *y = quantize_value(*x * inv, zp2);
        return;
    }
    q = tte_qadd(u, zp2 + (u >> 31));
    __asm__("ssat %0, #8, %0, asr #1\n\t"
            "strb %0, %1"
            : "+r"(q), "=m"(*y));
}

/* four values a pass: one VLDM, their products and conversions, two VMOVs of two words */
static void quantize_pow2(const float *x, int8_t *y, int32_t n, float inv, int32_t zp2)
{
    int32_t i;
    for (i = 0; i + 4 <= n; i += 4) {
        int32_t u0, u1, u2, u3;
        __asm__("vldmia %[x], {s12-s15}\n\t"
                "vmul.f32 s12, s12, %[inv]\n\t"
                "vmul.f32 s13, s13, %[inv]\n\t"
                "vmul.f32 s14, s14, %[inv]\n\t"
                "vmul.f32 s15, s15, %[inv]\n\t"
                "vcvt.s32.f32 s12, s12, #1\n\t"
                "vcvt.s32.f32 s13, s13, #1\n\t"
                "vcvt.s32.f32 s14, s14, #1\n\t"
                "vcvt.s32.f32 s15, s15, #1\n\t"
                "vmov %[u0], %[u1], s12, s13\n\t"
                "vmov %[u2], %[u3], s14, s15"
                : [u0] "=r"(u0), [u1] "=r"(u1), [u2] "=r"(u2), [u3] "=r"(u3)
                : [x] "r"(x + i), [inv] "t"(inv), "m"(x[i]), "m"(x[i + 1]), "m"(x[i + 2]), "m"(x[i + 3])
                : "s12", "s13", "s14", "s15");
        quantize_pow2_store(y + i, u0, x + i, inv, zp2);
        quantize_pow2_store(y + i + 1, u1, x + i + 1, inv, zp2);
        quantize_pow2_store(y + i + 2, u2, x + i + 2, inv, zp2);
        quantize_pow2_store(y + i + 3, u3, x + i + 3, inv, zp2);
    }
    for (; i < n; ++i) {
        quantize_pow2_store(y + i, quantize_trunc2(x[i] * inv), x + i, inv, zp2);
    }
}

/* Two of quantize_pow2_fast's values (S registers A, B, converted) into registers RA, RB and
 * bytes OA, OB from yp: each u sign-extended from 16 bits, so that SMLAD by 0x00010001 forms
 * u + (u >> 31) + zp2 in one instruction, then quantize_value's halving and clamp in SSAT */
#define QUANTIZE_P2_PAIR(A, B, RA, RB, OA, OB)                                          \
    "vmov %[" RA "], %[" RB "], " A ", " B "\n\t"                                      \
    "smlad %[" RA "], %[" RA "], %[one], %[zp2]\n\t"                                   \
    "smlad %[" RB "], %[" RB "], %[one], %[zp2]\n\t"                                   \
    "ssat %[" RA "], #8, %[" RA "], asr #1\n\t"                                        \
    "ssat %[" RB "], #8, %[" RB "], asr #1\n\t"                                        \
    "strb %[" RA "], [%[yp], #" OA "]\n\t"                                             \
    "strb %[" RB "], [%[yp], #" OB "]\n\t"
/* A pass of quantize_pow2_fast after s8-s15 hold x (or x / scale): their VCVTs, their eight
 * bytes (the first in c, stored last with yp's step), the loop's test */
#define QUANTIZE_P2_CVT                                                                 \
    "vcvt.s16.f32 s8, s8, #1\n\t"                                                      \
    "vcvt.s16.f32 s9, s9, #1\n\t"                                                      \
    "vcvt.s16.f32 s10, s10, #1\n\t"                                                    \
    "vcvt.s16.f32 s11, s11, #1\n\t"                                                    \
    "vcvt.s16.f32 s12, s12, #1\n\t"                                                    \
    "vcvt.s16.f32 s13, s13, #1\n\t"                                                    \
    "vcvt.s16.f32 s14, s14, #1\n\t"                                                    \
    "vcvt.s16.f32 s15, s15, #1\n\t"                                                    \
    "vmov %[c], %[b], s8, s9\n\t"                                                      \
    "smlad %[c], %[c], %[one], %[zp2]\n\t"                                             \
    "smlad %[b], %[b], %[one], %[zp2]\n\t"                                             \
    "ssat %[c], #8, %[c], asr #1\n\t"                                                  \
    "ssat %[b], #8, %[b], asr #1\n\t"                                                  \
    "strb %[b], [%[yp], #1]\n\t"                                                       \
    QUANTIZE_P2_PAIR("s10", "s11", "a", "b", "2", "3")                                  \
    QUANTIZE_P2_PAIR("s12", "s13", "a", "b", "4", "5")                                  \
    QUANTIZE_P2_PAIR("s14", "s15", "a", "b", "6", "7")                                  \
    "strb %[c], [%[yp]], #8\n\t"                                                       \
    "cmp %[xp], %[xend]\n\t"                                                           \
    "bne 1b\n\t"

/* FPSCR's cumulative Invalid Operation flag: a VCVT to an integer sets it for a NaN or out of
 * range */
#define TTE_FPSCR_IOC 1u

static TTE_ALWAYS_INLINE uint32_t fpscr_read(void)
{
    uint32_t r;
    __asm__ volatile("vmrs %0, fpscr" : "=r"(r));
    return r;
}

static TTE_ALWAYS_INLINE void fpscr_write(uint32_t r)
{
    __asm__ volatile("vmsr fpscr, %0" : : "r"(r) : "memory");
}

/* quantize_pow2's bytes, eight values a pass with no branch per value: trunc(2 r) by VCVT to
 * 16-bit fixed point (one fraction bit; no product for a scale of 1) and quantize_value's
 * rounding, zp and clamp in SMLAD + SSAT (u = -2**15, r = -2**14 exactly, fits the sum). A
 * NaN (VCVT: 0, where quantize_value sends it low) and |2 r| >= 2**15 (saturated) set FPSCR's
 * IOC flag: then the caller runs the buffer again through quantize_pow2. Returns whether the
 * flag stayed clear. */
static int32_t quantize_pow2_fast(const float *x, int8_t *y, int32_t n, float inv, int32_t zp2)
{
    const uint32_t before = fpscr_read();
    const float *xp = x, *const xend = x + (n & ~7);
    int8_t *yp = y;
    uint32_t a, b, c, after;
    int32_t i;
    fpscr_write(before & ~TTE_FPSCR_IOC);
    if (xp != xend && inv == 1.0f) {
        __asm__ volatile("1:\n\t"
                         "vldmia %[xp]!, {s8-s15}\n\t" QUANTIZE_P2_CVT
                         : [xp] "+r"(xp), [yp] "+r"(yp), [a] "=&r"(a), [b] "=&r"(b), [c] "=&r"(c)
                         : [xend] "r"(xend), [one] "r"(0x00010001u), [zp2] "r"(zp2)
                         : "s8", "s9", "s10", "s11", "s12", "s13", "s14", "s15", "cc", "memory");
    } else if (xp != xend) {
        __asm__ volatile("1:\n\t"
                         "vldmia %[xp]!, {s8-s15}\n\t"
                         "vmul.f32 s8, s8, %[inv]\n\t"
                         "vmul.f32 s9, s9, %[inv]\n\t"
                         "vmul.f32 s10, s10, %[inv]\n\t"
                         "vmul.f32 s11, s11, %[inv]\n\t"
                         "vmul.f32 s12, s12, %[inv]\n\t"
                         "vmul.f32 s13, s13, %[inv]\n\t"
                         "vmul.f32 s14, s14, %[inv]\n\t"
                         "vmul.f32 s15, s15, %[inv]\n\t" QUANTIZE_P2_CVT
                         : [xp] "+r"(xp), [yp] "+r"(yp), [a] "=&r"(a), [b] "=&r"(b), [c] "=&r"(c)
                         : [xend] "r"(xend), [inv] "t"(inv), [one] "r"(0x00010001u), [zp2] "r"(zp2)
                         : "s8", "s9", "s10", "s11", "s12", "s13", "s14", "s15", "cc", "memory");
    }
    for (i = n & ~7; i < n; ++i) {
        quantize_pow2_store(y + i, quantize_trunc2(x[i] * inv), x + i, inv, zp2);
    }
    after = fpscr_read();
    fpscr_write(after | (before & TTE_FPSCR_IOC));
    return (after & TTE_FPSCR_IOC) == 0;
}

static void quantize_bracketed(const float *x, int8_t *y, int32_t n, float scale, float lo, float hi, int32_t zp2)
{
    int32_t i;
    /* two values a pass, loaded with one VLDM */
    for (i = 0; i + 2 <= n; i += 2) {
        register float v0 __asm__("s12");
        register float v1 __asm__("s13");
        __asm__("vldmia %2, {%0, %1}" : "=t"(v0), "=t"(v1) : "r"(x + i), "m"(x[i]), "m"(x[i + 1]));
        y[i] = (int8_t)quantize_one(v0, scale, lo, hi, zp2);
        y[i + 1] = (int8_t)quantize_one(v1, scale, lo, hi, zp2);
    }
    if (i < n) {
        y[i] = (int8_t)quantize_one(x[i], scale, lo, hi, zp2);
    }
}

/* QUANTIZE_WINDOW_K - (t << 16) is below QUANTIZE_WINDOW_L where t / 2**16 is within 16 / 2**16
 * of a half-integer */
#define QUANTIZE_WINDOW_K 0x80100000u
#define QUANTIZE_WINDOW_L 0x00200000u

/* One product per value, x * inv (inv = 1 / scale rounded), as t = trunc(2**16 x inv) (one VCVT
 * to fixed point): x inv and the quotient r = x / scale are within 3 * 2**-24 |r| of each
 * other, at most 2**-14 where a rounding can still tell the bytes apart (|r| < 258; beyond,
 * both clamp to the same end), so where t / 2**16 lies more than 16 / 2**16 from a
 * half-integer, no half-integer lies between x inv and r, and r's byte is the nearest integer
 * to t / 2**16 (no tie) plus zp, clamped: SSAT(QADD(t, 2**15 + zp 2**16) >> 16) (QADD: the
 * saturated ends clamp alike). A value near a half-integer takes the divide. A NaN (VCVT gives
 * 0) and |x inv| >= 2**15 (saturated) set FPSCR's IOC flag: then the whole buffer runs again
 * through quantize_bracketed. Returns whether the flag stayed clear. */
/* one value of a quad (s12 + I, t I): its window test, its byte in t I or, near a half-integer,
 * a branch to its divide at 3I:, which comes back to 4I: */
#define QUANTIZE_ONE(I)                                                                 \
    "sub %[d], %[k], %[t" I "], lsl #16\n\t"                                           \
    "cmp %[d], %[l]\n\t"                                                               \
    "blo 3" I "f\n\t"                                                                  \
    "qadd %[t" I "], %[t" I "], %[c]\n\t"                                              \
    "ssat %[t" I "], #8, %[t" I "], asr #16\n\t"                                       \
    "4" I ":\n\t"
/* quantize_value of x[I] (xp has moved past the quad): r = x / scale is below 2**15 here and
 * needs no clamp before its VCVT */
#define QUANTIZE_DIVIDE(I, S)                                                           \
    "3" I ":\n\t"                                                                      \
    "vldr " S ", [%[xp], #(" I " * 4 - 16)]\n\t"                                       \
    "vdiv.f32 " S ", " S ", %[scale]\n\t"                                              \
    "vcvt.s32.f32 " S ", " S ", #1\n\t"                                                \
    "vmov %[t" I "], " S "\n\t"                                                        \
    "add %[t" I "], %[t" I "], %[t" I "], asr #31\n\t"                                 \
    "add %[t" I "], %[t" I "], %[zp2]\n\t"                                             \
    "ssat %[t" I "], #8, %[t" I "], asr #1\n\t"                                        \
    "b 4" I "b\n\t"

static int32_t quantize_windowed(const float *x, int8_t *y, int32_t n, float scale, float inv, int32_t zp)
{
    const int32_t c = (int32_t)((uint32_t)zp << 16) + 0x8000, zp2 = 2 * zp + 1;
    const uint32_t k = QUANTIZE_WINDOW_K, before = fpscr_read();
    const float *xp = x, *const xend = x + (n & ~3);
    int8_t *yp = y;
    uint32_t after;
    int32_t i;
    fpscr_write(before & ~TTE_FPSCR_IOC);
    if (xp != xend) {
        uint32_t t0, t1, t2, t3, d;
        /* four values a loop pass */
        __asm__ volatile("1:\n\t"
                         "vldmia %[xp]!, {s12-s15}\n\t"
                         "vmul.f32 s12, s12, %[inv]\n\t"
                         "vmul.f32 s13, s13, %[inv]\n\t"
                         "vmul.f32 s14, s14, %[inv]\n\t"
                         "vmul.f32 s15, s15, %[inv]\n\t"
                         "vcvt.s32.f32 s12, s12, #16\n\t"
                         "vcvt.s32.f32 s13, s13, #16\n\t"
                         "vcvt.s32.f32 s14, s14, #16\n\t"
                         "vcvt.s32.f32 s15, s15, #16\n\t"
                         "vmov %[t0], %[t1], s12, s13\n\t"
                         "vmov %[t2], %[t3], s14, s15\n\t" QUANTIZE_ONE("0") QUANTIZE_ONE("1") QUANTIZE_ONE("2")
                             QUANTIZE_ONE("3")
                         "strb %[t1], [%[yp], #1]\n\t"
                         "strb %[t2], [%[yp], #2]\n\t"
                         "strb %[t3], [%[yp], #3]\n\t"
                         "strb %[t0], [%[yp]], #4\n\t"
                         "cmp %[xp], %[xend]\n\t"
                         "bne 1b\n\t"
                         "b 9f\n\t" QUANTIZE_DIVIDE("0", "s12") QUANTIZE_DIVIDE("1", "s13")
                             QUANTIZE_DIVIDE("2", "s14") QUANTIZE_DIVIDE("3", "s15")
                         "9:"
                         : [xp] "+r"(xp), [yp] "+r"(yp), [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2),
                           [t3] "=&r"(t3), [d] "=&r"(d)
                         : [xend] "r"(xend), [inv] "t"(inv), [scale] "t"(scale), [k] "r"(k),
                           [l] "I"(QUANTIZE_WINDOW_L), [c] "r"(c), [zp2] "r"(zp2)
                         : "s12", "s13", "s14", "s15", "cc", "memory");
    }
    for (i = n & ~3; i < n; ++i) {
        y[i] = quantize_value(x[i] / scale, zp2);
    }
    after = fpscr_read();
    fpscr_write(after | (before & TTE_FPSCR_IOC));
    return (after & TTE_FPSCR_IOC) == 0;
}
#endif

void tte_quantize_f32_s8(const float *x, int8_t *y, int32_t n, float scale, int32_t zp)
{
    const int32_t zp2 = 2 * zp + 1;
    uint32_t sb;
    int32_t i;
    memcpy(&sb, &scale, sizeof sb);
    /* scale a power of two whose reciprocal is a normal float (exponent field in [1, 253]):
     * x * (1 / scale) and x / scale are the correctly rounded value of the same real number,
     * so the multiply (not the divide, 14 cycles on a Cortex-M7) gives the same r */
    if ((sb & 0x807FFFFFu) == 0 && (sb >> 23) >= 1 && (sb >> 23) <= 253) {
        const float inv = 1.0f / scale;
#if defined(__ARM_FEATURE_DSP) && defined(__ARM_FP) && (__ARM_FP & 4)
        if (!quantize_pow2_fast(x, y, n, inv, zp2)) {
            quantize_pow2(x, y, n, inv, zp2);
        }
#else
        for (i = 0; i < n; ++i) {
            y[i] = quantize_value(x[i] * inv, zp2);
        }
#endif
        return;
    }
#if defined(__ARM_FEATURE_DSP) && defined(__ARM_FP) && (__ARM_FP & 4)
    /* 1 / scale normal with room: its correctly rounded inv is within half an ulp, so inv
     * less and plus one ulp bracket it */
    if ((sb >> 23) >= 2 && (sb >> 23) <= 252) {
        const float inv = 1.0f / scale;
        uint32_t ib;
        float lo, hi;
        memcpy(&ib, &inv, sizeof ib);
        ib -= 1u;
        memcpy(&lo, &ib, sizeof lo);
        ib += 2u;
        memcpy(&hi, &ib, sizeof hi);
        if (!quantize_windowed(x, y, n, scale, inv, zp)) {
            quantize_bracketed(x, y, n, scale, lo, hi, zp2);
        }
        return;
    }
#endif
    for (i = 0; i < n; ++i) {
        y[i] = quantize_value(x[i] / scale, zp2);
    }
}

void tte_dequantize_s8_f32(const int8_t *x, float *y, int32_t n, float scale, int32_t zp)
{
    int32_t i = 0;
#if defined(__ARM_FEATURE_DSP) && defined(__ARM_FP) && (__ARM_FP & 4)
    if (n >= 8) {
        /* eight values a pass, the same conversions and multiplies as the loop below: each word's
         * x - zp in int16 lanes (SXTB16, SSUB16; |x - zp| <= 255), each value in the low half of
         * an S register, converted by VCVT from 16-bit fixed point with no fraction bits */
        const int8_t *xp = x;
        const int8_t *const xend = x + (n & ~7);
        float *yp = y;
        const uint32_t zz = ((uint32_t)zp & 0xFFFFu) * 0x10001u;
        uint32_t u0, u1, a0, b0, a1, b1, c0, c1, e0, e1;
        __asm__ volatile("1:\n\t"
                         "ldr %[u0], [%[xp]], #4\n\t"
                         "ldr %[u1], [%[xp]], #4\n\t"
                         "sxtb16 %[a0], %[u0]\n\t"
                         "sxtb16 %[b0], %[u0], ror #8\n\t"
                         "sxtb16 %[a1], %[u1]\n\t"
                         "sxtb16 %[b1], %[u1], ror #8\n\t"
                         "ssub16 %[a0], %[a0], %[zz]\n\t"
                         "ssub16 %[b0], %[b0], %[zz]\n\t"
                         "ssub16 %[a1], %[a1], %[zz]\n\t"
                         "ssub16 %[b1], %[b1], %[zz]\n\t"
                         "lsr %[c0], %[a0], #16\n\t"
                         "lsr %[e0], %[b0], #16\n\t"
                         "lsr %[c1], %[a1], #16\n\t"
                         "lsr %[e1], %[b1], #16\n\t"
                         "vmov s8, s9, %[a0], %[b0]\n\t"
                         "vmov s10, s11, %[c0], %[e0]\n\t"
                         "vmov s12, s13, %[a1], %[b1]\n\t"
                         "vmov s14, s15, %[c1], %[e1]\n\t"
                         "vcvt.f32.s16 s8, s8, #0\n\t"
                         "vcvt.f32.s16 s9, s9, #0\n\t"
                         "vcvt.f32.s16 s10, s10, #0\n\t"
                         "vcvt.f32.s16 s11, s11, #0\n\t"
                         "vcvt.f32.s16 s12, s12, #0\n\t"
                         "vcvt.f32.s16 s13, s13, #0\n\t"
                         "vcvt.f32.s16 s14, s14, #0\n\t"
                         "vcvt.f32.s16 s15, s15, #0\n\t"
                         "vmul.f32 s8, s8, %[s]\n\t"
                         "vmul.f32 s9, s9, %[s]\n\t"
                         "vmul.f32 s10, s10, %[s]\n\t"
                         "vmul.f32 s11, s11, %[s]\n\t"
                         "vmul.f32 s12, s12, %[s]\n\t"
                         "vmul.f32 s13, s13, %[s]\n\t"
                         "vmul.f32 s14, s14, %[s]\n\t"
                         "vmul.f32 s15, s15, %[s]\n\t"
                         "vstmia %[yp]!, {s8-s15}\n\t"
                         "cmp %[xp], %[xend]\n\t"
                         "bne 1b"
                         : [xp] "+r"(xp), [yp] "+r"(yp), [u0] "=&r"(u0), [u1] "=&r"(u1), [a0] "=&r"(a0),
                           [b0] "=&r"(b0), [a1] "=&r"(a1), [b1] "=&r"(b1), [c0] "=&r"(c0), [c1] "=&r"(c1),
                           [e0] "=&r"(e0), [e1] "=&r"(e1)
                         : [xend] "r"(xend), [zz] "r"(zz), [s] "t"(scale)
                         : "s8", "s9", "s10", "s11", "s12", "s13", "s14", "s15", "cc", "memory");
        i = n & ~7;
    }
    /* four values a pass, the same conversions and multiplies as the loop below: the int32
     * pairs moved with one VMOV each, the four floats stored with one VSTM */
    for (; i + 4 <= n; i += 4) {
        const int32_t a = (int32_t)x[i] - zp, b = (int32_t)x[i + 1] - zp, c = (int32_t)x[i + 2] - zp,
                      d = (int32_t)x[i + 3] - zp;
        float *yp = y + i;
        __asm__ volatile("vmov s12, s13, %[a], %[b]\n\t"
                         "vmov s14, s15, %[c], %[d]\n\t"
                         "vcvt.f32.s32 s12, s12\n\t"
                         "vcvt.f32.s32 s13, s13\n\t"
                         "vcvt.f32.s32 s14, s14\n\t"
                         "vcvt.f32.s32 s15, s15\n\t"
                         "vmul.f32 s12, s12, %[s]\n\t"
                         "vmul.f32 s13, s13, %[s]\n\t"
                         "vmul.f32 s14, s14, %[s]\n\t"
                         "vmul.f32 s15, s15, %[s]\n\t"
                         "vstmia %[yp], {s12-s15}"
                         :
                         : [a] "r"(a), [b] "r"(b), [c] "r"(c), [d] "r"(d), [s] "t"(scale), [yp] "r"(yp)
                         : "s12", "s13", "s14", "s15", "memory");
    }
#endif
    for (; i < n; ++i) {
        y[i] = (float)((int32_t)x[i] - zp) * scale;
    }
}

/* y = a + b elementwise; y may be a or b (in place). Under TTE_VFP_ASM eight a pass: both
 * inputs' eight floats by one VLDM each, before the pass's VSTM (so y may also start before a
 * or b, as the element loop allows), the last n % 8 in C. */
void tte_add_f32(const float *a, const float *b, float *y, int32_t n)
{
    int32_t i;
#ifdef TTE_VFP_ASM
    if (n >= 8) {
        const float *const ae = a + (n & ~7);
        __asm__ volatile("1:\n\t"
                         "vldmia %[a]!, {s0-s7}\n\t"
                         "vldmia %[b]!, {s8-s15}\n\t"
                         "vadd.f32 s0, s0, s8\n\t" "vadd.f32 s1, s1, s9\n\t"
                         "vadd.f32 s2, s2, s10\n\t" "vadd.f32 s3, s3, s11\n\t"
                         "vadd.f32 s4, s4, s12\n\t" "vadd.f32 s5, s5, s13\n\t"
                         "vadd.f32 s6, s6, s14\n\t" "vadd.f32 s7, s7, s15\n\t"
                         "vstmia %[y]!, {s0-s7}\n\t"
                         "cmp %[a], %[ae]\n\t"
                         "bne 1b\n\t"
                         : [a] "+&r"(a), [b] "+&r"(b), [y] "+&r"(y)
                         : [ae] "r"(ae)
                         : "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "cc", "memory");
        n &= 7;
    }
#endif
    for (i = 0; i < n; ++i) {
        y[i] = a[i] + b[i];
    }
}

void tte_mul_f32(const float *a, const float *b, float *y, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        y[i] = a[i] * b[i];
    }
}
