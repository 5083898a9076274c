/* int8 depthwise conv2d (groups == in_c, any channel multiplier): one output pixel
 * (tte_conv2d_s8_dw_pixel), a run of pixels of one output row (tte_conv2d_s8_dw_row, which
 * tte_block_s8 streams), the whole image (tte_conv2d_s8_depthwise, from tte_conv2d_s8). A 3x3
 * window has its own DSP path (dw3_groups): every pixel, border ones too, on a bias with the
 * zero point's share folded in; at stride 1, given scratch, over a copy of three rows a
 * channel group sign-extended with the zero point in the padding (dw3_ring: every pixel one
 * straight path). A square 5x5 or 7x7 window (stride 1 or 2) has its own assembly: the run of
 * pixels inside the input in one loop on the folded biases (dw57_run), each border pixel in
 * one block over its taps inside: straight runs of each window row's taps entered at an offset
 * where the window is cut on one side or only above and below (dw57_side), a loop a row where
 * it is cut on both (dw57_edge); at stride 1, given scratch, over a copy of its window rows a
 * channel group as dw3_ring's (dw57_pad: every pixel inside, no border code).
 *
 * Cortex-M4/M7 (ARMv7E-M DSP extension, under __ARM_FEATURE_DSP): the fast paths use its SIMD
 * (SXTB16, SSUB16, SMLABB/SMLATB/SMLATT) beside the portable C; every product and sum is an integer of the
 * portable loop, so the bytes are the same (tte_conv2d_s8_generic; tests/test_qemu_kernels.py). */
/* the build's own level, before optimized.h's pragma raises it: at -O0 (the frame pointer
 * kept) and -Os, dw4_taps_sub's 13 registers of assembly are not there */
#if !defined(__OPTIMIZE__) || defined(__OPTIMIZE_SIZE__)
#define TTE_DW_FEW_REGISTERS 1
#endif
#include "tte/internal/optimized.h"
#include <stddef.h>
#include <string.h>

/* words of each pass's block in dw3_wide's scratch, before its slots: at least DWP_WORDS (the
 * pixel-pair passes), DW3E_WORDS (channel pairs) and DW3L_WORDS (over a layout of biases 0) */
enum { DW3W_BLOCK_WORDS = 32 };

#include "tte/internal/conv_s8.h"
#include "tte/internal/dwp.h"

#if defined(__ARM_FEATURE_DSP)
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
/* the halfword sums of a and b */
static inline uint32_t sadd16(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("sadd16 %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
static inline int32_t smlatt(uint32_t a, uint32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smlatt %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
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
    const uint32_t nz = pack16(-zp, -zp); /* x - zp in one SXTAB16 */
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
                const uint32_t xe = tte_sxtab16(nz, xv);
                const uint32_t xo = tte_sxtab16_ror8(nz, xv);
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

/* One tap of a window row in assembly: x word at ADDR, the tap's two unpacked weight words
 * at byte WOFF of operand BASE; a0..a3 as TTE_DW4_TAP's. */
#define TTE_DW4_ATAP(ADDR, BASE, WOFF)                                                  \
    "ldr %[x], " ADDR "\n\t"                                                           \
    "ldrd %[we], %[wo], [%[" BASE "], #" #WOFF "]\n\t"                                 \
    "sxtb16 %[xe], %[x]\n\t"                                                           \
    "sxtb16 %[x], %[x], ror #8\n\t"                                                    \
    "smlabb %[a0], %[xe], %[we], %[a0]\n\t"                                            \
    "smlatt %[a2], %[xe], %[we], %[a2]\n\t"                                            \
    "smlabb %[a1], %[x], %[wo], %[a1]\n\t"                                             \
    "smlatt %[a3], %[x], %[wo], %[a3]\n\t"
#define TTE_DW4_AOPS                                                                    \
    : [a0] "+r"(*a0), [a1] "+r"(*a1), [a2] "+r"(*a2), [a3] "+r"(*a3), [p] "+r"(p), [x] "=&r"(x), \
      [xe] "=&r"(xe), [we] "=&r"(we), [wo] "=&r"(wo)                                   \
    : [wt] "r"(wt), [c] "r"(C)                                                         \
    : "memory"

/* A 5- or 7-wide window row (KW) inside the input, the zero point folded: x at p and on by
 * C, weights wt[0..2 KW) (every x address one instruction). */
static TTE_ALWAYS_INLINE void dw4_row57(const int8_t *p, const uint32_t *wt, int32_t KW, int32_t C, int32_t *a0,
                                        int32_t *a1, int32_t *a2, int32_t *a3)
{
    uint32_t x, xe, we, wo;
    if (KW == 5) {
        __asm__(TTE_DW4_ATAP("[%[p]]", "wt", 0) TTE_DW4_ATAP("[%[p], %[c]]", "wt", 8)
                TTE_DW4_ATAP("[%[p], %[c], lsl #1]", "wt", 16) TTE_DW4_ATAP("[%[p], %[c], lsl #2]", "wt", 32)
                "add %[p], %[p], %[c], lsl #1\n\t"
                TTE_DW4_ATAP("[%[p], %[c]]", "wt", 24) TTE_DW4_AOPS);
    } else {
        __asm__(TTE_DW4_ATAP("[%[p]]", "wt", 0) TTE_DW4_ATAP("[%[p], %[c]]", "wt", 8)
                TTE_DW4_ATAP("[%[p], %[c], lsl #1]", "wt", 16) TTE_DW4_ATAP("[%[p], %[c], lsl #2]", "wt", 32)
                "add %[p], %[p], %[c], lsl #1\n\t"
                TTE_DW4_ATAP("[%[p], %[c]]", "wt", 24) TTE_DW4_ATAP("[%[p], %[c], lsl #2]", "wt", 48)
                "add %[p], %[p], %[c]\n\t"
                TTE_DW4_ATAP("[%[p], %[c], lsl #1]", "wt", 40) TTE_DW4_AOPS);
    }
}

/* One tap with x - zp: x at ADDR, the tap's weight words from wt on (x - zp in one SXTAB16
 * a lane pair, nz = -zp in both halves) */
#define TTE_DW4_STAP(ADDR)                                                              \
    "ldr %[x], " ADDR "\n\t"                                                           \
    "ldrd %[we], %[wo], [%[wt]], #8\n\t"                                               \
    "sxtab16 %[xe], %[nz], %[x]\n\t"                                                   \
    "sxtab16 %[x], %[nz], %[x], ror #8\n\t"                                            \
    "smlabb %[a0], %[xe], %[we], %[a0]\n\t"                                            \
    "smlatt %[a2], %[xe], %[we], %[a2]\n\t"                                            \
    "smlabb %[a1], %[x], %[wo], %[a1]\n\t"                                             \
    "smlatt %[a3], %[x], %[wo], %[a3]\n\t"

/* n (>= 1) taps of a window row with x - zp (a border pixel's): x at p and on by C, weights
 * from wt on (TTE_DW4_TAP's loop in assembly, two taps a pass: gcc took 16 instructions a
 * tap, here 11.5; an odd first tap alone). */
static TTE_ALWAYS_INLINE void dw4_taps_sub(const int8_t *p, const uint32_t *wt, int32_t n, int32_t C, uint32_t zz,
                                           int32_t *a0, int32_t *a1, int32_t *a2, int32_t *a3)
{
#if defined(TTE_DW_FEW_REGISTERS)
    /* the same sums in C */
    int32_t b0 = *a0, b1 = *a1, b2 = *a2, b3 = *a3;
    for (; n > 0; --n, wt += 2, p += C) {
        int32_t a0 = b0, a1 = b1, a2 = b2, a3 = b3;
        TTE_DW4_TAP(p, wt, 1);
        b0 = a0;
        b1 = a1;
        b2 = a2;
        b3 = a3;
    }
    *a0 = b0;
    *a1 = b1;
    *a2 = b2;
    *a3 = b3;
#else
    const uint32_t nz = tte_ssub16(0, zz);
    uint32_t x, xe, we, wo;
    __asm__("tst %[n], #1\n\t"
            "beq 1f\n\t"
            TTE_DW4_STAP("[%[p]]")
            "add %[p], %[p], %[c]\n\t"
            "subs %[n], %[n], #1\n\t"
            "beq 2f\n\t"
            "1:\n\t"
            TTE_DW4_STAP("[%[p]]")
            TTE_DW4_STAP("[%[p], %[c]]")
            "add %[p], %[p], %[c], lsl #1\n\t"
            "subs %[n], %[n], #2\n\t"
            "bne 1b\n\t"
            "2:"
            : [a0] "+r"(*a0), [a1] "+r"(*a1), [a2] "+r"(*a2), [a3] "+r"(*a3), [p] "+r"(p), [wt] "+r"(wt), [n] "+r"(n),
              [x] "=&r"(x), [xe] "=&r"(xe), [we] "=&r"(we), [wo] "=&r"(wo)
            : [c] "r"(C), [nz] "r"(nz)
            : "cc", "memory");
#endif
}

#define TTE_DW_MAX_TAPS 49

/* dw4_rq's block (32-bit words): each channel's two words (dw4_rq_word's), then zp2 */
enum { DW4_QM = 0, DW4_ZP2 = 8, DW4_RQ_WORDS = 9 };

/* A channel's two words of dw4_rq's block, for the output stage tte_rq_fast_s8 where
 * tte_rq_fast_ok or dw3_fast_exact holds (mult 0 or in [2**30, 2**31)): mult << 1 (m2 =
 * 2 mult - 2**32 as an int32) and the ASR amount ~shift. SMMLAR(acc, m2, acc) = floor((acc
 * 2**32 + acc m2 + 2**31) / 2**32) is srdhm(acc, mult) exactly for any acc (tte_rq_wide's
 * argument): tte_rq_fast_s8's QADD doubling in one instruction, unsaturated, so the zero
 * point's add saturates instead (QADD: only with ASR amount 0 can it overflow, and then the
 * output clamps to the same end). Mult 0 gives m2 = 0 and SMMLAR acc itself: its ASR amount
 * 31 then leaves 0 or -1 (acc - [acc < 0] >> 31), and both halve with zp2 = 2 out_zp + 1 to
 * out_zp, mult 0's output for any shift: no layer-wide fallback. */
static TTE_ALWAYS_INLINE void dw4_rq_word(uint32_t *prm, int32_t mu, int32_t sh)
{
    prm[0] = (uint32_t)mu << 1;
    prm[1] = mu != 0 ? ~(uint32_t)sh : 31u;
}

/* tte_rq_fast_s8 of A in place with channel J's words (dw4_rq_word's, from byte J of the
 * block at prm, into we and xe), zp2 in wo, the byte stored at ADDR */
#define TTE_DW4_RQ(A, J, ADDR)                                                          \
    "ldrd %[we], %[xe], [%[prm], #" #J "]\n\t"                                         \
    "smmlar %[" A "], %[" A "], %[we], %[" A "]\n\t"                                    \
    "add %[" A "], %[" A "], %[" A "], asr #31\n\t"                                    \
    "asr %[" A "], %[" A "], %[xe]\n\t"                                                \
    "qadd %[" A "], %[" A "], %[wo]\n\t"                                                \
    "ssat %[" A "], #8, %[" A "], asr #1\n\t"                                          \
    "strb %[" A "], " ADDR "\n\t"

/* The output stage over all of int8 of one pixel's channels c..c+3 (sums a0..a3) at out,
 * dw4_rq_word's words and zp2 from the block at prm (gcc reloaded them from the stack and
 * packed the bytes). */
static TTE_ALWAYS_INLINE void dw4_rq(const uint32_t *prm, int32_t a0, int32_t a1, int32_t a2, int32_t a3, int8_t *out)
{
    uint32_t we, xe, wo;
    __asm__ volatile("ldr %[wo], [%[prm], #32]\n\t"
                     TTE_DW4_RQ("a0", 0, "[%[out]]")
                     TTE_DW4_RQ("a1", 8, "[%[out], #1]")
                     TTE_DW4_RQ("a2", 16, "[%[out], #2]")
                     TTE_DW4_RQ("a3", 24, "[%[out], #3]")
                     : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [we] "=&r"(we), [xe] "=&r"(xe),
                       [wo] "=&r"(wo)
                     : [prm] "r"(prm), [out] "r"(out)
                     : "memory");
}

#define TTE_DW3_OPS                                                                     \
    : [a0] "+r"(*a0), [a1] "+r"(*a1), [a2] "+r"(*a2), [a3] "+r"(*a3), [x] "=&r"(x), [xe] "=&r"(xe), \
      [we] "=&r"(we), [wo] "=&r"(wo)                                                   \
    : [q] "r"(q), [c] "r"(C), [wt] "r"(wt)                                             \
    : "memory"

/* The n (1 to 3) taps of a 3x3 window's row from q on (C apart), the zero point folded, their
 * weight words from wt on: every x and weight address one instruction (eleven registers,
 * as dw4_row57: a block a row leaves gcc room for the three row pointers) */
static TTE_ALWAYS_INLINE void dw3_row(const int8_t *q, int32_t C, const uint32_t *wt, int32_t n, int32_t *a0,
                                      int32_t *a1, int32_t *a2, int32_t *a3)
{
    uint32_t x, xe, we, wo;
    if (n == 3) {
        __asm__(TTE_DW4_ATAP("[%[q]]", "wt", 0) TTE_DW4_ATAP("[%[q], %[c]]", "wt", 8)
                TTE_DW4_ATAP("[%[q], %[c], lsl #1]", "wt", 16) TTE_DW3_OPS);
    } else if (n == 2) {
        __asm__(TTE_DW4_ATAP("[%[q]]", "wt", 0) TTE_DW4_ATAP("[%[q], %[c]]", "wt", 8) TTE_DW3_OPS);
    } else {
        __asm__(TTE_DW4_ATAP("[%[q]]", "wt", 0) TTE_DW3_OPS);
    }
}

/* The nine taps of a 3x3 window from rows q0, q1, q2 (its left column), columns C apart */
static TTE_ALWAYS_INLINE void dw3_taps9(const int8_t *q0, const int8_t *q1, const int8_t *q2, int32_t C,
                                        const uint32_t *wt, int32_t *a0, int32_t *a1, int32_t *a2, int32_t *a3)
{
    dw3_row(q0, C, wt, 3, a0, a1, a2, a3);
    dw3_row(q1, C, wt + 6, 3, a0, a1, a2, a3);
    dw3_row(q2, C, wt + 12, 3, a0, a1, a2, a3);
}

/* Six taps of a 3x3 window whose left or right column is in the padding: the two columns
 * inside from rows q0, q1, q2 on (C apart), their weights from wt on (six words a row) */
static TTE_ALWAYS_INLINE void dw3_taps6(const int8_t *q0, const int8_t *q1, const int8_t *q2, int32_t C,
                                        const uint32_t *wt, int32_t *a0, int32_t *a1, int32_t *a2, int32_t *a3)
{
    dw3_row(q0, C, wt, 2, a0, a1, a2, a3);
    dw3_row(q1, C, wt + 6, 2, a0, a1, a2, a3);
    dw3_row(q2, C, wt + 12, 2, a0, a1, a2, a3);
}

/* dw3_fast's block (32-bit words): the tap words, the folded biases, dw4_rq's words, the
 * run's end (q0 past its last interior pixel), dw3_biases' three sets (whole window, left
 * column out, right column out), the border flags, one more tap's words; the byte offsets are
 * written out in the assembly. The tap words at DW3_W in the assembly's form (dw3_pair_words):
 * words 0-11 the window's columns 0, 1, 2 as pairs of rows 0 and 1 (per column four words, one
 * a channel: its two int16 weights), words 12-15 row 2's columns 0 and 1 as pairs, words 16, 17
 * row 2's column 2 as dw3_row reads a tap (channels c, c + 2 and c + 1, c + 3), words
 * DW3_T7 row 2's column 1 so; in C (TTE_DW_FEW_REGISTERS) the nine taps as dw3_row reads them. */
enum { DW3_W = 0, DW3_KB = 18, DW3_RQ = 22, DW3_END = 31, DW3_KK = 32, DW3_FLAGS = 44, DW3_T7 = 46,
       DW3_BLK_WORDS = 48 };

/* What a channel group of dw3_groups sets up once per call: dw4_rq's block (mode 2), else the
 * output stage's multipliers (qm) and ASR amounts (qs) */
typedef struct {
    uint32_t blk[DW3_BLK_WORDS]; /* dw3_fast's block (its dw4_rq words at DW3_RQ also dw3_out's) */
    int32_t qm[4], qs[4];
} dw3_group_t;

/* dw4_rq's words of a channel group: dw4_rq_word's of its channels' multipliers mu and shifts sh */
static TTE_ALWAYS_INLINE void dw3_rq_words(uint32_t *prm, const int32_t *mu, const int32_t *sh)
{
    dw4_rq_word(prm + DW4_QM + 0, mu[0], sh[0]);
    dw4_rq_word(prm + DW4_QM + 2, mu[1], sh[1]);
    dw4_rq_word(prm + DW4_QM + 4, mu[2], sh[2]);
    dw4_rq_word(prm + DW4_QM + 6, mu[3], sh[3]);
}

/* The output stage of one pixel's channel group in the other modes (the group's multipliers
 * qm, ASR amounts qs): one copy, not one per call site (their rq4 is long, and rare) */
static TTE_NOINLINE void dw3_out_any(const int32_t *qm, const int32_t *qs, const rq_t *r, int32_t a0, int32_t a1,
                                     int32_t a2, int32_t a3, int32_t c, int8_t *o)
{
    rq4_pre(r, a0, a1, a2, a3, qm, qs, c, o);
}

/* The output stage of one pixel's channel group: dw4_rq's assembly in mode 2 */
static TTE_ALWAYS_INLINE void dw3_out(const dw3_group_t *gc, const rq_t *r, int32_t a0, int32_t a1, int32_t a2,
                                      int32_t a3, int32_t c, int8_t *o, int32_t mode2)
{
    if (mode2) {
        dw4_rq(gc->blk + DW3_RQ, a0, a1, a2, a3, o);
    } else {
        dw3_out_any(gc->qm, gc->qs, r, a0, a1, a2, a3, c, o);
    }
}

/* Adds to the lane sums se (channels c, c + 2) and so (c + 1, c + 3) the weights of column kx
 * in the window rows whose bit is set in m (at most nine int8 a lane: they fit) */
static TTE_ALWAYS_INLINE void dw3_colsum(const uint32_t *wqp, int32_t m, int32_t kx, uint32_t *se, uint32_t *so)
{
    int32_t ky;
    for (ky = 0; ky < 3; ++ky) {
        if (m >> ky & 1) {
            *se = sadd16(*se, wqp[6 * ky + 2 * kx]);
            *so = sadd16(*so, wqp[6 * ky + 2 * kx + 1]);
        }
    }
}

/* kout = kin + zp times the lane sums se, so */
static TTE_ALWAYS_INLINE void dw3_fold(const int32_t *kin, uint32_t se, uint32_t so, int32_t zp, int32_t *kout)
{
    kout[0] = smlabb(se, zp, kin[0]);
    kout[1] = smlabb(so, zp, kin[1]);
    kout[2] = smlatb(se, zp, kin[2]);
    kout[3] = smlatb(so, zp, kin[3]);
}

/* dw3_biases for the window rows inside m (a constant where inlined: straight-line code) */
static TTE_ALWAYS_INLINE void dw3_biases_m(const int32_t *kb, const uint32_t *wqp, int32_t m, int32_t zp,
                                           int32_t kk[3][4])
{
    uint32_t se = 0, so = 0, le = 0, lo = 0, re = 0, ro = 0;
    int32_t kx;
    for (kx = 0; kx < 3; ++kx) {
        dw3_colsum(wqp, 7 & ~m, kx, &se, &so);
    }
    dw3_colsum(wqp, m, 0, &le, &lo);
    dw3_colsum(wqp, m, 2, &re, &ro);
    dw3_fold(kb, se, so, zp, kk[0]);
    dw3_fold(kk[0], le, lo, zp, kk[1]);
    dw3_fold(kk[0], re, ro, zp, kk[2]);
}

/* The folded biases of a channel group for the window rows inside the image (bit ky of m):
 * kk[0] the whole window's, kk[1] with its left column in the padding, kk[2] its right; the
 * taps outside read the zero point, so each is kb plus zp times their weights. Straight-line
 * for all rows inside and the top or bottom one out. */
static TTE_NOINLINE void dw3_biases(const int32_t *kb, const uint32_t *wqp, int32_t m, int32_t zp, int32_t kk[3][4])
{
    if (m == 6) {
        dw3_biases_m(kb, wqp, 6, zp, kk);
    } else if (m == 3) {
        dw3_biases_m(kb, wqp, 3, zp, kk);
    } else {
        dw3_biases_m(kb, wqp, m, zp, kk);
    }
}

/* dw3_biases for every row inside (inlined: once per channel group and call in most rows):
 * kk[0] is kb, the sums of the left and right columns' weights in three SADD16 each */
static TTE_ALWAYS_INLINE void dw3_biases7(const int32_t *kb, const uint32_t *wqp, int32_t zp, int32_t kk[3][4])
{
    const uint32_t le = sadd16(sadd16(wqp[0], wqp[6]), wqp[12]);
    const uint32_t lo = sadd16(sadd16(wqp[1], wqp[7]), wqp[13]);
    const uint32_t re = sadd16(sadd16(wqp[4], wqp[10]), wqp[16]);
    const uint32_t ro = sadd16(sadd16(wqp[5], wqp[11]), wqp[17]);
    kk[0][0] = kb[0];
    kk[0][1] = kb[1];
    kk[0][2] = kb[2];
    kk[0][3] = kb[3];
    dw3_fold(kb, le, lo, zp, kk[1]);
    dw3_fold(kb, re, ro, zp, kk[2]);
}

/* One output pixel whose window reaches into the padding (input column ix0 its left; rows[ky]
 * NULL outside, bit ky of m set inside): the taps inside on the folded bias of the rest
 * (kk: dw3_biases' for m), the sum of the portable loop */
static TTE_ALWAYS_INLINE void dw3_edge(const dw3_group_t *gc, const rq_t *r, const int32_t kk[3][4],
                                       const int8_t *const *rows, int32_t m, int32_t C, int32_t in_w, int32_t ix0,
                                       int32_t c, const uint32_t *wqp, int32_t zp, int8_t *o, int32_t mode2)
{
    const int32_t kx0 = ix0 < 0 ? -ix0 : 0;
    const int32_t kx1 = in_w - ix0 < 3 ? in_w - ix0 : 3;
    const int32_t *kv = kk[0];
    int32_t kt[4], a0, a1, a2, a3, kx;
    if (m == 7 && kx1 - kx0 == 2) {
        /* every row inside, the left or right column in the padding: six taps in a line */
        const ptrdiff_t xo = (ptrdiff_t)(ix0 + kx0) * C + c;
        kv = kk[1 + (kx0 == 0)];
        a0 = kv[0];
        a1 = kv[1];
        a2 = kv[2];
        a3 = kv[3];
        dw3_taps6(rows[0] + xo, rows[1] + xo, rows[2] + xo, C, wqp + 2 * kx0, &a0, &a1, &a2, &a3);
        dw3_out(gc, r, a0, a1, a2, a3, c, o, mode2);
        return;
    }
    if (kx0 == 1 && kx1 == 3) {
        kv = kk[1];
    } else if (kx0 == 0 && kx1 == 2) {
        kv = kk[2];
    } else if (kx0 != 0 || kx1 != 3) {
        /* more than one column in the padding (a narrow input or a wide padding) */
        uint32_t se = 0, so = 0;
        for (kx = 0; kx < 3; ++kx) {
            if (kx < kx0 || kx >= kx1) {
                dw3_colsum(wqp, m, kx, &se, &so);
            }
        }
        dw3_fold(kk[0], se, so, zp, kt);
        kv = kt;
    }
    a0 = kv[0];
    a1 = kv[1];
    a2 = kv[2];
    a3 = kv[3];
    if (kx1 > kx0) {
        const ptrdiff_t xo = (ptrdiff_t)(ix0 + kx0) * C + c;
        const uint32_t *wt = wqp + 2 * kx0;
        if (m & 1) {
            dw3_row(rows[0] + xo, C, wt, kx1 - kx0, &a0, &a1, &a2, &a3);
        }
        if (m & 2) {
            dw3_row(rows[1] + xo, C, wt + 6, kx1 - kx0, &a0, &a1, &a2, &a3);
        }
        if (m & 4) {
            dw3_row(rows[2] + xo, C, wt + 12, kx1 - kx0, &a0, &a1, &a2, &a3);
        }
    }
    dw3_out(gc, r, a0, a1, a2, a3, c, o, mode2);
}

/* Two taps of four channels in one SMLAD each: the x words at ADDR0 and ADDR1 (two rows of a
 * column, or two columns of a row) packed into each channel's pair of int16 (PKHBT / PKHTB of
 * the halfwords, then SXTB16), the pairs' weight words (dw3_pair_words) at byte WOFF of the
 * block; the same four registers as TTE_DW4_ATAP */
#define TTE_DW3_PAIR(ADDR0, ADDR1, WOFF)                                                \
    "ldr %[x], " ADDR0 "\n\t"                                                          \
    "ldr %[xe], " ADDR1 "\n\t"                                                         \
    "pkhbt %[we], %[x], %[xe], lsl #16\n\t"                                            \
    "pkhtb %[xe], %[xe], %[x], asr #16\n\t"                                            \
    "sxtb16 %[x], %[we]\n\t"                                                           \
    "sxtb16 %[we], %[we], ror #8\n\t"                                                  \
    "ldr %[wo], [%[prm], #" #WOFF "]\n\t"                                              \
    "smlad %[a0], %[x], %[wo], %[a0]\n\t"                                              \
    "ldr %[wo], [%[prm], #" #WOFF " + 4]\n\t"                                          \
    "smlad %[a1], %[we], %[wo], %[a1]\n\t"                                             \
    "sxtb16 %[x], %[xe]\n\t"                                                           \
    "sxtb16 %[xe], %[xe], ror #8\n\t"                                                  \
    "ldrd %[we], %[wo], [%[prm], #" #WOFF " + 8]\n\t"                                  \
    "smlad %[a2], %[x], %[we], %[a2]\n\t"                                              \
    "smlad %[a3], %[xe], %[wo], %[a3]\n\t"

/* One pixel's nine taps on kb and its output stage, as text: rows q0, q1, q2 from its left
 * column on, the output at o, the words at prm (dw3_fast's block): rows 0 and 1 a column a
 * pair, row 2's first two columns a pair, its third alone */
#define TTE_DW3_PX9                                                                     \
    "ldrd %[a0], %[a1], [%[prm], #72]\n\t"                                             \
    "ldrd %[a2], %[a3], [%[prm], #80]\n\t"                                             \
    TTE_DW3_PAIR("[%[q0]]", "[%[q1]]", 0)                                               \
    TTE_DW3_PAIR("[%[q0], %[c]]", "[%[q1], %[c]]", 16)                                  \
    TTE_DW3_PAIR("[%[q0], %[c], lsl #1]", "[%[q1], %[c], lsl #1]", 32)                  \
    TTE_DW3_PAIR("[%[q2]]", "[%[q2], %[c]]", 48)                                        \
    TTE_DW4_ATAP("[%[q2], %[c], lsl #1]", "prm", 64)                                    \
    TTE_DW3_OUT

/* The output stage of a0..a3 at o (dw4_rq's, its words at byte 88 of the block) */
#define TTE_DW3_OUT                                                                     \
    "ldr %[wo], [%[prm], #120]\n\t"                                                    \
    TTE_DW4_RQ("a0", 88, "[%[o]]")                                                      \
    TTE_DW4_RQ("a1", 96, "[%[o], #1]")                                                  \
    TTE_DW4_RQ("a2", 104, "[%[o], #2]")                                                 \
    TTE_DW4_RQ("a3", 112, "[%[o], #3]")

/* One pixel whose window has every row inside and its left column in the padding (taps of
 * columns 1 and 2 on the bias of column 0 out, at byte KL; row 2's column 1 word at byte T7), as
 * text: rows q0, q1, q2 from its first column inside on */
#define TTE_DW3_PX6L_AT(KL, T7)                                                         \
    "ldrd %[a0], %[a1], [%[prm], #" #KL "]\n\t"                                        \
    "ldrd %[a2], %[a3], [%[prm], #" #KL " + 8]\n\t"                                    \
    TTE_DW3_PAIR("[%[q0]]", "[%[q1]]", 16)                                              \
    TTE_DW3_PAIR("[%[q0], %[c]]", "[%[q1], %[c]]", 32)                                  \
    TTE_DW4_ATAP("[%[q2]]", "prm", T7)                                                  \
    TTE_DW4_ATAP("[%[q2], %[c]]", "prm", 64)                                            \
    TTE_DW3_OUT

/* The same with its right column in the padding (taps of columns 0 and 1 on the bias of
 * column 2 out, at byte KR) */
#define TTE_DW3_PX6R_AT(KR)                                                             \
    "ldrd %[a0], %[a1], [%[prm], #" #KR "]\n\t"                                        \
    "ldrd %[a2], %[a3], [%[prm], #" #KR " + 8]\n\t"                                    \
    TTE_DW3_PAIR("[%[q0]]", "[%[q1]]", 0)                                               \
    TTE_DW3_PAIR("[%[q0], %[c]]", "[%[q1], %[c]]", 16)                                  \
    TTE_DW3_PAIR("[%[q2]]", "[%[q2], %[c]]", 48)                                        \
    TTE_DW3_OUT

/* One interior pixel of TTE_DW3_ROW, then q0, q1, q2 and o on to the next (STEP: the
 * stride's shift of C) */
#define TTE_DW3_PX9_NEXT(STEP)                                                          \
    TTE_DW3_PX9                                                                         \
    "add %[o], %[o], %[c]\n\t"                                                        \
    "add %[q0], %[q0], %[c]" STEP "\n\t"                                              \
    "add %[q1], %[q1], %[c]" STEP "\n\t"                                              \
    "add %[q2], %[q2], %[c]" STEP "\n\t"

/* A whole output row of one channel group in one assembly block (STEP: the stride's shift of
 * C, ADV: the columns from the left border pixel's first inside one to the next pixel's left
 * one): the left border pixel where bit 0 of the flags (at FL) says so, the interior pixels
 * up to the run's end (q0 at the end word, at END), two a pass (one end test and one taken
 * branch a pair; an odd count enters at the pass's second pixel, bit 2 of the flags), the
 * right border pixel where bit 1 says so; outputs C bytes apart from o on. The border pixels'
 * biases at bytes KL and KR of the block, row 2's column 1 word at T7; the inputs after those
 * (the block prm, c, and the operands FL and END name). Every operand in a register (gcc
 * spilled the row pointers between taps and pixels); fourteen of them, so at -O2 only. */
#define TTE_DW3_ROW_ASM(STEP, ADV, FL, END, KL, T7, KR, ...)                            \
    __asm__ volatile("ldr %[we], " FL "\n\t"                                           \
                     "tst %[we], #1\n\t"                                               \
                     "beq 2f\n\t"                                                      \
                     TTE_DW3_PX6L_AT(KL, T7)                                            \
                     "add %[o], %[o], %[c]\n\t"                                        \
                     ADV                                                                \
                     "2:\n\t"                                                          \
                     "ldr %[we], " END "\n\t"                                          \
                     "cmp %[q0], %[we]\n\t"                                            \
                     "beq 3f\n\t"                                                      \
                     "ldr %[we], " FL "\n\t"                                           \
                     "tst %[we], #4\n\t"                                               \
                     "bne 5f\n\t"                                                      \
                     "1:\n\t"                                                          \
                     TTE_DW3_PX9_NEXT(STEP)                                             \
                     "5:\n\t"                                                          \
                     TTE_DW3_PX9_NEXT(STEP)                                             \
                     "ldr %[we], " END "\n\t"                                          \
                     "cmp %[q0], %[we]\n\t"                                            \
                     "bne 1b\n\t"                                                      \
                     "3:\n\t"                                                          \
                     "ldr %[we], " FL "\n\t"                                           \
                     "tst %[we], #2\n\t"                                               \
                     "beq 4f\n\t"                                                      \
                     TTE_DW3_PX6R_AT(KR)                                                \
                     "4:"                                                               \
                     : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [x] "=&r"(x), \
                       [xe] "=&r"(xe), [we] "=&r"(we), [wo] "=&r"(wo), [q0] "+r"(q0), [q1] "+r"(q1), \
                       [q2] "+r"(q2), [o] "+r"(o)                                       \
                     : __VA_ARGS__                                                      \
                     : "cc", "memory")

/* TTE_DW3_ROW_ASM on dw3_fast's block (blk): the flags and the run's end its words */
#define TTE_DW3_ROW(STEP, ADV)                                                          \
    TTE_DW3_ROW_ASM(STEP, ADV, "[%[prm], #176]", "[%[prm], #124]", 144, 184, 160, [prm] "r"(blk), [c] "r"(C))

/* The columns a stride of 2 adds after the left border pixel */
#define TTE_DW3_ADV2 "add %[q0], %[q0], %[c]\n\tadd %[q1], %[q1], %[c]\n\tadd %[q2], %[q2], %[c]\n\t"

/* The body of dw3_fast's assembly path (stride, blk, C, q0, q1, q2, o the caller's): ROW
 * (TTE_DW3_ROW or TTE_DW3B_ROW) once per stride */
#define TTE_DW3_FAST_ASM(ROW)                                                           \
    int32_t a0, a1, a2, a3;                                                             \
    uint32_t x, xe, we, wo;                                                             \
    if (stride == 1) {                                                                  \
        ROW("", "");                                                                    \
    } else {                                                                            \
        ROW(", lsl #1", TTE_DW3_ADV2);                                                  \
    }                                                                                   \
    (void)a0;                                                                           \
    (void)a1;                                                                           \
    (void)a2;                                                                           \
    (void)a3;                                                                           \
    (void)x;                                                                            \
    (void)xe;                                                                           \
    (void)we;                                                                           \
    (void)wo;                                                                           \
    (void)q0;                                                                           \
    (void)q1;                                                                           \
    (void)q2;                                                                           \
    (void)o

/* The four words of a pair of taps A and B of dw3_fast's block from their words as dw3_row
 * reads them (ea, oa and eb, ob: channels c, c + 2 and c + 1, c + 3): per channel its weight of
 * A in the low halfword, of B in the high one (SMLAD's operand against TTE_DW3_PAIR's x) */
static TTE_ALWAYS_INLINE void dw3_pair_words(uint32_t *dst, uint32_t ea, uint32_t oa, uint32_t eb, uint32_t ob)
{
    dst[0] = (ea & 0xFFFFu) | eb << 16;
    dst[1] = (oa & 0xFFFFu) | ob << 16;
    dst[2] = ea >> 16 | (eb & 0xFFFF0000u);
    dst[3] = oa >> 16 | (ob & 0xFFFF0000u);
}

/* words i, i + 1 of src to dst (one LDRD, one STRD: no loop, no memcpy call) */
static TTE_ALWAYS_INLINE void dw3_copy2(uint32_t *dst, const uint32_t *src, int32_t i)
{
    const uint32_t lo = src[i], hi = src[i + 1];
    dst[i] = lo;
    dst[i + 1] = hi;
}

/* One output row of a channel group whose rows are all inside, mode 2, outputs packed: the
 * left border pixel (block flag bit 0; column 0 out, rows q0, q1, q2 at column 0), then the
 * interior pixels (from the next pixel's left column, stride 1 or 2, up to the block's end
 * word), then the right border pixel (flag bit 1; its right column out); outputs from o on.
 * The block (dw3_body's): tap words, kb, dw4_rq's words, end, the three bias sets, flags. */
static TTE_ALWAYS_INLINE void dw3_fast(const uint32_t *blk, int32_t C, const int8_t *q0, const int8_t *q1,
                                       const int8_t *q2, int32_t stride, int8_t *o)
{
#if defined(TTE_DW_FEW_REGISTERS)
    /* the same sums and bytes in C */
    const int32_t *kb = (const int32_t *)(const void *)(blk + DW3_KB);
    const int32_t *kl = (const int32_t *)(const void *)(blk + DW3_KK + 4);
    const int32_t *kr = (const int32_t *)(const void *)(blk + DW3_KK + 8);
    const int8_t *const end = (const int8_t *)(uintptr_t)blk[DW3_END];
    int32_t a0, a1, a2, a3;
    if (blk[DW3_FLAGS] & 1) {
        a0 = kl[0], a1 = kl[1], a2 = kl[2], a3 = kl[3];
        dw3_taps6(q0, q1, q2, C, blk + DW3_W + 2, &a0, &a1, &a2, &a3);
        dw4_rq(blk + DW3_RQ, a0, a1, a2, a3, o);
        o += C;
        q0 += (stride - 1) * C;
        q1 += (stride - 1) * C;
        q2 += (stride - 1) * C;
    }
    for (; q0 != end; q0 += stride * C, q1 += stride * C, q2 += stride * C, o += C) {
        a0 = kb[0], a1 = kb[1], a2 = kb[2], a3 = kb[3];
        dw3_taps9(q0, q1, q2, C, blk + DW3_W, &a0, &a1, &a2, &a3);
        dw4_rq(blk + DW3_RQ, a0, a1, a2, a3, o);
    }
    if (blk[DW3_FLAGS] & 2) {
        a0 = kr[0], a1 = kr[1], a2 = kr[2], a3 = kr[3];
        dw3_taps6(q0, q1, q2, C, blk + DW3_W, &a0, &a1, &a2, &a3);
        dw4_rq(blk + DW3_RQ, a0, a1, a2, a3, o);
    }
#else
    TTE_DW3_FAST_ASM(TTE_DW3_ROW);
#endif
}

/* TTE_DW3_ROW for a row whose top or bottom window row is outside: two rows q0, q1 of taps,
 * their weights from wt on (the block's third and sixth words on, or its first), the biases
 * dw3_biases gave the block for those rows */
#define TTE_DW3_ROW2(STEP, ADV)                                                         \
    __asm__ volatile("ldr %[we], [%[prm], #176]\n\t"                                   \
                     "tst %[we], #1\n\t"                                               \
                     "beq 2f\n\t"                                                      \
                     "ldrd %[a0], %[a1], [%[prm], #144]\n\t"                           \
                     "ldrd %[a2], %[a3], [%[prm], #152]\n\t"                           \
                     TTE_DW4_ATAP("[%[q0]]", "wt", 8)                                   \
                     TTE_DW4_ATAP("[%[q0], %[c]]", "wt", 16)                            \
                     TTE_DW4_ATAP("[%[q1]]", "wt", 32)                                  \
                     TTE_DW4_ATAP("[%[q1], %[c]]", "wt", 40)                            \
                     TTE_DW3_OUT                                                        \
                     "add %[o], %[o], %[c]\n\t"                                        \
                     ADV                                                                \
                     "2:\n\t"                                                          \
                     "ldr %[we], [%[prm], #124]\n\t"                                   \
                     "cmp %[q0], %[we]\n\t"                                            \
                     "beq 3f\n\t"                                                      \
                     "1:\n\t"                                                          \
                     "ldrd %[a0], %[a1], [%[prm], #128]\n\t"                           \
                     "ldrd %[a2], %[a3], [%[prm], #136]\n\t"                           \
                     TTE_DW4_ATAP("[%[q0]]", "wt", 0)                                   \
                     TTE_DW4_ATAP("[%[q0], %[c]]", "wt", 8)                             \
                     TTE_DW4_ATAP("[%[q0], %[c], lsl #1]", "wt", 16)                    \
                     TTE_DW4_ATAP("[%[q1]]", "wt", 24)                                  \
                     TTE_DW4_ATAP("[%[q1], %[c]]", "wt", 32)                            \
                     TTE_DW4_ATAP("[%[q1], %[c], lsl #1]", "wt", 40)                    \
                     TTE_DW3_OUT                                                        \
                     "add %[o], %[o], %[c]\n\t"                                        \
                     "add %[q0], %[q0], %[c]" STEP "\n\t"                              \
                     "add %[q1], %[q1], %[c]" STEP "\n\t"                              \
                     "ldr %[we], [%[prm], #124]\n\t"                                   \
                     "cmp %[q0], %[we]\n\t"                                            \
                     "bne 1b\n\t"                                                      \
                     "3:\n\t"                                                          \
                     "ldr %[we], [%[prm], #176]\n\t"                                   \
                     "tst %[we], #2\n\t"                                               \
                     "beq 4f\n\t"                                                      \
                     "ldrd %[a0], %[a1], [%[prm], #160]\n\t"                           \
                     "ldrd %[a2], %[a3], [%[prm], #168]\n\t"                           \
                     TTE_DW4_ATAP("[%[q0]]", "wt", 0)                                   \
                     TTE_DW4_ATAP("[%[q0], %[c]]", "wt", 8)                             \
                     TTE_DW4_ATAP("[%[q1]]", "wt", 24)                                  \
                     TTE_DW4_ATAP("[%[q1], %[c]]", "wt", 32)                            \
                     TTE_DW3_OUT                                                        \
                     "4:"                                                               \
                     : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [x] "=&r"(x), \
                       [xe] "=&r"(xe), [we] "=&r"(we), [wo] "=&r"(wo), [q0] "+r"(q0), [q1] "+r"(q1), \
                       [o] "+r"(o)                                                      \
                     : [prm] "r"(blk), [wt] "r"(wt), [c] "r"(C)                         \
                     : "cc", "memory")

/* dw3_fast for a row with two window rows inside (q0, q1; weights from wt on), the biases
 * at the block's DW3_KK (dw3_biases for those rows) */
static TTE_ALWAYS_INLINE void dw3_fast2(const uint32_t *blk, const uint32_t *wt, int32_t C, const int8_t *q0,
                                        const int8_t *q1, int32_t stride, int8_t *o)
{
#if defined(TTE_DW_FEW_REGISTERS)
    /* the same sums and bytes in C */
    const int32_t *kk = (const int32_t *)(const void *)(blk + DW3_KK);
    const int8_t *const end = (const int8_t *)(uintptr_t)blk[DW3_END];
    int32_t a0, a1, a2, a3;
    if (blk[DW3_FLAGS] & 1) {
        a0 = kk[4], a1 = kk[5], a2 = kk[6], a3 = kk[7];
        dw3_row(q0, C, wt + 2, 2, &a0, &a1, &a2, &a3);
        dw3_row(q1, C, wt + 8, 2, &a0, &a1, &a2, &a3);
        dw4_rq(blk + DW3_RQ, a0, a1, a2, a3, o);
        o += C;
        q0 += (stride - 1) * C;
        q1 += (stride - 1) * C;
    }
    for (; q0 != end; q0 += stride * C, q1 += stride * C, o += C) {
        a0 = kk[0], a1 = kk[1], a2 = kk[2], a3 = kk[3];
        dw3_row(q0, C, wt, 3, &a0, &a1, &a2, &a3);
        dw3_row(q1, C, wt + 6, 3, &a0, &a1, &a2, &a3);
        dw4_rq(blk + DW3_RQ, a0, a1, a2, a3, o);
    }
    if (blk[DW3_FLAGS] & 2) {
        a0 = kk[8], a1 = kk[9], a2 = kk[10], a3 = kk[11];
        dw3_row(q0, C, wt, 2, &a0, &a1, &a2, &a3);
        dw3_row(q1, C, wt + 6, 2, &a0, &a1, &a2, &a3);
        dw4_rq(blk + DW3_RQ, a0, a1, a2, a3, o);
    }
#else
    int32_t a0, a1, a2, a3;
    uint32_t x, xe, we, wo;
    if (stride == 1) {
        TTE_DW3_ROW2("", "");
    } else {
        TTE_DW3_ROW2(", lsl #1", "add %[q0], %[q0], %[c]\n\tadd %[q1], %[q1], %[c]\n\t");
    }
    (void)a0;
    (void)a1;
    (void)a2;
    (void)a3;
    (void)x;
    (void)xe;
    (void)we;
    (void)wo;
    (void)q0;
    (void)q1;
    (void)o;
#endif
}

/* The low halfwords of a and b in one word (a's low): also two sign-extended halfwords packed */
static inline uint32_t dws_lo(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

/* The high halfwords of a and b in one word (a's low) */
static inline uint32_t dws_hi(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("pkhtb %0, %2, %1, asr #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

#if !defined(TTE_DW_FEW_REGISTERS)
/* dws_hi(a, b) with the asm's inputs listed b first: the same PKHTB, but gcc picks other
 * registers for dw3_pair_words_dsp with dws_hi's order (and for dws_weights with this one),
 * so each keeps the code it was measured with */
static inline uint32_t dw3_pkhtb(uint32_t b, uint32_t a)
{
    uint32_t r;
    __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(b), "r"(a));
    return r;
}

/* dw3_pair_words in four PKHBT / PKHTB */
static TTE_ALWAYS_INLINE void dw3_pair_words_dsp(uint32_t *dst, const uint32_t *wa, const uint32_t *wb)
{
    const uint32_t ea = wa[0], oa = wa[1], eb = wb[0], ob = wb[1];
    dst[0] = dws_lo(ea, eb);
    dst[1] = dws_lo(oa, ob);
    dst[2] = dw3_pkhtb(eb, ea);
    dst[3] = dw3_pkhtb(ob, oa);
}

/* dw3_fast's block of channel group c for dw3_fast_groups: the output stage's words, the
 * folded biases and the tap words from the group's compile-time words pg, the left and right
 * biases where flags has that border pixel (a leaf of its own: around dw3_fast's fourteen
 * registers gcc reloaded every value here from the stack) */
static TTE_NOINLINE void dw3_group_block(uint32_t *blk, const uint32_t *pg, const int32_t *mu, const int32_t *sh,
                                         int32_t zp, uint32_t flags)
{
    const uint32_t *const wqp = pg + 4;
    const int32_t *const kb = (const int32_t *)(const void *)pg;
    dw3_rq_words(blk + DW3_RQ, mu, sh);
    dw3_copy2(blk + DW3_KB, pg, 0);
    dw3_copy2(blk + DW3_KB, pg, 2);
    dw3_pair_words_dsp(blk + DW3_W, wqp, wqp + 6);
    dw3_pair_words_dsp(blk + DW3_W + 4, wqp + 2, wqp + 8);
    dw3_pair_words_dsp(blk + DW3_W + 8, wqp + 4, wqp + 10);
    dw3_pair_words_dsp(blk + DW3_W + 12, wqp + 12, wqp + 14);
    dw3_copy2(blk + DW3_W, wqp, 16);
    blk[DW3_T7] = wqp[14];
    blk[DW3_T7 + 1] = wqp[15];
    if (flags & 1) {
        /* column 0 out: its weights' share of the zero point on the bias */
        dw3_fold(kb, sadd16(sadd16(wqp[0], wqp[6]), wqp[12]), sadd16(sadd16(wqp[1], wqp[7]), wqp[13]), zp,
                 (int32_t *)(void *)(blk + DW3_KK + 4));
    }
    if (flags & 2) {
        dw3_fold(kb, sadd16(sadd16(wqp[4], wqp[10]), wqp[16]), sadd16(sadd16(wqp[5], wqp[11]), wqp[17]), zp,
                 (int32_t *)(void *)(blk + DW3_KK + 8));
    }
}

/* One output row of every channel group whose window rows are all inside (rows, each from
 * dw3_body's first column xq on), mode 2, the words laid out at compile time (prep), outputs
 * packed from out on: dw3_body's row_fast rows of a streamed call, with per group only the
 * words its block needs (dw3_group_block); run: the bytes from a group's first column to its
 * end word */
static TTE_NOINLINE void dw3_fast_groups(const rq_t *r, const int8_t *const *rows, int32_t C, int32_t zp,
                                         const uint32_t *prep, size_t xq, size_t run, uint32_t flags, int32_t sw,
                                         int8_t *out)
{
    dw3_group_t gc __attribute__((aligned(8)));
    const int8_t *q0 = rows[0] + xq, *q1 = rows[1] + xq, *q2 = rows[2] + xq;
    int32_t c;
    gc.blk[DW3_FLAGS] = flags;
    gc.blk[DW3_RQ + DW4_ZP2] = (uint32_t)r->zp2;
    for (c = 0; c + 3 < C; c += 4, prep += 22, q0 += 4, q1 += 4, q2 += 4, out += 4) {
        dw3_group_block(gc.blk, prep, r->mult + c, r->shift + c, zp, flags);
        gc.blk[DW3_END] = (uint32_t)(uintptr_t)(q0 + run);
        dw3_fast(gc.blk, C, q0, q1, q2, sw, out);
    }
}

/* dw3_fast's words laid out at compile time (tte.compiler.emit.block.dw3_blocks_layout), per
 * channel group DW3B_WORDS words: dw3_fast's block up to its zp2 word (the tap words, the
 * folded biases, dw4_rq's words and zp2 at the same bytes), then the biases of a left border
 * pixel (column 0 out) and of a right one (column 2 out), then row 2's column 1 as dw3_row reads
 * it (DW3_T7's words); the run's end and the border flags are the call's, on the stack. */
enum { DW3B_KL = 31, DW3B_KR = 35, DW3B_T7 = 39, DW3B_WORDS = 41 };

/* TTE_DW3_ROW on a compile-time block (prm, in flash; DW3B_KL at byte 124, DW3B_KR at 140,
 * DW3B_T7 at 156): the flags and the run's end are memory operands (stack slots: every
 * register is taken), the same instructions */
#define TTE_DW3B_ROW(STEP, ADV)                                                         \
    TTE_DW3_ROW_ASM(STEP, ADV, "%[fl]", "%[end]", 124, 156, 140, [prm] "r"(blk), [c] "r"(C), [fl] "m"(*fl), \
                    [end] "m"(*end))

/* dw3_fast on a compile-time block blk (dw3_blocks_layout's, one channel group's): fl points at
 * the border flags (dw3_fast's DW3_FLAGS word), end at the run's end (DW3_END's) */
static TTE_ALWAYS_INLINE void dw3_fast_b(const uint32_t *blk, const uint32_t *fl, const uint32_t *end, int32_t C,
                                         const int8_t *q0, const int8_t *q1, const int8_t *q2, int32_t stride,
                                         int8_t *o)
{
    TTE_DW3_FAST_ASM(TTE_DW3B_ROW);
}

/* dw3_fast_groups on the blocks laid out at compile time (blocks: dw3_blocks_layout's), no
 * block made per group: per group only the run's end */
static TTE_NOINLINE void dw3_fast_groups_b(const int8_t *const *rows, int32_t C, const uint32_t *blocks, size_t xq,
                                           size_t run, uint32_t flags, int32_t sw, int8_t *out)
{
    const int8_t *q0 = rows[0] + xq, *q1 = rows[1] + xq, *q2 = rows[2] + xq;
    const uint32_t *const last = blocks + (size_t)(C >> 2) * DW3B_WORDS;
    uint32_t fl = flags, end;
    /* a loop per stride: the stride's test out of the loop */
    if (sw == 1) {
        for (; blocks != last; blocks += DW3B_WORDS, q0 += 4, q1 += 4, q2 += 4, out += 4) {
            end = (uint32_t)(uintptr_t)(q0 + run);
            dw3_fast_b(blocks, &fl, &end, C, q0, q1, q2, 1, out);
        }
    } else {
        for (; blocks != last; blocks += DW3B_WORDS, q0 += 4, q1 += 4, q2 += 4, out += 4) {
            end = (uint32_t)(uintptr_t)(q0 + run);
            dw3_fast_b(blocks, &fl, &end, C, q0, q1, q2, 2, out);
        }
    }
}
#endif

/* The windows inside the input of n output pixels (rows q0, q1, q2 from their left
 * column on, step bytes on per pixel), channel group c: nine taps on kb, the output stage
 * (mode2: r->mode is 2) */
static TTE_ALWAYS_INLINE void dw3_inside(const dw3_group_t *gc, const rq_t *r, const int32_t *kb,
                                         const uint32_t *wqp, int32_t C, const int8_t *q0, const int8_t *q1,
                                         const int8_t *q2, size_t step, int32_t n, int32_t c, int8_t *o,
                                         size_t ostride, int32_t mode2)
{
    for (; n > 0; --n) {
        int32_t a0 = kb[0], a1 = kb[1], a2 = kb[2], a3 = kb[3];
        dw3_taps9(q0, q1, q2, C, wqp, &a0, &a1, &a2, &a3);
        dw3_out(gc, r, a0, a1, a2, a3, c, o, mode2);
        q0 += step;
        q1 += step;
        q2 += step;
        o += ostride;
    }
}

/* The pixels [in_lo, in_hi) of the k from ox0 on whose 3x3 window lies inside the input
 * columns (geometry g, stride sw, input width in_w): a macro, as an inline function gave
 * dw3_body other registers and frame at -O2 */
#define TTE_DW3_INTERIOR(g, sw, in_w, ox0, k, in_lo, in_hi)                                         \
    do {                                                                                            \
        (in_lo) = ((g)->pad_left + (sw) - 1) / (sw) - (ox0);                                        \
        (in_lo) = (in_lo) < 0 ? 0 : (in_lo);                                                        \
        (in_hi) = (in_w) + (g)->pad_left >= 3 ? ((in_w) - 3 + (g)->pad_left) / (sw) - (ox0) + 1 : 0; \
        (in_hi) = (in_hi) > (k) ? (k) : (in_hi);                                                    \
        (in_lo) = (in_lo) > (k) ? (k) : (in_lo);                                                    \
        (in_hi) = (in_hi) < (in_lo) ? (in_lo) : (in_hi);                                            \
    } while (0)

/* dw_row_groups for a 3x3 window: every pixel on a folded bias (no zp subtracted per tap),
 * the pixels whose window lies inside the input in one run, which pixels those are found once
 * per call; the taps outside the image only in the bias (dw3_biases, once per set of rows) */
static TTE_ALWAYS_INLINE void dw3_body(const tte_conv2d_s8_params_t *p, const rq_t *r, const int8_t *const *rows_arg,
                                       const int8_t *xb, int32_t nrows, int32_t oy0, int32_t ox0, int32_t k,
                                       const int8_t *w, const int32_t *bias, const uint32_t *prep, int8_t *out,
                                       size_t ostride, int32_t mode2)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t C = g->in_c, sw = g->stride_w, in_w = g->in_w;
    const int32_t zp = p->in_zp;
    const size_t step = (size_t)sw * C;
    uint32_t wq[18] __attribute__((aligned(8)));
    const int8_t *rows[3];
    dw3_group_t gc __attribute__((aligned(8)));
    int32_t kb[4];
    int32_t(*const kk)[4] = (int32_t(*)[4])(void *)(gc.blk + DW3_KK);
    int32_t c, t, j, i, oy, in_lo, in_hi, m, m_kk, fast, row_fast, lb, rb;
    size_t xq;
    /* the pixels [in_lo, in_hi) whose window lies inside the input columns */
    TTE_DW3_INTERIOR(g, sw, in_w, ox0, k, in_lo, in_hi);
    /* dw3_fast (the output stage of mode 2, outputs packed) for the rows all inside where the
     * pixels left and right of the interior are at most one with one column out each */
    fast = mode2 && ostride == (size_t)C && sw <= 2 && k * nrows >= 2;
    lb = in_lo == 1 && ox0 * sw - g->pad_left == -1 && in_w >= 2;
    {
        const int32_t ixr = (ox0 + in_hi) * sw - g->pad_left;
        rb = in_hi == k - 1 && ixr >= 0 && in_w - ixr == 2;
    }
    row_fast = fast && (in_lo == 0 || lb) && (in_hi == k || rb);
    /* the first column dw3_fast reads (the left border pixel's first inside one) */
    xq = (size_t)(lb ? 0 : (ox0 + in_lo) * sw - g->pad_left) * C;
    /* bit 2: an odd count of interior pixels (TTE_DW3_ROW's pairs) */
    gc.blk[DW3_FLAGS] = (uint32_t)(lb | rb << 1 | ((in_hi - in_lo) & 1) << 2);
#if !defined(TTE_DW_FEW_REGISTERS)
    if (row_fast && prep != NULL && xb == NULL && nrows == 1 && rows_arg[0] != NULL && rows_arg[1] != NULL
        && rows_arg[2] != NULL) {
        dw3_fast_groups(r, rows_arg, C, zp, prep, xq, (size_t)(lb * (sw - 1) + (in_hi - in_lo) * sw) * C,
                        gc.blk[DW3_FLAGS], sw, out);
        return;
    }
#endif
    gc.blk[DW3_RQ + DW4_ZP2] = (uint32_t)r->zp2;
    for (c = 0; c + 3 < C; c += 4) {
        const int32_t *mu = r->mult + c, *sh = r->shift + c;
        const uint32_t *wqp = wq;
        if (mode2) {
            dw3_rq_words(gc.blk + DW3_RQ, mu, sh);
        } else {
            for (j = 0; j < 4; ++j) {
                gc.qm[j] = mu[j];
                gc.qs[j] = ~sh[j];
            }
        }
        if (prep != NULL) {
            /* laid out at compile time: the four folded biases, then the tap words (read in
             * place: the assembly addresses every tap word directly) */
            const uint32_t *pg = prep + (size_t)(c >> 2) * 22;
            kb[0] = (int32_t)pg[0];
            kb[1] = (int32_t)pg[1];
            kb[2] = (int32_t)pg[2];
            kb[3] = (int32_t)pg[3];
            wqp = pg + 4;
        } else {
            const int8_t *wc = w + (size_t)c * 9;
            for (j = 0; j < 4; ++j) {
                int32_t s = 0;
                for (t = 0; t < 9; ++t) {
                    s += wc[j * 9 + t];
                }
                kb[j] = (bias ? bias[c + j] : 0) - zp * s;
            }
            for (t = 0; t < 9; ++t) {
                const uint32_t wv = (uint32_t)(uint8_t)wc[t] | (uint32_t)(uint8_t)wc[9 + t] << 8
                                    | (uint32_t)(uint8_t)wc[18 + t] << 16 | (uint32_t)(uint8_t)wc[27 + t] << 24;
                wq[2 * t] = tte_sxtb16(wv);
                wq[2 * t + 1] = tte_sxtb16_ror8(wv);
            }
        }
        if (row_fast) {
            /* the assembly's block: the tap words and folded biases beside the output stage's */
#if defined(TTE_DW_FEW_REGISTERS)
            dw3_copy2(gc.blk + DW3_W, wqp, 0);
            dw3_copy2(gc.blk + DW3_W, wqp, 2);
            dw3_copy2(gc.blk + DW3_W, wqp, 4);
            dw3_copy2(gc.blk + DW3_W, wqp, 6);
            dw3_copy2(gc.blk + DW3_W, wqp, 8);
            dw3_copy2(gc.blk + DW3_W, wqp, 10);
            dw3_copy2(gc.blk + DW3_W, wqp, 12);
            dw3_copy2(gc.blk + DW3_W, wqp, 14);
            dw3_copy2(gc.blk + DW3_W, wqp, 16);
#else
            dw3_pair_words(gc.blk + DW3_W, wqp[0], wqp[1], wqp[6], wqp[7]);
            dw3_pair_words(gc.blk + DW3_W + 4, wqp[2], wqp[3], wqp[8], wqp[9]);
            dw3_pair_words(gc.blk + DW3_W + 8, wqp[4], wqp[5], wqp[10], wqp[11]);
            dw3_pair_words(gc.blk + DW3_W + 12, wqp[12], wqp[13], wqp[14], wqp[15]);
            dw3_copy2(gc.blk + DW3_W, wqp, 16);
            gc.blk[DW3_T7] = wqp[14];
            gc.blk[DW3_T7 + 1] = wqp[15];
#endif
            for (j = 0; j < 4; ++j) {
                gc.blk[DW3_KB + j] = (uint32_t)kb[j];
            }
        }
        m_kk = -1; /* the rows kk was folded for: none yet */
        for (oy = 0; oy < nrows; ++oy) {
            int8_t *const orow = out + (size_t)oy * k * ostride + c;
            if (xb != NULL) {
                const int32_t iy = (oy0 + oy) * g->stride_h - g->pad_top;
                const size_t row_bytes = (size_t)in_w * C;
                rows[0] = iy < 0 || iy >= g->in_h ? NULL : xb + (size_t)iy * row_bytes;
                rows[1] = iy + 1 < 0 || iy + 1 >= g->in_h ? NULL : xb + (size_t)(iy + 1) * row_bytes;
                rows[2] = iy + 2 < 0 || iy + 2 >= g->in_h ? NULL : xb + (size_t)(iy + 2) * row_bytes;
            } else {
                rows[0] = rows_arg[0];
                rows[1] = rows_arg[1];
                rows[2] = rows_arg[2];
            }
            m = (rows[0] != NULL) | (rows[1] != NULL) << 1 | (rows[2] != NULL) << 2;
            if (m == 7 && row_fast) {
                const int8_t *const q0 = rows[0] + xq + c;
                if ((lb || rb) && m_kk != 7) {
                    dw3_biases7(kb, wqp, zp, kk);
                    m_kk = 7;
                }
                /* the run's end: past its last pixel */
                gc.blk[DW3_END] = (uint32_t)(uintptr_t)(q0 + (size_t)(lb * (sw - 1) + (in_hi - in_lo) * sw) * C);
                dw3_fast(gc.blk, C, q0, rows[1] + xq + c, rows[2] + xq + c, sw, orow);
                continue;
            }
            if ((m == 6 || m == 3) && row_fast) {
                /* the top or bottom window row outside: the other two in dw3_fast2 */
                const int8_t *const q0 = rows[m == 6] + xq + c;
                if (m_kk != m) {
                    dw3_biases(kb, wqp, m, zp, kk);
                    m_kk = m;
                }
                gc.blk[DW3_END] = (uint32_t)(uintptr_t)(q0 + (size_t)(lb * (sw - 1) + (in_hi - in_lo) * sw) * C);
                dw3_fast2(gc.blk, wqp + (m == 6 ? 6 : 0), C, q0, rows[(m == 6) + 1] + xq + c, sw, orow);
                continue;
            }
            if (m == 7 && in_hi > in_lo) {
                const size_t xo = (size_t)((ox0 + in_lo) * sw - g->pad_left) * C + c;
                if (in_lo > 0 || in_hi < k) {
                    if (m_kk != 7) {
                        dw3_biases7(kb, wqp, zp, kk);
                        m_kk = 7;
                    }
                    for (i = 0; i < in_lo; ++i) {
                        dw3_edge(&gc, r, kk, rows, 7, C, in_w, (ox0 + i) * sw - g->pad_left, c, wqp, zp,
                                 orow + (size_t)i * ostride, mode2);
                    }
                }
                dw3_inside(&gc, r, kb, wqp, C, rows[0] + xo, rows[1] + xo, rows[2] + xo, step, in_hi - in_lo, c,
                           orow + (size_t)in_lo * ostride, ostride, mode2);
                for (i = in_hi; i < k; ++i) {
                    dw3_edge(&gc, r, kk, rows, 7, C, in_w, (ox0 + i) * sw - g->pad_left, c, wqp, zp,
                             orow + (size_t)i * ostride, mode2);
                }
                continue;
            }
            if (m_kk != m) {
                if (m == 7) {
                    dw3_biases7(kb, wqp, zp, kk);
                } else {
                    dw3_biases(kb, wqp, m, zp, kk);
                }
                m_kk = m;
            }
            for (i = 0; i < k; ++i) {
                dw3_edge(&gc, r, kk, rows, m, C, in_w, (ox0 + i) * sw - g->pad_left, c, wqp, zp,
                         orow + (size_t)i * ostride, mode2);
            }
        }
    }
}

/* tried: the caller tried dw3_fast_exact on rp already */
TTE_HOT static TTE_NOINLINE void dw3_groups(const tte_conv2d_s8_params_t *p, const rq_t *rp,
                                            const int8_t *const *rows_arg, const int8_t *xb, int32_t nrows,
                                            int32_t oy0, int32_t ox0, int32_t k, const int8_t *w, const int32_t *bias,
                                            const uint32_t *prep, int8_t *out, size_t ostride, int32_t tried)
{
    rq_t rl = *rp; /* a local copy: the int8 stores cannot alias it */
    if (!tried && rl.mode == 0 && dw3_fast_exact(&rl, bias, p->g.in_c & ~3, 9)) {
        rl.mode = 2;
    }
    /* one copy for every mode (the code size): the mode tested per pixel outside dw3_fast */
    dw3_body(p, &rl, rows_arg, xb, nrows, oy0, ox0, k, w, bias, prep, out, ostride, rl.mode == 2);
}

#if !defined(TTE_DW_FEW_REGISTERS)
/* One output row of a 3x3 depthwise through dw3_fast_groups_b on the blocks laid out at compile
 * time, where dw3_body would take dw3_fast_groups (stride 1 or 2, every window row inside,
 * the output stage of mode 2, outputs packed, the pixels left and right of the interior at
 * most one with one column out each): 1, else 0 and nothing written */
static int32_t dw3_blocks_try(const tte_conv2d_s8_params_t *p, const rq_t *rp, const int8_t *const *rows,
                              int32_t ox0, int32_t k, const int32_t *bias, const uint32_t *blocks, int8_t *out,
                              size_t ostride)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t C = g->in_c, sw = g->stride_w, in_w = g->in_w;
    int32_t in_lo, in_hi, lb, rb, ixr;
    if (blocks == NULL || g->k_h != 3 || g->k_w != 3 || sw < 1 || sw > 2 || ostride != (size_t)C || k < 2
        || rows[0] == NULL || rows[1] == NULL || rows[2] == NULL) {
        return 0;
    }
    /* dw3_body's interior [in_lo, in_hi) and border pixels */
    TTE_DW3_INTERIOR(g, sw, in_w, ox0, k, in_lo, in_hi);
    lb = in_lo == 1 && ox0 * sw - g->pad_left == -1 && in_w >= 2;
    ixr = (ox0 + in_hi) * sw - g->pad_left;
    rb = in_hi == k - 1 && ixr >= 0 && in_w - ixr == 2;
    if (!((in_lo == 0 || lb) && (in_hi == k || rb))
        || !(rp->mode == 2 || (rp->mode == 0 && dw3_fast_exact(rp, bias, C & ~3, 9)))) {
        return 0;
    }
    dw3_fast_groups_b(rows, C, blocks, (size_t)(lb ? 0 : (ox0 + in_lo) * sw - g->pad_left) * C,
                      (size_t)(lb * (sw - 1) + (in_hi - in_lo) * sw) * C,
                      (uint32_t)(lb | rb << 1 | ((in_hi - in_lo) & 1) << 2), sw, out);
    return 1;
}
#endif

#if !defined(TTE_DW_FEW_REGISTERS)
/* TTE_DW4_RQ on register A with the block's (r0) words at byte J, zp2 in r8 */
#define TTE_DW3R_RQ(A, J, ADDR)                                                         \
    "ldrd r7, r5, [r0, #" #J "]\n\t"                                                   \
    "smmlar " A ", " A ", r7, " A "\n\t"                                                \
    "add " A ", " A ", " A ", asr #31\n\t"                                             \
    "asr " A ", " A ", r5\n\t"                                                         \
    "qadd " A ", " A ", r8\n\t"                                                         \
    "ssat " A ", #8, " A ", asr #1\n\t"                                                \
    "strb " A ", " ADDR "\n\t"
/* TTE_DW3R_RQ of the four sums r1-r4 (the block's words at bytes 0-31), their bytes at register P
 * and the three after it */
#define TTE_DW3R_RQ4(P)                                                                 \
    TTE_DW3R_RQ("r1", 0, "[" P "]") TTE_DW3R_RQ("r2", 8, "[" P ", #1]")                 \
    TTE_DW3R_RQ("r3", 16, "[" P ", #2]") TTE_DW3R_RQ("r4", 24, "[" P ", #3]")

/* dw3_ring_row's block (32-bit words): dw4_rq's words of the channel group, the end (q0
 * past the last pixel's left column), the outputs' step, the three row pointers, the output
 * pointer, the group's compile-time words (its four folded biases, then its tap words) */
enum { DW3R_RQ = 0, DW3R_END = 9, DW3R_OS = 10, DW3R_Q = 11, DW3R_O = 14, DW3R_PREP = 15, DW3R_WORDS = 16 };

/* One tap of dw3_ring_row: the tap's x words (SXTB16 done) at ADDR into r5, r6, its weight
 * words at byte WOFF of the group's compile-time words (lr) into r7, r8; sums r1..r4
 * (channels c, c + 1, c + 2, c + 3) */
#define TTE_DW3R_TAP(ADDR, WOFF)                                                        \
    "ldrd r5, r6, " ADDR "\n\t"                                                        \
    "ldrd r7, r8, [lr, #" #WOFF "]\n\t"                                                \
    "smlabb r1, r5, r7, r1\n\t"                                                        \
    "smlatt r3, r5, r7, r3\n\t"                                                        \
    "smlabb r2, r6, r8, r2\n\t"                                                        \
    "smlatt r4, r6, r8, r4\n\t"

/* The output pixels of a channel group from three padded rows of dw3_ring_fill's (every
 * window inside: nine taps on the folded bias, one straight path), all given by the block
 * (r0): rows q0, q1, q2 (r9..r11) from the first pixel's left column on, 8 bytes a pixel up to
 * the end word, outputs from o (r12) on, a step apart. The registers are saved and restored
 * in the assembly itself (no operand but the block: gcc keeps the caller's values in
 * registers around it, where fourteen operands made it spill them). */
static TTE_ALWAYS_INLINE void dw3_ring_row(const uint32_t *blk)
{
    register const uint32_t *b __asm__("r0") = blk;
    __asm__ volatile("push {r1-r12, lr}\n\t"
                     "ldr lr, [r0, #60]\n\t"
                     "ldrd r9, r10, [r0, #44]\n\t"
                     "ldrd r11, r12, [r0, #52]\n\t"
                     "1:\n\t"
                     "ldrd r1, r2, [lr]\n\t"
                     "ldrd r3, r4, [lr, #8]\n\t"
                     TTE_DW3R_TAP("[r9], #8", 16)
                     TTE_DW3R_TAP("[r9]", 24)
                     TTE_DW3R_TAP("[r9, #8]", 32)
                     TTE_DW3R_TAP("[r10], #8", 40)
                     TTE_DW3R_TAP("[r10]", 48)
                     TTE_DW3R_TAP("[r10, #8]", 56)
                     TTE_DW3R_TAP("[r11], #8", 64)
                     TTE_DW3R_TAP("[r11]", 72)
                     TTE_DW3R_TAP("[r11, #8]", 80)
                     "ldr r8, [r0, #32]\n\t"
                     TTE_DW3R_RQ4("r12")
                     "ldrd r7, r5, [r0, #36]\n\t"
                     "add r12, r12, r5\n\t"
                     "cmp r9, r7\n\t"
                     "bne 1b\n\t"
                     "pop {r1-r12, lr}"
                     :
                     : "r"(b)
                     : "cc", "memory");
}

/* dw3_ring8_row's block (32-bit words): dw4_rq's words of channels c..c+3, then of c+4..c+7,
 * zp2, the end, the outputs' step, the three row pointers, the output pointer, the first
 * group's compile-time words (the second's 22 words on) */
enum { DW3E_ZP2 = 16, DW3E_END = 17, DW3E_OS = 18, DW3E_Q = 19, DW3E_O = 22, DW3E_PREP = 23, DW3E_WORDS = 24 };

/* dw3_ring8_row's assembly, the first group's four folded biases loaded from B0, B1 (two words
 * each), the second's from B2, B3 */
#define TTE_DW3E_LOOP(B0, B1, B2, B3)                                                   \
    "push {r1-r12, lr}\n\t"                                                             \
    "ldr lr, [r0, #92]\n\t"                                                             \
    "ldr r9, [r0, #76]\n\t"                                                             \
    "ldrd r10, r11, [r0, #80]\n\t"                                                      \
    "ldr r12, [r0, #88]\n\t"                                                            \
    "1:\n\t"                                                                            \
    "ldrd r1, r2, " B0 "\n\t"                                                           \
    "ldrd r3, r4, " B1 "\n\t"                                                           \
    TTE_DW3R_TAP("[r9], #16", 16)                                                       \
    TTE_DW3R_TAP("[r9]", 24)                                                            \
    TTE_DW3R_TAP("[r9, #16]", 32)                                                       \
    TTE_DW3R_TAP("[r10], #16", 40)                                                      \
    TTE_DW3R_TAP("[r10]", 48)                                                           \
    TTE_DW3R_TAP("[r10, #16]", 56)                                                      \
    TTE_DW3R_TAP("[r11], #16", 64)                                                      \
    TTE_DW3R_TAP("[r11]", 72)                                                           \
    TTE_DW3R_TAP("[r11, #16]", 80)                                                      \
    "ldr r8, [r0, #64]\n\t"                                                             \
    TTE_DW3R_RQ4("r12")                                                                 \
    "ldrd r1, r2, " B2 "\n\t"                                                           \
    "ldrd r3, r4, " B3 "\n\t"                                                           \
    TTE_DW3R_TAP("[r9, #-8]", 104)                                                      \
    TTE_DW3R_TAP("[r9, #8]", 112)                                                       \
    TTE_DW3R_TAP("[r9, #24]", 120)                                                      \
    TTE_DW3R_TAP("[r10, #-8]", 128)                                                     \
    TTE_DW3R_TAP("[r10, #8]", 136)                                                      \
    TTE_DW3R_TAP("[r10, #24]", 144)                                                     \
    TTE_DW3R_TAP("[r11, #-8]", 152)                                                     \
    TTE_DW3R_TAP("[r11, #8]", 160)                                                      \
    TTE_DW3R_TAP("[r11, #24]", 168)                                                     \
    "ldr r8, [r0, #64]\n\t"                                                             \
    TTE_DW3R_RQ("r1", 32, "[r12, #4]")                                                  \
    TTE_DW3R_RQ("r2", 40, "[r12, #5]")                                                  \
    TTE_DW3R_RQ("r3", 48, "[r12, #6]")                                                  \
    TTE_DW3R_RQ("r4", 56, "[r12, #7]")                                                  \
    "ldrd r7, r5, [r0, #68]\n\t"                                                        \
    "add r12, r12, r5\n\t"                                                              \
    "cmp r9, r7\n\t"                                                                    \
    "bne 1b\n\t"                                                                        \
    "pop {r1-r12, lr}"

/* dw3_ring_row for two channel groups at once (eight channels, columns of four words in the
 * rows: the first group's two, then the second's): each pixel's first group, then its
 * second, on the same registers; one loop, one pass of the rows' pointers */
static TTE_ALWAYS_INLINE void dw3_ring8_row(const uint32_t *blk)
{
    register const uint32_t *b __asm__("r0") = blk;
    __asm__ volatile(TTE_DW3E_LOOP("[lr]", "[lr, #8]", "[lr, #88]", "[lr, #96]")
                     :
                     : "r"(b)
                     : "cc", "memory");
}

/* dw3_ring's bytes of scratch for k output pixels a row: three rows of k + 2 columns of
 * two words a channel group, two groups at a time from eight channels on */
static size_t dw3_ring_bytes(int32_t k, int32_t C)
{
    return (size_t)3 * (C >= 8 ? 16 : 8) * ((size_t)k + 2);
}

/* dw3_ring_fill's column: word w's bytes as SXTB16 and SXTB16 ROR 8 of it, stored at d (two words) */
#define TTE_DW3_WIDEN(w) \
    "sxtb16 %[e], %[" w "]\n\t" \
    "sxtb16 %[f], %[" w "], ror #8\n\t" \
    "strd %[e], %[f], [%[d]], #8\n\t"

/* Columns [lo, hi) of a padded row of dw3_ring (one channel group's, cw 2; two groups', cw 4),
 * read from src on (C bytes apart; NULL: a row outside the image, the zero point's, zz), each
 * the words SXTB16 and SXTB16 ROR 8 of its four bytes (of each four). The columns outside
 * [lo, hi) hold the zero point's already. */
static TTE_ALWAYS_INLINE void dw3_ring_fill(uint32_t *dst, const int8_t *src, int32_t lo, int32_t hi, int32_t C,
                                            uint32_t zz, int32_t cw)
{
    uint32_t *d = dst + cw * lo;
    int32_t m = (hi - lo) * cw / 2;
    uint32_t v, u, e, f;
    if (m <= 0) {
        return;
    }
    if (src == NULL) {
        do {
            d[0] = zz;
            d[1] = zz;
            d += 2;
        } while (--m > 0);
        return;
    }
    if (cw == 4 && (((uintptr_t)src | (uintptr_t)C) & 3) == 0) {
        /* word-aligned columns: two a pass, each in one LDRD, an odd first one alone (volatile:
         * its outputs are not read, its stores are what counts) */
        uint32_t v2, u2;
        m = hi - lo;
        __asm__ volatile("tst %[m], #1\n\t"
                         "beq 2f\n\t"
                         "ldrd %[v], %[u], [%[s]]\n\t"
                         "add %[s], %[s], %[c]\n\t"
                         TTE_DW3_WIDEN("v")
                         TTE_DW3_WIDEN("u")
                         "subs %[m], %[m], #1\n\t"
                         "beq 3f\n\t"
                         "2:\n\t"
                         "ldrd %[v], %[u], [%[s]]\n\t"
                         "add %[s], %[s], %[c]\n\t"
                         "ldrd %[v2], %[u2], [%[s]]\n\t"
                         "add %[s], %[s], %[c]\n\t"
                         TTE_DW3_WIDEN("v")
                         TTE_DW3_WIDEN("u")
                         TTE_DW3_WIDEN("v2")
                         TTE_DW3_WIDEN("u2")
                         "subs %[m], %[m], #2\n\t"
                         "bne 2b\n\t"
                         "3:"
                         : [d] "+r"(d), [s] "+r"(src), [m] "+r"(m), [v] "=&r"(v), [u] "=&r"(u), [v2] "=&r"(v2),
                           [u2] "=&r"(u2), [e] "=&r"(e), [f] "=&r"(f)
                         : [c] "r"(C)
                         : "cc", "memory");
        return;
    }
    if (cw == 4) {
        /* a column a pass (volatile: as above) */
        m = hi - lo;
        __asm__ volatile("1:\n\t"
                         "ldr %[v], [%[s]]\n\t"
                         "ldr %[u], [%[s], #4]\n\t"
                         "add %[s], %[s], %[c]\n\t"
                         TTE_DW3_WIDEN("v")
                         TTE_DW3_WIDEN("u")
                         "subs %[m], %[m], #1\n\t"
                         "bne 1b"
                         : [d] "+r"(d), [s] "+r"(src), [m] "+r"(m), [v] "=&r"(v), [u] "=&r"(u), [e] "=&r"(e),
                           [f] "=&r"(f)
                         : [c] "r"(C)
                         : "cc", "memory");
        return;
    }
    /* two columns a pass, an odd first one alone (volatile: as above) */
    __asm__ volatile("tst %[m], #1\n\t"
                     "beq 2f\n\t"
                     "ldr %[v], [%[s]]\n\t"
                     "add %[s], %[s], %[c]\n\t"
                     TTE_DW3_WIDEN("v")
                     "subs %[m], %[m], #1\n\t"
                     "beq 3f\n\t"
                     "2:\n\t"
                     "ldr %[v], [%[s]]\n\t"
                     "ldr %[u], [%[s], %[c]]\n\t"
                     "add %[s], %[s], %[c], lsl #1\n\t"
                     TTE_DW3_WIDEN("v")
                     TTE_DW3_WIDEN("u")
                     "subs %[m], %[m], #2\n\t"
                     "bne 2b\n\t"
                     "3:"
                     : [d] "+r"(d), [s] "+r"(src), [m] "+r"(m), [v] "=&r"(v), [u] "=&r"(u), [e] "=&r"(e),
                       [f] "=&r"(f)
                     : [c] "r"(C)
                     : "cc", "memory");
}

/* The pixel-pair layout of dw3_ring's and dw3_wide's rows (dwp_*): per pass of G channels (8,
 * then 4), a row of ncol columns is G / 2 words a column; columns 2i and 2i + 1 make a pair
 * of G words, word c the int16 lanes (x at 2i, x at 2i + 1) of channel c, so that one SMLAD
 * takes two taps of a channel; an odd row's last column, alone, is G int16 in channel order.
 * The pass's block (32-bit words): the output stage's words (dw4_rq_word's of its channels,
 * or on doubled words dwp_k_words'), zp2, the outputs' step, the end (q0 past the last pair),
 * the three row pointers, the output pointer, the pass's words of _dw3_pair_words
 * (tte/compiler/emit/block.py: per channel pair two folded biases, then per window row
 * w0 + 65536 w1 and w1 + 65536 w2 of each channel; doubled: all twice theirs): DWP_* and the
 * output stage's and the loop's macros in tte/internal/dwp.h, which depthwise_s2_s8.c's stride-2
 * kernel shares */

/* The second half of TTE_DWP_ROW and TTE_DWP_ROW_FIRST: the pair (j + 2, j + 3) at address A1
 * of row register R (its offset and bracket: "#32]!" moves R on to the next pair of pixels) on
 * the weight words (w1 w2) at byte WB of lr */
#define TTE_DWP_ROW_P1(R, A1, WB)                                                       \
    "ldrd r5, r6, [" R ", " A1 "\n\t"                                                  \
    "ldrd r7, r8, [lr, #" WB "]\n\t"                                                   \
    "smlabt r1, r5, r7, r1\n\t"                                                         \
    "smlad r3, r5, r7, r3\n\t"                                                          \
    "smlabt r2, r6, r8, r2\n\t"                                                         \
    "smlad r4, r6, r8, r4\n\t"

/* One window row of a channel pair's two output pixels (sums r1, r2: pixel j, channels c,
 * c + 1; r3, r4: pixel j + 1) from row register R: the pair (j, j + 1) at address A0, the pair
 * (j + 2, j + 3) at A1 (TTE_DWP_ROW_P1's), the row's weight words at bytes WA (w0 w1) and WB
 * (w1 w2) of lr */
#define TTE_DWP_ROW(R, A0, A1, WA, WB)                                                  \
    "ldrd r5, r6, [" R ", " A0 "\n\t"                                                  \
    "ldrd r7, r8, [lr, #" WA "]\n\t"                                                   \
    "smlad r1, r5, r7, r1\n\t"                                                          \
    "smlatb r3, r5, r7, r3\n\t"                                                         \
    "smlad r2, r6, r8, r2\n\t"                                                          \
    "smlatb r4, r6, r8, r4\n\t"                                                         \
    TTE_DWP_ROW_P1(R, A1, WB)

/* TTE_DWP_ROW on the biases (r1, r2: pixel j's sums start from them, r3, r4 from r1, r2 before
 * their first product) */
#define TTE_DWP_ROW_FIRST(R, A0, A1, WA, WB)                                            \
    "ldrd r5, r6, [" R ", " A0 "\n\t"                                                  \
    "ldrd r7, r8, [lr, #" WA "]\n\t"                                                   \
    "smlatb r3, r5, r7, r1\n\t"                                                         \
    "smlatb r4, r6, r8, r2\n\t"                                                         \
    "smlad r1, r5, r7, r1\n\t"                                                          \
    "smlad r2, r6, r8, r2\n\t"                                                          \
    TTE_DWP_ROW_P1(R, A1, WB)

/* Channels c, c + 1 (the pass's pair h) of pixels j and j + 1: A0 the address of the pair in a
 * row, A1 that of the next pair (TTE_DWP_ROW's), W the pair's words (byte 56 h of lr), J its
 * output stage's words (byte 16 h of the block) */
#define TTE_DWP_SUB(A0, A1, W, J) TTE_DWP_SUB_ANY(TTE_DWP_ROWS(A0, A1, W), W, J)
#define TTE_DWP_ROWS(A0, A1, W)                                                         \
    TTE_DWP_ROW_FIRST("r9", A0, A1, W "+8", W "+16")                                    \
    TTE_DWP_ROW("r10", A0, A1, W "+24", W "+32")                                        \
    TTE_DWP_ROW("r11", A0, A1, W "+40", W "+48")
/* The biases, the window's rows (ROWS, the first on the biases) and the output stage of a
 * channel pair */
#define TTE_DWP_SUB_ANY(ROWS, W, J)                                                     \
    "ldrd r1, r2, [lr, #" W "]\n\t"                                                    \
    ROWS                                                                                \
    TTE_DWP_RQ2("r1", "r3", J)                                                          \
    TTE_DWP_RQ2("r2", "r4", J "+8")                                                     \
    "ldrd r7, r8, [r0, #96]\n\t"                                                       \
    TTE_DWP_PUT4(TTE_DWP_PUT)

/* TTE_DWPK_Q (tte/internal/dwp.h) for an output zero point of -128 (dwp_k_words' flag 2): SMMLAR
 * adds K itself. A sum below 0 gives at most what a sum of 0 gives, out_zp, both with and without
 * the [sum < 0] (every step after the product is monotone), so the clamp at -128 = out_zp makes
 * them equal. */
#define TTE_DWPZ_Q(A, B, J)                                                             \
    "ldrd r7, r8, [r0, #" J "]\n\t"                                                    \
    "smmlar " A ", " A ", r7, r8\n\t"                                                  \
    "smmlar " B ", " B ", r7, r8\n\t"

/* TTE_DWP_SUB on doubled words: J the pair's output-stage words (byte 24 h of the block); the
 * outputs' step and the pass's end into r8 and r7 (TTE_DWP_LOOP's tail after the last pair) */
#define TTE_DWPK_SUB(A0, A1, W, J) TTE_DWPK_SUB_Q(TTE_DWPK_Q, A0, A1, W, J)
/* the same for an output zero point of -128 (TTE_DWPZ_Q) */
#define TTE_DWPZ_SUB(A0, A1, W, J) TTE_DWPK_SUB_Q(TTE_DWPZ_Q, A0, A1, W, J)
/* TTE_DWPK_SUB with the output stage's first steps Q (TTE_DWPK_Q or TTE_DWPZ_Q) */
#define TTE_DWPK_SUB_Q(Q, A0, A1, W, J)                                                 \
    "ldrd r1, r2, [lr, #" W "]\n\t"                                                    \
    TTE_DWP_ROWS(A0, A1, W)                                                             \
    Q("r1", "r3", J)                                                                    \
    Q("r2", "r4", J "+8")                                                               \
    "ldrd r7, r8, [r0, #" J "+16]\n\t"                                                 \
    "asr r1, r1, r7\n\t"                                                                \
    "asr r3, r3, r7\n\t"                                                                \
    "asr r2, r2, r8\n\t"                                                                \
    "asr r4, r4, r8\n\t"                                                                \
    "ldrd r8, r7, [r0, #100]\n\t"                                                      \
    TTE_DWP_PUT4(TTE_DWPK_PUT)

/* TTE_DWP_ROW8, TTE_DWP_ROW4: the body of an eight- or four-channel pass (TTE_DWP_RUN's), its
 * channel pairs' sub-blocks SUB (TTE_DWP_SUB, or TTE_DWPK_SUB on doubled words), the second to
 * fourth pairs' output-stage words at J1, J2, J3; the first pair's second loads move the rows on
 * by a pair of pixels (32 or 16 bytes), the other pairs' addresses from there */
#define TTE_DWP_ROW8(SUB, J1, J2, J3)                                                   \
    SUB("#0]", "#32]!", "0", "0") SUB("#-24]", "#8]", "56", J1) SUB("#-16]", "#16]", "112", J2) \
        SUB("#-8]", "#24]", "168", J3)
#define TTE_DWP_ROW4(SUB, J1) SUB("#0]", "#16]!", "0", "0") SUB("#-8]", "#8]", "56", J1)

/* The pairs of output pixels of an eight-channel pass */
static TTE_NOINLINE void dwp_row8(const uint32_t *blk)
{
    TTE_DWP_RUN(blk, TTE_DWP_ROW8(TTE_DWP_SUB, "16", "32", "48"), "8", TTE_DWP_TAIL);
}

/* The pairs of output pixels of a four-channel pass */
static TTE_NOINLINE void dwp_row4(const uint32_t *blk)
{
    TTE_DWP_RUN(blk, TTE_DWP_ROW4(TTE_DWP_SUB, "16"), "4", TTE_DWP_TAIL);
}

/* dwp_row8 on doubled words (dwp_k_words' output stage) */
static TTE_NOINLINE void dwp_row8k(const uint32_t *blk)
{
    TTE_DWP_RUN(blk, TTE_DWP_ROW8(TTE_DWPK_SUB, "24", "48", "72"), "8", "");
}

/* dwp_row4 on doubled words */
static TTE_NOINLINE void dwp_row4k(const uint32_t *blk)
{
    TTE_DWP_RUN(blk, TTE_DWP_ROW4(TTE_DWPK_SUB, "24"), "4", "");
}

/* dwp_row8k for an output zero point of -128 (TTE_DWPZ_Q) */
static TTE_NOINLINE void dwp_row8z(const uint32_t *blk)
{
    TTE_DWP_RUN(blk, TTE_DWP_ROW8(TTE_DWPZ_SUB, "24", "48", "72"), "8", "");
}

/* dwp_row4k for an output zero point of -128 */
static TTE_NOINLINE void dwp_row4z(const uint32_t *blk)
{
    TTE_DWP_RUN(blk, TTE_DWP_ROW4(TTE_DWPZ_SUB, "24"), "4", "");
}

/* TTE_DWPK_Q and TTE_DWPK_PUT of doubled sum a with the channel's mult and K at q, ASR amount e,
 * its byte at o */
static TTE_ALWAYS_INLINE void dwp_rqk1(const uint32_t *q, uint32_t e, int32_t a, int8_t *o)
{
    uint32_t m, k;
    __asm__ volatile("ldrd %[m], %[k], [%[q]]\n\t"
                     "add %[k], %[k], %[a], asr #31\n\t"
                     "smmlar %[a], %[a], %[m], %[k]\n\t"
                     "asr %[a], %[a], %[e]\n\t"
                     "ssat %[a], #8, %[a], asr #1\n\t"
                     "strb %[a], [%[o]]"
                     : [a] "+r"(a), [m] "=&r"(m), [k] "=&r"(k)
                     : [q] "r"(q), [e] "r"(e), [o] "r"(o)
                     : "memory");
}

/* TTE_DW4_RQ of sum a with the channel's words at rq, zp2 z, its byte at o */
static TTE_ALWAYS_INLINE void dwp_rq1(const uint32_t *rq, uint32_t z, int32_t a, int8_t *o)
{
    uint32_t m, s;
    __asm__ volatile("ldrd %[m], %[s], [%[rq]]\n\t"
                     "smmlar %[a], %[a], %[m], %[a]\n\t"
                     "add %[a], %[a], %[a], asr #31\n\t"
                     "asr %[a], %[a], %[s]\n\t"
                     "qadd %[a], %[a], %[z]\n\t"
                     "ssat %[a], #8, %[a], asr #1\n\t"
                     "strb %[a], [%[o]]"
                     : [a] "+r"(a), [m] "=&r"(m), [s] "=&r"(s)
                     : [rq] "r"(rq), [z] "r"(z), [o] "r"(o)
                     : "memory");
}

/* Output pixel j alone (window columns j..j + 2, j even) of a pass of G channels over rows s0..s2
 * of ncol columns, the pass's block blk, into o: the last of an odd row with no column past its
 * window. SMLAD of its pair by w0 w1, and the third column (an odd row's last, alone) by w2. */
static TTE_NOINLINE void dwp_lone(const uint32_t *blk, const uint32_t *s0, const uint32_t *s1, const uint32_t *s2,
                                  int32_t G, int32_t ncol, int32_t j, int8_t *o, int32_t dbl)
{
    const uint32_t *const wp = (const uint32_t *)(uintptr_t)blk[DWP_W];
    const uint32_t *const rows[3] = {s0, s1, s2};
    const int32_t last = (ncol & 1) != 0 && j + 2 == ncol - 1;
    const size_t p0 = (size_t)(G >> 1) * (size_t)j, p1 = p0 + (size_t)G;
    int32_t c, ky;
    for (c = 0; c < G; ++c) {
        const uint32_t *const pw = wp + 14 * (c >> 1) + (c & 1);
        int32_t a = (int32_t)pw[0];
        for (ky = 0; ky < 3; ++ky) {
            const int32_t x2 = last ? ((const int16_t *)(const void *)(rows[ky] + p1))[c]
                                    : (int32_t)(int16_t)rows[ky][p1 + c];
            a = tte_smlad(rows[ky][p0 + c], pw[2 + 4 * ky], a);
            a = smlabb((uint32_t)x2, (int32_t)(int16_t)(pw[4 + 4 * ky] >> 16), a);
        }
        if (dbl) {
            const uint32_t *const q = blk + 6 * (c >> 1);
            dwp_rqk1(q + 2 * (c & 1), q[4 + (c & 1)], a, o + c);
        } else {
            dwp_rq1(blk + 2 * c, blk[DWP_ZP2], a, o + c);
        }
    }
}

/* dwp_run_fn (tte/internal/dwp.h): dwp_row8, dwp_row4, dwp_row8k, dwp_row4k, chosen once a pass */

/* The kernel of a pass of G channels whose words carry _dw3_pair_words' flag: 0 plain, 1 doubled,
 * 2 doubled with an output zero point of -128 */
static dwp_run_fn dwp_kernel(int32_t G, uint32_t flag)
{
    if (flag == 2) {
        return G == 8 ? dwp_row8z : dwp_row4z;
    }
    return flag != 0 ? (G == 8 ? dwp_row8k : dwp_row4k) : (G == 8 ? dwp_row8 : dwp_row4);
}

/* The pairs of output pixels (j, j + 1) .. (j + 2 np - 2, j + 2 np - 1), j even, of a pass of G
 * channels over rows s0..s2 into out on (blk as dwp_span's) by the pass's kernel run */
static TTE_ALWAYS_INLINE void dwp_pairs_run(uint32_t *blk, const uint32_t *s0, const uint32_t *s1,
                                            const uint32_t *s2, int32_t G, int32_t j, int32_t np, int8_t *out,
                                            dwp_run_fn run)
{
    const size_t at = (size_t)(G >> 1) * (size_t)j;
    blk[DWP_Q] = (uint32_t)(uintptr_t)(s0 + at);
    blk[DWP_Q + 1] = (uint32_t)(uintptr_t)(s1 + at);
    blk[DWP_Q + 2] = (uint32_t)(uintptr_t)(s2 + at);
    blk[DWP_END] = (uint32_t)(uintptr_t)(s0 + at + (size_t)G * np);
    blk[DWP_O] = (uint32_t)(uintptr_t)out;
    run(blk);
}

/* Output pixels [0, k) of a pass of G channels over rows s0..s2 of ncol columns (block blk: its
 * output stage, zp2, step and words set) into out, a step ostride: pairs of pixels in
 * dwp_pairs_run; the last of an odd k as the first of a pair whose second goes to a buffer of
 * its own where the row has a column past the window (dw3_ring's extra one), else in dwp_lone;
 * run: the pass's kernel, dbl: whether its words are doubled (dwp_k_words' output stage) */
static void dwp_span(uint32_t *blk, const uint32_t *s0, const uint32_t *s1, const uint32_t *s2, int32_t G,
                     int32_t ncol, int32_t k, int8_t *out, size_t ostride, dwp_run_fn run, int32_t dbl)
{
    const int32_t np = k >> 1;
    int8_t spare[8]; /* the outputs of a pair's second pixel past the span */
    if (np > 0) {
        dwp_pairs_run(blk, s0, s1, s2, G, 0, np, out, run);
        out += (size_t)2 * np * ostride;
    }
    if ((k & 1) != 0) {
        if (k + 2 <= ncol - 1) {
            blk[DWP_OS] = (uint32_t)((uintptr_t)spare - (uintptr_t)out);
            dwp_pairs_run(blk, s0, s1, s2, G, k - 1, 1, out, run);
            blk[DWP_OS] = (uint32_t)ostride;
        } else {
            dwp_lone(blk, s0, s1, s2, G, ncol, k - 1, out, dbl);
        }
    }
}

/* The sum of a 3x3 channel's nine taps, its first eight bytes in u0 and u1, the ninth w8: USAD8
 * and USADA8 add the eight bytes flipped to unsigned (x + 128: 1,024 too many) */
static TTE_ALWAYS_INLINE uint32_t dwp_tap_sum(uint32_t u0, uint32_t u1, int32_t w8)
{
    uint32_t s;
    __asm__("usad8 %0, %1, %3\n\t"
            "usada8 %0, %2, %3, %0"
            : "=&r"(s)
            : "r"(u0 ^ 0x80808080u), "r"(u1 ^ 0x80808080u), "r"(0u));
    return s - 1024u + (uint32_t)w8;
}

/* Halfword packing: the low half of a with the high half of b (PKHBT; b << 16 is dws_lo, the
 * high half of a with b >> 16 dw3_pkhtb) */
static TTE_ALWAYS_INLINE uint32_t dwp_pkhbt(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("pkhbt %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

/* dwp's words of one channel (taps wc, bias b) at pw: its nine taps read as two words and a byte,
 * their int16 lanes by SXTB16 (bytes 0 2, 1 3, 4 6, 5 7) and halfword packing */
static TTE_ALWAYS_INLINE void dwp_channel_words(const int8_t *wc, int32_t b, int32_t zp, uint32_t *pw)
{
    const uint32_t u0 = load4(wc), u1 = load4(wc + 4);
    const int32_t w8 = wc[8];
    const uint32_t e0 = tte_sxtb16(u0), o0 = tte_sxtb16_ror8(u0);
    const uint32_t e1 = tte_sxtb16(u1), o1 = tte_sxtb16_ror8(u1);
    pw[0] = (uint32_t)b - (uint32_t)zp * dwp_tap_sum(u0, u1, w8);
    pw[2] = dws_lo(e0, o0);
    pw[4] = dwp_pkhbt(o0, e0);
    pw[6] = o0 >> 16 | e1 << 16;
    pw[8] = dws_lo(e1, o1);
    pw[10] = dw3_pkhtb(o1, e1);
    pw[12] = o1 >> 16 | (uint32_t)w8 << 16;
}

/* dwp's words of channels [c, c + G) (_dw3_pair_words's; G 4 or 8) into dst, from the weights w
 * and bias (NULL: zeros) of a 3x3 depthwise with input zero point zp, a channel pair a pass */
static TTE_NOINLINE void dwp_words(const int8_t *w, const int32_t *bias, int32_t zp, int32_t c, int32_t G, uint32_t *dst)
{
    static const int32_t no_bias[8];
    const int32_t *b = bias != NULL ? bias + c : no_bias;
    const int8_t *wc = w + (size_t)c * 9;
    uint32_t *pw = dst;
    uint32_t *const end = dst + 7 * G;
    for (; pw != end; pw += 14, wc += 18, b += 2) {
        dwp_channel_words(wc, b[0], zp, pw);
        dwp_channel_words(wc + 9, b[1], zp, pw + 1);
    }
}

/* The zero point's words (zz) in the columns outside [lo, hi) of the n-column rows of the
 * ring's three slots (slot words apart, cw words a column): once per layout, the fills leave
 * them */
static void dw3_ring_pad(uint32_t *ring, size_t slot, int32_t lo, int32_t hi, int32_t n, uint32_t zz, int32_t cw)
{
    int32_t s, i;
    for (s = 0; s < 3; ++s) {
        uint32_t *const d = ring + (size_t)s * slot;
        for (i = 0; i < cw * lo; ++i) {
            d[i] = zz;
        }
        for (i = cw * hi; i < cw * n; ++i) {
            d[i] = zz;
        }
    }
}

/* dw3_ring on channel-pair rows (dw3_ring_fill's, dw3_ring8_row, dw3_ring_row), where a call's
 * one output row fills all three window rows (rows_arg), or
 * its rows are narrow (DW3_PAIR_MIN_K): their fill costs less than the pixel-pair layout's. Weights laid out at compile time (prep), or
 * made per channel group from w and bias into own (44 words) where prep is NULL. */
/* The compile-time words of channel group c (tte.compiler.emit.block.dw_layout's: the four
 * biases with the zero point's share folded in, then per tap the SXTB16 and SXTB16 ROR 8 of its
 * four channels' weights) into dst, from the weights w and bias of a 3x3 depthwise */
static void dw3_group_words(const int8_t *w, const int32_t *bias, int32_t zp, int32_t c, uint32_t *dst)
{
    const int8_t *wc = w + (size_t)c * 9;
    const int32_t b4[4] = {bias ? bias[c] : 0, bias ? bias[c + 1] : 0, bias ? bias[c + 2] : 0, bias ? bias[c + 3] : 0};
    uint32_t se = 0, so = 0; /* the weights' sums, lanes as the tap words' (nine int8: no wrap) */
    int32_t t;
    for (t = 0; t < 9; ++t) {
        const uint32_t wv = (uint32_t)(uint8_t)wc[t] | (uint32_t)(uint8_t)wc[9 + t] << 8
                            | (uint32_t)(uint8_t)wc[18 + t] << 16 | (uint32_t)(uint8_t)wc[27 + t] << 24;
        const uint32_t e = tte_sxtb16(wv), o = tte_sxtb16_ror8(wv);
        dst[4 + 2 * t] = e;
        dst[5 + 2 * t] = o;
        se = sadd16(se, e);
        so = sadd16(so, o);
    }
    dw3_fold(b4, se, so, -zp, (int32_t *)(void *)dst);
}

static TTE_NOINLINE void dw3_ring_chan(const tte_conv2d_s8_params_t *p, const rq_t *r, const int8_t *const *rows_arg,
                                  const int8_t *xb, int32_t nrows, int32_t oy0, int32_t ox0, int32_t k,
                                  const uint32_t *prep, const int8_t *w, const int32_t *bias, uint32_t *own,
                                  int8_t *out, size_t ostride, uint32_t *ring, int32_t wide)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t C = g->in_c, ncol = k + 2, ix0 = ox0 - g->pad_left, in_h = g->in_h;
    /* the slot columns [lo, hi) inside the image, read from input column ix0 + lo on */
    const int32_t lo = ix0 < 0 ? (-ix0 < ncol ? -ix0 : ncol) : 0;
    const int32_t hi0 = g->in_w - ix0 < ncol ? g->in_w - ix0 : ncol, hi = hi0 < lo ? lo : hi0;
    const size_t xo0 = (size_t)(ix0 + lo) * C, row_bytes = (size_t)g->in_w * C;
    const int32_t top0 = oy0 - g->pad_top; /* the input row of window row 0 of the first output row */
    const uint32_t zz = pack16(p->in_zp, p->in_zp);
    uint32_t blk[DW3E_WORDS] __attribute__((aligned(8)));
    int32_t c = 0, cw, oy;
    /* eight channels a pass (cw 4 words a column), then four */
    for (cw = wide ? 4 : 2; cw >= 2; cw -= 2) {
        const int32_t n = 2 * cw;
        const size_t slot = (size_t)cw * ncol;
        const int32_t iz = cw == 4 ? DW3E_ZP2 : DW3R_RQ + DW4_ZP2, ie = cw == 4 ? DW3E_END : DW3R_END;
        const int32_t iq = cw == 4 ? DW3E_Q : DW3R_Q, io = cw == 4 ? DW3E_O : DW3R_O;
        const int32_t ip = cw == 4 ? DW3E_PREP : DW3R_PREP;
        if (c + n > C) {
            continue;
        }
        blk[iz] = (uint32_t)r->zp2;
        blk[cw == 4 ? DW3E_OS : DW3R_OS] = (uint32_t)ostride;
        dw3_ring_pad(ring, slot, lo, hi, ncol, zz, cw);
        for (; c + n <= C; c += n) {
            uint32_t *qa = ring, *qb = ring + slot, *qc = ring + 2 * slot;
            int8_t *o = out + c;
            const size_t xo = xo0 + (size_t)c;
            if (prep != NULL) {
                blk[ip] = (uint32_t)(uintptr_t)(prep + (size_t)(c >> 2) * 22);
            } else {
                dw3_group_words(w, bias, p->in_zp, c, own);
                if (cw == 4) {
                    dw3_group_words(w, bias, p->in_zp, c + 4, own + 22);
                }
                blk[ip] = (uint32_t)(uintptr_t)own;
            }
            dw3_rq_words(blk, r->mult + c, r->shift + c);
            if (cw == 4) {
                dw3_rq_words(blk + 8, r->mult + c + 4, r->shift + c + 4);
            }
            if (xb == NULL) {
                /* one output row, its three window rows given */
                dw3_ring_fill(qa, rows_arg[0] == NULL ? NULL : rows_arg[0] + xo, lo, hi, C, zz, cw);
                dw3_ring_fill(qb, rows_arg[1] == NULL ? NULL : rows_arg[1] + xo, lo, hi, C, zz, cw);
                dw3_ring_fill(qc, rows_arg[2] == NULL ? NULL : rows_arg[2] + xo, lo, hi, C, zz, cw);
                nrows = 1;
            } else {
                const int32_t iy = top0;
                dw3_ring_fill(qa, (uint32_t)iy < (uint32_t)in_h ? xb + xo + (size_t)iy * row_bytes : NULL, lo, hi, C,
                              zz, cw);
                dw3_ring_fill(qb, (uint32_t)(iy + 1) < (uint32_t)in_h ? xb + xo + (size_t)(iy + 1) * row_bytes : NULL,
                              lo, hi, C, zz, cw);
            }
            for (oy = 0; oy < nrows; ++oy) {
                if (xb != NULL) {
                    const int32_t iy = top0 + oy + 2;
                    dw3_ring_fill(qc, (uint32_t)iy < (uint32_t)in_h ? xb + xo + (size_t)iy * row_bytes : NULL, lo,
                                  hi, C, zz, cw);
                }
                blk[ie] = (uint32_t)(uintptr_t)(qa + (size_t)cw * k);
                blk[iq] = (uint32_t)(uintptr_t)qa;
                blk[iq + 1] = (uint32_t)(uintptr_t)qb;
                blk[iq + 2] = (uint32_t)(uintptr_t)qc;
                blk[io] = (uint32_t)(uintptr_t)o;
                if (cw == 4) {
                    dw3_ring8_row(blk);
                } else {
                    dw3_ring_row(blk);
                }
                o += (size_t)k * ostride;
                {
                    /* the next output row's window: one input row on */
                    uint32_t *const t = qa;
                    qa = qb;
                    qb = qc;
                    qc = t;
                }
            }
        }
    }
}

/* A 3x3 stride-1 depthwise over channels [0, C & ~3) of output pixels [ox0, ox0 + k) of
 * nrows output rows (from image xb, rows oy0 on; or, xb NULL, one row of rows_arg) through a
 * copy in scratch (ring, dw3_ring_bytes): per pass of eight channels (wide) or four, each input
 * row the windows read once in dwp's layout, the padding the zero point's, in a ring of three;
 * then every pixel is inside (dwp_span). Mode 2 (the caller checks), weights laid out at
 * compile time (prep: dw_layout's, then _dw3_pair_words's), or made per pass from w and bias
 * into own (56 words) where prep is NULL. */
static TTE_NOINLINE void dw3_ring(const tte_conv2d_s8_params_t *p, const rq_t *r, const int8_t *const *rows_arg,
                                  const int8_t *xb, int32_t nrows, int32_t oy0, int32_t ox0, int32_t k,
                                  const uint32_t *prep, const int8_t *w, const int32_t *bias, uint32_t *own,
                                  int8_t *out, size_t ostride, uint32_t *ring, size_t ring_bytes)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t wide = ring_bytes >= dw3_ring_bytes(k, g->in_c);
    /* an odd k: one more column where it fits, so that no column is alone in the layout and the
     * last pixel goes as a pair's first (dwp_span) */
    const int32_t more = (k & 1) != 0 && ring_bytes >= dw3_ring_bytes(k + 1, wide ? g->in_c : 4);
    const int32_t C = g->in_c, ncol = k + 2 + more, ix0 = ox0 - g->pad_left, in_h = g->in_h;
    /* the slot columns [lo, hi) inside the image, read from input column ix0 + lo on */
    const int32_t lo = ix0 < 0 ? (-ix0 < ncol ? -ix0 : ncol) : 0;
    const int32_t hi0 = g->in_w - ix0 < ncol ? g->in_w - ix0 : ncol, hi = hi0 < lo ? lo : hi0;
    const size_t xo0 = (size_t)(ix0 + lo) * C, row_bytes = (size_t)g->in_w * C;
    const int32_t top0 = oy0 - g->pad_top; /* the input row of window row 0 of the first output row */
    const uint32_t zz = pack16(p->in_zp, p->in_zp);
    const uint32_t *const pairs = prep != NULL ? prep + (size_t)(C >> 2) * 22 : NULL;
    uint32_t blk[DWP_WORDS] __attribute__((aligned(8)));
    int32_t c = 0, G, oy, s, dbl;
    uint32_t flag;
    dwp_run_fn run;
    blk[DWP_ZP2] = (uint32_t)r->zp2;
    blk[DWP_OS] = (uint32_t)ostride;
    /* eight channels a pass, then four */
    for (G = wide ? 8 : 4; G >= 4; G -= 4) {
        const size_t slot = (size_t)(G >> 1) * ncol;
        if (c + G > C) {
            continue;
        }
        for (s = 0; s < 3; ++s) {
            dwp_pad(ring + (size_t)s * slot, lo, hi, ncol, G, zz);
        }
        for (; c + G <= C; c += G) {
            uint32_t *qa = ring, *qb = ring + slot, *qc = ring + 2 * slot;
            int8_t *o = out + c;
            const size_t xo = xo0 + (size_t)c;
            if (pairs != NULL) {
                blk[DWP_W] = (uint32_t)(uintptr_t)(pairs + (size_t)7 * c);
                flag = pairs[(size_t)7 * (C & ~3)]; /* _dw3_pair_words' flag */
            } else {
                /* made per pass: plain (doubling them and testing whether it may costs more
                 * than it saves on the few pixels of a pass of these images) */
                dwp_words(w, bias, p->in_zp, c, G, own);
                blk[DWP_W] = (uint32_t)(uintptr_t)own;
                flag = 0;
            }
            dbl = flag != 0;
            run = dwp_kernel(G, flag);
            if (dbl) {
                dwp_k_words(blk, r->mult + c, r->shift + c, r->zp2, G);
            } else {
                dw3_rq_words(blk, r->mult + c, r->shift + c);
                if (G == 8) {
                    dw3_rq_words(blk + 8, r->mult + c + 4, r->shift + c + 4);
                }
            }
            if (xb == NULL) {
                /* one output row, its three window rows given */
                dwp_fill(qa, rows_arg[0] == NULL ? NULL : rows_arg[0] + xo, lo, hi, ncol, C, G, zz);
                dwp_fill(qb, rows_arg[1] == NULL ? NULL : rows_arg[1] + xo, lo, hi, ncol, C, G, zz);
                dwp_fill(qc, rows_arg[2] == NULL ? NULL : rows_arg[2] + xo, lo, hi, ncol, C, G, zz);
                nrows = 1;
            } else {
                const int32_t iy = top0;
                dwp_fill(qa, (uint32_t)iy < (uint32_t)in_h ? xb + xo + (size_t)iy * row_bytes : NULL, lo, hi, ncol,
                         C, G, zz);
                dwp_fill(qb, (uint32_t)(iy + 1) < (uint32_t)in_h ? xb + xo + (size_t)(iy + 1) * row_bytes : NULL,
                         lo, hi, ncol, C, G, zz);
            }
            for (oy = 0; oy < nrows; ++oy) {
                if (xb != NULL) {
                    const int32_t iy = top0 + oy + 2;
                    dwp_fill(qc, (uint32_t)iy < (uint32_t)in_h ? xb + xo + (size_t)iy * row_bytes : NULL, lo, hi,
                             ncol, C, G, zz);
                }
                dwp_span(blk, qa, qb, qc, G, ncol, k, o, ostride, run, dbl);
                o += (size_t)k * ostride;
                {
                    /* the next output row's window: one input row on */
                    uint32_t *const t = qa;
                    qa = qb;
                    qb = qc;
                    qc = t;
                }
            }
        }
    }
}

#endif

#if !defined(TTE_DW_FEW_REGISTERS)
/* dw3_ring's rows kept whole across calls (tte_conv2d_s8_dw3_wide_bytes's scratch ws): first
 * the input row each slot holds and the current output row's first window row (DW3W_HEAD words:
 * DW3W_TOP the latter), a block of DWP_WORDS words per pass of eight channels (then four), set
 * up once by tte_conv2d_s8_dw3_wide_init (the output stage's words, the address of the pass's
 * words of _dw3_pair_words, after dw_layout's), then three slots of input rows in dwp's
 * pixel-pair layout over every input column and channel (G / 2 words a column, ncol columns a
 * pass), so nothing is copied per call */
enum { DW3W_TOP = 3, DW3W_HEAD = 4 };

/* The slot of input row iy (three consecutive rows: three slots) */
static TTE_ALWAYS_INLINE int32_t dw3_wide_of(int32_t iy)
{
    return (iy % 3 + 3) % 3;
}

static int32_t dw3_wide_passes(int32_t C)
{
    return (C + 4) / 8;
}

/* The first word of slot s of ws */
static uint32_t *dw3_wide_slot(const tte_conv2d_geom_t *g, void *ws, int32_t s)
{
    return (uint32_t *)ws + DW3W_HEAD + (size_t)DW3W_BLOCK_WORDS * dw3_wide_passes(g->in_c)
           + (size_t)s * (size_t)g->in_c / 2 * ((size_t)g->out_w + 2);
}

/* Output pixel j (odd: window columns j..j + 2, the second of pair j - 1 and the pair j + 1) of
 * a pass of G channels over rows s0..s2, the pass's block blk, into o: a chunk that starts at an
 * odd pixel. SMLATB of its first column by w0, SMLAD of the pair by w1 w2; dbl: whether the
 * words are doubled (dwp_k_words' output stage, as dwp_lone's) */
static TTE_NOINLINE void dwp_odd(const uint32_t *blk, const uint32_t *s0, const uint32_t *s1, const uint32_t *s2,
                                 int32_t G, int32_t j, int8_t *o, int32_t dbl)
{
    const uint32_t *const wp = (const uint32_t *)(uintptr_t)blk[DWP_W];
    const uint32_t *const rows[3] = {s0, s1, s2};
    const size_t p0 = (size_t)(G >> 1) * (size_t)(j - 1), p1 = p0 + (size_t)G;
    int32_t c, ky;
    for (c = 0; c < G; ++c) {
        const uint32_t *const pw = wp + 14 * (c >> 1) + (c & 1);
        int32_t a = (int32_t)pw[0];
        for (ky = 0; ky < 3; ++ky) {
            a = smlatb(rows[ky][p0 + c], (int32_t)pw[2 + 4 * ky], a);
            a = tte_smlad(rows[ky][p1 + c], pw[4 + 4 * ky], a);
        }
        if (dbl) {
            const uint32_t *const q = blk + 6 * (c >> 1);
            dwp_rqk1(q + 2 * (c & 1), q[4 + (c & 1)], a, o + c);
        } else {
            dwp_rq1(blk + 2 * c, blk[DWP_ZP2], a, o + c);
        }
    }
}

/* dw3_wide's words of a pass's block that outlive a call (DWP_Q's and DWP_O's, which a run sets
 * afresh): the outputs of the pixel after a call's last (the second of its last pair, whose
 * first alone was due), then the output row's first window row and that pixel's index, so that
 * the next call, which starts there, copies them. */
enum { DW3W_NEXT = DWP_Q, DW3W_NEXT_TOP = DWP_Q + 2, DW3W_NEXT_PX = DWP_O };

/* Output pixels [j, j + n) of a pass of G channels over slot rows q0..q2 (its columns from 0 on)
 * of the output row whose window starts at input row top, the pass's block blk, into o on (a
 * step ostride): an odd first pixel from the previous call's block where it made it, else in
 * dwp_odd; then the pairs; an even last pixel as a pair whose second goes to the block for the
 * next call. dbl: whether the pass's words are doubled (dw3_wide_doubled) */
static void dw3_wide_pass(uint32_t *blk, const uint32_t *q0, const uint32_t *q1, const uint32_t *q2, int32_t G,
                          int32_t ncol, int32_t top, int32_t j, int32_t n, int8_t *o, size_t ostride, int32_t dbl)
{
    const dwp_run_fn run = dwp_kernel(G, (uint32_t)dbl);
    const int32_t np = ((j & 1) != 0 ? n - 1 : n) >> 1;
    if ((j & 1) != 0) {
        if ((int32_t)blk[DW3W_NEXT_TOP] == top && (int32_t)blk[DW3W_NEXT_PX] == j) {
            memcpy(o, blk + DW3W_NEXT, (size_t)G);
        } else {
            dwp_odd(blk, q0, q1, q2, G, j, o, dbl);
        }
        o += ostride;
        ++j;
        --n;
    }
    blk[DW3W_NEXT_TOP] = (uint32_t)INT32_MIN; /* nothing kept for the next call (yet) */
    if (np > 0) {
        dwp_pairs_run(blk, q0, q1, q2, G, j, np, o, run);
        o += (size_t)2 * np * ostride;
        j += 2 * np;
    }
    if ((n & 1) == 0) {
        return;
    }
    if (j + 3 <= ncol - 1) {
        uint32_t next[2];
        blk[DWP_OS] = (uint32_t)((uintptr_t)next - (uintptr_t)o);
        dwp_pairs_run(blk, q0, q1, q2, G, j, 1, o, run);
        blk[DWP_OS] = (uint32_t)ostride;
        memcpy(blk + DW3W_NEXT, next, (size_t)G);
        blk[DW3W_NEXT_TOP] = (uint32_t)top;
        blk[DW3W_NEXT_PX] = (uint32_t)(j + 1);
    } else {
        dwp_lone(blk, q0, q1, q2, G, ncol, j, o, dbl);
    }
}

/* Whether the pair words of a 3x3 depthwise of C channels laid out at compile time are doubled:
 * _dw3_pair_words' flag after them (0 no, 1 yes, 2 with an output zero point of -128: dwp_kernel),
 * given the words of its first pass (pairs) */
static TTE_ALWAYS_INLINE int32_t dw3_wide_doubled(const uint32_t *pairs, int32_t C)
{
    return (int32_t)pairs[(size_t)7 * (size_t)(C & ~3)];
}

/* The three window rows' slots s0-s2 (SLOT: dw3_wide_slot, dw3_wide_slot_b) of the output row
 * whose window starts at row top */
#define TTE_DW3W_SLOTS(SLOT)                                                            \
    const uint32_t *const s0 = SLOT(g, ws, dw3_wide_of(top));                           \
    const uint32_t *const s1 = SLOT(g, ws, dw3_wide_of(top + 1));                       \
    const uint32_t *const s2 = SLOT(g, ws, dw3_wide_of(top + 2))
/* A channel-pair pass's block blk aimed at its k pixels: the end (index IE, CW words a column),
 * the outputs' step (IOS), the rows from word o of the slots (IQ..IQ + 2), the output (IO) */
#define TTE_DW3W_AIM(IE, IOS, IQ, IO, CW)                                               \
    blk[IE] = (uint32_t)(uintptr_t)(s0 + o + (size_t)(CW) * k);                         \
    blk[IOS] = (uint32_t)ostride;                                                       \
    blk[IQ] = (uint32_t)(uintptr_t)(s0 + o);                                            \
    blk[(IQ) + 1] = (uint32_t)(uintptr_t)(s1 + o);                                      \
    blk[(IQ) + 2] = (uint32_t)(uintptr_t)(s2 + o);                                      \
    blk[IO] = (uint32_t)(uintptr_t)(out + c)

/* dw3_wide on pixel-pair slots: dw3_wide_pass per pass of G channels */
static TTE_NOINLINE void dw3_wide_pair(const tte_conv2d_geom_t *g, void *ws, int32_t top, int32_t ox0, int32_t k,
                                       int8_t *out, size_t ostride)
{
    const int32_t C = g->in_c, ncol = g->out_w + 2;
    TTE_DW3W_SLOTS(dw3_wide_slot);
    uint32_t *blk = (uint32_t *)ws + DW3W_HEAD;
    const int32_t dbl = dw3_wide_doubled((const uint32_t *)(uintptr_t)blk[DWP_W], C);
    size_t off = 0; /* the pass's first word in a slot */
    int32_t c = 0, G;
    for (G = 8; G >= 4; G -= 4) {
        for (; c + G <= C; c += G, off += (size_t)(G >> 1) * ncol, blk += DWP_WORDS) {
            blk[DWP_OS] = (uint32_t)ostride;
            dw3_wide_pass(blk, s0 + off, s1 + off, s2 + off, G, ncol, top, ox0, k, out + c, ostride, dbl);
        }
    }
}

/* dw3_wide on channel-pair slots (dw3_ring_fill's layout, dw3_wide_pairs false): per pass its
 * block's row pointers, end and output, then dw3_ring8_row or dw3_ring_row */
static TTE_NOINLINE void dw3_wide_chan(const tte_conv2d_geom_t *g, void *ws, int32_t top, int32_t ox0, int32_t k,
                                  int8_t *out, size_t ostride)
{
    const int32_t C = g->in_c, ncol = g->out_w + 2;
    TTE_DW3W_SLOTS(dw3_wide_slot);
    uint32_t *blk = (uint32_t *)ws + DW3W_HEAD;
    size_t off = (size_t)0; /* the pass's first word in a slot */
    int32_t c = 0, cw;
    for (cw = 4; cw >= 2; cw -= 2) {
        const int32_t ie = cw == 4 ? DW3E_END : DW3R_END, iq = cw == 4 ? DW3E_Q : DW3R_Q;
        const int32_t io = cw == 4 ? DW3E_O : DW3R_O;
        for (; c + 2 * cw <= C; c += 2 * cw, off += (size_t)cw * ncol, blk += DW3E_WORDS) {
            const size_t o = off + (size_t)cw * ox0;
            TTE_DW3W_AIM(ie, cw == 4 ? DW3E_OS : DW3R_OS, iq, io, cw);
            if (cw == 4) {
                dw3_ring8_row(blk);
            } else {
                dw3_ring_row(blk);
            }
        }
    }
}

/* Whether dw3_wide's slots take dwp's pixel-pair layout: an even number of columns (out_w + 2).
 * An odd one leaves the row's last column alone, and its last pixel to dwp_lone, one channel at
 * a time (the slots have no room for the column more that dw3_ring adds): there (KWS's rows of
 * five) the channel pairs of dw3_ring_fill's layout cost less. */
static TTE_ALWAYS_INLINE int32_t dw3_wide_pairs(const tte_conv2d_geom_t *g)
{
    return (g->out_w & 1) == 0;
}

/* Output pixels [ox0, ox0 + k) of the output row whose window starts at input row top, from the
 * slots of ws */
static void dw3_wide(const tte_conv2d_geom_t *g, void *ws, int32_t top, int32_t ox0, int32_t k, int8_t *out,
                     size_t ostride)
{
    if (dw3_wide_pairs(g)) {
        dw3_wide_pair(g, ws, top, ox0, k, out, ostride);
    } else {
        dw3_wide_chan(g, ws, top, ox0, k, out, ostride);
    }
}

/* The zero point's words (zz) in the columns of a pass's row d (ncol columns, G / 2 words each)
 * outside [a, b): the pairs wholly outside the image, as dwp_fill writes every pair it touches */
static void dw3_wide_pad(uint32_t *d, int32_t a, int32_t b, int32_t ncol, int32_t G, uint32_t zz)
{
    const int32_t cw = G >> 1;
    int32_t i;
    for (i = 0; i < cw * a; ++i) {
        d[i] = zz;
    }
    for (i = cw * (b < ncol ? b : ncol); i < cw * ncol; ++i) {
        d[i] = zz;
    }
}

/* dw3_wide_setup's blocks and padding on channel-pair slots (dw3_wide_pairs false; rq the output
 * stage of mode 2, zz the zero point's word) */
static void dw3_wide_setup_chan(const tte_conv2d_geom_t *g, const rq_t *r, const uint32_t *prep, void *ws, uint32_t zz)
{
    const int32_t C = g->in_c, ncol = g->out_w + 2, lo = g->pad_left, hi = g->pad_left + g->in_w;
    uint32_t *blk = (uint32_t *)ws + DW3W_HEAD;
    int32_t c = 0, cw, s, i;
    for (cw = 4; cw >= 2; cw -= 2) {
        for (; c + 2 * cw <= C; c += 2 * cw, blk += DW3E_WORDS) {
            blk[cw == 4 ? DW3E_ZP2 : DW3R_RQ + DW4_ZP2] = (uint32_t)r->zp2;
            blk[cw == 4 ? DW3E_PREP : DW3R_PREP] = (uint32_t)(uintptr_t)(prep + (size_t)(c >> 2) * 22);
            dw3_rq_words(blk, r->mult + c, r->shift + c);
            if (cw == 4) {
                dw3_rq_words(blk + 8, r->mult + c + 4, r->shift + c + 4);
            }
        }
    }
    for (s = 0; s < 3; ++s) {
        uint32_t *d = dw3_wide_slot(g, ws, s);
        for (c = 0, cw = 4; cw >= 2; cw -= 2) {
            for (; c + 2 * cw <= C; c += 2 * cw, d += cw * ncol) {
                for (i = 0; i < cw * lo; ++i) {
                    d[i] = zz;
                }
                for (i = cw * hi; i < cw * ncol; ++i) {
                    d[i] = zz;
                }
            }
        }
    }
}

/* Whether dw3_wide takes this depthwise (tte_conv2d_s8_dw3_wide_bytes's geometry, the output
 * stage of mode 2, the weights laid out at compile time with _dw3_pair_words's after
 * dw_layout's): then each pass's block in ws, and the pairs of the three slots wholly outside
 * the image the zero point's (the fills leave them) */
static int32_t dw3_wide_setup(const tte_conv2d_s8_params_t *p, int32_t fast, const int32_t *bias,
                              const uint32_t *prep, void *ws)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t C = g->in_c, ncol = g->out_w + 2, lo = g->pad_left, hi = g->pad_left + g->in_w;
    const uint32_t zz = pack16(p->in_zp, p->in_zp);
    uint32_t *blk = (uint32_t *)ws + DW3W_HEAD;
    rq_t r;
    size_t off = 0;
    int32_t c = 0, G, s, dbl;
    if (prep == NULL || tte_conv2d_s8_dw3_wide_bytes(g) == 0 || ((uintptr_t)ws & 3) != 0) {
        return 0;
    }
    r = rq_init(p, fast);
    if (r.mode == 0 && dw3_fast_exact(&r, bias, C, 9)) {
        r.mode = 2;
    }
    if (r.mode != 2) {
        return 0;
    }
    for (s = 0; s < 3; ++s) {
        ((int32_t *)ws)[s] = INT32_MIN; /* no row yet */
    }
    if (!dw3_wide_pairs(g)) {
        dw3_wide_setup_chan(g, &r, prep, ws, zz);
        return 1;
    }
    dbl = dw3_wide_doubled(prep + (size_t)(C >> 2) * 22, C);
    for (G = 8; G >= 4; G -= 4) {
        for (; c + G <= C; c += G, off += (size_t)(G >> 1) * ncol, blk += DWP_WORDS) {
            if (dbl) {
                dwp_k_words(blk, r.mult + c, r.shift + c, r.zp2, G);
            } else {
                dw3_rq_words(blk, r.mult + c, r.shift + c);
                if (G == 8) {
                    dw3_rq_words(blk + 8, r.mult + c + 4, r.shift + c + 4);
                }
            }
            blk[DWP_ZP2] = (uint32_t)r.zp2;
            blk[DW3W_NEXT_TOP] = (uint32_t)INT32_MIN;
            blk[DWP_W] = (uint32_t)(uintptr_t)(prep + (size_t)(C >> 2) * 22 + (size_t)7 * c);
            for (s = 0; s < 3; ++s) {
                dw3_wide_pad(dw3_wide_slot(g, ws, s) + off, lo & ~1, (hi + 1) & ~1, ncol, G, zz);
            }
        }
    }
    return 1;
}

/* Input row src (NULL: a row of the padding, the zero point's) into slot s of ws, each pass's
 * columns inside the image */
static TTE_NOINLINE void dw3_wide_fill(const tte_conv2d_s8_params_t *p, uint32_t *d, const int8_t *src, int32_t pairs)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t C = g->in_c, ncol = g->out_w + 2, lo = g->pad_left, hi = g->pad_left + g->in_w;
    const uint32_t zz = pack16(p->in_zp, p->in_zp);
    int32_t c = 0, G, cw;
    if (!pairs) {
        for (cw = 4; cw >= 2; cw -= 2) {
            for (; c + 2 * cw <= C; c += 2 * cw, d += cw * ncol) {
                dw3_ring_fill(d, src == NULL ? NULL : src + c, lo, hi, C, zz, cw);
            }
        }
        return;
    }
    for (G = 8; G >= 4; G -= 4) {
        for (; c + G <= C; c += G, d += (size_t)(G >> 1) * ncol) {
            dwp_fill(d, src == NULL ? NULL : src + c, lo, hi, ncol, C, G, zz);
        }
    }
}

/* Input row src (NULL: the padding) into slot s of ws: pixel pairs where the row has an even
 * number of columns (dw3_wide_pairs), else channel pairs */
static void dw3_wide_put(const tte_conv2d_s8_params_t *p, void *ws, int32_t s, const int8_t *src)
{
    dw3_wide_fill(p, dw3_wide_slot(&p->g, ws, s), src, dw3_wide_pairs(&p->g));
}

/* dw3_wide over a layout whose biases are 0 (a depthwise whose bias a step trains: the folded
 * biases of tte.compiler.emit.block.dw_layout with bias 0), a multiple of eight channels: each
 * pass's block is DW3L_WORDS words, dw3_wide's (DW3E_*) and after them, at DW3L_KB, the folded
 * biases plus the live ones of its channels, made once per call of
 * tte_conv2d_s8_dw3_wide_init_b, which dw3_ring8_row_b reads where dw3_ring8_row reads the
 * layout's: the same loop. The slots follow the blocks, 8 words a pass later than dw3_wide's
 * (dw3_wide_slot_b), so dw3_wide_put fills them given ws that much further on. */
enum { DW3L_KB = 24, DW3L_WORDS = 32 };
/* every pass's block fits the words dw3_wide's scratch gives it */
typedef char dw3w_blocks_fit[(int)DWP_WORDS <= (int)DW3W_BLOCK_WORDS && (int)DW3E_WORDS <= (int)DW3W_BLOCK_WORDS
                             && (int)DW3L_WORDS <= (int)DW3W_BLOCK_WORDS ? 1 : -1];

/* dw3_ring8_row on the block's biases (DW3L_KB: the first group's four, then the second's) */
static TTE_ALWAYS_INLINE void dw3_ring8_row_b(const uint32_t *blk)
{
    register const uint32_t *b __asm__("r0") = blk;
    __asm__ volatile(TTE_DW3E_LOOP("[r0, #96]", "[r0, #104]", "[r0, #112]", "[r0, #120]")
                     :
                     : "r"(b)
                     : "cc", "memory");
}

/* dw3_wide_slot with blocks of DW3L_WORDS */
static uint32_t *dw3_wide_slot_b(const tte_conv2d_geom_t *g, void *ws, int32_t s)
{
    return (uint32_t *)ws + DW3W_HEAD + (size_t)DW3W_BLOCK_WORDS * dw3_wide_passes(g->in_c)
           + (size_t)s * (size_t)g->in_c / 2 * ((size_t)g->out_w + 2);
}

/* dw3_wide on the blocks of DW3L_WORDS (passes of eight channels only) */
static TTE_NOINLINE void dw3_wide_b(const tte_conv2d_geom_t *g, void *ws, int32_t top, int32_t ox0, int32_t k,
                                    int8_t *out, size_t ostride)
{
    const int32_t C = g->in_c, ncol = g->out_w + 2;
    TTE_DW3W_SLOTS(dw3_wide_slot_b);
    uint32_t *blk = (uint32_t *)ws + DW3W_HEAD;
    size_t o = (size_t)4 * ox0; /* the pass's first word in a slot, from column ox0 on */
    int32_t c;
    for (c = 0; c + 8 <= C; c += 8, o += (size_t)4 * ncol, blk += DW3L_WORDS) {
        TTE_DW3W_AIM(DW3E_END, DW3E_OS, DW3E_Q, DW3E_O, 4);
        dw3_ring8_row_b(blk);
    }
}

/* dw3_wide_setup over prep's biases of 0 (a multiple of eight channels; else 0): each pass's
 * block also holds its channels' folded biases plus bias (the live ones; int32 sums wrap as
 * the kernels' own do) */
static int32_t dw3_wide_setup_b(const tte_conv2d_s8_params_t *p, int32_t fast, const int32_t *bias,
                                const uint32_t *prep, void *ws)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t C = g->in_c, ncol = g->out_w + 2, lo = g->pad_left, hi = g->pad_left + g->in_w;
    const uint32_t zz = pack16(p->in_zp, p->in_zp);
    uint32_t *blk = (uint32_t *)ws + DW3W_HEAD;
    rq_t r;
    int32_t c, s, i;
    if (prep == NULL || bias == NULL || tte_conv2d_s8_dw3_wide_bytes(g) == 0 || (C & 7) != 0
        || ((uintptr_t)ws & 3) != 0) {
        return 0;
    }
    r = rq_init(p, fast);
    if (r.mode == 0 && dw3_fast_exact(&r, bias, C, 9)) {
        r.mode = 2;
    }
    if (r.mode != 2) {
        return 0;
    }
    for (c = 0; c < C; c += 8, blk += DW3L_WORDS) {
        blk[DW3E_ZP2] = (uint32_t)r.zp2;
        blk[DW3E_PREP] = (uint32_t)(uintptr_t)(prep + (size_t)(c >> 2) * 22);
        dw3_rq_words(blk, r.mult + c, r.shift + c);
        dw3_rq_words(blk + 8, r.mult + c + 4, r.shift + c + 4);
        for (i = 0; i < 8; ++i) {
            /* the group of channel c + i: its biases at 22 words a group */
            blk[DW3L_KB + i] = prep[(size_t)((c + i) >> 2) * 22 + (i & 3)] + (uint32_t)bias[c + i];
        }
    }
    for (s = 0; s < 3; ++s) {
        uint32_t *d = dw3_wide_slot_b(g, ws, s);
        ((int32_t *)ws)[s] = INT32_MIN; /* no row yet */
        for (c = 0; c < C; c += 8, d += 4 * ncol) {
            for (i = 0; i < 4 * lo; ++i) {
                d[i] = zz;
            }
            for (i = 4 * hi; i < 4 * ncol; ++i) {
                d[i] = zz;
            }
        }
    }
    return 1;
}
#endif

/* The fewest output pixels a row for which dw3_ring's pixel pairs beat dw3_ring_chan's channel
 * pairs (their fill and an odd row's extra pixel cost more on narrower rows: KWS's five) */
#define DW3_PAIR_MIN_K 6

/* Whether dw3_ring takes the channel groups of a call (a 3x3 stride-1 window, the output
 * stage of mode 2, the weights laid out at compile time, enough 4-byte aligned scratch):
 * then it ran on them */
static int32_t dw3_ring_try(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *const *rows_arg,
                            const int8_t *xb, int32_t nrows, int32_t oy0, int32_t ox0, int32_t k, const int32_t *bias,
                            const uint32_t *prep, int8_t *out, size_t ostride, void *ws, size_t ws_bytes)
{
#if !defined(TTE_DW_FEW_REGISTERS)
    const tte_conv2d_geom_t *g = &p->g;
    rq_t r;
    if (ws == NULL || prep == NULL || ((uintptr_t)ws & 3) != 0 || k < 1 || ws_bytes < dw3_ring_bytes(k, 4)
        || g->k_h != 3 || g->k_w != 3 || g->stride_h != 1 || g->stride_w != 1 || g->dil_h != 1 || g->dil_w != 1
        || g->out_c != g->in_c || g->in_c < 4) {
        return 0;
    }
    r = rq_init(p, fast);
    if (r.mode == 0 && dw3_fast_exact(&r, bias, g->in_c & ~3, 9)) {
        r.mode = 2;
    }
    if (r.mode != 2) {
        return 0;
    }
    if (xb == NULL || k < DW3_PAIR_MIN_K) {
        dw3_ring_chan(p, &r, rows_arg, xb, nrows, oy0, ox0, k, prep, NULL, NULL, NULL, out, ostride, (uint32_t *)ws,
                      ws_bytes >= dw3_ring_bytes(k, g->in_c));
    } else {
        dw3_ring(p, &r, rows_arg, xb, nrows, oy0, ox0, k, prep, NULL, NULL, NULL, out, ostride, (uint32_t *)ws,
                 ws_bytes);
    }
    return 1;
#else
    (void)p, (void)fast, (void)rows_arg, (void)xb, (void)nrows, (void)oy0, (void)ox0, (void)k, (void)bias;
    (void)prep, (void)out, (void)ostride, (void)ws, (void)ws_bytes;
    return 0;
#endif
}

#if !defined(TTE_DW_FEW_REGISTERS)
/* dw57_run's and dw57_edge's block (32-bit words): dw4_rq's words (its layout, so dw4_rq reads
 * the block too), the run's end (the x offset past its last pixel), the step (stride times C)
 * and the outputs' step, the four folded biases, the KH input rows (NULL outside), the tap
 * words, the run's output pointer, C; for dw57_edge the four biases, the pixel's x offset (of
 * its first tap inside), its first tap's words, its taps a row, -zp in both halves, its output;
 * the run's first x offset */
enum { DW57_END = 9, DW57_STEP = 10, DW57_KB = 12, DW57_Q = 16, DW57_WT = 23, DW57_O = 24, DW57_C = 25,
       DW57_BB = 26, DW57_XO = 30, DW57_EW = 31, DW57_EN = 32, DW57_NZ = 33, DW57_EO = 34, DW57_RUN0 = 35,
       DW57_WORDS = 36 };

/* One tap of dw57_run: x word at ADDR into r5, the tap's weight words at byte WOFF of the tap
 * words (r11) into r7, r8; sums r1..r4 (channels c, c + 1, c + 2, c + 3) */
#define TTE_DW57_TAP(ADDR, WOFF)                                                        \
    "ldr r5, " ADDR "\n\t"                                                             \
    "ldrd r7, r8, [r11, #" WOFF "]\n\t"                                                \
    "sxtb16 r6, r5\n\t"                                                                \
    "sxtb16 r5, r5, ror #8\n\t"                                                        \
    "smlabb r1, r6, r7, r1\n\t"                                                        \
    "smlatt r3, r6, r7, r3\n\t"                                                        \
    "smlabb r2, r5, r8, r2\n\t"                                                        \
    "smlatt r4, r5, r8, r4\n\t"

/* Window row ky (its pointer at byte QOFF of the block, plus the pixel's offset r12) of a 5- or
 * 7-wide window, its tap words from byte B on: every x address one instruction (r10 = C) */
#define TTE_DW57_ROW5(QOFF, B)                                                          \
    "ldr r9, [r0, #" QOFF "]\n\t"                                                      \
    "add r9, r9, r12\n\t"                                                              \
    TTE_DW57_TAP("[r9]", B)                                                             \
    TTE_DW57_TAP("[r9, r10]", B "+8")                                                   \
    TTE_DW57_TAP("[r9, r10, lsl #1]", B "+16")                                          \
    TTE_DW57_TAP("[r9, r10, lsl #2]", B "+32")                                          \
    "add r9, r9, r10, lsl #1\n\t"                                                      \
    TTE_DW57_TAP("[r9, r10]", B "+24")
#define TTE_DW57_ROW7(QOFF, B)                                                          \
    TTE_DW57_ROW5(QOFF, B)                                                              \
    TTE_DW57_TAP("[r9, r10, lsl #2]", B "+48")                                          \
    "add r9, r9, r10\n\t"                                                              \
    TTE_DW57_TAP("[r9, r10, lsl #1]", B "+40")

/* TTE_DW3R_RQ's output stage of the four sums at lr, then the next pixel: offset r12 on by
 * the step, lr by the outputs' step, until the end word */
#define TTE_DW57_TAIL                                                                   \
    "ldr r8, [r0, #32]\n\t"                                                            \
    TTE_DW3R_RQ4("lr")                                                                 \
    "ldrd r5, r6, [r0, #40]\n\t"                                                       \
    "ldr r7, [r0, #36]\n\t"                                                            \
    "add r12, r12, r5\n\t"                                                             \
    "add lr, lr, r6\n\t"                                                               \
    "cmp r12, r7\n\t"                                                                  \
    "bne 1b\n\t"

#define TTE_DW57_HEAD                                                                   \
    "push {r1-r12, lr}\n\t"                                                            \
    "ldr r10, [r0, #100]\n\t"                                                          \
    "ldr r11, [r0, #92]\n\t"                                                           \
    "ldr lr, [r0, #96]\n\t"                                                            \
    "ldr r12, [r0, #140]\n\t"                                                          \
    "1:\n\t"                                                                           \
    "ldrd r1, r2, [r0, #48]\n\t"                                                       \
    "ldrd r3, r4, [r0, #56]\n\t"

/* The output pixels of a channel group whose KW x KW window (KW 5 or 7) lies inside the
 * input, every one on the folded bias (no zero point per tap), all given by the block (r0):
 * one straight path a pixel, one loop over the run, stride and output step from the block.
 * The registers are saved and restored in the assembly (as dw3_ring_row). */
static TTE_ALWAYS_INLINE void dw57_run(const uint32_t *blk, int32_t KW)
{
    register const uint32_t *b __asm__("r0") = blk;
    if (KW == 5) {
        __asm__ volatile(TTE_DW57_HEAD
                         TTE_DW57_ROW5("64", "0")
                         TTE_DW57_ROW5("68", "40")
                         TTE_DW57_ROW5("72", "80")
                         TTE_DW57_ROW5("76", "120")
                         TTE_DW57_ROW5("80", "160")
                         TTE_DW57_TAIL
                         "pop {r1-r12, lr}"
                         :
                         : "r"(b)
                         : "cc", "memory");
    } else {
        __asm__ volatile(TTE_DW57_HEAD
                         TTE_DW57_ROW7("64", "0")
                         TTE_DW57_ROW7("68", "56")
                         TTE_DW57_ROW7("72", "112")
                         TTE_DW57_ROW7("76", "168")
                         TTE_DW57_ROW7("80", "224")
                         TTE_DW57_ROW7("84", "280")
                         TTE_DW57_ROW7("88", "336")
                         TTE_DW57_TAIL
                         "pop {r1-r12, lr}"
                         :
                         : "r"(b)
                         : "cc", "memory");
    }
}

/* One tap of dw57_edge with x - zp (lr: -zp in both halves): x at ADDR, weights from r11 on */
#define TTE_DW57_STAP(ADDR)                                                             \
    "ldr r5, " ADDR "\n\t"                                                             \
    "ldrd r7, r8, [r11], #8\n\t"                                                       \
    "sxtab16 r6, lr, r5\n\t"                                                           \
    "sxtab16 r5, lr, r5, ror #8\n\t"                                                   \
    "smlabb r1, r6, r7, r1\n\t"                                                        \
    "smlatt r3, r6, r7, r3\n\t"                                                        \
    "smlabb r2, r5, r8, r2\n\t"                                                        \
    "smlatt r4, r5, r8, r4\n\t"

/* Window row ky of dw57_edge (its input row at byte QOFF of the block, skipped where NULL; its
 * tap words WB bytes on from the pixel's first): the pixel's taps inside, two a pass, an odd
 * first one alone */
#define TTE_DW57_EROW(QOFF, WB)                                                         \
    "ldr r9, [r0, #" QOFF "]\n\t"                                                      \
    "cmp r9, #0\n\t"                                                                   \
    "beq 3f\n\t"                                                                       \
    "ldrd r12, r11, [r0, #120]\n\t"                                                    \
    "add r9, r9, r12\n\t"                                                              \
    "add r11, r11, #" WB "\n\t"                                                        \
    "ldr r12, [r0, #128]\n\t"                                                          \
    "tst r12, #1\n\t"                                                                  \
    "beq 2f\n\t"                                                                       \
    TTE_DW57_STAP("[r9]")                                                               \
    "add r9, r9, r10\n\t"                                                              \
    "subs r12, r12, #1\n\t"                                                            \
    "beq 3f\n\t"                                                                       \
    "2:\n\t"                                                                           \
    TTE_DW57_STAP("[r9]")                                                               \
    TTE_DW57_STAP("[r9, r10]")                                                          \
    "add r9, r9, r10, lsl #1\n\t"                                                      \
    "subs r12, r12, #2\n\t"                                                            \
    "bne 2b\n\t"                                                                       \
    "3:\n\t"

/* dw57_edge's start: C (r10), -zp (lr), the biases (r1..r4); its end: dw4_rq's output stage at
 * the pixel's output */
#define TTE_DW57_EHEAD                                                                  \
    "push {r1-r12, lr}\n\t"                                                            \
    "ldr r10, [r0, #100]\n\t"                                                          \
    "ldr lr, [r0, #132]\n\t"                                                           \
    "ldrd r1, r2, [r0, #104]\n\t"                                                      \
    "ldrd r3, r4, [r0, #112]\n\t"
#define TTE_DW57_ETAIL                                                                  \
    "ldr r9, [r0, #136]\n\t"                                                           \
    "ldr r8, [r0, #32]\n\t"                                                            \
    TTE_DW3R_RQ4("r9")                                                                 \
    "pop {r1-r12, lr}"

/* One output pixel of a channel group whose KW x KW window (KW 5 or 7) reaches into the
 * padding: its taps inside (the same columns in every row inside, at least one) with x - zp on
 * the plain bias, then the output stage, all given by the block (r0) */
static TTE_ALWAYS_INLINE void dw57_edge(const uint32_t *blk, int32_t KW)
{
    register const uint32_t *b __asm__("r0") = blk;
    if (KW == 5) {
        __asm__ volatile(TTE_DW57_EHEAD
                         TTE_DW57_EROW("64", "0")
                         TTE_DW57_EROW("68", "40")
                         TTE_DW57_EROW("72", "80")
                         TTE_DW57_EROW("76", "120")
                         TTE_DW57_EROW("80", "160")
                         TTE_DW57_ETAIL
                         :
                         : "r"(b)
                         : "cc", "memory");
    } else {
        __asm__ volatile(TTE_DW57_EHEAD
                         TTE_DW57_EROW("64", "0")
                         TTE_DW57_EROW("68", "56")
                         TTE_DW57_EROW("72", "112")
                         TTE_DW57_EROW("76", "168")
                         TTE_DW57_EROW("80", "224")
                         TTE_DW57_EROW("84", "280")
                         TTE_DW57_EROW("88", "336")
                         TTE_DW57_ETAIL
                         :
                         : "r"(b)
                         : "cc", "memory");
    }
}

/* One tap of dw57_side's straight rows with x - zp (lr): x at ADDR from r9 into r5, weights at
 * byte WOFF of the pixel's tap words (r11); 32 bytes of code (every instruction 32-bit), so
 * the entry into a row is an offset */
#define TTE_DW57_XTAP(ADDR, WOFF)                                                       \
    "ldr.w r5, " ADDR "\n\t"                                                           \
    "ldrd r7, r8, [r11, #" WOFF "]\n\t"                                                \
    "sxtab16 r6, lr, r5\n\t"                                                           \
    "sxtab16 r5, lr, r5, ror #8\n\t"                                                   \
    "smlabb r1, r6, r7, r1\n\t"                                                        \
    "smlatt r3, r6, r7, r3\n\t"                                                        \
    "smlabb r2, r5, r8, r2\n\t"                                                        \
    "smlatt r4, r5, r8, r4\n\t"

/* Window row ky of dw57_side (its input row at byte QOFF of the block, skipped where NULL):
 * r9 = the row plus the pixel's entry offset, then a jump r12 + 2 bytes into the row's taps
 * (SEQ, B its first tap word's byte) */
#define TTE_DW57_SROW(QOFF, SEQ, B)                                                     \
    "ldr r9, [r0, #" QOFF "]\n\t"                                                      \
    "cmp r9, #0\n\t"                                                                   \
    "beq 9f\n\t"                                                                       \
    "ldr r5, [r0, #120]\n\t"                                                           \
    "add r9, r9, r5\n\t"                                                               \
    "add pc, r12\n\t"                                                                  \
    SEQ(B)                                                                              \
    "9:\n\t"

/* A window row's taps kx = 0 .. KW - 1 from r9 (kx 0's x) on, entered at any kx (left border
 * pixels and whole rows): each x address one instruction, r9 on by 2 C after kx 2 and kx 4 */
#define TTE_DW57_FWD5(B)                                                                \
    TTE_DW57_XTAP("[r9]", #B "+0") TTE_DW57_XTAP("[r9, r10]", #B "+8")                  \
    TTE_DW57_XTAP("[r9, r10, lsl #1]", #B "+16")                                        \
    "add.w r9, r9, r10, lsl #1\n\t"                                                    \
    TTE_DW57_XTAP("[r9, r10]", #B "+24") TTE_DW57_XTAP("[r9, r10, lsl #1]", #B "+32")
#define TTE_DW57_FWD7(B)                                                                \
    TTE_DW57_FWD5(B)                                                                    \
    "add.w r9, r9, r10, lsl #1\n\t"                                                    \
    TTE_DW57_XTAP("[r9, r10]", #B "+40") TTE_DW57_XTAP("[r9, r10, lsl #1]", #B "+48")
/* The same taps backwards, kx = KW - 1 .. 0 (right border pixels: entered at their last tap
 * inside), r9 from kx KW - 3's x on, back by 2 C after each second tap */
#define TTE_DW57_BWD5(B)                                                                \
    TTE_DW57_XTAP("[r9, r10, lsl #1]", #B "+32") TTE_DW57_XTAP("[r9, r10]", #B "+24")   \
    "sub.w r9, r9, r10, lsl #1\n\t"                                                    \
    TTE_DW57_XTAP("[r9, r10, lsl #1]", #B "+16") TTE_DW57_XTAP("[r9, r10]", #B "+8")    \
    TTE_DW57_XTAP("[r9]", #B "+0")
#define TTE_DW57_BWD7(B)                                                                \
    TTE_DW57_XTAP("[r9, r10, lsl #1]", #B "+48") TTE_DW57_XTAP("[r9, r10]", #B "+40")   \
    "sub.w r9, r9, r10, lsl #1\n\t"                                                    \
    TTE_DW57_BWD5(B)

/* dw57_side's start: dw57_edge's, the tap words (r11) and the entry offset less 2 (r12) */
#define TTE_DW57_SHEAD                                                                  \
    TTE_DW57_EHEAD                                                                      \
    "ldr r11, [r0, #92]\n\t"                                                           \
    "ldr r12, [r0, #128]\n\t"
/* The registers an asm block of dw_whole4's and dw_small8_row's uses (gcc saves those it must
 * in the function around it) */
#define TTE_DW57_SCLOB "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "lr", "cc", "memory"

/* One output pixel of a channel group whose KW x KW window (KW 5 or 7) reaches into the
 * padding on one side only (or above and below only): in each window row inside, its taps
 * inside in one straight run entered at an offset (forward from the first tap inside when
 * bwd is 0, backward from the last when 1), x - zp on the plain bias, then the output stage.
 * The block's words as dw57_edge's, but DW57_XO the row offset of the entry (dw57_side_entry)
 * and DW57_EN the entry's byte offset in a row's taps less 2; DW57_WT the tap words. */
static TTE_NOINLINE void dw57_side(const uint32_t *blk, int32_t KW, int32_t bwd)
{
    register const uint32_t *b __asm__("r0") = blk;
    if (KW == 5 && !bwd) {
        __asm__ volatile(TTE_DW57_SHEAD
                         TTE_DW57_SROW("64", TTE_DW57_FWD5, 0)
                         TTE_DW57_SROW("68", TTE_DW57_FWD5, 40)
                         TTE_DW57_SROW("72", TTE_DW57_FWD5, 80)
                         TTE_DW57_SROW("76", TTE_DW57_FWD5, 120)
                         TTE_DW57_SROW("80", TTE_DW57_FWD5, 160)
                         TTE_DW57_ETAIL
                         :
                         : "r"(b)
                         : "cc", "memory");
    } else if (KW == 5) {
        __asm__ volatile(TTE_DW57_SHEAD
                         TTE_DW57_SROW("64", TTE_DW57_BWD5, 0)
                         TTE_DW57_SROW("68", TTE_DW57_BWD5, 40)
                         TTE_DW57_SROW("72", TTE_DW57_BWD5, 80)
                         TTE_DW57_SROW("76", TTE_DW57_BWD5, 120)
                         TTE_DW57_SROW("80", TTE_DW57_BWD5, 160)
                         TTE_DW57_ETAIL
                         :
                         : "r"(b)
                         : "cc", "memory");
    } else if (!bwd) {
        __asm__ volatile(TTE_DW57_SHEAD
                         TTE_DW57_SROW("64", TTE_DW57_FWD7, 0)
                         TTE_DW57_SROW("68", TTE_DW57_FWD7, 56)
                         TTE_DW57_SROW("72", TTE_DW57_FWD7, 112)
                         TTE_DW57_SROW("76", TTE_DW57_FWD7, 168)
                         TTE_DW57_SROW("80", TTE_DW57_FWD7, 224)
                         TTE_DW57_SROW("84", TTE_DW57_FWD7, 280)
                         TTE_DW57_SROW("88", TTE_DW57_FWD7, 336)
                         TTE_DW57_ETAIL
                         :
                         : "r"(b)
                         : "cc", "memory");
    } else {
        __asm__ volatile(TTE_DW57_SHEAD
                         TTE_DW57_SROW("64", TTE_DW57_BWD7, 0)
                         TTE_DW57_SROW("68", TTE_DW57_BWD7, 56)
                         TTE_DW57_SROW("72", TTE_DW57_BWD7, 112)
                         TTE_DW57_SROW("76", TTE_DW57_BWD7, 168)
                         TTE_DW57_SROW("80", TTE_DW57_BWD7, 224)
                         TTE_DW57_SROW("84", TTE_DW57_BWD7, 280)
                         TTE_DW57_SROW("88", TTE_DW57_BWD7, 336)
                         TTE_DW57_ETAIL
                         :
                         : "r"(b)
                         : "cc", "memory");
    }
}

/* dw57_side's entry for a pixel whose taps inside a window row are kx0 .. kx1 - 1 (kx0 0 or
 * kx1 KW): into the block, DW57_XO the x offset r9 starts from (xo0: kx 0's, outside the input
 * left of it), DW57_EN the byte offset of the first tap run less 2; returns bwd */
static TTE_ALWAYS_INLINE int32_t dw57_side_entry(uint32_t *blk, int32_t KW, int32_t kx0, int32_t kx1, int32_t xo0,
                                                 int32_t C)
{
    int32_t j, steps;
    if (kx0 > 0 || kx1 == KW) {
        /* forward from kx0: r9 on by 2 C after taps 2 and 4 */
        j = kx0;
        steps = (j >= 3) + (j >= 5);
        blk[DW57_XO] = (uint32_t)(xo0 + 2 * steps * C);
        blk[DW57_EN] = (uint32_t)(32 * j + 4 * steps - 2);
        return 0;
    }
    /* backward from kx1 - 1: r9 starts at kx KW - 3, back by 2 C after each second tap */
    j = KW - kx1;
    steps = (j >= 2) + (KW == 7 && j >= 4);
    blk[DW57_XO] = (uint32_t)(xo0 + (KW - 3 - 2 * steps) * C);
    blk[DW57_EN] = (uint32_t)(32 * j + 4 * steps - 2);
    return 1;
}

/* One tap of dw57_pad_run: the tap's x words (SXTB16 done) at byte XOFF of the padded row (r9)
 * into r5, r6, its weight words at byte WOFF of the tap words (r11) into r7, r8 */
#define TTE_DW57P_TAP(XOFF, WOFF)                                                       \
    "ldrd r5, r6, [r9, #" XOFF "]\n\t"                                                \
    "ldrd r7, r8, [r11, #" WOFF "]\n\t"                                               \
    "smlabb r1, r5, r7, r1\n\t"                                                       \
    "smlatt r3, r5, r7, r3\n\t"                                                       \
    "smlabb r2, r6, r8, r2\n\t"                                                       \
    "smlatt r4, r6, r8, r4\n\t"

/* Window row ky of dw57_pad_run: its padded row's pointer at byte QOFF of the block plus the
 * pixel's offset r12, 8 bytes a column; its tap words from byte B on */
#define TTE_DW57P_ROW5(QOFF, B)                                                         \
    "ldr r9, [r0, #" QOFF "]\n\t"                                                     \
    "add r9, r9, r12\n\t"                                                             \
    TTE_DW57P_TAP("0", B)                                                               \
    TTE_DW57P_TAP("8", B "+8")                                                          \
    TTE_DW57P_TAP("16", B "+16")                                                        \
    TTE_DW57P_TAP("24", B "+24")                                                        \
    TTE_DW57P_TAP("32", B "+32")
#define TTE_DW57P_ROW7(QOFF, B)                                                         \
    TTE_DW57P_ROW5(QOFF, B)                                                             \
    TTE_DW57P_TAP("40", B "+40")                                                        \
    TTE_DW57P_TAP("48", B "+48")

/* dw57_run over dw57_pad's copy: the block's DW57_Q rows are the padded rows (every window
 * inside them), the offsets r12 bytes into them (8 a column), so a tap is two loads and four
 * multiplies, no sign extension, no zero point */
static TTE_ALWAYS_INLINE void dw57_pad_run(const uint32_t *blk, int32_t KW)
{
    register const uint32_t *b __asm__("r0") = blk;
    if (KW == 5) {
        __asm__ volatile(TTE_DW57_HEAD
                         TTE_DW57P_ROW5("64", "0")
                         TTE_DW57P_ROW5("68", "40")
                         TTE_DW57P_ROW5("72", "80")
                         TTE_DW57P_ROW5("76", "120")
                         TTE_DW57P_ROW5("80", "160")
                         TTE_DW57_TAIL
                         "pop {r1-r12, lr}"
                         :
                         : "r"(b)
                         : "cc", "memory");
    } else {
        __asm__ volatile(TTE_DW57_HEAD
                         TTE_DW57P_ROW7("64", "0")
                         TTE_DW57P_ROW7("68", "56")
                         TTE_DW57P_ROW7("72", "112")
                         TTE_DW57P_ROW7("76", "168")
                         TTE_DW57P_ROW7("80", "224")
                         TTE_DW57P_ROW7("84", "280")
                         TTE_DW57P_ROW7("88", "336")
                         TTE_DW57_TAIL
                         "pop {r1-r12, lr}"
                         :
                         : "r"(b)
                         : "cc", "memory");
    }
}

/* Flipped by every call of dw57_pad: it runs its channel groups in the other order than its
 * last call (the order changes no output) */
static uint32_t dw57_turn;

/* Channels [0, C & ~3) of output pixels [ox0, ox0 + k) of one output row of a square 5x5 or
 * 7x7 depthwise (mode 2, compile-time words prep) through a copy in scratch (pad,
 * tte_conv2d_s8_dw57_pad_bytes): per channel group its KH window rows' ncol columns
 * sign-extended, the zero point's outside the input, then every pixel inside (dw57_pad_run) */
static TTE_NOINLINE void dw57_pad(const tte_conv2d_s8_params_t *p, const rq_t *r, const int8_t *const *rows,
                                  int32_t ox0, int32_t k, const uint32_t *prep, int8_t *out, size_t ostride,
                                  uint32_t *pad)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t C = g->in_c, KW = g->k_w, KH = g->k_h, T = KH * KW, sw = g->stride_w;
    const int32_t ncol = (k - 1) * sw + KW, ix0 = ox0 * sw - g->pad_left;
    /* the columns [lo, hi) inside the input, read from input column ix0 + lo on */
    const int32_t lo = ix0 < 0 ? (-ix0 < ncol ? -ix0 : ncol) : 0;
    const int32_t hi0 = g->in_w - ix0 < ncol ? g->in_w - ix0 : ncol, hi = hi0 < lo ? lo : hi0;
    const size_t slot = (size_t)2 * ncol, xo0 = (size_t)(ix0 + lo) * C;
    const uint32_t zz = pack16(p->in_zp, p->in_zp);
    uint32_t blk[DW57_WORDS] __attribute__((aligned(8)));
    const int32_t ng = C >> 2;
    const size_t pstep = 4 + 2 * (size_t)T;
    const uint32_t *pg;
    ptrdiff_t dp;
    int32_t i, ky, j, back, c, dc;
    /* the columns outside the input: the zero point's, once (the fills leave them) */
    for (ky = 0; ky < KH; ++ky) {
        uint32_t *const d = pad + (size_t)ky * slot;
        for (j = 0; j < lo; ++j) {
            d[2 * j] = zz;
            d[2 * j + 1] = zz;
        }
        for (j = hi; j < ncol; ++j) {
            d[2 * j] = zz;
            d[2 * j + 1] = zz;
        }
        blk[DW57_Q + ky] = (uint32_t)(uintptr_t)d;
    }
    blk[DW4_ZP2] = (uint32_t)r->zp2;
    blk[DW57_STEP] = (uint32_t)(8 * sw);
    blk[DW57_STEP + 1] = (uint32_t)ostride;
    blk[DW57_RUN0] = 0;
    blk[DW57_END] = (uint32_t)(8 * sw * k);
    blk[DW57_C] = (uint32_t)C;
    /* the groups in the other order than the last call's: the last ones' tap words (flash) are
     * still in the D-cache */
    back = (int32_t)(dw57_turn ^= 1u) && ng > 0;
    dc = back ? -4 : 4;
    dp = back ? -(ptrdiff_t)pstep : (ptrdiff_t)pstep;
    pg = back ? prep + (size_t)(ng - 1) * pstep : prep;
    c = back ? 4 * (ng - 1) : 0;
    for (i = 0; i < ng; ++i, c += dc, pg += dp) {
        const size_t xo = xo0 + (size_t)c;
        for (ky = 0; ky < KH; ++ky) {
            dw3_ring_fill(pad + (size_t)ky * slot, rows[ky] == NULL ? NULL : rows[ky] + xo, lo, hi, C, zz, 2);
        }
        for (j = 0; j < 4; ++j) {
            blk[DW57_KB + j] = pg[j];
        }
        dw3_rq_words(blk, r->mult + c, r->shift + c);
        blk[DW57_WT] = (uint32_t)(uintptr_t)(pg + 4);
        blk[DW57_O] = (uint32_t)(uintptr_t)(out + c);
        dw57_pad_run(blk, KW);
    }
}
#endif

/* Whether dw57_pad takes the channel groups of a call (a square 5x5 or 7x7 window, stride 1,
 * the output stage of mode 2, the weights laid out at compile time, the copy's 4-byte aligned
 * scratch for k pixels): then it ran on them */
static int32_t dw57_pad_try(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *const *rows, int32_t ox0,
                            int32_t k, const int32_t *bias, const uint32_t *prep, int8_t *out, size_t ostride,
                            void *ws, size_t ws_bytes)
{
#if !defined(TTE_DW_FEW_REGISTERS)
    const tte_conv2d_geom_t *g = &p->g;
    rq_t r;
    if (ws == NULL || prep == NULL || ((uintptr_t)ws & 3) != 0 || k < 1 || (g->k_w != 5 && g->k_w != 7)
        || g->k_h != g->k_w || g->stride_w != 1 || g->dil_h != 1 || g->dil_w != 1 || g->out_c != g->in_c
        || g->in_c < 4 || ws_bytes < (size_t)8 * g->k_h * ((size_t)(k - 1) * g->stride_w + g->k_w)) {
        return 0;
    }
    r = rq_init(p, fast);
    if (r.mode == 0 && dw3_fast_exact(&r, bias, g->in_c & ~3, g->k_h * g->k_w)) {
        r.mode = 2;
    }
    if (r.mode != 2) {
        return 0;
    }
    dw57_pad(p, &r, rows, ox0, k, prep, out, ostride, (uint32_t *)ws);
    return 1;
#else
    (void)p, (void)fast, (void)rows, (void)ox0, (void)k, (void)bias, (void)prep, (void)out, (void)ostride;
    (void)ws, (void)ws_bytes;
    return 0;
#endif
}

/* dw3_ring's scratch on the stack for a whole image (tte_conv2d_s8_depthwise: no planned scratch),
 * at most this many bytes: below what the 3x3 chain had before dw_row_groups split off */
#define TTE_DW3_RING_STACK 480

/* Whether dw3_ring_image takes a whole image of geometry g: a 3x3 stride-1 depthwise (multiplier
 * 1, dilation 1) whose ring fits TTE_DW3_RING_STACK */
static int32_t dw3_ring_image_fits(const tte_conv2d_geom_t *g)
{
#if !defined(TTE_DW_FEW_REGISTERS)
    return g->k_h == 3 && g->k_w == 3 && g->stride_h == 1 && g->stride_w == 1 && g->dil_h == 1 && g->dil_w == 1
           && g->out_c == g->in_c && g->in_c >= 4 && dw3_ring_bytes(g->out_w, 4) <= TTE_DW3_RING_STACK;
#else
    (void)g;
    return 0;
#endif
}

/* A whole image (dw3_ring_image_fits) through dw3_ring, the ring on the stack, the weights' words
 * made per channel group (trained weights: no compile-time layout), channels [0, C & ~3); r the
 * output stage of mode 2 */
static TTE_NOINLINE void dw3_ring_image(const tte_conv2d_s8_params_t *p, const rq_t *r, const int8_t *xb,
                                        const int8_t *w, const int32_t *bias, int8_t *y)
{
#if !defined(TTE_DW_FEW_REGISTERS)
    const tte_conv2d_geom_t *g = &p->g;
    uint32_t ring[TTE_DW3_RING_STACK / 4] __attribute__((aligned(8)));
    uint32_t own[56] __attribute__((aligned(8))); /* a pass's words (dwp_words), made per pass */
    dw3_ring(p, r, NULL, xb, g->out_h, 0, 0, g->out_w, NULL, w, bias, own, y, (size_t)g->out_c, ring,
             (size_t)TTE_DW3_RING_STACK);
#else
    (void)p, (void)r, (void)xb, (void)w, (void)bias, (void)y;
#endif
}

/* Whether the KH window rows are all inside the input (none NULL); where blk is not NULL, their
 * pointers into the block of dw57_run and dw57_side */
static int32_t dw57_rows(const int8_t *const *rows, int32_t KH, uint32_t *blk)
{
    int32_t ky, in = 1;
    for (ky = 0; ky < KH; ++ky) {
        in &= rows[ky] != NULL;
#if !defined(TTE_DW_FEW_REGISTERS)
        if (blk != NULL) {
            blk[DW57_Q + ky] = (uint32_t)(uintptr_t)rows[ky];
        }
#else
        (void)blk;
#endif
    }
    return in;
}

#if !defined(TTE_DW_FEW_REGISTERS)
/* dw_row_groups_any's pixels outside its run listed in its wq (four words each) at most */
#define DW57_ITEMS 24

/* A pixel outside dw57_run's run (its window's left column ix0, its output ooff bytes on), as
 * four words at it for channel 0 (a group adds its c to the x offset): the x offset and EN
 * word of dw57_side_entry and bwd (0 or 1); or for dw57_edge its first tap's x offset, its taps
 * a row, 2 + 4 times its first tap's word offset; or 3, no tap inside */
static TTE_ALWAYS_INLINE void dw57_item(uint32_t *blk, const tte_conv2d_geom_t *g, int32_t KW, int32_t C,
                                        int32_t ix0, size_t ooff, uint32_t *it)
{
    const int32_t kx0 = ix0 < 0 ? -ix0 : 0;
    const int32_t kx1 = g->in_w - ix0 < KW ? g->in_w - ix0 : KW;
    if (kx1 > kx0 && (kx0 == 0 || kx1 == KW)) {
        it[2] = (uint32_t)dw57_side_entry(blk, KW, kx0, kx1, ix0 * C, C);
        it[0] = blk[DW57_XO];
        it[1] = blk[DW57_EN];
    } else if (kx1 > kx0) {
        it[0] = (uint32_t)((ix0 + kx0) * C);
        it[1] = (uint32_t)(kx1 - kx0);
        it[2] = 2u + ((uint32_t)(2 * kx0) << 2);
    } else {
        it[0] = 0;
        it[1] = 0;
        it[2] = 3;
    }
    it[3] = (uint32_t)ooff;
}
#endif

#if !defined(TTE_DW_FEW_REGISTERS)
/* dw57_run, one copy for dw_row_groups_any and dw57_groups (the registers are saved in it) */
static TTE_NOINLINE void dw57_run_once(const uint32_t *blk, int32_t KW)
{
    dw57_run(blk, KW);
}

/* dw57_edge, one copy for both (rare: a window cut on both sides) */
static TTE_NOINLINE void dw57_edge_once(const uint32_t *blk, int32_t KW)
{
    dw57_edge(blk, KW);
}

/* dw_row_groups_any's channel groups of one output row in mode 2 with the words laid out at
 * compile time (prep): the block's rows, steps, C, -zp and zp2 set by the caller, the pixels
 * outside the run listed (nel items, dw57_item's); the run's pixels (n of them, the first's x
 * offset xrun, its output orun bytes on) in dw57_run when rows_in, else each in dw57_side.
 * Per group only its words: the folded biases, the biases, dw4_rq's. */
static TTE_NOINLINE void dw57_groups(uint32_t *rqb, const rq_t *r, const uint32_t *items, int32_t nel, int32_t KW,
                                     int32_t C, int32_t T, int32_t rows_in, int32_t n, int32_t xrun, size_t orun,
                                     int32_t step, const int32_t *bias, const uint32_t *pg, int8_t *out,
                                     size_t ostride)
{
    const size_t pstep = 4 + 2 * (size_t)T;
    int32_t c, j;
    if (bias == NULL) {
        rqb[DW57_BB] = rqb[DW57_BB + 1] = rqb[DW57_BB + 2] = rqb[DW57_BB + 3] = 0;
    }
    for (c = 0; c + 3 < C; c += 4, pg += pstep) {
        const uint32_t *const wqp = pg + 4;
        rqb[DW57_KB] = pg[0];
        rqb[DW57_KB + 1] = pg[1];
        rqb[DW57_KB + 2] = pg[2];
        rqb[DW57_KB + 3] = pg[3];
        if (bias != NULL) {
            rqb[DW57_BB] = (uint32_t)bias[c];
            rqb[DW57_BB + 1] = (uint32_t)bias[c + 1];
            rqb[DW57_BB + 2] = (uint32_t)bias[c + 2];
            rqb[DW57_BB + 3] = (uint32_t)bias[c + 3];
        }
        dw3_rq_words(rqb, r->mult + c, r->shift + c);
        rqb[DW57_WT] = (uint32_t)(uintptr_t)wqp;
        if (n > 0 && rows_in) {
            rqb[DW57_RUN0] = (uint32_t)(xrun + c);
            rqb[DW57_END] = (uint32_t)(xrun + c + n * step);
            rqb[DW57_O] = (uint32_t)(uintptr_t)(out + orun + c);
            dw57_run_once(rqb, KW);
        } else if (n > 0) {
            /* a row cut above or below: each window row's taps from the first on */
            int32_t xo = xrun + c;
            int8_t *o = out + orun + c;
            rqb[DW57_EN] = (uint32_t)-2;
            for (j = 0; j < n; ++j, xo += step, o += ostride) {
                rqb[DW57_XO] = (uint32_t)xo;
                rqb[DW57_EO] = (uint32_t)(uintptr_t)o;
                dw57_side(rqb, KW, 0);
            }
        }
        for (j = 0; j < nel; ++j) {
            const uint32_t *const e = items + 4 * j;
            int8_t *const o = out + e[3] + c;
            if (e[2] < 2) {
                rqb[DW57_XO] = e[0] + (uint32_t)c;
                rqb[DW57_EN] = e[1];
                rqb[DW57_EO] = (uint32_t)(uintptr_t)o;
                dw57_side(rqb, KW, (int32_t)e[2]);
            } else if (e[2] != 3) {
                rqb[DW57_XO] = e[0] + (uint32_t)c;
                rqb[DW57_EW] = (uint32_t)(uintptr_t)(wqp + (e[2] >> 2));
                rqb[DW57_EN] = e[1];
                rqb[DW57_EO] = (uint32_t)(uintptr_t)o;
                dw57_edge_once(rqb, KW);
            } else {
                dw4_rq(rqb, (int32_t)rqb[DW57_BB], (int32_t)rqb[DW57_BB + 1], (int32_t)rqb[DW57_BB + 2],
                       (int32_t)rqb[DW57_BB + 3], o);
            }
        }
    }
}
#endif

/* Channels [0, C & ~3) of output pixels [ox0, ox0 + k) of one depthwise output row
 * (multiplier 1, dilation 1, at most 49 taps, not 3x3), four channels over all k pixels at a
 * time: their weights transposed once into one word per tap and unpacked (two words on the
 * stack, no SXTB16 per tap); for a window inside the input the zero point's share is folded
 * into the bias, border pixels subtract it. */
TTE_HOT static TTE_NOINLINE void dw_row_groups_any(const tte_conv2d_s8_params_t *p, const rq_t *rp,
                                               const int8_t *const *rows_arg, const int8_t *xb, int32_t nrows,
                                               int32_t oy0, int32_t ox0, int32_t k, const int8_t *w, const int32_t *bias,
                                               const uint32_t *prep, int8_t *out, size_t ostride)
{
    rq_t rl = *rp; /* a local copy: the int8 stores cannot alias it */
    const rq_t *const r = &rl;
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t C = g->in_c, KH = g->k_h, KW = g->k_w, T = KH * KW;
    const int32_t zp = p->in_zp;
    const uint32_t zz = pack16(zp, zp);
    uint32_t wq[2 * TTE_DW_MAX_TAPS] __attribute__((aligned(8))); /* per tap: SXTB16 of the transposed word, with ROR #8 */
#if !defined(TTE_DW_FEW_REGISTERS)
    uint32_t rqb[DW57_WORDS] __attribute__((aligned(8))); /* dw4_rq's block, dw57_run's */
#else
    uint32_t rqb[DW4_RQ_WORDS] __attribute__((aligned(8))); /* dw4_rq's block */
#endif
    const int8_t *xrows[TTE_CONV_MAX_KH];
    const int8_t *const *rows = xb != NULL ? xrows : rows_arg;
    const int32_t sw = g->stride_w;
    int32_t c, t, j, i, ky, kx, oy, rows_in, in_lo, in_hi, run57 = 0, nel = 0, n_left = 0, xrun = 0, listed = 0;
#if !defined(TTE_DW_FEW_REGISTERS)
    /* the pixels [in_lo, in_hi) whose window lies inside the input columns */
    in_lo = (g->pad_left + sw - 1) / sw - ox0;
    in_lo = in_lo < 0 ? 0 : in_lo > k ? k : in_lo;
    in_hi = g->in_w + g->pad_left >= KW ? (g->in_w - KW + g->pad_left) / sw - ox0 + 1 : 0;
    in_hi = in_hi > k ? k : in_hi < in_lo ? in_lo : in_hi;
    /* a square 5x5 or 7x7 window in assembly (the output stage of mode 2): the run of pixels
     * inside the input in dw57_run, the others in dw57_edge */
    if ((KW == 5 || KW == 7) && KH == KW) {
        if (rl.mode == 0 && dw3_fast_exact(&rl, bias, C & ~3, T)) {
            rl.mode = 2;
        }
        run57 = rl.mode == 2;
        rqb[DW57_STEP] = (uint32_t)(sw * C);
        rqb[DW57_STEP + 1] = (uint32_t)ostride;
        rqb[DW57_C] = (uint32_t)C;
        rqb[DW57_NZ] = pack16(-zp, -zp);
        /* the pixels outside the run (each window cut left or right): the same for every
         * channel group and output row, made once (in wq, free with compile-time words) */
        n_left = in_hi > in_lo ? in_lo : k;
        nel = n_left + (in_hi > in_lo ? k - in_hi : 0);
        xrun = ((ox0 + in_lo) * sw - g->pad_left) * C;
        listed = run57 && prep != NULL && nel <= DW57_ITEMS;
        for (j = 0; listed && j < nel; ++j) {
            const int32_t px = j < n_left ? j : j - n_left + in_hi;
            dw57_item(rqb, g, KW, C, (ox0 + px) * sw - g->pad_left, (size_t)px * ostride, wq + 4 * j);
        }
    }
#else
    (void)sw, (void)in_lo, (void)in_hi, (void)run57, (void)nel, (void)n_left, (void)xrun, (void)listed;
#endif
    rqb[DW4_ZP2] = (uint32_t)rl.zp2; /* the output stage's (mode 2): the same for every group */
    /* one output row's window rows (rows_arg): the same for every channel group */
    rows_in = xb == NULL ? dw57_rows(rows, KH, run57 ? rqb : NULL) : 0;
#if !defined(TTE_DW_FEW_REGISTERS)
    if (listed && xb == NULL) {
        dw57_groups(rqb, r, wq, nel, KW, C, T, rows_in, in_hi - in_lo, xrun, (size_t)in_lo * ostride, sw * C, bias,
                    prep, out, ostride);
        return;
    }
#endif
    for (c = 0; c + 3 < C; c += 4) {
        const int8_t *wc = w + (size_t)c * T;
        const uint32_t *wqp = wq;
        int32_t kb[4], bb[4] = { 0, 0, 0, 0 }, qm[4], qs[4];
        if (bias != NULL) {
            /* written out: gcc kept a loop with a test per channel */
            bb[0] = bias[c];
            bb[1] = bias[c + 1];
            bb[2] = bias[c + 2];
            bb[3] = bias[c + 3];
        }
        if (r->mode != 2) {
            for (j = 0; j < 4; ++j) {
                qm[j] = r->mult[c + j];
                qs[j] = ~r->shift[c + j];
            }
        }
        if (prep != NULL) {
            /* laid out at compile time: the four folded biases, then the tap words */
            const uint32_t *pg = prep + (size_t)(c >> 2) * (4 + 2 * (size_t)T);
            for (j = 0; j < 4; ++j) {
                kb[j] = (int32_t)pg[j];
            }
            wqp = pg + 4;
        } else {
            for (j = 0; j < 4; ++j) {
                int32_t s = 0;
                for (t = 0; t < T; ++t) {
                    s += wc[j * T + t];
                }
                kb[j] = bb[j] - zp * s;
            }
            for (t = 0; t < T; ++t) {
                const uint32_t wv = (uint32_t)(uint8_t)wc[t] | (uint32_t)(uint8_t)wc[T + t] << 8
                                    | (uint32_t)(uint8_t)wc[2 * T + t] << 16 | (uint32_t)(uint8_t)wc[3 * T + t] << 24;
                wq[2 * t] = tte_sxtb16(wv);
                wq[2 * t + 1] = tte_sxtb16_ror8(wv);
            }
        }
        if (r->mode == 2) {
            dw3_rq_words(rqb, r->mult + c, r->shift + c);
        }
        for (oy = 0; oy < nrows; ++oy) {
        int8_t *orow = out + (size_t)oy * k * ostride;
        if (xb != NULL) {
            for (ky = 0; ky < KH; ++ky) {
                const int32_t iy = (oy0 + oy) * g->stride_h - g->pad_top + ky;
                xrows[ky] = iy < 0 || iy >= g->in_h ? NULL : xb + (size_t)iy * g->in_w * C;
            }
            rows_in = dw57_rows(rows, KH, run57 ? rqb : NULL);
        }
#if !defined(TTE_DW_FEW_REGISTERS)
        if (run57) {
            if (oy == 0) {
                for (j = 0; j < 4; ++j) {
                    rqb[DW57_KB + j] = (uint32_t)kb[j];
                    rqb[DW57_BB + j] = (uint32_t)bb[j];
                }
            }
            if (rows_in && in_hi > in_lo) {
                /* the run of pixels inside in one assembly loop */
                const size_t xo = (size_t)xrun + c;
                rqb[DW57_RUN0] = (uint32_t)xo;
                rqb[DW57_END] = (uint32_t)(xo + (size_t)(in_hi - in_lo) * sw * C);
                rqb[DW57_WT] = (uint32_t)(uintptr_t)wqp;
                rqb[DW57_O] = (uint32_t)(uintptr_t)(orow + (size_t)in_lo * ostride + c);
                dw57_run_once(rqb, KW);
            }
            if (!rows_in && in_hi > in_lo) {
                /* the pixels inside the input columns of a row cut above or below: each
                 * window row's taps from the first on */
                int32_t xo = xrun + c;
                int8_t *o = orow + (size_t)in_lo * ostride + c;
                rqb[DW57_EN] = (uint32_t)-2;
                rqb[DW57_WT] = (uint32_t)(uintptr_t)wqp;
                for (i = in_lo; i < in_hi; ++i, xo += sw * C, o += ostride) {
                    rqb[DW57_XO] = (uint32_t)xo;
                    rqb[DW57_EO] = (uint32_t)(uintptr_t)o;
                    dw57_side(rqb, KW, 0);
                }
            }
            for (j = 0; j < nel; ++j) {
                uint32_t own[4];
                const uint32_t *e = wq + 4 * j;
                int8_t *o;
                if (!listed) {
                    const int32_t px = j < n_left ? j : j - n_left + in_hi;
                    dw57_item(rqb, g, KW, C, (ox0 + px) * sw - g->pad_left, (size_t)px * ostride, own);
                    e = own;
                }
                o = orow + e[3] + c;
                if (e[2] < 2) {
                    /* one side (or none) of the window outside: straight runs of taps */
                    rqb[DW57_XO] = e[0] + (uint32_t)c;
                    rqb[DW57_EN] = e[1];
                    rqb[DW57_WT] = (uint32_t)(uintptr_t)wqp;
                    rqb[DW57_EO] = (uint32_t)(uintptr_t)o;
                    dw57_side(rqb, KW, (int32_t)e[2]);
                } else if (e[2] != 3) {
                    rqb[DW57_XO] = e[0] + (uint32_t)c;
                    rqb[DW57_EW] = (uint32_t)(uintptr_t)(wqp + (e[2] >> 2));
                    rqb[DW57_EN] = e[1];
                    rqb[DW57_EO] = (uint32_t)(uintptr_t)o;
                    dw57_edge_once(rqb, KW);
                } else {
                    dw4_rq(rqb, bb[0], bb[1], bb[2], bb[3], o);
                }
            }
            continue;
        }
#endif
        for (i = 0; i < k; ++i) {
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
                if (KW == 5 || KW == 7) {
                    for (ky = 0; ky < KH; ++ky) {
                        dw4_row57(rows[ky] + xo, wqp + 2 * ky * KW, KW, C, &a0, &a1, &a2, &a3);
                    }
                } else {
                    const uint32_t *wt = wqp;
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
                    const uint32_t *wt = wqp + 2 * ky * KW;
                    if (xp == NULL) {
                        continue;
                    }
                    xp += (size_t)ix0 * C + c;
                    dw4_taps_sub(xp, wt, KW, C, zz, &a0, &a1, &a2, &a3);
                }
            } else {
                a0 = bb[0];
                a1 = bb[1];
                a2 = bb[2];
                a3 = bb[3];
                for (ky = 0; ky < KH; ++ky) {
                    const int8_t *xp = rows[ky];
                    const uint32_t *wt = wqp + 2 * (ky * KW + kx0);
                    if (xp == NULL) {
                        continue;
                    }
                    if (kx1 > kx0) {
                        dw4_taps_sub(xp + (size_t)(ix0 + kx0) * C + c, wt, kx1 - kx0, C, zz, &a0, &a1, &a2, &a3);
                    }
                }
            }
            if (r->mode == 2) {
                dw4_rq(rqb, a0, a1, a2, a3, orow + (size_t)i * ostride + c);
            } else {
                rq4_pre(r, a0, a1, a2, a3, qm, qs, c, orow + (size_t)i * ostride + c);
            }
            }
        }
        }
    }
}
/* dw_row_groups_any, a 3x3 window in dw3_groups (each called from the caller: dw_row_groups_any's
 * frame, its tap words on the stack, is not under dw3_groups', and no call in between) */
static TTE_ALWAYS_INLINE void dw_row_groups(const tte_conv2d_s8_params_t *p, const rq_t *rp, const int8_t *const *rows_arg,
                                       const int8_t *xb, int32_t nrows, int32_t oy0, int32_t ox0, int32_t k,
                                       const int8_t *w, const int32_t *bias, const uint32_t *prep, int8_t *out,
                                       size_t ostride)
{
    if (p->g.k_h == 3 && p->g.k_w == 3) {
        dw3_groups(p, rp, rows_arg, xb, nrows, oy0, ox0, k, w, bias, prep, out, ostride, 0);
    } else {
        dw_row_groups_any(p, rp, rows_arg, xb, nrows, oy0, ox0, k, w, bias, prep, out, ostride);
    }
}

/* dw_small's largest image (input pixels): its copy of a channel group, 8 bytes a pixel, on
 * the stack */
#define TTE_DW_SMALL_PX 64

/* One tap of four channels: its x words at xq (x - zp), its weight words at wt */
static TTE_ALWAYS_INLINE void dws_tap(const uint32_t *xq, const uint32_t *wt, int32_t *a0, int32_t *a1, int32_t *a2,
                                      int32_t *a3)
{
    uint32_t x0, x1, w0, w1;
    __asm__("ldrd %[x0], %[x1], [%[xq]]\n\t"
            "ldrd %[w0], %[w1], [%[wt]]\n\t"
            "smlabb %[a0], %[x0], %[w0], %[a0]\n\t"
            "smlatt %[a2], %[x0], %[w0], %[a2]\n\t"
            "smlabb %[a1], %[x1], %[w1], %[a1]\n\t"
            "smlatt %[a3], %[x1], %[w1], %[a3]\n\t"
            : [a0] "+r"(*a0), [a1] "+r"(*a1), [a2] "+r"(*a2), [a3] "+r"(*a3), [x0] "=&r"(x0), [x1] "=&r"(x1),
              [w0] "=&r"(w0), [w1] "=&r"(w1)
            : [xq] "r"(xq), [wt] "r"(wt)
            : "memory");
}

/* A channel group's bias and output stage for dw_small and dw_copy, and dws_run_asm's state
 * of a run of pixels (byte offsets DWS_*: the assembly reads them) */
typedef struct {
    uint32_t rqb[DW4_RQ_WORDS]; /* dw4_rq's block */
    int32_t bb[4], qm[4], qs[4];
    int32_t nrow;               /* window rows a pixel */
    int32_t dx, dw;             /* the x and tap pointers' step from a pixel's last row on to the next pixel */
    int8_t *o, *oend;           /* the run's next output pixel, its end */
    int32_t ostride;
    uint32_t entry;             /* where a window row's taps start (the code address, Thumb bit set) */
    int32_t dentry;             /* its step a pixel */
} dws_group_t;
enum { DWS_BB = 36, DWS_NROW = 84, DWS_DXW = 88, DWS_O = 96, DWS_OEND = 100, DWS_OSTRIDE = 104, DWS_ENTRY = 108 };
typedef char dws_group_layout[(offsetof(dws_group_t, bb) == DWS_BB && offsetof(dws_group_t, nrow) == DWS_NROW
                               && offsetof(dws_group_t, dx) == DWS_DXW && offsetof(dws_group_t, o) == DWS_O
                               && offsetof(dws_group_t, oend) == DWS_OEND && offsetof(dws_group_t, ostride) == DWS_OSTRIDE
                               && offsetof(dws_group_t, entry) == DWS_ENTRY && sizeof(int8_t *) == 4)
                              ? 1 : -1];

static TTE_ALWAYS_INLINE void dws_group(const rq_t *r, const int32_t *bias, int32_t c, dws_group_t *gq)
{
    int32_t j;
    for (j = 0; j < 4; ++j) {
        gq->qm[j] = r->mult[c + j];
        gq->qs[j] = ~r->shift[c + j];
        gq->bb[j] = bias ? bias[c + j] : 0;
    }
    dw3_rq_words(gq->rqb, gq->qm, r->shift + c);
    gq->rqb[DW4_ZP2] = (uint32_t)r->zp2;
}

/* n columns of x from src on (C bytes apart) as x - zp words at dst, two a column (dst 4-byte
 * aligned) */
static TTE_ALWAYS_INLINE void dws_copy(uint32_t *dst, const int8_t *src, int32_t n, int32_t C, uint32_t zz)
{
    const uint32_t nz = tte_ssub16(0, zz); /* x - zp in one SXTAB16 */
    uint32_t v0, v1, e, o;
    if (n & 1) {
        const uint32_t v = load4(src);
        dst[0] = tte_sxtab16(nz, v);
        dst[1] = tte_sxtab16_ror8(nz, v);
        dst += 2;
        src += C;
    }
    n >>= 1;
    if (n > 0) {
        /* two columns a pass, each one STRD */
        __asm__ volatile("1:\n\t"
                         "ldr %[v0], [%[src]]\n\t"
                         "add %[src], %[src], %[c]\n\t"
                         "ldr %[v1], [%[src]]\n\t"
                         "add %[src], %[src], %[c]\n\t"
                         "sxtab16 %[e], %[nz], %[v0]\n\t"
                         "sxtab16 %[o], %[nz], %[v0], ror #8\n\t"
                         "strd %[e], %[o], [%[dst]], #8\n\t"
                         "sxtab16 %[e], %[nz], %[v1]\n\t"
                         "sxtab16 %[o], %[nz], %[v1], ror #8\n\t"
                         "strd %[e], %[o], [%[dst]], #8\n\t"
                         "subs %[n], %[n], #1\n\t"
                         "bne 1b\n\t"
                         : [src] "+r"(src), [dst] "+r"(dst), [n] "+r"(n), [v0] "=&r"(v0), [v1] "=&r"(v1),
                           [e] "=&r"(e), [o] "=&r"(o)
                         : [c] "r"(C), [nz] "r"(nz)
                         : "cc", "memory");
    }
}

/* The taps inside the image of a window row of the pixel whose window starts at input column
 * ix0 (0 when nrow is 0: then the bias alone) */
static TTE_ALWAYS_INLINE int32_t dws_ntaps(int32_t ix0, int32_t KW, int32_t IW, int32_t nrow)
{
    const int32_t kx0 = ix0 < 0 ? -ix0 : 0, kx1 = IW - ix0 < KW ? IW - ix0 : KW;
    return nrow > 0 && kx1 > kx0 ? kx1 - kx0 : 0;
}

/* The pixel of dws_out_row's whose window starts at input column ix0, its N taps a window
 * row one by one, the output stage of any mode */
static TTE_ALWAYS_INLINE void dws_px(const dws_group_t *gq, const uint32_t *img, int32_t pitch, int32_t ix_lo,
                                     int32_t nrow, int32_t KW, int32_t ix0, int32_t N, const uint32_t *wrow,
                                     const rq_t *r, int32_t c, int8_t *o)
{
    const int32_t kx0 = ix0 < 0 ? -ix0 : 0;
    const uint32_t *xq = img + 2 * (ix0 + kx0 - ix_lo), *wt = wrow + 2 * kx0;
    int32_t a0 = gq->bb[0], a1 = gq->bb[1], a2 = gq->bb[2], a3 = gq->bb[3], y, t;
    for (y = N > 0 ? nrow : 0; y > 0; --y, xq += 2 * pitch, wt += 2 * KW) {
        for (t = 0; t < N; ++t) {
            dws_tap(xq + 2 * t, wt + 2 * t, &a0, &a1, &a2, &a3);
        }
    }
    if (r->mode == 2) {
        dw4_rq(gq->rqb, a0, a1, a2, a3, o);
    } else {
        dw3_out_any(gq->qm, gq->qs, r, a0, a1, a2, a3, c, o);
    }
}

/* Tap J of a window row in dws_run_asm: x words at [xp, #8 J], tap words at [wp, #8 J]; six
 * 32-bit instructions (24 bytes: dws_run_asm enters the seven at tap 7 - N) */
#define TTE_DWS_T(J)                                                                    \
    "ldrd %[x0], %[x1], [%[xp], #" #J " * 8]\n\t"                                       \
    "ldrd %[w0], %[w1], [%[wp], #" #J " * 8]\n\t"                                       \
    "smlabb %[a0], %[x0], %[w0], %[a0]\n\t"                                             \
    "smlatt %[a2], %[x0], %[w0], %[a2]\n\t"                                             \
    "smlabb %[a1], %[x1], %[w1], %[a1]\n\t"                                             \
    "smlatt %[a3], %[x1], %[w1], %[a3]\n\t"

/* tte_rq_fast_s8 of A with channel J's words of the block at g (x0, x1), zp2 in w0, the
 * byte stored at ADDR (TTE_DW4_RQ's, with dws_run_asm's registers) */
#define TTE_DWS_RQ(A, J, ADDR)                                                          \
    "ldrd %[x0], %[x1], [%[g], #" #J "]\n\t"                                           \
    "smmlar %[" A "], %[" A "], %[x0], %[" A "]\n\t"                                    \
    "add %[" A "], %[" A "], %[" A "], asr #31\n\t"                                    \
    "asr %[" A "], %[" A "], %[x1]\n\t"                                                \
    "qadd %[" A "], %[" A "], %[w0]\n\t"                                                \
    "ssat %[" A "], #8, %[" A "], asr #1\n\t"                                          \
    "strb %[" A "], " ADDR "\n\t"

/* The pixels [gq->o, gq->oend) of a run in mode 2 in one assembly loop, each: the bias, its
 * nrow window rows of taps (each row a jump to gq->entry, into the seven taps at 7 - N, from
 * xp and wp on, rows xs and ws bytes apart), dw4_rq's output stage; then the pointers
 * gq->dx, gq->dw bytes and the entry gq->dentry on (the tap count changes by a fixed step
 * along a run). gq->entry comes as the first pixel's byte offset into the taps less dentry. */
static TTE_ALWAYS_INLINE void dws_run_asm(dws_group_t *gq, uintptr_t xp, uintptr_t wp, int32_t xs, int32_t ws)
{
    int32_t a0, a1, a2, a3, n;
    uint32_t x0, x1, w0, w1;
    __asm__ volatile("adr %[x0], 3f\n\t"
                     "ldr %[x1], [%[g], #108]\n\t"
                     "add %[x0], %[x0], %[x1]\n\t"
                     "orr %[x0], %[x0], #1\n\t"
                     "str %[x0], [%[g], #108]\n\t"
                     "1:\n\t"
                     "ldrd %[x0], %[x1], [%[g], #108]\n\t"
                     "add %[x0], %[x0], %[x1]\n\t"
                     "str %[x0], [%[g], #108]\n\t"
                     "ldrd %[a0], %[a1], [%[g], #36]\n\t"
                     "ldrd %[a2], %[a3], [%[g], #44]\n\t"
                     "ldr %[n], [%[g], #84]\n\t"
                     "2:\n\t"
                     "ldr pc, [%[g], #108]\n\t"
                     "3:\n\t"
                     TTE_DWS_T(0) TTE_DWS_T(1) TTE_DWS_T(2) TTE_DWS_T(3) TTE_DWS_T(4) TTE_DWS_T(5) TTE_DWS_T(6)
                     "add %[xp], %[xp], %[xs]\n\t"
                     "add %[wp], %[wp], %[ws]\n\t"
                     "subs %[n], %[n], #1\n\t"
                     "bgt 2b\n\t"
                     "ldrd %[x0], %[w0], [%[g], #88]\n\t"
                     "add %[xp], %[xp], %[x0]\n\t"
                     "add %[wp], %[wp], %[w0]\n\t"
                     "ldr %[w1], [%[g], #96]\n\t"
                     "ldr %[w0], [%[g], #32]\n\t"
                     TTE_DWS_RQ("a0", 0, "[%[w1]]")
                     TTE_DWS_RQ("a1", 8, "[%[w1], #1]")
                     TTE_DWS_RQ("a2", 16, "[%[w1], #2]")
                     TTE_DWS_RQ("a3", 24, "[%[w1], #3]")
                     "ldrd %[x0], %[x1], [%[g], #100]\n\t"
                     "add %[w1], %[w1], %[x1]\n\t"
                     "str %[w1], [%[g], #96]\n\t"
                     "cmp %[w1], %[x0]\n\t"
                     "bne 1b\n\t"
                     : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [x0] "=&r"(x0),
                       [x1] "=&r"(x1), [w0] "=&r"(w0), [w1] "=&r"(w1), [n] "=&r"(n), [xp] "+r"(xp), [wp] "+r"(wp)
                     : [g] "r"(gq), [xs] "r"(xs), [ws] "r"(ws)
                     : "cc", "memory");
}

/* The runs of dws_out_row's pixels, the same for every output row and channel group of a
 * call: at most three, split where the window's left end crosses the image's (before it the
 * taps slide, after it the x words) and where its right end does (before it all KW taps,
 * after it the image's end); along a run the tap count changes by a fixed step. Per run (all
 * in bytes): its pixels, its first pixel's x offset from the copy and tap offset from the
 * window row's words (both 8 (7 - N) early: taps 7 - N to 6 read them), the entry into the
 * taps less its step, the entry's step, the x and tap pointers' steps a pixel. None (n 0)
 * where a pixel has no tap inside the image. */
enum { DWS_M, DWS_XOFF, DWS_WOFF, DWS_E0, DWS_DE, DWS_DXP, DWS_DWP, DWS_RUN_WORDS };
typedef struct {
    int32_t n;
    int16_t run[3][DWS_RUN_WORDS];
} dws_runs_t;

static void dws_plan(const tte_conv2d_geom_t *g, int32_t ox0, int32_t k, int32_t ix_lo, dws_runs_t *plan)
{
    const int32_t KW = g->k_w, IW = g->in_w, S = g->stride_w;
    int32_t ix0 = ox0 * S - g->pad_left, left = k;
    plan->n = 0;
    if (k < 1 || ix0 + KW <= 0 || ix0 + (k - 1) * S >= IW) {
        return;
    }
    while (left > 0) {
        const int32_t neg = ix0 < 0, wide = ix0 + KW > IW;
        const int32_t kx0 = neg ? -ix0 : 0, n = (wide ? IW - ix0 : KW) - kx0;
        const int32_t dn = (neg ? S : 0) - (wide ? S : 0);
        int16_t *d = plan->run[plan->n++];
        int32_t m = left;
        if (neg && (-ix0 + S - 1) / S < m) {
            m = (-ix0 + S - 1) / S;
        }
        if (!wide && (IW - KW - ix0) / S + 1 < m) {
            m = (IW - KW - ix0) / S + 1;
        }
        d[DWS_M] = (int16_t)m;
        d[DWS_XOFF] = (int16_t)(8 * (ix0 + kx0 - ix_lo) - 8 * (7 - n));
        d[DWS_WOFF] = (int16_t)(8 * kx0 - 8 * (7 - n));
        d[DWS_E0] = (int16_t)(24 * (7 - n) + 24 * dn);
        d[DWS_DE] = (int16_t)(-24 * dn);
        d[DWS_DXP] = (int16_t)((neg ? 0 : 8 * S) + 8 * dn);
        d[DWS_DWP] = (int16_t)((neg ? -8 * S : 0) + 8 * dn);
        ix0 += m * S;
        left -= m;
    }
}

/* Output pixels [ox0, ox0 + k) of one output row of channel group c (outputs from o on,
 * ostride apart) from a copy of x - zp (img): its rows window rows ky0 on (nrow of them,
 * pitch columns apart), its column 0 input column ix_lo; the tap words from wq on. In mode
 * 2 the runs of plan (dws_plan's for these pixels) each in dws_run_asm. */
static TTE_NOINLINE void dws_out_row(const tte_conv2d_geom_t *g, const rq_t *r, dws_group_t *gq,
                                     const dws_runs_t *plan, const uint32_t *img, int32_t pitch, int32_t ix_lo,
                                     int32_t ky0, int32_t nrow, int32_t ox0, int32_t k, const uint32_t *wq, int32_t c,
                                     int8_t *o, size_t ostride)
{
    const int32_t KW = g->k_w;
    const uint32_t *const wrow = wq + 2 * ky0 * KW;
    int32_t i;
    if (r->mode != 2 || nrow <= 0 || plan->n == 0) {
        /* rare (some pixel without a tap inside the image, or another output stage): pixel
         * by pixel, tap by tap */
        const int32_t S = g->stride_w;
        int32_t ix0 = ox0 * S - g->pad_left;
        for (i = 0; i < k; ++i, ix0 += S, o += ostride) {
            dws_px(gq, img, pitch, ix_lo, nrow, KW, ix0, dws_ntaps(ix0, KW, g->in_w, nrow), wrow, r, c, o);
        }
        return;
    }
    gq->nrow = nrow;
    gq->ostride = (int32_t)ostride;
    for (i = 0; i < plan->n; ++i) {
        const int16_t *d = plan->run[i];
        gq->dx = d[DWS_DXP] - 8 * nrow * pitch;
        gq->dw = d[DWS_DWP] - 8 * nrow * KW;
        gq->entry = (uint32_t)d[DWS_E0];
        gq->dentry = d[DWS_DE];
        gq->o = o;
        o += (size_t)d[DWS_M] * ostride;
        gq->oend = o;
        /* addresses as integers: the first ones may lie before the copy and the taps */
        dws_run_asm(gq, (uintptr_t)img + (uintptr_t)(intptr_t)d[DWS_XOFF],
                    (uintptr_t)wrow + (uintptr_t)(intptr_t)d[DWS_WOFF], 8 * pitch, 8 * KW);
    }
}

#if !defined(TTE_DW_FEW_REGISTERS)
/* dw_whole4's block: dws_group_t's (its output stage, biases, o and ostride), then the copy
 * of the image (x - zp, two words a pixel) and the tap words */
typedef struct {
    dws_group_t g;
    const uint32_t *img, *wt;
} dw_whole4_t;
enum { DWW_IMG = 116 };
typedef char dw_whole4_layout[(offsetof(dw_whole4_t, img) == DWW_IMG && offsetof(dw_whole4_t, wt) == DWW_IMG + 4)
                              ? 1 : -1];

/* Image row R (its four pixels) of dw_whole4's pixel J of an output row: tap words 7 a window
 * row, pixel J's window one tap left of pixel J - 1's */
#define TTE_DWW_ROW(R, J)                                                               \
    TTE_DW57P_TAP(#R "*32+0", #R "*56+0-" #J "*8") TTE_DW57P_TAP(#R "*32+8", #R "*56+8-" #J "*8") \
    TTE_DW57P_TAP(#R "*32+16", #R "*56+16-" #J "*8") TTE_DW57P_TAP(#R "*32+24", #R "*56+24-" #J "*8")
/* Pixel J of an output row: the bias, the image's 16 taps, dw4_rq's output stage at lr, lr on */
#define TTE_DWW_PX(J)                                                                   \
    "ldrd r1, r2, [r0, #36]\n\t"                                                       \
    "ldrd r3, r4, [r0, #44]\n\t"                                                       \
    TTE_DWW_ROW(0, J) TTE_DWW_ROW(1, J) TTE_DWW_ROW(2, J) TTE_DWW_ROW(3, J)             \
    "ldr r8, [r0, #32]\n\t"                                                            \
    TTE_DW3R_RQ4("lr")                                                                 \
    "add lr, lr, r12\n\t"

/* The 16 output pixels of a channel group of a 7x7 depthwise (stride 1, padding 3) over a 4x4
 * image, where every window covers the whole image: each pixel the image's 16 taps in one
 * straight path on the bias (the x words at fixed offsets of the copy, the tap words from
 * its window's tap at image pixel 0 on: one tap left a pixel, a window row up a row), then
 * dw4_rq's output stage, an output row's four pixels one straight path; all given by the
 * block (r0) */
static TTE_NOINLINE void dw_whole4(const dw_whole4_t *blk)
{
    register const dw_whole4_t *b __asm__("r0") = blk;
    __asm__ volatile("ldrd r9, r11, [r0, #116]\n\t"
                     "ldr lr, [r0, #96]\n\t"
                     "ldr r12, [r0, #104]\n\t"
                     "add r11, r11, #192\n\t"
                     "mov r10, #4\n\t"
                     "1:\n\t"
                     TTE_DWW_PX(0) TTE_DWW_PX(1) TTE_DWW_PX(2) TTE_DWW_PX(3)
                     "sub r11, r11, #56\n\t"
                     "subs r10, r10, #1\n\t"
                     "bne 1b\n\t"
                     :
                     : "r"(b)
                     : TTE_DW57_SCLOB);
}
#endif

#if !defined(TTE_DW_FEW_REGISTERS)
/* dw_small8's block: dw4_rq's words, the biases, the output pixel, the row's end and the
 * outputs' step, the x and tap words of the row's first pixel's window row 0, the entry into
 * the window rows (its byte offset), the x step a pixel (bytes) */
typedef struct {
    uint32_t rqb[DW4_RQ_WORDS];
    int32_t bb[4];
    int8_t *o, *oend;
    int32_t ostride;
    uintptr_t x, wt;
    uint32_t entry;
    int32_t xstep;
} dw_small8_t;
typedef char dw_small8_layout[(offsetof(dw_small8_t, bb) == 36 && offsetof(dw_small8_t, o) == 52
                               && offsetof(dw_small8_t, ostride) == 60 && offsetof(dw_small8_t, x) == 64
                               && offsetof(dw_small8_t, entry) == 72 && offsetof(dw_small8_t, xstep) == 76
                               && sizeof(int8_t *) == 4 && sizeof(uintptr_t) == 4) ? 1 : -1];

/* Window row S of dw_small8 (tap J at x column J, P columns a row, K taps a row): KW taps of
 * six 32-bit instructions each, so a row's code is 24 KW bytes */
#define TTE_DWS8_TAP(S, J, P, K) TTE_DW57P_TAP(#S "*" #P "*8+" #J "*8", #S "*" #K "*8+" #J "*8")
#define TTE_DWS8_ROW5(S)                                                                \
    TTE_DWS8_TAP(S, 0, 10, 5) TTE_DWS8_TAP(S, 1, 10, 5) TTE_DWS8_TAP(S, 2, 10, 5)      \
    TTE_DWS8_TAP(S, 3, 10, 5) TTE_DWS8_TAP(S, 4, 10, 5)
#define TTE_DWS8_ROW7(S)                                                                \
    TTE_DWS8_TAP(S, 0, 11, 7) TTE_DWS8_TAP(S, 1, 11, 7) TTE_DWS8_TAP(S, 2, 11, 7)      \
    TTE_DWS8_TAP(S, 3, 11, 7) TTE_DWS8_TAP(S, 4, 11, 7) TTE_DWS8_TAP(S, 5, 11, 7)      \
    TTE_DWS8_TAP(S, 6, 11, 7)

/* dw_small8's start: the entry's address (r12, Thumb bit set), x (r9), taps (r11), output (lr),
 * x step (r10); each pixel: the biases, then a jump into its window rows */
#define TTE_DWS8_HEAD                                                                   \
    "adr r12, 2f\n\t"                                                                  \
    "ldr r5, [r0, #72]\n\t"                                                            \
    "add r12, r12, r5\n\t"                                                             \
    "orr r12, r12, #1\n\t"                                                             \
    "ldrd r9, r11, [r0, #64]\n\t"                                                      \
    "ldr lr, [r0, #52]\n\t"                                                            \
    "ldr r10, [r0, #76]\n\t"                                                          \
    "1:\n\t"                                                                           \
    "ldrd r1, r2, [r0, #36]\n\t"                                                       \
    "ldrd r3, r4, [r0, #44]\n\t"                                                       \
    "bx r12\n\t"                                                                       \
    "2:\n\t"
/* then dw4_rq's output stage, the next pixel: x on by the step, the output by ostride, to oend */
#define TTE_DWS8_TAIL                                                                   \
    "ldr r8, [r0, #32]\n\t"                                                            \
    TTE_DW3R_RQ4("lr")                                                                 \
    "ldrd r5, r6, [r0, #56]\n\t"                                                       \
    "add lr, lr, r6\n\t"                                                               \
    "add r9, r9, r10\n\t"                                                              \
    "cmp lr, r5\n\t"                                                                   \
    "bne 1b\n\t"

/* One output row of a channel group of dw_small8's (KW 5 or 7) from its copy: every pixel its
 * window rows inside the image (the code's last ones, entered at the block's entry), each
 * whole (the copy's zero columns beside the image), on the bias, then the output stage; all
 * given by the block (r0) */
static TTE_NOINLINE void dw_small8_row(const dw_small8_t *blk, int32_t KW)
{
    register const dw_small8_t *b __asm__("r0") = blk;
    if (KW == 5) {
        __asm__ volatile(TTE_DWS8_HEAD
                         TTE_DWS8_ROW5(0) TTE_DWS8_ROW5(1) TTE_DWS8_ROW5(2) TTE_DWS8_ROW5(3) TTE_DWS8_ROW5(4)
                         TTE_DWS8_TAIL
                         :
                         : "r"(b)
                         : TTE_DW57_SCLOB);
    } else {
        __asm__ volatile(TTE_DWS8_HEAD
                         TTE_DWS8_ROW7(0) TTE_DWS8_ROW7(1) TTE_DWS8_ROW7(2) TTE_DWS8_ROW7(3) TTE_DWS8_ROW7(4)
                         TTE_DWS8_ROW7(5) TTE_DWS8_ROW7(6)
                         TTE_DWS8_TAIL
                         :
                         : "r"(b)
                         : TTE_DW57_SCLOB);
    }
}
#endif

/* dw_small8's copy of an 8-wide image (x - zp, 8 bytes a column): its rows P = 8 + KW / 2
 * columns apart, KW / 2 zero columns before each row (the last row's after it too), so every
 * window row reads only the copy */
#define TTE_DWS8_WORDS (2 * (8 * 11 + 3))

/* Whether dw_small8 takes a dw_small image of geometry g: 8 wide, a square 5x5 or 7x7 window,
 * padding KW / 2 on the left and every window inside the zero columns on the right, every
 * output row with a window row inside the image */
#if !defined(TTE_DW_FEW_REGISTERS)
static int32_t dw_small8_fits(const tte_conv2d_geom_t *g)
{
    const int32_t KW = g->k_w, h = KW / 2;
    return g->in_w == 8 && (KW == 5 || KW == 7) && g->k_h == KW && g->pad_left == h && g->pad_top <= KW - 1
           && (g->out_w - 1) * g->stride_w - h + KW <= 8 + h && (g->out_h - 1) * g->stride_h - g->pad_top < g->in_h
           && 2 * g->in_h * (8 + h) + 2 * h <= TTE_DWS8_WORDS;
}
#endif

/* Whether dw_whole4 takes a dw_small image of geometry g: 4x4 at stride 1, 4x4 outputs, a
 * window that is a 7x7 one at padding 3 with zero taps around it (at most 7x7, padding at most
 * 3 above and left and its window at most 4 rows and columns below and right of it: then every
 * 7x7 window covers the image) */
static int32_t dw_whole4_fits(const tte_conv2d_geom_t *g)
{
#if !defined(TTE_DW_FEW_REGISTERS)
    return g->in_h == 4 && g->in_w == 4 && g->k_h <= 7 && g->k_w <= 7 && g->stride_h == 1 && g->stride_w == 1
           && g->pad_top <= 3 && g->pad_left <= 3 && g->k_h - g->pad_top <= 4 && g->k_w - g->pad_left <= 4
           && g->out_h == 4 && g->out_w == 4;
#else
    (void)g;
    return 0;
#endif
}

/* A channel group's tap words (dw_row_groups' layout, two a tap) of taps [0, n) from its four
 * channels' weights wc (T apart) into wq */
static TTE_ALWAYS_INLINE void dws_weights(const int8_t *wc, int32_t T, int32_t n, uint32_t *wq)
{
    int32_t t;
    for (t = 0; t + 3 < n; t += 4) {
        /* four taps of each channel a word: SXTB16 splits even and odd taps, PKHBT / PKHTB
         * pair channels c, c + 2 and c + 1, c + 3 */
        const uint32_t v0 = load4(wc + t), v1 = load4(wc + T + t), v2 = load4(wc + 2 * T + t);
        const uint32_t v3 = load4(wc + 3 * T + t);
        const uint32_t e0 = tte_sxtb16(v0), e1 = tte_sxtb16(v1), e2 = tte_sxtb16(v2), e3 = tte_sxtb16(v3);
        const uint32_t o0 = tte_sxtb16_ror8(v0), o1 = tte_sxtb16_ror8(v1), o2 = tte_sxtb16_ror8(v2);
        const uint32_t o3 = tte_sxtb16_ror8(v3);
        uint32_t *q = wq + 2 * t;
        q[0] = dws_lo(e0, e2);
        q[1] = dws_lo(e1, e3);
        q[2] = dws_lo(o0, o2);
        q[3] = dws_lo(o1, o3);
        q[4] = dws_hi(e0, e2);
        q[5] = dws_hi(e1, e3);
        q[6] = dws_hi(o0, o2);
        q[7] = dws_hi(o1, o3);
    }
    for (; t < n; ++t) {
        /* dw_row_groups' words straight from the four signed bytes (one PKHBT a word) */
        wq[2 * t] = dws_lo((uint32_t)wc[t], (uint32_t)wc[2 * T + t]);
        wq[2 * t + 1] = dws_lo((uint32_t)wc[T + t], (uint32_t)wc[3 * T + t]);
    }
}

#if !defined(TTE_DW_FEW_REGISTERS)
/* dw_small for an image dw_small8_fits takes whose output stage can be mode 2's (rp's, or
 * dw3_fast_exact holds): per channel group the image copied once with zero columns beside it
 * (TTE_DWS8_WORDS), then each output row in dw_small8_row, its window rows inside the image
 * whole */
static TTE_NOINLINE void dw_small8(const tte_conv2d_s8_params_t *p, const rq_t *rp, const int8_t *x, const int8_t *w,
                                   const int32_t *bias, int8_t *y)
{
    const rq_t *const r = rp;
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t C = g->in_c, KH = g->k_h, KW = g->k_w, T = KH * KW, IH = g->in_h, h = KW / 2, P = 8 + h;
    const uint32_t zz = pack16(p->in_zp, p->in_zp);
    uint32_t img[TTE_DWS8_WORDS] __attribute__((aligned(8)));
    uint32_t wq[2 * TTE_DW_MAX_TAPS] __attribute__((aligned(8)));
    dw_small8_t b8;
    int32_t c, oy, iy;
    /* the zero columns (x - zp of the padding), once: the copies leave them */
    memset(img, 0, sizeof(uint32_t) * (size_t)(2 * IH * P + 2 * h));
    b8.ostride = (int32_t)C;
    b8.xstep = 8 * g->stride_w;
    b8.rqb[DW4_ZP2] = (uint32_t)r->zp2;
    for (c = 0; c + 3 < C; c += 4) {
        for (iy = 0; iy < 4; ++iy) {
            b8.bb[iy] = bias != NULL ? bias[c + iy] : 0;
        }
        dw3_rq_words(b8.rqb, r->mult + c, r->shift + c);
        dws_weights(w + (size_t)c * T, T, T, wq);
        for (iy = 0; iy < IH; ++iy) {
            dws_copy(img + 2 * (h + iy * P), x + (size_t)iy * 8 * C + c, 8, C, zz);
        }
        for (oy = 0; oy < g->out_h; ++oy) {
            /* window rows [ky0, ky1) inside the image: the code's last nrow rows, row s of the
             * code window row s + d */
            const int32_t iy0 = oy * g->stride_h - g->pad_top;
            const int32_t ky0 = iy0 < 0 ? -iy0 : 0, ky1 = IH - iy0 < KH ? IH - iy0 : KH, d = ky1 - KH;
            /* addresses as integers: the code's row 0 may lie before the copy and the taps */
            b8.x = (uintptr_t)img + (uintptr_t)(intptr_t)(8 * (h + (iy0 + d) * P - h));
            b8.wt = (uintptr_t)wq + (uintptr_t)(intptr_t)(8 * d * KW);
            b8.entry = (uint32_t)(24 * KW * (KH - (ky1 - ky0)));
            b8.o = y + (size_t)oy * g->out_w * C + c;
            b8.oend = b8.o + (size_t)g->out_w * C;
            dw_small8_row(&b8, KW);
        }
    }
}
#endif

/* A depthwise (multiplier 1, dilation 1, window at most 7x7, not 3x3) over one whole image of
 * at most TTE_DW_SMALL_PX pixels, channels [0, C & ~3), for the small late layers of the paper
 * models, where nearly every pixel is a border one: per channel group the image is copied once
 * sign-extended with the zero point subtracted (two words a pixel), then each pixel sums only
 * its taps inside the image, a window row of n taps in one straight run, on the bias. */
static TTE_NOINLINE void dw_small_image(const tte_conv2d_s8_params_t *p, const rq_t *rp, const int8_t *x,
                                        const int8_t *w, const int32_t *bias, int8_t *y)
{
    rq_t rl = *rp; /* a local copy: the int8 stores cannot alias it */
    const rq_t *const r = &rl;
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t C = g->in_c, KH = g->k_h, KW = g->k_w, T = KH * KW, IH = g->in_h, IW = g->in_w;
    const uint32_t zz = pack16(p->in_zp, p->in_zp);
    uint32_t img[2 * TTE_DW_SMALL_PX] __attribute__((aligned(8)));
    uint32_t wq[2 * TTE_DW_MAX_TAPS] __attribute__((aligned(8)));
#if !defined(TTE_DW_FEW_REGISTERS)
    dw_whole4_t ww;
    dws_group_t *const gp = &ww.g;
#else
    dws_group_t gq;
    dws_group_t *const gp = &gq;
#endif
    dws_runs_t plan;
    int32_t c, oy, ky, whole4, embed7;
    if (rl.mode == 0 && dw3_fast_exact(&rl, bias, C & ~3, T)) {
        rl.mode = 2;
    }
    /* every window over the whole 4x4 image (mode 2): dw_whole4, a window below 7x7 in a 7x7
     * one whose other taps stay zero */
    whole4 = rl.mode == 2 && dw_whole4_fits(g);
    embed7 = whole4 && (KH != 7 || KW != 7);
    if (embed7) {
        memset(wq, 0, sizeof(wq));
    }
    gp->ostride = (int32_t)C;
    dws_plan(g, 0, g->out_w, 0, &plan);
    for (c = 0; c + 3 < C; c += 4) {
        const int8_t *wc = w + (size_t)c * T;
        dws_group(r, bias, c, gp);
        if (embed7) {
            /* each window row's taps where they are in the 7x7 window */
            for (ky = 0; ky < KH; ++ky) {
                dws_weights(wc + ky * KW, T, KW, wq + 2 * ((ky + 3 - g->pad_top) * 7 + 3 - g->pad_left));
            }
        } else {
            dws_weights(wc, T, T, wq);
        }
        dws_copy(img, x + c, IH * IW, C, zz);
#if !defined(TTE_DW_FEW_REGISTERS)
        if (whole4) {
            ww.img = img;
            ww.wt = wq;
            ww.g.o = y + c;
            dw_whole4(&ww);
            continue;
        }
#endif
        for (oy = 0; oy < g->out_h; ++oy) {
            const int32_t iy0 = oy * g->stride_h - g->pad_top;
            const int32_t ky0 = iy0 < 0 ? -iy0 : 0, ky1 = IH - iy0 < KH ? IH - iy0 : KH;
            dws_out_row(g, r, gp, &plan, img + 2 * (iy0 + ky0) * IW, IW, 0, ky0, ky1 - ky0, 0, g->out_w, wq, c,
                        y + (size_t)oy * g->out_w * C + c, (size_t)C);
        }
    }
}

/* dw_small: an 8-wide image in dw_small8 where it takes it in mode 2 (each a tail call: their
 * frames side by side on the stack, not one on the other) */
static TTE_NOINLINE void dw_small(const tte_conv2d_s8_params_t *p, const rq_t *rp, const int8_t *x, const int8_t *w,
                                  const int32_t *bias, int8_t *y)
{
#if !defined(TTE_DW_FEW_REGISTERS)
    if (dw_small8_fits(&p->g)
        && (rp->mode == 2 || (rp->mode == 0 && dw3_fast_exact(rp, bias, p->g.in_c & ~3, p->g.k_h * p->g.k_w)))) {
        dw_small8(p, rp, x, w, bias, y);
        return;
    }
#endif
    dw_small_image(p, rp, x, w, bias, y);
}

/* Whether dw_small takes a whole-image call of geometry g */
static int32_t dw_small_fits(const tte_conv2d_geom_t *g)
{
    return g->k_h <= 7 && g->k_w <= 7 && !(g->k_h == 3 && g->k_w == 3) && g->in_h * g->in_w <= TTE_DW_SMALL_PX;
}

/* The widest input dw_copy takes: past it most pixels are inside, where dw4_row57 reads x
 * in place for less than the copy costs */
#define TTE_DW_COPY_MAX_W 8

/* dw_small for a call of dw_row_groups' (output pixels [ox0, ox0 + k) of one output row of
 * rows_arg, or of nrows rows of image xb from oy0), the weights laid out at compile time: per
 * channel group and output row, the columns [ix_lo, ix_lo + ncols) of its window rows inside
 * the image copied as x - zp into scratch (buf, dw_copy_try's bytes), then dws_out_row */
static TTE_NOINLINE void dw_copy(const tte_conv2d_s8_params_t *p, const rq_t *r, const int8_t *const *rows_arg,
                                 const int8_t *xb, int32_t nrows, int32_t oy0, int32_t ox0, int32_t k,
                                 const int32_t *bias, const uint32_t *prep, int8_t *out, size_t ostride, uint32_t *buf,
                                 int32_t ix_lo, int32_t ncols)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t C = g->in_c, KH = g->k_h, T = KH * g->k_w, IH = g->in_h;
    const size_t row_bytes = (size_t)g->in_w * C;
    const uint32_t zz = pack16(p->in_zp, p->in_zp);
    dws_group_t gq;
    dws_runs_t plan;
    int32_t c, oy, ky;
    dws_plan(g, ox0, k, ix_lo, &plan);
    for (c = 0; c + 3 < C; c += 4) {
        const uint32_t *wq = prep + (size_t)(c >> 2) * (4 + 2 * (size_t)T) + 4;
        dws_group(r, bias, c, &gq);
        for (oy = 0; oy < nrows; ++oy) {
            int32_t ky0 = 0, ky1 = KH;
            if (xb != NULL) {
                const int32_t iy0 = (oy0 + oy) * g->stride_h - g->pad_top;
                ky0 = iy0 < 0 ? -iy0 : 0;
                ky1 = IH - iy0 < KH ? IH - iy0 : KH;
                for (ky = ky0; ky < ky1; ++ky) {
                    dws_copy(buf + 2 * (ky - ky0) * ncols, xb + (size_t)(iy0 + ky) * row_bytes + (size_t)ix_lo * C + c,
                             ncols, C, zz);
                }
            } else {
                while (ky0 < KH && rows_arg[ky0] == NULL) {
                    ++ky0;
                }
                while (ky1 > ky0 && rows_arg[ky1 - 1] == NULL) {
                    --ky1;
                }
                for (ky = ky0; ky < ky1; ++ky) {
                    dws_copy(buf + 2 * (ky - ky0) * ncols, rows_arg[ky] + (size_t)ix_lo * C + c, ncols, C, zz);
                }
            }
            dws_out_row(g, r, &gq, &plan, buf, ncols, ix_lo, ky0, ky1 - ky0, ox0, k, wq, c,
                        out + (size_t)oy * k * ostride + c, ostride);
        }
    }
}

/* Whether dw_copy takes the channel groups of a call (a window up to 7x7 but not 3x3 over an
 * input at most TTE_DW_COPY_MAX_W wide, multiplier 1, the weights laid out at compile time,
 * 4-byte aligned scratch for the window rows' columns the pixels read, the rows outside the
 * image only above and below): then it ran on them */
static int32_t dw_copy_try(const tte_conv2d_s8_params_t *p, const rq_t *rp, const int8_t *const *rows_arg,
                           const int8_t *xb, int32_t nrows, int32_t oy0, int32_t ox0, int32_t k, const int32_t *bias,
                           const uint32_t *prep, int8_t *out, size_t ostride, void *ws, size_t ws_bytes)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t KH = g->k_h, KW = g->k_w;
    int32_t ix_lo, ix_hi, ky, seen = 0, gap = 0;
    rq_t r;
    if (ws == NULL || prep == NULL || ((uintptr_t)ws & 3) != 0 || k < 1 || KH > 7 || KW > 7 || (KH == 3 && KW == 3)
        || g->in_w > TTE_DW_COPY_MAX_W || g->out_c != g->in_c || g->in_c < 4) {
        return 0;
    }
    ix_lo = ox0 * g->stride_w - g->pad_left;
    ix_hi = (ox0 + k - 1) * g->stride_w - g->pad_left + KW;
    ix_lo = ix_lo < 0 ? 0 : ix_lo;
    ix_hi = ix_hi > g->in_w ? g->in_w : ix_hi;
    if (ix_hi < ix_lo) {
        ix_hi = ix_lo;
    }
    if (ws_bytes < (size_t)8 * KH * (size_t)(ix_hi - ix_lo)) {
        return 0;
    }
    if (xb == NULL) {
        /* rows outside the image only at the ends */
        for (ky = 0; ky < KH; ++ky) {
            if (rows_arg[ky] != NULL) {
                if (gap) {
                    return 0;
                }
                seen = 1;
            } else if (seen) {
                gap = 1;
            }
        }
    }
    r = *rp;
    if (r.mode == 0 && dw3_fast_exact(&r, bias, g->in_c & ~3, KH * KW)) {
        r.mode = 2;
    }
    dw_copy(p, &r, rows_arg, xb, xb != NULL ? nrows : 1, oy0, ox0, k, bias, prep, out, ostride, (uint32_t *)ws, ix_lo,
            ix_hi - ix_lo);
    return 1;
}

#endif

/* dw3_ring_bytes for any call of the geometry: whole output rows (on the host too, where
 * no kernel reads it: the planned scratch is the same) */
size_t tte_conv2d_s8_dw_ws_bytes(const tte_conv2d_geom_t *g)
{
    const int32_t ring = g->k_h == 3 && g->k_w == 3 && g->stride_h == 1 && g->stride_w == 1 && g->dil_h == 1
                         && g->dil_w == 1 && g->out_c == g->in_c && g->in_c >= 4;
    if (dws2_fits(g, g->out_w)) {
        /* dws2_ring's three slots of out_w + 2 pixel pairs (every call's k, odd or not) */
        return (size_t)3 * (g->in_c >= 8 ? 32 : 16) * ((size_t)g->out_w + 2);
    }
    return ring ? (size_t)3 * (g->in_c >= 8 ? 16 : 8) * ((size_t)g->out_w + 2) : 0;
}

size_t tte_conv2d_s8_dw3_wide_bytes(const tte_conv2d_geom_t *g)
{
    const int32_t fits = g->k_h == 3 && g->k_w == 3 && g->stride_h == 1 && g->stride_w == 1 && g->dil_h == 1
                         && g->dil_w == 1 && g->out_c == g->in_c && g->in_c >= 4 && (g->in_c & 3) == 0
                         && g->out_w >= 1;
    return fits ? (size_t)16 + (size_t)4 * DW3W_BLOCK_WORDS * (size_t)((g->in_c + 4) / 8)
                      + (size_t)3 * 2 * (size_t)g->in_c * ((size_t)g->out_w + 2)
                : 0;
}

size_t tte_conv2d_s8_dw3_wide_b_bytes(const tte_conv2d_geom_t *g)
{
    const size_t n = tte_conv2d_s8_dw3_wide_bytes(g);
    /* each pass's block (DW3L_WORDS) holds its channels' biases too: the same bytes (a multiple
     * of eight channels) */
    return (g->in_c & 7) == 0 ? n : 0;
}

/* The bodies of tte_conv2d_s8_dw3_wide_init, _rows and _row and of their _b forms (a layout of
 * biases 0 and the block's biases): SETUP (dw3_wide_setup, dw3_wide_setup_b) on the layout;
 * PUT widening window row ky (row top + ky) into slot s (dw3_wide_put's, or dw3_wide_slot_b's
 * channel pairs, what dw3_ring8_row_b reads); RUN (dw3_wide, dw3_wide_b) on the row the last
 * rows call gave. Macros: the same bodies as inline functions compile differently at -O2. */
#if defined(__ARM_FEATURE_DSP) && !defined(TTE_DW_FEW_REGISTERS)
#define TTE_DW3W_INIT(SETUP) return SETUP(p, fast, bias, prep, ws)
#define TTE_DW3W_ROWS(PUT)                                                              \
    do {                                                                                \
        int32_t *const held = (int32_t *)ws;                                            \
        int32_t ky;                                                                     \
        held[DW3W_TOP] = top;                                                           \
        for (ky = 0; ky < 3; ++ky) {                                                    \
            const int32_t s = dw3_wide_of(top + ky);                                    \
            if (held[s] != top + ky) {                                                  \
                PUT;                                                                    \
                held[s] = top + ky;                                                     \
            }                                                                           \
        }                                                                               \
    } while (0)
#define TTE_DW3W_ROW(RUN)                                                               \
    do {                                                                                \
        if (k >= 1) {                                                                   \
            RUN(&p->g, ws, ((const int32_t *)ws)[DW3W_TOP], ox0, k, out, ostride);      \
        }                                                                               \
    } while (0)
#else
#define TTE_DW3W_INIT(SETUP)                                                            \
    (void)p, (void)fast, (void)bias, (void)prep, (void)ws;                              \
    return 0
#define TTE_DW3W_ROWS(PUT) ((void)p, (void)ws, (void)top, (void)rows)
#define TTE_DW3W_ROW(RUN) ((void)p, (void)ws, (void)ox0, (void)k, (void)out, (void)ostride)
#endif

int32_t tte_conv2d_s8_dw3_wide_init(const tte_conv2d_s8_params_t *p, int32_t fast, const int32_t *bias,
                                    const uint32_t *prep, void *ws)
{
    TTE_DW3W_INIT(dw3_wide_setup);
}

void tte_conv2d_s8_dw3_wide_rows(const tte_conv2d_s8_params_t *p, void *ws, int32_t top, const int8_t *const *rows)
{
    TTE_DW3W_ROWS(dw3_wide_put(p, ws, s, rows[ky]));
}

void tte_conv2d_s8_dw3_wide_row(const tte_conv2d_s8_params_t *p, void *ws, int32_t ox0, int32_t k, int8_t *out,
                                size_t ostride)
{
    TTE_DW3W_ROW(dw3_wide);
}

int32_t tte_conv2d_s8_dw3_wide_init_b(const tte_conv2d_s8_params_t *p, int32_t fast, const int32_t *bias,
                                      const uint32_t *prep, void *ws)
{
    TTE_DW3W_INIT(dw3_wide_setup_b);
}

void tte_conv2d_s8_dw3_wide_rows_b(const tte_conv2d_s8_params_t *p, void *ws, int32_t top, const int8_t *const *rows)
{
    TTE_DW3W_ROWS(dw3_wide_fill(p, dw3_wide_slot_b(&p->g, ws, s), rows[ky], 0));
}

void tte_conv2d_s8_dw3_wide_row_b(const tte_conv2d_s8_params_t *p, void *ws, int32_t ox0, int32_t k, int8_t *out,
                                  size_t ostride)
{
    TTE_DW3W_ROW(dw3_wide_b);
}

const tte_dw3_wide_ops_t tte_conv2d_s8_dw3_wide_live = {
    tte_conv2d_s8_dw3_wide_b_bytes, tte_conv2d_s8_dw3_wide_init_b, tte_conv2d_s8_dw3_wide_rows_b,
    tte_conv2d_s8_dw3_wide_row_b};

/* dw57_pad's scratch for any call of the geometry (a square 5x5 or 7x7 window, stride 1 (at
 * stride 2 the copy of two columns a pixel costs what it saves), multiplier 1, dilation 1, four
 * channels or more; else 0): its KH rows of a whole output row's
 * columns, 8 bytes a column (on the host too: the planned scratch is the same) */
size_t tte_conv2d_s8_dw57_pad_bytes(const tte_conv2d_geom_t *g)
{
    const int32_t fits = (g->k_w == 5 || g->k_w == 7) && g->k_h == g->k_w && g->stride_w == 1 && g->dil_h == 1
                         && g->dil_w == 1 && g->out_c == g->in_c && g->in_c >= 4 && g->out_w >= 1;
    return fits ? (size_t)8 * g->k_h * ((size_t)(g->out_w - 1) * g->stride_w + g->k_w) : 0;
}

/* The channels from c4 on (the last in_c % 4 after the groups of four) of k pixels of one
 * output row from ox0 on (multiplier 1, dilation 1; the geometry g, rq_t r, loop counter i),
 * their outputs ostride bytes apart: a macro, not an inline function, since gcc -Os gave the
 * inlined copy other operand orders than each caller had */
#define TTE_DW_ROW_REST(p, g, r, rows, ox0, k, w, bias, out, ostride, c4, i)                                    \
    do {                                                                                                        \
        for ((i) = 0; (i) < (k); ++(i)) {                                                                       \
            const int32_t ix0 = ((ox0) + (i)) * (g)->stride_w - (g)->pad_left;                                 \
            const int32_t kx0 = ix0 < 0 ? -ix0 : 0;                                                             \
            const int32_t kx1 = (g)->in_w - ix0 < (g)->k_w ? (g)->in_w - ix0 : (g)->k_w;                        \
            dw_px_rest(p, &(r), rows, (size_t)(ix0 + kx0) * (g)->in_c, kx0, kx1, w, bias,                       \
                       (out) + (size_t)(i) * (ostride), c4);                                                    \
        }                                                                                                       \
    } while (0)

/* dw_row, with the weights of dw_row_groups laid out at compile time when prep is not NULL
 * (then any k pays: nothing is transposed per call); ws_bytes of scratch at ws for dw3_ring
 * (NULL: none). */
static void dw_row_any(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *const *rows, int32_t ox0,
                       int32_t k, const int8_t *w, const int32_t *bias, const uint32_t *prep, int8_t *out,
                       size_t ostride, void *ws, size_t ws_bytes)
{
    int32_t i;
#if defined(__ARM_FEATURE_DSP)
    const tte_conv2d_geom_t *g = &p->g;
    /* transposing the weights pays from about six pixels on; fewer go pixel by pixel */
    if ((k >= 6 || prep != NULL) && g->out_c == g->in_c && g->dil_h == 1 && g->dil_w == 1
        && g->k_h * g->k_w <= TTE_DW_MAX_TAPS) {
        const rq_t r = rq_init(p, fast);
        const int32_t c4 = g->in_c & ~3;
        if (!dw3_ring_try(p, fast, rows, NULL, 1, 0, ox0, k, bias, prep, out, ostride, ws, ws_bytes)
            && !dw57_pad_try(p, fast, rows, ox0, k, bias, prep, out, ostride, ws, ws_bytes)
            && !dw_copy_try(p, &r, rows, NULL, 1, 0, ox0, k, bias, prep, out, ostride, ws, ws_bytes)) {
            dw_row_groups(p, &r, rows, NULL, 1, 0, ox0, k, w, bias, prep, out, ostride);
        }
        if (c4 < g->in_c) {
            /* the last in_c % 4 channels */
            TTE_DW_ROW_REST(p, g, r, rows, ox0, k, w, bias, out, ostride, c4, i);
        }
        return;
    }
#endif
    (void)prep;
    (void)ws;
    (void)ws_bytes;
    for (i = 0; i < k; ++i) {
        tte_conv2d_s8_dw_pixel(p, fast, rows, ox0 + i, w, bias, out + (size_t)i * ostride);
    }
}

void tte_conv2d_s8_dw_row(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *const *rows, int32_t ox0,
                          int32_t k, const int8_t *w, const int32_t *bias, int8_t *out, size_t ostride)
{
    dw_row_any(p, fast, rows, ox0, k, w, bias, NULL, out, ostride, NULL, 0);
}

void tte_conv2d_s8_dw_row_prep(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *const *rows,
                               int32_t ox0, int32_t k, const int8_t *w, const int32_t *bias, const uint32_t *prep,
                               int8_t *out, size_t ostride)
{
    dw_row_any(p, fast, rows, ox0, k, w, bias, prep, out, ostride, NULL, 0);
}

void tte_conv2d_s8_dw_row_prep_ws(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *const *rows,
                                  int32_t ox0, int32_t k, const int8_t *w, const int32_t *bias, const uint32_t *prep,
                                  int8_t *out, size_t ostride, void *ws, size_t ws_bytes)
{
    dw_row_any(p, fast, rows, ox0, k, w, bias, prep, out, ostride, ws, ws_bytes);
}

#if defined(__ARM_FEATURE_DSP) && !defined(TTE_DW_FEW_REGISTERS)
/* tte_conv2d_s8_dw_row_blk_ws of a 3x3 depthwise given its blocks: dw_row_any's order,
 * dw3_blocks_try just before dw_row_groups (dw57_pad_try takes no 3x3) */
static TTE_NOINLINE void dw_row_blk(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *const *rows,
                                    int32_t ox0, int32_t k, const int8_t *w, const int32_t *bias,
                                    const uint32_t *prep, int8_t *out, size_t ostride, void *ws, size_t ws_bytes,
                                    const uint32_t *blocks)
{
    const tte_conv2d_geom_t *g = &p->g;
    const rq_t r = rq_init(p, fast);
    const int32_t c4 = g->in_c & ~3;
    int32_t i;
    if (!dw3_ring_try(p, fast, rows, NULL, 1, 0, ox0, k, bias, prep, out, ostride, ws, ws_bytes)
        && !dw_copy_try(p, &r, rows, NULL, 1, 0, ox0, k, bias, prep, out, ostride, ws, ws_bytes)
        && !dw3_blocks_try(p, &r, rows, ox0, k, bias, blocks, out, ostride)) {
        dw_row_groups(p, &r, rows, NULL, 1, 0, ox0, k, w, bias, prep, out, ostride);
    }
    if (c4 < g->in_c) {
        /* the last in_c % 4 channels */
        TTE_DW_ROW_REST(p, g, r, rows, ox0, k, w, bias, out, ostride, c4, i);
    }
}
#endif

/* without blocks (or not a 3x3 of multiplier 1 and dilation 1): dw_row_prep_ws's path */
void tte_conv2d_s8_dw_row_blk_ws(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *const *rows,
                                 int32_t ox0, int32_t k, const int8_t *w, const int32_t *bias, const uint32_t *prep,
                                 int8_t *out, size_t ostride, void *ws, size_t ws_bytes, const uint32_t *blocks)
{
#if defined(__ARM_FEATURE_DSP) && !defined(TTE_DW_FEW_REGISTERS)
    if (blocks != NULL && p->g.k_h == 3 && p->g.k_w == 3 && p->g.out_c == p->g.in_c && p->g.dil_h == 1
        && p->g.dil_w == 1) {
        dw_row_blk(p, fast, rows, ox0, k, w, bias, prep, out, ostride, ws, ws_bytes, blocks);
        return;
    }
#else
    (void)blocks;
#endif
    dw_row_any(p, fast, rows, ox0, k, w, bias, prep, out, ostride, ws, ws_bytes);
}

void tte_conv2d_s8_dw_rows_prep_ws(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *xb, int32_t oy0,
                                   int32_t nrows, const int8_t *w, const int32_t *bias, const uint32_t *prep,
                                   int8_t *out, void *ws, size_t ws_bytes)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int8_t *rows[TTE_CONV_MAX_KH];
    int32_t oy, ky;
#if defined(__ARM_FEATURE_DSP)
    /* dw57_pad's copy given: row by row through dw_row_any, which takes it */
    const size_t pad = tte_conv2d_s8_dw57_pad_bytes(g);
    if (prep != NULL && g->out_c == g->in_c && (g->in_c & 3) == 0 && g->dil_h == 1 && g->dil_w == 1
        && g->k_h * g->k_w <= TTE_DW_MAX_TAPS && (pad == 0 || ws_bytes < pad)) {
        /* every row in one call: each channel group set up once */
        const rq_t r = rq_init(p, fast);
        if (!dw3_ring_try(p, fast, NULL, xb, nrows, oy0, 0, g->out_w, bias, prep, out, (size_t)g->out_c, ws,
                          ws_bytes)
            && !dw_copy_try(p, &r, NULL, xb, nrows, oy0, 0, g->out_w, bias, prep, out, (size_t)g->out_c, ws,
                            ws_bytes)) {
            dw_row_groups(p, &r, NULL, xb, nrows, oy0, 0, g->out_w, w, bias, prep, out, (size_t)g->out_c);
        }
        return;
    }
#endif
    for (oy = oy0; oy < oy0 + nrows; ++oy) {
        for (ky = 0; ky < g->k_h; ++ky) {
            const int32_t iy = oy * g->stride_h - g->pad_top + ky * g->dil_h;
            rows[ky] = iy < 0 || iy >= g->in_h ? NULL : xb + (size_t)iy * g->in_w * g->in_c;
        }
        dw_row_any(p, fast, rows, 0, g->out_w, w, bias, prep, out + (size_t)(oy - oy0) * g->out_w * g->out_c,
                   (size_t)g->out_c, ws, ws_bytes);
    }
}

void tte_conv2d_s8_dw_rows_prep(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *xb, int32_t oy0,
                                int32_t nrows, const int8_t *w, const int32_t *bias, const uint32_t *prep, int8_t *out)
{
    tte_conv2d_s8_dw_rows_prep_ws(p, fast, xb, oy0, nrows, w, bias, prep, out, NULL, 0);
}

/* groups == in_c, one input channel per group. */
TTE_NOINLINE void tte_conv2d_s8_depthwise(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *x,
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
        /* the whole image four channels at a time: weights transposed once per call; a 3x3
         * stride-1 window through dw3_ring where the output stage is mode 2's (tried once here) */
        const int32_t ring3 = dw3_ring_image_fits(g);
        rq_t r3 = r;
        if (ring3 && r3.mode == 0 && dw3_fast_exact(&r3, bias, g->in_c & ~3, 9)) {
            r3.mode = 2;
        }
        for (b = 0; b < g->batch; ++b) {
            const int8_t *const xb = x + (size_t)b * g->in_h * row_bytes;
            int8_t *const yb = y + (size_t)b * y_image;
            if (dw_small_fits(g)) {
                dw_small(p, &r, xb, w, bias, yb);
            } else if (ring3 && r3.mode == 2) {
                dw3_ring_image(p, &r3, xb, w, bias, yb);
            } else if (ring3) {
                dw3_groups(p, &r3, NULL, xb, g->out_h, 0, 0, g->out_w, w, bias, NULL, yb, (size_t)g->out_c, 1);
            } else {
                dw_row_groups(p, &r, NULL, xb, g->out_h, 0, 0, g->out_w, w, bias, NULL, yb, (size_t)g->out_c);
            }
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
