/* QAS (paper Eq. 4) for the update kernels (update.c, dwpw_backward.c): the counter-based
 * uniform hash, the step factors, nearest and stochastic rounding to integer steps, and their
 * application to int8 weights and int32 biases. See tte/update.h for the numerics.
 *
 * Internal, hidden from the cffi declarations. Static, not inline (TTE_INTERNAL): each kernel
 * file gets its own copy and gcc inlines them as when they all lived in one file; qas_steps,
 * qas_factor_s8_formed (the factor's software double arithmetic) stay out of line (TTE_NOINLINE);
 * qas_factor_s8 (a table read where the compiler made one) and qas_steps_bias (its float32 fast
 * path; the double one is qas_steps) are inline, no call per channel.
 */
#ifndef TTE_INTERNAL_QAS_H
#define TTE_INTERNAL_QAS_H
#ifndef TTE_CDEF
#include <string.h>

#include "tte/internal/vfp.h"
#include "tte/update.h"

static inline uint32_t hash_mix(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7FEB352Du;
    x ^= x >> 15;
    x *= 0x846CA68Bu;
    x ^= x >> 16;
    return x;
}

/* index * 0x9E3779B1 + hash_step(seed, step): a row of weights hashes with one multiply-add each */
TTE_INTERNAL uint32_t hash_step(uint32_t seed, int32_t step)
{
    return (uint32_t)step * 0x85EBCA77u + seed;
}

TTE_INTERNAL uint32_t uniform_hash(uint32_t seed, int32_t step, uint32_t index)
{
    return hash_mix(index * 0x9E3779B1u + hash_step(seed, step));
}

/* Integer steps for a gradient g of the oi-th selected output channel, element `index`. */
TTE_INTERNAL TTE_NOINLINE int64_t qas_steps(const tte_update_params_t *u, float g, int32_t oi, uint32_t index, int32_t step)
{
    const double s = (double)u->scale[u->n_scale > 1 ? oi : 0];
    double delta = tte_update_lr(u) * (u->qas ? (double)g / s : (double)g * s);
    double t;
    if (delta != delta) {
        return 0; /* NaN gradient: no update */
    }
    /* beyond +-2**40 every result saturates; keeps the integer conversion defined */
    delta = delta > 1099511627776.0 ? 1099511627776.0 : (delta < -1099511627776.0 ? -1099511627776.0 : delta);
    if (u->stochastic) {
        /* u = code / 2**32 is exact in double, as in the reference */
        t = delta + (double)uniform_hash(u->seed, step, index) * (1.0 / 4294967296.0);
        {
            const double f = (double)(int64_t)t; /* truncation toward zero */
            return (int64_t)(f > t ? f - 1.0 : f);
        }
    }
    /* round half away from zero */
    t = delta < 0.0 ? -delta : delta;
    {
        double r = (double)(int64_t)t;
        if (t - r >= 0.5) {
            r += 1.0;
        }
        return (int64_t)(delta < 0.0 ? -r : r);
    }
}

/* (float)(a / (double)b) without double arithmetic (software on the M7), for a > 0 and b > 0
 * normal and a float-normal result. The double division's rounding never shows in the
 * float: with A, B the integer significands (53 and 24 bits), A / B in (2**28, 2**30) lies
 * |A - M B| / B >= 1 / B > 2**-24 from a float midpoint M (an odd multiple of 2**4 or 2**5)
 * unless on it, while the double's half-ulp there is at most 2**-24; so (float)(a / (double)b)
 * is a / b rounded once to 24 bits, nearest-even: from q = floor(A / B) (29 or 30 bits, 32-bit
 * hardware divides of 32, 8, 8 and 5 dividend bits) and whether its remainder is 0. Returns 0
 * elsewhere (then divide in double). */
TTE_INTERNAL int32_t div_df_exact(double a, float b, float *out)
{
    uint64_t ab;
    uint32_t bb, cur, d, q, rem, lo, f, low, half, fbits;
    int32_t ea, eb, drop, e;
    memcpy(&ab, &a, sizeof ab);
    memcpy(&bb, &b, sizeof bb);
    ea = (int32_t)((ab >> 52) & 0x7FFu);
    eb = (int32_t)((bb >> 23) & 0xFFu);
    if ((ab >> 63) != 0u || ea == 0 || ea == 0x7FF || (bb >> 31) != 0u || eb == 0 || eb == 0xFF) {
        return 0;
    }
    ab = (ab & 0xFFFFFFFFFFFFFull) | 0x10000000000000ull; /* A in [2**52, 2**53) */
    bb = (bb & 0x7FFFFFu) | 0x800000u;                     /* B in [2**23, 2**24) */
    cur = (uint32_t)(ab >> 21);
    lo = (uint32_t)ab & 0x1FFFFFu;
    q = cur / bb;
    rem = cur - q * bb;
    cur = (rem << 8) | (lo >> 13);
    d = cur / bb;
    rem = cur - d * bb;
    q = (q << 8) | d;
    cur = (rem << 8) | ((lo >> 5) & 0xFFu);
    d = cur / bb;
    rem = cur - d * bb;
    q = (q << 8) | d;
    cur = (rem << 5) | (lo & 0x1Fu);
    d = cur / bb;
    rem = cur - d * bb;
    q = (q << 5) | d; /* A / B in (2**28, 2**30) */
    drop = q >= (1u << 29) ? 6 : 5;
    f = q >> drop;
    low = q & ((1u << drop) - 1u);
    half = 1u << (drop - 1);
    if (low > half || (low == half && (rem != 0u || (f & 1u) != 0u))) {
        f += 1u;
        if (f == 0x1000000u) {
            f >>= 1;
            drop += 1;
        }
    }
    e = drop + ea - eb - 775; /* a / b = f * 2**(drop + ea - eb - 925), biased */
    if (e < 1 || e > 254) {
        return 0;
    }
    fbits = ((uint32_t)e << 23) | (f & 0x7FFFFFu);
    memcpy(out, &fbits, sizeof *out);
    return 1;
}

/* u->k (the step factors made at compile time for the learning rate u->lr) while the learning
 * rate is u->lr, bit for bit (an integer compare: double compares are software on the M7),
 * else NULL */
TTE_INTERNAL const float *qas_k_table(const tte_update_params_t *u)
{
    uint64_t now, made;
    if (u->k == NULL || u->lr_live == NULL) {
        return u->k;
    }
    memcpy(&now, u->lr_live, sizeof now);
    memcpy(&made, &u->lr, sizeof made);
    return now == made ? u->k : NULL;
}

/* The factor k of the step delta = k * g of the oi-th selected output channel of an int8
 * weight: lr / s (QAS) or lr * s, formed in double once per channel, then rounded to float
 * (out of line: the software double arithmetic is long). */
TTE_INTERNAL TTE_NOINLINE float qas_factor_s8_formed(const tte_update_params_t *u, int32_t oi)
{
    const float sf = u->scale[u->n_scale > 1 ? oi : 0];
    const double lr = tte_update_lr(u);
    float k;
    if (!u->qas) {
        return (float)(lr * (double)sf);
    }
    if (div_df_exact(lr, sf, &k)) {
        return k;
    }
    return (float)(lr / (double)sf); /* sf's widening (software on the M7) only here */
}

/* qas_factor_s8_formed's factor, read from u->k where it holds them (the same floats, made so at
 * compile time: no divides, no call) */
static inline float qas_factor_s8(const tte_update_params_t *u, int32_t oi)
{
    const float *const kt = qas_k_table(u);
    return kt != NULL ? kt[u->n_scale > 1 ? oi : 0] : qas_factor_s8_formed(u, oi);
}

/* Integer steps of an int8 weight, in float32 (the Cortex-M7 FPU is single precision; double
 * is emulated in software). delta = k * g differs from the reference's float64
 * lr * (g / s) by at most about 2 float32 roundings, |delta| * 1.2e-7; only |delta| < 255
 * matters (any larger step saturates every int8 weight, hence the clamp), so the result
 * differs from the reference only within 3.1e-5 of a rounding boundary, inside the 1e-4 band
 * that tests/test_c_kernels.py already allows for the float32 gradient sums. u is the hash's
 * top 24 bits / 2**24 (exact in float; at most 2**-24 below the reference's code / 2**32). */
static inline int32_t qas_round_s8(float delta, int32_t stochastic, uint32_t hash)
{
    float a;
    int32_t r;
    if (delta != delta) {
        return 0; /* NaN gradient: no update */
    }
    delta = delta > 1024.0f ? 1024.0f : (delta < -1024.0f ? -1024.0f : delta);
    if (stochastic) {
        const float uf = (float)(hash >> 8) * (1.0f / 16777216.0f);
        int32_t f = (int32_t)delta; /* truncation toward zero */
        if ((float)f > delta) {
            f -= 1; /* floor */
        }
        /* delta - f is exact (|delta| <= 1024); floor(delta + u) = f + (frac + u >= 1) */
        return f + ((delta - (float)f) + uf >= 1.0f ? 1 : 0);
    }
    /* round half away from zero */
    a = delta < 0.0f ? -delta : delta;
    r = (int32_t)a;
    if (a - (float)r >= 0.5f) {
        r += 1;
    }
    return delta < 0.0f ? -r : r;
}

TTE_INTERNAL int32_t qas_steps_s8(const tte_update_params_t *u, float k, float g, uint32_t index, int32_t step)
{
    return qas_round_s8(k * g, u->stochastic, u->stochastic ? uniform_hash(u->seed, step, index) : 0u);
}

/* The float32 factor kb of an int32 bias's step, RNf(RNf(lr) / s) (QAS) or RNf(RNf(lr) * s):
 * within two float roundings of lr / s (lr * s); only qas_steps_bias's fast path uses it. */
TTE_INTERNAL float qas_factor_bias(const tte_update_params_t *u, float lr, int32_t oi)
{
    const float s = u->scale[u->n_scale > 1 ? oi : 0];
    return u->qas ? lr / s : lr * s;
}

/* qas_steps's result for an int32 bias (the reference's double arithmetic; their steps can be
 * large), decided in float32 where that is certain, since the M7 emulates double in software.
 * df = kb * g is within three float roundings of the double delta, |df - delta| <= 1.8e-7 |df|;
 * the 24-bit u below the double one by < 2**-24, the float sum z by <= 2**-24, and the double
 * sum delta + u by < 2**-31 of an integer (|delta| < 2**20). So where the float value is
 * farther than m = 4e-7 (|df| + 1) from a rounding boundary, the boundary alone decides and
 * the result is qas_steps's; near one (rarely), or for large or NaN steps, qas_steps runs. */
static inline int64_t qas_steps_bias(const tte_update_params_t *u, float kb, float g, int32_t oi, uint32_t index,
                              int32_t step)
{
    const float df = kb * g;
    const float a = df < 0.0f ? -df : df;
    if (a < 1048576.0f && kb >= 1e-30f) {
        const float m = a * 4e-7f + 4e-7f;
        if (u->stochastic) {
            const float uf = (float)(uniform_hash(u->seed, step, index) >> 8) * (1.0f / 16777216.0f);
            int32_t f = (int32_t)df;
            float z;
            if ((float)f > df) {
                f -= 1; /* floor */
            }
            z = (df - (float)f) + uf; /* df - f is exact */
            if (z > m && z < 1.0f - m) {
                return f;
            }
            if (z > 1.0f + m && z < 2.0f - m) {
                return (int64_t)f + 1;
            }
        } else {
            const int32_t r = (int32_t)a;
            const float fr = a - (float)r;
            if (fr < 0.5f - m || fr > 0.5f + m) {
                const int32_t v = fr > 0.5f ? r + 1 : r;
                return df < 0.0f ? -v : v;
            }
        }
    }
    return qas_steps(u, g, oi, index, step);
}

static inline int8_t apply_s8(int8_t w, int32_t steps)
{
    const int32_t v = (int32_t)w - steps;
    return (int8_t)(v < -127 ? -127 : (v > 127 ? 127 : v));
}

TTE_INTERNAL int32_t apply_s32(int32_t w, int64_t steps)
{
    int64_t v = (int64_t)w - steps;
    return (int32_t)(v < TTE_INT32_MIN ? TTE_INT32_MIN : (v > TTE_INT32_MAX ? TTE_INT32_MAX : v));
}

TTE_INTERNAL int32_t sel(const int32_t *idx, int32_t i)
{
    return idx ? idx[i] : i;
}

/* qas_round_s8(delta, 1, hash) for |delta| < 1024 without the clamp (the same operations);
 * NaN and larger steps (an integer test of the bits) go through qas_round_s8. */
static inline int32_t qas_stochastic_s8(float delta, uint32_t hash)
{
    uint32_t bits;
    memcpy(&bits, &delta, sizeof bits);
    if ((bits & 0x7FFFFFFFu) < 0x44800000u) {
        const float uf = (float)(hash >> 8) * (1.0f / 16777216.0f);
        int32_t r = (int32_t)delta;
        float ff = (float)r;
        if (ff > delta) {
            r -= 1;
            ff -= 1.0f; /* exact: (float)r */
        }
        return r + ((delta - ff) + uf >= 1.0f ? 1 : 0);
    }
    return qas_round_s8(delta, 1, hash);
}

#ifdef TTE_VFP_ASM
/* one hash of qas_apply_row_s8's stochastic loop into t2 as 2 u + 1 (u = its top 24 bits),
 * added to the step's fixed-point value in T; the next weight's hash input */
#define TTE_QAS_SR_HASH(T) \
    "eor %[t2], %[h], %[h], lsr #16\n\t" \
    "mul %[t2], %[t2], %[m1]\n\t" \
    "eor %[t2], %[t2], %[t2], lsr #15\n\t" \
    "mul %[t2], %[t2], %[m2]\n\t" \
    "eor %[t2], %[t2], %[t2], lsr #16\n\t" \
    "orr %[t2], %[t2], #128\n\t" \
    "add %[" T "], %[" T "], %[t2], lsr #7\n\t" \
    "add %[h], %[h], %[m3]\n\t"
/* a negative step (its bits in T) as (S + 1) - 1 in S: the rounding qas_apply_row_s8's
 * fixed-point conversion needs below zero */
#define TTE_QAS_SR_NEG(T, S) \
    "cmp %[" T "], #0\n\t" \
    "itt lt\n\t" \
    "vaddlt.f32 " S ", " S ", %[one]\n\t" \
    "vsublt.f32 " S ", " S ", %[one]\n\t"
#endif

/* apply_s8(w, 0) on n int8 weights of one output channel (wrow[sel(idx, j)]): the update of a
 * row whose gradients are all zero */
TTE_INTERNAL void qas_clamp_row_s8(int8_t *wrow, int32_t n, const int32_t *idx)
{
    int32_t j;
    for (j = 0; j < n; ++j) {
        int8_t *wp = wrow + sel(idx, j);
        if (*wp == -128) {
            *wp = -127;
        }
    }
}

/* qas_steps_s8 and apply_s8 on n int8 weights of one output channel: gradient g[j] (hash
 * index base + j) to wrow[sel(idx, j)]; the hash's terms formed incrementally. Stochastic
 * rounding (the paper's choice) has its own loops. */
TTE_INTERNAL void qas_apply_row_s8(const tte_update_params_t *u, float k, const float *g, int32_t n, int8_t *wrow,
                             const int32_t *idx, uint32_t base, int32_t step)
{
    uint32_t hx = base * 0x9E3779B1u + hash_step(u->seed, step); /* (base + j) * 0x9E3779B1 + ... */
    int32_t j;
    if (!u->stochastic) {
        for (j = 0; j < n; ++j) {
            int8_t *wp = wrow + sel(idx, j);
            *wp = apply_s8(*wp, qas_round_s8(k * g[j], 0, 0u));
        }
    } else if (idx == NULL) {
        j = 0;
#ifdef TTE_VFP_ASM
        /* qas_stochastic_s8 and apply_s8 in integers, two weights a pass, for |delta| < 32
         * (a range test on the bits shifted out of the sign; larger steps and NaN stop the
         * loop, and C takes the pair). The float sequence f = floor(delta),
         * z = (delta - f) + u, step = f + (z >= 1) gives the same step as
         * (X + 2 U + 1) >> 25 (arithmetic), with U = hash >> 8 (u = U / 2**24) and X the
         * truncated 25-bit fixed-point value of delta (VCVT) or, for negative delta, of
         * (delta + 1) - 1: z >= 1 exactly when the exact sum is at least 1 - 2**-25 (the
         * midpoint below 1 rounds to 1), i.e. when floor((delta - f) * 2**25) + 2 U + 1
         * reaches 2**25; delta - f is exact except for delta in (-0.5, 0), where it is
         * delta + 1 rounded to 2**-24, and ((delta + 1) - 1) keeps that rounding (the
         * subtraction is exact) and changes no other negative delta (its bits are at or above
         * 2**-24). The pair of steps (|step| <= 32) is taken from the two weights by QSUB8
         * (saturating at -128 and 127), then -128 becomes -127 by SSUB8 and SEL. */
        /* four weights a pass first (one load and one store of their word, one QSUB8): the
         * pair's operations on two pairs, the four range tests before any; a quad with a
         * larger step or NaN stops the loop and C takes it */
        while (j + 4 <= n) {
            const float *gp = g + j;
            const float *const ge = gp + ((n - j) & ~3);
            int8_t *wp = wrow + j;
            int32_t t0, t1, t2, t3;
            __asm__ volatile("1:\n\t"
                             "vldmia %[gp]!, {s0-s3}\n\t"
                             "vmul.f32 s0, %[k], s0\n\t"
                             "vmul.f32 s1, %[k], s1\n\t"
                             "vmul.f32 s2, %[k], s2\n\t"
                             "vmul.f32 s3, %[k], s3\n\t"
                             "vmov %[t0], %[t1], s0, s1\n\t"
                             "vmov %[t2], %[t3], s2, s3\n\t"
                             "cmp %[lim], %[t0], lsl #1\n\t"
                             "itt hi\n\t"
                             "cmphi %[lim], %[t1], lsl #1\n\t"
                             "cmphi %[lim], %[t2], lsl #1\n\t"
                             "it hi\n\t"
                             "cmphi %[lim], %[t3], lsl #1\n\t"
                             "bls 3f\n\t"
                             TTE_QAS_SR_NEG("t0", "s0")
                             TTE_QAS_SR_NEG("t1", "s1")
                             TTE_QAS_SR_NEG("t2", "s2")
                             TTE_QAS_SR_NEG("t3", "s3")
                             "vcvt.s32.f32 s0, s0, #25\n\t"
                             "vcvt.s32.f32 s1, s1, #25\n\t"
                             "vcvt.s32.f32 s2, s2, #25\n\t"
                             "vcvt.s32.f32 s3, s3, #25\n\t"
                             "vmov %[t0], %[t1], s0, s1\n\t"
                             TTE_QAS_SR_HASH("t0")
                             TTE_QAS_SR_HASH("t1")
                             "asr %[t0], %[t0], #25\n\t"
                             "asr %[t1], %[t1], #25\n\t"
                             "bfi %[t0], %[t1], #8, #8\n\t"
                             "vmov %[t1], %[t3], s2, s3\n\t"
                             TTE_QAS_SR_HASH("t1")
                             TTE_QAS_SR_HASH("t3")
                             "asr %[t1], %[t1], #25\n\t"
                             "asr %[t3], %[t3], #25\n\t"
                             "bfi %[t0], %[t1], #16, #8\n\t"
                             "bfi %[t0], %[t3], #24, #8\n\t"
                             "ldr %[t3], [%[wp]]\n\t"
                             "qsub8 %[t3], %[t3], %[t0]\n\t"
                             "ssub8 %[t2], %[t3], %[c81]\n\t"
                             "sel %[t3], %[t3], %[c81]\n\t"
                             "str %[t3], [%[wp]], #4\n\t"
                             "cmp %[gp], %[ge]\n\t"
                             "bne 1b\n\t"
                             "b 4f\n\t"
                             "3:\n\t"
                             "sub %[gp], %[gp], #16\n\t"
                             "4:\n\t"
                             : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [gp] "+&r"(gp),
                               [wp] "+&r"(wp), [h] "+&r"(hx)
                             : [ge] "r"(ge), [m1] "r"(0x7FEB352Du), [m2] "r"(0x846CA68Bu), [m3] "r"(0x9E3779B1u),
                               [lim] "r"(0x84000000u), [c81] "r"(0x81818181u), [k] "t"(k), [one] "t"(1.0f)
                             : "d0", "d1", "cc", "memory");
            j = (int32_t)(gp - g);
            if (gp != ge) {
                /* the quad in C */
                const int32_t je = j + 4;
                for (; j < je; ++j, hx += 0x9E3779B1u) {
                    wrow[j] = apply_s8(wrow[j], qas_round_s8(k * g[j], 1, hash_mix(hx)));
                }
            }
        }
        while (j + 2 <= n) {
            const float *gp = g + j;
            const float *const ge = gp + ((n - j) & ~1);
            int8_t *wp = wrow + j;
            int32_t t0, t1, t2, t3;
            __asm__ volatile("1:\n\t"
                             "vldmia %[gp]!, {s0-s1}\n\t"
                             "vmul.f32 s0, %[k], s0\n\t"
                             "vmul.f32 s1, %[k], s1\n\t"
                             "vmov %[t0], %[t1], s0, s1\n\t"
                             "cmp %[lim], %[t0], lsl #1\n\t"
                             "it hi\n\t"
                             "cmphi %[lim], %[t1], lsl #1\n\t"
                             "bls 3f\n\t"
                             TTE_QAS_SR_NEG("t0", "s0")
                             TTE_QAS_SR_NEG("t1", "s1")
                             "vcvt.s32.f32 s0, s0, #25\n\t"
                             "vcvt.s32.f32 s1, s1, #25\n\t"
                             "vmov %[t0], %[t1], s0, s1\n\t"
                             TTE_QAS_SR_HASH("t0")
                             TTE_QAS_SR_HASH("t1")
                             "asr %[t0], %[t0], #25\n\t"
                             "asr %[t1], %[t1], #25\n\t"
                             "bfi %[t0], %[t1], #8, #8\n\t"
                             "ldrh %[t3], [%[wp]]\n\t"
                             "qsub8 %[t3], %[t3], %[t0]\n\t"
                             "ssub8 %[t2], %[t3], %[c81]\n\t"
                             "sel %[t3], %[t3], %[c81]\n\t"
                             "strh %[t3], [%[wp]], #2\n\t"
                             "cmp %[gp], %[ge]\n\t"
                             "bne 1b\n\t"
                             "b 4f\n\t"
                             "3:\n\t"
                             "sub %[gp], %[gp], #8\n\t"
                             "4:\n\t"
                             : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [gp] "+&r"(gp),
                               [wp] "+&r"(wp), [h] "+&r"(hx)
                             : [ge] "r"(ge), [m1] "r"(0x7FEB352Du), [m2] "r"(0x846CA68Bu), [m3] "r"(0x9E3779B1u),
                               [lim] "r"(0x84000000u), [c81] "r"(0x81818181u), [k] "t"(k), [one] "t"(1.0f)
                             : "d0", "cc", "memory");
            j = (int32_t)(gp - g);
            if (gp != ge) {
                /* the pair in C */
                wrow[j] = apply_s8(wrow[j], qas_round_s8(k * g[j], 1, hash_mix(hx)));
                hx += 0x9E3779B1u;
                wrow[j + 1] = apply_s8(wrow[j + 1], qas_round_s8(k * g[j + 1], 1, hash_mix(hx)));
                hx += 0x9E3779B1u;
                j += 2;
            }
        }
#endif
        for (; j < n; ++j, hx += 0x9E3779B1u) {
            wrow[j] = apply_s8(wrow[j], qas_stochastic_s8(k * g[j], hash_mix(hx)));
        }
    } else {
        for (j = 0; j < n; ++j, hx += 0x9E3779B1u) {
            int8_t *wp = wrow + idx[j];
            *wp = apply_s8(*wp, qas_stochastic_s8(k * g[j], hash_mix(hx)));
        }
    }
}
#endif /* TTE_CDEF */
#endif
