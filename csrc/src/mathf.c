/* Deterministic float exp/log/floor/round built only from IEEE float operations, so host
 * and firmware produce the same bits (compile with -ffp-contract=off). */
#include "tte/internal/optimized.h"
#include "tte/mathf.h"

typedef union {
    float f;
    uint32_t u;
} bits_t;

float tte_floorf(float x)
{
    float t;
    if (!(x > -8388608.0f && x < 8388608.0f)) {
        return x; /* already integral, infinite or NaN */
    }
    t = (float)(int32_t)x;
    return t > x ? t - 1.0f : t;
}

float tte_roundf(float x)
{
    float ax = x < 0.0f ? -x : x;
    float r;
    if (!(ax < 8388608.0f)) {
        return x;
    }
    r = tte_floorf(ax);
    if (ax - r >= 0.5f) { /* exact: ax and r are within one unit */
        r += 1.0f;
    }
    return x < 0.0f ? -r : r;
}

static float pow2i(int32_t n) /* 2**n for -126 <= n <= 127 */
{
    bits_t b;
    b.u = (uint32_t)(n + 127) << 23;
    return b.f;
}

float tte_expf(float x)
{
    const float log2e = 1.44269504088896341f;
    const float ln2_hi = 0.693145751953125f;      /* 16 significant bits: n * ln2_hi is exact */
    const float ln2_lo = 1.42860682030941723e-6f;
    float n, r, p;
    int32_t k;
    if (x != x) {
        return x;
    }
    if (x > 88.7f) {
        return pow2i(127) * 2.0f; /* +inf */
    }
    if (x < -103.0f) {
        return 0.0f;
    }
    n = tte_roundf(x * log2e);
    k = (int32_t)n;
    r = (x - n * ln2_hi) - n * ln2_lo; /* |r| <= ~0.347 */
    /* Taylor series of exp to r**7: truncation error < 1e-8 relative */
    p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    if (k > 127) {
        return p * pow2i(127) * pow2i(k - 127);
    }
    if (k < -126) {
        return p * pow2i(-126) * pow2i(k + 126); /* subnormal result */
    }
    return p * pow2i(k);
}

float tte_logf(float x)
{
    const float ln2_hi = 0.693145751953125f;
    const float ln2_lo = 1.42860682030941723e-6f;
    bits_t b;
    int32_t e;
    float m, f, s, s2, t, ef;
    if (x != x || x < 0.0f) {
        return (x - x) / (x - x); /* NaN */
    }
    if (x == 0.0f) {
        return -pow2i(127) * 2.0f; /* -inf */
    }
    if (x > 3.4028234e38f) {
        return x;
    }
    b.f = x;
    e = 0;
    if (b.u < 0x00800000u) { /* subnormal: scale up by 2**25 */
        b.f = x * 33554432.0f;
        e = -25;
    }
    e += (int32_t)(b.u >> 23) - 127;
    b.u = (b.u & 0x007FFFFFu) | 0x3F800000u; /* m in [1, 2) */
    m = b.f;
    if (m > 1.41421356f) {
        m *= 0.5f;
        e += 1;
    }
    f = m - 1.0f;
    s = f / (2.0f + f);
    s2 = s * s;
    /* log(m) = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + s^7/7 + s^9/9) */
    t = 1.0f / 9.0f;
    t = t * s2 + 1.0f / 7.0f;
    t = t * s2 + 1.0f / 5.0f;
    t = t * s2 + 1.0f / 3.0f;
    t = t * s2;
    ef = (float)e;
    return ef * ln2_hi + (2.0f * s + (2.0f * s * t + ef * ln2_lo));
}
