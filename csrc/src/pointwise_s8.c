/* int8 pointwise (1x1) conv2d: consecutive pixels (tte_conv2d_s8_pointwise_px, from
 * tte_conv2d_s8 and tte_block_s8; tte_conv2d_s8_pointwise_prep_px, from tte_block_s8, with the
 * weights laid out at compile time) and a weight split by input channel
 * (tte_conv2d_s8_pointwise_gather_px, from tte_conv2d_s8_split).
 *
 * Cortex-M4/M7 (ARMv7E-M DSP extension, under __ARM_FEATURE_DSP): the fast paths use its SIMD
 * (SXTB16, SSUB16, SMLAD, USADA8, SSAT) beside the portable C; every product and sum is an integer of the
 * portable loop, so the bytes are the same (tte_conv2d_s8_generic; tests/test_qemu_kernels.py). */
#include "tte/internal/optimized.h"
#include <string.h>

#include "tte/internal/conv_s8.h"

/* rq with mode 3 (tte_rq_wide: the layers whose shifts fall below tte_rq_fast's -21), tested
 * after the fast modes so that their code stays as it was. */
static TTE_ALWAYS_INLINE int8_t pw_rq(const rq_t *r, int32_t acc, int32_t oc)
{
    if (r->mode == 2) {
        return (int8_t)tte_rq_fast_s8(acc, r->mult[oc], r->shift[oc], r->zp2);
    }
    if (r->mode == 1) {
        return (int8_t)tte_rq_fast(acc, r->mult[oc], r->shift[oc], r->zp2, r->lo, r->hi);
    }
    if (r->mode == 3) {
        const int32_t mu = r->mult[oc];
        return (int8_t)tte_rq_wide(acc, tte_rq_wide_mult(mu), tte_rq_wide_shift(mu, r->shift[oc]), r->zp2, r->lo,
                                   r->hi);
    }
    return (int8_t)tte_rq_exact(acc, r->mult[oc], r->shift[oc], r->out_zp, r->lo, r->hi);
}

/* The output stage of a layer where tte_rq_fast_ok does not hold: wide (rq_t mode 3) where
 * tte_rq_wide_ok does, else exact. Out of line: on ARMv7E-M only the pixel-pair path (pw_pairs,
 * with pw_one for an odd pixel) takes the wide stage, and calls this itself, so that the other
 * paths and the dispatcher stay as they were for the fast layers. */
static TTE_NOINLINE rq_t pw_rq_slow(const tte_conv2d_s8_params_t *p, const int32_t *bias)
{
    rq_t r = rq_init(p, 0);
    /* |x - in_zp| <= 255 (tte_rq_wide_ok's bound on the sums) */
    if (p->in_zp >= -128 && p->in_zp <= 127
        && tte_rq_wide_ok(p->mult, p->shift, bias, p->g.out_c, p->g.in_c, p->out_zp, p->act_min, p->act_max)) {
        r.mode = 3;
    }
    return r;
}

/* One pixel of a 1x1 conv; WIDE: its output stage may be rq_t mode 3 (PW_ONE_RQ). */
#define PW_ONE_RQ(r, acc, oc) (WIDE ? pw_rq(r, acc, oc) : rq(r, acc, oc))
static TTE_ALWAYS_INLINE void pw_one_any(const tte_conv2d_s8_params_t *p, const rq_t *rp, const int8_t *xp,
                                         const int8_t *w, const int32_t *bias, int8_t *yp, const int32_t WIDE)
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
        yp[oc] = PW_ONE_RQ(r, a0, oc);
        yp[oc + 1] = PW_ONE_RQ(r, a1, oc + 1);
        yp[oc + 2] = PW_ONE_RQ(r, a2, oc + 2);
        yp[oc + 3] = PW_ONE_RQ(r, a3, oc + 3);
    }
#endif
    for (; oc < m; ++oc) {
        const int8_t *wp = w + (size_t)oc * n;
        int32_t acc = bias ? bias[oc] : 0;
        int32_t c;
        for (c = 0; c < n; ++c) {
            acc += ((int32_t)xp[c] - zp) * (int32_t)wp[c];
        }
        yp[oc] = PW_ONE_RQ(r, acc, oc);
    }
}

/* On ARMv7E-M only pw_pairs_slow takes the wide stage (pw_one_wide): pw_one stays as it was. */
#if defined(__ARM_FEATURE_DSP)
static void pw_one(const tte_conv2d_s8_params_t *p, const rq_t *rp, const int8_t *xp, const int8_t *w,
                   const int32_t *bias, int8_t *yp)
{
    pw_one_any(p, rp, xp, w, bias, yp, 0);
}
static TTE_NOINLINE void pw_one_wide(const tte_conv2d_s8_params_t *p, const rq_t *rp, const int8_t *xp,
                                     const int8_t *w, const int32_t *bias, int8_t *yp)
{
    pw_one_any(p, rp, xp, w, bias, yp, 1);
}
#else
static void pw_one(const tte_conv2d_s8_params_t *p, const rq_t *rp, const int8_t *xp, const int8_t *w,
                   const int32_t *bias, int8_t *yp)
{
    pw_one_any(p, rp, xp, w, bias, yp, 1);
}
#endif

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
/* A weight word's even and odd lanes (we, w) against four pixels' x - zp pairs, each loaded
 * with one LDRD from xs at byte offsets Q0..Q3. */
#define TTE_PW4_SMLAD(Q0, Q1, Q2, Q3)                                                   \
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
/* The same as a channel's first word: every pixel's sum starts from the bias in a0 (the first
 * SMLAD of pixels 1..3 reads it, pixel 0 last), no copies of it. */
#define TTE_PW4_SMLAD_FIRST(Q0, Q1, Q2, Q3)                                             \
    "ldrd %[e], %[o], [%[xs], #" #Q1 "]\n\t"                                           \
    "smlad %[a1], %[e], %[we], %[a0]\n\t"                                              \
    "smlad %[a1], %[o], %[w], %[a1]\n\t"                                               \
    "ldrd %[e], %[o], [%[xs], #" #Q2 "]\n\t"                                           \
    "smlad %[a2], %[e], %[we], %[a0]\n\t"                                              \
    "smlad %[a2], %[o], %[w], %[a2]\n\t"                                               \
    "ldrd %[e], %[o], [%[xs], #" #Q3 "]\n\t"                                           \
    "smlad %[a3], %[e], %[we], %[a0]\n\t"                                              \
    "smlad %[a3], %[o], %[w], %[a3]\n\t"                                               \
    "ldrd %[e], %[o], [%[xs], #" #Q0 "]\n\t"                                           \
    "smlad %[a0], %[e], %[we], %[a0]\n\t"                                              \
    "smlad %[a0], %[o], %[w], %[a0]\n\t"
/* One weight word (four input channels) of pw_small against four pixels, unpacked once. */
#define TTE_PWS_WORD(Q0, Q1, Q2, Q3)                                                    \
    "ldr %[w], [%[wp]], #4\n\t"                                                        \
    "sxtb16 %[we], %[w]\n\t"                                                           \
    "sxtb16 %[w], %[w], ror #8\n\t"                                                    \
    TTE_PW4_SMLAD(Q0, Q1, Q2, Q3)
/* The first word of pw_small_run's channel: every pixel's sum starts from the bias in a0 (the
 * first SMLAD of pixels 1..3 reads it, pixel 0 last), no copies of it. */
#define TTE_PWS_FIRST(Q0, Q1, Q2, Q3)                                                   \
    "ldr %[w], [%[wp]], #4\n\t"                                                        \
    "sxtb16 %[we], %[w]\n\t"                                                           \
    "sxtb16 %[w], %[w], ror #8\n\t"                                                    \
    TTE_PW4_SMLAD_FIRST(Q0, Q1, Q2, Q3)
#define TTE_PWS_F0 TTE_PWS_FIRST(0, 32, 64, 96)
#define TTE_PWS_W0 TTE_PWS_WORD(0, 32, 64, 96)
#define TTE_PWS_W1 TTE_PWS_WORD(8, 40, 72, 104)
#define TTE_PWS_W2 TTE_PWS_WORD(16, 48, 80, 112)
#define TTE_PWS_W3 TTE_PWS_WORD(24, 56, 88, 120)
/* the same with 20 or 24 input channels: pixel q's word j at byte 48 q + 8 j */
#define TTE_PWS6_F0 TTE_PWS_FIRST(0, 48, 96, 144)
#define TTE_PWS6_W1 TTE_PWS_WORD(8, 56, 104, 152)
#define TTE_PWS6_W2 TTE_PWS_WORD(16, 64, 112, 160)
#define TTE_PWS6_W3 TTE_PWS_WORD(24, 72, 120, 168)
#define TTE_PWS6_W4 TTE_PWS_WORD(32, 80, 128, 176)
#define TTE_PWS6_W5 TTE_PWS_WORD(40, 88, 136, 184)
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

/* output channels per table of pw_small_run (16 bytes of stack each) */
#define TTE_PWS_OCB 24

/* tte_rq_fast_s8 of register A in place, with the sum doubled already (pw_small_run's doubled
 * inputs and biases: d = 2 acc, no QADD), one SMMLAR taking the zero point too: the multiplier
 * in we, the ASR amount e (~shift; 0 for mult 0) in e, K = zp2 << e in o, T a free register,
 * the byte stored at ADDR. SMMLAR(d, mult, K - [d < 0]) is q - [d < 0] + K exactly (q = SMMULR(d,
 * mult), tte_rq_fast_s8's, and no int32 overflow: pws_fits keeps |d| < 2**30, so |q| < 2**29, and
 * |K| < 2**28); >> e then gives (q - [d < 0]) >> e + zp2. [d < 0] is [q < 0] except where d < 0
 * and q = 0: there zp2 - 1 instead of zp2 (zp2 = 2 out_zp + 1), and both halve to out_zp. */
#define TTE_PWS_RQ(A, T, ADDR)                                                          \
    "add %[" T "], %[o], %[" A "], asr #31\n\t"                                         \
    "smmlar %[" A "], %[" A "], %[we], %[" T "]\n\t"                                    \
    "asr %[" A "], %[" A "], %[e]\n\t"                                                 \
    "ssat %[" A "], #8, %[" A "], asr #1\n\t"                                          \
    "strb %[" A "], " ADDR "\n\t"
/* One output channel of four pixels: WORDS, its dot product, then its output stage. The register
 * that held xs's address holds m, pixels 1..3's outputs at y + m, y + 2 m, y + 3 m. Per channel
 * the table holds 2 bias, mult, e and K. */
#define TTE_PWS_CHANNEL(WORDS)                                                          \
    "ldr %[a0], [%[q]], #4\n\t" WORDS                                                   \
    "ldrd %[we], %[e], [%[q]], #8\n\t"                                                  \
    "ldr %[o], [%[q]], #4\n\t" TTE_PWS_RQ("a1", "w", "[%[y], %[m]]")                    \
    TTE_PWS_RQ("a2", "a1", "[%[y], %[m], lsl #1]")                                      \
    "add %[w], %[y], %[m], lsl #1\n\t"                                                  \
    TTE_PWS_RQ("a3", "a1", "[%[w], %[m]]")                                              \
    TTE_PWS_RQ("a0", "a1", "[%[y]], #1")
/* Every channel of the table, two a pass (an odd count enters at the second); the end of the
 * channels' weights and whether their count is odd at byte offsets EO and OO of xs (strings),
 * past the unpacked pixels. */
#define TTE_PWS_LOOP(WORDS, EO, OO)                                                      \
    __asm__ volatile("ldr %[w], [%[xs], #" OO "]\n\t"                                    \
                     "cmp %[w], #0\n\t"                                                  \
                     "bne 2f\n"                                                          \
                     "1:\n\t" TTE_PWS_CHANNEL(WORDS)                                     \
                     "2:\n\t" TTE_PWS_CHANNEL(WORDS)                                     \
                     "ldr %[w], [%[xs], #" EO "]\n\t"                                    \
                     "cmp %[wp], %[w]\n\t"                                               \
                     "bne 1b"                                                            \
                     : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [wp] "+r"(wp), \
                       [q] "+r"(q), [y] "+r"(yp), [w] "=&r"(wt), [we] "=&r"(we), [e] "=&r"(e), [o] "=&r"(o) \
                     : [xs] "r"(xs), [m] "r"(m)                                          \
                     : "cc", "memory")

/* Whether pw_small_run's doubled sums are exact: the input zero point inside int8 and every
 * |bias| + in_c 255 128 (the sum's reach) below 2**29, so that the doubled sum and its zero
 * point's share stay inside int32 (TTE_PWS_RQ). Else pw_small takes the layer (the biases of
 * trained models are far smaller). */
static TTE_NOINLINE int32_t pws_fits(const tte_conv2d_s8_params_t *p, const int32_t *bias)
{
    const int32_t m = p->g.out_c;
    const uint32_t lim = (1u << 29) - (uint32_t)p->g.in_c * 255u * 128u;
    uint32_t bad = p->in_zp < -128 || p->in_zp > 127;
    int32_t j;
    for (j = 0; j < m; ++j) {
        bad |= (uint32_t)bias[j] + (lim - 1u) >= 2u * lim - 1u;
    }
    return bad == 0;
}

/* pw_small in the common case (a bias, the clamp range all of int8) over whole groups of
 * four pixels (npx a multiple of four), also for 20 and 24 input channels (NW 5, 6), where
 * pws_fits holds: the channel loop in assembly, each channel's doubled bias, multiplier, ASR
 * amount and zero point from a table built per TTE_PWS_OCB channels (gcc spilled the four output
 * pointers and reloaded the output stage's parameters), the inputs doubled, so that the output
 * stage needs no doubling. */
static TTE_ALWAYS_INLINE void pw_small_run(const tte_conv2d_s8_params_t *p, const rq_t *r, const int8_t *x,
                                           int32_t npx, const int8_t *w, const int32_t *bias, int8_t *y,
                                           const int32_t NW)
{
    const int32_t n = 4 * NW, m = p->g.out_c;
    /* 2 (x - zp) per lane as (x - 2 zp) + x, two SXTAB16 (int16: |x - 2 zp| <= 382) */
    const uint32_t nz = pack16(-2 * p->in_zp, -2 * p->in_zp);
    /* pixel q's unpacked word j at xs[2 (S q + j)]: S words a pixel, 4 (TTE_PWS_Wj) or 6; then
     * the end of the channels' weights and whether their count is odd (TTE_PWS_LOOP's EO, OO) */
    const int32_t S = NW <= 4 ? 4 : 6;
    uint32_t xs[4 * 6 * 2 + 2] __attribute__((aligned(8)));
    int32_t tb[4 * TTE_PWS_OCB] __attribute__((aligned(8)));
    int32_t oc0, i, j, q0;
    for (oc0 = 0; oc0 < m; oc0 += TTE_PWS_OCB) {
        const int32_t nch = m - oc0 < TTE_PWS_OCB ? m - oc0 : TTE_PWS_OCB;
        xs[8 * S] = (uint32_t)(uintptr_t)(w + (size_t)(oc0 + nch) * n);
        xs[8 * S + 1] = (uint32_t)(nch & 1);
        for (j = 0; j < nch; ++j) {
            const int32_t mu = r->mult[oc0 + j], e = mu != 0 ? ~r->shift[oc0 + j] : 0;
            tb[4 * j] = 2 * bias[oc0 + j];
            tb[4 * j + 1] = mu;
            tb[4 * j + 2] = e;
            tb[4 * j + 3] = (int32_t)((uint32_t)r->zp2 << e);
        }
        for (i = 0; i < npx; i += 4) {
            const int8_t *wp = w + (size_t)oc0 * n;
            const int32_t *q = tb;
            int8_t *yp = y + (size_t)i * m + oc0;
            int32_t a0, a1, a2, a3;
            uint32_t wt, we, e, o;
            for (q0 = 0; q0 < 4; ++q0) {
                const int8_t *xq = x + (size_t)(i + q0) * n;
#pragma GCC unroll 6
                for (j = 0; j < NW; ++j) {
                    const uint32_t u = load4(xq + 4 * j);
                    xs[2 * (S * q0 + j)] = tte_sxtab16(tte_sxtab16(nz, u), u);
                    xs[2 * (S * q0 + j) + 1] = tte_sxtab16_ror8(tte_sxtab16_ror8(nz, u), u);
                }
            }
            if (NW == 5) {
                TTE_PWS_LOOP(TTE_PWS6_F0 TTE_PWS6_W1 TTE_PWS6_W2 TTE_PWS6_W3 TTE_PWS6_W4, "192", "196");
            } else if (NW == 6) {
                TTE_PWS_LOOP(TTE_PWS6_F0 TTE_PWS6_W1 TTE_PWS6_W2 TTE_PWS6_W3 TTE_PWS6_W4 TTE_PWS6_W5, "192",
                             "196");
            } else if (NW == 1) {
                TTE_PWS_LOOP(TTE_PWS_F0, "128", "132");
            } else if (NW == 2) {
                TTE_PWS_LOOP(TTE_PWS_F0 TTE_PWS_W1, "128", "132");
            } else if (NW == 3) {
                TTE_PWS_LOOP(TTE_PWS_F0 TTE_PWS_W1 TTE_PWS_W2, "128", "132");
            } else {
                TTE_PWS_LOOP(TTE_PWS_F0 TTE_PWS_W1 TTE_PWS_W2 TTE_PWS_W3, "128", "132");
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
    if (common && npx >= 8 && pws_fits(p, bias)) {
        /* whole groups of four pixels in assembly, the rest below */
        const int32_t n4 = npx & ~3;
        switch (p->g.in_c) {
        case 4:
            pw_small_run(p, &rl, x, n4, w, bias, y, 1);
            break;
        case 8:
            pw_small_run(p, &rl, x, n4, w, bias, y, 2);
            break;
        case 12:
            pw_small_run(p, &rl, x, n4, w, bias, y, 3);
            break;
        case 16:
            pw_small_run(p, &rl, x, n4, w, bias, y, 4);
            break;
        case 20:
            pw_small_run(p, &rl, x, n4, w, bias, y, 5);
            break;
        default:
            pw_small_run(p, &rl, x, n4, w, bias, y, 6);
            break;
        }
        if (n4 == npx) {
            return;
        }
        x += (size_t)n4 * p->g.in_c;
        y += (size_t)n4 * p->g.out_c;
        npx -= n4;
    }
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

/* ---- the expand 1x1 of a streamed block, laid out at compile time (tte.compiler.emit.block.pe_layout) ----
 *
 * pw_small_run's doubled sum d = 2 (bias + sum((x - zp) w)) (the output stage TTE_PWS_RQ) with
 * its per-call table, the weights' unpacking and the input zero point done once at compile time:
 * d = 2 (bias - zp sum(w)) + sum(x 2 w), so the pixels need only their bytes sign-extended. Per
 * output channel (TTE_PWE_CHANNEL_WORDS(n) words) 2 (bias - zp sum(w)), per four inputs the
 * doubled weights' int16 lanes (2 w0, 2 w2) and (2 w1, 2 w3), then its multiplier, ASR amount e
 * (~shift; 0 for mult 0) and K = zp2 << e. pe_layout builds one only where pws_fits and
 * tte_rq_fast_s8 hold (in_c 4 to 24, a multiple of 4; every partial sum then within int32).
 * Per weight word of four pixels one LDRD of weights where pw_small_run took an LDR and two
 * SXTB16; per channel (four pixels) NW + 2 loads of the layout, 8 NW SMLAD with 4 NW LDRD of
 * xs, and 5 instructions an output (TTE_PWS_RQ), four channels a loop pass (eight over 8 and 16
 * inputs); per word of a pixel an LDR, two SXTB16 and half an STRD; per four pixels about 15
 * instructions of loop (pwe_groups). That is about 12 instructions an output over 8 inputs, of
 * which 4 SMLAD and 5 of output stage: the rest are the loads of x (the four accumulators of
 * four pixels leave no register to keep x across channels) and of the layout. */
#define TTE_PWE_CHANNEL_WORDS(n) (4 + (n) / 2)

#if defined(__ARM_FEATURE_DSP)
/* A channel's words are read in pairs with one LDRD each, whatever they hold: (2 bias, we_0),
 * (w_0, we_1), ..., (w_last, mult), (e, K), one load a channel fewer than a load per field.
 * The weight lanes thus rotate through three registers (a word's we_j and w_j come from two
 * loads, the second also bringing we_{j+1} or the multiplier). */
#define TTE_PWE_LD(A, B) "ldrd %[" A "], %[" B "], [%[wp]], #8\n\t"
/* a weight word's lanes in registers WE and W against four pixels' x - zp pairs, each loaded
 * with one LDRD (into e, o) from xs at byte offsets Q0..Q3 */
#define TTE_PWE_WORD(WE, W, Q0, Q1, Q2, Q3)                                             \
    "ldrd %[e], %[o], [%[xs], #" #Q0 "]\n\t"                                            \
    "smlad %[a0], %[e], %[" WE "], %[a0]\n\t"                                           \
    "smlad %[a0], %[o], %[" W "], %[a0]\n\t"                                            \
    "ldrd %[e], %[o], [%[xs], #" #Q1 "]\n\t"                                            \
    "smlad %[a1], %[e], %[" WE "], %[a1]\n\t"                                           \
    "smlad %[a1], %[o], %[" W "], %[a1]\n\t"                                            \
    "ldrd %[e], %[o], [%[xs], #" #Q2 "]\n\t"                                            \
    "smlad %[a2], %[e], %[" WE "], %[a2]\n\t"                                           \
    "smlad %[a2], %[o], %[" W "], %[a2]\n\t"                                            \
    "ldrd %[e], %[o], [%[xs], #" #Q3 "]\n\t"                                            \
    "smlad %[a3], %[e], %[" WE "], %[a3]\n\t"                                           \
    "smlad %[a3], %[o], %[" W "], %[a3]\n\t"
/* the first word: every pixel's sum starts from the bias in a0 (pixel 0 last) */
#define TTE_PWE_FIRST(WE, W, Q0, Q1, Q2, Q3)                                            \
    "ldrd %[e], %[o], [%[xs], #" #Q1 "]\n\t"                                            \
    "smlad %[a1], %[e], %[" WE "], %[a0]\n\t"                                           \
    "smlad %[a1], %[o], %[" W "], %[a1]\n\t"                                            \
    "ldrd %[e], %[o], [%[xs], #" #Q2 "]\n\t"                                            \
    "smlad %[a2], %[e], %[" WE "], %[a0]\n\t"                                           \
    "smlad %[a2], %[o], %[" W "], %[a2]\n\t"                                            \
    "ldrd %[e], %[o], [%[xs], #" #Q3 "]\n\t"                                            \
    "smlad %[a3], %[e], %[" WE "], %[a0]\n\t"                                           \
    "smlad %[a3], %[o], %[" W "], %[a3]\n\t"                                            \
    "ldrd %[e], %[o], [%[xs], #" #Q0 "]\n\t"                                            \
    "smlad %[a0], %[e], %[" WE "], %[a0]\n\t"                                           \
    "smlad %[a0], %[o], %[" W "], %[a0]\n\t"
/* A channel's dot product with NW weight words (pixel q's word j at byte 8 (S q + j) of xs), the
 * multiplier left in we (TTE_PWS_RQ's); TTE_PWE_T<NW> names the register then free */
#define TTE_PWE_DOT1                                                                    \
    TTE_PWE_LD("a0", "w") TTE_PWE_LD("wx", "we") TTE_PWE_FIRST("w", "wx", 0, 32, 64, 96)
#define TTE_PWE_T1 "w"
#define TTE_PWE_DOT2                                                                    \
    TTE_PWE_LD("a0", "w") TTE_PWE_LD("we", "wx") TTE_PWE_FIRST("w", "we", 0, 32, 64, 96) \
    TTE_PWE_LD("w", "we") TTE_PWE_WORD("wx", "w", 8, 40, 72, 104)
#define TTE_PWE_T2 "wx"
#define TTE_PWE_DOT3                                                                    \
    TTE_PWE_LD("a0", "we") TTE_PWE_LD("w", "wx") TTE_PWE_FIRST("we", "w", 0, 32, 64, 96) \
    TTE_PWE_LD("we", "w") TTE_PWE_WORD("wx", "we", 8, 40, 72, 104)                      \
    TTE_PWE_LD("wx", "we") TTE_PWE_WORD("w", "wx", 16, 48, 80, 112)
#define TTE_PWE_T3 "w"
#define TTE_PWE_DOT4                                                                    \
    TTE_PWE_LD("a0", "w") TTE_PWE_LD("wx", "we") TTE_PWE_FIRST("w", "wx", 0, 32, 64, 96) \
    TTE_PWE_LD("w", "wx") TTE_PWE_WORD("we", "w", 8, 40, 72, 104)                       \
    TTE_PWE_LD("we", "w") TTE_PWE_WORD("wx", "we", 16, 48, 80, 112)                     \
    TTE_PWE_LD("wx", "we") TTE_PWE_WORD("w", "wx", 24, 56, 88, 120)
#define TTE_PWE_T4 "w"
#define TTE_PWE_DOT5                                                                    \
    TTE_PWE_LD("a0", "w") TTE_PWE_LD("we", "wx") TTE_PWE_FIRST("w", "we", 0, 48, 96, 144) \
    TTE_PWE_LD("w", "we") TTE_PWE_WORD("wx", "w", 8, 56, 104, 152)                      \
    TTE_PWE_LD("wx", "w") TTE_PWE_WORD("we", "wx", 16, 64, 112, 160)                    \
    TTE_PWE_LD("we", "wx") TTE_PWE_WORD("w", "we", 24, 72, 120, 168)                    \
    TTE_PWE_LD("w", "we") TTE_PWE_WORD("wx", "w", 32, 80, 128, 176)
#define TTE_PWE_T5 "wx"
#define TTE_PWE_DOT6                                                                    \
    TTE_PWE_LD("a0", "we") TTE_PWE_LD("w", "wx") TTE_PWE_FIRST("we", "w", 0, 48, 96, 144) \
    TTE_PWE_LD("we", "w") TTE_PWE_WORD("wx", "we", 8, 56, 104, 152)                     \
    TTE_PWE_LD("wx", "we") TTE_PWE_WORD("w", "wx", 16, 64, 112, 160)                    \
    TTE_PWE_LD("w", "wx") TTE_PWE_WORD("we", "w", 24, 72, 120, 168)                     \
    TTE_PWE_LD("we", "w") TTE_PWE_WORD("wx", "we", 32, 80, 128, 176)                    \
    TTE_PWE_LD("wx", "we") TTE_PWE_WORD("w", "wx", 40, 88, 136, 184)
#define TTE_PWE_T6 "w"
/* One output channel of four pixels: DOT, then (e, K) and the output stage (TTE_PWS_RQ, T free
 * at its start; pixels 0..3's outputs at y, y + m, y2, y2 + m, y2 = y + 2 m: no address to form
 * per channel) */
#define TTE_PWE_CHANNEL(DOT, T)                                                         \
    DOT "ldrd %[e], %[o], [%[wp]], #8\n\t" TTE_PWS_RQ("a1", T, "[%[y], %[m]]")          \
    TTE_PWS_RQ("a3", "a1", "[%[y2], %[m]]")                                             \
    TTE_PWS_RQ("a2", "a1", "[%[y2]], #1")                                               \
    TTE_PWS_RQ("a0", "a1", "[%[y]], #1")
/* xs's words past the unpacked pixels (from word 8 S on; byte offsets EO, OO, XP, XE, WC, YQ):
 * the end of the pass's weights, (-count) mod 4, the pixels to unpack next and their end, the
 * pass's first weights and the current pixels' first output */
#define TTE_PWE_SLOTS 6
/* one word of pixel Q (pixels of N bytes from %[w] on) into xs as pwe_unpack puts it (S words a
 * pixel): its (x0, x2) and (x1, x3) int16 lanes at byte 8 (S Q + J) */
#define TTE_PWE_UW(Q, J, N, S)                                                          \
    "ldr %[a0], [%[w], #(" #Q "*" #N "+4*" #J ")]\n\t"                                 \
    "sxtb16 %[a1], %[a0]\n\t"                                                          \
    "sxtb16 %[a0], %[a0], ror #8\n\t"                                                  \
    "strd %[a1], %[a0], [%[xs], #(8*(" #S "*" #Q "+" #J "))]\n\t"
#define TTE_PWE_U1(Q, N, S) TTE_PWE_UW(Q, 0, N, S)
#define TTE_PWE_U2(Q, N, S) TTE_PWE_U1(Q, N, S) TTE_PWE_UW(Q, 1, N, S)
#define TTE_PWE_U3(Q, N, S) TTE_PWE_U2(Q, N, S) TTE_PWE_UW(Q, 2, N, S)
#define TTE_PWE_U4(Q, N, S) TTE_PWE_U3(Q, N, S) TTE_PWE_UW(Q, 3, N, S)
#define TTE_PWE_U5(Q, N, S) TTE_PWE_U4(Q, N, S) TTE_PWE_UW(Q, 4, N, S)
#define TTE_PWE_U6(Q, N, S) TTE_PWE_U5(Q, N, S) TTE_PWE_UW(Q, 5, N, S)
#define TTE_PWE_UNPACK(U, N, S) U(0, N, S) U(1, N, S) U(2, N, S) U(3, N, S)

/* TTE_PWE_GROUPS' head: the pass's first weights and the current pixels' outputs */
#define TTE_PWE_HEAD(OO, WC)                                                            \
    "6:\n\t"                                                                            \
    "ldrd %[wp], %[y], [%[xs], #" WC "]\n\t"                                            \
    "add %[y2], %[y], %[m], lsl #1\n\t"                                                 \
    "ldr %[w], [%[xs], #" OO "]\n\t"                                                    \
    "cmp %[w], #0\n\t"                                                                  \
    "bne 7f\n"
/* and its tail, past the pass: the next four pixels (N4 bytes on) unpacked while any are left,
 * their outputs 4 m on, and the pass again */
#define TTE_PWE_NEXT(UNPACK, N4, XP, YQ)                                                \
    "ldrd %[w], %[e], [%[xs], #" XP "]\n\t"                                             \
    "cmp %[w], %[e]\n\t"                                                                \
    "beq 9f\n\t"                                                                        \
    "ldr %[y], [%[xs], #" YQ "]\n\t"                                                    \
    "add %[y], %[y], %[m], lsl #2\n\t"                                                  \
    "str %[y], [%[xs], #" YQ "]\n\t" UNPACK                                             \
    "add %[w], %[w], #" N4 "\n\t"                                                       \
    "str %[w], [%[xs], #" XP "]\n\t"                                                    \
    "b 6b\n"
#define TTE_PWE_GROUPS_OPS                                                              \
    : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [wp] "=&r"(wp), [y] "=&r"(yp), \
      [y2] "=&r"(y2), [w] "=&r"(wt), [we] "=&r"(we), [wx] "=&r"(wx), [e] "=&r"(e), [o] "=&r"(o) \
    : [xs] "r"(xs), [m] "r"(s)                                                          \
    : "cc", "memory"

/* Every channel of the pass (four a loop pass; a count not a multiple of four enters at channel
 * k = (-count) mod 4, by a branch taken only then) over the four pixels in xs, then, while
 * pixels are left to unpack (XP < XE), the next four (N4 bytes) and the pass again: the
 * pixel loop in assembly too, its state in xs, so that nothing is spilled around it. */
#define TTE_PWE_GROUPS(DOT, T, UNPACK, N4, EO, OO, XP, WC, YQ)                          \
    __asm__ volatile(TTE_PWE_HEAD(OO, WC)                                               \
                     "1:\n\t" TTE_PWE_CHANNEL(DOT, T)                                   \
                     "2:\n\t" TTE_PWE_CHANNEL(DOT, T)                                   \
                     "3:\n\t" TTE_PWE_CHANNEL(DOT, T)                                   \
                     "4:\n\t" TTE_PWE_CHANNEL(DOT, T)                                   \
                     "ldr %[w], [%[xs], #" EO "]\n\t"                                   \
                     "cmp %[wp], %[w]\n\t"                                              \
                     "bne 1b\n\t" TTE_PWE_NEXT(UNPACK, N4, XP, YQ)                      \
                     "7:\n\t"                                                           \
                     "cmp %[w], #2\n\t"                                                 \
                     "beq 3b\n\t"                                                       \
                     "bhi 4b\n\t"                                                       \
                     "b 2b\n"                                                           \
                     "9:" TTE_PWE_GROUPS_OPS)
/* The same eight channels a loop pass (k = (-count) mod 8, at xs's byte OO): half the loop's
 * compares and taken branches, for 8 and 16 input channels (MobileNetV2's first blocks) */
#define TTE_PWE_GROUPS8(DOT, T, UNPACK, N4, EO, OO, XP, WC, YQ)                         \
    __asm__ volatile(TTE_PWE_HEAD(OO, WC)                                               \
                     "10:\n\t" TTE_PWE_CHANNEL(DOT, T)                                  \
                     "11:\n\t" TTE_PWE_CHANNEL(DOT, T)                                  \
                     "12:\n\t" TTE_PWE_CHANNEL(DOT, T)                                  \
                     "13:\n\t" TTE_PWE_CHANNEL(DOT, T)                                  \
                     "14:\n\t" TTE_PWE_CHANNEL(DOT, T)                                  \
                     "15:\n\t" TTE_PWE_CHANNEL(DOT, T)                                  \
                     "16:\n\t" TTE_PWE_CHANNEL(DOT, T)                                  \
                     "17:\n\t" TTE_PWE_CHANNEL(DOT, T)                                  \
                     "ldr %[w], [%[xs], #" EO "]\n\t"                                   \
                     "cmp %[wp], %[w]\n\t"                                              \
                     "bne 10b\n\t" TTE_PWE_NEXT(UNPACK, N4, XP, YQ)                     \
                     "7:\n\t"                                                           \
                     "cmp %[w], #4\n\t"                                                 \
                     "beq 14b\n\t"                                                      \
                     "bhi 8f\n\t"                                                       \
                     "cmp %[w], #2\n\t"                                                 \
                     "beq 12b\n\t"                                                      \
                     "bhi 13b\n\t"                                                      \
                     "b 11b\n"                                                          \
                     "8:\n\t"                                                           \
                     "cmp %[w], #6\n\t"                                                 \
                     "beq 16b\n\t"                                                      \
                     "bhi 17b\n\t"                                                      \
                     "b 15b\n"                                                          \
                     "9:" TTE_PWE_GROUPS_OPS)

/* The pass whose state is in xs (TTE_PWE_GROUPS; pixel q, word j at xs[2 (S q + j)], S = 4 or
 * 6), outputs of the current pixel q at y + q s. */
static TTE_ALWAYS_INLINE void pwe_groups(uint32_t *xs, int32_t s, const int32_t NW)
{
    int32_t a0, a1, a2, a3;
    uint32_t wp, yp, y2, wt, we, wx, e, o;
    if (NW == 1) {
        TTE_PWE_GROUPS(TTE_PWE_DOT1, TTE_PWE_T1, TTE_PWE_UNPACK(TTE_PWE_U1, 4, 4), "16", "128", "132", "136",
                       "144", "148");
    } else if (NW == 2) {
        TTE_PWE_GROUPS8(TTE_PWE_DOT2, TTE_PWE_T2, TTE_PWE_UNPACK(TTE_PWE_U2, 8, 4), "32", "128", "132", "136",
                        "144", "148");
    } else if (NW == 3) {
        TTE_PWE_GROUPS(TTE_PWE_DOT3, TTE_PWE_T3, TTE_PWE_UNPACK(TTE_PWE_U3, 12, 4), "48", "128", "132", "136",
                       "144", "148");
    } else if (NW == 4) {
        TTE_PWE_GROUPS8(TTE_PWE_DOT4, TTE_PWE_T4, TTE_PWE_UNPACK(TTE_PWE_U4, 16, 4), "64", "128", "132", "136",
                        "144", "148");
    } else if (NW == 5) {
        TTE_PWE_GROUPS(TTE_PWE_DOT5, TTE_PWE_T5, TTE_PWE_UNPACK(TTE_PWE_U5, 20, 6), "80", "192", "196", "200",
                       "208", "212");
    } else {
        TTE_PWE_GROUPS(TTE_PWE_DOT6, TTE_PWE_T6, TTE_PWE_UNPACK(TTE_PWE_U6, 24, 6), "96", "192", "196", "200",
                       "208", "212");
    }
}

/* bytes of layout a pass of channels reads while more than four pixels follow (the later pixels
 * find it in the 4 KB D-cache; the pixels are unpacked again per pass) */
#define TTE_PWE_PASS_BYTES 3584

/* Four pixels' x (two int16 lanes a word, (x0, x2) and (x1, x3)) into xs as pwe_groups reads
 * them: pixel q's inputs at x + q step (step 0: one pixel in all four lanes) */
static TTE_ALWAYS_INLINE void pwe_unpack(const int8_t *x, int32_t step, uint32_t *xs, const int32_t NW)
{
    const int32_t S = NW <= 4 ? 4 : 6;
    int32_t q, j;
#pragma GCC unroll 4
    for (q = 0; q < 4; ++q) {
        const int8_t *xq = x + (size_t)q * step;
#pragma GCC unroll 6
        for (j = 0; j < NW; ++j) {
            /* in assembly: gcc loaded every word first and spilled them */
            uint32_t u, t0, t1;
            __asm__ volatile("ldr %[u], [%[xq], %[jo]]\n\t"
                             "sxtb16 %[t0], %[u]\n\t"
                             "sxtb16 %[t1], %[u], ror #8\n\t"
                             "strd %[t0], %[t1], [%[xs], %[ko]]"
                             : [u] "=&r"(u), [t0] "=&r"(t0), [t1] "=&r"(t1)
                             : [xq] "r"(xq), [xs] "r"(xs), [jo] "i"(4 * j), [ko] "i"(8 * (S * q + j))
                             : "memory");
        }
    }
}

/* ---- 16 and 24 inputs: three pixels by two output channels a step ----
 *
 * Over four weight words or more, pwe_groups' loads of x (four LDRD a weight word of a channel,
 * each feeding two SMLAD) cost more than its layout loads save by serving four pixels: three
 * pixels by two channels (six sums) take per weight word two LDRD of the layout and three of x for
 * twelve SMLAD, 17 instructions for six products' pairs where pwe_groups takes 12 for four plus
 * its layout's share. Per channel pair its biases (two LDR), per channel its multiplier, e and K
 * (LDRD + LDR) and TTE_PWS_RQ's five instructions an output; the outputs' pointer and stride come
 * from xs, as the dot products leave no register for them: about 18 instructions an output over
 * 16 inputs (pwe_groups: 19.2), 23.7 over 24 (25.5). Two channel pairs a loop pass (a pass's
 * channel count a multiple of four); x of pixel q, word j at byte 8 (NW q + j) of xs, then the
 * outputs' pointer, m and the pass's end at bytes TTE_PW3_Y, +4 and +8 (the strings TTE_PW3_YS and
 * TTE_PW3_ES in the assembly). */
#define TTE_PW3_Y 144
#define TTE_PW3_YS "144"
#define TTE_PW3_ES "152"
#define TTE_PW3_X(Q, J, NW) "[%[xs], #(8*(" #NW "*" #Q "+" #J "))]"
/* the x pair in (xe, xo) into pixel sums A (channel A's weights in wa, wo) and B (vb, vo), from
 * AI and BI */
#define TTE_PW3_MAC(A, B, AI, BI)                                                       \
    "smlad %[" A "], %[xe], %[wa], %[" AI "]\n\t"                                       \
    "smlad %[" A "], %[xo], %[wo], %[" A "]\n\t"                                        \
    "smlad %[" B "], %[xe], %[vb], %[" BI "]\n\t"                                       \
    "smlad %[" B "], %[xo], %[vo], %[" B "]\n\t"
/* weight word J of the channel pair at byte P of wp (channel B CB bytes on) */
#define TTE_PW3_WLD(P, CB, J)                                                           \
    "ldrd %[wa], %[wo], [%[wp], #(" #P "+4+8*" #J ")]\n\t"                              \
    "ldrd %[vb], %[vo], [%[wp], #(" #P "+" #CB "+4+8*" #J ")]\n\t"
/* the first word: the biases in a0 and b0 start pixels 1 and 2's sums, pixel 0's last */
#define TTE_PW3_FIRST(P, CB, NW)                                                        \
    "ldr %[a0], [%[wp], #" #P "]\n\t"                                                   \
    "ldr %[b0], [%[wp], #(" #P "+" #CB ")]\n\t" TTE_PW3_WLD(P, CB, 0)                   \
    "ldrd %[xe], %[xo], " TTE_PW3_X(1, 0, NW) "\n\t" TTE_PW3_MAC("a1", "b1", "a0", "b0") \
    "ldrd %[xe], %[xo], " TTE_PW3_X(2, 0, NW) "\n\t" TTE_PW3_MAC("a2", "b2", "a0", "b0") \
    "ldrd %[xe], %[xo], " TTE_PW3_X(0, 0, NW) "\n\t" TTE_PW3_MAC("a0", "b0", "a0", "b0")
#define TTE_PW3_WORD(P, CB, J, NW)                                                      \
    TTE_PW3_WLD(P, CB, J)                                                               \
    "ldrd %[xe], %[xo], " TTE_PW3_X(0, J, NW) "\n\t" TTE_PW3_MAC("a0", "b0", "a0", "b0") \
    "ldrd %[xe], %[xo], " TTE_PW3_X(1, J, NW) "\n\t" TTE_PW3_MAC("a1", "b1", "a1", "b1") \
    "ldrd %[xe], %[xo], " TTE_PW3_X(2, J, NW) "\n\t" TTE_PW3_MAC("a2", "b2", "a2", "b2")
/* TTE_PWS_RQ on this block's registers: multiplier wa, e wo, K vb, vo free; y in xe, m in xo */
#define TTE_PW3_RQ(A, ADDR)                                                             \
    "add %[vo], %[vb], %[" A "], asr #31\n\t"                                           \
    "smmlar %[" A "], %[" A "], %[wa], %[vo]\n\t"                                       \
    "asr %[" A "], %[" A "], %[wo]\n\t"                                                 \
    "ssat %[" A "], #8, %[" A "], asr #1\n\t"                                           \
    "strb %[" A "], " ADDR "\n\t"
/* channel C's (A's at byte P, B's at P + CB) output stage over the three pixels' sums S0..S2 */
#define TTE_PW3_OUT1(C, S0, S1, S2, NW)                                                 \
    "ldrd %[wa], %[wo], [%[wp], #(" C "+4+8*" #NW ")]\n\t"                              \
    "ldr %[vb], [%[wp], #(" C "+12+8*" #NW ")]\n\t"                                     \
    TTE_PW3_RQ(S1, "[%[xe], %[xo]]") TTE_PW3_RQ(S2, "[%[xe], %[xo], lsl #1]")           \
    TTE_PW3_RQ(S0, "[%[xe]], #1")
#define TTE_PW3_OUT(P, CB, NW)                                                          \
    "ldrd %[xe], %[xo], [%[xs], #" TTE_PW3_YS "]\n\t"                                              \
    TTE_PW3_OUT1(#P, "a0", "a1", "a2", NW) TTE_PW3_OUT1("(" #P "+" #CB ")", "b0", "b1", "b2", NW) \
    "str %[xe], [%[xs], #" TTE_PW3_YS "]\n\t"
#define TTE_PW3_OPS                                                                     \
    : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [b0] "=&r"(b0), [b1] "=&r"(b1), [b2] "=&r"(b2), \
      [wa] "=&r"(wa), [wo] "=&r"(wo), [vb] "=&r"(vb), [vo] "=&r"(vo), [xe] "=&r"(xe), [xo] "=&r"(xo), \
      [wp] "+r"(wp)                                                                     \
    : [xs] "r"(xs)                                                                      \
    : "cc", "memory"
/* the loop: two channel pairs (PAIR at bytes 0 and 2 CB) a pass, wp on by 4 CB, to xs's end */
#define TTE_PW3_LOOP(PAIR, CB)                                                          \
    __asm__ volatile("1:\n\t" PAIR(0) PAIR(2 * CB) "add %[wp], %[wp], #(4*" #CB ")\n\t" \
                     "ldr %[wa], [%[xs], #" TTE_PW3_ES "]\n\t"                                     \
                     "cmp %[wp], %[wa]\n\t"                                             \
                     "bne 1b" TTE_PW3_OPS)
#define TTE_PW3_PAIR4(P) TTE_PW3_FIRST(P, 48, 4) TTE_PW3_WORD(P, 48, 1, 4) TTE_PW3_WORD(P, 48, 2, 4) \
    TTE_PW3_WORD(P, 48, 3, 4) TTE_PW3_OUT(P, 48, 4)
#define TTE_PW3_PAIR6(P) TTE_PW3_FIRST(P, 64, 6) TTE_PW3_WORD(P, 64, 1, 6) TTE_PW3_WORD(P, 64, 2, 6) \
    TTE_PW3_WORD(P, 64, 3, 6) TTE_PW3_WORD(P, 64, 4, 6) TTE_PW3_WORD(P, 64, 5, 6) TTE_PW3_OUT(P, 64, 6)

/* every channel of the pass from wp on (xs's end) over the three pixels unpacked in xs */
static TTE_ALWAYS_INLINE void pw3_channels(const uint32_t *xs, const uint32_t *w, const int32_t NW)
{
    int32_t a0, a1, a2, b0, b1, b2;
    uint32_t wa, wo, vb, vo, xe, xo;
    const uint32_t *wp = w;
    if (NW == 4) {
        TTE_PW3_LOOP(TTE_PW3_PAIR4, 48);
    } else {
        TTE_PW3_LOOP(TTE_PW3_PAIR6, 64);
    }
}

/* three pixels' x from x (n = 4 NW bytes each) into xs as pw3_channels reads them */
static TTE_ALWAYS_INLINE void pw3_unpack(const int8_t *x, uint32_t *xs, const int32_t NW)
{
    int32_t q, j;
#pragma GCC unroll 3
    for (q = 0; q < 3; ++q) {
#pragma GCC unroll 6
        for (j = 0; j < NW; ++j) {
            uint32_t u, t0, t1;
            __asm__ volatile("ldr %[u], [%[x], %[jo]]\n\t"
                             "sxtb16 %[t0], %[u]\n\t"
                             "sxtb16 %[t1], %[u], ror #8\n\t"
                             "strd %[t0], %[t1], [%[xs], %[ko]]"
                             : [u] "=&r"(u), [t0] "=&r"(t0), [t1] "=&r"(t1)
                             : [x] "r"(x), [xs] "r"(xs), [jo] "i"(4 * (NW * q + j)), [ko] "i"(8 * (NW * q + j))
                             : "memory");
        }
    }
}

/* where pwe_run's three-pixel steps end in a run of npx pixels: before the last four or eight
 * where npx is not a multiple of three, so that pwe_groups takes those four at a time */
static TTE_ALWAYS_INLINE int32_t pw3_end(int32_t npx)
{
    const int32_t r3 = npx % 3;
    return r3 == 1 && npx >= 4 ? npx - 4 : r3 == 2 && npx >= 8 ? npx - 8 : npx - r3;
}

/* pixels [0, i3) of a run (x, outputs of the pass's first channel at y) over the pass's channels
 * (wc on, x3's end set): three at a time. Returns i3. */
static TTE_ALWAYS_INLINE int32_t pw3_pixels(const int8_t *x, int8_t *y, int32_t i3, int32_t n, int32_t m,
                                            uint32_t *x3, const uint32_t *wc, const int32_t NW)
{
    const int8_t *const end = x + (size_t)i3 * n;
    while (x != end) {
        pw3_unpack(x, x3, NW);
        x3[TTE_PW3_Y / 4] = (uint32_t)(uintptr_t)y;
        pw3_channels(x3, wc, NW);
        x += 3 * n;
        y += 3 * m;
    }
    return i3;
}

/* rows runs of npx pixels (run r at x + r npx n), run r's outputs in slot (slot + r) mod slots of
 * ring (slots of npx m bytes): each pass of channels over every run before the next pass, so that
 * a pass's layout is read from flash once per call, not once per run; over 16 and 24 inputs and
 * a multiple of four outputs, each run's pixels three at a time up to pw3_end's (pw3_pixels) */
static TTE_ALWAYS_INLINE void pwe_run(const tte_conv2d_s8_params_t *p, const int8_t *x, int32_t npx, int32_t rows,
                                      const uint32_t *prep, int8_t *ring, int32_t slots, int32_t slot,
                                      const int32_t NW)
{
    const int32_t n = 4 * NW, m = p->g.out_c, cw = TTE_PWE_CHANNEL_WORDS(n);
    const int32_t S = NW <= 4 ? 4 : 6;
    const size_t run_x = (size_t)npx * n, run_y = (size_t)npx * m;
    /* passes of a multiple of eight channels (no entry branch in either loop but on the last) */
    const int32_t per =
        npx * rows > 4 && 4 * m * cw > TTE_PWE_PASS_BYTES ? (TTE_PWE_PASS_BYTES / (4 * cw) & ~7) : m;
    /* the loop's entry: eight channels a pass for two and four words, else four */
    const uint32_t kmask = NW == 2 || NW == 4 ? 7 : 3;
    const int32_t i3 = (NW == 4 || NW == 6) && m % 4 == 0 ? pw3_end(npx) : 0;
    uint32_t xs[4 * 6 * 2 + TTE_PWE_SLOTS] __attribute__((aligned(8)));
    uint32_t x3[TTE_PW3_Y / 4 + 3] __attribute__((aligned(8)));
    int32_t c0, r, s;
    for (c0 = 0; c0 < m; c0 += per) {
        const int32_t nch = m - c0 < per ? m - c0 : per;
        const uint32_t *const wc = prep + (size_t)c0 * cw;
        xs[8 * S] = (uint32_t)(uintptr_t)(wc + (size_t)nch * cw);
        xs[8 * S + 1] = (uint32_t)-nch & kmask;
        xs[8 * S + 4] = (uint32_t)(uintptr_t)wc;
        x3[TTE_PW3_Y / 4 + 1] = (uint32_t)m;
        x3[TTE_PW3_Y / 4 + 2] = (uint32_t)(uintptr_t)(wc + (size_t)nch * cw);
        for (r = 0, s = slot; r < rows; ++r, s = s + 1 == slots ? 0 : s + 1) {
            const int8_t *const xr = x + (size_t)r * run_x;
            int8_t *const y = ring + (size_t)s * run_y;
            int32_t i = 0;
            if (NW == 4 || NW == 6) {
                i = pw3_pixels(xr, y + c0, i3, n, m, x3, wc, NW);
            }
            /* every whole four pixels in one call; past them, each pixel on its own, its four
             * lanes the same pixel, all four outputs to its place (stride 0) */
            while (i < npx) {
                const int32_t groups = (npx - i) / 4;
                const int8_t *const xp = xr + (size_t)i * n;
                const int32_t step = groups > 0 ? n : 0;
                pwe_unpack(xp, step, xs, NW);
                xs[8 * S + 2] = (uint32_t)(uintptr_t)(xp + 4 * step);
                xs[8 * S + 3] = (uint32_t)(uintptr_t)(xp + (size_t)groups * 4 * n);
                xs[8 * S + 5] = (uint32_t)(uintptr_t)(y + (size_t)i * m + c0);
                pwe_groups(xs, groups > 0 ? m : 0, NW);
                i += groups > 0 ? 4 * groups : 1;
            }
        }
    }
}

#endif

void tte_conv2d_s8_pointwise_small_prep_ring(const tte_conv2d_s8_params_t *p, const int8_t *x, int32_t npx,
                                             int32_t rows, const uint32_t *prep, int8_t *ring, int32_t slots,
                                             int32_t slot)
{
#if defined(__ARM_FEATURE_DSP)
    switch (p->g.in_c) {
    case 4:
        pwe_run(p, x, npx, rows, prep, ring, slots, slot, 1);
        break;
    case 8:
        pwe_run(p, x, npx, rows, prep, ring, slots, slot, 2);
        break;
    case 12:
        pwe_run(p, x, npx, rows, prep, ring, slots, slot, 3);
        break;
    case 16:
        pwe_run(p, x, npx, rows, prep, ring, slots, slot, 4);
        break;
    case 20:
        pwe_run(p, x, npx, rows, prep, ring, slots, slot, 5);
        break;
    default:
        pwe_run(p, x, npx, rows, prep, ring, slots, slot, 6);
        break;
    }
#else
    const size_t run_x = (size_t)npx * p->g.in_c, run_y = (size_t)npx * p->g.out_c;
    int32_t r;
    for (r = 0; r < rows; ++r) {
        tte_conv2d_s8_pointwise_small_prep_px(p, x + (size_t)r * run_x, npx, prep,
                                              ring + (size_t)((slot + r) % slots) * run_y);
    }
#endif
}

void tte_conv2d_s8_pointwise_small_prep_px(const tte_conv2d_s8_params_t *p, const int8_t *x, int32_t npx,
                                           const uint32_t *prep, int8_t *y)
{
#if defined(__ARM_FEATURE_DSP)
    tte_conv2d_s8_pointwise_small_prep_ring(p, x, npx, 1, prep, y, 1, 0);
#else
    const int32_t n = p->g.in_c, m = p->g.out_c, cw = TTE_PWE_CHANNEL_WORDS(n);
    int32_t i, oc, j;
    for (i = 0; i < npx; ++i) {
        const int8_t *xp = x + (size_t)i * n;
        for (oc = 0; oc < m; ++oc) {
            const uint32_t *c = prep + (size_t)oc * cw;
            /* the doubled sum, from the layout's 2 (bias - zp sum(w)) and int16 lanes (2 w0, 2 w2),
             * (2 w1, 2 w3) */
            int32_t d = (int32_t)c[0];
            for (j = 0; j < n; ++j) {
                const uint32_t word = c[1 + 2 * (j / 4) + (j & 1)];
                d += (int32_t)xp[j] * (int16_t)(uint16_t)((j & 2) ? word >> 16 : word & 0xFFFFu);
            }
            /* the layout's multiplier and ~e (shift -1 for a multiplier 0: out_zp for any) */
            y[(size_t)i * m + oc] = (int8_t)tte_rq_exact(d / 2, (int32_t)c[cw - 3], ~(int32_t)c[cw - 2], p->out_zp,
                                                         -128, 127);
        }
    }
#endif
}

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

/* The same for tte_rq_wide (with the clamp range [-128, 127]), %[mu] = tte_rq_wide_mult; also
 * tte_rq_fast_s8 itself, one instruction less, where no channel's multiplier is 0 (%[mu] = mult
 * << 1): the zero point's QADD, as in TTE_PWS_RQ. */
#define TTE_RQW8(A, ADDR)                                                               \
    "smmlar %[t], %[" A "], %[mu], %[" A "]\n\t"                                        \
    "add %[t], %[t], %[t], asr #31\n\t"                                                \
    "asr %[t], %[t], %[sh]\n\t"                                                        \
    "qadd %[t], %[t], %[z]\n\t"                                                        \
    "ssat %[t], #8, %[t], asr #1\n\t"                                                  \
    "strb %[t], " ADDR "\n\t"
#endif

#if defined(__ARM_FEATURE_DSP)
/* input channels of the pixel-pair path: at least 32 (below, the 2x2 path costs about the
 * same), at most TTE_PW_PAIRS_STACK with the stack's buffer (4 bytes each; more would raise
 * the paper models' stack peak, which their training step's backward pass sets now), any
 * number with the caller's (tte_block_s8's scratch) */

/* pw_pairs' channel loop in the common case (a bias, the clamp range all of int8, an even
 * out_c, in_c a multiple of 8) over `pairs` widened pixel pairs (2 n values each, one after
 * the other in buf; their outputs 2 m apart from y0): pointers only, so that little stays
 * live around the dot product (gcc spilled the general loop's bounds and indices). Each pair
 * of weight rows serves every pair of pixels while it is in the D-cache. */
static TTE_ALWAYS_INLINE void pw_pairs_channels_any(const int16_t *buf, int32_t pairs, const int8_t *w, int32_t n,
                                                     int32_t m, const int32_t *bias, const int32_t *mu,
                                                     const int32_t *sh, int32_t zp2, int8_t *y, const int32_t wide)
{
    const int8_t *const wend = w + (size_t)m * n;
    const int16_t *const bend = buf + (size_t)pairs * 2 * n;
    for (; w < wend; w += 2 * n, bias += 2, mu += 2, sh += 2, y += 2) {
        const int16_t *bp;
        int8_t *y0 = y;
        /* wide: both channels' tte_rq_wide_mult and ~tte_rq_wide_shift, once for all pixels */
        int32_t q[4] __attribute__((aligned(8)));
        if (wide) {
            q[0] = tte_rq_wide_mult(mu[0]);
            q[1] = ~tte_rq_wide_shift(mu[0], sh[0]);
            q[2] = tte_rq_wide_mult(mu[1]);
            q[3] = ~tte_rq_wide_shift(mu[1], sh[1]);
        }
        for (bp = buf; bp < bend; bp += 2 * n, y0 += 2 * m) {
            int32_t a[4];
            a[0] = a[1] = bias[0];
            a[2] = a[3] = bias[1];
            win_dot22(bp, w, n, n, a);
            if (wide) {
                /* tte_rq_wide with the clamp range [-128, 127] in assembly (TTE_RQW8) */
                int32_t a0 = a[0], a1 = a[1], b0 = a[2], b1 = a[3];
                uint32_t t, mv, sv;
                int8_t *yp = y0;
                __asm__ volatile("ldrd %[mu], %[sh], [%[q]]\n\t"
                                 TTE_RQW8("a0", "[%[y]]")
                                 TTE_RQW8("a1", "[%[y], %[m]]")
                                 "ldrd %[mu], %[sh], [%[q], #8]\n\t"
                                 "add %[y], %[y], #1\n\t"
                                 TTE_RQW8("b0", "[%[y]]")
                                 TTE_RQW8("b1", "[%[y], %[m]]")
                                 : [a0] "+r"(a0), [a1] "+r"(a1), [b0] "+r"(b0), [b1] "+r"(b1), [t] "=&r"(t),
                                   [mu] "=&r"(mv), [sh] "=&r"(sv), [y] "+r"(yp)
                                 : [m] "r"(m), [q] "r"(q), [z] "r"(zp2)
                                 : "memory");
            } else {
                /* tte_rq_fast_s8 of the four sums in assembly (TTE_RQS8) */
                int32_t a0 = a[0], a1 = a[1], b0 = a[2], b1 = a[3];
                uint32_t t, mv, sv;
                int8_t *yp = y0; /* stepped to the second channel in place: -Os has no register to spare */
                __asm__ volatile("ldr %[mu], [%[pm]]\n\t"
                                 "ldr %[sh], [%[ps]]\n\t"
                                 "mvn %[sh], %[sh]\n\t"
                                 TTE_RQS8("a0", "[%[y]]")
                                 TTE_RQS8("a1", "[%[y], %[m]]")
                                 "ldr %[mu], [%[pm], #4]\n\t"
                                 "ldr %[sh], [%[ps], #4]\n\t"
                                 "mvn %[sh], %[sh]\n\t"
                                 "add %[y], %[y], #1\n\t"
                                 TTE_RQS8("b0", "[%[y]]")
                                 TTE_RQS8("b1", "[%[y], %[m]]")
                                 : [a0] "+r"(a0), [a1] "+r"(a1), [b0] "+r"(b0), [b1] "+r"(b1), [t] "=&r"(t),
                                   [mu] "=&r"(mv), [sh] "=&r"(sv), [y] "+r"(yp)
                                 : [m] "r"(m), [pm] "r"(mu), [ps] "r"(sh), [z] "r"(zp2)
                                 : "memory");
            }
        }
    }
}

static TTE_NOINLINE void pw_pairs_channels(const int16_t *buf, int32_t pairs, const int8_t *w, int32_t n, int32_t m,
                                           const int32_t *bias, const int32_t *mu, const int32_t *sh, int32_t zp2,
                                           int8_t *y)
{
    pw_pairs_channels_any(buf, pairs, w, n, m, bias, mu, sh, zp2, y, 0);
}

/* pw_pairs_channels with the wide output stage (rq_t mode 3, the clamp range [-128, 127]) */
static TTE_NOINLINE void pw_pairs_channels_wide(const int16_t *buf, int32_t pairs, const int8_t *w, int32_t n,
                                                int32_t m, const int32_t *bias, const int32_t *mu, const int32_t *sh,
                                                int32_t zp2, int8_t *y)
{
    pw_pairs_channels_any(buf, pairs, w, n, m, bias, mu, sh, zp2, y, 1);
}

/* One pixel's x - zp into quad_fill's or oct_fill's buffer, eight inputs a pass (two unaligned
 * loads, one STRD per group of four), POST bytes from one group to the next. */
#define TTE_PX_FILL(POST)                                                               \
    "1:\n\t"                                                                            \
    "ldr %[a], [%[xp]], #4\n\t"                                                         \
    "ldr %[b], [%[xp]], #4\n\t"                                                         \
    "sxtb16 %[e], %[a]\n\t"                                                             \
    "sxtb16 %[a], %[a], ror #8\n\t"                                                     \
    "sxtb16 %[f], %[b]\n\t"                                                             \
    "sxtb16 %[b], %[b], ror #8\n\t"                                                     \
    "ssub16 %[e], %[e], %[zz]\n\t"                                                      \
    "ssub16 %[a], %[a], %[zz]\n\t"                                                      \
    "ssub16 %[f], %[f], %[zz]\n\t"                                                      \
    "ssub16 %[b], %[b], %[zz]\n\t"                                                      \
    "strd %[e], %[a], [%[d]], #" #POST "\n\t"                                           \
    "strd %[f], %[b], [%[d]], #" #POST "\n\t"                                           \
    "cmp %[xp], %[end]\n\t"                                                             \
    "bne 1b"

/* Four pixels' x - zp for pw_quad_channels: values 4 g .. 4 g + 3 at halfword 16 g, pixel q's
 * even lanes at 4 q, its odd lanes at 4 q + 2 (as SXTB16 and SXTB16 ROR #8 unpack a weight
 * word); n a multiple of eight, buf word-aligned. Eight inputs a pass in assembly (two
 * unaligned loads, one STRD per group): 14 instructions where the C loop took 20. */
static TTE_ALWAYS_INLINE void quad_fill(int16_t *buf, const int8_t *x, int32_t n, uint32_t zz)
{
    int32_t q;
    for (q = 0; q < 4; ++q, x += n) {
        const int8_t *xp = x;
        const int8_t *const end = x + n;
        int16_t *dst = buf + 4 * q;
        uint32_t a, b, e, f;
        __asm__ volatile(TTE_PX_FILL(32)
                         : [xp] "+r"(xp), [d] "+r"(dst), [a] "=&r"(a), [b] "=&r"(b), [e] "=&r"(e), [f] "=&r"(f)
                         : [end] "r"(end), [zz] "r"(zz)
                         : "cc", "memory");
    }
}

/* Eight pixels' x - zp for pw_oct_channels: quad_fill's layout with eight pixels a group of four
 * inputs (values 4 g .. 4 g + 3 at halfword 32 g, pixel q's lanes at 8 q and 8 q + 2), as
 * TTE_WIN8_WORD reads it; n a multiple of eight, buf word-aligned. */
static TTE_ALWAYS_INLINE void oct_fill(int16_t *buf, const int8_t *x, int32_t n, uint32_t zz)
{
    int32_t q;
    for (q = 0; q < 8; ++q, x += n) {
        const int8_t *xp = x;
        const int8_t *const end = x + n;
        int16_t *dst = buf + 4 * q;
        uint32_t a, b, e, f;
        __asm__ volatile(TTE_PX_FILL(64)
                         : [xp] "+r"(xp), [d] "+r"(dst), [a] "=&r"(a), [b] "=&r"(b), [e] "=&r"(e), [f] "=&r"(f)
                         : [end] "r"(end), [zz] "r"(zz)
                         : "cc", "memory");
    }
}

/* One weight word of one channel by the four pixels of quad_fill's buffer (pixel 0's load
 * post-indexed past the group): each weight word loaded and unpacked once for four pixels. */
#define TTE_QUAD_WORD                                                                   \
    "ldr %[w], [%[wp]], #4\n\t"                                                      \
    "sxtb16 %[we], %[w]\n\t"                                                         \
    "sxtb16 %[w], %[w], ror #8\n\t" TTE_WIN8_PX(8, a1) TTE_WIN8_PX(16, a2)            \
        TTE_WIN8_PX(24, a3)                                                             \
    "ldrd %[e], %[o], [%[xp]], #32\n\t"                                               \
    "smlad %[a0], %[e], %[we], %[a0]\n\t"                                             \
    "smlad %[a0], %[o], %[w], %[a0]\n\t"

/* The common case of pw_pairs (a bias, tte_rq_fast_s8 without a multiplier 0 or with `wide`
 * tte_rq_wide over the clamp range [-128, 127], in_c a multiple of 8) four pixels at a time: every output channel over
 * quad_fill's buffer, one channel at a time (its weight row read once for the four pixels; the
 * rows follow each other, so the weight pointer just runs on), its multiplier and shift loaded
 * once for the four outputs; eleven registers in the dot
 * product, against the pixel pairs' 2x2 block that needs the same loads per MAC and four times
 * the output stage's overhead per pass. */
static TTE_ALWAYS_INLINE void pw_quad_channels_any(const int16_t *buf, const int8_t *w, int32_t n, int32_t nc,
                                                    int32_t m, const int32_t *bias, const int32_t *mu,
                                                    const int32_t *sh, int32_t zp2, int8_t *y, const int32_t wide)
{
    const int16_t *const end = buf + 4 * n;
    int8_t *const yend = y + nc;
    const int32_t by16 = (n & 15) == 0;
    const int32_t odd16 = n & 16; /* 16 inputs before the first whole 32 */
    for (; y < yend; ++y, ++bias, ++mu, ++sh) {
        int32_t a0 = *bias, a1 = a0, a2 = a0, a3 = a0;
        const int16_t *xp = buf;
        const int8_t *wp = w;
        uint32_t e, o, wv, we;
        if (by16) {
            /* 32 inputs a pass (half the loop's branches), the first pass entered halfway
             * when in_c is an odd multiple of 16 */
            __asm__ volatile("cmp %[odd], #0\n\t"
                             "bne 2f\n"
                             "1:\n\t" TTE_QUAD_WORD TTE_QUAD_WORD TTE_QUAD_WORD TTE_QUAD_WORD
                             "2:\n\t" TTE_QUAD_WORD TTE_QUAD_WORD TTE_QUAD_WORD TTE_QUAD_WORD
                             "cmp %[xp], %[end]\n\t"
                             "bne 1b"
                             : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [xp] "+r"(xp),
                               [wp] "+r"(wp), [e] "=&r"(e), [o] "=&r"(o), [w] "=&r"(wv), [we] "=&r"(we)
                             : [end] "r"(end), [odd] "r"(odd16)
                             : "cc", "memory");
        } else {
            /* in_c an odd multiple of 8: 16 inputs a pass, the first one entered halfway */
            __asm__ volatile("b 2f\n"
                             "1:\n\t" TTE_QUAD_WORD TTE_QUAD_WORD
                             "2:\n\t" TTE_QUAD_WORD TTE_QUAD_WORD
                             "cmp %[xp], %[end]\n\t"
                             "bne 1b"
                             : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [xp] "+r"(xp),
                               [wp] "+r"(wp), [e] "=&r"(e), [o] "=&r"(o), [w] "=&r"(wv), [we] "=&r"(we)
                             : [end] "r"(end)
                             : "cc", "memory");
        }
        w = wp;
        {
            /* the four sums' output stage in assembly (TTE_RQW8): tte_rq_wide, or tte_rq_fast_s8
             * without a multiplier 0 (the caller's pw_no_zero_mult) */
            uint32_t t;
            const uint32_t mv = wide ? (uint32_t)tte_rq_wide_mult(*mu) : (uint32_t)*mu << 1;
            const uint32_t sv = ~(uint32_t)(wide ? tte_rq_wide_shift(*mu, *sh) : *sh);
            int8_t *const y2 = y + 2 * m;
            __asm__ volatile(TTE_RQW8("a0", "[%[y]]")
                             TTE_RQW8("a1", "[%[y], %[m]]")
                             TTE_RQW8("a2", "[%[y2]]")
                             TTE_RQW8("a3", "[%[y2], %[m]]")
                             : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [t] "=&r"(t)
                             : [mu] "r"(mv), [sh] "r"(sv), [z] "r"(zp2), [y] "r"(y), [y2] "r"(y2), [m] "r"(m)
                             : "memory");
        }
    }
}

/* no channel's multiplier is 0 (pw_quad_channels' fast output stage takes mult << 1), where
 * tte_rq_fast_ok holds: every other one has bit 30 set, so their AND has it */
static TTE_NOINLINE int32_t pw_no_zero_mult(const int32_t *mult, int32_t m)
{
    uint32_t all = ~0u;
    int32_t oc;
#pragma GCC unroll 4
    for (oc = 0; oc < m; ++oc) {
        all &= (uint32_t)mult[oc];
    }
    return (int32_t)((all >> 30) & 1u);
}

/* nc output channels (weights w, bias, mu, sh from the first) of the four pixels, whose
 * outputs are m apart */
static TTE_NOINLINE void pw_quad_channels(const int16_t *buf, const int8_t *w, int32_t n, int32_t nc, int32_t m,
                                          const int32_t *bias, const int32_t *mu, const int32_t *sh, int32_t zp2,
                                          int8_t *y)
{
    pw_quad_channels_any(buf, w, n, nc, m, bias, mu, sh, zp2, y, 0);
}

/* pw_quad_channels with the wide output stage (rq_t mode 3, the clamp range [-128, 127]) */
static TTE_NOINLINE void pw_quad_channels_wide(const int16_t *buf, const int8_t *w, int32_t n, int32_t nc,
                                               int32_t m, const int32_t *bias, const int32_t *mu,
                                               const int32_t *sh, int32_t zp2, int8_t *y)
{
    pw_quad_channels_any(buf, w, n, nc, m, bias, mu, sh, zp2, y, 1);
}

/* The first weight word of a channel for pw_oct_channels: pixels 1 to 7 start from a0, which
 * holds the bias until pixel 0 (last) adds to it, so no sum is copied from the bias. */
#define TTE_OCT_PX1(off, a)                                                             \
    "ldrd %[e], %[o], [%[xp], #" #off "]\n\t"                                          \
    "smlad %[" #a "], %[e], %[we], %[a0]\n\t"                                          \
    "smlad %[" #a "], %[o], %[w], %[" #a "]\n\t"
#define TTE_OCT_FIRST                                                                   \
    "ldr %[w], [%[wp]], #4\n\t"                                                        \
    "sxtb16 %[we], %[w]\n\t"                                                           \
    "sxtb16 %[w], %[w], ror #8\n\t" TTE_OCT_PX1(8, a1) TTE_OCT_PX1(16, a2)              \
        TTE_OCT_PX1(24, a3) TTE_OCT_PX1(32, a4) TTE_OCT_PX1(40, a5)                      \
        TTE_OCT_PX1(48, a6) TTE_OCT_PX1(56, a7)                                         \
    "ldrd %[e], %[o], [%[xp]], #64\n\t"                                                \
    "smlad %[a0], %[e], %[we], %[a0]\n\t"                                              \
    "smlad %[a0], %[o], %[w], %[a0]\n\t"

/* tte_rq_fast_s8 / tte_rq_wide as TTE_RQW8, in place on the sum A (no temporary register);
 * the multiplier in e, the inverted shift in o, zp2 in w */
#define TTE_OCT_RQ(A, ADDR)                                                             \
    "smmlar %[" A "], %[" A "], %[e], %[" A "]\n\t"                                     \
    "add %[" A "], %[" A "], %[" A "], asr #31\n\t"                                    \
    "asr %[" A "], %[" A "], %[o]\n\t"                                                 \
    "qadd %[" A "], %[" A "], %[w]\n\t"                                                \
    "ssat %[" A "], #8, %[" A "], asr #1\n\t"                                          \
    "strb %[" A "], " ADDR "\n\t"

/* The words of pw_oct_channels' loop body (straight code: one compare and taken branch per 16,
 * where four words a pass took four), and the bytes of one word (TTE_WIN8_WORD: 27
 * instructions, each of 32 bits in Thumb-2: post-indexed LDR, SXTB16, LDRD and SMLAD have no
 * 16-bit form) by which its entry steps back from the body's end */
#define TTE_OCT_BODY_WORDS 16
#define TTE_WIN8_WORD_BYTES 108
#define TTE_OCT_BODY TTE_WIN8_WORD4 TTE_WIN8_WORD4 TTE_WIN8_WORD4 TTE_WIN8_WORD4

/* Where pw_oct_channels' loop finds the buffer and its end, its entry for the words after the
 * first two (pw_oct_channels' back, then the address), the next channel's bias, multiplier (its shift sdelta bytes on) and output of pixel 0, the
 * end of the outputs of pixel 0, the bytes from one pixel's outputs to the next, zp2. */
typedef struct {
    const int16_t *buf, *end;
    uint32_t entry;
    const int32_t *bias, *mult;
    int32_t sdelta;
    int8_t *y;
    const int8_t *yend;
    int32_t m, zp2;
} pw_oct_pass_t;

/* pw_quad_channels_any for the eight pixels of oct_fill's buffer: each weight word loaded and
 * unpacked once for eight pixels (TTE_WIN8_WORD: 27 instructions for 32 MACs, where the four
 * pixels' word takes 15 for 16), half the weight reads. The dot product takes all 14 free
 * registers, so the whole channel loop is one assembly block (as stem_pass8_rq's) whose
 * pointers stay in memory; in_c >= 32, a multiple of 8. The output stage is tte_rq_wide, or
 * tte_rq_fast_s8 without a multiplier 0 (the caller's pw_no_zero_mult): they differ only where
 * the multiplier is 0 (wide: 2**31 and shift -31), which the fast one never meets. */
static TTE_NOINLINE void pw_oct_channels(const int16_t *buf, const int8_t *w, int32_t n, int32_t nc, int32_t m,
                                         const int32_t *bias, const int32_t *mu, const int32_t *sh, int32_t zp2,
                                         int8_t *y)
{
    /* the words after the first two: the first pass of the loop runs the last `part` words of
     * its body (all of them when they divide evenly), entered `back` bytes before its end */
    const int32_t rest = n / 4 - 2, part = rest % TTE_OCT_BODY_WORDS ? rest % TTE_OCT_BODY_WORDS : TTE_OCT_BODY_WORDS;
    const uint32_t back = (uint32_t)part * TTE_WIN8_WORD_BYTES;
    pw_oct_pass_t prm = {buf, buf + 8 * n, back, bias, mu,
                         (int32_t)((uintptr_t)sh - (uintptr_t)mu), y, y + nc, m, zp2};
    const int8_t *wp = w;
    const int16_t *xp;
    int32_t a0, a1, a2, a3, a4, a5, a6, a7;
    uint32_t e, o, wv, we;
    /* first the loop's entry (its body's end less `back`, the Thumb bit set); per channel: its
     * bias, the first two weight words, a branch into the loop's body (the rest's first, partial
     * pass), TTE_OCT_BODY_WORDS words a pass to the end, the output stage */
    __asm__ volatile("adr.w %[e], 5f\n\t"
                     "ldr %[o], %[entrym]\n\t"
                     "sub %[e], %[e], %[o]\n\t"
                     "orr %[e], %[e], #1\n\t"
                     "str %[e], %[entrym]\n"
                     "2:\n\t"
                     "ldr %[e], %[bsm]\n\t"
                     "ldr %[a0], [%[e]], #4\n\t"
                     "str %[e], %[bsm]\n\t"
                     "ldr %[xp], %[bufm]\n\t" TTE_OCT_FIRST TTE_WIN8_WORD
                     "ldr %[e], %[entrym]\n\t"
                     "bx %[e]\n"
                     "1:\n\t" TTE_OCT_BODY
                     "5:\n\t"
                     "ldr %[e], %[endm]\n\t"
                     "cmp %[xp], %[e]\n\t"
                     "bne 1b\n\t"
                     "ldr %[xp], %[mm]\n\t"
                     "ldr %[o], %[sdm]\n\t"
                     "ldr %[o], [%[xp], %[o]]\n\t"
                     "ldr %[e], [%[xp]], #4\n\t"
                     "str %[xp], %[mm]\n\t"
                     "lsls %[e], %[e], #1\n\t"
                     "beq 8f\n"
                     "9:\n\t"
                     "mvn %[o], %[o]\n\t"
                     "ldr %[w], %[zm]\n\t"
                     "ldr %[we], %[msm]\n\t"
                     "ldr %[xp], %[ym]\n\t" TTE_OCT_RQ("a0", "[%[xp]]")
                     "add %[a0], %[xp], %[we], lsl #1\n\t" TTE_OCT_RQ("a1", "[%[xp], %[we]]")
                     TTE_OCT_RQ("a2", "[%[a0]]") TTE_OCT_RQ("a3", "[%[a0], %[we]]")
                     "add %[a0], %[a0], %[we], lsl #1\n\t" TTE_OCT_RQ("a4", "[%[a0]]")
                     TTE_OCT_RQ("a5", "[%[a0], %[we]]")
                     "add %[a0], %[a0], %[we], lsl #1\n\t" TTE_OCT_RQ("a6", "[%[a0]]")
                     TTE_OCT_RQ("a7", "[%[a0], %[we]]")
                     "add %[xp], %[xp], #1\n\t"
                     "str %[xp], %[ym]\n\t"
                     "ldr %[w], %[yem]\n\t"
                     "cmp %[xp], %[w]\n\t"
                     "bne 2b\n\t"
                     "b 7f\n"
                     /* tte_rq_wide's multiplier 0: 2**31, shift -31 */
                     "8:\n\t"
                     "mov %[e], #0x80000000\n\t"
                     "mvn %[o], #30\n\t"
                     "b 9b\n"
                     "7:"
                     : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [a4] "=&r"(a4),
                       [a5] "=&r"(a5), [a6] "=&r"(a6), [a7] "=&r"(a7), [xp] "=&r"(xp), [wp] "+r"(wp),
                       [e] "=&r"(e), [o] "=&r"(o), [w] "=&r"(wv), [we] "=&r"(we), [bsm] "+m"(prm.bias),
                       [mm] "+m"(prm.mult), [ym] "+m"(prm.y), [entrym] "+m"(prm.entry)
                     : [bufm] "m"(prm.buf), [endm] "m"(prm.end), [sdm] "m"(prm.sdelta),
                       [yem] "m"(prm.yend), [msm] "m"(prm.m), [zm] "m"(prm.zp2)
                     : "cc", "memory");
}

/* Flash bytes of a block of output channels (weights, bias, multiplier, shift) that
 * pw_quad_blocks keeps in the 4 KB D-cache over all groups of four pixels, and the largest
 * in_c for which that pays: one more quad_fill of the four pixels per block (some 7 in_c
 * instructions) against the block's lines missed again (a flash miss costs some 11 cycles). */
#define TTE_PWQ_BLOCK_BYTES 3584
#define TTE_PWQ_BLOCK_MAX_N 128

/* Output channels per block of pw_quad_blocks: all of them unless the weights are in flash
 * (the Cortex-M Code region, below 0x20000000; trained ones lie in SRAM, which does not miss)
 * and exceed the D-cache, there are two groups of four pixels or more and in_c is small
 * enough to pay. */
static int32_t pw_quad_block(const int8_t *w, int32_t n, int32_t m, int32_t groups)
{
    const int32_t per_channel = n + 3 * (int32_t)sizeof(int32_t);
    int32_t blocks;
    if (groups < 2 || n > TTE_PWQ_BLOCK_MAX_N || m * per_channel <= TTE_PWQ_BLOCK_BYTES
        || (uintptr_t)w >= 0x20000000u) {
        return m;
    }
    blocks = (m * per_channel + TTE_PWQ_BLOCK_BYTES - 1) / TTE_PWQ_BLOCK_BYTES;
    return (m + blocks - 1) / blocks;
}

/* pw_quad_channels (px 4) or pw_oct_channels (px 8) over the groups whole groups of px pixels
 * at x (outputs at y): a block of output channels whose flash fits the D-cache serves every
 * group before the next block; the groups run forwards and backwards in turn, so that the group
 * in buf carries over. */
static TTE_NOINLINE void pw_quad_blocks(int16_t *buf, const int8_t *x, int32_t groups, const int8_t *w, int32_t n,
                                        int32_t m, const int32_t *bias, const rq_t *r, uint32_t zz, int8_t *y,
                                        int32_t wide, int32_t px)
{
    const int32_t per = pw_quad_block(w, n, m, groups);
    int32_t c0, g = 0, step = 1, filled = -1;
    for (c0 = 0; c0 < m; c0 += per) {
        const int32_t nc = m - c0 < per ? m - c0 : per;
        int32_t k;
        for (k = 0; k < groups; ++k, g += step) {
            const int8_t *const xg = x + (size_t)(px * g) * n;
            int8_t *const yg = y + (size_t)(px * g) * m + c0;
            if (g != filled) {
                if (px == 8) {
                    oct_fill(buf, xg, n, zz);
                } else {
                    quad_fill(buf, xg, n, zz);
                }
                filled = g;
            }
            if (px == 8) {
                pw_oct_channels(buf, w + (size_t)c0 * n, n, nc, m, bias + c0, r->mult + c0, r->shift + c0, r->zp2,
                                yg);
            } else if (wide) {
                pw_quad_channels_wide(buf, w + (size_t)c0 * n, n, nc, m, bias + c0, r->mult + c0, r->shift + c0,
                                      r->zp2, yg);
            } else {
                pw_quad_channels(buf, w + (size_t)c0 * n, n, nc, m, bias + c0, r->mult + c0, r->shift + c0, r->zp2,
                                 yg);
            }
        }
        step = -step;
        g += step;
    }
}

/* Two pixels at a time: their x - zp widened once (win_fill), then every pair of output
 * channels over them with win_dot22 (each weight word unpacked once for both pixels, no
 * zero-point pass over the weights); four at a time in the common case with the caller's
 * buffer; an odd last pixel goes to pw_one. WIDE: the output stage may be rq_t mode 3 (then
 * pw_quad_channels_wide and pw_pairs_channels_wide for the clamp range [-128, 127]); else the
 * fast and exact ones only. */
static TTE_ALWAYS_INLINE void pw_pairs_any(const tte_conv2d_s8_params_t *p, const rq_t *rp, const int8_t *x,
                                           int32_t npx, const int8_t *w, const int32_t *bias, int8_t *y,
                                           int16_t *ext, int32_t ext_px, const int32_t WIDE)
{
    const rq_t rl = *rp;
    const rq_t *const r = &rl;
    const int32_t n = p->g.in_c, m = p->g.out_c, n8 = n & ~7, zp = p->in_zp;
    const uint32_t zz = pack16(zp, zp);
    int16_t own[2 * TTE_PW_PAIRS_STACK] __attribute__((aligned(8)));
    int16_t *const buf = ext != NULL ? ext : own;
    /* the wide output stage in assembly too, for the clamp range [-128, 127] */
    const int32_t wide = WIDE && r->mode == 3 && r->lo == -128 && r->hi == 127;
    const int32_t common = bias != NULL && (r->mode == 2 || wide) && (m & 1) == 0 && n8 == n;
    void (*const channels)(const int16_t *, int32_t, const int8_t *, int32_t, int32_t, const int32_t *,
                           const int32_t *, const int32_t *, int32_t, int8_t *) =
        wide ? pw_pairs_channels_wide : pw_pairs_channels;
    int32_t i = 0, oc, j;
    if (bias != NULL && n8 == n && (ext != NULL || 2 * n <= TTE_PW_PAIRS_STACK)
        && (wide || (r->mode == 2 && pw_no_zero_mult(r->mult, m)))) {
        if (ext_px >= 8 && npx >= 8) {
            /* eight pixels a pass with a buffer that holds them (pw_oct_channels) */
            pw_quad_blocks(buf, x, npx / 8, w, n, m, bias, r, zz, y, wide, 8);
            i = npx & ~7;
        }
        if (npx - i >= 4) {
            /* four pixels a pass, one output channel at a time (pw_quad_channels) */
            pw_quad_blocks(buf, x + (size_t)i * n, (npx - i) / 4, w, n, m, bias, r, zz, y + (size_t)i * m, wide, 4);
            i = npx & ~3;
        }
    }
    if (ext != NULL && common) {
        /* the caller's buffer holds two pairs: four pixels per pass over the weights (half
         * the D-cache misses on them) */
        for (; i + 3 < npx; i += 4) {
            const int8_t *x0 = x + (size_t)i * n;
            win_fill(buf, 0, 0, n, x0, zp, zz);
            win_fill(buf, 1, 0, n, x0 + n, zp, zz);
            win_fill(buf + 2 * n, 0, 0, n, x0 + 2 * n, zp, zz);
            win_fill(buf + 2 * n, 1, 0, n, x0 + 3 * n, zp, zz);
            channels(buf, 2, w, n, m, bias, r->mult, r->shift, r->zp2, y + (size_t)i * m);
        }
    }
    for (; i + 1 < npx; i += 2) {
        const int8_t *x0 = x + (size_t)i * n;
        int8_t *y0 = y + (size_t)i * m;
        win_fill(buf, 0, 0, n, x0, zp, zz);
        win_fill(buf, 1, 0, n, x0 + n, zp, zz);
        if (common) {
            channels(buf, 1, w, n, m, bias, r->mult, r->shift, r->zp2, y0);
            continue;
        }
        for (oc = 0; oc < m; oc += 2) {
            const int32_t two = oc + 1 < m;
            const int8_t *wa = w + (size_t)oc * n;
            const int32_t b0 = bias ? bias[oc] : 0, b1 = bias && two ? bias[oc + 1] : 0;
            int32_t a[4] = {b0, b0, b1, b1};
            win_dot22(buf, wa, two ? n : 0, n8, a);
            for (j = n8; j < n; ++j) {
                const int32_t w0 = wa[j], w1 = two ? wa[n + j] : 0;
                const int32_t v0 = buf[win_index(j, 0)], v1 = buf[win_index(j, 1)];
                a[0] += v0 * w0;
                a[1] += v1 * w0;
                a[2] += v0 * w1;
                a[3] += v1 * w1;
            }
            if (r->mode == 2 && two) {
                /* each channel's multiplier and shift loaded once for both pixels */
                const int32_t m0 = r->mult[oc], s0 = r->shift[oc], m1 = r->mult[oc + 1], s1 = r->shift[oc + 1];
                y0[oc] = (int8_t)tte_rq_fast_s8(a[0], m0, s0, r->zp2);
                y0[m + oc] = (int8_t)tte_rq_fast_s8(a[1], m0, s0, r->zp2);
                y0[oc + 1] = (int8_t)tte_rq_fast_s8(a[2], m1, s1, r->zp2);
                y0[m + oc + 1] = (int8_t)tte_rq_fast_s8(a[3], m1, s1, r->zp2);
                continue;
            }
            y0[oc] = rq(r, a[0], oc);
            y0[m + oc] = rq(r, a[1], oc);
            if (two) {
                y0[oc + 1] = rq(r, a[2], oc + 1);
                y0[m + oc + 1] = rq(r, a[3], oc + 1);
            }
        }
    }
    if (i < npx) {
        if (WIDE) {
            pw_one_wide(p, r, x + (size_t)i * n, w, bias, y + (size_t)i * m);
        } else {
            pw_one(p, r, x + (size_t)i * n, w, bias, y + (size_t)i * m);
        }
    }
}

/* pw_pairs_any where tte_rq_fast_ok does not hold: the wide output stage where it is exact */
static TTE_NOINLINE void pw_pairs_slow(const tte_conv2d_s8_params_t *p, const int8_t *x, int32_t npx,
                                       const int8_t *w, const int32_t *bias, int8_t *y, int16_t *ext, int32_t ext_px)
{
    const rq_t r = pw_rq_slow(p, bias);
    pw_pairs_any(p, &r, x, npx, w, bias, y, ext, ext_px, 1);
}

static TTE_NOINLINE void pw_pairs(const tte_conv2d_s8_params_t *p, const rq_t *rp, const int8_t *x, int32_t npx,
                                  const int8_t *w, const int32_t *bias, int8_t *y, int16_t *ext, int32_t ext_px)
{
    if (rp->mode == 0) {
        pw_pairs_slow(p, x, npx, w, bias, y, ext, ext_px);
        return;
    }
    pw_pairs_any(p, rp, x, npx, w, bias, y, ext, ext_px, 0);
}
#endif

/* 1x1 conv over npx consecutive pixels (in_c values each at x, out_c outputs each at y); fast may
 * carry TTE_PW_BUF8 (buf holds eight pixels). */
TTE_HOT void tte_conv2d_s8_pointwise_px_buf(const tte_conv2d_s8_params_t *p, int32_t fast_buf8, const int8_t *x,
                                            int32_t npx, const int8_t *w, const int32_t *bias, int8_t *y,
                                            int16_t *buf)
{
    const int32_t fast = fast_buf8 & ~TTE_PW_BUF8;
    const int32_t n = p->g.in_c;
    const int32_t m = p->g.out_c;
#if defined(__ARM_FEATURE_DSP)
    const rq_t r = rq_init(p, fast);
#else
    const rq_t r = fast ? rq_init(p, fast) : pw_rq_slow(p, bias);
#endif
    int32_t i = 0;
    (void)buf;
#if defined(__ARM_FEATURE_DSP)
    if (npx >= 2 && n <= 16 && (n & 3) == 0) {
        pw_small_any(p, &r, x, npx, w, bias, y);
        return;
    }
    if (npx >= 8 && (n == 20 || n == 24) && bias != NULL && r.mode == 2 && pws_fits(p, bias)) {
        /* whole groups of four pixels as pw_small_run (the rest below, one by one) */
        const int32_t n4 = npx & ~3;
        pw_small_any(p, &r, x, n4, w, bias, y);
        x += (size_t)n4 * n;
        y += (size_t)n4 * m;
        npx -= n4;
    }
    if (npx >= 2 && n >= 32 && (n <= TTE_PW_PAIRS_STACK || buf != NULL)) {
        /* pixels the buffer holds: eight from 16 in_c bytes on */
        pw_pairs(p, &r, x, npx, w, bias, y, buf, buf == NULL ? 0 : fast_buf8 & TTE_PW_BUF8 ? 8 : 4);
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
        }
        if (npx & 1) {
            /* the odd last pixel: four channels per unpacked word of x */
            pw_one(p, &r, x + (size_t)(npx - 1) * n, w, bias, y + (size_t)(npx - 1) * m);
        }
        return;
    }
#endif
    for (; i < npx; ++i) {
        pw_one(p, &r, x + (size_t)i * n, w, bias, y + (size_t)i * m);
    }
}

void tte_conv2d_s8_pointwise_px(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *x, int32_t npx,
                                const int8_t *w, const int32_t *bias, int8_t *y)
{
    tte_conv2d_s8_pointwise_px_buf(p, fast, x, npx, w, bias, y, NULL);
}

/* ---- weights laid out at compile time (tte.compiler.emit.block.pw_layout) ----
 *
 * Each weight word holds four weights b0..b3 of one output channel as the int16 lanes
 * 256 b1 + b0 and 256 b3 + b2 (pw_layout makes none where one leaves int16), so that the word
 * itself is one SMLAD operand and SXTB16 of it, (b0, b2), the other: against four raw inputs
 * widened once per pixel as X = (x1 - 127, x3 - 127) and Y = (256 x0 - x1 + 127, 256 x2 - x3 +
 * 127) (int16 for any int8 x), SMLAD(X, W) + SMLAD(Y, SXTB16(W)) is 256 (x0 b0 + x1 b1 + x2 b2
 * + x3 b3 - 127 (b1 + b3)). The prepared biases hold 256 (bias - in_zp (sum of w) + 127 (sum
 * of the odd weights)) mod 2**32, so each sum is 256 times the portable loop's, exact where
 * that stays within 24 bits (pw_layout's condition), and its >> 7 is the doubled sum
 * tte_rq_fast_s8 starts with (no saturation at that size).
 *
 * Layout (uint32), per pair of output channels: their two prepared biases, per four inputs
 * the two channels' words, then per channel its multiplier, ~shift and (2 out_zp + 1) << ~shift
 * (the output stage's, as the layer's mult and shift; a channel whose output is one constant
 * has a stand-in of no weights, a small bias and multiplier 1/2). Four pixels a pass, two
 * channels at a time: per four inputs one LDRD of weights, two SXTB16, four LDRD of widened
 * inputs and sixteen SMLAD for 32 products. */
#define TTE_PWP_PAIR_WORDS(n) (8 + (n) / 2)
/* the parameter of a kernel over a layout with bias 0 (LIVE _b) for the live biases */
#define TTE_PW_BIAS_PARAM
#define TTE_PW_BIAS_PARAM_b , const int32_t *bias

/* two pixels' X and Y words for inputs 4 g .. 4 g + 3 at d[8 g], d[8 g + 1] and d[8 g + 4],
 * d[8 g + 5] (pixel x0, then x1; n a multiple of 8) */
static TTE_ALWAYS_INLINE void pwp_widen2(uint32_t *d, const int8_t *x0, const int8_t *x1, int32_t n)
{
#if defined(__ARM_FEATURE_DSP)
/* one group: X = (x1, x3) - 127 in one SXTAB16, Y = (x0, x2) << 8 - X; both pixels' X, then Y,
 * with one STRD each */
#define TTE_PWP_WIDEN                                                                   \
    "ldr %[u0], [%[x0]], #4\n\t"                                                       \
    "ldr %[u1], [%[x1]], #4\n\t"                                                       \
    "sxtab16 %[X0], %[c], %[u0], ror #8\n\t"                                           \
    "sxtab16 %[X1], %[c], %[u1], ror #8\n\t"                                           \
    "and %[u0], %[hi], %[u0], lsl #8\n\t"                                              \
    "and %[u1], %[hi], %[u1], lsl #8\n\t"                                              \
    "ssub16 %[u0], %[u0], %[X0]\n\t"                                                   \
    "ssub16 %[u1], %[u1], %[X1]\n\t"                                                   \
    "strd %[u0], %[u1], [%[d], #16]\n\t"                                               \
    "strd %[X0], %[X1], [%[d]], #32\n\t"
/* the widening loop, two groups a pass, over x0 .. end with the layout's WIDEN and the inputs
 * the macro INPUTS lists (early clobbers: end may equal x1, which must not share its register) */
#define TTE_PW_WIDEN_LOOP(WIDEN, INPUTS)                                                \
    __asm__ volatile("1:\n\t" WIDEN WIDEN                                               \
                     "cmp %[x0], %[end]\n\t"                                           \
                     "bne 1b"                                                           \
                     : [x0] "+&r"(x0), [x1] "+&r"(x1), [d] "+&r"(d), [u0] "=&r"(u0), [u1] "=&r"(u1), \
                       [X0] "=&r"(X0), [X1] "=&r"(X1)                                   \
                     : INPUTS                                                           \
                     : "cc", "memory")
#define TTE_PWP_WIDEN_IN [end] "r"(end), [c] "r"(0xFF81FF81u), [hi] "r"(0xFF00FF00u)
    const int8_t *const end = x0 + n;
    uint32_t u0, u1, X0, X1;
    TTE_PW_WIDEN_LOOP(TTE_PWP_WIDEN, TTE_PWP_WIDEN_IN);
#else
    int32_t g;
    for (g = 0; g < n; g += 4, d += 8) {
        const int8_t *v0 = x0 + g, *v1 = x1 + g;
        d[0] = ((uint32_t)(v0[1] - 127) & 0xFFFFu) | (uint32_t)(v0[3] - 127) << 16;
        d[1] = ((uint32_t)(v1[1] - 127) & 0xFFFFu) | (uint32_t)(v1[3] - 127) << 16;
        d[4] = ((uint32_t)(256 * v0[0] - v0[1] + 127) & 0xFFFFu) | (uint32_t)(256 * v0[2] - v0[3] + 127) << 16;
        d[5] = ((uint32_t)(256 * v1[0] - v1[1] + 127) & 0xFFFFu) | (uint32_t)(256 * v1[2] - v1[3] + 127) << 16;
    }
#endif
}

#if defined(__ARM_FEATURE_DSP)
/* Pieces of the pair kernels' groups, the same for pw_layout and the doubled layout, which
 * differ in how a group's second weight words come (W2: TTE_PWP_W2 sign-extends the first,
 * TTE_PWD_W2 loads them from the pair's words at W). TTE_PW_PX01 and TTE_PW_PX23: the X or Y
 * words at LOAD times w0, w1 into pass pixels 0 and 1's sums, or 2 and 3's. */
#define TTE_PW_PX01(LOAD)                                                               \
    "ldrd %[xa], %[xb], " LOAD "\n\t"                                                   \
    "smlad %[a00], %[xa], %[w0], %[a00]\n\t"                                            \
    "smlad %[a01], %[xa], %[w1], %[a01]\n\t"                                            \
    "smlad %[a10], %[xb], %[w0], %[a10]\n\t"                                            \
    "smlad %[a11], %[xb], %[w1], %[a11]\n\t"
#define TTE_PW_PX23(LOAD)                                                               \
    "ldrd %[xa], %[xb], " LOAD "\n\t"                                                   \
    "smlad %[a20], %[xa], %[w0], %[a20]\n\t"                                            \
    "smlad %[a21], %[xa], %[w1], %[a21]\n\t"                                            \
    "smlad %[a30], %[xb], %[w0], %[a30]\n\t"                                            \
    "smlad %[a31], %[xb], %[w1], %[a31]\n\t"
#define TTE_PWP_W2(W)                                                                   \
    "sxtb16 %[w0], %[w0]\n\t"                                                           \
    "sxtb16 %[w1], %[w1]\n\t"
#define TTE_PWD_W2(W) "ldrd %[w0], %[w1], [%[" W "]], #8\n\t"
/* One group of four inputs: both channels' words, then the four pixels' X (post-indexed past
 * the group) and Y. */
#define TTE_PW_GROUP(W2)                                                                \
    "ldrd %[w0], %[w1], [%[wp]], #8\n\t" TTE_PW_PX01("[%[xp]], #32") TTE_PW_PX23("[%[xp], #-24]") \
        W2("wp") TTE_PW_PX01("[%[xp], #-16]") TTE_PW_PX23("[%[xp], #-8]")
/* The first group: the biases in a00, a01 start every pixel's sums (pixels 2, 3 and 1 read
 * them before pixel 0's change them). */
#define TTE_PW_FIRST(W2) TTE_PW_FIRST_AFTER(TTE_PW_BIASES, W2)
/* the pair's prepared biases into a00, a01 */
#define TTE_PW_BIASES "ldrd %[a00], %[a01], [%[wp]], #8\n\t"
/* prep_bias_px's (a layout with bias 0): 256 times the pair's live biases (%[bp], stepped on to
 * the next pair's) added to the prepared ones, w0, w1 and xa free until the group loads them */
#define TTE_PW_LIVE_BIASES                                                              \
    TTE_PW_BIASES "ldr %[xa], %[bp]\n\t"                                                \
    "ldrd %[w0], %[w1], [%[xa]], #8\n\t"                                                \
    "str %[xa], %[bp]\n\t"                                                              \
    "add %[a00], %[a00], %[w0], lsl #8\n\t"                                             \
    "add %[a01], %[a01], %[w1], lsl #8\n\t"
/* the first group with a00, a01 set by BIASES */
#define TTE_PW_FIRST_AFTER(BIASES, W2)                                                  \
    BIASES "ldrd %[w0], %[w1], [%[wp]], #8\n\t"                                         \
    "ldrd %[xa], %[xb], [%[xp], #8]\n\t"                                                \
    "smlad %[a20], %[xa], %[w0], %[a00]\n\t"                                            \
    "smlad %[a21], %[xa], %[w1], %[a01]\n\t"                                            \
    "smlad %[a30], %[xb], %[w0], %[a00]\n\t"                                            \
    "smlad %[a31], %[xb], %[w1], %[a01]\n\t"                                            \
    "ldrd %[xa], %[xb], [%[xp]], #32\n\t"                                               \
    "smlad %[a10], %[xb], %[w0], %[a00]\n\t"                                            \
    "smlad %[a11], %[xb], %[w1], %[a01]\n\t"                                            \
    "smlad %[a00], %[xa], %[w0], %[a00]\n\t"                                            \
    "smlad %[a01], %[xa], %[w1], %[a01]\n\t"                                            \
    W2("wp") TTE_PW_PX01("[%[xp], #-16]") TTE_PW_PX23("[%[xp], #-8]")
/* the same for two pixels (0 and 1 of the pass) */
#define TTE_PW2_GROUP(W2)                                                               \
    "ldrd %[w0], %[w1], [%[wp]], #8\n\t" TTE_PW_PX01("[%[xp]], #32") W2("wp") TTE_PW_PX01("[%[xp], #-16]")
#define TTE_PW2_FIRST(W2) TTE_PW2_FIRST_AFTER(TTE_PW_BIASES, W2)
#define TTE_PW2_FIRST_AFTER(BIASES, W2)                                                 \
    BIASES "ldrd %[w0], %[w1], [%[wp]], #8\n\t"                                         \
    "ldrd %[xa], %[xb], [%[xp]], #32\n\t"                                               \
    "smlad %[a10], %[xb], %[w0], %[a00]\n\t"                                            \
    "smlad %[a11], %[xb], %[w1], %[a01]\n\t"                                            \
    "smlad %[a00], %[xa], %[w0], %[a00]\n\t"                                            \
    "smlad %[a01], %[xa], %[w1], %[a01]\n\t"                                            \
    W2("wp") TTE_PW_PX01("[%[xp], #-16]")
/* one pixel, two channel pairs (wa, wb): the pixel's X and Y words loaded once for four channels */
#define TTE_PW1_GROUP(W2)                                                               \
    "ldr %[xb], [%[xp], #16]\n\t"                                                       \
    "ldr %[xa], [%[xp]], #32\n\t"                                                       \
    "ldrd %[w0], %[w1], [%[wa]], #8\n\t"                                                \
    "smlad %[a0], %[xa], %[w0], %[a0]\n\t"                                              \
    "smlad %[a1], %[xa], %[w1], %[a1]\n\t" W2("wa")                                     \
    "smlad %[a0], %[xb], %[w0], %[a0]\n\t"                                              \
    "smlad %[a1], %[xb], %[w1], %[a1]\n\t"                                              \
    "ldrd %[w0], %[w1], [%[wb]], #8\n\t"                                                \
    "smlad %[a2], %[xa], %[w0], %[a2]\n\t"                                              \
    "smlad %[a3], %[xa], %[w1], %[a3]\n\t" W2("wb")                                     \
    "smlad %[a2], %[xb], %[w0], %[a2]\n\t"                                              \
    "smlad %[a3], %[xb], %[w1], %[a3]\n\t"
/* the output stage's end on the doubled sum in A with K in register K (TTE_PWP_RQ) */
#define TTE_PW_RQ_K(K, A, ADDR)                                                         \
    "add %[xb], %[" K "], %[" A "], asr #31\n\t"                                        \
    "smmlar %[" A "], %[" A "], %[w0], %[xb]\n\t"                                       \
    "asr %[" A "], %[" A "], %[w1]\n\t"                                                 \
    "ssat %[" A "], #8, %[" A "], asr #1\n\t"                                           \
    "strb %[" A "], " ADDR "\n\t"
/* a channel's mult, ~shift and K read from W (post-indexed), K in xa */
#define TTE_PW1_PARAMS(W)                                                               \
    "ldrd %[w0], %[w1], [%[" W "]], #8\n\t"                                             \
    "ldr %[xa], [%[" W "]], #4\n\t"
#define TTE_PWP_GROUP TTE_PW_GROUP(TTE_PWP_W2)
#define TTE_PWP_FIRST TTE_PW_FIRST(TTE_PWP_W2)
/* tte_rq_fast_s8 of 256 times the sum in register A, in place, with %[w0] = mult, %[w1] = e - 1
 * = ~shift and %[xp] = K = zp2 << (e - 1) (the layout's), %[xb] clobbered; the byte stored at
 * ADDR. The doubled sum is d = A >> 7, q = SMMULR(d, mult) as tte_rq_fast_s8's (no saturation
 * within 24 bits); its q - [q < 0] + zp2 << (e - 1) is one SMMLAR on K - [d < 0] (a sum below
 * 0 with q = 0 gives (K - 1) >> (e - 1) = zp2 - 1, which halves to out_zp as zp2 does; pw_layout
 * keeps |q| + |K| < 2**31), and >> (e - 1) leaves (q - [q < 0]) >> (e - 1) + zp2 for the
 * halving SSAT. */
#define TTE_PWP_RQ(A, ADDR)                                                             \
    "asr %[" A "], %[" A "], #7\n\t" TTE_PW_RQ_K("xp", A, ADDR)
/* the next channel's mult, ~shift, K */
#define TTE_PWP_PARAMS                                                                  \
    "ldrd %[w0], %[w1], [%[wp]], #8\n\t"                                              \
    "ldr %[xp], [%[wp]], #4\n\t"
/* Other input channel counts: the first two groups, then a branch into a loop body of
 * TTE_PWP_BODY_GROUPS groups of straight code (its entry, in c, steps TTE_PWP_GROUP_BYTES back
 * from the body's end per group of the rest's first, partial pass), one compare and taken
 * branch per 16 groups where a loop of two or four groups took one per pass */
#define TTE_PWP_BODY_GROUPS 16
#define TTE_PWP_GROUP_BYTES 92 /* 23 instructions of 32 bits: LDRD, SMLAD, SXTB16 have no 16-bit form */
#define TTE_PWP_DOTN TTE_PWP_DOTN_FROM(TTE_PWP_FIRST)
#define TTE_PWP_DOTN_FROM(FIRST)                                                        \
    FIRST TTE_PWP_GROUP                                                                 \
    "ldr %[w0], %[entry]\n\t"                                                          \
    "bx %[w0]\n"                                                                        \
    "1:\n\t" TTE_PWP_G16                                                                \
    "5:\n\t"                                                                            \
    "ldr %[w0], %[xend]\n\t"                                                            \
    "cmp %[xp], %[w0]\n\t"                                                              \
    "bne 1b\n\t"
/* the loop's entry once per call: its body's end less c's bytes, the Thumb bit set */
#define TTE_PWP_ENTRY                                                                   \
    "adr.w %[w0], 5f\n\t"                                                               \
    "ldr %[w1], %[entry]\n\t"                                                           \
    "sub %[w0], %[w0], %[w1]\n\t"                                                       \
    "orr %[w0], %[w0], #1\n\t"                                                          \
    "str %[w0], %[entry]\n\t"
/* 32, 64 or 128 input channels, no loop (no compare, no taken branch per four groups) */
#define TTE_PWP_G4 TTE_PWP_GROUP TTE_PWP_GROUP TTE_PWP_GROUP TTE_PWP_GROUP
#define TTE_PWP_G16 TTE_PWP_G4 TTE_PWP_G4 TTE_PWP_G4 TTE_PWP_G4
#define TTE_PWP_DOT32 TTE_PWP_FIRST TTE_PWP_GROUP TTE_PWP_GROUP TTE_PWP_GROUP TTE_PWP_G4
#define TTE_PWP_DOT64 TTE_PWP_FIRST TTE_PWP_GROUP TTE_PWP_GROUP TTE_PWP_GROUP TTE_PWP_G4 TTE_PWP_G4 TTE_PWP_G4
#define TTE_PWP_DOT128 TTE_PWP_DOT64 TTE_PWP_G16
/* the same from prep_bias_px's live biases (the _b kernels, the loop only) */
#define TTE_PWP_FIRST_b TTE_PW_FIRST_AFTER(TTE_PW_LIVE_BIASES, TTE_PWP_W2)
#define TTE_PWP_DOTN_b TTE_PWP_DOTN_FROM(TTE_PWP_FIRST_b)

/* Every pair of channels (DOT, then both channels' outputs from the multipliers and shifts
 * that follow their words: the first channel's pixels 0..3, the second's 2, 3, 0, 1) in one
 * piece of assembly: the fourteen registers of the dot product, everything else in memory
 * (the context c, on the stack). The outputs' addresses come from two bases, pixel 0's (c.ym1
 * keeps it less one) and pixel 2's, each stepped on to the second channel by the writeback of
 * its first store there, so that pixel 0's base ends where the next pair's less one lies. */
#define TTE_PWP_CHANNELS(PRE, DOT, RQ, MORE)                                            \
    __asm__ volatile(PRE "3:\n\t"                                                       \
                     "ldr %[xp], %[buf]\n\t" DOT TTE_PWP_PARAMS                         \
                     "ldr %[xa], %[ym1]\n\t" RQ("a00", "[%[xa], #1]!")          \
                     "ldr %[a00], %[s]\n\t" RQ("a10", "[%[xa], %[a00]]")         \
                     "add %[a10], %[xa], %[a00], lsl #1\n\t" RQ("a20", "[%[a10]]") \
                         RQ("a30", "[%[a10], %[a00]]")                          \
                             TTE_PWP_PARAMS RQ("a21", "[%[a10], #1]!")           \
                                 RQ("a31", "[%[a10], %[a00]]")                  \
                                     RQ("a01", "[%[xa], #1]!")                  \
                                         RQ("a11", "[%[xa], %[a00]]")           \
                     "str %[xa], %[ym1]\n\t"                                            \
                     "ldr %[w0], %[wend]\n\t"                                           \
                     "cmp %[wp], %[w0]\n\t"                                             \
                     "bne 3b"                                                           \
                     : [a00] "=&r"(a00), [a01] "=&r"(a01), [a10] "=&r"(a10), [a11] "=&r"(a11),    \
                       [a20] "=&r"(a20), [a21] "=&r"(a21), [a30] "=&r"(a30), [a31] "=&r"(a31),    \
                       [w0] "=&r"(w0), [w1] "=&r"(w1), [xa] "=&r"(xa), [xb] "=&r"(xb),            \
                       [xp] "=&r"(xp), [wp] "+r"(wp), [ym1] "+m"(c.ym1), [entry] "+m"(c.entry) MORE \
                     : [buf] "m"(c.buf), [xend] "m"(c.xend), [s] "m"(c.s), [wend] "m"(c.wend)     \
                     : "cc", "memory")

typedef struct {
    const uint32_t *buf, *xend, *wend;
    int32_t s;
    uintptr_t ym1; /* pwp_channels: the next pair's pixel-0 output address less one */
    uint32_t entry;
} pwp_ctx_t;

/* The live bias of the kernels fam_channels and fam_channels2 (LIVE: nothing, or _b for
 * prep_bias_px's: their bias parameter (TTE_PW_BIAS_PARAM), the next pair's live biases, read
 * and stepped on by TTE_PW_LIVE_BIASES as asm operand bp) */
#define TTE_PW_BIAS_OPERAND
#define TTE_PW_BIAS_OPERAND_b , [bp] "+m"(bias)
/* The in_c of 64, 32 and 128 in straight code (no loop), the branches before the loop's:
 * TTE_PW_FIXED_N in fam_channels, TTE_PW2_FIXED_N in fam_channels2. The _b kernels take the
 * loops only: their code counts against every model's flash (tte.targets.code_size), used or
 * not, and their layers' in_c are the expanded channels of late blocks. */
#define TTE_PW_FIXED_N(FAM)                                                             \
    if (n == 64) {                                                                      \
        TTE_PWP_CHANNELS("", TTE_##FAM##_DOT64, TTE_##FAM##_RQ, );                      \
    } else if (n == 32) {                                                               \
        TTE_PWP_CHANNELS("", TTE_##FAM##_DOT32, TTE_##FAM##_RQ, );                      \
    } else if (n == 128) {                                                              \
        TTE_PWP_CHANNELS("", TTE_##FAM##_DOT128, TTE_##FAM##_RQ, );                     \
    } else
#define TTE_PW_FIXED_N_b(FAM)
#define TTE_PW2_FIXED_N(FAM)                                                            \
    if (n == 64) {                                                                      \
        TTE_PWP2_CHANNELS(TTE_##FAM##2_DOT64, TTE_##FAM##_RQ, );                        \
    } else if (n == 32) {                                                               \
        TTE_PWP2_CHANNELS(TTE_##FAM##2_DOT32, TTE_##FAM##_RQ, );                        \
    } else if (n == 128) {                                                              \
        TTE_PWP2_CHANNELS(TTE_##FAM##2_DOT128, TTE_##FAM##_RQ, );                       \
    } else
#define TTE_PW2_FIXED_N_b(FAM)

/* fam_channels, over layout FAM's pairs (TTE_<FAM>_PAIR_WORDS words each, its DOT, GROUP_BYTES
 * and RQ macros): every pair of channels over the widened inputs xw of one pass, outputs of pass
 * pixels 0..3 at y0, y0 + s, y0 + 2 s, y0 + 3 s */
#define TTE_PW_CHANNELS_FN(fam, FAM) TTE_PW_CHANNELS_LIVE_FN(fam, FAM, )
/* the same with LIVE: fam_channels##LIVE from the DOT macros TTE_<FAM>_DOT*##LIVE */
#define TTE_PW_CHANNELS_LIVE_FN(fam, FAM, LIVE)                                         \
    static TTE_NOINLINE void fam##_channels##LIVE(const uint32_t *xw, int32_t n, int32_t m, const uint32_t *wp \
                                                  TTE_PW_BIAS_PARAM##LIVE, int8_t *y0, int32_t s) \
    {                                                                                   \
        pwp_ctx_t c;                                                                    \
        uint32_t a00, a01, a10, a11, a20, a21, a30, a31, w0, w1, xa, xb;                \
        const uint32_t *xp;                                                             \
        c.buf = xw;                                                                     \
        c.xend = xw + 2 * n;                                                            \
        c.wend = wp + (size_t)(m / 2) * (size_t)(TTE_##FAM##_PAIR_WORDS(n));            \
        c.s = s;                                                                        \
        c.ym1 = (uintptr_t)y0 - 1u;                                                     \
        TTE_PW_FIXED_N##LIVE(FAM) {                                                     \
            /* the groups after the first two (at least six: in_c >= 32) */             \
            const int32_t rest = n / 4 - 2;                                             \
            const int32_t part = rest % TTE_PWP_BODY_GROUPS ? rest % TTE_PWP_BODY_GROUPS : TTE_PWP_BODY_GROUPS; \
            c.entry = (uint32_t)part * TTE_##FAM##_GROUP_BYTES;                         \
            TTE_PWP_CHANNELS(TTE_PWP_ENTRY, TTE_##FAM##_DOTN##LIVE, TTE_##FAM##_RQ, TTE_PW_BIAS_OPERAND##LIVE); \
        }                                                                               \
    }
TTE_PW_CHANNELS_FN(pwp, PWP)
/* pwp_channels over a live-bias layout (prep_bias_px): 256 bias[c] added to each prepared bias */
TTE_PW_CHANNELS_LIVE_FN(pwp, PWP, _b)

/* Two pixels (0 and 1 of the pass): one group of four inputs, the first one from the biases */
#define TTE_PWP2_GROUP TTE_PW2_GROUP(TTE_PWP_W2)
#define TTE_PWP2_FIRST TTE_PW2_FIRST(TTE_PWP_W2)
#define TTE_PWP2_LOOP(HEAD, BODY)                                                       \
    HEAD "ldr %[w0], %[xend]\n\t"                                                       \
         "cmp %[xp], %[w0]\n\t"                                                         \
         "beq 2f\n"                                                                     \
         "1:\n\t" BODY "ldr %[w0], %[xend]\n\t"                                          \
         "cmp %[xp], %[w0]\n\t"                                                         \
         "bne 1b\n"                                                                     \
         "2:\n\t"
#define TTE_PWP2_DOT16                                                                  \
    TTE_PWP2_LOOP(TTE_PWP2_FIRST TTE_PWP2_GROUP TTE_PWP2_GROUP TTE_PWP2_GROUP,          \
                  TTE_PWP2_GROUP TTE_PWP2_GROUP TTE_PWP2_GROUP TTE_PWP2_GROUP)
#define TTE_PWP2_DOT8 TTE_PWP2_LOOP(TTE_PWP2_FIRST TTE_PWP2_GROUP, TTE_PWP2_GROUP TTE_PWP2_GROUP)
#define TTE_PWP2_G4 TTE_PWP2_GROUP TTE_PWP2_GROUP TTE_PWP2_GROUP TTE_PWP2_GROUP
#define TTE_PWP2_DOT32 TTE_PWP2_FIRST TTE_PWP2_GROUP TTE_PWP2_GROUP TTE_PWP2_GROUP TTE_PWP2_G4
#define TTE_PWP2_DOT64 TTE_PWP2_FIRST TTE_PWP2_GROUP TTE_PWP2_GROUP TTE_PWP2_GROUP TTE_PWP2_G4 TTE_PWP2_G4 TTE_PWP2_G4
#define TTE_PWP2_DOT128 TTE_PWP2_DOT64 TTE_PWP2_G4 TTE_PWP2_G4 TTE_PWP2_G4 TTE_PWP2_G4
/* the same from prep_bias_px's live biases (the _b kernels, the loops only) */
#define TTE_PWP2_FIRST_b TTE_PW2_FIRST_AFTER(TTE_PW_LIVE_BIASES, TTE_PWP_W2)
#define TTE_PWP2_DOT16_b                                                                \
    TTE_PWP2_LOOP(TTE_PWP2_FIRST_b TTE_PWP2_GROUP TTE_PWP2_GROUP TTE_PWP2_GROUP,        \
                  TTE_PWP2_GROUP TTE_PWP2_GROUP TTE_PWP2_GROUP TTE_PWP2_GROUP)
#define TTE_PWP2_DOT8_b TTE_PWP2_LOOP(TTE_PWP2_FIRST_b TTE_PWP2_GROUP, TTE_PWP2_GROUP TTE_PWP2_GROUP)
#define TTE_PWP2_CHANNELS(DOT, RQ, MORE)                                                \
    __asm__ volatile("3:\n\t"                                                           \
                     "ldr %[xp], %[buf]\n\t" DOT                                        \
                     TTE_PWP_PARAMS RQ("a00", "[%[y0]]")                          \
                         RQ("a10", "[%[y0], %[s]]") TTE_PWP_PARAMS              \
                     "add %[xa], %[y0], #1\n\t" RQ("a01", "[%[xa]]")             \
                         RQ("a11", "[%[xa], %[s]]")                             \
                     "add %[y0], %[y0], #2\n\t"                                         \
                     "ldr %[w0], %[wend]\n\t"                                           \
                     "cmp %[wp], %[w0]\n\t"                                             \
                     "bne 3b"                                                           \
                     : [a00] "=&r"(a00), [a01] "=&r"(a01), [a10] "=&r"(a10), [a11] "=&r"(a11),    \
                       [w0] "=&r"(w0), [w1] "=&r"(w1), [xa] "=&r"(xa), [xb] "=&r"(xb),            \
                       [xp] "=&r"(xp), [wp] "+r"(wp), [y0] "+r"(y0) MORE                \
                     : [buf] "m"(c.buf), [xend] "m"(c.xend), [s] "r"(s),                          \
                       [wend] "m"(c.wend)                                                \
                     : "cc", "memory")

/* fam_channels for pass pixels 0 and 1 only (outputs at y0 and y0 + s), with layout FAM's
 * TTE_<FAM>2_DOT and TTE_<FAM>_RQ */
#define TTE_PW_CHANNELS2_FN(fam, FAM) TTE_PW_CHANNELS2_LIVE_FN(fam, FAM, )
/* the same with LIVE (TTE_PW_CHANNELS_LIVE_FN's) */
#define TTE_PW_CHANNELS2_LIVE_FN(fam, FAM, LIVE)                                        \
    static TTE_NOINLINE void fam##_channels2##LIVE(const uint32_t *xw, int32_t n, int32_t m, const uint32_t *wp \
                                                   TTE_PW_BIAS_PARAM##LIVE, int8_t *y0, int32_t s) \
    {                                                                                   \
        pwp_ctx_t c;                                                                    \
        uint32_t a00, a01, a10, a11, w0, w1, xa, xb;                                    \
        const uint32_t *xp;                                                             \
        c.buf = xw;                                                                     \
        c.xend = xw + 2 * n;                                                            \
        c.wend = wp + (size_t)(m / 2) * (size_t)(TTE_##FAM##_PAIR_WORDS(n));            \
        TTE_PW2_FIXED_N##LIVE(FAM) if ((n & 15) == 0) {                                 \
            TTE_PWP2_CHANNELS(TTE_##FAM##2_DOT16##LIVE, TTE_##FAM##_RQ, TTE_PW_BIAS_OPERAND##LIVE); \
        } else {                                                                        \
            TTE_PWP2_CHANNELS(TTE_##FAM##2_DOT8##LIVE, TTE_##FAM##_RQ, TTE_PW_BIAS_OPERAND##LIVE); \
        }                                                                               \
    }
TTE_PW_CHANNELS2_FN(pwp, PWP)
/* pwp_channels2 over a live-bias layout (prep_bias_px) */
TTE_PW_CHANNELS2_LIVE_FN(pwp, PWP, _b)
#else
/* SMLAD on int16 lanes, mod 2**32, and SXTB16 */
static inline uint32_t pwp_smlad(uint32_t a, uint32_t b, uint32_t acc)
{
    const int32_t lo = (int32_t)(int16_t)(a & 0xFFFFu) * (int16_t)(b & 0xFFFFu);
    const int32_t hi = (int32_t)(int16_t)(a >> 16) * (int16_t)(b >> 16);
    return acc + (uint32_t)lo + (uint32_t)hi;
}
static inline uint32_t pwp_sxtb16(uint32_t w)
{
    return ((uint32_t)(int32_t)(int8_t)(w & 0xFFu) & 0xFFFFu) | (uint32_t)(int32_t)(int8_t)((w >> 16) & 0xFFu) << 16;
}
#endif

/* bytes of layout a pass of channels reads while more than four pixels follow: their second
 * and later pixels find it in the 4 KB D-cache (the pixels are widened again per pass) */
#define TTE_PWP_PASS_BYTES 3584

/* passes of channels over the layout for npx pixels */
static int32_t pwp_passes(int32_t n, int32_t m, int32_t npx)
{
    return npx > 4 ? (4 * (m / 2) * TTE_PWP_PAIR_WORDS(n) + TTE_PWP_PASS_BYTES - 1) / TTE_PWP_PASS_BYTES : 1;
}

/* prep_bias_px's passes: pwp_passes', or one where reading the whole layout again per group of
 * four pixels (a D-cache miss, about 11 cycles, per 32-byte line after the first group) costs
 * less than widening the pixels again per pass (about 6 n instructions a group): a live bias's
 * layer has no buffer of every pixel widened (prep_all_px's), and few pixels (late blocks) */
static int32_t pwp_passes_b(int32_t n, int32_t m, int32_t npx)
{
    const int32_t passes = pwp_passes(n, m, npx), groups = (npx + 3) / 4;
    const int32_t lines = (m / 2) * TTE_PWP_PAIR_WORDS(n) / 8;
    return (groups - 1) * lines * 11 < (passes - 1) * groups * 6 * n ? 1 : passes;
}

int32_t tte_conv2d_s8_pointwise_prep_all_bytes(const tte_conv2d_s8_params_t *p, int32_t npx)
{
    return pwp_passes(p->g.in_c, p->g.out_c, npx) > 1 ? (npx + 3) / 4 * 8 * p->g.in_c : 0;
}

#if defined(__ARM_FEATURE_DSP)
/* fam_widen_group: pixels i.. (up to four) widened (fam_widen2) into xw as prep_px's pass reads
 * them: one to three pixels as its two-pixel passes (pixels 0, 1 or 0, 0 in the first pair's
 * words; a third pixel as 2, 2 in the second pair's) */
#define TTE_PW_WIDEN_GROUP_FN(fam)                                                      \
    static void fam##_widen_group(uint32_t *xw, const int8_t *x, int32_t i, int32_t npx, int32_t n) \
    {                                                                                   \
        const int32_t left = npx - i;                                                   \
        const int8_t *const x0 = x + (size_t)i * n;                                     \
        fam##_widen2(xw, x0, left == 1 ? x0 : x0 + n, n);                               \
        if (left >= 4) {                                                                \
            fam##_widen2(xw + 2, x0 + 2 * n, x0 + 3 * n, n);                            \
        } else if (left == 3) {                                                         \
            fam##_widen2(xw + 2, x0 + 2 * n, x0 + 2 * n, n);                            \
        }                                                                               \
    }
TTE_PW_WIDEN_GROUP_FN(pwp)

/* One pixel (pass pixel 0), two channel pairs at a time: per group of four inputs the pixel's X
 * and Y words loaded once for four channels (TTE_PWP_GROUP's products, pixel 0's only) */
#define TTE_PWP1_GROUP TTE_PW1_GROUP(TTE_PWP_W2)
/* TTE_PWP_RQ with the channel's mult, ~shift and K read from W (post-indexed), K in xa */
#define TTE_PWP1_RQ(W, A, ADDR)                                                         \
    TTE_PW1_PARAMS(W) "asr %[" A "], %[" A "], #7\n\t" TTE_PW_RQ_K("xa", A, ADDR)
/* two channel pairs (wa, wb) of one pixel, GROUPS groups a loop pass */
#define TTE_PWP1_PAIRS(GROUPS, RQ)                                                          \
    __asm__ volatile("ldrd %[a0], %[a1], [%[wa]], #8\n\t"                               \
                     "ldrd %[a2], %[a3], [%[wb]], #8\n"                                  \
                     "1:\n\t" GROUPS                                                    \
                     "cmp %[xp], %[xend]\n\t"                                           \
                     "bne 1b\n\t" RQ("wa", "a0", "[%[y]]")                     \
                         RQ("wa", "a1", "[%[y], #1]") RQ("wb", "a2", "[%[y], #2]") \
                             RQ("wb", "a3", "[%[y], #3]")                        \
                     : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [w0] "=&r"(w0), \
                       [w1] "=&r"(w1), [xa] "=&r"(xa), [xb] "=&r"(xb), [xp] "+&r"(xp), [wa] "+&r"(wa),   \
                       [wb] "+&r"(wb)                                                     \
                     : [y] "r"(y0), [xend] "r"(xend)                                      \
                     : "cc", "memory")

/* fam_channels for pass pixel 0 alone (its output at y0): m channels, two pairs at a time
 * (TTE_<FAM>1_GROUP, TTE_<FAM>1_RQ), an odd last pair as fam_channels2's pixels 0 and 0 */
#define TTE_PW_CHANNELS1_FN(fam, FAM)                                                   \
    static TTE_NOINLINE void fam##_channels1(const uint32_t *xw, int32_t n, int32_t m, const uint32_t *wp, \
                                             int8_t *y0)                                \
    {                                                                                   \
        const int32_t pw = TTE_##FAM##_PAIR_WORDS(n);                                   \
        const uint32_t *const xend = xw + 2 * n;                                        \
        int32_t k;                                                                      \
        for (k = 0; k + 4 <= m; k += 4, wp += 2 * pw, y0 += 4) {                        \
            const uint32_t *xp = xw, *wa = wp, *wb = wp + pw;                           \
            uint32_t a0, a1, a2, a3, w0, w1, xa, xb;                                    \
            if ((n & 15) == 0) {                                                        \
                TTE_PWP1_PAIRS(TTE_##FAM##1_GROUP TTE_##FAM##1_GROUP TTE_##FAM##1_GROUP \
                                   TTE_##FAM##1_GROUP,                                  \
                               TTE_##FAM##1_RQ);                                        \
            } else {                                                                    \
                TTE_PWP1_PAIRS(TTE_##FAM##1_GROUP TTE_##FAM##1_GROUP, TTE_##FAM##1_RQ); \
            }                                                                           \
        }                                                                               \
        if (k < m) {                                                                    \
            fam##_channels2(xw, n, 2, wp, y0, 0);                                       \
        }                                                                               \
    }
TTE_PW_CHANNELS1_FN(pwp, PWP)

/* fam_run_group: channel pairs from wp (nc of them) over the group of pixels i.. that
 * fam_widen_group widened */
#define TTE_PW_RUN_GROUP_FN(fam)                                                        \
    static void fam##_run_group(const uint32_t *xw, int32_t n, int32_t m, int32_t nc, const uint32_t *wp, \
                                int8_t *yc, int32_t i, int32_t npx)                     \
    {                                                                                   \
        const int32_t left = npx - i;                                                   \
        if (left >= 4) {                                                                \
            fam##_channels(xw, n, 2 * nc, wp, yc + (size_t)i * m, m);                   \
            return;                                                                     \
        }                                                                               \
        if (left == 1) {                                                                \
            fam##_channels1(xw, n, 2 * nc, wp, yc + (size_t)i * m);                     \
            return;                                                                     \
        }                                                                               \
        fam##_channels2(xw, n, 2 * nc, wp, yc + (size_t)i * m, m);                      \
        if (left == 3) {                                                                \
            fam##_channels2(xw + 2, n, 2 * nc, wp, yc + (size_t)(i + 2) * m, 0);        \
        }                                                                               \
    }
TTE_PW_RUN_GROUP_FN(pwp)
#endif

/* NAME: ONE_PX (each pass of channels a group of pixels at a time) for the layout of fam and
 * FAM, but where it takes several passes, every pixel widened into buf once (fam_widen_group)
 * and each pass over all of them. buf holds every pixel only where pw_layout would take several
 * passes (tte_conv2d_s8_pointwise_prep_all_bytes): BUF_BY_PWP 1 for a layout whose passes can
 * outnumber pw_layout's (the doubled one), so that it falls back to ONE_PX there too. */
#if defined(__ARM_FEATURE_DSP)
#define TTE_PW_ALL_PX_FN(NAME, ONE_PX, fam, FAM, BUF_BY_PWP)                       \
    void NAME(const tte_conv2d_s8_params_t *p, const int8_t *x, int32_t npx, const uint32_t *prep, int8_t *y, \
              int16_t *buf)                                                             \
    {                                                                                   \
        const int32_t n = p->g.in_c, m = p->g.out_c, pairs = m / 2, pw = TTE_##FAM##_PAIR_WORDS(n); \
        const int32_t passes = fam##_passes(n, m, npx), per = (pairs + passes - 1) / passes; \
        uint32_t *const xw = (uint32_t *)(void *)buf;                                   \
        int32_t i, c0;                                                                  \
        if (passes == 1 || (BUF_BY_PWP && pwp_passes(n, m, npx) == 1)) {                \
            ONE_PX(p, x, npx, prep, y, buf);                                            \
            return;                                                                     \
        }                                                                               \
        for (i = 0; i < npx; i += 4) {                                                  \
            fam##_widen_group(xw + (size_t)i / 4 * 2 * n, x, i, npx, n);                \
        }                                                                               \
        for (c0 = 0; c0 < pairs; c0 += per) {                                           \
            const int32_t nc = pairs - c0 < per ? pairs - c0 : per;                     \
            for (i = 0; i < npx; i += 4) {                                              \
                fam##_run_group(xw + (size_t)i / 4 * 2 * n, n, m, nc, prep + (size_t)c0 * pw, y + 2 * c0, i, \
                                npx);                                                   \
            }                                                                           \
        }                                                                               \
    }
#else
#define TTE_PW_ALL_PX_FN(NAME, ONE_PX, fam, FAM, BUF_BY_PWP)                       \
    void NAME(const tte_conv2d_s8_params_t *p, const int8_t *x, int32_t npx, const uint32_t *prep, int8_t *y, \
              int16_t *buf)                                                             \
    {                                                                                   \
        ONE_PX(p, x, npx, prep, y, buf);                                                \
    }
#endif
TTE_PW_ALL_PX_FN(tte_conv2d_s8_pointwise_prep_all_px, tte_conv2d_s8_pointwise_prep_px, pwp, PWP, 0)

/* The body of prep_px (LIVE nothing) and of prep_bias_px (LIVE _b: the pairs' live biases given
 * to the _b kernels, or added to the portable sums), one group of up to four pixels at a time:
 * past the last pixel, pixels (0, 0, 0, 0), (0, 1, 0, 1), (0, 1, 1, 2) of the rest, so that
 * pass pixels 1 and 3 stay one pixel after 0 and 2 */
#define TTE_PWP_PREP_PX_FN(NAME, LIVE)                                                  \
    void NAME(const tte_conv2d_s8_params_t *p, const int8_t *x, int32_t npx,            \
              const uint32_t *prep TTE_PW_BIAS_PARAM##LIVE, int8_t *y, int16_t *buf)    \
    {                                                                                   \
        const int32_t n = p->g.in_c, m = p->g.out_c, pairs = m / 2, pw = TTE_PWP_PAIR_WORDS(n); \
        uint32_t *const xw = (uint32_t *)(void *)buf;                                   \
        const int32_t passes = pwp_passes##LIVE(n, m, npx);                             \
        const int32_t per = (pairs + passes - 1) / passes;                              \
        int32_t i, c0;                                                                  \
        for (c0 = 0; c0 < pairs; c0 += per) {                                           \
            const int32_t nc = pairs - c0 < per ? pairs - c0 : per;                     \
            const uint32_t *const wp = prep + (size_t)c0 * pw;                          \
            for (i = 0; i < npx; i += 4) {                                              \
                const int32_t left = npx - i;                                           \
                const int32_t s = left == 1 ? 0 : m;                                    \
                const int32_t p2 = left >= 4 ? 2 : left - 2 > 0 ? left - 2 : 0;         \
                const int32_t px[4] = {i, i + (s != 0), i + p2, i + p2 + (s != 0)};     \
                int8_t *const yc = y + 2 * c0;                                          \
                pwp_widen2(xw, x + (size_t)px[0] * n, x + (size_t)px[1] * n, n);        \
                TTE_PWP_PREP_GROUP(LIVE)                                                \
            }                                                                           \
        }                                                                               \
    }
/* the bias argument of the _b kernels: the pass's first pair's live biases */
#define TTE_PW_BIAS_ARG
#define TTE_PW_BIAS_ARG_b , bias + 2 * c0
#if defined(__ARM_FEATURE_DSP)
/* one to three pixels: two-pixel passes (pixels 0, 1 or 0, 0; then 2, 2) */
#define TTE_PWP_PREP_GROUP(LIVE)                                                        \
    if (left < 4) {                                                                     \
        pwp_channels2##LIVE(xw, n, 2 * nc, wp TTE_PW_BIAS_ARG##LIVE, yc + (size_t)i * m, s); \
        if (left == 3) {                                                                \
            pwp_widen2(xw, x + (size_t)(i + 2) * n, x + (size_t)(i + 2) * n, n);        \
            pwp_channels2##LIVE(xw, n, 2 * nc, wp TTE_PW_BIAS_ARG##LIVE, yc + (size_t)(i + 2) * m, 0); \
        }                                                                               \
        continue;                                                                       \
    }                                                                                   \
    pwp_widen2(xw + 2, x + (size_t)px[2] * n, x + (size_t)px[3] * n, n);                \
    pwp_channels##LIVE(xw, n, 2 * nc, wp TTE_PW_BIAS_ARG##LIVE, yc + (size_t)i * m, s);
#else
/* 256 times a live bias added to the layout's (bias 0) */
#define TTE_PW_BIAS_ADD
#define TTE_PW_BIAS_ADD_b +((uint32_t)bias[2 * c0 + oc + j] << 8)
/* the portable sums, from the layout's multiplier and ~shift (a constant channel's stand-in) */
#define TTE_PWP_PREP_GROUP(LIVE)                                                        \
    pwp_widen2(xw + 2, x + (size_t)px[2] * n, x + (size_t)px[3] * n, n);                \
    {                                                                                   \
        int32_t oc, g, q, j;                                                            \
        for (oc = 0; oc < 2 * nc; oc += 2) {                                            \
            const uint32_t *const wq = wp + (size_t)(oc / 2) * pw;                      \
            for (j = 0; j < 2; ++j) {                                                   \
                for (q = 0; q < 4; ++q) {                                               \
                    uint32_t acc = wq[j] TTE_PW_BIAS_ADD##LIVE;                         \
                    for (g = 0; g < n / 4; ++g) {                                       \
                        const uint32_t w = wq[2 + 2 * g + j];                           \
                        acc = pwp_smlad(xw[8 * g + 4 + q], pwp_sxtb16(w), pwp_smlad(xw[8 * g + q], w, acc)); \
                    }                                                                   \
                    const int32_t mu = (int32_t)wq[2 + n / 2 + 3 * j], sh = ~(int32_t)wq[3 + n / 2 + 3 * j]; \
                    yc[(size_t)px[q] * m + oc + j] =                                    \
                        (int8_t)tte_rq_exact((int32_t)acc >> 8, mu, sh, p->out_zp, -128, 127); \
                }                                                                       \
            }                                                                           \
        }                                                                               \
    }
#endif
TTE_PWP_PREP_PX_FN(tte_conv2d_s8_pointwise_prep_px, )
TTE_PWP_PREP_PX_FN(tte_conv2d_s8_pointwise_prep_bias_px, _b)

int32_t tte_pointwise_bias_fits(const int32_t *bias, int32_t m, int32_t limit)
{
    int32_t c;
    for (c = 0; c < m; ++c) {
        if (bias[c] > limit || bias[c] < -limit) {
            return 0;
        }
    }
    return 1;
}

/* ---- the doubled layout (tte.compiler.emit.block.pwd_layout), where the flash has room ----
 *
 * pw_layout's form with the weights as doubled int16 lanes: per pair of output channels their
 * doubled biases 2 (bias - in_zp sum(w)) mod 2**32, per four inputs b0..b3 the words (2 b0,
 * 2 b2) of both channels, then (2 b1, 2 b3) of both, then the same output stage words. Against
 * the raw inputs widened once per pixel as (x0, x2) and (x1, x3), two SMLAD give the doubled sum
 * tte_rq_fast_s8 starts with (mod 2**32 on the way, exact at the end within pw_layout's 24
 * bits): no SXTB16 per weight word (22 instructions per 32 products where pw_layout takes 23)
 * and no shift in the output stage, for twice the weight bytes. */
#define TTE_PWD_PAIR_WORDS(n) (8 + (n))

/* two pixels' words for inputs 4 g .. 4 g + 3: (x0, x2) at d[8 g], d[8 g + 1], (x1, x3) at
 * d[8 g + 4], d[8 g + 5] (pixel x0, then x1; n a multiple of 8) */
static TTE_ALWAYS_INLINE void pwd_widen2(uint32_t *d, const int8_t *x0, const int8_t *x1, int32_t n)
{
#if defined(__ARM_FEATURE_DSP)
#define TTE_PWD_WIDEN                                                                   \
    "ldr %[u0], [%[x0]], #4\n\t"                                                       \
    "ldr %[u1], [%[x1]], #4\n\t"                                                       \
    "sxtb16 %[X0], %[u0]\n\t"                                                          \
    "sxtb16 %[X1], %[u1]\n\t"                                                          \
    "sxtb16 %[u0], %[u0], ror #8\n\t"                                                  \
    "sxtb16 %[u1], %[u1], ror #8\n\t"                                                  \
    "strd %[u0], %[u1], [%[d], #16]\n\t"                                               \
    "strd %[X0], %[X1], [%[d]], #32\n\t"
    const int8_t *const end = x0 + n;
    uint32_t u0, u1, X0, X1;
    TTE_PW_WIDEN_LOOP(TTE_PWD_WIDEN, [end] "r"(end));
#else
    int32_t g;
    for (g = 0; g < n; g += 4, d += 8) {
        const int8_t *v0 = x0 + g, *v1 = x1 + g;
        d[0] = ((uint32_t)(int32_t)v0[0] & 0xFFFFu) | (uint32_t)(int32_t)v0[2] << 16;
        d[1] = ((uint32_t)(int32_t)v1[0] & 0xFFFFu) | (uint32_t)(int32_t)v1[2] << 16;
        d[4] = ((uint32_t)(int32_t)v0[1] & 0xFFFFu) | (uint32_t)(int32_t)v0[3] << 16;
        d[5] = ((uint32_t)(int32_t)v1[1] & 0xFFFFu) | (uint32_t)(int32_t)v1[3] << 16;
    }
#endif
}

/* passes of channels over the doubled layout for npx pixels (as pwp_passes) */
static int32_t pwd_passes(int32_t n, int32_t m, int32_t npx)
{
    return npx > 4 ? (4 * (m / 2) * TTE_PWD_PAIR_WORDS(n) + TTE_PWP_PASS_BYTES - 1) / TTE_PWP_PASS_BYTES : 1;
}

/* the D-cache's bytes (the F746's L1): a pass of more layout than this reads every line from
 * flash again for each group of pixels after the first (LRU over a stream larger than the cache) */
#define TTE_PWD_CACHE_BYTES 4096

/* channel pairs per pass of the doubled layout: pwd_passes' share, at most the even number of
 * pairs the D-cache holds (pwd_channels1 takes two pairs at a time, an odd last one as two
 * pixels), so that 256 inputs (1,056 bytes a pair) take two pairs a pass where pwd_passes'
 * share of four would leave none of a pass's lines for its next group */
static int32_t pwd_per_pass(int32_t n, int32_t m, int32_t npx)
{
    const int32_t pairs = m / 2, passes = pwd_passes(n, m, npx), per = (pairs + passes - 1) / passes;
    const int32_t fit = TTE_PWD_CACHE_BYTES / (4 * TTE_PWD_PAIR_WORDS(n));
    return npx > 4 && per > fit ? (fit > 1 ? fit & ~1 : 1) : per;
}

#if defined(__ARM_FEATURE_DSP)
/* TTE_PWP_GROUP with the second weight words loaded where it sign-extends the first */
#define TTE_PWD_GROUP TTE_PW_GROUP(TTE_PWD_W2)
/* TTE_PWP_FIRST's order, the same change */
#define TTE_PWD_FIRST TTE_PW_FIRST(TTE_PWD_W2)
/* TTE_PWP_RQ on the doubled sum itself (no shift first) */
#define TTE_PWD_RQ(A, ADDR) TTE_PW_RQ_K("xp", A, ADDR)
#define TTE_PWD_GROUP_BYTES 88 /* 22 instructions of 32 bits */
#define TTE_PWD_G4 TTE_PWD_GROUP TTE_PWD_GROUP TTE_PWD_GROUP TTE_PWD_GROUP
#define TTE_PWD_G16 TTE_PWD_G4 TTE_PWD_G4 TTE_PWD_G4 TTE_PWD_G4
#define TTE_PWD_DOT32 TTE_PWD_FIRST TTE_PWD_GROUP TTE_PWD_GROUP TTE_PWD_GROUP TTE_PWD_G4
#define TTE_PWD_DOT64 TTE_PWD_FIRST TTE_PWD_GROUP TTE_PWD_GROUP TTE_PWD_GROUP TTE_PWD_G4 TTE_PWD_G4 TTE_PWD_G4
#define TTE_PWD_DOT128 TTE_PWD_DOT64 TTE_PWD_G16
#define TTE_PWD_DOTN                                                                    \
    TTE_PWD_FIRST TTE_PWD_GROUP                                                         \
    "ldr %[w0], %[entry]\n\t"                                                          \
    "bx %[w0]\n"                                                                        \
    "1:\n\t" TTE_PWD_G16                                                                \
    "5:\n\t"                                                                            \
    "ldr %[w0], %[xend]\n\t"                                                            \
    "cmp %[xp], %[w0]\n\t"                                                              \
    "bne 1b\n\t"

#define TTE_PWD2_GROUP TTE_PW2_GROUP(TTE_PWD_W2)
#define TTE_PWD2_FIRST TTE_PW2_FIRST(TTE_PWD_W2)
#define TTE_PWD2_DOT16                                                                  \
    TTE_PWP2_LOOP(TTE_PWD2_FIRST TTE_PWD2_GROUP TTE_PWD2_GROUP TTE_PWD2_GROUP,          \
                  TTE_PWD2_GROUP TTE_PWD2_GROUP TTE_PWD2_GROUP TTE_PWD2_GROUP)
#define TTE_PWD2_DOT8 TTE_PWP2_LOOP(TTE_PWD2_FIRST TTE_PWD2_GROUP, TTE_PWD2_GROUP TTE_PWD2_GROUP)
#define TTE_PWD2_G4 TTE_PWD2_GROUP TTE_PWD2_GROUP TTE_PWD2_GROUP TTE_PWD2_GROUP
#define TTE_PWD2_DOT32 TTE_PWD2_FIRST TTE_PWD2_GROUP TTE_PWD2_GROUP TTE_PWD2_GROUP TTE_PWD2_G4
#define TTE_PWD2_DOT64 TTE_PWD2_FIRST TTE_PWD2_GROUP TTE_PWD2_GROUP TTE_PWD2_GROUP TTE_PWD2_G4 TTE_PWD2_G4 TTE_PWD2_G4
#define TTE_PWD2_DOT128 TTE_PWD2_DOT64 TTE_PWD2_G4 TTE_PWD2_G4 TTE_PWD2_G4 TTE_PWD2_G4

/* pwp_channels2 over the doubled layout */
TTE_PW_CHANNELS2_FN(pwd, PWD)

#define TTE_PWD1_GROUP TTE_PW1_GROUP(TTE_PWD_W2)
#define TTE_PWD1_RQ(W, A, ADDR) TTE_PW1_PARAMS(W) TTE_PW_RQ_K("xa", A, ADDR)

/* pwp_channels1 over the doubled layout */
TTE_PW_CHANNELS1_FN(pwd, PWD)

/* pwp_widen_group's pixels, widened for the doubled layout */
TTE_PW_WIDEN_GROUP_FN(pwd)

/* fam_groups: fam_channels over `groups` whole groups of four pixels in one call, nc channel
 * pairs from wp0, group g's outputs of pixel 0 at y + 4 m g: group g's widened words at
 * wide + 2 n g (prep_all_px's buffer of every pixel), or where wide is NULL each group widened
 * from x (4 n bytes on a group) into buf first. One prologue a pass where a call of
 * fam_run_group and one of fam_channels per group took about 60 cycles more. */
#define TTE_PW_GROUPS_FN(fam, FAM)                                                      \
    static TTE_NOINLINE void fam##_groups(const int8_t *x, uint32_t *buf, const uint32_t *wide, int32_t n, int32_t m, \
                                          int32_t nc, const uint32_t *wp0, int8_t *y, int32_t groups) \
    {                                                                                   \
        const int32_t rest = n / 4 - 2;                                                 \
        const int32_t part = rest % TTE_PWP_BODY_GROUPS ? rest % TTE_PWP_BODY_GROUPS : TTE_PWP_BODY_GROUPS; \
        pwp_ctx_t c;                                                                    \
        uint32_t a00, a01, a10, a11, a20, a21, a30, a31, w0, w1, xa, xb;                \
        const uint32_t *xp, *wp;                                                        \
        int32_t g;                                                                      \
        c.wend = wp0 + (size_t)nc * (size_t)(TTE_##FAM##_PAIR_WORDS(n));                \
        c.s = m;                                                                        \
        for (g = 0; g < groups; ++g, y += 4 * m) {                                      \
            const uint32_t *const xg = wide ? wide + (size_t)g * 2 * (size_t)n : buf;    \
            if (!wide) {                                                                \
                fam##_widen2(buf, x, x + n, n);                                         \
                fam##_widen2(buf + 2, x + 2 * n, x + 3 * n, n);                         \
                x += 4 * n;                                                             \
            }                                                                           \
            c.buf = xg;                                                                 \
            c.xend = xg + 2 * n;                                                        \
            c.ym1 = (uintptr_t)y - 1u;                                                  \
            wp = wp0;                                                                   \
            TTE_PW_FIXED_N(FAM) {                                                       \
                c.entry = (uint32_t)part * TTE_##FAM##_GROUP_BYTES;                     \
                TTE_PWP_CHANNELS(TTE_PWP_ENTRY, TTE_##FAM##_DOTN, TTE_##FAM##_RQ, );    \
            }                                                                           \
        }                                                                               \
    }

/* pwp_channels over the doubled layout, whole groups of four pixels a call */
TTE_PW_GROUPS_FN(pwd, PWD)

/* pwp_channels over the doubled layout: one group (pwd_groups once) */
static TTE_ALWAYS_INLINE void pwd_channels(const uint32_t *xw, int32_t n, int32_t m, const uint32_t *wp, int8_t *y0,
                                           int32_t s)
{
    pwd_groups(NULL, NULL, xw, n, s, m / 2, wp, y0, 1);
}

/* pwp_run_group over the doubled layout */
TTE_PW_RUN_GROUP_FN(pwd)

/* The doubled layout's kernels for an output zero point of -128 (pwz, prepz_px and
 * prepz_all_px): the output stage without [sum < 0], SMMLAR adding K itself. A sum below 0
 * gives at most what a sum of 0 gives, out_zp, with and without it (every step after the
 * product is monotone), and the clamp at -128 = out_zp makes both -128. */
#define TTE_PW_RQ_Z(K, A, ADDR)                                                         \
    "smmlar %[" A "], %[" A "], %[w0], %[" K "]\n\t"                                    \
    "asr %[" A "], %[" A "], %[w1]\n\t"                                                 \
    "ssat %[" A "], #8, %[" A "], asr #1\n\t"                                           \
    "strb %[" A "], " ADDR "\n\t"
#define TTE_PWZ_RQ(A, ADDR) TTE_PW_RQ_Z("xp", A, ADDR)
#define TTE_PWZ1_RQ(W, A, ADDR) TTE_PW1_PARAMS(W) TTE_PW_RQ_Z("xa", A, ADDR)
#define TTE_PWZ_PAIR_WORDS TTE_PWD_PAIR_WORDS
#define TTE_PWZ_GROUP_BYTES TTE_PWD_GROUP_BYTES
#define TTE_PWZ_DOTN TTE_PWD_DOTN
#define TTE_PWZ_DOT32 TTE_PWD_DOT32
#define TTE_PWZ_DOT64 TTE_PWD_DOT64
#define TTE_PWZ_DOT128 TTE_PWD_DOT128
#define TTE_PWZ2_DOT8 TTE_PWD2_DOT8
#define TTE_PWZ2_DOT16 TTE_PWD2_DOT16
#define TTE_PWZ2_DOT32 TTE_PWD2_DOT32
#define TTE_PWZ2_DOT64 TTE_PWD2_DOT64
#define TTE_PWZ2_DOT128 TTE_PWD2_DOT128
#define TTE_PWZ1_GROUP TTE_PWD1_GROUP
/* the doubled layout's widening (the families differ in their output stage alone) */
#define pwz_widen2 pwd_widen2
#define pwz_widen_group pwd_widen_group
TTE_PW_CHANNELS2_FN(pwz, PWZ)
TTE_PW_CHANNELS1_FN(pwz, PWZ)
TTE_PW_GROUPS_FN(pwz, PWZ)

static TTE_ALWAYS_INLINE void pwz_channels(const uint32_t *xw, int32_t n, int32_t m, const uint32_t *wp, int8_t *y0,
                                           int32_t s)
{
    pwz_groups(NULL, NULL, xw, n, s, m / 2, wp, y0, 1);
}

TTE_PW_RUN_GROUP_FN(pwz)
#else
/* the portable sums of channel pair wq's channel j over the widened pixels xw (pass pixel q) */
static int32_t pwd_sum(const uint32_t *wq, const uint32_t *xw, int32_t n, int32_t j, int32_t q)
{
    uint32_t acc = wq[j];
    int32_t g;
    for (g = 0; g < n / 4; ++g) {
        acc = pwp_smlad(xw[8 * g + 4 + q], wq[4 + 4 * g + j], pwp_smlad(xw[8 * g + q], wq[2 + 4 * g + j], acc));
    }
    return (int32_t)acc;
}
#endif

/* prepd_px, its output stage pwz's where z (an output zero point of -128) */
static TTE_ALWAYS_INLINE void prepd_px(const tte_conv2d_s8_params_t *p, const int8_t *x, int32_t npx,
                                       const uint32_t *prep, int8_t *y, int16_t *buf, int32_t z)
{
    const int32_t n = p->g.in_c, m = p->g.out_c, pairs = m / 2, pw = TTE_PWD_PAIR_WORDS(n);
    uint32_t *const xw = (uint32_t *)(void *)buf;
    const int32_t per = pwd_per_pass(n, m, npx);
    int32_t c0;
    for (c0 = 0; c0 < pairs; c0 += per) {
        const int32_t nc = pairs - c0 < per ? pairs - c0 : per;
        const uint32_t *const wp = prep + (size_t)c0 * pw;
#if defined(__ARM_FEATURE_DSP)
        /* the whole groups of four pixels in one call, then the last one to three */
        const int32_t whole = npx / 4;
        if (whole > 0) {
            (z ? pwz_groups : pwd_groups)(x, xw, NULL, n, m, nc, wp, y + 2 * c0, whole);
        }
        if (4 * whole < npx) {
            pwd_widen_group(xw, x, 4 * whole, npx, n);
            (z ? pwz_run_group : pwd_run_group)(xw, n, m, nc, wp, y + 2 * c0, 4 * whole, npx);
        }
#else
        int32_t i;
        (void)z;
        for (i = 0; i < npx; i += 4) {
            const int32_t left = npx - i < 4 ? npx - i : 4;
            int32_t oc, j, q;
            pwd_widen2(xw, x + (size_t)i * n, x + (size_t)(i + (left > 1)) * n, n);
            pwd_widen2(xw + 2, x + (size_t)(i + (left > 2 ? 2 : 0)) * n, x + (size_t)(i + (left > 3 ? 3 : 0)) * n, n);
            for (oc = 0; oc < 2 * nc; oc += 2) {
                const uint32_t *const wq = wp + (size_t)(oc / 2) * pw;
                for (j = 0; j < 2; ++j) {
                    /* the layout's multiplier and ~shift (a constant channel's stand-in) */
                    const int32_t mu = (int32_t)wq[2 + n + 3 * j], sh = ~(int32_t)wq[3 + n + 3 * j];
                    for (q = 0; q < left; ++q) {
                        y[(size_t)(i + q) * m + 2 * c0 + oc + j] =
                            (int8_t)tte_rq_exact(pwd_sum(wq, xw, n, j, q) / 2, mu, sh, p->out_zp, -128, 127);
                    }
                }
            }
        }
#endif
    }
}

/* NAME: BODY (prepd_px or prepd_all_px) with z = Z, a kernel a block's params can name */
#define TTE_PW_DOUBLED_ENTRY(NAME, BODY, Z)                                             \
    void NAME(const tte_conv2d_s8_params_t *p, const int8_t *x, int32_t npx, const uint32_t *prep, int8_t *y, \
              int16_t *buf)                                                             \
    {                                                                                   \
        BODY(p, x, npx, prep, y, buf, Z);                                               \
    }
TTE_PW_DOUBLED_ENTRY(tte_conv2d_s8_pointwise_prepd_px, prepd_px, 0)
TTE_PW_DOUBLED_ENTRY(tte_conv2d_s8_pointwise_prepz_px, prepd_px, 1)

/* prepd_px where pw_layout's form takes several passes (its buffer, prep_all_bytes, holds every
 * pixel): every pixel widened into buf once, then each pass over all of them, the whole groups
 * of four in one call (pwd_groups; pwz's where z) */
static TTE_ALWAYS_INLINE void prepd_all_px(const tte_conv2d_s8_params_t *p, const int8_t *x, int32_t npx,
                                           const uint32_t *prep, int8_t *y, int16_t *buf, int32_t z)
{
#if defined(__ARM_FEATURE_DSP)
    const int32_t n = p->g.in_c, m = p->g.out_c, pairs = m / 2, pw = TTE_PWD_PAIR_WORDS(n);
    const int32_t per = pwd_per_pass(n, m, npx), whole = npx / 4;
    uint32_t *const xw = (uint32_t *)(void *)buf;
    int32_t i, c0;
    if (per >= pairs || pwp_passes(n, m, npx) == 1) {
        prepd_px(p, x, npx, prep, y, buf, z);
        return;
    }
    for (i = 0; i < npx; i += 4) {
        pwd_widen_group(xw + (size_t)i / 4 * 2 * n, x, i, npx, n);
    }
    for (c0 = 0; c0 < pairs; c0 += per) {
        const int32_t nc = pairs - c0 < per ? pairs - c0 : per;
        const uint32_t *const wp = prep + (size_t)c0 * pw;
        if (whole > 0) {
            (z ? pwz_groups : pwd_groups)(NULL, NULL, xw, n, m, nc, wp, y + 2 * c0, whole);
        }
        if (4 * whole < npx) {
            (z ? pwz_run_group : pwd_run_group)(xw + (size_t)whole * 2 * n, n, m, nc, wp, y + 2 * c0, 4 * whole,
                                                npx);
        }
    }
#else
    prepd_px(p, x, npx, prep, y, buf, z);
#endif
}

TTE_PW_DOUBLED_ENTRY(tte_conv2d_s8_pointwise_prepd_all_px, prepd_all_px, 0)
TTE_PW_DOUBLED_ENTRY(tte_conv2d_s8_pointwise_prepz_all_px, prepd_all_px, 1)

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

#if defined(__ARM_FEATURE_DSP)
/* pw_gather two pixels at a time when most channels of the two parts are whole eights:
 * each pixel pair's x - zp gathered once into the widened, interleaved layout of win_fill
 * (part a, then part b), then every pair of output channels over it with win_dot22 (each
 * weight word unpacked once for both pixels; 16 instructions a word of two pixels and two
 * channels where TTE_DOT4 took 28 for one pixel and four; a part's last channels past a
 * multiple of eight in C). An odd last pixel, an odd last channel: pw_gather's loops and
 * the portable sum. */
TTE_HOT static TTE_NOINLINE void pw_gather_pairs(const tte_conv2d_s8_params_t *p, const rq_t *rp, const int8_t *x,
                                                 int32_t npx, const int32_t *ia, int32_t na, const int8_t *wa,
                                                 const int32_t *ib, int32_t nb, const int8_t *wb,
                                                 const int32_t *bias, int8_t *y)
{
    const rq_t rl = *rp;
    const rq_t *const r = &rl;
    const int32_t n = p->g.in_c, m = p->g.out_c, zp = p->in_zp, na8 = na & ~7, nb8 = nb & ~7;
    /* part a in whole groups of four values (win_index's), then part b */
    int16_t buf[2 * TTE_GATHER_MAX + 8] __attribute__((aligned(8)));
    int16_t *const bb = buf + 2 * ((na + 3) & ~3);
    int32_t i, j, oc;
    for (i = 0; i + 1 < npx; i += 2) {
        const int8_t *x0 = x + (size_t)i * n, *x1 = x0 + n;
        int8_t *y0 = y + (size_t)i * m;
        for (j = 0; j < na; ++j) {
            const int32_t o = ia[j];
            buf[win_index(j, 0)] = (int16_t)(x0[o] - zp);
            buf[win_index(j, 1)] = (int16_t)(x1[o] - zp);
        }
        for (j = 0; j < nb; ++j) {
            const int32_t o = ib[j];
            bb[win_index(j, 0)] = (int16_t)(x0[o] - zp);
            bb[win_index(j, 1)] = (int16_t)(x1[o] - zp);
        }
        for (oc = 0; oc + 1 < m; oc += 2) {
            const int32_t b0 = bias ? bias[oc] : 0, b1 = bias ? bias[oc + 1] : 0;
            int32_t a[4];
            a[0] = a[1] = b0;
            a[2] = a[3] = b1;
            if (na8 > 0) {
                win_dot22(buf, wa + (size_t)oc * na, na, na8, a);
            }
            if (nb8 > 0) {
                win_dot22(bb, wb + (size_t)oc * nb, nb, nb8, a);
            }
            for (j = na8; j < na; ++j) {
                const int32_t w0 = wa[(size_t)oc * na + j], w1 = wa[(size_t)(oc + 1) * na + j];
                const int32_t v0 = buf[win_index(j, 0)], v1 = buf[win_index(j, 1)];
                a[0] += v0 * w0;
                a[1] += v1 * w0;
                a[2] += v0 * w1;
                a[3] += v1 * w1;
            }
            for (j = nb8; j < nb; ++j) {
                const int32_t w0 = wb[(size_t)oc * nb + j], w1 = wb[(size_t)(oc + 1) * nb + j];
                const int32_t v0 = bb[win_index(j, 0)], v1 = bb[win_index(j, 1)];
                a[0] += v0 * w0;
                a[1] += v1 * w0;
                a[2] += v0 * w1;
                a[3] += v1 * w1;
            }
            if (r->mode == 2) {
                const int32_t m0 = r->mult[oc], s0 = r->shift[oc], m1 = r->mult[oc + 1], s1 = r->shift[oc + 1];
                y0[oc] = (int8_t)tte_rq_fast_s8(a[0], m0, s0, r->zp2);
                y0[m + oc] = (int8_t)tte_rq_fast_s8(a[1], m0, s0, r->zp2);
                y0[oc + 1] = (int8_t)tte_rq_fast_s8(a[2], m1, s1, r->zp2);
                y0[m + oc + 1] = (int8_t)tte_rq_fast_s8(a[3], m1, s1, r->zp2);
            } else {
                y0[oc] = rq(r, a[0], oc);
                y0[m + oc] = rq(r, a[1], oc);
                y0[oc + 1] = rq(r, a[2], oc + 1);
                y0[m + oc + 1] = rq(r, a[3], oc + 1);
            }
        }
        if (oc < m) {
            int32_t a0 = bias ? bias[oc] : 0, a1 = a0;
            for (j = 0; j < na; ++j) {
                a0 += buf[win_index(j, 0)] * (int32_t)wa[(size_t)oc * na + j];
                a1 += buf[win_index(j, 1)] * (int32_t)wa[(size_t)oc * na + j];
            }
            for (j = 0; j < nb; ++j) {
                a0 += bb[win_index(j, 0)] * (int32_t)wb[(size_t)oc * nb + j];
                a1 += bb[win_index(j, 1)] * (int32_t)wb[(size_t)oc * nb + j];
            }
            y0[oc] = rq(r, a0, oc);
            y0[m + oc] = rq(r, a1, oc);
        }
    }
    if (i < npx) {
        pw_gather(p, r, x + (size_t)i * n, 1, ia, na, wa, ib, nb, wb, bias, y + (size_t)i * m);
    }
}
#endif

#if defined(__ARM_FEATURE_DSP)
/* the most gathered input channels (each part rounded up to a multiple of four) pw_gather_quad
 * takes: four pixels of int16 x - zp, 768 bytes of stack (pw_gather_pairs' 528 and 240 more) */
#define TTE_GATHER_QUAD_MAX 96

/* a[q] += the sums over `words` (>= 1) weight words at wp (unaligned) of pixel q; xp advanced */
static TTE_ALWAYS_INLINE const uint32_t *gq_dot(const uint32_t *xp, const int8_t *wp, int32_t words, int32_t a[4])
{
    int32_t a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
    uint32_t w, we, e, o;
    /* an odd word first, then two a pass */
    __asm__ volatile("tst %[k], #1\n\t"
                     "beq 1f\n\t" TTE_WIN4_WORD
                     "subs %[k], %[k], #1\n\t"
                     "beq 2f\n"
                     "1:\n\t" TTE_WIN4_WORD TTE_WIN4_WORD
                     "subs %[k], %[k], #2\n\t"
                     "bne 1b\n"
                     "2:"
                     : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [xp] "+r"(xp), [wp] "+r"(wp),
                       [k] "+r"(words), [w] "=&r"(w), [we] "=&r"(we), [e] "=&r"(e), [o] "=&r"(o)
                     :
                     : "cc", "memory");
    a[0] = a0;
    a[1] = a1;
    a[2] = a2;
    a[3] = a3;
    return xp;
}

/* Pixel q's word u of gq_gather_words widened into its two words at d (8-byte aligned: one STRD
 * at an immediate offset) */
#define gq_put(d, q, u, nz)                                                             \
    do {                                                                                \
        const uint32_t u_ = (u);                                                        \
        __asm__ volatile("strd %1, %2, [%0, #" #q " * 8]"                               \
                         :                                                              \
                         : "r"(d), "r"(tte_sxtab16(nz, u_)), "r"(tte_sxtab16_ror8(nz, u_)) \
                         : "memory");                                                   \
    } while (0)

/* words whole words (four values each, input channels idx[4 j] .. idx[4 j + 3]) of four pixels
 * (x0 on, n bytes apart) into pw_gather_quad's buffer at d: pixel q's word j the bytes packed as
 * one word, x - zp widened by SXTAB16 (bytes 0 2) and SXTAB16 ROR 8 (bytes 1 3) against nz,
 * the halfwords of value 0 2 1 3 */
static TTE_ALWAYS_INLINE void gq_gather_words(const int8_t *x0, int32_t n, const int32_t *idx, int32_t words,
                                              int16_t *d, uint32_t nz)
{
    const uint8_t *const x1 = (const uint8_t *)x0, *const x2 = x1 + n, *const x3 = x2 + n, *const x4 = x3 + n;
    int32_t j;
    for (j = 0; j < words; ++j, idx += 4, d += 16) {
        const int32_t i0 = idx[0], i1 = idx[1], i2 = idx[2], i3 = idx[3];
        gq_put(d, 0, x1[i0] | (uint32_t)x1[i1] << 8 | (uint32_t)x1[i2] << 16 | (uint32_t)x1[i3] << 24, nz);
        gq_put(d, 1, x2[i0] | (uint32_t)x2[i1] << 8 | (uint32_t)x2[i2] << 16 | (uint32_t)x2[i3] << 24, nz);
        gq_put(d, 2, x3[i0] | (uint32_t)x3[i1] << 8 | (uint32_t)x3[i2] << 16 | (uint32_t)x3[i3] << 24, nz);
        gq_put(d, 3, x4[i0] | (uint32_t)x4[i1] << 8 | (uint32_t)x4[i2] << 16 | (uint32_t)x4[i3] << 24, nz);
    }
}

/* pw_gather four pixels a pass where both parts, each rounded up to a multiple of four, fit
 * TTE_GATHER_QUAD_MAX: each group of four pixels' x - zp gathered once (part a, then part b, each
 * padded with zeros to whole words), then every output channel over it, each weight word unpacked
 * once for the four pixels (a part's row is read in whole words: the padding's weights are the
 * next row's first ones, times zero; the last channel's value by value then, so that nothing
 * past the weights is read). Whole groups of four pixels only; returns how many. */
TTE_HOT static TTE_NOINLINE int32_t pw_gather_quad(const tte_conv2d_s8_params_t *p, const rq_t *rp, const int8_t *x,
                                                   int32_t npx, const int32_t *ia, int32_t na, const int8_t *wa,
                                                   const int32_t *ib, int32_t nb, const int8_t *wb,
                                                   const int32_t *bias, int8_t *y)
{
    const rq_t rl = *rp;
    const rq_t *const r = &rl;
    const int32_t n = p->g.in_c, m = p->g.out_c, zp = p->in_zp;
    const int32_t wa4 = (na + 3) >> 2, wb4 = (nb + 3) >> 2;
    const uint32_t nz = pack16(-zp, -zp);
    int16_t buf[4 * TTE_GATHER_QUAD_MAX] __attribute__((aligned(8)));
    /* the channels whose rows are read in whole words: all but the last where a part is not
     * a multiple of four (its rows' padding would read past the weights) */
    const int32_t mw = (na & 3) != 0 || (nb & 3) != 0 ? m - 1 : m;
    int32_t i, j, q;
    for (i = 0; i + 3 < npx; i += 4) {
        const int8_t *x0 = x + (size_t)i * n;
        int8_t *const y0 = y + (size_t)i * m;
        /* value t of word j, pixel q at halfword 16 j + 4 q + 2 (t & 1) + (t >> 1): each part's
         * whole words four bytes at once, a part's last word with padding value by value */
        gq_gather_words(x0, n, ia, na >> 2, buf, nz);
        gq_gather_words(x0, n, ib, nb >> 2, buf + 16 * wa4, nz);
        for (j = 0; j < 4 * (wa4 + wb4); ++j) {
            const int32_t part_a = j < 4 * wa4, t = part_a ? j : j - 4 * wa4;
            const int32_t src = part_a ? (t < na ? ia[t] : -1) : (t < nb ? ib[t] : -1);
            int16_t *const d = buf + 16 * (j >> 2) + 2 * (j & 1) + ((j >> 1) & 1);
            if (t < 4 * ((part_a ? na : nb) >> 2)) {
                j |= 3; /* a whole word, gathered above */
                continue;
            }
            for (q = 0; q < 4; ++q) {
                d[4 * q] = (int16_t)(src < 0 ? 0 : x0[(size_t)q * n + src] - zp);
            }
        }
        /* every other group of pixels takes the channels backwards: the rows read last (at
         * the end of a weight larger than the D-cache) are still there */
        const int32_t back = (i & 4) != 0;
        int32_t k;
        for (k = 0; k < m; ++k) {
            const int32_t oc = back ? m - 1 - k : k;
            const int32_t b = bias ? bias[oc] : 0;
            const int8_t *const ra = wa + (size_t)oc * na, *const rb = wb + (size_t)oc * nb;
            const uint32_t *xp = (const uint32_t *)(const void *)buf;
            int32_t a[4];
            a[0] = a[1] = a[2] = a[3] = b;
            if (oc == mw) {
                /* the last channel value by value (buf's value t of word j: gather's order) */
                for (j = 0; j < na + nb; ++j) {
                    const int32_t t = j < na ? j : 4 * wa4 + j - na;
                    const int32_t wv = j < na ? ra[j] : rb[j - na];
                    const int16_t *const d = buf + 16 * (t >> 2) + 2 * (t & 1) + ((t >> 1) & 1);
                    for (q = 0; q < 4; ++q) {
                        a[q] += d[4 * q] * wv;
                    }
                }
            } else {
                if (wa4 > 0) {
                    xp = gq_dot(xp, ra, wa4, a);
                }
                if (wb4 > 0) {
                    gq_dot(xp, rb, wb4, a);
                }
            }
            if (r->mode == 2) {
                /* tte_rq_fast_s8 of the four sums in assembly (TTE_RQS8) */
                const int32_t mu = r->mult[oc], sh = ~r->shift[oc], z = r->zp2;
                int8_t *yo = y0 + oc;
                uint32_t t;
                __asm__ volatile(TTE_RQS8("a0", "[%[y]]") TTE_RQS8("a1", "[%[y], %[m]]")
                                 "add %[y], %[y], %[m], lsl #1\n\t"
                                 TTE_RQS8("a2", "[%[y]]") TTE_RQS8("a3", "[%[y], %[m]]")
                                 : [y] "+r"(yo), [t] "=&r"(t)
                                 : [a0] "r"(a[0]), [a1] "r"(a[1]), [a2] "r"(a[2]), [a3] "r"(a[3]), [mu] "r"(mu),
                                   [sh] "r"(sh), [z] "r"(z), [m] "r"(m)
                                 : "memory");
            } else {
                y0[oc] = rq(r, a[0], oc);
                y0[m + oc] = rq(r, a[1], oc);
                y0[2 * m + oc] = rq(r, a[2], oc);
                y0[3 * m + oc] = rq(r, a[3], oc);
            }
        }
    }
    return i;
}
#endif

int32_t tte_conv2d_s8_pointwise_gather_px(const tte_conv2d_s8_params_t *p, const int8_t *x, int32_t npx,
                                          const int32_t *ia, int32_t na, const int8_t *wa, const int32_t *ib,
                                          int32_t nb, const int8_t *wb, const int32_t *bias, int8_t *y)
{
#if defined(__ARM_FEATURE_DSP)
    if (na + nb <= TTE_GATHER_MAX) {
        const rq_t r = rq_init(p, tte_conv2d_s8_fast_rq(p));
        if (npx >= 4 && ((na + 3) & ~3) + ((nb + 3) & ~3) <= TTE_GATHER_QUAD_MAX && p->g.out_c >= 1) {
            const int32_t done = pw_gather_quad(p, &r, x, npx, ia, na, wa, ib, nb, wb, bias, y);
            x += (size_t)done * p->g.in_c;
            y += (size_t)done * p->g.out_c;
            npx -= done;
        }
        if (npx == 0) {
            return 1;
        }
        if (npx >= 2 && 2 * ((na & ~7) + (nb & ~7)) >= na + nb) {
            pw_gather_pairs(p, &r, x, npx, ia, na, wa, ib, nb, wb, bias, y);
        } else {
            pw_gather(p, &r, x, npx, ia, na, wa, ib, nb, wb, bias, y);
        }
        return 1;
    }
#endif
    (void)p, (void)x, (void)npx, (void)ia, (void)na, (void)wa, (void)ib, (void)nb, (void)wb, (void)bias, (void)y;
    return 0;
}
