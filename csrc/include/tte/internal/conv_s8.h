/* Shared by the int8 conv kernels (conv_s8.c, conv_stem_s8.c, depthwise_s8.c, pointwise_s8.c):
 * the output stage of one kernel call, the DSP word loads, the paths the dispatcher
 * tte_conv2d_s8 picks. Internal; hidden from the cffi declarations. */
#ifndef TTE_INTERNAL_CONV_S8_H
#define TTE_INTERNAL_CONV_S8_H
#ifndef TTE_CDEF
#include <string.h>

#include "tte/conv.h"

/* The hot loops count instructions, not cycles: pre-allocation scheduling (on at -O2 for
 * ARM) raises register pressure and spills in them. */
#if defined(__ARM_FEATURE_DSP) && defined(__GNUC__) && !defined(__clang__)
#define TTE_HOT __attribute__((optimize("no-schedule-insns")))
#else
#define TTE_HOT
#endif

/* Output stage of one kernel call: exact, or tte_rq_fast when tte_conv2d_s8_fast_rq said so
 * (SSAT alone clamps when the activation range is all of int8). */
typedef struct {
    const int32_t *mult, *shift;
    int32_t mode; /* 0 exact, 1 fast, 2 fast with the clamp range [-128, 127]; 3 wide (tte_rq_wide,
                   * pointwise_s8.c only: rq and rq4 take it as exact) */
    int32_t zp2, out_zp, lo, hi;
} rq_t;

static inline rq_t rq_make(const int32_t *mult, const int32_t *shift, int32_t fast, int32_t out_zp, int32_t lo,
                           int32_t hi)
{
    rq_t r;
    r.mult = mult;
    r.shift = shift;
    r.mode = fast ? (lo == -128 && hi == 127 ? 2 : 1) : 0;
    r.zp2 = 2 * out_zp + 1;
    r.out_zp = out_zp;
    r.lo = lo;
    r.hi = hi;
    return r;
}

static inline rq_t rq_init(const tte_conv2d_s8_params_t *p, int32_t fast)
{
    return rq_make(p->mult, p->shift, fast, p->out_zp, p->act_min, p->act_max);
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

/* The output stage of four pixels' sums (channels [c0, c1), channel c's at acc[as (c - c0)],
 * pixel q's output at yq[q]); locals for what the int8 stores could alias. */
static inline void rq_out4(const rq_t *r, const int32_t *acc, int32_t as, int32_t c0, int32_t c1, int8_t *const yq[4])
{
    int8_t *const y0 = yq[0], *const y1 = yq[1], *const y2 = yq[2], *const y3 = yq[3];
    const int32_t *const mult = r->mult, *const shift = r->shift;
    const int32_t zp2 = r->zp2;
    int32_t oc;
    if (r->mode == 2) {
        for (oc = c0; oc < c1; ++oc, acc += as) {
            const int32_t mu = mult[oc], sh = shift[oc];
            y0[oc] = (int8_t)tte_rq_fast_s8(acc[0], mu, sh, zp2);
            y1[oc] = (int8_t)tte_rq_fast_s8(acc[1], mu, sh, zp2);
            y2[oc] = (int8_t)tte_rq_fast_s8(acc[2], mu, sh, zp2);
            y3[oc] = (int8_t)tte_rq_fast_s8(acc[3], mu, sh, zp2);
        }
    } else if (r->mode == 1) {
        const int32_t lo = r->lo, hi = r->hi;
        for (oc = c0; oc < c1; ++oc, acc += as) {
            const int32_t mu = mult[oc], sh = shift[oc];
            y0[oc] = (int8_t)tte_rq_fast(acc[0], mu, sh, zp2, lo, hi);
            y1[oc] = (int8_t)tte_rq_fast(acc[1], mu, sh, zp2, lo, hi);
            y2[oc] = (int8_t)tte_rq_fast(acc[2], mu, sh, zp2, lo, hi);
            y3[oc] = (int8_t)tte_rq_fast(acc[3], mu, sh, zp2, lo, hi);
        }
    } else {
        for (oc = c0; oc < c1; ++oc, acc += as) {
            y0[oc] = rq(r, acc[0], oc);
            y1[oc] = rq(r, acc[1], oc);
            y2[oc] = rq(r, acc[2], oc);
            y3[oc] = rq(r, acc[3], oc);
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

/* Two pixels' int16 x - zp, interleaved word by word for win_dot22 (conv_window_s8.c,
 * pointwise_s8.c): four values j..j+3 of slot s (0 or 1) fill words 4 (j / 4) + 2 s (even
 * lanes) and + 1 (odd lanes), as SXTB16 and SXTB16 ROR #8 unpack a weight word. */
/* value j of the chunk for pixel slot s: word 4 (j / 4) + 2 s + j % 2, halfword (j / 2) % 2 */
static inline size_t win_index(int32_t j, int32_t s)
{
    return (size_t)2 * (4 * (j >> 2) + 2 * s + (j & 1)) + ((j >> 1) & 1);
}

/* values [a, b) of the chunk for slot s: x - zp from src (value a), or 0 when src is NULL */
static inline void win_fill(int16_t *buf, int32_t s, int32_t a, int32_t b, const int8_t *src, int32_t zp, uint32_t zz)
{
    for (; a < b && (a & 3); ++a) {
        buf[win_index(a, s)] = (int16_t)(src ? *src++ - zp : 0);
    }
    if (a + 3 < b) {
        /* whole words: each group of four values eight halfwords on */
        int16_t *dst = buf + win_index(a, s);
        const int32_t groups = (b - a) >> 2;
        int32_t q;
        if (src) {
            for (q = 0; q < groups; ++q) {
                const uint32_t u = load4(src + 4 * q);
                const uint32_t e = tte_ssub16(tte_sxtb16(u), zz), o = tte_ssub16(tte_sxtb16_ror8(u), zz);
                memcpy(dst + 8 * q, &e, sizeof e);
                memcpy(dst + 8 * q + 2, &o, sizeof o);
            }
            src += 4 * groups;
        } else {
            for (q = 0; q < groups; ++q) {
                memset(dst + 8 * q, 0, 8);
            }
        }
        a += 4 * groups;
    }
    for (; a < b; ++a) {
        buf[win_index(a, s)] = (int16_t)(src ? *src++ - zp : 0);
    }
}

/* One word (four window values) of two channels (rows wa, wa + k) by two pixels (xp). */
#define TTE_WIN_WORD                                                                    \
    "ldrd %[e1], %[o1], [%[xp], #8]\n\t"                                               \
    "ldrd %[e0], %[o0], [%[xp]], #16\n\t"                                              \
    "ldr %[w], [%[wa], %[k]]\n\t"                                                      \
    "sxtb16 %[we], %[w]\n\t"                                                           \
    "sxtb16 %[w], %[w], ror #8\n\t"                                                    \
    "smlad %[b0], %[e0], %[we], %[b0]\n\t"                                             \
    "smlad %[b0], %[o0], %[w], %[b0]\n\t"                                              \
    "smlad %[b1], %[e1], %[we], %[b1]\n\t"                                             \
    "smlad %[b1], %[o1], %[w], %[b1]\n\t"                                              \
    "ldr %[w], [%[wa]], #4\n\t"                                                        \
    "sxtb16 %[we], %[w]\n\t"                                                           \
    "sxtb16 %[w], %[w], ror #8\n\t"                                                    \
    "smlad %[a0], %[e0], %[we], %[a0]\n\t"                                             \
    "smlad %[a0], %[o0], %[w], %[a0]\n\t"                                              \
    "smlad %[a1], %[e1], %[we], %[a1]\n\t"                                             \
    "smlad %[a1], %[o1], %[w], %[a1]\n\t"

/* acc[0..3] (channel 0 pixel 0, pixel 1, channel 1 pixel 0, pixel 1) += the n8 values
 * (a positive multiple of 8) of the widened buffer against rows wa and wa + k. */
static TTE_ALWAYS_INLINE void win_dot22(const int16_t *buf, const int8_t *wa, int32_t k, int32_t n8, int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], b0 = acc[2], b1 = acc[3];
    const int16_t *xp = buf;
    const int16_t *const end = buf + 2 * n8;
    uint32_t e0, o0, e1, o1, w, we;
    __asm__ volatile("1:\n\t" TTE_WIN_WORD TTE_WIN_WORD
                     "ldr %[w], %[end]\n\t"
                     "cmp %[xp], %[w]\n\t"
                     "bne 1b"
                     : [a0] "+r"(a0), [a1] "+r"(a1), [b0] "+r"(b0), [b1] "+r"(b1), [xp] "+r"(xp), [wa] "+r"(wa),
                       [e0] "=&r"(e0), [o0] "=&r"(o0), [e1] "=&r"(e1), [o1] "=&r"(o1), [w] "=&r"(w), [we] "=&r"(we)
                     : [k] "r"(k), [end] "m"(end)
                     : "cc", "memory");
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = b0;
    acc[3] = b1;
}

/* One weight word (four values) of one channel (wp) by four pixels (xp: pixel q's x - zp pair
 * at byte 8 q, pixel 0's load last and post-indexed past the group): conv_window_s8.c's four-pixel
 * windows, pointwise_s8.c's four-pixel split-weight gather. */
#define TTE_WIN4_WORD                                                                   \
    "ldr %[w], [%[wp]], #4\n\t"                                                        \
    "sxtb16 %[we], %[w]\n\t"                                                           \
    "sxtb16 %[w], %[w], ror #8\n\t"                                                    \
    "ldrd %[e], %[o], [%[xp], #8]\n\t"                                                 \
    "smlad %[a1], %[e], %[we], %[a1]\n\t"                                              \
    "smlad %[a1], %[o], %[w], %[a1]\n\t"                                               \
    "ldrd %[e], %[o], [%[xp], #16]\n\t"                                                \
    "smlad %[a2], %[e], %[we], %[a2]\n\t"                                              \
    "smlad %[a2], %[o], %[w], %[a2]\n\t"                                               \
    "ldrd %[e], %[o], [%[xp], #24]\n\t"                                                \
    "smlad %[a3], %[e], %[we], %[a3]\n\t"                                              \
    "smlad %[a3], %[o], %[w], %[a3]\n\t"                                               \
    "ldrd %[e], %[o], [%[xp]], #32\n\t"                                                \
    "smlad %[a0], %[e], %[we], %[a0]\n\t"                                              \
    "smlad %[a0], %[o], %[w], %[a0]\n\t"

/* The eight-pixel pass (conv_window_s8.c, conv_stem_s8.c) over int16 x - zp, each group of
 * four values 64 bytes: pixel q's even lanes at 8 q, its odd lanes at 8 q + 4. One weight
 * word of one channel by eight pixels (slot 0 last, its load post-indexed past the group). */
#define TTE_WIN8_PX(off, a)                                                             \
    "ldrd %[e], %[o], [%[xp], #" #off "]\n\t"                                          \
    "smlad %[" #a "], %[e], %[we], %[" #a "]\n\t"                                      \
    "smlad %[" #a "], %[o], %[w], %[" #a "]\n\t"
/* The same word with pixel q at s q bytes, pixel 0's load post-indexed by post and the weight
 * load by wpost (a string: the strip kernels of conv_strip_s8.c lay pixels and weights out
 * differently). */
#define TTE_WIN8_WORD_X(wpost, s, post)                                                 \
    "ldr %[w], [%[wp]], #" wpost "\n\t"                                                \
    "sxtb16 %[we], %[w]\n\t"                                                           \
    "sxtb16 %[w], %[w], ror #8\n\t" TTE_WIN8_PX((s), a1) TTE_WIN8_PX((2 * s), a2)      \
        TTE_WIN8_PX((3 * s), a3) TTE_WIN8_PX((4 * s), a4) TTE_WIN8_PX((5 * s), a5)       \
        TTE_WIN8_PX((6 * s), a6) TTE_WIN8_PX((7 * s), a7)                               \
    "ldrd %[e], %[o], [%[xp]], #" #post "\n\t"                                         \
    "smlad %[a0], %[e], %[we], %[a0]\n\t"                                              \
    "smlad %[a0], %[o], %[w], %[a0]\n\t"
#define TTE_WIN8_WORD_AT(s, post) TTE_WIN8_WORD_X("4", s, post)
#define TTE_WIN8_WORD TTE_WIN8_WORD_AT(8, 64)

#define TTE_WIN8_WORD4 TTE_WIN8_WORD TTE_WIN8_WORD TTE_WIN8_WORD TTE_WIN8_WORD
/* sixteen values a pass up to the end of the chunk */
#define TTE_WIN8_LOOP                                                                   \
    "1:\n\t" TTE_WIN8_WORD4 "ldr %[e], %[endm]\n\t"                                    \
    "cmp %[xp], %[e]\n\t"                                                              \
    "bne 1b\n\t"

/* Where win8_pass finds the chunk and its end, the step from the end of one channel's
 * weights in the chunk to the next channel's, the end of the sums, the current sums, and the
 * next channel's bias (for TTE_WIN8_BIAS). */
typedef struct {
    const int16_t *buf, *end;
    int32_t wstep;
    const int32_t *acc_end;
    int32_t *ao;
    const int32_t *bias;
} win8_pass_t;

/* A channel's eight sums from acc (TTE_WIN8_LOAD) or its bias (TTE_WIN8_BIAS: a first pass,
 * no sums before); the step of the weights to the next channel (TTE_WIN8_STEP, none when the
 * channels' weights follow each other). */
#define TTE_WIN8_LOAD                                                                   \
    "ldr %[e], %[aom]\n\t"                                                              \
    "ldrd %[a0], %[a1], [%[e]]\n\t"                                                     \
    "ldrd %[a2], %[a3], [%[e], #8]\n\t"                                                 \
    "ldrd %[a4], %[a5], [%[e], #16]\n\t"                                                \
    "ldrd %[a6], %[a7], [%[e], #24]\n\t"
#define TTE_WIN8_BIAS                                                                   \
    "ldr %[e], %[bsm]\n\t"                                                              \
    "ldr %[a0], [%[e]], #4\n\t"                                                         \
    "str %[e], %[bsm]\n\t"                                                              \
    "mov %[a1], %[a0]\n\t"                                                              \
    "mov %[a2], %[a0]\n\t"                                                              \
    "mov %[a3], %[a0]\n\t"                                                              \
    "mov %[a4], %[a0]\n\t"                                                              \
    "mov %[a5], %[a0]\n\t"                                                              \
    "mov %[a6], %[a0]\n\t"                                                              \
    "mov %[a7], %[a0]\n\t"
#define TTE_WIN8_STEP                                                                   \
    "ldr %[w], %[wsm]\n\t"                                                              \
    "add %[wp], %[wp], %[w]\n\t"

/* win4_pass for eight pixels (acc[8 c .. 8 c + 7]); every register is taken, so the loop's
 * bounds and the sums' pointer stay in prm. */
#define TTE_WIN8_PASS(BODY) TTE_WIN8_PASS_X(TTE_WIN8_LOAD, BODY, TTE_WIN8_STEP)
#define TTE_WIN8_PASS_X(HEAD, BODY, STEP)                                                              \
    __asm__ volatile("2:\n\t" HEAD "ldr %[xp], %[bufm]\n\t" BODY                                        \
                     "ldr %[e], %[aom]\n\t"                                                           \
                     "strd %[a0], %[a1], [%[e]], #32\n\t"                                             \
                     "strd %[a2], %[a3], [%[e], #-24]\n\t"                                            \
                     "strd %[a4], %[a5], [%[e], #-16]\n\t"                                            \
                     "strd %[a6], %[a7], [%[e], #-8]\n\t"                                             \
                     "str %[e], %[aom]\n\t" STEP "ldr %[w], %[aem]\n\t"                               \
                     "cmp %[e], %[w]\n\t"                                                             \
                     "bne 2b"                                                                        \
                     : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [a4] "=&r"(a4),  \
                       [a5] "=&r"(a5), [a6] "=&r"(a6), [a7] "=&r"(a7), [xp] "=&r"(xp), [wp] "+r"(wp),    \
                       [e] "=&r"(e), [o] "=&r"(o), [w] "=&r"(w), [we] "=&r"(we), [aom] "+m"(prm.ao),    \
                       [bsm] "+m"(prm.bias)                                                          \
                     : [bufm] "m"(prm.buf), [endm] "m"(prm.end), [wsm] "m"(prm.wstep),                 \
                       [aem] "m"(prm.acc_end)                                                          \
                     : "cc", "memory")
#endif

/* kernel heights the depthwise paths take (rows of tap pointers on the stack) */
#define TTE_CONV_MAX_KH 16

/* window values (k_h * k_w * in_c) of the regular convs that go the stem's way (conv_stem_s8.c) */
#define TTE_CONV_WIN 32

/* The im2col GEMM of conv_stem_s8.c: output channels whose sums a pass keeps in the window
 * path's scratch, window values it takes there (in_c not a multiple of 4: DS-CNN's 10x4 over
 * one channel), and its buffers' bytes for windows of at most k values and the sums of ocb
 * channels (the sums, where one window's k + 8 bytes go before a pass; eight widened windows;
 * the last channels' weights, k + 8 bytes) */
#define TTE_GEMM_OCB 8
#define TTE_GEMM_K 48
#define TTE_GEMM_BYTES(k, ocb) (32 * (ocb) + 16 * (k) + (k) + 8)

/* groups == in_c, one input channel per group (depthwise_s8.c) */
void tte_conv2d_s8_depthwise(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *x, const int8_t *w,
                             const int32_t *bias, int8_t *y);
/* groups 1, at most TTE_CONV_WIN window values (conv_stem_s8.c) */
#if defined(__ARM_FEATURE_DSP)
void tte_conv2d_s8_small_window_dsp(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *x,
                                    const int8_t *w, const int32_t *bias, int8_t *y);
#else
void tte_conv2d_s8_small_window(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *x, const int8_t *w,
                                const int32_t *bias, int8_t *y);
#endif
/* groups 1, more than TTE_CONV_WIN window values, at most TTE_WIN_OC output channels
 * (conv_window_s8.c; its widened window values and the sums that carry over between window
 * chunks in scratch, TTE_CONV_WINDOW_SCRATCH bytes, 8-byte aligned) */
#define TTE_WIN_OC 64

/* The geometries conv_strip_s8.c takes in DSP builds (within the window path: 3x3, stride 1,
 * no dilation, rows of at least 8 outputs, over 16, 32 or 64 channels, or 3 into at most 16) */
static TTE_ALWAYS_INLINE int32_t tte_conv_strip(const tte_conv2d_geom_t *g)
{
    return g->groups == 1 && g->k_h == 3 && g->k_w == 3 && g->stride_h == 1 && g->stride_w == 1 && g->dil_h == 1
           && g->dil_w == 1 && g->out_w >= 8
           && (g->in_c == 16 || g->in_c == 32 || g->in_c == 64 || (g->in_c == 3 && g->out_c <= 16));
}

/* The path tte_conv2d_s8 picks for a geometry (inlined where it is asked: the dispatcher, and
 * the streamed block for its expand conv's scratch) */
typedef enum {
    TTE_PATH_POINTWISE,
    TTE_PATH_DEPTHWISE,
    TTE_PATH_SMALL_WINDOW,
    TTE_PATH_WINDOW,
    TTE_PATH_GENERIC
} tte_conv_path_t;

static TTE_ALWAYS_INLINE tte_conv_path_t tte_conv_path(const tte_conv2d_geom_t *g)
{
    if (g->groups == 1 && g->k_h == 1 && g->k_w == 1 && g->stride_h == 1 && g->stride_w == 1
        && g->pad_top == 0 && g->pad_left == 0 && g->out_h == g->in_h && g->out_w == g->in_w) {
        return TTE_PATH_POINTWISE;
    }
    if (g->groups == g->in_c && g->groups > 1 && g->k_h <= TTE_CONV_MAX_KH) {
        return TTE_PATH_DEPTHWISE;
    }
    /* a strided 1x1 over a multiple of 16 channels takes the window path's eight pixels a
     * pass (ResNet's shortcuts) */
    if (g->groups == 1 && g->k_h * g->k_w * g->in_c <= TTE_CONV_WIN && !tte_conv_strip(g)
        && !(g->k_h == 1 && g->k_w == 1 && g->in_c % 16 == 0 && g->out_c <= TTE_WIN_OC)) {
        return TTE_PATH_SMALL_WINDOW;
    }
    return g->groups == 1 && g->out_c <= TTE_WIN_OC ? TTE_PATH_WINDOW : TTE_PATH_GENERIC;
}

/* tte_conv2d_s8_scratch_bytes of a geometry */
static TTE_ALWAYS_INLINE int32_t tte_conv_scratch_bytes(const tte_conv2d_geom_t *g)
{
    return tte_conv_path(g) == TTE_PATH_WINDOW ? TTE_CONV_WINDOW_SCRATCH : 0;
}

#if defined(__ARM_FEATURE_DSP)
/* The window path's geometries that conv_stem_s8.c's GEMM takes (in its scratch): few input
 * channels (not a multiple of 4, which the word-wise window kernels take), at most TTE_GEMM_K
 * window values */
static TTE_ALWAYS_INLINE int32_t tte_conv_gemm(const tte_conv2d_geom_t *g)
{
    return g->groups == 1 && g->in_c % 4 != 0 && g->k_h * g->k_w * g->in_c <= TTE_GEMM_K;
}
typedef char tte_gemm_scratch_fits[TTE_GEMM_BYTES(TTE_GEMM_K, TTE_GEMM_OCB) <= TTE_CONV_WINDOW_SCRATCH
                                   && TTE_GEMM_K + 8 <= 32 * TTE_GEMM_OCB && TTE_CONV_WIN + 8 <= 32 * 4 ? 1 : -1];
void tte_conv2d_s8_gemm_dsp(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *x, const int8_t *w,
                            const int32_t *bias, int8_t *y, void *scratch);
void tte_conv2d_s8_window_dsp(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *x, const int8_t *w,
                              const int32_t *bias, int8_t *y, void *scratch);
/* groups 1, 3x3 over 16, 32 or 64 input channels (or 3 into at most 16), stride 1, no
 * dilation, rows of at least 8 outputs (conv_strip_s8.c; in the window path's scratch) */
void tte_conv2d_s8_strip_dsp(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *x, const int8_t *w,
                             const int32_t *bias, int8_t *y, void *scratch);
#endif
#endif /* TTE_CDEF */
#endif
