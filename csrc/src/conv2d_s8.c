/* int8 conv2d: regular, grouped, depthwise (any channel multiplier), pointwise.
 *
 * Fast paths (pointwise, depthwise, small-window regular convs) and the generic loop nest
 * give the same bytes: integer sums do not depend on their order, and the output stage is
 * tte_rq_fast (common.h) only when it equals the exact requantization for every channel. */
#include <string.h>

#include "tte/conv.h"

/* The hot loops count instructions, not cycles: pre-allocation scheduling (on at -O2 for
 * ARM) raises register pressure and spills in them. */
#if defined(__ARM_FEATURE_DSP) && defined(__GNUC__) && !defined(__clang__)
#define TTE_HOT __attribute__((optimize("no-schedule-insns")))
#else
#define TTE_HOT
#endif

static int8_t finish(const tte_conv2d_s8_params_t *p, int32_t acc, int32_t oc)
{
    return (int8_t)tte_rq_exact(acc, p->mult[oc], p->shift[oc], p->out_zp, p->act_min, p->act_max);
}

/* Output stage of one kernel call: exact, or tte_rq_fast when tte_conv2d_s8_fast_rq said so
 * (SSAT alone clamps when the activation range is all of int8). */
typedef struct {
    const int32_t *mult, *shift;
    int32_t mode; /* 0 exact, 1 fast, 2 fast with the clamp range [-128, 127] */
    int32_t zp2, out_zp, lo, hi;
} rq_t;

static inline rq_t rq_init(const tte_conv2d_s8_params_t *p, int32_t fast)
{
    rq_t r;
    r.mult = p->mult;
    r.shift = p->shift;
    r.mode = fast ? (p->act_min == -128 && p->act_max == 127 ? 2 : 1) : 0;
    r.zp2 = 2 * p->out_zp + 1;
    r.out_zp = p->out_zp;
    r.lo = p->act_min;
    r.hi = p->act_max;
    return r;
}

static TTE_ALWAYS_INLINE int8_t rq(const rq_t *r, int32_t acc, int32_t oc)
{
    if (r->mode == 2) {
        return (int8_t)tte_rq_fast_s8(acc, r->mult[oc], r->shift[oc], r->zp2);
    }
    if (r->mode == 1) {
        return (int8_t)tte_rq_fast(acc, r->mult[oc], r->shift[oc], r->zp2, r->lo, r->hi);
    }
    return (int8_t)tte_rq_exact(acc, r->mult[oc], r->shift[oc], r->out_zp, r->lo, r->hi);
}

int32_t tte_conv2d_s8_fast_rq(const tte_conv2d_s8_params_t *p)
{
    return tte_rq_fast_ok(p->mult, p->shift, p->g.out_c, p->out_zp, p->act_min, p->act_max);
}

void tte_conv2d_s8_generic(const tte_conv2d_s8_params_t *p, const int8_t *x, const int8_t *w,
                           const int32_t *bias, int8_t *y)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t cin_g = g->in_c / g->groups;
    const int32_t cout_g = g->out_c / g->groups;
    int32_t b, oy, ox, oc, ky, kx, c;
    for (b = 0; b < g->batch; ++b) {
        const int8_t *xb = x + (size_t)b * g->in_h * g->in_w * g->in_c;
        for (oy = 0; oy < g->out_h; ++oy) {
            for (ox = 0; ox < g->out_w; ++ox) {
                int8_t *yo = y + (((size_t)b * g->out_h + oy) * g->out_w + ox) * g->out_c;
                for (oc = 0; oc < g->out_c; ++oc) {
                    const int32_t c0 = (oc / cout_g) * cin_g;
                    int32_t acc = bias ? bias[oc] : 0;
                    for (ky = 0; ky < g->k_h; ++ky) {
                        const int32_t iy = oy * g->stride_h - g->pad_top + ky * g->dil_h;
                        if (iy < 0 || iy >= g->in_h) {
                            continue;
                        }
                        for (kx = 0; kx < g->k_w; ++kx) {
                            const int32_t ix = ox * g->stride_w - g->pad_left + kx * g->dil_w;
                            const int8_t *xp;
                            const int8_t *wp;
                            if (ix < 0 || ix >= g->in_w) {
                                continue;
                            }
                            xp = xb + ((size_t)iy * g->in_w + ix) * g->in_c + c0;
                            wp = w + (((size_t)oc * g->k_h + ky) * g->k_w + kx) * cin_g;
                            for (c = 0; c < cin_g; ++c) {
                                acc += ((int32_t)xp[c] - p->in_zp) * (int32_t)wp[c];
                            }
                        }
                    }
                    yo[oc] = finish(p, acc, oc);
                }
            }
        }
    }
}

#if defined(__ARM_FEATURE_DSP)
/* SXTB16 sign-extends bytes 0 and 2 of a word (with ROR #8: bytes 1 and 3) into the two
 * halves; SSUB16 subtracts halfwise (x - zp lies in [-255, 255], no wrap); SMLAD adds both
 * halfword products. Every product and sum is an integer of the portable loop (int32 sums
 * of int8 products never overflow over tte's layer sizes): bit-identical. */
static inline uint32_t load4(const int8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v); /* one (unaligned) LDR on ARMv7E-M */
    return v;
}
static inline uint32_t pack16(int32_t lo, int32_t hi)
{
    return ((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16);
}
/* acc + lo(a) * lo(b), acc + hi(a) * lo(b) */
static inline int32_t smlabb(uint32_t a, int32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smlabb %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}
static inline int32_t smlatb(uint32_t a, int32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smlatb %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}
#endif

/* One pixel of a 1x1 conv. */
static void pw_one(const tte_conv2d_s8_params_t *p, const rq_t *rp, const int8_t *xp, const int8_t *w,
                   const int32_t *bias, int8_t *yp)
{
    const rq_t rl = *rp; /* a local copy: the int8 stores cannot alias it */
    const rq_t *const r = &rl;
    const int32_t n = p->g.in_c;
    const int32_t m = p->g.out_c;
    const int32_t zp = p->in_zp;
    int32_t oc = 0;
#if defined(__ARM_FEATURE_DSP)
    /* four output channels share each unpacked word of x */
    const uint32_t zz = pack16(zp, zp);
    for (; oc + 3 < m; oc += 4) {
        const int8_t *w0 = w + (size_t)oc * n;
        const int8_t *w1 = w0 + n;
        const int8_t *w2 = w1 + n;
        const int8_t *w3 = w2 + n;
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        int32_t c = 0;
        for (; c + 3 < n; c += 4) {
            const uint32_t xv = load4(xp + c);
            const uint32_t xe = tte_ssub16(tte_sxtb16(xv), zz);
            const uint32_t xo = tte_ssub16(tte_sxtb16_ror8(xv), zz);
            uint32_t wv = load4(w0 + c);
            a0 = tte_smlad(xo, tte_sxtb16_ror8(wv), tte_smlad(xe, tte_sxtb16(wv), a0));
            wv = load4(w1 + c);
            a1 = tte_smlad(xo, tte_sxtb16_ror8(wv), tte_smlad(xe, tte_sxtb16(wv), a1));
            wv = load4(w2 + c);
            a2 = tte_smlad(xo, tte_sxtb16_ror8(wv), tte_smlad(xe, tte_sxtb16(wv), a2));
            wv = load4(w3 + c);
            a3 = tte_smlad(xo, tte_sxtb16_ror8(wv), tte_smlad(xe, tte_sxtb16(wv), a3));
        }
        for (; c < n; ++c) {
            const int32_t xv = (int32_t)xp[c] - zp;
            a0 += xv * (int32_t)w0[c];
            a1 += xv * (int32_t)w1[c];
            a2 += xv * (int32_t)w2[c];
            a3 += xv * (int32_t)w3[c];
        }
        if (bias) {
            a0 += bias[oc];
            a1 += bias[oc + 1];
            a2 += bias[oc + 2];
            a3 += bias[oc + 3];
        }
        yp[oc] = rq(r, a0, oc);
        yp[oc + 1] = rq(r, a1, oc + 1);
        yp[oc + 2] = rq(r, a2, oc + 2);
        yp[oc + 3] = rq(r, a3, oc + 3);
    }
#endif
    for (; oc < m; ++oc) {
        const int8_t *wp = w + (size_t)oc * n;
        int32_t acc = bias ? bias[oc] : 0;
        int32_t c;
        for (c = 0; c < n; ++c) {
            acc += ((int32_t)xp[c] - zp) * (int32_t)wp[c];
        }
        yp[oc] = rq(r, acc, oc);
    }
}

#if defined(__ARM_FEATURE_DSP)
/* bias[oc] - zp * (sum of row oc of w): the zero point's share of the sum over (x - zp) * w,
 * so that the pixel loops multiply x itself. */
static int32_t zp_bias(const int8_t *wp, int32_t n, int32_t zp, const int32_t *bias, int32_t oc)
{
    /* the bytes offset to unsigned (w + 128 = w ^ 0x80) and summed four at a time by
     * USADA8 against zero; 128 per byte taken off at the end */
    uint32_t u = 0;
    int32_t s;
    int32_t c = 0;
    for (; c + 7 < n; c += 8) {
        const uint32_t w0 = load4(wp + c) ^ 0x80808080u, w1 = load4(wp + c + 4) ^ 0x80808080u;
        __asm__("usada8 %0, %1, %2, %0\n\t"
                "usada8 %0, %3, %2, %0"
                : "+r"(u)
                : "r"(w0), "r"(0u), "r"(w1));
    }
    s = (int32_t)u - 128 * c;
    for (; c < n; ++c) {
        s += wp[c];
    }
    return (bias ? bias[oc] : 0) - zp * s;
}
#endif

#if defined(__ARM_FEATURE_DSP)
/* One weight word (four input channels) of pw_small against four pixels: the word unpacked
 * once, each pixel's x - zp for it loaded as a pair (even, odd lanes) with one LDRD from
 * xs at byte offsets Q0..Q3. */
#define TTE_PWS_WORD(Q0, Q1, Q2, Q3)                                                    \
    "ldr %[w], [%[wp]], #4\n\t"                                                        \
    "sxtb16 %[we], %[w]\n\t"                                                           \
    "sxtb16 %[w], %[w], ror #8\n\t"                                                    \
    "ldrd %[e], %[o], [%[xs], #" #Q0 "]\n\t"                                           \
    "smlad %[a0], %[e], %[we], %[a0]\n\t"                                              \
    "smlad %[a0], %[o], %[w], %[a0]\n\t"                                               \
    "ldrd %[e], %[o], [%[xs], #" #Q1 "]\n\t"                                           \
    "smlad %[a1], %[e], %[we], %[a1]\n\t"                                              \
    "smlad %[a1], %[o], %[w], %[a1]\n\t"                                               \
    "ldrd %[e], %[o], [%[xs], #" #Q2 "]\n\t"                                           \
    "smlad %[a2], %[e], %[we], %[a2]\n\t"                                              \
    "smlad %[a2], %[o], %[w], %[a2]\n\t"                                               \
    "ldrd %[e], %[o], [%[xs], #" #Q3 "]\n\t"                                           \
    "smlad %[a3], %[e], %[we], %[a3]\n\t"                                              \
    "smlad %[a3], %[o], %[w], %[a3]\n\t"
#define TTE_PWS_W0 TTE_PWS_WORD(0, 32, 64, 96)
#define TTE_PWS_W1 TTE_PWS_WORD(8, 40, 72, 104)
#define TTE_PWS_W2 TTE_PWS_WORD(16, 48, 80, 112)
#define TTE_PWS_W3 TTE_PWS_WORD(24, 56, 88, 120)
#define TTE_PWS_OPS                                                                     \
    : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [wp] "+r"(wp), [w] "=&r"(wt), \
      [we] "=&r"(we), [e] "=&r"(e), [o] "=&r"(o)                                        \
    : [xs] "r"(xs)                                                                      \
    : "memory"

/* A 1x1 conv with few input channels (n = 4 * NW, NW <= 4 a constant): four pixels at a
 * time, their x - zp unpacked once into xs (pixel q, word j at byte 32 q + 8 j), then every
 * output channel in turn, each weight word unpacked once for the four pixels (in assembly:
 * gcc spilled the unpacked x). Past the last pixel the last one repeats (the same bytes
 * stored twice). */
static TTE_ALWAYS_INLINE void pw_small(const tte_conv2d_s8_params_t *p, const rq_t *r, const int8_t *x, int32_t npx,
                                       const int8_t *w, const int32_t *bias, int8_t *y, const int32_t NW,
                                       const int32_t common)
{
    const int32_t n = 4 * NW, m = p->g.out_c;
    const uint32_t zz = pack16(p->in_zp, p->in_zp);
    uint32_t xs[4][4][2] __attribute__((aligned(8)));
    int32_t i, oc, j, q;
    for (i = 0; i < npx; i += 4) {
        int8_t *y0, *y1, *y2, *y3;
        for (q = 0; q < 4; ++q) {
            const int32_t iq = i + q < npx ? i + q : npx - 1;
            const int8_t *xq = x + (size_t)iq * n;
#pragma GCC unroll 4
            for (j = 0; j < NW; ++j) {
                const uint32_t u = load4(xq + 4 * j);
                xs[q][j][0] = tte_ssub16(tte_sxtb16(u), zz);
                xs[q][j][1] = tte_ssub16(tte_sxtb16_ror8(u), zz);
            }
        }
        y0 = y + (size_t)i * m;
        y1 = y + (size_t)(i + 1 < npx ? i + 1 : npx - 1) * m;
        y2 = y + (size_t)(i + 2 < npx ? i + 2 : npx - 1) * m;
        y3 = y + (size_t)(i + 3 < npx ? i + 3 : npx - 1) * m;
        {
            const int8_t *wp = w;
            for (oc = 0; oc < m; ++oc) {
                int32_t a0 = common || bias ? bias[oc] : 0;
                int32_t a1 = a0, a2 = a0, a3 = a0;
                uint32_t wt, we, e, o;
                if (NW == 1) {
                    __asm__(TTE_PWS_W0 TTE_PWS_OPS);
                } else if (NW == 2) {
                    __asm__(TTE_PWS_W0 TTE_PWS_W1 TTE_PWS_OPS);
                } else if (NW == 3) {
                    __asm__(TTE_PWS_W0 TTE_PWS_W1 TTE_PWS_W2 TTE_PWS_OPS);
                } else {
                    __asm__(TTE_PWS_W0 TTE_PWS_W1 TTE_PWS_W2 TTE_PWS_W3 TTE_PWS_OPS);
                }
                if (common || r->mode == 2) {
                    const int32_t mu = r->mult[oc], sh = r->shift[oc];
                    y3[oc] = (int8_t)tte_rq_fast_s8(a3, mu, sh, r->zp2);
                    y2[oc] = (int8_t)tte_rq_fast_s8(a2, mu, sh, r->zp2);
                    y1[oc] = (int8_t)tte_rq_fast_s8(a1, mu, sh, r->zp2);
                    y0[oc] = (int8_t)tte_rq_fast_s8(a0, mu, sh, r->zp2);
                } else {
                    y3[oc] = rq(r, a3, oc);
                    y2[oc] = rq(r, a2, oc);
                    y1[oc] = rq(r, a1, oc);
                    y0[oc] = rq(r, a0, oc);
                }
            }
        }
    }
}

TTE_HOT static TTE_NOINLINE void pw_small_any(const tte_conv2d_s8_params_t *p, const rq_t *rp, const int8_t *x, int32_t npx,
                                      const int8_t *w, const int32_t *bias, int8_t *y)
{
    const rq_t rl = *rp;
    /* common: a bias and the clamp range [-128, 127], tested once here instead of per channel */
    const int32_t common = bias != NULL && rl.mode == 2;
    switch (p->g.in_c + common) {
    case 4:
        pw_small(p, &rl, x, npx, w, bias, y, 1, 0);
        break;
    case 5:
        pw_small(p, &rl, x, npx, w, bias, y, 1, 1);
        break;
    case 8:
        pw_small(p, &rl, x, npx, w, bias, y, 2, 0);
        break;
    case 9:
        pw_small(p, &rl, x, npx, w, bias, y, 2, 1);
        break;
    case 12:
        pw_small(p, &rl, x, npx, w, bias, y, 3, 0);
        break;
    case 13:
        pw_small(p, &rl, x, npx, w, bias, y, 3, 1);
        break;
    case 16:
        pw_small(p, &rl, x, npx, w, bias, y, 4, 0);
        break;
    default:
        pw_small(p, &rl, x, npx, w, bias, y, 4, 1);
        break;
    }
}
#endif

#if defined(__ARM_FEATURE_DSP)
/* One word (four input channels) of the 2x2 pointwise block: x0 and w0 post-incremented,
 * x1 and w1 at offset o = n - 4 from them; a0/b0 += pixel 0/1 . w0, a1/b1 += . w1. */
#define TTE_PW22_WORD                                                                   \
    "ldr %[u], [%[xp]], #4\n\t"                                                      \
    "ldr %[w], [%[wp]], #4\n\t"                                                      \
    "ldr %[v], [%[xp], %[o]]\n\t"                                                    \
    "sxtb16 %[ue], %[u]\n\t"                                                         \
    "sxtb16 %[u], %[u], ror #8\n\t"                                                  \
    "sxtb16 %[we], %[w]\n\t"                                                         \
    "sxtb16 %[w], %[w], ror #8\n\t"                                                  \
    "sxtb16 %[ve], %[v]\n\t"                                                         \
    "sxtb16 %[v], %[v], ror #8\n\t"                                                  \
    "smlad %[a0], %[ue], %[we], %[a0]\n\t"                                           \
    "smlad %[a0], %[u], %[w], %[a0]\n\t"                                             \
    "smlad %[b0], %[ve], %[we], %[b0]\n\t"                                           \
    "smlad %[b0], %[v], %[w], %[b0]\n\t"                                             \
    "ldr %[w], [%[wp], %[o]]\n\t"                                                    \
    "sxtb16 %[we], %[w]\n\t"                                                         \
    "sxtb16 %[w], %[w], ror #8\n\t"                                                  \
    "smlad %[a1], %[ue], %[we], %[a1]\n\t"                                           \
    "smlad %[a1], %[u], %[w], %[a1]\n\t"                                             \
    "smlad %[b1], %[ve], %[we], %[b1]\n\t"                                           \
    "smlad %[b1], %[v], %[w], %[b1]\n\t"

/* tte_rq_fast_s8 of register A (clobbered) with %[mu], %[sh] = ~shift, %[z] = zp2, the
 * byte stored at ADDR. */
#define TTE_RQS8(A, ADDR)                                                               \
    "qadd %[t], %[" A "], %[" A "]\n\t"                                                \
    "smmulr %[t], %[t], %[mu]\n\t"                                                     \
    "add %[t], %[t], %[t], asr #31\n\t"                                                \
    "asr %[t], %[t], %[sh]\n\t"                                                        \
    "add %[t], %[t], %[z]\n\t"                                                         \
    "ssat %[t], #8, %[t], asr #1\n\t"                                                  \
    "strb %[t], " ADDR "\n\t"
#endif

/* 1x1 conv over npx consecutive pixels (in_c values each at x, out_c outputs each at y). */
TTE_HOT void tte_conv2d_s8_pointwise_px(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *x, int32_t npx,
                                const int8_t *w, const int32_t *bias, int8_t *y)
{
    const int32_t n = p->g.in_c;
    const int32_t m = p->g.out_c;
    const rq_t r = rq_init(p, fast);
    int32_t i = 0;
#if defined(__ARM_FEATURE_DSP)
    if (npx >= 2 && n <= 16 && (n & 3) == 0) {
        pw_small_any(p, &r, x, npx, w, bias, y);
        return;
    }
    if (npx >= 4) {
        /* two output channels x two pixels: each unpacked word of x serves two channels,
         * each of w two pixels; the zero point goes into the bias once per channel (which
         * pays from four pixels on) */
        const int32_t zp = p->in_zp;
        const int32_t n4 = n & ~3;
        int32_t oc;
        for (oc = 0; oc < m; oc += 2) {
            const int32_t two = oc + 1 < m;
            const int8_t *w0 = w + (size_t)oc * n;
            const int8_t *w1 = two ? w0 + n : w0;
            const int32_t k0 = zp_bias(w0, n, zp, bias, oc);
            const int32_t k1 = two ? zp_bias(w1, n, zp, bias, oc + 1) : k0;
            const int32_t m0 = r.mult[oc], s0 = r.shift[oc];
            const int32_t m1 = two ? r.mult[oc + 1] : m0, s1 = two ? r.shift[oc + 1] : s0;
            /* for the assembly output stage: mult, ~shift of both channels, zp2 */
            const int32_t qp[5] __attribute__((aligned(8))) = {m0, ~s0, m1, ~s1, r.zp2};
            const int8_t *x0 = x;
            int8_t *y0 = y + oc;
            const int32_t n8 = n & ~7;
            for (i = 0; i + 1 < npx; i += 2) {
                const int8_t *x1 = x0 + n;
                int32_t a0 = k0, a1 = k1, b0 = k0, b1 = k1;
                int32_t c = 0;
                if (two && n8 > 0) {
                    /* eight input channels per pass in assembly: 13 registers (x1 and w1 as
                     * offsets n - 4 from the post-incremented x0 and w0, the end in memory)
                     * where gcc spills w1 and the bound */
                    const int8_t *xp = x0, *wp = w0;
                    const int8_t *const xend = x0 + n8;
                    uint32_t u, v, w, ue, ve, we;
                    __asm__ volatile(
                        "1:\n\t"
                        TTE_PW22_WORD
                        TTE_PW22_WORD
                        "ldr %[w], %[end]\n\t"
                        "cmp %[xp], %[w]\n\t"
                        "bne 1b"
                        : [a0] "+r"(a0), [a1] "+r"(a1), [b0] "+r"(b0), [b1] "+r"(b1), [xp] "+r"(xp), [wp] "+r"(wp),
                          [u] "=&r"(u), [v] "=&r"(v), [w] "=&r"(w), [ue] "=&r"(ue), [ve] "=&r"(ve), [we] "=&r"(we)
                        : [o] "r"(n - 4), [end] "m"(xend)
                        : "cc", "memory");
                    c = n8;
                }
                for (; c < n4; c += 4) {
                    const uint32_t u = load4(x0 + c);
                    const uint32_t v = load4(x1 + c);
                    const uint32_t ue = tte_sxtb16(u), uo = tte_sxtb16_ror8(u);
                    const uint32_t ve = tte_sxtb16(v), vo = tte_sxtb16_ror8(v);
                    uint32_t wv = load4(w0 + c);
                    uint32_t we = tte_sxtb16(wv), wo = tte_sxtb16_ror8(wv);
                    a0 = tte_smlad(uo, wo, tte_smlad(ue, we, a0));
                    b0 = tte_smlad(vo, wo, tte_smlad(ve, we, b0));
                    wv = load4(w1 + c);
                    we = tte_sxtb16(wv);
                    wo = tte_sxtb16_ror8(wv);
                    a1 = tte_smlad(uo, wo, tte_smlad(ue, we, a1));
                    b1 = tte_smlad(vo, wo, tte_smlad(ve, we, b1));
                }
                for (; c < n; ++c) {
                    a0 += (int32_t)x0[c] * (int32_t)w0[c];
                    b0 += (int32_t)x1[c] * (int32_t)w0[c];
                    a1 += (int32_t)x0[c] * (int32_t)w1[c];
                    b1 += (int32_t)x1[c] * (int32_t)w1[c];
                }
                if (r.mode == 2 && two) {
                    /* tte_rq_fast_s8 of the four sums in assembly, its parameters from qp
                     * (gcc reloads spilled ones around the dot product's 13 registers) */
                    uint32_t t, mu, sh, z;
                    __asm__ volatile("ldrd %[mu], %[sh], [%[qp]]\n\t"
                                     "ldr %[z], [%[qp], #16]\n\t"
                                     TTE_RQS8("a0", "[%[y]]")
                                     TTE_RQS8("b0", "[%[y], %[m]]")
                                     "ldrd %[mu], %[sh], [%[qp], #8]\n\t"
                                     TTE_RQS8("a1", "[%[y], #1]")
                                     "add %[y], %[y], %[m]\n\t"
                                     TTE_RQS8("b1", "[%[y], #1]")
                                     : [a0] "+r"(a0), [b0] "+r"(b0), [a1] "+r"(a1), [b1] "+r"(b1), [y] "+r"(y0),
                                       [t] "=&r"(t), [mu] "=&r"(mu), [sh] "=&r"(sh), [z] "=&r"(z)
                                     : [qp] "r"(qp), [m] "r"(m)
                                     : "memory");
                    y0 -= m; /* the assembly advanced it to pixel 1 */
                } else if (r.mode == 2) {
                    y0[0] = (int8_t)tte_rq_fast_s8(a0, m0, s0, r.zp2);
                    y0[m] = (int8_t)tte_rq_fast_s8(b0, m0, s0, r.zp2);
                    if (two) {
                        y0[1] = (int8_t)tte_rq_fast_s8(a1, m1, s1, r.zp2);
                        y0[m + 1] = (int8_t)tte_rq_fast_s8(b1, m1, s1, r.zp2);
                    }
                } else {
                    y0[0] = rq(&r, a0, oc);
                    y0[m] = rq(&r, b0, oc);
                    if (two) {
                        y0[1] = rq(&r, a1, oc + 1);
                        y0[m + 1] = rq(&r, b1, oc + 1);
                    }
                }
                x0 += 2 * n;
                y0 += 2 * m;
            }
            if (i < npx) {
                int32_t a0 = k0, a1 = k1;
                int32_t c;
                for (c = 0; c < n; ++c) {
                    a0 += (int32_t)x0[c] * (int32_t)w0[c];
                    a1 += (int32_t)x0[c] * (int32_t)w1[c];
                }
                y0[0] = rq(&r, a0, oc);
                if (two) {
                    y0[1] = rq(&r, a1, oc + 1);
                }
            }
        }
        return;
    }
#endif
    for (; i < npx; ++i) {
        pw_one(p, &r, x + (size_t)i * n, w, bias, y + (size_t)i * m);
    }
}

#if defined(__ARM_FEATURE_DSP)
static inline int32_t smlatt(uint32_t a, uint32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smlatt %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}

/* out[0..3] = the output stage of a0..a3 (channels c..c+3), one test of the mode. */
static TTE_ALWAYS_INLINE void rq4(const rq_t *r, int32_t a0, int32_t a1, int32_t a2, int32_t a3, int32_t c,
                                  int8_t *out)
{
    if (r->mode == 2) {
        const int32_t *m = r->mult + c, *s = r->shift + c;
        out[0] = (int8_t)tte_rq_fast_s8(a0, m[0], s[0], r->zp2);
        out[1] = (int8_t)tte_rq_fast_s8(a1, m[1], s[1], r->zp2);
        out[2] = (int8_t)tte_rq_fast_s8(a2, m[2], s[2], r->zp2);
        out[3] = (int8_t)tte_rq_fast_s8(a3, m[3], s[3], r->zp2);
    } else {
        out[0] = rq(r, a0, c);
        out[1] = rq(r, a1, c + 1);
        out[2] = rq(r, a2, c + 2);
        out[3] = rq(r, a3, c + 3);
    }
}

/* rq4 with channel c's multipliers and complemented shifts (~shift, the ASR amount) loaded
 * once per channel group by the caller: no MVN per output. */
static TTE_ALWAYS_INLINE void rq4_pre(const rq_t *r, int32_t a0, int32_t a1, int32_t a2, int32_t a3,
                                      const int32_t *qm, const int32_t *qs, int32_t c, int8_t *out)
{
    if (r->mode == 2) {
        out[0] = (int8_t)tte_rq_fast_s8(a0, qm[0], ~qs[0], r->zp2);
        out[1] = (int8_t)tte_rq_fast_s8(a1, qm[1], ~qs[1], r->zp2);
        out[2] = (int8_t)tte_rq_fast_s8(a2, qm[2], ~qs[2], r->zp2);
        out[3] = (int8_t)tte_rq_fast_s8(a3, qm[3], ~qs[3], r->zp2);
    } else {
        rq4(r, a0, a1, a2, a3, c, out);
    }
}

/* Channels [0, C & ~3) of one depthwise pixel (multiplier 1, dilation 1), four at a time:
 * one word of x per tap (rows[ky] + xoff is the column of tap kx0, rows outside are NULL),
 * the four weights of a tap T bytes apart. */
TTE_HOT static void dw_px_groups(const tte_conv2d_geom_t *g, const rq_t *rp, const int8_t *const *rows, size_t xoff,
                         int32_t kx0, int32_t kx1, const int8_t *w, const int32_t *bias, int32_t zp, int8_t *out)
{
    const rq_t rl = *rp; /* a local copy: the int8 stores cannot alias it */
    const rq_t *const r = &rl;
    const int32_t C = g->in_c, KH = g->k_h, KW = g->k_w, T = KH * KW;
    const uint32_t zz = pack16(zp, zp);
    int32_t c, ky, kx;
    for (c = 0; c + 3 < C; c += 4) {
        int32_t a0 = bias ? bias[c] : 0, a1 = bias ? bias[c + 1] : 0;
        int32_t a2 = bias ? bias[c + 2] : 0, a3 = bias ? bias[c + 3] : 0;
        for (ky = 0; ky < KH; ++ky) {
            const int8_t *xp = rows[ky];
            const int8_t *wp = w + (size_t)c * T + ky * KW + kx0;
            if (xp == NULL) {
                continue;
            }
            xp += xoff + c;
            for (kx = kx0; kx < kx1; ++kx) {
                const uint32_t xv = load4(xp);
                const uint32_t xe = tte_ssub16(tte_sxtb16(xv), zz);
                const uint32_t xo = tte_ssub16(tte_sxtb16_ror8(xv), zz);
                a0 = smlabb(xe, wp[0], a0);
                a1 = smlabb(xo, wp[T], a1);
                a2 = smlatb(xe, wp[2 * T], a2);
                a3 = smlatb(xo, wp[3 * T], a3);
                xp += C;
                ++wp;
            }
        }
        rq4(r, a0, a1, a2, a3, c, out + c);
    }
}
#endif

#if defined(__ARM_FEATURE_DSP)
/* a0..a3 += the sums over c < n of (x[c] - zp) * w{0..3}[c], rows w0..w3 wstride apart */
#define TTE_DOT4(xp, n, w0, wstride)                                                    \
    do {                                                                                \
        const int8_t *w1_ = (w0) + (wstride), *w2_ = w1_ + (wstride), *w3_ = w2_ + (wstride); \
        int32_t c_ = 0;                                                                 \
        for (; c_ + 3 < (n); c_ += 4) {                                                 \
            const uint32_t xv_ = load4((xp) + c_);                                      \
            const uint32_t xe_ = tte_ssub16(tte_sxtb16(xv_), zz);                       \
            const uint32_t xo_ = tte_ssub16(tte_sxtb16_ror8(xv_), zz);                  \
            uint32_t wv_ = load4((w0) + c_);                                            \
            a0 = tte_smlad(xo_, tte_sxtb16_ror8(wv_), tte_smlad(xe_, tte_sxtb16(wv_), a0)); \
            wv_ = load4(w1_ + c_);                                                      \
            a1 = tte_smlad(xo_, tte_sxtb16_ror8(wv_), tte_smlad(xe_, tte_sxtb16(wv_), a1)); \
            wv_ = load4(w2_ + c_);                                                      \
            a2 = tte_smlad(xo_, tte_sxtb16_ror8(wv_), tte_smlad(xe_, tte_sxtb16(wv_), a2)); \
            wv_ = load4(w3_ + c_);                                                      \
            a3 = tte_smlad(xo_, tte_sxtb16_ror8(wv_), tte_smlad(xe_, tte_sxtb16(wv_), a3)); \
        }                                                                               \
        for (; c_ < (n); ++c_) {                                                        \
            const int32_t xs_ = (int32_t)(xp)[c_] - zp;                                 \
            a0 += xs_ * (int32_t)(w0)[c_];                                              \
            a1 += xs_ * (int32_t)w1_[c_];                                               \
            a2 += xs_ * (int32_t)w2_[c_];                                               \
            a3 += xs_ * (int32_t)w3_[c_];                                               \
        }                                                                               \
    } while (0)

#define TTE_GATHER_MAX 128

/* A 1x1 conv over npx pixels whose weight is two dense parts: input channels ia[j] (j < na)
 * against rows of wa (na per output channel) and ib[j] (j < nb) against wb. Each pixel's
 * input channels are gathered once into that order; four output channels share each word. */
TTE_HOT static TTE_NOINLINE void pw_gather(const tte_conv2d_s8_params_t *p, const rq_t *rp, const int8_t *x, int32_t npx,
                                   const int32_t *ia, int32_t na, const int8_t *wa, const int32_t *ib, int32_t nb,
                                   const int8_t *wb, const int32_t *bias, int8_t *y)
{
    const rq_t rl = *rp;
    const rq_t *const r = &rl;
    const int32_t n = p->g.in_c, m = p->g.out_c, zp = p->in_zp;
    const uint32_t zz = pack16(zp, zp);
    int8_t xg[TTE_GATHER_MAX];
    int32_t i, j, oc;
    for (i = 0; i < npx; ++i) {
        const int8_t *xp = x + (size_t)i * n;
        int8_t *yp = y + (size_t)i * m;
        for (j = 0; j < na; ++j) {
            xg[j] = xp[ia[j]];
        }
        for (j = 0; j < nb; ++j) {
            xg[na + j] = xp[ib[j]];
        }
        for (oc = 0; oc + 3 < m; oc += 4) {
            int32_t a0 = bias ? bias[oc] : 0, a1 = bias ? bias[oc + 1] : 0;
            int32_t a2 = bias ? bias[oc + 2] : 0, a3 = bias ? bias[oc + 3] : 0;
            TTE_DOT4(xg, na, wa + (size_t)oc * na, na);
            TTE_DOT4(xg + na, nb, wb + (size_t)oc * nb, nb);
            rq4(r, a0, a1, a2, a3, oc, yp + oc);
        }
        for (; oc < m; ++oc) {
            int32_t acc = bias ? bias[oc] : 0;
            for (j = 0; j < na; ++j) {
                acc += ((int32_t)xg[j] - zp) * (int32_t)wa[(size_t)oc * na + j];
            }
            for (j = 0; j < nb; ++j) {
                acc += ((int32_t)xg[na + j] - zp) * (int32_t)wb[(size_t)oc * nb + j];
            }
            yp[oc] = rq(r, acc, oc);
        }
    }
}
#endif

int32_t tte_conv2d_s8_pointwise_gather_px(const tte_conv2d_s8_params_t *p, const int8_t *x, int32_t npx,
                                          const int32_t *ia, int32_t na, const int8_t *wa, const int32_t *ib,
                                          int32_t nb, const int8_t *wb, const int32_t *bias, int8_t *y)
{
#if defined(__ARM_FEATURE_DSP)
    if (na + nb <= TTE_GATHER_MAX) {
        const rq_t r = rq_init(p, tte_conv2d_s8_fast_rq(p));
        pw_gather(p, &r, x, npx, ia, na, wa, ib, nb, wb, bias, y);
        return 1;
    }
#endif
    (void)p, (void)x, (void)npx, (void)ia, (void)na, (void)wa, (void)ib, (void)nb, (void)wb, (void)bias, (void)y;
    return 0;
}

/* Output channels [oc, out_c) of one depthwise pixel, taps kx in [kx0, kx1) of the rows
 * that are not NULL: the exact loop for any multiplier, dilation and border. */
static void dw_px_rest(const tte_conv2d_s8_params_t *p, const rq_t *rp, const int8_t *const *rows, size_t xoff,
                       int32_t kx0, int32_t kx1, const int8_t *w, const int32_t *bias, int8_t *out, int32_t oc)
{
    const rq_t rl = *rp; /* a local copy: the int8 stores cannot alias it */
    const rq_t *const r = &rl;
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t mult = g->out_c / g->in_c;
    const int32_t taps = g->k_h * g->k_w;
    const size_t xstep = (size_t)g->dil_w * g->in_c;
    const int32_t zp = p->in_zp;
    int32_t ky, kx;
    for (; oc < g->out_c; ++oc) {
        const int32_t ic = mult == 1 ? oc : oc / mult;
        const int8_t *wo = w + (size_t)oc * taps;
        int32_t acc = bias ? bias[oc] : 0;
        for (ky = 0; ky < g->k_h; ++ky) {
            const int8_t *xp;
            const int8_t *wp = wo + ky * g->k_w + kx0;
            if (rows[ky] == NULL) {
                continue;
            }
            xp = rows[ky] + xoff + ic;
            for (kx = kx0; kx < kx1; ++kx) {
                acc += ((int32_t)*xp - zp) * (int32_t)*wp++;
                xp += xstep;
            }
        }
        out[oc] = rq(r, acc, oc);
    }
}

/* One output pixel (all channels) of a depthwise conv: rows[ky] is the input row tap ky
 * reads (NULL outside the image). */
void tte_conv2d_s8_dw_pixel(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *const *rows, int32_t ox,
                            const int8_t *w, const int32_t *bias, int8_t *out)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t ix0 = ox * g->stride_w - g->pad_left;
    /* the taps kx in [kx0, kx1) read inside the row: found once per pixel, not per channel */
    const int32_t kx0 = ix0 < 0 ? (-ix0 + g->dil_w - 1) / g->dil_w : 0;
    const int32_t last = ix0 > g->in_w - 1 ? 0 : (g->in_w - 1 - ix0) / g->dil_w + 1;
    const int32_t kx1 = last < g->k_w ? last : g->k_w;
    const size_t xoff = (size_t)(ix0 + kx0 * g->dil_w) * g->in_c;
    const rq_t r = rq_init(p, fast);
    int32_t oc = 0;
#if defined(__ARM_FEATURE_DSP)
    if (g->out_c == g->in_c && g->dil_w == 1 && g->dil_h == 1) {
        dw_px_groups(g, &r, rows, xoff, kx0, kx1, w, bias, p->in_zp, out);
        oc = g->in_c & ~3;
    }
#endif
    dw_px_rest(p, &r, rows, xoff, kx0, kx1, w, bias, out, oc);
}

#define TTE_CONV_MAX_KH 16

#if defined(__ARM_FEATURE_DSP)
/* One tap of the four accumulators a0..a3 of channels c..c+3: x word at xp, the tap's four
 * weights transposed and unpacked into two words wt[0] (channels c, c + 2) and wt[1]
 * (c + 1, c + 3); x - zp when sub (else the zero point is folded). */
#define TTE_DW4_TAP(xp, wt, sub)                                                        \
    do {                                                                                \
        const uint32_t xv_ = load4(xp);                                                 \
        uint64_t wp_;                                                                   \
        uint32_t we_, wo_;                                                              \
        memcpy(&wp_, (wt), 8); /* one LDRD */                                           \
        we_ = (uint32_t)wp_;                                                            \
        wo_ = (uint32_t)(wp_ >> 32);                                                    \
        uint32_t xe_ = tte_sxtb16(xv_), xo_ = tte_sxtb16_ror8(xv_);                     \
        if (sub) {                                                                      \
            xe_ = tte_ssub16(xe_, zz);                                                  \
            xo_ = tte_ssub16(xo_, zz);                                                  \
        }                                                                               \
        a0 = smlabb(xe_, (int32_t)we_, a0);                                             \
        a2 = smlatt(xe_, we_, a2);                                                      \
        a1 = smlabb(xo_, (int32_t)wo_, a1);                                             \
        a3 = smlatt(xo_, wo_, a3);                                                      \
    } while (0)

/* A 5- or 7-wide window row (KW) of taps: x at xp and on by C, weights wt[0..2 KW) */
#define TTE_DW4_ROW57(xp, wt, sub)                                                      \
    do {                                                                                \
        const int8_t *xr_ = (xp);                                                       \
        const uint32_t *wr_ = (wt);                                                     \
        TTE_DW4_TAP(xr_, wr_, sub);                                                     \
        TTE_DW4_TAP(xr_ + C, wr_ + 2, sub);                                             \
        TTE_DW4_TAP(xr_ + 2 * C, wr_ + 4, sub);                                         \
        TTE_DW4_TAP(xr_ + 3 * C, wr_ + 6, sub);                                         \
        TTE_DW4_TAP(xr_ + 4 * C, wr_ + 8, sub);                                         \
        if (KW == 7) {                                                                  \
            TTE_DW4_TAP(xr_ + 5 * C, wr_ + 10, sub);                                    \
            TTE_DW4_TAP(xr_ + 6 * C, wr_ + 12, sub);                                    \
        }                                                                               \
    } while (0)

#define TTE_DW_MAX_TAPS 49

/* Channels [0, C & ~3) of output pixels [ox0, ox0 + k) of one depthwise output row
 * (multiplier 1, dilation 1, at most 49 taps), four channels over all k pixels at a time:
 * their weights transposed once into one word per tap and unpacked (two words on the stack,
 * no SXTB16 per tap); for a window inside the input
 * the zero point's share is folded into the bias (3x3 unrolled), border pixels subtract it. */
TTE_HOT static TTE_NOINLINE void dw_row_groups(const tte_conv2d_s8_params_t *p, const rq_t *rp,
                                               const int8_t *const *rows_arg, const int8_t *xb, int32_t nrows,
                                               int32_t ox0, int32_t k, const int8_t *w, const int32_t *bias,
                                               int8_t *out, size_t ostride)
{
    const rq_t rl = *rp; /* a local copy: the int8 stores cannot alias it */
    const rq_t *const r = &rl;
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t C = g->in_c, KH = g->k_h, KW = g->k_w, T = KH * KW;
    const int32_t zp = p->in_zp;
    const uint32_t zz = pack16(zp, zp);
    uint32_t wq[2 * TTE_DW_MAX_TAPS] __attribute__((aligned(8))); /* per tap: SXTB16 of the transposed word, with ROR #8 */
    const int8_t *xrows[TTE_CONV_MAX_KH];
    const int8_t *const *rows = xb != NULL ? xrows : rows_arg;
    int32_t c, t, j, i, ky, kx, oy, rows_in, i_lo, i_hi;
    for (c = 0; c + 3 < C; c += 4) {
        const int8_t *wc = w + (size_t)c * T;
        int32_t kb[4], bb[4], qm[4], qs[4];
        for (j = 0; j < 4; ++j) {
            int32_t s = 0;
            qm[j] = r->mult[c + j];
            qs[j] = ~r->shift[c + j];
            for (t = 0; t < T; ++t) {
                s += wc[j * T + t];
            }
            bb[j] = bias ? bias[c + j] : 0;
            kb[j] = bb[j] - zp * s;
        }
        for (t = 0; t < T; ++t) {
            const uint32_t wv = (uint32_t)(uint8_t)wc[t] | (uint32_t)(uint8_t)wc[T + t] << 8
                                | (uint32_t)(uint8_t)wc[2 * T + t] << 16 | (uint32_t)(uint8_t)wc[3 * T + t] << 24;
            wq[2 * t] = tte_sxtb16(wv);
            wq[2 * t + 1] = tte_sxtb16_ror8(wv);
        }
        for (oy = 0; oy < nrows; ++oy) {
        int8_t *orow = out + (size_t)oy * k * ostride;
        if (xb != NULL) {
            for (ky = 0; ky < KH; ++ky) {
                const int32_t iy = oy * g->stride_h - g->pad_top + ky;
                xrows[ky] = iy < 0 || iy >= g->in_h ? NULL : xb + (size_t)iy * g->in_w * C;
            }
        }
        rows_in = 1;
        for (ky = 0; ky < KH; ++ky) {
            rows_in &= rows[ky] != NULL;
        }
        i_lo = i_hi = 0;
        if (rows_in && T == 9 && KW == 3 && g->in_w + g->pad_left >= 3) {
            /* the pixels [i_lo, i_hi) whose 3x3 window lies inside the input, without
             * per-pixel border tests */
            const int32_t sw = g->stride_w;
            const size_t step = (size_t)sw * C;
            const int8_t *q0, *q1, *q2;
            int8_t *o;
            i_lo = (g->pad_left + sw - 1) / sw - ox0;
            i_lo = i_lo < 0 ? 0 : i_lo;
            i_hi = (g->in_w - 3 + g->pad_left) / sw - ox0 + 1;
            i_hi = i_hi > k ? k : i_hi;
            i_hi = i_hi < i_lo ? i_lo : i_hi;
            q0 = rows[0] + (size_t)((ox0 + i_lo) * sw - g->pad_left) * C + c;
            q1 = rows[1] + (q0 - rows[0]);
            q2 = rows[2] + (q0 - rows[0]);
            o = orow + (size_t)i_lo * ostride + c;
            for (i = i_lo; i < i_hi; ++i) {
                int32_t a0 = kb[0], a1 = kb[1], a2 = kb[2], a3 = kb[3];
                TTE_DW4_TAP(q0, wq + 0, 0);
                TTE_DW4_TAP(q0 + C, wq + 2, 0);
                TTE_DW4_TAP(q0 + 2 * C, wq + 4, 0);
                TTE_DW4_TAP(q1, wq + 6, 0);
                TTE_DW4_TAP(q1 + C, wq + 8, 0);
                TTE_DW4_TAP(q1 + 2 * C, wq + 10, 0);
                TTE_DW4_TAP(q2, wq + 12, 0);
                TTE_DW4_TAP(q2 + C, wq + 14, 0);
                TTE_DW4_TAP(q2 + 2 * C, wq + 16, 0);
                rq4_pre(r, a0, a1, a2, a3, qm, qs, c, o);
                q0 += step;
                q1 += step;
                q2 += step;
                o += ostride;
            }
        }
        for (i = 0; i < k; ++i) {
            if (i == i_lo && i_hi > i_lo) {
                i = i_hi - 1;
                continue;
            }
            {
            const int32_t ix0 = (ox0 + i) * g->stride_w - g->pad_left;
            const int32_t kx0 = ix0 < 0 ? -ix0 : 0;
            const int32_t kx1 = g->in_w - ix0 < KW ? g->in_w - ix0 : KW;
            int32_t a0, a1, a2, a3;
            if (rows_in && kx0 == 0 && kx1 == KW) {
                const size_t xo = (size_t)ix0 * C + c;
                a0 = kb[0];
                a1 = kb[1];
                a2 = kb[2];
                a3 = kb[3];
                if (T == 9 && KW == 3) {
                    const int8_t *x0 = rows[0] + xo, *x1 = rows[1] + xo, *x2 = rows[2] + xo;
                    TTE_DW4_TAP(x0, wq + 0, 0);
                    TTE_DW4_TAP(x0 + C, wq + 2, 0);
                    TTE_DW4_TAP(x0 + 2 * C, wq + 4, 0);
                    TTE_DW4_TAP(x1, wq + 6, 0);
                    TTE_DW4_TAP(x1 + C, wq + 8, 0);
                    TTE_DW4_TAP(x1 + 2 * C, wq + 10, 0);
                    TTE_DW4_TAP(x2, wq + 12, 0);
                    TTE_DW4_TAP(x2 + C, wq + 14, 0);
                    TTE_DW4_TAP(x2 + 2 * C, wq + 16, 0);
                } else if (KW == 5 || KW == 7) {
                    for (ky = 0; ky < KH; ++ky) {
                        TTE_DW4_ROW57(rows[ky] + xo, wq + 2 * ky * KW, 0);
                    }
                } else {
                    const uint32_t *wt = wq;
                    for (ky = 0; ky < KH; ++ky) {
                        const int8_t *xp = rows[ky] + xo;
                        for (kx = 0; kx < KW; ++kx) {
                            TTE_DW4_TAP(xp, wt, 0);
                            wt += 2;
                            xp += C;
                        }
                    }
                }
            } else if (kx0 == 0 && kx1 == KW && (KW == 3 || KW == 5 || KW == 7)) {
                /* a whole window row for each row inside the input (top and bottom rows) */
                a0 = bb[0];
                a1 = bb[1];
                a2 = bb[2];
                a3 = bb[3];
                for (ky = 0; ky < KH; ++ky) {
                    const int8_t *xp = rows[ky];
                    const uint32_t *wt = wq + 2 * ky * KW;
                    if (xp == NULL) {
                        continue;
                    }
                    xp += (size_t)ix0 * C + c;
                    if (KW == 3) {
                        TTE_DW4_TAP(xp, wt, 1);
                        TTE_DW4_TAP(xp + C, wt + 2, 1);
                        TTE_DW4_TAP(xp + 2 * C, wt + 4, 1);
                    } else {
                        TTE_DW4_ROW57(xp, wt, 1);
                    }
                }
            } else {
                a0 = bb[0];
                a1 = bb[1];
                a2 = bb[2];
                a3 = bb[3];
                for (ky = 0; ky < KH; ++ky) {
                    const int8_t *xp = rows[ky];
                    const uint32_t *wt = wq + 2 * (ky * KW + kx0);
                    if (xp == NULL) {
                        continue;
                    }
                    xp += (size_t)(ix0 + kx0) * C + c;
                    for (kx = kx0; kx < kx1; ++kx) {
                        TTE_DW4_TAP(xp, wt, 1);
                        wt += 2;
                        xp += C;
                    }
                }
            }
            rq4_pre(r, a0, a1, a2, a3, qm, qs, c, orow + (size_t)i * ostride + c);
            }
        }
        }
    }
}
#endif

void tte_conv2d_s8_dw_row(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *const *rows, int32_t ox0,
                          int32_t k, const int8_t *w, const int32_t *bias, int8_t *out, size_t ostride)
{
    int32_t i;
#if defined(__ARM_FEATURE_DSP)
    const tte_conv2d_geom_t *g = &p->g;
    /* transposing the weights pays from about six pixels on; fewer go pixel by pixel */
    if (k >= 6 && g->out_c == g->in_c && g->dil_h == 1 && g->dil_w == 1 && g->k_h * g->k_w <= TTE_DW_MAX_TAPS) {
        const rq_t r = rq_init(p, fast);
        const int32_t c4 = g->in_c & ~3;
        dw_row_groups(p, &r, rows, NULL, 1, ox0, k, w, bias, out, ostride);
        if (c4 < g->in_c) {
            /* the last in_c % 4 channels */
            for (i = 0; i < k; ++i) {
                const int32_t ix0 = (ox0 + i) * g->stride_w - g->pad_left;
                const int32_t kx0 = ix0 < 0 ? -ix0 : 0;
                const int32_t kx1 = g->in_w - ix0 < g->k_w ? g->in_w - ix0 : g->k_w;
                dw_px_rest(p, &r, rows, (size_t)(ix0 + kx0) * g->in_c, kx0, kx1, w, bias, out + (size_t)i * ostride,
                           c4);
            }
        }
        return;
    }
#endif
    for (i = 0; i < k; ++i) {
        tte_conv2d_s8_dw_pixel(p, fast, rows, ox0 + i, w, bias, out + (size_t)i * ostride);
    }
}

/* groups == in_c, one input channel per group. */
static TTE_NOINLINE void conv_depthwise(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *x,
                                       const int8_t *w, const int32_t *bias, int8_t *y)
{
    const tte_conv2d_geom_t *g = &p->g;
    const size_t row_bytes = (size_t)g->in_w * g->in_c;
    const size_t y_image = (size_t)g->out_h * g->out_w * g->out_c;
    const rq_t r = rq_init(p, fast);
    const int8_t *rows[TTE_CONV_MAX_KH];
    int32_t b, oy, ox, ky, c4 = 0;
#if defined(__ARM_FEATURE_DSP)
    if (g->out_c == g->in_c && g->dil_h == 1 && g->dil_w == 1 && g->k_h * g->k_w <= TTE_DW_MAX_TAPS) {
        /* the whole image four channels at a time: weights transposed once per call */
        for (b = 0; b < g->batch; ++b) {
            dw_row_groups(p, &r, NULL, x + (size_t)b * g->in_h * row_bytes, g->out_h, 0, g->out_w, w, bias,
                          y + (size_t)b * y_image, (size_t)g->out_c);
        }
        c4 = g->in_c & ~3;
        if (c4 == g->in_c) {
            return;
        }
    }
#endif
    for (b = 0; b < g->batch; ++b) {
        const int8_t *xb = x + (size_t)b * g->in_h * row_bytes;
        for (oy = 0; oy < g->out_h; ++oy) {
            int8_t *yo = y + (size_t)b * y_image + (size_t)oy * g->out_w * g->out_c;
            for (ky = 0; ky < g->k_h; ++ky) {
                const int32_t iy = oy * g->stride_h - g->pad_top + ky * g->dil_h;
                rows[ky] = iy < 0 || iy >= g->in_h ? NULL : xb + (size_t)iy * row_bytes;
            }
            for (ox = 0; ox < g->out_w; ++ox) {
                if (c4 == 0) {
                    tte_conv2d_s8_dw_pixel(p, fast, rows, ox, w, bias, yo + (size_t)ox * g->out_c);
                } else {
                    /* the last in_c % 4 channels after dw_row_groups (dilation 1) */
                    const int32_t ix0 = ox * g->stride_w - g->pad_left;
                    const int32_t kx0 = ix0 < 0 ? -ix0 : 0;
                    const int32_t kx1 = g->in_w - ix0 < g->k_w ? g->in_w - ix0 : g->k_w;
                    dw_px_rest(p, &r, rows, (size_t)(ix0 + kx0) * g->in_c, kx0, kx1, w, bias,
                               yo + (size_t)ox * g->out_c, c4);
                }
            }
        }
    }
}

/* Regular conv (groups 1) with a window of at most TTE_CONV_WIN values (the stem: 3x3x3):
 * each pixel's window, x - zp (0 outside the image), gathered once into int16 and reused by
 * every output channel. With DSP the values of each group of four sit in SMLAD order
 * (0, 2, 1, 3: the lanes SXTB16 gives the weights) and two pixels share each weight word. */
#define TTE_CONV_WIN 32

static void gather_window(const tte_conv2d_s8_params_t *p, const int8_t *xb, int32_t oy, int32_t ox, int16_t *dst)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t iy0 = oy * g->stride_h - g->pad_top;
    const int32_t ix0 = ox * g->stride_w - g->pad_left;
    const int32_t cin = g->in_c;
    int32_t ky, kx, c, i = 0;
    for (ky = 0; ky < g->k_h; ++ky) {
        const int32_t iy = iy0 + ky * g->dil_h;
        for (kx = 0; kx < g->k_w; ++kx) {
            const int32_t ix = ix0 + kx * g->dil_w;
            const int8_t *xp = NULL;
            if (iy >= 0 && iy < g->in_h && ix >= 0 && ix < g->in_w) {
                xp = xb + ((size_t)iy * g->in_w + ix) * cin;
            }
            for (c = 0; c < cin; ++c, ++i) {
#if defined(__ARM_FEATURE_DSP)
                const int32_t at = (i & ~3) | ((i & 1) << 1) | ((i >> 1) & 1);
#else
                const int32_t at = i;
#endif
                dst[at] = (int16_t)(xp != NULL ? (int32_t)xp[c] - p->in_zp : 0);
            }
        }
    }
}

#if defined(__ARM_FEATURE_DSP)
/* The DSP form: four pixels per pass over the weights. A window inside the input is
 * gathered through a table of x offsets (built once per call, already in SMLAD order);
 * the window is padded to a multiple of four with zeros, and the last weight word is
 * assembled from the bytes that exist (its padding meets x = 0). */
TTE_HOT static TTE_NOINLINE void conv_small_window_dsp(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *x,
                                               const int8_t *w, const int32_t *bias, int8_t *y)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t n = g->k_h * g->k_w * g->in_c;
    const int32_t n4 = n & ~3, np = (n + 3) & ~3, zp = p->in_zp;
    const rq_t r = rq_init(p, fast);
    int16_t win[4][TTE_CONV_WIN] __attribute__((aligned(8)));
    int16_t off[TTE_CONV_WIN];
    int32_t b, oy, ox, oc, i, q, ky, kx, c;
    for (ky = 0, i = 0; ky < g->k_h; ++ky) {
        for (kx = 0; kx < g->k_w; ++kx) {
            for (c = 0; c < g->in_c; ++c, ++i) {
                const int32_t at = (i & ~3) | ((i & 1) << 1) | ((i >> 1) & 1);
                off[at] = (int16_t)((ky * g->dil_h * g->in_w + kx * g->dil_w) * g->in_c + c);
            }
        }
    }
    for (b = 0; b < g->batch; ++b) {
        const int8_t *xb = x + (size_t)b * g->in_h * g->in_w * g->in_c;
        for (oy = 0; oy < g->out_h; ++oy) {
            const int32_t iy0 = oy * g->stride_h - g->pad_top;
            const int32_t rows_in = iy0 >= 0 && iy0 + (g->k_h - 1) * g->dil_h < g->in_h;
            int8_t *yr = y + ((size_t)b * g->out_h + oy) * g->out_w * g->out_c;
            for (ox = 0; ox < g->out_w; ox += 4) {
                const int32_t npx = g->out_w - ox < 4 ? g->out_w - ox : 4;
                for (q = 0; q < 4; ++q) {
                    const int32_t ix0 = (ox + q) * g->stride_w - g->pad_left;
                    int16_t *d = win[q];
                    if (q >= npx) {
                        memcpy(d, win[0], sizeof win[0]);
                    } else if (rows_in && ix0 >= 0 && ix0 + (g->k_w - 1) * g->dil_w < g->in_w) {
                        const int8_t *xo = xb + ((size_t)iy0 * g->in_w + ix0) * g->in_c;
                        for (i = 0; i < n4; ++i) {
                            d[i] = (int16_t)(xo[off[i]] - zp);
                        }
                        for (; i < n; ++i) {
                            const int32_t at = (i & ~3) | ((i & 1) << 1) | ((i >> 1) & 1);
                            d[at] = (int16_t)(xo[off[at]] - zp);
                        }
                    } else {
                        gather_window(p, xb, oy, ox + q, d);
                    }
                    for (i = n; i < np; ++i) {
                        d[(i & ~3) | ((i & 1) << 1) | ((i >> 1) & 1)] = 0;
                    }
                }
                /* one output channel over the four pixels at a time: its four accumulators,
                 * one unpacked weight word and one window word stay in registers; the last
                 * row's partial weight word is assembled from the bytes that exist */
                for (oc = 0; oc < g->out_c; ++oc) {
                    const int8_t *wp = w + (size_t)oc * n;
                    int32_t a0 = bias ? bias[oc] : 0;
                    int32_t a1 = a0, a2 = a0, a3 = a0;
                    int8_t *yo = yr + (size_t)ox * g->out_c + oc;
                    /* a row's padding bytes meet window zeros: whole words up to np but for
                     * the last row (whose bytes end the weight) */
                    const int32_t nw = oc + 1 < g->out_c ? np : n4;
                    uint64_t u;
                    for (c = 0; c < nw; c += 4) {
                        const uint32_t wv = load4(wp + c);
                        const uint32_t we = tte_sxtb16(wv), wo = tte_sxtb16_ror8(wv);
                        memcpy(&u, &win[0][c], sizeof u);
                        a0 = tte_smlad((uint32_t)(u >> 32), wo, tte_smlad((uint32_t)u, we, a0));
                        memcpy(&u, &win[1][c], sizeof u);
                        a1 = tte_smlad((uint32_t)(u >> 32), wo, tte_smlad((uint32_t)u, we, a1));
                        memcpy(&u, &win[2][c], sizeof u);
                        a2 = tte_smlad((uint32_t)(u >> 32), wo, tte_smlad((uint32_t)u, we, a2));
                        memcpy(&u, &win[3][c], sizeof u);
                        a3 = tte_smlad((uint32_t)(u >> 32), wo, tte_smlad((uint32_t)u, we, a3));
                    }
                    if (c < np) {
                        const uint32_t we = pack16(wp[c], c + 2 < n ? wp[c + 2] : 0);
                        const uint32_t wo = pack16(c + 1 < n ? wp[c + 1] : 0, c + 3 < n ? wp[c + 3] : 0);
                        memcpy(&u, &win[0][c], sizeof u);
                        a0 = tte_smlad((uint32_t)(u >> 32), wo, tte_smlad((uint32_t)u, we, a0));
                        memcpy(&u, &win[1][c], sizeof u);
                        a1 = tte_smlad((uint32_t)(u >> 32), wo, tte_smlad((uint32_t)u, we, a1));
                        memcpy(&u, &win[2][c], sizeof u);
                        a2 = tte_smlad((uint32_t)(u >> 32), wo, tte_smlad((uint32_t)u, we, a2));
                        memcpy(&u, &win[3][c], sizeof u);
                        a3 = tte_smlad((uint32_t)(u >> 32), wo, tte_smlad((uint32_t)u, we, a3));
                    }
                    if (r.mode == 2 && npx == 4) {
                        /* the common case: mult and shift loaded once for the four pixels */
                        const int32_t mu = r.mult[oc], sh = r.shift[oc], oc1 = g->out_c;
                        yo[0] = (int8_t)tte_rq_fast_s8(a0, mu, sh, r.zp2);
                        yo[oc1] = (int8_t)tte_rq_fast_s8(a1, mu, sh, r.zp2);
                        yo[2 * oc1] = (int8_t)tte_rq_fast_s8(a2, mu, sh, r.zp2);
                        yo[3 * oc1] = (int8_t)tte_rq_fast_s8(a3, mu, sh, r.zp2);
                        continue;
                    }
                    yo[0] = rq(&r, a0, oc);
                    if (npx > 1) {
                        yo[g->out_c] = rq(&r, a1, oc);
                    }
                    if (npx > 2) {
                        yo[2 * g->out_c] = rq(&r, a2, oc);
                    }
                    if (npx > 3) {
                        yo[3 * g->out_c] = rq(&r, a3, oc);
                    }
                }
            }
        }
    }
}
#endif

#if !defined(__ARM_FEATURE_DSP)
static TTE_NOINLINE void conv_small_window(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *x,
                                           const int8_t *w, const int32_t *bias, int8_t *y)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t n = g->k_h * g->k_w * g->in_c;
    const rq_t r = rq_init(p, fast);
    int16_t win[TTE_CONV_WIN];
    int32_t b, oy, ox, oc, c;
    for (b = 0; b < g->batch; ++b) {
        const int8_t *xb = x + (size_t)b * g->in_h * g->in_w * g->in_c;
        for (oy = 0; oy < g->out_h; ++oy) {
            for (ox = 0; ox < g->out_w; ++ox) {
                int8_t *yo = y + (((size_t)b * g->out_h + oy) * g->out_w + ox) * g->out_c;
                gather_window(p, xb, oy, ox, win);
                for (oc = 0; oc < g->out_c; ++oc) {
                    const int8_t *wp = w + (size_t)oc * n;
                    int32_t acc = bias ? bias[oc] : 0;
                    for (c = 0; c < n; ++c) {
                        acc += (int32_t)win[c] * (int32_t)wp[c];
                    }
                    yo[oc] = rq(&r, acc, oc);
                }
            }
        }
    }
}
#endif

void tte_conv2d_s8(const tte_conv2d_s8_params_t *p, const int8_t *x, const int8_t *w,
                   const int32_t *bias, int8_t *y)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t fast = tte_conv2d_s8_fast_rq(p);
    if (g->groups == 1 && g->k_h == 1 && g->k_w == 1 && g->stride_h == 1 && g->stride_w == 1
        && g->pad_top == 0 && g->pad_left == 0 && g->out_h == g->in_h && g->out_w == g->in_w) {
        tte_conv2d_s8_pointwise_px(p, fast, x, g->batch * g->in_h * g->in_w, w, bias, y);
    } else if (g->groups == g->in_c && g->groups > 1 && g->k_h <= TTE_CONV_MAX_KH) {
        conv_depthwise(p, fast, x, w, bias, y);
    } else if (g->groups == 1 && g->k_h * g->k_w * g->in_c <= TTE_CONV_WIN) {
#if defined(__ARM_FEATURE_DSP)
        if (g->k_h * g->dil_h * g->in_w * g->in_c < 32768) {
            conv_small_window_dsp(p, fast, x, w, bias, y);
        } else {
            tte_conv2d_s8_generic(p, x, w, bias, y);
        }
#else
        conv_small_window(p, fast, x, w, bias, y);
#endif
    } else {
        tte_conv2d_s8_generic(p, x, w, bias, y);
    }
}
